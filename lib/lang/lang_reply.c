/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Printing REPLY messages: a human table, or one JSON document.
 *
 * The message is walked several times with fresh readers over the same
 * bytes instead of being copied: once to validate it completely and measure
 * the columns (so a malformed reply prints nothing and the table can be
 * aligned without allocating), then once per section. Records are decoded
 * in place; nothing here allocates.
 *
 * Table cells use the text form of literals (strings quoted, `5u` for u64),
 * so that a cell says its type; JSON follows docs/LANGUAGE.md §Replies.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "scpp_lang.h"
#include "lang_priv.h"

/* Status field values print up to this many characters. */
#define STATUS_VALUE_MAX 256
/* Room for a formatted cell of up to STATUS_VALUE_MAX characters. */
#define CELL_BUF (STATUS_VALUE_MAX * 4 + 8)
/* Integers beyond +-2^53 are JSON strings (IEEE doubles hold 53 bits). */
#define JSON_SAFE_INT (UINT64_C(1) << 53)

struct summary {
	uint16_t ncols;
	struct scpp_wire_name col[SCPP_WIRE_VARS_MAX];
	unsigned int width[SCPP_WIRE_VARS_MAX]; /* characters */
	uint32_t err;
	uint8_t outcome;
	uint64_t rows, commands, elapsed_ns;
	uint64_t statuses, status_records; /* produced / sent */
	uint64_t copy_records;             /* COPY records (block flag COPY_RESULTS) */
};

/* The caller's display-name lookup (may be absent). */
struct namer {
	scpp_lang_name_fn fn;
	void *ctx;
};

/* The display name of OID value @p v into @p name, or false. */
static bool
name_of(const struct namer *nm, const struct scpp_value *v, char *name, size_t size)
{
	return nm != NULL && nm->fn != NULL && v->type == SCPP_VT_OID &&
	       nm->fn(nm->ctx, v->oid, name, size) > 0 && name[0] != '\0';
}

/*
 * Format @p v into @p buf as a literal of at most @p max characters; a
 * longer one is cut at a character boundary and ends with "…". An OID with
 * a display name prints as `@0.1.0.7589e.4 (alice)`. Returns the width in
 * characters.
 */
static unsigned int
cell_format(char *buf, size_t size, const struct scpp_value *v, unsigned int max,
	    const struct namer *nm)
{
	char name[SCPP_LANG_NAME_MAX + 1];
	int n = scpp_value_format(buf, size, v);

	if (n > 0 && (size_t)n < size && name_of(nm, v, name, sizeof(name)))
		n += snprintf(buf + n, size - (size_t)n, " (%s)", name);
	size_t len = n < 0 ? 0 : SCPP_MIN((size_t)n, size - 1);
	size_t chars = lang_utf8_chars(buf, len), i = 0, c = 0;

	if ((size_t)n < size && chars <= max)
		return (unsigned int)chars;
	/* Keep max - 1 characters, then the ellipsis (3 bytes in UTF-8). */
	while (i < len && c < max - 1) {
		i++;
		while (i < len && ((unsigned char)buf[i] & 0xc0) == 0x80)
			i++;
		c++;
	}
	if (i + 4 > size)
		i = size - 4; /* cannot happen with CELL_BUF and max <= 256 */
	memcpy(buf + i, "\xe2\x80\xa6", 4); /* "…" and the NUL */
	return (unsigned int)c + 1;
}

/* Header text of column @p i: its name, or `_i` for an empty name. */
static unsigned int
col_header(const struct summary *s, unsigned int i, char *buf, size_t size)
{
	if (s->col[i].len == 0) {
		snprintf(buf, size, "_%u", i);
		return (unsigned int)strlen(buf);
	}
	snprintf(buf, size, "%.*s", (int)s->col[i].len, s->col[i].p);
	return (unsigned int)lang_utf8_chars(s->col[i].p, s->col[i].len);
}

/* Pass 1: decode everything, keep the columns and END, measure widths. */
static int
scan(const uint8_t *msg, size_t len, struct summary *s, const struct namer *nm)
{
	struct scpp_wire_reply_reader r;
	struct scpp_wire_record rec;
	char cell[CELL_BUF], h[SCPP_WIRE_NAME_MAX + 16];
	int rc;

	memset(s, 0, sizeof(*s));
	scpp_wire_reply_reader_init(&r, msg, len);
	while ((rc = scpp_wire_reply_next(&r, &rec)) == 1) {
		switch (rec.type) {
		case SCPP_REC_COLUMNS:
			s->ncols = rec.columns.n;
			for (unsigned int i = 0; i < rec.columns.n; i++) {
				s->col[i] = rec.columns.name[i];
				s->width[i] = col_header(s, i, h, sizeof(h));
			}
			break;
		case SCPP_REC_ROW:
			for (unsigned int i = 0; i < rec.row.n && i < s->ncols; i++) {
				unsigned int w = cell_format(cell, sizeof(cell), &rec.row.v[i],
							     SCPP_LANG_CELL_MAX, nm);

				s->width[i] = SCPP_MAX(s->width[i], w);
			}
			break;
		case SCPP_REC_END:
			s->err = rec.end.err;
			s->outcome = rec.end.outcome;
			s->rows = rec.end.rows;
			s->commands = rec.end.commands;
			s->elapsed_ns = rec.end.elapsed_ns;
			s->statuses = rec.end.statuses;
			break;
		case SCPP_REC_STATUS:
			s->status_records++;
			break;
		case SCPP_REC_COPY:
			s->copy_records++;
			break;
		default:
			break;
		}
	}
	/* 0 means END was decoded and nothing follows. */
	return rc;
}

