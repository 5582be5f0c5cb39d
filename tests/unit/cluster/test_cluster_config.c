/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/config's $.cluster section and the node record parser it shares with
 * etcd (scpp_config_cluster_node_parse()): defaults, a valid value for every
 * key, the dump round trip, and every malformed section and record refused
 * with its exact message and path, one bad field at a time.
 *
 * These tests live with lib/cluster (not in tests/unit/config) because the
 * record format is the cluster's: docs/CLUSTER.md is their specification.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scpp_test.h"
#include "scpp_common.h"
#include "scpp_config.h"

/* Field by field: prefixes carry padding that parsing leaves undefined. */
static void
assert_node_equal(const struct scpp_config_cluster_node *a, const struct scpp_config_cluster_node *b)
{
	assert_int_equal(a->id, b->id);
	assert_string_equal(a->name, b->name);
	assert_int_equal(a->locale, b->locale);
	assert_int_equal(a->ipv4, b->ipv4);
	assert_int_equal(a->base_port, b->base_port);
	assert_int_equal(a->nb_shards, b->nb_shards);
	assert_memory_equal(a->shards, b->shards, a->nb_shards * sizeof(a->shards[0]));
	assert_int_equal(a->has_mac, b->has_mac);
	assert_memory_equal(a->mac, b->mac, 6);
	assert_int_equal(a->nb_routes, b->nb_routes);
	for (unsigned int i = 0; i < a->nb_routes; i++) {
		assert_int_equal(a->routes[i].prefix.len, b->routes[i].prefix.len);
		assert_true(scpp_oid_eq(a->routes[i].prefix.oid, b->routes[i].prefix.oid));
		assert_int_equal(a->routes[i].shard, b->routes[i].shard);
	}
}

static int
load(const char *json, struct scpp_config *c, struct scpp_config_error *e)
{
	return scpp_config_load_string(json, strlen(json), "scppd.json", c, e);
}

static void
test_cluster_config_defaults_are_a_static_single_node(void **state)
{
	struct scpp_config c;
	struct scpp_config_error e;
	(void)state;

	assert_int_equal(load("{}", &c, &e), 0);
	assert_int_equal(c.cluster.source, SCPP_CONFIG_CLUSTER_STATIC);
	assert_int_equal(c.cluster.port, 0);
	assert_int_equal(c.cluster.nb_nodes, 0);
	assert_null(c.cluster.nodes);
	assert_int_equal(c.cluster.etcd.nb_endpoints, 1);
	assert_string_equal(c.cluster.etcd.endpoints[0], "http://127.0.0.1:2379");
	assert_string_equal(c.cluster.etcd.prefix, "/scpp/default/");
	assert_int_equal(c.cluster.etcd.lease_ttl_s, 10);
	assert_int_equal(c.cluster.etcd.poll_ms, 500);
	assert_int_equal(c.cluster.etcd.timeout_ms, 1000);
	assert_int_equal(c.cluster.etcd.start_wait_ms, 5000);
	assert_string_equal(scpp_config_cluster_source_name(SCPP_CONFIG_CLUSTER_ETCD), "etcd");
	assert_null(scpp_config_cluster_source_name((enum scpp_config_cluster_source)7));
	scpp_config_free(&c);
}

/* A node 1 with two workers and a three-node static cluster. */
#define BASE                                                                           \
	"\"node\": {\"id\": 1, \"name\": \"n1\"},"                                    \
	"\"ports\": [{\"devargs\": \"net_tap0\", \"ipv4\": \"198.18.0.2/24\"},"     \
	"            {\"devargs\": \"net_tap1\", \"ipv4\": \"198.18.1.2/24\"}],"    \
	"\"workers\": [{\"lcore\": 1, \"shard\": 0}, {\"lcore\": 2, \"shard\": 1}]"
#define SELF1 "{\"id\": 1, \"name\": \"n1\", \"ipv4\": \"198.18.0.2\", \"shards\": [1, 0]}"

static const char full[] =
	"{" BASE ","
	"\"cluster\": {\"source\": \"static\", \"port\": 0, \"nodes\": ["
	SELF1 ","
	" {\"id\": 2, \"name\": \"n2\", \"locale\": 3, \"ipv4\": \"198.18.0.3\", \"base_port\": 7400,"
	"  \"shards\": [0, 5], \"mac\": \"02:00:0A:0b:0c:0d\","
	"  \"routes\": [{\"prefix\": \"@3.2.0.0.0/48\", \"shard\": 5}]},"
	" {\"id\": 4294967295, \"name\": \"n-max\", \"ipv4\": \"198.18.0.4\", \"shards\": [65533],"
	"  \"base_port\": 1, \"mac\": null, \"routes\": []}"
	"], \"etcd\": {\"endpoints\": [\"http://198.18.1.1:2379\", \"http://localhost:22379\"],"
	" \"prefix\": \"/scpp/prod-1/\", \"lease_ttl_s\": 3600, \"poll_ms\": 60000,"
	" \"timeout_ms\": 30000, \"start_wait_ms\": 0}}}";

