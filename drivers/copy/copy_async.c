/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Copy jobs (scpp_copy_async.h): a table of jobs indexed by handle, a ring
 * allocator of save buffers, and the two-step state machine (save, then
 * copy) driven by the engine's completions.
 *
 * Jobs are taken in handle order and freed in handle order: the table and
 * the pool are two rings whose tails advance over released jobs, so a job
 * released out of order is reclaimed when every older one is. That keeps
 * both allocators O(1) and free of fragmentation; the price is that one
 * long-held job holds back the reuse of the younger ones' room, which the
 * bounds (max_jobs, pool_bytes) turn into a refusal, never into growth.
 *
 * The engine op's user value is the handle shifted left by one, the low
 * bit saying which step it is (1: the save).
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <rte_common.h>

#include "scpp_common.h"
#include "scpp_copy_async.h"

enum job_state {
	JOB_FREE = 0,
	JOB_SAVING,   /* the save is with the engine */
	JOB_READY,    /* saved; the copy waits for room in the engine's ring */
	JOB_COPYING,  /* the copy is with the engine */
	JOB_DONE,
};

struct job {
	uint64_t handle;
	uint64_t tag;
	void *dst;
	const void *src;
	void *save;
	uint64_t len;
	uint64_t t0;
	uint64_t elapsed_ns;
	uint64_t pool_end;  /* the pool's head after this job's buffer */
	int32_t status;
	uint8_t state;
	bool saved;
	bool released;
	bool reported;      /* returned by a poll */
};

struct scpp_copy_async {
	struct scpp_copy *eng;
	struct scpp_copy_region *pool_reg;
	struct scpp_copy_mem_ops mem;
	uint64_t (*clock_ns)(void);
	struct job *jobs;
	uint32_t mask;
	uint64_t head, tail;   /* handles: next to give, oldest held */
	uint64_t report;       /* oldest handle a poll has not returned */
	uint8_t *pool;
	uint64_t pool_cap;
	uint64_t pool_head, pool_tail; /* bytes given and freed, ever */
	uint64_t max_len;
	uint32_t inflight;
	struct scpp_copy_async_stats st;
};

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int
scpp_copy_async_create(struct scpp_copy *engine, const struct scpp_copy_async_config *cfg,
		       struct scpp_copy_async **out)
{
	const struct scpp_copy_mem_ops *mem;
	struct scpp_copy_caps caps;
	struct scpp_copy_async *a;
	uint32_t n;
	int rc;

	if (engine == NULL || cfg == NULL || out == NULL || cfg->max_jobs == 0 ||
	    cfg->max_jobs > SCPP_COPY_ASYNC_JOBS_MAX || cfg->pool_bytes > SCPP_COPY_ASYNC_POOL_MAX)
		return -EINVAL;
	mem = cfg->mem != NULL ? cfg->mem : &scpp_copy_mem_libc;
	n = rte_align32pow2(cfg->max_jobs);
	a = mem->alloc(mem->ctx, sizeof(*a), 64, cfg->socket);
	if (a == NULL)
		return -ENOMEM;
	a->mem = *mem;
	a->eng = engine;
	a->clock_ns = cfg->clock_ns != NULL ? cfg->clock_ns : mono_ns;
	a->mask = n - 1;
	scpp_copy_caps_get(engine, &caps);
	a->max_len = caps.max_len;
	a->jobs = mem->alloc(mem->ctx, sizeof(*a->jobs) * n, 64, cfg->socket);
	if (a->jobs == NULL) {
		rc = -ENOMEM;
		goto err;
	}
	if (cfg->pool_bytes > 0) {
		a->pool_cap = (cfg->pool_bytes + 63) & ~(uint64_t)63;
		a->pool = mem->alloc(mem->ctx, a->pool_cap, 4096, cfg->socket);
		if (a->pool == NULL) {
			rc = -ENOMEM;
			goto err;
		}
		rc = scpp_copy_mem_register(engine, a->pool, a->pool_cap, SCPP_COPY_ACCESS_LOCAL,
					    &a->pool_reg);
		if (rc != 0)
			goto err;
	}
	*out = a;
	return 0;
err:
	if (a->pool != NULL)
		a->mem.free(a->mem.ctx, a->pool, a->pool_cap);
	if (a->jobs != NULL)
		a->mem.free(a->mem.ctx, a->jobs, sizeof(*a->jobs) * (a->mask + 1));
	a->mem.free(a->mem.ctx, a, sizeof(*a));
	return rc;
}

