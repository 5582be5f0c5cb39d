/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reply records: the writer (server side, per block) and the incremental
 * reader (client side).
 *
 * A reply is a byte stream cut into datagrams at arbitrary points, so the
 * reader decodes from a contiguous buffer of "bytes received so far" and
 * must tell "not complete yet" apart from "malformed". It decodes each
 * record on a private cursor and commits the new offset and state only when
 * the whole record decoded; -SCPP_E_TRUNCATED therefore consumes nothing and
 * the same call succeeds once more bytes are fed.
 *
 * Every check depends only on bytes at or before the point being checked,
 * so a prefix of a stream never gets a verdict other than TRUNCATED that
 * the whole stream would not also get (the fuzz target checks this).
 */
#include <errno.h>
#include <string.h>

#include "scpp_wire.h"
#include "wire_priv.h"

enum {
	ST_COLUMNS = 0, /* nothing read yet: COLUMNS must come first */
	ST_BODY = 1,    /* ROW, STATUS, COPY or END */
	ST_DONE = 2,    /* END seen: nothing may follow */
};

#define OID_LEN 16

/* ---- writer ---- */

void
scpp_wire_reply_writer_init(struct scpp_wire_reply_writer *w, uint8_t *buf, size_t size)
{
	w->buf = buf;
	w->size = size;
	w->len = 0;
	w->ncols = 0;
	w->state = ST_COLUMNS;
	w->nstatus = 0;
}

static inline bool
fits(const struct scpp_wire_reply_writer *w, size_t need)
{
	return need <= w->size - w->len;
}

int
scpp_wire_reply_columns(struct scpp_wire_reply_writer *w, const struct scpp_wire_name *names,
			uint16_t n)
{
	size_t need = 1 + scpp_varint_size(n);
	uint8_t *p;

	if (w->state != ST_COLUMNS || n > SCPP_WIRE_VARS_MAX || (n != 0 && names == NULL))
		return -EINVAL;
	for (unsigned int i = 0; i < n; i++) {
		if (!name_ok(names[i].p, names[i].len))
			return -EINVAL;
		need += name_size(&names[i]);
	}
	if (!fits(w, need))
		return -ENOSPC;
	p = w->buf + w->len;
	*p++ = SCPP_REC_COLUMNS;
	p += scpp_varint_encode(p, n);
	for (unsigned int i = 0; i < n; i++)
		p += name_put(p, &names[i]);
	w->len += need;
	w->ncols = n;
	w->state = ST_BODY;
	return 0;
}

int
scpp_wire_reply_columns_block(struct scpp_wire_reply_writer *w, const struct scpp_wire_block *b)
{
	struct scpp_wire_name cols[SCPP_WIRE_VARS_MAX];
	uint8_t *p;

	/* The decoder checked every name and kept their encoding, which is
	 * the record's body when every variable is returned in order. */
	if (b->names_raw != NULL && b->ret_all && w->state == ST_COLUMNS &&
	    b->nret <= SCPP_WIRE_VARS_MAX) {
		size_t need = 1 + scpp_varint_size(b->nret) + b->names_raw_len;

		if (!fits(w, need))
			return -ENOSPC;
		p = w->buf + w->len;
		*p++ = SCPP_REC_COLUMNS;
		p += scpp_varint_encode(p, b->nret);
		memcpy(p, b->names_raw, b->names_raw_len);
		w->len += need;
		w->ncols = b->nret;
		w->state = ST_BODY;
		return 0;
	}
	for (uint16_t i = 0; i < b->nret; i++)
		cols[i] = b->var_name[b->ret[i]];
	return scpp_wire_reply_columns(w, cols, b->nret);
}

/* Bytes of one value in a ROW (scpp_value_encoded_size(), inline). */
static inline size_t
row_value_size(const struct scpp_value *v)
{
	switch (v->type) {
	case SCPP_VT_U64:
		return v->u < 0x80 ? 2 : 1 + scpp_varint_size(v->u);
	case SCPP_VT_OID:
		return 17;
	case SCPP_VT_STR:
	case SCPP_VT_BYTES:
		return 1 + scpp_varint_size(v->len) + v->len;
	case SCPP_VT_I64:
		return 1 + scpp_varint_size(scpp_zigzag_encode(v->i));
	case SCPP_VT_F64:
		return 9;
	case SCPP_VT_BOOL:
		return 2;
	default:
		return 1;
	}
}

