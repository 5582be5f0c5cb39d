/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * One block (or FETCH) on the worker that owns it: lib/delivery decides
 * whether it runs (a retransmission is answered from the held reply, never
 * run again), lib/wire finishes decoding it, lib/eval runs it and writes
 * the reply straight into lib/delivery's reply buffer, and lib/delivery
 * keeps and sends the reply.
 *
 * Status replies the daemon writes itself (a block that does not decode,
 * E_NOT_HERE) are for bad or misdirected input, so a sender chooses their
 * rate: each is built only after lib/delivery's per-source token bucket
 * allows it, so snprintf and the encoder run at most at the configured
 * rate (delivery.error_rate_*), and the reply still obeys the
 * amplification limit.
 */

#include <stdarg.h>
#include <stdio.h>

#include <rte_ip.h>

#include "scpp_status.h"
#include "scppd.h"

struct scpp_oid
scppd_status_oid(struct scppd_worker *w)
{
	struct scpp_oid soid = w->env.node;

	soid.lo = SCPPD_STATUS_SEQ_BIT | (++w->status_seq & (SCPPD_STATUS_SEQ_BIT - 1));
	return soid;
}

int
scppd_status_reply_encode(struct scppd_worker *w, struct scpp_status *st, uint8_t *buf,
			  uint32_t cap)
{
	struct scpp_wire_reply_writer wr;

	st->node = w->env.node;
	st->core = w->shard;
	scpp_wire_reply_writer_init(&wr, buf, cap);
	if (scpp_wire_reply_columns(&wr, NULL, 0) != 0 ||
	    scpp_status_encode(&wr, scppd_status_oid(w), st) != 0 ||
	    scpp_wire_reply_end(&wr, st->err, SCPP_OUTCOME_ABORTED, 0, 0, 0) != 0)
		return -ENOSPC;
	return (int)wr.len;
}

/* A reply made of one status, to @p req.
 * @offset: a decode error's byte offset (a status field), or -1.
 * @owner: E_NOT_HERE's owning shard (a status field), or nil. */
static SCPP_COLD __attribute__((format(printf, 8, 0))) void
status_replyv(struct scppd_worker *w, const struct scpp_delivery_req *req, bool commit,
	      int64_t offset, struct scpp_oid owner, int code, const char *component,
	      const char *fmt, va_list ap)
{
	struct scpp_status st;
	uint32_t cap;
	uint8_t *buf;
	int len;

	memset(&st, 0, sizeof(st));
	scpp_status_setv(&st, code, component, fmt, ap);
	st.block_id = req->block_id;
	st.client = req->client_id;
	st.offset = offset;
	st.owner = owner;
	buf = scpp_delivery_reply_buf(w->dlv, &cap, w->now);
	len = scppd_status_reply_encode(w, &st, buf, cap);
	if (len < 0)
		len = 0; /* a status always fits the reply buffer (its cap >= one datagram) */
	if (commit)
		scpp_delivery_reply_commit(w->dlv, req, (uint32_t)len, w->now);
	else
		scpp_delivery_reply_status(w->dlv, req, (uint32_t)len, w->now);
}

static SCPP_COLD __attribute__((format(printf, 5, 6))) void
status_reply(struct scppd_worker *w, const struct scpp_delivery_req *req, int code,
	     const char *component, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	status_replyv(w, req, false, -1, SCPP_OID_NIL, code, component, fmt, ap);
	va_end(ap);
}

static SCPP_COLD __attribute__((format(printf, 6, 7))) void
status_reply_at(struct scppd_worker *w, const struct scpp_delivery_req *req, int64_t offset,
		int code, const char *component, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	status_replyv(w, req, false, offset, SCPP_OID_NIL, code, component, fmt, ap);
	va_end(ap);
}

static SCPP_COLD __attribute__((format(printf, 4, 5))) void
status_reply_not_here(struct scppd_worker *w, const struct scpp_delivery_req *req,
		      struct scpp_oid owner, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	status_replyv(w, req, false, -1, owner, -SCPP_E_NOT_HERE, "route", fmt, ap);
	va_end(ap);
}

