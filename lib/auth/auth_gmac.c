/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * AES-256-GMAC for session datagrams (docs/SECURITY.md §10): exactly
 * AES-256-GCM (NIST SP 800-38D) with an empty plaintext, the datagram as
 * additional data and a 96-bit nonce, so the tag is byte for byte the one
 * libsodium's crypto_aead_aes256gcm_encrypt_detached() computes (unit.auth
 * compares the two on random keys, nonces and lengths, and checks the NIST
 * vector). Why our own: libsodium 1.0.18 multiplies its GHASH powers again
 * on every call and folds the additional data one block at a time; per
 * datagram that fixed work was about half the MAC of a 16-get block. Here
 * the key's state holds the AES-256 round keys and H^1..H^8, computed once
 * per session, and the data is folded eight blocks per reduction (the
 * aggregated reduction of Gueron and Kounavis, "Intel Carry-Less
 * Multiplication Instruction and its Usage for Computing the GCM Mode",
 * 2010, whose bit-reflected representation this follows).
 *
 * The wide path uses 512-bit registers only inside one call (a few dozen
 * instructions per datagram); on Intel cores before Ice Lake that can lower
 * the core's clock for a while (AMD Zen 4, this project's host, does not
 * downclock). Hosts without AVX-512BW + VPCLMULQDQ take the one-block path.
 *
 * Constant time: AESENC and PCLMULQDQ take data-independent time, the code
 * has no secret-dependent branch or index, and the tag is compared with
 * crypto_verify_16(). Only built for x86-64 (the instructions are selected
 * per function, so the rest of the build needs no -maes); the caller uses
 * it only after crypto_aead_aes256gcm_is_available() (AES-NI + PCLMUL).
 */
#include <string.h>

#include "auth_priv.h"

#if AUTH_GMAC_X86

#include <immintrin.h>
#include <wmmintrin.h>

#define GMAC_TARGET __attribute__((target("aes,pclmul,ssse3,sse2")))

/* The 16-byte reversal between GCM's byte order and the reflected one. */
GMAC_TARGET static inline __m128i
bswap128(__m128i x)
{
	const __m128i rev = _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);

	return _mm_shuffle_epi8(x, rev);
}

/* AES-256 key schedule (FIPS 197), AESKEYGENASSIST for the odd words. */
GMAC_TARGET static inline __m128i
key_mix(__m128i k, __m128i t)
{
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
	return _mm_xor_si128(k, t);
}

#define KEY_EVEN(a, b, rcon) key_mix((a), _mm_shuffle_epi32(_mm_aeskeygenassist_si128((b), (rcon)), 0xff))
#define KEY_ODD(a, b) key_mix((b), _mm_shuffle_epi32(_mm_aeskeygenassist_si128((a), 0), 0xaa))

GMAC_TARGET static void
aes256_expand(__m128i rk[AUTH_GMAC_ROUNDS + 1], const uint8_t key[32])
{
	__m128i a = _mm_loadu_si128((const __m128i *)(const void *)key);
	__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(key + 16));

	rk[0] = a;
	rk[1] = b;
	a = KEY_EVEN(a, b, 0x01); rk[2] = a; b = KEY_ODD(a, b); rk[3] = b;
	a = KEY_EVEN(a, b, 0x02); rk[4] = a; b = KEY_ODD(a, b); rk[5] = b;
	a = KEY_EVEN(a, b, 0x04); rk[6] = a; b = KEY_ODD(a, b); rk[7] = b;
	a = KEY_EVEN(a, b, 0x08); rk[8] = a; b = KEY_ODD(a, b); rk[9] = b;
	a = KEY_EVEN(a, b, 0x10); rk[10] = a; b = KEY_ODD(a, b); rk[11] = b;
	a = KEY_EVEN(a, b, 0x20); rk[12] = a; b = KEY_ODD(a, b); rk[13] = b;
	a = KEY_EVEN(a, b, 0x40); rk[14] = a;
}

