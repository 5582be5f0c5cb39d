/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/cluster's map: the static map of a configuration (this node alone,
 * three nodes, the legacy $.routes), every rule broken once with the exact
 * message naming both records, maps built from etcd records (precedence,
 * records refused alone, this node's own entry, unreachable nodes kept and
 * superseded, slots kept), diffs, lookups and printing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "scpp_test.h"
#include "scpp_common.h"
#include "scpp_config.h"
#include "scpp_cluster.h"

#define IP(d) ((198u << 24) | (18u << 16) | (d))

static struct scpp_cluster_map *
static_map(const char *json, char *err, size_t errsize, int want_rc)
{
	struct scpp_config cfg;
	struct scpp_config_error e;
	struct scpp_cluster_map *m = NULL;
	int rc;

	if (scpp_config_load_string(json, strlen(json), "scppd.json", &cfg, &e) != 0)
		fail_msg("config refused: %s", e.msg);
	rc = scpp_cluster_map_from_config(&cfg, "scppd.json", NULL, &m, err, errsize);
	scpp_config_free(&cfg);
	if (rc != want_rc)
		fail_msg("rc %d, want %d: %s", rc, want_rc, err);
	return m;
}

static void
test_cluster_default_config_is_this_node_alone(void **state)
{
	char err[SCPP_CLUSTER_MSG_SIZE];
	struct scpp_cluster_map *m = static_map("{}", err, sizeof(err), 0);
	const struct scpp_cluster_node *n;
	(void)state;

	assert_int_equal(m->nb_nodes, 1);
	assert_int_equal(m->self, 1);
	assert_int_equal(m->source, SCPP_CONFIG_CLUSTER_STATIC);
	n = scpp_cluster_map_find(m, 1);
	assert_non_null(n);
	assert_int_equal(n->state, SCPP_CLUSTER_SELF);
	assert_string_equal(n->rec.name, "scpp");
	assert_int_equal(n->rec.ipv4, IP(2));
	assert_int_equal(n->rec.base_port, 7300);
	assert_string_equal(n->origin, "scppd.json: $.node");
	assert_int_equal(m->nb_routes, 1);
	assert_int_equal(m->routes[0].prefix.len, 64);
	assert_true(scpp_oid_eq(m->routes[0].prefix.oid, scpp_oid_make(0, 1, 0, 0, 0)));
	assert_null(scpp_cluster_map_find(m, 2));
	assert_null(scpp_cluster_map_find(NULL, 1));
	scpp_cluster_map_free(m);
	scpp_cluster_map_free(NULL);
}

#define N1 "{\"id\": 1, \"name\": \"n1\", \"ipv4\": \"198.18.0.2\", \"shards\": [0]}"
#define N2 "{\"id\": 2, \"name\": \"n2\", \"ipv4\": \"198.18.0.3\", \"shards\": [0, 1]}"
#define N3 "{\"id\": 3, \"name\": \"n3\", \"ipv4\": \"198.18.0.4\", \"shards\": [0], " \
	   "\"routes\": [{\"prefix\": \"@1.0.0.0.0/16\", \"shard\": 0}]}"
#define STATIC(nodes) "{\"node\": {\"id\": 1, \"name\": \"n1\"}, \"cluster\": {\"nodes\": [" nodes "]}}"

static void
test_cluster_static_three_nodes_give_every_route(void **state)
{
	char err[SCPP_CLUSTER_MSG_SIZE];
	struct scpp_cluster_map *m = static_map(STATIC(N3 ", " N1 ", " N2), err, sizeof(err), 0);
	bool slots[8] = {false};
	(void)state;

	assert_int_equal(m->nb_nodes, 3);
	for (unsigned int i = 0; i < 3; i++) {
		assert_int_equal(m->nodes[i].rec.id, i + 1); /* sorted by id */
		assert_true(m->nodes[i].slot < 8 && !slots[m->nodes[i].slot]);
		slots[m->nodes[i].slot] = true;
	}
	assert_int_equal(m->nodes[0].state, SCPP_CLUSTER_SELF);
	assert_int_equal(m->nodes[1].state, SCPP_CLUSTER_STATIC);
	assert_string_equal(m->nodes[2].origin, "scppd.json: $.cluster.nodes[0]");
	/* 1 + 2 + 1 shard prefixes, and node 3's /16. */
	assert_int_equal(m->nb_routes, 5);
	for (unsigned int i = 1; i < m->nb_routes; i++)
		assert_true(scpp_oid_cmp(m->routes[i - 1].prefix.oid, m->routes[i].prefix.oid) < 0);
	assert_int_equal(m->routes[4].prefix.len, 16);
	assert_int_equal(m->routes[4].node, 3);
	scpp_cluster_map_free(m);
}

