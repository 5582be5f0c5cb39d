/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The cluster map: building it from the configuration or from etcd records,
 * the rules a map obeys, and comparing two maps.
 *
 * Building takes candidates in precedence order (this node, then the
 * records oldest first, then the unreachable nodes of the previous map) and
 * accepts each one that breaks no rule against those accepted before it:
 * distinct ids, names and (address, port), and prefixes that overlap no
 * other node's. A record that breaks one is refused alone, so one bad or
 * conflicting registration never freezes the map of the whole cluster, and
 * the older claim wins, so a newcomer can never evict a member. An
 * unreachable node that collides with a live one is superseded without a
 * message: its claim ended when its lease did.
 *
 * The overlap test keeps the accepted routes sorted by (prefix bits,
 * length). A prefix p overlaps an accepted q if q lies inside p (some q's
 * bits fall in p's range, found by one binary search) or q contains p (q is
 * p cut to one of the lengths present, one search per length; maps have
 * few: /64 shards, /48 nodes). Building a full map of 256 nodes and 20 000
 * routes is O(routes x (lengths + log routes)) plus the merges.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scpp_common.h"
#include "scpp_config.h"
#include "scpp_oid.h"
#include "scpp_cluster.h"
#include "cluster_priv.h"

uint64_t
scpp_cluster_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
cluster_report_add(struct scpp_cluster_report *rep, const char *fmt, ...)
{
	va_list ap;

	if (rep == NULL)
		return;
	if (rep->nb_msgs < SCPP_CLUSTER_REPORT_MSGS) {
		va_start(ap, fmt);
		vsnprintf(rep->msgs[rep->nb_msgs++], SCPP_CLUSTER_MSG_SIZE, fmt, ap);
		va_end(ap);
	}
	rep->rejected++;
}

void
cluster_ipv4_format(char *buf, uint32_t a)
{
	snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

unsigned int
cluster_node_routes(const struct scpp_config_cluster_node *n, struct scpp_cluster_route *out,
		    char what[][32])
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < n->nb_shards; i++, k++) {
		out[k].prefix = scpp_oid_shard_prefix(n->locale, n->id, n->shards[i]);
		out[k].node = n->id;
		out[k].shard = n->shards[i];
		if (what != NULL)
			snprintf(what[k], sizeof(what[k]), ".shards[%u]", i);
	}
	for (unsigned int i = 0; i < n->nb_routes; i++, k++) {
		out[k].prefix = n->routes[i].prefix;
		out[k].node = n->id;
		out[k].shard = n->routes[i].shard;
		if (what != NULL)
			snprintf(what[k], sizeof(what[k]), ".routes[%u].prefix", i);
	}
	return k;
}

static int
route_cmp(const struct scpp_cluster_route *a, const struct scpp_cluster_route *b)
{
	int c = scpp_oid_cmp(a->prefix.oid, b->prefix.oid);

	if (c != 0)
		return c;
	return a->prefix.len < b->prefix.len ? -1 : a->prefix.len > b->prefix.len;
}

static int
route_qcmp(const void *a, const void *b)
{
	return route_cmp(a, b);
}

/* ---- building ------------------------------------------------------------ */

/* A candidate: a node plus how messages name its record and fields. */
struct cand {
	struct scpp_cluster_node n;
	const char *origin; /* "scppd.json", "etcd /p/v1/node/3", "this node" */
	char path[48];      /* JSON path of the record: "$.cluster.nodes[2]", "$" */
	bool tomb;          /* an unreachable node carried over from the previous map */
	bool legacy;        /* made of $.routes entries: route k is $.routes[legacy_idx[k]] */
	uint16_t legacy_idx[SCPP_CONFIG_NODE_ROUTES];
};

