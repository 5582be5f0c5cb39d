/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Delivery: the at-most-once reply cache and BLOCK reassembly, one of each
 * per worker (single-threaded, no locks; all memory allocated at start).
 *
 * Reply cache. Key (client_id, block_id) -> the complete REPLY message
 * bytes. Entries live in a FIFO ring of `delivery.reply_cache_entries`
 * slots; the bytes live in a log-structured arena addressed by monotonic
 * 64-bit positions (arena offset = pos % size). A new reply is appended at
 * `tail` (skipping to the next wrap when it would straddle the end), and
 * the oldest entries are evicted while their bytes would be overwritten or
 * while the ring is full. Because entries and bytes are allocated in the
 * same order, "evict the oldest while its position is older than
 * new_end - arena_size" is exact: no younger entry can overlap the new
 * bytes while an older one does not. Eviction is therefore FIFO (oldest
 * executed block first), O(1) amortised, and both the number of replies
 * and the bytes are bounded. A reply larger than a quarter of the arena is
 * not kept; its key is, so a retransmission is answered with a status
 * (EALREADY) instead of a second execution. The cache is at the worker
 * that owns the block (routing is deterministic, so a retransmission
 * reaches the same owner).
 *
 * Reassembly. A message in reassembly occupies one slot with room for
 * max_fragments x frag_max bytes (frag_max = MTU - IPv4 - UDP - scpp
 * header): fragment i is copied to offset i x frag_max, and the payloads are
 * compacted in place (memmove towards the front) when the last one
 * arrives. Slots are found by an rte_hash on (client, block). Limits: the
 * number of slots (overflow: the fragment is dropped and counted), a
 * timeout (an incremental scan of SCPPD_REASM_SCAN slots per loop
 * iteration frees expired slots), an identical duplicate is ignored, a
 * fragment that disagrees (other frag_count, other bytes for an index
 * already held) discards the whole message.
 */

#include <string.h>

#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "scppd.h"

struct cache_key {
	uint64_t client_id;
	uint64_t block_id;
};

static struct rte_hash *
hash_create(const char *name, uint32_t entries, int socket)
{
	struct rte_hash_parameters p = {
		.name = name,
		/* Twice the live entries: a table kept 100 % full sends every
		 * insert through rte_hash's slow free-slot search (44 % of a
		 * single-get block's cycles in the perf suite). The extendable
		 * bucket table still guarantees an insert never fails. */
		.entries = RTE_MAX(2 * entries, 8u),
		.key_len = sizeof(struct cache_key),
		.hash_func = rte_hash_crc,
		.socket_id = socket,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};

	return rte_hash_create(&p);
}

int
scppd_cache_init(struct scppd_cache *c, const char *name, uint32_t entries, int socket)
{
	memset(c, 0, sizeof(*c));
	c->cap = entries;
	/* Bytes bound: 2 KiB per entry (a typical reply is one datagram),
	 * at least 1 MiB so that large results are usually kept, at most
	 * 256 MiB. docs/OPERATIONS.md documents the rule. */
	c->arena_size = RTE_MIN(RTE_MAX((uint64_t)entries * 2048, UINT64_C(1) << 20),
				UINT64_C(256) << 20);
	c->index = hash_create(name, entries, socket);
	c->ent = rte_zmalloc_socket("scppd_cache_ent", sizeof(*c->ent) * entries,
				    RTE_CACHE_LINE_SIZE, socket);
	c->arena = rte_malloc_socket("scppd_cache_arena", c->arena_size, RTE_CACHE_LINE_SIZE,
				     socket);
	if (c->index == NULL || c->ent == NULL || c->arena == NULL) {
		scppd_cache_free(c);
		return -ENOMEM;
	}
	return 0;
}

void
scppd_cache_free(struct scppd_cache *c)
{
	rte_hash_free(c->index);
	rte_free(c->ent);
	rte_free(c->arena);
	memset(c, 0, sizeof(*c));
}

