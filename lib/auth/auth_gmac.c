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
 * the key's state holds the AES-256 round keys and 64 powers of H,
 * computed once per session, and the data is folded 64 blocks per
 * reduction (the aggregated reduction of Gueron and Kounavis, "Intel
 * Carry-Less Multiplication Instruction and its Usage for Computing the GCM
 * Mode", 2010, in the bit-reflected representation, with the
 * multiply-based reduction described below).
 *
 * The wide path uses 512-bit registers only inside one call (a few dozen
 * instructions per datagram); on Intel cores before Ice Lake that can lower
 * the core's clock for a while (AMD Zen 4, this project's host, does not
 * downclock). Hosts without AVX-512BW + VPCLMULQDQ take the one-block path.
 *
 * Constant time: AESENC and PCLMULQDQ take data-independent time, the code
 * has no secret-dependent branch or index (masks and group sizes depend on
 * the length only), and a tag is compared in a register with one XOR and
 * one PTEST (auth_gmac_verify()). Only built for x86-64 (the instructions are selected
 * per function, so the rest of the build needs no -maes); the caller uses
 * it only after crypto_aead_aes256gcm_is_available() (AES-NI + PCLMUL).
 */
#include <string.h>

#include "auth_priv.h"

#if AUTH_GMAC_X86

#include <immintrin.h>
#include <wmmintrin.h>

#define GMAC_TARGET __attribute__((target("aes,pclmul,ssse3,sse4.1,sse2")))

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
#pragma GCC unroll 16
	for (int i = 1; i < AUTH_GMAC_ROUNDS; i++)
		x = _mm_aesenc_si128(x, rk[i]);
	return _mm_aesenclast_si128(x, rk[AUTH_GMAC_ROUNDS]);
}

/*
 * GHASH in the bit-reflected representation, reduced "Montgomery style"
 * (the form of Gueron's and of Biggers' AES-GCM code, e.g. the Linux
 * kernel's aes-gcm-avx10-x86_64.S): blocks are byte-reversed, the hash key
 * is stored as H * x (its powers K_i = H^i * x), and mul(a, b) is the
 * carry-less product a * b times x^-1 modulo the GCM polynomial, so that
 * mul(X, K_i) = X * H^i and mul(K_i, K_j) = K_(i+j). The 256-bit product
 * is reduced with two carry-less multiplies by x^63 + x^62 + x^57 (the
 * high word of GF_POLY) and two half swaps, instead of the shifts of the
 * Gueron-Kounavis reduction.
 */
#define GF_POLY_HI UINT64_C(0xc200000000000000)

/* The 256-bit carry-less product a * b, accumulated into lo/mid/hi
 * (mid unsplit: a_lo * b_hi + a_hi * b_lo). */
GMAC_TARGET static inline void
clmul_acc(__m128i a, __m128i b, __m128i *lo, __m128i *mid, __m128i *hi)
{
	*lo = _mm_xor_si128(*lo, _mm_clmulepi64_si128(a, b, 0x00));
	*hi = _mm_xor_si128(*hi, _mm_clmulepi64_si128(a, b, 0x11));
	*mid = _mm_xor_si128(*mid, _mm_xor_si128(_mm_clmulepi64_si128(a, b, 0x01),
						 _mm_clmulepi64_si128(a, b, 0x10)));
}

/* (lo, mid, hi) * x^-128 modulo the GCM polynomial: fold lo into mid, then
 * mid into hi. */
