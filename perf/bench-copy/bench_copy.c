/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * scpp-bench-copy: copy-engine throughput, latency and worker core time by
 * copy size, with raw libfabric fi_write between the same two processes and
 * the memcpy engine as baselines measured in the same run.
 *
 * Usage: scpp-bench-copy [--engines LIST] [--sizes LIST] [--reps R] [--quick]
 *                        [--depth D] [--seconds S]
 *   LIST of engines: memcpy, dmadev, shm, tcp (default: all four)
 *   LIST of sizes: bytes, with K/M suffixes (default 64 .. 64M, x4 steps)
 *
 * Every measurement runs for --seconds (default 0.25; --quick: 0.1 and one
 * rep) or until a large count bound, whichever is first. Prints one JSON
 * object per line (perf/RESULTS.md has the figures):
 * - {"start":...} and {"end":...}: CPU, kernel, DPDK, load average, elapsed;
 * - {"engine":E,"size":S,"mode":"tput",...}: depth D copies kept in flight
 *   (fewer when D x S would exceed 256 MiB), GB/s and M copies/s;
 * - {"engine":E,"size":S,"mode":"lat",...}: one copy at a time, submit to
 *   completion, p50/p99 in ns;
 * - local engines add the worker's core time per copied MiB: "api_ns_per_mib"
 *   is TSC time spent inside scpp_copy_submit_burst/scpp_copy_poll_burst (the
 *   worker's cost: memcpy copies inside submit, dmadev only writes
 *   descriptors), measured in the throughput loop, where the worker does
 *   1 us of other work (not counted) after every poll that returned nothing,
 *   as an evaluator would; "busy_ns_per_mib" leaves out the polls that
 *   found nothing ("empty_polls_per_mib" counts them: how many depends on
 *   how fast the device is, not on the engine); "other_cpu_ns_per_mib" is
 *   the CPU time of the process's other threads per MiB (getrusage self
 *   minus this thread: dma_skeleton's copy thread, the software stand-in
 *   for a DMA engine);
 * - {"ratio":...} lines: fabric engine over raw fi_write (same provider, same
 *   completion level, same peer), and dmadev over memcpy core time: the
 *   ratio of the medians, and "paired_*", the median of the per-rep ratios
 *   (rep k of one over rep k of the other, run back to back), which cancels
 *   load that drifts between reps on a shared machine.
 * Each figure is the median of --reps runs (default 3), engines interleaved.
 *
 * Two processes for the fabric rows: this one (pinned to CPU 0) and a peer
 * (this program, --peer PROVIDER, pinned to CPU 1) that registers 64 MiB +
 * 1 MiB with a fabric instance, prints its window, and polls until its input
 * closes (target progress). dmadev uses dma_skeleton0 with its copy thread
 * on lcore 1 (EAL -l 0,1 --iova-mode=va). Run as root for hugepages;
 * without free hugepages EAL uses --no-huge.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_rma.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_version.h>

#include "scpp_copy.h"

#define MiB (UINT64_C(1) << 20)
#define BUF_LEN (64 * MiB + MiB)
#define MAX_SIZES 32
#define MAX_REPS 9
/* A copy that takes this long failed; on a loaded shared machine a 64 MiB
 * copy over tcp can take well over the engines' default second. */
#define BENCH_TIMEOUT_NS (UINT64_C(60) * 1000000000u)
#define LAT_MAX 20000

static int reps = 3;
static unsigned int depth_max = 32;
static double seconds = 0.25;
static double tsc_per_ns;
static const char *mem_kind = "mmap";

static void
die(const char *what, int err)
{
	fprintf(stderr, "scpp-bench-copy: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void
calibrate_tsc(void)
{
	double t0 = now();
	uint64_t c0 = rte_rdtsc();

	while (now() - t0 < 0.05)
		;
	tsc_per_ns = (double)(rte_rdtsc() - c0) / ((now() - t0) * 1e9);
}

static void
pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		fprintf(stderr, "scpp-bench-copy: cannot pin to CPU %d\n", cpu);
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

static double
thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double
process_cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec) * 1e9 +
	       ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) * 1e3;
}

