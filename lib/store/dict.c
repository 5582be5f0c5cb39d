/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The attribute dictionary: append-only, lock-free readers and writers.
 *
 * Memory: one block from the provider holding
 *   - recs[max_attrs + 1]: per id, the name's offset, length and hash, and
 *     a published flag;
 *   - slots[nslots]: open-addressing index, nslots a power of two >=
 *     2 * max_attrs, so it is at most half full and probes stay short;
 *     a slot holds an id or 0 (empty);
 *   - names: the name bytes, each NUL-terminated.
 *
 * Writers (any worker lcore, at the commit of a block that used a new
 * name) take no lock:
 *   1. reserve an id and the name bytes with compare-and-swap loops that
 *      never go past the capacity (a full dictionary answers -ENOSPC and
 *      stays exactly as it was);
 *   2. write the name bytes and recs[id], then set recs[id].live with
 *      release;
 *   3. claim an empty slot on the name's probe path with a CAS from 0 to
 *      id (release). If the CAS loses, the winner's name is compared: the
 *      same name means another writer interned it first, and this id stays
 *      an unpublished hole (never returned, never named); another name
 *      means the probe goes on.
 * A reader that loads a slot (or recs[id].live) with acquire and sees the
 * id also sees the record and the bytes of step 2. Slots go from 0 to an
 * id exactly once and nothing is ever moved or freed, so there is nothing
 * to reclaim: no RCU grace periods are needed, and readers never block or
 * retry. Holes cost one id each and happen only when two lcores intern the
 * same new name at the same moment.
 */

#include <string.h>

#include <rte_errno.h>

#include "store_priv.h"

struct rec {
	uint64_t off;
	uint32_t len;
	uint32_t hash;
	uint32_t live;       /* 1 once published (atomic) */
	uint32_t rsv;
};

struct scpp_store_dict {
	struct rec *recs;
	uint32_t *slots;
	char *names;
	uint32_t max_attrs;
	uint32_t mask;       /* nslots - 1 */
	uint32_t count;      /* names published (atomic) */
	uint32_t next_id;    /* ids handed out: 1 .. next_id (atomic) */
	uint64_t name_bytes;
	uint64_t name_used;  /* name bytes reserved (atomic) */
	/* below: control path only */
	struct scpp_store_mem_ops mem;
	size_t size;
};

static inline uint32_t
name_hash(const char *name, size_t len)
{
	return (uint32_t)scpp_hash_bytes(name, len, 0x5c99);
}

struct scpp_store_dict *
scpp_store_dict_create(const struct scpp_store_dict_config *cfg)
{
	const struct scpp_store_mem_ops *mem;
	struct scpp_store_dict *d;
	uint64_t nslots = 2, size, o_recs, o_slots, o_names;
	uint8_t *p;

	if (cfg == NULL || cfg->max_attrs == 0 || cfg->max_attrs >= (1u << 30) ||
	    cfg->name_bytes == 0) {
		rte_errno = errno = EINVAL;
		return NULL;
	}
	while (nslots < 2 * (uint64_t)cfg->max_attrs)
		nslots <<= 1;
	o_recs = (sizeof(*d) + 63) & ~UINT64_C(63);
	o_slots = o_recs + ((uint64_t)cfg->max_attrs + 1) * sizeof(struct rec);
	o_names = o_slots + nslots * sizeof(uint32_t);
	size = o_names + cfg->name_bytes;
	mem = cfg->mem != NULL ? cfg->mem : &scpp_store_mem_rte;
	p = mem->alloc(mem->ctx, "dict", size, 64, cfg->socket_id);
	if (p == NULL) {
		rte_errno = errno = ENOMEM;
		return NULL;
	}
	d = (struct scpp_store_dict *)(void *)p;
	memset(d, 0, sizeof(*d));
	d->recs = (struct rec *)(void *)(p + o_recs);
	d->slots = (uint32_t *)(void *)(p + o_slots);
	d->names = (char *)(p + o_names);
	memset(d->slots, 0, nslots * sizeof(uint32_t));
	memset(d->recs, 0, ((uint64_t)cfg->max_attrs + 1) * sizeof(struct rec));
	d->max_attrs = cfg->max_attrs;
	d->mask = (uint32_t)(nslots - 1);
	d->name_bytes = cfg->name_bytes;
	d->mem = *mem;
	d->size = size;
	return d;
}

void
scpp_store_dict_free(struct scpp_store_dict *d)
{
	if (d == NULL)
		return;
	d->mem.free(d->mem.ctx, d, d->size);
}