static void
test_cluster_config_accepts_every_key_and_dumps_back(void **state)
{
	struct scpp_config c, d;
	struct scpp_config_error e;
	const struct scpp_config_cluster_node *n;
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	(void)state;

	if (load(full, &c, &e) != 0)
		fail_msg("%s", e.msg);
	assert_int_equal(c.cluster.nb_nodes, 3);
	n = &c.cluster.nodes[1];
	assert_int_equal(n->id, 2);
	assert_string_equal(n->name, "n2");
	assert_int_equal(n->locale, 3);
	assert_int_equal(n->ipv4, (198u << 24) | (18u << 16) | 3);
	assert_int_equal(n->base_port, 7400);
	assert_int_equal(n->nb_shards, 2);
	assert_int_equal(n->shards[1], 5);
	assert_true(n->has_mac);
	assert_memory_equal(n->mac, ((const uint8_t[]){2, 0, 10, 11, 12, 13}), 6);
	assert_int_equal(n->nb_routes, 1);
	assert_int_equal(n->routes[0].shard, 5);
	assert_int_equal(n->routes[0].prefix.len, 48);
	assert_int_equal(c.cluster.nodes[0].base_port, 7300); /* the default */
	assert_int_equal(c.cluster.nodes[2].id, UINT32_MAX);
	assert_false(c.cluster.nodes[2].has_mac);
	assert_int_equal(c.cluster.etcd.nb_endpoints, 2);
	assert_string_equal(c.cluster.etcd.endpoints[1], "http://localhost:22379");
	assert_string_equal(c.cluster.etcd.prefix, "/scpp/prod-1/");
	assert_int_equal(c.cluster.etcd.start_wait_ms, 0);

	/* The dump loads back to the same section. */
	f = open_memstream(&text, &len);
	assert_int_equal(scpp_config_dump(f, &c), 0);
	fclose(f);
	assert_non_null(strstr(text, "\"mac\": \"02:00:0a:0b:0c:0d\""));
	assert_non_null(strstr(text, "\"shards\": [0, 5]"));
	if (scpp_config_load_string(text, len, "dump", &d, &e) != 0)
		fail_msg("%s\n%s", e.msg, text);
	assert_int_equal(d.cluster.nb_nodes, 3);
	for (unsigned int i = 0; i < 3; i++)
		assert_node_equal(&d.cluster.nodes[i], &c.cluster.nodes[i]);
	assert_memory_equal(&d.cluster.etcd, &c.cluster.etcd, sizeof(c.cluster.etcd));
	free(text);
	scpp_config_free(&d);
	scpp_config_free(&c);
}

struct bad {
	const char *json;
	const char *path;
	const char *msg; /* exact */
};

#define CL(x) "{" BASE ", \"cluster\": " x "}"
#define NODES(x) CL("{\"nodes\": [" SELF1 ", " x "]}")
#define ETCD(x) CL("{\"etcd\": " x "}")

