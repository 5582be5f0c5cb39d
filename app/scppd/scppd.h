/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SCPPD_H
#define SCPPD_H

/**
 * @file
 * scppd internals shared by its files (never installed).
 *
 * Model. One control thread (the EAL main lcore) and N worker lcores. Each
 * worker owns one store shard, one eval context, one rx/tx queue group on
 * every port and one lib/delivery instance (held replies, client windows,
 * reassembly, the tx backlog); nothing a worker touches per packet is
 * shared for writing. Workers talk to each other only through per-pair
 * single-producer/single-consumer rings of mbufs (a block routed to
 * another core). The control thread reads worker counters (relaxed loads,
 * summed on read) and the route table is the only shared mutable structure
 * (RCU, lib/route).
 *
 * The packet path is in libraries that return verdicts: lib/net (frames),
 * lib/delivery (datagrams, messages, replies, pacing), lib/wire (decoding,
 * the owner rule), lib/route, lib/eval. The files here wire them together:
 * main.c (command line, start-up order, shutdown), eal_args.c (EAL
 * arguments from the config), port.c (ports, mempools, MTU, rte_flow),
 * worker.c (the poll loop: rx, routing, hand-offs, paced tx), exec.c (one
 * block or FETCH on its owner: admission, evaluation, status replies),
 * telemetry.c (/scpp/... commands), cluster.c (the cluster map: static or
 * from lib/cluster's etcd agent, published to workers with RCU).
 */

#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_ether.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_log.h>
#include <rte_rcu_qsbr.h>

#include "scpp_auth.h"
#include "scpp_cluster.h"
#include "scpp_common.h"
#include "scpp_config.h"
#include "scpp_copy.h"
#include "scpp_copy_async.h"
#include "scpp_delivery.h"
#include "scpp_eval.h"
#include "scpp_net.h"
#include "scpp_oid.h"
#include "scpp_route.h"
#include "scpp_schema.h"
#include "scpp_store.h"
#include "scpp_wire.h"

/** Packets per rx burst, tx burst and ring dequeue. */
#define SCPPD_BURST 32
/** Packets prefetched ahead in the rx loop. */
#define SCPPD_PREFETCH 3
/** Slots of each worker-to-worker hand-off ring (power of two). */
#define SCPPD_RING_SIZE 1024
/** Most rx queues one worker polls (8 ports x 16 queues). */
#define SCPPD_MAX_RXQ (SCPP_CONFIG_MAX_PORTS * 16)
/** Partial tx bursts of answers (ARP, ICMP) are flushed after this many microseconds. */
#define SCPPD_DRAIN_US 50
/** The stage sends its direct replies every this many (and at its end). */
#define SCPPD_TX_CHUNK 8
/** Paced tx bursts per port per loop iteration, at most. */
#define SCPPD_TX_ROUNDS 4
/** Empty polls before the idle back-off starts to pause, then sleep. */
#define SCPPD_IDLE_SPIN 256
/** lib/delivery's tick runs on every busy turn and every this many idle ones (power of two). */
#define SCPPD_IDLE_TICK 16
/** Lcore mark in shard_worker[] for "no local worker owns this shard". */
#define SCPPD_NO_WORKER 0xff
/** Status OIDs minted by the daemon itself use this counter bit so they
 *  never collide with the evaluator's (which counts up from 1). */
#define SCPPD_STATUS_SEQ_BIT (UINT64_C(1) << 39)

extern int scppd_logtype;
#define SCPPD_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, scppd_logtype, "scppd: " fmt "\n", ##__VA_ARGS__)

/**
 * Messages (a block or FETCH, after lib/delivery) the daemon could not
 * pass on. Frames are accounted for by lib/net and lib/delivery; these
 * count what happens to whole messages after that.
 */
enum scppd_msg_drop {
	SCPPD_MSG_HANDOFF_FULL, /**< ring to the owning worker full */
	SCPPD_MSG_NO_MBUF,      /**< no mbuf to hand a reassembled message over */
	SCPPD_MSG_DROP_COUNT
};

/** Counter names of enum scppd_msg_drop ("handoff_full"). */
extern const char *const scppd_msg_drop_name[SCPPD_MSG_DROP_COUNT];

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
 * Per-worker counters of the daemon itself (lib/net and lib/delivery keep
 * their own). Written only by the owning worker with scpp_counter_add();
 * the telemetry thread reads them with scpp_counter_read() and sums them.
 */
struct scppd_stats {
	uint64_t executed;        /**< blocks evaluated */
	uint64_t outcome_ok;      /**< ... with outcome OK */
	uint64_t outcome_errors;  /**< ... with outcome ERRORS */
	uint64_t outcome_aborted; /**< ... with outcome ABORTED */
	uint64_t eval_failed;     /**< blocks the evaluator could not run (status reply) */
	uint64_t rejected_total;  /**< blocks that failed to decode */
	uint64_t not_here;        /**< blocks answered E_NOT_HERE */
	uint64_t handoff_out;     /**< messages passed to another worker */
	uint64_t handoff_in;      /**< messages received from another worker */
	uint64_t handoff_port;    /**< ... of which routed by a shard's UDP port
				   *   (the block names no owner) */
	uint64_t fetch_remote;    /**< FETCHes for an owner on no local shard */
	uint64_t schema_changes;  /**< blocks that changed the schema (this shard) */
	uint64_t schema_adopt_errors; /**< failed rewrites of a published schema */
	uint64_t schema_votes;    /**< votes on schema changes (schema_job.c) */
	uint64_t schema_checked;  /**< instances checked for them */
	uint64_t answer_tx_full;  /**< ARP/ICMP answers the tx queue did not take */
	uint64_t tx_no_mbuf;      /**< paced bursts put off: mempool empty */
	uint64_t idle_sleeps;     /**< idle back-off sleeps */
	uint64_t busy_polls;      /**< loop iterations that found work */
	/* The cost of a block, per loop turn (worker.c, docs/OPERATIONS.md):
	 * the TSC cycles of a turn that evaluated or forwarded blocks, from
	 * its start to the end of its tx, split between the two kinds by
	 * their counts. */
	uint64_t answer_cycles;   /**< cycles of turns' blocks evaluated here */
	uint64_t answered_blocks; /**< ... those blocks */
	uint64_t forward_cycles;  /**< cycles of turns' blocks forwarded to another node */
	uint64_t forwarded_blocks; /**< ... those blocks (BLOCK messages, not FETCHes) */
	/* The session layer (auth.c). Every datagram lib/net delivers goes to
	 * lib/delivery except those counted here: delivered + auth_handoff_in
	 * = dgrams + auth_consumed, with auth_consumed the sum of the five
	 * below it and auth_wrong_lane. */
	uint64_t auth_handoff_in; /**< raw session datagrams another worker passed here */
	uint64_t auth_hs;         /**< handshake datagrams passed to the control lcore */
	uint64_t auth_hs_full;    /**< ... dropped: its ring was full */
	uint64_t auth_rejected;   /**< session datagrams that failed verification (dropped) */
	uint64_t auth_close;      /**< CLOSE datagrams (verified; passed to the control lcore) */
	uint64_t auth_off_drop;   /**< session-layer datagrams while auth.mode is off (dropped) */
	uint64_t auth_wrong_lane; /**< session datagrams handed to their lane's worker (or
				   *   dropped: no such lane, ring full) */
	uint64_t auth_refused;    /**< blocks refused: no session (auth.mode required), or
				   *   the session closed before the block ran */
	uint64_t auth_fetch_refused; /**< unauthenticated FETCHes dropped (auth.mode required) */
	uint64_t auth_no_session_answered; /**< REJECTs sent for blocks of an unknown or
					    *   expired session (rate-limited) */
	/* Forwarded sessions (auth.c, docs/SECURITY.md §9.4). Forwarder: */
	uint64_t auth_fwd_sealed;   /**< session requests forwarded with extension 1 */
	uint64_t auth_fwd_refused;  /**< ... not forwarded (E_NOT_HERE): no peer key for the
				     *   owner, a root principal (no chains), a carried request */
	uint64_t auth_ident_push;   /**< IDENTITY sends asked of the control lcore */
	/* Owner: */
	uint64_t carried_in;        /**< FORWARDs whose extension 1 verified */
	uint64_t carried_bad;       /**< ... forged, altered or malformed (dropped) */
	uint64_t carried_no_key;    /**< ... from a node with no auth.peers key (dropped) */
	uint64_t carried_expired;   /**< ... past their not-after (dropped) */
	uint64_t carried_miss;      /**< carried requests whose identity is not cached yet
				     *   (dropped: the client's retransmission runs it) */
	uint64_t carried_blocks;    /**< blocks run with a carried principal's authority */
	uint64_t carried_sealed;    /**< datagrams sealed on a delegated lane */
	uint64_t cont_sealed;       /**< origin: CONTs sealed with extension 1 */
	uint64_t cont_reply_bad;    /**< origin: CONT_REPLYs whose MAC does not verify (dropped) */
	uint64_t cont_carried;      /**< owner: CONTs run with a carried principal's authority */
	uint64_t cont_no_principal; /**< owner: CONTs without extension 1 refused (auth.mode
				     *   required) */
	uint64_t forward_hops_limit; /**< requests not forwarded: cluster.forward.max_hops */
	uint64_t forward_too_big; /**< blocks too large for a FORWARD message */
	uint64_t forward_not_peer; /**< FORWARD messages from an address no peer has (dropped) */
	uint64_t forward_arp_sent; /**< ARP requests sent for peers */
	uint64_t cont_dgrams;     /**< CONT and CONT_REPLY datagrams cont.c took before lib/delivery
				   *   (each also counts in one of the cont_* below or in
				   *   forward_not_peer) */
	uint64_t cont_run;        /**< continuations received and run (cont.c) */
	uint64_t cont_dup_done;   /**< ... retransmissions answered from the held answer */
	uint64_t cont_dup_running; /**< ... retransmissions of one still running (ignored) */
	uint64_t cont_refused;    /**< ... refused, nothing run (record full, bad block or rows,
				   *   timeout over the retention, start out of range) */
	uint64_t cont_bad;        /**< CONT or CONT_REPLY datagrams that do not decode (dropped) */
	uint64_t cont_not_taken;  /**< CONTs not taken in this version: several datagrams,
				   *   auth.mode required */
	uint64_t cont_tx_full;    /**< CONT and CONT_REPLY datagrams the tx queue did not take */
	uint64_t cont_rest_groups; /**< rest groups answered (rows that go on elsewhere) */
	/* The origin's side (cont_origin.c): blocks split here. */
	uint64_t cont_splits;     /**< stops of a block to ship some of its rows */
	uint64_t cont_shipped;    /**< CONTs sent (first sends) */
	uint64_t cont_answered;   /**< ... answered (a CONT_REPLY matched) */
	uint64_t cont_retransmitted; /**< ... sent again (no answer after a quarter of the timeout) */
	uint64_t cont_timed_out;  /**< ... given up (E_OUTCOME_UNKNOWN) */
	uint64_t cont_part_failed; /**< parts not shipped: a limit, the owner unreachable */
	uint64_t cont_local;      /**< rest groups this shard owns, run here */
	uint64_t cont_reply_stale; /**< CONT_REPLYs matching no part (late, duplicate: dropped) */
	uint64_t cont_merged;     /**< replies merged from a split block's parts */
	uint64_t cont_fan_out;    /**< EVERY parts: a scan's rows sent to another shard (⊤) */
	uint64_t msg_drops[SCPPD_MSG_DROP_COUNT]; /**< by enum scppd_msg_drop */
	uint64_t rejected[SCPPD_REJECT_SLOTS];    /**< block decode errors by code */
};

