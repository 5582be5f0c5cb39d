/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker's table of parked evaluations (scppd.h, "park.c"; design in
 * docs/ARCHITECTURE.md "Parking"). lib/eval suspends a block and
 * lib/delivery keeps its request admitted; this file holds what the block
 * needs to go on later and wires the consumers (the schema path, copy.c,
 * cont.c) to both.
 *
 * Why the bounds are what they are. Slots: exactly delivery.max_parked,
 * the capacity of lib/delivery's park, so that a slot found free here
 * means lib/delivery has room too and a block is only ever stopped when it
 * can be parked (a stop commits the part that ran: stopping a block that
 * then could not wait would leave it half-applied with nobody to finish
 * it). The message copy (SCPPD_PARK_MSG_MAX) and the suspension
 * (SCPPD_PARK_SUSP_BYTES) are fixed per slot and allocated at start: a
 * longer message is simply never stopped, a larger state is aborted by
 * the evaluator with E_LIMIT_PENDING before anything is committed. With
 * the defaults a worker's table takes 256 x 20 KiB = 5 MiB.
 *
 * Why a resumed block is decoded again. The decoded block borrows from the
 * message's bytes, which belong to an mbuf (or the worker's linearising
 * buffer) freed as soon as the block stops; the slot keeps a copy of the
 * bytes, and one shared decode target serves every resumption (one block
 * runs at a time), rather than 40 KiB per slot.
 *
 * Handles are (generation << 32 | slot). The generation moves on every
 * time a slot is parked into, so an event meant for an earlier occupant
 * (a late DMA completion, a duplicate reply) finds another generation and
 * is refused with -ESTALE.
 *
 * Ready slots wait on an intrusive FIFO (one link per slot, so it can
 * never overflow); a slot freed while on it stays linked and is skipped
 * when reached, unless a new occupant became ready meanwhile.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <rte_malloc.h>
#include <rte_telemetry.h>

#include "scppd.h"

#define NONE UINT32_MAX
/* Expired parks answered per loop turn, at most. */
#define EXPIRE_PER_TURN 4u

enum slot_state {
	SLOT_FREE = 0,
	SLOT_PARKED, /* waiting for its event */
	SLOT_READY,  /* scppd_park_ready(): resume it */
	SLOT_ABORT,  /* scppd_park_abort(): answer it with its status */
	SLOT_RUN,    /* being resumed right now */
};

struct park_slot {
	uint8_t state;
	uint8_t reason;
	uint8_t on_ready;       /* linked on the ready FIFO */
	uint16_t stop_cmd;      /* the command it stopped before */
	uint16_t from;          /* where it resumes */
	int32_t ticket;         /* lib/delivery's */
	uint32_t gen;
	uint32_t next;          /* free list */
	uint32_t next_ready;
	uint32_t len;           /* message bytes in msg */
	int status;             /* scppd_park_ready()'s, or the abort code */
	uint64_t user;
	uint64_t client_id, block_id; /* the request's (continuations name them) */
	struct scpp_eval_susp *susp;
	uint8_t *msg;
	char abort_msg[SCPP_STATUS_MSG_MAX];
	/* A carried request (a session block a peer forwarded, auth.c): the
	 * verified FORWARD extension it came with, w->carry while it is
	 * resumed or answered, so that it runs with the client's authority
	 * and its reply is sealed on the delegated lane. Holds a secret (the
	 * delegated reply key): wiped when the slot is freed. */
	struct scppd_carry carry;
};

struct scppd_park {
	uint32_t cap;
	uint32_t free_head;
	uint32_t ready_head, ready_tail;
	uint32_t running;       /* the slot being resumed, or NONE */
	/* The evaluation in progress (between scppd_park_hooks() and the end
	 * of scppd_exec_eval()). */
	uint8_t mask;           /* consumers that wanted the block */
	uint8_t stop_reason;
	uint16_t stop_cmd;
	uint64_t stop_user;
	struct scpp_eval_hooks hooks;
	struct scpp_wire_block *blk; /* decode target of resumptions */
	struct park_slot *slot;
	struct scppd_park_stats st;
};

static const struct scppd_park_ops *consumers[SCPPD_PARK_REASONS];
unsigned int scppd_park_nconsumers;

