/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Frame parsing and reply framing (see scpp_net.h for the model).
 *
 * The parser is a straight line of checks, each against the bytes already
 * known to be in the first segment, in the order of enum scpp_net_drop; the
 * first failed check names the drop. It reads every header field once and
 * writes only in SCPP_NET_ANSWER, where the request becomes its answer in
 * place (the requester's MAC is in the frame, so answers need no ARP cache,
 * and blocks are answered to the L2 source of the request the same way).
 *
 * Lengths are validated top-down: the frame bounds the IPv4 total length,
 * which bounds the UDP length, which must equal it exactly. Ethernet padding
 * after the IP packet is ignored. A frame's length is checked against the
 * port's MTU before anything else looks inside it, so nothing larger than
 * the advertised MTU is ever accepted or answered.
 */

#include <errno.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_mbuf_core.h>
#include <rte_udp.h>
#if defined(RTE_ARCH_X86_64)
#include <x86intrin.h> /* _addcarry_u64 */
#endif

#include "scpp_net.h"

const char *const scpp_net_drop_name[SCPP_NET_DROP_COUNT] = {
	[SCPP_NET_DROP_ETH_SHORT] = "eth_short",
	[SCPP_NET_DROP_OVER_MTU] = "over_mtu",
	[SCPP_NET_DROP_MULTISEG] = "multi_segment",
	[SCPP_NET_DROP_ETH_BAD_SRC] = "eth_bad_src",
	[SCPP_NET_DROP_NOT_IPV4] = "not_ipv4",
	[SCPP_NET_DROP_ARP_BAD] = "arp_bad",
	[SCPP_NET_DROP_ARP_OTHER] = "arp_other",
	[SCPP_NET_DROP_IP_BAD_HDR] = "ip_bad_header",
	[SCPP_NET_DROP_IP_BAD_CKSUM] = "ip_bad_cksum",
	[SCPP_NET_DROP_IP_FRAGMENT] = "ip_fragment",
	[SCPP_NET_DROP_IP_NOT_MINE] = "ip_not_mine",
	[SCPP_NET_DROP_IP_BAD_SRC] = "ip_bad_src",
	[SCPP_NET_DROP_NOT_UDP] = "not_udp",
	[SCPP_NET_DROP_ICMP_BAD] = "icmp_bad",
	[SCPP_NET_DROP_UDP_BAD_LEN] = "udp_bad_len",
	[SCPP_NET_DROP_UDP_BAD_CKSUM] = "udp_bad_cksum",
	[SCPP_NET_DROP_UDP_WRONG_PORT] = "udp_wrong_port",
	[SCPP_NET_DROP_UDP_SRC_PORT0] = "udp_src_port0",
};

#define IPV4_HDR_MIN ((uint16_t)sizeof(struct rte_ipv4_hdr))

void
scpp_net_init(struct scpp_net *n)
{
	memset(n, 0, sizeof(*n));
}

int
scpp_net_port_set(struct scpp_net *n, uint16_t idx, const struct scpp_net_port *p)
{
	if (idx >= SCPP_NET_MAX_PORTS || p->ip == 0 || !rte_is_unicast_ether_addr(&p->mac) ||
	    p->mtu < SCPP_NET_MTU_MIN || p->mtu > SCPP_NET_MTU_MAX)
		return -EINVAL;
	n->port[idx] = *p;
	if (idx >= n->nb_ports)
		n->nb_ports = (uint16_t)(idx + 1);
	return 0;
}

void
scpp_net_udp_serve(struct scpp_net *n, uint16_t udp_port, bool on)
{
	uint64_t bit = UINT64_C(1) << (udp_port & 63);

	if (on)
		n->udp_served[udp_port >> 6] |= bit;
	else
		n->udp_served[udp_port >> 6] &= ~bit;
}

static inline bool
src_ok(const struct scpp_net_port *p, uint32_t ip)
{
	uint32_t h = rte_be_to_cpu_32(ip);

	return h != 0 && (h >> 24) != 127 && (h >> 28) < 14 && ip != p->ip &&
	       (p->bcast == 0 || ip != p->bcast);
}

bool
scpp_net_src_ok(const struct scpp_net_port *p, uint32_t ip)
{
	return src_ok(p, ip);
}

