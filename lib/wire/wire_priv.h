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

static inline uint64_t
load_le64(const uint8_t *p)
{
	uint64_t x;

	memcpy(&x, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	x = __builtin_bswap64(x);
#endif
	return x;
}

/*
 * True if the @p n bytes at @p p (n <= 16) are all ASCII, with at most two
 * 8-byte loads, none outside [lo, p + n): names and attribute strings are
 * short, and the generic scpp_utf8_valid() loop costs several times more on
 * them. A string of under 8 bytes is read as the 8 bytes that end where it
 * ends (they start at or after @p lo, the start of the input), shifted so
 * that only its own bytes remain. Returns false when it cannot tell (the
 * caller then asks scpp_utf8_valid(), which has the last word).
 */
static inline bool
short_ascii(const uint8_t *lo, const uint8_t *p, size_t n)
{
	const uint64_t hi_bits = UINT64_C(0x8080808080808080);
	uint64_t w;

	if (n == 0)
		return true;
	if (n > 16)
		return false;
	if (n >= 8)
		return ((load_le64(p) | load_le64(p + n - 8)) & hi_bits) == 0;
	if ((size_t)(p - lo) + n < 8)
		return false;
	w = load_le64(p + n - 8) >> (8 * (8 - n));
	return (w & hi_bits) == 0;
}

/* True if the @p n bytes at @p p are all ASCII (8 at a time); false when it
 * cannot tell (see short_ascii()). */
static inline bool
span_ascii(const uint8_t *lo, const uint8_t *p, size_t n)
{
	uint64_t acc = 0;
	size_t i = 0;

	if (n <= 16)
		return short_ascii(lo, p, n);
	for (; i + 8 <= n; i += 8)
		acc |= load_le64(p + i);
	acc |= load_le64(p + n - 8); /* the tail, overlapping the last word */
	return (acc & UINT64_C(0x8080808080808080)) == 0;
}

/*
 * The constants blocks mostly carry (OIDs, one-byte unsigned integers,
 * short ASCII strings), decoded inline from @p p (@p left bytes; @p lo is
 * the start of the input). Returns the bytes consumed, or 0 when the value
 * is of another kind or not well-formed: the caller then decodes it with
 * scpp_value_decode(), so results and errors are exactly that function's.
 */
static inline size_t
value_fast(const uint8_t *lo, const uint8_t *p, size_t left, struct scpp_value *v)
{
	if (SCPP_LIKELY(left >= 17) && p[0] == SCPP_VT_OID) {
		v->type = SCPP_VT_OID;
		v->len = 0;
		v->oid.hi = load_le64(p + 1);
		v->oid.lo = load_le64(p + 9);
		return 17;
	}
	if (SCPP_LIKELY(left >= 2) && p[1] < 0x80) {
		if (p[0] == SCPP_VT_STR && p[1] <= left - 2 && short_ascii(lo, p + 2, p[1])) {
			v->type = SCPP_VT_STR;
			v->len = p[1];
			v->oid.lo = 0;
			v->p = p + 2;
			return 2 + (size_t)p[1];
		}
		if (p[0] == SCPP_VT_U64) {
			v->type = SCPP_VT_U64;
			v->len = 0;
			v->oid.lo = 0;
			v->u = p[1];
			return 2;
		}
	}
	return 0;
}

static inline int
cur_value(struct cur *c, struct scpp_value *v)
{
	size_t k = value_fast(c->p, c->p + c->off, cur_left(c), v);
	int n;

	if (SCPP_LIKELY(k != 0)) {
		c->off += k;
		return 0;
	}
	n = scpp_value_decode(c->p + c->off, cur_left(c), v);
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
	if (!short_ascii(c->p, c->p + c->off, (size_t)n) &&
	    !scpp_utf8_valid(c->p + c->off, (size_t)n)) {
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

/* Little-endian loads and stores of n bytes. The widths the header codecs
 * use (2, 4, 8, known at compile time) are one unaligned access each; a
 * byte loop cost the datagram header decode ~130 instructions per datagram
 * (perf/RESULTS.md, "Issue 12, fifth pass"). */
static inline uint64_t
get_le(const uint8_t *p, unsigned int n)
{
	uint64_t x = 0;

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (__builtin_constant_p(n) && (n == 2 || n == 4 || n == 8)) {
		uint16_t v2;
		uint32_t v4;

		if (n == 8) {
			memcpy(&x, p, 8);
			return x;
		}
		if (n == 4) {
			memcpy(&v4, p, 4);
			return v4;
		}
		memcpy(&v2, p, 2);
		return v2;
	}
#endif
	while (n-- > 0)
		x = (x << 8) | p[n];
	return x;
}

static inline void
store_le64(uint8_t *p, uint64_t x)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	x = __builtin_bswap64(x);
#endif
	memcpy(p, &x, 8);
}

static inline void
put_le(uint8_t *p, uint64_t x, unsigned int n)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (__builtin_constant_p(n) && (n == 2 || n == 4 || n == 8)) {
		uint16_t v2 = (uint16_t)x;
		uint32_t v4 = (uint32_t)x;

		if (n == 8)
			memcpy(p, &x, 8);
		else if (n == 4)
			memcpy(p, &v4, 4);
		else
			memcpy(p, &v2, 2);
		return;
	}
#endif
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

/* FORWARD and CONT extensions (wire_fwd.c): 0, -SCPP_E_TRUNCATED or
 * -SCPP_E_BAD_KIND. */
int wire_ext_check(const uint8_t *p, size_t n);
/* CONT extensions (wire_cont_copy.c): as wire_ext_check(), and types 2
 * (COPY_SOURCE) and 3 (MEMORY_WINDOW) any number of times, each
 * well-formed, each type's rows ascending:
 * also -SCPP_E_BAD_LENGTH, -SCPP_E_BAD_FLAGS, -SCPP_E_BAD_VALUE_TYPE, -EEXIST. */
int wire_cont_ext_check(const uint8_t *p, size_t n);

#endif /* WIRE_PRIV_H */
