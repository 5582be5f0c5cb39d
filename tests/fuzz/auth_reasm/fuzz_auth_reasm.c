/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target for the bounded reassembler of multi-datagram messages
 * (scpp_auth_reasm, IDENTITY: docs/SECURITY.md §9.4 item 3). The input is a
 * sequence of fragments, each
 *   src u8, id u8, index u8, count u8, dt u8 (clock step, x 10 ns), len u8,
 *   then len bytes (fewer at the end of the input),
 * fed to one reassembler with small bounds (4 slots, 256 bytes, 8
 * fragments, 1000 ns) created per input.
 *
 * Properties: no crash or out-of-bounds access; every return is one of the
 * documented codes; never more messages held than slots; a completed
 * message is the concatenation, in index order, of the fragments a shadow
 * model kept for it, and no longer than the bound.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scpp_auth.h"

#define CHECK(x)                                                              \
	do {                                                                  \
		if (!(x))                                                     \
			abort();                                              \
	} while (0)

#define SLOTS 4
#define MAXB 256
#define FRAGS 8
#define TIMEOUT 1000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the shadow model holds of one message in reassembly. */
struct shadow {
	bool used;
	uint8_t src, id, count;
	uint64_t deadline;
	size_t len[FRAGS];
	uint8_t piece[FRAGS][256];
	bool have[FRAGS];
};

static struct shadow *
shadow_of(struct shadow *sh, uint8_t src, uint8_t id, uint64_t now)
{
	for (int i = 0; i < 64; i++)
		if (sh[i].used && sh[i].src == src && sh[i].id == id && now < sh[i].deadline)
			return &sh[i];
	return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scpp_auth_reasm_config cfg = {SLOTS, MAXB, FRAGS, TIMEOUT, NULL};
	struct scpp_auth_reasm *r = scpp_auth_reasm_create(&cfg);
	static struct shadow sh[64];
	uint64_t now = 0;
	size_t i = 0;

	CHECK(r != NULL);
	memset(sh, 0, sizeof(sh));
	while (i + 6 <= size) {
		uint8_t src = data[i] & 3, id = data[i + 1] & 3, index = data[i + 2] & 15,
			count = data[i + 3] & 15, len = data[i + 5];
		const uint8_t *p = data + i + 6, *out = NULL;
		size_t avail = size - i - 6, out_len = 0;
		struct shadow *s;
		int rc;

		now += (uint64_t)data[i + 4] * 10;
		if (len > avail)
			len = (uint8_t)avail;
		i += 6 + len;
		s = shadow_of(sh, src, id, now);
		rc = scpp_auth_reasm_add(r, src, id, index, count, len ? p : data, len, now, &out,
					 &out_len);
		CHECK(rc == 1 || rc == 0 || rc == -EINVAL || rc == -EPROTO || rc == -EALREADY ||
		      rc == -EMSGSIZE || rc == -ENOBUFS);
		CHECK(scpp_auth_reasm_held(r) <= SLOTS);
		if (rc == 0 || rc == 1) {
			if (s == NULL) {
				for (int k = 0; k < 64; k++)
					if (!sh[k].used || now >= sh[k].deadline) {
						s = &sh[k];
						break;
					}
				CHECK(s != NULL);
				memset(s, 0, sizeof(*s));
				s->used = true;
				s->src = src;
				s->id = id;
				s->count = count;
				s->deadline = now + TIMEOUT;
			}
			CHECK(s->count == count && !s->have[index]);
			s->have[index] = true;
			s->len[index] = len;
			memcpy(s->piece[index], p, len);
		} else if (rc == -EPROTO || rc == -EMSGSIZE) {
			CHECK(s != NULL);
			s->used = false;
		} else if (rc == -EALREADY) {
			CHECK(s != NULL && s->have[index]);
		}
		if (rc == 1) {
			size_t off = 0;

			CHECK(out != NULL && out_len <= MAXB);
			for (int k = 0; k < s->count; k++) {
				CHECK(s->have[k] && off + s->len[k] <= out_len);
				CHECK(memcmp(out + off, s->piece[k], s->len[k]) == 0);
				off += s->len[k];
			}
			CHECK(off == out_len);
			s->used = false;
		}
	}
	scpp_auth_reasm_free(r);
	return 0;
}
