/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * unit.copy: the engine interface (configuration, the ring, burst and
 * ring-full semantics, per-copy errors in order, registration, counters),
 * the memcpy engine against the memmove reference, and the window
 * descriptor codec. No EAL, no devices.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "copy_test.h"

#define MiB (UINT64_C(1) << 20)

static struct scpp_copy *
make(const char *engine, uint32_t ring)
{
	struct scpp_copy_config cfg;
	struct scpp_copy *c;

	scpp_copy_config_init(&cfg);
	cfg.engine = engine;
	cfg.ring_size = ring;
	c = scpp_copy_create(&cfg);
	assert_non_null(c);
	return c;
}

static void
test_copy_free_null_is_noop(void **state)
{
	(void)state;
	scpp_copy_free(NULL);
}

static void
test_copy_engines_are_listed_and_selected_by_name(void **state)
{
	static const char *const want[] = {"memcpy", "dmadev", "fabric", "verbs"};
	struct scpp_copy_config cfg;
	struct scpp_copy_caps caps;
	struct scpp_copy *c;
	char why[256];
	(void)state;

	assert_int_equal(scpp_copy_engine_count(), 4);
	for (unsigned int i = 0; i < 4; i++)
		assert_string_equal(scpp_copy_engine_name(i), want[i]);
	assert_null(scpp_copy_engine_name(4));
	scpp_copy_config_init(&cfg);
	assert_int_equal(scpp_copy_probe(&cfg, why, sizeof(why)), 0);
	cfg.engine = "nope";
	assert_int_equal(scpp_copy_probe(&cfg, why, sizeof(why)), -ENOENT);
	assert_non_null(strstr(why, "\"nope\""));
	assert_null(scpp_copy_create(&cfg));
	assert_int_equal(errno, ENOENT);
	/* dmadev without EAL is not offered, and says why. */
	cfg.engine = "dmadev";
	assert_int_equal(scpp_copy_probe(&cfg, why, sizeof(why)), -ENODEV);
	assert_non_null(strstr(why, "EAL"));
	assert_null(scpp_copy_create(&cfg));
	assert_int_equal(errno, ENODEV);
	assert_int_equal(scpp_copy_probe(NULL, why, sizeof(why)), -EINVAL);
	cfg.engine = NULL;
	assert_int_equal(scpp_copy_probe(&cfg, why, sizeof(why)), -EINVAL);

	c = make("memcpy", 64);
	scpp_copy_caps_get(c, &caps);
	assert_string_equal(caps.engine, "memcpy");
	assert_int_equal(caps.flags, SCPP_COPY_CAP_LOCAL);
	assert_int_equal(caps.align, 1);
	assert_int_equal(caps.ring_size, 64);
	assert_int_equal(caps.max_burst, SCPP_COPY_BURST_MAX);
	assert_true(caps.max_len == SCPP_COPY_LEN_DEFAULT);
	assert_int_equal(scpp_copy_space(c), 64);
	assert_int_equal(scpp_copy_pending(c), 0);
	scpp_copy_free(c);
}

