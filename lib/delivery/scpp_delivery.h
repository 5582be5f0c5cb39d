/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SCPP_DELIVERY_H
#define SCPP_DELIVERY_H

/**
 * @file
 * Delivery: from datagrams to messages and from replies back to datagrams,
 * with the guarantees of docs/PROTOCOL.md §16. One instance per worker
 * (single-threaded, lock-free by ownership; all memory taken at create).
 *
 * Receiving (any worker, scpp_delivery_rx()). A datagram delivered by
 * lib/net is checked (header, kind, fragment limits) and becomes one of:
 * dropped (counted by reason), held (a fragment waiting for the rest),
 * a complete BLOCK message, or a FETCH. A FORWARD message (another node
 * passing a client's BLOCK or FETCH on, reassembled like a BLOCK) becomes
 * the request it carries, with the client as its sender (in->fwd says it
 * was forwarded; the caller checks that the sender is a cluster peer). Fragments are reassembled per
 * 5-tuple and (client id, block id), in bounded slots, with a per-source
 * quota and a timeout; the message is answered to its sender.
 *
 * Owning (the worker that runs the block):
 * - scpp_delivery_admit() decides whether a BLOCK message runs: a request
 *   whose reply is held is answered from it (a retransmission), one whose
 *   block already ran but whose reply is gone gets NOTICE REPLY_LOST, one
 *   below the client's replay window NOTICE STALE, a new client when every
 *   client slot is live NOTICE BUSY; only a new block is executed.
 *   At-most-once is keyed by (source address, source port, client id,
 *   block id) and holds for as long as the client's window is kept: at
 *   least @c retention_ms after the client's last request.
 * - the caller evaluates the block straight into scpp_delivery_reply_buf()
 *   and calls scpp_delivery_reply_commit(): the reply is recorded in the
 *   window, kept at least @c retention_ms (less only when the configured
 *   memory is full, counted as cache_pressure) and queued for sending.
 * - scpp_delivery_fetch() answers a FETCH from the held reply;
 *   scpp_delivery_reply_status() queues a reply that is not an execution
 *   (a decode error, E_NOT_HERE), after scpp_delivery_error_allowed().
 *
 * Anti-amplification: every response to a request whose source has not
 * proven its address (no valid cookie) is at most 3 times the request's
 * bytes; a larger one is replaced by a NOTICE COOKIE, which the client
 * answers by sending the request again with the cookie.
 *
 * Sending (scpp_delivery_tx_prepare() / scpp_delivery_tx_done()). Responses
 * wait in a bounded backlog of jobs, per port, served round-robin a few
 * datagrams at a time; frames are built only when the caller has room for
 * them, and what the tx queue did not take is built again next time, so a
 * full tx ring delays a reply but never loses part of it.
 *
 * Time is the caller's TSC reading (@p now), so tests drive it. Nothing
 * here blocks, logs or allocates after scpp_delivery_create().
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scpp_common.h"
#include "scpp_net.h"
#include "scpp_wire.h"

/** Bytes of the node-wide cookie key (every worker gets the same one). */
#define SCPP_DELIVERY_KEY_LEN 16
/** Block ids a client's replay window covers below its highest one. */
#define SCPP_DELIVERY_WINDOW 1024
/** A response to an unproven source is at most this many times the request. */
#define SCPP_DELIVERY_AMPLIFICATION 3
/** Seconds a cookie key is current; a cookie is accepted for two periods. */
#define SCPP_DELIVERY_COOKIE_PERIOD_S 60
/** Datagrams one job sends per turn of the round-robin. */
#define SCPP_DELIVERY_QUANTUM 8
/** Most frames one scpp_delivery_tx_prepare() call builds. */
#define SCPP_DELIVERY_TX_BURST 64

/** Memory for one instance: zeroed, 64-byte aligned blocks. */
struct scpp_delivery_mem_ops {
	void *(*alloc)(void *ctx, const char *name, size_t size, int socket);
	void (*free)(void *ctx, void *p, size_t size);
	void *ctx;
};

/** DPDK memory (rte_zmalloc_socket): what workers use. Needs EAL. */
extern const struct scpp_delivery_mem_ops scpp_delivery_mem_rte;
/** Ordinary memory (mmap): tests and tools without EAL. */
extern const struct scpp_delivery_mem_ops scpp_delivery_mem_libc;

