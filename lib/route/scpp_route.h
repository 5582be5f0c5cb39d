/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SCPP_ROUTE_H
#define SCPP_ROUTE_H

/**
 * @file
 * OID-prefix routing table: longest prefix match from an OID to the node and
 * core (store shard) that own it.
 *
 * Model. The high bits of an OID name where the object lives (see
 * scpp_oid.h), so a route is an OID prefix mapped to (node id, core id).
 * Typical tables hold one /64 route per local shard, one /48 route per peer
 * node, and perhaps a shorter covering or /0 default route; any length 0..128
 * is allowed and the longest matching prefix wins.
 *
 * Concurrency. One control thread changes the table; any number of worker
 * lcores read it at the same time without locks:
 *
 * - The readers' view is an immutable *snapshot*: one allocation holding a
 *   small open-addressing hash table per distinct prefix length, searched
 *   longest length first. scpp_route_add() and scpp_route_del() build a new
 *   snapshot (copy on write) and publish it with one release store of a
 *   pointer. A lookup loads that pointer once (acquire) and reads only that
 *   snapshot, so no reader ever sees a half-applied change, and every
 *   lookup of one burst sees the same snapshot.
 * - The replaced snapshot is freed only after every reader registered with
 *   the table's rte_rcu_qsbr variable has reported a quiescent state since
 *   the publication (the grace-period token of rte_rcu_qsbr_start() is kept
 *   with the snapshot and polled with rte_rcu_qsbr_check(), without blocking,
 *   at every update and in scpp_route_reclaim()).
 *
 * Reader contract (worker lcores):
 * - register with the QSBR variable (rte_rcu_qsbr_thread_register()) and go
 *   online (rte_rcu_qsbr_thread_online()) before the first lookup;
 * - call rte_rcu_qsbr_quiescent() once per main-loop iteration, between
 *   lookups (results are copied out, so nothing of the table is held across
 *   it);
 * - go offline or unregister before stopping, or the control thread's
 *   updates will eventually wait for it (see scpp_route_add()).
 *
 * Snapshots and their hash slots live in ordinary heap memory (the table is
 * small and read-mostly), which also lets AddressSanitizer catch a reader
 * that outlives its grace period.
 */

#include <stdint.h>
#include <stdio.h>

#include <rte_rcu_qsbr.h>

#include "scpp_oid.h"

/** Largest table scpp_route_create() accepts. */
#define SCPP_ROUTE_MAX_ROUTES (UINT32_C(1) << 20)

/** Largest burst scpp_route_lookup_burst() handles in one call. */
#define SCPP_ROUTE_BURST_MAX 64

/**
 * Replaced snapshots allowed to await their grace period; one more makes the
 * next update wait for the oldest (see scpp_route_add()).
 */
#define SCPP_ROUTE_PENDING_MAX 64

/** A routing table (opaque). */
struct scpp_route_table;

/** One route, as stored and as reported by scpp_route_foreach(). */
struct scpp_route_entry {
	struct scpp_oid_prefix prefix; /**< canonical: bits past len are zero */
	uint32_t node;                 /**< owning node id */
	uint16_t core;                 /**< owning core / shard id on that node */
};

/** Result of one lookup: 8 bytes, copied out of the snapshot. */
struct scpp_route_result {
	uint32_t node;  /**< owning node id; 0 on a miss */
	uint16_t core;  /**< owning core / shard id; 0 on a miss */
	uint8_t len;    /**< length of the matching prefix; 0 on a miss */
	uint8_t found;  /**< 1 if a route matched, 0 if none did */
};

/**
 * Iteration callback for scpp_route_foreach().
 *
 * @return 0 to continue, any other value to stop (scpp_route_foreach()
 *   returns it).
 */
typedef int (*scpp_route_iter_fn)(const struct scpp_route_entry *e, void *arg);

/**
 * Create an empty table.
 *
 * @param max_routes
 *   Capacity: 1..SCPP_ROUTE_MAX_ROUTES routes.
 * @param qsbr
 *   QSBR variable the reader lcores register with, initialised by the
 *   caller (rte_rcu_qsbr_init()) and outliving the table. NULL means the
 *   table has no concurrent readers: replaced snapshots are freed at once.
 * @return
 *   The table, or NULL with rte_errno set to:
 *   - EINVAL: @p max_routes is 0 or above SCPP_ROUTE_MAX_ROUTES;
 *   - ENOMEM: out of memory.
 *
 * Control thread only; allocates.
 */
struct scpp_route_table *scpp_route_create(uint32_t max_routes, struct rte_rcu_qsbr *qsbr);

/**
 * Free a table and every snapshot, including those still awaiting a grace
 * period.
 *
 * The caller guarantees that no reader will look the table up again (workers
 * stopped, or their loops no longer reference it).
 *
 * @param t
 *   The table; NULL is allowed and does nothing.
 */
void scpp_route_free(struct scpp_route_table *t);

