/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The session handshake: message framing, the key schedule both sides
 * share, and the client side (struct scpp_auth_initiator).
 *
 * Why this handshake (docs/SECURITY.md "Handshake" has the whole argument):
 * principals are Ed25519 keys because grants are Ed25519 signatures, so the
 * client proves possession by signing the transcript (SIGMA-style, as TLS
 * 1.3 and SSH authenticate), while the session keys come from an X25519
 * exchange between the client's ephemeral key and the node's *epoch* key,
 * which the node signs once per rotation. That keeps the node's work per
 * unauthenticated HELLO at one keyed hash (a stateless cookie) and a copy,
 * and its first public-key operation behind a FINISH that proved its
 * address (cookie) and is smaller than the node's answer to it.
 *
 *   client                                   node (control thread)
 *   HELLO      algs, E_c, padding  ------->  cookie = MAC(addr, E_c, time)
 *              <-------  CHALLENGE  alg, node key, epoch cert, cookie
 *   FINISH     E_c, cookie, principal, chains, sig(th)  ------->
 *                                            cookie, sig, chains, DH, compile
 *              <-------  ACCEPT  session id, R_n, expiry, lanes, confirm
 */
#include <string.h>

#include "auth_priv.h"

void
auth_hs_hdr(uint8_t *d, uint8_t kind, uint16_t payload_len, uint64_t client_id, uint64_t hs_id,
	    uint32_t frag_index, uint32_t frag_count)
{
	d[0] = 0x53; /* "SC" */
	d[1] = 0x43;
	d[2] = 1;
	d[AUTH_H_KIND] = kind;
	d[AUTH_H_FLAGS] = frag_index + 1 == frag_count ? 0x01 : 0x00;
	d[AUTH_H_TAG_LEN] = 0;
	auth_put16(d + AUTH_H_PAYLOAD_LEN, payload_len);
	auth_put64(d + AUTH_H_CLIENT_ID, client_id);
	auth_put64(d + AUTH_H_BLOCK_ID, hs_id);
	auth_put32(d + AUTH_H_FRAG_INDEX, frag_index);
	auth_put32(d + AUTH_H_FRAG_COUNT, frag_count);
}

int
scpp_auth_hs_parse(const uint8_t *d, size_t len, struct scpp_auth_hs_dgram *out)
{
	uint32_t fmax;
	size_t plen;

	/* The order of lib/wire's header checks (docs/PROTOCOL.md §5). */
	if (d == NULL || out == NULL)
		return -EINVAL;
	if (len < AUTH_HDR_LEN)
		return -SCPP_E_TRUNCATED;
	if (d[0] != 0x53 || d[1] != 0x43)
		return -SCPP_E_BAD_MAGIC;
	if (d[2] != 1)
		return -SCPP_E_BAD_VERSION;
	if (d[AUTH_H_KIND] < SCPP_AUTH_KIND_HELLO || d[AUTH_H_KIND] > SCPP_AUTH_KIND_REJECT)
		return -SCPP_E_BAD_KIND;
	if ((d[AUTH_H_FLAGS] & ~0x01) != 0 || d[AUTH_H_TAG_LEN] != 0)
		return -SCPP_E_BAD_FLAGS;
	out->kind = d[AUTH_H_KIND];
	out->session = auth_get64(d + AUTH_H_CLIENT_ID);
	out->hs_id = auth_get64(d + AUTH_H_BLOCK_ID);
	out->frag_index = auth_get32(d + AUTH_H_FRAG_INDEX);
	out->frag_count = auth_get32(d + AUTH_H_FRAG_COUNT);
	fmax = out->kind == SCPP_AUTH_KIND_FINISH ? SCPP_AUTH_FINISH_FRAGS_MAX : 1;
	if (out->frag_count == 0 || out->frag_count > fmax || out->frag_index >= out->frag_count)
		return -SCPP_E_BAD_FRAGMENT;
	if (((d[AUTH_H_FLAGS] & 0x01) != 0) != (out->frag_index + 1 == out->frag_count))
		return -SCPP_E_BAD_FLAGS;
	plen = auth_get16(d + AUTH_H_PAYLOAD_LEN);
	if (AUTH_HDR_LEN + plen > 65507)
		return -SCPP_E_BAD_LENGTH;
	if (len < AUTH_HDR_LEN + plen)
		return -SCPP_E_TRUNCATED;
	if (len > AUTH_HDR_LEN + plen)
		return -SCPP_E_BAD_LENGTH;
	out->payload = d + AUTH_HDR_LEN;
	out->payload_len = (uint16_t)plen;
	return 0;
}