static void
test_copy_create_rejects_bad_config_one_field_at_a_time(void **state)
{
	struct scpp_copy_config good, cfg;
	struct scpp_copy *c;
	(void)state;

	scpp_copy_config_init(&good);
#define BAD(field, value)                                                     \
	do {                                                                  \
		cfg = good;                                                   \
		cfg.field = value;                                            \
		errno = 0;                                                    \
		assert_null(scpp_copy_create(&cfg));                          \
		assert_int_equal(errno, EINVAL);                              \
		c = scpp_copy_create(&good);                                  \
		assert_non_null(c);                                           \
		scpp_copy_free(c);                                            \
	} while (0)
	BAD(engine, NULL);
	BAD(ring_size, 0);
	BAD(ring_size, 3);
	BAD(ring_size, SCPP_COPY_RING_MAX * 2);
	BAD(max_regions, 0);
	BAD(max_regions, SCPP_COPY_REGIONS_MAX + 1);
	BAD(max_remotes, SCPP_COPY_REMOTES_MAX + 1);
	BAD(max_len, 0);
	BAD(max_len, SCPP_COPY_LEN_MAX + 1);
	BAD(align, 3);
	BAD(align, 8192);
#ifndef SCPP_TEST_FAULTS
	BAD(test_stall_len, 100); /* fault injection: test builds only */
#endif
#undef BAD
	assert_null(scpp_copy_create(NULL));
	assert_int_equal(errno, EINVAL);
	/* The limits themselves are accepted. */
	cfg = good;
	cfg.ring_size = 1;
	cfg.max_regions = SCPP_COPY_REGIONS_MAX;
	cfg.max_remotes = 0;
	cfg.max_len = SCPP_COPY_LEN_MAX;
	cfg.align = 4096;
	c = scpp_copy_create(&cfg);
	assert_non_null(c);
	scpp_copy_free(c);
}

/* An allocator that fails its n-th call and counts what is outstanding. */
struct counting_mem {
	int fail_at;
	int calls;
	long outstanding;
};

static void *
cm_alloc(void *ctx, size_t size, size_t align, int socket)
{
	struct counting_mem *m = ctx;
	void *p;

	(void)socket;
	if (m->calls++ == m->fail_at)
		return NULL;
	if (posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, size) != 0)
		return NULL;
	memset(p, 0, size);
	m->outstanding++;
	return p;
}

static void
cm_free(void *ctx, void *p, size_t size)
{
	struct counting_mem *m = ctx;

	(void)size;
	m->outstanding--;
	free(p);
}

static void
test_copy_create_failing_allocator_leaks_nothing(void **state)
{
	struct counting_mem m;
	struct scpp_copy_mem_ops ops = {cm_alloc, cm_free, &m};
	struct scpp_copy_config cfg;
	struct scpp_copy *c;
	int n_ok = -1;
	(void)state;

	scpp_copy_config_init(&cfg);
	cfg.mem = &ops;
	for (int k = 0; k < 16 && n_ok < 0; k++) {
		memset(&m, 0, sizeof(m));
		m.fail_at = k;
		c = scpp_copy_create(&cfg);
		if (c != NULL) {
			n_ok = k;
			assert_true(m.outstanding > 0);
			scpp_copy_free(c);
		} else {
			assert_int_equal(errno, ENOMEM);
		}
		assert_int_equal(m.outstanding, 0);
	}
	/* Every allocation the instance makes was tried and failed once. */
	assert_true(n_ok >= 4);
}

static void
test_copy_memcpy_matches_reference_on_random_copies(void **state)
{
	const size_t len = 2 * 64 * MiB + 2 * MiB;
	struct ct_env e;
	struct ct_result r;
	(void)state;

	memset(&e, 0, sizeof(e));
	e.c = make("memcpy", 256);
	e.local = ct_map(len);
	e.local_len = len;
	ct_fill(e.local, len, 42);
	e.max_len = 4 * MiB;
	e.big_len = 64 * MiB;
	e.big = 2;
	e.batch_max = 16;
	e.overlap = true;
	e.wait_s = 60;
	ct_diff_run(&e, 7, 300, &r);
	assert_true(r.ops >= 300);
	assert_true(r.overlapping >= 20);
	assert_int_equal(r.big, 2);
	assert_true(r.max_seen == 64 * MiB);
	print_message("# memcpy: %u copies, %u overlapping, %" PRIu64 " bytes\n", r.ops,
		      r.overlapping, r.bytes);
	scpp_copy_free(e.c);
	ct_unmap(e.local, len);
}

static void
fill_ops(struct scpp_copy_op *ops, unsigned int n, uint8_t *src, uint8_t *dst, uint64_t first)
{
	for (unsigned int i = 0; i < n; i++) {
		memset(&ops[i], 0, sizeof(ops[i]));
		ops[i].kind = SCPP_COPY_LOCAL;
		ops[i].src = src + i * 16;
		ops[i].dst = dst + i * 16;
		ops[i].len = 16;
		ops[i].user = first + i;
	}
}

