/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The owner's record of the continuations it has taken (scpp_cont.h).
 *
 * Layout: a pool of entries whose indexes never move (a running entry's
 * index is its slot, held by the caller while the part runs), a hash index
 * of pool indexes with linear probing and backward-shift deletion (no
 * tombstones, so probe lengths do not grow with churn), and a FIFO of
 * answered entries. The retention is one constant and time only goes
 * forward, so answers expire in the order they were given: expiry pops the
 * FIFO's head, and costs only what it forgets.
 *
 * Bounds: entries in use never exceed the pool; when it is full a new
 * continuation is refused (SCPP_CONT_FULL) rather than an answer evicted
 * early, because forgetting an answer before its sender stops
 * retransmitting is exactly what at-most-once forbids.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_malloc.h>

#include "scpp_cont.h"

enum { E_FREE = 0, E_RUNNING = 1, E_DONE = 2 };

struct entry {
	struct scpp_cont_key k;
	uint8_t state;
	uint32_t held_len;
	void *held;
	uint64_t expire_ms;
	uint32_t next_free;
};

struct scpp_cont_dedup {
	bool use_rte;
	uint32_t n;            /* pool entries */
	uint32_t mask;         /* index slots - 1 */
	uint32_t retention_ms;
	uint32_t free_head;    /* UINT32_MAX: none */
	uint32_t *index;       /* pool index + 1; 0 = empty */
	struct entry *pool;
	uint32_t *fifo;        /* answered entries, oldest first */
	uint32_t fifo_head, fifo_len;
	uint64_t seed;
	struct scpp_cont_dedup_stats st;
};

#define NONE UINT32_MAX

static void *
zalloc(bool use_rte, size_t n, int socket)
{
	return use_rte ? rte_zmalloc_socket("scpp_cont_dedup", n, 64, socket) : calloc(1, n);
}

static void
zfree(bool use_rte, void *p)
{
	if (use_rte)
		rte_free(p);
	else
		free(p);
}

struct scpp_cont_dedup *
scpp_cont_dedup_create(uint32_t entries, uint32_t retention_ms, int socket, bool use_rte)
{
	struct scpp_cont_dedup *d;
	uint32_t slots = 16;

	if (entries < 16 || entries > (1u << 24) || retention_ms == 0 || retention_ms > 600000) {
		errno = EINVAL;
		return NULL;
	}
	while (slots < 2 * entries)
		slots <<= 1;
	d = zalloc(use_rte, sizeof(*d), socket);
	if (d == NULL)
		goto nomem;
	d->use_rte = use_rte;
	d->n = entries;
	d->mask = slots - 1;
	d->retention_ms = retention_ms;
	d->index = zalloc(use_rte, sizeof(uint32_t) * slots, socket);
	d->pool = zalloc(use_rte, sizeof(struct entry) * entries, socket);
	d->fifo = zalloc(use_rte, sizeof(uint32_t) * entries, socket);
	if (d->index == NULL || d->pool == NULL || d->fifo == NULL) {
		scpp_cont_dedup_free(d);
		goto nomem;
	}
	for (uint32_t i = 0; i < entries; i++)
		d->pool[i].next_free = i + 1 < entries ? i + 1 : NONE;
	d->free_head = 0;
	/* A fixed, per-table seed: senders cannot aim ids at one probe
	 * chain of a table whose seed they do not know. */
	d->seed = scpp_hash_bytes(&d, sizeof(d), UINT64_C(0x636f6e74)) | 1;
	return d;
nomem:
	errno = ENOMEM;
	return NULL;
}

void
scpp_cont_dedup_free(struct scpp_cont_dedup *d)
{
	if (d == NULL)
		return;
	zfree(d->use_rte, d->index);
	zfree(d->use_rte, d->pool);
	zfree(d->use_rte, d->fifo);
	zfree(d->use_rte, d);
}

static uint32_t
key_hash(const struct scpp_cont_dedup *d, const struct scpp_cont_key *k)
{
	uint64_t a[2] = {((uint64_t)k->sender_ip << 32) | k->sender_node, k->cont_id};

	return (uint32_t)scpp_hash_bytes(a, sizeof(a), d->seed);
}

static bool
key_eq(const struct scpp_cont_key *a, const struct scpp_cont_key *b)
{
	return a->sender_ip == b->sender_ip && a->sender_node == b->sender_node &&
	       a->cont_id == b->cont_id;
}

/* The index slot holding @p k, or the empty slot where it would go. */
static uint32_t
find(const struct scpp_cont_dedup *d, const struct scpp_cont_key *k)
{
	uint32_t s = key_hash(d, k) & d->mask;

	/* Half the slots at most are used: the probe ends. */
	while (d->index[s] != 0 && !key_eq(&d->pool[d->index[s] - 1].k, k))
		s = (s + 1) & d->mask;
	return s;
}

