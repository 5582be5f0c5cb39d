/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/cluster's etcd codec: base64 (RFC 4648 vectors and every malformed
 * form), the record's canonical encoding (byte for byte as
 * docs/CLUSTER.md writes it, and back through the parser), keys, request
 * bodies, and the JSON gateway's answers, taken from a real etcd 3.4 and
 * then broken one field at a time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scpp_test.h"
#include "scpp_common.h"
#include "scpp_config.h"
#include "scpp_cluster.h"
#include "cluster_priv.h"

static void
test_cluster_b64_matches_rfc4648_vectors(void **state)
{
	static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
					  "Zm9vYmFy"};
	char enc[16];
	uint8_t dec[16];
	(void)state;

	for (size_t i = 0; i < SCPP_ARRAY_SIZE(in); i++) {
		assert_int_equal(scpp_cluster_b64_encode(in[i], strlen(in[i]), enc, sizeof(enc)),
				 (int)strlen(out[i]));
		assert_string_equal(enc, out[i]);
		assert_int_equal(scpp_cluster_b64_decode(out[i], strlen(out[i]), dec, sizeof(dec)),
				 (int)strlen(in[i]));
		assert_memory_equal(dec, in[i], strlen(in[i]));
	}
	/* Every byte value survives. */
	{
		uint8_t all[256], back[256];
		char text[400];

		for (int i = 0; i < 256; i++)
			all[i] = (uint8_t)i;
		assert_int_equal(scpp_cluster_b64_encode(all, 256, text, sizeof(text)), 344);
		assert_int_equal(scpp_cluster_b64_decode(text, 344, back, sizeof(back)), 256);
		assert_memory_equal(all, back, 256);
	}
	assert_int_equal(scpp_cluster_b64_encode("foo", 3, enc, 4), -ENOSPC); /* no room for NUL */
	assert_int_equal(scpp_cluster_b64_decode("Zm9v", 4, dec, 2), -ENOSPC);
}

static void
test_cluster_b64_refuses_every_malformed_input(void **state)
{
	static const char *const bad[] = {
		"Zm9", "Zm9vY", "Zm 9v", "Zm9v\n", "Zm9-", "Zm9_", "=Zm9", "Z===", "Zg=v",
		"Zh==", /* pad bits set */ "Zm9=", /* 'o' 9 ends in bits the pad drops */
		"Zg==Zg==", /* padding before the end */
	};
	uint8_t dec[16];
	(void)state;

	for (size_t i = 0; i < SCPP_ARRAY_SIZE(bad); i++)
		if (scpp_cluster_b64_decode(bad[i], strlen(bad[i]), dec, sizeof(dec)) != -EINVAL)
			fail_msg("case %zu (%s) accepted", i, bad[i]);
	assert_int_equal(scpp_cluster_b64_decode(NULL, 0, dec, sizeof(dec)), -EINVAL);
}

static struct scpp_config_cluster_node
node2(void)
{
	struct scpp_config_cluster_node n;

	memset(&n, 0, sizeof(n));
	n.id = 2;
	snprintf(n.name, sizeof(n.name), "n2");
	n.locale = 0;
	n.ipv4 = (198u << 24) | (18u << 16) | 3;
	n.base_port = 7300;
	n.nb_shards = 2;
	n.shards[0] = 0;
	n.shards[1] = 1;
	return n;
}

/* Every shard and route of @p n, at the longest values they can take. */
static void
largest_shards_and_routes(struct scpp_config_cluster_node *n)
{
	n->nb_shards = SCPP_CONFIG_NODE_SHARDS;
	for (unsigned int i = 0; i < n->nb_shards; i++)
		n->shards[i] = (uint16_t)(50000 + i);
	n->nb_routes = SCPP_CONFIG_NODE_ROUTES;
	for (unsigned int i = 0; i < n->nb_routes; i++) {
		n->routes[i].prefix.oid = scpp_oid_make(0xffff, 0xffffffff, 0xffff, 0xffffff,
							0xffffffffff);
		n->routes[i].prefix.len = 128;
	}
}

