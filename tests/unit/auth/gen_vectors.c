/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Generator of the lib/auth conformance vectors (docs/SECURITY.md §11).
 *
 *   build/tests/gen_auth_vectors > tests/unit/auth/vectors.txt
 *   build/tests/gen_auth_vectors --check tests/unit/auth/vectors.txt
 *
 * Every key comes from a fixed seed, every time is fixed, Ed25519 is
 * deterministic and the MACs use fixed session keys and counters, so the
 * output is a pure function of this file and the formats: --check (a meson
 * test) regenerates it and fails if the committed table differs, so the
 * table can neither rot nor be edited by hand. test_auth_vectors.c replays
 * it with no knowledge of how it was made.
 *
 * Line format (fields separated by one space; '#' starts a comment):
 *   now NS                          the verifier's clock
 *   root PUBHEX                     a root of trust
 *   revocation HEX                  a revocation entry to add
 *   lane N                          the lane of the verifying table
 *   session ID ALG LANES EXPIRES KC2N KN2C   a session to install
 *   chain NAME EXPECT PRINCIPAL CHAINHEX    verify; EXPECT is a code name
 *   request NAME EXPECT CHAIN OID ATTR OPS  check on the named chain's authority
 *   dgram NAME EXPECT HEX            verify, in file order, on one table
 *   peer PUBHEX                     a node the owner lets carry identities
 *   max_hops N                      hops the owner accepts
 *   carried NAME EXPECT FROMHEX HEX an SF record (§9.2) arriving on FROM's
 *                                   session: accept it as the owner
 *   crequest NAME EXPECT CARRIED OID ATTR OPS   check on an accepted record's
 *                                   rights (the principal's and the restrictions')
 *   pairkey HEX                     the two nodes' pairwise key (§9.4 item 1)
 *   cont NAME EXPECT HEX            a CONT message whose extension 1 the owner
 *                                   opens under pairkey (§9.4 item 9)
 *   contreply NAME EXPECT CONT HEX  a CONT_REPLY message, MAC'd, answering
 *                                   the named cont: the origin checks it
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scpp_auth.h"

#define NOW UINT64_C(1800000000000000000)
#define HOUR (UINT64_C(3600) * 1000000000)

static char out[1 << 20];
static size_t out_len;

static void
emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#include <stdarg.h>
static void
emit(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	out_len += (size_t)vsnprintf(out + out_len, sizeof(out) - out_len, fmt, ap);
	va_end(ap);
	if (out_len >= sizeof(out))
		abort();
}

static void
hex(const uint8_t *p, size_t n)
{
	static char buf[2 * 70000 + 1];

	scpp_auth_hex_format(buf, p, n);
	emit("%s", buf);
}

static void
key(struct scpp_auth_keypair *k, uint8_t tag)
{
	uint8_t seed[32];

	memset(seed, tag, sizeof(seed));
	if (scpp_auth_key_from_seed(k, seed) != 0)
		abort();
}

static struct scpp_auth_keypair root, alice, bob, carol, mallory;
static const char *const two[] = {"name", "size"};
static const char *const one[] = {"name"};

/* A two-link chain root -> alice -> bob; @tweak changes it before signing. */
enum tweak { OK, EXPIRED, BROKEN, WIDENED_OPS, WIDENED_SCOPE, REVOKED, UNTRUSTED, BAD_SIG };

