/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Continuations, the owner's side (docs/PROTOCOL.md §19, docs/CLUSTER.md
 * §8): a CONT from a peer of the map is run once on this worker's shard
 * and answered with a CONT_REPLY; a retransmission is answered from the
 * record (lib/cont's dedup table) and never run again. The origin's side
 * (a block split here, its parts shipped and merged) is cont_origin.c.
 *
 * The part runs synchronously, from its start command to the end of the
 * block. An owner never waits (the "star" design of CLUSTER.md §8): where
 * some rows must go on elsewhere (their entity is another shard's), the
 * part stops before that command, those rows go back to the sender as
 * *rest groups* (start command, owning shard, rows) in the CONT_REPLY,
 * and the other rows go on here; the sender ships each group on. Its
 * reply records are written behind the rest groups in the record's slot,
 * bounded to one datagram: a part whose answer would not fit is aborted
 * and undone by the evaluator (E_LIMIT_RESULT), rest groups that would not
 * fit end the part there (E_LIMIT_BYTES), so every answer is one datagram
 * and the held answers need no allocation (SCPPD_CONT_ENTRIES slots of
 * SCPPD_CONT_ANSWER_MAX bytes per worker, at start).
 *
 * A CONT is run by the worker that receives it, for its own shard, and
 * only if it was sent to that shard's port (others are refused with
 * E_NOT_HERE: multi-worker nodes do not steer CONTs between workers yet).
 *
 * Authority (docs/SECURITY.md §9.4 item 9). A CONT with extension 1 (the
 * principal, MAC'd under the sender's pairwise key) runs with that
 * principal's rights as this node verified its chains (the carried cache,
 * filled by the IDENTITY the origin pushes), never the sender's; its
 * answers, refusals included, end with a MAC under the reply key the
 * extension brings. Without extension 1: refused in auth.mode required
 * (EACCES, cont_no_principal), run unchecked otherwise.
 *
 * Not taken in this version (counted in cont_not_taken, dropped): CONTs of
 * more than one datagram, and CONTs with extension 1 on a node in
 * auth.mode off (it has no key to check or answer them with).
 */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <rte_malloc.h>
#include <sodium.h>

#include "scpp_status.h"
#include "cont_priv.h"

unsigned int
scppd_cont_rows_where(struct scppd_worker *w, const struct scpp_wire_block *b, uint16_t cmd,
		      size_t nrows)
{
	struct scpp_eval_rows rows;
	unsigned int out = 0;

	if (cmd >= b->ncmds || nrows == 0 || scpp_eval_ctx_rows(w->ectx, &rows) != 0)
		return 0;
	for (size_t i = 0; i < rows.n && out != (SCPPD_ROWS_THERE | SCPPD_ROWS_ANY); i++)
		switch (scpp_eval_row_where(b, cmd, &rows, i, w->env.node, NULL)) {
		case SCPP_EVAL_THERE:
			out |= SCPPD_ROWS_THERE;
			break;
		case SCPP_EVAL_ANY:
			out |= SCPPD_ROWS_ANY;
			break;
		default:
			break;
		}
	return out;
}

static enum scpp_eval_verdict
rest_before_cmd(void *arg, const struct scpp_wire_block *b, uint16_t cmd, size_t nrows)
{
	return (scppd_cont_rows_where(arg, b, cmd, nrows) & SCPPD_ROWS_THERE) ? SCPP_EVAL_SUSPEND :
										   SCPP_EVAL_GO;
}

/* An EVERY part also stops once right after its scan (at the end, for a
 * one-command part), to drop the well-known entities it found. */
