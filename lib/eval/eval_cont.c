/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Continuations, the evaluator's side (docs/PROTOCOL.md §19): where each
 * row of a binding table must run the next command, how a suspension's
 * rows divide between this shard and the owners of the others, the rows
 * that go to an owner in the CONT row format, and a suspension filled from
 * a received CONT, which scpp_eval_resume() then runs.
 *
 * The evaluator core (eval.c) and the suspension's save/restore
 * (eval_susp.c) are not changed by any of this: a continuation is a
 * suspension whose rows came from the wire. Everything here reads or
 * rewrites struct scpp_eval_susp's arena in place: rows back to back at
 * the start, then the collected statuses, then the str/bytes values the
 * rows point to.
 */
#include <errno.h>
#include <string.h>

#include "eval_priv.h"

static size_t
al8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static inline const struct row *
view_row(const struct scpp_eval_rows *rows, size_t i)
{
	return (const struct row *)(rows->tab + i * rows->stride);
}

int
scpp_eval_ctx_rows(const struct scpp_eval_ctx *ctx, struct scpp_eval_rows *out)
{
	if (ctx == NULL || ctx->hook_tab == NULL)
		return -EINVAL;
	out->tab = ctx->hook_tab;
	out->n = ctx->hook_nrows;
	out->stride = ctx->hook_stride;
	return 0;
}

int
scpp_eval_susp_rows(const struct scpp_eval_susp *s, struct scpp_eval_rows *out)
{
	if (!scpp_eval_susp_active(s))
		return -EINVAL;
	out->tab = s->mem;
	out->n = s->nrows;
	out->stride = s->stride;
	return 0;
}

/* The entity of the VALUE term at the bottom of address @p ti, or NULL. */
static const struct scpp_wire_term *
addr_entity(const struct scpp_wire_block *b, uint16_t ti)
{
	const struct scpp_wire_term *t = eval_addr_base(b, ti, NULL, NULL);

	return t != NULL && t->kind == SCPP_TERM_VALUE ? &b->term[t->a] : NULL;
}

/* The term in the command's first entity position, or NULL (none). */
static const struct scpp_wire_term *
entity_term(const struct scpp_wire_block *b, const struct scpp_wire_cmd *cmd)
{
	switch (cmd->op) {
	case SCPP_OP_GET:
	case SCPP_OP_SET:
	case SCPP_OP_ALLOC:
	case SCPP_OP_DEL:
	case SCPP_OP_RESIZE:
		return &b->term[cmd->term[0]];
	case SCPP_OP_COPY:
	case SCPP_OP_WRITE:
		/* The destination address: offset(...(value(e, a))...). */
		return addr_entity(b, cmd->term[0]);
	default:
		return NULL;
	}
}

/* Term @p t's value in row @p i: a constant, or a bound variable; NULL
 * for anything else. */
static const struct scpp_value *
term_value_of(const struct scpp_wire_term *t, const struct scpp_eval_rows *rows, size_t i)
{
	const struct row *r;

	if (t == NULL)
		return NULL;
	if (t->kind == SCPP_TERM_CONST)
		return &t->value;
	if (t->kind != SCPP_TERM_VAR)
		return NULL;
	r = view_row(rows, i);
	return (r->bound >> t->var) & 1 ? &r->v[t->var] : NULL;
}

/* Entity term @p t's OID in row @p i, if it is one. */
static bool
term_oid(const struct scpp_wire_term *t, const struct scpp_eval_rows *rows, size_t i,
	 struct scpp_oid *out)
{
	const struct scpp_value *v = term_value_of(t, rows, i);

	if (v == NULL || v->type != SCPP_VT_OID)
		return false;
	*out = v->oid;
	return true;
}

/* Is address @p ti a map entry (value(e, m[k]) under any offset()s)? */
bool
eval_addr_keyed(const struct scpp_wire_block *b, uint16_t ti)
{
	const struct scpp_wire_term *t = eval_addr_base(b, ti, NULL, NULL);

	return t != NULL && t->kind == SCPP_TERM_VALUE && b->term[t->b].kind == SCPP_TERM_KEY;
}

