/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of scpp_store_get_burst() against the one-at-a-time get
 * (docs/STORE.md "Burst lookup"): the burst takes a straight line for the
 * usual key (first candidate of the home bucket, narrow value) and the
 * single get's probe for every other one, over lines its stages prefetched.
 * Each test compares every returned value byte for byte with what
 * scpp_store_get() writes into an output filled with the same pattern, the
 * hit mask with get's return codes, and the shard's probe counter moved by
 * the burst with the one moved by the same gets one by one; burst sizes 0,
 * 1, odd sizes, the unroll boundaries and SCPP_STORE_BURST_MAX. The keys
 * are random over a shard at the load the daemon runs at (55-60 %, some
 * buckets overflowed), and
 * adversarial: many keys of one home bucket (spilled over the next
 * buckets), present keys sharing a tag in one bucket (the first candidate
 * is the wrong entry), absent keys whose tag matches a present one, entity
 * headers (attr 0), maps and wide values among them.
 *
 * The adversarial sets are found with the shard's own hash (store_priv.h),
 * under a fixed seed.
 *
 * Every check also runs the hashed entry points, scpp_store_get_burst_hashed()
 * and scpp_store_get_hashed() with scpp_store_hash()'s hashes, which must
 * give the same bytes, mask and probes; and with hashes of other keys,
 * which may make a present key miss but must never return another key's
 * value (the contract in scpp_store.h). The candidate entry points
 * (scpp_store_get_burst_cand(), scpp_store_get_cand(), docs/STORE.md
 * "Candidate entry points") must give exactly what the hashed ones give for
 * the same hashes, with no fallback when the candidates are fresh, and one
 * per key whose candidate was made for another hash; the last tests make
 * them stale by changing the index between the prefetch and the get.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "scpp_test.h"
#include "scpp_common.h"
#include "scpp_store.h"
#include "store_priv.h"

#include "store_test.h"

#define BT_ENTRIES 4096

static const char bt_text[] = "0123456789abcdefghijklmnopqrstuvwxyz-a-string-longer-than-inline";

static struct scpp_store *
bt_shard(void)
{
	return store_test_shard(BT_ENTRIES, 0xb0b5);
}

static struct scpp_oid
B(uint64_t i)
{
	return scpp_oid_make(0, 7, 0, 3, 9000 + i);
}

/* A value of one of every kind the store keeps, chosen by @k. */
static struct scpp_value
bt_value(uint64_t k)
{
	switch (k % 9) {
	case 0:
		return scpp_value_u64(k);
	case 1:
		return scpp_value_i64(-(int64_t)k);
	case 2:
		return scpp_value_f64((double)k / 7);
	case 3:
		return scpp_value_bool(k & 16);
	case 4:
		return scpp_value_nil();
	case 5:
		return scpp_value_oid(B(k));
	case 6: /* inline string, 0..16 bytes */
		return scpp_value_str(bt_text, (uint32_t)(k % 17));
	case 7: /* an extent */
		return scpp_value_bytes(bt_text, (uint32_t)(17 + k % 40));
	default:
		return scpp_value_u64(~k);
	}
}

/*
 * scpp_store_get_burst_cand() of @keys with hashes @hs and candidates @cs
 * gives exactly what scpp_store_get_burst_hashed() gives (bytes, mask,
 * probes), and counts @fallbacks stale candidates.
 */
static void
bt_burst_vs_hashed(const struct scpp_store *s, const struct scpp_store_key *keys,
		   const uint64_t *hs, const struct scpp_store_cand *cs, unsigned int n,
		   uint64_t fallbacks)
{
	struct scpp_value want[SCPP_STORE_BURST_MAX], got[SCPP_STORE_BURST_MAX];
	const uint64_t *probes = scpp_store_probe_counter(s);
	uint64_t want_mask = 1, mask = 2, p0, p_want, f0;

	memset(want, 0xa5, sizeof(want));
	memset(got, 0xa5, sizeof(got));
	p0 = *probes;
	assert_int_equal(scpp_store_get_burst_hashed(s, keys, hs, n, want, &want_mask), n);
	p_want = *probes - p0;
	f0 = scpp_store_cand_fallbacks(s);
	p0 = *probes;
	assert_int_equal(scpp_store_get_burst_cand(s, keys, hs, cs, n, got, &mask), n);
	assert_true(*probes - p0 == p_want);
	assert_true(mask == want_mask);
	assert_memory_equal(got, want, n * sizeof(got[0]));
	assert_true(scpp_store_cand_fallbacks(s) - f0 == fallbacks);
}

/*
 * The candidate gets of @keys with hashes @hs, from the candidates the
 * prefetch made for @made (the keys' own hashes), give exactly what the
 * hashed gets give for @hs: bytes, mask, error codes and probes. Every key
 * whose @hs differs from @made falls back (counted), no other does; a
 * single get of attribute 0 is refused (-EINVAL) before its candidate is
 * looked at.
 */