static void
test_cluster_record_encode_is_canonical_and_round_trips(void **state)
{
	struct scpp_config_cluster_node n = node2(), back;
	struct scpp_config_error e;
	char buf[4096];
	int len;
	(void)state;

	len = scpp_cluster_record_encode(&n, buf, sizeof(buf));
	assert_string_equal(buf, "{\"id\":2,\"name\":\"n2\",\"locale\":0,\"ipv4\":\"198.18.0.3\","
				 "\"base_port\":7300,\"shards\":[0,1],\"mac\":null,\"routes\":[]}");
	assert_int_equal(len, (int)strlen(buf));
	n.has_mac = true;
	memcpy(n.mac, ((const uint8_t[]){0x02, 0xab, 0, 0, 0, 0x2}), 6);
	n.nb_routes = 1;
	assert_int_equal(scpp_oid_prefix_parse("@0.2.0.0.0/48", 13, &n.routes[0].prefix), 0);
	n.routes[0].shard = 1;
	len = scpp_cluster_record_encode(&n, buf, sizeof(buf));
	assert_string_equal(buf, "{\"id\":2,\"name\":\"n2\",\"locale\":0,\"ipv4\":\"198.18.0.3\","
				 "\"base_port\":7300,\"shards\":[0,1],\"mac\":\"02:ab:00:00:00:02\","
				 "\"routes\":[{\"prefix\":\"@0.2.0.0.0/48\",\"shard\":1}]}");
	assert_int_equal(scpp_config_cluster_node_parse(buf, (size_t)len, "k", &back, &e), 0);
	assert_int_equal(back.id, 2);
	assert_true(back.has_mac);
	assert_memory_equal(back.mac, n.mac, 6);
	assert_int_equal(back.routes[0].shard, 1);
	assert_true(scpp_oid_eq(back.routes[0].prefix.oid, n.routes[0].prefix.oid));
	/* Too small a buffer never writes a partial record as a success. */
	assert_int_equal(scpp_cluster_record_encode(&n, buf, 40), -ENOSPC);
	assert_int_equal(scpp_cluster_record_encode(NULL, buf, sizeof(buf)), -EINVAL);
	/* The largest record (windows below) fits SCPP_CONFIG_RECORD_MAX. */
	largest_shards_and_routes(&n);
	snprintf(n.name, sizeof(n.name), "%063d", 7);
	assert_true(scpp_cluster_record_encode(&n, buf, sizeof(buf)) > 0);
}

/* Record @p n with one field replaced: parse it, expect refusal naming @p path. */
/* @p bad = @p buf with its first @p from replaced by @p to. */
static void
subst(char *bad, const char *buf, const char *from, const char *to)
{
	char *p = strstr(strcpy(bad, buf), from);

	assert_non_null(p);
	memmove(p + strlen(to), p + strlen(from), strlen(p + strlen(from)) + 1);
	memcpy(p, to, strlen(to));
}

static void
window_refused(const char *json, const char *path, const char *words)
{
	struct scpp_config_cluster_node back;
	struct scpp_config_error e;

	if (scpp_config_cluster_node_parse(json, strlen(json), "k", &back, &e) != -EINVAL)
		fail_msg("accepted: %s", json);
	if (strstr(e.msg, path) == NULL || strstr(e.msg, words) == NULL)
		fail_msg("message \"%s\" does not name %s / %s", e.msg, path, words);
}

/* Windows (docs/COPY.md "Peers' windows"): encoded after the routes, only
 * when there are any; they round-trip byte for byte; every bad field is
 * refused with its path. */
