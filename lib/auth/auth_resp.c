/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The node side of the handshake (struct scpp_auth_responder), on the
 * control thread.
 *
 * Costs and who pays them. A HELLO costs the node one keyed BLAKE2b (the
 * cookie) and a copy of the epoch certificate, signed once per rotation; its
 * answer (204 bytes) is smaller than the HELLO (288), so HELLO floods cost
 * little and reflect nothing. A FINISH is decoded and its cookie checked
 * (address proven, issued within cookie_lifetime by this node) before any
 * public-key operation; then one Ed25519 verification (possession), one per
 * link (at most SCPP_AUTH_LINKS_MAX), and one X25519 exchange: at most ~1.6
 * ms of this machine's time per FINISH, which the caller budgets (a rate
 * of handshakes per second) since only it knows the node's load.
 *
 * State. Nothing is kept per HELLO. Per session the responder keeps a
 * registry slot (id, principal, expiry, authority), and it remembers the
 * last AUTH_RECENT ACCEPTs by the hash of their FINISH, so a client that
 * lost its ACCEPT and resends the same FINISH gets the same ACCEPT instead
 * of a second session. Per-principal session counts live in a small
 * open-addressing table so that the limit costs O(1), not a registry scan.
 */
#include <string.h>

#include "auth_priv.h"

#define AUTH_RECENT 64
#define NS_PER_S UINT64_C(1000000000)

struct auth_epoch {
	uint64_t id;           /* 0: none */
	uint64_t start_ns;
	uint64_t accept_until; /* FINISH messages naming it accepted while now < this */
	uint8_t sk[32];
	uint8_t cookie_key[32];
	uint8_t cert[AUTH_CH_TIME - AUTH_CH_NODE]; /* CHALLENGE bytes 4..148: signed certificate */
};

struct auth_reg {
	uint64_t id; /* 0: free */
	uint64_t expires_ns;
	uint8_t principal[SCPP_AUTH_KEY_LEN];
	struct scpp_auth_authority *authority;
};

struct auth_recent {
	uint8_t hash[32];
	uint64_t session;
	uint8_t accept[AUTH_HDR_LEN + SCPP_AUTH_ACCEPT_LEN];
};

struct auth_pcount {
	uint8_t pk[SCPP_AUTH_KEY_LEN];
	uint32_t n; /* 0: empty */
};

struct scpp_auth_responder {
	const struct scpp_auth_mem *mem;
	size_t size;
	struct scpp_auth_keypair node;
	uint8_t roots[SCPP_AUTH_ROOTS_MAX][SCPP_AUTH_KEY_LEN];
	struct scpp_auth_trust trust;
	struct scpp_auth_compile_config compile;
	uint32_t capacity;
	uint16_t lanes;
	uint16_t algs;
	uint32_t max_per_principal;
	uint64_t session_lifetime, cookie_lifetime, epoch_lifetime;
	bool seeded;
	uint8_t seed[32];
	uint64_t rng_counter;
	struct auth_epoch cur, prev;
	uint32_t nlive;
	uint32_t nfree;
	uint32_t recent_next;
	uint32_t pc_mask;
	struct auth_recent recent[AUTH_RECENT];
	struct scpp_auth_chain chains[SCPP_AUTH_CHAINS_MAX]; /* FINISH scratch */
	uint32_t *free_slots;  /* stack of free slot numbers */
	struct auth_reg *reg;  /* capacity */
	struct auth_pcount *pc; /* pc_mask + 1 */
};

/* ---- randomness: random, or a deterministic stream for tests ---- */

static void
rng(struct scpp_auth_responder *r, void *out, size_t n)
{
	uint8_t k[randombytes_SEEDBYTES], ctr[8];

	if (!r->seeded) {
		randombytes_buf(out, n);
		return;
	}
	auth_put64(ctr, r->rng_counter++);
	crypto_generichash(k, sizeof(k), ctr, sizeof(ctr), r->seed, sizeof(r->seed));
	randombytes_buf_deterministic(out, n, k);
	sodium_memzero(k, sizeof(k));
}

/* ---- per-principal counts: linear probing, backward-shift deletion ---- */

