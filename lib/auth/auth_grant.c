/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Grants: canonical encoding, decoding, signatures, ids, attenuation.
 *
 * The decoder is the only way untrusted grant bytes enter the node (inside
 * a FINISH, or from a file), so it is written like lib/wire's: it reads
 * fields in encoding order, checks each as soon as it has been read,
 * reports the first malformation with the offset of its field, never reads
 * past @len and allocates nothing. Everything it accepts re-encodes to the
 * same bytes: every field has one valid form (reserved bytes zero, prefix
 * bits past the length zero, attribute names strictly increasing), so a
 * grant's bytes, its id and its signature are functions of its meaning.
 */
#include <string.h>

#include "auth_priv.h"
#include "scpp_value.h"

static int
check_names(const struct scpp_auth_grant *g)
{
	for (unsigned int i = 0; i < g->nattrs; i++) {
		const struct scpp_auth_attr *a = &g->attr[i];

		if (a->len == 0 || a->len > SCPP_AUTH_ATTR_NAME_MAX || a->p == NULL)
			return -SCPP_AUTH_E_BAD_ATTR;
		if (!scpp_utf8_valid((const uint8_t *)a->p, a->len))
			return -SCPP_E_BAD_UTF8;
		if (i > 0 && auth_name_cmp(g->attr[i - 1].p, g->attr[i - 1].len, a->p, a->len) >= 0)
			return -SCPP_AUTH_E_UNORDERED;
	}
	return 0;
}

int
scpp_auth_grant_check(const struct scpp_auth_grant *g)
{
	if (g == NULL)
		return -EINVAL;
	if (!auth_prefix_canonical(&g->scope))
		return -SCPP_AUTH_E_BAD_PREFIX;
	if (g->depth >= SCPP_AUTH_CHAIN_MAX)
		return -SCPP_AUTH_E_BAD_DEPTH;
	if (g->ops == 0 || (g->ops & ~SCPP_AUTH_OP_ALL) != 0)
		return -SCPP_AUTH_E_BAD_OPS;
	if (g->nattrs > SCPP_AUTH_ATTRS_MAX)
		return -SCPP_E_TOO_MANY;
	return check_names(g);
}

size_t
scpp_auth_grant_size(const struct scpp_auth_grant *g)
{
	size_t n = SCPP_AUTH_GRANT_FIXED + SCPP_AUTH_SIG_LEN;

	for (unsigned int i = 0; i < g->nattrs && i < SCPP_AUTH_ATTRS_MAX; i++)
		n += 1 + (size_t)g->attr[i].len;
	return n;
}

/* Write the signed part (everything but the signature); returns its length. */
static size_t
encode_body(const struct scpp_auth_grant *g, uint8_t *b)
{
	size_t off = SCPP_AUTH_GRANT_FIXED;

	b[0] = AUTH_MAGIC_GRANT0;
	b[1] = AUTH_MAGIC_GRANT1;
	b[2] = AUTH_FORMAT_VERSION;
	b[3] = 0;
	memcpy(b + AUTH_G_ISSUER, g->issuer, SCPP_AUTH_KEY_LEN);
	memcpy(b + AUTH_G_SUBJECT, g->subject, SCPP_AUTH_KEY_LEN);
	auth_put64(b + AUTH_G_SCOPE, g->scope.oid.hi);
	auth_put64(b + AUTH_G_SCOPE + 8, g->scope.oid.lo);
	b[AUTH_G_PLEN] = g->scope.len;
	b[AUTH_G_DEPTH] = g->depth;
	auth_put16(b + AUTH_G_OPS, g->ops);
	auth_put64(b + AUTH_G_EXPIRES, g->expires_ns);
	b[AUTH_G_NATTRS] = g->nattrs;
	for (unsigned int i = 0; i < g->nattrs; i++) {
		b[off] = g->attr[i].len;
		memcpy(b + off + 1, g->attr[i].p, g->attr[i].len);
		off += 1 + (size_t)g->attr[i].len;
	}
	return off;
}

