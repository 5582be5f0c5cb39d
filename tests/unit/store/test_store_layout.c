/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/store's entry layout: every entry is split in a 32-byte
 * hot part (key, cell header, the value of a narrow cell) and a cold part
 * (list links, the payload of a wide cell: OIDs, str/bytes, extents, maps,
 * entity headers), docs/STORE.md "Layout". What the split makes possible
 * to get wrong: a value left in the wrong half when a cell changes width,
 * stale cold data in a reused entry, the wide stage of a burst, list links
 * through cold parts (iteration order), a full table, and all of it under
 * random deletes and reinsertions (checked against a model).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "scpp_test.h"
#include "scpp_common.h"
#include "scpp_store.h"

#include "store_test.h"

/* ---------------------------------------------------------- helpers */

#define MODEL_LEN 40 /* longest str/bytes of the model: an extent */

/* A shard on the libc provider with a fixed hash seed (store_test.h). */
struct scpp_store *
store_test_shard(uint32_t max_entries, uint64_t hash_seed)
{
	struct scpp_store_config c;
	struct scpp_store *s;

	scpp_store_config_init(&c);
	c.mem = &scpp_store_mem_libc;
	c.max_entries = max_entries;
	c.max_map_entries = 64;
	c.extent_bytes = 1 << 20;
	c.max_value_len = 1 << 12;
	c.oid_node = 7;
	c.oid_epoch = 3;
	c.hash_seed = hash_seed;
	s = scpp_store_create(&c);
	assert_non_null(s);
	return s;
}

static struct scpp_store *
layout_shard(uint32_t max_entries)
{
	return store_test_shard(max_entries, 0x1a7047);
}

static struct scpp_oid
L(uint64_t i)
{
	return scpp_oid_make(0, 7, 0, 3, 5000 + i);
}

/* A value as the model keeps it (bytes owned by the model). */
struct mval {
	bool present;
	uint8_t type;
	uint32_t len;
	uint64_t u;
	struct scpp_oid oid;
	uint8_t b[MODEL_LEN];
};

static struct scpp_value
mval_value(const struct mval *m)
{
	switch (m->type) {
	case SCPP_VT_NIL:
		return scpp_value_nil();
	case SCPP_VT_BOOL:
		return scpp_value_bool(m->u != 0);
	case SCPP_VT_I64:
		return scpp_value_i64((int64_t)m->u);
	case SCPP_VT_U64:
		return scpp_value_u64(m->u);
	case SCPP_VT_F64: {
		double f;

		memcpy(&f, &m->u, sizeof(f));
		return scpp_value_f64(f);
	}
	case SCPP_VT_STR:
		return scpp_value_str((const char *)m->b, m->len);
	case SCPP_VT_BYTES:
		return scpp_value_bytes(m->b, m->len);
	default:
		return scpp_value_oid(m->oid);
	}
}

/* Every type, and str/bytes lengths around the 8-byte hot payload, the
 * 16-byte inline limit and into an extent. */
static void
mval_random(struct mval *m, uint64_t *seed)
{
	static const uint32_t lens[] = {0, 1, 7, 8, 9, 15, 16, 17, 24, MODEL_LEN};

	memset(m, 0, sizeof(*m));
	m->present = true;
	m->type = (uint8_t)test_rand_below(seed, SCPP_VT_COUNT);
	switch (m->type) {
	case SCPP_VT_BOOL:
		m->u = test_rand_below(seed, 2);
		break;
	case SCPP_VT_F64: {
		double f = (double)(int64_t)test_rand(seed) / 7.0;

		memcpy(&m->u, &f, sizeof(f));
		break;
	}
	case SCPP_VT_I64:
	case SCPP_VT_U64:
		m->u = test_rand(seed);
		break;
	case SCPP_VT_STR:
	case SCPP_VT_BYTES:
		m->len = lens[test_rand_below(seed, SCPP_ARRAY_SIZE(lens))];
		for (uint32_t i = 0; i < m->len; i++)
			m->b[i] = (uint8_t)test_rand(seed);
		break;
	case SCPP_VT_OID:
		m->oid.hi = test_rand(seed);
		m->oid.lo = test_rand(seed);
		break;
	default:
		break;
	}
}

