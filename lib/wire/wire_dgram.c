/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Datagrams: the 32-byte header (with its optional cookie trailer) and the
 * two fixed-layout payloads of the delivery layer, FETCH and NOTICE.
 *
 * As for blocks, the encoder and the decoder share one set of checks
 * (hdr_check, fetch_check, notice_check), so that everything the encoder
 * writes decodes and every accepted datagram re-encodes to the same bytes
 * (the fuzz target checks both directions). Every field has one encoding:
 * reserved bits and bytes are zero, lengths match exactly.
 */
#include <errno.h>
#include <string.h>

#include "scpp_wire.h"
#include "wire_priv.h"

/* ---- header ---- */

/* Kinds one node sends another (docs/PROTOCOL.md §18, §19). */
static inline bool
peer_kind(uint8_t kind)
{
	return kind >= SCPP_WIRE_FORWARD && kind <= SCPP_WIRE_CONT_REPLY;
}

/* Kinds sent to a node: fragmented (BLOCK, and the node-to-node FORWARD,
 * CONT, CONT_REPLY) or one datagram (FETCH). */
static inline bool
client_kind(uint8_t kind)
{
	return kind == SCPP_WIRE_BLOCK || kind == SCPP_WIRE_FETCH || peer_kind(kind);
}

/* Kinds 8..15 belong to the session layer (docs/SECURITY.md §5.2): one
 * datagram or the fragments of one message, numbered like a BLOCK's. */
static inline bool
auth_kind(uint8_t kind)
{
	return kind >= SCPP_WIRE_AUTH_KIND_FIRST && kind <= SCPP_WIRE_AUTH_KIND_LAST;
}

/*
 * The checks shared by the decoder and the encoder, on the fields alone.
 * Order matters for which code a multiply-broken header gets; it follows the
 * header's byte order, with LAST checked after the fragment numbers it
 * depends on.
 */
static int
hdr_check(const struct scpp_wire_hdr *h)
{
	if ((h->kind < SCPP_WIRE_BLOCK || h->kind > SCPP_WIRE_CONT_REPLY) && !auth_kind(h->kind))
		return -SCPP_E_BAD_KIND;
	if ((h->flags & ~(SCPP_WIRE_F_LAST | SCPP_WIRE_F_COOKIE | SCPP_WIRE_F_SESSION)) != 0 ||
	    h->tag_len > SCPP_WIRE_TAG_MAX)
		return -SCPP_E_BAD_FLAGS;
	/* A session datagram carries exactly the 24-byte session tag. */
	if ((h->flags & SCPP_WIRE_F_SESSION) && h->tag_len != SCPP_WIRE_SESSION_TAG_LEN)
		return -SCPP_E_BAD_FLAGS;
	if (client_kind(h->kind) || auth_kind(h->kind)) {
		/* A FORWARD carries its client's cookie inside (scpp_wire_fwd):
		 * the forwarding node proves nothing of its own; no node-to-node
		 * message is a session datagram (a session is between a client
		 * and a node). */
		if (peer_kind(h->kind) &&
		    (h->flags & (SCPP_WIRE_F_COOKIE | SCPP_WIRE_F_SESSION)))
			return -SCPP_E_BAD_FLAGS;
		if (h->kind == SCPP_WIRE_FETCH ? h->frag_count != 1 :
		    (h->frag_count == 0 || h->frag_count > SCPP_WIRE_FRAGS_MAX))
			return -SCPP_E_BAD_FRAGMENT;
		if (h->frag_index >= h->frag_count)
			return -SCPP_E_BAD_FRAGMENT;
		if (((h->flags & SCPP_WIRE_F_LAST) != 0) !=
		    (h->frag_index == h->frag_count - 1))
			return -SCPP_E_BAD_FLAGS;
	} else {
		/* Node kinds carry no cookie: cookies prove a client's address. */
		if (h->flags & SCPP_WIRE_F_COOKIE)
			return -SCPP_E_BAD_FLAGS;
		if (h->frag_count != 0 || (h->kind == SCPP_WIRE_NOTICE && h->frag_index != 0))
			return -SCPP_E_BAD_FRAGMENT;
		if (h->kind == SCPP_WIRE_NOTICE && !(h->flags & SCPP_WIRE_F_LAST))
			return -SCPP_E_BAD_FLAGS;
	}
	if (scpp_wire_dgram_len(h) > SCPP_WIRE_DGRAM_MAX)
		return -SCPP_E_BAD_LENGTH;
	return 0;
}

