/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The cluster map on the control thread: load it (static, or from the
 * etcd agent), publish it, log what changed, and answer for it in
 * telemetry. docs/CLUSTER.md specifies the behaviour.
 *
 * Publication. A map reaches the workers in two parts, both through RCU on
 * the daemon's QSBR variable: its routes, as one lib/route snapshot
 * (scpp_route_replace()), and the map itself, whose node entries a worker
 * reads only to word an E_NOT_HERE status (scppd_cluster_not_here_msg()).
 * A replaced map is freed once every worker has passed a quiescent state
 * since the pointer swap; nothing here ever blocks a worker, and a worker
 * never takes the lock below.
 *
 * The lock serialises the control thread's publication with the telemetry
 * thread, which reads the map and lib/route's master list (the route
 * table's foreach is not safe against a concurrent replace).
 *
 * etcd is never spoken to here: the agent thread (lib/cluster) does all of
 * it, and the control loop only takes finished maps and copies the
 * agent's status, each under a mutex held for a copy.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_rcu_qsbr.h>
#include <rte_telemetry.h>

#include "scpp_cluster.h"
#include "scppd.h"

/* Replaced maps awaiting their grace period, at most. */
#define RETIRED_MAX 64
/* Nodes described in full by /scpp/cluster; the rest by /scpp/cluster,ID. */
#define TELEMETRY_NODES 32

struct retired {
	struct scpp_cluster_map *map;
	uint64_t token;
};

static struct {
	pthread_mutex_t lock;
	/* The published map: workers load it (acquire); the control thread
	 * stores it (release), under the lock. */
	struct scpp_cluster_map *map;
	struct retired retired[RETIRED_MAX];
	unsigned int nb_retired;
	struct scpp_cluster_agent *agent;
	const char *cfg_name;
	uint64_t version;         /* maps published */
	uint64_t applied_tsc;     /* when the last one was */
	uint64_t apply_failed;    /* maps refused by the route table */
	/* Per worker, per node slot: blocks answered E_NOT_HERE for that
	 * node (written by the worker only, summed on read). */
	uint64_t *not_here;
	uint64_t *no_owner;       /* per worker: E_NOT_HERE with no owner node */
	/* Per slot: the count when the slot got its current node, so that a
	 * reused slot starts from zero without anyone writing worker memory. */
	uint64_t baseline[SCPP_CLUSTER_MAX_NODES];
	uint32_t slot_node[SCPP_CLUSTER_MAX_NODES];
	struct scpp_cluster_agent_status last; /* for logging transitions */
} cl = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* ---- workers (cold path: E_NOT_HERE only) --------------------------------- */

static const struct scpp_cluster_map *
map_load(void)
{
	/* Acquire pairs with the release store in publish(): the map's
	 * contents are visible before its pointer. It stays valid until this
	 * worker's next quiescent state. */
	return __atomic_load_n(&cl.map, __ATOMIC_ACQUIRE);
}

const struct scpp_cluster_map *
scppd_cluster_map(void)
{
	return map_load();
}

void
scppd_cluster_not_here_count(const struct scppd_worker *w, const struct scpp_route_result *res)
{
	const struct scpp_cluster_node *n = NULL;

	if (res->found && res->node != scppd_g.cfg.node.id)
		n = scpp_cluster_map_find(map_load(), res->node);
	if (n != NULL)
		scpp_counter_add(&cl.not_here[(size_t)w->idx * SCPP_CLUSTER_MAX_NODES + n->slot], 1);
	else
		scpp_counter_add(&cl.no_owner[w->idx], 1);
}

