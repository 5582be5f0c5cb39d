/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ports: one mempool per port, one rx/tx queue pair per worker x
 * queues_per_worker, RSS when a port has more than one queue, checksum
 * offloads when the port advertises them, and rte_flow rules that steer
 * each shard's UDP port to its worker's queues (an RSS action over them,
 * or a QUEUE action where the port has no RSS action). A port that refuses
 * a flow rule (net_tap without tc flower, for instance) keeps working:
 * blocks that land on the wrong worker are handed over in software.
 *
 * MTU: the configured MTU is set on the device and read back; the
 * effective MTU is the smaller of the two, so that the node never accepts
 * (lib/net drops longer frames) or sends more than both it and the device
 * allow, and every reply datagram is cut to it. net_af_packet is the one
 * exception: its ethdev MTU is nominal (see af_packet_mtu()). The mbuf
 * data room is $.ports[].mbuf_data_room, or sized from the MTU when that
 * is 0. Init errors are fatal
 * (rte_exit with the port, queue and reason), following STYLE §5.
 */

#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_flow.h>
#include <rte_mbuf.h>

#include "scppd.h"

/* mbuf data room for a port: a full frame of MTU bytes fits one segment,
 * so the data path never sees a chained rx frame at or below the MTU. */
static uint16_t
data_room(const struct scpp_config_port *pc)
{
	uint32_t need = RTE_PKTMBUF_HEADROOM + RTE_ETHER_HDR_LEN + 4 + pc->mtu;

	RTE_BUILD_BUG_ON(RTE_PKTMBUF_HEADROOM != SCPP_CONFIG_MBUF_HEADROOM);
	if (pc->mbuf_data_room != 0) /* lib/config checked it holds the MTU */
		return (uint16_t)pc->mbuf_data_room;

	return (uint16_t)RTE_MAX(need, (uint32_t)RTE_MBUF_DEFAULT_BUF_SIZE);
}

/* One rule: UDP destination port @p udp to the queues of worker @p w. */
static int
flow_rule(struct scppd_port *p, const struct scppd_worker *w, uint16_t udp, uint16_t qpw,
	  bool rss, struct rte_flow_error *err)
{
	struct rte_flow_attr attr = {.ingress = 1};
	struct rte_flow_item_udp udp_spec = {.hdr.dst_port = rte_cpu_to_be_16(udp)};
	struct rte_flow_item_udp udp_mask = {.hdr.dst_port = RTE_BE16(0xffff)};
	struct rte_flow_item pattern[] = {
		{.type = RTE_FLOW_ITEM_TYPE_ETH},
		{.type = RTE_FLOW_ITEM_TYPE_IPV4},
		{.type = RTE_FLOW_ITEM_TYPE_UDP, .spec = &udp_spec, .mask = &udp_mask},
		{.type = RTE_FLOW_ITEM_TYPE_END},
	};
	uint16_t queues[16];
	struct rte_flow_action_rss ra = {
		.func = RTE_ETH_HASH_FUNCTION_DEFAULT,
		.types = RTE_ETH_RSS_IPV4 | RTE_ETH_RSS_NONFRAG_IPV4_UDP,
		.queue_num = qpw,
		.queue = queues,
	};
	struct rte_flow_action_queue qa = {.index = w->rxq[0].queue};
	struct rte_flow_action actions[] = {
		{.type = rss ? RTE_FLOW_ACTION_TYPE_RSS : RTE_FLOW_ACTION_TYPE_QUEUE,
		 .conf = rss ? (const void *)&ra : (const void *)&qa},
		{.type = RTE_FLOW_ACTION_TYPE_END},
	};
	unsigned int i, n = 0;

	/* The worker's rx queues on this port (queues_per_worker of them). */
	for (i = 0; i < w->nb_rxq && n < qpw; i++)
		if (w->rxq[i].port == (uint16_t)(p - scppd_g.ports))
			queues[n++] = w->rxq[i].queue;
	qa.index = queues[0];
	memset(err, 0, sizeof(*err));
	if (rte_flow_validate(p->port_id, &attr, pattern, actions, err) != 0 ||
	    rte_flow_create(p->port_id, &attr, pattern, actions, err) == NULL)
		return -1;
	return 0;
}

