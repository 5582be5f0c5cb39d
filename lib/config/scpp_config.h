/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SCPP_CONFIG_H
#define SCPP_CONFIG_H

/**
 * @file
 * The daemon's JSON configuration: parse, validate, explain errors, print.
 *
 * Model. One JSON object with one member per section (node, eal, ports, udp,
 * workers, store, eval, delivery, routes, cluster, schema, auth, log,
 * telemetry, idle; docs/CONFIG.md describes every key). Every key is optional: a missing key
 * takes its default, so `{}` is the built-in default configuration
 * (SCPP_CONFIG_DEFAULT_JSON spells it out). Inside list items (a port, a
 * worker, a route) the identifying keys are required.
 *
 * The result is a plain C struct: no cJSON objects survive parsing, and the
 * only heap memory is the route list and the cluster's node list
 * (scpp_config_free()).
 *
 * The cluster section's node object is also the format of the records nodes
 * publish in etcd (docs/CLUSTER.md): scpp_config_cluster_node_parse() parses
 * one such record with the same key table and the same checks, so the two
 * sources of the cluster map share one parser and one set of messages.
 * Checks that involve several nodes (duplicate ids, overlapping prefixes)
 * belong to the cluster map (lib/cluster), which applies them to both.
 *
 * Validation is strict and explains itself. Every error message names the
 * file, the JSON path, what was expected and what was found:
 *
 * @verbatim
 * scppd.json: $.ports[0].ipv4: expected an IPv4 address with prefix length like "198.18.0.2/24", found "198.18.0.300/24"
 * scppd.json: $.ports[0].mtux: unknown key (did you mean "mtu"?)
 * scppd.json:7:3: JSON syntax error: unexpected '}'
 * @endverbatim
 *
 * Unknown and duplicate keys are rejected at every level. Loading is
 * all-or-nothing: the output struct is written only when the whole file is
 * valid.
 *
 * Everything here is control path (the daemon's start and --check-config),
 * allocates, and is thread-safe as long as threads use different structs.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "scpp_oid.h"

#define SCPP_CONFIG_MAX_PORTS 8          /**< entries of $.ports */
#define SCPP_CONFIG_MAX_WORKERS 64       /**< entries of $.workers */
#define SCPP_CONFIG_MAX_ROUTES 4096      /**< entries of $.routes */
#define SCPP_CONFIG_MAX_EAL_ARGS 32      /**< entries of $.eal.args */
#define SCPP_CONFIG_MAX_SCHEMA_FILES 16  /**< entries of $.schema.files */
#define SCPP_CONFIG_MAX_LOG_TYPES 32     /**< members of $.log.types */
#define SCPP_CONFIG_MAX_LCORE 128        /**< lcore ids are below this (RTE_MAX_LCORE) */
#define SCPP_CONFIG_NAME_SIZE 64         /**< names: up to 63 characters + NUL */
#define SCPP_CONFIG_PATH_SIZE 256        /**< paths, devargs, EAL args: 255 + NUL */
#define SCPP_CONFIG_MSG_SIZE 512         /**< error message buffer */
#define SCPP_CONFIG_MAX_NODES 256        /**< entries of $.cluster.nodes; nodes of a cluster map */
#define SCPP_CONFIG_NODE_SHARDS 64       /**< shards of one cluster node (= SCPP_CONFIG_MAX_WORKERS) */
#define SCPP_CONFIG_NODE_ROUTES 16       /**< explicit routes of one cluster node */
#define SCPP_CONFIG_MAX_ETCD_ENDPOINTS 4 /**< entries of $.cluster.etcd.endpoints */
#define SCPP_CONFIG_ETCD_PREFIX_SIZE 128 /**< etcd key prefix: up to 127 characters + NUL */
#define SCPP_CONFIG_RECORD_MAX 16384     /**< bytes of one node record (scpp_config_cluster_node_parse()) */

