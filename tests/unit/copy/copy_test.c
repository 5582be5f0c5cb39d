/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The differential runner of copy_test.h. A wave is either one copy (which
 * may overlap itself, or be big) or a batch of copies whose ranges are
 * pairwise disjoint: copies in flight together are not ordered with respect
 * to each other (scpp_copy.h), so only disjoint batches have one right
 * answer. After each wave the destination ranges (with a guard band on each
 * side) are compared with the mirror; at the end, all of the memory is.
 */
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <rte_eal.h>

#include "copy_test.h"

#define GUARD 64

double
ct_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

uint8_t *
ct_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	return p;
}

void
ct_unmap(uint8_t *p, size_t len)
{
	if (p != NULL)
		munmap(p, len);
}

void
ct_fill(uint8_t *p, size_t len, uint64_t seed)
{
	uint64_t s = seed | 1;
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t v = test_rand(&s);

		memcpy(p + i, &v, 8);
	}
	for (; i < len; i++)
		p[i] = (uint8_t)test_rand(&s);
}

unsigned int
ct_wait(struct scpp_copy *c, void (*pump)(void *), void *pump_ctx, struct scpp_copy_cpl *out,
	unsigned int want, unsigned int wait_s)
{
	double end = ct_now() + wait_s;
	unsigned int got = 0;
	unsigned int spins = 0;

	while (got < want) {
		unsigned int ask = want - got;

		if (ask > SCPP_COPY_BURST_MAX)
			ask = SCPP_COPY_BURST_MAX;
		got += scpp_copy_poll_burst(c, out + got, (uint16_t)ask);
		if (pump != NULL)
			pump(pump_ctx);
		if ((++spins & 1023) == 0 && ct_now() > end)
			break;
	}
	return got;
}

/* A random length in [0, max] that favours the interesting small sizes. */
static uint64_t
rand_len(uint64_t *s, uint64_t max)
{
	uint64_t l;

	switch (test_rand_below(s, 8)) {
	case 0:
		l = test_rand_below(s, 2);
		break;
	case 1:
	case 2:
		l = 1 + test_rand_below(s, 64);
		break;
	case 3:
	case 4:
		l = test_rand_below(s, 4097);
		break;
	case 5:
		l = test_rand_below(s, 65537);
		break;
	default:
		l = test_rand_below(s, max + 1);
		break;
	}
	return l > max ? max : l;
}

struct planned {
	struct scpp_copy_op op;
	uint8_t *real_dst;   /* where the bytes land, as seen here */
	uint8_t *mirror_dst; /* the same range in the mirror */
	const uint8_t *mirror_src;
};

/* A random [off, off + len) inside a slot of @slot bytes at @base. */
static void
pick_range(uint64_t *s, uint64_t slot, uint64_t max, uint64_t *off, uint64_t *len)
{
	uint64_t cap = max < slot ? max : slot;

	*len = rand_len(s, cap);
	*off = test_rand_below(s, slot - *len + 1);
}

static void
shuffle(uint64_t *s, unsigned int *v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		v[i] = i;
	for (unsigned int i = n; i > 1; i--) {
		unsigned int j = (unsigned int)test_rand_below(s, i), t = v[i - 1];

		v[i - 1] = v[j];
		v[j] = t;
	}
}

static void
compare_range(const uint8_t *real, const uint8_t *mirror, const uint8_t *base, size_t blen,
	      size_t off, size_t len, const char *what)
{
	size_t lo = off > GUARD ? off - GUARD : 0;
	size_t hi = off + len + GUARD < blen ? off + len + GUARD : blen;

	(void)base;
	if (memcmp(real + lo, mirror + lo, hi - lo) != 0) {
		size_t i = lo;

		while (i < hi && real[i] == mirror[i])
			i++;
		fail_msg("%s: byte %zu differs (copy [%zu, %zu)): got %02x, want %02x", what, i,
			 off, off + len, real[i], mirror[i]);
	}
}

