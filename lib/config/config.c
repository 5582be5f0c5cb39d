/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Configuration: the key tables, defaults, parsing and validation.
 *
 * Loading runs in three steps, all into a private struct so that the
 * caller's is written only when everything succeeded:
 *  1. cJSON parses the text; a failure is located as line:column, and the
 *     rest of the input must be whitespace.
 *  2. parse_object() walks the JSON against the key tables (config_root),
 *     rejecting unknown and duplicate keys and checking each value's type
 *     and range. Missing keys keep the defaults filled in beforehand.
 *  3. validate() checks what involves several keys (unique lcores and
 *     shards, gateway inside the subnet, routes not covering this node...).
 * The first error found is reported; the walk follows document order, so
 * that is the first problem a reader of the file meets.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "scpp_eval.h"

#include "scpp_common.h"
#include "scpp_oid.h"
#include "scpp_config.h"
#include "config_priv.h"

#define FILE_MAX (16u << 20)

/* ---- key tables -------------------------------------------------------- */

#define FSIZE(st, m) sizeof(((st *)0)->m)
#define F_UINT(st, k, m, lo, hi)                                                \
	{.key = k, .type = T_UINT, .off = offsetof(st, m), .size = FSIZE(st, m), \
	 .min = lo, .max = hi}
#define F_UINT_REQ(st, k, m, lo, hi)                                            \
	{.key = k, .type = T_UINT, .off = offsetof(st, m), .size = FSIZE(st, m), \
	 .min = lo, .max = hi, .required = true}
#define F_POW2(st, k, m, lo, hi)                                                \
	{.key = k, .type = T_UINT, .off = offsetof(st, m), .size = FSIZE(st, m), \
	 .min = lo, .max = hi, .pow2 = true}
#define F_BOOL(st, k, m) {.key = k, .type = T_BOOL, .off = offsetof(st, m)}
#define F_STR(st, k, m, class, lo)                                              \
	{.key = k, .type = T_STR, .off = offsetof(st, m), .cs = class, .min = lo, \
	 .max = FSIZE(st, m) - 1, .esize = FSIZE(st, m)}
/* Enum values are @p base + the name's index. */
#define F_ENUM(st, k, m, list, base)                                            \
	{.key = k, .type = T_ENUM, .off = offsetof(st, m), .size = FSIZE(st, m), \
	 .names = list, .min = base}

const char *const config_log_levels[] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug", NULL,
};
static const char *const hugepage_names[] = {"auto", "on", "off", NULL};
static const char *const auth_names[] = {"required", "optional", "off", NULL};

static const struct field node_fields[] = {
	F_UINT(struct scpp_config_node, "locale", locale, 0, UINT16_MAX),
	F_UINT(struct scpp_config_node, "id", id, 1, UINT32_MAX),
	F_STR(struct scpp_config_node, "name", name, CS_NAME, 1),
	F_STR(struct scpp_config_node, "state_dir", state_dir, CS_TEXT, 1),
};

static const struct field eal_fields[] = {
	F_UINT(struct scpp_config_eal, "main_lcore", main_lcore, 0, SCPP_CONFIG_MAX_LCORE - 1),
	F_UINT(struct scpp_config_eal, "memory_mb", memory_mb, 64, 1u << 20),
	/* Stored as an enum: its size is that of an int. */
	{.key = "hugepages", .type = T_ENUM, .off = offsetof(struct scpp_config_eal, hugepages),
	 .size = sizeof(enum scpp_config_hugepages), .names = hugepage_names},
	F_STR(struct scpp_config_eal, "file_prefix", file_prefix, CS_NAME, 1),
	{.key = "args", .type = T_STR_LIST, .off = offsetof(struct scpp_config_eal, args),
	 .aux = offsetof(struct scpp_config_eal, nb_args), .cs = CS_TEXT, .min = 0,
	 .max = SCPP_CONFIG_MAX_EAL_ARGS, .esize = SCPP_CONFIG_PATH_SIZE},
};

static const struct field port_fields[] = {
	{.key = "devargs", .type = T_STR, .off = offsetof(struct scpp_config_port, devargs),
	 .cs = CS_DEVARGS, .min = 1, .max = SCPP_CONFIG_PATH_SIZE - 1,
	 .esize = SCPP_CONFIG_PATH_SIZE, .required = true},
	{.key = "ipv4", .type = T_IPV4_PREFIX, .off = offsetof(struct scpp_config_port, ipv4),
	 .aux = offsetof(struct scpp_config_port, prefix_len), .required = true},
	{.key = "gateway", .type = T_IPV4_OPT, .off = offsetof(struct scpp_config_port, gateway),
	 .aux = offsetof(struct scpp_config_port, has_gateway)},
	F_UINT(struct scpp_config_port, "mtu", mtu, 576, 9600),
	F_POW2(struct scpp_config_port, "rx_desc", rx_desc, 64, 16384),
	F_POW2(struct scpp_config_port, "tx_desc", tx_desc, 64, 16384),
	F_UINT(struct scpp_config_port, "queues_per_worker", queues_per_worker, 1, 16),
	F_UINT(struct scpp_config_port, "mempool_size", mempool_size, 255, 1u << 22),
	/* 512 is RTE_MEMPOOL_CACHE_MAX_SIZE. */
	F_UINT(struct scpp_config_port, "mempool_cache", mempool_cache, 0, 512),
	/* uint16_t in rte_pktmbuf_pool_create(). */
	F_UINT(struct scpp_config_port, "mbuf_data_room", mbuf_data_room, 0, UINT16_MAX),
};

static const struct field udp_fields[] = {
	F_UINT(struct scpp_config_udp, "base_port", base_port, 1, UINT16_MAX - 1),
};

static const struct field worker_fields[] = {
	F_UINT_REQ(struct scpp_config_worker, "lcore", lcore, 0, SCPP_CONFIG_MAX_LCORE - 1),
	F_UINT_REQ(struct scpp_config_worker, "shard", shard, 0, UINT16_MAX - 1),
};

static const struct field store_fields[] = {
	F_UINT(struct scpp_config_store, "entries", entries, 1024, UINT32_MAX),
	F_UINT(struct scpp_config_store, "slab_mb", slab_mb, 1, 1u << 20),
	F_UINT(struct scpp_config_store, "max_value_bytes", max_value_bytes, 64, 1u << 30),
	F_UINT(struct scpp_config_store, "dict_size", dict_size, 256, 1u << 24),
};

static const struct field eval_fields[] = {
	/* The ranges are the evaluator's own (scpp_eval_limits_check()), so a
	 * config that loads is one the evaluator accepts. */
	F_UINT(struct scpp_config_eval, "max_rows", max_rows, 1, SCPP_EVAL_MAX_ROWS),
	F_UINT(struct scpp_config_eval, "max_steps", max_steps, 1, SCPP_EVAL_MAX_STEPS),
	F_UINT(struct scpp_config_eval, "max_bytes", max_bytes, 1024, SCPP_EVAL_MAX_BYTES),
	F_UINT(struct scpp_config_eval, "max_result_bytes", max_result_bytes, 1024, 1u << 30),
	F_UINT(struct scpp_config_eval, "max_statuses", max_statuses, 1, SCPP_EVAL_MAX_STATUSES),
	F_UINT(struct scpp_config_eval, "max_time_us", max_time_us, 1, SCPP_EVAL_MAX_TIME_US),
};

