/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One reply from the parts of a split block (docs/PROTOCOL.md §19.3).
 *
 * The order is fixed by the tree, not by arrival: a node's own part, then
 * its continuations in the order it shipped them. Rows come before
 * statuses, as in any reply, so the parts are read twice: once for their
 * ROW records, once for their STATUS records (and END), collecting their
 * COPY records on the way (one per copy command, however many parts ran
 * rows of it: written after every STATUS, in command order). Every part was
 * checked when it arrived (scpp_cont_part_check()), so the second read of
 * a part cannot fail where the first did not; errors are still returned,
 * not assumed away.
 */
#include <errno.h>
#include <string.h>

#include "scpp_cont.h"

size_t
scpp_cont_columns_len(const uint8_t *records, size_t len)
{
	struct scpp_wire_reply_reader rd;
	struct scpp_wire_record rec;

	scpp_wire_reply_reader_init(&rd, records, len);
	if (scpp_wire_reply_next(&rd, &rec) != 1 || rec.type != SCPP_REC_COLUMNS)
		return 0;
	return rd.off;
}

int
scpp_cont_part_check(const uint8_t *records, size_t len, const uint8_t *columns,
		     size_t columns_len)
{
	struct scpp_wire_reply_reader rd;
	struct scpp_wire_record rec;
	int rc;

	if (scpp_cont_columns_len(records, len) != columns_len ||
	    memcmp(records, columns, columns_len) != 0)
		return -SCPP_E_BAD_RECORD;
	scpp_wire_reply_reader_init(&rd, records, len);
	while ((rc = scpp_wire_reply_next(&rd, &rec)) == 1)
		;
	return rc;
}

static const uint8_t outcome_rank[SCPP_OUTCOME_COUNT] = {
	[SCPP_OUTCOME_OK] = 0,
	[SCPP_OUTCOME_ERRORS] = 1,
	[SCPP_OUTCOME_ABORTED] = 2,
};

/* What a part's END said (a part without records: ABORTED, its status). */
struct part_end {
	uint32_t err;
	uint8_t outcome;
	uint64_t rows, commands, statuses;
};

/* The COPY records of every part, one per command, ascending by command:
 * at most SCPP_CONT_COPY_RESULTS, the lowest commands (a reply reports the
 * block's first copy commands). Engine names point into the parts. */
struct copy_table {
	struct scpp_wire_copy_result r[SCPP_CONT_COPY_RESULTS];
	unsigned int n;
};

/* Add part's COPY record @p c: a command already there sums its copies,
 * bytes and offloaded copies, keeps the longest time and the first engine
 * (in part order) that moved any. */
static void
copy_add(struct copy_table *t, const struct scpp_wire_copy_result *c)
{
	unsigned int i = 0;

	while (i < t->n && t->r[i].cmd < c->cmd)
		i++;
	if (i < t->n && t->r[i].cmd == c->cmd) {
		struct scpp_wire_copy_result *r = &t->r[i];

		r->copies += c->copies;
		r->bytes += c->bytes;
		if (r->offloaded == 0 && c->offloaded != 0)
			r->engine = c->engine;
		r->offloaded += c->offloaded;
		if (c->elapsed_ns > r->elapsed_ns)
			r->elapsed_ns = c->elapsed_ns;
		return;
	}
	if (i == SCPP_CONT_COPY_RESULTS)
		return; /* a later command than the first 32 */
	if (t->n == SCPP_CONT_COPY_RESULTS)
		t->n--; /* the latest command gives way */
	memmove(&t->r[i + 1], &t->r[i], (t->n - i) * sizeof(t->r[0]));
	t->r[i] = *c;
	if (c->offloaded == 0)
		t->r[i].engine = (struct scpp_wire_name){"", 0};
	t->n++;
}

/* Pass over part @p p writing its ROW records (@p rows) or its STATUS
 * records (!@p rows, filling @p end and adding its COPY records to @p ct). */