static void
test_cluster_record_windows_round_trip_and_bad_ones_are_refused(void **state)
{
	static char buf[SCPP_CONFIG_RECORD_MAX], bad[SCPP_CONFIG_RECORD_MAX];
	struct scpp_config_cluster_node n = node2(), back;
	struct scpp_config_error e;
	char hex[2 * SCPP_CONFIG_WINDOW_DESC + 1], *at;
	int len;
	(void)state;

	n.nb_windows = 2;
	for (unsigned int i = 0; i < 2; i++) {
		n.windows[i].shard = (uint16_t)(1 - i);
		n.windows[i].window = scpp_oid_make(0, 2, (uint16_t)(1 - i), 0, 0x2a + i);
		for (unsigned int k = 0; k < SCPP_CONFIG_WINDOW_DESC; k++)
			n.windows[i].desc[k] = (uint8_t)(k * 7 + i);
	}
	len = scpp_cluster_record_encode(&n, buf, sizeof(buf));
	assert_true(len > 0);
	for (unsigned int k = 0; k < SCPP_CONFIG_WINDOW_DESC; k++)
		snprintf(hex + 2 * k, 3, "%02x", (unsigned int)(uint8_t)(k * 7));
	at = strstr(buf, ",\"windows\":[{\"shard\":1,\"window\":\"@0.2.1.0.2a\",\"descriptor\":\"");
	assert_non_null(at);
	assert_non_null(strstr(at, hex));
	assert_int_equal(scpp_config_cluster_node_parse(buf, (size_t)len, "k", &back, &e), 0);
	assert_int_equal(back.nb_windows, 2);
	assert_memory_equal(back.windows, n.windows, sizeof(n.windows[0]) * 2);
	assert_int_equal(scpp_cluster_record_encode(&back, bad, sizeof(bad)), len);
	assert_string_equal(bad, buf);
	/* Each bad field, refused with its path. */
	subst(bad, buf, "\"shard\":1,\"window\"", "\"shard\":5,\"window\"");
	window_refused(bad, "$.windows[0].shard", "expected one of the node's shards");
	subst(bad, buf, "\"shard\":0,\"window\"", "\"shard\":1,\"window\"");
	window_refused(bad, "$.windows[1].shard", "not listed before");
	subst(bad, buf, "@0.2.1.0.2a", "@0.2.0.0.2a");
	window_refused(bad, "$.windows[0].window", "shard 1's prefix");
	subst(bad, buf, "@0.2.1.0.2a", "@0.0.0.0.0");
	window_refused(bad, "$.windows[0].window", "not nil");
	subst(bad, buf, hex, "00");
	window_refused(bad, "$.windows[0].descriptor", "256 lower-case hex digits");
	subst(bad, buf, "\"descriptor\":\"0007", "\"descriptor\":\"0X07");
	window_refused(bad, "$.windows[0].descriptor", "hex digits");
	subst(bad, buf, "\"descriptor\":\"0007", "\"descriptor\":\"000E");
	window_refused(bad, "$.windows[0].descriptor", "lower-case");
	subst(bad, buf, ",\"descriptor\":\"", ",\"x\":1,\"descriptor\":\"");
	window_refused(bad, "$.windows[0]", "x");
	/* The largest record: every shard, route and window. */
	largest_shards_and_routes(&n);
	for (unsigned int i = 0; i < n.nb_routes; i++) {
		n.routes[i].prefix.oid.lo -= i; /* distinct, as a parsed record's are */
		n.routes[i].shard = 50000;
	}
	n.nb_windows = SCPP_CONFIG_NODE_WINDOWS;
	for (unsigned int i = 0; i < n.nb_windows; i++) {
		n.windows[i].shard = (uint16_t)(50000 + i);
		n.windows[i].window = scpp_oid_make(0xffff, 0xffffffff, (uint16_t)(50000 + i),
						    0xffffff, 0xffffffffff);
		memset(n.windows[i].desc, 0xee, sizeof(n.windows[i].desc));
	}
	n.locale = 0xffff;
	n.id = 0xffffffff;
	snprintf(n.name, sizeof(n.name), "%063d", 7);
	len = scpp_cluster_record_encode(&n, buf, sizeof(buf));
	assert_true(len > 0 && len <= SCPP_CONFIG_RECORD_MAX);
	if (scpp_config_cluster_node_parse(buf, (size_t)len, "k", &back, &e) != 0)
		fail_msg("%s", e.msg);
	assert_int_equal(back.nb_windows, SCPP_CONFIG_NODE_WINDOWS);
}

/* Memory windows (docs/COPY.md "Memory windows on other nodes"): encoded
 * after the arena windows, only when there are any; round trip byte for
 * byte; every bad field refused with its path; the largest record (every
 * shard, route, arena window and memory window) still fits. */