struct builder {
	struct scpp_cluster_node *acc;  /* accepted, in acceptance order */
	const struct cand **acc_cand;   /* ... and the candidate each came from */
	unsigned int nb_acc;
	struct scpp_cluster_route *routes; /* accepted routes, sorted */
	uint32_t *route_owner;          /* index into acc of each route's node */
	unsigned int nb_routes;
	bool lens[129];                 /* prefix lengths present among routes */
	struct scpp_cluster_report *rep;
};

/* First accepted route whose bits are >= @p o (by bits, then length). */
static unsigned int
lower_bound(const struct builder *b, struct scpp_oid o)
{
	unsigned int lo = 0, hi = b->nb_routes;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (scpp_oid_cmp(b->routes[mid].prefix.oid, o) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The last OID under prefix @p p. */
static struct scpp_oid
prefix_last(const struct scpp_oid_prefix *p)
{
	struct scpp_oid o = p->oid;

	if (p->len == 0)
		return (struct scpp_oid){UINT64_MAX, UINT64_MAX};
	if (p->len < 64) {
		o.hi |= UINT64_MAX >> p->len;
		o.lo = UINT64_MAX;
	} else if (p->len == 64) {
		o.lo = UINT64_MAX;
	} else if (p->len < 128) {
		o.lo |= UINT64_MAX >> (p->len - 64);
	}
	return o;
}

/* Index of an accepted route overlapping @p p, or -1. */
static int
find_overlap(const struct builder *b, const struct scpp_oid_prefix *p)
{
	unsigned int i = lower_bound(b, p->oid);
	struct scpp_oid last = prefix_last(p);

	/* Something inside p (or p itself, or one starting at p's first
	 * OID and containing it). */
	if (i < b->nb_routes && scpp_oid_cmp(b->routes[i].prefix.oid, last) <= 0)
		return (int)i;
	/* Something containing p: p cut to a shorter length present. */
	for (unsigned int len = 0; len < p->len; len++) {
		struct scpp_oid_prefix a;
		unsigned int j;

		if (!b->lens[len])
			continue;
		scpp_oid_prefix_make(&a, p->oid, len);
		for (j = lower_bound(b, a.oid);
		     j < b->nb_routes && scpp_oid_eq(b->routes[j].prefix.oid, a.oid); j++)
			if (b->routes[j].prefix.len == len)
				return (int)j;
	}
	return -1;
}

/* Merge a node's sorted routes into the accepted set. */
static void
merge_routes(struct builder *b, const struct scpp_cluster_route *r, unsigned int n,
	     uint32_t owner)
{
	unsigned int i = b->nb_routes, j = n, k = b->nb_routes + n;

	/* From the back, so that the merge needs no scratch space. */
	while (j > 0) {
		if (i > 0 && route_cmp(&b->routes[i - 1], &r[j - 1]) > 0) {
			b->routes[k - 1] = b->routes[i - 1];
			b->route_owner[k - 1] = b->route_owner[i - 1];
			i--;
		} else {
			b->routes[k - 1] = r[j - 1];
			b->route_owner[k - 1] = owner;
			j--;
		}
		k--;
	}
	b->nb_routes += n;
	for (j = 0; j < n; j++)
		b->lens[r[j].prefix.len] = true;
}

static void
describe_node(char *buf, size_t size, const struct cand *c)
{
	snprintf(buf, size, "node %" PRIu32 " \"%s\" (%s: %s)", c->n.rec.id, c->n.rec.name,
		 c->origin, c->path);
}

/*
 * Accept @p c if it breaks no rule against the nodes accepted so far;
 * otherwise refuse it (a message, unless it is a superseded tombstone).
 */
static bool
consider(struct builder *b, const struct cand *c)
{
	struct scpp_cluster_route r[SCPP_CLUSTER_NODE_MAX_ROUTES];
	char what[SCPP_CLUSTER_NODE_MAX_ROUTES][32];
	const struct scpp_config_cluster_node *n = &c->n.rec;
	char other[SCPP_CLUSTER_ORIGIN_SIZE + 96], a[16];
	unsigned int nr;

	for (unsigned int i = 0; i < b->nb_acc; i++) {
		const struct scpp_config_cluster_node *o = &b->acc[i].rec;

		if (o->id != n->id && strcmp(o->name, n->name) != 0 &&
		    (o->ipv4 != n->ipv4 || o->base_port != n->base_port))
			continue;
		describe_node(other, sizeof(other), b->acc_cand[i]);
		if (o->id == n->id) {
			if (!c->tomb)
				cluster_report_add(b->rep, "%s: %s.id: expected a node id no other "
						   "node has, found %" PRIu32 " (also %s)", c->origin,
						   c->path, n->id, other);
			return false;
		}
		if (strcmp(o->name, n->name) == 0) {
			if (!c->tomb)
				cluster_report_add(b->rep, "%s: %s.name: expected a name no other "
						   "node has, found \"%s\" (also %s)", c->origin,
						   c->path, n->name, other);
			return false;
		}
		if (o->ipv4 == n->ipv4 && o->base_port == n->base_port) {
			cluster_ipv4_format(a, n->ipv4);
			if (!c->tomb)
				cluster_report_add(b->rep, "%s: %s.ipv4: expected an address and base "
						   "port no other node has, found %s:%u (also %s)",
						   c->origin, c->path, a, n->base_port, other);
			return false;
		}
	}
	if (b->nb_acc == SCPP_CLUSTER_MAX_NODES) {
		if (!c->tomb)
			cluster_report_add(b->rep, "%s: %s: refused: the map already holds %u "
					   "nodes, its limit", c->origin, c->path,
					   SCPP_CLUSTER_MAX_NODES);
		return false;
	}
	nr = cluster_node_routes(n, r, what);
	for (unsigned int i = 0; c->legacy && i < n->nb_routes; i++)
		snprintf(what[n->nb_shards + i], sizeof(what[0]), "$.routes[%u].prefix",
			 c->legacy_idx[i]);
	for (unsigned int i = 0; i < nr; i++) {
		int k = find_overlap(b, &r[i].prefix);
		char p1[SCPP_OID_STR_MAX + 8], p2[SCPP_OID_STR_MAX + 8];

		if (k < 0)
			continue;
		if (!c->tomb) {
			scpp_oid_prefix_format(p1, sizeof(p1), &r[i].prefix);
			scpp_oid_prefix_format(p2, sizeof(p2), &b->routes[k].prefix);
			describe_node(other, sizeof(other), b->acc_cand[b->route_owner[k]]);
			cluster_report_add(b->rep, "%s: %s%s: expected a prefix no other node owns, "
					   "found \"%s\", which overlaps \"%s\" of %s", c->origin,
					   c->legacy ? "" : c->path, what[i], p1, p2, other);
		}
		return false;
	}
	qsort(r, nr, sizeof(r[0]), route_qcmp);
	merge_routes(b, r, nr, b->nb_acc);
	b->acc[b->nb_acc] = c->n;
	b->acc_cand[b->nb_acc] = c;
	b->nb_acc++;
	return true;
}

static int
node_id_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct scpp_cluster_node *)a)->rec.id;
	uint32_t y = ((const struct scpp_cluster_node *)b)->rec.id;

	return x < y ? -1 : x > y;
}