/** Whether EAL backs its memory with hugepages ($.eal.hugepages). */
enum scpp_config_hugepages {
	SCPP_CONFIG_HUGEPAGES_AUTO, /**< "auto": use them if enough are free */
	SCPP_CONFIG_HUGEPAGES_ON,   /**< "on": required; start fails without */
	SCPP_CONFIG_HUGEPAGES_OFF,  /**< "off": --no-huge (ordinary pages) */
};

/** How clients authenticate ($.auth.mode). */
enum scpp_config_auth_mode {
	SCPP_CONFIG_AUTH_REQUIRED, /**< "required": only session datagrams are served */
	SCPP_CONFIG_AUTH_OPTIONAL, /**< "optional": sessions are checked; unauthenticated
				    *   blocks run unchecked under the 3x limit */
	SCPP_CONFIG_AUTH_OFF,      /**< "off": no sessions; every block runs unchecked */
};

/** Most roots of trust in $.auth.roots (SCPP_AUTH_ROOTS_MAX, the node's own key aside). */
#define SCPP_CONFIG_MAX_AUTH_ROOTS 15
#define SCPP_CONFIG_MAX_AUTH_PEERS 32      /**< entries of $.auth.peers */

/** $.node: who this appliance is. */
struct scpp_config_node {
	uint16_t locale;                       /**< OID locale of every local shard */
	uint32_t id;                           /**< OID node id, >= 1 */
	char name[SCPP_CONFIG_NAME_SIZE];      /**< human name, in logs and telemetry */
	char state_dir[SCPP_CONFIG_PATH_SIZE]; /**< holds the OID epoch file */
};

/** $.eal: DPDK EAL settings. The EAL core list is main_lcore + the workers' lcores. */
struct scpp_config_eal {
	uint16_t main_lcore;                     /**< control-plane lcore */
	uint32_t memory_mb;                      /**< EAL memory (-m), MiB */
	enum scpp_config_hugepages hugepages;    /**< hugepage policy */
	char file_prefix[SCPP_CONFIG_NAME_SIZE]; /**< --file-prefix */
	unsigned int nb_args;                    /**< entries used in @c args */
	char args[SCPP_CONFIG_MAX_EAL_ARGS][SCPP_CONFIG_PATH_SIZE]; /**< extra EAL arguments, in order */
};

/** One entry of $.ports. IPv4 addresses are in host byte order. */
struct scpp_config_port {
	char devargs[SCPP_CONFIG_PATH_SIZE]; /**< DPDK device: "net_tap0,iface=scpp0", a PCI address... */
	uint32_t ipv4;                       /**< the port's own address */
	uint8_t prefix_len;                  /**< its subnet's prefix length, 1..32 */
	bool has_gateway;                    /**< @c gateway is set */
	uint32_t gateway;                    /**< next hop for addresses outside the subnet */
	uint16_t mtu;                        /**< IP MTU, bytes */
	uint16_t rx_desc;                    /**< rx descriptors per queue */
	uint16_t tx_desc;                    /**< tx descriptors per queue */
	uint16_t queues_per_worker;          /**< rx/tx queue pairs per worker lcore */
	uint32_t mempool_size;               /**< mbufs in the port's pool */
	uint32_t mempool_cache;              /**< per-lcore mempool cache, mbufs */
	uint32_t mbuf_data_room;             /**< mbuf data room, bytes; 0: sized from @c mtu */
};

/** Bytes of an mbuf's data room before the frame (RTE_PKTMBUF_HEADROOM of DPDK's build). */
#define SCPP_CONFIG_MBUF_HEADROOM 128
/** Smallest nonzero mbuf_data_room for an MTU: headroom, Ethernet header, a VLAN tag, MTU. */
#define SCPP_CONFIG_MBUF_ROOM_MIN(mtu) (SCPP_CONFIG_MBUF_HEADROOM + 14 + 4 + (unsigned int)(mtu))

/** $.udp. Port @c base_port answers for any shard; base_port + 1 + i is shard i's own. */
struct scpp_config_udp {
	uint16_t base_port; /**< UDP port for any shard */
};

