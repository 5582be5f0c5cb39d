/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suspensions: the state of a block stopped between two commands
 * (scpp_eval.h, "suspending and resuming a block"). One arena per
 * suspension holds, back to back: the rows (the binding table's bytes),
 * the statuses collected, then the str/bytes values the rows point to.
 * The evaluator (eval.c) decides when to stop and commits the part that
 * ran; this file only copies the state out and back in.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_malloc.h>

#include "eval_priv.h"

#define SUSP_MAX_BYTES (UINT64_C(1) << 30)

static size_t
al8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

struct scpp_eval_susp *
scpp_eval_susp_create(size_t bytes, int socket, bool use_rte)
{
	struct scpp_eval_susp *s;

	if (bytes == 0 || bytes > SUSP_MAX_BYTES) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		goto nomem;
	s->use_rte = use_rte;
	s->cap = al8(bytes);
	s->mem = use_rte ? rte_malloc_socket("scpp_eval_susp", s->cap, 64, socket) : malloc(s->cap);
	if (s->mem != NULL)
		return s;
	free(s);
nomem:
	errno = ENOMEM;
	return NULL;
}

void
scpp_eval_susp_free(struct scpp_eval_susp *s)
{
	if (s == NULL)
		return;
	if (s->use_rte)
		rte_free(s->mem);
	else
		free(s->mem);
	free(s);
}

bool
scpp_eval_susp_active(const struct scpp_eval_susp *s)
{
	return s != NULL && s->active;
}

static void held_release(struct scpp_eval_ctx *ctx, struct scpp_eval_susp *s);

void
scpp_eval_susp_drop(struct scpp_eval_ctx *ctx, struct scpp_eval_susp *s)
{
	if (s == NULL || !s->active)
		return;
	if (s->held && ctx != NULL) {
		held_release(ctx, s);
		ctx->held_copies -= s->held_copies;
	}
	s->held_copies = 0;
	s->held = 0;
	s->active = 0;
}

uint16_t
scpp_eval_susp_next_cmd(const struct scpp_eval_susp *s)
{
	return s->next_cmd;
}

size_t
scpp_eval_susp_nrows(const struct scpp_eval_susp *s)
{
	return s->nrows;
}

static bool
has_bytes(const struct scpp_value *v)
{
	return (v->type == SCPP_VT_STR || v->type == SCPP_VT_BYTES) && v->len != 0;
}

size_t
eval_susp_need(const struct scpp_eval_ctx *ctx, const uint8_t *tab, size_t nrows, size_t stride,
	       uint16_t nvars)
{
	size_t need = al8(nrows * stride) + al8((size_t)ctx->nstat * sizeof(struct collected));

	for (size_t i = 0; i < nrows; i++) {
		const struct row *row = (const struct row *)(tab + i * stride);

		for (uint16_t v = 0; v < nvars; v++)
			if (((row->bound >> v) & 1) && has_bytes(&row->v[v]))
				need += al8(row->v[v].len);
	}
	return need;
}

bool
eval_susp_fits(const struct scpp_eval_susp *s, size_t need)
{
	return need <= s->cap;
}

void
eval_susp_save(struct scpp_eval_ctx *ctx, struct scpp_eval_susp *s, const uint8_t *tab,
	       size_t nrows, size_t stride, uint16_t nvars, uint16_t next_cmd, uint64_t elapsed_ns)
{
	uint8_t *rows = s->mem, *p;

	s->nrows = nrows;
	s->stride = stride;
	s->nvars = nvars;
	s->next_cmd = next_cmd;
	memcpy(rows, tab, nrows * stride);
	s->stat_off = al8(nrows * stride);
	s->nstat = ctx->nstat;
	memcpy(s->mem + s->stat_off, ctx->stat, (size_t)ctx->nstat * sizeof(struct collected));
	p = s->mem + s->stat_off + al8((size_t)ctx->nstat * sizeof(struct collected));
	for (size_t i = 0; i < nrows; i++) {
		struct row *row = (struct row *)(rows + i * stride);

		for (uint16_t v = 0; v < nvars; v++) {
			struct scpp_value *x = &row->v[v];

			if (!((row->bound >> v) & 1) || !has_bytes(x))
				continue;
			memcpy(p, x->p, x->len);
			x->p = p;
			p += al8(x->len);
		}
	}
	s->used = (size_t)(p - s->mem);
	s->held = 0;
	s->nelog = 0;
	s->status_vars = ctx->status_vars;
	memcpy(s->status_count, ctx->status_count, sizeof(s->status_count));
	s->steps = ctx->steps;
	s->bytes_charged = ctx->bytes;
	s->commands = ctx->commands_done;
	s->elapsed_ns = elapsed_ns;
	s->held_copies = 0;
	s->ncres = ctx->ncres;
	memcpy(s->cres, ctx->cres, (size_t)ctx->ncres * sizeof(ctx->cres[0]));
	s->active = 1;
}

int
eval_susp_restore(struct scpp_eval_ctx *ctx, struct scpp_eval_susp *s, uint8_t *tab,
		  size_t max_rows)
{
	if (s->nrows > max_rows)
		return -SCPP_E_LIMIT_ROWS;
	memcpy(tab, s->mem, s->nrows * s->stride);
	/* The values go to the block's arena: the suspension may be written
	 * again (a second stop) while the rows are in use. Charged already. */
	for (size_t i = 0; i < s->nrows; i++) {
		struct row *row = (struct row *)(tab + i * s->stride);

		for (uint16_t v = 0; v < s->nvars; v++) {
			struct scpp_value *x = &row->v[v];
			size_t n;

			if (!((row->bound >> v) & 1) || !has_bytes(x))
				continue;
			n = al8(x->len);
			if (n > ctx->arena_size - ctx->arena_used)
				return -SCPP_E_LIMIT_BYTES;
			memcpy(ctx->arena + ctx->arena_used, x->p, x->len);
			x->p = ctx->arena + ctx->arena_used;
			ctx->arena_used += n;
		}
	}
	memcpy(ctx->stat, s->mem + s->stat_off, (size_t)s->nstat * sizeof(struct collected));
	ctx->nstat = s->nstat;
	ctx->status_vars = s->status_vars;
	memcpy(ctx->status_count, s->status_count, sizeof(s->status_count));
	ctx->steps = s->steps;
	ctx->bytes = s->bytes_charged;
	ctx->commands_done = s->commands;
	ctx->ncres = s->ncres;
	memcpy(ctx->cres, s->cres, (size_t)s->ncres * sizeof(ctx->cres[0]));
	s->active = 0;
	return 0;
}

/*
 * Holds. A held part is not committed: its undo log stays valid while
 * other blocks run, so the block can still be undone whole. That needs
 * three things: the undo log and the objects to check at the end leave
 * the context (which the next block reuses) for the suspension, values
 * included; nobody else may write an entity the log names, or undoing it
 * would clobber their write or fail (the held set, checked by every write
 * path); and no record may depend on something another block's end can
 * make final: a detached map is sealed by the next block's end, and
 * re-creating a deleted entity needs its predecessor in entity order to
 * be still there, so parts that deleted a map or an entity are not held,
 * nor parts with provisional attribute names (their ids would collide
 * with the next block's) or a schema edit in progress.
 */

static uint32_t
held_hash(struct scpp_oid o)
{
	uint64_t h = (o.hi ^ (o.lo * UINT64_C(0x9e3779b97f4a7c15))) * UINT64_C(0xff51afd7ed558ccd);

	return (uint32_t)(h >> 32) & (EVAL_HELD_SLOTS - 1);
}

static bool
oid_eq(struct scpp_oid a, struct scpp_oid b)
{
	return a.hi == b.hi && a.lo == b.lo;
}

bool
eval_held_by_other(const struct scpp_eval_ctx *ctx, struct scpp_oid e,
		   const struct scpp_eval_susp *self)
{
	for (uint32_t i = held_hash(e), n = 0; n < EVAL_HELD_SLOTS;
	     i = (i + 1) & (EVAL_HELD_SLOTS - 1), n++) {
		const struct eval_held *h = &ctx->held[i];

		if (h->owner == NULL)
			return false;
		if (oid_eq(h->oid, e))
			return h->owner != self;
	}
	return false;
}

static void
held_insert(struct scpp_eval_ctx *ctx, struct scpp_oid e, const struct scpp_eval_susp *owner)
{
	uint32_t i = held_hash(e);

	while (ctx->held[i].owner != NULL) {
		if (oid_eq(ctx->held[i].oid, e))
			return;
		i = (i + 1) & (EVAL_HELD_SLOTS - 1);
	}
	ctx->held[i].oid = e;
	ctx->held[i].owner = owner;
	ctx->nheld++;
}

/* Backward-shift deletion keeps every probe chain unbroken. */
static void
held_remove(struct scpp_eval_ctx *ctx, struct scpp_oid e)
{
	uint32_t i = held_hash(e), j;

	while (ctx->held[i].owner != NULL && !oid_eq(ctx->held[i].oid, e))
		i = (i + 1) & (EVAL_HELD_SLOTS - 1);
	if (ctx->held[i].owner == NULL)
		return;
	ctx->held[i].owner = NULL;
	ctx->nheld--;
	for (j = (i + 1) & (EVAL_HELD_SLOTS - 1); ctx->held[j].owner != NULL;
	     j = (j + 1) & (EVAL_HELD_SLOTS - 1)) {
		uint32_t home = held_hash(ctx->held[j].oid);

		/* Slot j may move to the hole at i unless its home lies
		 * cyclically in (i, j]. */
		if (((j - home) & (EVAL_HELD_SLOTS - 1)) >= ((j - i) & (EVAL_HELD_SLOTS - 1))) {
			ctx->held[i] = ctx->held[j];
			ctx->held[j].owner = NULL;
			i = j;
		}
	}
}

/* The value bytes of undo record @p u that live in the block's arena. */
static size_t
undo_value_bytes(const struct undo *u)
{
	size_t n = 0;

	if (u->kind == UNDO_MAP_ENTRY && has_bytes(&u->key))
		n += al8(u->key.len);
	if ((u->kind == UNDO_TRIPLE || u->kind == UNDO_MAP_ENTRY) && u->had_old &&
	    has_bytes(&u->old))
		n += al8(u->old.len);
	if (u->kind == UNDO_BYTES || u->kind == UNDO_WINDOW)
		n += al8(u->old.len);
	return n;
}

/* Is @p e among the first @p n distinct entities of @p list? */
static bool
listed(const struct scpp_oid *list, uint32_t n, struct scpp_oid e)
{
	for (uint32_t i = 0; i < n; i++)
		if (oid_eq(list[i], e))
			return true;
	return false;
}

size_t
eval_susp_hold_need(const struct scpp_eval_ctx *ctx, uint32_t *nents)
{
	struct scpp_oid seen[EVAL_HELD_MAX];
	uint32_t d = 0;
	size_t need;

	if (ctx->npend > 0 || ctx->edit != NULL || ctx->nundo > EVAL_HOLD_UNDO_MAX)
		return SIZE_MAX;
	need = al8((size_t)ctx->nundo * sizeof(struct undo)) +
	       al8((size_t)ctx->ncreated * (sizeof(struct scpp_oid) + 1));
	for (uint32_t i = 0; i < ctx->nundo; i++) {
		const struct undo *u = &ctx->undo[i];

		if (u->kind == UNDO_MAP_DETACHED || u->kind == UNDO_ENTITY_DELETED)
			return SIZE_MAX;
		need += undo_value_bytes(u);
		if (!listed(seen, d, u->oid)) {
			if (d == EVAL_HELD_MAX || ctx->nheld + d >= EVAL_HELD_MAX)
				return SIZE_MAX;
			seen[d++] = u->oid;
		}
	}
	*nents = d;
	need += al8((size_t)ctx->nelog * sizeof(struct scpp_eval_edit_op));
	for (uint32_t i = 0; i < ctx->nelog; i++)
		need += (has_bytes(&ctx->elog[i].key) ? al8(ctx->elog[i].key.len) : 0) +
			(has_bytes(&ctx->elog[i].v) ? al8(ctx->elog[i].v.len) : 0);
	return need + al8((size_t)d * sizeof(struct scpp_oid));
}

static uint8_t *
keep_bytes(uint8_t **p, struct scpp_value *v)
{
	uint8_t *at = *p;

	memcpy(at, v->p, v->len);
	v->p = at;
	*p += al8(v->len);
	return at;
}

void
eval_susp_hold_save(struct scpp_eval_ctx *ctx, struct scpp_eval_susp *s, size_t base)
{
	struct undo *log;
	struct scpp_oid *ents;
	uint8_t *p;
	uint32_t d = 0;

	s->undo_off = al8(s->used);
	s->nundo = ctx->nundo;
	log = (struct undo *)(s->mem + s->undo_off);
	memcpy(log, ctx->undo, (size_t)ctx->nundo * sizeof(struct undo));
	s->created_off = s->undo_off + al8((size_t)ctx->nundo * sizeof(struct undo));
	s->ncreated = ctx->ncreated;
	memcpy(s->mem + s->created_off, ctx->created, (size_t)ctx->ncreated * sizeof(struct scpp_oid));
	memcpy(s->mem + s->created_off + (size_t)ctx->ncreated * sizeof(struct scpp_oid),
	       ctx->created_flag, ctx->ncreated);
	s->held_off = s->created_off + al8((size_t)ctx->ncreated * (sizeof(struct scpp_oid) + 1));
	ents = (struct scpp_oid *)(s->mem + s->held_off);
	for (uint32_t i = 0; i < ctx->nundo; i++)
		if (!listed(ents, d, log[i].oid))
			ents[d++] = log[i].oid;
	s->nheld = d;
	p = s->mem + s->held_off + al8((size_t)d * sizeof(struct scpp_oid));
	for (uint32_t i = 0; i < s->nundo; i++) {
		struct undo *u = &log[i];

		if (u->kind == UNDO_MAP_ENTRY && has_bytes(&u->key))
			keep_bytes(&p, &u->key);
		if (((u->kind == UNDO_TRIPLE || u->kind == UNDO_MAP_ENTRY) && u->had_old &&
		     has_bytes(&u->old)) || u->kind == UNDO_BYTES ||
		    u->kind == UNDO_WINDOW)
			keep_bytes(&p, &u->old);
	}
	/* The recorded schema edit, for whoever compiles it meanwhile. */
	s->elog_off = (size_t)(p - s->mem);
	s->nelog = ctx->nelog;
	if (ctx->nelog > 0) {
		struct scpp_eval_edit_op *ops = (struct scpp_eval_edit_op *)p;

		memcpy(ops, ctx->elog, (size_t)ctx->nelog * sizeof(*ops));
		p += al8((size_t)ctx->nelog * sizeof(*ops));
		for (uint32_t i = 0; i < ctx->nelog; i++) {
			if (has_bytes(&ops[i].key))
				keep_bytes(&p, &ops[i].key);
			if (has_bytes(&ops[i].v))
				keep_bytes(&p, &ops[i].v);
		}
		ctx->nelog = 0;
	}
	SCPP_VERIFY((size_t)(p - s->mem) <= base);
	for (uint32_t i = 0; i < d; i++)
		held_insert(ctx, ents[i], s);
	s->used = (size_t)(p - s->mem);
	s->held = 1;
}

static void
held_release(struct scpp_eval_ctx *ctx, struct scpp_eval_susp *s)
{
	const struct scpp_oid *ents = (const struct scpp_oid *)(s->mem + s->held_off);

	for (uint32_t i = 0; i < s->nheld; i++)
		held_remove(ctx, ents[i]);
}

int
eval_susp_hold_restore(struct scpp_eval_ctx *ctx, struct scpp_eval_susp *s)
{
	const struct undo *log = (const struct undo *)(s->mem + s->undo_off);

	if (s->nundo > ctx->undo_max || s->ncreated > ctx->created_max)
		return -SCPP_E_LIMIT_STEPS;
	held_release(ctx, s);
	memcpy(ctx->undo, log, (size_t)s->nundo * sizeof(struct undo));
	ctx->nundo = s->nundo;
	for (uint32_t i = 0; i < s->nundo; i++) {
		struct undo *u = &ctx->undo[i];
		struct scpp_value *vs[2] = {NULL, NULL};

		if (u->kind == UNDO_MAP_ENTRY && has_bytes(&u->key))
			vs[0] = &u->key;
		if (((u->kind == UNDO_TRIPLE || u->kind == UNDO_MAP_ENTRY) && u->had_old &&
		     has_bytes(&u->old)) || u->kind == UNDO_BYTES ||
		    u->kind == UNDO_WINDOW)
			vs[1] = &u->old;
		for (int k = 0; k < 2; k++) {
			size_t n;

			if (vs[k] == NULL)
				continue;
			n = al8(vs[k]->len);
			/* Charged when first saved; the arena had room then and
			 * holds less now (only the rows restored before). */
			if (n > ctx->arena_size - ctx->arena_used)
				return -SCPP_E_LIMIT_BYTES;
			memcpy(ctx->arena + ctx->arena_used, vs[k]->p, vs[k]->len);
			vs[k]->p = ctx->arena + ctx->arena_used;
			ctx->arena_used += n;
		}
	}
	memcpy(ctx->created, s->mem + s->created_off, (size_t)s->ncreated * sizeof(struct scpp_oid));
	memcpy(ctx->created_flag, s->mem + s->created_off + (size_t)s->ncreated * sizeof(struct scpp_oid),
	       s->ncreated);
	ctx->ncreated = s->ncreated;
	/* A recorded schema edit has been dealt with elsewhere by now
	 * (published, or the block is being aborted): not restored. */
	ctx->nelog = 0;
	s->held = 0;
	return 0;
}

unsigned int
scpp_eval_susp_edit(const struct scpp_eval_susp *s, const struct scpp_eval_edit_op **ops)
{
	if (s == NULL || !s->active || !s->held || s->nelog == 0) {
		*ops = NULL;
		return 0;
	}
	*ops = (const struct scpp_eval_edit_op *)(s->mem + s->elog_off);
	return s->nelog;
}
