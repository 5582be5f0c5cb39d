/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PERF_PRIV_H
#define PERF_PRIV_H

/*
 * scpp-perf internals: a testpmd/pktgen-style generator of scpp command
 * blocks (docs/PROTOCOL.md) over one DPDK port, on one lcore.
 *
 * Roles of the files:
 * - main.c: EAL, port, option parsing, the send/receive loop, population;
 * - perf_wl.c: workload model (key choice, zipf table, per-command op mix)
 *   and the block encoder that writes BLOCK payloads without building a
 *   struct scpp_wire_block (checked against lib/wire at start-up);
 * - perf_stats.c: latency histogram, per-second table and the JSON record.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "scpp_oid.h"

/** Workload operations, one per command kind the mix can draw. */
enum perf_op {
	PERF_OP_GET,    /**< get E v %x (1 command) */
	PERF_OP_SET,    /**< set E v <bytes> (1 command) */
	PERF_OP_MAPGET, /**< get E m[k] %x (1 command) */
	PERF_OP_WALK,   /**< get E n %a ; get %a v %b (2 commands: a path walk) */
	PERF_OP_CREATE, /**< create %c PerfKv ; set %c v <bytes> (2 commands) */
	PERF_OP_COPY,   /**< copy value(E1,v) value(E2,v) len (1 command) */
	PERF_OP_COUNT
};

extern const char *const perf_op_name[PERF_OP_COUNT];

/** Most commands scpp-perf puts in one measured block (--cmds). */
#define PERF_CMDS_MAX 64
/** Largest encoded block (64 fragments of PERF_FRAG_PAYLOAD). */
#define PERF_BLOCK_MAX (64 * 1440)
/** Payload bytes per BLOCK datagram: 1472 - 32-byte header. */
#define PERF_FRAG_PAYLOAD 1440
/** Size of the precomputed zipf sample table (power of two). */
#define PERF_ZIPF_TABLE (1u << 22)

/** Attribute names used by the workload (PerfKv in perf-schema.json). */
#define PERF_ATTR_VALUE "v"
#define PERF_ATTR_NEXT "n"
#define PERF_ATTR_MAP "m"
#define PERF_TYPE_NAME "PerfKv"

/** The workload parameters (from the command line). */
struct perf_wl {
	uint32_t weight[PERF_OP_COUNT]; /**< relative weights of the mix */
	uint8_t op_table[256];          /**< op per random byte, from weight[] */
	unsigned int cmds;              /**< commands per block, 1..PERF_CMDS_MAX */
	uint32_t value_size;            /**< bytes of each value, 1..65536 */
	uint64_t keys;                  /**< key space (entities) */
	double zipf_theta;              /**< 0 = uniform */
	uint32_t *zipf;                 /**< PERF_ZIPF_TABLE key indexes, or NULL */
	struct scpp_oid *oid;           /**< keys OIDs (from population), or NULL */
	uint64_t rng;                   /**< xorshift state */
};

/** One planned command of a block (what it touched, for verification). */
struct perf_cmd {
	uint8_t op;     /**< enum perf_op */
	uint8_t var;    /**< returned variable (column), if any */
	uint8_t ret;    /**< 1 if this command contributes a returned column */
	uint64_t key;   /**< key index */
	uint64_t key2;  /**< second key (copy source, walk target) */
};

/** A planned block. */
struct perf_plan {
	unsigned int n;        /**< entries in cmd[] */
	unsigned int ncmds;    /**< wire commands (walk and create count 2) */
	unsigned int nvars;
	unsigned int nret;
	struct perf_cmd cmd[PERF_CMDS_MAX];
};

/* ---- perf_wl.c ---- */

/** Parse "get=90,set=10" into @p wl->weight and build the op table. 0 or -EINVAL. */
int perf_wl_parse_mix(struct perf_wl *wl, const char *s);
/** Precompute the zipf table (theta > 0). 0 or -ENOMEM. */
int perf_wl_zipf_init(struct perf_wl *wl);
/** Key index drawn from the distribution. */
uint64_t perf_wl_key(struct perf_wl *wl);
/** 64 random bits (xorshift64*). */
uint64_t perf_wl_rand(struct perf_wl *wl);
/** Plan one block of wl->cmds draws. */
void perf_wl_plan(struct perf_wl *wl, struct perf_plan *p);
/** The value every writer stores for @p key (@p wl->value_size bytes into @p out). */
void perf_wl_value(const struct perf_wl *wl, uint64_t key, uint8_t *out);
/** The key a walk from @p key reaches (its `n` attribute). */
uint64_t perf_wl_next(const struct perf_wl *wl, uint64_t key);
/** Entity holding map entry @p key (for mapget). */
uint64_t perf_wl_map_owner(const struct perf_wl *wl, uint64_t key);
/** Encode the block payload of @p p into @p buf. @return bytes, or -ENOSPC. */
int perf_wl_encode(const struct perf_wl *wl, const struct perf_plan *p, uint8_t *buf,
		   size_t size);

/**
 * Population blocks: create+set for @p n new entities (returns their OIDs
 * in order), `set E n E'` for walk links, `set E m[k] value` for map
 * entries. @return bytes, or -ENOSPC.
 */
int perf_wl_encode_create(const struct perf_wl *wl, uint64_t first, unsigned int n,
			  uint8_t *buf, size_t size);
int perf_wl_encode_links(const struct perf_wl *wl, uint64_t first, unsigned int n,
			 uint8_t *buf, size_t size);
int perf_wl_encode_map(const struct perf_wl *wl, uint64_t first, unsigned int n, uint8_t *buf,
		       size_t size);

/**
 * Check the encoder against lib/wire: decode @p count random plans with
 * scpp_wire_block_decode() and compare with the same block built through
 * the wire builder. @return 0, or -EPROTO with a message on stderr.
 */
int perf_wl_selftest(struct perf_wl *wl, unsigned int count);

/* ---- perf_stats.c ---- */

/** Log-linear latency histogram over TSC cycles (under 0.8 % resolution). */
#define PERF_HIST_BITS 7
#define PERF_HIST_SUB (1u << PERF_HIST_BITS)
#define PERF_HIST_BUCKETS (64 * PERF_HIST_SUB)

struct perf_hist {
	uint64_t count;
	uint64_t max;
	uint64_t sum;
	uint64_t bucket[PERF_HIST_BUCKETS];
};

void perf_hist_reset(struct perf_hist *h);
static inline unsigned int
perf_hist_index(uint64_t v)
{
	unsigned int msb, shift;

	if (v < PERF_HIST_SUB)
		return (unsigned int)v;
	msb = 63 - (unsigned int)__builtin_clzll(v);
	shift = msb - PERF_HIST_BITS; /* PERF_HIST_SUB sub-buckets per power of two */
	return (shift + 1) * PERF_HIST_SUB + (unsigned int)((v >> shift) - PERF_HIST_SUB);
}
static inline void
perf_hist_add(struct perf_hist *h, uint64_t v)
{
	h->bucket[perf_hist_index(v)]++;
	h->count++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
}
/** Upper bound of bucket @p i (cycles). */
uint64_t perf_hist_upper(unsigned int i);
/** Value (cycles) at quantile @p q (0..1); the bucket's upper bound, capped at max. */
uint64_t perf_hist_quantile(const struct perf_hist *h, double q);
void perf_hist_merge(struct perf_hist *dst, const struct perf_hist *src);

#endif /* PERF_PRIV_H */