GMAC_TARGET static inline __m128i
gf_reduce(__m128i lo, __m128i mid, __m128i hi)
{
	const __m128i poly = _mm_set_epi64x((long long)GF_POLY_HI, 1);

	mid = _mm_xor_si128(mid, _mm_xor_si128(_mm_shuffle_epi32(lo, 0x4e),
					       _mm_clmulepi64_si128(poly, lo, 0x01)));
	return _mm_xor_si128(hi, _mm_xor_si128(_mm_shuffle_epi32(mid, 0x4e),
					       _mm_clmulepi64_si128(poly, mid, 0x01)));
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
	__m128i rk[AUTH_GMAC_ROUNDS + 1], k1, p;
	uint64_t w[2], carry;

	aes256_expand(rk, key);
	/* K_1 = H * x: the reflected H shifted left by one bit, the bit
	 * shifted out folded back as x^128 = x^127 + x^126 + x^121 + 1
	 * (reflected), without a branch on it. */
	_mm_storeu_si128((__m128i *)(void *)w, bswap128(aes256_block(rk, _mm_setzero_si128())));
	carry = 0 - (w[1] >> 63);
	w[1] = (w[1] << 1) | (w[0] >> 63);
	w[0] <<= 1;
	w[1] ^= carry & GF_POLY_HI;
	w[0] ^= carry & 1;
	k1 = _mm_loadu_si128((const __m128i *)(const void *)w);
	sodium_memzero(w, sizeof(w));
	p = k1;
	memset(g->kp, 0, sizeof(g->kp));
	for (int i = 1; i <= AUTH_GMAC_AGG; i++) {
		_mm_store_si128((__m128i *)(void *)g->kp[AUTH_GMAC_AGG - i], p); /* K_i */
		p = gf_mul(p, k1);
	}
	for (int i = 0; i <= AUTH_GMAC_ROUNDS; i++)
		_mm_store_si128((__m128i *)(void *)g->rk[i], rk[i]);
	sodium_memzero(rk, sizeof(rk));
	if (__atomic_load_n(&gmac_wide_ok, __ATOMIC_RELAXED) < 0)
		gmac_select();
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

/* The length block len(A) || len(C) (both big-endian bit counts; C empty),
 * reflected: len(A) lands in the high word. */
GMAC_TARGET static inline __m128i
gmac_len_block(size_t adlen)
{
	return _mm_set_epi64x((long long)((uint64_t)adlen * 8), 0);
}

/* One group of the one-block path: y = (y + X_0) K_k + ... + X_(k-1) K_1
 * over nblk blocks at p, then the nx blocks of x; k = nblk + nx, 1..16. */
GMAC_TARGET static inline __m128i
narrow_group(const struct auth_gmac *g, __m128i y, const uint8_t *p, size_t nblk, const __m128i *x,
	     size_t nx)
{
	const __m128i *hp = (const __m128i *)(const void *)g->kp + (AUTH_GMAC_AGG - nblk - nx);
	__m128i z = _mm_setzero_si128(), lo = z, mid = z, hi = z;

	for (size_t j = 0; j < nblk; j++) {
		__m128i b = bswap128(_mm_loadu_si128((const __m128i *)(const void *)(p + 16 * j)));

		clmul_acc(j == 0 ? _mm_xor_si128(b, y) : b, hp[j], &lo, &mid, &hi);
	}
	for (size_t j = 0; j < nx; j++)
		clmul_acc(nblk + j == 0 ? _mm_xor_si128(x[j], y) : x[j], hp[nblk + j], &lo, &mid, &hi);
	return gf_reduce(lo, mid, hi);
}

/* One block per carry-less multiply: the blocks of ad (the last one
 * zero-padded), then the length block, AUTH_GMAC_AGG per reduction. */
GMAC_TARGET static __m128i
gmac_narrow(const struct auth_gmac *g, const uint8_t *ad, size_t adlen, const uint8_t nonce8[8])
{
	const __m128i *kp = (const __m128i *)(const void *)g->kp;
	__m128i y = _mm_setzero_si128(), ej0 = gmac_ej0(g, nonce8), x[2];
	size_t nfull = adlen / 16, rem = adlen % 16, i = 0, nx = 0, rf;
	uint8_t last[16];

	for (; i + AUTH_GMAC_AGG <= nfull; i += AUTH_GMAC_AGG) {
		const __m128i *b = (const __m128i *)(const void *)(ad + i * 16);
		__m128i z = _mm_setzero_si128(), lo = z, mid = z, hi = z;

		clmul_acc(_mm_xor_si128(bswap128(_mm_loadu_si128(&b[0])), y), kp[0], &lo, &mid, &hi);
#pragma GCC unroll 8
		for (int j = 1; j < AUTH_GMAC_AGG; j++)
			clmul_acc(bswap128(_mm_loadu_si128(&b[j])), kp[j], &lo, &mid, &hi);
		y = gf_reduce(lo, mid, hi);
	}
	rf = nfull - i; /* < AUTH_GMAC_AGG full blocks, the padded rest, the length */
	if (rem != 0) {
		memset(last, 0, sizeof(last));
		memcpy(last, ad + nfull * 16, rem);
		x[nx++] = bswap128(_mm_loadu_si128((const __m128i *)(const void *)last));
	}
	if (rf + nx + 1 > AUTH_GMAC_AGG) { /* a full group: the length alone after */
		y = narrow_group(g, y, ad + i * 16, rf, x, nx);
		rf = nx = 0;
	}
	x[nx++] = gmac_len_block(adlen);
	y = narrow_group(g, y, ad + i * 16, rf, x, nx);
	return _mm_xor_si128(bswap128(y), ej0);
}

/* With VPCLMULQDQ on 512-bit registers (AVX-512): four blocks per
 * multiply, AUTH_GMAC_AGG blocks per reduction, and the last group (the data's
 * tail and the length block) read with masked loads, so no block is
 * copied. */
#define GMAC_WIDE_TARGET \
	__attribute__((target("aes,pclmul,ssse3,sse2,avx2,avx512f,avx512bw,vpclmulqdq")))

GMAC_WIDE_TARGET static inline __m128i
fold4(__m512i v)
{
	__m256i t = _mm256_xor_si256(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));

	return _mm_xor_si128(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
}

GMAC_WIDE_TARGET static inline void
clmul_acc4(__m512i a, __m512i b, __m512i *lo, __m512i *mid, __m512i *hi)
{
	*lo = _mm512_xor_si512(*lo, _mm512_clmulepi64_epi128(a, b, 0x00));
	*hi = _mm512_xor_si512(*hi, _mm512_clmulepi64_epi128(a, b, 0x11));
	*mid = _mm512_ternarylogic_epi64(*mid, _mm512_clmulepi64_epi128(a, b, 0x01),
					 _mm512_clmulepi64_epi128(a, b, 0x10), 0x96);
}

/* The mask of the first n (<= 64) of 64 bytes. */
GMAC_WIDE_TARGET static inline __mmask64
bytes_mask(size_t n)
{
	return n >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << n) - 1;
}

