/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/auth common parts: libsodium start-up, the error table, memory,
 * clocks, hex, and the small helpers the grant, chain and handshake code
 * share (prefix arithmetic, name order, domain-separated signatures).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth_priv.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "auth_get32/auth_get64 load little-endian fields with memcpy");

static const struct {
	const char *name;
	const char *text;
	uint32_t errno_canon;
} auth_errors[SCPP_AUTH_E_LAST - SCPP_AUTH_E_FIRST] = {
#define E(code, name, text, canon) [SCPP_AUTH_E_##code - SCPP_AUTH_E_FIRST] = {name, text, canon}
	E(BAD_PREFIX, "E_AUTH_BAD_PREFIX", "scope prefix length over 128 or bits set past it", 74),
	E(BAD_OPS, "E_AUTH_BAD_OPS", "operation set empty or with unknown bits", 74),
	E(BAD_DEPTH, "E_AUTH_BAD_DEPTH", "delegation depth too large", 74),
	E(BAD_ATTR, "E_AUTH_BAD_ATTR", "attribute name empty or longer than 64 bytes", 74),
	E(UNORDERED, "E_AUTH_UNORDERED", "attribute names not strictly increasing", 74),
	E(BAD_RESERVED, "E_AUTH_BAD_RESERVED", "reserved byte or padding not zero", 74),
	E(BAD_ALG, "E_AUTH_BAD_ALG", "MAC algorithm unknown, not offered or unavailable", 95),
	E(BAD_KEY, "E_AUTH_BAD_KEY", "unusable public key", 74),
	E(BAD_SIGNATURE, "E_AUTH_BAD_SIGNATURE", "signature does not verify", 13),
	E(UNTRUSTED_ROOT, "E_AUTH_UNTRUSTED_ROOT", "chain not issued by a root of trust", 13),
	E(BROKEN_LINK, "E_AUTH_BROKEN_LINK", "link not issued by the previous link's subject", 13),
	E(WIDENED_SCOPE, "E_AUTH_WIDENED_SCOPE", "delegation widens the scope", 13),
	E(WIDENED_ATTRS, "E_AUTH_WIDENED_ATTRS", "delegation widens the attributes", 13),
	E(WIDENED_OPS, "E_AUTH_WIDENED_OPS", "delegation widens the operations", 13),
	E(WIDENED_EXPIRY, "E_AUTH_WIDENED_EXPIRY", "delegation outlives its parent", 13),
	E(WIDENED_DEPTH, "E_AUTH_WIDENED_DEPTH", "delegation deeper than its parent allows", 13),
	E(EXPIRED, "E_AUTH_EXPIRED", "grant expired", 13),
	E(REVOKED, "E_AUTH_REVOKED", "grant revoked", 13),
	E(WRONG_PRINCIPAL, "E_AUTH_WRONG_PRINCIPAL", "chain is for another principal", 13),
	E(NOT_SESSION, "E_AUTH_NOT_SESSION", "not a session datagram", 13),
	E(BAD_TAG, "E_AUTH_BAD_TAG", "session tag missing, truncated or of the wrong length", 74),
	E(NO_SESSION, "E_AUTH_NO_SESSION", "no such session", 107),
	E(WRONG_LANE, "E_AUTH_WRONG_LANE", "datagram for another lane", 66),
	E(SESSION_EXPIRED, "E_AUTH_SESSION_EXPIRED", "session expired", 13),
	E(REPLAY, "E_AUTH_REPLAY", "replayed sequence number", 74),
	E(TOO_OLD, "E_AUTH_TOO_OLD", "sequence number behind the replay window", 74),
	E(BAD_MAC, "E_AUTH_BAD_MAC", "MAC does not verify", 74),
	E(EXHAUSTED, "E_AUTH_EXHAUSTED", "session sequence numbers exhausted", 75),
	E(STALE_EPOCH, "E_AUTH_STALE_EPOCH", "handshake epoch no longer known", 116),
	E(COOKIE_EXPIRED, "E_AUTH_COOKIE_EXPIRED", "handshake cookie expired", 62),
	E(BAD_COOKIE, "E_AUTH_BAD_COOKIE", "handshake cookie does not verify", 13),
	E(SESSIONS_FULL, "E_AUTH_SESSIONS_FULL", "no free session slot", 105),
	E(PRINCIPAL_LIMIT, "E_AUTH_PRINCIPAL_LIMIT", "principal has too many sessions", 122),
	E(NODE_KEY, "E_AUTH_NODE_KEY", "node key is not the one expected", 13),
	E(BAD_CONFIRM, "E_AUTH_BAD_CONFIRM", "session confirmation does not verify", 13),
	E(REJECTED, "E_AUTH_REJECTED", "node rejected the handshake", 13),
	E(BAD_STATE, "E_AUTH_BAD_STATE", "handshake message out of order", 71),
	E(KEY_FILE, "E_AUTH_KEY_FILE", "malformed key file", 22),
	E(KEY_MISMATCH, "E_AUTH_KEY_MISMATCH", "key file public key does not match its seed", 22),
	E(KEY_PERMS, "E_AUTH_KEY_PERMS", "secret key file readable by group or others", 1),
#undef E
};

