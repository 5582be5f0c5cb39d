/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Node to node (docs/SECURITY.md §9.4): the pairwise key is the same on
 * both sides and differs per pair; FORWARD extension 1 opens only with the
 * pair's key and only over the exact header, extension and request it was
 * made for; the delegated reply key is what the client derives; IDENTITY
 * datagrams open only with the pair's key, for the node they name.
 */
#include <errno.h>

#include "auth_test.h"

static void
kp(struct scpp_auth_keypair *k, uint8_t tag)
{
	uint8_t seed[32];

	memset(seed, tag, sizeof(seed));
	assert_int_equal(scpp_auth_key_from_seed(k, seed), 0);
}

void
test_peer_key_is_pairwise(void **state)
{
	struct scpp_auth_keypair a, b, c;
	uint8_t ab[32], ba[32], ac[32], zero[32] = {0};

	(void)state;
	kp(&a, 0x21);
	kp(&b, 0x22);
	kp(&c, 0x23);
	assert_int_equal(scpp_auth_peer_key(&a, 1, b.pk, 2, ab), 0);
	assert_int_equal(scpp_auth_peer_key(&b, 2, a.pk, 1, ba), 0);
	assert_memory_equal(ab, ba, 32);
	assert_int_equal(scpp_auth_peer_key(&a, 1, c.pk, 3, ac), 0);
	assert_memory_not_equal(ab, ac, 32);
	/* The ids are bound: the same keys under other ids give another key. */
	assert_int_equal(scpp_auth_peer_key(&a, 1, b.pk, 4, ba), 0);
	assert_memory_not_equal(ab, ba, 32);
	assert_int_equal(scpp_auth_peer_key(&a, 1, b.pk, 1, ba), -EINVAL);
	/* A public key that is not a curve point does not convert. */
	memset(ba, 0xff, sizeof(ba));
	assert_int_equal(scpp_auth_peer_key(&a, 1, ba, 2, ac), -SCPP_AUTH_E_BAD_KEY);
	assert_int_equal(scpp_auth_peer_key(&a, 1, zero, 2, ac), -SCPP_AUTH_E_BAD_KEY);
}

