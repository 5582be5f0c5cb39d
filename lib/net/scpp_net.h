/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SCPP_NET_H
#define SCPP_NET_H

/**
 * @file
 * Frames in and out: Ethernet, ARP, IPv4, ICMP echo and UDP, as the appliance
 * needs them and nothing more.
 *
 * Model. One struct scpp_net describes the node's ports (address, MAC,
 * effective MTU, checksum offload) and the UDP ports it serves. It is built
 * on the control thread before workers start and is read-only afterwards,
 * so any number of workers share it. scpp_net_rx() looks at one received
 * frame and returns a **verdict**, it never calls back:
 *
 * - SCPP_NET_DELIVER: a UDP datagram for a served port; @c md says where it
 *   came from (struct scpp_net_peer, which is also where its replies go) and
 *   where its payload is;
 * - SCPP_NET_ANSWER: an ARP request for our address or an ICMP echo request;
 *   the frame was rewritten in place into the answer, @c md->answer_len
 *   bytes long, and the caller transmits it on the same port;
 * - SCPP_NET_DROP: the frame is not for us or is malformed; @c md->drop is
 *   the reason (enum scpp_net_drop), already counted.
 *
 * Every frame is counted exactly once: as delivered, as an answer, or as a
 * drop under exactly one reason (the first check it fails, in the order of
 * enum scpp_net_drop's documentation). struct scpp_net_stats belongs to the
 * caller (one per worker); see scpp_counter_add() for how it is read.
 *
 * Checksums (DPDK's rx flags, RTE_MBUF_F_RX_{IP,L4}_CKSUM_*): GOOD is
 * trusted; NONE ("not filled in, but the data was verified", e.g. virtio)
 * is trusted; BAD drops the frame; UNKNOWN is verified in software. The
 * counters cksum_trusted / cksum_sw say which path each checksum took.
 *
 * MTU. Every frame longer than the port's MTU plus the Ethernet header is
 * dropped (over_mtu) whatever the port let through: a port with a larger
 * device MTU, or none enforced, cannot make the node accept or answer
 * more than it advertises. The MTU given here is the one read back from the
 * device (see docs/OPERATIONS.md), and it also bounds every frame built.
 *
 * The parser reads only the first segment of a frame; a frame in several
 * segments is dropped (multi_segment). Nothing here allocates, locks or
 * logs; everything is safe on any lcore.
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>

#include "scpp_common.h"

/** Most ports one struct scpp_net describes. */
#define SCPP_NET_MAX_PORTS 8
/** Bytes of IPv4 (no options) and UDP headers in front of a datagram. */
#define SCPP_NET_IP_UDP_LEN 28
/** Bytes of Ethernet, IPv4 and UDP headers of every frame scpp_net builds. */
#define SCPP_NET_L2L4_LEN (RTE_ETHER_HDR_LEN + SCPP_NET_IP_UDP_LEN)
/** Smallest and largest MTU a port may have. */
#define SCPP_NET_MTU_MIN 576
#define SCPP_NET_MTU_MAX 9600

/**
 * Why a frame was dropped, in the order the checks run: a frame is counted
 * under the first one it fails. docs/OPERATIONS.md lists the names.
 */
enum scpp_net_drop {
	SCPP_NET_DROP_ETH_SHORT,      /**< shorter than an Ethernet header */
	SCPP_NET_DROP_OVER_MTU,       /**< longer than MTU + Ethernet header */
	SCPP_NET_DROP_MULTISEG,       /**< in several segments */
	SCPP_NET_DROP_ETH_BAD_SRC,    /**< source MAC multicast or broadcast */
	SCPP_NET_DROP_NOT_IPV4,       /**< ethertype neither IPv4 nor ARP */
	SCPP_NET_DROP_ARP_BAD,        /**< ARP too short, or not Ethernet/IPv4 */
	SCPP_NET_DROP_ARP_OTHER,      /**< ARP that is not a request for our address */
	SCPP_NET_DROP_IP_BAD_HDR,     /**< IPv4 version, IHL or total length wrong */
	SCPP_NET_DROP_IP_BAD_CKSUM,   /**< IPv4 header checksum wrong */
	SCPP_NET_DROP_IP_FRAGMENT,    /**< an IPv4 fragment (never reassembled) */
	SCPP_NET_DROP_IP_NOT_MINE,    /**< destination is not the port's address */
	SCPP_NET_DROP_IP_BAD_SRC,     /**< source no reply may go to (see scpp_net_src_ok()) */
	SCPP_NET_DROP_NOT_UDP,        /**< neither UDP nor ICMP */
	SCPP_NET_DROP_ICMP_BAD,       /**< ICMP that is not a well-formed echo request */
	SCPP_NET_DROP_UDP_BAD_LEN,    /**< UDP length not the IP payload length */
	SCPP_NET_DROP_UDP_BAD_CKSUM,  /**< UDP checksum present and wrong */
	SCPP_NET_DROP_UDP_WRONG_PORT, /**< destination port not served */
	SCPP_NET_DROP_UDP_SRC_PORT0,  /**< source port 0: no reply can be addressed */
	SCPP_NET_DROP_COUNT
};

