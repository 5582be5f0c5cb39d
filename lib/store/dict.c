/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The attribute dictionary: append-only, lock-free readers.
 *
 * Memory: one block from the provider holding
 *   - recs[max_attrs + 1]: per id, the name's offset, length and hash;
 *   - slots[nslots]: open-addressing index, nslots a power of two >=
 *     2 * max_attrs, so it is at most half full and probes stay short;
 *     a slot holds an id or 0 (empty);
 *   - names: the name bytes, each NUL-terminated.
 *
 * Publication protocol (single writer at a time, under the spinlock):
 *   1. write the name bytes and recs[id];
 *   2. store count = id with release;
 *   3. store slots[i] = id with release.
 * A reader that loads a slot (or count) with acquire and sees the id also
 * sees the record and the bytes of step 1. Slots go from 0 to an id exactly
 * once and nothing is ever moved or freed, so there is nothing to reclaim:
 * no RCU grace periods are needed, and readers never block or retry.
 */

#include <string.h>

#include <rte_errno.h>
#include <rte_pause.h>

#include "store_priv.h"

struct rec {
	uint64_t off;
	uint32_t len;
	uint32_t hash;
};

struct scpp_store_dict {
	struct rec *recs;
	uint32_t *slots;
	char *names;
	uint32_t max_attrs;
	uint32_t mask;       /* nslots - 1 */
	uint32_t count;      /* published ids: 1 .. count (atomic) */
	uint32_t lock;       /* writer spinlock (atomic) */
	uint64_t name_bytes;
	uint64_t name_used;  /* writer only */
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
	memset(&d->recs[0], 0, sizeof(d->recs[0]));
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

static void
wlock(struct scpp_store_dict *d)
{
	/* Acquire on success: the critical section sees the previous
	 * writer's name_used and slots. */
	while (__atomic_exchange_n(&d->lock, 1, __ATOMIC_ACQUIRE) != 0)
		rte_pause();
}

static void
wunlock(struct scpp_store_dict *d)
{
	/* Release: publishes this writer's private fields to the next. */
	__atomic_store_n(&d->lock, 0, __ATOMIC_RELEASE);
}

int64_t
scpp_store_dict_intern(struct scpp_store_dict *d, const char *name, size_t len)
{
	uint32_t h, empty, id;
	struct rec *r;

	if (d == NULL || name == NULL || len == 0 || len > SCPP_STORE_ATTR_NAME_MAX)
		return -EINVAL;
	h = name_hash(name, len);
	id = probe(d, name, len, h, &empty);
	if (id != 0)
		return id;
	wlock(d);
	/* Re-probe under the lock: another writer may have added it. */
	id = probe(d, name, len, h, &empty);
	if (id != 0)
		goto out;
	if (d->count == d->max_attrs || d->name_bytes - d->name_used < len + 1) {
		wunlock(d);
		return -ENOSPC;
	}
	id = d->count + 1;
	r = &d->recs[id];
	r->off = d->name_used;
	r->len = (uint32_t)len;
	r->hash = h;
	memcpy(d->names + r->off, name, len);
	d->names[r->off + len] = '\0';
	d->name_used += len + 1;
	/* Release: the record and bytes above are visible to any thread that
	 * acquires count or the slot. */
	__atomic_store_n(&d->count, id, __ATOMIC_RELEASE);
	__atomic_store_n(&d->slots[empty], id, __ATOMIC_RELEASE);
out:
	wunlock(d);
	return id;
}

const char *
scpp_store_dict_name(const struct scpp_store_dict *d, uint32_t id, size_t *len)
{
	const struct rec *r;

	/* Acquire pairs with the release store of count in intern. */
	if (d == NULL || id == 0 || id > __atomic_load_n(&d->count, __ATOMIC_ACQUIRE))
		return NULL;
	r = &d->recs[id];
	if (len != NULL)
		*len = r->len;
	return d->names + r->off;
}

uint32_t
scpp_store_dict_count(const struct scpp_store_dict *d)
{
	return d == NULL ? 0 : __atomic_load_n(&d->count, __ATOMIC_ACQUIRE);
}
