/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * unit.copy_fabric: the fabric engine over libfabric's shm and tcp
 * providers (tcp bound to 127.0.0.1), run for real.
 *
 * In one process: two instances, one the target of the other (and polled
 * as such), for the differential run, caps and windows, bad keys, ranges
 * outside a window (refused locally, and by the provider when a forged
 * window lies about its length), device back-pressure, and unregister
 * racing a copy in flight.
 *
 * Between two processes: copy_peer (started here, killed by PID on any
 * failure) maps a shared-memory file that this process maps too, so every
 * byte either side writes is compared here, byte for byte: fi_write and
 * fi_read from this process into the peer's window (the differential run),
 * then from the peer into ours; then the peer is killed and a copy to it
 * must fail within its timeout, never hang.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "copy_test.h"

#define MiB (UINT64_C(1) << 20)
#define BIG (64 * MiB)
#define MEM_LEN (BIG + 2 * MiB)

static const char *
node_of(const char *provider)
{
	/* tcp binds loopback only (traffic never leaves the host); shm has no
	 * network address. */
	return strcmp(provider, "tcp") == 0 ? "127.0.0.1" : NULL;
}

/*
 * The instances' clock: CLOCK_MONOTONIC plus a skew the test adds to make
 * a copy that will never complete (shm's answer to a refusal, a peer that
 * is gone) time out now. Every timeout is TIMEOUT_NS, far beyond what a
 * copy that completes can take on a loaded machine, so no copy expected to
 * succeed depends on the machine's speed, and none expected to time out
 * waits for it.
 */
#define TIMEOUT_NS (UINT64_C(60) * 1000000000u)
static uint64_t clock_skew;

static uint64_t
test_clock(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec + clock_skew;
}

/* Move every instance's clock past the deadlines of copies in flight. */
static void
expire(void)
{
	clock_skew += 2 * TIMEOUT_NS;
}

static struct scpp_copy *
make(const char *provider, uint64_t timeout_ns, uint64_t part_max)
{
	struct scpp_copy_config cfg;
	struct scpp_copy *c;

	scpp_copy_config_init(&cfg);
	cfg.engine = "fabric";
	cfg.fabric.provider = provider;
	cfg.fabric.node = node_of(provider);
	cfg.timeout_ns = timeout_ns;
	cfg.clock = test_clock;
	cfg.part_max = part_max;
	cfg.ring_size = 256;
	c = scpp_copy_create(&cfg);
	assert_non_null(c);
	return c;
}

static void
pump_one(void *ctx)
{
	struct scpp_copy_cpl cpl[1];

	(void)scpp_copy_poll_burst(ctx, cpl, 0);
}

/* Two instances in this process: a copies, b is the target. */
struct pair {
	struct scpp_copy *a, *b;
	uint8_t *amem, *bmem;
	size_t alen, blen;
	struct scpp_copy_region *areg, *breg;
	struct scpp_copy_window bwin;
	struct scpp_copy_remote *rw;
};

static void
pair_open(struct pair *p, const char *provider, size_t len, uint64_t part_max,
	  uint64_t timeout_ns)
{
	memset(p, 0, sizeof(*p));
	p->a = make(provider, timeout_ns, part_max);
	p->b = make(provider, TIMEOUT_NS, 0);
	p->alen = p->blen = len;
	p->amem = ct_map(len);
	p->bmem = ct_map(len);
	ct_fill(p->amem, len, 1);
	ct_fill(p->bmem, len, 2);
	assert_int_equal(scpp_copy_mem_register(p->a, p->amem, len, SCPP_COPY_ACCESS_LOCAL,
						&p->areg), 0);
	assert_int_equal(scpp_copy_mem_register(p->b, p->bmem, len,
						SCPP_COPY_ACCESS_REMOTE_READ |
						SCPP_COPY_ACCESS_REMOTE_WRITE, &p->breg), 0);
	assert_int_equal(scpp_copy_window_get(p->b, p->breg, &p->bwin), 0);
	assert_int_equal(scpp_copy_remote_attach(p->a, &p->bwin, &p->rw), 0);
}

static void
pair_close(struct pair *p)
{
	scpp_copy_free(p->a);
	scpp_copy_free(p->b);
	ct_unmap(p->amem, p->alen);
	ct_unmap(p->bmem, p->blen);
}

static struct scpp_copy_op
op_to(struct scpp_copy_remote *rw, uint8_t kind, void *local, uint64_t roff, uint64_t len,
      uint64_t user)
{
	struct scpp_copy_op o;

	memset(&o, 0, sizeof(o));
	o.kind = kind;
	o.src = local;
	o.dst = local;
	o.remote = rw;
	o.remote_off = roff;
	o.len = len;
	o.user = user;
	return o;
}

