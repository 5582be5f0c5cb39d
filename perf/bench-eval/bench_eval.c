/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * scpp-bench-eval: cost of a block on the path a daemon runs for it, in
 * process, without network: decode the BLOCK message bytes
 * (scpp_wire_block_decode() from a pre-encoded message), evaluate it
 * (scpp_eval_block()), and encode the reply records into a buffer.
 *
 * Workloads (docs: perf/RESULTS.md, "Evaluator"):
 * - get1:    one `get E a %v` (1 command);
 * - get16:   16 gets of different entities, all 16 variables returned;
 * - get16b:  the same of an 8-byte bytes attribute (scpp-perf's values);
 * - mix16:   the same with the 5th and 12th command sets (of the value read);
 * - walk4:   a 4-component path walk through map entries
 *            (`get R entries["a"] %1 ; get %1 entries["b"] %2 ; ...`);
 * - create5: `create %x File` and 5 sets on it (the shard is emptied and
 *            rebuilt between timed batches, outside the timing);
 * - copy10:  copy every attribute of a 10-attribute entity to another
 *            (`get A %1 %2 ; set B %1 %2 ; return`, 11 command executions).
 *
 * Output: one JSON line per workload on stdout with the median of --runs
 * runs. The shard uses the libc memory provider (scpp_store_mem_libc), so
 * no EAL and no hugepages are needed: the figures are CPU cost, with the
 * shard's working set small enough to stay in cache.
 *
 * --iterations N runs exactly N blocks of one workload (--op) and no
 * timing loop, so that instruction counts are deterministic:
 *
 *   valgrind --tool=callgrind --toggle-collect=bench_block \
 *       ./scpp-bench-eval --op get16 --iterations 100000
 *
 * --decode worker decodes each block as scppd's worker does (the head, the
 * commands up to the first one naming an owner one by one, then the rest:
 * app/scppd/worker.c) instead of in one call.
 *
 * --stage adds what scppd's stage does for each block before evaluating it
 * (app/scppd/worker.c stage_run): scpp_eval_prefetch() and
 * scpp_eval_prefetch_entries() of its keys, and the prefetch handed to the
 * evaluation (scpp_eval_use_prefetch()), inside bench_block.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scpp_eval.h"
#include "scpp_lang.h"

struct bench {
	struct scpp_store *store;
	struct scpp_store_dict *dict;
	struct scpp_eval_ctx *ctx;
	struct scpp_eval_env env;
	struct scpp_wire_block blk;    /* decoded per block */
	struct scpp_eval_result res;
	uint8_t reply[1 << 16];
	size_t reply_len;
	bool worker_decode;            /* --decode worker */
	bool stage;                    /* --stage */
	struct scpp_eval_prefetch pf;
};

struct workload {
	const char *name;
	const char *what;
	char text[4096];               /* the block in text form */
	uint8_t msg[8192];             /* the encoded BLOCK message */
	size_t msg_len;
	bool rebuild;                  /* the block grows the shard */
};

static struct scpp_oid
oid_n(uint64_t n)
{
	return scpp_oid_make(0, 1, 0, 2, n);
}

static uint32_t
attr(struct bench *b, const char *name)
{
	int64_t id = scpp_store_dict_intern(b->dict, name, strlen(name));

	if (id <= 0) {
		fprintf(stderr, "bench-eval: intern %s failed\n", name);
		exit(1);
	}
	return (uint32_t)id;
}

static void
check(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "bench-eval: %s failed: %s\n", what, strerror(rc < 0 ? -rc : rc));
		exit(1);
	}
}

/*
 * The shard the workloads read: 16 entities @0.1.0.2.1..10 with `size`,
 * A = @0.1.0.2.100 with 10 attributes, B = @0.1.0.2.101 (the copy target),
 * and a directory chain R -> a -> b -> c -> d (@0.1.0.2.200..204), each with
 * an `entries` map of 8 names, one of which leads to the next.
 */