int
scpp_auth_grant_encode(const struct scpp_auth_grant *g, uint8_t *buf, size_t size)
{
	int rc = scpp_auth_grant_check(g);
	size_t n;

	if (rc != 0)
		return rc;
	n = scpp_auth_grant_size(g);
	if (buf == NULL || size < n)
		return -ENOSPC;
	n = encode_body(g, buf);
	memcpy(buf + n, g->sig, SCPP_AUTH_SIG_LEN);
	return (int)(n + SCPP_AUTH_SIG_LEN);
}

int
scpp_auth_grant_sign(struct scpp_auth_grant *g, const struct scpp_auth_keypair *issuer,
		     uint8_t *buf, size_t size)
{
	size_t n;
	int rc;

	if (g == NULL || issuer == NULL)
		return -EINVAL;
	rc = scpp_auth_grant_check(g);
	if (rc != 0)
		return rc;
	if (buf == NULL || size < scpp_auth_grant_size(g))
		return -ENOSPC;
	if (scpp_auth_init() != 0)
		return -ENOSYS;
	memcpy(g->issuer, issuer->pk, SCPP_AUTH_KEY_LEN);
	n = encode_body(g, buf);
	auth_sig_make(g->sig, AUTH_CTX_GRANT, buf, n, issuer);
	memcpy(buf + n, g->sig, SCPP_AUTH_SIG_LEN);
	g->raw = buf;
	g->raw_len = (uint32_t)(n + SCPP_AUTH_SIG_LEN);
	return (int)g->raw_len;
}

/* Decoder failure: record where, return the code. */
static int
fail(uint32_t *err_off, size_t off, int code)
{
	if (err_off != NULL)
		*err_off = (uint32_t)off;
	return code;
}

int
scpp_auth_grant_decode(const uint8_t *buf, size_t len, struct scpp_auth_grant *g, size_t *used,
		       uint32_t *err_off)
{
	size_t off;

	if (buf == NULL || g == NULL)
		return fail(err_off, 0, -EINVAL);
	/* Fields in encoding order; "need" is a truncation at that field. */
#define NEED(at, n)                                                           \
	do {                                                                  \
		if ((at) + (n) > len)                                         \
			return fail(err_off, (at), -SCPP_E_TRUNCATED);        \
	} while (0)
	NEED(0, 2);
	if (buf[0] != AUTH_MAGIC_GRANT0 || buf[1] != AUTH_MAGIC_GRANT1)
		return fail(err_off, 0, -SCPP_E_BAD_MAGIC);
	NEED(2, 1);
	if (buf[2] != AUTH_FORMAT_VERSION)
		return fail(err_off, 2, -SCPP_E_BAD_VERSION);
	NEED(3, 1);
	if (buf[3] != 0)
		return fail(err_off, 3, -SCPP_E_BAD_FLAGS);
	NEED(AUTH_G_ISSUER, SCPP_AUTH_KEY_LEN);
	memcpy(g->issuer, buf + AUTH_G_ISSUER, SCPP_AUTH_KEY_LEN);
	NEED(AUTH_G_SUBJECT, SCPP_AUTH_KEY_LEN);
	memcpy(g->subject, buf + AUTH_G_SUBJECT, SCPP_AUTH_KEY_LEN);
	NEED(AUTH_G_SCOPE, 16);
	g->scope.oid.hi = auth_get64(buf + AUTH_G_SCOPE);
	g->scope.oid.lo = auth_get64(buf + AUTH_G_SCOPE + 8);
	/* The OID's own check needs the length that follows it: a length over
	 * 128 is the length byte's fault, bits past a valid length the OID's. */
	NEED(AUTH_G_PLEN, 1);
	g->scope.len = buf[AUTH_G_PLEN];
	if (g->scope.len > 128)
		return fail(err_off, AUTH_G_PLEN, -SCPP_AUTH_E_BAD_PREFIX);
	if (!auth_prefix_canonical(&g->scope))
		return fail(err_off, AUTH_G_SCOPE, -SCPP_AUTH_E_BAD_PREFIX);
	NEED(AUTH_G_DEPTH, 1);
	g->depth = buf[AUTH_G_DEPTH];
	if (g->depth >= SCPP_AUTH_CHAIN_MAX)
		return fail(err_off, AUTH_G_DEPTH, -SCPP_AUTH_E_BAD_DEPTH);
	NEED(AUTH_G_OPS, 2);
	g->ops = auth_get16(buf + AUTH_G_OPS);
	if (g->ops == 0 || (g->ops & ~SCPP_AUTH_OP_ALL) != 0)
		return fail(err_off, AUTH_G_OPS, -SCPP_AUTH_E_BAD_OPS);
	NEED(AUTH_G_EXPIRES, 8);
	g->expires_ns = auth_get64(buf + AUTH_G_EXPIRES);
	NEED(AUTH_G_NATTRS, 1);
	g->nattrs = buf[AUTH_G_NATTRS];
	if (g->nattrs > SCPP_AUTH_ATTRS_MAX)
		return fail(err_off, AUTH_G_NATTRS, -SCPP_E_TOO_MANY);
	off = SCPP_AUTH_GRANT_FIXED;
	for (unsigned int i = 0; i < g->nattrs; i++) {
		struct scpp_auth_attr *a = &g->attr[i];

		NEED(off, 1);
		a->len = buf[off];
		if (a->len == 0 || a->len > SCPP_AUTH_ATTR_NAME_MAX)
			return fail(err_off, off, -SCPP_AUTH_E_BAD_ATTR);
		/* A name cut short is a truncation of the name field. */
		if (off + 1 + a->len > len)
			return fail(err_off, off, -SCPP_E_TRUNCATED);
		a->p = (const char *)buf + off + 1;
		if (!scpp_utf8_valid((const uint8_t *)a->p, a->len))
			return fail(err_off, off, -SCPP_E_BAD_UTF8);
		if (i > 0 && auth_name_cmp(g->attr[i - 1].p, g->attr[i - 1].len, a->p, a->len) >= 0)
			return fail(err_off, off, -SCPP_AUTH_E_UNORDERED);
		off += 1 + (size_t)a->len;
	}
	NEED(off, SCPP_AUTH_SIG_LEN);
	memcpy(g->sig, buf + off, SCPP_AUTH_SIG_LEN);
	off += SCPP_AUTH_SIG_LEN;
#undef NEED
	if (used != NULL)
		*used = off;
	else if (off != len)
		return fail(err_off, off, -SCPP_E_TRAILING);
	g->raw = buf;
	g->raw_len = (uint32_t)off;
	return 0;
}