static const struct bad bad_sections[] = {
	{CL("[]"), "$.cluster", "scppd.json: $.cluster: expected an object, found an array"},
	{CL("{\"sorce\": \"etcd\"}"), "$.cluster.sorce",
	 "scppd.json: $.cluster.sorce: unknown key (did you mean \"source\"?)"},
	{CL("{\"source\": \"zookeeper\"}"), "$.cluster.source",
	 "scppd.json: $.cluster.source: expected one of \"static\", \"etcd\", found \"zookeeper\""},
	{CL("{\"port\": 2}"), "$.cluster.port",
	 "scppd.json: $.cluster.port: expected the index of one of the 2 entries of $.ports "
	 "(0..1), found 2"},
	{CL("{\"port\": 8}"), "$.cluster.port",
	 "scppd.json: $.cluster.port: expected an integer in 0..7, found 8"},
	{CL("{\"nodes\": {}}"), "$.cluster.nodes",
	 "scppd.json: $.cluster.nodes: expected an array of objects, found an object"},
	{CL("{\"nodes\": [{\"id\": 2, \"name\": \"n2\", \"ipv4\": \"198.18.0.3\", \"shards\": [0]}]}"),
	 "$.cluster.nodes", "scppd.json: $.cluster.nodes: expected an entry for this node "
	 "($.node.id 1) among the 1 nodes"},
	/* One bad field of a node at a time. */
	/* Windows are made at run time: a node publishes its own in etcd. */
	{NODES("{\"id\": 2, \"name\": \"n2\", \"ipv4\": \"198.18.0.3\", \"shards\": [0], "
	       "\"windows\": [{\"shard\": 0, \"window\": \"@0.2.0.0.2a\", \"descriptor\": \""
	       "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\"}]}"),
	 "$.cluster.nodes[1].windows", "scppd.json: $.cluster.nodes[1].windows: expected no "
	 "windows in the configuration (a node publishes its own in its etcd record, made at run "
	 "time: docs/COPY.md \"Peers' windows\"), found 1"},
	{NODES("{\"id\": 2, \"name\": \"n2\", \"ipv4\": \"198.18.0.3\", \"shards\": [0], "
	       "\"memory_windows\": [{\"shard\": 0, \"name\": \"m\", \"window\": \"@0.2.0.0.2a\", "
	       "\"length\": 4096, \"descriptor\": \"0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\"}]}"),
	 "$.cluster.nodes[1].memory_windows", "scppd.json: $.cluster.nodes[1].memory_windows: "
	 "expected no memory windows in the configuration (a node publishes its own in its etcd "
	 "record, made at run time: docs/COPY.md \"Memory windows on other nodes\"), found 1"},
	{NODES("{\"name\": \"n2\", \"ipv4\": \"198.18.0.3\", \"shards\": [0]}"),
	 "$.cluster.nodes[1].id", "scppd.json: $.cluster.nodes[1].id: expected an integer in "
	 "1..4294967295, found nothing (the key is required)"},
	{NODES("{\"id\": 0, \"name\": \"n2\", \"ipv4\": \"198.18.0.3\", \"shards\": [0]}"),
	 "$.cluster.nodes[1].id", "scppd.json: $.cluster.nodes[1].id: expected an integer in "
	 "1..4294967295, found 0"},
	{NODES("{\"id\": 2, \"ipv4\": \"198.18.0.3\", \"shards\": [0]}"), "$.cluster.nodes[1].name",
	 "scppd.json: $.cluster.nodes[1].name: expected a string of 1..63 letters, digits, '.', "
	 "'_' or '-', found nothing (the key is required)"},
	{NODES("{\"id\": 2, \"name\": \"n 2\", \"ipv4\": \"198.18.0.3\", \"shards\": [0]}"),
	 "$.cluster.nodes[1].name", "scppd.json: $.cluster.nodes[1].name: expected a string of "
	 "1..63 letters, digits, '.', '_' or '-', found \"n 2\""},
	{NODES("{\"id\": 2, \"name\": \"n2\", \"shards\": [0]}"), "$.cluster.nodes[1].ipv4",
	 "scppd.json: $.cluster.nodes[1].ipv4: expected an IPv4 address like \"198.18.0.3\", "
	 "found nothing (the key is required)"},
	{NODES("{\"id\": 2, \"name\": \"n2\", \"ipv4\": \"198.18.0.3/24\", \"shards\": [0]}"),
	 "$.cluster.nodes[1].ipv4", "scppd.json: $.cluster.nodes[1].ipv4: expected an IPv4 "
	 "address like \"198.18.0.3\", found \"198.18.0.3/24\""},
	{NODES("{\"id\": 2, \"name\": \"n2\", \"ipv4\": \"0.0.0.0\", \"shards\": [0]}"),
	 "$.cluster.nodes[1].ipv4", "scppd.json: $.cluster.nodes[1].ipv4: expected an IPv4 "
	 "address like \"198.18.0.3\", found \"0.0.0.0\""},
	{NODES("{\"id\": 2, \"name\": \"n2\", \"ipv4\": \"198.18.0.3\", \"base_port\": 65535, "
	       "\"shards\": [0]}"),
	 "$.cluster.nodes[1].base_port", "scppd.json: $.cluster.nodes[1].base_port: expected an "
	 "integer in 1..65534, found 65535"},
	{NODES("{\"id\": 2, \"name\": \"n2\", \"ipv4\": \"198.18.0.3\"}"), "$.cluster.nodes[1].shards",
	 "scppd.json: $.cluster.nodes[1].shards: expected an array of 1..64 integers in 0..65534, "
	 "found nothing (the key is required)"},
	{NODES("{\"id\": 2, \"name\": \"n2\", \"ipv4\": \"198.18.0.3\", \"shards\": []}"),
	 "$.cluster.nodes[1].shards", "scppd.json: $.cluster.nodes[1].shards: expected an array "
	 "of 1..64 integers, found 0 of them"},
	{NODES("{\"id\": 2, \"name\": \"n2\", \"ipv4\": \"198.18.0.3\", \"shards\": 0}"),
	 "$.cluster.nodes[1].shards", "scppd.json: $.cluster.nodes[1].shards: expected an array "
	 "of integers in 0..65534, found 0"},
	{NODES("{\"id\": 2, \"name\": \"n2\", \"ipv4\": \"198.18.0.3\", \"shards\": [0, \"1\"]}"),
	 "$.cluster.nodes[1].shards[1]", "scppd.json: $.cluster.nodes[1].shards[1]: expected an "
	 "integer in 0..65534, found \"1\""},
	{NODES("{\"id\": 2, \"name\": \"n2\", \"ipv4\": \"198.18.0.3\", \"shards\": [3, 4, 3]}"),
	 "$.cluster.nodes[1].shards[2]", "scppd.json: $.cluster.nodes[1].shards[2]: expected a "
	 "shard not listed before, found 3 (also $.cluster.nodes[1].shards[0])"},
	{NODES("{\"id\": 2, \"name\": \"n2\", \"ipv4\": \"198.18.0.3\", \"base_port\": 65000, "
	       "\"shards\": [535]}"),
	 "$.cluster.nodes[1].shards[0]", "scppd.json: $.cluster.nodes[1].shards[0]: expected at "
	 "most 534, so that the shard's UDP port base_port + 1 + shard stays below 65536, found 535"},
	{NODES("{\"id\": 2, \"name\": \"n2\", \"ipv4\": \"198.18.0.3\", \"shards\": [0], "
	       "\"mac\": \"01:00:00:00:00:01\"}"),
	 "$.cluster.nodes[1].mac", "scppd.json: $.cluster.nodes[1].mac: expected a unicast MAC "
	 "address like \"02:00:00:00:00:01\" or null, found \"01:00:00:00:00:01\""},
	{NODES("{\"id\": 2, \"name\": \"n2\", \"ipv4\": \"198.18.0.3\", \"shards\": [0], "
	       "\"mac\": \"02:00:00:00:00\"}"),
	 "$.cluster.nodes[1].mac", "scppd.json: $.cluster.nodes[1].mac: expected a unicast MAC "
	 "address like \"02:00:00:00:00:01\" or null, found \"02:00:00:00:00\""},
	{NODES("{\"id\": 2, \"name\": \"n2\", \"ipv4\": \"198.18.0.3\", \"shards\": [0], "
	       "\"mac\": \"00:00:00:00:00:00\"}"),
	 "$.cluster.nodes[1].mac", "scppd.json: $.cluster.nodes[1].mac: expected a unicast MAC "
	 "address like \"02:00:00:00:00:01\" or null, found \"00:00:00:00:00:00\""},
	{NODES("{\"id\": 2, \"name\": \"n2\", \"ipv4\": \"198.18.0.3\", \"shards\": [0], "
	       "\"routes\": [{\"prefix\": \"@0.2.0.0.0/48\"}]}"),
	 "$.cluster.nodes[1].routes[0].shard", "scppd.json: $.cluster.nodes[1].routes[0].shard: "
	 "expected an integer in 0..65534, found nothing (the key is required)"},
	{NODES("{\"id\": 2, \"name\": \"n2\", \"ipv4\": \"198.18.0.3\", \"shards\": [0], "
	       "\"routes\": [{\"prefix\": \"@0.2.0.0.1/48\", \"shard\": 0}]}"),
	 "$.cluster.nodes[1].routes[0].prefix", "scppd.json: $.cluster.nodes[1].routes[0].prefix: "
	 "expected an OID prefix like \"@0.2.0.0.0/48\" (hex fields, no bits set past the length), "
	 "found \"@0.2.0.0.1/48\""},
	{NODES("{\"id\": 2, \"name\": \"n2\", \"ipv4\": \"198.18.0.3\", \"shards\": [0], "
	       "\"routes\": [{\"prefix\": \"@0.2.0.0.0/48\", \"shard\": 1}]}"),
	 "$.cluster.nodes[1].routes[0].shard", "scppd.json: $.cluster.nodes[1].routes[0].shard: "
	 "expected one of the node's shards, found 1"},
	{NODES("{\"id\": 2, \"name\": \"n2\", \"ipv4\": \"198.18.0.3\", \"shards\": [0], "
	       "\"routes\": [{\"prefix\": \"@0.2.0.0.0/64\", \"shard\": 0}]}"),
	 "$.cluster.nodes[1].routes[0].prefix", "scppd.json: $.cluster.nodes[1].routes[0].prefix: "
	 "expected a prefix other than the node's shard prefixes (shard 0's is implicit), found "
	 "\"@0.2.0.0.0/64\""},
	{NODES("{\"id\": 2, \"name\": \"n2\", \"ipv4\": \"198.18.0.3\", \"shards\": [0], "
	       "\"routes\": [{\"prefix\": \"@0.2.0.0.0/48\", \"shard\": 0}, "
	       "{\"prefix\": \"@0.2.0.0.0/48\", \"shard\": 0}]}"),
	 "$.cluster.nodes[1].routes[1].prefix", "scppd.json: $.cluster.nodes[1].routes[1].prefix: "
	 "expected a prefix not listed before, found \"@0.2.0.0.0/48\" (also "
	 "$.cluster.nodes[1].routes[0].prefix)"},
	{NODES("{\"id\": 2, \"name\": \"n2\", \"ipv4\": \"198.18.0.3\", \"shards\": [0], "
	       "\"routes\": [{\"prefix\": \"@0.0.0.0.0/64\", \"shard\": 0}]}"),
	 "$.cluster.nodes[1].routes[0].prefix", "scppd.json: $.cluster.nodes[1].routes[0].prefix: "
	 "expected a prefix outside the well-known namespace @0.0.0.0.0/48 (served by every node), "
	 "found \"@0.0.0.0.0/64\""},
	{NODES("{\"id\": 2, \"name\": \"n2\", \"ipv4\": \"198.18.0.3\", \"shards\": [0], \"x\": 1}"),
	 "$.cluster.nodes[1].x", "scppd.json: $.cluster.nodes[1].x: unknown key (expected one of: "
	 "id, name, locale, ipv4, base_port, shards, mac, routes, windows, memory_windows)"},
	/* This node's own entry must match the rest of the file. */
	{CL("{\"nodes\": [{\"id\": 1, \"name\": \"n1\", \"ipv4\": \"198.18.0.9\", \"shards\": [0, 1]}]}"),
	 "$.cluster.nodes[0].ipv4", "scppd.json: $.cluster.nodes[0].ipv4: expected \"198.18.0.2\", "
	 "the address of $.ports[0] (this node's $.cluster.port), found \"198.18.0.9\""},
	{CL("{\"port\": 1, \"nodes\": [" SELF1 "]}"), "$.cluster.nodes[0].ipv4",
	 "scppd.json: $.cluster.nodes[0].ipv4: expected \"198.18.1.2\", the address of $.ports[1] "
	 "(this node's $.cluster.port), found \"198.18.0.2\""},
	{CL("{\"nodes\": [{\"id\": 1, \"name\": \"n1\", \"ipv4\": \"198.18.0.2\", \"shards\": [0]}]}"),
	 "$.cluster.nodes[0].shards", "scppd.json: $.cluster.nodes[0].shards: expected the shards "
	 "of $.workers (0, 1), in any order"},
	{CL("{\"nodes\": [{\"id\": 1, \"name\": \"n1\", \"ipv4\": \"198.18.0.2\", \"base_port\": 7000, "
	    "\"shards\": [0, 1]}]}"),
	 "$.cluster.nodes[0].base_port", "scppd.json: $.cluster.nodes[0].base_port: expected 7300, "
	 "this node's $.udp.base_port, found 7000"},
	{CL("{\"nodes\": [{\"id\": 1, \"name\": \"n1\", \"locale\": 2, \"ipv4\": \"198.18.0.2\", "
	    "\"shards\": [0, 1]}]}"),
	 "$.cluster.nodes[0].locale", "scppd.json: $.cluster.nodes[0].locale: expected 0, this "
	 "node's $.node.locale, found 2"},
	{CL("{\"source\": \"etcd\", \"nodes\": [" SELF1 ", {\"id\": 2, \"name\": \"n2\", "
	    "\"ipv4\": \"198.18.0.3\", \"shards\": [0]}]}"),
	 "$.cluster.nodes", "scppd.json: $.cluster.nodes: expected at most this node's own entry "
	 "with \"source\": \"etcd\" (the other nodes register themselves), found 2 entries"},
	{"{" BASE ", \"routes\": [{\"prefix\": \"@0.2.0.0.0/48\", \"node\": 2, \"peer\": "
	 "\"198.18.0.3:7300\"}], \"cluster\": {\"source\": \"etcd\"}}",
	 "$.routes", "scppd.json: $.routes: expected no routes when $.cluster describes the cluster "
	 "(give other nodes' prefixes as $.cluster.nodes[].routes), found 1"},
	/* etcd settings. */
	{ETCD("{\"endpoints\": []}"), "$.cluster.etcd.endpoints",
	 "scppd.json: $.cluster.etcd.endpoints: expected an array of 1..4 strings, found 0 of them"},
	{ETCD("{\"endpoints\": [\"https://198.18.1.1:2379\"]}"), "$.cluster.etcd.endpoints[0]",
	 "scppd.json: $.cluster.etcd.endpoints[0]: expected an http URL like "
	 "\"http://198.18.1.1:2379\" (a host name or IPv4 address and a port, nothing after it), "
	 "found \"https://198.18.1.1:2379\""},
	{ETCD("{\"endpoints\": [\"http://198.18.1.1\"]}"), "$.cluster.etcd.endpoints[0]",
	 "scppd.json: $.cluster.etcd.endpoints[0]: expected an http URL like "
	 "\"http://198.18.1.1:2379\" (a host name or IPv4 address and a port, nothing after it), "
	 "found \"http://198.18.1.1\""},
	{ETCD("{\"endpoints\": [\"http://198.18.1.1:2379/v3\"]}"), "$.cluster.etcd.endpoints[0]",
	 "scppd.json: $.cluster.etcd.endpoints[0]: expected an http URL like "
	 "\"http://198.18.1.1:2379\" (a host name or IPv4 address and a port, nothing after it), "
	 "found \"http://198.18.1.1:2379/v3\""},
	{ETCD("{\"prefix\": \"scpp/\"}"), "$.cluster.etcd.prefix",
	 "scppd.json: $.cluster.etcd.prefix: expected a key prefix of 2..127 characters like "
	 "\"/scpp/prod/\" (starting and ending with '/', of letters, digits, '.', '_', '-' and '/', "
	 "no \"//\"), found \"scpp/\""},
	{ETCD("{\"prefix\": \"/scpp//x/\"}"), "$.cluster.etcd.prefix",
	 "scppd.json: $.cluster.etcd.prefix: expected a key prefix of 2..127 characters like "
	 "\"/scpp/prod/\" (starting and ending with '/', of letters, digits, '.', '_', '-' and '/', "
	 "no \"//\"), found \"/scpp//x/\""},
	{ETCD("{\"lease_ttl_s\": 1}"), "$.cluster.etcd.lease_ttl_s",
	 "scppd.json: $.cluster.etcd.lease_ttl_s: expected an integer in 2..3600, found 1"},
	{ETCD("{\"poll_ms\": 49}"), "$.cluster.etcd.poll_ms",
	 "scppd.json: $.cluster.etcd.poll_ms: expected an integer in 50..60000, found 49"},
	{ETCD("{\"lease_ttl_s\": 2, \"timeout_ms\": 700}"), "$.cluster.etcd.timeout_ms",
	 "scppd.json: $.cluster.etcd.timeout_ms: expected at most a third of "
	 "$.cluster.etcd.lease_ttl_s (666 ms), found 700"},
	{ETCD("{\"lease_ttl_s\": 2, \"timeout_ms\": 500, \"poll_ms\": 2001}"),
	 "$.cluster.etcd.poll_ms", "scppd.json: $.cluster.etcd.poll_ms: expected at most "
	 "$.cluster.etcd.lease_ttl_s (2000 ms), found 2001"},
};