static void
test_cluster_legacy_routes_become_peers_known_by_address(void **state)
{
	char err[SCPP_CLUSTER_MSG_SIZE];
	struct scpp_cluster_map *m = static_map(
		"{\"routes\": [{\"prefix\": \"@0.2.0.0.0/48\", \"node\": 2, \"peer\": \"198.18.0.3:7300\"},"
		"{\"prefix\": \"@0.0.0.0.0/40\", \"node\": 2, \"peer\": \"198.18.0.3:7300\"}]}",
		err, sizeof(err), -EINVAL);
	(void)state;

	/* Two prefixes of one node may nest; not in config, since /40 would
	 * cover nodes 0..255: that overlaps this node's own shard. */
	assert_null(m);
	assert_string_equal(err, "scppd.json: $.routes[1].prefix: expected a prefix no "
				 "other node owns, found \"@0.0.0.0.0/40\", which overlaps "
				 "\"@0.1.0.0.0/64\" of node 1 \"scpp\" (scppd.json: $.node)");
	m = static_map("{\"routes\": [{\"prefix\": \"@0.2.0.0.0/48\", \"node\": 2, \"peer\": "
		       "\"198.18.0.3:7300\"}, {\"prefix\": \"@5.0.0.0.0/16\", \"node\": 2, \"peer\": "
		       "\"198.18.0.3:7300\"}]}", err, sizeof(err), 0);
	assert_int_equal(m->nb_nodes, 2);
	assert_string_equal(m->nodes[1].rec.name, "node-2");
	assert_int_equal(m->nodes[1].rec.ipv4, IP(3));
	assert_int_equal(m->nodes[1].rec.nb_routes, 2);
	assert_int_equal(m->nodes[1].state, SCPP_CLUSTER_STATIC);
	assert_int_equal(m->nb_routes, 3);
	scpp_cluster_map_free(m);
	m = static_map("{\"routes\": [{\"prefix\": \"@0.2.0.0.0/48\", \"node\": 2, \"peer\": "
		       "\"198.18.0.3:7300\"}, {\"prefix\": \"@5.0.0.0.0/16\", \"node\": 2, \"peer\": "
		       "\"198.18.0.9:7300\"}]}", err, sizeof(err), -EINVAL);
	assert_string_equal(err, "scppd.json: $.routes[1].peer: expected 198.18.0.3:7300, the peer "
				 "of node 2 in $.routes[0], found 198.18.0.9:7300");
}

struct rule_case {
	const char *json;
	const char *msg;
};

