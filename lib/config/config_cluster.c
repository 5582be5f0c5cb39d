/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Configuration: the $.cluster section, and the node object it shares with
 * the etcd records of docs/CLUSTER.md.
 *
 * One key table describes a cluster node. $.cluster.nodes[] items and etcd
 * records are both parsed with it and both pass validate_node(), so a record
 * and a config entry are accepted or refused for the same reasons, with the
 * same words. What involves several nodes (duplicate ids, names or
 * addresses, prefixes owned twice) is the cluster map's business
 * (lib/cluster), applied to both sources alike; what ties $.cluster to the
 * rest of this file (this node's own entry, the cluster port, timings) is
 * checked here.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "scpp_common.h"
#include "scpp_oid.h"
#include "scpp_config.h"
#include "config_priv.h"

#define FSIZE(st, m) sizeof(((st *)0)->m)

static const char *const source_names[] = {"static", "etcd", NULL};

static const struct field route_fields[] = {
	{.key = "prefix", .type = T_OID_PREFIX,
	 .off = offsetof(struct scpp_config_cluster_route, prefix), .required = true},
	{.key = "shard", .type = T_UINT, .off = offsetof(struct scpp_config_cluster_route, shard),
	 .size = FSIZE(struct scpp_config_cluster_route, shard), .min = 0, .max = UINT16_MAX - 1,
	 .required = true},
};
static const struct section route_sec = {route_fields, SCPP_ARRAY_SIZE(route_fields), NULL};

static const struct field window_fields[] = {
	{.key = "shard", .type = T_UINT, .off = offsetof(struct scpp_config_cluster_window, shard),
	 .size = FSIZE(struct scpp_config_cluster_window, shard), .min = 0, .max = UINT16_MAX - 1,
	 .required = true},
	{.key = "window", .type = T_OID, .off = offsetof(struct scpp_config_cluster_window, window),
	 .required = true},
	{.key = "descriptor", .type = T_HEX,
	 .off = offsetof(struct scpp_config_cluster_window, desc),
	 .esize = SCPP_CONFIG_WINDOW_DESC, .required = true},
};
static const struct section window_sec = {window_fields, SCPP_ARRAY_SIZE(window_fields), NULL};

static const struct field memwin_fields[] = {
	{.key = "shard", .type = T_UINT, .off = offsetof(struct scpp_config_cluster_memwin, shard),
	 .size = FSIZE(struct scpp_config_cluster_memwin, shard), .min = 0, .max = UINT16_MAX - 1,
	 .required = true},
	{.key = "name", .type = T_STR, .off = offsetof(struct scpp_config_cluster_memwin, name),
	 .cs = CS_NAME, .min = 1, .max = SCPP_CONFIG_NAME_SIZE - 1,
	 .esize = SCPP_CONFIG_NAME_SIZE, .required = true},
	{.key = "window", .type = T_OID, .off = offsetof(struct scpp_config_cluster_memwin, window),
	 .required = true},
	{.key = "length", .type = T_UINT, .off = offsetof(struct scpp_config_cluster_memwin, length),
	 .size = FSIZE(struct scpp_config_cluster_memwin, length), .min = 1,
	 .max = SCPP_CONFIG_NODE_MEMWIN_BYTES_MAX, .required = true},
	{.key = "descriptor", .type = T_HEX,
	 .off = offsetof(struct scpp_config_cluster_memwin, desc),
	 .esize = SCPP_CONFIG_WINDOW_DESC, .required = true},
};
static const struct section memwin_sec = {memwin_fields, SCPP_ARRAY_SIZE(memwin_fields), NULL};

static const struct field node_fields[] = {
	{.key = "id", .type = T_UINT, .off = offsetof(struct scpp_config_cluster_node, id),
	 .size = FSIZE(struct scpp_config_cluster_node, id), .min = 1, .max = UINT32_MAX,
	 .required = true},
	{.key = "name", .type = T_STR, .off = offsetof(struct scpp_config_cluster_node, name),
	 .cs = CS_NAME, .min = 1, .max = SCPP_CONFIG_NAME_SIZE - 1,
	 .esize = SCPP_CONFIG_NAME_SIZE, .required = true},
	{.key = "locale", .type = T_UINT, .off = offsetof(struct scpp_config_cluster_node, locale),
	 .size = FSIZE(struct scpp_config_cluster_node, locale), .min = 0, .max = UINT16_MAX},
	{.key = "ipv4", .type = T_IPV4, .off = offsetof(struct scpp_config_cluster_node, ipv4),
	 .required = true},
	{.key = "base_port", .type = T_UINT,
	 .off = offsetof(struct scpp_config_cluster_node, base_port),
	 .size = FSIZE(struct scpp_config_cluster_node, base_port), .min = 1, .max = UINT16_MAX - 1},
	{.key = "shards", .type = T_UINT_LIST, .off = offsetof(struct scpp_config_cluster_node, shards),
	 .aux = offsetof(struct scpp_config_cluster_node, nb_shards), .size = sizeof(uint16_t),
	 .min = 0, .max = UINT16_MAX - 1, .items_min = 1, .items_max = SCPP_CONFIG_NODE_SHARDS,
	 .required = true},
	{.key = "mac", .type = T_MAC_OPT, .off = offsetof(struct scpp_config_cluster_node, mac),
	 .aux = offsetof(struct scpp_config_cluster_node, has_mac)},
	{.key = "routes", .type = T_LIST, .off = offsetof(struct scpp_config_cluster_node, routes),
	 .aux = offsetof(struct scpp_config_cluster_node, nb_routes), .min = 0,
	 .max = SCPP_CONFIG_NODE_ROUTES, .esize = sizeof(struct scpp_config_cluster_route),
	 .sec = &route_sec},
	{.key = "windows", .type = T_LIST, .off = offsetof(struct scpp_config_cluster_node, windows),
	 .aux = offsetof(struct scpp_config_cluster_node, nb_windows), .min = 0,
	 .max = SCPP_CONFIG_NODE_WINDOWS, .esize = sizeof(struct scpp_config_cluster_window),
	 .sec = &window_sec},
	{.key = "memory_windows", .type = T_LIST,
	 .off = offsetof(struct scpp_config_cluster_node, memwins),
	 .aux = offsetof(struct scpp_config_cluster_node, nb_memwins), .min = 0,
	 .max = SCPP_CONFIG_NODE_MEMWINS, .esize = sizeof(struct scpp_config_cluster_memwin),
	 .sec = &memwin_sec},
};
const struct section config_cluster_node_sec = {node_fields, SCPP_ARRAY_SIZE(node_fields),
						config_cluster_node_defaults};

#define F_EUINT(k, m, lo, hi)                                                        \
	{.key = k, .type = T_UINT, .off = offsetof(struct scpp_config_cluster_etcd, m), \
	 .size = FSIZE(struct scpp_config_cluster_etcd, m), .min = lo, .max = hi}
static const struct field etcd_fields[] = {
	{.key = "endpoints", .type = T_STR_LIST,
	 .off = offsetof(struct scpp_config_cluster_etcd, endpoints),
	 .aux = offsetof(struct scpp_config_cluster_etcd, nb_endpoints), .cs = CS_URL, .min = 1,
	 .max = SCPP_CONFIG_MAX_ETCD_ENDPOINTS, .esize = SCPP_CONFIG_PATH_SIZE},
	{.key = "prefix", .type = T_STR, .off = offsetof(struct scpp_config_cluster_etcd, prefix),
	 .cs = CS_KEY, .min = 2, .max = SCPP_CONFIG_ETCD_PREFIX_SIZE - 1,
	 .esize = SCPP_CONFIG_ETCD_PREFIX_SIZE},
	/* etcd itself raises TTLs below about 1.5 election timeouts (1.5 s at
	 * its defaults); 2 s is the shortest that means what it says. */
	F_EUINT("lease_ttl_s", lease_ttl_s, 2, 3600),
	F_EUINT("poll_ms", poll_ms, 50, 60000),
	F_EUINT("timeout_ms", timeout_ms, 50, 30000),
	F_EUINT("start_wait_ms", start_wait_ms, 0, 600000),
};
static const struct section etcd_sec = {etcd_fields, SCPP_ARRAY_SIZE(etcd_fields), NULL};

static const struct field forward_fields[] = {
	{.key = "enabled", .type = T_BOOL,
	 .off = offsetof(struct scpp_config_cluster_forward, enabled)},
	{.key = "max_hops", .type = T_UINT,
	 .off = offsetof(struct scpp_config_cluster_forward, max_hops),
	 .size = FSIZE(struct scpp_config_cluster_forward, max_hops), .min = 1,
	 .max = SCPP_CONFIG_FORWARD_HOPS_MAX},
};
static const struct section forward_sec = {forward_fields, SCPP_ARRAY_SIZE(forward_fields), NULL};

#define F_CUINT(k, m, lo, hi)                                                        \
	{.key = k, .type = T_UINT, .off = offsetof(struct scpp_config_cluster_cont, m), \
	 .size = FSIZE(struct scpp_config_cluster_cont, m), .min = lo, .max = hi}
static const struct field cont_fields[] = {
	{.key = "enabled", .type = T_BOOL, .off = offsetof(struct scpp_config_cluster_cont, enabled)},
	/* At most the owners' retention of answers (2000 ms, PROTOCOL.md §19.4). */
	F_CUINT("timeout_ms", timeout_ms, 10, 2000),
	F_CUINT("max_hops", max_hops, 1, 8),
	F_CUINT("max_rows", max_rows, 1, 65536),
	F_CUINT("max_pending", max_pending, 1, 65536),
	{.key = "fan_out", .type = T_BOOL, .off = offsetof(struct scpp_config_cluster_cont, fan_out)},
	F_CUINT("max_fan_out", max_fan_out, 1, 1024),
};
static const struct section cont_sec = {cont_fields, SCPP_ARRAY_SIZE(cont_fields), NULL};

static const struct field cluster_fields[] = {
	{.key = "source", .type = T_ENUM, .off = offsetof(struct scpp_config_cluster, source),
	 .size = sizeof(enum scpp_config_cluster_source), .names = source_names},
	{.key = "port", .type = T_UINT, .off = offsetof(struct scpp_config_cluster, port),
	 .size = FSIZE(struct scpp_config_cluster, port), .min = 0, .max = SCPP_CONFIG_MAX_PORTS - 1},
	{.key = "nodes", .type = T_HEAP_LIST, .off = offsetof(struct scpp_config_cluster, nodes),
	 .aux = offsetof(struct scpp_config_cluster, nb_nodes), .min = 0,
	 .max = SCPP_CONFIG_MAX_NODES, .esize = sizeof(struct scpp_config_cluster_node),
	 .sec = &config_cluster_node_sec},
	{.key = "etcd", .type = T_SECTION, .off = offsetof(struct scpp_config_cluster, etcd),
	 .sec = &etcd_sec},
	{.key = "forward", .type = T_SECTION, .off = offsetof(struct scpp_config_cluster, forward),
	 .sec = &forward_sec},
	{.key = "cont", .type = T_SECTION, .off = offsetof(struct scpp_config_cluster, cont),
	 .sec = &cont_sec},
};
const struct section config_cluster_sec = {cluster_fields, SCPP_ARRAY_SIZE(cluster_fields), NULL};

void
config_cluster_node_defaults(void *item)
{
	struct scpp_config_cluster_node *n = item;

	memset(n, 0, sizeof(*n));
	n->base_port = 7300;
}

void
config_cluster_defaults(struct scpp_config_cluster *cl)
{
	memset(cl, 0, sizeof(*cl));
	cl->source = SCPP_CONFIG_CLUSTER_STATIC;
	cl->port = 0;
	cl->nb_nodes = 0;
	cl->nodes = NULL;
	cl->etcd.nb_endpoints = 1;
	snprintf(cl->etcd.endpoints[0], sizeof(cl->etcd.endpoints[0]), "http://127.0.0.1:2379");
	snprintf(cl->etcd.prefix, sizeof(cl->etcd.prefix), "/scpp/default/");
	cl->etcd.lease_ttl_s = 10;
	cl->etcd.poll_ms = 500;
	cl->etcd.timeout_ms = 1000;
	cl->etcd.start_wait_ms = 5000;
	cl->forward.enabled = true;
	cl->forward.max_hops = 2;
	cl->cont.enabled = true;
	cl->cont.timeout_ms = 500;
	cl->cont.max_hops = 4;
	cl->cont.max_rows = 1024;
	cl->cont.max_pending = 256;
	cl->cont.fan_out = false;
	cl->cont.max_fan_out = 64;
}

const char *
scpp_config_cluster_source_name(enum scpp_config_cluster_source s)
{
	return (unsigned int)s < SCPP_ARRAY_SIZE(source_names) - 1 ? source_names[s] : NULL;
}

static bool
shard_listed(const uint16_t *shards, unsigned int n, uint16_t s)
{
	for (unsigned int i = 0; i < n; i++)
		if (shards[i] == s)
			return true;
	return false;
}

/*
 * The checks one node passes on its own, for a $.cluster.nodes[] item
 * (@p at = "$.cluster.nodes[3]") and for an etcd record (@p at = "$").
 */
static int
validate_node(struct ctx *c, const struct scpp_config_cluster_node *n, const char *at)
{
	struct scpp_oid_prefix wk;
	char path[160], text[SCPP_OID_STR_MAX + 8];
	unsigned int max_shard = UINT16_MAX - 1u - n->base_port;

	scpp_oid_prefix_make(&wk, SCPP_OID_NIL, 48);
	for (unsigned int i = 0; i < n->nb_shards; i++) {
		snprintf(path, sizeof(path), "%s.shards[%u]", at, i);
		if (n->shards[i] > max_shard)
			return config_fail_at(c, path, "expected at most %u, so that the shard's UDP "
					      "port base_port + 1 + shard stays below 65536, found %u",
					      max_shard, n->shards[i]);
		for (unsigned int j = 0; j < i; j++)
			if (n->shards[j] == n->shards[i])
				return config_fail_at(c, path, "expected a shard not listed before, "
						      "found %u (also %s.shards[%u])", n->shards[i],
						      at, j);
	}
	for (unsigned int i = 0; i < n->nb_routes; i++) {
		const struct scpp_config_cluster_route *r = &n->routes[i];
		bool served = false;

		scpp_oid_prefix_format(text, sizeof(text), &r->prefix);
		snprintf(path, sizeof(path), "%s.routes[%u].prefix", at, i);
		if (r->prefix.len >= 48 && scpp_oid_prefix_match(&wk, r->prefix.oid))
			return config_fail_at(c, path, "expected a prefix outside the well-known "
					      "namespace @0.0.0.0.0/48 (served by every node), found "
					      "\"%s\"", text);
		for (unsigned int j = 0; j < n->nb_shards; j++) {
			struct scpp_oid_prefix sp = scpp_oid_shard_prefix(n->locale, n->id,
									  n->shards[j]);

			if (sp.len == r->prefix.len && scpp_oid_eq(sp.oid, r->prefix.oid))
				return config_fail_at(c, path, "expected a prefix other than the "
						      "node's shard prefixes (shard %u's is implicit), "
						      "found \"%s\"", n->shards[j], text);
			served |= n->shards[j] == r->shard;
		}
		for (unsigned int j = 0; j < i; j++)
			if (n->routes[j].prefix.len == r->prefix.len &&
			    scpp_oid_eq(n->routes[j].prefix.oid, r->prefix.oid))
				return config_fail_at(c, path, "expected a prefix not listed before, "
						      "found \"%s\" (also %s.routes[%u].prefix)", text,
						      at, j);
		if (!served) {
			snprintf(path, sizeof(path), "%s.routes[%u].shard", at, i);
			return config_fail_at(c, path, "expected one of the node's shards, found %u",
					      r->shard);
		}
	}
	for (unsigned int i = 0; i < n->nb_windows; i++) {
		const struct scpp_config_cluster_window *win = &n->windows[i];
		struct scpp_oid_prefix sp = scpp_oid_shard_prefix(n->locale, n->id, win->shard);

		snprintf(path, sizeof(path), "%s.windows[%u].shard", at, i);
		if (!shard_listed(n->shards, n->nb_shards, win->shard))
			return config_fail_at(c, path, "expected one of the node's shards, found %u",
					      win->shard);
		for (unsigned int j = 0; j < i; j++)
			if (n->windows[j].shard == win->shard)
				return config_fail_at(c, path, "expected a shard whose window is not "
						      "listed before, found %u (also %s.windows[%u])",
						      win->shard, at, j);
		if (!scpp_oid_prefix_match(&sp, win->window)) {
			scpp_oid_format(text, sizeof(text), win->window);
			snprintf(path, sizeof(path), "%s.windows[%u].window", at, i);
			return config_fail_at(c, path, "expected an OID of shard %u's prefix "
					      "@%x.%x.%x.0.0/64, found \"%s\"", win->shard, n->locale,
					      n->id, win->shard, text);
		}
	}
	for (unsigned int i = 0; i < n->nb_memwins; i++) {
		const struct scpp_config_cluster_memwin *mw = &n->memwins[i];
		struct scpp_oid_prefix sp = scpp_oid_shard_prefix(n->locale, n->id, mw->shard);

		snprintf(path, sizeof(path), "%s.memory_windows[%u].shard", at, i);
		if (!shard_listed(n->shards, n->nb_shards, mw->shard))
			return config_fail_at(c, path, "expected one of the node's shards, found %u",
					      mw->shard);
		snprintf(path, sizeof(path), "%s.memory_windows[%u].name", at, i);
		for (unsigned int j = 0; j < i; j++)
			if (strcmp(n->memwins[j].name, mw->name) == 0)
				return config_fail_at(c, path, "expected a name not listed before, "
						      "found \"%s\" (also %s.memory_windows[%u])",
						      mw->name, at, j);
		scpp_oid_format(text, sizeof(text), mw->window);
		snprintf(path, sizeof(path), "%s.memory_windows[%u].window", at, i);
		if (!scpp_oid_prefix_match(&sp, mw->window))
			return config_fail_at(c, path, "expected an OID of shard %u's prefix "
					      "@%x.%x.%x.0.0/64, found \"%s\"", mw->shard, n->locale,
					      n->id, mw->shard, text);
		for (unsigned int j = 0; j < i; j++)
			if (scpp_oid_eq(n->memwins[j].window, mw->window))
				return config_fail_at(c, path, "expected a window not listed before, "
						      "found \"%s\" (also %s.memory_windows[%u])",
						      text, at, j);
		for (unsigned int j = 0; j < n->nb_windows; j++)
			if (scpp_oid_eq(n->windows[j].window, mw->window))
				return config_fail_at(c, path, "expected a window other than the "
						      "arena windows, found \"%s\" (also %s.windows[%u])",
						      text, at, j);
	}
	return 0;
}

/* This node's own entry must describe the node this file configures. */
static int
validate_self(struct ctx *c, const struct scpp_config *cfg,
	      const struct scpp_config_cluster_node *n, unsigned int idx)
{
	const struct scpp_config_port *p = &cfg->ports[cfg->cluster.port];
	char path[96], a[16], b[16], list[SCPP_CONFIG_NODE_SHARDS * 7];
	size_t len = 0;
	bool same = n->nb_shards == cfg->nb_workers;

	if (n->locale != cfg->node.locale) {
		snprintf(path, sizeof(path), "$.cluster.nodes[%u].locale", idx);
		return config_fail_at(c, path, "expected %u, this node's $.node.locale, found %u",
				      cfg->node.locale, n->locale);
	}
	if (n->ipv4 != p->ipv4) {
		config_ipv4_format(a, p->ipv4);
		config_ipv4_format(b, n->ipv4);
		snprintf(path, sizeof(path), "$.cluster.nodes[%u].ipv4", idx);
		return config_fail_at(c, path, "expected \"%s\", the address of $.ports[%u] (this "
				      "node's $.cluster.port), found \"%s\"", a, cfg->cluster.port, b);
	}
	if (n->base_port != cfg->udp.base_port) {
		snprintf(path, sizeof(path), "$.cluster.nodes[%u].base_port", idx);
		return config_fail_at(c, path, "expected %u, this node's $.udp.base_port, found %u",
				      cfg->udp.base_port, n->base_port);
	}
	for (unsigned int i = 0; i < cfg->nb_workers && same; i++)
		same = shard_listed(n->shards, n->nb_shards, cfg->workers[i].shard);
	if (!same) {
		for (unsigned int i = 0; i < cfg->nb_workers && len < sizeof(list); i++)
			len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%u", i ? ", " : "",
						cfg->workers[i].shard);
		snprintf(path, sizeof(path), "$.cluster.nodes[%u].shards", idx);
		return config_fail_at(c, path, "expected the shards of $.workers (%s), in any order",
				      list);
	}
	return 0;
}