static const struct field delivery_fields[] = {
	F_UINT(struct scpp_config_delivery, "reply_cache_entries", reply_cache_entries, 16, 1u << 24),
	F_UINT(struct scpp_config_delivery, "reply_cache_mb", reply_cache_mb, 1, 1u << 16),
	F_UINT(struct scpp_config_delivery, "retention_ms", retention_ms, 100, 3600000),
	F_UINT(struct scpp_config_delivery, "clients", clients, 16, 1u << 24),
	F_UINT(struct scpp_config_delivery, "reassembly_slots", reassembly_slots, 1, 1u << 16),
	F_UINT(struct scpp_config_delivery, "reassembly_per_source", reassembly_per_source, 1,
	       1u << 16),
	F_UINT(struct scpp_config_delivery, "reassembly_timeout_ms", reassembly_timeout_ms, 1, 60000),
	/* 64 is the wire protocol's SCPP_WIRE_FRAGS_MAX. */
	F_UINT(struct scpp_config_delivery, "max_fragments", max_fragments, 1, 64),
	F_UINT(struct scpp_config_delivery, "tx_backlog", tx_backlog, 64, 1u << 24),
	F_UINT(struct scpp_config_delivery, "error_rate_per_source", error_rate_per_source, 0,
	       1000000),
	F_UINT(struct scpp_config_delivery, "error_rate_total", error_rate_total, 1, 1000000),
	F_UINT(struct scpp_config_delivery, "max_parked", max_parked, 1, 65536),
	F_UINT(struct scpp_config_delivery, "park_timeout_ms", park_timeout_ms, 1, 1800000),
};

static const struct field route_fields[] = {
	{.key = "prefix", .type = T_OID_PREFIX, .off = offsetof(struct scpp_config_route, prefix),
	 .required = true},
	F_UINT_REQ(struct scpp_config_route, "node", node, 1, UINT32_MAX),
	{.key = "peer", .type = T_PEER, .off = offsetof(struct scpp_config_route, peer_ipv4),
	 .aux = offsetof(struct scpp_config_route, peer_port), .required = true},
};

static const struct field schema_fields[] = {
	{.key = "files", .type = T_STR_LIST, .off = offsetof(struct scpp_config_schema, files),
	 .aux = offsetof(struct scpp_config_schema, nb_files), .cs = CS_TEXT, .min = 1,
	 .max = SCPP_CONFIG_MAX_SCHEMA_FILES, .esize = SCPP_CONFIG_PATH_SIZE},
};

static const struct field auth_fields[] = {
	{.key = "mode", .type = T_ENUM, .off = offsetof(struct scpp_config_auth, mode),
	 .size = sizeof(enum scpp_config_auth_mode), .names = auth_names},
	F_STR(struct scpp_config_auth, "node_key", node_key, CS_TEXT, 0),
	{.key = "roots", .type = T_STR_LIST, .off = offsetof(struct scpp_config_auth, roots),
	 .aux = offsetof(struct scpp_config_auth, nb_roots), .cs = CS_TEXT, .min = 0,
	 .max = SCPP_CONFIG_MAX_AUTH_ROOTS, .esize = SCPP_CONFIG_PATH_SIZE},
	{.key = "peers", .type = T_STR_LIST, .off = offsetof(struct scpp_config_auth, peers),
	 .aux = offsetof(struct scpp_config_auth, nb_peers), .cs = CS_TEXT, .min = 0,
	 .max = SCPP_CONFIG_MAX_AUTH_PEERS, .esize = SCPP_CONFIG_PATH_SIZE},
	F_STR(struct scpp_config_auth, "revocations", revocations, CS_TEXT, 0),
	F_UINT(struct scpp_config_auth, "revocation_capacity", revocation_capacity, 1, 1u << 20),
	F_UINT(struct scpp_config_auth, "sessions", sessions, 1, 1u << 20),
	F_UINT(struct scpp_config_auth, "per_principal", per_principal, 1, 1u << 20),
	F_UINT(struct scpp_config_auth, "session_lifetime_s", session_lifetime_s, 1, 86400),
	F_UINT(struct scpp_config_auth, "cookie_lifetime_s", cookie_lifetime_s, 1, 300),
	F_UINT(struct scpp_config_auth, "epoch_lifetime_s", epoch_lifetime_s, 10, 86400),
	F_UINT(struct scpp_config_auth, "handshakes_per_s", handshakes_per_s, 1, 1000000),
};

static const struct field log_fields[] = {
	/* rte_log levels start at 1 (RTE_LOG_EMERG). */
	F_ENUM(struct scpp_config_log, "level", level, config_log_levels, 1),
	{.key = "types", .type = T_LOG_TYPES, .off = 0, .max = SCPP_CONFIG_MAX_LOG_TYPES},
};

static const struct field telemetry_fields[] = {
	F_BOOL(struct scpp_config_telemetry, "enabled", enabled),
};

static const struct field idle_fields[] = {
	F_BOOL(struct scpp_config_idle, "enabled", enabled),
	F_UINT(struct scpp_config_idle, "max_sleep_us", max_sleep_us, 1, 1000000),
};

static void port_defaults(void *item);

#define SECTION(name, item) {name, SCPP_ARRAY_SIZE(name), item}
static const struct section node_sec = SECTION(node_fields, NULL);
static const struct section eal_sec = SECTION(eal_fields, NULL);
static const struct section port_sec = SECTION(port_fields, port_defaults);
static const struct section udp_sec = SECTION(udp_fields, NULL);
static const struct section worker_sec = SECTION(worker_fields, NULL);
static const struct section store_sec = SECTION(store_fields, NULL);
static const struct section eval_sec = SECTION(eval_fields, NULL);
static const struct section delivery_sec = SECTION(delivery_fields, NULL);
static const struct section route_sec = SECTION(route_fields, NULL);
static const struct section schema_sec = SECTION(schema_fields, NULL);
static const struct section auth_sec = SECTION(auth_fields, NULL);
static const struct section log_sec = SECTION(log_fields, NULL);
static const struct section telemetry_sec = SECTION(telemetry_fields, NULL);
static const struct section idle_sec = SECTION(idle_fields, NULL);

#define F_SEC(k, m, s) {.key = k, .type = T_SECTION, .off = offsetof(struct scpp_config, m), .sec = &s}
static const struct field root_fields[] = {
	F_SEC("node", node, node_sec),
	F_SEC("eal", eal, eal_sec),
	{.key = "ports", .type = T_LIST, .off = offsetof(struct scpp_config, ports),
	 .aux = offsetof(struct scpp_config, nb_ports), .min = 1, .max = SCPP_CONFIG_MAX_PORTS,
	 .esize = sizeof(struct scpp_config_port), .sec = &port_sec},
	F_SEC("udp", udp, udp_sec),
	{.key = "workers", .type = T_LIST, .off = offsetof(struct scpp_config, workers),
	 .aux = offsetof(struct scpp_config, nb_workers), .min = 1, .max = SCPP_CONFIG_MAX_WORKERS,
	 .esize = sizeof(struct scpp_config_worker), .sec = &worker_sec},
	F_SEC("store", store, store_sec),
	F_SEC("eval", eval, eval_sec),
	F_SEC("delivery", delivery, delivery_sec),
	{.key = "routes", .type = T_HEAP_LIST, .off = offsetof(struct scpp_config, routes),
	 .aux = offsetof(struct scpp_config, nb_routes), .min = 0, .max = SCPP_CONFIG_MAX_ROUTES,
	 .esize = sizeof(struct scpp_config_route), .sec = &route_sec},
	{.key = "cluster", .type = T_SECTION, .off = offsetof(struct scpp_config, cluster),
	 .sec = &config_cluster_sec},
	F_SEC("schema", schema, schema_sec),
	F_SEC("auth", auth, auth_sec),
	F_SEC("log", log, log_sec),
	F_SEC("telemetry", telemetry, telemetry_sec),
	F_SEC("idle", idle, idle_sec),
	{.key = "copy", .type = T_SECTION, .off = offsetof(struct scpp_config, copy),
	 .sec = &config_copy_sec},
};
const struct section config_root = SECTION(root_fields, NULL);

/* ---- defaults ---------------------------------------------------------- */

#define IPV4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))

static void
port_defaults(void *item)
{
	struct scpp_config_port *p = item;

	memset(p, 0, sizeof(*p));
	p->mtu = 1500;
	p->rx_desc = 1024;
	p->tx_desc = 1024;
	p->queues_per_worker = 1;
	p->mempool_size = 8191; /* 2^n - 1 fits the mempool ring best */
	p->mempool_cache = 256;
}

