/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SCPP_STORE_H
#define SCPP_STORE_H

/**
 * @file
 * The attribute store: one hugepage-backed shard per worker core, plus the
 * attribute dictionary that all shards share.
 *
 * Model
 * -----
 * - A **shard** is one core's exclusive store (MICA's EREW): one thread reads
 *   and writes it, with no locks. Every byte it will ever use is allocated at
 *   scpp_store_create() through a memory provider (struct scpp_store_mem_ops;
 *   by default rte_malloc_socket() on the configured NUMA socket, i.e.
 *   hugepages when EAL has them). Nothing is allocated or freed afterwards.
 * - An **entity** is an OID that exists in the shard. It is created with a
 *   given OID (scpp_store_entity_create(), e.g. well-known schema OIDs) or a
 *   freshly minted one (scpp_store_entity_mint()), and deleted with
 *   everything it holds (scpp_store_entity_delete()).
 * - A **triple** is (entity OID, attribute id) -> value. Attribute ids are
 *   32-bit numbers interned from attribute names by the dictionary
 *   (struct scpp_store_dict); id 0 is reserved. A triple's value is a plain
 *   typed value (struct scpp_value) or a **map** (Hash[K,V]), never both.
 * - A **map attribute** holds entries key -> value, where both key and value
 *   are any struct scpp_value. Entries are enumerated in **insertion order**
 *   (re-setting an existing key keeps its place; deleting and re-adding a key
 *   moves it to the end).
 * - **Byte strings**: str and bytes values up to config.max_value_len
 *   (default 64 MiB). Values of at most SCPP_STORE_INLINE_MAX bytes live
 *   inline in the triple; longer ones live in an extent of the shard's
 *   size-class (buddy) allocator. They support ranged read/write, resize
 *   (zero-filled growth, truncation) and allocation of a zeroed string.
 *
 * Atomicity and capacity
 * ----------------------
 * Every mutating call either fully happens or returns a negative errno and
 * leaves the shard exactly as it was (contents, statistics, capacity). The
 * resources a mutation may consume are: table entries (one per entity, one
 * per triple or map attribute), map entries (one per map key), and extents
 * (one per str/bytes value or map key/value longer than SCPP_STORE_INLINE_MAX).
 * The index tables are sized so that they can never fill before the entry
 * pools do, so a block of commands can be validated before it is applied
 * with scpp_store_fits(): it answers exactly whether a sequence of
 * allocations would succeed, given the shard's current state. It ignores
 * frees the block would do on the way, so it is conservative (it may say
 * -ENOSPC for a block that frees as much as it allocates, never 0 for a
 * block that would run out). Undo/redo of multi-command blocks belongs to
 * the evaluator, not to the store.
 *
 * Borrowed memory and address stability
 * -------------------------------------
 * A str/bytes value returned by a get points into shard memory (inline
 * values point into the triple's entry). It stays valid and at the same
 * address until that same triple or map entry is mutated (set, delete,
 * resize beyond its capacity, entity delete) -- other mutations never move
 * it. A copy engine that reads or writes an extent asynchronously pins it
 * with scpp_store_bytes_pin(); while the pin count is non-zero, every
 * mutation that could move or free the extent (set, del, resize, entity
 * delete, map set/del of that entry) fails with -EBUSY, while ranged
 * reads/writes remain allowed. Pinning is only offered for extent values
 * (longer than SCPP_STORE_INLINE_MAX) since inline values are not
 * addressable by DMA in any useful way; pinning an inline value returns
 * -EMEDIUMTYPE. The extent arena is one region: see scpp_store_mem_region()
 * for RDMA/DMA registration.
 *
 * Threading
 * ---------
 * A shard is single-threaded: all scpp_store_* shard calls must come from
 * its owning lcore (or, before the workers start, from the control thread).
 * scpp_store_stats_get() is the one exception: it reads counters with relaxed
 * atomics and may be called from the telemetry thread; figures may be
 * slightly stale but each is individually consistent.
 * The dictionary is lock-free for readers and writers on any thread (workers
 * intern the new names of a block when it commits). It is append-only, so
 * readers never see memory being reclaimed: see struct scpp_store_dict.
 *
 * Errors
 * ------
 * Integer functions return 0 (or a count) or a negative errno:
 * - -EINVAL: bad argument (NULL pointer, attribute id 0, nil OID, unknown
 *   value type, str value that is not the right type for the operation);
 * - -ENOENT: the entity, triple, map or map key does not exist;
 * - -EEXIST: creating something that exists;
 * - -ENOSPC: out of table entries, map entries or extent memory;
 * - -E2BIG: a value longer than config.max_value_len;
 * - -ERANGE: a byte range outside the value (including offset+len overflow);
 * - -EMEDIUMTYPE: the triple holds the wrong kind of value (a map where a
 *   plain value was needed, or the reverse; a non-str/bytes value for a
 *   byte-range operation);
 * - -EBUSY: the value (or one of an entity's values) is pinned.
 * Attribute id 0 (SCPP_STORE_ATTR_NONE) is reserved for the entity header and
 * refused with -EINVAL by every triple, map and byte-string call.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scpp_common.h"
#include "scpp_oid.h"
#include "scpp_value.h"

/** Largest burst for the _burst functions; stack arrays are sized to it. */
#define SCPP_STORE_BURST_MAX 64
/** Unroll factor of the burst pipelines (tests cover n = unroll +- 1). */
#define SCPP_STORE_BURST_UNROLL 4
/** str/bytes values of at most this many bytes are stored inline. */
#define SCPP_STORE_INLINE_MAX 16
/** Default config.max_value_len: 64 MiB. */
#define SCPP_STORE_VALUE_LEN_DEFAULT (UINT64_C(64) << 20)
/** Smallest extent (size class 0) in bytes; classes double up to the max. */
#define SCPP_STORE_EXTENT_MIN 32
/** Number of extent size classes: 32 B .. 2^(5+39) covers any config. */
#define SCPP_STORE_CLASSES 40
/** Reserved attribute id: never interned, refused by every triple call. */
#define SCPP_STORE_ATTR_NONE 0
/** Most attributes one shard can index (scpp_store_index_attr()). */
#define SCPP_STORE_INDEXED_MAX 64
/** Longest attribute name the dictionary accepts, in bytes. */
#define SCPP_STORE_ATTR_NAME_MAX 255