int
scpp_wire_hdr_decode(const uint8_t *d, size_t len, struct scpp_wire_hdr *h)
{
	size_t total;
	int rc;

	if (SCPP_LIKELY(scpp_wire_hdr_fast(d, len, h)))
		return 0;
	if (SCPP_UNLIKELY(len < SCPP_WIRE_HDR_LEN))
		return -SCPP_E_TRUNCATED;
	if (SCPP_UNLIKELY(d[0] != SCPP_WIRE_MAGIC0 || d[1] != SCPP_WIRE_MAGIC1))
		return -SCPP_E_BAD_MAGIC;
	if (SCPP_UNLIKELY(d[2] != SCPP_WIRE_VERSION))
		return -SCPP_E_BAD_VERSION;
	h->kind = d[3];
	h->flags = d[4];
	h->tag_len = d[5];
	h->payload_len = (uint16_t)get_le(d + 6, 2);
	h->client_id = get_le(d + 8, 8);
	h->block_id = get_le(d + 16, 8);
	h->frag_index = (uint32_t)get_le(d + 24, 4);
	h->frag_count = (uint32_t)get_le(d + 28, 4);
	rc = hdr_check(h);
	if (SCPP_UNLIKELY(rc < 0))
		return rc;
	total = scpp_wire_dgram_len(h);
	if (SCPP_UNLIKELY(len < total))
		return -SCPP_E_TRUNCATED;
	if (SCPP_UNLIKELY(len > total))
		return -SCPP_E_BAD_LENGTH;
	h->payload = d + SCPP_WIRE_HDR_LEN;
	h->cookie = (h->flags & SCPP_WIRE_F_COOKIE) ? h->payload + h->payload_len : NULL;
	h->tag = d + total - h->tag_len;
	return 0;
}

/* Copy @p n bytes of trailer from @p src to @p dst, or zeros if NULL. */
static inline void
trailer_put(uint8_t *dst, const uint8_t *src, size_t n)
{
	if (src == NULL)
		memset(dst, 0, n);
	else if (src != dst)
		memmove(dst, src, n);
}

/*
 * The header of nearly every datagram a node sends, a REPLY without a tag
 * (flags LAST or none, frag_count 0), as three 8-byte stores and a 4-byte
 * one; false for any other header (the general encoder's checks decide).
 * For these fields hdr_check() has only the length left to refuse.
 */
static inline bool
reply_hdr_fast(uint8_t *buf, size_t size, const struct scpp_wire_hdr *h, int *out)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	size_t total = SCPP_WIRE_HDR_LEN + (size_t)h->payload_len;
	uint64_t w0;
	uint32_t idx = h->frag_index, zero = 0;

	if (SCPP_UNLIKELY(!scpp_wire_fast) || h->kind != SCPP_WIRE_REPLY ||
	    (h->flags & ~SCPP_WIRE_F_LAST) != 0 || h->tag_len != 0 || h->frag_count != 0 ||
	    total > SCPP_WIRE_DGRAM_MAX || (h->payload_len != 0 && h->payload == NULL))
		return false;
	if (total > size) {
		*out = -ENOSPC;
		return true;
	}
	if (h->payload_len != 0 && h->payload != buf + SCPP_WIRE_HDR_LEN)
		memmove(buf + SCPP_WIRE_HDR_LEN, h->payload, h->payload_len);
	w0 = SCPP_WIRE_MAGIC0 | SCPP_WIRE_MAGIC1 << 8 | SCPP_WIRE_VERSION << 16 |
	     SCPP_WIRE_REPLY << 24 | (uint64_t)h->flags << 32 | (uint64_t)h->payload_len << 48;
	memcpy(buf, &w0, 8);
	memcpy(buf + 8, &h->client_id, 8);
	memcpy(buf + 16, &h->block_id, 8);
	memcpy(buf + 24, &idx, 4);
	memcpy(buf + 28, &zero, 4);
	*out = (int)total;
	return true;