struct scpp_oid
scppd_cluster_not_here_msg(const char *oid, const struct scpp_route_result *res, char *buf,
			   size_t size)
{
	const struct scpp_config *cfg = &scppd_g.cfg;
	const struct scpp_cluster_node *n = NULL;
	char a[16];

	if (res->found && res->node != cfg->node.id)
		n = scpp_cluster_map_find(map_load(), res->node);
	if (n == NULL) {
		if (res->found && res->node == cfg->node.id)
			snprintf(buf, size, "no route for %s: shard %u of node %u has no worker here",
				 oid, res->core, cfg->node.id);
		else
			snprintf(buf, size, "no route for %s: not a shard of node %u and no node of "
				 "the cluster map owns it", oid, cfg->node.id);
		return SCPP_OID_NIL;
	}
	snprintf(a, sizeof(a), "%u.%u.%u.%u", n->rec.ipv4 >> 24, (n->rec.ipv4 >> 16) & 0xff,
		 (n->rec.ipv4 >> 8) & 0xff, n->rec.ipv4 & 0xff);
	if (n->state == SCPP_CLUSTER_UNREACHABLE)
		snprintf(buf, size, "%s is owned by node %" PRIu32 " \"%s\", shard %u, at %s:%u, "
			 "which is unreachable (its registration lapsed); nothing was run", oid,
			 n->rec.id, n->rec.name, res->core, a, n->rec.base_port);
	else
		snprintf(buf, size, "%s is owned by node %" PRIu32 " \"%s\", shard %u, at %s:%u; "
			 "send the block there", oid, n->rec.id, n->rec.name, res->core, a,
			 n->rec.base_port);
	/* The owner field: the owning shard's /64, as the evaluator's
	 * E_NOT_HERE has it (PROTOCOL.md §15). */
	return scpp_oid_make(n->rec.locale, n->rec.id, res->core, 0, 0);
}

/* ---- publication (control thread) ------------------------------------------- */

static void
reclaim(bool wait_one)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < cl.nb_retired; i++) {
		/* rte_rcu_qsbr_check() reads the workers' counters with acquire
		 * ordering: once the token has passed, no worker holds the map. */
		if (rte_rcu_qsbr_check(scppd_g.qsbr, cl.retired[i].token, wait_one) == 1) {
			scpp_cluster_map_free(cl.retired[i].map);
			wait_one = false;
		} else {
			cl.retired[k++] = cl.retired[i];
		}
	}
	cl.nb_retired = k;
}

static void
log_change(enum scpp_cluster_change kind, const struct scpp_cluster_node *before,
	   const struct scpp_cluster_node *after, void *arg)
{
	static const char *const what[] = {
		[SCPP_CLUSTER_JOINED] = "joined", [SCPP_CLUSTER_RETURNED] = "is reachable again",
		[SCPP_CLUSTER_LOST] = "is unreachable (its registration lapsed)",
		[SCPP_CLUSTER_REMOVED] = "left the map", [SCPP_CLUSTER_CHANGED] = "changed",
	};
	const struct scpp_cluster_node *n = after != NULL ? after : before;
	char a[16];

	(void)arg;
	/* This node's own entry changes only when its MAC becomes known. */
	if (kind == SCPP_CLUSTER_CHANGED && n->state == SCPP_CLUSTER_SELF)
		return;
	snprintf(a, sizeof(a), "%u.%u.%u.%u", n->rec.ipv4 >> 24, (n->rec.ipv4 >> 16) & 0xff,
		 (n->rec.ipv4 >> 8) & 0xff, n->rec.ipv4 & 0xff);
	if (kind == SCPP_CLUSTER_LOST)
		SCPPD_LOG(WARNING, "cluster: node %" PRIu32 " \"%s\" at %s:%u %s", n->rec.id,
			  n->rec.name, a, n->rec.base_port, what[kind]);
	else
		SCPPD_LOG(INFO, "cluster: node %" PRIu32 " \"%s\" at %s:%u %s (%s, %s)", n->rec.id,
			  n->rec.name, a, n->rec.base_port, what[kind],
			  scpp_cluster_state_name(n->state), n->origin);
}

/* Make @p m the map in force: routes first, then the map, as one step
 * under the lock. Takes ownership of @p m. */