static void
bt_check_cand(const struct scpp_store *s, const struct scpp_store_key *keys, const uint64_t *made,
	      const uint64_t *hs, unsigned int n)
{
	struct scpp_value got[SCPP_STORE_BURST_MAX], a, b;
	struct scpp_store_cand cs[SCPP_STORE_BURST_MAX];
	const uint64_t *probes = scpp_store_probe_counter(s);
	uint64_t mask, p0, p_want, f0 = scpp_store_cand_fallbacks(s);
	uint64_t stale = 0, stale_valid = 0;

	p0 = *probes;
	scpp_store_prefetch_cand(s, made, n, cs);
	assert_true(*probes == p0); /* a prefetch counts no probe */
	for (unsigned int i = 0; i < n; i++) {
		assert_true(cs[i].hash == made[i]);
		stale += hs[i] != made[i];
		stale_valid += hs[i] != made[i] && keys[i].attr != SCPP_STORE_ATTR_NONE;
	}
	bt_burst_vs_hashed(s, keys, hs, cs, n, stale);
	for (unsigned int i = 0; i < n; i++) {
		int ra, rb;

		memset(&a, 0xa5, sizeof(a));
		memset(&b, 0xa5, sizeof(b));
		p0 = *probes;
		ra = scpp_store_get_hashed(s, keys[i].oid, keys[i].attr, hs[i], &a);
		p_want = *probes - p0;
		p0 = *probes;
		rb = scpp_store_get_cand(s, &keys[i], hs[i], &cs[i], &b);
		assert_int_equal(rb, ra);
		assert_true(*probes - p0 == p_want);
		assert_memory_equal(&b, &a, sizeof(a));
	}
	assert_true(scpp_store_cand_fallbacks(s) - f0 == stale + stale_valid);
	/* Over the burst maximum nothing is read or written. */
	mask = 1;
	assert_int_equal(scpp_store_get_burst_cand(s, keys, hs, cs, SCPP_STORE_BURST_MAX + 1, got,
						   &mask), 0);
	assert_true(mask == 0);
}

/*
 * The hashed entry points on @keys with their own hashes give @want (what
 * scpp_store_get() wrote, 0xa5 for a miss), @want_mask and @want_probes;
 * with every hash replaced by another key's (the next key's, or a random
 * one), a hit is still byte for byte the key's own value.
 */
static void
bt_check_hashed(const struct scpp_store *s, const struct scpp_store_key *keys, unsigned int n,
		const struct scpp_value *want, uint64_t want_mask, uint64_t want_probes)
{
	struct scpp_value got[SCPP_STORE_BURST_MAX], one;
	const uint64_t *probes = scpp_store_probe_counter(s);
	uint64_t hs[SCPP_STORE_BURST_MAX], mask = ~UINT64_C(0), p0;

	for (unsigned int i = 0; i < n; i++) {
		hs[i] = scpp_store_hash(s, keys[i].oid, keys[i].attr);
		/* The hash is the one the lookups and the prefetch use. */
		assert_true(hs[i] == store_key_hash(s, keys[i].oid, keys[i].attr));
		assert_true(hs[i] == scpp_store_prefetch(s, keys[i].oid, keys[i].attr));
	}
	{
		uint64_t hb[SCPP_STORE_BURST_MAX];

		/* The stage's form: all keys in one call, then their entries;
		 * neither counts a probe. */
		p0 = *probes;
		scpp_store_prefetch_burst(s, keys, n, hb);
		scpp_store_prefetch_entries(s, hb, n);
		assert_true(*probes == p0);
		assert_memory_equal(hb, hs, n * sizeof(hs[0]));
	}
	memset(got, 0xa5, sizeof(got));
	p0 = *probes;
	assert_int_equal(scpp_store_get_burst_hashed(s, keys, hs, n, got, &mask), n);
	assert_true(*probes - p0 == want_probes);
	assert_true(mask == want_mask);
	assert_memory_equal(got, want, n * sizeof(got[0]));
	for (unsigned int i = 0; i < n; i++) {
		int rc;

		memset(&one, 0xa5, sizeof(one));
		rc = scpp_store_get_hashed(s, keys[i].oid, keys[i].attr, hs[i], &one);
		assert_int_equal(rc == 0, (want_mask >> i) & 1);
		assert_memory_equal(&one, &want[i], sizeof(one));
	}
	bt_check_cand(s, keys, hs, hs, n);
	/* Hashes of other keys: never another key's value. */
	for (int variant = 0; variant < 2 && n > 0; variant++) {
		uint64_t wrong[SCPP_STORE_BURST_MAX];

		for (unsigned int i = 0; i < n; i++)
			wrong[i] = variant == 0 ? hs[(i + 1) % n] : hs[i] * UINT64_C(0x9e3779b97f4a7c15) + i;
		memset(got, 0xa5, sizeof(got));
		assert_int_equal(scpp_store_get_burst_hashed(s, keys, wrong, n, got, &mask), n);
		assert_true((mask & ~want_mask) == 0); /* no hit where get misses */
		for (unsigned int i = 0; i < n; i++) {
			if ((mask >> i) & 1) {
				assert_memory_equal(&got[i], &want[i], sizeof(got[i]));
			} else {
				memset(&one, 0xa5, sizeof(one));
				assert_memory_equal(&got[i], &one, sizeof(one)); /* untouched */
			}
			memset(&one, 0xa5, sizeof(one));
			if (scpp_store_get_hashed(s, keys[i].oid, keys[i].attr, wrong[i], &one) == 0)
				assert_memory_equal(&one, &want[i], sizeof(one));
		}
		/* Candidates of the right hashes are not used for wrong ones. */
		bt_check_cand(s, keys, hs, wrong, n);
	}
	/* Over the burst maximum nothing is read or written. */
	mask = 1;
	assert_int_equal(scpp_store_get_burst_hashed(s, keys, hs, SCPP_STORE_BURST_MAX + 1, got,
						     &mask), 0);
	assert_true(mask == 0);
}

