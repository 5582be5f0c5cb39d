/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The memcpy engine: the CPU copies each copy when it is posted (inside
 * submit), and the completion is returned by the next poll like any other.
 * It is the reference the other engines are tested against and the fallback
 * when no offload is offered. Overlapping ranges use memmove, which is the
 * "as if through a temporary buffer" rule of docs/PROTOCOL.md §15.
 *
 * No registration is needed (any readable/writable memory will do), but
 * regions may still be registered so callers can treat every engine alike.
 */

#include <string.h>

#include "copy_priv.h"

static int
memcpy_init(struct scpp_copy *c, const struct scpp_copy_config *cfg)
{
	(void)cfg;
	c->caps.flags = SCPP_COPY_CAP_LOCAL;
	c->caps.provider[0] = '\0';
	return 0;
}

static int
memcpy_post(struct scpp_copy *c, struct copy_slot *s)
{
	(void)c;
	if (s->flags & SLOT_OVERLAP)
		memmove(s->dst, s->src, s->len);
	else
		memcpy(s->dst, s->src, s->len);
	s->posted = s->len;
	return 0;
}

const struct copy_engine copy_engine_memcpy = {
	.name = "memcpy",
	.init = memcpy_init,
	.post = memcpy_post,
};
