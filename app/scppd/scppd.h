/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SCPPD_H
#define SCPPD_H

/**
 * @file
 * scppd internals shared by its files (never installed).
 *
 * Model. One control thread (the EAL main lcore) and N worker lcores. Each
 * worker owns one store shard, one eval context, one rx/tx queue group on
 * every port, a reply cache and a reassembly table; nothing a worker touches
 * per packet is shared for writing. Workers talk to each other only through
 * per-pair single-producer/single-consumer rings of mbufs (a block routed to
 * another core). The control thread reads worker counters (relaxed loads,
 * summed on read) and the route table is the only shared mutable structure
 * (RCU, lib/route).
 *
 * Files, by role: main.c (command line, EAL, start/stop), eal_args.c (EAL
 * argument list from the config), port.c (ports, mempools, rte_flow),
 * net_dp.c (Ethernet/ARP/IPv4/UDP/ICMP parsing and reply framing),
 * worker_dp.c (the poll loop, routing, evaluation), delivery.c (reply
 * cache, reassembly), telemetry.c (/scpp/... commands).
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_ether.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_hash.h>
#include <rte_log.h>
#include <rte_rcu_qsbr.h>

#include "scpp_common.h"
#include "scpp_config.h"
#include "scpp_eval.h"
#include "scpp_oid.h"
#include "scpp_route.h"
#include "scpp_schema.h"
#include "scpp_store.h"
#include "scpp_wire.h"

/** Packets per rx burst, tx buffer and ring dequeue. */
#define SCPPD_BURST 32
/** Packets prefetched ahead in the rx loop. */
#define SCPPD_PREFETCH 3
/** Slots of each worker-to-worker hand-off ring (power of two). */
#define SCPPD_RING_SIZE 1024
/** Most rx queues one worker polls (8 ports x 16 queues). */
#define SCPPD_MAX_RXQ (SCPP_CONFIG_MAX_PORTS * 16)
/** Partial tx bursts are flushed after this many microseconds. */
#define SCPPD_DRAIN_US 50
/** Empty polls before the idle back-off starts to pause, then sleep. */
#define SCPPD_IDLE_SPIN 256
/** Reassembly slots examined for timeout per loop iteration. */
#define SCPPD_REASM_SCAN 4
/** Ethernet + IPv4 (no options) + UDP header bytes of every reply. */
#define SCPPD_L2L4_LEN (RTE_ETHER_HDR_LEN + 20 + 8)
/** Lcore mark in shard_worker[] for "no local worker owns this shard". */
#define SCPPD_NO_WORKER 0xff
/** Status OIDs minted by the daemon itself use this counter bit so they
 *  never collide with the evaluator's (which counts up from 1). */
#define SCPPD_STATUS_SEQ_BIT (UINT64_C(1) << 39)

extern int scppd_logtype;
#define SCPPD_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, scppd_logtype, "scppd: " fmt "\n", ##__VA_ARGS__)

/**
 * Why a packet was dropped. Every drop is counted per worker under exactly
 * one reason; docs/OPERATIONS.md explains each name (scppd_drop_name[]).
 */