static unsigned int
plan_local(struct ct_env *e, uint64_t *s, struct planned *p, unsigned int n, uint8_t *ml,
	   bool single, bool big)
{
	if (single) {
		uint64_t len = big ? e->big_len : rand_len(s, e->max_len);
		uint64_t src, dst;

		if (big) {
			/* Disjoint halves so a big copy is a plain one. */
			src = test_rand_below(s, e->local_len / 2 - len + 1);
			dst = e->local_len / 2 + test_rand_below(s, e->local_len / 2 - len + 1);
		} else {
			if (len > e->local_len)
				len = e->local_len;
			src = test_rand_below(s, e->local_len - len + 1);
			/* Overlapping copies: the destination near the source. */
			if (e->overlap && test_rand_below(s, 2) == 0 && len > 0) {
				uint64_t lo = src > len ? src - len : 0;
				uint64_t hi = src + len < e->local_len - len ? src + len :
									 e->local_len - len;

				dst = lo + test_rand_below(s, hi - lo + 1);
			} else {
				dst = test_rand_below(s, e->local_len - len + 1);
			}
		}
		p[0].op.kind = SCPP_COPY_LOCAL;
		p[0].op.src = e->local + src;
		p[0].op.dst = e->local + dst;
		p[0].op.len = len;
		p[0].real_dst = e->local + dst;
		p[0].mirror_dst = ml + dst;
		p[0].mirror_src = ml + src;
		return 1;
	}
	{
		unsigned int slots = 2 * n, perm[2 * SCPP_COPY_BURST_MAX];
		uint64_t slot = e->local_len / slots;

		shuffle(s, perm, slots);
		for (unsigned int i = 0; i < n; i++) {
			uint64_t so, do_, len;

			pick_range(s, slot, e->max_len, &so, &len);
			do_ = test_rand_below(s, slot - len + 1);
			so += perm[2 * i] * slot;
			do_ += perm[2 * i + 1] * slot;
			p[i].op.kind = SCPP_COPY_LOCAL;
			p[i].op.src = e->local + so;
			p[i].op.dst = e->local + do_;
			p[i].op.len = len;
			p[i].real_dst = e->local + do_;
			p[i].mirror_dst = ml + do_;
			p[i].mirror_src = ml + so;
		}
		return n;
	}
}

static unsigned int
plan_remote(struct ct_env *e, uint64_t *s, struct planned *p, unsigned int n, uint8_t *ml,
	    uint8_t *mr, bool big)
{
	unsigned int lperm[SCPP_COPY_BURST_MAX], rperm[SCPP_COPY_BURST_MAX];
	uint64_t lslot, rslot;

	if (big)
		n = 1;
	lslot = e->local_len / n;
	rslot = e->remote_len / n;
	shuffle(s, lperm, n);
	shuffle(s, rperm, n);
	for (unsigned int i = 0; i < n; i++) {
		bool write = test_rand_below(s, 2) == 0;
		uint64_t lim = lslot < rslot ? lslot : rslot;
		uint64_t len = big ? e->big_len : rand_len(s, lim < e->max_len ? lim : e->max_len);
		uint64_t lo = lperm[i] * lslot + test_rand_below(s, lslot - len + 1);
		uint64_t ro = rperm[i] * rslot + test_rand_below(s, rslot - len + 1);

		p[i].op.kind = write ? SCPP_COPY_WRITE : SCPP_COPY_READ;
		p[i].op.remote = e->rw;
		p[i].op.remote_off = ro;
		p[i].op.len = len;
		if (write) {
			p[i].op.src = e->local + lo;
			p[i].real_dst = e->remote + ro;
			p[i].mirror_dst = mr + ro;
			p[i].mirror_src = ml + lo;
		} else {
			p[i].op.dst = e->local + lo;
			p[i].real_dst = e->local + lo;
			p[i].mirror_dst = ml + lo;
			p[i].mirror_src = mr + ro;
		}
	}
	return n;
}