static size_t
chain(uint8_t *enc, enum tweak tw, struct scpp_auth_grant *link1_out)
{
	uint8_t g0[SCPP_AUTH_GRANT_MAX], g1[SCPP_AUTH_GRANT_MAX];
	struct scpp_auth_chain c;
	struct scpp_oid_prefix p;
	int n;

	memset(&c, 0, sizeof(c));
	c.n = 2;
	scpp_oid_prefix_make(&p, scpp_oid_make(0, 1, 0, 0, 0), 48);
	c.link[0] = (struct scpp_auth_grant){.scope = p,
					     .ops = SCPP_AUTH_OP_GET | SCPP_AUTH_OP_SET,
					     .depth = 1,
					     .expires_ns = NOW + 24 * HOUR,
					     .nattrs = 2};
	memcpy(c.link[0].subject, alice.pk, 32);
	for (int i = 0; i < 2; i++)
		c.link[0].attr[i] = (struct scpp_auth_attr){two[i], (uint8_t)strlen(two[i])};
	scpp_oid_prefix_make(&p, scpp_oid_make(0, 1, 2, 0, 0), 64);
	c.link[1] = (struct scpp_auth_grant){.scope = p,
					     .ops = SCPP_AUTH_OP_GET,
					     .depth = 0,
					     .expires_ns = NOW + 12 * HOUR,
					     .nattrs = 1};
	memcpy(c.link[1].subject, bob.pk, 32);
	c.link[1].attr[0] = (struct scpp_auth_attr){one[0], 4};
	if (tw == EXPIRED)
		c.link[1].expires_ns = NOW - 1;
	if (tw == WIDENED_OPS)
		c.link[1].ops |= SCPP_AUTH_OP_DEL;
	if (tw == WIDENED_SCOPE)
		scpp_oid_prefix_make(&c.link[1].scope, scpp_oid_make(0, 1, 0, 0, 0), 32);
	if (tw == REVOKED)
		c.link[1].expires_ns = NOW + 11 * HOUR; /* a distinct grant id */
	if (scpp_auth_grant_sign(&c.link[0], tw == UNTRUSTED ? &mallory : &root, g0, sizeof(g0)) < 0 ||
	    scpp_auth_grant_sign(&c.link[1], tw == BROKEN ? &carol : &alice, g1, sizeof(g1)) < 0)
		abort();
	if (tw == BAD_SIG)
		c.link[0].sig[17] ^= 0x20;
	if (link1_out != NULL)
		*link1_out = c.link[1];
	n = scpp_auth_chain_encode(&c, enc, SCPP_AUTH_CHAIN_BYTES_MAX);
	if (n < 0)
		abort();
	return (size_t)n;
}

static void
chain_line(const char *name, const char *expect, const uint8_t *principal, enum tweak tw)
{
	uint8_t enc[SCPP_AUTH_CHAIN_BYTES_MAX];
	size_t n = chain(enc, tw, NULL);

	emit("chain %s %s ", name, expect);
	hex(principal, 32);
	emit(" ");
	hex(enc, n);
	emit("\n");
}

/* ---- datagrams ---- */

static const uint8_t block[65] = {
	/* docs/PROTOCOL.md §13: get @0.1.0.1.2a name %1 ; set @0.1.0.1.2b name %1 */
	0x00, 0x01, 0x01, 0x31, 0x01, 0x00, 0x02, 0x01, 0x00, 0x01, 0x07, 0x00, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
	0x00, 0x01, 0x05, 0x04, 0x6e, 0x61, 0x6d, 0x65, 0x02, 0x00, 0x02, 0x00, 0x01,
	0x07, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2b, 0x00, 0x00, 0x00,
	0x00, 0x01, 0x00, 0x00, 0x01, 0x05, 0x04, 0x6e, 0x61, 0x6d, 0x65, 0x02, 0x00,
};

#define DLEN (32 + sizeof(block) + SCPP_AUTH_TAG_LEN)

static void
dgram_build(uint8_t *d, uint64_t block_id)
{
	memset(d, 0, DLEN);
	d[0] = 0x53;
	d[1] = 0x43;
	d[2] = 1;
	d[3] = 1; /* BLOCK */
	d[4] = 0x01;
	d[5] = SCPP_AUTH_TAG_LEN;
	d[6] = sizeof(block);
	for (int i = 0; i < 8; i++)
		d[16 + i] = (uint8_t)(block_id >> (8 * i));
	d[28] = 1;
	memcpy(d + 32, block, sizeof(block));
}

/* Seal on @lane until the lane's counter reaches @counter, keeping only the
 * datagram sealed at @counter (block id @block_id). Every counter is sealed
 * once: no nonce is ever used for two messages, even in test vectors. */
