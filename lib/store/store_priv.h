/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef STORE_PRIV_H
#define STORE_PRIV_H

/*
 * Private layout of a shard. See docs/STORE.md for the design; the short
 * version:
 *
 * - Entries hold one key (OID, attr) and one value cell, split in two
 *   arrays indexed by the same entry index: a 32-byte, 32-byte-aligned hot
 *   part (key, cell header and the 8-byte value of a narrow cell: nil,
 *   bool, i64, u64, f64, str/bytes of at most 8 bytes), which is all a get
 *   of a narrow value touches, and a 24-byte cold part (attribute-list
 *   links and the 16-byte payload of every other cell: OIDs, inline
 *   str/bytes of 9..16 bytes, extents, maps, entity headers). Entity headers are entries with attr 0; their next/prev
 *   fields are the head and tail of the entity's attribute list, threaded
 *   through the attribute entries' next/prev (insertion order, O(1)
 *   unlink). Entries never move: hot and cold of entry x stay at x.
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

#include <stdbool.h>
#include <stdint.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "scpp_store.h"

#define NIL_IDX UINT32_MAX
#define BUCKET_SLOTS 12
#define OVERFLOW_SAT 65535
/* At most SCPP_STORE_PROBE_MAX (128) buckets x 12 slots = 1536 keys can pass
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
	K_DEAD = 5,   /* a detached map awaiting reclaim (graveyard) */
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
		uint32_t seq;    /* creation sequence: the list is in seq order */
	} ent;
};

/* The hot part of an entry: what a get compares and, for a narrow cell,
 * returns. 32 bytes at a 32-byte boundary: never straddles a line. */
struct entry {
	struct scpp_oid oid; /* entity */
	uint32_t attr;       /* 0 for the entity header */
	struct cell_hdr h;
	uint64_t w;          /* narrow cell (cell_narrow()): the value */
} __attribute__((aligned(32)));
_Static_assert(sizeof(struct entry) == 32, "hot entry is 32 bytes");

/* The cold part: list links and the payload of a wide cell. */
struct ecold {
	uint32_t next;       /* attr list link; header: head; free/graveyard link */
	uint32_t prev;       /* attr list link; header: tail */
	union payload v;     /* wide cell (!cell_narrow()): the payload */
};
_Static_assert(sizeof(struct ecold) == 24, "cold entry is 24 bytes");

/* Inline str/bytes of at most this many bytes are narrow: in entry.w. */
#define NARROW_BYTES_MAX 8

/* A narrow cell keeps its value in the hot part (entry.w): an inline
 * scalar, or an inline str/bytes of at most NARROW_BYTES_MAX bytes (its
 * bytes at the start of w, the rest of w zero). Everything else is wide
 * (payload in ecold.v). The width depends only on kind, type and ilen,
 * which change together with the payload: every change of them goes
 * through ent_cell_store() (store.c), which puts the payload where the new
 * header says it is. */
static inline bool
cell_narrow(const struct cell_hdr *h)
{
	return h->kind == K_INLINE && h->type != SCPP_VT_OID &&
	       ((h->type != SCPP_VT_STR && h->type != SCPP_VT_BYTES) || h->ilen <= NARROW_BYTES_MAX);
}

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
	uint64_t changes;   /* inserts + removes (+ clears, resizes: store.c);
			     * the triple index's is the candidates' stamp */
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

/*
 * The value index (vindex.c): for each indexed attribute, value -> the
 * entities whose plain triple of that attribute holds it. A head per
 * (attribute, value) with its members on a list, found through index vh by
 * hash(attribute, value); a member per indexed triple, found through index
 * ve by the triple's own key (entity, attribute), so unlinking one costs
 * O(1) whatever the number of entities sharing the value.
 */
struct vhead {
	uint64_t hash;       /* vhash(attr, value) */
	uint32_t attr;
	uint32_t first;      /* member list (insertion order) */
	uint32_t last;
	uint32_t count;
	uint32_t next_free;
	uint32_t rsv;
};
_Static_assert(sizeof(struct vhead) == 32, "value-index head is 32 bytes");

struct vent {
	struct scpp_oid oid; /* the entity */
	uint32_t attr;
	uint32_t head;
	uint32_t next;       /* member list, or the free list */
	uint32_t prev;
};
_Static_assert(sizeof(struct vent) == 32, "value-index member is 32 bytes");

#define VIX_ATTR_SLOTS (2 * SCPP_STORE_INDEXED_MAX)

struct vix {
	struct vhead *heads;
	struct vent *ents;
	uint32_t max;        /* config.max_indexed (0: no value index) */
	uint32_t head_hi, ent_hi;     /* handed out so far */
	uint32_t head_free, ent_free; /* free lists */
	uint32_t heads_used, ents_used;
	struct index vh;     /* heads by vhash */
	struct index ve;     /* members by key_hash(entity, attr) */
	uint32_t nattr;      /* indexed attributes */
	uint32_t attr_slot[VIX_ATTR_SLOTS]; /* open addressing, 0 = empty */
	uint8_t attr_bad[VIX_ATTR_SLOTS];   /* index dropped: lookups scan */
	uint64_t dropped;    /* attributes whose index was dropped */
};