static int
publish(struct scpp_cluster_map *m)
{
	struct scpp_route_entry *e;
	struct scpp_cluster_map *old;
	struct scpp_cluster_diff df;
	int rc;

	e = calloc(m->nb_routes ? m->nb_routes : 1, sizeof(*e));
	if (e == NULL) {
		scpp_cluster_map_free(m);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < m->nb_routes; i++) {
		e[i].prefix = m->routes[i].prefix;
		e[i].node = m->routes[i].node;
		e[i].core = m->routes[i].shard;
	}
	if (cl.nb_retired == RETIRED_MAX)
		reclaim(true);
	pthread_mutex_lock(&cl.lock);
	rc = scpp_route_replace(scppd_g.routes, e, m->nb_routes);
	if (rc != 0) {
		pthread_mutex_unlock(&cl.lock);
		cl.apply_failed++;
		SCPPD_LOG(ERR, "cluster: map of %u routes not applied (route table: %s); the "
			  "previous map stays", m->nb_routes, strerror(-rc));
		scpp_cluster_map_free(m);
		free(e);
		return rc;
	}
	old = cl.map;
	/* A slot that changed hands starts counting from here. */
	for (unsigned int i = 0; i < m->nb_nodes; i++) {
		const struct scpp_cluster_node *n = &m->nodes[i];

		if (cl.slot_node[n->slot] != n->rec.id) {
			uint64_t sum = 0;

			for (unsigned int w = 0; w < scppd_g.nb_workers; w++)
				sum += scpp_counter_read(&cl.not_here[(size_t)w *
								      SCPP_CLUSTER_MAX_NODES + n->slot]);
			cl.baseline[n->slot] = sum;
			cl.slot_node[n->slot] = n->rec.id;
		}
	}
	/* Peers' MACs before the map: a worker that finds a peer in the new
	 * map finds its MAC (or asks for it). */
	scppd_forward_map_published(m);
	/* Release: a worker that loads the pointer sees the map's contents. */
	__atomic_store_n(&cl.map, m, __ATOMIC_RELEASE);
	cl.version++;
	cl.applied_tsc = rte_get_tsc_cycles();
	pthread_mutex_unlock(&cl.lock);
	free(e);
	if (old != NULL) {
		if (scpp_cluster_map_diff(old, m, &df, log_change, NULL) == 0 &&
		    (df.routes_added | df.routes_removed) != 0)
			SCPPD_LOG(INFO, "cluster: map %" PRIu64 " (revision %" PRIu64 "): %u nodes, "
				  "%u routes (+%u -%u)", cl.version, m->revision, m->nb_nodes,
				  m->nb_routes, df.routes_added, df.routes_removed);
		/* The token is taken after the store: workers that report
		 * quiescence for it have finished with the old map. */
		cl.retired[cl.nb_retired].map = old;
		cl.retired[cl.nb_retired].token = rte_rcu_qsbr_start(scppd_g.qsbr);
		cl.nb_retired++;
	}
	return 0;
}

int
scppd_cluster_check(const struct scpp_config *cfg, const char *name)
{
	struct scpp_cluster_map *m = NULL;
	char err[SCPP_CLUSTER_MSG_SIZE];
	int rc = scpp_cluster_map_from_config(cfg, name, NULL, &m, err, sizeof(err));

	if (rc != 0)
		fprintf(stderr, "%s\n", err[0] ? err : strerror(-rc));
	scpp_cluster_map_free(m);
	return rc;
}

/* The static map (with etcd: this node alone), published. */
static void
load_static(struct scppd *d, const uint8_t *mac)
{
	struct scpp_cluster_map *m = NULL;
	char err[SCPP_CLUSTER_MSG_SIZE];
	int rc;

	rc = scpp_cluster_map_from_config(&d->cfg, cl.cfg_name, mac, &m, err, sizeof(err));
	if (rc != 0)
		rte_exit(EXIT_FAILURE, "scppd: cluster: %s\n", err[0] ? err : strerror(-rc));
	if (publish(m) != 0)
		rte_exit(EXIT_FAILURE, "scppd: cluster: the static map does not fit the route "
			 "table\n");
}

void
scppd_cluster_init(struct scppd *d, const char *cfg_name, const uint8_t *mac)
{
	cl.cfg_name = cfg_name;
	if (cl.not_here == NULL) {
		cl.not_here = calloc((size_t)d->nb_workers * SCPP_CLUSTER_MAX_NODES,
				     sizeof(*cl.not_here));
		cl.no_owner = calloc(d->nb_workers, sizeof(*cl.no_owner));
		if (cl.not_here == NULL || cl.no_owner == NULL)
			rte_exit(EXIT_FAILURE, "scppd: cluster: out of memory for counters\n");
		memset(cl.slot_node, 0, sizeof(cl.slot_node));
	}
	load_static(d, mac);
	SCPPD_LOG(INFO, "cluster: %s map, %u nodes, %u routes",
		  d->cfg.cluster.source == SCPP_CONFIG_CLUSTER_ETCD ? "start-up (this node; etcd "
		  "follows)" : "static", cl.map->nb_nodes, cl.map->nb_routes);
}