/* Probe for @name; returns the id, or 0 with *@empty set to the free slot. */
static uint32_t
probe(const struct scpp_store_dict *d, const char *name, size_t len, uint32_t h,
      uint32_t *empty)
{
	for (uint32_t i = h & d->mask;; i = (i + 1) & d->mask) {
		/* Acquire pairs with the writer's release store of the slot:
		 * seeing the id means seeing its record and name bytes. */
		uint32_t id = __atomic_load_n(&d->slots[i], __ATOMIC_ACQUIRE);
		const struct rec *r;

		if (id == 0) {
			*empty = i;
			return 0;
		}
		r = &d->recs[id];
		if (r->hash == h && r->len == len &&
		    memcmp(d->names + r->off, name, len) == 0)
			return id;
	}
}

int64_t
scpp_store_dict_lookup(const struct scpp_store_dict *d, const char *name, size_t len)
{
	uint32_t empty, id;

	if (d == NULL || name == NULL || len == 0 || len > SCPP_STORE_ATTR_NAME_MAX)
		return -EINVAL;
	id = probe(d, name, len, name_hash(name, len), &empty);
	return id != 0 ? (int64_t)id : -ENOENT;
}

/* Reserve @n units of *@p below @cap; returns the old value, or UINT64_MAX
 * when they do not fit (nothing reserved). */
static uint64_t
reserve64(uint64_t *p, uint64_t n, uint64_t cap)
{
	uint64_t cur = __atomic_load_n(p, __ATOMIC_RELAXED);

	do {
		if (n > cap - cur)
			return UINT64_MAX;
		/* Relaxed: the reservation orders nothing by itself; the
		 * record is published with release below. */
	} while (!__atomic_compare_exchange_n(p, &cur, cur + n, true, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return cur;
}

static uint32_t
reserve32(uint32_t *p, uint32_t cap)
{
	uint32_t cur = __atomic_load_n(p, __ATOMIC_RELAXED);

	do {
		if (cur >= cap)
			return 0;
	} while (!__atomic_compare_exchange_n(p, &cur, cur + 1, true, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return cur + 1;
}

int64_t
scpp_store_dict_intern(struct scpp_store_dict *d, const char *name, size_t len)
{
	uint32_t h, empty, id, mine;
	uint64_t off;
	struct rec *r;

	if (d == NULL || name == NULL || len == 0 || len > SCPP_STORE_ATTR_NAME_MAX)
		return -EINVAL;
	h = name_hash(name, len);
	id = probe(d, name, len, h, &empty);
	if (id != 0)
		return id;
	/* Bytes first: an id reserved for a name whose bytes do not fit
	 * would be lost. A failed id reservation gives the bytes back only
	 * if nobody reserved after them; otherwise they stay unused (the
	 * dictionary is full of ids then anyway). */
	off = reserve64(&d->name_used, len + 1, d->name_bytes);
	if (off == UINT64_MAX)
		return -ENOSPC;
	mine = reserve32(&d->next_id, d->max_attrs);
	if (mine == 0) {
		uint64_t expect = off + len + 1;

		__atomic_compare_exchange_n(&d->name_used, &expect, off, false, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED);
		return -ENOSPC;
	}
	r = &d->recs[mine];
	r->off = off;
	r->len = (uint32_t)len;
	r->hash = h;
	memcpy(d->names + off, name, len);
	d->names[off + len] = '\0';
	for (uint32_t i = empty;; i = (i + 1) & d->mask) {
		uint32_t cur = 0;

		/* Release on success: a reader that acquires the slot sees
		 * the record and the name bytes written above. Acquire on
		 * failure: we read the winner's record next. */
		if (__atomic_compare_exchange_n(&d->slots[i], &cur, mine, false, __ATOMIC_RELEASE,
						__ATOMIC_ACQUIRE)) {
			/* Release: name() readers that acquire live see it. */
			__atomic_store_n(&r->live, 1, __ATOMIC_RELEASE);
			__atomic_fetch_add(&d->count, 1, __ATOMIC_RELEASE);
			return mine;
		}
		if (cur == 0)
			continue; /* spurious: a strong CAS does not fail so */
		{
			const struct rec *o = &d->recs[cur];

			if (o->hash == h && o->len == len && memcmp(d->names + o->off, name, len) == 0)
				return cur; /* interned by another lcore first */
		}
	}
}

const char *
scpp_store_dict_name(const struct scpp_store_dict *d, uint32_t id, size_t *len)
{
	const struct rec *r;

	if (d == NULL || id == 0 || id > d->max_attrs)
		return NULL;
	r = &d->recs[id];
	/* Acquire pairs with the release store of live in intern. */
	if (__atomic_load_n(&r->live, __ATOMIC_ACQUIRE) == 0)
		return NULL;
	if (len != NULL)
		*len = r->len;
	return d->names + r->off;
}

uint32_t
scpp_store_dict_count(const struct scpp_store_dict *d)
{
	return d == NULL ? 0 : __atomic_load_n(&d->count, __ATOMIC_ACQUIRE);
}
