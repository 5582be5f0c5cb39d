/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/auth, part 2: session datagrams (MAC, framing, lanes,
 * expiry), the anti-replay window against a reference model, the interplay
 * with at-most-once retransmission, worker tables, the handshake (success
 * and each failure), and the conformance vectors of tests/unit/auth/
 * vectors.txt. Run from test_auth.c's main.
 */
#include <errno.h>

#include "auth_test.h"
#include "auth_priv.h" /* the window primitives, tested directly */

static struct scpp_auth_keypair s_root, s_node, s_alice, s_bob, s_carol;
static struct scpp_auth_authority *s_all; /* a root's authority: every right */

static int
session_setup(void **state)
{
	static struct scpp_auth_chain empty;
	struct scpp_auth_compile_config cc = {0};

	(void)state;
	t_key(&s_root, 0x01);
	t_key(&s_alice, 0x02);
	t_key(&s_bob, 0x03);
	t_key(&s_carol, 0x04);
	t_key(&s_node, 0x10);
	s_all = scpp_auth_authority_compile(&empty, 1, s_root.pk, &cc);
	assert_non_null(s_all);
	return 0;
}

static int
session_teardown(void **state)
{
	(void)state;
	scpp_auth_authority_free(s_all);
	return 0;
}

/* The BLOCK payload of docs/PROTOCOL.md §13 (get/set name, 65 bytes). */
static const uint8_t example_block[65] = {
	0x00, 0x01, 0x01, 0x31, 0x01, 0x00, 0x02, 0x01, 0x00, 0x01, 0x07, 0x00, 0x00,
	0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
	0x00, 0x01, 0x05, 0x04, 0x6e, 0x61, 0x6d, 0x65, 0x02, 0x00, 0x02, 0x00, 0x01,
	0x07, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2b, 0x00, 0x00, 0x00,
	0x00, 0x01, 0x00, 0x00, 0x01, 0x05, 0x04, 0x6e, 0x61, 0x6d, 0x65, 0x02, 0x00,
};

/* A datagram of @kind with room for a session tag (tag bytes zero). */
static size_t
mk_dgram(uint8_t *d, uint8_t kind, uint64_t block_id, const uint8_t *payload, size_t plen)
{
	memset(d, 0, 32 + plen + 24);
	d[0] = 0x53;
	d[1] = 0x43;
	d[2] = 1;
	d[3] = kind;
	d[4] = 0x01;
	d[5] = 24;
	auth_put16(d + 6, (uint16_t)plen);
	auth_put64(d + 16, block_id);
	auth_put32(d + 28, 1);
	memcpy(d + 32, payload, plen);
	return 32 + plen + 24;
}

static void
params(struct scpp_auth_session_params *p, uint64_t id, uint16_t alg, uint8_t keytag)
{
	memset(p, 0, sizeof(*p));
	p->id = id;
	p->expires_ns = T_NOW + T_DAY;
	p->alg = alg;
	p->lanes = 4;
	memset(p->k_c2n, keytag, 32);
	memset(p->k_n2c, keytag ^ 0xff, 32);
	memcpy(p->principal, s_root.pk, 32);
	p->authority = s_all;
}

static struct scpp_auth_table *
mk_table(uint32_t cap, uint16_t lane)
{
	struct scpp_auth_table_config c = {cap, lane, NULL};
	struct scpp_auth_table *t = scpp_auth_table_create(&c);

	assert_non_null(t);
	return t;
}

#define SID ((UINT64_C(0xabcde) << 24) | 3) /* slot 3 */

static const uint16_t algs[] = {SCPP_AUTH_ALG_AES256GMAC, SCPP_AUTH_ALG_CHACHAPOLY};

/* ------------------------------------------------------------------- MAC */

static void
test_seal_verify_round_trip_with_both_algorithms(void **state)
{
	(void)state;
	for (size_t k = 0; k < SCPP_ARRAY_SIZE(algs); k++) {
		struct scpp_auth_session_params p;
		struct scpp_auth_client_session *cs;
		struct scpp_auth_table *t = mk_table(16, 1);
		struct scpp_auth_table_stats st;
		struct scpp_auth_verdict v;
		uint8_t d[256];
		size_t n;

		params(&p, SID, algs[k], 0x33);
		assert_int_equal(scpp_auth_table_install(t, &p), 0);
		cs = scpp_auth_client_session_create(&p, NULL);
		assert_non_null(cs);
		for (uint64_t i = 0; i < 5; i++) {
			n = mk_dgram(d, 1, 100 + i, example_block, sizeof(example_block));
			assert_int_equal(scpp_auth_client_seal(cs, 1, d, n), 0);
			/* Sealing set the flag, the session id and the tag. */
			assert_int_equal(d[4], 0x21);
			assert_true(auth_get64(d + 8) == SID);
			assert_int_equal(auth_get16(d + n - 24), 1);
			assert_true(auth_get48(d + n - 22) == i);
			assert_int_equal(scpp_auth_verify(t, d, n, T_NOW, &v), 0);
			assert_true(v.session == SID);
			assert_int_equal(v.slot, 3);
			assert_true(v.counter == i);
			assert_ptr_equal(v.authority, s_all);
		}
		scpp_auth_table_stats_get(t, &st);
		assert_int_equal(st.verified, 5);
		assert_int_equal(st.active, 1);
		assert_int_equal(st.bad_mac, 0);
		scpp_auth_client_session_free(cs);
		scpp_auth_table_free(t);
	}
}

static void
test_forgeries_are_rejected_and_move_nothing(void **state)
{
	struct scpp_auth_session_params p, wrong;
	struct scpp_auth_client_session *cs, *other;
	struct scpp_auth_table *t = mk_table(16, 0);
	struct scpp_auth_table_stats st;
	struct scpp_auth_verdict v;
	uint8_t d[256], f[256];
	size_t n;

	(void)state;
	params(&p, SID, SCPP_AUTH_ALG_AES256GMAC, 0x33);
	params(&wrong, SID, SCPP_AUTH_ALG_AES256GMAC, 0x34);
	assert_int_equal(scpp_auth_table_install(t, &p), 0);
	cs = scpp_auth_client_session_create(&p, NULL);
	other = scpp_auth_client_session_create(&wrong, NULL);
	n = mk_dgram(d, 1, 7, example_block, sizeof(example_block));
	assert_int_equal(scpp_auth_client_seal(cs, 0, d, n), 0);
	/* One bit flipped anywhere MACed: header, payload, lane/counter, MAC. */
	static const size_t spots[] = {3, 16, 31, 32, 60, 96, 32 + 65 + 2, 32 + 65 + 8, 32 + 65 + 23};
	for (size_t i = 0; i < SCPP_ARRAY_SIZE(spots); i++) {
		memcpy(f, d, n);
		f[spots[i]] ^= 0x04;
		assert_code(scpp_auth_verify(t, f, n, T_NOW, &v), -SCPP_AUTH_E_BAD_MAC);
	}
	/* Sealed under another key: same counter, wrong MAC. */
	memcpy(f, d, n);
	mk_dgram(f, 1, 7, example_block, sizeof(example_block));
	assert_int_equal(scpp_auth_client_seal(other, 0, f, n), 0);
	assert_code(scpp_auth_verify(t, f, n, T_NOW, &v), -SCPP_AUTH_E_BAD_MAC);
	scpp_auth_table_stats_get(t, &st);
	assert_int_equal(st.bad_mac, SCPP_ARRAY_SIZE(spots) + 1);
	assert_int_equal(st.verified, 0);
	/* None of them moved the window: the genuine datagram, same counter 0,
	 * is accepted once. */
	assert_int_equal(scpp_auth_verify(t, d, n, T_NOW, &v), 0);
	assert_code(scpp_auth_verify(t, d, n, T_NOW, &v), -SCPP_AUTH_E_REPLAY);
	/* A forgery with a counter far ahead does not make real ones old. */
	memcpy(f, d, n);
	auth_put48(f + n - 22, 1000000);
	assert_code(scpp_auth_verify(t, f, n, T_NOW, &v), -SCPP_AUTH_E_BAD_MAC);
	n = mk_dgram(d, 1, 8, example_block, sizeof(example_block));
	assert_int_equal(scpp_auth_client_seal(cs, 0, d, n), 0);
	assert_int_equal(scpp_auth_verify(t, d, n, T_NOW, &v), 0);
	scpp_auth_client_session_free(cs);
	scpp_auth_client_session_free(other);
	scpp_auth_table_free(t);
}

static void
test_framing_session_lane_and_expiry_checks(void **state)
{
	struct scpp_auth_session_params p;
	struct scpp_auth_client_session *cs;
	struct scpp_auth_table *t = mk_table(16, 2);
	struct scpp_auth_table_stats st;
	struct scpp_auth_verdict v;
	uint8_t d[256], f[256];
	size_t n;

	(void)state;
	params(&p, SID, SCPP_AUTH_ALG_CHACHAPOLY, 0x44);
	assert_int_equal(scpp_auth_table_install(t, &p), 0);
	cs = scpp_auth_client_session_create(&p, NULL);
	n = mk_dgram(d, 1, 7, example_block, sizeof(example_block));
	assert_int_equal(scpp_auth_client_seal(cs, 2, d, n), 0);
	/* Flag clear: not a session datagram (the caller's unauthenticated path). */
	memcpy(f, d, n);
	f[4] &= (uint8_t)~SCPP_AUTH_F_SESSION;
	assert_code(scpp_auth_verify(t, f, n, T_NOW, &v), -SCPP_AUTH_E_NOT_SESSION);
	/* Truncated tag: 16 of 24 bytes, header says 16 or still 24. */
	memcpy(f, d, n);
	f[5] = 16;
	assert_code(scpp_auth_verify(t, f, n - 8, T_NOW, &v), -SCPP_AUTH_E_BAD_TAG);
	assert_code(scpp_auth_verify(t, d, n - 8, T_NOW, &v), -SCPP_AUTH_E_BAD_TAG);
	assert_code(scpp_auth_verify(t, d, n + 1, T_NOW, &v), -SCPP_AUTH_E_BAD_TAG);
	assert_code(scpp_auth_verify(t, d, 31, T_NOW, &v), -SCPP_AUTH_E_BAD_TAG);
	/* Unknown sessions: id 0, unknown random part, slot past capacity. */
	memcpy(f, d, n);
	auth_put64(f + 8, 0);
	assert_code(scpp_auth_verify(t, f, n, T_NOW, &v), -SCPP_AUTH_E_NO_SESSION);
	auth_put64(f + 8, SID ^ (UINT64_C(1) << 40));
	assert_code(scpp_auth_verify(t, f, n, T_NOW, &v), -SCPP_AUTH_E_NO_SESSION);
	auth_put64(f + 8, (SID & ~UINT64_C(0xffffff)) | 16);
	assert_code(scpp_auth_verify(t, f, n, T_NOW, &v), -SCPP_AUTH_E_NO_SESSION);
	/* Another lane: reported with the lane, before any MAC work. */
	n = mk_dgram(f, 1, 9, example_block, sizeof(example_block));
	assert_int_equal(scpp_auth_client_seal(cs, 3, f, n), 0);
	assert_code(scpp_auth_verify(t, f, n, T_NOW, &v), -SCPP_AUTH_E_WRONG_LANE);
	assert_int_equal(v.lane, 3);
	assert_true(v.session == SID);
	/* Expired session: refused whatever the MAC. */
	assert_code(scpp_auth_verify(t, d, n, T_NOW + T_DAY, &v), -SCPP_AUTH_E_SESSION_EXPIRED);
	assert_int_equal(scpp_auth_verify(t, d, n, T_NOW + T_DAY - 1, &v), 0);
	scpp_auth_table_stats_get(t, &st);
	assert_int_equal(st.not_session, 1);
	assert_int_equal(st.bad_tag, 4);
	assert_int_equal(st.no_session, 3);
	assert_int_equal(st.wrong_lane, 1);
	assert_int_equal(st.expired, 1);
	assert_int_equal(st.verified, 1);
	/* Client side: lanes beyond the session's are refused. */
	assert_int_equal(scpp_auth_client_seal(cs, 4, f, n), -EINVAL);
	scpp_auth_client_session_free(cs);
	scpp_auth_table_free(t);
}

