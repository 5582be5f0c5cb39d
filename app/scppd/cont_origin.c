/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Continuations, the origin's side (docs/PROTOCOL.md §19, docs/CLUSTER.md
 * §8): a session-less block whose next command must run, for some rows,
 * on another shard is parked (park.c, SCPPD_PARK_CONT), those rows go to
 * their owners as CONT messages, and when every part has answered (or
 * timed out) the block goes on here with the rows that stayed; its reply
 * and the parts' answers are merged into one reply to the client.
 *
 * The star design. Owners never wait: an owner that finds rows that must
 * go on elsewhere answers them as rest groups (cont.c), and the origin —
 * which holds the only parked state — ships each group on as one more
 * part, placed right after the part that returned it, so the merge order
 * is the tree's depth-first order (PROTOCOL.md §19.3). A group this shard
 * owns is run here, as an owner runs a CONT (the same code, on the CONT
 * bytes built for it). A walk /a/b/c/d over three nodes is therefore
 * origin -> n2 -> origin -> n3 -> ... : every hop a CONT from the origin.
 *
 * State. Per worker: cluster.cont.max_pending part records, each with
 * room for one CONT datagram (kept for retransmission) and one answer's
 * records, and one set per park slot (the parts of the block parked there,
 * in merge order). Allocated at start; a block that would need more parts
 * than are free is not split further (E_LIMIT_PENDING, PROTOCOL.md §19.6).
 *
 * Timers. A part not answered after a quarter of cluster.cont.timeout_ms
 * is sent again (same bytes, same id: the owner's record answers it
 * without running it twice), at most three times; at the timeout it is
 * given up: the part's status says its outcome is unknown, naming the
 * node, shard, block and command. Never a hang: the park table's own
 * timeout (delivery.park_timeout_ms) bounds the block in any case.
 *
 * ⊤ fan-out. Rows whose entity at a get is an unbound variable (a scan)
 * also go, as one EVERY part each, to every shard of every other node of
 * the map that is not unreachable (cluster.cont.fan_out, at most
 * cluster.cont.max_fan_out shards), after the owners' parts; each such
 * shard scans its own store and drops the well-known entities it finds
 * (every shard has them: the origin's own scan reports them once).
 *
 * Two shards of one node. A part for another shard of this node goes to
 * its worker through the hand-off ring as the datagram the wire would
 * carry (scppd_peer_handoff(): a frame to the node's own address does not
 * come back through its port), and its answer comes back the same way;
 * everything else (ids, retransmission, the owner's record) is as for a
 * peer.
 *
 * Session blocks (docs/SECURITY.md §9.4 item 9). A part of a block that
 * came in a session carries its principal as CONT extension 1, first in
 * the extension area, sealed once when the part is launched (over the
 * header, and everything after the extension: so retransmissions are the
 * same bytes); the owner runs it with that principal's rights as it
 * verifies them itself, from the IDENTITY pushed to it with the part, and
 * MACs its answer under the part's reply key, which this node checks
 * before it takes the answer. A part that cannot carry the principal (no
 * auth.peers key for its node, a root principal without chains) is not
 * shipped: E_NOT_HERE, nothing run there.
 *
 * Scope of this version: CONTs of one datagram.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <rte_malloc.h>

#include "scpp_status.h"
#include "cont_priv.h"

#define NONE UINT32_MAX
/* Retransmissions of one CONT, at most (PROTOCOL.md §19.4). */
#define RETX_MAX 3u
/* Between two tries while a peer's MAC is being asked (ms). */
#define ARP_WAIT_MS 2u
/* Timer scans per second, at most (every turn would be wasted work). */
#define SCAN_PER_S 2000u

enum part_state {
	P_FREE = 0,
	P_SENT,    /* shipped (or waiting for the owner's MAC), no answer yet */
	P_DONE,    /* answered: its records in ans */
	P_FAILED,  /* no answer to show: its status in st */
};

struct cont_part {
	uint8_t state;
	uint8_t hops;
	uint8_t tries;          /* retransmissions so far */
	uint8_t arp;            /* not sent yet: the owner's MAC is being asked */
	uint8_t flags;          /* the CONT's (SCPP_WIRE_CONT_F_EVERY: a ⊤ fan-out part) */
	uint8_t local;          /* another shard of this node: through the hand-off ring */
	uint8_t sealed;         /* its CONT carries extension 1: its answer must be MAC'd */
	uint16_t start;         /* the command it starts at */
	uint16_t shard;
	uint32_t node;
	uint64_t owner_hi;      /* the owning shard's OID high half */
	uint32_t set;           /* the park slot of its block */
	uint32_t next;          /* merge order in its set; free list */
	uint32_t nrows;
	uint32_t msg_len;       /* CONT bytes in msg */
	uint32_t ans_len;       /* the answer's records in ans */
	uint64_t cont_id;
	uint64_t next_tsc;      /* next try */
	uint64_t deadline_tsc;  /* given up then */
	struct scpp_net_peer to;
	uint8_t msg[SCPPD_CONT_ANSWER_MAX];
	uint8_t ans[SCPPD_CONT_ANSWER_MAX];
	struct scpp_status st;  /* P_FAILED */
	/* Copy sources it carries (cont_copy.c): extensions, and their pins. */
	uint16_t ext_len;
	uint8_t npins;
	uint8_t ext[SCPP_WIRE_CONT_EXT_MAX];
	struct scppd_copy_pin pins[SCPPD_COPY_SRC_MAX];
};

struct cont_set {
	uint8_t active;
	uint8_t sess;           /* a session block: parts carry its principal */
	uint16_t nvars;
	uint32_t head, tail;    /* parts in merge order */
	uint32_t open;          /* parts P_SENT */
	uint32_t busy;          /* answers being taken (not ready meanwhile) */
	uint32_t nparts;
	uint64_t h;             /* the park handle (changes at every park) */
	uint64_t client_id, block_id;
	uint64_t start_tsc;
};

static uint64_t
ms_tsc(uint64_t ms)
{
	return scppd_g.tsc_hz / 1000 * ms;
}

/* ---- parts ---- */

static struct cont_part *
part_new(struct scppd_worker *w, struct cont_set *set, uint32_t si, uint32_t after)
{
	struct scppd_cont *ct = w->cont;
	uint32_t i = ct->free_part;
	struct cont_part *p;

	if (i == NONE)
		return NULL;
	p = &ct->part[i];
	ct->free_part = p->next;
	memset(p, 0, offsetof(struct cont_part, msg));
	p->ext_len = 0;
	p->npins = 0;
	p->set = si;
	/* Merge order: right after @p after (its parent's answer, and the
	 * siblings placed before it), or last. */
	if (after == NONE) {
		p->next = NONE;
		if (set->tail == NONE)
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

static void
set_ready_check(struct scppd_worker *w, struct cont_set *set)
{
	if (set->open == 0 && set->busy == 0)
		(void)scppd_park_ready(w, set->h, SCPPD_PARK_FROM_STOP, 0);
}

static void
part_unsent(struct scppd_worker *w, struct cont_part *p)
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
static __attribute__((format(printf, 4, 5))) void
part_fail(struct scppd_worker *w, struct cont_part *p, int code, const char *fmt, ...)
{
	struct cont_set *set = &w->cont->set[p->set];
	va_list ap;

	part_unsent(w, p);
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

static const char *
node_name(uint32_t id)
{
	const struct scpp_cluster_node *n = scpp_cluster_map_find(scppd_cluster_map(), id);

	return n != NULL ? n->rec.name : "?";
}

/* Write @p p's CONT header and block into p->msg; the rows go at *@p at. */
static int
part_build(struct scppd_worker *w, struct cont_part *p, const struct cont_set *set,
	   uint32_t nrows, uint32_t *at)
{
	/* A session block's principal, first (sealed at launch). */
	uint8_t ext[2 + SCPP_AUTH_FWD_PRINCIPAL_LEN] = {SCPP_WIRE_CONT_EXT_PRINCIPAL,
							SCPP_AUTH_FWD_PRINCIPAL_LEN};
	const uint8_t *blk;
	uint32_t blen;
	struct scpp_wire_cont c = {
		.flags = p->flags, .hops = p->hops, .origin = scppd_g.cfg.node.id,
		.cont_id = p->cont_id,
		.client_id = set->client_id, .block_id = set->block_id, .start = p->start,
		.nvars = set->nvars, .nrows = nrows,
		.timeout_ms = scppd_g.cfg.cluster.cont.timeout_ms,
		.ext_len = p->ext_len, .ext = p->ext,
	};
	int n;

	blk = scppd_park_msg_of(w, set->h, &blen);
	if (blk == NULL)
		return -ESTALE;
	c.block_len = blen;
	if (set->sess) {
		c.ext = ext;
		c.ext_len = sizeof(ext);
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
		p->next_tsc = w->now + ms_tsc(IDENT_WAIT_MS);
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
		part_fail(w, p, -EACCES, "continuation %" PRIu64 " of block %" PRIu64 " (commands "
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
		part_fail(w, p, rc, "%s", why);
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
		part_fail(w, p, -SCPP_E_NOT_HERE, "continuation of block %" PRIu64 " (commands "
			  "%u..) for node %u \"%s\", shard %u: not shipped, the session's principal "
			  "cannot be carried there (no auth.peers key for the node, or a root "
			  "principal without chains); nothing was run", set->block_id, p->start,
			  p->node, node_name(p->node), p->shard);
		return false;
	}
	p->sealed = 1;
	return true;
}

/* The CONT of part @p p is in p->msg: ship it (or run it here). */
static void
part_launch(struct scppd_worker *w, struct cont_part *p)
{
	struct scppd_cont *ct = w->cont;
	const struct scpp_config_cluster_cont *cf = &scppd_g.cfg.cluster.cont;
	struct cont_set *set = &ct->set[p->set];
	int rc;

	if (p->node == scppd_g.cfg.node.id) {
		if (p->shard == w->shard) {
			part_run_here(w, p);
			return;
		}
		if (scppd_g.shard_worker[p->shard] == SCPPD_NO_WORKER) {
			part_fail(w, p, -SCPP_E_NOT_HERE, "continuation %" PRIu64 " of block %" PRIu64
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
		part_fail(w, p, -SCPP_E_NOT_HERE, "continuation %" PRIu64 " of block %" PRIu64
			  " (commands %u..) to node %u \"%s\", shard %u: the node is unknown or "
			  "unreachable; nothing was run", p->cont_id, set->block_id, p->start,
			  p->node, node_name(p->node), p->shard);
		return;
	}
	p->state = P_SENT;
	set->open++;
	w->cont_out++;
	p->deadline_tsc = w->now + ms_tsc(cf->timeout_ms);
	if (rc == -EAGAIN) {
		p->arp = 1; /* asked; tried again shortly, within the same deadline */
		p->next_tsc = w->now + ms_tsc(ARP_WAIT_MS);
		return;
	}
	p->next_tsc = w->now + ms_tsc(cf->timeout_ms) / (RETX_MAX + 1);
	part_send(w, p, false);
}

/* The limits every part meets before it is built (PROTOCOL.md §19.6). */
static bool
part_limits(struct scppd_worker *w, struct cont_part *p, const struct cont_set *set)
{
	const struct scpp_config_cluster_cont *cf = &scppd_g.cfg.cluster.cont;

	if (p->hops > cf->max_hops) {
		part_fail(w, p, -SCPP_E_LIMIT_HOPS, "continuation of block %" PRIu64 " (commands "
			  "%u..) for node %u \"%s\", shard %u: it would be %u deep, "
			  "cluster.cont.max_hops is %u; nothing was run", set->block_id, p->start,
			  p->node, node_name(p->node), p->shard, p->hops, cf->max_hops);
		return false;
	}
	if (p->nrows > cf->max_rows) {
		part_fail(w, p, -SCPP_E_LIMIT_ROWS, "continuation of block %" PRIu64 " (commands "
			  "%u..) for node %u \"%s\", shard %u: %u rows, cluster.cont.max_rows is %u; "
			  "nothing was run", set->block_id, p->start, p->node, node_name(p->node),
			  p->shard, p->nrows, cf->max_rows);
		return false;
	}
	return true;
}

static void
part_too_big(struct scppd_worker *w, struct cont_part *p, const struct cont_set *set)
{
	part_fail(w, p, -SCPP_E_LIMIT_BYTES, "continuation of block %" PRIu64 " (commands %u..) "
		  "for node %u \"%s\", shard %u: the block and its %u rows do not fit one "
		  "datagram of %zu bytes; nothing was run", set->block_id, p->start, p->node,
		  node_name(p->node), p->shard, p->nrows, sizeof(p->msg));
}

/* Ship rest group @p g of part @p parent's answer as a new part after @p after. */
static struct cont_part *
ship_rest(struct scppd_worker *w, struct cont_part *parent, uint32_t after,
	  const struct scpp_wire_cont_rest *g)
{
	struct cont_set *set = &w->cont->set[parent->set];
	struct cont_part *p = part_new(w, set, parent->set, after);
	uint32_t at;

	if (p == NULL)
		return NULL;
	p->hops = (uint8_t)(parent->hops + 1);
	p->start = g->start;
	p->owner_hi = g->shard;
	p->node = scpp_oid_node((struct scpp_oid){.hi = g->shard});
	p->shard = scpp_oid_shard((struct scpp_oid){.hi = g->shard});
	p->nrows = g->nrows;
	if (!part_limits(w, p, set))
		return p;
	if (part_build(w, p, set, g->nrows, &at) != 0 || g->rows_len > sizeof(p->msg) - at) {
		part_too_big(w, p, set);
		return p;
	}
	memcpy(p->msg + at, g->rows, g->rows_len);
	p->msg_len = at + g->rows_len;
	part_launch(w, p);
	return p;
}

/* Part @p p's CONT_REPLY message (@p msg, @p len bytes): keep its records,
 * ship its rest groups on. */
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
	if (rc != 0 || r.records_len > sizeof(p->ans)) {
		part_fail(w, p, rc != 0 ? rc : -SCPP_E_BAD_LENGTH, "the answer to continuation %"
			  PRIu64 " from node %u \"%s\" does not decode: %s; its outcome is unknown",
			  p->cont_id, p->node, node_name(p->node), scpp_strerror(rc));
		return;
	}
	part_unsent(w, p);
	memcpy(p->ans, r.records, r.records_len);
	p->ans_len = (uint32_t)r.records_len;
	p->state = P_DONE;
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

/* ---- the park consumer ---- */

static bool
c_wants(struct scppd_worker *w, const struct scpp_wire_block *b)
{
	const struct scpp_cluster_map *m = scppd_cluster_map();

	/* On a cluster; not a request a peer forwarded here (one hop). A
	 * session block's parts carry its principal (SECURITY.md §9.4). */
	return m != NULL && m->nb_nodes > 1 && w->carry == NULL &&
	       scpp_eval_block_may_split(b, w->env.node);
}

/* The shards of the map a ⊤ fan-out reaches from this one: every shard of
 * every other node that is not unreachable, in map order. */
static unsigned int
fan_out_shards(const struct scpp_cluster_map *m)
{
	unsigned int n = 0;

	for (unsigned int i = 0; m != NULL && i < m->nb_nodes; i++)
		if (m->nodes[i].state == SCPP_CLUSTER_SELF)
			n += m->nodes[i].rec.nb_shards - 1u; /* not this one */
		else if (m->nodes[i].state != SCPP_CLUSTER_UNREACHABLE)
			n += m->nodes[i].rec.nb_shards;
	return n;
}

static enum scpp_eval_verdict
c_before_cmd(struct scppd_worker *w, const struct scpp_wire_block *b, uint16_t cmd, size_t nrows,
	     uint64_t *user)
{
	unsigned int where = scppd_cont_rows_where(w, b, cmd, nrows);

	*user = 0;
	/* A scan stops only if it has somewhere else to go. */
	if ((where & SCPPD_ROWS_ANY) &&
	    (!scppd_g.cfg.cluster.cont.fan_out || fan_out_shards(scppd_cluster_map()) == 0))
		where &= ~SCPPD_ROWS_ANY;
	return where != 0 ? SCPP_EVAL_SUSPEND : SCPP_EVAL_GO;
}

/*
 * The rows of stopped suspension @p s that scan (⊤, their entity unbound at
 * @p cmd) also run on every other shard of the map, as EVERY parts after
 * the owners' (PROTOCOL.md §19.3). @p here / @p nhere: the rows that stay.
 */
static void
fan_out(struct scppd_worker *w, struct cont_set *set, uint32_t si, struct scpp_eval_susp *s,
	const struct scpp_wire_block *b, uint16_t cmd, const uint32_t *here, uint32_t nhere)
{
	struct scppd_cont *ct = w->cont;
	const struct scpp_config_cluster_cont *cf = &scppd_g.cfg.cluster.cont;
	const struct scpp_cluster_map *m = scppd_cluster_map();
	struct scpp_eval_rows rows;
	uint32_t nany = 0;

	if (scpp_eval_susp_rows(s, &rows) != 0)
		return;
	for (uint32_t k = 0; k < nhere; k++)
		if (scpp_eval_row_where(b, cmd, &rows, here[k], w->env.node, NULL) == SCPP_EVAL_ANY)
			ct->idx2[nany++] = here[k];
	if (nany == 0)
		return;
	if (fan_out_shards(m) > cf->max_fan_out) {
		struct cont_part *p = part_new(w, set, si, NONE);

		if (p == NULL)
			return; /* counted by the caller's check: there was room */
		p->hops = 1;
		p->start = cmd;
		p->node = scppd_g.cfg.node.id;
		p->shard = w->shard;
		p->owner_hi = w->env.node.hi;
		part_fail(w, p, -SCPP_E_TOO_MANY, "the scan at command %u of block %" PRIu64
			  " would run on %u other shards, cluster.cont.max_fan_out is %u; it covered "
			  "this shard only", cmd, set->block_id, fan_out_shards(m), cf->max_fan_out);
		return;
	}
	for (unsigned int i = 0; i < m->nb_nodes; i++) {
		const struct scpp_cluster_node *n = &m->nodes[i];

		if (n->state == SCPP_CLUSTER_UNREACHABLE)
			continue;
		for (unsigned int j = 0; j < n->rec.nb_shards; j++) {
			struct cont_part *p;
			uint32_t at;
			long len;

			if (n->state == SCPP_CLUSTER_SELF && n->rec.shards[j] == w->shard)
				continue; /* this shard scans itself */
			p = part_new(w, set, si, NONE);
			if (p == NULL)
				return; /* the caller checked for room */
			p->flags = SCPP_WIRE_CONT_F_EVERY;
			p->hops = 1;
			p->start = cmd;
			p->node = n->rec.id;
			p->shard = n->rec.shards[j];
			p->owner_hi = (uint64_t)n->rec.locale << 48 | (uint64_t)n->rec.id << 16 |
				      n->rec.shards[j];
			p->nrows = nany;
			scpp_counter_add(&w->stats.cont_fan_out, 1);
			if (!part_limits(w, p, set))
				continue;
			if (part_build(w, p, set, nany, &at) != 0 ||
			    (len = scpp_eval_susp_rows_encode(s, ct->idx2, nany, p->msg + at,
							      sizeof(p->msg) - at)) < 0) {
				part_too_big(w, p, set);
				continue;
			}
			p->msg_len = at + (uint32_t)len;
			part_launch(w, p);
		}
	}
}

static void
c_parked(struct scppd_worker *w, uint64_t h, const struct scpp_wire_block *b, uint16_t cmd,
	 uint64_t user)
{
	struct scppd_cont *ct = w->cont;
	uint32_t si = (uint32_t)h;
	struct cont_set *set = &ct->set[si];
	struct scpp_eval_susp *s = scppd_park_susp_of(w, h);
	struct scpp_eval_split sp;
	uint32_t free_parts = 0, need;
	int rc;

	(void)user;
	if (!set->active) {
		memset(set, 0, sizeof(*set));
		set->active = 1;
		set->sess = w->env.auth != NULL; /* the block's, as it ran until now */
		set->head = set->tail = NONE;
		set->nvars = b->nvars;
		set->start_tsc = w->now;
		(void)scppd_park_ids_of(w, h, &set->client_id, &set->block_id);
	}
	set->h = h;
	scpp_counter_add(&w->stats.cont_splits, 1);
	rc = scpp_eval_susp_split(s, b, w->env.node, ct->idx, 2 * SCPPD_CONT_ROWS_MAX, &sp);
	need = sp.nowners;
	if (sp.nany != 0 && scppd_g.cfg.cluster.cont.fan_out)
		need += RTE_MAX(1u, fan_out_shards(scppd_cluster_map()));
	for (uint32_t i = ct->free_part; rc == 0 && i != NONE && free_parts < need;
	     i = ct->part[i].next)
		free_parts++;
	if (rc != 0 || free_parts < need) {
		(void)scppd_park_abort(w, h, rc != 0 ? rc : -SCPP_E_LIMIT_PENDING, rc != 0 ?
				       "the block's rows could not be split" :
				       "not split: cluster.cont.max_pending continuations are held "
				       "on this worker already");
		return;
	}
	set->busy++;
	for (uint16_t g = 0; g < sp.nowners; g++) {
		struct cont_part *p = part_new(w, set, si, NONE);
		uint32_t at;
		long n;

		p->hops = 1;
		p->start = cmd;
		p->owner_hi = sp.part[g].owner.hi;
		p->node = scpp_oid_node(sp.part[g].owner);
		p->shard = scpp_oid_shard(sp.part[g].owner);
		p->nrows = sp.part[g].n;
		if (!part_limits(w, p, set))
			continue;
		/* A session block's copy rows get no COPY_SOURCE: the source
		 * side does not check the carried principal's right to read
		 * the source yet (docs/COPY.md "Remote copies"), so such a row
		 * meets E_NOT_HERE at the destination's owner, as before. */
		n = set->sess ? 0 :
			scppd_cont_copy_sources(w, b, cmd, s, ct->idx + sp.part[g].first,
						sp.part[g].n, p->ext, sizeof(p->ext), p->pins,
						&p->npins);
		p->ext_len = n > 0 ? (uint16_t)n : 0;
		if (part_build(w, p, set, sp.part[g].n, &at) != 0 ||
		    (n = scpp_eval_susp_rows_encode(s, ct->idx + sp.part[g].first, sp.part[g].n,
						    p->msg + at, sizeof(p->msg) - at)) < 0) {
			part_too_big(w, p, set);
			continue;
		}
		p->msg_len = at + (uint32_t)n;
		part_launch(w, p);
	}
	if (sp.nany != 0 && scppd_g.cfg.cluster.cont.fan_out)
		fan_out(w, set, si, s, b, cmd, ct->idx, sp.nhere);
	/* The rows that stay go on here, from this command, once every part
	 * has answered (the scanning rows scan this shard then). */
	rc = scpp_eval_susp_keep(s, ct->idx, sp.nhere);
	set->busy--;
	if (rc != 0)
		(void)scppd_park_abort(w, h, rc, "the block's rows could not be split");
	else
		set_ready_check(w, set);
}

/* The block ended: its own reply (part 0) and its parts' answers, merged. */
static void
c_reply(struct scppd_worker *w, uint32_t slot, uint8_t *buf, uint32_t cap, uint32_t *len)
{
	struct scppd_cont *ct = w->cont;
	struct cont_set *set = slot < ct->nset ? &ct->set[slot] : NULL;
	struct scpp_wire_reply_writer wr;
	struct scpp_cont_merged mg;
	size_t cols;
	unsigned int n = 1;
	int rc;

	if (set == NULL || !set->active || set->nparts == 0 || *len > ct->merge_cap)
		return;
	memcpy(ct->merge, buf, *len);
	ct->mparts[0] = (struct scpp_cont_part){.records = ct->merge, .len = *len};
	cols = scpp_cont_columns_len(ct->merge, *len);
	for (uint32_t i = set->head; i != NONE; i = ct->part[i].next) {
		struct cont_part *p = &ct->part[i];
		struct scpp_cont_part *mp = &ct->mparts[n++];

		memset(mp, 0, sizeof(*mp));
		/* An answer with the block's columns, or a refusal (no column). */
		if (p->state == P_DONE &&
		    scpp_cont_part_check(p->ans, p->ans_len, ct->merge, cols) != 0 &&
		    scpp_cont_part_check(p->ans, p->ans_len, ct->empty_cols, ct->empty_cols_len) != 0)
			part_fail(w, p, -SCPP_E_BAD_RECORD, "the answer to continuation %" PRIu64
				  " from node %u \"%s\" is not a reply of this block; its outcome "
				  "is unknown", p->cont_id, p->node, node_name(p->node));
		if (p->state == P_DONE) {
			mp->records = p->ans;
			mp->len = p->ans_len;
		} else {
			if (p->state == P_SENT) /* unreachable: resumed once all answered */
				part_fail(w, p, -SCPP_E_OUTCOME_UNKNOWN, "continuation %" PRIu64
					  " had not answered when its block ended", p->cont_id);
			mp->st = &p->st;
			mp->st_oid = scppd_status_oid(w);
		}
	}
	scpp_wire_reply_writer_init(&wr, buf, cap);
	rc = scpp_cont_merge(&wr, ct->mparts, n,
			     (w->now - set->start_tsc) * 1000000000ull / scppd_g.tsc_hz, &mg);
	*len = (uint32_t)wr.len;
	if (rc != 0) {
		struct scpp_status st;
		int slen;

		memset(&st, 0, sizeof(st));
		scpp_status_set(&st, rc == -ENOSPC ? -SCPP_E_LIMIT_RESULT : rc, "cluster",
				"block %" PRIu64 ": the merged reply of its %u parts %s; the parts "
				"ran", set->block_id, n, rc == -ENOSPC ?
				"does not fit eval.max_result_bytes" : "could not be written");
		st.block_id = set->block_id;
		st.client = set->client_id;
		st.row = SCPP_STATUS_NO_ROW;
		st.offset = -1;
		slen = scppd_status_reply_encode(w, &st, buf, cap);
		*len = slen < 0 ? 0 : (uint32_t)slen;
	}
	scpp_counter_add(&w->stats.cont_merged, 1);
}

static void
c_freed(struct scppd_worker *w, uint32_t slot)
{
	struct scppd_cont *ct = w->cont;
	struct cont_set *set;
	uint32_t i, next;

	if (ct == NULL || slot >= ct->nset || !ct->set[slot].active)
		return;
	set = &ct->set[slot];
	for (i = set->head; i != NONE; i = next) {
		struct cont_part *p = &ct->part[i];

		next = p->next;
		part_unsent(w, p);
		scppd_cont_copy_unpin(w, p->pins, &p->npins);
		p->state = P_FREE;
		p->next = ct->free_part;
		ct->free_part = i;
	}
	set->active = 0;
}

static const struct scppd_park_ops cont_ops = {
	.wants = c_wants,
	.before_cmd = c_before_cmd,
	.parked = c_parked,
	.reply = c_reply,
	.freed = c_freed,
	.name = "continuation",
};

void
scppd_cont_register(void)
{
	const struct scpp_config_cluster *cl = &scppd_g.cfg.cluster;

	/* Only where there can be other nodes: a lone node (the embedded
	 * default) keeps every block on the park table's one-load path. */
	if (cl->cont.enabled && (cl->source == SCPP_CONFIG_CLUSTER_ETCD || cl->nb_nodes > 1))
		scppd_park_register(SCPPD_PARK_CONT, &cont_ops);
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
	set_ready_check(w, &ct->set[p->set]);
}

static void
part_timer(struct scppd_worker *w, struct cont_part *p)
{
	const struct scpp_config_cluster_cont *cf = &scppd_g.cfg.cluster.cont;
	struct cont_set *set = &w->cont->set[p->set];

	if (w->now >= p->deadline_tsc) {
		scpp_counter_add(&w->stats.cont_timed_out, 1);
		scppd_peer_cont_count(w, p->node, SCPPD_PEER_CONT_TIMED_OUT);
		part_fail(w, p, -SCPP_E_OUTCOME_UNKNOWN, "continuation %" PRIu64 " of block %" PRIu64
			  " (commands %u..) to node %u \"%s\", shard %u: no answer within %u ms; "
			  "its outcome is unknown", p->cont_id, set->block_id, p->start, p->node,
			  node_name(p->node), p->shard, cf->timeout_ms);
		set_ready_check(w, set);
		return;
	}
	if (w->now < p->next_tsc)
		return;
	if (p->arp) {
		int rc = scppd_peer_addr(w, p->node, p->shard,
					 (uint16_t)(scppd_g.base_port + 1 + w->shard), &p->to);

		if (rc == -EAGAIN) {
			p->next_tsc = w->now + ms_tsc(ARP_WAIT_MS);
			return;
		}
		if (rc != 0) {
			part_fail(w, p, -SCPP_E_NOT_HERE, "continuation %" PRIu64 " of block %"
				  PRIu64 " (commands %u..) to node %u \"%s\": no answer to ARP; "
				  "nothing was run", p->cont_id, set->block_id, p->start, p->node,
				  node_name(p->node));
			set_ready_check(w, set);
			return;
		}
		p->arp = 0;
		p->next_tsc = w->now + ms_tsc(cf->timeout_ms) / (RETX_MAX + 1);
		part_send(w, p, false);
		return;
	}
	if (p->tries >= RETX_MAX) {
		p->next_tsc = p->deadline_tsc;
		return;
	}
	p->tries++;
	p->next_tsc = w->now + ms_tsc(cf->timeout_ms) / (RETX_MAX + 1);
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
}

/* ---- start and stop ---- */

void
scppd_cont_origin_init(struct scppd *d, struct scppd_worker *w)
{
	struct scppd_cont *ct = w->cont;
	int socket = (int)rte_lcore_to_socket_id(w->lcore);
	struct scpp_wire_reply_writer wr;
	uint32_t n = d->cfg.cluster.cont.max_pending;

	ct->npart = n;
	ct->nset = d->cfg.delivery.max_parked;
	ct->part = rte_zmalloc_socket("scppd_cont_parts", sizeof(*ct->part) * n, 64, socket);
	ct->set = rte_zmalloc_socket("scppd_cont_sets", sizeof(*ct->set) * ct->nset, 64, socket);
	ct->mparts = rte_zmalloc_socket("scppd_cont_mparts", sizeof(*ct->mparts) * (n + 1), 64,
					socket);
	ct->merge_cap = d->cfg.eval.max_result_bytes + 4096; /* lib/delivery's reply_max */
	ct->merge = rte_malloc_socket("scppd_cont_merge", ct->merge_cap, 64, socket);
	if (ct->part == NULL || ct->set == NULL || ct->mparts == NULL || ct->merge == NULL)
		rte_exit(EXIT_FAILURE, "scppd: worker %u: %u continuation records of %zu bytes: "
			 "out of memory (cluster.cont.max_pending)\n", w->idx, n, sizeof(*ct->part));
	for (uint32_t i = 0; i < n; i++)
		ct->part[i].next = i + 1 < n ? i + 1 : NONE;
	ct->free_part = n > 0 ? 0 : NONE;
	scpp_wire_reply_writer_init(&wr, ct->empty_cols, sizeof(ct->empty_cols));
	(void)scpp_wire_reply_columns(&wr, NULL, 0);
	ct->empty_cols_len = (uint32_t)wr.len;
}

void
scppd_cont_origin_free(struct scppd_worker *w)
{
	struct scppd_cont *ct = w->cont;

	rte_free(ct->part);
	rte_free(ct->set);
	rte_free(ct->mparts);
	rte_free(ct->merge);
	ct->part = NULL;
	ct->set = NULL;
	w->cont_out = 0;
}