#else
	(void)buf;
	(void)size;
	(void)h;
	(void)out;
	return false;
#endif
}

int
scpp_wire_dgram_encode(uint8_t *buf, size_t size, const struct scpp_wire_hdr *h)
{
	size_t total, ck = (h->flags & SCPP_WIRE_F_COOKIE) ? SCPP_WIRE_COOKIE_LEN : 0;
	uint8_t *t;
	int n;

	if (SCPP_LIKELY(reply_hdr_fast(buf, size, h, &n)))
		return n;
	if (hdr_check(h) < 0 || (h->payload_len != 0 && h->payload == NULL))
		return -EINVAL;
	total = scpp_wire_dgram_len(h);
	if (total > size)
		return -ENOSPC;
	/* Back to front: the payload is moved before the header is written
	 * (callers often encode a block in place at buf + 32), and the
	 * trailers go after it. memmove covers any other overlap. */
	if (h->payload_len != 0 && h->payload != buf + SCPP_WIRE_HDR_LEN)
		memmove(buf + SCPP_WIRE_HDR_LEN, h->payload, h->payload_len);
	t = buf + SCPP_WIRE_HDR_LEN + h->payload_len;
	if (ck != 0)
		trailer_put(t, h->cookie, ck);
	if (h->tag_len != 0)
		trailer_put(t + ck, h->tag, h->tag_len);
	buf[0] = SCPP_WIRE_MAGIC0;
	buf[1] = SCPP_WIRE_MAGIC1;
	buf[2] = SCPP_WIRE_VERSION;
	buf[3] = h->kind;
	buf[4] = h->flags;
	buf[5] = h->tag_len;
	put_le(buf + 6, h->payload_len, 2);
	put_le(buf + 8, h->client_id, 8);
	put_le(buf + 16, h->block_id, 8);
	put_le(buf + 24, h->frag_index, 4);
	put_le(buf + 28, h->frag_count, 4);
	return (int)total;
}

/* ---- FETCH ---- */

/* Range rules, shared by both directions. */
static int
fetch_ranges_check(const struct scpp_wire_range *r, unsigned int n)
{
	uint64_t next = 0; /* lowest sequence number the next range may start at */

	if (n == 0)
		return -SCPP_E_BAD_FRAGMENT;
	for (unsigned int i = 0; i < n; i++) {
		if (r[i].count == 0 || r[i].first < next ||
		    (uint64_t)r[i].first + r[i].count > (UINT64_C(1) << 32))
			return -SCPP_E_BAD_FRAGMENT;
		next = (uint64_t)r[i].first + r[i].count;
	}
	return 0;
}

int
scpp_wire_fetch_decode(const uint8_t *p, size_t len, struct scpp_wire_fetch *f)
{
	unsigned int n;

	if (len < SCPP_WIRE_FETCH_LEN(0))
		return -SCPP_E_TRUNCATED;
	f->owner.hi = get_le(p, 8);
	f->owner.lo = get_le(p + 8, 8);
	n = p[16];
	if (n > SCPP_WIRE_FETCH_RANGES_MAX)
		return -SCPP_E_TOO_MANY;
	if (len < SCPP_WIRE_FETCH_LEN(n))
		return -SCPP_E_TRUNCATED;
	if (len > SCPP_WIRE_FETCH_LEN(n))
		return -SCPP_E_TRAILING;
	f->nranges = (uint8_t)n;
	for (unsigned int i = 0; i < n; i++) {
		f->range[i].first = (uint32_t)get_le(p + 17 + 8 * i, 4);
		f->range[i].count = (uint32_t)get_le(p + 21 + 8 * i, 4);
	}
	return fetch_ranges_check(f->range, n);
}