void
scpp_config_defaults(struct scpp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->node.locale = 0;
	cfg->node.id = 1;
	snprintf(cfg->node.name, sizeof(cfg->node.name), "scpp");
	snprintf(cfg->node.state_dir, sizeof(cfg->node.state_dir), "/var/lib/scpp");

	cfg->eal.main_lcore = 0;
	cfg->eal.memory_mb = 256;
	cfg->eal.hugepages = SCPP_CONFIG_HUGEPAGES_AUTO;
	snprintf(cfg->eal.file_prefix, sizeof(cfg->eal.file_prefix), "scppd");

	cfg->nb_ports = 1;
	port_defaults(&cfg->ports[0]);
	snprintf(cfg->ports[0].devargs, sizeof(cfg->ports[0].devargs), "net_tap0,iface=scpp0");
	cfg->ports[0].ipv4 = IPV4(198, 18, 0, 2);
	cfg->ports[0].prefix_len = 24;

	cfg->udp.base_port = 7300;

	cfg->nb_workers = 1;
	cfg->workers[0].lcore = 1;
	cfg->workers[0].shard = 0;

	cfg->store.entries = 65536;
	cfg->store.slab_mb = 64;
	cfg->store.max_value_bytes = 1u << 20;
	cfg->store.dict_size = 4096;

	cfg->eval.max_rows = 4096;
	cfg->eval.max_steps = 1000000;
	cfg->eval.max_bytes = 16u << 20;
	cfg->eval.max_result_bytes = 1u << 20;
	cfg->eval.max_statuses = SCPP_EVAL_DEFAULT_STATUSES;
	cfg->eval.max_time_us = SCPP_EVAL_DEFAULT_TIME_US;

	cfg->delivery.reply_cache_entries = 32768;
	cfg->delivery.reply_cache_mb = 16;
	cfg->delivery.retention_ms = 10000;
	cfg->delivery.clients = 8192;
	cfg->delivery.reassembly_slots = 64;
	cfg->delivery.reassembly_per_source = 8;
	cfg->delivery.max_parked = 256;
	cfg->delivery.park_timeout_ms = 1000;
	cfg->delivery.reassembly_timeout_ms = 500;
	cfg->delivery.max_fragments = 64;
	cfg->delivery.tx_backlog = 4096;
	cfg->delivery.error_rate_per_source = 20;
	cfg->delivery.error_rate_total = 2000;

	cfg->nb_routes = 0;
	cfg->routes = NULL;

	cfg->schema.nb_files = 2;
	snprintf(cfg->schema.files[0], sizeof(cfg->schema.files[0]), "schema/core.json");
	snprintf(cfg->schema.files[1], sizeof(cfg->schema.files[1]), "schema/posix.json");

	cfg->auth.mode = SCPP_CONFIG_AUTH_REQUIRED;
	cfg->auth.node_key[0] = '\0';
	cfg->auth.nb_roots = 0;
	cfg->auth.nb_peers = 0;
	cfg->auth.revocations[0] = '\0';
	cfg->auth.revocation_capacity = 4096;
	cfg->auth.sessions = 1024;
	cfg->auth.per_principal = 64;
	cfg->auth.session_lifetime_s = 86400;
	cfg->auth.cookie_lifetime_s = 30;
	cfg->auth.epoch_lifetime_s = 120;
	cfg->auth.handshakes_per_s = 2000;
	cfg->log.level = 7; /* RTE_LOG_INFO */
	cfg->telemetry.enabled = true;
	cfg->idle.enabled = true;
	cfg->idle.max_sleep_us = 100;
	config_cluster_defaults(&cfg->cluster);
	config_copy_defaults(&cfg->copy);
}

void
scpp_config_free(struct scpp_config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->routes);
	cfg->routes = NULL;
	cfg->nb_routes = 0;
	free(cfg->cluster.nodes);
	cfg->cluster.nodes = NULL;
	cfg->cluster.nb_nodes = 0;
}

/* ---- errors ------------------------------------------------------------ */

static void
set_msg(struct ctx *c, const char *fmt, va_list ap)
{
	size_t n;

	if (c->err == NULL)
		return;
	snprintf(c->err->path, sizeof(c->err->path), "%s", c->path);
	n = (size_t)snprintf(c->err->msg, sizeof(c->err->msg), "%s: %s: ", c->name, c->path);
	if (n < sizeof(c->err->msg))
		vsnprintf(c->err->msg + n, sizeof(c->err->msg) - n, fmt, ap);
}

/* Report an error at the current path (first one wins). */
static int __attribute__((format(printf, 2, 3)))
fail(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->rc == 0) {
		va_start(ap, fmt);
		set_msg(c, fmt, ap);
		va_end(ap);
		c->rc = -EINVAL;
	}
	return -EINVAL;
}

/* Report an error at a path given in printf form (cross-key checks). */
int
config_fail_at(struct ctx *c, const char *path, const char *fmt, ...)
{
	va_list ap;

	if (c->rc == 0) {
		snprintf(c->path, sizeof(c->path), "%s", path);
		va_start(ap, fmt);
		set_msg(c, fmt, ap);
		va_end(ap);
		c->rc = -EINVAL;
	}
	return -EINVAL;
}
#define fail_at config_fail_at

static size_t
path_push_key(struct ctx *c, const char *key)
{
	size_t len = strlen(c->path);
	bool plain = key[0] != '\0' && strspn(key, "abcdefghijklmnopqrstuvwxyz"
						  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == strlen(key);

	if (plain) {
		snprintf(c->path + len, sizeof(c->path) - len, ".%s", key);
	} else {
		char q[64];

		config_quote(q, sizeof(q), key);
		snprintf(c->path + len, sizeof(c->path) - len, "[%s]", q);
	}
	return len;
}

static size_t
path_push_index(struct ctx *c, int i)
{
	size_t len = strlen(c->path);

	snprintf(c->path + len, sizeof(c->path) - len, "[%d]", i);
	return len;
}

static void
path_pop(struct ctx *c, size_t len)
{
	c->path[len] = '\0';
}

/* What a JSON value is, for "found ..." (strings quoted, short). */
static const char *
describe(const cJSON *v, char *buf, size_t size)
{
	if (v == NULL)
		return "nothing (the key is required)";
	if (cJSON_IsObject(v))
		return "an object";
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsString(v)) {
		config_quote(buf, size, v->valuestring);
		return buf;
	}
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;

		if (d == floor(d) && fabs(d) < 1e18)
			snprintf(buf, size, "%.0f", d);
		else
			snprintf(buf, size, "%g", d);
		return buf;
	}
	if (cJSON_IsBool(v))
		return cJSON_IsTrue(v) ? "true" : "false";
	return "null";
}

#define FOUND(v) describe((v), found_buf, sizeof(found_buf))