/* y = (y + X_0) K_k + X_1 K_(k-1) + ... + X_(k-1) K_1 over the n
 * (<= 16 AUTH_GMAC_AGG) bytes at p as ceil(n / 16) blocks (zero-padded),
 * followed by len when with_len; k = ceil(n / 16) + with_len,
 * 1..AUTH_GMAC_AGG. Every block's product is independent of the others and
 * of y: only the one multiply by y and the reduction wait for the previous
 * group, so a datagram of up to AUTH_GMAC_AGG blocks has no chain at all. */
GMAC_WIDE_TARGET static inline __m128i
wide_group(const struct auth_gmac *g, __m128i y, const uint8_t *p, size_t n, bool with_len,
	   __m128i len)
{
	const __m512i rev = _mm512_broadcast_i32x4(
		_mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
	const size_t m = (n + 15) / 16, k = m + with_len, nv = (k + 3) / 4;
	const uint8_t(*kp)[16] = g->kp + (AUTH_GMAC_AGG - k); /* K_k first */
	__m512i lo, mid, hi;
	__m128i l, md, h;

	lo = mid = hi = _mm512_setzero_si512();
	for (size_t q = 0; q < nv; q++) {
		size_t at = 64 * q, len_q = n > at ? n - at : 0;
		__m512i v = _mm512_shuffle_epi8(_mm512_maskz_loadu_epi8(bytes_mask(len_q), p + at),
						rev);

		if (with_len && q == m / 4) /* block m of the group: zero so far */
			v = _mm512_mask_broadcast_i32x4(v, (__mmask16)(0xf << (4 * (m % 4))), len);
		clmul_acc4(v, _mm512_loadu_si512((const void *)kp[4 * q]), &lo, &mid, &hi);
	}
	l = fold4(lo);
	md = fold4(mid);
	h = fold4(hi);
	clmul_acc(y, _mm_load_si128((const __m128i *)(const void *)kp[0]), &l, &md, &h);
	return gf_reduce(l, md, h);
}

GMAC_WIDE_TARGET static __m128i
gmac_wide(const struct auth_gmac *g, const uint8_t *ad, size_t adlen, const uint8_t nonce8[8])
{
	__m128i y = _mm_setzero_si128(), ej0 = gmac_ej0(g, nonce8);
	size_t off = 0;

	/* Whole groups of AUTH_GMAC_AGG blocks, and a group of the data's
	 * last AUTH_GMAC_AGG blocks when they leave no room for the length
	 * block. */
	while (adlen - off > 16 * (AUTH_GMAC_AGG - 1)) {
		size_t n = adlen - off < 16 * AUTH_GMAC_AGG ? adlen - off : 16 * AUTH_GMAC_AGG;

		y = wide_group(g, y, ad + off, n, false, y);
		off += n;
	}
	y = wide_group(g, y, ad + off, adlen - off, true, gmac_len_block(adlen));
	return _mm_xor_si128(bswap128(y), ej0);
}

GMAC_TARGET static inline __m128i
gmac_tag(const struct auth_gmac *g, const uint8_t *ad, size_t adlen, const uint8_t nonce8[8])
{
	if (__atomic_load_n(&gmac_wide_ok, __ATOMIC_RELAXED) > 0)
		return gmac_wide(g, ad, adlen, nonce8);
	return gmac_narrow(g, ad, adlen, nonce8);
}

GMAC_TARGET void
auth_gmac(const struct auth_gmac *g, const uint8_t *ad, size_t adlen, const uint8_t nonce8[8],
	  uint8_t tag[16])
{
	_mm_storeu_si128((__m128i *)(void *)tag, gmac_tag(g, ad, adlen, nonce8));
}

/* The expected tag stays in a register; the comparison is one XOR and one
 * test of all its bits, so its time does not depend on where they differ. */
GMAC_TARGET int
auth_gmac_verify(const struct auth_gmac *g, const uint8_t *ad, size_t adlen,
		 const uint8_t nonce8[8], const uint8_t tag[16])
{
	__m128i d = _mm_xor_si128(gmac_tag(g, ad, adlen, nonce8),
				  _mm_loadu_si128((const __m128i *)(const void *)tag));

	return _mm_testz_si128(d, d) ? 0 : -1;
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
