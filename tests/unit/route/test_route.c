/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/route: LPM correctness against a linear-scan reference, add/del/replace,
 * limits, bursts at every size boundary, reclamation only after quiescence,
 * and a reader/writer RCU test with reader pthreads (run under ASan by the
 * test command, so a reader touching a reclaimed snapshot fails it).
 *
 * No EAL is needed: rte_rcu_qsbr works on memory we hand it and on any
 * thread id below its max_threads.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_rcu_qsbr.h>

#include "scpp_test.h"
#include "scpp_common.h"
#include "scpp_oid.h"
#include "scpp_route.h"
#include "route_priv.h" /* ROUTE_UNROLL, for the burst size boundaries */

static struct rte_rcu_qsbr *
qsbr_new(uint32_t max_threads)
{
	size_t sz = rte_rcu_qsbr_get_memsize(max_threads);
	struct rte_rcu_qsbr *v;

	sz = (sz + 63) & ~(size_t)63;
	v = aligned_alloc(64, sz);
	assert_non_null(v);
	assert_int_equal(rte_rcu_qsbr_init(v, max_threads), 0);
	return v;
}

static struct scpp_oid_prefix
pfx(struct scpp_oid o, unsigned int len)
{
	struct scpp_oid_prefix p;

	assert_int_equal(scpp_oid_prefix_make(&p, o, len), 0);
	return p;
}

static struct scpp_oid_prefix
node_pfx(uint32_t node)
{
	return pfx(scpp_oid_make(0, node, 0, 0, 0), 48);
}

/* Assert one lookup's outcome, reporting the caller's line. */
#define assert_route(t, oid, exp_found, exp_node, exp_core, exp_len)                 \
	do {                                                                          \
		struct scpp_route_result r_;                                          \
		int rc_ = scpp_route_lookup((t), (oid), &r_);                         \
		assert_int_equal(rc_, (exp_found) ? 0 : -ENOENT);                     \
		assert_int_equal(r_.found, (exp_found) ? 1 : 0);                      \
		assert_int_equal(r_.node, (exp_node));                                \
		assert_int_equal(r_.core, (exp_core));                                \
		assert_int_equal(r_.len, (exp_len));                                  \
	} while (0)

static void
test_route_create_rejects_zero_and_oversized_capacity(void **state)
{
	(void)state;
	rte_errno = 0;
	assert_null(scpp_route_create(0, NULL));
	assert_int_equal(rte_errno, EINVAL);
	rte_errno = 0;
	assert_null(scpp_route_create(SCPP_ROUTE_MAX_ROUTES + 1, NULL));
	assert_int_equal(rte_errno, EINVAL);
}

static void
test_route_free_null_and_queries_on_null_are_harmless(void **state)
{
	(void)state;
	scpp_route_free(NULL);
	assert_int_equal(scpp_route_count(NULL), 0);
	assert_int_equal(scpp_route_version(NULL), 0);
	assert_int_equal(scpp_route_reclaim(NULL), 0);
	assert_int_equal(scpp_route_add(NULL, NULL, 0, 0), -EINVAL);
	assert_int_equal(scpp_route_del(NULL, NULL), -EINVAL);
	assert_int_equal(scpp_route_foreach(NULL, NULL, NULL), -EINVAL);
	scpp_route_dump(stdout, NULL);
}

static void
test_route_empty_table_misses_every_oid(void **state)
{
	struct scpp_route_table *t = scpp_route_create(4, NULL);
	(void)state;

	assert_non_null(t);
	assert_int_equal(scpp_route_count(t), 0);
	assert_int_equal(scpp_route_version(t), 1);
	assert_route(t, SCPP_OID_NIL, false, 0, 0, 0);
	assert_route(t, scpp_oid_make(1, 2, 3, 4, 5), false, 0, 0, 0);
	scpp_route_free(t);
}