/* Give every node a slot: its slot in @p prev if it was there, else the
 * lowest one free. */
static void
assign_slots(struct scpp_cluster_node *nodes, unsigned int n, const struct scpp_cluster_map *prev)
{
	bool used[SCPP_CLUSTER_MAX_NODES] = {false};
	bool have[SCPP_CLUSTER_MAX_NODES] = {false};
	unsigned int next = 0;

	for (unsigned int i = 0; i < n && prev != NULL; i++) {
		const struct scpp_cluster_node *o = scpp_cluster_map_find(prev, nodes[i].rec.id);

		if (o != NULL && o->slot < SCPP_CLUSTER_MAX_NODES && !used[o->slot]) {
			nodes[i].slot = o->slot;
			used[o->slot] = true;
			have[i] = true;
		}
	}
	for (unsigned int i = 0; i < n; i++) {
		if (have[i])
			continue;
		while (used[next])
			next++;
		nodes[i].slot = (uint16_t)next;
		used[next] = true;
	}
}

static void
builder_free(struct builder *b)
{
	free(b->acc);
	free(b->acc_cand);
	free(b->routes);
	free(b->route_owner);
}

static int
builder_init(struct builder *b, struct scpp_cluster_report *rep)
{
	memset(b, 0, sizeof(*b));
	b->rep = rep;
	b->acc = calloc(SCPP_CLUSTER_MAX_NODES, sizeof(*b->acc));
	b->acc_cand = calloc(SCPP_CLUSTER_MAX_NODES, sizeof(*b->acc_cand));
	b->routes = calloc(SCPP_CLUSTER_MAX_ROUTES, sizeof(*b->routes));
	b->route_owner = calloc(SCPP_CLUSTER_MAX_ROUTES, sizeof(*b->route_owner));
	if (b->acc == NULL || b->acc_cand == NULL || b->routes == NULL || b->route_owner == NULL) {
		builder_free(b);
		return -ENOMEM;
	}
	return 0;
}