static void
port_flow_steer(struct scppd *d, struct scppd_port *p)
{
	uint16_t qpw = d->cfg.ports[p - d->ports].queues_per_worker;
	struct rte_flow_error err;
	unsigned int i;
	bool rss = true;

	for (i = 0; i < d->nb_workers; i++) {
		const struct scppd_worker *w = d->workers[i];
		uint16_t udp = (uint16_t)(d->base_port + 1 + w->shard);

		/* An RSS action spreads the shard's flows over all its worker's
		 * queues; ports without one take a QUEUE action (the same when
		 * the worker has one queue). */
		if (rss && flow_rule(p, w, udp, qpw, true, &err) == 0)
			continue;
		if (rss && i == 0) {
			rss = false;
			if (flow_rule(p, w, udp, qpw, false, &err) == 0)
				continue;
		}
		SCPPD_LOG(NOTICE,
			  "port %s: no rte_flow steering (%s); shard ports are steered in "
			  "software (counter handoff_port)",
			  p->name, err.message ? err.message : "unsupported");
		rte_flow_flush(p->port_id, &err);
		p->flow_steering = false;
		return;
	}
	p->flow_steering = true;
	SCPPD_LOG(INFO, "port %s: rte_flow steers UDP %u..%u to the owning workers (%s action)",
		  p->name, d->base_port + 1, d->base_port + d->nb_workers, rss ? "RSS" : "QUEUE");
}

/* Bytes of a PACKET_MMAP ring frame (TPACKET_V2) in front of the Ethernet
 * header of a received frame: the kernel puts the network header at
 * TPACKET_ALIGN(header 52 + 16) = 80, the 14-byte Ethernet header before it. */
#define AF_PACKET_FRAME_OVERHEAD 80
/* The PMD's default ring frame (DFLT_FRAME_SIZE in rte_eth_af_packet.c). */
#define AF_PACKET_FRAMESZ_DEFAULT 2048

/* A devarg "KEY=N" of net_af_packet, or @p dflt when absent. */
static unsigned long
af_packet_arg(const char *devargs, const char *key, unsigned long dflt)
{
	char pat[32];
	const char *at;

	snprintf(pat, sizeof(pat), ",%s=", key);
	at = strstr(devargs, pat);
	return at != NULL ? strtoul(at + strlen(pat), NULL, 10) : dflt;
}

/*
 * net_af_packet lays its ring frames out at i x framesz, the kernel at
 * framesz-sized slots within each block of blocksz bytes: the two agree
 * only where blocksz is a multiple of framesz. Otherwise every frame past
 * the first block is read from the wrong place (no frame arrives; seen
 * with framesz=9216,blocksz=65536): refuse such devargs.
 */
static void
af_packet_check(const struct scpp_config_port *pc, const char *dev)
{
	unsigned long framesz = af_packet_arg(pc->devargs, "framesz", AF_PACKET_FRAMESZ_DEFAULT);
	unsigned long blocksz = af_packet_arg(pc->devargs, "blocksz", (unsigned long)getpagesize());

	if (framesz == 0 || blocksz % framesz != 0)
		rte_exit(EXIT_FAILURE,
			 "scppd: port %s: net_af_packet: blocksz %lu is not a multiple of framesz "
			 "%lu (the PMD reads ring frame i at i x framesz; docs/OPERATIONS.md, jumbo "
			 "frames)\n", dev, blocksz, framesz);
}

/*
 * The MTU a net_af_packet port really carries. The PMD advertises a
 * max_rx_pktlen of 1518 whatever its ring holds, so ethdev refuses every
 * MTU over 1500; its rx and tx copy any frame that fits a ring frame
 * (devarg framesz) and that the kernel interface passes (its MTU). So the
 * MTU is the smallest of @p want, the interface's MTU and framesz less the
 * ring's overhead (80 bytes to the IP header); 0 where the interface's
 * MTU cannot be read.
 */
