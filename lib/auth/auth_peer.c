/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Node to node (docs/SECURITY.md §9.4): the pairwise key two nodes derive
 * from their Ed25519 keys without a handshake, the delegated reply key an
 * owner seals a forwarded session's replies with, and FORWARD extension
 * type 1 ("principal"): who the client proved to be, the delegated key
 * sealed for the owner, and a MAC over the whole forwarded request.
 */
#include <errno.h>
#include <string.h>

#include "auth_priv.h"

#define AUTH_CTX_PEER "scpp-peer-v1"
#define AUTH_CTX_FWD "scpp-fwd-v1"
#define AUTH_CTX_IDENT "scpp-ident-v1"
#define AUTH_CTX_CONT_REPLY "scpp-cont-reply-v1"
#define AUTH_KDF_DELEGATE "scppdlg1" /* crypto_kdf context: exactly 8 bytes */

/* Offsets in extension 1 (docs/SECURITY.md §9.4). */
#define FP_PRINCIPAL 0
#define FP_DIGEST 32
#define FP_SESSION 64
#define FP_NOT_AFTER 72
#define FP_FLAGS 80
#define FP_RSV 81
#define FP_NONCE 82
#define FP_SEALED 106
#define FP_SEALED_LEN (SCPP_AUTH_KEY_LEN + crypto_aead_xchacha20poly1305_ietf_ABYTES)

int
scpp_auth_peer_key(const struct scpp_auth_keypair *self, uint32_t self_id,
		   const uint8_t peer_pk[SCPP_AUTH_KEY_LEN], uint32_t peer_id,
		   uint8_t key[SCPP_AUTH_KEY_LEN])
{
	uint8_t xs[crypto_scalarmult_curve25519_BYTES], xp[crypto_scalarmult_curve25519_BYTES];
	uint8_t dh[crypto_scalarmult_BYTES], ids[8];
	const uint8_t *first, *second;
	crypto_generichash_state st;
	int rc = 0;

	if (self == NULL || peer_pk == NULL || key == NULL || self_id == peer_id)
		return -EINVAL;
	if (crypto_sign_ed25519_pk_to_curve25519(xp, peer_pk) != 0)
		return -SCPP_AUTH_E_BAD_KEY;
	if (crypto_sign_ed25519_sk_to_curve25519(xs, self->sk) != 0)
		return -SCPP_AUTH_E_BAD_KEY;
	if (crypto_scalarmult(dh, xs, xp) != 0) {
		rc = -SCPP_AUTH_E_BAD_KEY;
		goto out;
	}
	/* Both sides hash the same bytes: the lower node id first. */
	auth_put32(ids, self_id < peer_id ? self_id : peer_id);
	auth_put32(ids + 4, self_id < peer_id ? peer_id : self_id);
	first = self_id < peer_id ? self->pk : peer_pk;
	second = self_id < peer_id ? peer_pk : self->pk;
	crypto_generichash_init(&st, dh, sizeof(dh), SCPP_AUTH_KEY_LEN);
	crypto_generichash_update(&st, (const uint8_t *)AUTH_CTX_PEER, sizeof(AUTH_CTX_PEER));
	crypto_generichash_update(&st, ids, sizeof(ids));
	crypto_generichash_update(&st, first, SCPP_AUTH_KEY_LEN);
	crypto_generichash_update(&st, second, SCPP_AUTH_KEY_LEN);
	crypto_generichash_final(&st, key, SCPP_AUTH_KEY_LEN);
out:
	sodium_memzero(xs, sizeof(xs));
	sodium_memzero(dh, sizeof(dh));
	return rc;
}

void
scpp_auth_delegated_key(const uint8_t k_n2c[SCPP_AUTH_KEY_LEN], uint32_t owner_node,
			uint8_t out[SCPP_AUTH_KEY_LEN])
{
	crypto_kdf_derive_from_key(out, SCPP_AUTH_KEY_LEN, owner_node, AUTH_KDF_DELEGATE, k_n2c);
}

/* BLAKE2b-128 keyed with a pairwise key over @p ctx (with its NUL) and up
 * to three byte strings. */
