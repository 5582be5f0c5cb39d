/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Copy engines, data path: the ring of slots (copy_priv.h explains its four
 * counters), per-copy validation, posting to the engine in order, completion
 * in submission order, timeouts and zombies.
 *
 * Why in-order completion: the evaluator parks a block on the copies it
 * submitted and resumes it when they come back; handing completions back in
 * submission order makes "the block's copies are done" a comparison of two
 * counters, makes replies deterministic, and costs nothing when the device
 * completes in order (dmadev always does; one fabric or verbs queue nearly
 * always does). A copy that finishes early waits in its slot for the ones
 * before it.
 *
 * Why invalid copies are accepted and fail at poll: a burst stops short
 * only for lack of room, so a caller never has to find out which copy of a
 * burst was wrong, and the error reaches the block that asked for that copy
 * in the same way as a device error does.
 *
 * Cost: validation is a few compares plus a region lookup (a one-entry cache
 * in front of a scan over at most max_regions entries); one clock read per
 * submit burst and at most one per poll, only when timeouts are on and
 * something is waiting.
 */

#include <string.h>

#include "copy_priv.h"

/* op_fill() finds a kind's capability as SCPP_COPY_CAP_LOCAL << kind. */
_Static_assert(SCPP_COPY_CAP_LOCAL << SCPP_COPY_WRITE == SCPP_COPY_CAP_WRITE, "kind caps");
_Static_assert(SCPP_COPY_CAP_LOCAL << SCPP_COPY_READ == SCPP_COPY_CAP_READ, "kind caps");

static inline bool
slot_complete(const struct copy_slot *s)
{
	return (s->flags & SLOT_ALL_POSTED) && s->parts_out == 0;
}

/* Drop the slot's holds on its regions and attachment (once). */
static inline void
slot_release(struct copy_slot *s)
{
	if (s->sreg != NULL)
		s->sreg->refs--;
	if (s->dreg != NULL)
		s->dreg->refs--;
	if (s->rw != NULL)
		s->rw->refs--;
	s->flags |= SLOT_RELEASED;
}

void
copy_part_done(struct scpp_copy *c, struct copy_slot *s, int status)
{
	SCPP_VERIFY(s->parts_out > 0);
	s->parts_out--;
	if (status != 0 && s->status == 0)
		s->status = status;
	if (s->parts_out == 0 && (s->flags & SLOT_REPORTED) && (s->flags & SLOT_ALL_POSTED)) {
		/* The last part of a copy already reported as timed out: the
		 * device has let go, so its memory may be released now. */
		c->zombies--;
		scpp_counter_add(&c->st.late, 1);
		slot_release(s);
	}
}

void
copy_abandon_parts(struct scpp_copy *c, int status)
{
	for (uint32_t i = c->reclaim; i != c->head; i++) {
		struct copy_slot *s = copy_slot_at(c, i);

		while (s->parts_out > 0)
			copy_part_done(c, s, status);
	}
}

static inline struct scpp_copy_region *
region_find(struct scpp_copy *c, uintptr_t a, uint64_t len)
{
	struct scpp_copy_region *r = c->last_region;

	if (r != NULL && a >= (uintptr_t)r->base && len <= r->len &&
	    a - (uintptr_t)r->base <= r->len - len)
		return r;
	for (uint32_t i = 0; i < c->n_regions; i++) {
		r = &c->regions[i];
		if (r->used && a >= (uintptr_t)r->base && len <= r->len &&
		    a - (uintptr_t)r->base <= r->len - len) {
			c->last_region = r;
			return r;
		}
	}
	return NULL;
}

/* Check a local range; find its region when the engine needs one. */
static inline int
local_check(struct scpp_copy *c, const void *p, uint64_t len, struct scpp_copy_region **reg)
{
	uintptr_t a = (uintptr_t)p;

	if (p == NULL || a + len < a || ((a | len) & c->align_mask) != 0)
		return -EINVAL;
	if (!(c->caps_flags & SCPP_COPY_CAP_NEED_REG))
		return 0;
	*reg = region_find(c, a, len);
	if (*reg == NULL)
		return -EFAULT;
	if (!((*reg)->access & SCPP_COPY_ACCESS_LOCAL))
		return -EACCES;
	return 0;
}

/*
 * Validate @op into @s. Returns 0 or the copy's status. Takes the holds
 * only once the whole op has passed, so a failed op holds nothing.
 */
