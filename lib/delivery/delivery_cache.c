/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * At-most-once: held replies, client windows, admission, cookies and the
 * amplification limit (docs/PROTOCOL.md §16).
 *
 * Two structures, two jobs. The **reply cache** holds the bytes of recent
 * replies so that a retransmission or a FETCH gets them again; it is
 * bounded in entries and bytes and drops replies oldest first, normally
 * when they are older than the retention time (cache_expired), earlier
 * only when memory is full (cache_pressure). The **client window** says
 * which block ids ran: per (address, port, client id) the highest id and a
 * bitmap of the SCPP_DELIVERY_WINDOW ids below it, as IPsec's anti-replay
 * window (RFC 4303 §3.4.3). The window, not the cache, is what makes a
 * block run at most once: when a reply is gone, its bit still says the
 * block ran, and the retransmission gets NOTICE REPLY_LOST. Windows are
 * kept at least the retention time after the client's last executed block;
 * a new client finding every window younger than that is refused (BUSY)
 * rather than allowed to push out someone else's window.
 *
 * Replies are written by the evaluator straight into the cache's arena
 * (scpp_delivery_reply_buf()): the arena keeps reply_max free bytes at its
 * head for that, so a reply is copied once, from the arena into frames.
 *
 * Amplification: a response to a source without a valid cookie may cost at
 * most SCPP_DELIVERY_AMPLIFICATION times the request's bytes (UDP payload
 * bytes both ways, QUIC's rule, RFC 9000 §8.1); otherwise the response is
 * a NOTICE COOKIE (60 bytes, which always fits: a request is at least a
 * 32-byte header). Cookies are SipHash-128 of the source address, port and
 * client id under a key that changes every SCPP_DELIVERY_COOKIE_PERIOD_S,
 * derived from the node's secret, so every worker computes the same cookie
 * and keeps no state for it.
 */
#include <errno.h>

#include <sodium.h>

#include "delivery_priv.h"

_Static_assert(SCPP_WIRE_HDR_LEN + SCPP_WIRE_NOTICE_COOKIE_LEN <=
		       SCPP_DELIVERY_AMPLIFICATION * SCPP_WIRE_HDR_LEN,
	       "a COOKIE notice fits the budget of the smallest request");
_Static_assert(sizeof(struct dlv_ckey) == 24, "cache key layout");

#define TICK_MAX 8 /* expiries per tick, per structure */
#define CLIENT_KEY_LEN 16 /* struct dlv_ckey without block_id */

/* ---- memory ---- */

static uint32_t
rindex_slots(uint32_t entries)
{
	uint32_t n = 16;

	while (n < 2 * (uint64_t)entries)
		n *= 2;
	return n;
}

size_t
dlv_cache_mem(const struct scpp_delivery_conf *c)
{
	return dlv_al(sizeof(struct dlv_ent) * c->cache_entries) + dlv_al(c->cache_bytes) +
	       dlv_al(sizeof(uint64_t) * rindex_slots(c->cache_entries)) +
	       dlv_al(sizeof(struct dlv_client) * c->clients) +
	       dlv_al(dlv_tab_mem(c->clients, CLIENT_KEY_LEN));
}

void
dlv_cache_init(struct scpp_delivery *d, uint8_t **mem)
{
	const struct scpp_delivery_conf *c = &d->conf;
	struct dlv_cache *ca = &d->cache;
	struct dlv_clients *cl = &d->clients;
	uint64_t seed[5];

	ca->cap = c->cache_entries;
	ca->ent = dlv_carve(mem, sizeof(*ca->ent) * c->cache_entries);
	ca->size = c->cache_bytes;
	ca->arena = dlv_carve(mem, c->cache_bytes);
	ca->index.mask = rindex_slots(c->cache_entries) - 1;
	ca->index.slot = dlv_carve(mem, sizeof(uint64_t) * rindex_slots(c->cache_entries));
	dlv_seed(d, "cache", ca->index.seed, 5);
	cl->cap = c->clients;
	cl->c = dlv_carve(mem, sizeof(*cl->c) * c->clients);
	dlv_seed(d, "clients", seed, 5);
	dlv_tab_init(&cl->index, dlv_carve(mem, dlv_tab_mem(c->clients, CLIENT_KEY_LEN)), c->clients,
		     CLIENT_KEY_LEN, seed);
	cl->lru_head = cl->lru_tail = DLV_NONE;
	for (uint32_t i = 0; i < cl->cap; i++)
		cl->c[i].next = i + 1 < cl->cap ? i + 1 : DLV_NONE;
	cl->free_head = 0;
}