static void
pair_mac(const uint8_t key[SCPP_AUTH_KEY_LEN], const char *ctx, const uint8_t *a, size_t alen,
	 const uint8_t *b, size_t blen, const uint8_t *c, size_t clen, uint8_t mac[SCPP_AUTH_MAC_LEN])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, key, SCPP_AUTH_KEY_LEN, SCPP_AUTH_MAC_LEN);
	crypto_generichash_update(&st, (const uint8_t *)ctx, strlen(ctx) + 1);
	crypto_generichash_update(&st, a, alen);
	crypto_generichash_update(&st, b, blen);
	crypto_generichash_update(&st, c, clen);
	crypto_generichash_final(&st, mac, SCPP_AUTH_MAC_LEN);
}

/* MAC: over the FORWARD header, the extension's bytes before the MAC and
 * the request. */
static void
fwd_mac(const uint8_t key[SCPP_AUTH_KEY_LEN], const uint8_t *hdr, size_t hdr_len,
	const uint8_t *ext, size_t ext_len, const uint8_t *req, size_t req_len,
	uint8_t mac[SCPP_AUTH_MAC_LEN])
{
	pair_mac(key, AUTH_CTX_FWD, hdr, hdr_len, ext, ext_len, req, req_len, mac);
}

int
scpp_auth_fwd_principal_seal(const struct scpp_auth_fwd_principal *p,
			     const uint8_t peer_key[SCPP_AUTH_KEY_LEN], const uint8_t *hdr,
			     size_t hdr_len, const uint8_t *req, size_t req_len,
			     const uint8_t nonce[24], uint8_t *out, size_t size)
{
	unsigned long long clen = 0;

	if (p == NULL || peer_key == NULL || out == NULL || (hdr == NULL && hdr_len != 0) ||
	    (req == NULL && req_len != 0) ||
	    (p->flags & ~(SCPP_AUTH_FWD_F_PROVEN | SCPP_AUTH_FWD_F_RESTRICTED)) != 0)
		return -EINVAL;
	if (size < SCPP_AUTH_FWD_PRINCIPAL_LEN)
		return -ENOSPC;
	memcpy(out + FP_PRINCIPAL, p->principal, SCPP_AUTH_KEY_LEN);
	memcpy(out + FP_DIGEST, p->digest, SCPP_AUTH_ID_LEN);
	auth_put64(out + FP_SESSION, p->session);
	auth_put64(out + FP_NOT_AFTER, p->not_after_ns);
	out[FP_FLAGS] = p->flags;
	out[FP_RSV] = 0;
	if (nonce != NULL)
		memcpy(out + FP_NONCE, nonce, 24);
	else
		randombytes_buf(out + FP_NONCE, 24);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + FP_SEALED, &clen, p->reply_key,
						   SCPP_AUTH_KEY_LEN, out, FP_NONCE, NULL,
						   out + FP_NONCE, peer_key);
	fwd_mac(peer_key, hdr, hdr_len, out, FP_SEALED + FP_SEALED_LEN, req, req_len,
		out + FP_SEALED + FP_SEALED_LEN);
	return SCPP_AUTH_FWD_PRINCIPAL_LEN;
}

int
scpp_auth_fwd_principal_open(const uint8_t *ext, size_t len,
			     const uint8_t peer_key[SCPP_AUTH_KEY_LEN], const uint8_t *hdr,
			     size_t hdr_len, const uint8_t *req, size_t req_len,
			     struct scpp_auth_fwd_principal *p)
{
	uint8_t mac[SCPP_AUTH_MAC_LEN];
	unsigned long long mlen = 0;

	memset(p, 0, sizeof(*p));
	if (ext == NULL || peer_key == NULL)
		return -EINVAL;
	if (len < SCPP_AUTH_FWD_PRINCIPAL_LEN)
		return -SCPP_E_TRUNCATED;
	if (len > SCPP_AUTH_FWD_PRINCIPAL_LEN)
		return -SCPP_E_TRAILING;
	/* The MAC first: nothing of an unauthenticated extension is read. */
	fwd_mac(peer_key, hdr, hdr_len, ext, FP_SEALED + FP_SEALED_LEN, req, req_len, mac);
	if (sodium_memcmp(mac, ext + FP_SEALED + FP_SEALED_LEN, sizeof(mac)) != 0)
		return -SCPP_AUTH_E_BAD_MAC;
	if ((ext[FP_FLAGS] & ~(SCPP_AUTH_FWD_F_PROVEN | SCPP_AUTH_FWD_F_RESTRICTED)) != 0)
		return -SCPP_E_BAD_FLAGS;
	if (ext[FP_RSV] != 0)
		return -SCPP_AUTH_E_BAD_RESERVED;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(p->reply_key, &mlen, NULL, ext + FP_SEALED,
						       FP_SEALED_LEN, ext, FP_NONCE,
						       ext + FP_NONCE, peer_key) != 0 ||
	    mlen != SCPP_AUTH_KEY_LEN) {
		sodium_memzero(p, sizeof(*p));
		return -SCPP_AUTH_E_BAD_MAC;
	}
	memcpy(p->principal, ext + FP_PRINCIPAL, SCPP_AUTH_KEY_LEN);
	memcpy(p->digest, ext + FP_DIGEST, SCPP_AUTH_ID_LEN);
	p->session = auth_get64(ext + FP_SESSION);
	p->not_after_ns = auth_get64(ext + FP_NOT_AFTER);
	p->flags = ext[FP_FLAGS];
	return 0;
}