static void
test_cluster_config_rejects_one_bad_field_at_a_time(void **state)
{
	struct scpp_config c;
	struct scpp_config_error e;
	(void)state;

	for (size_t i = 0; i < SCPP_ARRAY_SIZE(bad_sections); i++) {
		const struct bad *b = &bad_sections[i];
		int rc = load(b->json, &c, &e);

		if (rc != -EINVAL)
			fail_msg("case %zu: rc %d, expected -EINVAL (%s)", i, rc, b->json);
		if (strcmp(e.msg, b->msg) != 0)
			fail_msg("case %zu:\n got: %s\nwant: %s", i, e.msg, b->msg);
		if (strcmp(e.path, b->path) != 0)
			fail_msg("case %zu: path %s, want %s", i, e.path, b->path);
	}
}

/* ---- the record parser (etcd values) ---------------------------------------- */

#define REC_OK "{\"id\":2,\"name\":\"n2\",\"locale\":0,\"ipv4\":\"198.18.0.3\"," \
	       "\"base_port\":7300,\"shards\":[0,1],\"mac\":null,\"routes\":[]}"

static void
test_cluster_record_parse_accepts_the_canonical_form_and_defaults(void **state)
{
	struct scpp_config_cluster_node n;
	struct scpp_config_error e;
	static const char minimal[] = "{\"id\": 7, \"name\": \"x\", \"ipv4\": \"1.2.3.4\", "
				      "\"shards\": [9]}";
	(void)state;

	assert_int_equal(scpp_config_cluster_node_parse(REC_OK, strlen(REC_OK), "k", &n, &e), 0);
	assert_int_equal(n.id, 2);
	assert_int_equal(n.nb_shards, 2);
	assert_int_equal(scpp_config_cluster_node_parse(minimal, strlen(minimal), "k", &n, &e), 0);
	assert_int_equal(n.base_port, 7300);
	assert_int_equal(n.locale, 0);
	assert_false(n.has_mac);
	assert_int_equal(n.nb_routes, 0);
}

