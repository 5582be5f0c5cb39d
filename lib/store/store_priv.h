/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef STORE_PRIV_H
#define STORE_PRIV_H

/*
 * Private layout of a shard. See docs/STORE.md for the design; the short
 * version:
 *
 * - Entries (48 B) hold one key (OID, attr) and one value cell. Entity
 *   headers are entries with attr 0; their next/prev fields are the head and
 *   tail of the entity's attribute list, threaded through the attribute
 *   entries' next/prev (insertion order, O(1) unlink).
 * - The triple index is an array of 64-byte buckets of 12 slots: a 1-byte
 *   tag per slot (0 = empty) and a 32-bit entry index. Buckets are probed
 *   linearly; a per-bucket overflow count says how many keys whose probe
 *   passed this bucket live further on (F14-style), so a lookup stops at the
 *   first bucket whose count is 0 and deletes need no tombstones.
 * - Map entries (64 B) live in their own pool with their own index of the
 *   same bucket format, keyed by (owner entry index, key value).
 * - Long str/bytes live in extents of a binary buddy allocator over one
 *   arena: classes 32 B << c.
 */

#include <stdint.h>

#include "scpp_store.h"

#define NIL_IDX UINT32_MAX
#define BUCKET_SLOTS 12
#define OVERFLOW_SAT 65535
/* At most SCPP_STORE_PROBE_MAX (64) buckets x 12 slots = 768 keys can pass
 * a bucket, below OVERFLOW_SAT: the 16-bit overflow counts never saturate,
 * so they always decay on delete and no bucket stays "long" forever. */
_Static_assert(SCPP_STORE_PROBE_MAX * BUCKET_SLOTS < OVERFLOW_SAT, "no saturation");

/* Cell kinds. */
enum {
	K_FREE = 0,   /* entry on the free list */
	K_INLINE = 1, /* value inline in the payload */
	K_EXT = 2,    /* str/bytes in an extent */
	K_MAP = 3,    /* map attribute */
	K_ENTITY = 4, /* entity header (attr 0) */
};

struct cell_hdr {
	uint8_t type; /* enum scpp_value_type */
	uint8_t kind; /* K_* */
	uint16_t ilen; /* inline str/bytes length */
};

union payload {
	uint8_t b[16];
	uint64_t u;
	int64_t i;
	double f;
	bool bo;
	struct scpp_oid oid;
	struct {
		uint64_t off;  /* byte offset in the arena */
		uint32_t len;  /* value length */
		uint8_t cls;   /* size class: capacity 32 << cls */
		uint8_t rsv;
		uint16_t pin;  /* pin count */
	} ext;
	struct {
		uint32_t head, tail; /* map entry list, insertion order */
		uint64_t count;
	} map;
	struct {
		uint32_t nattrs;
		uint32_t lnext;  /* live-entity list, creation order */
		uint32_t lprev;
		uint32_t rsv;
	} ent;
};

struct entry {
	struct scpp_oid oid; /* entity */
	uint32_t attr;       /* 0 for the entity header */
	uint32_t next;       /* attr list link; header: head */
	uint32_t prev;       /* attr list link; header: tail */
	struct cell_hdr h;
	union payload v;
};
_Static_assert(sizeof(struct entry) == 48, "entry is 48 bytes");
_Static_assert(offsetof(struct entry, v) == 32, "payload at 32");

struct mentry {
	uint64_t hash;   /* full hash of (owner, key) */
	uint32_t owner;  /* entry index of the map attribute */
	uint32_t next;   /* insertion-order list */
	uint32_t prev;
	struct cell_hdr kh;
	union payload k;
	struct cell_hdr vh;
	uint32_t rsv;
	union payload v;
};
_Static_assert(sizeof(struct mentry) == 64, "map entry is 64 bytes");
_Static_assert(offsetof(struct mentry, k) == 24, "key at 24");
_Static_assert(offsetof(struct mentry, v) == 48, "value at 48");

