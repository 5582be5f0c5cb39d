/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Peers' windows (docs/COPY.md "Peers' windows"): each worker with a remote
 * copy engine attaches the RMA windows the cluster map's node records
 * publish (one per shard, $.windows of an etcd record), keyed by (node,
 * shard), so that a later copy can read from a peer's arena one-sidedly.
 *
 * - Publication: scppd_copy_windows() gives the control thread this node's
 *   windows (every worker's RmaWindow OID and descriptor) for its record.
 * - Following the map (worker, in scppd_copy_tick_slow()): when the map the
 *   worker sees is another one, every window of every node that is not
 *   unreachable (this worker's own shard excepted) is attached if new,
 *   re-attached if its record changed (another descriptor or OID), and
 *   windows no longer in the map, or of an unreachable node, are detached.
 *   A window a copy still uses (-EBUSY) stays, marked leaving, and is
 *   detached at a later turn; a leaving window is never found by a lookup.
 * - A descriptor that does not decode, or that the engine refuses (another
 *   provider, no room), is logged and counted, never attached.
 *
 * Everything here runs on the worker that owns the engine (its control
 * calls are for the owning thread); the map is read under the worker's RCU
 * protection (it stays valid until the worker's next quiescent state).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <rte_malloc.h>

#include "scpp_cluster.h"
#include "scpp_copy.h"
#include "scppd.h"

int
scppd_copy_peers_init(struct scppd_worker *w)
{
	struct scppd_copy *c = w->copy;
	uint32_t cap = scppd_g.cfg.copy.max_remotes;

	if (c->remote == NULL || cap == 0)
		return 0;
	/* Room for every window the engine takes, and as many leaving. */
	c->peers = rte_zmalloc_socket("scppd_copy_peers", 2 * (size_t)cap * sizeof(*c->peers),
				      RTE_CACHE_LINE_SIZE, c->socket);
	if (c->peers == NULL)
		return -ENOMEM;
	c->peers_cap = 2 * cap;
	return 0;
}

void
scppd_copy_peers_free(struct scppd_worker *w)
{
	struct scppd_copy *c = w->copy;

	/* The engine is freed right after: its attachments go with it. */
	rte_free(c->peers);
	c->peers = NULL;
	c->npeers = 0;
}

unsigned int
scppd_copy_windows(const struct scppd *d, struct scpp_config_cluster_window *out, unsigned int max)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < d->nb_workers && n < max; i++) {
		const struct scppd_copy *c = d->workers[i]->copy;

		if (c == NULL || c->remote == NULL)
			continue;
		out[n].shard = d->workers[i]->shard;
		out[n].window = c->window_oid;
		memcpy(out[n].desc, c->desc, sizeof(out[n].desc));
		n++;
	}
	return n;
}

static struct scppd_copy_peer *
peer_find(struct scppd_copy *c, uint32_t node, uint16_t shard)
{
	for (uint32_t i = 0; i < c->npeers; i++)
		if (!c->peers[i].leaving && c->peers[i].node == node && c->peers[i].shard == shard)
			return &c->peers[i];
	return NULL;
}

const struct scppd_copy_peer *
scppd_copy_peer_by_window(const struct scppd_worker *w, struct scpp_oid window)
{
	const struct scppd_copy *c = w->copy;

	for (uint32_t i = 0; c->peers != NULL && i < c->npeers; i++)
		if (!c->peers[i].leaving && scpp_oid_eq(c->peers[i].window, window))
			return &c->peers[i];
	return NULL;
}

/* Detach @p p; one a copy still uses is left leaving. */
static void
peer_detach(struct scppd_worker *w, struct scppd_copy_peer *p, const char *why)
{
	struct scppd_copy *c = w->copy;
	int rc = scpp_copy_remote_detach(c->remote, p->rw);

	if (rc == -EBUSY) {
		if (!p->leaving)
			scpp_counter_add(&c->st.peer_busy, 1);
		p->leaving = true;
		c->peers_leaving = true;
		return;
	}
	if (rc != 0)
		SCPPD_LOG(ERR, "worker %u: copy: detaching the window of node %" PRIu32 " shard %u: "
			  "%s", w->idx, p->node, p->shard, strerror(-rc));
	else
		SCPPD_LOG(INFO, "worker %u: copy: detached the window of node %" PRIu32 " shard %u "
			  "(%s)", w->idx, p->node, p->shard, why);
	scpp_counter_add(&c->st.peer_detaches, 1);
	scpp_counter_add(&c->st.peer_windows, UINT64_MAX); /* a gauge: minus one */
	*p = c->peers[--c->npeers];
}

static struct scppd_copy_peer *
peer_attach(struct scppd_worker *w, const struct scpp_cluster_node *n,
	    const struct scpp_config_cluster_window *win)
{
	struct scppd_copy *c = w->copy;
	struct scpp_copy_window cw;
	struct scppd_copy_peer *p = NULL;
	const char *what = NULL;
	int rc;

	if (c->npeers == c->peers_cap) {
		rc = -ENOSPC;
		what = "no room (copy.max_remotes)";
	} else if ((rc = scpp_copy_window_decode(win->desc, sizeof(win->desc), &cw)) != 0) {
		what = "its descriptor does not decode";
	} else {
		p = &c->peers[c->npeers];
		memset(p, 0, sizeof(*p));
		rc = scpp_copy_remote_attach(c->remote, &cw, &p->rw);
		what = "the engine refused it";
	}
	if (rc != 0) {
		char oid[SCPP_OID_STR_MAX];

		scpp_oid_format(oid, sizeof(oid), win->window);
		SCPPD_LOG(WARNING, "worker %u: copy: window %s of node %" PRIu32 " \"%s\" shard %u "
			  "not attached: %s (%s)", w->idx, oid, n->rec.id, n->rec.name, win->shard,
			  what, strerror(-rc));
		scpp_counter_add(&c->st.peer_refused, 1);
		return NULL;
	}
	p->node = n->rec.id;
	p->shard = win->shard;
	p->window = win->window;
	p->len = cw.len;
	memcpy(p->desc, win->desc, sizeof(p->desc));
	c->npeers++;
	scpp_counter_add(&c->st.peer_windows, 1);
	scpp_counter_add(&c->st.peer_attaches, 1);
	SCPPD_LOG(INFO, "worker %u: copy: attached the window of node %" PRIu32 " \"%s\" shard %u "
		  "(%" PRIu64 " bytes, %s)", w->idx, n->rec.id, n->rec.name, win->shard, cw.len,
		  cw.provider);
	return p;
}

/* Bring the attached windows in line with map @p m. */
static void
peers_sync(struct scppd_worker *w, const struct scpp_cluster_map *m)
{
	struct scppd_copy *c = w->copy;
	uint32_t self = scppd_g.cfg.node.id;

	for (uint32_t i = 0; i < c->npeers; i++)
		c->peers[i].seen = false;
	for (unsigned int i = 0; m != NULL && i < m->nb_nodes; i++) {
		const struct scpp_cluster_node *n = &m->nodes[i];

		if (n->state == SCPP_CLUSTER_UNREACHABLE)
			continue;
		for (unsigned int k = 0; k < n->rec.nb_windows; k++) {
			const struct scpp_config_cluster_window *win = &n->rec.windows[k];
			struct scppd_copy_peer *p;

			if (n->rec.id == self && win->shard == w->shard)
				continue;
			p = peer_find(c, n->rec.id, win->shard);
			if (p != NULL && scpp_oid_eq(p->window, win->window) &&
			    memcmp(p->desc, win->desc, sizeof(p->desc)) == 0) {
				p->seen = true;
				continue;
			}
			if (p != NULL)
				peer_detach(w, p, "its record changed");
			p = peer_attach(w, n, win);
			if (p != NULL)
				p->seen = true;
		}
	}
	/* Backwards: a detach moves the last entry into the freed one. */
	for (uint32_t i = c->npeers; i-- > 0;)
		if (!c->peers[i].seen && !c->peers[i].leaving)
			peer_detach(w, &c->peers[i], "its node left the map or is unreachable");
}

/* Retry windows left leaving: detached once no copy uses them. */
static void
peers_retry(struct scppd_worker *w)
{
	struct scppd_copy *c = w->copy;

	c->peers_leaving = false;
	for (uint32_t i = c->npeers; i-- > 0;)
		if (c->peers[i].leaving)
			peer_detach(w, &c->peers[i], "no copy uses it any more");
}

void
scppd_copy_peers_tick(struct scppd_worker *w)
{
	struct scppd_copy *c = w->copy;
	const struct scpp_cluster_map *m;

	if (c->peers == NULL)
		return;
	m = scppd_cluster_map();
	/* A map is another one when its address or its build time differ (a
	 * freed map's address may be reused). */
	if (m != c->peers_map || (m != NULL && m->built_ns != c->peers_map_ns)) {
		c->peers_map = m;
		c->peers_map_ns = m != NULL ? m->built_ns : 0;
		peers_sync(w, m);
	}
	if (c->peers_leaving)
		peers_retry(w);
}