static void
test_copy_bursts_at_every_edge_size(void **state)
{
	static const unsigned int sizes[] = {0, 1, 3, 4, 5, 31, 32, 33, 63, SCPP_COPY_BURST_MAX};
	struct scpp_copy_op ops[SCPP_COPY_BURST_MAX + 1];
	struct scpp_copy_cpl cpl[SCPP_COPY_BURST_MAX + 1];
	struct scpp_copy_stats st;
	uint8_t src[16 * (SCPP_COPY_BURST_MAX + 1)], dst[sizeof(src)];
	struct scpp_copy *c = make("memcpy", 1024);
	uint64_t user = 0;
	(void)state;

	ct_fill(src, sizeof(src), 1);
	for (unsigned int k = 0; k < SCPP_ARRAY_SIZE(sizes); k++) {
		unsigned int n = sizes[k];

		memset(dst, 0, sizeof(dst));
		fill_ops(ops, n, src, dst, user);
		assert_int_equal(scpp_copy_submit_burst(c, ops, (uint16_t)n), n);
		assert_int_equal(scpp_copy_pending(c), n);
		assert_int_equal(scpp_copy_poll_burst(c, cpl, (uint16_t)n), n);
		for (unsigned int i = 0; i < n; i++) {
			assert_true(cpl[i].user == user + i);
			assert_int_equal(cpl[i].status, 0);
			assert_true(cpl[i].len == 16);
		}
		assert_memory_equal(dst, src, 16 * n);
		user += n;
	}
	/* max + 1 does nothing at all. */
	fill_ops(ops, SCPP_COPY_BURST_MAX + 1, src, dst, 0);
	scpp_copy_stats_get(c, &st);
	assert_int_equal(scpp_copy_submit_burst(c, ops, SCPP_COPY_BURST_MAX + 1), 0);
	assert_int_equal(scpp_copy_poll_burst(c, cpl, SCPP_COPY_BURST_MAX + 1), 0);
	{
		struct scpp_copy_stats st2;

		scpp_copy_stats_get(c, &st2);
		assert_true(st2.submitted == st.submitted && st2.ring_full == st.ring_full);
	}
	assert_int_equal(scpp_copy_pending(c), 0);
	scpp_copy_free(c);
}

static void
test_copy_ring_full_returns_fewer_and_counts(void **state)
{
	struct scpp_copy_op ops[SCPP_COPY_BURST_MAX];
	struct scpp_copy_cpl cpl[SCPP_COPY_BURST_MAX];
	struct scpp_copy_stats st;
	uint8_t src[16 * SCPP_COPY_BURST_MAX], dst[sizeof(src)];
	struct scpp_copy *c = make("memcpy", 8);
	(void)state;

	ct_fill(src, sizeof(src), 3);
	memset(dst, 0, sizeof(dst));
	fill_ops(ops, SCPP_COPY_BURST_MAX, src, dst, 100);
	/* Eight slots: a burst of 64 takes 8, from the front. */
	assert_int_equal(scpp_copy_submit_burst(c, ops, SCPP_COPY_BURST_MAX), 8);
	assert_int_equal(scpp_copy_space(c), 0);
	assert_int_equal(scpp_copy_submit_burst(c, ops + 8, 4), 0);
	scpp_copy_stats_get(c, &st);
	assert_true(st.ring_full == 56 + 4);
	assert_int_equal(st.inflight, 8);
	/* Completions free slots only as they are returned. */
	assert_int_equal(scpp_copy_poll_burst(c, cpl, 3), 3);
	for (unsigned int i = 0; i < 3; i++)
		assert_true(cpl[i].user == 100 + i);
	assert_int_equal(scpp_copy_space(c), 3);
	assert_int_equal(scpp_copy_submit_burst(c, ops + 8, 5), 3);
	assert_int_equal(scpp_copy_poll_burst(c, cpl, SCPP_COPY_BURST_MAX), 8);
	for (unsigned int i = 0; i < 8; i++)
		assert_true(cpl[i].user == 103 + i);
	assert_memory_equal(dst, src, 16 * 11);
	/* Nothing beyond what was accepted was copied. */
	for (size_t i = 16 * 11; i < sizeof(dst); i++)
		assert_int_equal(dst[i], 0);
	scpp_copy_stats_get(c, &st);
	assert_true(st.submitted == 11 && st.completed == 11 && st.bytes == 16 * 11);
	assert_int_equal(st.inflight, 0);
	assert_int_equal(scpp_copy_space(c), 8);
	scpp_copy_free(c);
}