static void
test_cluster_record_memory_windows_round_trip_and_bad_ones_are_refused(void **state)
{
	static char buf[SCPP_CONFIG_RECORD_MAX], bad[SCPP_CONFIG_RECORD_MAX];
	struct scpp_config_cluster_node n = node2(), back;
	struct scpp_config_error e;
	char hex[2 * SCPP_CONFIG_WINDOW_DESC + 1], *at;
	int len;
	(void)state;

	n.nb_windows = 1;
	n.windows[0].shard = 0;
	n.windows[0].window = scpp_oid_make(0, 2, 0, 0, 0x29);
	n.nb_memwins = 2;
	for (unsigned int i = 0; i < 2; i++) {
		n.memwins[i].shard = (uint16_t)(1 - i);
		snprintf(n.memwins[i].name, sizeof(n.memwins[i].name), "pm%u", i);
		n.memwins[i].window = scpp_oid_make(0, 2, (uint16_t)(1 - i), 0, 0x2a + i);
		n.memwins[i].length = 65536u << i;
		for (unsigned int k = 0; k < SCPP_CONFIG_WINDOW_DESC; k++)
			n.memwins[i].desc[k] = (uint8_t)(k * 5 + i);
	}
	len = scpp_cluster_record_encode(&n, buf, sizeof(buf));
	assert_true(len > 0);
	for (unsigned int k = 0; k < SCPP_CONFIG_WINDOW_DESC; k++)
		snprintf(hex + 2 * k, 3, "%02x", (unsigned int)(uint8_t)(k * 5));
	at = strstr(buf, "],\"memory_windows\":[{\"shard\":1,\"name\":\"pm0\",\"window\":"
			 "\"@0.2.1.0.2a\",\"length\":65536,\"descriptor\":\"");
	assert_non_null(at);
	assert_non_null(strstr(at, hex));
	assert_non_null(strstr(at, "{\"shard\":0,\"name\":\"pm1\",\"window\":\"@0.2.0.0.2b\","
				   "\"length\":131072,"));
	if (scpp_config_cluster_node_parse(buf, (size_t)len, "k", &back, &e) != 0)
		fail_msg("%s", e.msg);
	assert_int_equal(back.nb_memwins, 2);
	assert_memory_equal(back.memwins, n.memwins, sizeof(n.memwins[0]) * 2);
	assert_int_equal(scpp_cluster_record_encode(&back, bad, sizeof(bad)), len);
	assert_string_equal(bad, buf);
	subst(bad, buf, "\"shard\":1,\"name\"", "\"shard\":5,\"name\"");
	window_refused(bad, "$.memory_windows[0].shard", "expected one of the node's shards");
	subst(bad, buf, "\"shard\":1,\"name\"", "\"name\"");
	window_refused(bad, "$.memory_windows[0].shard", "required");
	subst(bad, buf, "\"name\":\"pm1\"", "\"name\":\"pm0\"");
	window_refused(bad, "$.memory_windows[1].name", "not listed before");
	subst(bad, buf, "\"name\":\"pm1\"", "\"name\":\"p m\"");
	window_refused(bad, "$.memory_windows[1].name", "letters, digits, '.', '_' or '-', found \"p m\"");
	subst(bad, buf, "\"name\":\"pm1\"", "\"name\":\"\"");
	window_refused(bad, "$.memory_windows[1].name", "expected a string of 1..63");
	subst(bad, buf, "@0.2.1.0.2a", "@0.2.0.0.2a");
	window_refused(bad, "$.memory_windows[0].window", "shard 1's prefix");
	subst(bad, buf, "@0.2.0.0.2b", "@0.2.0.0.29");
	window_refused(bad, "$.memory_windows[1].window", "other than the arena windows");
	subst(bad, buf, "\"name\":\"pm1\",\"window\":\"@0.2.0.0.2b\"",
	      "\"name\":\"pm1\",\"window\":\"@0.2.1.0.2a\"");
	window_refused(bad, "$.memory_windows[1].window", "shard 0's prefix");
	subst(bad, buf, "@0.2.1.0.2a", "@0.0.0.0.0");
	window_refused(bad, "$.memory_windows[0].window", "not nil");
	subst(bad, buf, "\"length\":65536", "\"length\":0");
	window_refused(bad, "$.memory_windows[0].length", "1..1073741824");
	subst(bad, buf, "\"length\":65536", "\"length\":1073741825");
	window_refused(bad, "$.memory_windows[0].length", "1..1073741824");
	subst(bad, buf, "\"length\":65536", "\"length\":\"65536\"");
	window_refused(bad, "$.memory_windows[0].length", "integer");
	subst(bad, buf, hex, "00");
	window_refused(bad, "$.memory_windows[0].descriptor", "256 lower-case hex digits");
	subst(bad, buf, "\"descriptor\":\"0005", "\"descriptor\":\"000G");
	window_refused(bad, "$.memory_windows[0].descriptor", "hex digits");
	subst(bad, buf, ",\"descriptor\":\"0005", ",\"kind\":\"memory\",\"descriptor\":\"0005");
	window_refused(bad, "$.memory_windows[0]", "kind");
	/* Nine are refused: at most SCPP_CONFIG_NODE_MEMWINS. */
	{
		size_t o = (size_t)snprintf(bad, sizeof(bad), "%.*s", (int)(at - buf + 1), buf);

		o += (size_t)snprintf(bad + o, sizeof(bad) - o, ",\"memory_windows\":[");
		for (unsigned int i = 0; i <= SCPP_CONFIG_NODE_MEMWINS; i++)
			o += (size_t)snprintf(bad + o, sizeof(bad) - o,
					      "%s{\"shard\":0,\"name\":\"m%u\",\"window\":"
					      "\"@0.2.0.0.%x\",\"length\":1,\"descriptor\":\"%s\"}",
					      i ? "," : "", i, 0x100 + i, hex);
		snprintf(bad + o, sizeof(bad) - o, "]}");
		/* The record up to its arena windows, then nine memory windows. */
		window_refused(bad, "$.memory_windows", "0..8 objects, found 9");
	}
	/* The largest record: every shard, route, window and memory window. */
	largest_shards_and_routes(&n);
	for (unsigned int i = 0; i < n.nb_routes; i++) {
		n.routes[i].prefix.oid.lo -= i;
		n.routes[i].shard = 50000;
	}
	n.nb_windows = SCPP_CONFIG_NODE_WINDOWS;
	for (unsigned int i = 0; i < n.nb_windows; i++) {
		n.windows[i].shard = (uint16_t)(50000 + i);
		n.windows[i].window = scpp_oid_make(0xffff, 0xffffffff, (uint16_t)(50000 + i),
						    0xffffff, 0xffffffffff);
		memset(n.windows[i].desc, 0xee, sizeof(n.windows[i].desc));
	}
	n.nb_memwins = SCPP_CONFIG_NODE_MEMWINS;
	for (unsigned int i = 0; i < n.nb_memwins; i++) {
		n.memwins[i].shard = (uint16_t)(50000 + i);
		/* The longest name: 62 zeros and the index (one digit: i < 8). */
		memset(n.memwins[i].name, '0', SCPP_CONFIG_NAME_SIZE - 2);
		n.memwins[i].name[SCPP_CONFIG_NAME_SIZE - 2] = (char)('0' + i);
		n.memwins[i].name[SCPP_CONFIG_NAME_SIZE - 1] = '\0';
		n.memwins[i].window = scpp_oid_make(0xffff, 0xffffffff, (uint16_t)(50000 + i),
						    0xffffff, 0xfffffffffe);
		n.memwins[i].length = SCPP_CONFIG_NODE_MEMWIN_BYTES_MAX;
		memset(n.memwins[i].desc, 0xdd, sizeof(n.memwins[i].desc));
	}
	n.locale = 0xffff;
	n.id = 0xffffffff;
	snprintf(n.name, sizeof(n.name), "%063d", 7);
	len = scpp_cluster_record_encode(&n, buf, sizeof(buf));
	print_message("the largest record: %d bytes of %u\n", len, SCPP_CONFIG_RECORD_MAX);
	assert_true(len > 0 && len <= SCPP_CONFIG_RECORD_MAX);
	if (scpp_config_cluster_node_parse(buf, (size_t)len, "k", &back, &e) != 0)
		fail_msg("%s", e.msg);
	assert_int_equal(back.nb_memwins, SCPP_CONFIG_NODE_MEMWINS);
	assert_memory_equal(back.memwins, n.memwins, sizeof(n.memwins));
}

