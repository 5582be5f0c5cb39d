/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SCPP_CLUSTER_H
#define SCPP_CLUSTER_H

/**
 * @file
 * The cluster map: which nodes form the cluster, where they are, and which
 * OID prefixes each owns. docs/CLUSTER.md is the specification; this header
 * is its C contract.
 *
 * Model. A *node* is an appliance: id (the OID node field), name, IPv4
 * address, UDP base port, its store shards, its MAC when known, and a
 * *state* (this node, up, static, unreachable). A *route* maps an OID prefix
 * to (node, shard): every shard s of node n in locale l owns
 * `@l.n.s.0.0/64`, and a node may claim further prefixes. Ownership is a
 * partition: no prefix of one node overlaps (contains or lies inside) a
 * prefix of another, so each OID has at most one owner node, and longest
 * prefix match only chooses between shards of that owner.
 *
 * Sources. The same node object (struct scpp_config_cluster_node, parsed by
 * lib/config) comes from two places:
 * - the static `cluster` section of the configuration
 *   (scpp_cluster_map_from_config(); all or nothing, like the rest of it);
 * - etcd, where every node registers its record under a lease and keeps it
 *   alive (scpp_cluster_agent_start(): a thread of its own polls the key
 *   prefix and builds maps; scpp_cluster_map_build() applies the same rules
 *   to the records it read, refusing a bad record alone, with a message
 *   that names it and the record it collides with).
 *
 * A map is an immutable value once built: any thread may read it while it
 * lives, and the daemon publishes it to workers with RCU. Nothing in this
 * module runs on a worker lcore except the read-only lookups documented as
 * such (scpp_cluster_map_find()).
 */

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "scpp_config.h"
#include "scpp_oid.h"

/** Nodes in one map (live and unreachable). */
#define SCPP_CLUSTER_MAX_NODES SCPP_CONFIG_MAX_NODES
/** Routes of one node: its shards plus its explicit routes. */
#define SCPP_CLUSTER_NODE_MAX_ROUTES (SCPP_CONFIG_NODE_SHARDS + SCPP_CONFIG_NODE_ROUTES)
/** Routes of one map. */
#define SCPP_CLUSTER_MAX_ROUTES (SCPP_CLUSTER_MAX_NODES * SCPP_CLUSTER_NODE_MAX_ROUTES)
/** Size of one message (a refused record, an etcd error). */
#define SCPP_CLUSTER_MSG_SIZE 512
/** Messages a report keeps (the count goes on past them). */
#define SCPP_CLUSTER_REPORT_MSGS 8
/** Size of a node's provenance text. */
#define SCPP_CLUSTER_ORIGIN_SIZE 288
/** An unreachable node stays in the map this long, unless superseded. */
#define SCPP_CLUSTER_TOMBSTONE_NS (UINT64_C(600) * 1000000000)
/** Largest etcd response the agent accepts, bytes. */
#define SCPP_CLUSTER_RESPONSE_MAX (8u << 20)

/** What a node's entry in the map says about it. */
enum scpp_cluster_state {
	SCPP_CLUSTER_SELF,        /**< the node holding the map */
	SCPP_CLUSTER_UP,          /**< registered in etcd, lease alive when last read */
	SCPP_CLUSTER_STATIC,      /**< from the configuration: liveness not tracked */
	SCPP_CLUSTER_UNREACHABLE, /**< was registered; its record is gone (lease lapsed) */
	SCPP_CLUSTER_STATE_COUNT
};

/** One node of a map. */
struct scpp_cluster_node {
	struct scpp_config_cluster_node rec; /**< the node as configured or registered */
	enum scpp_cluster_state state;       /**< see enum scpp_cluster_state */
	uint16_t slot;                       /**< dense index 0..SCPP_CLUSTER_MAX_NODES-1, kept
					      *   while the node stays in successive maps
					      *   (per-peer counters) */
	uint64_t create_revision;            /**< etcd: the record's create revision; else 0 */
	uint64_t mod_revision;               /**< etcd: its mod revision; else 0 */
	uint64_t lease;                      /**< etcd: its lease id (0: none); else 0 */
	uint64_t since_ns;                   /**< CLOCK_MONOTONIC ns it entered @c state */
	char origin[SCPP_CLUSTER_ORIGIN_SIZE]; /**< where it came from: "scppd.json: $.cluster.nodes[1]",
						*   "etcd /scpp/x/v1/node/2", "this node" */
};

