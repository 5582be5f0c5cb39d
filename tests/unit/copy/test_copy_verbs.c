/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * unit.copy_verbs: the verbs engine. On this host rdma-core has no device,
 * which must mean "not offered" and one clear log line; everything else runs
 * against the fake device of fake_verbs.c through the ops table: links,
 * windows, differential copies against the memmove reference, completions
 * reordered by the device, post failures, error completions that break a
 * link, bad keys and ranges, device loss, timeouts with zombies, ring-full
 * behaviour, and unregister racing a copy in flight.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_log.h>

#include "copy_test.h"
#include "fake_verbs.h"

#define MiB (UINT64_C(1) << 20)
#define WIN_LEN (66 * MiB)
#define LOC_LEN (66 * MiB)

static uint64_t fake_now;

static uint64_t
fake_clock(void *ctx)
{
	(void)ctx;
	return fake_now;
}

struct pair {
	struct scpp_copy *a, *b;        /* a copies into / out of b's window */
	uint8_t *amem, *bmem;
	struct scpp_copy_region *areg, *breg;
	struct scpp_copy_window bwin;
	struct scpp_copy_remote *rw;
};

static struct scpp_copy *
make(uint32_t ring, uint64_t timeout_ns, uint64_t part_max)
{
	struct scpp_copy_config cfg;
	struct scpp_copy *c;

	scpp_copy_config_init(&cfg);
	cfg.engine = "verbs";
	cfg.verbs.ops = &fake_verbs_ops;
	cfg.ring_size = ring;
	cfg.timeout_ns = timeout_ns;
	cfg.part_max = part_max;
	cfg.max_remotes = 4;
	cfg.clock = fake_clock;
	c = scpp_copy_create(&cfg);
	assert_non_null(c);
	return c;
}

static void
link_up(struct scpp_copy *a, struct scpp_copy *b)
{
	uint8_t offer[SCPP_COPY_LINK_LEN], answer[SCPP_COPY_LINK_LEN];

	assert_int_equal(scpp_copy_link_offer(a, offer), 0);
	assert_int_equal(scpp_copy_link_accept(b, offer, answer), 0);
	assert_int_equal(scpp_copy_link_finish(a, answer), 0);
}

