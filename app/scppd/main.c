/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * scppd: the scpp poll-mode dataplane daemon.
 *
 *   scppd [--config FILE] [--check-config FILE] [--dump-config] [-- EAL args]
 *
 * Start-up order matters and is all on the main lcore (the control
 * thread): configuration -> EAL -> log types -> cookie key (random) ->
 * dictionary and schema (loaded once) -> per worker: epoch, store shard
 * (materialised schema), eval context -> routes (RCU table, filled from the
 * static cluster map: local shard /64s and other nodes' prefixes) -> ports
 * and queues (effective MTUs, lib/net's port table) -> per worker:
 * lib/delivery state (sized by those MTUs) -> hand-off rings -> ports
 * started -> cluster (this node's MAC; with etcd, the agent thread and a
 * bounded wait for its first map) -> telemetry -> workers launched. After
 * the launch, workers see only the stop flag and what the control loop
 * publishes with RCU (route snapshots and cluster maps, cluster.c).
 * Shutdown reverses it: stop flag (signal), the lease revoked, workers
 * drain and return, ports stop and close, memory freed, EAL cleanup, exit 0.
 */

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_version.h>

#include "scpp_cluster.h"
#include "scppd.h"

struct scppd scppd_g;
int scppd_logtype;

const char *const scppd_msg_drop_name[SCPPD_MSG_DROP_COUNT] = {
	[SCPPD_MSG_HANDOFF_FULL] = "handoff_full",
	[SCPPD_MSG_NO_MBUF] = "no_mbuf",
};

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: scppd [--config FILE] [--check-config FILE] [--dump-config] [-- EAL args]\n"
		"  --config FILE        run with this configuration (default: the built-in\n"
		"                       one, config/default.json)\n"
		"  --check-config FILE  validate FILE and its schema files, print \"ok\" or the\n"
		"                       error, exit 0 or 1; EAL is not started\n"
		"  --dump-config        print the effective configuration (defaults filled in)\n"
		"  -- EAL args          appended to the EAL arguments built from the config\n"
		"                       (docs/CONFIG.md), so they override them\n"
		"See docs/OPERATIONS.md.\n");
}

/* SIGHUP: the control loop reads the revocation file again (auth.c). */
static void
on_hup(int sig __rte_unused)
{
	__atomic_store_n(&scppd_g.reload, 1, __ATOMIC_RELAXED);
	scppd_control_wake();
}

static void
on_signal(int sig __rte_unused)
{
	/* Relaxed: the flag carries no data; workers poll it every loop. */
	__atomic_store_n(&scppd_g.stop, 1, __ATOMIC_RELAXED);
	scppd_control_wake();
}

static int
load_config(const char *path, struct scpp_config *cfg)
{
	struct scpp_config_error err;
	int rc;

	memset(&err, 0, sizeof(err));
	if (path != NULL)
		rc = scpp_config_load_file(path, cfg, &err);
	else
		rc = scpp_config_load_string(SCPP_CONFIG_DEFAULT_JSON,
					     strlen(SCPP_CONFIG_DEFAULT_JSON), "(built-in default)",
					     cfg, &err);
	if (rc != 0) {
		if (err.msg[0] != '\0')
			fprintf(stderr, "%s\n", err.msg);
		else
			fprintf(stderr, "%s: %s\n", path ? path : "(built-in default)",
				strerror(-rc));
	}
	return rc;
}

/* Load the schema files without a store (ids numbered by the schema
 * itself): used by --check-config to report schema errors too. */
static int
check_schema(const struct scpp_config *cfg)
{
	const char *paths[SCPP_CONFIG_MAX_SCHEMA_FILES];
	struct scpp_schema_diag diag;
	struct scpp_schema *s = NULL;
	unsigned int i;
	int rc;

	for (i = 0; i < cfg->schema.nb_files; i++)
		paths[i] = cfg->schema.files[i];
	memset(&diag, 0, sizeof(diag));
	rc = scpp_schema_load_files(paths, cfg->schema.nb_files, NULL, &s, &diag);
	if (rc != 0) {
		fprintf(stderr, "%s\n", diag.msg[0] ? diag.msg : strerror(-rc));
		return rc;
	}
	scpp_schema_free(s);
	return 0;
}