/* Errnos this library returns, by name (the canonical table's names). */
static const struct {
	int err;
	const char *name;
} auth_errnos[] = {
	{EINVAL, "EINVAL"}, {ENOSPC, "ENOSPC"}, {ENOMEM, "ENOMEM"}, {EEXIST, "EEXIST"},
	{ENOENT, "ENOENT"}, {EACCES, "EACCES"}, {EPERM, "EPERM"},   {EPROTO, "EPROTO"},
	{ENOSYS, "ENOSYS"}, {EFBIG, "EFBIG"},   {EIO, "EIO"},
};

void
scpp_auth_fault_clear(struct scpp_auth_fault *f)
{
	if (f == NULL)
		return;
	f->off = UINT32_MAX;
	f->chain = UINT16_MAX;
	f->link = UINT8_MAX;
	f->line = 0;
}

const char *
scpp_auth_strerror(int err)
{
	if (err < 0)
		err = -err;
	if (err >= SCPP_AUTH_E_FIRST && err < SCPP_AUTH_E_LAST)
		return auth_errors[err - SCPP_AUTH_E_FIRST].text;
	return scpp_strerror(err);
}

const char *
scpp_auth_error_name(int err)
{
	if (err < 0)
		err = -err;
	if (err == 0)
		return "OK";
	if (err >= SCPP_AUTH_E_FIRST && err < SCPP_AUTH_E_LAST)
		return auth_errors[err - SCPP_AUTH_E_FIRST].name;
	if (err >= SCPP_E_FIRST && err < SCPP_E_LAST)
		return scpp_error_name(err);
	for (size_t i = 0; i < SCPP_ARRAY_SIZE(auth_errnos); i++)
		if (auth_errnos[i].err == err)
			return auth_errnos[i].name;
	return NULL;
}

int
scpp_auth_error_parse(const char *name)
{
	if (strcmp(name, "OK") == 0)
		return 0;
	for (int e = SCPP_AUTH_E_FIRST; e < SCPP_AUTH_E_LAST; e++)
		if (strcmp(auth_errors[e - SCPP_AUTH_E_FIRST].name, name) == 0)
			return -e;
	for (int e = SCPP_E_FIRST; e < SCPP_E_LAST; e++)
		if (scpp_error_name(e) != NULL && strcmp(scpp_error_name(e), name) == 0)
			return -e;
	for (size_t i = 0; i < SCPP_ARRAY_SIZE(auth_errnos); i++)
		if (strcmp(auth_errnos[i].name, name) == 0)
			return -auth_errnos[i].err;
	return 0;
}

uint32_t
scpp_auth_errno(int err)
{
	if (err < 0)
		err = -err;
	if (err >= SCPP_AUTH_E_FIRST && err < SCPP_AUTH_E_LAST)
		return auth_errors[err - SCPP_AUTH_E_FIRST].errno_canon;
	if (err >= SCPP_E_FIRST && err < SCPP_E_LAST)
		return 74; /* EBADMSG: every wire code is malformed input */
	/* The errnos returned here have Linux's (= canonical) numbers. */
	return (uint32_t)err;
}

int
scpp_auth_fault_format(char *buf, size_t size, int err, const struct scpp_auth_fault *f)
{
	int n = snprintf(buf, size, "%s", scpp_auth_strerror(err));
	size_t used;

#define AUTH_APPEND(...)                                                      \
	do {                                                                  \
		used = n >= 0 && (size_t)n < size ? (size_t)n : size;         \
		n += snprintf(buf + used, size - used, __VA_ARGS__);          \
	} while (0)
	if (f != NULL) {
		if (f->off != UINT32_MAX)
			AUTH_APPEND(" at byte %u", f->off);
		if (f->chain != UINT16_MAX && f->link != UINT8_MAX)
			AUTH_APPEND(" (chain %u, link %u)", f->chain, f->link);
		else if (f->chain != UINT16_MAX)
			AUTH_APPEND(" (chain %u)", f->chain);
		else if (f->link != UINT8_MAX)
			AUTH_APPEND(" (link %u)", f->link);
		if (f->line != 0)
			AUTH_APPEND(" on line %u", f->line);
	}
#undef AUTH_APPEND
	return n;
}

/* ---- memory ---- */

static void *
libc_alloc(void *ctx, size_t size, size_t align)
{
	(void)ctx;
	if (align < sizeof(void *))
		align = sizeof(void *);
	/* aligned_alloc wants a size that is a multiple of the alignment. */
	return aligned_alloc(align, (size + align - 1) / align * align);
}

static void
libc_free(void *ctx, void *p, size_t size)
{
	(void)ctx;
	(void)size;
	free(p);
}

const struct scpp_auth_mem scpp_auth_mem_libc = {libc_alloc, libc_free, NULL};