static uint16_t
af_packet_mtu(const struct scppd_port *p, const char *devargs, uint32_t if_index,
	      uint16_t want)
{
	unsigned long framesz = af_packet_arg(devargs, "framesz", AF_PACKET_FRAMESZ_DEFAULT);
	struct ifreq ifr;
	unsigned long mtu = want;
	int s;

	memset(&ifr, 0, sizeof(ifr));
	if (if_index == 0 || if_indextoname(if_index, ifr.ifr_name) == NULL)
		return 0;
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return 0;
	if (ioctl(s, SIOCGIFMTU, &ifr) != 0) {
		close(s);
		return 0;
	}
	close(s);
	mtu = RTE_MIN(mtu, (unsigned long)ifr.ifr_mtu);
	mtu = framesz > AF_PACKET_FRAME_OVERHEAD ?
		      RTE_MIN(mtu, framesz - AF_PACKET_FRAME_OVERHEAD) : 0;
	SCPPD_LOG(NOTICE,
		  "port %s: net_af_packet: interface %s MTU %d, ring frame %lu bytes: MTU %lu "
		  "(ethdev's own MTU is nominal for this driver)",
		  p->name, ifr.ifr_name, ifr.ifr_mtu, framesz, mtu);
	return (uint16_t)mtu;
}

/* Set the configured MTU and settle on what the device really has. */
static void
port_mtu(struct scppd_port *p, const struct scpp_config_port *pc, uint32_t if_index)
{
	uint16_t want = pc->mtu, have = 0;
	int rc = rte_eth_dev_set_mtu(p->port_id, want), rc2;

	rc2 = rte_eth_dev_get_mtu(p->port_id, &have);
	if (rc2 != 0) /* a device that cannot report it: trust the config */
		have = want;
	if (rc != 0 && have < want && strcmp(p->driver, "net_af_packet") == 0) {
		uint16_t real = af_packet_mtu(p, pc->devargs, if_index, want);

		if (real >= have) {
			have = real;
			rc = 0;
		}
	}
	p->mtu = RTE_MIN(want, have);
	if (p->mtu < SCPP_NET_MTU_MIN)
		rte_exit(EXIT_FAILURE, "scppd: port %s: device MTU %u is below %u\n", p->name, have,
			 SCPP_NET_MTU_MIN);
	if (rc != 0 || have != want)
		SCPPD_LOG(WARNING,
			  "port %s: set MTU %u: %s; device MTU %u; frames and replies use %u",
			  p->name, want, rc != 0 ? strerror(-rc) : "ok", have, p->mtu);
}