static enum scpp_eval_verdict
every_before_cmd(void *arg, const struct scpp_wire_block *b, uint16_t cmd, size_t nrows)
{
	struct scppd_worker *w = arg;

	if (cmd == w->cont->every_next)
		return SCPP_EVAL_SUSPEND;
	return rest_before_cmd(arg, b, cmd, nrows);
}

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
	c->idx = rte_malloc_socket("scppd_cont_idx", 2 * SCPPD_CONT_ROWS_MAX * sizeof(uint32_t), 64,
				   socket);
	c->idx2 = rte_malloc_socket("scppd_cont_idx2", SCPPD_CONT_ROWS_MAX * sizeof(uint32_t), 64,
				    socket);
	c->hooks.before_cmd = rest_before_cmd;
	c->hooks.arg = w;
	c->hooks_every.before_cmd = every_before_cmd;
	c->hooks_every.arg = w;
	c->hooks_every.at_end = true;
	if (c->dedup != NULL && c->held != NULL && c->held_len != NULL && c->susp != NULL &&
	    c->blk != NULL && c->idx != NULL && c->idx2 != NULL) {
		scppd_cont_origin_init(d, w);
		scppd_cont_nest_init(w);
		if (scppd_cont_read_init(w) != 0)
			goto nomem;
		return;
	}
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
	scppd_cont_read_free(w);
	scppd_cont_nest_free(w);
	scppd_cont_origin_free(w);
	scpp_cont_dedup_free(c->dedup);
	rte_free(c->idx);
	rte_free(c->idx2);
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

	if (w->cont_held != 0) {
		n = scpp_cont_dedup_expire(w->cont->dedup, w->now / w->cont->ms_div, freed,
					   SCPPD_CONT_EXPIRE_BURST);
		w->cont_held -= n; /* the held answers are slots: nothing to free */
	}
	if (w->cont->rd_parked != 0)
		scppd_cont_read_tick(w);
	if (w->cont_out != 0)
		scppd_cont_origin_tick(w); /* parts of both kinds of sender, and pin graces */
}

/* A datagram from this node's own cluster address, on the cluster port:
 * another worker of this node handed it over (lib/net drops any frame from
 * the wire whose source is the receiving port's own address; a frame with
 * that source arriving on another port is not taken for one). */
static bool
from_self(const struct scpp_net_meta *nm)
{
	const uint16_t cport = scppd_g.cfg.cluster.port;

	return nm->peer.port == cport && nm->peer.ip == scppd_g.ports[cport].ip;
}

void
scppd_cont_answer_to(struct scppd_worker *w, const struct scpp_net_peer *peer, bool self,
		     uint64_t client_id, uint64_t block_id, const uint8_t *msg, uint32_t len)
{
	int rc;

	if (self) {
		uint16_t port = rte_be_to_cpu_16(peer->udp_port);

		(void)scppd_peer_handoff(w, (uint16_t)(port - scppd_g.base_port - 1),
					 rte_be_to_cpu_16(peer->local_udp_port),
					 SCPP_WIRE_CONT_REPLY, client_id, block_id, msg, len);
		return; /* lost (counted): the sender retransmits */
	}
	rc = scppd_peer_send(w, peer, SCPP_WIRE_CONT_REPLY, client_id, block_id, NULL, 0, msg, len);
	if (rc > 0)
		scpp_counter_add(&w->stats.cont_tx_full, (uint64_t)rc);
}

static void
answer(struct scppd_worker *w, const struct scpp_net_meta *nm, const struct scpp_wire_hdr *h,
       const uint8_t *msg, uint32_t len)
{
	scppd_cont_answer_to(w, &nm->peer, from_self(nm), h->client_id, h->block_id, msg, len);
}

/* An answer of @p len bytes in @p buf (room for the MAC behind it) to a
 * CONT with extension 1 gets its MAC; its new length. */
static uint32_t
seal_answer(struct scppd_cont *ct, uint8_t *buf, uint32_t len)
{
	if (!ct->rk_on)
		return len;
	scpp_auth_cont_reply_mac(ct->rk, buf, len, buf + len);
	return len + SCPP_AUTH_CONT_REPLY_MAC_LEN;
}

/* A part refused before it ran: COLUMNS with no column, the reason, END
 * (aborted). Not recorded: a retransmission may be taken later. */