/* Edit distance, for "did you mean". Keys are short; this is O(|a||b|). */
static unsigned int
edit_distance(const char *a, const char *b)
{
	unsigned int row[64], la = (unsigned int)strlen(a), lb = (unsigned int)strlen(b);

	if (la >= 63 || lb >= 63)
		return 99;
	for (unsigned int j = 0; j <= lb; j++)
		row[j] = j;
	for (unsigned int i = 1; i <= la; i++) {
		unsigned int diag = row[0];

		row[0] = i;
		for (unsigned int j = 1; j <= lb; j++) {
			unsigned int up = row[j];
			unsigned int best = diag + (a[i - 1] != b[j - 1]);

			best = SCPP_MIN(best, up + 1);
			best = SCPP_MIN(best, row[j - 1] + 1);
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static int
fail_unknown_key(struct ctx *c, const struct section *s, const char *key)
{
	const char *best = NULL;
	unsigned int best_d = 3;
	char list[256] = "";

	for (size_t i = 0; i < s->nb_fields; i++) {
		unsigned int d = strcasecmp(key, s->fields[i].key) == 0
					 ? 0 : edit_distance(key, s->fields[i].key);
		size_t len = strlen(list);

		/* Close means at most 2 edits, and fewer than half the key. */
		if (d < best_d && d * 2 < strlen(s->fields[i].key)) {
			best = s->fields[i].key;
			best_d = d;
		}
		snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "", s->fields[i].key);
	}
	if (best != NULL)
		return fail(c, "unknown key (did you mean \"%s\"?)", best);
	return fail(c, "unknown key (expected one of: %s)", list);
}

/* ---- value parsers ----------------------------------------------------- */

/* Strict dotted quad: four decimal parts 0..255 without leading zeros.
 * Returns the number of characters used, or 0. */
static size_t
ipv4_scan(const char *s, uint32_t *out)
{
	uint32_t a = 0;
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		unsigned int v = 0, digits = 0;

		if (part > 0) {
			if (s[i] != '.')
				return 0;
			i++;
		}
		while (s[i] >= '0' && s[i] <= '9' && digits < 4) {
			v = v * 10 + (unsigned int)(s[i] - '0');
			digits++;
			i++;
		}
		if (digits == 0 || digits > 3 || v > 255 || (digits > 1 && s[i - digits] == '0'))
			return 0;
		a = a << 8 | v;
	}
	*out = a;
	return i;
}

/* Decimal number of 1..5 digits without leading zero, up to @p max. */
static bool
uint_scan(const char *s, unsigned int max, unsigned int *out)
{
	unsigned long v;
	char *end;

	if (s[0] < '1' || s[0] > '9' || strlen(s) > 5)
		return false;
	v = strtoul(s, &end, 10);
	if (*end != '\0' || v > max)
		return false;
	*out = (unsigned int)v;
	return true;
}

static bool
text_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static bool
name_ok(const char *s)
{
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
	       strlen(s);
}

/*
 * DPDK devargs: a device name ("net_tap0", "0000:03:00.0") then
 * ",key=value" or ",flag" options. Values run to the next comma outside
 * brackets, so list values like "[0-3,5]" stay whole.
 */
static bool
devargs_ok(const char *s)
{
	size_t n = strcspn(s, ",");

	if (n == 0 || strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:.-") != n)
		return false;
	s += n;
	while (*s == ',') {
		size_t k;
		int depth = 0;

		s++;
		k = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
		if (k == 0)
			return false;
		s += k;
		if (*s == '=') {
			const char *v = ++s;

			while (*s != '\0' && (depth > 0 || *s != ',')) {
				if (*s == '[')
					depth++;
				else if (*s == ']' && --depth < 0)
					return false;
				else if (*s == ' ' || (unsigned char)*s < 0x20)
					return false;
				s++;
			}
			if (s == v || depth != 0)
				return false;
		}
	}
	return *s == '\0';
}

/* "http://HOST:PORT": HOST a name of [A-Za-z0-9.-] (1..253) or an IPv4
 * address, PORT 1..65535; TLS and paths are not supported (docs/CONFIG.md). */
static bool
url_ok(const char *s)
{
	const char *h, *colon;
	unsigned int port;
	size_t hl;

	if (strncmp(s, "http://", 7) != 0)
		return false;
	h = s + 7;
	colon = strchr(h, ':');
	if (colon == NULL)
		return false;
	hl = (size_t)(colon - h);
	if (hl == 0 || hl > 253 || h[0] == '.' || h[0] == '-' ||
	    strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != hl)
		return false;
	return uint_scan(colon + 1, UINT16_MAX, &port);
}

static bool
key_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 2 && s[0] == '/' && s[n - 1] == '/' && strstr(s, "//") == NULL &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/") == n;
}

static void
store_uint(void *p, uint8_t size, uint64_t v)
{
	switch (size) {
	case 1: *(uint8_t *)p = (uint8_t)v; break;
	case 2: *(uint16_t *)p = (uint16_t)v; break;
	case 4: *(uint32_t *)p = (uint32_t)v; break;
	default: *(uint64_t *)p = v; break;
	}
}

static int
parse_uint(struct ctx *c, const struct field *f, const cJSON *v, void *dst)
{
	char found_buf[80];
	double d;

	if (cJSON_IsNumber(v)) {
		d = v->valuedouble;
		if (d == floor(d) && d >= (double)f->min && d <= (double)f->max &&
		    (!f->pow2 || ((uint64_t)d & ((uint64_t)d - 1)) == 0)) {
			store_uint(dst, f->size, (uint64_t)d);
			return 0;
		}
	}
	return fail(c, "expected %s in %" PRIu64 "..%" PRIu64 ", found %s",
		    f->pow2 ? "a power of two" : "an integer", f->min, f->max, FOUND(v));
}

static int
parse_enum(struct ctx *c, const struct field *f, const cJSON *v, void *dst)
{
	char found_buf[80], exp[160] = "";

	if (cJSON_IsString(v)) {
		for (unsigned int i = 0; f->names[i] != NULL; i++) {
			if (strcmp(v->valuestring, f->names[i]) == 0) {
				store_uint(dst, f->size, f->min + i);
				return 0;
			}
		}
	}
	if (f->expect != NULL)
		return fail(c, "%s, found %s", f->expect, FOUND(v));
	for (unsigned int i = 0; f->names[i] != NULL; i++) {
		size_t len = strlen(exp);

		snprintf(exp + len, sizeof(exp) - len, "%s\"%s\"", i ? ", " : "", f->names[i]);
	}
	return fail(c, "expected one of %s, found %s", exp, FOUND(v));
}

static const char *
str_expect(const struct field *f, char *buf, size_t size)
{
	switch (f->cs) {
	case CS_NAME:
		snprintf(buf, size, "a string of %" PRIu64 "..%" PRIu64
			 " letters, digits, '.', '_' or '-'", f->min, f->max);
		break;
	case CS_DEVARGS:
		snprintf(buf, size, "DPDK device arguments like \"net_tap0,iface=scpp0\" "
			 "(a device name, then \",key=value\" options; at most %" PRIu64
			 " characters)", f->max);
		break;
	case CS_URL:
		snprintf(buf, size, "an http URL like \"http://198.18.1.1:2379\" (a host name or "
			 "IPv4 address and a port, nothing after it)");
		break;
	case CS_KEY:
		snprintf(buf, size, "a key prefix of %" PRIu64 "..%" PRIu64 " characters like "
			 "\"/scpp/prod/\" (starting and ending with '/', of letters, digits, '.', "
			 "'_', '-' and '/', no \"//\")", f->min, f->max);
		break;
	default:
		snprintf(buf, size, "a string of %" PRIu64 "..%" PRIu64
			 " characters without control characters", f->min, f->max);
		break;
	}
	return buf;
}

static int
parse_str(struct ctx *c, const struct field *f, const cJSON *v, char *dst)
{
	char found_buf[80], exp[200];

	if (cJSON_IsString(v)) {
		const char *s = v->valuestring;
		size_t len = strlen(s);
		bool ok = len >= f->min && len <= f->max;

		if (ok && f->cs == CS_NAME)
			ok = name_ok(s);
		else if (ok && f->cs == CS_DEVARGS)
			ok = devargs_ok(s);
		else if (ok && f->cs == CS_URL)
			ok = url_ok(s);
		else if (ok && f->cs == CS_KEY)
			ok = key_ok(s);
		else if (ok)
			ok = text_ok(s);
		if (ok) {
			memcpy(dst, s, len + 1);
			return 0;
		}
	}
	return fail(c, "expected %s, found %s", str_expect(f, exp, sizeof(exp)), FOUND(v));
}

static int
parse_ipv4_prefix(struct ctx *c, const cJSON *v, uint32_t *addr, uint8_t *len)
{
	char found_buf[80];
	unsigned int l;
	size_t n;

	if (cJSON_IsString(v)) {
		n = ipv4_scan(v->valuestring, addr);
		if (n > 0 && v->valuestring[n] == '/' && uint_scan(v->valuestring + n + 1, 32, &l) &&
		    l >= 1) {
			*len = (uint8_t)l;
			return 0;
		}
	}
	return fail(c, "expected an IPv4 address with prefix length like \"198.18.0.2/24\", found %s",
		    FOUND(v));
}

static int
parse_ipv4_opt(struct ctx *c, const cJSON *v, uint32_t *addr, bool *has)
{
	char found_buf[80];
	size_t n;

	if (cJSON_IsNull(v)) {
		*has = false;
		*addr = 0;
		return 0;
	}
	if (cJSON_IsString(v)) {
		n = ipv4_scan(v->valuestring, addr);
		if (n > 0 && v->valuestring[n] == '\0') {
			*has = true;
			return 0;
		}
	}
	return fail(c, "expected an IPv4 address like \"198.18.0.1\" or null, found %s", FOUND(v));
}

static int
parse_peer(struct ctx *c, const cJSON *v, uint32_t *addr, uint16_t *port)
{
	char found_buf[80];
	unsigned int p;
	size_t n;

	if (cJSON_IsString(v)) {
		n = ipv4_scan(v->valuestring, addr);
		if (n > 0 && *addr != 0 && v->valuestring[n] == ':' &&
		    uint_scan(v->valuestring + n + 1, UINT16_MAX, &p)) {
			*port = (uint16_t)p;
			return 0;
		}
	}
	return fail(c, "expected an IPv4 address and UDP port like \"198.18.0.3:7300\", found %s",
		    FOUND(v));
}

static int
parse_ipv4(struct ctx *c, const cJSON *v, uint32_t *addr)
{
	char found_buf[80];
	size_t n;

	if (cJSON_IsString(v)) {
		n = ipv4_scan(v->valuestring, addr);
		if (n > 0 && v->valuestring[n] == '\0' && *addr != 0)
			return 0;
	}
	return fail(c, "expected an IPv4 address like \"198.18.0.3\", found %s", FOUND(v));
}

static int
hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static int
parse_mac_opt(struct ctx *c, const cJSON *v, uint8_t *mac, bool *has)
{
	char found_buf[80];

	if (cJSON_IsNull(v)) {
		*has = false;
		memset(mac, 0, 6);
		return 0;
	}
	if (cJSON_IsString(v) && strlen(v->valuestring) == 17) {
		const char *t = v->valuestring;
		uint8_t m[6];
		bool ok = true;

		for (int i = 0; i < 6 && ok; i++) {
			int h = hex_digit(t[3 * i]), l = hex_digit(t[3 * i + 1]);

			ok = h >= 0 && l >= 0 && (i == 5 || t[3 * i + 2] == ':');
			if (ok)
				m[i] = (uint8_t)(h << 4 | l);
		}
		/* A unicast address: the group bit of the first octet clear,
		 * and not all zero. */
		if (ok && (m[0] & 1) == 0 && (m[0] | m[1] | m[2] | m[3] | m[4] | m[5]) != 0) {
			memcpy(mac, m, 6);
			*has = true;
			return 0;
		}
	}
	return fail(c, "expected a unicast MAC address like \"02:00:00:00:00:01\" or null, "
		    "found %s", FOUND(v));
}

static int
parse_uint_list(struct ctx *c, const struct field *f, const cJSON *v, void *dst,
		unsigned int *count)
{
	struct field item = *f;
	char found_buf[80];
	const cJSON *e;
	int n, i = 0;

	if (!cJSON_IsArray(v))
		return fail(c, "expected an array of integers in %" PRIu64 "..%" PRIu64 ", found %s",
			    f->min, f->max, FOUND(v));
	n = cJSON_GetArraySize(v);
	if ((uint32_t)n < f->items_min || (uint32_t)n > f->items_max)
		return fail(c, "expected an array of %u..%u integers, found %d of them",
			    f->items_min, f->items_max, n);
	item.pow2 = false;
	cJSON_ArrayForEach(e, v) {
		size_t mark = path_push_index(c, i);
		int rc = parse_uint(c, &item, e, (char *)dst + (size_t)i * f->size);

		if (rc < 0)
			return rc;
		path_pop(c, mark);
		i++;
	}
	*count = (unsigned int)n;
	return 0;
}

static int
parse_oid_prefix(struct ctx *c, const cJSON *v, struct scpp_oid_prefix *p)
{
	char found_buf[80];

	if (cJSON_IsString(v) &&
	    scpp_oid_prefix_parse(v->valuestring, strlen(v->valuestring), p) == 0)
		return 0;
	return fail(c, "expected an OID prefix like \"@0.2.0.0.0/48\" (hex fields, no bits "
		    "set past the length), found %s", FOUND(v));
}

static int
parse_oid(struct ctx *c, const cJSON *v, struct scpp_oid *o)
{
	char found_buf[80];

	if (cJSON_IsString(v) && scpp_oid_parse(v->valuestring, strlen(v->valuestring), o) == 0 &&
	    !scpp_oid_is_nil(*o))
		return 0;
	return fail(c, "expected an OID like \"@0.2.0.0.2a\" (hex fields, not nil), found %s",
		    FOUND(v));
}

static int
hex_lower(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

static int
parse_hex(struct ctx *c, const struct field *f, const cJSON *v, uint8_t *dst)
{
	char found_buf[80];

	if (cJSON_IsString(v) && strlen(v->valuestring) == 2 * f->esize) {
		const char *s = v->valuestring;
		size_t i;

		for (i = 0; i < f->esize; i++) {
			int hi = hex_lower(s[2 * i]), lo = hex_lower(s[2 * i + 1]);

			if (hi < 0 || lo < 0)
				break;
			dst[i] = (uint8_t)(hi << 4 | lo);
		}
		if (i == f->esize)
			return 0;
	}
	return fail(c, "expected %zu lower-case hex digits (%zu bytes), found %s", 2 * f->esize,
		    f->esize, FOUND(v));
}

static int
parse_bool(struct ctx *c, const cJSON *v, bool *dst)
{
	char found_buf[80];

	if (cJSON_IsBool(v)) {
		*dst = cJSON_IsTrue(v);
		return 0;
	}
	return fail(c, "expected true or false, found %s", FOUND(v));
}

static int
check_count(struct ctx *c, const struct field *f, const cJSON *v, const char *what)
{
	char found_buf[80];
	int n;

	if (!cJSON_IsArray(v))
		return fail(c, "expected an array of %s, found %s", what, FOUND(v));
	n = cJSON_GetArraySize(v);
	if ((uint64_t)n < f->min || (uint64_t)n > f->max)
		return fail(c, "expected an array of %" PRIu64 "..%" PRIu64 " %s, found %d of them",
			    f->min, f->max, what, n);
	return n;
}

static int
parse_str_list(struct ctx *c, const struct field *f, const cJSON *v, char *dst, unsigned int *count)
{
	struct field item = *f;
	const cJSON *e;
	int n, i = 0;

	n = check_count(c, f, v, "strings");
	if (n < 0)
		return n;
	item.min = 1;
	item.max = f->esize - 1;
	cJSON_ArrayForEach(e, v) {
		size_t mark = path_push_index(c, i);
		int rc = parse_str(c, &item, e, dst + (size_t)i * f->esize);

		if (rc < 0)
			return rc;
		path_pop(c, mark);
		i++;
	}
	*count = (unsigned int)n;
	return 0;
}

static int
parse_log_types(struct ctx *c, const struct field *f, const cJSON *v, struct scpp_config_log *log)
{
	static const struct field level = F_ENUM(struct scpp_config_log_type, "", level,
						 config_log_levels, 1);
	char found_buf[80];
	const cJSON *e;
	unsigned int n = 0;

	if (!cJSON_IsObject(v))
		return fail(c, "expected an object mapping log types to levels, found %s", FOUND(v));
	if ((uint64_t)cJSON_GetArraySize(v) > f->max)
		return fail(c, "expected at most %" PRIu64 " log types, found %d", f->max,
			    cJSON_GetArraySize(v));
	cJSON_ArrayForEach(e, v) {
		struct scpp_config_log_type *t = &log->types[n];
		size_t mark = path_push_key(c, e->string);
		const char *k = e->string;
		size_t len = strlen(k);
		int rc;

		if (len < 5 || len >= sizeof(t->name) || strncmp(k, "scp.", 4) != 0 ||
		    k[4] < 'a' || k[4] > 'z' ||
		    strspn(k + 4, "abcdefghijklmnopqrstuvwxyz0123456789_") != len - 4)
			return fail(c, "expected a log type named \"scp.<module>\" like \"scp.route\", "
				    "found \"%s\"", k);
		memcpy(t->name, k, len + 1);
		rc = parse_enum(c, &level, e, &t->level);
		if (rc < 0)
			return rc;
		path_pop(c, mark);
		n++;
	}
	log->nb_types = n;
	return 0;
}

static int parse_object(struct ctx *c, const struct section *s, const cJSON *obj, void *base);

int
config_parse_object(struct ctx *c, const struct section *s, const void *obj, void *base)
{
	return parse_object(c, s, obj, base);
}

static int
parse_list(struct ctx *c, const struct field *f, const cJSON *v, void *base)
{
	const cJSON *e;
	char *items;
	int n, i = 0;

	n = check_count(c, f, v, "objects");
	if (n < 0)
		return n;
	if (f->type == T_HEAP_LIST) {
		/* Parsed into a fresh array that replaces the old one only
		 * when every item is valid. */
		items = n == 0 ? NULL : calloc((size_t)n, f->esize);
		if (n > 0 && items == NULL) {
			c->rc = c->rc ? c->rc : -ENOMEM;
			return -ENOMEM;
		}
	} else {
		items = (char *)base + f->off;
	}
	cJSON_ArrayForEach(e, v) {
		size_t mark = path_push_index(c, i);
		void *item = items + (size_t)i * f->esize;
		int rc;

		if (f->sec->item_defaults != NULL)
			f->sec->item_defaults(item);
		else
			memset(item, 0, f->esize);
		rc = parse_object(c, f->sec, e, item);
		if (rc < 0) {
			if (f->type == T_HEAP_LIST)
				free(items);
			return rc;
		}
		path_pop(c, mark);
		i++;
	}
	if (f->type == T_HEAP_LIST) {
		void **slot = (void **)((char *)base + f->off);

		free(*slot);
		*slot = items;
	}
	*(unsigned int *)((char *)base + f->aux) = (unsigned int)n;
	return 0;
}

static int
parse_field(struct ctx *c, const struct field *f, const cJSON *v, void *base)
{
	char *dst = (char *)base + f->off;

	switch (f->type) {
	case T_BOOL:
		return parse_bool(c, v, (bool *)dst);
	case T_UINT:
		return parse_uint(c, f, v, dst);
	case T_ENUM:
		return parse_enum(c, f, v, dst);
	case T_STR:
		return parse_str(c, f, v, dst);
	case T_IPV4_PREFIX:
		return parse_ipv4_prefix(c, v, (uint32_t *)dst, (uint8_t *)((char *)base + f->aux));
	case T_IPV4_OPT:
		return parse_ipv4_opt(c, v, (uint32_t *)dst, (bool *)((char *)base + f->aux));
	case T_PEER:
		return parse_peer(c, v, (uint32_t *)dst, (uint16_t *)((char *)base + f->aux));
	case T_OID_PREFIX:
		return parse_oid_prefix(c, v, (struct scpp_oid_prefix *)dst);
	case T_OID:
		return parse_oid(c, v, (struct scpp_oid *)dst);
	case T_HEX:
		return parse_hex(c, f, v, (uint8_t *)dst);
	case T_IPV4:
		return parse_ipv4(c, v, (uint32_t *)dst);
	case T_MAC_OPT:
		return parse_mac_opt(c, v, (uint8_t *)dst, (bool *)((char *)base + f->aux));
	case T_UINT_LIST:
		return parse_uint_list(c, f, v, dst, (unsigned int *)((char *)base + f->aux));
	case T_STR_LIST:
		return parse_str_list(c, f, v, dst, (unsigned int *)((char *)base + f->aux));
	case T_LOG_TYPES:
		return parse_log_types(c, f, v, base);
	case T_SECTION:
		return parse_object(c, f->sec, v, dst);
	case T_LIST:
	case T_HEAP_LIST:
		return parse_list(c, f, v, base);
	}
	return fail(c, "internal error: unknown field type");
}

static int
parse_object(struct ctx *c, const struct section *s, const cJSON *obj, void *base)
{
	char found_buf[80];
	const cJSON *e;

	if (!cJSON_IsObject(obj))
		return fail(c, "expected an object, found %s", FOUND(obj));
	/* Keys first, so that a misspelt key is reported as such rather than
	 * as the required key it was meant to be. */
	cJSON_ArrayForEach(e, obj) {
		size_t mark = path_push_key(c, e->string);
		const struct field *f = NULL;

		for (size_t i = 0; i < s->nb_fields; i++)
			if (strcmp(s->fields[i].key, e->string) == 0)
				f = &s->fields[i];
		if (f == NULL)
			return fail_unknown_key(c, s, e->string);
		/* cJSON keeps duplicate members; JSON leaves them undefined,
		 * so refuse to guess which one was meant. */
		for (const cJSON *p = obj->child; p != e; p = p->next)
			if (strcmp(p->string, e->string) == 0)
				return fail(c, "duplicate key (each key may appear once)");
		path_pop(c, mark);
	}
	for (size_t i = 0; i < s->nb_fields; i++) {
		const struct field *f = &s->fields[i];
		size_t mark = path_push_key(c, f->key);
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, f->key);
		int rc;

		if (v == NULL && f->required) {
			const char *what;
			char exp[200];

			switch (f->type) {
			case T_STR: what = str_expect(f, exp, sizeof(exp)); break;
			case T_IPV4_PREFIX: what = "an IPv4 address with prefix length like \"198.18.0.2/24\""; break;
			case T_PEER: what = "an IPv4 address and UDP port like \"198.18.0.3:7300\""; break;
			case T_OID_PREFIX: what = "an OID prefix like \"@0.2.0.0.0/48\""; break;
			case T_OID: what = "an OID like \"@0.2.0.0.2a\""; break;
			case T_HEX: what = "a string of hex digits"; break;
			case T_IPV4: what = "an IPv4 address like \"198.18.0.3\""; break;
			case T_UINT_LIST:
				snprintf(exp, sizeof(exp), "an array of %u..%u integers in %" PRIu64
					 "..%" PRIu64, f->items_min, f->items_max, f->min, f->max);
				what = exp;
				break;
			default:
				snprintf(exp, sizeof(exp), "an integer in %" PRIu64 "..%" PRIu64, f->min, f->max);
				what = exp;
				break;
			}
			return fail(c, "expected %s, found nothing (the key is required)", what);
		}
		if (v != NULL) {
			rc = parse_field(c, f, v, base);
			if (rc < 0)
				return rc;
		}
		path_pop(c, mark);
	}
	return 0;
}

/* ---- cross-key validation ---------------------------------------------- */

static void
prefix_text(char *buf, size_t size, uint32_t addr, unsigned int len)
{
	char a[16];

	config_ipv4_format(a, addr);
	snprintf(buf, size, "%s/%u", a, len);
}

static int
validate_ports(struct ctx *c, const struct scpp_config *cfg)
{
	char path[96], a[24], net[24];

	for (unsigned int i = 0; i < cfg->nb_ports; i++) {
		const struct scpp_config_port *p = &cfg->ports[i];
		uint32_t mask = p->prefix_len == 0 ? 0 : ~(uint32_t)0 << (32 - p->prefix_len);
		size_t name_len = strcspn(p->devargs, ",");
		uint64_t need;

		prefix_text(net, sizeof(net), p->ipv4 & mask, p->prefix_len);
		if (p->prefix_len <= 30 && ((p->ipv4 & ~mask) == 0 || (p->ipv4 & ~mask) == ~mask)) {
			prefix_text(a, sizeof(a), p->ipv4, p->prefix_len);
			snprintf(path, sizeof(path), "$.ports[%u].ipv4", i);
			return fail_at(c, path, "expected a host address of %s (not its network or "
				       "broadcast address), found \"%s\"", net, a);
		}
		if (p->has_gateway && ((p->gateway & mask) != (p->ipv4 & mask) ||
				       p->gateway == p->ipv4)) {
			config_ipv4_format(a, p->gateway);
			snprintf(path, sizeof(path), "$.ports[%u].gateway", i);
			return fail_at(c, path, "expected an address inside the port's subnet %s "
				       "other than the port's own, found \"%s\"", net, a);
		}
		/* DPDK's rule for a mempool cache: at most n / 1.5. */
		if ((uint64_t)p->mempool_cache * 3 > (uint64_t)p->mempool_size * 2) {
			snprintf(path, sizeof(path), "$.ports[%u].mempool_cache", i);
			return fail_at(c, path, "expected at most mempool_size / 1.5 = %u, found %u",
				       (unsigned int)((uint64_t)p->mempool_size * 2 / 3), p->mempool_cache);
		}
		/* A frame of MTU bytes must fit one mbuf (rx does not chain). */
		if (p->mbuf_data_room != 0 && p->mbuf_data_room < SCPP_CONFIG_MBUF_ROOM_MIN(p->mtu)) {
			snprintf(path, sizeof(path), "$.ports[%u].mbuf_data_room", i);
			return fail_at(c, path, "expected 0 (sized from mtu) or at least %u bytes "
				       "(headroom %u + Ethernet 14 + VLAN 4 + mtu %u), found %u",
				       SCPP_CONFIG_MBUF_ROOM_MIN(p->mtu), SCPP_CONFIG_MBUF_HEADROOM,
				       p->mtu, p->mbuf_data_room);
		}
		/* Every rx and tx ring full plus every lcore's cache, or rx
		 * queues cannot be refilled and the port stalls. */
		need = (uint64_t)cfg->nb_workers * p->queues_per_worker * (p->rx_desc + p->tx_desc) +
		       (uint64_t)(cfg->nb_workers + 1) * p->mempool_cache;
		if (p->mempool_size < need) {
			snprintf(path, sizeof(path), "$.ports[%u].mempool_size", i);
			return fail_at(c, path, "expected at least %" PRIu64 " mbufs (workers x "
				       "queues_per_worker x (rx_desc + tx_desc) + (workers + 1) x "
				       "mempool_cache), found %u", need, p->mempool_size);
		}
		for (unsigned int j = 0; j < i; j++) {
			if (strncmp(cfg->ports[j].devargs, p->devargs, name_len) == 0 &&
			    strcspn(cfg->ports[j].devargs, ",") == name_len) {
				snprintf(path, sizeof(path), "$.ports[%u].devargs", i);
				return fail_at(c, path, "expected a device not used by another port, "
					       "found \"%.*s\" (also in $.ports[%u])",
					       (int)name_len, p->devargs, j);
			}
		}
	}
	return 0;
}

static int
validate_workers(struct ctx *c, const struct scpp_config *cfg)
{
	unsigned int max_shard = UINT16_MAX - 1u - cfg->udp.base_port;
	char path[96];

	for (unsigned int i = 0; i < cfg->nb_workers; i++) {
		const struct scpp_config_worker *w = &cfg->workers[i];

		if (w->lcore == cfg->eal.main_lcore) {
			snprintf(path, sizeof(path), "$.workers[%u].lcore", i);
			return fail_at(c, path, "expected an lcore other than $.eal.main_lcore "
				       "(the control plane's), found %u", w->lcore);
		}
		for (unsigned int j = 0; j < i; j++) {
			if (cfg->workers[j].lcore == w->lcore) {
				snprintf(path, sizeof(path), "$.workers[%u].lcore", i);
				return fail_at(c, path, "expected an lcore not used by another worker, "
					       "found %u (also $.workers[%u].lcore)", w->lcore, j);
			}
			if (cfg->workers[j].shard == w->shard) {
				snprintf(path, sizeof(path), "$.workers[%u].shard", i);
				return fail_at(c, path, "expected a shard not owned by another worker, "
					       "found %u (also $.workers[%u].shard)", w->shard, j);
			}
		}
		if (w->shard > max_shard) {
			snprintf(path, sizeof(path), "$.workers[%u].shard", i);
			return fail_at(c, path, "expected at most %u, so that the shard's UDP port "
				       "$.udp.base_port + 1 + shard stays below 65536, found %u",
				       max_shard, w->shard);
		}
	}
	return 0;
}

static int
validate_routes(struct ctx *c, const struct scpp_config *cfg)
{
	struct scpp_oid_prefix self = {0}, wk = {0};
	char path[96], own[SCPP_OID_STR_MAX], text[SCPP_OID_STR_MAX];

	scpp_oid_prefix_make(&self, scpp_oid_make(cfg->node.locale, cfg->node.id, 0, 0, 0), 48);
	scpp_oid_prefix_make(&wk, SCPP_OID_NIL, 48);
	for (unsigned int i = 0; i < cfg->nb_routes; i++) {
		const struct scpp_config_route *r = &cfg->routes[i];

		snprintf(path, sizeof(path), "$.routes[%u].prefix", i);
		scpp_oid_prefix_format(text, sizeof(text), &r->prefix);
		if (r->prefix.len >= 48 && scpp_oid_prefix_match(&self, r->prefix.oid)) {
			scpp_oid_prefix_format(own, sizeof(own), &self);
			return fail_at(c, path, "expected a prefix outside this node's own %s (routes "
				       "to local shards are implicit), found \"%s\"", own, text);
		}
		if (r->prefix.len >= 48 && scpp_oid_prefix_match(&wk, r->prefix.oid)) {
			return fail_at(c, path, "expected a prefix outside the well-known namespace "
				       "@0.0.0.0.0/48 (served by every node), found \"%s\"", text);
		}
		if (r->prefix.len >= 48 && scpp_oid_node(r->prefix.oid) != r->node) {
			snprintf(path, sizeof(path), "$.routes[%u].node", i);
			return fail_at(c, path, "expected %u, the node the prefix names, found %u",
				       (unsigned int)scpp_oid_node(r->prefix.oid), (unsigned int)r->node);
		}
		for (unsigned int j = 0; j < i; j++) {
			if (cfg->routes[j].prefix.len == r->prefix.len &&
			    scpp_oid_eq(cfg->routes[j].prefix.oid, r->prefix.oid))
				return fail_at(c, path, "expected a prefix not routed by another route, "
					       "found \"%s\" (also $.routes[%u].prefix)", text, j);
		}
	}
	return 0;
}

/* Bytes a worker reserves for the reply being built: the largest result plus
 * the END record (scppd's reply buffer rule). */
#define REPLY_RESERVE(cfg) ((uint64_t)(cfg)->eval.max_result_bytes + 4096)

static int
validate_delivery(struct ctx *c, const struct scpp_config *cfg)
{
	const struct scpp_config_delivery *d = &cfg->delivery;
	uint64_t need = 4 * REPLY_RESERVE(cfg);

	if (d->reassembly_per_source > d->reassembly_slots)
		return fail_at(c, "$.delivery.reassembly_per_source",
			       "expected at most $.delivery.reassembly_slots (%u), found %u",
			       d->reassembly_slots, d->reassembly_per_source);
	/* A parked request's client window must outlive the park. */
	if ((uint64_t)d->park_timeout_ms * 2 > d->retention_ms)
		return fail_at(c, "$.delivery.park_timeout_ms",
			       "expected at most half of $.delivery.retention_ms (%u), found %u",
			       d->retention_ms / 2, d->park_timeout_ms);
	/* The reply cache holds the reply being built plus earlier ones: at
	 * least four of the largest replies, so a large one evicts no more
	 * than a quarter of what is held. */
	if (((uint64_t)d->reply_cache_mb << 20) < need)
		return fail_at(c, "$.delivery.reply_cache_mb",
			       "expected at least %" PRIu64 " (4 x ($.eval.max_result_bytes + 4096)"
			       " bytes, in MiB, rounded up), found %u",
			       (need + (1u << 20) - 1) >> 20, d->reply_cache_mb);
	return 0;
}

static int
validate(struct ctx *c, const struct scpp_config *cfg)
{
	int rc;

	rc = validate_ports(c, cfg);
	if (rc == 0)
		rc = validate_workers(c, cfg);
	if (rc == 0)
		rc = validate_delivery(c, cfg);
	if (rc == 0)
		rc = validate_routes(c, cfg);
	if (rc == 0)
		rc = config_validate_cluster(c, cfg);
	if (rc == 0)
		rc = config_validate_copy(c, cfg);
	return rc;
}

/* ---- loading ----------------------------------------------------------- */

/* Line and column (1-based, columns in bytes) of offset @p off. */
static void
line_col(const char *s, size_t off, unsigned int *line, unsigned int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		if (s[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/*
 * cJSON reports where parsing stopped but not why, and at end of input it
 * points at the last byte. A quick scan of brackets and strings tells an
 * unterminated document apart and finds the bracket left open.
 */
static bool
unterminated(const char *s, size_t len, size_t *open_at)
{
	size_t stack[64];
	unsigned int depth = 0, lost = 0;
	bool in_str = false;

	for (size_t i = 0; i < len; i++) {
		char ch = s[i];

		if (in_str) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_str = false;
			continue;
		}
		if (ch == '"') {
			in_str = true;
			if (depth < 64)
				stack[depth] = i;
			continue;
		}
		if (ch == '{' || ch == '[') {
			if (depth < 64)
				stack[depth++] = i;
			else
				lost++;
		} else if ((ch == '}' || ch == ']') && lost > 0) {
			lost--;
		} else if ((ch == '}' || ch == ']') && depth > 0) {
			depth--;
		}
	}
	if (in_str) {
		*open_at = depth < 64 ? stack[depth] : 0;
		return true;
	}
	if (depth > 0) {
		*open_at = stack[depth - 1];
		return true;
	}
	return false;
}

int
config_syntax_error(struct ctx *c, const char *json, size_t len, size_t off, const char *extra)
{
	struct scpp_config_error *e = c->err;
	unsigned int line, col, oline, ocol;
	size_t open_at = 0;
	char snip[16];
	size_t k;

	c->rc = -SCPP_E_SYNTAX;
	if (e == NULL)
		return c->rc;
	e->path[0] = '\0';
	if (extra == NULL && unterminated(json, len, &open_at)) {
		line_col(json, len, &line, &col);
		line_col(json, open_at, &oline, &ocol);
		e->line = line;
		e->column = col;
		snprintf(e->msg, sizeof(e->msg), "%s:%u:%u: JSON syntax error: unexpected end of "
			 "input, %s opened at %u:%u is not closed", c->name, line, col,
			 json[open_at] == '"' ? "string" : json[open_at] == '{' ? "'{'" : "'['",
			 oline, ocol);
		return c->rc;
	}
	if (len == 0 || off >= len) {
		line_col(json, len, &line, &col);
		e->line = line;
		e->column = col;
		snprintf(e->msg, sizeof(e->msg), "%s:%u:%u: JSON syntax error: %s", c->name, line,
			 col, "expected a JSON object, found nothing");
		return c->rc;
	}
	/* cJSON sometimes stops just past the offending byte (a '}' after a
	 * trailing comma): point at the last byte that is not whitespace. */
	while (off > 0 && strchr(" \t\r\n", json[off]) != NULL)
		off--;
	line_col(json, off, &line, &col);
	e->line = line;
	e->column = col;
	/* A short snippet of what is there, up to the end of the line. */
	for (k = 0; k < sizeof(snip) - 1 && off + k < len && json[off + k] != '\n' &&
		    json[off + k] != '\r'; k++)
		snip[k] = (unsigned char)json[off + k] < 0x20 ? '?' : json[off + k];
	snip[k] = '\0';
	if (extra == NULL) {
		size_t p = off;

		while (p > 0 && strchr(" \t\r\n", json[p - 1]) != NULL)
			p--;
		if (p > 0 && json[p - 1] == ',' && (json[off] == '}' || json[off] == ']'))
			extra = "a trailing comma: ',' must be followed by another member or element";
	}
	snprintf(e->msg, sizeof(e->msg), "%s:%u:%u: JSON syntax error at \"%s\"%s%s", c->name,
		 line, col, snip, extra ? ": " : "", extra ? extra : "");
	return c->rc;
}

int
scpp_config_load_string(const char *json, size_t len, const char *name,
			struct scpp_config *out, struct scpp_config_error *err)
{
	struct ctx c = {.name = name != NULL ? name : "<string>", .err = err, .path = "$"};
	const char *end = NULL;
	struct scpp_config *cfg;
	cJSON *root;
	size_t off;

	if (err != NULL)
		memset(err, 0, sizeof(*err));
	if (json == NULL || out == NULL) {
		if (err != NULL)
			snprintf(err->msg, sizeof(err->msg), "%s: no configuration given", c.name);
		return -EINVAL;
	}
	/* The struct is large (~15 KiB with its fixed string arrays). */
	cfg = malloc(sizeof(*cfg));
	if (cfg == NULL)
		return -ENOMEM;
	scpp_config_defaults(cfg);

	root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
	if (root == NULL) {
		/* cJSON fails the same way when its allocations do; assume
		 * the text is at fault, which is far more likely. */
		off = end != NULL ? (size_t)(end - json) : 0;
		config_syntax_error(&c, json, len, off, NULL);
		goto out;
	}
	off = (size_t)(end - json);
	while (off < len && strchr(" \t\r\n", json[off]) != NULL && json[off] != '\0')
		off++;
	if (off < len) {
		config_syntax_error(&c, json, len, off, "expected the end of input after the top-level value");
		goto out_delete;
	}
	if (parse_object(&c, &config_root, root, cfg) == 0)
		validate(&c, cfg);
	if (c.rc == 0) {
		*out = *cfg;
		cfg->routes = NULL; /* now owned by *out */
		cfg->cluster.nodes = NULL;
	}

out_delete:
	cJSON_Delete(root);
out:
	scpp_config_free(cfg);
	free(cfg);
	return c.rc;
}

int
scpp_config_load_file(const char *path, struct scpp_config *out, struct scpp_config_error *err)
{
	struct stat st;
	size_t got = 0;
	char *buf;
	FILE *f;
	int rc;

	if (err != NULL)
		memset(err, 0, sizeof(*err));
	if (path == NULL || out == NULL)
		return -EINVAL;
	f = fopen(path, "rb");
	if (f == NULL) {
		rc = -errno;
		goto err_msg;
	}
	if (fstat(fileno(f), &st) != 0) {
		rc = -errno;
		goto err_close;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
		goto err_close;
	}
	if (st.st_size > (off_t)FILE_MAX) {
		rc = -EFBIG;
		goto err_close;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		rc = -ENOMEM;
		goto err_close;
	}
	got = fread(buf, 1, (size_t)st.st_size, f);
	if (ferror(f)) {
		rc = -EIO;
		free(buf);
		goto err_close;
	}
	fclose(f);
	buf[got] = '\0';
	rc = scpp_config_load_string(buf, got, path, out, err);
	free(buf);
	return rc;

err_close:
	fclose(f);
err_msg:
	if (err != NULL)
		snprintf(err->msg, sizeof(err->msg), "%s: cannot read the configuration: %s", path,
			 rc == -EFBIG ? "larger than 16 MiB" : strerror(-rc));
	return rc;
}

int
scpp_config_dump(FILE *f, const struct scpp_config *cfg)
{
	if (f == NULL || cfg == NULL)
		return -EINVAL;
	return config_print(f, cfg);
}

const char *
scpp_config_log_level_name(unsigned int level)
{
	if (level < 1 || level > 8)
		return NULL;
	return config_log_levels[level - 1];
}