static void
test_cluster_etcd_key_names_the_node(void **state)
{
	char k[64];
	(void)state;

	assert_int_equal(scpp_cluster_etcd_key("/scpp/demo/", 42, k, sizeof(k)), 21);
	assert_string_equal(k, "/scpp/demo/v1/node/42");
	assert_int_equal(scpp_cluster_etcd_key("/scpp/demo/", 42, k, 21), -ENOSPC);
}

static void
test_cluster_request_bodies_are_what_the_gateway_takes(void **state)
{
	char b[512], *t;
	(void)state;

	assert_true(cluster_body_grant(b, sizeof(b), 5) > 0);
	assert_string_equal(b, "{\"TTL\":5}");
	assert_true(cluster_body_lease(b, sizeof(b), 7587899279451955720u) > 0);
	assert_string_equal(b, "{\"ID\":\"7587899279451955720\"}");
	/* "/s/" to "/s0": every key starting with "/s/". */
	assert_true(cluster_body_range_prefix(b, sizeof(b), "/s/", 257) > 0);
	assert_string_equal(b, "{\"key\":\"L3Mv\",\"range_end\":\"L3Mw\",\"limit\":257}");
	t = cluster_body_put_if("/k", "{}", 9, 0);
	assert_string_equal(t, "{\"compare\":[{\"result\":\"EQUAL\",\"target\":\"CREATE\",\"key\":"
			       "\"L2s=\",\"create_revision\":\"0\"}],\"success\":[{\"request_put\":"
			       "{\"key\":\"L2s=\",\"value\":\"e30=\",\"lease\":\"9\"}}],\"failure\":"
			       "[{\"request_range\":{\"key\":\"L2s=\"}}]}");
	free(t);
	t = cluster_body_put_if("/k", "{}", 9, 17);
	assert_non_null(strstr(t, "\"target\":\"MOD\",\"key\":\"L2s=\",\"mod_revision\":\"17\""));
	free(t);
}