/*
 * The burst and the single gets of @keys agree byte for byte, and probe the
 * same buckets. Returns the probes the gets made (so a caller can assert
 * that keys past their home bucket were among them).
 */
static uint64_t
bt_check(const struct scpp_store *s, const struct scpp_store_key *keys, unsigned int n)
{
	struct scpp_value got[SCPP_STORE_BURST_MAX], want[SCPP_STORE_BURST_MAX];
	const uint64_t *probes = scpp_store_probe_counter(s);
	uint64_t mask = ~UINT64_C(0), p0, p_burst, p_single;

	memset(got, 0xa5, sizeof(got));
	memset(want, 0xa5, sizeof(want));
	p0 = *probes;
	assert_int_equal(scpp_store_get_burst(s, keys, n, got, &mask), n);
	p_burst = *probes - p0;
	p0 = *probes;
	for (unsigned int i = 0; i < n; i++) {
		int rc = scpp_store_get(s, keys[i].oid, keys[i].attr, &want[i]);

		assert_true(rc == 0 || rc == -ENOENT || rc == -EMEDIUMTYPE || rc == -EINVAL);
		assert_int_equal((mask >> i) & 1, rc == 0);
		if (rc != 0) /* a miss leaves the output as it was */
			memset(&want[i], 0xa5, sizeof(want[i]));
	}
	p_single = *probes - p0;
	assert_memory_equal(got, want, n * sizeof(got[0]));
	assert_true(n == 64 || (mask >> n) == 0);
	assert_true(p_burst == p_single);
	bt_check_hashed(s, keys, n, want, mask, p_single);
	return p_single;
}

/* Burst sizes: 0, 1, odd, the unroll boundaries, the maximum. */
static const unsigned int bt_sizes[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33,
					 47, 63, SCPP_STORE_BURST_MAX};

/* Shard of random triples at 55-60 % slot load; returns how many entities. */
static uint64_t
bt_fill_random(struct scpp_store *s, uint64_t *seed)
{
	uint64_t ne = 0, e;

	/* Entities of 1..8 attributes (ids 1..12, some skipped) until the
	 * table holds 97 % of max_entries (58 % of the slots); a map on some. */
	for (e = 0; e < BT_ENTRIES; e++) {
		unsigned int na = 1 + (unsigned int)test_rand_below(seed, 8);
		struct scpp_store_stats st;

		scpp_store_stats_get(s, &st);
		if (st.triples + st.entities + na + 1 > BT_ENTRIES * 97 / 100)
			break;
		assert_int_equal(scpp_store_entity_create(s, B(e)), 0);
		for (unsigned int a = 1; a <= 12 && na > 0; a++) {
			struct scpp_value v = bt_value(test_rand(seed));

			if (test_rand_below(seed, 3) == 0)
				continue;
			na--;
			if (e % 97 == 5 && a == 2) {
				struct scpp_value k = scpp_value_u64(e);

				assert_int_equal(scpp_store_map_set(s, B(e), a, &k, &v), 0);
			} else {
				assert_int_equal(scpp_store_set(s, B(e), a, &v), 0);
			}
		}
		ne++;
	}
	return ne;
}