unsigned int
scpp_eval_block_split_why(const struct scpp_wire_block *b, struct scpp_oid here)
{
	unsigned int why = 0;

	for (uint16_t i = 0; i < b->ncmds && why != (SCPP_EVAL_SPLIT_ENTITY | SCPP_EVAL_SPLIT_VMA);
	     i++) {
		const struct scpp_wire_term *t = entity_term(b, &b->cmd[i]);

		/* A VMA address may lead to another node's memory window. */
		if (b->cmd[i].op == SCPP_OP_COPY &&
		    (eval_addr_keyed(b, b->cmd[i].term[0]) || eval_addr_keyed(b, b->cmd[i].term[1])))
			why |= SCPP_EVAL_SPLIT_VMA;

		if (t == NULL)
			continue;
		if (t->kind == SCPP_TERM_VAR)
			why |= SCPP_EVAL_SPLIT_ENTITY;
		if (t->kind == SCPP_TERM_CONST && t->value.type == SCPP_VT_OID &&
		    t->value.oid.hi != 0 && t->value.oid.hi != here.hi)
			why |= SCPP_EVAL_SPLIT_ENTITY;
	}
	return why;
}

bool
scpp_eval_block_may_split(const struct scpp_wire_block *b, struct scpp_oid here)
{
	return scpp_eval_block_split_why(b, here) != 0;
}

enum scpp_eval_where
scpp_eval_row_where(const struct scpp_wire_block *b, uint16_t cmd,
		    const struct scpp_eval_rows *rows, size_t i, struct scpp_oid here,
		    struct scpp_oid *owner)
{
	const struct scpp_wire_cmd *c = &b->cmd[cmd];
	const struct scpp_wire_term *t = entity_term(b, c);
	const struct scpp_value *v;
	struct scpp_oid e;

	if (t == NULL)
		return SCPP_EVAL_HERE;
	if (t->kind == SCPP_TERM_CONST) {
		v = &t->value;
	} else if (t->kind == SCPP_TERM_VAR) {
		const struct row *r = view_row(rows, i);

		if (!((r->bound >> t->var) & 1))
			return c->op == SCPP_OP_GET ? SCPP_EVAL_ANY : SCPP_EVAL_HERE;
		v = &r->v[t->var];
	} else {
		return SCPP_EVAL_HERE;
	}
	if (v->type != SCPP_VT_OID)
		return SCPP_EVAL_HERE;
	e = v->oid;
	/* As the evaluator's own locality test: the well-known namespace is
	 * on every shard, anything else on the shard its prefix names. */
	if (e.hi == 0 || e.hi == here.hi)
		return SCPP_EVAL_HERE;
	/* A copy whose destination and source both live elsewhere goes to the
	 * source's owner first: only it can turn the source into a window
	 * address (third party, docs/COPY.md "Third-party copies"), and it
	 * ships the row on to the destination's owner itself. */
	if (c->op == SCPP_OP_COPY) {
		struct scpp_oid s;

		if (term_oid(addr_entity(b, c->term[1]), rows, i, &s) && s.hi != 0 &&
		    s.hi != here.hi)
			e = s;
	}
	if (owner != NULL)
		*owner = scpp_oid_make(scpp_oid_locale(e), scpp_oid_node(e), scpp_oid_shard(e), 0,
				       0);
	return SCPP_EVAL_THERE;
}

/* Term @p ti's value in row @p i (term_value_of()). */
static const struct scpp_value *
term_value(const struct scpp_wire_block *b, uint16_t ti, const struct scpp_eval_rows *rows,
	   size_t i)
{
	return term_value_of(&b->term[ti], rows, i);
}

/* A length or offset as the evaluator takes it: u64, or a non-negative i64. */
static bool
term_len(const struct scpp_value *v, uint64_t *out)
{
	if (v != NULL && v->type == SCPP_VT_U64)
		*out = v->u;
	else if (v != NULL && v->type == SCPP_VT_I64 && v->i >= 0)
		*out = (uint64_t)v->i;
	else
		return false;
	return true;
}

/* Sums the offsets of a copy source's address in one row (eval_addr_base()). */
struct src_offs {
	const struct scpp_wire_block *b;
	const struct scpp_eval_rows *rows;
	size_t i;
	uint64_t off;
};

