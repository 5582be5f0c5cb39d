/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target for lib/wire. Besides "never crash, never read out of
 * bounds", it checks the properties the decoders promise:
 *
 * - header: an accepted datagram re-encodes to the same bytes;
 * - FETCH and NOTICE payloads, FORWARD headers: accepted ones re-encode to
 *   the same bytes;
 * - block: an accepted block re-encodes to exactly the input (canonical
 *   encoding), decodes again to an equal block, and its proper prefixes are
 *   truncated; an error offset lies inside the input; decoding up to the
 *   owner and then on gives the same block and the owner rule's answer;
 * - reply: fed in growing prefixes, the incremental reader returns the same
 *   records and the same final verdict as one pass over the whole input, and
 *   the records it accepts re-encode to the same bytes.
 *
 * The whole input and the input past the 32-byte header are both tried as a
 * block and as a reply, so corpus datagrams exercise every decoder.
 * Violations abort(), which libFuzzer (and the replay driver) report.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scpp_wire.h"

/* ~40 KiB each: static, never on the stack. */
static struct scpp_wire_block blk, blk2;
static struct scpp_wire_record rec;

#define CHECK(x)                                                              \
	do {                                                                  \
		if (!(x))                                                     \
			abort();                                              \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_hdr(const uint8_t *d, size_t n)
{
	struct scpp_wire_hdr h;
	uint8_t *out;

	if (scpp_wire_hdr_decode(d, n, &h) != 0)
		return;
	CHECK(h.payload == d + SCPP_WIRE_HDR_LEN);
	CHECK(h.tag + h.tag_len == d + n);
	out = malloc(n);
	CHECK(out != NULL);
	CHECK(scpp_wire_dgram_encode(out, n, &h) == (int)n);
	CHECK(memcmp(out, d, n) == 0);
	free(out);
}

static void
check_fetch_notice(const uint8_t *d, size_t n)
{
	struct scpp_wire_fetch f;
	struct scpp_wire_notice no;
	uint8_t out[SCPP_WIRE_FETCH_LEN(SCPP_WIRE_FETCH_RANGES_MAX)];

	if (scpp_wire_fetch_decode(d, n, &f) == 0) {
		CHECK(scpp_wire_fetch_encode(out, sizeof(out), &f) == (int)n);
		CHECK(memcmp(out, d, n) == 0);
	}
	if (scpp_wire_notice_decode(d, n, &no) == 0) {
		CHECK(scpp_wire_notice_encode(out, sizeof(out), &no) == (int)n);
		CHECK(memcmp(out, d, n) == 0);
	}
}

/* A FORWARD header (docs/PROTOCOL.md §18): what decodes re-encodes to the
 * same bytes, and the inner message is the rest of the input. */
static void
check_fwd(const uint8_t *d, size_t n)
{
	struct scpp_wire_fwd f;
	uint8_t out[SCPP_WIRE_FWD_HDR_LEN + SCPP_WIRE_FWD_EXT_MAX];
	int k;

	if (scpp_wire_fwd_decode(d, n, &f) != 0)
		return;
	CHECK(f.ext == d + SCPP_WIRE_FWD_HDR_LEN && f.msg == f.ext + f.ext_len);
	CHECK(f.msg + f.msg_len == d + n);
	CHECK(f.hops >= 1 && f.hops <= SCPP_WIRE_FWD_HOPS_MAX && f.origin != 0);
	k = scpp_wire_fwd_encode(out, sizeof(out), &f);
	CHECK(k == (int)(SCPP_WIRE_FWD_HDR_LEN + f.ext_len));
	CHECK(memcmp(out, d, (size_t)k) == 0);
}

/* Incremental decoding stops at the owner and otherwise agrees with the
 * whole-block decoder (called on a block that decoded whole into blk). */
static void
check_owner(const uint8_t *d, size_t n)
{
	struct scpp_wire_block_cursor bc;
	struct scpp_oid want, got;
	bool has = scpp_wire_block_owner(&blk, &want);
	int rc;

	CHECK(scpp_wire_block_decode_begin(&bc, d, n, &blk2, NULL) == 0);
	rc = scpp_wire_block_decode_owner(&bc, &blk2, &got, NULL);
	CHECK(rc == (has ? 1 : 0));
	if (has) {
		CHECK(scpp_oid_eq(got, want));
		while ((rc = scpp_wire_block_decode_next(&bc, &blk2, NULL)) == 1)
			;
		CHECK(rc == 0);
	}
	CHECK(scpp_wire_block_equal(&blk, &blk2));
}

static void
check_block(const uint8_t *d, size_t n)
{
	uint32_t off = UINT32_MAX;
	uint8_t *out;
	int rc = scpp_wire_block_decode(d, n, &blk, &off);

	if (rc != 0) {
		CHECK(rc < 0 && off <= n);
		return;
	}
	CHECK(scpp_wire_block_encoded_size(&blk) == n);
	check_owner(d, n);
	out = malloc(n + 1);
	CHECK(out != NULL);
	CHECK(scpp_wire_block_encode(&blk, out, n) == (int)n);
	CHECK(memcmp(out, d, n) == 0);
	CHECK(n == 0 || scpp_wire_block_encode(&blk, out, n - 1) == -ENOSPC);
	CHECK(scpp_wire_block_decode(out, n, &blk2, NULL) == 0);
	CHECK(scpp_wire_block_equal(&blk, &blk2));
	CHECK(scpp_wire_block_equal(&blk2, &blk));
	free(out);
	/* Prefixes of a valid block are incomplete, never something else. */
	CHECK(n > 0 && scpp_wire_block_decode(d, n - 1, &blk2, NULL) == -SCPP_E_TRUNCATED);
	CHECK(scpp_wire_block_decode(d, n / 2, &blk2, NULL) == -SCPP_E_TRUNCATED);
}

static int
rewrite(struct scpp_wire_reply_writer *w, const struct scpp_wire_record *r)
{
	switch (r->type) {
	case SCPP_REC_COLUMNS:
		return scpp_wire_reply_columns(w, r->columns.name, r->columns.n);
	case SCPP_REC_ROW:
		return scpp_wire_reply_row(w, r->row.v);
	case SCPP_REC_STATUS:
		return scpp_wire_reply_status(w, r->status.oid, r->status.key, r->status.v,
					      r->status.n);
	case SCPP_REC_END:
		return scpp_wire_reply_end_ex(w, r->end.err, r->end.outcome, r->end.rows,
					      r->end.commands, r->end.elapsed_ns, r->end.statuses);
	case SCPP_REC_COPY:
		return scpp_wire_reply_copy(w, &r->copy);
	default:
		abort();
	}
}

static void
check_reply(const uint8_t *d, size_t n)
{
	size_t *ends;
	uint8_t *types;
	struct scpp_wire_reply_reader r;
	struct scpp_wire_reply_writer w;
	unsigned int nrec = 0, k = 0;
	size_t final_off, len;
	uint8_t *out;
	int final, rc;

	/* One pass over the whole input; re-encode what it accepts. Every
	 * record is at least one byte, so n + 1 slots are enough. */
	out = malloc(n + 1);
	ends = malloc((n + 1) * sizeof(*ends));
	types = malloc(n + 1);
	CHECK(out != NULL && ends != NULL && types != NULL);
	scpp_wire_reply_writer_init(&w, out, n);
	scpp_wire_reply_reader_init(&r, d, n);
	while ((final = scpp_wire_reply_next(&r, &rec)) == 1) {
		CHECK(nrec <= n);
		ends[nrec] = r.off;
		types[nrec++] = rec.type;
		CHECK(rewrite(&w, &rec) == 0);
		CHECK(w.len == r.off);
	}
	final_off = r.off;
	CHECK(memcmp(out, d, w.len) == 0);
	free(out);
	CHECK(scpp_wire_reply_next(&r, &rec) == final); /* sticky */

	/* Growing prefixes: every length while short, then ~64 steps more. */
	scpp_wire_reply_reader_init(&r, d, 0);
	for (len = 0;;) {
		rc = scpp_wire_reply_next(&r, &rec);
		if (rc == 1) {
			CHECK(k < nrec && r.off == ends[k] && rec.type == types[k]);
			k++;
			continue;
		}
		if (len == n)
			break;
		if (rc != -SCPP_E_TRUNCATED && rc != 0) {
			/* A real error on a prefix is final: the whole input
			 * must end the same way, at the same record. */
			CHECK(rc == final && k == nrec && r.off == final_off);
			goto out;
		}
		len += len < 256 ? 1 : 1 + len / 64;
		if (len > n)
			len = n;
		scpp_wire_reply_reader_feed(&r, d, len);
	}
	CHECK(rc == final && k == nrec && r.off == final_off);
out:
	free(ends);
	free(types);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_hdr(data, size);
	check_fetch_notice(data, size);
	check_fwd(data, size);
	check_block(data, size);
	check_reply(data, size);
	if (size >= SCPP_WIRE_HDR_LEN) {
		check_fetch_notice(data + SCPP_WIRE_HDR_LEN, size - SCPP_WIRE_HDR_LEN);
		check_fwd(data + SCPP_WIRE_HDR_LEN, size - SCPP_WIRE_HDR_LEN);
		check_block(data + SCPP_WIRE_HDR_LEN, size - SCPP_WIRE_HDR_LEN);
		check_reply(data + SCPP_WIRE_HDR_LEN, size - SCPP_WIRE_HDR_LEN);
	}
	return 0;
}