enum scppd_drop {
	SCPPD_DROP_ETH_SHORT,       /**< frame shorter than an Ethernet header */
	SCPPD_DROP_MULTISEG,        /**< frame spread over several mbufs */
	SCPPD_DROP_NOT_IPV4,        /**< ethertype neither IPv4 nor ARP */
	SCPPD_DROP_ARP_OTHER,       /**< ARP that is not a request for our address */
	SCPPD_DROP_IP_BAD_HDR,      /**< IPv4 version, IHL or total length wrong */
	SCPPD_DROP_IP_BAD_CKSUM,    /**< IPv4 header checksum wrong */
	SCPPD_DROP_IP_FRAGMENT,     /**< IPv4 fragment (scpp never fragments at IP) */
	SCPPD_DROP_IP_NOT_MINE,     /**< IPv4 destination is not the port's address */
	SCPPD_DROP_NOT_UDP,         /**< neither UDP nor ICMP echo request */
	SCPPD_DROP_UDP_SHORT,       /**< UDP length field inconsistent with the packet */
	SCPPD_DROP_UDP_WRONG_PORT,  /**< UDP destination port not served */
	SCPPD_DROP_UDP_BAD_CKSUM,   /**< UDP checksum wrong */
	SCPPD_DROP_HDR_TRUNCATED,   /**< scpp header: E_TRUNCATED */
	SCPPD_DROP_HDR_BAD_MAGIC,   /**< scpp header: E_BAD_MAGIC */
	SCPPD_DROP_HDR_BAD_VERSION, /**< scpp header: E_BAD_VERSION */
	SCPPD_DROP_HDR_BAD_KIND,    /**< scpp header: E_BAD_KIND */
	SCPPD_DROP_HDR_BAD_FLAGS,   /**< scpp header: E_BAD_FLAGS */
	SCPPD_DROP_HDR_BAD_LENGTH,  /**< scpp header: E_BAD_LENGTH */
	SCPPD_DROP_HDR_BAD_FRAGMENT, /**< scpp header: E_BAD_FRAGMENT */
	SCPPD_DROP_HDR_OTHER,       /**< scpp header: any other decode error */
	SCPPD_DROP_REPLY_KIND,      /**< a REPLY datagram sent to the node */
	SCPPD_DROP_FRAG_LIMIT,      /**< frag_count over delivery.max_fragments,
				     *   or a fragment larger than the MTU allows */
	SCPPD_DROP_REASM_OVERFLOW,  /**< no free reassembly slot */
	SCPPD_DROP_REASM_TIMEOUT,   /**< message incomplete after the timeout */
	SCPPD_DROP_REASM_MISMATCH,  /**< frag_count or fragment content disagrees */
	SCPPD_DROP_REASM_DUP,       /**< identical duplicate fragment, ignored */
	SCPPD_DROP_HANDOFF_FULL,    /**< ring to the owning worker full */
	SCPPD_DROP_TX_FULL,         /**< tx queue did not take the packet */
	SCPPD_DROP_NO_MBUF,         /**< mempool empty while building a reply */
	SCPPD_DROP_COUNT
};

/** Counter names of enum scppd_drop ("ip_bad_cksum"). */
extern const char *const scppd_drop_name[SCPPD_DROP_COUNT];

/** Slots of the block-reject counters: every project code, EEXIST, EINVAL, other. */
#define SCPPD_REJECT_SLOTS (SCPP_E_LAST - SCPP_E_FIRST + 3)

/** Index into scppd_stats.rejected[] for a block decode error code (negative). */
static inline unsigned int
scppd_reject_slot(int code)
{
	int c = -code;

	if (c >= SCPP_E_FIRST && c < SCPP_E_LAST)
		return (unsigned int)(c - SCPP_E_FIRST);
	if (c == EEXIST)
		return SCPP_E_LAST - SCPP_E_FIRST;
	if (c == EINVAL)
		return SCPP_E_LAST - SCPP_E_FIRST + 1;
	return SCPP_E_LAST - SCPP_E_FIRST + 2;
}

/**
 * Per-worker counters. Written only by the owning worker with plain
 * stores; the telemetry thread reads them with relaxed loads and sums
 * across workers (a reading may be a few packets stale, never torn on
 * x86-64 where aligned 64-bit loads are atomic).
 */
struct scppd_stats {
	uint64_t rx_pkts;        /**< frames received from ports */
	uint64_t rx_bytes;       /**< their bytes */
	uint64_t tx_pkts;        /**< frames handed to tx queues */
	uint64_t tx_bytes;       /**< their bytes */
	uint64_t arp_replies;    /**< ARP requests answered */
	uint64_t icmp_echo;      /**< ICMP echo requests answered */
	uint64_t dgrams;         /**< BLOCK datagrams with a valid header */
	uint64_t messages;       /**< complete BLOCK messages (after reassembly) */
	uint64_t executed;       /**< blocks evaluated */
	uint64_t outcome_ok;     /**< ... with outcome OK */
	uint64_t outcome_errors; /**< ... with outcome ERRORS */
	uint64_t outcome_aborted; /**< ... with outcome ABORTED */
	uint64_t rejected_total; /**< blocks that failed to decode (answered) */
	uint64_t not_here;       /**< blocks answered E_NOT_HERE */
	uint64_t cache_hits;     /**< retransmissions answered from the reply cache */
	uint64_t cache_evictions; /**< replies evicted from the cache */
	uint64_t cache_uncached; /**< replies too large to cache (key kept) */
	uint64_t reply_dgrams;   /**< REPLY datagrams sent */
	uint64_t handoff_out;    /**< blocks passed to another worker */
	uint64_t handoff_in;     /**< blocks received from another worker */
	uint64_t handoff_port;   /**< ... of which arrived on another shard's UDP
				  *   port (software steering instead of rte_flow) */
	uint64_t reasm_started;  /**< multi-fragment messages begun */
	uint64_t reasm_done;     /**< ... completed */
	uint64_t schema_changes; /**< blocks that changed the schema (this shard) */
	uint64_t schema_adopt_errors; /**< failed rewrites of a published schema */
	uint64_t idle_sleeps;    /**< idle back-off sleeps */
	uint64_t busy_polls;     /**< loop iterations that found work */
	uint64_t drops[SCPPD_DROP_COUNT];          /**< by enum scppd_drop */
	uint64_t rejected[SCPPD_REJECT_SLOTS];     /**< block decode errors by code */
} __rte_cache_aligned;

