/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rte_telemetry commands. They run on DPDK's telemetry thread, concurrently
 * with the workers: counters are read with relaxed loads (per-worker
 * counters, summed here), store figures through scpp_store_stats_get()
 * (documented as safe from any thread), and the route table only through
 * scpp_route_foreach(), which is safe because routes change only before
 * the workers start.
 *
 *   /scpp/stats[,W]  counters summed over workers (or worker W only),
 *                    drops by reason, rejected blocks by code, port stats
 *   /scpp/shards     per worker: shard, lcore, epoch, store saturation,
 *                    reply cache and reassembly occupancy
 *   /scpp/routes     the OID-prefix routing table
 *   /scpp/health     one-look status: up, uptime, node, workers, links
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_telemetry.h>
#include <rte_version.h>

#include "scppd.h"

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

/* Counter name / offset table, so that sums, telemetry and the docs list
 * the same names in the same order. */
#define STAT(n) {#n, offsetof(struct scppd_stats, n)}
static const struct {
	const char *name;
	size_t off;
} stat_fields[] = {
	STAT(rx_pkts), STAT(rx_bytes), STAT(tx_pkts), STAT(tx_bytes), STAT(arp_replies),
	STAT(icmp_echo), STAT(dgrams), STAT(messages), STAT(executed), STAT(outcome_ok),
	STAT(outcome_errors), STAT(outcome_aborted), STAT(rejected_total), STAT(not_here),
	STAT(cache_hits), STAT(cache_evictions), STAT(cache_uncached), STAT(reply_dgrams),
	STAT(handoff_out), STAT(handoff_in), STAT(handoff_port), STAT(reasm_started),
	STAT(reasm_done), STAT(schema_changes), STAT(schema_adopt_errors), STAT(idle_sleeps), STAT(busy_polls),
};

static uint64_t *
field(struct scppd_stats *s, size_t off)
{
	return (uint64_t *)((uint8_t *)s + off);
}

static void
stats_add(struct scppd_stats *sum, struct scppd_stats *s)
{
	unsigned int i;

	for (i = 0; i < RTE_DIM(stat_fields); i++)
		*field(sum, stat_fields[i].off) += LOAD(*field(s, stat_fields[i].off));
	for (i = 0; i < SCPPD_DROP_COUNT; i++)
		sum->drops[i] += LOAD(s->drops[i]);
	for (i = 0; i < SCPPD_REJECT_SLOTS; i++)
		sum->rejected[i] += LOAD(s->rejected[i]);
}

void
scppd_stats_sum(struct scppd_stats *sum)
{
	unsigned int i;

	memset(sum, 0, sizeof(*sum));
	for (i = 0; i < scppd_g.nb_workers; i++)
		stats_add(sum, &scppd_g.workers[i]->stats);
}

static const char *
reject_name(unsigned int slot)
{
	if (slot < SCPP_E_LAST - SCPP_E_FIRST)
		return scpp_error_name(-(int)(SCPP_E_FIRST + slot));
	if (slot == SCPP_E_LAST - SCPP_E_FIRST)
		return "EEXIST";
	if (slot == SCPP_E_LAST - SCPP_E_FIRST + 1)
		return "EINVAL";
	return "other";
}

static int
cmd_stats(const char *cmd __rte_unused, const char *params, struct rte_tel_data *d)
{
	struct scppd_stats sum;
	struct rte_tel_data *drops, *rej, *ports;
	unsigned int i;
	uint64_t total = 0;

	memset(&sum, 0, sizeof(sum));
	if (params != NULL && *params != '\0') {
		char *end;
		unsigned long w = strtoul(params, &end, 10);

		if (*end != '\0' || w >= scppd_g.nb_workers)
			return -EINVAL;
		stats_add(&sum, &scppd_g.workers[w]->stats);
	} else {
		scppd_stats_sum(&sum);
	}
	rte_tel_data_start_dict(d);
	for (i = 0; i < RTE_DIM(stat_fields); i++)
		rte_tel_data_add_dict_u64(d, stat_fields[i].name, *field(&sum, stat_fields[i].off));
	drops = rte_tel_data_alloc();
	rej = rte_tel_data_alloc();
	ports = rte_tel_data_alloc();
	if (drops == NULL || rej == NULL || ports == NULL) {
		rte_tel_data_free(drops);
		rte_tel_data_free(rej);
		rte_tel_data_free(ports);
		return -ENOMEM;
	}
	rte_tel_data_start_dict(drops);
	for (i = 0; i < SCPPD_DROP_COUNT; i++) {
		rte_tel_data_add_dict_u64(drops, scppd_drop_name[i], sum.drops[i]);
		total += sum.drops[i];
	}
	rte_tel_data_add_dict_u64(d, "drops_total", total);
	rte_tel_data_add_dict_container(d, "drops", drops, 0);
	rte_tel_data_start_dict(rej);
	for (i = 0; i < SCPPD_REJECT_SLOTS; i++)
		rte_tel_data_add_dict_u64(rej, reject_name(i), sum.rejected[i]);
	rte_tel_data_add_dict_container(d, "rejected", rej, 0);
	rte_tel_data_start_dict(ports);
	for (i = 0; i < scppd_g.nb_ports; i++) {
		struct rte_tel_data *pd = rte_tel_data_alloc();
		struct rte_eth_stats es;

		if (pd == NULL)
			break;
		memset(&es, 0, sizeof(es));
		rte_eth_stats_get(scppd_g.ports[i].port_id, &es);
		rte_tel_data_start_dict(pd);
		rte_tel_data_add_dict_u64(pd, "ipackets", es.ipackets);
		rte_tel_data_add_dict_u64(pd, "opackets", es.opackets);
		rte_tel_data_add_dict_u64(pd, "ibytes", es.ibytes);
		rte_tel_data_add_dict_u64(pd, "obytes", es.obytes);
		rte_tel_data_add_dict_u64(pd, "imissed", es.imissed);
		rte_tel_data_add_dict_u64(pd, "ierrors", es.ierrors);
		rte_tel_data_add_dict_u64(pd, "oerrors", es.oerrors);
		rte_tel_data_add_dict_u64(pd, "rx_nombuf", es.rx_nombuf);
		rte_tel_data_add_dict_u64(pd, "mempool_avail",
					  rte_mempool_avail_count(scppd_g.ports[i].pool));
		rte_tel_data_add_dict_container(ports, scppd_g.ports[i].name, pd, 0);
	}
	rte_tel_data_add_dict_container(d, "ports", ports, 0);
	return 0;
}

