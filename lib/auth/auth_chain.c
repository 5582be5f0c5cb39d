/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Delegation chains and revocation sets.
 *
 * Verification is ordered by cost: every structural check (linkage,
 * attenuation, expiry, revocation, principal) runs over the whole chain
 * before the first Ed25519 verification (~90 us each on this machine, ~1000x
 * the rest), so a chain that is wrong in any cheap way costs the node
 * microseconds, and only a chain that would be accepted if its signatures
 * hold pays for them.
 */
#include <stdlib.h>
#include <string.h>

#include "auth_priv.h"

int
scpp_auth_chain_decode(const uint8_t *buf, size_t len, struct scpp_auth_chain *c, size_t *used,
		       uint32_t *err_off)
{
	size_t off = SCPP_AUTH_CHAIN_HDR;

	if (buf == NULL || c == NULL) {
		if (err_off != NULL)
			*err_off = 0;
		return -EINVAL;
	}
#define CFAIL(at, code)                                                       \
	do {                                                                  \
		if (err_off != NULL)                                          \
			*err_off = (uint32_t)(at);                            \
		return (code);                                                \
	} while (0)
	if (len < 2)
		CFAIL(0, -SCPP_E_TRUNCATED);
	if (buf[0] != AUTH_MAGIC_GRANT0 || buf[1] != AUTH_MAGIC_CHAIN1)
		CFAIL(0, -SCPP_E_BAD_MAGIC);
	if (len < 3)
		CFAIL(2, -SCPP_E_TRUNCATED);
	if (buf[2] != AUTH_FORMAT_VERSION)
		CFAIL(2, -SCPP_E_BAD_VERSION);
	if (len < 4)
		CFAIL(3, -SCPP_E_TRUNCATED);
	c->n = buf[3];
	if (c->n > SCPP_AUTH_CHAIN_MAX)
		CFAIL(3, -SCPP_E_TOO_MANY);
	for (unsigned int i = 0; i < c->n; i++) {
		uint32_t inner = 0;
		size_t n = 0;
		int rc = scpp_auth_grant_decode(buf + off, len - off, &c->link[i], &n, &inner);

		if (rc != 0)
			CFAIL(off + inner, rc);
		off += n;
	}
	if (used != NULL)
		*used = off;
	else if (off != len)
		CFAIL(off, -SCPP_E_TRAILING);
#undef CFAIL
	return 0;
}

size_t
scpp_auth_chain_size(const struct scpp_auth_chain *c)
{
	size_t n = SCPP_AUTH_CHAIN_HDR;

	for (unsigned int i = 0; i < c->n && i < SCPP_AUTH_CHAIN_MAX; i++)
		n += scpp_auth_grant_size(&c->link[i]);
	return n;
}

int
scpp_auth_chain_encode(const struct scpp_auth_chain *c, uint8_t *buf, size_t size)
{
	size_t off = SCPP_AUTH_CHAIN_HDR;

	if (c == NULL)
		return -EINVAL;
	if (c->n > SCPP_AUTH_CHAIN_MAX)
		return -SCPP_E_TOO_MANY;
	if (buf == NULL || size < SCPP_AUTH_CHAIN_HDR)
		return -ENOSPC;
	buf[0] = AUTH_MAGIC_GRANT0;
	buf[1] = AUTH_MAGIC_CHAIN1;
	buf[2] = AUTH_FORMAT_VERSION;
	buf[3] = c->n;
	for (unsigned int i = 0; i < c->n; i++) {
		int rc = scpp_auth_grant_encode(&c->link[i], buf + off, size - off);

		if (rc < 0)
			return rc;
		off += (size_t)rc;
	}
	return (int)off;
}

void
scpp_auth_chain_digest(const uint8_t *enc, size_t len, uint8_t out[SCPP_AUTH_ID_LEN])
{
	crypto_generichash(out, SCPP_AUTH_ID_LEN, enc, len, NULL, 0);
}

