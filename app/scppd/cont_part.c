/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Continuations, the sender's part table (docs/PROTOCOL.md §19, docs/CLUSTER.md
 * §8): one record per CONT this worker shipped and waits for, in a set of
 * parts that answer together. Two kinds of sender use it:
 *
 * - the origin (cont_origin.c): a set per park slot, the parts of a block
 *   parked there; their answers are merged into the block's reply, their
 *   rest groups shipped on as more parts of the set;
 * - a nested sender (cont_nest.c): the source's owner of a third-party
 *   copy (docs/COPY.md "Third-party copies"), a set per CONT it runs and
 *   has not answered yet; its parts' answers are kept whole (rest groups
 *   included) and merged into the answer to its own sender.
 *
 * What is the same for both is here: building, sealing, launching (or
 * running here), retransmitting and giving up a part, and matching its
 * answer. A set's end is the only thing the two kinds do differently
 * (cont_set_ready()).
 */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "scpp_status.h"
#include "cont_priv.h"

/* Retransmissions of one CONT, at most (PROTOCOL.md §19.4). */
#define RETX_MAX 3u
/* Between two tries while a peer's MAC is being asked (ms). */
#define ARP_WAIT_MS 2u
/* Timer scans per second, at most (every turn would be wasted work). */
#define SCAN_PER_S 2000u

/* ---- parts ---- */

struct cont_part *
cont_part_new(struct scppd_worker *w, struct cont_set *set, uint32_t si, uint32_t after)
{
	struct scppd_cont *ct = w->cont;
	uint32_t i = ct->free_part;
	struct cont_part *p;

	if (i == CONT_NONE)
		return NULL;
	p = &ct->part[i];
	ct->free_part = p->next;
	memset(p, 0, offsetof(struct cont_part, msg));
	p->ext_len = 0;
	p->npins = 0;
	p->set = si;
	p->wait_ms = scppd_g.cfg.cluster.cont.timeout_ms;
	/* Merge order: right after @p after (its parent's answer, and the
	 * siblings placed before it), or last. */
	if (after == CONT_NONE) {
		p->next = CONT_NONE;
		if (set->tail == CONT_NONE)
			set->head = i;
		else
			ct->part[set->tail].next = i;
		set->tail = i;
	} else {
		p->next = ct->part[after].next;
		ct->part[after].next = i;
		if (set->tail == after)
			set->tail = i;
	}
	set->nparts++;
	/* Unique among this worker's continuations: worker, sequence, record. */
	p->cont_id = (uint64_t)(w->idx + 1u) << 56 | (++ct->seq & 0xffffffffffull) << 16 |
		     (i & 0xffff);
	return p;
}

static uint32_t
part_idx(const struct scppd_worker *w, const struct cont_part *p)
{
	return (uint32_t)(p - w->cont->part);
}

void
cont_set_ready(struct scppd_worker *w, struct cont_set *set)
{
	if (set->open != 0 || set->busy != 0)
		return;
	if (set->nest)
		scppd_cont_nest_ready(w, set);
	else
		(void)scppd_park_ready(w, set->h, SCPPD_PARK_FROM_STOP, 0);
}

void
cont_part_unsent(struct scppd_worker *w, struct cont_part *p)
{
	if (p->state == P_SENT) {
		w->cont->set[p->set].open--;
		w->cont_out--;
	}
}

/* A sealed part whose owner was just sent the principal's IDENTITY is
 * tried again this soon (ms): its first try usually arrives before the
 * owner has verified the chains, and is dropped there (carried_miss). */
#define IDENT_WAIT_MS 20u

/* Part @p p has no answer to show: its status (code, message) in its place. */
void
cont_part_fail(struct scppd_worker *w, struct cont_part *p, int code, const char *fmt, ...)
{
	struct cont_set *set = &w->cont->set[p->set];
	va_list ap;

	cont_part_unsent(w, p);
	memset(&p->st, 0, sizeof(p->st));
	va_start(ap, fmt);
	scpp_status_setv(&p->st, code, "cluster", fmt, ap);
	va_end(ap);
	p->st.node = w->env.node;
	p->st.core = w->shard;
	p->st.block_id = set->block_id;
	p->st.client = set->client_id;
	p->st.command = p->start;
	p->st.row = SCPP_STATUS_NO_ROW;
	p->st.offset = -1;
	p->st.owner = (struct scpp_oid){.hi = p->owner_hi};
	p->state = P_FAILED;
	scpp_counter_add(&w->stats.cont_part_failed, 1);
}

