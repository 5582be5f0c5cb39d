/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * CONT and CONT_REPLY (docs/PROTOCOL.md §19): the documented layout byte
 * for byte, every field rule broken one at a time in both directions,
 * every prefix truncated, and rows that round-trip whatever they bind.
 */
#include <errno.h>
#include <string.h>

#include "scpp_test.h"
#include "scpp_common.h"
#include "scpp_value.h"
#include "scpp_wire.h"
#include "wire_test.h"

/* The example of docs/PROTOCOL.md §19.1: a continuation from command 1 of
 * a 4-byte block with 3 variables, one row binding %0 to u64 5 and %2 to
 * "ab", sent by the origin (node 1) with id 0x0102, client 9, block 10,
 * waiting 800 ms. */
static const uint8_t example[] = {
	0x01, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00,
	0x04, 0x00, 0x00, 0x00, 0x20, 0x03, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00,
	/* the block message (4 bytes, not decoded here) */
	0xb0, 0xb1, 0xb2, 0xb3,
	/* one row: mask 0b101, u64 5, str "ab" */
	0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static void
cont_sample(struct scpp_wire_cont *c)
{
	memset(c, 0, sizeof(*c));
	c->hops = 1;
	c->origin = 1;
	c->cont_id = 0x0102;
	c->client_id = 9;
	c->block_id = 10;
	c->start = 1;
	c->nvars = 3;
	c->nrows = 1;
	c->block_len = 4;
	c->timeout_ms = 800;
}

/* The example as a whole message: header, block, and the row encoded by
 * the row encoder (whose bytes are checked against lib/value's). */
static size_t
example_msg(uint8_t *m, size_t size)
{
	struct scpp_value v[3];
	size_t n = sizeof(example);
	int k;

	memcpy(m, example, n);
	v[0] = scpp_value_u64(5);
	v[2] = scpp_value_cstr("ab");
	k = scpp_wire_cont_row_encode(m + n - 8, size - (n - 8), 3, 5, v);
	assert_true(k > 8);
	assert_int_equal((size_t)k, scpp_wire_cont_row_size(3, 5, v));
	return n - 8 + (size_t)k;
}

void
test_wire_cont_layout_round_trip(void **state)
{
	uint8_t hb[64], m[128];
	struct scpp_wire_cont c, d;
	struct scpp_wire_cont_rows it;
	struct scpp_value v[SCPP_WIRE_VARS_MAX];
	uint64_t bound;
	size_t n;

	(void)state;
	cont_sample(&c);
	assert_int_equal(scpp_wire_cont_encode(hb, sizeof(hb), &c), 52);
	assert_memory_equal(hb, example, 52);
	n = example_msg(m, sizeof(m));
	/* The row of docs/PROTOCOL.md §19.1: mask 5, then 5u, then "ab". */
	assert_int_equal(n, 70);
	assert_memory_equal(m + 56, "\x05\0\0\0\0\0\0\0\x03\x05\x05\x02\x61\x62", 14);
	assert_int_equal(scpp_wire_cont_decode(m, n, &d), 0);
	assert_int_equal(d.flags, 0);
	assert_int_equal(d.hops, 1);
	assert_int_equal(d.origin, 1);
	assert_true(d.cont_id == 0x0102 && d.client_id == 9 && d.block_id == 10);
	assert_int_equal(d.start, 1);
	assert_int_equal(d.nvars, 3);
	assert_int_equal(d.nrows, 1);
	assert_int_equal(d.block_len, 4);
	assert_int_equal(d.timeout_ms, 800);
	assert_int_equal(d.ext_len, 0);
	assert_ptr_equal(d.block, m + 52);
	assert_ptr_equal(d.rows, m + 56);
	assert_int_equal(d.rows_len, n - 56);
	scpp_wire_cont_rows_init(&it, &d);
	memset(v, 0, sizeof(v));
	assert_int_equal(scpp_wire_cont_row_next(&it, &bound, v), 1);
	assert_true(bound == 5);
	assert_int_equal(v[0].type, SCPP_VT_U64);
	assert_true(v[0].u == 5);
	assert_int_equal(v[2].type, SCPP_VT_STR);
	assert_int_equal(v[2].len, 2);
	assert_memory_equal(v[2].p, "ab", 2);
	assert_int_equal(scpp_wire_cont_row_next(&it, &bound, v), 0);
	/* Re-encoding what was decoded gives the same bytes. */
	assert_int_equal(scpp_wire_cont_encode(hb, sizeof(hb), &d), 52);
	assert_memory_equal(hb, m, 52);
	assert_int_equal(scpp_wire_cont_encode(hb, 51, &c), -ENOSPC);
	/* With an extension, it sits between the header and the block. */
	hb[52] = 200, hb[53] = 1, hb[54] = 'x';
	c.ext = hb + 52;
	c.ext_len = 3;
	assert_int_equal(scpp_wire_cont_encode(m, sizeof(m), &c), 55);
	memcpy(m + 55, "blok", 4);
	memset(m + 59, 0, 8);
	assert_int_equal(scpp_wire_cont_decode(m, 67, &d), 0);
	assert_int_equal(d.ext_len, 3);
	assert_ptr_equal(d.block, m + 55);
	assert_int_equal(d.rows_len, 8);
}

void
test_wire_cont_rejects_each_bad_field(void **state)
{
	uint8_t fb[600], good[128];
	struct scpp_wire_cont c, d;
	size_t n;

	(void)state;
	n = example_msg(good, sizeof(good));
	assert_int_equal(scpp_wire_cont_decode(good, n, &d), 0);
#define BAD(off, val, code)                                                  \
	do {                                                                 \
		memcpy(fb, good, n);                                        \
		fb[off] = (val);                                            \
		if (scpp_wire_cont_decode(fb, n, &d) != (code))             \
			fail_msg("byte %d = %d: got %d, want %d", (off),    \
				 (val), scpp_wire_cont_decode(fb, n, &d),   \
				 (code));                                   \
	} while (0)
	BAD(0, 0, -SCPP_E_BAD_VERSION);
	BAD(0, 2, -SCPP_E_BAD_VERSION);
	BAD(1, 2, -SCPP_E_BAD_FLAGS);
	BAD(1, 0x80, -SCPP_E_BAD_FLAGS);
	BAD(2, 0, -SCPP_E_BAD_FLAGS);
	BAD(2, 9, -SCPP_E_TOO_MANY);
	BAD(3, 1, -SCPP_E_BAD_FLAGS);
	BAD(4, 0, -SCPP_E_BAD_FLAGS);       /* origin 0 */
	BAD(34, 65, -SCPP_E_TOO_MANY);      /* nvars */
	BAD(34, 0, -SCPP_E_BAD_LENGTH);
	BAD(36, 0, -SCPP_E_BAD_LENGTH);     /* nrows 0 */
	BAD(39, 1, -SCPP_E_TOO_MANY);       /* nrows 2^24 + 1 */
	BAD(40, 0, -SCPP_E_BAD_LENGTH);     /* block_len 0 */
	BAD(40, 200, -SCPP_E_TRUNCATED);    /* block past the end */
	BAD(40, (uint8_t)(n - 52), -SCPP_E_TRUNCATED); /* no byte left for the rows */
	BAD(46, 1, -SCPP_E_TOO_MANY);       /* timeout over 60 s */
	BAD(50, 1, -SCPP_E_BAD_FLAGS);
	BAD(51, 1, -SCPP_E_BAD_FLAGS);
	memcpy(fb, good, n);
	memset(fb + 8, 0, 8);               /* cont_id 0 */
	assert_int_equal(scpp_wire_cont_decode(fb, n, &d), -SCPP_E_BAD_FLAGS);
	memcpy(fb, good, n);
	memset(fb + 44, 0, 4);              /* timeout 0 */
	assert_int_equal(scpp_wire_cont_decode(fb, n, &d), -SCPP_E_BAD_LENGTH);
	/* Extensions: as FORWARD's (type 1 reserved, 0 invalid, lengths fill). */
	memcpy(fb, good, 52);
	fb[48] = 4;
	fb[52] = 200, fb[53] = 2, fb[54] = 'x', fb[55] = 'y';
	memcpy(fb + 56, good + 52, n - 52);
	assert_int_equal(scpp_wire_cont_decode(fb, n + 4, &d), 0);
	fb[53] = 3;
	assert_int_equal(scpp_wire_cont_decode(fb, n + 4, &d), -SCPP_E_TRUNCATED);
	fb[53] = 2;
	/* Type 1, the principal, passes the codec as in FORWARD (one shared
	 * check); what it authenticates is the session layer's to verify. */
	fb[52] = SCPP_WIRE_CONT_EXT_PRINCIPAL;
	assert_int_equal(scpp_wire_cont_decode(fb, n + 4, &d), 0);
	fb[52] = 0;
	assert_int_equal(scpp_wire_cont_decode(fb, n + 4, &d), -SCPP_E_BAD_KIND);
	memset(fb + 52, 0, sizeof(fb) - 52);
	fb[48] = 1, fb[49] = 1; /* 257 */
	assert_int_equal(scpp_wire_cont_decode(fb, sizeof(fb), &d), -SCPP_E_TOO_MANY);
#undef BAD
	/* The encoder refuses what the decoder would, one field at a time. */
	cont_sample(&c);
	assert_int_equal(scpp_wire_cont_encode(fb, sizeof(fb), &c), 52);
#define ENC_BAD(field, bad)                                                   \
	do {                                                                  \
		cont_sample(&c);                                             \
		c.field = (bad);                                             \
		assert_int_equal(scpp_wire_cont_encode(fb, sizeof(fb), &c), -EINVAL); \
	} while (0)
	ENC_BAD(flags, 2);
	ENC_BAD(hops, 0);
	ENC_BAD(hops, SCPP_WIRE_CONT_HOPS_MAX + 1);
	ENC_BAD(origin, 0);
	ENC_BAD(cont_id, 0);
	ENC_BAD(nvars, 0);
	ENC_BAD(nvars, SCPP_WIRE_VARS_MAX + 1);
	ENC_BAD(nrows, 0);
	ENC_BAD(nrows, SCPP_WIRE_CONT_ROWS_MAX + 1);
	ENC_BAD(block_len, 0);
	ENC_BAD(timeout_ms, 0);
	ENC_BAD(timeout_ms, SCPP_WIRE_CONT_TIMEOUT_MAX + 1);
	ENC_BAD(ext_len, 2); /* with no extension bytes */
#undef ENC_BAD
	/* The largest values of each bounded field are accepted. */
	cont_sample(&c);
	c.flags = SCPP_WIRE_CONT_F_EVERY;
	c.hops = SCPP_WIRE_CONT_HOPS_MAX;
	c.nvars = SCPP_WIRE_VARS_MAX;
	c.nrows = SCPP_WIRE_CONT_ROWS_MAX;
	c.timeout_ms = SCPP_WIRE_CONT_TIMEOUT_MAX;
	assert_int_equal(scpp_wire_cont_encode(fb, sizeof(fb), &c), 52);
	fb[52] = 0;
	memset(fb + 52, 0, 12);
	assert_int_equal(scpp_wire_cont_decode(fb, 64, &d), 0);
	assert_int_equal(d.flags, SCPP_WIRE_CONT_F_EVERY);
}

void
test_wire_cont_truncates_every_prefix(void **state)
{
	uint8_t m[128];
	struct scpp_wire_cont d;
	size_t n;

	(void)state;
	n = example_msg(m, sizeof(m));
	/* The header, the block and the first byte of rows are needed. */
	for (size_t cut = 0; cut <= 56; cut++)
		assert_int_equal(scpp_wire_cont_decode(m, cut, &d), -SCPP_E_TRUNCATED);
	/* Beyond that the header decodes; the rows reader finds the cut. */
	for (size_t cut = 57; cut < n; cut++) {
		struct scpp_wire_cont_rows it;
		struct scpp_value v[SCPP_WIRE_VARS_MAX];
		uint64_t bound;

		assert_int_equal(scpp_wire_cont_decode(m, cut, &d), 0);
		scpp_wire_cont_rows_init(&it, &d);
		assert_int_equal(scpp_wire_cont_row_next(&it, &bound, v), -SCPP_E_TRUNCATED);
		/* Errors repeat and consume nothing. */
		assert_int_equal(scpp_wire_cont_row_next(&it, &bound, v), -SCPP_E_TRUNCATED);
		assert_int_equal(it.off, 0);
	}
}

void
test_wire_cont_rows_round_trip_and_reject_bad_rows(void **state)
{
	static uint8_t m[1 << 16];
	struct scpp_value v[SCPP_WIRE_VARS_MAX], w[SCPP_WIRE_VARS_MAX];
	uint64_t masks[200], seed = 42, bound;
	struct scpp_wire_cont c, d;
	struct scpp_wire_cont_rows it;
	const uint16_t nvars = 64;
	size_t o;
	int n;

	(void)state;
	cont_sample(&c);
	c.nvars = nvars;
	c.nrows = SCPP_ARRAY_SIZE(masks);
	o = (size_t)scpp_wire_cont_encode(m, sizeof(m), &c);
	memcpy(m + o, "blok", 4);
	o += 4;
	/* Rows mixing masks (none, all, random) and value types. */
	for (size_t r = 0; r < SCPP_ARRAY_SIZE(masks); r++) {
		masks[r] = r == 0 ? 0 : r == 1 ? UINT64_MAX : test_rand(&seed);
		for (uint16_t i = 0; i < nvars; i++) {
			switch ((r + i) % 5) {
			case 0: v[i] = scpp_value_u64(r * 1000 + i); break;
			case 1: v[i] = scpp_value_oid(scpp_oid_make(0, 2, 1, r, i)); break;
			case 2: v[i] = scpp_value_cstr("entries"); break;
			case 3: v[i] = scpp_value_i64(-(int64_t)r); break;
			default: v[i] = scpp_value_bytes("\0\1\2", 3); break;
			}
		}
		n = scpp_wire_cont_row_encode(m + o, sizeof(m) - o, nvars, masks[r], v);
		assert_true(n >= 8);
		assert_int_equal((size_t)n, scpp_wire_cont_row_size(nvars, masks[r], v));
		o += (size_t)n;
	}
	assert_int_equal(scpp_wire_cont_decode(m, o, &d), 0);
	scpp_wire_cont_rows_init(&it, &d);
	for (size_t r = 0; r < SCPP_ARRAY_SIZE(masks); r++) {
		assert_int_equal(scpp_wire_cont_row_next(&it, &bound, w), 1);
		assert_true(bound == masks[r]);
		for (uint16_t i = 0; i < nvars; i++) {
			struct scpp_value x;

			if (!((bound >> i) & 1))
				continue;
			switch ((r + i) % 5) {
			case 0: x = scpp_value_u64(r * 1000 + i); break;
			case 1: x = scpp_value_oid(scpp_oid_make(0, 2, 1, r, i)); break;
			case 2: x = scpp_value_cstr("entries"); break;
			case 3: x = scpp_value_i64(-(int64_t)r); break;
			default: x = scpp_value_bytes("\0\1\2", 3); break;
			}
			assert_true(scpp_value_eq(&x, &w[i]));
		}
	}
	assert_int_equal(scpp_wire_cont_row_next(&it, &bound, w), 0);
	/* One row fewer than the rows present: trailing bytes. */
	m[36] = (uint8_t)(SCPP_ARRAY_SIZE(masks) - 1);
	assert_int_equal(scpp_wire_cont_decode(m, o, &d), 0);
	scpp_wire_cont_rows_init(&it, &d);
	for (size_t r = 0; r + 1 < SCPP_ARRAY_SIZE(masks); r++)
		assert_int_equal(scpp_wire_cont_row_next(&it, &bound, w), 1);
	assert_int_equal(scpp_wire_cont_row_next(&it, &bound, w), -SCPP_E_TRAILING);
	/* A mask bit at or above nvars. */
	cont_sample(&c);
	c.nvars = 3;
	o = (size_t)scpp_wire_cont_encode(m, sizeof(m), &c);
	memcpy(m + o, "blok", 4);
	o += 4;
	memset(m + o, 0, 8);
	m[o] = 8;
	assert_int_equal(scpp_wire_cont_decode(m, o + 8, &d), 0);
	scpp_wire_cont_rows_init(&it, &d);
	assert_int_equal(scpp_wire_cont_row_next(&it, &bound, w), -SCPP_E_BAD_FLAGS);
	/* A value that does not decode: its own error. */
	m[o] = 1;
	m[o + 8] = 0xee;
	assert_int_equal(scpp_wire_cont_decode(m, o + 9, &d), 0);
	scpp_wire_cont_rows_init(&it, &d);
	assert_int_equal(scpp_wire_cont_row_next(&it, &bound, w), -SCPP_E_BAD_VALUE_TYPE);
	/* The row encoder: a mask bit over nvars, too many variables, no room. */
	assert_int_equal(scpp_wire_cont_row_encode(m, sizeof(m), 3, 8, v), -EINVAL);
	assert_int_equal(scpp_wire_cont_row_encode(m, sizeof(m), 65, 1, v), -EINVAL);
	assert_int_equal(scpp_wire_cont_row_encode(m, 7, 3, 0, v), -ENOSPC);
	v[0] = scpp_value_cstr("a longer string");
	assert_int_equal(scpp_wire_cont_row_encode(m, 12, 3, 1, v), -ENOSPC);
	assert_int_equal(scpp_wire_cont_row_encode(m, 8, 3, 0, v), 8);
}

void
test_wire_cont_reply_layout_and_bad_fields(void **state)
{
	static const uint8_t want[16] = {
		1, 0, 0, 0, 3, 0, 0, 0, 0x02, 0x01, 0, 0, 0, 0, 0, 0,
	};
	struct scpp_wire_cont_reply r = {.owner = 3, .cont_id = 0x0102}, d;
	uint8_t m[32];

	(void)state;
	assert_int_equal(scpp_wire_cont_reply_encode(m, sizeof(m), &r), 16);
	assert_memory_equal(m, want, 16);
	m[16] = SCPP_REC_COLUMNS;
	assert_int_equal(scpp_wire_cont_reply_decode(m, 17, &d), 0);
	assert_int_equal(d.owner, 3);
	assert_true(d.cont_id == 0x0102);
	assert_ptr_equal(d.records, m + 16);
	assert_int_equal(d.records_len, 1);
	for (size_t cut = 0; cut < 16; cut++)
		assert_int_equal(scpp_wire_cont_reply_decode(m, cut, &d), -SCPP_E_TRUNCATED);
	for (int i = 1; i < 4; i++) {
		m[i] = 1;
		assert_int_equal(scpp_wire_cont_reply_decode(m, 16, &d), -SCPP_E_BAD_FLAGS);
		m[i] = 0;
	}
	m[0] = 2;
	assert_int_equal(scpp_wire_cont_reply_decode(m, 16, &d), -SCPP_E_BAD_VERSION);
	m[0] = 1;
	m[4] = 0;
	assert_int_equal(scpp_wire_cont_reply_decode(m, 16, &d), -SCPP_E_BAD_FLAGS);
	m[4] = 3;
	m[8] = 0, m[9] = 0;
	assert_int_equal(scpp_wire_cont_reply_decode(m, 16, &d), -SCPP_E_BAD_FLAGS);
	r.owner = 0;
	assert_int_equal(scpp_wire_cont_reply_encode(m, sizeof(m), &r), -EINVAL);
	r.owner = 3;
	r.cont_id = 0;
	assert_int_equal(scpp_wire_cont_reply_encode(m, sizeof(m), &r), -EINVAL);
	r.cont_id = 1;
	assert_int_equal(scpp_wire_cont_reply_encode(m, 15, &r), -ENOSPC);
}

/* CONT extension type 2, COPY_SOURCE (docs/PROTOCOL.md §19.1): the layout
 * byte for byte, in a whole CONT message; each bad field refused with its
 * code by the extension decoder and by the CONT decoder; rows ascending and
 * within the part's rows; at most SCPP_WIRE_COPY_SRCS_MAX fit. */
void
test_wire_cont_copy_source_layout_and_bad_fields(void **state)
{
	static const uint8_t want[50] = {
		0x02, 0x30,                                     /* type 2, 48 bytes */
		0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* row 1, reserved */
		0x01, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, /* window hi */
		0x2a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* window lo */
		0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* offset 4096 */
		0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, /* length 4 MiB */
		0xef, 0xbe, 0xad, 0xde, 0x00, 0x00, 0x00, 0x00, /* pin */
	};
	struct scpp_wire_copy_src s = {
		.row = 1, .window = {0x100001, 0x2a}, .offset = 4096, .length = 4 << 20,
		.pin = 0xdeadbeef,
	}, got[SCPP_WIRE_COPY_SRCS_MAX + 1], t;
	uint8_t ext[300], m[600], e[50];
	struct scpp_wire_cont c, d;
	size_t n;

	(void)state;
	assert_int_equal(SCPP_WIRE_COPY_SRCS_MAX, 5);
	assert_int_equal(scpp_wire_copy_src_encode(ext, sizeof(ext), &s), 50);
	assert_memory_equal(ext, want, 50);
	assert_int_equal(scpp_wire_copy_src_encode(ext, 49, &s), -ENOSPC);
	assert_int_equal(scpp_wire_copy_src_decode(want + 2, 48, &t), 0);
	assert_true(t.row == 1 && t.window.hi == 0x100001 && t.window.lo == 0x2a &&
		    t.offset == 4096 && t.length == 4 << 20 && t.pin == 0xdeadbeef);
	/* Two of them (rows 1 and 3) in a CONT of 4 rows, with a principal-less
	 * optional extension between: found in order. */
	s.row = 3;
	s.pin = 7;
	assert_int_equal(scpp_wire_copy_src_encode(ext + 50, sizeof(ext) - 50, &s), 50);
	ext[100] = 200, ext[101] = 1, ext[102] = 'x';
	memmove(ext + 103, ext + 50, 50);
	memcpy(ext + 50, ext + 100, 3);
	memcpy(ext + 53, ext + 103, 50);
	cont_sample(&c);
	c.nrows = 4;
	c.ext = ext;
	c.ext_len = 103;
	assert_int_equal(scpp_wire_cont_encode(m, sizeof(m), &c), 52 + 103);
	n = 52 + 103;
	memcpy(m + n, "blok", 4);
	memset(m + n + 4, 0, 32); /* four rows binding nothing */
	n += 36;
	assert_int_equal(scpp_wire_cont_decode(m, n, &d), 0);
	assert_int_equal(scpp_wire_cont_copy_srcs(&d, got, SCPP_WIRE_COPY_SRCS_MAX), 2);
	assert_true(got[0].row == 1 && got[0].pin == 0xdeadbeef);
	assert_true(got[1].row == 3 && got[1].pin == 7 && got[1].length == 4 << 20);
	assert_int_equal(scpp_wire_cont_copy_srcs(&d, got, 1), -ENOSPC);
	/* A row at or past the part's rows. */
	d.nrows = 3;
	assert_int_equal(scpp_wire_cont_copy_srcs(&d, got, 2), -SCPP_E_BAD_VAR);

	/* Each bad field of one extension, as the CONT decoder sees it. */
#define BAD_EXT(mutate, code)                                                 \
	do {                                                                  \
		memcpy(e, want, 50);                                          \
		mutate;                                                       \
		cont_sample(&c);                                              \
		c.ext = e;                                                    \
		c.ext_len = 50;                                               \
		/* The encoder checks extensions too: write it by hand. */   \
		memcpy(m, example, 52);                                       \
		m[48] = 50;                                                   \
		memcpy(m + 52, e, 50);                                        \
		memcpy(m + 102, "blok", 4);                                   \
		memset(m + 106, 0, 8);                                        \
		assert_int_equal(scpp_wire_cont_decode(m, 114, &d), (code));  \
		assert_int_equal(scpp_wire_cont_encode(fb2, sizeof(fb2), &c), \
				 (code) == 0 ? 102 : -EINVAL);                 \
	} while (0)
	{
		uint8_t fb2[200];

		BAD_EXT((void)0, 0);
		BAD_EXT(e[1] = 47, -SCPP_E_BAD_LENGTH);                       /* length byte */
		BAD_EXT(e[6] = 1, -SCPP_E_BAD_FLAGS);                         /* reserved */
		BAD_EXT(memset(e + 10, 0, 16), -SCPP_E_BAD_VALUE_TYPE);       /* nil window */
		BAD_EXT(memset(e + 34, 0, 8), -SCPP_E_BAD_LENGTH);            /* length 0 */
		BAD_EXT((e[34] = 1, e[39] = 1), -SCPP_E_BAD_LENGTH);          /* over 2^40 */
		BAD_EXT(memset(e + 26, 0xff, 8), -SCPP_E_BAD_LENGTH);         /* wraps */
		BAD_EXT(e[0] = 4, -SCPP_E_BAD_KIND);                          /* unknown type 4 */
		BAD_EXT(e[0] = 3, -SCPP_E_BAD_LENGTH);                        /* a MEMORY_WINDOW's length */
	}
#undef BAD_EXT
	/* Rows must ascend: the same row twice, or going back. */
	memcpy(e, want, 50);
	memcpy(ext, want, 50);
	memcpy(ext + 50, want, 50);
	memcpy(m, example, 52);
	m[48] = 100;
	memcpy(m + 52, ext, 100);
	memcpy(m + 152, "blok", 4);
	memset(m + 156, 0, 8);
	assert_int_equal(scpp_wire_cont_decode(m, 164, &d), -EEXIST);
	m[52 + 2] = 2; /* row 2, then row 1 */
	assert_int_equal(scpp_wire_cont_decode(m, 164, &d), -EEXIST);
	m[52 + 50 + 2] = 3; /* rows 2, 3: fine (the example has 1 row: copy_srcs says so) */
	assert_int_equal(scpp_wire_cont_decode(m, 164, &d), 0);
	assert_int_equal(scpp_wire_cont_copy_srcs(&d, got, 2), -SCPP_E_BAD_VAR);
	/* A FORWARD does not take them (type 2 is a CONT's). */
	{
		struct scpp_wire_fwd f;

		memset(&f, 0, sizeof(f));
		f.inner_kind = SCPP_WIRE_BLOCK;
		f.hops = 1;
		f.origin = 1;
		f.ext = want;
		f.ext_len = 50;
		assert_int_equal(scpp_wire_fwd_encode(m, sizeof(m), &f), -EINVAL);
		f.ext_len = 0;
		assert_int_equal(scpp_wire_fwd_encode(m, sizeof(m), &f), SCPP_WIRE_FWD_HDR_LEN);
	}
	/* The encoder refuses what the decoder would. */
	t = (struct scpp_wire_copy_src){.row = 0, .window = {1, 1}, .length = 0};
	assert_int_equal(scpp_wire_copy_src_encode(e, sizeof(e), &t), -EINVAL);
}

/* A CONT message of the example's header carrying extensions @p e
 * (@p n bytes), the 4-byte block and @p nrows rows binding nothing, in
 * @p m; its length. */
static size_t
ext_msg(uint8_t *m, const uint8_t *e, size_t n, uint32_t nrows)
{
	memcpy(m, example, 52);
	m[36] = (uint8_t)nrows;
	m[48] = (uint8_t)n;
	m[49] = (uint8_t)(n >> 8);
	memcpy(m + 52, e, n);
	memcpy(m + 52 + n, "blok", 4);
	memset(m + 56 + n, 0, 8 * (size_t)nrows);
	return 56 + n + 8 * (size_t)nrows;
}

/* CONT extension type 3, MEMORY_WINDOW (docs/PROTOCOL.md §19.1): the
 * documented bytes, each bad field refused with its code (by the body
 * decoder and the CONT decoder, and the encoder refusing the same), rows
 * ascending and within the part, a FORWARD refusing it, one fitting behind
 * a principal and a COPY_SOURCE, and random mutations of the body either
 * refused or re-encoded to the same bytes. */
void
test_wire_cont_memwin_layout_and_bad_fields(void **state)
{
	static const uint8_t want[34] = {
		0x03, 0x20,                                     /* type 3, 32 bytes */
		0x01, 0x00, 0x00, 0x01,                         /* row 1, into the window */
		0xb8, 0x0b, 0x00, 0x00,                         /* length 3000 */
		0x01, 0x00, 0x30, 0x00, 0x00, 0x00, 0x00, 0x00, /* window hi */
		0x2b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* window lo */
		0x64, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* offset 4196 */
	};
	struct scpp_wire_memwin x = {.row = 1, .dir = SCPP_WIRE_MEMWIN_INTO, .length = 3000,
				     .window = {0x300001, 0x2b}, .offset = 4196}, got[4], t;
	struct scpp_wire_copy_src cs = {.row = 1, .window = {0x100001, 0x2a}, .offset = 64,
					.length = 3000, .pin = 9};
	uint8_t ext[SCPP_WIRE_CONT_EXT_MAX], m[600], e[34], body[32], re[34];
	struct scpp_wire_cont d;
	uint64_t seed = 0x6d656d77696eull;
	size_t n;

	(void)state;
	assert_int_equal(scpp_wire_memwin_encode(ext, sizeof(ext), &x), 34);
	assert_memory_equal(ext, want, 34);
	assert_int_equal(scpp_wire_memwin_encode(ext, 33, &x), -ENOSPC);
	assert_int_equal(scpp_wire_memwin_decode(want + 2, 32, &t), 0);
	assert_true(t.row == 1 && t.dir == SCPP_WIRE_MEMWIN_INTO && t.length == 3000 &&
		    t.window.hi == 0x300001 && t.window.lo == 0x2b && t.offset == 4196);
	/* In a CONT of 3 rows: rows 0 (out of) and 2 (into), found in order,
	 * beside a COPY_SOURCE, which ignores them (and they it). */
	x.row = 0, x.dir = SCPP_WIRE_MEMWIN_OUT;
	assert_int_equal(scpp_wire_memwin_encode(ext, sizeof(ext), &x), 34);
	assert_int_equal(scpp_wire_copy_src_encode(ext + 34, sizeof(ext) - 34, &cs), 50);
	x.row = 2, x.dir = SCPP_WIRE_MEMWIN_INTO;
	assert_int_equal(scpp_wire_memwin_encode(ext + 84, sizeof(ext) - 84, &x), 34);
	n = ext_msg(m, ext, 118, 3);
	assert_int_equal(scpp_wire_cont_decode(m, n, &d), 0);
	assert_int_equal(scpp_wire_cont_memwins(&d, got, 4), 2);
	assert_true(got[0].row == 0 && got[0].dir == SCPP_WIRE_MEMWIN_OUT);
	assert_true(got[1].row == 2 && got[1].dir == SCPP_WIRE_MEMWIN_INTO && got[1].length == 3000);
	assert_int_equal(scpp_wire_cont_memwins(&d, got, 1), -ENOSPC);
	{
		struct scpp_wire_copy_src srcs[2];

		assert_int_equal(scpp_wire_cont_copy_srcs(&d, srcs, 2), 1);
		assert_int_equal(srcs[0].row, 1);
	}
	d.nrows = 2; /* row 2 is past the part's rows */
	assert_int_equal(scpp_wire_cont_memwins(&d, got, 4), -SCPP_E_BAD_VAR);
	/* Rows must ascend: row 2 twice; going back to row 1. */
	memcpy(ext, ext + 84, 34);
	memcpy(ext + 34, ext + 84, 34);
	n = ext_msg(m, ext, 68, 3);
	assert_int_equal(scpp_wire_cont_decode(m, n, &d), -EEXIST);
	m[52 + 34 + 2] = 1;
	assert_int_equal(scpp_wire_cont_decode(m, n, &d), -EEXIST);

	/* Each bad field, as the body decoder and the CONT decoder see it. */
#define BAD_MW(mutate, code)                                                      \
	do {                                                                      \
		memcpy(e, want, 34);                                              \
		mutate;                                                           \
		n = ext_msg(m, e, 34, 2);                                         \
		assert_int_equal(scpp_wire_cont_decode(m, n, &d), (code));        \
		if (e[1] == 32)                                                   \
			assert_int_equal(scpp_wire_memwin_decode(e + 2, 32, &t), (code)); \
	} while (0)
	BAD_MW((void)0, 0);
	BAD_MW(e[1] = 31, -SCPP_E_BAD_LENGTH);                  /* length byte */
	BAD_MW(e[1] = 33, -SCPP_E_TRUNCATED);                   /* past the area */
	BAD_MW(e[5] = 0, -SCPP_E_BAD_FLAGS);                    /* no direction */
	BAD_MW(e[5] = 3, -SCPP_E_BAD_FLAGS);                    /* both */
	BAD_MW(memset(e + 6, 0, 4), -SCPP_E_BAD_LENGTH);        /* length 0 */
	BAD_MW(memset(e + 10, 0, 16), -SCPP_E_BAD_VALUE_TYPE);  /* nil window */
	BAD_MW(memset(e + 26, 0xff, 8), -SCPP_E_BAD_LENGTH);    /* offset + length wraps */
#undef BAD_MW
	/* The encoder refuses what the decoder would, and rows of 2^24. */
	t = (struct scpp_wire_memwin){.row = 0, .dir = 0, .length = 1, .window = {1, 1}};
	assert_int_equal(scpp_wire_memwin_encode(e, sizeof(e), &t), -EINVAL);
	t.dir = SCPP_WIRE_MEMWIN_OUT, t.length = 0;
	assert_int_equal(scpp_wire_memwin_encode(e, sizeof(e), &t), -EINVAL);
	t.length = 1, t.window = (struct scpp_oid){0, 0};
	assert_int_equal(scpp_wire_memwin_encode(e, sizeof(e), &t), -EINVAL);
	t.window = (struct scpp_oid){1, 1}, t.offset = UINT64_MAX;
	assert_int_equal(scpp_wire_memwin_encode(e, sizeof(e), &t), -EINVAL);
	t.offset = 0, t.row = SCPP_WIRE_CONT_ROWS_MAX;
	assert_int_equal(scpp_wire_memwin_encode(e, sizeof(e), &t), -EINVAL);
	t.row = SCPP_WIRE_CONT_ROWS_MAX - 1;
	assert_int_equal(scpp_wire_memwin_encode(e, sizeof(e), &t), 34);
	/* A FORWARD does not take it (type 3 is a CONT's). */
	{
		struct scpp_wire_fwd f;

		memset(&f, 0, sizeof(f));
		f.inner_kind = SCPP_WIRE_BLOCK;
		f.hops = 1;
		f.origin = 1;
		f.ext = want;
		f.ext_len = 34;
		assert_int_equal(scpp_wire_fwd_encode(m, sizeof(m), &f), -EINVAL);
	}
	/* Room: a principal (2 + 170), one COPY_SOURCE and one MEMORY_WINDOW
	 * fill the 256 bytes exactly. */
	assert_int_equal(2 + 170 + 2 + SCPP_WIRE_COPY_SRC_LEN + 2 + SCPP_WIRE_MEMWIN_LEN,
			 SCPP_WIRE_CONT_EXT_MAX);
	/* Random mutations of the body: refused, or re-encoded byte for byte. */
	for (int i = 0; i < 200000; i++) {
		memcpy(body, want + 2, 32);
		for (int k = (int)test_rand_below(&seed, 4); k >= 0; k--)
			body[test_rand_below(&seed, 32)] = (uint8_t)test_rand(&seed);
		if (scpp_wire_memwin_decode(body, 32, &t) != 0)
			continue;
		assert_int_equal(scpp_wire_memwin_encode(re, sizeof(re), &t), 34);
		assert_memory_equal(re + 2, body, 32);
	}
}

/*
 * A CONT_REPLY with rest groups (docs/PROTOCOL.md §19.2): the documented
 * bytes, the groups found in order and the records after them, and every
 * bad field of a group refused with its code.
 */
void
test_wire_cont_reply_rest_groups(void **state)
{
	static const uint8_t want[] = {
		1, 1, 2, 0, 3, 0, 0, 0, 0x02, 0x01, 0, 0, 0, 0, 0, 0,
		/* group 0: from command 2, one row, node 2 shard 0, 9 bytes */
		2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 9, 0, 0, 0,
		1, 0, 0, 0, 0, 0, 0, 0, 0x0a,
		/* group 1: from command 3, one row, node 5 shard 1, 8 bytes */
		3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 5, 0, 0, 0, 0, 0, 8, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0,
		SCPP_REC_COLUMNS,
	};
	struct scpp_wire_cont_reply r = {.flags = SCPP_WIRE_CONT_REPLY_F_REST, .nrest = 2,
					 .owner = 3, .cont_id = 0x0102}, d;
	struct scpp_wire_cont_rest g = {.start = 2, .nrows = 1, .shard = 2u << 16, .rows_len = 9};
	uint8_t m[sizeof(want)];
	size_t o = 0, off = 0;

	(void)state;
	o += (size_t)scpp_wire_cont_reply_encode(m, sizeof(m), &r);
	assert_int_equal(scpp_wire_cont_rest_encode(m + o, sizeof(m) - o, &g), 20);
	o += 20;
	memcpy(m + o, want + o, 9);
	o += 9;
	g = (struct scpp_wire_cont_rest){.start = 3, .nrows = 1, .shard = 5u << 16 | 1,
					 .rows_len = 8};
	assert_int_equal(scpp_wire_cont_rest_encode(m + o, sizeof(m) - o, &g), 20);
	o += 20;
	memset(m + o, 0, 8);
	o += 8;
	m[o++] = SCPP_REC_COLUMNS;
	assert_int_equal(o, sizeof(want));
	assert_memory_equal(m, want, sizeof(want));
	assert_int_equal(scpp_wire_cont_reply_decode(m, sizeof(m), &d), 0);
	assert_int_equal(d.nrest, 2);
	assert_ptr_equal(d.rest, m + 16);
	assert_int_equal(d.rest_len, 57);
	assert_ptr_equal(d.records, m + 73);
	assert_int_equal(d.records_len, 1);
	assert_int_equal(scpp_wire_cont_rest_next(&d, &off, &g), 1);
	assert_int_equal(g.start, 2);
	assert_true(g.shard == 2u << 16 && g.nrows == 1 && g.rows_len == 9);
	assert_ptr_equal(g.rows, m + 36);
	assert_int_equal(scpp_wire_cont_rest_next(&d, &off, &g), 1);
	assert_true(g.start == 3 && g.shard == (5u << 16 | 1));
	assert_int_equal(scpp_wire_cont_rest_next(&d, &off, &g), 0);
	off = 3;
	assert_int_equal(scpp_wire_cont_rest_next(&d, &off, &g), -EINVAL);
	/* Every prefix that cuts a group is truncated. */
	for (size_t cut = 16; cut < 73; cut++)
		assert_int_equal(scpp_wire_cont_reply_decode(m, cut, &d), -SCPP_E_TRUNCATED);
	/* REST without groups, groups without REST, too many. */
	m[2] = 0;
	assert_int_equal(scpp_wire_cont_reply_decode(m, sizeof(m), &d), -SCPP_E_BAD_FLAGS);
	m[2] = 2;
	m[1] = 0;
	assert_int_equal(scpp_wire_cont_reply_decode(m, sizeof(m), &d), -SCPP_E_BAD_FLAGS);
	m[1] = 3;
	assert_int_equal(scpp_wire_cont_reply_decode(m, sizeof(m), &d), -SCPP_E_BAD_FLAGS);
	m[1] = 1;
	m[2] = 65;
	assert_int_equal(scpp_wire_cont_reply_decode(m, sizeof(m), &d), -SCPP_E_TOO_MANY);
	m[2] = 2;
	/* A group's reserved bytes, node 0, nrows 0, rows_len below 8 x nrows. */
	m[18] = 1;
	assert_int_equal(scpp_wire_cont_reply_decode(m, sizeof(m), &d), -SCPP_E_BAD_FLAGS);
	m[18] = 0;
	m[26] = 0;
	assert_int_equal(scpp_wire_cont_reply_decode(m, sizeof(m), &d), -SCPP_E_BAD_FLAGS);
	m[26] = 2;
	m[20] = 0;
	assert_int_equal(scpp_wire_cont_reply_decode(m, sizeof(m), &d), -SCPP_E_BAD_LENGTH);
	m[20] = 2;
	assert_int_equal(scpp_wire_cont_reply_decode(m, sizeof(m), &d), -SCPP_E_BAD_LENGTH);
	m[20] = 1;
	assert_int_equal(scpp_wire_cont_reply_decode(m, sizeof(m), &d), 0);
	/* The encoders refuse what would not decode. */
	r.nrest = 0;
	assert_int_equal(scpp_wire_cont_reply_encode(m, sizeof(m), &r), -EINVAL);
	g.nrows = 0;
	assert_int_equal(scpp_wire_cont_rest_encode(m, sizeof(m), &g), -EINVAL);
	g.nrows = 1;
	g.shard = 0;
	assert_int_equal(scpp_wire_cont_rest_encode(m, sizeof(m), &g), -EINVAL);
}
