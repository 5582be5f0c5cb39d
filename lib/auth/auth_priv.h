/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef AUTH_PRIV_H
#define AUTH_PRIV_H

/* Private to lib/auth: byte order helpers, the MAC and replay-window
 * primitives shared by the node's tables and the client's sessions, and the
 * allocation helpers. Layouts are documented in docs/SECURITY.md. */

#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "scpp_auth.h"

/* Format magics (2 bytes each) and their version byte. */
#define AUTH_MAGIC_GRANT0 0x53 /* 'S' */
#define AUTH_MAGIC_GRANT1 0x47 /* 'G' */
#define AUTH_MAGIC_CHAIN1 0x4e /* 'N' */
#define AUTH_MAGIC_REVOKE1 0x52 /* 'R' */
#define AUTH_FORMAT_VERSION 1

/* Offsets inside a grant (docs/SECURITY.md "Grants"). */
#define AUTH_G_ISSUER 4
#define AUTH_G_SUBJECT 36
#define AUTH_G_SCOPE 68
#define AUTH_G_PLEN 84
#define AUTH_G_DEPTH 85
#define AUTH_G_OPS 86
#define AUTH_G_EXPIRES 88
#define AUTH_G_NATTRS 96

/* Offsets of the datagram header fields this library reads or writes. */
#define AUTH_H_KIND 3
#define AUTH_H_FLAGS 4
#define AUTH_H_TAG_LEN 5
#define AUTH_H_PAYLOAD_LEN 6
#define AUTH_H_CLIENT_ID 8
#define AUTH_H_BLOCK_ID 16
#define AUTH_H_FRAG_INDEX 24
#define AUTH_H_FRAG_COUNT 28
#define AUTH_HDR_LEN 32

/* Domain-separation strings: every signature and keyed hash names what it
 * is for, so no signed or MACed bytes can be replayed as another kind. */
#define AUTH_CTX_GRANT "scpp-grant-v1"
#define AUTH_CTX_GRANT_ID "scpp-grant-id-v1"
#define AUTH_CTX_REVOKE "scpp-revoke-v1"
#define AUTH_CTX_EPOCH "scpp-epoch-v1"
#define AUTH_CTX_COOKIE "scpp-cookie-v1"
#define AUTH_CTX_HS "scpp-hs-v1"
#define AUTH_CTX_SESSION "scpp-session-v1"
#define AUTH_CTX_ACCEPT "scpp-accept-v1"
#define AUTH_KDF_CTX "scppsess" /* crypto_kdf context: exactly 8 bytes */

static inline void
auth_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void
auth_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void
auth_put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t
auth_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t
auth_get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v; /* little-endian hosts only: asserted in auth.c */
}

static inline uint64_t
auth_get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static inline uint64_t
auth_get48(const uint8_t *p)
{
	return (uint64_t)auth_get16(p) | (uint64_t)auth_get32(p + 2) << 16;
}

static inline void
auth_put48(uint8_t *p, uint64_t v)
{
	auth_put16(p, (uint16_t)v);
	auth_put32(p + 2, (uint32_t)(v >> 16));
}

static inline bool
auth_all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* The algorithms of @wanted (0: all) this host can compute. */
uint16_t auth_algs_usable(uint16_t wanted);

/* ---- allocation ---- */

const struct scpp_auth_mem *auth_mem(const struct scpp_auth_mem *m);
void *auth_zalloc(const struct scpp_auth_mem *m, size_t size);
/* Wipe, then return to the provider. p may be NULL. */
void auth_wipe_free(const struct scpp_auth_mem *m, void *p, size_t size);

/* ---- MAC keys and the tag ---- */

/* One direction's MAC key, in the form its algorithm computes fastest:
 * AES-GCM keeps precomputed state (round keys and powers of H, computed
 * once per session key: auth_gmac.c), ChaCha20-Poly1305 the raw key. */
