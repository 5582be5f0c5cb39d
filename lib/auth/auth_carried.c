/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The carried identity record "SF" (docs/SECURITY.md §9.2): what a
 * forwarder puts in front of a block or continuation it relays, and what
 * the owner accepts from it. The owner never uses the forwarder's rights:
 * it verifies the original principal's chains against its own trust and
 * clock, and every restriction the forwarder added must also allow a
 * command (scpp_auth_check_carried()).
 *
 * Like the other codecs here, the decoder checks fields in encoding order,
 * reports the first malformation with its byte offset, and a decoded record
 * re-encodes to the same bytes.
 */
#include <errno.h>
#include <string.h>

#include "auth_priv.h"

#define AUTH_MAGIC_CARRIED1 0x46 /* 'F' */
#define CF_KNOWN (SCPP_AUTH_CF_CHAINS | SCPP_AUTH_CF_RESTRICTED)

/* Bytes of one restriction: scope 16 + len 1 + ops 2 + nattrs 1 + names. */
static size_t
restriction_size(const struct scpp_auth_restriction *x)
{
	size_t n = 20;

	for (unsigned int i = 0; i < x->nattrs; i++)
		n += 1 + x->attr[i].len;
	return n;
}

/* A restriction is checked as a grant would be (scope, ops, names). */
static int
restriction_check(const struct scpp_auth_restriction *x)
{
	struct scpp_auth_grant g;

	memset(&g, 0, sizeof(g));
	g.scope = x->scope;
	g.ops = x->ops;
	g.nattrs = x->nattrs;
	memcpy(g.attr, x->attr, sizeof(g.attr));
	return scpp_auth_grant_check(&g);
}

size_t
scpp_auth_carried_size(const struct scpp_auth_carried *c)
{
	size_t n = SCPP_AUTH_CARRIED_FIXED;

	if (c->flags & SCPP_AUTH_CF_RESTRICTED) {
		n += 1;
		for (unsigned int i = 0; i < c->nrestrict; i++)
			n += restriction_size(&c->restrict_[i]);
	}
	if (c->flags & SCPP_AUTH_CF_CHAINS)
		n += 2 + c->chains_len;
	return n;
}

int
scpp_auth_carried_encode(const struct scpp_auth_carried *c, uint8_t *buf, size_t size)
{
	size_t n = scpp_auth_carried_size(c), off;

	if ((c->flags & ~CF_KNOWN) != 0 || c->hops == UINT8_MAX)
		return -EINVAL;
	if ((c->flags & SCPP_AUTH_CF_RESTRICTED) &&
	    (c->nrestrict == 0 || c->nrestrict > SCPP_AUTH_RESTRICT_MAX))
		return -EINVAL;
	if ((c->flags & SCPP_AUTH_CF_CHAINS) &&
	    (c->nchains == 0 || c->nchains > SCPP_AUTH_CHAINS_MAX || c->chains == NULL))
		return -EINVAL;
	for (unsigned int i = 0; (c->flags & SCPP_AUTH_CF_RESTRICTED) && i < c->nrestrict; i++) {
		int rc = restriction_check(&c->restrict_[i]);

		if (rc != 0)
			return rc;
	}
	if (n > size)
		return -ENOSPC;
	buf[0] = AUTH_MAGIC_GRANT0;
	buf[1] = AUTH_MAGIC_CARRIED1;
	buf[2] = AUTH_FORMAT_VERSION;
	buf[3] = c->flags;
	memcpy(buf + 4, c->principal, SCPP_AUTH_KEY_LEN);
	memcpy(buf + 36, c->digest, SCPP_AUTH_ID_LEN);
	auth_put32(buf + 68, c->origin_node);
	auth_put16(buf + 72, c->origin_lane);
	buf[74] = c->hops;
	buf[75] = 0;
	auth_put64(buf + 76, c->origin_session);
	auth_put64(buf + 84, c->origin_block);
	auth_put64(buf + 92, c->not_after_ns);
	off = SCPP_AUTH_CARRIED_FIXED;
	if (c->flags & SCPP_AUTH_CF_RESTRICTED) {
		buf[off++] = c->nrestrict;
		for (unsigned int i = 0; i < c->nrestrict; i++) {
			const struct scpp_auth_restriction *x = &c->restrict_[i];

			auth_put64(buf + off, x->scope.oid.hi);
			auth_put64(buf + off + 8, x->scope.oid.lo);
			buf[off + 16] = x->scope.len;
			auth_put16(buf + off + 17, x->ops);
			buf[off + 19] = x->nattrs;
			off += 20;
			for (unsigned int k = 0; k < x->nattrs; k++) {
				buf[off++] = x->attr[k].len;
				memcpy(buf + off, x->attr[k].p, x->attr[k].len);
				off += x->attr[k].len;
			}
		}
	}
	if (c->flags & SCPP_AUTH_CF_CHAINS) {
		buf[off++] = c->nchains;
		buf[off++] = 0;
		memcpy(buf + off, c->chains, c->chains_len);
		off += c->chains_len;
	}
	return (int)off;
}