/* The map of what @p b accepted (its arrays move into the map). */
static int
builder_finish(struct builder *b, enum scpp_config_cluster_source src, uint32_t self,
	       uint64_t revision, uint64_t now_ns, const struct scpp_cluster_map *prev,
	       struct scpp_cluster_map **out)
{
	struct scpp_cluster_map *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return -ENOMEM;
	m->nodes = malloc((b->nb_acc ? b->nb_acc : 1) * sizeof(*m->nodes));
	m->routes = malloc((b->nb_routes ? b->nb_routes : 1) * sizeof(*m->routes));
	if (m->nodes == NULL || m->routes == NULL) {
		scpp_cluster_map_free(m);
		return -ENOMEM;
	}
	memcpy(m->nodes, b->acc, b->nb_acc * sizeof(*m->nodes));
	memcpy(m->routes, b->routes, b->nb_routes * sizeof(*m->routes));
	m->nb_nodes = b->nb_acc;
	m->nb_routes = b->nb_routes;
	qsort(m->nodes, m->nb_nodes, sizeof(*m->nodes), node_id_cmp);
	assign_slots(m->nodes, m->nb_nodes, prev);
	m->source = src;
	m->self = self;
	m->revision = revision;
	m->built_ns = now_ns;
	*out = m;
	return 0;
}

void
scpp_cluster_self_record(const struct scpp_config *cfg, const uint8_t *mac,
			 struct scpp_config_cluster_node *out)
{
	const struct scpp_config_cluster *cl = &cfg->cluster;

	memset(out, 0, sizeof(*out));
	for (unsigned int i = 0; i < cl->nb_nodes; i++) {
		if (cl->nodes[i].id == cfg->node.id) {
			*out = cl->nodes[i];
			break;
		}
	}
	if (out->id == 0) {
		out->id = cfg->node.id;
		snprintf(out->name, sizeof(out->name), "%s", cfg->node.name);
		out->locale = cfg->node.locale;
		out->ipv4 = cfg->ports[cl->port < cfg->nb_ports ? cl->port : 0].ipv4;
		out->base_port = cfg->udp.base_port;
		out->nb_shards = cfg->nb_workers;
		for (unsigned int i = 0; i < cfg->nb_workers; i++)
			out->shards[i] = cfg->workers[i].shard;
	}
	if (mac != NULL) {
		memcpy(out->mac, mac, 6);
		out->has_mac = true;
	}
}

