/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The shard: entity/triple table, map entries, byte strings.
 *
 * Index design (docs/STORE.md has the numbers): a bucket is one 64-byte
 * line with 12 slots, a 1-byte tag per slot and a 32-bit entry index. The
 * home bucket is picked by "fastrange" over the high 32 hash bits (so the
 * bucket count need not be a power of two: the triple index is sized to
 * 60 % slot load at max_entries, the map and value indexes to 85 %), the
 * tag is the low 8 bits (0 remapped to 1, since 0 marks an empty slot). A
 * lookup touches one bucket line and, on a tag hit, the entry's 32-byte
 * hot part (one line); only a wide value (OID, str, bytes) also reads the
 * entry's cold part. rte_hash's bulk lookup touches
 * two bucket lines and a key line.
 *
 * Collisions spill to the next bucket, linear probing at bucket
 * granularity. Each bucket counts the keys whose insertion probed past it
 * (16 bits, which SCPP_STORE_PROBE_MAX keeps from saturating; F14's scheme);
 * a lookup stops at the first bucket with count 0, so misses are as cheap
 * as hits and deletes need no tombstones: they walk the same probe path
 * and decrement the counts.
 *
 * Atomicity: every mutation first acquires everything it can fail on
 * (entry, map entry, extent), and only then changes the table, so an error
 * return always leaves the shard untouched. The index can never be full
 * when an entry is free (it has >= max_entries / 0.60 slots).
 */

#include <string.h>
#include <errno.h>

#include <rte_errno.h>
#include <rte_prefetch.h>

#include <sys/random.h>

#include <rte_cycles.h>

#include "store_priv.h"

/*
 * Occupied slots per bucket at max_entries, times 10. The triple index runs
 * at 60 % (12 slots * 0.60): at 85 % a quarter of its buckets overflowed,
 * and a burst of 32 gets nearly always held a key whose home bucket had no
 * candidate, so the burst paid a third dependent miss (the spill stage);
 * at 60 % one bucket in 40 overflows, for 2.9 more bytes per triple
 * (perf/RESULTS.md, "Store", "Lower triple-index load"). The map and
 * value indexes stay at 85 % (12 slots * 0.85).
 */
#define TRIPLE_SLOTS_PER_BUCKET_X10 72
#define SLOTS_PER_BUCKET_AT_MAX_LOAD_X10 102

/* ------------------------------------------------------------- hashing */

/*
 * Both hashes are keyed by the shard's seed (config.hash_seed, or random
 * at creation): which keys share a bucket is unknown to a client, so it
 * cannot build long probe chains on purpose (and SCPP_STORE_PROBE_MAX bounds them
 * anyway). The seed enters before the finaliser, which is a bijection, so
 * distinct inputs never collide in all 64 bits for integer keys.
 */
static inline uint64_t
key_hash(const struct scpp_store *s, struct scpp_oid oid, uint32_t attr);

uint64_t
store_key_hash(const struct scpp_store *s, struct scpp_oid oid, uint32_t attr)
{
	return key_hash(s, oid, attr);
}

static inline uint64_t
key_hash(const struct scpp_store *s, struct scpp_oid oid, uint32_t attr)
{
	uint64_t h = oid.hi * UINT64_C(0x9e3779b97f4a7c15) ^ oid.lo;

	h ^= (uint64_t)attr * UINT64_C(0xc2b2ae3d27d4eb4f);
	return scpp_hash_mix64(h ^ s->seed);
}

static inline uint64_t
map_hash(const struct scpp_store *s, uint32_t owner, const struct scpp_value *key)
{
	return scpp_hash_mix64(scpp_value_hash_seeded(key, s->seed) ^
			       ((uint64_t)owner + 1) * UINT64_C(0x9e3779b97f4a7c15));
}

/* --------------------------------------------------------- index core */

static inline bool
entry_match(const struct entry *e, struct scpp_oid oid, uint32_t attr)
{
	return e->attr == attr && e->oid.lo == oid.lo && e->oid.hi == oid.hi;
}

/*
 * The single-item lookup every path uses: finish the probe for a key whose
 * first bucket @b has already been tag-matched into @m. Returns the entry
 * index or NIL_IDX.
 */
static inline uint32_t
find_from(const struct scpp_store *s, uint32_t b, unsigned int m,
	  uint8_t tag, struct scpp_oid oid, uint32_t attr)
{
	for (unsigned int left = SCPP_STORE_PROBE_MAX;;) {
		const struct bucket *bk = &s->bk[b];

		while (m != 0) {
			uint32_t x = bk->idx[__builtin_ctz(m)];

			if (entry_match(&s->ent[x], oid, attr))
				return x;
			m &= m - 1;
		}
		/* No key lives more than SCPP_STORE_PROBE_MAX buckets from its home. */
		if (bk->overflow == 0 || --left == 0)
			return NIL_IDX;
		/* Each further bucket is work a client caused: counted, and
		 * the evaluator charges it as a step. */
		(*s->probe_ctr)++;
		b = next_bucket(b, s->nb);
		m = tag_match(&s->bk[b], tag);
	}
}

static inline uint32_t
find(const struct scpp_store *s, uint64_t h, struct scpp_oid oid, uint32_t attr)
{
	uint32_t b = home_bucket(h, s->nb);
	uint8_t tag = tag_of(h);

	return find_from(s, b, tag_match(&s->bk[b], tag), tag, oid, attr);
}

uint32_t
store_find(const struct scpp_store *s, uint64_t h, struct scpp_oid oid, uint32_t attr)
{
	return find(s, h, oid, attr);
}

/* Is there a free slot within SCPP_STORE_PROBE_MAX buckets of @h's home? Checked
 * before a mutation acquires anything, so store_index_insert() cannot fail. */
bool
store_index_has_room(const struct index *ix, uint64_t h)
{
	uint32_t b = home_bucket(h, ix->nb);

	for (unsigned int i = 0; i < SCPP_STORE_PROBE_MAX && i < ix->nb; i++) {
		if (tag_match(&ix->bk[b], 0) != 0)
			return true;
		b = next_bucket(b, ix->nb);
	}
	return false;
}

/* Insert entry index @x with hash @h; a free slot always exists. */
void
store_index_insert(struct index *ix, uint64_t h, uint32_t x)
{
	uint32_t b = home_bucket(h, ix->nb);

	for (unsigned int left = SCPP_STORE_PROBE_MAX;; left--) {
		struct bucket *bk = &ix->bk[b];
		unsigned int m = tag_match(bk, 0);

		SCPP_VERIFY(left > 0); /* store_index_has_room() said yes */

		if (m != 0) {
			unsigned int i = (unsigned int)__builtin_ctz(m);

			bk->idx[i] = x;
			bk->tag[i] = tag_of(h);
			ix->used++;
			ix->changes++;
			return;
		}
		if (bk->overflow == 0)
			ix->overflowed++;
		if (bk->overflow != OVERFLOW_SAT)
			bk->overflow++;
		b = next_bucket(b, ix->nb);
	}
}

/* Remove entry index @x (hash @h) from the index; it must be there. */
void
store_index_remove(struct index *ix, uint64_t h, uint32_t x)
{
	uint32_t b = home_bucket(h, ix->nb);
	uint32_t home = b;
	uint8_t tag = tag_of(h);

	for (;;) {
		struct bucket *bk = &ix->bk[b];
		unsigned int m = tag_match(bk, tag);

		while (m != 0) {
			unsigned int i = (unsigned int)__builtin_ctz(m);

			if (bk->idx[i] == x) {
				bk->tag[i] = 0;
				ix->used--;
				ix->changes++;
				goto found;
			}
			m &= m - 1;
		}
		SCPP_VERIFY(bk->overflow != 0);
		b = next_bucket(b, ix->nb);
	}
found:
	/* Undo the overflow counts the insertion left on its probe path. */
	for (uint32_t p = home; p != b; p = next_bucket(p, ix->nb)) {
		struct bucket *bk = &ix->bk[p];

		if (bk->overflow == OVERFLOW_SAT)
			continue;
		if (--bk->overflow == 0)
			ix->overflowed--;
	}
}

/* ------------------------------------------------------- entry pools */

static inline uint32_t
ent_free_count(const struct scpp_store *s)
{
	return s->max_entries - s->ent_used;
}

static uint32_t
ent_take(struct scpp_store *s)
{
	uint32_t x;

	if (s->ent_free != NIL_IDX) {
		x = s->ent_free;
		s->ent_free = s->cold[x].next;
	} else {
		SCPP_VERIFY(s->ent_hiwater < s->max_entries);
		x = s->ent_hiwater++;
	}
	s->ent_used++;
	return x;
}

/* The index ent_take() will return next (there must be a free entry). */
static uint32_t
ent_peek(const struct scpp_store *s)
{
	return s->ent_free != NIL_IDX ? s->ent_free : s->ent_hiwater;
}

static void
ent_put(struct scpp_store *s, uint32_t x)
{
	struct entry *e = &s->ent[x];
	struct ecold *ec = &s->cold[x];

	e->h.kind = K_FREE;
	e->attr = 0;
	e->oid = SCPP_OID_NIL;
	ec->next = s->ent_free;
	s->ent_free = x;
	s->ent_used--;
}

static uint32_t
ment_take(struct scpp_store *s)
{
	uint32_t x;

	if (s->ment_free != NIL_IDX) {
		x = s->ment_free;
		s->ment_free = s->ment[x].next;
	} else {
		SCPP_VERIFY(s->ment_hiwater < s->max_mentries);
		x = s->ment_hiwater++;
	}
	s->ment_used++;
	return x;
}

static void
ment_put(struct scpp_store *s, uint32_t x)
{
	struct mentry *m = &s->ment[x];

	m->kh.kind = K_FREE;
	m->owner = NIL_IDX;
	m->next = s->ment_free;
	s->ment_free = x;
	s->ment_used--;
}

/* --------------------------------------------------------------- cells */

static inline bool
is_bytes_type(uint8_t t)
{
	return t == SCPP_VT_STR || t == SCPP_VT_BYTES;
}

static inline void
cell_value(const struct scpp_store *s, const struct cell_hdr *h,
	   const union payload *p, struct scpp_value *out)
{
	out->type = h->type;
	out->len = 0;
	switch (h->kind) {
	case K_INLINE:
		if (is_bytes_type(h->type)) {
			out->len = h->ilen;
			out->p = p->b;
		} else {
			memcpy(&out->oid, p->b, sizeof(out->oid));
		}
		break;
	case K_EXT:
		out->len = p->ext.len;
		out->p = s->arena + p->ext.off;
		break;
	default:
		out->type = SCPP_VT_NIL;
		out->u = 0;
		break;
	}
}

static int
check_value(const struct scpp_store *s, const struct scpp_value *v)
{
	if (v == NULL || v->type >= SCPP_VT_COUNT)
		return -EINVAL;
	if (is_bytes_type(v->type)) {
		if (v->len > s->max_value_len)
			return -E2BIG;
		if (v->len > 0 && v->p == NULL)
			return -EINVAL;
	}
	return 0;
}

static inline uint64_t
cell_need(const struct scpp_value *v)
{
	return is_bytes_type(v->type) && v->len > SCPP_STORE_INLINE_MAX ? v->len : 0;
}

static void
ext_put(struct scpp_store *s, const union payload *p)
{
	s->ex.payload_bytes -= p->ext.len;
	ext_free(&s->ex, p->ext.off, p->ext.cls);
}

/* Release whatever the cell owns (an extent). */
static void
cell_release(struct scpp_store *s, struct cell_hdr *h, union payload *p)
{
	if (h->kind == K_EXT)
		ext_put(s, p);
	h->kind = K_INLINE;
}

/*
 * Build a new cell for type @type, length @len, data @src (NULL: zeros) or,
 * for fixed-size types, from @v. Allocates an extent if needed. On error
 * nothing changed.
 */
static int
cell_build(struct scpp_store *s, uint8_t type, uint64_t len, const void *src,
	   const struct scpp_value *v, struct cell_hdr *h, union payload *p)
{
	memset(p, 0, sizeof(*p));
	h->type = type;
	h->ilen = 0;
	if (!is_bytes_type(type)) {
		h->kind = K_INLINE;
		memcpy(p->b, &v->oid, sizeof(v->oid));
		if (type == SCPP_VT_BOOL) {
			p->u = 0;
			p->bo = v->b;
		} else if (type != SCPP_VT_OID) {
			memset(p->b + 8, 0, 8);
		}
		if (type == SCPP_VT_NIL)
			p->u = 0;
		return 0;
	}
	if (len <= SCPP_STORE_INLINE_MAX) {
		h->kind = K_INLINE;
		h->ilen = (uint16_t)len;
		if (src != NULL && len > 0)
			memmove(p->b, src, len);
		return 0;
	}
	{
		unsigned int cls = ext_class(len);
		uint64_t off;
		int rc = ext_alloc(&s->ex, cls, &off);

		if (rc != 0)
			return rc;
		h->kind = K_EXT;
		p->ext.off = off;
		p->ext.len = (uint32_t)len;
		p->ext.cls = (uint8_t)cls;
		p->ext.pin = 0;
		if (src != NULL)
			memcpy(s->arena + off, src, len);
		else
			memset(s->arena + off, 0, len);
		s->ex.payload_bytes += len;
	}
	return 0;
}

/*
 * Replace cell (@h, @p) with a value. Reuses the old extent in place when
 * the new data fits its class and uses more than a quarter of it, so
 * repeated sets of similar sizes never touch the allocator.
 */
static int
cell_replace(struct scpp_store *s, struct cell_hdr *h, union payload *p,
	     uint8_t type, uint64_t len, const void *src,
	     const struct scpp_value *v)
{
	struct cell_hdr nh;
	union payload np;
	int rc;

	if (h->kind == K_EXT && is_bytes_type(type) &&
	    len > SCPP_STORE_INLINE_MAX) {
		uint64_t cap = (uint64_t)SCPP_STORE_EXTENT_MIN << p->ext.cls;

		if (len <= cap && len * 4 > cap) {
			uint8_t *d = s->arena + p->ext.off;

			if (src != NULL)
				memmove(d, src, len);
			else
				memset(d, 0, len);
			s->ex.payload_bytes += len - (uint64_t)p->ext.len;
			p->ext.len = (uint32_t)len;
			h->type = type;
			return 0;
		}
	}
	/* Build first (src may point into the old extent), then release. */
	rc = cell_build(s, type, len, src, v, &nh, &np);
	if (rc != 0)
		return rc;
	cell_release(s, h, p);
	*h = nh;
	*p = np;
	return 0;
}

/*
 * The cell of entry @x as a (header, 16-byte payload) pair, and back: a
 * narrow cell's value lives in the hot part, any other payload in the cold
 * part (store_priv.h). Every change of an entry's cell that can change its
 * width goes through these two.
 */
static inline void
ent_cell_load(const struct scpp_store *s, uint32_t x, struct cell_hdr *h, union payload *p)
{
	*h = s->ent[x].h;
	if (cell_narrow(h)) {
		memset(p, 0, sizeof(*p));
		p->u = s->ent[x].w;
	} else {
		*p = s->cold[x].v;
	}
}

static inline void
ent_cell_store(struct scpp_store *s, uint32_t x, const struct cell_hdr *h,
	       const union payload *p)
{
	s->ent[x].h = *h;
	if (cell_narrow(h))
		s->ent[x].w = p->u;
	else
		s->cold[x].v = *p;
}

/* The value of narrow hot entry @e: a scalar copied out, or a short
 * str/bytes borrowed from e->w. A scalar's ilen is 0 (cell_build()), so
 * len needs no test of the type. */
static inline __attribute__((always_inline)) void
narrow_value(const struct entry *e, struct scpp_value *out)
{
	out->type = e->h.type;
	out->len = e->h.ilen;
	out->oid.lo = 0; /* the union's second 8 bytes; u and p are its first */
	if (is_bytes_type(e->h.type))
		out->p = (const uint8_t *)&e->w;
	else
		out->u = e->w;
}

/* The value of entry @x (borrowed pointers into the hot or cold part or
 * the arena). */
static inline void
ent_value(const struct scpp_store *s, uint32_t x, struct scpp_value *out)
{
	const struct entry *e = &s->ent[x];

	if (cell_narrow(&e->h)) {
		narrow_value(e, out);
		return;
	}
	cell_value(s, &e->h, &s->cold[x].v, out);
}

void
store_entry_value(const struct scpp_store *s, uint32_t x, struct scpp_value *out)
{
	ent_value(s, x, out);
}

/* cell_replace() on entry @x. */
static int
ent_replace(struct scpp_store *s, uint32_t x, uint8_t type, uint64_t len, const void *src,
	    const struct scpp_value *v)
{
	struct cell_hdr h;
	union payload p;
	int rc;

	ent_cell_load(s, x, &h, &p);
	rc = cell_replace(s, &h, &p, type, len, src, v);
	if (rc == 0)
		ent_cell_store(s, x, &h, &p);
	return rc;
}

/* ------------------------------------------------------------ lifecycle */

/* A hash key nobody outside can predict: the kernel's random source, or
 * (where getrandom is unavailable) the TSC mixed with an address. */
static uint64_t
boot_seed(const void *salt)
{
	uint64_t v = 0;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v))
		v = rte_rdtsc() ^ (uint64_t)(uintptr_t)salt;
	v = scpp_hash_mix64(v);
	return v != 0 ? v : 1;
}