static void
populate(struct bench *b)
{
	static const char *const comp[] = {"a", "b", "c", "d"};
	uint32_t size = attr(b, "size"), entries = attr(b, "entries"), tag = attr(b, "tag");
	struct scpp_value v;

	for (uint64_t i = 1; i <= 16; i++) {
		uint8_t bytes[8];

		check(scpp_store_entity_create(b->store, oid_n(i)), "create");
		v = scpp_value_u64(1000 + i);
		check(scpp_store_set(b->store, oid_n(i), size, &v), "set");
		for (int k = 0; k < 8; k++)
			bytes[k] = (uint8_t)(i * 8 + (uint64_t)k);
		v = scpp_value_bytes(bytes, sizeof(bytes));
		check(scpp_store_set(b->store, oid_n(i), tag, &v), "set tag");
	}
	check(scpp_store_entity_create(b->store, oid_n(0x100)), "create A");
	check(scpp_store_entity_create(b->store, oid_n(0x101)), "create B");
	for (int i = 0; i < 10; i++) {
		char name[16];

		snprintf(name, sizeof(name), "attr%d", i);
		v = i % 3 == 0 ? scpp_value_cstr("a short string")
			       : scpp_value_u64((uint64_t)i * 7);
		check(scpp_store_set(b->store, oid_n(0x100), attr(b, name), &v), "set A");
	}
	for (uint64_t d = 0; d < 5; d++)
		check(scpp_store_entity_create(b->store, oid_n(0x200 + d)), "create dir");
	for (uint64_t d = 0; d < 4; d++) {
		for (int k = 0; k < 8; k++) {
			char name[16];
			struct scpp_value key, val;

			if (k == 3) {
				key = scpp_value_cstr(comp[d]);
				val = scpp_value_oid(oid_n(0x200 + d + 1));
			} else {
				snprintf(name, sizeof(name), "other%d", k);
				key = scpp_value_cstr(name);
				val = scpp_value_oid(oid_n(0x300 + (uint64_t)k));
			}
			check(scpp_store_map_set(b->store, oid_n(0x200 + d), entries, &key, &val),
			      "map set");
		}
	}
}

static void
bench_init(struct bench *b)
{
	struct scpp_store_config cfg;
	struct scpp_store_dict_config dcfg = {
		.max_attrs = 4096, .name_bytes = 1 << 16, .socket_id = -1,
		.mem = &scpp_store_mem_libc,
	};

	memset(b, 0, sizeof(*b));
	scpp_store_config_init(&cfg);
	cfg.mem = &scpp_store_mem_libc;
	cfg.max_entries = 1 << 20;
	cfg.max_map_entries = 1 << 16;
	cfg.extent_bytes = 16 << 20;
	cfg.oid_node = 1;
	cfg.oid_epoch = 1;
	b->store = scpp_store_create(&cfg);
	b->dict = scpp_store_dict_create(&dcfg);
	b->ctx = scpp_eval_ctx_create(NULL, -1, false);
	if (b->store == NULL || b->dict == NULL || b->ctx == NULL) {
		fprintf(stderr, "bench-eval: setup failed: %s\n", strerror(errno));
		exit(1);
	}
	b->env.store = b->store;
	b->env.dict = b->dict;
	b->env.node = scpp_oid_make(0, 1, 0, 0, 0);
	populate(b);
}

static void
bench_free(struct bench *b)
{
	scpp_eval_ctx_free(b->ctx);
	scpp_store_free(b->store);
	scpp_store_dict_free(b->dict);
}