int
config_validate_cluster(struct ctx *c, const struct scpp_config *cfg)
{
	const struct scpp_config_cluster *cl = &cfg->cluster;
	const struct scpp_config_cluster_etcd *e = &cl->etcd;
	char at[64];
	int self = -1, rc;

	if (cl->port >= cfg->nb_ports)
		return config_fail_at(c, "$.cluster.port", "expected the index of one of the %u "
				      "entries of $.ports (0..%u), found %u", cfg->nb_ports,
				      cfg->nb_ports - 1, cl->port);
	for (unsigned int i = 0; i < cl->nb_nodes; i++) {
		snprintf(at, sizeof(at), "$.cluster.nodes[%u]", i);
		rc = validate_node(c, &cl->nodes[i], at);
		if (rc != 0)
			return rc;
		if (cl->nodes[i].id == cfg->node.id && self < 0)
			self = (int)i;
	}
	if (cl->nb_nodes > 0 && self < 0)
		return config_fail_at(c, "$.cluster.nodes", "expected an entry for this node "
				      "($.node.id %u) among the %u nodes", cfg->node.id, cl->nb_nodes);
	if (self >= 0) {
		rc = validate_self(c, cfg, &cl->nodes[self], (unsigned int)self);
		if (rc != 0)
			return rc;
	}
	for (unsigned int i = 0; i < cl->nb_nodes; i++)
		if (cl->nodes[i].nb_windows > 0) {
			snprintf(at, sizeof(at), "$.cluster.nodes[%u].windows", i);
			return config_fail_at(c, at, "expected no windows in the configuration (a "
					      "node publishes its own in its etcd record, made at "
					      "run time: docs/COPY.md \"Peers' windows\"), found %u",
					      cl->nodes[i].nb_windows);
		}
	for (unsigned int i = 0; i < cl->nb_nodes; i++)
		if (cl->nodes[i].nb_memwins > 0) {
			snprintf(at, sizeof(at), "$.cluster.nodes[%u].memory_windows", i);
			return config_fail_at(c, at, "expected no memory windows in the configuration "
					      "(a node publishes its own in its etcd record, made at "
					      "run time: docs/COPY.md \"Memory windows on other "
					      "nodes\"), found %u", cl->nodes[i].nb_memwins);
		}
	if (cl->source == SCPP_CONFIG_CLUSTER_ETCD && cl->nb_nodes > 1)
		return config_fail_at(c, "$.cluster.nodes", "expected at most this node's own entry "
				      "with \"source\": \"etcd\" (the other nodes register "
				      "themselves), found %u entries", cl->nb_nodes);
	if (cfg->nb_routes > 0 && (cl->nb_nodes > 0 || cl->source == SCPP_CONFIG_CLUSTER_ETCD))
		return config_fail_at(c, "$.routes", "expected no routes when $.cluster describes "
				      "the cluster (give other nodes' prefixes as "
				      "$.cluster.nodes[].routes), found %u", cfg->nb_routes);
	/* A keepalive that may take longer than a third of the TTL could let
	 * the lease lapse while it is under way. */
	if ((uint64_t)e->timeout_ms * 3 > (uint64_t)e->lease_ttl_s * 1000)
		return config_fail_at(c, "$.cluster.etcd.timeout_ms", "expected at most a third of "
				      "$.cluster.etcd.lease_ttl_s (%u ms), found %u",
				      e->lease_ttl_s * 1000 / 3, e->timeout_ms);
	/* Departures must show within a TTL of the lease's end. */
	if ((uint64_t)e->poll_ms > (uint64_t)e->lease_ttl_s * 1000)
		return config_fail_at(c, "$.cluster.etcd.poll_ms", "expected at most "
				      "$.cluster.etcd.lease_ttl_s (%u ms), found %u",
				      e->lease_ttl_s * 1000, e->poll_ms);
	return 0;
}