int
auth_hs_fixed(const struct scpp_auth_hs_dgram *h, uint8_t kind, uint16_t len)
{
	if (h->kind != kind)
		return -SCPP_E_BAD_KIND;
	if (h->payload_len < len)
		return -SCPP_E_TRUNCATED;
	if (h->payload_len > len)
		return -SCPP_E_TRAILING;
	if (h->payload[0] != AUTH_HS_VERSION)
		return -SCPP_E_BAD_VERSION;
	if (h->payload[1] != 0)
		return -SCPP_E_BAD_FLAGS;
	return 0;
}

unsigned int
scpp_auth_finish_frags(size_t len, size_t max_dgram)
{
	size_t per, n;

	if (max_dgram <= AUTH_HDR_LEN || len > SCPP_AUTH_FINISH_MAX)
		return 0;
	per = SCPP_MIN(max_dgram - AUTH_HDR_LEN, (size_t)UINT16_MAX);
	n = len == 0 ? 1 : (len + per - 1) / per;
	return n > SCPP_AUTH_FINISH_FRAGS_MAX ? 0 : (unsigned int)n;
}

int
scpp_auth_finish_dgram(const uint8_t *msg, size_t len, uint64_t hs_id, unsigned int index,
		       size_t max_dgram, uint8_t *out, size_t size)
{
	unsigned int n = scpp_auth_finish_frags(len, max_dgram);
	size_t per, off, part;

	if (n == 0 || index >= n || msg == NULL)
		return -EINVAL;
	per = SCPP_MIN(max_dgram - AUTH_HDR_LEN, (size_t)UINT16_MAX);
	off = (size_t)index * per;
	part = SCPP_MIN(per, len - off);
	if (out == NULL || size < AUTH_HDR_LEN + part)
		return -ENOSPC;
	auth_hs_hdr(out, SCPP_AUTH_KIND_FINISH, (uint16_t)part, 0, hs_id, index, n);
	memcpy(out + AUTH_HDR_LEN, msg + off, part);
	return (int)(AUTH_HDR_LEN + part);
}

/* ---- key schedule ---- */

void
auth_hs_transcript(uint8_t th[32], uint64_t hs_id, const uint8_t *challenge, const uint8_t *finish,
		   size_t signed_len)
{
	crypto_generichash_state st;
	uint8_t id[8];

	auth_put64(id, hs_id);
	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const uint8_t *)AUTH_CTX_HS, sizeof(AUTH_CTX_HS));
	crypto_generichash_update(&st, id, sizeof(id));
	crypto_generichash_update(&st, challenge, SCPP_AUTH_CHALLENGE_LEN);
	crypto_generichash_update(&st, finish, signed_len);
	crypto_generichash_final(&st, th, 32);
}

void
auth_hs_keys(const uint8_t dh[32], const uint8_t th[32], const uint8_t *accept, uint8_t k_c2n[32],
	     uint8_t k_n2c[32], uint8_t confirm[AUTH_COOKIE_LEN])
{
	crypto_generichash_state st;
	uint8_t master[32], k_conf[32];

	/* master = BLAKE2b-256 keyed by the X25519 result over the context,
	 * the transcript and the ACCEPT's fields: the node's fresh random
	 * (R_n) and the session id make every session's keys distinct even if
	 * a FINISH is replayed within its cookie's lifetime. */
	crypto_generichash_init(&st, dh, 32, 32);
	crypto_generichash_update(&st, (const uint8_t *)AUTH_CTX_SESSION, sizeof(AUTH_CTX_SESSION));
	crypto_generichash_update(&st, th, 32);
	crypto_generichash_update(&st, accept, AUTH_ACC_CONFIRM);
	crypto_generichash_final(&st, master, 32);
	crypto_kdf_derive_from_key(k_c2n, 32, 1, AUTH_KDF_CTX, master);
	crypto_kdf_derive_from_key(k_n2c, 32, 2, AUTH_KDF_CTX, master);
	crypto_kdf_derive_from_key(k_conf, 32, 3, AUTH_KDF_CTX, master);
	crypto_generichash_init(&st, k_conf, 32, AUTH_COOKIE_LEN);
	crypto_generichash_update(&st, (const uint8_t *)AUTH_CTX_ACCEPT, sizeof(AUTH_CTX_ACCEPT));
	crypto_generichash_update(&st, th, 32);
	crypto_generichash_update(&st, accept, AUTH_ACC_CONFIRM);
	crypto_generichash_final(&st, confirm, AUTH_COOKIE_LEN);
	sodium_memzero(master, sizeof(master));
	sodium_memzero(k_conf, sizeof(k_conf));
}