static void
test_fabric_probe_names_what_is_missing(void **state)
{
	struct scpp_copy_config cfg;
	char why[256];
	(void)state;

	scpp_copy_config_init(&cfg);
	cfg.engine = "fabric";
	cfg.fabric.provider = "shm";
	cfg.fabric.node = NULL;
	assert_int_equal(scpp_copy_probe(&cfg, why, sizeof(why)), 0);
	cfg.fabric.provider = "tcp";
	cfg.fabric.node = "127.0.0.1";
	assert_int_equal(scpp_copy_probe(&cfg, why, sizeof(why)), 0);
	cfg.fabric.provider = "nope";
	assert_int_equal(scpp_copy_probe(&cfg, why, sizeof(why)), -ENODEV);
	assert_non_null(strstr(why, "\"nope\""));
	assert_null(scpp_copy_create(&cfg));
	assert_int_equal(errno, ENODEV);
	cfg.fabric.provider = NULL;
	assert_int_equal(scpp_copy_probe(&cfg, why, sizeof(why)), -ENODEV);
}

static void
test_fabric_shm_ignores_node_and_names_each_endpoint_apart(void **state)
{
	struct scpp_copy_config cfg;
	struct scpp_copy *x, *y;
	struct scpp_copy_region *rx, *ry;
	struct scpp_copy_window wx, wy;
	static uint8_t mx[4096], my[4096];
	(void)state;

	scpp_copy_config_init(&cfg); /* node 127.0.0.1 by default */
	cfg.engine = "fabric";
	cfg.fabric.provider = "shm";
	cfg.fabric.service = "7000";
	x = scpp_copy_create(&cfg);
	y = scpp_copy_create(&cfg);
	assert_non_null(x);
	assert_non_null(y);
	assert_int_equal(scpp_copy_mem_register(x, mx, sizeof(mx), SCPP_COPY_ACCESS_REMOTE_READ, &rx), 0);
	assert_int_equal(scpp_copy_mem_register(y, my, sizeof(my), SCPP_COPY_ACCESS_REMOTE_READ, &ry), 0);
	assert_int_equal(scpp_copy_window_get(x, rx, &wx), 0);
	assert_int_equal(scpp_copy_window_get(y, ry, &wy), 0);
	assert_memory_equal(wx.addr, "fi_shm://", 9);
	assert_true(wx.addr_len != wy.addr_len || memcmp(wx.addr, wy.addr, wx.addr_len) != 0);
	scpp_copy_free(x);
	scpp_copy_free(y);
}

static void
test_fabric_caps_and_windows(void **state)
{
	const char *provider = *state;
	struct scpp_copy_window w, other;
	struct scpp_copy_caps caps;
	struct scpp_copy_remote *rw;
	uint8_t enc[SCPP_COPY_WINDOW_LEN];
	struct pair p;

	pair_open(&p, provider, MiB, 0, TIMEOUT_NS);
	scpp_copy_caps_get(p.a, &caps);
	assert_string_equal(caps.engine, "fabric");
	assert_int_equal(caps.flags, SCPP_COPY_CAP_WRITE | SCPP_COPY_CAP_READ |
				     SCPP_COPY_CAP_OFFLOAD | SCPP_COPY_CAP_NEED_REG |
				     SCPP_COPY_CAP_WINDOWS | SCPP_COPY_CAP_TARGET_PROGRESS);
	assert_non_null(strstr(caps.provider, provider));
	assert_int_equal(p.bwin.engine, SCPP_COPY_WINDOW_FABRIC);
	assert_string_equal(p.bwin.provider, caps.provider);
	assert_true(p.bwin.len == MiB);
	assert_true(p.bwin.addr_len > 0);
	/* shm addresses windows by virtual address, tcp by offset. */
	if (strcmp(provider, "shm") == 0)
		assert_true(p.bwin.base == (uint64_t)(uintptr_t)p.bmem);
	else
		assert_true(p.bwin.base == 0);
	assert_int_equal(scpp_copy_window_encode(&p.bwin, enc), 0);
	assert_int_equal(scpp_copy_window_decode(enc, sizeof(enc), &w), 0);
	assert_memory_equal(&w, &p.bwin, sizeof(w));
	/* Two windows of one peer share its address; a's local-only region is no window. */
	assert_int_equal(scpp_copy_window_get(p.a, p.areg, &w), -EACCES);
	assert_int_equal(scpp_copy_remote_attach(p.a, &p.bwin, &rw), 0);
	assert_int_equal(scpp_copy_remote_detach(p.a, rw), 0);
	/* Another provider's or engine's window is refused. */
	other = p.bwin;
	strcpy(other.provider, strcmp(provider, "shm") == 0 ? "tcp;ofi_rxm" : "shm");
	assert_int_equal(scpp_copy_remote_attach(p.a, &other, &rw), -EPROTOTYPE);
	other = p.bwin;
	other.engine = SCPP_COPY_WINDOW_VERBS;
	assert_int_equal(scpp_copy_remote_attach(p.a, &other, &rw), -EPROTOTYPE);
	/* Keys are random, not a counter. */
	{
		struct scpp_copy_region *r2;
		struct scpp_copy_window w2;

		assert_int_equal(scpp_copy_mem_register(p.b, enc, sizeof(enc),
							SCPP_COPY_ACCESS_REMOTE_READ, &r2), 0);
		assert_int_equal(scpp_copy_window_get(p.b, r2, &w2), 0);
		assert_true(w2.key != p.bwin.key && w2.key != p.bwin.key + 1);
		assert_int_equal(w2.access, SCPP_COPY_ACCESS_REMOTE_READ);
		assert_int_equal(scpp_copy_mem_unregister(p.b, r2), 0);
	}
	pair_close(&p);
}