static void
test_a_delivery_cookie_is_framed_and_maced(void **state)
{
	struct scpp_auth_session_params p;
	struct scpp_auth_client_session *cs;
	struct scpp_auth_table *t = mk_table(16, 0);
	struct scpp_auth_verdict v;
	uint8_t d[256], f[256];
	size_t n;

	(void)state;
	params(&p, SID, SCPP_AUTH_ALG_AES256GMAC, 0x21);
	assert_int_equal(scpp_auth_table_install(t, &p), 0);
	cs = scpp_auth_client_session_create(&p, NULL);
	/* A block with the delivery layer's cookie (flag bit 1, 16 bytes
	 * between payload and tag). */
	n = mk_dgram(d, 1, 1, example_block, 20) + 16;
	d[4] |= 0x02;
	memset(d + 32 + 20, 0xcc, 16);
	memset(d + 32 + 20 + 16, 0, 24);
	assert_int_equal(scpp_auth_client_seal(cs, 0, d, n), 0);
	assert_int_equal(d[4], 0x23);
	assert_int_equal(scpp_auth_verify(t, d, n, T_NOW, &v), 0);
	/* The cookie is covered by the MAC. */
	n = mk_dgram(d, 1, 2, example_block, 20) + 16;
	d[4] |= 0x02;
	memset(d + 32 + 20, 0xcc, 16);
	memset(d + 32 + 20 + 16, 0, 24);
	assert_int_equal(scpp_auth_client_seal(cs, 0, d, n), 0);
	memcpy(f, d, n);
	f[32 + 20 + 3] ^= 1;
	assert_code(scpp_auth_verify(t, f, n, T_NOW, &v), -SCPP_AUTH_E_BAD_MAC);
	/* The flag without the cookie's bytes, or the bytes without the flag. */
	memcpy(f, d, n);
	f[4] &= (uint8_t)~0x02;
	assert_code(scpp_auth_verify(t, f, n, T_NOW, &v), -SCPP_AUTH_E_BAD_TAG);
	assert_code(scpp_auth_verify(t, d, n - 16, T_NOW, &v), -SCPP_AUTH_E_BAD_TAG);
	assert_code(scpp_auth_client_seal(cs, 0, d, n - 16), -SCPP_AUTH_E_BAD_TAG);
	assert_int_equal(scpp_auth_verify(t, d, n, T_NOW, &v), 0);
	scpp_auth_client_session_free(cs);
	scpp_auth_table_free(t);
}

/* --------------------------------------------------------- replay window */

/* The reference: every counter ever accepted, and the highest. */
#define MODEL_MAX (1u << 22)

static void
test_window_matches_reference_model(void **state)
{
	static uint8_t seen[MODEL_MAX];
	struct auth_window w;
	uint64_t seed = 77, top = 0; /* top = 1 + highest accepted */
	unsigned long acc = 0, dup = 0, old = 0;
	uint64_t c = 0;

	(void)state;
	memset(&w, 0, sizeof(w));
	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < 300000; i++) {
		uint64_t r = test_rand_below(&seed, 1000), t;
		int want, got;

		/* Mostly near the top (reordering), often far behind, sometimes
		 * the top again, rarely a jump ahead: the counters go round the
		 * 2048-bit ring over a thousand times. */
		if (r < 600)
			c = top + test_rand_below(&seed, 4);
		else if (r < 900)
			c = top > 2100 ? top - test_rand_below(&seed, 2100) : test_rand_below(&seed, 2100);
		else if (r < 995)
			c = top > 0 ? top - 1 : 0;
		else
			c = top + test_rand_below(&seed, 3000);
		assert_true(c + 1 < MODEL_MAX);
		t = c + 1;
		want = t > top ? 0 : t + SCPP_AUTH_WINDOW < top ? -SCPP_AUTH_E_TOO_OLD
						 : seen[t] ? -SCPP_AUTH_E_REPLAY : 0;
		got = auth_window_check(&w, c);
		assert_int_equal(got, want);
		if (got == 0) {
			auth_window_update(&w, c);
			seen[t] = 1;
			if (t > top)
				top = t;
			acc++;
		} else if (got == -SCPP_AUTH_E_REPLAY) {
			dup++;
		} else {
			old++;
		}
	}
	/* The ring turned hundreds of times; every outcome was common. */
	print_message("window model: top %llu, accepted %lu, duplicates %lu, too old %lu\n",
		      (unsigned long long)top, acc, dup, old);
	assert_true(top > 500 * SCPP_AUTH_WINDOW_BITS);
	assert_true(acc > 100000 && dup > 10000 && old > 1000);
}

static void
test_window_edges_through_verify(void **state)
{
	struct scpp_auth_session_params p;
	struct scpp_auth_client_session *cs;
	struct scpp_auth_table *t = mk_table(16, 0);
	struct scpp_auth_verdict v;
	static uint8_t dg[5000][128];
	uint8_t d[128];
	size_t n = 0;

	(void)state;
	params(&p, SID, SCPP_AUTH_ALG_AES256GMAC, 0x55);
	assert_int_equal(scpp_auth_table_install(t, &p), 0);
	cs = scpp_auth_client_session_create(&p, NULL);
	/* Seal counters 0..4999 in order, deliver them in a chosen order. */
	for (int i = 0; i < 5000; i++) {
		n = mk_dgram(dg[i], 1, (uint64_t)i, example_block, 40);
		assert_int_equal(scpp_auth_client_seal(cs, 0, dg[i], n), 0);
	}
	/* In-window reordering: 10, then 5, then 9: all accepted. */
	assert_int_equal(scpp_auth_verify(t, dg[10], n, T_NOW, &v), 0);
	assert_int_equal(scpp_auth_verify(t, dg[5], n, T_NOW, &v), 0);
	assert_int_equal(scpp_auth_verify(t, dg[9], n, T_NOW, &v), 0);
	/* Duplicate. */
	assert_code(scpp_auth_verify(t, dg[5], n, T_NOW, &v), -SCPP_AUTH_E_REPLAY);
	/* Far ahead (4000 > the window): accepted; then the oldest still in
	 * the window (4000 - WINDOW) passes, one older is too old. */
	assert_int_equal(scpp_auth_verify(t, dg[4000], n, T_NOW, &v), 0);
	assert_int_equal(scpp_auth_verify(t, dg[4000 - SCPP_AUTH_WINDOW], n, T_NOW, &v), 0);
	assert_code(scpp_auth_verify(t, dg[4000 - SCPP_AUTH_WINDOW - 1], n, T_NOW, &v),
		    -SCPP_AUTH_E_TOO_OLD);
	assert_code(scpp_auth_verify(t, dg[11], n, T_NOW, &v), -SCPP_AUTH_E_TOO_OLD);
	/* Wrap: 4001..4999 in order cross the ring's end; none is a false
	 * duplicate of a bit left from the first turn. */
	for (int i = 4001; i < 5000; i++)
		assert_int_equal(scpp_auth_verify(t, dg[i], n, T_NOW, &v), 0);
	assert_code(scpp_auth_verify(t, dg[4999], n, T_NOW, &v), -SCPP_AUTH_E_REPLAY);
	memcpy(d, dg[0], n);
	(void)d;
	scpp_auth_client_session_free(cs);
	scpp_auth_table_free(t);
}

static void
test_retransmission_passes_the_window_replay_does_not(void **state)
{
	struct scpp_auth_session_params p;
	struct scpp_auth_client_session *cs;
	struct scpp_auth_table *t = mk_table(16, 0);
	struct scpp_auth_table_stats st;
	struct scpp_auth_verdict v1, v2;
	uint8_t first[256], retx[256];
	size_t n;

	(void)state;
	params(&p, SID, SCPP_AUTH_ALG_AES256GMAC, 0x66);
	assert_int_equal(scpp_auth_table_install(t, &p), 0);
	cs = scpp_auth_client_session_create(&p, NULL);
	/* The client sends block 42, gets no reply, sends block 42 again: same
	 * block id, same payload, a new transmission with a new counter. */
	n = mk_dgram(first, 1, 42, example_block, sizeof(example_block));
	assert_int_equal(scpp_auth_client_seal(cs, 0, first, n), 0);
	mk_dgram(retx, 1, 42, example_block, sizeof(example_block));
	assert_int_equal(scpp_auth_client_seal(cs, 0, retx, n), 0);
	assert_memory_equal(first, retx, n - 24);          /* header and payload equal */
	assert_memory_not_equal(first + n - 24, retx + n - 24, 24); /* tags differ */
	assert_int_equal(scpp_auth_verify(t, first, n, T_NOW, &v1), 0);
	/* The retransmission is authentic and fresh: it reaches the delivery
	 * layer, which answers block 42 from its reply cache. */
	assert_int_equal(scpp_auth_verify(t, retx, n, T_NOW, &v2), 0);
	assert_int_equal(v2.slot, v1.slot);
	assert_true(v2.counter == v1.counter + 1);
	/* An attacker's copy of either transmission dies here, before any
	 * decoder or cache sees it. */
	assert_code(scpp_auth_verify(t, first, n, T_NOW, &v1), -SCPP_AUTH_E_REPLAY);
	assert_code(scpp_auth_verify(t, retx, n, T_NOW, &v1), -SCPP_AUTH_E_REPLAY);
	scpp_auth_table_stats_get(t, &st);
	assert_int_equal(st.verified, 2);
	assert_int_equal(st.replayed, 2);
	scpp_auth_client_session_free(cs);
	scpp_auth_table_free(t);
}

