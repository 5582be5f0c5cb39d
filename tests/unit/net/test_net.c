/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/net over plain buffers (no EAL): every drop reason, each checksum
 * flag case, the MTU edges, ARP and ICMP answers byte for byte, and frames
 * built for replies. Test frames are assembled here with an independent
 * Internet checksum, not with the DPDK helpers the library uses.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <rte_ip.h>
#include <rte_mbuf_core.h>
#include <rte_udp.h>

#include "scpp_test.h"
#include "scpp_common.h"
#include "scpp_net.h"

#define OUR_IP "198.18.0.2"
#define PEER_IP "198.18.0.1"
#define BASE_PORT 7300
#define FRAME_MAX 10000

static const uint8_t our_mac[6] = {0x02, 0, 0, 0, 0, 0x02};
static const uint8_t peer_mac[6] = {0x02, 0, 0, 0, 0, 0x01};

static struct scpp_net net;
static struct scpp_net_stats st;
static uint8_t frame[FRAME_MAX], frame2[FRAME_MAX];

static uint32_t
ip4(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

/* RFC 1071 sum over @p n bytes, added to @p sum (not complemented). */
static uint32_t
sum16(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t
fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* UDP checksum of the datagram at frame + 34 (IPv4 without options). */
static uint16_t
udp_sum(const uint8_t *f)
{
	uint16_t ulen = get16(f + 38);
	uint32_t s = sum16(f + 26, 8, 0) + 17 + ulen;

	return (uint16_t)~fold(sum16(f + 34, ulen, s));
}

/*
 * A UDP frame from the peer to us: Ethernet + IPv4 (no options) + UDP +
 * @p payload_len bytes of a pattern, both checksums right. Returns its length.
 */
static uint32_t
udp_frame(uint8_t *f, uint16_t dport, uint16_t payload_len)
{
	uint16_t ulen = (uint16_t)(8 + payload_len), tot = (uint16_t)(20 + ulen);
	uint32_t src = ip4(PEER_IP), dst = ip4(OUR_IP);

	memcpy(f, our_mac, 6);
	memcpy(f + 6, peer_mac, 6);
	put16(f + 12, 0x0800);
	f[14] = 0x45;
	f[15] = 0;
	put16(f + 16, tot);
	put16(f + 18, 0x1234);
	put16(f + 20, 0x4000);
	f[22] = 64;
	f[23] = 17;
	put16(f + 24, 0);
	memcpy(f + 26, &src, 4);
	memcpy(f + 30, &dst, 4);
	put16(f + 24, (uint16_t)~fold(sum16(f + 14, 20, 0)));
	put16(f + 34, 40000);
	put16(f + 36, dport);
	put16(f + 38, ulen);
	put16(f + 40, 0);
	for (uint16_t i = 0; i < payload_len; i++)
		f[42 + i] = (uint8_t)(i * 7 + 1);
	put16(f + 40, udp_sum(f));
	return 14u + tot;
}

/* Recompute both checksums after a test changed a header field. */
static void
fix_sums(uint8_t *f)
{
	put16(f + 24, 0);
	put16(f + 24, (uint16_t)~fold(sum16(f + 14, (size_t)(f[14] & 15) * 4, 0)));
	if (f[23] == 17 && (f[14] & 15) == 5) {
		put16(f + 40, 0);
		put16(f + 40, udp_sum(f));
	}
}

static void
net_setup(uint16_t mtu, bool tx_offload)
{
	struct scpp_net_port p = {.ip = ip4(OUR_IP), .bcast = ip4("198.18.0.255"), .mtu = mtu,
				  .tx_cksum_offload = tx_offload};

	memcpy(p.mac.addr_bytes, our_mac, 6);
	scpp_net_init(&net);
	assert_int_equal(scpp_net_port_set(&net, 0, &p), 0);
	scpp_net_udp_serve(&net, BASE_PORT, true);
	scpp_net_udp_serve(&net, BASE_PORT + 1, true);
	memset(&st, 0, sizeof(st));
}

static uint64_t
drops_total(void)
{
	uint64_t n = 0;

	for (int i = 0; i < SCPP_NET_DROP_COUNT; i++)
		n += st.drops[i];
	return n;
}

/* Every frame is counted exactly once. */
static void
assert_accounting(void)
{
	assert_true(st.rx_frames == st.delivered + st.arp_replies + st.icmp_echo + st.arp_learned +
		    drops_total());
}

static enum scpp_net_verdict
rx(uint32_t len, uint64_t flags, struct scpp_net_meta *md)
{
	memset(md, 0xee, sizeof(*md));
	return scpp_net_rx(&net, 0, frame, len, len, flags, md, &st);
}

#define assert_drop(len, flags, why)                                                   \
	do {                                                                           \
		struct scpp_net_meta md_;                                              \
		uint64_t before_ = st.drops[why];                                      \
		enum scpp_net_verdict v_ = rx((len), (flags), &md_);                   \
		if (v_ != SCPP_NET_DROP || md_.drop != (why))                          \
			fail_msg("line %d: verdict %d drop %s, want drop %s", __LINE__, \
				 v_, v_ == SCPP_NET_DROP ? scpp_net_drop_name[md_.drop] : "-", \
				 scpp_net_drop_name[why]);                             \
		assert_true(st.drops[why] == before_ + 1);                             \
	} while (0)

#define assert_deliver(len, flags)                                                     \
	do {                                                                           \
		struct scpp_net_meta md_;                                              \
		enum scpp_net_verdict v_ = rx((len), (flags), &md_);                   \
		if (v_ != SCPP_NET_DELIVER)                                            \
			fail_msg("line %d: verdict %d (%s), want deliver", __LINE__, v_, \
				 v_ == SCPP_NET_DROP ? scpp_net_drop_name[md_.drop] : "-"); \
	} while (0)

static void
test_net_port_set_rejects_each_bad_field(void **state)
{
	struct scpp_net_port p = {.ip = ip4(OUR_IP), .mtu = 1500};
	(void)state;

	memcpy(p.mac.addr_bytes, our_mac, 6);
	scpp_net_init(&net);
	assert_int_equal(scpp_net_port_set(&net, SCPP_NET_MAX_PORTS, &p), -EINVAL);
	p.ip = 0;
	assert_int_equal(scpp_net_port_set(&net, 0, &p), -EINVAL);
	p.ip = ip4(OUR_IP);
	p.mac.addr_bytes[0] = 0x01; /* multicast */
	assert_int_equal(scpp_net_port_set(&net, 0, &p), -EINVAL);
	p.mac.addr_bytes[0] = 0x02;
	p.mtu = SCPP_NET_MTU_MIN - 1;
	assert_int_equal(scpp_net_port_set(&net, 0, &p), -EINVAL);
	p.mtu = SCPP_NET_MTU_MAX + 1;
	assert_int_equal(scpp_net_port_set(&net, 0, &p), -EINVAL);
	assert_int_equal(net.nb_ports, 0);
	p.mtu = SCPP_NET_MTU_MAX;
	assert_int_equal(scpp_net_port_set(&net, 3, &p), 0);
	assert_int_equal(net.nb_ports, 4);
	scpp_net_udp_serve(&net, 65535, true);
	assert_true(scpp_net_udp_served(&net, 65535) && !scpp_net_udp_served(&net, 65534));
	scpp_net_udp_serve(&net, 65535, false);
	assert_false(scpp_net_udp_served(&net, 65535));
}

static void
test_net_delivers_udp_with_sender_and_payload(void **state)
{
	struct scpp_net_meta md;
	uint32_t len;
	(void)state;

	net_setup(1500, false);
	len = udp_frame(frame, BASE_PORT + 1, 100);
	assert_int_equal(rx(len, 0, &md), SCPP_NET_DELIVER);
	assert_memory_equal(md.peer.mac.addr_bytes, peer_mac, 6);
	assert_int_equal(md.peer.port, 0);
	assert_true(md.peer.ip == ip4(PEER_IP) && md.peer.local_ip == ip4(OUR_IP));
	assert_int_equal(ntohs(md.peer.udp_port), 40000);
	assert_int_equal(ntohs(md.peer.local_udp_port), BASE_PORT + 1);
	assert_int_equal(md.l4_off, 42);
	assert_int_equal(md.l4_len, 100);
	assert_true(st.delivered == 1 && st.rx_bytes == len && st.cksum_sw == 2);
	/* Ethernet padding after the IP packet is not payload. */
	len = udp_frame(frame, BASE_PORT, 2);
	memset(frame + len, 0xaa, 60 - len);
	assert_int_equal(rx(60, 0, &md), SCPP_NET_DELIVER);
	assert_int_equal(md.l4_len, 2);
	/* Checksum 0 means "none" for UDP over IPv4. */
	len = udp_frame(frame, BASE_PORT, 10);
	put16(frame + 40, 0);
	assert_int_equal(rx(len, 0, &md), SCPP_NET_DELIVER);
	assert_accounting();
}

static void
test_net_drops_every_reason_once(void **state)
{
	uint32_t len;
	(void)state;

	net_setup(1500, false);
#define BASE() (len = udp_frame(frame, BASE_PORT, 64))
	BASE();
	assert_drop(13, 0, SCPP_NET_DROP_ETH_SHORT);
	assert_drop(0, 0, SCPP_NET_DROP_ETH_SHORT);
	{
		struct scpp_net_meta md;

		/* A chained frame: the first segment is not the whole frame. */
		assert_int_equal(scpp_net_rx(&net, 0, frame, len, len - 1, 0, &md, &st),
				 SCPP_NET_DROP);
		assert_int_equal(md.drop, SCPP_NET_DROP_MULTISEG);
	}
	BASE();
	frame[6] = 0x01; /* multicast source */
	assert_drop(len, 0, SCPP_NET_DROP_ETH_BAD_SRC);
	memset(frame + 6, 0xff, 6);
	assert_drop(len, 0, SCPP_NET_DROP_ETH_BAD_SRC);
	BASE();
	put16(frame + 12, 0x86dd);
	assert_drop(len, 0, SCPP_NET_DROP_NOT_IPV4);
	put16(frame + 12, 0x8100);
	assert_drop(len, 0, SCPP_NET_DROP_NOT_IPV4);
	/* IPv4 header */
	BASE();
	assert_drop(33, 0, SCPP_NET_DROP_IP_BAD_HDR);
	frame[14] = 0x65;
	assert_drop(len, 0, SCPP_NET_DROP_IP_BAD_HDR);
	frame[14] = 0x44;
	assert_drop(len, 0, SCPP_NET_DROP_IP_BAD_HDR);
	BASE();
	put16(frame + 16, (uint16_t)(len - 14 + 1)); /* past the frame */
	assert_drop(len, RTE_MBUF_F_RX_IP_CKSUM_GOOD, SCPP_NET_DROP_IP_BAD_HDR);
	put16(frame + 16, 19); /* shorter than its header */
	assert_drop(len, RTE_MBUF_F_RX_IP_CKSUM_GOOD, SCPP_NET_DROP_IP_BAD_HDR);
	BASE();
	frame[24] ^= 0x40;
	assert_drop(len, 0, SCPP_NET_DROP_IP_BAD_CKSUM);
	BASE();
	put16(frame + 20, 0x2000); /* MF */
	fix_sums(frame);
	assert_drop(len, 0, SCPP_NET_DROP_IP_FRAGMENT);
	put16(frame + 20, 0x0001); /* offset 8 */
	fix_sums(frame);
	assert_drop(len, 0, SCPP_NET_DROP_IP_FRAGMENT);
	BASE();
	{
		uint32_t other = ip4("198.18.0.3");

		memcpy(frame + 30, &other, 4);
	}
	fix_sums(frame);
	assert_drop(len, 0, SCPP_NET_DROP_IP_NOT_MINE);
	static const char *const bad_src[] = {"0.0.0.0", "127.0.0.1", "224.0.0.1",
					      "239.255.255.250", "240.0.0.1", "255.255.255.255",
					      "198.18.0.255", OUR_IP};
	for (size_t i = 0; i < SCPP_ARRAY_SIZE(bad_src); i++) {
		uint32_t a = ip4(bad_src[i]);

		BASE();
		memcpy(frame + 26, &a, 4);
		fix_sums(frame);
		assert_drop(len, 0, SCPP_NET_DROP_IP_BAD_SRC);
	}
	BASE();
	frame[23] = 6; /* TCP */
	fix_sums(frame);
	assert_drop(len, 0, SCPP_NET_DROP_NOT_UDP);
	/* UDP */
	BASE();
	put16(frame + 38, 64 + 8 + 1);
	fix_sums(frame);
	assert_drop(len, RTE_MBUF_F_RX_L4_CKSUM_GOOD, SCPP_NET_DROP_UDP_BAD_LEN);
	put16(frame + 38, 64 + 8 - 1);
	assert_drop(len, RTE_MBUF_F_RX_L4_CKSUM_GOOD, SCPP_NET_DROP_UDP_BAD_LEN);
	put16(frame + 16, 20 + 7); /* an IP payload too short for a UDP header */
	fix_sums(frame);
	assert_drop(len, 0, SCPP_NET_DROP_UDP_BAD_LEN);
	BASE();
	frame[50] ^= 1;
	assert_drop(len, 0, SCPP_NET_DROP_UDP_BAD_CKSUM);
	len = udp_frame(frame, BASE_PORT + 2, 64);
	assert_drop(len, 0, SCPP_NET_DROP_UDP_WRONG_PORT);
	len = udp_frame(frame, 7299, 64);
	assert_drop(len, 0, SCPP_NET_DROP_UDP_WRONG_PORT);
	BASE();
	put16(frame + 34, 0);
	fix_sums(frame);
	assert_drop(len, 0, SCPP_NET_DROP_UDP_SRC_PORT0);
#undef BASE
	/* Every reason was exercised at least once (ARP and ICMP ones below). */
	for (int i = 0; i < SCPP_NET_DROP_COUNT; i++)
		if (i != SCPP_NET_DROP_OVER_MTU && i != SCPP_NET_DROP_ARP_BAD &&
		    i != SCPP_NET_DROP_ARP_OTHER && i != SCPP_NET_DROP_ICMP_BAD &&
		    st.drops[i] == 0)
			fail_msg("drop reason %s never counted", scpp_net_drop_name[i]);
	assert_int_equal(st.delivered, 0);
	assert_accounting();
}

static void
test_net_checksum_flags_good_none_bad_unknown(void **state)
{
	static const struct {
		const char *name;
		uint64_t flags;
		bool break_ip, break_udp;
		bool deliver;
		int why;
		uint64_t trusted, sw;
	} cases[] = {
		{"unknown, both right", 0, false, false, true, 0, 0, 2},
		{"unknown, ip wrong", 0, true, false, false, SCPP_NET_DROP_IP_BAD_CKSUM, 0, 1},
		{"unknown, udp wrong", 0, false, true, false, SCPP_NET_DROP_UDP_BAD_CKSUM, 0, 2},
		{"good, both wrong", RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD,
		 true, true, true, 0, 2, 0},
		{"none, both unfilled (virtio)",
		 RTE_MBUF_F_RX_IP_CKSUM_NONE | RTE_MBUF_F_RX_L4_CKSUM_NONE, true, true, true, 0, 2, 0},
		{"ip bad, both right", RTE_MBUF_F_RX_IP_CKSUM_BAD, false, false, false,
		 SCPP_NET_DROP_IP_BAD_CKSUM, 0, 0},
		{"l4 bad, both right", RTE_MBUF_F_RX_L4_CKSUM_BAD, false, false, false,
		 SCPP_NET_DROP_UDP_BAD_CKSUM, 0, 1},
		{"ip good, l4 unknown and wrong", RTE_MBUF_F_RX_IP_CKSUM_GOOD, true, true, false,
		 SCPP_NET_DROP_UDP_BAD_CKSUM, 1, 1},
		{"ip none, l4 good", RTE_MBUF_F_RX_IP_CKSUM_NONE | RTE_MBUF_F_RX_L4_CKSUM_GOOD,
		 true, true, true, 0, 2, 0},
		{"ip unknown, l4 none", RTE_MBUF_F_RX_L4_CKSUM_NONE, false, true, true, 0, 1, 1},
	};
	(void)state;

	for (size_t i = 0; i < SCPP_ARRAY_SIZE(cases); i++) {
		struct scpp_net_meta md;
		uint32_t len;
		enum scpp_net_verdict v;

		net_setup(1500, false);
		len = udp_frame(frame, BASE_PORT, 32);
		if (cases[i].break_ip)
			put16(frame + 24, (uint16_t)~get16(frame + 24));
		if (cases[i].break_udp)
			put16(frame + 40, (uint16_t)(get16(frame + 40) + 1));
		v = rx(len, cases[i].flags, &md);
		if (v != (cases[i].deliver ? SCPP_NET_DELIVER : SCPP_NET_DROP) ||
		    (!cases[i].deliver && md.drop != cases[i].why))
			fail_msg("%s: verdict %d drop %d", cases[i].name, v, md.drop);
		if (st.cksum_trusted != cases[i].trusted || st.cksum_sw != cases[i].sw)
			fail_msg("%s: trusted %lu sw %lu", cases[i].name,
				 (unsigned long)st.cksum_trusted, (unsigned long)st.cksum_sw);
		assert_accounting();
	}
}

static void
test_net_mtu_edges_whatever_the_port_lets_through(void **state)
{
	uint32_t len;
	(void)state;

	net_setup(1500, false);
	/* Exactly the MTU: 1500 bytes of IP, 1514 of frame. */
	len = udp_frame(frame, BASE_PORT, 1500 - 28);
	assert_int_equal(len, 1514);
	assert_deliver(len, 0);
	/* MTU + 1 (the port accepted 1515..2048-byte frames before). */
	len = udp_frame(frame, BASE_PORT, 1500 - 28 + 1);
	assert_drop(len, 0, SCPP_NET_DROP_OVER_MTU);
	/* A jumbo frame, even one whose headers are fine. */
	len = udp_frame(frame, BASE_PORT, 9000 - 28);
	assert_drop(len, RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD,
		    SCPP_NET_DROP_OVER_MTU);
	/* Over the MTU counts before anything else looks inside. */
	memset(frame + 6, 0xff, 6);
	assert_drop(len, 0, SCPP_NET_DROP_OVER_MTU);
	/* A jumbo port takes it, and no more. */
	net_setup(9000, false);
	len = udp_frame(frame, BASE_PORT, 9000 - 28);
	assert_deliver(len, 0);
	len = udp_frame(frame, BASE_PORT, 9000 - 28 + 1);
	assert_drop(len, 0, SCPP_NET_DROP_OVER_MTU);
	assert_int_equal(scpp_net_udp_max(&net, 0), 9000 - 28);
	assert_accounting();
}

static uint32_t
arp_frame(uint8_t *f, uint16_t op, const char *tip)
{
	uint32_t s = ip4(PEER_IP), t = ip4(tip);

	memset(f, 0, 60);
	memset(f, 0xff, 6);
	memcpy(f + 6, peer_mac, 6);
	put16(f + 12, 0x0806);
	put16(f + 14, 1);
	put16(f + 16, 0x0800);
	f[18] = 6;
	f[19] = 4;
	put16(f + 20, op);
	memcpy(f + 22, peer_mac, 6);
	memcpy(f + 28, &s, 4);
	memcpy(f + 38, &t, 4);
	return 60; /* padded to the Ethernet minimum */
}

static void
test_net_answers_arp_requests_for_our_address_only(void **state)
{
	struct scpp_net_meta md;
	uint32_t len, s = ip4(PEER_IP), me = ip4(OUR_IP);
	uint8_t want[60];
	(void)state;

	net_setup(1500, false);
	len = arp_frame(frame, 1, OUR_IP);
	memcpy(want, frame, 60);
	memcpy(want, peer_mac, 6);
	memcpy(want + 6, our_mac, 6);
	put16(want + 20, 2);
	memcpy(want + 22, our_mac, 6);
	memcpy(want + 28, &me, 4);
	memcpy(want + 32, peer_mac, 6);
	memcpy(want + 38, &s, 4);
	assert_int_equal(rx(len, 0, &md), SCPP_NET_ANSWER);
	assert_int_equal(md.answer_len, 60);
	assert_memory_equal(frame, want, 60);
	assert_int_equal(st.arp_replies, 1);
	/* The requester's binding is reported with the answer. */
	assert_int_equal(md.arp, 1);
	len = arp_frame(frame, 2, OUR_IP); /* a reply for us: a neighbour's binding */
	assert_int_equal(rx(len, 0, &md), SCPP_NET_NEIGH);
	assert_int_equal(md.arp, 1);
	assert_int_equal(md.peer.ip, s);
	assert_memory_equal(md.peer.mac.addr_bytes, peer_mac, 6);
	assert_int_equal(st.arp_learned, 1);
	len = arp_frame(frame, 3, OUR_IP); /* another opcode */
	assert_drop(len, 0, SCPP_NET_DROP_ARP_OTHER);
	len = arp_frame(frame, 1, "198.18.0.9"); /* for someone else */
	assert_drop(len, 0, SCPP_NET_DROP_ARP_OTHER);
	len = arp_frame(frame, 1, OUR_IP);
	assert_drop(41, 0, SCPP_NET_DROP_ARP_BAD);
	put16(frame + 14, 6); /* not Ethernet */
	assert_drop(len, 0, SCPP_NET_DROP_ARP_BAD);
	len = arp_frame(frame, 1, OUR_IP);
	frame[19] = 16; /* not IPv4-sized */
	assert_drop(len, 0, SCPP_NET_DROP_ARP_BAD);
	assert_accounting();
}

/* The request a node sends to find a peer's MAC, byte for byte. */
static void
test_net_builds_arp_requests(void **state)
{
	uint32_t me = ip4(OUR_IP), them = ip4(PEER_IP);
	uint8_t f[64], want[60] = {0};
	(void)state;

	net_setup(1500, false);
	memset(want, 0xff, 6);
	memcpy(want + 6, our_mac, 6);
	put16(want + 12, 0x0806);
	put16(want + 14, 1);
	put16(want + 16, 0x0800);
	want[18] = 6;
	want[19] = 4;
	put16(want + 20, 1);
	memcpy(want + 22, our_mac, 6);
	memcpy(want + 28, &me, 4);
	memcpy(want + 38, &them, 4);
	memset(f, 0xee, sizeof(f));
	assert_int_equal(scpp_net_arp_request(&net, 0, them, f), SCPP_NET_ARP_REQUEST_LEN);
	assert_memory_equal(f, want, 60);
}

static uint32_t
icmp_frame(uint8_t *f, uint8_t type, uint16_t body)
{
	uint32_t len = udp_frame(f, BASE_PORT, (uint16_t)(body + 8 - 8));

	f[23] = 1;
	f[34] = type;
	f[35] = 0;
	put16(f + 36, 0);
	put16(f + 38, 0x4242); /* id */
	put16(f + 40, 7);      /* seq */
	fix_sums(f);
	put16(f + 36, (uint16_t)~fold(sum16(f + 34, len - 34, 0)));
	return len;
}

static void
test_net_answers_icmp_echo_and_trims_padding(void **state)
{
	struct scpp_net_meta md;
	uint32_t len;
	(void)state;

	net_setup(1500, false);
	len = icmp_frame(frame, 8, 20);
	memcpy(frame2, frame, len);
	memset(frame + len, 0x55, 100); /* trailing padding */
	assert_int_equal(rx(len + 100, 0, &md), SCPP_NET_ANSWER);
	assert_int_equal(md.answer_len, len);
	assert_memory_equal(frame, peer_mac, 6);
	assert_memory_equal(frame + 6, our_mac, 6);
	assert_int_equal(frame[34], 0); /* echo reply */
	assert_int_equal(fold(sum16(frame + 34, len - 34, 0)), 0xffff);
	assert_int_equal(fold(sum16(frame + 14, 20, 0)), 0xffff);
	assert_memory_equal(frame + 26, frame2 + 30, 4); /* addresses swapped */
	assert_memory_equal(frame + 30, frame2 + 26, 4);
	assert_memory_equal(frame + 38, frame2 + 38, len - 38); /* id, seq, body kept */
	assert_int_equal(st.icmp_echo, 1);
	/* Not an echo request, a bad checksum, a short header, a code. */
	len = icmp_frame(frame, 0, 20);
	assert_drop(len, 0, SCPP_NET_DROP_ICMP_BAD);
	len = icmp_frame(frame, 8, 20);
	frame[45] ^= 1;
	assert_drop(len, 0, SCPP_NET_DROP_ICMP_BAD);
	len = icmp_frame(frame, 8, 20);
	put16(frame + 16, 20 + 7);
	fix_sums(frame);
	assert_drop(len, 0, SCPP_NET_DROP_ICMP_BAD);
	len = icmp_frame(frame, 8, 20);
	frame[35] = 1;
	assert_drop(len, 0, SCPP_NET_DROP_ICMP_BAD);
	assert_accounting();
}

/*
 * lib/net sums 8 bytes at a time: at every payload length (odd ones and
 * every tail size), the checksums it writes are those of RFC 1071 as this
 * test computes them (and DPDK's), the ones it verifies on rx accept every
 * right frame, and one flipped bit anywhere in the datagram is dropped.
 */
static void
test_net_checksums_match_dpdk_at_every_length(void **state)
{
	struct scpp_net_meta md;
	uint64_t bad = 0;
	uint16_t ulen;
	uint8_t *pl;
	(void)state;

	net_setup(1500, false);
	for (uint16_t n = 0; n <= 1472; n++) {
		uint32_t len = udp_frame(frame, BASE_PORT, n);
		uint16_t c, want;

		/* rx: the frame's own (right) checksums verify. */
		st.cksum_sw = 0;
		assert_int_equal(rx(len, 0, &md), SCPP_NET_DELIVER);
		assert_int_equal(st.cksum_sw, get16(frame + 40) != 0 ? 2 : 1);
		/* ... and a flipped bit in the payload (or the UDP header) does not. */
		frame[n != 0 ? 42u + n / 2u : 34u] ^= 0x10;
		if (get16(frame + 40) != 0) {
			assert_int_equal(rx(len, 0, &md), SCPP_NET_DROP);
			assert_int_equal(st.drops[SCPP_NET_DROP_UDP_BAD_CKSUM], ++bad);
		}
		/* tx: a reply of n bytes of a pattern, summed as RFC 1071 says. */
		memcpy(&md.peer.mac, peer_mac, 6);
		md.peer.port = 0;
		md.peer.ip = ip4(PEER_IP);
		md.peer.local_ip = ip4(OUR_IP);
		md.peer.udp_port = rte_cpu_to_be_16(40000);
		md.peer.local_udp_port = rte_cpu_to_be_16(BASE_PORT);
		pl = scpp_net_udp_build(&net, &md.peer, frame2, n);
		for (uint16_t i = 0; i < n; i++)
			pl[i] = (uint8_t)(i * 31 + n);
		scpp_net_udp_finish(&net, 0, frame2);
		assert_int_equal(fold(sum16(frame2 + 14, 20, 0)), 0xffff);
		c = get16(frame2 + 40);
		put16(frame2 + 40, 0);
		want = udp_sum(frame2);
		assert_int_equal(c, want == 0 ? 0xffff : want);
		put16(frame2 + 40, c);
		ulen = get16(frame2 + 38);
		assert_int_equal(ulen, 8 + n);
		assert_int_equal(rte_ipv4_udptcp_cksum_verify(
					 (const struct rte_ipv4_hdr *)(frame2 + 14),
					 (const struct rte_udp_hdr *)(frame2 + 34)),
				 0);
	}
	assert_int_equal(bad, 1473);
}

/*
 * The carries at their worst: payloads of all-ones bytes (every 64-bit
 * word all ones, so each step of the 32-byte carry chain carries) at every
 * length, checksummed on tx as RFC 1071 (and DPDK) says, and accepted by
 * the parser's own verification on rx.
 */
static void
test_net_checksums_of_all_ones_payloads(void **state)
{
	struct scpp_net_meta md;
	uint16_t c, want;
	uint8_t *pl;
	(void)state;

	net_setup(1500, false);
	for (uint16_t n = 0; n <= 1472; n++) {
		memset(&md, 0, sizeof(md));
		memcpy(&md.peer.mac, peer_mac, 6);
		md.peer.ip = ip4(PEER_IP);
		md.peer.local_ip = ip4(OUR_IP);
		md.peer.udp_port = rte_cpu_to_be_16(40000);
		md.peer.local_udp_port = rte_cpu_to_be_16(BASE_PORT);
		pl = scpp_net_udp_build(&net, &md.peer, frame2, n);
		memset(pl, 0xff, n);
		scpp_net_udp_finish(&net, 0, frame2);
		c = get16(frame2 + 40);
		put16(frame2 + 40, 0);
		want = udp_sum(frame2);
		assert_int_equal(c, want == 0 ? 0xffff : want);
		put16(frame2 + 40, c);
		assert_int_equal(rte_ipv4_udptcp_cksum_verify(
					 (const struct rte_ipv4_hdr *)(frame2 + 14),
					 (const struct rte_udp_hdr *)(frame2 + 34)),
				 0);
		/* Our reply, turned round, is a right frame for the parser. */
		memcpy(frame, frame2, 42u + n);
		memcpy(frame, our_mac, 6);
		memcpy(frame + 6, peer_mac, 6);
		memcpy(frame + 26, &md.peer.ip, 4);
		memcpy(frame + 30, &md.peer.local_ip, 4);
		put16(frame + 34, 40000);
		put16(frame + 36, BASE_PORT);
		st.cksum_sw = 0;
		assert_int_equal(rx(42u + n, 0, &md), SCPP_NET_DELIVER);
		assert_int_equal(st.cksum_sw, 2);
	}
}

static void
test_net_builds_reply_frames_the_parser_accepts(void **state)
{
	struct scpp_net_meta md;
	struct scpp_net mirror;
	struct scpp_net_port pp = {.ip = ip4(PEER_IP), .mtu = 1500};
	uint32_t len;
	uint8_t *pl;
	(void)state;

	net_setup(1500, false);
	len = udp_frame(frame, BASE_PORT + 1, 10);
	assert_int_equal(rx(len, 0, &md), SCPP_NET_DELIVER);
	/* A reply of the largest size to the request's sender. */
	pl = scpp_net_udp_build(&net, &md.peer, frame2, scpp_net_udp_max(&net, 0));
	assert_ptr_equal(pl, frame2 + SCPP_NET_L2L4_LEN);
	for (int i = 0; i < 1472; i++)
		pl[i] = (uint8_t)(i ^ 0x5a);
	scpp_net_udp_finish(&net, 0, frame2);
	assert_int_equal(scpp_net_tx_offload_flags(&net, 0), 0);
	assert_memory_equal(frame2, peer_mac, 6);
	assert_memory_equal(frame2 + 6, our_mac, 6);
	assert_int_equal(get16(frame2 + 16), 1500);
	assert_int_equal(get16(frame2 + 20), 0x4000); /* DF */
	assert_int_equal(fold(sum16(frame2 + 14, 20, 0)), 0xffff);
	{
		uint8_t tmp[FRAME_MAX];
		uint16_t c = get16(frame2 + 40);

		memcpy(tmp, frame2, 1514);
		put16(tmp + 40, 0);
		assert_int_equal(c, udp_sum(tmp));
	}
	assert_int_equal(get16(frame2 + 34), BASE_PORT + 1);
	assert_int_equal(get16(frame2 + 36), 40000);
	/* The peer's own parser (addresses mirrored) accepts it whole. */
	memcpy(pp.mac.addr_bytes, peer_mac, 6);
	scpp_net_init(&mirror);
	assert_int_equal(scpp_net_port_set(&mirror, 0, &pp), 0);
	scpp_net_udp_serve(&mirror, 40000, true);
	memset(&st, 0, sizeof(st));
	assert_int_equal(scpp_net_rx(&mirror, 0, frame2, 1514, 1514, 0, &md, &st),
			 SCPP_NET_DELIVER);
	assert_int_equal(md.l4_len, 1472);
	assert_int_equal(st.cksum_sw, 2);

	/* With tx offload: no IP checksum, the pseudo-header sum in UDP. */
	net_setup(1500, true);
	len = udp_frame(frame, BASE_PORT, 10);
	assert_int_equal(rx(len, 0, &md), SCPP_NET_DELIVER);
	pl = scpp_net_udp_build(&net, &md.peer, frame2, 4);
	memcpy(pl, "abcd", 4);
	scpp_net_udp_finish(&net, 0, frame2);
	assert_true(scpp_net_tx_offload_flags(&net, 0) ==
		    (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM));
	assert_int_equal(get16(frame2 + 24), 0);
	assert_int_equal(get16(frame2 + 40), fold(sum16(frame2 + 26, 8, 0) + 17 + 12));
}

static void
test_net_src_ok_rules(void **state)
{
	struct scpp_net_port p = {.ip = ip4(OUR_IP), .bcast = ip4("198.18.0.255")};
	(void)state;

	assert_true(scpp_net_src_ok(&p, ip4(PEER_IP)));
	assert_true(scpp_net_src_ok(&p, ip4("10.1.2.3")));
	assert_true(scpp_net_src_ok(&p, ip4("223.255.255.254")));
	assert_false(scpp_net_src_ok(&p, ip4("224.0.0.0")));
	assert_false(scpp_net_src_ok(&p, ip4("127.255.255.255")));
	assert_false(scpp_net_src_ok(&p, ip4("198.18.0.255")));
	p.bcast = 0; /* a /31 or /32 has no broadcast address */
	assert_true(scpp_net_src_ok(&p, ip4("198.18.0.255")));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_net_port_set_rejects_each_bad_field),
		cmocka_unit_test(test_net_delivers_udp_with_sender_and_payload),
		cmocka_unit_test(test_net_drops_every_reason_once),
		cmocka_unit_test(test_net_checksum_flags_good_none_bad_unknown),
		cmocka_unit_test(test_net_mtu_edges_whatever_the_port_lets_through),
		cmocka_unit_test(test_net_answers_arp_requests_for_our_address_only),
		cmocka_unit_test(test_net_builds_arp_requests),
		cmocka_unit_test(test_net_answers_icmp_echo_and_trims_padding),
		cmocka_unit_test(test_net_builds_reply_frames_the_parser_accepts),
		cmocka_unit_test(test_net_checksums_match_dpdk_at_every_length),
		cmocka_unit_test(test_net_checksums_of_all_ones_payloads),
		cmocka_unit_test(test_net_src_ok_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