/**
 * Where a block came from, so that any worker can answer it. Kept in the
 * private area of the request's first mbuf (mempool priv_size), written by
 * the receiving worker, read by the owner after a hand-off.
 */
struct scppd_meta {
	uint64_t client_id;
	uint64_t block_id;
	uint32_t src_ip;      /**< client address, network order */
	uint32_t dst_ip;      /**< our address, network order */
	uint16_t src_port;    /**< client UDP port, network order */
	uint16_t dst_port;    /**< our UDP port, network order */
	uint16_t port;        /**< index into scppd.ports */
	uint16_t msg_off;     /**< BLOCK message offset in the first segment */
	uint32_t msg_len;     /**< BLOCK message bytes (all segments) */
	struct rte_ether_addr src_mac; /**< client (or gateway) MAC */
	uint8_t reassembled;  /**< 1: the mbuf chain holds only the message */
	uint8_t rsv;
} __rte_aligned(8);

/** One configured DPDK port. */
struct scppd_port {
	uint16_t port_id;       /**< ethdev port id */
	uint16_t mtu;           /**< IP MTU */
	uint32_t ip;            /**< our address, network order */
	struct rte_ether_addr mac; /**< our MAC */
	struct rte_mempool *pool; /**< rx and reply mbufs */
	uint16_t nb_queues;     /**< rx = tx queues */
	bool tx_cksum_offload;  /**< IPv4 + UDP checksum offload on tx */
	bool rx_cksum_offload;  /**< rx checksum flags are meaningful */
	bool rss;               /**< RSS enabled */
	bool flow_steering;     /**< rte_flow rules steer shard ports */
	char name[RTE_ETH_NAME_MAX_LEN]; /**< device name */
	char driver[32];        /**< driver name */
};

/** Reassembly of multi-fragment BLOCK messages, per worker (delivery.c). */
struct scppd_reasm_slot {
	uint64_t client_id;
	uint64_t block_id;
	uint64_t deadline;      /**< TSC after which the slot is expired */
	uint64_t mask;          /**< fragments received (bit i = index i) */
	uint32_t frag_count;
	uint32_t in_use;
	struct scppd_meta meta; /**< addressing of the latest fragment */
	uint8_t *buf;           /**< max_fragments x frag_max bytes */
	uint16_t len[SCPP_WIRE_FRAGS_MAX]; /**< payload bytes of fragment i */
};

struct scppd_reasm {
	struct rte_hash *index;          /**< (client, block) -> slot */
	struct scppd_reasm_slot *slots;
	uint32_t nslots;
	uint32_t *free;                  /**< stack of free slot numbers */
	uint32_t nfree;
	uint32_t scan;                   /**< next slot the timeout scan looks at */
	uint32_t frag_max;               /**< payload bytes per fragment (MTU bound) */
	uint16_t max_frags;              /**< delivery.max_fragments */
	uint64_t timeout;                /**< TSC cycles */
	uint8_t *arena;                  /**< nslots x max_frags x frag_max */
};

/** Reply cache entry: one executed block's reply, or its key only. */
struct scppd_cache_ent {
	uint64_t client_id;
	uint64_t block_id;
	uint64_t pos;    /**< monotonic arena position of the reply bytes */
	uint32_t len;    /**< reply bytes */
	uint32_t big;    /**< 1: too large to keep; only the key is remembered */
};

/**
 * At-most-once reply cache (delivery.c): a FIFO of entries over a
 * log-structured byte arena; see the design note there.
 */
struct scppd_cache {
	struct rte_hash *index;       /**< (client, block) -> entry number */
	struct scppd_cache_ent *ent;  /**< ring of cap entries */
	uint32_t cap;
	uint32_t head;                /**< oldest entry */
	uint32_t count;
	uint8_t *arena;
	uint64_t arena_size;
	uint64_t tail;                /**< monotonic position of the next byte */
};