static const struct rule_case static_rules[] = {
	{STATIC(N1 ", " N2 ", {\"id\": 2, \"name\": \"n2b\", \"ipv4\": \"198.18.0.5\", \"shards\": [0]}"),
	 "scppd.json: $.cluster.nodes[2].id: expected a node id no other node has, found 2 (also "
	 "node 2 \"n2\" (scppd.json: $.cluster.nodes[1]))"},
	{STATIC(N1 ", " N2 ", {\"id\": 5, \"name\": \"n2\", \"ipv4\": \"198.18.0.5\", \"shards\": [0]}"),
	 "scppd.json: $.cluster.nodes[2].name: expected a name no other node has, found \"n2\" "
	 "(also node 2 \"n2\" (scppd.json: $.cluster.nodes[1]))"},
	{STATIC(N1 ", " N2 ", {\"id\": 5, \"name\": \"n5\", \"ipv4\": \"198.18.0.3\", \"shards\": [0]}"),
	 "scppd.json: $.cluster.nodes[2].ipv4: expected an address and base port no other node "
	 "has, found 198.18.0.3:7300 (also node 2 \"n2\" (scppd.json: $.cluster.nodes[1]))"},
	{STATIC(N1 ", " N2 ", {\"id\": 5, \"name\": \"n5\", \"ipv4\": \"198.18.0.5\", \"shards\": [0],"
		" \"routes\": [{\"prefix\": \"@0.0.0.0.0/32\", \"shard\": 0}]}"),
	 "scppd.json: $.cluster.nodes[2].routes[0].prefix: expected a prefix no other node owns, "
	 "found \"@0.0.0.0.0/32\", which overlaps \"@0.1.0.0.0/64\" of node 1 \"n1\" (scppd.json: "
	 "$.cluster.nodes[0])"},
	{STATIC(N1 ", " N2 ", {\"id\": 5, \"name\": \"n5\", \"ipv4\": \"198.18.0.5\", \"shards\": [0],"
		" \"routes\": [{\"prefix\": \"@0.2.1.0.0/80\", \"shard\": 0}]}"),
	 "scppd.json: $.cluster.nodes[2].routes[0].prefix: expected a prefix no other node owns, "
	 "found \"@0.2.1.0.0/80\", which overlaps \"@0.2.1.0.0/64\" of node 2 \"n2\" (scppd.json: "
	 "$.cluster.nodes[1])"},
	/* A node's implicit shard prefix inside another's explicit one. */
	{STATIC(N1 ", " N3 ", {\"id\": 5, \"name\": \"n5\", \"locale\": 1, \"ipv4\": \"198.18.0.5\", "
		"\"shards\": [0]}"),
	 "scppd.json: $.cluster.nodes[2].shards[0]: expected a prefix no other node owns, found "
	 "\"@1.5.0.0.0/64\", which overlaps \"@1.0.0.0.0/16\" of node 3 \"n3\" (scppd.json: "
	 "$.cluster.nodes[1])"},
};

static void
test_cluster_static_rules_name_both_records(void **state)
{
	char err[SCPP_CLUSTER_MSG_SIZE];
	(void)state;

	for (size_t i = 0; i < SCPP_ARRAY_SIZE(static_rules); i++) {
		assert_null(static_map(static_rules[i].json, err, sizeof(err), -EINVAL));
		if (strcmp(err, static_rules[i].msg) != 0)
			fail_msg("case %zu:\n got: %s\nwant: %s", i, err, static_rules[i].msg);
	}
}

/* ---- maps from etcd records ----------------------------------------------------- */

static struct scpp_config_cluster_node
rec(uint32_t id, const char *name, uint32_t ip)
{
	struct scpp_config_cluster_node n;

	memset(&n, 0, sizeof(n));
	n.id = id;
	snprintf(n.name, sizeof(n.name), "%s", name);
	n.ipv4 = ip;
	n.base_port = 7300;
	n.nb_shards = 1;
	return n;
}

static struct scpp_cluster_record
etcd_rec(uint32_t id, const char *name, uint32_t ip, uint64_t created)
{
	struct scpp_cluster_record r;

	memset(&r, 0, sizeof(r));
	r.rec = rec(id, name, ip);
	r.create_revision = created;
	r.mod_revision = created;
	r.lease = 1000 + id;
	snprintf(r.origin, sizeof(r.origin), "etcd /p/v1/node/%u", id);
	return r;
}

static void
add_route(struct scpp_config_cluster_node *n, const char *prefix)
{
	assert_int_equal(scpp_oid_prefix_parse(prefix, strlen(prefix),
					       &n->routes[n->nb_routes].prefix), 0);
	n->routes[n->nb_routes++].shard = 0;
}