static const char *const end_name[] = {
	[SCPPD_PARK_END_EXPIRED] = "expired",
	[SCPPD_PARK_END_SESSION] = "session closed",
	[SCPPD_PARK_END_FAILED] = "failed",
	[SCPPD_PARK_END_ABORTED] = "aborted",
	[SCPPD_PARK_END_STOPPED] = "stopped",
};

void
scppd_park_register(enum scppd_park_reason why, const struct scppd_park_ops *ops)
{
	SCPP_VERIFY((unsigned int)why < SCPPD_PARK_REASONS && consumers[why] == NULL &&
		    ops != NULL);
	consumers[why] = ops;
	if (ops->before_cmd != NULL)
		scppd_park_nconsumers++;
}

static uint64_t
handle_of(const struct scppd_park *p, uint32_t idx)
{
	return (uint64_t)p->slot[idx].gen << 32 | idx;
}

/* The slot @p h names if its generation matches, else NULL. */
static struct park_slot *
slot_of(struct scppd_park *p, uint64_t h)
{
	uint32_t idx = (uint32_t)h;

	if (idx >= p->cap || p->slot[idx].gen != (uint32_t)(h >> 32) ||
	    p->slot[idx].state == SLOT_FREE)
		return NULL;
	return &p->slot[idx];
}

static void
busy_set(struct scppd_worker *w, uint32_t n)
{
	/* Read by telemetry on another thread: a relaxed store, no ordering
	 * with anything else is needed for a gauge. */
	__atomic_store_n(&w->park_busy, n, __ATOMIC_RELAXED);
	__atomic_store_n(&w->park->st.parked, n, __ATOMIC_RELAXED);
}

static void
slot_free(struct scppd_worker *w, uint32_t idx)
{
	struct scppd_park *p = w->park;
	struct park_slot *s = &p->slot[idx];

	scpp_eval_susp_drop(w->ectx, s->susp);
	explicit_bzero(&s->carry, sizeof(s->carry));
	/* Every consumer with state kept per slot forgets it, whichever
	 * reason the block stopped for last (a split block may wait for a
	 * copy later). */
	for (unsigned int r = 0; r < SCPPD_PARK_REASONS; r++)
		if (consumers[r] != NULL && consumers[r]->freed != NULL)
			consumers[r]->freed(w, idx);
	s->state = SLOT_FREE;
	s->next = p->free_head;
	p->free_head = idx;
	busy_set(w, w->park_busy - 1);
}

static void
tell_dead(struct scppd_worker *w, uint32_t idx, enum scppd_park_end why)
{
	struct park_slot *s = &w->park->slot[idx];
	const struct scppd_park_ops *ops = consumers[s->reason];

	if (ops != NULL && ops->dead != NULL)
		ops->dead(w, handle_of(w->park, idx), s->user, why);
}

/* snprintf through a va_list: status messages are cut where they must be. */
static __attribute__((format(printf, 3, 4))) void
msg_fmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

/*
 * Answer slot @p idx's pending request @p req as ended with @p code: a held
 * block (SCPP_EVAL_HOLD) is undone whole by the evaluator, which writes
 * the abort reply; a plain stop's first part stays applied and the reply
 * says so. Recorded either way: a retransmission gets the same answer.
 */
static void
answer_end(struct scppd_worker *w, uint32_t idx, const struct scpp_delivery_req *req, int code,
	   const char *component, const char *what)
{
	struct scppd_park *p = w->park;
	struct park_slot *s = &p->slot[idx];
	bool held = scpp_eval_susp_held(s->susp);
	char msg[SCPP_STATUS_MSG_MAX];
	uint32_t off = 0;

	const char *rest = held ? "nothing was applied" :
		"the commands before it were applied, the rest did not run";

	/* The cause first; what it means for the block if there is room. */
	if (strlen(what) + strlen(rest) + 40 < SCPP_STATUS_MSG_MAX)
		msg_fmt(msg, sizeof(msg), "%s (the block stopped before command %u): %s", what,
			s->stop_cmd, rest);
	else
		msg_fmt(msg, sizeof(msg), "%s", what);
	if (held && scpp_wire_block_decode(s->msg, s->len, p->blk, &off) == 0) {
		struct scpp_wire_reply_writer wr;
		struct scpp_eval_result res;
		uint32_t cap;
		uint8_t *buf = scpp_delivery_reply_buf(w->dlv, &cap, w->now);

		scpp_wire_reply_writer_init(&wr, buf, cap);
		w->env.client_id = req->client_id;
		w->env.auth = NULL;
		if (scpp_eval_resume_abort(w->ectx, &w->env, p->blk, req->block_id, &wr, &res,
					   s->susp, code, msg) == 0) {
			scpp_delivery_reply_commit(w->dlv, req, (uint32_t)wr.len, w->now);
			return;
		}
	}
	scppd_status_commit(w, req, code, component, "%s", msg);
}