int
scpp_wire_fetch_encode(uint8_t *buf, size_t size, const struct scpp_wire_fetch *f)
{
	if (f->nranges > SCPP_WIRE_FETCH_RANGES_MAX || fetch_ranges_check(f->range, f->nranges) < 0)
		return -EINVAL;
	if (size < SCPP_WIRE_FETCH_LEN(f->nranges))
		return -ENOSPC;
	put_le(buf, f->owner.hi, 8);
	put_le(buf + 8, f->owner.lo, 8);
	buf[16] = f->nranges;
	for (unsigned int i = 0; i < f->nranges; i++) {
		put_le(buf + 17 + 8 * i, f->range[i].first, 4);
		put_le(buf + 21 + 8 * i, f->range[i].count, 4);
	}
	return (int)SCPP_WIRE_FETCH_LEN(f->nranges);
}

/* ---- NOTICE ---- */

/* Fields a code does not use must be zero (one encoding per notice). */
static int
notice_check(const struct scpp_wire_notice *n)
{
	if (n->code == 0 || n->code >= SCPP_NOTICE_COUNT)
		return -SCPP_E_BAD_KIND;
	if ((n->code != SCPP_NOTICE_BUSY && n->retry_ms != 0) ||
	    (n->code != SCPP_NOTICE_COOKIE && (n->reply_bytes | n->reply_dgrams) != 0))
		return -SCPP_E_BAD_FLAGS;
	return 0;
}

static inline size_t
notice_len(uint8_t code)
{
	return code == SCPP_NOTICE_COOKIE ? SCPP_WIRE_NOTICE_COOKIE_LEN : SCPP_WIRE_NOTICE_LEN;
}

int
scpp_wire_notice_decode(const uint8_t *p, size_t len, struct scpp_wire_notice *n)
{
	size_t want;

	if (len < SCPP_WIRE_NOTICE_LEN)
		return -SCPP_E_TRUNCATED;
	memset(n, 0, sizeof(*n));
	n->code = p[0];
	if (n->code == 0 || n->code >= SCPP_NOTICE_COUNT)
		return -SCPP_E_BAD_KIND;
	want = notice_len(n->code);
	if (len < want)
		return -SCPP_E_TRUNCATED;
	if (len > want)
		return -SCPP_E_TRAILING;
	if (p[1] != 0)
		return -SCPP_E_BAD_FLAGS;
	n->retry_ms = (uint16_t)get_le(p + 2, 2);
	n->reply_bytes = (uint32_t)get_le(p + 4, 4);
	n->reply_dgrams = (uint32_t)get_le(p + 8, 4);
	if (n->code == SCPP_NOTICE_COOKIE)
		memcpy(n->cookie, p + 12, SCPP_WIRE_COOKIE_LEN);
	return notice_check(n);
}

int
scpp_wire_notice_encode(uint8_t *buf, size_t size, const struct scpp_wire_notice *n)
{
	size_t want;

	if (notice_check(n) < 0)
		return -EINVAL;
	want = notice_len(n->code);
	if (size < want)
		return -ENOSPC;
	buf[0] = n->code;
	buf[1] = 0;
	put_le(buf + 2, n->retry_ms, 2);
	put_le(buf + 4, n->reply_bytes, 4);
	put_le(buf + 8, n->reply_dgrams, 4);
	if (n->code == SCPP_NOTICE_COOKIE)
		memcpy(buf + 12, n->cookie, SCPP_WIRE_COOKIE_LEN);
	return (int)want;
}