static void
mkdir_p(const char *dir)
{
	char tmp[SCPP_CONFIG_PATH_SIZE];
	char *p;

	snprintf(tmp, sizeof(tmp), "%s", dir);
	for (p = tmp + 1; *p != '\0'; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(tmp, 0755);
			*p = '/';
		}
	}
	mkdir(tmp, 0755);
}

/* Boot epoch of one shard, persisted under node.state_dir before anything
 * is minted. A shard that cannot persist a new epoch does not start: a
 * clock-derived epoch repeats when two starts fall in one minute, and
 * every OID minted twice names two objects. */
static void
shard_epoch(struct scppd_worker *w)
{
	char path[SCPP_CONFIG_PATH_SIZE + 32];
	const char *dir = scppd_g.cfg.node.state_dir;
	int rc;

	mkdir_p(dir);
	snprintf(path, sizeof(path), "%s/shard-%u.epoch", dir, w->shard);
	rc = scpp_oid_epoch_advance(path, &w->epoch);
	if (rc != 0)
		rte_exit(EXIT_FAILURE, "scppd: shard %u: cannot persist a new boot epoch in %s: %s "
			 "(node.state_dir must be a writable directory)\n", w->shard, path,
			 strerror(-rc));
	w->epoch_from_clock = false;
}

/* ARP and ICMP answers the tx queue did not take (replies to blocks are
 * paced by lib/delivery and never dropped here). */
static void
tx_error_cb(struct rte_mbuf **unsent, uint16_t count, void *userdata)
{
	struct scppd_worker *w = userdata;

	scpp_counter_add(&w->stats.answer_tx_full, count);
	rte_pktmbuf_free_bulk(unsent, count);
}