void
scpp_copy_async_free(struct scpp_copy_async *a)
{
	if (a == NULL)
		return;
	/* Refused only while a copy is in flight, which the contract rules
	 * out (or the engine is gone and took its regions with it). */
	if (a->pool_reg != NULL && a->eng != NULL)
		(void)scpp_copy_mem_unregister(a->eng, a->pool_reg);
	if (a->pool != NULL)
		a->mem.free(a->mem.ctx, a->pool, a->pool_cap);
	a->mem.free(a->mem.ctx, a->jobs, sizeof(*a->jobs) * (a->mask + 1));
	a->mem.free(a->mem.ctx, a, sizeof(*a));
}

static struct job *
job_of(const struct scpp_copy_async *a, uint64_t handle)
{
	struct job *j;

	if (handle < a->tail || handle >= a->head)
		return NULL;
	j = &a->jobs[handle & a->mask];
	return j->handle == handle && j->state != JOB_FREE ? j : NULL;
}

/* Take @p len bytes from the pool ring (64-byte aligned, never wrapping
 * inside a buffer). NULL when it does not fit now. */
static void *
pool_take(struct scpp_copy_async *a, uint64_t len, uint64_t *end)
{
	uint64_t need = (len + 63) & ~(uint64_t)63;
	uint64_t pos = a->pool_head % a->pool_cap;
	uint64_t pad = pos + need > a->pool_cap ? a->pool_cap - pos : 0;
	uint64_t used = a->pool_head - a->pool_tail;

	if (pad + need > a->pool_cap - used)
		return NULL;
	a->pool_head += pad + need;
	*end = a->pool_head;
	if (a->pool_head - a->pool_tail > a->st.pool_peak)
		a->st.pool_peak = a->pool_head - a->pool_tail;
	a->st.pool_used = a->pool_head - a->pool_tail;
	return a->pool + (pad > 0 ? 0 : pos);
}

/* Free the oldest jobs that are released and no longer in flight. */
static void
reclaim(struct scpp_copy_async *a)
{
	while (a->tail < a->head) {
		struct job *j = &a->jobs[a->tail & a->mask];

		if (!j->released || j->state != JOB_DONE)
			break;
		if (j->save != NULL)
			a->pool_tail = j->pool_end;
		j->state = JOB_FREE;
		a->tail++;
		a->st.held--;
	}
	if (a->report < a->tail)
		a->report = a->tail;
	if (a->tail == a->head && a->pool_cap > 0) {
		/* Empty: start over at the pool's start (no wrap padding). */
		a->pool_head += (a->pool_cap - a->pool_head % a->pool_cap) % a->pool_cap;
		a->pool_tail = a->pool_head;
	}
	a->st.pool_used = a->pool_head - a->pool_tail;
}

static bool
post(struct scpp_copy_async *a, struct job *j, bool save)
{
	struct scpp_copy_op op = {
		.user = j->handle << 1 | (save ? 1u : 0u),
		.dst = save ? j->save : j->dst,
		.src = save ? j->dst : j->src,
		.len = j->len,
		.kind = SCPP_COPY_LOCAL,
	};

	return scpp_copy_submit_burst(a->eng, &op, 1) == 1;
}

static void
finish(struct scpp_copy_async *a, struct job *j, int32_t status, bool saved)
{
	j->status = status;
	j->saved = saved;
	j->elapsed_ns = a->clock_ns() - j->t0;
	j->state = JOB_DONE;
	a->inflight--;
	a->st.inflight = a->inflight;
	if (status == 0) {
		scpp_counter_add(&a->st.completed, 1);
		scpp_counter_add(&a->st.bytes, j->len);
	} else {
		scpp_counter_add(&a->st.failed, 1);
	}
}

/* One round of the engine's completions, and the copies that wait for
 * room after their save. */