static void
test_fabric_matches_reference_in_one_process(void **state)
{
	const char *provider = *state;
	struct ct_env e;
	struct ct_result r;
	struct pair p;

	pair_open(&p, provider, MEM_LEN, 0, TIMEOUT_NS);
	memset(&e, 0, sizeof(e));
	e.c = p.a;
	e.pump = pump_one;
	e.pump_ctx = p.b;
	e.local = p.amem;
	e.local_len = p.alen;
	e.remote = p.bmem;
	e.remote_len = p.blen;
	e.rw = p.rw;
	e.max_len = 4 * MiB;
	e.big_len = BIG;
	e.big = 1;
	e.batch_max = 16;
	e.wait_s = 60;
	ct_diff_run(&e, 41, 120, &r);
	print_message("# fabric %s, one process: %u copies, %" PRIu64 " bytes\n", provider, r.ops,
		      r.bytes);
	pair_close(&p);
}

static void
wait_one(struct pair *p, struct scpp_copy_cpl *cpl)
{
	assert_int_equal(ct_wait(p->a, pump_one, p->b, cpl, 1, 40), 1);
}

/* Run one copy to completion; return its status. */
static int
run_one(struct pair *p, struct scpp_copy_op op)
{
	struct scpp_copy_cpl cpl;

	assert_int_equal(scpp_copy_submit_burst(p->a, &op, 1), 1);
	wait_one(p, &cpl);
	assert_true(cpl.user == op.user);
	return cpl.status;
}

/*
 * Run a copy the target refuses: tcp cancels it at once; shm never answers
 * (docs/COPY.md), so once nothing came back for a while the clock is moved
 * past its deadline and it times out (it could not have completed).
 */
static int
run_refused(struct pair *p, struct scpp_copy_op op)
{
	struct scpp_copy_cpl cpl;

	assert_int_equal(scpp_copy_submit_burst(p->a, &op, 1), 1);
	if (strcmp(p->bwin.provider, "shm") == 0 &&
	    ct_wait(p->a, pump_one, p->b, &cpl, 1, 1) == 0)
		expire();
	wait_one(p, &cpl);
	assert_true(cpl.user == op.user);
	return cpl.status;
}

/*
 * A refused copy fails -- how depends on the provider (docs/COPY.md): tcp
 * says -ECANCELED, shm never answers and the timeout says -ETIMEDOUT,
 * leaving a zombie -- and recovery puts the instance back to work without
 * touching its windows.
 */
static void
refused_then_recovered(struct pair *p, const char *what, int status)
{
	const char *provider = p->bwin.provider;
	struct scpp_copy_stats st;
	struct scpp_copy_op op;

	print_message("# %s: %s: %d (%s)\n", provider, what, status, strerror(-status));
	if (strcmp(provider, "shm") == 0)
		assert_int_equal(status, -ETIMEDOUT);
	else
		assert_int_equal(status, -ECANCELED);
	scpp_copy_stats_get(p->a, &st);
	if (strcmp(provider, "shm") == 0)
		assert_int_equal(st.zombies, 1);
	assert_int_equal(scpp_copy_recover(p->a), 0);
	scpp_copy_stats_get(p->a, &st);
	assert_int_equal(st.zombies, 0);
	assert_int_equal(st.inflight, 0);
	/* Works again at once, through the same attachment. */
	ct_fill(p->amem, 4096, status);
	op = op_to(p->rw, SCPP_COPY_WRITE, p->amem, 0, 4096, 99);
	assert_int_equal(run_one(p, op), 0);
	assert_memory_equal(p->bmem, p->amem, 4096);
}