/* ---- held replies ---- */

/* Keyed NH over the key's three words (senders choose client and block
 * ids: an unkeyed hash would let them build long probe runs). */
static inline uint32_t
rindex_hash(const struct dlv_rindex *x, const struct dlv_ckey *k)
{
	uint64_t w0 = (uint64_t)k->ip | (uint64_t)k->port << 32;
	uint64_t h = (w0 + x->seed[0]) * (k->client_id + x->seed[1]) +
		     (k->block_id + x->seed[2]) * (x->seed[3] | 1);

	return (uint32_t)(scpp_hash_mix64(h ^ x->seed[4]) >> 32);
}

/* Ring index of the held reply with key @p k, or DLV_NONE. */
static uint32_t
rindex_find(const struct dlv_cache *ca, const struct dlv_ckey *k)
{
	const struct dlv_rindex *x = &ca->index;
	uint32_t h = rindex_hash(x, k), i = h & x->mask;

	for (;; i = (i + 1) & x->mask) {
		uint64_t s = x->slot[i];
		uint32_t e;

		if (s == 0)
			return DLV_NONE;
		e = (uint32_t)s - 1;
		if ((uint32_t)(s >> 32) == h && memcmp(&ca->ent[e].key, k, sizeof(*k)) == 0)
			return e;
	}
}

static void
rindex_insert(struct dlv_cache *ca, const struct dlv_ckey *k, uint32_t e)
{
	struct dlv_rindex *x = &ca->index;
	uint32_t h = rindex_hash(x, k), i = h & x->mask;

	/* At most half full (a slot per entry, twice the entries): there is
	 * always an empty slot. */
	while (x->slot[i] != 0)
		i = (i + 1) & x->mask;
	x->slot[i] = (uint64_t)h << 32 | (e + 1);
}

/* Remove ring entry @p e (key @p k) from the index. */
static void
rindex_delete(struct dlv_cache *ca, const struct dlv_ckey *k, uint32_t e)
{
	struct dlv_rindex *x = &ca->index;
	uint32_t i = rindex_hash(x, k) & x->mask, j;

	while ((uint32_t)x->slot[i] != e + 1) {
		SCPP_VERIFY(x->slot[i] != 0); /* every indexed entry is in it */
		i = (i + 1) & x->mask;
	}
	/* Backward shift: move later members of the run into the hole when
	 * their home slot is not between the hole and themselves. */
	for (j = i;;) {
		uint32_t home;

		j = (j + 1) & x->mask;
		if (x->slot[j] == 0)
			break;
		home = (uint32_t)(x->slot[j] >> 32) & x->mask;
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		x->slot[i] = x->slot[j];
		i = j;
	}
	x->slot[i] = 0;
}

static inline bool
expired(const struct scpp_delivery *d, uint64_t tsc, uint64_t now)
{
	return now - tsc > d->retention;
}

/* Drop the oldest held reply. */
static void
ent_drop(struct scpp_delivery *d, uint64_t now)
{
	struct dlv_cache *ca = &d->cache;
	struct dlv_ent *e = &ca->ent[ca->head];

	if (e->indexed)
		rindex_delete(ca, &e->key, ca->head);
	dlv_count(expired(d, e->tsc, now) ? &d->st.cache_expired : &d->st.cache_pressure);
	dlv_gauge64(&ca->used, ca->used - e->len);
	ca->head = ca->head + 1 == ca->cap ? 0 : ca->head + 1;
	dlv_gauge32(&ca->count, ca->count - 1);
	/* Everything before the new oldest entry is free; a queued reply
	 * whose position is below this is gone (delivery_tx.c checks). */
	ca->low = ca->count > 0 ? ca->ent[ca->head].pos : ca->tail;
}

uint8_t *
scpp_delivery_reply_buf(struct scpp_delivery *d, uint32_t *cap, uint64_t now)
{
	struct dlv_cache *ca = &d->cache;
	uint64_t r = d->conf.reply_max, pos = ca->tail, off = ca->tail_off;

	SCPP_ASSERT(off == pos % ca->size);
	/* A reply never straddles the end of the arena. */
	if (off + r > ca->size) {
		pos += ca->size - off;
		off = 0;
	}
	/* Free [pos, pos + r): drop every entry that starts before
	 * pos + r - size (entries and bytes are in the same order). */
	while (ca->count > 0 && pos + r > ca->size && ca->ent[ca->head].pos < pos + r - ca->size)
		ent_drop(d, now);
	ca->resv = pos;
	ca->resv_off = off;
	*cap = (uint32_t)r;
	return ca->arena + off;
}