/* @got equals the model's value: type, and every byte that carries it. */
static void
mval_check_at(const struct scpp_value *got, const struct mval *m, const char *file, int line)
{
	bool ok = got->type == m->type;

	if (ok) {
		switch (m->type) {
		case SCPP_VT_NIL:
			break;
		case SCPP_VT_BOOL:
			ok = got->b == (m->u != 0);
			break;
		case SCPP_VT_I64:
		case SCPP_VT_U64:
		case SCPP_VT_F64:
			ok = got->u == m->u;
			break;
		case SCPP_VT_STR:
		case SCPP_VT_BYTES:
			ok = got->len == m->len && (m->len == 0 || memcmp(got->p, m->b, m->len) == 0);
			break;
		default:
			ok = got->oid.hi == m->oid.hi && got->oid.lo == m->oid.lo;
			break;
		}
	}
	if (!ok) {
		fprintf(stderr, "value differs from the model: type %u/%u len %u/%u\n", got->type,
			m->type, got->len, m->len);
		_fail(file, line);
	}
}
#define mval_check(got, m) mval_check_at((got), (m), __FILE__, __LINE__)

static void
set_mval(struct scpp_store *s, struct scpp_oid e, uint32_t a, const struct mval *m)
{
	struct scpp_value v = mval_value(m);

	assert_int_equal(scpp_store_set(s, e, a, &v), 0);
}

static void
get_check(const struct scpp_store *s, struct scpp_oid e, uint32_t a, const struct mval *m)
{
	struct scpp_value v;

	memset(&v, 0xee, sizeof(v));
	if (!m->present) {
		assert_int_equal(scpp_store_get(s, e, a, &v), -ENOENT);
		return;
	}
	assert_int_equal(scpp_store_get(s, e, a, &v), 0);
	mval_check(&v, m);
}

/* ---------------------------------------------------------- tests */

/*
 * One entry through every width change (narrow scalar <-> OID <-> inline
 * str of every length <-> extent <-> nil), by set and by resize: after each
 * step get, get_burst and attr_iter return the new value, and the entity's
 * other attributes, the neighbouring entity's, and the attribute order
 * (links in the cold part) are untouched.
 */
static void
test_layout_width_changes_keep_values_links_and_neighbours(void **state)
{
	struct scpp_store *s = layout_shard(64);
	struct mval other[2][7], cur;
	struct scpp_store_key keys[12];
	struct scpp_value vals[12];
	static const uint32_t sizes[] = {5, 8, 9, 12, 16, 17, 40, 16, 9, 8, 0, 33, 3};
	uint64_t seed = 3, mask;
	(void)state;

	assert_int_equal(scpp_store_entity_create(s, L(0)), 0);
	assert_int_equal(scpp_store_entity_create(s, L(1)), 0);
	for (int e = 0; e < 2; e++)
		for (uint32_t a = 1; a <= 6; a++) {
			memset(&other[e][a], 0, sizeof(other[e][a]));
			other[e][a].present = true;
			other[e][a].type = SCPP_VT_U64;
			other[e][a].u = (uint64_t)e * 1000 + a;
			set_mval(s, L((uint64_t)e), a, &other[e][a]);
		}
	for (int step = 0; step < 400; step++) {
		struct scpp_store_attr at[8];
		uint64_t cursor = 0;
		int n;

		if (step % 3 == 2 && (other[0][3].type == SCPP_VT_STR ||
				      other[0][3].type == SCPP_VT_BYTES)) {
			/* Resize in place: inline <-> extent, growth zero-fills. */
			uint32_t len = sizes[(unsigned int)step / 3 % SCPP_ARRAY_SIZE(sizes)];

			cur = other[0][3];
			if (len > cur.len)
				memset(cur.b + cur.len, 0, len - cur.len);
			cur.len = len;
			assert_int_equal(scpp_store_bytes_resize(s, L(0), 3, len), 0);
		} else {
			mval_random(&cur, &seed);
			set_mval(s, L(0), 3, &cur);
		}
		other[0][3] = cur;
		for (int e = 0; e < 2; e++)
			for (uint32_t a = 1; a <= 6; a++) {
				get_check(s, L((uint64_t)e), a, &other[e][a]);
				keys[e * 6 + (int)a - 1] = (struct scpp_store_key){L((uint64_t)e), a, 0};
			}
		assert_int_equal(scpp_store_get_burst(s, keys, 12, vals, &mask), 12);
		assert_true(mask == 0xfff);
		for (int i = 0; i < 12; i++)
			mval_check(&vals[i], &other[i / 6][i % 6 + 1]);
		/* Order and values through the attribute list (cold links). */
		n = scpp_store_attr_iter(s, L(0), &cursor, at, 8);
		assert_int_equal(n, 6);
		for (int i = 0; i < 6; i++) {
			assert_int_equal(at[i].attr, (uint32_t)i + 1);
			mval_check(&at[i].value, &other[0][i + 1]);
		}
		assert_int_equal(scpp_store_entity_count(s, L(0)), 6);
	}
	scpp_store_free(s);
}

