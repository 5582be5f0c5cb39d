/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target for the session layer's wire parsers: handshake datagrams
 * and messages on both sides, and session datagrams on the worker path.
 *
 * The first input byte picks what the rest is (mod 4):
 *   0  a datagram: handshake header parse, the node's HELLO handler, the
 *      client's CHALLENGE and ACCEPT handlers (on initiators prepared in
 *      the right state), REJECT decode; node to node (SECURITY.md §9.4):
 *      an IDENTITY datagram (peek, open under a fixed pair key, then the
 *      SF record it carries; its fragment fields), the same bytes as FORWARD extension 1, and
 *      as an SF record directly;
 *   1  a FINISH message (reassembled) for the node, raw: decoding and
 *      cookie paths;
 *   2  a FINISH message whose cookie fields are replaced by a valid cookie
 *      for its ephemeral key and algorithm, so the signature, chain and
 *      compilation paths see fuzzed chains; on success the session is
 *      closed again, so every input starts from the same state;
 *   3  a session datagram for a worker table and a client session that
 *      hold one fixed session (reinstalled per input: fresh windows).
 *
 * Properties: no crash or out-of-bounds access; a handshake answer is never
 * larger than what caused it; a FINISH that fails leaves the node's session
 * count unchanged; a datagram either verifies exactly once or changes
 * nothing. Everything is seeded, so runs are deterministic.
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

#define NOW UINT64_C(1800000000000000000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct scpp_auth_keypair root, node, alice;
static struct scpp_auth_responder *resp;
static struct scpp_auth_table *table;
static struct scpp_auth_authority *all;
static struct scpp_auth_session_params sp;
static uint8_t chain_enc[SCPP_AUTH_CHAIN_BYTES_MAX];
static size_t chain_len;
static const uint8_t addr[6] = {127, 0, 0, 1, 0x1c, 0x84};
static uint8_t reply[512], finish[SCPP_AUTH_FINISH_MAX];

static void
key(struct scpp_auth_keypair *k, uint8_t tag)
{
	uint8_t seed[32];

	memset(seed, tag, sizeof(seed));
	CHECK(scpp_auth_key_from_seed(k, seed) == 0);
}

static void
setup(void)
{
	static const uint8_t seed[32] = {9};
	static struct scpp_auth_chain c, empty;
	struct scpp_auth_responder_config rc;
	struct scpp_auth_table_config tc = {8, 0, NULL};
	struct scpp_auth_compile_config cc = {0};
	uint8_t g[SCPP_AUTH_GRANT_MAX];
	static uint8_t roots[1][32];
	int n;

	CHECK(scpp_auth_init() == 0);
	key(&root, 1);
	key(&node, 0x10);
	key(&alice, 2);
	memcpy(roots[0], root.pk, 32);
	memset(&rc, 0, sizeof(rc));
	rc.node_key = &node;
	rc.trust = (struct scpp_auth_trust){(const uint8_t(*)[32])roots, 1, NULL};
	rc.capacity = 8;
	rc.lanes = 2;
	rc.seed = seed;
	resp = scpp_auth_responder_create(&rc, NOW);
	CHECK(resp != NULL);
	c.n = 1;
	memcpy(c.link[0].subject, alice.pk, 32);
	c.link[0].ops = SCPP_AUTH_OP_GET;
	c.link[0].expires_ns = NOW + 1000;
	CHECK(scpp_auth_grant_sign(&c.link[0], &root, g, sizeof(g)) > 0);
	n = scpp_auth_chain_encode(&c, chain_enc, sizeof(chain_enc));
	CHECK(n > 0);
	chain_len = (size_t)n;
	table = scpp_auth_table_create(&tc);
	CHECK(table != NULL);
	all = scpp_auth_authority_compile(&empty, 1, root.pk, &cc);
	CHECK(all != NULL);
	memset(&sp, 0, sizeof(sp));
	sp.id = UINT64_C(0x1234) << 24 | 3;
	sp.expires_ns = NOW + 1000;
	sp.alg = SCPP_AUTH_ALG_AES256GMAC;
	sp.lanes = 2;
	memset(sp.k_c2n, 0xc2, 32);
	memset(sp.k_n2c, 0x2c, 32);
	sp.authority = all;
}