static void
test_cluster_build_takes_records_oldest_first_and_refuses_alone(void **state)
{
	struct scpp_config_cluster_node self = rec(1, "n1", IP(2));
	struct scpp_cluster_record r[5];
	struct scpp_cluster_report rep;
	struct scpp_cluster_map *m = NULL;
	(void)state;

	r[0] = etcd_rec(4, "n4", IP(5), 20);           /* newer: loses the overlap */
	add_route(&r[0].rec, "@0.3.0.0.0/48");
	r[1] = etcd_rec(3, "n3", IP(4), 10);
	r[2] = etcd_rec(2, "n2", IP(3), 11);
	r[3] = etcd_rec(1, "impostor", IP(9), 1);      /* this node's id: its own entry wins */
	r[4] = etcd_rec(5, "n2", IP(6), 30);           /* a name taken */
	assert_int_equal(scpp_cluster_map_build(NULL, &self, r, 5, 42, 1000, &m, &rep), 0);
	assert_int_equal(m->nb_nodes, 3);
	assert_int_equal(m->revision, 42);
	assert_int_equal(m->source, SCPP_CONFIG_CLUSTER_ETCD);
	assert_string_equal(scpp_cluster_map_find(m, 1)->rec.name, "n1");
	assert_int_equal(scpp_cluster_map_find(m, 1)->state, SCPP_CLUSTER_SELF);
	assert_int_equal(scpp_cluster_map_find(m, 2)->state, SCPP_CLUSTER_UP);
	assert_int_equal(scpp_cluster_map_find(m, 2)->lease, 1002);
	assert_null(scpp_cluster_map_find(m, 4));
	assert_null(scpp_cluster_map_find(m, 5));
	assert_int_equal(rep.rejected, 2);
	assert_int_equal(rep.nb_msgs, 2);
	assert_string_equal(rep.msgs[0], "etcd /p/v1/node/4: $.routes[0].prefix: expected a prefix "
				       "no other node owns, found \"@0.3.0.0.0/48\", which overlaps "
				       "\"@0.3.0.0.0/64\" of node 3 \"n3\" (etcd /p/v1/node/3: $)");
	assert_string_equal(rep.msgs[1], "etcd /p/v1/node/5: $.name: expected a name no other node "
				       "has, found \"n2\" (also node 2 \"n2\" (etcd /p/v1/node/2: $))");
	assert_int_equal(m->nb_routes, 3);
	scpp_cluster_map_free(m);
	assert_int_equal(scpp_cluster_map_build(NULL, &self, r, SCPP_CLUSTER_MAX_NODES + 1, 1, 1, &m,
						&rep), -EINVAL);
	assert_int_equal(scpp_cluster_map_build(NULL, &self, r, 1, 1, 1, NULL, &rep), -EINVAL);
	/* Without a self: a view from outside (scpp cluster --etcd). */
	assert_int_equal(scpp_cluster_map_build(NULL, NULL, r, 5, 42, 1000, &m, &rep), 0);
	assert_int_equal(m->self, 0);
	assert_int_equal(m->nb_nodes, 3); /* 1 "impostor" is an ordinary record here */
	assert_int_equal(scpp_cluster_map_find(m, 1)->state, SCPP_CLUSTER_UP);
	assert_int_equal(rep.rejected, 2);
	scpp_cluster_map_free(m);
}

