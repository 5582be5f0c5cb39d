/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The worker loop and everything it does per packet:
 *
 *   rx burst -> Ethernet -> ARP | IPv4 -> ICMP echo | UDP -> scpp header
 *     -> (fragment: reassembly) -> block decode -> route
 *        -> this worker: reply cache | evaluate -> reply datagrams -> tx buffer
 *        -> another worker: SPSC ring (the mbuf, or a chain holding a
 *           reassembled message) -> that worker evaluates and answers
 *        -> another node / no route: E_NOT_HERE status reply
 *
 * Hot-path rules (STYLE §4): no heap allocation (mbufs come from the
 * port's mempool; every buffer was allocated at start), no locks, no
 * system calls or printf per packet; the idle back-off sleeps only when
 * there is no work. Status replies for errors are formatted with snprintf
 * on a cold path (__rte_cold / SCPP_COLD) that only bad input reaches.
 *
 * Routing rule (docs/OPERATIONS.md "Routing"): the owner of a block is the
 * shard of the first constant OID in an entity position (the entity of
 * get/set/alloc/del, or the entity inside a value(e, a) address), skipping
 * well-known OIDs (locale, node and shard zero: the schema, present on
 * every shard). A block without such an OID runs on the shard whose UDP
 * port it was sent to, or, sent to the any-shard base port, on the worker
 * that received it. A block handed over from another worker is never
 * routed again (no ping-pong).
 */

#include <stdarg.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_prefetch.h>
#include <rte_udp.h>

#include "scpp_status.h"
#include "scppd.h"

enum route_kind {
	ROUTE_LOCAL,
	ROUTE_WORKER,
	ROUTE_REMOTE,
	ROUTE_NONE,
};

uint64_t
scppd_clock_ns(void)
{
	uint64_t c = rte_get_tsc_cycles(), hz = scppd_g.tsc_hz;

	return c / hz * UINT64_C(1000000000) + c % hz * UINT64_C(1000000000) / hz;
}

static inline struct scppd_meta *
meta_of(struct rte_mbuf *m)
{
	return rte_mbuf_to_priv(m);
}

static inline void
tx_one(struct scppd_worker *w, uint16_t pi, struct rte_mbuf *m)
{
	w->stats.tx_pkts++;
	w->stats.tx_bytes += m->pkt_len;
	rte_eth_tx_buffer(scppd_g.ports[pi].port_id, w->txq[pi], w->txb[pi], m);
}

static inline void
drop(struct scppd_worker *w, struct rte_mbuf *m, enum scppd_drop why)
{
	w->stats.drops[why]++;
	rte_pktmbuf_free(m);
}

/* Fill Ethernet, IPv4 and UDP headers of a reply to @p md carrying
 * @p l4_payload bytes; returns the UDP payload. */
static inline uint8_t *
frame_build(const struct scppd_port *p, const struct scppd_meta *md, struct rte_mbuf *m,
	    uint16_t l4_payload)
{
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *udp;

	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, SCPPD_L2L4_LEN + l4_payload);
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	udp = (struct rte_udp_hdr *)(ip + 1);
	rte_ether_addr_copy(&md->src_mac, &eth->dst_addr);
	rte_ether_addr_copy(&p->mac, &eth->src_addr);
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = 0;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(20 + 8 + l4_payload));
	ip->packet_id = 0;
	ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->hdr_checksum = 0;
	ip->src_addr = md->dst_ip;
	ip->dst_addr = md->src_ip;
	udp->src_port = md->dst_port;
	udp->dst_port = md->src_port;
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(8 + l4_payload));
	udp->dgram_cksum = 0;
	return (uint8_t *)(udp + 1);
}

/* Checksums of a frame built by frame_build(), once its payload is written. */
static inline void
frame_cksum(const struct scppd_port *p, struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *,
							  RTE_ETHER_HDR_LEN);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

	if (p->tx_cksum_offload) {
		m->l2_len = RTE_ETHER_HDR_LEN;
		m->l3_len = sizeof(*ip);
		m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM;
		udp->dgram_cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
	} else {
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
	}
}

/*
 * Send a REPLY message as datagrams of at most MTU bytes: sequence numbers
 * 0, 1, ... in frag_index, LAST on the final one.
 */
