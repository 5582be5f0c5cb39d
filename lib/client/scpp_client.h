/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SCPP_CLIENT_H
#define SCPP_CLIENT_H

/**
 * @file
 * The scpp client: sends command blocks to a node over an ordinary UDP
 * socket and collects the replies (docs/PROTOCOL.md §5–§6).
 *
 * Model. A client is one UDP socket *connected* to one server address (a
 * node's any-shard port 7300, or a shard's own port 7301+i), plus a random
 * 64-bit client id. Each call to scpp_client_exec() is one exchange:
 *
 * - the block gets the next block id (unique per client) and is encoded;
 *   a block larger than one datagram is cut into fragments (at most
 *   SCPP_WIRE_FRAGS_MAX, of at most @c max_dgram bytes each);
 * - every fragment is sent, then the client waits for REPLY datagrams that
 *   carry its client id and this block id. Reply datagrams are numbered;
 *   they are put back in order (out-of-order ones are held in a window of
 *   SCPP_CLIENT_WINDOW datagrams, duplicates are dropped) and their payloads
 *   appended to the reply message, whose records are decoded as soon as
 *   they are complete;
 * - when nothing useful arrives for the current try's timeout, the whole
 *   block is sent again with the **same** block id (the node answers a
 *   block it has executed from its held reply, so a retransmission never
 *   executes a block twice), or, when part of the reply has arrived, a
 *   FETCH asks for just the missing datagrams (PROTOCOL §16).
 *   The timeout of try k (k = 0 for the first send) is
 *   `min(timeout_ms * 2^k, backoff_max_ms)` plus a random jitter of up to
 *   @c jitter_pct percent of it, and the exchange gives up after
 *   `1 + retries` tries with -ETIMEDOUT;
 * - it is done when the datagram carrying LAST has been appended in order
 *   and the reply's END record decoded.
 *
 * Datagrams that do not belong to the exchange are **ignored and counted**,
 * never fatal: a header that does not decode, a BLOCK kind, another client
 * id or block id (e.g. a late reply to an earlier block), a sequence number
 * past the one marked LAST. A reply *message* whose records do not decode
 * is different: the node would send the same bytes again from its cache,
 * so the exchange fails with the reader's error (scpp_wire_reply_next()).
 *
 * Owners and steering (docs/CLUSTER.md §7). A node forwards a block whose
 * owner is another node to it, and the owner answers from its own address.
 * The client takes a reply from wherever it comes, as long as it carries
 * its client id and block id (random 64-bit numbers: a forger must guess
 * both), and remembers the address it came from for the block's owner
 * shard (the /64 of its owner OID, scpp_wire_block_owner()): later blocks
 * with an owner in that shard go straight there (@c steered). A steered
 * block that gets no answer in its first try is sent to the server again
 * (which forwards it; the owner's at-most-once key is this client's
 * address, port and ids, not the path); a learnt owner that stays silent,
 * refuses (ICMP) or answers E_NOT_HERE is forgotten. A FETCH goes to the
 * node the reply came from, and a block answered by a NOTICE COOKIE is
 * sent again, with the cookie, to the node that issued it.
 *
 * In a session (docs/SECURITY.md §9.5), an owner is learnt only from a
 * reply on a delegated lane (the owner answering a block the server
 * forwarded); the next block for its shard first opens a session with the
 * owner (same key and chains; the owner checks them against its roots,
 * @c owner_sessions) and goes there under it. An owner that refuses
 * (@c owner_refused) keeps being reached through the server. A block sent
 * under an owner session is not re-sent through the server (its client id,
 * the owner's at-most-once key, is that session's); a silent owner is
 * forgotten after the exchange, its session closed.
 *
 * The socket is bound once and not connected (one source port for every
 * node: the nodes key at-most-once by it). IP_RECVERR turns an ICMP port
 * unreachable into -ECONNREFUSED, as a connected socket would.
 *
 * Delivery notices are handled inside the exchange (PROTOCOL §16): a
 * NOTICE COOKIE makes the client send the block again with the cookie and
 * keep that cookie for every later request (so large replies flow without
 * a round trip); NOTICE BUSY waits the suggested time (within the try's
 * timeout) and counts as a try; REPLY_LOST, NO_REPLY and STALE end the
 * exchange with an error (below).
 *
 * Sessions (docs/SECURITY.md). After scpp_client_session_open() the
 * client is a session of its principal: the handshake (HELLO, CHALLENGE,
 * FINISH, ACCEPT) proves its key and presents its grant chains, the
 * session id becomes the client id, every datagram it sends (each
 * transmission: retransmissions, FETCHes and cookie rounds included) is
 * sealed with a fresh counter on its lane, and every datagram it accepts
 * must be a session datagram that verifies under the node's key (others
 * are dropped and counted: forged). scpp_client_free() sends a CLOSE.
 * Without a session, blocks are sent unauthenticated (a node with
 * auth.mode "required" refuses them with EACCES).
 *
 * Thread-safety: a client is single-threaded. Use one client per thread
 * (each with its own socket and client id); different clients share
 * nothing. An exchange blocks the calling thread while its reply streams
 * in, and gives up after the sum of its tries' timeouts of silence.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "scpp_auth.h"
#include "scpp_common.h"
#include "scpp_lang.h"
#include "scpp_wire.h"

/** Default server port: a node's any-shard port. Shard i listens on 7301+i. */
#define SCPP_CLIENT_PORT_DEFAULT 7300
/** Environment variable the CLI reads the server address from. */
#define SCPP_CLIENT_ENV_SERVER "SCPP_SERVER"
/** Server address used when neither a flag nor the environment names one. */
#define SCPP_CLIENT_SERVER_DEFAULT "127.0.0.1:7300"
/** Out-of-order reply datagrams held while waiting for a gap to fill. */
#define SCPP_CLIENT_WINDOW 1024
/** Owners (shard /64s) whose address a client remembers (least recently used goes). */
#define SCPP_CLIENT_STEER 16
/** Most blocks one scpp_client_exec_many() call keeps in flight. */
#define SCPP_CLIENT_BATCH_MAX 16
/** Longest formatted address, "[v6%scope]:port" included. */
#define SCPP_CLIENT_ADDR_STRLEN 80

