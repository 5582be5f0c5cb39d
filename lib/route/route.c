/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Route table, control path: the sorted master list of routes, snapshot
 * building, publication and reclamation.
 *
 * Every change edits the master list (an array sorted by prefix bits, then
 * length), builds a complete new snapshot from it, and publishes the snapshot
 * with a release store. If building fails the list edit is undone, so a
 * failed add/del leaves both the list and the published snapshot unchanged.
 * Rebuilding is O(routes) per change; with the few thousand routes a node
 * carries that is microseconds, and it keeps readers free of any
 * synchronisation beyond one acquire load.
 *
 * Reclamation: the replaced snapshot goes to the tail of a FIFO with the
 * token of rte_rcu_qsbr_start(). Tokens grow monotonically, so when the head's
 * grace period has not passed, none after it has either, and polling stops at
 * the first one still pending. We do not use rte_rcu_qsbr_dq: it needs an EAL
 * memzone ring of fixed size, and memory behind rte_malloc is invisible to
 * AddressSanitizer, which the reader/writer test relies on.
 *
 * Atomics are the GCC __atomic builtins: DPDK 22.11 has no
 * rte_atomic_*_explicit yet (it wraps the same builtins from 23.11 on).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_rcu_qsbr.h>

#include "scpp_common.h"
#include "scpp_oid.h"
#include "scpp_route.h"
#include "route_priv.h"

static bool
prefix_valid(const struct scpp_oid_prefix *p)
{
	struct scpp_oid_prefix canon;

	if (p == NULL || p->len > 128)
		return false;
	scpp_oid_prefix_make(&canon, p->oid, p->len);
	return scpp_oid_eq(canon.oid, p->oid);
}

