/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * scpp-bench-store: micro-benchmark of lib/store against DPDK rte_hash.
 *
 * Usage: scpp-bench-store [--large] [--sizes N,N,...] [--reps R]
 *                         [--max-lookups N] [--dpdk-test PATH | --no-dpdk-test]
 *                         [--lookups-only] [--nohuge] [-- EAL args]
 *
 * Prints one JSON object per line. For every key count (default 10^4,
 * 393216 = the table of DPDK's hash_perf_autotest, 10^6, 10^7; --large adds
 * 10^8) it builds a shard of that many small
 * triples (8 attributes per entity, u64 values), a map attribute with
 * min(keys, 10^7) u64 -> u64 entries and a set of 8 KiB byte strings, then
 * measures single and burst operations over uniformly random keys.
 *
 * The rte_hash baseline, made as fast as rte_hash is here: 16-byte keys
 * derived from the same (OID, attr) pairs, built into an array before any
 * timing, looked up in the same random order (rte_hash_lookup, and
 * rte_hash_lookup_bulk in bursts of 32), in two tables: one with as many
 * slots as its power-of-two sizing allows just above the keys, one with
 * twice that (rte_hash cannot be sized to our slot load, 57 % at 10^6
 * keys since the triple index is sized to 60 % at max_entries; the two, at
 * 95 % and 48 %, bracket it, and the ratio is taken against the faster). Both tables live
 * next to the shard and the measurements alternate, store then rte_hash,
 * --reps runs (default 5), so that a machine that slows down mid-run
 * slows both; "ratio" lines give the median of the per-run ratios, their
 * range and how many runs reach 1.2 (at 10^6 keys also whether the target,
 * 4 runs in 5, is met). Every burst of a run is timed with the TSC too, and
 * the rate of the median burst (which preemption does not move) is given
 * beside the wall-clock one. rte_hash_lookup_bulk_data (each key's value as
 * its 8-byte datum) is the row that returns what a get returns.
 * get_burst_pipelined_paired (measured in the same alternation, with a
 * ratio line of its own and no verdict) drives the store as scppd's stage
 * does: hashes and buckets of group k+2 and entries of group k+1 prefetched
 * while group k is looked up with scpp_store_get_burst_hashed(). Every
 * size runs in a fresh process (the program runs itself once per size), so
 * no size inherits the heap another one left behind. With --large (10^8
 * keys) the tables may not fit next to the shard: they are then built after
 * it is freed and measured after it, against the store's runs made before
 * ("paired":false).
 * Last, DPDK's own benchmark of rte_hash runs in the same invocation
 * (dpdk-test hash_perf_autotest, unless --no-dpdk-test; about 2-4 min):
 * see run_autotest().
 *
 * --lookups-only stops each size after the get / get_burst / rte_hash rows
 * (no set, map or byte-string rows): what a cache simulation of the
 * lookups needs (perf/RESULTS.md, "Cache lines per get"). --nohuge takes the
 * --no-huge path below even when hugepages are free (valgrind cannot
 * reserve the address space EAL's hugepage memseg lists ask for).
 *
 * Memory: hugepages when /proc/meminfo shows free ones (EAL --in-memory),
 * else --no-huge -m 8192, noted as "mem":"nohuge" in every line.
 */
#include <sys/wait.h>
#include <unistd.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_cycles.h>

#include "scpp_store.h"

#define BURST 32
#define ATTRS 8
#define BYTES_LEN 8192
#define MAX_REPS 15

static const char *mem_kind = "huge";
static const char *dpdk_test = "dpdk-test";
static double child_tsc_hz; /* from the children's config lines */
static int reps = 5;
static uint64_t max_lookups = 4u << 20;
static bool lookups_only;
static bool force_nohuge;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t
rng(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * UINT64_C(0x2545f4914f6cdd1d);
}

static struct scpp_oid
ent_oid(uint64_t e)
{
	return scpp_oid_make(0, 1, 0, 1, e + 1);
}

static struct scpp_store_key
triple_key(uint64_t i)
{
	struct scpp_store_key k = {ent_oid(i / ATTRS), (uint32_t)(i % ATTRS) + 1, 0};

	return k;
}

/* The rte_hash baseline key: 16 bytes, unique per (OID, attr). */
struct hkey {
	uint64_t lo;
	uint64_t hi;
};

static struct hkey
hash_key(const struct scpp_store_key *k)
{
	struct hkey h = {k->oid.lo, k->oid.hi ^ ((uint64_t)k->attr << 32)};

	return h;
}

static int
cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_dbl);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void
emit(const char *op, uint64_t keys, double mops, int nreps, const char *extra)
{
	printf("{\"op\":\"%s\",\"keys\":%" PRIu64 ",\"mops\":%.2f,\"reps\":%d,"
	       "\"mem\":\"%s\"%s%s}\n", op, keys, mops, nreps, mem_kind,
	       extra != NULL ? "," : "", extra != NULL ? extra : "");
	fflush(stdout);
}

static void
die(const char *what, int rc)
{
	fprintf(stderr, "scpp-bench-store: %s failed: %s\n", what, strerror(rc < 0 ? -rc : rc));
	exit(1);
}

/* Run @fn @reps times over @n operations; report the median rate. */
typedef uint64_t (*bench_fn)(void *ctx, uint64_t n);

static double
measure(const char *op, uint64_t keys, bench_fn fn, void *ctx, uint64_t n,
	const char *extra)
{
	double r[MAX_REPS];
	volatile uint64_t sink = 0;

	for (int i = 0; i < reps; i++) {
		double t0 = now();

		sink += fn(ctx, n);
		r[i] = (double)n / (now() - t0) / 1e6;
	}
	(void)sink;
	r[0] = median(r, reps);
	emit(op, keys, r[0], reps, extra);
	return r[0];
}

