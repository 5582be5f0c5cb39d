/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/config: every key accepted with its default and with a non-default
 * value; one bad field at a time rejected with the exact message; dump and
 * load round-trip; the embedded default equals config/default.json.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scpp_test.h"
#include "scpp_common.h"
#include "scpp_oid.h"
#include "scpp_config.h"

#define IP(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))

static char *
dump_to_string(const struct scpp_config *cfg)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	assert_non_null(f);
	assert_int_equal(scpp_config_dump(f, cfg), 0);
	fclose(f);
	return text;
}

static int
load(const char *json, struct scpp_config *cfg, struct scpp_config_error *err)
{
	return scpp_config_load_string(json, strlen(json), "scppd.json", cfg, err);
}

static void
source_path(char *buf, size_t size, const char *rel)
{
	const char *root = getenv("SCPP_SOURCE_ROOT");

	snprintf(buf, size, "%s/%s", root != NULL ? root : ".", rel);
}

/* ---- accepting side ---------------------------------------------------- */

static void
test_config_empty_object_yields_every_documented_default(void **state)
{
	struct scpp_config c;
	struct scpp_config_error e;
	(void)state;

	assert_int_equal(load("{}", &c, &e), 0);
	assert_int_equal(c.node.locale, 0);
	assert_int_equal(c.node.id, 1);
	assert_string_equal(c.node.name, "scpp");
	assert_string_equal(c.node.state_dir, "/var/lib/scpp");
	assert_int_equal(c.eal.main_lcore, 0);
	assert_int_equal(c.eal.memory_mb, 256);
	assert_int_equal(c.eal.hugepages, SCPP_CONFIG_HUGEPAGES_AUTO);
	assert_string_equal(c.eal.file_prefix, "scppd");
	assert_int_equal(c.eal.nb_args, 0);
	assert_int_equal(c.nb_ports, 1);
	assert_string_equal(c.ports[0].devargs, "net_tap0,iface=scpp0");
	assert_int_equal(c.ports[0].ipv4, IP(198, 18, 0, 2));
	assert_int_equal(c.ports[0].prefix_len, 24);
	assert_false(c.ports[0].has_gateway);
	assert_int_equal(c.ports[0].mtu, 1500);
	assert_int_equal(c.ports[0].rx_desc, 1024);
	assert_int_equal(c.ports[0].tx_desc, 1024);
	assert_int_equal(c.ports[0].queues_per_worker, 1);
	assert_int_equal(c.ports[0].mempool_size, 8191);
	assert_int_equal(c.ports[0].mempool_cache, 256);
	assert_int_equal(c.udp.base_port, 7300);
	assert_int_equal(c.nb_workers, 1);
	assert_int_equal(c.workers[0].lcore, 1);
	assert_int_equal(c.workers[0].shard, 0);
	assert_int_equal(c.store.entries, 65536);
	assert_int_equal(c.store.slab_mb, 64);
	assert_int_equal(c.store.max_value_bytes, 1 << 20);
	assert_int_equal(c.store.dict_size, 4096);
	assert_int_equal(c.eval.max_rows, 4096);
	assert_int_equal(c.eval.max_steps, 1000000);
	assert_int_equal(c.eval.max_bytes, 16 << 20);
	assert_int_equal(c.eval.max_result_bytes, 1 << 20);
	assert_int_equal(c.eval.max_statuses, 256);
	assert_int_equal(c.eval.max_time_us, 1000);
	assert_int_equal(c.delivery.reply_cache_entries, 32768);
	assert_int_equal(c.delivery.reply_cache_mb, 16);
	assert_int_equal(c.delivery.retention_ms, 10000);
	assert_int_equal(c.delivery.clients, 8192);
	assert_int_equal(c.delivery.reassembly_slots, 64);
	assert_int_equal(c.delivery.reassembly_per_source, 8);
	assert_int_equal(c.delivery.max_parked, 256);
	assert_int_equal(c.delivery.park_timeout_ms, 1000);
	assert_int_equal(c.delivery.reassembly_timeout_ms, 500);
	assert_int_equal(c.delivery.max_fragments, 64);
	assert_int_equal(c.delivery.tx_backlog, 4096);
	assert_int_equal(c.delivery.error_rate_per_source, 20);
	assert_int_equal(c.delivery.error_rate_total, 2000);
	assert_int_equal(c.nb_routes, 0);
	assert_null(c.routes);
	assert_int_equal(c.schema.nb_files, 2);
	assert_string_equal(c.schema.files[0], "schema/core.json");
	assert_string_equal(c.schema.files[1], "schema/posix.json");
	assert_int_equal(c.auth.mode, SCPP_CONFIG_AUTH_REQUIRED);
	assert_int_equal(c.auth.sessions, 1024);
	assert_int_equal(c.auth.nb_roots, 0);
	assert_int_equal(c.auth.nb_peers, 0);
	assert_int_equal(c.log.level, 7);
	assert_string_equal(scpp_config_log_level_name(c.log.level), "info");
	assert_int_equal(c.log.nb_types, 0);
	assert_true(c.telemetry.enabled);
	assert_true(c.idle.enabled);
	assert_int_equal(c.idle.max_sleep_us, 100);
	assert_int_equal(c.copy.local, SCPP_CONFIG_COPY_LOCAL_AUTO);
	assert_int_equal(c.copy.remote, SCPP_CONFIG_COPY_REMOTE_NONE);
	assert_false(c.copy.dma_skeleton);
	assert_int_equal(c.copy.nb_workers, 0);
	assert_string_equal(c.copy.fabric.provider, "tcp");
	assert_string_equal(c.copy.fabric.node, "");
	assert_string_equal(c.copy.fabric.service, "");
	assert_string_equal(c.copy.verbs.device, "");
	assert_int_equal(c.copy.verbs.port, 1);
	assert_int_equal(c.copy.verbs.addressing, SCPP_CONFIG_COPY_ADDR_LID);
	assert_int_equal(c.copy.ring_size, 1024);
	assert_int_equal(c.copy.max_len, 64 << 20);
	assert_int_equal(c.copy.part_max, 0);
	assert_int_equal(c.copy.timeout_ms, 1000);
	assert_int_equal(c.copy.max_regions, 16);
	assert_int_equal(c.copy.max_remotes, 64);
	assert_true(c.copy.recover);
	assert_int_equal(c.copy.min_bytes, 4096);
	assert_int_equal(c.copy.sync_max_bytes, 4 << 20);
	assert_int_equal(c.copy.inflight_bytes, 4 << 20);
	assert_int_equal(c.copy.inflight_copies, 64);
	scpp_config_free(&c);
}

static void
test_config_defaults_function_matches_empty_object(void **state)
{
	struct scpp_config a, b;
	char *ta, *tb;
	(void)state;

	scpp_config_defaults(&a);
	assert_int_equal(load("{ }", &b, NULL), 0);
	ta = dump_to_string(&a);
	tb = dump_to_string(&b);
	assert_string_equal(ta, tb);
	free(ta);
	free(tb);
	scpp_config_free(&a);
	scpp_config_free(&b);
}

static void
test_config_embedded_default_equals_default_json_file_and_dump(void **state)
{
	struct scpp_config from_str, from_file, defaults;
	struct scpp_config_error e;
	char path[512], *t1, *t2, *t3;
	(void)state;

	source_path(path, sizeof(path), "config/default.json");
	assert_int_equal(load(SCPP_CONFIG_DEFAULT_JSON, &from_str, &e), 0);
	if (scpp_config_load_file(path, &from_file, &e) != 0)
		fail_msg("%s", e.msg);
	scpp_config_defaults(&defaults);
	t1 = dump_to_string(&from_str);
	t2 = dump_to_string(&from_file);
	t3 = dump_to_string(&defaults);
	assert_string_equal(t1, t2);
	assert_string_equal(t1, t3);
	/* The embedded text is exactly what dump prints for the defaults. */
	assert_string_equal(t3, SCPP_CONFIG_DEFAULT_JSON);
	free(t1);
	free(t2);
	free(t3);
	scpp_config_free(&from_str);
	scpp_config_free(&from_file);
}

