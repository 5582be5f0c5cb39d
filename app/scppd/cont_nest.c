/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Third-party copies: the source's owner as a nested sender (docs/COPY.md
 * "Third-party copies", docs/PROTOCOL.md §19.3).
 *
 * A client on node O orders `copy value(B, data) value(A, data) n` with A
 * on node S and B on node D. The splitting rule (scpp_eval_row_where())
 * sends the row to S, since neither end lives on O and only S can turn A
 * into a window address. S runs the CONT (cont.c); before its first
 * command — the copy — scppd_cont_nest_split() takes the rows whose
 * destination lives elsewhere and whose source is a plain value of this
 * shard: S resolves and pins each source (cont_copy.c) and ships the rows
 * to D as a *nested part*, a CONT starting at the copy with one
 * COPY_SOURCE per row, through the same part table as the origin's parts
 * (cont_part.c: retransmission, answer matching, giving up). D checks the
 * extensions and READs from S's window (cont_copy.c). Rows without a plain
 * source here go back to O as rest groups, as before (E_NOT_HERE at D).
 *
 * S's own part runs on (with the rows that stayed) and its answer is held
 * in its record of the CONT, which stays RUNNING (a retransmission from O
 * is ignored) until every nested part has answered or been given up, at
 * three quarters of the CONT's timeout_ms (so O, which waits the whole
 * timeout_ms, has S's answer in time; the nested CONT says that shorter
 * time, so D never reports a copy done after S stopped waiting). Then S
 * answers O with one CONT_REPLY: its own rest groups then each nested
 * part's (in part order), and its own records merged with the parts'
 * (scpp_cont_merge(): a part given up contributes its status, E_OUTCOME_
 * UNKNOWN naming D). O merges that answer as any part's.
 *
 * Pins. A nested part's pins go when its set ends, except for a part that
 * was sent and has no answer (given up, or its CONT abandoned): D's engine
 * may still be reading, so its pins stay copy.timeout_ms more (the *pin
 * grace*, the part record held in P_GRACE and counted in w->cont_out so
 * the timer scan sees it), then go.
 *
 * Not nested (the rows go back as rest groups, as before): a sealed CONT
 * (a session block's: a nested part cannot carry the principal, which S
 * only holds as a carried authority), an EVERY part, rows of a copy that
 * is not the part's first command, and any row once the nested sets
 * (SCPPD_CONT_NEST_MAX per worker) or the part records are all taken.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_malloc.h>

#include "scpp_status.h"
#include "cont_priv.h"

static uint32_t
set_idx(const struct scppd_worker *w, const struct cont_set *set)
{
	return (uint32_t)(set - w->cont->set);
}

static struct cont_nest *
nest_of(struct scppd_worker *w, const struct cont_set *set)
{
	return &w->cont->nest[set_idx(w, set) - w->cont->nset];
}