static void
seal_at(struct scpp_auth_client_session *cs, uint16_t lane, uint64_t *next, uint64_t counter,
	uint8_t *d, uint64_t block_id)
{
	uint8_t skipped[DLEN];

	if (*next > counter)
		abort();
	while (*next < counter) {
		dgram_build(skipped, 0);
		if (scpp_auth_client_seal(cs, lane, skipped, DLEN) != 0)
			abort();
		(*next)++;
	}
	dgram_build(d, block_id);
	if (scpp_auth_client_seal(cs, lane, d, DLEN) != 0)
		abort();
	(*next)++;
}

static void
dgram_line(const char *name, const char *expect, const uint8_t *d, size_t n)
{
	emit("dgram %s %s ", name, expect);
	hex(d, n);
	emit("\n");
}

static struct scpp_auth_session_params
session(uint64_t id, uint16_t alg, uint64_t expires, uint8_t tag)
{
	struct scpp_auth_session_params p;

	memset(&p, 0, sizeof(p));
	p.id = id;
	p.alg = alg;
	p.lanes = 2;
	p.expires_ns = expires;
	memset(p.k_c2n, tag, 32);
	memset(p.k_n2c, (uint8_t)~tag, 32);
	emit("session %llu %s %u %llu ", (unsigned long long)id,
	     alg == SCPP_AUTH_ALG_AES256GMAC ? "aes256gmac" : "chachapoly", p.lanes,
	     (unsigned long long)expires);
	hex(p.k_c2n, 32);
	emit(" ");
	hex(p.k_n2c, 32);
	emit("\n");
	return p;
}

static void
datagrams(void)
{
	struct scpp_auth_session_params a, c, x, wrong;
	struct scpp_auth_client_session *ca, *cc, *cx, *cw;
	uint8_t d0[DLEN], d1[DLEN], d2[DLEN], d3[DLEN], dold[DLEN], dfar[DLEN], d[DLEN];
	uint64_t na = 0, nc = 0, nx = 0, nw = 0, nl = 0;

	emit("\n# Session datagrams, verified in this order by one table of lane 0.\n");
	emit("lane 0\n");
	a = session(UINT64_C(0x123456789a) << 24 | 5, SCPP_AUTH_ALG_AES256GMAC, NOW + HOUR, 0xc2);
	c = session(UINT64_C(0x0fedcba987) << 24 | 6, SCPP_AUTH_ALG_CHACHAPOLY, NOW + HOUR, 0x5a);
	x = session(UINT64_C(0x00000000ee) << 24 | 7, SCPP_AUTH_ALG_AES256GMAC, NOW - 1, 0x77);
	wrong = a;
	memset(wrong.k_c2n, 0xc3, 32);
	ca = scpp_auth_client_session_create(&a, NULL);
	cc = scpp_auth_client_session_create(&c, NULL);
	cx = scpp_auth_client_session_create(&x, NULL);
	cw = scpp_auth_client_session_create(&wrong, NULL);
	if (ca == NULL || cc == NULL || cx == NULL || cw == NULL)
		abort();

	/* Sealed in counter order, emitted in the order a network might
	 * deliver them (plus an attacker's copies). */
	seal_at(ca, 0, &na, 0, d0, 1);
	seal_at(ca, 0, &na, 1, d1, 2);
	seal_at(ca, 0, &na, 2, d2, 2);
	seal_at(ca, 0, &na, 3, d3, 3);
	seal_at(ca, 0, &na, 5000 - SCPP_AUTH_WINDOW - 1, dold, 5);
	seal_at(ca, 0, &na, 5000, dfar, 4);
	seal_at(ca, 0, &na, 5001, d, 6);
	dgram_line("valid_block", "OK", d0, DLEN);
	dgram_line("retransmission_counter_2", "OK", d2, DLEN);
	dgram_line("replayed_sequence_number", "E_AUTH_REPLAY", d0, DLEN);
	dgram_line("reordered_counter_1", "OK", d1, DLEN);
	d3[40] ^= 0x01;
	dgram_line("forged_mac", "E_AUTH_BAD_MAC", d3, DLEN);
	d3[40] ^= 0x01;
	dgram_line("genuine_after_forgery", "OK", d3, DLEN);
	dgram_line("far_ahead_counter_5000", "OK", dfar, DLEN);
	dgram_line("out_of_window_number", "E_AUTH_TOO_OLD", dold, DLEN);
	d[5] = 16;
	dgram_line("truncated_tag", "E_AUTH_BAD_TAG", d, DLEN - 8);
	seal_at(cw, 0, &nw, 5002, d, 7);
	dgram_line("wrong_session_key", "E_AUTH_BAD_MAC", d, DLEN);
	dgram_build(d, 8);
	d[8] = 0x42;
	d[4] |= SCPP_AUTH_F_SESSION;
	dgram_line("unknown_session", "E_AUTH_NO_SESSION", d, DLEN);
	seal_at(ca, 1, &nl, 0, d, 9);
	dgram_line("other_lane", "E_AUTH_WRONG_LANE", d, DLEN);
	dgram_build(d, 10);
	dgram_line("no_session_flag", "E_AUTH_NOT_SESSION", d, DLEN);
	{
		/* The delivery layer's cookie (flag bit 1) between payload and tag. */
		uint8_t dc[DLEN + 16];

		dgram_build(dc, 13);
		memmove(dc + 32 + sizeof(block) + 16, dc + 32 + sizeof(block), SCPP_AUTH_TAG_LEN);
		dc[4] |= 0x02;
		memset(dc + 32 + sizeof(block), 0xcc, 16);
		if (scpp_auth_client_seal(ca, 0, dc, sizeof(dc)) != 0)
			abort();
		dgram_line("block_with_delivery_cookie", "OK", dc, sizeof(dc));
	}
	seal_at(cc, 0, &nc, 0, d, 11);
	dgram_line("chachapoly_block", "OK", d, DLEN);
	dgram_line("chachapoly_replayed", "E_AUTH_REPLAY", d, DLEN);
	seal_at(cx, 0, &nx, 0, d, 12);
	dgram_line("expired_session", "E_AUTH_SESSION_EXPIRED", d, DLEN);
	scpp_auth_client_session_free(ca);
	scpp_auth_client_session_free(cc);
	scpp_auth_client_session_free(cx);
	scpp_auth_client_session_free(cw);
}