static void
test_config_example_files_in_config_dir_are_valid(void **state)
{
	struct scpp_config c;
	struct scpp_config_error e;
	char path[512];
	(void)state;

	source_path(path, sizeof(path), "config/memif.json");
	if (scpp_config_load_file(path, &c, &e) != 0)
		fail_msg("%s", e.msg);
	assert_string_equal(c.ports[0].devargs, "net_memif0,role=server,socket=/tmp/scpp-perf.sock");
	assert_false(c.idle.enabled);
	scpp_config_free(&c);

	source_path(path, sizeof(path), "config/two-workers.json");
	if (scpp_config_load_file(path, &c, &e) != 0)
		fail_msg("%s", e.msg);
	assert_int_equal(c.nb_workers, 2);
	assert_int_equal(c.workers[1].lcore, 2);
	assert_int_equal(c.workers[1].shard, 1);
	assert_int_equal(c.nb_routes, 1);
	assert_int_equal(c.routes[0].node, 2);
	assert_int_equal(c.routes[0].peer_ipv4, IP(198, 18, 0, 3));
	assert_int_equal(c.routes[0].peer_port, 7300);
	scpp_config_free(&c);
}

/* Every key set to a value other than its default. */
static const char full_json[] =
	"{\n"
	"  \"node\": {\"locale\": 3, \"id\": 4000000000, \"name\": \"edge-7.lab_a\","
	"            \"state_dir\": \"/srv/scpp state\"},\n"
	"  \"eal\": {\"main_lcore\": 2, \"memory_mb\": 1024, \"hugepages\": \"off\","
	"           \"file_prefix\": \"p-1\", \"args\": [\"--log-level=lib.eal:debug\", \"-a\","
	"           \"0000:03:00.0\"]},\n"
	"  \"ports\": [\n"
	"    {\"devargs\": \"0000:03:00.0,rxq_cqe_comp_en=0,representor=[0-3,5]\","
	"     \"ipv4\": \"10.1.2.3/16\", \"gateway\": \"10.1.0.1\", \"mtu\": 9000,"
	"     \"rx_desc\": 4096, \"tx_desc\": 512, \"queues_per_worker\": 2,"
	"     \"mempool_size\": 65535, \"mempool_cache\": 512, \"mbuf_data_room\": 9400},\n"
	"    {\"devargs\": \"net_tap1,iface=t1,persist\", \"ipv4\": \"198.18.1.9/32\"}\n"
	"  ],\n"
	"  \"udp\": {\"base_port\": 9000},\n"
	"  \"workers\": [{\"lcore\": 5, \"shard\": 7}, {\"lcore\": 1, \"shard\": 0}],\n"
	"  \"store\": {\"entries\": 2000000, \"slab_mb\": 2048, \"max_value_bytes\": 4096,"
	"             \"dict_size\": 65536},\n"
	"  \"eval\": {\"max_rows\": 100, \"max_steps\": 1099511627776, \"max_bytes\": 4294967296,"
	"            \"max_result_bytes\": 2048, \"max_statuses\": 65536, \"max_time_us\": 10000000},\n"
	"  \"delivery\": {\"reply_cache_entries\": 16, \"reply_cache_mb\": 1,"
	"                \"retention_ms\": 3600000, \"clients\": 16, \"reassembly_slots\": 65536,"
	"                \"reassembly_per_source\": 65536, \"reassembly_timeout_ms\": 60000,"
	"                \"max_fragments\": 1, \"tx_backlog\": 64,"
	"                \"error_rate_per_source\": 0, \"error_rate_total\": 1000000},\n"
	"  \"routes\": [\n"
	"    {\"prefix\": \"@3.2.0.0.0/48\", \"node\": 2, \"peer\": \"10.1.0.2:7300\"},\n"
	"    {\"prefix\": \"@0.0.0.0.0/0\", \"node\": 9, \"peer\": \"10.1.0.9:1\"},\n"
	"    {\"prefix\": \"@3.2.5.0.0/64\", \"node\": 2, \"peer\": \"10.1.0.2:7306\"}\n"
	"  ],\n"
	"  \"schema\": {\"files\": [\"/etc/scpp/core.json\"]},\n"
	"  \"auth\": {\"mode\": \"optional\", \"roots\": [\"/etc/scpp/root.key.pub\"],"
	"             \"peers\": [\"2:/etc/scpp/n2.key.pub\"], \"sessions\": 64},\n"
	"  \"log\": {\"level\": \"debug\", \"types\": {\"scp.route\": \"emerg\", \"scp.config\": \"warning\"}},\n"
	"  \"telemetry\": {\"enabled\": false},\n"
	"  \"idle\": {\"enabled\": false, \"max_sleep_us\": 1000000},\n"
	"  \"copy\": {\"local\": \"dmadev\", \"remote\": \"fabric\", \"dma_skeleton\": true,"
	"            \"workers\": [{\"local\": \"memcpy\"}, {\"dmadev\": \"dma_skeleton1\"}],"
	"            \"fabric\": {\"provider\": \"tcp;ofi_rxm\", \"node\": \"10.1.2.3\","
	"                       \"service\": \"7400\"},"
	"            \"verbs\": {\"device\": \"mlx5_0\", \"port\": 2, \"addressing\": \"gid\","
	"                      \"gid_index\": 3},"
	"            \"ring_size\": 65536, \"max_len\": 1099511627776, \"part_max\": 1048576,"
	"            \"timeout_ms\": 0, \"max_regions\": 256, \"max_remotes\": 4096,"
	"            \"recover\": false, \"min_bytes\": 0, \"sync_max_bytes\": 0,"
	"            \"inflight_bytes\": 0, \"inflight_copies\": 4096,"
	"            \"memory_windows\": [{\"name\": \"vm0\", \"bytes\": 1073741824, \"worker\": 1},"
	"                               {\"name\": \"vm1\", \"bytes\": 1}]}\n"
	"}\n";