struct scpp_store;      /**< one shard (opaque) */
struct scpp_store_dict; /**< the shared attribute dictionary (opaque) */

/**
 * Memory provider. Every allocation a shard or dictionary makes goes
 * through it, once, at creation; memory is returned at _free(). The
 * provider need not zero memory.
 */
struct scpp_store_mem_ops {
	/**
	 * Allocate @p size bytes aligned to @p align (a power of two, at most
	 * 4096) on NUMA @p socket (SOCKET_ID_ANY = -1 allowed). @p name is a
	 * short diagnostic name. Returns NULL on failure.
	 */
	void *(*alloc)(void *ctx, const char *name, size_t size, size_t align,
		       int socket);
	/** Return memory from alloc(); @p p is never NULL. */
	void (*free)(void *ctx, void *p, size_t size);
	void *ctx; /**< passed to both hooks */
};

/** rte_malloc_socket()/rte_free(): hugepages when EAL has them. Needs EAL. */
extern const struct scpp_store_mem_ops scpp_store_mem_rte;
/**
 * Anonymous mmap (MAP_NORESERVE, so untouched memory costs nothing):
 * for tests and tools that run without EAL. Not NUMA-aware.
 */
extern const struct scpp_store_mem_ops scpp_store_mem_libc;

/** Shard configuration; fill with scpp_store_config_init() then adjust. */
struct scpp_store_config {
	const char *name;      /**< diagnostic name (may be NULL) */
	int socket_id;         /**< NUMA socket, or -1 for any */
	uint32_t max_entries;  /**< table entries: entities + triples; >= 1, < 2^31 */
	uint32_t max_map_entries; /**< map entries over all maps; may be 0, < 2^31 */
	uint64_t extent_bytes; /**< extent arena size; rounded up to a
				*   multiple of the largest class; may be 0 */
	uint64_t max_value_len; /**< longest str/bytes value (and map key or
				 *   value); default 64 MiB, <= UINT32_MAX */
	uint16_t oid_locale;   /**< OIDs minted by scpp_store_entity_mint() */
	uint32_t oid_node;     /**< ... */
	uint16_t oid_shard;    /**< ... */
	uint32_t oid_epoch;    /**< boot epoch, 1..SCPP_OID_EPOCH_MAX */
	uint32_t max_indexed;  /**< value-index capacity: indexed triples (and
				*   distinct values) over all indexed attributes;
				*   0 (the default): no value index. About 77 bytes
				*   each. */
	uint64_t hash_seed;    /**< key of the index hashes; 0: random per
				*   shard at creation (getrandom). Tests fix
				*   it to reproduce a layout. */
	const struct scpp_store_mem_ops *mem; /**< NULL: scpp_store_mem_rte */
};

/**
 * Longest probe of the triple and map indexes, in 64-byte buckets (12
 * slots each) from a key's home bucket. An insert that finds no free slot
 * that close fails with -ENOSPC, so every lookup examines at most this many
 * buckets. With keyed hashes and the indexes sized for 60 % (triples) and
 * 85 % (maps) slot load at max_entries this does not happen in practice:
 * filling 10^6-entry tables to the last entry needed under 48 buckets in
 * nearly every run (at 85 %); 128 keeps a margin (docs/STORE.md).
 */
#define SCPP_STORE_PROBE_MAX 128

/** A triple key for the burst calls. */
struct scpp_store_key {
	struct scpp_oid oid; /**< entity */
	uint32_t attr;       /**< attribute id (not 0) */
	uint32_t rsv;        /**< reserved, ignored */
};

/** One attribute as returned by scpp_store_attr_iter(). */
struct scpp_store_attr {
	uint32_t attr;     /**< attribute id */
	uint32_t is_map;   /**< 1 if the attribute is a map (value is then nil) */
	uint64_t map_count; /**< number of map entries when is_map */
	struct scpp_value value; /**< the value (borrowed, see file comment) */
};

/**
 * What a block of mutations would allocate, for scpp_store_fits().
 * Count an entity create as one entry; a set of a new triple or a new map
 * attribute as one entry; a new map key as one map entry; every str/bytes
 * value (or map key/value) longer than SCPP_STORE_INLINE_MAX as one extent
 * of its length (resizes: the new length).
 */
struct scpp_store_need {
	uint64_t entries;       /**< table entries */
	uint64_t map_entries;   /**< map entries */
	const uint64_t *extent_len; /**< lengths of the extents, in the order
				     *   they will be allocated (may be NULL
				     *   when n_extents is 0) */
	uint32_t n_extents;     /**< number of elements of extent_len */
};