/** One entry of $.workers: a pinned poll-mode lcore and the shard it owns. */
struct scpp_config_worker {
	uint16_t lcore; /**< DPDK lcore id */
	uint16_t shard; /**< store shard id (OID shard field) */
};

/** $.store: sizing of each worker's store shard. */
struct scpp_config_store {
	uint32_t entries;         /**< entity/attribute entries per shard */
	uint32_t slab_mb;         /**< value slab per shard, MiB */
	uint32_t max_value_bytes; /**< largest single value */
	uint32_t dict_size;       /**< attribute-name dictionary entries */
};

/** $.eval: per-block evaluation limits. */
struct scpp_config_eval {
	uint32_t max_rows;         /**< binding-table rows */
	uint64_t max_steps;        /**< evaluation steps */
	uint64_t max_bytes;        /**< bytes of values produced */
	uint32_t max_result_bytes; /**< encoded result bytes per block */
	uint32_t max_statuses;     /**< STATUS records kept per block */
	uint32_t max_time_us;      /**< time budget of one block, µs */
};

/** $.delivery: at-most-once replies, reassembly, pacing, rate limits (per worker). */
struct scpp_config_delivery {
	uint32_t reply_cache_entries;   /**< replies held per worker */
	uint32_t reply_cache_mb;        /**< MiB for their bytes per worker */
	uint32_t retention_ms;          /**< replies and client windows kept at least this long */
	uint32_t clients;               /**< client windows per worker */
	uint32_t reassembly_slots;      /**< messages being reassembled per worker */
	uint32_t reassembly_per_source; /**< ... of them from one source address */
	uint32_t reassembly_timeout_ms; /**< an incomplete message is dropped after this */
	uint16_t max_fragments;         /**< fragments per message */
	uint32_t tx_backlog;            /**< responses waiting to be sent per worker */
	uint32_t error_rate_per_source; /**< error replies per second to one source */
	uint32_t error_rate_total;      /**< error replies per second per worker */
	uint32_t max_parked;            /**< admitted requests parked at once per worker */
	uint32_t park_timeout_ms;       /**< a parked request expires after this */
};

/** One entry of $.routes: OIDs under @c prefix live on another node. */
struct scpp_config_route {
	struct scpp_oid_prefix prefix; /**< canonical prefix */
	uint32_t node;                 /**< owning node id */
	uint32_t peer_ipv4;            /**< that node's address (host byte order) */
	uint16_t peer_port;            /**< and its UDP base port */
};

/** $.schema. */
struct scpp_config_schema {
	unsigned int nb_files; /**< entries used in @c files */
	char files[SCPP_CONFIG_MAX_SCHEMA_FILES][SCPP_CONFIG_PATH_SIZE]; /**< loaded in order */
};

/** $.auth. */
struct scpp_config_auth {
	enum scpp_config_auth_mode mode; /**< authentication mode */
	char node_key[SCPP_CONFIG_PATH_SIZE];    /**< node key file; "" = state_dir/node.key */
	unsigned int nb_roots;                   /**< entries used in @c roots */
	/** Roots of trust: public key files or 64 hex digits (the node key is one too). */
	char roots[SCPP_CONFIG_MAX_AUTH_ROOTS][SCPP_CONFIG_PATH_SIZE];
	unsigned int nb_peers;                   /**< entries used in @c peers */
	/** Peer nodes that may carry their clients' identities here (SECURITY.md
	 *  §9.4): "ID:KEY", KEY 64 hex digits or a public key file. */
	char peers[SCPP_CONFIG_MAX_AUTH_PEERS][SCPP_CONFIG_PATH_SIZE];
	char revocations[SCPP_CONFIG_PATH_SIZE]; /**< file of revocation entries; "" = none */
	uint32_t revocation_capacity;            /**< entries the revocation set holds */
	uint32_t sessions;                       /**< session slots (every worker table) */
	uint32_t per_principal;                  /**< sessions one principal may hold */
	uint32_t session_lifetime_s;             /**< longest session */
	uint32_t cookie_lifetime_s;              /**< FINISH within this of its CHALLENGE */
	uint32_t epoch_lifetime_s;               /**< epoch key rotation period */
	uint32_t handshakes_per_s;               /**< handshake messages the control lcore takes */
};