/** A route of a map: OIDs under @c prefix live on @c shard of @c node. */
struct scpp_cluster_route {
	struct scpp_oid_prefix prefix; /**< canonical */
	uint32_t node;                 /**< owning node id */
	uint16_t shard;                /**< owning shard of that node */
};

/**
 * A cluster map. Immutable once built (the fields are for reading); free
 * with scpp_cluster_map_free().
 */
struct scpp_cluster_map {
	enum scpp_config_cluster_source source; /**< where it came from */
	uint32_t self;           /**< id of the node holding the map */
	uint64_t revision;       /**< etcd revision it was read at; 0 for static */
	uint64_t built_ns;       /**< CLOCK_MONOTONIC ns of the build */
	unsigned int nb_nodes;   /**< entries of @c nodes */
	unsigned int nb_routes;  /**< entries of @c routes */
	struct scpp_cluster_node *nodes;   /**< sorted by id */
	struct scpp_cluster_route *routes; /**< every node's, sorted by prefix bits then length */
};

/** Records refused while building a map: a count and the first messages. */
struct scpp_cluster_report {
	unsigned int rejected;  /**< records refused */
	unsigned int nb_msgs;   /**< messages kept, <= SCPP_CLUSTER_REPORT_MSGS */
	char msgs[SCPP_CLUSTER_REPORT_MSGS][SCPP_CLUSTER_MSG_SIZE]; /**< one per refused record */
};

/** A candidate node for scpp_cluster_map_build(), as read from etcd. */
struct scpp_cluster_record {
	struct scpp_config_cluster_node rec; /**< the decoded value */
	uint64_t create_revision;            /**< etcd create revision (older wins a conflict) */
	uint64_t mod_revision;               /**< etcd mod revision */
	uint64_t lease;                      /**< etcd lease id, 0 if none */
	char origin[SCPP_CLUSTER_ORIGIN_SIZE]; /**< names it in messages: "etcd <key>" */
};

/** What changed between two maps (scpp_cluster_map_diff()). */
struct scpp_cluster_diff {
	unsigned int joined;         /**< nodes new in the second map */
	unsigned int returned;       /**< unreachable in the first, up in the second */
	unsigned int lost;           /**< up or static in the first, unreachable in the second */
	unsigned int removed;        /**< in the first only */
	unsigned int changed;        /**< same id, same state, another record */
	unsigned int routes_added;   /**< routes (prefix, node, shard) only in the second */
	unsigned int routes_removed; /**< routes only in the first */
};

/** Kinds of node change reported to a diff callback. */
enum scpp_cluster_change {
	SCPP_CLUSTER_JOINED, SCPP_CLUSTER_RETURNED, SCPP_CLUSTER_LOST, SCPP_CLUSTER_REMOVED,
	SCPP_CLUSTER_CHANGED,
};

/**
 * Callback of scpp_cluster_map_diff() for each node that changed; @p before
 * is NULL for JOINED, @p after NULL for REMOVED.
 */
typedef void (*scpp_cluster_diff_fn)(enum scpp_cluster_change kind,
				     const struct scpp_cluster_node *before,
				     const struct scpp_cluster_node *after, void *arg);

/* ---- maps ---------------------------------------------------------------- */

/**
 * The record this node stands for: its entry in $.cluster.nodes if there is
 * one, else one made from $.node, $.ports[$.cluster.port], $.udp and
 * $.workers. @p mac, when not NULL, is the cluster port's MAC (known once
 * the port is up) and replaces the configured one.
 *
 * Cannot fail for a configuration scpp_config_load_*() accepted.
 */
void scpp_cluster_self_record(const struct scpp_config *cfg, const uint8_t *mac,
			      struct scpp_config_cluster_node *out);

/**
 * The static map of a configuration: $.cluster.nodes (this node alone when
 * empty) and the legacy $.routes, each of those a peer known only by
 * address. With "source": "etcd" it is the map a node starts from: itself
 * alone.
 *
 * @param name
 *   Names the configuration in messages (its file name); NULL: "<config>".
 * @param mac
 *   As in scpp_cluster_self_record(); may be NULL.
 * @param err
 *   On failure, the message ("scppd.json: $.cluster.nodes[2].name: expected
 *   a name no other node has, ..."); may be NULL.
 * @return 0 and *@p out, or -EINVAL (a rule of docs/CLUSTER.md broken:
 *   duplicate id, name or address, a prefix owned twice; or a NULL
 *   argument), -ENOMEM.
 *
 * Control path; allocates.
 */