/* Record the reply in the reply buffer as the newest entry; *@p idx its
 * index in the ring. */
static struct dlv_ent *
ent_add(struct scpp_delivery *d, const struct scpp_delivery_req *req, uint32_t len, bool indexed,
	uint64_t now, uint32_t *idx_out)
{
	struct dlv_cache *ca = &d->cache;
	struct dlv_ent *e;
	uint32_t idx;

	SCPP_VERIFY(len <= d->conf.reply_max);
	if (ca->count == ca->cap)
		ent_drop(d, now);
	idx = ca->head + ca->count;
	if (idx >= ca->cap)
		idx -= ca->cap;
	e = &ca->ent[idx];
	e->key = dlv_ckey_of(req, req->block_id);
	e->pos = ca->resv;
	e->len = len;
	e->tsc = now;
	e->chunk = dlv_chunk(d, &req->peer, req->session);
	e->session = req->session;
	e->indexed = indexed;
	dlv_gauge32(&ca->count, ca->count + 1);
	dlv_gauge64(&ca->used, ca->used + len);
	ca->tail = ca->resv + len;
	/* resv_off + len <= size: the reply did not straddle the end. */
	ca->tail_off = ca->resv_off + len == ca->size ? 0 : ca->resv_off + len;
	ca->low = ca->ent[ca->head].pos;
	if (indexed)
		rindex_insert(ca, &e->key, idx);
	*idx_out = idx;
	return e;
}

/* The held reply with key @p k, or NULL. */
static const struct dlv_ent *
held_find(const struct scpp_delivery *d, const struct dlv_ckey *k)
{
	uint32_t e = rindex_find(&d->cache, k);

	return e != DLV_NONE ? &d->cache.ent[e] : NULL;
}

void
dlv_cache_tick(struct scpp_delivery *d, uint64_t now)
{
	struct dlv_clients *cl = &d->clients;

	for (int i = 0; i < TICK_MAX && d->cache.count > 0 &&
	     expired(d, d->cache.ent[d->cache.head].tsc, now); i++)
		ent_drop(d, now);
	for (int i = 0; i < TICK_MAX && cl->lru_head != DLV_NONE &&
	     expired(d, cl->c[cl->lru_head].tsc, now); i++) {
		uint32_t idx = cl->lru_head;
		struct dlv_client *c = &cl->c[idx];

		dlv_tab_del(&cl->index, &c->key);
		cl->lru_head = c->next;
		if (cl->lru_head == DLV_NONE)
			cl->lru_tail = DLV_NONE;
		else
			cl->c[cl->lru_head].prev = DLV_NONE;
		c->next = cl->free_head;
		cl->free_head = idx;
		dlv_gauge32(&cl->count, cl->count - 1);
		dlv_count(&d->st.clients_expired);
	}
}

/* ---- client windows ---- */

enum win { WIN_NEW, WIN_DONE, WIN_STALE };

static inline bool
win_bit(const struct dlv_client *c, uint64_t id)
{
	unsigned int b = (unsigned int)(id % SCPP_DELIVERY_WINDOW);

	return (c->bits[b / 64] >> (b % 64)) & 1;
}

static enum win
win_check(const struct dlv_client *c, uint64_t id)
{
	int64_t dd = (int64_t)(id - c->top); /* serial-number order (RFC 1982) */

	if (!c->has_top || dd > 0)
		return WIN_NEW;
	if ((uint64_t)-dd >= SCPP_DELIVERY_WINDOW)
		return WIN_STALE;
	return win_bit(c, id) ? WIN_DONE : WIN_NEW;
}