/** One member of $.log.types. */
struct scpp_config_log_type {
	char name[SCPP_CONFIG_NAME_SIZE]; /**< "scp.<module>" */
	uint8_t level;                    /**< rte_log level, 1 (emerg) .. 8 (debug) */
};

/** $.log. Levels are rte_log's: 1 = RTE_LOG_EMERG ... 8 = RTE_LOG_DEBUG. */
struct scpp_config_log {
	uint8_t level;                /**< level of every scp.* log type */
	unsigned int nb_types;        /**< entries used in @c types */
	struct scpp_config_log_type types[SCPP_CONFIG_MAX_LOG_TYPES]; /**< overrides */
};

/** $.telemetry. */
struct scpp_config_telemetry {
	bool enabled; /**< register the /scpp/... rte_telemetry commands */
};

/** $.idle: sleeping when the rx queues are empty. */
struct scpp_config_idle {
	bool enabled;          /**< back off when idle (else busy-poll) */
	uint32_t max_sleep_us; /**< longest sleep of one idle iteration, µs */
};

/** Where the cluster map comes from ($.cluster.source). */
enum scpp_config_cluster_source {
	SCPP_CONFIG_CLUSTER_STATIC, /**< "static": $.cluster.nodes (or this node alone) */
	SCPP_CONFIG_CLUSTER_ETCD,   /**< "etcd": nodes register in etcd under a lease */
};

/** One explicit route of a cluster node: OIDs under @c prefix live on @c shard of it. */
struct scpp_config_cluster_route {
	struct scpp_oid_prefix prefix; /**< canonical prefix */
	uint16_t shard;                /**< one of the node's shards */
};

/** Windows one node record publishes ($.windows of an etcd record). */
#define SCPP_CONFIG_NODE_WINDOWS 16
/** Bytes of a window descriptor (docs/COPY.md "Window descriptor"). */
#define SCPP_CONFIG_WINDOW_DESC 128

/**
 * One shard's RMA window, as its node publishes it in its etcd record
 * (docs/COPY.md "Peers' windows"): the shard, the OID of its RmaWindow
 * entity (in the shard's prefix) and the 128-byte descriptor peers attach.
 * Only lib/copy decodes the descriptor; here it is bytes.
 */
struct scpp_config_cluster_window {
	uint16_t shard;                          /**< one of the node's shards */
	struct scpp_oid window;                  /**< the RmaWindow entity */
	uint8_t desc[SCPP_CONFIG_WINDOW_DESC];   /**< scpp_copy_window_encode() bytes */
};

/** Memory windows one node record publishes ($.memory_windows of an etcd
 *  record): as many as a node may configure ($.copy.memory_windows). */
#define SCPP_CONFIG_NODE_MEMWINS 8
/** Largest memory window a record may announce, bytes (as $.copy.memory_windows). */
#define SCPP_CONFIG_NODE_MEMWIN_BYTES_MAX (UINT64_C(1) << 30)

/**
 * One memory window a node's etcd record publishes (docs/COPY.md "Memory
 * windows on other nodes"): its kind is the list it is in ("memory"), the
 * shard that owns it, its configured name, the OID of its RmaWindow entity
 * (in the shard's prefix), its length and the 128-byte descriptor peers
 * attach. Only lib/copy decodes the descriptor; here it is bytes.
 */
struct scpp_config_cluster_memwin {
	uint16_t shard;                          /**< one of the node's shards */
	char name[SCPP_CONFIG_NAME_SIZE];        /**< unique in the record */
	struct scpp_oid window;                  /**< the RmaWindow entity, unique */
	uint64_t length;                         /**< bytes, 1..SCPP_CONFIG_NODE_MEMWIN_BYTES_MAX */
	uint8_t desc[SCPP_CONFIG_WINDOW_DESC];   /**< scpp_copy_window_encode() bytes */
};

