/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * unit.copy_async: copy jobs (drivers/copy/scpp_copy_async.h) over the
 * memcpy engine and over a dma_skeleton dmadev (EAL, IOVA as VA): save then
 * copy, completions returned once and in order with their tags, handles
 * and staleness, the two bounds (jobs, save pool) and out-of-order release,
 * conflicts, a job released in flight, rebinding to a new engine after the
 * old one was freed, and a differential run with many jobs in flight that
 * the caller works beside.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_malloc.h>

#include "copy_test.h"
#include "scpp_copy_async.h"

#define MiB (UINT64_C(1) << 20)

static struct scpp_copy *
engine(const char *name, const char *device)
{
	struct scpp_copy_config cfg;
	struct scpp_copy *c;

	scpp_copy_config_init(&cfg);
	cfg.engine = name;
	cfg.dmadev.device = device;
	cfg.ring_size = 64;
	cfg.timeout_ns = CT_TIMEOUT_NS;
	c = ct_own(scpp_copy_create(&cfg));
	assert_non_null(c);
	return c;
}

static struct scpp_copy_async *
tracker(struct scpp_copy *c, uint32_t jobs, uint64_t pool)
{
	struct scpp_copy_async_config cfg = {.max_jobs = jobs, .pool_bytes = pool, .socket = -1};
	struct scpp_copy_async *a = NULL;

	assert_int_equal(scpp_copy_async_create(c, &cfg, &a), 0);
	return a;
}

/* Poll until every job is returned; fails after 30 s. */
static unsigned int
drain(struct scpp_copy_async *a, struct scpp_copy_async_done *out, unsigned int want)
{
	unsigned int got = 0;
	double t0 = ct_now();

	while (got < want) {
		got += scpp_copy_async_poll(a, out + got, (uint16_t)SCPP_MIN(want - got, 64u));
		assert_true(ct_now() - t0 < 30);
	}
	return got;
}

static void
test_async_memcpy_saves_then_copies_and_reports_each_job_once_in_order(void **state)
{
	struct scpp_copy *c = engine("memcpy", NULL);
	struct scpp_copy_async *a = tracker(c, 16, MiB);
	struct scpp_copy_async_done d[16];
	struct scpp_copy_async_stats st;
	uint8_t *mem = ct_map(4 * MiB), *old = ct_map(4 * MiB);
	uint64_t h[16], len[16];
	void *save[16];
	(void)state;

	ct_fill(mem, 4 * MiB, 7);
	memcpy(old, mem, 4 * MiB);
	for (unsigned int i = 0; i < 16; i++) {
		len[i] = 1 + (i * 7919u) % 60000u;
		/* dst in the upper half, src in the lower, disjoint per job. */
		assert_int_equal(scpp_copy_async_submit(a, mem + 2 * MiB + i * 65536u,
							mem + i * 65536u, len[i], true, 1000 + i,
							&h[i], &save[i]),
				 0);
		assert_true(i == 0 || h[i] == h[i - 1] + 1);
	}
	assert_int_equal(scpp_copy_async_held(a), 16);
	assert_int_equal(drain(a, d, 16), 16);
	for (unsigned int i = 0; i < 16; i++) {
		assert_int_equal(d[i].handle, h[i]);
		assert_int_equal(d[i].tag, 1000 + i);
		assert_int_equal(d[i].status, 0);
		assert_true(d[i].saved);
		assert_int_equal(d[i].len, len[i]);
		assert_memory_equal(mem + 2 * MiB + i * 65536u, old + i * 65536u, len[i]);
		assert_memory_equal(save[i], old + 2 * MiB + i * 65536u, len[i]);
	}
	/* Each once: nothing more to return, still held until released. */
	assert_int_equal(scpp_copy_async_poll(a, d, 16), 0);
	assert_int_equal(scpp_copy_async_result(a, h[3], &d[0]), 0);
	assert_int_equal(d[0].tag, 1003);
	for (unsigned int i = 0; i < 16; i++)
		scpp_copy_async_release(a, h[i]);
	assert_int_equal(scpp_copy_async_held(a), 0);
	assert_int_equal(scpp_copy_async_result(a, h[3], &d[0]), -ESTALE);
	scpp_copy_async_stats_get(a, &st);
	assert_int_equal(st.submitted, 16);
	assert_int_equal(st.completed, 16);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.pool_used, 0);
	assert_true(st.pool_peak >= len[0]);
	scpp_copy_async_free(a);
	ct_free(c);
	ct_unmap(mem, 4 * MiB);
	ct_unmap(old, 4 * MiB);
}