static void
test_burst_random_keys_match_single_gets_every_size(void **state)
{
	struct scpp_store *s = bt_shard();
	struct scpp_store_key keys[SCPP_STORE_BURST_MAX];
	struct scpp_store_stats st;
	uint64_t seed = 0x5eb0, ne, probes = 0;
	(void)state;

	ne = bt_fill_random(s, &seed);
	scpp_store_stats_get(s, &st);
	assert_true(st.load_factor > 0.55 && st.overflow_buckets > 0);
	for (unsigned int t = 0; t < SCPP_ARRAY_SIZE(bt_sizes); t++) {
		for (int rep = 0; rep < 200; rep++) {
			unsigned int n = bt_sizes[t];

			for (unsigned int i = 0; i < n; i++) {
				/* Present and absent entities, attr 0 (header)
				 * to 13 (never set). */
				keys[i].oid = B(test_rand_below(&seed, ne + ne / 8));
				keys[i].attr = (uint32_t)test_rand_below(&seed, 14);
				keys[i].rsv = (uint32_t)test_rand(&seed); /* ignored */
			}
			if (n > 2)
				keys[n - 1] = keys[n / 2]; /* a repeat */
			probes += bt_check(s, keys, n);
		}
	}
	/* Some keys lived past their home bucket: the spill path ran. */
	assert_true(probes > 0);
	scpp_store_free(s);
}

/* Entities e (attr 1) whose key has home bucket @home, up to @max. */
static unsigned int
bt_keys_of_bucket(const struct scpp_store *s, uint32_t home, uint64_t from, uint64_t *out,
		  unsigned int max)
{
	unsigned int n = 0;

	for (uint64_t e = from; n < max && e < from + 10000000; e++)
		if (home_bucket(store_key_hash(s, B(e), 1), s->nb) == home)
			out[n++] = e;
	return n;
}

/* Index of the first of same[from..n) whose tag is @tag, or n. */
static unsigned int
bt_find_tag(const struct scpp_store *s, const uint64_t *same, unsigned int from, unsigned int n,
	    uint8_t tag)
{
	for (; from < n; from++)
		if (tag_of(store_key_hash(s, B(same[from]), 1)) == tag)
			break;
	return from;
}

static void
swap_u64(uint64_t *a, uint64_t *b)
{
	uint64_t t = *a;

	*a = *b;
	*b = t;
}

#define BT_SAME 96    /* keys of one home bucket */
#define BT_PRESENT 40 /* of them inserted: the bucket and three more */

static void
test_burst_adversarial_keys_match_single_gets(void **state)
{
	struct scpp_store *s = bt_shard();
	struct scpp_store_key keys[SCPP_STORE_BURST_MAX], pool[3 * BT_SAME];
	uint64_t same[BT_SAME], seed = 0xad5e, probes = 0;
	unsigned int npool = 0, i, j = BT_SAME, k = BT_SAME;
	uint32_t home = s->nb / 2;
	(void)state;

	assert_int_equal(bt_keys_of_bucket(s, home, 0, same, BT_SAME), BT_SAME);
	/* Two keys of the bucket that share a tag go in first, so both sit in
	 * the home bucket and a get of the second meets the first as its first
	 * candidate; and an absent key shares a tag with a present one of the
	 * home bucket, so its get meets a candidate that is not it. */
	for (i = 0; i < BT_SAME && j == BT_SAME; i++)
		j = bt_find_tag(s, same, i + 1, BT_SAME, tag_of(store_key_hash(s, B(same[i]), 1)));
	assert_true(j < BT_SAME);
	swap_u64(&same[0], &same[i - 1]);
	swap_u64(&same[1], &same[j]);
	for (i = 0; i < BUCKET_SLOTS && k == BT_SAME; i++)
		k = bt_find_tag(s, same, BT_PRESENT, BT_SAME,
				tag_of(store_key_hash(s, B(same[i]), 1)));
	assert_true(k < BT_SAME);
	for (i = 0; i < BT_SAME; i++) {
		struct scpp_value v = bt_value(i);

		if (i < BT_PRESENT) {
			assert_int_equal(scpp_store_entity_create(s, B(same[i])), 0);
			assert_int_equal(scpp_store_set(s, B(same[i]), 1, &v), 0);
			/* Wide and narrow values, a map, next to them. */
			v = bt_value(5 + i);
			if (i == 3)
				assert_int_equal(scpp_store_map_create(s, B(same[i]), 2), 0);
			else
				assert_int_equal(scpp_store_set(s, B(same[i]), 2 + i % 3, &v), 0);
			pool[npool++] = (struct scpp_store_key){B(same[i]), 2 + i % 3, 0};
		}
		pool[npool++] = (struct scpp_store_key){B(same[i]), 1, 0};
		pool[npool++] = (struct scpp_store_key){B(same[i]), 0, 0}; /* header */
	}
	/* The bucket spilled over the next ones. */
	assert_true(s->bk[home].overflow > 0 && s->bk[next_bucket(home, s->nb)].overflow > 0);
	assert_true(npool <= SCPP_ARRAY_SIZE(pool));

	for (unsigned int t = 0; t < SCPP_ARRAY_SIZE(bt_sizes); t++) {
		for (int rep = 0; rep < 100; rep++) {
			unsigned int n = bt_sizes[t];

			for (i = 0; i < n; i++)
				keys[i] = pool[test_rand_below(&seed, npool)];
			probes += bt_check(s, keys, n);
		}
	}
	/* The tag-sharing keys alone, and all of the pool in order. */
	keys[0] = (struct scpp_store_key){B(same[1]), 1, 0};
	keys[1] = (struct scpp_store_key){B(same[k]), 1, 0};
	keys[2] = (struct scpp_store_key){B(same[0]), 1, 0};
	for (i = 1; i <= 3; i++)
		bt_check(s, keys, i);
	for (i = 0; i < npool; i += SCPP_STORE_BURST_MAX)
		probes += bt_check(s, pool + i, SCPP_MIN(npool - i, SCPP_STORE_BURST_MAX));
	assert_true(probes > 0);
	scpp_store_free(s);
}