/* ---- carried identities (escalation through a forwarder, §9) ---- */

enum ctweak { C_OK, C_DIGEST, C_STALE, C_HOPS, C_RESTRICTED, C_OWN_PRINCIPAL };

static void
carried_line(const char *name, const char *expect, const uint8_t *from, enum ctweak tw)
{
	static uint8_t enc[SCPP_AUTH_CHAIN_BYTES_MAX], rec[SCPP_AUTH_CHAIN_BYTES_MAX + 512];
	struct scpp_auth_carried c;
	size_t n = chain(enc, OK, NULL);
	int len;

	memset(&c, 0, sizeof(c));
	c.flags = SCPP_AUTH_CF_CHAINS;
	memcpy(c.principal, tw == C_OWN_PRINCIPAL ? carol.pk : bob.pk, 32);
	c.nchains = 1;
	c.chains = enc;
	c.chains_len = n;
	scpp_auth_carried_digest(1, enc, n, c.digest);
	if (tw == C_DIGEST)
		c.digest[5] ^= 1;
	c.origin_node = 7;
	c.origin_lane = 1;
	c.hops = tw == C_HOPS ? 3 : 0;
	c.origin_session = UINT64_C(0x123456789a000005);
	c.origin_block = 42;
	c.not_after_ns = tw == C_STALE ? NOW : NOW + HOUR;
	if (tw == C_RESTRICTED) {
		c.flags |= SCPP_AUTH_CF_RESTRICTED;
		c.nrestrict = 1;
		scpp_oid_prefix_make(&c.restrict_[0].scope, scpp_oid_make(0, 1, 2, 1, 5), 128);
		c.restrict_[0].ops = SCPP_AUTH_OP_GET;
	}
	len = scpp_auth_carried_encode(&c, rec, sizeof(rec));
	if (len < 0)
		abort();
	emit("carried %s %s ", name, expect);
	hex(from, 32);
	emit(" ");
	hex(rec, (size_t)len);
	emit("\n");
}