void
scpp_auth_cont_reply_mac(const uint8_t k_r[SCPP_AUTH_KEY_LEN], const uint8_t *msg, size_t len,
			 uint8_t mac[SCPP_AUTH_CONT_REPLY_MAC_LEN])
{
	pair_mac(k_r, AUTH_CTX_CONT_REPLY, msg, len, NULL, 0, NULL, 0, mac);
}

long
scpp_auth_cont_reply_open(const uint8_t k_r[SCPP_AUTH_KEY_LEN], const uint8_t *msg, size_t len)
{
	uint8_t mac[SCPP_AUTH_CONT_REPLY_MAC_LEN];
	size_t body;

	if (len < SCPP_AUTH_CONT_REPLY_MAC_LEN)
		return -SCPP_E_TRUNCATED;
	body = len - SCPP_AUTH_CONT_REPLY_MAC_LEN;
	scpp_auth_cont_reply_mac(k_r, msg, body, mac);
	if (crypto_verify_16(mac, msg + body) != 0)
		return -SCPP_AUTH_E_BAD_MAC;
	return (long)body;
}

/* ---- IDENTITY datagrams: header (kind 14, one fragment), from, to, SF, MAC ---- */

static void
ident_mac(const uint8_t key[SCPP_AUTH_KEY_LEN], const uint8_t *d, size_t len,
	  uint8_t mac[SCPP_AUTH_MAC_LEN])
{
	pair_mac(key, AUTH_CTX_IDENT, d, len, NULL, 0, NULL, 0, mac);
}

unsigned int
scpp_auth_identity_frags(size_t sf_len, size_t max_dgram)
{
	size_t per, n;

	if (sf_len == 0 || sf_len > SCPP_AUTH_IDENTITY_SF_MAX ||
	    max_dgram <= SCPP_AUTH_IDENTITY_OVERHEAD)
		return 0;
	per = SCPP_MIN(max_dgram - SCPP_AUTH_IDENTITY_OVERHEAD,
		       (size_t)UINT16_MAX - (SCPP_AUTH_IDENTITY_OVERHEAD - AUTH_HDR_LEN));
	n = (sf_len + per - 1) / per;
	return n > SCPP_AUTH_IDENTITY_FRAGS_MAX ? 0 : (unsigned int)n;
}

int
scpp_auth_identity_seal_frag(const uint8_t peer_key[SCPP_AUTH_KEY_LEN], uint32_t from,
			     uint32_t to, uint64_t msg_id, const uint8_t *sf, size_t sf_len,
			     unsigned int index, size_t max_dgram, uint8_t *out, size_t size)
{
	unsigned int n = scpp_auth_identity_frags(sf_len, max_dgram);
	size_t per, off, part, total;

	if (peer_key == NULL || sf == NULL || out == NULL || from == to || n == 0 || index >= n ||
	    (n > 1 && msg_id == 0))
		return -EINVAL;
	per = SCPP_MIN(max_dgram - SCPP_AUTH_IDENTITY_OVERHEAD,
		       (size_t)UINT16_MAX - (SCPP_AUTH_IDENTITY_OVERHEAD - AUTH_HDR_LEN));
	off = (size_t)index * per;
	part = SCPP_MIN(per, sf_len - off);
	total = part + SCPP_AUTH_IDENTITY_OVERHEAD;
	if (size < total)
		return -ENOSPC;
	auth_hs_hdr(out, SCPP_AUTH_KIND_IDENTITY, (uint16_t)(total - AUTH_HDR_LEN), from, msg_id,
		    index, n);
	auth_put32(out + AUTH_HDR_LEN, from);
	auth_put32(out + AUTH_HDR_LEN + 4, to);
	memcpy(out + AUTH_HDR_LEN + 8, sf + off, part);
	ident_mac(peer_key, out, total - SCPP_AUTH_MAC_LEN, out + total - SCPP_AUTH_MAC_LEN);
	return (int)total;
}