static const struct bad bad_records[] = {
	{"", "", "etcd k:1:1: JSON syntax error: expected a JSON object, found nothing"},
	{"{\"id\": 2", "", "etcd k:1:9: JSON syntax error: unexpected end of input, '{' opened at "
	 "1:1 is not closed"},
	{"[1]", "$", "etcd k: $: expected an object, found an array"},
	{"\"n2\"", "$", "etcd k: $: expected an object, found \"n2\""},
	{"{} {}", "", "etcd k:1:4: JSON syntax error at \"{}\": expected the end of input after "
	 "the top-level value"},
	{"{\"name\":\"n2\",\"ipv4\":\"198.18.0.3\",\"shards\":[0]}", "$.id",
	 "etcd k: $.id: expected an integer in 1..4294967295, found nothing (the key is required)"},
	{"{\"id\":-2,\"name\":\"n2\",\"ipv4\":\"198.18.0.3\",\"shards\":[0]}", "$.id",
	 "etcd k: $.id: expected an integer in 1..4294967295, found -2"},
	{"{\"id\":2.5,\"name\":\"n2\",\"ipv4\":\"198.18.0.3\",\"shards\":[0]}", "$.id",
	 "etcd k: $.id: expected an integer in 1..4294967295, found 2.5"},
	{"{\"id\":4294967296,\"name\":\"n2\",\"ipv4\":\"198.18.0.3\",\"shards\":[0]}", "$.id",
	 "etcd k: $.id: expected an integer in 1..4294967295, found 4294967296"},
	{"{\"id\":2,\"id\":3,\"name\":\"n2\",\"ipv4\":\"198.18.0.3\",\"shards\":[0]}", "$.id",
	 "etcd k: $.id: duplicate key (each key may appear once)"},
	{"{\"id\":2,\"name\":\"\",\"ipv4\":\"198.18.0.3\",\"shards\":[0]}", "$.name",
	 "etcd k: $.name: expected a string of 1..63 letters, digits, '.', '_' or '-', found \"\""},
	{"{\"id\":2,\"name\":\"n2\",\"ipv4\":\"198.18.0.256\",\"shards\":[0]}", "$.ipv4",
	 "etcd k: $.ipv4: expected an IPv4 address like \"198.18.0.3\", found \"198.18.0.256\""},
	{"{\"id\":2,\"name\":\"n2\",\"ipv4\":\"198.018.0.3\",\"shards\":[0]}", "$.ipv4",
	 "etcd k: $.ipv4: expected an IPv4 address like \"198.18.0.3\", found \"198.018.0.3\""},
	{"{\"id\":2,\"name\":\"n2\",\"ipv4\":3323068419,\"shards\":[0]}", "$.ipv4",
	 "etcd k: $.ipv4: expected an IPv4 address like \"198.18.0.3\", found 3323068419"},
	{"{\"id\":2,\"name\":\"n2\",\"ipv4\":\"198.18.0.3\",\"base_port\":0,\"shards\":[0]}",
	 "$.base_port", "etcd k: $.base_port: expected an integer in 1..65534, found 0"},
	{"{\"id\":2,\"name\":\"n2\",\"ipv4\":\"198.18.0.3\",\"shards\":[65535]}", "$.shards[0]",
	 "etcd k: $.shards[0]: expected an integer in 0..65534, found 65535"},
	{"{\"id\":2,\"name\":\"n2\",\"ipv4\":\"198.18.0.3\",\"shards\":[0,0]}", "$.shards[1]",
	 "etcd k: $.shards[1]: expected a shard not listed before, found 0 (also $.shards[0])"},
	{"{\"id\":2,\"name\":\"n2\",\"ipv4\":\"198.18.0.3\",\"shards\":[0],\"mac\":\"zz:00:00:00:00:01\"}",
	 "$.mac", "etcd k: $.mac: expected a unicast MAC address like \"02:00:00:00:00:01\" or "
	 "null, found \"zz:00:00:00:00:01\""},
	{"{\"id\":2,\"name\":\"n2\",\"ipv4\":\"198.18.0.3\",\"shards\":[0],\"routes\":{}}", "$.routes",
	 "etcd k: $.routes: expected an array of objects, found an object"},
	{"{\"id\":2,\"name\":\"n2\",\"ipv4\":\"198.18.0.3\",\"shards\":[0],\"routes\":[{\"prefix\":"
	 "\"@0.2.0.0.0/129\",\"shard\":0}]}", "$.routes[0].prefix",
	 "etcd k: $.routes[0].prefix: expected an OID prefix like \"@0.2.0.0.0/48\" (hex fields, no "
	 "bits set past the length), found \"@0.2.0.0.0/129\""},
	{"{\"id\":2,\"name\":\"n2\",\"ipv4\":\"198.18.0.3\",\"shards\":[0],\"routes\":[{\"prefix\":"
	 "\"@0.2.0.0.0/48\",\"shard\":3}]}", "$.routes[0].shard",
	 "etcd k: $.routes[0].shard: expected one of the node's shards, found 3"},
	{"{\"id\":2,\"name\":\"n2\",\"ipv4\":\"198.18.0.3\",\"shards\":[0],\"state\":\"up\"}", "$.state",
	 "etcd k: $.state: unknown key (expected one of: id, name, locale, ipv4, base_port, shards, "
	 "mac, routes, windows, memory_windows)"},
};