static void
pad(FILE *out, unsigned int n)
{
	while (n-- > 0)
		fputc(' ', out);
}

/* One table line; cells separated by two spaces, no trailing blanks. */
static void
table_line(FILE *out, const struct summary *s, const char *const *text, const unsigned int *w)
{
	for (unsigned int i = 0; i < s->ncols; i++) {
		if (i > 0)
			fputs("  ", out);
		fputs(text[i], out);
		if (i + 1 < s->ncols)
			pad(out, s->width[i] - w[i]);
	}
	fputc('\n', out);
}

static void
print_elapsed(FILE *out, uint64_t ns)
{
	if (ns < 1000)
		fprintf(out, "%" PRIu64 " ns", ns);
	else if (ns < 1000000)
		fprintf(out, "%.1f \xc2\xb5s", (double)ns / 1e3);
	else if (ns < 1000000000)
		fprintf(out, "%.1f ms", (double)ns / 1e6);
	else
		fprintf(out, "%.2f s", (double)ns / 1e9);
}

static void
print_errno(FILE *out, uint32_t err, scpp_lang_errno_name_fn errno_name)
{
	const char *n = errno_name != NULL ? errno_name(err) : NULL;

	if (n != NULL)
		fputs(n, out);
	else
		fprintf(out, "errno %" PRIu32, err);
}

static void
print_table(FILE *out, const uint8_t *msg, size_t len, const struct summary *s,
	    scpp_lang_errno_name_fn errno_name, const struct namer *nm)
{
	/* About 40 KiB of cells: control path only, never a data-path lcore. */
	static const size_t hsz = SCPP_WIRE_NAME_MAX + 16;
	char cells[SCPP_WIRE_VARS_MAX][SCPP_LANG_CELL_MAX * 4 + 8];
	const char *text[SCPP_WIRE_VARS_MAX];
	unsigned int w[SCPP_WIRE_VARS_MAX];
	struct scpp_wire_reply_reader r;
	struct scpp_wire_record rec;
	char cell[CELL_BUF];

	if (s->ncols > 0) {
		for (unsigned int i = 0; i < s->ncols; i++) {
			w[i] = col_header(s, i, cells[i], hsz);
			text[i] = cells[i];
		}
		table_line(out, s, text, w);
		for (unsigned int i = 0; i < s->ncols; i++) {
			unsigned int n = SCPP_MIN(s->width[i], (unsigned int)sizeof(cells[i]) - 1);

			memset(cells[i], '-', n);
			cells[i][n] = '\0';
			w[i] = n;
		}
		table_line(out, s, text, w);
	}

	scpp_wire_reply_reader_init(&r, msg, len);
	while (scpp_wire_reply_next(&r, &rec) == 1) {
		if (rec.type != SCPP_REC_ROW || s->ncols == 0)
			continue;
		for (unsigned int i = 0; i < s->ncols; i++)
			w[i] = cell_format(cells[i], sizeof(cells[i]), &rec.row.v[i],
					   SCPP_LANG_CELL_MAX, nm);
		table_line(out, s, text, w);
	}

	scpp_wire_reply_reader_init(&r, msg, len);
	while (scpp_wire_reply_next(&r, &rec) == 1) {
		char oid[SCPP_OID_STR_MAX];

		if (rec.type != SCPP_REC_STATUS)
			continue;
		scpp_oid_format(oid, sizeof(oid), rec.status.oid);
		fprintf(out, "status %s:", oid);
		for (unsigned int i = 0; i < rec.status.n; i++) {
			cell_format(cell, sizeof(cell), &rec.status.v[i], STATUS_VALUE_MAX, nm);
			fprintf(out, " %.*s=%s", (int)rec.status.key[i].len, rec.status.key[i].p,
				cell);
		}
		fputc('\n', out);
	}

	scpp_wire_reply_reader_init(&r, msg, len);
	while (s->copy_records > 0 && scpp_wire_reply_next(&r, &rec) == 1) {
		const struct scpp_wire_copy_result *c = &rec.copy;

		if (rec.type != SCPP_REC_COPY)
			continue;
		fprintf(out, "copy %u: %" PRIu64 " cop%s, %" PRIu64 " bytes", c->cmd, c->copies,
			c->copies == 1 ? "y" : "ies", c->bytes);
		if (c->offloaded > 0)
			fprintf(out, ", %" PRIu64 " by %.*s", c->offloaded, (int)c->engine.len,
				c->engine.p);
		fputs(", ", out);
		print_elapsed(out, c->elapsed_ns);
		fputc('\n', out);
	}

	if (s->outcome == SCPP_OUTCOME_ABORTED) {
		fputs("aborted: ", out);
		print_errno(out, s->err, errno_name);
	} else {
		fprintf(out, "%" PRIu64 " row%s", s->rows, s->rows == 1 ? "" : "s");
	}
	fprintf(out, ", %" PRIu64 " command%s, ", s->commands, s->commands == 1 ? "" : "s");
	if (s->outcome == SCPP_OUTCOME_OK) {
		fputs("ok, ", out);
	} else if (s->outcome == SCPP_OUTCOME_ERRORS) {
		fputs("errors: ", out);
		print_errno(out, s->err, errno_name);
		fputs(", ", out);
	}
	print_elapsed(out, s->elapsed_ns);
	if (s->statuses > s->status_records)
		fprintf(out, " (%" PRIu64 " statuses, %" PRIu64 " sent)", s->statuses,
			s->status_records);
	fputc('\n', out);
}