static enum scpp_eval_verdict
before_cmd(void *arg, const struct scpp_wire_block *b, uint16_t cmd, size_t nrows)
{
	struct scppd_worker *w = arg;
	struct scppd_park *p = w->park;

	for (unsigned int r = 0; r < SCPPD_PARK_REASONS; r++) {
		enum scpp_eval_verdict v;
		uint64_t user = 0;

		if (!((p->mask >> r) & 1) || consumers[r]->before_cmd == NULL)
			continue;
		v = consumers[r]->before_cmd(w, b, cmd, nrows, &user);
		if (v != SCPP_EVAL_GO) {
			p->stop_reason = (uint8_t)r;
			p->stop_cmd = cmd;
			p->stop_user = user;
			return v;
		}
	}
	return SCPP_EVAL_GO;
}

const struct scpp_eval_hooks *
scppd_park_hooks_slow(struct scppd_worker *w, const struct scpp_wire_block *b, uint32_t len)
{
	struct scppd_park *p = w->park;
	uint8_t mask = 0;

	for (unsigned int r = 0; r < SCPPD_PARK_REASONS; r++)
		if (consumers[r] != NULL && consumers[r]->before_cmd != NULL &&
		    (consumers[r]->wants == NULL || consumers[r]->wants(w, b)))
			mask |= (uint8_t)(1u << r);
	if (mask == 0)
		return NULL;
	if (len > SCPPD_PARK_MSG_MAX) {
		scpp_counter_add(&p->st.refused_big, 1);
		return NULL;
	}
	if (p->running == NONE && p->free_head == NONE) {
		scpp_counter_add(&p->st.refused_full, 1);
		return NULL;
	}
	p->mask = mask;
	return &p->hooks;
}

struct scpp_eval_susp *
scppd_park_susp(struct scppd_worker *w)
{
	struct scppd_park *p = w->park;
	uint32_t idx = p->running != NONE ? p->running : p->free_head;

	return idx == NONE ? NULL : p->slot[idx].susp;
}

struct scpp_eval_susp *
scppd_park_hold_schema(void *arg, const struct scpp_wire_block *b)
{
	struct scppd_worker *w = arg;
	struct scppd_park *p = w->park;

	if (consumers[SCPPD_PARK_SCHEMA] == NULL)
		return NULL;
	if (w->park_len > SCPPD_PARK_MSG_MAX) {
		scpp_counter_add(&p->st.refused_big, 1);
		return NULL;
	}
	if (p->running == NONE && p->free_head == NONE) {
		scpp_counter_add(&p->st.refused_full, 1);
		return NULL;
	}
	p->stop_reason = SCPPD_PARK_SCHEMA;
	p->stop_cmd = b->ncmds;
	p->stop_user = 0;
	return scppd_park_susp(w);
}

struct scpp_eval_susp *
scppd_park_susp_of(struct scppd_worker *w, uint64_t h)
{
	struct park_slot *s = slot_of(w->park, h);

	return s != NULL ? s->susp : NULL;
}

const uint8_t *
scppd_park_msg_of(struct scppd_worker *w, uint64_t h, uint32_t *len)
{
	struct park_slot *s = slot_of(w->park, h);

	if (s == NULL)
		return NULL;
	*len = s->len;
	return s->msg;
}

int
scppd_park_ids_of(struct scppd_worker *w, uint64_t h, uint64_t *client_id, uint64_t *block_id)
{
	struct park_slot *s = slot_of(w->park, h);

	if (s == NULL)
		return -ESTALE;
	*client_id = s->client_id;
	*block_id = s->block_id;
	return 0;
}

/* The block of slot @p idx ended with its reply of *@p len bytes in
 * lib/delivery's reply buffer: the consumers that keep parts of it (a
 * split block's continuations) rewrite it there before it is committed. */
static void
reply_hooks(struct scppd_worker *w, uint32_t idx, uint32_t *len)
{
	uint32_t cap;
	uint8_t *buf = NULL;

	for (unsigned int r = 0; r < SCPPD_PARK_REASONS; r++) {
		if (consumers[r] == NULL || consumers[r]->reply == NULL)
			continue;
		if (buf == NULL)
			buf = scpp_delivery_reply_buf(w->dlv, &cap, w->now); /* the one just written */
		consumers[r]->reply(w, idx, buf, cap, len);
	}
}