/** Shard statistics for telemetry (all counts are current, not cumulative). */
struct scpp_store_stats {
	uint64_t entities;        /**< entities */
	uint64_t triples;         /**< triples incl. map attributes */
	uint64_t maps;            /**< map attributes */
	uint64_t map_entries;     /**< map entries over all maps */
	uint64_t entries_max;     /**< config.max_entries */
	uint64_t map_entries_max; /**< config.max_map_entries */
	uint64_t buckets;         /**< 64-byte buckets of the triple index */
	uint64_t map_buckets;     /**< 64-byte buckets of the map index */
	double load_factor;       /**< triple index: used slots / all slots */
	double map_load_factor;   /**< map index: used slots / all slots */
	uint64_t overflow_buckets; /**< triple-index buckets whose keys spilled
				    *   to a later bucket (probe length > 1) */
	uint64_t map_overflow_buckets; /**< same for the map index */
	uint64_t extent_bytes;    /**< size of the extent arena */
	uint64_t extent_used;     /**< bytes in allocated extents (class sizes) */
	uint64_t extent_payload;  /**< bytes of value data in extents */
	uint64_t extent_largest_free; /**< largest extent that can be allocated now */
	uint64_t class_count[SCPP_STORE_CLASSES]; /**< extents per size class
						   *   (class c = 32 << c bytes) */
	uint64_t class_free[SCPP_STORE_CLASSES];  /**< free blocks per class */
	uint64_t pinned;          /**< extents with a non-zero pin count */
	uint64_t indexed_attrs;   /**< attributes with a value index */
	uint64_t index_members;   /**< triples in the value index */
	uint64_t index_max;       /**< config.max_indexed */
	uint64_t index_dropped;   /**< value indexes given up (a full probe
				   *   window); their lookups scan */
	uint64_t graveyard_maps;  /**< detached maps not yet reclaimed */
	uint64_t graveyard_entries; /**< their map entries (still allocated) */
	uint64_t mem_bytes;       /**< bytes the shard got from its provider */
	double saturation;        /**< max(entries, map entries, extent bytes)
				   *   used / available, 0..1 */
};

/** Configuration of the attribute dictionary. */
struct scpp_store_dict_config {
	uint32_t max_attrs;   /**< ids 1..max_attrs can be handed out; < 2^30 */
	uint64_t name_bytes;  /**< bytes for all names (each name + 1) */
	int socket_id;        /**< NUMA socket, or -1 */
	const struct scpp_store_mem_ops *mem; /**< NULL: scpp_store_mem_rte */
};

/* ---------------------------------------------------------------- control */

/**
 * Fill @p cfg with defaults: 1 Mi entries, 1 Mi map entries, 64 MiB of
 * extents, max_value_len 64 MiB, socket -1, epoch 1, rte memory provider.
 */
void scpp_store_config_init(struct scpp_store_config *cfg);

/**
 * Bytes a shard with this configuration takes from its provider (the sum of
 * its regions, before provider overhead). Use it to size hugepages.
 *
 * @return the byte count, or 0 if @p cfg is invalid.
 */
uint64_t scpp_store_mem_size(const struct scpp_store_config *cfg);

/**
 * Create a shard. Control thread; may block; allocates all memory now.
 *
 * @param cfg
 *   Configuration (copied; not referenced afterwards).
 * @return
 *   The shard, or NULL with rte_errno set (and errno set to the same value,
 *   so callers without EAL can read either):
 *   - EINVAL: NULL @p cfg, max_entries 0 or >= 2^31, max_map_entries
 *     >= 2^31, max_value_len 0 or > UINT32_MAX, epoch 0 or too wide;
 *   - ENOMEM: the provider could not supply the memory.
 */
struct scpp_store *scpp_store_create(const struct scpp_store_config *cfg);

/**
 * Free a shard and all its memory. @p s may be NULL (no-op). Pins are
 * ignored: the caller must have stopped every copy engine.
 */
void scpp_store_free(struct scpp_store *s);

/**
 * Remove everything (entities, triples, maps, extents), returning the shard
 * to its state right after creation (the OID generator keeps counting).
 *
 * @return 0, or -EBUSY if any extent is pinned (nothing removed).
 */
int scpp_store_clear(struct scpp_store *s);

/**
 * Fill @p st with current statistics. Any thread (relaxed reads).
 */
void scpp_store_stats_get(const struct scpp_store *s, struct scpp_store_stats *st);

/**
 * The extent arena's address and length, to register with an RDMA device
 * or to translate for a DMA engine. Constant for the shard's life.
 */
void scpp_store_mem_region(const struct scpp_store *s, void **base, size_t *len);

/**
 * Would a block that allocates @p need succeed on the shard as it is now?
 * Exact for the allocations listed (extents in the given order), ignoring
 * any frees (see the file comment): a 0 answer guarantees that applying the
 * allocations in that order cannot fail with -ENOSPC.
 *
 * @return 0 if it fits; -ENOSPC if it does not; -E2BIG if an extent is
 *   longer than max_value_len; -EINVAL for NULL arguments.
 */
int scpp_store_fits(const struct scpp_store *s, const struct scpp_store_need *need);

/* --------------------------------------------------------------- entities */

/**
 * Create entity @p oid (with no attributes). Uses one table entry.
 *
 * @return 0; -EINVAL (nil OID); -EEXIST; -ENOSPC (no table entry left).
 */
int scpp_store_entity_create(struct scpp_store *s, struct scpp_oid oid);

/**
 * Mint a new OID from the shard's generator and create that entity.
 *
 * @param out  receives the OID (written only on success).
 * @return 0; -EINVAL (NULL @p out); -ENOSPC (no table entry left, or the
 *   epoch's counter space is used up).
 */
int scpp_store_entity_mint(struct scpp_store *s, struct scpp_oid *out);

/**
 * The entity before @p oid in entity order (scpp_store_entity_iter()), for
 * an undo log that must put a deleted entity back where it was.
 *
 * @param prev  receives the OID, or SCPP_OID_NIL if @p oid is first.
 * @return 0; -ENOENT; -EINVAL.
 */
