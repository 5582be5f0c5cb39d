/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * scpp-bench-copy-eval: the evaluator's `copy` between two extent values,
 * one block at a time, done by the evaluator itself ("cpu": bounce through
 * its arena, save the undo bytes, write) and through a copy engine the way
 * scppd's synchronous interim path does it (app/scppd/copy.c: the undo copy,
 * then the copy, each submitted and polled to its end) with the memcpy and
 * the dmadev (dma_skeleton) engines, in the same run.
 *
 * Usage: scpp-bench-copy-eval [--sizes LIST] [--reps R] [--seconds S] [--quick]
 *
 * Prints one JSON object per line: {"mode":M,"size":N,"ns_per_block":..,
 * "gbps":..,"cpu_ns_per_block":..} per mode and size (median of --reps,
 * modes interleaved; cpu_ns is this thread's CPU time, which for the
 * engines includes the polls that wait), then {"ratio":"M/cpu",...} with
 * the paired median of rep-by-rep ratios. Every block's outcome is
 * checked, and the destination is compared with the source after each
 * measurement.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>

#include "scpp_copy.h"
#include "scpp_eval.h"
#include "scpp_lang.h"
#include "scpp_store.h"

#define MiB (UINT64_C(1) << 20)
#define MAX_SIZES 16
#define MAX_REPS 9
#define NMODES 3

static const char *const mode_name[NMODES] = {"cpu", "memcpy", "dmadev"};

struct bench {
	struct scpp_store *store;
	struct scpp_store_dict *dict;
	struct scpp_eval_ctx *ctx;
	struct scpp_eval_env env;
	struct scpp_oid a, b;
	uint32_t src, dst;
	struct scpp_copy *eng[NMODES];
	struct scpp_eval_copier cp[NMODES];
	struct scpp_wire_block blk;
	uint8_t arena[4096];
	uint8_t reply[65536];
};