/** Settings of one instance (docs/CONFIG.md, `delivery`). */
struct scpp_delivery_conf {
	const char *name;                         /**< for memory names */
	int socket_id;                            /**< NUMA socket of the memory */
	const struct scpp_delivery_mem_ops *mem;  /**< NULL: scpp_delivery_mem_rte */
	const struct scpp_net *net;               /**< ports (MTU, frames); outlives the instance */
	uint64_t tsc_hz;                          /**< TSC ticks per second */
	uint64_t epoch_tsc;                       /**< time origin shared by all workers (cookies) */
	uint8_t cookie_key[SCPP_DELIVERY_KEY_LEN]; /**< node-wide secret */
	uint32_t retention_ms;      /**< replies and client windows kept at least this long */
	uint32_t cache_entries;     /**< replies held at most */
	uint64_t cache_bytes;       /**< bytes for held replies (>= 4 x reply_max) */
	uint32_t reply_max;         /**< largest reply message, bytes */
	uint32_t clients;           /**< client windows at most */
	uint32_t reasm_slots;       /**< messages in reassembly at once */
	uint32_t reasm_per_source;  /**< ... from one source address */
	uint32_t reasm_timeout_ms;  /**< an incomplete message is dropped after this */
	uint16_t max_fragments;     /**< fragments per message, 1..SCPP_WIRE_FRAGS_MAX */
	uint32_t backlog;           /**< responses queued for sending at most */
	uint32_t error_rate_source; /**< error replies per second to one source (0: none) */
	uint32_t error_rate_total;  /**< error replies per second in all */
	uint32_t parked;            /**< admitted requests parked at once, at most
				     *   (0: SCPP_DELIVERY_PARKED_DEFAULT; at most 65536) */
	uint32_t park_timeout_ms;   /**< a parked request expires after this (0: the
				     *   smaller of 1000 and retention_ms / 2; at most
				     *   retention_ms / 2) */
	/**
	 * Seal a datagram for a session request (SCPP_DELIVERY_SESSION): the
	 * datagram (@p len bytes, header with SESSION and tag_len 24, the tag
	 * zeroed) is complete but for its tag, which this writes
	 * (scpp_auth_seal() on the worker's table). Returns 0, or a negative
	 * code: the datagram is then not sent (counted as tx_unsealed). Each
	 * transmission is sealed afresh (a new counter), resends included.
	 * NULL: session requests are answered unsealed (tests only).
	 */
	int (*seal)(void *ctx, uint64_t session, uint8_t *dgram, size_t len);
	void *seal_ctx;
};

/** Parked requests per instance when the configuration says 0. */
#define SCPP_DELIVERY_PARKED_DEFAULT 256

/** Why a datagram was dropped here (after lib/net delivered it). */
enum scpp_delivery_drop {
	SCPP_DELIVERY_DROP_HDR_TRUNCATED,    /**< header: E_TRUNCATED */
	SCPP_DELIVERY_DROP_HDR_BAD_MAGIC,    /**< header: E_BAD_MAGIC */
	SCPP_DELIVERY_DROP_HDR_BAD_VERSION,  /**< header: E_BAD_VERSION */
	SCPP_DELIVERY_DROP_HDR_BAD_KIND,     /**< header: E_BAD_KIND */
	SCPP_DELIVERY_DROP_HDR_BAD_FLAGS,    /**< header: E_BAD_FLAGS */
	SCPP_DELIVERY_DROP_HDR_BAD_LENGTH,   /**< header: E_BAD_LENGTH */
	SCPP_DELIVERY_DROP_HDR_BAD_FRAGMENT, /**< header: E_BAD_FRAGMENT */
	SCPP_DELIVERY_DROP_NODE_KIND,        /**< a REPLY or NOTICE sent to the node */
	SCPP_DELIVERY_DROP_FETCH_BAD,        /**< a FETCH whose payload does not decode */
	SCPP_DELIVERY_DROP_FRAG_LIMIT,       /**< over max_fragments, or a fragment over the MTU */
	SCPP_DELIVERY_DROP_REASM_OVERFLOW,   /**< no free reassembly slot */
	SCPP_DELIVERY_DROP_REASM_QUOTA,      /**< the source holds its quota of slots */
	SCPP_DELIVERY_DROP_REASM_TIMEOUT,    /**< held, then the message timed out */
	SCPP_DELIVERY_DROP_REASM_MISMATCH,   /**< disagreeing fragment, and those held with it */
	SCPP_DELIVERY_DROP_REASM_DUP,        /**< identical duplicate fragment */
	SCPP_DELIVERY_DROP_FWD_BAD,          /**< a one-datagram FORWARD whose header (or
					      *   client address, or inner FETCH) is bad */
	SCPP_DELIVERY_DROP_COUNT
};