static int
port_init_one(struct scppd *d, unsigned int pi)
{
	const struct scpp_config_port *pc = &d->cfg.ports[pi];
	struct scppd_port *p = &d->ports[pi];
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	struct rte_eth_rxconf rxc;
	struct rte_eth_txconf txc;
	char name[RTE_MEMPOOL_NAMESIZE];
	char dev[SCPP_CONFIG_PATH_SIZE];
	uint16_t nq = (uint16_t)(d->nb_workers * pc->queues_per_worker);
	uint16_t nrx = pc->rx_desc, ntx = pc->tx_desc, q;
	char *comma;
	int rc;

	/* The ethdev name is the devargs up to the first comma. */
	snprintf(dev, sizeof(dev), "%s", pc->devargs);
	comma = strchr(dev, ',');
	if (comma != NULL)
		*comma = '\0';
	if (rte_eth_dev_get_port_by_name(dev, &p->port_id) != 0)
		rte_exit(EXIT_FAILURE, "scppd: port %s (%s): no such DPDK device\n", dev,
			 pc->devargs);
	snprintf(p->name, sizeof(p->name), "%.63s", dev);
	p->mtu = pc->mtu;
	p->ip = rte_cpu_to_be_32(pc->ipv4);
	p->nb_queues = nq;
	rc = rte_eth_dev_info_get(p->port_id, &info);
	if (rc != 0)
		rte_exit(EXIT_FAILURE, "scppd: port %s: dev_info: %s\n", dev, strerror(-rc));
	snprintf(p->driver, sizeof(p->driver), "%s", info.driver_name);
	if (strcmp(p->driver, "net_af_packet") == 0)
		af_packet_check(pc, dev);
	if (nq > info.max_rx_queues || nq > info.max_tx_queues)
		rte_exit(EXIT_FAILURE,
			 "scppd: port %s: %u queues needed (%u workers x %u), driver %s has "
			 "at most %u rx / %u tx\n",
			 dev, nq, d->nb_workers, pc->queues_per_worker, info.driver_name,
			 info.max_rx_queues, info.max_tx_queues);

	snprintf(name, sizeof(name), "scppd_pool%u", pi);
	p->pool = rte_pktmbuf_pool_create(name, pc->mempool_size, pc->mempool_cache,
					  (uint16_t)RTE_ALIGN(sizeof(struct scppd_meta),
							      RTE_MBUF_PRIV_ALIGN),
					  data_room(pc), rte_eth_dev_socket_id(p->port_id));
	if (p->pool == NULL)
		rte_exit(EXIT_FAILURE, "scppd: port %s: mempool of %u mbufs: %s\n", dev,
			 pc->mempool_size, rte_strerror(rte_errno));

	memset(&conf, 0, sizeof(conf));
	if (nq > 1 && info.flow_type_rss_offloads != 0) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf =
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
		p->rss = conf.rx_adv_conf.rss_conf.rss_hf != 0;
		if (!p->rss)
			conf.rxmode.mq_mode = RTE_ETH_MQ_RX_NONE;
	}
	if ((info.rx_offload_capa & (RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM)) ==
	    (RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM)) {
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
		p->rx_cksum_offload = true;
	}
	if ((info.tx_offload_capa & (RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM)) ==
	    (RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM)) {
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
		p->tx_cksum_offload = true;
	}
	if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
	rc = rte_eth_dev_configure(p->port_id, nq, nq, &conf);
	if (rc != 0 && p->rss) {
		/* Some vdevs list RSS types they cannot program (net_tap
		 * needs eBPF support in the kernel): run without RSS; the
		 * kernel or the device then spreads flows itself. */
		SCPPD_LOG(NOTICE, "port %s: RSS refused (%s); continuing without RSS", dev,
			  strerror(-rc));
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_NONE;
		conf.rx_adv_conf.rss_conf.rss_hf = 0;
		p->rss = false;
		rc = rte_eth_dev_configure(p->port_id, nq, nq, &conf);
	}
	if (rc != 0)
		rte_exit(EXIT_FAILURE, "scppd: port %s: configure %u queues: %s\n", dev, nq,
			 strerror(-rc));
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(p->port_id, &nrx, &ntx);
	if (rc != 0)
		rte_exit(EXIT_FAILURE, "scppd: port %s: descriptors: %s\n", dev, strerror(-rc));
	port_mtu(p, pc, info.if_index);
	rxc = info.default_rxconf;
	rxc.offloads = conf.rxmode.offloads;
	txc = info.default_txconf;
	txc.offloads = conf.txmode.offloads;
	for (q = 0; q < nq; q++) {
		rc = rte_eth_rx_queue_setup(p->port_id, q, nrx, rte_eth_dev_socket_id(p->port_id),
					    &rxc, p->pool);
		if (rc != 0)
			rte_exit(EXIT_FAILURE, "scppd: port %s: rx queue %u: %s\n", dev, q,
				 strerror(-rc));
		rc = rte_eth_tx_queue_setup(p->port_id, q, ntx, rte_eth_dev_socket_id(p->port_id),
					    &txc);
		if (rc != 0)
			rte_exit(EXIT_FAILURE, "scppd: port %s: tx queue %u: %s\n", dev, q,
				 strerror(-rc));
	}
	rc = rte_eth_macaddr_get(p->port_id, &p->mac);
	if (rc != 0)
		rte_exit(EXIT_FAILURE, "scppd: port %s: MAC address: %s\n", dev, strerror(-rc));
	return 0;
}