struct ctx {
	struct scpp_store *s;
	struct rte_hash *h;
	struct hkey *hlook;          /* the same random keys, as rte_hash keys */
	struct rte_hash *ht[2];      /* the baseline tables: slots >= keys, and twice that */
	uint64_t ht_slots[2];
	bool ht_after;               /* built after the shard was freed */
	struct scpp_store_key *look; /* random keys, n_look of them */
	struct scpp_value *mkeys;    /* random map keys */
	uint64_t n_look;
	uint64_t keys;
	uint64_t map_n;
	uint64_t nbytes;
	uint64_t rlen;
	uint8_t *buf;
	uint64_t seed;
};

static uint64_t
b_get(void *p, uint64_t n)
{
	struct ctx *c = p;
	struct scpp_value v;
	uint64_t sum = 0;

	for (uint64_t i = 0; i < n; i++) {
		const struct scpp_store_key *k = &c->look[i % c->n_look];

		if (scpp_store_get(c->s, k->oid, k->attr, &v) != 0)
			die("get", ENOENT);
		sum += v.u;
	}
	return sum;
}

/*
 * TSC cycles of every burst of the last paired measurement (NULL: not
 * recorded). On a shared machine a wall-clock rate also counts the time the
 * process was preempted; the median burst is not moved by that, so the
 * paired rows report both (the rdtsc pair costs both sides the same ~1-2
 * cycles per key).
 */
static uint32_t *burst_cyc;
static uint64_t burst_ncyc;

static inline void
cyc_note(uint64_t t0)
{
	if (burst_cyc != NULL)
		burst_cyc[burst_ncyc++] = (uint32_t)(rte_rdtsc() - t0);
}

static uint64_t
b_get_burst(void *p, uint64_t n)
{
	struct ctx *c = p;
	struct scpp_value v[BURST];
	uint64_t sum = 0, mask;

	for (uint64_t i = 0; i + BURST <= n; i += BURST) {
		uint64_t t0 = rte_rdtsc();

		scpp_store_get_burst(c->s, &c->look[i % c->n_look], BURST, v, &mask);
		cyc_note(t0);
		if (mask != (UINT64_C(1) << BURST) - 1)
			die("get_burst", ENOENT);
		sum += v[0].u + v[BURST - 1].u;
	}
	return sum;
}

/*
 * The burst get as scppd's stage drives it (app/scppd/worker.c,
 * docs/ARCHITECTURE.md): the bursts overlap. While burst k is looked up,
 * burst k+1's entries and burst k+2's buckets are being fetched:
 * scpp_store_prefetch_burst() (hash + bucket prefetch) two bursts ahead,
 * scpp_store_prefetch_entries() one burst ahead, then
 * scpp_store_get_burst_hashed() over lines already on their way. Each
 * burst's timing covers the three calls its turn makes.
 */
#define PIPE 16 /* keys per pipelined group: two groups a burst */

static uint64_t
b_pipe_get(void *p, uint64_t n)
{
	struct ctx *c = p;
	struct scpp_value v[PIPE];
	uint64_t h[3][PIPE], sum = 0, mask, ng = n / BURST * (BURST / PIPE);

	if (ng < 2)
		return 0;
	scpp_store_prefetch_burst(c->s, &c->look[0], PIPE, h[0]);
	scpp_store_prefetch_burst(c->s, &c->look[PIPE % c->n_look], PIPE, h[1]);
	scpp_store_prefetch_entries(c->s, h[0], PIPE);
	for (uint64_t k = 0, t0 = 0; k < ng; k++) {
		uint64_t i = k * PIPE;

		if ((k & 1) == 0)
			t0 = rte_rdtsc(); /* a burst of 32 keys: groups k and k + 1 */

		if (k + 2 < ng)
			scpp_store_prefetch_burst(c->s, &c->look[(i + 2 * PIPE) % c->n_look], PIPE,
						  h[(k + 2) % 3]);
		if (k + 1 < ng)
			scpp_store_prefetch_entries(c->s, h[(k + 1) % 3], PIPE);
		scpp_store_get_burst_hashed(c->s, &c->look[i % c->n_look], h[k % 3], PIPE, v, &mask);
		if ((k & 1) == 1)
			cyc_note(t0);
		if (mask != (UINT64_C(1) << PIPE) - 1)
			die("get_burst_hashed", ENOENT);
		sum += v[0].u + v[PIPE - 1].u;
	}
	return sum;
}

static uint64_t
b_set(void *p, uint64_t n)
{
	struct ctx *c = p;

	for (uint64_t i = 0; i < n; i++) {
		const struct scpp_store_key *k = &c->look[i % c->n_look];
		struct scpp_value v = scpp_value_u64(i);
		int rc = scpp_store_set(c->s, k->oid, k->attr, &v);

		if (rc != 0)
			die("set", rc);
	}
	return n;
}

static uint64_t
b_set_burst(void *p, uint64_t n)
{
	struct ctx *c = p;
	struct scpp_value v[BURST];

	for (uint64_t i = 0; i + BURST <= n; i += BURST) {
		for (int j = 0; j < BURST; j++)
			v[j] = scpp_value_u64(i + (uint64_t)j);
		if (scpp_store_set_burst(c->s, &c->look[i % c->n_look], v, BURST) != BURST)
			die("set_burst", ENOSPC);
	}
	return n;
}

static struct scpp_oid
map_oid(void)
{
	return ent_oid(UINT64_C(1) << 36);
}

static uint64_t
b_map_get(void *p, uint64_t n)
{
	struct ctx *c = p;
	struct scpp_value v;
	uint64_t sum = 0;

	for (uint64_t i = 0; i < n; i++) {
		if (scpp_store_map_get(c->s, map_oid(), 1, &c->mkeys[i % c->n_look], &v) != 0)
			die("map_get", ENOENT);
		sum += v.u;
	}
	return sum;
}

static uint64_t
b_map_get_burst(void *p, uint64_t n)
{
	struct ctx *c = p;
	struct scpp_value v[BURST];
	uint64_t sum = 0, mask;

	for (uint64_t i = 0; i + BURST <= n; i += BURST) {
		scpp_store_map_get_burst(c->s, map_oid(), 1, &c->mkeys[i % c->n_look],
					 BURST, v, &mask);
		if (mask != (UINT64_C(1) << BURST) - 1)
			die("map_get_burst", ENOENT);
		sum += v[0].u;
	}
	return sum;
}

