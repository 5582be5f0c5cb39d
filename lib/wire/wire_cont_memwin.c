/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * CONT extension type 3, MEMORY_WINDOW (docs/PROTOCOL.md §19.1, docs/COPY.md
 * "Memory windows on other nodes"): the node that owns a copy row's Extent
 * (it rewrote the VMA address, checked the Extent's range and the
 * session's rights on the map entry and the Extent) tells the node that
 * owns the memory window where that end of the copy is: (window, offset,
 * length) and which end it is. The receiver honours it only for a memory
 * window of its own shard, from the node that owns the address's entity,
 * after its own checks (app/scppd, lib/eval): blocks never carry window
 * offsets.
 *
 * Layout of the 32-byte body, little-endian (32 so that one fits behind a
 * principal and one COPY_SOURCE: 172 + 50 + 34 = 256):
 *   0  3  row: index of the row in the CONT's rows (u24; < nrows, checked
 *         by scpp_wire_cont_memwins(); strictly ascending across the
 *         message's MEMORY_WINDOW extensions)
 *   3  1  direction: 1 the window is the copy's destination, 2 its source
 *   4  4  length: bytes, 1..2^32-1 (the copy's length)
 *   8 16  window: the RmaWindow entity's OID (hi, lo), not nil
 *  24  8  offset: first byte in the window; offset + length does not wrap
 */
#include <errno.h>
#include <string.h>

#include "scpp_wire.h"
#include "wire_priv.h"

static int
memwin_check(const struct scpp_wire_memwin *m)
{
	if (m->dir != SCPP_WIRE_MEMWIN_INTO && m->dir != SCPP_WIRE_MEMWIN_OUT)
		return -SCPP_E_BAD_FLAGS;
	if (scpp_oid_is_nil(m->window))
		return -SCPP_E_BAD_VALUE_TYPE;
	if (m->length == 0 || m->offset + m->length < m->offset)
		return -SCPP_E_BAD_LENGTH;
	return 0;
}

int
scpp_wire_memwin_decode(const uint8_t *body, size_t len, struct scpp_wire_memwin *m)
{
	if (len != SCPP_WIRE_MEMWIN_LEN)
		return -SCPP_E_BAD_LENGTH;
	m->row = (uint32_t)get_le(body, 3);
	m->dir = body[3];
	m->length = (uint32_t)get_le(body + 4, 4);
	m->window.hi = get_le(body + 8, 8);
	m->window.lo = get_le(body + 16, 8);
	m->offset = get_le(body + 24, 8);
	return memwin_check(m);
}

int
scpp_wire_memwin_encode(uint8_t *buf, size_t size, const struct scpp_wire_memwin *m)
{
	if (memwin_check(m) != 0 || m->row >= SCPP_WIRE_CONT_ROWS_MAX)
		return -EINVAL;
	if (size < 2 + SCPP_WIRE_MEMWIN_LEN)
		return -ENOSPC;
	buf[0] = SCPP_WIRE_CONT_EXT_MEMWIN;
	buf[1] = SCPP_WIRE_MEMWIN_LEN;
	put_le(buf + 2, m->row, 3);
	buf[5] = m->dir;
	put_le(buf + 6, m->length, 4);
	put_le(buf + 10, m->window.hi, 8);
	put_le(buf + 18, m->window.lo, 8);
	put_le(buf + 26, m->offset, 8);
	return 2 + SCPP_WIRE_MEMWIN_LEN;
}

int
scpp_wire_cont_memwins(const struct scpp_wire_cont *c, struct scpp_wire_memwin *out,
		       unsigned int max)
{
	unsigned int k = 0;

	for (size_t o = 0; o + 2 <= c->ext_len && o + 2u + c->ext[o + 1] <= c->ext_len;
	     o += 2u + c->ext[o + 1]) {
		struct scpp_wire_memwin m;
		int rc;

		if (c->ext[o] != SCPP_WIRE_CONT_EXT_MEMWIN)
			continue;
		rc = scpp_wire_memwin_decode(c->ext + o + 2, c->ext[o + 1], &m);
		if (rc != 0)
			return rc;
		if (m.row >= c->nrows)
			return -SCPP_E_BAD_VAR;
		if (k >= max)
			return -ENOSPC;
		out[k++] = m;
	}
	return (int)k;
}