static void
test_async_bounds_refuse_without_changing_anything_and_release_in_any_order(void **state)
{
	struct scpp_copy *c = engine("memcpy", NULL);
	struct scpp_copy_async *a = tracker(c, 4, 4096);
	struct scpp_copy_async_done d[8];
	struct scpp_copy_async_stats st;
	uint8_t *mem = ct_map(MiB);
	uint64_t h[5], x;
	void *save[5], *sv;
	(void)state;

	assert_int_equal(scpp_copy_async_submit(a, mem, mem + 8192, 0, false, 0, &x, NULL),
			 -EINVAL);
	assert_int_equal(scpp_copy_async_submit(a, mem, mem + 8192, 8192, true, 0, &x, &sv),
			 -E2BIG);
	/* Pool: 4096 bytes; two saves of 2048 fill it. */
	assert_int_equal(scpp_copy_async_submit(a, mem, mem + 65536, 2048, true, 0, &h[0],
						&save[0]), 0);
	assert_int_equal(scpp_copy_async_submit(a, mem + 4096, mem + 65536, 2048, true, 1, &h[1],
						&save[1]), 0);
	assert_int_equal(scpp_copy_async_submit(a, mem + 8192, mem + 65536, 64, true, 2, &x, &sv),
			 -ENOSPC);
	/* Without a save a job needs no pool; the fourth job fills the table. */
	assert_int_equal(scpp_copy_async_submit(a, mem + 8192, mem + 65536, 64, false, 2, &h[2],
						NULL), 0);
	assert_int_equal(scpp_copy_async_submit(a, mem + 12288, mem + 65536, 64, false, 3, &h[3],
						NULL), 0);
	assert_int_equal(scpp_copy_async_submit(a, mem + 16384, mem + 65536, 64, false, 4, &x,
						NULL), -EBUSY);
	scpp_copy_async_stats_get(a, &st);
	assert_int_equal(st.full_pool, 1);
	assert_int_equal(st.full_jobs, 1);
	assert_int_equal(st.submitted, 4);
	assert_int_equal(drain(a, d, 4), 4);
	/* Released out of order: nothing is reclaimed until the oldest goes. */
	scpp_copy_async_release(a, h[1]);
	scpp_copy_async_release(a, h[3]);
	assert_int_equal(scpp_copy_async_held(a), 4);
	assert_int_equal(scpp_copy_async_result(a, h[1], &d[0]), -ESTALE);
	assert_int_equal(scpp_copy_async_result(a, h[2], &d[0]), 0);
	assert_int_equal(scpp_copy_async_submit(a, mem + 16384, mem + 65536, 64, false, 4, &x,
						NULL), -EBUSY);
	scpp_copy_async_release(a, h[0]);
	assert_int_equal(scpp_copy_async_held(a), 2); /* h[2] still held, h[3] behind it */
	scpp_copy_async_stats_get(a, &st);
	assert_int_equal(st.pool_used, 0);
	/* Room again, and the pool takes a save of all of it. */
	assert_int_equal(scpp_copy_async_submit(a, mem + 16384, mem + 65536, 4096, true, 5, &h[4],
						&save[4]), 0);
	assert_int_equal(drain(a, d, 1), 1);
	assert_int_equal(d[0].tag, 5);
	scpp_copy_async_release(a, h[2]);
	scpp_copy_async_release(a, h[4]);
	scpp_copy_async_release(a, h[4]); /* twice: ignored */
	scpp_copy_async_release(a, 12345); /* never given: ignored */
	assert_int_equal(scpp_copy_async_held(a), 0);
	scpp_copy_async_free(a);
	ct_free(c);
	ct_unmap(mem, MiB);
}

