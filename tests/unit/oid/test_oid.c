/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "scpp_test.h"
#include "scpp_common.h"
#include "scpp_oid.h"

static void
test_oid_fields_round_trip_through_make(void **state)
{
	struct scpp_oid o = scpp_oid_make(0xbeef, 0xdeadbeef, 0x1234, 0xabcdef,
					  UINT64_C(0xfedcba9876));
	(void)state;

	assert_int_equal(scpp_oid_locale(o), 0xbeef);
	assert_int_equal(scpp_oid_node(o), 0xdeadbeef);
	assert_int_equal(scpp_oid_shard(o), 0x1234);
	assert_int_equal(scpp_oid_epoch(o), 0xabcdef);
	assert_true(scpp_oid_counter(o) == UINT64_C(0xfedcba9876));
}

static void
test_oid_make_masks_wide_epoch_and_counter(void **state)
{
	struct scpp_oid o = scpp_oid_make(0, 0, 0, 0xff000001, UINT64_MAX);
	(void)state;

	assert_int_equal(scpp_oid_epoch(o), 1);
	assert_true(scpp_oid_counter(o) == SCPP_OID_COUNTER_MAX);
}

static void
test_oid_format_is_canonical(void **state)
{
	char buf[SCPP_OID_STR_MAX];
	(void)state;

	scpp_oid_format(buf, sizeof(buf), scpp_oid_make(0, 1, 2, 5, 0x1f));
	assert_string_equal(buf, "@0.1.2.5.1f");
	scpp_oid_format(buf, sizeof(buf), SCPP_OID_NIL);
	assert_string_equal(buf, "@0.0.0.0.0");
	assert_int_equal(scpp_oid_format(buf, sizeof(buf),
					 (struct scpp_oid){UINT64_MAX, UINT64_MAX}),
			 (int)strlen("@ffff.ffffffff.ffff.ffffff.ffffffffff"));
	assert_string_equal(buf, "@ffff.ffffffff.ffff.ffffff.ffffffffff");
}

static void
test_oid_text_round_trips_random_oids(void **state)
{
	uint64_t seed = 42;
	char buf[SCPP_OID_STR_MAX];
	(void)state;

	for (int i = 0; i < 100000; i++) {
		struct scpp_oid o = {test_rand(&seed), test_rand(&seed)}, back;
		int n;

		/* Vary magnitudes so short and long fields both occur. */
		o.hi >>= test_rand_below(&seed, 64);
		o.lo >>= test_rand_below(&seed, 64);
		n = scpp_oid_format(buf, sizeof(buf), o);
		assert_true(n > 0 && n < (int)sizeof(buf));
		assert_int_equal(scpp_oid_parse(buf, (size_t)n, &back), 0);
		assert_true(scpp_oid_eq(o, back));
	}
}