static void
test_node_to_client_direction_and_cached_resend(void **state)
{
	struct scpp_auth_session_params p;
	struct scpp_auth_client_session *cs;
	struct scpp_auth_table *t = mk_table(16, 1);
	struct scpp_auth_verdict v;
	uint8_t blk[256], r1[256], r2[256];
	uint16_t lane = 9;
	size_t n;

	(void)state;
	params(&p, SID, SCPP_AUTH_ALG_AES256GMAC, 0x77);
	assert_int_equal(scpp_auth_table_install(t, &p), 0);
	cs = scpp_auth_client_session_create(&p, NULL);
	n = mk_dgram(blk, 1, 1, example_block, 10);
	assert_int_equal(scpp_auth_client_seal(cs, 1, blk, n), 0);
	assert_int_equal(scpp_auth_verify(t, blk, n, T_NOW, &v), 0);
	/* Two reply datagrams, sealed by the worker with its lane's counter. */
	n = mk_dgram(r1, 2, 1, example_block + 10, 20);
	assert_int_equal(scpp_auth_seal(t, v.slot, r1, n), 0);
	mk_dgram(r2, 2, 1, example_block + 30, 20);
	assert_int_equal(scpp_auth_seal(t, v.slot, r2, n), 0);
	assert_int_equal(auth_get16(r1 + n - 24), 1);
	assert_true(auth_get48(r2 + n - 22) == 1);
	/* r1 was lost; r2 arrives; then the node resends its cached r1 as the
	 * same bytes: accepted (never seen). A second copy is a replay. */
	assert_int_equal(scpp_auth_client_open(cs, r2, n, &lane), 0);
	assert_int_equal(lane, 1);
	assert_int_equal(scpp_auth_client_open(cs, r1, n, NULL), 0);
	assert_code(scpp_auth_client_open(cs, r1, n, NULL), -SCPP_AUTH_E_REPLAY);
	/* Keys are per direction: a client datagram reflected back to the
	 * client fails (lane 0, whose receive window is still empty). */
	n = mk_dgram(blk, 1, 2, example_block, 10);
	assert_int_equal(scpp_auth_client_seal(cs, 0, blk, n), 0);
	assert_code(scpp_auth_client_open(cs, blk, n, NULL), -SCPP_AUTH_E_BAD_MAC);
	n = 32 + 20 + 24;
	r2[40] ^= 1;
	assert_code(scpp_auth_client_open(cs, r2, n, NULL), -SCPP_AUTH_E_REPLAY);
	auth_put48(r2 + n - 22, 7);
	assert_code(scpp_auth_client_open(cs, r2, n, NULL), -SCPP_AUTH_E_BAD_MAC);
	auth_put64(r2 + 8, 5);
	assert_code(scpp_auth_client_open(cs, r2, n, NULL), -SCPP_AUTH_E_NO_SESSION);
	/* Sealing needs a live slot and a consistent length. */
	assert_code(scpp_auth_seal(t, 4, r1, n), -SCPP_AUTH_E_NO_SESSION);
	assert_code(scpp_auth_seal(t, v.slot, r1, n - 1), -SCPP_AUTH_E_BAD_TAG);
	scpp_auth_client_session_free(cs);
	scpp_auth_table_free(t);
}

static void
test_table_install_close_and_bounded_expiry_sweep(void **state)
{
	struct scpp_auth_session_params p;
	struct scpp_auth_table *t = mk_table(8, 0);
	struct scpp_auth_table_stats st;
	uint64_t ids[8];
	uint32_t cursor = 0;

	(void)state;
	params(&p, SID, SCPP_AUTH_ALG_AES256GMAC, 1);
	assert_int_equal(scpp_auth_table_install(t, &p), 0);
	assert_int_equal(scpp_auth_table_install(t, &p), -EEXIST);
	p.id = SID + 1; /* slot 4 */
	p.alg = 3;
	assert_int_equal(scpp_auth_table_install(t, &p), -EINVAL);
	p.alg = SCPP_AUTH_ALG_CHACHAPOLY;
	p.lanes = 0;
	assert_int_equal(scpp_auth_table_install(t, &p), -EINVAL);
	p.lanes = 4;
	p.authority = NULL;
	assert_int_equal(scpp_auth_table_install(t, &p), -EINVAL);
	p.authority = s_all;
	p.id = (SID & ~UINT64_C(0xffffff)) | 8; /* past capacity */
	assert_int_equal(scpp_auth_table_install(t, &p), -EINVAL);
	p.id = 0;
	assert_int_equal(scpp_auth_table_install(t, &p), -EINVAL);
	for (int i = 4; i < 8; i++) {
		p.id = (SID & ~UINT64_C(0xffffff)) | (uint64_t)i;
		p.expires_ns = T_NOW + (uint64_t)i;
		assert_int_equal(scpp_auth_table_install(t, &p), 0);
	}
	assert_int_equal(scpp_auth_table_close(t, SID + 1), 0); /* slot 4 */
	assert_int_equal(scpp_auth_table_close(t, SID + 1), -ENOENT);
	assert_int_equal(scpp_auth_table_close(t, SID ^ (UINT64_C(1) << 30)), -ENOENT);
	/* At T_NOW + 6, slots 5 and 6 are expired (7 is not; 3 has a day). */
	assert_int_equal(scpp_auth_table_expire(t, T_NOW + 6, &cursor, 3, ids), 0); /* slots 0..2 */
	assert_int_equal(cursor, 3);
	assert_int_equal(scpp_auth_table_expire(t, T_NOW + 6, &cursor, 3, ids), 1); /* 3..5 */
	assert_true(ids[0] == ((SID & ~UINT64_C(0xffffff)) | 5));
	/* 6, 7: the pass has seen every slot and left 7 (T_NOW + 7) earliest */
	assert_int_equal(scpp_auth_table_expire(t, T_NOW + 6, &cursor, 3, ids), 1);
	assert_int_equal(cursor, 0);
	/* Nothing can have expired before T_NOW + 7: no slot is examined. */
	assert_int_equal(scpp_auth_table_expire(t, T_NOW + 6, &cursor, 3, ids), 0);
	assert_int_equal(cursor, 0);
	assert_int_equal(scpp_auth_table_expire(t, T_NOW + 7, &cursor, 8, ids), 1);
	assert_true(ids[0] == ((SID & ~UINT64_C(0xffffff)) | 7));
	assert_int_equal(cursor, 0); /* a whole pass, then nothing due (slot 3 has a day) */
	/* An install earlier than the bound lowers it, also behind the cursor. */
	p.id = (SID & ~UINT64_C(0xffffff)) | 6;
	p.expires_ns = T_NOW + 8;
	assert_int_equal(scpp_auth_table_install(t, &p), 0);
	assert_int_equal(scpp_auth_table_expire(t, T_NOW + 7, &cursor, 8, ids), 0);
	assert_int_equal(cursor, 0);
	assert_int_equal(scpp_auth_table_expire(t, T_NOW + 8, &cursor, 8, ids), 1);
	assert_true(ids[0] == ((SID & ~UINT64_C(0xffffff)) | 6));
	scpp_auth_table_stats_get(t, &st);
	assert_int_equal(st.installed, 6);
	assert_int_equal(st.closed, 5);
	assert_int_equal(st.active, 1);
	scpp_auth_table_free(t);
	scpp_auth_table_free(NULL);
	{
		struct scpp_auth_table_config c = {0, 0, NULL};

		assert_null(scpp_auth_table_create(&c));
		assert_int_equal(errno, EINVAL);
		c.capacity = SCPP_AUTH_SLOTS_MAX + 1;
		assert_null(scpp_auth_table_create(&c));
		c.capacity = 1;
		c.lane = SCPP_AUTH_LANES_MAX;
		assert_null(scpp_auth_table_create(&c));
	}
}

/* ------------------------------------------------------------- handshake */

struct hs {
	struct scpp_auth_responder_config rc;
	struct scpp_auth_responder *r;
	struct scpp_auth_revset *rs;
	uint8_t roots[1][32];
	uint8_t chain[2][SCPP_AUTH_CHAIN_BYTES_MAX];
	size_t chain_len[2];
	struct scpp_auth_initiator_config ic;
	uint8_t addr[6];
};

static const char *const hs_attrs[] = {"name", "size"};

/* A one-link chain root -> subject; expires at @exp. */
static size_t
one_link(uint8_t *out, const struct scpp_auth_keypair *issuer, const uint8_t *subject,
	 uint64_t exp)
{
	struct scpp_auth_chain c;
	uint8_t g[SCPP_AUTH_GRANT_MAX];
	int n;

	memset(&c, 0, sizeof(c));
	c.n = 1;
	t_grant(&c.link[0], subject, t_prefix(0x0000000100000000ull, 0, 48),
		SCPP_AUTH_OP_GET | SCPP_AUTH_OP_SET, 0, exp, hs_attrs, 2);
	t_sign(&c.link[0], issuer, g, sizeof(g));
	n = scpp_auth_chain_encode(&c, out, SCPP_AUTH_CHAIN_BYTES_MAX);
	assert_true(n > 0);
	return (size_t)n;
}

static struct hs *
hs_new(uint32_t capacity, uint32_t per_principal)
{
	struct hs *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	memcpy(h->roots[0], s_root.pk, 32);
	h->rs = scpp_auth_revset_create(16, NULL);
	h->rc.node_key = &s_node;
	h->rc.trust = (struct scpp_auth_trust){(const uint8_t(*)[32])h->roots, 1, h->rs};
	h->rc.capacity = capacity;
	h->rc.lanes = 2;
	h->rc.max_per_principal = per_principal;
	h->r = scpp_auth_responder_create(&h->rc, T_NOW);
	assert_non_null(h->r);
	h->chain_len[0] = one_link(h->chain[0], &s_root, s_alice.pk, T_NOW + T_DAY);
	h->ic.principal = &s_alice;
	h->ic.chain[0] = h->chain[0];
	h->ic.chain_len[0] = h->chain_len[0];
	h->ic.nchains = 1;
	h->ic.node_key = s_node.pk;
	memcpy(h->addr, "\x7f\x00\x00\x01\x1c\x84", 6);
	return h;
}

static void
hs_free(struct hs *h)
{
	scpp_auth_responder_free(h->r);
	scpp_auth_revset_free(h->rs);
	free(h);
}

/* HELLO -> CHALLENGE -> FINISH (cut into 200-byte datagrams and
 * reassembled) -> responder. Returns the responder's verdict; the FINISH
 * message and the reply stay in the buffers for the caller. */