static uint64_t
b_map_set(void *p, uint64_t n)
{
	struct ctx *c = p;

	for (uint64_t i = 0; i < n; i++) {
		struct scpp_value v = scpp_value_u64(i);
		int rc = scpp_store_map_set(c->s, map_oid(), 1, &c->mkeys[i % c->n_look], &v);

		if (rc != 0)
			die("map_set", rc);
	}
	return n;
}

static uint64_t
b_map_iter(void *p, uint64_t n)
{
	struct ctx *c = p;
	struct scpp_value k[256], v[256];
	uint64_t cur = 0, sum = 0, got = 0;
	int m;

	(void)n;
	while ((m = scpp_store_map_iter(c->s, map_oid(), 1, &cur, k, v, 256)) > 0) {
		sum += k[m - 1].u;
		got += (uint64_t)m;
	}
	if (got != c->map_n)
		die("map_iter", EIO);
	return sum;
}

static uint64_t
b_bytes_read(void *p, uint64_t n)
{
	struct ctx *c = p;
	uint64_t sum = 0;

	for (uint64_t i = 0; i < n; i++) {
		uint64_t r = rng(&c->seed);
		uint64_t e = (r >> 20) % c->nbytes;
		uint64_t off = (r & 0xffff) % (BYTES_LEN - c->rlen + 1) & ~UINT64_C(63);
		int rc = scpp_store_bytes_read(c->s, ent_oid(e), ATTRS + 1, off, c->rlen, c->buf);

		if (rc != 0)
			die("bytes_read", rc);
		sum += c->buf[0];
	}
	return sum;
}

static uint64_t
b_bytes_write(void *p, uint64_t n)
{
	struct ctx *c = p;

	for (uint64_t i = 0; i < n; i++) {
		uint64_t r = rng(&c->seed);
		uint64_t e = (r >> 20) % c->nbytes;
		uint64_t off = (r & 0xffff) % (BYTES_LEN - c->rlen + 1) & ~UINT64_C(63);
		int rc;

		c->buf[0] = (uint8_t)i;
		rc = scpp_store_bytes_write(c->s, ent_oid(e), ATTRS + 1, off, c->rlen, c->buf);
		if (rc != 0)
			die("bytes_write", rc);
	}
	return n;
}

static uint64_t
b_hash_lookup(void *p, uint64_t n)
{
	struct ctx *c = p;
	uint64_t sum = 0;

	for (uint64_t i = 0; i < n; i++) {
		int32_t pos = rte_hash_lookup(c->h, &c->hlook[i % c->n_look]);

		if (pos < 0)
			die("rte_hash_lookup", ENOENT);
		sum += (uint64_t)pos;
	}
	return sum;
}

static uint64_t
b_hash_lookup_bulk(void *p, uint64_t n)
{
	struct ctx *c = p;
	const void *kp[BURST];
	int32_t pos[BURST];
	uint64_t sum = 0;

	for (uint64_t i = 0; i + BURST <= n; i += BURST) {
		/* The keys were built before the timing; only the pointer
		 * array rte_hash_lookup_bulk() takes is filled here (n_look is
		 * a multiple of BURST: one division per burst, as in
		 * b_get_burst, not one per key). */
		const struct hkey *hk = &c->hlook[i % c->n_look];

		uint64_t t0 = rte_rdtsc();

		for (int j = 0; j < BURST; j++)
			kp[j] = &hk[j];
		if (rte_hash_lookup_bulk(c->h, kp, BURST, pos) != 0)
			die("rte_hash_lookup_bulk", EINVAL);
		cyc_note(t0);
		if (pos[0] < 0 || pos[BURST - 1] < 0)
			die("rte_hash_lookup_bulk", ENOENT);
		sum += (uint64_t)pos[0];
	}
	return sum;
}

/*
 * The same lookups returning each key's 8-byte datum (the triple's value,
 * stored with rte_hash_add_key_data): what a get returns, where the
 * position lookup_bulk returns still has to be turned into a value.
 */
static uint64_t
b_hash_lookup_bulk_data(void *p, uint64_t n)
{
	struct ctx *c = p;
	const void *kp[BURST];
	void *data[BURST];
	uint64_t sum = 0;

	for (uint64_t i = 0; i + BURST <= n; i += BURST) {
		const struct hkey *hk = &c->hlook[i % c->n_look];
		uint64_t t0 = rte_rdtsc(), hits;
		int nh;

		for (int j = 0; j < BURST; j++)
			kp[j] = &hk[j];
		nh = rte_hash_lookup_bulk_data(c->h, kp, BURST, &hits, data);
		cyc_note(t0);
		if (nh != BURST)
			die("rte_hash_lookup_bulk_data", ENOENT);
		sum += (uint64_t)(uintptr_t)data[0] + (uint64_t)(uintptr_t)data[BURST - 1];
	}
	return sum;
}

/*
 * The two rte_hash tables over the same keys: rte_hash sizes itself to a
 * power of two of slots (8 per bucket); the first has the fewest that hold
 * the keys, the second twice that. @p after: the shard is gone (a table
 * that does not fit next to it is built then). A table that cannot be made
 * is left NULL (said in the output).
 */
static uint64_t heap_used(void);