static void
test_fabric_bad_key_is_refused_by_the_target(void **state)
{
	const char *provider = *state;
	struct scpp_copy_window forged;
	struct scpp_copy_remote *bad;
	uint8_t *before = ct_map(MiB);
	struct pair p;

	pair_open(&p, provider, MiB, 0, TIMEOUT_NS);
	forged = p.bwin;
	forged.key ^= 0x5a5a;
	assert_int_equal(scpp_copy_remote_attach(p.a, &forged, &bad), 0);
	memcpy(before + 4096, p.bmem + 4096, MiB - 4096);
	refused_then_recovered(&p, "write of 64 B with a bad key",
			       run_refused(&p, op_to(bad, SCPP_COPY_WRITE, p.amem, 8192, 64, 1)));
	refused_then_recovered(&p, "write of 256 KiB with a bad key",
			       run_refused(&p, op_to(bad, SCPP_COPY_WRITE, p.amem, 8192, 256 * 1024,
						     2)));
	memset(p.amem + 8192, 0, 256 * 1024);
	refused_then_recovered(&p, "read of 256 KiB with a bad key",
			       run_refused(&p, op_to(bad, SCPP_COPY_READ, p.amem + 8192, 8192,
						     256 * 1024, 3)));
	/* Nothing landed on either side. */
	assert_memory_equal(p.bmem + 4096, before + 4096, MiB - 4096);
	for (size_t i = 0; i < 256 * 1024; i++)
		if (p.amem[8192 + i] != 0)
			fail_msg("a refused read wrote byte %zu", i);
	pair_close(&p);
	ct_unmap(before, MiB);
}

static void
test_fabric_out_of_window_is_refused_here_and_by_the_target(void **state)
{
	const char *provider = *state;
	struct scpp_copy_window forged;
	struct scpp_copy_remote *bad;
	struct scpp_copy_region *r;
	struct scpp_copy_stats st;
	uint8_t *small = ct_map(2 * MiB), guard[4096];
	struct pair p;

	pair_open(&p, provider, MiB, 0, TIMEOUT_NS);
	/* Refused here: never reaches the provider. */
	assert_int_equal(run_one(&p, op_to(p.rw, SCPP_COPY_WRITE, p.amem, MiB - 10, 11, 1)),
			 -ERANGE);
	assert_int_equal(run_one(&p, op_to(p.rw, SCPP_COPY_READ, p.amem, UINT64_MAX - 4, 8, 2)),
			 -ERANGE);
	scpp_copy_stats_get(p.a, &st);
	assert_true(st.invalid == 2 && st.parts == 0);
	/* A forged window twice the size of its region: the target refuses
	 * what lies outside the registration, and nothing there changes. */
	memset(small, 0xee, 2 * MiB);
	assert_int_equal(scpp_copy_mem_register(p.b, small, MiB, SCPP_COPY_ACCESS_REMOTE_WRITE |
						SCPP_COPY_ACCESS_REMOTE_READ, &r), 0);
	assert_int_equal(scpp_copy_window_get(p.b, r, &forged), 0);
	forged.len = 2 * MiB;
	assert_int_equal(scpp_copy_remote_attach(p.a, &forged, &bad), 0);
	memcpy(guard, small + MiB - 2048, sizeof(guard));
	refused_then_recovered(&p, "write across the end of a registration",
			       run_refused(&p, op_to(bad, SCPP_COPY_WRITE, p.amem, MiB - 2048, 4096,
						     3)));
	assert_memory_equal(small + MiB - 2048, guard, sizeof(guard) / 2);
	for (size_t i = MiB; i < 2 * MiB; i++)
		if (small[i] != 0xee)
			fail_msg("byte %zu past the registration changed", i);
	pair_close(&p);
	ct_unmap(small, 2 * MiB);
}

static void
test_fabric_long_copies_wait_for_the_transmit_queue(void **state)
{
	const char *provider = *state;
	struct scpp_copy_op op;
	struct scpp_copy_cpl cpl;
	struct scpp_copy_stats st;
	struct pair p;

	pair_open(&p, provider, 16 * MiB, 2048, TIMEOUT_NS);
	/* 8 MiB in 2 KiB parts: 4096 operations, more than the queue holds. */
	op = op_to(p.rw, SCPP_COPY_WRITE, p.amem + 1, 3, 8 * MiB, 1);
	assert_int_equal(scpp_copy_submit_burst(p.a, &op, 1), 1);
	wait_one(&p, &cpl);
	assert_int_equal(cpl.status, 0);
	assert_memory_equal(p.bmem + 3, p.amem + 1, 8 * MiB);
	scpp_copy_stats_get(p.a, &st);
	assert_int_equal(st.parts, 4096);
	assert_true(st.hw_busy > 0);
	pair_close(&p);
}