int scpp_store_entity_prev(const struct scpp_store *s, struct scpp_oid oid,
			   struct scpp_oid *prev);

/**
 * Create entity @p oid right after entity @p prev in entity order (at the
 * head when @p prev is SCPP_OID_NIL), with creation sequence @p seq (what
 * scpp_store_entity_seq() said before it was deleted; 0: a new one).
 * Otherwise as scpp_store_entity_create().
 *
 * @return 0; -EINVAL; -EEXIST; -ENOSPC; -ENOENT (@p prev does not exist).
 */
int scpp_store_entity_create_after(struct scpp_store *s, struct scpp_oid oid,
				   struct scpp_oid prev, uint32_t seq);

/**
 * The creation sequence of entity @p oid: entity order is increasing
 * sequence order (after 2^32 creations on a shard the shard renumbers its
 * entities, in order). 0 if @p oid does not exist.
 */
uint32_t scpp_store_entity_seq(const struct scpp_store *s, struct scpp_oid oid);

/* ----------------------------------------------------------- value index */

/** One entity found through the value index. */
struct scpp_store_hit {
	struct scpp_oid oid;  /**< the entity */
	uint32_t seq;         /**< its creation sequence (sort by it for entity order) */
	uint32_t rsv;
};

/**
 * Index (or stop indexing) the values of attribute @p attr: afterwards
 * scpp_store_index_find() answers "which entities hold value v under
 * attr" in time proportional to the answer. Switching it on indexes the
 * existing triples (a pass over the entities: control, or a rare schema
 * adoption). Plain values only (map attributes are never indexed).
 * Every later write keeps the index exact, with undo included, at the
 * cost of two index updates per write of an indexed attribute.
 *
 * @return 0; -EOPNOTSUPP (config.max_indexed is 0); -ENOSPC (64
 *   attributes indexed already, or the pool is too small: the attribute
 *   is then marked, and lookups answer -ESTALE); -EINVAL.
 */
int scpp_store_index_attr(struct scpp_store *s, uint32_t attr, bool on);

/** True if @p attr has a usable value index. */
bool scpp_store_attr_indexed(const struct scpp_store *s, uint32_t attr);

/**
 * Entities whose plain triple (entity, @p attr) equals @p val, in index
 * order (not entity order: sort by seq). Cursor rules as
 * scpp_store_attr_iter() (valid while the shard is not mutated).
 *
 * @return hits written (0 at the end); -ESTALE (@p attr is not indexed, or
 *   its index was given up: scan instead); -EINVAL.
 */
int scpp_store_index_find(const struct scpp_store *s, uint32_t attr,
			  const struct scpp_value *val, uint64_t *cursor,
			  struct scpp_store_hit *out, unsigned int n);

/**
 * The shard's probe counter: index buckets examined past a key's home
 * bucket, by every lookup and insert so far. The evaluator reads it around
 * a block and charges the difference as steps. The pointer is constant for
 * the shard's life; the owning lcore reads it (no atomics).
 */
const uint64_t *scpp_store_probe_counter(const struct scpp_store *s);

/** True if entity @p oid exists. */
bool scpp_store_entity_exists(const struct scpp_store *s, struct scpp_oid oid);

/**
 * Number of attributes (plain and map) of entity @p oid.
 *
 * @return the count (>= 0), or -ENOENT if the entity does not exist.
 */
int64_t scpp_store_entity_count(const struct scpp_store *s, struct scpp_oid oid);

/**
 * Delete entity @p oid with all its triples, map entries and extents.
 * Work is proportional to the entity's size (a map of 10^6 entries takes
 * milliseconds): callers on the data path bound it through the evaluator's
 * limits.
 *
 * @return 0; -ENOENT; -EBUSY if any of its extents is pinned (nothing
 *   deleted).
 */
int scpp_store_entity_delete(struct scpp_store *s, struct scpp_oid oid);

/**
 * Enumerate the shard's entities (for an unbound entity variable).
 *
 * Order is **creation order**: the shard keeps its live entities on a list
 * (new ones at the end; scpp_store_entity_create_after() puts one back at
 * its old place). Cost is exactly the number of entities returned: the
 * walk never visits free or attribute slots. The cursor names the next
 * entity; it stays valid across creates and across deletes of other
 * entities, and a call whose next entity was deleted returns -ESTALE.
 *
 * @param cursor  In/out: 0 to start; UINT64_MAX once complete.
 * @param out     Array of @p n OIDs.
 * @return number of OIDs written (0 .. @p n; 0 at the end), -ESTALE (see
 *   above), or -EINVAL (NULL @p s or @p cursor, or NULL @p out with n > 0).
 */
int scpp_store_entity_iter(const struct scpp_store *s, uint64_t *cursor,
			   struct scpp_oid *out, unsigned int n);

/**
 * Enumerate the attributes of @p oid in **attribute insertion order**
 * (setting an existing attribute keeps its place).
 *
 * @param cursor
 *   In/out: 0 to start; pass back what the previous call left. It is
 *   UINT64_MAX once the enumeration is complete. A cursor stays valid across
 *   calls as long as the entity is not mutated in between.
 * @param out
 *   Array of @p n elements; values are borrowed (file comment).
 * @return number of attributes written (0 .. @p n; 0 at the end), or
 *   -ENOENT (no such entity), -EINVAL (NULL cursor or out with n > 0).
 */
int scpp_store_attr_iter(const struct scpp_store *s, struct scpp_oid oid,
			 uint64_t *cursor, struct scpp_store_attr *out,
			 unsigned int n);

/* ---------------------------------------------------------------- triples */

