/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Replay of the conformance vectors tests/unit/auth/vectors.txt (format in
 * gen_vectors.c): every chain, request and datagram must produce exactly
 * the outcome the table names, and a rejected datagram must change nothing
 * (the table's accepted count does not move). The test knows nothing of how
 * the vectors were made; a second implementation can replay the same file.
 */
#include <errno.h>

#include "auth_test.h"

#define MAX_CHAINS 32
#define LINE_MAX_LEN (2 * SCPP_AUTH_CHAIN_BYTES_MAX + 512)

struct named_chain {
	char name[64];
	uint8_t principal[32];
	uint8_t enc[SCPP_AUTH_CHAIN_BYTES_MAX];
	size_t len;
	struct scpp_auth_chain c;
	bool ok;
};

struct named_carried {
	char name[64];
	struct scpp_auth_carried_authority ca;
};

#define MAX_CARRIED 16

struct replay {
	uint64_t now;
	uint8_t roots[SCPP_AUTH_ROOTS_MAX][32];
	unsigned int nroots;
	struct scpp_auth_revset *rs;
	struct scpp_auth_table *table;
	struct scpp_auth_authority *any; /* what installed sessions carry */
	struct named_chain chains[MAX_CHAINS];
	unsigned int nchains;
	unsigned int nreq, ndgram, seen_mask;
	uint8_t peers[4][32];
	unsigned int npeers, max_hops;
	struct named_carried carried[MAX_CARRIED];
	unsigned int ncarried, ncreq;
	uint8_t pairkey[32];
	struct {
		char name[64];
		uint8_t reply_key[32];
	} conts[8];
	unsigned int nconts, ncont, ncontreply;
};

/* The library-level vectors: each must be in the table. */
static const char *const required[] = {
	"forged_mac",      "replayed_sequence_number", "out_of_window_number",
	"expired_grant",   "broken_chain_link",        "widened_delegation_ops",
	"wrong_principal", "revoked_grant",            "grant_for_another_prefix",
	"truncated_tag",   "escalation_through_forwarder",
	"cont_principal",  "cont_principal_altered_row", "cont_reply_altered",
	"escalation_through_continuation",
};

static char *
field(char **p)
{
	char *s = *p, *sp;

	assert_non_null(s);
	sp = strchr(s, ' ');
	if (sp != NULL) {
		*sp = '\0';
		*p = sp + 1;
	} else {
		*p = NULL;
	}
	return s;
}

static size_t
unhex(const char *h, uint8_t *out, size_t max)
{
	size_t n = strlen(h) / 2;

	assert_true(n <= max);
	assert_int_equal(scpp_auth_hex_parse(h, 2 * n, out, n), 0);
	return n;
}

static int
expect_code(const char *name)
{
	int c = scpp_auth_error_parse(name);

	if (c == 0 && strcmp(name, "OK") != 0)
		fail_msg("unknown outcome '%s'", name);
	return c;
}

static void
note(struct replay *r, const char *name)
{
	for (size_t i = 0; i < SCPP_ARRAY_SIZE(required); i++)
		if (strcmp(required[i], name) == 0)
			r->seen_mask |= 1u << i;
}

static void
do_chain(struct replay *r, char *rest)
{
	struct named_chain *nc = &r->chains[r->nchains++];
	struct scpp_auth_trust t = {(const uint8_t(*)[32])r->roots, r->nroots, r->rs};
	const char *name = field(&rest), *exp = field(&rest);
	struct scpp_auth_fault f;
	int want = expect_code(exp), got;

	assert_true(r->nchains <= MAX_CHAINS);
	snprintf(nc->name, sizeof(nc->name), "%s", name);
	unhex(field(&rest), nc->principal, 32);
	nc->len = unhex(field(&rest), nc->enc, sizeof(nc->enc));
	assert_null(rest);
	/* Every chain vector decodes: failures are semantic, not syntax. */
	assert_int_equal(scpp_auth_chain_decode(nc->enc, nc->len, &nc->c, NULL, NULL), 0);
	got = scpp_auth_chain_verify(&nc->c, nc->principal, &t, r->now, &f);
	if (got != want)
		fail_msg("chain %s: got %s, want %s", name, scpp_auth_error_name(got), exp);
	nc->ok = got == 0;
	note(r, name);
}

static void
do_request(struct replay *r, char *rest)
{
	const char *name = field(&rest), *exp = field(&rest), *cname = field(&rest);
	const char *oid = field(&rest), *attr = field(&rest), *ops_s = field(&rest);
	struct scpp_auth_compile_config cc = {0};
	struct scpp_auth_authority *a;
	struct named_chain *nc = NULL;
	struct scpp_oid e;
	uint16_t ops;
	int got, want = expect_code(exp);

	assert_null(rest);
	for (unsigned int i = 0; i < r->nchains; i++)
		if (strcmp(r->chains[i].name, cname) == 0)
			nc = &r->chains[i];
	assert_non_null(nc);
	assert_true(nc->ok); /* only verified chains are ever compiled */
	assert_int_equal(scpp_oid_parse(oid, strlen(oid), &e), 0);
	assert_int_equal(scpp_auth_ops_parse(ops_s, &ops, NULL), 0);
	a = scpp_auth_authority_compile(&nc->c, 1, nc->principal, &cc);
	assert_non_null(a);
	got = scpp_auth_check_name(a, e, attr, strlen(attr), ops, NULL);
	scpp_auth_authority_free(a);
	if (got != want)
		fail_msg("request %s: got %s, want %s", name, scpp_auth_error_name(got), exp);
	r->nreq++;
	note(r, name);
}

static void
do_session(struct replay *r, char *rest)
{
	struct scpp_auth_session_params p;
	const char *alg;

	memset(&p, 0, sizeof(p));
	p.id = strtoull(field(&rest), NULL, 10);
	alg = field(&rest);
	p.alg = strcmp(alg, "aes256gmac") == 0   ? SCPP_AUTH_ALG_AES256GMAC
		: strcmp(alg, "chachapoly") == 0 ? SCPP_AUTH_ALG_CHACHAPOLY
						 : 0;
	assert_int_not_equal(p.alg, 0);
	p.lanes = (uint16_t)strtoul(field(&rest), NULL, 10);
	p.expires_ns = strtoull(field(&rest), NULL, 10);
	unhex(field(&rest), p.k_c2n, 32);
	unhex(field(&rest), p.k_n2c, 32);
	assert_null(rest);
	p.authority = r->any;
	assert_non_null(r->table);
	assert_int_equal(scpp_auth_table_install(r->table, &p), 0);
}

static void
do_dgram(struct replay *r, char *rest)
{
	static uint8_t d[70000];
	const char *name = field(&rest), *exp = field(&rest);
	struct scpp_auth_table_stats before, after;
	struct scpp_auth_verdict v;
	size_t n = unhex(field(&rest), d, sizeof(d));
	int want = expect_code(exp), got;

	assert_null(rest);
	scpp_auth_table_stats_get(r->table, &before);
	got = scpp_auth_verify(r->table, d, n, r->now, &v);
	scpp_auth_table_stats_get(r->table, &after);
	if (got != want)
		fail_msg("dgram %s: got %s, want %s", name, scpp_auth_error_name(got), exp);
	assert_int_equal(after.verified - before.verified, want == 0 ? 1 : 0);
	r->ndgram++;
	note(r, name);
}

/* An SF record as the owner receives it on @p from's session. */
static void
do_carried(struct replay *r, char *rest)
{
	static uint8_t rec[SCPP_AUTH_CHAIN_BYTES_MAX + 512];
	struct scpp_auth_owner o;
	struct scpp_auth_carried c;
	struct scpp_auth_fault f;
	const char *name = field(&rest), *exp = field(&rest);
	struct named_carried *nc = &r->carried[r->ncarried];
	uint8_t from[32];
	size_t n;
	int got, want = expect_code(exp);

	unhex(field(&rest), from, sizeof(from));
	n = unhex(field(&rest), rec, sizeof(rec));
	assert_null(rest);
	assert_true(r->ncarried < MAX_CARRIED);
	/* Every record decodes and re-encodes to its bytes: failures are
	 * semantic. */
	assert_int_equal(scpp_auth_carried_decode(rec, n, &c, NULL, NULL), 0);
	{
		static uint8_t again[sizeof(rec)];

		assert_int_equal(scpp_auth_carried_encode(&c, again, sizeof(again)), (int)n);
		assert_memory_equal(again, rec, n);
	}
	memset(&o, 0, sizeof(o));
	o.trust = (struct scpp_auth_trust){(const uint8_t(*)[32])r->roots, r->nroots, r->rs};
	o.peers = (const uint8_t(*)[32])r->peers;
	o.npeers = r->npeers;
	o.max_hops = (uint8_t)r->max_hops;
	got = scpp_auth_carried_accept(&c, &o, from, r->now, &nc->ca, &f);
	if (got != want)
		fail_msg("carried %s: got %s, want %s", name, scpp_auth_error_name(got), exp);
	if (got == 0) {
		snprintf(nc->name, sizeof(nc->name), "%s", name);
		r->ncarried++;
	}
	note(r, name);
}

/* A command of forwarded work: allowed only if the carried principal's
 * rights and every restriction allow it. */
static void
do_crequest(struct replay *r, char *rest)
{
	const char *name = field(&rest), *exp = field(&rest), *cname = field(&rest);
	const char *oid = field(&rest), *attr = field(&rest), *ops_s = field(&rest);
	struct named_carried *nc = NULL;
	struct scpp_oid e;
	uint16_t ops;
	int got, want = expect_code(exp);

	assert_null(rest);
	for (unsigned int i = 0; i < r->ncarried; i++)
		if (strcmp(r->carried[i].name, cname) == 0)
			nc = &r->carried[i];
	assert_non_null(nc);
	assert_int_equal(scpp_oid_parse(oid, strlen(oid), &e), 0);
	assert_int_equal(scpp_auth_ops_parse(ops_s, &ops, NULL), 0);
	got = scpp_auth_check_name(nc->ca.authority, e, attr, strlen(attr), ops, NULL);
	if (got == 0 && nc->ca.restrictions != NULL)
		got = scpp_auth_check_name(nc->ca.restrictions, e, attr, strlen(attr), ops, NULL);
	if (got != want)
		fail_msg("crequest %s: got %s, want %s", name, scpp_auth_error_name(got), exp);
	r->ncreq++;
	note(r, name);
}

/* A CONT's extension 1 as an owner opens it (docs/SECURITY.md §9.4 item 9):
 * first in the area, MAC over the header and everything after it,
 * RESTRICTED set, for the CONT's client id. */
static void
do_cont(struct replay *r, char *rest)
{
	static uint8_t m[1024];
	const char *name = field(&rest), *exp = field(&rest);
	struct scpp_auth_fwd_principal fp;
	int want = expect_code(exp), got;
	size_t n = unhex(field(&rest), m, sizeof(m));
	uint64_t client = 0;

	assert_null(rest);
	for (int i = 7; i >= 0; i--)
		client = client << 8 | m[16 + i];
	if (n < 224 || m[52] != 1 || m[53] != SCPP_AUTH_FWD_PRINCIPAL_LEN) {
		got = -SCPP_E_BAD_KIND;
	} else {
		got = scpp_auth_fwd_principal_open(m + 54, SCPP_AUTH_FWD_PRINCIPAL_LEN, r->pairkey, m,
						   52, m + 224, n - 224, &fp);
		if (got == 0 && !(fp.flags & SCPP_AUTH_FWD_F_RESTRICTED))
			got = -SCPP_E_BAD_FLAGS;
		if (got == 0 && fp.session != client)
			got = -SCPP_AUTH_E_WRONG_PRINCIPAL;
	}
	if (got != want)
		fail_msg("cont %s: got %s, want %s", name, scpp_auth_error_name(got), exp);
	if (got == 0) {
		assert_true(r->nconts < 8);
		snprintf(r->conts[r->nconts].name, sizeof(r->conts[0].name), "%s", name);
		memcpy(r->conts[r->nconts++].reply_key, fp.reply_key, 32);
	}
	r->ncont++;
	note(r, name);
}

/* A CONT_REPLY as the origin checks it: the MAC under the named CONT's
 * reply key. */
static void
do_contreply(struct replay *r, char *rest)
{
	static uint8_t m[1024];
	const char *name = field(&rest), *exp = field(&rest), *cname = field(&rest);
	int want = expect_code(exp), got = -ENOENT;
	size_t n = unhex(field(&rest), m, sizeof(m));

	assert_null(rest);
	for (unsigned int i = 0; i < r->nconts; i++)
		if (strcmp(r->conts[i].name, cname) == 0) {
			long b = scpp_auth_cont_reply_open(r->conts[i].reply_key, m, n);

			got = b < 0 ? (int)b : 0;
			if (b >= 0)
				assert_int_equal(b, (long)n - SCPP_AUTH_CONT_REPLY_MAC_LEN);
		}
	if (got != want)
		fail_msg("contreply %s: got %s, want %s", name, scpp_auth_error_name(got), exp);
	r->ncontreply++;
	note(r, name);
}

void
test_conformance_vectors(void **state)
{
	static struct replay rp;
	static char line[LINE_MAX_LEN];
	static struct scpp_auth_chain root_chain;
	static const uint8_t nobody[32];
	struct scpp_auth_compile_config cc = {0};
	struct replay *r = &rp;
	const char *root = getenv("SCPP_SOURCE_ROOT");
	char path[512];
	FILE *f;

	(void)state;
	memset(r, 0, sizeof(*r));
	snprintf(path, sizeof(path), "%s/tests/unit/auth/vectors.txt", root != NULL ? root : ".");
	f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot open %s (SCPP_SOURCE_ROOT)", path);
	r->rs = scpp_auth_revset_create(16, NULL);
	r->any = scpp_auth_authority_compile(&root_chain, 1, nobody, &cc);
	assert_non_null(r->any);
	while (fgets(line, sizeof(line), f) != NULL) {
		char *rest = line, *kind;
		size_t n = strlen(line);

		if (n == 0 || line[n - 1] != '\n')
			fail_msg("%s: line longer than %d bytes or not ended", path, LINE_MAX_LEN);
		n--;
		line[n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		kind = field(&rest);
		if (strcmp(kind, "now") == 0) {
			r->now = strtoull(field(&rest), NULL, 10);
		} else if (strcmp(kind, "root") == 0) {
			unhex(field(&rest), r->roots[r->nroots++], 32);
		} else if (strcmp(kind, "revocation") == 0) {
			struct scpp_auth_revocation rv;
			uint8_t b[SCPP_AUTH_REVOCATION_LEN];

			assert_int_equal(unhex(field(&rest), b, sizeof(b)), sizeof(b));
			assert_int_equal(scpp_auth_revocation_decode(b, sizeof(b), &rv, NULL), 0);
			assert_int_equal(scpp_auth_revset_add(r->rs, &rv, r->now), 0);
		} else if (strcmp(kind, "lane") == 0) {
			struct scpp_auth_table_config tc = {64, 0, NULL};

			tc.lane = (uint16_t)strtoul(field(&rest), NULL, 10);
			r->table = scpp_auth_table_create(&tc);
			assert_non_null(r->table);
		} else if (strcmp(kind, "session") == 0) {
			do_session(r, rest);
		} else if (strcmp(kind, "chain") == 0) {
			do_chain(r, rest);
		} else if (strcmp(kind, "request") == 0) {
			do_request(r, rest);
		} else if (strcmp(kind, "dgram") == 0) {
			do_dgram(r, rest);
		} else if (strcmp(kind, "peer") == 0) {
			assert_true(r->npeers < 4);
			unhex(field(&rest), r->peers[r->npeers++], 32);
		} else if (strcmp(kind, "max_hops") == 0) {
			r->max_hops = (unsigned int)strtoul(field(&rest), NULL, 10);
		} else if (strcmp(kind, "carried") == 0) {
			do_carried(r, rest);
		} else if (strcmp(kind, "crequest") == 0) {
			do_crequest(r, rest);
		} else if (strcmp(kind, "pairkey") == 0) {
			unhex(field(&rest), r->pairkey, 32);
		} else if (strcmp(kind, "cont") == 0) {
			do_cont(r, rest);
		} else if (strcmp(kind, "contreply") == 0) {
			do_contreply(r, rest);
		} else {
			fail_msg("unknown vector line kind '%s'", kind);
		}
	}
	fclose(f);
	assert_true(r->nchains >= 9);
	assert_true(r->nreq >= 5);
	assert_true(r->ndgram >= 15);
	for (size_t i = 0; i < SCPP_ARRAY_SIZE(required); i++)
		if (!(r->seen_mask & (1u << i)))
			fail_msg("vector %s missing from %s", required[i], path);
	assert_true(r->ncarried >= 2 && r->ncreq >= 5);
	assert_true(r->ncont >= 5 && r->ncontreply >= 3);
	for (unsigned int i = 0; i < r->ncarried; i++)
		scpp_auth_carried_authority_free(&r->carried[i].ca);
	scpp_auth_table_free(r->table);
	scpp_auth_authority_free(r->any);
	scpp_auth_revset_free(r->rs);
}