static void
send_reply(struct scppd_worker *w, const struct scppd_meta *md, const uint8_t *msg,
	   uint32_t len)
{
	const struct scppd_port *p = &scppd_g.ports[md->port];
	uint32_t chunk_max = (uint32_t)p->mtu - 28 - SCPP_WIRE_HDR_LEN;
	uint32_t off = 0, seq = 0;

	do {
		uint32_t chunk = RTE_MIN(len - off, chunk_max);
		struct scpp_wire_hdr h = {
			.kind = SCPP_WIRE_REPLY,
			.flags = off + chunk == len ? SCPP_WIRE_F_LAST : 0,
			.payload_len = (uint16_t)chunk,
			.client_id = md->client_id,
			.block_id = md->block_id,
			.frag_index = seq,
			.payload = msg + off,
		};
		struct rte_mbuf *m = rte_pktmbuf_alloc(p->pool);
		uint8_t *pl;

		if (unlikely(m == NULL)) {
			w->stats.drops[SCPPD_DROP_NO_MBUF]++;
			return;
		}
		pl = frame_build(p, md, m, (uint16_t)(SCPP_WIRE_HDR_LEN + chunk));
		scpp_wire_dgram_encode(pl, SCPP_WIRE_HDR_LEN + chunk, &h);
		frame_cksum(p, m);
		tx_one(w, md->port, m);
		w->stats.reply_dgrams++;
		off += chunk;
		seq++;
	} while (off < len);
}

/* A reply made of one status: empty COLUMNS, STATUS, END(aborted).
 * @offset: the byte offset of a decode error (a status field), or -1. */
static SCPP_COLD void
status_replyv(struct scppd_worker *w, const struct scppd_meta *md, int64_t offset, int code,
	      const char *component, const char *fmt, va_list ap)
{
	struct scpp_wire_reply_writer wr;
	struct scpp_status st;
	struct scpp_oid soid = w->env.node;

	memset(&st, 0, sizeof(st));
	scpp_status_setv(&st, code, component, fmt, ap);
	st.node = w->env.node;
	st.core = w->shard;
	st.block_id = md->block_id;
	st.client = md->client_id;
	st.offset = offset;
	soid.lo = SCPPD_STATUS_SEQ_BIT | (++w->status_seq & (SCPPD_STATUS_SEQ_BIT - 1));
	scpp_wire_reply_writer_init(&wr, w->reply_buf, w->reply_size);
	scpp_wire_reply_columns(&wr, NULL, 0);
	scpp_status_encode(&wr, soid, &st);
	scpp_wire_reply_end(&wr, st.err, SCPP_OUTCOME_ABORTED, 0, 0, 0);
	send_reply(w, md, wr.buf, (uint32_t)wr.len);
}

static SCPP_COLD void __attribute__((format(printf, 5, 6)))
status_reply(struct scppd_worker *w, const struct scppd_meta *md, int code,
	     const char *component, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	status_replyv(w, md, -1, code, component, fmt, ap);
	va_end(ap);
}

static SCPP_COLD void __attribute__((format(printf, 6, 7)))
status_reply_at(struct scppd_worker *w, const struct scppd_meta *md, int64_t offset, int code,
		const char *component, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	status_replyv(w, md, offset, code, component, fmt, ap);
	va_end(ap);
}

static SCPP_COLD void
reject_block(struct scppd_worker *w, const struct scppd_meta *md, int rc, uint32_t err_off)
{
	const char *name = scpp_error_name(rc);

	w->stats.rejected_total++;
	w->stats.rejected[scppd_reject_slot(rc)]++;
	status_reply_at(w, md, err_off, rc, "wire", "block rejected: %s (%s) at byte offset %u of %u",
			name != NULL ? name : "error", scpp_strerror(rc), err_off, md->msg_len);
}

static SCPP_COLD void
not_here(struct scppd_worker *w, const struct scppd_meta *md, enum route_kind k,
	 struct scpp_oid oid, const struct scpp_route_result *res)
{
	const struct scpp_config *cfg = &scppd_g.cfg;
	char o[SCPP_OID_STR_MAX];
	unsigned int i;