static void
test_async_conflicts_and_a_job_released_in_flight(void **state)
{
	struct scpp_copy *c = engine("dmadev", "dma_skeleton0");
	struct scpp_copy_async *a;
	struct scpp_copy_async_done d[4];
	struct scpp_copy_async_stats st;
	uint8_t *mem = rte_malloc(NULL, 8 * MiB, 4096);
	uint64_t h, h2;
	void *sv;
	(void)state;

	struct scpp_copy_region *r;

	assert_non_null(mem);
	assert_int_equal(scpp_copy_mem_register(c, mem, 8 * MiB, SCPP_COPY_ACCESS_LOCAL, &r), 0);
	a = tracker(c, 8, 2 * MiB);
	ct_fill(mem, 8 * MiB, 3);
	assert_false(scpp_copy_async_conflicts(a, mem, mem + MiB, 4096));
	/* dst [4M, 5M) <- src [0, 1M) */
	assert_int_equal(scpp_copy_async_submit(a, mem + 4 * MiB, mem, MiB, true, 9, &h, &sv), 0);
	/* The save must complete before the copy is posted, which only a
	 * progress step does: the job is in flight at its first check. */
	assert_int_equal(scpp_copy_async_result(a, h, &d[0]), 1);
	assert_true(scpp_copy_async_conflicts(a, mem + 5 * MiB - 1, mem + 6 * MiB, 16)); /* dst/dst */
	assert_true(scpp_copy_async_conflicts(a, mem + 6 * MiB, mem + 4 * MiB, 16));     /* reads dst */
	assert_true(scpp_copy_async_conflicts(a, mem + MiB - 8, mem + 6 * MiB, 16));     /* writes src */
	assert_false(scpp_copy_async_conflicts(a, mem + 2 * MiB, mem + MiB, 4096));      /* reads src */
	assert_false(scpp_copy_async_conflicts(a, mem + 5 * MiB, mem + 6 * MiB, 4096));
	/* Reads: only the destination's bytes are being written. */
	assert_true(scpp_copy_async_writing(a, mem + 5 * MiB - 1, 1));
	assert_true(scpp_copy_async_writing(a, mem + 3 * MiB, MiB + 1));
	assert_false(scpp_copy_async_writing(a, mem + 5 * MiB, 4096));
	assert_false(scpp_copy_async_writing(a, mem, MiB)); /* the source */
	assert_int_equal(scpp_copy_async_wait(a, h, &d[0]), 0);
	assert_int_equal(d[0].status, 0);
	assert_false(scpp_copy_async_conflicts(a, mem + 4 * MiB, mem, MiB));
	assert_false(scpp_copy_async_writing(a, mem + 4 * MiB, MiB));
	assert_memory_equal(mem + 4 * MiB, mem, MiB);
	assert_int_equal(scpp_copy_async_poll(a, d, 4), 1); /* still returned once by poll */
	scpp_copy_async_release(a, h);

	/* Released while in flight: held until the engine lets go, never
	 * returned by a poll. */
	assert_int_equal(scpp_copy_async_submit(a, mem + 6 * MiB, mem + 2 * MiB, MiB, true, 10,
						&h2, &sv), 0);
	scpp_copy_async_release(a, h2);
	assert_int_equal(scpp_copy_async_held(a), 1);
	for (double t0 = ct_now(); scpp_copy_async_held(a) > 0;) {
		assert_int_equal(scpp_copy_async_poll(a, d, 4), 0);
		assert_true(ct_now() - t0 < 30);
	}
	assert_memory_equal(mem + 6 * MiB, mem + 2 * MiB, MiB);
	scpp_copy_async_stats_get(a, &st);
	assert_int_equal(st.completed, 2);
	assert_int_equal(st.pool_used, 0);
	scpp_copy_async_free(a);
	ct_free(c);
	rte_free(mem);
}

static void
test_async_rebind_after_the_engine_was_freed_cancels_what_it_owed(void **state)
{
	struct scpp_copy *c = engine("memcpy", NULL), *c2;
	struct scpp_copy_async *a = tracker(c, 8, MiB);
	struct scpp_copy_async_done d[4];
	uint8_t *mem = ct_map(MiB);
	uint64_t h, h2;
	void *sv;
	(void)state;

	ct_fill(mem, MiB, 5);
	assert_int_equal(scpp_copy_async_submit(a, mem, mem + 65536, 4096, true, 1, &h, &sv), 0);
	/* The engine goes away before its completion was polled. */
	ct_free(c);
	c2 = engine("memcpy", NULL);
	assert_int_equal(scpp_copy_async_rebind(a, c2), 0);
	assert_int_equal(scpp_copy_async_result(a, h, &d[0]), 0);
	assert_int_equal(d[0].status, -ECANCELED);
	assert_false(d[0].saved);
	assert_int_equal(scpp_copy_async_poll(a, d, 4), 1);
	scpp_copy_async_release(a, h);
	/* The new engine takes jobs, saves into the re-registered pool. */
	assert_int_equal(scpp_copy_async_submit(a, mem + 8192, mem + 65536, 4096, true, 2, &h2, &sv),
			 0);
	assert_int_equal(scpp_copy_async_wait(a, h2, &d[0]), 0);
	assert_int_equal(d[0].status, 0);
	assert_memory_equal(mem + 8192, mem + 65536, 4096);
	scpp_copy_async_release(a, h2);
	scpp_copy_async_free(a);
	ct_free(c2);
	ct_unmap(mem, MiB);
}

/* The jobs of the differential run, oldest first, with what each save must hold. */
struct aqueue {
	struct {
		uint64_t h, len;
		uint8_t *old;
		void *save;
	} q[32];
	unsigned int head, n;
	uint64_t done;
};