static inline enum scpp_net_verdict
drop(struct scpp_net_meta *md, struct scpp_net_stats *st, enum scpp_net_drop why)
{
	md->drop = (uint8_t)why;
	scpp_counter_add(&st->drops[why], 1);
	return SCPP_NET_DROP;
}

/*
 * The Internet checksum (RFC 1071) of the frames this module checks and
 * builds, 8 bytes per step: the one's-complement sum of 16-bit words is the
 * same whatever the width of the words added (2^16, 2^32 and 2^64 are all
 * 1 modulo 2^16 - 1) and in whatever byte order, as long as the result is
 * folded and stored in the order it was loaded. DPDK's rte_raw_cksum()
 * adds 16-bit words, about four times the instructions on a 100-byte reply
 * (perf/RESULTS.md, "Issue 12, fifth pass"); the results are identical
 * (tests/unit/net: test_net_checksums_match_dpdk_at_every_length).
 */
static inline uint64_t
cksum_add(uint64_t s, uint64_t v)
{
	s += v;
	return s + (s < v); /* end-around carry */
}

/*
 * The sum of 32 bytes at @p p added to @p s. On x86-64 one carry chain
 * (add, three adc, the chain's carry folded back once): 9 instructions per
 * 32 bytes with the loop, against 16 for four cksum_add() (gcc 12 -O2,
 * whose adc it cannot chain across separate carries). Elsewhere the same
 * sum from cksum_add().
 */
static inline uint64_t
cksum_add32(uint64_t s, const uint8_t *p)
{
	uint64_t v[4];

	memcpy(v, p, sizeof(v));
#if defined(RTE_ARCH_X86_64)
	{
		unsigned long long r = s;
		unsigned char c;

		c = _addcarry_u64(0, r, v[0], &r);
		c = _addcarry_u64(c, r, v[1], &r);
		c = _addcarry_u64(c, r, v[2], &r);
		c = _addcarry_u64(c, r, v[3], &r);
		/* r + c overflows only when r is all ones and c is 1: then
		 * the second carry puts the 2^64 (= 1) back. */
		c = _addcarry_u64(c, r, 0, &r);
		return r + c;
	}
#else
	s = cksum_add(s, v[0]);
	s = cksum_add(s, v[1]);
	s = cksum_add(s, v[2]);
	return cksum_add(s, v[3]);
#endif
}

static inline uint64_t
cksum_sum(const void *buf, size_t len, uint64_t s)
{
	const uint8_t *p = buf;
	uint64_t v8;
	uint32_t v4;
	uint16_t v2;

	for (; len >= 32; len -= 32, p += 32)
		s = cksum_add32(s, p);
	if (len >= 16) {
		memcpy(&v8, p, 8);
		s = cksum_add(s, v8);
		memcpy(&v8, p + 8, 8);
		s = cksum_add(s, v8);
		p += 16;
		len -= 16;
	}
	if (len >= 8) {
		memcpy(&v8, p, 8);
		s = cksum_add(s, v8);
		p += 8;
		len -= 8;
	}
	if (len >= 4) {
		memcpy(&v4, p, 4);
		s = cksum_add(s, v4);
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		memcpy(&v2, p, 2);
		s = cksum_add(s, v2);
		p += 2;
		len -= 2;
	}
	if (len != 0) /* the odd byte, as the first of a zero-padded word */
		s = cksum_add(s, rte_cpu_to_be_16((uint16_t)(*p << 8)));
	return s;
}

/* The 16-bit one's-complement sum of @p s (byte order as loaded). */
static inline uint16_t
cksum_fold(uint64_t s)
{
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffu) + (s >> 16);
	s = (s & 0xffffu) + (s >> 16);
	return (uint16_t)s;
}

/* Sum of the IPv4 pseudo-header of UDP datagram @p udp in @p ip. */
static inline uint64_t
cksum_udp_phdr(const struct rte_ipv4_hdr *ip, const struct rte_udp_hdr *udp)
{
	uint64_t s = (uint64_t)ip->src_addr + ip->dst_addr;

	return s + RTE_BE16(IPPROTO_UDP) + udp->dgram_len;
}

/*
 * Checksum state from the rx flags (mask selects the IP or L4 bits): 1 to
 * trust, 0 to verify in software, -1 for a checksum the NIC found bad.
 * GOOD and NONE are both trusted: NONE means the NIC (or the virtio host)
 * verified the data but left the field unfilled, so software verification
 * of the field would fail a valid packet.
 */
