/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef DELIVERY_PRIV_H
#define DELIVERY_PRIV_H

/*
 * Internals of lib/delivery shared by its files. One instance is one
 * worker's; every structure below is touched by that worker only, except
 * the counters and gauges, which other threads read with relaxed loads.
 */

#include <stddef.h>
#include <string.h>

#include "scpp_delivery.h"
#include "scpp_value.h" /* scpp_hash_mix64 */

#define DLV_NONE UINT32_MAX

/* ---- delivery_tab.c: fixed-capacity hash table, key bytes -> u32 ---- */

/*
 * Open addressing with linear probing and backward-shift deletion, sized
 * to at least twice the most keys it will hold, so it never fills and
 * probe runs stay short. The hash is keyed with per-table random seeds
 * (client ids, block ids and ports are chosen by senders, so an unkeyed
 * hash would let them build long probe runs).
 */
struct dlv_tab {
	uint32_t mask;        /* slots - 1 */
	uint32_t key_len;     /* bytes, a multiple of 8, <= 32 */
	uint32_t slot_size;   /* bytes per slot: 8 + key_len */
	uint32_t count;
	uint64_t seed[5];
	uint8_t *slots;       /* slot: u32 val (DLV_NONE = empty), u32 hash, key */
};

/* Key word @p i of a @p len-byte key (0 past its end). */
static inline uint64_t
dlv_tab_word(const uint8_t *k, uint32_t i, uint32_t len)
{
	uint64_t w = 0;

	if (8 * i < len)
		memcpy(&w, k + 8 * i, 8);
	return w;
}

/* The slot hash of a @p len-byte key (len == t->key_len). */
static inline uint32_t
dlv_tab_hash(const struct dlv_tab *t, const uint8_t *k, uint32_t len)
{
	uint64_t h = (dlv_tab_word(k, 0, len) + t->seed[0]) * (dlv_tab_word(k, 1, len) + t->seed[1]) +
		     (dlv_tab_word(k, 2, len) + t->seed[2]) * (dlv_tab_word(k, 3, len) + t->seed[3]);

	return (uint32_t)scpp_hash_mix64(h ^ t->seed[4]);
}

/*
 * dlv_tab_find() with the key's length a constant of the caller's (it must
 * be t->key_len), so that the hash's word loads and the key compare are
 * inlined without branches: for the lookups made per block.
 */
static inline uint32_t *
dlv_tab_find_n(const struct dlv_tab *t, const void *key, uint32_t len)
{
	uint32_t h = dlv_tab_hash(t, key, len), i = h & t->mask;

	SCPP_ASSERT(len == t->key_len);
	for (;;) {
		uint8_t *s = t->slots + (size_t)i * (8 + len);
		uint32_t v, sh;

		memcpy(&v, s, 4);
		if (v == DLV_NONE)
			return NULL;
		memcpy(&sh, s + 4, 4);
		if (sh == h && memcmp(s + 8, key, len) == 0)
			return (uint32_t *)(void *)s;
		i = (i + 1) & t->mask;
	}
}

size_t dlv_tab_mem(uint32_t max_keys, uint32_t key_len);
void dlv_tab_init(struct dlv_tab *t, void *mem, uint32_t max_keys, uint32_t key_len,
		  const uint64_t seed[5]);
/* Pointer to the value of @p key, or NULL. */
uint32_t *dlv_tab_find(const struct dlv_tab *t, const void *key);
/* Insert an absent key (the caller looked it up); cannot fail. */
void dlv_tab_insert(struct dlv_tab *t, const void *key, uint32_t val);
/* Delete @p key; false if it was not there. */
bool dlv_tab_del(struct dlv_tab *t, const void *key);

/* ---- keys ---- */

/* Reply cache and client windows: who sent it. */
struct dlv_ckey {
	uint32_t ip;        /* network order */
	uint16_t port;      /* network order */
	uint16_t session;   /* SCPP_DELIVERY_SESSION or 0: sessions are their own clients */
	uint64_t client_id;
	uint64_t block_id;  /* 0 in client-window keys */
};
_Static_assert(sizeof(struct dlv_ckey) == 24 && offsetof(struct dlv_ckey, client_id) == 8,
	       "dlv_ckey_of() writes ip, port and session as one word, with no padding");

/* Reassembly: the 5-tuple (UDP implied) and the ids. */
struct dlv_rkey {
	uint32_t src_ip, dst_ip;
	uint16_t src_port, dst_port;
	uint32_t session;   /* SCPP_DELIVERY_SESSION or 0: never mixed */
	uint64_t client_id;
	uint64_t block_id;
};

/* ---- held replies (delivery_cache.c) ---- */

/*
 * Replies live in a log-structured arena addressed by monotonic 64-bit
 * positions (offset = pos % size); entries form a FIFO ring in the same
 * order, so everything before the oldest entry's position is free, and a
 * queued reply is still there iff its position is >= @c low.
 */