static bool
src_off_add(void *arg, uint16_t off_term)
{
	struct src_offs *so = arg;
	uint64_t n;

	if (!term_len(term_value(so->b, off_term, so->rows, so->i), &n) || so->off + n < so->off)
		return false;
	so->off += n;
	return true;
}

int
scpp_eval_row_copy_src(const struct scpp_wire_block *b, uint16_t cmd,
		       const struct scpp_eval_rows *rows, size_t i, struct scpp_eval_copy_src *out)
{
	const struct scpp_wire_cmd *c = &b->cmd[cmd];
	struct src_offs so = {.b = b, .rows = rows, .i = i};
	const struct scpp_wire_term *t;
	const struct scpp_value *v;

	if (c->op != SCPP_OP_COPY || i >= rows->n)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	t = eval_addr_base(b, c->term[1], src_off_add, &so);
	if (t == NULL || t->kind != SCPP_TERM_VALUE)
		return -EOPNOTSUPP;
	out->off = so.off;
	v = term_value(b, t->a, rows, i);
	if (v == NULL || v->type != SCPP_VT_OID)
		return -EOPNOTSUPP;
	out->e = v->oid;
	/* A plain attribute name: a map entry (KEY) is rewritten by the
	 * owner's evaluation (VMA), not here. */
	if (b->term[t->b].kind != SCPP_TERM_CONST || b->term[t->b].value.type != SCPP_VT_STR)
		return -EOPNOTSUPP;
	out->attr = (const char *)b->term[t->b].value.p;
	out->attr_len = b->term[t->b].value.len;
	if (!term_len(term_value(b, c->term[2], rows, i), &out->len))
		return -EOPNOTSUPP;
	return 0;
}

int
scpp_eval_cmd_copy_keyed(const struct scpp_wire_block *b, uint16_t cmd, unsigned int end)
{
	if (cmd >= b->ncmds || b->cmd[cmd].op != SCPP_OP_COPY || end > 1)
		return -EINVAL;
	return eval_addr_keyed(b, b->cmd[cmd].term[end]) ? 1 : 0;
}

int
scpp_eval_row_copy_end(const struct scpp_wire_block *b, uint16_t cmd,
		       const struct scpp_eval_rows *rows, size_t i, unsigned int end,
		       struct scpp_eval_copy_end *out)
{
	const struct scpp_wire_cmd *c;

	if (cmd >= b->ncmds || b->cmd[cmd].op != SCPP_OP_COPY || i >= rows->n || end > 1)
		return -EINVAL;
	c = &b->cmd[cmd];
	memset(out, 0, sizeof(*out));
	out->keyed = eval_addr_keyed(b, c->term[end]);
	if (!term_oid(addr_entity(b, c->term[end]), rows, i, &out->e) ||
	    !term_len(term_value(b, c->term[2], rows, i), &out->len))
		return -EOPNOTSUPP;
	return 0;
}

int
scpp_eval_susp_split(const struct scpp_eval_susp *s, const struct scpp_wire_block *b,
		     struct scpp_oid here, uint32_t *idx, size_t idx_cap,
		     struct scpp_eval_split *out)
{
	return scpp_eval_susp_split_ex(s, b, here, NULL, NULL, idx, idx_cap, out);
}