/* Answers as etcd 3.4.23's gateway wrote them (ids shortened). */
#define HDR "\"header\":{\"cluster_id\":\"14841639068965178418\",\"member_id\":\"1\"," \
	    "\"revision\":\"12\",\"raft_term\":\"2\"}"
/* /p/v1/node/2 = L3AvdjEvbm9kZS8y, /p/v1/node/3 = L3AvdjEvbm9kZS8z */
#define V2 "eyJpZCI6MiwibmFtZSI6Im4yIiwiaXB2NCI6IjE5OC4xOC4wLjMiLCJzaGFyZHMiOlswXX0="
#define KV(key, val, cr, mr, lease)                                                  \
	"{\"key\":\"" key "\",\"create_revision\":\"" cr "\",\"mod_revision\":\"" mr \
	"\",\"version\":\"1\",\"value\":\"" val "\",\"lease\":\"" lease "\"}"

static void
test_cluster_decode_range_reads_records_and_revision(void **state)
{
	struct scpp_cluster_range *r = malloc(sizeof(*r));
	char err[256];
	static const char ok[] = "{" HDR ",\"kvs\":[" KV("L3AvdjEvbm9kZS8y", V2, "5", "7", "99")
				 "],\"count\":\"1\"}";
	static const char empty[] = "{" HDR "}";
	(void)state;

	assert_int_equal(scpp_cluster_etcd_decode_range(ok, strlen(ok), "/p/", r, err, sizeof(err)),
			 0);
	assert_int_equal(r->revision, 12);
	assert_true(r->cluster_id == UINT64_C(14841639068965178418));
	assert_int_equal(r->nb, 1);
	assert_int_equal(r->recs[0].rec.id, 2);
	assert_string_equal(r->recs[0].rec.name, "n2");
	assert_int_equal(r->recs[0].create_revision, 5);
	assert_int_equal(r->recs[0].mod_revision, 7);
	assert_int_equal(r->recs[0].lease, 99);
	assert_string_equal(r->recs[0].origin, "etcd /p/v1/node/2");
	assert_int_equal(r->rep.rejected, 0);
	/* Nothing under the prefix: no "kvs" at all. */
	assert_int_equal(scpp_cluster_etcd_decode_range(empty, strlen(empty), "/p/", r, err,
							sizeof(err)), 0);
	assert_int_equal(r->nb, 0);
	assert_int_equal(r->revision, 12);
	free(r);
}

struct bad_record {
	const char *kv;
	const char *msg;
};

/* /p/v1/node/02 = L3AvdjEvbm9kZS8wMg==, /p/v1/other = L3AvdjEvb3RoZXI= */
static const struct bad_record bad_records[] = {
	{KV("L3AvdjEvbm9kZS8z", V2, "5", "5", "1"),
	 "etcd /p/v1/node/3: $.id: expected 3, the id its key names, found 2"},
	{KV("L3AvdjEvbm9kZS8wMg==", V2, "5", "5", "1"),
	 "etcd /p/v1/node/02: expected a key /p/v1/node/<id> (id 1..4294967295 in decimal, no "
	 "leading zero)"},
	{KV("L3AvdjEvb3RoZXI=", V2, "5", "5", "1"),
	 "etcd /p/v1/other: expected a key /p/v1/node/<id> (id 1..4294967295 in decimal, no "
	 "leading zero)"},
	/* {"id":2} */
	{KV("L3AvdjEvbm9kZS8y", "eyJpZCI6Mn0=", "5", "5", "1"),
	 "etcd /p/v1/node/2: $.name: expected a string of 1..63 letters, digits, '.', '_' or '-', "
	 "found nothing (the key is required)"},
	/* not JSON: "hello" */
	{KV("L3AvdjEvbm9kZS8y", "aGVsbG8=", "5", "5", "1"),
	 "etcd /p/v1/node/2:1:1: JSON syntax error at \"hello\""},
};

static void
test_cluster_decode_range_refuses_bad_records_alone(void **state)
{
	struct scpp_cluster_range *r = malloc(sizeof(*r));
	char json[2048], err[256];
	(void)state;

	for (size_t i = 0; i < SCPP_ARRAY_SIZE(bad_records); i++) {
		snprintf(json, sizeof(json), "{" HDR ",\"kvs\":[%s," KV("L3AvdjEvbm9kZS8y", V2, "4",
			 "4", "1") "]}", bad_records[i].kv);
		assert_int_equal(scpp_cluster_etcd_decode_range(json, strlen(json), "/p/", r, err,
								sizeof(err)), 0);
		/* The good record is still taken. */
		assert_int_equal(r->nb, 1);
		assert_int_equal(r->rep.rejected, 1);
		if (strncmp(r->rep.msgs[0], bad_records[i].msg, strlen(bad_records[i].msg)) != 0)
			fail_msg("case %zu:\n got: %s\nwant: %s", i, r->rep.msgs[0], bad_records[i].msg);
	}
	free(r);
}