/* Fold the legacy $.routes into candidates: one node per node id. */
static int
legacy_cands(const struct scpp_config *cfg, const char *name, struct cand *cands,
	     unsigned int *nc, char *err, size_t errsize)
{
	for (unsigned int i = 0; i < cfg->nb_routes; i++) {
		const struct scpp_config_route *r = &cfg->routes[i];
		struct cand *c = NULL;
		char a[16], b[16];

		for (unsigned int k = 1; k < *nc; k++)
			if (cands[k].n.rec.id == r->node)
				c = &cands[k];
		if (c == NULL) {
			c = &cands[(*nc)++];
			memset(c, 0, sizeof(*c));
			c->n.rec.id = r->node;
			snprintf(c->n.rec.name, sizeof(c->n.rec.name), "node-%" PRIu32, r->node);
			c->n.rec.locale = scpp_oid_locale(r->prefix.oid);
			c->n.rec.ipv4 = r->peer_ipv4;
			c->n.rec.base_port = r->peer_port;
			c->n.state = SCPP_CLUSTER_STATIC;
			c->legacy = true;
			c->origin = name;
			snprintf(c->path, sizeof(c->path), "$.routes[%u]", i);
		} else if (c->n.rec.ipv4 != r->peer_ipv4 || c->n.rec.base_port != r->peer_port) {
			cluster_ipv4_format(a, c->n.rec.ipv4);
			cluster_ipv4_format(b, r->peer_ipv4);
			snprintf(err, errsize, "%s: $.routes[%u].peer: expected %s:%u, the peer of "
				 "node %" PRIu32 " in %s, found %s:%u", name, i, a, c->n.rec.base_port,
				 r->node, c->path, b, r->peer_port);
			return -EINVAL;
		}
		if (c->n.rec.nb_routes == SCPP_CONFIG_NODE_ROUTES) {
			snprintf(err, errsize, "%s: $.routes[%u]: expected at most %u routes to node "
				 "%" PRIu32 ", found more", name, i, SCPP_CONFIG_NODE_ROUTES, r->node);
			return -EINVAL;
		}
		c->legacy_idx[c->n.rec.nb_routes] = (uint16_t)i;
		c->n.rec.routes[c->n.rec.nb_routes].prefix = r->prefix;
		c->n.rec.routes[c->n.rec.nb_routes].shard = 0;
		c->n.rec.nb_routes++;
	}
	return 0;
}

int
scpp_cluster_map_from_config(const struct scpp_config *cfg, const char *name, const uint8_t *mac,
			     struct scpp_cluster_map **out, char *err, size_t errsize)
{
	const struct scpp_config_cluster *cl;
	struct scpp_cluster_report rep;
	struct builder b;
	struct cand *cands;
	char dummy[8];
	unsigned int nc = 1;
	bool own_entry = false;
	uint64_t now = scpp_cluster_now_ns();
	int rc;

