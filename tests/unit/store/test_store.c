/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/store. Shards use a counting wrapper around the libc
 * memory provider, so every test runs without EAL and checks for leaks;
 * one test brings up EAL and exercises the rte (hugepage when available)
 * provider.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_malloc.h>
#include <rte_memory.h>

#include "scpp_test.h"
#include "scpp_common.h"
#include "scpp_store.h"

#include "store_test.h"

/* ---------------------------------------------------------- helpers */

struct count_mem {
	int64_t live_bytes;
	int live_allocs;
	int fail_at; /* fail the n-th allocation (1-based); 0 = never */
	int calls;
};

static struct count_mem cmem;

static void *
cm_alloc(void *ctx, const char *name, size_t size, size_t align, int socket)
{
	struct count_mem *c = ctx;
	void *p;

	if (++c->calls == c->fail_at)
		return NULL;
	p = scpp_store_mem_libc.alloc(NULL, name, size, align, socket);
	if (p != NULL) {
		c->live_bytes += (int64_t)size;
		c->live_allocs++;
	}
	return p;
}

static void
cm_free(void *ctx, void *p, size_t size)
{
	struct count_mem *c = ctx;

	assert_non_null(p);
	c->live_bytes -= (int64_t)size;
	c->live_allocs--;
	scpp_store_mem_libc.free(NULL, p, size);
}

static const struct scpp_store_mem_ops cm_ops = {cm_alloc, cm_free, &cmem};

static void
base_cfg(struct scpp_store_config *c)
{
	scpp_store_config_init(c);
	c->mem = &cm_ops;
	c->max_entries = 1024;
	c->max_map_entries = 1024;
	c->extent_bytes = 1 << 20;
	c->max_value_len = 1 << 16;
	c->oid_node = 7;
	c->oid_epoch = 3;
}

static struct scpp_store *
mk(const struct scpp_store_config *c)
{
	struct scpp_store *s = scpp_store_create(c);

	assert_non_null(s);
	return s;
}

static void
done(struct scpp_store *s)
{
	scpp_store_free(s);
	assert_int_equal(cmem.live_allocs, 0);
	assert_true(cmem.live_bytes == 0);
}

static struct scpp_oid
E(uint64_t i)
{
	return scpp_oid_make(0, 7, 0, 3, 1000 + i);
}

static void
assert_value_eq_at(const struct scpp_value *a, const struct scpp_value *b,
		   const char *file, int line)
{
	if (!scpp_value_eq(a, b)) {
		char x[128], y[128];

		scpp_value_format(x, sizeof(x), a);
		scpp_value_format(y, sizeof(y), b);
		_fail(file, line);
		fprintf(stderr, "values differ: %s != %s\n", x, y);
	}
}
#define assert_value_eq(a, b) assert_value_eq_at((a), (b), __FILE__, __LINE__)

/* Snapshot everything observable for "shard unchanged" checks. */
struct snap {
	struct scpp_store_stats st;
};

static void
snap_take(const struct scpp_store *s, struct snap *sn)
{
	memset(sn, 0, sizeof(*sn));
	scpp_store_stats_get(s, &sn->st);
}

static void
snap_same_at(const struct scpp_store *s, const struct snap *a, const char *file, int line)
{
	struct snap b;

	snap_take(s, &b);
	if (memcmp(&a->st, &b.st, sizeof(a->st)) != 0)
		_fail(file, line);
}
#define assert_snap_same(s, a) snap_same_at((s), (a), __FILE__, __LINE__)

static const char long_text[] =
	"The quick brown fox jumps over the lazy dog; the five boxing wizards "
	"jump quickly. Pack my box with five dozen liquor jugs.";

/* ---------------------------------------------------- lifecycle tests */

static void
test_store_free_null_is_noop(void **state)
{
	(void)state;
	scpp_store_free(NULL);
	scpp_store_dict_free(NULL);
}

static void
test_store_create_rejects_bad_config_one_field_at_a_time(void **state)
{
	struct scpp_store_config c;
	(void)state;

	assert_null(scpp_store_create(NULL));
	assert_int_equal(errno, EINVAL);
#define BAD(field, val)                                                       \
	do {                                                                  \
		base_cfg(&c);                                                 \
		c.field = val;                                                \
		errno = 0;                                                    \
		assert_null(scpp_store_create(&c));                           \
		assert_int_equal(errno, EINVAL);                              \
		assert_int_equal(cmem.live_allocs, 0);                        \
	} while (0)
	BAD(max_entries, 0);
	BAD(max_entries, 1u << 31);
	BAD(max_map_entries, 1u << 31);
	BAD(max_value_len, 0);
	BAD(max_value_len, (uint64_t)UINT32_MAX + 1);
	BAD(oid_epoch, 0);
	BAD(oid_epoch, SCPP_OID_EPOCH_MAX + 1);
#undef BAD
	base_cfg(&c);
	done(mk(&c));
}

static void
test_store_create_failing_provider_leaks_nothing(void **state)
{
	struct scpp_store_config c;
	(void)state;

	base_cfg(&c);
	for (int n = 1; n <= 7; n++) {
		cmem.calls = 0;
		cmem.fail_at = n;
		errno = 0;
		assert_null(scpp_store_create(&c));
		assert_int_equal(errno, ENOMEM);
		assert_int_equal(cmem.live_allocs, 0);
	}
	cmem.fail_at = 0;
	done(mk(&c));
}

static void
test_store_mem_size_matches_what_create_takes(void **state)
{
	struct scpp_store_config c;
	struct scpp_store_stats st;
	struct scpp_store *s;
	(void)state;

	base_cfg(&c);
	s = mk(&c);
	scpp_store_stats_get(s, &st);
	assert_true(st.mem_bytes == scpp_store_mem_size(&c));
	assert_true(cmem.live_bytes == (int64_t)st.mem_bytes);
	done(s);
	c.max_entries = 0;
	assert_true(scpp_store_mem_size(&c) == 0);
}

/* ---------------------------------------------------- entity/triple tests */

static void
test_store_entity_create_get_set_delete(void **state)
{
	struct scpp_store_config c;
	struct scpp_value v, w = scpp_value_i64(-5);
	struct scpp_store *s;
	struct scpp_oid m;
	(void)state;

	base_cfg(&c);
	s = mk(&c);
	assert_int_equal(scpp_store_entity_create(s, SCPP_OID_NIL), -EINVAL);
	assert_int_equal(scpp_store_entity_create(s, E(1)), 0);
	assert_int_equal(scpp_store_entity_create(s, E(1)), -EEXIST);
	assert_true(scpp_store_entity_exists(s, E(1)));
	assert_false(scpp_store_entity_exists(s, E(2)));
	assert_int_equal(scpp_store_set(s, E(2), 1, &w), -ENOENT);
	assert_int_equal(scpp_store_set(s, E(1), 0, &w), -EINVAL);
	assert_int_equal(scpp_store_get(s, E(1), 0, &v), -EINVAL);
	assert_int_equal(scpp_store_get(s, E(1), 1, &v), -ENOENT);
	assert_int_equal(scpp_store_set(s, E(1), 1, &w), 0);
	assert_int_equal(scpp_store_get(s, E(1), 1, &v), 0);
	assert_value_eq(&v, &w);
	w = scpp_value_cstr(long_text);
	assert_int_equal(scpp_store_set(s, E(1), 1, &w), 0);
	assert_int_equal(scpp_store_get(s, E(1), 1, &v), 0);
	assert_value_eq(&v, &w);
	assert_ptr_not_equal(v.p, w.p); /* copied into the shard */
	assert_int_equal(scpp_store_entity_count(s, E(1)), 1);
	assert_int_equal(scpp_store_entity_count(s, E(2)), -ENOENT);
	assert_int_equal(scpp_store_del(s, E(1), 1), 0);
	assert_int_equal(scpp_store_del(s, E(1), 1), -ENOENT);
	assert_int_equal(scpp_store_entity_count(s, E(1)), 0);
	/* Minted OIDs carry the configured route and epoch. */
	assert_int_equal(scpp_store_entity_mint(s, &m), 0);
	assert_int_equal(scpp_oid_node(m), 7);
	assert_int_equal(scpp_oid_epoch(m), 3);
	assert_true(scpp_store_entity_exists(s, m));
	assert_int_equal(scpp_store_entity_mint(s, NULL), -EINVAL);
	/* Bad value types. */
	w.type = SCPP_VT_COUNT;
	assert_int_equal(scpp_store_set(s, E(1), 2, &w), -EINVAL);
	assert_int_equal(scpp_store_set(s, E(1), 2, NULL), -EINVAL);
	done(s);
}

static void
test_store_every_value_type_round_trips(void **state)
{
	struct scpp_store_config c;
	struct scpp_value vals[] = {
		scpp_value_nil(), scpp_value_bool(true), scpp_value_bool(false),
		scpp_value_i64(INT64_MIN), scpp_value_u64(UINT64_MAX),
		scpp_value_f64(-0.0), scpp_value_f64(1.5),
		scpp_value_oid(scpp_oid_make(1, 2, 3, 4, 5)),
		scpp_value_str("", 0), scpp_value_str("0123456789abcdef", 16),
		scpp_value_str(long_text, 17), scpp_value_bytes(long_text, sizeof(long_text)),
		scpp_value_bytes("", 0),
	};
	struct scpp_store *s;
	(void)state;

	base_cfg(&c);
	s = mk(&c);
	assert_int_equal(scpp_store_entity_create(s, E(1)), 0);
	for (unsigned int i = 0; i < SCPP_ARRAY_SIZE(vals); i++)
		assert_int_equal(scpp_store_set(s, E(1), 10 + i, &vals[i]), 0);
	for (unsigned int i = 0; i < SCPP_ARRAY_SIZE(vals); i++) {
		struct scpp_value v;

		assert_int_equal(scpp_store_get(s, E(1), 10 + i, &v), 0);
		assert_value_eq(&v, &vals[i]);
	}
	done(s);
}