/**
 * Look up triple (@p oid, @p attr).
 *
 * @param out
 *   Receives the value; str/bytes are borrowed from the shard.
 * @return 0; -ENOENT (no entity or no such attribute); -EMEDIUMTYPE (the
 *   attribute is a map); -EINVAL (attr 0, NULL @p out).
 */
int scpp_store_get(const struct scpp_store *s, struct scpp_oid oid,
		   uint32_t attr, struct scpp_value *out);

/**
 * Look up up to SCPP_STORE_BURST_MAX triples with a prefetching pipeline
 * (hash all keys, prefetch buckets, match tags, prefetch entries, copy out).
 * Keys may name different entities and attributes, and repeat. Each found
 * value is written exactly as scpp_store_get() of that key writes it, and
 * the probe counter moves as it would for those gets one by one.
 *
 * @param keys   @p n keys.
 * @param n      0 .. SCPP_STORE_BURST_MAX.
 * @param vals   @p n values; vals[i] is written only when key i is found
 *               (a plain value; map attributes count as missing).
 * @param hit_mask  receives bit i set iff key i was found; may be NULL.
 * @return the number of keys processed: @p n, or 0 if @p n is above
 *   SCPP_STORE_BURST_MAX (then nothing is read or written, mask is 0).
 */
unsigned int scpp_store_get_burst(const struct scpp_store *s,
				  const struct scpp_store_key *keys,
				  unsigned int n, struct scpp_value *vals,
				  uint64_t *hit_mask);

/**
 * The hash a lookup of triple (@p oid, @p attr) in @p s starts from: a pure
 * function of the key and the shard's hash seed, which is fixed when the
 * shard is created, so a key's hash stays valid for the shard's lifetime
 * whatever is written, deleted or cleared meanwhile. scpp_store_prefetch()
 * returns the same value.
 */
uint64_t scpp_store_hash(const struct scpp_store *s, struct scpp_oid oid, uint32_t attr);

/**
 * scpp_store_get() of a key whose hash the caller already has
 * (scpp_store_hash() or scpp_store_prefetch() of the same key on @p s):
 * the key is not hashed again. Same results as scpp_store_get() when
 * @p hash is the key's; see scpp_store_get_burst_hashed() for a hash that
 * is not.
 */
int scpp_store_get_hashed(const struct scpp_store *s, struct scpp_oid oid, uint32_t attr,
			  uint64_t hash, struct scpp_value *out);

/**
 * scpp_store_get_burst() for keys the caller has already hashed, e.g. a
 * worker that prefetched a burst of blocks' keys with scpp_store_prefetch()
 * and scpp_store_prefetch_entry() before evaluating them: each key is
 * hashed once, and the lookup goes on from its home bucket.
 *
 * Contract: hashes[i] is scpp_store_hash(@p s, keys[i].oid, keys[i].attr).
 * Then the values, the hit mask and the probe counter are exactly those of
 * scpp_store_get_burst() of @p keys. A hash is never trusted for the value:
 * every candidate's full key is compared, so a wrong hash (one of another
 * key, or of another shard) never returns another key's value, but it may
 * report key i missing although it is present, and count other probes. A
 * caller that cannot prove its hashes right treats a miss as "not known"
 * and looks the key up again with scpp_store_get().
 *
 * @param hashes  @p n hashes, hashes[i] for keys[i].
 * Other parameters and the return value as scpp_store_get_burst().
 */
unsigned int scpp_store_get_burst_hashed(const struct scpp_store *s,
					 const struct scpp_store_key *keys,
					 const uint64_t *hashes, unsigned int n,
					 struct scpp_value *vals, uint64_t *hit_mask);

/**
 * Start fetching what a lookup of triple (@p oid, @p attr) will read: its
 * home index bucket. Reads nothing, changes nothing (no probe is counted).
 * A caller with many lookups to come (a burst of blocks) prefetches every
 * key's bucket first, then every entry (scpp_store_prefetch_entry()), then
 * looks them up, so that the misses of all of them overlap.
 *
 * @return The key's hash (scpp_store_hash()), for scpp_store_prefetch_entry()
 *   and scpp_store_get_burst_hashed().
 */
uint64_t scpp_store_prefetch(const struct scpp_store *s, struct scpp_oid oid, uint32_t attr);

/**
 * For a key scpp_store_prefetch() hashed, once its bucket had time to
 * arrive: prefetch the entry the lookup will compare first, or the next
 * bucket when the home bucket has no candidate and keys spilled past it.
 * Changes nothing (no probe is counted).
 */
void scpp_store_prefetch_entry(const struct scpp_store *s, uint64_t hash);

/**
 * scpp_store_prefetch() of @p n keys in one call: hashes[i] receives the
 * hash of keys[i] (scpp_store_hash()). Changes nothing.
 */
void scpp_store_prefetch_burst(const struct scpp_store *s, const struct scpp_store_key *keys,
			       unsigned int n, uint64_t *hashes);

/** scpp_store_prefetch_entry() of @p n hashes in one call. Changes nothing. */
void scpp_store_prefetch_entries(const struct scpp_store *s, const uint64_t *hashes,
				 unsigned int n);

/**
 * What scpp_store_prefetch_cand() found for one key: the entry a lookup of
 * that hash compares first, and when. Filled by the store and read by the
 * _cand gets; the caller only carries it from the one to the other.
 */
struct scpp_store_cand {
	const void *entry; /**< the home bucket's first candidate, or an entry
			    *   of the store's that matches no key's lookup */
	uint64_t hash;     /**< the hash it was found for */
	uint64_t stamp;    /**< the triple index's change count at the time */
};