/**
 * Client settings. Start from scpp_client_config_init(), which fills every
 * field with its default, then change what you need: scpp_client_create()
 * takes each field literally.
 */
struct scpp_client_config {
	/** Server: "host:port", "host", "[v6]:port", "[v6]" or a bare IPv6
	 *  address; the port defaults to SCPP_CLIENT_PORT_DEFAULT and host
	 *  names are resolved (the first address returned is used). Borrowed
	 *  during scpp_client_create() only. Default SCPP_CLIENT_SERVER_DEFAULT. */
	const char *server;
	/** Client id; 0 (default) draws a random non-zero one from getrandom(). */
	uint64_t client_id;
	/** First block id; 0 (default) draws a random one. Ids then increase by
	 *  one per exchange. A random start keeps a restarted process that
	 *  reuses a client id from being answered from the node's cache. */
	uint64_t first_block_id;
	/** Timeout of the first try, in milliseconds (1..60000; default 200). */
	unsigned int timeout_ms;
	/** Largest timeout of one try after doubling, in milliseconds
	 *  (>= timeout_ms, <= 600000; default 1000). */
	unsigned int backoff_max_ms;
	/** Random extra time per try, in percent of the try's timeout
	 *  (0..100; default 25; 0 makes the schedule exact). */
	unsigned int jitter_pct;
	/** Retransmissions after the first send (0..100; default 5). */
	unsigned int retries;
	/** Largest datagram sent, header included, in bytes
	 *  (SCPP_WIRE_HDR_LEN + 1 .. SCPP_WIRE_DGRAM_MAX; default
	 *  SCPP_WIRE_DGRAM_DEFAULT). A block over SCPP_WIRE_FRAGS_MAX such
	 *  datagrams cannot be sent. */
	unsigned int max_dgram;
	/** Largest reply message accepted, in bytes (>= 64; default 16 MiB). */
	size_t max_reply;
	/** Local UDP port to send from (0, default: one the kernel picks). */
	uint16_t local_port;
	/** Ask for copy results: scpp_client_exec_text() sets the block flag
	 *  SCPP_WIRE_BF_COPY_RESULTS, so the reply carries a COPY record per
	 *  copy command that copied (scpp_client_reply_copies()). Default off;
	 *  a node older than this flag refuses such blocks (E_BAD_FLAGS). */
	bool copy_results;
};

