/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SCPP_OID_H
#define SCPP_OID_H

/**
 * @file
 * 128-bit object identifiers.
 *
 * Every entity (machine, process, file, schema type, status object) is named
 * by an OID. The high 64 bits say where the object lives and therefore double
 * as a route; the low 64 bits are the instance number that the owning shard
 * mints without coordination:
 *
 * @verbatim
 *  127      112 111                80 79      64 63          40 39            0
 * +-----------+--------------------+----------+--------------+---------------+
 * | locale 16 |      node 32       | shard 16 |  epoch 24    |  counter 40   |
 * +-----------+--------------------+----------+--------------+---------------+
 *  \_________________ hi (route) ____________/ \________ lo (instance) ______/
 * @endverbatim
 *
 * - locale: a site or cluster; node: one appliance; shard: one core's store.
 * - epoch: the shard's boot epoch, advanced and persisted at every start
 *   (scpp_oid_epoch_advance()), so OIDs stay unique across restarts.
 * - counter: per-epoch sequence, 2^40 objects per shard per boot.
 *
 * Text form: `@` followed by the five fields in lowercase hexadecimal without
 * leading zeros, separated by dots: `@0.1.2.5.1f` is locale 0, node 1,
 * shard 2, epoch 5, counter 0x1f. Exactly one text form exists per OID, so
 * parse and format round-trip exactly in both directions. A prefix is written
 * as an OID followed by `/bits` (`@0.1.0.0.0/48` = every object of node 1).
 *
 * OIDs with locale, node and shard all zero are the well-known namespace
 * (schema types, the metaschema), identical on every node.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** A 128-bit object id; compare with scpp_oid_cmp(), never memcmp(). */
struct scpp_oid {
	uint64_t hi; /**< locale | node | shard: the routing part */
	uint64_t lo; /**< epoch | counter: the instance part */
};

/** An OID prefix: the first @c len bits of @c oid (the rest must be zero). */
struct scpp_oid_prefix {
	struct scpp_oid oid; /**< bits past len are zero */
	uint8_t len;         /**< 0..128 */
};

#define SCPP_OID_LOCALE_BITS 16
#define SCPP_OID_NODE_BITS 32
#define SCPP_OID_SHARD_BITS 16
#define SCPP_OID_EPOCH_BITS 24
#define SCPP_OID_COUNTER_BITS 40
#define SCPP_OID_EPOCH_MAX ((UINT32_C(1) << SCPP_OID_EPOCH_BITS) - 1)
#define SCPP_OID_COUNTER_MAX ((UINT64_C(1) << SCPP_OID_COUNTER_BITS) - 1)

/** Longest text form: "@" + 4+8+4+6+10 hex digits + 4 dots + "/128" + NUL. */
#define SCPP_OID_STR_MAX 42

/** The all-zero OID; never minted, used as "no object". */
#define SCPP_OID_NIL ((struct scpp_oid){0, 0})

/** Build an OID from its five fields (each masked to its width). */
static inline struct scpp_oid
scpp_oid_make(uint16_t locale, uint32_t node, uint16_t shard, uint32_t epoch,
	      uint64_t counter)
{
	struct scpp_oid o;

	o.hi = ((uint64_t)locale << 48) | ((uint64_t)node << 16) | shard;
	o.lo = ((uint64_t)(epoch & SCPP_OID_EPOCH_MAX) << SCPP_OID_COUNTER_BITS) |
	       (counter & SCPP_OID_COUNTER_MAX);
	return o;
}

static inline uint16_t scpp_oid_locale(struct scpp_oid o) { return (uint16_t)(o.hi >> 48); }
static inline uint32_t scpp_oid_node(struct scpp_oid o) { return (uint32_t)(o.hi >> 16); }
static inline uint16_t scpp_oid_shard(struct scpp_oid o) { return (uint16_t)o.hi; }
static inline uint32_t scpp_oid_epoch(struct scpp_oid o) { return (uint32_t)(o.lo >> SCPP_OID_COUNTER_BITS); }
static inline uint64_t scpp_oid_counter(struct scpp_oid o) { return o.lo & SCPP_OID_COUNTER_MAX; }

static inline bool
scpp_oid_eq(struct scpp_oid a, struct scpp_oid b)
{
	return a.hi == b.hi && a.lo == b.lo;
}

static inline bool
scpp_oid_is_nil(struct scpp_oid a)
{
	return (a.hi | a.lo) == 0;
}

/**
 * True for the well-known namespace: locale, node and shard all zero (schema
 * types, the metaschema). Such OIDs name the same object on every node, so
 * they say nothing about where a block must run.
 */
static inline bool
scpp_oid_is_well_known(struct scpp_oid a)
{
	return a.hi == 0;
}

/** Total order: by hi, then lo, as unsigned numbers. Returns -1, 0 or 1. */
static inline int
scpp_oid_cmp(struct scpp_oid a, struct scpp_oid b)
{
	if (a.hi != b.hi)
		return a.hi < b.hi ? -1 : 1;
	if (a.lo != b.lo)
		return a.lo < b.lo ? -1 : 1;
	return 0;
}

