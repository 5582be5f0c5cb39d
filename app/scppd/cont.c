/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Continuations, the owner's side (docs/PROTOCOL.md §19, docs/CLUSTER.md
 * §8): a CONT from a peer of the map is run once on this worker's shard
 * and answered with a CONT_REPLY; a retransmission is answered from the
 * record (lib/cont's dedup table) and never run again.
 *
 * The part runs synchronously, from its start command to the end of the
 * block, without splitting again (this node does not ship continuations
 * yet): rows whose entity another shard owns meet E_NOT_HERE, as in any
 * block. Its reply records are written straight into the record's slot,
 * behind the CONT_REPLY header, with the writer bounded to one datagram:
 * a part whose answer would not fit is aborted and undone by the
 * evaluator (E_LIMIT_RESULT), so every answer is one datagram and the
 * held answers need no allocation (SCPPD_CONT_ENTRIES slots of
 * SCPPD_CONT_ANSWER_MAX bytes per worker, at start).
 *
 * A CONT is run by the worker that receives it, for its own shard, and
 * only if it was sent to that shard's port (others are refused with
 * E_NOT_HERE: multi-worker nodes do not steer CONTs between workers yet).
 *
 * Not taken in this version (counted in cont_not_taken, dropped): CONTs of
 * more than one datagram, CONTs on a node in auth.mode required (no
 * principal extension yet, docs/SECURITY.md §12), and CONT_REPLYs (no
 * origin side yet).
 */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <rte_malloc.h>

#include "scpp_cont.h"
#include "scpp_status.h"
#include "scppd.h"

/* Continuations recorded per worker (running or answered). */
#define SCPPD_CONT_ENTRIES 1024u
/* How long an answer is kept for retransmissions (PROTOCOL.md §19.4). */
#define SCPPD_CONT_RETENTION_MS 2000u
/* One answer: a CONT_REPLY of one datagram. */
#define SCPPD_CONT_ANSWER_MAX SCPP_WIRE_DGRAM_DEFAULT
/* A continuation's rows and their values (E_LIMIT_PENDING beyond). */
#define SCPPD_CONT_SUSP_BYTES (256u << 10)
/* Answers forgotten per loop turn, at most. */
#define SCPPD_CONT_EXPIRE_BURST 64u

struct scppd_cont {
	struct scpp_cont_dedup *dedup;
	uint8_t *held;                 /* SCPPD_CONT_ENTRIES x SCPPD_CONT_ANSWER_MAX */
	uint32_t *held_len;            /* per entry */
	uint8_t scratch[SCPPD_CONT_ANSWER_MAX]; /* refusals, which are not recorded */
	struct scpp_eval_susp *susp;
	struct scpp_wire_block *blk;
	uint64_t ms_div;               /* TSC ticks per ms */
};

void
scppd_cont_init(struct scppd *d, struct scppd_worker *w)
{
	int socket = (int)rte_lcore_to_socket_id(w->lcore);
	struct scppd_cont *c = rte_zmalloc_socket("scppd_cont", sizeof(*c), 64, socket);

	if (c == NULL)
		goto nomem;
	w->cont = c;
	c->ms_div = d->tsc_hz / 1000 != 0 ? d->tsc_hz / 1000 : 1;
	c->dedup = scpp_cont_dedup_create(SCPPD_CONT_ENTRIES, SCPPD_CONT_RETENTION_MS, socket,
					  true);
	c->held = rte_malloc_socket("scppd_cont_held",
				    (size_t)SCPPD_CONT_ENTRIES * SCPPD_CONT_ANSWER_MAX, 64, socket);
	c->held_len = rte_zmalloc_socket("scppd_cont_len", SCPPD_CONT_ENTRIES * sizeof(uint32_t),
					 64, socket);
	c->susp = scpp_eval_susp_create(SCPPD_CONT_SUSP_BYTES, socket, true);
	c->blk = rte_malloc_socket("scppd_cont_blk", sizeof(*c->blk), 64, socket);
	if (c->dedup != NULL && c->held != NULL && c->held_len != NULL && c->susp != NULL &&
	    c->blk != NULL)
		return;
nomem:
	rte_exit(EXIT_FAILURE, "scppd: worker %u: continuation state (%u answers of %u bytes): "
		 "out of memory\n", w->idx, SCPPD_CONT_ENTRIES, SCPPD_CONT_ANSWER_MAX);
}

void
scppd_cont_free(struct scppd_worker *w)
{
	struct scppd_cont *c = w->cont;

	if (c == NULL)
		return;
	scpp_cont_dedup_free(c->dedup);
	rte_free(c->held);
	rte_free(c->held_len);
	scpp_eval_susp_free(c->susp);
	rte_free(c->blk);
	rte_free(c);
	w->cont = NULL;
}