static void
test_fabric_unregister_racing_a_copy_in_flight(void **state)
{
	const char *provider = *state;
	struct scpp_copy_op op;
	struct scpp_copy_cpl cpl;
	struct pair p;
	unsigned int ok = 0, failed = 0;

	pair_open(&p, provider, 4 * MiB, 0, TIMEOUT_NS);
	for (unsigned int it = 0; it < 20; it++) {
		struct scpp_copy_region *sr, *dr;
		struct scpp_copy_remote *rw;
		struct scpp_copy_window w;
		size_t len = (size_t)(64 * 1024) << (it % 6);
		uint8_t *src = ct_map(len), *dst = ct_map(len);

		ct_fill(src, len, it);
		assert_int_equal(scpp_copy_mem_register(p.a, src, len, SCPP_COPY_ACCESS_LOCAL, &sr), 0);
		assert_int_equal(scpp_copy_mem_register(p.b, dst, len, SCPP_COPY_ACCESS_REMOTE_WRITE,
							&dr), 0);
		assert_int_equal(scpp_copy_window_get(p.b, dr, &w), 0);
		assert_int_equal(scpp_copy_remote_attach(p.a, &w, &rw), 0);
		op = op_to(rw, SCPP_COPY_WRITE, src, 0, len, it);
		assert_int_equal(scpp_copy_submit_burst(p.a, &op, 1), 1);
		/* Our source: refused while in flight. */
		assert_int_equal(scpp_copy_mem_unregister(p.a, sr), -EBUSY);
		if (it % 2 == 1) {
			/* The target takes its memory back mid-copy and unmaps
			 * it: the copy completes or fails, and never writes
			 * into memory that is gone (that would fault). */
			assert_int_equal(scpp_copy_mem_unregister(p.b, dr), 0);
			ct_unmap(dst, len);
			dst = NULL;
		}
		/* Refused by shm after the unregister: it never answers; the
		 * copy completed or failed either way, so expire it. */
		if (dst != NULL || ct_wait(p.a, pump_one, p.b, &cpl, 1, 1) == 0) {
			if (dst == NULL)
				expire();
			wait_one(&p, &cpl);
		}
		if (cpl.status == 0) {
			ok++;
		} else {
			assert_null(dst);
			failed++;
			/* A zombie holds our source until recovery ends it. */
			assert_int_equal(scpp_copy_recover(p.a), 0);
		}
		if (dst != NULL) {
			assert_int_equal(cpl.status, 0);
			assert_memory_equal(dst, src, len);
			assert_int_equal(scpp_copy_mem_unregister(p.b, dr), 0);
			ct_unmap(dst, len);
		}
		assert_int_equal(scpp_copy_remote_detach(p.a, rw), 0);
		assert_int_equal(scpp_copy_mem_unregister(p.a, sr), 0);
		ct_unmap(src, len);
	}
	print_message("# %s: %u completed, %u refused by the target after its unregister\n",
		      provider, ok, failed);
	assert_int_equal(ok + failed, 20);
	assert_true(ok >= 10);
	pair_close(&p);
}

/* ------------------------------------------------------ two processes */

struct peer {
	pid_t pid;
	int to, from, memfd;
	uint8_t *mem;
	size_t len;
	struct scpp_copy_window win;
	char buf[1024];
	size_t used;
};

/* The peer of the running test, killed by PID by the teardown if a test
 * fails halfway. */
static struct peer *live_peer;

/*
 * The shm regions of dead peer @p pid (/dev/shm/<pid>:<uid>:<n>): a peer
 * killed without closing its endpoints leaves them, 16 MiB each, until a
 * later process given its PID clears them (copy_fabric_clear_stale()).
 */