/* Clear the bits of the @p n ids after @p top (they enter the window). */
static void
win_clear_after(struct dlv_client *c, uint64_t top, uint64_t n)
{
	unsigned int b = (unsigned int)((top + 1) % SCPP_DELIVERY_WINDOW);

	if (n >= SCPP_DELIVERY_WINDOW) {
		memset(c->bits, 0, sizeof(c->bits));
		return;
	}
	while (n > 0) {
		unsigned int k = (unsigned int)SCPP_MIN(n, (uint64_t)(64 - b % 64));
		uint64_t m = k == 64 ? UINT64_MAX : ((UINT64_C(1) << k) - 1) << (b % 64);

		c->bits[b / 64] &= ~m;
		n -= k;
		b = (b + k) % SCPP_DELIVERY_WINDOW;
	}
}

static void
win_mark(struct dlv_client *c, uint64_t id)
{
	int64_t dd = (int64_t)(id - c->top);
	unsigned int b = (unsigned int)(id % SCPP_DELIVERY_WINDOW);

	if (!c->has_top) {
		c->has_top = 1;
		c->top = id;
		memset(c->bits, 0, sizeof(c->bits));
	} else if (dd > 0) {
		win_clear_after(c, c->top, (uint64_t)dd);
		c->top = id;
	}
	SCPP_ASSERT(c->top - id < SCPP_DELIVERY_WINDOW);
	c->bits[b / 64] |= UINT64_C(1) << (b % 64);
}

static void
lru_unlink(struct dlv_clients *cl, uint32_t idx)
{
	struct dlv_client *c = &cl->c[idx];

	if (c->prev != DLV_NONE)
		cl->c[c->prev].next = c->next;
	else
		cl->lru_head = c->next;
	if (c->next != DLV_NONE)
		cl->c[c->next].prev = c->prev;
	else
		cl->lru_tail = c->prev;
}

static void
lru_append(struct dlv_clients *cl, uint32_t idx)
{
	struct dlv_client *c = &cl->c[idx];

	c->prev = cl->lru_tail;
	c->next = DLV_NONE;
	if (cl->lru_tail != DLV_NONE)
		cl->c[cl->lru_tail].next = idx;
	else
		cl->lru_head = idx;
	cl->lru_tail = idx;
}

static uint32_t
client_find(const struct scpp_delivery *d, const struct dlv_ckey *k)
{
	uint32_t *v = dlv_tab_find_n(&d->clients.index, k, CLIENT_KEY_LEN);

	return v != NULL ? *v : DLV_NONE;
}

/*
 * A window for a new client: a free slot, else the least recently used one
 * if its time is up. DLV_NONE when every window is still live.
 */
static uint32_t
client_new(struct scpp_delivery *d, const struct dlv_ckey *k, uint64_t now)
{
	struct dlv_clients *cl = &d->clients;
	struct dlv_client *c;
	uint32_t idx = cl->free_head;

	if (idx != DLV_NONE) {
		cl->free_head = cl->c[idx].next;
		dlv_gauge32(&cl->count, cl->count + 1);
	} else {
		idx = cl->lru_head;
		if (!expired(d, cl->c[idx].tsc, now))
			return DLV_NONE;
		dlv_tab_del(&cl->index, &cl->c[idx].key);
		lru_unlink(cl, idx);
		dlv_count(&d->st.clients_expired);
	}
	c = &cl->c[idx];
	memset(c, 0, sizeof(*c));
	c->key = *k;
	c->key.block_id = 0;
	c->tsc = now;
	dlv_tab_insert(&cl->index, &c->key, idx);
	lru_append(cl, idx);
	dlv_count(&d->st.clients_new);
	return idx;
}

/* ---- cookies ---- */

static void
period_key(const struct scpp_delivery *d, uint64_t period, uint8_t out[SCPP_DELIVERY_KEY_LEN])
{
	uint8_t in[16] = "scpp-cookie";

	memcpy(in + 8, &period, sizeof(period));
	crypto_shorthash_siphashx24(out, in, sizeof(in), d->conf.cookie_key);
}

static void
cookie_with(const uint8_t key[SCPP_DELIVERY_KEY_LEN], const struct scpp_net_peer *p,
	    uint64_t client_id, uint8_t out[SCPP_WIRE_COOKIE_LEN])
{
	uint8_t in[14];

	memcpy(in, &p->ip, 4);
	memcpy(in + 4, &p->udp_port, 2);
	memcpy(in + 6, &client_id, 8);
	crypto_shorthash_siphashx24(out, in, sizeof(in), key);
}

static inline uint64_t
period_of(const struct scpp_delivery *d, uint64_t now)
{
	return (now - d->conf.epoch_tsc) / d->period;
}