/* One poll: each completed job must be the oldest, successful, with its save. */
static void
aqueue_poll(struct scpp_copy_async *a, struct aqueue *q)
{
	struct scpp_copy_async_done d[64];
	uint16_t k = scpp_copy_async_poll(a, d, 64);

	for (uint16_t j = 0; j < k; j++) {
		assert_int_equal(d[j].status, 0);
		assert_int_equal(d[j].handle, q->q[q->head].h);
		assert_memory_equal(q->q[q->head].save, q->q[q->head].old, q->q[q->head].len);
		free(q->q[q->head].old);
		scpp_copy_async_release(a, d[j].handle);
		q->head = (q->head + 1) % 32;
		q->n--;
		q->done++;
	}
}

/*
 * Many jobs on a dmadev, the caller working beside them: every completion
 * is checked against a memmove model applied in submission order (jobs
 * that would conflict with one in flight wait for it, as the evaluator
 * does), and the caller's own loop ran while jobs were in flight.
 */
static void
test_async_dmadev_matches_the_model_with_jobs_in_flight_beside_the_caller(void **state)
{
	const size_t n = 16 * MiB;
	struct scpp_copy *c = engine("dmadev", "dma_skeleton1");
	struct scpp_copy_async *a = tracker(c, 32, 8 * MiB);
	struct scpp_copy_async_stats st;
	uint8_t *mem = rte_malloc(NULL, n, 4096), *model = malloc(n);
	uint64_t rnd = 0x9e3779b97f4a7c15u, jobs = 0, beside = 0, waited = 0, most = 0;
	struct aqueue q = {.n = 0};
	(void)state;

	assert_non_null(mem);
	assert_non_null(model);
	{
		struct scpp_copy_region *r;

		assert_int_equal(scpp_copy_mem_register(c, mem, n, SCPP_COPY_ACCESS_LOCAL, &r), 0);
	}
	ct_fill(mem, n, 11);
	memcpy(model, mem, n);
	for (unsigned int i = 0; i < 600; i++) {
		uint64_t len, so, dof;
		void *sv;
		uint64_t h;
		int rc;

		rnd = rnd * 6364136223846793005u + 1442695040888963407u;
		len = 1 + (rnd >> 33) % (i % 50 == 0 ? 2 * MiB : 65536u);
		so = (rnd >> 7) % (n - len);
		dof = (rnd >> 19) % (n - len);
		while (scpp_copy_async_conflicts(a, mem + dof, mem + so, len) || q.n == 32 ||
		       (rc = scpp_copy_async_submit(a, mem + dof, mem + so, len, true, i, &h, &sv)) ==
			       -ENOSPC || rc == -EBUSY) {
			aqueue_poll(a, &q);
			waited++;
		}
		/* The model: what dst held before (the save must show it),
		 * then the copy. */
		{
			unsigned int t = (q.head + q.n) % 32;

			q.q[t].h = h;
			q.q[t].len = len;
			q.q[t].save = sv;
			q.q[t].old = malloc(len);
			assert_non_null(q.q[t].old);
			memcpy(q.q[t].old, model + dof, len);
		}
		memmove(model + dof, model + so, len);
		q.n++;
		jobs++;
		/* The caller's own work while the engine copies. */
		if (scpp_copy_async_inflight(a) > 0)
			beside++;
		most = SCPP_MAX(most, (uint64_t)scpp_copy_async_inflight(a));
	}
	while (q.n > 0)
		aqueue_poll(a, &q);
	assert_memory_equal(mem, model, n);
	scpp_copy_async_stats_get(a, &st);
	assert_int_equal(st.completed, jobs);
	assert_int_equal(q.done, jobs);
	assert_int_equal(st.pool_used, 0);
	/* Every job saves first and posts its copy only at a later progress
	 * step, so each was in flight when the caller went on. */
	assert_int_equal(beside, jobs);
	/* And they were in flight together, not one after the other. */
	assert_true(most >= 2);
	printf("copy_async: %" PRIu64 " jobs on dma_skeleton1, %" PRIu64 " bytes, up to %" PRIu64
	       " in flight at once, %" PRIu64 " polls waiting for room or a conflict, save pool "
	       "peak %" PRIu64 " bytes\n", jobs, st.bytes, most, waited, st.pool_peak);
	scpp_copy_async_free(a);
	ct_free(c);
	rte_free(mem);
	free(model);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_async_memcpy_saves_then_copies_and_reports_each_job_once_in_order, ct_teardown),
		cmocka_unit_test_teardown(test_async_bounds_refuse_without_changing_anything_and_release_in_any_order, ct_teardown),
		cmocka_unit_test_teardown(test_async_conflicts_and_a_job_released_in_flight, ct_teardown),
		cmocka_unit_test_teardown(test_async_rebind_after_the_engine_was_freed_cancels_what_it_owed, ct_teardown),
		cmocka_unit_test_teardown(test_async_dmadev_matches_the_model_with_jobs_in_flight_beside_the_caller, ct_teardown),
	};
	int rc;

	if (ct_eal_dmadev_init("test_copy_async") != 0)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	ct_eal_fini();
	return rc;
}