void
scpp_store_config_init(struct scpp_store_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->socket_id = -1;
	cfg->max_entries = 1u << 20;
	cfg->max_map_entries = 1u << 20;
	cfg->extent_bytes = UINT64_C(64) << 20;
	cfg->max_value_len = SCPP_STORE_VALUE_LEN_DEFAULT;
	cfg->oid_epoch = 1;
}

struct layout {
	uint32_t nb, mnb, vnb;
	uint64_t arena;
	unsigned int top;
	uint64_t size[R_COUNT];
};

/* Buckets for @n keys at @x10 / 10 occupied slots per bucket. */
static uint32_t
buckets_at(uint32_t n, unsigned int x10)
{
	uint64_t nb = ((uint64_t)n * 10 + x10 - 1) / x10;

	return nb == 0 ? 1 : (uint32_t)nb;
}

static int
layout_of(const struct scpp_store_config *cfg, struct layout *l)
{
	uint64_t topsz;

	if (cfg == NULL || cfg->max_entries == 0 || cfg->max_entries >= (1u << 31) ||
	    cfg->max_map_entries >= (1u << 31) || cfg->max_value_len == 0 ||
	    cfg->max_value_len > UINT32_MAX || cfg->oid_epoch == 0 ||
	    cfg->oid_epoch > SCPP_OID_EPOCH_MAX ||
	    cfg->extent_bytes > (UINT64_C(1) << 42) || cfg->max_indexed >= (1u << 31))
		return -EINVAL;
	memset(l, 0, sizeof(*l));
	l->nb = buckets_at(cfg->max_entries, TRIPLE_SLOTS_PER_BUCKET_X10);
	l->mnb = buckets_at(cfg->max_map_entries, SLOTS_PER_BUCKET_AT_MAX_LOAD_X10);
	/* The top class holds max_value_len; a smaller arena caps it. */
	l->top = ext_class(cfg->max_value_len);
	if (cfg->extent_bytes > 0 && cfg->extent_bytes < ((uint64_t)SCPP_STORE_EXTENT_MIN << l->top))
		l->top = ext_class(cfg->extent_bytes);
	topsz = (uint64_t)SCPP_STORE_EXTENT_MIN << l->top;
	l->arena = (cfg->extent_bytes + topsz - 1) / topsz * topsz;
	l->size[R_SHARD] = sizeof(struct scpp_store);
	l->size[R_BUCKETS] = (uint64_t)l->nb * sizeof(struct bucket);
	l->size[R_ENTRIES] = (uint64_t)cfg->max_entries * sizeof(struct entry);
	l->size[R_COLD] = (uint64_t)cfg->max_entries * sizeof(struct ecold);
	l->size[R_MBUCKETS] = (uint64_t)l->mnb * sizeof(struct bucket);
	l->size[R_MENTRIES] = (uint64_t)cfg->max_map_entries * sizeof(struct mentry);
	l->size[R_ARENA] = l->arena;
	l->size[R_BITS] = l->arena > 0 ? ext_bits_size(l->arena, l->top) : 0;
	if (cfg->max_indexed > 0) {
		l->vnb = buckets_at(cfg->max_indexed, SLOTS_PER_BUCKET_AT_MAX_LOAD_X10);
		l->size[R_VHEADS] = (uint64_t)cfg->max_indexed * sizeof(struct vhead);
		l->size[R_VENTS] = (uint64_t)cfg->max_indexed * sizeof(struct vent);
		l->size[R_VHBK] = (uint64_t)l->vnb * sizeof(struct bucket);
		l->size[R_VEBK] = (uint64_t)l->vnb * sizeof(struct bucket);
	}
	return 0;
}

uint64_t
scpp_store_mem_size(const struct scpp_store_config *cfg)
{
	struct layout l;
	uint64_t sum = 0;

	if (layout_of(cfg, &l) != 0)
		return 0;
	for (int r = 0; r < R_COUNT; r++)
		sum += l.size[r];
	return sum;
}

static void
reset(struct scpp_store *s)
{
	memset(s->bk, 0, (size_t)s->nb * sizeof(struct bucket));
	memset(s->mbk, 0, (size_t)s->mnb * sizeof(struct bucket));
	s->ent_hiwater = 0;
	s->ent_free = NIL_IDX;
	s->ent_used = 0;
	s->ment_hiwater = 0;
	s->ment_free = NIL_IDX;
	s->ment_used = 0;
	s->live_head = s->live_tail = NIL_IDX;
	s->ent_seq = 0;
	s->grave_new = s->grave_new_tail = s->grave_old = s->grave_old_tail = NIL_IDX;
	s->grave_entries = s->grave_maps = 0;
	vix_reset(s);
	s->idx.used = 0;
	s->idx.overflowed = 0;
	/* Counted on, not zeroed: a candidate taken before the clear must
	 * not match the emptied index's stamp. */
	s->idx.changes++;
	s->midx.used = 0;
	s->midx.overflowed = 0;
	ext_init(&s->ex, s->arena, s->reg[R_ARENA].size, s->ex.top,
		 (uint64_t *)s->reg[R_BITS].p);
	stat_set(&s->n_entities, 0);
	stat_set(&s->n_triples, 0);
	stat_set(&s->n_maps, 0);
	stat_set(&s->n_mentries, 0);
	stat_set(&s->n_pinned, 0);
}

static const char *const region_name[R_COUNT] = {
	"shard", "buckets", "entries", "cold", "mbuckets", "mentries", "arena", "bits",
	"vheads", "vents", "vhbuckets", "vebuckets",
};