static SCPP_COLD void
vrefuse(struct scppd_worker *w, const struct cont_to *to, const struct scpp_wire_cont *c, int code,
	const char *fmt, va_list ap)
{
	struct scppd_cont *ct = w->cont;
	struct scpp_wire_cont_reply r = {.owner = scppd_g.cfg.node.id, .cont_id = c->cont_id};
	struct scpp_status st;
	int len;

	scpp_counter_add(&w->stats.cont_refused, 1);
	memset(&st, 0, sizeof(st));
	scpp_status_setv(&st, code, "cluster", fmt, ap);
	st.block_id = c->block_id;
	st.client = c->client_id;
	st.command = c->start;
	st.row = SCPP_STATUS_NO_ROW;
	st.offset = -1;
	(void)scpp_wire_cont_reply_encode(ct->scratch, sizeof(ct->scratch), &r);
	len = scppd_status_reply_encode(w, &st, ct->scratch + SCPP_WIRE_CONT_REPLY_HDR_LEN,
					sizeof(ct->scratch) - SCPP_WIRE_CONT_REPLY_HDR_LEN -
					SCPP_AUTH_CONT_REPLY_MAC_LEN);
	if (len < 0)
		return; /* a status always fits one datagram; nothing sent if not */
	scppd_cont_answer_to(w, &to->peer, to->self, to->client_id, to->block_id, ct->scratch,
			     seal_answer(ct, ct->scratch,
					 (uint32_t)(SCPP_WIRE_CONT_REPLY_HDR_LEN + len)));
}

void
scppd_cont_refuse_to(struct scppd_worker *w, const struct cont_to *to,
		     const struct scpp_wire_cont *c, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vrefuse(w, to, c, code, fmt, ap);
	va_end(ap);
}

static SCPP_COLD __attribute__((format(printf, 6, 7))) void
refuse(struct scppd_worker *w, const struct scpp_net_meta *nm, const struct scpp_wire_hdr *h,
       const struct scpp_wire_cont *c, int code, const char *fmt, ...)
{
	const struct cont_to to = {.peer = nm->peer, .self = from_self(nm),
				   .client_id = h->client_id, .block_id = h->block_id};
	va_list ap;

	va_start(ap, fmt);
	vrefuse(w, &to, c, code, fmt, ap);
	va_end(ap);
}

void
scppd_cont_answered(struct scppd_worker *w, const struct cont_to *to, uint32_t slot)
{
	struct scppd_cont *ct = w->cont;
	uint8_t *ans = ct->held + (size_t)slot * SCPPD_CONT_ANSWER_MAX;

	ct->held_len[slot] = seal_answer(ct, ans, ct->held_len[slot]);
	scpp_counter_add(&w->stats.cont_run, 1);
	scppd_peer_cont_count(w, (uint32_t)to->client_id, SCPPD_PEER_CONT_IN);
	(void)scpp_cont_dedup_done(ct->dedup, slot, ans, ct->held_len[slot], w->now / ct->ms_div);
	w->cont_held++;
	scppd_cont_answer_to(w, &to->peer, to->self, to->client_id, to->block_id, ans,
			     ct->held_len[slot]);
}

/* The rows of the stopped part that must go on elsewhere become rest
 * groups behind *@p rest_len bytes of ct->rest (at most @p rest_max); the
 * others stay. -ENOSPC: they do not fit (nothing kept changes). */
