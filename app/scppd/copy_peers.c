/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Peers' windows (docs/COPY.md "Peers' windows"): each worker with a remote
 * copy engine attaches the RMA windows the cluster map's node records
 * publish (one per shard, $.windows of an etcd record), keyed by (node,
 * shard), so that a later copy can read from a peer's arena one-sidedly.
 *
 * - Publication: scppd_copy_windows() gives the control thread this node's
 *   windows (every worker's RmaWindow OID and descriptor) for its record,
 *   scppd_copy_memwins() its memory windows ($.memory_windows: shard, name,
 *   OID, length, descriptor; docs/COPY.md "Memory windows on other nodes").
 * - Memory windows are attached the same way, keyed by (node, window OID),
 *   and found by scppd_copy_peer_memwin() only; scppd_copy_peer_by_window()
 *   (COPY_SOURCE, arenas) never returns one. A record whose length differs
 *   from its descriptor's is refused like a bad descriptor.
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

unsigned int
scppd_copy_memwins(const struct scppd *d, struct scpp_config_cluster_memwin *out, unsigned int max)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < d->nb_workers; i++) {
		const struct scppd_copy *c = d->workers[i]->copy;

		if (c == NULL || c->remote == NULL)
			continue;
		for (unsigned int k = 0; k < c->memwins.n && n < max; k++) {
			const struct scpp_config_copy_memwin *m =
				&d->cfg.copy.memwins[c->memwin_cfg[k]];

			memset(&out[n], 0, sizeof(out[n]));
			out[n].shard = d->workers[i]->shard;
			snprintf(out[n].name, sizeof(out[n].name), "%s", m->name);
			out[n].window = c->memwin[k].oid;
			out[n].length = c->memwin[k].len;
			memcpy(out[n].desc, c->memwin_desc[k], sizeof(out[n].desc));
			n++;
		}
	}
	return n;
}

/* An arena window by (node, shard); a memory window by (node, OID). */
static struct scppd_copy_peer *
peer_find(struct scppd_copy *c, uint32_t node, uint16_t shard, bool memory, struct scpp_oid oid)
{
	for (uint32_t i = 0; i < c->npeers; i++) {
		const struct scppd_copy_peer *p = &c->peers[i];

		if (p->leaving || p->node != node || p->memory != memory)
			continue;
		if (memory ? scpp_oid_eq(p->window, oid) : p->shard == shard)
			return &c->peers[i];
	}
	return NULL;
}

static const struct scppd_copy_peer *
by_window(const struct scppd_worker *w, struct scpp_oid window, bool memory)
{
	const struct scppd_copy *c = w->copy;

	for (uint32_t i = 0; c->peers != NULL && i < c->npeers; i++)
		if (!c->peers[i].leaving && c->peers[i].memory == memory &&
		    scpp_oid_eq(c->peers[i].window, window))
			return &c->peers[i];
	return NULL;
}

const struct scppd_copy_peer *
scppd_copy_peer_by_window(const struct scppd_worker *w, struct scpp_oid window)
{
	return by_window(w, window, false);
}

const struct scppd_copy_peer *
scppd_copy_peer_memwin(const struct scppd_worker *w, struct scpp_oid window)
{
	return by_window(w, window, true);
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
		SCPPD_LOG(INFO, "worker %u: copy: detached the %s window of node %" PRIu32 " shard "
			  "%u (%s)", w->idx, p->memory ? "memory" : "arena", p->node, p->shard, why);
	scpp_counter_add(&c->st.peer_detaches, 1);
	scpp_counter_add(&c->st.peer_windows, UINT64_MAX); /* a gauge: minus one */
	if (p->memory)
		scpp_counter_add(&c->st.peer_memwins, UINT64_MAX);
	*p = c->peers[--c->npeers];
}

/* What a record says of one window: arena (shard's) or memory. */
struct peer_rec {
	uint16_t shard;
	bool memory;
	struct scpp_oid window;
	uint64_t length;       /* memory windows: the record's length (else 0) */
	const uint8_t *desc;
};