/**
 * A forwarded session request's verified FORWARD extension 1 (auth.c): who
 * the client is at its origin and the key to answer it with.
 */
struct scppd_carry {
	uint8_t principal[SCPP_AUTH_KEY_LEN];
	uint8_t digest[SCPP_AUTH_ID_LEN];     /**< its chains, as the origin verified them */
	uint8_t reply_key[SCPP_AUTH_KEY_LEN]; /**< the delegated reply key (secret) */
	uint64_t session;                     /**< the origin session id (= client_id) */
	uint64_t not_after_ns;
	uint32_t peer;                        /**< the forwarding node's id */
};

/**
 * A message handed to another worker, in the private area of its first
 * mbuf (mempool priv_size): the request as lib/delivery described it, and
 * the owner the receiver found, so that the owner does not route it again.
 */
struct scppd_meta {
	struct scpp_delivery_req req;
	struct scpp_oid owner;  /**< the owner OID (informational on hand-off) */
	uint32_t msg_off;       /**< message offset in the first segment */
	uint32_t msg_len;       /**< message bytes (all segments) */
	uint8_t by_port;        /**< routed by UDP port: the block names no owner */
	/** auth.c: what else the mbuf is (0: a message as above). */
	uint8_t auth;
	uint16_t from;          /**< auth: the worker that received it */
	struct scpp_net_meta nm; /**< auth: lib/net's metadata of a raw datagram */
	struct scppd_carry carry; /**< req.session has SCPP_DELIVERY_CARRIED */
} __rte_aligned(8);

/** scppd_meta.auth: a session datagram for another lane, unverified (raw). */
#define SCPPD_AUTH_RAW 1
/** ... a handshake datagram for the control lcore (raw). */
#define SCPPD_AUTH_HS 2
/** ... control -> worker: install the session in the mbuf's data. */
#define SCPPD_AUTH_INSTALL 3
/** ... control -> worker: close the session whose id is the mbuf's data. */
#define SCPPD_AUTH_CLOSE 4
/** ... control -> worker: transmit this frame (port: nm.peer.port). */
#define SCPPD_AUTH_SEND 5
/** ... worker -> control: the verified CLOSE of session nm... (id in data). */
#define SCPPD_AUTH_CLOSED 6
/** ... worker -> control: send session (data)'s IDENTITY to a peer. */
#define SCPPD_AUTH_IDENT_PUSH 7
/** ... control -> worker: cache a carried identity (data). */
#define SCPPD_AUTH_CARRY 8
/** ... control -> worker: drop carried identity slot (data). */
#define SCPPD_AUTH_UNCARRY 9

struct scppd_sess_x;
struct scppd_carried;

/*
 * What the worker loop's turns cost (worker.c, docs/OPERATIONS.md "The
 * worker loop's turns", telemetry /scpp/loop): the gap between the starts of
 * consecutive turns, i.e. between two rx polls, as a log2 histogram; and,
 * per section of the turn, the cycles it took in total, at most, and how
 * often it took more than SCPPD_LOOP_LONG_US. Only the owning worker
 * writes; telemetry reads with relaxed loads.
 */
#define SCPPD_LOOP_BUCKETS 16  /**< gap < 2^(k+1) units of 2^loop_shift cycles (~1 us) */
#define SCPPD_LOOP_LONG_US 20  /**< a section this long counts as a "long" one */
enum scppd_loop_sect {
	SCPPD_LOOP_RX,      /**< rx polls and the stage: decode, evaluate, reply tx */
	SCPPD_LOOP_HANDOFF, /**< messages other workers handed over */
	SCPPD_LOOP_TX,      /**< lib/delivery's paced backlog */
	SCPPD_LOOP_TICK,    /**< timeouts: delivery, copies, continuations, parking, schema */
	SCPPD_LOOP_FLUSH,   /**< ARP/ICMP answers' flush, RCU, schema adoption */
	SCPPD_LOOP_SECTS,
};
struct scppd_loop_stats {
	uint64_t turns;                       /**< loop turns */
	uint64_t gap_max;                     /**< longest gap between turn starts (cycles) */
	uint64_t gap[SCPPD_LOOP_BUCKETS];     /**< gaps by log2 bucket */
	uint64_t sect_cycles[SCPPD_LOOP_SECTS]; /**< cycles spent per section */
	uint64_t sect_max[SCPPD_LOOP_SECTS];  /**< longest single run of each section */
	uint64_t sect_long[SCPPD_LOOP_SECTS]; /**< runs over SCPPD_LOOP_LONG_US */
};

/** One configured DPDK port. */
struct scppd_port {
	uint16_t port_id;       /**< ethdev port id */
	uint16_t mtu;           /**< effective IP MTU: min(configured, device's) */
	uint32_t ip;            /**< our address, network order */
	struct rte_ether_addr mac; /**< our MAC */
	struct rte_mempool *pool; /**< rx, reply and hand-off mbufs */
	uint16_t nb_queues;     /**< rx = tx queues */
	bool tx_cksum_offload;  /**< IPv4 + UDP checksum offload on tx */
	bool rx_cksum_offload;  /**< rx checksum offload enabled */
	bool rss;               /**< RSS enabled */
	bool flow_steering;     /**< rte_flow rules steer shard ports */
	char name[RTE_ETH_NAME_MAX_LEN]; /**< device name */
	char driver[32];        /**< driver name */
};

/**
 * A single-datagram block of the current rx burst (or ring dequeue) that
 * runs on this worker, waiting in the stage (worker.c: decode the whole
 * burst, prefetch, evaluate in order, send).
 */
struct scppd_staged {
	struct scpp_wire_block *blk;       /**< its own decode target */
	struct scpp_wire_block_cursor cur; /**< decoded up to its owner (rx), or not at all */
	struct scpp_delivery_req req;
	struct rte_mbuf *m;                /**< the request's frame: the reply's if it fits */
	const uint8_t *msg;
	uint32_t len;
	uint8_t whole;                     /**< decode from the start (a hand-off) */
	uint8_t dead;                      /**< did not decode: rejected, nothing to run */
	struct scpp_eval_prefetch pf;
};

struct scpp_copy;
struct scpp_copy_region;