const char *
cont_node_name(uint32_t id)
{
	const struct scpp_cluster_node *n = scpp_cluster_map_find(scppd_cluster_map(), id);

	return n != NULL ? n->rec.name : "?";
}

int
cont_part_build(struct scppd_worker *w, struct cont_part *p, const struct cont_set *set,
		uint32_t nrows, uint32_t *at)
{
	const uint8_t *blk;
	uint32_t blen;

	blk = scppd_park_msg_of(w, set->h, &blen);
	if (blk == NULL)
		return -ESTALE;
	return cont_part_write(p, set, blk, blen, nrows, at);
}

int
cont_part_write(struct cont_part *p, const struct cont_set *set, const uint8_t *blk,
		uint32_t blen, uint32_t nrows, uint32_t *at)
{
	/* A session block's principal, first (sealed at launch), then the
	 * part's other extensions (COPY_SOURCE). */
	uint8_t ext[SCPP_WIRE_CONT_EXT_MAX] = {SCPP_WIRE_CONT_EXT_PRINCIPAL,
					       SCPP_AUTH_FWD_PRINCIPAL_LEN};
	struct scpp_wire_cont c = {
		.flags = p->flags, .hops = p->hops, .origin = scppd_g.cfg.node.id,
		.cont_id = p->cont_id,
		.client_id = set->client_id, .block_id = set->block_id, .start = p->start,
		.nvars = set->nvars, .nrows = nrows,
		.timeout_ms = p->wait_ms, .block_len = blen,
		.ext_len = p->ext_len, .ext = p->ext,
	};
	int n;

	if (set->sess) {
		if (2u + SCPP_AUTH_FWD_PRINCIPAL_LEN + p->ext_len > sizeof(ext))
			return -ENOSPC;
		memcpy(ext + 2 + SCPP_AUTH_FWD_PRINCIPAL_LEN, p->ext, p->ext_len);
		c.ext = ext;
		c.ext_len = (uint16_t)(2 + SCPP_AUTH_FWD_PRINCIPAL_LEN + p->ext_len);
	}
	n = scpp_wire_cont_encode(p->msg, sizeof(p->msg), &c);
	if (n < 0 || (size_t)n + blen >= sizeof(p->msg))
		return -ENOSPC;
	memcpy(p->msg + n, blk, blen);
	*at = (uint32_t)n + blen;
	return 0;
}

static void take_answer(struct scppd_worker *w, struct cont_part *p, const uint8_t *msg,
			uint32_t len);

/* Send (or first send) @p p's CONT. */
static void
part_send(struct scppd_worker *w, struct cont_part *p, bool again)
{
	int rc;

	if (p->local)
		rc = scppd_peer_handoff(w, p->shard, (uint16_t)(scppd_g.base_port + 1 + w->shard),
					SCPP_WIRE_CONT, scppd_g.cfg.node.id, p->cont_id, p->msg,
					p->msg_len);
	else
		rc = scppd_peer_send(w, &p->to, SCPP_WIRE_CONT, scppd_g.cfg.node.id, p->cont_id,
				     NULL, 0, p->msg, p->msg_len);
	if (rc > 0)
		scpp_counter_add(&w->stats.cont_tx_full, (uint64_t)rc);
	/* The owner needs the principal's chains to run a sealed part: with
	 * every send (at most once a second per session and owner). */
	if (p->sealed && !p->local &&
	    scppd_auth_ident_push(w, w->cont->set[p->set].client_id, p->node, &p->to) &&
	    !again)
		p->next_tsc = w->now + cont_ms_tsc(IDENT_WAIT_MS);
	/* A frame not taken (or no mbuf) is a lost datagram: the next try
	 * sends it again. */
	scpp_counter_add(again ? &w->stats.cont_retransmitted : &w->stats.cont_shipped, 1);
	scppd_peer_cont_count(w, p->node, again ? SCPPD_PEER_CONT_RETX : SCPPD_PEER_CONT_SENT);
}

/* Run part @p p, whose shard is this worker's, here: as an owner runs a
 * CONT, from the bytes built for it. */