static void
test_route_add_rejects_malformed_prefix_and_leaves_table_unchanged(void **state)
{
	struct scpp_route_table *t = scpp_route_create(4, NULL);
	struct scpp_oid_prefix p = node_pfx(7);
	(void)state;

	assert_int_equal(scpp_route_add(t, &p, 7, 0), 0);
	/* Length over 128. */
	p.len = 129;
	assert_int_equal(scpp_route_add(t, &p, 1, 1), -EINVAL);
	assert_int_equal(scpp_route_del(t, &p), -EINVAL);
	/* Bits set past the length. */
	p = node_pfx(7);
	p.oid.lo = 1;
	assert_int_equal(scpp_route_add(t, &p, 1, 1), -EINVAL);
	assert_int_equal(scpp_route_del(t, &p), -EINVAL);
	p = node_pfx(7);
	p.oid.hi |= 1; /* the shard bits, past /48 */
	assert_int_equal(scpp_route_add(t, &p, 1, 1), -EINVAL);
	assert_int_equal(scpp_route_add(t, NULL, 1, 1), -EINVAL);

	assert_int_equal(scpp_route_count(t), 1);
	assert_int_equal(scpp_route_version(t), 2);
	assert_route(t, scpp_oid_make(0, 7, 1, 1, 1), true, 7, 0, 48);
	scpp_route_free(t);
}

static void
test_route_lookup_picks_longest_of_default_node_shard_and_host_routes(void **state)
{
	struct scpp_route_table *t = scpp_route_create(8, NULL);
	struct scpp_oid host = scpp_oid_make(0, 2, 3, 9, 77);
	struct scpp_oid_prefix p;
	(void)state;

	p = pfx(SCPP_OID_NIL, 0);
	assert_int_equal(scpp_route_add(t, &p, 100, 0), 0);
	p = node_pfx(2);
	assert_int_equal(scpp_route_add(t, &p, 2, 0), 0);
	p = scpp_oid_shard_prefix(0, 2, 3);
	assert_int_equal(scpp_route_add(t, &p, 2, 3), 0);
	p = pfx(host, 128);
	assert_int_equal(scpp_route_add(t, &p, 2, 9), 0);

	assert_route(t, host, true, 2, 9, 128);
	assert_route(t, scpp_oid_make(0, 2, 3, 9, 78), true, 2, 3, 64);
	assert_route(t, scpp_oid_make(0, 2, 4, 9, 77), true, 2, 0, 48);
	assert_route(t, scpp_oid_make(0, 3, 3, 9, 77), true, 100, 0, 0);
	assert_route(t, scpp_oid_make(0xffff, 0xffffffff, 0xffff, 1, 1), true, 100, 0, 0);
	assert_int_equal(scpp_route_count(t), 4);
	scpp_route_free(t);
}

static void
test_route_add_identical_prefix_replaces_node_and_core(void **state)
{
	struct scpp_route_table *t = scpp_route_create(2, NULL);
	struct scpp_oid_prefix p = node_pfx(5);
	(void)state;

	assert_int_equal(scpp_route_add(t, &p, 5, 1), 0);
	assert_int_equal(scpp_route_add(t, &p, 6, 2), 0);
	assert_int_equal(scpp_route_count(t), 1);
	assert_int_equal(scpp_route_version(t), 3);
	assert_route(t, scpp_oid_make(0, 5, 0, 1, 1), true, 6, 2, 48);
	scpp_route_free(t);
}

static void
test_route_del_needs_exact_prefix_and_reveals_shorter_match(void **state)
{
	struct scpp_route_table *t = scpp_route_create(4, NULL);
	struct scpp_oid_prefix node = node_pfx(2), shard = scpp_oid_shard_prefix(0, 2, 1);
	struct scpp_oid_prefix other_len = pfx(scpp_oid_make(0, 2, 0, 0, 0), 47);
	struct scpp_oid x = scpp_oid_make(0, 2, 1, 1, 1);
	(void)state;

	assert_int_equal(scpp_route_add(t, &node, 2, 0), 0);
	assert_int_equal(scpp_route_add(t, &shard, 2, 1), 0);
	assert_route(t, x, true, 2, 1, 64);

	/* Same bits, different length: a different route. */
	assert_int_equal(scpp_route_del(t, &other_len), -ENOENT);
	assert_int_equal(scpp_route_count(t), 2);

	assert_int_equal(scpp_route_del(t, &shard), 0);
	assert_int_equal(scpp_route_count(t), 1);
	assert_route(t, x, true, 2, 0, 48);
	assert_int_equal(scpp_route_del(t, &shard), -ENOENT);
	assert_int_equal(scpp_route_del(t, &node), 0);
	assert_route(t, x, false, 0, 0, 0);
	assert_int_equal(scpp_route_count(t), 0);
	scpp_route_free(t);
}