/* lib/net's view of the ports, and the UDP ports served: the base port and
 * each local shard's. */
static void
net_init(struct scppd *d)
{
	unsigned int i;

	scpp_net_init(&d->net);
	for (i = 0; i < d->nb_ports; i++) {
		const struct scpp_config_port *pc = &d->cfg.ports[i];
		const struct scppd_port *p = &d->ports[i];
		uint32_t host_mask = pc->prefix_len >= 31 ? 0 : (UINT32_C(1) << (32 - pc->prefix_len)) - 1;
		struct scpp_net_port np = {
			.mac = p->mac,
			.ip = p->ip,
			.bcast = host_mask ? rte_cpu_to_be_32(pc->ipv4 | host_mask) : 0,
			.mtu = p->mtu,
			.tx_cksum_offload = p->tx_cksum_offload,
		};

		if (scpp_net_port_set(&d->net, (uint16_t)i, &np) != 0)
			rte_exit(EXIT_FAILURE, "scppd: port %s: MAC, address or MTU %u unusable\n",
				 p->name, p->mtu);
	}
	scpp_net_udp_serve(&d->net, d->base_port, true);
	for (i = 0; i < d->nb_workers; i++)
		scpp_net_udp_serve(&d->net, (uint16_t)(d->base_port + 1 + d->workers[i]->shard), true);
}

int
scppd_ports_init(struct scppd *d)
{
	unsigned int i;

	d->nb_ports = d->cfg.nb_ports;
	for (i = 0; i < d->nb_ports; i++)
		port_init_one(d, i);
	net_init(d);
	return 0;
}

int
scppd_ports_start(struct scppd *d)
{
	unsigned int i;
	int rc;

	for (i = 0; i < d->nb_ports; i++) {
		struct scppd_port *p = &d->ports[i];
		char mac[RTE_ETHER_ADDR_FMT_SIZE];
		struct rte_eth_link link;

		rc = rte_eth_dev_start(p->port_id);
		if (rc != 0)
			rte_exit(EXIT_FAILURE, "scppd: port %s: start: %s\n", p->name,
				 strerror(-rc));
		rte_eth_promiscuous_disable(p->port_id);
		if (d->nb_workers > 1)
			port_flow_steer(d, p);
		rte_ether_format_addr(mac, sizeof(mac), &p->mac);
		memset(&link, 0, sizeof(link));
		rte_eth_link_get_nowait(p->port_id, &link);
		SCPPD_LOG(INFO,
			  "port %u %s (driver %s): MAC %s, %u.%u.%u.%u/%u, MTU %u, %u queue pairs, "
			  "RSS %s, checksum offload rx %s tx %s, link %s",
			  p->port_id, p->name, p->driver, mac, d->cfg.ports[i].ipv4 >> 24,
			  (d->cfg.ports[i].ipv4 >> 16) & 0xff, (d->cfg.ports[i].ipv4 >> 8) & 0xff,
			  d->cfg.ports[i].ipv4 & 0xff, d->cfg.ports[i].prefix_len, p->mtu, p->nb_queues, p->rss ? "on" : "off",
			  p->rx_cksum_offload ? "on" : "off", p->tx_cksum_offload ? "on" : "off",
			  link.link_status ? "up" : "down");
	}
	return 0;
}

void
scppd_ports_close(struct scppd *d)
{
	unsigned int i;

	for (i = 0; i < d->nb_ports; i++) {
		struct scppd_port *p = &d->ports[i];
		struct rte_flow_error err;

		if (p->flow_steering)
			rte_flow_flush(p->port_id, &err);
		rte_eth_dev_stop(p->port_id);
		rte_eth_dev_close(p->port_id);
		rte_mempool_free(p->pool);
		p->pool = NULL;
	}
}