static void
part_run_here(struct scppd_worker *w, struct cont_part *p)
{
	struct scppd_cont *ct = w->cont;
	struct scpp_wire_cont c;
	char why[SCPP_STATUS_MSG_MAX];
	uint32_t len = 0;
	int rc;

	const struct cont_set *set = &ct->set[p->set];
	const struct scpp_auth_authority *au = NULL;

	scpp_counter_add(&w->stats.cont_local, 1);
	/* A session block's part runs with its session's rights, looked up
	 * again (the session may have closed while the block waited). */
	if (set->sess && (w->auth == NULL ||
			  (au = scpp_auth_table_authority(w->auth, set->client_id, w->now_ns)) == NULL)) {
		cont_part_fail(w, p, -EACCES, "continuation %" PRIu64 " of block %" PRIu64 " (commands "
			  "%u..): the session closed while the block waited; nothing was run",
			  p->cont_id, set->block_id, p->start);
		return;
	}
	rc = scpp_wire_cont_decode(p->msg, p->msg_len, &c);
	if (rc == 0)
		rc = scppd_cont_exec(w, &c, au, ct->lans, sizeof(ct->lans), &len, why,
				     sizeof(why));
	else
		snprintf(why, sizeof(why), "continuation %" PRIu64 " does not decode: %s",
			 p->cont_id, scpp_strerror(rc));
	if (rc != 0) {
		cont_part_fail(w, p, rc, "%s", why);
		return;
	}
	take_answer(w, p, ct->lans, len);
}

/* A session block's part @p p carries its principal: seal extension 1 over
 * the finished CONT. false: it cannot (failed, E_NOT_HERE). */
static bool
part_seal(struct scppd_worker *w, struct cont_part *p, const struct cont_set *set)
{
	if (scppd_auth_cont_seal(w, set->client_id, p->node, p->cont_id, p->msg,
				 p->msg_len) != 0) {
		cont_part_fail(w, p, -SCPP_E_NOT_HERE, "continuation of block %" PRIu64 " (commands "
			  "%u..) for node %u \"%s\", shard %u: not shipped, the session's principal "
			  "cannot be carried there (no auth.peers key for the node, or a root "
			  "principal without chains); nothing was run", set->block_id, p->start,
			  p->node, cont_node_name(p->node), p->shard);
		return false;
	}
	p->sealed = 1;
	return true;
}

/* The CONT of part @p p is in p->msg: ship it (or run it here). */
void
cont_part_launch(struct scppd_worker *w, struct cont_part *p)
{
	struct scppd_cont *ct = w->cont;
	struct cont_set *set = &ct->set[p->set];
	int rc;

	if (p->node == scppd_g.cfg.node.id) {
		if (p->shard == w->shard) {
			part_run_here(w, p);
			return;
		}
		if (scppd_g.shard_worker[p->shard] == SCPPD_NO_WORKER) {
			cont_part_fail(w, p, -SCPP_E_NOT_HERE, "continuation %" PRIu64 " of block %" PRIu64
				  " (commands %u..): no worker of this node has shard %u; nothing "
				  "was run", p->cont_id, set->block_id, p->start, p->shard);
			return;
		}
		/* Another shard of this node: its worker, through the ring. */
		p->local = 1;
		if (set->sess && !part_seal(w, p, set))
			return;
		memset(&p->to, 0, sizeof(p->to));
		p->to.ip = scppd_g.ports[scppd_g.cfg.cluster.port].ip;
		rc = 0;
	} else {
		if (set->sess && !part_seal(w, p, set))
			return;
		rc = scppd_peer_addr(w, p->node, p->shard,
				     (uint16_t)(scppd_g.base_port + 1 + w->shard), &p->to);
	}
	if (rc == -EHOSTUNREACH) {
		cont_part_fail(w, p, -SCPP_E_NOT_HERE, "continuation %" PRIu64 " of block %" PRIu64
			  " (commands %u..) to node %u \"%s\", shard %u: the node is unknown or "
			  "unreachable; nothing was run", p->cont_id, set->block_id, p->start,
			  p->node, cont_node_name(p->node), p->shard);
		return;
	}
	p->state = P_SENT;
	set->open++;
	w->cont_out++;
	p->deadline_tsc = w->now + cont_ms_tsc(p->wait_ms);
	if (rc == -EAGAIN) {
		p->arp = 1; /* asked; tried again shortly, within the same deadline */
		p->next_tsc = w->now + cont_ms_tsc(ARP_WAIT_MS);
		return;
	}
	p->next_tsc = w->now + cont_ms_tsc(p->wait_ms) / (RETX_MAX + 1);
	part_send(w, p, false);
}