static inline int
cksum_flag(uint64_t ol_flags, uint64_t mask, uint64_t good, uint64_t bad, uint64_t none)
{
	uint64_t f = ol_flags & mask;

	if (f == good || f == none)
		return 1;
	return f == bad ? -1 : 0;
}

static enum scpp_net_verdict
rx_arp(const struct scpp_net_port *p, struct rte_ether_hdr *eth, uint32_t len,
       struct scpp_net_meta *md, struct scpp_net_stats *st)
{
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);

	if (len < RTE_ETHER_HDR_LEN + sizeof(*arp) ||
	    arp->arp_hardware != RTE_BE16(RTE_ARP_HRD_ETHER) ||
	    arp->arp_protocol != RTE_BE16(RTE_ETHER_TYPE_IPV4) || arp->arp_hlen != 6 ||
	    arp->arp_plen != 4)
		return drop(md, st, SCPP_NET_DROP_ARP_BAD);
	if (arp->arp_data.arp_tip != p->ip || !rte_is_unicast_ether_addr(&arp->arp_data.arp_sha) ||
	    (arp->arp_opcode != RTE_BE16(RTE_ARP_OP_REQUEST) &&
	     arp->arp_opcode != RTE_BE16(RTE_ARP_OP_REPLY)))
		return drop(md, st, SCPP_NET_DROP_ARP_OTHER);
	md->arp = 1;
	md->peer.ip = arp->arp_data.arp_sip;
	md->peer.mac = arp->arp_data.arp_sha;
	if (arp->arp_opcode == RTE_BE16(RTE_ARP_OP_REPLY)) {
		scpp_counter_add(&st->arp_learned, 1);
		return SCPP_NET_NEIGH;
	}
	arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REPLY);
	arp->arp_data.arp_tha = arp->arp_data.arp_sha;
	arp->arp_data.arp_tip = arp->arp_data.arp_sip;
	rte_ether_addr_copy(&p->mac, &arp->arp_data.arp_sha);
	arp->arp_data.arp_sip = p->ip;
	rte_ether_addr_copy(&eth->src_addr, &eth->dst_addr);
	rte_ether_addr_copy(&p->mac, &eth->src_addr);
	md->answer_len = (uint16_t)len; /* padding included: it is already there */
	scpp_counter_add(&st->arp_replies, 1);
	return SCPP_NET_ANSWER;
}

static enum scpp_net_verdict
rx_icmp(const struct scpp_net_port *p, struct rte_ether_hdr *eth, struct rte_ipv4_hdr *ip,
	uint16_t ihl, uint16_t ip_len, struct scpp_net_meta *md, struct scpp_net_stats *st)
{
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)((uint8_t *)ip + ihl);
	uint16_t icmp_len = (uint16_t)(ip_len - ihl);
	uint32_t a;

	/* ICMP has no rx checksum flag: always verified here. */
	if (icmp_len < sizeof(*icmp) || icmp->icmp_type != RTE_IP_ICMP_ECHO_REQUEST ||
	    icmp->icmp_code != 0 || rte_raw_cksum(icmp, icmp_len) != 0xffff)
		return drop(md, st, SCPP_NET_DROP_ICMP_BAD);
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
	rte_ether_addr_copy(&p->mac, &eth->src_addr);
	md->answer_len = (uint16_t)(RTE_ETHER_HDR_LEN + ip_len); /* Ethernet padding trimmed */
	scpp_counter_add(&st->icmp_echo, 1);
	return SCPP_NET_ANSWER;
}