void
scppd_cont_tick_slow(struct scppd_worker *w)
{
	void *freed[SCPPD_CONT_EXPIRE_BURST];
	unsigned int n;

	n = scpp_cont_dedup_expire(w->cont->dedup, w->now / w->cont->ms_div, freed,
				   SCPPD_CONT_EXPIRE_BURST);
	w->cont_held -= n; /* the held answers are slots: nothing to free */
}

static void
answer(struct scppd_worker *w, const struct scpp_net_meta *nm, const struct scpp_wire_hdr *h,
       const uint8_t *msg, uint32_t len)
{
	int rc = scppd_peer_send(w, &nm->peer, SCPP_WIRE_CONT_REPLY, h->client_id, h->block_id,
				 NULL, 0, msg, len);

	if (rc > 0)
		scpp_counter_add(&w->stats.cont_tx_full, (uint64_t)rc);
}

/* A part refused before it ran: COLUMNS with no column, the reason, END
 * (aborted). Not recorded: a retransmission may be taken later. */
static SCPP_COLD __attribute__((format(printf, 6, 7))) void
refuse(struct scppd_worker *w, const struct scpp_net_meta *nm, const struct scpp_wire_hdr *h,
       const struct scpp_wire_cont *c, int code, const char *fmt, ...)
{
	struct scppd_cont *ct = w->cont;
	struct scpp_wire_cont_reply r = {.owner = scppd_g.cfg.node.id, .cont_id = c->cont_id};
	struct scpp_wire_reply_writer wr;
	struct scpp_status st;
	struct scpp_oid soid = w->env.node;
	va_list ap;

	scpp_counter_add(&w->stats.cont_refused, 1);
	memset(&st, 0, sizeof(st));
	va_start(ap, fmt);
	scpp_status_setv(&st, code, "cluster", fmt, ap);
	va_end(ap);
	st.node = w->env.node;
	st.core = w->shard;
	st.block_id = c->block_id;
	st.client = c->client_id;
	st.command = c->start;
	st.row = SCPP_STATUS_NO_ROW;
	st.offset = -1;
	soid.lo = SCPPD_STATUS_SEQ_BIT | (++w->status_seq & (SCPPD_STATUS_SEQ_BIT - 1));
	(void)scpp_wire_cont_reply_encode(ct->scratch, sizeof(ct->scratch), &r);
	scpp_wire_reply_writer_init(&wr, ct->scratch + SCPP_WIRE_CONT_REPLY_HDR_LEN,
				    sizeof(ct->scratch) - SCPP_WIRE_CONT_REPLY_HDR_LEN);
	if (scpp_wire_reply_columns(&wr, NULL, 0) != 0 || scpp_status_encode(&wr, soid, &st) != 0 ||
	    scpp_wire_reply_end(&wr, st.err, SCPP_OUTCOME_ABORTED, 0, 0, 0) != 0)
		return; /* a status always fits one datagram; nothing sent if not */
	answer(w, nm, h, ct->scratch, (uint32_t)(SCPP_WIRE_CONT_REPLY_HDR_LEN + wr.len));
}

/* Run the new continuation @p c recorded in @p slot, and answer it. */
static void
run(struct scppd_worker *w, const struct scpp_net_meta *nm, const struct scpp_wire_hdr *h,
    const struct scpp_wire_cont *c, uint32_t slot, uint64_t now_ms)
{
	struct scppd_cont *ct = w->cont;
	struct scpp_wire_cont_reply r = {.owner = scppd_g.cfg.node.id, .cont_id = c->cont_id};
	uint8_t *ans = ct->held + (size_t)slot * SCPPD_CONT_ANSWER_MAX;
	uint32_t cap = RTE_MIN(SCPPD_CONT_ANSWER_MAX, scppd_peer_chunk(nm->peer.port));
	struct scpp_wire_reply_writer wr;
	struct scpp_eval_result res;
	struct scpp_eval_env env;
	uint32_t off = 0;
	int rc;

	if (c->timeout_ms > SCPPD_CONT_RETENTION_MS) {
		scpp_cont_dedup_drop(ct->dedup, slot);
		refuse(w, nm, h, c, -SCPP_E_LIMIT_PENDING, "continuation %" PRIu64 ": timeout_ms "
		       "%u is over this node's retention of answers (%u ms); nothing was run",
		       c->cont_id, c->timeout_ms, SCPPD_CONT_RETENTION_MS);
		return;
	}
	rc = scpp_wire_block_decode(c->block, c->block_len, ct->blk, &off);
	if (rc == 0)
		rc = scpp_eval_susp_load(ct->susp, ct->blk, c);
	if (rc != 0) {
		scpp_cont_dedup_drop(ct->dedup, slot);
		refuse(w, nm, h, c, rc == -EINVAL ? -SCPP_E_BAD_LENGTH : rc,
		       "continuation %" PRIu64 " not run: %s (%s)%s", c->cont_id,
		       scpp_error_name(rc) != NULL ? scpp_error_name(rc) : "error", scpp_strerror(rc),
		       rc == -EINVAL ? ": start or nvars do not match the block" : "");
		return;
	}
	/* Run as an unauthenticated block of the client (docs/SECURITY.md
	 * §12: continuations of session blocks are never shipped). */
	env = w->env;
	env.client_id = c->client_id;
	env.auth = NULL;
	scpp_wire_reply_writer_init(&wr, ans + SCPP_WIRE_CONT_REPLY_HDR_LEN,
				    cap - SCPP_WIRE_CONT_REPLY_HDR_LEN);
	rc = scpp_eval_resume(w->ectx, &env, ct->blk, c->block_id, &wr, &res, NULL, ct->susp,
			      c->start);
	if (rc != 0) {
		/* -ENOSPC: no room for COLUMNS and END, which a datagram has. */
		scpp_cont_dedup_drop(ct->dedup, slot);
		refuse(w, nm, h, c, rc, "continuation %" PRIu64 " not run: %s", c->cont_id,
		       scpp_strerror(rc));
		return;
	}
	scpp_counter_add(&w->stats.cont_run, 1);
	if (unlikely(res.new_schema != NULL)) {
		/* As exec.c: the part changed the schema on this shard; the
		 * publisher has it, this worker switches to it. */
		w->env.schema = res.new_schema;
		scpp_counter_add(&w->stats.schema_changes, 1);
	}
	(void)scpp_wire_cont_reply_encode(ans, SCPP_WIRE_CONT_REPLY_HDR_LEN, &r);
	ct->held_len[slot] = (uint32_t)(SCPP_WIRE_CONT_REPLY_HDR_LEN + wr.len);
	(void)scpp_cont_dedup_done(ct->dedup, slot, ans, ct->held_len[slot], now_ms);
	w->cont_held++;
	answer(w, nm, h, ans, ct->held_len[slot]);
}