enum { R_SHARD, R_BUCKETS, R_ENTRIES, R_COLD, R_MBUCKETS, R_MENTRIES, R_ARENA, R_BITS, R_VHEADS,
       R_VENTS, R_VHBK, R_VEBK, R_COUNT };

struct scpp_store {
	/* Hot: read by every lookup. */
	struct bucket *bk;
	struct entry *ent;     /* hot parts */
	struct ecold *cold;    /* cold parts, same index */
	uint32_t nb;
	uint32_t mnb;
	struct bucket *mbk;
	struct mentry *ment;
	uint8_t *arena;
	uint64_t max_value_len;
	uint64_t seed;         /* per-shard hash key (config, or random) */
	uint64_t *probe_ctr;   /* = &probes: written through const lookups */
	uint64_t *cand_ctr;    /* = &cand_fallbacks: the same */

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
	uint32_t ent_seq;      /* last creation sequence handed out */
	/* Detached maps (graveyard, linked through ecold.next): those of the
	 * current block (LIFO: revive pops the head) and sealed ones, which
	 * reclaim frees entry by entry, oldest first. */
	uint32_t grave_new;
	uint32_t grave_new_tail;
	uint32_t grave_old;
	uint32_t grave_old_tail;
	uint64_t grave_entries;  /* map entries held by the graveyard */
	uint64_t grave_maps;

	struct index idx;
	struct index midx;
	struct extents ex;
	struct vix vix;

	/* Counters (written by the owner with relaxed stores). */
	uint64_t n_entities;
	uint64_t n_triples;
	uint64_t n_maps;
	uint64_t n_mentries;
	uint64_t n_pinned;
	uint64_t probes;       /* index buckets probed past the home bucket */
	uint64_t cand_fallbacks; /* stale candidates (scpp_store_get_cand()) */

	/* below: control path only */
	struct scpp_oid_gen gen;
	struct scpp_store_mem_ops mem;
	struct region reg[R_COUNT];
	char name[32];
} __attribute__((aligned(64)));

/* Bucket helpers shared by the triple, map and value indexes. */
static inline uint32_t
home_bucket(uint64_t h, uint32_t nb)
{
	return (uint32_t)(((h >> 32) * (uint64_t)nb) >> 32);
}

static inline uint8_t
tag_of(uint64_t h)
{
	uint8_t t = (uint8_t)h;

	return t != 0 ? t : 1;
}

static inline uint32_t
next_bucket(uint32_t b, uint32_t nb)
{
	return b + 1 == nb ? 0 : b + 1;
}

/* Bit i set iff slot i holds @tag (tag 0: iff slot i is empty). */
static inline unsigned int
tag_match(const struct bucket *b, uint8_t tag)
{
#ifdef __SSE2__
	__m128i t = _mm_load_si128((const __m128i *)(const void *)b->tag);
	__m128i k = _mm_set1_epi8((char)tag);

	return (unsigned int)_mm_movemask_epi8(_mm_cmpeq_epi8(t, k)) &
	       ((1u << BUCKET_SLOTS) - 1);
#else
	unsigned int m = 0;

	for (unsigned int i = 0; i < BUCKET_SLOTS; i++)
		m |= (unsigned int)(b->tag[i] == tag) << i;
	return m;
#endif
}

/* The index core (store.c): every index (triples, map entries, the value
 * index's heads and members) is buckets of this one format. */
bool store_index_has_room(const struct index *ix, uint64_t h);
void store_index_insert(struct index *ix, uint64_t h, uint32_t x);
void store_index_remove(struct index *ix, uint64_t h, uint32_t x);

/* vindex.c. Every triple change of an indexed attribute calls vix_unlink()
 * before and vix_link() after; both are no-ops for other attributes. */
uint64_t store_key_hash(const struct scpp_store *s, struct scpp_oid oid, uint32_t attr);
uint32_t store_find(const struct scpp_store *s, uint64_t h, struct scpp_oid oid, uint32_t attr);
void store_entry_value(const struct scpp_store *s, uint32_t x, struct scpp_value *out);
void vix_reset(struct scpp_store *s);
bool vix_on(const struct scpp_store *s, uint32_t attr);
void vix_link_slow(struct scpp_store *s, uint32_t x);
void vix_unlink_slow(struct scpp_store *s, uint32_t x);

/* Inline: a shard with no indexed attribute pays one test per write. */
static inline void
vix_link(struct scpp_store *s, uint32_t x)
{
	if (SCPP_UNLIKELY(s->vix.nattr != 0))
		vix_link_slow(s, x);
}

static inline void
vix_unlink(struct scpp_store *s, uint32_t x)
{
	if (SCPP_UNLIKELY(s->vix.nattr != 0))
		vix_unlink_slow(s, x);
}

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