	w->stats.not_here++;
	scpp_oid_format(o, sizeof(o), oid);
	if (k == ROUTE_REMOTE) {
		for (i = 0; i < cfg->nb_routes; i++) {
			const struct scpp_config_route *r = &cfg->routes[i];

			if (r->node != res->node)
				continue;
			status_reply(w, md, -SCPP_E_NOT_HERE, "route",
				     "%s is owned by node %u; send the block to its peer "
				     "%u.%u.%u.%u:%u",
				     o, r->node, r->peer_ipv4 >> 24, (r->peer_ipv4 >> 16) & 0xff,
				     (r->peer_ipv4 >> 8) & 0xff, r->peer_ipv4 & 0xff, r->peer_port);
			return;
		}
		status_reply(w, md, -SCPP_E_NOT_HERE, "route", "%s is owned by node %u", o,
			     res->node);
		return;
	}
	status_reply(w, md, -SCPP_E_NOT_HERE, "route",
		     "no route for %s: not a shard of node %u and no configured route covers it",
		     o, cfg->node.id);
}

/* The entity OID of an ENT term, if it is a constant, non-well-known OID. */
static inline bool
ent_oid(const struct scpp_wire_block *b, unsigned int t, struct scpp_oid *out)
{
	const struct scpp_wire_term *term = &b->term[t];

	if (term->kind != SCPP_TERM_CONST || term->value.type != SCPP_VT_OID ||
	    term->value.oid.hi == 0)
		return false;
	*out = term->value.oid;
	return true;
}

/* First constant OID in an entity position (see the file comment). */
static bool
find_owner_oid(const struct scpp_wire_block *b, struct scpp_oid *out)
{
	unsigned int c, i, t, depth;

	for (c = 0; c < b->ncmds; c++) {
		const struct scpp_wire_cmd *cmd = &b->cmd[c];

		for (i = 0; i < cmd->nterms; i++) {
			uint8_t pos = scpp_wire_op_pos[cmd->op][i];

			t = cmd->term[i];
			if (pos == SCPP_POS_ENT) {
				if (ent_oid(b, t, out))
					return true;
			} else if (pos == SCPP_POS_ADDR) {
				/* offset(offset(value(e, a), n), m): walk to e;
				 * the decoder bounds the depth. */
				for (depth = 0; depth <= SCPP_WIRE_NEST_MAX &&
				     b->term[t].kind == SCPP_TERM_OFFSET; depth++)
					t = b->term[t].a;
				if (b->term[t].kind == SCPP_TERM_VALUE && ent_oid(b, b->term[t].a, out))
					return true;
			}
		}
	}
	return false;
}

static inline enum route_kind
route_block(struct scppd_worker *w, const struct scppd_meta *md, uint16_t *worker,
	    struct scpp_oid *oid, struct scpp_route_result *res)
{
	const struct scppd *d = &scppd_g;
	uint16_t dport, widx;

	if (find_owner_oid(w->blk, oid)) {
		if (scpp_route_lookup(d->routes, *oid, res) != 0)
			return ROUTE_NONE;
		if (res->node != d->cfg.node.id)
			return ROUTE_REMOTE;
		widx = d->shard_worker[res->core];
		if (unlikely(widx == SCPPD_NO_WORKER))
			return ROUTE_NONE;
	} else {
		dport = rte_be_to_cpu_16(md->dst_port);
		if (dport == d->base_port)
			return ROUTE_LOCAL;
		/* The rx path admitted only ports of local shards. */
		widx = d->shard_worker[dport - d->base_port - 1];
		if (widx != w->idx)
			w->stats.handoff_port++;
	}
	if (widx == w->idx)
		return ROUTE_LOCAL;
	*worker = widx;
	return ROUTE_WORKER;
}

