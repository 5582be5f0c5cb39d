/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Route table, data path: lookups against the published snapshot.
 *
 * A lookup walks the snapshot's levels longest prefix length first, masks the
 * OID to the level's length, and probes that level's hash table; the first
 * hit is the longest match. Tables have few distinct lengths (typically /64
 * shard routes, /48 node routes and maybe a default), so a hit costs one to
 * three probes.
 *
 * The burst variant is staged per level: first hash every still-unresolved
 * OID and prefetch its home slot, then probe them, so the slot loads of one
 * burst overlap instead of each missing the cache in turn.
 */
#include <assert.h>
#include <errno.h>

#include <rte_prefetch.h>

#include "scpp_common.h"
#include "scpp_route.h"
#include "route_priv.h"

static inline const struct route_snap *
snap_load(const struct scpp_route_table *t)
{
	/* Acquire pairs with the release store in publish(): the snapshot's
	 * contents are visible before its pointer is. The snapshot stays
	 * valid until this reader's next quiescent state. */
	return __atomic_load_n(&t->snap, __ATOMIC_ACQUIRE);
}

static inline void
result_set(struct scpp_route_result *r, const struct route_slot *sl)
{
	r->node = sl->node;
	r->core = sl->core;
	r->len = sl->len;
	r->found = 1;
}

static inline void
result_miss(struct scpp_route_result *r)
{
	r->node = 0;
	r->core = 0;
	r->len = 0;
	r->found = 0;
}

/* Probe one level from home slot @p idx; true and @p r filled on a hit. */
static inline bool
level_probe(const struct route_snap *s, const struct route_level *l, uint64_t hi,
	    uint64_t lo, uint32_t idx, struct scpp_route_result *r)
{
	for (;;) {
		const struct route_slot *sl = &s->slots[l->slot_base + idx];

		if (!sl->used)
			return false;
		if (sl->hi == hi && sl->lo == lo) {
			result_set(r, sl);
			return true;
		}
		idx = (idx + 1) & l->slot_mask;
	}
}

int
scpp_route_lookup(const struct scpp_route_table *t, struct scpp_oid oid,
		  struct scpp_route_result *res)
{
	const struct route_snap *s;

	SCPP_ASSERT(t != NULL && res != NULL);
	s = snap_load(t);
	for (uint32_t i = 0; i < s->nb_levels; i++) {
		const struct route_level *l = &s->levels[i];
		uint64_t hi = oid.hi & l->mask_hi, lo = oid.lo & l->mask_lo;

		if (level_probe(s, l, hi, lo, route_hash(hi, lo) & l->slot_mask, res))
			return 0;
	}
	result_miss(res);
	return -ENOENT;
}

static_assert(ROUTE_UNROLL == 4, "the unrolled loop below calls the helper 4 times");

/* Stage 1 for one OID: its home slot in level @p l, prefetched. */
static inline void
burst_hash_one(const struct route_snap *s, const struct route_level *l,
	       const struct scpp_oid *o, uint32_t *idx)
{
	*idx = route_hash(o->hi & l->mask_hi, o->lo & l->mask_lo) & l->slot_mask;
	rte_prefetch0(&s->slots[l->slot_base + *idx]);
}

uint16_t
scpp_route_lookup_burst(const struct scpp_route_table *t, const struct scpp_oid *oids,
			uint16_t n, struct scpp_route_result *res)
{
	uint32_t idx[SCPP_ROUTE_BURST_MAX];
	const struct route_snap *s;
	uint64_t pending;
	uint16_t i;

	SCPP_ASSERT(t != NULL && (n == 0 || (oids != NULL && res != NULL)));
	if (SCPP_UNLIKELY(n > SCPP_ROUTE_BURST_MAX))
		n = SCPP_ROUTE_BURST_MAX;
	if (SCPP_UNLIKELY(n == 0))
		return 0;
	/* One snapshot for the whole burst. */
	s = snap_load(t);
	pending = n == 64 ? UINT64_MAX : (UINT64_C(1) << n) - 1;
	for (uint32_t li = 0; li < s->nb_levels && pending != 0; li++) {
		const struct route_level *l = &s->levels[li];

		/* OIDs already resolved at a longer level are hashed as well,
		 * so that the unrolled loop has no branch (not measured). */
		for (i = 0; i + ROUTE_UNROLL <= n; i += ROUTE_UNROLL) {
			burst_hash_one(s, l, &oids[i], &idx[i]);
			burst_hash_one(s, l, &oids[i + 1], &idx[i + 1]);
			burst_hash_one(s, l, &oids[i + 2], &idx[i + 2]);
			burst_hash_one(s, l, &oids[i + 3], &idx[i + 3]);
		}
		for (; i < n; i++)
			burst_hash_one(s, l, &oids[i], &idx[i]);

		for (uint64_t m = pending; m != 0; m &= m - 1) {
			unsigned int k = (unsigned int)__builtin_ctzll(m);
			uint64_t hi = oids[k].hi & l->mask_hi, lo = oids[k].lo & l->mask_lo;

			if (level_probe(s, l, hi, lo, idx[k], &res[k]))
				pending &= ~(UINT64_C(1) << k);
		}
	}
	for (; pending != 0; pending &= pending - 1)
		result_miss(&res[__builtin_ctzll(pending)]);
	return n;
}
