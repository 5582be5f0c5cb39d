/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/cont: the merge of a split block's parts (order, END, no room, bad
 * parts, COPY records one per command) and the owner's at-most-once record (against a reference model,
 * full table, expiry order, bad arguments).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scpp_test.h"
#include "scpp_cont.h"
#include "scpp_status.h"
#include "scpp_wire.h"

static uint8_t pbuf[4][4096], out[8192], want[8192];

static const struct scpp_wire_name col[2] = {{"p", 1}, {"n", 1}};

/* @p nst ENOENT statuses of part @p base, with no row, into @p w. */
static void
put_statuses(struct scpp_wire_reply_writer *w, uint64_t base, unsigned int nst)
{
	for (unsigned int i = 0; i < nst; i++) {
		struct scpp_status st;

		memset(&st, 0, sizeof(st));
		scpp_status_set(&st, -ENOENT, "eval", "part %lu status %u", (unsigned long)base, i);
		st.row = SCPP_STATUS_NO_ROW;
		st.offset = -1;
		assert_int_equal(scpp_status_encode(w, scpp_oid_make(0, 1, 0, 0, base + i), &st), 0);
	}
}

/* A part's reply: rows (p = u64 base + i, n = "r<i>"), @p nst statuses,
 * END with @p err / @p outcome, @p cmds commands. */
static size_t
part_reply(uint8_t *buf, size_t size, uint64_t base, unsigned int nrows, unsigned int nst,
	   uint32_t err, uint8_t outcome, uint64_t cmds)
{
	struct scpp_wire_reply_writer w;
	char nm[8];

	scpp_wire_reply_writer_init(&w, buf, size);
	assert_int_equal(scpp_wire_reply_columns(&w, col, 2), 0);
	for (unsigned int i = 0; i < nrows; i++) {
		struct scpp_value v[2];

		nm[0] = 'r';
		nm[1] = (char)('0' + i % 10);
		nm[2] = '\0';
		v[0] = scpp_value_u64(base + i);
		v[1] = scpp_value_str(nm, 2);
		assert_int_equal(scpp_wire_reply_row(&w, v), 0);
	}
	put_statuses(&w, base, nst);
	assert_int_equal(scpp_wire_reply_end_ex(&w, err, outcome, nrows, cmds, 7, nst), 0);
	return w.len;
}

static void
status_of(struct scpp_status *st, int code, const char *msg)
{
	memset(st, 0, sizeof(*st));
	scpp_status_set(st, code, "cluster", "%s", msg);
	st->row = SCPP_STATUS_NO_ROW;
	st->offset = -1;
}