/* ---- REJECT and CLOSE ---- */

size_t
auth_hs_reject(uint8_t *d, uint64_t hs_id, int code, const struct scpp_auth_fault *f)
{
	uint8_t *p = d + AUTH_HDR_LEN;

	auth_hs_hdr(d, SCPP_AUTH_KIND_REJECT, SCPP_AUTH_REJECT_LEN, 0, hs_id, 0, 1);
	memset(p, 0, SCPP_AUTH_REJECT_LEN);
	p[0] = AUTH_HS_VERSION;
	auth_put32(p + 4, (uint32_t)(code < 0 ? -code : code));
	auth_put32(p + 8, scpp_auth_errno(code));
	auth_put32(p + 12, f != NULL ? f->off : UINT32_MAX);
	auth_put16(p + 16, f != NULL ? f->chain : UINT16_MAX);
	p[18] = f != NULL ? f->link : UINT8_MAX;
	return AUTH_HDR_LEN + SCPP_AUTH_REJECT_LEN;
}

int
scpp_auth_session_reject(uint8_t *d, size_t size, uint64_t session, uint64_t block_id, int code)
{
	int n;

	if (d == NULL || session == 0 || (code != -SCPP_AUTH_E_NO_SESSION &&
					  code != -SCPP_AUTH_E_SESSION_EXPIRED))
		return -EINVAL;
	if (size < AUTH_HDR_LEN + SCPP_AUTH_REJECT_LEN)
		return -ENOSPC;
	n = auth_hs_reject(d, block_id, code, NULL);
	auth_put64(d + AUTH_H_CLIENT_ID, session);
	return n;
}

int
scpp_auth_reject_decode(const uint8_t *p, size_t len, struct scpp_auth_reject *r)
{
	uint32_t code;

	if (p == NULL || r == NULL)
		return -EINVAL;
	if (len < SCPP_AUTH_REJECT_LEN)
		return -SCPP_E_TRUNCATED;
	if (len > SCPP_AUTH_REJECT_LEN)
		return -SCPP_E_TRAILING;
	if (p[0] != AUTH_HS_VERSION)
		return -SCPP_E_BAD_VERSION;
	if (p[1] != 0)
		return -SCPP_E_BAD_FLAGS;
	if (p[2] != 0 || p[3] != 0 || p[19] != 0)
		return -SCPP_AUTH_E_BAD_RESERVED;
	code = auth_get32(p + 4);
	r->code = code > INT32_MAX ? -EPROTO : -(int32_t)code;
	r->err = auth_get32(p + 8);
	r->fault.off = auth_get32(p + 12);
	r->fault.chain = auth_get16(p + 16);
	r->fault.link = p[18];
	r->fault.line = 0;
	return 0;
}

int
scpp_auth_close_encode(uint8_t *d, size_t size, uint64_t session, uint32_t reason)
{
	size_t n = AUTH_HDR_LEN + SCPP_AUTH_CLOSE_LEN + SCPP_AUTH_TAG_LEN;

	if (d == NULL || size < n)
		return -ENOSPC;
	auth_hs_hdr(d, SCPP_AUTH_KIND_CLOSE, SCPP_AUTH_CLOSE_LEN, session, 0, 0, 1);
	d[AUTH_H_FLAGS] |= SCPP_AUTH_F_SESSION;
	d[AUTH_H_TAG_LEN] = SCPP_AUTH_TAG_LEN;
	memset(d + AUTH_HDR_LEN, 0, SCPP_AUTH_CLOSE_LEN + SCPP_AUTH_TAG_LEN);
	d[AUTH_HDR_LEN] = AUTH_HS_VERSION;
	auth_put32(d + AUTH_HDR_LEN + 4, reason);
	return (int)n;
}