static void
die(const char *what, int err)
{
	fprintf(stderr, "scpp-bench-copy-eval: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double
thread_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One copy, submitted and polled to its end (app/scppd/copy.c run_one()). */
static int
run_one(struct scpp_copy *c, void *dst, const void *src, uint64_t len)
{
	static uint64_t seq;
	struct scpp_copy_op op = {
		.user = ++seq, .dst = dst, .src = src, .len = len, .kind = SCPP_COPY_LOCAL,
	};
	struct scpp_copy_cpl cpl;

	if (scpp_copy_submit_burst(c, &op, 1) != 1)
		return -EBUSY;
	while (scpp_copy_poll_burst(c, &cpl, 1) != 1)
		;
	return cpl.status;
}

static int
copier(void *arg, const struct scpp_eval_copy_req *rq, struct scpp_eval_copy_done *done)
{
	struct scpp_copy *c = arg;
	int rc = 0;

	if (rq->save != NULL)
		rc = run_one(c, rq->save, rq->dst, rq->len);
	done->saved = rq->save != NULL && rc == 0;
	return rc != 0 ? rc : run_one(c, rq->dst, rq->src, rq->len);
}

static void
setup(struct bench *b, uint64_t max_size)
{
	struct scpp_store_config sc;
	struct scpp_store_dict_config dc = {.max_attrs = 64, .name_bytes = 4096, .socket_id = -1};
	struct scpp_eval_limits lim = {
		.max_bytes = 4 * max_size + MiB, .max_time_us = SCPP_EVAL_MAX_TIME_US,
	};
	struct scpp_copy_config cc;
	struct scpp_copy_region *reg;
	void *base;
	size_t len;
	int rc;

	scpp_store_config_init(&sc);
	sc.name = "bench_copy_eval";
	sc.max_entries = 1024;
	sc.max_map_entries = 1024;
	sc.extent_bytes = 4 * max_size;
	sc.max_value_len = (uint32_t)max_size;
	sc.oid_node = 1;
	b->store = scpp_store_create(&sc);
	b->dict = scpp_store_dict_create(&dc);
	b->ctx = scpp_eval_ctx_create(&lim, -1, true);
	if (b->store == NULL || b->dict == NULL || b->ctx == NULL)
		die("store, dictionary or eval context", ENOMEM);
	b->env.store = b->store;
	b->env.dict = b->dict;
	b->env.node = scpp_oid_make(0, 1, 0, 0, 0);
	b->a = scpp_oid_make(0, 1, 0, 1, 0xa);
	b->b = scpp_oid_make(0, 1, 0, 1, 0xb);
	b->src = (uint32_t)scpp_store_dict_intern(b->dict, "src", 3);
	b->dst = (uint32_t)scpp_store_dict_intern(b->dict, "dst", 3);
	if (scpp_store_entity_create(b->store, b->a) != 0 ||
	    scpp_store_entity_create(b->store, b->b) != 0)
		die("entities", EIO);
	for (int m = 1; m < NMODES; m++) {
		scpp_copy_config_init(&cc);
		cc.engine = mode_name[m];
		cc.ring_size = 4;
		cc.timeout_ns = UINT64_C(60) * 1000000000u;
		cc.mem = &scpp_copy_mem_rte;
		if (m == 2)
			cc.dmadev.device = "dma_skeleton0";
		b->eng[m] = scpp_copy_create(&cc);
		if (b->eng[m] == NULL)
			die(mode_name[m], rte_errno);
		scpp_store_mem_region(b->store, &base, &len);
		rc = scpp_copy_mem_register(b->eng[m], base, len, SCPP_COPY_ACCESS_LOCAL, &reg);
		scpp_eval_ctx_arena(b->ctx, &base, &len);
		if (rc == 0)
			rc = scpp_copy_mem_register(b->eng[m], base, len, SCPP_COPY_ACCESS_LOCAL,
						    &reg);
		if (rc != 0)
			die("registration", rc);
		b->cp[m] = (struct scpp_eval_copier){
			.copy = copier, .arg = b->eng[m], .min_len = 1, .max_len = max_size,
			.save = true, .engine = mode_name[m],
		};
	}
}

/* A fresh pair of values of @p size bytes: src a pattern, dst zeros. */
static void
values(struct bench *b, uint64_t size)
{
	uint8_t *p;

	scpp_store_del(b->store, b->a, b->src);
	scpp_store_del(b->store, b->b, b->dst);
	if (scpp_store_bytes_alloc(b->store, b->a, b->src, SCPP_VT_BYTES, size) != 0 ||
	    scpp_store_bytes_alloc(b->store, b->b, b->dst, SCPP_VT_BYTES, size) != 0 ||
	    scpp_store_bytes_ptr(b->store, b->a, b->src, 0, size, (void **)&p) != 0)
		die("values", ENOSPC);
	for (uint64_t i = 0; i < size; i++)
		p[i] = (uint8_t)(i * 131 + 7);
}

static void
verify(struct bench *b, uint64_t size)
{
	uint8_t *s, *d;

	if (scpp_store_bytes_ptr(b->store, b->a, b->src, 0, size, (void **)&s) != 0 ||
	    scpp_store_bytes_ptr(b->store, b->b, b->dst, 0, size, (void **)&d) != 0 ||
	    memcmp(s, d, size) != 0)
		die("the destination differs from the source", EIO);
}

/* Blocks per measurement: about @p secs, at least 16. */
static void
measure(struct bench *b, int mode, uint64_t size, double secs, double *ns, double *cpu_ns)
{
	struct scpp_wire_reply_writer w;
	struct scpp_eval_result res;
	double t0, c0, t;
	uint64_t n = 0;

	b->env.copier = mode == 0 ? NULL : &b->cp[mode];
	t0 = now();
	c0 = thread_cpu();
	do {
		for (int k = 0; k < 16; k++) {
			scpp_wire_reply_writer_init(&w, b->reply, sizeof(b->reply));
			if (scpp_eval_block(b->ctx, &b->env, &b->blk, n + 1, &w, &res) != 0 ||
			    res.outcome != SCPP_OUTCOME_OK)
				die("a copy block failed", res.code != 0 ? res.code : EIO);
			n++;
		}
		t = now() - t0;
	} while (t < secs);
	*ns = t * 1e9 / (double)n;
	*cpu_ns = (thread_cpu() - c0) * 1e9 / (double)n;
	verify(b, size);
}

static int
cmp_dbl(const void *x, const void *y)
{
	double a = *(const double *)x, c = *(const double *)y;

	return a < c ? -1 : a > c;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_dbl);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static uint64_t
parse_size(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 10);

	if (*end == 'K')
		v <<= 10;
	else if (*end == 'M')
		v <<= 20;
	return v;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"sizes", required_argument, NULL, 's'}, {"reps", required_argument, NULL, 'r'},
		{"seconds", required_argument, NULL, 't'}, {"quick", no_argument, NULL, 'q'},
		{NULL, 0, NULL, 0},
	};
	static const char *const eal_args[] = {"--no-pci", "-l", "0,1", "--iova-mode=va",
					       "--vdev=dma_skeleton0,lcore=1", "--log-level=error",
					       "--no-huge", "-m", "1024", "--no-shconf"};
	char *eal[1 + sizeof(eal_args) / sizeof(eal_args[0])];
	uint64_t sizes[MAX_SIZES] = {4096, 16384, 65536, 262144, 1048576, 4194304};
	int nsizes = 6, reps = 3, o;
	double secs = 0.25;
	struct scpp_lang_error lerr;
	static struct bench b;
	char text[128], *tok;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's':
			nsizes = 0;
			for (tok = strtok(optarg, ","); tok != NULL && nsizes < MAX_SIZES;
			     tok = strtok(NULL, ","))
				sizes[nsizes++] = parse_size(tok);
			break;
		case 'r':
			reps = atoi(optarg);
			break;
		case 't':
			secs = atof(optarg);
			break;
		case 'q':
			reps = 1;
			secs = 0.1;
			break;
		default:
			fprintf(stderr, "usage: scpp-bench-copy-eval [--sizes LIST] [--reps R] "
				"[--seconds S] [--quick]\n");
			return 2;
		}
	}
	if (reps < 1 || reps > MAX_REPS || nsizes < 1 || secs <= 0)
		die("--reps 1..9, --sizes and --seconds > 0", EINVAL);
	eal[0] = argv[0];
	for (size_t k = 0; k < sizeof(eal_args) / sizeof(eal_args[0]); k++)
		eal[k + 1] = (char *)(uintptr_t)eal_args[k];
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])), eal) < 0)
		die("rte_eal_init", rte_errno);
	{
		uint64_t max = 0;

		for (int i = 0; i < nsizes; i++)
			max = sizes[i] > max ? sizes[i] : max;
		setup(&b, max);
	}
	for (int i = 0; i < nsizes; i++) {
		double ns[NMODES][MAX_REPS], cpu[NMODES][MAX_REPS], ratio[NMODES][MAX_REPS];
		double mns[NMODES], mcpu[NMODES];

		values(&b, sizes[i]);
		snprintf(text, sizeof(text), "copy value(@0.1.0.1.b, dst) value(@0.1.0.1.a, src) %" PRIu64,
			 sizes[i]);
		if (scpp_lang_parse(text, strlen(text), &b.blk, b.arena, sizeof(b.arena), &lerr) != 0)
			die(lerr.msg, EINVAL);
		for (int r = 0; r < reps; r++)
			for (int m = 0; m < NMODES; m++)
				measure(&b, (m + r) % NMODES, sizes[i], secs,
					&ns[(m + r) % NMODES][r], &cpu[(m + r) % NMODES][r]);
		for (int m = 0; m < NMODES; m++)
			for (int r = 0; r < reps; r++)
				ratio[m][r] = ns[m][r] / ns[0][r];
		for (int m = 0; m < NMODES; m++) {
			mcpu[m] = median(cpu[m], reps);
			mns[m] = median(ns[m], reps);
			printf("{\"bench\":\"copy-eval\",\"mode\":\"%s\",\"size\":%" PRIu64
			       ",\"ns_per_block\":%.0f,\"gbps\":%.3f,\"cpu_ns_per_block\":%.0f,"
			       "\"reps\":%d}\n", mode_name[m], sizes[i], mns[m],
			       (double)sizes[i] / mns[m], mcpu[m], reps);
		}
		for (int m = 1; m < NMODES; m++)
			printf("{\"ratio\":\"%s/cpu\",\"size\":%" PRIu64 ",\"ns_per_block\":%.3f,"
			       "\"paired_ns_per_block\":%.3f}\n", mode_name[m], sizes[i],
			       mns[m] / mns[0], median(ratio[m], reps));
		fflush(stdout);
	}
	for (int m = 1; m < NMODES; m++)
		scpp_copy_free(b.eng[m]);
	scpp_eval_ctx_free(b.ctx);
	scpp_store_free(b.store);
	scpp_store_dict_free(b.dict);
	rte_eal_cleanup();
	return 0;
}