static bool
is_root(const struct scpp_auth_trust *t, const uint8_t pk[SCPP_AUTH_KEY_LEN])
{
	for (unsigned int i = 0; i < t->nroots; i++)
		if (sodium_memcmp(t->roots[i], pk, SCPP_AUTH_KEY_LEN) == 0)
			return true;
	return false;
}

/* Who may revoke link i: every root, and the issuers of links 0..i. */
static bool
link_revoked(const struct scpp_auth_chain *c, unsigned int i, const struct scpp_auth_trust *t)
{
	uint8_t signers[SCPP_AUTH_ROOTS_MAX + SCPP_AUTH_CHAIN_MAX][SCPP_AUTH_KEY_LEN];
	uint8_t id[SCPP_AUTH_ID_LEN];
	unsigned int n = 0;

	if (t->revoked == NULL || scpp_auth_revset_count(t->revoked) == 0)
		return false;
	for (unsigned int k = 0; k < t->nroots; k++)
		memcpy(signers[n++], t->roots[k], SCPP_AUTH_KEY_LEN);
	for (unsigned int k = 0; k <= i; k++)
		memcpy(signers[n++], c->link[k].issuer, SCPP_AUTH_KEY_LEN);
	if (scpp_auth_grant_id(&c->link[i], id) != 0)
		return true; /* cannot even name it: treat as unusable */
	return scpp_auth_revset_match(t->revoked, id, (const uint8_t(*)[SCPP_AUTH_KEY_LEN])signers,
				      n);
}

static int
vfail(struct scpp_auth_fault *f, unsigned int link, int code)
{
	if (f != NULL)
		f->link = (uint8_t)link;
	return code;
}

int
scpp_auth_chain_verify(const struct scpp_auth_chain *c, const uint8_t principal[SCPP_AUTH_KEY_LEN],
		       const struct scpp_auth_trust *t, uint64_t now_ns, struct scpp_auth_fault *f)
{
	int rc;

	if (c == NULL || principal == NULL || t == NULL || c->n > SCPP_AUTH_CHAIN_MAX ||
	    t->nroots > SCPP_AUTH_ROOTS_MAX || (t->nroots > 0 && t->roots == NULL))
		return -EINVAL;
	if (scpp_auth_init() != 0)
		return -ENOSYS;
	if (c->n == 0)
		return is_root(t, principal) ? 0 : vfail(f, 0, -SCPP_AUTH_E_UNTRUSTED_ROOT);
	for (unsigned int i = 0; i < c->n; i++) {
		const struct scpp_auth_grant *g = &c->link[i];

		rc = scpp_auth_grant_check(g);
		if (rc != 0)
			return vfail(f, i, rc);
		if (i == 0) {
			if (!is_root(t, g->issuer))
				return vfail(f, 0, -SCPP_AUTH_E_UNTRUSTED_ROOT);
		} else {
			rc = scpp_auth_grant_within(g, &c->link[i - 1]);
			if (rc != 0)
				return vfail(f, i, rc);
		}
		if (now_ns >= g->expires_ns)
			return vfail(f, i, -SCPP_AUTH_E_EXPIRED);
		if (link_revoked(c, i, t))
			return vfail(f, i, -SCPP_AUTH_E_REVOKED);
	}
	if (sodium_memcmp(c->link[c->n - 1].subject, principal, SCPP_AUTH_KEY_LEN) != 0)
		return vfail(f, c->n - 1, -SCPP_AUTH_E_WRONG_PRINCIPAL);
	for (unsigned int i = 0; i < c->n; i++) {
		rc = scpp_auth_grant_verify(&c->link[i]);
		if (rc != 0)
			return vfail(f, i, rc);
	}
	return 0;
}

/* ---- revocation sets ----
 *
 * A sorted array of (grant id, revoker), searched by binary search. Sets
 * hold thousands of entries at most and change rarely (control thread), so
 * an insertion that moves the tail is cheaper overall than any tree. */

struct rev_entry {
	uint8_t id[SCPP_AUTH_ID_LEN];
	uint8_t revoker[SCPP_AUTH_KEY_LEN];
	uint64_t grant_expires_ns;
};