/** Counter names of enum scpp_net_drop ("over_mtu"), for telemetry and docs. */
extern const char *const scpp_net_drop_name[SCPP_NET_DROP_COUNT];

/** Verdict of scpp_net_rx(). */
enum scpp_net_verdict {
	SCPP_NET_DELIVER, /**< a datagram for us: see struct scpp_net_meta */
	SCPP_NET_ANSWER,  /**< rewritten in place into an ARP or ICMP answer */
	SCPP_NET_DROP,    /**< dropped and counted: md->drop says why */
	SCPP_NET_NEIGH,   /**< an ARP reply for our address: md->peer.ip and
			   *   md->peer.mac are a neighbour's binding (for the
			   *   caller's neighbour table); nothing to send */
};

/** One port as the data path sees it. Addresses in network byte order. */
struct scpp_net_port {
	struct rte_ether_addr mac; /**< our MAC */
	uint32_t ip;               /**< our address */
	uint32_t bcast;            /**< our subnet's broadcast address, or 0 (/31, /32) */
	uint16_t mtu;              /**< effective IP MTU, SCPP_NET_MTU_MIN..SCPP_NET_MTU_MAX */
	bool tx_cksum_offload;     /**< the NIC fills IPv4 and UDP checksums on tx */
};

/**
 * Where a datagram came from, and so where its replies go (the request's
 * addresses swapped). Filled by scpp_net_rx(); 20 bytes, copied freely.
 */
struct scpp_net_peer {
	struct rte_ether_addr mac; /**< L2 source of the request: the client or its gateway */
	uint16_t port;             /**< index of the port it arrived on */
	uint32_t ip;               /**< client address */
	uint32_t local_ip;         /**< our address it was sent to */
	uint16_t udp_port;         /**< client UDP port */
	uint16_t local_udp_port;   /**< our UDP port it was sent to */
};

/** What scpp_net_rx() found. */
struct scpp_net_meta {
	struct scpp_net_peer peer; /**< DELIVER: the sender */
	uint16_t l4_off;           /**< DELIVER: offset of the UDP payload in the frame */
	uint16_t l4_len;           /**< DELIVER: UDP payload bytes */
	uint16_t answer_len;       /**< ANSWER: bytes of the rewritten frame */
	uint8_t arp;               /**< ANSWER to an ARP request, NEIGH: md->peer.ip and
				    *   md->peer.mac hold the sender's binding */
	uint8_t drop;              /**< DROP: enum scpp_net_drop */
};

/**
 * Counters of one worker. Written by that worker only, with
 * scpp_counter_add(); read from any thread with scpp_counter_read().
 * rx_frames = delivered + answers (arp_replies + icmp_echo) + arp_learned
 * + sum(drops).
 */
struct scpp_net_stats {
	uint64_t rx_frames;     /**< frames looked at */
	uint64_t rx_bytes;      /**< their bytes */
	uint64_t delivered;     /**< UDP datagrams delivered */
	uint64_t arp_replies;   /**< ARP requests answered */
	uint64_t arp_learned;   /**< ARP replies for our address (NEIGH verdicts) */
	uint64_t icmp_echo;     /**< ICMP echo requests answered */
	uint64_t cksum_trusted; /**< checksums taken from rx flags GOOD or NONE */
	uint64_t cksum_sw;      /**< checksums verified in software (flags UNKNOWN) */
	uint64_t drops[SCPP_NET_DROP_COUNT]; /**< by enum scpp_net_drop */
};

/** The node's ports and served UDP ports (read-only once workers run). */
struct scpp_net {
	uint16_t nb_ports;
	struct scpp_net_port port[SCPP_NET_MAX_PORTS];
	uint64_t udp_served[65536 / 64]; /**< bit p: UDP port p is served */
};

/** Reset @p n: no ports, no served UDP ports. */
void scpp_net_init(struct scpp_net *n);