/** Counters of one client since it was created; never reset. */
struct scpp_client_stats {
	uint64_t exchanges;     /**< calls that sent a block */
	uint64_t tries;         /**< block transmissions, first sends included */
	uint64_t retransmits;   /**< transmissions after a timeout (tries - first sends) */
	uint64_t timeouts;      /**< exchanges that failed with -ETIMEDOUT */
	uint64_t wait_ms;       /**< sum of the timeouts scheduled for tries, jitter
				     included: the backoff, observable without a clock */
	uint64_t dgrams_sent;   /**< datagrams sent (fragments of every try) */
	uint64_t dgrams_recv;   /**< datagrams received, whatever they were */
	uint64_t reply_dgrams;  /**< reply datagrams appended to a reply message */
	uint64_t reordered;     /**< reply datagrams held until a gap filled */
	uint64_t duplicates;    /**< reply datagrams already received (dropped) */
	uint64_t out_of_window; /**< reply datagrams too far ahead to hold (dropped) */
	uint64_t strays;        /**< well-formed datagrams of another client or
				     block, or of kind BLOCK (dropped) */
	uint64_t malformed;     /**< datagrams whose header does not decode, or
				     that contradict the stream (past LAST) (dropped) */
	uint64_t notices;       /**< NOTICE datagrams received for our blocks */
	uint64_t cookie_rounds; /**< blocks (or FETCHes) sent again with a new cookie */
	uint64_t fetches;       /**< FETCH datagrams sent for missing reply datagrams */
	uint64_t busy;          /**< NOTICE BUSY waits */
	uint64_t forged;        /**< in a session: datagrams whose tag does not verify
				     (forged, replayed, another session) or that carry
				     none (dropped) */
	uint64_t handshakes;    /**< handshake messages sent (HELLO, FINISH), tries included */
	uint64_t steered;       /**< exchanges sent to a learnt owner, not the server */
	uint64_t owners_learned; /**< owners learnt from a reply that came from elsewhere */
	uint64_t owners_forgotten; /**< learnt owners dropped (silent, refused, moved) */
	uint64_t reopened;      /**< sessions opened again: the node answered that it had
				     none (restarted) */
	uint64_t owner_sessions; /**< sessions opened with owners, blocks then steered
				      there (docs/SECURITY.md §9.5) */
	uint64_t owner_refused; /**< owners that would not open one (their shard's
				     blocks keep going through the server) */
	uint64_t send_calls;    /**< system calls that sent datagrams (a block's
				     fragments go out in one sendmmsg()) */
	uint64_t recv_calls;    /**< recvmmsg() calls of exchanges (each takes up to
				     16 queued datagrams) */
	uint64_t batched;       /**< blocks sent before the reply of the one before
				     (scpp_client_exec_many()) */
	uint64_t stashed;       /**< reply datagrams of a later block of a batch kept
				     while an earlier one was awaited */
	uint64_t stash_dropped; /**< such datagrams over the stash's bounds (fetched
				     again in their block's turn) */
	uint64_t bytes_sent;    /**< UDP payload bytes of @c dgrams_sent */
	uint64_t bytes_recv;    /**< UDP payload bytes of @c dgrams_recv (as received;
				     truncated ones count what was read) */
};