/* Write one value (scpp_value_encode(), inline); returns its end. */
static inline uint8_t *
row_value_put(uint8_t *p, const struct scpp_value *v)
{
	*p++ = v->type;
	switch (v->type) {
	case SCPP_VT_U64:
		return p + scpp_varint_encode(p, v->u);
	case SCPP_VT_OID:
		store_le64(p, v->oid.hi);
		store_le64(p + 8, v->oid.lo);
		return p + 16;
	case SCPP_VT_STR:
	case SCPP_VT_BYTES:
		p += scpp_varint_encode(p, v->len);
		if (v->len != 0)
			memcpy(p, v->p, v->len);
		return p + v->len;
	case SCPP_VT_I64:
		return p + scpp_varint_encode(p, scpp_zigzag_encode(v->i));
	case SCPP_VT_F64:
		store_le64(p, v->u);
		return p + 8;
	case SCPP_VT_BOOL:
		*p = v->b ? 1 : 0;
		return p + 1;
	default:
		return p;
	}
}

/* Longest string or bytes value a ROW writes without a memcpy() call. */
#define ROW_SHORT_MAX 15
_Static_assert(2 + ROW_SHORT_MAX <= SCPP_VALUE_FIXED_MAX && ROW_SHORT_MAX < 0x80,
	       "a short string is a fixed-size value with a one-byte length");

/*
 * Copy @p n (0..ROW_SHORT_MAX) bytes with fixed-size moves: two words that
 * overlap as much as @p n needs, read and written only inside the n bytes
 * (the source may end at the end of a page). Values of this size are most
 * of what a reply carries, and the memcpy() call cost them more than the
 * copy.
 */
static inline void
copy_upto15(uint8_t *d, const uint8_t *s, uint32_t n)
{
	if (n >= 8) {
		uint64_t a, b;

		memcpy(&a, s, 8);
		memcpy(&b, s + n - 8, 8);
		memcpy(d, &a, 8);
		memcpy(d + n - 8, &b, 8);
	} else if (n >= 4) {
		uint32_t a, b;

		memcpy(&a, s, 4);
		memcpy(&b, s + n - 4, 4);
		memcpy(d, &a, 4);
		memcpy(d + n - 4, &b, 4);
	} else if (n != 0) {
		d[0] = s[0];
		d[n / 2] = s[n / 2];
		d[n - 1] = s[n - 1];
	}
}

/*
 * A ROW in one pass when the room left is enough for any row of fixed-size
 * values (17 bytes each at most) and for the strings as they come; the
 * two-pass path (sizes first) otherwise. Either way a row that does not fit
 * or has a bad value leaves w->len as it was (bytes past it are scratch).
 */
