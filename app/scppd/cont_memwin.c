/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Copies into another node's memory window (docs/COPY.md "Memory windows
 * on other nodes", PROTOCOL.md §19.1 MEMORY_WINDOW): the node that owns a
 * Process and its Extents rewrites `offset(value(P, vmas[a]), n)` to an
 * RmaWindow + offset (lib/eval); when that window is a memory window of
 * node W in the cluster map, the row goes to W's shard as a continuation
 * starting at the copy, with a MEMORY_WINDOW extension saying where that
 * end is (and, for a source value this shard owns, a COPY_SOURCE). W, the
 * only node that vouches for its window, checks the extension and copies.
 *
 * Sender (the origin, cont_origin.c): scppd_cont_memwin_there() is the
 * splitting rule's second opinion for rows that would run here,
 * scppd_cont_part_cut() cuts an owner's rows into as many parts as their
 * MEMORY_WINDOW extensions need, and scppd_cont_part_exts() writes a
 * part's extensions. Both resolve the row
 * with scpp_eval_row_copy_memwin(), which checks what the copy would
 * check here (the rewrite's and the Extent's rights, the Extent's range):
 * a row that fails them stays, and fails here with its own status.
 *
 * Receiver (the window's owner, cont.c): scppd_cont_memwin_rx() hands the
 * extensions to the evaluator (scpp_eval_env.remote_memwin) with the
 * sender's node id only when the CONT came from that node's address; the
 * evaluator checks the rest (lib/eval vouched_addr(), window_bytes()).
 * A row whose source is the window and whose destination is a value of
 * another node (the sender's, typically) goes on from the receiver as a
 * nested part (cont_nest.c) with a COPY_SOURCE naming the window, once
 * scppd_cont_memwin_nest() made the evaluator's checks itself; the
 * destination's owner READs it only for the range its own rewrite gives
 * (cont_copy.c remote_read_window()). Meanwhile that range of the window
 * is busy (lib/eval eval_busy.c): a copy into it is refused with EBUSY
 * until the part's pins go (scppd_cont_copy_unpin()).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "scpp_cluster.h"
#include "scppd.h"
#include "cont_priv.h"

void
scppd_cont_memo_drop(struct scppd_worker *w)
{
	struct cont_memo *m = &w->cont->memo;

	if (m->b == NULL)
		return;
	m->b = NULL;
	if (++m->gen == 0) { /* every 2^32 stops: no old entry may match */
		memset(m->row_gen, 0, sizeof(m->row_gen));
		m->gen = 1;
	}
}

/* Row @p i's copy end in another node's memory window, resolved now. */
static bool
resolve_row(struct scppd_worker *w, const struct scpp_wire_block *b, uint16_t cmd,
	    const struct scpp_eval_rows *rows, size_t i, struct scpp_wire_memwin *x,
	    struct scpp_oid *owner)
{
	const struct scppd_copy_peer *p;

	scpp_counter_add(&w->copy->st.memwin_resolves, 1);
	if (scpp_eval_row_copy_memwin(w->ectx, &w->env, b, cmd, rows, i, x) != 0)
		return false;
	p = scppd_copy_peer_memwin(w, x->window);
	/* The window's OID names its shard: it must be the record's. */
	if (p == NULL || scpp_oid_node(x->window) != p->node ||
	    scpp_oid_shard(x->window) != p->shard)
		return false;
	*owner = scpp_oid_make(scpp_oid_locale(x->window), p->node, p->shard, 0, 0);
	return true;
}

/* Row @p i's copy end in another node's memory window, whose shard is
 * then *@p owner (its /64): resolved once per row of the stop (the memo),
 * however many times the hook, the splitting rule and the parts ask. */
static bool
peer_memwin_row(struct scppd_worker *w, const struct scpp_wire_block *b, uint16_t cmd,
		const struct scpp_eval_rows *rows, size_t i, struct scpp_wire_memwin *x,
		struct scpp_oid *owner)
{
	struct cont_memo *m = &w->cont->memo;

	if (w->copy == NULL || w->copy->remote == NULL ||
	    scpp_counter_read(&w->copy->st.peer_memwins) == 0 || b->cmd[cmd].op != SCPP_OP_COPY)
		return false;
	/* Only the hook sees such a row (the split refuses the stop), once. */
	if (i >= SCPPD_MEMO_ROWS)
		return resolve_row(w, b, cmd, rows, i, x, owner);
	if (m->b != b || m->cmd != cmd) {
		scppd_cont_memo_drop(w);
		m->b = b;
		m->cmd = cmd;
		if (m->gen == 0)
			m->gen = 1; /* the first stop of a zeroed memo */
	}
	if (m->row_gen[i] != m->gen) {
		m->there[i] = resolve_row(w, b, cmd, rows, i, &m->x[i], owner) ? 1 : 0;
		m->row_gen[i] = m->gen;
	}
	if (!m->there[i])
		return false;
	*x = m->x[i];
	/* resolve_row()'s owner: the shard the window's OID names. */
	*owner = scpp_oid_make(scpp_oid_locale(x->window), scpp_oid_node(x->window),
			       scpp_oid_shard(x->window), 0, 0);
	return true;
}

bool
scppd_cont_memwin_there(void *arg, const struct scpp_wire_block *b, uint16_t cmd,
			const struct scpp_eval_rows *rows, size_t i, struct scpp_oid *owner)
{
	struct scpp_wire_memwin x;

	return peer_memwin_row(arg, b, cmd, rows, i, &x, owner);
}

bool
scppd_cont_memwin_rows(struct scppd_worker *w, const struct scpp_wire_block *b, uint16_t cmd)
{
	struct scpp_eval_rows rows;
	struct scpp_oid o;

	if (cmd >= b->ncmds || b->cmd[cmd].op != SCPP_OP_COPY ||
	    scpp_eval_ctx_rows(w->ectx, &rows) != 0)
		return false;
	for (size_t i = 0; i < rows.n; i++)
		if (scppd_cont_memwin_there(w, b, cmd, &rows, i, &o))
			return true;
	return false;
}

uint32_t
scppd_cont_part_cut(struct scppd_worker *w, const struct scpp_wire_block *b, uint16_t cmd,
		    const struct scpp_eval_susp *s, struct scpp_oid owner, const uint32_t *idx,
		    uint32_t n, size_t cap, const struct scpp_auth_authority *au)
{
	const size_t pair = 2 + SCPP_WIRE_MEMWIN_LEN + 2 + SCPP_WIRE_COPY_SRC_LEN;
	const size_t src = 2 + SCPP_WIRE_COPY_SRC_LEN;
	struct scpp_eval_rows rows;
	size_t at = 0;
	unsigned int npins = 0;
	bool mw = false;

	if (w->copy == NULL || w->copy->remote == NULL ||
	    scpp_counter_read(&w->copy->st.peer_memwins) == 0 || cmd >= b->ncmds ||
	    b->cmd[cmd].op != SCPP_OP_COPY || scpp_eval_susp_rows(s, &rows) != 0)
		return n; /* no MEMORY_WINDOW in any part */
	/* scppd_cont_part_exts()'s layout, pins aside (a pin that fails
	 * only leaves more room there). */
	for (uint32_t k = 0; k < n; k++) {
		struct scpp_wire_memwin x;
		struct scpp_oid o;

		if (peer_memwin_row(w, b, cmd, &rows, idx[k], &x, &o) && o.hi == owner.hi) {
			if (cap - at < pair)
				return k; /* row k begins the next part (0: none holds it) */
			at += 2 + SCPP_WIRE_MEMWIN_LEN;
			mw = true;
		}
		if (npins >= SCPPD_COPY_SRC_MAX)
			continue;
		if (cap - at >= src && scppd_cont_copy_source_would(w, b, cmd, &rows, idx[k], au)) {
			at += src;
			npins++;
		} else if (cap - at < src && mw &&
			   scppd_cont_copy_source_would(w, b, cmd, &rows, idx[k], au)) {
			/* A row whose source needs a COPY_SOURCE, after memory window
			 * rows filled the area: the next part, never this one without
			 * it (it would meet E_NOT_HERE there and abort the part). A
			 * part without MEMORY_WINDOWs keeps the limit of 5 remote
			 * sources (and 1 behind a principal) of any remote copy. */
			return k; /* k > 0: a memory window row came first */
		}
	}
	return n;
}

int
scppd_cont_memwin_third(struct scppd_worker *w, const struct scpp_wire_block *b, uint16_t cmd,
			const struct scpp_eval_susp *s, char *msg, size_t size)
{
	struct scpp_eval_rows rows;

	if (w->copy == NULL || w->copy->remote == NULL ||
	    scpp_counter_read(&w->copy->st.peer_memwins) == 0 || cmd >= b->ncmds ||
	    b->cmd[cmd].op != SCPP_OP_COPY || scpp_eval_susp_rows(s, &rows) != 0)
		return 0;
	for (size_t i = 0; i < rows.n; i++) {
		struct scpp_eval_copy_end oe;
		struct scpp_wire_memwin x;
		struct scpp_oid o;

		if (!peer_memwin_row(w, b, cmd, &rows, i, &x, &o) ||
		    scpp_eval_row_copy_end(b, cmd, &rows, i, x.dir == SCPP_WIRE_MEMWIN_INTO ? 1 : 0,
					   &oe) != 0 || oe.keyed || oe.e.hi == 0 ||
		    oe.e.hi == w->env.node.hi || oe.e.hi == o.hi)
			continue;
		/* The value's owner D could vouch for neither the rewrite (E's)
		 * nor the window (W's), and W takes a window address only from E.
		 * Only this command's rows are unshipped: parts shipped at earlier
		 * commands of the block ran (PROTOCOL.md §19.5). */
		scpp_counter_add(&w->copy->st.memwin_third_refused, 1);
		snprintf(msg, size, "copy at command %u, row %zu: node %u's memory window and a value "
			 "of node %u shard %u, a third shard: not supported; no row of this "
			 "command was shipped",
			 cmd, i, scpp_oid_node(o), scpp_oid_node(oe.e), scpp_oid_shard(oe.e));
		return -EOPNOTSUPP;
	}
	return 0;
}

int
scppd_cont_part_exts(struct scppd_worker *w, const struct scpp_wire_block *b, uint16_t cmd,
		     const struct scpp_eval_susp *s, struct scpp_oid owner, const uint32_t *idx,
		     uint32_t n, uint8_t *ext, size_t cap, struct scppd_copy_pin *pins,
		     uint8_t *npins, const struct scpp_auth_authority *au)
{
	const size_t pair = 2 + SCPP_WIRE_MEMWIN_LEN + 2 + SCPP_WIRE_COPY_SRC_LEN;
	struct scpp_eval_rows rows;
	size_t at = 0;

	*npins = 0;
	if (w->copy == NULL || w->copy->remote == NULL || cmd >= b->ncmds ||
	    b->cmd[cmd].op != SCPP_OP_COPY || scpp_eval_susp_rows(s, &rows) != 0)
		return 0;
	for (uint32_t k = 0; k < n; k++) {
		struct scpp_wire_memwin x;
		struct scpp_oid o;
		int rc;

		/* A memory window end, with room for its source's COPY_SOURCE
		 * too: a row with only one of them fails at the window's owner.
		 * Only for a part going to the window's node: any other node
		 * would refuse it (the row's other end took it there). */
		if (cap - at >= pair && peer_memwin_row(w, b, cmd, &rows, idx[k], &x, &o) &&
		    o.hi == owner.hi) {
			x.row = k;
			rc = scpp_wire_memwin_encode(ext + at, cap - at, &x);
			if (rc > 0)
				at += (size_t)rc; /* counted once sent: scppd_cont_exts_sent() */
		}
		if (*npins >= SCPPD_COPY_SRC_MAX)
			continue;
		rc = scppd_cont_copy_source_one(w, b, cmd, &rows, idx[k], k, ext + at, cap - at,
						&pins[*npins], au);
		if (rc > 0) {
			at += (size_t)rc;
			(*npins)++;
		}
	}
	return (int)at;
}

int
scppd_cont_memwin_rx(struct scppd_worker *w, const struct scpp_wire_cont *c,
		     struct scppd_cont_copy_rx *rx)
{
	int n;

	rx->nmw = 0;
	if (c->ext_len == 0 || w->env.memwins == NULL || w->copy == NULL)
		return 0;
	n = scpp_wire_cont_memwins(c, rx->mw, SCPPD_MEMWIN_EXT_MAX);
	if (n <= 0)
		return n;
	rx->nmw = (unsigned int)n;
	rx->rm = (struct scpp_eval_remote_memwin){
		.cmd = c->start, .n = (uint16_t)n, .x = rx->mw, .unguarded = 0,
		.sender = scppd_cont_sent_by(rx, c->origin) ? c->origin : 0,
	};
	scpp_counter_add(&w->copy->st.cont_memwin_rx, (uint64_t)n);
	return n;
}

/* This shard's memory window @p oid, or NULL. */
static struct scpp_eval_memwin *
own_memwin(const struct scppd_worker *w, struct scpp_oid oid)
{
	const struct scpp_eval_memwins *m = w->env.memwins;

	for (uint16_t k = 0; m != NULL && k < m->n; k++)
		if (scpp_oid_eq(m->win[k].oid, oid))
			return &m->win[k];
	return NULL;
}

int
scppd_cont_memwin_nest(struct scppd_worker *w, const struct scpp_wire_cont *c,
		       const struct scpp_eval_rows *rows, uint32_t i, uint32_t row,
		       uint8_t *ext, size_t cap, struct scppd_copy_pin *pin)
{
	struct scppd_cont_copy_rx *rx = &w->cont->copy_rx;
	const struct scpp_wire_memwin *x = NULL;
	struct scpp_eval_copy_end end, dst;
	struct scpp_eval_memwin *mw;
	struct scpp_wire_copy_src s;
	unsigned int k;
	uint32_t busy;
	int rc;

	for (k = 0; k < rx->nmw; k++)
		if (rx->mw[k].row == i) {
			x = &rx->mw[k];
			break;
		}
	if (x == NULL)
		return 0;
	/* The evaluator's checks (lib/eval vouched_addr(), vouched_len(),
	 * window_bytes()), without a principal: a nested part is never a
	 * session block's. Any failure: the copy runs here and says why. */
	if (x->dir != SCPP_WIRE_MEMWIN_OUT ||
	    scpp_eval_row_copy_end(w->cont->blk, c->start, rows, i, 1, &end) != 0 || !end.keyed ||
	    rx->rm.sender == 0 || scpp_oid_node(end.e) != rx->rm.sender ||
	    scpp_oid_locale(end.e) != scpp_oid_locale(w->env.node) || end.len != x->length ||
	    (mw = own_memwin(w, x->window)) == NULL || x->offset > mw->len ||
	    x->length > mw->len - x->offset ||
	    scpp_eval_row_copy_end(w->cont->blk, c->start, rows, i, 0, &dst) != 0)
		return -1;
	s = (struct scpp_wire_copy_src){.row = row, .window = x->window, .offset = x->offset,
					.length = x->length, .pin = 0};
	rc = scpp_wire_copy_src_encode(ext, cap, &s);
	if (rc <= 0)
		return -1;
	/* A memory window never moves: nothing to pin (the part unpins nil;
	 * counted once the part is sent: scppd_cont_exts_sent()). Its range is busy
	 * until the part's pins go (answered, or given up and its grace
	 * over): a copy into it meanwhile is refused (lib/eval window_busy()).
	 * No room to guard it: not shipped, and the copy here fails EBUSY. */
	if (scpp_eval_memwin_busy_take(&w->copy->memwins, x->window, x->offset, x->length,
				       scpp_oid_node(dst.e), &busy) != 0) {
		rx->rm.unguarded |= 1u << k;
		scpp_counter_add(&w->copy->st.memwin_busy_full, 1);
		return -1;
	}
	memset(pin, 0, sizeof(*pin));
	pin->busy = busy;
	return rc;
}

void
scppd_cont_exts_sent(struct scppd_worker *w, const uint8_t *ext, size_t len)
{
	for (size_t o = 0; w->copy != NULL && o + 2 <= len && ext[o + 1] <= len - o - 2;
	     o += 2 + ext[o + 1]) {
		struct scpp_wire_copy_src x;
		struct scpp_eval_memwin *mw;

		if (ext[o] == SCPP_WIRE_CONT_EXT_MEMWIN) {
			scpp_counter_add(&w->copy->st.cont_memwin_sent, 1);
		} else if (ext[o] == SCPP_WIRE_CONT_EXT_COPY_SRC &&
			   scpp_wire_copy_src_decode(ext + o + 2, ext[o + 1], &x) == 0 &&
			   (mw = own_memwin(w, x.window)) != NULL) {
			/* This shard's window, the source of a nested part's row. */
			mw->copies_out++;
			mw->bytes_out += x.length;
			mw->remote_out++;
		} else if (ext[o] == SCPP_WIRE_CONT_EXT_COPY_SRC) {
			scpp_counter_add(&w->copy->st.cont_src_sent, 1);
		}
	}
}
