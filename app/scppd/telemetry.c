/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rte_telemetry commands. They run on DPDK's telemetry thread, concurrently
 * with the workers: counters are read with relaxed loads (per-worker
 * counters, summed here), store figures through scpp_store_stats_get()
 * (documented as safe from any thread), and the route table only through
 * scpp_route_foreach() under the cluster lock, which map publication
 * (cluster.c) also holds.
 *
 *   /scpp/stats[,W]  counters summed over workers (or worker W only):
 *                    lib/net's, lib/delivery's and the daemon's, frame drops
 *                    by reason (with the ports' own), notices by code,
 *                    rejected blocks by code, port stats
 *   /scpp/shards     per worker: shard, lcore, epoch, store saturation,
 *                    held replies, client windows, reassembly and backlog
 *   /scpp/routes     the OID-prefix routing table
 *   /scpp/health     one-look status: up, uptime, node, workers, links
 *   /scpp/cluster    the cluster map and the etcd agent (cluster.c)
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_telemetry.h>
#include <rte_version.h>

#include "scppd.h"

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

/* Counter name / offset tables, so that sums, telemetry and the docs list
 * the same names in the same order. */
struct field {
	const char *name;
	size_t off;
};
#define APP(n) {#n, offsetof(struct scppd_stats, n)}
static const struct field app_fields[] = {
	APP(executed), APP(outcome_ok), APP(outcome_errors), APP(outcome_aborted),
	APP(eval_failed), APP(rejected_total), APP(not_here), APP(handoff_out), APP(handoff_in),
	APP(handoff_port), APP(fetch_remote), APP(schema_changes), APP(schema_adopt_errors), APP(schema_votes), APP(schema_checked), APP(answer_tx_full),
	APP(tx_no_mbuf), APP(idle_sleeps), APP(busy_polls),
	APP(answer_cycles), APP(answered_blocks), APP(forward_cycles), APP(forwarded_blocks),
	APP(auth_handoff_in), APP(auth_hs), APP(auth_hs_full), APP(auth_rejected), APP(auth_close),
	APP(auth_off_drop), APP(auth_wrong_lane), APP(auth_refused), APP(auth_fetch_refused),
	APP(auth_no_session_answered), APP(auth_fwd_sealed), APP(auth_fwd_refused), APP(auth_ident_push), APP(carried_in),
	APP(carried_bad), APP(carried_no_key), APP(carried_expired), APP(carried_miss),
	APP(carried_blocks), APP(carried_sealed), APP(cont_sealed), APP(cont_reply_bad),
	APP(cont_carried), APP(cont_no_principal),
	APP(forward_hops_limit), APP(forward_too_big), APP(forward_not_peer), APP(forward_arp_sent),
	APP(cont_dgrams), APP(cont_run), APP(cont_dup_done), APP(cont_dup_running), APP(cont_refused), APP(cont_bad),
	APP(cont_not_taken), APP(cont_tx_full), APP(cont_rest_groups), APP(cont_splits),
	APP(cont_shipped), APP(cont_answered), APP(cont_retransmitted), APP(cont_timed_out),
	APP(cont_part_failed), APP(cont_local), APP(cont_reply_stale), APP(cont_merged),
	APP(cont_fan_out),
};
#define NET(n) {#n, offsetof(struct scpp_net_stats, n)}
static const struct field net_fields[] = {
	{"rx_pkts", offsetof(struct scpp_net_stats, rx_frames)},
	{"rx_bytes", offsetof(struct scpp_net_stats, rx_bytes)},
	NET(delivered), NET(arp_replies), NET(arp_learned), NET(icmp_echo), NET(cksum_trusted),
	NET(cksum_sw),
};
#define DLV(n) {#n, offsetof(struct scpp_delivery_stats, n)}
static const struct field dlv_fields[] = {
	{"dgrams", offsetof(struct scpp_delivery_stats, dgrams)},
	{"dgrams_consumed", offsetof(struct scpp_delivery_stats, consumed)},
	DLV(messages), DLV(fetches), DLV(reasm_started), DLV(reasm_done), DLV(admitted),
	DLV(cache_hits), DLV(replies_kept), DLV(cache_expired), DLV(cache_pressure),
	DLV(clients_new), DLV(clients_expired), DLV(amp_limited), DLV(cookies_valid),
	DLV(cookies_invalid), DLV(fetch_dgrams), DLV(errors_allowed), DLV(errors_limited),
	DLV(backlog_full), DLV(tx_aborted),
	{"tx_pkts", offsetof(struct scpp_delivery_stats, tx_dgrams)},
	{"tx_bytes", offsetof(struct scpp_delivery_stats, tx_bytes)},
	DLV(tx_deferred), DLV(tx_direct), DLV(tx_unsealed), DLV(sealed), DLV(forwarded_in),
	DLV(forward_bad), DLV(parks), DLV(unparks), DLV(park_expired), DLV(park_full),
	DLV(park_dups), DLV(reads), DLV(reads_unheld), DLV(reads_held),
};
static const char *const notice_name[SCPP_NOTICE_COUNT] = {
	[SCPP_NOTICE_COOKIE] = "cookie", [SCPP_NOTICE_REPLY_LOST] = "reply_lost",
	[SCPP_NOTICE_STALE] = "stale", [SCPP_NOTICE_BUSY] = "busy",
	[SCPP_NOTICE_NO_REPLY] = "no_reply",
};

static uint64_t
at(const void *s, size_t off)
{
	return scpp_counter_read((const uint64_t *)(const void *)((const uint8_t *)s + off));
}

static uint64_t *
field(void *s, size_t off)
{
	return (uint64_t *)(void *)((uint8_t *)s + off);
}

static void
stats_add(struct scppd_stats *sum, const struct scppd_stats *s)
{
	unsigned int i;

	for (i = 0; i < RTE_DIM(app_fields); i++)
		*field(sum, app_fields[i].off) += at(s, app_fields[i].off);
	for (i = 0; i < SCPPD_MSG_DROP_COUNT; i++)
		sum->msg_drops[i] += scpp_counter_read(&s->msg_drops[i]);
	for (i = 0; i < SCPPD_REJECT_SLOTS; i++)
		sum->rejected[i] += scpp_counter_read(&s->rejected[i]);
}

void
scppd_stats_sum(struct scppd_stats *sum)
{
	unsigned int i;

	memset(sum, 0, sizeof(*sum));
	for (i = 0; i < scppd_g.nb_workers; i++)
		stats_add(sum, &scppd_g.workers[i]->stats);
}

/* Everything one worker (or all, @p w < 0) counts, summed. */
struct totals {
	struct scppd_stats app;
	struct scpp_net_stats net;
	struct scpp_delivery_stats dlv;
	struct scpp_delivery_usage use;
	struct scpp_eval_stats ev;
};

static void
totals_get(struct totals *t, int w)
{
	unsigned int i, k;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < scppd_g.nb_workers; i++) {
		const struct scppd_worker *wk = scppd_g.workers[i];
		struct scpp_delivery_stats ds;
		struct scpp_delivery_usage u;
		struct scpp_eval_stats ev;

		if (w >= 0 && (unsigned int)w != i)
			continue;
		stats_add(&t->app, &wk->stats);
		for (k = 0; k < RTE_DIM(net_fields); k++)
			*field(&t->net, net_fields[k].off) += at(&wk->net_st, net_fields[k].off);
		for (k = 0; k < SCPP_NET_DROP_COUNT; k++)
			t->net.drops[k] += scpp_counter_read(&wk->net_st.drops[k]);
		scpp_delivery_stats_get(wk->dlv, &ds);
		for (k = 0; k < sizeof(ds) / sizeof(uint64_t); k++)
			((uint64_t *)(void *)&t->dlv)[k] += ((uint64_t *)(void *)&ds)[k];
		scpp_delivery_usage_get(wk->dlv, &u);
		t->use.reasm_frames += u.reasm_frames;
		scpp_eval_ctx_stats(wk->ectx, &ev);
		t->ev.fast_blocks += ev.fast_blocks;
		t->ev.fast_cmds += ev.fast_cmds;
		t->ev.fast_restarts += ev.fast_restarts;
		t->ev.busy_reads += ev.busy_reads;
	}
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

/* Port-level drops folded into the frame drop report: frames the port
 * dropped before any worker saw them (ring full, errors, no mbuf). */
static uint64_t
port_drops(struct rte_tel_data *drops, bool add)
{
	static const char *const name[] = {"port_imissed", "port_ierrors", "port_rx_nombuf"};
	uint64_t v[3] = {0, 0, 0};
	unsigned int i;

	for (i = 0; i < scppd_g.nb_ports; i++) {
		struct rte_eth_stats es;

		memset(&es, 0, sizeof(es));
		rte_eth_stats_get(scppd_g.ports[i].port_id, &es);
		v[0] += es.imissed;
		v[1] += es.ierrors;
		v[2] += es.rx_nombuf;
	}
	if (add)
		for (i = 0; i < 3; i++)
			rte_tel_data_add_dict_u64(drops, name[i], v[i]);
	return v[0] + v[1] + v[2];
}

static int
cmd_stats(const char *cmd __rte_unused, const char *params, struct rte_tel_data *d)
{
	struct rte_tel_data *drops, *rej, *ports, *notices, *msgd;
	struct totals t;
	unsigned int i;
	uint64_t total = 0;
	int w = -1;

	if (params != NULL && *params != '\0') {
		char *end;
		unsigned long n = strtoul(params, &end, 10);

		if (*end != '\0' || n >= scppd_g.nb_workers)
			return -EINVAL;
		w = (int)n;
	}
	totals_get(&t, w);
	rte_tel_data_start_dict(d);
	for (i = 0; i < RTE_DIM(net_fields); i++)
		rte_tel_data_add_dict_u64(d, net_fields[i].name, *field(&t.net, net_fields[i].off));
	for (i = 0; i < RTE_DIM(dlv_fields); i++)
		rte_tel_data_add_dict_u64(d, dlv_fields[i].name, *field(&t.dlv, dlv_fields[i].off));
	for (i = 0; i < RTE_DIM(app_fields); i++)
		rte_tel_data_add_dict_u64(d, app_fields[i].name, *field(&t.app, app_fields[i].off));
	rte_tel_data_add_dict_u64(d, "reasm_frames_held", t.use.reasm_frames);
	rte_tel_data_add_dict_u64(d, "eval_fast_blocks", t.ev.fast_blocks);
	rte_tel_data_add_dict_u64(d, "eval_fast_cmds", t.ev.fast_cmds);
	rte_tel_data_add_dict_u64(d, "eval_fast_restarts", t.ev.fast_restarts);
	rte_tel_data_add_dict_u64(d, "eval_busy_reads", t.ev.busy_reads);
	rte_tel_data_add_dict_u64(d, "tsc_hz", scppd_g.tsc_hz);
	drops = rte_tel_data_alloc();
	rej = rte_tel_data_alloc();
	ports = rte_tel_data_alloc();
	notices = rte_tel_data_alloc();
	msgd = rte_tel_data_alloc();
	if (drops == NULL || rej == NULL || ports == NULL || notices == NULL || msgd == NULL) {
		rte_tel_data_free(drops);
		rte_tel_data_free(rej);
		rte_tel_data_free(ports);
		rte_tel_data_free(notices);
		rte_tel_data_free(msgd);
		return -ENOMEM;
	}
	/* Every dropped frame under exactly one name: lib/net's reasons,
	 * lib/delivery's, and (whole node only) what the ports dropped. */
	rte_tel_data_start_dict(drops);
	for (i = 0; i < SCPP_NET_DROP_COUNT; i++) {
		rte_tel_data_add_dict_u64(drops, scpp_net_drop_name[i], t.net.drops[i]);
		total += t.net.drops[i];
	}
	for (i = 0; i < SCPP_DELIVERY_DROP_COUNT; i++) {
		rte_tel_data_add_dict_u64(drops, scpp_delivery_drop_name[i], t.dlv.drops[i]);
		total += t.dlv.drops[i];
	}
	if (w < 0)
		total += port_drops(drops, true);
	rte_tel_data_add_dict_u64(d, "drops_total", total);
	rte_tel_data_add_dict_container(d, "drops", drops, 0);
	rte_tel_data_start_dict(msgd);
	for (i = 0; i < SCPPD_MSG_DROP_COUNT; i++)
		rte_tel_data_add_dict_u64(msgd, scppd_msg_drop_name[i], t.app.msg_drops[i]);
	rte_tel_data_add_dict_container(d, "message_drops", msgd, 0);
	rte_tel_data_start_dict(notices);
	for (i = 1; i < SCPP_NOTICE_COUNT; i++)
		rte_tel_data_add_dict_u64(notices, notice_name[i], t.dlv.notices[i]);
	rte_tel_data_add_dict_container(d, "notices", notices, 0);
	rte_tel_data_start_dict(rej);
	for (i = 0; i < SCPPD_REJECT_SLOTS; i++)
		rte_tel_data_add_dict_u64(rej, reject_name(i), t.app.rejected[i]);
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
		rte_tel_data_add_dict_u64(pd, "mtu", scppd_g.ports[i].mtu);
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
		struct scpp_delivery_usage u;
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
		scpp_delivery_usage_get(w->dlv, &u);
		rte_tel_data_add_dict_u64(s, "reply_cache_entries", u.cache_entries);
		rte_tel_data_add_dict_u64(s, "reply_cache_capacity", u.cache_capacity);
		rte_tel_data_add_dict_u64(s, "reply_cache_bytes", u.cache_bytes);
		rte_tel_data_add_dict_u64(s, "reply_cache_arena_bytes", u.cache_arena);
		rte_tel_data_add_dict_u64(s, "clients", u.clients);
		rte_tel_data_add_dict_u64(s, "clients_capacity", u.clients_capacity);
		rte_tel_data_add_dict_u64(s, "reassembly_in_use", u.reasm_in_use);
		rte_tel_data_add_dict_u64(s, "reassembly_slots", u.reasm_slots);
		rte_tel_data_add_dict_u64(s, "reassembly_frames", u.reasm_frames);
		rte_tel_data_add_dict_u64(s, "tx_backlog", u.backlog_jobs);
		rte_tel_data_add_dict_u64(s, "tx_backlog_capacity", u.backlog_capacity);
		rte_tel_data_add_dict_u64(s, "parked", u.parked);
		rte_tel_data_add_dict_u64(s, "parked_capacity", u.parked_capacity);
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

	if (e->node == scppd_g.cfg.node.id) {
		scpp_oid_prefix_format(pfx, sizeof(pfx), &e->prefix);
		snprintf(line, sizeof(line), "%s local shard %u (worker %u)", pfx, e->core,
			 scppd_g.shard_worker[e->core]);
	} else {
		scppd_cluster_route_line(e, line, sizeof(line));
	}
	return rte_tel_data_add_array_string(a, line) == 0 ? 0 : 1;
}

static int
cmd_routes(const char *cmd __rte_unused, const char *params __rte_unused,
	   struct rte_tel_data *d)
{
	rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
	if (scppd_cluster_lock() != 0)
		return -ENODEV;
	scpp_route_foreach(scppd_g.routes, route_cb, d);
	scppd_cluster_unlock();
	return 0;
}

static int
cmd_health(const char *cmd __rte_unused, const char *params __rte_unused,
	   struct rte_tel_data *d)
{
	struct rte_tel_data *links = rte_tel_data_alloc();
	struct totals t;
	uint64_t drops = 0;
	double sat = 0;
	unsigned int i;
	char s[32];

	if (links == NULL)
		return -ENOMEM;
	totals_get(&t, -1);
	for (i = 0; i < SCPP_NET_DROP_COUNT; i++)
		drops += t.net.drops[i];
	for (i = 0; i < SCPP_DELIVERY_DROP_COUNT; i++)
		drops += t.dlv.drops[i];
	drops += port_drops(NULL, false);
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
	rte_tel_data_add_dict_u64(d, "executed", t.app.executed);
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

/* /scpp/loop: what each worker's loop turns cost (struct scppd_loop_stats).
 * Gaps and sections in nanoseconds; gap_hist_ns: bucket k counts the gaps
 * in [lo_k, lo_{k+1}) with lo_0 = 0, lo_k = 2^k units of 2^loop_shift TSC
 * cycles (the last bucket is open). */
static int
cmd_loop(const char *cmd __rte_unused, const char *params __rte_unused, struct rte_tel_data *d)
{
	static const char *const sect[SCPPD_LOOP_SECTS] = {
		[SCPPD_LOOP_RX] = "rx", [SCPPD_LOOP_HANDOFF] = "handoff", [SCPPD_LOOP_TX] = "tx",
		[SCPPD_LOOP_TICK] = "tick", [SCPPD_LOOP_FLUSH] = "flush",
	};
	const double ns = 1e9 / (double)scppd_g.tsc_hz;
	unsigned int i, k;
	char key[48];

	rte_tel_data_start_dict(d);
	for (i = 0; i < scppd_g.nb_workers; i++) {
		const struct scppd_worker *w = scppd_g.workers[i];
		struct rte_tel_data *s = rte_tel_data_alloc();
		struct rte_tel_data *h = rte_tel_data_alloc();

		if (s == NULL || h == NULL) {
			rte_tel_data_free(s);
			rte_tel_data_free(h);
			return -ENOMEM;
		}
		rte_tel_data_start_dict(s);
		rte_tel_data_add_dict_u64(s, "turns", LOAD(w->loop.turns));
		rte_tel_data_add_dict_u64(s, "gap_max_ns", (uint64_t)((double)LOAD(w->loop.gap_max) * ns));
		rte_tel_data_add_dict_u64(s, "long_ns", (uint64_t)((double)w->loop_long * ns));
		rte_tel_data_start_dict(h);
		for (k = 0; k < SCPPD_LOOP_BUCKETS; k++) {
			uint64_t lo = k == 0 ? 0 : (UINT64_C(1) << (k + w->loop_shift));

			snprintf(key, sizeof(key), "ge_%" PRIu64, (uint64_t)((double)lo * ns));
			rte_tel_data_add_dict_u64(h, key, LOAD(w->loop.gap[k]));
		}
		rte_tel_data_add_dict_container(s, "gap_hist_ns", h, 0);
		for (k = 0; k < SCPPD_LOOP_SECTS; k++) {
			snprintf(key, sizeof(key), "%s_ns", sect[k]);
			rte_tel_data_add_dict_u64(s, key,
						  (uint64_t)((double)LOAD(w->loop.sect_cycles[k]) * ns));
			snprintf(key, sizeof(key), "%s_max_ns", sect[k]);
			rte_tel_data_add_dict_u64(s, key,
						  (uint64_t)((double)LOAD(w->loop.sect_max[k]) * ns));
			snprintf(key, sizeof(key), "%s_long", sect[k]);
			rte_tel_data_add_dict_u64(s, key, LOAD(w->loop.sect_long[k]));
		}
		snprintf(key, sizeof(key), "worker%u", i);
		rte_tel_data_add_dict_container(d, key, s, 0);
	}
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
	rc |= rte_telemetry_register_cmd("/scpp/loop", cmd_loop,
					 "Per worker: loop turns, the gap between rx polls (log2 "
					 "histogram, max), time per section of the turn. No parameters");
	rc |= rte_telemetry_register_cmd("/scpp/health", cmd_health,
					 "scppd status, uptime, links. No parameters");
	rc |= scppd_cluster_telemetry_init();
	return rc != 0 ? -EINVAL : 0;
}