int scpp_cluster_map_from_config(const struct scpp_config *cfg, const char *name,
				 const uint8_t *mac, struct scpp_cluster_map **out, char *err,
				 size_t errsize);

/**
 * Build a map from etcd records. This node (@p self) is always in it (when
 * @p self is NULL the map is a view from outside the cluster, as
 * `scpp cluster --etcd` shows it: self 0, no SELF entry); the
 * records are taken oldest first (create revision, then id), and one that
 * breaks a rule against those taken before it is refused alone (counted and
 * described in @p rep). Nodes of @p prev whose records are gone stay as
 * UNREACHABLE (for SCPP_CLUSTER_TOMBSTONE_NS, or until a live node claims
 * their id, name, address or prefixes); slots of nodes present in @p prev
 * are kept.
 *
 * @param prev
 *   The previous map built this way, or NULL.
 * @param recs
 *   @p n records; a record for @p self's id is ignored (this node's own
 *   entry is @p self).
 * @param n
 *   0..SCPP_CLUSTER_MAX_NODES.
 * @param now_ns
 *   CLOCK_MONOTONIC ns (tests pass any clock).
 * @param rep
 *   Filled with the refused records; may be NULL.
 * @return 0 and *@p out; -EINVAL (NULL @p out or @p recs, @p n too large); -ENOMEM.
 *
 * Control path (any thread); allocates.
 */
int scpp_cluster_map_build(const struct scpp_cluster_map *prev,
			   const struct scpp_config_cluster_node *self,
			   const struct scpp_cluster_record *recs, unsigned int n,
			   uint64_t revision, uint64_t now_ns, struct scpp_cluster_map **out,
			   struct scpp_cluster_report *rep);

/** A deep copy of @p m, or NULL when out of memory. */
struct scpp_cluster_map *scpp_cluster_map_clone(const struct scpp_cluster_map *m);

/** Free a map; NULL is allowed. */
void scpp_cluster_map_free(struct scpp_cluster_map *m);

/**
 * The node @p id of @p m, or NULL.
 *
 * Any thread, lock-free, no allocation (a binary search): safe on a worker
 * lcore for a map published with RCU.
 */
const struct scpp_cluster_node *scpp_cluster_map_find(const struct scpp_cluster_map *m,
						      uint32_t id);

/**
 * Compare two maps. @p fn (may be NULL) is called for each node that
 * changed, in id order.
 *
 * @return 0, or -EINVAL if an argument other than @p fn / @p arg is NULL.
 */
int scpp_cluster_map_diff(const struct scpp_cluster_map *a, const struct scpp_cluster_map *b,
			  struct scpp_cluster_diff *d, scpp_cluster_diff_fn fn, void *arg);

/** Name of a state: "self", "up", "static", "unreachable"; "?" when out of range. */
const char *scpp_cluster_state_name(enum scpp_cluster_state s);

/**
 * Print @p m as a table (one line per node: id, name, state, address,
 * locale, shards, MAC, prefixes) or, with @p json, as one JSON document
 * (docs/CLUSTER.md, "scpp cluster"). @p header, when not NULL, is printed
 * first as a line of the table or as the document's "source" string.
 *
 * @return 0, or -EIO when writing failed, -EINVAL for NULL arguments.
 */
int scpp_cluster_map_print(FILE *f, const struct scpp_cluster_map *m, bool json,
			   const char *header);

/* ---- the etcd record codec ------------------------------------------------ */

/**
 * The key of node @p id's record: `<prefix>v1/node/<id>` (id in decimal).
 *
 * @return its length, or -ENOSPC if it does not fit @p size.
 */
int scpp_cluster_etcd_key(const char *prefix, uint32_t id, char *buf, size_t size);

/**
 * Encode a record in its canonical form: compact JSON, keys in the order of
 * docs/CLUSTER.md, every key present. scpp_config_cluster_node_parse() reads
 * it back to an identical struct.
 *
 * @return its length, or -ENOSPC if it does not fit @p size (4096 always
 *   suffices), -EINVAL for NULL arguments.
 */
int scpp_cluster_record_encode(const struct scpp_config_cluster_node *n, char *buf, size_t size);

/**
 * Standard base64 (RFC 4648 §4, padded), as the etcd JSON gateway writes
 * keys and values.
 *
 * @return the encoded length (NUL-terminated), or -ENOSPC.
 */
int scpp_cluster_b64_encode(const void *src, size_t n, char *dst, size_t size);

