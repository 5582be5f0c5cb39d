/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The copy command (docs/COPY.md): address terms and their rewriting
 * (VMA map entries to Extent data or an RmaWindow + offset), copies
 * through the env's copy engine (synchronous or in flight while the
 * command goes through its rows), memory windows (this shard's, and
 * another node's through the MEMORY_WINDOW extension and COPY_SOURCE),
 * and remote sources. The rest of the evaluator is eval.c's; this file
 * reaches it through the eval_run_*() services of eval_priv.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "eval_priv.h"
#include "scpp_schema.h"

static const char *
otext(char *buf, size_t size, struct scpp_oid o)
{
	scpp_oid_format(buf, size, o);
	return buf;
}

/* ---------------------------------------------------------- address terms */

const struct scpp_wire_term *
eval_addr_base(const struct scpp_wire_block *b, uint16_t ti,
	       bool (*each)(void *arg, uint16_t off_term), void *arg)
{
	const struct scpp_wire_term *t = &b->term[ti];
	int depth = 0;

	while (t->kind == SCPP_TERM_OFFSET && depth++ <= SCPP_WIRE_NEST_MAX) {
		if (each != NULL && !each(arg, t->b))
			return NULL;
		t = &b->term[t->a];
	}
	return t->kind == SCPP_TERM_OFFSET ? NULL : t;
}

/* A resolved byte address: value(e, a) plus an offset, or (rewritten from
 * an Extent that names one) an RmaWindow plus an offset. */
struct addr {
	struct scpp_oid e;
	int64_t aid;
	uint64_t off;
	bool window;          /* win + off, not a value */
	struct scpp_oid win;  /* the RmaWindow */
	uint64_t woff;        /* the extent's offset in it (Extent.window_offset) */
	struct scpp_oid ext;  /* the Extent it came from */
	uint64_t ext_len;     /* that Extent's length */
	/* The window end as another node resolved it (a MEMORY_WINDOW
	 * extension, docs/COPY.md "Memory windows on other nodes"), or NULL. */
	const struct scpp_wire_memwin *mw;
};

/* Attribute id of a name the schema declares, or <= 0 when nothing has it. */
static int64_t
known_id(struct run *r, const char *name)
{
	return eval_name_id(r->ctx, r->env, (const uint8_t *)name, (uint32_t)strlen(name), false);
}

/*
 * Address rewriting (seed §4.5, docs/PROTOCOL.md "Addresses"): an address
 * value(P, m[k]) whose map entry holds an Extent (Process.vmas: u64 ->
 * Extent) names that extent's bytes. When the store holds them (Extent.data)
 * the address becomes value(X, data); when the extent is exposed by an
 * RmaWindow instead (Extent.window, Extent.window_offset), it becomes the
 * window plus that offset. Offsets applied to the address apply within the
 * extent.
 */
static int
rewrite_extent(struct run *r, struct addr *a, const struct scpp_value *key)
{
	struct scpp_store *s = r->env->store;
	struct scpp_value v, w;
	int64_t id;
	char b1[64];
	int rc;

	/* Rewriting reads the map entry: a read of (P, m) like any other. */
	if ((rc = eval_run_authorize(r, "address", a->e, a->aid, SCPP_AUTH_OP_GET)) < 0)
		return rc;
	rc = scpp_store_map_get(s, a->e, (uint32_t)a->aid, key, &v);
	if (rc == -ENOENT && !eval_run_local(r, a->e) && !scpp_store_entity_exists(s, a->e))
		return eval_run_not_here(r, a->e);
	if (rc < 0)
		return eval_run_store_fail(r, rc, "address", a->e, a->aid);
	if (v.type != SCPP_VT_OID)
		return eval_run_fail(r, -SCPP_E_TYPE, "addresses name plain attributes, or map entries "
			    "that hold an Extent");
	if ((rc = eval_run_step(r, 1)) < 0)
		return rc;
	a->ext = v.oid;
	if (!scpp_store_entity_exists(s, a->ext))
		return eval_run_local(r, a->ext) ? eval_run_fail(r, -ENOENT, "address: extent %s does not exist",
						  otext(b1, sizeof(b1), a->ext))
					   : eval_run_not_here(r, a->ext);
	id = known_id(r, "data");
	if (id > 0 && scpp_store_get(s, a->ext, (uint32_t)id, &w) == 0) {
		a->e = a->ext;
		a->aid = id;
		return 0;
	}
	id = known_id(r, "window");
	if (id > 0 && scpp_store_get(s, a->ext, (uint32_t)id, &w) == 0 && w.type == SCPP_VT_OID) {
		a->window = true;
		a->win = w.oid;
		id = known_id(r, "window_offset");
		if (id > 0 && scpp_store_get(s, a->ext, (uint32_t)id, &v) == 0 &&
		    v.type == SCPP_VT_U64)
			a->woff = v.u;
		id = known_id(r, "length");
		a->ext_len = UINT64_MAX;
		if (id > 0 && scpp_store_get(s, a->ext, (uint32_t)id, &v) == 0 &&
		    v.type == SCPP_VT_U64)
			a->ext_len = v.u;
		return 0;
	}
	return eval_run_fail(r, -ENOENT, "address: extent %s holds neither data nor a window",
		    otext(b1, sizeof(b1), a->ext));
}

static int
resolve_addr(struct run *r, const struct row *in, uint16_t ti, bool intern, struct addr *a)
{
	const struct scpp_wire_term *t = &r->b->term[ti];
	struct scpp_value key;
	uint64_t n;
	bool keyed;
	int rc;

	if (t->kind == SCPP_TERM_OFFSET) {
		rc = resolve_addr(r, in, t->a, intern, a);
		if (rc < 0)
			return rc;
		if ((rc = eval_run_len(r, in, t->b, "offset", &n)) < 0)
			return rc;
		if (a->off + n < a->off)
			return eval_run_fail(r, -ERANGE, "offset overflows");
		a->off += n;
		return 0;
	}
	SCPP_VERIFY(t->kind == SCPP_TERM_VALUE); /* the decoder guarantees it */
	memset(a, 0, sizeof(*a));
	rc = eval_run_target_key(r, in, t->a, t->b, intern, &a->e, &a->aid, &keyed, &key);
	if (rc < 0)
		return rc;
	if (a->aid == AID_ENTITY)
		return eval_run_fail(r, -SCPP_E_TYPE, "addresses name plain attributes, not map entries");
	if (keyed)
		return rewrite_extent(r, a, &key);
	return 0;
}

/*
 * `copy` through the env's copy engine, between two extent values of this
 * shard into an existing bytes value whose attributes are not indexed:
 * 0 (copied), <0 (failed: the undo log restores the destination), or 1
 * when the copy is not one for the engine (the caller copies on the CPU).
 * Both values are pinned while the engine works (docs/STORE.md).
 */
/*
 * Asynchronous copies (scpp_eval_copier.submit): a copy command's copies
 * are in flight together while the command goes through its rows; the
 * block waits for them (eval_acopy_wait_all()) before anything reads or writes
 * their bytes again, then applies their outcomes as if each had completed
 * in its own row (eval_acopy_settle()). Their save buffers belong to the
 * copier until the block ends (eval_acopy_release()), since the undo log
 * points into them.
 */

/* A row's copy completed (for the block's COPY records). */
static inline void
copied(struct run *r, uint16_t cmd, uint64_t len, bool offloaded)
{
	if (SCPP_UNLIKELY(r->cres))
		eval_cres_add(r->ctx, cmd, len, offloaded);
}

/* Wait for every copy in flight; unpin both values of each. A failed copy
 * whose save did not complete never wrote: its undo record goes. */
void
eval_acopy_wait_all(struct run *r)
{
	const struct scpp_eval_copier *cp = r->env->copier;
	struct scpp_store *s = r->env->store;
	struct scpp_eval_ctx *c = r->ctx;

	for (; c->acopy_wait < c->nacopy; c->acopy_wait++) {
		struct eval_acopy *a = &c->acopy[c->acopy_wait];
		struct scpp_eval_copy_done done;

		memset(&done, 0, sizeof(done));
		a->status = cp->wait(cp->arg, a->handle, &done);
		a->elapsed_ns = done.elapsed_ns;
		a->engine = done.engine;
		a->saved = done.saved;
		a->waited = true;
		scpp_store_bytes_unpin(s, a->dst_e, a->dst_a);
		scpp_store_bytes_unpin(s, a->src_e, a->src_a);
		if (a->status != 0 && !a->saved)
			c->undo[a->undo].kind = UNDO_NONE;
	}
}

/*
 * Wait for the copies in flight and apply their outcomes in order: a
 * failed copy under a status variable is collected for its row, its
 * destination restored at once; one without aborts the block (returned,
 * stamped with its command and row).
 */
int
eval_acopy_settle(struct run *r)
{
	struct scpp_eval_ctx *c = r->ctx;
	uint16_t first = c->acopy_wait, cmd_index = r->cmd_index;
	uint32_t row = r->row;
	bool quiet = r->quiet;
	int rc = 0;

	eval_acopy_wait_all(r);
	if (SCPP_UNLIKELY(r->cres)) {
		uint64_t now = eval_clock_now(r);

		for (uint16_t i = first; i < c->nacopy; i++)
			eval_cres_end(c, c->acopy[i].cmd, now);
	}
	for (uint16_t i = first; rc == 0 && i < c->nacopy; i++) {
		struct eval_acopy *a = &c->acopy[i];
		const struct scpp_wire_cmd *cmd = &r->b->cmd[a->cmd];
		struct undo *u = &c->undo[a->undo];

		if (a->status == 0) {
			copied(r, a->cmd, a->len, true);
			continue;
		}
		r->cmd_index = a->cmd;
		r->row = a->row;
		rc = eval_run_fail(r, a->status, "copy: the %s engine failed after %llu ns: %s",
			  a->engine != NULL ? a->engine : r->env->copier->engine,
			  (unsigned long long)a->elapsed_ns,
			  scpp_strerror(a->status));
		eval_run_stamp(r, &r->st);
		if (!(cmd->flags & SCPP_WIRE_CF_STATUS))
			break;
		/* The row keeps going (copy only writes): its destination
		 * gets its bytes back now, as the per-row rollback does. */
		if (u->kind == UNDO_COPY)
			SCPP_VERIFY(scpp_store_bytes_write(r->env->store, u->oid, u->attr, u->off,
							   u->old.len, u->old.p) == 0);
		u->kind = UNDO_NONE;
		r->quiet = c->nstat >= c->lim.max_statuses;
		eval_run_collect(r, cmd);
		rc = 0;
	}
	r->cmd_index = cmd_index;
	r->row = row;
	r->quiet = quiet;
	return rc;
}

/*
 * A hold (scpp_eval.h): the block's copies, in flight or not yet released,
 * go to the suspension after what eval_susp_hold_save() put there (room
 * counted by hold()), so that the block settles them when it resumes (the
 * worker resumes it when the last one completed) or waits for them before
 * it is undone; their UNDO_COPY records went with the log, their save
 * buffers stay where they are (the copier's, until released).
 */
void
eval_acopy_hold_save(struct scpp_eval_ctx *ctx, struct scpp_eval_susp *s)
{
	size_t off = (s->used + 7) & ~(size_t)7;

	SCPP_VERIFY(off + (size_t)ctx->nacopy * sizeof(struct eval_acopy) <= s->cap);
	memcpy(s->mem + off, ctx->acopy, (size_t)ctx->nacopy * sizeof(struct eval_acopy));
	s->acopy_off = off;
	s->nacopy = ctx->nacopy;
	s->acopy_wait = ctx->acopy_wait;
	s->used = off + (size_t)ctx->nacopy * sizeof(struct eval_acopy);
	ctx->nacopy = 0;
	ctx->acopy_wait = 0;
}

void
eval_acopy_hold_restore(struct scpp_eval_ctx *ctx, struct scpp_eval_susp *s)
{
	memcpy(ctx->acopy, s->mem + s->acopy_off, (size_t)s->nacopy * sizeof(struct eval_acopy));
	ctx->nacopy = s->nacopy;
	ctx->acopy_wait = s->acopy_wait;
	ctx->held_copies -= s->held_copies;
	s->held_copies = 0;
}

/*
 * Reads while a held block's copies are in flight: a value whose bytes a
 * copy in flight writes may hold its old, its new or partly copied bytes,
 * so reading it (a get binding it, val(), read()) fails with EBUSY naming
 * it, as writes into a held entity do; reading a copy's source is fine.
 * Costs one load per read while no held block has copies in flight.
 */
static SCPP_COLD int
read_busy_fail(struct run *r, struct scpp_oid e, int64_t aid)
{
	char o[SCPP_OID_STR_MAX];
	size_t n = 0;
	const char *name = aid > 0 ? scpp_store_dict_name(r->env->dict, (uint32_t)aid, &n) : NULL;

	scpp_counter_add(&r->ctx->st.busy_reads, 1);
	return eval_run_fail(r, -EBUSY, "%s %s.%.*s: a parked block's copy is writing these bytes (until "
		    "it completes); retry", scpp_wire_op_name[r->b->cmd[r->cmd_index].op],
		    otext(o, sizeof(o), e), (int)n, name != NULL ? name : "");
}

static inline int
read_busy(struct run *r, struct scpp_oid e, int64_t aid, const void *p, uint64_t len)
{
	const struct scpp_eval_copier *cp = r->env->copier;

	if (SCPP_LIKELY(r->ctx->held_copies == 0) || len == 0 || cp == NULL ||
	    cp->writing == NULL || !cp->writing(cp->arg, p, len))
		return 0;
	return read_busy_fail(r, e, aid);
}

int
eval_run_read_busy(struct run *r, struct scpp_oid e, int64_t aid, const void *p, uint64_t len)
{
	return read_busy(r, e, aid, p, len);
}

bool
scpp_eval_copies_inflight(const struct scpp_eval_ctx *ctx, uint64_t *last)
{
	if (ctx->acopy_wait >= ctx->nacopy)
		return false;
	*last = ctx->acopy[ctx->nacopy - 1].handle;
	return true;
}

/* The block ended (committed or undone): its copies' save buffers go back. */
void
eval_acopy_release(struct run *r)
{
	const struct scpp_eval_copier *cp = r->env->copier;
	struct scpp_eval_ctx *c = r->ctx;

	eval_acopy_wait_all(r);
	for (uint16_t i = 0; i < c->nacopy; i++)
		cp->release(cp->arg, c->acopy[i].handle);
	c->nacopy = 0;
	c->acopy_wait = 0;
}

/* Whether a term reads nothing but constants and variables. */
static bool
plain_term(const struct run *r, uint16_t ti, unsigned int depth)
{
	const struct scpp_wire_term *t = &r->b->term[ti];

	switch (t->kind) {
	case SCPP_TERM_CONST:
	case SCPP_TERM_VAR:
		return true;
	case SCPP_TERM_KEY:
	case SCPP_TERM_VALUE:
	case SCPP_TERM_OFFSET:
		return depth < 4 && plain_term(r, t->a, depth + 1) &&
		       plain_term(r, t->b, depth + 1);
	default:
		return false;
	}
}

/* A copy command whose rows may have their copies in flight together:
 * nothing it evaluates per row (a guard, an expression in its terms)
 * reads bytes an earlier row's copy may still be writing. */
static bool
plain_copy(const struct run *r, const struct scpp_wire_cmd *cmd)
{
	return !(cmd->flags & SCPP_WIRE_CF_GUARD) && plain_term(r, cmd->term[0], 0) &&
	       plain_term(r, cmd->term[1], 0) && plain_term(r, cmd->term[2], 0);
}

/* Start one asynchronous copy: 0, 1 (not now: the caller uses copy()) or
 * a negative code. Both values are pinned by the caller. */
static int
copy_async(struct run *r, const struct addr *dst, const struct addr *src, uint64_t len,
	   void *dp, const void *sp)
{
	const struct scpp_eval_copier *cp = r->env->copier;
	struct scpp_eval_ctx *c = r->ctx;
	struct scpp_eval_copy_req rq = {
		.dst = dp, .src = sp, .len = len, .dst_e = dst->e, .src_e = src->e,
		.dst_a = (uint32_t)dst->aid, .src_a = (uint32_t)src->aid,
	};
	struct eval_acopy *a;
	struct undo *u;
	uint64_t h;
	void *save;
	int rc;

	if (cp->conflicts(cp->arg, dp, sp, len)) {
		if ((rc = eval_acopy_settle(r)) < 0)
			return rc;
		/* Still: another block's copy (one that is parked) has it. */
		if (cp->conflicts(cp->arg, dp, sp, len))
			return eval_run_fail(r, -EBUSY, "copy: these bytes are being copied by another block");
	}
	if ((rc = eval_run_charge(r, len)) < 0)
		return rc;
	rc = cp->submit(cp->arg, &rq, &h, &save);
	if ((rc == -EBUSY || rc == -ENOSPC) && c->acopy_wait < c->nacopy) {
		if ((rc = eval_acopy_settle(r)) < 0)
			return rc;
		rc = cp->submit(cp->arg, &rq, &h, &save);
	}
	if (rc == -EBUSY || rc == -ENOSPC) {
		c->bytes -= len;
		return 1;
	}
	if (rc < 0)
		return eval_run_fail(r, rc, "copy: the %s engine refused the copy: %s", cp->engine,
			    scpp_strerror(rc));
	/* Room was checked before the pins (copy_engine()). */
	u = eval_run_undo(r, UNDO_COPY, dst->e, (uint32_t)dst->aid);
	SCPP_VERIFY(u != NULL);
	u->off = dst->off;
	u->old = scpp_value_bytes(save, (uint32_t)len);
	a = &c->acopy[c->nacopy++];
	*a = (struct eval_acopy){
		.handle = h, .undo = (uint32_t)(u - c->undo), .row = r->row, .cmd = r->cmd_index,
		.len = len, .dst_e = dst->e, .src_e = src->e, .dst_a = (uint32_t)dst->aid,
		.src_a = (uint32_t)src->aid,
	};
	return 0;
}

static int
copy_engine(struct run *r, const struct addr *dst, const struct addr *src, uint64_t len)
{
	const struct scpp_eval_copier *cp = r->env->copier;
	struct scpp_store *s = r->env->store;
	struct scpp_eval_copy_req rq;
	struct scpp_eval_copy_done done;
	struct scpp_value dv;
	struct undo *u;
	void *dp, *sp, *save;
	int rc;

	if (len == 0 || scpp_store_get(s, dst->e, (uint32_t)dst->aid, &dv) != 0 ||
	    dv.type != SCPP_VT_BYTES || dst->off > dv.len || len > dv.len - dst->off)
		return 1;
	/* Inline values and indexed attributes have no stable address. */
	if (scpp_store_bytes_ptr(s, src->e, (uint32_t)src->aid, src->off, len, &sp) != 0 ||
	    scpp_store_bytes_ptr(s, dst->e, (uint32_t)dst->aid, dst->off, len, &dp) != 0)
		return 1;
	if (cp->submit != NULL && len <= cp->async_max_len &&
	    r->ctx->nacopy < SCPP_EVAL_ASYNC_COPIES &&
	    r->ctx->nundo < r->ctx->undo_max && plain_copy(r, &r->b->cmd[r->cmd_index])) {
		if (scpp_store_bytes_pin(s, src->e, (uint32_t)src->aid) != 0)
			return 1;
		if (scpp_store_bytes_pin(s, dst->e, (uint32_t)dst->aid) != 0) {
			scpp_store_bytes_unpin(s, src->e, (uint32_t)src->aid);
			return 1;
		}
		rc = copy_async(r, dst, src, len, dp, sp);
		if (rc == 0)
			return 0; /* the pins go with the copy */
		scpp_store_bytes_unpin(s, dst->e, (uint32_t)dst->aid);
		scpp_store_bytes_unpin(s, src->e, (uint32_t)src->aid);
		if (rc < 0)
			return rc;
	}
	/* A synchronous copy after asynchronous ones of the command: they
	 * end first (it may read or write their bytes). */
	if (SCPP_UNLIKELY(r->ctx->acopy_wait < r->ctx->nacopy) && (rc = eval_acopy_settle(r)) < 0)
		return rc;
	save = eval_run_alloc(r, len);
	if (save == NULL)
		return -SCPP_E_LIMIT_BYTES;
	u = eval_run_undo(r, UNDO_BYTES, dst->e, (uint32_t)dst->aid);
	if (u == NULL)
		return -SCPP_E_LIMIT_STEPS;
	u->off = dst->off;
	u->old = scpp_value_bytes(save, (uint32_t)len);
	if (scpp_store_bytes_pin(s, src->e, (uint32_t)src->aid) != 0) {
		r->ctx->nundo--;
		return 1;
	}
	if (scpp_store_bytes_pin(s, dst->e, (uint32_t)dst->aid) != 0) {
		scpp_store_bytes_unpin(s, src->e, (uint32_t)src->aid);
		r->ctx->nundo--;
		return 1;
	}
	if (!cp->save)
		memcpy(save, dp, len);
	rq = (struct scpp_eval_copy_req){
		.dst = dp, .src = sp, .len = len, .save = cp->save ? save : NULL,
		.dst_e = dst->e, .src_e = src->e,
		.dst_a = (uint32_t)dst->aid, .src_a = (uint32_t)src->aid,
	};
	memset(&done, 0, sizeof(done));
	rc = cp->copy(cp->arg, &rq, &done);
	if (!done.keep_pins) {
		scpp_store_bytes_unpin(s, dst->e, (uint32_t)dst->aid);
		scpp_store_bytes_unpin(s, src->e, (uint32_t)src->aid);
	}
	if (rc == 0) {
		copied(r, r->cmd_index, len, true);
		return 0;
	}
	/* Without a complete save the destination was never written: the
	 * undo entry would restore garbage. */
	if (cp->save && !done.saved)
		r->ctx->nundo--;
	return eval_run_fail(r, rc, "copy: the %s engine failed after %llu ns: %s",
		    done.engine != NULL ? done.engine : cp->engine,
		    (unsigned long long)done.elapsed_ns, scpp_strerror(rc));
}

/* The memory window (scpp_eval_env.memwins) whose RmaWindow is @p w, or NULL. */
static struct scpp_eval_memwin *
memwin_find(const struct scpp_eval_env *env, struct scpp_oid w)
{
	if (env->memwins == NULL)
		return NULL;
	for (uint16_t i = 0; i < env->memwins->n; i++)
		if (scpp_oid_eq(env->memwins->win[i].oid, w))
			return &env->memwins->win[i];
	return NULL;
}

/*
 * The bytes an address rewritten to an RmaWindow + offset names (docs/COPY.md
 * "Memory windows"): only a memory window of this shard is honoured, since
 * Extent.window and window_offset are client data and an arena window would
 * let a client aim at any byte of a store arena. Checked against the extent
 * and the window; the session needs set (@p write) or get on the RmaWindow.
 */
static SCPP_COLD int
window_bytes(struct run *r, const struct addr *a, const char *side, uint64_t len, bool write,
	     uint8_t **p, struct scpp_eval_memwin **out)
{
	struct scpp_eval_memwin *mw;
	char b1[64], b2[64];
	uint64_t at;
	int rc;

	if (a->off > a->ext_len || len > a->ext_len - a->off || a->off > UINT64_MAX - a->woff)
		return eval_run_fail(r, -ERANGE, "copy: %s range %llu+%llu is outside extent %s of %llu bytes",
			    side, (unsigned long long)a->off, (unsigned long long)len,
			    otext(b1, sizeof(b1), a->ext), (unsigned long long)a->ext_len);
	mw = memwin_find(r->env, a->win);
	if (mw == NULL && a->mw != NULL)
		return eval_run_fail(r, -EACCES, "copy: RmaWindow %s named by node %u is not a memory window "
			    "of this shard; nothing was written", otext(b1, sizeof(b1), a->win),
			    r->env->remote_memwin->sender);
	if (mw == NULL)
		return eval_run_fail(r, -EOPNOTSUPP, "copy: the %s is RmaWindow %s + %llu (extent %s), not a "
			    "memory window of this shard", side,
			    otext(b1, sizeof(b1), a->win), (unsigned long long)(a->woff + a->off),
			    otext(b2, sizeof(b2), a->ext));
	if ((rc = eval_run_authorize(r, write ? "copy to window" : "copy from window", a->win, AID_ENTITY,
			    write ? SCPP_AUTH_OP_SET : SCPP_AUTH_OP_GET)) < 0)
		return rc;
	at = a->woff + a->off;
	if (at > mw->len || len > mw->len - at)
		return eval_run_fail(r, -ERANGE, "copy: %s range %llu+%llu is outside RmaWindow %s of %llu "
			    "bytes", side, (unsigned long long)at, (unsigned long long)len,
			    otext(b1, sizeof(b1), a->win), (unsigned long long)mw->len);
	if (len > UINT32_MAX)
		return eval_run_fail(r, -E2BIG, "copy: %llu bytes to or from a memory window: at most %u",
			    (unsigned long long)len, UINT32_MAX);
	*p = mw->base + at;
	*out = mw;
	return 0;
}

static int copy_window_in(struct run *r, const struct addr *dst, uint8_t *pd,
			  struct scpp_eval_memwin *md, const uint8_t *ps, uint64_t len);

/*
 * The source of this row's copy, read from another node into the arena as
 * @p sv (scpp_eval_env.remote_src): with @p win NULL, a value whose owner
 * resolved it and sent its bytes' address (a nested part's COPY_SOURCE);
 * else @p win, a source this shard rewrote to another node's memory window,
 * whose owner sent the window's bytes' address. 0, 1 (no such source for
 * this row), or the failure.
 */
static SCPP_COLD int
remote_src_read(struct run *r, const struct addr *win, uint64_t len, struct scpp_value *sv)
{
	const struct scpp_eval_remote_src *rs = r->env->remote_src;
	char msg[SCPP_STATUS_MSG_MAX], b1[64];
	void *buf;
	int rc;

	if (rs == NULL || rs->cmd != r->cmd_index || r->row == SCPP_STATUS_NO_ROW)
		return 1;
	if (win != NULL && (win->off > win->ext_len || len > win->ext_len - win->off ||
			    win->off > UINT64_MAX - win->woff))
		return eval_run_fail(r, -ERANGE, "copy: source range %llu+%llu is outside extent %s "
				     "of %llu bytes", (unsigned long long)win->off,
				     (unsigned long long)len, otext(b1, sizeof(b1), win->ext),
				     (unsigned long long)win->ext_len);
	if (len > UINT32_MAX)
		return eval_run_fail(r, -E2BIG, win != NULL ?
				     "copy: %llu bytes to or from a memory window: at most %u" :
				     "copy: %llu bytes from another node's window: at most %u",
				     (unsigned long long)len, UINT32_MAX);
	buf = eval_run_alloc(r, len);
	if (buf == NULL)
		return -SCPP_E_LIMIT_BYTES;
	msg[0] = '\0';
	rc = win != NULL ? rs->read_window(rs->arg, r->row, win->win, win->woff + win->off, buf,
					   len, msg, sizeof(msg))
			 : rs->read(rs->arg, r->row, buf, len, msg, sizeof(msg));
	if (rc < 0)
		return eval_run_fail(r, rc, "%s", msg[0] != '\0' ? msg :
				     win != NULL ? "copy: the remote window failed" :
						   "copy: the remote source failed");
	if (rc == 0)
		*sv = scpp_value_bytes(buf, (uint32_t)len);
	return rc;
}

/* Source @p src, out of memory window @p ms for another node to READ, for
 * which no busy range was free: EBUSY, nothing read or written. */
static SCPP_COLD int
window_unguarded(struct run *r, const struct addr *src, uint64_t len,
		 const struct scpp_eval_memwin *ms)
{
	char b1[64];

	return eval_run_fail(r, -EBUSY, "copy: RmaWindow %s range %llu+%llu cannot be guarded for "
		    "another node's read: all %u busy ranges taken; nothing was written",
		    otext(b1, sizeof(b1), ms->oid), (unsigned long long)(src->woff + src->off),
		    (unsigned long long)len, SCPP_EVAL_MEMWIN_BUSY_MAX);
}

/*
 * A copy with a memory window at one end or both. A window source gives
 * its bytes as @p sv, its window as *@p mout and 1: the caller copies them
 * into the destination value like any other (its undo) and counts the
 * window's copy out once it is done (window_out()). A window destination is written here
 * on the CPU after its range was saved in the arena (UNDO_WINDOW: an abort
 * writes it back), 0, or the failure before any byte moved.
 */
static SCPP_COLD int
copy_window(struct run *r, const struct addr *dst, const struct addr *src, uint64_t len,
	    struct scpp_value *sv, struct scpp_eval_memwin **mout)
{
	struct scpp_store *s = r->env->store;
	const uint8_t *ps = NULL;
	uint8_t *pw = NULL, *pd = NULL;
	struct scpp_eval_memwin *ms = NULL, *md = NULL;
	struct scpp_value v;
	int rc;

	/* Another node's memory window, read by its owner's COPY_SOURCE. */
	if (src->window && !dst->window && src->mw == NULL && r->env->remote_src != NULL &&
	    r->env->remote_src->read_window != NULL && memwin_find(r->env, src->win) == NULL &&
	    (rc = remote_src_read(r, src, len, sv)) != 1)
		return rc < 0 ? rc : 1;
	if (src->window && (rc = window_bytes(r, src, "source", len, false, &pw, &ms)) < 0)
		return rc;
	ps = pw;
	/* Out of the window for another node to READ, which found no busy
	 * range to guard it (cont_memwin.c): not shipped unguarded. */
	if (SCPP_UNLIKELY(src->mw != NULL && r->env->remote_memwin->unguarded != 0) &&
	    (r->env->remote_memwin->unguarded >> (src->mw - r->env->remote_memwin->x) & 1u))
		return window_unguarded(r, src, len, ms);
	if (!dst->window) {
		*sv = scpp_value_bytes(ps, (uint32_t)len);
		*mout = ms;
		return 1;
	}
	/* The window destination's checks (its range, set on it) before any
	 * byte of the source is read (op_copy's rule). */
	if ((rc = window_bytes(r, dst, "destination", len, true, &pd, &md)) < 0)
		return rc;
	if (!src->window) {
		if (src->aid == 0)
			return eval_run_fail(r, -ENOENT, "copy: source attribute does not exist");
		rc = scpp_store_get(s, src->e, (uint32_t)src->aid, &v);
		/* Another node's value, read by its COPY_SOURCE (a copy into
		 * this shard's memory window ordered by the Extent's owner). */
		if (rc == -ENOENT && !eval_run_local(r, src->e) && !scpp_store_entity_exists(s, src->e))
			return (rc = remote_src_read(r, NULL, len, &v)) == 0 ?
			       copy_window_in(r, dst, pd, md, v.p, len) :
			       rc < 0 ? rc : eval_run_not_here(r, src->e);
		if (rc < 0)
			return eval_run_store_fail(r, rc, "copy from", src->e, src->aid);
		if (v.type != SCPP_VT_STR && v.type != SCPP_VT_BYTES)
			return eval_run_store_fail(r, -EMEDIUMTYPE, "copy from", src->e, src->aid);
		if (src->off > v.len || len > v.len - src->off)
			return eval_run_fail(r, -ERANGE, "copy: source range %llu+%llu is outside its %u bytes",
				    (unsigned long long)src->off, (unsigned long long)len, v.len);
		ps = (const uint8_t *)v.p + src->off;
	}
	rc = copy_window_in(r, dst, pd, md, ps, len);
	if (rc == 0 && ms != NULL) {
		ms->copies_out++;
		ms->bytes_out += len;
	}
	return rc;
}

/* A copy into [@p at, @p at + @p len) of memory window @p md while another
 * node reads an overlapping range (scpp_eval_memwins.busy): EBUSY, before
 * any byte is written; 0 when none does. */
static SCPP_COLD int
window_busy(struct run *r, const struct addr *dst, struct scpp_eval_memwin *md, uint64_t at,
	    uint64_t len)
{
	const struct scpp_eval_memwin_busy *b;
	char b1[64];

	b = scpp_eval_memwin_busy_find(r->env->memwins, md->oid, at, len);
	if (b == NULL)
		return 0;
	md->busy_refused++;
	return eval_run_fail(r, -EBUSY, "copy: destination range %llu+%llu of RmaWindow %s overlaps "
		    "%llu+%llu, which node %u is reading; nothing was written",
		    (unsigned long long)at, (unsigned long long)len, otext(b1, sizeof(b1), dst->win),
		    (unsigned long long)b->off, (unsigned long long)b->len, b->reader);
}

/* A copy out of memory window @p ms (or NULL: none) into a value, done. */
static inline void
window_out(struct scpp_eval_memwin *ms, const struct addr *src, uint64_t len)
{
	if (SCPP_LIKELY(ms == NULL))
		return;
	ms->copies_out++;
	ms->bytes_out += len;
	ms->remote_out += src->mw != NULL;
}

/* The write of a copy into a memory window: @p len bytes from @p ps into
 * @p dst at @p pd (window @p md, both checked by window_bytes()), after
 * saving the window's range (UNDO_WINDOW). 0 or the failure before any
 * byte moved. */
static SCPP_COLD int
copy_window_in(struct run *r, const struct addr *dst, uint8_t *pd, struct scpp_eval_memwin *md,
	       const uint8_t *ps, uint64_t len)
{
	uint8_t *save;
	struct undo *u;
	int rc;

	/* A range another node is reading: refused before any byte is written. */
	if (SCPP_UNLIKELY(r->env->memwins->nbusy != 0) &&
	    (rc = window_busy(r, dst, md, (uint64_t)(pd - md->base), len)) < 0)
		return rc;
	/* Asynchronous copies of the command may read the source: they end first. */
	if (SCPP_UNLIKELY(r->ctx->acopy_wait < r->ctx->nacopy) && (rc = eval_acopy_settle(r)) < 0)
		return rc;
	save = eval_run_alloc(r, len);
	if (save == NULL)
		return -SCPP_E_LIMIT_BYTES;
	memcpy(save, pd, len);
	u = eval_run_undo(r, UNDO_WINDOW, dst->win, 0);
	if (u == NULL)
		return -SCPP_E_LIMIT_STEPS;
	u->off = (uint64_t)(uintptr_t)pd;
	u->old = scpp_value_bytes(save, (uint32_t)len);
	memmove(pd, ps, len); /* the same window may hold both ranges */
	md->copies_in++;
	md->bytes_in += len;
	md->remote_in += dst->mw != NULL;
	copied(r, r->cmd_index, len, false);
	return 0;
}

/*
 * A copy end that another node resolved (scpp_eval_env.remote_memwin,
 * docs/PROTOCOL.md §19.1 MEMORY_WINDOW): the extension of this row and
 * direction, or NULL.
 */
static const struct scpp_wire_memwin *
memwin_ext(const struct run *r, uint8_t dir)
{
	const struct scpp_eval_remote_memwin *rm = r->env->remote_memwin;

	if (rm->cmd != r->cmd_index || r->row == SCPP_STATUS_NO_ROW)
		return NULL;
	for (uint16_t i = 0; i < rm->n; i++)
		if (rm->x[i].row == r->row && rm->x[i].dir == dir)
			return &rm->x[i];
	return NULL;
}

/*
 * Address @p ti as the window + offset of extension @p x, once the
 * address is one a rewrite could have made a window of (a map entry) and
 * its entity lives on the node that sent the extension (it owns the
 * entity, its map and its Extent). The receiver vouches for the window
 * itself (window_bytes()).
 */
static SCPP_COLD int
vouched_addr(struct run *r, const struct row *in, uint16_t ti, const struct scpp_wire_memwin *x,
	     struct addr *a)
{
	const struct scpp_wire_term *t;
	const uint32_t from = r->env->remote_memwin->sender;
	const char *side = x->dir == SCPP_WIRE_MEMWIN_INTO ? "destination" : "source";
	struct eval_tv e;
	char b1[64];

	/* 0: the CONT did not come from its origin's address in the map. */
	if (from == 0)
		return eval_run_fail(r, -EACCES, "copy: a memory window address for the %s came from an "
			    "address that is not its CONT's origin's in the cluster map; nothing was "
			    "written", side);
	t = eval_addr_base(r->b, ti, NULL, NULL);
	if (t == NULL || t->kind != SCPP_TERM_VALUE || r->b->term[t->b].kind != SCPP_TERM_KEY)
		return eval_run_fail(r, -EACCES, "copy: node %u sent a memory window address for the %s, "
			    "which is not a map entry; nothing was written", from, side);
	eval_run_term(r, in, t->a, &e);
	if (!e.bound || e.v.type != SCPP_VT_OID || from == 0 ||
	    scpp_oid_node(e.v.oid) != from ||
	    scpp_oid_locale(e.v.oid) != scpp_oid_locale(r->env->node))
		return eval_run_fail(r, -EACCES, "copy: node %u sent a memory window address for the %s of a "
			    "copy whose address names %s, which is not its entity; nothing was "
			    "written", from, side,
			    e.bound && e.v.type == SCPP_VT_OID ? otext(b1, sizeof(b1), e.v.oid)
								: "no entity");
	memset(a, 0, sizeof(*a));
	a->e = e.v.oid;
	a->window = true;
	a->win = x->window;
	a->woff = x->offset;
	a->ext_len = x->length;
	a->mw = x;
	return 0;
}

/* The extension's length must be the copy's: it was resolved for it. */
static SCPP_COLD int
vouched_len(struct run *r, const struct addr *a, uint64_t len)
{
	if (a->mw->length == len)
		return 0;
	return eval_run_fail(r, -EACCES, "copy: the memory window address from node %u is for %u bytes, "
		    "the copy is of %llu; nothing was written", r->env->remote_memwin->sender,
		    a->mw->length, (unsigned long long)len);
}

/* A copy's address, or the window end another node resolved for it. */
static inline int
resolve_end(struct run *r, const struct row *in, uint16_t ti, bool intern, uint8_t dir,
	    struct addr *a)
{
	const struct scpp_wire_memwin *x;

	if (SCPP_UNLIKELY(r->env->remote_memwin != NULL) && (x = memwin_ext(r, dir)) != NULL)
		return vouched_addr(r, in, ti, x, a);
	a->mw = NULL;
	return resolve_addr(r, in, ti, intern, a);
}

int
eval_copy_op(struct run *r, const struct scpp_wire_cmd *cmd, const struct row *in)
{
	struct scpp_store *s = r->env->store;
	struct scpp_eval_memwin *mout = NULL; /* a window source, counted once done */
	struct addr dst, src;
	struct scpp_value sv, dv;
	struct undo *u;
	uint64_t len;
	void *buf, *save;
	bool remote;
	int rc;

	if ((rc = resolve_end(r, in, cmd->term[1], false, SCPP_WIRE_MEMWIN_OUT, &src)) < 0)
		return rc;
	if ((rc = resolve_end(r, in, cmd->term[0], true, SCPP_WIRE_MEMWIN_INTO, &dst)) < 0)
		return rc;
	if ((rc = eval_run_len(r, in, cmd->term[2], "length", &len)) < 0)
		return rc;
	if ((rc = eval_run_step(r, 1)) < 0)
		return rc;
	if (SCPP_UNLIKELY(src.mw != NULL || dst.mw != NULL) &&
	    (rc = vouched_len(r, src.mw != NULL ? &src : &dst, len)) < 0)
		return rc;
	/* A window end is authorised on its Extent (all of it) here, and on
	 * its RmaWindow by window_bytes(); a window end another node
	 * resolved was authorised on its Extent there. */
	if (SCPP_UNLIKELY(r->env->auth != NULL) &&
	    ((src.window && src.mw == NULL &&
	      (rc = eval_run_authorize(r, "copy from", src.ext, AID_ENTITY, SCPP_AUTH_OP_GET)) < 0) ||
	     (!src.window && src.aid > 0 &&
	      (rc = eval_run_authorize(r, "copy from", src.e, src.aid, SCPP_AUTH_OP_GET)) < 0) ||
	     (dst.mw == NULL &&
	      (rc = eval_run_authorize(r, "copy to", dst.window ? dst.ext : dst.e,
			      dst.window ? AID_ENTITY : dst.aid, SCPP_AUTH_OP_COPY)) < 0)))
		return rc;
	if (SCPP_UNLIKELY(src.window || dst.window)) {
		/* 1: a memory window's bytes are the source, copied below
		 * on the CPU like a remote source's. */
		if ((rc = copy_window(r, &dst, &src, len, &sv, &mout)) <= 0)
			return rc;
		remote = true;
		src.off = 0;
	} else {
		if (src.aid == 0)
			return eval_run_fail(r, -ENOENT, "copy: source attribute does not exist");
		rc = scpp_store_get(s, src.e, (uint32_t)src.aid, &sv);
		remote = rc == -ENOENT && !eval_run_local(r, src.e) &&
			 !scpp_store_entity_exists(s, src.e);
		/* A destination that cannot be written is refused before any
		 * byte is read from another node's window. */
		if (SCPP_UNLIKELY(remote) && !scpp_store_entity_exists(s, dst.e))
			return eval_run_not_found(r, "copy to", dst.e, dst.aid);
		if (SCPP_UNLIKELY(remote) && (rc = remote_src_read(r, NULL, len, &sv)) != 0)
			return rc < 0 ? rc : eval_run_not_here(r, src.e);
		if (remote)
			src.off = 0; /* the bytes read are the range */
		else if (rc < 0)
			return eval_run_store_fail(r, rc, "copy from", src.e, src.aid);
	}
	if (sv.type != SCPP_VT_STR && sv.type != SCPP_VT_BYTES)
		return eval_run_store_fail(r, -EMEDIUMTYPE, "copy from", src.e, src.aid);
	if (src.off > sv.len || len > sv.len - src.off)
		return eval_run_fail(r, -ERANGE, "copy: source range %llu+%llu is outside its %u bytes",
			    (unsigned long long)src.off, (unsigned long long)len, sv.len);
	if (!scpp_store_entity_exists(s, dst.e))
		return eval_run_not_found(r, "copy to", dst.e, dst.aid);
	if (eval_schema_is_schema_entity(r->env, dst.e))
		return eval_run_schema_refused(r, "copy to", dst.e, dst.aid);
	if ((rc = eval_schema_window_refused(r->env, "copy to", dst.e, NULL, &r->st)) < 0)
		return rc;

	if (r->env->copier != NULL && !remote && len >= r->env->copier->min_len &&
	    len <= r->env->copier->max_len && (rc = copy_engine(r, &dst, &src, len)) <= 0)
		return rc;

	if (SCPP_UNLIKELY(r->ctx->acopy_wait < r->ctx->nacopy) && (rc = eval_acopy_settle(r)) < 0)
		return rc;
	/* Bounce through the arena: source and destination may overlap or be
	 * the same value, and the store may move either on a resize. */
	buf = eval_run_alloc(r, len);
	if (buf == NULL)
		return -SCPP_E_LIMIT_BYTES;
	memcpy(buf, sv.p + src.off, len);

	rc = scpp_store_get(s, dst.e, (uint32_t)dst.aid, &dv);
	if (rc == -ENOENT) {
		/* Seed §4.4: an unbound destination is created, holding the
		 * copied bytes (only at offset 0: anything else would leave
		 * a hole of undefined bytes). */
		if (dst.off != 0)
			return eval_run_fail(r, -ENOENT, "copy: destination does not exist and offset is %llu",
				    (unsigned long long)dst.off);
		if (eval_run_undo(r, UNDO_TRIPLE, dst.e, (uint32_t)dst.aid) == NULL)
			return -SCPP_E_LIMIT_STEPS;
		/* A str is UTF-8 whatever built it: a copy that cuts a
		 * character out of a string cannot create a string. */
		if (sv.type == SCPP_VT_STR && !scpp_utf8_valid(buf, len)) {
			r->ctx->nundo--;
			return eval_run_fail(r, -SCPP_E_BAD_UTF8, "copy would create a string that is not UTF-8");
		}
		dv = sv.type == SCPP_VT_STR ? scpp_value_str(buf, (uint32_t)len)
					    : scpp_value_bytes(buf, (uint32_t)len);
		rc = eval_schema_check_set(r->ctx, r->env, dst.e, (uint32_t)dst.aid, NULL, &dv,
					   &r->st);
		if (rc < 0) {
			r->ctx->nundo--;
			return rc;
		}
		rc = scpp_store_set(s, dst.e, (uint32_t)dst.aid, &dv);
		if (rc < 0) {
			r->ctx->nundo--;
			return eval_run_store_fail(r, rc, "copy to", dst.e, dst.aid);
		}
		window_out(mout, &src, len);
		copied(r, r->cmd_index, len, false);
		return 0;
	}
	if (rc < 0)
		return eval_run_store_fail(r, rc, "copy to", dst.e, dst.aid);
	if (dv.type != SCPP_VT_STR && dv.type != SCPP_VT_BYTES)
		return eval_run_store_fail(r, -EMEDIUMTYPE, "copy to", dst.e, dst.aid);
	if (dst.off > dv.len || len > dv.len - dst.off)
		return eval_run_fail(r, -ERANGE, "copy: destination range %llu+%llu is outside its %u bytes",
			    (unsigned long long)dst.off, (unsigned long long)len, dv.len);
	if (dv.type == SCPP_VT_STR) {
		/* The string must still be UTF-8 afterwards: check the result
		 * (the pieces alone may be invalid while the whole is not,
		 * e.g. copying one byte of "é" onto itself). */
		uint8_t *res = eval_run_alloc(r, dv.len);

		if (res == NULL)
			return -SCPP_E_LIMIT_BYTES;
		memcpy(res, dv.p, dv.len);
		memcpy(res + dst.off, buf, len);
		if (!scpp_utf8_valid(res, dv.len))
			return eval_run_fail(r, -SCPP_E_BAD_UTF8, "copy would leave the string invalid UTF-8");
	}
	save = eval_run_alloc(r, len);
	if (save == NULL)
		return -SCPP_E_LIMIT_BYTES;
	memcpy(save, dv.p + dst.off, len);
	u = eval_run_undo(r, UNDO_BYTES, dst.e, (uint32_t)dst.aid);
	if (u == NULL)
		return -SCPP_E_LIMIT_STEPS;
	u->off = dst.off;
	u->old = scpp_value_bytes(save, (uint32_t)len);
	rc = scpp_store_bytes_write(s, dst.e, (uint32_t)dst.aid, dst.off, len, buf);
	if (rc < 0) {
		r->ctx->nundo--;
		return eval_run_store_fail(r, rc, "copy to", dst.e, dst.aid);
	}
	window_out(mout, &src, len);
	copied(r, r->cmd_index, len, false);
	return 0;
}

/* The window end of a row's copy, resolved by its Extent's owner for the
 * node that owns the window (scpp_eval_row_copy_memwin()). */
static SCPP_COLD int
row_memwin(struct run *r, const struct row *in, const struct scpp_wire_cmd *c,
	   struct scpp_wire_memwin *out)
{
	struct addr a[2];
	uint64_t len;
	int rc, k;

	if ((rc = resolve_addr(r, in, c->term[0], false, &a[0])) < 0 ||
	    (rc = resolve_addr(r, in, c->term[1], false, &a[1])) < 0 ||
	    (rc = eval_run_len(r, in, c->term[2], "length", &len)) < 0)
		return rc;
	if (a[0].window == a[1].window)
		return -EOPNOTSUPP; /* neither end a window, or both: here */
	k = a[0].window ? 0 : 1;
	if (memwin_find(r->env, a[k].win) != NULL)
		return -EOPNOTSUPP; /* this shard's own: copied here */
	if ((rc = eval_run_authorize(r, k == 0 ? "copy to" : "copy from", a[k].ext, AID_ENTITY,
			    k == 0 ? SCPP_AUTH_OP_COPY : SCPP_AUTH_OP_GET)) < 0)
		return rc;
	if (a[k].off > a[k].ext_len || len > a[k].ext_len - a[k].off ||
	    a[k].off > UINT64_MAX - a[k].woff || a[k].woff + a[k].off > UINT64_MAX - len)
		return -ERANGE;
	if (len == 0 || len > UINT32_MAX)
		return -E2BIG;
	*out = (struct scpp_wire_memwin){
		.row = r->row, .dir = k == 0 ? SCPP_WIRE_MEMWIN_INTO : SCPP_WIRE_MEMWIN_OUT,
		.length = (uint32_t)len, .window = a[k].win, .offset = a[k].woff + a[k].off,
	};
	return 0;
}

int
scpp_eval_row_copy_memwin(struct scpp_eval_ctx *ctx, const struct scpp_eval_env *env,
			  const struct scpp_wire_block *b, uint16_t cmd,
			  const struct scpp_eval_rows *rows, size_t i, struct scpp_wire_memwin *out)
{
	const struct scpp_wire_cmd *c;
	uint64_t steps, seen, tcheck;
	struct run run, *r = &run;
	int rc;

	if (cmd >= b->ncmds || b->cmd[cmd].op != SCPP_OP_COPY || i >= rows->n)
		return -EINVAL;
	c = &b->cmd[cmd];
	if (!eval_addr_keyed(b, c->term[0]) && !eval_addr_keyed(b, c->term[1]))
		return -EOPNOTSUPP;
	/* A run of its own (the status it may write is dropped), quiet: no
	 * message is formatted. The context's step count is put back. */
	if (ctx->probes == NULL)
		return -EOPNOTSUPP; /* the context never ran a block on this store */
	memset(r, 0, sizeof(*r));
	r->ctx = ctx;
	r->env = env;
	r->b = b;
	r->cmd_index = cmd;
	r->row = (uint32_t)i;
	r->quiet = true;
	steps = ctx->steps, seen = ctx->probes_seen, tcheck = ctx->time_check;
	rc = row_memwin(r, (const struct row *)(rows->tab + i * rows->stride), c, out);
	ctx->steps = steps, ctx->probes_seen = seen, ctx->time_check = tcheck;
	return rc;
}

int
eval_run_addr(struct run *r, const struct row *in, uint16_t ti, bool intern, struct scpp_oid *e,
	      int64_t *aid, uint64_t *off)
{
	struct addr a;
	int rc = resolve_addr(r, in, ti, intern, &a);

	if (rc < 0)
		return rc;
	*e = a.e;
	*aid = a.aid;
	*off = a.off;
	return 0;
}