/** Counter names of enum scpp_delivery_drop ("reasm_quota"). */
extern const char *const scpp_delivery_drop_name[SCPP_DELIVERY_DROP_COUNT];

/**
 * Counters of one instance, written by its worker (scpp_counter_add()) and
 * read from any thread by scpp_delivery_stats_get(). Datagram accounting:
 * dgrams = consumed + sum(drops) + the fragments held now
 * (struct scpp_delivery_usage.reasm_frames).
 */
struct scpp_delivery_stats {
	uint64_t dgrams;          /**< datagrams given to scpp_delivery_rx() */
	uint64_t consumed;        /**< ... that became a BLOCK message or a FETCH */
	uint64_t drops[SCPP_DELIVERY_DROP_COUNT]; /**< by enum scpp_delivery_drop */
	uint64_t messages;        /**< complete BLOCK messages */
	uint64_t fetches;         /**< FETCH datagrams received */
	uint64_t reasm_started;   /**< multi-fragment messages begun */
	uint64_t reasm_done;      /**< ... completed */
	uint64_t admitted;        /**< blocks admitted for execution */
	uint64_t cache_hits;      /**< retransmissions answered from a held reply */
	uint64_t replies_kept;    /**< replies recorded (committed) */
	uint64_t cache_expired;   /**< held replies dropped after the retention time */
	uint64_t cache_pressure;  /**< held replies dropped earlier: memory full */
	uint64_t clients_new;     /**< client windows created */
	uint64_t clients_expired; /**< client windows dropped after the retention time */
	uint64_t notices[SCPP_NOTICE_COUNT]; /**< NOTICE datagrams queued, by code */
	uint64_t amp_limited;     /**< responses replaced by NOTICE COOKIE (over 3x) */
	uint64_t cookies_valid;   /**< requests whose cookie was checked and valid */
	uint64_t cookies_invalid; /**< ... and not (expired, forged, other source) */
	uint64_t fetch_dgrams;    /**< reply datagrams queued again for FETCHes */
	uint64_t errors_allowed;  /**< error replies allowed by the rate limit */
	uint64_t errors_limited;  /**< error replies suppressed by it */
	uint64_t backlog_full;    /**< responses not queued: backlog full */
	uint64_t tx_aborted;      /**< queued replies dropped: their bytes were reclaimed */
	uint64_t tx_dgrams;       /**< datagrams sent (taken by the tx queue) */
	uint64_t tx_bytes;        /**< their UDP payload bytes */
	uint64_t tx_deferred;     /**< frames built but not taken; built again later */
	uint64_t tx_direct;       /**< ... of tx_dgrams, one-datagram replies the worker sent
				   *   from the request's own frame (no backlog) */
	uint64_t tx_unsealed;     /**< session datagrams not sent: conf.seal refused
				   *   (the session closed meanwhile) */
	uint64_t sealed;          /**< session datagrams built and sealed */
	uint64_t forwarded_in;    /**< FORWARD messages taken (a block or FETCH of a
				   *   client another node passed on) */
	uint64_t forward_bad;     /**< reassembled FORWARD messages refused (their
				   *   datagrams count as consumed) */
	uint64_t parks;           /**< requests parked */
	uint64_t unparks;         /**< ... resumed by the caller */
	uint64_t park_expired;    /**< ... handed back because their time ran out */
	uint64_t park_full;       /**< parks refused: every slot taken */
	uint64_t park_dups;       /**< retransmissions of a parked request (not answered
				   *   now: the reply follows when it resumes) */
	uint64_t reads;           /**< of admitted, read-only blocks
				   *   (scpp_delivery_admit_read()) */
	uint64_t reads_unheld;    /**< ... whose reply went out in one datagram at once,
				   *   neither held nor recorded in a window (a
				   *   retransmission is evaluated again) */
	uint64_t reads_held;      /**< ... whose unheld reply the tx queue did not take:
				   *   held after all (unindexed) for the backlog */
};