static void
progress(struct scpp_copy_async *a)
{
	struct scpp_copy_cpl cpl[SCPP_COPY_BURST_MAX];
	uint16_t k;
	bool freed = false;

	if (a->inflight == 0 || a->eng == NULL)
		return;
	k = scpp_copy_poll_burst(a->eng, cpl, SCPP_COPY_BURST_MAX);
	for (uint16_t i = 0; i < k; i++) {
		struct job *j = job_of(a, cpl[i].user >> 1);

		SCPP_VERIFY(j != NULL); /* a job in flight is never freed */
		if ((cpl[i].user & 1) == 0) {
			finish(a, j, cpl[i].status, j->save != NULL);
		} else if (cpl[i].status != 0) {
			finish(a, j, cpl[i].status, false);
		} else {
			j->state = JOB_COPYING;
			if (!post(a, j, false))
				j->state = JOB_READY;
		}
		freed |= j->released && j->state == JOB_DONE;
	}
	/* Saved jobs that found the ring full, oldest first. */
	for (uint64_t h = a->tail; h < a->head && scpp_copy_space(a->eng) > 0; h++) {
		struct job *j = &a->jobs[h & a->mask];

		if (j->state == JOB_READY && post(a, j, false))
			j->state = JOB_COPYING;
	}
	if (freed)
		reclaim(a);
}

int
scpp_copy_async_submit(struct scpp_copy_async *a, void *dst, const void *src, uint64_t len,
		       bool save, uint64_t tag, uint64_t *handle, void **save_buf)
{
	struct job *j;
	uint64_t end = 0;
	void *buf = NULL;

	if (a == NULL || dst == NULL || src == NULL || handle == NULL || len == 0 ||
	    len > a->max_len || (save && save_buf == NULL))
		return -EINVAL;
	if (a->eng == NULL)
		return -ENODEV;
	if (save && len > a->pool_cap)
		return -E2BIG;
	if (a->head - a->tail > a->mask || scpp_copy_space(a->eng) == 0) {
		scpp_counter_add(&a->st.full_jobs, 1);
		return -EBUSY;
	}
	if (save) {
		buf = pool_take(a, len, &end);
		if (buf == NULL) {
			scpp_counter_add(&a->st.full_pool, 1);
			return -ENOSPC;
		}
	}
	j = &a->jobs[a->head & a->mask];
	*j = (struct job){
		.handle = a->head, .tag = tag, .dst = dst, .src = src, .save = buf, .len = len,
		.t0 = a->clock_ns(), .pool_end = end, .state = save ? JOB_SAVING : JOB_COPYING,
	};
	/* The ring had room (checked above): the post cannot be refused. */
	SCPP_VERIFY(post(a, j, save));
	a->head++;
	a->inflight++;
	a->st.inflight = a->inflight;
	a->st.held++;
	scpp_counter_add(&a->st.submitted, 1);
	*handle = j->handle;
	if (save)
		*save_buf = buf;
	return 0;
}

static bool
overlap(const void *p, uint64_t n, const void *q, uint64_t m)
{
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)q;

	return a < b + m && b < a + n;
}

bool
scpp_copy_async_writing(const struct scpp_copy_async *a, const void *p, uint64_t len)
{
	if (a->inflight == 0)
		return false;
	for (uint64_t h = a->tail; h < a->head; h++) {
		const struct job *j = &a->jobs[h & a->mask];

		if (j->state != JOB_DONE && j->state != JOB_FREE && overlap(p, len, j->dst, j->len))
			return true;
	}
	return false;
}

bool
scpp_copy_async_conflicts(const struct scpp_copy_async *a, const void *dst, const void *src,
			  uint64_t len)
{
	if (a->inflight == 0)
		return false;
	for (uint64_t h = a->tail; h < a->head; h++) {
		const struct job *j = &a->jobs[h & a->mask];

		if (j->state == JOB_DONE || j->state == JOB_FREE)
			continue;
		if (overlap(dst, len, j->dst, j->len) || overlap(src, len, j->dst, j->len) ||
		    overlap(dst, len, j->src, j->len))
			return true;
	}
	return false;
}