static void
test_route_full_table_rejects_new_prefix_but_accepts_replace(void **state)
{
	struct scpp_route_table *t = scpp_route_create(3, NULL);
	struct scpp_oid_prefix p;
	uint64_t version;
	(void)state;

	for (uint32_t n = 1; n <= 3; n++) {
		p = node_pfx(n);
		assert_int_equal(scpp_route_add(t, &p, n, 0), 0);
	}
	version = scpp_route_version(t);
	p = node_pfx(4);
	assert_int_equal(scpp_route_add(t, &p, 4, 0), -ENOSPC);
	assert_int_equal(scpp_route_count(t), 3);
	assert_int_equal(scpp_route_version(t), version);
	assert_route(t, scpp_oid_make(0, 4, 0, 1, 1), false, 0, 0, 0);

	p = node_pfx(2);
	assert_int_equal(scpp_route_add(t, &p, 22, 1), 0);
	assert_route(t, scpp_oid_make(0, 2, 0, 1, 1), true, 22, 1, 48);

	/* Deleting one frees room for a new one. */
	p = node_pfx(1);
	assert_int_equal(scpp_route_del(t, &p), 0);
	p = node_pfx(4);
	assert_int_equal(scpp_route_add(t, &p, 4, 0), 0);
	assert_int_equal(scpp_route_count(t), 3);
	scpp_route_free(t);
}

struct collect {
	struct scpp_route_entry e[8];
	unsigned int n;
};

static int
collect_cb(const struct scpp_route_entry *e, void *arg)
{
	struct collect *c = arg;

	if (c->n < SCPP_ARRAY_SIZE(c->e))
		c->e[c->n] = *e;
	c->n++;
	return 0;
}

static void
test_route_replace_swaps_the_whole_set_in_one_version(void **state)
{
	struct scpp_route_table *t = scpp_route_create(8, NULL);
	struct scpp_route_entry e[3];
	struct scpp_oid_prefix p = node_pfx(1);
	uint64_t version;
	(void)state;

	assert_int_equal(scpp_route_add(t, &p, 1, 0), 0);
	p = node_pfx(2);
	assert_int_equal(scpp_route_add(t, &p, 2, 0), 0);
	version = scpp_route_version(t);
	/* Unsorted input, nested prefixes of one node, node 1 gone. */
	e[0] = (struct scpp_route_entry){pfx(scpp_oid_make(0, 3, 1, 0, 0), 64), 3, 1};
	e[1] = (struct scpp_route_entry){node_pfx(2), 2, 5};
	e[2] = (struct scpp_route_entry){node_pfx(3), 3, 0};
	assert_int_equal(scpp_route_replace(t, e, 3), 0);
	assert_int_equal(scpp_route_version(t), version + 1);
	assert_int_equal(scpp_route_count(t), 3);
	assert_route(t, scpp_oid_make(0, 1, 0, 1, 1), false, 0, 0, 0);
	assert_route(t, scpp_oid_make(0, 2, 0, 1, 1), true, 2, 5, 48);
	assert_route(t, scpp_oid_make(0, 3, 1, 1, 1), true, 3, 1, 64);
	assert_route(t, scpp_oid_make(0, 3, 2, 1, 1), true, 3, 0, 48);
	/* The master list is sorted like one built by add(): a covering
	 * prefix before the prefixes inside it. */
	{
		struct collect c = {0};

		assert_int_equal(scpp_route_foreach(t, collect_cb, &c), 0);
		assert_int_equal(c.n, 3);
		assert_int_equal(c.e[0].node, 2);
		assert_int_equal(c.e[1].prefix.len, 48);
		assert_int_equal(c.e[1].node, 3);
		assert_int_equal(c.e[2].prefix.len, 64);
	}
	/* An empty set empties the table. */
	assert_int_equal(scpp_route_replace(t, NULL, 0), 0);
	assert_int_equal(scpp_route_count(t), 0);
	assert_route(t, scpp_oid_make(0, 2, 0, 1, 1), false, 0, 0, 0);
	scpp_route_free(t);
}