	if (err == NULL) {
		err = dummy;
		errsize = sizeof(dummy);
	}
	err[0] = '\0';
	if (cfg == NULL || out == NULL)
		return -EINVAL;
	name = name != NULL ? name : "<config>";
	cl = &cfg->cluster;
	cands = calloc(SCPP_CLUSTER_MAX_NODES + 1, sizeof(*cands));
	if (cands == NULL)
		return -ENOMEM;
	/* This node first: its own entry wins any conflict locally. */
	scpp_cluster_self_record(cfg, mac, &cands[0].n.rec);
	cands[0].n.state = SCPP_CLUSTER_SELF;
	cands[0].origin = name;
	snprintf(cands[0].path, sizeof(cands[0].path), "$.node");
	for (unsigned int i = 0; i < cl->nb_nodes; i++) {
		if (cl->nodes[i].id == cfg->node.id && !own_entry) {
			/* This node's entry: the record of cands[0] already. */
			snprintf(cands[0].path, sizeof(cands[0].path), "$.cluster.nodes[%u]", i);
			own_entry = true;
			continue;
		}
		cands[nc].n.rec = cl->nodes[i];
		cands[nc].n.state = SCPP_CLUSTER_STATIC;
		cands[nc].origin = name;
		snprintf(cands[nc].path, sizeof(cands[nc].path), "$.cluster.nodes[%u]", i);
		nc++;
	}
	rc = legacy_cands(cfg, name, cands, &nc, err, errsize);
	if (rc != 0)
		goto out;
	memset(&rep, 0, sizeof(rep));
	rc = builder_init(&b, &rep);
	if (rc != 0)
		goto out;
	for (unsigned int i = 0; i < nc; i++) {
		snprintf(cands[i].n.origin, sizeof(cands[i].n.origin), "%s: %s", cands[i].origin,
			 cands[i].path);
		cands[i].n.since_ns = now;
		if (!consider(&b, &cands[i]))
			break; /* static: the first broken rule fails it all */
	}
	if (rep.rejected > 0) {
		snprintf(err, errsize, "%s", rep.msgs[0]);
		rc = -EINVAL;
	} else {
		rc = builder_finish(&b, cl->source, cfg->node.id, 0, now, NULL, out);
	}
	builder_free(&b);
out:
	free(cands);
	return rc;
}

static int
cand_age_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->n.create_revision != y->n.create_revision)
		return x->n.create_revision < y->n.create_revision ? -1 : 1;
	return x->n.rec.id < y->n.rec.id ? -1 : x->n.rec.id > y->n.rec.id;
}

int
scpp_cluster_map_build(const struct scpp_cluster_map *prev,
		       const struct scpp_config_cluster_node *self,
		       const struct scpp_cluster_record *recs, unsigned int n, uint64_t revision,
		       uint64_t now_ns, struct scpp_cluster_map **out,
		       struct scpp_cluster_report *rep)
{
	const struct scpp_cluster_node *pn;
	struct builder b;
	struct cand *cands;
	unsigned int nc = 0, nlive;
	int rc;