int
scpp_auth_close_decode(const uint8_t *p, size_t len, uint32_t *reason)
{
	if (p == NULL || reason == NULL)
		return -EINVAL;
	if (len < SCPP_AUTH_CLOSE_LEN)
		return -SCPP_E_TRUNCATED;
	if (len > SCPP_AUTH_CLOSE_LEN)
		return -SCPP_E_TRAILING;
	if (p[0] != AUTH_HS_VERSION)
		return -SCPP_E_BAD_VERSION;
	if (p[1] != 0)
		return -SCPP_E_BAD_FLAGS;
	if (p[2] != 0 || p[3] != 0)
		return -SCPP_AUTH_E_BAD_RESERVED;
	*reason = auth_get32(p + 4);
	return 0;
}

/* ---- initiator ---- */

enum ini_state { INI_NEW, INI_HELLO, INI_FINISH, INI_DONE };

struct scpp_auth_initiator {
	const struct scpp_auth_mem *mem;
	size_t size;
	uint8_t state;
	uint8_t nchains;
	uint16_t algs;
	uint16_t alg;             /* chosen by the node */
	bool node_key_set;
	uint64_t hs_id;
	struct scpp_auth_keypair principal;
	uint8_t e_sk[32], e_pk[32];
	uint8_t node_key[SCPP_AUTH_KEY_LEN];
	uint8_t th[32];
	uint8_t dh[32];
	size_t chains_len;
	uint8_t chains[];         /* the encoded chains, concatenated */
};