void
scppd_status_commit(struct scppd_worker *w, const struct scpp_delivery_req *req, int code,
		    const char *component, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	status_replyv(w, req, true, -1, SCPP_OID_NIL, code, component, fmt, ap);
	va_end(ap);
}

void
scppd_reject(struct scppd_worker *w, const struct scpp_delivery_req *req, int rc,
	     uint32_t err_off, uint32_t msg_len)
{
	const char *name;

	scpp_counter_add(&w->stats.rejected_total, 1);
	scpp_counter_add(&w->stats.rejected[scppd_reject_slot(rc)], 1);
	if (!scpp_delivery_error_allowed(w->dlv, req->peer.ip, w->now))
		return;
	name = scpp_error_name(rc);
	status_reply_at(w, req, err_off, rc, "wire", "block rejected: %s (%s) at byte offset %u of %u",
			name != NULL ? name : "error", scpp_strerror(rc), err_off, msg_len);
}

void
scppd_hops_exceeded(struct scppd_worker *w, const struct scpp_delivery_req *req,
		    unsigned int hops, uint32_t node)
{
	if (!scpp_delivery_error_allowed(w->dlv, req->peer.ip, w->now))
		return;
	status_reply(w, req, -SCPP_E_LIMIT_HOPS, "route",
		     "not forwarded to node %u: the block was forwarded %u times already, "
		     "cluster.forward.max_hops is %u; nothing was run", node, hops,
		     scppd_g.cfg.cluster.forward.max_hops);
}

void
scppd_forward_too_big(struct scppd_worker *w, const struct scpp_delivery_req *req, uint32_t len,
		      uint32_t max, uint32_t node)
{
	if (!scpp_delivery_error_allowed(w->dlv, req->peer.ip, w->now))
		return;
	status_reply(w, req, -SCPP_E_LIMIT_BYTES, "route",
		     "not forwarded to node %u: a block of %u bytes does not fit a FORWARD "
		     "message (at most %u); send it to node %u itself", node, len, max, node);
}

void
scppd_not_here(struct scppd_worker *w, const struct scpp_delivery_req *req, struct scpp_oid oid,
	       const struct scpp_route_result *res)
{
	char o[SCPP_OID_STR_MAX], msg[SCPP_STATUS_MSG_MAX];
	struct scpp_oid owner;

	scpp_counter_add(&w->stats.not_here, 1);
	scppd_cluster_not_here_count(w, res);
	if (!scpp_delivery_error_allowed(w->dlv, req->peer.ip, w->now))
		return;
	scpp_oid_format(o, sizeof(o), oid);
	/* The owner's name, address and base port from the cluster map, and
	 * its shard's /64 in the status's owner field. */
	owner = scppd_cluster_not_here_msg(o, res, msg, sizeof(msg));
	status_reply_not_here(w, req, owner, "%s", msg);
}

/*
 * The authorisation seam (docs/SECURITY.md §12): which authority a block
 * runs with, decided before admission so that a refused block leaves no
 * trace in the client windows or the reply cache. A session block runs
 * with its session's compiled authority (looked up in this worker's own
 * table: a block handed over after verification finds it here too); an
 * unauthenticated one runs unchecked in auth.mode optional (and off), and
 * is refused in required with EACCES, rate-limited like other error replies.
 */
bool
scppd_auth_block(struct scppd_worker *w, const struct scpp_delivery_req *req,
		 const struct scpp_auth_authority **a)
{
	*a = NULL;
	if (w->auth == NULL)
		return true;
	if (unlikely(req->session & SCPP_DELIVERY_CARRIED)) {
		/* Forwarded by a peer for its client: the client's own rights
		 * as this node verified them (SECURITY.md §9.4). Not cached
		 * yet: nothing run, nothing held; the IDENTITY is on its way
		 * and the client's retransmission finds it. */
		*a = scppd_auth_carried(w, req);
		return *a != NULL;
	}
	if (likely(req->session & SCPP_DELIVERY_SESSION)) {
		*a = scpp_auth_table_authority(w->auth, req->client_id, w->now_ns);
		if (likely(*a != NULL))
			return true;
		scpp_counter_add(&w->stats.auth_refused, 1);
		/* Sealing fails too once the slot is free: nothing to say. */
		return false;
	}
	if (scppd_g.cfg.auth.mode != SCPP_CONFIG_AUTH_REQUIRED)
		return true;
	scpp_counter_add(&w->stats.auth_refused, 1);
	if (scpp_delivery_error_allowed(w->dlv, req->peer.ip, w->now))
		status_reply(w, req, -EACCES, "auth",
			     "this node serves authenticated sessions only (auth.mode required): "
			     "open a session (docs/SECURITY.md §5) and seal every datagram");
	return false;
}