void
test_fwd_principal_seal_open(void **state)
{
	struct scpp_auth_keypair a, b, client;
	struct scpp_auth_fwd_principal p, q;
	uint8_t key[32], other[32], kn2c[32], ext[SCPP_AUTH_FWD_PRINCIPAL_LEN];
	uint8_t hdr[44], req[100], nonce[24];

	(void)state;
	kp(&a, 0x31);
	kp(&b, 0x32);
	kp(&client, 0x33);
	assert_int_equal(scpp_auth_peer_key(&a, 7, b.pk, 9, key), 0);
	memset(other, 0x5a, sizeof(other));
	memset(hdr, 0x11, sizeof(hdr));
	memset(req, 0x22, sizeof(req));
	memset(nonce, 0x44, sizeof(nonce));
	memset(kn2c, 0x66, sizeof(kn2c));
	memset(&p, 0, sizeof(p));
	memcpy(p.principal, client.pk, 32);
	memset(p.digest, 0x77, 32);
	p.session = UINT64_C(0x123456789a000005);
	p.not_after_ns = UINT64_C(1800000000000000000);
	scpp_auth_delegated_key(kn2c, 9, p.reply_key);
	assert_int_equal(scpp_auth_fwd_principal_seal(&p, key, hdr, sizeof(hdr), req, sizeof(req),
						      nonce, ext, sizeof(ext)),
			 SCPP_AUTH_FWD_PRINCIPAL_LEN);
	assert_int_equal(scpp_auth_fwd_principal_seal(&p, key, hdr, sizeof(hdr), req, sizeof(req),
						      nonce, ext, sizeof(ext) - 1),
			 -ENOSPC);
	assert_int_equal(scpp_auth_fwd_principal_open(ext, sizeof(ext), key, hdr, sizeof(hdr), req,
						      sizeof(req), &q),
			 0);
	assert_memory_equal(&p, &q, sizeof(p));
	/* The delegated key is the client's own derivation, per owner. */
	{
		uint8_t d[32];

		scpp_auth_delegated_key(kn2c, 9, d);
		assert_memory_equal(d, q.reply_key, 32);
		scpp_auth_delegated_key(kn2c, 8, d);
		assert_memory_not_equal(d, q.reply_key, 32);
	}
	/* Another pair's key, or any changed byte of the header, the
	 * extension or the request: refused, nothing returned. */
	assert_int_equal(scpp_auth_fwd_principal_open(ext, sizeof(ext), other, hdr, sizeof(hdr), req,
						      sizeof(req), &q),
			 -SCPP_AUTH_E_BAD_MAC);
	for (size_t i = 0; i < sizeof(ext); i++) {
		ext[i] ^= 0x01;
		assert_int_equal(scpp_auth_fwd_principal_open(ext, sizeof(ext), key, hdr, sizeof(hdr),
							      req, sizeof(req), &q),
				 -SCPP_AUTH_E_BAD_MAC);
		ext[i] ^= 0x01;
	}
	hdr[2] ^= 0x01; /* the hop count, say */
	assert_int_equal(scpp_auth_fwd_principal_open(ext, sizeof(ext), key, hdr, sizeof(hdr), req,
						      sizeof(req), &q),
			 -SCPP_AUTH_E_BAD_MAC);
	hdr[2] ^= 0x01;
	req[99] ^= 0x80;
	assert_int_equal(scpp_auth_fwd_principal_open(ext, sizeof(ext), key, hdr, sizeof(hdr), req,
						      sizeof(req), &q),
			 -SCPP_AUTH_E_BAD_MAC);
	req[99] ^= 0x80;
	assert_int_equal(scpp_auth_fwd_principal_open(ext, sizeof(ext) - 1, key, hdr, sizeof(hdr),
						      req, sizeof(req), &q),
			 -SCPP_E_TRUNCATED);
	/* PROVEN is the only flag a forwarder may set. */
	p.flags = SCPP_AUTH_FWD_F_PROVEN;
	assert_int_equal(scpp_auth_fwd_principal_seal(&p, key, hdr, sizeof(hdr), req, sizeof(req),
						      nonce, ext, sizeof(ext)),
			 SCPP_AUTH_FWD_PRINCIPAL_LEN);
	assert_int_equal(scpp_auth_fwd_principal_open(ext, sizeof(ext), key, hdr, sizeof(hdr), req,
						      sizeof(req), &q),
			 0);
	assert_int_equal(q.flags, SCPP_AUTH_FWD_F_PROVEN);
	p.flags = 0x04;
	assert_int_equal(scpp_auth_fwd_principal_seal(&p, key, hdr, sizeof(hdr), req, sizeof(req),
						      nonce, ext, sizeof(ext)),
			 -EINVAL);
	/* The owner sees the same from its side of the pair. */
	assert_int_equal(scpp_auth_peer_key(&b, 9, a.pk, 7, other), 0);
	assert_int_equal(scpp_auth_fwd_principal_open(ext, sizeof(ext), other, hdr, sizeof(hdr), req,
						      sizeof(req), &q),
			 0);
}

/* A CONT's extension 1 (RESTRICTED, the CONT_REPLY key sealed) and the MAC
 * that ends the owner's answer (docs/SECURITY.md §9.4 item 9). */