/* The nested set of the CONT being run, opened at its first part. */
static struct cont_set *
nest_open(struct scppd_worker *w, const struct scpp_wire_cont *c)
{
	struct scppd_cont *ct = w->cont;
	struct cont_set *set;

	if (ct->nin.set != CONT_NONE)
		return &ct->set[ct->nin.set];
	for (uint32_t i = ct->nset; i < ct->nset + SCPPD_CONT_NEST_MAX; i++) {
		set = &ct->set[i];
		if (set->active)
			continue;
		memset(set, 0, sizeof(*set));
		set->active = 1;
		set->nest = 1;
		set->head = set->tail = CONT_NONE;
		set->nvars = c->nvars;
		set->client_id = c->client_id;
		set->block_id = c->block_id;
		set->start_tsc = w->now;
		set->busy = 1; /* until run() has answered its own part */
		ct->nin.set = i;
		return set;
	}
	return NULL;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Ship rows @p idx[0 .. n) (owner @p owner), each with its COPY_SOURCE in
 * @p ext (@p ext_len bytes) and its pin in @p pins, as one nested part.
 * false: no room (nothing kept: the pins are dropped). */
static bool
nest_ship(struct scppd_worker *w, const struct scpp_wire_cont *c, const uint32_t *idx,
	  uint32_t n, struct scpp_oid owner, const uint8_t *ext, size_t ext_len,
	  struct scppd_copy_pin *pins)
{
	struct scppd_cont *ct = w->cont;
	uint8_t npins = (uint8_t)n;
	struct cont_set *set;
	struct cont_part *p;
	uint32_t at;
	long len;

	set = nest_open(w, c);
	p = set != NULL ? cont_part_new(w, set, ct->nin.set, CONT_NONE) : NULL;
	if (p == NULL) {
		scppd_cont_copy_unpin(w, pins, &npins);
		return false;
	}
	memcpy(p->ext, ext, ext_len);
	p->ext_len = (uint16_t)ext_len;
	memcpy(p->pins, pins, sizeof(pins[0]) * n);
	p->npins = (uint8_t)n;
	p->hops = (uint8_t)(c->hops + 1);
	p->start = c->start;
	p->owner_hi = owner.hi;
	p->node = scpp_oid_node(owner);
	p->shard = scpp_oid_shard(owner);
	p->nrows = n;
	/* Answered in time for our own sender, which waits c->timeout_ms. */
	p->wait_ms = RTE_MAX(1u, c->timeout_ms * 3u / 4u);
	scpp_counter_add(&w->copy->st.cont_nested, 1);
	if (!cont_part_limits(w, p, set))
		return true; /* its status answers for the rows */
	if (cont_part_write(p, set, c->block, c->block_len, n, &at) != 0 ||
	    (len = scpp_eval_susp_rows_encode(ct->susp, idx, n, p->msg + at,
					      sizeof(p->msg) - at)) < 0) {
		cont_part_too_big(w, p, set);
		return true;
	}
	p->msg_len = at + (uint32_t)len;
	scppd_cont_exts_sent(w, p->ext, p->ext_len);
	cont_part_launch(w, p);
	return true;
}

/* The rows of owner group @p g (@p sp) whose source is a plain value here
 * go to its owner in nested parts of at most SCPPD_COPY_SRC_MAX rows; the
 * others are appended to ct->idx2 (*@p keep): they stay here, and the copy
 * fails here with its own status (no such source, out of range, ...). */
static void
nest_group(struct scppd_worker *w, const struct scpp_wire_cont *c,
	   const struct scpp_eval_split *sp, uint16_t g, const struct scpp_eval_rows *rows,
	   uint32_t *keep)
{
	struct scppd_cont *ct = w->cont;
	const uint32_t *gi = ct->idx + sp->part[g].first;
	uint8_t ext[SCPPD_COPY_SRC_MAX * (2 + SCPP_WIRE_COPY_SRC_LEN)];
	struct scppd_copy_pin pins[SCPPD_COPY_SRC_MAX];
	uint32_t ship[SCPPD_COPY_SRC_MAX];
	uint32_t n = 0;
	size_t at = 0;

	for (uint32_t k = 0; k <= sp->part[g].n; k++) {
		int x = 0;

		/* A row whose source is this shard's memory window goes on
		 * with that window's address (cont_memwin.c); one whose
		 * destination is, stays. */
		if (k < sp->part[g].n)
			x = scppd_cont_memwin_nest(w, c, rows, gi[k], n, ext + at,
						   sizeof(ext) - at, &pins[n]);
		if (k < sp->part[g].n && x == 0)
			x = scppd_cont_copy_source_one(w, ct->blk, c->start, rows, gi[k], n,
						       ext + at, sizeof(ext) - at, &pins[n], NULL);
		if (x > 0) {
			ship[n++] = gi[k];
			at += (size_t)x;
		} else if (k < sp->part[g].n) {
			ct->idx2[(*keep)++] = gi[k];
		}
		if (n != 0 && (n == SCPPD_COPY_SRC_MAX || k == sp->part[g].n)) {
			if (!nest_ship(w, c, ship, n, sp->part[g].owner, ext, at, pins))
				for (uint32_t j = 0; j < n; j++)
					ct->idx2[(*keep)++] = ship[j];
			n = 0;
			at = 0;
		}
	}
}

/* The kept row @p row was, ascending @p keep: its new index, or UINT32_MAX
 * (shipped on). */
static uint32_t
kept_index(const uint32_t *keep, uint32_t n, uint32_t row)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (keep[mid] == row)
			return mid;
		if (keep[mid] < row)
			lo = mid + 1;
		else
			hi = mid;
	}
	return UINT32_MAX;
}