static void
test_route_replace_rejects_bad_sets_and_leaves_table_unchanged(void **state)
{
	struct scpp_route_table *t = scpp_route_create(2, NULL);
	struct scpp_route_entry e[3];
	struct scpp_oid_prefix p = node_pfx(1);
	uint64_t version;
	(void)state;

	assert_int_equal(scpp_route_add(t, &p, 1, 0), 0);
	version = scpp_route_version(t);
	e[0] = (struct scpp_route_entry){node_pfx(2), 2, 0};
	e[1] = (struct scpp_route_entry){node_pfx(3), 3, 0};
	e[2] = (struct scpp_route_entry){node_pfx(4), 4, 0};
	assert_int_equal(scpp_route_replace(NULL, e, 1), -EINVAL);
	assert_int_equal(scpp_route_replace(t, NULL, 1), -EINVAL);
	assert_int_equal(scpp_route_replace(t, e, 3), -ENOSPC);
	/* The same prefix twice, even for the same node. */
	e[1] = e[0];
	assert_int_equal(scpp_route_replace(t, e, 2), -EINVAL);
	/* Bits set past the length. */
	e[1] = (struct scpp_route_entry){{scpp_oid_make(0, 3, 1, 0, 0), 48}, 3, 0};
	assert_int_equal(scpp_route_replace(t, e, 2), -EINVAL);
	e[1].prefix.len = 129;
	assert_int_equal(scpp_route_replace(t, e, 2), -EINVAL);
	assert_int_equal(scpp_route_version(t), version);
	assert_int_equal(scpp_route_count(t), 1);
	assert_route(t, scpp_oid_make(0, 1, 0, 1, 1), true, 1, 0, 48);
	assert_route(t, scpp_oid_make(0, 2, 0, 1, 1), false, 0, 0, 0);
	scpp_route_free(t);
}

static void
test_route_replace_frees_old_snapshot_only_after_reader_quiesces(void **state)
{
	struct rte_rcu_qsbr *v = qsbr_new(1);
	struct scpp_route_table *t = scpp_route_create(4, v);
	struct scpp_route_entry e = {node_pfx(7), 7, 0};
	(void)state;

	assert_int_equal(rte_rcu_qsbr_thread_register(v, 0), 0);
	rte_rcu_qsbr_thread_online(v, 0);
	assert_int_equal(scpp_route_replace(t, &e, 1), 0);
	/* The reader has not passed a quiescent state: the snapshot of the
	 * empty table it may still hold is kept. */
	assert_int_equal(scpp_route_reclaim(t), 1);
	rte_rcu_qsbr_quiescent(v, 0);
	assert_int_equal(scpp_route_reclaim(t), 0);
	assert_route(t, scpp_oid_make(0, 7, 0, 1, 1), true, 7, 0, 48);
	rte_rcu_qsbr_thread_offline(v, 0);
	rte_rcu_qsbr_thread_unregister(v, 0);
	scpp_route_free(t);
	free(v);
}

/* Reference model: a plain array scanned linearly. */
struct ref_model {
	struct scpp_route_entry e[1024];
	unsigned int n;
};

static void
ref_add(struct ref_model *m, const struct scpp_oid_prefix *p, uint32_t node, uint16_t core)
{
	for (unsigned int i = 0; i < m->n; i++) {
		if (m->e[i].prefix.len == p->len && scpp_oid_eq(m->e[i].prefix.oid, p->oid)) {
			m->e[i].node = node;
			m->e[i].core = core;
			return;
		}
	}
	m->e[m->n].prefix = *p;
	m->e[m->n].node = node;
	m->e[m->n].core = core;
	m->n++;
}

static bool
ref_del(struct ref_model *m, const struct scpp_oid_prefix *p)
{
	for (unsigned int i = 0; i < m->n; i++) {
		if (m->e[i].prefix.len == p->len && scpp_oid_eq(m->e[i].prefix.oid, p->oid)) {
			m->e[i] = m->e[--m->n];
			return true;
		}
	}
	return false;
}

static void
ref_lookup(const struct ref_model *m, struct scpp_oid o, struct scpp_route_result *r)
{
	int best = -1;

	memset(r, 0, sizeof(*r));
	for (unsigned int i = 0; i < m->n; i++) {
		if (scpp_oid_prefix_match(&m->e[i].prefix, o) && (int)m->e[i].prefix.len > best) {
			best = m->e[i].prefix.len;
			r->node = m->e[i].node;
			r->core = m->e[i].core;
			r->len = m->e[i].prefix.len;
			r->found = 1;
		}
	}
}

/* OIDs drawn from a small space of locales, nodes and shards, so random
 * prefixes overlap and random lookups hit them. */
