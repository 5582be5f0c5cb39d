/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The destination's side of a remote copy, parked (docs/COPY.md "Remote
 * copies", "The destination's park"): a CONT with COPY_SOURCE extensions
 * is not run at once. Its sources are checked (the receiver rules of
 * PROTOCOL.md §19.1, but the row's length, which only the copy knows, and
 * first the window's kind against the command's source address) and
 * one READ per accepted source is posted from the peer's window into this
 * worker's read pool (registered with the remote engine at start); the
 * CONT's bytes are kept, its record in the dedup table stays RUNNING (a
 * retransmission is ignored), and the worker goes on serving other
 * blocks. When every READ has completed (the remote instance's
 * completions, polled by the worker's copy tick, in submission order) the
 * CONT runs as it would have (scppd_cont_exec()), its copies taking their
 * bytes from the pool (scppd_cont_read_take()): a refused source or a
 * failed READ is that row's status as before, a READ that completed after
 * the CONT's deadline is ETIMEDOUT. Then it is answered and recorded.
 *
 * Bounds. SCPPD_CONT_READ_MAX CONTs parked per worker, in a FIFO (they
 * complete in the order their READs were posted, so the oldest is always
 * the first ready), their READs' bytes in the pool, a ring taken and given
 * back in the same order. A CONT that finds no record, no room in the
 * pool, a sealed CONT (its carried authority and reply key are not kept),
 * or copy.timeout_ms 0 (a READ would have no bound) is read the old way,
 * synchronously at its copy (cont_read_sync). Each READ is bounded by the
 * engine's copy.timeout_ms, so a parked CONT always ends.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_malloc.h>

#include "scpp_status.h"
#include "cont_priv.h"

/* Parked CONTs per worker (a power of two). */
#define RD_MAX 16u

enum { RD_FREE = 0, RD_WAIT, RD_READY };

struct cont_rd_src {
	int status;                        /* 0: its bytes at pool + off */
	int kind;                          /* != 0: the wrong window kind (status too) */
	uint32_t node;                     /* the window's */
	uint64_t off;
	uint64_t len;
	struct scpp_oid window;
	char msg[SCPP_STATUS_MSG_MAX];     /* status != 0 */
};

struct cont_rd {
	uint8_t state;
	uint8_t n;                         /* sources (the CONT's COPY_SOURCEs) */
	uint8_t pending;                   /* READs not completed */
	uint8_t self;                      /* sent through the hand-off ring */
	uint32_t slot;                     /* its dedup record */
	uint32_t cap;                      /* its answer's room */
	uint32_t sender_ip;
	uint32_t gen;                      /* in its READs' user values */
	uint64_t deadline_tsc;             /* the CONT's timeout_ms from arrival */
	uint64_t pool_at, pool_len;        /* its bytes in the read pool */
	uint64_t hdr_client, hdr_block;
	struct scpp_net_peer peer;
	struct cont_rd_src src[SCPPD_COPY_SRC_MAX];
	uint32_t msg_len;
	uint8_t msg[SCPPD_CONT_ANSWER_MAX]; /* the CONT */
};

struct cont_rds {
	uint32_t head, n;                  /* the FIFO */
	uint32_t gen;
	uint64_t pool_head, pool_tail, pool_used; /* the pool's ring */
	struct cont_rd rd[RD_MAX];
};

int
scppd_cont_read_init(struct scppd_worker *w)
{
	w->cont->rds = rte_zmalloc_socket("scppd_cont_rds", sizeof(struct cont_rds), 64,
					  (int)rte_lcore_to_socket_id(w->lcore));
	return w->cont->rds != NULL ? 0 : -ENOMEM;
}

void
scppd_cont_read_free(struct scppd_worker *w)
{
	rte_free(w->cont->rds);
	w->cont->rds = NULL;
}

/* @p len bytes of the pool's ring; UINT64_MAX: no room. */
static uint64_t
pool_take(struct cont_rds *q, uint64_t size, uint64_t len)
{
	uint64_t at;

	if (q->pool_used == 0)
		q->pool_head = q->pool_tail = 0;
	if (q->pool_tail >= q->pool_head) {
		if (size - q->pool_tail >= len)
			at = q->pool_tail;
		else if (q->pool_head >= len)
			at = 0; /* wrap: the end's bytes go unused until head passes */
		else
			return UINT64_MAX;
	} else if (q->pool_head - q->pool_tail >= len) {
		at = q->pool_tail;
	} else {
		return UINT64_MAX;
	}
	q->pool_tail = at + len;
	q->pool_used += len;
	return at;
}

bool
scppd_cont_read_park(struct scppd_worker *w, const struct scpp_net_meta *nm,
		     const struct scpp_wire_hdr *h, const struct scpp_wire_cont *c, uint32_t slot,
		     uint32_t cap)
{
	struct scppd_cont *ct = w->cont;
	struct scppd_copy *cp = w->copy;
	struct cont_rds *q = ct->rds;
	struct scppd_cont_copy_rx *rx = &ct->copy_rx;
	struct scpp_copy_op op[SCPPD_COPY_SRC_MAX];
	const struct scppd_copy_peer *p[SCPPD_COPY_SRC_MAX];
	struct cont_rd *r;
	uint64_t need = 0, at;
	uint32_t off = 0;
	uint16_t nop = 0;
	int n;

	if (c->ext_len == 0 || cp->remote == NULL || cp->rd_pool == NULL)
		return false;
	n = scppd_cont_copy_rx(w, c, rx);
	if (n <= 0)
		return false;
	/* Which kind of window the copy's source may come from is the
	 * command's (a map entry: only a peer's memory window); the block is
	 * decoded again when the CONT runs (scppd_cont_exec()). A block that
	 * does not decode is refused there, read the old way. */
	if (scpp_wire_block_decode(c->block, c->block_len, ct->blk, &off) != 0)
		return false;
	rx->rewritten = scpp_eval_cmd_copy_keyed(ct->blk, c->start, 1) == 1;
	if (scppd_g.cfg.copy.timeout_ms == 0 || q->n == RD_MAX ||
	    h->payload_len > sizeof(q->rd[0].msg)) {
		scpp_counter_add(&cp->st.cont_read_sync, 1);
		return false;
	}
	r = &q->rd[(q->head + q->n) & (RD_MAX - 1)];
	memset(r, 0, offsetof(struct cont_rd, msg));
	r->n = (uint8_t)n;
	for (int i = 0; i < n; i++) {
		p[i] = NULL;
		/* A window of the wrong kind for the source is never read: the
		 * copy refuses it with the same words and counts it
		 * (remote_read(), remote_read_window()). */
		r->src[i].kind = scppd_cont_copy_src_kind(rx, &rx->src[i], rx->rewritten,
							  r->src[i].msg, sizeof(r->src[i].msg));
		r->src[i].status = r->src[i].kind != 0 ? r->src[i].kind :
				   scppd_cont_copy_src_check(rx, &rx->src[i], &p[i], r->src[i].msg,
							     sizeof(r->src[i].msg));
		if (r->src[i].status == 0)
			need += rx->src[i].length;
	}
	at = need != 0 ? pool_take(q, cp->rd_pool_len, need) : 0;
	if (need == 0 || at == UINT64_MAX) {
		/* Nothing to read ahead (all refused: the copy says so), or
		 * no room: the old way. */
		if (need != 0)
			scpp_counter_add(&cp->st.cont_read_sync, 1);
		return false;
	}
	r->pool_at = at;
	r->pool_len = need;
	if (++q->gen == 0)
		q->gen = 1;
	r->gen = q->gen;
	for (int i = 0; i < n; i++) {
		if (r->src[i].status != 0) {
			if (r->src[i].kind == 0)
				scpp_counter_add(&cp->st.cont_src_refused, 1);
			continue;
		}
		r->src[i].off = at;
		r->src[i].len = rx->src[i].length;
		r->src[i].window = rx->src[i].window;
		r->src[i].node = p[i]->node;
		op[nop++] = (struct scpp_copy_op){
			.user = SCPPD_CONT_READ_TAG | (uint64_t)r->gen << 16 |
				(uint64_t)((q->head + q->n) & (RD_MAX - 1)) << 4 | (uint64_t)i,
			.dst = cp->rd_pool + at, .remote = p[i]->rw, .remote_off = rx->src[i].offset,
			.len = rx->src[i].length, .kind = SCPP_COPY_READ,
		};
		at += rx->src[i].length;
	}
	/* Every copy is taken but when the ring is full; the ones it did not
	 * take fail their rows (as a synchronous READ the ring refused). */
	uint16_t took = scpp_copy_submit_burst(cp->remote, op, nop);

	for (uint16_t k = took; k < nop; k++) {
		struct cont_rd_src *s = &r->src[op[k].user & 0xf];

		s->status = -EBUSY;
		snprintf(s->msg, sizeof(s->msg), "copy: the %s engine took no READ (ring full); "
			 "nothing was read", cp->remote_caps.engine);
		scpp_counter_add(&cp->st.cont_read_failed, 1);
	}
	r->pending = (uint8_t)took;
	r->state = took != 0 ? RD_WAIT : RD_READY;
	r->slot = slot;
	r->cap = cap;
	r->sender_ip = rx->sender_ip;
	r->self = rx->from_self;
	r->deadline_tsc = rx->deadline_tsc;
	r->hdr_client = h->client_id;
	r->hdr_block = h->block_id;
	r->peer = nm->peer;
	r->msg_len = h->payload_len;
	memcpy(r->msg, h->payload, h->payload_len);
	q->n++;
	ct->rd_parked++;
	w->cont_out++; /* the loop's cont tick runs it when ready */
	scpp_counter_add(&cp->st.cont_read_parks, 1);
	return true;
}

void
scppd_cont_read_cpl(struct scppd_worker *w, const struct scpp_copy_cpl *cpl)
{
	struct scppd_copy *cp = w->copy;
	struct cont_rds *q = w->cont->rds;
	struct cont_rd *r = &q->rd[(cpl->user >> 4) & (RD_MAX - 1)];
	struct cont_rd_src *s;
	unsigned int i = cpl->user & 0xf;
	char oid[SCPP_OID_STR_MAX];

	if (r->state != RD_WAIT || r->gen != (uint32_t)(cpl->user >> 16) || i >= r->n)
		return; /* not ours any more: cannot happen (READs end before their CONT) */
	s = &r->src[i];
	s->status = cpl->status;
	/* Past the sender's deadline its pin may be gone and the bytes no
	 * longer the source's: never a copy done after it. */
	if (s->status == 0 && rte_get_tsc_cycles() > r->deadline_tsc)
		s->status = -ETIMEDOUT;
	if (s->status != 0) {
		scpp_counter_add(&cp->st.cont_read_failed, 1);
		scpp_oid_format(oid, sizeof(oid), s->window);
		snprintf(s->msg, sizeof(s->msg), "copy: READ of %" PRIu64 " bytes from window %s of "
			 "node %" PRIu32 " by the %s engine failed: %s", s->len, oid, s->node,
			 cp->remote_caps.engine, strerror(-s->status));
	} else {
		scpp_counter_add(&cp->st.cont_reads, 1);
		scpp_counter_add(&cp->st.cont_read_bytes, s->len);
	}
	if (--r->pending == 0)
		r->state = RD_READY;
}

int
scppd_cont_read_take(const struct scppd_cont_copy_rx *rx, unsigned int i, void *dst, uint64_t len,
		     char *msg, size_t size)
{
	const struct cont_rd *r = rx->pre;
	const struct cont_rd_src *s = &r->src[i];

	if (s->status != 0) {
		snprintf(msg, size, "%s", s->msg);
		return s->status;
	}
	memcpy(dst, rx->w->copy->rd_pool + s->off, len); /* len: the source's (checked) */
	return 0;
}

/* Run parked CONT @p r, whose READs have all completed, and answer it. */
static void
rd_run(struct scppd_worker *w, struct cont_rd *r)
{
	struct scppd_cont *ct = w->cont;
	uint8_t *ans = ct->held + (size_t)r->slot * SCPPD_CONT_ANSWER_MAX;
	struct cont_to to = {.peer = r->peer, .self = r->self, .client_id = r->hdr_client,
			     .block_id = r->hdr_block};
	struct scpp_wire_cont c;
	char why[SCPP_STATUS_MSG_MAX];
	int rc;

	if (scpp_wire_cont_decode(r->msg, r->msg_len, &c) != 0) {
		scpp_cont_dedup_drop(ct->dedup, r->slot); /* it decoded before: cannot happen */
		return;
	}
	ct->copy_rx.sender_ip = r->sender_ip;
	ct->copy_rx.from_self = r->self;
	ct->rd_cur = r;
	ct->rk_on = false;
	ct->nin = (struct cont_nest_in){.c = NULL, .set = CONT_NONE};
	rc = scppd_cont_exec(w, &c, NULL, ans, r->cap, &ct->held_len[r->slot], why, sizeof(why));
	ct->rd_cur = NULL;
	if (rc != 0) {
		scpp_cont_dedup_drop(ct->dedup, r->slot);
		scppd_cont_refuse_to(w, &to, &c, rc, "%s", why);
		return;
	}
	scppd_cont_answered(w, &to, r->slot);
}

void
scppd_cont_read_tick(struct scppd_worker *w)
{
	struct scppd_cont *ct = w->cont;
	struct cont_rds *q = ct->rds;

	while (q->n != 0 && q->rd[q->head].state == RD_READY) {
		struct cont_rd *r = &q->rd[q->head];

		rd_run(w, r);
		r->state = RD_FREE;
		q->pool_head = r->pool_at + r->pool_len;
		q->pool_used -= r->pool_len;
		q->head = (q->head + 1) & (RD_MAX - 1);
		q->n--;
		ct->rd_parked--;
		w->cont_out--;
	}
}

void
scppd_cont_read_resume(struct scppd_worker *w, struct scppd_cont_copy_rx *rx)
{
	const struct cont_rd *r = w->cont->rd_cur;

	rx->pre = r;
	if (r != NULL)
		rx->deadline_tsc = r->deadline_tsc;
}