/* Rows of every part in part order, then statuses in part order, one END. */
static void
test_cont_merge_orders_rows_then_statuses_by_part(void **state)
{
	struct scpp_cont_part p[4];
	struct scpp_wire_reply_writer w, x;
	struct scpp_cont_merged m;
	struct scpp_status lost;
	(void)state;

	memset(p, 0, sizeof(p));
	p[0].records = pbuf[0];
	p[0].len = part_reply(pbuf[0], sizeof(pbuf[0]), 100, 2, 1, 2, SCPP_OUTCOME_ERRORS, 5);
	p[1].records = pbuf[1];
	p[1].len = part_reply(pbuf[1], sizeof(pbuf[1]), 200, 3, 0, 0, SCPP_OUTCOME_OK, 4);
	status_of(&lost, -SCPP_E_OUTCOME_UNKNOWN, "no answer from node 3");
	p[2].st = &lost;
	p[2].st_oid = scpp_oid_make(0, 1, 0, 0, 999);
	p[3].records = pbuf[3];
	p[3].len = part_reply(pbuf[3], sizeof(pbuf[3]), 300, 0, 2, 2, SCPP_OUTCOME_ERRORS, 1);
	scpp_wire_reply_writer_init(&w, out, sizeof(out));
	assert_int_equal(scpp_cont_merge(&w, p, 4, 42, &m), 0);
	/* The same reply written record by record. */
	scpp_wire_reply_writer_init(&x, want, sizeof(want));
	assert_int_equal(scpp_wire_reply_columns(&x, col, 2), 0);
	{
		static const uint64_t bases[] = {100, 101, 200, 201, 202};
		static const unsigned int idx[] = {0, 1, 0, 1, 2};

		for (size_t i = 0; i < SCPP_ARRAY_SIZE(bases); i++) {
			char nm[3] = {'r', (char)('0' + idx[i]), 0};
			struct scpp_value v[2] = {scpp_value_u64(bases[i]), scpp_value_str(nm, 2)};

			assert_int_equal(scpp_wire_reply_row(&x, v), 0);
		}
	}
	{
		static const uint64_t sb[] = {100, 300, 300};
		static const unsigned int si[] = {0, 0, 1};
		struct scpp_status st;

		memset(&st, 0, sizeof(st));
		scpp_status_set(&st, -ENOENT, "eval", "part 100 status 0");
		st.row = SCPP_STATUS_NO_ROW;
		st.offset = -1;
		assert_int_equal(scpp_status_encode(&x, scpp_oid_make(0, 1, 0, 0, 100), &st), 0);
		assert_int_equal(scpp_status_encode(&x, p[2].st_oid, &lost), 0);
		for (size_t i = 1; i < 3; i++) {
			scpp_status_set(&st, -ENOENT, "eval", "part %lu status %u",
					(unsigned long)sb[i], si[i]);
			st.row = SCPP_STATUS_NO_ROW;
			st.offset = -1;
			assert_int_equal(scpp_status_encode(&x, scpp_oid_make(0, 1, 0, 0,
									 sb[i] + si[i]), &st), 0);
		}
	}
	/* Worst outcome: the lost part (ABORTED), with its errno. */
	assert_int_equal(scpp_wire_reply_end_ex(&x, SCPP_ERRNO_TIMEDOUT, SCPP_OUTCOME_ABORTED, 5,
					       10, 42, 4), 0);
	assert_int_equal(w.len, x.len);
	assert_memory_equal(out, want, x.len);
	assert_int_equal(m.outcome, SCPP_OUTCOME_ABORTED);
	assert_int_equal(m.err, SCPP_ERRNO_TIMEDOUT);
	assert_true(m.rows == 5 && m.commands == 10 && m.statuses == 4);
}

struct ocase {
	uint8_t o[3];
	uint32_t e[3];
	uint8_t outcome;
	uint32_t err;
};

/* The worst outcome wins; its errno is that of the first part having it. */
static void
test_cont_merge_outcome_is_the_worst_and_errno_the_first_of_it(void **state)
{
	static const struct ocase cases[] = {
		{{0, 0, 0}, {0, 0, 0}, SCPP_OUTCOME_OK, 0},
		{{0, 1, 0}, {0, 2, 0}, SCPP_OUTCOME_ERRORS, 2},
		{{1, 1, 0}, {13, 2, 0}, SCPP_OUTCOME_ERRORS, 13},
		{{1, 2, 2}, {13, 66, 2}, SCPP_OUTCOME_ABORTED, 66},
		{{2, 0, 1}, {110, 0, 2}, SCPP_OUTCOME_ABORTED, 110},
		{{0, 0, 2}, {0, 0, 28}, SCPP_OUTCOME_ABORTED, 28},
	};
	(void)state;

	for (size_t c = 0; c < SCPP_ARRAY_SIZE(cases); c++) {
		struct scpp_cont_part p[3];
		struct scpp_wire_reply_writer w;
		struct scpp_cont_merged m;

		for (int i = 0; i < 3; i++) {
			p[i].records = pbuf[i];
			p[i].len = part_reply(pbuf[i], sizeof(pbuf[i]), 10u * (unsigned)i, 1, 0,
					      cases[c].e[i], cases[c].o[i], 1);
			p[i].st = NULL;
		}
		scpp_wire_reply_writer_init(&w, out, sizeof(out));
		assert_int_equal(scpp_cont_merge(&w, p, 3, 0, &m), 0);
		assert_int_equal(m.outcome, cases[c].outcome);
		assert_int_equal(m.err, cases[c].err);
		assert_true(m.rows == 3 && m.commands == 3);
	}
}