static void
test_config_accepts_a_non_default_value_for_every_key(void **state)
{
	struct scpp_config c;
	struct scpp_config_error e;
	(void)state;

	if (load(full_json, &c, &e) != 0)
		fail_msg("%s", e.msg);
	assert_int_equal(c.node.locale, 3);
	assert_int_equal(c.node.id, 4000000000u);
	assert_string_equal(c.node.name, "edge-7.lab_a");
	assert_string_equal(c.node.state_dir, "/srv/scpp state");
	assert_int_equal(c.eal.main_lcore, 2);
	assert_int_equal(c.eal.memory_mb, 1024);
	assert_int_equal(c.eal.hugepages, SCPP_CONFIG_HUGEPAGES_OFF);
	assert_string_equal(c.eal.file_prefix, "p-1");
	assert_int_equal(c.eal.nb_args, 3);
	assert_string_equal(c.eal.args[0], "--log-level=lib.eal:debug");
	assert_string_equal(c.eal.args[2], "0000:03:00.0");
	assert_int_equal(c.nb_ports, 2);
	assert_string_equal(c.ports[0].devargs, "0000:03:00.0,rxq_cqe_comp_en=0,representor=[0-3,5]");
	assert_int_equal(c.ports[0].ipv4, IP(10, 1, 2, 3));
	assert_int_equal(c.ports[0].prefix_len, 16);
	assert_true(c.ports[0].has_gateway);
	assert_int_equal(c.ports[0].gateway, IP(10, 1, 0, 1));
	assert_int_equal(c.ports[0].mtu, 9000);
	assert_int_equal(c.ports[0].rx_desc, 4096);
	assert_int_equal(c.ports[0].tx_desc, 512);
	assert_int_equal(c.ports[0].queues_per_worker, 2);
	assert_int_equal(c.ports[0].mempool_size, 65535);
	assert_int_equal(c.ports[0].mempool_cache, 512);
	assert_int_equal(c.ports[0].mbuf_data_room, 9400);
	/* The second port takes the per-port defaults. */
	assert_string_equal(c.ports[1].devargs, "net_tap1,iface=t1,persist");
	assert_int_equal(c.ports[1].prefix_len, 32);
	assert_false(c.ports[1].has_gateway);
	assert_int_equal(c.ports[1].mtu, 1500);
	assert_int_equal(c.ports[1].mempool_cache, 256);
	assert_int_equal(c.ports[1].mbuf_data_room, 0);
	assert_int_equal(c.udp.base_port, 9000);
	assert_int_equal(c.nb_workers, 2);
	assert_int_equal(c.workers[0].lcore, 5);
	assert_int_equal(c.workers[0].shard, 7);
	assert_int_equal(c.store.entries, 2000000);
	assert_int_equal(c.store.slab_mb, 2048);
	assert_int_equal(c.store.max_value_bytes, 4096);
	assert_int_equal(c.store.dict_size, 65536);
	assert_int_equal(c.eval.max_rows, 100);
	assert_true(c.eval.max_steps == UINT64_C(1) << 40);
	assert_true(c.eval.max_bytes == UINT64_C(1) << 32);
	assert_int_equal(c.eval.max_result_bytes, 2048);
	assert_int_equal(c.eval.max_statuses, 65536);
	assert_int_equal(c.eval.max_time_us, 10000000);
	assert_int_equal(c.delivery.reply_cache_entries, 16);
	assert_int_equal(c.delivery.reply_cache_mb, 1);
	assert_int_equal(c.delivery.retention_ms, 3600000);
	assert_int_equal(c.delivery.clients, 16);
	assert_int_equal(c.delivery.reassembly_slots, 65536);
	assert_int_equal(c.delivery.reassembly_per_source, 65536);
	assert_int_equal(c.delivery.reassembly_timeout_ms, 60000);
	assert_int_equal(c.delivery.max_fragments, 1);
	assert_int_equal(c.delivery.tx_backlog, 64);
	assert_int_equal(c.delivery.error_rate_per_source, 0);
	assert_int_equal(c.delivery.error_rate_total, 1000000);
	assert_int_equal(c.nb_routes, 3);
	assert_int_equal(c.routes[0].prefix.len, 48);
	assert_true(scpp_oid_eq(c.routes[0].prefix.oid, scpp_oid_make(3, 2, 0, 0, 0)));
	assert_int_equal(c.routes[0].node, 2);
	assert_int_equal(c.routes[0].peer_ipv4, IP(10, 1, 0, 2));
	assert_int_equal(c.routes[0].peer_port, 7300);
	assert_int_equal(c.routes[1].prefix.len, 0);
	assert_int_equal(c.routes[2].peer_port, 7306);
	assert_int_equal(c.schema.nb_files, 1);
	assert_string_equal(c.schema.files[0], "/etc/scpp/core.json");
	assert_int_equal(c.auth.nb_peers, 1);
	assert_string_equal(c.auth.peers[0], "2:/etc/scpp/n2.key.pub");
	assert_int_equal(c.log.level, 8);
	assert_int_equal(c.log.nb_types, 2);
	assert_string_equal(c.log.types[0].name, "scp.route");
	assert_int_equal(c.log.types[0].level, 1);
	assert_string_equal(c.log.types[1].name, "scp.config");
	assert_int_equal(c.log.types[1].level, 5);
	assert_false(c.telemetry.enabled);
	assert_false(c.idle.enabled);
	assert_int_equal(c.idle.max_sleep_us, 1000000);
	assert_int_equal(c.copy.local, SCPP_CONFIG_COPY_LOCAL_DMADEV);
	assert_int_equal(c.copy.remote, SCPP_CONFIG_COPY_REMOTE_FABRIC);
	assert_true(c.copy.dma_skeleton);
	assert_int_equal(c.copy.nb_workers, 2);
	assert_int_equal(c.copy.workers[0].local, SCPP_CONFIG_COPY_LOCAL_MEMCPY);
	assert_string_equal(c.copy.workers[0].dmadev, "");
	assert_int_equal(c.copy.workers[1].local, SCPP_CONFIG_COPY_LOCAL_DEFAULT);
	assert_string_equal(c.copy.workers[1].dmadev, "dma_skeleton1");
	assert_string_equal(c.copy.fabric.provider, "tcp;ofi_rxm");
	assert_string_equal(c.copy.fabric.node, "10.1.2.3");
	assert_string_equal(c.copy.fabric.service, "7400");
	assert_string_equal(c.copy.verbs.device, "mlx5_0");
	assert_int_equal(c.copy.verbs.port, 2);
	assert_int_equal(c.copy.verbs.addressing, SCPP_CONFIG_COPY_ADDR_GID);
	assert_int_equal(c.copy.verbs.gid_index, 3);
	assert_int_equal(c.copy.ring_size, 65536);
	assert_true(c.copy.max_len == UINT64_C(1) << 40);
	assert_int_equal(c.copy.part_max, 1048576);
	assert_int_equal(c.copy.timeout_ms, 0);
	assert_int_equal(c.copy.max_regions, 256);
	assert_int_equal(c.copy.max_remotes, 4096);
	assert_false(c.copy.recover);
	assert_int_equal(c.copy.min_bytes, 0);
	assert_int_equal(c.copy.sync_max_bytes, 0);
	assert_int_equal(c.copy.inflight_bytes, 0);
	assert_int_equal(c.copy.inflight_copies, 4096);
	assert_int_equal(c.copy.nb_memwins, 2);
	assert_string_equal(c.copy.memwins[0].name, "vm0");
	assert_int_equal(c.copy.memwins[0].bytes, UINT64_C(1) << 30);
	assert_int_equal(c.copy.memwins[0].worker, 1);
	assert_string_equal(c.copy.memwins[1].name, "vm1");
	assert_int_equal(c.copy.memwins[1].bytes, 1);
	assert_int_equal(c.copy.memwins[1].worker, 0);
	assert_string_equal(scpp_config_copy_local_name(c.copy.workers[1].local), "default");
	assert_string_equal(scpp_config_copy_remote_name(c.copy.remote), "fabric");
	assert_null(scpp_config_copy_remote_name((enum scpp_config_copy_remote)7));
	scpp_config_free(&c);
}

static void
test_config_dump_loads_back_to_the_same_config(void **state)
{
	struct scpp_config a, b;
	struct scpp_config_error e;
	char *ta, *tb;
	(void)state;

	assert_int_equal(load(full_json, &a, &e), 0);
	ta = dump_to_string(&a);
	if (load(ta, &b, &e) != 0)
		fail_msg("%s\n%s", e.msg, ta);
	tb = dump_to_string(&b);
	assert_string_equal(ta, tb);
	assert_non_null(strstr(ta, "\"gateway\": \"10.1.0.1\""));
	assert_non_null(strstr(ta, "\"types\": {\n      \"scp.route\": \"emerg\""));
	free(ta);
	free(tb);
	scpp_config_free(&a);
	scpp_config_free(&b);
}