/** What scpp_client_session_open() needs: the principal and its chains. */
struct scpp_client_auth {
	const struct scpp_auth_keypair *key; /**< the principal (copied) */
	/** Encoded chain files ("SN" ..., scpp grant issue); 0 chains: the
	 *  principal is a root of the node (an empty chain is presented). */
	const uint8_t *chain[SCPP_AUTH_CHAINS_MAX];
	size_t chain_len[SCPP_AUTH_CHAINS_MAX];
	unsigned int nchains;
	/** The node key expected (32 bytes), or NULL: any (read it back with
	 *  scpp_client_session_info() to pin it). */
	const uint8_t *node_key;
	/** Lane (the worker that verifies): -1 derives it from the server
	 *  port (7301 + i is lane i; 7300, the any-shard port, is lane 0). */
	int lane;
};

/** A session as the client sees it. */
struct scpp_client_session_info {
	uint64_t id;              /**< session id (= the client id) */
	uint64_t expires_ns;      /**< the node's expiry (ns since the Unix epoch) */
	uint16_t lanes;           /**< the node's lanes */
	uint16_t lane;            /**< the one this client uses */
	uint16_t alg;             /**< SCPP_AUTH_ALG_* */
	uint8_t node_key[SCPP_AUTH_KEY_LEN];
	uint8_t principal[SCPP_AUTH_KEY_LEN];
};

/** A reply, owned by the caller once scpp_client_exec() filled it. */
struct scpp_client_reply {
	uint8_t *msg;         /**< the REPLY message (COLUMNS .. END); malloc'd */
	size_t len;           /**< bytes of @c msg */
	uint64_t block_id;    /**< the block id it answers */
	uint32_t err;         /**< END: canonical errno, 0 = success */
	uint8_t outcome;      /**< END: enum scpp_wire_outcome */
	uint64_t rows;        /**< END: ROW records sent */
	uint64_t commands;    /**< END: commands executed */
	uint64_t elapsed_ns;  /**< END: evaluation time on the node */
	uint32_t dgrams;      /**< reply datagrams the message came in */
	unsigned int tries;   /**< transmissions of the block it took */
};

/** An opaque client. */
struct scpp_client;

/**
 * Called by scpp_client_exec_stream() for each reply record, in order, as
 * soon as it is complete. @p rec and what it points to are valid only
 * during the call.
 *
 * @return 0 to continue. Anything else aborts the exchange:
 *   scpp_client_exec_stream() returns a negative value as it is, and a
 *   positive one as -ECANCELED.
 */
typedef int (*scpp_client_record_fn)(const struct scpp_wire_record *rec, void *arg);

/* ---- addresses ---- */

/**
 * Parse and resolve a server address.
 *
 * Accepted forms: "host:port", "host" (port SCPP_CLIENT_PORT_DEFAULT),
 * "[v6]:port", "[v6]", and a bare IPv6 address such as "::1" (two colons
 * or more and no brackets: the port is the default). host is an IPv4
 * literal, an IPv6 literal in brackets, or a name resolved with
 * getaddrinfo() (may block on DNS).
 *
 * @param s
 *   The text; NUL-terminated.
 * @param ss
 *   Output address.
 * @param sslen
 *   Output length of @p ss.
 * @return
 *   0, -EINVAL (NULL argument, empty text or host, port not a decimal
 *   1..65535, unbalanced brackets, text after "]" other than ":port", or
 *   over 255 bytes), or -ENOENT (the host name does not resolve to an
 *   IPv4 or IPv6 address).
 *
 * Reentrant.
 */
int scpp_client_addr_parse(const char *s, struct sockaddr_storage *ss, socklen_t *sslen);