static struct scpp_auth_initiator *
initiator(uint16_t algs)
{
	static const uint8_t eseed[32] = {7};
	struct scpp_auth_initiator_config ic;

	memset(&ic, 0, sizeof(ic));
	ic.principal = &alice;
	ic.chain[0] = chain_enc;
	ic.chain_len[0] = chain_len;
	ic.nchains = 1;
	ic.algs = algs;
	ic.hs_id = 0x77;
	ic.ephemeral_seed = eseed;
	return scpp_auth_initiator_create(&ic);
}

/* Node-to-node parsers: nothing but the MAC'd bytes is believed. */
static void
node_to_node(const uint8_t *d, size_t n)
{
	static const uint8_t pair[32] = {0x5e};
	struct scpp_auth_fwd_principal fp;
	struct scpp_auth_carried c;
	const uint8_t *sf = NULL;
	size_t sf_len = 0;
	uint32_t from = 0, off = 0;

	if (scpp_auth_identity_open(d, n, pair, 3, &from, &sf, &sf_len) == 0) {
		CHECK(sf == d + 40 && sf_len + SCPP_AUTH_IDENTITY_OVERHEAD == n);
		(void)scpp_auth_carried_decode(sf, sf_len, &c, NULL, &off);
	}
	(void)scpp_auth_identity_peek(d, n, &from);
	{
		struct scpp_auth_identity_frag f;

		if (scpp_auth_identity_open_frag(d, n, pair, 3, &f) == 0)
			CHECK(f.piece == d + 40 && f.piece_len + SCPP_AUTH_IDENTITY_OVERHEAD == n &&
			      f.index < f.count && f.count <= SCPP_AUTH_IDENTITY_FRAGS_MAX);
	}
	if (scpp_auth_fwd_principal_open(d, n, pair, d, n < 44 ? n : 44, d, n, &fp) == 0)
		CHECK(n == SCPP_AUTH_FWD_PRINCIPAL_LEN);
	(void)scpp_auth_carried_decode(d, n, &c, NULL, &off);
}

static void
datagram(const uint8_t *d, size_t n)
{
	struct scpp_auth_initiator *ini;
	struct scpp_auth_client_session *cs = NULL;
	struct scpp_auth_hs_dgram h;
	struct scpp_auth_reject rej;
	uint8_t hello[512];
	int rc;

	if (scpp_auth_hs_parse(d, n, &h) == 0) {
		CHECK(h.payload == d + 32 && h.payload_len == n - 32);
		if (h.kind == SCPP_AUTH_KIND_REJECT)
			(void)scpp_auth_reject_decode(h.payload, h.payload_len, &rej);
	}
	node_to_node(d, n);
	rc = scpp_auth_responder_hello(resp, d, n, addr, sizeof(addr), NOW, reply, sizeof(reply));
	CHECK(rc < 0 || (rc == 32 + SCPP_AUTH_CHALLENGE_LEN && (size_t)rc < n));
	/* The client: a CHALLENGE answer to its HELLO, then an ACCEPT. */
	ini = initiator(0);
	CHECK(ini != NULL);
	CHECK(scpp_auth_initiator_hello(ini, hello, sizeof(hello)) > 0);
	rc = scpp_auth_initiator_challenge(ini, d, n, finish, sizeof(finish), NULL);
	CHECK(rc < 0 || rc <= SCPP_AUTH_FINISH_MAX);
	if (rc > 0) {
		rc = scpp_auth_initiator_accept(ini, d, n, &cs, &rej);
		CHECK(rc != 0 || cs != NULL);
		scpp_auth_client_session_free(cs);
	}
	scpp_auth_initiator_free(ini);
}