static int
entry_cmp(const struct scpp_oid_prefix *a, const struct scpp_oid_prefix *b)
{
	int c = scpp_oid_cmp(a->oid, b->oid);

	if (c != 0)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

/* Index of @p p in the master list, or of where it would be inserted. */
static uint32_t
find_pos(const struct scpp_route_table *t, const struct scpp_oid_prefix *p, bool *found)
{
	uint32_t lo = 0, hi = t->nb_routes;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = entry_cmp(&t->routes[mid].prefix, p);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static void
level_masks(unsigned int len, uint64_t *mhi, uint64_t *mlo)
{
	/* Shifts by 64 are undefined: whole halves are handled apart. */
	if (len == 0) {
		*mhi = 0;
		*mlo = 0;
	} else if (len <= 64) {
		*mhi = ~(UINT64_MAX >> (len - 1) >> 1);
		*mlo = 0;
	} else {
		*mhi = UINT64_MAX;
		*mlo = ~(UINT64_MAX >> (len - 65) >> 1);
	}
}

static uint32_t
pow2_at_least(uint32_t n)
{
	uint32_t c = 2;

	while (c < n)
		c <<= 1;
	return c;
}

/* Build an immutable snapshot of the master list; NULL when out of memory. */
static struct route_snap *
snap_build(const struct scpp_route_table *t)
{
	uint32_t per_len[129] = {0};
	uint32_t cap[129] = {0};
	uint32_t base[129] = {0};
	uint32_t level_of[129] = {0};
	uint32_t nb_levels = 0, nb_slots = 0;
	struct route_level *levels;
	struct route_slot *slots;
	struct route_snap *s;
	size_t size;
	int len;

	for (uint32_t i = 0; i < t->nb_routes; i++)
		per_len[t->routes[i].prefix.len]++;
	for (len = 128; len >= 0; len--) {
		if (per_len[len] == 0)
			continue;
		/* Load <= 1/2 keeps probes short and guarantees an empty slot
		 * to end every probe. */
		cap[len] = pow2_at_least(per_len[len] * 2);
		base[len] = nb_slots;
		nb_slots += cap[len];
		nb_levels++;
	}

	size = sizeof(*s) + nb_levels * sizeof(*levels);
	size = (size + 63) & ~(size_t)63;
	s = aligned_alloc(64, size + (size_t)nb_slots * sizeof(*slots));
	if (s == NULL)
		return NULL;
	memset(s, 0, size + (size_t)nb_slots * sizeof(*slots));
	levels = (struct route_level *)(s + 1);
	slots = (struct route_slot *)((char *)s + size);

	nb_levels = 0;
	for (len = 128; len >= 0; len--) {
		struct route_level *l;

		if (per_len[len] == 0)
			continue;
		level_of[len] = nb_levels;
		l = &levels[nb_levels++];
		level_masks((unsigned int)len, &l->mask_hi, &l->mask_lo);
		l->slot_base = base[len];
		l->slot_mask = cap[len] - 1;
	}
	for (uint32_t i = 0; i < t->nb_routes; i++) {
		const struct scpp_route_entry *e = &t->routes[i];
		const struct route_level *l = &levels[level_of[e->prefix.len]];
		uint32_t idx = route_hash(e->prefix.oid.hi, e->prefix.oid.lo) & l->slot_mask;
		struct route_slot *sl;

		while (slots[l->slot_base + idx].used)
			idx = (idx + 1) & l->slot_mask;
		sl = &slots[l->slot_base + idx];
		sl->hi = e->prefix.oid.hi;
		sl->lo = e->prefix.oid.lo;
		sl->node = e->node;
		sl->core = e->core;
		sl->len = e->prefix.len;
		sl->used = 1;
	}
	s->nb_levels = nb_levels;
	s->nb_routes = t->nb_routes;
	s->levels = levels;
	s->slots = slots;
	return s;
}

/* Free pending snapshots whose grace period has passed; @p wait_one makes
 * the call wait for the oldest one first. */
static void
reclaim(struct scpp_route_table *t, bool wait_one)
{
	while (t->pending_head != NULL) {
		struct route_snap *s = t->pending_head;

		/* rte_rcu_qsbr_check() reads the readers' counters with
		 * acquire ordering: once it reports the token passed, every
		 * reader has finished any lookup that could have loaded s. */
		if (t->qsbr != NULL && rte_rcu_qsbr_check(t->qsbr, s->token, wait_one) != 1)
			break;
		wait_one = false;
		t->pending_head = s->next;
		if (t->pending_head == NULL)
			t->pending_tail = NULL;
		t->nb_pending--;
		free(s);
	}
}

/* Publish @p s and queue the snapshot it replaces for reclamation. */
static void
publish(struct scpp_route_table *t, struct route_snap *s)
{
	struct route_snap *old = t->snap;

	s->version = ++t->version;
	/* Release: a reader that loads the pointer (acquire) sees the
	 * snapshot's contents as written above. */
	__atomic_store_n(&t->snap, s, __ATOMIC_RELEASE);
	if (old == NULL)
		return;
	old->next = NULL;
	/* The token is taken after the store: readers that report quiescence
	 * for it have finished every lookup that started before the store. */
	old->token = t->qsbr != NULL ? rte_rcu_qsbr_start(t->qsbr) : 0;
	if (t->pending_tail != NULL)
		t->pending_tail->next = old;
	else
		t->pending_head = old;
	t->pending_tail = old;
	t->nb_pending++;
	reclaim(t, t->nb_pending > SCPP_ROUTE_PENDING_MAX);
}

struct scpp_route_table *
scpp_route_create(uint32_t max_routes, struct rte_rcu_qsbr *qsbr)
{
	struct scpp_route_table *t;
	struct route_snap *s;

	if (max_routes == 0 || max_routes > SCPP_ROUTE_MAX_ROUTES) {
		rte_errno = EINVAL;
		return NULL;
	}
	t = aligned_alloc(64, sizeof(*t));
	if (t == NULL)
		goto err_nomem;
	memset(t, 0, sizeof(*t));
	t->routes = calloc(max_routes, sizeof(*t->routes));
	if (t->routes == NULL)
		goto err_free_table;
	t->qsbr = qsbr;
	t->max_routes = max_routes;
	s = snap_build(t);
	if (s == NULL)
		goto err_free_routes;
	publish(t, s);
	return t;

err_free_routes:
	free(t->routes);
err_free_table:
	free(t);
err_nomem:
	rte_errno = ENOMEM;
	return NULL;
}

void
scpp_route_free(struct scpp_route_table *t)
{
	struct route_snap *s, *next;

	if (t == NULL)
		return;
	/* No reader is left (the caller's promise), so pending snapshots go
	 * without waiting for their grace period. */
	for (s = t->pending_head; s != NULL; s = next) {
		next = s->next;
		free(s);
	}
	free(t->snap);
	free(t->routes);
	free(t);
}

int
scpp_route_add(struct scpp_route_table *t, const struct scpp_oid_prefix *prefix,
	       uint32_t node, uint16_t core)
{
	struct scpp_route_entry saved;
	struct route_snap *s;
	bool found;
	uint32_t pos;

	if (t == NULL || !prefix_valid(prefix))
		return -EINVAL;
	pos = find_pos(t, prefix, &found);
	if (found) {
		saved = t->routes[pos];
		t->routes[pos].node = node;
		t->routes[pos].core = core;
	} else {
		if (t->nb_routes == t->max_routes)
			return -ENOSPC;
		memmove(&t->routes[pos + 1], &t->routes[pos],
			(t->nb_routes - pos) * sizeof(t->routes[0]));
		t->routes[pos].prefix = *prefix;
		t->routes[pos].node = node;
		t->routes[pos].core = core;
		t->nb_routes++;
	}
	s = snap_build(t);
	if (s == NULL)
		goto err_undo;
	publish(t, s);
	return 0;

err_undo:
	if (found) {
		t->routes[pos] = saved;
	} else {
		t->nb_routes--;
		memmove(&t->routes[pos], &t->routes[pos + 1],
			(t->nb_routes - pos) * sizeof(t->routes[0]));
	}
	return -ENOMEM;
}

int
scpp_route_del(struct scpp_route_table *t, const struct scpp_oid_prefix *prefix)
{
	struct scpp_route_entry saved;
	struct route_snap *s;
	bool found;
	uint32_t pos;

	if (t == NULL || !prefix_valid(prefix))
		return -EINVAL;
	pos = find_pos(t, prefix, &found);
	if (!found)
		return -ENOENT;
	saved = t->routes[pos];
	t->nb_routes--;
	memmove(&t->routes[pos], &t->routes[pos + 1],
		(t->nb_routes - pos) * sizeof(t->routes[0]));
	s = snap_build(t);
	if (s == NULL) {
		memmove(&t->routes[pos + 1], &t->routes[pos],
			(t->nb_routes - pos) * sizeof(t->routes[0]));
		t->routes[pos] = saved;
		t->nb_routes++;
		return -ENOMEM;
	}
	publish(t, s);
	return 0;
}

static int
entry_qsort_cmp(const void *a, const void *b)
{
	return entry_cmp(&((const struct scpp_route_entry *)a)->prefix,
			 &((const struct scpp_route_entry *)b)->prefix);
}

int
scpp_route_replace(struct scpp_route_table *t, const struct scpp_route_entry *entries,
		   uint32_t n)
{
	struct scpp_route_entry *list, *old;
	struct route_snap *s;
	uint32_t old_n;

	if (t == NULL || (entries == NULL && n > 0))
		return -EINVAL;
	if (n > t->max_routes)
		return -ENOSPC;
	for (uint32_t i = 0; i < n; i++)
		if (!prefix_valid(&entries[i].prefix))
			return -EINVAL;
	/* The new master list is built aside and swapped in, so that a
	 * failure anywhere leaves the old list and snapshot in place. */
	list = calloc(t->max_routes, sizeof(*list));
	if (list == NULL)
		return -ENOMEM;
	if (n > 0)
		memcpy(list, entries, (size_t)n * sizeof(*list));
	qsort(list, n, sizeof(*list), entry_qsort_cmp);
	for (uint32_t i = 1; i < n; i++) {
		if (entry_cmp(&list[i - 1].prefix, &list[i].prefix) == 0) {
			free(list);
			return -EINVAL;
		}
	}
	old = t->routes;
	old_n = t->nb_routes;
	t->routes = list;
	t->nb_routes = n;
	s = snap_build(t);
	if (s == NULL) {
		t->routes = old;
		t->nb_routes = old_n;
		free(list);
		return -ENOMEM;
	}
	publish(t, s);
	free(old);
	return 0;
}

unsigned int
scpp_route_reclaim(struct scpp_route_table *t)
{
	if (t == NULL)
		return 0;
	reclaim(t, false);
	return t->nb_pending;
}

uint32_t
scpp_route_count(const struct scpp_route_table *t)
{
	return t == NULL ? 0 : t->nb_routes;
}

uint64_t
scpp_route_version(const struct scpp_route_table *t)
{
	return t == NULL ? 0 : t->version;
}

int
scpp_route_foreach(const struct scpp_route_table *t, scpp_route_iter_fn fn, void *arg)
{
	if (t == NULL || fn == NULL)
		return -EINVAL;
	for (uint32_t i = 0; i < t->nb_routes; i++) {
		int rc = fn(&t->routes[i], arg);

		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
dump_one(const struct scpp_route_entry *e, void *arg)
{
	char buf[SCPP_OID_STR_MAX];

	scpp_oid_prefix_format(buf, sizeof(buf), &e->prefix);
	fprintf((FILE *)arg, "%s node %u core %u\n", buf, (unsigned int)e->node,
		(unsigned int)e->core);
	return 0;
}

void
scpp_route_dump(FILE *f, const struct scpp_route_table *t)
{
	if (f == NULL || t == NULL)
		return;
	scpp_route_foreach(t, dump_one, f);
}