GMAC_TARGET static inline __m128i
aes256_block(const __m128i *rk, __m128i x)
{
	x = _mm_xor_si128(x, rk[0]);
	for (int i = 1; i < AUTH_GMAC_ROUNDS; i++)
		x = _mm_aesenc_si128(x, rk[i]);
	return _mm_aesenclast_si128(x, rk[AUTH_GMAC_ROUNDS]);
}

/* The 256-bit carry-less product a * b, accumulated into lo/mid/hi. */
GMAC_TARGET static inline void
clmul_acc(__m128i a, __m128i b, __m128i *lo, __m128i *mid, __m128i *hi)
{
	*lo = _mm_xor_si128(*lo, _mm_clmulepi64_si128(a, b, 0x00));
	*hi = _mm_xor_si128(*hi, _mm_clmulepi64_si128(a, b, 0x11));
	*mid = _mm_xor_si128(*mid, _mm_clmulepi64_si128(a, b, 0x01));
	*mid = _mm_xor_si128(*mid, _mm_clmulepi64_si128(a, b, 0x10));
}

/* Reduce the reflected 256-bit product (lo, mid, hi) modulo the GCM
 * polynomial x^128 + x^7 + x^2 + x + 1: shift left by one (the reflection),
 * then fold the low half in (Gueron-Kounavis, algorithm 5). */
GMAC_TARGET static inline __m128i
gf_reduce(__m128i lo, __m128i mid, __m128i hi)
{
	__m128i t7, t8, t9, t2, t4, t5;

	lo = _mm_xor_si128(lo, _mm_slli_si128(mid, 8));
	hi = _mm_xor_si128(hi, _mm_srli_si128(mid, 8));
	/* (hi:lo) <<= 1 */
	t7 = _mm_srli_epi32(lo, 31);
	t8 = _mm_srli_epi32(hi, 31);
	lo = _mm_slli_epi32(lo, 1);
	hi = _mm_slli_epi32(hi, 1);
	t9 = _mm_srli_si128(t7, 12);
	t8 = _mm_slli_si128(t8, 4);
	t7 = _mm_slli_si128(t7, 4);
	lo = _mm_or_si128(lo, t7);
	hi = _mm_or_si128(hi, t8);
	hi = _mm_or_si128(hi, t9);
	/* first phase */
	t7 = _mm_slli_epi32(lo, 31);
	t8 = _mm_slli_epi32(lo, 30);
	t9 = _mm_slli_epi32(lo, 25);
	t7 = _mm_xor_si128(t7, t8);
	t7 = _mm_xor_si128(t7, t9);
	t8 = _mm_srli_si128(t7, 4);
	t7 = _mm_slli_si128(t7, 12);
	lo = _mm_xor_si128(lo, t7);
	/* second phase */
	t2 = _mm_srli_epi32(lo, 1);
	t4 = _mm_srli_epi32(lo, 2);
	t5 = _mm_srli_epi32(lo, 7);
	t2 = _mm_xor_si128(t2, t4);
	t2 = _mm_xor_si128(t2, t5);
	t2 = _mm_xor_si128(t2, t8);
	lo = _mm_xor_si128(lo, t2);
	return _mm_xor_si128(hi, lo);
}

GMAC_TARGET static inline __m128i
gf_mul(__m128i a, __m128i b)
{
	__m128i z = _mm_setzero_si128(), lo = z, mid = z, hi = z;

	clmul_acc(a, b, &lo, &mid, &hi);
	return gf_reduce(lo, mid, hi);
}

/* 1: the host has AVX-512BW and VPCLMULQDQ (decided at the first key's
 * init); -1: not decided yet; 0: the one-block path (also forced, tests). */
static int gmac_wide_ok = -1;

static void
gmac_select(void)
{
	__builtin_cpu_init();
	__atomic_store_n(&gmac_wide_ok,
			 __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
				 __builtin_cpu_supports("vpclmulqdq"),
			 __ATOMIC_RELAXED);
}