int
scpp_wire_reply_row(struct scpp_wire_reply_writer *w, const struct scpp_value *v)
{
	const unsigned int ncols = w->ncols;
	size_t need = 1;
	uint8_t *p;

	if (w->state != ST_BODY || (ncols != 0 && v == NULL))
		return -EINVAL;
	if (SCPP_LIKELY(w->size - w->len >= 1 + (size_t)SCPP_VALUE_FIXED_MAX * ncols)) {
		uint8_t *start = w->buf + w->len, *end = w->buf + w->size;

		p = start;
		*p++ = SCPP_REC_ROW;
		for (unsigned int i = 0; i < ncols; i++) {
			if (v[i].type == SCPP_VT_U64 && v[i].u < 0x4000) {
				p[0] = SCPP_VT_U64;
				if (v[i].u < 0x80) {
					p[1] = (uint8_t)v[i].u;
					p += 2;
				} else {
					p[1] = (uint8_t)(v[i].u | 0x80);
					p[2] = (uint8_t)(v[i].u >> 7);
					p += 3;
				}
				continue;
			}
			/* A short string takes at most SCPP_VALUE_FIXED_MAX bytes
			 * (tag, one-byte length, 15 bytes): the room asked for
			 * above covers it. */
			if ((v[i].type == SCPP_VT_STR || v[i].type == SCPP_VT_BYTES) &&
			    v[i].len <= ROW_SHORT_MAX) {
				p[0] = v[i].type;
				p[1] = (uint8_t)v[i].len;
				copy_upto15(p + 2, v[i].p, v[i].len);
				p += 2 + v[i].len;
				continue;
			}
			if (v[i].type >= SCPP_VT_COUNT)
				return -EINVAL;
			/* Room for this value and the fixed-size ones after it. */
			if ((v[i].type == SCPP_VT_STR || v[i].type == SCPP_VT_BYTES) &&
			    (size_t)(end - p) < 1 + SCPP_VARINT_MAX + (size_t)v[i].len +
							(size_t)SCPP_VALUE_FIXED_MAX * (ncols - i - 1))
				goto exact;
			p = row_value_put(p, &v[i]);
		}
		w->len += (size_t)(p - start);
		return 0;
	}
exact:
	for (unsigned int i = 0; i < ncols; i++) {
		if (v[i].type >= SCPP_VT_COUNT)
			return -EINVAL;
		need += row_value_size(&v[i]);
	}
	if (!fits(w, need))
		return -ENOSPC;
	p = w->buf + w->len;
	*p++ = SCPP_REC_ROW;
	for (unsigned int i = 0; i < w->ncols; i++)
		p = row_value_put(p, &v[i]);
	w->len += need;
	return 0;
}

int
scpp_wire_reply_status(struct scpp_wire_reply_writer *w, struct scpp_oid oid,
		       const struct scpp_wire_name *keys, const struct scpp_value *vals,
		       uint16_t n)
{
	size_t need = 1 + OID_LEN + scpp_varint_size(n);
	uint8_t *p;

	if (w->state != ST_BODY || n > SCPP_WIRE_FIELDS_MAX ||
	    (n != 0 && (keys == NULL || vals == NULL)))
		return -EINVAL;
	for (unsigned int i = 0; i < n; i++) {
		if (!name_ok(keys[i].p, keys[i].len) || vals[i].type >= SCPP_VT_COUNT)
			return -EINVAL;
		need += name_size(&keys[i]) + scpp_value_encoded_size(&vals[i]);
	}
	if (!fits(w, need))
		return -ENOSPC;
	p = w->buf + w->len;
	*p++ = SCPP_REC_STATUS;
	put_le(p, oid.hi, 8);
	put_le(p + 8, oid.lo, 8);
	p += OID_LEN;
	p += scpp_varint_encode(p, n);
	for (unsigned int i = 0; i < n; i++) {
		size_t k = scpp_value_encoded_size(&vals[i]);

		p += name_put(p, &keys[i]);
		scpp_value_encode(p, k, &vals[i]);
		p += k;
	}
	w->len += need;
	w->nstatus++;
	return 0;
}

int
scpp_wire_reply_copy(struct scpp_wire_reply_writer *w, const struct scpp_wire_copy_result *c)
{
	size_t need;
	uint8_t *p;

	if (w->state != ST_BODY || c->cmd >= SCPP_WIRE_CMDS_MAX || c->offloaded > c->copies ||
	    !name_ok(c->engine.p, c->engine.len))
		return -EINVAL;
	need = 1 + scpp_varint_size(c->cmd) + scpp_varint_size(c->copies) +
	       scpp_varint_size(c->bytes) + scpp_varint_size(c->offloaded) +
	       name_size(&c->engine) + scpp_varint_size(c->elapsed_ns);
	if (!fits(w, need))
		return -ENOSPC;
	p = w->buf + w->len;
	*p++ = SCPP_REC_COPY;
	p += scpp_varint_encode(p, c->cmd);
	p += scpp_varint_encode(p, c->copies);
	p += scpp_varint_encode(p, c->bytes);
	p += scpp_varint_encode(p, c->offloaded);
	p += name_put(p, &c->engine);
	scpp_varint_encode(p, c->elapsed_ns);
	w->len += need;
	return 0;
}