static void
reap_regions(pid_t pid)
{
	char pfx[48];
	struct dirent *e;
	DIR *d;
	int n;

	n = snprintf(pfx, sizeof(pfx), "%ld:%lu:", (long)pid, (unsigned long)getuid());
	if ((d = opendir("/dev/shm")) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		const char *t = e->d_name + n;

		if (strncmp(e->d_name, pfx, (size_t)n) != 0 || *t == '\0' ||
		    strspn(t, "0123456789") != strlen(t))
			continue;
		(void)unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

/* Kill peer @p pid by PID and wait for it; its shm regions go with it. */
static void
peer_reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	reap_regions(pid);
}

static void
peer_kill(struct peer *p)
{
	if (p->pid > 0) {
		peer_reap(p->pid);
		p->pid = 0;
	}
	if (p->to >= 0)
		close(p->to);
	if (p->from >= 0)
		close(p->from);
	p->to = p->from = -1;
}

static int
teardown_peer(void **state)
{
	(void)state;
	if (live_peer != NULL) {
		peer_kill(live_peer);
		live_peer = NULL;
	}
	return 0;
}

/* One line from the peer, pumping @pump meanwhile (it may be the target of
 * the peer's copy); bounded by @wait_s. */
static void
peer_line(struct peer *p, struct scpp_copy *pump, char *out, size_t n, unsigned int wait_s)
{
	double end = ct_now() + wait_s;

	for (;;) {
		char *nl = memchr(p->buf, '\n', p->used);
		struct pollfd pfd = {.fd = p->from, .events = POLLIN};

		if (nl != NULL) {
			size_t k = (size_t)(nl - p->buf);

			assert_true(k < n);
			memcpy(out, p->buf, k);
			out[k] = '\0';
			p->used -= k + 1;
			memmove(p->buf, nl + 1, p->used);
			return;
		}
		if (pump != NULL)
			pump_one(pump);
		if (poll(&pfd, 1, pump != NULL ? 0 : 10) > 0) {
			ssize_t r = read(p->from, p->buf + p->used, sizeof(p->buf) - p->used);

			if (r <= 0)
				fail_msg("copy_peer closed its output");
			p->used += (size_t)r;
		}
		if (ct_now() > end)
			fail_msg("copy_peer did not answer in %u s", wait_s);
	}
}

static void
peer_say(struct peer *p, const char *line)
{
	size_t n = strlen(line);

	assert_true(write(p->to, line, n) == (ssize_t)n);
}

static void
hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static void
peer_start(struct peer *p, const char *provider, size_t len)
{
	const char *exe = getenv("SCPP_COPY_PEER");
	uint8_t enc[SCPP_COPY_WINDOW_LEN];
	int in[2], out[2];
	char line[512], fd[16], lens[32];

	if (exe == NULL)
		fail_msg("SCPP_COPY_PEER is not set (run through meson test)");
	memset(p, 0, sizeof(*p));
	p->to = p->from = -1;
	p->len = len;
	p->memfd = memfd_create("copy-peer", 0);
	assert_true(p->memfd >= 0);
	assert_int_equal(ftruncate(p->memfd, (off_t)len), 0);
	p->mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, p->memfd, 0);
	assert_true(p->mem != MAP_FAILED);
	ct_fill(p->mem, len, 77);
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	snprintf(fd, sizeof(fd), "%d", p->memfd);
	snprintf(lens, sizeof(lens), "%zu", len);
	p->pid = fork();
	assert_true(p->pid >= 0);
	if (p->pid == 0) {
		const char *node = node_of(provider);

		dup2(in[0], 0);
		dup2(out[1], 1);
		execl(exe, exe, provider, node != NULL ? node : "-", fd, lens, (char *)NULL);
		_exit(127);
	}
	live_peer = p;
	close(in[0]);
	close(out[1]);
	p->to = in[1];
	p->from = out[0];
	peer_line(p, NULL, line, sizeof(line), 30);
	assert_true(strncmp(line, "window ", 7) == 0);
	for (size_t i = 0; i < sizeof(enc); i++) {
		unsigned int v;

		assert_int_equal(sscanf(line + 7 + 2 * i, "%2x", &v), 1);
		enc[i] = (uint8_t)v;
	}
	assert_int_equal(scpp_copy_window_decode(enc, sizeof(enc), &p->win), 0);
}

static void
peer_stop(struct peer *p)
{
	int status = 0;
	double end = ct_now() + 10;

	peer_say(p, "quit\n");
	while (waitpid(p->pid, &status, WNOHANG) == 0) {
		if (ct_now() > end)
			fail_msg("copy_peer did not quit");
		usleep(1000);
	}
	p->pid = 0;
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	peer_kill(p);
	live_peer = NULL;
	munmap(p->mem, p->len);
	close(p->memfd);
}