static void
keys_update(struct scpp_delivery *d, uint64_t now)
{
	uint64_t k = period_of(d, now);

	if (k == d->key_period)
		return;
	period_key(d, k, d->key_now);
	period_key(d, k - 1, d->key_prev);
	d->key_period = k;
}

void
dlv_cookie_make(const struct scpp_delivery *d, uint64_t period, const struct scpp_net_peer *p,
		uint64_t client_id, uint8_t out[SCPP_WIRE_COOKIE_LEN])
{
	uint8_t key[SCPP_DELIVERY_KEY_LEN];

	period_key(d, period, key);
	cookie_with(key, p, client_id, out);
}

void
scpp_delivery_cookie(const struct scpp_delivery *d, const struct scpp_net_peer *peer,
		     uint64_t client_id, uint64_t now, uint8_t out[SCPP_WIRE_COOKIE_LEN])
{
	dlv_cookie_make(d, period_of(d, now), peer, client_id, out);
}

bool
dlv_cookie_valid(struct scpp_delivery *d, const struct scpp_delivery_req *req, uint64_t now)
{
	uint8_t c[SCPP_WIRE_COOKIE_LEN];
	bool ok = false;

	if (!req->has_cookie)
		return false;
	keys_update(d, now);
	cookie_with(d->key_now, &req->peer, req->client_id, c);
	if (sodium_memcmp(c, req->cookie, sizeof(c)) == 0) {
		ok = true;
	} else {
		cookie_with(d->key_prev, &req->peer, req->client_id, c);
		ok = sodium_memcmp(c, req->cookie, sizeof(c)) == 0;
	}
	dlv_count(ok ? &d->st.cookies_valid : &d->st.cookies_invalid);
	return ok;
}

/* ---- responses ---- */

static void
notice(struct scpp_delivery *d, const struct scpp_delivery_req *req,
       const struct scpp_wire_notice *n)
{
	if (dlv_tx_notice(d, &req->peer, req->client_id, req->block_id, n, req->session))
		dlv_count(&d->st.notices[n->code]);
}

void
scpp_delivery_notice(struct scpp_delivery *d, const struct scpp_delivery_req *req, uint8_t code,
		     uint64_t now)
{
	struct scpp_wire_notice n = {.code = code};

	(void)now;
	SCPP_VERIFY(code > SCPP_NOTICE_COOKIE && code < SCPP_NOTICE_COUNT);
	notice(d, req, &n);
}

static void
cookie_notice(struct scpp_delivery *d, const struct scpp_delivery_req *req, uint32_t bytes,
	      uint16_t chunk, uint64_t now)
{
	struct scpp_wire_notice n = {.code = SCPP_NOTICE_COOKIE};

	keys_update(d, now);
	cookie_with(d->key_now, &req->peer, req->client_id, n.cookie);
	if (bytes != UINT32_MAX) {
		n.reply_bytes = bytes;
		n.reply_dgrams = dlv_nseq(bytes, chunk);
	}
	dlv_count(&d->st.amp_limited);
	notice(d, req, &n);
}

/* May a response of @p cost UDP payload bytes go to @p req's source? */
static bool
within_budget(struct scpp_delivery *d, const struct scpp_delivery_req *req, uint64_t cost,
	      uint64_t now)
{
	/* The cookie is checked only when the response needs it. A session
	 * from the address its handshake proved is not limited
	 * (docs/SECURITY.md §12). */
	return cost <= (uint64_t)SCPP_DELIVERY_AMPLIFICATION * req->req_bytes ||
	       (req->session & SCPP_DELIVERY_PROVEN) != 0 || dlv_cookie_valid(d, req, now);
}

/*
 * Send datagrams [first, first + count) of a held reply, or a COOKIE
 * notice instead when that is more than the amplification limit allows.
 * @p held: the reply stays held (a retransmission can get it).
 */
static void
respond(struct scpp_delivery *d, const struct scpp_delivery_req *req, const struct dlv_ent *e,
	uint32_t first, uint32_t count, bool held, uint64_t now)
{
	if (!within_budget(d, req, dlv_reply_cost(e->len, e->chunk, first, count, req->session),
			   now)) {
		cookie_notice(d, req, held ? e->len : UINT32_MAX, e->chunk, now);
		return;
	}
	(void)dlv_tx_reply(d, &req->peer, req->client_id, req->block_id, e->pos, e->len, e->chunk,
			   first, count, req->session);
}