static void
hash_tables(struct ctx *c, uint64_t keys, bool after)
{
	uint64_t slots = 8;

	while (slots < keys)
		slots *= 2;
	c->ht_after = after;
	for (int v = 0; v < 2; v++) {
		struct rte_hash_parameters hp = {
			.name = v == 0 ? "bench_hash_a" : "bench_hash_b",
			.entries = (uint32_t)(slots << v),
			.key_len = sizeof(struct hkey),
			.hash_func = rte_hash_crc,
			.hash_func_init_val = 0,
			.socket_id = (int)rte_socket_id(),
		};
		uint64_t hb = heap_used();
		char extra[160];
		double t0;

		c->ht_slots[v] = slots << v;
		if ((uint64_t)hp.entries != slots << v) /* over 2^32 slots */
			continue;
		c->ht[v] = rte_hash_create(&hp);
		if (c->ht[v] == NULL) {
			if (!after && v == 0)
				return; /* try again once the shard is freed */
			printf("{\"op\":\"rte_hash_create\",\"keys\":%" PRIu64 ",\"slots\":%" PRIu64
			       ",\"error\":\"%s\"}\n", keys, slots << v, rte_strerror(rte_errno));
			continue;
		}
		t0 = now();
		for (uint64_t i = 0; i < keys; i++) {
			struct scpp_store_key k = triple_key(i);
			struct hkey hk = hash_key(&k);

			/* The datum is the value the shard holds for the key. */
			if (rte_hash_add_key_data(c->ht[v], &hk, (void *)(uintptr_t)i) < 0)
				die("rte_hash_add_key_data", ENOSPC);
		}
		snprintf(extra, sizeof(extra), "\"slots\":%" PRIu64 ",\"load\":%.3f,"
			 "\"bytes_per_key\":%.1f", slots << v, (double)keys / (double)(slots << v),
			 (double)(heap_used() - hb) / (double)keys);
		emit("rte_hash_add", keys, (double)keys / (now() - t0) / 1e6, 1, extra);
	}
}

