/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Value comparison, hashing and the binary encoding. Decoding is on the
 * per-packet path: it is allocation-free, checks every length against the
 * end of the buffer before touching the bytes, and returns a distinct error
 * for each way the input can be malformed.
 */
#include <errno.h>

#include "scpp_common.h"
#include "scpp_value.h"

static const char *const type_names[SCPP_VT_COUNT] = {
	"nil", "bool", "i64", "u64", "f64", "str", "bytes", "oid",
};

const char *
scpp_value_type_name(unsigned int type)
{
	return type < SCPP_VT_COUNT ? type_names[type] : "?";
}

/* True if no byte of p[0..len) has its top bit set (pure ASCII). */
static inline bool
ascii_only(const uint8_t *p, size_t len)
{
	uint64_t acc = 0, w;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		acc |= w;
	}
	for (; i < len; i++)
		acc |= p[i];
	return (acc & UINT64_C(0x8080808080808080)) == 0;
}

bool
scpp_utf8_valid(const uint8_t *p, size_t len)
{
	size_t i = 0;

	/* Attribute names, keys and most strings are ASCII: one branch-free
	 * pass answers for them; only others take the per-character walk. */
	if (ascii_only(p, len))
		return true;
	while (i < len) {
		uint8_t c = p[i];
		size_t n;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			n = 1; cp = c & 0x1f; min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2; cp = c & 0x0f; min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3; cp = c & 0x07; min = 0x10000;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

/* IEEE-754 totalOrder as a signed integer key: flip the magnitude bits of
 * negatives so that integer order equals totalOrder. */
static inline int64_t
f64_key(double f)
{
	int64_t k;

	memcpy(&k, &f, sizeof(k));
	return k ^ (int64_t)(((uint64_t)(k >> 63)) >> 1);
}

int
scpp_value_cmp(const struct scpp_value *a, const struct scpp_value *b)
{
	int c;

	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	switch (a->type) {
	case SCPP_VT_BOOL:
		return (int)a->b - (int)b->b;
	case SCPP_VT_I64:
		return (a->i > b->i) - (a->i < b->i);
	case SCPP_VT_U64:
		return (a->u > b->u) - (a->u < b->u);
	case SCPP_VT_F64: {
		int64_t ka = f64_key(a->f), kb = f64_key(b->f);

		return (ka > kb) - (ka < kb);
	}
	case SCPP_VT_STR:
	case SCPP_VT_BYTES:
		/* memcmp's pointers must be valid even for length 0, and an
		 * empty value may carry p == NULL. */
		c = a->len == 0 || b->len == 0 ? 0 : memcmp(a->p, b->p, SCPP_MIN(a->len, b->len));
		if (c != 0)
			return c < 0 ? -1 : 1;
		return (a->len > b->len) - (a->len < b->len);
	case SCPP_VT_OID:
		return scpp_oid_cmp(a->oid, b->oid);
	default:
		return 0;
	}
}

/* A word-at-a-time multiply-mix hash: each 8-byte word is folded in with a
 * 128-bit multiply (as wyhash does), the tail is read without over-reading.
 * The seed enters every word's factor: with a fixed constant there, a word
 * equal to it would zero the product and erase the seed (and every word
 * before it), giving seed-independent collisions a client could build. */
uint64_t
scpp_hash_bytes(const void *data, size_t len, uint64_t seed)
{
	const uint8_t *p = data;
	uint64_t h = seed ^ (len * UINT64_C(0x9e3779b97f4a7c15));
	uint64_t k = seed ^ UINT64_C(0xa0761d6478bd642f);
	uint64_t w;

	while (len >= 8) {
		memcpy(&w, p, 8);
		__uint128_t m = (__uint128_t)(w ^ k) *
				(h ^ UINT64_C(0xe7037ed1a0b428db));
		h = (uint64_t)m ^ (uint64_t)(m >> 64);
		p += 8;
		len -= 8;
	}
	w = 0;
	memcpy(&w, p, len);
	h ^= w;
	return scpp_hash_mix64(h);
}

uint64_t
scpp_value_hash(const struct scpp_value *v)
{
	return scpp_value_hash_seeded(v, 0);
}

uint64_t
scpp_value_hash_seeded(const struct scpp_value *v, uint64_t key)
{
	uint64_t seed = ((uint64_t)v->type * UINT64_C(0x9e3779b97f4a7c15)) ^ key;

	switch (v->type) {
	case SCPP_VT_BOOL:
		return scpp_hash_mix64(seed ^ (uint64_t)v->b);
	case SCPP_VT_I64:
	case SCPP_VT_U64:
	case SCPP_VT_F64:
		return scpp_hash_mix64(seed ^ v->u);
	case SCPP_VT_STR:
	case SCPP_VT_BYTES:
		return scpp_hash_bytes(v->p, v->len, seed);
	case SCPP_VT_OID:
		return scpp_hash_mix64(scpp_oid_hash(v->oid) ^ seed);
	default:
		return scpp_hash_mix64(seed);
	}
}

size_t
scpp_value_encoded_size(const struct scpp_value *v)
{
	switch (v->type) {
	case SCPP_VT_BOOL:
		return 2;
	case SCPP_VT_I64:
		return 1 + scpp_varint_size(scpp_zigzag_encode(v->i));
	case SCPP_VT_U64:
		return 1 + scpp_varint_size(v->u);
	case SCPP_VT_F64:
		return 9;
	case SCPP_VT_STR:
	case SCPP_VT_BYTES:
		return 1 + scpp_varint_size(v->len) + v->len;
	case SCPP_VT_OID:
		return 17;
	default:
		return 1;
	}
}

/* Little-endian 64-bit load/store: one unaligned move on x86 and ARM (the
 * byte loop they replace cost ~100 instructions per OID decoded). */
static inline void
put_le64(uint8_t *p, uint64_t x)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	x = __builtin_bswap64(x);
#endif
	memcpy(p, &x, 8);
}

static inline uint64_t
get_le64(const uint8_t *p)
{
	uint64_t x;

	memcpy(&x, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	x = __builtin_bswap64(x);
#endif
	return x;
}

int
scpp_value_encode(uint8_t *buf, size_t size, const struct scpp_value *v)
{
	size_t need;
	unsigned int n;

	if (v->type >= SCPP_VT_COUNT)
		return -EINVAL;
	need = scpp_value_encoded_size(v);
	if (need > size)
		return -ENOSPC;
	buf[0] = v->type;
	switch (v->type) {
	case SCPP_VT_BOOL:
		buf[1] = v->b ? 1 : 0;
		break;
	case SCPP_VT_I64:
		scpp_varint_encode(buf + 1, scpp_zigzag_encode(v->i));
		break;
	case SCPP_VT_U64:
		scpp_varint_encode(buf + 1, v->u);
		break;
	case SCPP_VT_F64:
		put_le64(buf + 1, v->u);
		break;
	case SCPP_VT_STR:
	case SCPP_VT_BYTES:
		n = scpp_varint_encode(buf + 1, v->len);
		if (v->len != 0)
			memcpy(buf + 1 + n, v->p, v->len);
		break;
	case SCPP_VT_OID:
		put_le64(buf + 1, v->oid.hi);
		put_le64(buf + 9, v->oid.lo);
		break;
	default:
		break;
	}
	return (int)need;
}

int
scpp_varint_decode(const uint8_t *buf, size_t len, uint64_t *out)
{
	uint64_t x = 0;
	unsigned int i;

	for (i = 0; i < SCPP_VARINT_MAX; i++) {
		uint8_t b;

		if (i >= len)
			return -SCPP_E_TRUNCATED;
		b = buf[i];
		/* The tenth byte may only carry the 64th bit. */
		if (i == SCPP_VARINT_MAX - 1 && b > 1)
			return -SCPP_E_BAD_VARINT;
		x |= (uint64_t)(b & 0x7f) << (7 * i);
		if ((b & 0x80) == 0) {
			/* A zero final byte after the first is a redundant
			 * continuation: non-minimal, so not canonical. */
			if (b == 0 && i > 0)
				return -SCPP_E_BAD_VARINT;
			*out = x;
			return (int)i + 1;
		}
	}
	return -SCPP_E_BAD_VARINT;
}

int
scpp_value_decode(const uint8_t *buf, size_t len, struct scpp_value *v)
{
	uint64_t x;
	int n;

	if (len < 1)
		return -SCPP_E_TRUNCATED;
	*v = scpp_value_nil();
	v->type = buf[0];
	switch (buf[0]) {
	case SCPP_VT_NIL:
		return 1;
	case SCPP_VT_BOOL:
		if (len < 2)
			return -SCPP_E_TRUNCATED;
		if (buf[1] > 1)
			return -EINVAL;
		v->b = buf[1] == 1;
		return 2;
	case SCPP_VT_I64:
		n = scpp_varint_decode(buf + 1, len - 1, &x);
		if (n < 0)
			return n;
		v->i = scpp_zigzag_decode(x);
		return n + 1;
	case SCPP_VT_U64:
		n = scpp_varint_decode(buf + 1, len - 1, &v->u);
		return n < 0 ? n : n + 1;
	case SCPP_VT_F64:
		if (len < 9)
			return -SCPP_E_TRUNCATED;
		v->u = get_le64(buf + 1);
		return 9;
	case SCPP_VT_STR:
	case SCPP_VT_BYTES:
		n = scpp_varint_decode(buf + 1, len - 1, &x);
		if (n < 0)
			return n;
		if (x > SCPP_VALUE_LEN_MAX)
			return -SCPP_E_BAD_LENGTH;
		if (x > len - 1 - (size_t)n)
			return -SCPP_E_TRUNCATED;
		v->len = (uint32_t)x;
		v->p = buf + 1 + n;
		if (buf[0] == SCPP_VT_STR && !scpp_utf8_valid(v->p, v->len))
			return -SCPP_E_BAD_UTF8;
		/* Values are < 4 GiB but the return is int: callers never
		 * pass buffers that large (datagrams are < 64 KiB). */
		if ((size_t)n + 1 + x > INT32_MAX)
			return -SCPP_E_BAD_LENGTH;
		return (int)(1 + (size_t)n + x);
	case SCPP_VT_OID:
		if (len < 17)
			return -SCPP_E_TRUNCATED;
		v->oid.hi = get_le64(buf + 1);
		v->oid.lo = get_le64(buf + 9);
		return 17;
	default:
		return -SCPP_E_BAD_VALUE_TYPE;
	}
}