struct bucket {
	uint8_t tag[BUCKET_SLOTS]; /* 0 = empty slot */
	uint16_t overflow;         /* keys that probed past this bucket */
	uint8_t rsv[2];
	uint32_t idx[BUCKET_SLOTS];
} __attribute__((aligned(64)));
_Static_assert(sizeof(struct bucket) == 64, "bucket is one cache line");

/* One index: buckets plus the counters the stats need. */
struct index {
	struct bucket *bk;
	uint32_t nb;        /* number of buckets (any value >= 1) */
	uint64_t used;      /* occupied slots */
	uint64_t overflowed; /* buckets with overflow != 0 */
};

/* Binary buddy allocator over one arena. */
struct extents {
	uint8_t *base;
	uint64_t size;       /* multiple of the top block */
	unsigned int top;    /* top class */
	uint64_t *bits;      /* free bit per block per class */
	uint64_t bit_base[SCPP_STORE_CLASSES]; /* first bit of each class */
	uint64_t head[SCPP_STORE_CLASSES];     /* free list heads (offsets) */
	uint64_t nfree[SCPP_STORE_CLASSES];
	uint64_t nused[SCPP_STORE_CLASSES];
	uint64_t used_bytes;
	uint64_t payload_bytes;
};

struct region {
	void *p;
	size_t size;
};

enum { R_SHARD, R_BUCKETS, R_ENTRIES, R_MBUCKETS, R_MENTRIES, R_ARENA, R_BITS, R_COUNT };

struct scpp_store {
	/* Hot: read by every lookup. */
	struct bucket *bk;
	struct entry *ent;
	uint32_t nb;
	uint32_t mnb;
	struct bucket *mbk;
	struct mentry *ment;
	uint8_t *arena;
	uint64_t max_value_len;
	uint64_t seed;         /* per-shard hash key (config, or random) */
	uint64_t *probe_ctr;   /* = &probes: written through const lookups */

	/* Allocation state. */
	uint32_t max_entries;
	uint32_t ent_hiwater;  /* entries [0, hiwater) have been handed out */
	uint32_t ent_free;     /* free list head */
	uint32_t ent_used;
	uint32_t max_mentries;
	uint32_t ment_hiwater;
	uint32_t ment_free;
	uint32_t ment_used;
	uint32_t live_head;    /* live-entity list: first and last header */
	uint32_t live_tail;

	struct index idx;
	struct index midx;
	struct extents ex;

	/* Counters (written by the owner with relaxed stores). */
	uint64_t n_entities;
	uint64_t n_triples;
	uint64_t n_maps;
	uint64_t n_mentries;
	uint64_t n_pinned;
	uint64_t probes;       /* index buckets probed past the home bucket */

	/* below: control path only */
	struct scpp_oid_gen gen;
	struct scpp_store_mem_ops mem;
	struct region reg[R_COUNT];
	char name[32];
} __attribute__((aligned(64)));

/* extent.c */
uint64_t ext_bits_size(uint64_t arena, unsigned int top);
void ext_init(struct extents *x, uint8_t *base, uint64_t size, unsigned int top,
	      uint64_t *bits);
unsigned int ext_class(uint64_t len);
int ext_alloc(struct extents *x, unsigned int cls, uint64_t *off);
void ext_free(struct extents *x, uint64_t off, unsigned int cls);
uint64_t ext_largest_free(const struct extents *x);
int ext_fits(const struct extents *x, const uint64_t *len, uint32_t n);

static inline void
stat_set(uint64_t *p, uint64_t v)
{
	/* Relaxed: telemetry may read concurrently; no ordering needed. */
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static inline void
stat_add(uint64_t *p, int64_t d)
{
	stat_set(p, *p + (uint64_t)d);
}

static inline uint64_t
stat_get(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

#endif /* STORE_PRIV_H */