static struct scpp_oid
rand_oid(uint64_t *seed)
{
	return scpp_oid_make((uint16_t)test_rand_below(seed, 3), (uint32_t)test_rand_below(seed, 6),
			     (uint16_t)test_rand_below(seed, 4), (uint32_t)test_rand_below(seed, 3),
			     test_rand_below(seed, 8));
}

static unsigned int
rand_len(uint64_t *seed)
{
	static const unsigned int common[] = {0, 16, 48, 48, 48, 64, 64, 64, 88, 126, 128, 128};

	if (test_rand_below(seed, 4) == 0)
		return (unsigned int)test_rand_below(seed, 129);
	return common[test_rand_below(seed, SCPP_ARRAY_SIZE(common))];
}

static void
check_against_ref(const struct scpp_route_table *t, const struct ref_model *m, uint64_t *seed,
		  unsigned int lookups)
{
	for (unsigned int i = 0; i < lookups; i++) {
		struct scpp_oid o = rand_oid(seed);
		struct scpp_route_result got, want;

		ref_lookup(m, o, &want);
		assert_int_equal(scpp_route_lookup(t, o, &got), want.found ? 0 : -ENOENT);
		assert_memory_equal(&got, &want, sizeof(got));
	}
}

static void
test_route_lpm_matches_linear_reference_on_random_routes(void **state)
{
	struct scpp_route_table *t = scpp_route_create(1024, NULL);
	struct ref_model *m = calloc(1, sizeof(*m));
	uint64_t seed = 0x5eed;
	(void)state;

	assert_non_null(t);
	assert_non_null(m);
	for (unsigned int round = 0; round < 20; round++) {
		/* Grow by 40 routes (some replace), then delete about 10. */
		for (unsigned int i = 0; i < 40; i++) {
			struct scpp_oid_prefix p = pfx(rand_oid(&seed), rand_len(&seed));
			uint32_t node = (uint32_t)test_rand(&seed);
			uint16_t core = (uint16_t)test_rand(&seed);

			assert_int_equal(scpp_route_add(t, &p, node, core), 0);
			ref_add(m, &p, node, core);
		}
		for (unsigned int i = 0; i < 10 && m->n > 0; i++) {
			struct scpp_oid_prefix p = m->e[test_rand_below(&seed, m->n)].prefix;

			assert_int_equal(scpp_route_del(t, &p), 0);
			assert_true(ref_del(m, &p));
			assert_int_equal(scpp_route_del(t, &p), -ENOENT);
		}
		assert_int_equal(scpp_route_count(t), m->n);
		check_against_ref(t, m, &seed, 500);
	}
	free(m);
	scpp_route_free(t);
}

static void
run_burst(const struct scpp_route_table *t, uint16_t n, uint64_t *seed)
{
	struct scpp_oid oids[SCPP_ROUTE_BURST_MAX + 1] = {0};
	struct scpp_route_result res[SCPP_ROUTE_BURST_MAX + 1];
	uint16_t expect = n > SCPP_ROUTE_BURST_MAX ? SCPP_ROUTE_BURST_MAX : n;

	/* Mixed keys: every item targets a different node or shard, some miss. */
	for (uint16_t i = 0; i < n; i++)
		oids[i] = scpp_oid_make(0, (uint32_t)test_rand_below(seed, 12),
					(uint16_t)test_rand_below(seed, 3), 1, i);
	memset(res, 0xa5, sizeof(res));
	assert_int_equal(scpp_route_lookup_burst(t, oids, n, res), expect);
	for (uint16_t i = 0; i < expect; i++) {
		struct scpp_route_result one;

		scpp_route_lookup(t, oids[i], &one);
		assert_memory_equal(&res[i], &one, sizeof(one));
	}
	/* Nothing past the returned count is written. */
	for (uint16_t i = expect; i < SCPP_ROUTE_BURST_MAX + 1; i++)
		assert_int_equal(res[i].found, 0xa5);
}