const struct scpp_auth_mem *
auth_mem(const struct scpp_auth_mem *m)
{
	return m != NULL ? m : &scpp_auth_mem_libc;
}

void *
auth_zalloc(const struct scpp_auth_mem *m, size_t size)
{
	void *p = auth_mem(m)->alloc(auth_mem(m)->ctx, size, 64);

	if (p != NULL)
		memset(p, 0, size);
	return p;
}

void
auth_wipe_free(const struct scpp_auth_mem *m, void *p, size_t size)
{
	if (p == NULL)
		return;
	sodium_memzero(p, size);
	auth_mem(m)->free(auth_mem(m)->ctx, p, size);
}

/* ---- start-up, clocks ---- */

int
scpp_auth_init(void)
{
	/* sodium_init() is idempotent and thread-safe; 1 = already done. */
	return sodium_init() < 0 ? -ENOSYS : 0;
}

/* Tests: behave as a host without AES-NI/PCLMULQDQ (auth_priv.h). */
static bool auth_no_aes;

void
auth_force_no_aes(bool on)
{
	__atomic_store_n(&auth_no_aes, on, __ATOMIC_RELAXED);
}

bool
auth_aes_available(void)
{
	return !__atomic_load_n(&auth_no_aes, __ATOMIC_RELAXED) &&
	       crypto_aead_aes256gcm_is_available();
}

uint16_t
scpp_auth_algs_available(void)
{
	uint16_t a = SCPP_AUTH_ALG_CHACHAPOLY;

	if (scpp_auth_init() != 0)
		return 0;
	if (auth_aes_available())
		a |= SCPP_AUTH_ALG_AES256GMAC;
	return a;
}

uint16_t
auth_algs_usable(uint16_t wanted)
{
	return (wanted != 0 ? wanted : SCPP_AUTH_ALG_ALL) & scpp_auth_algs_available();
}

uint64_t
scpp_auth_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
}

/* ---- hex ---- */

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
scpp_auth_hex_parse(const char *s, size_t len, uint8_t *out, size_t n)
{
	if (s == NULL || out == NULL || len != 2 * n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

void
scpp_auth_hex_format(char *buf, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		buf[2 * i] = digits[p[i] >> 4];
		buf[2 * i + 1] = digits[p[i] & 15];
	}
	buf[2 * n] = '\0';
}

/* ---- prefixes and names ---- */

bool
auth_prefix_canonical(const struct scpp_oid_prefix *p)
{
	struct scpp_oid_prefix c;

	if (p->len > 128)
		return false;
	if (scpp_oid_prefix_make(&c, p->oid, p->len) != 0)
		return false;
	return scpp_oid_eq(c.oid, p->oid);
}

bool
auth_prefix_within(const struct scpp_oid_prefix *a, const struct scpp_oid_prefix *b)
{
	return a->len >= b->len && scpp_oid_prefix_match(b, a->oid);
}

bool
auth_prefix_overlap(const struct scpp_oid_prefix *a, const struct scpp_oid_prefix *b)
{
	/* Two prefixes intersect iff the shorter one contains the longer. */
	return a->len <= b->len ? scpp_oid_prefix_match(a, b->oid) : scpp_oid_prefix_match(b, a->oid);
}

int
auth_name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, SCPP_MIN(alen, blen));

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* ---- signatures ----
 *
 * Every signed message is the context string, its NUL, then the bytes:
 * the largest is a grant body (SCPP_AUTH_GRANT_MAX - 64), so a stack buffer
 * holds it without allocating. */

#define AUTH_SIGNED_MAX (32 + SCPP_AUTH_GRANT_MAX)

static size_t
signed_msg(uint8_t *buf, const char *ctx, const uint8_t *msg, size_t len)
{
	size_t c = strlen(ctx) + 1;

	SCPP_VERIFY(c + len <= AUTH_SIGNED_MAX);
	memcpy(buf, ctx, c);
	if (len > 0)
		memcpy(buf + c, msg, len);
	return c + len;
}

int
auth_sig_verify(const uint8_t sig[SCPP_AUTH_SIG_LEN], const char *ctx, const uint8_t *msg,
		size_t len, const uint8_t pk[SCPP_AUTH_KEY_LEN])
{
	uint8_t buf[AUTH_SIGNED_MAX];
	size_t n = signed_msg(buf, ctx, msg, len);

	/* libsodium rejects non-canonical signatures and small-order keys, so
	 * a grant has one valid signature and ids need not cover it. */
	return crypto_sign_verify_detached(sig, buf, n, pk) == 0 ? 0 : -1;
}

void
auth_sig_make(uint8_t sig[SCPP_AUTH_SIG_LEN], const char *ctx, const uint8_t *msg, size_t len,
	      const struct scpp_auth_keypair *kp)
{
	uint8_t buf[AUTH_SIGNED_MAX];
	size_t n = signed_msg(buf, ctx, msg, len);

	crypto_sign_detached(sig, NULL, buf, n, kp->sk);
}