struct scpp_auth_initiator *
scpp_auth_initiator_create(const struct scpp_auth_initiator_config *cfg)
{
	struct scpp_auth_initiator *ini;
	struct scpp_auth_chain *c;
	size_t total = 0, links = 0, off = 0;
	uint16_t algs;

	if (cfg == NULL || cfg->principal == NULL || cfg->nchains == 0 ||
	    cfg->nchains > SCPP_AUTH_CHAINS_MAX || (cfg->algs & ~SCPP_AUTH_ALG_ALL) != 0) {
		errno = EINVAL;
		return NULL;
	}
	algs = auth_algs_usable(cfg->algs);
	if (algs == 0) {
		errno = ENOSYS;
		return NULL;
	}
	c = auth_zalloc(cfg->mem, sizeof(*c));
	if (c == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	for (unsigned int i = 0; i < cfg->nchains; i++) {
		if (cfg->chain[i] == NULL ||
		    scpp_auth_chain_decode(cfg->chain[i], cfg->chain_len[i], c, NULL, NULL) != 0) {
			auth_wipe_free(cfg->mem, c, sizeof(*c));
			errno = EINVAL;
			return NULL;
		}
		links += c->n;
		total += cfg->chain_len[i];
	}
	auth_wipe_free(cfg->mem, c, sizeof(*c));
	if (links > SCPP_AUTH_LINKS_MAX ||
	    SCPP_AUTH_FINISH_FIXED + total + SCPP_AUTH_SIG_LEN > SCPP_AUTH_FINISH_MAX) {
		errno = EINVAL;
		return NULL;
	}
	ini = auth_zalloc(cfg->mem, sizeof(*ini) + total);
	if (ini == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	ini->mem = auth_mem(cfg->mem);
	ini->size = sizeof(*ini) + total;
	ini->principal = *cfg->principal;
	ini->algs = algs;
	ini->nchains = (uint8_t)cfg->nchains;
	ini->chains_len = total;
	for (unsigned int i = 0; i < cfg->nchains; i++) {
		memcpy(ini->chains + off, cfg->chain[i], cfg->chain_len[i]);
		off += cfg->chain_len[i];
	}
	if (cfg->node_key != NULL) {
		memcpy(ini->node_key, cfg->node_key, SCPP_AUTH_KEY_LEN);
		ini->node_key_set = true;
	}
	ini->hs_id = cfg->hs_id;
	while (ini->hs_id == 0)
		randombytes_buf(&ini->hs_id, sizeof(ini->hs_id));
	if (cfg->ephemeral_seed != NULL)
		memcpy(ini->e_sk, cfg->ephemeral_seed, 32);
	else
		randombytes_buf(ini->e_sk, sizeof(ini->e_sk));
	crypto_scalarmult_base(ini->e_pk, ini->e_sk);
	return ini;
}

void
scpp_auth_initiator_free(struct scpp_auth_initiator *ini)
{
	if (ini != NULL)
		auth_wipe_free(ini->mem, ini, ini->size);
}

int
scpp_auth_initiator_hello(struct scpp_auth_initiator *ini, uint8_t *d, size_t size)
{
	uint8_t *p = d + AUTH_HDR_LEN;

	if (ini == NULL || ini->state == INI_DONE)
		return -SCPP_AUTH_E_BAD_STATE;
	if (d == NULL || size < AUTH_HDR_LEN + SCPP_AUTH_HELLO_LEN)
		return -ENOSPC;
	auth_hs_hdr(d, SCPP_AUTH_KIND_HELLO, SCPP_AUTH_HELLO_LEN, 0, ini->hs_id, 0, 1);
	memset(p, 0, SCPP_AUTH_HELLO_LEN);
	p[0] = AUTH_HS_VERSION;
	auth_put16(p + AUTH_HELLO_ALGS, ini->algs);
	memcpy(p + AUTH_HELLO_EPH, ini->e_pk, 32);
	if (ini->state == INI_NEW)
		ini->state = INI_HELLO;
	return AUTH_HDR_LEN + SCPP_AUTH_HELLO_LEN;
}

/* Is @a exactly one known bit? */
static bool
one_alg(uint16_t a)
{
	return a == SCPP_AUTH_ALG_AES256GMAC || a == SCPP_AUTH_ALG_CHACHAPOLY;
}

int
scpp_auth_initiator_challenge(struct scpp_auth_initiator *ini, const uint8_t *d, size_t len,
			      uint8_t *fin, size_t size, uint8_t node_key[SCPP_AUTH_KEY_LEN])
{
	struct scpp_auth_hs_dgram h;
	const uint8_t *c;
	size_t n = SCPP_AUTH_FINISH_FIXED + ini->chains_len + SCPP_AUTH_SIG_LEN;
	uint16_t alg;
	int rc;

	if (ini == NULL || (ini->state != INI_HELLO && ini->state != INI_FINISH))
		return -SCPP_AUTH_E_BAD_STATE;
	rc = scpp_auth_hs_parse(d, len, &h);
	if (rc == 0)
		rc = auth_hs_fixed(&h, SCPP_AUTH_KIND_CHALLENGE, SCPP_AUTH_CHALLENGE_LEN);
	if (rc != 0)
		return rc;
	if (h.hs_id != ini->hs_id || h.session != 0)
		return -EPROTO;
	c = h.payload;
	alg = auth_get16(c + AUTH_CH_ALG);
	if (!one_alg(alg) || (alg & ini->algs) == 0)
		return -SCPP_AUTH_E_BAD_ALG;
	if (ini->node_key_set &&
	    sodium_memcmp(ini->node_key, c + AUTH_CH_NODE, SCPP_AUTH_KEY_LEN) != 0)
		return -SCPP_AUTH_E_NODE_KEY;
	/* The client does not check the epoch's expiry: its clock is not the
	 * node's, and the node refuses FINISH messages of epochs it dropped. */
	if (auth_sig_verify(c + AUTH_CH_SIG, AUTH_CTX_EPOCH, c + AUTH_CH_NODE, AUTH_CH_CERT_LEN,
			    c + AUTH_CH_NODE) != 0)
		return -SCPP_AUTH_E_BAD_SIGNATURE;
	if (crypto_scalarmult(ini->dh, ini->e_sk, c + AUTH_CH_EPH) != 0)
		return -SCPP_AUTH_E_BAD_KEY;
	if (fin == NULL || size < n)
		return -ENOSPC;
	memset(fin, 0, SCPP_AUTH_FINISH_FIXED);
	fin[0] = AUTH_HS_VERSION;
	auth_put16(fin + AUTH_FIN_ALG, alg);
	memcpy(fin + AUTH_FIN_EPH, ini->e_pk, 32);
	memcpy(fin + AUTH_FIN_EPOCH, c + AUTH_CH_EPOCH, 8);
	memcpy(fin + AUTH_FIN_TIME, c + AUTH_CH_TIME, 8);
	memcpy(fin + AUTH_FIN_COOKIE, c + AUTH_CH_COOKIE, AUTH_COOKIE_LEN);
	memcpy(fin + AUTH_FIN_PRINCIPAL, ini->principal.pk, SCPP_AUTH_KEY_LEN);
	fin[AUTH_FIN_NCHAINS] = ini->nchains;
	memcpy(fin + SCPP_AUTH_FINISH_FIXED, ini->chains, ini->chains_len);
	auth_hs_transcript(ini->th, ini->hs_id, c, fin, n - SCPP_AUTH_SIG_LEN);
	auth_sig_make(fin + n - SCPP_AUTH_SIG_LEN, AUTH_CTX_HS, ini->th, 32, &ini->principal);
	if (node_key != NULL)
		memcpy(node_key, c + AUTH_CH_NODE, SCPP_AUTH_KEY_LEN);
	ini->alg = alg;
	ini->state = INI_FINISH;
	return (int)n;
}

int
scpp_auth_initiator_accept(struct scpp_auth_initiator *ini, const uint8_t *d, size_t len,
			   struct scpp_auth_client_session **out, struct scpp_auth_reject *rej)
{
	struct scpp_auth_session_params p;
	struct scpp_auth_hs_dgram h;
	uint8_t confirm[AUTH_COOKIE_LEN];
	const uint8_t *a;
	int rc;

	if (ini == NULL || out == NULL || ini->state != INI_FINISH)
		return -SCPP_AUTH_E_BAD_STATE;
	rc = scpp_auth_hs_parse(d, len, &h);
	if (rc != 0)
		return rc;
	if (h.hs_id != ini->hs_id)
		return -EPROTO;
	if (h.kind == SCPP_AUTH_KIND_REJECT) {
		struct scpp_auth_reject tmp;

		rc = scpp_auth_reject_decode(h.payload, h.payload_len, rej != NULL ? rej : &tmp);
		return rc != 0 ? rc : -SCPP_AUTH_E_REJECTED;
	}
	rc = auth_hs_fixed(&h, SCPP_AUTH_KIND_ACCEPT, SCPP_AUTH_ACCEPT_LEN);
	if (rc != 0)
		return rc;
	a = h.payload;
	if (auth_get16(a + AUTH_ACC_RSV) != 0)
		return -SCPP_AUTH_E_BAD_RESERVED;
	if (auth_get16(a + AUTH_ACC_ALG) != ini->alg)
		return -SCPP_AUTH_E_BAD_ALG;
	memset(&p, 0, sizeof(p));
	p.id = auth_get64(a + AUTH_ACC_SESSION);
	p.expires_ns = auth_get64(a + AUTH_ACC_EXPIRES);
	p.lanes = auth_get16(a + AUTH_ACC_LANES);
	p.alg = ini->alg;
	if (p.id == 0 || p.id != h.session || p.lanes == 0 || p.lanes > SCPP_AUTH_LANES_MAX)
		return -EINVAL;
	auth_hs_keys(ini->dh, ini->th, a, p.k_c2n, p.k_n2c, confirm);
	if (crypto_verify_16(confirm, a + AUTH_ACC_CONFIRM) != 0) {
		sodium_memzero(&p, sizeof(p));
		return -SCPP_AUTH_E_BAD_CONFIRM;
	}
	memcpy(p.principal, ini->principal.pk, SCPP_AUTH_KEY_LEN);
	*out = scpp_auth_client_session_create(&p, ini->mem);
	sodium_memzero(&p, sizeof(p));
	if (*out == NULL)
		return -ENOMEM;
	ini->state = INI_DONE;
	return 0;
}