/**
 * A node of the cluster: one entry of $.cluster.nodes, and the value of the
 * node's etcd record (docs/CLUSTER.md). Addresses are in host byte order.
 * Every shard s implies the route `@locale.id.s.0.0/64` -> (id, s); @c
 * routes adds others.
 */
struct scpp_config_cluster_node {
	uint32_t id;                        /**< OID node id, >= 1, unique in the cluster */
	char name[SCPP_CONFIG_NAME_SIZE];   /**< human name, unique in the cluster */
	uint16_t locale;                    /**< OID locale of the node's shards */
	uint32_t ipv4;                      /**< the node's cluster address */
	uint16_t base_port;                 /**< its UDP base port (shard s: base_port + 1 + s) */
	unsigned int nb_shards;             /**< entries used in @c shards, 1..64 */
	uint16_t shards[SCPP_CONFIG_NODE_SHARDS]; /**< its store shards, unique */
	bool has_mac;                       /**< @c mac is known */
	uint8_t mac[6];                     /**< the cluster port's unicast MAC */
	unsigned int nb_routes;             /**< entries used in @c routes */
	struct scpp_config_cluster_route routes[SCPP_CONFIG_NODE_ROUTES]; /**< explicit routes */
	unsigned int nb_windows;            /**< entries used in @c windows (etcd records only) */
	struct scpp_config_cluster_window windows[SCPP_CONFIG_NODE_WINDOWS]; /**< by shard */
	unsigned int nb_memwins;            /**< entries used in @c memwins (etcd records only) */
	struct scpp_config_cluster_memwin memwins[SCPP_CONFIG_NODE_MEMWINS]; /**< memory windows */
};

/** $.cluster.etcd: the registry, when $.cluster.source is "etcd". */
struct scpp_config_cluster_etcd {
	unsigned int nb_endpoints;          /**< entries used in @c endpoints, 1..4 */
	char endpoints[SCPP_CONFIG_MAX_ETCD_ENDPOINTS][SCPP_CONFIG_PATH_SIZE]; /**< "http://host:port" */
	char prefix[SCPP_CONFIG_ETCD_PREFIX_SIZE]; /**< key prefix, "/.../" */
	uint32_t lease_ttl_s;               /**< registration lease TTL, s */
	uint32_t poll_ms;                   /**< interval of map reads, ms */
	uint32_t timeout_ms;                /**< bound of one etcd request, ms */
	uint32_t start_wait_ms;             /**< at start, wait this long for the first map */
};

/** Most nodes one block may be forwarded through ($.cluster.forward.max_hops). */
#define SCPP_CONFIG_FORWARD_HOPS_MAX 8

/** $.cluster.forward: blocks for another node's shards (docs/CLUSTER.md §7). */
struct scpp_config_cluster_forward {
	bool enabled;                       /**< forward them (else answer E_NOT_HERE) */
	uint8_t max_hops;                   /**< forwards one block may take, 1..8 */
};

/** $.cluster.cont: continuations this node ships (docs/CLUSTER.md §8, PROTOCOL.md §19). */
struct scpp_config_cluster_cont {
	bool enabled;                       /**< split blocks across shards (else E_NOT_HERE) */
	uint32_t timeout_ms;                /**< one continuation's answer, at most (10..2000) */
	uint8_t max_hops;                   /**< depth of a continuation, 1..8 */
	uint32_t max_rows;                  /**< rows one CONT carries, 1..65536 */
	uint32_t max_pending;               /**< continuations a worker holds at once, 1..65536 */
	bool fan_out;                       /**< an unbound scan (⊤) runs on every shard of the map */
	uint32_t max_fan_out;               /**< shards one ⊤ fan-out may reach, 1..1024 */
};