#ifdef SCPP_TEST_FAULTS
static uint64_t stall_now;

static uint64_t
stall_clock(void *ctx)
{
	(void)ctx;
	return stall_now;
}

/* test_stall_len (test builds): the instance behaves as a device that
 * hangs at its first copy of that length: earlier copies complete, that
 * one and every later one never do; at their deadline they fail with
 * ETIMEDOUT, in order, and stay zombies (nothing is released) until the
 * instance is freed. */
static void
test_copy_test_stall_hangs_the_device(void **state)
{
	struct scpp_copy_config cfg;
	struct scpp_copy_op ops[4];
	struct scpp_copy_cpl cpl[4];
	struct scpp_copy_stats st;
	uint8_t src[400], dst[400];
	struct scpp_copy *c;
	(void)state;

	scpp_copy_config_init(&cfg);
	cfg.engine = "memcpy";
	cfg.ring_size = 8;
	cfg.timeout_ns = 1000;
	cfg.clock = stall_clock;
	cfg.test_stall_len = 100;
	stall_now = 0;
	c = scpp_copy_create(&cfg);
	assert_non_null(c);
	ct_fill(src, sizeof(src), 5);
	memset(dst, 0, sizeof(dst));
	fill_ops(ops, 4, src, dst, 7);
	ops[0].len = 50;   /* completes */
	ops[1].len = 100;  /* the device hangs here */
	ops[1].src = src + 100;
	ops[1].dst = dst + 100;
	ops[2].len = 50;   /* never completes either */
	ops[2].src = src + 300;
	ops[2].dst = dst + 300;
	assert_int_equal(scpp_copy_submit_burst(c, ops, 3), 3);
	assert_int_equal(scpp_copy_poll_burst(c, cpl, 4), 1);
	assert_int_equal(cpl[0].status, 0);
	assert_memory_equal(dst, src, 50);
	/* Not before the deadline ... */
	stall_now = 999;
	assert_int_equal(scpp_copy_poll_burst(c, cpl, 4), 0);
	/* ... then both, in order, timed out, and never written. */
	stall_now = 1000;
	assert_int_equal(scpp_copy_poll_burst(c, cpl, 4), 2);
	assert_true(cpl[0].user == 8 && cpl[0].status == -ETIMEDOUT);
	assert_true(cpl[1].user == 9 && cpl[1].status == -ETIMEDOUT);
	for (size_t i = 50; i < sizeof(dst); i++)
		assert_int_equal(dst[i], 0);
	scpp_copy_stats_get(c, &st);
	assert_int_equal(st.timeouts, 2);
	assert_int_equal(st.zombies, 2);
	assert_int_equal(scpp_copy_space(c), 8 - 2); /* the zombies hold their slots */
	scpp_copy_free(c); /* ends them (copy_abandon_parts) */
}
#endif