struct scpp_auth_revset {
	const struct scpp_auth_mem *mem;
	unsigned int capacity;
	unsigned int n;
	struct rev_entry e[];
};

struct scpp_auth_revset *
scpp_auth_revset_create(unsigned int capacity, const struct scpp_auth_mem *mem)
{
	struct scpp_auth_revset *rs;

	if (capacity == 0 || capacity > (1u << 20)) {
		errno = EINVAL;
		return NULL;
	}
	rs = auth_zalloc(mem, sizeof(*rs) + (size_t)capacity * sizeof(struct rev_entry));
	if (rs == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	rs->mem = auth_mem(mem);
	rs->capacity = capacity;
	return rs;
}

void
scpp_auth_revset_free(struct scpp_auth_revset *rs)
{
	if (rs != NULL)
		auth_wipe_free(rs->mem, rs,
			       sizeof(*rs) + (size_t)rs->capacity * sizeof(struct rev_entry));
}

unsigned int
scpp_auth_revset_count(const struct scpp_auth_revset *rs)
{
	return rs != NULL ? rs->n : 0;
}

static int
entry_cmp(const uint8_t *id, const uint8_t *revoker, const struct rev_entry *e)
{
	int c = memcmp(id, e->id, SCPP_AUTH_ID_LEN);

	return c != 0 ? c : memcmp(revoker, e->revoker, SCPP_AUTH_KEY_LEN);
}

/* First index whose (id, revoker) is >= the key. */
static unsigned int
lower_bound(const struct scpp_auth_revset *rs, const uint8_t *id, const uint8_t *revoker)
{
	unsigned int lo = 0, hi = rs->n;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;

		if (entry_cmp(id, revoker, &rs->e[mid]) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void
prune(struct scpp_auth_revset *rs, uint64_t now_ns)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < rs->n; i++)
		if (rs->e[i].grant_expires_ns > now_ns)
			rs->e[k++] = rs->e[i];
	rs->n = k;
}

int
scpp_auth_revset_add(struct scpp_auth_revset *rs, const struct scpp_auth_revocation *r,
		     uint64_t now_ns)
{
	unsigned int at;
	int rc;

	if (rs == NULL || r == NULL)
		return -EINVAL;
	rc = scpp_auth_revocation_verify(r);
	if (rc != 0)
		return rc;
	at = lower_bound(rs, r->grant_id, r->revoker);
	if (at < rs->n && entry_cmp(r->grant_id, r->revoker, &rs->e[at]) == 0)
		return -EEXIST;
	if (rs->n == rs->capacity) {
		prune(rs, now_ns);
		if (rs->n == rs->capacity)
			return -ENOSPC;
		at = lower_bound(rs, r->grant_id, r->revoker);
	}
	memmove(&rs->e[at + 1], &rs->e[at], (size_t)(rs->n - at) * sizeof(rs->e[0]));
	memcpy(rs->e[at].id, r->grant_id, SCPP_AUTH_ID_LEN);
	memcpy(rs->e[at].revoker, r->revoker, SCPP_AUTH_KEY_LEN);
	rs->e[at].grant_expires_ns = r->grant_expires_ns;
	rs->n++;
	return 0;
}

bool
scpp_auth_revset_match(const struct scpp_auth_revset *rs, const uint8_t id[SCPP_AUTH_ID_LEN],
		       const uint8_t (*signers)[SCPP_AUTH_KEY_LEN], unsigned int n)
{
	static const uint8_t lowest[SCPP_AUTH_KEY_LEN];

	if (rs == NULL)
		return false;
	for (unsigned int i = lower_bound(rs, id, lowest);
	     i < rs->n && memcmp(rs->e[i].id, id, SCPP_AUTH_ID_LEN) == 0; i++)
		for (unsigned int k = 0; k < n; k++)
			if (memcmp(rs->e[i].revoker, signers[k], SCPP_AUTH_KEY_LEN) == 0)
				return true;
	return false;
}