static void
test_config_accepts_range_limits_inclusive(void **state)
{
	static const char *const ok[] = {
		"{\"node\": {\"locale\": 65535, \"id\": 4294967295}}",
		"{\"eal\": {\"main_lcore\": 127, \"memory_mb\": 64}}",
		"{\"eal\": {\"memory_mb\": 1048576}}",
		"{\"udp\": {\"base_port\": 65534}, \"workers\": [{\"lcore\": 1, \"shard\": 0}]}",
		"{\"udp\": {\"base_port\": 1}, \"workers\": [{\"lcore\": 1, \"shard\": 65533}]}",
		"{\"ports\": [{\"devargs\": \"net_ring0\", \"ipv4\": \"1.0.0.1/1\", \"mtu\": 576,"
		" \"rx_desc\": 64, \"tx_desc\": 128, \"mempool_size\": 255, \"mempool_cache\": 0}]}",
		"{\"ports\": [{\"devargs\": \"net_ring0\", \"ipv4\": \"1.0.0.1/1\", \"tx_desc\": 16384,"
		" \"mempool_size\": 4194304}]}",
		"{\"ports\": [{\"devargs\": \"net_null0\", \"ipv4\": \"198.18.0.2/24\", \"gateway\": null}]}",
		/* mbuf_data_room: exactly what the MTU needs, and the largest. */
		"{\"ports\": [{\"devargs\": \"net_ring0\", \"ipv4\": \"1.0.0.1/1\", \"mtu\": 9000,"
		" \"mbuf_data_room\": 9146}]}",
		"{\"ports\": [{\"devargs\": \"net_ring0\", \"ipv4\": \"1.0.0.1/1\", \"mtu\": 576,"
		" \"mbuf_data_room\": 65535}]}",
		"{\"node\": {\"name\": \"123456789012345678901234567890123456789012345678901234567890123\"}}",
		"{\"eal\": {\"args\": []}, \"routes\": []}",
		"{\"log\": {\"types\": {}}}",
		"{\"idle\": {\"max_sleep_us\": 1}}",
		"  \n\t{}\n\n",
	};
	struct scpp_config c;
	struct scpp_config_error e;
	(void)state;

	for (size_t i = 0; i < SCPP_ARRAY_SIZE(ok); i++) {
		if (load(ok[i], &c, &e) != 0)
			fail_msg("case %zu: %s", i, e.msg);
		scpp_config_free(&c);
	}
}

/* ---- rejecting side ---------------------------------------------------- */

#define PORT "\"devargs\": \"net_tap0\", \"ipv4\": \"198.18.0.2/24\""

struct bad_case {
	const char *json;
	const char *path; /* expected err.path */
	const char *msg;  /* exact message, or a substring when partial */
	bool partial;
};