/**
 * Decode standard padded base64; anything else (whitespace, URL alphabet,
 * missing or misplaced padding, non-zero pad bits) is refused.
 *
 * @return the decoded length, -EINVAL for bad input, -ENOSPC if @p size is short.
 */
int scpp_cluster_b64_decode(const char *src, size_t n, uint8_t *dst, size_t size);

/** A decoded range response of the node records (scpp_cluster_etcd_decode_range()). */
struct scpp_cluster_range {
	uint64_t revision;   /**< header.revision: the store revision of the read */
	uint64_t cluster_id; /**< header.cluster_id */
	unsigned int nb;     /**< records accepted by the codec */
	struct scpp_cluster_record recs[SCPP_CLUSTER_MAX_NODES]; /**< in key order */
	struct scpp_cluster_report rep; /**< keys and values refused */
};

/**
 * Decode the JSON gateway's answer to a range request over the node keys of
 * @p prefix. A value that is not a valid record, or whose key does not name
 * its id, is refused alone (in @p out->rep); a response that is not a range
 * answer at all fails whole.
 *
 * @param err
 *   When the whole response fails, what is wrong and where ("$.kvs[2].key:
 *   expected base64, ..."); may be NULL.
 * @return 0; -EBADMSG (not a range answer, or more records than
 *   SCPP_CLUSTER_MAX_NODES); -EREMOTEIO (etcd answered an error: @p err holds
 *   its message); -EINVAL (NULL arguments); -ENOMEM.
 */
int scpp_cluster_etcd_decode_range(const char *json, size_t len, const char *prefix,
				   struct scpp_cluster_range *out, char *err, size_t errsize);

/**
 * Read the node records under @p prefix from etcd once (one range request
 * over HTTP, bounded by @p timeout_ms), for a view from outside the
 * cluster (`scpp cluster --etcd`). Not for the daemon: its agent thread
 * does this on its own schedule.
 *
 * @param endpoint
 *   "http://host:port".
 * @param out
 *   The decoded records (heap it: it is large).
 * @param err
 *   What failed; may be NULL.
 * @return 0; -ECONNREFUSED, -ETIMEDOUT, -EHOSTUNREACH (no answer); the
 *   codes of scpp_cluster_etcd_decode_range(); -ENOMEM.
 */
int scpp_cluster_etcd_read(const char *endpoint, const char *prefix, uint32_t timeout_ms,
			   struct scpp_cluster_range *out, char *err, size_t errsize);

/* ---- the etcd agent --------------------------------------------------------- */

/**
 * The HTTP transport the agent uses: POST @p body to @p url and return the
 * response body (malloc'd, NUL-terminated; the caller frees it) and status.
 * The default is libcurl; tests put a fake in its place.
 *
 * @return 0, -ETIMEDOUT, -ECONNREFUSED / -EHOSTUNREACH (no answer), -EFBIG
 *   (response above SCPP_CLUSTER_RESPONSE_MAX), -EIO (anything else; @p err
 *   says what).
 */
typedef int (*scpp_cluster_post_fn)(void *ctx, const char *url, const char *body, size_t len,
				    uint32_t timeout_ms, char **resp, size_t *resp_len,
				    long *status, char *err, size_t errsize);

/** What the agent is doing. */
enum scpp_cluster_etcd_state {
	SCPP_CLUSTER_ETCD_CONNECTING,  /**< not registered yet, or registering again */
	SCPP_CLUSTER_ETCD_REGISTERED,  /**< registered, keepalives and reads succeed */
	SCPP_CLUSTER_ETCD_UNREACHABLE, /**< requests fail: the last good map stays */
	SCPP_CLUSTER_ETCD_CONFLICT,    /**< another node holds this node's id */
	SCPP_CLUSTER_ETCD_STOPPED,     /**< the thread has ended */
};

/** Counters of the agent (monotonic). */
struct scpp_cluster_agent_counters {
	uint64_t requests;           /**< HTTP requests sent */
	uint64_t failures;           /**< ... that got no usable answer */
	uint64_t timeouts;           /**< ... of which timed out */
	uint64_t polls;              /**< successful reads of the node records */
	uint64_t polls_unchanged;    /**< ... at the revision of the previous one */
	uint64_t maps_built;         /**< maps handed to the daemon */
	uint64_t keepalives;         /**< successful lease keepalives */
	uint64_t keepalive_failures; /**< keepalives without an answer */
	uint64_t registrations;      /**< records written (start, and after a lease loss) */
	uint64_t takeovers;          /**< ... replacing this node's record under an earlier lease */
	uint64_t lease_lost;         /**< the lease was found expired or presumed so */
	uint64_t conflicts;          /**< registrations refused: the id is another node's */
	uint64_t bad_responses;      /**< answers that did not decode */
	uint64_t records_rejected;   /**< records refused, summed over reads */
};