static void
test_oid_parse_rejects_non_canonical_text(void **state)
{
	static const char *const bad[] = {
		"", "@", "0.1.2.3.4", "@0.1.2.3", "@0.1.2.3.4.5", "@0.1.2.3.04",
		"@0.1.2.3.A", "@0.1.2.3.g", "@0..2.3.4", "@0.1.2.3.4.", "@.0.1.2.3",
		"@10000.0.0.0.0",       /* locale over 16 bits */
		"@0.100000000.0.0.0",   /* node over 32 bits */
		"@0.0.10000.0.0",       /* shard over 16 bits */
		"@0.0.0.1000000.0",     /* epoch over 24 bits */
		"@0.0.0.0.10000000000", /* counter over 40 bits */
		"@0.0.0.0.0 ", "@ 0.0.0.0.0", "@-1.0.0.0.0", "@0x1.0.0.0.0",
	};
	struct scpp_oid o;
	(void)state;

	for (size_t i = 0; i < SCPP_ARRAY_SIZE(bad); i++) {
		if (scpp_oid_parse(bad[i], strlen(bad[i]), &o) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
	}
}

static void
test_oid_parse_uses_only_the_given_length(void **state)
{
	struct scpp_oid o;
	(void)state;

	assert_int_equal(scpp_oid_parse("@0.1.2.3.4xyz", 10, &o), 0);
	assert_true(scpp_oid_eq(o, scpp_oid_make(0, 1, 2, 3, 4)));
	assert_int_equal(scpp_oid_parse("@0.1.2.3.45", 10, &o), 0);
	assert_int_equal(scpp_oid_counter(o), 4);
}

static void
test_oid_cmp_orders_hi_before_lo(void **state)
{
	struct scpp_oid a = {1, UINT64_MAX}, b = {2, 0}, c = {2, 1};
	(void)state;

	assert_int_equal(scpp_oid_cmp(a, b), -1);
	assert_int_equal(scpp_oid_cmp(b, a), 1);
	assert_int_equal(scpp_oid_cmp(b, c), -1);
	assert_int_equal(scpp_oid_cmp(c, c), 0);
	assert_true(scpp_oid_is_nil(SCPP_OID_NIL));
	assert_false(scpp_oid_is_nil(c));
}

static void
test_oid_prefix_match_at_every_length(void **state)
{
	struct scpp_oid o = {UINT64_C(0x8000000000000001), UINT64_C(0x8000000000000001)};
	struct scpp_oid_prefix p;
	(void)state;

	for (unsigned int len = 0; len <= 128; len++) {
		struct scpp_oid flipped = o;

		assert_int_equal(scpp_oid_prefix_make(&p, o, len), 0);
		assert_true(scpp_oid_prefix_match(&p, o));
		/* Flipping the bit just inside the prefix must break the match;
		 * flipping the bit just past it must not. */
		if (len > 0) {
			unsigned int bit = len - 1;

			if (bit < 64)
				flipped.hi ^= UINT64_C(1) << (63 - bit);
			else
				flipped.lo ^= UINT64_C(1) << (127 - bit);
			assert_false(scpp_oid_prefix_match(&p, flipped));
		}
		if (len < 128) {
			flipped = o;
			if (len < 64)
				flipped.hi ^= UINT64_C(1) << (63 - len);
			else
				flipped.lo ^= UINT64_C(1) << (127 - len);
			assert_true(scpp_oid_prefix_match(&p, flipped));
		}
	}
	assert_int_equal(scpp_oid_prefix_make(&p, o, 129), -EINVAL);
}

static void
test_oid_common_bits_counts_shared_prefix(void **state)
{
	struct scpp_oid a = {0, 0}, b = {0, 1}, c = {UINT64_C(1) << 63, 0};
	(void)state;

	assert_int_equal(scpp_oid_common_bits(a, a), 128);
	assert_int_equal(scpp_oid_common_bits(a, b), 127);
	assert_int_equal(scpp_oid_common_bits(a, c), 0);
}

static void
test_oid_shard_prefix_matches_minted_oids_only(void **state)
{
	struct scpp_oid_prefix p = scpp_oid_shard_prefix(1, 2, 3);
	struct scpp_oid_gen g;
	struct scpp_oid o = SCPP_OID_NIL;
	(void)state;

	assert_int_equal(scpp_oid_gen_init(&g, 1, 2, 3, 7), 0);
	assert_int_equal(scpp_oid_gen_next(&g, &o), 0);
	assert_true(scpp_oid_prefix_match(&p, o));
	assert_false(scpp_oid_prefix_match(&p, scpp_oid_make(1, 2, 4, 7, 1)));
}

static void
test_oid_prefix_text_round_trips_and_rejects_bad_lengths(void **state)
{
	struct scpp_oid_prefix p;
	char buf[64];
	static const char *const bad[] = {
		"@0.1.0.0.0", "@0.1.0.0.0/", "@0.1.0.0.0/129", "@0.1.0.0.0/07",
		"@0.1.0.0.0/x", "@0.1.0.0.1/64", /* bit set past the length */
	};
	(void)state;

	assert_int_equal(scpp_oid_prefix_parse("@0.1.0.0.0/48", 13, &p), 0);
	assert_int_equal(p.len, 48);
	scpp_oid_prefix_format(buf, sizeof(buf), &p);
	assert_string_equal(buf, "@0.1.0.0.0/48");
	assert_int_equal(scpp_oid_prefix_parse("@0.0.0.0.0/0", 12, &p), 0);
	assert_int_equal(p.len, 0);
	for (size_t i = 0; i < SCPP_ARRAY_SIZE(bad); i++)
		assert_int_equal(scpp_oid_prefix_parse(bad[i], strlen(bad[i]), &p), -EINVAL);
}

static void
test_oid_gen_mints_distinct_non_nil_oids_until_exhausted(void **state)
{
	struct scpp_oid_gen g;
	struct scpp_oid a = SCPP_OID_NIL, b = SCPP_OID_NIL;
	(void)state;

	assert_int_equal(scpp_oid_gen_init(&g, 0, 1, 0, 0), -EINVAL);
	assert_int_equal(scpp_oid_gen_init(&g, 0, 1, 0, SCPP_OID_EPOCH_MAX + 1), -EINVAL);
	assert_int_equal(scpp_oid_gen_init(&g, 0, 1, 0, 3), 0);
	assert_int_equal(scpp_oid_gen_next(&g, &a), 0);
	assert_int_equal(scpp_oid_gen_next(&g, &b), 0);
	assert_false(scpp_oid_is_nil(a));
	assert_false(scpp_oid_eq(a, b));
	assert_int_equal(scpp_oid_epoch(a), 3);
	assert_int_equal(scpp_oid_counter(a), 1);
	g.next = SCPP_OID_COUNTER_MAX;
	assert_int_equal(scpp_oid_gen_next(&g, &a), 0);
	assert_true(scpp_oid_counter(a) == SCPP_OID_COUNTER_MAX);
	assert_int_equal(scpp_oid_gen_next(&g, &a), -ENOSPC);
}

static void
test_oid_epoch_advance_moves_forward_and_persists(void **state)
{
	char dir[] = "/tmp/scpp-oid-XXXXXX", path[64];
	uint32_t e1, e2, e3;
	FILE *f;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/epoch", dir);
	assert_int_equal(scpp_oid_epoch_advance(path, &e1), 0);
	assert_int_equal(scpp_oid_epoch_advance(path, &e2), 0);
	assert_true(e2 > e1);
	/* A stored epoch ahead of the clock still advances by one. */
	f = fopen(path, "w");
	fprintf(f, "%u\n", 9000000u);
	fclose(f);
	assert_int_equal(scpp_oid_epoch_advance(path, &e3), 0);
	assert_int_equal(e3, 9000001u);
	/* Garbage is refused, not silently reset. */
	f = fopen(path, "w");
	fprintf(f, "twelve\n");
	fclose(f);
	assert_int_equal(scpp_oid_epoch_advance(path, &e3), -EINVAL);
	/* Exhaustion is an error, never a wrap to an old epoch. */
	f = fopen(path, "w");
	fprintf(f, "%u\n", SCPP_OID_EPOCH_MAX);
	fclose(f);
	assert_int_equal(scpp_oid_epoch_advance(path, &e3), -ENOSPC);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oid_fields_round_trip_through_make),
		cmocka_unit_test(test_oid_make_masks_wide_epoch_and_counter),
		cmocka_unit_test(test_oid_format_is_canonical),
		cmocka_unit_test(test_oid_text_round_trips_random_oids),
		cmocka_unit_test(test_oid_parse_rejects_non_canonical_text),
		cmocka_unit_test(test_oid_parse_uses_only_the_given_length),
		cmocka_unit_test(test_oid_cmp_orders_hi_before_lo),
		cmocka_unit_test(test_oid_prefix_match_at_every_length),
		cmocka_unit_test(test_oid_common_bits_counts_shared_prefix),
		cmocka_unit_test(test_oid_shard_prefix_matches_minted_oids_only),
		cmocka_unit_test(test_oid_prefix_text_round_trips_and_rejects_bad_lengths),
		cmocka_unit_test(test_oid_gen_mints_distinct_non_nil_oids_until_exhausted),
		cmocka_unit_test(test_oid_epoch_advance_moves_forward_and_persists),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