/* set_burst shares the burst's probe stages: on the adversarial bucket it
 * updates exactly the triples set one by one would. */
static void
test_burst_set_on_a_spilled_bucket_matches_single_sets(void **state)
{
	struct scpp_store *a = bt_shard(), *b = bt_shard();
	struct scpp_store_key keys[SCPP_STORE_BURST_MAX];
	struct scpp_value vals[SCPP_STORE_BURST_MAX];
	uint64_t same[SCPP_STORE_BURST_MAX];
	unsigned int n = bt_keys_of_bucket(a, a->nb / 3, 0, same, SCPP_STORE_BURST_MAX);
	(void)state;

	assert_int_equal(n, SCPP_STORE_BURST_MAX);
	for (unsigned int i = 0; i < n; i++) {
		struct scpp_value v = scpp_value_u64(i);

		keys[i] = (struct scpp_store_key){B(same[i]), 1, 0};
		vals[i] = bt_value(i * 7 + 3);
		assert_int_equal(scpp_store_entity_create(a, B(same[i])), 0);
		assert_int_equal(scpp_store_entity_create(b, B(same[i])), 0);
		if (i % 2 == 0) { /* half are updates, half inserts */
			assert_int_equal(scpp_store_set(a, B(same[i]), 1, &v), 0);
			assert_int_equal(scpp_store_set(b, B(same[i]), 1, &v), 0);
		}
	}
	assert_int_equal(scpp_store_set_burst(a, keys, vals, n), n);
	for (unsigned int i = 0; i < n; i++)
		assert_int_equal(scpp_store_set(b, keys[i].oid, keys[i].attr, &vals[i]), 0);
	for (unsigned int i = 0; i < n; i += 16)
		bt_check(a, keys + i, 16);
	for (unsigned int i = 0; i < n; i++) {
		struct scpp_value x, y;

		memset(&x, 0, sizeof(x));
		memset(&y, 0, sizeof(y));
		assert_int_equal(scpp_store_get(a, keys[i].oid, 1, &x), 0);
		assert_int_equal(scpp_store_get(b, keys[i].oid, 1, &y), 0);
		assert_true(scpp_value_eq(&x, &y));
	}
	scpp_store_free(a);
	scpp_store_free(b);
}

/* A str/bytes value of at most NARROW_BYTES_MAX bytes is narrow: a get
 * (single, burst or hashed) borrows it from the hot entry, the one line the
 * key compare read, and 9..16 bytes from the cold part. */
static void
test_burst_short_bytes_come_from_the_hot_entry(void **state)
{
	struct scpp_store *s = bt_shard();
	struct scpp_store_key keys[17];
	struct scpp_value got[17], one;
	const uint8_t *hot0 = (const uint8_t *)s->ent;
	const uint8_t *hot1 = (const uint8_t *)(s->ent + BT_ENTRIES);
	uint64_t mask = 0;
	(void)state;

	assert_int_equal(scpp_store_entity_create(s, B(1)), 0);
	for (uint32_t len = 0; len <= 16; len++) {
		struct scpp_value v = scpp_value_bytes(bt_text + len, len);

		if (len % 2 == 1)
			v.type = SCPP_VT_STR;
		assert_int_equal(scpp_store_set(s, B(1), 1 + len, &v), 0);
		keys[len] = (struct scpp_store_key){B(1), 1 + len, 0};
	}
	memset(got, 0xa5, sizeof(got));
	assert_int_equal(scpp_store_get_burst(s, keys, 17, got, &mask), 17);
	assert_true(mask == 0x1ffff);
	for (uint32_t len = 0; len <= 16; len++) {
		bool hot = got[len].p >= hot0 && got[len].p < hot1;

		assert_int_equal(got[len].type, len % 2 == 1 ? SCPP_VT_STR : SCPP_VT_BYTES);
		assert_int_equal(got[len].len, len);
		assert_memory_equal(got[len].p, bt_text + len, len);
		assert_int_equal(hot, len <= NARROW_BYTES_MAX);
		memset(&one, 0xa5, sizeof(one));
		assert_int_equal(scpp_store_get(s, B(1), 1 + len, &one), 0);
		assert_memory_equal(&one, &got[len], sizeof(one));
	}
	/* The bytes ops see the same bytes where they live. */
	assert_int_equal(scpp_store_bytes_write(s, B(1), 1 + 8, 2, 3, "XYZ"), 0);
	assert_int_equal(scpp_store_get(s, B(1), 1 + 8, &one), 0);
	assert_memory_equal(one.p, "89XYZ", 5);
	scpp_store_free(s);
}