void
test_cont_principal_and_reply_mac(void **state)
{
	struct scpp_auth_fwd_principal p, q;
	struct scpp_auth_keypair a, b;
	uint8_t key[32], back[32], hdr[52], rest[120], ext[SCPP_AUTH_FWD_PRINCIPAL_LEN];
	uint8_t nonce[24], msg[64 + SCPP_AUTH_CONT_REPLY_MAC_LEN], k_r[32];

	(void)state;
	kp(&a, 0x51);
	kp(&b, 0x52);
	assert_int_equal(scpp_auth_peer_key(&a, 1, b.pk, 2, key), 0);
	assert_int_equal(scpp_auth_peer_key(&b, 2, a.pk, 1, back), 0);
	memset(&p, 0, sizeof(p));
	memset(p.principal, 0x0a, sizeof(p.principal));
	memset(p.digest, 0x0d, sizeof(p.digest));
	memset(p.reply_key, 0x7e, sizeof(p.reply_key));
	p.session = 0x123456789a000005ull;
	p.not_after_ns = 1000;
	p.flags = SCPP_AUTH_FWD_F_RESTRICTED;
	for (size_t i = 0; i < sizeof(hdr); i++)
		hdr[i] = (uint8_t)(0x30 + i);
	for (size_t i = 0; i < sizeof(rest); i++)
		rest[i] = (uint8_t)(0x90 ^ i);
	memset(nonce, 0x33, sizeof(nonce));
	assert_int_equal(scpp_auth_fwd_principal_seal(&p, key, hdr, sizeof(hdr), rest, sizeof(rest),
						      nonce, ext, sizeof(ext)),
			 SCPP_AUTH_FWD_PRINCIPAL_LEN);
	assert_int_equal(ext[80], SCPP_AUTH_FWD_F_RESTRICTED);
	assert_int_equal(scpp_auth_fwd_principal_open(ext, sizeof(ext), back, hdr, sizeof(hdr), rest,
						      sizeof(rest), &q),
			 0);
	assert_int_equal(q.flags, SCPP_AUTH_FWD_F_RESTRICTED);
	assert_int_equal(q.session, p.session);
	assert_memory_equal(q.reply_key, p.reply_key, sizeof(p.reply_key));
	/* The header (a CONT's 52 bytes) and everything after the extension
	 * are covered: one flipped bit of either is refused. */
	hdr[48] ^= 0x01; /* ext_len */
	assert_int_equal(scpp_auth_fwd_principal_open(ext, sizeof(ext), back, hdr, sizeof(hdr), rest,
						      sizeof(rest), &q),
			 -SCPP_AUTH_E_BAD_MAC);
	hdr[48] ^= 0x01;
	rest[119] ^= 0x40; /* the last row byte */
	assert_int_equal(scpp_auth_fwd_principal_open(ext, sizeof(ext), back, hdr, sizeof(hdr), rest,
						      sizeof(rest), &q),
			 -SCPP_AUTH_E_BAD_MAC);
	rest[119] ^= 0x40;
	/* The flag cannot be cleared to pass it off as a FORWARD's. */
	ext[80] = 0;
	assert_int_equal(scpp_auth_fwd_principal_open(ext, sizeof(ext), back, hdr, sizeof(hdr), rest,
						      sizeof(rest), &q),
			 -SCPP_AUTH_E_BAD_MAC);

	/* The answer's MAC: under the reply key, over every byte before it. */
	memcpy(k_r, p.reply_key, sizeof(k_r));
	for (size_t i = 0; i < 64; i++)
		msg[i] = (uint8_t)(i * 5);
	scpp_auth_cont_reply_mac(k_r, msg, 64, msg + 64);
	assert_int_equal(scpp_auth_cont_reply_open(p.reply_key, msg, sizeof(msg)), 64);
	for (size_t i = 0; i < sizeof(msg); i++) {
		msg[i] ^= 0x08;
		assert_int_equal(scpp_auth_cont_reply_open(p.reply_key, msg, sizeof(msg)),
				 -SCPP_AUTH_E_BAD_MAC);
		msg[i] ^= 0x08;
	}
	k_r[0] ^= 1; /* another part's key */
	assert_int_equal(scpp_auth_cont_reply_open(k_r, msg, sizeof(msg)), -SCPP_AUTH_E_BAD_MAC);
	assert_int_equal(scpp_auth_cont_reply_open(p.reply_key, msg, 15), -SCPP_E_TRUNCATED);
	assert_int_equal(scpp_auth_cont_reply_open(p.reply_key, msg, 16), -SCPP_AUTH_E_BAD_MAC);
}

