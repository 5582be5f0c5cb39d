/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Continuations on the wire (docs/PROTOCOL.md §19): CONT, the rest of a
 * block for some of its rows, sent by the node evaluating the block to the
 * node that owns those rows' entities, and CONT_REPLY, the records of that
 * part sent back. As for FORWARD, one set of checks serves both
 * directions: everything the encoders write decodes, and every accepted
 * header (and row) re-encodes to the same bytes.
 */
#include <errno.h>
#include <string.h>

#include "scpp_wire.h"
#include "wire_priv.h"

static int
cont_check(const struct scpp_wire_cont *c)
{
	if (c->hops == 0 || c->flags & ~SCPP_WIRE_CONT_F_EVERY || c->origin == 0 ||
	    c->cont_id == 0)
		return -SCPP_E_BAD_FLAGS;
	if (c->hops > SCPP_WIRE_CONT_HOPS_MAX || c->nvars > SCPP_WIRE_VARS_MAX ||
	    c->nrows > SCPP_WIRE_CONT_ROWS_MAX || c->timeout_ms > SCPP_WIRE_CONT_TIMEOUT_MAX ||
	    c->ext_len > SCPP_WIRE_CONT_EXT_MAX)
		return -SCPP_E_TOO_MANY;
	if (c->nvars == 0 || c->nrows == 0 || c->block_len == 0 || c->timeout_ms == 0)
		return -SCPP_E_BAD_LENGTH;
	return 0;
}

int
scpp_wire_cont_decode(const uint8_t *p, size_t len, struct scpp_wire_cont *c)
{
	size_t at;
	int rc;

	if (SCPP_UNLIKELY(len < SCPP_WIRE_CONT_HDR_LEN))
		return -SCPP_E_TRUNCATED;
	if (SCPP_UNLIKELY(p[0] != 1))
		return -SCPP_E_BAD_VERSION;
	c->flags = p[1];
	c->hops = p[2];
	c->origin = (uint32_t)get_le(p + 4, 4);
	c->cont_id = get_le(p + 8, 8);
	c->client_id = get_le(p + 16, 8);
	c->block_id = get_le(p + 24, 8);
	c->start = (uint16_t)get_le(p + 32, 2);
	c->nvars = (uint16_t)get_le(p + 34, 2);
	c->nrows = (uint32_t)get_le(p + 36, 4);
	c->block_len = (uint32_t)get_le(p + 40, 4);
	c->timeout_ms = (uint32_t)get_le(p + 44, 4);
	c->ext_len = (uint16_t)get_le(p + 48, 2);
	rc = cont_check(c);
	if (rc == 0 && (p[3] | p[50] | p[51]) != 0)
		rc = -SCPP_E_BAD_FLAGS;
	if (SCPP_UNLIKELY(rc != 0))
		return rc;
	at = SCPP_WIRE_CONT_HDR_LEN;
	if (SCPP_UNLIKELY(len - at < c->ext_len))
		return -SCPP_E_TRUNCATED;
	c->ext = p + at;
	rc = wire_cont_ext_check(c->ext, c->ext_len);
	if (SCPP_UNLIKELY(rc != 0))
		return rc;
	at += c->ext_len;
	/* At least one byte of rows: every row has its 8-byte mask. */
	if (SCPP_UNLIKELY(len - at <= c->block_len))
		return -SCPP_E_TRUNCATED;
	c->block = p + at;
	at += c->block_len;
	c->rows = p + at;
	c->rows_len = len - at;
	return 0;
}

int
scpp_wire_cont_encode(uint8_t *buf, size_t size, const struct scpp_wire_cont *c)
{
	size_t total = SCPP_WIRE_CONT_HDR_LEN + (size_t)c->ext_len;

	if (cont_check(c) != 0 || (c->ext_len != 0 && c->ext == NULL) ||
	    (c->ext_len != 0 && wire_cont_ext_check(c->ext, c->ext_len) != 0))
		return -EINVAL;
	if (size < total)
		return -ENOSPC;
	if (c->ext_len != 0)
		memmove(buf + SCPP_WIRE_CONT_HDR_LEN, c->ext, c->ext_len);
	buf[0] = 1;
	buf[1] = c->flags;
	buf[2] = c->hops;
	buf[3] = 0;
	put_le(buf + 4, c->origin, 4);
	put_le(buf + 8, c->cont_id, 8);
	put_le(buf + 16, c->client_id, 8);
	put_le(buf + 24, c->block_id, 8);
	put_le(buf + 32, c->start, 2);
	put_le(buf + 34, c->nvars, 2);
	put_le(buf + 36, c->nrows, 4);
	put_le(buf + 40, c->block_len, 4);
	put_le(buf + 44, c->timeout_ms, 4);
	put_le(buf + 48, c->ext_len, 2);
	buf[50] = 0;
	buf[51] = 0;
	return (int)total;
}