static int
keep_rest(struct scppd_worker *w, struct scpp_wire_cont_reply *r, uint32_t *rest_len,
	  uint32_t rest_max)
{
	struct scppd_cont *ct = w->cont;
	struct scpp_eval_split sp;
	uint16_t cmd = scpp_eval_susp_next_cmd(ct->susp);
	uint32_t len = *rest_len;
	uint16_t nrest = r->nrest;
	int rc;

	rc = scpp_eval_susp_split(ct->susp, ct->blk, w->env.node, ct->idx, 2 * SCPPD_CONT_ROWS_MAX,
				  &sp);
	if (rc != 0)
		return rc;
	for (uint16_t g = 0; g < sp.nowners; g++) {
		struct scpp_wire_cont_rest grp = {
			.start = cmd, .nrows = sp.part[g].n, .shard = sp.part[g].owner.hi,
		};
		uint32_t at = len + SCPP_WIRE_CONT_REST_HDR_LEN;
		long n;

		if (nrest == SCPP_WIRE_CONT_REST_MAX || at > rest_max)
			return -ENOSPC;
		n = scpp_eval_susp_rows_encode(ct->susp, ct->idx + sp.part[g].first, sp.part[g].n,
					       ct->rest + at, rest_max - at);
		if (n < 0)
			return -ENOSPC;
		grp.rows_len = (uint32_t)n;
		(void)scpp_wire_cont_rest_encode(ct->rest + len, SCPP_WIRE_CONT_REST_HDR_LEN, &grp);
		len = at + (uint32_t)n;
		nrest++;
	}
	rc = scpp_eval_susp_keep(ct->susp, ct->idx, sp.nhere);
	if (rc != 0)
		return rc;
	scpp_counter_add(&w->stats.cont_rest_groups, nrest - r->nrest);
	r->nrest = nrest;
	*rest_len = len;
	return 0;
}

/* The refusal of CONT @p c whose COPY_SOURCE or MEMORY_WINDOW extensions
 * did not decode against it (@p rc), in @p why. */
static int
ext_refused(const struct scpp_wire_cont *c, int rc, char *why, size_t why_len)
{
	snprintf(why, why_len, "continuation %" PRIu64 " not run: a COPY_SOURCE or MEMORY_WINDOW "
		 "extension: %s (%s)%s", c->cont_id,
		 scpp_error_name(rc) != NULL ? scpp_error_name(rc) : "error", scpp_strerror(rc),
		 rc == -SCPP_E_BAD_VAR ? ": its row is at or past the CONT's nrows" :
		 rc == -EEXIST ? ": rows not strictly ascending" : "");
	return rc;
}