	if (rep != NULL)
		memset(rep, 0, sizeof(*rep));
	if (out == NULL || (recs == NULL && n > 0) || n > SCPP_CLUSTER_MAX_NODES)
		return -EINVAL;
	cands = calloc(1 + n + (prev != NULL ? prev->nb_nodes : 0), sizeof(*cands));
	if (cands == NULL)
		return -ENOMEM;
	if (self == NULL) {
		/* A view from outside: candidate 0 is a placeholder no record
		 * matches (id 0 is never a node) and it is skipped below. */
		cands[nc].n.rec.id = 0;
	} else {
		cands[nc].n.rec = *self;
	}
	cands[nc].n.state = SCPP_CLUSTER_SELF;
	cands[nc].origin = "this node";
	snprintf(cands[nc].path, sizeof(cands[nc].path), "$");
	snprintf(cands[nc].n.origin, sizeof(cands[nc].n.origin), "this node");
	pn = prev != NULL && self != NULL ? scpp_cluster_map_find(prev, self->id) : NULL;
	cands[nc].n.since_ns = pn != NULL && pn->state == SCPP_CLUSTER_SELF ? pn->since_ns : now_ns;
	nc++;
	for (unsigned int i = 0; i < n; i++) {
		struct cand *c = &cands[nc];

		if (self != NULL && recs[i].rec.id == self->id)
			continue; /* this node's entry is its own, not etcd's copy */
		c->n.rec = recs[i].rec;
		c->n.state = SCPP_CLUSTER_UP;
		c->n.create_revision = recs[i].create_revision;
		c->n.mod_revision = recs[i].mod_revision;
		c->n.lease = recs[i].lease;
		snprintf(c->n.origin, sizeof(c->n.origin), "%s", recs[i].origin);
		snprintf(c->path, sizeof(c->path), "$");
		pn = prev != NULL ? scpp_cluster_map_find(prev, c->n.rec.id) : NULL;
		c->n.since_ns = pn != NULL && pn->state == SCPP_CLUSTER_UP ? pn->since_ns : now_ns;
		nc++;
	}
	qsort(cands + 1, nc - 1, sizeof(*cands), cand_age_cmp);
	/* Pointers into the candidates only after they stopped moving. */
	for (unsigned int i = 1; i < nc; i++)
		cands[i].origin = cands[i].n.origin;
	nlive = nc;
	/* Nodes of the previous map whose records are gone: unreachable,
	 * from the moment that was first seen. */
	for (unsigned int i = 0; prev != NULL && i < prev->nb_nodes; i++) {
		const struct scpp_cluster_node *o = &prev->nodes[i];
		bool present = false;

		if (o->state != SCPP_CLUSTER_UP && o->state != SCPP_CLUSTER_UNREACHABLE)
			continue;
		for (unsigned int k = 1; k < nlive && !present; k++)
			present = cands[k].n.rec.id == o->rec.id;
		if (present || (self != NULL && o->rec.id == self->id))
			continue;
		if (o->state == SCPP_CLUSTER_UNREACHABLE && now_ns - o->since_ns > SCPP_CLUSTER_TOMBSTONE_NS)
			continue;
		cands[nc].n = *o;
		cands[nc].tomb = true;
		cands[nc].origin = cands[nc].n.origin;
		snprintf(cands[nc].path, sizeof(cands[nc].path), "$");
		if (o->state == SCPP_CLUSTER_UP) {
			cands[nc].n.state = SCPP_CLUSTER_UNREACHABLE;
			cands[nc].n.since_ns = now_ns;
		}
		nc++;
	}
	rc = builder_init(&b, rep);
	if (rc == 0) {
		for (unsigned int i = self == NULL ? 1 : 0; i < nc; i++)
			consider(&b, &cands[i]);
		rc = builder_finish(&b, SCPP_CONFIG_CLUSTER_ETCD, self != NULL ? self->id : 0,
				    revision, now_ns, prev, out);
		builder_free(&b);
	}
	free(cands);
	return rc;
}

/* ---- reading ---------------------------------------------------------------- */

struct scpp_cluster_map *
scpp_cluster_map_clone(const struct scpp_cluster_map *m)
{
	struct scpp_cluster_map *c;

	if (m == NULL)
		return NULL;
	c = malloc(sizeof(*c));
	if (c == NULL)
		return NULL;
	*c = *m;
	c->nodes = malloc((m->nb_nodes ? m->nb_nodes : 1) * sizeof(*c->nodes));
	c->routes = malloc((m->nb_routes ? m->nb_routes : 1) * sizeof(*c->routes));
	if (c->nodes == NULL || c->routes == NULL) {
		scpp_cluster_map_free(c);
		return NULL;
	}
	memcpy(c->nodes, m->nodes, m->nb_nodes * sizeof(*c->nodes));
	memcpy(c->routes, m->routes, m->nb_routes * sizeof(*c->routes));
	return c;
}

void
scpp_cluster_map_free(struct scpp_cluster_map *m)
{
	if (m == NULL)
		return;
	free(m->nodes);
	free(m->routes);
	free(m);
}