/* The signed bytes of @g: its encoding without the signature, from @raw
 * when it was decoded or signed, else freshly encoded into @tmp. */
static int
grant_body(const struct scpp_auth_grant *g, uint8_t tmp[SCPP_AUTH_GRANT_MAX],
	   const uint8_t **body, size_t *n)
{
	int rc;

	if (g->raw != NULL) {
		*body = g->raw;
		*n = g->raw_len - SCPP_AUTH_SIG_LEN;
		return 0;
	}
	rc = scpp_auth_grant_check(g);
	if (rc != 0)
		return rc;
	*n = encode_body(g, tmp);
	*body = tmp;
	return 0;
}

int
scpp_auth_grant_verify(const struct scpp_auth_grant *g)
{
	uint8_t tmp[SCPP_AUTH_GRANT_MAX];
	const uint8_t *body;
	size_t n;
	int rc;

	if (g == NULL)
		return -EINVAL;
	if (scpp_auth_init() != 0)
		return -ENOSYS;
	rc = grant_body(g, tmp, &body, &n);
	if (rc != 0)
		return rc;
	return auth_sig_verify(g->sig, AUTH_CTX_GRANT, body, n, g->issuer) == 0
		       ? 0
		       : -SCPP_AUTH_E_BAD_SIGNATURE;
}