static double
rate_of(bench_fn fn, void *ctx, uint64_t n)
{
	volatile uint64_t sink;
	double t0 = now();

	sink = fn(ctx, n);
	(void)sink;
	return (double)n / (now() - t0) / 1e6;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* One measurement of a burst loop: wall-clock Mops/s, and Mops/s of its
 * median burst (*med). */
static double
rate_burst(bench_fn fn, void *ctx, uint64_t n, double *med)
{
	double r;

	burst_ncyc = 0;
	r = rate_of(fn, ctx, n);
	qsort(burst_cyc, burst_ncyc, sizeof(*burst_cyc), cmp_u32);
	*med = burst_ncyc == 0 ? 0 :
	       BURST * (double)rte_get_tsc_hz() / (double)burst_cyc[burst_ncyc / 2] / 1e6;
	return r;
}

/* A ratio line: median of the per-run ratios @q, range, runs at >= 1.2. */
static void
emit_ratio(uint64_t keys, const char *what, const double *q, const double *qm, bool target,
	   bool is_paired)
{
	double v[MAX_REPS], lo = q[0], hi = q[0], med, medm = 0;
	int hold = 0, holdm = 0;

	for (int r = 0; r < reps; r++) {
		hold += q[r] >= 1.2;
		lo = q[r] < lo ? q[r] : lo;
		hi = q[r] > hi ? q[r] : hi;
		v[r] = q[r];
	}
	med = median(v, reps);
	if (qm != NULL) {
		for (int r = 0; r < reps; r++) {
			holdm += qm[r] >= 1.2;
			v[r] = qm[r];
		}
		medm = median(v, reps);
	}
	printf("{\"op\":\"ratio\",\"keys\":%" PRIu64 ",\"what\":\"%s\",\"value\":%.3f,"
	       "\"min\":%.3f,\"max\":%.3f,\"runs\":%d,\"runs_at_1.2\":%d", keys, what, med, lo, hi,
	       reps, hold);
	if (qm != NULL)
		printf(",\"burst_median_value\":%.3f,\"burst_median_runs_at_1.2\":%d", medm, holdm);
	if (target)
		printf(",\"target\":1.2,\"met\":%s", hold * 5 >= reps * 4 ? "true" : "false");
	printf(",\"paired\":%s}\n", is_paired ? "true" : "false");
}

/*
 * Store and rte_hash in alternation, --reps runs: in each run our burst get,
 * then rte_hash_lookup_bulk and rte_hash_lookup_bulk_data on both tables,
 * then the single-key get and rte_hash_lookup; every ratio is ours over
 * the faster table in the same run. The 10^6-key target is met when at
 * least 4 runs in 5 reach 1.2 (the "target" ratio line says so). With the
 * shard gone (@p burst NULL) only the tables are measured.
 */
enum { P_BULK, P_DATA, P_SINGLE, P_KINDS };

/* The store's runs, kept for tables measured after the shard was freed. */
static double sv_rs[2][MAX_REPS], sv_rsm[MAX_REPS];
static bool sv_have;

static void
paired(struct ctx *c, uint64_t keys, uint64_t n, double *burst, double *single)
{
	static const bench_fn hfn[P_KINDS] = {b_hash_lookup_bulk, b_hash_lookup_bulk_data,
					      b_hash_lookup};
	static const char *const hop[P_KINDS] = {"rte_hash_lookup_bulk",
						 "rte_hash_lookup_bulk_data", "rte_hash_lookup"};
	double rs[2][MAX_REPS], rsm[MAX_REPS], rh[P_KINDS][2][MAX_REPS], rhm[P_KINDS][2][MAX_REPS];
	double q[P_KINDS][MAX_REPS], qm[P_KINDS][MAX_REPS], m[2] = {0, 0};
	double rp[MAX_REPS], rpm[MAX_REPS], qp[MAX_REPS], qpm[MAX_REPS];
	char extra[256];

	burst_cyc = malloc((n / BURST + 1) * sizeof(*burst_cyc));
	if (burst_cyc == NULL)
		die("malloc", ENOMEM);
	bool ours = burst != NULL || sv_have; /* store rates to compare with */

	for (int r = 0; r < reps; r++) {
		rp[r] = rpm[r] = qp[r] = qpm[r] = 0;
		if (burst != NULL) {
			rs[0][r] = sv_rs[0][r] = rate_burst(b_get_burst, c, n, &rsm[r]);
			rs[1][r] = sv_rs[1][r] = rate_of(b_get, c, n);
			sv_rsm[r] = rsm[r];
			rp[r] = rate_burst(b_pipe_get, c, n, &rpm[r]);
		} else if (sv_have) {
			rs[0][r] = sv_rs[0][r];
			rs[1][r] = sv_rs[1][r];
			rsm[r] = sv_rsm[r];
		}
		for (int k = 0; k < P_KINDS; k++) {
			double best = 0, bestm = 0;

			for (int v = 0; v < 2; v++) {
				rh[k][v][r] = rhm[k][v][r] = 0;
				if (c->ht[v] == NULL)
					continue;
				c->h = c->ht[v];
				if (k == P_SINGLE)
					rh[k][v][r] = rate_of(hfn[k], c, n);
				else
					rh[k][v][r] = rate_burst(hfn[k], c, n, &rhm[k][v][r]);
				best = rh[k][v][r] > best ? rh[k][v][r] : best;
				bestm = rhm[k][v][r] > bestm ? rhm[k][v][r] : bestm;
			}
			q[k][r] = ours && best > 0 ? rs[k == P_SINGLE][r] / best : 0;
			qm[k][r] = ours && bestm > 0 ? rsm[r] / bestm : 0;
			if (k == P_BULK && burst != NULL && best > 0 && bestm > 0) {
				qp[r] = rp[r] / best;
				qpm[r] = rpm[r] / bestm;
			}
		}
	}
	free(burst_cyc);
	burst_cyc = NULL;
	for (int k = 0; k < P_KINDS; k++)
		for (int v = 0; v < 2; v++) {
			char med[48] = "";

			if (k != P_SINGLE)
				snprintf(med, sizeof(med), "\"burst_median_mops\":%.2f,",
					 median(rhm[k][v], reps));
			if (c->ht[v] == NULL)
				continue;
			snprintf(extra, sizeof(extra), "\"burst\":%d,\"slots\":%" PRIu64
				 ",\"load\":%.3f,%s\"paired\":%s", k == P_SINGLE ? 1 : BURST,
				 c->ht_slots[v], (double)keys / (double)c->ht_slots[v], med,
				 c->ht_after ? "false,\"note\":\"built and measured after the shard was freed\""
					     : "true");
			emit(hop[k], keys, median(rh[k][v], reps), reps, extra);
		}
	if (burst != NULL) {
		bool alone = c->ht[0] == NULL && c->ht[1] == NULL;

		m[0] = median(rs[0], reps);
		snprintf(extra, sizeof(extra), "\"paired\":%s,\"burst\":%d,\"burst_median_mops\":%.2f",
			 alone ? "false" : "true", BURST, median(rsm, reps));
		emit("get_burst_paired", keys, m[0], reps, extra);
		m[1] = median(rs[1], reps);
		emit("get_paired", keys, m[1], reps, alone ? "\"paired\":false" : "\"paired\":true");
		snprintf(extra, sizeof(extra),
			 "\"paired\":%s,\"burst\":%d,\"burst_median_mops\":%.2f,\"overlap\":3",
			 alone ? "false" : "true", BURST, median(rpm, reps));
		emit("get_burst_pipelined_paired", keys, median(rp, reps), reps, extra);
		*burst = m[0];
		*single = m[1];
		sv_have = alone;
		if (alone) /* ratios once the tables are measured */
			return;
	} else if (!sv_have) {
		return;
	}
	/* Tables measured after the shard: run r of the store against run r of
	 * the tables, minutes apart ("paired":false in the ratio lines). */
	emit_ratio(keys, "get_burst/rte_hash lookup_bulk (faster table, per run)", q[P_BULK],
		   qm[P_BULK], keys == 1000000, burst != NULL);
	emit_ratio(keys, "get_burst/rte_hash lookup_bulk_data (faster table, per run)", q[P_DATA],
		   qm[P_DATA], false, burst != NULL);
	if (burst != NULL)
		emit_ratio(keys,
			   "get_burst pipelined as scppd's stage/rte_hash lookup_bulk (faster table, per run)",
			   qp, qpm, false, true);
	emit_ratio(keys, "get/rte_hash lookup (faster table, per run)", q[P_SINGLE], NULL, false,
		   burst != NULL);
}

static uint64_t
heap_used(void)
{
	struct rte_malloc_socket_stats st;
	uint64_t sum = 0;

	for (int sock = 0; sock < RTE_MAX_NUMA_NODES; sock++)
		if (rte_malloc_get_socket_stats(sock, &st) == 0)
			sum += st.heap_allocsz_bytes;
	return sum;
}

static void
run_size(uint64_t keys, double *get_burst_out, double *get_out)
{
	struct scpp_store_config cfg;
	struct scpp_store_stats st;
	struct ctx c;
	uint64_t ents = (keys + ATTRS - 1) / ATTRS, n_ops, h0;
	double t0, r_store_burst, r_store_single, bpt;
	char extra[256];
	int rc;

	memset(&c, 0, sizeof(c));
	c.keys = keys;
	c.seed = 0x5eed + keys;
	c.map_n = keys > 10000000 ? 10000000 : keys;
	c.nbytes = ents < 65536 ? ents : 65536;
	c.n_look = keys < max_lookups ? keys : max_lookups;
	c.n_look -= c.n_look % BURST; /* bursts never straddle the end */
	n_ops = c.n_look < (1u << 20) ? (1u << 20) : c.n_look;
	n_ops -= n_ops % BURST;
	c.look = malloc(c.n_look * sizeof(*c.look));
	c.mkeys = malloc(c.n_look * sizeof(*c.mkeys));
	c.buf = malloc(BYTES_LEN);
	if (c.look == NULL || c.mkeys == NULL || c.buf == NULL)
		die("malloc", ENOMEM);
	c.hlook = malloc(c.n_look * sizeof(*c.hlook));
	if (c.hlook == NULL)
		die("malloc", ENOMEM);
	for (uint64_t i = 0; i < c.n_look; i++) {
		c.look[i] = triple_key(rng(&c.seed) % keys);
		c.mkeys[i] = scpp_value_u64(rng(&c.seed) % c.map_n);
		c.hlook[i] = hash_key(&c.look[i]);
	}

	/* The bytes-per-triple figure counts the triple part only: index
	 * buckets + entries (entity headers included) over triples. */
	scpp_store_config_init(&cfg);
	cfg.max_entries = (uint32_t)(keys + ents);
	cfg.max_map_entries = 0;
	cfg.extent_bytes = 0;
	bpt = (double)scpp_store_mem_size(&cfg) / (double)keys;

	cfg.max_entries = (uint32_t)(keys + ents + 2 + c.nbytes); /* + map entity, map attr, byte strings */
	cfg.max_map_entries = (uint32_t)c.map_n;
	cfg.extent_bytes = c.nbytes * BYTES_LEN;
	cfg.max_value_len = BYTES_LEN;
	h0 = heap_used();
	c.s = scpp_store_create(&cfg);
	if (c.s == NULL)
		die("scpp_store_create", rte_errno);

	/* Populate: insert rates are one pass (nothing to take a median of). */
	t0 = now();
	for (uint64_t e = 0; e < ents; e++) {
		rc = scpp_store_entity_create(c.s, ent_oid(e));
		if (rc != 0)
			die("entity_create", rc);
	}
	emit("entity_create", keys, (double)ents / (now() - t0) / 1e6, 1, NULL);
	t0 = now();
	for (uint64_t i = 0; i < keys; i++) {
		struct scpp_store_key k = triple_key(i);
		struct scpp_value v = scpp_value_u64(i);

		rc = scpp_store_set(c.s, k.oid, k.attr, &v);
		if (rc != 0)
			die("set (insert)", rc);
	}
	scpp_store_stats_get(c.s, &st);
	snprintf(extra, sizeof(extra), "\"bytes_per_triple\":%.1f,"
		 "\"overhead_per_triple\":%.1f,\"attrs_per_entity\":%d,"
		 "\"load_factor\":%.3f,\"overflow_buckets\":%" PRIu64,
		 bpt, bpt - 28.0, ATTRS, st.load_factor, st.overflow_buckets);
	emit("insert", keys, (double)keys / (now() - t0) / 1e6, 1, extra);

	r_store_single = measure("get", keys, b_get, &c, n_ops, NULL);
	snprintf(extra, sizeof(extra), "\"burst\":%d,\"bytes_per_triple\":%.1f", BURST, bpt);
	r_store_burst = measure("get_burst", keys, b_get_burst, &c, n_ops, extra);
	/* The baseline next to the shard, measured in alternation with it. */
	hash_tables(&c, keys, false);
	paired(&c, keys, n_ops, &r_store_burst, &r_store_single); /* store alone if no table */
	if (lookups_only)
		goto done;
	measure("set", keys, b_set, &c, n_ops, NULL);
	snprintf(extra, sizeof(extra), "\"burst\":%d", BURST);
	measure("set_burst", keys, b_set_burst, &c, n_ops, extra);

	/* Map of map_n u64 keys. */
	rc = scpp_store_entity_create(c.s, map_oid());
	if (rc != 0)
		die("entity_create", rc);
	t0 = now();
	for (uint64_t i = 0; i < c.map_n; i++) {
		struct scpp_value k = scpp_value_u64(i), v = scpp_value_u64(i);

		rc = scpp_store_map_set(c.s, map_oid(), 1, &k, &v);
		if (rc != 0)
			die("map_set (insert)", rc);
	}
	snprintf(extra, sizeof(extra), "\"map_entries\":%" PRIu64, c.map_n);
	emit("map_insert", keys, (double)c.map_n / (now() - t0) / 1e6, 1, extra);
	measure("map_get", keys, b_map_get, &c, n_ops, extra);
	snprintf(extra, sizeof(extra), "\"map_entries\":%" PRIu64 ",\"burst\":%d", c.map_n, BURST);
	measure("map_get_burst", keys, b_map_get_burst, &c, n_ops, extra);
	snprintf(extra, sizeof(extra), "\"map_entries\":%" PRIu64, c.map_n);
	measure("map_set", keys, b_map_set, &c, n_ops, extra);
	measure("map_iter", keys, b_map_iter, &c, c.map_n, extra);

	/* Byte strings: nbytes values of 8 KiB. */
	for (uint64_t e = 0; e < c.nbytes; e++) {
		rc = scpp_store_bytes_alloc(c.s, ent_oid(e), ATTRS + 1, SCPP_VT_BYTES, BYTES_LEN);
		if (rc != 0)
			die("bytes_alloc", rc);
	}
	for (int sz = 0; sz < 2; sz++) {
		c.rlen = sz == 0 ? 64 : 4096;
		snprintf(extra, sizeof(extra), "\"len\":%" PRIu64 ",\"values\":%" PRIu64
			 ",\"value_len\":%d", c.rlen, c.nbytes, BYTES_LEN);
		measure(sz == 0 ? "bytes_read_64" : "bytes_read_4k", keys, b_bytes_read, &c,
			n_ops / (sz == 0 ? 1 : 8), extra);
		measure(sz == 0 ? "bytes_write_64" : "bytes_write_4k", keys, b_bytes_write, &c,
			n_ops / (sz == 0 ? 1 : 8), extra);
	}
done:
	scpp_store_stats_get(c.s, &st);
	printf("{\"op\":\"shard_memory\",\"keys\":%" PRIu64 ",\"mem_bytes\":%" PRIu64
	       ",\"heap_bytes\":%" PRIu64 ",\"entities\":%" PRIu64 ",\"triples\":%" PRIu64
	       ",\"map_entries\":%" PRIu64 ",\"saturation\":%.3f,\"mem\":\"%s\"}\n",
	       keys, st.mem_bytes, heap_used() - h0, st.entities, st.triples,
	       st.map_entries, st.saturation, mem_kind);
	scpp_store_free(c.s);
	c.s = NULL;

	/* Tables that did not fit next to the shard: after it, on their own. */
	if (c.ht[0] == NULL) {
		hash_tables(&c, keys, true);
		paired(&c, keys, n_ops, NULL, NULL);
	}
	for (int v = 0; v < 2; v++)
		rte_hash_free(c.ht[v]);
	fflush(stdout);
	*get_burst_out = r_store_burst;
	*get_out = r_store_single;
	free(c.look);
	free(c.hlook);
	free(c.mkeys);
	free(c.buf);
}

static bool
hugepages_free(uint64_t need_pages)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long n = 0;

	if (f == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "HugePages_Free: %ld", &n) == 1)
			break;
	fclose(f);
	return n > 0 && (uint64_t)n >= need_pages;
}

