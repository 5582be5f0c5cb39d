/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SCPP_COPY_ASYNC_H
#define SCPP_COPY_ASYNC_H

/**
 * @file
 * Copy jobs: asynchronous copies with an undo save, on top of one engine
 * instance (scpp_copy.h), for a caller that goes on with other work while
 * the engine copies and must be able to put the destination back after the
 * copy completed (the evaluator's `copy`, docs/COPY.md "Asynchronous
 * copies").
 *
 * Model
 * -----
 * - A **job** copies @c len bytes from @c src to @c dst. With a save, it
 *   first copies the destination's current bytes into a **save buffer** of
 *   its own, then (when that completed) the copy itself: two engine copies
 *   in sequence, since copies in flight together are not ordered. Submit
 *   returns at once; the engine works while the caller does other things.
 * - A job is named by a **handle**: a 64-bit sequence number, never reused
 *   for the life of the tracker, so a stale handle is recognised (-ESTALE)
 *   after its slot went to another job. The caller's @c tag travels with
 *   it (the waiting block's own handle, for instance).
 * - **Completion**: scpp_copy_async_poll() makes progress and returns the
 *   jobs that completed since the last poll, each once, in submission
 *   order; scpp_copy_async_result() says whether one job is complete and
 *   how; scpp_copy_async_wait() polls until it is (the synchronous use).
 *   Status 0: every byte of @c dst is the source's, and the save buffer (if
 *   any) holds the old bytes. Otherwise @c dst holds unspecified bytes and
 *   @c saved says whether the save buffer holds the old ones (the copy
 *   itself failed) or the destination was never written (the save failed).
 * - A job is held — its slot and its save buffer — until the caller
 *   **releases** it. Releasing a job that is still in flight is allowed:
 *   it is freed when the engine lets go of it (nothing the engine may still
 *   write into is ever reused).
 * - **Bounds**, fixed at creation: @c max_jobs held at once and
 *   @c pool_bytes of save buffers (the bytes in flight). A submit that does
 *   not fit says which bound it met (-EBUSY jobs or engine ring, -ENOSPC
 *   save pool), and changes nothing.
 * - **Conflicts**: scpp_copy_async_conflicts() says whether a new copy
 *   would read or write bytes that a job in flight writes, or write bytes
 *   it reads; such a copy must wait for it.
 *
 * Threading: the engine instance's owning thread only, like the engine.
 * Submit, poll, result and release never block, allocate or log;
 * scpp_copy_async_wait() spins on the engine (bounded by its timeout).
 */

#include <stdbool.h>
#include <stdint.h>

#include "scpp_copy.h"

struct scpp_copy_async; /**< a job tracker over one engine instance (opaque) */

/** Most jobs one tracker holds. */
#define SCPP_COPY_ASYNC_JOBS_MAX 65536u
/** Largest save pool. */
#define SCPP_COPY_ASYNC_POOL_MAX (UINT64_C(1) << 36)

struct scpp_copy_async_config {
	uint32_t max_jobs;    /**< 1..SCPP_COPY_ASYNC_JOBS_MAX, rounded up to a power of two */
	uint64_t pool_bytes;  /**< save buffers, 0 (no saves) .. SCPP_COPY_ASYNC_POOL_MAX */
	int socket;           /**< NUMA socket of the pool and table */
	const struct scpp_copy_mem_ops *mem; /**< NULL: scpp_copy_mem_libc */
	/** Monotonic clock for elapsed_ns; NULL: CLOCK_MONOTONIC. */
	uint64_t (*clock_ns)(void);
};

/** How a job ended (poll, result, wait). */
struct scpp_copy_async_done {
	uint64_t handle;
	uint64_t tag;         /**< the submitter's */
	uint64_t len;         /**< the job's length */
	uint64_t elapsed_ns;  /**< submission to completion */
	int32_t status;       /**< 0, or the engine's negative errno (scpp_copy.h) */
	bool saved;           /**< the save buffer holds the destination's old bytes */
};

/** Counters; one writer, read with relaxed loads (any thread). */
struct scpp_copy_async_stats {
	uint64_t submitted;    /**< jobs accepted */
	uint64_t completed;    /**< jobs ended with status 0 */
	uint64_t failed;       /**< jobs ended with an error */
	uint64_t bytes;        /**< bytes of the completed jobs */
	uint64_t full_jobs;    /**< submits refused: max_jobs held, or the engine ring full */
	uint64_t full_pool;    /**< submits refused: the save pool full */
	uint64_t waits;        /**< scpp_copy_async_wait() calls that had to poll */
	uint32_t held;         /**< jobs held now (in flight or not yet released) */
	uint32_t inflight;     /**< jobs the engine works on now */
	uint64_t pool_used;    /**< save-pool bytes held now (with alignment and wrap) */
	uint64_t pool_peak;    /**< most save-pool bytes ever held */
};