/*
 * The single candidate get of @key from @cand gives exactly what the hashed
 * get gives (code, bytes, probes), and moves the fallback counter by
 * @fallbacks. Returns the code.
 */
static int
bt_cand_one(const struct scpp_store *s, struct scpp_store_key key,
	    const struct scpp_store_cand *cand, uint64_t fallbacks, uint64_t *probes_out)
{
	const uint64_t *probes = scpp_store_probe_counter(s);
	uint64_t h = store_key_hash(s, key.oid, key.attr), p0, p_want, f0;
	struct scpp_value a, b;
	int ra, rb;

	memset(&a, 0xa5, sizeof(a));
	memset(&b, 0xa5, sizeof(b));
	p0 = *probes;
	ra = scpp_store_get_hashed(s, key.oid, key.attr, h, &a);
	p_want = *probes - p0;
	f0 = scpp_store_cand_fallbacks(s);
	p0 = *probes;
	rb = scpp_store_get_cand(s, &key, h, cand, &b);
	assert_int_equal(rb, ra);
	assert_true(*probes - p0 == p_want);
	assert_memory_equal(&b, &a, sizeof(a));
	assert_true(scpp_store_cand_fallbacks(s) - f0 == fallbacks);
	if (probes_out != NULL)
		*probes_out = p_want;
	return ra;
}

/* The burst form of bt_cand_one() for @n keys and their candidates. */
static void
bt_cand_burst(const struct scpp_store *s, const struct scpp_store_key *keys, unsigned int n,
	      const struct scpp_store_cand *cs, uint64_t fallbacks)
{
	uint64_t hs[SCPP_STORE_BURST_MAX];

	for (unsigned int i = 0; i < n; i++)
		hs[i] = store_key_hash(s, keys[i].oid, keys[i].attr);
	bt_burst_vs_hashed(s, keys, hs, cs, n, fallbacks);
}

/* The candidates of @n keys, as the stage makes them. */
static void
bt_cands(const struct scpp_store *s, const struct scpp_store_key *keys, unsigned int n,
	 struct scpp_store_cand *cs)
{
	uint64_t hs[SCPP_STORE_BURST_MAX];

	for (unsigned int i = 0; i < n; i++)
		hs[i] = store_key_hash(s, keys[i].oid, keys[i].attr);
	scpp_store_prefetch_cand(s, hs, n, cs);
}

/*
 * Changing a value in place (a set of an existing triple, a ranged write)
 * leaves the index alone: the candidates stay fresh, no fallback, and the
 * get returns the new value, read at get time.
 */