const struct scppd_cache_ent *
scppd_cache_lookup(const struct scppd_cache *c, uint64_t client_id, uint64_t block_id)
{
	struct cache_key k = {client_id, block_id};
	void *data;

	if (rte_hash_lookup_data(c->index, &k, &data) < 0)
		return NULL;
	return &c->ent[(uint32_t)(uintptr_t)data];
}

const uint8_t *
scppd_cache_bytes(const struct scppd_cache *c, const struct scppd_cache_ent *e)
{
	return c->arena + e->pos % c->arena_size;
}

static void
cache_evict_oldest(struct scppd_cache *c, struct scppd_stats *st)
{
	struct scppd_cache_ent *e = &c->ent[c->head];
	struct cache_key k = {e->client_id, e->block_id};

	rte_hash_del_key(c->index, &k);
	c->head = (c->head + 1) % c->cap;
	c->count--;
	st->cache_evictions++;
}

void
scppd_cache_insert(struct scppd_cache *c, uint64_t client_id, uint64_t block_id,
		   const uint8_t *msg, uint32_t len, struct scppd_stats *st)
{
	struct cache_key k = {client_id, block_id};
	struct scppd_cache_ent *e;
	uint64_t pos = c->tail, off;
	uint32_t idx;
	bool big = len > c->arena_size / 4;

	if (c->count == c->cap)
		cache_evict_oldest(c, st);
	if (!big) {
		off = pos % c->arena_size;
		if (off + len > c->arena_size)
			pos += c->arena_size - off; /* never straddle the end */
		/* Evict what the bytes [pos, pos + len) would overwrite: every
		 * entry starting before pos + len - arena_size. */
		while (c->count > 0 && pos + len > c->arena_size &&
		       c->ent[c->head].pos < pos + len - c->arena_size)
			cache_evict_oldest(c, st);
		memcpy(c->arena + pos % c->arena_size, msg, len);
		c->tail = pos + len;
	} else {
		st->cache_uncached++;
	}
	idx = (c->head + c->count) % c->cap;
	e = &c->ent[idx];
	e->client_id = client_id;
	e->block_id = block_id;
	e->pos = pos;
	e->len = big ? 0 : len;
	e->big = big;
	c->count++;
	/* Cannot fail: the table holds at most cap keys and was sized for
	 * them with an extendable bucket table. A duplicate key (impossible:
	 * the caller looked it up first) would simply be updated. */
	rte_hash_add_key_data(c->index, &k, (void *)(uintptr_t)idx);
}

int
scppd_reasm_init(struct scppd_reasm *r, const char *name, uint32_t slots, uint16_t max_frags,
		 uint32_t frag_max, uint64_t timeout, int socket)
{
	uint64_t per = (uint64_t)max_frags * frag_max;
	uint32_t i;

	memset(r, 0, sizeof(*r));
	r->nslots = slots;
	r->max_frags = max_frags;
	r->frag_max = frag_max;
	r->timeout = timeout;
	r->index = hash_create(name, slots, socket);
	r->slots = rte_zmalloc_socket("scppd_reasm", sizeof(*r->slots) * slots,
				      RTE_CACHE_LINE_SIZE, socket);
	r->free = rte_malloc_socket("scppd_reasm_free", sizeof(*r->free) * slots, 0, socket);
	r->arena = rte_malloc_socket("scppd_reasm_arena", per * slots, RTE_CACHE_LINE_SIZE,
				     socket);
	if (r->index == NULL || r->slots == NULL || r->free == NULL || r->arena == NULL) {
		scppd_reasm_free(r);
		return -ENOMEM;
	}
	for (i = 0; i < slots; i++) {
		r->slots[i].buf = r->arena + per * i;
		r->free[r->nfree++] = slots - 1 - i;
	}
	return 0;
}

void
scppd_reasm_free(struct scppd_reasm *r)
{
	rte_hash_free(r->index);
	rte_free(r->slots);
	rte_free(r->free);
	rte_free(r->arena);
	memset(r, 0, sizeof(*r));
}