static void
test_cluster_build_keeps_departed_nodes_unreachable_until_superseded(void **state)
{
	struct scpp_config_cluster_node self = rec(1, "n1", IP(2));
	struct scpp_cluster_record r[3];
	struct scpp_cluster_map *m1 = NULL, *m2 = NULL, *m3 = NULL, *m4 = NULL, *m5 = NULL;
	const struct scpp_cluster_node *n;
	struct scpp_cluster_report rep;
	uint16_t slot3;
	(void)state;

	r[0] = etcd_rec(2, "n2", IP(3), 5);
	r[1] = etcd_rec(3, "n3", IP(4), 6);
	assert_int_equal(scpp_cluster_map_build(NULL, &self, r, 2, 10, 1000, &m1, &rep), 0);
	slot3 = scpp_cluster_map_find(m1, 3)->slot;
	/* Node 3's record lapses: it stays, unreachable since now, with its
	 * routes (so a block for it is told where it was). */
	assert_int_equal(scpp_cluster_map_build(m1, &self, r, 1, 11, 2000, &m2, &rep), 0);
	n = scpp_cluster_map_find(m2, 3);
	assert_non_null(n);
	assert_int_equal(n->state, SCPP_CLUSTER_UNREACHABLE);
	assert_int_equal(n->since_ns, 2000);
	assert_int_equal(n->slot, slot3);
	assert_int_equal(m2->nb_routes, 3);
	assert_int_equal(rep.rejected, 0);
	assert_int_equal(scpp_cluster_map_find(m2, 2)->since_ns, 1000); /* up since the first */
	/* Still gone a little later: the same since. */
	assert_int_equal(scpp_cluster_map_build(m2, &self, r, 1, 12, 3000, &m3, &rep), 0);
	assert_int_equal(scpp_cluster_map_find(m3, 3)->since_ns, 2000);
	/* A newcomer takes node 3's address and name: the tombstone goes,
	 * silently, and the newcomer gets the lowest free slot (3's). */
	r[1] = etcd_rec(7, "n3", IP(4), 50);
	assert_int_equal(scpp_cluster_map_build(m3, &self, r, 2, 13, 4000, &m4, &rep), 0);
	assert_null(scpp_cluster_map_find(m4, 3));
	assert_int_equal(scpp_cluster_map_find(m4, 7)->state, SCPP_CLUSTER_UP);
	assert_int_equal(scpp_cluster_map_find(m4, 7)->slot, slot3);
	assert_int_equal(rep.rejected, 0);
	/* Tombstones expire. */
	assert_int_equal(scpp_cluster_map_build(m3, &self, r, 1,  14,
						2000 + SCPP_CLUSTER_TOMBSTONE_NS + 1, &m5, &rep), 0);
	assert_null(scpp_cluster_map_find(m5, 3));
	scpp_cluster_map_free(m1);
	scpp_cluster_map_free(m2);
	scpp_cluster_map_free(m3);
	scpp_cluster_map_free(m4);
	scpp_cluster_map_free(m5);
}

struct seen {
	unsigned int kinds[8];
	uint32_t last_id;
};

static void
on_change(enum scpp_cluster_change kind, const struct scpp_cluster_node *before,
	  const struct scpp_cluster_node *after, void *arg)
{
	struct seen *s = arg;

	s->kinds[kind]++;
	s->last_id = after != NULL ? after->rec.id : before->rec.id;
}