static void
test_copy_invalid_copies_fail_with_their_status_in_order(void **state)
{
	struct scpp_copy_config cfg;
	struct scpp_copy_op ops[10];
	struct scpp_copy_cpl cpl[10];
	struct scpp_copy_stats st;
	uint8_t *src = ct_map(4096), *dst = ct_map(4096);
	struct scpp_copy *c;
	static const int want[10] = {0, -EINVAL, -EOPNOTSUPP, -EOPNOTSUPP, -E2BIG, -EINVAL,
				     0, -EINVAL, -EINVAL, 0};
	(void)state;

	scpp_copy_config_init(&cfg);
	cfg.max_len = 1024;
	cfg.align = 8;
	c = scpp_copy_create(&cfg);
	assert_non_null(c);
	ct_fill(src, 4096, 9);
	memset(ops, 0, sizeof(ops));
	for (unsigned int i = 0; i < 10; i++) {
		ops[i].kind = SCPP_COPY_LOCAL;
		ops[i].src = src + 256 * i;
		ops[i].dst = dst + 256 * i;
		ops[i].len = 64;
		ops[i].user = i;
	}
	ops[1].kind = 9;                     /* unknown kind */
	ops[2].kind = SCPP_COPY_WRITE;       /* memcpy does not do remote */
	ops[3].kind = SCPP_COPY_READ;
	ops[4].len = 1025;                   /* above max_len */
	ops[5].src = NULL;                   /* NULL with a length */
	ops[6].src = NULL;                   /* NULL with length 0 is fine */
	ops[6].dst = NULL;
	ops[6].len = 0;
	ops[7].dst = (uint8_t *)ops[7].dst + 4; /* misaligned for align 8 */
	ops[8].src = (const void *)(UINTPTR_MAX - 31); /* wraps */
	assert_int_equal(scpp_copy_submit_burst(c, ops, 10), 10);
	assert_int_equal(scpp_copy_poll_burst(c, cpl, 10), 10);
	for (unsigned int i = 0; i < 10; i++) {
		assert_true(cpl[i].user == i);
		assert_int_equal(cpl[i].status, want[i]);
		assert_true(cpl[i].len == (want[i] == 0 ? ops[i].len : 0));
		assert_int_equal(cpl[i].kind, ops[i].kind);
	}
	/* Failed copies touched nothing; good ones copied. */
	assert_memory_equal(dst, src, 64);
	assert_memory_equal(dst + 9 * 256, src + 9 * 256, 64);
	for (unsigned int i = 1; i < 9; i++)
		for (unsigned int j = 0; j < 64 + 4; j++)
			assert_int_equal(dst[256 * i + j], 0);
	scpp_copy_stats_get(c, &st);
	assert_true(st.submitted == 10 && st.completed == 3 && st.failed == 7 && st.invalid == 7);
	assert_true(st.bytes == 128);
	scpp_copy_free(c);
	ct_unmap(src, 4096);
	ct_unmap(dst, 4096);
}