static void
finish_raw(const uint8_t *m, size_t n)
{
	struct scpp_auth_finish_result res;
	unsigned int before = scpp_auth_responder_sessions(resp);
	int rc = scpp_auth_responder_finish(resp, m, n, 0x77, addr, sizeof(addr), NOW, reply,
					    sizeof(reply), &res);

	if (rc < 0) {
		CHECK(scpp_auth_responder_sessions(resp) == before);
		CHECK(res.reply_len == 0 || res.reply_len == 32 + SCPP_AUTH_REJECT_LEN);
		CHECK(res.reply_len == 0 || res.reply_len < n);
		return;
	}
	CHECK(res.reply_len == 32 + SCPP_AUTH_ACCEPT_LEN);
	if (rc == 0) {
		CHECK(scpp_auth_responder_sessions(resp) == before + 1);
		scpp_auth_authority_free(scpp_auth_responder_close(resp, res.params.id));
	}
}

/* Give a fuzzed FINISH a cookie the node will accept: run its HELLO (same
 * ephemeral key and algorithm) and copy the CHALLENGE's fields. */
static void
finish_cooked(const uint8_t *m, size_t n)
{
	uint8_t hello[32 + SCPP_AUTH_HELLO_LEN], *f;
	uint16_t alg;

	if (n < SCPP_AUTH_FINISH_FIXED || n > SCPP_AUTH_FINISH_MAX) {
		finish_raw(m, n);
		return;
	}
	f = malloc(n);
	CHECK(f != NULL);
	memcpy(f, m, n);
	alg = (uint16_t)(f[2] | f[3] << 8);
	memset(hello, 0, sizeof(hello));
	memcpy(hello, "SC\x01\x08\x01\x00", 6);
	hello[6] = SCPP_AUTH_HELLO_LEN & 0xff;
	hello[7] = SCPP_AUTH_HELLO_LEN >> 8;
	hello[16] = 0x77;
	hello[28] = 1;
	hello[32] = 1;
	hello[34] = (uint8_t)alg;
	hello[35] = (uint8_t)(alg >> 8);
	memcpy(hello + 36, f + 4, 32);
	if (scpp_auth_responder_hello(resp, hello, sizeof(hello), addr, sizeof(addr), NOW, reply,
				      sizeof(reply)) > 0 &&
	    (reply[34] | reply[35] << 8) == alg) {
		memcpy(f + 36, reply + 32 + 36, 8);  /* epoch id */
		memcpy(f + 44, reply + 32 + 148, 8); /* cookie time */
		memcpy(f + 52, reply + 32 + 156, 16); /* cookie */
	}
	finish_raw(f, n);
	free(f);
}

static void
session_dgram(const uint8_t *d, size_t n)
{
	struct scpp_auth_client_session *cs;
	struct scpp_auth_table_stats a, b;
	struct scpp_auth_verdict v, v2;
	uint8_t *copy;
	int rc;

	scpp_auth_table_close(table, sp.id);
	CHECK(scpp_auth_table_install(table, &sp) == 0);
	scpp_auth_table_stats_get(table, &a);
	rc = scpp_auth_verify(table, d, n, NOW, &v);
	scpp_auth_table_stats_get(table, &b);
	CHECK((rc == 0) == (b.verified == a.verified + 1));
	if (rc == 0) {
		CHECK(v.authority == all && v.session == sp.id);
		CHECK(scpp_auth_verify(table, d, n, NOW, &v2) == -SCPP_AUTH_E_REPLAY);
		/* Seal a copy as the node's reply on the same slot. */
		copy = malloc(n);
		CHECK(copy != NULL);
		memcpy(copy, d, n);
		CHECK(scpp_auth_seal(table, v.slot, copy, n) == 0);
		free(copy);
	}
	cs = scpp_auth_client_session_create(&sp, NULL);
	CHECK(cs != NULL);
	rc = scpp_auth_client_open(cs, d, n, NULL);
	CHECK(rc != 0 || scpp_auth_client_open(cs, d, n, NULL) == -SCPP_AUTH_E_REPLAY);
	scpp_auth_client_session_free(cs);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;

	if (!init) {
		setup();
		init = 1;
	}
	if (size == 0)
		return 0;
	switch (data[0] & 3) {
	case 0:
		datagram(data + 1, size - 1);
		break;
	case 1:
		finish_raw(data + 1, size - 1);
		break;
	case 2:
		finish_cooked(data + 1, size - 1);
		break;
	default:
		session_dgram(data + 1, size - 1);
		break;
	}
	return 0;
}