static inline int
op_fill(struct scpp_copy *c, const struct scpp_copy_op *op, struct copy_slot *s)
{
	struct scpp_copy_region *sreg = NULL, *dreg = NULL;
	struct scpp_copy_remote *rw = NULL;
	uint64_t len = op->len;
	unsigned int kind = op->kind;
	int rc;

	if (kind > SCPP_COPY_READ)
		return -EINVAL;
	/* SCPP_COPY_CAP_LOCAL << kind is the capability of that kind. */
	if (!(c->caps_flags & (SCPP_COPY_CAP_LOCAL << kind)))
		return -EOPNOTSUPP;
	if (len > c->max_len)
		return -E2BIG;
	if (kind != SCPP_COPY_LOCAL) {
		uint32_t need = kind == SCPP_COPY_WRITE ? SCPP_COPY_ACCESS_REMOTE_WRITE :
							  SCPP_COPY_ACCESS_REMOTE_READ;

		rw = op->remote;
		if (rw == NULL || rw->owner != c || !rw->used)
			return -EINVAL;
		if (!(rw->w.access & need))
			return -EACCES;
		if (op->remote_off > rw->w.len || len > rw->w.len - op->remote_off)
			return -ERANGE;
		if ((op->remote_off & c->align_mask) != 0)
			return -EINVAL;
		s->raddr = rw->w.base + op->remote_off;
	}
	if (len == 0)
		return 0; /* moves nothing, holds nothing */
	if (kind != SCPP_COPY_READ) {
		rc = local_check(c, op->src, len, &sreg);
		if (rc != 0)
			return rc;
		s->src = op->src;
	}
	if (kind != SCPP_COPY_WRITE) {
		rc = local_check(c, op->dst, len, &dreg);
		if (rc != 0)
			return rc;
		s->dst = op->dst;
	}
	if (kind == SCPP_COPY_LOCAL && (uintptr_t)s->src < (uintptr_t)s->dst + len &&
	    (uintptr_t)s->dst < (uintptr_t)s->src + len)
		s->flags |= SLOT_OVERLAP;
	s->sreg = sreg;
	s->dreg = dreg;
	s->rw = rw;
	if (sreg != NULL)
		sreg->refs++;
	if (dreg != NULL)
		dreg->refs++;
	if (rw != NULL)
		rw->refs++;
	return 0;
}

/* The two gauges telemetry reads (relaxed stores: single writer). */
static inline void
publish_gauges(struct scpp_copy *c)
{
	__atomic_store_n(&c->st.inflight, c->head - c->reclaim, __ATOMIC_RELAXED);
	__atomic_store_n(&c->st.zombies, c->zombies, __ATOMIC_RELAXED);
}

/* Hand waiting slots to the engine, in order, until it has no room. */
static void
post_pending(struct scpp_copy *c)
{
	bool rang = false;

	while (c->post != c->head) {
		struct copy_slot *s = copy_slot_at(c, c->post);

		if (!(s->flags & SLOT_ALL_POSTED)) {
			if (s->status != 0) {
				/* A part already failed: post no more of it. */
				s->flags |= SLOT_ALL_POSTED;
#ifdef SCPP_TEST_FAULTS
			} else if (SCPP_UNLIKELY(c->test_stall_len != 0) &&
				   (c->stalled || s->len == c->test_stall_len)) {
				/* A hung device (scpp_copy_config.test_stall_len):
				 * it took the copy and will never complete it. */
				c->stalled = true;
				s->parts_out++;
				s->flags |= SLOT_ALL_POSTED;
#endif
			} else {
				int rc = c->eng->post(c, s);

				rang = true;
				if (rc == -EAGAIN) {
					scpp_counter_add(&c->st.hw_busy, 1);
					break;
				}
				if (rc != 0)
					s->status = rc;
				s->flags |= SLOT_ALL_POSTED;
			}
		}
		c->post++;
	}
	if (rang && c->eng->flush != NULL)
		c->eng->flush(c);
}