/* Copy a reassembled message into a fresh mbuf chain for a hand-off. */
static struct rte_mbuf *
chain_from(struct scppd_worker *w, const struct scppd_meta *md, const uint8_t *msg,
	   uint32_t len)
{
	struct rte_mempool *pool = scppd_g.ports[md->port].pool;
	struct rte_mbuf *head = NULL, *m;
	uint32_t off = 0, n;
	uint8_t *dst;

	do {
		m = rte_pktmbuf_alloc(pool);
		if (m == NULL)
			goto fail;
		n = RTE_MIN(len - off, (uint32_t)rte_pktmbuf_tailroom(m));
		dst = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)n);
		memcpy(dst, msg + off, n);
		off += n;
		if (head == NULL) {
			head = m;
		} else if (rte_pktmbuf_chain(head, m) != 0) {
			rte_pktmbuf_free(m);
			goto fail;
		}
	} while (off < len);
	*meta_of(head) = *md;
	meta_of(head)->msg_off = 0;
	meta_of(head)->msg_len = len;
	meta_of(head)->reassembled = 1;
	return head;
fail:
	rte_pktmbuf_free(head);
	w->stats.drops[SCPPD_DROP_NO_MBUF]++;
	return NULL;
}

static void
execute(struct scppd_worker *w, const struct scppd_meta *md)
{
	const struct scppd_cache_ent *e;
	struct scpp_wire_reply_writer wr;
	struct scpp_eval_result res;
	int rc;

	e = scppd_cache_lookup(&w->cache, md->client_id, md->block_id);
	if (e != NULL) {
		/* At-most-once: a retransmission gets the same bytes again. */
		w->stats.cache_hits++;
		if (likely(!e->big))
			send_reply(w, md, scppd_cache_bytes(&w->cache, e), e->len);
		else
			status_reply(w, md, -EALREADY, "delivery",
				     "block %" PRIu64 " already executed; its reply was too "
				     "large to keep for retransmission",
				     md->block_id);
		return;
	}
	scpp_wire_reply_writer_init(&wr, w->reply_buf, w->reply_size);
	memset(&res, 0, sizeof(res));
	w->env.client_id = md->client_id;
	rc = scpp_eval_block(w->ectx, &w->env, w->blk, md->block_id, &wr, &res);
	if (unlikely(rc != 0)) {
		status_reply(w, md, rc, "eval", "evaluation failed: %s", scpp_strerror(rc));
		return;
	}
	w->stats.executed++;
	if (res.outcome == SCPP_OUTCOME_OK)
		w->stats.outcome_ok++;
	else if (res.outcome == SCPP_OUTCOME_ERRORS)
		w->stats.outcome_errors++;
	else
		w->stats.outcome_aborted++;
	if (unlikely(res.new_schema != NULL)) {
		/* A runtime schema change made on this shard: its triples hold
		 * it already, and the publisher (which owns it now) takes it to
		 * every other shard (scpp_eval_poll_schema() below). */
		w->env.schema = res.new_schema;
		w->stats.schema_changes++;
	}
	scppd_cache_insert(&w->cache, md->client_id, md->block_id, wr.buf, (uint32_t)wr.len,
			   &w->stats);
	send_reply(w, md, wr.buf, (uint32_t)wr.len);
}

/*
 * One complete BLOCK message. @p mb is the mbuf holding it (freed or
 * handed over here), or NULL when the message lives in a reassembly slot
 * (the caller releases the slot). @p handed: it came from another worker.
 */
static void
handle_message(struct scppd_worker *w, const struct scppd_meta *md, const uint8_t *msg,
	       struct rte_mbuf *mb, bool handed)
{
	struct scpp_route_result res;
	struct scpp_oid oid;
	uint32_t err_off = 0;
	uint16_t dst = 0;
	int rc;

	w->stats.messages++;
	rc = scpp_wire_block_decode(msg, md->msg_len, w->blk, &err_off);
	if (unlikely(rc != 0)) {
		reject_block(w, md, rc, err_off);
		goto done;
	}
	if (!handed) {
		enum route_kind k = route_block(w, md, &dst, &oid, &res);

		if (k == ROUTE_WORKER) {
			if (mb == NULL) {
				mb = chain_from(w, md, msg, md->msg_len);
				if (mb == NULL)
					return;
			}
			if (unlikely(rte_ring_sp_enqueue(w->out[dst], mb) != 0)) {
				drop(w, mb, SCPPD_DROP_HANDOFF_FULL);
				return;
			}
			w->stats.handoff_out++;
			return;
		}
		if (unlikely(k != ROUTE_LOCAL)) {
			not_here(w, md, k, oid, &res);
			goto done;
		}
	}
	execute(w, md);
done:
	if (mb != NULL)
		rte_pktmbuf_free(mb);
}