void
scpp_wire_cont_rows_init(struct scpp_wire_cont_rows *it, const struct scpp_wire_cont *c)
{
	it->p = c->rows;
	it->len = c->rows_len;
	it->off = 0;
	it->left = c->nrows;
	it->nvars = c->nvars;
}

static uint64_t
var_mask(uint16_t nvars)
{
	return nvars >= 64 ? UINT64_MAX : (UINT64_C(1) << nvars) - 1;
}

int
scpp_wire_cont_row_next(struct scpp_wire_cont_rows *it, uint64_t *bound,
			struct scpp_value v[SCPP_WIRE_VARS_MAX])
{
	size_t o = it->off;
	uint64_t m;

	if (it->left == 0)
		return o == it->len ? 0 : -SCPP_E_TRAILING;
	if (it->len - o < 8)
		return -SCPP_E_TRUNCATED;
	m = get_le(it->p + o, 8);
	if (m & ~var_mask(it->nvars))
		return -SCPP_E_BAD_FLAGS;
	o += 8;
	for (uint16_t i = 0; i < it->nvars; i++) {
		int n;

		if (!((m >> i) & 1))
			continue;
		n = scpp_value_decode(it->p + o, it->len - o, &v[i]);
		if (n < 0)
			return n;
		o += (size_t)n;
	}
	*bound = m;
	it->off = o;
	it->left--;
	return 1;
}

size_t
scpp_wire_cont_row_size(uint16_t nvars, uint64_t bound, const struct scpp_value *v)
{
	size_t n = 8;

	for (uint16_t i = 0; i < nvars && i < SCPP_WIRE_VARS_MAX; i++)
		if ((bound >> i) & 1)
			n += scpp_value_encoded_size(&v[i]);
	return n;
}

int
scpp_wire_cont_row_encode(uint8_t *buf, size_t size, uint16_t nvars, uint64_t bound,
			  const struct scpp_value *v)
{
	size_t o = 8;

	if (nvars > SCPP_WIRE_VARS_MAX || (bound & ~var_mask(nvars)))
		return -EINVAL;
	if (size < 8)
		return -ENOSPC;
	put_le(buf, bound, 8);
	for (uint16_t i = 0; i < nvars; i++) {
		int n;

		if (!((bound >> i) & 1))
			continue;
		n = scpp_value_encode(buf + o, size - o, &v[i]);
		if (n < 0)
			return n;
		o += (size_t)n;
	}
	return (int)o;
}

static int
rest_check(const struct scpp_wire_cont_rest *g)
{
	if (scpp_oid_node((struct scpp_oid){.hi = g->shard}) == 0)
		return -SCPP_E_BAD_FLAGS;
	if (g->nrows > SCPP_WIRE_CONT_ROWS_MAX)
		return -SCPP_E_TOO_MANY;
	if (g->nrows == 0 || g->rows_len < (uint64_t)g->nrows * 8)
		return -SCPP_E_BAD_LENGTH;
	return 0;
}

/* The rest group at @p p (@p len bytes left): its header checked, its rows
 * inside @p len. Returns its bytes, or an error. */
static long
rest_decode(const uint8_t *p, size_t len, struct scpp_wire_cont_rest *g)
{
	int rc;

	if (len < SCPP_WIRE_CONT_REST_HDR_LEN)
		return -SCPP_E_TRUNCATED;
	g->start = (uint16_t)get_le(p, 2);
	g->nrows = (uint32_t)get_le(p + 4, 4);
	g->shard = get_le(p + 8, 8);
	g->rows_len = (uint32_t)get_le(p + 16, 4);
	g->rows = p + SCPP_WIRE_CONT_REST_HDR_LEN;
	if (p[2] != 0 || p[3] != 0)
		return -SCPP_E_BAD_FLAGS;
	rc = rest_check(g);
	if (rc != 0)
		return rc;
	if (g->rows_len > len - SCPP_WIRE_CONT_REST_HDR_LEN)
		return -SCPP_E_TRUNCATED;
	return (long)(SCPP_WIRE_CONT_REST_HDR_LEN + g->rows_len);
}