struct bad_answer {
	const char *json;
	int rc;
	const char *msg;
};

static const struct bad_answer bad_answers[] = {
	{"", -EBADMSG, "range: the answer is not a JSON object"},
	{"[]", -EBADMSG, "range: the answer is not a JSON object"},
	{"{\"error\":\"etcdserver: request timed out\",\"message\":\"etcdserver: request timed "
	 "out\",\"code\":14}", -EREMOTEIO, "range: etcd answered \"etcdserver: request timed out\""},
	{"{}", -EBADMSG, "range: etcd answered \"an error without a message\""},
	{"{\"header\":{}}", -EBADMSG, "range: $.header.revision: expected the store revision as a "
	 "decimal string above 0"},
	{"{\"header\":{\"revision\":\"-1\"}}", -EBADMSG, "range: $.header.revision: expected"},
	{"{\"header\":{\"revision\":\"012\"}}", -EBADMSG, "range: $.header.revision: expected"},
	{"{\"header\":{\"revision\":\"99999999999999999999\"}}", -EBADMSG,
	 "range: $.header.revision: expected"},
	{"{\"header\":{\"revision\":\"3\",\"cluster_id\":true}}", -EBADMSG,
	 "range: $.header.cluster_id: expected a decimal string"},
	{"{" HDR ",\"kvs\":{}}", -EBADMSG, "range: $.kvs: expected an array of key-values"},
	{"{" HDR ",\"more\":true}", -EBADMSG, "range: the registry holds more than 256 node "
	 "records, the most a map takes"},
	{"{" HDR ",\"kvs\":[{\"key\":\"***\"}]}", -EBADMSG,
	 "range: $.kvs[0].key: expected a key in base64 of at most 255 bytes"},
	{"{" HDR ",\"kvs\":[{\"key\":\"L3AvdjEvbm9kZS8y\",\"value\":\"a\"}]}", -EBADMSG,
	 "range: $.kvs[0].value: expected a value in base64"},
	{"{" HDR ",\"kvs\":[{\"key\":\"L3AvdjEvbm9kZS8y\",\"value\":7}]}", -EBADMSG,
	 "range: $.kvs[0].value: expected a value in base64"},
	{"{" HDR ",\"kvs\":[{\"key\":\"L3AvdjEvbm9kZS8y\",\"lease\":\"x\"}]}", -EBADMSG,
	 "range: $.kvs[0]: expected create_revision, mod_revision and lease as decimal strings"},
};

static void
test_cluster_decode_range_fails_whole_on_a_bad_answer(void **state)
{
	struct scpp_cluster_range *r = malloc(sizeof(*r));
	char err[256];
	(void)state;

	for (size_t i = 0; i < SCPP_ARRAY_SIZE(bad_answers); i++) {
		const struct bad_answer *b = &bad_answers[i];
		int rc = scpp_cluster_etcd_decode_range(b->json, strlen(b->json), "/p/", r, err,
							sizeof(err));

		if (rc != b->rc)
			fail_msg("case %zu: rc %d, want %d (%s)", i, rc, b->rc, err);
		if (strncmp(err, b->msg, strlen(b->msg)) != 0)
			fail_msg("case %zu:\n got: %s\nwant: %s", i, err, b->msg);
	}
	/* More records than a map takes. */
	{
		size_t size = 300 * 200 + 512, o;
		char *big = malloc(size);

		o = (size_t)snprintf(big, size, "{" HDR ",\"kvs\":[");
		for (int i = 0; i < 257; i++)
			o += (size_t)snprintf(big + o, size - o, "%s{\"key\":\"L3AvdjEvbm9kZS8y\"}",
					      i ? "," : "");
		snprintf(big + o, size - o, "]}");
		assert_int_equal(scpp_cluster_etcd_decode_range(big, strlen(big), "/p/", r, err,
								sizeof(err)), -EBADMSG);
		assert_string_equal(err, "range: $.kvs: 257 node records, above the 256 a map takes");
		free(big);
	}
	assert_int_equal(scpp_cluster_etcd_decode_range(NULL, 0, "/p/", r, err, sizeof(err)), -EINVAL);
	free(r);
}

