/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * CONT extensions (docs/PROTOCOL.md §19.1) and the one this file owns,
 * type 2 COPY_SOURCE (docs/COPY.md "Remote and third-party copies"): the
 * source side of a remote copy tells the destination's owner where the
 * source bytes are — (window, offset, length) of a window it owns, for one
 * row of the part, with its pin token. The destination's owner accepts it
 * only from the window's owner (app/scppd), never from a client: blocks
 * cannot carry window offsets.
 *
 * Layout of the 48-byte body, little-endian:
 *   0  4  row: index of the row in the CONT's rows (< nrows, checked by
 *         scpp_wire_cont_copy_srcs(); strictly ascending across the
 *         message's COPY_SOURCE extensions)
 *   4  4  reserved, 0
 *   8 16  window: the RmaWindow entity's OID (hi, lo), not nil
 *  24  8  offset: first byte in the window
 *  32  8  length: bytes, 1..2^40, offset + length without wrapping
 *  40  8  pin: the source side's token for its pin, echoed back
 */
#include <errno.h>
#include <string.h>

#include "scpp_wire.h"
#include "wire_priv.h"

#define COPY_LEN_MAX (UINT64_C(1) << 40)

static int
copy_src_check(const struct scpp_wire_copy_src *s)
{
	if (scpp_oid_is_nil(s->window))
		return -SCPP_E_BAD_VALUE_TYPE;
	if (s->length == 0 || s->length > COPY_LEN_MAX || s->offset + s->length < s->offset)
		return -SCPP_E_BAD_LENGTH;
	return 0;
}

int
scpp_wire_copy_src_decode(const uint8_t *body, size_t len, struct scpp_wire_copy_src *s)
{
	if (len != SCPP_WIRE_COPY_SRC_LEN)
		return -SCPP_E_BAD_LENGTH;
	s->row = (uint32_t)get_le(body, 4);
	if (get_le(body + 4, 4) != 0)
		return -SCPP_E_BAD_FLAGS;
	s->window.hi = get_le(body + 8, 8);
	s->window.lo = get_le(body + 16, 8);
	s->offset = get_le(body + 24, 8);
	s->length = get_le(body + 32, 8);
	s->pin = get_le(body + 40, 8);
	return copy_src_check(s);
}

int
scpp_wire_copy_src_encode(uint8_t *buf, size_t size, const struct scpp_wire_copy_src *s)
{
	if (copy_src_check(s) != 0)
		return -EINVAL;
	if (size < 2 + SCPP_WIRE_COPY_SRC_LEN)
		return -ENOSPC;
	buf[0] = SCPP_WIRE_CONT_EXT_COPY_SRC;
	buf[1] = SCPP_WIRE_COPY_SRC_LEN;
	put_le(buf + 2, s->row, 4);
	put_le(buf + 6, 0, 4);
	put_le(buf + 10, s->window.hi, 8);
	put_le(buf + 18, s->window.lo, 8);
	put_le(buf + 26, s->offset, 8);
	put_le(buf + 34, s->length, 8);
	put_le(buf + 42, s->pin, 8);
	return 2 + SCPP_WIRE_COPY_SRC_LEN;
}

int
wire_cont_ext_check(const uint8_t *p, size_t n)
{
	struct scpp_wire_copy_src s;
	struct scpp_wire_memwin m;
	bool principal = false, any = false, anym = false;
	uint32_t last = 0, lastm = 0;
	size_t o = 0;
	int rc;

	while (o < n) {
		if (n - o < 2 || n - o - 2 < p[o + 1])
			return -SCPP_E_TRUNCATED;
		switch (p[o]) {
		case SCPP_WIRE_CONT_EXT_PRINCIPAL:
			if (principal)
				return -SCPP_E_BAD_KIND;
			principal = true;
			break;
		case SCPP_WIRE_CONT_EXT_COPY_SRC:
			rc = scpp_wire_copy_src_decode(p + o + 2, p[o + 1], &s);
			if (rc != 0)
				return rc;
			if (any && s.row <= last)
				return -EEXIST; /* rows strictly ascending */
			any = true;
			last = s.row;
			break;
		case SCPP_WIRE_CONT_EXT_MEMWIN:
			rc = scpp_wire_memwin_decode(p + o + 2, p[o + 1], &m);
			if (rc != 0)
				return rc;
			if (anym && m.row <= lastm)
				return -EEXIST; /* rows strictly ascending */
			anym = true;
			lastm = m.row;
			break;
		default:
			if (p[o] < SCPP_WIRE_FWD_EXT_OPTIONAL)
				return -SCPP_E_BAD_KIND;
		}
		o += 2u + p[o + 1];
	}
	return 0;
}

int
scpp_wire_cont_copy_srcs(const struct scpp_wire_cont *c, struct scpp_wire_copy_src *out,
			 unsigned int max)
{
	unsigned int k = 0;

	for (size_t o = 0; o + 2 <= c->ext_len && o + 2u + c->ext[o + 1] <= c->ext_len;
	     o += 2u + c->ext[o + 1]) {
		struct scpp_wire_copy_src s;
		int rc;

		if (c->ext[o] != SCPP_WIRE_CONT_EXT_COPY_SRC)
			continue;
		rc = scpp_wire_copy_src_decode(c->ext + o + 2, c->ext[o + 1], &s);
		if (rc != 0)
			return rc;
		if (s.row >= c->nrows)
			return -SCPP_E_BAD_VAR;
		if (k >= max)
			return -ENOSPC;
		out[k++] = s;
	}
	return (int)k;
}