void
scppd_park_commit(struct scppd_worker *w, const struct scpp_delivery_req *req,
		  const struct scpp_wire_block *b, const uint8_t *msg, uint32_t len)
{
	struct scppd_park *p = w->park;
	const struct scppd_park_ops *ops = consumers[p->stop_reason];
	struct park_slot *s;
	uint32_t idx = p->running;
	int32_t t;

	if (idx == NONE) {
		/* scppd_park_susp() gave the evaluator this slot's suspension. */
		idx = p->free_head;
		SCPP_VERIFY(idx != NONE);
		s = &p->slot[idx];
		p->free_head = s->next;
		memcpy(s->msg, msg, len);
		s->len = len;
		busy_set(w, w->park_busy + 1);
	} else {
		/* Stopped again while resumed: same slot, same bytes. */
		s = &p->slot[idx];
	}
	if (++s->gen == 0)
		s->gen = 1;
	s->reason = p->stop_reason;
	s->stop_cmd = p->stop_cmd;
	s->from = p->stop_cmd;
	s->status = 0;
	s->user = p->stop_user;
	s->client_id = req->client_id;
	s->block_id = req->block_id;
	if ((req->session & SCPP_DELIVERY_CARRIED) && w->carry != NULL && w->carry != &s->carry)
		s->carry = *w->carry;
	t = scpp_delivery_park(w->dlv, req, idx, w->now);
	if (unlikely(t < 0)) {
		/* Cannot happen: both tables have delivery.max_parked slots and
		 * only this file parks. Answered, so nothing hangs. */
		static bool said;

		if (!said) {
			said = true;
			SCPPD_LOG(ERR, "worker %u: lib/delivery refused a park the table had room for",
				  w->idx);
		}
		scpp_counter_add(&p->st.failed, 1);
		slot_free(w, idx);
		scppd_status_commit(w, req, -SCPP_E_LIMIT_PENDING, "park",
				    "the block could not be parked before command %u; the commands "
				    "before it were applied, the rest did not run", p->stop_cmd);
		return;
	}
	s->ticket = t;
	s->state = SLOT_PARKED;
	scpp_counter_add(&p->st.parks, 1);
	scpp_counter_add(&p->st.by_reason[s->reason], 1);
	if (ops->parked != NULL)
		ops->parked(w, handle_of(p, idx), b, s->stop_cmd, s->user);
}

static void
ready_push(struct scppd_park *p, uint32_t idx)
{
	struct park_slot *s = &p->slot[idx];

	if (s->on_ready)
		return; /* still linked from an earlier occupant: reached in turn */
	s->on_ready = 1;
	s->next_ready = NONE;
	if (p->ready_tail == NONE)
		p->ready_head = idx;
	else
		p->slot[p->ready_tail].next_ready = idx;
	p->ready_tail = idx;
}

static struct park_slot *
event_slot(struct scppd_worker *w, uint64_t h, int *rc)
{
	struct park_slot *s = slot_of(w->park, h);

	if (s == NULL) {
		scpp_counter_add(&w->park->st.stale, 1);
		*rc = -ESTALE;
		return NULL;
	}
	if (s->state != SLOT_PARKED) {
		*rc = s->state == SLOT_RUN ? -ESTALE : -EALREADY;
		return NULL;
	}
	return s;
}

int
scppd_park_ready(struct scppd_worker *w, uint64_t h, uint16_t from_cmd, int status)
{
	struct park_slot *s;
	int rc = 0;

	if ((s = event_slot(w, h, &rc)) == NULL)
		return rc;
	if (from_cmd == SCPPD_PARK_FROM_STOP)
		from_cmd = s->stop_cmd;
	if (from_cmd < s->stop_cmd)
		return -EINVAL;
	s->from = from_cmd;
	s->status = status;
	s->state = SLOT_READY;
	ready_push(w->park, (uint32_t)h);
	return 0;
}

int
scppd_park_abort(struct scppd_worker *w, uint64_t h, int code, const char *msg)
{
	struct park_slot *s;
	int rc = 0;

	if ((s = event_slot(w, h, &rc)) == NULL)
		return rc;
	s->status = code < 0 ? code : -code;
	snprintf(s->abort_msg, sizeof(s->abort_msg), "%s", msg != NULL ? msg : "");
	s->state = SLOT_ABORT;
	ready_push(w->park, (uint32_t)h);
	return 0;
}