static void
test_fabric_two_processes_both_directions(void **state)
{
	const char *provider = *state;
	struct scpp_copy *a = make(provider, TIMEOUT_NS, 0);
	struct scpp_copy_region *ar;
	struct scpp_copy_window aw;
	struct scpp_copy_remote *rw;
	struct scpp_copy_stats st;
	uint8_t enc[SCPP_COPY_WINDOW_LEN];
	uint8_t *amem = ct_map(MEM_LEN), *ml, *mp;
	char line[512], cmd[512];
	struct ct_env e;
	struct ct_result r;
	struct peer p;
	uint64_t seed = 5;

	ct_fill(amem, MEM_LEN, 3);
	assert_int_equal(scpp_copy_mem_register(a, amem, MEM_LEN, SCPP_COPY_ACCESS_LOCAL |
						SCPP_COPY_ACCESS_REMOTE_READ |
						SCPP_COPY_ACCESS_REMOTE_WRITE, &ar), 0);
	peer_start(&p, provider, MEM_LEN);
	assert_int_equal(scpp_copy_remote_attach(a, &p.win, &rw), 0);

	/* This process initiates: fi_write and fi_read into the peer's
	 * window, checked through our own mapping of its memory. */
	memset(&e, 0, sizeof(e));
	e.c = a;
	e.local = amem;
	e.local_len = MEM_LEN;
	e.remote = p.mem;
	e.remote_len = MEM_LEN;
	e.rw = rw;
	e.max_len = 4 * MiB;
	e.big_len = BIG;
	e.big = 1;
	e.batch_max = 16;
	e.wait_s = 60;
	ct_diff_run(&e, 51, 60, &r);
	assert_int_equal(r.big, 1);

	/* The peer initiates: it writes its memory into our window and reads
	 * ours into its memory, while we poll (target progress). */
	assert_int_equal(scpp_copy_window_get(a, ar, &aw), 0);
	assert_int_equal(scpp_copy_window_encode(&aw, enc), 0);
	strcpy(cmd, "attach ");
	hex(enc, sizeof(enc), cmd + 7);
	strcat(cmd, "\n");
	peer_say(&p, cmd);
	peer_line(&p, a, line, sizeof(line), 30);
	assert_string_equal(line, "ok 0");
	ml = ct_map(MEM_LEN);
	mp = ct_map(MEM_LEN);
	memcpy(ml, amem, MEM_LEN);
	memcpy(mp, p.mem, MEM_LEN);
	for (unsigned int i = 0; i < 40; i++) {
		bool write = i % 2 == 0;
		uint64_t len = i == 7 ? 16 * MiB : test_rand_below(&seed, 2 * MiB + 1);
		uint64_t loff = test_rand_below(&seed, MEM_LEN - len + 1);
		uint64_t roff = test_rand_below(&seed, MEM_LEN - len + 1);

		if (write)
			memcpy(ml + roff, mp + loff, len);
		else
			memcpy(mp + loff, ml + roff, len);
		snprintf(cmd, sizeof(cmd), "copy %c %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
			 write ? 'w' : 'r', loff, roff, len);
		peer_say(&p, cmd);
		peer_line(&p, a, line, sizeof(line), 60);
		if (strcmp(line, "done 0") != 0)
			fail_msg("peer %s of %" PRIu64 " bytes: %s", write ? "write" : "read", len,
				 line);
		if (write)
			assert_memory_equal(amem + roff, mp + loff, len);
		else
			assert_memory_equal(p.mem + loff, ml + roff, len);
	}
	assert_memory_equal(amem, ml, MEM_LEN);
	assert_memory_equal(p.mem, mp, MEM_LEN);
	scpp_copy_stats_get(a, &st);
	print_message("# fabric %s, two processes: %u copies from here (%" PRIu64 " bytes), "
		      "40 from the peer\n", provider, r.ops, r.bytes);
	peer_stop(&p);
	scpp_copy_free(a);
	ct_unmap(amem, MEM_LEN);
	ct_unmap(ml, MEM_LEN);
	ct_unmap(mp, MEM_LEN);
}