/* The limits every part meets before it is built (PROTOCOL.md §19.6). */
bool
cont_part_limits(struct scppd_worker *w, struct cont_part *p, const struct cont_set *set)
{
	const struct scpp_config_cluster_cont *cf = &scppd_g.cfg.cluster.cont;

	if (p->hops > cf->max_hops) {
		cont_part_fail(w, p, -SCPP_E_LIMIT_HOPS, "continuation of block %" PRIu64 " (commands "
			  "%u..) for node %u \"%s\", shard %u: it would be %u deep, "
			  "cluster.cont.max_hops is %u; nothing was run", set->block_id, p->start,
			  p->node, cont_node_name(p->node), p->shard, p->hops, cf->max_hops);
		return false;
	}
	if (p->nrows > cf->max_rows) {
		cont_part_fail(w, p, -SCPP_E_LIMIT_ROWS, "continuation of block %" PRIu64 " (commands "
			  "%u..) for node %u \"%s\", shard %u: %u rows, cluster.cont.max_rows is %u; "
			  "nothing was run", set->block_id, p->start, p->node, cont_node_name(p->node),
			  p->shard, p->nrows, cf->max_rows);
		return false;
	}
	return true;
}

void
cont_part_too_big(struct scppd_worker *w, struct cont_part *p, const struct cont_set *set)
{
	cont_part_fail(w, p, -SCPP_E_LIMIT_BYTES, "continuation of block %" PRIu64 " (commands %u..) "
		  "for node %u \"%s\", shard %u: the block and its %u rows do not fit one "
		  "datagram of %zu bytes; nothing was run", set->block_id, p->start, p->node,
		  cont_node_name(p->node), p->shard, p->nrows, sizeof(p->msg));
}

/* Ship rest group @p g of part @p parent's answer as a new part after @p after. */
static struct cont_part *
ship_rest(struct scppd_worker *w, struct cont_part *parent, uint32_t after,
	  const struct scpp_wire_cont_rest *g)
{
	struct cont_set *set = &w->cont->set[parent->set];
	struct cont_part *p = cont_part_new(w, set, parent->set, after);
	uint32_t at;

	if (p == NULL)
		return NULL;
	p->hops = (uint8_t)(parent->hops + 1);
	p->start = g->start;
	p->owner_hi = g->shard;
	p->node = scpp_oid_node((struct scpp_oid){.hi = g->shard});
	p->shard = scpp_oid_shard((struct scpp_oid){.hi = g->shard});
	p->nrows = g->nrows;
	if (!cont_part_limits(w, p, set))
		return p;
	if (cont_part_build(w, p, set, g->nrows, &at) != 0 || g->rows_len > sizeof(p->msg) - at) {
		cont_part_too_big(w, p, set);
		return p;
	}
	memcpy(p->msg + at, g->rows, g->rows_len);
	p->msg_len = at + g->rows_len;
	cont_part_launch(w, p);
	return p;
}

/* Part @p p's CONT_REPLY message (@p msg, @p len bytes): keep its records,
 * ship its rest groups on. A nested set's part keeps the whole message:
 * its rest groups go back to the nested sender's own sender. */
static void
take_answer(struct scppd_worker *w, struct cont_part *p, const uint8_t *msg, uint32_t len)
{
	struct cont_set *set = &w->cont->set[p->set];
	struct scpp_wire_cont_reply r;
	struct scpp_wire_cont_rest g;
	uint32_t after = part_idx(w, p);
	size_t off = 0;
	int rc;

	rc = scpp_wire_cont_reply_decode(msg, len, &r);
	if (rc != 0 || r.records_len > sizeof(p->ans) || (set->nest && len > sizeof(p->ans))) {
		cont_part_fail(w, p, rc != 0 ? rc : -SCPP_E_BAD_LENGTH, "the answer to continuation %"
			  PRIu64 " from node %u \"%s\" does not decode: %s; its outcome is unknown",
			  p->cont_id, p->node, cont_node_name(p->node), scpp_strerror(rc));
		return;
	}
	cont_part_unsent(w, p);
	p->state = P_DONE;
	if (set->nest) {
		memcpy(p->ans, msg, len); /* len <= sizeof(p->ans): one datagram */
		p->ans_len = len;
		return;
	}
	if (r.records_len != 0) /* no records: r.records is NULL */
		memcpy(p->ans, r.records, r.records_len);
	p->ans_len = (uint32_t)r.records_len;
	set->busy++;
	while (scpp_wire_cont_rest_next(&r, &off, &g) == 1) {
		struct cont_part *q = ship_rest(w, p, after, &g);

		if (q == NULL) {
			(void)scppd_park_abort(w, set->h, -SCPP_E_LIMIT_PENDING,
					       "the rows a continuation answered could not go on: "
					       "cluster.cont.max_pending continuations are held "
					       "on this worker already");
			break;
		}
		after = part_idx(w, q);
	}
	set->busy--;
}