static void
test_route_burst_matches_single_lookups_at_every_size_boundary(void **state)
{
	static const uint16_t sizes[] = {
		0, 1, ROUTE_UNROLL - 1, ROUTE_UNROLL, ROUTE_UNROLL + 1,
		SCPP_ROUTE_BURST_MAX - 1, SCPP_ROUTE_BURST_MAX, SCPP_ROUTE_BURST_MAX + 1,
	};
	struct scpp_route_table *t = scpp_route_create(64, NULL);
	uint64_t seed = 7;
	(void)state;

	/* Nodes 0..7 routed (/48); shard 1 of even nodes has its own /64;
	 * nodes 8..11 miss. */
	for (uint32_t n = 0; n < 8; n++) {
		struct scpp_oid_prefix p = node_pfx(n);

		assert_int_equal(scpp_route_add(t, &p, n, 0), 0);
		if (n % 2 == 0) {
			p = scpp_oid_shard_prefix(0, n, 1);
			assert_int_equal(scpp_route_add(t, &p, n, 1), 0);
		}
	}
	for (unsigned int rep = 0; rep < 20; rep++)
		for (unsigned int i = 0; i < SCPP_ARRAY_SIZE(sizes); i++)
			run_burst(t, sizes[i], &seed);
	scpp_route_free(t);
}

static void
test_route_burst_on_empty_table_misses_all(void **state)
{
	struct scpp_route_table *t = scpp_route_create(1, NULL);
	struct scpp_oid oids[3] = {SCPP_OID_NIL, scpp_oid_make(0, 1, 0, 1, 1),
				   scpp_oid_make(9, 9, 9, 9, 9)};
	struct scpp_route_result res[3];
	(void)state;

	memset(res, 0xff, sizeof(res));
	assert_int_equal(scpp_route_lookup_burst(t, oids, 3, res), 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(res[i].found, 0);
		assert_int_equal(res[i].node, 0);
	}
	scpp_route_free(t);
}

static int
collect(const struct scpp_route_entry *e, void *arg)
{
	char *buf = arg;
	char p[SCPP_OID_STR_MAX];

	scpp_oid_prefix_format(p, sizeof(p), &e->prefix);
	snprintf(buf + strlen(buf), 256 - strlen(buf), "%s=%u;", p, (unsigned int)e->node);
	return 0;
}

static int
stop_at_second(const struct scpp_route_entry *e, void *arg)
{
	int *n = arg;
	(void)e;

	return ++*n == 2 ? 42 : 0;
}

static void
test_route_foreach_visits_routes_in_prefix_order_and_stops_on_request(void **state)
{
	struct scpp_route_table *t = scpp_route_create(8, NULL);
	struct scpp_oid_prefix p;
	char buf[256] = "";
	int n = 0;
	char *text = NULL;
	size_t size = 0;
	FILE *f;
	(void)state;

	p = scpp_oid_shard_prefix(0, 2, 1);
	scpp_route_add(t, &p, 2, 1);
	p = node_pfx(3);
	scpp_route_add(t, &p, 3, 0);
	p = node_pfx(2);
	scpp_route_add(t, &p, 2, 0);
	p = pfx(SCPP_OID_NIL, 0);
	scpp_route_add(t, &p, 9, 0);

	assert_int_equal(scpp_route_foreach(t, collect, buf), 0);
	assert_string_equal(buf, "@0.0.0.0.0/0=9;@0.2.0.0.0/48=2;@0.2.1.0.0/64=2;@0.3.0.0.0/48=3;");
	assert_int_equal(scpp_route_foreach(t, stop_at_second, &n), 42);
	assert_int_equal(n, 2);

	f = open_memstream(&text, &size);
	assert_non_null(f);
	scpp_route_dump(f, t);
	fclose(f);
	assert_string_equal(text, "@0.0.0.0.0/0 node 9 core 0\n"
				  "@0.2.0.0.0/48 node 2 core 0\n"
				  "@0.2.1.0.0/64 node 2 core 1\n"
				  "@0.3.0.0.0/48 node 3 core 0\n");
	free(text);
	scpp_route_free(t);
}

