/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Continuations, the origin's side (docs/PROTOCOL.md §19, docs/CLUSTER.md
 * §8): a session-less block whose next command must run, for some rows,
 * on another shard is parked (park.c, SCPPD_PARK_CONT), those rows go to
 * their owners as CONT messages, and when every part has answered (or
 * timed out) the block goes on here with the rows that stayed; its reply
 * and the parts' answers are merged into one reply to the client.
 *
 * The star design. Owners never wait: an owner that finds rows that must
 * go on elsewhere answers them as rest groups (cont.c), and the origin —
 * which holds the only parked state — ships each group on as one more
 * part, placed right after the part that returned it, so the merge order
 * is the tree's depth-first order (PROTOCOL.md §19.3). A group this shard
 * owns is run here, as an owner runs a CONT (the same code, on the CONT
 * bytes built for it). A walk /a/b/c/d over three nodes is therefore
 * origin -> n2 -> origin -> n3 -> ... : every hop a CONT from the origin.
 *
 * State. Per worker: cluster.cont.max_pending part records, each with
 * room for one CONT datagram (kept for retransmission) and one answer's
 * records, and one set per park slot (the parts of the block parked there,
 * in merge order). Allocated at start; a block that would need more parts
 * than are free is not split further (E_LIMIT_PENDING, PROTOCOL.md §19.6).
 *
 * Timers. A part not answered after a quarter of cluster.cont.timeout_ms
 * is sent again (same bytes, same id: the owner's record answers it
 * without running it twice), at most three times; at the timeout it is
 * given up: the part's status says its outcome is unknown, naming the
 * node, shard, block and command. Never a hang: the park table's own
 * timeout (delivery.park_timeout_ms) bounds the block in any case.
 *
 * ⊤ fan-out. Rows whose entity at a get is an unbound variable (a scan)
 * also go, as one EVERY part each, to every shard of every other node of
 * the map that is not unreachable (cluster.cont.fan_out, at most
 * cluster.cont.max_fan_out shards), after the owners' parts; each such
 * shard scans its own store and drops the well-known entities it finds
 * (every shard has them: the origin's own scan reports them once).
 *
 * Two shards of one node. A part for another shard of this node goes to
 * its worker through the hand-off ring as the datagram the wire would
 * carry (scppd_peer_handoff(): a frame to the node's own address does not
 * come back through its port), and its answer comes back the same way;
 * everything else (ids, retransmission, the owner's record) is as for a
 * peer.
 *
 * Session blocks (docs/SECURITY.md §9.4 item 9). A part of a block that
 * came in a session carries its principal as CONT extension 1, first in
 * the extension area, sealed once when the part is launched (over the
 * header, and everything after the extension: so retransmissions are the
 * same bytes); the owner runs it with that principal's rights as it
 * verifies them itself, from the IDENTITY pushed to it with the part, and
 * MACs its answer under the part's reply key, which this node checks
 * before it takes the answer. A part that cannot carry the principal (no
 * auth.peers key for its node, a root principal without chains) is not
 * shipped: E_NOT_HERE, nothing run there.
 *
 * Scope of this version: CONTs of one datagram.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <rte_malloc.h>

#include "scpp_status.h"
#include "cont_priv.h"

/* ---- the park consumer ---- */

static bool
c_wants(struct scppd_worker *w, const struct scpp_wire_block *b)
{
	const struct scpp_cluster_map *m = scppd_cluster_map();

	/* Blocks served while a CONT waits for its READs (cont_read.c). */
	if (unlikely(w->cont->rd_parked != 0))
		scpp_counter_add(&w->copy->st.cont_read_served, 1);
	/* On a cluster; not a request a peer forwarded here (one hop). A
	 * session block's parts carry its principal (SECURITY.md §9.4). */
	unsigned int why;

	if (m == NULL || m->nb_nodes <= 1 || w->carry != NULL)
		return false;
	why = scpp_eval_block_split_why(b, w->env.node);
	/* A map-entry copy alone matters only where a peer has a memory window. */
	if (why == SCPP_EVAL_SPLIT_VMA && (w->copy == NULL || w->copy->remote == NULL ||
					   scpp_counter_read(&w->copy->st.peer_memwins) == 0)) {
		if (w->copy != NULL)
			scpp_counter_add(&w->copy->st.memwin_unwatched, 1);
		return false;
	}
	return why != 0;
}

/* The shards of the map a ⊤ fan-out reaches from this one: every shard of
 * every other node that is not unreachable, in map order. */
static unsigned int
fan_out_shards(const struct scpp_cluster_map *m)
{
	unsigned int n = 0;

	for (unsigned int i = 0; m != NULL && i < m->nb_nodes; i++)
		if (m->nodes[i].state == SCPP_CLUSTER_SELF)
			n += m->nodes[i].rec.nb_shards - 1u; /* not this one */
		else if (m->nodes[i].state != SCPP_CLUSTER_UNREACHABLE)
			n += m->nodes[i].rec.nb_shards;
	return n;
}

static enum scpp_eval_verdict
c_before_cmd(struct scppd_worker *w, const struct scpp_wire_block *b, uint16_t cmd, size_t nrows,
	     uint64_t *user)
{
	unsigned int where = scppd_cont_rows_where(w, b, cmd, nrows);

	*user = 0;
	scppd_cont_memo_drop(w); /* a new stop resolves its rows afresh */
	/* A copy into another node's memory window goes to its node. */
	if (where == 0 && unlikely(b->cmd[cmd].op == SCPP_OP_COPY) &&
	    scppd_cont_memwin_rows(w, b, cmd))
		where = SCPPD_ROWS_THERE;
	/* A scan stops only if it has somewhere else to go. */
	if ((where & SCPPD_ROWS_ANY) &&
	    (!scppd_g.cfg.cluster.cont.fan_out || fan_out_shards(scppd_cluster_map()) == 0))
		where &= ~SCPPD_ROWS_ANY;
	return where != 0 ? SCPP_EVAL_SUSPEND : SCPP_EVAL_GO;
}

/*
 * The rows of stopped suspension @p s that scan (⊤, their entity unbound at
 * @p cmd) also run on every other shard of the map, as EVERY parts after
 * the owners' (PROTOCOL.md §19.3). @p here / @p nhere: the rows that stay.
 */
static void
fan_out(struct scppd_worker *w, struct cont_set *set, uint32_t si, struct scpp_eval_susp *s,
	const struct scpp_wire_block *b, uint16_t cmd, const uint32_t *here, uint32_t nhere)
{
	struct scppd_cont *ct = w->cont;
	const struct scpp_config_cluster_cont *cf = &scppd_g.cfg.cluster.cont;
	const struct scpp_cluster_map *m = scppd_cluster_map();
	struct scpp_eval_rows rows;
	uint32_t nany = 0;

	if (scpp_eval_susp_rows(s, &rows) != 0)
		return;
	for (uint32_t k = 0; k < nhere; k++)
		if (scpp_eval_row_where(b, cmd, &rows, here[k], w->env.node, NULL) == SCPP_EVAL_ANY)
			ct->idx2[nany++] = here[k];
	if (nany == 0)
		return;
	if (fan_out_shards(m) > cf->max_fan_out) {
		struct cont_part *p = cont_part_new(w, set, si, CONT_NONE);

		if (p == NULL)
			return; /* counted by the caller's check: there was room */
		p->hops = 1;
		p->start = cmd;
		p->node = scppd_g.cfg.node.id;
		p->shard = w->shard;
		p->owner_hi = w->env.node.hi;
		cont_part_fail(w, p, -SCPP_E_TOO_MANY, "the scan at command %u of block %" PRIu64
			  " would run on %u other shards, cluster.cont.max_fan_out is %u; it covered "
			  "this shard only", cmd, set->block_id, fan_out_shards(m), cf->max_fan_out);
		return;
	}
	for (unsigned int i = 0; i < m->nb_nodes; i++) {
		const struct scpp_cluster_node *n = &m->nodes[i];

		if (n->state == SCPP_CLUSTER_UNREACHABLE)
			continue;
		for (unsigned int j = 0; j < n->rec.nb_shards; j++) {
			struct cont_part *p;
			uint32_t at;
			long len;

			if (n->state == SCPP_CLUSTER_SELF && n->rec.shards[j] == w->shard)
				continue; /* this shard scans itself */
			p = cont_part_new(w, set, si, CONT_NONE);
			if (p == NULL)
				return; /* the caller checked for room */
			p->flags = SCPP_WIRE_CONT_F_EVERY;
			p->hops = 1;
			p->start = cmd;
			p->node = n->rec.id;
			p->shard = n->rec.shards[j];
			p->owner_hi = (uint64_t)n->rec.locale << 48 | (uint64_t)n->rec.id << 16 |
				      n->rec.shards[j];
			p->nrows = nany;
			scpp_counter_add(&w->stats.cont_fan_out, 1);
			if (!cont_part_limits(w, p, set))
				continue;
			if (cont_part_build(w, p, set, nany, &at) != 0 ||
			    (len = scpp_eval_susp_rows_encode(s, ct->idx2, nany, p->msg + at,
							      sizeof(p->msg) - at)) < 0) {
				cont_part_too_big(w, p, set);
				continue;
			}
			p->msg_len = at + (uint32_t)len;
			cont_part_launch(w, p);
		}
	}
}

/* A part's bytes of extensions for its copy rows (a session block's part
 * carries its principal first). */
static size_t
part_ext_cap(const struct cont_set *set)
{
	return set->sess ? SCPP_WIRE_CONT_EXT_MAX - 2 - SCPP_AUTH_FWD_PRINCIPAL_LEN
			 : SCPP_WIRE_CONT_EXT_MAX;
}

/* Even a session block's part holds one row's MEMORY_WINDOW and COPY_SOURCE,
 * so scppd_cont_part_cut() always gives a part at least one row. */
_Static_assert(SCPP_WIRE_CONT_EXT_MAX - 2 - SCPP_AUTH_FWD_PRINCIPAL_LEN >=
	       2 + SCPP_WIRE_MEMWIN_LEN + 2 + SCPP_WIRE_COPY_SRC_LEN,
	       "a session part's extensions hold one memory window row");

/*
 * The parts owner group @p g of split @p sp goes in: one, or more when its
 * rows' MEMORY_WINDOW extensions do not fit one part's (scppd_cont_part_cut(),
 * the same cut as launch_part() makes).
 */
static uint32_t
group_parts(struct scppd_worker *w, const struct scpp_wire_block *b, uint16_t cmd,
	    const struct scpp_eval_susp *s, const struct cont_set *set,
	    const struct scpp_eval_split *sp, uint16_t g)
{
	const uint32_t *idx = w->cont->idx + sp->part[g].first;
	uint32_t parts = 0;

	for (uint32_t off = 0, k; off < sp->part[g].n; off += k, parts++) {
		k = scppd_cont_part_cut(w, b, cmd, s, sp->part[g].owner, idx + off,
					sp->part[g].n - off, part_ext_cap(set), w->env.auth);
		SCPP_VERIFY(k != 0);
	}
	return parts;
}

/* Launch the part of owner group @p g of split @p sp that begins at its
 * row @p off: the rows scppd_cont_part_cut() gives it (at least one). */
static uint32_t
launch_part(struct scppd_worker *w, const struct scpp_wire_block *b, uint16_t cmd,
	    const struct scpp_eval_susp *s, struct cont_set *set, uint32_t si,
	    const struct scpp_eval_split *sp, uint16_t g, uint32_t off)
{
	const uint32_t *idx = w->cont->idx + sp->part[g].first + off;
	uint32_t nrows = scppd_cont_part_cut(w, b, cmd, s, sp->part[g].owner, idx,
					     sp->part[g].n - off, part_ext_cap(set), w->env.auth);
	struct cont_part *p = cont_part_new(w, set, si, CONT_NONE);
	uint32_t at;
	long n;

	SCPP_VERIFY(nrows != 0 && p != NULL); /* group_parts() and the free parts */
	p->hops = 1;
	p->start = cmd;
	p->owner_hi = sp->part[g].owner.hi;
	p->node = scpp_oid_node(sp->part[g].owner);
	p->shard = scpp_oid_shard(sp->part[g].owner);
	p->nrows = nrows;
	if (!cont_part_limits(w, p, set))
		return nrows;
	/* A session block's rows: a COPY_SOURCE only for a source the
	 * session may read (get), behind its principal (extension 1,
	 * which leaves room for one). */
	n = scppd_cont_part_exts(w, b, cmd, s, sp->part[g].owner, idx, nrows, p->ext,
				 part_ext_cap(set), p->pins, &p->npins, w->env.auth);
	p->ext_len = n > 0 ? (uint16_t)n : 0;
	if (cont_part_build(w, p, set, nrows, &at) != 0 ||
	    (n = scpp_eval_susp_rows_encode(s, idx, nrows, p->msg + at, sizeof(p->msg) - at)) < 0) {
		cont_part_too_big(w, p, set);
		return nrows;
	}
	p->msg_len = at + (uint32_t)n;
	scppd_cont_exts_sent(w, p->ext, p->ext_len);
	cont_part_launch(w, p);
	return nrows;
}

static void
c_parked(struct scppd_worker *w, uint64_t h, const struct scpp_wire_block *b, uint16_t cmd,
	 uint64_t user)
{
	struct scppd_cont *ct = w->cont;
	uint32_t si = (uint32_t)h;
	struct cont_set *set = &ct->set[si];
	struct scpp_eval_susp *s = scppd_park_susp_of(w, h);
	struct scpp_eval_split sp;
	uint32_t free_parts = 0, need;
	char msg[SCPP_STATUS_MSG_MAX];
	int rc;

	(void)user;
	if (!set->active) {
		memset(set, 0, sizeof(*set));
		set->active = 1;
		set->sess = w->env.auth != NULL; /* the block's, as it ran until now */
		set->head = set->tail = CONT_NONE;
		set->nvars = b->nvars;
		set->start_tsc = w->now;
		(void)scppd_park_ids_of(w, h, &set->client_id, &set->block_id);
	}
	set->h = h;
	scpp_counter_add(&w->stats.cont_splits, 1);
	rc = scpp_eval_susp_split_ex(s, b, w->env.node, scppd_cont_memwin_there, w, ct->idx,
				     2 * SCPPD_CONT_ROWS_MAX, &sp);
	/* A row no node could copy: the block is refused before any part is built. */
	if (rc == 0 && (rc = scppd_cont_memwin_third(w, b, cmd, s, msg, sizeof(msg))) != 0) {
		scppd_cont_memo_drop(w);
		(void)scppd_park_abort(w, h, rc, msg);
		return;
	}
	need = 0;
	for (uint16_t g = 0; rc == 0 && g < sp.nowners; g++)
		need += group_parts(w, b, cmd, s, set, &sp, g);
	if (sp.nany != 0 && scppd_g.cfg.cluster.cont.fan_out)
		need += RTE_MAX(1u, fan_out_shards(scppd_cluster_map()));
	for (uint32_t i = ct->free_part; rc == 0 && i != CONT_NONE && free_parts < need;
	     i = ct->part[i].next)
		free_parts++;
	if (rc != 0 || free_parts < need) {
		scppd_cont_memo_drop(w);
		/* More than the worker ever holds, or more than are free now
		 * (free_parts counts at most need). */
		if (rc != 0)
			snprintf(msg, sizeof(msg), "the block's rows could not be split");
		else if (need > ct->npart)
			snprintf(msg, sizeof(msg), "not split at command %u: its rows need %" PRIu32
				 " continuations, more than cluster.cont.max_pending (%" PRIu32 ") "
				 "a worker holds", cmd, need, ct->npart);
		else
			snprintf(msg, sizeof(msg), "not split at command %u: its rows need %" PRIu32
				 " continuations, %" PRIu32 " of cluster.cont.max_pending (%" PRIu32
				 ") are free on this worker", cmd, need, free_parts, ct->npart);
		(void)scppd_park_abort(w, h, rc != 0 ? rc : -SCPP_E_LIMIT_PENDING, msg);
		return;
	}
	set->busy++;
	/* Each owner's rows in as few parts as their MEMORY_WINDOW extensions
	 * allow (one, unless more than a part holds go to that owner's
	 * memory window: docs/COPY.md), in row order. */
	for (uint16_t g = 0; g < sp.nowners; g++)
		for (uint32_t off = 0, k; off < sp.part[g].n; off += k)
			k = launch_part(w, b, cmd, s, set, si, &sp, g, off);
	if (sp.nany != 0 && scppd_g.cfg.cluster.cont.fan_out)
		fan_out(w, set, si, s, b, cmd, ct->idx, sp.nhere);
	/* The rows that stay go on here, from this command, once every part
	 * has answered (the scanning rows scan this shard then). */
	rc = scpp_eval_susp_keep(s, ct->idx, sp.nhere);
	scppd_cont_memo_drop(w);
	set->busy--;
	if (rc != 0)
		(void)scppd_park_abort(w, h, rc, "the block's rows could not be split");
	else
		cont_set_ready(w, set);
}

/* The block ended: its own reply (part 0) and its parts' answers, merged. */
static void
c_reply(struct scppd_worker *w, uint32_t slot, uint8_t *buf, uint32_t cap, uint32_t *len)
{
	struct scppd_cont *ct = w->cont;
	struct cont_set *set = slot < ct->nset ? &ct->set[slot] : NULL;
	struct scpp_wire_reply_writer wr;
	struct scpp_cont_merged mg;
	size_t cols;
	unsigned int n = 1;
	int rc;

	if (set == NULL || !set->active || set->nparts == 0 || *len > ct->merge_cap)
		return;
	memcpy(ct->merge, buf, *len);
	ct->mparts[0] = (struct scpp_cont_part){.records = ct->merge, .len = *len};
	cols = scpp_cont_columns_len(ct->merge, *len);
	for (uint32_t i = set->head; i != CONT_NONE; i = ct->part[i].next) {
		struct cont_part *p = &ct->part[i];
		struct scpp_cont_part *mp = &ct->mparts[n++];

		memset(mp, 0, sizeof(*mp));
		/* An answer with the block's columns, or a refusal (no column). */
		if (p->state == P_DONE &&
		    scpp_cont_part_check(p->ans, p->ans_len, ct->merge, cols) != 0 &&
		    scpp_cont_part_check(p->ans, p->ans_len, ct->empty_cols, ct->empty_cols_len) != 0)
			cont_part_fail(w, p, -SCPP_E_BAD_RECORD, "the answer to continuation %" PRIu64
				  " from node %u \"%s\" is not a reply of this block; its outcome "
				  "is unknown", p->cont_id, p->node, cont_node_name(p->node));
		if (p->state == P_DONE) {
			mp->records = p->ans;
			mp->len = p->ans_len;
		} else {
			if (p->state == P_SENT) /* unreachable: resumed once all answered */
				cont_part_fail(w, p, -SCPP_E_OUTCOME_UNKNOWN, "continuation %" PRIu64
					  " had not answered when its block ended", p->cont_id);
			mp->st = &p->st;
			mp->st_oid = scppd_status_oid(w);
		}
	}
	scpp_wire_reply_writer_init(&wr, buf, cap);
	rc = scpp_cont_merge(&wr, ct->mparts, n,
			     (w->now - set->start_tsc) * 1000000000ull / scppd_g.tsc_hz, &mg);
	*len = (uint32_t)wr.len;
	if (rc != 0) {
		struct scpp_status st;
		int slen;

		memset(&st, 0, sizeof(st));
		scpp_status_set(&st, rc == -ENOSPC ? -SCPP_E_LIMIT_RESULT : rc, "cluster",
				"block %" PRIu64 ": the merged reply of its %u parts %s; the parts "
				"ran", set->block_id, n, rc == -ENOSPC ?
				"does not fit eval.max_result_bytes" : "could not be written");
		st.block_id = set->block_id;
		st.client = set->client_id;
		st.row = SCPP_STATUS_NO_ROW;
		st.offset = -1;
		slen = scppd_status_reply_encode(w, &st, buf, cap);
		*len = slen < 0 ? 0 : (uint32_t)slen;
	}
	scpp_counter_add(&w->stats.cont_merged, 1);
}

static void
c_freed(struct scppd_worker *w, uint32_t slot)
{
	struct scppd_cont *ct = w->cont;
	struct cont_set *set;
	uint32_t i, next;

	if (ct == NULL || slot >= ct->nset || !ct->set[slot].active)
		return;
	set = &ct->set[slot];
	for (i = set->head; i != CONT_NONE; i = next) {
		struct cont_part *p = &ct->part[i];

		next = p->next;
		cont_part_unsent(w, p);
		scppd_cont_copy_unpin(w, p->pins, &p->npins);
		p->state = P_FREE;
		p->next = ct->free_part;
		ct->free_part = i;
	}
	set->active = 0;
}

static const struct scppd_park_ops cont_ops = {
	.wants = c_wants,
	.before_cmd = c_before_cmd,
	.parked = c_parked,
	.reply = c_reply,
	.freed = c_freed,
	.name = "continuation",
};

void
scppd_cont_register(void)
{
	const struct scpp_config_cluster *cl = &scppd_g.cfg.cluster;

	/* Only where there can be other nodes: a lone node (the embedded
	 * default) keeps every block on the park table's one-load path. */
	if (cl->cont.enabled && (cl->source == SCPP_CONFIG_CLUSTER_ETCD || cl->nb_nodes > 1))
		scppd_park_register(SCPPD_PARK_CONT, &cont_ops);
}

/* ---- start and stop ---- */

void
scppd_cont_origin_init(struct scppd *d, struct scppd_worker *w)
{
	struct scppd_cont *ct = w->cont;
	int socket = (int)rte_lcore_to_socket_id(w->lcore);
	struct scpp_wire_reply_writer wr;
	uint32_t n = d->cfg.cluster.cont.max_pending;

	ct->npart = n;
	ct->nset = d->cfg.delivery.max_parked;
	ct->part = rte_zmalloc_socket("scppd_cont_parts", sizeof(*ct->part) * n, 64, socket);
	/* A set per park slot, then the nested sets (cont_nest.c). */
	ct->set = rte_zmalloc_socket("scppd_cont_sets",
				     sizeof(*ct->set) * (ct->nset + SCPPD_CONT_NEST_MAX), 64, socket);
	ct->mparts = rte_zmalloc_socket("scppd_cont_mparts", sizeof(*ct->mparts) * (n + 1), 64,
					socket);
	ct->merge_cap = d->cfg.eval.max_result_bytes + 4096; /* lib/delivery's reply_max */
	ct->merge = rte_malloc_socket("scppd_cont_merge", ct->merge_cap, 64, socket);
	if (ct->part == NULL || ct->set == NULL || ct->mparts == NULL || ct->merge == NULL)
		rte_exit(EXIT_FAILURE, "scppd: worker %u: %u continuation records of %zu bytes: "
			 "out of memory (cluster.cont.max_pending)\n", w->idx, n, sizeof(*ct->part));
	for (uint32_t i = 0; i < n; i++)
		ct->part[i].next = i + 1 < n ? i + 1 : CONT_NONE;
	ct->free_part = n > 0 ? 0 : CONT_NONE;
	scpp_wire_reply_writer_init(&wr, ct->empty_cols, sizeof(ct->empty_cols));
	(void)scpp_wire_reply_columns(&wr, NULL, 0);
	ct->empty_cols_len = (uint32_t)wr.len;
}

void
scppd_cont_origin_free(struct scppd_worker *w)
{
	struct scppd_cont *ct = w->cont;

	rte_free(ct->part);
	rte_free(ct->set);
	rte_free(ct->mparts);
	rte_free(ct->merge);
	ct->part = NULL;
	ct->set = NULL;
	w->cont_out = 0;
}