uint16_t
scpp_copy_submit_burst(struct scpp_copy *c, const struct scpp_copy_op *ops, uint16_t n)
{
	uint32_t space = c->mask + 1 - (c->head - c->reclaim);
	uint64_t deadline = UINT64_MAX;
	uint16_t m;

	if (SCPP_UNLIKELY(n > SCPP_COPY_BURST_MAX))
		return 0;
	m = n <= space ? n : (uint16_t)space;
	if (SCPP_UNLIKELY(m < n))
		scpp_counter_add(&c->st.ring_full, n - m);
	if (m == 0)
		return 0;
	if (c->timeout_ns != 0)
		deadline = c->clock(c->clock_ctx) + c->timeout_ns;
	for (uint16_t i = 0; i < m; i++) {
		struct copy_slot *s = copy_slot_at(c, c->head);
		int rc;

		/* Every field is set here or in op_fill() (a memset of the
		 * slot would cost more than the rest of a small copy). */
		s->user = ops[i].user;
		s->len = ops[i].len;
		s->kind = ops[i].kind;
		s->deadline = deadline;
		s->dst = NULL;
		s->src = NULL;
		s->raddr = 0;
		s->rw = NULL;
		s->sreg = NULL;
		s->dreg = NULL;
		s->posted = 0;
		s->status = 0;
		s->parts_out = 0;
		s->flags = 0;
		rc = op_fill(c, &ops[i], s);
		if (SCPP_UNLIKELY(rc != 0)) {
			s->status = rc;
			s->flags = SLOT_ALL_POSTED;
			scpp_counter_add(&c->st.invalid, 1);
		} else if (s->len == 0) {
			s->flags |= SLOT_ALL_POSTED;
		}
		c->head++;
	}
	scpp_counter_add(&c->st.submitted, m);
	post_pending(c);
	publish_gauges(c);
	return m;
}

uint16_t
scpp_copy_poll_burst(struct scpp_copy *c, struct scpp_copy_cpl *cpl, uint16_t n)
{
	uint64_t now = 0, bytes = 0;
	uint16_t k = 0, failed = 0, timeouts = 0;
	bool have_now = false;

	if (SCPP_UNLIKELY(n > SCPP_COPY_BURST_MAX))
		return 0;
	if (c->eng->reap != NULL)
		c->eng->reap(c);
	if (c->post != c->head)
		post_pending(c);
	while (k < n && c->report != c->head) {
		struct copy_slot *s = copy_slot_at(c, c->report);
		struct scpp_copy_cpl *o = &cpl[k];

		if (!slot_complete(s)) {
			if (c->timeout_ns == 0)
				break;
			if (!have_now) {
				now = c->clock(c->clock_ctx);
				have_now = true;
			}
			if (now < s->deadline)
				break;
			/* Timed out. Post no more of it; if the device still
			 * owns parts, the slot stays held (a zombie). The
			 * first real error, if any, is the better status. */
			if (s->status == 0)
				s->status = -ETIMEDOUT;
			s->flags |= SLOT_ALL_POSTED;
			if (s->parts_out > 0)
				c->zombies++;
		}
		o->user = s->user;
		o->kind = s->kind;
		o->status = s->status;
		memset(o->rsv, 0, sizeof(o->rsv));
		if (SCPP_LIKELY(s->status == 0)) {
			o->len = s->len;
			bytes += s->len;
		} else {
			o->len = 0;
			failed++;
			timeouts += s->status == -ETIMEDOUT;
		}
		s->flags |= SLOT_REPORTED;
		if (slot_complete(s))
			slot_release(s);
		c->report++;
		k++;
	}
	if (k > 0) {
		/* Counters once per burst: they are read from other threads,
		 * and a relaxed store per copy would cost more than the copy
		 * of a small one. */
		scpp_counter_add(&c->st.completed, k - failed);
		scpp_counter_add(&c->st.bytes, bytes);
		if (SCPP_UNLIKELY(failed > 0)) {
			scpp_counter_add(&c->st.failed, failed);
			scpp_counter_add(&c->st.timeouts, timeouts);
		}
	}
	copy_settle(c);
	return k;
}

void
copy_settle(struct scpp_copy *c)
{
	while (c->reclaim != c->report && (copy_slot_at(c, c->reclaim)->flags & SLOT_RELEASED))
		c->reclaim++;
	/* A slot cancelled by its timeout before it was posted may have been
	 * reclaimed past the post counter: everything before reclaim is
	 * finished, so posting resumes there (never on a reused slot). */
	if ((int32_t)(c->post - c->reclaim) < 0)
		c->post = c->reclaim;
	publish_gauges(c);
}

uint32_t
scpp_copy_space(const struct scpp_copy *c)
{
	return c->mask + 1 - (c->head - c->reclaim);
}

uint32_t
scpp_copy_pending(const struct scpp_copy *c)
{
	return c->head - c->report;
}