/*
 * One process per size: run this program again with --sizes N for each
 * size (EAL arguments after "--" passed on), its output passed through and
 * its get_burst_paired rate kept for the scaling lines.
 */
static int
run_children(const char *self, const uint64_t *sizes, int nsizes, int argc, char **argv)
{
	double burst[8];
	int dashes = argc;

	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			dashes = i;
			break;
		}
	for (int i = 0; i < nsizes; i++) {
		char sz[32], rp[16], ml[32], line[4096];
		char *args[48];
		int na = 0, fd[2];
		pid_t pid;
		FILE *f;

		snprintf(sz, sizeof(sz), "%" PRIu64, sizes[i]);
		snprintf(rp, sizeof(rp), "%d", reps);
		snprintf(ml, sizeof(ml), "%" PRIu64, max_lookups);
		args[na++] = (char *)(uintptr_t)self;
		args[na++] = (char *)(uintptr_t)"--child";
		args[na++] = (char *)(uintptr_t)"--sizes";
		args[na++] = sz;
		args[na++] = (char *)(uintptr_t)"--reps";
		args[na++] = rp;
		args[na++] = (char *)(uintptr_t)"--max-lookups";
		args[na++] = ml;
		if (lookups_only)
			args[na++] = (char *)(uintptr_t)"--lookups-only";
		if (force_nohuge)
			args[na++] = (char *)(uintptr_t)"--nohuge";
		for (int k = dashes; k < argc && na < 47; k++)
			args[na++] = argv[k];
		args[na] = NULL;
		burst[i] = 0;
		if (pipe(fd) != 0 || (pid = fork()) < 0)
			die("fork", errno);
		if (pid == 0) {
			dup2(fd[1], 1);
			close(fd[0]);
			close(fd[1]);
			execv("/proc/self/exe", args);
			_exit(127);
		}
		close(fd[1]);
		f = fdopen(fd[0], "r");
		while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
			const char *m = strstr(line, "\"mops\":");

			fputs(line, stdout);
			fflush(stdout);
			if (strstr(line, "\"op\":\"get_burst_paired\"") != NULL && m != NULL)
				burst[i] = strtod(m + 7, NULL);
			if ((m = strstr(line, "\"tsc_hz\":")) != NULL)
				child_tsc_hz = strtod(m + 9, NULL);
		}
		if (f != NULL)
			fclose(f);
		waitpid(pid, NULL, 0);
		if (i > 0 && burst[i] > 0 && burst[i - 1] > 0 && sizes[i - 1] * 10 == sizes[i])
			printf("{\"op\":\"scaling\",\"what\":\"get_burst %" PRIu64 " / %" PRIu64
			       "\",\"value\":%.3f,\"target\":0.6}\n", sizes[i], sizes[i - 1],
			       burst[i] / burst[i - 1]);
		else if (i > 0 && burst[i] > 0 && burst[i - 1] > 0)
			printf("{\"op\":\"scaling\",\"what\":\"get_burst %" PRIu64 " / %" PRIu64
			       "\",\"value\":%.3f}\n", sizes[i], sizes[i - 1], burst[i] / burst[i - 1]);
	}
	return 0;
}