struct scpp_store *
scpp_store_create(const struct scpp_store_config *cfg)
{
	const struct scpp_store_mem_ops *mem;
	struct region reg[R_COUNT];
	struct scpp_store *s;
	struct layout l;
	int err = ENOMEM;
	int r;

	memset(reg, 0, sizeof(reg));
	if (layout_of(cfg, &l) != 0) {
		rte_errno = errno = EINVAL;
		return NULL;
	}
	mem = cfg->mem != NULL ? cfg->mem : &scpp_store_mem_rte;
	for (r = 0; r < R_COUNT; r++) {
		if (l.size[r] == 0)
			continue;
		reg[r].size = l.size[r];
		reg[r].p = mem->alloc(mem->ctx, region_name[r], l.size[r], 64,
				      cfg->socket_id);
		if (reg[r].p == NULL)
			goto err_free;
	}
	s = reg[R_SHARD].p;
	memset(s, 0, sizeof(*s));
	memcpy(s->reg, reg, sizeof(reg));
	s->mem = *mem;
	if (cfg->name != NULL)
		snprintf(s->name, sizeof(s->name), "%s", cfg->name);
	s->bk = reg[R_BUCKETS].p;
	s->nb = l.nb;
	s->ent = reg[R_ENTRIES].p;
	s->cold = reg[R_COLD].p;
	s->max_entries = cfg->max_entries;
	s->mbk = reg[R_MBUCKETS].p;
	s->mnb = l.mnb;
	s->ment = reg[R_MENTRIES].p;
	s->max_mentries = cfg->max_map_entries;
	s->arena = reg[R_ARENA].p;
	s->max_value_len = cfg->max_value_len;
	s->seed = cfg->hash_seed != 0 ? cfg->hash_seed : boot_seed(s);
	s->probe_ctr = &s->probes;
	s->cand_ctr = &s->cand_fallbacks;
	s->idx.bk = s->bk;
	s->idx.nb = s->nb;
	s->vix.max = cfg->max_indexed;
	s->vix.heads = reg[R_VHEADS].p;
	s->vix.ents = reg[R_VENTS].p;
	s->vix.vh.bk = reg[R_VHBK].p;
	s->vix.vh.nb = l.vnb;
	s->vix.ve.bk = reg[R_VEBK].p;
	s->vix.ve.nb = l.vnb;
	s->midx.bk = s->mbk;
	s->midx.nb = s->mnb;
	s->ex.top = l.top;
	if (scpp_oid_gen_init(&s->gen, cfg->oid_locale, cfg->oid_node,
			      cfg->oid_shard, cfg->oid_epoch) != 0) {
		err = EINVAL;
		goto err_free;
	}
	reset(s);
	return s;

err_free:
	rte_errno = errno = err;
	for (r = R_COUNT - 1; r >= 0; r--)
		if (reg[r].p != NULL)
			mem->free(mem->ctx, reg[r].p, reg[r].size);
	return NULL;
}

void
scpp_store_free(struct scpp_store *s)
{
	struct scpp_store_mem_ops mem;
	struct region reg[R_COUNT];

	if (s == NULL)
		return;
	mem = s->mem;
	memcpy(reg, s->reg, sizeof(reg));
	/* The shard struct is region 0: free it last. */
	for (int r = R_COUNT - 1; r >= 0; r--)
		if (reg[r].p != NULL)
			mem.free(mem.ctx, reg[r].p, reg[r].size);
}

int
scpp_store_clear(struct scpp_store *s)
{
	if (s == NULL)
		return -EINVAL;
	if (s->n_pinned != 0)
		return -EBUSY;
	reset(s);
	return 0;
}

void
scpp_store_mem_region(const struct scpp_store *s, void **base, size_t *len)
{
	*base = s->arena;
	*len = s->reg[R_ARENA].size;
}

void
scpp_store_stats_get(const struct scpp_store *s, struct scpp_store_stats *st)
{
	double sat;

	memset(st, 0, sizeof(*st));
	st->entities = stat_get(&s->n_entities);
	st->triples = stat_get(&s->n_triples);
	st->maps = stat_get(&s->n_maps);
	st->map_entries = stat_get(&s->n_mentries);
	st->entries_max = s->max_entries;
	st->map_entries_max = s->max_mentries;
	st->buckets = s->nb;
	st->map_buckets = s->mnb;
	st->load_factor = (double)stat_get(&s->idx.used) / ((double)s->nb * BUCKET_SLOTS);
	st->map_load_factor = (double)stat_get(&s->midx.used) / ((double)s->mnb * BUCKET_SLOTS);
	st->overflow_buckets = stat_get(&s->idx.overflowed);
	st->map_overflow_buckets = stat_get(&s->midx.overflowed);
	st->extent_bytes = s->ex.size;
	st->extent_used = stat_get(&s->ex.used_bytes);
	st->extent_payload = stat_get(&s->ex.payload_bytes);
	st->extent_largest_free = ext_largest_free(&s->ex);
	for (unsigned int c = 0; c < SCPP_STORE_CLASSES; c++) {
		st->class_count[c] = stat_get(&s->ex.nused[c]);
		st->class_free[c] = stat_get(&s->ex.nfree[c]);
	}
	st->pinned = stat_get(&s->n_pinned);
	st->indexed_attrs = s->vix.nattr;
	st->index_members = s->vix.ents_used;
	st->index_max = s->vix.max;
	st->index_dropped = s->vix.dropped;
	st->graveyard_maps = s->grave_maps;
	st->graveyard_entries = s->grave_entries;
	for (int r = 0; r < R_COUNT; r++)
		st->mem_bytes += s->reg[r].size;
	sat = (double)(st->entities + st->triples) / (double)s->max_entries;
	if (s->max_mentries > 0)
		sat = SCPP_MAX(sat, (double)st->map_entries / s->max_mentries);
	if (s->ex.size > 0)
		sat = SCPP_MAX(sat, (double)st->extent_used / (double)s->ex.size);
	st->saturation = sat;
}

int
scpp_store_fits(const struct scpp_store *s, const struct scpp_store_need *need)
{
	if (s == NULL || need == NULL || (need->n_extents > 0 && need->extent_len == NULL))
		return -EINVAL;
	for (uint32_t i = 0; i < need->n_extents; i++)
		if (need->extent_len[i] > s->max_value_len)
			return -E2BIG;
	if (need->entries > ent_free_count(s) ||
	    need->map_entries > (uint64_t)(s->max_mentries - s->ment_used))
		return -ENOSPC;
	return ext_fits(&s->ex, need->extent_len, need->n_extents);
}

/* ------------------------------------------------------------- entities */

static inline uint32_t
find_entity(const struct scpp_store *s, struct scpp_oid oid)
{
	return find(s, key_hash(s, oid, SCPP_STORE_ATTR_NONE), oid, SCPP_STORE_ATTR_NONE);
}

/*
 * The live-entity list: every entity header, in creation order (an undo
 * re-creates a deleted entity at its old place, after @after). Scans walk
 * it, so their cost is the number of entities, not of pool slots.
 * @after: the header to insert after, or NIL_IDX for the head.
 */
static uint64_t reclaim_some(struct scpp_store *s);

static void
live_link(struct scpp_store *s, uint32_t x, uint32_t after)
{
	struct ecold *ec = &s->cold[x];
	uint32_t nx;

	nx = after == NIL_IDX ? s->live_head : s->cold[after].v.ent.lnext;
	ec->v.ent.lprev = after;
	ec->v.ent.lnext = nx;
	if (after == NIL_IDX)
		s->live_head = x;
	else
		s->cold[after].v.ent.lnext = x;
	if (nx == NIL_IDX)
		s->live_tail = x;
	else
		s->cold[nx].v.ent.lprev = x;
}

static void
live_unlink(struct scpp_store *s, uint32_t x)
{
	const struct ecold *ec = &s->cold[x];

	if (ec->v.ent.lprev == NIL_IDX)
		s->live_head = ec->v.ent.lnext;
	else
		s->cold[ec->v.ent.lprev].v.ent.lnext = ec->v.ent.lnext;
	if (ec->v.ent.lnext == NIL_IDX)
		s->live_tail = ec->v.ent.lprev;
	else
		s->cold[ec->v.ent.lnext].v.ent.lprev = ec->v.ent.lprev;
}

/* Give every entity a new sequence number in list order (after 2^32
 * creations on one shard; a pass over the live list). */
static void
renumber(struct scpp_store *s)
{
	uint32_t n = 0;

	for (uint32_t x = s->live_head; x != NIL_IDX; x = s->cold[x].v.ent.lnext)
		s->cold[x].v.ent.seq = ++n;
	s->ent_seq = n;
}

static int
entity_create_at(struct scpp_store *s, struct scpp_oid oid, uint32_t after, uint32_t seq)
{
	uint64_t h = key_hash(s, oid, SCPP_STORE_ATTR_NONE);
	struct entry *e;
	struct ecold *ec;
	uint32_t x;

	if (scpp_oid_is_nil(oid))
		return -EINVAL;
	if (find(s, h, oid, SCPP_STORE_ATTR_NONE) != NIL_IDX)
		return -EEXIST;
	if (ent_free_count(s) == 0)
		reclaim_some(s);
	if (ent_free_count(s) == 0 || !store_index_has_room(&s->idx, h))
		return -ENOSPC;
	x = ent_take(s);
	e = &s->ent[x];
	ec = &s->cold[x];
	e->oid = oid;
	e->attr = SCPP_STORE_ATTR_NONE;
	e->w = 0;
	ec->next = NIL_IDX;
	ec->prev = NIL_IDX;
	e->h.type = SCPP_VT_NIL;
	e->h.kind = K_ENTITY;
	e->h.ilen = 0;
	memset(&ec->v, 0, sizeof(ec->v));
	if (seq == 0) {
		if (SCPP_UNLIKELY(s->ent_seq == UINT32_MAX))
			renumber(s);
		seq = ++s->ent_seq;
	}
	ec->v.ent.seq = seq;
	live_link(s, x, after);
	store_index_insert(&s->idx, h, x);
	stat_add(&s->n_entities, 1);
	return 0;
}

int
scpp_store_entity_create(struct scpp_store *s, struct scpp_oid oid)
{
	if (s == NULL)
		return -EINVAL;
	return entity_create_at(s, oid, s->live_tail, 0);
}

int
scpp_store_entity_prev(const struct scpp_store *s, struct scpp_oid oid, struct scpp_oid *prev)
{
	uint32_t x, p;

	if (s == NULL || prev == NULL)
		return -EINVAL;
	x = find_entity(s, oid);
	if (x == NIL_IDX)
		return -ENOENT;
	p = s->cold[x].v.ent.lprev;
	*prev = p == NIL_IDX ? SCPP_OID_NIL : s->ent[p].oid;
	return 0;
}

int
scpp_store_entity_create_after(struct scpp_store *s, struct scpp_oid oid, struct scpp_oid prev,
			       uint32_t seq)
{
	uint32_t p;

	if (s == NULL)
		return -EINVAL;
	if (scpp_oid_is_nil(prev))
		return entity_create_at(s, oid, NIL_IDX, seq);
	p = find_entity(s, prev);
	if (p == NIL_IDX)
		return -ENOENT;
	return entity_create_at(s, oid, p, seq);
}

uint32_t
scpp_store_entity_seq(const struct scpp_store *s, struct scpp_oid oid)
{
	uint32_t x = s != NULL ? find_entity(s, oid) : NIL_IDX;

	return x == NIL_IDX ? 0 : s->cold[x].v.ent.seq;
}

int
scpp_store_entity_mint(struct scpp_store *s, struct scpp_oid *out)
{
	struct scpp_oid_gen g;
	struct scpp_oid oid;
	int rc;

	if (s == NULL || out == NULL)
		return -EINVAL;
	if (ent_free_count(s) == 0)
		reclaim_some(s);
	if (ent_free_count(s) == 0)
		return -ENOSPC;
	/* Mint on a copy: a failed create must not consume a counter. */
	g = s->gen;
	rc = scpp_oid_gen_next(&g, &oid);
	if (rc != 0)
		return rc;
	rc = scpp_store_entity_create(s, oid);
	if (rc != 0)
		return rc;
	s->gen = g;
	*out = oid;
	return 0;
}

const uint64_t *
scpp_store_probe_counter(const struct scpp_store *s)
{
	return s->probe_ctr;
}

bool
scpp_store_entity_exists(const struct scpp_store *s, struct scpp_oid oid)
{
	return s != NULL && find_entity(s, oid) != NIL_IDX;
}

int64_t
scpp_store_entity_count(const struct scpp_store *s, struct scpp_oid oid)
{
	uint32_t x;

	if (s == NULL)
		return -EINVAL;
	x = find_entity(s, oid);
	if (x == NIL_IDX)
		return -ENOENT;
	return (int64_t)s->cold[x].v.ent.nattrs;
}