static int
cmd_shards(const char *cmd __rte_unused, const char *params __rte_unused,
	   struct rte_tel_data *d)
{
	unsigned int i;
	char key[32];

	rte_tel_data_start_dict(d);
	for (i = 0; i < scppd_g.nb_workers; i++) {
		struct scppd_worker *w = scppd_g.workers[i];
		struct rte_tel_data *s = rte_tel_data_alloc();
		struct scpp_store_stats st;
		char pfx[SCPP_OID_STR_MAX + 8], sat[32];
		struct scpp_oid_prefix p = scpp_oid_shard_prefix(scppd_g.cfg.node.locale,
								 scppd_g.cfg.node.id, w->shard);

		if (s == NULL)
			return -ENOMEM;
		scpp_store_stats_get(w->store, &st);
		scpp_oid_prefix_format(pfx, sizeof(pfx), &p);
		snprintf(sat, sizeof(sat), "%.4f", st.saturation);
		rte_tel_data_start_dict(s);
		rte_tel_data_add_dict_u64(s, "shard", w->shard);
		rte_tel_data_add_dict_u64(s, "lcore", w->lcore);
		rte_tel_data_add_dict_string(s, "prefix", pfx);
		rte_tel_data_add_dict_u64(s, "epoch", w->epoch);
		rte_tel_data_add_dict_string(s, "epoch_source", w->epoch_from_clock ? "clock" : "file");
		rte_tel_data_add_dict_u64(s, "entities", st.entities);
		rte_tel_data_add_dict_u64(s, "triples", st.triples);
		rte_tel_data_add_dict_u64(s, "maps", st.maps);
		rte_tel_data_add_dict_u64(s, "map_entries", st.map_entries);
		rte_tel_data_add_dict_u64(s, "entries_max", st.entries_max);
		rte_tel_data_add_dict_u64(s, "map_entries_max", st.map_entries_max);
		rte_tel_data_add_dict_u64(s, "extent_bytes", st.extent_bytes);
		rte_tel_data_add_dict_u64(s, "extent_used", st.extent_used);
		rte_tel_data_add_dict_u64(s, "mem_bytes", st.mem_bytes);
		rte_tel_data_add_dict_string(s, "saturation", sat);
		rte_tel_data_add_dict_u64(s, "saturation_permille",
					  (uint64_t)(st.saturation * 1000.0 + 0.5));
		rte_tel_data_add_dict_u64(s, "reply_cache_entries", LOAD(w->cache.count));
		rte_tel_data_add_dict_u64(s, "reply_cache_capacity", w->cache.cap);
		rte_tel_data_add_dict_u64(s, "reply_cache_arena_bytes", w->cache.arena_size);
		rte_tel_data_add_dict_u64(s, "reassembly_in_use",
					  w->reasm.nslots - LOAD(w->reasm.nfree));
		rte_tel_data_add_dict_u64(s, "reassembly_slots", w->reasm.nslots);
		rte_tel_data_add_dict_string(s, "schema",
					     w->env.schema_version > 1 ? "changed at runtime" : "loaded");
		rte_tel_data_add_dict_u64(s, "schema_version", w->env.schema_version);
		snprintf(key, sizeof(key), "worker%u", i);
		rte_tel_data_add_dict_container(d, key, s, 0);
	}
	return 0;
}