/** Occupancy of one instance (gauges), read from any thread. */
struct scpp_delivery_usage {
	uint32_t cache_entries;   /**< replies held */
	uint32_t cache_capacity;
	uint64_t cache_bytes;     /**< bytes they take */
	uint64_t cache_arena;     /**< bytes available */
	uint32_t clients;         /**< client windows kept */
	uint32_t clients_capacity;
	uint32_t reasm_in_use;    /**< reassembly slots in use */
	uint32_t reasm_slots;
	uint32_t reasm_frames;    /**< fragments held in them */
	uint32_t backlog_jobs;    /**< responses waiting to be sent */
	uint32_t backlog_capacity;
	uint32_t parked;          /**< requests parked now */
	uint32_t parked_capacity;
};

/**
 * req.session bit: the request came in session datagrams (header flag
 * SESSION) that the caller verified (scpp_auth_verify()) before handing
 * them here; client_id is then the session id. Everything about the
 * request is kept apart from unauthenticated traffic with the same ids
 * (reassembly, client windows, held replies), and every datagram sent for
 * it is sealed with conf.seal.
 */
#define SCPP_DELIVERY_SESSION 0x1
/** req.session bit: ... from the address its handshake proved (the caller
 *  sets it): responses are not held to the amplification limit. */
#define SCPP_DELIVERY_PROVEN 0x2

/** req.session bit: ... a forwarded session request whose original principal
 *  the caller's session layer verified (FORWARD extension 1): this library
 *  treats it as SCPP_DELIVERY_SESSION and carries the bit. */
#define SCPP_DELIVERY_CARRIED 0x4

/** A request as the owning worker needs it (fits an mbuf's private area). */
struct scpp_delivery_req {
	struct scpp_net_peer peer; /**< sender: the reply goes there */
	uint8_t kind;              /**< SCPP_WIRE_BLOCK or SCPP_WIRE_FETCH */
	uint8_t has_cookie;        /**< @c cookie holds the request's cookie */
	uint8_t session;           /**< SCPP_DELIVERY_SESSION | SCPP_DELIVERY_PROVEN */
	uint8_t rsv;
	uint32_t req_bytes;        /**< UDP payload bytes of the request (all fragments) */
	uint64_t client_id;
	uint64_t block_id;
	uint8_t cookie[SCPP_WIRE_COOKIE_LEN];
};

/** Verdict of scpp_delivery_rx(). */
enum scpp_delivery_verdict {
	SCPP_DELIVERY_DROP,  /**< dropped and counted: in->drop */
	SCPP_DELIVERY_HELD,  /**< a fragment kept; nothing to do */
	SCPP_DELIVERY_BLOCK, /**< a complete BLOCK message: in->msg, in->msg_len */
	SCPP_DELIVERY_FETCH, /**< a FETCH: in->msg (its payload), in->owner */
};

/**
 * What a FORWARD message said about the request it carries (docs/PROTOCOL.md
 * §18); hops 0: the request came from its client itself.
 */
struct scpp_delivery_fwd {
	uint8_t hops;           /**< forwards taken so far */
	uint32_t origin;        /**< node the client sent it to */
	uint32_t from_ip;       /**< the forwarding node's address (network order) */
	const uint8_t *hdr;     /**< the FORWARD message: its 44-byte header (for the
				 *   principal's MAC, docs/SECURITY.md §9.4) */
	const uint8_t *ext;     /**< its extensions (ext_len bytes, into the message) */
	uint16_t ext_len;
};

/** What scpp_delivery_rx() produced. */
struct scpp_delivery_in {
	struct scpp_delivery_req req;
	/** A forwarded request: @c req describes the *client* (its address,
	 *  port, MAC, cookie and request bytes, from the FORWARD header), so
	 *  that at-most-once, cookies, the amplification limit and the reply
	 *  are the client's, whichever node passed it on. */
	struct scpp_delivery_fwd fwd;
	const uint8_t *msg;     /**< BLOCK: the message; FETCH: the payload */
	uint32_t msg_len;
	int32_t slot;           /**< reassembly slot holding @c msg, or -1 */
	struct scpp_oid owner;  /**< FETCH: the owner OID it names (nil: none) */
	uint8_t drop;           /**< DROP: enum scpp_delivery_drop */
};

/** Result of scpp_delivery_admit(). */
enum scpp_delivery_admit {
	SCPP_DELIVERY_EXECUTE,  /**< new: evaluate, then scpp_delivery_reply_commit() */
	SCPP_DELIVERY_ANSWERED, /**< answered (held reply or notice) or refused; done */
};