static void
fill(const struct job *j, struct scpp_copy_async_done *d)
{
	*d = (struct scpp_copy_async_done){
		.handle = j->handle, .tag = j->tag, .len = j->len, .elapsed_ns = j->elapsed_ns,
		.status = j->status, .saved = j->saved,
	};
}

uint16_t
scpp_copy_async_poll(struct scpp_copy_async *a, struct scpp_copy_async_done *out, uint16_t n)
{
	uint16_t k = 0;

	progress(a);
	while (k < n && a->report < a->head) {
		struct job *j = &a->jobs[a->report & a->mask];

		if (j->state != JOB_DONE && j->state != JOB_FREE)
			break;
		if (j->state == JOB_DONE && !j->released && !j->reported) {
			j->reported = true;
			fill(j, &out[k++]);
		}
		a->report++;
	}
	return k;
}

int
scpp_copy_async_result(struct scpp_copy_async *a, uint64_t handle,
		       struct scpp_copy_async_done *done)
{
	struct job *j = job_of(a, handle);

	if (j == NULL || j->released)
		return -ESTALE;
	if (j->state != JOB_DONE)
		progress(a);
	if (j->state != JOB_DONE)
		return 1;
	fill(j, done);
	return 0;
}

int
scpp_copy_async_wait(struct scpp_copy_async *a, uint64_t handle,
		     struct scpp_copy_async_done *done)
{
	int rc = scpp_copy_async_result(a, handle, done);

	if (rc == 1)
		scpp_counter_add(&a->st.waits, 1);
	while (rc == 1)
		rc = scpp_copy_async_result(a, handle, done);
	return rc;
}

void
scpp_copy_async_release(struct scpp_copy_async *a, uint64_t handle)
{
	struct job *j = job_of(a, handle);

	if (j == NULL || j->released)
		return;
	j->released = true;
	if (j->state == JOB_DONE)
		reclaim(a);
}

int
scpp_copy_async_rebind(struct scpp_copy_async *a, struct scpp_copy *engine)
{
	struct scpp_copy_caps caps;
	int rc = 0;

	if (a == NULL)
		return -EINVAL;
	/* The old engine is gone (freed: its device stopped), and with it
	 * its regions and the completions it still owed. */
	a->pool_reg = NULL;
	a->eng = engine;
	a->max_len = 0;
	if (engine != NULL) {
		scpp_copy_caps_get(engine, &caps);
		a->max_len = caps.max_len;
	}
	for (uint64_t h = a->tail; h < a->head; h++) {
		struct job *j = &a->jobs[h & a->mask];

		if (j->state == JOB_SAVING)
			finish(a, j, -ECANCELED, false);
		else if (j->state == JOB_READY || j->state == JOB_COPYING)
			finish(a, j, -ECANCELED, j->save != NULL);
	}
	if (a->pool != NULL && engine != NULL)
		rc = scpp_copy_mem_register(engine, a->pool, a->pool_cap, SCPP_COPY_ACCESS_LOCAL,
					    &a->pool_reg);
	reclaim(a);
	return rc;
}

uint32_t
scpp_copy_async_held(const struct scpp_copy_async *a)
{
	return (uint32_t)(a->head - a->tail);
}

uint32_t
scpp_copy_async_inflight(const struct scpp_copy_async *a)
{
	return a->inflight;
}

void
scpp_copy_async_stats_get(const struct scpp_copy_async *a, struct scpp_copy_async_stats *st)
{
	st->submitted = scpp_counter_read(&a->st.submitted);
	st->completed = scpp_counter_read(&a->st.completed);
	st->failed = scpp_counter_read(&a->st.failed);
	st->bytes = scpp_counter_read(&a->st.bytes);
	st->full_jobs = scpp_counter_read(&a->st.full_jobs);
	st->full_pool = scpp_counter_read(&a->st.full_pool);
	st->waits = scpp_counter_read(&a->st.waits);
	st->held = __atomic_load_n(&a->st.held, __ATOMIC_RELAXED);
	st->inflight = __atomic_load_n(&a->st.inflight, __ATOMIC_RELAXED);
	st->pool_used = __atomic_load_n(&a->st.pool_used, __ATOMIC_RELAXED);
	st->pool_peak = __atomic_load_n(&a->st.pool_peak, __ATOMIC_RELAXED);
}