static void
handle_arp(struct scppd_worker *w, uint16_t pi, struct rte_mbuf *m, struct rte_ether_hdr *eth)
{
	const struct scppd_port *p = &scppd_g.ports[pi];
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);

	if (m->data_len < RTE_ETHER_HDR_LEN + sizeof(*arp) ||
	    arp->arp_hardware != RTE_BE16(RTE_ARP_HRD_ETHER) ||
	    arp->arp_protocol != RTE_BE16(RTE_ETHER_TYPE_IPV4) || arp->arp_hlen != 6 ||
	    arp->arp_plen != 4 || arp->arp_opcode != RTE_BE16(RTE_ARP_OP_REQUEST) ||
	    arp->arp_data.arp_tip != p->ip) {
		drop(w, m, SCPPD_DROP_ARP_OTHER);
		return;
	}
	/* Answer in place: the requester's MAC is in the frame, so replies to
	 * it need no ARP cache lookup (and blocks are answered to the L2
	 * source of the request the same way). */
	arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REPLY);
	arp->arp_data.arp_tha = arp->arp_data.arp_sha;
	arp->arp_data.arp_tip = arp->arp_data.arp_sip;
	rte_ether_addr_copy(&p->mac, &arp->arp_data.arp_sha);
	arp->arp_data.arp_sip = p->ip;
	rte_ether_addr_copy(&eth->src_addr, &eth->dst_addr);
	rte_ether_addr_copy(&p->mac, &eth->src_addr);
	m->ol_flags = 0;
	w->stats.arp_replies++;
	tx_one(w, pi, m);
}

static void
handle_icmp(struct scppd_worker *w, uint16_t pi, struct rte_mbuf *m, struct rte_ether_hdr *eth,
	    struct rte_ipv4_hdr *ip, uint16_t ihl, uint16_t ip_len)
{
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)((uint8_t *)ip + ihl);
	uint16_t icmp_len = (uint16_t)(ip_len - ihl);
	uint32_t a;

	if (icmp_len < sizeof(*icmp) || icmp->icmp_type != RTE_IP_ICMP_ECHO_REQUEST ||
	    icmp->icmp_code != 0 || rte_raw_cksum(icmp, icmp_len) != 0xffff) {
		drop(w, m, SCPPD_DROP_NOT_UDP);
		return;
	}
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	icmp->icmp_cksum = 0;
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, icmp_len);
	a = ip->src_addr;
	ip->src_addr = ip->dst_addr;
	ip->dst_addr = a;
	ip->time_to_live = 64;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	rte_ether_addr_copy(&eth->src_addr, &eth->dst_addr);
	rte_ether_addr_copy(&scppd_g.ports[pi].mac, &eth->src_addr);
	/* Trim Ethernet padding beyond the IP packet. */
	rte_pktmbuf_trim(m, (uint16_t)(m->data_len - RTE_ETHER_HDR_LEN - ip_len));
	m->ol_flags = 0;
	w->stats.icmp_echo++;
	tx_one(w, pi, m);
}

