/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * FORWARD messages: the header a node puts in front of a client's request
 * when it passes the request to the node that owns it (docs/PROTOCOL.md
 * §18). One set of checks for both directions, as for the other payloads:
 * everything the encoder writes decodes, and every accepted header
 * re-encodes to the same bytes.
 */
#include <errno.h>
#include <string.h>

#include "scpp_wire.h"
#include "wire_priv.h"

static bool
all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

/* Extensions: a sequence of (type, len, bytes) filling ext_len exactly;
 * the same rules for FORWARD and CONT (docs/PROTOCOL.md §18.1). */
int
wire_ext_check(const uint8_t *p, size_t n)
{
	bool principal = false;
	size_t o = 0;

	while (o < n) {
		if (n - o < 2 || n - o - 2 < p[o + 1])
			return -SCPP_E_TRUNCATED;
		/* Types 1..127 must be understood: type 1 (the principal, at
		 * most once, checked by the owner's session layer) is the only
		 * one; 0 is no type. */
		if (p[o] == SCPP_WIRE_FWD_EXT_PRINCIPAL && !principal)
			principal = true;
		else if (p[o] < SCPP_WIRE_FWD_EXT_OPTIONAL)
			return -SCPP_E_BAD_KIND;
		o += 2u + p[o + 1];
	}
	return 0;
}

static int
fwd_check(const struct scpp_wire_fwd *f)
{
	if (f->inner_kind != SCPP_WIRE_BLOCK && f->inner_kind != SCPP_WIRE_FETCH)
		return -SCPP_E_BAD_KIND;
	if (f->hops == 0 || (f->flags & ~SCPP_WIRE_FWD_F_COOKIE) != 0 || f->origin == 0)
		return -SCPP_E_BAD_FLAGS;
	if (!(f->flags & SCPP_WIRE_FWD_F_COOKIE) && !all_zero(f->cookie, SCPP_WIRE_COOKIE_LEN))
		return -SCPP_E_BAD_FLAGS;
	if (f->hops > SCPP_WIRE_FWD_HOPS_MAX || f->ext_len > SCPP_WIRE_FWD_EXT_MAX)
		return -SCPP_E_TOO_MANY;
	return 0;
}

int
scpp_wire_fwd_decode(const uint8_t *p, size_t len, struct scpp_wire_fwd *f)
{
	int rc;

	if (SCPP_UNLIKELY(len < SCPP_WIRE_FWD_HDR_LEN))
		return -SCPP_E_TRUNCATED;
	if (SCPP_UNLIKELY(p[0] != 1))
		return -SCPP_E_BAD_VERSION;
	f->inner_kind = p[1];
	f->hops = p[2];
	f->flags = p[3];
	f->origin = (uint32_t)get_le(p + 4, 4);
	memcpy(&f->client_ip, p + 8, 4);
	f->client_port = (uint16_t)get_le(p + 12, 2);
	memcpy(f->client_mac, p + 14, 6);
	f->req_bytes = (uint32_t)get_le(p + 20, 4);
	f->ext_len = (uint16_t)get_le(p + 24, 2);
	memcpy(f->cookie, p + 28, SCPP_WIRE_COOKIE_LEN);
	rc = fwd_check(f);
	if (rc == 0 && (p[26] | p[27]) != 0)
		rc = -SCPP_E_BAD_FLAGS;
	if (SCPP_UNLIKELY(rc != 0))
		return rc;
	if (SCPP_UNLIKELY(len - SCPP_WIRE_FWD_HDR_LEN < f->ext_len))
		return -SCPP_E_TRUNCATED;
	f->ext = p + SCPP_WIRE_FWD_HDR_LEN;
	rc = wire_ext_check(f->ext, f->ext_len);
	if (SCPP_UNLIKELY(rc != 0))
		return rc;
	f->msg = f->ext + f->ext_len;
	f->msg_len = (uint32_t)(len - SCPP_WIRE_FWD_HDR_LEN - f->ext_len);
	return 0;
}

const uint8_t *
scpp_wire_fwd_ext_find(const uint8_t *ext, size_t ext_len, uint8_t type, uint8_t *len)
{
	for (size_t o = 0; o + 2 <= ext_len && o + 2u + ext[o + 1] <= ext_len; o += 2u + ext[o + 1]) {
		if (ext[o] == type) {
			*len = ext[o + 1];
			return ext + o + 2;
		}
	}
	return NULL;
}

int
scpp_wire_fwd_encode(uint8_t *buf, size_t size, const struct scpp_wire_fwd *f)
{
	size_t total = SCPP_WIRE_FWD_HDR_LEN + (size_t)f->ext_len;

	if (fwd_check(f) != 0 || (f->ext_len != 0 && f->ext == NULL) ||
	    (f->ext_len != 0 && wire_ext_check(f->ext, f->ext_len) != 0))
		return -EINVAL;
	if (size < total)
		return -ENOSPC;
	if (f->ext_len != 0)
		memmove(buf + SCPP_WIRE_FWD_HDR_LEN, f->ext, f->ext_len);
	buf[0] = 1;
	buf[1] = f->inner_kind;
	buf[2] = f->hops;
	buf[3] = f->flags;
	put_le(buf + 4, f->origin, 4);
	memcpy(buf + 8, &f->client_ip, 4);
	put_le(buf + 12, f->client_port, 2);
	memcpy(buf + 14, f->client_mac, 6);
	put_le(buf + 20, f->req_bytes, 4);
	put_le(buf + 24, f->ext_len, 2);
	buf[26] = 0;
	buf[27] = 0;
	memcpy(buf + 28, f->cookie, SCPP_WIRE_COOKIE_LEN);
	return (int)total;
}