struct dlv_ent {
	struct dlv_ckey key;
	uint64_t pos;
	uint64_t tsc;       /* when it was recorded */
	uint32_t len;
	uint16_t chunk;     /* payload bytes per datagram it was cut into */
	uint8_t indexed;    /* 1: findable (an executed block's reply) */
	uint8_t session;    /* the request's session bits: datagrams are sealed */
};

/*
 * Held replies are found through an index of ring slots: open addressing
 * over 8-byte slots, (32 bits of the key's hash << 32) | (ring index + 1),
 * 0 = empty, sized to at least twice the entries (half full at most), with
 * backward-shift deletion. The keys stay in the ring entries (the slot's
 * hash bits reject almost every other key before the entry is read), so
 * the index is a quarter of a table of keys (512 KiB for the default
 * 32 768 entries, which stays in a worker's L2 cache), and a recorded or
 * dropped reply costs one insert or delete in it. Admission consults it
 * only for block ids the window says ran or no longer covers: a new block
 * costs no lookup.
 */
struct dlv_rindex {
	uint32_t mask;      /* slots - 1 */
	uint64_t seed[5];
	uint64_t *slot;
};

struct dlv_cache {
	struct dlv_ent *ent;
	uint32_t cap, head, count;
	uint8_t *arena;
	uint64_t size;      /* arena bytes */
	uint64_t tail;      /* position after the newest entry */
	uint64_t low;       /* position of the oldest byte still held */
	uint64_t resv;      /* position reserved for the next reply */
	/* tail % size and resv % size, kept so that the per-block path
	 * divides by nothing (the arena's size need not be a power of 2) */
	uint64_t tail_off, resv_off;
	uint64_t used;      /* bytes of the entries held */
	struct dlv_rindex index;
};

/* ---- client windows ---- */

#define DLV_WIN_WORDS (SCPP_DELIVERY_WINDOW / 64)

/*
 * A replay window as a ring of bits (RFC 6479): block id i is bit
 * i % SCPP_DELIVERY_WINDOW, valid for the ids (top - WINDOW, top]. Moving
 * the top clears the bits of the ids it passes, so the common step of one
 * id costs two bit operations, not a shift of the whole window.
 */
struct dlv_client {
	struct dlv_ckey key;        /* block_id 0 */
	uint64_t top;               /* highest block id executed */
	uint64_t bits[DLV_WIN_WORDS]; /* bit id % WINDOW: block id executed */
	uint64_t tsc;               /* last request */
	uint32_t prev, next;        /* LRU list (oldest first) or free list */
	uint8_t has_top;
};

struct dlv_clients {
	struct dlv_client *c;
	uint32_t cap, count, lru_head, lru_tail, free_head;
	struct dlv_tab index;
};

/* ---- reassembly (delivery_rx.c) ---- */

struct dlv_slot {
	struct dlv_rkey key;
	struct scpp_net_peer peer;
	uint64_t deadline;
	uint64_t mask;               /* fragments held, bit i = index i */
	uint32_t frag_count;
	uint32_t bytes;              /* datagram bytes of the fragments held */
	uint16_t held;               /* fragments held */
	uint8_t in_use;
	uint8_t has_cookie;
	uint8_t kind;                /* SCPP_WIRE_BLOCK or SCPP_WIRE_FORWARD */
	uint8_t cookie[SCPP_WIRE_COOKIE_LEN];
	uint8_t *buf;                /* max_fragments x frag_max */
	uint16_t len[SCPP_WIRE_FRAGS_MAX];
};

struct dlv_reasm {
	struct dlv_slot *slots;
	uint32_t nslots, nfree, scan, frames;
	uint32_t *free;
	uint16_t frag_max, max_frags;
	uint32_t per_source;
	uint64_t timeout;            /* TSC */
	uint8_t *arena;
	struct dlv_tab index;        /* dlv_rkey -> slot */
	struct dlv_tab sources;      /* source address (8-byte key) -> slots held */
};

/* ---- sending (delivery_tx.c) ---- */

enum dlv_job_kind { DLV_JOB_REPLY, DLV_JOB_NOTICE };

struct dlv_job {
	uint32_t prev, next;         /* per-port list, or free list */
	struct scpp_net_peer to;
	uint64_t client_id, block_id;
	uint64_t pos;                /* REPLY: arena position of the message */
	uint32_t len;                /* REPLY: message bytes */
	uint32_t seq, end;           /* next sequence number, one past the last */
	uint32_t prep;               /* frames in the current burst (tx_prepare) */
	uint32_t nseq;               /* REPLY: datagrams in the whole message */
	uint16_t chunk;              /* REPLY: payload bytes per datagram */
	uint8_t kind;
	uint8_t session;             /* SCPP_DELIVERY_SESSION: sealed datagrams */
	struct scpp_wire_notice notice; /* NOTICE */
};