static void
test_cluster_lease_and_txn_answers_decode(void **state)
{
	struct cluster_kv kv;
	char err[256];
	uint64_t lease = 0;
	uint32_t ttl = 0;
	bool ok = true;
	static const char grant[] = "{" HDR ",\"ID\":\"7587899279451955717\",\"TTL\":\"3\"}";
	static const char ka[] = "{\"result\":{" HDR ",\"ID\":\"5\",\"TTL\":\"3\"}}";
	static const char ka_gone[] = "{\"result\":{" HDR ",\"ID\":\"5\"}}";
	static const char txn_ok[] = "{" HDR ",\"succeeded\":true,\"responses\":[{\"response_put\":"
				     "{\"header\":{\"revision\":\"2\"}}}]}";
	static const char txn_taken[] = "{" HDR ",\"responses\":[{\"response_range\":{\"header\":"
					"{\"revision\":\"2\"},\"kvs\":[" KV("L3AvdjEvbm9kZS8y", V2, "2",
					"3", "77") "],\"count\":\"1\"}}]}";
	static const char txn_gone[] = "{" HDR ",\"responses\":[{\"response_range\":{\"header\":"
				       "{\"revision\":\"2\"}}}]}";
	static const char not_found[] = "{\"error\":\"etcdserver: requested lease not found\","
					"\"message\":\"etcdserver: requested lease not found\","
					"\"code\":5}";
	(void)state;

	assert_int_equal(cluster_answer_grant(grant, strlen(grant), &lease, &ttl, err, sizeof(err)), 0);
	assert_true(lease == UINT64_C(7587899279451955717));
	assert_int_equal(ttl, 3);
	assert_int_equal(cluster_answer_grant("{" HDR ",\"TTL\":\"3\"}", strlen("{" HDR ",\"TTL\":\"3\"}"),
					      &lease, &ttl, err, sizeof(err)), -EBADMSG);
	assert_int_equal(cluster_answer_keepalive(ka, strlen(ka), 5, &ttl, err, sizeof(err)), 0);
	assert_int_equal(ttl, 3);
	assert_int_equal(cluster_answer_keepalive(ka_gone, strlen(ka_gone), 5, &ttl, err, sizeof(err)),
			 0);
	assert_int_equal(ttl, 0);
	assert_int_equal(cluster_answer_keepalive(ka, strlen(ka), 6, &ttl, err, sizeof(err)), -EBADMSG);
	assert_int_equal(cluster_answer_keepalive(not_found, strlen(not_found), 5, &ttl, err,
						  sizeof(err)), -EREMOTEIO);
	assert_string_equal(err, "lease keepalive: etcd answered \"etcdserver: requested lease not "
				 "found\"");
	assert_int_equal(cluster_answer_put_if(txn_ok, strlen(txn_ok), &ok, &kv, err, sizeof(err)), 0);
	assert_true(ok);
	assert_null(kv.value);
	assert_int_equal(cluster_answer_put_if(txn_taken, strlen(txn_taken), &ok, &kv, err,
					       sizeof(err)), 0);
	assert_false(ok);
	assert_string_equal(kv.key, "/p/v1/node/2");
	assert_int_equal(kv.lease, 77);
	assert_int_equal(kv.mod_revision, 3);
	assert_non_null(strstr(kv.value, "\"name\":\"n2\""));
	free(kv.value);
	assert_int_equal(cluster_answer_put_if(txn_gone, strlen(txn_gone), &ok, &kv, err,
					       sizeof(err)), 0);
	assert_false(ok);
	assert_null(kv.value);
	assert_int_equal(cluster_answer_put_if("{" HDR "}", strlen("{" HDR "}"), &ok, &kv, err,
					       sizeof(err)), -EBADMSG);
	assert_true(cluster_answer_error(not_found, strlen(not_found), err, sizeof(err)));
	assert_false(cluster_answer_error(grant, strlen(grant), err, sizeof(err)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cluster_b64_matches_rfc4648_vectors),
		cmocka_unit_test(test_cluster_b64_refuses_every_malformed_input),
		cmocka_unit_test(test_cluster_record_encode_is_canonical_and_round_trips),
		cmocka_unit_test(test_cluster_record_windows_round_trip_and_bad_ones_are_refused),
		cmocka_unit_test(test_cluster_record_memory_windows_round_trip_and_bad_ones_are_refused),
		cmocka_unit_test(test_cluster_etcd_key_names_the_node),
		cmocka_unit_test(test_cluster_request_bodies_are_what_the_gateway_takes),
		cmocka_unit_test(test_cluster_decode_range_reads_records_and_revision),
		cmocka_unit_test(test_cluster_decode_range_refuses_bad_records_alone),
		cmocka_unit_test(test_cluster_decode_range_fails_whole_on_a_bad_answer),
		cmocka_unit_test(test_cluster_lease_and_txn_answers_decode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
