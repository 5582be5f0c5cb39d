/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `scpp cluster`: the cluster map as a table or JSON (docs/CLUSTER.md).
 *
 * Three sources, one printer (scpp_cluster_map_print()):
 * - a running node, through its telemetry socket (the default): the map
 *   that node has in force, with the states it sees (self, up,
 *   unreachable) and the etcd agent's state;
 * - etcd itself (--etcd URL): the registry as any node would read it, with
 *   the same rules applied, from anywhere that reaches etcd;
 * - a configuration file (--config FILE): the static map, offline.
 *
 * Why not a block: the map lives on the control thread, and a block runs
 * on a worker against its store shard. Publishing the map as entities would
 * need a control-to-worker write path into every shard, which the worker
 * loop rewrite (issue 12) is the place for; docs/CLUSTER.md records this.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "scpp_cluster.h"
#include "scpp_common.h"
#include "scpp_config.h"
#include "cli.h"

static void
cluster_usage(FILE *out)
{
	fputs(
"usage: scpp cluster [--json] [--telemetry PREFIX|SOCKET]\n"
"       scpp cluster [--json] --etcd URL [--prefix PREFIX] [--timeout MS]\n"
"       scpp cluster [--json] --config FILE\n"
"Show the cluster map: every node (id, name, state, address, locale, shards,\n"
"MAC, prefixes).\n"
"  --telemetry P   ask the running scppd whose EAL file prefix is P (default\n"
"                  \"scppd\"), or whose telemetry socket is the path P\n"
"  --etcd URL      read the registry from etcd (http://host:port)\n"
"  --prefix P      its key prefix (default /scpp/default/)\n"
"  --timeout MS    bound of each request (default 2000)\n"
"  --config FILE   the static map of a configuration file (offline)\n"
"  -j, --json      one JSON document instead of the table\n"
"Exit status: 0 shown; 2 usage; 3 no answer (no such node, etcd down); 4 other.\n",
	      out);
}

/* ---- the telemetry source ------------------------------------------------- */

static cJSON *
tel_ask(int fd, const char *cmd, char *buf, size_t size)
{
	ssize_t n;
	cJSON *j, *v;

	if (send(fd, cmd, strlen(cmd), 0) < 0)
		return NULL;
	n = recv(fd, buf, size - 1, 0);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	j = cJSON_Parse(buf);
	if (j == NULL)
		return NULL;
	/* The answer is {"<cmd without params>": value}. */
	v = cJSON_DetachItemViaPointer(j, j->child != NULL ? j->child : j);
	cJSON_Delete(j);
	return v;
}

static int
parse_ipv4(const char *s, uint32_t *out)
{
	unsigned int a, b, c, d;
	char tail;

	if (sscanf(s, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) != 4 || a > 255 || b > 255 ||
	    c > 255 || d > 255)
		return -EINVAL;
	*out = a << 24 | b << 16 | c << 8 | d;
	return 0;
}

static enum scpp_cluster_state
state_of(const char *s)
{
	for (int i = 0; i < SCPP_CLUSTER_STATE_COUNT; i++)
		if (strcmp(s, scpp_cluster_state_name((enum scpp_cluster_state)i)) == 0)
			return (enum scpp_cluster_state)i;
	return SCPP_CLUSTER_UNREACHABLE;
}

static const char *
jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static double
jnum(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* One node of /scpp/cluster,ID into @p n, its prefixes appended to @p m. */
static int
tel_node(const cJSON *d, struct scpp_cluster_node *n, struct scpp_cluster_map *m)
{
	const cJSON *e;
	unsigned int mac[6];

	memset(n, 0, sizeof(*n));
	n->rec.id = (uint32_t)jnum(d, "id");
	snprintf(n->rec.name, sizeof(n->rec.name), "%s", jstr(d, "name"));
	if (parse_ipv4(jstr(d, "ipv4"), &n->rec.ipv4) != 0)
		return -EBADMSG;
	n->rec.base_port = (uint16_t)jnum(d, "base_port");
	n->rec.locale = (uint16_t)jnum(d, "locale");
	if (sscanf(jstr(d, "mac"), "%x:%x:%x:%x:%x:%x", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4],
		   &mac[5]) == 6) {
		n->rec.has_mac = true;
		for (int i = 0; i < 6; i++)
			n->rec.mac[i] = (uint8_t)mac[i];
	}
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(d, "shards"))
		if (n->rec.nb_shards < SCPP_CONFIG_NODE_SHARDS)
			n->rec.shards[n->rec.nb_shards++] = (uint16_t)e->valuedouble;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(d, "prefixes")) {
		struct scpp_cluster_route *r = &m->routes[m->nb_routes];
		char p[SCPP_OID_STR_MAX + 8];
		unsigned int shard;

		if (!cJSON_IsString(e) || m->nb_routes == SCPP_CLUSTER_MAX_ROUTES ||
		    sscanf(e->valuestring, "%48s %u", p, &shard) != 2 ||
		    scpp_oid_prefix_parse(p, strlen(p), &r->prefix) != 0)
			return -EBADMSG;
		r->node = n->rec.id;
		r->shard = (uint16_t)shard;
		m->nb_routes++;
	}
	n->state = state_of(jstr(d, "state"));
	n->slot = (uint16_t)jnum(d, "slot");
	n->lease = strtoull(jstr(d, "lease"), NULL, 16);
	n->mod_revision = (uint64_t)jnum(d, "mod_revision");
	n->create_revision = (uint64_t)jnum(d, "create_revision");
	snprintf(n->origin, sizeof(n->origin), "%s", jstr(d, "origin"));
	return 0;
}