static void
test_cand_fresh_after_a_set_in_place_returns_the_new_value(void **state)
{
	struct scpp_store *s = bt_shard();
	struct scpp_store_key keys[3];
	struct scpp_store_cand cs[3];
	struct scpp_value v = scpp_value_u64(1), out;
	(void)state;

	for (unsigned int i = 0; i < 3; i++) {
		assert_int_equal(scpp_store_entity_create(s, B(i)), 0);
		assert_int_equal(scpp_store_set(s, B(i), 1, &v), 0);
		keys[i] = (struct scpp_store_key){B(i), 1, 0};
	}
	v = scpp_value_str("abcd", 4);
	assert_int_equal(scpp_store_set(s, B(2), 1, &v), 0);
	bt_cands(s, keys, 3, cs);
	for (unsigned int i = 0; i < 3; i++)
		assert_ptr_equal(cs[i].entry,
				 &s->ent[store_find(s, cs[i].hash, keys[i].oid, keys[i].attr)]);
	v = scpp_value_u64(77);
	assert_int_equal(scpp_store_set(s, B(0), 1, &v), 0);
	v = scpp_value_bytes(bt_text, 30); /* narrow to wide, same entry */
	assert_int_equal(scpp_store_set(s, B(1), 1, &v), 0);
	assert_int_equal(scpp_store_bytes_write(s, B(2), 1, 1, 2, "XY"), 0);
	assert_int_equal(bt_cand_one(s, keys[0], &cs[0], 0, NULL), 0);
	assert_int_equal(bt_cand_one(s, keys[1], &cs[1], 0, NULL), 0);
	assert_int_equal(bt_cand_one(s, keys[2], &cs[2], 0, NULL), 0);
	bt_cand_burst(s, keys, 3, cs, 0);
	memset(&out, 0, sizeof(out));
	assert_int_equal(scpp_store_get_cand(s, &keys[0], cs[0].hash, &cs[0], &out), 0);
	assert_int_equal(out.type, SCPP_VT_U64);
	assert_true(out.u == 77);
	assert_int_equal(scpp_store_get_cand(s, &keys[2], cs[2].hash, &cs[2], &out), 0);
	assert_memory_equal(out.p, "aXYd", 4);
	/* Bad arguments are refused before the candidate is looked at. */
	keys[0].attr = SCPP_STORE_ATTR_NONE;
	assert_int_equal(scpp_store_get_cand(s, &keys[0], cs[0].hash, &cs[0], &out), -EINVAL);
	keys[0].attr = 1;
	assert_int_equal(scpp_store_get_cand(NULL, &keys[0], cs[0].hash, &cs[0], &out), -EINVAL);
	assert_int_equal(scpp_store_get_cand(s, &keys[0], cs[0].hash, &cs[0], NULL), -EINVAL);
	assert_true(scpp_store_cand_fallbacks(s) == 0);
	scpp_store_free(s);
}

/* A delete between the prefetch and the get: the candidate still names the
 * freed entry; the get takes the full lookup (a miss, as get says). */
static void
test_cand_stale_after_a_delete_falls_back(void **state)
{
	struct scpp_store *s = bt_shard();
	struct scpp_store_key keys[2] = {{B(1), 1, 0}, {B(2), 1, 0}};
	struct scpp_store_cand cs[2];
	struct scpp_value v = scpp_value_u64(5);
	(void)state;

	for (unsigned int i = 0; i < 2; i++) {
		assert_int_equal(scpp_store_entity_create(s, keys[i].oid), 0);
		assert_int_equal(scpp_store_set(s, keys[i].oid, 1, &v), 0);
	}
	bt_cands(s, keys, 2, cs);
	assert_non_null(cs[0].entry);
	assert_int_equal(scpp_store_del(s, B(1), 1), 0);
	assert_int_equal(bt_cand_one(s, keys[0], &cs[0], 1, NULL), -ENOENT);
	/* One change makes every older candidate stale, the untouched key's
	 * too (a hit all the same). */
	assert_int_equal(bt_cand_one(s, keys[1], &cs[1], 1, NULL), 0);
	bt_cand_burst(s, keys, 2, cs, 2);
	assert_true(scpp_store_cand_fallbacks(s) == 4);
	scpp_store_free(s);
}

/*
 * The case the stamp is for: key A is its home bucket's first candidate
 * when prefetched; then A is deleted, another key of the bucket takes A's
 * slot, and A is set again, with the same entry (the free list gives it
 * back) but in a spilled slot of the next bucket. The stale candidate is
 * still A's own entry, so trusting it would return A's value with no probe
 * counted, where the full lookup counts one (and charges it as a step).
 */