void
test_identity_seal_open(void **state)
{
	struct scpp_auth_keypair a, b;
	uint8_t key[32], back[32], other[32], sf[300], dg[400];
	const uint8_t *got = NULL;
	size_t got_len = 0;
	uint32_t from = 0;
	int n;

	(void)state;
	kp(&a, 0x41);
	kp(&b, 0x42);
	assert_int_equal(scpp_auth_peer_key(&a, 1, b.pk, 3, key), 0);
	assert_int_equal(scpp_auth_peer_key(&b, 3, a.pk, 1, back), 0);
	memset(other, 0x5b, sizeof(other));
	for (size_t i = 0; i < sizeof(sf); i++)
		sf[i] = (uint8_t)i;
	n = scpp_auth_identity_seal(key, 1, 3, sf, sizeof(sf), dg, sizeof(dg));
	assert_int_equal(n, (int)(sizeof(sf) + SCPP_AUTH_IDENTITY_OVERHEAD));
	assert_int_equal(dg[3], SCPP_AUTH_KIND_IDENTITY);
	assert_int_equal(scpp_auth_identity_seal(key, 1, 3, sf, sizeof(sf), dg, (size_t)n - 1),
			 -ENOSPC);
	assert_int_equal(scpp_auth_identity_peek(dg, (size_t)n, &from), 0);
	assert_int_equal(from, 1);
	assert_int_equal(scpp_auth_identity_open(dg, (size_t)n, back, 3, &from, &got, &got_len), 0);
	assert_int_equal(got_len, sizeof(sf));
	assert_memory_equal(got, sf, sizeof(sf));
	/* Another pair's key, for another node, or any byte changed: refused. */
	assert_int_equal(scpp_auth_identity_open(dg, (size_t)n, other, 3, &from, &got, &got_len),
			 -SCPP_AUTH_E_BAD_MAC);
	assert_int_equal(scpp_auth_identity_open(dg, (size_t)n, back, 2, &from, &got, &got_len),
			 -SCPP_AUTH_E_WRONG_PRINCIPAL);
	for (int i = 0; i < n; i += 7) {
		int rc;

		dg[i] ^= 0x10;
		rc = scpp_auth_identity_open(dg, (size_t)n, back, 3, &from, &got, &got_len);
		assert_true(rc == -SCPP_AUTH_E_BAD_MAC || rc == -SCPP_E_BAD_KIND ||
			    rc == -SCPP_E_BAD_LENGTH);
		dg[i] ^= 0x10;
	}
	assert_int_equal(scpp_auth_identity_open(dg, (size_t)n - 1, back, 3, &from, &got, &got_len),
			 -SCPP_E_BAD_LENGTH);
	assert_int_equal(scpp_auth_identity_open(dg, 40, back, 3, &from, &got, &got_len),
			 -SCPP_E_TRUNCATED);
	assert_int_equal(scpp_auth_identity_seal(key, 1, 1, sf, sizeof(sf), dg, sizeof(dg)),
			 -EINVAL);
}

/* An IDENTITY of a 5000-byte record in 1472-byte datagrams: 4 fragments,
 * each opening only with the pair's key; delivered out of order and with a
 * duplicate through a reassembler, the record comes out byte for byte; a
 * tampered fragment field or a missing id is refused before reassembly. */
