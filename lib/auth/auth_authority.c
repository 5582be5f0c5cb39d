/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Compiled authority: what a verified session may do, in the shape a
 * worker can test per command.
 *
 * Each chain contributes one rule, taken from its last link: attenuation
 * (checked by scpp_auth_chain_verify()) makes every earlier link a superset
 * of it, so the last link *is* the chain's effective right. A rule is a
 * scope turned into two 64-bit masks (matching is two XOR-ANDs), an
 * operation set, and its attribute ids sorted for search. With at most
 * SCPP_AUTH_CHAINS_MAX rules a check is a short loop over one or two cache
 * lines plus, for named attribute sets, a search of at most 32 ids:
 * perf/bench-auth measures it (tens of ns, perf/RESULTS.md).
 *
 * Rights of several rules add up per (entity, attribute): a session holding
 * "set on /48" and "schema on one type" may set that type's attributes with
 * the schema right. That is the same as checking each operation bit
 * separately, which is what a union of grants means.
 */
#include <stdlib.h>
#include <string.h>

#include "auth_priv.h"

#define AUTH_GRANT_IDS_MAX (SCPP_AUTH_CHAINS_MAX * SCPP_AUTH_CHAIN_MAX)
/* Linear search below this many ids (branch-predictable, no division). */
#define AUTH_LINEAR_MAX 8

struct auth_rule {
	uint64_t hi, lo;   /* scope OID, bits past the length zero */
	uint64_t mhi, mlo; /* masks of the scope's bits */
	uint16_t ops;
	uint8_t plen;
	uint8_t nattrs;    /* 0: every attribute */
	uint16_t first;    /* index of its first attribute in ids/names */
};

struct scpp_auth_authority {
	const struct scpp_auth_mem *mem;
	size_t size;
	uint64_t expires_ns;
	uint8_t principal[SCPP_AUTH_KEY_LEN];
	uint8_t nrules;
	uint8_t ngrants;
	uint16_t nattrs;   /* over all rules */
	uint16_t ops_any;  /* union of every rule's operations */
	uint16_t ops_all_attrs; /* union of the operations of rules with every attribute */
	bool coarse;       /* no rule narrower than a /64 */
	struct auth_rule rule[SCPP_AUTH_CHAINS_MAX];
	uint8_t grant_id[AUTH_GRANT_IDS_MAX][SCPP_AUTH_ID_LEN];
	uint8_t grant_issuer[AUTH_GRANT_IDS_MAX][SCPP_AUTH_KEY_LEN];
	uint8_t grant_chain[AUTH_GRANT_IDS_MAX]; /* which chain each grant is from */
	uint32_t *ids;           /* nattrs, sorted within each rule */
	const char **names;      /* nattrs, sorted within each rule, into pool */
	uint8_t *lens;           /* their lengths */
	char *pool;
	uint8_t data[];
};

static int
id_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void
rule_scope(struct auth_rule *r, const struct scpp_oid_prefix *p)
{
	r->hi = p->oid.hi;
	r->lo = p->oid.lo;
	r->plen = p->len;
	r->mhi = p->len == 0 ? 0 : p->len >= 64 ? UINT64_MAX : ~(UINT64_MAX >> p->len);
	r->mlo = p->len <= 64 ? 0 : p->len >= 128 ? UINT64_MAX : ~(UINT64_MAX >> (p->len - 64));
}

static int
compile_rules(struct scpp_auth_authority *a, const struct scpp_auth_chain *chains, unsigned int n,
	      const struct scpp_auth_compile_config *cfg)
{
	size_t pool_off = 0;
	unsigned int at = 0;

	for (unsigned int c = 0; c < n; c++) {
		struct auth_rule *r = &a->rule[c];
		const struct scpp_auth_grant *leaf;
		static const struct scpp_oid_prefix everything;

		for (unsigned int l = 0; l < chains[c].n; l++, a->ngrants++) {
			if (scpp_auth_grant_id(&chains[c].link[l], a->grant_id[a->ngrants]) != 0)
				return -EINVAL;
			memcpy(a->grant_issuer[a->ngrants], chains[c].link[l].issuer,
			       SCPP_AUTH_KEY_LEN);
			a->grant_chain[a->ngrants] = (uint8_t)c;
		}
		if (chains[c].n == 0) {
			/* A root needs no grant: every right on everything. */
			rule_scope(r, &everything);
			r->ops = SCPP_AUTH_OP_ALL;
			r->nattrs = 0;
			r->first = (uint16_t)at;
			continue;
		}
		leaf = &chains[c].link[chains[c].n - 1];
		rule_scope(r, &leaf->scope);
		r->ops = leaf->ops;
		r->nattrs = leaf->nattrs;
		r->first = (uint16_t)at;
		if (leaf->expires_ns < a->expires_ns)
			a->expires_ns = leaf->expires_ns;
		for (unsigned int i = 0; i < leaf->nattrs; i++, at++) {
			const struct scpp_auth_attr *x = &leaf->attr[i];

			a->names[at] = a->pool + pool_off;
			a->lens[at] = x->len;
			memcpy(a->pool + pool_off, x->p, x->len);
			pool_off += x->len;
			a->ids[at] = 0; /* no resolver: matches no id */
			if (cfg != NULL && cfg->resolve != NULL) {
				int64_t id = cfg->resolve(cfg->resolve_ctx, x->p, x->len);

				if (id < 0)
					return (int)id;
				if (id == 0 || id >= (int64_t)SCPP_AUTH_ATTR_ALL)
					return -ERANGE;
				a->ids[at] = (uint32_t)id;
			}
		}
		qsort(a->ids + r->first, r->nattrs, sizeof(a->ids[0]), id_cmp);
	}
	return 0;
}