/*
 * Slot @p idx, READY or ABORT, whose request @p req lib/delivery has just
 * made pending again (unparked, or expired while ready): answer it.
 */
static void
resume_slot(struct scppd_worker *w, uint32_t idx, const struct scpp_delivery_req *req)
{
	struct scppd_park *p = w->park;
	struct park_slot *s = &p->slot[idx];
	const struct scppd_park_ops *ops = consumers[s->reason];
	const struct scpp_auth_authority *auth = NULL;
	uint32_t off = 0, rlen;
	uint64_t aborted;
	int rc;

	if (s->state == SLOT_ABORT) {
		scpp_counter_add(&p->st.aborted, 1);
		tell_dead(w, idx, SCPPD_PARK_END_ABORTED);
		answer_end(w, idx, req, s->status, ops->name, s->abort_msg);
		slot_free(w, idx);
		return;
	}
	/* The session may have closed while the block waited: its authority
	 * is looked up again, never kept across the park. A carried request's
	 * comes from the carried cache (w->carry is the slot's, set by the
	 * caller): the identity may have expired or been evicted meanwhile. */
	if (req->session & SCPP_DELIVERY_SESSION) {
		bool carried = (req->session & SCPP_DELIVERY_CARRIED) != 0;

		if (carried)
			auth = scppd_auth_carried(w, req);
		else if (w->auth != NULL)
			auth = scpp_auth_table_authority(w->auth, req->client_id, w->now_ns);
		if (auth == NULL) {
			scpp_counter_add(&p->st.session_gone, 1);
			tell_dead(w, idx, SCPPD_PARK_END_SESSION);
			answer_end(w, idx, req, -EACCES, "auth", carried ?
				   "the forwarded session's identity expired or was evicted while "
				   "the block was parked" :
				   "the session closed while the block was parked");
			slot_free(w, idx);
			return;
		}
	}
	rc = scpp_wire_block_decode(s->msg, s->len, p->blk, &off);
	if (unlikely(rc != 0)) {
		/* It decoded when it arrived; the copy is ours. A bug. */
		scpp_counter_add(&p->st.failed, 1);
		scppd_status_commit(w, req, rc, "park", "the parked block no longer decodes at "
				    "byte %u: %s", off, scpp_strerror(rc));
		tell_dead(w, idx, SCPPD_PARK_END_FAILED);
		slot_free(w, idx);
		return;
	}
	if (ops->resuming != NULL)
		ops->resuming(w, handle_of(p, idx), s->user, s->status);
	s->state = SLOT_RUN;
	p->running = idx;
	aborted = w->stats.outcome_aborted;
	rc = scppd_exec_eval(w, req, p->blk, s->len, auth, s->susp, s->from, &rlen);
	/* A schema change is submitted before its block's end runs; if the
	 * end fails (a reply over max_result) the block's undo reverted the
	 * shard's schema entities: write them again from the schema in force. */
	if (unlikely(s->reason == SCPPD_PARK_SCHEMA && rc == 0 &&
		     w->stats.outcome_aborted != aborted) &&
	    scpp_schema_rematerialize(NULL, w->env.schema, w->store) < 0)
		scpp_counter_add(&w->stats.schema_adopt_errors, 1);
	if (rc == 1) {
		scpp_counter_add(&p->st.resumes, 1);
		scppd_park_commit(w, req, p->blk, s->msg, s->len);
		p->running = NONE;
		return;
	}
	p->running = NONE;
	if (rc == 0) {
		scpp_counter_add(&p->st.resumes, 1);
		reply_hooks(w, idx, &rlen);
		scpp_delivery_reply_commit(w->dlv, req, rlen, w->now);
		slot_free(w, idx);
		return;
	}
	/* A status reply went out (scppd_exec_eval()). */
	scpp_counter_add(&p->st.failed, 1);
	tell_dead(w, idx, SCPPD_PARK_END_FAILED);
	slot_free(w, idx);
}