static void
test_route_replaced_snapshot_freed_only_after_reader_quiesces(void **state)
{
	struct rte_rcu_qsbr *v = qsbr_new(2);
	struct scpp_route_table *t = scpp_route_create(8, v);
	struct scpp_oid_prefix p = node_pfx(2);
	(void)state;

	/* This thread plays reader 1; reader 0 never registers, so it is
	 * not waited for. */
	assert_int_equal(rte_rcu_qsbr_thread_register(v, 1), 0);
	rte_rcu_qsbr_thread_online(v, 1);

	assert_int_equal(scpp_route_add(t, &p, 2, 0), 0);
	assert_int_equal(scpp_route_add(t, &p, 2, 1), 0);
	/* The empty and the first snapshot await reader 1. */
	assert_int_equal(scpp_route_reclaim(t), 2);
	assert_int_equal(scpp_route_reclaim(t), 2);
	rte_rcu_qsbr_quiescent(v, 1);
	assert_int_equal(scpp_route_reclaim(t), 0);

	assert_int_equal(scpp_route_del(t, &p), 0);
	assert_int_equal(scpp_route_reclaim(t), 1);
	/* An offline reader does not hold back reclamation. */
	rte_rcu_qsbr_thread_offline(v, 1);
	assert_int_equal(scpp_route_reclaim(t), 0);

	/* Free with snapshots still pending releases them too (ASan checks). */
	rte_rcu_qsbr_thread_online(v, 1);
	assert_int_equal(scpp_route_add(t, &p, 2, 0), 0);
	assert_int_equal(scpp_route_reclaim(t), 1);
	rte_rcu_qsbr_thread_offline(v, 1);
	rte_rcu_qsbr_thread_unregister(v, 1);
	scpp_route_free(t);
	free(v);
}

static void
test_route_without_qsbr_frees_replaced_snapshots_at_once(void **state)
{
	struct scpp_route_table *t = scpp_route_create(8, NULL);
	struct scpp_oid_prefix p = node_pfx(2);
	(void)state;

	for (uint16_t i = 0; i < 10; i++) {
		assert_int_equal(scpp_route_add(t, &p, 2, i), 0);
		assert_int_equal(scpp_route_reclaim(t), 0);
	}
	assert_int_equal(scpp_route_version(t), 11);
	scpp_route_free(t);
}

/*
 * Reader/writer test. The writer keeps K node routes P_j (node 2+j) and
 * rewrites them round-robin: update g sets P_(g mod K)'s core to g. So in
 * every published table, with m the largest core seen, route j's core is
 * the last g <= m with g = j (mod K). It also toggles a /64 route Q inside
 * P_0 (core 0xffff): a lookup under Q sees Q or, when Q is absent, P_0.
 * Readers look all K+1 OIDs up in one burst (one snapshot) and check both
 * invariants; a torn or stale-freed table breaks one or ASan.
 */
#define RW_K 8
#define RW_READERS 2
#define RW_UPDATES 3000

struct rw_reader {
	pthread_t thread;
	unsigned int id;
	struct rte_rcu_qsbr *v;
	struct scpp_route_table *t;
	bool *stop;
	uint64_t iterations; /* written by the reader, read after join/atomically */
	uint64_t violations;
	uint64_t q_hits;
};

static void *
rw_reader_main(void *arg)
{
	struct rw_reader *r = arg;
	struct scpp_oid oids[RW_K + 1];
	struct scpp_route_result res[RW_K + 1];

	for (unsigned int j = 0; j < RW_K; j++)
		oids[j] = scpp_oid_make(0, 2 + j, 1, 1, j);
	oids[RW_K] = scpp_oid_make(0, 2, 6, 1, 1);

	rte_rcu_qsbr_thread_register(r->v, r->id);
	rte_rcu_qsbr_thread_online(r->v, r->id);
	/* Acquire pairs with the writer's release of the stop flag. */
	while (!__atomic_load_n(r->stop, __ATOMIC_ACQUIRE)) {
		uint32_t m = 0;
		bool ok;

		ok = scpp_route_lookup_burst(r->t, oids, RW_K + 1, res) == RW_K + 1;
		for (unsigned int j = 0; j < RW_K; j++) {
			ok = ok && res[j].found && res[j].node == 2 + j && res[j].len == 48;
			m = res[j].core > m ? res[j].core : m;
		}
		for (unsigned int j = 0; j < RW_K && ok; j++)
			ok = res[j].core == m - ((m + RW_K - j) % RW_K);
		if (res[RW_K].len == 64) {
			ok = ok && res[RW_K].core == 0xffff && res[RW_K].node == 2;
			r->q_hits++;
		} else {
			ok = ok && res[RW_K].len == 48 && res[RW_K].core == res[0].core;
		}
		if (!ok)
			r->violations++;
		/* Relaxed: a progress counter the writer only polls. */
		__atomic_store_n(&r->iterations, r->iterations + 1, __ATOMIC_RELAXED);
		rte_rcu_qsbr_quiescent(r->v, r->id);
	}
	rte_rcu_qsbr_thread_offline(r->v, r->id);
	rte_rcu_qsbr_thread_unregister(r->v, r->id);
	return NULL;
}