/* The agent's thread, a new map handed over: the control loop publishes it. */
static void
control_wake(void *ctx)
{
	(void)ctx;
	scppd_control_wake();
}

void
scppd_cluster_start(struct scppd *d)
{
	const struct scpp_config_cluster *cc = &d->cfg.cluster;
	const uint8_t *mac = d->ports[cc->port].mac.addr_bytes;
	struct scpp_cluster_agent_conf ac = {.etcd = &cc->etcd};
	struct scpp_cluster_agent_status st;
	char key[SCPP_CONFIG_ETCD_PREFIX_SIZE + 32];
	int rc;

	/* The port is up: this node's entry gets its MAC. */
	load_static(d, mac);
	if (cc->source != SCPP_CONFIG_CLUSTER_ETCD)
		return;
	scpp_cluster_self_record(&d->cfg, mac, &ac.self);
	/* Its windows, for peers to attach (docs/COPY.md "Peers' windows"). */
	ac.self.nb_windows = scppd_copy_windows(d, ac.self.windows, SCPP_CONFIG_NODE_WINDOWS);
	/* ... and its memory windows (docs/COPY.md "Memory windows on other nodes"). */
	ac.self.nb_memwins = scppd_copy_memwins(d, ac.self.memwins, SCPP_CONFIG_NODE_MEMWINS);
	scpp_cluster_etcd_key(cc->etcd.prefix, ac.self.id, key, sizeof(key));
	/* Started from the control thread: the agent inherits the main
	 * lcore's CPU, never a worker's. */
	ac.wake = control_wake;
	cl.agent = scpp_cluster_agent_start(&ac);
	if (cl.agent == NULL)
		rte_exit(EXIT_FAILURE, "scppd: cluster: etcd agent: %s\n", strerror(errno));
	SCPPD_LOG(INFO, "cluster: registering in etcd %s as %s (lease TTL %u s), waiting up to "
		  "%u ms for the map", cc->etcd.endpoints[0], key, cc->etcd.lease_ttl_s,
		  cc->etcd.start_wait_ms);
	rc = scpp_cluster_agent_wait_first(cl.agent, cc->etcd.start_wait_ms);
	scpp_cluster_agent_status(cl.agent, &st);
	if (rc == -EADDRINUSE)
		rte_exit(EXIT_FAILURE, "scppd: cluster: %s\n", st.conflict);
	if (rc != 0)
		SCPPD_LOG(WARNING, "cluster: etcd gave no map within %u ms (%s%s%s): starting with "
			  "this node alone; the map follows when etcd answers",
			  cc->etcd.start_wait_ms, scpp_cluster_etcd_state_name(st.state),
			  st.last_error[0] ? ": " : "", st.last_error);
	scppd_cluster_tick(d);
}