/**
 * scpp_store_prefetch_entries() that also keeps what it found: cands[i]
 * receives the first candidate of hashes[i] (the entry it prefetches), the
 * hash and the shard's index change stamp, for scpp_store_get_cand() and
 * scpp_store_get_burst_cand(), which then start from that entry instead of
 * finding it again. The stamp moves with every insert into and removal from
 * the triple index, every scpp_store_clear() and every byte-string resize,
 * so a candidate of a key whose bucket may have changed since is never
 * used. Changes nothing (no probe is counted).
 *
 * @param cands  @p n candidates written, cands[i] for hashes[i].
 */
void scpp_store_prefetch_cand(const struct scpp_store *s, const uint64_t *hashes,
			      unsigned int n, struct scpp_store_cand *cands);

/**
 * scpp_store_get_hashed() of key @p key (entity and attribute) that starts
 * from the candidate scpp_store_prefetch_cand() found for @p hash on @p s:
 * while the stamp in
 * @p cand is the shard's and @p cand was made for @p hash, the home bucket
 * is not read again. Otherwise (the index changed since, or @p cand is of
 * another hash: the candidate is stale) it counts a fallback
 * (scpp_store_cand_fallbacks()) and is scpp_store_get_hashed(). Either way
 * the value, the error and the probe counter are exactly those of
 * scpp_store_get_hashed() of @p hash, since an unchanged index has the
 * same first candidate and every candidate's full key is compared.
 *
 * @param key   the key (not NULL; rsv is ignored).
 * @param cand  from scpp_store_prefetch_cand() on this shard (not NULL).
 * @return as scpp_store_get_hashed().
 */
int scpp_store_get_cand(const struct scpp_store *s, const struct scpp_store_key *key,
			uint64_t hash, const struct scpp_store_cand *cand,
			struct scpp_value *out);

/**
 * scpp_store_get_burst_hashed() that starts each key from its candidate,
 * as scpp_store_get_cand() does for one key (a stale candidate counts a
 * fallback and that key takes the full lookup). Values, hit mask and probe
 * counter are exactly those of scpp_store_get_burst_hashed() of @p hashes.
 *
 * @param cands  @p n candidates from scpp_store_prefetch_cand() on this
 *   shard, cands[i] for keys[i].
 * Other parameters and the return value as scpp_store_get_burst_hashed().
 */
unsigned int scpp_store_get_burst_cand(const struct scpp_store *s,
				       const struct scpp_store_key *keys,
				       const uint64_t *hashes,
				       const struct scpp_store_cand *cands, unsigned int n,
				       struct scpp_value *vals, uint64_t *hit_mask);

/**
 * Candidates the _cand gets could not use because they were stale (the
 * triple index changed after scpp_store_prefetch_cand(), or the candidate
 * was made for another hash), since the shard was created; the owning
 * lcore reads it. For tests and diagnostics.
 */
uint64_t scpp_store_cand_fallbacks(const struct scpp_store *s);

/**
 * Set triple (@p oid, @p attr) to @p v, replacing a plain value. The entity
 * must exist. str/bytes data is copied into the shard.
 *
 * @return 0; -EINVAL (attr 0 or NULL @p v or unknown type); -ENOENT (no
 *   entity); -EMEDIUMTYPE (the attribute is a map: delete it first);
 *   -E2BIG (longer than max_value_len); -ENOSPC (no entry or extent);
 *   -EBUSY (the old value is pinned).
 */
int scpp_store_set(struct scpp_store *s, struct scpp_oid oid, uint32_t attr,
		   const struct scpp_value *v);

/**
 * Set up to @p n triples in order, with the same prefetching pipeline as
 * scpp_store_get_burst(). Stops at the first item that fails.
 *
 * @return the number of leading items applied (0 .. @p n); the item at the
 *   returned index (if < @p n) failed and the caller retries it with
 *   scpp_store_set() to learn why. Returns 0 if @p n exceeds
 *   SCPP_STORE_BURST_MAX (nothing applied).
 */
unsigned int scpp_store_set_burst(struct scpp_store *s,
				  const struct scpp_store_key *keys,
				  const struct scpp_value *vals, unsigned int n);

/**
 * Delete triple (@p oid, @p attr); if it is a map, with all its entries.
 *
 * @return 0; -ENOENT; -EINVAL (attr 0); -EBUSY (pinned value or entry).
 */
int scpp_store_del(struct scpp_store *s, struct scpp_oid oid, uint32_t attr);

/**
 * Change the attribute id of triple (@p oid, @p from) to @p to, keeping its
 * value (plain or map, with all entries) and its place in the entity's
 * attribute order. O(1). The evaluator uses it when a block that wrote a
 * new attribute name under a provisional id commits and the name gets its
 * dictionary id.
 *
 * @return 0; -ENOENT (no such triple); -EEXIST (@p to exists on @p oid);
 *   -ENOSPC (no free index slot near @p to's home: nothing changed);
 *   -EINVAL (attr 0 on either side).
 */
int scpp_store_attr_rename(struct scpp_store *s, struct scpp_oid oid, uint32_t from,
			   uint32_t to);

/* ------------------------------------------------------------------- maps */

/** Entries an on-demand reclaim frees at most (when a pool is short). */
#define SCPP_STORE_RECLAIM_BATCH 1024

/**
 * Delete map (@p oid, @p attr) in O(1), however many entries it has: it
 * vanishes from every lookup and enumeration at once, and its entries are
 * freed later, incrementally (scpp_store_reclaim(), and on demand when a
 * pool runs short). Until the caller calls scpp_store_seal(), the map can
 * be brought back whole with scpp_store_map_revive() (an undo).
 *
 * Capacity: the entries stay allocated until reclaimed, so inserts in the
 * same block cannot use them.
 *
 * @param token  receives what scpp_store_map_revive() needs.
 * @return 0; -ENOENT; -EMEDIUMTYPE (a plain value); -EINVAL.
 */