/* AES-256-GMAC of our own (auth_gmac.c) on x86-64: the round keys and
 * 64 powers of H, computed once per key. Elsewhere libsodium's GCM
 * state. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define AUTH_GMAC_X86 1
#else
#define AUTH_GMAC_X86 0
#endif
#define AUTH_GMAC_ROUNDS 14
/* Blocks per reduction: 64, so that a datagram of up to 1 007 bytes (a
 * 16-get block's is 579) is hashed with no chain of dependent multiplies. */
#define AUTH_GMAC_AGG 64

/* kp[i] = H^(AGG-i) * x for i < AGG (auth_gmac.c's representation), then
 * three zero entries, so that a group of k < AGG blocks loads its powers
 * K_k..K_1 four at a time from kp + AGG - k without reading past them. */
struct auth_gmac {
	uint8_t rk[AUTH_GMAC_ROUNDS + 1][16] __attribute__((aligned(16)));
	uint8_t kp[AUTH_GMAC_AGG + 3][16] __attribute__((aligned(16)));
};

/* AES-256-GMAC is usable: AES-NI and PCLMULQDQ (libsodium's check), unless
 * a test made this host one without them (auth_force_no_aes()): then no
 * session key is prepared for it and handshakes negotiate ChaCha20-Poly1305. */
bool auth_aes_available(void);
void auth_force_no_aes(bool on);

union auth_mac_key {
	crypto_aead_aes256gcm_state gcm;
	struct auth_gmac gmac;
	uint8_t raw[SCPP_AUTH_KEY_LEN];
};

#if AUTH_GMAC_X86
/* Only after crypto_aead_aes256gcm_is_available(): AES-NI and PCLMULQDQ. */
void auth_gmac_init(struct auth_gmac *g, const uint8_t key[32]);
/* The AES-256-GCM tag of an empty plaintext with additional data ad and
 * the 96-bit nonce nonce8 || 0^32. */
void auth_gmac(const struct auth_gmac *g, const uint8_t *ad, size_t adlen,
	       const uint8_t nonce8[8], uint8_t tag[16]);
/* 0 when @tag is that tag, else -1; compared in constant time. */
int auth_gmac_verify(const struct auth_gmac *g, const uint8_t *ad, size_t adlen,
		     const uint8_t nonce8[8], const uint8_t tag[16]);
/* Whether the AVX-512 VPCLMULQDQ path runs; tests force the other one. */
bool auth_gmac_wide(void);
void auth_gmac_force_narrow(bool narrow);
#endif

/* Prepare @k for @alg from a 32-byte key. Returns 0 or -SCPP_AUTH_E_BAD_ALG. */
int auth_mac_key_init(union auth_mac_key *k, uint16_t alg, const uint8_t raw[SCPP_AUTH_KEY_LEN]);

/* MAC over ad[0..adlen) with the 12-byte nonce (first 8 tag bytes, then 4
 * zero bytes) into mac[16]. */
void auth_mac_compute(uint16_t alg, const union auth_mac_key *k, const uint8_t *ad, size_t adlen,
		      const uint8_t nonce8[8], uint8_t mac[SCPP_AUTH_MAC_LEN]);
/* Constant-time verification: 0 if mac is right, -1 otherwise. */
int auth_mac_check(uint16_t alg, const union auth_mac_key *k, const uint8_t *ad, size_t adlen,
		   const uint8_t nonce8[8], const uint8_t mac[SCPP_AUTH_MAC_LEN]);

/* The delivery layer's header flag COOKIE (docs/PROTOCOL.md §5): 16 bytes of
 * cookie sit between the payload and the tag, and are MACed like the rest. */
#define AUTH_H_F_COOKIE 0x02
#define AUTH_COOKIE_BYTES 16

/* Bytes a datagram must have for its header: 32 + payload (+ cookie) + tag. */
static inline size_t
auth_dgram_len(const uint8_t *d)
{
	return (size_t)AUTH_HDR_LEN + auth_get16(d + AUTH_H_PAYLOAD_LEN) +
	       ((d[AUTH_H_FLAGS] & AUTH_H_F_COOKIE) ? AUTH_COOKIE_BYTES : 0) + d[AUTH_H_TAG_LEN];
}