static int
route_cmp(const void *a, const void *b)
{
	const struct scpp_cluster_route *x = a, *y = b;
	int c = scpp_oid_cmp(x->prefix.oid, y->prefix.oid);

	return c != 0 ? c : x->prefix.len < y->prefix.len ? -1 : x->prefix.len > y->prefix.len;
}

static int
from_telemetry(const char *where, struct scpp_cluster_map **out, char *header, size_t hsize)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct scpp_cluster_map *m = NULL;
	char *buf = malloc(1 << 20);
	cJSON *sum = NULL, *ids, *e, *et;
	int fd, rc = SCPP_EXIT_FAIL;

	if (strchr(where, '/') != NULL)
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", where);
	else
		snprintf(sa.sun_path, sizeof(sa.sun_path), "/var/run/dpdk/%s/dpdk_telemetry.v2",
			 where);
	fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	if (buf == NULL || fd < 0) {
		free(buf);
		return SCPP_EXIT_FAIL;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "scpp: cluster: no scppd answers on %s: %s (is it running, with "
			"telemetry on? --telemetry names its EAL file prefix)\n", sa.sun_path,
			strerror(errno));
		rc = SCPP_EXIT_NOREPLY;
		goto out;
	}
	if (recv(fd, buf, (1 << 20) - 1, 0) <= 0) /* the greeting */
		goto bad;
	sum = tel_ask(fd, "/scpp/cluster", buf, 1 << 20);
	ids = cJSON_GetObjectItemCaseSensitive(sum, "node_ids");
	if (!cJSON_IsArray(ids)) {
		fprintf(stderr, "scpp: cluster: %s has no /scpp/cluster (an scppd without the "
			"cluster map?)\n", sa.sun_path);
		goto out;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		goto out;
	m->nodes = calloc((size_t)cJSON_GetArraySize(ids) + 1, sizeof(*m->nodes));
	m->routes = calloc(SCPP_CLUSTER_MAX_ROUTES, sizeof(*m->routes));
	if (m->nodes == NULL || m->routes == NULL)
		goto out;
	m->source = strcmp(jstr(sum, "source"), "etcd") == 0 ? SCPP_CONFIG_CLUSTER_ETCD :
							       SCPP_CONFIG_CLUSTER_STATIC;
	m->self = (uint32_t)jnum(sum, "self");
	m->revision = (uint64_t)jnum(sum, "map_revision");
	cJSON_ArrayForEach(e, ids) {
		char cmd[48];
		cJSON *d;

		snprintf(cmd, sizeof(cmd), "/scpp/cluster,%.0f", e->valuedouble);
		d = tel_ask(fd, cmd, buf, 1 << 20);
		if (d == NULL || tel_node(d, &m->nodes[m->nb_nodes], m) != 0) {
			cJSON_Delete(d);
			goto bad;
		}
		m->nb_nodes++;
		cJSON_Delete(d);
	}
	qsort(m->routes, m->nb_routes, sizeof(*m->routes), route_cmp);
	et = cJSON_GetObjectItemCaseSensitive(sum, "etcd");
	if (et != NULL)
		snprintf(header, hsize, "cluster map of node %" PRIu32 " (%s): source etcd, %s%s, "
			 "revision %.0f, map version %.0f", m->self, where, jstr(et, "state"),
			 jnum(et, "stale") != 0 ? " (stale)" : "", jnum(sum, "map_revision"),
			 jnum(sum, "map_version"));
	else
		snprintf(header, hsize, "cluster map of node %" PRIu32 " (%s): source static",
			 m->self, where);
	*out = m;
	m = NULL;
	rc = SCPP_EXIT_OK;
	goto out;
bad:
	fprintf(stderr, "scpp: cluster: malformed telemetry answer from %s\n", sa.sun_path);
out:
	scpp_cluster_map_free(m);
	cJSON_Delete(sum);
	close(fd);
	free(buf);
	return rc;
}