enum scpp_net_verdict
scpp_net_rx(const struct scpp_net *n, uint16_t port, uint8_t *frame, uint32_t frame_len,
	    uint32_t seg_len, uint64_t ol_flags, struct scpp_net_meta *md,
	    struct scpp_net_stats *st)
{
	const struct scpp_net_port *p = &n->port[port];
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)frame;
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *udp;
	uint16_t ihl, ip_len, udp_len;
	int ck;

	SCPP_ASSERT(port < n->nb_ports);
	md->arp = 0;
	scpp_counter_add(&st->rx_frames, 1);
	scpp_counter_add(&st->rx_bytes, frame_len);
	if (SCPP_UNLIKELY(seg_len < RTE_ETHER_HDR_LEN))
		return drop(md, st, SCPP_NET_DROP_ETH_SHORT);
	if (SCPP_UNLIKELY(frame_len > (uint32_t)p->mtu + RTE_ETHER_HDR_LEN))
		return drop(md, st, SCPP_NET_DROP_OVER_MTU);
	if (SCPP_UNLIKELY(seg_len < frame_len))
		return drop(md, st, SCPP_NET_DROP_MULTISEG);
	if (SCPP_UNLIKELY(!rte_is_unicast_ether_addr(&eth->src_addr)))
		return drop(md, st, SCPP_NET_DROP_ETH_BAD_SRC);
	if (eth->ether_type != RTE_BE16(RTE_ETHER_TYPE_IPV4)) {
		if (eth->ether_type == RTE_BE16(RTE_ETHER_TYPE_ARP))
			return rx_arp(p, eth, frame_len, md, st);
		return drop(md, st, SCPP_NET_DROP_NOT_IPV4);
	}
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	if (SCPP_UNLIKELY(frame_len < RTE_ETHER_HDR_LEN + IPV4_HDR_MIN))
		return drop(md, st, SCPP_NET_DROP_IP_BAD_HDR);
	ihl = (uint16_t)rte_ipv4_hdr_len(ip);
	ip_len = rte_be_to_cpu_16(ip->total_length);
	if (SCPP_UNLIKELY((ip->version_ihl >> 4) != 4 || ihl < IPV4_HDR_MIN || ip_len < ihl ||
			  ip_len > frame_len - RTE_ETHER_HDR_LEN))
		return drop(md, st, SCPP_NET_DROP_IP_BAD_HDR);
	ck = cksum_flag(ol_flags, RTE_MBUF_F_RX_IP_CKSUM_MASK, RTE_MBUF_F_RX_IP_CKSUM_GOOD,
			RTE_MBUF_F_RX_IP_CKSUM_BAD, RTE_MBUF_F_RX_IP_CKSUM_NONE);
	if (ck > 0) {
		scpp_counter_add(&st->cksum_trusted, 1);
	} else {
		if (ck == 0) {
			scpp_counter_add(&st->cksum_sw, 1);
			/* The header without options, 20 bytes, summed in a
			 * straight line; with options, by the loop. */
			if (cksum_fold(ihl == IPV4_HDR_MIN ? cksum_sum(ip, IPV4_HDR_MIN, 0) :
							     cksum_sum(ip, ihl, 0)) == 0xffff)
				ck = 1;
		}
		if (ck <= 0)
			return drop(md, st, SCPP_NET_DROP_IP_BAD_CKSUM);
	}
	if (SCPP_UNLIKELY((ip->fragment_offset &
			   RTE_BE16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) != 0))
		return drop(md, st, SCPP_NET_DROP_IP_FRAGMENT);
	if (SCPP_UNLIKELY(ip->dst_addr != p->ip))
		return drop(md, st, SCPP_NET_DROP_IP_NOT_MINE);
	if (SCPP_UNLIKELY(!src_ok(p, ip->src_addr)))
		return drop(md, st, SCPP_NET_DROP_IP_BAD_SRC);
	if (ip->next_proto_id != IPPROTO_UDP) {
		if (ip->next_proto_id == IPPROTO_ICMP)
			return rx_icmp(p, eth, ip, ihl, ip_len, md, st);
		return drop(md, st, SCPP_NET_DROP_NOT_UDP);
	}
	udp = (struct rte_udp_hdr *)((uint8_t *)ip + ihl);
	/* The UDP length must be exactly the IP payload: the checksum (ours
	 * and rte_ipv4_udptcp_cksum_verify()'s) covers the IP payload. */
	if (SCPP_UNLIKELY(ip_len - ihl < (int)sizeof(*udp)))
		return drop(md, st, SCPP_NET_DROP_UDP_BAD_LEN);
	udp_len = rte_be_to_cpu_16(udp->dgram_len);
	if (SCPP_UNLIKELY(udp_len != ip_len - ihl))
		return drop(md, st, SCPP_NET_DROP_UDP_BAD_LEN);
	/* Checksum 0 means "none" for UDP over IPv4: nothing to verify. */
	if (udp->dgram_cksum != 0) {
		ck = cksum_flag(ol_flags, RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_GOOD,
				RTE_MBUF_F_RX_L4_CKSUM_BAD, RTE_MBUF_F_RX_L4_CKSUM_NONE);
		if (ck > 0) {
			scpp_counter_add(&st->cksum_trusted, 1);
		} else {
			if (ck == 0) {
				scpp_counter_add(&st->cksum_sw, 1);
				if (cksum_fold(cksum_sum(udp, udp_len, cksum_udp_phdr(ip, udp))) ==
				    0xffff)
					ck = 1;
			}
			if (ck <= 0)
				return drop(md, st, SCPP_NET_DROP_UDP_BAD_CKSUM);
		}
	}
	if (SCPP_UNLIKELY(!scpp_net_udp_served(n, rte_be_to_cpu_16(udp->dst_port))))
		return drop(md, st, SCPP_NET_DROP_UDP_WRONG_PORT);
	if (SCPP_UNLIKELY(udp->src_port == 0))
		return drop(md, st, SCPP_NET_DROP_UDP_SRC_PORT0);
	rte_ether_addr_copy(&eth->src_addr, &md->peer.mac);
	md->peer.port = port;
	md->peer.ip = ip->src_addr;
	md->peer.local_ip = ip->dst_addr;
	md->peer.udp_port = udp->src_port;
	md->peer.local_udp_port = udp->dst_port;
	md->l4_off = (uint16_t)((uint8_t *)(udp + 1) - frame);
	md->l4_len = (uint16_t)(udp_len - sizeof(*udp));
	scpp_counter_add(&st->delivered, 1);
	return SCPP_NET_DELIVER;
}

