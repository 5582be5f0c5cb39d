/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SCPP_VALUE_H
#define SCPP_VALUE_H

/**
 * @file
 * Typed values: the V of entity–attribute–value, and every constant a block
 * carries.
 *
 * A value is one of eight types: nil, bool, i64, u64, f64, string (valid
 * UTF-8), bytes, oid. struct scpp_value is a 24-byte handle; strings and bytes
 * *borrow* their memory (a datagram, a store slab, a test buffer): whoever
 * builds a value decides how long @c p stays valid.
 *
 * Binary encoding (little-endian, one type tag byte then the payload):
 *
 * | tag | type  | payload                                          |
 * |-----|-------|--------------------------------------------------|
 * | 0   | nil   | none                                             |
 * | 1   | bool  | one byte, 0 or 1                                 |
 * | 2   | i64   | zigzag LEB128 varint                             |
 * | 3   | u64   | LEB128 varint                                    |
 * | 4   | f64   | 8 bytes, IEEE-754 binary64, little-endian        |
 * | 5   | str   | varint byte length, then that many UTF-8 bytes   |
 * | 6   | bytes | varint byte length, then that many bytes         |
 * | 7   | oid   | 16 bytes: hi then lo, each little-endian         |
 *
 * Varints are minimal (no redundant 0x80/0x00 continuation bytes) and at
 * most 10 bytes, so every value has exactly one encoding.
 *
 * Order and equality: values order first by type tag, then within the type
 * (bool false < true, integers numerically, f64 by IEEE-754 totalOrder,
 * strings and bytes bytewise then by length, OIDs by scpp_oid_cmp()).
 * Equality is "compares equal", so for f64 it is bitwise: -0.0 != 0.0 and a
 * NaN equals only the same NaN. Different types are never equal (5 != 5u).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "scpp_oid.h"

enum scpp_value_type {
	SCPP_VT_NIL = 0,
	SCPP_VT_BOOL = 1,
	SCPP_VT_I64 = 2,
	SCPP_VT_U64 = 3,
	SCPP_VT_F64 = 4,
	SCPP_VT_STR = 5,
	SCPP_VT_BYTES = 6,
	SCPP_VT_OID = 7,
	SCPP_VT_COUNT
};

/** Largest string or bytes length the encoding accepts (4 GiB - 1). */
#define SCPP_VALUE_LEN_MAX UINT32_MAX
/** Largest encoding of a fixed-size value (tag + 16-byte OID). */
#define SCPP_VALUE_FIXED_MAX 17
/** Largest varint: 10 bytes for 64 bits. */
#define SCPP_VARINT_MAX 10

/** A typed value; string/bytes point at borrowed memory. */
struct scpp_value {
	uint8_t type;  /**< enum scpp_value_type */
	uint32_t len;  /**< byte length of str/bytes; 0 otherwise */
	union {
		bool b;
		int64_t i;
		uint64_t u;
		double f;
		const uint8_t *p;     /**< str/bytes data (not NUL-terminated) */
		struct scpp_oid oid;
	};
};

static inline struct scpp_value
scpp_value_nil(void)
{
	struct scpp_value v;

	memset(&v, 0, sizeof(v));
	return v;
}

static inline struct scpp_value
scpp_value_bool(bool b)
{
	struct scpp_value v = scpp_value_nil();

	v.type = SCPP_VT_BOOL;
	v.b = b;
	return v;
}

static inline struct scpp_value
scpp_value_i64(int64_t i)
{
	struct scpp_value v = scpp_value_nil();

	v.type = SCPP_VT_I64;
	v.i = i;
	return v;
}

static inline struct scpp_value
scpp_value_u64(uint64_t u)
{
	struct scpp_value v = scpp_value_nil();

	v.type = SCPP_VT_U64;
	v.u = u;
	return v;
}

static inline struct scpp_value
scpp_value_f64(double f)
{
	struct scpp_value v = scpp_value_nil();

	v.type = SCPP_VT_F64;
	v.f = f;
	return v;
}

/** A string value over @p len bytes at @p s (caller guarantees UTF-8). */
static inline struct scpp_value
scpp_value_str(const char *s, uint32_t len)
{
	struct scpp_value v = scpp_value_nil();

	v.type = SCPP_VT_STR;
	v.len = len;
	v.p = (const uint8_t *)s;
	return v;
}

/** A string value over a NUL-terminated C string (must be UTF-8). */
static inline struct scpp_value
scpp_value_cstr(const char *s)
{
	return scpp_value_str(s, (uint32_t)strlen(s));
}

static inline struct scpp_value
scpp_value_bytes(const void *p, uint32_t len)
{
	struct scpp_value v = scpp_value_nil();

	v.type = SCPP_VT_BYTES;
	v.len = len;
	v.p = (const uint8_t *)p;
	return v;
}