struct scpp_delivery;

/**
 * Create an instance.
 *
 * @return The instance, or NULL with errno: EINVAL (a setting out of range:
 *   zero sizes, cache_bytes < 4 x reply_max, reasm_per_source > reasm_slots,
 *   max_fragments over SCPP_WIRE_FRAGS_MAX, no ports in @c net, tsc_hz 0),
 *   ENOMEM (the allocator failed; nothing is leaked).
 *
 * Control thread.
 */
struct scpp_delivery *scpp_delivery_create(const struct scpp_delivery_conf *conf);

/** Free an instance; NULL is allowed. */
void scpp_delivery_free(struct scpp_delivery *d);

/** Bytes scpp_delivery_create() allocates for @p conf (for sizing EAL memory). */
size_t scpp_delivery_mem_size(const struct scpp_delivery_conf *conf);

/**
 * Take one datagram (the UDP payload lib/net delivered).
 *
 * @param nm
 *   lib/net's metadata (sender, payload offset and length).
 * @param dgram
 *   The UDP payload, nm->l4_len bytes. For SCPP_DELIVERY_BLOCK of a single
 *   datagram and for SCPP_DELIVERY_FETCH, in->msg points into it.
 * @param in
 *   Output. For a reassembled message, in->slot >= 0: call
 *   scpp_delivery_release() once the message is no longer needed.
 * @return The verdict.
 *
 * Worker lcore.
 */
enum scpp_delivery_verdict scpp_delivery_rx(struct scpp_delivery *d,
					    const struct scpp_net_meta *nm, const uint8_t *dgram,
					    uint64_t now, struct scpp_delivery_in *in);

/** Free the reassembly slot of a message scpp_delivery_rx() completed (-1: no-op). */
void scpp_delivery_release(struct scpp_delivery *d, int32_t slot);

/**
 * Decide what to do with a complete BLOCK message (see the file comment).
 * On SCPP_DELIVERY_ANSWERED the response is queued (or refused, counted).
 * On SCPP_DELIVERY_EXECUTE the caller must call scpp_delivery_reply_commit()
 * or scpp_delivery_reply_status() for this request before any other call
 * for another request.
 *
 * Worker lcore (the owner).
 */
enum scpp_delivery_admit scpp_delivery_admit(struct scpp_delivery *d,
					     const struct scpp_delivery_req *req, uint64_t now);

/**
 * scpp_delivery_admit() for a block the caller knows changes nothing: every
 * command is a get, let, where or assert (scpp_wire_block_read_only()), and
 * it runs without parking hooks (docs/PROTOCOL.md §16.2, "Read-only
 * blocks"). The answers for a key the client's window says ran, or no
 * longer covers, are the same as scpp_delivery_admit()'s (a held reply,
 * REPLY_LOST, STALE); otherwise it is admitted without a window being made
 * or marked yet (so never refused BUSY here), and what its reply does
 * decides:
 * - one datagram that goes out at once within the amplification limit
 *   (scpp_delivery_reply_commit_frame()): not held, not recorded, no window
 *   made; a retransmission is evaluated again (reads_unheld);
 * - anything else (several datagrams, a NOTICE COOKIE instead, no frame):
 *   held and recorded as after scpp_delivery_admit(); a reply held already
 *   under its key (an earlier evaluation's, recorded but no longer in the
 *   window's memory) is sent instead of the new one, so that datagrams
 *   and FETCHes of one key always carry one evaluation's bytes; NOTICE BUSY
 *   when no window can be made (the block changed nothing).
 * Parking such a request makes its window first (-ENOSPC when it cannot).
 *
 * Worker lcore (the owner).
 */
enum scpp_delivery_admit scpp_delivery_admit_read(struct scpp_delivery *d,
						  const struct scpp_delivery_req *req,
						  uint64_t now);