/* After scpp_eval_susp_keep(): the part's MEMORY_WINDOW and COPY_SOURCE
 * extensions name the rows as the CONT numbered them, the evaluator now
 * numbers only the kept ones. Each extension follows its row to its new
 * index; one of a shipped row names no row (UINT32_MAX is never a row:
 * SCPP_STATUS_NO_ROW), so no kept row takes another's window range. The
 * entries stay where they are: a parked CONT's READs are indexed by them. */
static void
renumber_rx(struct scppd_cont_copy_rx *rx, const uint32_t *keep, uint32_t n)
{
	for (unsigned int k = 0; k < rx->nmw; k++)
		rx->mw[k].row = kept_index(keep, n, rx->mw[k].row);
	for (unsigned int k = 0; k < rx->n; k++)
		rx->src[k].row = kept_index(keep, n, rx->src[k].row);
}

void
scppd_cont_nest_split(struct scppd_worker *w, const struct scpp_wire_cont *c)
{
	struct scppd_cont *ct = w->cont;
	struct scpp_eval_split sp;
	struct scpp_eval_rows rows;
	uint32_t keep = 0;

	if (w->copy == NULL || w->copy->remote == NULL || c->start >= ct->blk->ncmds ||
	    ct->blk->cmd[c->start].op != SCPP_OP_COPY ||
	    scpp_eval_susp_split(ct->susp, ct->blk, w->env.node, ct->idx,
				 2 * SCPPD_CONT_ROWS_MAX, &sp) != 0 || sp.nowners == 0 ||
	    scpp_eval_susp_rows(ct->susp, &rows) != 0)
		return;
	/* The rows that stay (here, and those not shipped), ascending. */
	for (uint32_t k = 0; k < sp.nhere; k++)
		ct->idx2[keep++] = ct->idx[k];
	for (uint16_t g = 0; g < sp.nowners; g++)
		nest_group(w, c, &sp, g, &rows, &keep);
	if (keep == rows.n)
		return; /* nothing shipped */
	qsort(ct->idx2, keep, sizeof(ct->idx2[0]), cmp_u32);
	(void)scpp_eval_susp_keep(ct->susp, ct->idx2, keep); /* valid: ascending, in range */
	renumber_rx(&ct->copy_rx, ct->idx2, keep);
}

/* Let set @p set's parts go: records freed, or kept in their pin grace. */
static void
nest_free(struct scppd_worker *w, struct cont_set *set)
{
	struct scppd_cont *ct = w->cont;
	const uint32_t grace_ms = scppd_g.cfg.copy.timeout_ms != 0 ? scppd_g.cfg.copy.timeout_ms :
				  scppd_g.cfg.cluster.cont.timeout_ms;
	uint32_t i, next;

	for (i = set->head; i != CONT_NONE; i = next) {
		struct cont_part *p = &ct->part[i];
		/* Sent (it had a deadline) and never answered: D may still READ. */
		bool grace = p->npins != 0 && p->deadline_tsc != 0 && p->state != P_DONE;

		next = p->next;
		cont_part_unsent(w, p);
		if (grace) {
			p->state = P_GRACE;
			p->next = CONT_NONE;
			p->next_tsc = w->now + cont_ms_tsc(grace_ms);
			w->cont_out++;
			scpp_counter_add(&w->copy->st.cont_pin_grace, 1);
			continue;
		}
		scppd_cont_copy_unpin(w, p->pins, &p->npins);
		p->state = P_FREE;
		p->next = ct->free_part;
		ct->free_part = i;
	}
	set->active = 0;
}

void
scppd_cont_nest_grace_end(struct scppd_worker *w, struct cont_part *p)
{
	struct scppd_cont *ct = w->cont;

	scppd_cont_copy_unpin(w, p->pins, &p->npins);
	p->state = P_FREE;
	p->next = ct->free_part;
	ct->free_part = (uint32_t)(p - ct->part);
	w->cont_out--;
}

void
scppd_cont_nest_abandon(struct scppd_worker *w)
{
	struct scppd_cont *ct = w->cont;

	if (ct->nin.set == CONT_NONE)
		return;
	nest_free(w, &ct->set[ct->nin.set]);
	ct->nin.set = CONT_NONE;
}

