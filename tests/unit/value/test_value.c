/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "scpp_test.h"
#include "scpp_common.h"
#include "scpp_value.h"

/* Build a random value of a random type; str/bytes point into @pool. */
static struct scpp_value
random_value(uint64_t *seed, uint8_t *pool, size_t pool_size)
{
	static const char *const utf8[] = {"a", "é", "€", "𝄞", "z", "\x7f"};
	unsigned int type = (unsigned int)test_rand_below(seed, SCPP_VT_COUNT);
	uint32_t len;
	size_t off;

	switch (type) {
	case SCPP_VT_BOOL:
		return scpp_value_bool(test_rand(seed) & 1);
	case SCPP_VT_I64:
		return scpp_value_i64((int64_t)test_rand(seed) >> test_rand_below(seed, 64));
	case SCPP_VT_U64:
		return scpp_value_u64(test_rand(seed) >> test_rand_below(seed, 64));
	case SCPP_VT_F64: {
		struct scpp_value v = scpp_value_u64(test_rand(seed));

		v.type = SCPP_VT_F64; /* any bit pattern, NaNs included */
		return v;
	}
	case SCPP_VT_STR:
		off = 0;
		len = (uint32_t)test_rand_below(seed, 12);
		for (uint32_t i = 0; i < len; i++) {
			const char *c = utf8[test_rand_below(seed, SCPP_ARRAY_SIZE(utf8))];
			size_t n = strlen(c);

			if (off + n > pool_size)
				break;
			memcpy(pool + off, c, n);
			off += n;
		}
		return scpp_value_str((const char *)pool, (uint32_t)off);
	case SCPP_VT_BYTES:
		len = (uint32_t)test_rand_below(seed, 200);
		for (uint32_t i = 0; i < len; i++)
			pool[i] = (uint8_t)test_rand(seed);
		return scpp_value_bytes(pool, len);
	case SCPP_VT_OID:
		return scpp_value_oid((struct scpp_oid){test_rand(seed), test_rand(seed)});
	default:
		return scpp_value_nil();
	}
}

static void
test_value_encoding_round_trips_random_values(void **state)
{
	uint64_t seed = 7;
	uint8_t pool[256], buf[512], buf2[512];
	(void)state;

	for (int i = 0; i < 200000; i++) {
		struct scpp_value v = random_value(&seed, pool, sizeof(pool)), d;
		int n = scpp_value_encode(buf, sizeof(buf), &v);

		assert_true(n > 0);
		assert_int_equal((size_t)n, scpp_value_encoded_size(&v));
		assert_int_equal(scpp_value_decode(buf, (size_t)n, &d), n);
		assert_true(scpp_value_eq(&v, &d));
		assert_true(scpp_value_hash(&v) == scpp_value_hash(&d));
		/* Canonical: re-encoding the decoded value gives the same bytes. */
		assert_int_equal(scpp_value_encode(buf2, sizeof(buf2), &d), n);
		assert_memory_equal(buf, buf2, (size_t)n);
		/* Every proper prefix is truncated, never misread. */
		for (int cut = 0; cut < n; cut++)
			assert_int_equal(scpp_value_decode(buf, (size_t)cut, &d), -SCPP_E_TRUNCATED);
	}
}

static void
test_value_encode_reports_short_buffer(void **state)
{
	struct scpp_value v = scpp_value_cstr("hello");
	uint8_t buf[7];
	(void)state;

	assert_int_equal(scpp_value_encode(buf, 6, &v), -ENOSPC);
	assert_int_equal(scpp_value_encode(buf, 7, &v), 7);
	v.type = SCPP_VT_COUNT;
	assert_int_equal(scpp_value_encode(buf, 7, &v), -EINVAL);
}

