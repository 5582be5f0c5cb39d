/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef ROUTE_PRIV_H
#define ROUTE_PRIV_H

/*
 * Snapshot layout, shared by the control path (route.c builds snapshots) and
 * the data path (route_dp.c reads them).
 *
 * A snapshot is one allocation:
 *
 *   struct route_snap | levels[nb_levels] | slots[total slots]
 *
 * Level i covers one distinct prefix length; levels are ordered longest
 * length first, so the first hit of a lookup is the longest match. Each level
 * is an open-addressing hash table (linear probing, load <= 1/2, capacity a
 * power of two) over the prefix bits masked to that length; an empty slot ends
 * a probe. Nothing in a published snapshot is ever written again.
 */

#include <assert.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

#include "scpp_route.h"

/* Burst lookups hash this many OIDs per unrolled step (see route_dp.c). */
#define ROUTE_UNROLL 4

/* One route inside a level's hash table: 32 bytes, two per cache line. */
struct route_slot {
	uint64_t hi;    /* prefix bits (masked to the level's length) */
	uint64_t lo;
	uint32_t node;
	uint16_t core;
	uint8_t len;    /* == the level's length */
	uint8_t used;   /* 0: empty slot, ends a probe */
	uint64_t pad;
};
static_assert(sizeof(struct route_slot) == 32, "two slots per cache line");

struct route_level {
	uint64_t mask_hi;   /* prefix mask for this length */
	uint64_t mask_lo;
	uint32_t slot_base; /* index of the level's first slot */
	uint32_t slot_mask; /* capacity - 1 */
};

struct route_snap {
	/* Read by lookups. */
	uint32_t nb_levels;
	uint32_t nb_routes;
	const struct route_level *levels;
	const struct route_slot *slots;
	/* below: control path only */
	uint64_t version;         /* scpp_route_version() when published */
	uint64_t token;           /* rte_rcu_qsbr_start() token once replaced */
	struct route_snap *next;  /* pending list, oldest first */
};

struct scpp_route_table {
	/* The published snapshot, alone in its cache line: every lookup loads
	 * it and only publication writes it. */
	alignas(64) struct route_snap *snap;
	/* below: control path only */
	alignas(64) struct rte_rcu_qsbr *qsbr;
	struct scpp_route_entry *routes; /* sorted by (oid, len) */
	uint32_t nb_routes;
	uint32_t max_routes;
	uint64_t version;
	struct route_snap *pending_head; /* replaced, awaiting grace period */
	struct route_snap *pending_tail;
	unsigned int nb_pending;
};
static_assert(offsetof(struct scpp_route_table, snap) == 0, "hot pointer first");

/* Hash of prefix bits; the same function on both sides. */
static inline uint32_t
route_hash(uint64_t hi, uint64_t lo)
{
	struct scpp_oid k = {hi, lo};

	return (uint32_t)scpp_oid_hash(k);
}

#endif /* ROUTE_PRIV_H */