/* ---- answers and timers ---- */

void
scppd_cont_origin_rx(struct scppd_worker *w, const struct scpp_net_meta *nm,
		     const struct scpp_wire_hdr *h)
{
	struct scppd_cont *ct = w->cont;
	struct scpp_wire_cont_reply r;
	struct cont_part *p;
	uint32_t i, len = h->payload_len;

	if (scpp_wire_cont_reply_decode(h->payload, h->payload_len, &r) != 0 ||
	    r.cont_id != h->block_id) {
		scpp_counter_add(&w->stats.cont_bad, 1);
		return;
	}
	i = (uint32_t)(r.cont_id & 0xffff);
	p = i < ct->npart ? &ct->part[i] : NULL;
	/* Ours, still waiting, from the node and address it went to: else a
	 * late or duplicate answer (its part was answered or given up). */
	if (p == NULL || p->state != P_SENT || p->cont_id != r.cont_id || p->node != r.owner ||
	    h->client_id != scppd_g.cfg.node.id || p->to.ip != nm->peer.ip) {
		scpp_counter_add(&w->stats.cont_reply_stale, 1);
		return;
	}
	if (p->sealed) {
		/* The owner's MAC, under this part's reply key: else not its answer. */
		long n = scppd_auth_cont_reply_open(w, p->cont_id, p->node, h->payload,
						    h->payload_len);

		if (n < 0)
			return; /* counted: cont_reply_bad */
		len = (uint32_t)n;
	}
	scpp_counter_add(&w->stats.cont_answered, 1);
	scppd_peer_cont_count(w, p->node, SCPPD_PEER_CONT_ANSWERED);
	take_answer(w, p, h->payload, len);
	cont_set_ready(w, &ct->set[p->set]);
}

static void
part_timer(struct scppd_worker *w, struct cont_part *p)
{
	struct cont_set *set = &w->cont->set[p->set];

	if (w->now >= p->deadline_tsc) {
		scpp_counter_add(&w->stats.cont_timed_out, 1);
		scppd_peer_cont_count(w, p->node, SCPPD_PEER_CONT_TIMED_OUT);
		cont_part_fail(w, p, -SCPP_E_OUTCOME_UNKNOWN, "continuation %" PRIu64 " of block %" PRIu64
			  " (commands %u..) to node %u \"%s\", shard %u: no answer within %u ms; "
			  "its outcome is unknown", p->cont_id, set->block_id, p->start, p->node,
			  cont_node_name(p->node), p->shard, p->wait_ms);
		cont_set_ready(w, set);
		return;
	}
	if (w->now < p->next_tsc)
		return;
	if (p->arp) {
		int rc = scppd_peer_addr(w, p->node, p->shard,
					 (uint16_t)(scppd_g.base_port + 1 + w->shard), &p->to);

		if (rc == -EAGAIN) {
			p->next_tsc = w->now + cont_ms_tsc(ARP_WAIT_MS);
			return;
		}
		if (rc != 0) {
			cont_part_fail(w, p, -SCPP_E_NOT_HERE, "continuation %" PRIu64 " of block %"
				  PRIu64 " (commands %u..) to node %u \"%s\": no answer to ARP; "
				  "nothing was run", p->cont_id, set->block_id, p->start, p->node,
				  cont_node_name(p->node));
			cont_set_ready(w, set);
			return;
		}
		p->arp = 0;
		p->next_tsc = w->now + cont_ms_tsc(p->wait_ms) / (RETX_MAX + 1);
		part_send(w, p, false);
		return;
	}
	if (p->tries >= RETX_MAX) {
		p->next_tsc = p->deadline_tsc;
		return;
	}
	p->tries++;
	p->next_tsc = w->now + cont_ms_tsc(p->wait_ms) / (RETX_MAX + 1);
	part_send(w, p, true);
}

void
scppd_cont_origin_tick(struct scppd_worker *w)
{
	struct scppd_cont *ct = w->cont;

	if (w->now < ct->next_scan)
		return;
	ct->next_scan = w->now + scppd_g.tsc_hz / SCAN_PER_S;
	for (uint32_t i = 0; i < ct->npart && w->cont_out != 0; i++)
		if (ct->part[i].state == P_SENT)
			part_timer(w, &ct->part[i]);
		else if (ct->part[i].state == P_GRACE && w->now >= ct->part[i].next_tsc)
			scppd_cont_nest_grace_end(w, &ct->part[i]);
}