/* The names of a restriction: as in a grant (length 1..64, UTF-8, strictly
 * increasing); errors at the name's length byte. */
static int
names_decode(const uint8_t *p, size_t len, size_t *off, struct scpp_auth_restriction *x,
	     uint32_t *err_off)
{
	for (unsigned int k = 0; k < x->nattrs; k++) {
		size_t at = *off;
		uint8_t n;

		if (at >= len) {
			*err_off = (uint32_t)at;
			return -SCPP_E_TRUNCATED;
		}
		n = p[at];
		if (n == 0 || n > SCPP_AUTH_ATTR_NAME_MAX) {
			*err_off = (uint32_t)at;
			return -SCPP_AUTH_E_BAD_ATTR;
		}
		if (at + 1 + n > len) {
			*err_off = (uint32_t)at;
			return -SCPP_E_TRUNCATED;
		}
		x->attr[k].p = (const char *)p + at + 1;
		x->attr[k].len = n;
		*off = at + 1 + n;
	}
	return 0;
}

int
scpp_auth_carried_decode(const uint8_t *p, size_t len, struct scpp_auth_carried *c,
			 size_t *used, uint32_t *err_off)
{
	uint32_t eo = 0;
	size_t off;
	int rc;

	if (err_off == NULL)
		err_off = &eo;
	memset(c, 0, sizeof(*c));
	if (len < 4) {
		*err_off = len < 2 ? 0 : len < 3 ? 2 : 3;
		return -SCPP_E_TRUNCATED;
	}
	if (p[0] != AUTH_MAGIC_GRANT0 || p[1] != AUTH_MAGIC_CARRIED1) {
		*err_off = 0;
		return -SCPP_E_BAD_MAGIC;
	}
	if (p[2] != AUTH_FORMAT_VERSION) {
		*err_off = 2;
		return -SCPP_E_BAD_VERSION;
	}
	if ((p[3] & ~CF_KNOWN) != 0) {
		*err_off = 3;
		return -SCPP_E_BAD_FLAGS;
	}
	if (len < SCPP_AUTH_CARRIED_FIXED) {
		*err_off = (uint32_t)(len < 36 ? 4 : len < 68 ? 36 : len < 72 ? 68 : len < 74 ? 72 :
				      len < 75 ? 74 : len < 76 ? 75 : len < 84 ? 76 : len < 92 ? 84 : 92);
		return -SCPP_E_TRUNCATED;
	}
	c->flags = p[3];
	memcpy(c->principal, p + 4, SCPP_AUTH_KEY_LEN);
	memcpy(c->digest, p + 36, SCPP_AUTH_ID_LEN);
	c->origin_node = auth_get32(p + 68);
	c->origin_lane = auth_get16(p + 72);
	c->hops = p[74];
	if (p[75] != 0) {
		*err_off = 75;
		return -SCPP_AUTH_E_BAD_RESERVED;
	}
	c->origin_session = auth_get64(p + 76);
	c->origin_block = auth_get64(p + 84);
	c->not_after_ns = auth_get64(p + 92);
	off = SCPP_AUTH_CARRIED_FIXED;
	if (c->flags & SCPP_AUTH_CF_RESTRICTED) {
		if (off >= len) {
			*err_off = (uint32_t)off;
			return -SCPP_E_TRUNCATED;
		}
		c->nrestrict = p[off];
		if (c->nrestrict == 0 || c->nrestrict > SCPP_AUTH_RESTRICT_MAX) {
			*err_off = (uint32_t)off;
			return c->nrestrict == 0 ? -EINVAL : -SCPP_E_TOO_MANY;
		}
		off++;
		for (unsigned int i = 0; i < c->nrestrict; i++) {
			struct scpp_auth_restriction *x = &c->restrict_[i];
			size_t at = off;

			if (off + 20 > len) {
				*err_off = (uint32_t)off;
				return -SCPP_E_TRUNCATED;
			}
			x->scope.oid.hi = auth_get64(p + off);
			x->scope.oid.lo = auth_get64(p + off + 8);
			x->scope.len = p[off + 16];
			x->ops = auth_get16(p + off + 17);
			x->nattrs = p[off + 19];
			if (x->nattrs > SCPP_AUTH_ATTRS_MAX) {
				*err_off = (uint32_t)(off + 19);
				return -SCPP_E_TOO_MANY;
			}
			off += 20;
			rc = names_decode(p, len, &off, x, err_off);
			if (rc != 0)
				return rc;
			rc = restriction_check(x);
			if (rc != 0) {
				/* Scope errors at the OID or the length, the rest at
				 * the restriction's start. */
				*err_off = (uint32_t)(rc == -SCPP_AUTH_E_BAD_PREFIX ? at + 16
						      : rc == -SCPP_AUTH_E_BAD_OPS ? at + 17 : at);
				return rc;
			}
		}
	}
	if (c->flags & SCPP_AUTH_CF_CHAINS) {
		size_t start;

		if (off + 2 > len) {
			*err_off = (uint32_t)off;
			return -SCPP_E_TRUNCATED;
		}
		c->nchains = p[off];
		if (c->nchains == 0 || c->nchains > SCPP_AUTH_CHAINS_MAX) {
			*err_off = (uint32_t)off;
			return c->nchains == 0 ? -EINVAL : -SCPP_E_TOO_MANY;
		}
		if (p[off + 1] != 0) {
			*err_off = (uint32_t)(off + 1);
			return -SCPP_AUTH_E_BAD_RESERVED;
		}
		off += 2;
		start = off;
		for (unsigned int i = 0; i < c->nchains; i++) {
			struct scpp_auth_chain ch;
			size_t u = 0;
			uint32_t ce = 0;

			rc = scpp_auth_chain_decode(p + off, len - off, &ch, &u, &ce);
			if (rc != 0) {
				*err_off = (uint32_t)(off + ce);
				return rc;
			}
			off += u;
		}
		c->chains = p + start;
		c->chains_len = off - start;
	}
	if (used != NULL) {
		*used = off;
	} else if (off != len) {
		*err_off = (uint32_t)off;
		return -SCPP_E_TRAILING;
	}
	return 0;
}

