/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Busy ranges of a shard's memory windows (docs/COPY.md "Memory windows on
 * other nodes", "Busy ranges"): the window's owner marks the range another
 * node READs one-sided while that READ may run, and the evaluator refuses
 * a copy into an overlapping range meanwhile (copy_window_in(), EBUSY), so
 * the reader never sees a write in part. A fixed table per worker, scanned
 * linearly: SCPP_EVAL_MEMWIN_BUSY_MAX entries.
 *
 * A handle is (generation << 5) | (slot + 1): never 0, and a handle of a
 * slot freed and taken again frees nothing.
 */
#include <errno.h>

#include "scpp_eval.h"

#define BUSY_SLOT_BITS 5u

_Static_assert(SCPP_EVAL_MEMWIN_BUSY_MAX < (1u << BUSY_SLOT_BITS), "slot + 1 fits the handle");

int
scpp_eval_memwin_busy_take(struct scpp_eval_memwins *m, struct scpp_oid win, uint64_t off,
			   uint64_t len, uint32_t reader, uint32_t *handle)
{
	if (len == 0 || off > UINT64_MAX - len || scpp_oid_is_nil(win))
		return -EINVAL;
	if (m->nbusy >= SCPP_EVAL_MEMWIN_BUSY_MAX)
		return -ENOSPC;
	for (uint32_t i = 0; i < SCPP_EVAL_MEMWIN_BUSY_MAX; i++) {
		struct scpp_eval_memwin_busy *b = &m->busy[i];

		if (!scpp_oid_is_nil(b->win))
			continue;
		b->win = win;
		b->off = off;
		b->len = len;
		b->reader = reader;
		/* 27 bits of generation, never 0 */
		b->gen = (b->gen + 1) & ((1u << (32 - BUSY_SLOT_BITS)) - 1);
		if (b->gen == 0)
			b->gen = 1;
		m->nbusy++;
		*handle = (b->gen << BUSY_SLOT_BITS) | (i + 1);
		return 0;
	}
	return -ENOSPC; /* not reached: nbusy counts the taken slots */
}

bool
scpp_eval_memwin_busy_release(struct scpp_eval_memwins *m, uint32_t handle)
{
	const uint32_t slot = handle & ((1u << BUSY_SLOT_BITS) - 1);
	struct scpp_eval_memwin_busy *b;

	if (slot == 0 || slot > SCPP_EVAL_MEMWIN_BUSY_MAX)
		return false;
	b = &m->busy[slot - 1];
	if (scpp_oid_is_nil(b->win) || b->gen != handle >> BUSY_SLOT_BITS)
		return false;
	b->win = (struct scpp_oid){0};
	m->nbusy--;
	return true;
}

const struct scpp_eval_memwin_busy *
scpp_eval_memwin_busy_find(const struct scpp_eval_memwins *m, struct scpp_oid win, uint64_t off,
			   uint64_t len)
{
	if (m == NULL || m->nbusy == 0 || len == 0)
		return NULL;
	for (uint32_t i = 0; i < SCPP_EVAL_MEMWIN_BUSY_MAX; i++) {
		const struct scpp_eval_memwin_busy *b = &m->busy[i];

		/* [off, off+len) and [b->off, b->off+b->len): neither wraps */
		if (!scpp_oid_is_nil(b->win) && scpp_oid_eq(b->win, win) && off < b->off + b->len &&
		    b->off < off + len)
			return b;
	}
	return NULL;
}