static void
test_cand_stale_after_a_reinsert_into_a_spilled_slot_falls_back(void **state)
{
	struct scpp_store *s = bt_shard();
	struct scpp_store_key keys[3];
	struct scpp_store_cand cs[3];
	struct scpp_value v = scpp_value_u64(1);
	uint32_t home = s->nb / 4, xa;
	uint64_t same[14], ha, probes = 0;
	unsigned int i;
	(void)state;

	assert_int_equal(bt_keys_of_bucket(s, home, 0, same, 14), 14);
	for (i = 0; i < 14; i++)
		assert_int_equal(scpp_store_entity_create(s, B(same[i])), 0);
	/* Another triple, elsewhere, to free right after A's entry. */
	assert_int_equal(scpp_store_entity_create(s, B(100000)), 0);
	assert_int_equal(scpp_store_set(s, B(100000), 1, &v), 0);
	/* Home bucket full: 12 (or fewer, if headers live there) of these
	 * 13 in it, the rest spilled; A (same[0]) went in first, at home. */
	for (i = 0; i < 13; i++)
		assert_int_equal(scpp_store_set(s, B(same[i]), 1, &v), 0);
	assert_true(tag_match(&s->bk[home], 0) == 0 && s->bk[home].overflow > 0);
	keys[0] = (struct scpp_store_key){B(same[0]), 1, 0};
	keys[1] = (struct scpp_store_key){B(same[1]), 1, 0};
	keys[2] = (struct scpp_store_key){B(same[12]), 1, 0};
	ha = store_key_hash(s, keys[0].oid, 1);
	xa = store_find(s, ha, keys[0].oid, 1);
	bt_cands(s, keys, 3, cs);
	assert_ptr_equal(cs[0].entry, &s->ent[xa]);
	assert_int_equal(bt_cand_one(s, keys[0], &cs[0], 0, &probes), 0);
	assert_true(probes == 0); /* at home, first candidate */

	assert_int_equal(scpp_store_del(s, keys[0].oid, 1), 0);
	assert_int_equal(scpp_store_del(s, B(100000), 1), 0);
	assert_int_equal(scpp_store_set(s, B(same[13]), 1, &v), 0); /* takes A's slot */
	v = scpp_value_u64(2);
	assert_int_equal(scpp_store_set(s, keys[0].oid, 1, &v), 0);
	/* A is back in its old entry, past its home bucket. */
	assert_int_equal(store_find(s, ha, keys[0].oid, 1), xa);
	assert_int_equal(bt_cand_one(s, keys[0], &cs[0], 1, &probes), 0);
	assert_true(probes == 1);
	bt_cand_burst(s, keys, 3, cs, 3);
	/* New candidates are fresh again, and take the same probe. */
	bt_cands(s, keys, 3, cs);
	assert_int_equal(bt_cand_one(s, keys[0], &cs[0], 0, &probes), 0);
	assert_true(probes == 1);
	bt_cand_burst(s, keys, 3, cs, 0);
	scpp_store_free(s);
}

/* A byte-string resize and a clear between the prefetch and the get make
 * the candidates stale too; a clear does not set the stamp back, so the
 * same key set again after it, in the same entry and slot, still falls
 * back. */
static void
test_cand_stale_after_a_resize_or_a_clear_falls_back(void **state)
{
	struct scpp_store *s = bt_shard();
	struct scpp_store_key key = {B(1), 1, 0};
	struct scpp_store_cand c, c2;
	struct scpp_value v = scpp_value_str("abcd", 4), out;
	(void)state;

	assert_int_equal(scpp_store_entity_create(s, B(1)), 0);
	assert_int_equal(scpp_store_set(s, B(1), 1, &v), 0);
	bt_cands(s, &key, 1, &c);
	assert_int_equal(scpp_store_bytes_resize(s, B(1), 1, 40), 0); /* to an extent */
	assert_int_equal(bt_cand_one(s, key, &c, 1, NULL), 0);
	memset(&out, 0, sizeof(out));
	assert_int_equal(scpp_store_get_cand(s, &key, c.hash, &c, &out), 0);
	assert_int_equal(out.len, 40);
	assert_memory_equal(out.p, "abcd", 4);
	/* A failed resize changes nothing: the candidate stays fresh. */
	bt_cands(s, &key, 1, &c);
	assert_int_equal(scpp_store_bytes_resize(s, B(1), 1, UINT64_C(1) << 20), -E2BIG);
	assert_int_equal(bt_cand_one(s, key, &c, 0, NULL), 0);

	assert_int_equal(scpp_store_clear(s), 0);
	assert_int_equal(bt_cand_one(s, key, &c, 1, NULL), -ENOENT);
	assert_int_equal(scpp_store_entity_create(s, B(1)), 0);
	assert_int_equal(scpp_store_set(s, B(1), 1, &v), 0);
	bt_cands(s, &key, 1, &c2);
	assert_true(c2.stamp != c.stamp);
	assert_int_equal(bt_cand_one(s, key, &c, 1, NULL), 0);
	assert_int_equal(bt_cand_one(s, key, &c2, 0, NULL), 0);
	scpp_store_free(s);
}

const struct CMUnitTest store_burst_tests[] = {
	cmocka_unit_test(test_burst_short_bytes_come_from_the_hot_entry),
	cmocka_unit_test(test_burst_random_keys_match_single_gets_every_size),
	cmocka_unit_test(test_burst_adversarial_keys_match_single_gets),
	cmocka_unit_test(test_burst_set_on_a_spilled_bucket_matches_single_sets),
	cmocka_unit_test(test_cand_fresh_after_a_set_in_place_returns_the_new_value),
	cmocka_unit_test(test_cand_stale_after_a_delete_falls_back),
	cmocka_unit_test(test_cand_stale_after_a_reinsert_into_a_spilled_slot_falls_back),
	cmocka_unit_test(test_cand_stale_after_a_resize_or_a_clear_falls_back),
};
const size_t store_burst_ntests = SCPP_ARRAY_SIZE(store_burst_tests);