static inline bool
entry_pinned(const struct scpp_store *s, uint32_t x)
{
	return s->ent[x].h.kind == K_EXT && s->cold[x].v.ext.pin != 0;
}

/* Remove every entry of map @owner. */
static void
map_clear(struct scpp_store *s, uint32_t owner)
{
	struct ecold *oc = &s->cold[owner];
	uint32_t m = oc->v.map.head;

	while (m != NIL_IDX) {
		struct mentry *me = &s->ment[m];
		uint32_t nx = me->next;

		if (nx != NIL_IDX)
			rte_prefetch0(&s->ment[nx]);
		store_index_remove(&s->midx, me->hash, m);
		cell_release(s, &me->kh, &me->k);
		cell_release(s, &me->vh, &me->v);
		ment_put(s, m);
		m = nx;
	}
	stat_add(&s->n_mentries, -(int64_t)oc->v.map.count);
	oc->v.map.head = oc->v.map.tail = NIL_IDX;
	oc->v.map.count = 0;
}

/* ---- the graveyard: maps deleted in O(1), freed incrementally ---- */

/* Free up to @budget entries of sealed detached maps, oldest map first;
 * a map whose entries are all gone frees its own entry. */
static uint64_t
reclaim(struct scpp_store *s, uint64_t budget)
{
	uint64_t done = 0;

	while (done < budget && s->grave_old != NIL_IDX) {
		uint32_t x = s->grave_old;
		struct ecold *oc = &s->cold[x];
		uint32_t m = oc->v.map.head;

		if (m == NIL_IDX) {
			s->grave_old = oc->next;
			if (s->grave_old == NIL_IDX)
				s->grave_old_tail = NIL_IDX;
			ent_put(s, x);
			s->grave_maps--;
			done++;
			continue;
		}
		{
			struct mentry *me = &s->ment[m];

			oc->v.map.head = me->next;
			store_index_remove(&s->midx, me->hash, m);
			cell_release(s, &me->kh, &me->k);
			cell_release(s, &me->vh, &me->v);
			ment_put(s, m);
			oc->v.map.count--;
			s->grave_entries--;
			stat_add(&s->n_mentries, -1);
			done++;
		}
	}
	return done;
}

/* On demand, when a pool or the arena is short: a bounded batch. */
static uint64_t
reclaim_some(struct scpp_store *s)
{
	return s->grave_old == NIL_IDX ? 0 : reclaim(s, SCPP_STORE_RECLAIM_BATCH);
}

uint64_t
scpp_store_reclaim(struct scpp_store *s, uint64_t budget)
{
	return s == NULL ? 0 : reclaim(s, budget);
}

uint64_t
scpp_store_end_block(struct scpp_store *s, uint64_t budget)
{
	if (s == NULL || (s->grave_new == NIL_IDX && s->grave_old == NIL_IDX))
		return 0; /* every block pays this test, nothing more */
	scpp_store_seal(s);
	return reclaim(s, budget);
}

void
scpp_store_seal(struct scpp_store *s)
{
	if (s == NULL || s->grave_new == NIL_IDX)
		return;
	/* Append this block's detached maps to the sealed list. */
	if (s->grave_old == NIL_IDX)
		s->grave_old = s->grave_new;
	else
		s->cold[s->grave_old_tail].next = s->grave_new;
	s->grave_old_tail = s->grave_new_tail;
	s->grave_new = s->grave_new_tail = NIL_IDX;
}

int
scpp_store_map_detach(struct scpp_store *s, struct scpp_oid oid, uint32_t attr, uint32_t *token)
{
	uint64_t h;
	uint32_t x, hx;
	struct ecold *ec, *hc;
	struct entry *e;

	if (s == NULL || token == NULL || attr == SCPP_STORE_ATTR_NONE)
		return -EINVAL;
	h = key_hash(s, oid, attr);
	x = find(s, h, oid, attr);
	if (x == NIL_IDX)
		return -ENOENT;
	e = &s->ent[x];
	ec = &s->cold[x];
	if (e->h.kind != K_MAP)
		return -EMEDIUMTYPE;
	hx = find_entity(s, oid);
	SCPP_VERIFY(hx != NIL_IDX);
	hc = &s->cold[hx];
	/* Out of the entity and the index: gone for every lookup now. */
	if (ec->prev != NIL_IDX)
		s->cold[ec->prev].next = ec->next;
	else
		hc->next = ec->next;
	if (ec->next != NIL_IDX)
		s->cold[ec->next].prev = ec->prev;
	else
		hc->prev = ec->prev;
	hc->v.ent.nattrs--;
	store_index_remove(&s->idx, h, x);
	e->h.kind = K_DEAD;
	/* LIFO on the block's list: an undo revives the newest first. */
	ec->next = s->grave_new;
	ec->prev = NIL_IDX;
	if (s->grave_new == NIL_IDX)
		s->grave_new_tail = x;
	s->grave_new = x;
	s->grave_maps++;
	s->grave_entries += ec->v.map.count;
	stat_add(&s->n_maps, -1);
	stat_add(&s->n_triples, -1);
	*token = x;
	return 0;
}

int
scpp_store_map_revive(struct scpp_store *s, uint32_t token)
{
	struct ecold *ec, *hc;
	struct entry *e;
	uint32_t hx;
	uint64_t h;

	if (s == NULL || token != s->grave_new)
		return -EINVAL; /* only the newest unsealed detach can come back */
	e = &s->ent[token];
	ec = &s->cold[token];
	hx = find_entity(s, e->oid);
	if (hx == NIL_IDX)
		return -ENOENT;
	h = key_hash(s, e->oid, e->attr);
	if (find(s, h, e->oid, e->attr) != NIL_IDX)
		return -EEXIST;
	if (!store_index_has_room(&s->idx, h))
		return -ENOSPC;
	s->grave_new = ec->next;
	if (s->grave_new == NIL_IDX)
		s->grave_new_tail = NIL_IDX;
	s->grave_maps--;
	s->grave_entries -= ec->v.map.count;
	e->h.kind = K_MAP;
	hc = &s->cold[hx];
	ec->next = NIL_IDX;
	ec->prev = hc->prev;
	if (hc->prev != NIL_IDX)
		s->cold[hc->prev].next = token;
	else
		hc->next = token;
	hc->prev = token;
	hc->v.ent.nattrs++;
	store_index_insert(&s->idx, h, token);
	stat_add(&s->n_maps, 1);
	stat_add(&s->n_triples, 1);
	return 0;
}

/* Unlink and free attribute entry @x of entity header @hx. */
static void
attr_remove(struct scpp_store *s, uint32_t hx, uint32_t x)
{
	struct ecold *hc = &s->cold[hx];
	struct entry *e = &s->ent[x];
	struct ecold *ec = &s->cold[x];

	if (e->h.kind == K_MAP) {
		map_clear(s, x);
		stat_add(&s->n_maps, -1);
	}
	vix_unlink(s, x);
	cell_release(s, &e->h, &ec->v);
	if (ec->prev != NIL_IDX)
		s->cold[ec->prev].next = ec->next;
	else
		hc->next = ec->next;
	if (ec->next != NIL_IDX)
		s->cold[ec->next].prev = ec->prev;
	else
		hc->prev = ec->prev;
	hc->v.ent.nattrs--;
	store_index_remove(&s->idx, key_hash(s, e->oid, e->attr), x);
	ent_put(s, x);
	stat_add(&s->n_triples, -1);
}

int
scpp_store_entity_delete(struct scpp_store *s, struct scpp_oid oid)
{
	uint32_t hx, x;

	if (s == NULL)
		return -EINVAL;
	hx = find_entity(s, oid);
	if (hx == NIL_IDX)
		return -ENOENT;
	/* Check every pin first: the delete is all or nothing. */
	for (x = s->cold[hx].next; x != NIL_IDX; x = s->cold[x].next)
		if (entry_pinned(s, x))
			return -EBUSY;
	while ((x = s->cold[hx].next) != NIL_IDX)
		attr_remove(s, hx, x);
	live_unlink(s, hx);
	store_index_remove(&s->idx, key_hash(s, oid, SCPP_STORE_ATTR_NONE), hx);
	ent_put(s, hx);
	stat_add(&s->n_entities, -1);
	return 0;
}

int
scpp_store_entity_iter(const struct scpp_store *s, uint64_t *cursor,
		       struct scpp_oid *out, unsigned int n)
{
	unsigned int k = 0;
	uint32_t x;

	if (s == NULL || cursor == NULL || (out == NULL && n > 0))
		return -EINVAL;
	if (*cursor == UINT64_MAX)
		return 0;
	/* Walk the live list: every step is an entity, so a scan costs what
	 * it returns. The cursor names the next header (index + 1). */
	if (*cursor == 0) {
		x = s->live_head;
	} else {
		x = (uint32_t)(*cursor - 1);
		if (*cursor - 1 >= s->ent_hiwater || s->ent[x].h.kind != K_ENTITY)
			return -ESTALE;
	}
	for (; x != NIL_IDX && k < n; x = s->cold[x].v.ent.lnext)
		out[k++] = s->ent[x].oid;
	*cursor = x == NIL_IDX ? UINT64_MAX : (uint64_t)x + 1;
	return (int)k;
}

int
scpp_store_attr_iter(const struct scpp_store *s, struct scpp_oid oid,
		     uint64_t *cursor, struct scpp_store_attr *out, unsigned int n)
{
	uint32_t hx, x;
	unsigned int k = 0;

	if (s == NULL || cursor == NULL || (out == NULL && n > 0))
		return -EINVAL;
	hx = find_entity(s, oid);
	if (hx == NIL_IDX)
		return -ENOENT;
	if (*cursor == UINT64_MAX)
		return 0;
	x = *cursor == 0 ? s->cold[hx].next : (uint32_t)(*cursor - 1);
	for (; x != NIL_IDX && k < n; k++) {
		const struct entry *e = &s->ent[x];
		const struct ecold *ec = &s->cold[x];

		out[k].attr = e->attr;
		out[k].is_map = e->h.kind == K_MAP;
		out[k].map_count = e->h.kind == K_MAP ? ec->v.map.count : 0;
		ent_value(s, x, &out[k].value);
		x = ec->next;
	}
	*cursor = x == NIL_IDX ? UINT64_MAX : (uint64_t)x + 1;
	return (int)k;
}

/* -------------------------------------------------------------- triples */

/* Copy out a plain value; map attributes and headers are not values. */
static inline int
entry_value(const struct scpp_store *s, uint32_t x, struct scpp_value *out)
{
	if (SCPP_UNLIKELY(s->ent[x].h.kind == K_MAP))
		return -EMEDIUMTYPE;
	ent_value(s, x, out);
	return 0;
}

/* The single get of a key whose hash is @h, the whole probe. The OID
 * comes as two words: as a struct argument GCC packs it into a vector
 * register through the stack, in the caller's straight line too. */
static __attribute__((noinline)) int
get_slow(const struct scpp_store *s, uint64_t h, uint64_t lo, uint64_t hi, uint32_t attr,
	 struct scpp_value *out)
{
	struct scpp_oid oid = { .lo = lo, .hi = hi };
	uint32_t x = find(s, h, oid, attr);

	if (x == NIL_IDX)
		return -ENOENT;
	return entry_value(s, x, out);
}

/* The single get: the usual case (the home bucket's first candidate is the
 * key and holds a narrow value) in a straight line that needs no saved
 * registers; every other case in get_slow(), which probes again from the
 * home bucket (same result, same probe count: this path never leaves it). */
static inline __attribute__((always_inline)) int
get_one(const struct scpp_store *s, uint64_t h, struct scpp_oid oid, uint32_t attr,
	struct scpp_value *out)
{
	const struct bucket *bk = &s->bk[home_bucket(h, s->nb)];
	unsigned int m = tag_match(bk, tag_of(h));

	if (SCPP_LIKELY(m != 0)) {
		const struct entry *e = &s->ent[bk->idx[__builtin_ctz(m)]];

		if (SCPP_LIKELY(entry_match(e, oid, attr) && cell_narrow(&e->h))) {
			narrow_value(e, out);
			return 0;
		}
	}
	return get_slow(s, h, oid.lo, oid.hi, attr, out);
}