static int
hs_run(struct hs *h, struct scpp_auth_initiator *ini, uint64_t t_hello, uint64_t t_finish,
       uint8_t *fin, int *fin_len, uint8_t *reply, struct scpp_auth_finish_result *res)
{
	uint8_t d[512], c[512], msg[SCPP_AUTH_FINISH_MAX];
	size_t mlen = 0;
	unsigned int nf;
	int n;

	n = scpp_auth_initiator_hello(ini, d, sizeof(d));
	assert_int_equal(n, 32 + SCPP_AUTH_HELLO_LEN);
	n = scpp_auth_responder_hello(h->r, d, (size_t)n, h->addr, sizeof(h->addr), t_hello, c,
				      sizeof(c));
	assert_int_equal(n, 32 + SCPP_AUTH_CHALLENGE_LEN);
	assert_true(n < 32 + SCPP_AUTH_HELLO_LEN); /* no amplification */
	*fin_len = scpp_auth_initiator_challenge(ini, c, (size_t)n, fin, SCPP_AUTH_FINISH_MAX, NULL);
	assert_true(*fin_len > 0);
	nf = scpp_auth_finish_frags((size_t)*fin_len, 200);
	assert_true(nf >= 2);
	for (unsigned int i = 0; i < nf; i++) {
		struct scpp_auth_hs_dgram hd;

		n = scpp_auth_finish_dgram(fin, (size_t)*fin_len, 0x1234, i, 200, d, sizeof(d));
		assert_true(n > 32 && n <= 200);
		assert_int_equal(scpp_auth_hs_parse(d, (size_t)n, &hd), 0);
		assert_int_equal(hd.kind, SCPP_AUTH_KIND_FINISH);
		assert_int_equal(hd.frag_index, i);
		assert_int_equal(hd.frag_count, nf);
		memcpy(msg + mlen, hd.payload, hd.payload_len);
		mlen += hd.payload_len;
	}
	assert_int_equal(mlen, (size_t)*fin_len);
	assert_memory_equal(msg, fin, mlen);
	return scpp_auth_responder_finish(h->r, msg, mlen, 0x1234, h->addr, sizeof(h->addr),
					  t_finish, reply, 256, res);
}

static struct scpp_auth_initiator *
ini_new(struct hs *h)
{
	struct scpp_auth_initiator *ini;

	h->ic.hs_id = 0x1234;
	ini = scpp_auth_initiator_create(&h->ic);
	assert_non_null(ini);
	return ini;
}

static void
test_handshake_opens_a_session_usable_on_every_lane(void **state)
{
	struct hs *h = hs_new(64, 0);
	struct scpp_auth_initiator *ini = ini_new(h);
	struct scpp_auth_client_session *cs = NULL;
	struct scpp_auth_finish_result res;
	struct scpp_auth_table *lane[2] = {mk_table(64, 0), mk_table(64, 1)};
	struct scpp_auth_verdict v;
	struct scpp_auth_denial den;
	uint8_t fin[SCPP_AUTH_FINISH_MAX], reply[256], d[256];
	int fl;
	size_t n;

	(void)state;
	assert_int_equal(hs_run(h, ini, T_NOW, T_NOW + 1000, fin, &fl, reply, &res), 0);
	assert_int_equal(res.reply_len, 32 + SCPP_AUTH_ACCEPT_LEN);
	assert_int_equal(scpp_auth_responder_sessions(h->r), 1);
	assert_int_equal(res.params.alg, SCPP_AUTH_ALG_AES256GMAC);
	assert_int_equal(res.params.lanes, 2);
	assert_true(res.params.expires_ns == T_NOW + T_DAY); /* the chain's, under 24 h */
	assert_memory_equal(res.params.principal, s_alice.pk, 32);
	assert_int_equal(scpp_auth_session_slot(res.params.id), 0);
	assert_int_equal(scpp_auth_initiator_accept(ini, reply, res.reply_len, &cs, NULL), 0);
	assert_true(scpp_auth_client_session_id(cs) == res.params.id);
	assert_int_equal(scpp_auth_client_session_lanes(cs), 2);
	assert_true(scpp_auth_client_session_expires(cs) == res.params.expires_ns);
	assert_int_equal(scpp_auth_client_session_alg(cs), SCPP_AUTH_ALG_AES256GMAC);
	for (int i = 0; i < 2; i++)
		assert_int_equal(scpp_auth_table_install(lane[i], &res.params), 0);
	/* The client's keys and the node's agree, on both lanes, both ways. */
	for (uint16_t l = 0; l < 2; l++) {
		n = mk_dgram(d, 1, 5 + l, example_block, sizeof(example_block));
		assert_int_equal(scpp_auth_client_seal(cs, l, d, n), 0);
		assert_code(scpp_auth_verify(lane[1 - l], d, n, T_NOW, &v), -SCPP_AUTH_E_WRONG_LANE);
		assert_int_equal(scpp_auth_verify(lane[l], d, n, T_NOW, &v), 0);
		n = mk_dgram(d, 2, 5 + l, example_block, 30);
		assert_int_equal(scpp_auth_seal(lane[l], v.slot, d, n), 0);
		assert_int_equal(scpp_auth_client_open(cs, d, n, NULL), 0);
	}
	/* The compiled authority is the chain's: get/set of name/size on /48. */
	assert_int_equal(scpp_auth_check_name(v.authority, (struct scpp_oid){0x0000000100000003ull, 9},
					      "size", 4, SCPP_AUTH_OP_SET, NULL),
			 0);
	assert_int_equal(scpp_auth_check_name(v.authority, (struct scpp_oid){0x0000000100000003ull, 9},
					      "mode", 4, SCPP_AUTH_OP_GET, &den),
			 -EACCES);
	assert_int_equal(den.reason, SCPP_AUTH_DENY_ATTR);
	/* A CLOSE is a session datagram like any other. */
	n = (size_t)scpp_auth_close_encode(d, sizeof(d), res.params.id, 0);
	assert_int_equal(scpp_auth_client_seal(cs, 0, d, n), 0);
	assert_int_equal(scpp_auth_verify(lane[0], d, n, T_NOW, &v), 0);
	{
		uint32_t reason = 9;

		assert_int_equal(d[3], SCPP_AUTH_KIND_CLOSE);
		assert_int_equal(scpp_auth_close_decode(d + 32, 8, &reason), 0);
		assert_int_equal(reason, 0);
	}
	/* Closing hands the authority back for the caller to free. */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(scpp_auth_table_close(lane[i], res.params.id), 0);
		scpp_auth_table_free(lane[i]);
	}
	scpp_auth_authority_free(scpp_auth_responder_close(h->r, res.params.id));
	assert_int_equal(scpp_auth_responder_sessions(h->r), 0);
	assert_null(scpp_auth_responder_close(h->r, res.params.id));
	assert_int_equal(errno, ENOENT);
	scpp_auth_client_session_free(cs);
	scpp_auth_initiator_free(ini);
	hs_free(h);
}

static void
test_handshake_retransmitted_finish_gets_the_same_accept(void **state)
{
	struct hs *h = hs_new(64, 0);
	struct scpp_auth_initiator *ini = ini_new(h);
	struct scpp_auth_finish_result res, res2;
	uint8_t fin[SCPP_AUTH_FINISH_MAX], reply[256], reply2[256];
	int fl;

	(void)state;
	assert_int_equal(hs_run(h, ini, T_NOW, T_NOW + 1, fin, &fl, reply, &res), 0);
	assert_int_equal(scpp_auth_responder_finish(h->r, fin, (size_t)fl, 0x1234, h->addr, 6,
						    T_NOW + 2, reply2, sizeof(reply2), &res2),
			 1);
	assert_int_equal(res2.reply_len, res.reply_len);
	assert_memory_equal(reply2, reply, res.reply_len);
	assert_int_equal(scpp_auth_responder_sessions(h->r), 1);
	/* After the session is closed, the same FINISH is a new handshake. */
	scpp_auth_authority_free(scpp_auth_responder_close(h->r, res.params.id));
	assert_int_equal(scpp_auth_responder_finish(h->r, fin, (size_t)fl, 0x1234, h->addr, 6,
						    T_NOW + 3, reply2, sizeof(reply2), &res2),
			 0);
	assert_true(res2.params.id != res.params.id);
	scpp_auth_initiator_free(ini);
	hs_free(h);
}

static void
test_handshake_hello_errors(void **state)
{
	struct hs *h = hs_new(4, 0);
	struct scpp_auth_initiator *ini = ini_new(h);
	struct scpp_auth_hs_dgram hd;
	uint8_t d[512], f[512], c[512];
	int n;

	(void)state;
	n = scpp_auth_initiator_hello(ini, d, sizeof(d));
#define HELLO_EXPECT(at, val, code)                                           \
	do {                                                                  \
		memcpy(f, d, (size_t)n);                                      \
		f[at] = (val);                                                \
		assert_code(scpp_auth_responder_hello(h->r, f, (size_t)n, h->addr, 6, T_NOW, c, \
						      sizeof(c)),             \
			    (code));                                          \
	} while (0)
	HELLO_EXPECT(0, 'X', -SCPP_E_BAD_MAGIC);
	HELLO_EXPECT(2, 2, -SCPP_E_BAD_VERSION);
	HELLO_EXPECT(3, 7, -SCPP_E_BAD_KIND);
	HELLO_EXPECT(3, SCPP_AUTH_KIND_CHALLENGE, -SCPP_E_BAD_KIND);
	HELLO_EXPECT(4, 0x03, -SCPP_E_BAD_FLAGS);
	HELLO_EXPECT(4, 0x00, -SCPP_E_BAD_FLAGS); /* LAST missing on the only fragment */
	HELLO_EXPECT(5, 24, -SCPP_E_BAD_FLAGS);   /* handshake datagrams carry no tag */
	HELLO_EXPECT(28, 2, -SCPP_E_BAD_FRAGMENT);
	HELLO_EXPECT(8, 1, -SCPP_AUTH_E_BAD_RESERVED); /* client_id must be 0 */
	HELLO_EXPECT(32, 2, -SCPP_E_BAD_VERSION);
	HELLO_EXPECT(33, 1, -SCPP_E_BAD_FLAGS);
	HELLO_EXPECT(34, 0x04, -SCPP_AUTH_E_BAD_ALG);
	HELLO_EXPECT(34, 0x00, -SCPP_AUTH_E_BAD_ALG);
	HELLO_EXPECT(32 + 255, 1, -SCPP_AUTH_E_BAD_RESERVED);
	/* Lengths. */
	assert_code(scpp_auth_responder_hello(h->r, d, (size_t)n - 1, h->addr, 6, T_NOW, c, 512),
		    -SCPP_E_TRUNCATED);
	assert_code(scpp_auth_hs_parse(d, 31, &hd), -SCPP_E_TRUNCATED);
	memcpy(f, d, (size_t)n);
	f[n] = 0;
	assert_code(scpp_auth_hs_parse(f, (size_t)n + 1, &hd), -SCPP_E_BAD_LENGTH);
	memcpy(f, d, (size_t)n);
	auth_put16(f + 6, 255);
	assert_code(scpp_auth_responder_hello(h->r, f, (size_t)n - 1, h->addr, 6, T_NOW, c, 512),
		    -SCPP_E_TRUNCATED);
	assert_code(scpp_auth_responder_hello(h->r, d, (size_t)n, h->addr, 33, T_NOW, c, 512),
		    -EINVAL);
	assert_code(scpp_auth_responder_hello(h->r, d, (size_t)n, h->addr, 6, T_NOW, c, 100),
		    -ENOSPC);
	/* An initiator that offers only ChaCha20-Poly1305 gets it. */
	{
		struct scpp_auth_initiator *i2;

		h->ic.algs = SCPP_AUTH_ALG_CHACHAPOLY;
		i2 = ini_new(h);
		n = scpp_auth_initiator_hello(i2, d, sizeof(d));
		assert_int_equal(scpp_auth_responder_hello(h->r, d, (size_t)n, h->addr, 6, T_NOW, c,
							   sizeof(c)),
				 32 + SCPP_AUTH_CHALLENGE_LEN);
		assert_int_equal(auth_get16(c + 32 + 2), SCPP_AUTH_ALG_CHACHAPOLY);
		scpp_auth_initiator_free(i2);
	}
#undef HELLO_EXPECT
	scpp_auth_initiator_free(ini);
	hs_free(h);
}