static const struct bad_case bad_cases[] = {
	/* Evaluation limits the evaluator itself would refuse. */
	{"{\"eval\": {\"max_bytes\": 4294967297}}", "$.eval.max_bytes",
	 "scppd.json: $.eval.max_bytes: expected an integer in 1024..4294967296, found 4294967297"},
	{"{\"eval\": {\"max_rows\": 16777217}}", "$.eval.max_rows",
	 "scppd.json: $.eval.max_rows: expected an integer in 1..16777216, found 16777217"},
	{"{\"eval\": {\"max_time_us\": 0}}", "$.eval.max_time_us",
	 "scppd.json: $.eval.max_time_us: expected an integer in 1..10000000, found 0"},
	{"{\"eval\": {\"max_statuses\": 65537}}", "$.eval.max_statuses",
	 "scppd.json: $.eval.max_statuses: expected an integer in 1..65536, found 65537"},
	/* $.copy: ranges, names and the keys that go together. */
	{"{\"copy\": {\"local\": \"dma\"}}", "$.copy.local",
	 "scppd.json: $.copy.local: expected one of \"auto\", \"dmadev\", \"memcpy\", found \"dma\""},
	{"{\"copy\": {\"remote\": \"rdma\"}}", "$.copy.remote",
	 "scppd.json: $.copy.remote: expected one of \"none\", \"fabric\", \"verbs\", found \"rdma\""},
	{"{\"copy\": {\"ring_size\": 1000}}", "$.copy.ring_size", "found 1000", true},
	{"{\"copy\": {\"ring_size\": 131072}}", "$.copy.ring_size", "found 131072", true},
	{"{\"copy\": {\"max_len\": 0}}", "$.copy.max_len",
	 "scppd.json: $.copy.max_len: expected an integer in 1..1099511627776, found 0"},
	{"{\"copy\": {\"timeout_ms\": 3600001}}", "$.copy.timeout_ms",
	 "scppd.json: $.copy.timeout_ms: expected an integer in 0..3600000, found 3600001"},
	{"{\"copy\": {\"max_regions\": 0}}", "$.copy.max_regions", "found 0", true},
	{"{\"copy\": {\"recover\": 1}}", "$.copy.recover", "found 1", true},
	{"{\"copy\": {\"engine\": \"memcpy\"}}", "$.copy.engine", "unknown key", true},
	/* $.copy.memory_windows: bounded count and size, unique names, a worker. */
	{"{\"copy\": {\"memory_windows\": [{\"name\": \"m\", \"bytes\": 0}]}}",
	 "$.copy.memory_windows[0].bytes",
	 "scppd.json: $.copy.memory_windows[0].bytes: expected an integer in 1..1073741824, found 0"},
	{"{\"copy\": {\"memory_windows\": [{\"name\": \"m\", \"bytes\": 1073741825}]}}",
	 "$.copy.memory_windows[0].bytes",
	 "scppd.json: $.copy.memory_windows[0].bytes: expected an integer in 1..1073741824, found "
	 "1073741825"},
	{"{\"copy\": {\"memory_windows\": [{\"bytes\": 4096}]}}", "$.copy.memory_windows[0].name",
	 "scppd.json: $.copy.memory_windows[0].name: expected a name, found nothing"},
	{"{\"copy\": {\"memory_windows\": [{\"name\": \"m\", \"bytes\": 4096, \"worker\": 1}]}}",
	 "$.copy.memory_windows[0].worker",
	 "scppd.json: $.copy.memory_windows[0].worker: expected the index of an entry of $.workers "
	 "(0..0), found 1"},
	{"{\"copy\": {\"memory_windows\": [{\"name\": \"m\", \"bytes\": 1},"
	 " {\"name\": \"m\", \"bytes\": 2}]}}", "$.copy.memory_windows[1].name",
	 "scppd.json: $.copy.memory_windows[1].name: expected a name no other memory window has, "
	 "found \"m\" (also $.copy.memory_windows[0].name)"},
	{"{\"copy\": {\"memory_windows\": [{}, {}, {}, {}, {}, {}, {}, {}, {}]}}",
	 "$.copy.memory_windows", "found 9", true},
	{"{\"copy\": {\"memory_windows\": [{\"name\": \"m\", \"bytes\": 1, \"size\": 2}]}}",
	 "$.copy.memory_windows[0].size", "unknown key", true},
	{"{\"copy\": {\"workers\": [{\"local\": \"memcpy\"}, {}]}}", "$.copy.workers",
	 "scppd.json: $.copy.workers: expected no entries or one per entry of $.workers (1), in the "
	 "same order, found 2"},
	{"{\"copy\": {\"workers\": [{\"local\": \"memcpy\", \"dmadev\": \"dma_skeleton0\"}]}}",
	 "$.copy.workers[0].dmadev",
	 "scppd.json: $.copy.workers[0].dmadev: expected nothing: this worker's local engine is "
	 "\"memcpy\", found \"dma_skeleton0\""},
	{"{\"workers\": [{\"lcore\": 1, \"shard\": 0}, {\"lcore\": 2, \"shard\": 1}],"
	 " \"copy\": {\"workers\": [{\"dmadev\": \"d0\"}, {\"dmadev\": \"d0\"}]}}",
	 "$.copy.workers[1].dmadev",
	 "scppd.json: $.copy.workers[1].dmadev: expected a dmadev not named for another worker (an "
	 "engine claims its device alone), found \"d0\" (also $.copy.workers[0].dmadev)"},
	{"{\"copy\": {\"workers\": [{\"dmadev\": \"dma skeleton\"}]}}", "$.copy.workers[0].dmadev",
	 "found \"dma skeleton\"", true},
	{"{\"copy\": {\"remote\": \"fabric\"}}", "$.copy.fabric.node",
	 "scppd.json: $.copy.fabric.node: expected the address to bind (an IPv4 or IPv6 address) for "
	 "provider \"tcp\" with $.copy.remote \"fabric\", found nothing"},
	{"{\"copy\": {\"remote\": \"fabric\", \"fabric\": {\"provider\": \"shm\", \"node\": \"1.2.3.4\"}}}",
	 "$.copy.fabric.node",
	 "scppd.json: $.copy.fabric.node: expected nothing for provider \"shm\" (host-local, it binds "
	 "no address), found \"1.2.3.4\""},
	{"{\"copy\": {\"remote\": \"fabric\", \"fabric\": {\"node\": \"127.0.0.1\", \"service\": \"65536\"}}}",
	 "$.copy.fabric.service",
	 "scppd.json: $.copy.fabric.service: expected a port 1..65535 as a decimal string like "
	 "\"7400\", found \"65536\""},
	{"{\"copy\": {\"remote\": \"fabric\", \"fabric\": {\"node\": \"127.0.0.1\", \"service\": \"07\"}}}",
	 "$.copy.fabric.service", "found \"07\"", true},
	{"{\"copy\": {\"remote\": \"fabric\", \"fabric\": {\"provider\": \"shm\", \"service\": \"7400\"}}}",
	 "$.copy.fabric.service",
	 "scppd.json: $.copy.fabric.service: expected nothing for provider \"shm\", found \"7400\""},
	{"{\"copy\": {\"fabric\": {\"provider\": \"\"}}}", "$.copy.fabric.provider", "found \"\"", true},
	{"{\"copy\": {\"verbs\": {\"port\": 0}}}", "$.copy.verbs.port", "found 0", true},
	{"{\"copy\": {\"verbs\": {\"addressing\": \"ip\"}}}", "$.copy.verbs.addressing",
	 "scppd.json: $.copy.verbs.addressing: expected one of \"lid\", \"gid\", found \"ip\""},
	{"{\"copy\": {\"timeout_ms\": 0}}", "$.copy.timeout_ms",
	 "scppd.json: $.copy.timeout_ms: expected at least 1 while $.copy.sync_max_bytes is not 0 (a "
	 "worker waits for its synchronous copies at most this long), found 0"},
	{"{\"copy\": {\"inflight_copies\": 0}}", "$.copy.inflight_copies", "found 0", true},
#ifndef SCPP_TEST_FAULTS
	/* Fault injection is compiled only into test builds. */
	{"{\"copy\": {\"test_stall_len\": 4096}}", "$.copy.test_stall_len",
	 "scppd.json: $.copy.test_stall_len: expected 0: fault injection is compiled only into "
	 "test builds (meson -Dtest_faults=true), found 4096"},
#endif
	{"{\"copy\": {\"inflight_bytes\": 68719476737}}", "$.copy.inflight_bytes",
	 "found 68719476737", true},
	{"{\"copy\": {\"ring_size\": 64, \"inflight_copies\": 65}}", "$.copy.inflight_copies",
	 "scppd.json: $.copy.inflight_copies: expected at most $.copy.ring_size (64) while "
	 "$.copy.inflight_bytes is not 0, found 65"},
	{"{\"copy\": {\"max_len\": 1024, \"sync_max_bytes\": 1025}}", "$.copy.sync_max_bytes",
	 "scppd.json: $.copy.sync_max_bytes: expected at most $.copy.max_len (1024), found 1025"},
	{"{\"copy\": {\"max_len\": 1024, \"sync_max_bytes\": 0, \"part_max\": 2048}}",
	 "$.copy.part_max",
	 "scppd.json: $.copy.part_max: expected 0 or at most $.copy.max_len (1024), found 2048"},
	{"{\"idle\": {\"max_sleep_us\": 100000}, \"copy\": {\"remote\": \"fabric\","
	 " \"fabric\": {\"provider\": \"shm\"}, \"timeout_ms\": 9999}}", "$.copy.timeout_ms",
	 "scppd.json: $.copy.timeout_ms: expected 0 or at least 100 x $.idle.max_sleep_us (10000 ms, "
	 "rounded up) with a remote engine, so that a sleeping peer cannot time copies out, found 9999"},
	/* Wrong types. */
	{"{\"node\": {\"id\": \"1\"}}", "$.node.id",
	 "scppd.json: $.node.id: expected an integer in 1..4294967295, found \"1\""},
	{"{\"node\": []}", "$.node", "scppd.json: $.node: expected an object, found an array"},
	{"{\"telemetry\": {\"enabled\": 1}}", "$.telemetry.enabled",
	 "scppd.json: $.telemetry.enabled: expected true or false, found 1"},
	{"{\"eal\": {\"args\": \"--no-pci\"}}", "$.eal.args",
	 "scppd.json: $.eal.args: expected an array of strings, found \"--no-pci\""},
	{"{\"eal\": {\"args\": [\"-a\", 7]}}", "$.eal.args[1]",
	 "scppd.json: $.eal.args[1]: expected a string of 1..255 characters without control "
	 "characters, found 7"},
	{"{\"ports\": {}}", "$.ports", "scppd.json: $.ports: expected an array of objects, found an object"},
	{"{\"ports\": [7]}", "$.ports[0]", "scppd.json: $.ports[0]: expected an object, found 7"},
	{"{\"node\": {\"name\": null}}", "$.node.name", "found null", true},
	/* Out of range. */
	{"{\"node\": {\"id\": 0}}", "$.node.id",
	 "scppd.json: $.node.id: expected an integer in 1..4294967295, found 0"},
	{"{\"node\": {\"locale\": 65536}}", "$.node.locale",
	 "scppd.json: $.node.locale: expected an integer in 0..65535, found 65536"},
	{"{\"node\": {\"locale\": -1}}", "$.node.locale", "found -1", true},
	{"{\"eal\": {\"memory_mb\": 1.5}}", "$.eal.memory_mb",
	 "scppd.json: $.eal.memory_mb: expected an integer in 64..1048576, found 1.5"},
	{"{\"eal\": {\"main_lcore\": 128}}", "$.eal.main_lcore", "in 0..127, found 128", true},
	{"{\"ports\": [{" PORT ", \"rx_desc\": 1000}]}", "$.ports[0].rx_desc",
	 "scppd.json: $.ports[0].rx_desc: expected a power of two in 64..16384, found 1000"},
	{"{\"ports\": [{" PORT ", \"mtu\": 9601}]}", "$.ports[0].mtu", "in 576..9600, found 9601", true},
	{"{\"ports\": [{" PORT ", \"mempool_cache\": 513}]}", "$.ports[0].mempool_cache",
	 "in 0..512, found 513", true},
	{"{\"idle\": {\"max_sleep_us\": 0}}", "$.idle.max_sleep_us", "in 1..1000000, found 0", true},
	{"{\"delivery\": {\"max_fragments\": 65}}", "$.delivery.max_fragments", "in 1..64, found 65", true},
	{"{\"delivery\": {\"retention_ms\": 99}}", "$.delivery.retention_ms", "in 100..3600000, found 99", true},
	{"{\"delivery\": {\"retention_ms\": 1000, \"park_timeout_ms\": 501}}",
	 "$.delivery.park_timeout_ms", "expected at most half of $.delivery.retention_ms (500), found 501",
	 true},
	{"{\"delivery\": {\"max_parked\": 0}}", "$.delivery.max_parked", "in 1..65536, found 0", true},
	{"{\"delivery\": {\"reassembly_slots\": 4, \"reassembly_per_source\": 5}}",
	 "$.delivery.reassembly_per_source", "expected at most $.delivery.reassembly_slots (4), found 5", true},
	{"{\"delivery\": {\"reply_cache_mb\": 4}}", "$.delivery.reply_cache_mb",
	 "expected at least 5 (4 x ($.eval.max_result_bytes + 4096) bytes, in MiB, rounded up), found 4", true},
	{"{\"delivery\": {\"tx_backlog\": 63}}", "$.delivery.tx_backlog", "in 64..16777216, found 63", true},
	{"{\"delivery\": {\"error_rate_total\": 0}}", "$.delivery.error_rate_total", "in 1..1000000, found 0", true},
	{"{\"node\": {\"name\": \"\"}}", "$.node.name",
	 "scppd.json: $.node.name: expected a string of 1..63 letters, digits, '.', '_' or '-', "
	 "found \"\""},
	{"{\"node\": {\"name\": \"a b\"}}", "$.node.name", "found \"a b\"", true},
	{"{\"eal\": {\"hugepages\": \"maybe\"}}", "$.eal.hugepages",
	 "scppd.json: $.eal.hugepages: expected one of \"auto\", \"on\", \"off\", found \"maybe\""},
	{"{\"log\": {\"level\": \"verbose\"}}", "$.log.level",
	 "scppd.json: $.log.level: expected one of \"emerg\", \"alert\", \"crit\", \"err\", "
	 "\"warning\", \"notice\", \"info\", \"debug\", found \"verbose\""},
	{"{\"log\": {\"types\": {\"route\": \"debug\"}}}", "$.log.types.route",
	 "scppd.json: $.log.types.route: expected a log type named \"scp.<module>\" like "
	 "\"scp.route\", found \"route\""},
	{"{\"log\": {\"types\": {\"scp.route\": \"loud\"}}}", "$.log.types[\"scp.route\"]",
	 "found \"loud\"", true},
	{"{\"auth\": {\"mode\": \"none\"}}", "$.auth.mode",
	 "scppd.json: $.auth.mode: expected one of \"required\", \"optional\", \"off\", "
	 "found \"none\""},
	{"{\"auth\": {\"sessions\": 0}}", "$.auth.sessions", "0", true},
	{"{\"schema\": {\"files\": []}}", "$.schema.files",
	 "scppd.json: $.schema.files: expected an array of 1..16 strings, found 0 of them"},
	{"{\"workers\": []}", "$.workers",
	 "scppd.json: $.workers: expected an array of 1..64 objects, found 0 of them"},
	/* Unknown and duplicate keys, at every level. */
	{"{\"nodes\": {}}", "$.nodes", "scppd.json: $.nodes: unknown key (did you mean \"node\"?)"},
	{"{\"ports\": [{" PORT ", \"mtux\": 1500}]}", "$.ports[0].mtux",
	 "scppd.json: $.ports[0].mtux: unknown key (did you mean \"mtu\"?)"},
	{"{\"eal\": {\"Memory_MB\": 1}}", "$.eal.Memory_MB",
	 "scppd.json: $.eal.Memory_MB: unknown key (did you mean \"memory_mb\"?)"},
	{"{\"udp\": {\"colour\": 1}}", "$.udp.colour",
	 "scppd.json: $.udp.colour: unknown key (expected one of: base_port)"},
	{"{\"workers\": [{\"lcore\": 1, \"shard\": 0, \"numa\": 0}]}", "$.workers[0].numa",
	 "unknown key (expected one of: lcore, shard)", true},
	{"{\"routes\": [{\"prefix\": \"@0.2.0.0.0/48\", \"node\": 2, \"peer\": \"1.2.3.4:5\", \"via\": 1}]}",
	 "$.routes[0].via", "unknown key", true},
	{"{\"udp\": {\"base_port\": 7000, \"base_port\": 7001}}", "$.udp.base_port",
	 "scppd.json: $.udp.base_port: duplicate key (each key may appear once)"},
	{"{\"idle\": {}, \"idle\": {}}", "$.idle", "duplicate key", true},
	/* Addresses. */
	{"{\"ports\": [{\"devargs\": \"net_tap0\", \"ipv4\": \"198.18.0.300/24\"}]}", "$.ports[0].ipv4",
	 "scppd.json: $.ports[0].ipv4: expected an IPv4 address with prefix length like "
	 "\"198.18.0.2/24\", found \"198.18.0.300/24\""},
	{"{\"ports\": [{\"devargs\": \"net_tap0\", \"ipv4\": \"198.18.0.2\"}]}", "$.ports[0].ipv4",
	 "found \"198.18.0.2\"", true},
	{"{\"ports\": [{\"devargs\": \"net_tap0\", \"ipv4\": \"198.18.0.2/33\"}]}", "$.ports[0].ipv4",
	 "found \"198.18.0.2/33\"", true},
	{"{\"ports\": [{\"devargs\": \"net_tap0\", \"ipv4\": \"198.18.0.2/0\"}]}", "$.ports[0].ipv4",
	 "found \"198.18.0.2/0\"", true},
	{"{\"ports\": [{\"devargs\": \"net_tap0\", \"ipv4\": \"198.018.0.2/24\"}]}", "$.ports[0].ipv4",
	 "found \"198.018.0.2/24\"", true},
	{"{\"ports\": [{\"devargs\": \"net_tap0\", \"ipv4\": \"198.18.0.2/024\"}]}", "$.ports[0].ipv4",
	 "found \"198.18.0.2/024\"", true},
	{"{\"ports\": [{\"devargs\": \"net_tap0\", \"ipv4\": \"198.18.0.0/24\"}]}", "$.ports[0].ipv4",
	 "scppd.json: $.ports[0].ipv4: expected a host address of 198.18.0.0/24 (not its network "
	 "or broadcast address), found \"198.18.0.0/24\""},
	{"{\"ports\": [{\"devargs\": \"net_tap0\", \"ipv4\": \"198.18.0.255/24\"}]}", "$.ports[0].ipv4",
	 "not its network or broadcast address", true},
	{"{\"ports\": [{" PORT ", \"gateway\": \"198.18.1.1\"}]}", "$.ports[0].gateway",
	 "scppd.json: $.ports[0].gateway: expected an address inside the port's subnet "
	 "198.18.0.0/24 other than the port's own, found \"198.18.1.1\""},
	{"{\"ports\": [{" PORT ", \"gateway\": \"198.18.0.2\"}]}", "$.ports[0].gateway",
	 "found \"198.18.0.2\"", true},
	{"{\"ports\": [{" PORT ", \"gateway\": \"198.18.0\"}]}", "$.ports[0].gateway",
	 "scppd.json: $.ports[0].gateway: expected an IPv4 address like \"198.18.0.1\" or null, "
	 "found \"198.18.0\""},
	/* Device arguments. */
	{"{\"ports\": [{\"devargs\": \"\", \"ipv4\": \"198.18.0.2/24\"}]}", "$.ports[0].devargs",
	 "scppd.json: $.ports[0].devargs: expected DPDK device arguments like "
	 "\"net_tap0,iface=scpp0\" (a device name, then \",key=value\" options; at most 255 "
	 "characters), found \"\""},
	{"{\"ports\": [{\"devargs\": \"net_tap0,\", \"ipv4\": \"198.18.0.2/24\"}]}", "$.ports[0].devargs",
	 "found \"net_tap0,\"", true},
	{"{\"ports\": [{\"devargs\": \",iface=x\", \"ipv4\": \"198.18.0.2/24\"}]}", "$.ports[0].devargs",
	 "found \",iface=x\"", true},
	{"{\"ports\": [{\"devargs\": \"net_tap0,iface=\", \"ipv4\": \"198.18.0.2/24\"}]}",
	 "$.ports[0].devargs", "found \"net_tap0,iface=\"", true},
	{"{\"ports\": [{\"devargs\": \"net tap0\", \"ipv4\": \"198.18.0.2/24\"}]}", "$.ports[0].devargs",
	 "found \"net tap0\"", true},
	{"{\"ports\": [{\"devargs\": \"net_x0,a=[1,2\", \"ipv4\": \"198.18.0.2/24\"}]}",
	 "$.ports[0].devargs", "found \"net_x0,a=[1,2\"", true},
	{"{\"ports\": [{" PORT "}, {\"devargs\": \"net_tap0,iface=b\", \"ipv4\": \"198.18.1.2/24\"}]}",
	 "$.ports[1].devargs",
	 "scppd.json: $.ports[1].devargs: expected a device not used by another port, found "
	 "\"net_tap0\" (also in $.ports[0])"},
	{"{\"ports\": [{" PORT ", \"mempool_size\": 255, \"mempool_cache\": 200, \"rx_desc\": 64,"
	 " \"tx_desc\": 64}]}", "$.ports[0].mempool_cache",
	 "scppd.json: $.ports[0].mempool_cache: expected at most mempool_size / 1.5 = 170, found 200"},
	{"{\"ports\": [{" PORT ", \"rx_desc\": 4096, \"tx_desc\": 4096}]}", "$.ports[0].mempool_size",
	 "scppd.json: $.ports[0].mempool_size: expected at least 8704 mbufs (workers x "
	 "queues_per_worker x (rx_desc + tx_desc) + (workers + 1) x mempool_cache), found 8191"},
	{"{\"ports\": [{" PORT ", \"mtu\": 9000, \"mbuf_data_room\": 9145}]}",
	 "$.ports[0].mbuf_data_room",
	 "scppd.json: $.ports[0].mbuf_data_room: expected 0 (sized from mtu) or at least 9146 bytes "
	 "(headroom 128 + Ethernet 14 + VLAN 4 + mtu 9000), found 9145"},
	{"{\"ports\": [{" PORT ", \"mbuf_data_room\": 1}]}", "$.ports[0].mbuf_data_room",
	 "at least 1646 bytes (headroom 128 + Ethernet 14 + VLAN 4 + mtu 1500), found 1", true},
	{"{\"ports\": [{" PORT ", \"mbuf_data_room\": 65536}]}", "$.ports[0].mbuf_data_room",
	 "scppd.json: $.ports[0].mbuf_data_room: expected an integer in 0..65535, found 65536"},
	/* Required keys. */
	{"{\"ports\": [{\"ipv4\": \"198.18.0.2/24\"}]}", "$.ports[0].devargs",
	 "found nothing (the key is required)", true},
	{"{\"workers\": [{\"shard\": 0}]}", "$.workers[0].lcore",
	 "scppd.json: $.workers[0].lcore: expected an integer in 0..127, found nothing (the key is "
	 "required)"},
	/* Workers. */
	{"{\"workers\": [{\"lcore\": 1, \"shard\": 0}, {\"lcore\": 1, \"shard\": 1}]}",
	 "$.workers[1].lcore",
	 "scppd.json: $.workers[1].lcore: expected an lcore not used by another worker, found 1 "
	 "(also $.workers[0].lcore)"},
	{"{\"workers\": [{\"lcore\": 1, \"shard\": 3}, {\"lcore\": 2, \"shard\": 3}]}",
	 "$.workers[1].shard",
	 "scppd.json: $.workers[1].shard: expected a shard not owned by another worker, found 3 "
	 "(also $.workers[0].shard)"},
	{"{\"eal\": {\"main_lcore\": 1}}", "$.workers[0].lcore",
	 "scppd.json: $.workers[0].lcore: expected an lcore other than $.eal.main_lcore (the "
	 "control plane's), found 1"},
	{"{\"udp\": {\"base_port\": 65000}, \"workers\": [{\"lcore\": 1, \"shard\": 600}]}",
	 "$.workers[0].shard",
	 "scppd.json: $.workers[0].shard: expected at most 534, so that the shard's UDP port "
	 "$.udp.base_port + 1 + shard stays below 65536, found 600"},
	/* Routes. */
	{"{\"routes\": [{\"prefix\": \"@0.2.0.0.0/48\", \"node\": 2, \"peer\": \"198.18.0.3:7300\"},"
	 " {\"prefix\": \"@0.2.0.0.0/48\", \"node\": 2, \"peer\": \"198.18.0.4:7300\"}]}",
	 "$.routes[1].prefix",
	 "scppd.json: $.routes[1].prefix: expected a prefix not routed by another route, found "
	 "\"@0.2.0.0.0/48\" (also $.routes[0].prefix)"},
	{"{\"routes\": [{\"prefix\": \"@0.1.3.0.0/64\", \"node\": 1, \"peer\": \"198.18.0.3:7300\"}]}",
	 "$.routes[0].prefix",
	 "scppd.json: $.routes[0].prefix: expected a prefix outside this node's own @0.1.0.0.0/48 "
	 "(routes to local shards are implicit), found \"@0.1.3.0.0/64\""},
	{"{\"routes\": [{\"prefix\": \"@0.0.0.0.0/48\", \"node\": 5, \"peer\": \"198.18.0.3:7300\"}]}",
	 "$.routes[0].prefix", "outside the well-known namespace", true},
	{"{\"routes\": [{\"prefix\": \"@0.2.0.0.0/48\", \"node\": 3, \"peer\": \"198.18.0.3:7300\"}]}",
	 "$.routes[0].node",
	 "scppd.json: $.routes[0].node: expected 2, the node the prefix names, found 3"},
	{"{\"routes\": [{\"prefix\": \"@0.2.1.0.0/48\", \"node\": 2, \"peer\": \"198.18.0.3:7300\"}]}",
	 "$.routes[0].prefix",
	 "scppd.json: $.routes[0].prefix: expected an OID prefix like \"@0.2.0.0.0/48\" (hex fields, "
	 "no bits set past the length), found \"@0.2.1.0.0/48\""},
	{"{\"routes\": [{\"prefix\": \"@0.2.0.0.0/48\", \"node\": 2, \"peer\": \"198.18.0.3\"}]}",
	 "$.routes[0].peer",
	 "scppd.json: $.routes[0].peer: expected an IPv4 address and UDP port like "
	 "\"198.18.0.3:7300\", found \"198.18.0.3\""},
	{"{\"routes\": [{\"prefix\": \"@0.2.0.0.0/48\", \"node\": 2, \"peer\": \"198.18.0.3:0\"}]}",
	 "$.routes[0].peer", "found \"198.18.0.3:0\"", true},
	{"{\"routes\": [{\"prefix\": \"@0.2.0.0.0/48\", \"node\": 2, \"peer\": \"198.18.0.3:65536\"}]}",
	 "$.routes[0].peer", "found \"198.18.0.3:65536\"", true},
	/* Top level. */
	{"[]", "$", "scppd.json: $: expected an object, found an array"},
};