static uint32_t
pc_home(const struct scpp_auth_responder *r, const uint8_t *pk)
{
	return (uint32_t)auth_get64(pk) & r->pc_mask;
}

static struct auth_pcount *
pc_find(struct scpp_auth_responder *r, const uint8_t *pk, bool insert)
{
	for (uint32_t i = pc_home(r, pk);; i = (i + 1) & r->pc_mask) {
		struct auth_pcount *e = &r->pc[i];

		if (e->n == 0) {
			if (!insert)
				return NULL;
			memcpy(e->pk, pk, SCPP_AUTH_KEY_LEN);
			return e;
		}
		if (memcmp(e->pk, pk, SCPP_AUTH_KEY_LEN) == 0)
			return e;
	}
}

static void
pc_dec(struct scpp_auth_responder *r, const uint8_t *pk)
{
	struct auth_pcount *e = pc_find(r, pk, false);
	uint32_t i, j;

	if (e == NULL || --e->n > 0)
		return;
	/* Backward shift: move later entries of the probe run into the hole
	 * when their home position is not between the hole and them. */
	i = (uint32_t)(e - r->pc);
	for (j = (i + 1) & r->pc_mask; r->pc[j].n != 0; j = (j + 1) & r->pc_mask) {
		uint32_t k = pc_home(r, r->pc[j].pk);

		if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
			r->pc[i] = r->pc[j];
			r->pc[j].n = 0;
			i = j;
		}
	}
	memset(&r->pc[i], 0, sizeof(r->pc[i]));
}

/* ---- epochs ---- */

static void
epoch_new(struct scpp_auth_responder *r, uint64_t now)
{
	struct auth_epoch *e = &r->cur;
	uint8_t *c = e->cert; /* cert[k] is CHALLENGE byte AUTH_CH_NODE + k */
	uint8_t pk[32];

	sodium_memzero(&r->prev, sizeof(r->prev));
	r->prev = r->cur;
	/* Epoch ids are start times: unique across restarts of the node, so a
	 * FINISH from before a restart names an epoch that no longer exists. */
	e->id = now > r->prev.id ? now : r->prev.id + 1;
	e->start_ns = now;
	e->accept_until = now + r->epoch_lifetime + r->cookie_lifetime;
	rng(r, e->sk, sizeof(e->sk));
	rng(r, e->cookie_key, sizeof(e->cookie_key));
	crypto_scalarmult_base(pk, e->sk);
	memcpy(c + AUTH_CH_NODE - AUTH_CH_NODE, r->node.pk, 32);
	auth_put64(c + AUTH_CH_EPOCH - AUTH_CH_NODE, e->id);
	memcpy(c + AUTH_CH_EPH - AUTH_CH_NODE, pk, 32);
	auth_put64(c + AUTH_CH_EXPIRES - AUTH_CH_NODE, e->accept_until);
	auth_sig_make(c + AUTH_CH_SIG - AUTH_CH_NODE, AUTH_CTX_EPOCH, c, AUTH_CH_CERT_LEN, &r->node);
}

int
scpp_auth_responder_rotate(struct scpp_auth_responder *r, uint64_t now_ns)
{
	if (now_ns < r->cur.start_ns + r->epoch_lifetime)
		return 0;
	epoch_new(r, now_ns);
	return 1;
}

static const struct auth_epoch *
epoch_find(const struct scpp_auth_responder *r, uint64_t id, uint64_t now)
{
	if (id != 0 && id == r->cur.id && now < r->cur.accept_until)
		return &r->cur;
	if (id != 0 && id == r->prev.id && now < r->prev.accept_until)
		return &r->prev;
	return NULL;
}

/* ---- create / free ---- */