/* 1 us of work the copy API does not see (an evaluator serving blocks). */
static void
other_work(void)
{
	uint64_t end = rte_rdtsc() + (uint64_t)(1000 * tsc_per_ns);

	while (rte_rdtsc() < end)
		rte_pause();
}

static unsigned int
depth_for(uint64_t size)
{
	uint64_t d = (256 * MiB) / (size == 0 ? 1 : size);

	if (d > depth_max)
		d = depth_max;
	return d < 1 ? 1 : (unsigned int)d;
}

/* The count bound of a measurement: what 20 GB/s would do in --seconds. */
static uint64_t
count_for(uint64_t size)
{
	double n = seconds * 20e9 / (double)(size < 64 ? 64 : size);

	return n < 64 ? 64 : n > 1e8 ? 100000000 : (uint64_t)n;
}

/* ------------------------------------------------------- engine driver */

struct run {
	double gbps, mops, api_ns_per_mib, other_ns_per_mib;
	double busy_ns_per_mib;   /* submit + polls that returned completions */
	double empty_per_mib;     /* polls that returned nothing, per MiB */
	double p50, p99;
};

struct target {
	struct scpp_copy *c;
	uint8_t *local;            /* local buffer (registered) */
	uint8_t *dst;              /* local engines: destination buffer */
	struct scpp_copy_remote *rw; /* remote engines */
};

static struct scpp_copy_op
make_op(const struct target *t, uint64_t i, uint64_t size)
{
	struct scpp_copy_op op;
	uint64_t span = BUF_LEN - size - 64, off = span == 0 ? 0 : (i * 4096) % span;

	memset(&op, 0, sizeof(op));
	op.user = i;
	op.len = size;
	if (t->rw != NULL) {
		op.kind = SCPP_COPY_WRITE;
		op.src = t->local + off;
		op.remote = t->rw;
		op.remote_off = off;
	} else {
		op.kind = SCPP_COPY_LOCAL;
		op.src = t->local + off;
		op.dst = t->dst + off;
	}
	return op;
}

static void
check(const struct scpp_copy_cpl *cpl, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++)
		if (cpl[i].status != 0)
			die("a benchmark copy failed", cpl[i].status);
}

/*
 * Measurements are bounded by time (--seconds) and by count (a large one
 * that only slow sizes reach); submission stops at whichever comes first,
 * and what is in flight then is drained and counted.
 */
static bool
keep_going(double t0, uint64_t *tick, uint64_t *n, uint64_t sent)
{
	if ((++*tick & 15) == 0 && sent >= 16 && now() - t0 > seconds)
		*n = sent;
	return sent < *n;
}

static void
engine_tput(const struct target *t, uint64_t size, uint64_t n, bool idle_work, struct run *r)
{
	struct scpp_copy_op ops[SCPP_COPY_BURST_MAX];
	struct scpp_copy_cpl cpl[SCPP_COPY_BURST_MAX];
	unsigned int depth = depth_for(size);
	uint64_t sent = 0, done = 0, api = 0, empty_tsc = 0, empty = 0, tick = 0;
	double t0, cpu0, me0, secs, mib;

	t0 = now();
	cpu0 = process_cpu_ns();
	me0 = thread_cpu_ns();
	while (done < n) {
		(void)keep_going(t0, &tick, &n, sent);
		uint64_t inflight = sent - done, c0;
		uint16_t k = 0, got;

		while (sent + k < n && inflight + k < depth && k < SCPP_COPY_BURST_MAX) {
			ops[k] = make_op(t, sent + k, size);
			k++;
		}
		c0 = rte_rdtsc();
		if (k > 0)
			sent += scpp_copy_submit_burst(t->c, ops, k);
		got = scpp_copy_poll_burst(t->c, cpl, SCPP_COPY_BURST_MAX);
		c0 = rte_rdtsc() - c0;
		api += c0;
		if (got == 0 && k == 0) {
			empty++;
			empty_tsc += c0;
		}
		check(cpl, got);
		done += got;
		if (got == 0 && idle_work)
			other_work();
	}
	secs = now() - t0;
	mib = (double)(n * size) / (double)MiB;
	r->gbps = (double)(n * size) / secs / 1e9;
	r->mops = (double)n / secs / 1e6;
	r->api_ns_per_mib = (double)api / tsc_per_ns / mib;
	r->busy_ns_per_mib = (double)(api - empty_tsc) / tsc_per_ns / mib;
	r->empty_per_mib = (double)empty / mib;
	r->other_ns_per_mib = ((process_cpu_ns() - cpu0) - (thread_cpu_ns() - me0)) / mib;
}