/* ---- JSON ---- */

static void
json_string(FILE *out, const char *p, size_t n)
{
	fputc('"', out);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		switch (c) {
		case '"': fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\r': fputs("\\r", out); break;
		case '\t': fputs("\\t", out); break;
		case '\b': fputs("\\b", out); break;
		case '\f': fputs("\\f", out); break;
		default:
			/* Other controls as \u00XX; UTF-8 passes through (the
			 * reply decoder guarantees it is valid). */
			if (c < 0x20)
				fprintf(out, "\\u%04x", c);
			else
				fputc(c, out);
		}
	}
	fputc('"', out);
}

static void
json_u64(FILE *out, uint64_t u)
{
	fprintf(out, u <= JSON_SAFE_INT ? "%" PRIu64 : "\"%" PRIu64 "\"", u);
}

static void
json_value(FILE *out, const struct scpp_value *v, const struct namer *nm)
{
	char buf[64], name[SCPP_LANG_NAME_MAX + 1];

	/* An OID with a display name: {"oid": "@...", "name": "alice"}. */
	if (name_of(nm, v, name, sizeof(name))) {
		scpp_oid_format(buf, sizeof(buf), v->oid);
		fputs("{\"oid\":", out);
		json_string(out, buf, strlen(buf));
		fputs(",\"name\":", out);
		json_string(out, name, strlen(name));
		fputc('}', out);
		return;
	}

	switch (v->type) {
	case SCPP_VT_NIL:
		fputs("null", out);
		break;
	case SCPP_VT_BOOL:
		fputs(v->b ? "true" : "false", out);
		break;
	case SCPP_VT_I64:
		if (v->i >= -(int64_t)JSON_SAFE_INT && v->i <= (int64_t)JSON_SAFE_INT)
			fprintf(out, "%" PRId64, v->i);
		else
			fprintf(out, "\"%" PRId64 "\"", v->i);
		break;
	case SCPP_VT_U64:
		json_u64(out, v->u);
		break;
	case SCPP_VT_F64:
		/* The literal form is valid JSON for finite numbers ("1.5",
		 * "1e+300", "-0.0"); nan and inf become strings. */
		scpp_value_format(buf, sizeof(buf), v);
		if (isfinite(v->f))
			fputs(buf, out);
		else
			json_string(out, buf, strlen(buf));
		break;
	case SCPP_VT_STR:
		json_string(out, (const char *)v->p, v->len);
		break;
	case SCPP_VT_BYTES:
		fputs("{\"hex\":\"", out);
		for (uint32_t i = 0; i < v->len; i++)
			fprintf(out, "%02x", v->p[i]);
		fputs("\"}", out);
		break;
	case SCPP_VT_OID:
		scpp_oid_format(buf, sizeof(buf), v->oid);
		json_string(out, buf, strlen(buf));
		break;
	default:
		fputs("null", out);
		break;
	}
}

static const char *const outcome_name[SCPP_OUTCOME_COUNT] = {
	[SCPP_OUTCOME_OK] = "ok",
	[SCPP_OUTCOME_ERRORS] = "errors",
	[SCPP_OUTCOME_ABORTED] = "aborted",
};