void
ct_diff_run(struct ct_env *e, uint64_t seed, unsigned int waves, struct ct_result *res)
{
	struct scpp_copy_stats st0, st1;
	struct planned plan[SCPP_COPY_BURST_MAX];
	struct scpp_copy_op ops[SCPP_COPY_BURST_MAX];
	struct scpp_copy_cpl cpl[SCPP_COPY_BURST_MAX];
	uint8_t *ml, *mr = NULL;
	uint64_t s = seed | 1, user = 0, bytes = 0;
	unsigned int bigs_left = e->big, ops_total = 0;

	memset(res, 0, sizeof(*res));
	assert_true(e->batch_max >= 1 && e->batch_max <= SCPP_COPY_BURST_MAX);
	ml = ct_map(e->local_len);
	memcpy(ml, e->local, e->local_len);
	if (e->remote != NULL) {
		mr = ct_map(e->remote_len);
		memcpy(mr, e->remote, e->remote_len);
	}
	scpp_copy_stats_get(e->c, &st0);
	for (unsigned int w = 0; w < waves; w++) {
		/* Spread the big copies over the run. */
		bool big = bigs_left > 0 && test_rand_below(&s, waves - w) < bigs_left;
		bool single = big || test_rand_below(&s, 3) == 0;
		unsigned int n = single ? 1 : 1 + (unsigned int)test_rand_below(&s, e->batch_max);
		unsigned int done = 0, sent = 0;
		double end = ct_now() + e->wait_s;

		memset(plan, 0, sizeof(plan));
		if (e->remote == NULL)
			n = plan_local(e, &s, plan, n, ml, single, big);
		else
			n = plan_remote(e, &s, plan, single ? 1 : n, ml, mr, big);
		if (big) {
			bigs_left--;
			res->big++;
		}
		for (unsigned int i = 0; i < n; i++) {
			plan[i].op.user = user + i;
			ops[i] = plan[i].op;
			memmove(plan[i].mirror_dst, plan[i].mirror_src, plan[i].op.len);
			if (plan[i].op.kind == SCPP_COPY_LOCAL && plan[i].op.len > 0 &&
			    (uintptr_t)plan[i].op.src < (uintptr_t)plan[i].op.dst + plan[i].op.len &&
			    (uintptr_t)plan[i].op.dst < (uintptr_t)plan[i].op.src + plan[i].op.len)
				res->overlapping++;
			if (plan[i].op.len > res->max_seen)
				res->max_seen = plan[i].op.len;
		}
		while (done < n) {
			uint16_t got;

			if (sent < n)
				sent += scpp_copy_submit_burst(e->c, ops + sent, (uint16_t)(n - sent));
			got = scpp_copy_poll_burst(e->c, cpl, SCPP_COPY_BURST_MAX);
			for (uint16_t i = 0; i < got; i++) {
				const struct planned *pl = &plan[done + i];

				/* In submission order, each exactly once, successful. */
				assert_true(cpl[i].user == user + done + i);
				if (cpl[i].status != 0)
					fail_msg("copy %u (kind %u, %" PRIu64 " bytes): status %d (%s)",
						 done + i, pl->op.kind, pl->op.len, cpl[i].status,
						 strerror(-cpl[i].status));
				assert_int_equal(cpl[i].kind, pl->op.kind);
				assert_true(cpl[i].len == pl->op.len);
				bytes += pl->op.len;
			}
			done += got;
			if (e->pump != NULL)
				e->pump(e->pump_ctx);
			if (done < n && ct_now() > end)
				fail_msg("wave %u: %u of %u copies completed in %u s", w, done, n,
					 e->wait_s);
		}
		for (unsigned int i = 0; i < n; i++) {
			const struct planned *pl = &plan[i];
			bool to_remote = pl->op.kind == SCPP_COPY_WRITE;
			const uint8_t *real = to_remote ? e->remote : e->local;
			const uint8_t *mirror = to_remote ? mr : ml;
			size_t blen = to_remote ? e->remote_len : e->local_len;

			compare_range(real, mirror, real, blen, (size_t)(pl->real_dst - real),
				      (size_t)pl->op.len, to_remote ? "remote" : "local");
		}
		user += n;
		ops_total += n;
	}
	if (memcmp(e->local, ml, e->local_len) != 0)
		fail_msg("local memory differs from the mirror after the run");
	if (e->remote != NULL && memcmp(e->remote, mr, e->remote_len) != 0)
		fail_msg("remote memory differs from the mirror after the run");
	/* The counters moved by exactly what was done. */
	scpp_copy_stats_get(e->c, &st1);
	assert_true(st1.completed - st0.completed == ops_total);
	assert_true(st1.submitted - st0.submitted == ops_total);
	assert_true(st1.failed == st0.failed);
	assert_true(st1.bytes - st0.bytes == bytes);
	assert_int_equal(st1.inflight, 0);
	res->ops = ops_total;
	res->bytes = bytes;
	ct_unmap(ml, e->local_len);
	ct_unmap(mr, e->remote_len);
}

static bool
free_hugepages(void)
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
	return n >= 256;
}

static char *eal_own[16];
static int eal_argc;

int
ct_eal_dmadev_init(const char *prog)
{
	const char *args[] = {prog, "--no-pci", "-l", "0", "--iova-mode=va",
			      "--vdev=dma_skeleton0", "--vdev=dma_skeleton1", "--log-level=error",
			      "--in-memory", NULL, NULL, NULL, NULL};
	char *argv[SCPP_ARRAY_SIZE(args)];
	int argc = 9;

	if (!free_hugepages()) {
		args[8] = "--no-huge";
		args[argc++] = "-m";
		args[argc++] = "768";
		args[argc++] = "--no-shconf";
	}
	/* EAL wants mutable strings and rewrites argv. */
	for (int i = 0; i < argc; i++)
		eal_own[i] = argv[i] = strdup(args[i]);
	argv[argc] = NULL;
	eal_argc = argc;
	if (rte_eal_init(argc, argv) < 0) {
		fprintf(stderr, "%s: rte_eal_init failed\n", prog);
		return -1;
	}
	return 0;
}

void
ct_eal_fini(void)
{
	rte_eal_cleanup();
	for (int i = 0; i < eal_argc; i++)
		free(eal_own[i]);
	eal_argc = 0;
}

static struct scpp_copy *owned[16];

struct scpp_copy *
ct_own(struct scpp_copy *c)
{
	for (unsigned int i = 0; c != NULL && i < SCPP_ARRAY_SIZE(owned); i++)
		if (owned[i] == NULL) {
			owned[i] = c;
			return c;
		}
	SCPP_VERIFY(c == NULL); /* more than 16 at once: a test bug */
	return c;
}

void
ct_free(struct scpp_copy *c)
{
	for (unsigned int i = 0; c != NULL && i < SCPP_ARRAY_SIZE(owned); i++)
		if (owned[i] == c)
			owned[i] = NULL;
	scpp_copy_free(c);
}

int
ct_teardown(void **state)
{
	(void)state;
	for (unsigned int i = 0; i < SCPP_ARRAY_SIZE(owned); i++) {
		scpp_copy_free(owned[i]);
		owned[i] = NULL;
	}
	return 0;
}