static void
pair_open(struct pair *p, uint32_t ring, uint64_t timeout_ns, uint64_t part_max)
{
	fake_verbs_reset();
	fake_now = 1000;
	memset(p, 0, sizeof(*p));
	p->a = make(ring, timeout_ns, part_max);
	p->b = make(ring, timeout_ns, part_max);
	link_up(p->a, p->b);
	p->amem = ct_map(LOC_LEN);
	p->bmem = ct_map(WIN_LEN);
	ct_fill(p->amem, LOC_LEN, 11);
	ct_fill(p->bmem, WIN_LEN, 12);
	assert_int_equal(scpp_copy_mem_register(p->a, p->amem, LOC_LEN, SCPP_COPY_ACCESS_LOCAL,
						&p->areg), 0);
	assert_int_equal(scpp_copy_mem_register(p->b, p->bmem, WIN_LEN,
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
	assert_int_equal(fake_verbs.qps_live, 0);
	assert_int_equal(fake_verbs.mrs_live, 0);
	ct_unmap(p->amem, LOC_LEN);
	ct_unmap(p->bmem, WIN_LEN);
}

static struct scpp_copy_op
wop(struct pair *p, uint64_t loff, uint64_t roff, uint64_t len, uint64_t user)
{
	struct scpp_copy_op o;

	memset(&o, 0, sizeof(o));
	o.kind = SCPP_COPY_WRITE;
	o.src = p->amem + loff;
	o.remote = p->rw;
	o.remote_off = roff;
	o.len = len;
	o.user = user;
	return o;
}

static void
test_verbs_rdma_core_without_device_is_not_offered_and_says_so_once(void **state)
{
	struct scpp_copy_config cfg;
	char why[256], *log = NULL;
	size_t log_len = 0;
	FILE *f = open_memstream(&log, &log_len);
	unsigned int lines = 0;
	(void)state;

	assert_non_null(f);
	rte_openlog_stream(f);
	scpp_copy_config_init(&cfg);
	cfg.engine = "verbs"; /* the real rdma-core ops table */
	assert_int_equal(scpp_copy_probe(&cfg, why, sizeof(why)), -ENODEV);
	assert_non_null(strstr(why, "no RDMA device"));
	assert_non_null(strstr(why, "not offered"));
	assert_int_equal(scpp_copy_probe(&cfg, why, sizeof(why)), -ENODEV);
	assert_null(scpp_copy_create(&cfg));
	assert_int_equal(errno, ENODEV);
	rte_openlog_stream(NULL);
	fclose(f);
	for (char *s = log; (s = strstr(s, "no RDMA device")) != NULL; s++)
		lines++;
	print_message("# logged: %s", log);
	assert_int_equal(lines, 1);
	free(log);
}

static void
test_verbs_fake_device_caps_and_window(void **state)
{
	struct scpp_copy_caps caps;
	struct scpp_copy_window w;
	uint8_t enc[SCPP_COPY_WINDOW_LEN];
	struct pair p;
	(void)state;

	pair_open(&p, 64, 0, 0);
	scpp_copy_caps_get(p.a, &caps);
	assert_string_equal(caps.engine, "verbs");
	assert_string_equal(caps.provider, "fake0");
	assert_int_equal(caps.flags, SCPP_COPY_CAP_WRITE | SCPP_COPY_CAP_READ |
				     SCPP_COPY_CAP_OFFLOAD | SCPP_COPY_CAP_NEED_REG |
				     SCPP_COPY_CAP_WINDOWS | SCPP_COPY_CAP_LINKS);
	assert_int_equal(p.bwin.engine, SCPP_COPY_WINDOW_VERBS);
	assert_string_equal(p.bwin.provider, "verbs");
	assert_int_equal(p.bwin.addr_len, 19);
	assert_true(p.bwin.base == (uint64_t)(uintptr_t)p.bmem);
	assert_true(p.bwin.len == WIN_LEN);
	assert_int_equal(p.bwin.access, SCPP_COPY_ACCESS_REMOTE_READ | SCPP_COPY_ACCESS_REMOTE_WRITE);
	assert_int_equal(p.bwin.addr[16], 7); /* LID 7, little-endian */
	assert_int_equal(p.bwin.addr[18], 1); /* port */
	assert_int_equal(scpp_copy_window_encode(&p.bwin, enc), 0);
	assert_int_equal(scpp_copy_window_decode(enc, sizeof(enc), &w), 0);
	assert_memory_equal(&w, &p.bwin, sizeof(w));
	/* A local-only region is no window. */
	assert_int_equal(scpp_copy_window_get(p.a, p.areg, &w), -EACCES);
	assert_int_equal(fake_verbs.qps_live, 2);
	pair_close(&p);
}

static void
test_verbs_link_handshake_rejects_bad_messages(void **state)
{
	uint8_t offer[SCPP_COPY_LINK_LEN], answer[SCPP_COPY_LINK_LEN], bad[SCPP_COPY_LINK_LEN];
	struct scpp_copy *a, *b, *c;
	struct scpp_copy_remote *rw;
	struct scpp_copy_window w;
	struct scpp_copy_region *r;
	uint8_t *mem = ct_map(1 << 20);
	(void)state;

	fake_verbs_reset();
	a = make(64, 0, 0);
	b = make(64, 0, 0);
	c = make(64, 0, 0);
	assert_int_equal(scpp_copy_mem_register(b, mem, 1 << 20, SCPP_COPY_ACCESS_REMOTE_WRITE, &r), 0);
	assert_int_equal(scpp_copy_window_get(b, r, &w), 0);
	/* No link yet: its windows cannot be attached. */
	assert_int_equal(scpp_copy_remote_attach(a, &w, &rw), -ENOTCONN);
	assert_int_equal(scpp_copy_link_offer(a, offer), 0);
	/* Every damaged field of an offer is refused. */
	static const unsigned int fields[] = {0, 4, 5, 7, 12, 16 + 3, 20, 24 + 3, 30, 48, 63};
	for (unsigned int i = 0; i < SCPP_ARRAY_SIZE(fields); i++) {
		memcpy(bad, offer, sizeof(bad));
		bad[fields[i]] ^= 0x5a;
		if (scpp_copy_link_accept(b, bad, answer) != -EPROTO)
			fail_msg("offer byte %u damaged was accepted", fields[i]);
	}
	/* Its own offer, or an offer where an answer belongs. */
	assert_int_equal(scpp_copy_link_accept(a, offer, answer), -EPROTO);
	assert_int_equal(scpp_copy_link_finish(a, offer), -EPROTO);
	assert_int_equal(scpp_copy_link_accept(b, offer, answer), 0);
	assert_int_equal(scpp_copy_link_accept(b, offer, answer), -EALREADY);
	/* An answer meant for a, finished by c. */
	assert_int_equal(scpp_copy_link_finish(c, answer), -EPROTO);
	/* An answer to a queue pair a never offered. */
	memcpy(bad, answer, sizeof(bad));
	bad[20] ^= 0x01;
	assert_int_equal(scpp_copy_link_finish(a, bad), -ENOENT);
	assert_int_equal(scpp_copy_link_finish(a, answer), 0);
	assert_int_equal(scpp_copy_link_finish(a, answer), -ENOENT); /* nothing offered any more */
	assert_int_equal(scpp_copy_remote_attach(a, &w, &rw), 0);
	/* A fabric window is of another engine. */
	w.engine = SCPP_COPY_WINDOW_FABRIC;
	assert_int_equal(scpp_copy_remote_attach(a, &w, &rw), -EPROTOTYPE);
	/* Links are bounded by max_remotes (4): a has one, offers three more. */
	for (unsigned int i = 0; i < 3; i++)
		assert_int_equal(scpp_copy_link_offer(a, offer), 0);
	assert_int_equal(scpp_copy_link_offer(a, offer), -ENOSPC);
	scpp_copy_free(a);
	scpp_copy_free(b);
	scpp_copy_free(c);
	assert_int_equal(fake_verbs.qps_live, 0);
	assert_int_equal(fake_verbs.mrs_live, 0);
	ct_unmap(mem, 1 << 20);
}

static void
test_verbs_matches_reference_on_random_copies(void **state)
{
	struct ct_env e;
	struct ct_result r;
	struct pair p;
	(void)state;

	pair_open(&p, 256, 0, 0);
	memset(&e, 0, sizeof(e));
	e.c = p.a;
	e.local = p.amem;
	e.local_len = LOC_LEN;
	e.remote = p.bmem;
	e.remote_len = WIN_LEN;
	e.rw = p.rw;
	e.max_len = 2 * MiB;
	e.big_len = 64 * MiB;
	e.big = 1;
	e.batch_max = 32;
	e.wait_s = 60;
	ct_diff_run(&e, 21, 200, &r);
	assert_int_equal(r.big, 1);
	assert_true(fake_verbs.executed > r.ops / 2);
	print_message("# verbs (fake device): %u copies, %" PRIu64 " bytes, %u WRs\n", r.ops,
		      r.bytes, fake_verbs.executed);
	pair_close(&p);
}

static void
test_verbs_completions_come_back_in_submission_order_when_the_device_reorders(void **state)
{
	struct scpp_copy_op ops[32];
	struct scpp_copy_cpl cpl[32];
	struct pair p;
	(void)state;

	pair_open(&p, 64, 0, 0);
	for (unsigned int i = 0; i < 32; i++)
		ops[i] = wop(&p, i * 4096, i * 4096, 100 + i, i);
	fake_verbs.hold = true;
	fake_verbs.reverse = true;
	assert_int_equal(scpp_copy_submit_burst(p.a, ops, 32), 32);
	/* Nothing is reported before the device finished. */
	assert_int_equal(scpp_copy_poll_burst(p.a, cpl, 32), 0);
	assert_int_equal(fake_verbs_pending(), 32);
	fake_verbs_release(); /* executes, and completes, newest first */
	assert_int_equal(scpp_copy_poll_burst(p.a, cpl, 32), 32);
	for (unsigned int i = 0; i < 32; i++) {
		assert_true(cpl[i].user == i);
		assert_int_equal(cpl[i].status, 0);
		assert_memory_equal(p.bmem + i * 4096, p.amem + i * 4096, 100 + i);
	}
	assert_int_equal(fake_verbs.executed, 32);
	pair_close(&p);
}

static void
test_verbs_post_failures_fail_or_wait(void **state)
{
	struct scpp_copy_op ops[4];
	struct scpp_copy_cpl cpl[4];
	struct scpp_copy_stats st;
	struct pair p;
	(void)state;

	pair_open(&p, 64, 0, 0);
	for (unsigned int i = 0; i < 4; i++)
		ops[i] = wop(&p, i * 1000, i * 1000, 1000, i);
	/* A post the device refuses outright fails that copy only. */
	fake_verbs.post_errno = EINVAL;
	fake_verbs.post_fail_count = 1;
	assert_int_equal(scpp_copy_submit_burst(p.a, ops, 4), 4);
	assert_int_equal(ct_wait(p.a, NULL, NULL, cpl, 4, 10), 4);
	assert_int_equal(cpl[0].status, -EIO);
	for (unsigned int i = 1; i < 4; i++)
		assert_int_equal(cpl[i].status, 0);
	assert_memory_not_equal(p.bmem, p.amem, 1000);
	/* A full send queue (ENOMEM) makes copies wait, then go. */
	fake_verbs.post_errno = ENOMEM;
	fake_verbs.post_fail_count = 3;
	for (unsigned int i = 0; i < 4; i++)
		ops[i] = wop(&p, 8192 + i * 1000, 8192 + i * 1000, 1000, 10 + i);
	assert_int_equal(scpp_copy_submit_burst(p.a, ops, 4), 4);
	assert_int_equal(ct_wait(p.a, NULL, NULL, cpl, 4, 10), 4);
	for (unsigned int i = 0; i < 4; i++) {
		assert_true(cpl[i].user == 10 + i);
		assert_int_equal(cpl[i].status, 0);
	}
	assert_memory_equal(p.bmem + 8192, p.amem + 8192, 4000);
	scpp_copy_stats_get(p.a, &st);
	assert_true(st.hw_busy >= 3);
	assert_true(st.failed == 1 && st.completed == 7);
	pair_close(&p);
}

static void
test_verbs_error_completion_breaks_the_link_until_relinked(void **state)
{
	struct scpp_copy_op ops[4];
	struct scpp_copy_cpl cpl[4];
	struct pair p;
	(void)state;

	pair_open(&p, 64, 0, 0);
	for (unsigned int i = 0; i < 4; i++)
		ops[i] = wop(&p, i * 100, i * 100, 100, i);
	fake_verbs.hold = true;
	fake_verbs.fail_status = IBV_WC_REM_OP_ERR;
	fake_verbs.fail_count = 1;
	assert_int_equal(scpp_copy_submit_burst(p.a, ops, 4), 4);
	fake_verbs_release();
	fake_verbs.hold = false;
	assert_int_equal(ct_wait(p.a, NULL, NULL, cpl, 4, 10), 4);
	assert_int_equal(cpl[0].status, -EIO);
	for (unsigned int i = 1; i < 4; i++)
		assert_int_equal(cpl[i].status, -ECANCELED); /* flushed behind it */
	assert_int_equal(fake_verbs.flushed, 3);
	/* The broken link refuses new work at once. */
	assert_int_equal(scpp_copy_submit_burst(p.a, ops, 1), 1);
	assert_int_equal(ct_wait(p.a, NULL, NULL, cpl, 1, 10), 1);
	assert_int_equal(cpl[0].status, -ECONNRESET);
	/* Link again: the attached window moves to the new queue pair. */
	link_up(p.a, p.b);
	assert_int_equal(fake_verbs.qps_live, 2);
	ops[0] = wop(&p, 0, 0, 100, 9);
	assert_int_equal(scpp_copy_submit_burst(p.a, ops, 1), 1);
	assert_int_equal(ct_wait(p.a, NULL, NULL, cpl, 1, 10), 1);
	assert_int_equal(cpl[0].status, 0);
	assert_memory_equal(p.bmem, p.amem, 100);
	pair_close(&p);
}

static void
test_verbs_bad_key_and_ranges_are_refused(void **state)
{
	struct scpp_copy_window forged;
	struct scpp_copy_remote *bad;
	struct scpp_copy_op op;
	struct scpp_copy_cpl cpl;
	struct scpp_copy_stats st;
	uint8_t before[4096];
	struct pair p;
	unsigned int posts;
	(void)state;

	pair_open(&p, 64, 0, 0);
	/* Outside the window: refused here, never posted. */
	posts = fake_verbs.posts;
	op = wop(&p, 0, WIN_LEN - 10, 11, 1);
	assert_int_equal(scpp_copy_submit_burst(p.a, &op, 1), 1);
	assert_int_equal(ct_wait(p.a, NULL, NULL, &cpl, 1, 10), 1);
	assert_int_equal(cpl.status, -ERANGE);
	assert_int_equal(fake_verbs.posts, posts);
	/* Local memory outside every registered region. */
	op = wop(&p, 0, 0, 16, 2);
	op.src = before;
	assert_int_equal(scpp_copy_submit_burst(p.a, &op, 1), 1);
	assert_int_equal(ct_wait(p.a, NULL, NULL, &cpl, 1, 10), 1);
	assert_int_equal(cpl.status, -EFAULT);
	scpp_copy_stats_get(p.a, &st);
	assert_true(st.invalid == 2);
	/* A wrong key: the device refuses it. */
	forged = p.bwin;
	forged.key ^= 1;
	assert_int_equal(scpp_copy_remote_attach(p.a, &forged, &bad), 0);
	op = wop(&p, 0, 0, 64, 3);
	op.remote = bad;
	memcpy(before, p.bmem, sizeof(before));
	assert_int_equal(scpp_copy_submit_burst(p.a, &op, 1), 1);
	assert_int_equal(ct_wait(p.a, NULL, NULL, &cpl, 1, 10), 1);
	assert_int_equal(cpl.status, -EACCES);
	assert_memory_equal(p.bmem, before, sizeof(before));
	pair_close(&p);
}

static void
test_verbs_forged_window_longer_than_its_region_is_refused_by_the_device(void **state)
{
	struct scpp_copy_window forged;
	struct scpp_copy_remote *bad;
	struct scpp_copy_region *r;
	struct scpp_copy_op op;
	struct scpp_copy_cpl cpl;
	struct pair p;
	uint8_t guard[256];
	(void)state;

	pair_open(&p, 64, 0, 0);
	/* b registers only the first 1 MiB of a second buffer. */
	uint8_t *small = ct_map(2 * MiB);
	memset(small, 0xee, 2 * MiB);
	assert_int_equal(scpp_copy_mem_register(p.b, small, MiB, SCPP_COPY_ACCESS_REMOTE_WRITE, &r), 0);
	assert_int_equal(scpp_copy_window_get(p.b, r, &forged), 0);
	forged.len = 2 * MiB; /* a peer lies about its size */
	assert_int_equal(scpp_copy_remote_attach(p.a, &forged, &bad), 0);
	op = wop(&p, 0, MiB - 128, 256, 1);
	op.remote = bad;
	memcpy(guard, small + MiB - 128, sizeof(guard));
	assert_int_equal(scpp_copy_submit_burst(p.a, &op, 1), 1);
	assert_int_equal(ct_wait(p.a, NULL, NULL, &cpl, 1, 10), 1);
	assert_int_equal(cpl.status, -EACCES);
	assert_memory_equal(small + MiB - 128, guard, sizeof(guard));
	pair_close(&p);
	ct_unmap(small, 2 * MiB);
}

static void
test_verbs_device_loss_fails_everything_and_touches_nothing(void **state)
{
	struct scpp_copy_op ops[8];
	struct scpp_copy_cpl cpl[8];
	uint8_t offer[SCPP_COPY_LINK_LEN];
	struct scpp_copy_region *r;
	struct pair p;
	uint8_t *copy = ct_map(MiB);
	(void)state;

	pair_open(&p, 64, 0, 0);
	memcpy(copy, p.bmem, MiB);
	for (unsigned int i = 0; i < 8; i++)
		ops[i] = wop(&p, i * 4096, i * 4096, 4096, i);
	fake_verbs.hold = true;
	assert_int_equal(scpp_copy_submit_burst(p.a, ops, 8), 8);
	assert_int_equal(scpp_copy_poll_burst(p.a, cpl, 8), 0);
	fake_verbs.lost = true;
	fake_now += 2000000; /* past the async-event check interval */
	assert_int_equal(ct_wait(p.a, NULL, NULL, cpl, 8, 10), 8);
	for (unsigned int i = 0; i < 8; i++) {
		assert_true(cpl[i].user == i);
		assert_int_equal(cpl[i].status, -ENODEV);
	}
	assert_int_equal(fake_verbs.async_events, 1);
	assert_int_equal(fake_verbs.executed, 0);
	assert_memory_equal(p.bmem, copy, MiB);
	/* Dead for good: copies, links and registrations say so. */
	assert_int_equal(scpp_copy_submit_burst(p.a, ops, 1), 1);
	assert_int_equal(ct_wait(p.a, NULL, NULL, cpl, 1, 10), 1);
	assert_int_equal(cpl[0].status, -ENODEV);
	assert_int_equal(scpp_copy_link_offer(p.a, offer), -ENODEV);
	assert_int_equal(scpp_copy_mem_register(p.a, copy, MiB, SCPP_COPY_ACCESS_LOCAL, &r), -ENODEV);
	pair_close(&p);
	ct_unmap(copy, MiB);
}

static void
test_verbs_timeouts_leave_zombies_that_hold_their_memory(void **state)
{
	struct scpp_copy_op ops[4];
	struct scpp_copy_cpl cpl[4];
	struct scpp_copy_stats st;
	struct pair p;
	(void)state;

	pair_open(&p, 8, 5000, 0);
	for (unsigned int i = 0; i < 4; i++)
		ops[i] = wop(&p, i * 64, i * 64, 64, i);
	fake_verbs.hold = true;
	assert_int_equal(scpp_copy_submit_burst(p.a, ops, 4), 4);
	fake_now += 4999;
	assert_int_equal(scpp_copy_poll_burst(p.a, cpl, 4), 0);
	fake_now += 1;
	assert_int_equal(scpp_copy_poll_burst(p.a, cpl, 4), 4);
	for (unsigned int i = 0; i < 4; i++)
		assert_int_equal(cpl[i].status, -ETIMEDOUT);
	scpp_copy_stats_get(p.a, &st);
	assert_int_equal(st.timeouts, 4);
	assert_int_equal(st.zombies, 4);
	assert_int_equal(st.inflight, 4);
	assert_int_equal(scpp_copy_space(p.a), 4);
	assert_int_equal(scpp_copy_pending(p.a), 0);
	/* The device may still write: the memory stays registered. */
	assert_int_equal(scpp_copy_mem_unregister(p.a, p.areg), -EBUSY);
	assert_int_equal(scpp_copy_remote_detach(p.a, p.rw), -EBUSY);
	fake_verbs.hold = false;
	fake_verbs_release();
	assert_int_equal(scpp_copy_poll_burst(p.a, cpl, 4), 0); /* reported once only */
	scpp_copy_stats_get(p.a, &st);
	assert_int_equal(st.late, 4);
	assert_int_equal(st.zombies, 0);
	assert_int_equal(st.inflight, 0);
	assert_int_equal(scpp_copy_space(p.a), 8);
	assert_int_equal(scpp_copy_remote_detach(p.a, p.rw), 0);
	assert_int_equal(scpp_copy_mem_unregister(p.a, p.areg), 0);
	pair_close(&p);
}

static void
test_verbs_ring_full_while_the_device_holds(void **state)
{
	struct scpp_copy_op ops[SCPP_COPY_BURST_MAX];
	struct scpp_copy_cpl cpl[SCPP_COPY_BURST_MAX];
	struct scpp_copy_stats st;
	struct pair p;
	(void)state;

	pair_open(&p, 16, 0, 0);
	for (unsigned int i = 0; i < SCPP_COPY_BURST_MAX; i++)
		ops[i] = wop(&p, i * 512, i * 512, 512, i);
	fake_verbs.hold = true;
	assert_int_equal(scpp_copy_submit_burst(p.a, ops, SCPP_COPY_BURST_MAX), 16);
	assert_int_equal(scpp_copy_submit_burst(p.a, ops + 16, 48), 0);
	fake_verbs_release();
	fake_verbs.hold = false;
	assert_int_equal(ct_wait(p.a, NULL, NULL, cpl, 16, 10), 16);
	assert_int_equal(scpp_copy_submit_burst(p.a, ops + 16, 16), 16);
	assert_int_equal(ct_wait(p.a, NULL, NULL, cpl, 16, 10), 16);
	for (unsigned int i = 0; i < 16; i++)
		assert_true(cpl[i].user == 16 + i && cpl[i].status == 0);
	assert_memory_equal(p.bmem, p.amem, 32 * 512);
	scpp_copy_stats_get(p.a, &st);
	assert_true(st.ring_full == 48 + 48);
	pair_close(&p);
}

static void
test_verbs_unregister_racing_a_copy_in_flight(void **state)
{
	struct scpp_copy_region *src, *dst;
	struct scpp_copy_window w;
	struct scpp_copy_remote *rw;
	struct scpp_copy_op op;
	struct scpp_copy_cpl cpl;
	struct pair p;
	uint8_t *s = malloc(8192), *d = malloc(8192);
	(void)state;

	pair_open(&p, 64, 0, 0);
	ct_fill(s, 8192, 5);
	memset(d, 0, 8192);
	assert_int_equal(scpp_copy_mem_register(p.a, s, 8192, SCPP_COPY_ACCESS_LOCAL, &src), 0);
	assert_int_equal(scpp_copy_mem_register(p.b, d, 8192, SCPP_COPY_ACCESS_REMOTE_WRITE, &dst), 0);
	assert_int_equal(scpp_copy_window_get(p.b, dst, &w), 0);
	assert_int_equal(scpp_copy_remote_attach(p.a, &w, &rw), 0);
	/* Our own source: refused while the copy is in flight. */
	fake_verbs.hold = true;
	memset(&op, 0, sizeof(op));
	op.kind = SCPP_COPY_WRITE;
	op.src = s;
	op.remote = rw;
	op.len = 8192;
	assert_int_equal(scpp_copy_submit_burst(p.a, &op, 1), 1);
	assert_int_equal(scpp_copy_mem_unregister(p.a, src), -EBUSY);
	fake_verbs_release();
	assert_int_equal(ct_wait(p.a, NULL, NULL, &cpl, 1, 10), 1);
	assert_int_equal(cpl.status, 0);
	assert_memory_equal(d, s, 8192);
	/* The peer's window: it may go while we write; the write then fails
	 * on the device, and the freed memory is never touched (ASan). */
	assert_int_equal(scpp_copy_submit_burst(p.a, &op, 1), 1);
	assert_int_equal(scpp_copy_mem_unregister(p.b, dst), 0);
	free(d);
	fake_verbs_release();
	assert_int_equal(ct_wait(p.a, NULL, NULL, &cpl, 1, 10), 1);
	assert_int_equal(cpl.status, -EACCES);
	assert_int_equal(scpp_copy_mem_unregister(p.a, src), 0);
	free(s);
	pair_close(&p);
}

static void
test_verbs_long_copies_are_split_into_parts(void **state)
{
	struct scpp_copy_op op;
	struct scpp_copy_cpl cpl;
	struct scpp_copy_stats st;
	struct pair p;
	(void)state;

	pair_open(&p, 64, 0, 4096);
	op = wop(&p, 3, 5, MiB + 3, 1);
	assert_int_equal(scpp_copy_submit_burst(p.a, &op, 1), 1);
	assert_int_equal(ct_wait(p.a, NULL, NULL, &cpl, 1, 10), 1);
	assert_int_equal(cpl.status, 0);
	assert_memory_equal(p.bmem + 5, p.amem + 3, MiB + 3);
	scpp_copy_stats_get(p.a, &st);
	assert_int_equal(st.parts, 257);
	assert_int_equal(fake_verbs.executed, 257);
	pair_close(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		/* First: it checks the log line is printed once per process. */
		cmocka_unit_test(test_verbs_rdma_core_without_device_is_not_offered_and_says_so_once),
		cmocka_unit_test(test_verbs_fake_device_caps_and_window),
		cmocka_unit_test(test_verbs_link_handshake_rejects_bad_messages),
		cmocka_unit_test(test_verbs_matches_reference_on_random_copies),
		cmocka_unit_test(test_verbs_completions_come_back_in_submission_order_when_the_device_reorders),
		cmocka_unit_test(test_verbs_post_failures_fail_or_wait),
		cmocka_unit_test(test_verbs_error_completion_breaks_the_link_until_relinked),
		cmocka_unit_test(test_verbs_bad_key_and_ranges_are_refused),
		cmocka_unit_test(test_verbs_forged_window_longer_than_its_region_is_refused_by_the_device),
		cmocka_unit_test(test_verbs_device_loss_fails_everything_and_touches_nothing),
		cmocka_unit_test(test_verbs_timeouts_leave_zombies_that_hold_their_memory),
		cmocka_unit_test(test_verbs_ring_full_while_the_device_holds),
		cmocka_unit_test(test_verbs_unregister_racing_a_copy_in_flight),
		cmocka_unit_test(test_verbs_long_copies_are_split_into_parts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