/**
 * Format an address as "a.b.c.d:port" or "[v6]:port".
 *
 * @param buf
 *   Output, NUL-terminated; SCPP_CLIENT_ADDR_STRLEN bytes always suffice.
 * @return
 *   0, -EINVAL (NULL argument or a family other than AF_INET/AF_INET6),
 *   or -ENOSPC (@p size too small; @p buf holds a truncated string).
 */
int scpp_client_addr_format(const struct sockaddr *sa, char *buf, size_t size);

/* ---- control ---- */

/** Fill @p cfg with the defaults documented in struct scpp_client_config. */
void scpp_client_config_init(struct scpp_client_config *cfg);

/**
 * Create a client: resolve the server, open and connect a UDP socket,
 * allocate the buffers.
 *
 * @param cfg
 *   Settings (see struct scpp_client_config); not kept.
 * @return
 *   The client, or NULL with errno set: EINVAL (NULL @p cfg, a field out
 *   of range, or an address scpp_client_addr_parse() rejects), ENOENT (the
 *   host does not resolve), ENOMEM, or the errno of socket() / connect() /
 *   getrandom().
 */
struct scpp_client *scpp_client_create(const struct scpp_client_config *cfg);

/** Close the socket and free the client. Accepts NULL. */
void scpp_client_free(struct scpp_client *c);

/** The client's id (as sent in every datagram). */
uint64_t scpp_client_id(const struct scpp_client *c);

/** The block id the next exchange will use. */
uint64_t scpp_client_next_block_id(const struct scpp_client *c);

/** The server address, formatted as by scpp_client_addr_format(); never NULL. */
const char *scpp_client_server(const struct scpp_client *c);

/** The client's socket (for poll()-based callers and tests). */
int scpp_client_fd(const struct scpp_client *c);

/**
 * Open a session with the node (docs/SECURITY.md §5): HELLO, CHALLENGE,
 * FINISH (in datagrams of at most max_dgram bytes), ACCEPT. Each step is
 * retried like a block (timeout, backoff, retries). Blocks of later
 * exchanges are sealed; a client that has a session keeps it. The key and
 * chains are kept (copied) so that, when the node answers a block with a
 * REJECT E_AUTH_NO_SESSION or E_AUTH_SESSION_EXPIRED (it restarted, or the
 * session ended there), the exchange opens a new session with them once,
 * pinned to the node key this handshake saw, and sends the block again
 * under it (stats.reopened); a second such answer in the same exchange
 * counts as silence. If the node refuses the new session, the exchange
 * fails with the REJECT's code (-SCPP_AUTH_E_REVOKED, ...), and the client
 * has no session any more.
 * @param rej
 *   Receives a REJECT's contents (code, errno, where) when the node
 *   refused (may be NULL).
 * @return
 *   0; -SCPP_AUTH_E_REJECTED (see @p rej: an expired or revoked grant, a
 *   chain the node's roots do not accept, too many sessions, ...);
 *   -SCPP_AUTH_E_NODE_KEY (the node is not the one expected); another
 *   error of scpp_auth_initiator_challenge() or _accept() (a forged or
 *   broken answer); -ETIMEDOUT; -EINVAL (bad @p a, a chain that does not
 *   decode, or a session already open); -ENOMEM; a socket errno.
 */
int scpp_client_session_open(struct scpp_client *c, const struct scpp_client_auth *a,
			     struct scpp_auth_reject *rej);

/** Where a node on this host keeps its key by default (node.state_dir). */
#define SCPP_CLIENT_NODE_KEY_DEFAULT "/var/lib/scpp/node.key"

/**
 * The key file a client program uses, in this order: @p named (its
 * option), $SCPP_KEY, ~/.config/scpp/key if it exists, the host's node key
 * if readable (SCPP_CLIENT_NODE_KEY_DEFAULT). @p buf (of @p size bytes)
 * holds the path when it is built here.
 * @param explicit_out
 *   Set to true when the path was named (@p named or $SCPP_KEY): a failure
 *   to load it is then an error, not a reason to go unauthenticated.
 * @return
 *   The path, or NULL: no key (unauthenticated).
 */