int
scpp_auth_identity_seal(const uint8_t peer_key[SCPP_AUTH_KEY_LEN], uint32_t from, uint32_t to,
			const uint8_t *sf, size_t sf_len, uint8_t *out, size_t size)
{
	size_t total = sf_len + SCPP_AUTH_IDENTITY_OVERHEAD;

	if (sf_len == 0 || sf_len > SCPP_AUTH_IDENTITY_SF_MAX || total - AUTH_HDR_LEN > UINT16_MAX)
		return -EINVAL;
	return scpp_auth_identity_seal_frag(peer_key, from, to, 0, sf, sf_len, 0, total, out, size);
}

int
scpp_auth_identity_peek(const uint8_t *dg, size_t len, uint32_t *from)
{
	if (dg == NULL || from == NULL)
		return -EINVAL;
	if (len < SCPP_AUTH_IDENTITY_OVERHEAD + 1)
		return -SCPP_E_TRUNCATED;
	if (dg[0] != 0x53 || dg[1] != 0x43 || dg[2] != 1 ||
	    dg[AUTH_H_KIND] != SCPP_AUTH_KIND_IDENTITY)
		return -SCPP_E_BAD_KIND;
	*from = auth_get32(dg + AUTH_HDR_LEN);
	return 0;
}

int
scpp_auth_identity_open_frag(const uint8_t *dg, size_t len,
			     const uint8_t peer_key[SCPP_AUTH_KEY_LEN], uint32_t self,
			     struct scpp_auth_identity_frag *f)
{
	uint8_t mac[SCPP_AUTH_MAC_LEN];
	int rc;

	if (f == NULL || peer_key == NULL)
		return -EINVAL;
	memset(f, 0, sizeof(*f));
	rc = scpp_auth_identity_peek(dg, len, &f->from);
	if (rc != 0)
		return rc;
	if (len != (size_t)AUTH_HDR_LEN + auth_get16(dg + AUTH_H_PAYLOAD_LEN))
		return -SCPP_E_BAD_LENGTH;
	/* The MAC first: nothing else of the datagram is believed before it. */
	ident_mac(peer_key, dg, len - SCPP_AUTH_MAC_LEN, mac);
	if (sodium_memcmp(mac, dg + len - SCPP_AUTH_MAC_LEN, sizeof(mac)) != 0)
		return -SCPP_AUTH_E_BAD_MAC;
	if (auth_get32(dg + AUTH_HDR_LEN + 4) != self ||
	    auth_get64(dg + AUTH_H_CLIENT_ID) != f->from)
		return -SCPP_AUTH_E_WRONG_PRINCIPAL;
	f->msg_id = auth_get64(dg + AUTH_H_BLOCK_ID);
	f->index = auth_get32(dg + AUTH_H_FRAG_INDEX);
	f->count = auth_get32(dg + AUTH_H_FRAG_COUNT);
	/* Fragments: 1..16 of them, LAST exactly on the last, an id when more
	 * than one (the reassembly key with the sender). */
	if (f->count == 0 || f->count > SCPP_AUTH_IDENTITY_FRAGS_MAX || f->index >= f->count ||
	    ((dg[AUTH_H_FLAGS] & 0x01) != 0) != (f->index + 1 == f->count) ||
	    (dg[AUTH_H_FLAGS] & ~0x01) != 0 || (f->count > 1 && f->msg_id == 0))
		return -SCPP_E_BAD_FRAGMENT;
	f->piece = dg + AUTH_HDR_LEN + 8;
	f->piece_len = len - SCPP_AUTH_IDENTITY_OVERHEAD;
	return 0;
}

int
scpp_auth_identity_open(const uint8_t *dg, size_t len, const uint8_t peer_key[SCPP_AUTH_KEY_LEN],
			uint32_t self, uint32_t *from, const uint8_t **sf, size_t *sf_len)
{
	struct scpp_auth_identity_frag f;
	int rc;

	if (sf == NULL || sf_len == NULL || from == NULL)
		return -EINVAL;
	rc = scpp_auth_identity_open_frag(dg, len, peer_key, self, &f);
	*from = f.from;
	if (rc != 0)
		return rc;
	if (f.count != 1)
		return -SCPP_E_BAD_FRAGMENT;
	*sf = f.piece;
	*sf_len = f.piece_len;
	return 0;
}