/* Build the workloads' texts and encode them as BLOCK messages. */
static int
workloads_init(struct workload *w)
{
	static struct scpp_wire_block tmp;
	static uint8_t arena[8192];
	struct scpp_lang_error err;
	size_t n;
	int k = 0, rc;

	w[k].name = "get1";
	w[k].what = "1 get";
	snprintf(w[k].text, sizeof(w[k].text), "get @0.1.0.2.1 size %%v");
	k++;

	w[k].name = "get16";
	w[k].what = "16 gets of 16 entities, 16 variables returned";
	n = 0;
	for (int i = 1; i <= 16; i++)
		n += (size_t)snprintf(w[k].text + n, sizeof(w[k].text) - n,
				      "get @0.1.0.2.%x size %%v%d\n", i, i);
	k++;

	w[k].name = "get16b";
	w[k].what = "16 gets of an 8-byte bytes value of 16 entities, 16 variables returned";
	n = 0;
	for (int i = 1; i <= 16; i++)
		n += (size_t)snprintf(w[k].text + n, sizeof(w[k].text) - n,
				      "get @0.1.0.2.%x tag %%v%d\n", i, i);
	k++;

	/* scpp-perf's 16-command 90/10 blocks: sets among the gets (here the
	 * 5th and the 12th command, each writing the value it reads). */
	w[k].name = "mix16";
	w[k].what = "14 gets and 2 sets of 16 entities, 14 variables returned";
	n = 0;
	for (int i = 1; i <= 16; i++)
		n += (size_t)(i == 5 || i == 12
				      ? snprintf(w[k].text + n, sizeof(w[k].text) - n,
						 "set @0.1.0.2.%x size %uu\n", i, 1000u + (unsigned int)i)
				      : snprintf(w[k].text + n, sizeof(w[k].text) - n,
						 "get @0.1.0.2.%x size %%v%d\n", i, i));
	k++;

	w[k].name = "walk4";
	w[k].what = "4-component path walk through map entries";
	snprintf(w[k].text, sizeof(w[k].text),
		 "get @0.1.0.2.200 entries[\"a\"] %%1\nget %%1 entries[\"b\"] %%2\n"
		 "get %%2 entries[\"c\"] %%3\nget %%3 entries[\"d\"] %%4\nreturn %%4\n");
	k++;

	w[k].name = "create5";
	w[k].what = "create + 5 sets";
	snprintf(w[k].text, sizeof(w[k].text),
		 "create %%x File\nset %%x name \"f\"\nset %%x size 0u\nset %%x mode 420u\n"
		 "set %%x uid 1000u\nset %%x gid 1000u\nreturn %%x\n");
	w[k].rebuild = true;
	k++;

	w[k].name = "copy10";
	w[k].what = "copy every attribute of a 10-attribute entity";
	snprintf(w[k].text, sizeof(w[k].text),
		 "get @0.1.0.2.100 %%1 %%2\nset @0.1.0.2.101 %%1 %%2\nreturn\n");
	k++;

	for (int i = 0; i < k; i++) {
		rc = scpp_lang_parse(w[i].text, strlen(w[i].text), &tmp, arena, sizeof(arena), &err);
		if (rc != 0) {
			fprintf(stderr, "bench-eval: %s: %s\n", w[i].name, err.msg);
			exit(1);
		}
		rc = scpp_wire_block_encode(&tmp, w[i].msg, sizeof(w[i].msg));
		if (rc < 0) {
			fprintf(stderr, "bench-eval: %s: encode failed\n", w[i].name);
			exit(1);
		}
		w[i].msg_len = (size_t)rc;
	}
	return k;
}

/*
 * One block, the way a worker runs it: decode the message, evaluate, encode
 * the reply. Not inlined: callgrind's --toggle-collect names it.
 */
__attribute__((noinline)) int bench_block(struct bench *b, const uint8_t *msg, size_t len);

__attribute__((noinline)) int
bench_block(struct bench *b, const uint8_t *msg, size_t len)
{
	struct scpp_wire_reply_writer w;
	int rc;

	if (b->worker_decode) {
		struct scpp_wire_block_cursor bc;
		struct scpp_oid owner;

		rc = scpp_wire_block_decode_begin(&bc, msg, len, &b->blk, NULL);
		if (rc == 0)
			rc = scpp_wire_block_decode_owner(&bc, &b->blk, &owner, NULL);
		if (rc >= 0)
			rc = scpp_wire_block_decode_rest(&bc, &b->blk, NULL);
	} else {
		rc = scpp_wire_block_decode(msg, len, &b->blk, NULL);
	}
	if (rc != 0)
		return rc;
	if (b->stage) {
		scpp_eval_prefetch(b->ctx, &b->env, &b->blk, &b->pf);
		scpp_eval_prefetch_entries(&b->env, &b->pf);
		scpp_eval_use_prefetch(b->ctx, &b->pf);
	}
	scpp_wire_reply_writer_init(&w, b->reply, sizeof(b->reply));
	rc = scpp_eval_block(b->ctx, &b->env, &b->blk, 1, &w, &b->res);
	b->reply_len = w.len;
	return rc;
}

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void
run_checked(struct bench *b, const struct workload *w)
{
	if (bench_block(b, w->msg, w->msg_len) != 0 || b->res.outcome != SCPP_OUTCOME_OK) {
		fprintf(stderr, "bench-eval: %s: block failed (outcome %u, err %u)\n", w->name,
			b->res.outcome, b->res.err);
		exit(1);
	}
}

/* Empty the shard and rebuild it (outside any timing). */
static void
rebuild(struct bench *b)
{
	check(scpp_store_clear(b->store), "clear");
	populate(b);
}

#define BATCH 1024