void
test_identity_fragments_reassemble(void **state)
{
	struct scpp_auth_keypair a, b;
	struct scpp_auth_reasm_config rc = {4, SCPP_AUTH_IDENTITY_SF_MAX, SCPP_AUTH_IDENTITY_FRAGS_MAX,
					    UINT64_C(2000000000), NULL};
	struct scpp_auth_reasm *r;
	struct scpp_auth_reasm_stats st;
	struct scpp_auth_identity_frag f;
	static uint8_t sf[5000], dg[4][1472];
	static const unsigned int order[] = {2, 0, 2, 3, 1};
	uint8_t key[32], back[32];
	const uint8_t *out = NULL;
	size_t out_len = 0;
	int n[4], rc2 = 0;
	unsigned int nf;

	(void)state;
	kp(&a, 0x41);
	kp(&b, 0x42);
	assert_int_equal(scpp_auth_peer_key(&a, 1, b.pk, 3, key), 0);
	assert_int_equal(scpp_auth_peer_key(&b, 3, a.pk, 1, back), 0);
	for (size_t i = 0; i < sizeof(sf); i++)
		sf[i] = (uint8_t)(i * 7 + 1);
	nf = scpp_auth_identity_frags(sizeof(sf), 1472);
	assert_int_equal(nf, 4);
	assert_int_equal(scpp_auth_identity_frags(0, 1472), 0);
	assert_int_equal(scpp_auth_identity_frags(SCPP_AUTH_IDENTITY_SF_MAX + 1, 9000), 0);
	assert_int_equal(scpp_auth_identity_frags(SCPP_AUTH_IDENTITY_SF_MAX, 600), 0); /* > 16 */
	assert_int_equal(scpp_auth_identity_seal_frag(key, 1, 3, 0, sf, sizeof(sf), 0, 1472, dg[0],
						      sizeof(dg[0])),
			 -EINVAL); /* several fragments need an id */
	assert_int_equal(scpp_auth_identity_seal_frag(key, 1, 3, 77, sf, sizeof(sf), 4, 1472, dg[0],
						      sizeof(dg[0])),
			 -EINVAL);
	for (unsigned int i = 0; i < nf; i++) {
		n[i] = scpp_auth_identity_seal_frag(key, 1, 3, 77, sf, sizeof(sf), i, 1472, dg[i],
						    sizeof(dg[i]));
		assert_true(n[i] > 0 && n[i] <= 1472);
		assert_int_equal(scpp_auth_identity_open_frag(dg[i], (size_t)n[i], back, 3, &f), 0);
		assert_int_equal(f.from, 1);
		assert_int_equal(f.msg_id, 77);
		assert_int_equal(f.index, i);
		assert_int_equal(f.count, 4);
		/* The one-datagram opener refuses a fragment of several. */
		{
			const uint8_t *p;
			size_t pl;
			uint32_t from;

			assert_int_equal(scpp_auth_identity_open(dg[i], (size_t)n[i], back, 3, &from, &p,
								 &pl),
					 -SCPP_E_BAD_FRAGMENT);
		}
	}
	assert_int_equal(n[0], 1472);
	assert_int_equal(n[3], (int)(sizeof(sf) - 3 * (1472 - SCPP_AUTH_IDENTITY_OVERHEAD) +
				     SCPP_AUTH_IDENTITY_OVERHEAD));
	/* Each fragment is MAC'd on its own: its index, count or id changed
	 * (everything before the MAC is covered) does not open. */
	dg[1][24] ^= 1; /* frag_index */
	assert_int_equal(scpp_auth_identity_open_frag(dg[1], (size_t)n[1], back, 3, &f),
			 -SCPP_AUTH_E_BAD_MAC);
	dg[1][24] ^= 1;
	r = scpp_auth_reasm_create(&rc);
	assert_non_null(r);
	for (unsigned int k = 0; k < SCPP_ARRAY_SIZE(order); k++) {
		unsigned int i = order[k];

		assert_int_equal(scpp_auth_identity_open_frag(dg[i], (size_t)n[i], back, 3, &f), 0);
		rc2 = scpp_auth_reasm_add(r, f.from, f.msg_id, f.index, f.count, f.piece, f.piece_len,
					  1000, &out, &out_len);
		if (k == 2)
			assert_int_equal(rc2, -EALREADY);
		else if (k < 4)
			assert_int_equal(rc2, 0);
	}
	assert_int_equal(rc2, 1);
	assert_int_equal(out_len, sizeof(sf));
	assert_memory_equal(out, sf, sizeof(sf));
	assert_int_equal(scpp_auth_reasm_held(r), 0);
	scpp_auth_reasm_stats_get(r, &st);
	assert_int_equal(st.completed, 1);
	assert_int_equal(st.duplicates, 1);
	assert_int_equal(st.frags, 5);
	scpp_auth_reasm_free(r);
}

/* The reassembler's bounds: slots, size, fragment count, deadline; each
 * refusal its own code and counter, nothing left half-held. */