/* Remove pool entry @p e from the index: backward-shift deletion. */
static void
unindex(struct scpp_cont_dedup *d, uint32_t e)
{
	uint32_t s = find(d, &d->pool[e].k), j = s;

	d->index[s] = 0;
	for (;;) {
		uint32_t home;

		j = (j + 1) & d->mask;
		if (d->index[j] == 0)
			return;
		home = key_hash(d, &d->pool[d->index[j] - 1].k) & d->mask;
		/* Move j back into the hole unless its home lies cyclically
		 * in (s, j]: then it is already where a probe finds it. */
		if (((j - home) & d->mask) >= ((j - s) & d->mask)) {
			d->index[s] = d->index[j];
			d->index[j] = 0;
			s = j;
		}
	}
}

/* A gauge one thread writes and others read, as scpp_counter_add(). */
static void
gauge_add(uint32_t *g, int32_t n)
{
	__atomic_store_n(g, (uint32_t)((int64_t)__atomic_load_n(g, __ATOMIC_RELAXED) + n),
			 __ATOMIC_RELAXED);
}

static void
release(struct scpp_cont_dedup *d, uint32_t e)
{
	unindex(d, e);
	d->pool[e].state = E_FREE;
	d->pool[e].held = NULL;
	d->pool[e].next_free = d->free_head;
	d->free_head = e;
	gauge_add(&d->st.in_use, -1);
}

enum scpp_cont_seen
scpp_cont_dedup_admit(struct scpp_cont_dedup *d, const struct scpp_cont_key *k,
		      uint64_t now_ms, uint32_t *slot, void **held, uint32_t *held_len)
{
	uint32_t s = find(d, k), e;

	(void)now_ms;
	if (d->index[s] != 0) {
		e = d->index[s] - 1;
		*slot = e;
		if (d->pool[e].state == E_RUNNING) {
			scpp_counter_add(&d->st.dup_running, 1);
			return SCPP_CONT_RUNNING;
		}
		*held = d->pool[e].held;
		*held_len = d->pool[e].held_len;
		scpp_counter_add(&d->st.dup_done, 1);
		return SCPP_CONT_DONE;
	}
	if (d->free_head == NONE) {
		scpp_counter_add(&d->st.full, 1);
		return SCPP_CONT_FULL;
	}
	e = d->free_head;
	d->free_head = d->pool[e].next_free;
	d->pool[e].k = *k;
	d->pool[e].state = E_RUNNING;
	d->pool[e].held = NULL;
	d->pool[e].held_len = 0;
	d->index[s] = e + 1;
	gauge_add(&d->st.in_use, 1);
	scpp_counter_add(&d->st.admitted, 1);
	*slot = e;
	return SCPP_CONT_NEW;
}

int
scpp_cont_dedup_done(struct scpp_cont_dedup *d, uint32_t slot, void *held, uint32_t held_len,
		     uint64_t now_ms)
{
	struct entry *en;

	if (slot >= d->n || d->pool[slot].state != E_RUNNING)
		return -EINVAL;
	en = &d->pool[slot];
	en->state = E_DONE;
	en->held = held;
	en->held_len = held_len;
	en->expire_ms = now_ms + d->retention_ms;
	/* Every answered entry is in the FIFO once, so it never overflows. */
	d->fifo[(d->fifo_head + d->fifo_len) % d->n] = slot;
	d->fifo_len++;
	return 0;
}

int
scpp_cont_dedup_drop(struct scpp_cont_dedup *d, uint32_t slot)
{
	if (slot >= d->n || d->pool[slot].state != E_RUNNING)
		return -EINVAL;
	release(d, slot);
	scpp_counter_add(&d->st.dropped, 1);
	return 0;
}

unsigned int
scpp_cont_dedup_expire(struct scpp_cont_dedup *d, uint64_t now_ms, void **freed, unsigned int n)
{
	unsigned int k = 0;

	while (k < n && d->fifo_len > 0) {
		uint32_t e = d->fifo[d->fifo_head];

		/* The FIFO is in answer order, hence in expiry order: the
		 * first one not due ends the sweep. */
		if (d->pool[e].expire_ms > now_ms)
			break;
		freed[k++] = d->pool[e].held;
		d->fifo_head = (d->fifo_head + 1) % d->n;
		d->fifo_len--;
		release(d, e);
		scpp_counter_add(&d->st.expired, 1);
	}
	return k;
}

void
scpp_cont_dedup_stats(const struct scpp_cont_dedup *d, struct scpp_cont_dedup_stats *out)
{
	out->admitted = scpp_counter_read(&d->st.admitted);
	out->dup_running = scpp_counter_read(&d->st.dup_running);
	out->dup_done = scpp_counter_read(&d->st.dup_done);
	out->full = scpp_counter_read(&d->st.full);
	out->expired = scpp_counter_read(&d->st.expired);
	out->dropped = scpp_counter_read(&d->st.dropped);
	out->in_use = __atomic_load_n(&d->st.in_use, __ATOMIC_RELAXED);
}