static void
expire_slot(struct scppd_worker *w, uint32_t idx, const struct scpp_delivery_req *req)
{
	struct scppd_park *p = w->park;
	struct park_slot *s = &p->slot[idx];
	const struct scppd_park_ops *ops = consumers[s->reason];

	char what[160];

	scpp_counter_add(&p->st.expired, 1);
	snprintf(what, sizeof(what), "the block waited for %s longer than "
		 "delivery.park_timeout_ms (%u ms)", ops != NULL ? ops->name : "?",
		 scppd_g.cfg.delivery.park_timeout_ms);
	/* Part of a plain stop took effect: its outcome is unknown to the
	 * client. A held block is undone: it simply timed out. */
	tell_dead(w, idx, SCPPD_PARK_END_EXPIRED);
	answer_end(w, idx, req, scpp_eval_susp_held(s->susp) ? -ETIMEDOUT :
		   -SCPP_E_OUTCOME_UNKNOWN, "park", what);
	slot_free(w, idx);
}

/* A carried request is resumed or answered as it was run: with its
 * verified extension as w->carry (NULL otherwise); the caller puts back
 * what w->carry was. */
static void
carry_enter(struct scppd_worker *w, uint32_t idx, const struct scpp_delivery_req *req)
{
	w->carry = (req->session & SCPP_DELIVERY_CARRIED) ? &w->park->slot[idx].carry : NULL;
}

void
scppd_park_poll_slow(struct scppd_worker *w)
{
	struct scppd_park *p = w->park;
	const struct scppd_carry *const outer = w->carry;
	struct scpp_delivery_req req;
	uint64_t user;

	for (unsigned int n = 0; n < SCPPD_PARK_RESUME_PER_TURN && p->ready_head != NONE; n++) {
		uint32_t idx = p->ready_head;
		struct park_slot *s = &p->slot[idx];

		p->ready_head = s->next_ready;
		if (p->ready_head == NONE)
			p->ready_tail = NONE;
		s->on_ready = 0;
		if (s->state != SLOT_READY && s->state != SLOT_ABORT)
			continue; /* freed (expired) after it became ready */
		SCPP_VERIFY(scpp_delivery_unpark(w->dlv, s->ticket, &req, NULL) == 0);
		carry_enter(w, idx, &req);
		resume_slot(w, idx, &req);
		w->carry = outer;
	}
	for (unsigned int n = 0; n < EXPIRE_PER_TURN; n++) {
		int32_t t = scpp_delivery_park_expired(w->dlv, w->now, &req, &user);
		uint32_t idx = (uint32_t)user;

		if (t < 0)
			break;
		SCPP_VERIFY(idx < p->cap && p->slot[idx].ticket == t);
		/* One whose event came but was not resumed yet gets its real
		 * answer rather than "unknown". */
		carry_enter(w, idx, &req);
		if (p->slot[idx].state == SLOT_READY || p->slot[idx].state == SLOT_ABORT)
			resume_slot(w, idx, &req);
		else
			expire_slot(w, idx, &req);
		w->carry = outer;
	}
}

void
scppd_park_init(struct scppd *d, struct scppd_worker *w)
{
	int socket = (int)rte_lcore_to_socket_id(w->lcore);
	uint32_t cap = d->cfg.delivery.max_parked;
	struct scppd_park *p;

	p = rte_zmalloc_socket("scppd_park", sizeof(*p), RTE_CACHE_LINE_SIZE, socket);
	if (p == NULL)
		goto fail;
	w->park = p;
	p->cap = cap;
	p->running = NONE;
	p->ready_head = p->ready_tail = NONE;
	p->hooks.before_cmd = before_cmd;
	p->hooks.arg = w;
	p->hooks.at_end = true;
	p->blk = rte_malloc_socket("scppd_park_blk", sizeof(*p->blk), RTE_CACHE_LINE_SIZE, socket);
	p->slot = rte_zmalloc_socket("scppd_park_slots", sizeof(*p->slot) * cap,
				     RTE_CACHE_LINE_SIZE, socket);
	if (p->blk == NULL || p->slot == NULL)
		goto fail;
	for (uint32_t i = 0; i < cap; i++) {
		struct park_slot *s = &p->slot[i];

		s->next = i + 1 < cap ? i + 1 : NONE;
		s->msg = rte_malloc_socket("scppd_park_msg", SCPPD_PARK_MSG_MAX, 8, socket);
		s->susp = scpp_eval_susp_create(SCPPD_PARK_SUSP_BYTES, socket, true);
		if (s->msg == NULL || s->susp == NULL)
			goto fail;
	}
	p->free_head = cap > 0 ? 0 : NONE;
	return;
fail:
	rte_exit(EXIT_FAILURE, "worker %u: no memory for %u parked evaluations (%u bytes each)\n",
		 w->idx, cap, SCPPD_PARK_MSG_MAX + SCPPD_PARK_SUSP_BYTES);
}