static struct scppd_copy_peer *
peer_attach(struct scppd_worker *w, const struct scpp_cluster_node *n, const struct peer_rec *r)
{
	struct scppd_copy *c = w->copy;
	struct scpp_copy_window cw;
	struct scppd_copy_peer *p = NULL;
	const char *what = NULL;
	const char *kind = r->memory ? "memory" : "arena";
	int rc;

	if (c->npeers == c->peers_cap) {
		rc = -ENOSPC;
		what = "no room (copy.max_remotes)";
	} else if ((rc = scpp_copy_window_decode(r->desc, SCPP_COPY_WINDOW_LEN, &cw)) != 0) {
		what = "its descriptor does not decode";
	} else if (r->memory && cw.len != r->length) {
		rc = -EINVAL;
		what = "its record's length differs from its descriptor's";
	} else {
		p = &c->peers[c->npeers];
		memset(p, 0, sizeof(*p));
		rc = scpp_copy_remote_attach(c->remote, &cw, &p->rw);
		what = "the engine refused it";
	}
	if (rc != 0) {
		char oid[SCPP_OID_STR_MAX];

		scpp_oid_format(oid, sizeof(oid), r->window);
		SCPPD_LOG(WARNING, "worker %u: copy: %s window %s of node %" PRIu32 " \"%s\" shard "
			  "%u not attached: %s (%s)", w->idx, kind, oid, n->rec.id, n->rec.name,
			  r->shard, what, strerror(-rc));
		scpp_counter_add(&c->st.peer_refused, 1);
		return NULL;
	}
	p->node = n->rec.id;
	p->shard = r->shard;
	p->memory = r->memory;
	p->window = r->window;
	p->len = cw.len;
	memcpy(p->desc, r->desc, sizeof(p->desc));
	c->npeers++;
	scpp_counter_add(&c->st.peer_windows, 1);
	scpp_counter_add(&c->st.peer_attaches, 1);
	if (r->memory)
		scpp_counter_add(&c->st.peer_memwins, 1);
	SCPPD_LOG(INFO, "worker %u: copy: attached the %s window of node %" PRIu32 " \"%s\" shard "
		  "%u (%" PRIu64 " bytes, %s)", w->idx, kind, n->rec.id, n->rec.name, r->shard,
		  cw.len, cw.provider);
	return p;
}

/* One window of node @p n's record: attached, kept or re-attached. */
static void
peer_sync_one(struct scppd_worker *w, const struct scpp_cluster_node *n, const struct peer_rec *r)
{
	struct scppd_copy *c = w->copy;
	struct scppd_copy_peer *p;

	if (n->rec.id == scppd_g.cfg.node.id && r->shard == w->shard)
		return;
	p = peer_find(c, n->rec.id, r->shard, r->memory, r->window);
	if (p != NULL && scpp_oid_eq(p->window, r->window) && p->shard == r->shard &&
	    memcmp(p->desc, r->desc, sizeof(p->desc)) == 0) {
		p->seen = true;
		return;
	}
	if (p != NULL)
		peer_detach(w, p, "its record changed");
	p = peer_attach(w, n, r);
	if (p != NULL)
		p->seen = true;
}

/* Bring the attached windows in line with map @p m. */
static void
peers_sync(struct scppd_worker *w, const struct scpp_cluster_map *m)
{
	struct scppd_copy *c = w->copy;

	for (uint32_t i = 0; i < c->npeers; i++)
		c->peers[i].seen = false;
	for (unsigned int i = 0; m != NULL && i < m->nb_nodes; i++) {
		const struct scpp_cluster_node *n = &m->nodes[i];

		if (n->state == SCPP_CLUSTER_UNREACHABLE)
			continue;
		for (unsigned int k = 0; k < n->rec.nb_windows; k++) {
			const struct scpp_config_cluster_window *win = &n->rec.windows[k];
			struct peer_rec r = {.shard = win->shard, .window = win->window,
					     .desc = win->desc};

			peer_sync_one(w, n, &r);
		}
		for (unsigned int k = 0; k < n->rec.nb_memwins; k++) {
			const struct scpp_config_cluster_memwin *mw = &n->rec.memwins[k];
			struct peer_rec r = {.shard = mw->shard, .memory = true, .window = mw->window,
					     .length = mw->length, .desc = mw->desc};

			peer_sync_one(w, n, &r);
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