static void
test_cont_merge_without_room_leaves_the_writer_empty(void **state)
{
	struct scpp_cont_part p[2];
	struct scpp_wire_reply_writer w;
	struct scpp_cont_merged m;
	size_t need;
	(void)state;

	memset(p, 0, sizeof(p));
	for (int i = 0; i < 2; i++) {
		p[i].records = pbuf[i];
		p[i].len = part_reply(pbuf[i], sizeof(pbuf[i]), 1, 20, 2, 0, 0, 1);
	}
	scpp_wire_reply_writer_init(&w, out, sizeof(out));
	assert_int_equal(scpp_cont_merge(&w, p, 2, 0, &m), 0);
	need = w.len;
	for (size_t size = 8; size < need; size += 97) {
		scpp_wire_reply_writer_init(&w, out, size);
		assert_int_equal(scpp_cont_merge(&w, p, 2, 0, &m), -ENOSPC);
		assert_int_equal(w.len, 0);
		assert_int_equal(w.state, 0);
	}
	scpp_wire_reply_writer_init(&w, out, need);
	assert_int_equal(scpp_cont_merge(&w, p, 2, 0, &m), 0);
	assert_int_equal(w.len, need);
}

static void
test_cont_merge_rejects_bad_arguments_and_bad_parts(void **state)
{
	struct scpp_cont_part p[2];
	struct scpp_wire_reply_writer w;
	struct scpp_cont_merged m;
	struct scpp_status st;
	size_t n;
	(void)state;

	memset(p, 0, sizeof(p));
	status_of(&st, -SCPP_E_NOT_HERE, "unreachable");
	n = part_reply(pbuf[0], sizeof(pbuf[0]), 1, 1, 0, 0, 0, 1);
	scpp_wire_reply_writer_init(&w, out, sizeof(out));
	assert_int_equal(scpp_cont_merge(&w, p, 0, 0, &m), -EINVAL);
	p[0].st = &st; /* part 0 must have records */
	assert_int_equal(scpp_cont_merge(&w, p, 1, 0, &m), -EINVAL);
	p[0].records = pbuf[0];
	p[0].len = n;
	w.len = 1; /* not empty */
	assert_int_equal(scpp_cont_merge(&w, p, 1, 0, &m), -EINVAL);
	scpp_wire_reply_writer_init(&w, out, sizeof(out));
	/* A second part cut short: its own error, named. */
	p[1].records = pbuf[0];
	p[1].len = n - 1;
	assert_int_equal(scpp_cont_merge(&w, p, 2, 0, &m), -SCPP_E_TRUNCATED);
	assert_int_equal(m.bad_part, 1);
	/* part_check: complete, same columns; else precise errors. */
	assert_int_equal(scpp_cont_columns_len(pbuf[0], n), 6);
	assert_int_equal(scpp_cont_part_check(pbuf[0], n, pbuf[0], 6), 0);
	assert_int_equal(scpp_cont_part_check(pbuf[0], n - 1, pbuf[0], 6), -SCPP_E_TRUNCATED);
	memcpy(pbuf[1], pbuf[0], n);
	pbuf[1][n] = SCPP_REC_ROW;
	assert_int_equal(scpp_cont_part_check(pbuf[1], n + 1, pbuf[0], 6), -SCPP_E_TRAILING);
	pbuf[1][5] = 'x'; /* column "n" renamed */
	assert_int_equal(scpp_cont_part_check(pbuf[1], n, pbuf[0], 6), -SCPP_E_BAD_RECORD);
	assert_int_equal(scpp_cont_part_check(pbuf[0], n, pbuf[0], 5), -SCPP_E_BAD_RECORD);
	assert_int_equal(scpp_cont_columns_len(pbuf[0] + 6, n - 6), 0);
}

/* A part's reply with one row (p = base), @p nst statuses and the COPY
 * records @p c[0..n), END OK. */
static size_t
part_reply_copies(uint8_t *buf, size_t size, uint64_t base, unsigned int nst,
		  const struct scpp_wire_copy_result *c, unsigned int n)
{
	struct scpp_wire_reply_writer w;
	struct scpp_value v[2] = {scpp_value_u64(base), scpp_value_str("r", 1)};

	scpp_wire_reply_writer_init(&w, buf, size);
	assert_int_equal(scpp_wire_reply_columns(&w, col, 2), 0);
	assert_int_equal(scpp_wire_reply_row(&w, v), 0);
	put_statuses(&w, base, nst);
	for (unsigned int i = 0; i < n; i++)
		assert_int_equal(scpp_wire_reply_copy(&w, &c[i]), 0);
	assert_int_equal(scpp_wire_reply_end_ex(&w, 0, SCPP_OUTCOME_OK, 1, 2, 7, nst), 0);
	return w.len;
}