/** $.cluster: the cluster map's source and the static node list. */
struct scpp_config_cluster {
	enum scpp_config_cluster_source source; /**< static or etcd */
	uint8_t port;                       /**< index into $.ports: the node's cluster address */
	unsigned int nb_nodes;              /**< entries of @c nodes */
	struct scpp_config_cluster_node *nodes; /**< $.cluster.nodes; heap, NULL when empty */
	struct scpp_config_cluster_etcd etcd; /**< $.cluster.etcd */
	struct scpp_config_cluster_forward forward; /**< $.cluster.forward */
	struct scpp_config_cluster_cont cont; /**< $.cluster.cont */
};

/** Local copy engine of a worker ($.copy.local, $.copy.workers[].local). */
enum scpp_config_copy_local {
	SCPP_CONFIG_COPY_LOCAL_AUTO,    /**< "auto": dmadev where one is offered, else memcpy */
	SCPP_CONFIG_COPY_LOCAL_DMADEV,  /**< "dmadev": required; start fails without */
	SCPP_CONFIG_COPY_LOCAL_MEMCPY,  /**< "memcpy": the CPU */
	SCPP_CONFIG_COPY_LOCAL_DEFAULT, /**< "default" (workers[] only): $.copy.local */
};

/** Remote copy engine ($.copy.remote). */
enum scpp_config_copy_remote {
	SCPP_CONFIG_COPY_REMOTE_NONE,   /**< "none": no registered windows, no remote copies */
	SCPP_CONFIG_COPY_REMOTE_FABRIC, /**< "fabric": libfabric RMA */
	SCPP_CONFIG_COPY_REMOTE_VERBS,  /**< "verbs": rdma-core */
};

/** How the verbs engine addresses its peers ($.copy.verbs.addressing). */
enum scpp_config_copy_addressing {
	SCPP_CONFIG_COPY_ADDR_LID, /**< "lid": InfiniBand, by LID */
	SCPP_CONFIG_COPY_ADDR_GID, /**< "gid": RoCE, GID at gid_index */
};

/** One entry of $.copy.workers: the copy engines of the worker at the same index. */
struct scpp_config_copy_worker {
	enum scpp_config_copy_local local;    /**< "default" = $.copy.local */
	char dmadev[SCPP_CONFIG_NAME_SIZE];   /**< dmadev name; "" = the first free one */
};

/** $.copy.fabric. */
struct scpp_config_copy_fabric {
	char provider[24];                  /**< libfabric provider: "tcp", "shm", "verbs", "efa" */
	char node[SCPP_CONFIG_NAME_SIZE];   /**< address to bind; "" = none (shm only) */
	char service[8];                    /**< port of the target endpoint; "" = any */
};

/** $.copy.verbs. */
struct scpp_config_copy_verbs {
	char device[SCPP_CONFIG_NAME_SIZE]; /**< rdma device; "" = the first */
	uint8_t port;                       /**< HCA port, 1..255 */
	enum scpp_config_copy_addressing addressing; /**< LID or GID */
	uint8_t gid_index;                  /**< GID index with "gid" */
};

/** Most entries of $.copy.memory_windows. */
#define SCPP_CONFIG_MEMWIN_MAX 8
/** Largest memory window, bytes (1 GiB). */
#define SCPP_CONFIG_MEMWIN_BYTES_MAX (UINT64_C(1) << 30)

/** One entry of $.copy.memory_windows: a region standing for process memory
 *  (docs/COPY.md "Memory windows"), owned by one worker's shard. */
struct scpp_config_copy_memwin {
	char name[SCPP_CONFIG_NAME_SIZE];   /**< its RmaWindow's name; unique */
	uint64_t bytes;                     /**< length, 1..SCPP_CONFIG_MEMWIN_BYTES_MAX */
	uint32_t worker;                    /**< index in $.workers of its shard's worker */
};