static void
carried(void)
{
	emit("\n# Carried identities (section 9): carol is a peer (a forwarder whose own\n");
	emit("# grants are wide), relaying for bob (valid_chain: get on name under\n");
	emit("# @0.1.2.0.0/64). The owner checks bob, never carol.\n");
	emit("peer ");
	hex(carol.pk, 32);
	emit("\nmax_hops 2\n");
	carried_line("carried_for_client", "OK", carol.pk, C_OK);
	emit("crequest carried_inside_client_grant OK carried_for_client @0.1.2.1.5 name get\n");
	emit("crequest escalation_through_forwarder EACCES carried_for_client @0.1.2.1.5 name set\n");
	emit("crequest escalation_outside_client_scope EACCES carried_for_client "
	     "@0.1.3.1.5 name get\n");
	emit("crequest escalation_schema_through_forwarder EACCES carried_for_client "
	     "@0.1.2.1.5 name set,schema\n");
	carried_line("carried_from_non_peer", "EACCES", mallory.pk, C_OK);
	carried_line("carried_forwarder_principal", "E_AUTH_WRONG_PRINCIPAL", carol.pk,
		     C_OWN_PRINCIPAL);
	carried_line("carried_digest_mismatch", "E_AUTH_BAD_SIGNATURE", carol.pk, C_DIGEST);
	carried_line("carried_stale", "E_AUTH_EXPIRED", carol.pk, C_STALE);
	carried_line("carried_too_many_hops", "E_TOO_MANY", carol.pk, C_HOPS);
	carried_line("carried_restricted", "OK", carol.pk, C_RESTRICTED);
	emit("crequest restriction_allows OK carried_restricted @0.1.2.1.5 name get\n");
	emit("crequest restriction_narrows EACCES carried_restricted @0.1.2.1.6 name get\n");
}

static void
le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

enum cont_tweak { K_OK, K_ROW, K_HDR, K_PAIR, K_UNRESTRICTED };

/* A CONT (PROTOCOL.md §19.1) from node 1 to node 2, continuation 0x0102 of
 * session 0x123456789a000005's block 10, from command 1 of a 4-byte block
 * with 3 variables, one row; extension 1 first, sealed under @p key. */
static size_t
cont_build(uint8_t *m, const uint8_t key[32], const uint8_t k_r[32], enum cont_tweak tw)
{
	static const uint8_t blk[4] = {0xb0, 0xb1, 0xb2, 0xb3};
	static const uint8_t row[] = {0x05, 0, 0, 0, 0, 0, 0, 0, 0x03, 0x05, 0x05, 0x02, 0x61, 0x62};
	struct scpp_auth_fwd_principal fp;
	uint8_t nonce[24];
	size_t len = 52 + 172 + sizeof(blk) + sizeof(row);

	memset(m, 0, len);
	m[0] = 1;
	m[2] = 1;
	le(m + 4, 1, 4);
	le(m + 8, 0x0102, 8);
	le(m + 16, 0x123456789a000005ull, 8);
	le(m + 24, 10, 8);
	le(m + 32, 1, 2);
	le(m + 34, 3, 2);
	le(m + 36, 1, 4);
	le(m + 40, sizeof(blk), 4);
	le(m + 44, 800, 4);
	le(m + 48, 172, 2);
	m[52] = 1;
	m[53] = 170;
	memcpy(m + 224, blk, sizeof(blk));
	memcpy(m + 224 + sizeof(blk), row, sizeof(row));
	memset(&fp, 0, sizeof(fp));
	memcpy(fp.principal, bob.pk, 32);
	memset(fp.digest, 0xd1, 32);
	fp.session = 0x123456789a000005ull;
	fp.not_after_ns = NOW + 30 * UINT64_C(1000000000);
	fp.flags = tw == K_UNRESTRICTED ? 0 : SCPP_AUTH_FWD_F_RESTRICTED;
	memcpy(fp.reply_key, k_r, 32);
	memset(nonce, 0x4e, 16);
	le(nonce + 16, 0x0102, 8);
	if (scpp_auth_fwd_principal_seal(&fp, key, m, 52, m + 224, len - 224, nonce, m + 54,
					 SCPP_AUTH_FWD_PRINCIPAL_LEN) < 0)
		abort();
	if (tw == K_ROW)
		m[len - 1] ^= 0x01; /* "ab" becomes "ac" */
	if (tw == K_HDR)
		m[32] = 2; /* start */
	return len;
}