/* ---- admission, commit, FETCH ---- */

/* NOTICE BUSY: every window is younger than the retention time. */
static void
busy_notice(struct scpp_delivery *d, const struct scpp_delivery_req *req, uint64_t now)
{
	struct dlv_clients *cl = &d->clients;
	uint64_t left = d->retention - (now - cl->c[cl->lru_head].tsc);
	struct scpp_wire_notice n = {.code = SCPP_NOTICE_BUSY};

	n.retry_ms = (uint16_t)SCPP_MIN(left * 1000 / d->conf.tsc_hz + 1, 65535u);
	notice(d, req, &n);
}

/*
 * Admission (@p read: of a read-only block, scpp_delivery_admit_read()).
 * A read-only block from a client without a window is admitted without a
 * lookup in the held replies, and without a window: both are needed only
 * if its reply is recorded after all (commit_read()).
 */
static inline enum scpp_delivery_admit
admit(struct scpp_delivery *d, const struct scpp_delivery_req *req, uint64_t now, bool read)
{
	struct dlv_ckey k = dlv_ckey_of(req, req->block_id);
	const struct dlv_ent *e;
	enum win w;
	uint32_t idx;

	d->pending_client = DLV_NONE;
	d->pending_read = 0;
	idx = client_find(d, &k);
	if (read && idx == DLV_NONE) {
		d->pending_read = 1;
		d->pending_block = req->block_id;
		dlv_count(&d->st.admitted);
		dlv_count(&d->st.reads);
		return SCPP_DELIVERY_EXECUTE;
	}
	w = idx != DLV_NONE ? win_check(&d->clients.c[idx], req->block_id) : WIN_NEW;
	/* A held reply exists only for a block that ran: one the window says
	 * ran, or one it no longer covers (held replies can outlast the
	 * window), or one whose window is gone (an entry older than it). So a
	 * new block, the common case, costs no index lookup. */
	e = w != WIN_NEW || idx == DLV_NONE ? held_find(d, &k) : NULL;
	/* Admitted and parked (not finished): its reply follows. */
	if (e == NULL && w == WIN_NEW && idx != DLV_NONE && dlv_park_holds(d, req))
		return SCPP_DELIVERY_ANSWERED;
	if (e != NULL) {
		dlv_count(&d->st.cache_hits);
		/* Numbered in the chunks it was first cut into: a port with a
		 * smaller MTU cannot carry them. */
		if (e->chunk > dlv_chunk(d, &req->peer, req->session))
			scpp_delivery_notice(d, req, SCPP_NOTICE_REPLY_LOST, now);
		else
			respond(d, req, e, 0, UINT32_MAX, true, now);
		return SCPP_DELIVERY_ANSWERED;
	}
	if (idx != DLV_NONE) {
		switch (w) {
		case WIN_DONE:
			scpp_delivery_notice(d, req, SCPP_NOTICE_REPLY_LOST, now);
			return SCPP_DELIVERY_ANSWERED;
		case WIN_STALE:
			scpp_delivery_notice(d, req, SCPP_NOTICE_STALE, now);
			return SCPP_DELIVERY_ANSWERED;
		default:
			break;
		}
	} else {
		idx = client_new(d, &k, now);
		if (idx == DLV_NONE) {
			busy_notice(d, req, now);
			return SCPP_DELIVERY_ANSWERED;
		}
	}
	d->pending_client = idx;
	d->pending_block = req->block_id;
	d->pending_read = read;
	dlv_count(&d->st.admitted);
	if (read)
		dlv_count(&d->st.reads);
	return SCPP_DELIVERY_EXECUTE;
}

enum scpp_delivery_admit
scpp_delivery_admit(struct scpp_delivery *d, const struct scpp_delivery_req *req, uint64_t now)
{
	return admit(d, req, now, false);
}

enum scpp_delivery_admit
scpp_delivery_admit_read(struct scpp_delivery *d, const struct scpp_delivery_req *req,
			 uint64_t now)
{
	return admit(d, req, now, true);
}

bool
dlv_pending_window(struct scpp_delivery *d, const struct scpp_delivery_req *req, uint64_t now)
{
	struct dlv_ckey k = dlv_ckey_of(req, req->block_id);

	d->pending_read = 0;
	if (d->pending_client != DLV_NONE)
		return true;
	d->pending_client = client_new(d, &k, now);
	return d->pending_client != DLV_NONE;
}