void
scpp_auth_carried_digest(uint8_t nchains, const uint8_t *chains, size_t len,
			 uint8_t out[SCPP_AUTH_ID_LEN])
{
	const uint8_t section[2] = {nchains, 0};
	crypto_generichash_state st;

	/* What a FINISH carries from byte 100 on: nchains, reserved, chains. */
	crypto_generichash_init(&st, NULL, 0, SCPP_AUTH_ID_LEN);
	crypto_generichash_update(&st, section, sizeof(section));
	crypto_generichash_update(&st, chains, len);
	crypto_generichash_final(&st, out, SCPP_AUTH_ID_LEN);
}

/* Compile the restrictions as unsigned one-link chains (the compiler reads
 * only the leaf's scope, operations and names). */
static struct scpp_auth_authority *
restrictions_compile(const struct scpp_auth_carried *c, const struct scpp_auth_compile_config *cc)
{
	static __thread struct scpp_auth_chain ch[SCPP_AUTH_RESTRICT_MAX];

	for (unsigned int i = 0; i < c->nrestrict; i++) {
		struct scpp_auth_grant *g = &ch[i].link[0];

		memset(&ch[i], 0, sizeof(ch[i]));
		ch[i].n = 1;
		g->scope = c->restrict_[i].scope;
		g->ops = c->restrict_[i].ops;
		g->nattrs = c->restrict_[i].nattrs;
		g->expires_ns = UINT64_MAX;
		memcpy(g->attr, c->restrict_[i].attr, sizeof(g->attr));
		memcpy(g->subject, c->principal, SCPP_AUTH_KEY_LEN);
	}
	return scpp_auth_authority_compile(ch, c->nrestrict, c->principal, cc);
}