static void
cont_line(const char *name, const char *expect, const uint8_t key[32], enum cont_tweak tw)
{
	uint8_t m[512], k_r[32];
	size_t n;

	memset(k_r, 0x6b, sizeof(k_r));
	n = cont_build(m, key, k_r, tw);
	emit("cont %s %s ", name, expect);
	hex(m, n);
	emit("\n");
}

static void
contreply_line(const char *name, const char *expect, uint8_t k_first, int flip)
{
	/* Header (owner 2, cont 0x0102), then four bytes standing in for the
	 * records (the MAC covers them, whatever they are), then the MAC. */
	uint8_t m[64], k_r[32];
	size_t n = 0;

	memset(m, 0, sizeof(m));
	m[0] = 1;
	le(m + 4, 2, 4);
	le(m + 8, 0x0102, 8);
	n = 16;
	m[n++] = 0x01;
	m[n++] = 0x00;
	m[n++] = 0x02;
	m[n++] = 0x00;
	memset(k_r, 0x6b, sizeof(k_r));
	k_r[0] = k_first;
	scpp_auth_cont_reply_mac(k_r, m, n, m + n);
	n += SCPP_AUTH_CONT_REPLY_MAC_LEN;
	if (flip)
		m[8] ^= 0x01;
	emit("contreply %s %s cont_principal ", name, expect);
	hex(m, n);
	emit("\n");
}

static void
continuations(void)
{
	uint8_t key[32], other[32];

	if (scpp_auth_peer_key(&root, 1, alice.pk, 2, key) != 0 ||
	    scpp_auth_peer_key(&carol, 3, alice.pk, 2, other) != 0)
		abort();
	emit("\n# Continuations (section 9.4 item 9): node 1 (root's key) ships a part of\n");
	emit("# bob's session block to node 2 (alice's key); extension 1 first, RESTRICTED,\n");
	emit("# the CONT_REPLY key 32 x 6b sealed in it. The owner then checks bob's own\n");
	emit("# rights (crequest lines above): the origin's never enter.\n");
	emit("pairkey ");
	hex(key, 32);
	emit("\n");
	cont_line("cont_principal", "OK", key, K_OK);
	cont_line("cont_principal_altered_row", "E_AUTH_BAD_MAC", key, K_ROW);
	cont_line("cont_principal_altered_header", "E_AUTH_BAD_MAC", key, K_HDR);
	cont_line("cont_principal_another_pair", "E_AUTH_BAD_MAC", other, K_OK);
	cont_line("cont_principal_not_restricted", "E_BAD_FLAGS", key, K_UNRESTRICTED);
	emit("crequest escalation_through_continuation EACCES carried_for_client "
	     "@0.1.2.1.5 name set\n");
	contreply_line("cont_reply", "OK", 0x6b, 0);
	contreply_line("cont_reply_altered", "E_AUTH_BAD_MAC", 0x6b, 1);
	contreply_line("cont_reply_other_key", "E_AUTH_BAD_MAC", 0x6c, 0);
}