int
scpp_config_cluster_node_parse(const char *json, size_t len, const char *name,
			       struct scpp_config_cluster_node *out, struct scpp_config_error *err)
{
	struct ctx c = {.name = name != NULL ? name : "<record>", .err = err, .path = "$"};
	struct scpp_config_cluster_node n;
	const char *end = NULL;
	cJSON *root;
	size_t off;

	if (err != NULL)
		memset(err, 0, sizeof(*err));
	if (json == NULL || out == NULL) {
		if (err != NULL)
			snprintf(err->msg, sizeof(err->msg), "%s: no record given", c.name);
		return -EINVAL;
	}
	if (len > SCPP_CONFIG_RECORD_MAX) {
		if (err != NULL)
			snprintf(err->msg, sizeof(err->msg), "%s: record of %zu bytes, above the %u a "
				 "node record may have", c.name, len, SCPP_CONFIG_RECORD_MAX);
		return -EINVAL;
	}
	root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
	if (root == NULL) {
		off = end != NULL ? (size_t)(end - json) : 0;
		return config_syntax_error(&c, json, len, off, NULL);
	}
	off = (size_t)(end - json);
	while (off < len && strchr(" \t\r\n", json[off]) != NULL && json[off] != '\0')
		off++;
	if (off < len) {
		config_syntax_error(&c, json, len, off,
				    "expected the end of input after the top-level value");
		goto out;
	}
	config_cluster_node_defaults(&n);
	if (config_parse_object(&c, &config_cluster_node_sec, root, &n) == 0 &&
	    validate_node(&c, &n, "$") == 0)
		*out = n;
out:
	cJSON_Delete(root);
	return c.rc;
}