struct scpp_auth_authority *
scpp_auth_authority_compile(const struct scpp_auth_chain *chains, unsigned int n,
			    const uint8_t principal[SCPP_AUTH_KEY_LEN],
			    const struct scpp_auth_compile_config *cfg)
{
	const struct scpp_auth_mem *mem = cfg != NULL ? cfg->mem : NULL;
	struct scpp_auth_authority *a;
	size_t nattrs = 0, pool = 0, size;
	int rc;

	if (chains == NULL || principal == NULL || n == 0 || n > SCPP_AUTH_CHAINS_MAX) {
		errno = EINVAL;
		return NULL;
	}
	for (unsigned int c = 0; c < n; c++) {
		if (chains[c].n > SCPP_AUTH_CHAIN_MAX) {
			errno = EINVAL;
			return NULL;
		}
		if (chains[c].n == 0)
			continue;
		const struct scpp_auth_grant *leaf = &chains[c].link[chains[c].n - 1];

		if (scpp_auth_grant_check(leaf) != 0) {
			errno = EINVAL;
			return NULL;
		}
		nattrs += leaf->nattrs;
		for (unsigned int i = 0; i < leaf->nattrs; i++)
			pool += leaf->attr[i].len;
	}
	size = sizeof(*a) + nattrs * (sizeof(uint32_t) + sizeof(char *) + 1) + pool;
	a = auth_zalloc(mem, size);
	if (a == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	a->mem = auth_mem(mem);
	a->size = size;
	/* data: names (pointers, 8-aligned first), ids, lengths, name bytes. */
	a->names = (const char **)(void *)a->data;
	a->ids = (uint32_t *)(void *)(a->data + nattrs * sizeof(char *));
	a->lens = a->data + nattrs * (sizeof(char *) + sizeof(uint32_t));
	a->pool = (char *)(a->lens + nattrs);
	a->nrules = (uint8_t)n;
	a->nattrs = (uint16_t)nattrs;
	a->expires_ns = cfg != NULL && cfg->expires_cap_ns != 0 ? cfg->expires_cap_ns : UINT64_MAX;
	memcpy(a->principal, principal, SCPP_AUTH_KEY_LEN);
	rc = compile_rules(a, chains, n, cfg);
	if (rc != 0) {
		auth_wipe_free(a->mem, a, a->size);
		errno = -rc;
		return NULL;
	}
	/* Per-block questions of lib/eval's fast path, answered once here. */
	a->coarse = true;
	for (unsigned int c = 0; c < n; c++) {
		a->ops_any |= a->rule[c].ops;
		if (a->rule[c].nattrs == 0)
			a->ops_all_attrs |= a->rule[c].ops;
		if (a->rule[c].plen > 64)
			a->coarse = false;
	}
	return a;
}

void
scpp_auth_authority_free(struct scpp_auth_authority *a)
{
	if (a != NULL)
		auth_wipe_free(a->mem, a, a->size);
}

bool
scpp_auth_authority_coarse(const struct scpp_auth_authority *a)
{
	return a->coarse;
}

uint16_t
scpp_auth_authority_ops_all_attrs(const struct scpp_auth_authority *a)
{
	return a->ops_all_attrs;
}

uint64_t
scpp_auth_authority_expires(const struct scpp_auth_authority *a)
{
	return a->expires_ns;
}

const uint8_t *
scpp_auth_authority_principal(const struct scpp_auth_authority *a)
{
	return a->principal;
}

unsigned int
scpp_auth_authority_grants(const struct scpp_auth_authority *a,
			   const uint8_t (**ids)[SCPP_AUTH_ID_LEN])
{
	*ids = (const uint8_t(*)[SCPP_AUTH_ID_LEN])a->grant_id;
	return a->ngrants;
}

bool
auth_authority_revoked(const struct scpp_auth_authority *a, const struct scpp_auth_trust *t)
{
	uint8_t signers[SCPP_AUTH_ROOTS_MAX + SCPP_AUTH_CHAIN_MAX][SCPP_AUTH_KEY_LEN];

	if (t->revoked == NULL || scpp_auth_revset_count(t->revoked) == 0)
		return false;
	/* The same rule as chain verification: a grant is revoked by a root or
	 * by the issuer of it or of any earlier link of its chain. Grants are
	 * stored in chain order, so those issuers precede it. */
	for (unsigned int k = 0; k < a->ngrants; k++) {
		unsigned int n = 0;

		for (unsigned int i = 0; i < t->nroots; i++)
			memcpy(signers[n++], t->roots[i], SCPP_AUTH_KEY_LEN);
		for (unsigned int j = 0; j <= k; j++)
			if (a->grant_chain[j] == a->grant_chain[k] && n < SCPP_ARRAY_SIZE(signers))
				memcpy(signers[n++], a->grant_issuer[j], SCPP_AUTH_KEY_LEN);
		if (scpp_auth_revset_match(t->revoked, a->grant_id[k],
					   (const uint8_t(*)[SCPP_AUTH_KEY_LEN])signers, n))
			return true;
	}
	return false;
}

/* ---- worker path ---- */

static inline bool
rule_match(const struct auth_rule *r, struct scpp_oid e)
{
	return (((e.hi ^ r->hi) & r->mhi) | ((e.lo ^ r->lo) & r->mlo)) == 0;
}

static inline bool
rule_has_id(const struct scpp_auth_authority *a, const struct auth_rule *r, uint32_t attr)
{
	const uint32_t *ids = a->ids + r->first;
	unsigned int lo = 0, hi = r->nattrs;

	if (r->nattrs == 0 || attr == SCPP_AUTH_ATTR_ANY)
		return true;
	if (attr == SCPP_AUTH_ATTR_ALL)
		return false;
	if (hi <= AUTH_LINEAR_MAX) {
		for (unsigned int i = 0; i < hi; i++)
			if (ids[i] == attr)
				return true;
		return false;
	}
	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;

		if (ids[mid] == attr)
			return true;
		if (ids[mid] < attr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static inline bool
rule_has_name(const struct scpp_auth_authority *a, const struct auth_rule *r, const char *name,
	      size_t len)
{
	return r->nattrs == 0 ||
	       auth_name_find(a->names + r->first, a->lens + r->first, r->nattrs, name, len);
}

/*
 * The one check loop, specialised by the constant @by_name (STYLE §4.6):
 * both public entry points inline it, so neither tests a mode per rule.
 */
static inline __attribute__((always_inline)) int
check_rules(const struct scpp_auth_authority *a, struct scpp_oid e, uint32_t attr,
	    const char *name, size_t len, uint16_t ops, struct scpp_auth_denial *d, bool by_name)
{
	uint16_t covered = 0, missing;
	bool ent = false, att = false;
	uint8_t reason;

	for (unsigned int i = 0; i < a->nrules; i++) {
		const struct auth_rule *r = &a->rule[i];

		if (!rule_match(r, e))
			continue;
		ent = true;
		if (by_name ? !rule_has_name(a, r, name, len) : !rule_has_id(a, r, attr))
			continue;
		att = true;
		covered |= r->ops;
	}
	missing = ops & (uint16_t)~covered;
	if (SCPP_LIKELY(missing == 0)) {
		if (d != NULL) {
			d->reason = SCPP_AUTH_DENY_NONE;
			d->missing = 0;
		}
		return 0;
	}
	reason = !ent ? SCPP_AUTH_DENY_SCOPE : !att ? SCPP_AUTH_DENY_ATTR : SCPP_AUTH_DENY_OPS;
	if (d != NULL) {
		d->reason = reason;
		d->missing = reason == SCPP_AUTH_DENY_OPS ? missing : ops;
	}
	/* Only the schema right missing: a privileged operation (EPERM); any
	 * ordinary right missing: permission denied (EACCES). */
	return reason == SCPP_AUTH_DENY_OPS && missing == SCPP_AUTH_OP_SCHEMA ? -EPERM : -EACCES;
}

int
scpp_auth_check(const struct scpp_auth_authority *a, struct scpp_oid e, uint32_t attr,
		uint16_t ops, struct scpp_auth_denial *d)
{
	return check_rules(a, e, attr, NULL, 0, ops, d, false);
}

int
scpp_auth_check_name(const struct scpp_auth_authority *a, struct scpp_oid e, const char *name,
		     size_t len, uint16_t ops, struct scpp_auth_denial *d)
{
	return check_rules(a, e, 0, name, len, ops, d, true);
}

enum scpp_auth_cover
scpp_auth_cover(const struct scpp_auth_authority *a, const struct scpp_oid_prefix *p,
		uint16_t ops)
{
	bool some = false;

	/* NONE is exact enough to skip a scan: an entity under p can pass
	 * check(ops) only through a rule that overlaps p and holds some bit of
	 * ops. ALL needs one rule that alone covers p entirely; a union of
	 * rules that happens to cover p is reported as SOME, which only costs
	 * per-entity checks, never a wrong answer. */
	for (unsigned int i = 0; i < a->nrules; i++) {
		const struct auth_rule *r = &a->rule[i];
		struct scpp_oid_prefix rp = {{r->hi, r->lo}, r->plen};

		if ((r->ops & ops) == 0 || !auth_prefix_overlap(&rp, p))
			continue;
		if (r->nattrs == 0 && (ops & ~r->ops) == 0 && auth_prefix_within(p, &rp))
			return SCPP_AUTH_COVER_ALL;
		some = true;
	}
	return some ? SCPP_AUTH_COVER_SOME : SCPP_AUTH_COVER_NONE;
}