static void
test_copy_registration_errors(void **state)
{
	struct scpp_copy_config cfg;
	struct scpp_copy_region *r[4], *x;
	struct scpp_copy_window w;
	struct scpp_copy_remote *rw;
	uint8_t link[SCPP_COPY_LINK_LEN], ans[SCPP_COPY_LINK_LEN];
	uint8_t *mem = ct_map(1 << 16);
	struct scpp_copy *c, *other;
	void *base;
	size_t len;
	(void)state;

	scpp_copy_config_init(&cfg);
	cfg.max_regions = 3;
	c = scpp_copy_create(&cfg);
	other = scpp_copy_create(&cfg);
	assert_non_null(c);
	assert_non_null(other);
	assert_int_equal(scpp_copy_mem_register(NULL, mem, 64, SCPP_COPY_ACCESS_LOCAL, &r[0]), -EINVAL);
	assert_int_equal(scpp_copy_mem_register(c, NULL, 64, SCPP_COPY_ACCESS_LOCAL, &r[0]), -EINVAL);
	assert_int_equal(scpp_copy_mem_register(c, mem, 0, SCPP_COPY_ACCESS_LOCAL, &r[0]), -EINVAL);
	assert_int_equal(scpp_copy_mem_register(c, mem, 64, SCPP_COPY_ACCESS_LOCAL, NULL), -EINVAL);
	assert_int_equal(scpp_copy_mem_register(c, (void *)(UINTPTR_MAX - 15), 64,
						SCPP_COPY_ACCESS_LOCAL, &r[0]), -EINVAL);
	assert_int_equal(scpp_copy_mem_register(c, mem, 64, 0, &r[0]), -EINVAL);
	assert_int_equal(scpp_copy_mem_register(c, mem, 64, 1u << 5, &r[0]), -EINVAL);
	/* memcpy has no windows. */
	assert_int_equal(scpp_copy_mem_register(c, mem, 64, SCPP_COPY_ACCESS_REMOTE_WRITE, &r[0]),
			 -EOPNOTSUPP);
	assert_int_equal(scpp_copy_mem_register(c, mem, 4096, SCPP_COPY_ACCESS_LOCAL, &r[0]), 0);
	assert_int_equal(scpp_copy_mem_register(c, mem + 4095, 10, SCPP_COPY_ACCESS_LOCAL, &x),
			 -EEXIST);
	assert_int_equal(scpp_copy_mem_register(c, mem + 4096, 4096, SCPP_COPY_ACCESS_LOCAL, &r[1]), 0);
	assert_int_equal(scpp_copy_mem_register(c, mem + 8192, 4096, SCPP_COPY_ACCESS_LOCAL, &r[2]), 0);
	assert_int_equal(scpp_copy_mem_register(c, mem + 12288, 4096, SCPP_COPY_ACCESS_LOCAL, &r[3]),
			 -ENOSPC);
	scpp_copy_region_info(r[1], &base, &len);
	assert_ptr_equal(base, mem + 4096);
	assert_int_equal(len, 4096);
	/* A region of another instance, or NULL, is not ours to unregister. */
	assert_int_equal(scpp_copy_mem_unregister(other, r[1]), -EINVAL);
	assert_int_equal(scpp_copy_mem_unregister(c, NULL), -EINVAL);
	assert_int_equal(scpp_copy_mem_unregister(c, r[1]), 0);
	assert_int_equal(scpp_copy_mem_unregister(c, r[1]), -EINVAL);
	/* The freed entry is reused. */
	assert_int_equal(scpp_copy_mem_register(c, mem + 12288, 4096, SCPP_COPY_ACCESS_LOCAL, &r[3]), 0);
	assert_ptr_equal(r[3], r[1]);
	assert_int_equal(scpp_copy_window_get(c, r[0], &w), -EOPNOTSUPP);
	assert_int_equal(scpp_copy_window_get(c, NULL, &w), -EINVAL);
	memset(&w, 0, sizeof(w));
	w.engine = SCPP_COPY_WINDOW_FABRIC;
	w.access = SCPP_COPY_ACCESS_REMOTE_WRITE;
	w.addr_len = 1;
	w.len = 1;
	strcpy(w.provider, "tcp");
	assert_int_equal(scpp_copy_remote_attach(c, &w, &rw), -EOPNOTSUPP);
	w.addr_len = 0;
	assert_int_equal(scpp_copy_remote_attach(c, &w, &rw), -EINVAL);
	assert_int_equal(scpp_copy_remote_detach(c, NULL), -EINVAL);
	assert_int_equal(scpp_copy_link_offer(c, link), -EOPNOTSUPP);
	assert_int_equal(scpp_copy_link_accept(c, link, ans), -EOPNOTSUPP);
	assert_int_equal(scpp_copy_link_finish(c, ans), -EOPNOTSUPP);
	assert_int_equal(scpp_copy_link_offer(NULL, link), -EINVAL);
	scpp_copy_free(c);
	scpp_copy_free(other);
	ct_unmap(mem, 1 << 16);
}

/* ------------------------------------------------------------ the codec */