const struct scpp_cluster_node *
scpp_cluster_map_find(const struct scpp_cluster_map *m, uint32_t id)
{
	unsigned int lo = 0, hi;

	if (m == NULL)
		return NULL;
	hi = m->nb_nodes;
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		uint32_t v = m->nodes[mid].rec.id;

		if (v == id)
			return &m->nodes[mid];
		if (v < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static bool
record_eq(const struct scpp_config_cluster_node *a, const struct scpp_config_cluster_node *b)
{
	/* Compared field by field: padding and unused array tails may differ. */
	if (a->id != b->id || strcmp(a->name, b->name) != 0 || a->locale != b->locale ||
	    a->ipv4 != b->ipv4 || a->base_port != b->base_port || a->nb_shards != b->nb_shards ||
	    a->has_mac != b->has_mac || a->nb_routes != b->nb_routes)
		return false;
	if (a->has_mac && memcmp(a->mac, b->mac, 6) != 0)
		return false;
	if (memcmp(a->shards, b->shards, a->nb_shards * sizeof(a->shards[0])) != 0)
		return false;
	for (unsigned int i = 0; i < a->nb_routes; i++)
		if (a->routes[i].shard != b->routes[i].shard ||
		    a->routes[i].prefix.len != b->routes[i].prefix.len ||
		    !scpp_oid_eq(a->routes[i].prefix.oid, b->routes[i].prefix.oid))
			return false;
	return true;
}

static bool
is_live(enum scpp_cluster_state s)
{
	return s != SCPP_CLUSTER_UNREACHABLE;
}

int
scpp_cluster_map_diff(const struct scpp_cluster_map *a, const struct scpp_cluster_map *b,
		      struct scpp_cluster_diff *d, scpp_cluster_diff_fn fn, void *arg)
{
	unsigned int i = 0, j = 0;

	if (a == NULL || b == NULL || d == NULL)
		return -EINVAL;
	memset(d, 0, sizeof(*d));
	/* Both node arrays are sorted by id: one merge walk. */
	while (i < a->nb_nodes || j < b->nb_nodes) {
		const struct scpp_cluster_node *x = i < a->nb_nodes ? &a->nodes[i] : NULL;
		const struct scpp_cluster_node *y = j < b->nb_nodes ? &b->nodes[j] : NULL;
		enum scpp_cluster_change kind;

		if (y == NULL || (x != NULL && x->rec.id < y->rec.id)) {
			d->removed++;
			kind = SCPP_CLUSTER_REMOVED;
			y = NULL;
			i++;
		} else if (x == NULL || y->rec.id < x->rec.id) {
			d->joined++;
			kind = SCPP_CLUSTER_JOINED;
			x = NULL;
			j++;
		} else {
			i++;
			j++;
			if (is_live(x->state) && !is_live(y->state)) {
				d->lost++;
				kind = SCPP_CLUSTER_LOST;
			} else if (!is_live(x->state) && is_live(y->state)) {
				d->returned++;
				kind = SCPP_CLUSTER_RETURNED;
			} else if (x->state != y->state || !record_eq(&x->rec, &y->rec)) {
				d->changed++;
				kind = SCPP_CLUSTER_CHANGED;
			} else {
				continue;
			}
		}
		if (fn != NULL)
			fn(kind, x, y, arg);
	}
	/* Routes are sorted by prefix; each prefix appears once per map. */
	i = j = 0;
	while (i < a->nb_routes || j < b->nb_routes) {
		int c = i == a->nb_routes ? 1 : j == b->nb_routes ? -1 :
			route_cmp(&a->routes[i], &b->routes[j]);

		if (c < 0) {
			d->routes_removed++;
			i++;
		} else if (c > 0) {
			d->routes_added++;
			j++;
		} else {
			if (a->routes[i].node != b->routes[j].node ||
			    a->routes[i].shard != b->routes[j].shard) {
				d->routes_removed++;
				d->routes_added++;
			}
			i++;
			j++;
		}
	}
	return 0;
}

const char *
scpp_cluster_state_name(enum scpp_cluster_state s)
{
	static const char *const names[SCPP_CLUSTER_STATE_COUNT] = {
		[SCPP_CLUSTER_SELF] = "self", [SCPP_CLUSTER_UP] = "up",
		[SCPP_CLUSTER_STATIC] = "static", [SCPP_CLUSTER_UNREACHABLE] = "unreachable",
	};

	return (unsigned int)s < SCPP_CLUSTER_STATE_COUNT ? names[s] : "?";
}