int
scpp_eval_susp_split_ex(const struct scpp_eval_susp *s, const struct scpp_wire_block *b,
			struct scpp_oid here, scpp_eval_where_fn there, void *arg,
			uint32_t *idx, size_t idx_cap, struct scpp_eval_split *out)
{
	struct scpp_eval_rows rows;
	uint32_t *grp, count[SCPP_EVAL_SPLIT_OWNERS] = {0}, at[SCPP_EVAL_SPLIT_OWNERS];
	uint32_t nhere = 0;
	uint16_t cmd;

	if (scpp_eval_susp_rows(s, &rows) != 0 || s->nvars != b->nvars ||
	    s->next_cmd >= b->ncmds)
		return -EINVAL;
	if (idx_cap / 2 < rows.n)
		return -ENOSPC;
	cmd = s->next_cmd;
	memset(out, 0, sizeof(*out));
	/* First pass: each row's group (0 here, g + 1 the g-th owner) in the
	 * upper half of idx; owners numbered in order of their first row. */
	grp = idx + rows.n;
	for (size_t i = 0; i < rows.n; i++) {
		struct scpp_oid o;
		enum scpp_eval_where w = scpp_eval_row_where(b, cmd, &rows, i, here, &o);
		uint16_t g;

		if (w == SCPP_EVAL_HERE && there != NULL && there(arg, b, cmd, &rows, i, &o))
			w = SCPP_EVAL_THERE;

		grp[i] = 0;
		if (w == SCPP_EVAL_ANY)
			out->nany++;
		if (w != SCPP_EVAL_THERE) {
			nhere++;
			continue;
		}
		for (g = 0; g < out->nowners; g++)
			if (scpp_oid_eq(out->part[g].owner, o))
				break;
		if (g == out->nowners) {
			if (g == SCPP_EVAL_SPLIT_OWNERS) {
				out->nover++;
				nhere++;
				continue;
			}
			out->part[g].owner = o;
			out->nowners++;
		}
		count[g]++;
		grp[i] = g + 1u;
	}
	/* Second pass, stable: here rows first, then each owner's. */
	out->nhere = nhere;
	at[0] = nhere;
	for (uint16_t g = 0; g < out->nowners; g++) {
		if (g > 0)
			at[g] = at[g - 1] + count[g - 1];
		out->part[g].first = at[g];
		out->part[g].n = count[g];
	}
	nhere = 0;
	for (size_t i = 0; i < rows.n; i++) {
		uint32_t g = grp[i];

		if (g == 0)
			idx[nhere++] = (uint32_t)i;
		else
			idx[at[g - 1]++] = (uint32_t)i;
	}
	return 0;
}

static bool
indexes_ok(const struct scpp_eval_susp *s, const uint32_t *idx, size_t n, bool ascending)
{
	for (size_t k = 0; k < n; k++)
		if (idx[k] >= s->nrows || (ascending && k > 0 && idx[k] <= idx[k - 1]))
			return false;
	return true;
}

int
scpp_eval_susp_keep(struct scpp_eval_susp *s, const uint32_t *idx, size_t n)
{
	if (!scpp_eval_susp_active(s) || n > s->nrows || (n != 0 && idx == NULL) ||
	    !indexes_ok(s, idx, n, true))
		return -EINVAL;
	/* Ascending indexes: row k moves down to k or stays, never over a
	 * row still to be read. The values stay where they are in the arena
	 * (the rows' pointers remain valid); the statuses after the rows are
	 * found by stat_off, which does not move. */
	for (size_t k = 0; k < n; k++)
		if (idx[k] != k)
			memcpy(s->mem + k * s->stride, s->mem + (size_t)idx[k] * s->stride,
			       s->stride);
	s->nrows = n;
	return 0;
}

long
scpp_eval_susp_rows_encode(const struct scpp_eval_susp *s, const uint32_t *idx, size_t n,
			   uint8_t *buf, size_t size)
{
	size_t o = 0;

	if (!scpp_eval_susp_active(s) || (n != 0 && idx == NULL) || !indexes_ok(s, idx, n, false))
		return -EINVAL;
	for (size_t k = 0; k < n; k++) {
		const struct row *r = (const struct row *)(s->mem + (size_t)idx[k] * s->stride);
		int w = scpp_wire_cont_row_encode(buf + o, size - o, s->nvars, r->bound, r->v);

		if (w < 0)
			return w;
		o += (size_t)w;
	}
	return (long)o;
}