static void
test_store_entity_delete_frees_everything(void **state)
{
	struct scpp_store_config c;
	struct scpp_store_stats st0, st;
	struct scpp_value k, v;
	struct scpp_store *s;
	char buf[64];
	(void)state;

	base_cfg(&c);
	s = mk(&c);
	scpp_store_stats_get(s, &st0);
	assert_int_equal(scpp_store_entity_create(s, E(1)), 0);
	assert_int_equal(scpp_store_entity_create(s, E(2)), 0);
	v = scpp_value_cstr(long_text);
	assert_int_equal(scpp_store_set(s, E(1), 1, &v), 0);
	assert_int_equal(scpp_store_set(s, E(2), 1, &v), 0);
	for (int i = 0; i < 100; i++) {
		snprintf(buf, sizeof(buf), "a rather long key number %d ....", i);
		k = scpp_value_cstr(buf);
		assert_int_equal(scpp_store_map_set(s, E(1), 2, &k, &v), 0);
	}
	assert_int_equal(scpp_store_entity_count(s, E(1)), 2);
	assert_int_equal(scpp_store_entity_delete(s, E(1)), 0);
	assert_int_equal(scpp_store_entity_delete(s, E(1)), -ENOENT);
	assert_false(scpp_store_entity_exists(s, E(1)));
	assert_int_equal(scpp_store_get(s, E(1), 1, &v), -ENOENT);
	assert_int_equal(scpp_store_map_get(s, E(1), 2, &k, &v), -ENOENT);
	assert_int_equal(scpp_store_entity_delete(s, E(2)), 0);
	scpp_store_stats_get(s, &st);
	assert_true(st.entities == 0 && st.triples == 0 && st.maps == 0 && st.map_entries == 0);
	assert_true(st.extent_used == 0 && st.extent_payload == 0);
	assert_true(st.load_factor == 0 && st.map_load_factor == 0);
	assert_true(st.overflow_buckets == 0 && st.map_overflow_buckets == 0);
	assert_memory_equal(st.class_free, st0.class_free, sizeof(st.class_free));
	/* Recreating the entity finds no dangling map entries. */
	assert_int_equal(scpp_store_entity_create(s, E(1)), 0);
	assert_int_equal(scpp_store_map_count(s, E(1), 2), -ENOENT);
	assert_int_equal(scpp_store_map_set(s, E(1), 2, &k, &v), 0);
	assert_int_equal(scpp_store_map_count(s, E(1), 2), 1);
	done(s);
}

static void
test_store_attr_iter_is_insertion_order_with_cursor(void **state)
{
	struct scpp_store_config c;
	struct scpp_store_attr out[3];
	struct scpp_store *s;
	uint32_t order[] = {9, 3, 7, 1, 5, 2, 8};
	uint32_t got[16];
	unsigned int ng = 0;
	uint64_t cur = 0;
	int n;
	(void)state;

	base_cfg(&c);
	s = mk(&c);
	assert_int_equal(scpp_store_entity_create(s, E(1)), 0);
	for (unsigned int i = 0; i < SCPP_ARRAY_SIZE(order); i++) {
		struct scpp_value v = scpp_value_u64(order[i]);

		assert_int_equal(scpp_store_set(s, E(1), order[i], &v), 0);
	}
	/* Re-setting keeps the position; delete + re-add moves to the end. */
	{
		struct scpp_value v = scpp_value_u64(3), k = scpp_value_u64(1);

		assert_int_equal(scpp_store_set(s, E(1), 3, &v), 0);
		assert_int_equal(scpp_store_del(s, E(1), 7), 0);
		assert_int_equal(scpp_store_map_set(s, E(1), 7, &k, &v), 0);
	}
	while ((n = scpp_store_attr_iter(s, E(1), &cur, out, 3)) > 0) {
		for (int i = 0; i < n; i++) {
			got[ng++] = out[i].attr;
			assert_int_equal(out[i].is_map, out[i].attr == 7);
			if (out[i].is_map)
				assert_int_equal(out[i].map_count, 1);
			else
				assert_true(out[i].value.u == out[i].attr);
		}
	}
	assert_int_equal(n, 0);
	assert_true(cur == UINT64_MAX);
	assert_int_equal(ng, 7);
	{
		uint32_t want[] = {9, 3, 1, 5, 2, 8, 7};

		assert_memory_equal(got, want, sizeof(want));
	}
	cur = 0;
	assert_int_equal(scpp_store_attr_iter(s, E(2), &cur, out, 3), -ENOENT);
	assert_int_equal(scpp_store_attr_iter(s, E(1), NULL, out, 3), -EINVAL);
	assert_int_equal(scpp_store_attr_iter(s, E(1), &cur, NULL, 3), -EINVAL);
	assert_int_equal(scpp_store_attr_iter(s, E(1), &cur, out, 0), 0);
	done(s);
}

static void
test_store_entity_iter_survives_mutation_between_calls(void **state)
{
	struct scpp_store_config c;
	struct scpp_value v = scpp_value_u64(1);
	struct scpp_oid out[7];
	bool seen[100] = {false};
	struct scpp_store *s;
	uint64_t cur = 0;
	int n, total = 0;
	(void)state;

	base_cfg(&c);
	s = mk(&c);
	cur = 0;
	assert_int_equal(scpp_store_entity_iter(s, &cur, out, 7), 0);
	assert_true(cur == UINT64_MAX);
	for (int i = 0; i < 100; i++) {
		assert_int_equal(scpp_store_entity_create(s, E(i)), 0);
		assert_int_equal(scpp_store_set(s, E(i), 1 + (uint32_t)(i % 3), &v), 0);
	}
	cur = 0;
	while ((n = scpp_store_entity_iter(s, &cur, out, 7)) > 0) {
		for (int i = 0; i < n; i++) {
			uint64_t e = scpp_oid_counter(out[i]) - 1000;

			assert_true(e < 100 && !seen[e]);
			seen[e] = true;
			total++;
		}
		/* Deleting entities ahead of the cursor: they are skipped. */
		if (total == 7)
			for (int d = 90; d < 100; d++)
				assert_int_equal(scpp_store_entity_delete(s, E(d)), 0);
	}
	assert_int_equal(total, 90);
	for (int i = 0; i < 90; i++)
		assert_true(seen[i]);
	assert_int_equal(scpp_store_entity_iter(s, NULL, out, 7), -EINVAL);
	assert_int_equal(scpp_store_entity_iter(s, &cur, NULL, 7), -EINVAL);
	done(s);
}

/* ---------------------------------------------------------- fill tests */

static void
test_store_table_full_is_enospc_and_changes_nothing(void **state)
{
	struct scpp_store_config c;
	struct scpp_value v = scpp_value_u64(1), k = scpp_value_u64(2), got;
	struct scpp_store *s;
	struct snap sn;
	struct scpp_oid m;
	int i;
	(void)state;

	base_cfg(&c);
	c.max_entries = 100;
	s = mk(&c);
	for (i = 0; i < 50; i++)
		assert_int_equal(scpp_store_entity_create(s, E(i)), 0);
	for (i = 0; i < 50; i++)
		assert_int_equal(scpp_store_set(s, E(i), 1, &v), 0);
	snap_take(s, &sn);
	assert_int_equal(scpp_store_entity_create(s, E(99)), -ENOSPC);
	assert_int_equal(scpp_store_entity_mint(s, &m), -ENOSPC);
	assert_int_equal(scpp_store_set(s, E(0), 2, &v), -ENOSPC);
	assert_int_equal(scpp_store_map_set(s, E(0), 3, &k, &v), -ENOSPC);
	assert_int_equal(scpp_store_map_create(s, E(0), 3), -ENOSPC);
	assert_int_equal(scpp_store_bytes_alloc(s, E(0), 4, SCPP_VT_BYTES, 100), -ENOSPC);
	assert_snap_same(s, &sn);
	assert_false(scpp_store_entity_exists(s, E(99)));
	/* Replacing an existing value needs no entry. */
	v = scpp_value_u64(77);
	assert_int_equal(scpp_store_set(s, E(3), 1, &v), 0);
	assert_int_equal(scpp_store_get(s, E(3), 1, &got), 0);
	assert_value_eq(&got, &v);
	{
		struct scpp_store_stats st;

		scpp_store_stats_get(s, &st);
		assert_true(st.saturation == 1.0);
		/* The triple index is sized to 60 % slot load at max_entries. */
		assert_true(st.load_factor > 0.55 && st.load_factor <= 0.60);
	}
	/* The minting counter was not consumed by the failures. */
	assert_int_equal(scpp_store_del(s, E(0), 1), 0);
	assert_int_equal(scpp_store_entity_mint(s, &m), 0);
	assert_true(scpp_oid_counter(m) == 1);
	done(s);
}

static void
test_store_extent_full_is_enospc_and_changes_nothing(void **state)
{
	struct scpp_store_config c;
	static uint8_t big[4096];
	struct scpp_value v, got, k;
	struct scpp_store *s;
	struct snap sn;
	int i;
	(void)state;

	base_cfg(&c);
	c.extent_bytes = 16384;
	c.max_value_len = 8192;
	s = mk(&c);
	memset(big, 0xab, sizeof(big));
	assert_int_equal(scpp_store_entity_create(s, E(1)), 0);
	v = scpp_value_bytes(big, 4096);
	for (i = 1; i <= 4; i++)
		assert_int_equal(scpp_store_set(s, E(1), i, &v), 0);
	snap_take(s, &sn);
	assert_int_equal(scpp_store_set(s, E(1), 5, &v), -ENOSPC);
	v = scpp_value_bytes(big, 17);
	assert_int_equal(scpp_store_set(s, E(1), 5, &v), -ENOSPC);
	/* Replacing with a value of another class needs a new extent. */
	assert_int_equal(scpp_store_set(s, E(1), 2, &v), -ENOSPC);
	assert_int_equal(scpp_store_bytes_resize(s, E(1), 1, 8192), -ENOSPC);
	k = scpp_value_bytes(big, 40);
	assert_int_equal(scpp_store_map_set(s, E(1), 9, &k, &v), -ENOSPC);
	assert_snap_same(s, &sn);
	assert_int_equal(scpp_store_get(s, E(1), 2, &got), 0);
	assert_int_equal(got.len, 4096);
	assert_memory_equal(got.p, big, 4096);
	assert_int_equal(scpp_store_get(s, E(1), 5, &got), -ENOENT);
	assert_int_equal(scpp_store_map_count(s, E(1), 9), -ENOENT);
	/* Short values still fit inline. */
	v = scpp_value_bytes(big, 16);
	assert_int_equal(scpp_store_set(s, E(1), 5, &v), 0);
	/* A shrink that cannot move stays in place. */
	assert_int_equal(scpp_store_bytes_resize(s, E(1), 1, 100), 0);
	assert_int_equal(scpp_store_get(s, E(1), 1, &got), 0);
	assert_int_equal(got.len, 100);
	done(s);
}

static void
test_store_value_too_large_is_e2big(void **state)
{
	struct scpp_store_config c;
	static uint8_t big[1025];
	struct scpp_value v, k = scpp_value_u64(1);
	struct scpp_store *s;
	struct snap sn;
	(void)state;

	base_cfg(&c);
	c.max_value_len = 1024;
	s = mk(&c);
	assert_int_equal(scpp_store_entity_create(s, E(1)), 0);
	v = scpp_value_bytes(big, 1024);
	assert_int_equal(scpp_store_set(s, E(1), 1, &v), 0);
	snap_take(s, &sn);
	v = scpp_value_bytes(big, 1025);
	assert_int_equal(scpp_store_set(s, E(1), 1, &v), -E2BIG);
	assert_int_equal(scpp_store_set(s, E(1), 2, &v), -E2BIG);
	assert_int_equal(scpp_store_map_set(s, E(1), 3, &k, &v), -E2BIG);
	assert_int_equal(scpp_store_map_set(s, E(1), 3, &v, &k), -E2BIG);
	assert_int_equal(scpp_store_bytes_alloc(s, E(1), 2, SCPP_VT_STR, 1025), -E2BIG);
	assert_int_equal(scpp_store_bytes_resize(s, E(1), 1, 1025), -E2BIG);
	assert_int_equal(scpp_store_bytes_resize(s, E(1), 1, UINT64_MAX), -E2BIG);
	{
		uint64_t len[] = {1025};
		struct scpp_store_need need = {0, 0, len, 1};

		assert_int_equal(scpp_store_fits(s, &need), -E2BIG);
	}
	assert_snap_same(s, &sn);
	done(s);
}