uint8_t *
scpp_net_udp_build(const struct scpp_net *n, const struct scpp_net_peer *to, uint8_t *frame,
		   uint16_t udp_len)
{
	const struct scpp_net_port *p = &n->port[to->port];
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)frame;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

	SCPP_ASSERT(udp_len <= scpp_net_udp_max(n, to->port));
	rte_ether_addr_copy(&to->mac, &eth->dst_addr);
	rte_ether_addr_copy(&p->mac, &eth->src_addr);
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = 0;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(SCPP_NET_IP_UDP_LEN + udp_len));
	ip->packet_id = 0;
	ip->fragment_offset = RTE_BE16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->hdr_checksum = 0;
	ip->src_addr = to->local_ip;
	ip->dst_addr = to->ip;
	udp->src_port = to->local_udp_port;
	udp->dst_port = to->udp_port;
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(sizeof(*udp) + udp_len));
	udp->dgram_cksum = 0;
	return (uint8_t *)(udp + 1);
}

uint64_t
scpp_net_tx_offload_flags(const struct scpp_net *n, uint16_t port)
{
	return n->port[port].tx_cksum_offload ?
		       RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM :
		       0;
}

void
scpp_net_udp_finish(const struct scpp_net *n, uint16_t port, uint8_t *frame)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(frame + RTE_ETHER_HDR_LEN);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	uint16_t ck;

	if (n->port[port].tx_cksum_offload) {
		udp->dgram_cksum = rte_ipv4_phdr_cksum(ip, scpp_net_tx_offload_flags(n, port));
		return;
	}
	/* udp_build() left both checksum fields 0. */
	ip->hdr_checksum = (uint16_t)~cksum_fold(cksum_sum(ip, sizeof(*ip), 0));
	ck = (uint16_t)~cksum_fold(cksum_sum(udp, rte_be_to_cpu_16(udp->dgram_len),
					     cksum_udp_phdr(ip, udp)));
	/* Sends a computed 0 as 0xffff (RFC 768): 0 would mean "none". */
	udp->dgram_cksum = ck == 0 ? 0xffff : ck;
}

uint16_t
scpp_net_arp_request(const struct scpp_net *n, uint16_t port, uint32_t ip, uint8_t *frame)
{
	const struct scpp_net_port *p = &n->port[port];
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)frame;
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);

	memset(frame, 0, SCPP_NET_ARP_REQUEST_LEN);
	memset(&eth->dst_addr, 0xff, RTE_ETHER_ADDR_LEN);
	rte_ether_addr_copy(&p->mac, &eth->src_addr);
	eth->ether_type = RTE_BE16(RTE_ETHER_TYPE_ARP);
	arp->arp_hardware = RTE_BE16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = 4;
	arp->arp_opcode = RTE_BE16(RTE_ARP_OP_REQUEST);
	rte_ether_addr_copy(&p->mac, &arp->arp_data.arp_sha);
	arp->arp_data.arp_sip = p->ip;
	arp->arp_data.arp_tip = ip;
	return SCPP_NET_ARP_REQUEST_LEN;
}