static void
test_handshake_challenge_errors_at_the_client(void **state)
{
	struct hs *h = hs_new(4, 0);
	struct scpp_auth_initiator *ini = ini_new(h);
	uint8_t d[512], c[512], f[512], fin[SCPP_AUTH_FINISH_MAX];
	int n, cn;

	(void)state;
	/* Out of order: a challenge before the hello. */
	assert_code(scpp_auth_initiator_challenge(ini, d, 10, fin, sizeof(fin), NULL),
		    -SCPP_AUTH_E_BAD_STATE);
	n = scpp_auth_initiator_hello(ini, d, sizeof(d));
	cn = scpp_auth_responder_hello(h->r, d, (size_t)n, h->addr, 6, T_NOW, c, sizeof(c));
#define CH_EXPECT(at, val, code)                                              \
	do {                                                                  \
		memcpy(f, c, (size_t)cn);                                     \
		f[at] ^= (val);                                               \
		assert_code(scpp_auth_initiator_challenge(ini, f, (size_t)cn, fin, sizeof(fin), \
							  NULL),              \
			    (code));                                          \
	} while (0)
	CH_EXPECT(16, 1, -EPROTO);                      /* handshake id */
	CH_EXPECT(3, 8 ^ 9, -SCPP_E_BAD_KIND);          /* a HELLO */
	CH_EXPECT(32, 3, -SCPP_E_BAD_VERSION);
	CH_EXPECT(34, 2, -SCPP_AUTH_E_BAD_ALG);         /* two bits */
	CH_EXPECT(36, 1, -SCPP_AUTH_E_NODE_KEY);        /* another node */
	CH_EXPECT(32 + 44, 1, -SCPP_AUTH_E_BAD_SIGNATURE); /* epoch key swapped */
	CH_EXPECT(32 + 84, 1, -SCPP_AUTH_E_BAD_SIGNATURE); /* signature */
	assert_code(scpp_auth_initiator_challenge(ini, c, 100, fin, sizeof(fin), NULL),
		    -SCPP_E_TRUNCATED);
	assert_code(scpp_auth_initiator_challenge(ini, c, (size_t)cn, fin, 10, NULL), -ENOSPC);
	/* Without an expected node key, any signed node is accepted and named. */
	{
		struct scpp_auth_initiator *i2;
		uint8_t nk[32];

		h->ic.node_key = NULL;
		i2 = ini_new(h);
		n = scpp_auth_initiator_hello(i2, d, sizeof(d));
		cn = scpp_auth_responder_hello(h->r, d, (size_t)n, h->addr, 6, T_NOW, c, sizeof(c));
		assert_true(scpp_auth_initiator_challenge(i2, c, (size_t)cn, fin, sizeof(fin), nk) > 0);
		assert_memory_equal(nk, s_node.pk, 32);
		scpp_auth_initiator_free(i2);
	}
	/* A node that chose an algorithm the client did not offer. */
	{
		struct scpp_auth_initiator *i3;

		h->ic.algs = SCPP_AUTH_ALG_CHACHAPOLY;
		i3 = ini_new(h);
		n = scpp_auth_initiator_hello(i3, d, sizeof(d));
		cn = scpp_auth_responder_hello(h->r, d, (size_t)n, h->addr, 6, T_NOW, c, sizeof(c));
		auth_put16(c + 32 + 2, SCPP_AUTH_ALG_AES256GMAC);
		assert_code(scpp_auth_initiator_challenge(i3, c, (size_t)cn, fin, sizeof(fin), NULL),
			    -SCPP_AUTH_E_BAD_ALG);
		scpp_auth_initiator_free(i3);
	}
#undef CH_EXPECT
	scpp_auth_initiator_free(ini);
	hs_free(h);
}

static void
revoke_first_link(struct scpp_auth_revset *rs, const uint8_t *chain, size_t len,
		  const struct scpp_auth_keypair *by)
{
	struct scpp_auth_chain c;
	struct scpp_auth_revocation rv;
	uint8_t rb[SCPP_AUTH_REVOCATION_LEN];

	assert_int_equal(scpp_auth_chain_decode(chain, len, &c, NULL, NULL), 0);
	memset(&rv, 0, sizeof(rv));
	assert_int_equal(scpp_auth_grant_id(&c.link[0], rv.grant_id), 0);
	rv.grant_expires_ns = c.link[0].expires_ns;
	scpp_auth_revocation_sign(&rv, by, rb, sizeof(rb));
	assert_int_equal(scpp_auth_revset_add(rs, &rv, T_NOW), 0);
}

/* Expect the responder to refuse, with a REJECT the client decodes. */
static void
expect_reject(struct hs *h, struct scpp_auth_initiator *ini, uint64_t t_finish, int code,
	      uint16_t chain, uint8_t link)
{
	struct scpp_auth_client_session *cs = NULL;
	struct scpp_auth_finish_result res;
	struct scpp_auth_reject rej;
	uint8_t fin[SCPP_AUTH_FINISH_MAX], reply[256];
	unsigned int before = scpp_auth_responder_sessions(h->r);
	int fl;

	assert_code(hs_run(h, ini, T_NOW, t_finish, fin, &fl, reply, &res), code);
	assert_int_equal(res.reply_len, 32 + SCPP_AUTH_REJECT_LEN);
	assert_int_equal(scpp_auth_responder_sessions(h->r), before);
	assert_code(scpp_auth_initiator_accept(ini, reply, res.reply_len, &cs, &rej),
		    -SCPP_AUTH_E_REJECTED);
	assert_null(cs);
	assert_code(rej.code, code);
	assert_int_equal(rej.err, scpp_auth_errno(code));
	assert_int_equal(rej.fault.chain, chain);
	assert_int_equal(rej.fault.link, link);
}

static void
test_handshake_finish_failures(void **state)
{
	struct hs *h = hs_new(4, 0);
	struct scpp_auth_initiator *ini;
	struct scpp_auth_finish_result res;
	uint8_t fin[SCPP_AUTH_FINISH_MAX], reply[256], bad[32][SCPP_AUTH_CHAIN_BYTES_MAX];
	int fl;

	(void)state;
	/* Cookie bound to another address: silence (address not proven). */
	ini = ini_new(h);
	assert_int_equal(hs_run(h, ini, T_NOW, T_NOW, fin, &fl, reply, &res), 0);
	scpp_auth_authority_free(scpp_auth_responder_close(h->r, res.params.id));
	assert_code(scpp_auth_responder_finish(h->r, fin, (size_t)fl, 0x1234, "\x7f\0\0\x02\x1c\x84",
					       6, T_NOW, reply, sizeof(reply), &res),
		    -SCPP_AUTH_E_BAD_COOKIE);
	assert_int_equal(res.reply_len, 0);
	/* ... or another handshake id. */
	assert_code(scpp_auth_responder_finish(h->r, fin, (size_t)fl, 0x1235, h->addr, 6, T_NOW,
					       reply, sizeof(reply), &res),
		    -SCPP_AUTH_E_BAD_COOKIE);
	/* Tampered signature (the last byte): REJECT naming its offset. */
	fin[fl - 1] ^= 1;
	assert_code(scpp_auth_responder_finish(h->r, fin, (size_t)fl, 0x1234, h->addr, 6, T_NOW,
					       reply, sizeof(reply), &res),
		    -SCPP_AUTH_E_BAD_SIGNATURE);
	assert_int_equal(res.fault.off, (uint32_t)fl - 64);
	assert_int_equal(res.reply_len, 32 + SCPP_AUTH_REJECT_LEN);
	fin[fl - 1] ^= 1;
	/* Decoding failures: no answer, precise offset. */
	{
		static const struct {
			int at;
			uint8_t val;
			int code;
			uint32_t off;
		} cases[] = {
			{0, 2, -SCPP_E_BAD_VERSION, 0},
			{1, 1, -SCPP_E_BAD_FLAGS, 1},
			{2, 4, -SCPP_AUTH_E_BAD_ALG, 2},
			{100, 0, -EINVAL, 100},
			{100, 9, -SCPP_E_TOO_MANY, 100},
			{101, 1, -SCPP_AUTH_E_BAD_RESERVED, 101},
			{102, 'X', -SCPP_E_BAD_MAGIC, 102},
		};
		uint8_t m[SCPP_AUTH_FINISH_MAX + 1];

		for (size_t i = 0; i < SCPP_ARRAY_SIZE(cases); i++) {
			memcpy(m, fin, (size_t)fl);
			m[cases[i].at] = cases[i].val;
			assert_code(scpp_auth_responder_finish(h->r, m, (size_t)fl, 0x1234, h->addr, 6,
							       T_NOW, reply, sizeof(reply), &res),
				    cases[i].code);
			assert_int_equal(res.fault.off, cases[i].off);
			assert_int_equal(res.reply_len, 0);
		}
		memcpy(m, fin, (size_t)fl);
		m[fl] = 0;
		assert_code(scpp_auth_responder_finish(h->r, m, (size_t)fl + 1, 0x1234, h->addr, 6,
						       T_NOW, reply, sizeof(reply), &res),
			    -SCPP_E_TRAILING);
		assert_int_equal(res.fault.off, (uint32_t)fl);
		for (int cut = 0; cut < fl; cut += 7) {
			assert_code(scpp_auth_responder_finish(h->r, fin, (size_t)cut, 0x1234, h->addr,
							       6, T_NOW, reply, sizeof(reply), &res),
				    -SCPP_E_TRUNCATED);
			assert_true(res.fault.off <= (uint32_t)cut);
		}
		assert_code(scpp_auth_responder_finish(h->r, m, SCPP_AUTH_FINISH_MAX + 1, 0x1234,
						       h->addr, 6, T_NOW, reply, sizeof(reply), &res),
			    -SCPP_E_BAD_LENGTH);
	}
	scpp_auth_initiator_free(ini);

	/* Cookie older than 30 s: REJECT, start again. */
	ini = ini_new(h);
	expect_reject(h, ini, T_NOW + UINT64_C(31000000000), -SCPP_AUTH_E_COOKIE_EXPIRED,
		      UINT16_MAX, UINT8_MAX);
	scpp_auth_initiator_free(ini);
	/* Stale epoch: the node rotated twice since the CHALLENGE. */
	ini = ini_new(h);
	expect_reject(h, ini, T_NOW + UINT64_C(400000000000), -SCPP_AUTH_E_STALE_EPOCH,
		      UINT16_MAX, UINT8_MAX);
	scpp_auth_initiator_free(ini);
	/* The chain fails: other principal, untrusted root, expired, revoked. */
	h->chain_len[1] = one_link(bad[0], &s_root, s_bob.pk, T_NOW + T_DAY);
	h->ic.chain[0] = bad[0];
	h->ic.chain_len[0] = h->chain_len[1];
	ini = ini_new(h);
	expect_reject(h, ini, T_NOW + 10, -SCPP_AUTH_E_WRONG_PRINCIPAL, 0, 0);
	scpp_auth_initiator_free(ini);
	h->ic.chain_len[0] = one_link(bad[1], &s_carol, s_alice.pk, T_NOW + T_DAY);
	h->ic.chain[0] = bad[1];
	ini = ini_new(h);
	expect_reject(h, ini, T_NOW + 10, -SCPP_AUTH_E_UNTRUSTED_ROOT, 0, 0);
	scpp_auth_initiator_free(ini);
	/* A second, valid chain first: the failure names chain 1. */
	h->ic.chain[0] = h->chain[0];
	h->ic.chain_len[0] = h->chain_len[0];
	h->ic.chain_len[1] = one_link(bad[2], &s_root, s_alice.pk, T_NOW + 5);
	h->ic.chain[1] = bad[2];
	h->ic.nchains = 2;
	ini = ini_new(h);
	expect_reject(h, ini, T_NOW + 10, -SCPP_AUTH_E_EXPIRED, 1, 0);
	scpp_auth_initiator_free(ini);
	h->ic.nchains = 1;
	revoke_first_link(h->rs, h->chain[0], h->chain_len[0], &s_root);
	ini = ini_new(h);
	expect_reject(h, ini, T_NOW + 10, -SCPP_AUTH_E_REVOKED, 0, 0);
	scpp_auth_initiator_free(ini);
	assert_int_equal(scpp_auth_responder_sessions(h->r), 0);
	hs_free(h);
}

