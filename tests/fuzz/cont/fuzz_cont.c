/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target for the continuation messages (docs/PROTOCOL.md §19). Besides
 * "never crash, never read out of bounds", it checks what the decoders
 * promise:
 *
 * - CONT: an accepted header re-encodes to the same bytes; the block and
 *   the rows lie inside the input, one after the other, to its end;
 * - rows: every row the reader accepts re-encodes to exactly the bytes it
 *   was read from (canonical), an error consumes nothing and repeats, and
 *   the reader never accepts more rows than the header's count;
 * - the carried block decodes or fails like any block (no crash);
 * - COPY_SOURCE extensions (type 2): each re-encodes to its bytes, rows
 *   ascending;
 * - CONT_REPLY: an accepted header re-encodes to the same bytes, its rest
 *   groups (each re-encoding to its bytes) are exactly nrest and lie one
 *   after the other, and its records are the rest of the input, which the
 *   reply reader walks.
 *
 * Violations abort(), which libFuzzer (and the replay driver) report.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scpp_wire.h"

/* ~40 KiB each: static, never on the stack. */
static struct scpp_wire_block blk;
static struct scpp_wire_record rec;

#define CHECK(x)                                                              \
	do {                                                                  \
		if (!(x))                                                     \
			abort();                                              \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_rows(const struct scpp_wire_cont *c)
{
	struct scpp_wire_cont_rows it;
	struct scpp_value v[SCPP_WIRE_VARS_MAX];
	static uint8_t out[1 << 16];
	uint32_t rows = 0;
	uint64_t bound;
	int rc;

	scpp_wire_cont_rows_init(&it, c);
	for (;;) {
		size_t at = it.off;

		rc = scpp_wire_cont_row_next(&it, &bound, v);
		if (rc != 1)
			break;
		rows++;
		CHECK(rows <= c->nrows);
		CHECK(it.off > at && it.off <= c->rows_len);
		if (it.off - at <= sizeof(out)) {
			int n = scpp_wire_cont_row_encode(out, sizeof(out), c->nvars, bound, v);

			CHECK(n == (int)(it.off - at));
			CHECK(memcmp(out, c->rows + at, (size_t)n) == 0);
			CHECK(scpp_wire_cont_row_size(c->nvars, bound, v) == (size_t)n);
		}
	}
	if (rc == 0) {
		CHECK(rows == c->nrows && it.off == c->rows_len);
	} else {
		size_t at = it.off;

		CHECK(rc < 0);
		CHECK(scpp_wire_cont_row_next(&it, &bound, v) == rc);
		CHECK(it.off == at);
	}
}

/* COPY_SOURCE extensions: the decoder checked them; each re-encodes to the
 * bytes it came from, in order. */
static void
check_copy_srcs(const struct scpp_wire_cont *c)
{
	struct scpp_wire_copy_src s[SCPP_WIRE_COPY_SRCS_MAX];
	uint8_t out[2 + SCPP_WIRE_COPY_SRC_LEN];
	int n = scpp_wire_cont_copy_srcs(c, s, SCPP_WIRE_COPY_SRCS_MAX), k = 0;

	CHECK(n >= 0 || n == -SCPP_E_BAD_VAR);
	for (size_t o = 0; n > 0 && o < c->ext_len; o += 2u + c->ext[o + 1]) {
		if (c->ext[o] != SCPP_WIRE_CONT_EXT_COPY_SRC)
			continue;
		CHECK(k < n);
		CHECK(scpp_wire_copy_src_encode(out, sizeof(out), &s[k]) == (int)sizeof(out));
		CHECK(memcmp(out, c->ext + o, sizeof(out)) == 0);
		CHECK(k == 0 || s[k].row > s[k - 1].row);
		k++;
	}
	CHECK(n <= 0 || k == n);
}

/* MEMORY_WINDOW extensions: as COPY_SOURCE's, each re-encodes to the bytes
 * it came from, rows ascending. */
static void
check_memwins(const struct scpp_wire_cont *c)
{
	struct scpp_wire_memwin m[SCPP_WIRE_CONT_EXT_MAX / (2 + SCPP_WIRE_MEMWIN_LEN)];
	uint8_t out[2 + SCPP_WIRE_MEMWIN_LEN];
	int n = scpp_wire_cont_memwins(c, m, SCPP_ARRAY_SIZE(m)), k = 0;

	CHECK(n >= 0 || n == -SCPP_E_BAD_VAR);
	for (size_t o = 0; n > 0 && o < c->ext_len; o += 2u + c->ext[o + 1]) {
		if (c->ext[o] != SCPP_WIRE_CONT_EXT_MEMWIN)
			continue;
		CHECK(k < n);
		CHECK(scpp_wire_memwin_encode(out, sizeof(out), &m[k]) == (int)sizeof(out));
		CHECK(memcmp(out, c->ext + o, sizeof(out)) == 0);
		CHECK(k == 0 || m[k].row > m[k - 1].row);
		k++;
	}
	CHECK(n <= 0 || k == n);
}

static void
check_cont(const uint8_t *d, size_t n)
{
	struct scpp_wire_cont c;
	uint8_t out[SCPP_WIRE_CONT_HDR_LEN + SCPP_WIRE_CONT_EXT_MAX];
	uint32_t off;
	int hl;

	if (scpp_wire_cont_decode(d, n, &c) != 0)
		return;
	hl = scpp_wire_cont_encode(out, sizeof(out), &c);
	CHECK(hl == (int)(SCPP_WIRE_CONT_HDR_LEN + c.ext_len));
	CHECK(memcmp(out, d, (size_t)hl) == 0);
	CHECK(c.block == d + hl);
	CHECK(c.rows == c.block + c.block_len);
	CHECK(c.rows + c.rows_len == d + n && c.rows_len >= 1);
	check_rows(&c);
	check_copy_srcs(&c);
	check_memwins(&c);
	(void)scpp_wire_block_decode(c.block, c.block_len, &blk, &off);
}

static void
check_cont_reply(const uint8_t *d, size_t n)
{
	struct scpp_wire_cont_reply r;
	struct scpp_wire_reply_reader rd;
	uint8_t out[SCPP_WIRE_CONT_REPLY_HDR_LEN];

	if (scpp_wire_cont_reply_decode(d, n, &r) != 0)
		return;
	CHECK(scpp_wire_cont_reply_encode(out, sizeof(out), &r) == SCPP_WIRE_CONT_REPLY_HDR_LEN);
	CHECK(memcmp(out, d, sizeof(out)) == 0);
	CHECK(r.records == d + SCPP_WIRE_CONT_REPLY_HDR_LEN + r.rest_len);
	CHECK(r.records + r.records_len == d + n);
	{
		struct scpp_wire_cont_rest g;
		uint8_t gh[SCPP_WIRE_CONT_REST_HDR_LEN];
		size_t off = 0, at;
		unsigned int groups = 0;
		int rc;

		for (at = off; (rc = scpp_wire_cont_rest_next(&r, &off, &g)) == 1; at = off) {
			groups++;
			CHECK(scpp_wire_cont_rest_encode(gh, sizeof(gh), &g) == (int)sizeof(gh));
			CHECK(memcmp(gh, r.rest + at, sizeof(gh)) == 0);
			CHECK(g.rows == r.rest + at + sizeof(gh) && off - at == sizeof(gh) + g.rows_len);
		}
		CHECK(rc == 0 && groups == r.nrest && off == r.rest_len);
	}
	scpp_wire_reply_reader_init(&rd, r.records, r.records_len);
	while (scpp_wire_reply_next(&rd, &rec) == 1)
		CHECK(rd.off <= r.records_len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_cont(data, size);
	check_cont_reply(data, size);
	return 0;
}