static void
test_route_readers_see_only_published_tables_while_writer_churns(void **state)
{
	struct rte_rcu_qsbr *v = qsbr_new(RW_READERS);
	struct scpp_route_table *t = scpp_route_create(RW_K + 1, v);
	struct rw_reader readers[RW_READERS];
	struct scpp_oid_prefix q = scpp_oid_shard_prefix(0, 2, 6);
	bool stop = false;
	(void)state;

	for (uint32_t j = 0; j < RW_K; j++) {
		struct scpp_oid_prefix p = node_pfx(2 + j);

		assert_int_equal(scpp_route_add(t, &p, 2 + j, (uint16_t)j), 0);
	}
	for (unsigned int i = 0; i < RW_READERS; i++) {
		readers[i] = (struct rw_reader){.id = i, .v = v, .t = t, .stop = &stop};
		assert_int_equal(pthread_create(&readers[i].thread, NULL, rw_reader_main,
						&readers[i]), 0);
	}
	/* Start churning once every reader is in its loop. */
	for (unsigned int i = 0; i < RW_READERS; i++)
		while (__atomic_load_n(&readers[i].iterations, __ATOMIC_RELAXED) == 0)
			sched_yield();

	for (uint32_t g = RW_K; g < RW_K + RW_UPDATES; g++) {
		struct scpp_oid_prefix p = node_pfx(2 + g % RW_K);

		assert_int_equal(scpp_route_add(t, &p, 2 + g % RW_K, (uint16_t)g), 0);
		if (g % 2 == 0)
			assert_int_equal(scpp_route_add(t, &q, 2, 0xffff), 0);
		else
			assert_int_equal(scpp_route_del(t, &q), 0);
		if (g % 64 == 0)
			sched_yield(); /* let readers run on a busy 2-CPU machine */
	}

	/* Release: readers stop after seeing the final table. */
	__atomic_store_n(&stop, true, __ATOMIC_RELEASE);
	for (unsigned int i = 0; i < RW_READERS; i++) {
		assert_int_equal(pthread_join(readers[i].thread, NULL), 0);
		assert_int_equal(readers[i].violations, 0);
		assert_true(readers[i].iterations > 0);
	}
	/* All readers are offline: everything replaced is reclaimable now. */
	assert_int_equal(scpp_route_reclaim(t), 0);
	assert_int_equal(scpp_route_version(t), 1 + RW_K + 2 * RW_UPDATES);
	scpp_route_free(t);
	free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_route_create_rejects_zero_and_oversized_capacity),
		cmocka_unit_test(test_route_free_null_and_queries_on_null_are_harmless),
		cmocka_unit_test(test_route_empty_table_misses_every_oid),
		cmocka_unit_test(test_route_add_rejects_malformed_prefix_and_leaves_table_unchanged),
		cmocka_unit_test(test_route_lookup_picks_longest_of_default_node_shard_and_host_routes),
		cmocka_unit_test(test_route_add_identical_prefix_replaces_node_and_core),
		cmocka_unit_test(test_route_del_needs_exact_prefix_and_reveals_shorter_match),
		cmocka_unit_test(test_route_full_table_rejects_new_prefix_but_accepts_replace),
		cmocka_unit_test(test_route_replace_swaps_the_whole_set_in_one_version),
		cmocka_unit_test(test_route_replace_rejects_bad_sets_and_leaves_table_unchanged),
		cmocka_unit_test(test_route_replace_frees_old_snapshot_only_after_reader_quiesces),
		cmocka_unit_test(test_route_lpm_matches_linear_reference_on_random_routes),
		cmocka_unit_test(test_route_burst_matches_single_lookups_at_every_size_boundary),
		cmocka_unit_test(test_route_burst_on_empty_table_misses_all),
		cmocka_unit_test(test_route_foreach_visits_routes_in_prefix_order_and_stops_on_request),
		cmocka_unit_test(test_route_replaced_snapshot_freed_only_after_reader_quiesces),
		cmocka_unit_test(test_route_without_qsbr_frees_replaced_snapshots_at_once),
		cmocka_unit_test(test_route_readers_see_only_published_tables_while_writer_churns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