static void
worker_init(struct scppd *d, unsigned int i)
{
	const struct scpp_config *cfg = &d->cfg;
	const struct scpp_config_worker *wc = &cfg->workers[i];
	int socket = (int)rte_lcore_to_socket_id(wc->lcore);
	struct scpp_store_config sc;
	struct scpp_eval_limits lim = {
		.max_rows = cfg->eval.max_rows,
		.max_steps = cfg->eval.max_steps,
		.max_bytes = cfg->eval.max_bytes,
		.max_result = cfg->eval.max_result_bytes,
		.max_statuses = cfg->eval.max_statuses,
		.max_time_us = cfg->eval.max_time_us,
	};
	struct scppd_worker *w;
	uint32_t frag_max = 0;
	unsigned int p, q;
	int rc;

	if (!rte_lcore_is_enabled(wc->lcore) || wc->lcore == rte_get_main_lcore())
		rte_exit(EXIT_FAILURE,
			 "scppd: worker %u: lcore %u is not an enabled worker lcore of EAL "
			 "(check -l/--lcores)\n",
			 i, wc->lcore);
	w = rte_zmalloc_socket("scppd_worker", sizeof(*w), RTE_CACHE_LINE_SIZE, socket);
	if (w == NULL)
		rte_exit(EXIT_FAILURE, "scppd: worker %u: out of memory\n", i);
	d->workers[i] = w;
	w->idx = (uint16_t)i;
	w->lcore = wc->lcore;
	w->shard = wc->shard;
	d->shard_worker[wc->shard] = (uint8_t)i;
	shard_epoch(w);

	scpp_store_config_init(&sc);
	sc.name = "scppd_shard";
	sc.socket_id = socket;
	sc.max_entries = cfg->store.entries;
	sc.max_map_entries = cfg->store.entries;
	sc.extent_bytes = (uint64_t)cfg->store.slab_mb << 20;
	sc.max_value_len = cfg->store.max_value_bytes;
	sc.oid_locale = cfg->node.locale;
	sc.oid_node = cfg->node.id;
	sc.oid_shard = wc->shard;
	sc.oid_epoch = w->epoch;
	/* Every triple may be of an indexed attribute (docs/STORE.md). */
	sc.max_indexed = sc.max_entries;
	w->store = scpp_store_create(&sc);
	if (w->store == NULL)
		rte_exit(EXIT_FAILURE, "scppd: shard %u: store of %" PRIu64 " bytes: %s\n",
			 wc->shard, scpp_store_mem_size(&sc), rte_strerror(rte_errno));
	rc = scpp_schema_materialize(d->schema, w->store);
	if (rc != 0)
		rte_exit(EXIT_FAILURE, "scppd: shard %u: materialise schema: %s\n", wc->shard,
			 scpp_strerror(rc));
	w->ectx = scpp_eval_ctx_create(&lim, socket, true);
	if (w->ectx == NULL)
		rte_exit(EXIT_FAILURE, "scppd: shard %u: eval context: %s\n", wc->shard,
			 strerror(errno));
	w->env.store = w->store;
	w->env.dict = d->dict;
	w->env.schema = d->schema;
	w->env.node = scpp_oid_make(cfg->node.locale, cfg->node.id, wc->shard, 0, 0);
	w->env.core = wc->shard;
	w->env.clock_ns = scppd_clock_ns;
	w->env.pub = d->schema_pub;
	w->env.worker = (uint16_t)i;
	w->env.schema_version = scpp_schema_pub_version(d->schema_pub);
	/* Schema edits are compiled on the control lcore and checked on every
	 * shard (schema_job.c), the block parked meanwhile (park.c). */
	w->env.schema_hold = scppd_park_hold_schema;
	w->env.schema_hold_arg = w;
	w->blk = rte_malloc_socket("scppd_blk", sizeof(*w->blk), RTE_CACHE_LINE_SIZE, socket);
	/* A hand-off chain is linearised here: the largest message a worker
	 * reassembles (configured MTUs bound the fragments). */
	for (p = 0; p < cfg->nb_ports; p++)
		frag_max = RTE_MAX(frag_max, (uint32_t)cfg->ports[p].mtu - SCPP_NET_IP_UDP_LEN -
					     SCPP_WIRE_HDR_LEN);
	w->msg_size = frag_max * cfg->delivery.max_fragments;
	w->msg_buf = rte_malloc_socket("scppd_msg", w->msg_size, RTE_CACHE_LINE_SIZE, socket);
	w->stage_blk = rte_malloc_socket("scppd_stage", SCPPD_BURST * sizeof(*w->stage_blk),
					 RTE_CACHE_LINE_SIZE, socket);
	if (w->blk == NULL || w->msg_buf == NULL || w->stage_blk == NULL)
		rte_exit(EXIT_FAILURE, "scppd: shard %u: out of memory for buffers\n", wc->shard);

	/* Queues: worker i polls queues [i*qpw, (i+1)*qpw) of every port and
	 * transmits on queue i*qpw of each (qpw may differ per port). */
	for (p = 0; p < cfg->nb_ports; p++) {
		uint16_t qpw = cfg->ports[p].queues_per_worker;

		w->txq[p] = (uint16_t)(i * qpw);

		for (q = 0; q < qpw; q++) {
			w->rxq[w->nb_rxq].port = (uint16_t)p;
			w->rxq[w->nb_rxq].queue = (uint16_t)(i * qpw + q);
			w->nb_rxq++;
		}
		w->txb[p] = rte_zmalloc_socket("scppd_txb", RTE_ETH_TX_BUFFER_SIZE(SCPPD_BURST), 0,
					       socket);
		if (w->txb[p] == NULL)
			rte_exit(EXIT_FAILURE, "scppd: worker %u: tx buffer: out of memory\n", i);
		rte_eth_tx_buffer_init(w->txb[p], SCPPD_BURST);
		rte_eth_tx_buffer_set_err_callback(w->txb[p], tx_error_cb, w);
	}
	SCPPD_LOG(INFO,
		  "shard %u: worker %u on lcore %u (socket %d), epoch %u (%s), store %" PRIu64
		  " bytes (%u entries, %u MiB values)",
		  wc->shard, i, wc->lcore, socket, w->epoch, w->epoch_from_clock ? "clock" : "file",
		  scpp_store_mem_size(&sc), cfg->store.entries, cfg->store.slab_mb);
}