static void
print_json(FILE *out, const uint8_t *msg, size_t len, const struct summary *s,
	   scpp_lang_errno_name_fn errno_name, const struct namer *nm)
{
	struct scpp_wire_reply_reader r;
	struct scpp_wire_record rec;
	bool first = true;
	const char *en;

	fputs("{\"columns\":[", out);
	for (unsigned int i = 0; i < s->ncols; i++) {
		if (i > 0)
			fputc(',', out);
		json_string(out, s->col[i].p, s->col[i].len);
	}
	fputs("],\"rows\":[", out);
	scpp_wire_reply_reader_init(&r, msg, len);
	while (scpp_wire_reply_next(&r, &rec) == 1) {
		if (rec.type != SCPP_REC_ROW)
			continue;
		fputs(first ? "[" : ",[", out);
		first = false;
		for (unsigned int i = 0; i < rec.row.n; i++) {
			if (i > 0)
				fputc(',', out);
			json_value(out, &rec.row.v[i], nm);
		}
		fputc(']', out);
	}
	fputs("],\"statuses\":[", out);
	first = true;
	scpp_wire_reply_reader_init(&r, msg, len);
	while (scpp_wire_reply_next(&r, &rec) == 1) {
		char oid[SCPP_OID_STR_MAX];

		if (rec.type != SCPP_REC_STATUS)
			continue;
		fputs(first ? "{\"oid\":" : ",{\"oid\":", out);
		first = false;
		scpp_oid_format(oid, sizeof(oid), rec.status.oid);
		json_string(out, oid, strlen(oid));
		fputs(",\"fields\":{", out);
		for (unsigned int i = 0; i < rec.status.n; i++) {
			if (i > 0)
				fputc(',', out);
			json_string(out, rec.status.key[i].p, rec.status.key[i].len);
			fputc(':', out);
			json_value(out, &rec.status.v[i], nm);
		}
		fputs("}}", out);
	}
	fputc(']', out);
	first = true;
	scpp_wire_reply_reader_init(&r, msg, len);
	while (s->copy_records > 0 && scpp_wire_reply_next(&r, &rec) == 1) {
		const struct scpp_wire_copy_result *c = &rec.copy;

		if (rec.type != SCPP_REC_COPY)
			continue;
		fprintf(out, "%s{\"command\":%u,\"copies\":", first ? ",\"copies\":[" : ",",
			c->cmd);
		first = false;
		json_u64(out, c->copies);
		fputs(",\"bytes\":", out);
		json_u64(out, c->bytes);
		fputs(",\"offloaded\":", out);
		json_u64(out, c->offloaded);
		fputs(",\"engine\":", out);
		json_string(out, c->engine.p, c->engine.len);
		fputs(",\"elapsed_ns\":", out);
		json_u64(out, c->elapsed_ns);
		fputc('}', out);
	}
	if (!first)
		fputc(']', out);
	fprintf(out, ",\"end\":{\"errno\":%" PRIu32, s->err);
	en = errno_name != NULL ? errno_name(s->err) : NULL;
	if (en != NULL) {
		fputs(",\"errno_name\":", out);
		json_string(out, en, strlen(en));
	}
	fprintf(out, ",\"outcome\":\"%s\",\"rows\":", outcome_name[s->outcome]);
	json_u64(out, s->rows);
	fputs(",\"commands\":", out);
	json_u64(out, s->commands);
	fputs(",\"elapsed_ns\":", out);
	json_u64(out, s->elapsed_ns);
	fputs(",\"statuses\":", out);
	json_u64(out, s->statuses);
	fputs("}}\n", out);
}

int
scpp_lang_print_reply_names(FILE *out, const uint8_t *msg, size_t len, unsigned int flags,
			    scpp_lang_errno_name_fn errno_name, scpp_lang_name_fn name,
			    void *name_ctx)
{
	/* The summary holds the column names (about 1.5 KiB). */
	struct summary s;
	struct namer nm = {name, name_ctx};
	int rc;

	if (out == NULL || (msg == NULL && len != 0) || (flags & ~SCPP_LANG_REPLY_JSON) != 0)
		return -EINVAL;
	rc = scan(msg, len, &s, &nm);
	if (rc < 0)
		return rc;
	if (s.outcome >= SCPP_OUTCOME_COUNT)
		return -EINVAL;
	if (flags & SCPP_LANG_REPLY_JSON)
		print_json(out, msg, len, &s, errno_name, &nm);
	else
		print_table(out, msg, len, &s, errno_name, &nm);
	return ferror(out) ? -EIO : 0;
}

int
scpp_lang_print_reply(FILE *out, const uint8_t *msg, size_t len, unsigned int flags,
		      scpp_lang_errno_name_fn errno_name)
{
	return scpp_lang_print_reply_names(out, msg, len, flags, errno_name, NULL, NULL);
}