static void
test_cluster_record_parse_refuses_every_malformed_record(void **state)
{
	struct scpp_config_cluster_node n, keep;
	struct scpp_config_error e;
	(void)state;

	memset(&keep, 0x5a, sizeof(keep));
	for (size_t i = 0; i < SCPP_ARRAY_SIZE(bad_records); i++) {
		const struct bad *b = &bad_records[i];
		int rc;

		n = keep;
		rc = scpp_config_cluster_node_parse(b->json, strlen(b->json), "etcd k", &n, &e);
		if (rc == 0)
			fail_msg("case %zu accepted: %s", i, b->json);
		if (strcmp(e.msg, b->msg) != 0)
			fail_msg("case %zu:\n got: %s\nwant: %s", i, e.msg, b->msg);
		if (strcmp(e.path, b->path) != 0)
			fail_msg("case %zu: path \"%s\", want \"%s\"", i, e.path, b->path);
		/* Nothing is written on failure. */
		assert_memory_equal(&n, &keep, sizeof(n));
	}
}

static void
test_cluster_record_parse_bounds_size_and_arguments(void **state)
{
	struct scpp_config_cluster_node n;
	struct scpp_config_error e;
	char *big = malloc(SCPP_CONFIG_RECORD_MAX + 2);
	(void)state;

	assert_non_null(big);
	memset(big, ' ', SCPP_CONFIG_RECORD_MAX + 1);
	memcpy(big, REC_OK, strlen(REC_OK));
	big[SCPP_CONFIG_RECORD_MAX + 1] = '\0';
	assert_int_equal(scpp_config_cluster_node_parse(big, SCPP_CONFIG_RECORD_MAX + 1, "k", &n, &e),
			 -EINVAL);
	assert_string_equal(e.msg, "k: record of 16385 bytes, above the 16384 a node record may have");
	/* Exactly at the limit (trailing whitespace) is fine. */
	assert_int_equal(scpp_config_cluster_node_parse(big, SCPP_CONFIG_RECORD_MAX, "k", &n, &e), 0);
	free(big);
	assert_int_equal(scpp_config_cluster_node_parse(NULL, 0, "k", &n, &e), -EINVAL);
	assert_int_equal(scpp_config_cluster_node_parse(REC_OK, strlen(REC_OK), NULL, NULL, NULL),
			 -EINVAL);
	assert_int_equal(scpp_config_cluster_node_parse("{", 1, NULL, &n, &e), -SCPP_E_SYNTAX);
	assert_non_null(strstr(e.msg, "<record>:"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cluster_config_defaults_are_a_static_single_node),
		cmocka_unit_test(test_cluster_config_accepts_every_key_and_dumps_back),
		cmocka_unit_test(test_cluster_config_rejects_one_bad_field_at_a_time),
		cmocka_unit_test(test_cluster_record_parse_accepts_the_canonical_form_and_defaults),
		cmocka_unit_test(test_cluster_record_parse_refuses_every_malformed_record),
		cmocka_unit_test(test_cluster_record_parse_bounds_size_and_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