static inline struct scpp_value
scpp_value_oid(struct scpp_oid o)
{
	struct scpp_value v = scpp_value_nil();

	v.type = SCPP_VT_OID;
	v.oid = o;
	return v;
}

/** Name of a type ("nil", "bool", "i64", ...), or "?" for an unknown tag. */
const char *scpp_value_type_name(unsigned int type);

/** True if @p len bytes at @p p are well-formed UTF-8 (RFC 3629: no
 *  overlongs, no surrogates, nothing above U+10FFFF). */
bool scpp_utf8_valid(const uint8_t *p, size_t len);

/**
 * Total order over values (see the file comment).
 *
 * @return <0, 0 or >0.
 */
int scpp_value_cmp(const struct scpp_value *a, const struct scpp_value *b);

static inline bool
scpp_value_eq(const struct scpp_value *a, const struct scpp_value *b)
{
	return scpp_value_cmp(a, b) == 0;
}

/** 64-bit hash, consistent with scpp_value_eq(). */
uint64_t scpp_value_hash(const struct scpp_value *v);

/**
 * Keyed 64-bit hash, consistent with scpp_value_eq(): without @p seed a
 * client cannot tell which values share a bucket (the store keys its map
 * index with a per-shard random seed).
 */
uint64_t scpp_value_hash_seeded(const struct scpp_value *v, uint64_t seed);

/** The murmur3 64-bit finaliser: spreads every input bit over all 64. */
static inline uint64_t
scpp_hash_mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64_C(0xc4ceb9fe1a85ec53);
	h ^= h >> 33;
	return h;
}

/** 64-bit hash of a byte string (the hash strings and bytes use). */
uint64_t scpp_hash_bytes(const void *p, size_t len, uint64_t seed);

/** Bytes scpp_value_encode() will write for @p v. */
size_t scpp_value_encoded_size(const struct scpp_value *v);

/**
 * Encode @p v into @p buf.
 *
 * @return Bytes written, or -ENOSPC if @p size is too small (nothing useful
 *   is written then), -EINVAL for an unknown type.
 */
int scpp_value_encode(uint8_t *buf, size_t size, const struct scpp_value *v);

/**
 * Decode one value from @p buf without copying: str/bytes point into @p buf.
 *
 * Never reads past @p buf + @p len. Allocation-free.
 *
 * @return Bytes consumed (> 0), or a negative error:
 *   - -SCPP_E_TRUNCATED: the value continues past @p len;
 *   - -SCPP_E_BAD_VALUE_TYPE: unknown tag;
 *   - -SCPP_E_BAD_VARINT: overlong or overflowing varint;
 *   - -SCPP_E_BAD_UTF8: a string is not valid UTF-8;
 *   - -EINVAL: a bool byte other than 0 or 1.
 */
int scpp_value_decode(const uint8_t *buf, size_t len, struct scpp_value *v);

/** Encode a LEB128 varint; @p buf needs SCPP_VARINT_MAX bytes. Returns bytes written. */
static inline unsigned int
scpp_varint_encode(uint8_t *buf, uint64_t x)
{
	unsigned int n = 0;

	while (x >= 0x80) {
		buf[n++] = (uint8_t)(x | 0x80);
		x >>= 7;
	}
	buf[n++] = (uint8_t)x;
	return n;
}

/** Bytes a varint of @p x takes. */
static inline unsigned int
scpp_varint_size(uint64_t x)
{
	unsigned int n = 1;

	while (x >= 0x80) {
		x >>= 7;
		n++;
	}
	return n;
}

/**
 * Decode a minimal LEB128 varint.
 *
 * @return Bytes consumed, -SCPP_E_TRUNCATED, or -SCPP_E_BAD_VARINT
 *   (non-minimal, longer than 10 bytes, or over 64 bits).
 */
int scpp_varint_decode(const uint8_t *buf, size_t len, uint64_t *out);

static inline uint64_t
scpp_zigzag_encode(int64_t i)
{
	return ((uint64_t)i << 1) ^ (uint64_t)(i >> 63);
}

static inline int64_t
scpp_zigzag_decode(uint64_t u)
{
	return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

/**
 * Print @p v in the text form of blocks (lib/lang literals):
 * `nil`, `true`, `-5`, `5u`, `1.5`, `nan`, `"a\"b"`, `x"00ff"`, `@0.1.0.1.2`.
 * Strings escape `"`, `\` and control characters; the output parses back to
 * an equal value.
 *
 * @return Length of the full text (excluding NUL) as snprintf; output is
 *   truncated (and NUL-terminated) if that is >= @p size.
 */
int scpp_value_format(char *buf, size_t size, const struct scpp_value *v);

#endif /* SCPP_VALUE_H */