/*
 * Frame check of a session datagram: flag set, tag_len 24, length exact.
 * Returns 0, -SCPP_AUTH_E_NOT_SESSION or -SCPP_AUTH_E_BAD_TAG.
 */
static inline int
auth_tag_frame(const uint8_t *d, size_t len)
{
	if (SCPP_UNLIKELY(len < AUTH_HDR_LEN))
		return -SCPP_AUTH_E_BAD_TAG;
	if (SCPP_UNLIKELY(!(d[AUTH_H_FLAGS] & SCPP_AUTH_F_SESSION)))
		return -SCPP_AUTH_E_NOT_SESSION;
	if (SCPP_UNLIKELY(d[AUTH_H_TAG_LEN] != SCPP_AUTH_TAG_LEN || len != auth_dgram_len(d)))
		return -SCPP_AUTH_E_BAD_TAG;
	return 0;
}

/* Write the tag's lane and counter, then its MAC, into the last 24 bytes. */
void auth_tag_seal(uint16_t alg, const union auth_mac_key *k, uint8_t *d, size_t len,
		   uint16_t lane, uint64_t counter);

/* ---- anti-replay window (RFC 6479 / WireGuard) ----
 *
 * A ring of SCPP_AUTH_WINDOW_BITS bits indexed by counter + 1, and top =
 * 1 + the highest counter accepted (0 before any). A counter c (t = c + 1)
 * is too old when t + WINDOW < top, new when t > top, and otherwise a
 * duplicate iff its bit is set. Accepting a new counter clears the words
 * between the old top and it (at most the whole ring), so the ring never
 * needs a scan. check() is read-only and runs before the MAC; update()
 * runs only after the MAC verified, so forged datagrams never move it.
 */
struct auth_window {
	uint64_t top;
	uint64_t bits[SCPP_AUTH_WINDOW_BITS / 64];
};

#define AUTH_WINDOW_WORDS (SCPP_AUTH_WINDOW_BITS / 64)

static inline int
auth_window_check(const struct auth_window *w, uint64_t c)
{
	uint64_t t = c + 1;

	if (t + SCPP_AUTH_WINDOW < w->top)
		return -SCPP_AUTH_E_TOO_OLD;
	if (t > w->top)
		return 0;
	if (w->bits[(t >> 6) & (AUTH_WINDOW_WORDS - 1)] & (UINT64_C(1) << (t & 63)))
		return -SCPP_AUTH_E_REPLAY;
	return 0;
}

static inline void
auth_window_update(struct auth_window *w, uint64_t c)
{
	uint64_t t = c + 1, idx = t >> 6;

	if (t > w->top) {
		uint64_t cur = w->top >> 6;
		uint64_t n = SCPP_MIN(idx - cur, (uint64_t)AUTH_WINDOW_WORDS);

		for (uint64_t i = 1; i <= n; i++)
			w->bits[(cur + i) & (AUTH_WINDOW_WORDS - 1)] = 0;
		w->top = t;
	}
	w->bits[idx & (AUTH_WINDOW_WORDS - 1)] |= UINT64_C(1) << (t & 63);
}

/* Relaxed counter increment: one writer (the owning lcore), readers on the
 * telemetry thread see each counter individually consistent. */
#define AUTH_COUNT(x) __atomic_store_n(&(x), (x) + 1, __ATOMIC_RELAXED)

/* ---- shared by the grant, chain and handshake code ---- */

/* Is the prefix (len bits of oid) canonical: len <= 128, later bits zero? */
bool auth_prefix_canonical(const struct scpp_oid_prefix *p);
/* Is prefix a within prefix b? */
bool auth_prefix_within(const struct scpp_oid_prefix *a, const struct scpp_oid_prefix *b);
/* Do the two prefixes share any OID? */
bool auth_prefix_overlap(const struct scpp_oid_prefix *a, const struct scpp_oid_prefix *b);
/* Bytewise order of attribute names: memcmp on the common part, then shorter first. */
int auth_name_cmp(const char *a, size_t alen, const char *b, size_t blen);