int
scpp_auth_grant_id(const struct scpp_auth_grant *g, uint8_t id[SCPP_AUTH_ID_LEN])
{
	crypto_generichash_state st;
	uint8_t tmp[SCPP_AUTH_GRANT_MAX];
	const uint8_t *body;
	size_t n;
	int rc;

	if (g == NULL || id == NULL)
		return -EINVAL;
	rc = grant_body(g, tmp, &body, &n);
	if (rc != 0)
		return rc;
	crypto_generichash_init(&st, NULL, 0, SCPP_AUTH_ID_LEN);
	crypto_generichash_update(&st, (const uint8_t *)AUTH_CTX_GRANT_ID, sizeof(AUTH_CTX_GRANT_ID));
	crypto_generichash_update(&st, body, n);
	crypto_generichash_final(&st, id, SCPP_AUTH_ID_LEN);
	return 0;
}

bool
auth_name_find(const char *const *names, const uint8_t *lens, unsigned int n, const char *name,
	       size_t len)
{
	unsigned int lo = 0, hi = n;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;
		int c = auth_name_cmp(names[mid], lens[mid], name, len);

		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

bool
scpp_auth_grant_has_attr(const struct scpp_auth_grant *g, const char *name, size_t len)
{
	const char *names[SCPP_AUTH_ATTRS_MAX];
	uint8_t lens[SCPP_AUTH_ATTRS_MAX];

	if (g->nattrs == 0)
		return true;
	for (unsigned int i = 0; i < g->nattrs && i < SCPP_AUTH_ATTRS_MAX; i++) {
		names[i] = g->attr[i].p;
		lens[i] = g->attr[i].len;
	}
	return auth_name_find(names, lens, SCPP_MIN(g->nattrs, SCPP_AUTH_ATTRS_MAX), name, len);
}

/* Every name of child is a name of parent: both lists are sorted, so one
 * merge walk decides it. */
static bool
attrs_within(const struct scpp_auth_grant *child, const struct scpp_auth_grant *parent)
{
	unsigned int j = 0;

	if (parent->nattrs == 0)
		return true;
	if (child->nattrs == 0)
		return false;
	for (unsigned int i = 0; i < child->nattrs; i++) {
		int c = 1;

		while (j < parent->nattrs &&
		       (c = auth_name_cmp(parent->attr[j].p, parent->attr[j].len, child->attr[i].p,
					  child->attr[i].len)) < 0)
			j++;
		if (j == parent->nattrs || c != 0)
			return false;
		j++;
	}
	return true;
}

int
scpp_auth_grant_within(const struct scpp_auth_grant *child, const struct scpp_auth_grant *parent)
{
	if (sodium_memcmp(child->issuer, parent->subject, SCPP_AUTH_KEY_LEN) != 0)
		return -SCPP_AUTH_E_BROKEN_LINK;
	if (parent->depth == 0 || child->depth >= parent->depth)
		return -SCPP_AUTH_E_WIDENED_DEPTH;
	if (!auth_prefix_within(&child->scope, &parent->scope))
		return -SCPP_AUTH_E_WIDENED_SCOPE;
	if (!attrs_within(child, parent))
		return -SCPP_AUTH_E_WIDENED_ATTRS;
	if ((child->ops & ~parent->ops) != 0)
		return -SCPP_AUTH_E_WIDENED_OPS;
	if (child->expires_ns > parent->expires_ns)
		return -SCPP_AUTH_E_WIDENED_EXPIRY;
	return 0;
}

/* ---- revocations ---- */

#define AUTH_R_ID 4
#define AUTH_R_GRANT_EXPIRES 36
#define AUTH_R_REVOKED 44
#define AUTH_R_REVOKER 52
#define AUTH_R_SIG 84

static void
revocation_body(const struct scpp_auth_revocation *r, uint8_t *b)
{
	b[0] = AUTH_MAGIC_GRANT0;
	b[1] = AUTH_MAGIC_REVOKE1;
	b[2] = AUTH_FORMAT_VERSION;
	b[3] = 0;
	memcpy(b + AUTH_R_ID, r->grant_id, SCPP_AUTH_ID_LEN);
	auth_put64(b + AUTH_R_GRANT_EXPIRES, r->grant_expires_ns);
	auth_put64(b + AUTH_R_REVOKED, r->revoked_ns);
	memcpy(b + AUTH_R_REVOKER, r->revoker, SCPP_AUTH_KEY_LEN);
}

int
scpp_auth_revocation_encode(const struct scpp_auth_revocation *r, uint8_t *buf, size_t size)
{
	if (r == NULL)
		return -EINVAL;
	if (buf == NULL || size < SCPP_AUTH_REVOCATION_LEN)
		return -ENOSPC;
	revocation_body(r, buf);
	memcpy(buf + AUTH_R_SIG, r->sig, SCPP_AUTH_SIG_LEN);
	return SCPP_AUTH_REVOCATION_LEN;
}

int
scpp_auth_revocation_sign(struct scpp_auth_revocation *r, const struct scpp_auth_keypair *k,
			  uint8_t *buf, size_t size)
{
	if (r == NULL || k == NULL)
		return -EINVAL;
	if (buf == NULL || size < SCPP_AUTH_REVOCATION_LEN)
		return -ENOSPC;
	if (scpp_auth_init() != 0)
		return -ENOSYS;
	memcpy(r->revoker, k->pk, SCPP_AUTH_KEY_LEN);
	revocation_body(r, buf);
	auth_sig_make(r->sig, AUTH_CTX_REVOKE, buf, AUTH_R_SIG, k);
	memcpy(buf + AUTH_R_SIG, r->sig, SCPP_AUTH_SIG_LEN);
	return SCPP_AUTH_REVOCATION_LEN;
}

int
scpp_auth_revocation_decode(const uint8_t *buf, size_t len, struct scpp_auth_revocation *r,
			    uint32_t *err_off)
{
	if (buf == NULL || r == NULL)
		return fail(err_off, 0, -EINVAL);
	if (len < 2)
		return fail(err_off, 0, -SCPP_E_TRUNCATED);
	if (buf[0] != AUTH_MAGIC_GRANT0 || buf[1] != AUTH_MAGIC_REVOKE1)
		return fail(err_off, 0, -SCPP_E_BAD_MAGIC);
	if (len < 3)
		return fail(err_off, 2, -SCPP_E_TRUNCATED);
	if (buf[2] != AUTH_FORMAT_VERSION)
		return fail(err_off, 2, -SCPP_E_BAD_VERSION);
	if (len < 4)
		return fail(err_off, 3, -SCPP_E_TRUNCATED);
	if (buf[3] != 0)
		return fail(err_off, 3, -SCPP_E_BAD_FLAGS);
	/* The remaining fields have no constraint of their own: report a
	 * short entry at the first field it cuts. */
	static const uint8_t field_off[] = {AUTH_R_ID, AUTH_R_GRANT_EXPIRES, AUTH_R_REVOKED,
					    AUTH_R_REVOKER, AUTH_R_SIG, SCPP_AUTH_REVOCATION_LEN};
	for (size_t i = 0; i + 1 < SCPP_ARRAY_SIZE(field_off); i++)
		if (len < field_off[i + 1])
			return fail(err_off, field_off[i], -SCPP_E_TRUNCATED);
	if (len > SCPP_AUTH_REVOCATION_LEN)
		return fail(err_off, SCPP_AUTH_REVOCATION_LEN, -SCPP_E_TRAILING);
	memcpy(r->grant_id, buf + AUTH_R_ID, SCPP_AUTH_ID_LEN);
	r->grant_expires_ns = auth_get64(buf + AUTH_R_GRANT_EXPIRES);
	r->revoked_ns = auth_get64(buf + AUTH_R_REVOKED);
	memcpy(r->revoker, buf + AUTH_R_REVOKER, SCPP_AUTH_KEY_LEN);
	memcpy(r->sig, buf + AUTH_R_SIG, SCPP_AUTH_SIG_LEN);
	return 0;
}

int
scpp_auth_revocation_verify(const struct scpp_auth_revocation *r)
{
	uint8_t b[SCPP_AUTH_REVOCATION_LEN];

	if (r == NULL)
		return -EINVAL;
	if (scpp_auth_init() != 0)
		return -ENOSYS;
	revocation_body(r, b);
	return auth_sig_verify(r->sig, AUTH_CTX_REVOKE, b, AUTH_R_SIG, r->revoker) == 0
		       ? 0
		       : -SCPP_AUTH_E_BAD_SIGNATURE;
}