int scpp_store_map_detach(struct scpp_store *s, struct scpp_oid oid, uint32_t attr,
			  uint32_t *token);

/**
 * Undo the newest scpp_store_map_detach() not yet sealed: the map is back
 * whole, at the end of its entity's attribute order.
 *
 * @return 0; -EINVAL (not the newest unsealed detach); -ENOENT (the entity
 *   is gone); -EEXIST (the attribute exists again); -ENOSPC.
 */
int scpp_store_map_revive(struct scpp_store *s, uint32_t token);

/** End of a block: what it detached becomes reclaimable (no revive). */
void scpp_store_seal(struct scpp_store *s);

/**
 * scpp_store_seal() then scpp_store_reclaim(@p budget), for the end of a
 * block; costs one test when there is no garbage.
 *
 * @return entries freed.
 */
uint64_t scpp_store_end_block(struct scpp_store *s, uint64_t budget);

/**
 * Free up to @p budget map entries (and emptied map attributes) of sealed
 * detached maps, oldest first. O(@p budget).
 *
 * @return how many were freed (0: nothing to reclaim).
 */
uint64_t scpp_store_reclaim(struct scpp_store *s, uint64_t budget);

/**
 * Make (@p oid, @p attr) an empty map.
 *
 * @return 0; -ENOENT (no entity); -EEXIST (the attribute exists, as a map
 *   or a plain value); -ENOSPC (no entry); -EINVAL (attr 0).
 */
int scpp_store_map_create(struct scpp_store *s, struct scpp_oid oid, uint32_t attr);

/**
 * Look up @p key in map (@p oid, @p attr).
 *
 * @return 0 with *@p out set (borrowed); -ENOENT (no entity, no map or no
 *   key); -EMEDIUMTYPE (the attribute is a plain value); -EINVAL.
 */
int scpp_store_map_get(const struct scpp_store *s, struct scpp_oid oid,
		       uint32_t attr, const struct scpp_value *key,
		       struct scpp_value *out);

/**
 * Look up up to SCPP_STORE_BURST_MAX keys of one map, pipelined.
 *
 * @return the number of keys processed (@p n, or 0 if @p n is above the
 *   maximum or the map does not exist); *@p hit_mask bit i set iff keys[i]
 *   was found and vals[i] written.
 */
unsigned int scpp_store_map_get_burst(const struct scpp_store *s,
				      struct scpp_oid oid, uint32_t attr,
				      const struct scpp_value *keys,
				      unsigned int n, struct scpp_value *vals,
				      uint64_t *hit_mask);

/**
 * Set @p key to @p val in map (@p oid, @p attr), creating the map attribute
 * if the entity has no such attribute. Key and value data are copied.
 *
 * @return 0; -ENOENT (no entity); -EMEDIUMTYPE (the attribute is a plain
 *   value); -E2BIG; -ENOSPC (entry, map entry or extent); -EBUSY (the old
 *   value is pinned); -EINVAL.
 */
int scpp_store_map_set(struct scpp_store *s, struct scpp_oid oid, uint32_t attr,
		       const struct scpp_value *key, const struct scpp_value *val);

/**
 * Delete @p key from map (@p oid, @p attr). The (now maybe empty) map stays.
 *
 * @return 0; -ENOENT; -EMEDIUMTYPE; -EBUSY; -EINVAL.
 */
int scpp_store_map_del(struct scpp_store *s, struct scpp_oid oid, uint32_t attr,
		       const struct scpp_value *key);

/**
 * Number of entries of map (@p oid, @p attr).
 *
 * @return the count, -ENOENT, -EMEDIUMTYPE or -EINVAL.
 */
int64_t scpp_store_map_count(const struct scpp_store *s, struct scpp_oid oid,
			     uint32_t attr);

/**
 * Enumerate map entries in insertion order; cursor rules as
 * scpp_store_attr_iter() (valid while the map is not mutated).
 *
 * @param keys,vals  arrays of @p n (borrowed values written).
 * @return entries written (0 at the end), -ENOENT, -EMEDIUMTYPE, -EINVAL.
 */
int scpp_store_map_iter(const struct scpp_store *s, struct scpp_oid oid,
			uint32_t attr, uint64_t *cursor, struct scpp_value *keys,
			struct scpp_value *vals, unsigned int n);

/**
 * Home bucket of @p key in the map index, for map (@p oid, @p attr): which
 * keys compete for slots. For diagnostics, and for tests that build a
 * colliding key set against a known hash seed.
 *
 * @return the bucket number (>= 0), or -ENOENT (no such map), -EINVAL.
 */
int64_t scpp_store_map_home_bucket(const struct scpp_store *s, struct scpp_oid oid,
				   uint32_t attr, const struct scpp_value *key);

/* ----------------------------------------------------------- byte strings */

/**
 * Set (@p oid, @p attr) to a zero-filled value of type @p type
 * (SCPP_VT_STR or SCPP_VT_BYTES) and length @p len (the seed's `alloc`).
 *
 * @return 0; -EINVAL (other type, attr 0); -ENOENT; -EMEDIUMTYPE (map);
 *   -E2BIG; -ENOSPC; -EBUSY.
 */
int scpp_store_bytes_alloc(struct scpp_store *s, struct scpp_oid oid,
			   uint32_t attr, uint8_t type, uint64_t len);