static void
test_value_decode_rejects_each_malformation(void **state)
{
	static const struct {
		const char *what;
		uint8_t in[12];
		size_t len;
		int err;
	} cases[] = {
		{"unknown tag", {8}, 1, -SCPP_E_BAD_VALUE_TYPE},
		{"tag 0xff", {0xff}, 1, -SCPP_E_BAD_VALUE_TYPE},
		{"bool byte 2", {1, 2}, 2, -EINVAL},
		{"overlong varint", {3, 0x80, 0x00}, 3, -SCPP_E_BAD_VARINT},
		{"varint over 64 bits", {3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, 11, -SCPP_E_BAD_VARINT},
		{"string past end", {5, 4, 'a', 'b'}, 4, -SCPP_E_TRUNCATED},
		{"bad utf8 lead", {5, 1, 0xff}, 3, -SCPP_E_BAD_UTF8},
		{"overlong utf8", {5, 2, 0xc0, 0x80}, 4, -SCPP_E_BAD_UTF8},
		{"surrogate", {5, 3, 0xed, 0xa0, 0x80}, 5, -SCPP_E_BAD_UTF8},
		{"above U+10FFFF", {5, 4, 0xf4, 0x90, 0x80, 0x80}, 6, -SCPP_E_BAD_UTF8},
		{"cut utf8", {5, 1, 0xe2}, 3, -SCPP_E_BAD_UTF8},
		{"f64 short", {4, 0, 0, 0}, 4, -SCPP_E_TRUNCATED},
		{"oid short", {7, 0}, 2, -SCPP_E_TRUNCATED},
		{"empty", {0}, 0, -SCPP_E_TRUNCATED},
	};
	struct scpp_value v;
	(void)state;

	for (size_t i = 0; i < SCPP_ARRAY_SIZE(cases); i++) {
		int rc = scpp_value_decode(cases[i].in, cases[i].len, &v);

		if (rc != cases[i].err)
			fail_msg("%s: got %d, want %d", cases[i].what, rc, cases[i].err);
	}
}

static void
test_value_bytes_may_hold_invalid_utf8(void **state)
{
	uint8_t in[] = {6, 2, 0xff, 0xfe};
	struct scpp_value v;
	(void)state;

	assert_int_equal(scpp_value_decode(in, sizeof(in), &v), 4);
	assert_int_equal(v.type, SCPP_VT_BYTES);
	assert_int_equal(v.len, 2);
	assert_ptr_equal(v.p, in + 2);
}

static void
test_value_order_is_total_and_type_first(void **state)
{
	struct scpp_value order[] = {
		scpp_value_nil(), scpp_value_bool(false), scpp_value_bool(true),
		scpp_value_i64(INT64_MIN), scpp_value_i64(-1), scpp_value_i64(0),
		scpp_value_i64(INT64_MAX), scpp_value_u64(0), scpp_value_u64(UINT64_MAX),
		scpp_value_f64(-INFINITY), scpp_value_f64(-1.5), scpp_value_f64(-0.0),
		scpp_value_f64(0.0), scpp_value_f64(2.5), scpp_value_f64(INFINITY),
		scpp_value_f64(NAN), scpp_value_cstr(""), scpp_value_cstr("a"),
		scpp_value_cstr("ab"), scpp_value_cstr("b"), scpp_value_bytes("", 0),
		scpp_value_bytes("\x00", 1), scpp_value_oid((struct scpp_oid){0, 1}),
		scpp_value_oid((struct scpp_oid){1, 0}),
	};
	(void)state;

	for (size_t i = 0; i < SCPP_ARRAY_SIZE(order); i++) {
		for (size_t j = 0; j < SCPP_ARRAY_SIZE(order); j++) {
			int c = scpp_value_cmp(&order[i], &order[j]);

			if ((i < j && c >= 0) || (i > j && c <= 0) || (i == j && c != 0))
				fail_msg("cmp(%zu, %zu) = %d", i, j, c);
		}
	}
}

static void
test_value_different_types_never_equal(void **state)
{
	struct scpp_value i = scpp_value_i64(5), u = scpp_value_u64(5);
	struct scpp_value s = scpp_value_cstr("x"), b = scpp_value_bytes("x", 1);
	(void)state;

	assert_false(scpp_value_eq(&i, &u));
	assert_false(scpp_value_eq(&s, &b));
}

static void
test_value_format_prints_text_form(void **state)
{
	static const uint8_t raw[] = {0x00, 0xff};
	const struct {
		struct scpp_value v;
		const char *want;
	} cases[] = {
		{scpp_value_nil(), "nil"},
		{scpp_value_bool(true), "true"},
		{scpp_value_bool(false), "false"},
		{scpp_value_i64(-5), "-5"},
		{scpp_value_u64(5), "5u"},
		{scpp_value_f64(1.5), "1.5"},
		{scpp_value_f64(3.0), "3.0"},
		{scpp_value_f64(0.1), "0.1"},
		{scpp_value_f64(1e300), "1e+300"},
		{scpp_value_f64(-INFINITY), "-inf"},
		{scpp_value_f64(NAN), "nan"},
		{scpp_value_cstr("a\"b\\c\n\x01é"), "\"a\\\"b\\\\c\\n\\x01é\""},
		{scpp_value_bytes(raw, 2), "x\"00ff\""},
		{scpp_value_oid(scpp_oid_make(0, 1, 0, 1, 0x2a)), "@0.1.0.1.2a"},
	};
	char buf[64];
	(void)state;

	for (size_t i = 0; i < SCPP_ARRAY_SIZE(cases); i++) {
		int n = scpp_value_format(buf, sizeof(buf), &cases[i].v);

		assert_string_equal(buf, cases[i].want);
		assert_int_equal(n, (int)strlen(cases[i].want));
	}
}

static void
test_value_format_truncates_but_reports_full_length(void **state)
{
	struct scpp_value v = scpp_value_cstr("abcdef");
	char buf[4];
	(void)state;

	assert_int_equal(scpp_value_format(buf, sizeof(buf), &v), 8);
	assert_string_equal(buf, "\"ab");
	assert_int_equal(scpp_value_format(NULL, 0, &v), 8);
}

static void
test_value_f64_format_round_trips(void **state)
{
	uint64_t seed = 99;
	char buf[64];
	(void)state;

	for (int i = 0; i < 100000; i++) {
		uint64_t bits = test_rand(&seed);
		double f;

		memcpy(&f, &bits, sizeof(f));
		if (isnan(f))
			continue; /* NaN payloads are not kept by the text form */
		struct scpp_value v = scpp_value_f64(f);

		scpp_value_format(buf, sizeof(buf), &v);
		if (isinf(f))
			continue;
		assert_true(strtod(buf, NULL) == f);
		assert_non_null(strpbrk(buf, ".e"));
	}
}

static void
test_utf8_validation_edges(void **state)
{
	(void)state;
	assert_true(scpp_utf8_valid((const uint8_t *)"", 0));
	assert_true(scpp_utf8_valid((const uint8_t *)"\xf4\x8f\xbf\xbf", 4)); /* U+10FFFF */
	assert_true(scpp_utf8_valid((const uint8_t *)"\xef\xbf\xbf", 3));     /* U+FFFF */
	assert_false(scpp_utf8_valid((const uint8_t *)"\xe0\x80\x80", 3));    /* overlong */
	assert_false(scpp_utf8_valid((const uint8_t *)"\x80", 1));            /* stray continuation */
	assert_false(scpp_utf8_valid((const uint8_t *)"\xf8\x88\x80\x80\x80", 5));
}

static void
test_varint_edges(void **state)
{
	uint8_t buf[SCPP_VARINT_MAX];
	uint64_t x, vals[] = {0, 1, 127, 128, 16383, 16384, UINT32_MAX, UINT64_MAX};
	(void)state;

	for (size_t i = 0; i < SCPP_ARRAY_SIZE(vals); i++) {
		unsigned int n = scpp_varint_encode(buf, vals[i]);

		assert_int_equal(n, scpp_varint_size(vals[i]));
		assert_int_equal(scpp_varint_decode(buf, n, &x), (int)n);
		assert_true(x == vals[i]);
	}
	assert_int_equal(scpp_varint_size(UINT64_MAX), 10);
	assert_int_equal(scpp_zigzag_decode(scpp_zigzag_encode(INT64_MIN)), INT64_MIN);
	assert_true(scpp_zigzag_encode(-1) == 1);
}

static void
test_hash_bytes_depends_on_every_byte_and_length(void **state)
{
	uint8_t a[40] = {0}, b[40] = {0};
	(void)state;

	for (size_t len = 1; len <= sizeof(a); len++) {
		for (size_t i = 0; i < len; i++) {
			b[i] ^= 1;
			assert_true(scpp_hash_bytes(a, len, 0) != scpp_hash_bytes(b, len, 0));
			b[i] ^= 1;
		}
		assert_true(scpp_hash_bytes(a, len, 0) != scpp_hash_bytes(a, len - 1, 0));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_value_encoding_round_trips_random_values),
		cmocka_unit_test(test_value_encode_reports_short_buffer),
		cmocka_unit_test(test_value_decode_rejects_each_malformation),
		cmocka_unit_test(test_value_bytes_may_hold_invalid_utf8),
		cmocka_unit_test(test_value_order_is_total_and_type_first),
		cmocka_unit_test(test_value_different_types_never_equal),
		cmocka_unit_test(test_value_format_prints_text_form),
		cmocka_unit_test(test_value_format_truncates_but_reports_full_length),
		cmocka_unit_test(test_value_f64_format_round_trips),
		cmocka_unit_test(test_utf8_validation_edges),
		cmocka_unit_test(test_varint_edges),
		cmocka_unit_test(test_hash_bytes_depends_on_every_byte_and_length),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