int
scppd_cont_exec(struct scppd_worker *w, const struct scpp_wire_cont *c,
		const struct scpp_auth_authority *au, uint8_t *out, uint32_t cap, uint32_t *out_len,
		char *why, size_t why_len)
{
	struct scppd_cont *ct = w->cont;
	struct scpp_wire_cont_reply r = {.owner = scppd_g.cfg.node.id, .cont_id = c->cont_id};
	const bool every = (c->flags & SCPP_WIRE_CONT_F_EVERY) != 0;
	const struct scpp_eval_hooks *hooks = every ? &ct->hooks_every :
					      scppd_g.cfg.cluster.cont.enabled ? &ct->hooks : NULL;
	bool filtered = false;
	const uint32_t rest_max = cap - SCPP_WIRE_CONT_REPLY_HDR_LEN - SCPPD_CONT_RECS_MIN;
	struct scpp_wire_reply_writer wr;
	struct scpp_eval_result res;
	struct scpp_eval_env env;
	uint32_t off = 0, rest_len = 0;
	uint16_t from = c->start;
	int rc;

	rc = scpp_wire_block_decode(c->block, c->block_len, ct->blk, &off);
	if (rc == 0)
		rc = scpp_eval_susp_load(ct->susp, ct->blk, c);
	if (rc != 0) {
		snprintf(why, why_len, "continuation %" PRIu64 " not run: %s (%s)%s", c->cont_id,
			 scpp_error_name(rc) != NULL ? scpp_error_name(rc) : "error", scpp_strerror(rc),
			 rc == -EINVAL ? ": start or nvars do not match the block" : "");
		return rc == -EINVAL ? -SCPP_E_BAD_LENGTH : rc;
	}
	/* With the carried principal's rights at this node (docs/SECURITY.md
	 * §9.4 item 9), or as an unauthenticated block of the client. */
	env = w->env;
	env.client_id = c->client_id;
	env.auth = au;
	/* Copy sources the sender resolved (cont_copy.c). An extension that
	 * does not decode against this CONT (a row at or past nrows: E_BAD_VAR,
	 * rows not ascending: EEXIST) refuses the part: never run without it. */
	rc = scppd_cont_copy_rx(w, c, &ct->copy_rx);
	if (rc > 0) {
		ct->copy_rx.rewritten = scpp_eval_cmd_copy_keyed(ct->blk, c->start, 1) == 1;
		env.remote_src = &ct->copy_rx.rs;
		scppd_cont_read_resume(w, &ct->copy_rx); /* read while it was parked? */
	}
	/* Copy ends in this shard's memory windows (cont_memwin.c). */
	if (rc >= 0 && (rc = scppd_cont_memwin_rx(w, c, &ct->copy_rx)) > 0)
		env.remote_memwin = &ct->copy_rx.rm;
	if (rc < 0) {
		if (scpp_eval_susp_active(ct->susp))
			scpp_eval_susp_drop(w->ectx, ct->susp); /* loaded above, never run */
		return ext_refused(c, rc, why, why_len);
	}
	ct->every_next = every ? (uint16_t)(c->start + 1) : UINT16_MAX;
	/* A third-party copy's source owner (docs/COPY.md "Third-party
	 * copies"): the rows whose destination lives elsewhere go on to it
	 * from here, as nested parts, rather than back as rest groups. */
	if (ct->nin.c == c && !every)
		scppd_cont_nest_split(w, c);
	for (;;) {
		scpp_wire_reply_writer_init(&wr, ct->recs, cap - SCPP_WIRE_CONT_REPLY_HDR_LEN - rest_len);
		rc = scpp_eval_resume(w->ectx, &env, ct->blk, c->block_id, &wr, &res, hooks, ct->susp,
				      from);
		if (rc != 1)
			break;
		/* Stopped before a command some rows must run elsewhere, or
		 * after an EVERY part's scan: the well-known entities it found
		 * are the origin's to report (every shard has them). */
		from = scpp_eval_susp_next_cmd(ct->susp);
		if (every && !filtered && from == ct->every_next) {
			filtered = true;
			ct->every_next = UINT16_MAX;
			(void)scpp_eval_susp_keep_owned(ct->susp, ct->blk, c->start, ct->idx2,
							SCPPD_CONT_ROWS_MAX);
			if (from >= ct->blk->ncmds)
				continue; /* the end: nothing can go on elsewhere */
		}
		if (keep_rest(w, &r, &rest_len, rest_max) != 0) {
			scpp_wire_reply_writer_init(&wr, ct->recs,
						    cap - SCPP_WIRE_CONT_REPLY_HDR_LEN - rest_len);
			rc = scpp_eval_resume_abort(w->ectx, &env, ct->blk, c->block_id, &wr, &res,
						    ct->susp, -SCPP_E_LIMIT_BYTES,
						    "the rows that must go on on other shards do not fit "
						    "one CONT_REPLY; the part ends here");
			break;
		}
	}
	if (rc != 0) {
		/* -ENOSPC: no room for COLUMNS and END, which a datagram has. */
		if (scpp_eval_susp_active(ct->susp))
			scpp_eval_susp_drop(w->ectx, ct->susp);
		snprintf(why, why_len, "continuation %" PRIu64 " not run: %s", c->cont_id,
			 scpp_strerror(rc));
		return rc;
	}
	if (unlikely(res.new_schema != NULL)) {
		/* As exec.c: the part changed the schema on this shard; the
		 * publisher has it, this worker switches to it. */
		w->env.schema = res.new_schema;
		scpp_counter_add(&w->stats.schema_changes, 1);
	}
	r.flags = r.nrest != 0 ? SCPP_WIRE_CONT_REPLY_F_REST : 0;
	(void)scpp_wire_cont_reply_encode(out, SCPP_WIRE_CONT_REPLY_HDR_LEN, &r);
	memcpy(out + SCPP_WIRE_CONT_REPLY_HDR_LEN, ct->rest, rest_len);
	memcpy(out + SCPP_WIRE_CONT_REPLY_HDR_LEN + rest_len, ct->recs, wr.len);
	*out_len = SCPP_WIRE_CONT_REPLY_HDR_LEN + rest_len + (uint32_t)wr.len;
	return 0;
}