/**
 * Describe port @p idx (ports are numbered 0.. without gaps; the count is
 * the highest index set + 1).
 *
 * @return 0, or -EINVAL: @p idx >= SCPP_NET_MAX_PORTS, an address of 0, a
 *   multicast or broadcast MAC, or an MTU outside SCPP_NET_MTU_MIN..MAX.
 *
 * Control thread, before workers start.
 */
int scpp_net_port_set(struct scpp_net *n, uint16_t idx, const struct scpp_net_port *p);

/** Serve (or stop serving) UDP port @p udp_port, host order. Control thread. */
void scpp_net_udp_serve(struct scpp_net *n, uint16_t udp_port, bool on);

/** True if UDP port @p udp_port (host order) is served. */
static inline bool
scpp_net_udp_served(const struct scpp_net *n, uint16_t udp_port)
{
	return (n->udp_served[udp_port >> 6] >> (udp_port & 63)) & 1;
}

/**
 * True if a reply may be sent to IPv4 address @p ip (network order) from
 * port @p p: not 0.0.0.0, not 127/8, not multicast (224/4) or class E
 * (240/4, which holds 255.255.255.255), not the port's subnet broadcast,
 * not the port's own address. A spoofed source outside this set could
 * turn replies into a broadcast or a loop.
 */
bool scpp_net_src_ok(const struct scpp_net_port *p, uint32_t ip);

/**
 * Look at one received frame; see the file comment for the verdicts.
 *
 * @param port
 *   Index of the port it came from (< n->nb_ports).
 * @param frame
 *   The first segment's data; rewritten in place for SCPP_NET_ANSWER.
 * @param frame_len
 *   Bytes of the whole frame (mbuf pkt_len).
 * @param seg_len
 *   Bytes of the first segment (mbuf data_len); less than @p frame_len
 *   means several segments.
 * @param ol_flags
 *   The mbuf's rx offload flags (only the checksum bits are used; 0 means
 *   UNKNOWN for both).
 * @param md
 *   Output; which fields are set depends on the verdict.
 * @param st
 *   The caller's counters; updated.
 * @return The verdict.
 *
 * Data path, any lcore.
 */
enum scpp_net_verdict scpp_net_rx(const struct scpp_net *n, uint16_t port, uint8_t *frame,
				  uint32_t frame_len, uint32_t seg_len, uint64_t ol_flags,
				  struct scpp_net_meta *md, struct scpp_net_stats *st);

/** Largest UDP payload the node sends or accepts on port @p port: MTU - 28. */
static inline uint16_t
scpp_net_udp_max(const struct scpp_net *n, uint16_t port)
{
	return (uint16_t)(n->port[port].mtu - SCPP_NET_IP_UDP_LEN);
}

/**
 * Write the Ethernet, IPv4 and UDP headers of a datagram of @p udp_len
 * payload bytes from us to @p to (the addresses of @p to swapped back), DF
 * set, TTL 64. The frame is SCPP_NET_L2L4_LEN + @p udp_len bytes; the caller
 * checks that @p udp_len <= scpp_net_udp_max().
 *
 * @return The UDP payload (frame + SCPP_NET_L2L4_LEN), for the caller to fill
 *   before scpp_net_udp_finish().
 */
uint8_t *scpp_net_udp_build(const struct scpp_net *n, const struct scpp_net_peer *to,
			    uint8_t *frame, uint16_t udp_len);

/**
 * Fill in the checksums of a frame built by scpp_net_udp_build() whose
 * payload is written: both in software, or, if the port offloads them, the
 * pseudo-header sum the NIC starts from. In the latter case the caller sets
 * the mbuf's offload fields (scpp_net_tx_offload_flags(), l2_len, l3_len).
 */
void scpp_net_udp_finish(const struct scpp_net *n, uint16_t port, uint8_t *frame);

/** Bytes of the ARP request scpp_net_arp_request() builds (padded to 60). */
#define SCPP_NET_ARP_REQUEST_LEN 60

/**
 * Build, into @p frame (at least SCPP_NET_ARP_REQUEST_LEN bytes), a
 * broadcast ARP request from port @p port for @p ip (network order): how a
 * node finds a cluster peer's MAC. The answer comes back as a NEIGH verdict.
 * @return SCPP_NET_ARP_REQUEST_LEN.
 */
uint16_t scpp_net_arp_request(const struct scpp_net *n, uint16_t port, uint32_t ip,
			      uint8_t *frame);

/** The mbuf ol_flags a frame built for @p port needs (0 without offload). */
uint64_t scpp_net_tx_offload_flags(const struct scpp_net *n, uint16_t port);

#endif /* SCPP_NET_H */