static void
generate(void)
{
	struct scpp_auth_revocation rv;
	struct scpp_auth_grant revoked;
	uint8_t enc[SCPP_AUTH_CHAIN_BYTES_MAX], rb[SCPP_AUTH_REVOCATION_LEN];

	key(&root, 0x01);
	key(&alice, 0x02);
	key(&bob, 0x03);
	key(&carol, 0x04);
	key(&mallory, 0x05);
	emit("# lib/auth conformance vectors (docs/SECURITY.md section 11).\n");
	emit("# Generated by tests/unit/auth/gen_vectors.c; do not edit: regenerate with\n");
	emit("#   build/tests/gen_auth_vectors > tests/unit/auth/vectors.txt\n");
	emit("# Keys: Ed25519 seeds of 32 equal bytes: root 01, alice 02, bob 03,\n");
	emit("# carol 04, mallory 05. Chains are root -> alice (@0.1.0.0.0/48, get+set,\n");
	emit("# name+size, depth 1, +24 h) -> bob (@0.1.2.0.0/64, get, name, +12 h).\n");
	emit("now %llu\n", (unsigned long long)NOW);
	emit("root ");
	hex(root.pk, 32);
	emit("\n");
	/* Alice revokes the REVOKED variant's second link. */
	chain(enc, REVOKED, &revoked);
	memset(&rv, 0, sizeof(rv));
	if (scpp_auth_grant_id(&revoked, rv.grant_id) != 0)
		abort();
	rv.grant_expires_ns = revoked.expires_ns;
	rv.revoked_ns = NOW - HOUR;
	if (scpp_auth_revocation_sign(&rv, &alice, rb, sizeof(rb)) < 0)
		abort();
	emit("revocation ");
	hex(rb, sizeof(rb));
	emit("\n\n# Chains, verified for the principal at now.\n");
	chain_line("valid_chain", "OK", bob.pk, OK);
	chain_line("expired_grant", "E_AUTH_EXPIRED", bob.pk, EXPIRED);
	chain_line("broken_chain_link", "E_AUTH_BROKEN_LINK", bob.pk, BROKEN);
	chain_line("widened_delegation_ops", "E_AUTH_WIDENED_OPS", bob.pk, WIDENED_OPS);
	chain_line("widened_delegation_scope", "E_AUTH_WIDENED_SCOPE", bob.pk, WIDENED_SCOPE);
	chain_line("wrong_principal", "E_AUTH_WRONG_PRINCIPAL", carol.pk, OK);
	chain_line("revoked_grant", "E_AUTH_REVOKED", bob.pk, REVOKED);
	chain_line("untrusted_root", "E_AUTH_UNTRUSTED_ROOT", bob.pk, UNTRUSTED);
	chain_line("bad_signature", "E_AUTH_BAD_SIGNATURE", bob.pk, BAD_SIG);
	emit("\n# Requests on valid_chain's compiled authority: OID ATTR OPS.\n");
	emit("request inside_grant OK valid_chain @0.1.2.1.5 name get\n");
	emit("request grant_for_another_prefix EACCES valid_chain @0.1.3.1.5 name get\n");
	emit("request attribute_not_granted EACCES valid_chain @0.1.2.1.5 size get\n");
	emit("request operation_not_granted EACCES valid_chain @0.1.2.1.5 name set\n");
	emit("request schema_right_missing EPERM valid_chain @0.1.2.1.5 name get,schema\n");
	datagrams();
	carried();
	continuations();
}

int
main(int argc, char **argv)
{
	generate();
	if (argc == 3 && strcmp(argv[1], "--check") == 0) {
		FILE *f = fopen(argv[2], "rb");
		static char file[sizeof(out)];
		size_t n;

		if (f == NULL) {
			perror(argv[2]);
			return 1;
		}
		n = fread(file, 1, sizeof(file), f);
		fclose(f);
		if (n != out_len || memcmp(file, out, n) != 0) {
			fprintf(stderr, "%s differs from the generator's output: regenerate it\n",
				argv[2]);
			return 1;
		}
		printf("%s: %zu bytes, identical to the generator's output\n", argv[2], n);
		return 0;
	}
	if (argc != 1) {
		fprintf(stderr, "usage: gen_auth_vectors [--check FILE]\n");
		return 2;
	}
	fwrite(out, 1, out_len, stdout);
	return 0;
}
