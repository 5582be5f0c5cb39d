/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef COPY_TEST_H
#define COPY_TEST_H

/*
 * Shared by the copy-engine test suites: a differential runner that drives
 * any engine with random copies (lengths, offsets, alignments, kinds,
 * overlaps) and checks every byte against a mirror of the same memory to
 * which the same copies were applied with memmove -- the memcpy engine's
 * semantics -- plus completion order, per-copy status and counters.
 */
#include <stdbool.h>
#include <stdint.h>

#include "scpp_test.h"
#include "scpp_copy.h"

/* What the runner drives. */
struct ct_env {
	struct scpp_copy *c;       /* the engine under test */
	void (*pump)(void *ctx);   /* extra progress while waiting (a target), or NULL */
	void *pump_ctx;
	uint8_t *local;            /* the engine's local memory (registered as needed) */
	size_t local_len;
	uint8_t *remote;           /* remote engines: the window's bytes as seen here */
	size_t remote_len;         /* (window offset 0 = remote[0]); NULL: local engine */
	struct scpp_copy_remote *rw;
	uint64_t max_len;          /* longest ordinary random copy */
	uint64_t big_len;          /* length of the big copies (0: none) */
	unsigned int big;          /* how many big copies */
	unsigned int batch_max;    /* copies per wave, 1..SCPP_COPY_BURST_MAX */
	bool overlap;              /* local engines: also overlapping copies */
	unsigned int wait_s;       /* bound on any one wave, seconds */
};

/* What it did, for the caller's own assertions. */
struct ct_result {
	unsigned int ops;
	unsigned int overlapping;
	unsigned int big;
	uint64_t bytes;
	uint64_t max_seen;
};

/* Run @waves waves of random copies from @seed (fails the test on any
 * difference). Waits with poll + pump, bounded by wait_s per wave. */
void ct_diff_run(struct ct_env *e, uint64_t seed, unsigned int waves, struct ct_result *res);

/* Poll (and pump) until @want completions arrived or @wait_s passed;
 * returns how many were written to @out (at most @want). */
unsigned int ct_wait(struct scpp_copy *c, void (*pump)(void *), void *pump_ctx,
		     struct scpp_copy_cpl *out, unsigned int want, unsigned int wait_s);

/* Fill @p with bytes from @seed. */
void ct_fill(uint8_t *p, size_t len, uint64_t seed);

/* Monotonic seconds, for bounded waits. */
double ct_now(void);

/*
 * EAL for the dmadev suites: one lcore, IOVA as VA, two dma_skeleton
 * devices (dma_skeleton0, dma_skeleton1), in memory; --no-huge with 768 MiB
 * when fewer than 256 hugepages are free. 0, or -1 (printed).
 */
int ct_eal_dmadev_init(const char *prog);
/* rte_eal_cleanup() and the arguments' memory. */
void ct_eal_fini(void);

/*
 * Instances a test owns, so that a failing test (cmocka leaves it at the
 * failed assertion) cannot leave a device claimed for the next ones:
 * ct_own() records @p c (returned, NULL passes through), ct_free() frees
 * and forgets it, ct_teardown() (a cmocka teardown) frees what is left.
 */
struct scpp_copy *ct_own(struct scpp_copy *c);
void ct_free(struct scpp_copy *c);
int ct_teardown(void **state);

/* A timeout no load reaches, for engines whose timeouts are not under test
 * (dma_skeleton's copy thread may be starved for seconds on a loaded
 * machine). */
#define CT_TIMEOUT_NS (UINT64_C(60) * 1000000000u)

/* Anonymous memory (MAP_POPULATE off: pages come on first touch). */
uint8_t *ct_map(size_t len);
void ct_unmap(uint8_t *p, size_t len);

#endif /* COPY_TEST_H */