/* Run the new continuation @p c recorded in @p slot, and answer it. */
static void
run(struct scppd_worker *w, const struct scpp_net_meta *nm, const struct scpp_wire_hdr *h,
    const struct scpp_wire_cont *c, const struct scpp_auth_authority *au, uint32_t slot)
{
	const struct cont_to to = {.peer = nm->peer, .self = from_self(nm),
				   .client_id = h->client_id, .block_id = h->block_id};
	struct scppd_cont *ct = w->cont;
	uint8_t *ans = ct->held + (size_t)slot * SCPPD_CONT_ANSWER_MAX;
	uint32_t cap = RTE_MIN(SCPPD_CONT_ANSWER_MAX, scppd_peer_chunk(nm->peer.port)) -
		       (ct->rk_on ? SCPP_AUTH_CONT_REPLY_MAC_LEN : 0);
	char why[SCPP_STATUS_MSG_MAX];
	int rc;

	if (c->timeout_ms > SCPPD_CONT_RETENTION_MS) {
		scpp_cont_dedup_drop(ct->dedup, slot);
		refuse(w, nm, h, c, -SCPP_E_LIMIT_PENDING, "continuation %" PRIu64 ": timeout_ms "
		       "%u is over this node's retention of answers (%u ms); nothing was run",
		       c->cont_id, c->timeout_ms, SCPPD_CONT_RETENTION_MS);
		return;
	}
	/* A copy's source to READ first: parked meanwhile (cont_read.c; an
	 * unsealed CONT only: the carried authority and the reply key are
	 * not kept). */
	if (!ct->rk_on && au == NULL && scppd_cont_read_park(w, nm, h, c, slot, cap))
		return; /* answered when its READs have completed */
	/* A part may nest (ship rows on itself) only for an unsealed CONT:
	 * a nested part could not carry the principal (cont_nest.c). */
	ct->nin = (struct cont_nest_in){.c = ct->rk_on || au != NULL ? NULL : c,
					.set = CONT_NONE};
	rc = scppd_cont_exec(w, c, au, ans, cap, &ct->held_len[slot], why, sizeof(why));
	ct->nin.c = NULL;
	if (rc != 0) {
		scppd_cont_nest_abandon(w);
		scpp_cont_dedup_drop(ct->dedup, slot);
		refuse(w, nm, h, c, rc, "%s", why);
		return;
	}
	if (ct->nin.set != CONT_NONE) {
		scpp_counter_add(&w->stats.cont_run, 1);
		scppd_peer_cont_count(w, (uint32_t)h->client_id, SCPPD_PEER_CONT_IN);
		scppd_cont_nest_wait(w, nm, h, slot, cap); /* answered when its parts have */
		return;
	}
	scppd_cont_answered(w, &to, slot);
}