int
scpp_wire_reply_end(struct scpp_wire_reply_writer *w, uint32_t err, uint8_t outcome,
		    uint64_t rows, uint64_t commands, uint64_t elapsed_ns)
{
	return scpp_wire_reply_end_ex(w, err, outcome, rows, commands, elapsed_ns, w->nstatus);
}

int
scpp_wire_reply_end_ex(struct scpp_wire_reply_writer *w, uint32_t err, uint8_t outcome,
		       uint64_t rows, uint64_t commands, uint64_t elapsed_ns, uint64_t statuses)
{
	size_t need;
	uint8_t *p;

	if (w->state != ST_BODY || outcome >= SCPP_OUTCOME_COUNT)
		return -EINVAL;
	/* The sizes are only needed when the room is short of the longest
	 * END (five varints of SCPP_VARINT_MAX). */
	if (SCPP_LIKELY(w->size - w->len >= 2 + 5 * (size_t)SCPP_VARINT_MAX)) {
		p = w->buf + w->len;
		*p++ = SCPP_REC_END;
		p += scpp_varint_encode(p, err);
		*p++ = outcome;
		p += scpp_varint_encode(p, rows);
		p += scpp_varint_encode(p, commands);
		p += scpp_varint_encode(p, elapsed_ns);
		p += scpp_varint_encode(p, statuses);
		w->len = (size_t)(p - w->buf);
		w->state = ST_DONE;
		return 0;
	}
	need = 2 + scpp_varint_size(err) + scpp_varint_size(rows) + scpp_varint_size(commands) +
	       scpp_varint_size(elapsed_ns) + scpp_varint_size(statuses);
	if (!fits(w, need))
		return -ENOSPC;
	p = w->buf + w->len;
	*p++ = SCPP_REC_END;
	p += scpp_varint_encode(p, err);
	*p++ = outcome;
	p += scpp_varint_encode(p, rows);
	p += scpp_varint_encode(p, commands);
	p += scpp_varint_encode(p, elapsed_ns);
	scpp_varint_encode(p, statuses);
	w->len += need;
	w->state = ST_DONE;
	return 0;
}

/* ---- reader ---- */

void
scpp_wire_reply_reader_init(struct scpp_wire_reply_reader *r, const uint8_t *buf, size_t len)
{
	r->buf = buf;
	r->len = len;
	r->off = 0;
	r->ncols = 0;
	r->state = ST_COLUMNS;
}

void
scpp_wire_reply_reader_feed(struct scpp_wire_reply_reader *r, const uint8_t *buf, size_t len)
{
	/* The buffer may have moved (grown); consumed bytes must still be
	 * there, since offsets are kept across calls. */
	SCPP_VERIFY(len >= r->off);
	r->buf = buf;
	r->len = len;
}

static int
read_columns(struct cur *c, struct scpp_wire_record *rec)
{
	int rc = cur_count(c, SCPP_WIRE_VARS_MAX, &rec->columns.n);

	for (unsigned int i = 0; rc == 0 && i < rec->columns.n; i++)
		rc = cur_name(c, &rec->columns.name[i]);
	return rc;
}

static int
read_row(struct cur *c, struct scpp_wire_record *rec, uint16_t ncols)
{
	int rc = 0;

	rec->row.n = ncols;
	for (unsigned int i = 0; rc == 0 && i < ncols; i++)
		rc = cur_value(c, &rec->row.v[i]);
	return rc;
}

static int
read_status(struct cur *c, struct scpp_wire_record *rec)
{
	int rc;

	if (cur_left(c) < OID_LEN)
		return -SCPP_E_TRUNCATED;
	rec->status.oid.hi = get_le(c->p + c->off, 8);
	rec->status.oid.lo = get_le(c->p + c->off + 8, 8);
	c->off += OID_LEN;
	rc = cur_count(c, SCPP_WIRE_FIELDS_MAX, &rec->status.n);
	for (unsigned int i = 0; rc == 0 && i < rec->status.n; i++) {
		rc = cur_name(c, &rec->status.key[i]);
		if (rc == 0)
			rc = cur_value(c, &rec->status.v[i]);
	}
	return rc;
}