/*
 * Freed entries are reused (free list through the cold parts): an entry
 * that held a wide value and comes back narrow, or as an entity header,
 * shows nothing of its old payload; a borrowed pointer to an inline string
 * stays valid while other entries change around it.
 */
static void
test_layout_reused_entries_carry_no_stale_cold_data(void **state)
{
	struct scpp_store *s = layout_shard(16);
	struct scpp_oid big = {UINT64_C(0xfeedfacecafebeef), UINT64_C(0x0123456789abcdef)};
	struct scpp_value v, kept;
	struct scpp_oid prev;
	uint8_t copy[16];
	(void)state;

	assert_int_equal(scpp_store_entity_create(s, L(0)), 0);
	assert_int_equal(scpp_store_entity_create(s, L(1)), 0);
	v = scpp_value_oid(big);
	assert_int_equal(scpp_store_set(s, L(0), 1, &v), 0);
	v = scpp_value_str("0123456789abcdef", 16);
	assert_int_equal(scpp_store_set(s, L(0), 2, &v), 0);
	/* A pointer into the cold part of L(1).5 stays valid (and its bytes
	 * unchanged) while other entries come and go. */
	v = scpp_value_str("fedcba9876543210", 16);
	assert_int_equal(scpp_store_set(s, L(1), 5, &v), 0);
	assert_int_equal(scpp_store_get(s, L(1), 5, &kept), 0);
	memcpy(copy, kept.p, sizeof(copy));

	for (int round = 0; round < 20; round++) {
		assert_int_equal(scpp_store_del(s, L(0), 1), 0);
		assert_int_equal(scpp_store_del(s, L(0), 2), 0);
		/* Reuses the two freed entries (the wide ones) as narrow. */
		v = scpp_value_u64(77);
		assert_int_equal(scpp_store_set(s, L(0), 3, &v), 0);
		v = scpp_value_bool(true);
		assert_int_equal(scpp_store_set(s, L(0), 4, &v), 0);
		assert_int_equal(scpp_store_get(s, L(0), 3, &v), 0);
		assert_true(v.type == SCPP_VT_U64 && v.u == 77 && v.oid.lo == 0);
		assert_int_equal(scpp_store_get(s, L(0), 4, &v), 0);
		assert_true(v.type == SCPP_VT_BOOL && v.b && v.oid.lo == 0);
		/* ... and narrow to short wide: exactly the new bytes. */
		v = scpp_value_str("abc", 3);
		assert_int_equal(scpp_store_set(s, L(0), 3, &v), 0);
		assert_int_equal(scpp_store_get(s, L(0), 3, &v), 0);
		assert_true(v.type == SCPP_VT_STR && v.len == 3 && memcmp(v.p, "abc", 3) == 0);
		assert_int_equal(scpp_store_del(s, L(0), 3), 0);
		assert_int_equal(scpp_store_del(s, L(0), 4), 0);
		v = scpp_value_oid(big);
		assert_int_equal(scpp_store_set(s, L(0), 1, &v), 0);
		v = scpp_value_str("0123456789abcdef", 16);
		assert_int_equal(scpp_store_set(s, L(0), 2, &v), 0);
		assert_int_equal(scpp_store_get(s, L(0), 1, &v), 0);
		assert_true(v.type == SCPP_VT_OID && scpp_oid_eq(v.oid, big));
		assert_true(memcmp(kept.p, copy, sizeof(copy)) == 0);
	}
	/* Entity headers reuse attribute entries: count, sequence and the
	 * live list (all in the cold part) start clean. */
	assert_int_equal(scpp_store_entity_delete(s, L(0)), 0);
	assert_int_equal(scpp_store_entity_create(s, L(2)), 0);
	assert_int_equal(scpp_store_entity_create(s, L(3)), 0);
	assert_int_equal(scpp_store_entity_count(s, L(2)), 0);
	assert_int_equal(scpp_store_entity_count(s, L(3)), 0);
	assert_true(scpp_store_entity_seq(s, L(3)) == scpp_store_entity_seq(s, L(2)) + 1);
	assert_int_equal(scpp_store_entity_prev(s, L(3), &prev), 0);
	assert_true(scpp_oid_eq(prev, L(2)));
	assert_int_equal(scpp_store_entity_prev(s, L(2), &prev), 0);
	assert_true(scpp_oid_eq(prev, L(1)));
	{
		struct scpp_oid out[8];
		uint64_t cursor = 0;

		assert_int_equal(scpp_store_entity_iter(s, &cursor, out, 8), 3);
		assert_true(scpp_oid_eq(out[0], L(1)) && scpp_oid_eq(out[1], L(2)) &&
			    scpp_oid_eq(out[2], L(3)));
	}
	assert_true(memcmp(kept.p, copy, sizeof(copy)) == 0);
	scpp_store_free(s);
}