/**
 * Parking: a request admitted for execution that cannot finish now — its
 * evaluation waits for another node (a continuation), a DMA completion, a
 * schema compiled on the control lcore — leaves the admission slot to the
 * next request and waits here, still admitted, until the caller resumes it
 * (scpp_delivery_unpark()) or its time runs out
 * (scpp_delivery_park_expired()); either makes it the pending request
 * again, which the caller then commits or answers as after
 * scpp_delivery_admit(). While it is parked:
 * - a retransmission of it is answered with nothing (park_dups): it is
 *   neither run again nor told "lost", and its reply follows;
 * - its client's window is kept (the park timeout is at most half the
 *   retention, and parking touches the window).
 * At most @c parked requests are parked at once; the ones beyond are
 * refused (-ENOSPC, park_full): the caller answers them with a status
 * (E_LIMIT_PENDING) through scpp_delivery_reply_status(), unrecorded, so
 * that a retransmission may run later. Tickets are slot numbers, reused
 * after unpark or expiry; @p user is the caller's (an index into its own
 * table of suspended evaluations, say).
 *
 * Worker lcore (the owner), like admission.
 */

/**
 * Park the request scpp_delivery_admit() just admitted (SCPP_DELIVERY_EXECUTE,
 * no commit or status yet).
 *
 * @return its ticket (>= 0), or -ENOSPC (every slot is taken; the request
 *   is still pending: answer it with scpp_delivery_reply_status()).
 */
int32_t scpp_delivery_park(struct scpp_delivery *d, const struct scpp_delivery_req *req,
			   uint64_t user, uint64_t now);

/**
 * Resume parked request @p ticket: it becomes the pending request (the
 * caller evaluates it on and calls scpp_delivery_reply_commit() or
 * scpp_delivery_reply_status() before any other admission).
 *
 * @param req   receives the request as it was parked.
 * @param user  receives the word given to scpp_delivery_park() (may be NULL).
 * @return 0, or -ENOENT (no such ticket parked: expired, or never).
 */
int scpp_delivery_unpark(struct scpp_delivery *d, int32_t ticket, struct scpp_delivery_req *req,
			 uint64_t *user);

/**
 * One parked request whose time ran out, if any (a bounded scan per call):
 * it becomes the pending request, as by scpp_delivery_unpark(), and the
 * caller answers it (for a block whose outcome is unknown: a committed
 * reply that says so, so that a retransmission does not run it again).
 *
 * @return its ticket, or -ENOENT (none expired).
 */
int32_t scpp_delivery_park_expired(struct scpp_delivery *d, uint64_t now,
				   struct scpp_delivery_req *req, uint64_t *user);

/**
 * Room for the next reply message: the caller writes the reply here
 * (reply_max bytes, *@p cap) and then commits it. Valid until the next call
 * into the instance other than scpp_delivery_reply_commit() or
 * scpp_delivery_reply_status(). May reclaim the oldest held replies.
 */
uint8_t *scpp_delivery_reply_buf(struct scpp_delivery *d, uint32_t *cap, uint64_t now);

/**
 * The reply of an executed block, in the reply buffer (@p len bytes):
 * recorded in the client's window, held for retransmissions and FETCHes,
 * and queued for sending (within the amplification limit).
 */
void scpp_delivery_reply_commit(struct scpp_delivery *d, const struct scpp_delivery_req *req,
				uint32_t len, uint64_t now);

/**
 * A one-datagram reply whose frame the caller transmits itself (see
 * scpp_delivery_reply_commit_frame()): what scpp_delivery_tx_direct_done()
 * needs to count it, or to queue it if the tx queue did not take it.
 */
struct scpp_delivery_direct {
	struct scpp_net_peer to;
	uint64_t client_id;
	uint64_t block_id;
	uint64_t pos;       /**< the held reply's place in the cache, or
			     *   SCPP_DELIVERY_UNHELD (a read-only block's reply:
			     *   its bytes are only in the frame) */
	uint32_t len;       /**< its bytes (the datagram's payload) */
	uint16_t chunk;
	uint16_t dgram_len; /**< UDP payload bytes of the frame */
	uint8_t session;    /**< the request's session bits */
};

/** scpp_delivery_direct.pos of a reply that is not held. */
#define SCPP_DELIVERY_UNHELD UINT64_MAX

/**
 * scpp_delivery_reply_commit() for a caller that sends small replies from
 * a frame it has at hand (the request's, on a worker): the reply is
 * recorded and held the same way, and when it is one datagram that may go
 * to its sender (the amplification limit), its frame is built into
 * @p frame, which has @p room bytes, instead of queueing it. The caller
 * then transmits the frame and reports with scpp_delivery_tx_direct_done().
 * After scpp_delivery_admit_read(), such a one-datagram reply is neither
 * held nor recorded (*@p t says SCPP_DELIVERY_UNHELD).
 *
 * @return The frame's length (*@p t describes it), or 0: the response was
 *   queued (more than one datagram, not enough room, or a NOTICE COOKIE
 *   instead) as by scpp_delivery_reply_commit().
 */