static int
route_cb(const struct scpp_route_entry *e, void *arg)
{
	struct rte_tel_data *a = arg;
	char pfx[SCPP_OID_STR_MAX + 8], line[RTE_TEL_MAX_STRING_LEN];
	unsigned int i;

	scpp_oid_prefix_format(pfx, sizeof(pfx), &e->prefix);
	if (e->node == scppd_g.cfg.node.id) {
		snprintf(line, sizeof(line), "%s local shard %u (worker %u)", pfx, e->core,
			 scppd_g.shard_worker[e->core]);
	} else {
		const struct scpp_config_route *r = NULL;

		for (i = 0; i < scppd_g.cfg.nb_routes; i++)
			if (scppd_g.cfg.routes[i].node == e->node)
				r = &scppd_g.cfg.routes[i];
		snprintf(line, sizeof(line), "%s node %u peer %u.%u.%u.%u:%u", pfx, e->node,
			 r ? r->peer_ipv4 >> 24 : 0, r ? (r->peer_ipv4 >> 16) & 0xff : 0,
			 r ? (r->peer_ipv4 >> 8) & 0xff : 0, r ? r->peer_ipv4 & 0xff : 0,
			 r ? r->peer_port : 0);
	}
	return rte_tel_data_add_array_string(a, line) == 0 ? 0 : 1;
}

static int
cmd_routes(const char *cmd __rte_unused, const char *params __rte_unused,
	   struct rte_tel_data *d)
{
	rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
	scpp_route_foreach(scppd_g.routes, route_cb, d);
	return 0;
}

static int
cmd_health(const char *cmd __rte_unused, const char *params __rte_unused,
	   struct rte_tel_data *d)
{
	struct rte_tel_data *links = rte_tel_data_alloc();
	struct scppd_stats sum;
	uint64_t drops = 0;
	double sat = 0;
	unsigned int i;
	char s[32];

	if (links == NULL)
		return -ENOMEM;
	scppd_stats_sum(&sum);
	for (i = 0; i < SCPPD_DROP_COUNT; i++)
		drops += sum.drops[i];
	for (i = 0; i < scppd_g.nb_workers; i++) {
		struct scpp_store_stats st;

		scpp_store_stats_get(scppd_g.workers[i]->store, &st);
		sat = RTE_MAX(sat, st.saturation);
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "status",
				     __atomic_load_n(&scppd_g.stop, __ATOMIC_RELAXED) ? "stopping" :
				     sat > 0.9 ? "degraded: store above 90%" : "ok");
	rte_tel_data_add_dict_string(d, "node", scppd_g.cfg.node.name);
	rte_tel_data_add_dict_u64(d, "node_id", scppd_g.cfg.node.id);
	rte_tel_data_add_dict_string(d, "version", SCPPD_VERSION);
	rte_tel_data_add_dict_string(d, "dpdk", rte_version());
	rte_tel_data_add_dict_u64(d, "uptime_s",
				  (rte_get_tsc_cycles() - scppd_g.start_tsc) / scppd_g.tsc_hz);
	rte_tel_data_add_dict_u64(d, "workers", scppd_g.nb_workers);
	rte_tel_data_add_dict_string(d, "hugepages", scppd_g.hugepages ? "yes" : "no");
	snprintf(s, sizeof(s), "%.4f", sat);
	rte_tel_data_add_dict_string(d, "max_store_saturation", s);
	rte_tel_data_add_dict_u64(d, "executed", sum.executed);
	rte_tel_data_add_dict_u64(d, "drops_total", drops);
	rte_tel_data_start_dict(links);
	for (i = 0; i < scppd_g.nb_ports; i++) {
		struct rte_eth_link l;

		memset(&l, 0, sizeof(l));
		rte_eth_link_get_nowait(scppd_g.ports[i].port_id, &l);
		rte_tel_data_add_dict_string(links, scppd_g.ports[i].name,
					     l.link_status ? "up" : "down");
	}
	rte_tel_data_add_dict_container(d, "links", links, 0);
	return 0;
}

int
scppd_telemetry_init(void)
{
	int rc = 0;

	rc |= rte_telemetry_register_cmd("/scpp/stats", cmd_stats,
					 "scppd counters summed over workers, drops by reason, "
					 "ports. Parameters: optional worker index");
	rc |= rte_telemetry_register_cmd("/scpp/shards", cmd_shards,
					 "Per worker: shard, prefix, epoch, store saturation, "
					 "reply cache, reassembly. No parameters");
	rc |= rte_telemetry_register_cmd("/scpp/routes", cmd_routes,
					 "OID-prefix routing table. No parameters");
	rc |= rte_telemetry_register_cmd("/scpp/health", cmd_health,
					 "scppd status, uptime, links. No parameters");
	return rc != 0 ? -EINVAL : 0;
}