void
test_reasm_bounds_and_errors(void **state)
{
	struct scpp_auth_reasm_config rc = {2, 100, 4, 1000, NULL};
	struct scpp_auth_reasm_config bad = rc;
	struct scpp_auth_reasm *r;
	struct scpp_auth_reasm_stats st;
	uint8_t p[100];
	const uint8_t *out;
	size_t out_len;

	(void)state;
	memset(p, 0xab, sizeof(p));
	bad.slots = 0;
	assert_null(scpp_auth_reasm_create(&bad));
	bad = rc;
	bad.max_frags = 65;
	assert_null(scpp_auth_reasm_create(&bad));
	bad = rc;
	bad.timeout_ns = 0;
	assert_null(scpp_auth_reasm_create(&bad));
	r = scpp_auth_reasm_create(&rc);
	assert_non_null(r);
	/* Fields. */
	assert_int_equal(scpp_auth_reasm_add(r, 1, 1, 0, 0, p, 10, 0, &out, &out_len), -EINVAL);
	assert_int_equal(scpp_auth_reasm_add(r, 1, 1, 0, 5, p, 10, 0, &out, &out_len), -EINVAL);
	assert_int_equal(scpp_auth_reasm_add(r, 1, 1, 2, 2, p, 10, 0, &out, &out_len), -EINVAL);
	assert_int_equal(scpp_auth_reasm_add(r, 1, 1, 0, 2, p, 0, 0, &out, &out_len), -EINVAL);
	assert_int_equal(scpp_auth_reasm_held(r), 0);
	/* Two slots busy: a third message is dropped, in time. */
	assert_int_equal(scpp_auth_reasm_add(r, 1, 1, 0, 2, p, 10, 0, &out, &out_len), 0);
	assert_int_equal(scpp_auth_reasm_add(r, 2, 1, 0, 2, p, 10, 0, &out, &out_len), 0);
	assert_int_equal(scpp_auth_reasm_add(r, 1, 2, 0, 2, p, 10, 999, &out, &out_len), -ENOBUFS);
	/* A count disagreeing with the first fragment's drops the message. */
	assert_int_equal(scpp_auth_reasm_add(r, 2, 1, 1, 3, p, 10, 10, &out, &out_len), -EPROTO);
	assert_int_equal(scpp_auth_reasm_held(r), 1);
	/* Over max_bytes (100): dropped. */
	assert_int_equal(scpp_auth_reasm_add(r, 3, 1, 0, 2, p, 80, 10, &out, &out_len), 0);
	assert_int_equal(scpp_auth_reasm_add(r, 3, 1, 1, 2, p, 21, 10, &out, &out_len), -EMSGSIZE);
	assert_int_equal(scpp_auth_reasm_held(r), 1);
	/* After the deadline (first fragment + 1000): timed out, the slot is
	 * taken by a new message; a late fragment restarts nothing whole. */
	assert_int_equal(scpp_auth_reasm_add(r, 4, 1, 0, 1, p, 100, 1000, &out, &out_len), 1);
	assert_int_equal(out_len, 100);
	assert_int_equal(scpp_auth_reasm_add(r, 5, 1, 0, 2, p, 10, 1000, &out, &out_len), 0);
	assert_int_equal(scpp_auth_reasm_add(r, 6, 1, 0, 2, p, 10, 1000, &out, &out_len), 0);
	assert_int_equal(scpp_auth_reasm_held(r), 2);
	assert_int_equal(scpp_auth_reasm_expire(r, 1999), 0);
	assert_int_equal(scpp_auth_reasm_expire(r, 2000), 2);
	assert_int_equal(scpp_auth_reasm_held(r), 0);
	scpp_auth_reasm_stats_get(r, &st);
	assert_int_equal(st.bad, 5);
	assert_int_equal(st.full, 1);
	assert_int_equal(st.too_big, 1);
	assert_int_equal(st.completed, 1);
	assert_int_equal(st.timeouts, 3); /* message (1,1) at 1000, then 5 and 6 */
	scpp_auth_reasm_free(r);
}