int
scpp_wire_cont_reply_decode(const uint8_t *p, size_t len, struct scpp_wire_cont_reply *r)
{
	struct scpp_wire_cont_rest g;
	size_t at = SCPP_WIRE_CONT_REPLY_HDR_LEN;

	if (SCPP_UNLIKELY(len < SCPP_WIRE_CONT_REPLY_HDR_LEN))
		return -SCPP_E_TRUNCATED;
	if (SCPP_UNLIKELY(p[0] != 1))
		return -SCPP_E_BAD_VERSION;
	r->flags = p[1];
	r->nrest = (uint16_t)get_le(p + 2, 2);
	r->owner = (uint32_t)get_le(p + 4, 4);
	r->cont_id = get_le(p + 8, 8);
	if ((r->flags & ~SCPP_WIRE_CONT_REPLY_F_REST) != 0 || r->owner == 0 || r->cont_id == 0 ||
	    ((r->flags & SCPP_WIRE_CONT_REPLY_F_REST) != 0) != (r->nrest != 0))
		return -SCPP_E_BAD_FLAGS;
	if (r->nrest > SCPP_WIRE_CONT_REST_MAX)
		return -SCPP_E_TOO_MANY;
	for (uint16_t i = 0; i < r->nrest; i++) {
		long n = rest_decode(p + at, len - at, &g);

		if (n < 0)
			return (int)n;
		at += (size_t)n;
	}
	r->rest = r->nrest != 0 ? p + SCPP_WIRE_CONT_REPLY_HDR_LEN : NULL;
	r->rest_len = at - SCPP_WIRE_CONT_REPLY_HDR_LEN;
	r->records = p + at;
	r->records_len = len - at;
	return 0;
}

int
scpp_wire_cont_rest_next(const struct scpp_wire_cont_reply *r, size_t *off,
			 struct scpp_wire_cont_rest *g)
{
	long n;

	if (*off == r->rest_len)
		return 0;
	if (r->rest == NULL || *off > r->rest_len)
		return -EINVAL;
	n = rest_decode(r->rest + *off, r->rest_len - *off, g);
	if (n < 0)
		return -EINVAL;
	*off += (size_t)n;
	return 1;
}

int
scpp_wire_cont_rest_encode(uint8_t *buf, size_t size, const struct scpp_wire_cont_rest *g)
{
	if (rest_check(g) != 0)
		return -EINVAL;
	if (size < SCPP_WIRE_CONT_REST_HDR_LEN)
		return -ENOSPC;
	put_le(buf, g->start, 2);
	buf[2] = 0;
	buf[3] = 0;
	put_le(buf + 4, g->nrows, 4);
	put_le(buf + 8, g->shard, 8);
	put_le(buf + 16, g->rows_len, 4);
	return (int)SCPP_WIRE_CONT_REST_HDR_LEN;
}

int
scpp_wire_cont_reply_encode(uint8_t *buf, size_t size, const struct scpp_wire_cont_reply *r)
{
	if (r->owner == 0 || r->cont_id == 0 || (r->flags & ~SCPP_WIRE_CONT_REPLY_F_REST) != 0 ||
	    ((r->flags & SCPP_WIRE_CONT_REPLY_F_REST) != 0) != (r->nrest != 0) ||
	    r->nrest > SCPP_WIRE_CONT_REST_MAX)
		return -EINVAL;
	if (size < SCPP_WIRE_CONT_REPLY_HDR_LEN)
		return -ENOSPC;
	buf[0] = 1;
	buf[1] = r->flags;
	put_le(buf + 2, r->nrest, 2);
	put_le(buf + 4, r->owner, 4);
	put_le(buf + 8, r->cont_id, 8);
	return (int)SCPP_WIRE_CONT_REPLY_HDR_LEN;
}