static void
test_config_rejects_one_bad_field_at_a_time_with_exact_message(void **state)
{
	struct scpp_config c;
	(void)state;

	for (size_t i = 0; i < SCPP_ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *b = &bad_cases[i];
		struct scpp_config_error e;
		int rc;

		memset(&c, 0x5a, sizeof(c));
		rc = load(b->json, &c, &e);
		if (rc != -EINVAL)
			fail_msg("case %zu (%s): rc %d, msg \"%s\"", i, b->json, rc, e.msg);
		if (strcmp(e.path, b->path) != 0)
			fail_msg("case %zu (%s): path \"%s\", want \"%s\" (%s)", i, b->json, e.path,
				 b->path, e.msg);
		if (b->partial ? strstr(e.msg, b->msg) == NULL : strcmp(e.msg, b->msg) != 0)
			fail_msg("case %zu (%s):\n got: %s\nwant: %s", i, b->json, e.msg, b->msg);
		assert_int_equal(e.line, 0);
		/* Nothing half-applied: the output struct is untouched. */
		for (size_t k = 0; k < sizeof(c); k++)
			if (((unsigned char *)&c)[k] != 0x5a)
				fail_msg("case %zu: output byte %zu written", i, k);
	}
}

struct syntax_case {
	const char *json;
	unsigned int line, column;
	const char *msg;
};