/** 64-bit hash of an OID (a strong mix of both halves; seedless). */
static inline uint64_t
scpp_oid_hash(struct scpp_oid o)
{
	/* Two rounds of the murmur3/splitmix finaliser over hi ^ rot(lo):
	 * OIDs minted in sequence differ only in their low bits, and the
	 * finaliser spreads those over all 64. */
	uint64_t h = o.hi * UINT64_C(0x9e3779b97f4a7c15) ^ o.lo;

	h ^= h >> 30;
	h *= UINT64_C(0xbf58476d1ce4e5b9);
	h ^= h >> 27;
	h *= UINT64_C(0x94d049bb133111eb);
	h ^= h >> 31;
	return h;
}

/** True if @p o starts with the first @p p->len bits of @p p->oid. */
static inline bool
scpp_oid_prefix_match(const struct scpp_oid_prefix *p, struct scpp_oid o)
{
	uint64_t mhi, mlo;

	if (p->len == 0)
		return true;
	if (p->len <= 64) {
		mhi = p->len == 64 ? UINT64_MAX : ~(UINT64_MAX >> p->len);
		return ((o.hi ^ p->oid.hi) & mhi) == 0;
	}
	mlo = p->len >= 128 ? UINT64_MAX : ~(UINT64_MAX >> (p->len - 64));
	return o.hi == p->oid.hi && ((o.lo ^ p->oid.lo) & mlo) == 0;
}

/**
 * Make a prefix of the first @p len bits of @p o (later bits cleared).
 *
 * @return 0, or -EINVAL if @p len > 128.
 */
int scpp_oid_prefix_make(struct scpp_oid_prefix *p, struct scpp_oid o, unsigned int len);

/** Number of leading bits @p a and @p b share (0..128). */
unsigned int scpp_oid_common_bits(struct scpp_oid a, struct scpp_oid b);

/** The /64 prefix naming one shard: every OID that shard can mint. */
struct scpp_oid_prefix scpp_oid_shard_prefix(uint16_t locale, uint32_t node, uint16_t shard);

/**
 * Format an OID in its canonical text form.
 *
 * @param buf
 *   Output buffer, NUL-terminated on return when @p size > 0.
 * @param size
 *   Size of @p buf; SCPP_OID_STR_MAX always suffices.
 * @return
 *   Length of the full text form (excluding NUL), as snprintf. If it is
 *   >= @p size the output was truncated.
 */
int scpp_oid_format(char *buf, size_t size, struct scpp_oid o);

/**
 * Parse the canonical text form of an OID.
 *
 * @param s
 *   Text, not necessarily NUL-terminated.
 * @param len
 *   Number of bytes of @p s to parse; all must be consumed.
 * @return
 *   0 on success, -EINVAL if the text is not a canonical OID (missing `@`,
 *   wrong field count, non-hex or uppercase digit, leading zero, field wider
 *   than its bit width).
 */
int scpp_oid_parse(const char *s, size_t len, struct scpp_oid *out);

/** Format a prefix as `<oid>/<len>`; return value as scpp_oid_format(). */
int scpp_oid_prefix_format(char *buf, size_t size, const struct scpp_oid_prefix *p);

/**
 * Parse `<oid>/<len>`.
 *
 * @return 0, or -EINVAL for bad text, a length over 128, or set bits past the length.
 */
int scpp_oid_prefix_parse(const char *s, size_t len, struct scpp_oid_prefix *out);

/**
 * Per-shard OID generator. Single-threaded: a shard owns its generator.
 */
struct scpp_oid_gen {
	uint64_t hi;      /**< locale | node | shard of every OID minted */
	uint64_t epoch;   /**< boot epoch, already shifted into place */
	uint64_t next;    /**< next counter value */
};

/**
 * Initialise a generator for one shard.
 *
 * @param epoch
 *   The shard's boot epoch (see scpp_oid_epoch_advance()); 1..SCPP_OID_EPOCH_MAX.
 *   Counter 0 of every epoch is skipped, so no minted OID is ever nil.
 * @return 0, or -EINVAL if @p epoch is 0 or too wide.
 */
int scpp_oid_gen_init(struct scpp_oid_gen *g, uint16_t locale, uint32_t node,
		      uint16_t shard, uint32_t epoch);

/**
 * Mint the next OID.
 *
 * @return 0, or -ENOSPC when the epoch's 2^40 counter values are used up
 *   (the caller advances the epoch and re-initialises).
 */
static inline int
scpp_oid_gen_next(struct scpp_oid_gen *g, struct scpp_oid *out)
{
	if (g->next > SCPP_OID_COUNTER_MAX)
		return -ENOSPC;
	out->hi = g->hi;
	out->lo = g->epoch | g->next++;
	return 0;
}

/**
 * Advance the boot epoch kept in @p path and return the new one.
 *
 * The new epoch is max(stored + 1, minutes since 2026-01-01 UTC) so that it
 * moves forward even when the state file is lost, as long as the clock does.
 * The file is replaced atomically (write, fsync, rename). A missing file is
 * treated as stored = 0.
 *
 * @return 0, -ENOSPC if the epoch space is exhausted, -EINVAL if the file's
 *   content is not a decimal epoch, or a negative errno from the file system.
 */
int scpp_oid_epoch_advance(const char *path, uint32_t *epoch);

#endif /* SCPP_OID_H */