void
scppd_cont_rx(struct scppd_worker *w, const struct scpp_net_meta *nm, const uint8_t *dgram)
{
	struct scppd_cont *ct = w->cont;
	struct scpp_wire_hdr h;
	struct scpp_wire_cont c;
	struct scpp_cont_key k;
	const struct scpp_auth_authority *au;
	uint32_t slot, held_len = 0;
	uint64_t now_ms;
	void *held = NULL;
	int rc;

	scpp_counter_add(&w->stats.cont_dgrams, 1);
	if (scpp_wire_hdr_decode(dgram, nm->l4_len, &h) != 0) {
		scpp_counter_add(&w->stats.cont_bad, 1);
		return;
	}
	if (!from_self(nm) && !scppd_forward_from_peer(w, nm->peer.ip, &nm->peer.mac))
		return; /* counted: forward_not_peer */
	if (h.kind == SCPP_WIRE_CONT_REPLY && h.frag_count == 1) {
		scppd_cont_origin_rx(w, nm, &h);
		return;
	}
	if (h.kind != SCPP_WIRE_CONT || h.frag_count != 1) {
		scpp_counter_add(&w->stats.cont_not_taken, 1);
		return;
	}
	if (scpp_wire_cont_decode(h.payload, h.payload_len, &c) != 0 || c.cont_id != h.block_id ||
	    h.client_id == 0 || h.client_id > UINT32_MAX) {
		scpp_counter_add(&w->stats.cont_bad, 1);
		return;
	}
	/* Who the part is for, before anything else: a forged extension
	 * never reaches the record, and every answer to a verified one,
	 * refusals included, is MAC'd (docs/SECURITY.md §9.4 item 9). */
	ct->rk_on = false;
	rc = scppd_auth_cont_in(w, (uint32_t)h.client_id, from_self(nm), h.payload, h.payload_len,
				&c, &au, ct->rk);
	ct->rk_on = rc == 1 || rc == -ENOTCONN || rc == -ETIMEDOUT;
	if (rc == -EACCES || rc == -ENOTCONN || rc == -ETIMEDOUT) {
		refuse(w, nm, &h, &c, -EACCES, "continuation %" PRIu64 " of block %" PRIu64 " not "
		       "run: %s; nothing was run", c.cont_id, c.block_id, rc == -EACCES ?
		       "it carries no principal (CONT extension 1) and this node requires one "
		       "(auth.mode required)" : rc == -ENOTCONN ? "the session it was sent for "
		       "has closed" : "its principal extension is past its not-after");
		goto out;
	}
	if (rc < 0) {
		if (rc == -EPROTONOSUPPORT)
			scpp_counter_add(&w->stats.cont_not_taken, 1);
		return; /* counted; an unverified CONT is never answered */
	}
	/* The part runs on this worker's shard: it must be the one whose port
	 * the sender addressed (the shard that owns the rows' entities). */
	if (rte_be_to_cpu_16(nm->peer.local_udp_port) != scppd_g.base_port + 1 + w->shard) {
		refuse(w, nm, &h, &c, -SCPP_E_NOT_HERE, "continuation %" PRIu64 " sent to port %u "
		       "reached the worker of shard %u (port %u); nothing was run", c.cont_id,
		       rte_be_to_cpu_16(nm->peer.local_udp_port), w->shard,
		       scppd_g.base_port + 1 + w->shard);
		goto out;
	}
	k.sender_ip = nm->peer.ip;
	k.sender_node = (uint32_t)h.client_id;
	ct->copy_rx.sender_ip = nm->peer.ip;
	ct->copy_rx.from_self = from_self(nm);
	k.cont_id = c.cont_id;
	now_ms = w->now / ct->ms_div;
	switch (scpp_cont_dedup_admit(ct->dedup, &k, now_ms, &slot, &held, &held_len)) {
	case SCPP_CONT_NEW:
		run(w, nm, &h, &c, au, slot);
		break;
	case SCPP_CONT_DONE:
		scpp_counter_add(&w->stats.cont_dup_done, 1);
		answer(w, nm, &h, held, held_len); /* MAC'd when it was made */
		break;
	case SCPP_CONT_RUNNING:
		scpp_counter_add(&w->stats.cont_dup_running, 1);
		break;
	case SCPP_CONT_FULL:
		refuse(w, nm, &h, &c, -SCPP_E_LIMIT_PENDING, "continuation %" PRIu64 " not run: "
		       "this worker holds %u continuations already; retry", c.cont_id,
		       SCPPD_CONT_ENTRIES);
		break;
	}
out:
	if (ct->rk_on) {
		sodium_memzero(ct->rk, sizeof(ct->rk));
		ct->rk_on = false;
	}
}