int
scpp_store_get(const struct scpp_store *s, struct scpp_oid oid, uint32_t attr,
	       struct scpp_value *out)
{
	if (s == NULL || out == NULL || attr == SCPP_STORE_ATTR_NONE)
		return -EINVAL;
	return get_one(s, key_hash(s, oid, attr), oid, attr, out);
}

/*
 * Burst lookup, one stage per loop over the burst so that each stage's
 * memory accesses are in flight for the whole burst before the next stage
 * needs them (the DPDK __bulk_lookup_prefetching_loop idea):
 *   1. hash every key, prefetch its home bucket;
 *   2. tag-match the home bucket and prefetch every candidate's hot entry
 *      (usually one; a second one is a tag collision), or, if there is
 *      none and the bucket spilled, prefetch the next bucket;
 *   3. (only if some key spilled) tag-match those next buckets and
 *      prefetch their candidates;
 *   4. the usual case in a straight line: the first candidate is the key
 *      and its value narrow, copied out of the hot entry. Every other key
 *      (spilled, tag collision, wide value, map, header, absent) takes
 *      the single get's probe, find_from(), from its home bucket, over
 *      lines stages 2-3 brought in; a wide hit gets its cold part
 *      prefetched;
 *   5. (only if some value was wide) copy wide values out of their cold
 *      parts and prefetch extent data for the caller.
 * A get of a narrow value touches two lines: the bucket and the 32-byte
 * hot entry. The per-key state is kept as pointers (bucket, entry), so a
 * later stage recomputes nothing: 102 instructions per get at 10^6
 * keys against 135 for the pipeline over groups of 8 this replaces, with
 * the same lines and a ~10 % higher rate (perf/RESULTS.md, "Store").
 * Stages are unrolled by SCPP_STORE_BURST_UNROLL through STAGE_LOOP, which
 * calls the one single-item helper of the stage.
 */
#define STAGE_LOOP(n, fn, ...)                                                \
	do {                                                                  \
		unsigned int i_ = 0;                                          \
		for (; i_ + SCPP_STORE_BURST_UNROLL <= (n);                   \
		     i_ += SCPP_STORE_BURST_UNROLL) {                         \
			fn(i_ + 0, __VA_ARGS__);                              \
			fn(i_ + 1, __VA_ARGS__);                              \
			fn(i_ + 2, __VA_ARGS__);                              \
			fn(i_ + 3, __VA_ARGS__);                              \
		}                                                             \
		for (; i_ < (n); i_++)                                        \
			fn(i_, __VA_ARGS__);                                  \
	} while (0)
_Static_assert(SCPP_STORE_BURST_UNROLL == 4, "STAGE_LOOP unrolls by 4");

/* Per-key state of a burst (triples: buckets of s->bk, map: of s->mbk). */
struct burst_ctx {
	uint64_t h[SCPP_STORE_BURST_MAX];
	const struct bucket *bk[SCPP_STORE_BURST_MAX]; /* home bucket */
	const struct entry *e[SCPP_STORE_BURST_MAX];   /* first candidate, or NULL */
	uint32_t m[SCPP_STORE_BURST_MAX];              /* home bucket's tag matches */
	uint32_t x[SCPP_STORE_BURST_MAX];              /* wide hits: the entry */
	uint64_t wide; /* bit i: key i hit the wide value of entry x[i] */
	unsigned int spill; /* some key has no candidate in a spilled home bucket */
};

static inline void
prefetch_entry(const struct entry *e)
{
	/* 32 bytes at a 32-byte boundary: one line. */
	rte_prefetch0(e);
}

/* Prefetch the hot entry of every candidate in @m; return the first one. */
static inline const struct entry *
prefetch_candidates(const struct scpp_store *s, const struct bucket *bk, unsigned int m)
{
	const struct entry *e = &s->ent[bk->idx[__builtin_ctz(m)]];

	prefetch_entry(e);
	for (m &= m - 1; SCPP_UNLIKELY(m != 0); m &= m - 1)
		prefetch_entry(&s->ent[bk->idx[__builtin_ctz(m)]]);
	return e;
}

/* Stage 1 for a key whose hash is @h. */
static inline __attribute__((always_inline)) void
st_home(unsigned int i, const struct scpp_store *s, uint64_t h, struct burst_ctx *c)
{
	const struct bucket *bk = &s->bk[home_bucket(h, s->nb)];

	rte_prefetch0(bk);
	c->h[i] = h;
	c->bk[i] = bk;
}

static inline __attribute__((always_inline)) void
st_hash(unsigned int i, const struct scpp_store *s, const struct scpp_store_key *k,
	struct burst_ctx *c)
{
	st_home(i, s, key_hash(s, k[i].oid, k[i].attr), c);
}


static inline __attribute__((always_inline)) void
st_match(unsigned int i, const struct scpp_store *s, struct burst_ctx *c)
{
	const struct bucket *bk = c->bk[i];
	unsigned int m = tag_match(bk, tag_of(c->h[i]));

	c->m[i] = m;
	c->e[i] = NULL;
	if (SCPP_LIKELY(m != 0)) {
		c->e[i] = prefetch_candidates(s, bk, m);
	} else if (bk->overflow != 0) {
		/* About 7 % of keys at 80 % load live in a later bucket; without
		 * this their probe costs two serial cache misses in st_find. */
		rte_prefetch0(&s->bk[next_bucket((uint32_t)(bk - s->bk), s->nb)]);
		c->spill = 1;
	}
}

static inline __attribute__((always_inline)) void
st_spill(unsigned int i, const struct scpp_store *s, struct burst_ctx *c)
{
	const struct bucket *bk = c->bk[i];
	unsigned int m;

	if (SCPP_LIKELY(c->m[i] != 0) || bk->overflow == 0)
		return;
	bk = &s->bk[next_bucket((uint32_t)(bk - s->bk), s->nb)];
	m = tag_match(bk, tag_of(c->h[i]));
	if (m != 0)
		prefetch_candidates(s, bk, m);
}

/* Key i found at entry @x: a narrow value is copied out now, a wide one
 * gets its cold part prefetched for st_wide; a map attribute or an entity
 * header (attr 0) is not a value: a miss, as scpp_store_get() says. */
static inline __attribute__((always_inline)) void
st_found(unsigned int i, const struct scpp_store *s, const struct entry *e, struct burst_ctx *c,
	 struct scpp_value *vals, uint64_t *mask)
{
	uint32_t x;

	if (SCPP_LIKELY(cell_narrow(&e->h))) {
		narrow_value(e, &vals[i]);
		*mask |= UINT64_C(1) << i;
		return;
	}
	if (e->h.kind != K_INLINE && e->h.kind != K_EXT)
		return;
	x = (uint32_t)(e - s->ent);
	rte_prefetch0(&s->cold[x]);
	c->x[i] = x;
	c->wide |= UINT64_C(1) << i;
}

/* Every key whose first candidate is not the key (spilled home bucket,
 * tag collision, absent): the single get's probe from the home bucket
 * (which counts the buckets past it, as get). */
static __attribute__((noinline)) void
find_slow(unsigned int i, const struct scpp_store *s, const struct scpp_store_key *k,
	  const struct bucket *bk, unsigned int m, uint64_t h, struct burst_ctx *c,
	  struct scpp_value *vals, uint64_t *mask)
{
	uint32_t x;

	if (k[i].attr == SCPP_STORE_ATTR_NONE)
		return;
	x = find_from(s, (uint32_t)(bk - s->bk), m, tag_of(h), k[i].oid, k[i].attr);
	if (x != NIL_IDX)
		st_found(i, s, &s->ent[x], c, vals, mask);
}

static inline __attribute__((always_inline)) void
st_find_slow(unsigned int i, const struct scpp_store *s, const struct scpp_store_key *k,
	     struct burst_ctx *c, struct scpp_value *vals, uint64_t *mask)
{
	find_slow(i, s, k, c->bk[i], c->m[i], c->h[i], c, vals, mask);
}

/* Finish the probe (the hot entry is in cache by now): the usual case, the
 * first candidate is the key, in a straight line. */
static inline __attribute__((always_inline)) void
st_find(unsigned int i, const struct scpp_store *s, const struct scpp_store_key *k,
	struct burst_ctx *c, struct scpp_value *vals, uint64_t *mask)
{
	const struct entry *e = c->e[i];

	if (SCPP_LIKELY(e != NULL && entry_match(e, k[i].oid, k[i].attr))) {
		st_found(i, s, e, c, vals, mask);
		return;
	}
	st_find_slow(i, s, k, c, vals, mask);
}

/* The hashed burst's one pass (its lines were prefetched by the caller):
 * stages 1, 2 and 4 for key i, from its hash, without the per-key state
 * the stages hand on. */
static inline __attribute__((always_inline)) void
st_lookup(unsigned int i, const struct scpp_store *s, const struct scpp_store_key *k,
	  const uint64_t *hs, struct burst_ctx *c, struct scpp_value *vals, uint64_t *mask)
{
	uint64_t h = hs[i];
	const struct bucket *bk = &s->bk[home_bucket(h, s->nb)];
	unsigned int m = tag_match(bk, tag_of(h));

	if (SCPP_LIKELY(m != 0)) {
		const struct entry *e = &s->ent[bk->idx[__builtin_ctz(m)]];

		if (SCPP_LIKELY(entry_match(e, k[i].oid, k[i].attr))) {
			st_found(i, s, e, c, vals, mask);
			return;
		}
	}
	find_slow(i, s, k, bk, m, h, c, vals, mask);
}

/* Copy a wide value out of its cold part (prefetched by st_find); an
 * extent's bytes are prefetched for whoever reads them next. */
static inline void
st_wide(unsigned int i, const struct scpp_store *s, struct burst_ctx *c,
	struct scpp_value *vals, uint64_t *mask)
{
	uint32_t x;

	if (SCPP_LIKELY((c->wide >> i & 1) == 0))
		return;
	x = c->x[i];
	if (s->ent[x].h.kind == K_EXT)
		rte_prefetch0(s->arena + s->cold[x].v.ext.off);
	ent_value(s, x, &vals[i]);
	*mask |= UINT64_C(1) << i;
}

/* Stages 2-3 of a triple burst (get and set), once stage 1 ran. */
static inline __attribute__((always_inline)) void
burst_match(const struct scpp_store *s, unsigned int n, struct burst_ctx *c)
{
	c->spill = 0;
	STAGE_LOOP(n, st_match, s, c);
	if (SCPP_UNLIKELY(c->spill))
		STAGE_LOOP(n, st_spill, s, c);
}

/* Stages 1-3 of a triple burst (get and set). */
static inline __attribute__((always_inline)) void
burst_probe(const struct scpp_store *s, const struct scpp_store_key *keys, unsigned int n,
	    struct burst_ctx *c)
{
	STAGE_LOOP(n, st_hash, s, keys, c);
	burst_match(s, n, c);
}

/* Stages 2-5 of a get burst: the values and the hit mask. */
static inline __attribute__((always_inline)) uint64_t
burst_get_rest(const struct scpp_store *s, const struct scpp_store_key *keys, unsigned int n,
	       struct burst_ctx *c, struct scpp_value *vals)
{
	uint64_t mask = 0;

	burst_match(s, n, c);
	c->wide = 0;
	STAGE_LOOP(n, st_find, s, keys, c, vals, &mask);
	if (SCPP_UNLIKELY(c->wide != 0))
		STAGE_LOOP(n, st_wide, s, c, vals, &mask);
	return mask;
}

unsigned int
scpp_store_get_burst(const struct scpp_store *s, const struct scpp_store_key *keys,
		     unsigned int n, struct scpp_value *vals, uint64_t *hit_mask)
{
	struct burst_ctx c;
	uint64_t mask = 0;

	if (SCPP_LIKELY(n <= SCPP_STORE_BURST_MAX)) {
		STAGE_LOOP(n, st_hash, s, keys, &c);
		mask = burst_get_rest(s, keys, n, &c, vals);
	} else {
		n = 0;
	}
	if (hit_mask != NULL)
		*hit_mask = mask;
	return n;
}