/* Log what the agent did since the last look: once per event. */
static void
log_agent(const struct scpp_cluster_agent_status *st)
{
	const struct scpp_cluster_agent_status *o = &cl.last;

	if (st->c.registrations > o->c.registrations)
		SCPPD_LOG(INFO, "cluster: registered in etcd under lease %" PRIx64 " (TTL %u s)%s",
			  st->lease, st->ttl_s, st->c.takeovers > o->c.takeovers ?
			  ", replacing this node's record under an earlier lease" : "");
	if (st->c.lease_lost > o->c.lease_lost)
		SCPPD_LOG(WARNING, "cluster: lost the etcd registration (%s); the other nodes see "
			  "this node as unreachable until it registers again", st->last_error);
	if (st->c.conflicts > o->c.conflicts)
		SCPPD_LOG(ERR, "cluster: %s", st->conflict);
	if (st->state != o->state && st->state == SCPP_CLUSTER_ETCD_UNREACHABLE)
		SCPPD_LOG(WARNING, "cluster: etcd unreachable (%s); the last map stays in force",
			  st->last_error);
	if (st->state != o->state && o->state == SCPP_CLUSTER_ETCD_UNREACHABLE)
		SCPPD_LOG(INFO, "cluster: etcd reachable again (%s)", st->endpoint);
	if (st->stale && !o->stale)
		SCPPD_LOG(WARNING, "cluster: no etcd read for a lease TTL: the map may be stale");
	/* A bad record is refused again at every read that rebuilds the map:
	 * say it once, while it stays. */
	for (unsigned int i = 0; i < st->rejected.nb_msgs; i++) {
		bool said = false;

		for (unsigned int k = 0; k < o->rejected.nb_msgs && !said; k++)
			said = strcmp(o->rejected.msgs[k], st->rejected.msgs[i]) == 0;
		if (!said)
			SCPPD_LOG(WARNING, "cluster: record refused: %s", st->rejected.msgs[i]);
	}
	cl.last = *st;
}

bool
scppd_cluster_tick(struct scppd *d)
{
	struct scpp_cluster_agent_status st;
	struct scpp_cluster_map *m;

	(void)d;
	if (cl.nb_retired > 0)
		reclaim(false);
	if (cl.agent != NULL) {
		m = scpp_cluster_agent_take(cl.agent);
		scpp_cluster_agent_status(cl.agent, &st);
		log_agent(&st);
		if (m != NULL)
			publish(m);
	}
	return cl.nb_retired > 0; /* maps some worker may still read */
}

void
scppd_cluster_leave(struct scppd *d)
{
	struct scpp_cluster_agent *a;

	(void)d;
	pthread_mutex_lock(&cl.lock);
	a = cl.agent;
	cl.agent = NULL;
	pthread_mutex_unlock(&cl.lock);
	if (a == NULL)
		return;
	/* Revoked: the other nodes see this one leave at their next read
	 * instead of a TTL later. */
	scpp_cluster_agent_stop(a, true);
	SCPPD_LOG(INFO, "cluster: left etcd (lease revoked)");
}

void
scppd_cluster_free(struct scppd *d)
{
	(void)d;
	/* Workers have stopped: nothing holds a map any more but the
	 * telemetry thread, which finds none once the lock is released. */
	pthread_mutex_lock(&cl.lock);
	for (unsigned int i = 0; i < cl.nb_retired; i++)
		scpp_cluster_map_free(cl.retired[i].map);
	cl.nb_retired = 0;
	scpp_cluster_map_free(cl.map);
	cl.map = NULL;
	free(cl.not_here);
	free(cl.no_owner);
	cl.not_here = NULL;
	cl.no_owner = NULL;
	pthread_mutex_unlock(&cl.lock);
}

/* ---- telemetry (telemetry thread) -------------------------------------------- */

static uint64_t
peer_not_here(uint16_t slot)
{
	uint64_t sum = 0;

	for (unsigned int w = 0; w < scppd_g.nb_workers; w++)
		sum += scpp_counter_read(&cl.not_here[(size_t)w * SCPP_CLUSTER_MAX_NODES + slot]);
	return sum - cl.baseline[slot];
}

static uint64_t
ms_since(uint64_t ns)
{
	return ns == 0 ? 0 : (scpp_cluster_now_ns() - ns) / 1000000;
}