void
scppd_park_free(struct scppd_worker *w)
{
	struct scppd_park *p = w->park;

	if (p == NULL)
		return;
	for (uint32_t i = 0; p->slot != NULL && i < p->cap; i++) {
		struct park_slot *s = &p->slot[i];

		if (s->state != SLOT_FREE) {
			tell_dead(w, i, SCPPD_PARK_END_STOPPED);
			SCPPD_LOG(DEBUG, "worker %u: parked block in slot %u %s", w->idx, i,
				  end_name[SCPPD_PARK_END_STOPPED]);
		}
		rte_free(s->msg);
		scpp_eval_susp_free(s->susp);
	}
	rte_free(p->slot);
	rte_free(p->blk);
	rte_free(p);
	w->park = NULL;
	w->park_busy = 0;
}

void
scppd_park_stats_read(const struct scppd_worker *w, struct scppd_park_stats *out)
{
	const struct scppd_park_stats *st = &w->park->st;

	out->parks = scpp_counter_read(&st->parks);
	out->resumes = scpp_counter_read(&st->resumes);
	out->expired = scpp_counter_read(&st->expired);
	out->session_gone = scpp_counter_read(&st->session_gone);
	out->failed = scpp_counter_read(&st->failed);
	out->aborted = scpp_counter_read(&st->aborted);
	out->refused_full = scpp_counter_read(&st->refused_full);
	out->refused_big = scpp_counter_read(&st->refused_big);
	out->stale = scpp_counter_read(&st->stale);
	for (unsigned int r = 0; r < SCPPD_PARK_REASONS; r++)
		out->by_reason[r] = scpp_counter_read(&st->by_reason[r]);
	out->parked = __atomic_load_n(&st->parked, __ATOMIC_RELAXED);
}

static const char *const reason_key[SCPPD_PARK_REASONS] = {
	[SCPPD_PARK_SCHEMA] = "parks_schema",
	[SCPPD_PARK_COPY] = "parks_copy",
	[SCPPD_PARK_CONT] = "parks_continuation",
};

static int
cmd_park(const char *cmd __rte_unused, const char *params __rte_unused, struct rte_tel_data *d)
{
	char key[32];

	rte_tel_data_start_dict(d);
	for (unsigned int i = 0; i < scppd_g.nb_workers; i++) {
		struct rte_tel_data *s = rte_tel_data_alloc();
		struct scppd_park_stats st;

		if (s == NULL)
			return -ENOMEM;
		scppd_park_stats_read(scppd_g.workers[i], &st);
		rte_tel_data_start_dict(s);
		rte_tel_data_add_dict_u64(s, "shard", scppd_g.workers[i]->shard);
		rte_tel_data_add_dict_u64(s, "capacity", scppd_g.workers[i]->park->cap);
		rte_tel_data_add_dict_u64(s, "parked", st.parked);
		rte_tel_data_add_dict_u64(s, "parks", st.parks);
		rte_tel_data_add_dict_u64(s, "resumes", st.resumes);
		rte_tel_data_add_dict_u64(s, "expired", st.expired);
		rte_tel_data_add_dict_u64(s, "session_gone", st.session_gone);
		rte_tel_data_add_dict_u64(s, "failed", st.failed);
		rte_tel_data_add_dict_u64(s, "aborted", st.aborted);
		rte_tel_data_add_dict_u64(s, "refused_full", st.refused_full);
		rte_tel_data_add_dict_u64(s, "refused_big", st.refused_big);
		rte_tel_data_add_dict_u64(s, "stale_events", st.stale);
		for (unsigned int r = 0; r < SCPPD_PARK_REASONS; r++)
			rte_tel_data_add_dict_u64(s, reason_key[r], st.by_reason[r]);
		snprintf(key, sizeof(key), "worker%u", i);
		rte_tel_data_add_dict_container(d, key, s, 0);
	}
	return 0;
}

int
scppd_park_telemetry_init(void)
{
	return rte_telemetry_register_cmd("/scpp/park", cmd_park,
					  "Parked evaluations per worker: parked now, parks, "
					  "resumes, expired, refused (full, too big), by reason. "
					  "No parameters.");
}