/** Counters of a worker's synchronous copy path (copy.c); worker writes. */
struct scppd_copy_stats {
	uint64_t copies;   /**< copies the engine completed for the evaluator */
	uint64_t bytes;    /**< ... their bytes */
	uint64_t ns;       /**< ... time from submission to completion (undo copy incl.) */
	uint64_t failed;   /**< copies the engine failed (the block saw the status) */
	uint64_t polls;    /**< engine polls while waiting */
	uint64_t retired;  /**< local engines retired for a stuck copy (then memcpy) */
	uint64_t recovers; /**< recoveries of the remote instance */
	uint64_t async_waits; /**< asynchronous copies the evaluator waited for */
	uint64_t async_ns;    /**< ... their time from submission to completion */
	uint64_t async_failed; /**< ... those that failed */
	uint64_t async_copied; /**< ... bytes of those that completed */
	uint64_t parks;       /**< blocks parked on their copies (held until they completed) */
	uint64_t readies;     /**< ... marked ready by the loop when their last copy completed */
	uint64_t served_parked; /**< blocks with a copy command evaluated while another
				 *   block was parked on its copies */
	uint64_t cpu_sync;    /**< synchronous copies done on the CPU: the tracker was full */
	uint64_t peer_windows;  /**< peers' windows attached now (a gauge; copy_peers.c) */
	uint64_t peer_attaches; /**< peers' windows attached */
	uint64_t peer_detaches; /**< ... detached (left the map, changed, unreachable) */
	uint64_t peer_refused;  /**< ... not attached: bad descriptor, engine refusal, no room */
	uint64_t peer_busy;     /**< detaches put off: a copy still used the window */
	uint64_t peer_memwins;  /**< of peer_windows, peers' memory windows (a gauge) */
	uint64_t cont_src_sent;    /**< COPY_SOURCE extensions shipped (this node, S) */
	uint64_t cont_src_refused; /**< ... received and refused: EACCES, no READ (D) */
	uint64_t cont_reads;       /**< READs from a peer's window completed (D) */
	uint64_t cont_read_bytes;  /**< ... their bytes */
	uint64_t cont_read_failed; /**< READs that failed or were not taken */
	uint64_t cont_nested;      /**< third-party copy parts shipped on to D (S, cont_nest.c) */
	uint64_t cont_nest_answered; /**< ... CONTs answered once their nested parts had */
	uint64_t cont_pin_grace;   /**< nested parts given up whose pins were kept a grace */
	uint64_t cont_read_parks;  /**< CONTs parked on their READs (D, cont_read.c) */
	uint64_t cont_read_served; /**< client blocks evaluated while a CONT was parked so */
	uint64_t cont_read_sync;   /**< CONTs with COPY_SOURCEs read synchronously instead */
	uint64_t cont_src_denied;  /**< sources a session may not read: no COPY_SOURCE (S) */
	uint64_t cont_memwin_sent; /**< MEMORY_WINDOW extensions shipped (the Extent's owner) */
	uint64_t cont_memwin_rx;   /**< ... received, handed to the evaluator (the window's) */
	uint64_t memwin_busy_full; /**< reads of a memory window by another node not shipped:
				    *   every busy range was taken (the copy failed EBUSY) */
	uint64_t memwin_resolves;  /**< rows' window ends resolved at the origin (once a row) */
	uint64_t memwin_third_refused; /**< blocks this origin aborted at a copy stop: a memory window
					*   and a third shard's value in one copy row */
	uint64_t memwin_unwatched; /**< blocks a map-entry copy alone would have had split
				    *   hooks watch, not watched: no peer memory window known */
};

/** Most MEMORY_WINDOW extensions one CONT carries (34 bytes each in 256). */
#define SCPPD_MEMWIN_EXT_MAX 7

/** Most COPY_SOURCE extensions one CONT carries (PROTOCOL.md §19.1). */
#define SCPPD_COPY_SRC_MAX 5

/** The read pool of parked CONTs' READs, at most (cont_read.c). */
#define SCPPD_CONT_READ_POOL_MAX (4u << 20)

/** A source value a shipped part pinned (cont_copy.c), or (nil @c e) a range of
 *  this shard's memory window it marked busy (cont_memwin.c, @c busy its handle). */
struct scppd_copy_pin {
	struct scpp_oid e;
	uint32_t attr;
	uint32_t busy;  /**< scpp_eval_memwin_busy_take()'s handle, or 0 */
};

/** A CONT's COPY_SOURCE extensions while its part runs (cont_copy.c, D). */
struct scppd_cont_copy_rx {
	struct scpp_eval_remote_src rs;   /**< for scpp_eval_env.remote_src */
	struct scpp_wire_copy_src src[SCPPD_COPY_SRC_MAX];
	unsigned int n;
	struct scppd_worker *w;
	uint32_t origin;                  /**< the CONT's sender (the origin: star) */
	uint32_t sender_ip;               /**< its address (network byte order) */
	bool from_self;                   /**< through the hand-off ring */
	uint64_t deadline_tsc;            /**< the sender's timeout_ms from arrival */
	bool rewritten;                   /**< the copy's source is a map entry (a VMA):
					   *   only a peer's memory window may stand for it */
	const void *pre;                  /**< the READs done while the CONT was parked
					   *   (cont_read.c), or NULL: read at the copy */
	/* Its MEMORY_WINDOW extensions (cont_memwin.c), for scpp_eval_env.remote_memwin. */
	struct scpp_wire_memwin mw[SCPPD_MEMWIN_EXT_MAX];
	unsigned int nmw;
	struct scpp_eval_remote_memwin rm;
};

/** Did the CONT @p rx is for come from node @p node's address (cont_copy.c)? */
bool scppd_cont_sent_by(const struct scppd_cont_copy_rx *rx, uint32_t node);

struct scppd_copy_peer;

/** A READ of a CONT parked on its READs (cont_read.c): the top bit of its user value. */
#define SCPPD_CONT_READ_TAG (1ull << 63)
/** A completion of the remote instance whose user value has SCPPD_CONT_READ_TAG. */
void scppd_cont_read_cpl(struct scppd_worker *w, const struct scpp_copy_cpl *cpl);
/** The bytes of source @p i of the parked CONT @p rx runs (rx->pre) into @p dst;
 *  0, or the READ's failure (@p msg). */
int scppd_cont_read_take(const struct scppd_cont_copy_rx *rx, unsigned int i, void *dst,
			 uint64_t len, char *msg, size_t size);
/** The receiver rules of COPY_SOURCE @p x (PROTOCOL.md §19.1) but the row's
 *  length: 0 and its window in *@p pp, or -EACCES with @p msg. Counts nothing. */
int scppd_cont_copy_src_check(const struct scppd_cont_copy_rx *rx,
			      const struct scpp_wire_copy_src *x,
			      const struct scppd_copy_peer **pp, char *msg, size_t size);

/** The window kind COPY_SOURCE @p x must name for its row's source: a peer's
 *  memory window for a source this node's rewrite resolves (@p rewritten,
 *  a map-entry address), a peer's arena window for a plain value's bytes.
 *  0, or -EACCES with @p msg. Counts nothing. */
int scppd_cont_copy_src_kind(const struct scppd_cont_copy_rx *rx,
			     const struct scpp_wire_copy_src *x, bool rewritten, char *msg,
			     size_t size);

/** A peer's window a worker attached (copy_peers.c): an arena window keyed
 *  by (node, shard), a memory window by (node, its RmaWindow OID). */
struct scppd_copy_peer {
	uint32_t node;
	uint16_t shard;
	bool memory;                    /**< a memory window (else the shard's arena) */
	bool seen;                      /**< in the map being followed */
	bool leaving;                   /**< gone from the map; detach put off (EBUSY) */
	struct scpp_oid window;         /**< its RmaWindow entity */
	uint64_t len;                   /**< its bytes */
	struct scpp_copy_remote *rw;    /**< the engine's attachment */
	uint8_t desc[SCPP_COPY_WINDOW_LEN];
};

/** A block parked on its copies: its park handle, its newest copy, where it goes on. */
struct scppd_copy_park {
	uint64_t h;
	uint64_t last;
	uint16_t cmd;
};