static void
ipv4_text(char *buf, uint32_t a)
{
	snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

void
scppd_cluster_route_line(const struct scpp_route_entry *e, char *line, size_t size)
{
	const struct scpp_cluster_node *n = scpp_cluster_map_find(cl.map, e->node);
	char pfx[SCPP_OID_STR_MAX + 8], a[16] = "?";

	scpp_oid_prefix_format(pfx, sizeof(pfx), &e->prefix);
	if (n != NULL)
		ipv4_text(a, n->rec.ipv4);
	snprintf(line, size, "%s node %u peer %s:%u shard %u (%s)", pfx, (unsigned int)e->node, a,
		 n != NULL ? n->rec.base_port : 0, e->core,
		 n != NULL ? scpp_cluster_state_name(n->state) : "not in the map");
}

int
scppd_cluster_lock(void)
{
	pthread_mutex_lock(&cl.lock);
	/* No map: shutting down (the route table goes next). */
	if (cl.map == NULL) {
		pthread_mutex_unlock(&cl.lock);
		return -ENODEV;
	}
	return 0;
}

void
scppd_cluster_unlock(void)
{
	pthread_mutex_unlock(&cl.lock);
}

static void
node_brief(struct rte_tel_data *t, const struct scpp_cluster_node *n)
{
	char a[16], addr[32], sh[128];
	size_t o = 0;

	ipv4_text(a, n->rec.ipv4);
	snprintf(addr, sizeof(addr), "%s:%u", a, n->rec.base_port);
	sh[0] = '\0';
	for (unsigned int i = 0; i < n->rec.nb_shards && o + 8 < sizeof(sh); i++)
		o += (size_t)snprintf(sh + o, sizeof(sh) - o, "%s%u", i ? "," : "", n->rec.shards[i]);
	rte_tel_data_start_dict(t);
	rte_tel_data_add_dict_u64(t, "id", n->rec.id);
	rte_tel_data_add_dict_string(t, "name", n->rec.name);
	rte_tel_data_add_dict_string(t, "state", scpp_cluster_state_name(n->state));
	rte_tel_data_add_dict_string(t, "address", addr);
	rte_tel_data_add_dict_string(t, "shards", sh);
	rte_tel_data_add_dict_u64(t, "not_here", peer_not_here(n->slot));
	if (n->state != SCPP_CLUSTER_SELF)
		scppd_forward_peer_tel(t, n->slot);
	rte_tel_data_add_dict_u64(t, "since_s", ms_since(n->since_ns) / 1000);
}

static int
node_detail(struct rte_tel_data *d, const struct scpp_cluster_map *m,
	    const struct scpp_cluster_node *n)
{
	struct rte_tel_data *sh = rte_tel_data_alloc(), *px = rte_tel_data_alloc();
	char a[16], mac[18] = "", lease[24], line[RTE_TEL_MAX_STRING_LEN];

	if (sh == NULL || px == NULL) {
		rte_tel_data_free(sh);
		rte_tel_data_free(px);
		return -ENOMEM;
	}
	ipv4_text(a, n->rec.ipv4);
	if (n->rec.has_mac)
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->rec.mac[0],
			 n->rec.mac[1], n->rec.mac[2], n->rec.mac[3], n->rec.mac[4], n->rec.mac[5]);
	snprintf(lease, sizeof(lease), "%" PRIx64, n->lease);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "id", n->rec.id);
	rte_tel_data_add_dict_string(d, "name", n->rec.name);
	rte_tel_data_add_dict_string(d, "state", scpp_cluster_state_name(n->state));
	rte_tel_data_add_dict_string(d, "ipv4", a);
	rte_tel_data_add_dict_u64(d, "base_port", n->rec.base_port);
	rte_tel_data_add_dict_u64(d, "locale", n->rec.locale);
	rte_tel_data_add_dict_string(d, "mac", mac);
	rte_tel_data_start_array(sh, RTE_TEL_U64_VAL);
	for (unsigned int i = 0; i < n->rec.nb_shards; i++)
		rte_tel_data_add_array_u64(sh, n->rec.shards[i]);
	rte_tel_data_add_dict_container(d, "shards", sh, 0);
	rte_tel_data_start_array(px, RTE_TEL_STRING_VAL);
	for (unsigned int i = 0; i < m->nb_routes; i++) {
		char p[SCPP_OID_STR_MAX + 8];

		if (m->routes[i].node != n->rec.id)
			continue;
		scpp_oid_prefix_format(p, sizeof(p), &m->routes[i].prefix);
		snprintf(line, sizeof(line), "%s %u", p, m->routes[i].shard);
		rte_tel_data_add_array_string(px, line);
	}
	rte_tel_data_add_dict_container(d, "prefixes", px, 0);
	rte_tel_data_add_dict_u64(d, "slot", n->slot);
	rte_tel_data_add_dict_u64(d, "not_here", peer_not_here(n->slot));
	if (n->state != SCPP_CLUSTER_SELF)
		scppd_forward_peer_tel(d, n->slot);
	rte_tel_data_add_dict_string(d, "lease", lease);
	rte_tel_data_add_dict_u64(d, "create_revision", n->create_revision);
	rte_tel_data_add_dict_u64(d, "mod_revision", n->mod_revision);
	rte_tel_data_add_dict_u64(d, "since_s", ms_since(n->since_ns) / 1000);
	rte_tel_data_add_dict_string(d, "origin", n->origin);
	return 0;
}