/** $.copy: copy engines (one local and at most one remote instance per worker). */
struct scpp_config_copy {
	enum scpp_config_copy_local local;   /**< every worker's local engine */
	enum scpp_config_copy_remote remote; /**< every worker's remote engine */
	bool dma_skeleton;                   /**< add one dma_skeleton vdev per worker */
	unsigned int nb_workers;             /**< entries of @c workers: 0 or $.workers' */
	struct scpp_config_copy_worker workers[SCPP_CONFIG_MAX_WORKERS]; /**< per worker */
	struct scpp_config_copy_fabric fabric; /**< with remote "fabric" */
	struct scpp_config_copy_verbs verbs;   /**< with remote "verbs" */
	uint32_t ring_size;                  /**< copies in flight per instance (power of two) */
	uint64_t max_len;                    /**< longest single copy, bytes */
	uint64_t part_max;                   /**< largest device operation; 0 = the engine's */
	uint32_t timeout_ms;                 /**< per copy; 0 = never */
	uint32_t max_regions;                /**< registered regions per instance */
	uint32_t max_remotes;                /**< attached windows per instance */
	bool recover;                        /**< recover remote instances with zombies */
	uint64_t min_bytes;                  /**< shorter copies: the evaluator's memcpy */
	uint64_t sync_max_bytes;             /**< longest copy handed to the local engine */
	uint64_t inflight_bytes;             /**< save pool per worker: bytes of asynchronous
					      *   copies in flight; 0 = every copy synchronous */
	uint32_t inflight_copies;            /**< asynchronous copies per worker at once */
	/** Fault injection, builds with -Dtest_faults=true only (else a
	 *  config error): each worker's local engine hangs at its first copy
	 *  of exactly this many bytes (docs/COPY.md "Stuck copies"); 0 off. */
	uint64_t test_stall_len;
	unsigned int nb_memwins;             /**< entries of @c memwins */
	struct scpp_config_copy_memwin memwins[SCPP_CONFIG_MEMWIN_MAX]; /**< memory windows */
};

/** A whole, validated configuration. */
struct scpp_config {
	struct scpp_config_node node;                              /**< $.node */
	struct scpp_config_eal eal;                                /**< $.eal */
	unsigned int nb_ports;                                     /**< entries of @c ports */
	struct scpp_config_port ports[SCPP_CONFIG_MAX_PORTS];      /**< $.ports */
	struct scpp_config_udp udp;                                /**< $.udp */
	unsigned int nb_workers;                                   /**< entries of @c workers */
	struct scpp_config_worker workers[SCPP_CONFIG_MAX_WORKERS]; /**< $.workers */
	struct scpp_config_store store;                            /**< $.store */
	struct scpp_config_eval eval;                              /**< $.eval */
	struct scpp_config_delivery delivery;                      /**< $.delivery */
	unsigned int nb_routes;                                    /**< entries of @c routes */
	struct scpp_config_route *routes;                          /**< $.routes; heap, NULL when empty */
	struct scpp_config_schema schema;                          /**< $.schema */
	struct scpp_config_auth auth;                              /**< $.auth */
	struct scpp_config_log log;                                /**< $.log */
	struct scpp_config_telemetry telemetry;                    /**< $.telemetry */
	struct scpp_config_idle idle;                              /**< $.idle */
	struct scpp_config_cluster cluster;                        /**< $.cluster */
	struct scpp_config_copy copy;                              /**< $.copy */
};

/** Why loading failed. */
struct scpp_config_error {
	char msg[SCPP_CONFIG_MSG_SIZE]; /**< whole message, starting with the file name */
	char path[128];                 /**< JSON path ("$.ports[0].ipv4"); "" for syntax and I/O errors */
	unsigned int line;              /**< syntax errors: 1-based line; else 0 */
	unsigned int column;            /**< syntax errors: 1-based column; else 0 */
};

/**
 * The configuration scppd runs without --config: one net_tap port
 * ("scpp0", 198.18.0.2/24) meant to live in a network namespace that the run
 * script creates, main lcore 0, one worker on lcore 1 owning shard 0, a small
 * store, hugepages if available. Parses to exactly scpp_config_defaults().
 * config/default.json holds the same text.
 */