static void
sample_window(struct scpp_copy_window *w)
{
	memset(w, 0, sizeof(*w));
	w->engine = SCPP_COPY_WINDOW_FABRIC;
	w->access = SCPP_COPY_ACCESS_REMOTE_READ | SCPP_COPY_ACCESS_REMOTE_WRITE;
	w->addr_len = 16;
	w->tag = 0xa1b2c3d4;
	w->base = UINT64_C(0x00007f0012345000);
	w->len = 64 * MiB;
	w->key = UINT64_C(0x1122334455667788);
	strcpy(w->provider, "tcp;ofi_rxm");
	for (unsigned int i = 0; i < 16; i++)
		w->addr[i] = (uint8_t)(0x10 + i);
}

static void
test_copy_window_round_trips_with_the_documented_layout(void **state)
{
	struct scpp_copy_window w, back;
	uint8_t b[SCPP_COPY_WINDOW_LEN];
	(void)state;

	sample_window(&w);
	assert_int_equal(scpp_copy_window_encode(&w, b), 0);
	/* docs/COPY.md: the offsets of the fields. */
	assert_memory_equal(b, "SCWD", 4);
	assert_int_equal(b[4], 1);
	assert_int_equal(b[5], SCPP_COPY_WINDOW_FABRIC);
	assert_int_equal(b[6], 6);
	assert_int_equal(b[7], 16);
	assert_int_equal(b[8], 0x00);
	assert_int_equal(b[9], 0x50);
	assert_int_equal(b[12], 0x00);
	assert_int_equal(b[13], 0x7f);
	assert_int_equal(b[18], 0x00);
	assert_int_equal(b[19], 0x04); /* 64 MiB little-endian */
	assert_int_equal(b[24], 0x88);
	assert_int_equal(b[31], 0x11);
	assert_int_equal(b[32], 0xd4);
	assert_int_equal(b[35], 0xa1);
	assert_memory_equal(b + 40, "tcp;ofi_rxm", 12);
	assert_int_equal(b[64], 0x10);
	assert_int_equal(b[79], 0x1f);
	for (unsigned int i = 80; i < SCPP_COPY_WINDOW_LEN; i++)
		assert_int_equal(b[i], 0);
	assert_int_equal(scpp_copy_window_decode(b, sizeof(b), &back), 0);
	assert_memory_equal(&back, &w, sizeof(w));
}

static void
test_copy_window_encode_rejects_bad_fields_one_at_a_time(void **state)
{
	struct scpp_copy_window good, w;
	uint8_t b[SCPP_COPY_WINDOW_LEN];
	(void)state;

	sample_window(&good);
#define BADW(stmt)                                                            \
	do {                                                                  \
		w = good;                                                     \
		stmt;                                                         \
		assert_int_equal(scpp_copy_window_encode(&w, b), -EINVAL);    \
		assert_int_equal(scpp_copy_window_encode(&good, b), 0);       \
	} while (0)
	BADW(w.engine = 0);
	BADW(w.engine = 3);
	BADW(w.access = 0);
	BADW(w.access = SCPP_COPY_ACCESS_LOCAL);
	BADW(w.addr_len = 0);
	BADW(w.addr_len = SCPP_COPY_ADDR_MAX + 1);
	BADW(w.len = 0);
	BADW(w.base = UINT64_MAX - 10);
	BADW(w.provider[0] = '\0');
	BADW(memset(w.provider, 'x', sizeof(w.provider)));
	BADW(w.provider[1] = ' ');
	BADW(w.provider[1] = (char)0x80);
#undef BADW
	assert_int_equal(scpp_copy_window_encode(NULL, b), -EINVAL);
	assert_int_equal(scpp_copy_window_encode(&good, NULL), -EINVAL);
}