static int
copy_part(struct scpp_wire_reply_writer *w, const struct scpp_cont_part *p, bool rows,
	  struct part_end *end, struct copy_table *ct)
{
	struct scpp_wire_reply_reader rd;
	struct scpp_wire_record rec;
	int rc;

	if (p->records == NULL) {
		if (rows)
			return 0;
		end->err = p->st->err;
		end->outcome = SCPP_OUTCOME_ABORTED;
		end->rows = 0;
		end->commands = 0;
		end->statuses = 1;
		return scpp_status_encode(w, p->st_oid, p->st);
	}
	scpp_wire_reply_reader_init(&rd, p->records, p->len);
	while ((rc = scpp_wire_reply_next(&rd, &rec)) == 1) {
		switch (rec.type) {
		case SCPP_REC_ROW:
			rc = rows ? scpp_wire_reply_row(w, rec.row.v) : 0;
			break;
		case SCPP_REC_STATUS:
			rc = rows ? 0 : scpp_wire_reply_status(w, rec.status.oid, rec.status.key,
								rec.status.v, rec.status.n);
			break;
		case SCPP_REC_COPY:
			if (!rows)
				copy_add(ct, &rec.copy);
			rc = 0;
			break;
		case SCPP_REC_END:
			end->err = rec.end.err;
			end->outcome = rec.end.outcome;
			end->rows = rec.end.rows;
			end->commands = rec.end.commands;
			end->statuses = rec.end.statuses;
			rc = 0;
			break;
		default:
			rc = 0; /* COLUMNS: written once, from part 0 */
			break;
		}
		if (rc < 0)
			return rc;
	}
	return rc;
}

int
scpp_cont_merge(struct scpp_wire_reply_writer *w, const struct scpp_cont_part *p,
		unsigned int n, uint64_t elapsed_ns, struct scpp_cont_merged *out)
{
	struct scpp_wire_reply_reader rd;
	struct scpp_wire_record rec;
	struct copy_table ct = {.n = 0};
	struct part_end end;
	uint8_t worst = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (n == 0 || p[0].records == NULL || w->len != 0 || w->state != 0)
		return -EINVAL;
	scpp_wire_reply_reader_init(&rd, p[0].records, p[0].len);
	rc = scpp_wire_reply_next(&rd, &rec);
	if (rc != 1 || rec.type != SCPP_REC_COLUMNS)
		return rc < 0 ? rc : -SCPP_E_BAD_RECORD;
	rc = scpp_wire_reply_columns(w, rec.columns.name, rec.columns.n);
	for (unsigned int i = 0; rc == 0 && i < n; i++) {
		out->bad_part = (uint16_t)i;
		rc = copy_part(w, &p[i], true, &end, &ct);
	}
	for (unsigned int i = 0; rc == 0 && i < n; i++) {
		out->bad_part = (uint16_t)i;
		memset(&end, 0, sizeof(end));
		rc = copy_part(w, &p[i], false, &end, &ct);
		if (rc < 0)
			break;
		if (end.outcome >= SCPP_OUTCOME_COUNT)
			return -EINVAL; /* the reader refuses these: unreachable */
		if (i == 0 || outcome_rank[end.outcome] > worst) {
			worst = outcome_rank[end.outcome];
			out->outcome = end.outcome;
			out->err = end.err;
		}
		out->rows += end.rows;
		out->commands += end.commands;
		out->statuses += end.statuses;
	}
	for (unsigned int i = 0; rc == 0 && i < ct.n; i++)
		rc = scpp_wire_reply_copy(w, &ct.r[i]);
	if (rc == 0)
		rc = scpp_wire_reply_end_ex(w, out->err, out->outcome, out->rows, out->commands,
					    elapsed_ns, out->statuses);
	if (rc == -ENOSPC || rc == -EINVAL)
		scpp_wire_reply_writer_init(w, w->buf, w->size);
	if (rc == 0)
		out->bad_part = 0;
	return rc;
}