struct dlv_tx {
	struct dlv_job *job;
	uint32_t cap, count, free_head;
	uint32_t head[SCPP_NET_MAX_PORTS], tail[SCPP_NET_MAX_PORTS];
	uint32_t pending[SCPP_NET_MAX_PORTS]; /* datagrams still to send, per port */
	/* The last prepare: which job built how many of its frames. */
	uint16_t nburst;
	uint16_t burst_port;
	uint32_t burst_job[SCPP_DELIVERY_TX_BURST]; /* job of each frame */
	uint16_t burst_len[SCPP_DELIVERY_TX_BURST]; /* UDP payload bytes of each frame */
};

/* ---- parked requests (delivery_park.c) ---- */

struct dlv_park_slot {
	struct scpp_delivery_req req;
	uint64_t deadline;           /* TSC */
	uint64_t user;               /* the caller's word */
	uint32_t client;             /* client slot of the admission */
	uint32_t next_free;
	uint8_t in_use;
};

struct dlv_park {
	struct dlv_park_slot *slot;
	uint32_t cap, used, free_head, scan;
	uint64_t timeout;            /* TSC */
	struct dlv_tab index;        /* dlv_ckey (with the block id) -> slot */
};

/* ---- error-reply rate limit ---- */

#define DLV_ERR_BUCKETS 1024

struct dlv_bucket {
	uint32_t ip;
	uint64_t tokens;  /* scaled by tsc_hz: one token = tsc_hz */
	uint64_t last;
};

/* ---- the instance ---- */

struct scpp_delivery {
	struct scpp_delivery_conf conf;
	const struct scpp_net *net;
	uint64_t retention;          /* TSC */
	uint64_t period;             /* TSC per cookie period */
	uint16_t frag_max;
	struct dlv_cache cache;
	struct dlv_clients clients;
	struct dlv_reasm reasm;
	struct dlv_tx tx;
	struct dlv_park park;
	struct dlv_bucket err[DLV_ERR_BUCKETS];
	struct dlv_bucket err_total;
	uint64_t err_seed;
	/* Cookie keys of the current and the previous period. */
	uint64_t key_period;
	uint8_t key_now[SCPP_DELIVERY_KEY_LEN], key_prev[SCPP_DELIVERY_KEY_LEN];
	/* Between admit and commit: the client slot the block belongs to
	 * (DLV_NONE after scpp_delivery_admit_read() for a client without a
	 * window), and whether it was admitted as read-only (its reply may go
	 * unrecorded; a window is made only if it is recorded after all). */
	uint32_t pending_client;
	uint64_t pending_block;
	uint8_t pending_read;
	/* Memory, for free. */
	size_t mem_size;
	void *mem;
	struct scpp_delivery_stats st;
};

static inline void
dlv_count(uint64_t *c)
{
	scpp_counter_add(c, 1);
}

/* Gauges other threads read (scpp_delivery_usage_get()): written by the
 * owning worker only, with relaxed stores so that readers see whole values. */
static inline void
dlv_gauge32(uint32_t *g, uint32_t v)
{
	__atomic_store_n(g, v, __ATOMIC_RELAXED);
}

static inline void
dlv_gauge64(uint64_t *g, uint64_t v)
{
	__atomic_store_n(g, v, __ATOMIC_RELAXED);
}

static inline struct dlv_ckey
dlv_ckey_of(const struct scpp_delivery_req *r, uint64_t block_id)
{
	/*
	 * ip, port and session are written as one 8-byte word: the table's
	 * hash and key compare read the key in 8-byte words, and a load that
	 * spans two narrower stores is not forwarded from the store buffer
	 * (it waits for them to retire, once per block in client_find()).
	 */
	uint64_t ip = r->peer.ip, port = r->peer.udp_port,
		 session = r->session & SCPP_DELIVERY_SESSION, w0;
	struct dlv_ckey k;

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	w0 = ip | port << 32 | session << 48;
#else
	w0 = ip << 32 | port << 16 | session;
#endif
	memcpy(&k, &w0, sizeof(w0));
	k.client_id = r->client_id;
	k.block_id = block_id;
	return k;
}

/* Bytes rounded up to the 64-byte alignment every part of an instance has. */
static inline size_t
dlv_al(size_t n)
{
	return (n + 63) & ~(size_t)63;
}

/* Take the next part of @p n bytes from the instance's memory at *@p p. */
static inline void *
dlv_carve(uint8_t **p, size_t n)
{
	void *r = *p;

	*p += dlv_al(n);
	return r;
}

/* Datagrams a message of @p len bytes takes in chunks of @p chunk. */
static inline uint32_t
dlv_nseq(uint32_t len, uint16_t chunk)
{
	return len == 0 ? 1 : (len + chunk - 1) / chunk;
}