static void
test_fabric_peer_gone_fails_within_the_timeout(void **state)
{
	const char *provider = *state;
	struct scpp_copy *a = make(provider, TIMEOUT_NS, 0);
	struct scpp_copy_region *ar;
	struct scpp_copy_remote *rw;
	struct scpp_copy_op ops[2];
	struct scpp_copy_cpl cpl[2];
	struct scpp_copy_stats st;
	uint8_t *amem = ct_map(4 * MiB);
	struct peer p;
	unsigned int got;
	double t0;

	assert_int_equal(scpp_copy_mem_register(a, amem, 4 * MiB, SCPP_COPY_ACCESS_LOCAL, &ar), 0);
	peer_start(&p, provider, 4 * MiB);
	assert_int_equal(scpp_copy_remote_attach(a, &p.win, &rw), 0);
	ops[0] = op_to(rw, SCPP_COPY_WRITE, amem, 0, 64, 0);
	assert_int_equal(scpp_copy_submit_burst(a, ops, 1), 1);
	assert_int_equal(ct_wait(a, NULL, NULL, cpl, 1, 20), 1);
	assert_int_equal(cpl[0].status, 0);
	assert_memory_equal(p.mem, amem, 64);
	/* Gone without a word. */
	peer_reap(p.pid);
	p.pid = 0;
	ops[0] = op_to(rw, SCPP_COPY_WRITE, amem, 0, 2 * MiB, 1);
	ops[1] = op_to(rw, SCPP_COPY_READ, amem + 2 * MiB, 0, 64, 2);
	t0 = ct_now();
	assert_int_equal(scpp_copy_submit_burst(a, ops, 2), 2);
	/* tcp fails them at once; shm never answers: their deadline is
	 * brought forward once nothing came back for a while. */
	got = ct_wait(a, NULL, NULL, cpl, 2, 1);
	if (got < 2) {
		expire();
		got += ct_wait(a, NULL, NULL, cpl + got, 2 - got, 20);
	}
	assert_int_equal(got, 2);
	print_message("# %s: peer gone: write %d (%s), read %d (%s) after %.2f s\n", provider,
		      cpl[0].status, strerror(-cpl[0].status), cpl[1].status,
		      strerror(-cpl[1].status), ct_now() - t0);
	assert_true(cpl[0].status != 0 && cpl[1].status != 0);
	scpp_copy_stats_get(a, &st);
	assert_true(st.failed == 2);
	/* Whatever the provider left stuck is ended by recovery. */
	assert_int_equal(scpp_copy_recover(a), 0);
	scpp_copy_stats_get(a, &st);
	assert_int_equal(st.zombies, 0);
	assert_int_equal(st.inflight, 0);
	peer_kill(&p);
	live_peer = NULL;
	munmap(p.mem, p.len);
	close(p.memfd);
	scpp_copy_free(a);
	ct_unmap(amem, 4 * MiB);
}

static char prov_shm[] = "shm", prov_tcp[] = "tcp";

#define BOTH(f)                                                               \
	cmocka_unit_test_prestate_setup_teardown(f, NULL, teardown_peer, prov_shm), \
	cmocka_unit_test_prestate_setup_teardown(f, NULL, teardown_peer, prov_tcp)

/*
 * A process killed without closing its shm endpoints leaves its regions in
 * /dev/shm, named <pid>:<uid>:<n>; the next process given that PID used to
 * fail fi_enable with EBUSY (seen in CI: scppd exited at start). A child
 * plants such leftovers under its own PID, for every endpoint number its
 * engines could take, and one that is not a region name: two engines must
 * start and one attach the other's window, and the other name must stay.
 */
static void
test_fabric_shm_starts_over_regions_left_by_a_dead_pid(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char path[96], other[96];
		struct pair p;
		int rc = 0, fd;

		for (int i = 0; i < 64; i++) {
			snprintf(path, sizeof(path), "/dev/shm/%ld:%lu:%d", (long)getpid(),
				 (unsigned long)getuid(), i);
			fd = open(path, O_CREAT | O_EXCL | O_RDWR, 0600);
			if (fd < 0 || ftruncate(fd, 4096) != 0)
				_exit(10);
			close(fd);
		}
		snprintf(other, sizeof(other), "/dev/shm/%ld:%lu:keep", (long)getpid(),
			 (unsigned long)getuid());
		fd = open(other, O_CREAT | O_EXCL | O_RDWR, 0600);
		if (fd < 0)
			_exit(11);
		close(fd);
		pair_open(&p, "shm", 2 * MiB, 0, TIMEOUT_NS);
		if (access(other, F_OK) != 0)
			rc = 12;
		unlink(other);
		pair_close(&p);
		_exit(rc);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fabric_probe_names_what_is_missing),
		cmocka_unit_test(test_fabric_shm_ignores_node_and_names_each_endpoint_apart),
		cmocka_unit_test(test_fabric_shm_starts_over_regions_left_by_a_dead_pid),
		BOTH(test_fabric_caps_and_windows),
		BOTH(test_fabric_matches_reference_in_one_process),
		BOTH(test_fabric_bad_key_is_refused_by_the_target),
		BOTH(test_fabric_out_of_window_is_refused_here_and_by_the_target),
		BOTH(test_fabric_long_copies_wait_for_the_transmit_queue),
		BOTH(test_fabric_unregister_racing_a_copy_in_flight),
		BOTH(test_fabric_two_processes_both_directions),
		BOTH(test_fabric_peer_gone_fails_within_the_timeout),
	};

	/* A peer left by a failed assertion dies with us too (PDEATHSIG). */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