static void
test_handshake_limits_and_due_sessions(void **state)
{
	struct hs *h = hs_new(2, 1);
	struct scpp_auth_initiator *ini;
	struct scpp_auth_finish_result res, alice, bob;
	uint8_t fin[SCPP_AUTH_FINISH_MAX], reply[256];
	uint64_t ids[4];
	int fl;

	(void)state;
	ini = ini_new(h);
	assert_int_equal(hs_run(h, ini, T_NOW, T_NOW, fin, &fl, reply, &alice), 0);
	scpp_auth_initiator_free(ini);
	/* One session per principal: alice's second is refused... */
	ini = ini_new(h);
	expect_reject(h, ini, T_NOW, -SCPP_AUTH_E_PRINCIPAL_LIMIT, UINT16_MAX, UINT8_MAX);
	scpp_auth_initiator_free(ini);
	/* ... until she closes the first: the count goes back down. */
	scpp_auth_authority_free(scpp_auth_responder_close(h->r, alice.params.id));
	ini = ini_new(h);
	assert_int_equal(hs_run(h, ini, T_NOW, T_NOW, fin, &fl, reply, &alice), 0);
	assert_int_equal(scpp_auth_session_slot(alice.params.id), 0);
	scpp_auth_initiator_free(ini);
	/* Bob takes the second slot; carol finds the table full. */
	h->ic.principal = &s_bob;
	h->ic.chain_len[0] = one_link(h->chain[1], &s_root, s_bob.pk, T_NOW + 100);
	h->ic.chain[0] = h->chain[1];
	ini = ini_new(h);
	assert_int_equal(hs_run(h, ini, T_NOW, T_NOW, fin, &fl, reply, &bob), 0);
	assert_true(bob.params.expires_ns == T_NOW + 100);
	assert_int_equal(scpp_auth_session_slot(bob.params.id), 1);
	scpp_auth_initiator_free(ini);
	h->ic.principal = &s_carol;
	h->ic.chain_len[0] = one_link(h->chain[1], &s_root, s_carol.pk, T_NOW + T_DAY);
	ini = ini_new(h);
	expect_reject(h, ini, T_NOW, -SCPP_AUTH_E_SESSIONS_FULL, UINT16_MAX, UINT8_MAX);
	scpp_auth_initiator_free(ini);
	/* Due: bob's at his expiry; alice's once the root revokes her grant
	 * (bob's revocation of it does not count). */
	assert_int_equal(scpp_auth_responder_due(h->r, T_NOW + 99, ids, 4), 0);
	assert_int_equal(scpp_auth_responder_due(h->r, T_NOW + 100, ids, 4), 1);
	assert_true(ids[0] == bob.params.id);
	revoke_first_link(h->rs, h->chain[0], h->chain_len[0], &s_bob);
	assert_int_equal(scpp_auth_responder_due(h->r, T_NOW, ids, 4), 0);
	revoke_first_link(h->rs, h->chain[0], h->chain_len[0], &s_root);
	assert_int_equal(scpp_auth_responder_due(h->r, T_NOW, ids, 4), 1);
	assert_true(ids[0] == alice.params.id);
	/* Closing bob frees his slot for carol. */
	scpp_auth_authority_free(scpp_auth_responder_close(h->r, bob.params.id));
	ini = ini_new(h);
	assert_int_equal(hs_run(h, ini, T_NOW, T_NOW, fin, &fl, reply, &res), 0);
	assert_int_equal(scpp_auth_session_slot(res.params.id), 1);
	scpp_auth_initiator_free(ini);
	assert_int_equal(scpp_auth_responder_sessions(h->r), 2);
	hs_free(h);
}

static void
test_handshake_accept_errors_at_the_client(void **state)
{
	struct hs *h = hs_new(4, 0);
	struct scpp_auth_initiator *ini = ini_new(h);
	struct scpp_auth_client_session *cs = NULL;
	struct scpp_auth_finish_result res;
	uint8_t fin[SCPP_AUTH_FINISH_MAX], reply[256], f[256];
	int fl;

	(void)state;
	assert_code(scpp_auth_initiator_accept(ini, reply, 10, &cs, NULL), -SCPP_AUTH_E_BAD_STATE);
	assert_int_equal(hs_run(h, ini, T_NOW, T_NOW, fin, &fl, reply, &res), 0);
#define ACC_EXPECT(at, val, code)                                             \
	do {                                                                  \
		memcpy(f, reply, res.reply_len);                              \
		f[at] ^= (val);                                               \
		assert_code(scpp_auth_initiator_accept(ini, f, res.reply_len, &cs, NULL), (code)); \
		assert_null(cs);                                              \
	} while (0)
	ACC_EXPECT(16, 1, -EPROTO);
	ACC_EXPECT(32 + 2, 3, -SCPP_AUTH_E_BAD_ALG);
	ACC_EXPECT(32 + 54, 1, -SCPP_AUTH_E_BAD_RESERVED);
	ACC_EXPECT(32 + 4, 1, -EINVAL);                     /* id differs from the header's */
	ACC_EXPECT(32 + 52, 0xff, -EINVAL);                 /* lanes 253 */
	ACC_EXPECT(32 + 12, 1, -SCPP_AUTH_E_BAD_CONFIRM);   /* node random */
	ACC_EXPECT(32 + 44, 1, -SCPP_AUTH_E_BAD_CONFIRM);   /* expiry */
	ACC_EXPECT(32 + 60, 1, -SCPP_AUTH_E_BAD_CONFIRM);   /* confirmation */
	ACC_EXPECT(3, 11 ^ 9, -SCPP_E_BAD_KIND);
#undef ACC_EXPECT
	/* The genuine ACCEPT still works after all of that. */
	assert_int_equal(scpp_auth_initiator_accept(ini, reply, res.reply_len, &cs, NULL), 0);
	assert_code(scpp_auth_initiator_accept(ini, reply, res.reply_len, &cs, NULL),
		    -SCPP_AUTH_E_BAD_STATE);
	scpp_auth_client_session_free(cs);
	scpp_auth_initiator_free(ini);
	hs_free(h);
}

static void
test_handshake_is_deterministic_with_seeds(void **state)
{
	static const uint8_t seed[32] = {1, 2, 3};
	uint8_t out[2][256];
	struct hs *h;

	(void)state;
	for (int k = 0; k < 2; k++) {
		struct scpp_auth_initiator *ini;
		struct scpp_auth_finish_result res;
		uint8_t fin[SCPP_AUTH_FINISH_MAX];
		int fl;

		h = hs_new(4, 0);
		scpp_auth_responder_free(h->r);
		h->rc.seed = seed;
		h->r = scpp_auth_responder_create(&h->rc, T_NOW);
		h->ic.ephemeral_seed = seed;
		ini = ini_new(h);
		assert_int_equal(hs_run(h, ini, T_NOW, T_NOW, fin, &fl, out[k], &res), 0);
		scpp_auth_initiator_free(ini);
		hs_free(h);
	}
	assert_memory_equal(out[0], out[1], 32 + SCPP_AUTH_ACCEPT_LEN);
}