/**
 * Copy @p len bytes at @p off of a str/bytes value into @p dst.
 *
 * @return 0; -ENOENT; -EMEDIUMTYPE (not str/bytes, or a map); -ERANGE
 *   (off + len beyond the length, or overflowing); -EINVAL (NULL @p dst
 *   with len > 0). off == length with len 0 is valid.
 */
int scpp_store_bytes_read(const struct scpp_store *s, struct scpp_oid oid,
			  uint32_t attr, uint64_t off, uint64_t len, void *dst);

/**
 * Overwrite @p len bytes at @p off of a str/bytes value. Never changes the
 * length (use scpp_store_bytes_resize() first). Allowed while pinned.
 * Writing into a str value does not re-validate UTF-8: str is bytes with a
 * type label here; the schema layer validates what it accepts.
 *
 * @return as scpp_store_bytes_read().
 */
int scpp_store_bytes_write(struct scpp_store *s, struct scpp_oid oid,
			   uint32_t attr, uint64_t off, uint64_t len,
			   const void *src);

/**
 * Change the length of a str/bytes value: growth appends zeros, truncation
 * drops the tail. The data moves only when it crosses the inline limit or
 * its extent's capacity (a shrink to below a quarter of the capacity also
 * moves it to a smaller extent, falling back to staying in place if none is
 * free).
 *
 * @return 0; -ENOENT; -EMEDIUMTYPE; -E2BIG; -ENOSPC; -EBUSY (pinned and
 *   the data would move).
 */
int scpp_store_bytes_resize(struct scpp_store *s, struct scpp_oid oid,
			    uint32_t attr, uint64_t len);

/**
 * Direct address of bytes [@p off, @p off + @p len) of an extent value, for
 * a copy engine. Stable while the extent is pinned (file comment).
 *
 * @return 0 with *@p ptr set; -ENOENT; -EMEDIUMTYPE (not an extent value:
 *   map, non-str/bytes, or inline); -ERANGE.
 */
int scpp_store_bytes_ptr(struct scpp_store *s, struct scpp_oid oid,
			 uint32_t attr, uint64_t off, uint64_t len, void **ptr);

/**
 * Increment the pin count of an extent value.
 *
 * @return 0; -ENOENT; -EMEDIUMTYPE (not an extent value); -EOVERFLOW
 *   (65535 pins already).
 */
int scpp_store_bytes_pin(struct scpp_store *s, struct scpp_oid oid, uint32_t attr);

/**
 * Decrement the pin count of an extent value.
 *
 * @return 0; -ENOENT; -EMEDIUMTYPE; -EINVAL (not pinned).
 */
int scpp_store_bytes_unpin(struct scpp_store *s, struct scpp_oid oid, uint32_t attr);

/* ------------------------------------------------------------- dictionary */

/**
 * @struct scpp_store_dict
 * The attribute dictionary: name <-> 32-bit id, shared by all shards.
 *
 * Append-only: a name, once interned, keeps its id and its bytes at a fixed
 * address for the dictionary's lifetime. Readers (any thread) are lock-free
 * and wait-free: they find ids through a fixed-size open-addressing index
 * whose slots are written once, with a release compare-and-swap, after the
 * name's record is complete; readers load slots with acquire. Writers are
 * lock-free too: ids and name bytes are reserved with compare-and-swap, and
 * two writers of the same new name agree on the id whose slot CAS won (the
 * other id stays an unnamed hole). Nothing is ever moved or freed while the
 * dictionary lives, so there is nothing to reclaim and no RCU grace period
 * is needed: attribute names are schema vocabulary, bounded and never
 * retired (retiring one would require scanning every shard anyway). The
 * evaluator interns a block's new names only when the block commits, so
 * failed requests cannot fill it (lib/eval).
 */

/**
 * Create a dictionary.
 *
 * @return the dictionary, or NULL with rte_errno/errno: EINVAL (bad config:
 *   max_attrs 0 or >= 2^30, name_bytes 0); ENOMEM.
 */
struct scpp_store_dict *scpp_store_dict_create(const struct scpp_store_dict_config *cfg);

/** Free a dictionary; NULL is a no-op. No reader may still use it. */
void scpp_store_dict_free(struct scpp_store_dict *d);

/**
 * Intern @p name (@p len bytes, any bytes but usually UTF-8): return its id,
 * adding it if new. Any thread; lock-free (never blocks, never spins on
 * another writer).
 *
 * @return the id (1 .. max_attrs) as a positive value; -EINVAL (NULL name,
 *   len 0 or > SCPP_STORE_ATTR_NAME_MAX); -ENOSPC (no id or name bytes
 *   left; the dictionary is unchanged).
 */
int64_t scpp_store_dict_intern(struct scpp_store_dict *d, const char *name,
			       size_t len);

/**
 * Look up the id of @p name without adding it. Lock-free; any thread.
 *
 * @return the id, or -ENOENT; -EINVAL for bad arguments.
 */
int64_t scpp_store_dict_lookup(const struct scpp_store_dict *d,
			       const char *name, size_t len);

/**
 * The name of @p id. Lock-free; any thread.
 *
 * @param len  receives the name length (may be NULL).
 * @return the name (NUL-terminated, valid for the dictionary's lifetime), or
 *   NULL if @p id was never handed out.
 */
const char *scpp_store_dict_name(const struct scpp_store_dict *d, uint32_t id,
				 size_t *len);

/**
 * Number of names interned so far. Ids are in 1 .. max_attrs and usually
 * 1 .. count; a race of two writers on one new name leaves a hole (an id
 * scpp_store_dict_name() answers NULL for). Any thread.
 */
uint32_t scpp_store_dict_count(const struct scpp_store_dict *d);

#endif /* SCPP_STORE_H */
