/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef WIRE_PRIV_H
#define WIRE_PRIV_H

/*
 * Bounds-checked read cursor shared by the block and reply decoders.
 *
 * Invariant: c->off <= c->len always. Every helper checks the bytes it needs
 * against c->len before reading them and, on error, leaves c->off at the
 * start of the field it failed on, so callers can report that offset as
 * err_off and the reply reader can retry the same record once more bytes
 * have arrived.
 */

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "scpp_common.h"
#include "scpp_value.h"
#include "scpp_wire.h"

struct cur {
	const uint8_t *p;
	size_t len;
	size_t off;
};

static inline size_t
cur_left(const struct cur *c)
{
	return c->len - c->off;
}

static inline int
cur_u8(struct cur *c, uint8_t *out)
{
	if (SCPP_UNLIKELY(c->off >= c->len))
		return -SCPP_E_TRUNCATED;
	*out = c->p[c->off++];
	return 0;
}

static inline int
cur_varint(struct cur *c, uint64_t *out)
{
	int n;

	/* Fast path: one-byte varints are by far the most common (counts,
	 * variable indexes, short lengths). */
	if (SCPP_LIKELY(c->off < c->len && c->p[c->off] < 0x80)) {
		*out = c->p[c->off++];
		return 0;
	}
	n = scpp_varint_decode(c->p + c->off, cur_left(c), out);
	if (n < 0)
		return n;
	c->off += (size_t)n;
	return 0;
}

/* A count varint bounded by @p max: larger is -SCPP_E_TOO_MANY. */
static inline int
cur_count(struct cur *c, uint64_t max, uint16_t *out)
{
	size_t at = c->off;
	uint64_t x;
	int rc = cur_varint(c, &x);

	if (rc < 0)
		return rc;
	if (x > max) {
		c->off = at;
		return -SCPP_E_TOO_MANY;
	}
	*out = (uint16_t)x;
	return 0;
}

static inline int
cur_value(struct cur *c, struct scpp_value *v)
{
	int n = scpp_value_decode(c->p + c->off, cur_left(c), v);

	if (n < 0)
		return n;
	c->off += (size_t)n;
	return 0;
}

/*
 * A name: varint length (0..SCPP_WIRE_NAME_MAX) then UTF-8 bytes. The
 * length limit is checked before the bytes are required, so an oversized
 * length is reported as such even when the input is also short.
 */
static inline int
cur_name(struct cur *c, struct scpp_wire_name *nm)
{
	size_t at = c->off;
	uint64_t n;
	int rc = cur_varint(c, &n);

	if (rc < 0)
		return rc;
	if (n > SCPP_WIRE_NAME_MAX) {
		rc = -EINVAL;
		goto err;
	}
	if (n > cur_left(c)) {
		rc = -SCPP_E_TRUNCATED;
		goto err;
	}
	if (!scpp_utf8_valid(c->p + c->off, (size_t)n)) {
		rc = -SCPP_E_BAD_UTF8;
		goto err;
	}
	nm->p = (const char *)(c->p + c->off);
	nm->len = (uint16_t)n;
	c->off += (size_t)n;
	return 0;
err:
	c->off = at;
	return rc;
}

static inline uint64_t
get_le(const uint8_t *p, unsigned int n)
{
	uint64_t x = 0;

	while (n-- > 0)
		x = (x << 8) | p[n];
	return x;
}

static inline void
put_le(uint8_t *p, uint64_t x, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		p[i] = (uint8_t)(x >> (8 * i));
}

/* Encoded size of a name (no checks: callers validated it). */
static inline size_t
name_size(const struct scpp_wire_name *nm)
{
	return scpp_varint_size(nm->len) + nm->len;
}

/* Write a name; the caller has reserved name_size() bytes. */
static inline size_t
name_put(uint8_t *p, const struct scpp_wire_name *nm)
{
	unsigned int n = scpp_varint_encode(p, nm->len);

	if (nm->len != 0)
		memcpy(p + n, nm->p, nm->len);
	return n + nm->len;
}

/* True if a name may be encoded: short enough and UTF-8. */
static inline bool
name_ok(const char *p, size_t len)
{
	return len <= SCPP_WIRE_NAME_MAX && (len == 0 || p != NULL) &&
	       scpp_utf8_valid((const uint8_t *)p, len);
}

/* ---- expressions (wire_expr.c) ---- */

/*
 * Read an OP term's operator byte at the cursor: -SCPP_E_TRUNCATED when it
 * is missing, -SCPP_E_BAD_TERM when it names no operator (the cursor then
 * stays on that byte, for err_off).
 */
int wire_expr_operator(struct cur *c, uint8_t *op);

/* Operator depth of the expression term @p t (0 for a constant or a
 * variable); bounded by SCPP_WIRE_EXPR_DEPTH_MAX in any built block. */
unsigned int wire_expr_depth(const struct scpp_wire_block *b, unsigned int t);

/* The owner rule inside an expression: the first constant OID, in
 * encoding order, that is the entity operand of a store-reading operator. */
bool wire_expr_owner(const struct scpp_wire_block *b, unsigned int t, struct scpp_oid *out);

/* An ENT term that names an owner: a constant, non-well-known OID. */
bool wire_ent_owner(const struct scpp_wire_block *b, unsigned int t, struct scpp_oid *out);
/* The owner named by the entity at the bottom of the address term @p t. */
bool wire_addr_owner(const struct scpp_wire_block *b, unsigned int t, struct scpp_oid *out);

#endif /* WIRE_PRIV_H */