/*
 * A worker's lib/delivery instance; after the ports, whose effective MTUs
 * size its reassembly slots and reply datagrams.
 */
static void
worker_delivery_init(struct scppd *d, struct scppd_worker *w)
{
	const struct scpp_config_delivery *dc = &d->cfg.delivery;
	struct scpp_delivery_conf c = {
		.name = "scppd_delivery",
		.socket_id = (int)rte_lcore_to_socket_id(w->lcore),
		.mem = &scpp_delivery_mem_rte,
		.net = &d->net,
		.tsc_hz = d->tsc_hz,
		.epoch_tsc = d->start_tsc,
		.retention_ms = dc->retention_ms,
		.cache_entries = dc->reply_cache_entries,
		.cache_bytes = (uint64_t)dc->reply_cache_mb << 20,
		/* Room for the largest result plus the END record the
		 * evaluator always needs (scpp_eval_block() contract). */
		.reply_max = d->cfg.eval.max_result_bytes + 4096,
		.clients = dc->clients,
		.reasm_slots = dc->reassembly_slots,
		.reasm_per_source = dc->reassembly_per_source,
		.reasm_timeout_ms = dc->reassembly_timeout_ms,
		.max_fragments = dc->max_fragments,
		.backlog = dc->tx_backlog,
		.error_rate_source = dc->error_rate_per_source,
		.error_rate_total = dc->error_rate_total,
		.parked = dc->max_parked,
		.park_timeout_ms = dc->park_timeout_ms,
		/* Session responses are sealed on this worker's lane (auth.c). */
		.seal = scppd_auth_seal,
		.seal_ctx = w,
	};

	memcpy(c.cookie_key, d->cookie_key, sizeof(c.cookie_key));
	w->dlv = scpp_delivery_create(&c);
	if (w->dlv == NULL)
		rte_exit(EXIT_FAILURE, "scppd: worker %u: delivery state of %zu bytes: %s\n", w->idx,
			 scpp_delivery_mem_size(&c), strerror(errno));
	SCPPD_LOG(INFO,
		  "worker %u: delivery %zu bytes (%u replies in %u MiB for %u ms, %u clients, "
		  "%u reassembly slots, %u backlog)",
		  w->idx, scpp_delivery_mem_size(&c), dc->reply_cache_entries, dc->reply_cache_mb,
		  dc->retention_ms, dc->clients, dc->reassembly_slots, dc->tx_backlog);
}

static void
worker_free(struct scppd_worker *w)
{
	unsigned int p;

	if (w == NULL)
		return;
	scppd_copy_free(w);
	scppd_cont_free(w);
	scppd_park_free(w);
	scpp_delivery_free(w->dlv);
	for (p = 0; p < SCPP_CONFIG_MAX_PORTS; p++)
		rte_free(w->txb[p]);
	rte_free(w->msg_buf);
	rte_free(w->stage_blk);
	rte_free(w->blk);
	scpp_eval_ctx_free(w->ectx);
	scpp_schema_free(w->own_schema);
	scpp_store_free(w->store);
	rte_free(w);
}