long
scpp_eval_susp_keep_owned(struct scpp_eval_susp *s, const struct scpp_wire_block *b,
			  uint16_t cmd, uint32_t *idx, size_t idx_cap)
{
	const struct scpp_wire_term *t;
	size_t n = 0, total;

	if (!scpp_eval_susp_active(s) || cmd >= b->ncmds || s->nvars != b->nvars)
		return -EINVAL;
	t = entity_term(b, &b->cmd[cmd]);
	if (t == NULL || t->kind != SCPP_TERM_VAR)
		return 0;
	if (idx_cap < s->nrows)
		return -ENOSPC;
	total = s->nrows;
	for (size_t i = 0; i < total; i++) {
		const struct row *r = (const struct row *)(s->mem + i * s->stride);
		const struct scpp_value *v = &r->v[t->var];

		if (((r->bound >> t->var) & 1) && v->type == SCPP_VT_OID && v->oid.hi == 0)
			continue; /* well-known: every shard has it, the origin reports it */
		idx[n++] = (uint32_t)i;
	}
	if (n == total)
		return 0;
	(void)scpp_eval_susp_keep(s, idx, n);
	return (long)(total - n);
}

static bool
has_bytes(const struct scpp_value *v)
{
	return (v->type == SCPP_VT_STR || v->type == SCPP_VT_BYTES) && v->len != 0;
}

/* Does any command of @p b let rows differ in what they bind (eval.c's
 * check_block() computes the same for the evaluation)? */
static bool
block_mixes_rows(const struct scpp_wire_block *b)
{
	for (uint16_t i = 0; i < b->ncmds; i++)
		if ((b->cmd[i].flags & SCPP_WIRE_CF_GUARD) && eval_x_binds_or_checks(b->cmd[i].op))
			return true;
	return false;
}

int
scpp_eval_susp_load(struct scpp_eval_susp *s, const struct scpp_wire_block *b,
		    const struct scpp_wire_cont *c)
{
	size_t stride = sizeof(struct row) + (size_t)b->nvars * sizeof(struct scpp_value);
	struct scpp_wire_cont_rows it;
	bool mixed = block_mixes_rows(b);
	size_t used, vals;
	uint64_t mask0 = 0;
	int rc;

	if (s == NULL || s->active || c->nvars != b->nvars || c->start >= b->ncmds)
		return -EINVAL;
	if (c->nrows > s->cap / stride)
		return -SCPP_E_LIMIT_PENDING;
	/* Rows first (their values still point into the message), then the
	 * values copied behind them; no statuses. */
	used = al8((size_t)c->nrows * stride);
	vals = used;
	scpp_wire_cont_rows_init(&it, c);
	for (uint32_t k = 0; k < c->nrows; k++) {
		struct row *r = (struct row *)(s->mem + (size_t)k * stride);
		uint64_t bound;

		rc = scpp_wire_cont_row_next(&it, &bound, r->v);
		if (rc == 0)
			rc = -SCPP_E_TRUNCATED; /* unreachable: nrows counts rows */
		if (rc < 0)
			return rc;
		if (k == 0)
			mask0 = bound;
		else if (!mixed && bound != mask0)
			return -SCPP_E_BAD_FLAGS;
		r->bound = bound;
		for (uint16_t v = 0; v < b->nvars; v++) {
			struct scpp_value *x = &r->v[v];

			if (!((bound >> v) & 1)) {
				*x = scpp_value_nil(); /* never read; never garbage */
				continue;
			}
			if (!has_bytes(x))
				continue;
			if (al8(x->len) > s->cap - vals)
				return -SCPP_E_LIMIT_PENDING;
			memcpy(s->mem + vals, x->p, x->len);
			x->p = s->mem + vals;
			vals += al8(x->len);
		}
	}
	rc = scpp_wire_cont_row_next(&it, &mask0, ((struct row *)s->mem)->v);
	if (rc != 0)
		return rc < 0 ? rc : -SCPP_E_TRAILING;
	s->nrows = c->nrows;
	s->stride = stride;
	s->nvars = b->nvars;
	s->next_cmd = c->start;
	s->stat_off = used;
	s->nstat = 0;
	s->status_vars = b->status_vars; /* as check_block() set it at the origin */
	memset(s->status_count, 0, sizeof(s->status_count));
	s->steps = 0;
	s->bytes_charged = 0;
	s->commands = 0;
	s->elapsed_ns = 0;
	s->held = 0; /* a plain stop: continuations are never held */
	s->nundo = 0;
	s->ncreated = 0;
	s->nheld = 0;
	s->used = vals;
	s->active = 1;
	return 0;
}