static void
engine_lat(const struct target *t, uint64_t size, uint64_t n, struct run *r)
{
	static double lat[LAT_MAX];
	struct scpp_copy_cpl cpl;
	double t0 = now();
	uint64_t tick = 0;

	if (n > LAT_MAX)
		n = LAT_MAX;
	for (uint64_t i = 0; keep_going(t0, &tick, &n, i); i++) {
		struct scpp_copy_op op = make_op(t, i, size);
		uint64_t c0 = rte_rdtsc();

		if (scpp_copy_submit_burst(t->c, &op, 1) != 1)
			die("submit", ENOSPC);
		while (scpp_copy_poll_burst(t->c, &cpl, 1) == 0)
			;
		lat[i] = (double)(rte_rdtsc() - c0) / tsc_per_ns;
		check(&cpl, 1);
	}
	qsort(lat, n, sizeof(lat[0]), cmp_dbl);
	r->p50 = lat[n / 2];
	r->p99 = lat[(n * 99) / 100];
}

/* ----------------------------------------------------- raw libfabric */

struct raw {
	struct fi_info *info;
	struct fid_fabric *fabric;
	struct fid_domain *domain;
	struct fid_av *av;
	struct fid_cq *cq;
	struct fid_ep *ep;
	struct fid_mr *mr;
	fi_addr_t peer;
	uint64_t base, key;
	uint8_t *local;
	size_t out_max;
};