#define CR(cmd_, copies_, bytes_, off_, eng_, ns_) \
	{.cmd = (cmd_), .copies = (copies_), .bytes = (bytes_), .offloaded = (off_), \
	 .engine = {(eng_), (uint16_t)(sizeof(eng_) - 1)}, .elapsed_ns = (ns_)}

/* The parts' COPY records: one per command after every STATUS, in command
 * order; a command several parts ran sums its copies, bytes and offloaded
 * copies, keeps the longest time and the first engine that moved any. */
static void
test_cont_merge_keeps_copy_records_one_per_command_in_order(void **state)
{
	static const struct scpp_wire_copy_result c0[] = {
		CR(1, 1, 10, 0, "", 5), CR(3, 2, 100, 2, "dmadev", 50)};
	static const struct scpp_wire_copy_result c1[] = {
		CR(1, 1, 20, 1, "fabric", 3), CR(3, 1, 40, 1, "fabric", 90), CR(7, 0, 0, 0, "", 4)};
	static const struct scpp_wire_copy_result c3[] = {
		CR(0, 1, 5, 0, "", 7), CR(3, 1, 1, 0, "", 10)};
	static const struct scpp_wire_copy_result merged[] = {
		CR(0, 1, 5, 0, "", 7), CR(1, 2, 30, 1, "fabric", 5),
		CR(3, 4, 141, 3, "dmadev", 90), CR(7, 0, 0, 0, "", 4)};
	struct scpp_cont_part p[4];
	struct scpp_wire_reply_writer w, x;
	struct scpp_wire_reply_reader rd;
	struct scpp_wire_record rec;
	struct scpp_cont_merged m;
	struct scpp_status lost, st;
	unsigned int ncopy = 0;
	int rc;
	(void)state;

	memset(p, 0, sizeof(p));
	p[0].records = pbuf[0];
	p[0].len = part_reply_copies(pbuf[0], sizeof(pbuf[0]), 100, 1, c0, 2);
	p[1].records = pbuf[1];
	p[1].len = part_reply_copies(pbuf[1], sizeof(pbuf[1]), 200, 0, c1, 3);
	status_of(&lost, -SCPP_E_OUTCOME_UNKNOWN, "no answer from node 3");
	p[2].st = &lost;
	p[2].st_oid = scpp_oid_make(0, 1, 0, 0, 999);
	p[3].records = pbuf[3];
	p[3].len = part_reply_copies(pbuf[3], sizeof(pbuf[3]), 300, 1, c3, 2);
	scpp_wire_reply_writer_init(&w, out, sizeof(out));
	assert_int_equal(scpp_cont_merge(&w, p, 4, 42, &m), 0);
	/* The same reply written record by record. */
	scpp_wire_reply_writer_init(&x, want, sizeof(want));
	assert_int_equal(scpp_wire_reply_columns(&x, col, 2), 0);
	for (uint64_t b = 100; b <= 300; b += 100) {
		struct scpp_value v[2] = {scpp_value_u64(b), scpp_value_str("r", 1)};

		assert_int_equal(scpp_wire_reply_row(&x, v), 0);
	}
	memset(&st, 0, sizeof(st));
	scpp_status_set(&st, -ENOENT, "eval", "part 100 status 0");
	st.row = SCPP_STATUS_NO_ROW;
	st.offset = -1;
	assert_int_equal(scpp_status_encode(&x, scpp_oid_make(0, 1, 0, 0, 100), &st), 0);
	assert_int_equal(scpp_status_encode(&x, p[2].st_oid, &lost), 0);
	scpp_status_set(&st, -ENOENT, "eval", "part 300 status 0");
	assert_int_equal(scpp_status_encode(&x, scpp_oid_make(0, 1, 0, 0, 300), &st), 0);
	for (size_t i = 0; i < SCPP_ARRAY_SIZE(merged); i++)
		assert_int_equal(scpp_wire_reply_copy(&x, &merged[i]), 0);
	assert_int_equal(scpp_wire_reply_end_ex(&x, SCPP_ERRNO_TIMEDOUT, SCPP_OUTCOME_ABORTED, 3,
					       6, 42, 3), 0);
	assert_int_equal(w.len, x.len);
	assert_memory_equal(out, want, x.len);
	/* And it reads back as a reply. */
	scpp_wire_reply_reader_init(&rd, out, w.len);
	while ((rc = scpp_wire_reply_next(&rd, &rec)) == 1)
		ncopy += rec.type == SCPP_REC_COPY;
	assert_int_equal(rc, 0);
	assert_int_equal(ncopy, SCPP_ARRAY_SIZE(merged));
}