/**
 * A tracker over @p engine (which it does not own; free the tracker first,
 * or after scpp_copy_free() of the engine, whose return means nothing runs
 * any more). Its save pool is registered with the engine for local copies.
 * Control path.
 *
 * @return 0; -EINVAL (a bound out of range, NULL argument); -ENOMEM; or the
 *   engine's error registering the pool.
 */
int scpp_copy_async_create(struct scpp_copy *engine, const struct scpp_copy_async_config *cfg,
			   struct scpp_copy_async **out);

/**
 * Free a tracker; NULL is a no-op. Jobs still in flight must have ended
 * (scpp_copy_async_held() 0) or the engine must have been freed.
 */
void scpp_copy_async_free(struct scpp_copy_async *a);

/**
 * Start a job.
 *
 * @param save     true: save the destination's current bytes first (needs
 *                 pool_bytes); *@p save_buf receives the buffer, valid
 *                 until the job is released.
 * @param handle   receives the job's handle.
 * @return 0; -EINVAL (len 0 or above the engine's max_len, NULL); -ENODEV
 *   (rebound to no engine); -EBUSY
 *   (max_jobs held, or the engine's ring full); -ENOSPC (the save pool
 *   cannot hold @p len bytes now; -E2BIG: never, @p len exceeds the pool).
 */
int scpp_copy_async_submit(struct scpp_copy_async *a, void *dst, const void *src, uint64_t len,
			   bool save, uint64_t tag, uint64_t *handle, void **save_buf);

/** True when p[0..len) overlaps the destination of a job in flight (a read
 *  of those bytes could see them old, new or partly copied). */
bool scpp_copy_async_writing(const struct scpp_copy_async *a, const void *p, uint64_t len);

/** True when dst[0..len) or src[0..len) collides with a job in flight (see file comment). */
bool scpp_copy_async_conflicts(const struct scpp_copy_async *a, const void *dst,
			       const void *src, uint64_t len);

/**
 * Progress, then up to @p n jobs that completed since the last poll, each
 * returned once, in submission order (released jobs are not returned).
 * @return the number written to @p out.
 */
uint16_t scpp_copy_async_poll(struct scpp_copy_async *a, struct scpp_copy_async_done *out,
			      uint16_t n);

/**
 * One job's state, after a progress step.
 * @return 1 still in flight; 0 complete (@p done filled); -ESTALE (not a
 *   job this tracker holds).
 */
int scpp_copy_async_result(struct scpp_copy_async *a, uint64_t handle,
			   struct scpp_copy_async_done *done);

/** scpp_copy_async_result(), polling until the job is complete. 0 or -ESTALE. */
int scpp_copy_async_wait(struct scpp_copy_async *a, uint64_t handle,
			 struct scpp_copy_async_done *done);

/**
 * The caller is done with a job (its save buffer too). In flight: freed
 * when it completes. A stale handle is ignored.
 */
void scpp_copy_async_release(struct scpp_copy_async *a, uint64_t handle);

/**
 * Move the tracker to another engine instance after its engine was freed
 * (scpp_copy_free(): the device is stopped, so nothing writes into the
 * pool or any job's memory any more) — what a caller does when a copy got
 * stuck in a device (-ETIMEDOUT with the engine holding zombies). Every
 * job still in flight ends with -ECANCELED (saved when its save had
 * completed); the pool is registered with @p engine. Control path.
 *
 * @p engine NULL: no engine any more; later submits answer -ENODEV.
 *
 * @return 0, -EINVAL, or @p engine's error registering the pool (the
 *   tracker then accepts only copies without a save).
 */
int scpp_copy_async_rebind(struct scpp_copy_async *a, struct scpp_copy *engine);

/** Jobs held (in flight, or complete and not released). */
uint32_t scpp_copy_async_held(const struct scpp_copy_async *a);

/** Jobs the engine works on now. */
uint32_t scpp_copy_async_inflight(const struct scpp_copy_async *a);

void scpp_copy_async_stats_get(const struct scpp_copy_async *a, struct scpp_copy_async_stats *st);

#endif /* SCPP_COPY_ASYNC_H */