/* ---- main ---------------------------------------------------------------------- */

int
scpp_cli_cluster(int argc, char **argv)
{
	enum { O_TEL = 256, O_ETCD, O_PREFIX, O_TIMEOUT, O_CONFIG };
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"telemetry", required_argument, NULL, O_TEL},
		{"etcd", required_argument, NULL, O_ETCD},
		{"prefix", required_argument, NULL, O_PREFIX},
		{"timeout", required_argument, NULL, O_TIMEOUT},
		{"config", required_argument, NULL, O_CONFIG},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *tel = "scppd", *etcd = NULL, *prefix = "/scpp/default/", *config = NULL;
	struct scpp_cluster_map *m = NULL;
	char header[512] = "", err[SCPP_CLUSTER_MSG_SIZE];
	unsigned long timeout = 2000;
	bool json = false;
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		char *end;

		switch (opt) {
		case 'j': json = true; break;
		case O_TEL: tel = optarg; break;
		case O_ETCD: etcd = optarg; break;
		case O_PREFIX: prefix = optarg; break;
		case O_CONFIG: config = optarg; break;
		case O_TIMEOUT:
			timeout = strtoul(optarg, &end, 10);
			if (*end != '\0' || timeout == 0 || timeout > 600000) {
				fprintf(stderr, "scpp: cluster: --timeout wants 1..600000 ms, got '%s'\n",
					optarg);
				return SCPP_EXIT_USAGE;
			}
			break;
		case 'h':
			cluster_usage(stdout);
			return SCPP_EXIT_OK;
		default:
			cluster_usage(stderr);
			return SCPP_EXIT_USAGE;
		}
	}
	if (optind != argc || (etcd != NULL && config != NULL)) {
		cluster_usage(stderr);
		return SCPP_EXIT_USAGE;
	}
	if (config != NULL) {
		struct scpp_config cfg;
		struct scpp_config_error ce;

		rc = scpp_config_load_file(config, &cfg, &ce);
		if (rc != 0) {
			fprintf(stderr, "scpp: cluster: %s\n", ce.msg);
			return SCPP_EXIT_FAIL;
		}
		rc = scpp_cluster_map_from_config(&cfg, config, NULL, &m, err, sizeof(err));
		scpp_config_free(&cfg);
		if (rc != 0) {
			fprintf(stderr, "scpp: cluster: %s\n", err);
			return SCPP_EXIT_FAIL;
		}
		snprintf(header, sizeof(header), "cluster map of %s: source %s (static nodes)",
			 config, scpp_config_cluster_source_name(m->source));
	} else if (etcd != NULL) {
		struct scpp_cluster_range *r = malloc(sizeof(*r));
		struct scpp_cluster_report rep;

		if (r == NULL)
			return SCPP_EXIT_FAIL;
		rc = scpp_cluster_etcd_read(etcd, prefix, (uint32_t)timeout, r, err, sizeof(err));
		if (rc != 0) {
			fprintf(stderr, "scpp: cluster: %s\n", err);
			free(r);
			return rc == -ECONNREFUSED || rc == -ETIMEDOUT || rc == -EHOSTUNREACH ?
			       SCPP_EXIT_NOREPLY : SCPP_EXIT_FAIL;
		}
		rc = scpp_cluster_map_build(NULL, NULL, r->recs, r->nb, r->revision,
					    scpp_cluster_now_ns(), &m, &rep);
		/* Records the codec or the rules refused: said, not shown. */
		for (unsigned int i = 0; i < r->rep.nb_msgs; i++)
			fprintf(stderr, "scpp: cluster: record refused: %s\n", r->rep.msgs[i]);
		for (unsigned int i = 0; rc == 0 && i < rep.nb_msgs; i++)
			fprintf(stderr, "scpp: cluster: record refused: %s\n", rep.msgs[i]);
		snprintf(header, sizeof(header), "cluster map in etcd %s under %s: revision %" PRIu64,
			 etcd, prefix, r->revision);
		free(r);
		if (rc != 0)
			return SCPP_EXIT_FAIL;
	} else {
		rc = from_telemetry(tel, &m, header, sizeof(header));
		if (rc != SCPP_EXIT_OK)
			return rc;
	}
	rc = scpp_cluster_map_print(stdout, m, json, json ? NULL : header);
	scpp_cluster_map_free(m);
	return rc == 0 ? SCPP_EXIT_OK : SCPP_EXIT_FAIL;
}