/** A worker's copy engines (copy.c). */
struct scppd_copy {
	struct scpp_copy *local;               /**< dmadev or memcpy */
	struct scpp_copy *remote;              /**< fabric or verbs, or NULL */
	struct scpp_copy_region *local_store;  /**< the shard's arena, local instance */
	struct scpp_copy_region *local_arena;  /**< the evaluation arena, or NULL */
	struct scpp_copy_region *remote_store; /**< the shard's arena, remote instance */
	struct scpp_copy_region *remote_arena; /**< the evaluation arena, remote instance */
	uint8_t *rd_pool;                      /**< READs of parked CONTs land here */
	size_t rd_pool_len;
	struct scpp_copy_region *remote_rdpool; /**< ... registered with the remote instance */
	struct scpp_copy_async *async;         /**< asynchronous copies on the local
						*   instance (save pool), or NULL */
	struct scppd_copy_park *park;          /**< blocks parked on their copies, oldest
						*   first (a ring of park_cap), or NULL */
	uint32_t park_cap, park_head, npark;
	struct scpp_eval_copier hook;          /**< what the evaluator calls */
	char retired[SCPP_COPY_NAME_MAX];      /**< the engine retired last (a failed copy's
						*   status names it, not its replacement) */
	bool save;                             /**< undo copies by the engine */
	bool target_progress;                  /**< the remote needs polling for peers */
	int socket;                            /**< the worker's NUMA socket */
	char name[16];                         /**< "worker N", for logs */
	uint64_t seq;                          /**< user value of the last copy */
	struct scppd_copy_stats st;
	/* control path and telemetry */
	struct scpp_copy_caps local_caps, remote_caps;
	struct scpp_copy_window win;           /**< the published window */
	uint8_t desc[SCPP_COPY_WINDOW_LEN];    /**< its descriptor */
	struct scpp_oid window_oid;            /**< its RmaWindow entity */
	/* Memory windows of this worker's shard ($.copy.memory_windows,
	 * docs/COPY.md "Memory windows"): the evaluator's table
	 * (env.memwins), each region's registrations and config index. */
	struct scpp_eval_memwin memwin[SCPP_CONFIG_MEMWIN_MAX];
	struct scpp_eval_memwins memwins;
	struct scpp_copy_region *memwin_local[SCPP_CONFIG_MEMWIN_MAX];
	struct scpp_copy_region *memwin_remote[SCPP_CONFIG_MEMWIN_MAX];
	uint8_t memwin_cfg[SCPP_CONFIG_MEMWIN_MAX];
	uint8_t memwin_desc[SCPP_CONFIG_MEMWIN_MAX][SCPP_COPY_WINDOW_LEN]; /**< with a remote */
	/* Peers' windows (copy_peers.c). */
	struct scppd_copy_peer *peers;         /**< attached (and leaving) ones, or NULL */
	uint32_t npeers, peers_cap;
	bool peers_leaving;                    /**< some are leaving: retry their detach */
	const void *peers_map;                 /**< the map they follow */
	uint64_t peers_map_ns;                 /**< ... its build time */
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
	struct rte_eth_dev_tx_buffer *txb[SCPP_CONFIG_MAX_PORTS]; /**< ARP/ICMP answers */
	struct scpp_delivery *dlv;
	struct scpp_eval_ctx *ectx;
	struct scpp_eval_env env;
	struct scpp_wire_block *blk;  /**< decode target (about 40 KiB) */
	struct scpp_wire_block_cursor cur; /**< a block decoded up to its owner */
	uint8_t *msg_buf;             /**< linearised hand-off chains */
	uint32_t msg_size;
	uint64_t status_seq;
	uint64_t now;                 /**< TSC at the start of this iteration */
	uint32_t turn_fwd;            /**< blocks forwarded in this iteration */
	/* The stage (worker.c) and the frames it sends (or frees) at the end. */
	uint16_t nstage;
	uint16_t ndtx;                /**< direct reply frames in dtx[] */
	uint16_t nfree;               /**< mbufs to free in bulk */
	struct scppd_staged stage[SCPPD_BURST];
	struct rte_mbuf *dtx[SCPPD_BURST];
	struct scpp_delivery_direct dtk[SCPPD_BURST];
	struct rte_mbuf *dfree[2 * SCPPD_BURST];
	struct scpp_wire_block *stage_blk; /**< SCPPD_BURST decode targets */
	struct scpp_net_stats net_st;
	struct scppd_stats stats;
	struct scppd_loop_stats loop; /**< what its turns cost (worker.c) */
	uint64_t loop_long;           /**< SCPPD_LOOP_LONG_US in cycles */
	uint8_t loop_shift;           /**< gap histogram unit: 2^loop_shift cycles */
	uint8_t answers_buffered;     /**< ARP/ICMP answers wait in txb[] (worker.c) */
	uint32_t idle_turns;          /**< idle turns, for the delivery tick (worker.c) */
	/* The session layer (auth.c); auth == NULL when auth.mode is off. */
	struct scpp_auth_table *auth;
	struct rte_ring *ctl;         /**< control lcore -> this worker (SP/SC) */
	uint64_t now_ns;              /**< wall clock (ns since the Unix epoch) of this iteration */
	uint32_t auth_cursor;         /**< expiry sweep position */
	uint32_t *sess_ip;            /**< per slot: the address the handshake proved */
	uint16_t *sess_port;
	struct scppd_sess_x *sess_x;  /**< per slot: what forwarding needs (auth.c) */
	struct scppd_carried *carried; /**< carried identities (auth.c, control fills) */
	struct scpp_auth_dlg_table *dlg; /**< forwarded sessions' reply keys (lib/auth) */
	uint64_t dlg_counter;         /**< this worker's delegated-lane counter */
	const struct scppd_carry *carry; /**< the carried request being handled, or NULL */
	uint64_t *ident_recent;       /**< IDENTITY pushes of the last second (auth.c) */
	/* below: control path only (and rare schema changes) */
	struct scpp_schema *own_schema; /**< schema adopted after a runtime
					 *   change on this shard, or NULL */
	struct scpp_store *store;
	uint32_t epoch;
	bool epoch_from_clock;
	struct scppd_copy *copy;      /**< copy engines (copy.c) */
	struct scppd_cont *cont;      /**< continuations taken (cont.c) */
	uint32_t cont_held;           /**< answers held now (cont.c keeps it; the loop tests it) */
	uint32_t cont_out;            /**< continuations shipped, not answered (cont.c; ditto) */
	struct scppd_park *park;      /**< parked evaluations (park.c) */
	uint32_t park_busy;           /**< slots parked now (park.c keeps it; the loop tests it) */
	uint32_t park_len;            /**< message bytes of the block being evaluated */
	uint64_t schema_vote_seq;     /**< schema_job.c: the change this worker is checking */
	uint64_t schema_cursor;       /**< ... and where its scan is */
} __rte_cache_aligned;

/** The daemon. One instance (scppd_g), filled on the control thread before
 *  workers start and read-only afterwards except for @c stop. */
struct scppd {
	struct scpp_config cfg;
	unsigned int nb_ports;
	struct scppd_port ports[SCPP_CONFIG_MAX_PORTS];
	struct scpp_net net;                  /**< the ports as lib/net sees them */
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
	uint32_t reload;                      /**< SIGHUP: read auth.revocations again (atomic) */
	uint64_t start_tsc;
	bool hugepages;                       /**< EAL runs on hugepages */
	uint8_t cookie_key[SCPP_DELIVERY_KEY_LEN]; /**< drawn at start, shared by workers */
	struct scppd_auth *auth;              /**< the session layer's control side (auth.c) */
	int64_t realtime_off_ns;              /**< wall clock - scppd_clock_ns() at start */
};

extern struct scppd scppd_g;

static inline struct scppd_meta *
scppd_meta_of(struct rte_mbuf *m)
{
	return rte_mbuf_to_priv(m);
}

/* eal_args.c */
int scppd_eal_args_build(const struct scpp_config *cfg, int extra_argc, char **extra_argv,
			 char ***argv_out, bool *hugepages_out);
void scppd_eal_args_free(char **argv);

/* port.c */
int scppd_ports_init(struct scppd *d);
int scppd_ports_start(struct scppd *d);
void scppd_ports_close(struct scppd *d);

/* worker.c */
int scppd_worker_main(void *arg);
/** Monotonic ns for the evaluator (no division); scppd_clock_init() first. */
uint64_t scppd_clock_ns(void);
/** Control thread, before the workers start. */
void scppd_clock_init(uint64_t tsc_hz);

/* exec.c */
/** The next OID of a status this worker makes itself (SCPPD_STATUS_SEQ_BIT). */
struct scpp_oid scppd_status_oid(struct scppd_worker *w);
/**
 * A reply of one status from this worker into @p buf (@p cap bytes): empty
 * COLUMNS, STATUS, END (aborted). @p st is stamped with the worker's node
 * and core and given scppd_status_oid(). Returns the reply's length, or
 * -ENOSPC (@p cap too small; the bytes are then unspecified).
 */
int scppd_status_reply_encode(struct scppd_worker *w, struct scpp_status *st, uint8_t *buf,
			      uint32_t cap);
/**
 * Run a BLOCK message on its owner (this worker). @p prefix: w->blk and
 * w->cur hold the block decoded up to its owner (the receiver is the
 * owner); otherwise it is decoded here from the start.
 */
void scppd_exec_block(struct scppd_worker *w, const struct scpp_delivery_req *req,
		      const uint8_t *msg, uint32_t len, bool prefix);
/**
 * Run block @p b (decoded whole) on its owner: admission, evaluation, the
 * reply committed. With @p m (the request's frame), a one-datagram reply
 * is built into it and the frame queued in w->dtx (returns true: the
 * worker sends it, the caller keeps it); otherwise the reply goes to
 * lib/delivery's backlog and the caller frees @p m.
 */
bool scppd_exec_decoded(struct scppd_worker *w, const struct scpp_delivery_req *req,
			const struct scpp_wire_block *b, struct rte_mbuf *m, const uint8_t *msg,
			uint32_t len);
/**
 * Evaluate admitted block @p b (message of @p msg_len bytes) into
 * lib/delivery's reply buffer, with the park table's hooks when a consumer
 * wants it; @p resume non-NULL: go on with that suspension from command
 * @p from (park.c). @return 0 (reply of *@p len bytes written, to commit),
 * 1 (stopped: park it with scppd_park_commit()), <0 (a status reply was
 * sent; counted).
 */
int scppd_exec_eval(struct scppd_worker *w, const struct scpp_delivery_req *req,
		    const struct scpp_wire_block *b, uint32_t msg_len,
		    const struct scpp_auth_authority *auth, struct scpp_eval_susp *resume,
		    uint16_t from, uint32_t *len);