static void
test_constructors_refuse_bad_config_and_leak_nothing(void **state)
{
	struct t_mem m = {0};
	struct scpp_auth_mem mem = {t_mem_alloc, t_mem_free, &m};
	struct scpp_auth_session_params p;
	struct hs *h = hs_new(4, 0);
	struct scpp_auth_responder_config rc = h->rc;
	struct scpp_auth_table_config tc = {4, 0, &mem};

	(void)state;
	rc.mem = &mem;
	m.fail_at = 1;
	assert_null(scpp_auth_responder_create(&rc, T_NOW));
	assert_int_equal(errno, ENOMEM);
	m.calls = 0;
	assert_null(scpp_auth_table_create(&tc));
	assert_int_equal(errno, ENOMEM);
	m.calls = 0;
	h->ic.mem = &mem;
	assert_null(scpp_auth_initiator_create(&h->ic));
	assert_int_equal(errno, ENOMEM);
	m.calls = 0;
	m.fail_at = 2; /* the initiator itself, after its scratch */
	assert_null(scpp_auth_initiator_create(&h->ic));
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(m.objects, 0);
	m.fail_at = 0;
	params(&p, SID, SCPP_AUTH_ALG_AES256GMAC, 1);
	scpp_auth_client_session_free(scpp_auth_client_session_create(&p, &mem));
	scpp_auth_table_free(scpp_auth_table_create(&tc));
	scpp_auth_responder_free(scpp_auth_responder_create(&rc, T_NOW));
	scpp_auth_initiator_free(scpp_auth_initiator_create(&h->ic));
	assert_int_equal(m.objects, 0);
	assert_int_equal(m.live, 0);
	assert_true(m.calls >= 5);
	/* Bad configurations. */
	rc.lanes = 0;
	assert_null(scpp_auth_responder_create(&rc, T_NOW));
	assert_int_equal(errno, EINVAL);
	rc.lanes = 2;
	rc.trust.nroots = 0;
	assert_null(scpp_auth_responder_create(&rc, T_NOW));
	rc.trust.nroots = 1;
	rc.capacity = 0;
	assert_null(scpp_auth_responder_create(&rc, T_NOW));
	h->ic.nchains = 0;
	assert_null(scpp_auth_initiator_create(&h->ic));
	assert_int_equal(errno, EINVAL);
	h->ic.nchains = 1;
	h->chain[0][0] = 'X';
	assert_null(scpp_auth_initiator_create(&h->ic));
	assert_int_equal(errno, EINVAL);
	hs_free(h);
}

/* The REJECT a node answers a block of an unknown session with (§6.4). */
static void
test_session_reject_names_the_session(void **state)
{
	struct scpp_auth_hs_dgram h;
	struct scpp_auth_reject r;
	uint8_t d[64];
	int n;

	(void)state;
	n = scpp_auth_session_reject(d, sizeof(d), SID, 77, -SCPP_AUTH_E_NO_SESSION);
	assert_int_equal(n, 32 + SCPP_AUTH_REJECT_LEN);
	assert_int_equal(scpp_auth_hs_parse(d, (size_t)n, &h), 0);
	assert_int_equal(h.kind, SCPP_AUTH_KIND_REJECT);
	assert_true(h.session == SID && h.hs_id == 77);
	assert_int_equal(scpp_auth_reject_decode(h.payload, h.payload_len, &r), 0);
	assert_int_equal(r.code, -SCPP_AUTH_E_NO_SESSION);
	assert_int_equal(scpp_auth_session_reject(d, sizeof(d), SID, 77, -SCPP_AUTH_E_SESSION_EXPIRED),
			 n);
	assert_int_equal(scpp_auth_session_reject(d, sizeof(d), SID, 77, -SCPP_AUTH_E_BAD_MAC),
			 -EINVAL);
	assert_int_equal(scpp_auth_session_reject(d, sizeof(d), 0, 77, -SCPP_AUTH_E_NO_SESSION),
			 -EINVAL);
	assert_int_equal(scpp_auth_session_reject(d, 40, SID, 77, -SCPP_AUTH_E_NO_SESSION), -ENOSPC);
}

/* -------------------------------------------- delegated replies (§9.4) */

/*
 * An owner node answers a forwarded request on a delegated lane under the
 * key the client derives from its own session: accepted for the owner the
 * lane names, each lane with its own replay window, and a forged datagram
 * on a new lane takes no window (the table only keeps verified lanes).
 */
static void
test_delegated_replies_open_at_the_client(void **state)
{
	struct scpp_auth_session_params p;
	struct scpp_auth_client_session *cs;
	uint8_t d[256], kd[32], kd4[32];
	uint16_t lane = 0, l3 = scpp_auth_delegated_lane(3, 1);
	size_t n;

	(void)state;
	assert_int_equal(l3, 0x8000 | 3 << 3 | 1);
	assert_int_equal(scpp_auth_delegated_lane_node(l3), 3);
	params(&p, SID, SCPP_AUTH_ALG_AES256GMAC, 0x35);
	cs = scpp_auth_client_session_create(&p, NULL);
	assert_non_null(cs);
	scpp_auth_delegated_key(p.k_n2c, 3, kd);
	scpp_auth_delegated_key(p.k_n2c, 4, kd4);
	n = mk_dgram(d, 2, 7, example_block, sizeof(example_block));
	assert_int_equal(scpp_auth_seal_delegated(kd, SID, l3, 1000, d, n), 0);
	assert_int_equal(auth_get16(d + n - 24), l3);
	assert_int_equal(scpp_auth_client_open(cs, d, n, &lane), 0);
	assert_int_equal(lane, l3);
	/* Replayed: refused by the lane's window. */
	assert_int_equal(scpp_auth_client_open(cs, d, n, NULL), -SCPP_AUTH_E_REPLAY);
	/* Another owner's key under node 3's lane, or a changed byte: refused. */
	assert_int_equal(scpp_auth_seal_delegated(kd4, SID, l3, 1001, d, n), 0);
	assert_int_equal(scpp_auth_client_open(cs, d, n, NULL), -SCPP_AUTH_E_BAD_MAC);
	assert_int_equal(scpp_auth_seal_delegated(kd, SID, l3, 1001, d, n), 0);
	d[40] ^= 1;
	assert_int_equal(scpp_auth_client_open(cs, d, n, NULL), -SCPP_AUTH_E_BAD_MAC);
	d[40] ^= 1;
	assert_int_equal(scpp_auth_client_open(cs, d, n, NULL), 0);
	/* A lane of another worker of the same owner has a window of its own. */
	assert_int_equal(scpp_auth_seal_delegated(kd, SID, scpp_auth_delegated_lane(3, 2), 5, d, n),
			 0);
	assert_int_equal(scpp_auth_client_open(cs, d, n, NULL), 0);
	/* Forged datagrams on many new lanes do not push the real ones out:
	 * the first lane still refuses its replay afterwards. */
	for (uint32_t node = 10; node < 10 + 2 * SCPP_AUTH_DLG_LANES; node++) {
		assert_int_equal(scpp_auth_seal_delegated(kd, SID, scpp_auth_delegated_lane(node, 0),
							  1, d, n),
				 0);
		assert_int_equal(scpp_auth_client_open(cs, d, n, NULL), -SCPP_AUTH_E_BAD_MAC);
	}
	assert_int_equal(scpp_auth_seal_delegated(kd, SID, l3, 1000, d, n), 0);
	assert_int_equal(scpp_auth_client_open(cs, d, n, NULL), -SCPP_AUTH_E_REPLAY);
	/* Only delegated lanes, only real lengths. */
	assert_int_equal(scpp_auth_seal_delegated(kd, SID, 1, 1, d, n), -EINVAL);
	assert_int_equal(scpp_auth_seal_delegated(kd, SID, l3, 1, d, n - 1), -SCPP_AUTH_E_BAD_TAG);
	assert_int_equal(scpp_auth_seal_delegated(kd, SID, l3, SCPP_AUTH_COUNTER_MAX + 1, d, n),
			 -SCPP_AUTH_E_EXHAUSTED);
	scpp_auth_client_session_free(cs);
}

/* AAD-only AES-256-GCM vectors: McGrew-Viega's key (test cases 13-18),
 * IV cafebabefacedbad00000000 (our nonces end in four zero bytes), empty
 * plaintext, AAD byte i = (feedfacedeadbeeffeedfacedeadbeefabaddad2[i % 20]
 * + i / 20) mod 256; tags computed with OpenSSL 3.0 (python3-cryptography's
 * AESGCM), an implementation independent of both libsodium's and ours. */
static const struct {
	size_t len;
	uint8_t tag[16];
} gmac_openssl[] = {
	{20, {0x54, 0x9e, 0xa8, 0x20, 0x9a, 0x0c, 0x9b, 0x19, 0x43, 0x32, 0x45, 0x09, 0x40, 0xdf,
	      0xa2, 0xc1}},
	{128, {0x68, 0x6d, 0xe3, 0xc7, 0xf2, 0x0b, 0x84, 0x84, 0x8b, 0xd2, 0x13, 0xca, 0xd5, 0x9c,
	       0x36, 0x56}},
	{579, {0x35, 0x17, 0x06, 0xac, 0xa2, 0x00, 0x94, 0xaf, 0x7d, 0x7c, 0x05, 0xb1, 0xe6, 0xc6,
	       0x8c, 0x0b}},
	{1500, {0xc3, 0xf8, 0x1a, 0xd2, 0x7a, 0x16, 0xce, 0xe4, 0x88, 0x1e, 0x7e, 0x88, 0xeb, 0x7e,
		0xdf, 0x4d}},
	{9000, {0x33, 0xa8, 0xe8, 0x34, 0x52, 0x51, 0x1a, 0xdd, 0xb0, 0x7b, 0x54, 0x87, 0x3c, 0x16,
		0xf8, 0xae}},
};

/* Our AES-256-GMAC (auth_gmac.c) is AES-256-GCM with an empty plaintext:
 * the NIST vector (SP 800-38D / McGrew-Viega test case 13: zero key, zero
 * IV, nothing), the AAD-only vectors above, then libsodium's tag on random
 * keys, nonces and every length 0..1600 plus larger ones up to the largest
 * datagram (9600), at every alignment of the data (offsets 0..15), and a
 * flipped bit anywhere fails auth_mac_check(); on both paths. */