/* Record an executed block: its window bit, its client's age and place in
 * the LRU, and its reply as the newest held one. */
static const struct dlv_ent *
commit(struct scpp_delivery *d, const struct scpp_delivery_req *req, uint32_t len, uint64_t now)
{
	struct dlv_clients *cl = &d->clients;
	uint32_t cidx = d->pending_client, idx;
	struct dlv_client *c;
	const struct dlv_ent *e;

	/* Only after scpp_delivery_admit() said EXECUTE for this request. */
	SCPP_VERIFY(cidx != DLV_NONE && d->pending_block == req->block_id);
	c = &cl->c[cidx];
	win_mark(c, req->block_id);
	c->tsc = now;
	if (cl->lru_tail != cidx) { /* a busy client is at the tail already */
		lru_unlink(cl, cidx);
		lru_append(cl, cidx);
	}
	d->pending_client = DLV_NONE;
	e = ent_add(d, req, len, true, now, &idx);
	dlv_count(&d->st.replies_kept);
	return e;
}

/*
 * A read-only block whose reply must be held after all (several datagrams,
 * a NOTICE COOKIE instead, not sent from a frame): recorded as any block,
 * unless a reply is held under its key already (then that one is sent, the
 * new one dropped) or no window can be made (NOTICE BUSY: it changed
 * nothing). NULL when it was answered here.
 */
static const struct dlv_ent *
commit_read(struct scpp_delivery *d, const struct scpp_delivery_req *req, uint32_t len,
	    uint64_t now)
{
	SCPP_VERIFY(d->pending_block == req->block_id);
	if (d->pending_client == DLV_NONE) {
		struct dlv_ckey k = dlv_ckey_of(req, req->block_id);
		const struct dlv_ent *e = held_find(d, &k);

		if (e != NULL && e->chunk <= dlv_chunk(d, &req->peer, req->session)) {
			d->pending_read = 0;
			dlv_count(&d->st.cache_hits);
			respond(d, req, e, 0, UINT32_MAX, true, now);
			return NULL;
		}
		if (!dlv_pending_window(d, req, now)) {
			busy_notice(d, req, now);
			return NULL;
		}
	}
	d->pending_read = 0;
	return commit(d, req, len, now);
}

void
scpp_delivery_reply_commit(struct scpp_delivery *d, const struct scpp_delivery_req *req,
			   uint32_t len, uint64_t now)
{
	const struct dlv_ent *e;

	e = d->pending_read ? commit_read(d, req, len, now) : commit(d, req, len, now);
	if (e != NULL)
		respond(d, req, e, 0, UINT32_MAX, true, now);
}

/* Build the one datagram of a reply (@p len bytes at arena position @p pos)
 * into @p frame, and describe it in *@p t. */
static uint16_t
direct_frame(struct scpp_delivery *d, const struct scpp_delivery_req *req, uint64_t pos,
	     uint32_t len, uint16_t chunk, uint8_t *frame, struct scpp_delivery_direct *t)
{
	t->to = req->peer;
	t->client_id = req->client_id;
	t->block_id = req->block_id;
	t->pos = pos;
	t->len = len;
	t->chunk = chunk;
	t->session = req->session;
	t->dgram_len = dlv_build_reply(d, &t->to, t->client_id, t->block_id,
				       d->cache.arena + d->cache.resv_off, len, 0, true,
				       req->session, frame);
	return (uint16_t)(SCPP_NET_L2L4_LEN + t->dgram_len);
}

uint16_t
scpp_delivery_reply_commit_frame(struct scpp_delivery *d, const struct scpp_delivery_req *req,
				 uint32_t len, uint64_t now, uint8_t *frame, uint32_t room,
				 struct scpp_delivery_direct *t)
{
	const uint16_t chunk = dlv_chunk(d, &req->peer, req->session);
	/* dlv_nseq(len, chunk) == 1 and dlv_reply_cost(len, chunk, 0, 1, ...)
	 * without their divisions: a reply of one datagram is len <= chunk
	 * bytes, and its first datagram costs the header, the tag and
	 * min(len, chunk) bytes. */
	const uint64_t cost = SCPP_WIRE_HDR_LEN + dlv_tag(req->session) + SCPP_MIN(len, (uint32_t)chunk);
	const bool one = len <= chunk && room >= SCPP_NET_L2L4_LEN + cost;
	const struct dlv_ent *e;