/*
 * Evaluate @p b, admitted, into lib/delivery's reply buffer: 0 and the
 * reply's length in *@p len; 1 when it stopped to be parked (nothing
 * written: the caller parks it with scppd_park_commit()); or <0 when the
 * evaluator could not run it (a status reply has been sent instead;
 * nothing was applied). @p resume: go on with that suspension from
 * command @p from (park.c) instead of starting the block.
 */
static inline void
eval_env(struct scppd_worker *w, const struct scpp_delivery_req *req,
	 const struct scpp_auth_authority *auth, uint32_t msg_len)
{
	w->env.client_id = req->client_id;
	w->env.auth = auth;
	w->park_len = msg_len;
}

/* scppd_exec_eval() once eval_env() and the hooks are decided. */
static int
exec_run(struct scppd_worker *w, const struct scpp_delivery_req *req,
	 const struct scpp_wire_block *b, const struct scpp_eval_hooks *hooks,
	 struct scpp_eval_susp *resume, uint16_t from, uint32_t *len)
{
	struct scpp_wire_reply_writer wr;
	struct scpp_eval_result res;
	uint32_t cap;
	uint8_t *buf;
	int rc;

	buf = scpp_delivery_reply_buf(w->dlv, &cap, w->now);
	scpp_wire_reply_writer_init(&wr, buf, cap);
	memset(&res, 0, sizeof(res));
	if (likely(hooks == NULL && resume == NULL))
		rc = scpp_eval_block(w->ectx, &w->env, b, req->block_id, &wr, &res);
	else if (resume == NULL)
		rc = scpp_eval_block_ex(w->ectx, &w->env, b, req->block_id, &wr, &res, hooks,
					scppd_park_susp(w));
	else
		rc = scpp_eval_resume(w->ectx, &w->env, b, req->block_id, &wr, &res, hooks,
				      resume, from);
	if (unlikely(rc < 0)) {
		/* Nothing was applied: said once, not held. */
		scpp_counter_add(&w->stats.eval_failed, 1);
		status_reply(w, req, rc, "eval", "evaluation failed: %s", scpp_strerror(rc));
		return rc;
	}
	if (rc == 1)
		return 1;
	scpp_counter_add(&w->stats.executed, 1);
	scpp_counter_add(res.outcome == SCPP_OUTCOME_OK	     ? &w->stats.outcome_ok :
			 res.outcome == SCPP_OUTCOME_ERRORS ? &w->stats.outcome_errors :
							      &w->stats.outcome_aborted,
			 1);
	if (unlikely(res.new_schema != NULL)) {
		/* A runtime schema change made on this shard: its triples hold
		 * it already, and the publisher (which owns it now) takes it to
		 * every other shard (scpp_eval_poll_schema() in the loop). */
		w->env.schema = res.new_schema;
		scpp_counter_add(&w->stats.schema_changes, 1);
	}
	*len = (uint32_t)wr.len;
	return 0;
}

int
scppd_exec_eval(struct scppd_worker *w, const struct scpp_delivery_req *req,
		const struct scpp_wire_block *b, uint32_t msg_len,
		const struct scpp_auth_authority *auth, struct scpp_eval_susp *resume,
		uint16_t from, uint32_t *len)
{
	eval_env(w, req, auth, msg_len);
	/* NULL unless a consumer of the park table may want this block to
	 * stop (park.c): the common block keeps the fast path. */
	return exec_run(w, req, b, scppd_park_hooks(w, b, msg_len), resume, from, len);
}