void
scppd_reasm_release(struct scppd_reasm *r, int slot)
{
	struct scppd_reasm_slot *s = &r->slots[slot];
	struct cache_key k = {s->client_id, s->block_id};

	rte_hash_del_key(r->index, &k);
	s->in_use = 0;
	r->free[r->nfree++] = (uint32_t)slot;
}

/*
 * Add one fragment. Returns the slot number when the message is complete
 * (its bytes compacted at the start of slots[slot].buf, *msg_len set; the
 * caller releases the slot), or -1 when the fragment was kept, ignored or
 * dropped (counted here).
 */
int
scppd_reasm_add(struct scppd_reasm *r, const struct scpp_wire_hdr *h,
		const struct scppd_meta *m, uint64_t now, struct scppd_stats *st,
		uint32_t *msg_len)
{
	struct cache_key k = {h->client_id, h->block_id};
	struct scppd_reasm_slot *s;
	uint32_t i, off;
	uint8_t *dst;
	void *data;
	int slot;

	if (unlikely(h->frag_count > r->max_frags || h->payload_len > r->frag_max)) {
		st->drops[SCPPD_DROP_FRAG_LIMIT]++;
		return -1;
	}
	if (rte_hash_lookup_data(r->index, &k, &data) >= 0) {
		slot = (int)(uintptr_t)data;
		s = &r->slots[slot];
	} else {
		if (unlikely(r->nfree == 0)) {
			st->drops[SCPPD_DROP_REASM_OVERFLOW]++;
			return -1;
		}
		slot = (int)r->free[--r->nfree];
		s = &r->slots[slot];
		s->client_id = h->client_id;
		s->block_id = h->block_id;
		s->frag_count = h->frag_count;
		s->mask = 0;
		s->deadline = now + r->timeout;
		s->in_use = 1;
		rte_hash_add_key_data(r->index, &k, (void *)(uintptr_t)slot);
		st->reasm_started++;
	}
	if (unlikely(s->frag_count != h->frag_count)) {
		st->drops[SCPPD_DROP_REASM_MISMATCH]++;
		scppd_reasm_release(r, slot);
		return -1;
	}
	dst = s->buf + (size_t)h->frag_index * r->frag_max;
	if (s->mask & (UINT64_C(1) << h->frag_index)) {
		if (s->len[h->frag_index] == h->payload_len &&
		    memcmp(dst, h->payload, h->payload_len) == 0) {
			st->drops[SCPPD_DROP_REASM_DUP]++;
			return -1;
		}
		st->drops[SCPPD_DROP_REASM_MISMATCH]++;
		scppd_reasm_release(r, slot);
		return -1;
	}
	memcpy(dst, h->payload, h->payload_len);
	s->len[h->frag_index] = h->payload_len;
	s->mask |= UINT64_C(1) << h->frag_index;
	s->meta = *m;
	if (s->mask != (h->frag_count == 64 ? UINT64_MAX : (UINT64_C(1) << h->frag_count) - 1))
		return -1;
	/* Complete: compact. Fragment i sits at i * frag_max >= off, so each
	 * move goes towards the front and never clobbers a later fragment. */
	for (i = 0, off = 0; i < s->frag_count; i++) {
		if (off != i * r->frag_max)
			memmove(s->buf + off, s->buf + (size_t)i * r->frag_max, s->len[i]);
		off += s->len[i];
	}
	*msg_len = off;
	st->reasm_done++;
	return slot;
}

void
scppd_reasm_expire(struct scppd_reasm *r, uint64_t now, struct scppd_stats *st)
{
	unsigned int n;

	if (r->nfree == r->nslots)
		return;
	for (n = 0; n < SCPPD_REASM_SCAN; n++) {
		struct scppd_reasm_slot *s = &r->slots[r->scan];

		if (s->in_use && (int64_t)(now - s->deadline) > 0) {
			st->drops[SCPPD_DROP_REASM_TIMEOUT]++;
			scppd_reasm_release(r, (int)r->scan);
		}
		if (++r->scan == r->nslots)
			r->scan = 0;
	}
}