/*
 * Bursts of every size 1..64 over keys whose values are all wide, all
 * narrow, or mixed (OIDs, 16-byte inline strings, extents, u64), plus keys
 * that must miss (a map attribute, an entity header, an absent key): the
 * wide stage gives exactly what the single get gives, in both forms of the
 * pipeline (staged for n <= 16, over groups of 8 above).
 */
static void
test_layout_get_burst_wide_and_narrow_every_size(void **state)
{
	struct scpp_store *s = layout_shard(256);
	struct scpp_store_key keys[SCPP_STORE_BURST_MAX];
	struct scpp_value vals[SCPP_STORE_BURST_MAX], one;
	uint64_t seed = 5, mask;
	(void)state;

	for (uint64_t e = 0; e < 16; e++) {
		assert_int_equal(scpp_store_entity_create(s, L(e)), 0);
		for (uint32_t a = 1; a <= 8; a++) {
			struct mval m;
			struct scpp_value v;

			switch (a) {
			case 1:
				v = scpp_value_oid(L(e + 100));
				break;
			case 2:
				v = scpp_value_str("sixteen-bytes-xx", 16);
				break;
			case 3:
				v = scpp_value_str("an extent value, longer than 16", 31);
				break;
			case 4:
				v = scpp_value_u64(e * 10 + a);
				break;
			case 5:
				assert_int_equal(scpp_store_map_create(s, L(e), a), 0);
				continue;
			default:
				mval_random(&m, &seed);
				set_mval(s, L(e), a, &m);
				continue;
			}
			assert_int_equal(scpp_store_set(s, L(e), a, &v), 0);
		}
	}
	for (unsigned int n = 1; n <= SCPP_STORE_BURST_MAX; n++) {
		for (int mode = 0; mode < 3; mode++) {
			for (unsigned int i = 0; i < n; i++) {
				uint32_t a = mode == 0 ? 1 + (uint32_t)test_rand_below(&seed, 3) :
					     mode == 1 ? 4 : (uint32_t)test_rand_below(&seed, 10);

				keys[i] = (struct scpp_store_key){
					L(test_rand_below(&seed, mode == 2 ? 17 : 16)), a, 0};
			}
			memset(vals, 0xee, sizeof(vals));
			assert_int_equal(scpp_store_get_burst(s, keys, n, vals, &mask), n);
			for (unsigned int i = 0; i < n; i++) {
				int rc = keys[i].attr == 0 ? -ENOENT :
					 scpp_store_get(s, keys[i].oid, keys[i].attr, &one);

				assert_int_equal((mask >> i) & 1, rc == 0);
				if (rc != 0)
					continue;
				assert_true(scpp_value_eq(&vals[i], &one));
				if (one.type == SCPP_VT_STR || one.type == SCPP_VT_BYTES)
					assert_ptr_equal(vals[i].p, one.p); /* borrowed, same bytes */
			}
			if (mode < 2)
				assert_true(mask == (n == 64 ? UINT64_MAX : (UINT64_C(1) << n) - 1));
		}
	}
	scpp_store_free(s);
}

/*
 * A table filled to its last entry with values of every width: the next
 * insert fails with ENOSPC and changes nothing; every value reads back in
 * one pass of bursts; after deleting everything the table refills to the
 * same count with other values.
 */