/** A one-status reply (outcome ABORTED), committed: recorded for retransmissions. */
void scppd_status_commit(struct scppd_worker *w, const struct scpp_delivery_req *req, int code,
			 const char *component, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/** Answer a FETCH on its owner (this worker). */
void scppd_exec_fetch(struct scppd_worker *w, const struct scpp_delivery_req *req,
		      const uint8_t *payload, uint32_t len);
/** Reject a block that does not decode (rate-limited status reply). */
void scppd_reject(struct scppd_worker *w, const struct scpp_delivery_req *req, int rc,
		  uint32_t err_off, uint32_t msg_len);
/** Answer E_LIMIT_HOPS: @p req took @p hops forwards, its owner is @p node (rate-limited). */
void scppd_hops_exceeded(struct scppd_worker *w, const struct scpp_delivery_req *req,
			 unsigned int hops, uint32_t node);
/** Answer E_LIMIT_BYTES: a block of @p len bytes cannot be forwarded (at most @p max). */
void scppd_forward_too_big(struct scppd_worker *w, const struct scpp_delivery_req *req,
			   uint32_t len, uint32_t max, uint32_t node);
/** Answer E_NOT_HERE for @p oid (rate-limited status reply). */
void scppd_not_here(struct scppd_worker *w, const struct scpp_delivery_req *req,
		    struct scpp_oid oid, const struct scpp_route_result *res);

/* copy.c */
/** Control thread, after the worker's store and eval context: its engines,
 *  registrations and RmaWindow; sets w->env.copier. Exits on failure. */
void scppd_copy_init(struct scppd *d, struct scppd_worker *w);
/** After the worker stopped. */
void scppd_copy_free(struct scppd_worker *w);
/** Register /scpp/copy. */
int scppd_copy_telemetry_init(void);
void scppd_copy_tick_slow(struct scppd_worker *w);
/* copy_peers.c: peers' windows (docs/COPY.md "Peers' windows"). */
int scppd_copy_peers_init(struct scppd_worker *w);
void scppd_copy_peers_free(struct scppd_worker *w);
void scppd_copy_peers_tick(struct scppd_worker *w);
/** This node's windows for its cluster record: one per worker with a remote engine. */
unsigned int scppd_copy_windows(const struct scppd *d, struct scpp_config_cluster_window *out,
				unsigned int max);
/** This node's memory windows for its cluster record: those registered with a remote engine. */
unsigned int scppd_copy_memwins(const struct scppd *d, struct scpp_config_cluster_memwin *out,
				unsigned int max);
/* cont_memwin.c: copies into other nodes' memory windows (docs/COPY.md). */
/** scpp_eval_where_fn: row @p i's copy goes to another node's memory window. */
bool scppd_cont_memwin_there(void *arg, const struct scpp_wire_block *b, uint16_t cmd,
			     const struct scpp_eval_rows *rows, size_t i, struct scpp_oid *owner);
/** Has the command about to run (a hook's rows) a row for another node's memory window? */
bool scppd_cont_memwin_rows(struct scppd_worker *w, const struct scpp_wire_block *b,
			    uint16_t cmd);
/** Before a split: a row of copy command @p cmd of @p s between another node's memory
 *  window and a value of a third shard (neither this one nor the window's)? -EOPNOTSUPP
 *  with the message (naming command, row and both nodes) in @p msg; else 0. */
int scppd_cont_memwin_third(struct scppd_worker *w, const struct scpp_wire_block *b,
			    uint16_t cmd, const struct scpp_eval_susp *s, char *msg, size_t size);
/** Forget the rows' window ends resolved for the last stop (its split is done). */
void scppd_cont_memo_drop(struct scppd_worker *w);
/** A part's copy extensions: for rows @p idx[0 .. n) of @p s at command @p cmd, going to
 *  shard @p owner, a MEMORY_WINDOW for each whose window end is a memory window of that
 *  shard and a
 *  COPY_SOURCE for each plain source of this shard (pinned into @p pins, at most
 *  SCPPD_COPY_SRC_MAX). @return the bytes written into @p ext. */
int scppd_cont_part_exts(struct scppd_worker *w, const struct scpp_wire_block *b, uint16_t cmd,
			 const struct scpp_eval_susp *s, struct scpp_oid owner, const uint32_t *idx,
			 uint32_t n, uint8_t *ext, size_t cap, struct scppd_copy_pin *pins,
			 uint8_t *npins, const struct scpp_auth_authority *au);
/** How many of rows @p idx[0 .. n) (n >= 1) go to shard @p owner in one part, so that
 *  each of them whose window end is that shard's memory window gets its MEMORY_WINDOW in
 *  the part's @p cap bytes of extensions (laid out as scppd_cont_part_exts() does):
 *  1 .. n, or 0 when the first row's alone do not fit (docs/COPY.md). */
uint32_t scppd_cont_part_cut(struct scppd_worker *w, const struct scpp_wire_block *b,
			     uint16_t cmd, const struct scpp_eval_susp *s, struct scpp_oid owner,
			     const uint32_t *idx, uint32_t n, size_t cap,
			     const struct scpp_auth_authority *au);
/** A nested part's COPY_SOURCE for row @p i (numbered @p row in the part) of the
 *  running CONT when its source is a memory window of this shard the sender named
 *  (MEMORY_WINDOW, out): the extension's bytes; 0: no such extension for the row;
 *  -1: it has one but stays here (into the window, or refused: the copy says why). */
int scppd_cont_memwin_nest(struct scppd_worker *w, const struct scpp_wire_cont *c,
			   const struct scpp_eval_rows *rows, uint32_t i, uint32_t row,
			   uint8_t *ext, size_t cap, struct scppd_copy_pin *pin);
/** A part with extensions @p ext (@p len bytes) is sent: count its MEMORY_WINDOWs
 *  (cont_memwin_sent), its COPY_SOURCEs naming this shard's memory windows (the
 *  window's copies_out, bytes_out, remote_out) and its other COPY_SOURCEs
 *  (cont_src_sent). A part never sent counts nothing (cont_memwin.c). */
void scppd_cont_exts_sent(struct scppd_worker *w, const uint8_t *ext, size_t len);
/** The running CONT's MEMORY_WINDOW extensions into @p rx (rx->rm). @return how many. */
int scppd_cont_memwin_rx(struct scppd_worker *w, const struct scpp_wire_cont *c,
			 struct scppd_cont_copy_rx *rx);
/* cont_copy.c: remote copies through continuations (docs/COPY.md). */
/** One row's COPY_SOURCE: row @p i of @p rows, numbered @p row in its part; its
 *  pin in *@p pin. @return the extension's bytes, or 0 (no plain source here). */
int scppd_cont_copy_source_one(struct scppd_worker *w, const struct scpp_wire_block *b,
			       uint16_t cmd, const struct scpp_eval_rows *rows, uint32_t i,
			       uint32_t row, uint8_t *ext, size_t cap, struct scppd_copy_pin *pin,
			       const struct scpp_auth_authority *au);
/** Would scppd_cont_copy_source_one() write a COPY_SOURCE for row @p i (pins aside)? */
bool scppd_cont_copy_source_would(struct scppd_worker *w, const struct scpp_wire_block *b,
				  uint16_t cmd, const struct scpp_eval_rows *rows, uint32_t i,
				  const struct scpp_auth_authority *au);
void scppd_cont_copy_unpin(struct scppd_worker *w, struct scppd_copy_pin *pins, uint8_t *npins);
int scppd_cont_copy_rx(struct scppd_worker *w, const struct scpp_wire_cont *c,
		       struct scppd_cont_copy_rx *rx);
/** The attached peer arena window whose RmaWindow entity is @p window, or NULL
 *  (a memory window is never one: COPY_SOURCE names arenas only). */
const struct scppd_copy_peer *scppd_copy_peer_by_window(const struct scppd_worker *w,
							struct scpp_oid window);
/** The attached peer memory window whose RmaWindow entity is @p window, or NULL. */
const struct scppd_copy_peer *scppd_copy_peer_memwin(const struct scppd_worker *w,
						     struct scpp_oid window);
/** Worker loop, every iteration: peers' progress into our window. */
static inline void
scppd_copy_tick(struct scppd_worker *w)
{
	if (unlikely(w->copy->remote != NULL || w->copy->npark > 0))
		scppd_copy_tick_slow(w);
}
/* park.c: the worker's table of parked evaluations (docs/ARCHITECTURE.md "Parking"). */
/**
 * Parking, the daemon side. A block whose evaluation must wait for
 * something outside its worker — a schema edit compiled on the control
 * lcore, an asynchronous copy completion, another node's rows — is
 * suspended (lib/eval, struct scpp_eval_susp), its request parked in
 * lib/delivery (still admitted: retransmissions are swallowed), and its
 * state kept in a slot of this worker's table until the awaited event
 * marks it ready; the worker loop then resumes it and commits its reply.
 *
 * The table has delivery.max_parked slots per worker, allocated at start
 * (nothing is allocated while parking). A slot holds: the lib/delivery
 * ticket, a suspension of SCPPD_PARK_SUSP_BYTES, a copy of the message
 * (at most SCPPD_PARK_MSG_MAX bytes: the decoded block borrows from the
 * message, so a resumed block is decoded again from the copy), whether
 * it came with a session (its authority is looked up again on resume: a
 * session closed meanwhile gets EACCES), the reason, a generation and a
 * word for the consumer.
 *
 * How a consumer (copy.c, cont.c, the schema path) uses it:
 * 1. At start (control thread, before the workers run), register one
 *    struct scppd_park_ops for its reason with scppd_park_register().
 * 2. Per block, exec.c asks every registered consumer's @c wants(): it
 *    must be cheap (a look at the decoded block: "has a copy command",
 *    "names a non-local OID") and answer false for ordinary local blocks,
 *    because a block evaluated with hooks does not take the evaluator's
 *    fast path. Only when one says true are hooks installed.
 * 3. Before each command the evaluator asks the consumers that wanted the
 *    block (@c before_cmd, in reason order; the first to stop wins),
 *    unless the table or lib/delivery's park is full (then no one is
 *    asked: the block runs on, counted as refused_full). Answering
 *    SCPP_EVAL_SUSPEND stops the block before that command and commits
 *    the part that ran (scpp_eval.h); SCPP_EVAL_HOLD stops it keeping its
 *    undo log, so that it still commits or aborts as a whole (the entities
 *    it wrote are pinned meanwhile: other blocks' writes get EBUSY; a part
 *    that cannot be held runs on, parked() is not called); @p cmd ==
 *    b->ncmds asks about the stop before the end (the commit), where any
 *    answer but GO holds. @c *user is the consumer's word.
 * 4. Once the slot is filled, @c parked() is called with the handle: the
 *    consumer starts what will make it ready (submits the copy, sends the
 *    continuation, queues the edit to the control lcore), remembering the
 *    handle (and @c user) in its own state.
 * 5. When the event comes, the consumer calls scppd_park_ready() on the
 *    worker (a completion polled in its loop, a reply received on its
 *    queues; the control lcore's answers arrive through a mailbox that the
 *    worker polls). A handle whose slot was reused is refused (-ESTALE):
 *    late events are ignored safely. scppd_park_abort() instead ends the
 *    block with a status (the part committed before the stop stays).
 * 6. In a later loop turn the worker resumes the slot: @c resuming() is
 *    called (the consumer puts the completion where the resumed command
 *    will find it), the message is decoded again, the evaluation goes on
 *    from the command given to scppd_park_ready() (and may park again,
 *    calling @c before_cmd and @c parked once more with a new handle),
 *    and the reply is committed.
 * 7. A slot that ends any other way (park_timeout_ms ran out: a committed
 *    E_OUTCOME_UNKNOWN reply, or ETIMEDOUT for a held block, which is
 *    undone; its session closed: EACCES, a held block undone; its message no
 *    longer decodes or evaluates; the worker stops) calls @c dead() and
 *    is freed; the consumer forgets the handle (a later ready is -ESTALE).
 *    dead() runs *before* the block is answered and, for a held block,
 *    undone: a consumer with work still touching the block's values (a DMA
 *    in flight) waits for it there (bounded) so that the undo comes last.
 *
 * Every callback runs on the worker that owns the slot and must not call
 * into the evaluator or the table except scppd_park_ready() /
 * scppd_park_abort() on other handles. Counters: /scpp/park.
 */
/** Why a block is parked (the consumer it waits for). */
enum scppd_park_reason {
	SCPPD_PARK_SCHEMA = 0, /**< a schema edit compiled/checked off the worker (park.c) */
	SCPPD_PARK_COPY = 1,   /**< an asynchronous copy (copy.c) */
	SCPPD_PARK_CONT = 2,   /**< a continuation: another node's rows (cont.c) */
	SCPPD_PARK_REASONS
};

/** How a parked block ended without being resumed (scppd_park_ops.dead). */
enum scppd_park_end {
	SCPPD_PARK_END_EXPIRED = 0, /**< park_timeout_ms ran out (answered E_OUTCOME_UNKNOWN) */
	SCPPD_PARK_END_SESSION = 1, /**< its session closed meanwhile (answered EACCES) */
	SCPPD_PARK_END_FAILED = 2,  /**< it could not be resumed (answered with a status) */
	SCPPD_PARK_END_ABORTED = 3, /**< scppd_park_abort() (answered with its status) */
	SCPPD_PARK_END_STOPPED = 4, /**< the worker stopped (not answered) */
};

/** Bytes of a parked block's message kept for re-decoding; longer blocks are not parked. */
#define SCPPD_PARK_MSG_MAX 4096u
/** Bytes of each slot's suspension (rows, statuses, values; E_LIMIT_PENDING beyond). */
#define SCPPD_PARK_SUSP_BYTES 16384u
/** Ready slots resumed per worker loop turn, at most. */
#define SCPPD_PARK_RESUME_PER_TURN 8u
/** A handle never names a slot (generations start at 1). */
#define SCPPD_PARK_NONE UINT64_C(0)
/** scppd_park_ready() from_cmd: resume at the command it stopped before. */
#define SCPPD_PARK_FROM_STOP UINT16_MAX

/** One consumer of the table (see above); NULL members are not called. */
struct scppd_park_ops {
	/** Might this block stop for this consumer? Cheap; false for ordinary blocks. */
	bool (*wants)(struct scppd_worker *w, const struct scpp_wire_block *b);
	/** Stop before command @p cmd (@p nrows rows)? SCPP_EVAL_GO or SCPP_EVAL_SUSPEND,
	 *  with the consumer's word for this park in *@p user. */
	enum scpp_eval_verdict (*before_cmd)(struct scppd_worker *w, const struct scpp_wire_block *b,
					     uint16_t cmd, size_t nrows, uint64_t *user);
	/** Parked as @p h: start what will make it ready. @p b is valid during the call only. */
	void (*parked)(struct scppd_worker *w, uint64_t h, const struct scpp_wire_block *b,
		       uint16_t cmd, uint64_t user);
	/** About to resume @p h with the @p status given to scppd_park_ready(). */
	void (*resuming)(struct scppd_worker *w, uint64_t h, uint64_t user, int status);
	/** @p h ended without resuming (@p why); forget it. */
	void (*dead)(struct scppd_worker *w, uint64_t h, uint64_t user, enum scppd_park_end why);
	/** The block in slot @p slot (a handle's low 32 bits) ended after a
	 *  resumption with the reply of *@p len bytes in @p buf (lib/delivery's
	 *  reply buffer, @p cap bytes), not committed yet: rewrite it in place
	 *  (cont.c merges a split block's parts). Called for every consumer
	 *  that has it, whatever the block stopped for. */
	void (*reply)(struct scppd_worker *w, uint32_t slot, uint8_t *buf, uint32_t cap,
		      uint32_t *len);
	/** Slot @p slot is free again (answered, expired, failed, stopped):
	 *  forget what was kept for it. Called for every consumer that has it. */
	void (*freed)(struct scppd_worker *w, uint32_t slot);
	const char *name;      /**< "schema", "copy", "continuation": counters, logs */
};

/** Counters of one worker's table (worker writes, telemetry sums). */
struct scppd_park_stats {
	uint64_t parks;        /**< blocks parked */
	uint64_t resumes;      /**< ... resumed */
	uint64_t expired;      /**< ... answered E_OUTCOME_UNKNOWN (park_timeout_ms) */
	uint64_t session_gone; /**< ... answered EACCES: the session closed meanwhile */
	uint64_t failed;       /**< ... whose resumption failed (status reply) */
	uint64_t aborted;      /**< ... ended by scppd_park_abort() */
	uint64_t refused_full; /**< stops not offered: every slot (or lib/delivery's park) full */
	uint64_t refused_big;  /**< stops not offered: message over SCPPD_PARK_MSG_MAX */
	uint64_t stale;        /**< ready/abort calls for a handle no longer parked (ignored) */
	uint64_t by_reason[SCPPD_PARK_REASONS]; /**< parks by enum scppd_park_reason */
	uint32_t parked;       /**< parked now (a gauge) */
};

struct scppd_park;

/** Control thread, before the workers start (and before scppd_park_init()):
 *  the consumer for @p why. Registering a reason twice is a bug (aborts).
 *  A consumer without before_cmd never gets hooks (it parks blocks some
 *  other way: the schema path, through env.schema_hold). */
void scppd_park_register(enum scppd_park_reason why, const struct scppd_park_ops *ops);
/** Control thread, after w->dlv: the table (delivery.max_parked slots). Exits on failure. */
void scppd_park_init(struct scppd *d, struct scppd_worker *w);
/** After the worker stopped: dead(STOPPED) for what is still parked, then free. */
void scppd_park_free(struct scppd_worker *w);
/** Register /scpp/park. */
int scppd_park_telemetry_init(void);
/** Telemetry: one worker's counters (relaxed loads). */
void scppd_park_stats_read(const struct scppd_worker *w, struct scppd_park_stats *out);

/**
 * Worker: mark @p h resumable, from command @p from_cmd (at least the one it
 * stopped before; greater skips the commands in between, which the consumer
 * did some other way); @p status goes to the consumer's resuming().
 * @return 0, or -ESTALE (@p h is not parked: ended, reused, never) or
 *   -EALREADY (already ready or aborted) or -EINVAL (@p from_cmd before the stop).
 */
int scppd_park_ready(struct scppd_worker *w, uint64_t h, uint16_t from_cmd, int status);
/**
 * Worker: end @p h with status @p code (negative errno or project code) and
 * message @p msg (copied, truncated to a status message): answered in a
 * later loop turn as an aborted block (a held block is undone whole; a
 * plain stop's first part stays and the message says so), dead(ABORTED).
 * @return 0, -ESTALE or -EALREADY as scppd_park_ready().
 */
int scppd_park_abort(struct scppd_worker *w, uint64_t h, int code, const char *msg);

/** exec.c, per block (message of @p len bytes): hooks for @p b if a consumer wants it
 *  and it can be parked, else NULL (the fast path). */
const struct scpp_eval_hooks *scppd_park_hooks_slow(struct scppd_worker *w,
						    const struct scpp_wire_block *b, uint32_t len);
extern unsigned int scppd_park_nconsumers;
static inline const struct scpp_eval_hooks *
scppd_park_hooks(struct scppd_worker *w, const struct scpp_wire_block *b, uint32_t len)
{
	if (likely(scppd_park_nconsumers == 0))
		return NULL;
	return scppd_park_hooks_slow(w, b, len);
}
/**
 * exec.c: the evaluation with scppd_park_hooks()'s hooks returned 1 (stopped):
 * park the pending request @p req, message @p msg / @p len, into the slot the
 * hooks reserved; the consumer's parked() is called. Never fails (the hooks
 * checked for room before stopping).
 */
void scppd_park_commit(struct scppd_worker *w, const struct scpp_delivery_req *req,
		       const struct scpp_wire_block *b, const uint8_t *msg, uint32_t len);
/** exec.c: the suspension the hooks stop into (the next free slot's, or NULL: full). */
struct scpp_eval_susp *scppd_park_susp(struct scppd_worker *w);

/** The suspension of parked @p h (NULL: not parked). For its consumer's parked(). */
struct scpp_eval_susp *scppd_park_susp_of(struct scppd_worker *w, uint64_t h);
/** The message bytes kept for parked @p h (*@p len bytes), or NULL: not parked. */
const uint8_t *scppd_park_msg_of(struct scppd_worker *w, uint64_t h, uint32_t *len);
/** The client id and block id of parked @p h's request. @return 0 or -ESTALE. */
int scppd_park_ids_of(struct scppd_worker *w, uint64_t h, uint64_t *client_id, uint64_t *block_id);
/** lib/eval's env.schema_hold (@p arg: the worker): a slot for a block whose
 *  schema change is checked elsewhere, or NULL (full, message too long). */
struct scpp_eval_susp *scppd_park_hold_schema(void *arg, const struct scpp_wire_block *b);

void scppd_park_poll_slow(struct scppd_worker *w);
/** Worker loop, every turn: resume ready slots (bounded), expire old ones.
 *  One load when nothing is parked. */
static inline void
scppd_park_poll(struct scppd_worker *w)
{
	if (unlikely(w->park_busy != 0))
		scppd_park_poll_slow(w);
}

/* schema_job.c: runtime schema changes compiled on the control lcore and
 * checked on every shard (docs/SCHEMA.md §7). */
/** Entities a worker examines per loop turn for a schema change's vote. */
#define SCPPD_SCHEMA_VOTE_PER_TURN 1024u
/** Types one change may affect at most (more: refused). */
#define SCPPD_SCHEMA_TYPES_MAX 64u
/** The change in flight (0: none); schema_job.c writes it. */
extern uint32_t scppd_schema_job_state;
/** Control thread, before the workers start: the consumer of SCPPD_PARK_SCHEMA. */
void scppd_schema_init(void);
/** After the workers stopped. */
void scppd_schema_free(void);
/** Control lcore, each loop turn: compile a submitted change; collect the votes.
 *  @return true while a change is in flight (the next turn comes soon). */
bool scppd_schema_tick(struct scppd *d);
/** Register /scpp/schema. */
int scppd_schema_telemetry_init(void);
void scppd_schema_poll_slow(struct scppd_worker *w);
/** Worker loop, every turn: vote on a change in flight (a bounded step), or
 *  act on the answer (the origin). One load when none is in flight. */
static inline void
scppd_schema_poll(struct scppd_worker *w)
{
	/* Relaxed: a hint; the slow path loads it again with acquire. */
	if (unlikely(__atomic_load_n(&scppd_schema_job_state, __ATOMIC_RELAXED) >= 2))
		scppd_schema_poll_slow(w);
}

/* auth.c: the session layer (docs/SECURITY.md §12). */
/** What scppd_auth_rx() did with a datagram. */
enum scppd_auth_rx {
	SCPPD_AUTH_PASS,     /**< on to lib/delivery (*sess: req.session bits to add) */
	SCPPD_AUTH_TAKEN,    /**< the mbuf was passed on (control lcore, another lane) */
	SCPPD_AUTH_DROPPED,  /**< dropped and counted: the caller frees the mbuf */
};
/** Control thread, after the ports and rings: keys, roots, responder, worker tables. */
void scppd_auth_init(struct scppd *d);
/** Each control-loop turn: handshakes (within the budget), rotation, sweeps, frees.
 *  @return true while an authority waits for its grace period or a reassembly for
 *  its fragments (the next turn comes soon). */
bool scppd_auth_tick(struct scppd *d);
/** After the workers stopped. */
void scppd_auth_free(struct scppd *d);
/** Register /scpp/auth and /scpp/sessions. */
int scppd_auth_telemetry_init(void);
/** Worker: a datagram lib/net delivered, before lib/delivery sees it. */
enum scppd_auth_rx scppd_auth_rx(struct scppd_worker *w, struct rte_mbuf *m,
				 const struct scpp_net_meta *nm, uint8_t *sess, bool handed);
/** Worker, each loop: installs, closes and frames from the control lcore; expiry sweep. */
unsigned int scppd_auth_poll(struct scppd_worker *w);
/** Worker, per block before admission: the authority it runs with (NULL: unchecked).
 *  false: refused (counted; a status reply was queued, rate-limited). */
bool scppd_auth_block(struct scppd_worker *w, const struct scpp_delivery_req *req,
		      const struct scpp_auth_authority **a);
/** lib/delivery's seal hook: @p ctx is the worker. */
int scppd_auth_seal(void *ctx, uint64_t session, uint8_t *dgram, size_t len);
/* Forwarded sessions (docs/SECURITY.md §9.4). */
/** Forwarder, worker: extension 1 for session request @p req to node @p owner:
 *  @p fp filled, *@p key the pair's key. 0, or <0: not forwardable (counted). */
int scppd_auth_fwd_prepare(struct scppd_worker *w, const struct scpp_delivery_req *req,
			   uint32_t owner, struct scpp_auth_fwd_principal *fp, const uint8_t **key);
/** Forwarder, worker: make sure @p owner has session @p session's IDENTITY
 *  (asks the control lcore at most once a second per (session, owner)).
 *  true: asked now (the owner may not have it yet). */
bool scppd_auth_ident_push(struct scppd_worker *w, uint64_t session, uint32_t owner,
			   const struct scpp_net_peer *to);
/** Owner, worker: check a FORWARD's extension 1. 0: none (an unauthenticated
 *  request); 1: verified, @p c filled and in->req.session SESSION|CARRIED;
 *  <0: dropped (counted). */
int scppd_auth_fwd_in(struct scppd_worker *w, struct scpp_delivery_in *in, struct scppd_carry *c);
/* Continuations of session blocks (docs/SECURITY.md §9.4 item 9). */
/** Origin, worker: seal extension 1 of CONT @p msg (@p len bytes; its
 *  extension area starts with extension 1's 172 bytes, type and length
 *  written) for session @p session's part @p cont_id to node @p owner
 *  (this node: another shard). 0, or -EACCES: no key for @p owner, the
 *  session is gone, or a root principal (no chains) for a peer (counted
 *  in auth_fwd_refused). */
int scppd_auth_cont_seal(struct scppd_worker *w, uint64_t session, uint32_t owner,
			 uint64_t cont_id, uint8_t *msg, uint32_t len);
/** Origin, worker: verify the MAC ending the CONT_REPLY message @p msg to
 *  sealed part @p cont_id for @p owner. Its length without the MAC, or <0
 *  (counted: cont_reply_bad). */
long scppd_auth_cont_reply_open(struct scppd_worker *w, uint64_t cont_id, uint32_t owner,
				const uint8_t *msg, uint32_t len);
/** Owner, worker: the authority CONT @p c (message @p msg, @p len bytes)
 *  from node @p sender runs with (@p self: handed over by another worker
 *  of this node). 1: extension 1 verified, *@p au its principal's (this
 *  node's own verification) and @p k_r the CONT_REPLY key; 0: no
 *  extension 1 and auth.mode optional or off (*@p au NULL: unchecked);
 *  -EACCES: none and auth.mode required (refuse it; counted
 *  cont_no_principal); -ENOTCONN (this node's session closed) and
 *  -ETIMEDOUT (past its not-after): refuse it, @p k_r set; -EAGAIN: the
 *  principal's identity not cached yet, -EBADMSG, -ENOKEY, -EPROTONOSUPPORT
 *  (auth.mode off): drop it (counted). */
int scppd_auth_cont_in(struct scppd_worker *w, uint32_t sender, bool self, const uint8_t *msg,
		       uint32_t len, const struct scpp_wire_cont *c,
		       const struct scpp_auth_authority **au, uint8_t k_r[SCPP_AUTH_KEY_LEN]);
/** Owner, worker: note the reply key of carried request w->carry (before
 *  anything is sent for it). */
void scppd_auth_carry_note(struct scppd_worker *w);
/** Owner, worker: the authority carried request @p req (w->carry) runs with:
 *  its principal's, verified by this node; NULL: not cached yet (counted). */
const struct scpp_auth_authority *scppd_auth_carried(struct scppd_worker *w,
						     const struct scpp_delivery_req *req);
/* forward.c: blocks for other nodes (docs/CLUSTER.md §7). */
/** What scppd_forward() did with a request. */
enum scppd_fwd {
	SCPPD_FWD_NO,   /**< not forwardable (forwarding off, owner unknown or unreachable):
			 *   the caller answers E_NOT_HERE */
	SCPPD_FWD_DONE, /**< forwarded, or answered / dropped and counted */
};
/** Per-peer forwarding counters summed over the map (scppd_forward_totals()). */
#define SCPPD_FWD_TOTALS 5
struct rte_tel_data;
/** Control thread, before workers start: the counters. 0 or -ENOMEM. */
int scppd_forward_init(const struct scppd *d);
void scppd_forward_free(void);
/** Control thread, a map just published (under the cluster lock): peers' MACs, slots. */
void scppd_forward_map_published(const struct scpp_cluster_map *m);
/** Telemetry: the forwarding counters of the peer in map slot @p slot, into dict @p d. */
void scppd_forward_peer_tel(struct rte_tel_data *d, uint16_t slot);
/** Telemetry: the per-peer counters summed over the map's nodes (names: _total_name()). */
void scppd_forward_totals(uint64_t out[SCPPD_FWD_TOTALS]);
const char *scppd_forward_total_name(unsigned int i);
/** Worker: forward @p in (a BLOCK or FETCH) to the owner @p res names. */
enum scppd_fwd scppd_forward(struct scppd_worker *w, const struct scpp_delivery_in *in,
			     const struct scpp_route_result *res);
/** Worker: an ARP binding seen (@p ip network order); kept if a peer has it. */
void scppd_forward_learn(uint32_t ip, const struct rte_ether_addr *mac);
/** The id of the map's peer node at address @p ip (network order), or 0. */
uint32_t scppd_forward_peer_id(uint32_t ip);
/** Worker: a FORWARD arrived from @p ip; true if a reachable peer has that address
 *  (its MAC is learnt and the message counted), false (counted) to drop it. */
bool scppd_forward_from_peer(struct scppd_worker *w, uint32_t ip,
			     const struct rte_ether_addr *mac);

/** Per-peer continuation counters, in /scpp/cluster,<id> with the forwarding ones. */
enum scppd_peer_cont {
	SCPPD_PEER_CONT_SENT,      /**< "cont_sent": CONTs sent to the peer */
	SCPPD_PEER_CONT_ANSWERED,  /**< "cont_answered": ... answered */
	SCPPD_PEER_CONT_TIMED_OUT, /**< "cont_timed_out": ... not answered in time */
	SCPPD_PEER_CONT_RETX,      /**< "cont_retransmitted": ... sent again */
	SCPPD_PEER_CONT_IN,        /**< "cont_received": CONTs from the peer, run */
	SCPPD_PEER_CONT_COUNT
};
/** Worker: count @p c against peer @p node (nothing if it is not in the map). */
void scppd_peer_cont_count(struct scppd_worker *w, uint32_t node, enum scppd_peer_cont c);
/**
 * Worker: the address of shard @p shard of peer node @p node (its port
 * base_port + 1 + shard), from this node's cluster port and UDP port
 * @p local_port. @return 0; -EAGAIN (its MAC is not known: asked by ARP,
 * try again shortly); -EHOSTUNREACH (not in the map, unreachable, this
 * node, or ARP unanswered for a second).
 */
int scppd_peer_addr(struct scppd_worker *w, uint32_t node, uint16_t shard, uint16_t local_port,
		    struct scpp_net_peer *to);
/**
 * Worker: pass the one-datagram message @p msg (@p mlen bytes) of @p kind to
 * the worker of shard @p shard of this node through the hand-off ring, as a
 * frame from this node's cluster address and UDP port @p from_port to the
 * shard's port (a frame to the node's own address does not come back
 * through its port; lib/net drops any that claims to come from it, so the
 * receiver can tell one of these from the wire's). The receiver takes it as
 * a datagram (SCPPD_AUTH_RAW). @return 0, -EHOSTUNREACH (no other local
 * worker has the shard), -EMSGSIZE (over one datagram), -ENOBUFS (no mbuf,
 * ring full: counted in msg_drops).
 */
int scppd_peer_handoff(struct scppd_worker *w, uint16_t shard, uint16_t from_port, uint8_t kind,
		       uint64_t client_id, uint64_t block_id, const uint8_t *msg, uint32_t mlen);
/** Payload bytes of one datagram to a peer on port @p port. */
uint32_t scppd_peer_chunk(uint16_t port);
/**
 * Worker: send the message @p hdr (@p hlen bytes, may be 0) then @p msg
 * (@p mlen) to @p to as datagrams of @p kind (fragmented like a BLOCK)
 * with the header ids @p client_id / @p block_id, from this worker's tx
 * queue on to->port. Shared by FORWARD (forward.c) and CONT_REPLY (cont.c).
 * @return the frames the tx queue did not take (0: all sent; the caller
 *   counts the rest), -EMSGSIZE (more than 64 datagrams, or empty), or
 *   -ENOBUFS (no mbufs; counted in msg_drops).
 */
int scppd_peer_send(struct scppd_worker *w, const struct scpp_net_peer *to, uint8_t kind,
		    uint64_t client_id, uint64_t block_id, const uint8_t *hdr, uint32_t hlen,
		    const uint8_t *msg, uint32_t mlen);

/* cont.c: continuations, both sides (docs/CLUSTER.md §8, PROTOCOL.md §19). */
/** Control thread, before the workers start: the park consumer SCPPD_PARK_CONT. */
void scppd_cont_register(void);
/** Control thread, after w->dlv and w->ectx: the worker's continuation state. Exits on failure. */
void scppd_cont_init(struct scppd *d, struct scppd_worker *w);
/** After the worker stopped. NULL state: a no-op. */
void scppd_cont_free(struct scppd_worker *w);
/** Worker: a CONT or CONT_REPLY datagram (@p dgram, nm->l4_len bytes) from @p nm's sender. */
void scppd_cont_rx(struct scppd_worker *w, const struct scpp_net_meta *nm, const uint8_t *dgram);
void scppd_cont_tick_slow(struct scppd_worker *w);
/** Worker loop, every turn: forget answers past their retention; retransmit
 *  or give up continuations shipped and not answered. */
static inline void
scppd_cont_tick(struct scppd_worker *w)
{
	if (unlikely((w->cont_held | w->cont_out) != 0))
		scppd_cont_tick_slow(w);
}

/* telemetry.c */
int scppd_telemetry_init(void);
void scppd_stats_sum(struct scppd_stats *sum);

/* cluster.c: the cluster map (control thread unless said otherwise). */
/** --check-config: build the static map; print the error. 0 or -errno. */
int scppd_cluster_check(const struct scpp_config *cfg, const char *name);
/** Publish the static (or start-up) map; @p mac: the cluster port's, or NULL. */
void scppd_cluster_init(struct scppd *d, const char *cfg_name, const uint8_t *mac);
/** After the ports: this node's MAC in its entry; with etcd, start the agent and wait
 *  (bounded) for the first map. Exits on a node-id conflict. */
void scppd_cluster_start(struct scppd *d);
/** Each control-loop turn: publish the agent's new map, log its events, reclaim.
 *  @return true while a replaced map waits for its readers (the next turn soon). */
bool scppd_cluster_tick(struct scppd *d);
/** On stop, before the workers drain: leave etcd (revoke the lease). */
void scppd_cluster_leave(struct scppd *d);
/** After the workers stopped: free the maps and counters. */
void scppd_cluster_free(struct scppd *d);
/** Worker, E_NOT_HERE path: count it against the owning peer. */
void scppd_cluster_not_here_count(const struct scppd_worker *w,
				  const struct scpp_route_result *res);
/** Worker, E_NOT_HERE path (after the rate limit): the status message for @p oid;
 *  returns the owning shard's /64 OID (the status's owner field), nil if none. */
struct scpp_oid scppd_cluster_not_here_msg(const char *oid, const struct scpp_route_result *res,
					   char *buf, size_t size);
/** Worker (RCU reader): the map in force; valid until the worker's next quiescent state. */
const struct scpp_cluster_map *scppd_cluster_map(void);
/** Telemetry: serialise with map publication around reading the route table.
 *  @return 0 (locked), or -ENODEV when shutting down (not locked). */
int scppd_cluster_lock(void);
void scppd_cluster_unlock(void);
/** Telemetry, under the lock: one /scpp/routes line for a route of another node. */
void scppd_cluster_route_line(const struct scpp_route_entry *e, char *line, size_t size);
/** Register /scpp/cluster. */
int scppd_cluster_telemetry_init(void);

/* control.c: the control loop on the EAL main lcore, woken by events. */
/** Create its eventfd (before the signal handlers and the workers). 0 or -errno. */
int scppd_control_init(void);
/** Any thread, signal handlers included: the control loop has work. At most one
 *  eventfd write per control turn. */
void scppd_control_wake(void);
/** Control lcore: turns until the stop flag (docs/ARCHITECTURE.md). */
void scppd_control_run(struct scppd *d);
/** Register /scpp/control. */
int scppd_control_telemetry_init(void);
/** After the loop ended. */
void scppd_control_free(void);

#endif /* SCPPD_H */
