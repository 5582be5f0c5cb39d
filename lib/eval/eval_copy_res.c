/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Copy results: what each copy command of a block copied, for the COPY
 * records of its reply (block flag SCPP_WIRE_BF_COPY_RESULTS,
 * docs/PROTOCOL.md §10). Kept only for blocks that ask, in command order,
 * for the first SCPP_EVAL_COPY_RESULTS copy commands that run; a stopped
 * block takes them into its suspension (eval_susp.c).
 *
 * A command's elapsed time runs from its start to the moment the node saw
 * its last copy complete: the end of the command for copies done during it,
 * the settling of its copies in flight otherwise (after a park, that
 * includes the time parked). Two clock reads per copy command and one per
 * settling, none per row.
 */
#include <string.h>

#include "eval_priv.h"

static struct eval_cres *
find(struct scpp_eval_ctx *ctx, uint16_t cmd)
{
	for (uint16_t i = ctx->ncres; i-- > 0;)
		if (ctx->cres[i].cmd == cmd)
			return &ctx->cres[i];
	return NULL;
}

void
eval_cres_begin(struct scpp_eval_ctx *ctx, uint16_t cmd, uint64_t now)
{
	if (ctx->ncres >= SCPP_EVAL_COPY_RESULTS || find(ctx, cmd) != NULL)
		return;
	ctx->cres[ctx->ncres++] = (struct eval_cres){.cmd = cmd, .t0 = now};
}

void
eval_cres_add(struct scpp_eval_ctx *ctx, uint16_t cmd, uint64_t len, bool offloaded)
{
	struct eval_cres *c = find(ctx, cmd);

	if (c == NULL)
		return;
	c->copies++;
	c->bytes += len;
	c->offloaded += offloaded;
}

void
eval_cres_end(struct scpp_eval_ctx *ctx, uint16_t cmd, uint64_t now)
{
	struct eval_cres *c = find(ctx, cmd);

	if (c != NULL && now >= c->t0 && now - c->t0 > c->elapsed_ns)
		c->elapsed_ns = now - c->t0;
}

int
eval_cres_write(const struct scpp_eval_ctx *ctx, struct scpp_wire_reply_writer *w,
		const char *engine)
{
	size_t elen = engine != NULL ? strnlen(engine, SCPP_WIRE_NAME_MAX) : 0;

	for (uint16_t i = 0; i < ctx->ncres; i++) {
		const struct eval_cres *c = &ctx->cres[i];
		struct scpp_wire_copy_result r = {
			.cmd = c->cmd, .copies = c->copies, .bytes = c->bytes,
			.offloaded = c->offloaded, .elapsed_ns = c->elapsed_ns,
			.engine = {c->offloaded > 0 ? engine : "", c->offloaded > 0 ? (uint16_t)elen : 0},
		};
		int rc = scpp_wire_reply_copy(w, &r);

		if (rc < 0)
			return rc;
	}
	return 0;
}