static void
test_store_map_entries_full_is_enospc(void **state)
{
	struct scpp_store_config c;
	struct scpp_value k, v = scpp_value_cstr(long_text);
	struct scpp_store *s;
	struct snap sn;
	(void)state;

	base_cfg(&c);
	c.max_map_entries = 5;
	s = mk(&c);
	assert_int_equal(scpp_store_entity_create(s, E(1)), 0);
	for (int i = 0; i < 5; i++) {
		k = scpp_value_i64(i);
		assert_int_equal(scpp_store_map_set(s, E(1), 1, &k, &v), 0);
	}
	snap_take(s, &sn);
	k = scpp_value_i64(5);
	assert_int_equal(scpp_store_map_set(s, E(1), 1, &k, &v), -ENOSPC);
	assert_int_equal(scpp_store_map_set(s, E(1), 2, &k, &v), -ENOSPC);
	assert_snap_same(s, &sn);
	assert_int_equal(scpp_store_map_count(s, E(1), 2), -ENOENT);
	/* Replacing an existing key needs no map entry. */
	k = scpp_value_i64(4);
	assert_int_equal(scpp_store_map_set(s, E(1), 1, &k, &k), 0);
	done(s);

	/* A shard with no map entries at all. */
	c.max_map_entries = 0;
	s = mk(&c);
	assert_int_equal(scpp_store_entity_create(s, E(1)), 0);
	assert_int_equal(scpp_store_map_set(s, E(1), 1, &k, &v), -ENOSPC);
	assert_int_equal(scpp_store_map_create(s, E(1), 1), 0);
	assert_int_equal(scpp_store_map_get(s, E(1), 1, &k, &v), -ENOENT);
	done(s);
}

static void
test_store_fits_is_exact_for_extent_sequences(void **state)
{
	struct scpp_store_config c;
	struct scpp_store *s;
	uint64_t seed = 7;
	static uint8_t buf[8192];
	(void)state;

	base_cfg(&c);
	c.extent_bytes = 65536;
	c.max_value_len = 8192;
	c.max_entries = 4096;
	for (int round = 0; round < 200; round++) {
		uint64_t len[24];
		unsigned int n = 1 + (unsigned int)test_rand_below(&seed, 24);
		struct scpp_store_need need = {0, 0, len, n};
		unsigned int ok = 0;
		int fit;

		s = mk(&c);
		assert_int_equal(scpp_store_entity_create(s, E(1)), 0);
		/* Pre-fragment: allocate and free some values. */
		for (unsigned int i = 0; i < 12; i++) {
			struct scpp_value v = scpp_value_bytes(buf, (uint32_t)(17 + test_rand_below(&seed, 4000)));

			(void)scpp_store_set(s, E(1), 100 + i, &v);
		}
		for (unsigned int i = 0; i < 12; i += 2)
			(void)scpp_store_del(s, E(1), 100 + i);
		for (unsigned int i = 0; i < n; i++)
			len[i] = test_rand_below(&seed, 8193);
		need.entries = n;
		fit = scpp_store_fits(s, &need);
		for (unsigned int i = 0; i < n; i++) {
			struct scpp_value v = scpp_value_bytes(buf, (uint32_t)len[i]);

			if (scpp_store_set(s, E(1), 1 + i, &v) != 0)
				break;
			ok++;
		}
		if (fit == 0)
			assert_int_equal(ok, n);
		else
			assert_true(fit == -ENOSPC && ok < n);
		done(s);
	}
	s = mk(&c);
	{
		struct scpp_store_need need = {5000, 0, NULL, 0};

		assert_int_equal(scpp_store_fits(s, &need), -ENOSPC);
		need.entries = 4096;
		assert_int_equal(scpp_store_fits(s, &need), 0);
		need.n_extents = 1;
		assert_int_equal(scpp_store_fits(s, &need), -EINVAL);
		need.map_entries = 1025;
		need.n_extents = 0;
		assert_int_equal(scpp_store_fits(s, &need), -ENOSPC);
		assert_int_equal(scpp_store_fits(s, NULL), -EINVAL);
	}
	done(s);
}

/* ---------------------------------------------------------- dictionary */

static void
test_store_dict_intern_lookup_name_and_full(void **state)
{
	struct scpp_store_dict_config dc = {3, 12, -1, &cm_ops};
	struct scpp_store_dict *d;
	size_t len;
	(void)state;

	assert_null(scpp_store_dict_create(NULL));
	dc.max_attrs = 0;
	assert_null(scpp_store_dict_create(&dc));
	dc.max_attrs = 3;
	dc.name_bytes = 0;
	assert_null(scpp_store_dict_create(&dc));
	dc.name_bytes = 12;
	d = scpp_store_dict_create(&dc);
	assert_non_null(d);
	assert_int_equal(scpp_store_dict_count(d), 0);
	assert_int_equal(scpp_store_dict_intern(d, "name", 4), 1);
	assert_int_equal(scpp_store_dict_intern(d, "size", 4), 2);
	assert_int_equal(scpp_store_dict_intern(d, "name", 4), 1);
	assert_int_equal(scpp_store_dict_lookup(d, "size", 4), 2);
	assert_int_equal(scpp_store_dict_lookup(d, "sizes", 5), -ENOENT);
	assert_int_equal(scpp_store_dict_lookup(d, "siz", 3), -ENOENT);
	assert_string_equal(scpp_store_dict_name(d, 2, &len), "size");
	assert_int_equal(len, 4);
	assert_null(scpp_store_dict_name(d, 0, NULL));
	assert_null(scpp_store_dict_name(d, 3, NULL));
	/* 10 bytes used of 12: "ab" needs 3. */
	assert_int_equal(scpp_store_dict_intern(d, "ab", 2), -ENOSPC);
	assert_int_equal(scpp_store_dict_count(d), 2);
	assert_int_equal(scpp_store_dict_lookup(d, "ab", 2), -ENOENT);
	assert_int_equal(scpp_store_dict_intern(d, "a", 1), 3);
	/* Out of ids. */
	assert_int_equal(scpp_store_dict_intern(d, "b", 1), -ENOSPC);
	assert_int_equal(scpp_store_dict_count(d), 3);
	assert_int_equal(scpp_store_dict_intern(d, NULL, 1), -EINVAL);
	assert_int_equal(scpp_store_dict_intern(d, "x", 0), -EINVAL);
	assert_int_equal(scpp_store_dict_intern(d, long_text, 256), -EINVAL);
	assert_int_equal(scpp_store_dict_lookup(d, NULL, 1), -EINVAL);
	scpp_store_dict_free(d);
	assert_int_equal(cmem.live_allocs, 0);
}

/* Two threads intern the same names in opposite orders, lock-free: they
 * agree on every id, and every name is counted once. */
struct dict_race {
	struct scpp_store_dict *d;
	int dir;
	int64_t id[4000];
};

static void *
dict_race_thread(void *arg)
{
	struct dict_race *r = arg;
	char buf[32];

	for (int k = 0; k < 4000; k++) {
		int i = r->dir ? 3999 - k : k;
		int n = snprintf(buf, sizeof(buf), "race-%d", i / 2);

		r->id[i] = scpp_store_dict_intern(r->d, buf, (size_t)n);
	}
	return NULL;
}