/* One received frame (single-item helper of the rx burst loop). */
static inline void
rx_one(struct scppd_worker *w, uint16_t pi, struct rte_mbuf *m)
{
	const struct scppd *d = &scppd_g;
	const struct scppd_port *p = &d->ports[pi];
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *udp;
	struct scpp_wire_hdr h;
	struct scppd_meta *md;
	uint16_t ihl, ip_len, udp_len, dport;
	int rc, slot;
	uint32_t msg_len;

	w->stats.rx_pkts++;
	w->stats.rx_bytes += m->pkt_len;
	if (unlikely(m->nb_segs != 1)) {
		drop(w, m, SCPPD_DROP_MULTISEG);
		return;
	}
	if (unlikely(m->data_len < RTE_ETHER_HDR_LEN)) {
		drop(w, m, SCPPD_DROP_ETH_SHORT);
		return;
	}
	if (eth->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4)) {
		if (eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_ARP))
			handle_arp(w, pi, m, eth);
		else
			drop(w, m, SCPPD_DROP_NOT_IPV4);
		return;
	}
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	if (unlikely(m->data_len < RTE_ETHER_HDR_LEN + sizeof(*ip))) {
		drop(w, m, SCPPD_DROP_IP_BAD_HDR);
		return;
	}
	ihl = rte_ipv4_hdr_len(ip);
	ip_len = rte_be_to_cpu_16(ip->total_length);
	if (unlikely((ip->version_ihl >> 4) != 4 || ihl < sizeof(*ip) || ip_len < ihl ||
		     ip_len > m->data_len - RTE_ETHER_HDR_LEN)) {
		drop(w, m, SCPPD_DROP_IP_BAD_HDR);
		return;
	}
	if ((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_BAD ||
	    ((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) != RTE_MBUF_F_RX_IP_CKSUM_GOOD &&
	     rte_raw_cksum(ip, ihl) != 0xffff)) {
		drop(w, m, SCPPD_DROP_IP_BAD_CKSUM);
		return;
	}
	if (unlikely((ip->fragment_offset & RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) != 0)) {
		drop(w, m, SCPPD_DROP_IP_FRAGMENT);
		return;
	}
	if (unlikely(ip->dst_addr != p->ip)) {
		drop(w, m, SCPPD_DROP_IP_NOT_MINE);
		return;
	}
	if (ip->next_proto_id != IPPROTO_UDP) {
		if (ip->next_proto_id == IPPROTO_ICMP)
			handle_icmp(w, pi, m, eth, ip, ihl, ip_len);
		else
			drop(w, m, SCPPD_DROP_NOT_UDP);
		return;
	}
	udp = (struct rte_udp_hdr *)((uint8_t *)ip + ihl);
	udp_len = rte_be_to_cpu_16(udp->dgram_len);
	if (unlikely(ip_len - ihl < (int)sizeof(*udp) || udp_len < sizeof(*udp) ||
		     udp_len > ip_len - ihl)) {
		drop(w, m, SCPPD_DROP_UDP_SHORT);
		return;
	}
	dport = rte_be_to_cpu_16(udp->dst_port);
	if (unlikely(dport != d->base_port &&
		     (dport <= d->base_port ||
		      d->shard_worker[dport - d->base_port - 1] == SCPPD_NO_WORKER))) {
		drop(w, m, SCPPD_DROP_UDP_WRONG_PORT);
		return;
	}
	/* Checksum 0 means "none" for UDP over IPv4. The verify helper needs
	 * the datagram to run to the end of the IP packet, checked above. */
	if (udp->dgram_cksum != 0 &&
	    ((m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_BAD ||
	     ((m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) != RTE_MBUF_F_RX_L4_CKSUM_GOOD &&
	      rte_ipv4_udptcp_cksum_verify(ip, udp) != 0))) {
		drop(w, m, SCPPD_DROP_UDP_BAD_CKSUM);
		return;
	}
	rc = scpp_wire_hdr_decode((const uint8_t *)(udp + 1), udp_len - sizeof(*udp), &h);
	if (unlikely(rc != 0)) {
		int c = -rc - SCPP_E_TRUNCATED;

		drop(w, m, c >= 0 && c <= SCPPD_DROP_HDR_BAD_FRAGMENT - SCPPD_DROP_HDR_TRUNCATED ?
				   (enum scppd_drop)(SCPPD_DROP_HDR_TRUNCATED + c) :
				   SCPPD_DROP_HDR_OTHER);
		return;
	}
	if (unlikely(h.kind != SCPP_WIRE_BLOCK)) {
		drop(w, m, SCPPD_DROP_REPLY_KIND);
		return;
	}
	w->stats.dgrams++;
	md = meta_of(m);
	md->client_id = h.client_id;
	md->block_id = h.block_id;
	md->src_ip = ip->src_addr;
	md->dst_ip = ip->dst_addr;
	md->src_port = udp->src_port;
	md->dst_port = udp->dst_port;
	md->port = pi;
	md->msg_off = (uint16_t)(h.payload - rte_pktmbuf_mtod(m, uint8_t *));
	md->msg_len = h.payload_len;
	rte_ether_addr_copy(&eth->src_addr, &md->src_mac);
	md->reassembled = 0;
	if (likely(h.frag_count == 1)) {
		handle_message(w, md, h.payload, m, false);
		return;
	}
	slot = scppd_reasm_add(&w->reasm, &h, md, rte_rdtsc(), &w->stats, &msg_len);
	rte_pktmbuf_free(m);
	if (slot >= 0) {
		struct scppd_reasm_slot *s = &w->reasm.slots[slot];

		s->meta.msg_len = msg_len;
		s->meta.msg_off = 0;
		s->meta.reassembled = 1;
		handle_message(w, &s->meta, s->buf, NULL, false);
		scppd_reasm_release(&w->reasm, slot);
	}
}

static inline void
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
}