int
scpp_auth_carried_accept(const struct scpp_auth_carried *c, const struct scpp_auth_owner *o,
			 const uint8_t peer[SCPP_AUTH_KEY_LEN], uint64_t now_ns,
			 struct scpp_auth_carried_authority *out, struct scpp_auth_fault *f)
{
	static __thread struct scpp_auth_chain ch[SCPP_AUTH_CHAINS_MAX];
	uint8_t digest[SCPP_AUTH_ID_LEN];
	bool is_peer = false;
	size_t off = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (f != NULL)
		scpp_auth_fault_clear(f);
	for (unsigned int i = 0; i < o->npeers; i++)
		is_peer |= sodium_memcmp(o->peers[i], peer, SCPP_AUTH_KEY_LEN) == 0;
	if (!is_peer)
		return -EACCES;
	if (c->hops > o->max_hops)
		return -SCPP_E_TOO_MANY;
	if (now_ns >= c->not_after_ns)
		return -SCPP_AUTH_E_EXPIRED;
	if (!(c->flags & SCPP_AUTH_CF_CHAINS))
		return -ENOENT; /* the caller's cache, else ask for the chains */
	scpp_auth_carried_digest(c->nchains, c->chains, c->chains_len, digest);
	if (sodium_memcmp(digest, c->digest, SCPP_AUTH_ID_LEN) != 0)
		return -SCPP_AUTH_E_BAD_SIGNATURE;
	for (unsigned int i = 0; i < c->nchains; i++) {
		size_t u = 0;

		rc = scpp_auth_chain_decode(c->chains + off, c->chains_len - off, &ch[i], &u, NULL);
		if (rc != 0)
			return rc;
		off += u;
		rc = scpp_auth_chain_verify(&ch[i], c->principal, &o->trust, now_ns, f);
		if (f != NULL)
			f->chain = (uint16_t)i;
		if (rc != 0)
			return rc;
	}
	out->authority = scpp_auth_authority_compile(ch, c->nchains, c->principal, &o->compile);
	if (out->authority == NULL)
		return -errno;
	if (c->flags & SCPP_AUTH_CF_RESTRICTED) {
		out->restrictions = restrictions_compile(c, &o->compile);
		if (out->restrictions == NULL) {
			rc = -errno;
			scpp_auth_authority_free(out->authority);
			out->authority = NULL;
			return rc;
		}
	}
	return 0;
}

int
scpp_auth_check_carried(const struct scpp_auth_carried_authority *ca, struct scpp_oid e,
			uint32_t attr, uint16_t ops, struct scpp_auth_denial *d)
{
	int rc = scpp_auth_check(ca->authority, e, attr, ops, d);

	if (rc == 0 && ca->restrictions != NULL)
		rc = scpp_auth_check(ca->restrictions, e, attr, ops, d);
	return rc;
}

void
scpp_auth_carried_authority_free(struct scpp_auth_carried_authority *ca)
{
	scpp_auth_authority_free(ca->authority);
	scpp_auth_authority_free(ca->restrictions);
	ca->authority = NULL;
	ca->restrictions = NULL;
}