void
scppd_cont_rx(struct scppd_worker *w, const struct scpp_net_meta *nm, const uint8_t *dgram)
{
	struct scppd_cont *ct = w->cont;
	struct scpp_wire_hdr h;
	struct scpp_wire_cont c;
	struct scpp_cont_key k;
	uint32_t slot, held_len = 0;
	uint64_t now_ms;
	void *held = NULL;

	scpp_counter_add(&w->stats.cont_dgrams, 1);
	if (scpp_wire_hdr_decode(dgram, nm->l4_len, &h) != 0) {
		scpp_counter_add(&w->stats.cont_bad, 1);
		return;
	}
	if (!scppd_forward_from_peer(w, nm->peer.ip, &nm->peer.mac))
		return; /* counted: forward_not_peer */
	if (h.kind != SCPP_WIRE_CONT || h.frag_count != 1 ||
	    scppd_g.cfg.auth.mode == SCPP_CONFIG_AUTH_REQUIRED) {
		scpp_counter_add(&w->stats.cont_not_taken, 1);
		return;
	}
	if (scpp_wire_cont_decode(h.payload, h.payload_len, &c) != 0 || c.cont_id != h.block_id ||
	    h.client_id == 0 || h.client_id > UINT32_MAX) {
		scpp_counter_add(&w->stats.cont_bad, 1);
		return;
	}
	/* The part runs on this worker's shard: it must be the one whose port
	 * the sender addressed (the shard that owns the rows' entities). */
	if (rte_be_to_cpu_16(nm->peer.local_udp_port) != scppd_g.base_port + 1 + w->shard) {
		refuse(w, nm, &h, &c, -SCPP_E_NOT_HERE, "continuation %" PRIu64 " sent to port %u "
		       "reached the worker of shard %u (port %u); nothing was run", c.cont_id,
		       rte_be_to_cpu_16(nm->peer.local_udp_port), w->shard,
		       scppd_g.base_port + 1 + w->shard);
		return;
	}
	k.sender_ip = nm->peer.ip;
	k.sender_node = (uint32_t)h.client_id;
	k.cont_id = c.cont_id;
	now_ms = w->now / ct->ms_div;
	switch (scpp_cont_dedup_admit(ct->dedup, &k, now_ms, &slot, &held, &held_len)) {
	case SCPP_CONT_NEW:
		run(w, nm, &h, &c, slot, now_ms);
		return;
	case SCPP_CONT_DONE:
		scpp_counter_add(&w->stats.cont_dup_done, 1);
		answer(w, nm, &h, held, held_len);
		return;
	case SCPP_CONT_RUNNING:
		scpp_counter_add(&w->stats.cont_dup_running, 1);
		return;
	case SCPP_CONT_FULL:
		refuse(w, nm, &h, &c, -SCPP_E_LIMIT_PENDING, "continuation %" PRIu64 " not run: "
		       "this worker holds %u continuations already; retry", c.cont_id,
		       SCPPD_CONT_ENTRIES);
		return;
	}
}