static void
test_gmac_is_aes256_gcm_byte_for_byte(void **state)
{
	static const uint8_t nist13[16] = {0x53, 0x0f, 0x8a, 0xfb, 0xc7, 0x45, 0x36, 0xb9,
					   0xa9, 0x63, 0xb4, 0xf1, 0xc4, 0xcb, 0x73, 0x8b};
	static const uint8_t mv_key[32] = {
		0xfe, 0xff, 0xe9, 0x92, 0x86, 0x65, 0x73, 0x1c, 0x6d, 0x6a, 0x8f, 0x94, 0x67, 0x30, 0x83, 0x08,
		0xfe, 0xff, 0xe9, 0x92, 0x86, 0x65, 0x73, 0x1c, 0x6d, 0x6a, 0x8f, 0x94, 0x67, 0x30, 0x83, 0x08};
	static const uint8_t mv_a[20] = {0xfe, 0xed, 0xfa, 0xce, 0xde, 0xad, 0xbe, 0xef, 0xfe, 0xed,
					 0xfa, 0xce, 0xde, 0xad, 0xbe, 0xef, 0xab, 0xad, 0xda, 0xd2};
	static const uint8_t mv_n8[8] = {0xca, 0xfe, 0xba, 0xbe, 0xfa, 0xce, 0xdb, 0xad};
	static uint8_t buf[9600 + 16];
	union auth_mac_key k;
	uint8_t key[32] = {0}, n8[8] = {0}, mac[16], want[16], nonce[12] = {0}, none[1] = {0};
	unsigned long long ml;

	(void)state;
	if (!crypto_aead_aes256gcm_is_available())
		fail_msg("this host has no AES-NI/PCLMULQDQ: the AES-256-GMAC path cannot be tested");
	/* Both paths: AVX-512 VPCLMULQDQ where the host has it, and one block
	 * per multiply (forced). */
	for (int narrow = 0; narrow < 2; narrow++) {
		auth_gmac_force_narrow(narrow == 1);
		print_message("gmac: %s path\n", auth_gmac_wide() ? "wide (VPCLMULQDQ)" : "narrow");
		memset(key, 0, sizeof(key));
		memset(n8, 0, sizeof(n8));
		assert_int_equal(auth_mac_key_init(&k, SCPP_AUTH_ALG_AES256GMAC, key), 0);
		auth_mac_compute(SCPP_AUTH_ALG_AES256GMAC, &k, buf, 0, n8, mac);
		assert_memory_equal(mac, nist13, 16);
		assert_int_equal(auth_mac_key_init(&k, SCPP_AUTH_ALG_AES256GMAC, mv_key), 0);
		for (size_t v = 0; v < SCPP_ARRAY_SIZE(gmac_openssl); v++) {
			for (size_t i = 0; i < gmac_openssl[v].len; i++)
				buf[i + 3] = (uint8_t)(mv_a[i % 20] + i / 20);
			auth_mac_compute(SCPP_AUTH_ALG_AES256GMAC, &k, buf + 3, gmac_openssl[v].len,
					 mv_n8, mac);
			assert_memory_equal(mac, gmac_openssl[v].tag, 16);
			assert_int_equal(auth_mac_check(SCPP_AUTH_ALG_AES256GMAC, &k, buf + 3,
							gmac_openssl[v].len, mv_n8, gmac_openssl[v].tag),
					 0);
		}
		for (size_t len = 0; len <= 9600; len += len < 1600 ? 1 : 997) {
			crypto_aead_aes256gcm_state st;
			uint8_t *ad = buf + len % 16; /* every alignment */

			randombytes_buf(key, sizeof(key));
			randombytes_buf(n8, sizeof(n8));
			randombytes_buf(ad, len);
			memcpy(nonce, n8, 8);
			assert_int_equal(auth_mac_key_init(&k, SCPP_AUTH_ALG_AES256GMAC, key), 0);
			auth_mac_compute(SCPP_AUTH_ALG_AES256GMAC, &k, ad, len, n8, mac);
			crypto_aead_aes256gcm_beforenm(&st, key);
			crypto_aead_aes256gcm_encrypt_detached_afternm(none, want, &ml, none, 0, ad, len, NULL,
								       nonce, &st);
			assert_memory_equal(mac, want, 16);
			assert_int_equal(auth_mac_check(SCPP_AUTH_ALG_AES256GMAC, &k, ad, len, n8, mac), 0);
			if (len > 0) {
				size_t bit = randombytes_uniform((uint32_t)len * 8);

				ad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
				assert_int_equal(auth_mac_check(SCPP_AUTH_ALG_AES256GMAC, &k, ad, len, n8, mac),
						 -1);
				ad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			}
			n8[len % 8] ^= 1;
			assert_int_equal(auth_mac_check(SCPP_AUTH_ALG_AES256GMAC, &k, ad, len, n8, mac), -1);
			mac[len % 16] ^= 0x80;
			n8[len % 8] ^= 1;
			assert_int_equal(auth_mac_check(SCPP_AUTH_ALG_AES256GMAC, &k, ad, len, n8, mac), -1);
		}
	}
	auth_gmac_force_narrow(false);
}

/* A host without AES-NI/PCLMULQDQ (forced): AES-256-GMAC is neither
 * offered nor accepted, no key state is prepared for it (our GHASH never
 * runs), and the handshake opens a ChaCha20-Poly1305 session that seals and
 * verifies both ways. */
static void
test_host_without_aes_ni_negotiates_chachapoly(void **state)
{
	struct hs *h;
	struct scpp_auth_initiator *ini;
	struct scpp_auth_client_session *cs = NULL;
	struct scpp_auth_finish_result res;
	struct scpp_auth_table *t = mk_table(64, 0);
	struct scpp_auth_verdict v;
	union auth_mac_key k;
	uint8_t fin[SCPP_AUTH_FINISH_MAX], reply[256], d[256], key[32] = {1};
	int fl;
	size_t n;

	(void)state;
	auth_force_no_aes(true);
	assert_int_equal(scpp_auth_algs_available(), SCPP_AUTH_ALG_CHACHAPOLY);
	assert_int_equal(auth_mac_key_init(&k, SCPP_AUTH_ALG_AES256GMAC, key), -SCPP_AUTH_E_BAD_ALG);
	h = hs_new(64, 0);
	ini = ini_new(h);
	assert_int_equal(hs_run(h, ini, T_NOW, T_NOW + 1000, fin, &fl, reply, &res), 0);
	assert_int_equal(res.params.alg, SCPP_AUTH_ALG_CHACHAPOLY);
	assert_int_equal(scpp_auth_initiator_accept(ini, reply, res.reply_len, &cs, NULL), 0);
	assert_int_equal(scpp_auth_client_session_alg(cs), SCPP_AUTH_ALG_CHACHAPOLY);
	assert_int_equal(scpp_auth_table_install(t, &res.params), 0);
	n = mk_dgram(d, 1, 5, example_block, sizeof(example_block));
	assert_int_equal(scpp_auth_client_seal(cs, 0, d, n), 0);
	assert_int_equal(scpp_auth_verify(t, d, n, T_NOW, &v), 0);
	n = mk_dgram(d, 2, 5, example_block, 30);
	assert_int_equal(scpp_auth_seal(t, v.slot, d, n), 0);
	assert_int_equal(scpp_auth_client_open(cs, d, n, NULL), 0);
	auth_force_no_aes(false);
	assert_int_equal(scpp_auth_table_close(t, res.params.id), 0);
	scpp_auth_table_free(t);
	scpp_auth_authority_free(scpp_auth_responder_close(h->r, res.params.id));
	scpp_auth_client_session_free(cs);
	scpp_auth_initiator_free(ini);
	hs_free(h);
	assert_true((scpp_auth_algs_available() & SCPP_AUTH_ALG_AES256GMAC) != 0);
}

const struct CMUnitTest auth_session_tests[] = {
	cmocka_unit_test_setup_teardown(test_host_without_aes_ni_negotiates_chachapoly, session_setup,
					session_teardown),
	cmocka_unit_test(test_gmac_is_aes256_gcm_byte_for_byte),
	cmocka_unit_test_setup_teardown(test_seal_verify_round_trip_with_both_algorithms,
					session_setup, session_teardown),
	cmocka_unit_test_setup_teardown(test_forgeries_are_rejected_and_move_nothing, session_setup,
					session_teardown),
	cmocka_unit_test_setup_teardown(test_framing_session_lane_and_expiry_checks, session_setup,
					session_teardown),
	cmocka_unit_test_setup_teardown(test_a_delivery_cookie_is_framed_and_maced, session_setup,
					session_teardown),
	cmocka_unit_test(test_window_matches_reference_model),
	cmocka_unit_test_setup_teardown(test_window_edges_through_verify, session_setup,
					session_teardown),
	cmocka_unit_test_setup_teardown(test_retransmission_passes_the_window_replay_does_not,
					session_setup, session_teardown),
	cmocka_unit_test_setup_teardown(test_node_to_client_direction_and_cached_resend,
					session_setup, session_teardown),
	cmocka_unit_test_setup_teardown(test_table_install_close_and_bounded_expiry_sweep,
					session_setup, session_teardown),
	cmocka_unit_test_setup_teardown(test_handshake_opens_a_session_usable_on_every_lane,
					session_setup, session_teardown),
	cmocka_unit_test_setup_teardown(test_handshake_retransmitted_finish_gets_the_same_accept,
					session_setup, session_teardown),
	cmocka_unit_test_setup_teardown(test_handshake_hello_errors, session_setup,
					session_teardown),
	cmocka_unit_test_setup_teardown(test_handshake_challenge_errors_at_the_client,
					session_setup, session_teardown),
	cmocka_unit_test_setup_teardown(test_handshake_finish_failures, session_setup,
					session_teardown),
	cmocka_unit_test_setup_teardown(test_handshake_limits_and_due_sessions, session_setup,
					session_teardown),
	cmocka_unit_test_setup_teardown(test_handshake_accept_errors_at_the_client, session_setup,
					session_teardown),
	cmocka_unit_test_setup_teardown(test_handshake_is_deterministic_with_seeds, session_setup,
					session_teardown),
	cmocka_unit_test_setup_teardown(test_constructors_refuse_bad_config_and_leak_nothing,
					session_setup, session_teardown),
	cmocka_unit_test_setup_teardown(test_conformance_vectors, session_setup, session_teardown),
	cmocka_unit_test_setup_teardown(test_peer_key_is_pairwise, session_setup, session_teardown),
	cmocka_unit_test_setup_teardown(test_fwd_principal_seal_open, session_setup,
					session_teardown),
	cmocka_unit_test_setup_teardown(test_cont_principal_and_reply_mac, session_setup,
					session_teardown),
	cmocka_unit_test_setup_teardown(test_delegated_replies_open_at_the_client, session_setup,
					session_teardown),
	cmocka_unit_test_setup_teardown(test_identity_seal_open, session_setup, session_teardown),
	cmocka_unit_test(test_identity_fragments_reassemble),
	cmocka_unit_test(test_reasm_bounds_and_errors),
	cmocka_unit_test_setup_teardown(test_session_reject_names_the_session, session_setup,
					session_teardown),
	cmocka_unit_test(test_node_key_open_creates_then_loads),
	cmocka_unit_test(test_peer_spec),
	cmocka_unit_test(test_revocations_read_all_or_nothing),
	cmocka_unit_test(test_dlg_table_keeps_replaces_evicts),
	cmocka_unit_test(test_cont_reply_key_derivation),
};
const size_t auth_session_ntests = SCPP_ARRAY_SIZE(auth_session_tests);