static void
test_store_dict_concurrent_writers_agree(void **state)
{
	struct scpp_store_dict_config dc = {8000, 200000, -1, &cm_ops};
	static struct dict_race a, b;
	pthread_t ta, tb;
	(void)state;

	a.d = b.d = scpp_store_dict_create(&dc);
	assert_non_null(a.d);
	a.dir = 0;
	b.dir = 1;
	assert_int_equal(pthread_create(&ta, NULL, dict_race_thread, &a), 0);
	assert_int_equal(pthread_create(&tb, NULL, dict_race_thread, &b), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	for (int i = 0; i < 4000; i++) {
		char buf[32];
		size_t len = 0;
		int n = snprintf(buf, sizeof(buf), "race-%d", i / 2);

		assert_true(a.id[i] > 0);
		assert_true(a.id[i] == b.id[i]);
		assert_true(a.id[i] == a.id[i ^ 1]);
		assert_string_equal(scpp_store_dict_name(a.d, (uint32_t)a.id[i], &len), buf);
		assert_int_equal(len, n);
	}
	assert_int_equal(scpp_store_dict_count(a.d), 2000);
	scpp_store_dict_free(a.d);
	assert_int_equal(cmem.live_allocs, 0);
}

static void
test_store_dict_many_names_round_trip(void **state)
{
	struct scpp_store_dict_config dc = {100000, 2000000, -1, &cm_ops};
	struct scpp_store_dict *d = scpp_store_dict_create(&dc);
	char buf[32];
	(void)state;

	assert_non_null(d);
	for (int i = 0; i < 100000; i++) {
		int n = snprintf(buf, sizeof(buf), "attr.%d", i);

		assert_int_equal(scpp_store_dict_intern(d, buf, (size_t)n), i + 1);
	}
	for (int i = 0; i < 100000; i += 7) {
		int n = snprintf(buf, sizeof(buf), "attr.%d", i);

		assert_int_equal(scpp_store_dict_lookup(d, buf, (size_t)n), i + 1);
		assert_string_equal(scpp_store_dict_name(d, (uint32_t)i + 1, NULL), buf);
	}
	scpp_store_dict_free(d);
	assert_int_equal(cmem.live_allocs, 0);
}

/* ------------------------------------------------------ map boundaries */

static void
test_store_map_keys_of_every_type_are_distinct(void **state)
{
	struct scpp_store_config c;
	struct scpp_value keys[] = {
		scpp_value_nil(), scpp_value_bool(false), scpp_value_bool(true),
		scpp_value_i64(5), scpp_value_u64(5), scpp_value_f64(0.0),
		scpp_value_f64(-0.0), scpp_value_oid(E(5)), scpp_value_str("", 0),
		scpp_value_bytes("", 0), scpp_value_str("5", 1),
		scpp_value_str(long_text, 40), scpp_value_bytes(long_text, 40),
		scpp_value_str(long_text, 41),
	};
	struct scpp_value k[SCPP_ARRAY_SIZE(keys)], v[SCPP_ARRAY_SIZE(keys)], got;
	struct scpp_store *s;
	uint64_t cur = 0;
	int n;
	(void)state;

	base_cfg(&c);
	s = mk(&c);
	assert_int_equal(scpp_store_entity_create(s, E(1)), 0);
	for (unsigned int i = 0; i < SCPP_ARRAY_SIZE(keys); i++) {
		struct scpp_value val = scpp_value_u64(i);

		assert_int_equal(scpp_store_map_set(s, E(1), 1, &keys[i], &val), 0);
	}
	assert_int_equal(scpp_store_map_count(s, E(1), 1), SCPP_ARRAY_SIZE(keys));
	for (unsigned int i = 0; i < SCPP_ARRAY_SIZE(keys); i++) {
		assert_int_equal(scpp_store_map_get(s, E(1), 1, &keys[i], &got), 0);
		assert_true(got.u == i);
	}
	n = scpp_store_map_iter(s, E(1), 1, &cur, k, v, SCPP_ARRAY_SIZE(keys));
	assert_int_equal(n, SCPP_ARRAY_SIZE(keys));
	for (int i = 0; i < n; i++) {
		assert_value_eq(&k[i], &keys[i]);
		assert_true(v[i].u == (uint64_t)i);
	}
	assert_int_equal(scpp_store_map_iter(s, E(1), 1, &cur, k, v, 4), 0);
	/* Map vs plain-value misuse. */
	got = scpp_value_u64(1);
	assert_int_equal(scpp_store_set(s, E(1), 1, &got), -EMEDIUMTYPE);
	assert_int_equal(scpp_store_get(s, E(1), 1, &got), -EMEDIUMTYPE);
	assert_int_equal(scpp_store_map_create(s, E(1), 1), -EEXIST);
	assert_int_equal(scpp_store_set(s, E(1), 2, &got), 0);
	assert_int_equal(scpp_store_map_set(s, E(1), 2, &got, &got), -EMEDIUMTYPE);
	assert_int_equal(scpp_store_map_get(s, E(1), 2, &got, &got), -EMEDIUMTYPE);
	assert_int_equal(scpp_store_map_del(s, E(1), 2, &got), -EMEDIUMTYPE);
	assert_int_equal(scpp_store_map_count(s, E(1), 2), -EMEDIUMTYPE);
	assert_int_equal(scpp_store_map_count(s, E(1), 3), -ENOENT);
	assert_int_equal(scpp_store_map_create(s, E(1), 2), -EEXIST);
	assert_int_equal(scpp_store_map_create(s, E(9), 2), -ENOENT);
	assert_int_equal(scpp_store_map_set(s, E(9), 2, &got, &got), -ENOENT);
	/* Deleting a key leaves the (empty) map. */
	for (unsigned int i = 0; i < SCPP_ARRAY_SIZE(keys); i++)
		assert_int_equal(scpp_store_map_del(s, E(1), 1, &keys[i]), 0);
	assert_int_equal(scpp_store_map_del(s, E(1), 1, &keys[0]), -ENOENT);
	assert_int_equal(scpp_store_map_count(s, E(1), 1), 0);
	cur = 0;
	assert_int_equal(scpp_store_map_iter(s, E(1), 1, &cur, k, v, 4), 0);
	assert_int_equal(scpp_store_del(s, E(1), 1), 0);
	assert_int_equal(scpp_store_map_count(s, E(1), 1), -ENOENT);
	done(s);
}

static void
test_store_map_with_a_million_entries_enumerates_in_order(void **state)
{
	struct scpp_store_config c;
	struct scpp_store_stats st;
	struct scpp_value k[256], v[256];
	struct scpp_store *s;
	uint64_t cur = 0, next = 0;
	const uint32_t N = 1000000;
	int n;
	(void)state;

	base_cfg(&c);
	c.max_map_entries = N;
	s = mk(&c);
	assert_int_equal(scpp_store_entity_create(s, E(1)), 0);
	/* Keys in a scrambled order; enumeration must follow insertion. */
	for (uint32_t i = 0; i < N; i++) {
		struct scpp_value key = scpp_value_u64((uint64_t)i * 2654435761u % N);
		struct scpp_value val = scpp_value_u64(i);

		assert_int_equal(scpp_store_map_set(s, E(1), 1, &key, &val), 0);
	}
	assert_int_equal(scpp_store_map_count(s, E(1), 1), N);
	while ((n = scpp_store_map_iter(s, E(1), 1, &cur, k, v, 256)) > 0) {
		for (int i = 0; i < n; i++, next++) {
			assert_true(v[i].u == next);
			assert_true(k[i].u == next * 2654435761u % N);
		}
	}
	assert_true(next == N);
	for (uint32_t i = 0; i < N; i += 997) {
		struct scpp_value key = scpp_value_u64((uint64_t)i * 2654435761u % N), got;

		assert_int_equal(scpp_store_map_get(s, E(1), 1, &key, &got), 0);
		assert_true(got.u == i);
	}
	scpp_store_stats_get(s, &st);
	assert_true(st.map_entries == N);
	assert_true(st.map_load_factor > 0.8 && st.map_load_factor <= 0.85);
	assert_true(st.saturation == 1.0);
	assert_int_equal(scpp_store_entity_delete(s, E(1)), 0);
	scpp_store_stats_get(s, &st);
	assert_true(st.map_entries == 0 && st.map_load_factor == 0 && st.map_overflow_buckets == 0);
	done(s);
}

/* ------------------------------------------------- byte-range boundaries */

static void
check_ranges(struct scpp_store *s, uint32_t attr, uint64_t len)
{
	static uint8_t buf[70000], back[70000];
	struct { uint64_t off, len; int rc; } cases[] = {
		{0, 0, 0}, {0, len, 0}, {len, 0, 0}, {len, 1, -ERANGE},
		{0, len + 1, -ERANGE}, {len + 1, 0, -ERANGE},
		{1, UINT64_MAX, -ERANGE}, {UINT64_MAX, 2, -ERANGE},
		{UINT64_MAX, 0, -ERANGE}, {len / 2, len - len / 2, 0},
		{len / 2, len - len / 2 + 1, -ERANGE},
	};

	for (unsigned int i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + attr);
	for (unsigned int i = 0; i < SCPP_ARRAY_SIZE(cases); i++) {
		assert_int_equal(scpp_store_bytes_write(s, E(1), attr, cases[i].off,
							cases[i].len, buf), cases[i].rc);
		if (cases[i].rc == 0 && cases[i].len > 0) {
			assert_int_equal(scpp_store_bytes_read(s, E(1), attr, cases[i].off,
							       cases[i].len, back), 0);
			assert_memory_equal(back, buf, cases[i].len);
		} else {
			assert_int_equal(scpp_store_bytes_read(s, E(1), attr, cases[i].off,
							       cases[i].len, back), cases[i].rc);
		}
	}
}

static void
test_store_byte_range_boundaries(void **state)
{
	struct scpp_store_config c;
	struct scpp_value v;
	struct scpp_store *s;
	uint8_t zero[4096] = {0}, b[4096];
	/* 0..8 bytes live in the hot part, 9..16 in the cold part, more in an
	 * extent (docs/STORE.md "Layout"). */
	uint64_t lens[] = {0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 4096, 65535, 65536};
	(void)state;

	base_cfg(&c);
	c.max_value_len = 65536;
	s = mk(&c);
	assert_int_equal(scpp_store_entity_create(s, E(1)), 0);
	for (unsigned int i = 0; i < SCPP_ARRAY_SIZE(lens); i++) {
		assert_int_equal(scpp_store_bytes_alloc(s, E(1), 1 + i, SCPP_VT_BYTES, lens[i]), 0);
		assert_int_equal(scpp_store_get(s, E(1), 1 + i, &v), 0);
		assert_int_equal(v.type, SCPP_VT_BYTES);
		assert_true(v.len == lens[i]);
		for (uint64_t j = 0; j < lens[i]; j += 4096)
			assert_memory_equal(v.p + j, zero, SCPP_MIN(4096, lens[i] - j));
		check_ranges(s, 1 + i, lens[i]);
	}
	/* max and max + 1. */
	assert_int_equal(scpp_store_bytes_alloc(s, E(1), 50, SCPP_VT_STR, 65537), -E2BIG);
	assert_int_equal(scpp_store_bytes_alloc(s, E(1), 50, SCPP_VT_NIL, 5), -EINVAL);
	/* Resize across inline/extent/class boundaries keeps the prefix and zero-fills. */
	assert_int_equal(scpp_store_bytes_alloc(s, E(1), 60, SCPP_VT_BYTES, 10), 0);
	memset(b, 0x5a, sizeof(b));
	assert_int_equal(scpp_store_bytes_write(s, E(1), 60, 0, 10, b), 0);
	{
		uint64_t steps[] = {16, 17, 100, 4096, 65536, 3000, 100, 17, 16, 9, 8, 3, 0,
				    12, 5, 9, 40, 8, 4, 16, 7};
		uint64_t cur = 10, keep = 10;

		for (unsigned int i = 0; i < SCPP_ARRAY_SIZE(steps); i++) {
			uint64_t n = steps[i];

			assert_int_equal(scpp_store_bytes_resize(s, E(1), 60, n), 0);
			assert_int_equal(scpp_store_get(s, E(1), 60, &v), 0);
			assert_true(v.len == n);
			keep = SCPP_MIN(keep, n);
			assert_memory_equal(v.p, b, keep);
			for (uint64_t j = keep; j < n; j++)
				assert_int_equal(v.p[j], 0);
			cur = n;
		}
		(void)cur;
	}
	assert_int_equal(scpp_store_bytes_resize(s, E(1), 60, 65537), -E2BIG);
	/* Byte ops on non-byte values and maps. */
	v = scpp_value_u64(3);
	assert_int_equal(scpp_store_set(s, E(1), 70, &v), 0);
	assert_int_equal(scpp_store_bytes_read(s, E(1), 70, 0, 0, b), -EMEDIUMTYPE);
	assert_int_equal(scpp_store_bytes_write(s, E(1), 70, 0, 0, b), -EMEDIUMTYPE);
	assert_int_equal(scpp_store_bytes_resize(s, E(1), 70, 1), -EMEDIUMTYPE);
	assert_int_equal(scpp_store_map_create(s, E(1), 71), 0);
	assert_int_equal(scpp_store_bytes_read(s, E(1), 71, 0, 0, b), -EMEDIUMTYPE);
	assert_int_equal(scpp_store_bytes_alloc(s, E(1), 71, SCPP_VT_BYTES, 1), -EMEDIUMTYPE);
	assert_int_equal(scpp_store_bytes_read(s, E(1), 72, 0, 0, b), -ENOENT);
	assert_int_equal(scpp_store_bytes_read(s, E(1), 1 + 4, 0, 1, NULL), -EINVAL);
	done(s);
}

static void
test_store_pinned_extent_is_stable_and_blocks_moves(void **state)
{
	struct scpp_store_config c;
	struct scpp_value v = scpp_value_cstr(long_text), w = scpp_value_u64(1);
	struct scpp_store_stats st;
	struct scpp_store *s;
	void *p, *q, *base;
	size_t blen;
	(void)state;

	base_cfg(&c);
	s = mk(&c);
	assert_int_equal(scpp_store_entity_create(s, E(1)), 0);
	assert_int_equal(scpp_store_set(s, E(1), 1, &v), 0);
	assert_int_equal(scpp_store_set(s, E(1), 2, &w), 0);
	assert_int_equal(scpp_store_bytes_ptr(s, E(1), 1, 4, 10, &p), 0);
	assert_memory_equal(p, long_text + 4, 10);
	scpp_store_mem_region(s, &base, &blen);
	assert_true((uint8_t *)p >= (uint8_t *)base && (uint8_t *)p < (uint8_t *)base + blen);
	assert_int_equal(scpp_store_bytes_ptr(s, E(1), 1, 4, sizeof(long_text), &p), -ERANGE);
	assert_int_equal(scpp_store_bytes_ptr(s, E(1), 2, 0, 0, &p), -EMEDIUMTYPE);
	assert_int_equal(scpp_store_bytes_pin(s, E(1), 2), -EMEDIUMTYPE);
	assert_int_equal(scpp_store_bytes_unpin(s, E(1), 1), -EINVAL);
	assert_int_equal(scpp_store_bytes_pin(s, E(1), 1), 0);
	assert_int_equal(scpp_store_bytes_pin(s, E(1), 1), 0);
	scpp_store_stats_get(s, &st);
	assert_true(st.pinned == 1);
	assert_int_equal(scpp_store_set(s, E(1), 1, &w), -EBUSY);
	assert_int_equal(scpp_store_del(s, E(1), 1), -EBUSY);
	assert_int_equal(scpp_store_entity_delete(s, E(1)), -EBUSY);
	assert_int_equal(scpp_store_clear(s), -EBUSY);
	assert_int_equal(scpp_store_bytes_resize(s, E(1), 1, 4000), -EBUSY);
	assert_int_equal(scpp_store_bytes_resize(s, E(1), 1, 3), -EBUSY);
	/* In-capacity resize and writes are fine and do not move the data. */
	assert_int_equal(scpp_store_bytes_resize(s, E(1), 1, 20), 0);
	assert_int_equal(scpp_store_bytes_write(s, E(1), 1, 0, 3, "xyz"), 0);
	assert_int_equal(scpp_store_bytes_ptr(s, E(1), 1, 4, 10, &q), 0);
	assert_ptr_equal(p, q);
	assert_true(scpp_store_entity_exists(s, E(1)));
	assert_int_equal(scpp_store_entity_count(s, E(1)), 2);
	assert_int_equal(scpp_store_bytes_unpin(s, E(1), 1), 0);
	assert_int_equal(scpp_store_bytes_unpin(s, E(1), 1), 0);
	assert_int_equal(scpp_store_entity_delete(s, E(1)), 0);
	scpp_store_stats_get(s, &st);
	assert_true(st.pinned == 0 && st.extent_used == 0);
	assert_int_equal(scpp_store_clear(s), 0);
	done(s);
}

/* ---------------------------------------------------------- bursts */

static const unsigned int burst_sizes[] = {
	0, 1, SCPP_STORE_BURST_UNROLL - 1, SCPP_STORE_BURST_UNROLL,
	SCPP_STORE_BURST_UNROLL + 1, SCPP_STORE_BURST_MAX,
};

static struct scpp_store *
burst_shard(void)
{
	struct scpp_store_config c;
	struct scpp_store *s;

	base_cfg(&c);
	s = mk(&c);
	/* Entities 0..15, attrs 1..6; odd (entity + attr) present; attr 6 of
	 * entity 3 a map; attr 5 long strings. Entity 16 does not exist. */
	for (int e = 0; e < 16; e++) {
		assert_int_equal(scpp_store_entity_create(s, E(e)), 0);
		for (int a = 1; a <= 6; a++) {
			struct scpp_value v = a == 5 ? scpp_value_str(long_text, (uint32_t)(20 + e))
						     : scpp_value_u64((uint64_t)e * 100 + a);

			if ((e + a) % 2 == 0)
				continue;
			if (e == 3 && a == 6)
				assert_int_equal(scpp_store_map_create(s, E(e), a), 0);
			else
				assert_int_equal(scpp_store_set(s, E(e), a, &v), 0);
		}
	}
	return s;
}

static void
test_store_get_burst_sizes_with_mixed_keys(void **state)
{
	struct scpp_store *s = burst_shard();
	struct scpp_store_key keys[SCPP_STORE_BURST_MAX + 1];
	struct scpp_value vals[SCPP_STORE_BURST_MAX + 1], one;
	uint64_t seed = 11, mask;
	(void)state;

	for (unsigned int t = 0; t < SCPP_ARRAY_SIZE(burst_sizes); t++) {
		for (int rep = 0; rep < 50; rep++) {
			unsigned int n = burst_sizes[t];

			for (unsigned int i = 0; i < n; i++) {
				keys[i].oid = E(test_rand_below(&seed, 17));
				keys[i].attr = (uint32_t)test_rand_below(&seed, 8);
				keys[i].rsv = 0;
			}
			if (n > 2)
				keys[n - 1] = keys[0]; /* repeats are fine */
			memset(vals, 0xee, sizeof(vals));
			assert_int_equal(scpp_store_get_burst(s, keys, n, vals, &mask), n);
			for (unsigned int i = 0; i < n; i++) {
				int rc = keys[i].attr == 0 ? -ENOENT :
					 scpp_store_get(s, keys[i].oid, keys[i].attr, &one);

				assert_int_equal((mask >> i) & 1, rc == 0);
				if (rc == 0)
					assert_value_eq(&vals[i], &one);
			}
			assert_true(n == 64 || (mask >> n) == 0);
		}
	}
	/* max + 1 fails as a whole: nothing processed, nothing written. */
	memset(vals, 0xee, sizeof(vals));
	for (unsigned int i = 0; i <= SCPP_STORE_BURST_MAX; i++)
		keys[i] = (struct scpp_store_key){E(0), 1, 0};
	assert_int_equal(scpp_store_get_burst(s, keys, SCPP_STORE_BURST_MAX + 1, vals, &mask), 0);
	assert_true(mask == 0);
	assert_int_equal(vals[0].type, 0xee);
	assert_int_equal(scpp_store_get_burst(s, keys, 1, vals, NULL), 1);
	done(s);
}

static void
test_store_set_burst_sizes_and_stop_at_failure(void **state)
{
	struct scpp_store *s = burst_shard();
	struct scpp_store_key keys[SCPP_STORE_BURST_MAX + 1];
	struct scpp_value vals[SCPP_STORE_BURST_MAX + 1], got;
	struct snap sn;
	uint64_t seed = 12;
	(void)state;

	for (unsigned int t = 0; t < SCPP_ARRAY_SIZE(burst_sizes); t++) {
		unsigned int n = burst_sizes[t];

		for (unsigned int i = 0; i < n; i++) {
			keys[i].oid = E(test_rand_below(&seed, 16));
			keys[i].attr = 1 + (uint32_t)test_rand_below(&seed, 5);
			vals[i] = (i & 1) ? scpp_value_str(long_text, 17 + i) : scpp_value_i64(-(int64_t)i);
		}
		assert_int_equal(scpp_store_set_burst(s, keys, vals, n), n);
		for (unsigned int i = 0; i < n; i++) {
			unsigned int last = i;

			/* The last write of a repeated key wins. */
			for (unsigned int j = i + 1; j < n; j++)
				if (scpp_oid_eq(keys[j].oid, keys[i].oid) && keys[j].attr == keys[i].attr)
					last = j;
			assert_int_equal(scpp_store_get(s, keys[i].oid, keys[i].attr, &got), 0);
			assert_value_eq(&got, &vals[last]);
		}
	}
	/* Stops at the first failing item (a missing entity), in order. */
	for (unsigned int i = 0; i < 8; i++) {
		keys[i] = (struct scpp_store_key){E(i), 1, 0};
		vals[i] = scpp_value_u64(5000 + i);
	}
	keys[5].oid = E(99);
	assert_int_equal(scpp_store_set_burst(s, keys, vals, 8), 5);
	assert_int_equal(scpp_store_get(s, E(4), 1, &got), 0);
	assert_true(got.u == 5004);
	assert_int_equal(scpp_store_get(s, E(6), 1, &got), 0);
	assert_true(got.u != 5006);
	keys[0].attr = 0;
	assert_int_equal(scpp_store_set_burst(s, keys, vals, 8), 0);
	/* max + 1: nothing applied. */
	for (unsigned int i = 0; i <= SCPP_STORE_BURST_MAX; i++) {
		keys[i] = (struct scpp_store_key){E(1), 2, 0};
		vals[i] = scpp_value_u64(1);
	}
	snap_take(s, &sn);
	assert_int_equal(scpp_store_set_burst(s, keys, vals, SCPP_STORE_BURST_MAX + 1), 0);
	assert_snap_same(s, &sn);
	assert_int_equal(scpp_store_get(s, E(1), 2, &got), 0);
	assert_true(got.u != 1);
	done(s);
}

static void
test_store_map_get_burst_sizes(void **state)
{
	struct scpp_store_config c;
	struct scpp_value keys[SCPP_STORE_BURST_MAX + 1], vals[SCPP_STORE_BURST_MAX + 1], got;
	struct scpp_store *s;
	uint64_t seed = 13, mask;
	char kb[SCPP_STORE_BURST_MAX + 1][48];
	(void)state;

	base_cfg(&c);
	s = mk(&c);
	assert_int_equal(scpp_store_entity_create(s, E(1)), 0);
	assert_int_equal(scpp_store_entity_create(s, E(2)), 0);
	for (int i = 0; i < 200; i += 2) {
		struct scpp_value k = scpp_value_u64((uint64_t)i), v = scpp_value_i64(-i);

		assert_int_equal(scpp_store_map_set(s, E(1), 1, &k, &v), 0);
		/* The same keys in another map must not be confused. */
		v = scpp_value_i64(i);
		assert_int_equal(scpp_store_map_set(s, E(2), 1, &k, &v), 0);
		snprintf(kb[0], sizeof(kb[0]), "long key number %d in the map ....", i);
		k = scpp_value_cstr(kb[0]);
		assert_int_equal(scpp_store_map_set(s, E(1), 1, &k, &v), 0);
	}
	for (unsigned int t = 0; t < SCPP_ARRAY_SIZE(burst_sizes); t++) {
		unsigned int n = burst_sizes[t];

		for (unsigned int i = 0; i < n; i++) {
			int x = (int)test_rand_below(&seed, 220);

			if (i & 1) {
				snprintf(kb[i], sizeof(kb[i]), "long key number %d in the map ....", x);
				keys[i] = scpp_value_cstr(kb[i]);
			} else {
				keys[i] = scpp_value_u64((uint64_t)x);
			}
		}
		assert_int_equal(scpp_store_map_get_burst(s, E(1), 1, keys, n, vals, &mask), n);
		for (unsigned int i = 0; i < n; i++) {
			int rc = scpp_store_map_get(s, E(1), 1, &keys[i], &got);

			assert_int_equal((mask >> i) & 1, rc == 0);
			if (rc == 0)
				assert_value_eq(&vals[i], &got);
		}
	}
	assert_int_equal(scpp_store_map_get_burst(s, E(1), 1, keys, SCPP_STORE_BURST_MAX + 1,
						  vals, &mask), 0);
	assert_true(mask == 0);
	assert_int_equal(scpp_store_map_get_burst(s, E(1), 9, keys, 1, vals, &mask), 0);
	assert_int_equal(scpp_store_map_get_burst(s, E(3), 1, keys, 1, vals, &mask), 0);
	done(s);
}

/* ------------------------------------------- randomized model comparison */

#define RM_E 48
#define RM_A 6
#define RM_K 16
#define RM_VMAX 4096
#define RM_MVMAX 48

enum { M_ABSENT, M_PLAIN, M_MAP };

struct mval {
	struct scpp_value v;
	uint8_t *buf;
};

struct mtriple {
	int state;
	uint64_t seq;
	struct mval val;
	uint8_t pres[RM_K];
	uint64_t kseq[RM_K];
	struct mval mv[RM_K];
};

struct model {
	bool exists[RM_E];
	struct mtriple t[RM_E][RM_A + 1];
	uint64_t seq;
	uint8_t store_bufs[RM_E][RM_A + 1][RM_VMAX];
	uint8_t map_bufs[RM_E][RM_A + 1][RM_K][RM_MVMAX];
	char keytext[RM_K][40];
	struct scpp_value keys[RM_K];
};

static void
gen_value(uint64_t *seed, struct mval *m, uint32_t maxlen)
{
	uint32_t len;

	switch (test_rand_below(seed, 9)) {
	case 0: m->v = scpp_value_nil(); return;
	case 1: m->v = scpp_value_bool(test_rand(seed) & 1); return;
	case 2: m->v = scpp_value_i64((int64_t)test_rand(seed)); return;
	case 3: m->v = scpp_value_u64(test_rand_below(seed, 10)); return;
	case 4: m->v = scpp_value_f64((double)(int64_t)test_rand(seed) / 3.0); return;
	case 5: m->v = scpp_value_oid((struct scpp_oid){test_rand(seed), test_rand(seed)}); return;
	case 6: len = (uint32_t)test_rand_below(seed, 17); break;
	default: len = (uint32_t)test_rand_below(seed, maxlen + 1); break;
	}
	for (uint32_t i = 0; i < len; i++)
		m->buf[i] = (uint8_t)('a' + test_rand_below(seed, 26));
	m->v = test_rand(seed) & 1 ? scpp_value_str((const char *)m->buf, len)
				   : scpp_value_bytes(m->buf, len);
}

static void
mval_copy(struct mval *d, const struct mval *s)
{
	d->v = s->v;
	if (s->v.type == SCPP_VT_STR || s->v.type == SCPP_VT_BYTES) {
		memmove(d->buf, s->v.p, s->v.len);
		d->v.p = d->buf;
	}
}

static struct model *
model_new(void)
{
	struct model *m = calloc(1, sizeof(*m));

	assert_non_null(m);
	for (int e = 0; e < RM_E; e++)
		for (int a = 0; a <= RM_A; a++) {
			m->t[e][a].val.buf = m->store_bufs[e][a];
			for (int k = 0; k < RM_K; k++)
				m->t[e][a].mv[k].buf = m->map_bufs[e][a][k];
		}
	for (int k = 0; k < RM_K; k++) {
		switch (k % 4) {
		case 0: m->keys[k] = scpp_value_u64((uint64_t)k); break;
		case 1: m->keys[k] = scpp_value_i64(k); break;
		case 2:
			snprintf(m->keytext[k], sizeof(m->keytext[k]), "k%d", k);
			m->keys[k] = scpp_value_cstr(m->keytext[k]);
			break;
		default:
			snprintf(m->keytext[k], sizeof(m->keytext[k]),
				 "a key long enough for an extent %d", k);
			m->keys[k] = scpp_value_cstr(m->keytext[k]);
			break;
		}
	}
	return m;
}

static void
model_check_triple(struct scpp_store *s, struct model *m, int e, int a)
{
	struct scpp_value got;
	int rc = scpp_store_get(s, E(e), (uint32_t)a, &got);

	if (!m->exists[e] || m->t[e][a].state == M_ABSENT)
		assert_int_equal(rc, -ENOENT);
	else if (m->t[e][a].state == M_MAP)
		assert_int_equal(rc, -EMEDIUMTYPE);
	else {
		assert_int_equal(rc, 0);
		assert_value_eq(&got, &m->t[e][a].val.v);
	}
}

static void
model_check_entity(struct scpp_store *s, struct model *m, int e)
{
	struct scpp_store_attr out[4];
	uint64_t cur = 0, last = 0;
	int n, total = 0, want = 0;

	if (!m->exists[e]) {
		assert_int_equal(scpp_store_attr_iter(s, E(e), &cur, out, 4), -ENOENT);
		return;
	}
	for (int a = 1; a <= RM_A; a++)
		want += m->t[e][a].state != M_ABSENT;
	assert_int_equal(scpp_store_entity_count(s, E(e)), want);
	while ((n = scpp_store_attr_iter(s, E(e), &cur, out, 4)) > 0) {
		for (int i = 0; i < n; i++) {
			struct mtriple *t = &m->t[e][out[i].attr];

			assert_true(out[i].attr >= 1 && out[i].attr <= RM_A);
			assert_true(t->state != M_ABSENT);
			assert_true(t->seq > last); /* insertion order */
			last = t->seq;
			assert_int_equal(out[i].is_map, t->state == M_MAP);
			if (t->state == M_PLAIN)
				assert_value_eq(&out[i].value, &t->val.v);
			total++;
		}
	}
	assert_int_equal(total, want);
}

static void
model_check_map(struct scpp_store *s, struct model *m, int e, int a)
{
	struct mtriple *t = &m->t[e][a];
	struct scpp_value k[5], v[5];
	uint64_t cur = 0, last = 0;
	int n, total = 0, want = 0;

	if (!m->exists[e] || t->state != M_MAP) {
		assert_true(scpp_store_map_iter(s, E(e), (uint32_t)a, &cur, k, v, 5) < 0);
		return;
	}
	for (int i = 0; i < RM_K; i++)
		want += t->pres[i];
	assert_int_equal(scpp_store_map_count(s, E(e), (uint32_t)a), want);
	while ((n = scpp_store_map_iter(s, E(e), (uint32_t)a, &cur, k, v, 5)) > 0) {
		for (int i = 0; i < n; i++) {
			int ki = -1;

			for (int j = 0; j < RM_K; j++)
				if (scpp_value_eq(&k[i], &m->keys[j]))
					ki = j;
			assert_true(ki >= 0 && t->pres[ki]);
			assert_true(t->kseq[ki] > last);
			last = t->kseq[ki];
			assert_value_eq(&v[i], &t->mv[ki].v);
			total++;
		}
	}
	assert_int_equal(total, want);
}

static uint64_t
model_payload(struct model *m)
{
	uint64_t sum = 0;

	for (int e = 0; e < RM_E; e++) {
		if (!m->exists[e])
			continue;
		for (int a = 1; a <= RM_A; a++) {
			struct mtriple *t = &m->t[e][a];

			if (t->state == M_PLAIN && (t->val.v.type == SCPP_VT_STR ||
						    t->val.v.type == SCPP_VT_BYTES) &&
			    t->val.v.len > SCPP_STORE_INLINE_MAX)
				sum += t->val.v.len;
			if (t->state != M_MAP)
				continue;
			for (int k = 0; k < RM_K; k++) {
				if (!t->pres[k])
					continue;
				if (m->keys[k].type == SCPP_VT_STR &&
				    m->keys[k].len > SCPP_STORE_INLINE_MAX)
					sum += m->keys[k].len;
				if ((t->mv[k].v.type == SCPP_VT_STR ||
				     t->mv[k].v.type == SCPP_VT_BYTES) &&
				    t->mv[k].v.len > SCPP_STORE_INLINE_MAX)
					sum += t->mv[k].v.len;
			}
		}
	}
	return sum;
}

static void
model_check_stats(struct scpp_store *s, struct model *m)
{
	struct scpp_store_stats st;
	uint64_t ents = 0, trip = 0, maps = 0, ments = 0;

	for (int e = 0; e < RM_E; e++) {
		if (!m->exists[e])
			continue;
		ents++;
		for (int a = 1; a <= RM_A; a++) {
			trip += m->t[e][a].state != M_ABSENT;
			maps += m->t[e][a].state == M_MAP;
			if (m->t[e][a].state == M_MAP)
				for (int k = 0; k < RM_K; k++)
					ments += m->t[e][a].pres[k];
		}
	}
	scpp_store_stats_get(s, &st);
	assert_true(st.entities == ents);
	assert_true(st.triples == trip);
	assert_true(st.maps == maps);
	assert_true(st.map_entries == ments);
	assert_true(st.extent_payload == model_payload(m));
}

static bool
is_bytes(const struct scpp_value *v)
{
	return v->type == SCPP_VT_STR || v->type == SCPP_VT_BYTES;
}

static void
test_store_random_ops_match_reference_model(void **state)
{
	struct scpp_store_config c;
	struct scpp_store_stats st0, st;
	struct scpp_store *s;
	struct model *m = model_new();
	struct mval tmp;
	static uint8_t tbuf[RM_VMAX], rbuf[RM_VMAX];
	uint64_t seed = 0x5eed5eed;
	const long OPS = 1000000;
	long tally[10] = {0}, nzero = 0;
	(void)state;

	tmp.buf = tbuf;
	base_cfg(&c);
	c.max_entries = 1024;
	c.max_map_entries = 8192;
	c.extent_bytes = 16 << 20;
	c.max_value_len = RM_VMAX;
	s = mk(&c);
	scpp_store_stats_get(s, &st0);
	for (long op = 0; op < OPS; op++) {
		int e = (int)test_rand_below(&seed, RM_E);
		int a = 1 + (int)test_rand_below(&seed, RM_A);
		int k = (int)test_rand_below(&seed, RM_K);
		struct mtriple *t = &m->t[e][a];
		unsigned int r = (unsigned int)test_rand_below(&seed, 1000);
		struct scpp_value got;
		int rc = 0;

		tally[r / 100]++;
		if (r < 15) { /* entity create */
			rc = scpp_store_entity_create(s, E(e));
			assert_int_equal(rc, m->exists[e] ? -EEXIST : 0);
			m->exists[e] = true;
		} else if (r < 20) { /* entity delete */
			rc = scpp_store_entity_delete(s, E(e));
			assert_int_equal(rc, m->exists[e] ? 0 : -ENOENT);
			m->exists[e] = false;
			for (int x = 1; x <= RM_A; x++) {
				m->t[e][x].state = M_ABSENT;
				memset(m->t[e][x].pres, 0, sizeof(m->t[e][x].pres));
			}
		} else if (r < 250) { /* set */
			gen_value(&seed, &tmp, RM_VMAX);
			rc = scpp_store_set(s, E(e), (uint32_t)a, &tmp.v);
			if (!m->exists[e])
				assert_int_equal(rc, -ENOENT);
			else if (t->state == M_MAP)
				assert_int_equal(rc, -EMEDIUMTYPE);
			else {
				assert_int_equal(rc, 0);
				if (t->state == M_ABSENT)
					t->seq = ++m->seq;
				t->state = M_PLAIN;
				mval_copy(&t->val, &tmp);
			}
		} else if (r < 450) { /* get */
			model_check_triple(s, m, e, a);
		} else if (r < 500) { /* delete triple */
			rc = scpp_store_del(s, E(e), (uint32_t)a);
			assert_int_equal(rc, m->exists[e] && t->state != M_ABSENT ? 0 : -ENOENT);
			if (rc == 0) {
				t->state = M_ABSENT;
				memset(t->pres, 0, sizeof(t->pres));
			}
		} else if (r < 620) { /* map set */
			gen_value(&seed, &tmp, RM_MVMAX);
			rc = scpp_store_map_set(s, E(e), (uint32_t)a, &m->keys[k], &tmp.v);
			if (!m->exists[e])
				assert_int_equal(rc, -ENOENT);
			else if (t->state == M_PLAIN)
				assert_int_equal(rc, -EMEDIUMTYPE);
			else {
				assert_int_equal(rc, 0);
				if (t->state == M_ABSENT) {
					t->state = M_MAP;
					t->seq = ++m->seq;
				}
				if (!t->pres[k])
					t->kseq[k] = ++m->seq;
				t->pres[k] = 1;
				mval_copy(&t->mv[k], &tmp);
			}
		} else if (r < 720) { /* map get */
			rc = scpp_store_map_get(s, E(e), (uint32_t)a, &m->keys[k], &got);
			if (!m->exists[e] || t->state == M_ABSENT)
				assert_int_equal(rc, -ENOENT);
			else if (t->state == M_PLAIN)
				assert_int_equal(rc, -EMEDIUMTYPE);
			else if (!t->pres[k])
				assert_int_equal(rc, -ENOENT);
			else {
				assert_int_equal(rc, 0);
				assert_value_eq(&got, &t->mv[k].v);
			}
		} else if (r < 770) { /* map delete */
			rc = scpp_store_map_del(s, E(e), (uint32_t)a, &m->keys[k]);
			if (!m->exists[e] || t->state == M_ABSENT)
				assert_int_equal(rc, -ENOENT);
			else if (t->state == M_PLAIN)
				assert_int_equal(rc, -EMEDIUMTYPE);
			else {
				assert_int_equal(rc, t->pres[k] ? 0 : -ENOENT);
				t->pres[k] = 0;
			}
		} else if (r < 900) { /* byte range read / write / resize / alloc */
			bool ok = m->exists[e] && t->state == M_PLAIN && is_bytes(&t->val.v);
			uint64_t len = ok ? t->val.v.len : 0;
			uint64_t off = test_rand_below(&seed, len + 3);
			uint64_t n = test_rand_below(&seed, len + 3);
			int want = !m->exists[e] || t->state == M_ABSENT ? -ENOENT :
				   !ok ? -EMEDIUMTYPE :
				   off + n > len ? -ERANGE : 0;

			if (r < 800) {
				rc = scpp_store_bytes_read(s, E(e), (uint32_t)a, off, n, rbuf);
				assert_int_equal(rc, want);
				if (rc == 0)
					assert_memory_equal(rbuf, t->val.v.p + off, n);
			} else if (r < 850) {
				for (uint64_t i = 0; i < n; i++)
					tbuf[i] = (uint8_t)test_rand(&seed);
				rc = scpp_store_bytes_write(s, E(e), (uint32_t)a, off, n, tbuf);
				assert_int_equal(rc, want);
				if (rc == 0)
					memcpy(t->val.buf + off, tbuf, n);
			} else if (r < 890) {
				uint64_t nl = test_rand_below(&seed, RM_VMAX + 2);

				rc = scpp_store_bytes_resize(s, E(e), (uint32_t)a, nl);
				want = want == -ERANGE ? 0 : want;
				if (want == 0 && nl > RM_VMAX)
					want = -E2BIG;
				assert_int_equal(rc, want);
				if (rc == 0) {
					if (nl > len)
						memset(t->val.buf + len, 0, nl - len);
					t->val.v.len = (uint32_t)nl;
				}
			} else {
				uint64_t nl = test_rand_below(&seed, RM_VMAX + 1);
				uint8_t ty = test_rand(&seed) & 1 ? SCPP_VT_STR : SCPP_VT_BYTES;

				rc = scpp_store_bytes_alloc(s, E(e), (uint32_t)a, ty, nl);
				if (!m->exists[e])
					assert_int_equal(rc, -ENOENT);
				else if (t->state == M_MAP)
					assert_int_equal(rc, -EMEDIUMTYPE);
				else {
					assert_int_equal(rc, 0);
					if (t->state == M_ABSENT)
						t->seq = ++m->seq;
					t->state = M_PLAIN;
					memset(t->val.buf, 0, nl);
					t->val.v = ty == SCPP_VT_STR ?
						scpp_value_str((const char *)t->val.buf, (uint32_t)nl) :
						scpp_value_bytes(t->val.buf, (uint32_t)nl);
				}
			}
		} else if (r < 950) { /* burst get over mixed entities */
			struct scpp_store_key keys[9];
			struct scpp_value vals[9];
			uint64_t mask;

			for (int i = 0; i < 9; i++) {
				keys[i].oid = E(test_rand_below(&seed, RM_E));
				keys[i].attr = 1 + (uint32_t)test_rand_below(&seed, RM_A);
			}
			assert_int_equal(scpp_store_get_burst(s, keys, 9, vals, &mask), 9);
			for (int i = 0; i < 9; i++) {
				int ee = (int)(scpp_oid_counter(keys[i].oid) - 1000);
				struct mtriple *tt = &m->t[ee][keys[i].attr];
				bool hit = m->exists[ee] && tt->state == M_PLAIN;

				assert_int_equal((mask >> i) & 1, hit);
				if (hit)
					assert_value_eq(&vals[i], &tt->val.v);
			}
		} else if (r < 975) {
			model_check_entity(s, m, e);
		} else if (r < 995) {
			model_check_map(s, m, e, a);
		} else {
			model_check_stats(s, m);
		}
		nzero += rc == 0;
	}
	printf("# random run: %ld ops (%ld returned 0); per 10%% band of the op "
	       "mix:", OPS, nzero);
	for (int i = 0; i < 10; i++)
		printf(" %ld", tally[i]);
	printf("\n");
	model_check_stats(s, m);
	for (int e = 0; e < RM_E; e++) {
		model_check_entity(s, m, e);
		for (int a = 1; a <= RM_A; a++) {
			model_check_triple(s, m, e, a);
			model_check_map(s, m, e, a);
		}
	}
	/* Deleting every entity returns the shard to its baseline. */
	for (int e = 0; e < RM_E; e++)
		if (m->exists[e])
			assert_int_equal(scpp_store_entity_delete(s, E(e)), 0);
	scpp_store_stats_get(s, &st);
	assert_true(st.entities == 0 && st.triples == 0 && st.map_entries == 0);
	assert_true(st.extent_used == 0 && st.extent_payload == 0);
	assert_true(st.load_factor == 0 && st.overflow_buckets == 0);
	assert_memory_equal(st.class_count, st0.class_count, sizeof(st.class_count));
	assert_memory_equal(st.class_free, st0.class_free, sizeof(st.class_free));
	free(m);
	done(s);
}

/* -------------------------------------------------- the hugepage path */

static void
test_store_rte_provider_uses_eal_memory(void **state)
{
	const char *args[] = {"test_store", "--no-pci", "-l", "0", "--log-level", "error",
			      "--in-memory", NULL, NULL, NULL, NULL};
	char *argv[SCPP_ARRAY_SIZE(args)], *own[SCPP_ARRAY_SIZE(args)];
	int argc = 7;
	bool huge = false;
	struct scpp_store_config c;
	struct scpp_store_stats st;
	struct scpp_value v = scpp_value_cstr(long_text), got;
	struct scpp_store *s;
	void *p;
	size_t len;
	FILE *f;
	(void)state;

	/* Hugepages if there are free ones on a mounted hugetlbfs. */
	f = fopen("/proc/meminfo", "r");
	if (f != NULL) {
		char line[128];
		long n;

		while (fgets(line, sizeof(line), f) != NULL)
			if (sscanf(line, "HugePages_Free: %ld", &n) == 1 && n >= 64)
				huge = true;
		fclose(f);
	}
	if (!huge) {
		args[6] = "--no-huge";
		args[argc++] = "-m";
		args[argc++] = "64";
		args[argc++] = "--no-shconf";
	}
	/* EAL wants mutable strings. */
	for (int i = 0; i < argc; i++)
		own[i] = argv[i] = strdup(args[i]);
	argv[argc] = NULL;
	assert_true(rte_eal_init(argc, argv) >= 0);
	scpp_store_config_init(&c);
	c.max_entries = 100000;
	c.max_map_entries = 1000;
	c.extent_bytes = 1 << 20;
	c.max_value_len = 1 << 20;
	s = scpp_store_create(&c);
	assert_non_null(s);
	assert_int_equal(scpp_store_entity_create(s, E(1)), 0);
	assert_int_equal(scpp_store_set(s, E(1), 1, &v), 0);
	assert_int_equal(scpp_store_get(s, E(1), 1, &got), 0);
	assert_value_eq(&got, &v);
	scpp_store_mem_region(s, &p, &len);
	assert_true(len == (1 << 20));
	{
		const struct rte_memseg_list *msl = rte_mem_virt2memseg_list(p);

		assert_non_null(msl);
		if (huge)
			assert_true(msl->page_sz >= (2u << 20));
		printf("# shard memory on %s pages of %zu KiB\n",
		       huge ? "huge" : "normal", (size_t)msl->page_sz >> 10);
	}
	scpp_store_stats_get(s, &st);
	assert_true(st.mem_bytes == scpp_store_mem_size(&c));
	scpp_store_free(s);
	rte_eal_cleanup();
	/* EAL rewrites argv (it moves the program name), so free our copies. */
	for (int i = 0; i < argc; i++)
		free(own[i]);
}

/* ---- value index ---------------------------------------------------------- */

#if defined(__SANITIZE_ADDRESS__)
#define VIX_OPS 200000 /* the full 10^6 runs in the optimised build */
#else
#define VIX_OPS 1000000
#endif
#define VIX_ENTS 200
#define VIX_VALS 40

static struct scpp_value
vix_value(uint64_t k)
{
	static char strs[VIX_VALS][48];

	k %= VIX_VALS;
	if (k < 16)
		return scpp_value_u64(k);
	if (k < 20)
		return scpp_value_i64((int64_t)k - 16);
	snprintf(strs[k], sizeof(strs[k]), k < 30 ? "s%llu" : "a-long-string-value-%llu-beyond-inline",
		 (unsigned long long)k);
	return scpp_value_str(strs[k], (uint32_t)strlen(strs[k]));
}

/* For every (attribute, value): the index lists exactly the entities a scan
 * finds, each once, with its creation sequence. */
static void
vix_check(struct scpp_store *s, const uint32_t *attrs, unsigned int na, uint64_t *checked)
{
	struct scpp_store_hit hits[64];

	for (unsigned int ai = 0; ai < na; ai++) {
		if (!scpp_store_attr_indexed(s, attrs[ai]))
			continue;
		for (uint64_t k = 0; k < VIX_VALS; k++) {
			struct scpp_value v = vix_value(k);
			struct scpp_oid scan[VIX_ENTS];
			unsigned int ns = 0, nh = 0;
			uint64_t cur = 0, ec = 0;
			struct scpp_oid o;
			int n;

			while (scpp_store_entity_iter(s, &ec, &o, 1) == 1) {
				struct scpp_value got;

				if (scpp_store_get(s, o, attrs[ai], &got) == 0 && scpp_value_eq(&got, &v))
					scan[ns++] = o;
				if (ec == UINT64_MAX)
					break;
			}
			while ((n = scpp_store_index_find(s, attrs[ai], &v, &cur, hits, 64)) > 0) {
				for (int i = 0; i < n; i++) {
					bool found = false;

					for (unsigned int j = 0; j < ns && !found; j++)
						found = scpp_oid_eq(scan[j], hits[i].oid);
					assert_true(found);
					assert_int_equal(hits[i].seq, scpp_store_entity_seq(s, hits[i].oid));
				}
				nh += (unsigned int)n;
				if (cur == UINT64_MAX)
					break;
			}
			assert_true(n >= 0);
			assert_int_equal(nh, ns);
			(*checked)++;
		}
	}
}

static void
test_store_value_index_agrees_with_a_scan_after_random_ops(void **state)
{
	struct scpp_store_config c;
	struct scpp_store *s;
	const uint32_t attrs[] = {1, 2, 3};
	struct scpp_store_stats st;
	uint64_t seed = 0x1dec5, checked = 0, applied = 0;
	uint64_t next_oid = 1;
	(void)state;

	base_cfg(&c);
	c.max_indexed = c.max_entries;
	s = mk(&c);
	assert_int_equal(scpp_store_index_attr(s, 1, true), 0);
	assert_int_equal(scpp_store_index_attr(s, 2, true), 0);
	assert_true(scpp_store_attr_indexed(s, 1) && !scpp_store_attr_indexed(s, 3));
	for (uint64_t op = 0; op < VIX_OPS; op++) {
		uint64_t r = test_rand_below(&seed, 100);
		struct scpp_oid e = E(test_rand_below(&seed, next_oid) + 1);
		uint32_t a = attrs[test_rand_below(&seed, 3)];
		struct scpp_value v = vix_value(test_rand_below(&seed, VIX_VALS));
		int rc = 0;

		if (r < 8) {
			/* New entities first, then deleted ones come back. */
			rc = scpp_store_entity_create(s, next_oid < VIX_ENTS ? E(next_oid++) : e);
		} else if (r < 40) {
			rc = scpp_store_set(s, e, a, &v);
		} else if (r < 55) {
			rc = scpp_store_del(s, e, a);
		} else if (r < 62) {
			/* Delete and put back at the same place (an undo). */
			struct scpp_oid prev;
			uint32_t sq = scpp_store_entity_seq(s, e);

			if (scpp_store_entity_prev(s, e, &prev) == 0) {
				rc = scpp_store_entity_delete(s, e);
				if (rc == 0 && test_rand_below(&seed, 2))
					rc = scpp_store_entity_create_after(s, e, prev, sq);
			}
		} else if (r < 72) {
			uint8_t ch = (uint8_t)('0' + test_rand_below(&seed, 3));

			rc = scpp_store_bytes_write(s, e, a, 1, 1, &ch);
		} else if (r < 78) {
			rc = scpp_store_bytes_resize(s, e, a, 2 + test_rand_below(&seed, 30));
		} else if (r < 84) {
			struct scpp_value k = scpp_value_u64(test_rand_below(&seed, 4));

			rc = scpp_store_map_set(s, e, a, &k, &v);
		} else if (r < 90) {
			rc = scpp_store_attr_rename(s, e, a, attrs[test_rand_below(&seed, 3)]);
		} else if (r < 91) {
			/* Switch attribute 2's index off and on: a rebuild. */
			assert_int_equal(scpp_store_index_attr(s, 2, false), 0);
			assert_false(scpp_store_attr_indexed(s, 2));
			rc = scpp_store_index_attr(s, 2, true);
			assert_int_equal(rc, 0);
		} else {
			struct scpp_value got;

			rc = scpp_store_get(s, e, a, &got);
		}
		applied += rc == 0;
		if (op % (VIX_OPS / 10) == 0)
			vix_check(s, attrs, 3, &checked);
	}
	vix_check(s, attrs, 3, &checked);
	scpp_store_stats_get(s, &st);
	assert_int_equal(st.indexed_attrs, 2);
	assert_true(st.index_members > 0);
	assert_int_equal(st.index_dropped, 0);
	printf("# value index: %d ops (%" PRIu64 " applied), %" PRIu64 " (attribute, value) checks, "
	       "%" PRIu64 " members at the end\n", VIX_OPS, applied, checked, st.index_members);
	assert_int_equal(scpp_store_index_attr(s, 1, false), 0);
	scpp_store_stats_get(s, &st);
	assert_int_equal(st.indexed_attrs, 1);
	done(s);
}

/* Without a value index configured, indexing is refused; bad arguments. */
static void
test_store_value_index_arguments(void **state)
{
	struct scpp_store_config c;
	struct scpp_store *s;
	struct scpp_store_hit h[1];
	struct scpp_value v = scpp_value_u64(1);
	uint64_t cur = 0;
	(void)state;

	base_cfg(&c);
	s = mk(&c);
	assert_int_equal(scpp_store_index_attr(s, 1, true), -EOPNOTSUPP);
	assert_int_equal(scpp_store_index_attr(s, 1, false), 0);
	assert_int_equal(scpp_store_index_find(s, 1, &v, &cur, h, 1), -ESTALE);
	assert_int_equal(scpp_store_index_attr(NULL, 1, true), -EINVAL);
	assert_int_equal(scpp_store_index_attr(s, 0, true), -EINVAL);
	done(s);
	c.max_indexed = 64;
	s = mk(&c);
	for (uint32_t a = 1; a <= SCPP_STORE_INDEXED_MAX; a++)
		assert_int_equal(scpp_store_index_attr(s, a, true), 0);
	assert_int_equal(scpp_store_index_attr(s, SCPP_STORE_INDEXED_MAX + 1, true), -ENOSPC);
	assert_int_equal(scpp_store_index_find(s, 1, NULL, &cur, h, 1), -EINVAL);
	done(s);

	/* A pool too small: the index is given up, never a write; lookups
	 * say -ESTALE (callers scan) until it is rebuilt with room. */
	c.max_indexed = 4;
	s = mk(&c);
	assert_int_equal(scpp_store_index_attr(s, 1, true), 0);
	for (uint64_t i = 1; i <= 6; i++) {
		struct scpp_value x = scpp_value_u64(i);

		assert_int_equal(scpp_store_entity_create(s, E(i)), 0);
		assert_int_equal(scpp_store_set(s, E(i), 1, &x), 0);
	}
	{
		struct scpp_store_stats st;

		scpp_store_stats_get(s, &st);
		assert_int_equal(st.index_dropped, 1);
		assert_int_equal(st.index_members, 0);
	}
	assert_false(scpp_store_attr_indexed(s, 1));
	cur = 0;
	assert_int_equal(scpp_store_index_find(s, 1, &v, &cur, h, 1), -ESTALE);
	assert_int_equal(scpp_store_index_attr(s, 1, true), -ENOSPC);
	for (uint64_t i = 3; i <= 6; i++)
		assert_int_equal(scpp_store_del(s, E(i), 1), 0);
	assert_int_equal(scpp_store_index_attr(s, 1, true), 0);
	cur = 0;
	assert_int_equal(scpp_store_index_find(s, 1, &v, &cur, h, 1), 1);
	assert_true(scpp_oid_eq(h[0].oid, E(1)));
	done(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_free_null_is_noop),
		cmocka_unit_test(test_store_create_rejects_bad_config_one_field_at_a_time),
		cmocka_unit_test(test_store_create_failing_provider_leaks_nothing),
		cmocka_unit_test(test_store_mem_size_matches_what_create_takes),
		cmocka_unit_test(test_store_entity_create_get_set_delete),
		cmocka_unit_test(test_store_every_value_type_round_trips),
		cmocka_unit_test(test_store_entity_delete_frees_everything),
		cmocka_unit_test(test_store_attr_iter_is_insertion_order_with_cursor),
		cmocka_unit_test(test_store_entity_iter_survives_mutation_between_calls),
		cmocka_unit_test(test_store_table_full_is_enospc_and_changes_nothing),
		cmocka_unit_test(test_store_extent_full_is_enospc_and_changes_nothing),
		cmocka_unit_test(test_store_value_too_large_is_e2big),
		cmocka_unit_test(test_store_map_entries_full_is_enospc),
		cmocka_unit_test(test_store_fits_is_exact_for_extent_sequences),
		cmocka_unit_test(test_store_dict_intern_lookup_name_and_full),
		cmocka_unit_test(test_store_dict_many_names_round_trip),
		cmocka_unit_test(test_store_dict_concurrent_writers_agree),
		cmocka_unit_test(test_store_value_index_agrees_with_a_scan_after_random_ops),
		cmocka_unit_test(test_store_value_index_arguments),
		cmocka_unit_test(test_store_map_keys_of_every_type_are_distinct),
		cmocka_unit_test(test_store_map_with_a_million_entries_enumerates_in_order),
		cmocka_unit_test(test_store_byte_range_boundaries),
		cmocka_unit_test(test_store_pinned_extent_is_stable_and_blocks_moves),
		cmocka_unit_test(test_store_get_burst_sizes_with_mixed_keys),
		cmocka_unit_test(test_store_set_burst_sizes_and_stop_at_failure),
		cmocka_unit_test(test_store_map_get_burst_sizes),
		cmocka_unit_test(test_store_random_ops_match_reference_model),
		cmocka_unit_test(test_store_rte_provider_uses_eal_memory),
	};

	int failed = cmocka_run_group_tests(tests, NULL, NULL);

	failed += _cmocka_run_group_tests("store_layout", store_layout_tests, store_layout_ntests,
					  NULL, NULL);
	failed += _cmocka_run_group_tests("store_burst", store_burst_tests, store_burst_ntests,
					  NULL, NULL);
	return failed;
}