/* One timed run of about @seconds; returns ns per block. */
static double
timed_run(struct bench *b, const struct workload *w, double seconds, uint64_t *cmds_per_block)
{
	double spent = 0;
	uint64_t blocks = 0, cmds = 0;

	while (spent < seconds * 1e9) {
		double t0, t1;

		if (w->rebuild)
			rebuild(b);
		t0 = now_ns();
		for (int i = 0; i < BATCH; i++)
			(void)bench_block(b, w->msg, w->msg_len);
		t1 = now_ns();
		spent += t1 - t0;
		blocks += BATCH;
		cmds += (uint64_t)BATCH * b->res.commands;
		if (b->res.outcome != SCPP_OUTCOME_OK) {
			fprintf(stderr, "bench-eval: %s: block failed in the timed loop\n", w->name);
			exit(1);
		}
	}
	*cmds_per_block = cmds / blocks;
	return spent / (double)blocks;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
usage(void)
{
	fprintf(stderr,
		"usage: scpp-bench-eval [--op get1|get16|get16b|mix16|walk4|create5|copy10|all]\n"
		"                       [--runs R] [--seconds S] [--iterations N] [--decode whole|worker]\n"
		"                       [--stage]\n"
		"  --runs R        timed runs per workload, median reported (default 5)\n"
		"  --seconds S     length of one run (default 0.8)\n"
		"  --iterations N  run exactly N blocks of --op, untimed (for callgrind)\n"
		"  --decode MODE   whole (default): one decode call; worker: as scppd's worker\n"
		"                  (head, commands up to the owner's, the rest)\n"
		"  --stage         prefetch each block's keys as scppd's stage does and hand\n"
		"                  the hashes to the evaluation\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static struct bench b;
	static struct workload w[8];
	const char *op = "all";
	uint64_t iterations = 0;
	bool worker_decode = false, stage = false;
	int runs = 5, nw;
	double seconds = 0.8;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--op") == 0 && i + 1 < argc)
			op = argv[++i];
		else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = atoi(argv[++i]);
		else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc)
			iterations = strtoull(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--decode") == 0 && i + 1 < argc &&
			 (strcmp(argv[i + 1], "whole") == 0 || strcmp(argv[i + 1], "worker") == 0))
			worker_decode = strcmp(argv[++i], "worker") == 0;
		else if (strcmp(argv[i], "--stage") == 0)
			stage = true;
		else
			usage();
	}
	if (runs < 1 || runs > 99 || seconds <= 0)
		usage();
	bench_init(&b);
	b.worker_decode = worker_decode;
	b.stage = stage;
	nw = workloads_init(w);

	for (int i = 0; i < nw; i++) {
		double ns[99], med;
		uint64_t cpb = 0;

		if (strcmp(op, "all") != 0 && strcmp(op, w[i].name) != 0)
			continue;
		if (w[i].rebuild)
			rebuild(&b);
		run_checked(&b, &w[i]);
		if (iterations > 0) {
			/* Deterministic count: exactly N blocks, no warm-up and no
			 * rebuild inside (create5 grows the shard by N entities). */
			for (uint64_t n = 1; n < iterations; n++)
				(void)bench_block(&b, w[i].msg, w[i].msg_len);
			printf("{\"bench\":\"eval\",\"op\":\"%s\",\"iterations\":%" PRIu64
			       ",\"commands_per_block\":%" PRIu64 ",\"outcome\":%u,\"stage\":%s}\n",
			       w[i].name, iterations, b.res.commands, b.res.outcome,
			       stage ? "true" : "false");
			continue;
		}
		(void)timed_run(&b, &w[i], seconds / 4, &cpb); /* warm-up */
		for (int r = 0; r < runs; r++)
			ns[r] = timed_run(&b, &w[i], seconds, &cpb);
		qsort(ns, (size_t)runs, sizeof(ns[0]), cmp_double);
		med = ns[runs / 2];
		printf("{\"bench\":\"eval\",\"op\":\"%s\",\"what\":\"%s\",\"mem\":\"libc\","
		       "\"runs\":%d,\"commands_per_block\":%" PRIu64 ",\"ns_per_block\":%.1f,"
		       "\"ns_per_block_min\":%.1f,\"ns_per_block_max\":%.1f,"
		       "\"blocks_per_s\":%.0f,\"commands_per_s\":%.0f,\"msg_bytes\":%zu,"
		       "\"reply_bytes\":%zu,\"stage\":%s}\n",
		       w[i].name, w[i].what, runs, cpb, med, ns[0], ns[runs - 1], 1e9 / med,
		       1e9 / med * (double)cpb, w[i].msg_len, b.reply_len, stage ? "true" : "false");
		fflush(stdout);
	}
	bench_free(&b);
	return 0;
}