	SCPP_VERIFY(len <= d->conf.reply_max);
	if (d->pending_read) {
		/* A read-only block's one datagram goes out unrecorded: nothing
		 * is held, no window made or marked, and the arena's tail stays
		 * where it is (the next reply is written over these bytes, which
		 * the frame has now). */
		if (one && within_budget(d, req, cost, now)) {
			SCPP_VERIFY(d->pending_block == req->block_id);
			d->pending_read = 0;
			d->pending_client = DLV_NONE;
			dlv_count(&d->st.reads_unheld);
			return direct_frame(d, req, SCPP_DELIVERY_UNHELD, len, chunk, frame, t);
		}
		e = commit_read(d, req, len, now);
		if (e != NULL)
			respond(d, req, e, 0, UINT32_MAX, true, now);
		return 0;
	}
	e = commit(d, req, len, now);
	if (!one || !within_budget(d, req, cost, now)) {
		respond(d, req, e, 0, UINT32_MAX, true, now);
		return 0;
	}
	return direct_frame(d, req, e->pos, e->len, e->chunk, frame, t);
}

uint64_t
dlv_hold_copy(struct scpp_delivery *d, const struct scpp_delivery_direct *t, const uint8_t *msg,
	      uint64_t now)
{
	struct scpp_delivery_req r;
	const struct dlv_ent *e;
	uint32_t cap, idx;
	uint8_t *buf = scpp_delivery_reply_buf(d, &cap, now);

	memset(&r, 0, sizeof(r));
	r.peer = t->to;
	r.client_id = t->client_id;
	r.block_id = t->block_id;
	r.session = t->session;
	memcpy(buf, msg, t->len);
	e = ent_add(d, &r, t->len, false, now, &idx);
	dlv_count(&d->st.reads_held);
	return e->pos;
}

void
scpp_delivery_reply_status(struct scpp_delivery *d, const struct scpp_delivery_req *req,
			   uint32_t len, uint64_t now)
{
	const struct dlv_ent *e;
	uint32_t idx;

	d->pending_client = DLV_NONE;
	d->pending_read = 0;
	e = ent_add(d, req, len, false, now, &idx);
	respond(d, req, e, 0, UINT32_MAX, false, now);
}

int
scpp_delivery_fetch(struct scpp_delivery *d, const struct scpp_delivery_req *req,
		    const uint8_t *payload, uint32_t len, uint64_t now)
{
	struct scpp_wire_fetch f;
	struct dlv_ckey k = dlv_ckey_of(req, req->block_id);
	const struct dlv_ent *e;
	uint64_t cost = 0;
	uint32_t idx;
	bool done;

	if (scpp_wire_fetch_decode(payload, len, &f) != 0)
		return -EINVAL;
	idx = client_find(d, &k);
	done = idx != DLV_NONE && win_check(&d->clients.c[idx], req->block_id) == WIN_DONE;
	e = held_find(d, &k);
	if (e == NULL || e->chunk > dlv_chunk(d, &req->peer, req->session)) {
		scpp_delivery_notice(d, req, done ? SCPP_NOTICE_REPLY_LOST : SCPP_NOTICE_NO_REPLY,
				     now);
		return 0;
	}
	for (unsigned int i = 0; i < f.nranges; i++)
		cost += dlv_reply_cost(e->len, e->chunk, f.range[i].first, f.range[i].count,
				       req->session);
	if (cost == 0)
		return 0; /* only sequence numbers past the end: nothing to send */
	if (!within_budget(d, req, cost, now)) {
		cookie_notice(d, req, e->len, e->chunk, now);
		return 0;
	}
	/* All ranges or none: a half-answered FETCH would only be asked again. */
	if (dlv_tx_free_jobs(d) < f.nranges) {
		dlv_count(&d->st.backlog_full);
		return 0;
	}
	for (unsigned int i = 0; i < f.nranges; i++) {
		uint32_t nseq = dlv_nseq(e->len, e->chunk), first = f.range[i].first;
		uint32_t n = first >= nseq ? 0 : SCPP_MIN(f.range[i].count, nseq - first);

		if (n == 0)
			continue;
		(void)dlv_tx_reply(d, &req->peer, req->client_id, req->block_id, e->pos, e->len,
				   e->chunk, first, n, req->session);
		scpp_counter_add(&d->st.fetch_dgrams, n);
	}
	return 0;
}