/* Binary search of @name among @n sorted names (pointers and lengths). */
bool auth_name_find(const char *const *names, const uint8_t *lens, unsigned int n, const char *name,
		    size_t len);

/* Verify signature over ctx string (with its NUL) and msg. 0 or -1. */
int auth_sig_verify(const uint8_t sig[SCPP_AUTH_SIG_LEN], const char *ctx, const uint8_t *msg,
		    size_t len, const uint8_t pk[SCPP_AUTH_KEY_LEN]);
void auth_sig_make(uint8_t sig[SCPP_AUTH_SIG_LEN], const char *ctx, const uint8_t *msg, size_t len,
		   const struct scpp_auth_keypair *kp);

/* ---- handshake messages (docs/SECURITY.md "Handshake") ---- */

#define AUTH_HS_VERSION 1

/* HELLO payload */
#define AUTH_HELLO_ALGS 2
#define AUTH_HELLO_EPH 4
#define AUTH_HELLO_PAD 36

/* CHALLENGE payload */
#define AUTH_CH_ALG 2
#define AUTH_CH_NODE 4
#define AUTH_CH_EPOCH 36
#define AUTH_CH_EPH 44
#define AUTH_CH_EXPIRES 76
#define AUTH_CH_SIG 84
#define AUTH_CH_TIME 148
#define AUTH_CH_COOKIE 156
#define AUTH_CH_CERT_LEN (AUTH_CH_SIG - AUTH_CH_NODE) /* signed epoch certificate */
#define AUTH_COOKIE_LEN 16

/* FINISH payload */
#define AUTH_FIN_ALG 2
#define AUTH_FIN_EPH 4
#define AUTH_FIN_EPOCH 36
#define AUTH_FIN_TIME 44
#define AUTH_FIN_COOKIE 52
#define AUTH_FIN_PRINCIPAL 68
#define AUTH_FIN_NCHAINS 100
#define AUTH_FIN_RSV 101

/* ACCEPT payload */
#define AUTH_ACC_ALG 2
#define AUTH_ACC_SESSION 4
#define AUTH_ACC_RANDOM 12
#define AUTH_ACC_EXPIRES 44
#define AUTH_ACC_LANES 52
#define AUTH_ACC_RSV 54
#define AUTH_ACC_CONFIRM 56

/* Check a parsed handshake datagram's kind, and that its payload is exactly
 * @len bytes starting with version 1 and flags 0. */
int auth_hs_fixed(const struct scpp_auth_hs_dgram *h, uint8_t kind, uint16_t len);

/* Write a handshake datagram header (tag_len 0, LAST when last fragment). */
void auth_hs_hdr(uint8_t *d, uint8_t kind, uint16_t payload_len, uint64_t client_id,
		 uint64_t hs_id, uint32_t frag_index, uint32_t frag_count);

/* th = BLAKE2b-256(ctx, hs_id, CHALLENGE payload, FINISH up to its signature):
 * what the principal signs, and what every session key depends on. */
void auth_hs_transcript(uint8_t th[32], uint64_t hs_id, const uint8_t *challenge,
			const uint8_t *finish, size_t signed_len);

/* Session keys and the ACCEPT confirmation from the X25519 result, the
 * transcript and the first 56 bytes of the ACCEPT payload. */
void auth_hs_keys(const uint8_t dh[32], const uint8_t th[32], const uint8_t *accept,
		  uint8_t k_c2n[32], uint8_t k_n2c[32], uint8_t confirm[AUTH_COOKIE_LEN]);

/* Encode a REJECT datagram for code/fault; returns its length. */
size_t auth_hs_reject(uint8_t *d, uint64_t hs_id, int code, const struct scpp_auth_fault *f);

/* Has a revocation in t->revoked come to cover a grant of @a? */
bool auth_authority_revoked(const struct scpp_auth_authority *a, const struct scpp_auth_trust *t);

#endif /* AUTH_PRIV_H */
