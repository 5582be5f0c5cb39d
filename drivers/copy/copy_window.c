/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The window descriptor's wire form (docs/COPY.md §Window descriptor):
 * 128 bytes, little-endian, every field at a fixed offset, every unused
 * byte zero. Fixed size so that it can be an attribute value of an
 * RmaWindow entity, compared byte for byte, and checked without any
 * length arithmetic. The decoder takes bytes from peers: it checks every
 * field, including that padding is zero, so one window has exactly one
 * encoding.
 *
 *   0  4  magic "SCWD"
 *   4  1  version (1)
 *   5  1  engine (1 fabric, 2 verbs)
 *   6  1  access (bit 1 remote read, bit 2 remote write; at least one)
 *   7  1  addr_len (1..64)
 *   8  8  base
 *  16  8  len (>= 1; base + len does not wrap)
 *  24  8  key
 *  32  4  tag
 *  36  4  reserved (0)
 *  40 24  provider (printable ASCII, NUL-terminated, zero-padded)
 *  64 64  addr (addr_len bytes, zero-padded)
 */

#include <string.h>

#include "copy_priv.h"

#define OFF_MAGIC 0
#define OFF_VERSION 4
#define OFF_ENGINE 5
#define OFF_ACCESS 6
#define OFF_ADDR_LEN 7
#define OFF_BASE 8
#define OFF_LEN 16
#define OFF_KEY 24
#define OFF_TAG 32
#define OFF_RSV 36
#define OFF_PROVIDER 40
#define OFF_ADDR 64
#define WINDOW_VERSION 1

static const uint8_t magic[4] = {'S', 'C', 'W', 'D'};

_Static_assert(OFF_PROVIDER + SCPP_COPY_PROVIDER_MAX == OFF_ADDR, "window layout");
_Static_assert(OFF_ADDR + SCPP_COPY_ADDR_MAX == SCPP_COPY_WINDOW_LEN, "window layout");

static bool
access_ok(unsigned int a)
{
	const unsigned int remote = SCPP_COPY_ACCESS_REMOTE_READ | SCPP_COPY_ACCESS_REMOTE_WRITE;

	return a != 0 && (a & ~remote) == 0;
}

static bool
engine_ok(unsigned int e)
{
	return e == SCPP_COPY_WINDOW_FABRIC || e == SCPP_COPY_WINDOW_VERBS;
}

/* Provider names: 1..23 printable, non-space ASCII bytes, then NULs only. */
static bool
provider_ok(const uint8_t *p)
{
	unsigned int n = 0;

	while (n < SCPP_COPY_PROVIDER_MAX && p[n] != 0) {
		if (p[n] < 0x21 || p[n] > 0x7e)
			return false;
		n++;
	}
	if (n == 0 || n == SCPP_COPY_PROVIDER_MAX)
		return false;
	for (unsigned int i = n; i < SCPP_COPY_PROVIDER_MAX; i++)
		if (p[i] != 0)
			return false;
	return true;
}

static bool
fields_ok(unsigned int engine, unsigned int access, unsigned int addr_len, uint64_t base,
	  uint64_t len)
{
	return engine_ok(engine) && access_ok(access) && addr_len >= 1 &&
	       addr_len <= SCPP_COPY_ADDR_MAX && len >= 1 && base + len >= base;
}

int
scpp_copy_window_encode(const struct scpp_copy_window *w, uint8_t out[SCPP_COPY_WINDOW_LEN])
{
	uint8_t prov[SCPP_COPY_PROVIDER_MAX];

	if (w == NULL || out == NULL)
		return -EINVAL;
	if (!fields_ok(w->engine, w->access, w->addr_len, w->base, w->len))
		return -EINVAL;
	if (memchr(w->provider, '\0', sizeof(w->provider)) == NULL)
		return -EINVAL;
	memset(prov, 0, sizeof(prov));
	memcpy(prov, w->provider, strlen(w->provider));
	if (!provider_ok(prov))
		return -EINVAL;
	memset(out, 0, SCPP_COPY_WINDOW_LEN);
	memcpy(out + OFF_MAGIC, magic, sizeof(magic));
	out[OFF_VERSION] = WINDOW_VERSION;
	out[OFF_ENGINE] = w->engine;
	out[OFF_ACCESS] = w->access;
	out[OFF_ADDR_LEN] = w->addr_len;
	copy_put_le(out + OFF_BASE, w->base, 8);
	copy_put_le(out + OFF_LEN, w->len, 8);
	copy_put_le(out + OFF_KEY, w->key, 8);
	copy_put_le(out + OFF_TAG, w->tag, 4);
	memcpy(out + OFF_PROVIDER, prov, sizeof(prov));
	memcpy(out + OFF_ADDR, w->addr, w->addr_len);
	return 0;
}

int
scpp_copy_window_decode(const uint8_t *buf, size_t len, struct scpp_copy_window *w)
{
	unsigned int addr_len;

	if (buf == NULL || w == NULL)
		return -EINVAL;
	if (len != SCPP_COPY_WINDOW_LEN)
		return -EMSGSIZE;
	if (memcmp(buf + OFF_MAGIC, magic, sizeof(magic)) != 0 ||
	    buf[OFF_VERSION] != WINDOW_VERSION)
		return -EPROTO;
	addr_len = buf[OFF_ADDR_LEN];
	if (!fields_ok(buf[OFF_ENGINE], buf[OFF_ACCESS], addr_len, copy_get_le(buf + OFF_BASE, 8),
		       copy_get_le(buf + OFF_LEN, 8)))
		return -EPROTO;
	if (copy_get_le(buf + OFF_RSV, 4) != 0 || !provider_ok(buf + OFF_PROVIDER))
		return -EPROTO;
	for (unsigned int i = addr_len; i < SCPP_COPY_ADDR_MAX; i++)
		if (buf[OFF_ADDR + i] != 0)
			return -EPROTO;
	memset(w, 0, sizeof(*w));
	w->engine = buf[OFF_ENGINE];
	w->access = buf[OFF_ACCESS];
	w->addr_len = (uint8_t)addr_len;
	w->base = copy_get_le(buf + OFF_BASE, 8);
	w->len = copy_get_le(buf + OFF_LEN, 8);
	w->key = copy_get_le(buf + OFF_KEY, 8);
	w->tag = (uint32_t)copy_get_le(buf + OFF_TAG, 4);
	memcpy(w->provider, buf + OFF_PROVIDER, SCPP_COPY_PROVIDER_MAX);
	memcpy(w->addr, buf + OFF_ADDR, addr_len);
	return 0;
}