const char *scpp_client_key_path(const char *named, char *buf, size_t size, bool *explicit_out);

/**
 * Read a grant chain file (`scpp grant issue`) into a malloc'd buffer.
 * @return
 *   0 (*out, *len set; free *out); -errno of fopen(); -ENOMEM; -EFBIG: more
 *   than SCPP_AUTH_CHAIN_BYTES_MAX bytes.
 */
int scpp_client_chain_read(const char *path, uint8_t **out, size_t *len);

/** The session, if one is open: 0 and @p out filled, or -ENOTCONN. */
int scpp_client_session_info(const struct scpp_client *c, struct scpp_client_session_info *out);

/** Copy the client's counters into @p st. */
void scpp_client_stats_get(const struct scpp_client *c, struct scpp_client_stats *st);

/* ---- exchanges ---- */

/**
 * Send a block and wait for its complete reply.
 *
 * The block is encoded and sent under a fresh block id, and retransmitted
 * under the same id on each timeout, as described in the file comment.
 * The block is not modified and may be freed when this returns.
 *
 * @param c
 *   The client.
 * @param b
 *   A block accepted by the wire builder or decoder.
 * @param out
 *   Filled on success (the caller frees it with scpp_client_reply_free());
 *   zeroed on failure. May not be NULL.
 * @return
 *   - 0: @p out holds the reply. The block's own outcome (OK, ERRORS,
 *     ABORTED) is in @p out->outcome and @p out->err; it is not an error
 *     of this call;
 *   - -ETIMEDOUT: no complete reply after 1 + retries tries;
 *   - -ECONNREFUSED: an ICMP port unreachable came back (nothing listens
 *     at the server address);
 *   - -EMSGSIZE: the block encodes to more than SCPP_WIRE_FRAGS_MAX
 *     datagrams of max_dgram bytes (counting room for a 16-byte cookie in
 *     each);
 *   - -SCPP_E_REPLY_LOST: the node executed the block but no longer holds
 *     its reply (NOTICE REPLY_LOST or NO_REPLY): it ran, with an outcome
 *     this client will not learn;
 *   - -SCPP_E_STALE_BLOCK: the block id is below the node's replay window
 *     for this client: not executed now (it may have been before);
 *   - -EBUSY: every try met NOTICE BUSY (the node had no room for this
 *     client's state);
 *   - -EPROTO: more than 4 cookie rounds in one try;
 *   - -EFBIG: the reply message exceeds max_reply bytes;
 *   - a reply reader error (scpp_wire_reply_next(): -SCPP_E_BAD_RECORD,
 *     -SCPP_E_TOO_MANY, -SCPP_E_BAD_VARINT, -SCPP_E_BAD_VALUE_TYPE,
 *     -SCPP_E_BAD_UTF8, -SCPP_E_BAD_LENGTH, -SCPP_E_TRAILING, -EINVAL),
 *     or -SCPP_E_TRUNCATED when the datagram marked LAST ends the stream
 *     before its END record: the node's reply is malformed;
 *   - -EINVAL: NULL argument, or a block the encoder cannot write;
 *   - -ENOMEM;
 *   - another negative errno from sendmsg()/recv()/poll(), e.g.
 *     -ENETUNREACH or -EHOSTUNREACH.
 *
 * Blocks the calling thread while the reply streams in, and for at most
 * the sum of all tries' timeouts of silence.
 */
int scpp_client_exec(struct scpp_client *c, const struct scpp_wire_block *b,
		     struct scpp_client_reply *out);

