/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Remote copies through continuations (docs/COPY.md "Remote copies"): a
 * `copy` row whose destination lives on node D and whose source lives on
 * the node that ships the row (S, the block's origin) is shipped to D with
 * a COPY_SOURCE extension (docs/PROTOCOL.md §19.1) saying where the source
 * bytes are in S's window; D checks the extension against the windows it
 * attached from the cluster map and READs the bytes from S's arena with
 * its remote engine, one-sided: no byte passes through S's CPU.
 *
 * S (the origin, cont_origin.c part building, through
 * scppd_cont_part_exts() in cont_memwin.c): scppd_cont_copy_source_one()
 * resolves each row's source (a plain value address of this shard, read
 * by scpp_eval_row_copy_src()), checks its range, pins it and writes the
 * extension; the part keeps the pins until its block is freed
 * (scppd_cont_copy_unpin()). S as a nested sender of a third-party copy
 * (cont_nest.c) does the same row by row (scppd_cont_copy_source_one()).
 *
 * D (the owner, cont.c): scppd_cont_copy_rx() collects a CONT's
 * extensions; the evaluator's copy of the part's first command asks
 * remote_read() for a row's bytes, which refuses an extension that does
 * not come from the window's node, names a window not attached, reaches
 * outside it or disagrees with the row's length (EACCES, no READ), and
 * otherwise READs into the evaluation arena, waiting for the completion
 * (bounded by the engine's copy.timeout_ms). The evaluator then writes
 * the destination as for any copy (undo included).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_pause.h>

#include "scpp_cluster.h"
#include "scpp_copy.h"
#include "scppd.h"

/* ---- S: the source's owner ships the row ---- */

/* Row @p i's source as a plain value of this shard the session may read:
 * its address in *@p src, attribute in *@p aid, bytes at *@p ptr of the
 * arena at @p base; false (no COPY_SOURCE for the row) otherwise. */
static bool
source_here(struct scppd_worker *w, const struct scpp_wire_block *b, uint16_t cmd,
	    const struct scpp_eval_rows *rows, uint32_t i, const struct scpp_auth_authority *au,
	    bool count, struct scpp_eval_copy_src *src, int64_t *aid, void **ptr, void **base)
{
	size_t blen;

	if (scpp_eval_row_copy_src(b, cmd, rows, i, src) != 0 ||
	    src->e.hi != scpp_oid_make(scppd_g.cfg.node.locale, scppd_g.cfg.node.id, w->shard, 0,
				       0).hi || src->len == 0)
		return false; /* not this shard's plain value: E_NOT_HERE at D */
	scpp_store_mem_region(w->store, base, &blen);
	*aid = scpp_store_dict_lookup(w->env.dict, src->attr, src->attr_len);
	if (*aid <= 0 || scpp_store_bytes_ptr(w->store, src->e, (uint32_t)*aid, src->off, src->len,
					      ptr) != 0 ||
	    (uint8_t *)*ptr < (uint8_t *)*base ||
	    (uint8_t *)*ptr + src->len > (uint8_t *)*base + blen)
		return false; /* no extent here, or out of range: the copy fails where it runs */
	/* A session's block: its window address only if the session may read
	 * the source (docs/COPY.md "Session blocks"); else none, and the
	 * destination's owner refuses the copy (EACCES) without a READ. */
	if (au != NULL &&
	    scpp_auth_check(au, src->e, (uint32_t)*aid, SCPP_AUTH_OP_GET, NULL) != 0) {
		if (count)
			scpp_counter_add(&w->copy->st.cont_src_denied, 1);
		return false;
	}
	return true;
}

bool
scppd_cont_copy_source_would(struct scppd_worker *w, const struct scpp_wire_block *b,
			     uint16_t cmd, const struct scpp_eval_rows *rows, uint32_t i,
			     const struct scpp_auth_authority *au)
{
	struct scpp_eval_copy_src src;
	void *base, *ptr;
	int64_t aid;

	return source_here(w, b, cmd, rows, i, au, false, &src, &aid, &ptr, &base);
}

int
scppd_cont_copy_source_one(struct scppd_worker *w, const struct scpp_wire_block *b, uint16_t cmd,
			   const struct scpp_eval_rows *rows, uint32_t i, uint32_t row,
			   uint8_t *ext, size_t cap, struct scppd_copy_pin *pin,
			   const struct scpp_auth_authority *au)
{
	struct scppd_copy *c = w->copy;
	struct scpp_eval_copy_src src;
	struct scpp_wire_copy_src x;
	void *base, *ptr;
	int64_t aid;
	int rc;

	if (cap < 2 + SCPP_WIRE_COPY_SRC_LEN ||
	    !source_here(w, b, cmd, rows, i, au, true, &src, &aid, &ptr, &base))
		return 0;
	x = (struct scpp_wire_copy_src){
		.row = row, .window = c->window_oid,
		.offset = (uint64_t)((uint8_t *)ptr - (uint8_t *)base), .length = src.len,
		.pin = ++c->seq,
	};
	if (scpp_store_bytes_pin(w->store, src.e, (uint32_t)aid) != 0)
		return 0;
	rc = scpp_wire_copy_src_encode(ext, cap, &x);
	if (rc < 0) {
		(void)scpp_store_bytes_unpin(w->store, src.e, (uint32_t)aid);
		return 0;
	}
	pin->e = src.e;
	pin->attr = (uint32_t)aid;
	pin->busy = 0;
	return rc; /* counted once its part is sent: scppd_cont_exts_sent() */
}

void
scppd_cont_copy_unpin(struct scppd_worker *w, struct scppd_copy_pin *pins, uint8_t *npins)
{
	for (uint8_t i = 0; i < *npins; i++) {
		if (!scpp_oid_is_nil(pins[i].e))
			(void)scpp_store_bytes_unpin(w->store, pins[i].e, pins[i].attr);
		else if (pins[i].busy != 0) /* a memory window's range (cont_memwin.c) */
			(void)scpp_eval_memwin_busy_release(&w->copy->memwins, pins[i].busy);
		pins[i].busy = 0;
	}
	*npins = 0;
}

/* ---- D: the destination's owner reads ---- */

/* The sender of the CONT being run is node @p node: its address is that
 * node's in the map (or this node's own, through the hand-off ring). */
bool
scppd_cont_sent_by(const struct scppd_cont_copy_rx *rx, uint32_t node)
{
	const struct scpp_cluster_node *n;

	if (rx->from_self)
		return node == scppd_g.cfg.node.id;
	n = scpp_cluster_map_find(scppd_cluster_map(), node);
	return n != NULL && n->state != SCPP_CLUSTER_UNREACHABLE &&
	       rte_cpu_to_be_32(n->rec.ipv4) == rx->sender_ip;
}

int
scppd_cont_copy_src_check(const struct scppd_cont_copy_rx *rx, const struct scpp_wire_copy_src *x,
			  const struct scppd_copy_peer **pp, char *msg, size_t size)
{
	struct scppd_worker *w = rx->w;
	const struct scppd_copy_peer *p;
	char oid[SCPP_OID_STR_MAX];

	scpp_oid_format(oid, sizeof(oid), x->window);
	/* A peer's arena, or its memory window (a source its owner vouched
	 * for, for a copy this node's rewrite resolved to it: read_window()). */
	p = w->copy->remote == NULL ? NULL : scppd_copy_peer_by_window(w, x->window);
	if (p == NULL && w->copy->remote != NULL)
		p = scppd_copy_peer_memwin(w, x->window);
	if (p == NULL) {
		snprintf(msg, size, "copy: window %s is not one this node attached from the cluster "
			 "map; nothing was read", oid);
		return -EACCES;
	}
	if (x->offset > p->len || x->length > p->len - x->offset) {
		snprintf(msg, size, "copy: source %" PRIu64 "+%" PRIu64 " of window %s (%" PRIu64
			 " bytes) for a copy of %" PRIu64 " bytes: outside the window or another "
			 "length; nothing was read", x->offset, x->length, oid, p->len, x->length);
		return -EACCES;
	}
	if (!scppd_cont_sent_by(rx, p->node)) {
		snprintf(msg, size, "copy: a window address from node %" PRIu32 ", which does not own "
			 "window %s (node %" PRIu32 "'s); nothing was read", rx->origin, oid, p->node);
		return -EACCES;
	}
	*pp = p;
	return 0;
}

/* The COPY_SOURCE of row @p row (its index in *@p i), or NULL. */
static const struct scpp_wire_copy_src *
src_of(const struct scppd_cont_copy_rx *rx, uint32_t row, unsigned int *i)
{
	for (*i = 0; *i < rx->n; (*i)++)
		if (rx->src[*i].row == row)
			return &rx->src[*i];
	return NULL;
}

static int read_src(struct scppd_cont_copy_rx *rx, unsigned int i, void *dst, uint64_t len,
		    char *msg, size_t size);

static int
remote_read(void *arg, uint32_t row, void *dst, uint64_t len, char *msg, size_t size)
{
	struct scppd_cont_copy_rx *rx = arg;
	const struct scpp_wire_copy_src *x;
	char oid[SCPP_OID_STR_MAX];
	unsigned int i;

	if ((x = src_of(rx, row, &i)) == NULL)
		return 1;
	if (x->length != len) {
		scpp_oid_format(oid, sizeof(oid), x->window);
		scpp_counter_add(&rx->w->copy->st.cont_src_refused, 1);
		snprintf(msg, size, "copy: source %" PRIu64 "+%" PRIu64 " of window %s for a copy "
			 "of %" PRIu64 " bytes: outside the window or another length; nothing was "
			 "read", x->offset, x->length, oid, len);
		return -EACCES;
	}
	if (scppd_cont_copy_src_kind(rx, x, rx->rewritten, msg, size) != 0) {
		scpp_counter_add(&rx->w->copy->st.cont_src_refused, 1);
		return -EACCES;
	}
	return read_src(rx, i, dst, len, msg, size);
}

int
scppd_cont_copy_src_kind(const struct scppd_cont_copy_rx *rx, const struct scpp_wire_copy_src *x,
			 bool rewritten, char *msg, size_t size)
{
	struct scppd_worker *w = rx->w;
	const struct scppd_copy_peer *arena = w->copy->remote == NULL ? NULL :
					      scppd_copy_peer_by_window(w, x->window);
	bool memwin = w->copy->remote != NULL && scppd_copy_peer_memwin(w, x->window) != NULL;
	char oid[SCPP_OID_STR_MAX];

	scpp_oid_format(oid, sizeof(oid), x->window);
	/* A value's bytes are in its node's arena window; a memory window is
	 * read only for a source this node's rewrite resolved to it. */
	if (!rewritten && arena == NULL && memwin) {
		snprintf(msg, size, "copy: window %s is a memory window, not the arena of a value's "
			 "bytes; nothing was read", oid);
		return -EACCES;
	}
	/* Only a peer's memory window stands for a rewritten source: never an
	 * arena (a store's bytes), whatever range the rewrite gives. */
	if (rewritten && !memwin) {
		if (arena != NULL)
			snprintf(msg, size, "copy: window %s is node %" PRIu32 "'s arena, not a memory "
				 "window: a rewritten source is read only from one; nothing was read",
				 oid, arena->node);
		else
			snprintf(msg, size, "copy: window %s is not a memory window this node "
				 "attached; nothing was read", oid);
		return -EACCES;
	}
	return 0;
}

/* A source this node rewrote to another node's memory window (docs/COPY.md
 * "Memory windows on other nodes"): the window's owner must have named
 * exactly that range. */
static int
remote_read_window(void *arg, uint32_t row, struct scpp_oid win, uint64_t off, void *dst,
		   uint64_t len, char *msg, size_t size)
{
	struct scppd_cont_copy_rx *rx = arg;
	const struct scpp_wire_copy_src *x;
	char oid[SCPP_OID_STR_MAX], mine[SCPP_OID_STR_MAX];
	unsigned int i;

	if ((x = src_of(rx, row, &i)) == NULL)
		return 1;
	if (scppd_cont_copy_src_kind(rx, x, true, msg, size) != 0) {
		scpp_counter_add(&rx->w->copy->st.cont_src_refused, 1);
		return -EACCES;
	}
	if (!scpp_oid_eq(x->window, win) || x->offset != off || x->length != len) {
		scpp_oid_format(oid, sizeof(oid), x->window);
		scpp_oid_format(mine, sizeof(mine), win);
		scpp_counter_add(&rx->w->copy->st.cont_src_refused, 1);
		snprintf(msg, size, "copy: node %" PRIu32 " named source %s + %" PRIu64 " (%" PRIu64
			 " bytes), this node's rewrite gives %s + %" PRIu64 " (%" PRIu64 " bytes); "
			 "nothing was read", rx->origin, oid, x->offset, x->length, mine, off, len);
		return -EACCES;
	}
	return read_src(rx, i, dst, len, msg, size);
}

/* READ source @p i of @p rx into @p dst (its length checked). */
static int
read_src(struct scppd_cont_copy_rx *rx, unsigned int i, void *dst, uint64_t len, char *msg,
	 size_t size)
{
	struct scppd_worker *w = rx->w;
	struct scppd_copy *c = w->copy;
	const struct scpp_wire_copy_src *x = &rx->src[i];
	const struct scppd_copy_peer *p = NULL;
	struct scpp_copy_cpl cpl;
	struct scpp_copy_op op;
	char oid[SCPP_OID_STR_MAX];
	int rc;

	/* Read already, while the CONT was parked on it (cont_read.c). */
	if (rx->pre != NULL)
		return scppd_cont_read_take(rx, i, dst, len, msg, size);
	scpp_oid_format(oid, sizeof(oid), x->window);
	rc = scppd_cont_copy_src_check(rx, x, &p, msg, size);
	if (rc != 0) {
		scpp_counter_add(&c->st.cont_src_refused, 1);
		return rc;
	}
	op = (struct scpp_copy_op){.user = ++c->seq, .dst = dst, .remote = p->rw,
				   .remote_off = x->offset, .len = len, .kind = SCPP_COPY_READ};
	if (scpp_copy_submit_burst(c->remote, &op, 1) != 1) {
		snprintf(msg, size, "copy: the %s engine took no READ from window %s (ring full or "
			 "invalid)", c->remote_caps.engine, oid);
		scpp_counter_add(&c->st.cont_read_failed, 1);
		return -EBUSY;
	}
	/* One READ in flight from this worker's loop: the completions of the
	 * remote instance are ours until it completes (bounded by the engine's
	 * timeout, copy.timeout_ms). */
	for (;;) {
		if (scpp_copy_poll_burst(c->remote, &cpl, 1) == 1) {
			if (cpl.user == op.user)
				break;
			if (cpl.user & SCPPD_CONT_READ_TAG) /* a parked CONT's, before ours */
				scppd_cont_read_cpl(w, &cpl);
		}
		rte_pause();
	}
	/* Past the sender's deadline its pin may be gone and the bytes no
	 * longer the source's: never a copy done after it. */
	if (cpl.status == 0 && rte_get_tsc_cycles() > rx->deadline_tsc)
		cpl.status = -ETIMEDOUT;
	if (cpl.status != 0) {
		scpp_counter_add(&c->st.cont_read_failed, 1);
		snprintf(msg, size, "copy: READ of %" PRIu64 " bytes from window %s of node %" PRIu32
			 " by the %s engine failed: %s", len, oid, p->node, c->remote_caps.engine,
			 strerror(-cpl.status));
		return cpl.status;
	}
	scpp_counter_add(&c->st.cont_reads, 1);
	scpp_counter_add(&c->st.cont_read_bytes, len);
	return 0;
}

int
scppd_cont_copy_rx(struct scppd_worker *w, const struct scpp_wire_cont *c,
		   struct scppd_cont_copy_rx *rx)
{
	int n;

	rx->n = 0;
	if (c->ext_len == 0)
		return 0;
	n = scpp_wire_cont_copy_srcs(c, rx->src, SCPPD_COPY_SRC_MAX);
	if (n <= 0)
		return n;
	rx->n = (unsigned int)n;
	rx->w = w;
	rx->origin = c->origin;
	rx->deadline_tsc = rte_get_tsc_cycles() + (uint64_t)c->timeout_ms * scppd_g.tsc_hz / 1000;
	rx->rs = (struct scpp_eval_remote_src){.cmd = c->start, .read = remote_read,
					       .read_window = remote_read_window, .arg = rx};
	return n;
}