void
scppd_cont_nest_wait(struct scppd_worker *w, const struct scpp_net_meta *nm,
		     const struct scpp_wire_hdr *h, uint32_t slot, uint32_t cap)
{
	struct scppd_cont *ct = w->cont;
	struct cont_set *set = &ct->set[ct->nin.set];
	struct cont_nest *n = nest_of(w, set);
	const uint16_t cport = scppd_g.cfg.cluster.port;

	*n = (struct cont_nest){
		.slot = slot, .cap = cap, .peer = nm->peer,
		.self = nm->peer.port == cport && nm->peer.ip == scppd_g.ports[cport].ip,
		.hdr_client = h->client_id, .hdr_block = h->block_id,
	};
	ct->nin.set = CONT_NONE;
	set->busy--;
	cont_set_ready(w, set); /* every part may have failed at launch */
}

/* A status-only answer (COLUMNS with no column, STATUS, END) for @p set's
 * CONT in @p out: its merged answer could not be written. */
static uint32_t
nest_status_answer(struct scppd_worker *w, const struct cont_set *set,
		   const struct scpp_wire_cont_reply *own, uint8_t *out, uint32_t cap, int code)
{
	struct scpp_wire_cont_reply r = {.owner = own->owner, .cont_id = own->cont_id};
	struct scpp_status st;
	int len;

	memset(&st, 0, sizeof(st));
	scpp_status_set(&st, code == -ENOSPC ? -SCPP_E_LIMIT_RESULT : code, "cluster",
			"continuation %" PRIu64 " of block %" PRIu64 ": its answer and those of the "
			"nodes it shipped copy rows to %s; the parts ran", own->cont_id,
			set->block_id, code == -ENOSPC ? "do not fit one datagram" :
			"could not be merged");
	st.block_id = set->block_id;
	st.client = set->client_id;
	st.row = SCPP_STATUS_NO_ROW;
	st.offset = -1;
	(void)scpp_wire_cont_reply_encode(out, SCPP_WIRE_CONT_REPLY_HDR_LEN, &r);
	len = scppd_status_reply_encode(w, &st, out + SCPP_WIRE_CONT_REPLY_HDR_LEN,
					cap - SCPP_WIRE_CONT_REPLY_HDR_LEN);
	return len < 0 ? 0 : SCPP_WIRE_CONT_REPLY_HDR_LEN + (uint32_t)len;
}

/* Set @p set's final answer into @p ans (its own part's answer there now,
 * @p len bytes): rest groups, then records merged. Its new length. */