GMAC_TARGET void
auth_gmac_init(struct auth_gmac *g, const uint8_t key[32])
{
	__m128i rk[AUTH_GMAC_ROUNDS + 1], h, p;

	aes256_expand(rk, key);
	h = bswap128(aes256_block(rk, _mm_setzero_si128()));
	p = h;
	for (int i = 0; i < AUTH_GMAC_AGG; i++) {
		_mm_store_si128((__m128i *)(void *)g->hpow[i], p); /* H^(i+1) */
		p = gf_mul(p, h);
	}
	for (int i = 0; i < AUTH_GMAC_AGG; i++)
		memcpy(g->hrev[i], g->hpow[AUTH_GMAC_AGG - 1 - i], 16); /* H^(8-i) */
	for (int i = 0; i <= AUTH_GMAC_ROUNDS; i++)
		_mm_store_si128((__m128i *)(void *)g->rk[i], rk[i]);
	sodium_memzero(rk, sizeof(rk));
	if (__atomic_load_n(&gmac_wide_ok, __ATOMIC_RELAXED) < 0)
		gmac_select();
}

/* GHASH from full block i of ad on (the full blocks left, fewer than a
 * group's worth unless no wide path ran, the zero-padded remainder, the
 * length block), then the tag: E(K, J0) + GHASH. */
GMAC_TARGET static void
gmac_finish(const struct auth_gmac *g, __m128i y, const uint8_t *ad, size_t adlen, size_t i,
	    __m128i ej0, uint8_t tag[16])
{
	const __m128i *hp = (const __m128i *)(const void *)g->hpow;
	uint8_t tail[2][16];
	size_t nfull = adlen / 16, rem = adlen % 16, n;
	uint64_t bits = (uint64_t)adlen * 8;

	memset(tail, 0, sizeof(tail));
	if (rem != 0)
		memcpy(tail[0], ad + nfull * 16, rem);
	for (int b = 0; b < 8; b++)
		tail[rem != 0][7 - b] = (uint8_t)(bits >> (8 * b)); /* len(A) BE; len(C) = 0 */
	n = nfull + (rem != 0) + 1;
	while (i < n) {
		size_t k = n - i < AUTH_GMAC_AGG ? n - i : AUTH_GMAC_AGG;
		__m128i z = _mm_setzero_si128(), lo = z, mid = z, hi = z;

		/* y = (y + X_i) H^k + X_{i+1} H^(k-1) + ... + X_{i+k-1} H */
		for (size_t j = 0; j < k; j++, i++) {
			const uint8_t *blk = i < nfull ? ad + i * 16 : tail[i - nfull];
			__m128i x = bswap128(_mm_loadu_si128((const __m128i *)(const void *)blk));

			if (j == 0)
				x = _mm_xor_si128(x, y);
			clmul_acc(x, hp[k - 1 - j], &lo, &mid, &hi);
		}
		y = gf_reduce(lo, mid, hi);
	}
	_mm_storeu_si128((__m128i *)(void *)tag, _mm_xor_si128(bswap128(y), ej0));
}

/* E(K, J0), J0 = IV || 0^31 || 1: started first, so that its fourteen
 * dependent rounds overlap the GHASH work instead of following it. */
GMAC_TARGET static inline __m128i
gmac_ej0(const struct auth_gmac *g, const uint8_t nonce8[8])
{
	uint64_t iv;

	memcpy(&iv, nonce8, 8);
	return aes256_block((const __m128i *)(const void *)g->rk,
			    _mm_set_epi64x((long long)UINT64_C(0x0100000000000000), (long long)iv));
}

/* Eight blocks per reduction, one block per carry-less multiply. */
GMAC_TARGET static void
gmac_narrow(const struct auth_gmac *g, const uint8_t *ad, size_t adlen, const uint8_t nonce8[8],
	    uint8_t tag[16])
{
	const __m128i *hp = (const __m128i *)(const void *)g->hpow;
	__m128i y = _mm_setzero_si128(), ej0 = gmac_ej0(g, nonce8);
	size_t i = 0, nfull = adlen / 16;

	for (; i + AUTH_GMAC_AGG <= nfull; i += AUTH_GMAC_AGG) {
		const __m128i *x = (const __m128i *)(const void *)(ad + i * 16);
		__m128i z = _mm_setzero_si128(), lo = z, mid = z, hi = z;

		clmul_acc(_mm_xor_si128(bswap128(_mm_loadu_si128(&x[0])), y), hp[7], &lo, &mid, &hi);
		for (int j = 1; j < AUTH_GMAC_AGG; j++)
			clmul_acc(bswap128(_mm_loadu_si128(&x[j])), hp[7 - j], &lo, &mid, &hi);
		y = gf_reduce(lo, mid, hi);
	}
	gmac_finish(g, y, ad, adlen, i, ej0, tag);
}