static int
read_end(struct cur *c, struct scpp_wire_record *rec)
{
	size_t at = c->off;
	uint64_t err;
	int rc;

	if ((rc = cur_varint(c, &err)) < 0)
		return rc;
	if (err > UINT32_MAX) {
		/* errno numbers are 32-bit: a wider varint overflows the field. */
		c->off = at;
		return -SCPP_E_BAD_VARINT;
	}
	rec->end.err = (uint32_t)err;
	if ((rc = cur_u8(c, &rec->end.outcome)) < 0)
		return rc;
	if (rec->end.outcome >= SCPP_OUTCOME_COUNT) {
		c->off--;
		return -EINVAL;
	}
	if ((rc = cur_varint(c, &rec->end.rows)) < 0)
		return rc;
	if ((rc = cur_varint(c, &rec->end.commands)) < 0)
		return rc;
	if ((rc = cur_varint(c, &rec->end.elapsed_ns)) < 0)
		return rc;
	return cur_varint(c, &rec->end.statuses);
}

/* Each field's checks as soon as it is read (the command index, then
 * offloaded against copies), so the first bad field decides the error. */
static int
read_copy(struct cur *c, struct scpp_wire_record *rec)
{
	struct scpp_wire_copy_result *x = &rec->copy;
	size_t at = c->off;
	uint64_t cmd;
	int rc;

	if ((rc = cur_varint(c, &cmd)) < 0)
		return rc;
	if (cmd >= SCPP_WIRE_CMDS_MAX) {
		c->off = at;
		return -EINVAL;
	}
	x->cmd = (uint16_t)cmd;
	if ((rc = cur_varint(c, &x->copies)) < 0 || (rc = cur_varint(c, &x->bytes)) < 0)
		return rc;
	at = c->off;
	if ((rc = cur_varint(c, &x->offloaded)) < 0)
		return rc;
	if (x->offloaded > x->copies) {
		c->off = at;
		return -EINVAL;
	}
	if ((rc = cur_name(c, &x->engine)) < 0)
		return rc;
	return cur_varint(c, &x->elapsed_ns);
}

int
scpp_wire_reply_next(struct scpp_wire_reply_reader *r, struct scpp_wire_record *rec)
{
	struct cur c = {r->buf, r->len, r->off};
	uint8_t tag, next;
	int rc;

	if (r->state == ST_DONE)
		return r->off < r->len ? -SCPP_E_TRAILING : 0;
	if (c.off >= c.len)
		return -SCPP_E_TRUNCATED;
	tag = c.p[c.off++];
	next = ST_BODY;
	switch (tag) {
	case SCPP_REC_COLUMNS:
		if (r->state != ST_COLUMNS)
			return -SCPP_E_BAD_RECORD;
		rc = read_columns(&c, rec);
		break;
	case SCPP_REC_ROW:
		if (r->state != ST_BODY)
			return -SCPP_E_BAD_RECORD;
		rc = read_row(&c, rec, r->ncols);
		break;
	case SCPP_REC_STATUS:
		if (r->state != ST_BODY)
			return -SCPP_E_BAD_RECORD;
		rc = read_status(&c, rec);
		break;
	case SCPP_REC_COPY:
		if (r->state != ST_BODY)
			return -SCPP_E_BAD_RECORD;
		rc = read_copy(&c, rec);
		break;
	case SCPP_REC_END:
		if (r->state != ST_BODY)
			return -SCPP_E_BAD_RECORD;
		rc = read_end(&c, rec);
		next = ST_DONE;
		break;
	default:
		return -SCPP_E_BAD_RECORD;
	}
	if (rc < 0)
		return rc;
	/* Commit: the record is complete. */
	rec->type = tag;
	if (tag == SCPP_REC_COLUMNS)
		r->ncols = rec->columns.n;
	r->off = c.off;
	r->state = next;
	return 1;
}
