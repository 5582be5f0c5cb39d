/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One reply from the parts of a split block (docs/PROTOCOL.md §19.3).
 *
 * The order is fixed by the tree, not by arrival: a node's own part, then
 * its continuations in the order it shipped them. Rows come before
 * statuses, as in any reply, so the parts are read twice: once for their
 * ROW records, once for their STATUS records (and END). Every part was
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

/* Pass over part @p p writing its ROW records (@p rows) or its STATUS
 * records (!@p rows, filling @p end). */
static int
copy_part(struct scpp_wire_reply_writer *w, const struct scpp_cont_part *p, bool rows,
	  struct part_end *end)
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
		rc = copy_part(w, &p[i], true, &end);
	}
	for (unsigned int i = 0; rc == 0 && i < n; i++) {
		out->bad_part = (uint16_t)i;
		memset(&end, 0, sizeof(end));
		rc = copy_part(w, &p[i], false, &end);
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
	if (rc == 0)
		rc = scpp_wire_reply_end_ex(w, out->err, out->outcome, out->rows, out->commands,
					    elapsed_ns, out->statuses);
	if (rc == -ENOSPC || rc == -EINVAL)
		scpp_wire_reply_writer_init(w, w->buf, w->size);
	if (rc == 0)
		out->bad_part = 0;
	return rc;
}