static void
test_layout_full_table_of_mixed_widths(void **state)
{
	enum { MAX = 300, NE = 30, NA = 12 };
	static struct mval model[NE][NA + 1];
	struct scpp_store *s = layout_shard(MAX);
	struct scpp_store_stats st0, st1;
	uint64_t seed = 7;
	(void)state;

	for (int round = 0; round < 2; round++) {
		uint64_t placed = 0;
		int rc = 0;

		memset(model, 0, sizeof(model));
		for (uint64_t e = 0; e < NE && rc == 0; e++) {
			rc = scpp_store_entity_create(s, L(e));
			if (rc != 0)
				break;
			placed++;
			for (uint32_t a = 1; a <= NA; a++) {
				struct mval m;
				struct scpp_value v;

				mval_random(&m, &seed);
				v = mval_value(&m);
				scpp_store_stats_get(s, &st0);
				rc = scpp_store_set(s, L(e), a, &v);
				if (rc != 0) {
					scpp_store_stats_get(s, &st1);
					assert_int_equal(rc, -ENOSPC);
					assert_true(memcmp(&st0, &st1, sizeof(st0)) == 0);
					break;
				}
				model[e][a] = m;
				placed++;
			}
		}
		assert_int_equal(placed, MAX); /* full to the last entry */
		for (uint64_t e = 0; e < NE; e++) {
			struct scpp_store_key keys[NA];
			struct scpp_value vals[NA];
			uint64_t mask;

			for (uint32_t a = 1; a <= NA; a++)
				keys[a - 1] = (struct scpp_store_key){L(e), a, 0};
			assert_int_equal(scpp_store_get_burst(s, keys, NA, vals, &mask), NA);
			for (uint32_t a = 1; a <= NA; a++) {
				assert_int_equal((mask >> (a - 1)) & 1, model[e][a].present);
				if (model[e][a].present)
					mval_check(&vals[a - 1], &model[e][a]);
				get_check(s, L(e), a, &model[e][a]);
			}
		}
		for (uint64_t e = 0; e < NE; e++) {
			rc = scpp_store_entity_delete(s, L(e));
			assert_true(rc == 0 || rc == -ENOENT);
		}
		scpp_store_stats_get(s, &st1);
		assert_true(st1.entities == 0 && st1.triples == 0 && st1.extent_used == 0);
	}
	scpp_store_free(s);
}

/*
 * 10^5 random sets (every type and width), deletes, byte resizes and
 * writes, entity deletes and re-creations, checked against a model: every
 * get, and every 500 operations every entity's attribute order and values
 * (through the cold links), a burst over random keys and the counts.
 */
struct lmodel {
	bool exists[24];
	struct mval v[24][13];
	uint32_t order[24][13]; /* attribute insertion order */
	unsigned int n[24];
};

static void
lm_unlink(struct lmodel *m, int e, uint32_t a)
{
	for (unsigned int i = 0; i < m->n[e]; i++)
		if (m->order[e][i] == a) {
			memmove(&m->order[e][i], &m->order[e][i + 1],
				(m->n[e] - i - 1) * sizeof(m->order[e][0]));
			m->n[e]--;
			return;
		}
	fail();
}

static void
lm_check_all(const struct scpp_store *s, const struct lmodel *m, uint64_t *seed)
{
	struct scpp_store_key keys[SCPP_STORE_BURST_MAX];
	struct scpp_value vals[SCPP_STORE_BURST_MAX];
	struct scpp_store_stats st;
	uint64_t ents = 0, triples = 0, mask;
	unsigned int ke[SCPP_STORE_BURST_MAX];

	for (int e = 0; e < 24; e++) {
		struct scpp_store_attr at[4];
		uint64_t cursor = 0;
		unsigned int k = 0;
		int n;

		assert_int_equal(scpp_store_entity_exists(s, L((uint64_t)e)), m->exists[e]);
		if (!m->exists[e])
			continue;
		ents++;
		triples += m->n[e];
		assert_int_equal(scpp_store_entity_count(s, L((uint64_t)e)), m->n[e]);
		/* Small pages: the cursor crosses entries of every width. */
		while ((n = scpp_store_attr_iter(s, L((uint64_t)e), &cursor, at, 3)) > 0)
			for (int i = 0; i < n; i++, k++) {
				assert_true(k < m->n[e]);
				assert_int_equal(at[i].attr, m->order[e][k]);
				mval_check(&at[i].value, &m->v[e][at[i].attr]);
			}
		assert_int_equal(k, m->n[e]);
	}
	for (unsigned int i = 0; i < SCPP_STORE_BURST_MAX; i++) {
		ke[i] = (unsigned int)test_rand_below(seed, 24);
		keys[i] = (struct scpp_store_key){L(ke[i]), 1 + (uint32_t)test_rand_below(seed, 12), 0};
	}
	assert_int_equal(scpp_store_get_burst(s, keys, SCPP_STORE_BURST_MAX, vals, &mask),
			 SCPP_STORE_BURST_MAX);
	for (unsigned int i = 0; i < SCPP_STORE_BURST_MAX; i++) {
		const struct mval *mv = &m->v[ke[i]][keys[i].attr];

		assert_int_equal((mask >> i) & 1, mv->present);
		if (mv->present)
			mval_check(&vals[i], mv);
	}
	scpp_store_stats_get(s, &st);
	assert_true(st.entities == ents && st.triples == triples);
}