/*
 * DPDK's own rte_hash benchmark (dpdk-test's hash_perf_autotest: 2^19
 * slots at 75 % load, 5 lookups per key, in cycles per operation), run in
 * this process's place after the sizes: the 16-byte-key rows become JSON
 * lines in Mops/s at this machine's TSC rate, next to our rte_hash figures
 * at 393216 keys (the same table). The table it prints for each of
 * {without, with} locks x {all keys in the primary bucket, primary or
 * secondary} x {without, with 8-byte data} x {without, with precomputed
 * hashes}; ours is "without locks, primary or secondary, without data,
 * hash computed by the lookup".
 */
static void
run_autotest(const char *exe)
{
	static const char *const sect[][2] = {
		{"Without locks", "With locks"},
		{"ALL ELEMENTS IN PRIMARY LOCATION", "ELEMENTS IN PRIMARY OR SECONDARY LOCATION"},
		{"Operations without data", "Operations with 8-byte data"},
		{"Without pre-computed hash values", "With pre-computed hash values"},
	};
	int state[4] = {0, 0, 0, 0}, fd[2], rows = 0; /* index into sect[k] (2: extendable) */
	double hz = child_tsc_hz, t0 = now();
	bool huge = hugepages_free(1024);
	char line[512];
	pid_t pid;
	FILE *f;

	if (pipe(fd) != 0 || (pid = fork()) < 0)
		die("fork", errno);
	if (pid == 0) {
		dup2(fd[1], 1);
		dup2(fd[1], 2);
		close(fd[0]);
		close(fd[1]);
		setenv("DPDK_TEST", "hash_perf_autotest", 1);
		if (huge)
			execlp(exe, exe, "--no-pci", "-l", "0", "--in-memory", "--log-level=*:error",
			       (char *)NULL);
		else
			execlp(exe, exe, "--no-pci", "-l", "0", "--no-huge", "-m", "2048",
			       "--no-shconf", "--log-level=*:error", (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	f = fdopen(fd[0], "r");
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		unsigned int ks;
		double add, look, bulk, del;

		for (int k = 0; k < 4; k++)
			for (int v = 0; v < 2; v++)
				if (strstr(line, sect[k][v]) != NULL) {
					state[k] = v;
					if (k == 0)
						state[1] = state[2] = state[3] = 0;
				}
		if (strstr(line, "EXTENDABLE BUCKETS") != NULL) /* its last section */
			state[1] = 2;
		if (sscanf(line, "%u %lf %lf %lf %lf", &ks, &add, &look, &bulk, &del) != 5 ||
		    ks != 16 || look <= 0 || bulk <= 0)
			continue;
		printf("{\"op\":\"hash_perf_autotest\",\"keysize\":16,\"locks\":%s,"
		       "\"location\":\"%s\",\"data\":%s,\"precomputed\":%s,\"slots\":524288,"
		       "\"keys\":393216,\"cycles\":{\"add\":%.0f,\"lookup\":%.0f,"
		       "\"lookup_bulk\":%.0f,\"delete\":%.0f},\"lookup_mops\":%.2f,"
		       "\"lookup_bulk_mops\":%.2f,\"comparable\":%s}\n",
		       state[0] ? "true" : "false", state[1] == 2 ? "extendable_buckets" : state[1] ? "primary_or_secondary" : "primary",
		       state[2] ? "true" : "false", state[3] ? "true" : "false", add, look, bulk, del,
		       hz / look / 1e6, hz / bulk / 1e6,
		       !state[0] && state[1] == 1 && !state[2] && !state[3] ? "true" : "false");
		fflush(stdout);
		rows++;
	}
	if (f != NULL)
		fclose(f);
	waitpid(pid, NULL, 0);
	printf("{\"op\":\"hash_perf_autotest_run\",\"exe\":\"%s\",\"rows\":%d,\"seconds\":%.1f,"
	       "\"tsc_hz\":%.0f%s}\n", exe, rows, now() - t0, hz,
	       rows == 0 ? ",\"error\":\"no 16-byte-key rows in its output\"" : "");
}

int
main(int argc, char **argv)
{
	/* 393216 = 75 % of 2^19: the table hash_perf_autotest measures. */
	uint64_t sizes[8] = {10000, 393216, 1000000, 10000000};
	int nsizes = 4;
	uint64_t max_size = 0;
	bool large = false;
	char *eal[32];
	int neal = 0, opt;
	double burst[8], single[8];
	static const struct option lo[] = {
		{"large", no_argument, NULL, 'L'},
		{"sizes", required_argument, NULL, 's'},
		{"reps", required_argument, NULL, 'r'},
		{"max-lookups", required_argument, NULL, 'm'},
		{"child", no_argument, NULL, 'C'},
		{"dpdk-test", required_argument, NULL, 'D'},
		{"no-dpdk-test", no_argument, NULL, 'N'},
		{"lookups-only", no_argument, NULL, 'O'},
		{"nohuge", no_argument, NULL, 'H'},
		{NULL, 0, NULL, 0},
	};
	bool child = false;
	static char a0[] = "scpp-bench-store", a1[] = "--no-pci", a2[] = "-l", a3[] = "0",
		    a4[] = "--log-level=error", a5[] = "--in-memory", a6[] = "--no-huge",
		    a7[] = "-m", a9[] = "--no-shconf";
	static char a8[24] = "8192";

	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 'L':
			large = true;
			break;
		case 's': {
			char *p = optarg;

			nsizes = 0;
			while (*p != '\0' && nsizes < 7) {
				sizes[nsizes++] = strtoull(p, &p, 10);
				if (*p == ',')
					p++;
			}
			break;
		}
		case 'r':
			reps = atoi(optarg);
			if (reps < 1 || reps > MAX_REPS)
				reps = 3;
			break;
		case 'm':
			max_lookups = strtoull(optarg, NULL, 10);
			break;
		case 'C':
			child = true;
			break;
		case 'D':
			dpdk_test = optarg;
			break;
		case 'N':
			dpdk_test = NULL;
			break;
		case 'O':
			lookups_only = true;
			break;
		case 'H':
			force_nohuge = true;
			break;
		default:
			fprintf(stderr, "usage: %s [--large] [--sizes N,...] [--reps R] "
				"[--max-lookups N] [--dpdk-test PATH | --no-dpdk-test] "
				"[--lookups-only] [--nohuge] [-- EAL args]\n", argv[0]);
			return 2;
		}
	}
	if (large && nsizes < 8)
		sizes[nsizes++] = 100000000;
	if (!child) {
		/* Every size in a process of its own, then DPDK's own benchmark
		 * of the same library on this machine, in the same run. */
		run_children(argv[0], sizes, nsizes, argc, argv);
		if (dpdk_test != NULL)
			run_autotest(dpdk_test);
		return 0;
	}
	for (int i = 0; i < nsizes; i++)
		max_size = sizes[i] > max_size ? sizes[i] : max_size;
	eal[neal++] = a0;
	eal[neal++] = a1;
	eal[neal++] = a2;
	eal[neal++] = a3;
	eal[neal++] = a4;
	/* The shard (70 B per triple with its entity headers, 70 per map
	 * entry, 512 MiB of byte strings at most) and a margin; the rte_hash
	 * tables that do not fit next to it are built after it is freed. */
	if (!force_nohuge && hugepages_free((max_size * 71 + (max_size < 10000000 ? max_size : 10000000) * 70) /
			   (2u << 20) + 512)) {
		eal[neal++] = a5;
	} else {
		mem_kind = "nohuge";
		snprintf(a8, sizeof(a8), "%" PRIu64, max_size * 75 / (1u << 20) + 2048);
		eal[neal++] = a6;
		eal[neal++] = a7;
		eal[neal++] = a8;
		eal[neal++] = a9;
	}
	for (int i = optind; i < argc && neal < 31; i++)
		eal[neal++] = argv[i];
	eal[neal] = NULL;
	if (rte_eal_init(neal, eal) < 0)
		die("rte_eal_init", rte_errno);
	printf("{\"op\":\"config\",\"mem\":\"%s\",\"reps\":%d,\"burst\":%d,"
	       "\"max_lookups\":%" PRIu64 ",\"tsc_hz\":%" PRIu64 ",\"note\":\"%s\"}\n", mem_kind,
	       reps, BURST, max_lookups, rte_get_tsc_hz(), strcmp(mem_kind, "huge") == 0 ? "hugepages via EAL --in-memory" :
	       force_nohuge ? "--nohuge: EAL --no-huge, figures are on 4 KiB pages" :
	       "no free hugepages: EAL --no-huge, figures are on 4 KiB pages");
	for (int i = 0; i < nsizes; i++)
		run_size(sizes[i], &burst[i], &single[i]);
	rte_eal_cleanup();
	return 0;
}