/* With VPCLMULQDQ on 512-bit registers (AVX-512): four blocks per
 * multiply, the same eight-block groups and reduction. */
#define GMAC_WIDE_TARGET __attribute__((target("aes,pclmul,ssse3,sse2,avx2,avx512f,avx512bw,vpclmulqdq")))

GMAC_WIDE_TARGET static inline __m128i
fold4(__m512i v)
{
	__m256i t = _mm256_xor_si256(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));

	return _mm_xor_si128(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
}

GMAC_WIDE_TARGET static void
gmac_wide(const struct auth_gmac *g, const uint8_t *ad, size_t adlen, const uint8_t nonce8[8],
	  uint8_t tag[16])
{
	const __m512i rev = _mm512_broadcast_i32x4(
		_mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
	/* Lanes of h8: H^8, H^7, H^6, H^5; of h4: H^4 .. H^1 (g->hrev). */
	const __m512i h8 = _mm512_loadu_si512((const void *)g->hrev[0]);
	const __m512i h4 = _mm512_loadu_si512((const void *)g->hrev[4]);
	__m128i y = _mm_setzero_si128(), ej0 = gmac_ej0(g, nonce8);
	size_t i = 0, nfull = adlen / 16;

	for (; i + AUTH_GMAC_AGG <= nfull; i += AUTH_GMAC_AGG) {
		__m512i a = _mm512_shuffle_epi8(_mm512_loadu_si512((const void *)(ad + i * 16)), rev);
		__m512i b = _mm512_shuffle_epi8(_mm512_loadu_si512((const void *)(ad + i * 16 + 64)),
						rev);
		__m512i lo, mid, hi;

		a = _mm512_xor_si512(a, _mm512_zextsi128_si512(y));
		lo = _mm512_xor_si512(_mm512_clmulepi64_epi128(a, h8, 0x00),
				      _mm512_clmulepi64_epi128(b, h4, 0x00));
		hi = _mm512_xor_si512(_mm512_clmulepi64_epi128(a, h8, 0x11),
				      _mm512_clmulepi64_epi128(b, h4, 0x11));
		mid = _mm512_xor_si512(_mm512_clmulepi64_epi128(a, h8, 0x01),
				       _mm512_clmulepi64_epi128(a, h8, 0x10));
		mid = _mm512_xor_si512(mid, _mm512_clmulepi64_epi128(b, h4, 0x01));
		mid = _mm512_xor_si512(mid, _mm512_clmulepi64_epi128(b, h4, 0x10));
		y = gf_reduce(fold4(lo), fold4(mid), fold4(hi));
	}
	gmac_finish(g, y, ad, adlen, i, ej0, tag);
}


void
auth_gmac(const struct auth_gmac *g, const uint8_t *ad, size_t adlen, const uint8_t nonce8[8],
	  uint8_t tag[16])
{
	if (__atomic_load_n(&gmac_wide_ok, __ATOMIC_RELAXED) > 0)
		gmac_wide(g, ad, adlen, nonce8, tag);
	else
		gmac_narrow(g, ad, adlen, nonce8, tag);
}

bool
auth_gmac_wide(void)
{
	return __atomic_load_n(&gmac_wide_ok, __ATOMIC_RELAXED) > 0;
}

void
auth_gmac_force_narrow(bool narrow)
{
	if (narrow)
		__atomic_store_n(&gmac_wide_ok, 0, __ATOMIC_RELAXED);
	else
		gmac_select();
}

#endif /* AUTH_GMAC_X86 */