static int
etcd_dict(struct rte_tel_data *e, const struct scpp_cluster_agent_status *st)
{
	char lease[24];

	snprintf(lease, sizeof(lease), "%" PRIx64, st->lease);
	rte_tel_data_start_dict(e);
	rte_tel_data_add_dict_string(e, "state", scpp_cluster_etcd_state_name(st->state));
	rte_tel_data_add_dict_u64(e, "registered", st->registered);
	rte_tel_data_add_dict_u64(e, "stale", st->stale);
	rte_tel_data_add_dict_string(e, "endpoint", st->endpoint);
	rte_tel_data_add_dict_string(e, "lease", lease);
	rte_tel_data_add_dict_u64(e, "ttl_s", st->ttl_s);
	rte_tel_data_add_dict_u64(e, "revision", st->revision);
	rte_tel_data_add_dict_u64(e, "last_read_ms_ago", ms_since(st->last_read_ns));
	rte_tel_data_add_dict_u64(e, "last_keepalive_ms_ago", ms_since(st->last_keepalive_ns));
	rte_tel_data_add_dict_string(e, "last_error", st->last_error);
	rte_tel_data_add_dict_string(e, "conflict", st->conflict);
	rte_tel_data_add_dict_u64(e, "requests", st->c.requests);
	rte_tel_data_add_dict_u64(e, "failures", st->c.failures);
	rte_tel_data_add_dict_u64(e, "timeouts", st->c.timeouts);
	rte_tel_data_add_dict_u64(e, "polls", st->c.polls);
	rte_tel_data_add_dict_u64(e, "polls_unchanged", st->c.polls_unchanged);
	rte_tel_data_add_dict_u64(e, "maps_built", st->c.maps_built);
	rte_tel_data_add_dict_u64(e, "keepalives", st->c.keepalives);
	rte_tel_data_add_dict_u64(e, "keepalive_failures", st->c.keepalive_failures);
	rte_tel_data_add_dict_u64(e, "registrations", st->c.registrations);
	rte_tel_data_add_dict_u64(e, "takeovers", st->c.takeovers);
	rte_tel_data_add_dict_u64(e, "lease_lost", st->c.lease_lost);
	rte_tel_data_add_dict_u64(e, "conflicts", st->c.conflicts);
	rte_tel_data_add_dict_u64(e, "bad_responses", st->c.bad_responses);
	rte_tel_data_add_dict_u64(e, "records_rejected", st->c.records_rejected);
	return 0;
}

/*
 * /scpp/cluster            the map's summary, the etcd agent, the first nodes
 * /scpp/cluster,ID         node ID in full (shards, prefixes, counters)
 * /scpp/cluster,rejected   the records refused at the last etcd read, whole
 */