static void
test_cluster_diff_counts_node_and_route_changes(void **state)
{
	struct scpp_config_cluster_node self = rec(1, "n1", IP(2));
	struct scpp_cluster_record r[3];
	struct scpp_cluster_map *a = NULL, *b = NULL, *c = NULL, *d = NULL;
	struct scpp_cluster_diff df;
	struct seen s;
	(void)state;

	r[0] = etcd_rec(2, "n2", IP(3), 5);
	r[1] = etcd_rec(3, "n3", IP(4), 6);
	assert_int_equal(scpp_cluster_map_build(NULL, &self, r, 1, 1, 1, &a, NULL), 0);
	assert_int_equal(scpp_cluster_map_build(a, &self, r, 2, 2, 2, &b, NULL), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(scpp_cluster_map_diff(a, b, &df, on_change, &s), 0);
	assert_int_equal(df.joined, 1);
	assert_int_equal(df.routes_added, 1);
	assert_int_equal(df.routes_removed, 0);
	assert_int_equal(s.kinds[SCPP_CLUSTER_JOINED], 1);
	assert_int_equal(s.last_id, 3);
	/* Node 2 loses its lease; node 3 moves to another port. */
	r[0] = r[1];
	r[0].rec.base_port = 7400;
	assert_int_equal(scpp_cluster_map_build(b, &self, r, 1, 3, 3, &c, NULL), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(scpp_cluster_map_diff(b, c, &df, on_change, &s), 0);
	assert_int_equal(df.lost, 1);
	assert_int_equal(df.changed, 1);
	assert_int_equal(df.joined + df.removed + df.returned, 0);
	assert_int_equal(df.routes_added + df.routes_removed, 0);
	/* Node 2 comes back. */
	r[1] = etcd_rec(2, "n2", IP(3), 9);
	assert_int_equal(scpp_cluster_map_build(c, &self, r, 2, 4, 4, &d, NULL), 0);
	assert_int_equal(scpp_cluster_map_diff(c, d, &df, NULL, NULL), 0);
	assert_int_equal(df.returned, 1);
	/* And a map compared with the one before it all. */
	assert_int_equal(scpp_cluster_map_diff(d, a, &df, NULL, NULL), 0);
	assert_int_equal(df.removed, 1);
	assert_int_equal(df.routes_removed, 1);
	assert_int_equal(scpp_cluster_map_diff(d, d, &df, NULL, NULL), 0);
	assert_int_equal(df.joined + df.lost + df.changed + df.removed + df.routes_added, 0);
	assert_int_equal(scpp_cluster_map_diff(NULL, d, &df, NULL, NULL), -EINVAL);
	scpp_cluster_map_free(a);
	scpp_cluster_map_free(b);
	scpp_cluster_map_free(c);
	scpp_cluster_map_free(d);
}

static void
test_cluster_print_table_and_json(void **state)
{
	char err[SCPP_CLUSTER_MSG_SIZE];
	struct scpp_cluster_map *m = static_map(STATIC(N1 ", " N2), err, sizeof(err), 0);
	struct scpp_cluster_map *c = scpp_cluster_map_clone(m);
	char *text = NULL;
	size_t len = 0;
	cJSON *j, *nodes;
	FILE *f;
	(void)state;

	assert_non_null(c);
	assert_int_equal(c->nb_nodes, m->nb_nodes);
	assert_memory_equal(c->routes, m->routes, m->nb_routes * sizeof(m->routes[0]));
	f = open_memstream(&text, &len);
	assert_int_equal(scpp_cluster_map_print(f, m, false, "cluster: static"), 0);
	fclose(f);
	assert_non_null(strstr(text, "cluster: static\nNODE "));
	assert_non_null(strstr(text, "2      n2               static       198.18.0.3:7300       0"
				     "      0,1          -                 @0.2.0.0.0/64 @0.2.1.0.0/64\n"));
	assert_non_null(strstr(text, "2 nodes, 3 routes\n"));
	free(text);
	f = open_memstream(&text, &len);
	assert_int_equal(scpp_cluster_map_print(f, c, true, NULL), 0);
	fclose(f);
	j = cJSON_Parse(text);
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItem(j, "source")->valuestring, "static");
	nodes = cJSON_GetObjectItem(j, "nodes");
	assert_int_equal(cJSON_GetArraySize(nodes), 2);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(nodes, 0), "state")->valuestring,
			    "self");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetArrayItem(nodes, 1),
								 "prefixes")), 2);
	cJSON_Delete(j);
	free(text);
	assert_int_equal(scpp_cluster_map_print(NULL, m, true, NULL), -EINVAL);
	assert_string_equal(scpp_cluster_state_name(SCPP_CLUSTER_UNREACHABLE), "unreachable");
	assert_string_equal(scpp_cluster_state_name((enum scpp_cluster_state)9), "?");
	scpp_cluster_map_free(c);
	scpp_cluster_map_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cluster_default_config_is_this_node_alone),
		cmocka_unit_test(test_cluster_static_three_nodes_give_every_route),
		cmocka_unit_test(test_cluster_legacy_routes_become_peers_known_by_address),
		cmocka_unit_test(test_cluster_static_rules_name_both_records),
		cmocka_unit_test(test_cluster_build_takes_records_oldest_first_and_refuses_alone),
		cmocka_unit_test(test_cluster_build_keeps_departed_nodes_unreachable_until_superseded),
		cmocka_unit_test(test_cluster_diff_counts_node_and_route_changes),
		cmocka_unit_test(test_cluster_print_table_and_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