#define FI_CHECK(call)                                                        \
	do {                                                                  \
		int _rc = (int)(call);                                        \
		if (_rc != 0)                                                 \
			die(#call, _rc);                                      \
	} while (0)

static void
raw_open(struct raw *r, const char *provider, const struct scpp_copy_window *w, uint8_t *local)
{
	struct fi_info *h = fi_allocinfo();
	struct fi_av_attr av_attr = {.type = FI_AV_TABLE};
	struct fi_cq_attr cq_attr = {.format = FI_CQ_FORMAT_CONTEXT};
	const char *node = strcmp(provider, "tcp") == 0 ? "127.0.0.1" : NULL;

	memset(r, 0, sizeof(*r));
	/* The same contract as the engine: one-sided RMA on an RDM endpoint,
	 * delivery-complete writes, manual progress. */
	h->caps = FI_RMA | FI_READ | FI_WRITE | FI_REMOTE_READ | FI_REMOTE_WRITE;
	h->ep_attr->type = FI_EP_RDM;
	h->tx_attr->op_flags = FI_DELIVERY_COMPLETE;
	h->domain_attr->mr_mode = FI_MR_LOCAL | FI_MR_VIRT_ADDR | FI_MR_ALLOCATED |
				  FI_MR_PROV_KEY | FI_MR_ENDPOINT;
	h->domain_attr->threading = FI_THREAD_DOMAIN;
	h->domain_attr->data_progress = FI_PROGRESS_MANUAL;
	h->fabric_attr->prov_name = strdup(provider);
	FI_CHECK(fi_getinfo(FI_VERSION(FI_MAJOR_VERSION, FI_MINOR_VERSION), node, NULL,
			    node != NULL ? FI_SOURCE : 0, h, &r->info));
	fi_freeinfo(h);
	r->out_max = r->info->tx_attr->size;
	cq_attr.size = r->out_max * 2;
	FI_CHECK(fi_fabric(r->info->fabric_attr, &r->fabric, NULL));
	FI_CHECK(fi_domain(r->fabric, r->info, &r->domain, NULL));
	FI_CHECK(fi_av_open(r->domain, &av_attr, &r->av, NULL));
	FI_CHECK(fi_cq_open(r->domain, &cq_attr, &r->cq, NULL));
	FI_CHECK(fi_endpoint(r->domain, r->info, &r->ep, NULL));
	FI_CHECK(fi_ep_bind(r->ep, &r->av->fid, 0));
	FI_CHECK(fi_ep_bind(r->ep, &r->cq->fid, FI_TRANSMIT | FI_RECV));
	FI_CHECK(fi_enable(r->ep));
	FI_CHECK(fi_mr_reg(r->domain, local, BUF_LEN, FI_READ | FI_WRITE, 0, 0x5eed, 0, &r->mr,
			   NULL));
	if (fi_av_insert(r->av, w->addr, 1, &r->peer, 0, NULL) != 1)
		die("fi_av_insert", EIO);
	r->base = w->base;
	r->key = w->key;
	r->local = local;
}

static void
raw_close(struct raw *r)
{
	fi_close(&r->ep->fid);
	fi_close(&r->mr->fid);
	fi_close(&r->cq->fid);
	fi_close(&r->av->fid);
	fi_close(&r->domain->fid);
	fi_close(&r->fabric->fid);
	fi_freeinfo(r->info);
}

static void
raw_reap(struct raw *r, uint64_t *done)
{
	struct fi_cq_entry e[32];
	ssize_t n = fi_cq_read(r->cq, e, 32);

	if (n > 0)
		*done += (uint64_t)n;
	else if (n == -FI_EAVAIL)
		die("raw fi_write completed with an error", EIO);
}

static int
raw_post(struct raw *r, uint64_t i, uint64_t size)
{
	uint64_t span = BUF_LEN - size - 64, off = span == 0 ? 0 : (i * 4096) % span;

	return (int)fi_write(r->ep, r->local + off, size, fi_mr_desc(r->mr), r->peer,
			     r->base + off, r->key, NULL);
}

static void
raw_tput(struct raw *r, uint64_t size, uint64_t n, struct run *out)
{
	unsigned int depth = depth_for(size);
	uint64_t sent = 0, done = 0, tick = 0;
	double t0 = now(), secs;

	while (done < n) {
		(void)keep_going(t0, &tick, &n, sent);
		while (sent < n && sent - done < depth && sent - done < r->out_max) {
			int rc = raw_post(r, sent, size);

			if (rc == -FI_EAGAIN)
				break;
			if (rc != 0)
				die("fi_write", rc);
			sent++;
		}
		raw_reap(r, &done);
	}
	secs = now() - t0;
	out->gbps = (double)(n * size) / secs / 1e9;
	out->mops = (double)n / secs / 1e6;
}

static void
raw_lat(struct raw *r, uint64_t size, uint64_t n, struct run *out)
{
	static double lat[LAT_MAX];
	double t0 = now();
	uint64_t tick = 0;

	if (n > LAT_MAX)
		n = LAT_MAX;
	for (uint64_t i = 0; keep_going(t0, &tick, &n, i); i++) {
		uint64_t c0 = rte_rdtsc(), done = 0;
		int rc;

		while ((rc = raw_post(r, i, size)) == -FI_EAGAIN)
			raw_reap(r, &done);
		if (rc != 0)
			die("fi_write", rc);
		while (done == 0)
			raw_reap(r, &done);
		lat[i] = (double)(rte_rdtsc() - c0) / tsc_per_ns;
	}
	qsort(lat, n, sizeof(lat[0]), cmp_dbl);
	out->p50 = lat[n / 2];
	out->p99 = lat[(n * 99) / 100];
}

/* --------------------------------------------------------------- peer */

static int
peer_main(const char *provider)
{
	struct scpp_copy_config cfg;
	struct scpp_copy_region *r;
	struct scpp_copy_window w;
	struct scpp_copy_cpl cpl[1];
	uint8_t enc[SCPP_COPY_WINDOW_LEN];
	struct scpp_copy *c;
	uint8_t *mem;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	alarm(900);
	pin(1);
	mem = mmap(NULL, BUF_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
		   -1, 0);
	if (mem == MAP_FAILED)
		die("mmap", errno);
	scpp_copy_config_init(&cfg);
	cfg.engine = "fabric";
	cfg.name = "bench-peer";
	cfg.timeout_ns = BENCH_TIMEOUT_NS;
	cfg.fabric.provider = provider;
	cfg.fabric.node = strcmp(provider, "tcp") == 0 ? "127.0.0.1" : NULL;
	c = scpp_copy_create(&cfg);
	if (c == NULL)
		die("peer: scpp_copy_create", errno);
	if (scpp_copy_mem_register(c, mem, BUF_LEN, SCPP_COPY_ACCESS_REMOTE_READ |
				   SCPP_COPY_ACCESS_REMOTE_WRITE, &r) != 0 ||
	    scpp_copy_window_get(c, r, &w) != 0 || scpp_copy_window_encode(&w, enc) != 0)
		die("peer: window", EIO);
	for (size_t i = 0; i < sizeof(enc); i++)
		printf("%02x", enc[i]);
	printf("\n");
	fflush(stdout);
	/* Target progress until the benchmark closes our input. */
	for (uint64_t i = 0;; i++) {
		(void)scpp_copy_poll_burst(c, cpl, 0);
		if ((i & 4095) == 0) {
			struct pollfd pfd = {.fd = 0, .events = POLLIN};

			if (poll(&pfd, 1, 0) > 0)
				break;
		}
	}
	scpp_copy_free(c);
	return 0;
}

struct peer {
	pid_t pid;
	int to;
	struct scpp_copy_window w;
};

static void
peer_start(struct peer *p, const char *self, const char *provider)
{
	int in[2], out[2];
	char line[400];
	FILE *f;

	if (pipe(in) != 0 || pipe(out) != 0)
		die("pipe", errno);
	p->pid = fork();
	if (p->pid < 0)
		die("fork", errno);
	if (p->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execl(self, self, "--peer", provider, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	p->to = in[1];
	f = fdopen(out[0], "r");
	if (f == NULL || fgets(line, sizeof(line), f) == NULL)
		die("peer did not start", EIO);
	fclose(f);
	{
		uint8_t enc[SCPP_COPY_WINDOW_LEN];

		for (size_t i = 0; i < sizeof(enc); i++) {
			unsigned int v;

			if (sscanf(line + 2 * i, "%2x", &v) != 1)
				die("peer window", EINVAL);
			enc[i] = (uint8_t)v;
		}
		if (scpp_copy_window_decode(enc, sizeof(enc), &p->w) != 0)
			die("peer window", EINVAL);
	}
}

static void
peer_stop(struct peer *p)
{
	if (write(p->to, "q\n", 2) != 2)
		kill(p->pid, SIGKILL);
	close(p->to);
	waitpid(p->pid, NULL, 0);
}

/* -------------------------------------------------------------- output */

static void
emit_tput(const char *engine, uint64_t size, const struct run *r, bool cpu)
{
	printf("{\"engine\":\"%s\",\"size\":%" PRIu64 ",\"mode\":\"tput\",\"depth\":%u,"
	       "\"gbps\":%.3f,\"mops\":%.3f", engine, size, depth_for(size), r->gbps, r->mops);
	if (cpu)
		printf(",\"api_ns_per_mib\":%.0f,\"busy_ns_per_mib\":%.0f,\"empty_polls_per_mib\":%.1f,"
		       "\"other_cpu_ns_per_mib\":%.0f", r->api_ns_per_mib, r->busy_ns_per_mib,
		       r->empty_per_mib, r->other_ns_per_mib);
	printf(",\"reps\":%d,\"mem\":\"%s\"}\n", reps, mem_kind);
	fflush(stdout);
}

static void
emit_lat(const char *engine, uint64_t size, const struct run *r)
{
	printf("{\"engine\":\"%s\",\"size\":%" PRIu64 ",\"mode\":\"lat\",\"p50_ns\":%.0f,"
	       "\"p99_ns\":%.0f,\"reps\":%d}\n", engine, size, r->p50, r->p99, reps);
	fflush(stdout);
}

/* Median of each field over reps runs. */
static void
med(struct run *rs, int n, struct run *out)
{
	double v[MAX_REPS];

#define M(f)                                                                  \
	do {                                                                  \
		for (int i = 0; i < n; i++)                                   \
			v[i] = rs[i].f;                                       \
		out->f = median(v, n);                                        \
	} while (0)
	M(gbps);
	M(mops);
	M(api_ns_per_mib);
	M(busy_ns_per_mib);
	M(empty_per_mib);
	M(other_ns_per_mib);
	M(p50);
	M(p99);
#undef M
}

/* ------------------------------------------------------------ drivers */

static struct scpp_copy *
open_engine(const char *engine, const char *provider)
{
	struct scpp_copy_config cfg;
	struct scpp_copy *c;

	scpp_copy_config_init(&cfg);
	cfg.engine = engine;
	cfg.ring_size = 256;
	cfg.timeout_ns = BENCH_TIMEOUT_NS;
	if (strcmp(engine, "dmadev") == 0)
		cfg.dmadev.device = "dma_skeleton0";
	if (provider != NULL) {
		cfg.fabric.provider = provider;
		cfg.fabric.node = strcmp(provider, "tcp") == 0 ? "127.0.0.1" : NULL;
	}
	c = scpp_copy_create(&cfg);
	if (c == NULL)
		die(engine, errno);
	return c;
}

static void
run_local(bool want_memcpy, bool want_dmadev, const uint64_t *sizes, int nsizes)
{
	struct target mt = {0}, dt = {0};
	struct scpp_copy_region *r;
	uint8_t *src = rte_malloc("bench-src", BUF_LEN, 4096);
	uint8_t *dst = rte_malloc("bench-dst", BUF_LEN, 4096);

	if (src == NULL || dst == NULL)
		die("rte_malloc", ENOMEM);
	memset(src, 0x5a, BUF_LEN);
	memset(dst, 0, BUF_LEN);
	mt.local = dt.local = src;
	mt.dst = dt.dst = dst;
	if (want_memcpy)
		mt.c = open_engine("memcpy", NULL);
	if (want_dmadev) {
		dt.c = open_engine("dmadev", NULL);
		if (scpp_copy_mem_register(dt.c, src, BUF_LEN, SCPP_COPY_ACCESS_LOCAL, &r) != 0 ||
		    scpp_copy_mem_register(dt.c, dst, BUF_LEN, SCPP_COPY_ACCESS_LOCAL, &r) != 0)
			die("dmadev register", EIO);
	}
	for (int s = 0; s < nsizes; s++) {
		struct run mr[MAX_REPS], dr[MAX_REPS], m, d;
		uint64_t size = sizes[s], n = count_for(size);

		memset(mr, 0, sizeof(mr));
		memset(dr, 0, sizeof(dr));
		for (int k = 0; k < reps; k++) {
			if (want_memcpy) {
				engine_tput(&mt, size, n, true, &mr[k]);
				engine_lat(&mt, size, LAT_MAX, &mr[k]);
			}
			if (want_dmadev) {
				engine_tput(&dt, size, n, true, &dr[k]);
				engine_lat(&dt, size, LAT_MAX, &dr[k]);
			}
		}
		if (want_memcpy) {
			med(mr, reps, &m);
			emit_tput("memcpy", size, &m, true);
			emit_lat("memcpy", size, &m);
		}
		if (want_dmadev) {
			med(dr, reps, &d);
			emit_tput("dmadev", size, &d, true);
			emit_lat("dmadev", size, &d);
		}
		if (want_memcpy && want_dmadev) {
			double pa[MAX_REPS], pb[MAX_REPS];

			for (int k = 0; k < reps; k++) {
				pa[k] = dr[k].api_ns_per_mib / mr[k].api_ns_per_mib;
				pb[k] = dr[k].busy_ns_per_mib / mr[k].busy_ns_per_mib;
			}
			printf("{\"ratio\":\"dmadev/memcpy\",\"size\":%" PRIu64 ",\"api_ns_per_mib\":%.3f,"
			       "\"tput\":%.3f,\"paired_api_ns_per_mib\":%.3f,"
			       "\"paired_busy_ns_per_mib\":%.3f}\n", size,
			       d.api_ns_per_mib / m.api_ns_per_mib, d.gbps / m.gbps, median(pa, reps),
			       median(pb, reps));
		}
	}
	scpp_copy_free(mt.c);
	scpp_copy_free(dt.c);
	rte_free(src);
	rte_free(dst);
}

static void
run_fabric(const char *self, const char *provider, const uint64_t *sizes, int nsizes)
{
	struct scpp_copy_region *r;
	struct target t = {0};
	struct peer p;
	struct raw raw;
	char name[32];
	uint8_t *local = mmap(NULL, BUF_LEN, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	uint8_t *rlocal = mmap(NULL, BUF_LEN, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (local == MAP_FAILED || rlocal == MAP_FAILED)
		die("mmap", errno);
	memset(local, 0x33, BUF_LEN);
	memset(rlocal, 0x33, BUF_LEN);
	peer_start(&p, self, provider);
	t.c = open_engine("fabric", provider);
	t.local = local;
	if (scpp_copy_mem_register(t.c, local, BUF_LEN, SCPP_COPY_ACCESS_LOCAL, &r) != 0 ||
	    scpp_copy_remote_attach(t.c, &p.w, &t.rw) != 0)
		die("fabric engine setup", EIO);
	raw_open(&raw, provider, &p.w, rlocal);
	snprintf(name, sizeof(name), "fabric-%s", provider);
	for (int s = 0; s < nsizes; s++) {
		struct run er[MAX_REPS], rr[MAX_REPS], e, w;
		uint64_t size = sizes[s], n = count_for(size);

		memset(er, 0, sizeof(er));
		memset(rr, 0, sizeof(rr));
		for (int k = 0; k < reps; k++) {
			raw_tput(&raw, size, n, &rr[k]);
			engine_tput(&t, size, n, false, &er[k]);
			raw_lat(&raw, size, LAT_MAX, &rr[k]);
			engine_lat(&t, size, LAT_MAX, &er[k]);
		}
		double pr[MAX_REPS], pl[MAX_REPS];

		/* Paired ratios: rep k of the engine over rep k of raw, run
		 * back to back, so load that drifts over seconds cancels. */
		for (int k = 0; k < reps; k++) {
			pr[k] = er[k].gbps / rr[k].gbps;
			pl[k] = er[k].p50 / rr[k].p50;
		}
		med(rr, reps, &w);
		med(er, reps, &e);
		snprintf(name, sizeof(name), "fi_write-%s", provider);
		emit_tput(name, size, &w, false);
		emit_lat(name, size, &w);
		snprintf(name, sizeof(name), "fabric-%s", provider);
		emit_tput(name, size, &e, false);
		emit_lat(name, size, &e);
		printf("{\"ratio\":\"fabric/fi_write\",\"provider\":\"%s\",\"size\":%" PRIu64
		       ",\"tput\":%.3f,\"p50\":%.3f,\"paired_tput\":%.3f,\"paired_p50\":%.3f}\n",
		       provider, size, e.gbps / w.gbps, e.p50 / w.p50, median(pr, reps),
		       median(pl, reps));
		fflush(stdout);
	}
	raw_close(&raw);
	scpp_copy_free(t.c);
	peer_stop(&p);
	munmap(local, BUF_LEN);
	munmap(rlocal, BUF_LEN);
}

static void
read_first(const char *path, const char *key, char *out, size_t n)
{
	FILE *f = fopen(path, "r");
	char line[256];

	snprintf(out, n, "?");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *v;

		if (key != NULL && strncmp(line, key, strlen(key)) != 0)
			continue;
		v = key != NULL ? strchr(line, ':') : line;
		if (v == NULL)
			continue;
		v += key != NULL ? 2 : 0;
		v[strcspn(v, "\n\"")] = '\0';
		snprintf(out, n, "%s", v);
		break;
	}
	fclose(f);
}

/* The machine and its load, so a recorded run describes itself. */
static void
emit_machine(const char *what, double t_start)
{
	char cpu[128], load[64];
	struct utsname u;

	read_first("/proc/cpuinfo", "model name", cpu, sizeof(cpu));
	read_first("/proc/loadavg", NULL, load, sizeof(load));
	uname(&u);
	printf("{\"%s\":\"copy\",\"cpu\":\"%s\",\"kernel\":\"%s\",\"dpdk\":\"%s\","
	       "\"loadavg\":\"%s\",\"elapsed_s\":%.1f}\n", what, cpu, u.release, rte_version(),
	       load, now() - t_start);
	fflush(stdout);
}

static uint64_t
parse_size(const char *s)
{
	char *end;
	uint64_t v = strtoull(s, &end, 0);

	if (*end == 'K' || *end == 'k')
		v <<= 10;
	else if (*end == 'M' || *end == 'm')
		v <<= 20;
	return v;
}

static bool
has_hugepages(void)
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
	return n >= 128;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"engines", required_argument, NULL, 'e'}, {"sizes", required_argument, NULL, 's'},
		{"reps", required_argument, NULL, 'r'},    {"quick", no_argument, NULL, 'q'},
		{"depth", required_argument, NULL, 'd'},   {"seconds", required_argument, NULL, 't'},
		{"peer", required_argument, NULL, 'p'},    {NULL, 0, NULL, 0},
	};
	uint64_t sizes[MAX_SIZES];
	int nsizes = 0, o;
	char engines[128] = "memcpy,dmadev,shm,tcp";
	bool quick = false;
	double t_start;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'e':
			snprintf(engines, sizeof(engines), "%s", optarg);
			break;
		case 's':
			for (char *tok = strtok(optarg, ","); tok != NULL && nsizes < MAX_SIZES;
			     tok = strtok(NULL, ","))
				sizes[nsizes++] = parse_size(tok);
			break;
		case 'r':
			reps = atoi(optarg);
			break;
		case 'q':
			quick = true;
			break;
		case 'd':
			depth_max = (unsigned int)atoi(optarg);
			break;
		case 't':
			seconds = atof(optarg);
			break;
		case 'p':
			calibrate_tsc();
			return peer_main(optarg);
		default:
			fprintf(stderr, "usage: scpp-bench-copy [--engines memcpy,dmadev,shm,tcp] "
				"[--sizes 64,4K,64M] [--reps R] [--quick] [--depth D] [--seconds S]\n");
			return 2;
		}
	}
	if (reps < 1 || reps > MAX_REPS || depth_max < 1 || depth_max > 256)
		die("--reps must be 1..9 and --depth 1..256", EINVAL);
	if (quick) {
		reps = 1;
		seconds = 0.1;
	}
	if (nsizes == 0) {
		for (uint64_t s = 64; s <= 64 * MiB; s *= quick ? 16 : 4)
			sizes[nsizes++] = s;
		if (sizes[nsizes - 1] != 64 * MiB)
			sizes[nsizes++] = 64 * MiB;
	}
	for (int i = 0; i < nsizes; i++)
		if (sizes[i] == 0 || sizes[i] > 64 * MiB)
			die("sizes must be 1 .. 64M", EINVAL);
	pin(0);
	calibrate_tsc();
	t_start = now();
	{
		/* EAL for rte_malloc and dma_skeleton (its copy thread on lcore 1). */
		char *eal[16];
		int n = 0;

		eal[n++] = argv[0];
		eal[n++] = (char *)(uintptr_t)"--no-pci";
		eal[n++] = (char *)(uintptr_t)"-l";
		eal[n++] = (char *)(uintptr_t)"0,1";
		eal[n++] = (char *)(uintptr_t)"--iova-mode=va";
		eal[n++] = (char *)(uintptr_t)"--vdev=dma_skeleton0,lcore=1";
		eal[n++] = (char *)(uintptr_t)"--log-level=error";
		if (has_hugepages()) {
			eal[n++] = (char *)(uintptr_t)"--in-memory";
			mem_kind = "huge";
		} else {
			eal[n++] = (char *)(uintptr_t)"--no-huge";
			eal[n++] = (char *)(uintptr_t)"-m";
			eal[n++] = (char *)(uintptr_t)"512";
			eal[n++] = (char *)(uintptr_t)"--no-shconf";
			mem_kind = "nohuge";
		}
		if (rte_eal_init(n, eal) < 0)
			die("rte_eal_init", rte_errno);
	}
	emit_machine("start", t_start);
	printf("{\"bench\":\"copy\",\"tsc_per_ns\":%.3f,\"reps\":%d,\"seconds\":%.2f,"
	       "\"depth_max\":%u,\"fabric\":\"%s\"}\n", tsc_per_ns, reps, seconds, depth_max,
	       fi_tostr(&(uint32_t){fi_version()}, FI_TYPE_VERSION));
	if (strstr(engines, "memcpy") != NULL || strstr(engines, "dmadev") != NULL)
		run_local(strstr(engines, "memcpy") != NULL, strstr(engines, "dmadev") != NULL,
			  sizes, nsizes);
	if (strstr(engines, "shm") != NULL)
		run_fabric(argv[0], "shm", sizes, nsizes);
	if (strstr(engines, "tcp") != NULL)
		run_fabric(argv[0], "tcp", sizes, nsizes);
	emit_machine("end", t_start);
	rte_eal_cleanup();
	return 0;
}