extern const char SCPP_CONFIG_DEFAULT_JSON[];

/**
 * Fill @p cfg with the defaults of every key (the configuration `{}` gives).
 * Does not free anything @p cfg held. Cannot fail.
 */
void scpp_config_defaults(struct scpp_config *cfg);

/**
 * Release what a loaded configuration owns (the route list, the cluster's
 * node list) and leave @p cfg with neither. NULL is allowed.
 */
void scpp_config_free(struct scpp_config *cfg);

/**
 * Parse and validate a configuration held in memory.
 *
 * @param json
 *   The text; need not be NUL-terminated.
 * @param len
 *   Its length in bytes.
 * @param name
 *   Name used in messages (a file name); NULL means "<string>".
 * @param out
 *   Written only on success, with a configuration the caller releases with
 *   scpp_config_free(). On failure it is left untouched. It must not hold a
 *   configuration the caller still needs to free (that would leak).
 * @param err
 *   On failure, the explanation; may be NULL.
 * @return
 *   - 0: success;
 *   - -EINVAL: @p json or @p out is NULL, or the configuration is invalid
 *     (wrong type, out of range, unknown or duplicate key, inconsistency);
 *   - -SCPP_E_SYNTAX: not JSON (err->line and err->column say where);
 *   - -ENOMEM: out of memory.
 */
int scpp_config_load_string(const char *json, size_t len, const char *name,
			    struct scpp_config *out, struct scpp_config_error *err);

/**
 * Read, parse and validate a configuration file (at most 16 MiB).
 *
 * @param path
 *   The file; messages name it as given.
 * @return
 *   As scpp_config_load_string(), plus:
 *   - -EFBIG: the file is larger than 16 MiB;
 *   - another negative errno: the file cannot be opened or read (-ENOENT,
 *     -EACCES, -EISDIR, ...).
 */
int scpp_config_load_file(const char *path, struct scpp_config *out,
			  struct scpp_config_error *err);

/**
 * Print @p cfg as JSON with every key present: the effective configuration,
 * defaults included. The output loads back to the same configuration.
 *
 * @return 0, or -EIO if writing to @p f failed, -EINVAL if an argument is NULL.
 */
int scpp_config_dump(FILE *f, const struct scpp_config *cfg);

/**
 * Parse and validate one cluster node object: a node's etcd record
 * (docs/CLUSTER.md), with the key table and per-node checks of
 * $.cluster.nodes[]. Keys id, name, ipv4 and shards are required; unknown
 * and duplicate keys are errors.
 *
 * @param json
 *   The record; need not be NUL-terminated; at most SCPP_CONFIG_RECORD_MAX bytes.
 * @param name
 *   Names the record in messages (an etcd key); NULL means "<record>".
 *   Paths in messages start at the record: "$.shards[1]".
 * @param out
 *   Written only on success.
 * @param err
 *   On failure, the explanation; may be NULL.
 * @return
 *   0; -EINVAL (a NULL argument, a record too long, or an invalid record);
 *   -SCPP_E_SYNTAX (not JSON); -ENOMEM.
 *
 * Any thread (no shared state); allocates temporarily.
 */
int scpp_config_cluster_node_parse(const char *json, size_t len, const char *name,
				   struct scpp_config_cluster_node *out,
				   struct scpp_config_error *err);

/** Name of a cluster source as the config writes it ("static", "etcd"), or NULL. */
const char *scpp_config_cluster_source_name(enum scpp_config_cluster_source s);

/** Name of a local copy engine as the config writes it ("auto", "dmadev", ...), or NULL. */
const char *scpp_config_copy_local_name(enum scpp_config_copy_local l);

/** Name of a remote copy engine as the config writes it ("none", "fabric", "verbs"), or NULL. */
const char *scpp_config_copy_remote_name(enum scpp_config_copy_remote r);

/** Name of an rte_log level 1..8 as the config writes it ("info"), or NULL. */
const char *scpp_config_log_level_name(unsigned int level);

#endif /* SCPP_CONFIG_H */