uint16_t scpp_delivery_reply_commit_frame(struct scpp_delivery *d,
					  const struct scpp_delivery_req *req, uint32_t len,
					  uint64_t now, uint8_t *frame, uint32_t room,
					  struct scpp_delivery_direct *t);

/**
 * The frames of @p n direct replies (@p t, built into @p frames) were given
 * to the tx queue, which took the first @p sent: those are counted as sent,
 * the others are queued in the backlog like any reply (built again later),
 * or dropped as tx_aborted if the cache reclaimed their bytes meanwhile. An
 * unheld one (SCPP_DELIVERY_UNHELD) not taken is held now, its bytes copied
 * from its frame (reads_held), so it too waits in the backlog.
 */
void scpp_delivery_tx_direct_done(struct scpp_delivery *d, const struct scpp_delivery_direct *t,
				  const uint8_t *const *frames, uint16_t n, uint16_t sent,
				  uint64_t now);

/**
 * A reply that is not the result of executing the block (a decode error,
 * E_NOT_HERE), in the reply buffer: queued for sending (within the
 * amplification limit), not recorded and not held for retransmissions.
 */
void scpp_delivery_reply_status(struct scpp_delivery *d, const struct scpp_delivery_req *req,
				uint32_t len, uint64_t now);

/**
 * Rate limit of error replies: may an error reply to @p src_ip (network
 * order) be built now? Takes a token from the source's bucket and from the
 * instance's when it answers true. Counted either way.
 */
bool scpp_delivery_error_allowed(struct scpp_delivery *d, uint32_t src_ip, uint64_t now);

/**
 * Answer a FETCH (@p payload, @p len: its payload) on the owning worker:
 * the requested datagrams of the held reply, NOTICE REPLY_LOST when the
 * block ran but its reply is gone, NOTICE NO_REPLY when nothing is known,
 * NOTICE COOKIE when the datagrams exceed the amplification limit.
 *
 * @return 0, or -EINVAL (the payload does not decode; nothing sent).
 */
int scpp_delivery_fetch(struct scpp_delivery *d, const struct scpp_delivery_req *req,
			const uint8_t *payload, uint32_t len, uint64_t now);

/** Queue a NOTICE with @p code (not COOKIE) for @p req. */
void scpp_delivery_notice(struct scpp_delivery *d, const struct scpp_delivery_req *req,
			  uint8_t code, uint64_t now);

/**
 * Build up to @p n frames waiting for port @p port, into @p frames[i]
 * (each room for MTU + 14 bytes), their lengths in @p lens. Then call
 * scpp_delivery_tx_done() with how many the tx queue took, before any
 * other call for this port.
 *
 * @return Frames built (0 when nothing waits for this port).
 */
uint16_t scpp_delivery_tx_prepare(struct scpp_delivery *d, uint16_t port, uint8_t *const *frames,
				  uint16_t n, uint16_t *lens, uint64_t now);

/** The first @p sent frames of the last prepare were sent; the rest were not. */
void scpp_delivery_tx_done(struct scpp_delivery *d, uint16_t port, uint16_t sent);

/** Datagrams waiting to be sent on port @p port (any thread). */
uint32_t scpp_delivery_tx_pending(const struct scpp_delivery *d, uint16_t port);

/**
 * Housekeeping, a bounded amount per call: expire reassembly slots, held
 * replies and client windows whose time is up. Call every loop iteration
 * or so.
 */
void scpp_delivery_tick(struct scpp_delivery *d, uint64_t now);

/** Counters, read with relaxed loads: any thread. */
void scpp_delivery_stats_get(const struct scpp_delivery *d, struct scpp_delivery_stats *st);

/** Gauges, read with relaxed loads: any thread. */
void scpp_delivery_usage_get(const struct scpp_delivery *d, struct scpp_delivery_usage *u);

/**
 * The cookie a source would get now (for tests and tools that play the
 * client's part).
 */
void scpp_delivery_cookie(const struct scpp_delivery *d, const struct scpp_net_peer *peer,
			  uint64_t client_id, uint64_t now, uint8_t out[SCPP_WIRE_COOKIE_LEN]);

#endif /* SCPP_DELIVERY_H */