/* Tag bytes each datagram of a request's responses carries. */
static inline uint32_t
dlv_tag(uint8_t session)
{
	return (session & SCPP_DELIVERY_SESSION) ? SCPP_WIRE_SESSION_TAG_LEN : 0;
}

/* Reply payload bytes per datagram to a peer on its port. */
static inline uint16_t
dlv_chunk(const struct scpp_delivery *d, const struct scpp_net_peer *to, uint8_t session)
{
	return (uint16_t)(scpp_net_udp_max(d->net, to->port) - SCPP_WIRE_HDR_LEN - dlv_tag(session));
}

/* delivery.c: @p n seed words from the node key and a label. */
void dlv_seed(const struct scpp_delivery *d, const char *label, uint64_t *out, unsigned int n);

/* delivery_cache.c */
size_t dlv_cache_mem(const struct scpp_delivery_conf *c);
void dlv_cache_init(struct scpp_delivery *d, uint8_t **mem);
void dlv_cache_tick(struct scpp_delivery *d, uint64_t now);
bool dlv_cookie_valid(struct scpp_delivery *d, const struct scpp_delivery_req *req,
		      uint64_t now);
void dlv_cookie_make(const struct scpp_delivery *d, uint64_t period, const struct scpp_net_peer *p,
		     uint64_t client_id, uint8_t out[SCPP_WIRE_COOKIE_LEN]);

/* A read-only request's window, made when it must be recorded after all
 * (its reply is held, or it parks); false: every window is live (BUSY). */
bool dlv_pending_window(struct scpp_delivery *d, const struct scpp_delivery_req *req,
			uint64_t now);
/* Hold @p len bytes of a reply to @p t's request, unindexed (not findable:
 * a backlog job's bytes), copied from @p msg; its arena position. */
uint64_t dlv_hold_copy(struct scpp_delivery *d, const struct scpp_delivery_direct *t,
		       const uint8_t *msg, uint64_t now);

/* delivery_park.c */
size_t dlv_park_mem(const struct scpp_delivery_conf *c);
void dlv_park_init(struct scpp_delivery *d, uint8_t **mem);
/* Is (@p req's key) parked? Counted as a duplicate when it is. */
bool dlv_park_holds(struct scpp_delivery *d, const struct scpp_delivery_req *req);
bool dlv_park_conf_valid(const struct scpp_delivery_conf *c);

/* delivery_rx.c */
size_t dlv_reasm_mem(const struct scpp_delivery_conf *c, uint16_t frag_max);
void dlv_reasm_init(struct scpp_delivery *d, uint8_t **mem);
void dlv_reasm_tick(struct scpp_delivery *d, uint64_t now);

/* delivery_tx.c */
size_t dlv_tx_mem(const struct scpp_delivery_conf *c);
void dlv_tx_init(struct scpp_delivery *d, uint8_t **mem);
/* Queue the datagrams [first, first + count) of a held reply; false if the
 * backlog is full (counted). */
bool dlv_tx_reply(struct scpp_delivery *d, const struct scpp_net_peer *to, uint64_t client_id,
		  uint64_t block_id, uint64_t pos, uint32_t len, uint16_t chunk, uint32_t first,
		  uint32_t count, uint8_t session);
bool dlv_tx_notice(struct scpp_delivery *d, const struct scpp_net_peer *to, uint64_t client_id,
		   uint64_t block_id, const struct scpp_wire_notice *n, uint8_t session);
uint32_t dlv_tx_free_jobs(const struct scpp_delivery *d);
/* Build datagram @p seq (@p last: the message's last) of a reply whose
 * bytes for it are @p payload, @p plen, into @p frame; returns its UDP
 * payload bytes. */
uint16_t dlv_build_reply(struct scpp_delivery *d, const struct scpp_net_peer *to,
			 uint64_t client_id, uint64_t block_id, const uint8_t *payload,
			 uint32_t plen, uint32_t seq, bool last, uint8_t session, uint8_t *frame);

/* UDP payload bytes of datagrams [first, first + count) of a message. */
static inline uint64_t
dlv_reply_cost(uint32_t len, uint16_t chunk, uint32_t first, uint32_t count, uint8_t session)
{
	uint32_t nseq = dlv_nseq(len, chunk), end = first + count;
	uint64_t bytes;

	if (first >= nseq)
		return 0;
	if (end > nseq || end < first)
		end = nseq;
	bytes = (uint64_t)(end - first) * (SCPP_WIRE_HDR_LEN + dlv_tag(session) + chunk);
	/* The last datagram may be short. */
	if (end == nseq)
		bytes -= (uint64_t)nseq * chunk - len;
	return bytes;
}

#endif /* DELIVERY_PRIV_H */