/** One worker lcore: everything its loop touches. */
struct scppd_worker {
	/* Hot: read every iteration. */
	uint16_t idx;           /**< worker index, 0..nb_workers-1 */
	uint16_t lcore;
	uint16_t shard;
	uint16_t nb_rxq;
	uint16_t nb_in;         /**< rings into this worker */
	struct {
		uint16_t port;  /**< index into scppd.ports */
		uint16_t queue;
	} rxq[SCPPD_MAX_RXQ];
	struct rte_ring *in[SCPP_CONFIG_MAX_WORKERS];  /**< from other workers */
	struct rte_ring *out[SCPP_CONFIG_MAX_WORKERS]; /**< to worker i (NULL: self) */
	uint16_t txq[SCPP_CONFIG_MAX_PORTS]; /**< this worker's tx queue on port i */
	struct rte_eth_dev_tx_buffer *txb[SCPP_CONFIG_MAX_PORTS];
	struct scpp_eval_ctx *ectx;
	struct scpp_eval_env env;
	struct scpp_wire_block *blk;  /**< decode target (about 40 KiB) */
	uint8_t *reply_buf;           /**< reply message being built */
	uint32_t reply_size;
	uint8_t *msg_buf;             /**< linearised hand-off chains */
	uint32_t msg_size;
	uint64_t status_seq;
	struct scppd_cache cache;
	struct scppd_reasm reasm;
	struct scppd_stats stats;
	/* below: control path only (and rare schema changes) */
	struct scpp_schema *own_schema; /**< schema adopted after a runtime
					 *   change on this shard, or NULL */
	struct scpp_store *store;
	uint32_t epoch;
	bool epoch_from_clock;
} __rte_cache_aligned;

/** The daemon. One instance (scppd_g), filled on the control thread before
 *  workers start and read-only afterwards except for @c stop. */
struct scppd {
	struct scpp_config cfg;
	unsigned int nb_ports;
	struct scppd_port ports[SCPP_CONFIG_MAX_PORTS];
	unsigned int nb_workers;
	struct scppd_worker *workers[SCPP_CONFIG_MAX_WORKERS];
	uint8_t shard_worker[UINT16_MAX + 1]; /**< shard id -> worker index */
	uint16_t base_port;                   /**< udp.base_port */
	struct scpp_store_dict *dict;
	struct scpp_schema *schema;           /**< the schema loaded at start */
	struct scpp_schema_pub *schema_pub;   /**< one schema for every shard (owns
					       *   every schema, the loaded one too) */
	struct scpp_route_table *routes;
	struct rte_rcu_qsbr *qsbr;
	uint64_t tsc_hz;
	uint64_t drain_tsc;
	uint32_t stop;                        /**< set by signals (atomic) */
	uint64_t start_tsc;
	bool hugepages;                       /**< EAL runs on hugepages */
};

extern struct scppd scppd_g;

/* eal_args.c */
int scppd_eal_args_build(const struct scpp_config *cfg, int extra_argc, char **extra_argv,
			 char ***argv_out, bool *hugepages_out);
void scppd_eal_args_free(char **argv);

/* port.c */
int scppd_ports_init(struct scppd *d);
int scppd_ports_start(struct scppd *d);
void scppd_ports_close(struct scppd *d);

/* worker_dp.c */
int scppd_worker_main(void *arg);
uint64_t scppd_clock_ns(void);

/* delivery.c */
int scppd_cache_init(struct scppd_cache *c, const char *name, uint32_t entries, int socket);
void scppd_cache_free(struct scppd_cache *c);
const struct scppd_cache_ent *scppd_cache_lookup(const struct scppd_cache *c,
						  uint64_t client_id, uint64_t block_id);
const uint8_t *scppd_cache_bytes(const struct scppd_cache *c, const struct scppd_cache_ent *e);
void scppd_cache_insert(struct scppd_cache *c, uint64_t client_id, uint64_t block_id,
			const uint8_t *msg, uint32_t len, struct scppd_stats *st);
int scppd_reasm_init(struct scppd_reasm *r, const char *name, uint32_t slots,
		     uint16_t max_frags, uint32_t frag_max, uint64_t timeout, int socket);
void scppd_reasm_free(struct scppd_reasm *r);
int scppd_reasm_add(struct scppd_reasm *r, const struct scpp_wire_hdr *h,
		    const struct scppd_meta *m, uint64_t now, struct scppd_stats *st,
		    uint32_t *msg_len);
void scppd_reasm_release(struct scppd_reasm *r, int slot);
void scppd_reasm_expire(struct scppd_reasm *r, uint64_t now, struct scppd_stats *st);

/* telemetry.c */
int scppd_telemetry_init(void);
void scppd_stats_sum(struct scppd_stats *sum);

#endif /* SCPPD_H */