static void
test_layout_random_deletes_and_reinserts_match_a_model(void **state)
{
	static struct lmodel m;
	struct scpp_store *s = layout_shard(24 * 13);
	uint64_t seed = 0x5eed;
	(void)state;

	memset(&m, 0, sizeof(m));
	for (int op = 0; op < 100000; op++) {
		int e = (int)test_rand_below(&seed, 24);
		uint32_t a = 1 + (uint32_t)test_rand_below(&seed, 12);
		struct mval *mv = &m.v[e][a];
		uint64_t r = test_rand_below(&seed, 100);
		struct scpp_value v;
		struct mval nv;
		int rc;

		if (r < 3) { /* entity delete or create */
			if (m.exists[e]) {
				assert_int_equal(scpp_store_entity_delete(s, L((uint64_t)e)), 0);
				memset(m.v[e], 0, sizeof(m.v[e]));
				m.n[e] = 0;
				m.exists[e] = false;
			} else {
				assert_int_equal(scpp_store_entity_create(s, L((uint64_t)e)), 0);
				m.exists[e] = true;
			}
		} else if (r < 60) { /* set */
			mval_random(&nv, &seed);
			v = mval_value(&nv);
			rc = scpp_store_set(s, L((uint64_t)e), a, &v);
			if (!m.exists[e]) {
				assert_int_equal(rc, -ENOENT);
				continue;
			}
			assert_int_equal(rc, 0);
			if (!mv->present)
				m.order[e][m.n[e]++] = a;
			*mv = nv;
		} else if (r < 80) { /* delete */
			rc = scpp_store_del(s, L((uint64_t)e), a);
			assert_int_equal(rc, mv->present ? 0 : -ENOENT);
			if (mv->present) {
				lm_unlink(&m, e, a);
				memset(mv, 0, sizeof(*mv));
			}
		} else if (r < 90) { /* resize a str/bytes value across the widths */
			uint32_t len = (uint32_t)test_rand_below(&seed, MODEL_LEN + 1);
			bool isb = mv->present && (mv->type == SCPP_VT_STR || mv->type == SCPP_VT_BYTES);

			rc = scpp_store_bytes_resize(s, L((uint64_t)e), a, len);
			if (!isb) {
				assert_true(rc == -ENOENT || rc == -EMEDIUMTYPE);
				continue;
			}
			assert_int_equal(rc, 0);
			if (len > mv->len)
				memset(mv->b + mv->len, 0, len - mv->len);
			mv->len = len;
		} else { /* byte write, or a read through get */
			bool isb = mv->present && (mv->type == SCPP_VT_STR || mv->type == SCPP_VT_BYTES);

			if (isb && mv->len > 0 && r < 95) {
				uint32_t off = (uint32_t)test_rand_below(&seed, mv->len);
				uint32_t n = 1 + (uint32_t)test_rand_below(&seed, mv->len - off);
				uint8_t buf[MODEL_LEN];

				for (uint32_t i = 0; i < n; i++)
					buf[i] = (uint8_t)test_rand(&seed);
				assert_int_equal(scpp_store_bytes_write(s, L((uint64_t)e), a, off, n, buf),
						 0);
				memcpy(mv->b + off, buf, n);
			}
			get_check(s, L((uint64_t)e), a, mv);
		}
		if (op % 500 == 499)
			lm_check_all(s, &m, &seed);
	}
	lm_check_all(s, &m, &seed);
	scpp_store_free(s);
}

const struct CMUnitTest store_layout_tests[] = {
	cmocka_unit_test(test_layout_width_changes_keep_values_links_and_neighbours),
	cmocka_unit_test(test_layout_reused_entries_carry_no_stale_cold_data),
	cmocka_unit_test(test_layout_get_burst_wide_and_narrow_every_size),
	cmocka_unit_test(test_layout_full_table_of_mixed_widths),
	cmocka_unit_test(test_layout_random_deletes_and_reinserts_match_a_model),
};
const size_t store_layout_ntests = SCPP_ARRAY_SIZE(store_layout_tests);