void
scppd_exec_block(struct scppd_worker *w, const struct scpp_delivery_req *req, const uint8_t *msg,
		 uint32_t len, bool prefix)
{
	const struct scpp_auth_authority *auth;
	uint32_t err_off = 0, rlen;
	int rc;

	if (!scppd_auth_block(w, req, &auth) ||
	    scpp_delivery_admit(w->dlv, req, w->now) != SCPP_DELIVERY_EXECUTE)
		return;
	/* Decoded once: on from the owner's command when the receiver was
	 * the owner, else from the start (a hand-off). */
	if (prefix)
		rc = scpp_wire_block_decode_rest(&w->cur, w->blk, &err_off);
	else
		rc = scpp_wire_block_decode(msg, len, w->blk, &err_off);
	if (unlikely(rc != 0)) {
		scppd_reject(w, req, rc, err_off, len);
		return;
	}
	rc = scppd_exec_eval(w, req, w->blk, len, auth, NULL, 0, &rlen);
	if (rc == 0)
		scpp_delivery_reply_commit(w->dlv, req, rlen, w->now);
	else if (rc == 1)
		scppd_park_commit(w, req, w->blk, msg, len);
}

bool
scppd_exec_decoded(struct scppd_worker *w, const struct scpp_delivery_req *req,
		   const struct scpp_wire_block *b, struct rte_mbuf *m, const uint8_t *msg,
		   uint32_t len)
{
	const struct scpp_auth_authority *auth;
	const struct scpp_eval_hooks *hooks;
	enum scpp_delivery_admit ad;
	uint32_t rlen;
	uint16_t n;
	int rc;

	if (!scppd_auth_block(w, req, &auth))
		return false;
	eval_env(w, req, auth, len);
	hooks = scppd_park_hooks(w, b, len);
	/* A read-only block that runs through (no parking) and whose reply
	 * can leave in its frame needs no record: its one-datagram reply is
	 * neither held nor marked in a window (docs/PROTOCOL.md §16.2,
	 * "Read-only blocks"), so a retransmission is evaluated again. */
	if (hooks == NULL && m != NULL && scpp_wire_block_read_only(b))
		ad = scpp_delivery_admit_read(w->dlv, req, w->now);
	else
		ad = scpp_delivery_admit(w->dlv, req, w->now);
	if (ad != SCPP_DELIVERY_EXECUTE)
		return false;
	rc = exec_run(w, req, b, hooks, NULL, 0, &rlen);
	if (unlikely(rc != 0)) {
		if (rc == 1)
			scppd_park_commit(w, req, b, msg, len);
		return false;
	}
	if (m == NULL) {
		scpp_delivery_reply_commit(w->dlv, req, rlen, w->now);
		return false;
	}
	/* The request is evaluated: its frame can carry the reply. */
	n = scpp_delivery_reply_commit_frame(w->dlv, req, rlen, w->now, rte_pktmbuf_mtod(m, uint8_t *),
					     (uint32_t)(m->buf_len - m->data_off), &w->dtk[w->ndtx]);
	if (n == 0)
		return false;
	m->data_len = n;
	m->pkt_len = n;
	m->ol_flags = scpp_net_tx_offload_flags(&scppd_g.net, req->peer.port);
	if (m->ol_flags != 0) {
		m->l2_len = RTE_ETHER_HDR_LEN;
		m->l3_len = sizeof(struct rte_ipv4_hdr);
	}
	w->dtx[w->ndtx++] = m;
	return true;
}

void
scppd_exec_fetch(struct scppd_worker *w, const struct scpp_delivery_req *req,
		 const uint8_t *payload, uint32_t len)
{
	/* Without a session, a node that requires one has nothing to send. */
	if (w->auth != NULL && !(req->session & SCPP_DELIVERY_SESSION) &&
	    scppd_g.cfg.auth.mode == SCPP_CONFIG_AUTH_REQUIRED) {
		scpp_counter_add(&w->stats.auth_fetch_refused, 1);
		return;
	}
	if (unlikely(req->session & SCPP_DELIVERY_CARRIED))
		scppd_auth_carry_note(w); /* its datagrams are sealed with the carried key */
	/* The receiver checked the payload; it cannot fail here. */
	(void)scpp_delivery_fetch(w->dlv, req, payload, len, w->now);
}
