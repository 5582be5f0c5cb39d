/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target for the lib/auth object decoders: grants, chains,
 * revocation entries and carried identity records (the bytes a FINISH, a
 * file or a forwarder brings to the node).
 * Besides "never crash, never read out of bounds", it checks what the
 * decoders promise:
 *
 * - an error has a code and an offset inside the input;
 * - an accepted object re-encodes to exactly its input bytes (canonical),
 *   decodes again, and every proper prefix of it is a truncation;
 * - an accepted chain verifies without crashing, both against an unrelated
 *   root and against its own first issuer (so attenuation, expiry and
 *   signature paths run on fuzzed links), and compiles into an authority
 *   whose checks agree with scpp_auth_grant_has_attr() on the last link.
 *
 * Violations abort(), which libFuzzer (and the replay driver) report.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scpp_auth.h"

#define CHECK(x)                                                              \
	do {                                                                  \
		if (!(x))                                                     \
			abort();                                              \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* About 6 KiB each: static, never on the fuzzer's stack. */
static struct scpp_auth_chain chain, chain2;
static uint8_t enc[SCPP_AUTH_CHAIN_BYTES_MAX];

static void
check_grant(const uint8_t *d, size_t n)
{
	struct scpp_auth_grant g, g2;
	uint8_t out[SCPP_AUTH_GRANT_MAX];
	uint32_t off = UINT32_MAX;
	size_t used = 0;
	int rc = scpp_auth_grant_decode(d, n, &g, &used, &off);

	if (rc != 0) {
		CHECK(rc < 0 && off <= n);
		return;
	}
	CHECK(used <= n && used == scpp_auth_grant_size(&g) && g.raw == d && g.raw_len == used);
	CHECK(scpp_auth_grant_check(&g) == 0);
	CHECK(scpp_auth_grant_encode(&g, out, sizeof(out)) == (int)used);
	CHECK(memcmp(out, d, used) == 0);
	CHECK(scpp_auth_grant_encode(&g, out, used - 1) == -ENOSPC);
	CHECK(scpp_auth_grant_decode(out, used, &g2, NULL, NULL) == 0);
	CHECK(scpp_auth_grant_decode(d, used - 1, &g2, NULL, NULL) == -SCPP_E_TRUNCATED);
	CHECK(scpp_auth_grant_decode(d, used / 2, &g2, NULL, NULL) == -SCPP_E_TRUNCATED);
	{
		uint8_t id1[32], id2[32];

		CHECK(scpp_auth_grant_id(&g, id1) == 0);
		g.raw = NULL; /* the id of the fields equals the id of the bytes */
		CHECK(scpp_auth_grant_id(&g, id2) == 0);
		CHECK(memcmp(id1, id2, 32) == 0);
	}
	for (unsigned int i = 0; i < g.nattrs; i++)
		CHECK(scpp_auth_grant_has_attr(&g, g.attr[i].p, g.attr[i].len));
}

static void
check_chain(const uint8_t *d, size_t n)
{
	struct scpp_auth_compile_config cc = {0};
	struct scpp_auth_authority *a;
	struct scpp_auth_trust t;
	uint8_t roots[1][32] = {{0}};
	uint32_t off = UINT32_MAX;
	size_t used = 0;
	int rc = scpp_auth_chain_decode(d, n, &chain, &used, &off);

	if (rc != 0) {
		CHECK(rc < 0 && off <= n);
		return;
	}
	CHECK(used == scpp_auth_chain_size(&chain));
	CHECK(scpp_auth_chain_encode(&chain, enc, sizeof(enc)) == (int)used);
	CHECK(memcmp(enc, d, used) == 0);
	CHECK(scpp_auth_chain_decode(enc, used, &chain2, NULL, NULL) == 0);
	CHECK(used == 4 || scpp_auth_chain_decode(d, used - 1, &chain2, NULL, NULL) == -SCPP_E_TRUNCATED);
	t = (struct scpp_auth_trust){(const uint8_t(*)[32])roots, 1, NULL};
	rc = scpp_auth_chain_verify(&chain, roots[0], &t, 0, NULL);
	if (chain.n == 0)
		CHECK(rc == 0);
	else if (memcmp(chain.link[0].issuer, roots[0], 32) != 0)
		CHECK(rc == -SCPP_AUTH_E_UNTRUSTED_ROOT);
	if (chain.n > 0) {
		const struct scpp_auth_grant *leaf = &chain.link[chain.n - 1];

		memcpy(roots[0], chain.link[0].issuer, 32);
		rc = scpp_auth_chain_verify(&chain, leaf->subject, &t, 1, NULL);
		CHECK(rc <= 0 && rc != -EINVAL);
		a = scpp_auth_authority_compile(&chain, 1, leaf->subject, &cc);
		CHECK(a != NULL);
		CHECK(scpp_auth_authority_expires(a) == leaf->expires_ns);
		for (unsigned int i = 0; i < leaf->nattrs; i++)
			CHECK(scpp_auth_check_name(a, leaf->scope.oid, leaf->attr[i].p,
						   leaf->attr[i].len, leaf->ops, NULL) == 0);
		CHECK(scpp_auth_check_name(a, leaf->scope.oid, "\xff", 1, leaf->ops, NULL) ==
		      (leaf->nattrs == 0 ? 0 : -EACCES));
		CHECK(scpp_auth_cover(a, &leaf->scope, leaf->ops) ==
		      (leaf->nattrs == 0 ? SCPP_AUTH_COVER_ALL : SCPP_AUTH_COVER_SOME));
		scpp_auth_authority_free(a);
	}
}

static void
check_revocation(const uint8_t *d, size_t n)
{
	struct scpp_auth_revocation r;
	uint8_t out[SCPP_AUTH_REVOCATION_LEN];
	uint32_t off = UINT32_MAX;
	int rc = scpp_auth_revocation_decode(d, n, &r, &off);

	if (rc != 0) {
		CHECK(rc < 0 && off <= n);
		return;
	}
	CHECK(n == SCPP_AUTH_REVOCATION_LEN);
	CHECK(scpp_auth_revocation_encode(&r, out, sizeof(out)) == SCPP_AUTH_REVOCATION_LEN);
	CHECK(memcmp(out, d, n) == 0);
	(void)scpp_auth_revocation_verify(&r);
}

/* A carried identity record ("SF"): canonical, prefixes truncated. */
static void
check_carried(const uint8_t *d, size_t n)
{
	static struct scpp_auth_carried c, c2;
	static uint8_t out[SCPP_AUTH_CHAIN_BYTES_MAX + 2048];
	uint32_t off = UINT32_MAX;
	size_t used = 0;
	int rc = scpp_auth_carried_decode(d, n, &c, &used, &off);

	if (rc != 0) {
		CHECK(rc < 0 && off <= n);
		return;
	}
	CHECK(used <= n && used == scpp_auth_carried_size(&c));
	CHECK(scpp_auth_carried_encode(&c, out, sizeof(out)) == (int)used);
	CHECK(memcmp(out, d, used) == 0);
	CHECK(scpp_auth_carried_decode(out, used, &c2, NULL, NULL) == 0);
	CHECK(scpp_auth_carried_decode(d, used - 1, &c2, NULL, NULL) < 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;

	if (!init) {
		CHECK(scpp_auth_init() == 0);
		init = 1;
	}
	check_grant(data, size);
	check_chain(data, size);
	check_revocation(data, size);
	check_carried(data, size);
	/* A chain's links start at byte 4: try them as grants too. */
	if (size > 4)
		check_grant(data + 4, size - 4);
	return 0;
}