static uint32_t
nest_merge(struct scppd_worker *w, struct cont_set *set, uint8_t *ans, uint32_t len,
	   uint32_t cap)
{
	struct scppd_cont *ct = w->cont;
	struct scpp_wire_cont_reply own, r;
	struct scpp_wire_reply_writer wr;
	struct scpp_cont_merged mg;
	uint32_t rest_len, n = 1;
	size_t cols;
	int rc;

	if (scpp_wire_cont_reply_decode(ans, len, &own) != 0)
		return len; /* ours: it decodes */
	/* ct->rest: the rest groups; ct->recs: the merged records. */
	if (own.rest_len != 0) /* no rest groups: own.rest is NULL */
		memcpy(ct->rest, own.rest, own.rest_len);
	rest_len = (uint32_t)own.rest_len;
	r = (struct scpp_wire_cont_reply){.owner = own.owner, .cont_id = own.cont_id,
					  .nrest = own.nrest};
	ct->mparts[0] = (struct scpp_cont_part){.records = own.records, .len = own.records_len};
	cols = scpp_cont_columns_len(own.records, own.records_len);
	for (uint32_t i = set->head; i != CONT_NONE; i = ct->part[i].next) {
		struct cont_part *p = &ct->part[i];
		struct scpp_cont_part *mp = &ct->mparts[n++];
		struct scpp_wire_cont_reply pr = {0};

		memset(mp, 0, sizeof(*mp));
		if (p->state == P_DONE &&
		    (scpp_wire_cont_reply_decode(p->ans, p->ans_len, &pr) != 0 ||
		     (scpp_cont_part_check(pr.records, pr.records_len, own.records, cols) != 0 &&
		      scpp_cont_part_check(pr.records, pr.records_len, ct->empty_cols,
					   ct->empty_cols_len) != 0)))
			cont_part_fail(w, p, -SCPP_E_BAD_RECORD, "the answer to continuation %"
				       PRIu64 " from node %u \"%s\" is not a reply of this block; "
				       "its outcome is unknown", p->cont_id, p->node,
				       cont_node_name(p->node));
		if (p->state == P_DONE && (r.nrest + pr.nrest > SCPP_WIRE_CONT_REST_MAX ||
					   rest_len + pr.rest_len > sizeof(ct->rest)))
			cont_part_fail(w, p, -SCPP_E_LIMIT_BYTES, "the rows continuation %" PRIu64
				       " from node %u \"%s\" answered to go on elsewhere do not fit "
				       "one CONT_REPLY; its outcome is unknown", p->cont_id,
				       p->node, cont_node_name(p->node));
		if (p->state == P_DONE) {
			if (pr.rest_len != 0)
				memcpy(ct->rest + rest_len, pr.rest, pr.rest_len);
			rest_len += (uint32_t)pr.rest_len;
			r.nrest = (uint16_t)(r.nrest + pr.nrest);
			mp->records = pr.records;
			mp->len = pr.records_len;
		} else {
			mp->st = &p->st;
			mp->st_oid = scppd_status_oid(w);
		}
	}
	rc = -ENOSPC;
	if (SCPP_WIRE_CONT_REPLY_HDR_LEN + rest_len < cap) {
		scpp_wire_reply_writer_init(&wr, ct->recs, RTE_MIN(sizeof(ct->recs),
						cap - SCPP_WIRE_CONT_REPLY_HDR_LEN - rest_len));
		rc = scpp_cont_merge(&wr, ct->mparts, n,
				     (w->now - set->start_tsc) * 1000000000ull / scppd_g.tsc_hz, &mg);
	}
	if (rc != 0)
		return nest_status_answer(w, set, &own, ans, cap, rc);
	r.flags = r.nrest != 0 ? SCPP_WIRE_CONT_REPLY_F_REST : 0;
	(void)scpp_wire_cont_reply_encode(ans, SCPP_WIRE_CONT_REPLY_HDR_LEN, &r);
	memcpy(ans + SCPP_WIRE_CONT_REPLY_HDR_LEN, ct->rest, rest_len);
	memcpy(ans + SCPP_WIRE_CONT_REPLY_HDR_LEN + rest_len, ct->recs, wr.len);
	return SCPP_WIRE_CONT_REPLY_HDR_LEN + rest_len + (uint32_t)wr.len;
}

void
scppd_cont_nest_ready(struct scppd_worker *w, struct cont_set *set)
{
	struct scppd_cont *ct = w->cont;
	struct cont_nest *n = nest_of(w, set);
	uint8_t *ans = ct->held + (size_t)n->slot * SCPPD_CONT_ANSWER_MAX;
	uint32_t *len = &ct->held_len[n->slot];

	*len = nest_merge(w, set, ans, *len, n->cap);
	nest_free(w, set);
	scpp_counter_add(&w->copy->st.cont_nest_answered, 1);
	(void)scpp_cont_dedup_done(ct->dedup, n->slot, ans, *len, w->now / ct->ms_div);
	w->cont_held++;
	scppd_cont_answer_to(w, &n->peer, n->self, n->hdr_client, n->hdr_block, ans, *len);
}

void
scppd_cont_nest_init(struct scppd_worker *w)
{
	struct scppd_cont *ct = w->cont;

	ct->nest = rte_zmalloc_socket("scppd_cont_nest", sizeof(*ct->nest) * SCPPD_CONT_NEST_MAX,
				      64, (int)rte_lcore_to_socket_id(w->lcore));
	if (ct->nest == NULL)
		rte_exit(EXIT_FAILURE, "scppd: worker %u: nested continuation state: out of "
			 "memory\n", w->idx);
	ct->nin.set = CONT_NONE;
}

void
scppd_cont_nest_free(struct scppd_worker *w)
{
	rte_free(w->cont->nest);
	w->cont->nest = NULL;
}