unsigned int
scpp_store_get_burst_hashed(const struct scpp_store *s, const struct scpp_store_key *keys,
			    const uint64_t *hashes, unsigned int n, struct scpp_value *vals,
			    uint64_t *hit_mask)
{
	struct burst_ctx c;
	uint64_t mask = 0;

	if (SCPP_LIKELY(n <= SCPP_STORE_BURST_MAX)) {
		c.wide = 0;
		STAGE_LOOP(n, st_lookup, s, keys, hashes, &c, vals, &mask);
		if (SCPP_UNLIKELY(c.wide != 0))
			STAGE_LOOP(n, st_wide, s, &c, vals, &mask);
	} else {
		n = 0;
	}
	if (hit_mask != NULL)
		*hit_mask = mask;
	return n;
}

uint64_t
scpp_store_hash(const struct scpp_store *s, struct scpp_oid oid, uint32_t attr)
{
	return key_hash(s, oid, attr);
}

int
scpp_store_get_hashed(const struct scpp_store *s, struct scpp_oid oid, uint32_t attr,
		      uint64_t hash, struct scpp_value *out)
{
	if (s == NULL || out == NULL || attr == SCPP_STORE_ATTR_NONE)
		return -EINVAL;
	return get_one(s, hash, oid, attr, out);
}

uint64_t
scpp_store_prefetch(const struct scpp_store *s, struct scpp_oid oid, uint32_t attr)
{
	uint64_t h = key_hash(s, oid, attr);

	rte_prefetch0(&s->bk[home_bucket(h, s->nb)]);
	return h;
}

/*
 * The candidate of a key whose home bucket has none: an entry no lookup
 * can take for a key's. Its attribute is 0 and its kind K_FREE, so it
 * matches only key (nil, 0), for which it is a miss with no probe, as the
 * full lookup says (find_slow() refuses attribute 0); the candidate gets
 * need no NULL test.
 */
static const struct entry no_cand;

/* Stage 2 for one hash; returns the first candidate, or &no_cand. */
static inline __attribute__((always_inline)) const struct entry *
prefetch_entry_of(const struct scpp_store *s, uint64_t h)
{
	uint32_t b = home_bucket(h, s->nb);
	const struct bucket *bk = &s->bk[b];
	unsigned int m = tag_match(bk, tag_of(h));

	if (m != 0)
		return prefetch_candidates(s, bk, m);
	if (bk->overflow != 0)
		rte_prefetch0(&s->bk[next_bucket(b, s->nb)]);
	return &no_cand;
}

void
scpp_store_prefetch_entry(const struct scpp_store *s, uint64_t h)
{
	prefetch_entry_of(s, h);
}

void
scpp_store_prefetch_burst(const struct scpp_store *s, const struct scpp_store_key *keys,
			  unsigned int n, uint64_t *hashes)
{
	for (unsigned int i = 0; i < n; i++) {
		uint64_t h = key_hash(s, keys[i].oid, keys[i].attr);

		rte_prefetch0(&s->bk[home_bucket(h, s->nb)]);
		hashes[i] = h;
	}
}

void
scpp_store_prefetch_entries(const struct scpp_store *s, const uint64_t *hashes, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		prefetch_entry_of(s, hashes[i]);
}

/*
 * Candidate entry points (docs/STORE.md). The prefetch's stage 2 finds each
 * key's first candidate anyway; the _cand gets start from it instead of
 * reading the home bucket again, which is the same entry as long as the
 * triple index has not changed: its slots and tags are then as they were,
 * so a lookup of the same hash tag-matches the same first slot. Every
 * insert and removal of a triple-index slot, every clear and every resize
 * moves s->idx.changes, and a candidate whose stamp is not the current one
 * (or that was made for another hash) is never used: after a delete and a
 * reinsertion into a spilled slot its entry could be the key's with a
 * different probe count, or another key's, and probes are charged as
 * evaluation steps. Then the key takes the full lookup, and the fallback
 * is counted.
 */
void
scpp_store_prefetch_cand(const struct scpp_store *s, const uint64_t *hashes, unsigned int n,
			 struct scpp_store_cand *restrict cands)
{
	const uint64_t stamp = s->idx.changes;

	/* restrict: the stores to cands[] do not make the compiler load the
	 * shard's bucket and entry bases again for every key. */
	for (unsigned int i = 0; i < n; i++) {
		uint64_t h = hashes[i];

		cands[i].hash = h;
		cands[i].stamp = stamp;
		cands[i].entry = prefetch_entry_of(s, h);
	}
}

/* May the lookup of @h start from @c's entry, the index's stamp being
 * @stamp? (The entry may be &no_cand: no candidate in the home bucket.) */
static inline bool
cand_fresh(uint64_t stamp, uint64_t h, const struct scpp_store_cand *c)
{
	return ((c->hash ^ h) | (c->stamp ^ stamp)) == 0;
}

/* The full lookup of key i after a candidate that was stale, or not the
 * key: st_lookup() from the hash, as scpp_store_get_burst_hashed(). */
static __attribute__((noinline)) void
cand_slow(unsigned int i, const struct scpp_store *s, const struct scpp_store_key *k,
	  const uint64_t *hs, const struct scpp_store_cand *cs, struct burst_ctx *c,
	  struct scpp_value *vals, uint64_t *mask)
{
	if (!cand_fresh(s->idx.changes, hs[i], &cs[i]))
		(*s->cand_ctr)++;
	st_lookup(i, s, k, hs, c, vals, mask);
}

/* The candidate burst's one pass: the usual key in a straight line, its
 * fresh candidate is the key (nothing else is read before its value).
 * @stamp: the index's, read once (a get changes no index). */
static inline __attribute__((always_inline)) void
st_lookup_cand(unsigned int i, const struct scpp_store *s, const struct scpp_store_key *k,
	       const uint64_t *hs, const struct scpp_store_cand *cs, uint64_t stamp,
	       struct burst_ctx *c, struct scpp_value *vals, uint64_t *mask)
{
	const struct entry *e = cs[i].entry;

	if (SCPP_LIKELY(cand_fresh(stamp, hs[i], &cs[i]) &&
			entry_match(e, k[i].oid, k[i].attr))) {
		st_found(i, s, e, c, vals, mask);
		return;
	}
	cand_slow(i, s, k, hs, cs, c, vals, mask);
}

unsigned int
scpp_store_get_burst_cand(const struct scpp_store *s, const struct scpp_store_key *keys,
			  const uint64_t *hashes, const struct scpp_store_cand *cands,
			  unsigned int n, struct scpp_value *vals, uint64_t *hit_mask)
{
	struct burst_ctx c;
	uint64_t mask = 0;

	if (SCPP_LIKELY(n <= SCPP_STORE_BURST_MAX)) {
		const uint64_t stamp = s->idx.changes;

		c.wide = 0;
		STAGE_LOOP(n, st_lookup_cand, s, keys, hashes, cands, stamp, &c, vals, &mask);
		if (SCPP_UNLIKELY(c.wide != 0))
			STAGE_LOOP(n, st_wide, s, &c, vals, &mask);
	} else {
		n = 0;
	}
	if (hit_mask != NULL)
		*hit_mask = mask;
	return n;
}

/* The single get after a candidate that was stale, not the key, or wide. */
static __attribute__((noinline)) int
get_cand_slow(const struct scpp_store *s, const struct scpp_store_key *key, uint64_t h,
	      const struct scpp_store_cand *cand, struct scpp_value *out)
{
	if (!cand_fresh(s->idx.changes, h, cand))
		(*s->cand_ctr)++;
	return get_one(s, h, key->oid, key->attr, out);
}

/* The key comes by pointer: with the OID and attribute as values the call
 * has seven arguments, the seventh on the stack, and the straight line
 * below needed three saved registers. */
int
scpp_store_get_cand(const struct scpp_store *s, const struct scpp_store_key *key, uint64_t hash,
		    const struct scpp_store_cand *cand, struct scpp_value *out)
{
	const struct entry *e;

	if (s == NULL || out == NULL || key->attr == SCPP_STORE_ATTR_NONE)
		return -EINVAL;
	e = cand->entry;
	if (SCPP_LIKELY(cand_fresh(s->idx.changes, hash, cand) &&
			entry_match(e, key->oid, key->attr) && cell_narrow(&e->h))) {
		narrow_value(e, out);
		return 0;
	}
	return get_cand_slow(s, key, hash, cand, out);
}

uint64_t
scpp_store_cand_fallbacks(const struct scpp_store *s)
{
	return *s->cand_ctr;
}

/*
 * Set with a precomputed hash: the single-item worker of scpp_store_set()
 * and scpp_store_set_burst().
 */
static int
set_hashed(struct scpp_store *s, uint64_t h, struct scpp_oid oid, uint32_t attr,
	   uint8_t type, uint64_t len, const void *src, const struct scpp_value *v)
{
	struct ecold *ec, *hc;
	struct entry *e;
	uint32_t x, hx;
	int rc;

	x = find(s, h, oid, attr);
	if (x != NIL_IDX) {
		if (s->ent[x].h.kind == K_MAP)
			return -EMEDIUMTYPE;
		if (entry_pinned(s, x))
			return -EBUSY;
		if (SCPP_LIKELY(s->vix.nattr == 0 || !vix_on(s, attr)))
			return ent_replace(s, x, type, len, src, v);
		vix_unlink(s, x);
		rc = ent_replace(s, x, type, len, src, v);
		vix_link(s, x);
		return rc;
	}
	hx = find_entity(s, oid);
	if (hx == NIL_IDX)
		return -ENOENT;
	if (ent_free_count(s) == 0)
		reclaim_some(s);
	if (ent_free_count(s) == 0 || !store_index_has_room(&s->idx, h))
		return -ENOSPC;
	{
		struct cell_hdr nh;
		union payload np;

		rc = cell_build(s, type, len, src, v, &nh, &np);
		if (rc == -ENOSPC && reclaim_some(s) > 0)
			rc = cell_build(s, type, len, src, v, &nh, &np);
		if (rc != 0)
			return rc;
		x = ent_take(s);
		ent_cell_store(s, x, &nh, &np);
	}
	e = &s->ent[x];
	ec = &s->cold[x];
	e->oid = oid;
	e->attr = attr;
	hc = &s->cold[hx];
	ec->next = NIL_IDX;
	ec->prev = hc->prev;
	if (hc->prev != NIL_IDX)
		s->cold[hc->prev].next = x;
	else
		hc->next = x;
	hc->prev = x;
	hc->v.ent.nattrs++;
	store_index_insert(&s->idx, h, x);
	stat_add(&s->n_triples, 1);
	vix_link(s, x);
	return 0;
}

static inline int
set_value(struct scpp_store *s, uint64_t h, struct scpp_oid oid, uint32_t attr,
	  const struct scpp_value *v)
{
	int rc = check_value(s, v);

	if (rc != 0)
		return rc;
	return set_hashed(s, h, oid, attr, v->type, v->len,
			  is_bytes_type(v->type) ? v->p : NULL, v);
}

int
scpp_store_set(struct scpp_store *s, struct scpp_oid oid, uint32_t attr,
	       const struct scpp_value *v)
{
	if (s == NULL || attr == SCPP_STORE_ATTR_NONE)
		return -EINVAL;
	return set_value(s, key_hash(s, oid, attr), oid, attr, v);
}

static inline void
st_set_apply(unsigned int i, struct scpp_store *s, const struct scpp_store_key *k,
	     const struct scpp_value *vals, struct burst_ctx *c, unsigned int *done)
{
	/* In order, stopping at the first failure (STAGE_LOOP cannot break). */
	if (*done != i)
		return;
	if (k[i].attr != SCPP_STORE_ATTR_NONE &&
	    set_value(s, c->h[i], k[i].oid, k[i].attr, &vals[i]) == 0)
		*done = i + 1;
}

