/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker loop: what happens to every frame, as verdicts of the
 * libraries acted upon here.
 *
 *   rx burst -> lib/net: drop | ARP/ICMP answer (tx at once) | datagram
 *     -> lib/delivery: drop | fragment held | BLOCK message | FETCH
 *        -> lib/wire: decode up to the command naming the owner
 *        -> lib/route: this worker -> the stage (below)
 *                      another worker -> SPSC ring, owner and request in
 *                        the mbuf's private area; the owner decodes once
 *                      another node -> a FORWARD to it (forward.c)
 *                      unreachable / no route -> E_NOT_HERE
 *   each iteration: hand-offs in (through the stage too), paced tx from
 *   lib/delivery's backlog, housekeeping (lib/delivery's timeouts), RCU
 *   quiescent state, idle back-off.
 *
 * The stage (MICA/VPP style). The single-datagram blocks of one rx burst
 * that run here are not run one by one as they are parsed: the whole burst
 * is parsed and decoded first, then the store lines the blocks' keyed gets
 * will read are prefetched for all of them (buckets, then entries, so that
 * every block's misses are in flight together), then the blocks are
 * evaluated in arrival order, each reply built straight into its request's
 * frame when it is one datagram, and those frames leave in tx bursts of
 * SCPPD_TX_CHUNK as they are made.
 * Prefetching changes nothing, and evaluation stays in order, so results
 * are those of running the blocks one by one. Anything that is not a
 * single-datagram block for this worker (a reassembled message, a FETCH, a
 * hand-off chain) first runs what the stage holds, so nothing overtakes.
 *
 * Hot-path rules (STYLE §4): no heap allocation (mbufs come from the
 * port's mempool; everything else was allocated at start), no locks, no
 * system calls or printf per packet. A block handed over is never routed
 * again (no ping-pong). Replies leave from the owner's tx queue.
 */

#include <string.h>

#include <rte_cycles.h>
#include <rte_prefetch.h>

#include "scppd.h"

enum route_kind {
	ROUTE_LOCAL,
	ROUTE_WORKER,
	ROUTE_REMOTE,
	ROUTE_NONE,
};

/*
 * Nanoseconds from the TSC without a division (it is read at the start and
 * end of every block): ns = tsc * mult >> 40 with mult = 10^9 * 2^40 / hz,
 * one 64x64->128 multiply. The product fits: tsc < 2^64, and mult < 2^50
 * for any TSC of 1 MHz or more (2^40 for 1 GHz or more). Rounding mult
 * down loses under one part in mult (4.5e11 at 2.45 GHz), about 0.1 ms per
 * year of uptime, the same for every reading: intervals, all the evaluator
 * uses, are exact to a few ns.
 */
static uint64_t clock_mult;

void
scppd_clock_init(uint64_t tsc_hz)
{
	clock_mult = (uint64_t)(((unsigned __int128)UINT64_C(1000000000) << 40) / tsc_hz);
}

uint64_t
scppd_clock_ns(void)
{
	return (uint64_t)(((unsigned __int128)rte_get_tsc_cycles() * clock_mult) >> 40);
}

/*
 * Where a message runs: by its owner OID if it names one (docs/PROTOCOL.md
 * §17), else by the UDP port it was sent to (lib/net admitted only the base
 * port and local shards' ports).
 */
static inline enum route_kind
route_to(struct scppd_worker *w, const struct scpp_oid *owner, uint16_t dport_be,
	 uint16_t *widx, struct scpp_route_result *res)
{
	const struct scppd *d = &scppd_g;
	uint16_t dport = rte_be_to_cpu_16(dport_be), i;

	if (owner != NULL) {
		if (scpp_route_lookup(d->routes, *owner, res) != 0)
			return ROUTE_NONE;
		if (res->node != d->cfg.node.id)
			return ROUTE_REMOTE;
		i = d->shard_worker[res->core];
		if (unlikely(i == SCPPD_NO_WORKER))
			return ROUTE_NONE;
	} else {
		if (dport == d->base_port)
			return ROUTE_LOCAL;
		i = d->shard_worker[dport - d->base_port - 1];
		if (i != w->idx)
			scpp_counter_add(&w->stats.handoff_port, 1);
	}
	*widx = i;
	return i == w->idx ? ROUTE_LOCAL : ROUTE_WORKER;
}

/* Copy a reassembled message into a fresh mbuf chain for a hand-off. */
static struct rte_mbuf *
chain_from(struct rte_mempool *pool, const uint8_t *msg, uint32_t len)
{
	struct rte_mbuf *head = NULL, *m;
	uint32_t off = 0, n;

	do {
		m = rte_pktmbuf_alloc(pool);
		if (m == NULL)
			goto fail;
		n = RTE_MIN(len - off, (uint32_t)rte_pktmbuf_tailroom(m));
		memcpy(rte_pktmbuf_append(m, (uint16_t)n), msg + off, n);
		off += n;
		if (head == NULL) {
			head = m;
		} else if (rte_pktmbuf_chain(head, m) != 0) {
			rte_pktmbuf_free(m);
			goto fail;
		}
	} while (off < len);
	return head;
fail:
	rte_pktmbuf_free(head);
	return NULL;
}

/*
 * Pass a message to worker @p to. The frame @p m travels when it holds the
 * message; a reassembled one (in->slot >= 0) is copied into a chain.
 * Returns true if @p m was consumed.
 */
static bool
handoff(struct scppd_worker *w, struct rte_mbuf *m, const struct scpp_delivery_in *in,
	const struct scpp_oid *owner, uint16_t to)
{
	struct rte_mbuf *mb = m;
	struct scppd_meta *md;

	if (in->slot >= 0) {
		mb = chain_from(scppd_g.ports[in->req.peer.port].pool, in->msg, in->msg_len);
		if (mb == NULL) {
			scpp_counter_add(&w->stats.msg_drops[SCPPD_MSG_NO_MBUF], 1);
			return false;
		}
	}
	md = scppd_meta_of(mb);
	md->auth = 0;
	md->req = in->req;
	if (unlikely(in->req.session & SCPP_DELIVERY_CARRIED))
		md->carry = *w->carry;
	md->owner = owner != NULL ? *owner : SCPP_OID_NIL;
	md->by_port = owner == NULL;
	md->msg_off = in->slot >= 0 ? 0 : (uint32_t)(in->msg - rte_pktmbuf_mtod(mb, uint8_t *));
	md->msg_len = in->msg_len;
	if (unlikely(rte_ring_sp_enqueue(w->out[to], mb) != 0)) {
		scpp_counter_add(&w->stats.msg_drops[SCPPD_MSG_HANDOFF_FULL], 1);
		rte_pktmbuf_free(mb);
		return true;
	}
	scpp_counter_add(&w->stats.handoff_out, 1);
	return mb == m;
}

/* ---- the stage ---- */

static inline void
free_later(struct scppd_worker *w, struct rte_mbuf *m)
{
	if (unlikely(w->nfree == SCPP_ARRAY_SIZE(w->dfree))) {
		rte_pktmbuf_free_bulk(w->dfree, w->nfree);
		w->nfree = 0;
	}
	w->dfree[w->nfree++] = m;
}

/* Send the direct reply frames of port @p pi in w->dtx[] (and keep the
 * others for the next call); the ones the queue did not take go to the
 * backlog and their mbufs are freed. */
static void
dtx_flush_port(struct scppd_worker *w, uint16_t pi)
{
	struct rte_mbuf *ms[SCPPD_BURST];
	struct scpp_delivery_direct tk[SCPPD_BURST];
	const uint8_t *frames[SCPPD_BURST];
	uint16_t n = 0, keep = 0, sent;

	for (uint16_t i = 0; i < w->ndtx; i++) {
		if (w->dtk[i].to.port == pi) {
			ms[n] = w->dtx[i];
			tk[n++] = w->dtk[i];
		} else {
			w->dtx[keep] = w->dtx[i];
			w->dtk[keep++] = w->dtk[i];
		}
	}
	w->ndtx = keep;
	sent = rte_eth_tx_burst(scppd_g.ports[pi].port_id, w->txq[pi], ms, n);
	/* The frames not taken still hold their datagrams (an unheld reply's
	 * only copy): lib/delivery reads them before they are freed. */
	for (uint16_t i = sent; i < n; i++)
		frames[i] = rte_pktmbuf_mtod(ms[i], const uint8_t *);
	scpp_delivery_tx_direct_done(w->dlv, tk, frames, n, sent, w->now);
	if (sent < n)
		rte_pktmbuf_free_bulk(ms + sent, n - sent);
}

/*
 * Run what the stage holds: decode each block whole, prefetch the store
 * lines of all of them, evaluate them in order (each with its prefetch's
 * hashes), send their frames.
 */
static void
stage_run(struct scppd_worker *w)
{
	uint16_t i, n = w->nstage;

	w->nstage = 0;
	for (i = 0; i < n; i++) {
		struct scppd_staged *st = &w->stage[i];
		uint32_t err_off = 0;
		int rc;

		rc = st->whole ? scpp_wire_block_decode(st->msg, st->len, st->blk, &err_off)
			       : scpp_wire_block_decode_rest(&st->cur, st->blk, &err_off);
		st->dead = rc != 0;
		if (unlikely(rc != 0)) {
			scppd_reject(w, &st->req, rc, err_off, st->len);
			continue;
		}
		scpp_eval_prefetch(w->ectx, &w->env, st->blk, &st->pf);
	}
	for (i = 0; i < n; i++)
		if (!w->stage[i].dead)
			scpp_eval_prefetch_entries(&w->env, &w->stage[i].pf);
	for (i = 0; i < n; i++) {
		struct scppd_staged *st = &w->stage[i];
		bool kept;

		/* The fast path looks the block's gets up with the hashes its
		 * prefetch computed (each key hashed once); cleared after, so
		 * that no other evaluation meets this block's. */
		if (!st->dead)
			scpp_eval_use_prefetch(w->ectx, &st->pf);
		kept = !st->dead && scppd_exec_decoded(w, &st->req, st->blk, st->m, st->msg, st->len);
		scpp_eval_use_prefetch(w->ectx, NULL);
		if (!kept)
			free_later(w, st->m);
		/* Replies leave in chunks, not all at the burst's end: the
		 * first block of a full burst does not wait for the other 31
		 * to be evaluated (the tail of the round trip under bursts). */
		if (w->ndtx >= SCPPD_TX_CHUNK && i + 1 < n)
			while (w->ndtx > 0)
				dtx_flush_port(w, w->dtk[0].to.port);
	}
	while (w->ndtx > 0)
		dtx_flush_port(w, w->dtk[0].to.port);
	if (w->nfree > 0) {
		rte_pktmbuf_free_bulk(w->dfree, w->nfree);
		w->nfree = 0;
	}
}

/* The next stage slot, with its own decode target (it holds a message only
 * once w->nstage counts it). */
static inline struct scppd_staged *
stage_slot(struct scppd_worker *w)
{
	struct scppd_staged *st = &w->stage[w->nstage];

	st->blk = &w->stage_blk[w->nstage];
	return st;
}

/* A complete BLOCK message received here. Returns true if @p m was consumed. */
static bool
rx_block(struct scppd_worker *w, struct rte_mbuf *m, const struct scpp_delivery_in *in)
{
	struct scpp_route_result res;
	struct scpp_oid owner = SCPP_OID_NIL;
	struct scpp_wire_block_cursor *cur = &w->cur;
	struct scpp_wire_block *blk = w->blk;
	struct scppd_staged *st = NULL;
	uint32_t err_off = 0;
	uint16_t to = 0;
	int rc;

	/* A single-datagram block is decoded into the next stage slot, so
	 * that it can wait there; a reassembled one runs at once, and so does
	 * a carried one (its verified extension is w->carry, for now only). */
	if (in->slot < 0 && likely(!(in->req.session & SCPP_DELIVERY_CARRIED))) {
		st = stage_slot(w);
		cur = &st->cur;
		blk = st->blk;
	} else {
		stage_run(w);
	}
	rc = scpp_wire_block_decode_begin(cur, in->msg, in->msg_len, blk, &err_off);
	if (rc == 0)
		rc = scpp_wire_block_decode_owner(cur, blk, &owner, &err_off);
	if (unlikely(rc < 0)) {
		scppd_reject(w, &in->req, rc, err_off, in->msg_len);
		return false;
	}
	switch (route_to(w, rc == 1 ? &owner : NULL, in->req.peer.local_udp_port, &to, &res)) {
	case ROUTE_LOCAL:
		if (st != NULL) {
			st->req = in->req;
			st->m = m;
			st->msg = in->msg;
			st->len = in->msg_len;
			st->whole = 0;
			w->nstage++;
			return true; /* the stage frees or sends it */
		}
		scppd_exec_block(w, &in->req, in->msg, in->msg_len, true);
		return false;
	case ROUTE_WORKER:
		return handoff(w, m, in, rc == 1 ? &owner : NULL, to);
	default:
		/* Another node's: forwarded to it (it answers the client; a
		 * session's with its principal, SECURITY.md §9.4), or
		 * E_NOT_HERE when it cannot be (unreachable, no route, no
		 * peer key for a session's owner, a carried request). */
		if (scppd_forward(w, in, &res) == SCPPD_FWD_NO)
			scppd_not_here(w, &in->req, owner, &res);
		return false;
	}
}

/* A FETCH received here: it goes where its block's owner is. */
static bool
rx_fetch(struct scppd_worker *w, struct rte_mbuf *m, const struct scpp_delivery_in *in)
{
	struct scpp_route_result res;
	bool has = !scpp_oid_is_nil(in->owner);
	uint16_t to = 0;

	stage_run(w); /* a FETCH for a block in the stage must find its reply */
	switch (route_to(w, has ? &in->owner : NULL, in->req.peer.local_udp_port, &to, &res)) {
	case ROUTE_LOCAL:
		scppd_exec_fetch(w, &in->req, in->msg, in->msg_len);
		return false;
	case ROUTE_WORKER:
		return handoff(w, m, in, has ? &in->owner : NULL, to);
	default:
		/* Another node holds its reply: the FETCH follows the block
		 * there. No node does: nothing this one can send. */
		scpp_counter_add(&w->stats.fetch_remote, 1);
		if (scppd_forward(w, in, &res) == SCPPD_FWD_NO)
			scpp_delivery_notice(w->dlv, &in->req, SCPP_NOTICE_NO_REPLY, w->now);
		return false;
	}
}

static void
tx_answer(struct scppd_worker *w, uint16_t pi, struct rte_mbuf *m, uint16_t len)
{
	m->data_len = len;
	m->pkt_len = len;
	m->ol_flags = 0;
	rte_eth_tx_buffer(scppd_g.ports[pi].port_id, w->txq[pi], w->txb[pi], m);
	w->answers_buffered = 1;
}

/* Magic, version and a continuation kind (docs/PROTOCOL.md §5, §19). */
static inline bool
is_cont(const uint8_t *d, uint16_t len)
{
	return len > 3 && d[0] == SCPP_WIRE_MAGIC0 && d[1] == SCPP_WIRE_MAGIC1 &&
	       d[2] == SCPP_WIRE_VERSION && (d[3] == SCPP_WIRE_CONT || d[3] == SCPP_WIRE_CONT_REPLY);
}

/* A FORWARD's request: from a peer, and its principal's extension checked
 * (a session request then runs as the client's, w->carry). */
static bool
rx_forwarded(struct scppd_worker *w, const struct scpp_net_meta *nm, struct scpp_delivery_in *in,
	     struct scppd_carry *carry)
{
	int rc;

	if (!scppd_forward_from_peer(w, nm->peer.ip, &nm->peer.mac))
		return false;
	rc = scppd_auth_fwd_in(w, in, carry);
	if (rc < 0)
		return false;
	w->carry = rc == 1 ? carry : NULL;
	return true;
}

/*
 * A datagram lib/net delivered (here, or on another worker for this one's
 * lane: @p handed): the session layer first (auth.c: handshakes go to the
 * control lcore, session datagrams are verified), then lib/delivery.
 */
static void
rx_dgram(struct scppd_worker *w, struct rte_mbuf *m, const struct scpp_net_meta *nm, bool handed)
{
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	struct scpp_delivery_in in;
	struct scppd_carry carry;
	bool consumed = false;
	uint8_t sess;

	switch (scppd_auth_rx(w, m, nm, &sess, handed)) {
	case SCPPD_AUTH_TAKEN:
		return;
	case SCPPD_AUTH_DROPPED:
		free_later(w, m);
		return;
	case SCPPD_AUTH_PASS:
		break;
	}
	/* Continuations (kinds 6, 7) are node-to-node messages lib/delivery
	 * does not take: cont.c answers them itself. Anything that does not
	 * start like one goes on to lib/delivery, which counts its drop
	 * reason. */
	if (unlikely(is_cont(frame + nm->l4_off, nm->l4_len))) {
		scppd_cont_rx(w, nm, frame + nm->l4_off);
		free_later(w, m);
		return;
	}
	/* lib/delivery marks session requests from the header; the address
	 * proof is the session layer's to give. */
	in.req.session = 0;
	switch (scpp_delivery_rx(w->dlv, nm, frame + nm->l4_off, w->now, &in)) {
	case SCPP_DELIVERY_BLOCK:
		if (unlikely(in.fwd.hops != 0) && !rx_forwarded(w, nm, &in, &carry))
			break;
		in.req.session |= sess & SCPP_DELIVERY_PROVEN;
		consumed = rx_block(w, m, &in);
		w->carry = NULL;
		break;
	case SCPP_DELIVERY_FETCH:
		if (unlikely(in.fwd.hops != 0) && !rx_forwarded(w, nm, &in, &carry))
			break;
		in.req.session |= sess & SCPP_DELIVERY_PROVEN;
		consumed = rx_fetch(w, m, &in);
		w->carry = NULL;
		break;
	default:
		break; /* dropped (counted) or a fragment kept (copied) */
	}
	scpp_delivery_release(w->dlv, in.slot);
	if (!consumed)
		free_later(w, m);
}

/* One received frame (single-item helper of the rx burst loop). */
static inline void
rx_one(struct scppd_worker *w, uint16_t pi, struct rte_mbuf *m)
{
	uint8_t *frame = rte_pktmbuf_mtod(m, uint8_t *);
	struct scpp_net_meta nm;

	switch (scpp_net_rx(&scppd_g.net, pi, frame, m->pkt_len, m->data_len, m->ol_flags, &nm,
			    &w->net_st)) {
	case SCPP_NET_ANSWER:
		if (nm.arp)
			scppd_forward_learn(nm.peer.ip, &nm.peer.mac);
		tx_answer(w, pi, m, nm.answer_len);
		return;
	case SCPP_NET_NEIGH:
		scppd_forward_learn(nm.peer.ip, &nm.peer.mac);
		free_later(w, m);
		return;
	case SCPP_NET_DROP:
		free_later(w, m);
		return;
	case SCPP_NET_DELIVER:
		break;
	}
	rx_dgram(w, m, &nm, false);
}

/* Not inlined: perf/daemon-instructions counts the rx-to-tx path as this
 * function's inclusive cost (one call per burst: no cost worth inlining). */
static __rte_noinline void
rx_burst(struct scppd_worker *w, uint16_t pi, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t i;

	for (i = 0; i < n && i < SCPPD_PREFETCH; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (i = 0; i < n; i++) {
		if (i + SCPPD_PREFETCH < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + SCPPD_PREFETCH], void *));
		rx_one(w, pi, pkts[i]);
	}
	stage_run(w);
}

/* A message another worker routed here: a block in one mbuf waits in the
 * stage (its mbuf is the frame it came in, which can carry the reply);
 * anything else runs at once, after the stage. */
static inline void
handoff_one(struct scppd_worker *w, struct rte_mbuf *mb)
{
	const struct scppd_meta *md = scppd_meta_of(mb);
	const uint8_t *msg;

	if (unlikely(md->auth == SCPPD_AUTH_RAW)) {
		/* A session datagram for this lane, received elsewhere. */
		struct scpp_net_meta nm = md->nm;

		scpp_counter_add(&w->stats.auth_handoff_in, 1);
		rx_dgram(w, mb, &nm, true);
		return;
	}
	scpp_counter_add(&w->stats.handoff_in, 1);
	if (mb->nb_segs == 1 && md->req.kind == SCPP_WIRE_BLOCK &&
	    likely(!(md->req.session & SCPP_DELIVERY_CARRIED))) {
		struct scppd_staged *st = stage_slot(w);

		st->req = md->req;
		st->m = mb;
		st->msg = rte_pktmbuf_mtod_offset(mb, const uint8_t *, md->msg_off);
		st->len = md->msg_len;
		st->whole = 1;
		w->nstage++;
		return;
	}
	stage_run(w);
	if (mb->nb_segs == 1)
		msg = rte_pktmbuf_mtod_offset(mb, const uint8_t *, md->msg_off);
	else
		msg = rte_pktmbuf_read(mb, 0, md->msg_len, w->msg_buf);
	if (unlikely(md->req.session & SCPP_DELIVERY_CARRIED))
		w->carry = &md->carry;
	if (md->req.kind == SCPP_WIRE_FETCH)
		scppd_exec_fetch(w, &md->req, msg, md->msg_len);
	else
		scppd_exec_block(w, &md->req, msg, md->msg_len, false);
	w->carry = NULL;
	rte_pktmbuf_free(mb);
}

/*
 * Send what lib/delivery has queued for one port: frames are built into
 * fresh mbufs only as far as the tx queue takes them; the rest are freed
 * and built again later (nothing queued is lost to a full ring).
 */
static unsigned int
tx_pace(struct scppd_worker *w, unsigned int pi)
{
	const struct scppd_port *p = &scppd_g.ports[pi];
	struct rte_mbuf *ms[SCPPD_BURST];
	uint8_t *frames[SCPPD_BURST];
	uint16_t lens[SCPPD_BURST], made, sent, n, i;
	unsigned int total = 0;
	uint32_t pend;
	uint64_t ol;

	/* Most turns have nothing queued: only the test. */
	pend = scpp_delivery_tx_pending(w->dlv, (uint16_t)pi);
	if (likely(pend == 0))
		return 0;
	ol = scpp_net_tx_offload_flags(&scppd_g.net, (uint16_t)pi);
	for (int r = 0; r < SCPPD_TX_ROUNDS; r++) {
		if (r != 0)
			pend = scpp_delivery_tx_pending(w->dlv, (uint16_t)pi);
		if (pend == 0)
			break;
		n = (uint16_t)RTE_MIN((uint32_t)SCPPD_BURST, pend);
		if (unlikely(rte_pktmbuf_alloc_bulk(p->pool, ms, n) != 0)) {
			scpp_counter_add(&w->stats.tx_no_mbuf, 1);
			break;
		}
		for (i = 0; i < n; i++)
			frames[i] = rte_pktmbuf_mtod(ms[i], uint8_t *);
		made = scpp_delivery_tx_prepare(w->dlv, (uint16_t)pi, frames, n, lens, w->now);
		for (i = 0; i < made; i++) {
			ms[i]->data_len = lens[i];
			ms[i]->pkt_len = lens[i];
			if (ol != 0) {
				ms[i]->ol_flags = ol;
				ms[i]->l2_len = RTE_ETHER_HDR_LEN;
				ms[i]->l3_len = sizeof(struct rte_ipv4_hdr);
			}
		}
		sent = rte_eth_tx_burst(p->port_id, w->txq[pi], ms, made);
		scpp_delivery_tx_done(w->dlv, (uint16_t)pi, sent);
		if (sent < n)
			rte_pktmbuf_free_bulk(ms + sent, n - sent);
		total += sent;
		if (sent < made)
			break; /* the ring is full: the rest waits */
	}
	return total;
}

/*
 * The cost of the blocks of one loop turn (docs/OPERATIONS.md, "What a
 * block costs"): the TSC cycles from the turn's start (w->now, before its
 * rx polls) to the end of its tx (the stage's direct frames, forwards and
 * the paced backlog all leave before this is called), counted only when
 * the turn evaluated or forwarded blocks, and split between the two by
 * their counts. The loop reads the TSC there anyway; the division only when a turn
 * did both. @p ex0: the executed counter at the turn's start; @p end: the
 * TSC at the end of its tx.
 */
static inline void
turn_cost(struct scppd_worker *w, uint64_t ex0, uint64_t end)
{
	const uint64_t a = w->stats.executed - ex0, f = w->turn_fwd;
	uint64_t c, ca;

	if (likely(a + f == 0))
		return;
	c = end - w->now;
	ca = f == 0 ? c : a == 0 ? 0 : c * a / (a + f);
	if (a != 0) {
		scpp_counter_add(&w->stats.answer_cycles, ca);
		scpp_counter_add(&w->stats.answered_blocks, a);
	}
	if (f != 0) {
		scpp_counter_add(&w->stats.forward_cycles, c - ca);
		scpp_counter_add(&w->stats.forwarded_blocks, f);
	}
}

/* ---- what the loop's turns cost (struct scppd_loop_stats) ---- */

static void
loop_stats_init(struct scppd_worker *w)
{
	uint64_t us = scppd_g.tsc_hz / 1000000;

	w->loop_shift = 0;
	while (us > 1 && (UINT64_C(2) << w->loop_shift) <= us)
		w->loop_shift++;
	w->loop_long = us * SCPPD_LOOP_LONG_US;
}

/* Section @p s ran from @p t0 to @p t1. */
static inline void
loop_sect(struct scppd_worker *w, enum scppd_loop_sect s, uint64_t t0, uint64_t t1)
{
	const uint64_t c = t1 - t0;

	w->loop.sect_cycles[s] += c;
	if (unlikely(c > w->loop.sect_max[s]))
		__atomic_store_n(&w->loop.sect_max[s], c, __ATOMIC_RELAXED);
	if (unlikely(c > w->loop_long))
		w->loop.sect_long[s]++;
}

/* A turn starts at @p now; the previous one started at @p prev (0: none). */
static inline void
loop_turn(struct scppd_worker *w, uint64_t prev, uint64_t now)
{
	uint64_t g, u;
	unsigned int k;

	w->loop.turns++;
	if (unlikely(prev == 0))
		return;
	g = now - prev;
	u = (g >> w->loop_shift) | 1;
	k = 63u - (unsigned int)__builtin_clzll(u);
	w->loop.gap[k < SCPPD_LOOP_BUCKETS ? k : SCPPD_LOOP_BUCKETS - 1]++;
	if (unlikely(g > w->loop.gap_max))
		__atomic_store_n(&w->loop.gap_max, g, __ATOMIC_RELAXED);
}

static void
tx_flush_answers(struct scppd_worker *w)
{
	unsigned int i;

	w->answers_buffered = 0;
	for (i = 0; i < scppd_g.nb_ports; i++)
		rte_eth_tx_buffer_flush(scppd_g.ports[i].port_id, w->txq[i], w->txb[i]);
}

int
scppd_worker_main(void *arg)
{
	struct scppd_worker *w = arg;
	struct scppd *d = &scppd_g;
	struct rte_mbuf *pkts[SCPPD_BURST];
	uint64_t last_drain = rte_rdtsc(), t4 = 0;
	uint32_t idle = 0, sleep_us = 1;
	const uint32_t max_sleep = d->cfg.idle.max_sleep_us;
	const bool backoff = d->cfg.idle.enabled;
	unsigned int i, work;
	uint16_t n;

	rte_rcu_qsbr_thread_register(d->qsbr, w->idx);
	rte_rcu_qsbr_thread_online(d->qsbr, w->idx);
	SCPPD_LOG(INFO, "worker %u: lcore %u, shard %u, %u rx queues", w->idx, w->lcore, w->shard,
		  w->nb_rxq);
	/* Relaxed is enough for the stop flag: it carries no data with it,
	 * and the worker only needs to see it eventually. */
	loop_stats_init(w);
	while (!__atomic_load_n(&d->stop, __ATOMIC_RELAXED)) {
		const uint64_t ex0 = w->stats.executed;
		uint64_t t1, t2, t3;

		work = 0;
		w->turn_fwd = 0;
		t3 = w->now;
		w->now = rte_rdtsc();
		if (likely(t4 != 0))
			loop_sect(w, SCPPD_LOOP_FLUSH, t4, w->now);
		loop_turn(w, t3, w->now);
		if (w->auth != NULL) {
			w->now_ns = (uint64_t)((int64_t)scppd_clock_ns() + d->realtime_off_ns);
			work += scppd_auth_poll(w);
		}
		for (i = 0; i < w->nb_rxq; i++) {
			n = rte_eth_rx_burst(d->ports[w->rxq[i].port].port_id, w->rxq[i].queue,
					     pkts, SCPPD_BURST);
			if (n != 0) {
				rx_burst(w, w->rxq[i].port, pkts, n);
				work += n;
			}
		}
		t1 = rte_rdtsc();
		loop_sect(w, SCPPD_LOOP_RX, w->now, t1);
		for (i = 0; i < w->nb_in; i++) {
			uint16_t k;

			n = (uint16_t)rte_ring_sc_dequeue_burst(w->in[i], (void **)pkts, SCPPD_BURST,
								NULL);
			for (k = 0; k < n; k++)
				handoff_one(w, pkts[k]);
			stage_run(w);
			work += n;
		}
		t2 = t1;
		if (w->nb_in != 0) {
			t2 = rte_rdtsc();
			loop_sect(w, SCPPD_LOOP_HANDOFF, t1, t2);
		}
		for (i = 0; i < d->nb_ports; i++)
			work += tx_pace(w, i);
		t3 = rte_rdtsc();
		turn_cost(w, ex0, t3);
		loop_sect(w, SCPPD_LOOP_TX, t2, t3);
		/* lib/delivery's timeouts (held replies, windows, reassembly:
		 * milliseconds): every turn that did work, and every 16th idle
		 * one (an idle turn is ~100 ns: the expiry still runs every
		 * couple of microseconds, and an idle poll costs less). */
		if (work != 0 || (++w->idle_turns & (SCPPD_IDLE_TICK - 1)) == 0)
			scpp_delivery_tick(w->dlv, w->now);
		scppd_copy_tick(w);
		scppd_cont_tick(w);
		scppd_park_poll(w);
		scppd_schema_poll(w);
		t4 = rte_rdtsc();
		loop_sect(w, SCPPD_LOOP_TICK, t3, t4);
		/* Flush partial bursts of answers when the queues ran dry or on
		 * the drain timer. */
		if (w->answers_buffered && (work == 0 || w->now - last_drain > d->drain_tsc)) {
			tx_flush_answers(w);
			last_drain = w->now;
		}
		rte_rcu_qsbr_quiescent(d->qsbr, w->idx);
		if (unlikely(scpp_eval_poll_schema(&w->env) < 0))
			scpp_counter_add(&w->stats.schema_adopt_errors, 1);
		if (work != 0) {
			idle = 0;
			sleep_us = 1;
			scpp_counter_add(&w->stats.busy_polls, 1);
			continue;
		}
		if (!backoff || ++idle < SCPPD_IDLE_SPIN)
			continue;
		if (idle < 2 * SCPPD_IDLE_SPIN) {
			rte_pause();
			continue;
		}
		/* Idle: sleep, doubling up to idle.max_sleep_us, so a node
		 * sharing its CPU (tests, the run script) leaves it to others. */
		rte_rcu_qsbr_thread_offline(d->qsbr, w->idx);
		rte_delay_us_sleep(sleep_us);
		rte_rcu_qsbr_thread_online(d->qsbr, w->idx);
		scpp_counter_add(&w->stats.idle_sleeps, 1);
		sleep_us = RTE_MIN(sleep_us * 2, max_sleep);
	}
	/* Drain: send what is buffered, drop what other workers handed over
	 * (they stopped too; nothing is executed after the stop). */
	tx_flush_answers(w);
	for (i = 0; i < d->nb_ports; i++)
		tx_pace(w, i);
	for (i = 0; i < w->nb_in; i++) {
		while ((n = (uint16_t)rte_ring_sc_dequeue_burst(w->in[i], (void **)pkts,
								 SCPPD_BURST, NULL)) != 0)
			rte_pktmbuf_free_bulk(pkts, n);
	}
	rte_rcu_qsbr_thread_offline(d->qsbr, w->idx);
	rte_rcu_qsbr_thread_unregister(d->qsbr, w->idx);
	SCPPD_LOG(INFO, "worker %u: stopped", w->idx);
	return 0;
}