/* More than 32 copy commands over the parts: the 32 lowest commands, each
 * once, ascending, whichever part reported them. */
static void
test_cont_merge_reports_the_first_32_copy_commands(void **state)
{
	struct scpp_wire_copy_result c[2][SCPP_CONT_COPY_RESULTS];
	struct scpp_cont_part p[2];
	struct scpp_wire_reply_writer w;
	struct scpp_wire_reply_reader rd;
	struct scpp_wire_record rec;
	struct scpp_cont_merged m;
	unsigned int n = 0;
	int rc;
	(void)state;

	/* Part 0: commands 2, 4, .. 64; part 1: 1, 3, .. 63, and 2 again. */
	for (unsigned int i = 0; i < SCPP_CONT_COPY_RESULTS; i++) {
		c[0][i] = (struct scpp_wire_copy_result)CR((uint16_t)(2 * i + 2), 1, 2 * i + 2, 0,
							   "", 1);
		c[1][i] = (struct scpp_wire_copy_result)CR((uint16_t)(2 * i + 1), 1, 2 * i + 1, 1,
							   "memcpy", 1);
	}
	c[1][SCPP_CONT_COPY_RESULTS - 1] = (struct scpp_wire_copy_result)CR(2, 1, 1000, 1,
									    "memcpy", 9);
	memset(p, 0, sizeof(p));
	for (int i = 0; i < 2; i++) {
		p[i].records = pbuf[i];
		p[i].len = part_reply_copies(pbuf[i], sizeof(pbuf[i]), 10, 0, c[i],
					     SCPP_CONT_COPY_RESULTS);
	}
	scpp_wire_reply_writer_init(&w, out, sizeof(out));
	assert_int_equal(scpp_cont_merge(&w, p, 2, 0, &m), 0);
	scpp_wire_reply_reader_init(&rd, out, w.len);
	while ((rc = scpp_wire_reply_next(&rd, &rec)) == 1) {
		if (rec.type != SCPP_REC_COPY)
			continue;
		n++;
		assert_int_equal(rec.copy.cmd, n);
		if (n == 2) { /* both parts: part 1's engine, its time */
			assert_true(rec.copy.copies == 2 && rec.copy.bytes == 1002);
			assert_true(rec.copy.offloaded == 1 && rec.copy.elapsed_ns == 9);
		} else {
			assert_true(rec.copy.copies == 1 && rec.copy.bytes == n);
			assert_int_equal(rec.copy.offloaded, n % 2);
		}
		assert_int_equal(rec.copy.engine.len, n % 2 || n == 2 ? 6 : 0);
		if (rec.copy.engine.len != 0)
			assert_memory_equal(rec.copy.engine.p, "memcpy", 6);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(n, SCPP_CONT_COPY_RESULTS);
}

/* ---- dedup ---- */

static struct scpp_cont_key
key(uint32_t ip, uint32_t node, uint64_t id)
{
	struct scpp_cont_key k = {.sender_ip = ip, .sender_node = node, .cont_id = id};

	return k;
}

static void
test_cont_dedup_runs_once_answers_again_then_forgets(void **state)
{
	struct scpp_cont_dedup *d = scpp_cont_dedup_create(16, 100, -1, false);
	struct scpp_cont_dedup_stats st;
	struct scpp_cont_key k = key(1, 2, 3);
	uint32_t slot, slot2, hl = 0;
	void *held = NULL, *freed[4];
	int answer = 7;
	(void)state;

	assert_non_null(d);
	assert_int_equal(scpp_cont_dedup_admit(d, &k, 0, &slot, &held, &hl), SCPP_CONT_NEW);
	assert_int_equal(scpp_cont_dedup_admit(d, &k, 1, &slot2, &held, &hl), SCPP_CONT_RUNNING);
	assert_int_equal(slot2, slot);
	/* Same id from another sender, or another node id: another key. */
	k.sender_ip = 9;
	assert_int_equal(scpp_cont_dedup_admit(d, &k, 1, &slot2, &held, &hl), SCPP_CONT_NEW);
	assert_int_not_equal(slot2, slot);
	assert_int_equal(scpp_cont_dedup_drop(d, slot2), 0);
	assert_int_equal(scpp_cont_dedup_drop(d, slot2), -EINVAL);
	k.sender_ip = 1;
	assert_int_equal(scpp_cont_dedup_done(d, slot, &answer, 4, 10), 0);
	assert_int_equal(scpp_cont_dedup_done(d, slot, &answer, 4, 10), -EINVAL);
	assert_int_equal(scpp_cont_dedup_drop(d, slot), -EINVAL);
	assert_int_equal(scpp_cont_dedup_admit(d, &k, 50, &slot2, &held, &hl), SCPP_CONT_DONE);
	assert_ptr_equal(held, &answer);
	assert_int_equal(hl, 4);
	/* Kept for the retention, then handed back and forgotten. */
	assert_int_equal(scpp_cont_dedup_expire(d, 109, freed, 4), 0);
	assert_int_equal(scpp_cont_dedup_expire(d, 110, freed, 4), 1);
	assert_ptr_equal(freed[0], &answer);
	assert_int_equal(scpp_cont_dedup_admit(d, &k, 111, &slot, &held, &hl), SCPP_CONT_NEW);
	scpp_cont_dedup_stats(d, &st);
	assert_int_equal(st.admitted, 3);
	assert_int_equal(st.dup_running, 1);
	assert_int_equal(st.dup_done, 1);
	assert_int_equal(st.expired, 1);
	assert_int_equal(st.dropped, 1);
	assert_int_equal(st.in_use, 1);
	assert_int_equal(scpp_cont_dedup_done(d, 16, NULL, 0, 0), -EINVAL);
	assert_int_equal(scpp_cont_dedup_drop(d, UINT32_MAX), -EINVAL);
	scpp_cont_dedup_free(d);
	scpp_cont_dedup_free(NULL);
}

static void
test_cont_dedup_full_refuses_without_evicting_an_answer(void **state)
{
	struct scpp_cont_dedup *d = scpp_cont_dedup_create(16, 1000, -1, false);
	struct scpp_cont_key k;
	uint32_t slot[16], s, hl;
	void *held, *freed[16];
	(void)state;

	for (uint32_t i = 0; i < 16; i++) {
		k = key(1, 1, i + 1);
		assert_int_equal(scpp_cont_dedup_admit(d, &k, 0, &slot[i], &held, &hl), SCPP_CONT_NEW);
		if (i % 2)
			assert_int_equal(scpp_cont_dedup_done(d, slot[i], NULL, 0, i), 0);
	}
	k = key(1, 1, 99);
	assert_int_equal(scpp_cont_dedup_admit(d, &k, 5, &s, &held, &hl), SCPP_CONT_FULL);
	/* Every answer is still there. */
	for (uint32_t i = 1; i < 16; i += 2) {
		struct scpp_cont_key j = key(1, 1, i + 1);

		assert_int_equal(scpp_cont_dedup_admit(d, &j, 6, &s, &held, &hl), SCPP_CONT_DONE);
	}
	/* Room again once one is dropped, or once answers expire (in order). */
	assert_int_equal(scpp_cont_dedup_drop(d, slot[0]), 0);
	assert_int_equal(scpp_cont_dedup_admit(d, &k, 7, &s, &held, &hl), SCPP_CONT_NEW);
	k = key(1, 1, 100);
	assert_int_equal(scpp_cont_dedup_admit(d, &k, 7, &s, &held, &hl), SCPP_CONT_FULL);
	assert_int_equal(scpp_cont_dedup_expire(d, 1003, freed, 16), 2); /* answered at 1, 3 */
	assert_int_equal(scpp_cont_dedup_admit(d, &k, 1003, &s, &held, &hl), SCPP_CONT_NEW);
	assert_int_equal(scpp_cont_dedup_expire(d, UINT64_MAX, freed, 16), 6);
	scpp_cont_dedup_free(d);
	/* Bad arguments. */
	assert_null(scpp_cont_dedup_create(15, 1, -1, false));
	assert_int_equal(errno, EINVAL);
	assert_null(scpp_cont_dedup_create((1u << 24) + 1, 1, -1, false));
	assert_null(scpp_cont_dedup_create(16, 0, -1, false));
	assert_null(scpp_cont_dedup_create(16, 600001, -1, false));
}

/* Random admits, answers, drops and expiries against a plain array. */
static void
test_cont_dedup_agrees_with_a_reference_model(void **state)
{
	enum { N = 64, KEYS = 200, OPS = 200000, RET = 50 };
	struct model {
		uint8_t state;      /* 0 absent, 1 running, 2 done */
		uint64_t expire;
		uint32_t slot;
	} m[KEYS];
	struct scpp_cont_dedup *d = scpp_cont_dedup_create(N, RET, -1, false);
	uint64_t seed = 7, now = 0;
	unsigned int used = 0;
	void *freed[N];
	(void)state;

	memset(m, 0, sizeof(m));
	for (int op = 0; op < OPS; op++) {
		uint32_t i = (uint32_t)test_rand_below(&seed, KEYS), s = 0, hl = 0;
		/* Keys that differ in one field only collide on purpose. */
		struct scpp_cont_key k = key(i % 3, i % 5, i / 15);
		void *held = NULL;
		unsigned int r = (unsigned int)test_rand_below(&seed, 10);

		now += test_rand_below(&seed, 3);
		if (r < 6) {
			enum scpp_cont_seen v = scpp_cont_dedup_admit(d, &k, now, &s, &held, &hl);

			if (m[i].state == 0) {
				if (used == N) {
					assert_int_equal(v, SCPP_CONT_FULL);
					continue;
				}
				assert_int_equal(v, SCPP_CONT_NEW);
				m[i].state = 1;
				m[i].slot = s;
				used++;
			} else if (m[i].state == 1) {
				assert_int_equal(v, SCPP_CONT_RUNNING);
				assert_int_equal(s, m[i].slot);
			} else {
				assert_int_equal(v, SCPP_CONT_DONE);
				assert_ptr_equal(held, &m[i]);
				assert_int_equal(hl, i);
			}
		} else if (r < 8 && m[i].state == 1) {
			assert_int_equal(scpp_cont_dedup_done(d, m[i].slot, &m[i], i, now), 0);
			m[i].state = 2;
			m[i].expire = now + RET;
		} else if (r == 8 && m[i].state == 1) {
			assert_int_equal(scpp_cont_dedup_drop(d, m[i].slot), 0);
			m[i].state = 0;
			used--;
		} else if (r == 9) {
			unsigned int n = scpp_cont_dedup_expire(d, now, freed, N), due = 0;

			for (unsigned int j = 0; j < n; j++) {
				struct model *x = freed[j];

				assert_int_equal(x->state, 2);
				assert_true(x->expire <= now);
				x->state = 0;
				used--;
			}
			for (uint32_t j = 0; j < KEYS; j++)
				due += m[j].state == 2 && m[j].expire <= now;
			assert_int_equal(due, 0);
		}
	}
	scpp_cont_dedup_free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cont_merge_orders_rows_then_statuses_by_part),
		cmocka_unit_test(test_cont_merge_outcome_is_the_worst_and_errno_the_first_of_it),
		cmocka_unit_test(test_cont_merge_without_room_leaves_the_writer_empty),
		cmocka_unit_test(test_cont_merge_rejects_bad_arguments_and_bad_parts),
		cmocka_unit_test(test_cont_merge_keeps_copy_records_one_per_command_in_order),
		cmocka_unit_test(test_cont_merge_reports_the_first_32_copy_commands),
		cmocka_unit_test(test_cont_dedup_runs_once_answers_again_then_forgets),
		cmocka_unit_test(test_cont_dedup_full_refuses_without_evicting_an_answer),
		cmocka_unit_test(test_cont_dedup_agrees_with_a_reference_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