unsigned int
scpp_store_set_burst(struct scpp_store *s, const struct scpp_store_key *keys,
		     const struct scpp_value *vals, unsigned int n)
{
	struct burst_ctx c;
	unsigned int done = 0;

	if (SCPP_UNLIKELY(n > SCPP_STORE_BURST_MAX))
		return 0;
	burst_probe(s, keys, n, &c);
	STAGE_LOOP(n, st_set_apply, s, keys, vals, &c, &done);
	return done;
}

int
scpp_store_del(struct scpp_store *s, struct scpp_oid oid, uint32_t attr)
{
	uint32_t x, hx;

	if (s == NULL || attr == SCPP_STORE_ATTR_NONE)
		return -EINVAL;
	x = find(s, key_hash(s, oid, attr), oid, attr);
	if (x == NIL_IDX)
		return -ENOENT;
	if (entry_pinned(s, x))
		return -EBUSY;
	hx = find_entity(s, oid);
	SCPP_VERIFY(hx != NIL_IDX);
	attr_remove(s, hx, x);
	return 0;
}

int
scpp_store_attr_rename(struct scpp_store *s, struct scpp_oid oid, uint32_t from, uint32_t to)
{
	uint64_t hf, ht;
	uint32_t x;

	if (s == NULL || from == SCPP_STORE_ATTR_NONE || to == SCPP_STORE_ATTR_NONE)
		return -EINVAL;
	hf = key_hash(s, oid, from);
	ht = key_hash(s, oid, to);
	x = find(s, hf, oid, from);
	if (x == NIL_IDX)
		return -ENOENT;
	if (find(s, ht, oid, to) != NIL_IDX)
		return -EEXIST;
	if (!store_index_has_room(&s->idx, ht))
		return -ENOSPC;
	/* Map entries name their owner by entry index, not by attribute,
	 * so a map keeps every entry through the rename. */
	vix_unlink(s, x);
	store_index_remove(&s->idx, hf, x);
	s->ent[x].attr = to;
	store_index_insert(&s->idx, ht, x);
	vix_link(s, x);
	return 0;
}

/* ----------------------------------------------------------------- maps */

/* Find the map attribute: entry index or a negative errno. */
static int64_t
find_map(const struct scpp_store *s, struct scpp_oid oid, uint32_t attr)
{
	uint32_t x;

	if (attr == SCPP_STORE_ATTR_NONE)
		return -EINVAL;
	x = find(s, key_hash(s, oid, attr), oid, attr);
	if (x == NIL_IDX)
		return -ENOENT;
	if (s->ent[x].h.kind != K_MAP)
		return -EMEDIUMTYPE;
	return x;
}

static inline bool
mentry_match(const struct scpp_store *s, const struct mentry *me, uint32_t owner,
	     uint64_t h, const struct scpp_value *key)
{
	struct scpp_value k;

	if (me->hash != h || me->owner != owner || me->kh.type != key->type)
		return false;
	cell_value(s, &me->kh, &me->k, &k);
	return scpp_value_eq(&k, key);
}

static inline uint32_t
mfind_from(const struct scpp_store *s, uint32_t b, unsigned int m, uint64_t h,
	   uint32_t owner, const struct scpp_value *key)
{
	for (unsigned int left = SCPP_STORE_PROBE_MAX;;) {
		const struct bucket *bk = &s->mbk[b];

		while (m != 0) {
			uint32_t x = bk->idx[__builtin_ctz(m)];

			if (mentry_match(s, &s->ment[x], owner, h, key))
				return x;
			m &= m - 1;
		}
		if (bk->overflow == 0 || --left == 0)
			return NIL_IDX;
		(*s->probe_ctr)++;
		b = next_bucket(b, s->mnb);
		m = tag_match(&s->mbk[b], tag_of(h));
	}
}

static inline uint32_t
mfind(const struct scpp_store *s, uint64_t h, uint32_t owner,
      const struct scpp_value *key)
{
	uint32_t b;

	if (s->max_mentries == 0)
		return NIL_IDX;
	b = home_bucket(h, s->mnb);
	return mfind_from(s, b, tag_match(&s->mbk[b], tag_of(h)), h, owner, key);
}

int
scpp_store_map_create(struct scpp_store *s, struct scpp_oid oid, uint32_t attr)
{
	struct scpp_value nil = scpp_value_nil();
	uint64_t h;
	uint32_t x;
	int rc;

	if (s == NULL || attr == SCPP_STORE_ATTR_NONE)
		return -EINVAL;
	h = key_hash(s, oid, attr);
	if (find(s, h, oid, attr) != NIL_IDX)
		return -EEXIST;
	rc = set_hashed(s, h, oid, attr, SCPP_VT_NIL, 0, NULL, &nil);
	if (rc != 0)
		return rc;
	x = find(s, h, oid, attr);
	vix_unlink(s, x); /* maps are not indexed: set_hashed filed its nil */
	s->ent[x].h.kind = K_MAP;
	s->cold[x].v.map.head = s->cold[x].v.map.tail = NIL_IDX;
	s->cold[x].v.map.count = 0;
	stat_add(&s->n_maps, 1);
	return 0;
}

int
scpp_store_map_get(const struct scpp_store *s, struct scpp_oid oid, uint32_t attr,
		   const struct scpp_value *key, struct scpp_value *out)
{
	int64_t owner;
	uint32_t m;

	if (s == NULL || key == NULL || out == NULL || key->type >= SCPP_VT_COUNT)
		return -EINVAL;
	owner = find_map(s, oid, attr);
	if (owner < 0)
		return (int)owner;
	m = mfind(s, map_hash(s, (uint32_t)owner, key), (uint32_t)owner, key);
	if (m == NIL_IDX)
		return -ENOENT;
	cell_value(s, &s->ment[m].vh, &s->ment[m].v, out);
	return 0;
}

static inline void
mst_hash(unsigned int i, const struct scpp_store *s, uint32_t owner,
	 const struct scpp_value *k, struct burst_ctx *c)
{
	c->h[i] = map_hash(s, owner, &k[i]);
	c->bk[i] = &s->mbk[home_bucket(c->h[i], s->mnb)];
	rte_prefetch0(c->bk[i]);
}

static inline void
mst_match(unsigned int i, const struct scpp_store *s, struct burst_ctx *c)
{
	const struct bucket *bk = c->bk[i];
	unsigned int m = tag_match(bk, tag_of(c->h[i]));

	c->m[i] = m;
	if (m != 0)
		rte_prefetch0(&s->ment[bk->idx[__builtin_ctz(m)]]);
}

static inline void
mst_find(unsigned int i, const struct scpp_store *s, uint32_t owner,
	 const struct scpp_value *k, struct scpp_value *vals, struct burst_ctx *c,
	 uint64_t *mask)
{
	uint32_t x = mfind_from(s, (uint32_t)(c->bk[i] - s->mbk), c->m[i], c->h[i], owner, &k[i]);

	if (x != NIL_IDX) {
		cell_value(s, &s->ment[x].vh, &s->ment[x].v, &vals[i]);
		*mask |= UINT64_C(1) << i;
	}
}

unsigned int
scpp_store_map_get_burst(const struct scpp_store *s, struct scpp_oid oid,
			 uint32_t attr, const struct scpp_value *keys,
			 unsigned int n, struct scpp_value *vals, uint64_t *hit_mask)
{
	struct burst_ctx c;
	uint64_t mask = 0;
	int64_t owner;

	if (SCPP_UNLIKELY(n > SCPP_STORE_BURST_MAX) || s == NULL) {
		n = 0;
		goto out;
	}
	owner = find_map(s, oid, attr);
	if (owner < 0 || s->max_mentries == 0) {
		n = 0;
		goto out;
	}
	STAGE_LOOP(n, mst_hash, s, (uint32_t)owner, keys, &c);
	STAGE_LOOP(n, mst_match, s, &c);
	STAGE_LOOP(n, mst_find, s, (uint32_t)owner, keys, vals, &c, &mask);
out:
	if (hit_mask != NULL)
		*hit_mask = mask;
	return n;
}

int
scpp_store_map_set(struct scpp_store *s, struct scpp_oid oid, uint32_t attr,
		   const struct scpp_value *key, const struct scpp_value *val)
{
	uint64_t need[2], h, kh;
	uint32_t owner, m;
	bool new_map = false;
	struct mentry *me;
	struct ecold *oc;
	int rc;

	if (s == NULL || attr == SCPP_STORE_ATTR_NONE)
		return -EINVAL;
	rc = check_value(s, key);
	if (rc == 0)
		rc = check_value(s, val);
	if (rc != 0)
		return rc;
	h = key_hash(s, oid, attr);
	owner = find(s, h, oid, attr);
	if (owner == NIL_IDX) {
		if (find_entity(s, oid) == NIL_IDX)
			return -ENOENT;
		if (ent_free_count(s) == 0)
			reclaim_some(s);
		if (ent_free_count(s) == 0 || !store_index_has_room(&s->idx, h))
			return -ENOSPC;
		new_map = true;
	} else if (s->ent[owner].h.kind != K_MAP) {
		return -EMEDIUMTYPE;
	}
	if (!new_map) {
		kh = map_hash(s, owner, key);
		m = mfind(s, kh, owner, key);
		if (m != NIL_IDX) {
			me = &s->ment[m];
			return cell_replace(s, &me->vh, &me->v, val->type, val->len,
					    is_bytes_type(val->type) ? val->p : NULL, val);
		}
	}
	/* A new key: check every resource before touching anything. A new
	 * map's owner will be the entry ent_take() hands out next, so the
	 * entry's final hash is known now. */
	if (s->ment_used == s->max_mentries)
		reclaim_some(s);
	if (s->ment_used == s->max_mentries)
		return -ENOSPC;
	if (!store_index_has_room(&s->midx, map_hash(s, new_map ? ent_peek(s) : owner, key)))
		return -ENOSPC;
	need[0] = cell_need(key);
	need[1] = cell_need(val);
	if (ext_fits(&s->ex, need, 2) != 0 && (reclaim_some(s) == 0 || ext_fits(&s->ex, need, 2) != 0))
		return -ENOSPC;
	if (new_map) {
		rc = scpp_store_map_create(s, oid, attr);
		SCPP_VERIFY(rc == 0);
		owner = find(s, h, oid, attr);
	}
	m = ment_take(s);
	me = &s->ment[m];
	rc = cell_build(s, key->type, key->len, is_bytes_type(key->type) ? key->p : NULL,
			key, &me->kh, &me->k);
	SCPP_VERIFY(rc == 0);
	rc = cell_build(s, val->type, val->len, is_bytes_type(val->type) ? val->p : NULL,
			val, &me->vh, &me->v);
	SCPP_VERIFY(rc == 0);
	me->rsv = 0;
	me->owner = owner;
	me->hash = map_hash(s, owner, key);
	oc = &s->cold[owner];
	me->next = NIL_IDX;
	me->prev = oc->v.map.tail;
	if (oc->v.map.tail != NIL_IDX)
		s->ment[oc->v.map.tail].next = m;
	else
		oc->v.map.head = m;
	oc->v.map.tail = m;
	oc->v.map.count++;
	store_index_insert(&s->midx, me->hash, m);
	stat_add(&s->n_mentries, 1);
	return 0;
}

int64_t
scpp_store_map_home_bucket(const struct scpp_store *s, struct scpp_oid oid, uint32_t attr,
			   const struct scpp_value *key)
{
	int64_t owner;

	if (s == NULL || key == NULL || s->max_mentries == 0)
		return -EINVAL;
	owner = find_map(s, oid, attr);
	if (owner < 0)
		return owner;
	return home_bucket(map_hash(s, (uint32_t)owner, key), s->mnb);
}