static void
test_copy_window_decode_rejects_bad_bytes_one_at_a_time(void **state)
{
	struct scpp_copy_window w;
	uint8_t good[SCPP_COPY_WINDOW_LEN], b[SCPP_COPY_WINDOW_LEN];
	static const struct {
		unsigned int off;
		uint8_t val;
	} bad[] = {
		{0, 'X'},  {3, 'E'},  {4, 0},    {4, 2},   {5, 0},   {5, 3},
		{6, 0},    {6, 1},    {6, 8},    {7, 0},   {7, 65},  {36, 1},
		{39, 1},   {40, 0},   {41, ' '}, {52, 'x'}, {63, 'x'}, {80, 1},
		{127, 1},
	};
	struct scpp_copy_window s;
	(void)state;

	sample_window(&s);
	assert_int_equal(scpp_copy_window_encode(&s, good), 0);
	for (unsigned int i = 0; i < SCPP_ARRAY_SIZE(bad); i++) {
		memcpy(b, good, sizeof(b));
		b[bad[i].off] = bad[i].val;
		if (scpp_copy_window_decode(b, sizeof(b), &w) != -EPROTO)
			fail_msg("byte %u = %u was accepted", bad[i].off, bad[i].val);
	}
	/* len 0, and base + len wrapping the address space. */
	memcpy(b, good, sizeof(b));
	memset(b + 16, 0, 8);
	assert_int_equal(scpp_copy_window_decode(b, sizeof(b), &w), -EPROTO);
	memcpy(b, good, sizeof(b));
	memset(b + 8, 0xff, 8);
	assert_int_equal(scpp_copy_window_decode(b, sizeof(b), &w), -EPROTO);
	assert_int_equal(scpp_copy_window_decode(good, sizeof(good) - 1, &w), -EMSGSIZE);
	assert_int_equal(scpp_copy_window_decode(good, sizeof(good) + 1, &w), -EMSGSIZE);
	assert_int_equal(scpp_copy_window_decode(NULL, sizeof(good), &w), -EINVAL);
	assert_int_equal(scpp_copy_window_decode(good, sizeof(good), NULL), -EINVAL);
}

static void
test_copy_window_decode_is_canonical_under_random_mutation(void **state)
{
	struct scpp_copy_window s, w;
	uint8_t good[SCPP_COPY_WINDOW_LEN], b[SCPP_COPY_WINDOW_LEN], again[SCPP_COPY_WINDOW_LEN];
	uint64_t seed = 77;
	unsigned int accepted = 0;
	(void)state;

	sample_window(&s);
	assert_int_equal(scpp_copy_window_encode(&s, good), 0);
	for (unsigned int i = 0; i < 200000; i++) {
		unsigned int flips = 1 + (unsigned int)test_rand_below(&seed, 3);

		memcpy(b, good, sizeof(b));
		for (unsigned int k = 0; k < flips; k++)
			b[test_rand_below(&seed, sizeof(b))] = (uint8_t)test_rand(&seed);
		if (scpp_copy_window_decode(b, sizeof(b), &w) != 0)
			continue;
		/* Whatever is accepted re-encodes to the very same bytes. */
		accepted++;
		assert_int_equal(scpp_copy_window_encode(&w, again), 0);
		assert_memory_equal(again, b, sizeof(b));
	}
	assert_true(accepted > 1000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copy_free_null_is_noop),
		cmocka_unit_test(test_copy_engines_are_listed_and_selected_by_name),
		cmocka_unit_test(test_copy_create_rejects_bad_config_one_field_at_a_time),
		cmocka_unit_test(test_copy_create_failing_allocator_leaks_nothing),
		cmocka_unit_test(test_copy_memcpy_matches_reference_on_random_copies),
		cmocka_unit_test(test_copy_bursts_at_every_edge_size),
		cmocka_unit_test(test_copy_ring_full_returns_fewer_and_counts),
#ifdef SCPP_TEST_FAULTS
		cmocka_unit_test(test_copy_test_stall_hangs_the_device),
#endif
		cmocka_unit_test(test_copy_invalid_copies_fail_with_their_status_in_order),
		cmocka_unit_test(test_copy_registration_errors),
		cmocka_unit_test(test_copy_window_round_trips_with_the_documented_layout),
		cmocka_unit_test(test_copy_window_encode_rejects_bad_fields_one_at_a_time),
		cmocka_unit_test(test_copy_window_decode_rejects_bad_bytes_one_at_a_time),
		cmocka_unit_test(test_copy_window_decode_is_canonical_under_random_mutation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