static const struct syntax_case syntax_cases[] = {
	{"{\n  \"udp\": {\"base_port\": 7000,}\n}", 2, 29,
	 "scppd.json:2:29: JSON syntax error at \"}\": a trailing comma: ',' must be followed by "
	 "another member or element"},
	{"{\n  \"udp\": {\"base_port\": 7000\n", 3, 1,
	 "scppd.json:3:1: JSON syntax error: unexpected end of input, '{' opened at 2:10 is not closed"},
	{"{\"node\": {\"name\": \"abc}}", 1, 25,
	 "scppd.json:1:25: JSON syntax error: unexpected end of input, string opened at 1:19 is not "
	 "closed"},
	{"{\"a\" 1}", 1, 6, "scppd.json:1:6: JSON syntax error at \"1}\""},
	{"{\"idle\": {\"enabled\": tru}}", 1, 22, "scppd.json:1:22: JSON syntax error at \"tru}}\""},
	{"{} {}", 1, 4,
	 "scppd.json:1:4: JSON syntax error at \"{}\": expected the end of input after the top-level value"},
	{"", 1, 1, "scppd.json:1:1: JSON syntax error: expected a JSON object, found nothing"},
};

static void
test_config_syntax_errors_report_line_and_column(void **state)
{
	struct scpp_config c;
	(void)state;

	for (size_t i = 0; i < SCPP_ARRAY_SIZE(syntax_cases); i++) {
		const struct syntax_case *s = &syntax_cases[i];
		struct scpp_config_error e;
		int rc;

		memset(&c, 0x5a, sizeof(c));
		rc = load(s->json, &c, &e);
		if (rc != -SCPP_E_SYNTAX)
			fail_msg("case %zu: rc %d (%s)", i, rc, e.msg);
		if (strcmp(e.msg, s->msg) != 0)
			fail_msg("case %zu:\n got: %s\nwant: %s", i, e.msg, s->msg);
		assert_int_equal(e.line, s->line);
		assert_int_equal(e.column, s->column);
		assert_string_equal(e.path, "");
		assert_int_equal(((unsigned char *)&c)[0], 0x5a);
	}
}