/* A block another worker routed here. */
static inline void
handoff_one(struct scppd_worker *w, struct rte_mbuf *mb)
{
	struct scppd_meta md = *meta_of(mb);
	const uint8_t *msg;

	w->stats.handoff_in++;
	if (mb->nb_segs == 1)
		msg = rte_pktmbuf_mtod_offset(mb, const uint8_t *, md.msg_off);
	else
		msg = rte_pktmbuf_read(mb, 0, md.msg_len, w->msg_buf);
	handle_message(w, &md, msg, mb, true);
}

static void
tx_flush(struct scppd_worker *w)
{
	unsigned int i;

	for (i = 0; i < scppd_g.nb_ports; i++)
		rte_eth_tx_buffer_flush(scppd_g.ports[i].port_id, w->txq[i], w->txb[i]);
}

int
scppd_worker_main(void *arg)
{
	struct scppd_worker *w = arg;
	struct scppd *d = &scppd_g;
	struct rte_mbuf *pkts[SCPPD_BURST];
	uint64_t now, last_drain = rte_rdtsc();
	uint32_t idle = 0, sleep_us = 1;
	const uint32_t max_sleep = d->cfg.idle.max_sleep_us;
	const bool backoff = d->cfg.idle.enabled;
	unsigned int i;
	uint16_t n, work;

	rte_rcu_qsbr_thread_register(d->qsbr, w->idx);
	rte_rcu_qsbr_thread_online(d->qsbr, w->idx);
	SCPPD_LOG(INFO, "worker %u: lcore %u, shard %u, %u rx queues", w->idx, w->lcore, w->shard,
		  w->nb_rxq);
	/* Relaxed is enough for the stop flag: it carries no data with it,
	 * and the worker only needs to see it eventually. */
	while (!__atomic_load_n(&d->stop, __ATOMIC_RELAXED)) {
		work = 0;
		for (i = 0; i < w->nb_rxq; i++) {
			n = rte_eth_rx_burst(d->ports[w->rxq[i].port].port_id, w->rxq[i].queue,
					     pkts, SCPPD_BURST);
			if (n != 0) {
				rx_burst(w, w->rxq[i].port, pkts, n);
				work += n;
			}
		}
		for (i = 0; i < w->nb_in; i++) {
			uint16_t k;

			n = (uint16_t)rte_ring_sc_dequeue_burst(w->in[i], (void **)pkts, SCPPD_BURST,
								NULL);
			for (k = 0; k < n; k++)
				handoff_one(w, pkts[k]);
			work += n;
		}
		now = rte_rdtsc();
		/* Flush partial tx bursts when the queues ran dry (nothing more
		 * to batch with) or on the drain timer. */
		if (work == 0 || now - last_drain > d->drain_tsc) {
			tx_flush(w);
			scppd_reasm_expire(&w->reasm, now, &w->stats);
			last_drain = now;
		}
		rte_rcu_qsbr_quiescent(d->qsbr, w->idx);
		if (unlikely(scpp_eval_poll_schema(&w->env) < 0))
			w->stats.schema_adopt_errors++;
		if (work != 0) {
			idle = 0;
			sleep_us = 1;
			w->stats.busy_polls++;
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
		w->stats.idle_sleeps++;
		sleep_us = RTE_MIN(sleep_us * 2, max_sleep);
	}
	/* Drain: send what is buffered, drop what other workers handed over
	 * (they stopped too; nothing is executed after the stop). */
	tx_flush(w);
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
