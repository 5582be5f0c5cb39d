/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Session datagrams: the per-datagram MAC and the anti-replay window, on the
 * node (a worker's struct scpp_auth_table) and on the client
 * (struct scpp_auth_client_session).
 *
 * Cost (perf/bench-auth, perf/RESULTS.md "Authentication"): the MAC is
 * AES-256-GCM with an empty plaintext (GMAC) over header + payload + the
 * tag's first 8 bytes, ~145 ns for the 579-byte datagram of a 16-get block
 * on this machine, against ~330 ns for ChaCha20-Poly1305 and ~2 us for
 * HMAC-SHA-256; lookup, lane, expiry and window add a few ns. So the
 * verifier orders its checks by cost and does the MAC last: a datagram for
 * no session, another lane, an expired session, or a counter already seen
 * is rejected without it. Only a datagram whose MAC verified may move the
 * window, so forgeries cannot push a session's window forward and make its
 * real datagrams "too old".
 *
 * Why the counter is in the tag and not the block id: the delivery layer
 * keys at-most-once on (client id, block id) and must see a retransmission
 * of a block (same block id, same bytes) to answer it from the reply cache.
 * The client seals every *transmission* with a fresh counter, so a
 * retransmission passes this window and reaches the reply cache, while a
 * copy of an earlier datagram (an attacker's replay) repeats a counter and
 * dies here, before anything decodes it. Nonces are never reused under a
 * key: each direction has its own key, each lane its own counter, and each
 * (direction, lane) has exactly one sender (the client, or the lane's
 * worker); a cached reply is resent as the same bytes, which reuses its
 * nonce only with the identical message.
 */
#include <string.h>

#include "auth_priv.h"

/* ---- MAC ---- */

int
auth_mac_key_init(union auth_mac_key *k, uint16_t alg, const uint8_t raw[SCPP_AUTH_KEY_LEN])
{
	memset(k, 0, sizeof(*k));
	switch (alg) {
	case SCPP_AUTH_ALG_AES256GMAC:
		if (!auth_aes_available())
			return -SCPP_AUTH_E_BAD_ALG;
#if AUTH_GMAC_X86
		auth_gmac_init(&k->gmac, raw);
#else
		crypto_aead_aes256gcm_beforenm(&k->gcm, raw);
#endif
		return 0;
	case SCPP_AUTH_ALG_CHACHAPOLY:
		memcpy(k->raw, raw, SCPP_AUTH_KEY_LEN);
		return 0;
	default:
		return -SCPP_AUTH_E_BAD_ALG;
	}
}

void
auth_mac_compute(uint16_t alg, const union auth_mac_key *k, const uint8_t *ad, size_t adlen,
		 const uint8_t nonce8[8], uint8_t mac[SCPP_AUTH_MAC_LEN])
{
	uint8_t nonce[12] = {0}, none[1] = {0};
	unsigned long long maclen;

#if AUTH_GMAC_X86
	if (alg == SCPP_AUTH_ALG_AES256GMAC) {
		auth_gmac(&k->gmac, ad, adlen, nonce8, mac);
		return;
	}
#endif
	memcpy(nonce, nonce8, 8);
	if (alg == SCPP_AUTH_ALG_AES256GMAC)
		crypto_aead_aes256gcm_encrypt_detached_afternm(none, mac, &maclen, none, 0, ad, adlen,
							       NULL, nonce, &k->gcm);
	else
		crypto_aead_chacha20poly1305_ietf_encrypt_detached(none, mac, &maclen, none, 0, ad,
								   adlen, NULL, nonce, k->raw);
}

int
auth_mac_check(uint16_t alg, const union auth_mac_key *k, const uint8_t *ad, size_t adlen,
	       const uint8_t nonce8[8], const uint8_t mac[SCPP_AUTH_MAC_LEN])
{
	uint8_t nonce[12] = {0}, none[1] = {0};
	int rc;

#if AUTH_GMAC_X86
	if (alg == SCPP_AUTH_ALG_AES256GMAC)
		return auth_gmac_verify(&k->gmac, ad, adlen, nonce8, mac);
#endif
	memcpy(nonce, nonce8, 8);
	/* libsodium compares tags in constant time (crypto_verify_16). */
	if (alg == SCPP_AUTH_ALG_AES256GMAC)
		rc = crypto_aead_aes256gcm_decrypt_detached_afternm(none, NULL, none, 0, mac, ad,
								    adlen, nonce, &k->gcm);
	else
		rc = crypto_aead_chacha20poly1305_ietf_decrypt_detached(none, NULL, none, 0, mac, ad,
									adlen, nonce, k->raw);
	return rc == 0 ? 0 : -1;
}

void
auth_tag_seal(uint16_t alg, const union auth_mac_key *k, uint8_t *d, size_t len, uint16_t lane,
	      uint64_t counter)
{
	uint8_t *tag = d + len - SCPP_AUTH_TAG_LEN;

	auth_put16(tag, lane);
	auth_put48(tag + 2, counter);
	auth_mac_compute(alg, k, d, len - SCPP_AUTH_MAC_LEN, tag, tag + 8);
}

/* Prepare a datagram for sealing: set the flag, the tag length and the
 * session id (all MACed), then check the length against the header. */
static int
seal_prepare(uint8_t *d, size_t len, uint64_t id)
{
	if (len < (size_t)AUTH_HDR_LEN + SCPP_AUTH_TAG_LEN)
		return -SCPP_AUTH_E_BAD_TAG;
	d[AUTH_H_TAG_LEN] = SCPP_AUTH_TAG_LEN;
	if (len != auth_dgram_len(d))
		return -SCPP_AUTH_E_BAD_TAG;
	d[AUTH_H_FLAGS] |= SCPP_AUTH_F_SESSION;
	auth_put64(d + AUTH_H_CLIENT_ID, id);
	return 0;
}

static bool
alg_valid(uint16_t alg)
{
	return alg == SCPP_AUTH_ALG_AES256GMAC || alg == SCPP_AUTH_ALG_CHACHAPOLY;
}

/* ---- node: a worker's table ---- */

struct auth_slot {
	uint64_t id;          /* 0: free */
	uint64_t expires_ns;
	const struct scpp_auth_authority *authority;
	uint16_t alg;
	uint16_t lanes;
	uint64_t tx_next;     /* this lane's next node -> client counter */
	struct auth_window rx;
	union auth_mac_key rx_key; /* client -> node */
	union auth_mac_key tx_key; /* node -> client */
};

struct scpp_auth_table {
	const struct scpp_auth_mem *mem;
	size_t size;
	uint32_t capacity;
	uint16_t lane;
	/* The sweep (scpp_auth_table_expire()) runs only when some session may
	 * have expired: due_ns is at most the earliest expiry of the installed
	 * sessions (UINT64_MAX: none). A sweep that starts examines every slot
	 * once (pass_left counts down), keeping the earliest expiry it leaves
	 * installed in pass_min, which becomes due_ns when the pass ends. So a
	 * worker's idle turns touch one word of the table instead of a dozen
	 * slots' cache lines (the slots are ~2.9 KiB apart). */
	uint64_t due_ns;
	uint64_t pass_min;
	uint32_t pass_left;
	struct scpp_auth_table_stats st;
	struct auth_slot slot[];
};

struct scpp_auth_table *
scpp_auth_table_create(const struct scpp_auth_table_config *cfg)
{
	struct scpp_auth_table *t;
	size_t size;

	if (cfg == NULL || cfg->capacity == 0 || cfg->capacity > SCPP_AUTH_SLOTS_MAX ||
	    cfg->lane >= SCPP_AUTH_LANES_MAX) {
		errno = EINVAL;
		return NULL;
	}
	if (scpp_auth_init() != 0) {
		errno = ENOSYS;
		return NULL;
	}
	size = sizeof(*t) + (size_t)cfg->capacity * sizeof(struct auth_slot);
	t = auth_zalloc(cfg->mem, size);
	if (t == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	t->mem = auth_mem(cfg->mem);
	t->size = size;
	t->capacity = cfg->capacity;
	t->lane = cfg->lane;
	t->due_ns = UINT64_MAX;
	t->pass_min = UINT64_MAX;
	return t;
}

void
scpp_auth_table_free(struct scpp_auth_table *t)
{
	if (t != NULL)
		auth_wipe_free(t->mem, t, t->size);
}

int
scpp_auth_table_install(struct scpp_auth_table *t, const struct scpp_auth_session_params *p)
{
	struct auth_slot *s;
	uint32_t i;
	int rc;

	if (t == NULL || p == NULL || p->id == 0 || p->authority == NULL || p->expires_ns == 0 ||
	    !alg_valid(p->alg) || p->lanes == 0 || p->lanes > SCPP_AUTH_LANES_MAX ||
	    t->lane >= p->lanes)
		return -EINVAL;
	i = scpp_auth_session_slot(p->id);
	if (i >= t->capacity)
		return -EINVAL;
	s = &t->slot[i];
	if (s->id != 0)
		return -EEXIST;
	rc = auth_mac_key_init(&s->rx_key, p->alg, p->k_c2n);
	if (rc == 0)
		rc = auth_mac_key_init(&s->tx_key, p->alg, p->k_n2c);
	if (rc != 0) {
		sodium_memzero(s, sizeof(*s));
		return rc;
	}
	memset(&s->rx, 0, sizeof(s->rx));
	s->tx_next = 0;
	s->expires_ns = p->expires_ns;
	s->authority = p->authority;
	s->alg = p->alg;
	s->lanes = p->lanes;
	s->id = p->id;
	if (p->expires_ns < t->due_ns)
		t->due_ns = p->expires_ns;
	if (p->expires_ns < t->pass_min)
		t->pass_min = p->expires_ns; /* the slot may lie behind the sweep */
	AUTH_COUNT(t->st.installed);
	AUTH_COUNT(t->st.active);
	return 0;
}

static void
slot_close(struct scpp_auth_table *t, struct auth_slot *s)
{
	sodium_memzero(s, sizeof(*s));
	AUTH_COUNT(t->st.closed);
	__atomic_store_n(&t->st.active, t->st.active - 1, __ATOMIC_RELAXED);
}

int
scpp_auth_table_close(struct scpp_auth_table *t, uint64_t id)
{
	uint32_t i = scpp_auth_session_slot(id);

	if (t == NULL || id == 0 || i >= t->capacity || t->slot[i].id != id)
		return -ENOENT;
	slot_close(t, &t->slot[i]);
	return 0;
}

unsigned int
scpp_auth_table_expire(struct scpp_auth_table *t, uint64_t now_ns, uint32_t *cursor,
		       unsigned int max_slots, uint64_t *ids)
{
	unsigned int closed = 0;
	uint32_t c = *cursor % t->capacity;

	for (unsigned int k = 0; k < max_slots; k++) {
		struct auth_slot *s = &t->slot[c];

		if (t->pass_left == 0) {
			if (now_ns < t->due_ns)
				break; /* nothing can have expired */
			t->pass_left = t->capacity;
			t->pass_min = UINT64_MAX;
		}
		if (s->id != 0) {
			if (now_ns >= s->expires_ns) {
				if (ids != NULL)
					ids[closed] = s->id;
				closed++;
				slot_close(t, s);
			} else if (s->expires_ns < t->pass_min) {
				t->pass_min = s->expires_ns;
			}
		}
		c = c + 1 == t->capacity ? 0 : c + 1;
		if (--t->pass_left == 0)
			t->due_ns = t->pass_min;
	}
	*cursor = c;
	return closed;
}

int
scpp_auth_verify(struct scpp_auth_table *t, const uint8_t *d, size_t len, uint64_t now_ns,
		 struct scpp_auth_verdict *v)
{
	const uint8_t *tag;
	struct auth_slot *s;
	uint64_t id;
	uint32_t i;
	int rc;

	v->session = 0;
	v->slot = UINT32_MAX;
	v->lane = 0;
	v->counter = 0;
	v->authority = NULL;
	rc = auth_tag_frame(d, len);
	if (SCPP_UNLIKELY(rc != 0)) {
		if (rc == -SCPP_AUTH_E_NOT_SESSION)
			AUTH_COUNT(t->st.not_session);
		else
			AUTH_COUNT(t->st.bad_tag);
		return rc;
	}
	id = auth_get64(d + AUTH_H_CLIENT_ID);
	v->session = id;
	i = scpp_auth_session_slot(id);
	s = &t->slot[i < t->capacity ? i : 0];
	if (SCPP_UNLIKELY(id == 0 || i >= t->capacity || s->id != id)) {
		AUTH_COUNT(t->st.no_session);
		return -SCPP_AUTH_E_NO_SESSION;
	}
	tag = d + len - SCPP_AUTH_TAG_LEN;
	v->lane = auth_get16(tag);
	v->counter = auth_get48(tag + 2);
	if (SCPP_UNLIKELY(v->lane != t->lane)) {
		AUTH_COUNT(t->st.wrong_lane);
		return -SCPP_AUTH_E_WRONG_LANE;
	}
	if (SCPP_UNLIKELY(now_ns >= s->expires_ns)) {
		AUTH_COUNT(t->st.expired);
		return -SCPP_AUTH_E_SESSION_EXPIRED;
	}
	rc = auth_window_check(&s->rx, v->counter);
	if (SCPP_UNLIKELY(rc != 0)) {
		if (rc == -SCPP_AUTH_E_REPLAY)
			AUTH_COUNT(t->st.replayed);
		else
			AUTH_COUNT(t->st.too_old);
		return rc;
	}
	if (SCPP_UNLIKELY(auth_mac_check(s->alg, &s->rx_key, d, len - SCPP_AUTH_MAC_LEN, tag,
					 tag + 8) != 0)) {
		AUTH_COUNT(t->st.bad_mac);
		return -SCPP_AUTH_E_BAD_MAC;
	}
	auth_window_update(&s->rx, v->counter);
	AUTH_COUNT(t->st.verified);
	v->slot = i;
	v->authority = s->authority;
	return 0;
}

int
scpp_auth_seal(struct scpp_auth_table *t, uint32_t slot, uint8_t *d, size_t len)
{
	struct auth_slot *s;
	int rc;

	if (slot >= t->capacity || t->slot[slot].id == 0)
		return -SCPP_AUTH_E_NO_SESSION;
	s = &t->slot[slot];
	rc = seal_prepare(d, len, s->id);
	if (rc != 0)
		return rc;
	if (SCPP_UNLIKELY(s->tx_next > SCPP_AUTH_COUNTER_MAX))
		return -SCPP_AUTH_E_EXHAUSTED;
	auth_tag_seal(s->alg, &s->tx_key, d, len, t->lane, s->tx_next++);
	AUTH_COUNT(t->st.sealed);
	return 0;
}

int
scpp_auth_seal_delegated(const uint8_t k_d[SCPP_AUTH_KEY_LEN], uint64_t session, uint16_t lane,
			 uint64_t counter, uint8_t *d, size_t len)
{
	union auth_mac_key k;
	int rc;

	if (k_d == NULL || d == NULL || session == 0 || !(lane & SCPP_AUTH_LANE_DELEGATED))
		return -EINVAL;
	if (counter > SCPP_AUTH_COUNTER_MAX)
		return -SCPP_AUTH_E_EXHAUSTED;
	rc = seal_prepare(d, len, session);
	if (rc != 0)
		return rc;
	(void)auth_mac_key_init(&k, SCPP_AUTH_ALG_CHACHAPOLY, k_d);
	auth_tag_seal(SCPP_AUTH_ALG_CHACHAPOLY, &k, d, len, lane, counter);
	sodium_memzero(&k, sizeof(k));
	return 0;
}

const struct scpp_auth_authority *
scpp_auth_table_authority(const struct scpp_auth_table *t, uint64_t id, uint64_t now_ns)
{
	uint32_t i = scpp_auth_session_slot(id);
	const struct auth_slot *s;

	if (id == 0 || i >= t->capacity)
		return NULL;
	s = &t->slot[i];
	if (s->id != id || now_ns >= s->expires_ns)
		return NULL;
	return s->authority;
}

void
scpp_auth_table_stats_get(const struct scpp_auth_table *t, struct scpp_auth_table_stats *st)
{
	const uint64_t *src = (const uint64_t *)(const void *)&t->st;
	uint64_t *dst = (uint64_t *)(void *)st;

	/* The struct is all uint64_t counters; copy each with a relaxed load. */
	for (size_t i = 0; i < sizeof(*st) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

/* ---- client ---- */

struct scpp_auth_client_session {
	const struct scpp_auth_mem *mem;
	size_t size;
	uint64_t id;
	uint64_t expires_ns;
	uint16_t alg;
	uint16_t lanes;
	union auth_mac_key tx_key; /* client -> node */
	union auth_mac_key rx_key; /* node -> client */
	uint64_t tx_next[SCPP_AUTH_LANES_MAX];
	uint8_t k_n2c[SCPP_AUTH_KEY_LEN]; /* delegated reply keys derive from it */
	/* Owners' delegated lanes (SECURITY.md §9.4), taken in turn when full:
	 * an entry is made only for a datagram whose MAC verified. */
	struct {
		uint16_t lane;     /* 0: unused */
		uint8_t key[SCPP_AUTH_KEY_LEN];
		struct auth_window rx;
	} dlg[SCPP_AUTH_DLG_LANES];
	unsigned int dlg_next;
	struct auth_window rx[];   /* one per lane */
};

struct scpp_auth_client_session *
scpp_auth_client_session_create(const struct scpp_auth_session_params *p,
				const struct scpp_auth_mem *mem)
{
	struct scpp_auth_client_session *cs;
	size_t size;

	if (p == NULL || p->id == 0 || !alg_valid(p->alg) || p->lanes == 0 ||
	    p->lanes > SCPP_AUTH_LANES_MAX) {
		errno = EINVAL;
		return NULL;
	}
	if (scpp_auth_init() != 0) {
		errno = ENOSYS;
		return NULL;
	}
	size = sizeof(*cs) + (size_t)p->lanes * sizeof(struct auth_window);
	cs = auth_zalloc(mem, size);
	if (cs == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	cs->mem = auth_mem(mem);
	cs->size = size;
	if (auth_mac_key_init(&cs->tx_key, p->alg, p->k_c2n) != 0 ||
	    auth_mac_key_init(&cs->rx_key, p->alg, p->k_n2c) != 0) {
		auth_wipe_free(cs->mem, cs, size);
		errno = ENOSYS;
		return NULL;
	}
	memcpy(cs->k_n2c, p->k_n2c, SCPP_AUTH_KEY_LEN);
	cs->id = p->id;
	cs->expires_ns = p->expires_ns;
	cs->alg = p->alg;
	cs->lanes = p->lanes;
	return cs;
}

void
scpp_auth_client_session_free(struct scpp_auth_client_session *cs)
{
	if (cs != NULL)
		auth_wipe_free(cs->mem, cs, cs->size);
}

uint64_t
scpp_auth_client_session_id(const struct scpp_auth_client_session *cs)
{
	return cs->id;
}

uint64_t
scpp_auth_client_session_expires(const struct scpp_auth_client_session *cs)
{
	return cs->expires_ns;
}

uint16_t
scpp_auth_client_session_lanes(const struct scpp_auth_client_session *cs)
{
	return cs->lanes;
}

uint16_t
scpp_auth_client_session_alg(const struct scpp_auth_client_session *cs)
{
	return cs->alg;
}

int
scpp_auth_client_seal(struct scpp_auth_client_session *cs, uint16_t lane, uint8_t *d, size_t len)
{
	int rc;

	if (lane >= cs->lanes)
		return -EINVAL;
	rc = seal_prepare(d, len, cs->id);
	if (rc != 0)
		return rc;
	if (cs->tx_next[lane] > SCPP_AUTH_COUNTER_MAX)
		return -SCPP_AUTH_E_EXHAUSTED;
	auth_tag_seal(cs->alg, &cs->tx_key, d, len, lane, cs->tx_next[lane]++);
	return 0;
}

/* A reply from an owner node for a forwarded request (SECURITY.md §9.4). */
static int
client_open_delegated(struct scpp_auth_client_session *cs, const uint8_t *d, size_t len,
		      uint16_t lane, uint64_t counter, uint16_t *lane_out)
{
	const uint8_t *tag = d + len - SCPP_AUTH_TAG_LEN;
	union auth_mac_key k;
	unsigned int i;
	int rc;

	for (i = 0; i < SCPP_AUTH_DLG_LANES && cs->dlg[i].lane != lane; i++)
		;
	if (i < SCPP_AUTH_DLG_LANES) {
		rc = auth_window_check(&cs->dlg[i].rx, counter);
		if (rc != 0)
			return rc;
		(void)auth_mac_key_init(&k, SCPP_AUTH_ALG_CHACHAPOLY, cs->dlg[i].key);
	} else {
		uint8_t key[SCPP_AUTH_KEY_LEN];

		scpp_auth_delegated_key(cs->k_n2c, scpp_auth_delegated_lane_node(lane), key);
		(void)auth_mac_key_init(&k, SCPP_AUTH_ALG_CHACHAPOLY, key);
		sodium_memzero(key, sizeof(key));
	}
	rc = auth_mac_check(SCPP_AUTH_ALG_CHACHAPOLY, &k, d, len - SCPP_AUTH_MAC_LEN, tag, tag + 8);
	if (rc == 0 && i == SCPP_AUTH_DLG_LANES) {
		i = cs->dlg_next++ % SCPP_AUTH_DLG_LANES;
		memset(&cs->dlg[i].rx, 0, sizeof(cs->dlg[i].rx));
		cs->dlg[i].lane = lane;
		memcpy(cs->dlg[i].key, k.raw, SCPP_AUTH_KEY_LEN);
	}
	sodium_memzero(&k, sizeof(k));
	if (rc != 0)
		return -SCPP_AUTH_E_BAD_MAC;
	auth_window_update(&cs->dlg[i].rx, counter);
	if (lane_out != NULL)
		*lane_out = lane;
	return 0;
}

int
scpp_auth_client_open(struct scpp_auth_client_session *cs, const uint8_t *d, size_t len,
		      uint16_t *lane_out)
{
	const uint8_t *tag;
	uint64_t counter;
	uint16_t lane;
	int rc = auth_tag_frame(d, len);

	if (rc != 0)
		return rc;
	if (auth_get64(d + AUTH_H_CLIENT_ID) != cs->id)
		return -SCPP_AUTH_E_NO_SESSION;
	tag = d + len - SCPP_AUTH_TAG_LEN;
	lane = auth_get16(tag);
	counter = auth_get48(tag + 2);
	if (lane & SCPP_AUTH_LANE_DELEGATED)
		return client_open_delegated(cs, d, len, lane, counter, lane_out);
	if (lane >= cs->lanes)
		return -SCPP_AUTH_E_BAD_TAG;
	rc = auth_window_check(&cs->rx[lane], counter);
	if (rc != 0)
		return rc;
	if (auth_mac_check(cs->alg, &cs->rx_key, d, len - SCPP_AUTH_MAC_LEN, tag, tag + 8) != 0)
		return -SCPP_AUTH_E_BAD_MAC;
	auth_window_update(&cs->rx[lane], counter);
	if (lane_out != NULL)
		*lane_out = lane;
	return 0;
}