static int
cmd_cluster(const char *cmd __rte_unused, const char *params, struct rte_tel_data *d)
{
	struct scpp_cluster_agent_status st;
	struct rte_tel_data *ids, *e;
	const struct scpp_cluster_map *m;
	unsigned int up = 0, gone = 0;
	uint64_t no_owner = 0;
	int rc = 0;

	memset(&st, 0, sizeof(st));
	if (scppd_cluster_lock() != 0)
		return -ENODEV;
	/* The agent is freed only after leave() cleared it under the lock. */
	if (cl.agent != NULL)
		scpp_cluster_agent_status(cl.agent, &st);
	if (params != NULL && strcmp(params, "rejected") == 0) {
		char text[RTE_TEL_MAX_SINGLE_STRING_LEN];
		size_t o = 0;

		pthread_mutex_unlock(&cl.lock);
		text[0] = '\0';
		for (unsigned int i = 0; i < st.rejected.nb_msgs && o < sizeof(text); i++)
			o += (size_t)snprintf(text + o, sizeof(text) - o, "%s\n", st.rejected.msgs[i]);
		rte_tel_data_string(d, text);
		return 0;
	}
	m = cl.map;
	if (params != NULL && *params != '\0') {
		char *end;
		unsigned long id = strtoul(params, &end, 10);
		const struct scpp_cluster_node *n = *end == '\0' ? scpp_cluster_map_find(m, (uint32_t)id)
								 : NULL;

		rc = n != NULL ? node_detail(d, m, n) : -EINVAL;
		pthread_mutex_unlock(&cl.lock);
		return rc;
	}
	ids = rte_tel_data_alloc();
	e = rte_tel_data_alloc();
	if (ids == NULL || e == NULL) {
		pthread_mutex_unlock(&cl.lock);
		rte_tel_data_free(ids);
		rte_tel_data_free(e);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < m->nb_nodes; i++) {
		up += m->nodes[i].state != SCPP_CLUSTER_UNREACHABLE;
		gone += m->nodes[i].state == SCPP_CLUSTER_UNREACHABLE;
	}
	for (unsigned int w = 0; w < scppd_g.nb_workers; w++)
		no_owner += scpp_counter_read(&cl.no_owner[w]);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "source", scpp_config_cluster_source_name(m->source));
	rte_tel_data_add_dict_u64(d, "self", m->self);
	rte_tel_data_add_dict_u64(d, "map_version", cl.version);
	rte_tel_data_add_dict_u64(d, "map_revision", m->revision);
	rte_tel_data_add_dict_u64(d, "map_age_ms", (rte_get_tsc_cycles() - cl.applied_tsc) * 1000 /
					       scppd_g.tsc_hz);
	rte_tel_data_add_dict_u64(d, "maps_refused", cl.apply_failed);
	rte_tel_data_add_dict_u64(d, "nodes", m->nb_nodes);
	rte_tel_data_add_dict_u64(d, "nodes_reachable", up);
	rte_tel_data_add_dict_u64(d, "nodes_unreachable", gone);
	rte_tel_data_add_dict_u64(d, "routes", m->nb_routes);
	rte_tel_data_add_dict_u64(d, "not_here_no_owner", no_owner);
	rte_tel_data_add_dict_u64(d, "forward_enabled", scppd_g.cfg.cluster.forward.enabled);
	rte_tel_data_add_dict_u64(d, "forward_max_hops", scppd_g.cfg.cluster.forward.max_hops);
	{
		uint64_t tot[SCPPD_FWD_TOTALS];

		scppd_forward_totals(tot);
		for (unsigned int i = 0; i < SCPPD_FWD_TOTALS; i++)
			rte_tel_data_add_dict_u64(d, scppd_forward_total_name(i), tot[i]);
	}
	rte_tel_data_start_array(ids, RTE_TEL_U64_VAL);
	for (unsigned int i = 0; i < m->nb_nodes; i++)
		rte_tel_data_add_array_u64(ids, m->nodes[i].rec.id);
	rte_tel_data_add_dict_container(d, "node_ids", ids, 0);
	if (st.ttl_s != 0) { /* an agent was there */
		etcd_dict(e, &st);
		rte_tel_data_add_dict_container(d, "etcd", e, 0);
	} else {
		rte_tel_data_free(e);
	}
	for (unsigned int i = 0; i < m->nb_nodes && i < TELEMETRY_NODES; i++) {
		struct rte_tel_data *t = rte_tel_data_alloc();
		char key[24];

		if (t == NULL)
			break;
		node_brief(t, &m->nodes[i]);
		snprintf(key, sizeof(key), "node%" PRIu32, m->nodes[i].rec.id);
		rte_tel_data_add_dict_container(d, key, t, 0);
	}
	pthread_mutex_unlock(&cl.lock);
	return rc;
}

int
scppd_cluster_telemetry_init(void)
{
	return rte_telemetry_register_cmd("/scpp/cluster", cmd_cluster,
					  "Cluster map, etcd agent, nodes. Parameters: none, a "
					  "node id, or \"rejected\"");
}