static void
rings_init(struct scppd *d)
{
	unsigned int i, j;
	char name[RTE_RING_NAMESIZE];

	for (i = 0; i < d->nb_workers; i++) {
		for (j = 0; j < d->nb_workers; j++) {
			struct rte_ring *r;

			if (i == j)
				continue;
			snprintf(name, sizeof(name), "scppd_h%u_%u", i, j);
			/* One producer (worker i) and one consumer (worker j):
			 * the SP/SC ring needs no atomic read-modify-write. */
			r = rte_ring_create(name, SCPPD_RING_SIZE,
					    (int)rte_lcore_to_socket_id(d->workers[j]->lcore),
					    RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (r == NULL)
				rte_exit(EXIT_FAILURE, "scppd: ring %s: %s\n", name,
					 rte_strerror(rte_errno));
			d->workers[i]->out[j] = r;
			d->workers[j]->in[d->workers[j]->nb_in++] = r;
		}
	}
}

static void
rings_free(struct scppd *d)
{
	unsigned int i, j;

	for (i = 0; i < d->nb_workers; i++)
		for (j = 0; j < d->nb_workers; j++)
			if (d->workers[i] != NULL)
				rte_ring_free(d->workers[i]->out[j]);
}

static void
routes_init(struct scppd *d, const char *cfg_name)
{
	size_t sz = rte_rcu_qsbr_get_memsize(d->nb_workers);

	d->qsbr = rte_zmalloc("scppd_qsbr", sz, RTE_CACHE_LINE_SIZE);
	if (d->qsbr == NULL || rte_rcu_qsbr_init(d->qsbr, d->nb_workers) != 0)
		rte_exit(EXIT_FAILURE, "scppd: RCU QSBR for %u workers failed\n", d->nb_workers);
	/* Room for the largest cluster map: its routes replace the table's
	 * whole content at every change (cluster.c). */
	d->routes = scpp_route_create(SCPP_CLUSTER_MAX_ROUTES, d->qsbr);
	if (d->routes == NULL)
		rte_exit(EXIT_FAILURE, "scppd: route table: %s\n", rte_strerror(rte_errno));
	/* The local shards' /64s and the other nodes' prefixes, from the
	 * static map (with etcd: this node alone until the agent's first). */
	if (scppd_forward_init(d) != 0)
		rte_exit(EXIT_FAILURE, "scppd: cluster: out of memory for forwarding counters\n");
	scppd_cluster_init(d, cfg_name, NULL);
}

static void
schema_init(struct scppd *d)
{
	const struct scpp_config *cfg = &d->cfg;
	const char *paths[SCPP_CONFIG_MAX_SCHEMA_FILES];
	struct scpp_store_dict_config dc = {
		.max_attrs = cfg->store.dict_size,
		.name_bytes = (uint64_t)cfg->store.dict_size * 48,
		.socket_id = (int)rte_socket_id(),
	};
	struct scpp_schema_conf conf;
	struct scpp_schema_diag diag;
	unsigned int i;
	int rc;

	d->dict = scpp_store_dict_create(&dc);
	if (d->dict == NULL)
		rte_exit(EXIT_FAILURE, "scppd: attribute dictionary (%u names): %s\n",
			 cfg->store.dict_size, rte_strerror(rte_errno));
	memset(&conf, 0, sizeof(conf));
	conf.intern = scpp_schema_store_intern;
	conf.intern_ctx = d->dict;
	for (i = 0; i < cfg->schema.nb_files; i++)
		paths[i] = cfg->schema.files[i];
	memset(&diag, 0, sizeof(diag));
	rc = scpp_schema_load_files(paths, cfg->schema.nb_files, &conf, &d->schema, &diag);
	if (rc != 0)
		rte_exit(EXIT_FAILURE, "scppd: schema: %s\n", diag.msg[0] ? diag.msg : strerror(-rc));
	SCPPD_LOG(INFO, "schema: %u types from %u files, %u attribute names",
		  scpp_schema_type_count(d->schema), cfg->schema.nb_files,
		  scpp_store_dict_count(d->dict));
}

static void
log_levels(const struct scpp_config *cfg)
{
	unsigned int i;

	scppd_logtype = rte_log_register_type_and_pick_level("scp.scppd", RTE_LOG_INFO);
	if (scppd_logtype < 0)
		scppd_logtype = RTE_LOGTYPE_USER1;
	rte_log_set_level_pattern("scp.*", cfg->log.level);
	for (i = 0; i < cfg->log.nb_types; i++)
		rte_log_set_level_pattern(cfg->log.types[i].name, cfg->log.types[i].level);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check-config", required_argument, NULL, 'k'},
		{"dump-config", no_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct scppd *d = &scppd_g;
	const char *config_path = NULL;
	char **eal_argv = NULL, **eal_copy;
	bool dump = false;
	int opt, eal_argc, rc, extra_argc = 0;
	char **extra_argv = NULL;
	unsigned int i;
	struct sigaction sa;

	/* Our options end at "--"; the rest goes to EAL. */
	for (i = 1; i < (unsigned int)argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			extra_argc = argc - (int)i - 1;
			extra_argv = argv + i + 1;
			argc = (int)i;
			break;
		}
	}
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 'k':
			if (load_config(optarg, &d->cfg) != 0 || check_schema(&d->cfg) != 0 ||
			    scppd_cluster_check(&d->cfg, optarg) != 0)
				return 1;
			printf("ok\n");
			scpp_config_free(&d->cfg);
			return 0;
		case 'd':
			dump = true;
			break;
		case 'V':
			printf("scppd %s (%s)\n", SCPPD_VERSION, rte_version());
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "scppd: unexpected argument \"%s\" (EAL arguments go after --)\n",
			argv[optind]);
		usage(stderr);
		return 2;
	}
	if (load_config(config_path, &d->cfg) != 0)
		return 1;
	if (dump) {
		rc = scpp_config_dump(stdout, &d->cfg);
		scpp_config_free(&d->cfg);
		return rc == 0 ? 0 : 1;
	}

	eal_argc = scppd_eal_args_build(&d->cfg, extra_argc, extra_argv, &eal_argv, &d->hugepages);
	if (eal_argc < 0) {
		fprintf(stderr, "scppd: building EAL arguments: %s\n", strerror(-eal_argc));
		return 1;
	}
	fprintf(stderr, "scppd: EAL arguments:");
	for (i = 1; i < (unsigned int)eal_argc; i++)
		fprintf(stderr, " %s", eal_argv[i]);
	fprintf(stderr, "\n");
	/* rte_eal_init() permutes the array it is given: hand it a copy of
	 * the pointers and keep ours for freeing. */
	eal_copy = calloc((size_t)eal_argc + 1, sizeof(*eal_copy));
	if (eal_copy == NULL)
		return 1;
	memcpy(eal_copy, eal_argv, sizeof(*eal_copy) * (size_t)eal_argc);
	rc = rte_eal_init(eal_argc, eal_copy);
	if (rc < 0) {
		fprintf(stderr, "scppd: EAL initialisation failed: %s\n", rte_strerror(rte_errno));
		free(eal_copy);
		scppd_eal_args_free(eal_argv);
		return 1;
	}
	log_levels(&d->cfg);
	d->tsc_hz = rte_get_tsc_hz();
	scppd_clock_init(d->tsc_hz);
	d->drain_tsc = d->tsc_hz / 1000000 * SCPPD_DRAIN_US;
	d->start_tsc = rte_get_tsc_cycles();
	d->base_port = d->cfg.udp.base_port;
	d->nb_workers = d->cfg.nb_workers;
	memset(d->shard_worker, SCPPD_NO_WORKER, sizeof(d->shard_worker));
	if (rte_get_main_lcore() != d->cfg.eal.main_lcore)
		SCPPD_LOG(WARNING, "EAL main lcore is %u, the config says %u", rte_get_main_lcore(),
			  d->cfg.eal.main_lcore);
	SCPPD_LOG(INFO, "scppd %s on %s, node \"%s\" (locale %u, id %u), %u workers, %s memory "
		  "(%u MiB), TSC %" PRIu64 " Hz",
		  SCPPD_VERSION, rte_version(), d->cfg.node.name, d->cfg.node.locale,
		  d->cfg.node.id, d->nb_workers, d->hugepages ? "hugepage" : "ordinary (--no-huge)",
		  d->cfg.eal.memory_mb, d->tsc_hz);

	if ((rc = scppd_control_init()) != 0)
		rte_exit(EXIT_FAILURE, "scppd: control loop eventfd: %s\n", strerror(-rc));
	if (getrandom(d->cookie_key, sizeof(d->cookie_key), 0) != (ssize_t)sizeof(d->cookie_key))
		rte_exit(EXIT_FAILURE, "scppd: no random bytes for the cookie key: %s\n",
			 strerror(errno));
	schema_init(d);
	/* Runtime schema changes reach every shard through the publisher. */
	d->schema_pub = scpp_schema_pub_create(d->schema, d->nb_workers);
	if (d->schema_pub == NULL)
		rte_exit(EXIT_FAILURE, "scppd: schema publisher: %s\n", strerror(errno));
	for (i = 0; i < d->nb_workers; i++) {
		worker_init(d, i);
		scppd_copy_init(d, d->workers[i]);
		scppd_cont_init(d, d->workers[i]);
	}
	routes_init(d, config_path != NULL ? config_path : "(built-in default)");
	scppd_ports_init(d);
	scppd_schema_init();
	scppd_cont_register();
	for (i = 0; i < d->nb_workers; i++) {
		worker_delivery_init(d, d->workers[i]);
		scppd_park_init(d, d->workers[i]);
	}
	rings_init(d);
	scppd_auth_init(d);
	scppd_ports_start(d);
	scppd_cluster_start(d);
	if (d->cfg.telemetry.enabled &&
	    (scppd_telemetry_init() != 0 || scppd_copy_telemetry_init() != 0 ||
	     scppd_auth_telemetry_init() != 0 || scppd_park_telemetry_init() != 0 ||
	     scppd_schema_telemetry_init() != 0 || scppd_control_telemetry_init() != 0))
		SCPPD_LOG(WARNING, "telemetry commands could not be registered");

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);

	for (i = 0; i < d->nb_workers; i++) {
		rc = rte_eal_remote_launch(scppd_worker_main, d->workers[i], d->workers[i]->lcore);
		if (rc != 0)
			rte_exit(EXIT_FAILURE, "scppd: launch worker %u on lcore %u: %s\n", i,
				 d->workers[i]->lcore, strerror(-rc));
	}
	SCPPD_LOG(INFO, "ready: UDP %u (any shard), %u..%u (shards); telemetry %s", d->base_port,
		  d->base_port + 1, d->base_port + d->nb_workers,
		  d->cfg.telemetry.enabled ? "/scpp/stats /scpp/shards /scpp/routes /scpp/health "
					     "/scpp/cluster /scpp/copy /scpp/park /scpp/schema /scpp/control" : "off");
	/* The control loop (control.c): reclaim, publish, handshakes, until a
	 * signal. */
	scppd_control_run(d);
	scppd_cluster_leave(d);
	SCPPD_LOG(INFO, "stopping: waiting for workers");
	rte_eal_mp_wait_lcore();
	{
		struct scppd_stats sum;
		uint64_t rx = 0, tx = 0, hits = 0;

		scppd_stats_sum(&sum);
		for (i = 0; i < d->nb_workers; i++) {
			struct scpp_delivery_stats ds;

			scpp_delivery_stats_get(d->workers[i]->dlv, &ds);
			rx += scpp_counter_read(&d->workers[i]->net_st.rx_frames);
			tx += ds.tx_dgrams;
			hits += ds.cache_hits;
		}
		SCPPD_LOG(INFO, "final: %" PRIu64 " frames in, %" PRIu64 " datagrams out, %" PRIu64
			  " blocks executed, %" PRIu64 " cache hits",
			  rx, tx, sum.executed, hits);
	}
	scppd_auth_free(d);
	scppd_ports_close(d);
	rings_free(d);
	scppd_cluster_free(d);
	scppd_forward_free(); /* after the map: telemetry finds none first */
	scpp_route_free(d->routes);
	rte_free(d->qsbr);
	for (i = 0; i < d->nb_workers; i++)
		worker_free(d->workers[i]);
	scppd_schema_free();
	scpp_schema_pub_free(d->schema_pub); /* frees d->schema too */
	scpp_store_dict_free(d->dict);
	scpp_config_free(&d->cfg);
	scppd_control_free();
	rte_eal_cleanup();
	free(eal_copy);
	scppd_eal_args_free(eal_argv);
	fprintf(stderr, "scppd: stopped\n");
	return 0;
}
