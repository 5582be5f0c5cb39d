/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Forwarding (docs/CLUSTER.md §7, docs/PROTOCOL.md §18): a BLOCK or FETCH
 * whose owner is a shard of another node of the map leaves this worker as
 * a FORWARD message to that shard's port, from the cluster port's tx
 * queue. The owner runs it under the client's own key (address, port,
 * client id, block id) and answers the client directly, from its own
 * address: this node keeps nothing, so a retransmission forwarded again
 * is answered from the owner's held reply (at most once across the hop),
 * and the client learns the owner from where the reply came from.
 *
 * Peers' MACs. Every node's record in etcd carries its MAC; a static entry
 * may. Otherwise the first block for a peer sends an ARP request (at most
 * one per peer per ARP_RETRY_MS, whichever worker) and is dropped,
 * counted: the client retransmits and the retransmission finds the MAC. A
 * peer that has not answered for ARP_GIVE_UP_MS gets E_NOT_HERE instead (a
 * bounded answer, not silence), while the requests go on.
 * ARP replies and requests from peers, and FORWARDs received from them,
 * teach their binding too. The table is indexed by the map's node slot;
 * workers read and write it with relaxed atomics (a MAC is one u64).
 *
 * Nothing here allocates except mbufs from the port's pool, and nothing
 * blocks: a frame the tx queue does not take is dropped and counted (the
 * client's retransmission is the retry).
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ip.h>
#include <rte_telemetry.h>
#include <sodium.h>

#include "scpp_cluster.h"
#include "scppd.h"

/* Between two ARP requests for the same peer, at most. */
#define ARP_RETRY_MS 100
/* A peer that has not answered ARP for this long: E_NOT_HERE, not silence. */
#define ARP_GIVE_UP_MS 1000
#define MAC_VALID (UINT64_C(1) << 63)

enum fwd_counter {
	FC_BLOCKS,   /* blocks forwarded to the peer */
	FC_FETCHES,  /* FETCHes forwarded to it */
	FC_IN,       /* FORWARD messages received from it */
	FC_ARP_WAIT, /* requests dropped while its MAC was unknown */
	FC_TX_FULL,  /* FORWARD datagrams its tx queue did not take */
	/* Continuations (cont.c), by enum scppd_peer_cont: */
	FC_CONT_SENT,      /* CONTs sent to the peer (first sends) */
	FC_CONT_ANSWERED,  /* ... answered (a CONT_REPLY matched) */
	FC_CONT_TIMED_OUT, /* ... not answered within cluster.cont.timeout_ms */
	FC_CONT_RETX,      /* ... sent again (no answer after a quarter of it) */
	FC_CONT_IN,        /* CONTs received from the peer and run */
	FC_COUNT
};

static const char *const fc_name[FC_COUNT] = {
	[FC_BLOCKS] = "forwarded", [FC_FETCHES] = "forwarded_fetches",
	[FC_IN] = "forwarded_in", [FC_ARP_WAIT] = "forward_arp_wait",
	[FC_TX_FULL] = "forward_tx_full",
	[FC_CONT_SENT] = "cont_sent", [FC_CONT_ANSWERED] = "cont_answered",
	[FC_CONT_TIMED_OUT] = "cont_timed_out", [FC_CONT_RETX] = "cont_retransmitted",
	[FC_CONT_IN] = "cont_received",
};

struct peer {
	uint64_t mac;       /* MAC_VALID | 48 bits, or 0 (relaxed atomics) */
	uint64_t arp_tsc;   /* last ARP request (cmpxchg among workers) */
	uint64_t arp_since; /* first request while the MAC is unknown, 0: none */
};

static struct {
	struct peer peer[SCPP_CLUSTER_MAX_NODES];
	uint32_t slot_node[SCPP_CLUSTER_MAX_NODES]; /* control thread */
	uint64_t baseline[SCPP_CLUSTER_MAX_NODES][FC_COUNT];
	uint64_t *cnt; /* [worker][slot][counter], written by the worker */
} fw;

static inline uint64_t *
counter(const struct scppd_worker *w, uint16_t slot, enum fwd_counter c)
{
	return &fw.cnt[((size_t)w->idx * SCPP_CLUSTER_MAX_NODES + slot) * FC_COUNT + c];
}

static uint64_t
mac_pack(const uint8_t *a)
{
	uint64_t v = 0;

	for (int i = 0; i < 6; i++)
		v = v << 8 | a[i];
	return v | MAC_VALID;
}

static void
mac_set(struct peer *p, const uint8_t *a)
{
	__atomic_store_n(&p->mac, mac_pack(a), __ATOMIC_RELAXED);
	__atomic_store_n(&p->arp_since, 0, __ATOMIC_RELAXED);
}

static void
mac_unpack(uint64_t v, struct rte_ether_addr *a)
{
	for (int i = 5; i >= 0; i--, v >>= 8)
		a->addr_bytes[i] = (uint8_t)v;
}

/* ---- control thread ---------------------------------------------------------- */

int
scppd_forward_init(const struct scppd *d)
{
	fw.cnt = calloc((size_t)d->nb_workers * SCPP_CLUSTER_MAX_NODES * FC_COUNT,
			sizeof(*fw.cnt));
	return fw.cnt != NULL ? 0 : -ENOMEM;
}

void
scppd_forward_free(void)
{
	free(fw.cnt);
	fw.cnt = NULL;
}

static uint64_t
peer_sum(uint16_t slot, enum fwd_counter c)
{
	uint64_t sum = 0;

	for (unsigned int w = 0; w < scppd_g.nb_workers; w++)
		sum += scpp_counter_read(&fw.cnt[((size_t)w * SCPP_CLUSTER_MAX_NODES + slot) *
						 FC_COUNT + c]);
	return sum;
}

void
scppd_forward_map_published(const struct scpp_cluster_map *m)
{
	for (unsigned int i = 0; i < m->nb_nodes; i++) {
		const struct scpp_cluster_node *n = &m->nodes[i];
		struct peer *p = &fw.peer[n->slot];

		if (fw.slot_node[n->slot] != n->rec.id) {
			/* A slot that changed hands starts from nothing. */
			for (int c = 0; c < FC_COUNT; c++)
				fw.baseline[n->slot][c] = peer_sum(n->slot, (enum fwd_counter)c);
			fw.slot_node[n->slot] = n->rec.id;
			__atomic_store_n(&p->mac, 0, __ATOMIC_RELAXED);
		}
		/* The record's MAC (etcd always has one) is the node's own word. */
		if (n->rec.has_mac && n->state != SCPP_CLUSTER_SELF)
			mac_set(p, n->rec.mac);
	}
}

void
scppd_forward_peer_tel(struct rte_tel_data *d, uint16_t slot)
{
	for (int c = 0; c < FC_COUNT; c++)
		rte_tel_data_add_dict_u64(d, fc_name[c],
					  peer_sum(slot, (enum fwd_counter)c) - fw.baseline[slot][c]);
}

void
scppd_forward_totals(uint64_t out[SCPPD_FWD_TOTALS])
{
	const struct scpp_cluster_map *m = scppd_cluster_map();

	memset(out, 0, sizeof(uint64_t) * SCPPD_FWD_TOTALS);
	for (unsigned int i = 0; m != NULL && i < m->nb_nodes; i++)
		for (int c = 0; c < FC_COUNT && c < SCPPD_FWD_TOTALS; c++)
			out[c] += peer_sum(m->nodes[i].slot, (enum fwd_counter)c) -
				  fw.baseline[m->nodes[i].slot][c];
}

const char *
scppd_forward_total_name(unsigned int i)
{
	return i < FC_COUNT ? fc_name[i] : "?";
}

/* ---- workers ------------------------------------------------------------------ */

/* The map's peer at @p ip (network order): another node, up or static. */
static const struct scpp_cluster_node *
peer_at(uint32_t ip)
{
	const struct scpp_cluster_map *m = scppd_cluster_map();
	uint32_t h = rte_be_to_cpu_32(ip);

	/* Linear: maps are small, and this runs per FORWARD received and per
	 * ARP, not per block of a client. */
	for (unsigned int i = 0; m != NULL && i < m->nb_nodes; i++) {
		const struct scpp_cluster_node *n = &m->nodes[i];

		if (n->rec.ipv4 == h && n->state != SCPP_CLUSTER_SELF)
			return n;
	}
	return NULL;
}

uint32_t
scppd_forward_peer_id(uint32_t ip)
{
	const struct scpp_cluster_node *n = peer_at(ip);

	return n != NULL ? n->rec.id : 0;
}

void
scppd_forward_learn(uint32_t ip, const struct rte_ether_addr *mac)
{
	const struct scpp_cluster_node *n = peer_at(ip);

	if (n != NULL)
		mac_set(&fw.peer[n->slot], mac->addr_bytes);
}

bool
scppd_forward_from_peer(struct scppd_worker *w, uint32_t ip, const struct rte_ether_addr *mac)
{
	const struct scpp_cluster_node *n = peer_at(ip);

	if (n == NULL || n->state == SCPP_CLUSTER_UNREACHABLE) {
		scpp_counter_add(&w->stats.forward_not_peer, 1);
		return false;
	}
	mac_set(&fw.peer[n->slot], mac->addr_bytes);
	scpp_counter_add(counter(w, n->slot, FC_IN), 1);
	return true;
}

/* Ask for @p n's MAC, unless a worker did within ARP_RETRY_MS. */
static void
arp_request(struct scppd_worker *w, const struct scpp_cluster_node *n, uint16_t cport)
{
	const struct scppd *d = &scppd_g;
	struct peer *p = &fw.peer[n->slot];
	uint64_t last = __atomic_load_n(&p->arp_tsc, __ATOMIC_RELAXED);
	struct rte_mbuf *m;
	uint16_t len;

	if (last != 0 && w->now - last < d->tsc_hz / 1000 * ARP_RETRY_MS)
		return;
	if (!__atomic_compare_exchange_n(&p->arp_tsc, &last, w->now, false, __ATOMIC_RELAXED,
					 __ATOMIC_RELAXED))
		return; /* another worker asks */
	if (__atomic_load_n(&p->arp_since, __ATOMIC_RELAXED) == 0)
		__atomic_store_n(&p->arp_since, w->now, __ATOMIC_RELAXED);
	m = rte_pktmbuf_alloc(d->ports[cport].pool);
	if (m == NULL) {
		scpp_counter_add(&w->stats.tx_no_mbuf, 1);
		return;
	}
	len = scpp_net_arp_request(&d->net, cport, rte_cpu_to_be_32(n->rec.ipv4),
				   rte_pktmbuf_mtod(m, uint8_t *));
	m->data_len = len;
	m->pkt_len = len;
	if (rte_eth_tx_burst(d->ports[cport].port_id, w->txq[cport], &m, 1) != 1) {
		rte_pktmbuf_free(m);
		return;
	}
	scpp_counter_add(&w->stats.forward_arp_sent, 1);
}

/*
 * Write the message @p hdr then @p msg (@p total bytes) as @p nfrag
 * datagrams of kind @p kind and at most @p chunk payload bytes into @p ms,
 * addressed by @p to.
 */
static void
build_frames(struct rte_mbuf **ms, uint16_t nfrag, uint32_t chunk,
	     const struct scpp_net_peer *to, uint8_t kind, uint64_t client_id, uint64_t block_id,
	     const uint8_t *hdr, uint32_t hlen, const uint8_t *msg, uint32_t total)
{
	const struct scpp_net *net = &scppd_g.net;
	const uint64_t ol = scpp_net_tx_offload_flags(net, to->port);

	for (uint16_t i = 0; i < nfrag; i++) {
		uint32_t off = (uint32_t)i * chunk, len = RTE_MIN(chunk, total - off), k = 0;
		uint8_t *frame = rte_pktmbuf_mtod(ms[i], uint8_t *);
		uint8_t *dg = scpp_net_udp_build(net, to, frame,
						 (uint16_t)(SCPP_WIRE_HDR_LEN + len));
		uint8_t *pl = dg + SCPP_WIRE_HDR_LEN;
		struct scpp_wire_hdr h = {
			.kind = kind,
			.flags = i + 1u == nfrag ? SCPP_WIRE_F_LAST : 0,
			.payload_len = (uint16_t)len,
			.client_id = client_id,
			.block_id = block_id,
			.frag_index = i,
			.frag_count = nfrag,
			.payload = pl,
		};

		if (off < hlen) {
			k = RTE_MIN(hlen - off, len);
			memcpy(pl, hdr + off, k);
		}
		if (k < len)
			memcpy(pl + k, msg + (off + k - hlen), len - k);
		(void)scpp_wire_dgram_encode(dg, SCPP_WIRE_HDR_LEN + len, &h);
		scpp_net_udp_finish(net, to->port, frame);
		ms[i]->data_len = (uint16_t)(SCPP_NET_L2L4_LEN + SCPP_WIRE_HDR_LEN + len);
		ms[i]->pkt_len = ms[i]->data_len;
		ms[i]->ol_flags = ol;
		if (ol != 0) {
			ms[i]->l2_len = RTE_ETHER_HDR_LEN;
			ms[i]->l3_len = sizeof(struct rte_ipv4_hdr);
		}
	}
}

void
scppd_peer_cont_count(struct scppd_worker *w, uint32_t node, enum scppd_peer_cont c)
{
	const struct scpp_cluster_node *n = scpp_cluster_map_find(scppd_cluster_map(), node);

	if (n != NULL && (unsigned int)c < SCPPD_PEER_CONT_COUNT)
		scpp_counter_add(counter(w, n->slot, (enum fwd_counter)(FC_CONT_SENT + c)), 1);
}

/*
 * The frame address of @p n's worker for @p shard on the cluster port, from
 * @p local_port. -EAGAIN while its MAC is unknown (an ARP request is out),
 * -EHOSTUNREACH once ARP has gone unanswered for ARP_GIVE_UP_MS.
 */
static int
peer_addr_of(struct scppd_worker *w, const struct scpp_cluster_node *n, uint16_t shard,
	     uint16_t local_port, struct scpp_net_peer *to)
{
	const struct scppd *d = &scppd_g;
	const uint16_t cport = d->cfg.cluster.port;
	uint64_t mac = __atomic_load_n(&fw.peer[n->slot].mac, __ATOMIC_RELAXED);

	if (mac == 0) {
		uint64_t since = __atomic_load_n(&fw.peer[n->slot].arp_since, __ATOMIC_RELAXED);

		arp_request(w, n, cport);
		/* Unanswered for long: the peer is not there; say so. */
		if (since != 0 && w->now - since > d->tsc_hz / 1000 * ARP_GIVE_UP_MS)
			return -EHOSTUNREACH;
		return -EAGAIN;
	}
	memset(to, 0, sizeof(*to));
	mac_unpack(mac, &to->mac);
	to->port = cport;
	to->ip = rte_cpu_to_be_32(n->rec.ipv4);
	to->local_ip = d->ports[cport].ip;
	to->udp_port = rte_cpu_to_be_16((uint16_t)(n->rec.base_port + 1 + shard));
	to->local_udp_port = rte_cpu_to_be_16(local_port);
	return 0;
}

int
scppd_peer_addr(struct scppd_worker *w, uint32_t node, uint16_t shard, uint16_t local_port,
		struct scpp_net_peer *to)
{
	const struct scpp_cluster_node *n = scpp_cluster_map_find(scppd_cluster_map(), node);

	if (n == NULL || n->state == SCPP_CLUSTER_UNREACHABLE || n->state == SCPP_CLUSTER_SELF)
		return -EHOSTUNREACH;
	return peer_addr_of(w, n, shard, local_port, to);
}

int
scppd_peer_handoff(struct scppd_worker *w, uint16_t shard, uint16_t from_port, uint8_t kind,
		   uint64_t client_id, uint64_t block_id, const uint8_t *msg, uint32_t mlen)
{
	const struct scppd *d = &scppd_g;
	const uint16_t cport = d->cfg.cluster.port;
	const uint8_t t = d->shard_worker[shard];
	const uint32_t chunk = scppd_peer_chunk(cport);
	struct scpp_net_peer to;
	struct scppd_meta *md;
	struct rte_mbuf *m;

	if (t == SCPPD_NO_WORKER || t == w->idx || w->out[t] == NULL)
		return -EHOSTUNREACH;
	if (mlen == 0 || mlen > chunk)
		return -EMSGSIZE;
	m = rte_pktmbuf_alloc(d->ports[cport].pool);
	if (unlikely(m == NULL)) {
		scpp_counter_add(&w->stats.msg_drops[SCPPD_MSG_NO_MBUF], 1);
		return -ENOBUFS;
	}
	/* The frame as the wire would carry it from this worker's port to the
	 * shard's, and what lib/net would have said of it on arrival. */
	memset(&to, 0, sizeof(to));
	to.mac = d->ports[cport].mac;
	to.port = cport;
	to.ip = d->ports[cport].ip;
	to.local_ip = d->ports[cport].ip;
	to.udp_port = rte_cpu_to_be_16((uint16_t)(d->base_port + 1 + shard));
	to.local_udp_port = rte_cpu_to_be_16(from_port);
	build_frames(&m, 1, chunk, &to, kind, client_id, block_id, NULL, 0, msg, mlen);
	md = scppd_meta_of(m);
	md->auth = SCPPD_AUTH_RAW;
	md->from = w->idx;
	memset(&md->nm, 0, sizeof(md->nm));
	md->nm.peer = to;
	md->nm.peer.udp_port = to.local_udp_port;
	md->nm.peer.local_udp_port = to.udp_port;
	md->nm.l4_off = SCPP_NET_L2L4_LEN;
	md->nm.l4_len = (uint16_t)(SCPP_WIRE_HDR_LEN + mlen);
	if (rte_ring_sp_enqueue(w->out[t], m) != 0) {
		rte_pktmbuf_free(m);
		scpp_counter_add(&w->stats.msg_drops[SCPPD_MSG_HANDOFF_FULL], 1);
		return -ENOBUFS;
	}
	scpp_counter_add(&w->stats.handoff_out, 1);
	return 0;
}

uint32_t
scppd_peer_chunk(uint16_t port)
{
	return scpp_net_udp_max(&scppd_g.net, port) - SCPP_WIRE_HDR_LEN;
}

int
scppd_peer_send(struct scppd_worker *w, const struct scpp_net_peer *to, uint8_t kind,
		uint64_t client_id, uint64_t block_id, const uint8_t *hdr, uint32_t hlen,
		const uint8_t *msg, uint32_t mlen)
{
	const struct scppd *d = &scppd_g;
	struct rte_mbuf *ms[SCPP_WIRE_FRAGS_MAX];
	uint32_t chunk = scppd_peer_chunk(to->port), total = hlen + mlen;
	uint16_t nfrag = (uint16_t)RTE_MIN((total + chunk - 1) / chunk, SCPP_WIRE_FRAGS_MAX + 1u);
	uint16_t sent;

	if (unlikely(nfrag > SCPP_WIRE_FRAGS_MAX || total == 0))
		return -EMSGSIZE;
	if (unlikely(rte_pktmbuf_alloc_bulk(d->ports[to->port].pool, ms, nfrag) != 0)) {
		scpp_counter_add(&w->stats.msg_drops[SCPPD_MSG_NO_MBUF], 1);
		return -ENOBUFS;
	}
	build_frames(ms, nfrag, chunk, to, kind, client_id, block_id, hdr, hlen, msg, total);
	sent = rte_eth_tx_burst(d->ports[to->port].port_id, w->txq[to->port], ms, nfrag);
	if (unlikely(sent < nfrag))
		rte_pktmbuf_free_bulk(ms + sent, nfrag - sent);
	return nfrag - sent;
}

enum scppd_fwd
scppd_forward(struct scppd_worker *w, const struct scpp_delivery_in *in,
	      const struct scpp_route_result *res)
{
	const struct scppd *d = &scppd_g;
	const uint16_t cport = d->cfg.cluster.port;
	const struct scpp_cluster_node *n;
	/* Header, and for a session request extension 1 (its principal). */
	uint8_t hdr[SCPP_WIRE_FWD_HDR_LEN + 2 + SCPP_AUTH_FWD_PRINCIPAL_LEN];
	uint8_t ext[2 + SCPP_AUTH_FWD_PRINCIPAL_LEN];
	struct scpp_auth_fwd_principal fp;
	const uint8_t *pkey = NULL;
	const bool sess = (in->req.session & SCPP_DELIVERY_SESSION) != 0;
	uint32_t hlen;
	struct scpp_wire_fwd f;
	struct scpp_net_peer to;
	uint32_t chunk, total;
	uint16_t nfrag;
	int rc;

	if (!d->cfg.cluster.forward.enabled || !res->found || res->node == d->cfg.node.id)
		return SCPPD_FWD_NO;
	n = scpp_cluster_map_find(scppd_cluster_map(), res->node);
	if (n == NULL || n->state == SCPP_CLUSTER_UNREACHABLE || n->state == SCPP_CLUSTER_SELF)
		return SCPPD_FWD_NO;
	if (in->fwd.hops >= d->cfg.cluster.forward.max_hops) {
		scpp_counter_add(&w->stats.forward_hops_limit, 1);
		scppd_hops_exceeded(w, &in->req, in->fwd.hops, n->rec.id);
		return SCPPD_FWD_DONE;
	}
	/* A session's request goes only with its principal, for the owner to
	 * check against its own policy (docs/SECURITY.md §9.4). */
	if (sess && scppd_auth_fwd_prepare(w, &in->req, n->rec.id, &fp, &pkey) != 0)
		return SCPPD_FWD_NO;
	rc = peer_addr_of(w, n, res->core, d->base_port, &to);
	if (rc == -EHOSTUNREACH)
		return SCPPD_FWD_NO;
	if (rc == -EAGAIN) {
		scpp_counter_add(counter(w, n->slot, FC_ARP_WAIT), 1);
		return SCPPD_FWD_DONE; /* dropped: the client's retransmission goes */
	}
	memset(&f, 0, sizeof(f));
	f.inner_kind = in->req.kind;
	f.hops = (uint8_t)(in->fwd.hops + 1);
	f.origin = in->fwd.hops != 0 ? in->fwd.origin : d->cfg.node.id;
	f.client_ip = in->req.peer.ip;
	f.client_port = rte_be_to_cpu_16(in->req.peer.udp_port);
	memcpy(f.client_mac, in->req.peer.mac.addr_bytes, 6);
	f.req_bytes = in->req.req_bytes;
	if (in->req.has_cookie) {
		f.flags = SCPP_WIRE_FWD_F_COOKIE;
		memcpy(f.cookie, in->req.cookie, SCPP_WIRE_COOKIE_LEN);
	}
	if (sess) {
		memset(ext, 0, sizeof(ext));
		ext[0] = SCPP_WIRE_FWD_EXT_PRINCIPAL;
		ext[1] = SCPP_AUTH_FWD_PRINCIPAL_LEN;
		f.ext = ext;
		f.ext_len = sizeof(ext);
	}
	hlen = (uint32_t)scpp_wire_fwd_encode(hdr, sizeof(hdr), &f);
	if (sess) {
		/* The MAC covers the 44-byte header, the extension and the request. */
		(void)scpp_auth_fwd_principal_seal(&fp, pkey, hdr, SCPP_WIRE_FWD_HDR_LEN, in->msg,
						   in->msg_len, NULL, hdr + SCPP_WIRE_FWD_HDR_LEN + 2,
						   SCPP_AUTH_FWD_PRINCIPAL_LEN);
		sodium_memzero(&fp, sizeof(fp));
	}
	chunk = scppd_peer_chunk(cport);
	total = hlen + in->msg_len;
	nfrag = (uint16_t)((total + chunk - 1) / chunk);
	if (unlikely(nfrag > SCPP_WIRE_FRAGS_MAX)) {
		scpp_counter_add(&w->stats.forward_too_big, 1);
		scppd_forward_too_big(w, &in->req, in->msg_len, SCPP_WIRE_FRAGS_MAX * chunk - hlen,
				      n->rec.id);
		return SCPPD_FWD_DONE;
	}
	rc = scppd_peer_send(w, &to, SCPP_WIRE_FORWARD, in->req.client_id, in->req.block_id, hdr, hlen,
			     in->msg, in->msg_len);
	if (rc < 0)
		return SCPPD_FWD_DONE; /* no mbuf: counted; the client retransmits */
	if (unlikely(rc > 0))
		scpp_counter_add(counter(w, n->slot, FC_TX_FULL), (uint64_t)rc);
	scpp_counter_add(counter(w, n->slot, in->req.kind == SCPP_WIRE_FETCH ? FC_FETCHES : FC_BLOCKS),
			 1);
	if (in->req.kind != SCPP_WIRE_FETCH)
		w->turn_fwd++; /* the worker loop's cost accounting */
	if (sess)
		scppd_auth_ident_push(w, in->req.client_id, n->rec.id, &to);
	return SCPPD_FWD_DONE;
}