int
scpp_store_map_del(struct scpp_store *s, struct scpp_oid oid, uint32_t attr,
		   const struct scpp_value *key)
{
	struct mentry *me;
	struct ecold *oc;
	int64_t owner;
	uint32_t m;

	if (s == NULL || key == NULL || key->type >= SCPP_VT_COUNT)
		return -EINVAL;
	owner = find_map(s, oid, attr);
	if (owner < 0)
		return (int)owner;
	m = mfind(s, map_hash(s, (uint32_t)owner, key), (uint32_t)owner, key);
	if (m == NIL_IDX)
		return -ENOENT;
	me = &s->ment[m];
	oc = &s->cold[owner];
	store_index_remove(&s->midx, me->hash, m);
	if (me->prev != NIL_IDX)
		s->ment[me->prev].next = me->next;
	else
		oc->v.map.head = me->next;
	if (me->next != NIL_IDX)
		s->ment[me->next].prev = me->prev;
	else
		oc->v.map.tail = me->prev;
	oc->v.map.count--;
	cell_release(s, &me->kh, &me->k);
	cell_release(s, &me->vh, &me->v);
	ment_put(s, m);
	stat_add(&s->n_mentries, -1);
	return 0;
}

int64_t
scpp_store_map_count(const struct scpp_store *s, struct scpp_oid oid, uint32_t attr)
{
	int64_t owner;

	if (s == NULL)
		return -EINVAL;
	owner = find_map(s, oid, attr);
	if (owner < 0)
		return owner;
	return (int64_t)s->cold[owner].v.map.count;
}

int
scpp_store_map_iter(const struct scpp_store *s, struct scpp_oid oid, uint32_t attr,
		    uint64_t *cursor, struct scpp_value *keys, struct scpp_value *vals,
		    unsigned int n)
{
	unsigned int k = 0;
	int64_t owner;
	uint32_t m;

	if (s == NULL || cursor == NULL || ((keys == NULL || vals == NULL) && n > 0))
		return -EINVAL;
	owner = find_map(s, oid, attr);
	if (owner < 0)
		return (int)owner;
	if (*cursor == UINT64_MAX)
		return 0;
	m = *cursor == 0 ? s->cold[owner].v.map.head : (uint32_t)(*cursor - 1);
	for (; m != NIL_IDX && k < n; k++) {
		const struct mentry *me = &s->ment[m];

		/* Entries of a map built in one go are contiguous; the
		 * prefetch covers maps whose order was shuffled by deletes. */
		if (me->next != NIL_IDX)
			rte_prefetch0(&s->ment[me->next]);
		cell_value(s, &me->kh, &me->k, &keys[k]);
		cell_value(s, &me->vh, &me->v, &vals[k]);
		m = me->next;
	}
	*cursor = m == NIL_IDX ? UINT64_MAX : (uint64_t)m + 1;
	return (int)k;
}

/* --------------------------------------------------------- byte strings */

/* Find a str/bytes triple: entry index or negative errno. */
static int64_t
find_bytes(const struct scpp_store *s, struct scpp_oid oid, uint32_t attr)
{
	uint32_t x;

	if (s == NULL || attr == SCPP_STORE_ATTR_NONE)
		return -EINVAL;
	x = find(s, key_hash(s, oid, attr), oid, attr);
	if (x == NIL_IDX)
		return -ENOENT;
	if (!is_bytes_type(s->ent[x].h.type) || s->ent[x].h.kind == K_MAP)
		return -EMEDIUMTYPE;
	return x;
}

/* Length and bytes of str/bytes entry @x: in an extent, in the cold part
 * (9..16 bytes) or, narrow, in the hot part (0..NARROW_BYTES_MAX). */
static inline uint64_t
entry_len(const struct scpp_store *s, uint32_t x)
{
	return s->ent[x].h.kind == K_EXT ? s->cold[x].v.ext.len : s->ent[x].h.ilen;
}

static inline const uint8_t *
entry_bytes(const struct scpp_store *s, uint32_t x)
{
	const struct entry *e = &s->ent[x];

	if (e->h.kind == K_EXT)
		return s->arena + s->cold[x].v.ext.off;
	return cell_narrow(&e->h) ? (const uint8_t *)&e->w : s->cold[x].v.b;
}

static inline uint8_t *
entry_data(struct scpp_store *s, uint32_t x)
{
	return (uint8_t *)(uintptr_t)entry_bytes(s, x);
}

static inline bool
range_ok(uint64_t off, uint64_t len, uint64_t size)
{
	/* Written so that off + len cannot overflow. */
	return off <= size && len <= size - off;
}

int
scpp_store_bytes_alloc(struct scpp_store *s, struct scpp_oid oid, uint32_t attr,
		       uint8_t type, uint64_t len)
{
	struct scpp_value nil = scpp_value_nil();

	if (s == NULL || attr == SCPP_STORE_ATTR_NONE || !is_bytes_type(type))
		return -EINVAL;
	if (len > s->max_value_len)
		return -E2BIG;
	return set_hashed(s, key_hash(s, oid, attr), oid, attr, type, len, NULL, &nil);
}

int
scpp_store_bytes_read(const struct scpp_store *s, struct scpp_oid oid,
		      uint32_t attr, uint64_t off, uint64_t len, void *dst)
{
	int64_t x = find_bytes(s, oid, attr);

	if (x < 0)
		return (int)x;
	if (!range_ok(off, len, entry_len(s, (uint32_t)x)))
		return -ERANGE;
	if (len == 0)
		return 0;
	if (dst == NULL)
		return -EINVAL;
	memcpy(dst, entry_bytes(s, (uint32_t)x) + off, len);
	return 0;
}

int
scpp_store_bytes_write(struct scpp_store *s, struct scpp_oid oid, uint32_t attr,
		       uint64_t off, uint64_t len, const void *src)
{
	int64_t x = find_bytes(s, oid, attr);

	if (x < 0)
		return (int)x;
	if (!range_ok(off, len, entry_len(s, (uint32_t)x)))
		return -ERANGE;
	if (len == 0)
		return 0;
	if (src == NULL)
		return -EINVAL;
	/* An indexed value changes its key: re-file it. */
	vix_unlink(s, (uint32_t)x);
	memmove(entry_data(s, (uint32_t)x) + off, src, len);
	vix_link(s, (uint32_t)x);
	return 0;
}

static int bytes_resize(struct scpp_store *s, struct scpp_oid oid, uint32_t attr, uint64_t len);

int
scpp_store_bytes_resize(struct scpp_store *s, struct scpp_oid oid, uint32_t attr,
			uint64_t len)
{
	int64_t x = find_bytes(s, oid, attr);
	int rc;

	if (x < 0)
		return (int)x;
	vix_unlink(s, (uint32_t)x);
	rc = bytes_resize(s, oid, attr, len);
	vix_link(s, (uint32_t)x); /* the entry stays at x whatever happened */
	/* A resize may move the value between the entry's hot part, its cold
	 * part and an extent. The candidate gets read the header at get time
	 * and would be right without this; the stamp moves anyway, so that a
	 * candidate means "nothing re-laid out since the prefetch". */
	if (rc == 0)
		s->idx.changes++;
	return rc;
}

static int
bytes_resize(struct scpp_store *s, struct scpp_oid oid, uint32_t attr, uint64_t len)
{
	int64_t x = find_bytes(s, oid, attr);
	uint8_t tmp[SCPP_STORE_INLINE_MAX];
	struct entry *e;
	struct ecold *ec;
	uint64_t cur, cap;

	if (x < 0)
		return (int)x;
	if (len > s->max_value_len)
		return -E2BIG;
	/* An inline str/bytes cell is narrow up to NARROW_BYTES_MAX bytes
	 * (payload in the hot part) and wide above (cold part): a new length
	 * may move it, so inline cells change through ent_cell_load/store. */
	e = &s->ent[x];
	ec = &s->cold[x];
	cur = entry_len(s, (uint32_t)x);
	if (e->h.kind == K_INLINE) {
		struct cell_hdr h, nh;
		union payload p, np;
		int rc;

		ent_cell_load(s, (uint32_t)x, &h, &p);
		if (len <= SCPP_STORE_INLINE_MAX) {
			/* A grown value's new bytes are zero. */
			if (len > cur)
				memset(p.b + cur, 0, len - cur);
			h.ilen = (uint16_t)len;
			ent_cell_store(s, (uint32_t)x, &h, &p);
			return 0;
		}
		rc = cell_build(s, h.type, len, NULL, NULL, &nh, &np);
		if (rc != 0)
			return rc;
		memcpy(s->arena + np.ext.off, p.b, cur);
		ent_cell_store(s, (uint32_t)x, &nh, &np);
		return 0;
	}
	/* Extent. */
	cap = (uint64_t)SCPP_STORE_EXTENT_MIN << ec->v.ext.cls;
	if (len <= SCPP_STORE_INLINE_MAX) {
		struct cell_hdr h;
		union payload p;

		if (ec->v.ext.pin != 0)
			return -EBUSY;
		memcpy(tmp, s->arena + ec->v.ext.off, len);
		cell_release(s, &e->h, &ec->v);
		h = e->h;
		h.kind = K_INLINE;
		h.ilen = (uint16_t)len;
		memset(&p, 0, sizeof(p));
		memcpy(p.b, tmp, len);
		ent_cell_store(s, (uint32_t)x, &h, &p);
		return 0;
	}
	if (len > cap || (len * 4 <= cap && ec->v.ext.pin == 0)) {
		struct cell_hdr nh;
		union payload np;
		int rc;

		if (ec->v.ext.pin != 0)
			return -EBUSY;
		rc = cell_build(s, e->h.type, len, NULL, NULL, &nh, &np);
		if (rc != 0) {
			if (len <= cap)
				goto in_place; /* shrink: staying is fine */
			return rc;
		}
		memcpy(s->arena + np.ext.off, s->arena + ec->v.ext.off, SCPP_MIN(cur, len));
		cell_release(s, &e->h, &ec->v);
		e->h = nh;
		ec->v = np;
		return 0;
	}
in_place:
	if (len > cur)
		memset(s->arena + ec->v.ext.off + cur, 0, len - cur);
	s->ex.payload_bytes += len;
	s->ex.payload_bytes -= cur;
	ec->v.ext.len = (uint32_t)len;
	return 0;
}

static int64_t
find_ext(const struct scpp_store *s, struct scpp_oid oid, uint32_t attr)
{
	int64_t x = find_bytes(s, oid, attr);

	if (x >= 0 && s->ent[x].h.kind != K_EXT)
		return -EMEDIUMTYPE;
	return x;
}

int
scpp_store_bytes_ptr(struct scpp_store *s, struct scpp_oid oid, uint32_t attr,
		     uint64_t off, uint64_t len, void **ptr)
{
	int64_t x = find_ext(s, oid, attr);

	if (x < 0)
		return (int)x;
	if (ptr == NULL)
		return -EINVAL;
	if (!range_ok(off, len, s->cold[x].v.ext.len))
		return -ERANGE;
	/* A copy engine writing through the pointer would change an indexed
	 * value behind the index's back. */
	if (vix_on(s, attr))
		return -EPERM;
	*ptr = s->arena + s->cold[x].v.ext.off + off;
	return 0;
}

int
scpp_store_bytes_pin(struct scpp_store *s, struct scpp_oid oid, uint32_t attr)
{
	int64_t x = find_ext(s, oid, attr);
	struct ecold *ec;

	if (x < 0)
		return (int)x;
	ec = &s->cold[x];
	if (ec->v.ext.pin == UINT16_MAX)
		return -EOVERFLOW;
	if (ec->v.ext.pin++ == 0)
		stat_add(&s->n_pinned, 1);
	return 0;
}

int
scpp_store_bytes_unpin(struct scpp_store *s, struct scpp_oid oid, uint32_t attr)
{
	int64_t x = find_ext(s, oid, attr);
	struct ecold *ec;

	if (x < 0)
		return (int)x;
	ec = &s->cold[x];
	if (ec->v.ext.pin == 0)
		return -EINVAL;
	if (--ec->v.ext.pin == 0)
		stat_add(&s->n_pinned, -1);
	return 0;
}