/**
 * Add a route, or replace the node and core of an identical prefix.
 *
 * Builds and publishes a new snapshot; readers see the old table or the new
 * one, never a mix. Then frees replaced snapshots whose grace period has
 * passed.
 *
 * @param prefix
 *   The prefix: len 0..128 and no bits set past len.
 * @return
 *   - 0: added or replaced;
 *   - -EINVAL: @p t or @p prefix is NULL, the length is above 128, or bits
 *     past the length are set;
 *   - -ENOSPC: the prefix is new and the table holds max_routes routes;
 *   - -ENOMEM: no memory for the new snapshot (the table is unchanged).
 *
 * Control thread only (one updater at a time); allocates. Blocks only when
 * SCPP_ROUTE_PENDING_MAX replaced snapshots still await their grace period:
 * it then waits until the readers pass a quiescent state.
 */
int scpp_route_add(struct scpp_route_table *t, const struct scpp_oid_prefix *prefix,
		   uint32_t node, uint16_t core);

/**
 * Delete the route for exactly @p prefix (same bits and length).
 *
 * @return
 *   - 0: deleted;
 *   - -EINVAL: @p t or @p prefix is NULL, or the prefix is malformed (as in
 *     scpp_route_add());
 *   - -ENOENT: no route has this prefix;
 *   - -ENOMEM: no memory for the new snapshot (the table is unchanged).
 *
 * Control thread only; allocates; may block as scpp_route_add().
 */
int scpp_route_del(struct scpp_route_table *t, const struct scpp_oid_prefix *prefix);

/**
 * Replace every route of the table with @p entries, in one snapshot.
 *
 * For a runtime writer that recomputes the whole route set (the cluster map
 * after a membership change): readers see the old set or the new one, never
 * a mix, whereas a sequence of scpp_route_add()/scpp_route_del() publishes
 * every intermediate table.
 *
 * @param entries
 *   The new routes in any order; NULL is allowed when @p n is 0 (the table
 *   becomes empty). Each prefix must be well formed (as in scpp_route_add())
 *   and appear once.
 * @param n
 *   Number of entries: 0..max_routes.
 * @return
 *   - 0: replaced (the version advances by one);
 *   - -EINVAL: @p t is NULL, @p entries is NULL with @p n > 0, a prefix is
 *     malformed, or two entries have the same prefix and length;
 *   - -ENOSPC: @p n is above the table's max_routes;
 *   - -ENOMEM: no memory for the new list or snapshot.
 *   On any error the table and the published snapshot are unchanged.
 *
 * Control thread only; allocates; may block as scpp_route_add().
 */
int scpp_route_replace(struct scpp_route_table *t, const struct scpp_route_entry *entries,
		       uint32_t n);

/**
 * Free the replaced snapshots whose grace period has passed. Never blocks.
 * The control loop calls this now and then so that memory does not wait for
 * the next update.
 *
 * @return Number of snapshots still waiting for readers (0 if @p t is NULL).
 *
 * Control thread only.
 */
unsigned int scpp_route_reclaim(struct scpp_route_table *t);

/** Number of routes in the table (control thread; 0 if @p t is NULL). */
uint32_t scpp_route_count(const struct scpp_route_table *t);

/**
 * Number of snapshots published so far (1 after create, +1 per successful
 * add or del). Control thread; 0 if @p t is NULL.
 */
uint64_t scpp_route_version(const struct scpp_route_table *t);

/**
 * Call @p fn for every route, ordered by prefix bits and then length (so a
 * covering prefix comes before the prefixes inside it).
 *
 * @return 0 after visiting every route, the first non-zero value @p fn
 *   returned, or -EINVAL if @p t or @p fn is NULL.
 *
 * Control path: must not run concurrently with add/del (a telemetry thread
 * serialises with the control thread).
 */
int scpp_route_foreach(const struct scpp_route_table *t, scpp_route_iter_fn fn, void *arg);

/**
 * Print the routes as text, one per line: `<prefix> node <n> core <c>`.
 *
 * Same context as scpp_route_foreach(). Does nothing if @p t or @p f is NULL.
 */
void scpp_route_dump(FILE *f, const struct scpp_route_table *t);

/**
 * Look up the longest prefix matching @p oid.
 *
 * @param res
 *   Receives the node, core and prefix length; on a miss, all zero.
 * @return 0 if a route matched, -ENOENT if none did.
 *
 * Data path (any lcore, lock-free, no allocation): the caller follows the
 * reader contract of this file. Arguments are checked only in debug builds.
 */
int scpp_route_lookup(const struct scpp_route_table *t, struct scpp_oid oid,
		      struct scpp_route_result *res);

/**
 * Look up a burst of OIDs against one snapshot.
 *
 * @param oids
 *   OIDs to look up.
 * @param n
 *   Number of OIDs. Bursts longer than SCPP_ROUTE_BURST_MAX are clamped:
 *   only the first SCPP_ROUTE_BURST_MAX are looked up and the return value
 *   says so; the caller passes the rest in another call.
 * @param res
 *   Receives one result per OID looked up (see struct scpp_route_result:
 *   @c found says whether each matched). Entries past the return value are
 *   not written.
 * @return Number of OIDs looked up: min(n, SCPP_ROUTE_BURST_MAX).
 *
 * Data path, as scpp_route_lookup().
 */
uint16_t scpp_route_lookup_burst(const struct scpp_route_table *t,
				 const struct scpp_oid *oids, uint16_t n,
				 struct scpp_route_result *res);

#endif /* SCPP_ROUTE_H */