static void
test_config_load_file_reports_missing_file_and_directory(void **state)
{
	struct scpp_config c;
	struct scpp_config_error e;
	char path[512];
	(void)state;

	assert_int_equal(scpp_config_load_file("/nonexistent/scppd.json", &c, &e), -ENOENT);
	assert_string_equal(e.msg, "/nonexistent/scppd.json: cannot read the configuration: "
				   "No such file or directory");
	source_path(path, sizeof(path), "config");
	assert_int_equal(scpp_config_load_file(path, &c, &e), -EISDIR);
	assert_int_equal(scpp_config_load_file(NULL, &c, &e), -EINVAL);
}

static void
test_config_rejects_null_arguments_and_free_accepts_null(void **state)
{
	struct scpp_config c;
	struct scpp_config_error e;
	(void)state;

	assert_int_equal(scpp_config_load_string(NULL, 0, NULL, &c, &e), -EINVAL);
	assert_int_equal(scpp_config_load_string("{}", 2, NULL, NULL, &e), -EINVAL);
	/* The error struct is optional; the name defaults to "<string>". */
	assert_int_equal(scpp_config_load_string("{\"x\": 1}", 8, NULL, &c, NULL), -EINVAL);
	assert_int_equal(scpp_config_load_string("{\"x\": 1}", 8, NULL, &c, &e), -EINVAL);
	assert_string_equal(e.msg, "<string>: $.x: unknown key (expected one of: node, eal, ports, "
				   "udp, workers, store, eval, delivery, routes, cluster, schema, auth, log, "
				   "telemetry, idle, copy)");
	/* Only @p len bytes are parsed. */
	assert_int_equal(scpp_config_load_string("{}garbage", 2, NULL, &c, &e), 0);
	scpp_config_free(&c);
	scpp_config_free(NULL);
	assert_int_equal(scpp_config_dump(NULL, &c), -EINVAL);
	assert_int_equal(scpp_config_dump(stdout, NULL), -EINVAL);
	assert_null(scpp_config_log_level_name(0));
	assert_null(scpp_config_log_level_name(9));
	assert_string_equal(scpp_config_log_level_name(8), "debug");
}

static void
test_config_bad_route_after_good_routes_leaks_nothing(void **state)
{
	struct scpp_config c;
	struct scpp_config_error e;
	(void)state;

	/* The route list is parsed into heap memory, then validation fails:
	 * ASan's leak check covers the cleanup. */
	assert_int_equal(load("{\"routes\": [{\"prefix\": \"@0.2.0.0.0/48\", \"node\": 2, \"peer\": "
			      "\"1.2.3.4:5\"}], \"idle\": {\"enabled\": 3}}", &c, &e), -EINVAL);
	assert_string_equal(e.path, "$.idle.enabled");
	assert_int_equal(load("{\"routes\": [{\"prefix\": \"@0.2.0.0.0/48\", \"node\": 2, \"peer\": "
			      "\"1.2.3.4:5\"}, {\"prefix\": 1}]}", &c, &e), -EINVAL);
	assert_string_equal(e.path, "$.routes[1].prefix");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_empty_object_yields_every_documented_default),
		cmocka_unit_test(test_config_defaults_function_matches_empty_object),
		cmocka_unit_test(test_config_embedded_default_equals_default_json_file_and_dump),
		cmocka_unit_test(test_config_example_files_in_config_dir_are_valid),
		cmocka_unit_test(test_config_accepts_a_non_default_value_for_every_key),
		cmocka_unit_test(test_config_dump_loads_back_to_the_same_config),
		cmocka_unit_test(test_config_accepts_range_limits_inclusive),
		cmocka_unit_test(test_config_rejects_one_bad_field_at_a_time_with_exact_message),
		cmocka_unit_test(test_config_syntax_errors_report_line_and_column),
		cmocka_unit_test(test_config_load_file_reports_missing_file_and_directory),
		cmocka_unit_test(test_config_rejects_null_arguments_and_free_accepts_null),
		cmocka_unit_test(test_config_bad_route_after_good_routes_leaks_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