/**
 * As scpp_client_exec(), and call @p fn for each reply record as soon as
 * it is complete (results streaming: the first rows of a large reply are
 * seen before the last datagram arrives). Records are delivered once each
 * and in order, retransmissions included.
 *
 * @param fn
 *   Record callback; may be NULL (then this is scpp_client_exec()).
 * @param arg
 *   Passed to @p fn.
 * @param out
 *   As for scpp_client_exec(); may be NULL when the caller needs only
 *   the callbacks (the message is then not kept).
 * @return
 *   As scpp_client_exec(), or what @p fn returned to abort (negative as
 *   is, positive as -ECANCELED).
 */
int scpp_client_exec_stream(struct scpp_client *c, const struct scpp_wire_block *b,
			    scpp_client_record_fn fn, void *arg, struct scpp_client_reply *out);

/**
 * Execute @p n independent blocks with all of them in flight at once: every
 * block is sent (under consecutive block ids) before any reply is awaited,
 * then the replies are collected in order; reply datagrams of a later block
 * that arrive while an earlier one is awaited are kept for it (bounded;
 * past the bound they are fetched again). Each block is its own exchange,
 * with its own tries, FETCHes and cookie rounds, as in scpp_client_exec().
 *
 * Order: the node receives the blocks in the order sent and, as they come
 * from one socket to one owner, runs them in that order -- unless a
 * datagram is lost, when a retransmitted block runs after the ones sent
 * after it. A caller that needs an order between the blocks must not batch
 * them. Blocks whose owner session or learnt owner differs from the first
 * block's are not sent ahead but at their turn.
 *
 * @param b
 *   The blocks (1 .. SCPP_CLIENT_BATCH_MAX), not modified.
 * @param out
 *   @p n replies, each filled as by scpp_client_exec() on success (free
 *   each with scpp_client_reply_free()); all zeroed on failure.
 * @return
 *   0: every block's reply is in @p out (each block's own outcome is in
 *   its reply). Else the first exchange error (as scpp_client_exec()), and
 *   blocks after that one may have run or not; -ENOTCONN when the owner
 *   session the batch was sent under ended during it; -EINVAL for a bad
 *   argument.
 */
int scpp_client_exec_many(struct scpp_client *c, const struct scpp_wire_block *const *b,
			  unsigned int n, struct scpp_client_reply *out);

/**
 * Parse a block in text form (lib/lang) and execute it.
 *
 * @param text
 *   The block text; need not be NUL-terminated.
 * @param len
 *   Bytes of @p text.
 * @param out
 *   As for scpp_client_exec().
 * @param perr
 *   If not NULL: on a parse error, filled by scpp_lang_parse() (code,
 *   line, column, "line:col: ..." message); otherwise left with code 0.
 *   A non-zero @p perr->code therefore tells a parse error from an
 *   exchange error.
 * @return
 *   A parse error of scpp_lang_parse() (-SCPP_E_SYNTAX, -SCPP_E_BAD_TERM,
 *   -SCPP_E_NESTING, -SCPP_E_BAD_UTF8, -SCPP_E_TOO_MANY, -ERANGE,
 *   -ENAMETOOLONG, -EEXIST), -ENOMEM, or whatever scpp_client_exec()
 *   returns.
 */
int scpp_client_exec_text(struct scpp_client *c, const char *text, size_t len,
			  struct scpp_client_reply *out, struct scpp_lang_error *perr);

/**
 * The COPY records of a reply (docs/PROTOCOL.md §10), in order: the first
 * @p max into @p out (engine names point into r->msg).
 *
 * @return the number of COPY records in the reply (may exceed @p max), or
 *   a reply reader error (scpp_wire_reply_next()) for a malformed reply.
 */
int scpp_client_reply_copies(const struct scpp_client_reply *r, struct scpp_wire_copy_result *out,
			     unsigned int max);

/** Free a reply's message and zero it. Accepts NULL and a zeroed reply. */
void scpp_client_reply_free(struct scpp_client_reply *r);

#endif /* SCPP_CLIENT_H */