/** A copy of the agent's state (scpp_cluster_agent_status()). */
struct scpp_cluster_agent_status {
	enum scpp_cluster_etcd_state state;
	bool registered;             /**< this node's record is in etcd under @c lease */
	bool stale;                  /**< no successful read for a lease TTL: the map may be old */
	uint64_t lease;              /**< the lease id, 0 when none */
	uint32_t ttl_s;              /**< the lease TTL */
	uint64_t revision;           /**< revision of the last successful read */
	uint64_t cluster_id;         /**< etcd cluster id of that read */
	uint64_t last_read_ns;       /**< CLOCK_MONOTONIC ns of it (0: none yet) */
	uint64_t last_keepalive_ns;  /**< ... of the last successful keepalive */
	uint64_t last_map_ns;        /**< ... of the last map handed over */
	char endpoint[SCPP_CONFIG_PATH_SIZE];    /**< endpoint in use */
	char last_error[SCPP_CLUSTER_MSG_SIZE];  /**< the latest failure, "" if none */
	char conflict[SCPP_CLUSTER_MSG_SIZE];    /**< why registration is refused, "" if it is not */
	struct scpp_cluster_report rejected;     /**< refused records of the last read */
	struct scpp_cluster_agent_counters c;
};

/** Configuration of an agent. */
struct scpp_cluster_agent_conf {
	const struct scpp_config_cluster_etcd *etcd; /**< endpoints, prefix, timings (copied) */
	struct scpp_config_cluster_node self;        /**< the record this node registers */
	scpp_cluster_post_fn post;                   /**< NULL: libcurl */
	void *post_ctx;                              /**< its context */
	/** NULL, or called on the agent's thread after each map it hands over,
	 *  outside its lock (to wake the taker). */
	void (*wake)(void *ctx);
	void *wake_ctx;                              /**< its context */
};

/** An etcd agent (opaque): one thread that registers, keeps alive and reads. */
struct scpp_cluster_agent;

/**
 * Start the agent thread. It grants a lease of lease_ttl_s, writes this
 * node's record under it (only if the key is free, or holds this node's own
 * record of an earlier start), renews the lease every third of its TTL,
 * reads the node records every poll_ms, and hands each map that differs from
 * the previous read to the caller (scpp_cluster_agent_take()). Every request
 * is bounded by timeout_ms; failures are counted and retried, and never
 * block the caller.
 *
 * The thread inherits the caller's CPU affinity: start it from the control
 * thread (the EAL main lcore), never from a worker.
 *
 * @return the agent, or NULL with errno set (EINVAL, ENOMEM, or the error of
 *   pthread_create / curl initialisation).
 */
struct scpp_cluster_agent *scpp_cluster_agent_start(const struct scpp_cluster_agent_conf *conf);

/**
 * Take the newest map the agent built since the last call (ownership passes
 * to the caller), or NULL if there is none. Never blocks beyond a mutex the
 * agent holds for microseconds.
 */
struct scpp_cluster_map *scpp_cluster_agent_take(struct scpp_cluster_agent *a);

/**
 * Wait up to @p timeout_ms for the first map, or for a conflict or a
 * registration to be settled, whichever comes first.
 *
 * @return 0 when a map is ready (take it), -EADDRINUSE on a conflict (see
 *   the status), -ETIMEDOUT.
 */
int scpp_cluster_agent_wait_first(struct scpp_cluster_agent *a, uint32_t timeout_ms);

/** Copy the agent's state; any thread. */
void scpp_cluster_agent_status(struct scpp_cluster_agent *a, struct scpp_cluster_agent_status *st);

/**
 * Stop the thread (within about two timeout_ms) and free the agent. With
 * @p revoke, this node's lease is revoked first, so the other nodes see it
 * leave at their next read instead of a TTL later. NULL is allowed.
 */
void scpp_cluster_agent_stop(struct scpp_cluster_agent *a, bool revoke);

/** Name of an agent state: "connecting", "registered", ...; "?" when out of range. */
const char *scpp_cluster_etcd_state_name(enum scpp_cluster_etcd_state s);

/** CLOCK_MONOTONIC in ns (the clock of every *_ns field here). */
uint64_t scpp_cluster_now_ns(void);

#endif /* SCPP_CLUSTER_H */