struct scpp_auth_responder *
scpp_auth_responder_create(const struct scpp_auth_responder_config *cfg, uint64_t now_ns)
{
	struct scpp_auth_responder *r;
	uint32_t pcn = 2;
	size_t size, off_free, off_reg, off_pc;
	uint16_t algs;

	if (cfg == NULL || cfg->node_key == NULL || cfg->trust.nroots == 0 ||
	    cfg->trust.nroots > SCPP_AUTH_ROOTS_MAX || cfg->trust.roots == NULL ||
	    cfg->capacity == 0 || cfg->capacity > SCPP_AUTH_SLOTS_MAX || cfg->lanes == 0 ||
	    cfg->lanes > SCPP_AUTH_LANES_MAX || (cfg->algs & ~SCPP_AUTH_ALG_ALL) != 0) {
		errno = EINVAL;
		return NULL;
	}
	algs = auth_algs_usable(cfg->algs);
	if (algs == 0) {
		errno = ENOSYS;
		return NULL;
	}
	while (pcn < 2 * (uint64_t)cfg->capacity)
		pcn <<= 1;
	off_free = (sizeof(*r) + 63) & ~(size_t)63;
	off_reg = (off_free + (size_t)cfg->capacity * sizeof(uint32_t) + 63) & ~(size_t)63;
	off_pc = off_reg + (size_t)cfg->capacity * sizeof(struct auth_reg);
	size = off_pc + (size_t)pcn * sizeof(struct auth_pcount);
	r = auth_zalloc(cfg->mem, size);
	if (r == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	r->mem = auth_mem(cfg->mem);
	r->size = size;
	r->free_slots = (uint32_t *)(void *)((uint8_t *)r + off_free);
	r->reg = (struct auth_reg *)(void *)((uint8_t *)r + off_reg);
	r->pc = (struct auth_pcount *)(void *)((uint8_t *)r + off_pc);
	r->pc_mask = pcn - 1;
	r->node = *cfg->node_key;
	memcpy(r->roots, cfg->trust.roots, (size_t)cfg->trust.nroots * SCPP_AUTH_KEY_LEN);
	r->trust.roots = (const uint8_t(*)[SCPP_AUTH_KEY_LEN])r->roots;
	r->trust.nroots = cfg->trust.nroots;
	r->trust.revoked = cfg->trust.revoked;
	r->compile = cfg->compile;
	r->compile.mem = cfg->mem;
	r->capacity = cfg->capacity;
	r->lanes = cfg->lanes;
	r->algs = algs;
	r->max_per_principal = cfg->max_per_principal != 0 ? cfg->max_per_principal : cfg->capacity;
	r->session_lifetime = cfg->session_lifetime_ns != 0 ? cfg->session_lifetime_ns
							    : 24 * 3600 * NS_PER_S;
	r->cookie_lifetime = cfg->cookie_lifetime_ns != 0 ? cfg->cookie_lifetime_ns : 30 * NS_PER_S;
	r->epoch_lifetime = cfg->epoch_lifetime_ns != 0 ? cfg->epoch_lifetime_ns : 120 * NS_PER_S;
	if (cfg->seed != NULL) {
		r->seeded = true;
		memcpy(r->seed, cfg->seed, sizeof(r->seed));
	}
	/* Slots are handed out lowest first (pop from the top of the stack). */
	for (uint32_t i = 0; i < cfg->capacity; i++)
		r->free_slots[i] = cfg->capacity - 1 - i;
	r->nfree = cfg->capacity;
	epoch_new(r, now_ns);
	return r;
}

void
scpp_auth_responder_free(struct scpp_auth_responder *r)
{
	if (r == NULL)
		return;
	for (uint32_t i = 0; i < r->capacity; i++)
		if (r->reg[i].id != 0)
			scpp_auth_authority_free(r->reg[i].authority);
	auth_wipe_free(r->mem, r, r->size);
}

unsigned int
scpp_auth_responder_sessions(const struct scpp_auth_responder *r)
{
	return r->nlive;
}

const uint8_t *
scpp_auth_responder_node_key(const struct scpp_auth_responder *r)
{
	return r->node.pk;
}

/* ---- HELLO ---- */

static void
cookie_make(const struct auth_epoch *e, uint64_t hs_id, uint16_t alg, const uint8_t *eph,
	    uint64_t t, const void *addr, size_t alen, uint8_t out[AUTH_COOKIE_LEN])
{
	crypto_generichash_state st;
	uint8_t b[8 + 2 + 32 + 8 + 8 + 1];

	auth_put64(b, hs_id);
	auth_put16(b + 8, alg);
	memcpy(b + 10, eph, 32);
	auth_put64(b + 42, e->id);
	auth_put64(b + 50, t);
	b[58] = (uint8_t)alen;
	crypto_generichash_init(&st, e->cookie_key, sizeof(e->cookie_key), AUTH_COOKIE_LEN);
	crypto_generichash_update(&st, (const uint8_t *)AUTH_CTX_COOKIE, sizeof(AUTH_CTX_COOKIE));
	crypto_generichash_update(&st, b, sizeof(b));
	crypto_generichash_update(&st, addr, alen);
	crypto_generichash_final(&st, out, AUTH_COOKIE_LEN);
}

int
scpp_auth_responder_hello(struct scpp_auth_responder *r, const uint8_t *d, size_t len,
			  const void *addr, size_t addr_len, uint64_t now_ns, uint8_t *out,
			  size_t size)
{
	struct scpp_auth_hs_dgram h;
	const uint8_t *p;
	uint8_t *c = out + AUTH_HDR_LEN;
	uint16_t offered, both, alg;
	int rc;

	if (r == NULL || (addr == NULL && addr_len > 0) || addr_len > 32)
		return -EINVAL;
	rc = scpp_auth_hs_parse(d, len, &h);
	if (rc == 0)
		rc = auth_hs_fixed(&h, SCPP_AUTH_KIND_HELLO, SCPP_AUTH_HELLO_LEN);
	if (rc != 0)
		return rc;
	p = h.payload;
	offered = auth_get16(p + AUTH_HELLO_ALGS);
	if ((offered & ~SCPP_AUTH_ALG_ALL) != 0)
		return -SCPP_AUTH_E_BAD_ALG;
	if (!auth_all_zero(p + AUTH_HELLO_PAD, SCPP_AUTH_HELLO_LEN - AUTH_HELLO_PAD) ||
	    h.session != 0)
		return -SCPP_AUTH_E_BAD_RESERVED;
	both = offered & r->algs;
	if (both == 0)
		return -SCPP_AUTH_E_BAD_ALG;
	/* GMAC is ~2.5x faster here (perf/RESULTS.md); ChaCha20-Poly1305 is
	 * for clients without AES-NI. */
	alg = (both & SCPP_AUTH_ALG_AES256GMAC) ? SCPP_AUTH_ALG_AES256GMAC : SCPP_AUTH_ALG_CHACHAPOLY;
	if (out == NULL || size < AUTH_HDR_LEN + SCPP_AUTH_CHALLENGE_LEN)
		return -ENOSPC;
	scpp_auth_responder_rotate(r, now_ns);
	auth_hs_hdr(out, SCPP_AUTH_KIND_CHALLENGE, SCPP_AUTH_CHALLENGE_LEN, 0, h.hs_id, 0, 1);
	c[0] = AUTH_HS_VERSION;
	c[1] = 0;
	auth_put16(c + AUTH_CH_ALG, alg);
	memcpy(c + AUTH_CH_NODE, r->cur.cert, AUTH_CH_TIME - AUTH_CH_NODE);
	auth_put64(c + AUTH_CH_TIME, now_ns);
	cookie_make(&r->cur, h.hs_id, alg, p + AUTH_HELLO_EPH, now_ns, addr, addr_len,
		    c + AUTH_CH_COOKIE);
	return AUTH_HDR_LEN + SCPP_AUTH_CHALLENGE_LEN;
}

/* ---- FINISH ---- */

/* Decode a FINISH into r->chains; f->off (and chain) locate a failure. */
static int
finish_decode(struct scpp_auth_responder *r, const uint8_t *m, size_t len, unsigned int *nchains,
	      struct scpp_auth_fault *f)
{
	size_t off = SCPP_AUTH_FINISH_FIXED, links = 0;
	static const uint8_t fixed[] = {0, 1, 2, 4, 36, 44, 52, 68, 100, 101, 102};

#define FFAIL(at, code)                                                       \
	do {                                                                  \
		f->off = (uint32_t)(at);                                      \
		return (code);                                                \
	} while (0)
	if (len > SCPP_AUTH_FINISH_MAX)
		FFAIL(0, -SCPP_E_BAD_LENGTH);
	for (size_t i = 0; i + 1 < SCPP_ARRAY_SIZE(fixed); i++)
		if (len < fixed[i + 1])
			FFAIL(fixed[i], -SCPP_E_TRUNCATED);
	if (m[0] != AUTH_HS_VERSION)
		FFAIL(0, -SCPP_E_BAD_VERSION);
	if (m[1] != 0)
		FFAIL(1, -SCPP_E_BAD_FLAGS);
	if (auth_get16(m + AUTH_FIN_ALG) != SCPP_AUTH_ALG_AES256GMAC &&
	    auth_get16(m + AUTH_FIN_ALG) != SCPP_AUTH_ALG_CHACHAPOLY)
		FFAIL(AUTH_FIN_ALG, -SCPP_AUTH_E_BAD_ALG);
	*nchains = m[AUTH_FIN_NCHAINS];
	if (*nchains == 0)
		FFAIL(AUTH_FIN_NCHAINS, -EINVAL);
	if (*nchains > SCPP_AUTH_CHAINS_MAX)
		FFAIL(AUTH_FIN_NCHAINS, -SCPP_E_TOO_MANY);
	if (m[AUTH_FIN_RSV] != 0)
		FFAIL(AUTH_FIN_RSV, -SCPP_AUTH_E_BAD_RESERVED);
	for (unsigned int i = 0; i < *nchains; i++) {
		uint32_t inner = 0;
		size_t used = 0;
		int rc = scpp_auth_chain_decode(m + off, len - off, &r->chains[i], &used, &inner);

		f->chain = (uint16_t)i;
		if (rc != 0)
			FFAIL(off + inner, rc);
		links += r->chains[i].n;
		if (links > SCPP_AUTH_LINKS_MAX)
			FFAIL(off, -SCPP_E_TOO_MANY);
		off += used;
	}
	f->chain = UINT16_MAX;
	if (len - off < SCPP_AUTH_SIG_LEN)
		FFAIL(off, -SCPP_E_TRUNCATED);
	if (len - off > SCPP_AUTH_SIG_LEN)
		FFAIL(off + SCPP_AUTH_SIG_LEN, -SCPP_E_TRAILING);
#undef FFAIL
	return 0;
}

static bool
recent_find(struct scpp_auth_responder *r, const uint8_t hash[32], uint8_t *reply, size_t size,
	    size_t *reply_len)
{
	for (unsigned int i = 0; i < AUTH_RECENT; i++) {
		const struct auth_recent *e = &r->recent[i];
		uint32_t slot = scpp_auth_session_slot(e->session);

		if (e->session == 0 || memcmp(e->hash, hash, 32) != 0)
			continue;
		if (slot >= r->capacity || r->reg[slot].id != e->session || size < sizeof(e->accept))
			return false;
		memcpy(reply, e->accept, sizeof(e->accept));
		*reply_len = sizeof(e->accept);
		return true;
	}
	return false;
}

/* First stage, no public-key operation: decoding, epoch, cookie (the
 * address is proven), and the transcript the signature covers. */
static int
finish_cookie(struct scpp_auth_responder *r, const uint8_t *m, size_t len, uint64_t hs_id,
	      const void *addr, size_t addr_len, uint64_t now, uint8_t th[32],
	      const struct auth_epoch **ep, unsigned int *nchains, struct scpp_auth_fault *f,
	      bool *answer)
{
	const struct auth_epoch *e;
	uint8_t ch[SCPP_AUTH_CHALLENGE_LEN], cookie[AUTH_COOKIE_LEN];
	uint64_t t;
	int rc;

	rc = finish_decode(r, m, len, nchains, f);
	if (rc != 0)
		return rc;
	e = epoch_find(r, auth_get64(m + AUTH_FIN_EPOCH), now);
	/* From here on the answer is smaller than the FINISH: a REJECT
	 * reflects nothing, and tells a real client to start again. */
	*answer = true;
	if (e == NULL) {
		f->off = AUTH_FIN_EPOCH;
		return -SCPP_AUTH_E_STALE_EPOCH;
	}
	t = auth_get64(m + AUTH_FIN_TIME);
	if (now >= t && now - t > r->cookie_lifetime) {
		f->off = AUTH_FIN_TIME;
		return -SCPP_AUTH_E_COOKIE_EXPIRED;
	}
	cookie_make(e, hs_id, auth_get16(m + AUTH_FIN_ALG), m + AUTH_FIN_EPH, t, addr, addr_len,
		    cookie);
	if (crypto_verify_16(cookie, m + AUTH_FIN_COOKIE) != 0 || t > now + r->cookie_lifetime) {
		/* Address not proven: say nothing. */
		*answer = false;
		f->off = AUTH_FIN_COOKIE;
		return -SCPP_AUTH_E_BAD_COOKIE;
	}
	/* Rebuild the CHALLENGE the client answered, for the transcript. */
	ch[0] = AUTH_HS_VERSION;
	ch[1] = 0;
	memcpy(ch + AUTH_CH_ALG, m + AUTH_FIN_ALG, 2);
	memcpy(ch + AUTH_CH_NODE, e->cert, AUTH_CH_TIME - AUTH_CH_NODE);
	auth_put64(ch + AUTH_CH_TIME, t);
	memcpy(ch + AUTH_CH_COOKIE, cookie, AUTH_COOKIE_LEN);
	auth_hs_transcript(th, hs_id, ch, m, len - SCPP_AUTH_SIG_LEN);
	*ep = e;
	return 0;
}

/* Second stage: possession, chains, limits, the exchange. */
static int
finish_verify(struct scpp_auth_responder *r, const uint8_t *m, size_t len,
	      const struct auth_epoch *e, uint64_t now, const uint8_t th[32], uint8_t dh[32],
	      unsigned int nchains, struct scpp_auth_fault *f)
{
	struct auth_pcount *pc;
	int rc;

	if (auth_sig_verify(m + len - SCPP_AUTH_SIG_LEN, AUTH_CTX_HS, th, 32,
			    m + AUTH_FIN_PRINCIPAL) != 0) {
		f->off = (uint32_t)(len - SCPP_AUTH_SIG_LEN);
		return -SCPP_AUTH_E_BAD_SIGNATURE;
	}
	for (unsigned int i = 0; i < nchains; i++) {
		rc = scpp_auth_chain_verify(&r->chains[i], m + AUTH_FIN_PRINCIPAL, &r->trust, now, f);
		if (rc != 0) {
			f->chain = (uint16_t)i;
			return rc;
		}
	}
	if (r->nfree == 0)
		return -SCPP_AUTH_E_SESSIONS_FULL;
	pc = pc_find(r, m + AUTH_FIN_PRINCIPAL, false);
	if (pc != NULL && pc->n >= r->max_per_principal)
		return -SCPP_AUTH_E_PRINCIPAL_LIMIT;
	if (crypto_scalarmult(dh, e->sk, m + AUTH_FIN_EPH) != 0) {
		f->off = AUTH_FIN_EPH;
		return -SCPP_AUTH_E_BAD_KEY;
	}
	return 0;
}

int
scpp_auth_responder_finish(struct scpp_auth_responder *r, const uint8_t *m, size_t len,
			   uint64_t hs_id, const void *addr, size_t addr_len, uint64_t now_ns,
			   uint8_t *reply, size_t reply_size, struct scpp_auth_finish_result *res)
{
	struct scpp_auth_session_params *p;
	struct scpp_auth_authority *a;
	struct scpp_auth_compile_config cc;
	const struct auth_epoch *e = NULL;
	struct auth_recent *rec;
	uint8_t th[32], dh[32], hash[32], *acc;
	unsigned int nchains = 0;
	uint64_t rnd = 0;
	bool answer = false;
	uint32_t slot;
	int rc;

	if (res == NULL)
		return -EINVAL;
	memset(res, 0, sizeof(*res));
	scpp_auth_fault_clear(&res->fault);
	if (r == NULL || m == NULL || reply == NULL || (addr == NULL && addr_len > 0) ||
	    addr_len > 32 || reply_size < AUTH_HDR_LEN + SCPP_AUTH_ACCEPT_LEN)
		return -EINVAL;
	scpp_auth_responder_rotate(r, now_ns);
	rc = finish_cookie(r, m, len, hs_id, addr, addr_len, now_ns, th, &e, &nchains, &res->fault,
			   &answer);
	if (rc == 0) {
		/* A FINISH resent because its ACCEPT was lost: same answer. */
		crypto_generichash(hash, sizeof(hash), m, len, NULL, 0);
		if (recent_find(r, hash, reply, reply_size, &res->reply_len))
			return 1;
		rc = finish_verify(r, m, len, e, now_ns, th, dh, nchains, &res->fault);
	}
	if (rc == 0) {
		cc = r->compile;
		cc.expires_cap_ns = now_ns + r->session_lifetime;
		a = scpp_auth_authority_compile(r->chains, nchains, m + AUTH_FIN_PRINCIPAL, &cc);
		if (a == NULL)
			rc = -errno;
	}
	if (rc != 0) {
		if (answer)
			res->reply_len = auth_hs_reject(reply, hs_id, rc, &res->fault);
		sodium_memzero(dh, sizeof(dh));
		return rc;
	}

	/* Committed from here on: nothing below can fail. */
	slot = r->free_slots[--r->nfree];
	while (rnd == 0) {
		rng(r, &rnd, sizeof(rnd));
		rnd &= (UINT64_C(1) << 40) - 1;
	}
	p = &res->params;
	p->id = rnd << 24 | slot;
	p->expires_ns = scpp_auth_authority_expires(a);
	p->alg = auth_get16(m + AUTH_FIN_ALG);
	p->lanes = r->lanes;
	memcpy(p->principal, m + AUTH_FIN_PRINCIPAL, SCPP_AUTH_KEY_LEN);
	p->authority = a;
	acc = reply + AUTH_HDR_LEN;
	auth_hs_hdr(reply, SCPP_AUTH_KIND_ACCEPT, SCPP_AUTH_ACCEPT_LEN, p->id, hs_id, 0, 1);
	memset(acc, 0, SCPP_AUTH_ACCEPT_LEN);
	acc[0] = AUTH_HS_VERSION;
	auth_put16(acc + AUTH_ACC_ALG, p->alg);
	auth_put64(acc + AUTH_ACC_SESSION, p->id);
	rng(r, acc + AUTH_ACC_RANDOM, 32);
	auth_put64(acc + AUTH_ACC_EXPIRES, p->expires_ns);
	auth_put16(acc + AUTH_ACC_LANES, p->lanes);
	auth_hs_keys(dh, th, acc, p->k_c2n, p->k_n2c, acc + AUTH_ACC_CONFIRM);
	sodium_memzero(dh, sizeof(dh));
	res->reply_len = AUTH_HDR_LEN + SCPP_AUTH_ACCEPT_LEN;

	r->reg[slot].id = p->id;
	r->reg[slot].expires_ns = p->expires_ns;
	memcpy(r->reg[slot].principal, p->principal, SCPP_AUTH_KEY_LEN);
	r->reg[slot].authority = a;
	pc_find(r, p->principal, true)->n++;
	r->nlive++;
	rec = &r->recent[r->recent_next++ % AUTH_RECENT];
	memcpy(rec->hash, hash, sizeof(hash));
	rec->session = p->id;
	memcpy(rec->accept, reply, sizeof(rec->accept));
	return 0;
}

struct scpp_auth_authority *
scpp_auth_responder_close(struct scpp_auth_responder *r, uint64_t id)
{
	uint32_t slot = scpp_auth_session_slot(id);
	struct scpp_auth_authority *a;
	struct auth_reg *g;

	if (r == NULL || id == 0 || slot >= r->capacity || r->reg[slot].id != id) {
		errno = ENOENT;
		return NULL;
	}
	g = &r->reg[slot];
	a = g->authority;
	pc_dec(r, g->principal);
	memset(g, 0, sizeof(*g));
	r->free_slots[r->nfree++] = slot;
	r->nlive--;
	return a;
}

unsigned int
scpp_auth_responder_due(struct scpp_auth_responder *r, uint64_t now_ns, uint64_t *ids,
			unsigned int n)
{
	unsigned int k = 0;

	for (uint32_t i = 0; i < r->capacity && k < n; i++) {
		const struct auth_reg *g = &r->reg[i];

		if (g->id == 0)
			continue;
		if (now_ns >= g->expires_ns || auth_authority_revoked(g->authority, &r->trust))
			ids[k++] = g->id;
	}
	return k;
}
