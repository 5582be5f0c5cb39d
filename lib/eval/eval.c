/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Block evaluator.
 *
 * Design notes
 * ------------
 * - Binding table: rows of (bound mask, nvars values), stored back to back
 *   in one of two preallocated tables; a command reads every row of the
 *   current table and appends its output rows to the other, then they swap.
 *   Row count and table bytes are both limited (E_LIMIT_ROWS).
 * - Values bound from the store are copied into the block arena at once:
 *   the store lends its memory only until the next mutation of that triple,
 *   and a later command of the same block may be that mutation.
 * - Atomicity by undo log: each mutation first records how to reverse it
 *   (old str/bytes data is copied into the arena), then applies. Aborting
 *   replays the log backwards. The shard has one thread, so nothing else
 *   sees the intermediate states. Undo data counts against max_bytes, so a
 *   block that would need an unbounded undo log hits a limit instead.
 * - Attribute names: constant attribute terms are resolved to dictionary ids
 *   once per block (term_attr[]), so the per-row path does no string hashing
 *   in the common case.
 * - Error rule for get: a miss is an error (ENOENT) only when every key
 *   position (entity, attribute, map key) is determined; with any of them
 *   unbound, a miss simply yields no rows (it is a search).
 * - Fast path ("fast path" below): a block's leading fully keyed gets run
 *   on the single starting row with burst lookups; the general path takes
 *   over from exactly the state it would have reached, or runs the block
 *   again from the start when the fast path meets what it leaves to it.
 *   get16 (bench-eval, callgrind): 24,758 instructions per block before,
 *   see perf/RESULTS.md for after.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_malloc.h>

#include "eval_priv.h"
#include "scpp_schema.h"


/* Outcome of resolving a term in a row. */
struct tv {
	bool bound;
	uint8_t var;          /* the variable, when the term is a variable */
	bool is_var;
	struct scpp_value v;  /* the value, when bound */
};


/* ------------------------------------------------------------- allocation */

static void *
mem_alloc(bool rte, size_t size, int socket)
{
	if (rte)
		return rte_malloc_socket("scpp_eval", size, 64, socket);
	return calloc(1, size);
}

static void
mem_free(bool rte, void *p)
{
	if (rte)
		rte_free(p);
	else
		free(p);
}

struct scpp_eval_ctx *
scpp_eval_ctx_create(const struct scpp_eval_limits *limits, int socket, bool use_rte)
{
	struct scpp_eval_ctx *ctx;
	struct scpp_eval_limits l = {0};

	if (limits != NULL)
		l = *limits;
	if (l.max_rows == 0)
		l.max_rows = SCPP_EVAL_DEFAULT_ROWS;
	if (l.max_steps == 0)
		l.max_steps = SCPP_EVAL_DEFAULT_STEPS;
	if (l.max_bytes == 0)
		l.max_bytes = SCPP_EVAL_DEFAULT_BYTES;
	if (l.max_result == 0)
		l.max_result = SCPP_EVAL_DEFAULT_RESULT;
	if (l.max_statuses == 0)
		l.max_statuses = SCPP_EVAL_DEFAULT_STATUSES;
	if (l.max_time_us == 0)
		l.max_time_us = SCPP_EVAL_DEFAULT_TIME_US;
	if (scpp_eval_limits_check(&l, NULL, NULL, NULL) != 0) {
		errno = EINVAL;
		return NULL;
	}

	ctx = mem_alloc(use_rte, sizeof(*ctx), socket);
	if (ctx == NULL)
		goto err_nomem;
	memset(ctx, 0, sizeof(*ctx));
	ctx->use_rte = use_rte;
	ctx->fast = true;
	ctx->lim = l;
	/* Tables hold max_rows rows of up to 16 variables; blocks with more
	 * variables get proportionally fewer rows (E_LIMIT_ROWS says so). */
	ctx->tab_bytes = (size_t)l.max_rows * (sizeof(struct row) + 16 * sizeof(struct scpp_value));
	ctx->tab[0] = mem_alloc(use_rte, ctx->tab_bytes, socket);
	ctx->tab[1] = mem_alloc(use_rte, ctx->tab_bytes, socket);
	ctx->arena_size = (size_t)l.max_bytes;
	ctx->arena = mem_alloc(use_rte, ctx->arena_size, socket);
	/* Every undo record costs at least one step, so max_steps bounds the
	 * log; cap the preallocation at 1 Mi records. */
	ctx->undo_max = (uint32_t)SCPP_MIN(l.max_steps, UINT64_C(1) << 20);
	ctx->undo = mem_alloc(use_rte, (size_t)ctx->undo_max * sizeof(struct undo), socket);
	ctx->stat = mem_alloc(use_rte, (size_t)(l.max_statuses + 1) * sizeof(struct collected),
			      socket);
	/* Every create also pushes an undo record, so the undo log's size
	 * (a step limit) bounds the objects a block can create or type. */
	ctx->created_max = ctx->undo_max;
	ctx->created = mem_alloc(use_rte, (size_t)ctx->created_max * sizeof(struct scpp_oid),
				 socket);
	ctx->created_flag = mem_alloc(use_rte, ctx->created_max, socket);
	ctx->ixhit_max = l.max_rows + 1;
	ctx->ixhit = mem_alloc(use_rte, (size_t)ctx->ixhit_max * sizeof(*ctx->ixhit), socket);
	if (ctx->tab[0] == NULL || ctx->tab[1] == NULL || ctx->arena == NULL ||
	    ctx->undo == NULL || ctx->stat == NULL || ctx->created == NULL ||
	    ctx->created_flag == NULL || ctx->ixhit == NULL) {
		scpp_eval_ctx_free(ctx);
		goto err_nomem;
	}
	return ctx;

err_nomem:
	errno = ENOMEM;
	return NULL;
}

int
scpp_eval_limits_check(const struct scpp_eval_limits *l, const char **field, uint64_t *lo,
		       uint64_t *hi)
{
	static const struct {
		const char *name;
		size_t off;
		uint8_t wide;
		uint64_t lo, hi;
	} tab[] = {
		{"max_rows", offsetof(struct scpp_eval_limits, max_rows), 0, 1, SCPP_EVAL_MAX_ROWS},
		{"max_steps", offsetof(struct scpp_eval_limits, max_steps), 1, 1,
		 SCPP_EVAL_MAX_STEPS},
		{"max_bytes", offsetof(struct scpp_eval_limits, max_bytes), 1, 1,
		 SCPP_EVAL_MAX_BYTES},
		{"max_result", offsetof(struct scpp_eval_limits, max_result), 0,
		 SCPP_EVAL_MIN_RESULT, UINT32_MAX},
		{"max_statuses", offsetof(struct scpp_eval_limits, max_statuses), 0, 1,
		 SCPP_EVAL_MAX_STATUSES},
		{"max_time_us", offsetof(struct scpp_eval_limits, max_time_us), 0, 1,
		 SCPP_EVAL_MAX_TIME_US},
	};

	for (size_t i = 0; i < SCPP_ARRAY_SIZE(tab); i++) {
		const uint8_t *p = (const uint8_t *)l + tab[i].off;
		uint64_t v;

		if (tab[i].wide) {
			memcpy(&v, p, sizeof(v));
		} else {
			uint32_t v32;

			memcpy(&v32, p, sizeof(v32));
			v = v32;
		}
		if (v != 0 && (v < tab[i].lo || v > tab[i].hi)) {
			if (field != NULL)
				*field = tab[i].name;
			if (lo != NULL)
				*lo = tab[i].lo;
			if (hi != NULL)
				*hi = tab[i].hi;
			return -EINVAL;
		}
	}
	return 0;
}

void
scpp_eval_ctx_arena(const struct scpp_eval_ctx *ctx, void **base, size_t *len)
{
	*base = ctx->arena;
	*len = ctx->arena_size;
}

void
scpp_eval_ctx_free(struct scpp_eval_ctx *ctx)
{
	if (ctx == NULL)
		return;
	mem_free(ctx->use_rte, ctx->tab[0]);
	mem_free(ctx->use_rte, ctx->tab[1]);
	mem_free(ctx->use_rte, ctx->arena);
	mem_free(ctx->use_rte, ctx->undo);
	mem_free(ctx->use_rte, ctx->stat);
	mem_free(ctx->use_rte, ctx->created);
	mem_free(ctx->use_rte, ctx->created_flag);
	mem_free(ctx->use_rte, ctx->ixhit);
	eval_schema_edit_drop(ctx);
	mem_free(ctx->use_rte, ctx);
}

void
scpp_eval_ctx_limits(const struct scpp_eval_ctx *ctx, struct scpp_eval_limits *out)
{
	*out = ctx->lim;
}

void
scpp_eval_ctx_stats(const struct scpp_eval_ctx *ctx, struct scpp_eval_stats *out)
{
	out->fast_blocks = scpp_counter_read(&ctx->st.fast_blocks);
	out->fast_cmds = scpp_counter_read(&ctx->st.fast_cmds);
	out->fast_run_cmds = scpp_counter_read(&ctx->st.fast_run_cmds);
	out->fast_restarts = scpp_counter_read(&ctx->st.fast_restarts);
	out->busy_reads = scpp_counter_read(&ctx->st.busy_reads);
	out->fast_hashed = scpp_counter_read(&ctx->st.fast_hashed);
}

void
scpp_eval_ctx_fast(struct scpp_eval_ctx *ctx, bool on)
{
	ctx->fast = on;
}

void
scpp_eval_use_prefetch(struct scpp_eval_ctx *ctx, const struct scpp_eval_prefetch *pf)
{
	ctx->pf = pf;
}

/* ----------------------------------------------------------------- errors */

static bool
is_limit(int code)
{
	return code == -SCPP_E_LIMIT_ROWS || code == -SCPP_E_LIMIT_STEPS ||
	       code == -SCPP_E_LIMIT_BYTES || code == -SCPP_E_LIMIT_RESULT ||
	       code == -SCPP_E_LIMIT_TIME;
}

/*
 * Record the failure being reported. The message is formatted once, and
 * only when the status will be kept: a failure under a status variable
 * that already holds max_statuses records is counted, not sent, so it
 * gets its code and errno only (a limit always aborts, so it is kept).
 */
static SCPP_COLD int
failv(struct run *r, int code, const char *fmt, va_list ap)
{
	code = code > 0 ? -code : code;
	if (r->quiet && !is_limit(code)) {
		scpp_status_set_code(&r->st, code, "eval");
		return code;
	}
	scpp_status_setv(&r->st, code, "eval", fmt, ap);
	return code;
}

static SCPP_COLD int __attribute__((format(printf, 3, 4)))
fail(struct run *r, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = failv(r, code, fmt, ap);
	va_end(ap);
	return code;
}

static SCPP_COLD int
check_time(struct run *r)
{
	struct scpp_eval_ctx *c = r->ctx;
	uint64_t t;

	c->time_check = c->steps + SCPP_EVAL_TIME_CHECK;
	if (r->env->clock_ns == NULL)
		return 0;
	t = r->env->clock_ns() - c->t0;
	if (t > c->max_time_ns)
		return fail(r, -SCPP_E_LIMIT_TIME, "block exceeded its %u us time budget "
			    "after %llu steps", c->lim.max_time_us, (unsigned long long)c->steps);
	return 0;
}

/*
 * Charge @n steps, plus the index buckets the store probed since the last
 * charge (a lookup's probe chain is work too: docs/PROTOCOL.md §15 Limits).
 * Every few hundred steps the clock is read for the time budget.
 */
static inline int
step(struct run *r, uint64_t n)
{
	struct scpp_eval_ctx *c = r->ctx;
	uint64_t p = *c->probes;

	n += p - c->probes_seen;
	c->probes_seen = p;
	/* Compared before it is added: the sum cannot wrap. */
	if (SCPP_UNLIKELY(n > c->lim.max_steps - c->steps)) {
		c->steps = c->lim.max_steps + 1;
		return fail(r, -SCPP_E_LIMIT_STEPS, "block exceeded %llu steps",
			    (unsigned long long)c->lim.max_steps);
	}
	c->steps += n;
	if (SCPP_UNLIKELY(c->steps >= c->time_check))
		return check_time(r);
	return 0;
}

/* Charge @n bytes against max_bytes, checked before it is added. */
static inline int
charge_bytes(struct run *r, uint64_t n)
{
	struct scpp_eval_ctx *c = r->ctx;

	if (SCPP_UNLIKELY(n > c->lim.max_bytes - c->bytes))
		return fail(r, -SCPP_E_LIMIT_BYTES, "block exceeded %llu bytes (%llu more asked)",
			    (unsigned long long)c->lim.max_bytes, (unsigned long long)n);
	c->bytes += n;
	return 0;
}

/* Format an OID or value for a message. */
static const char *
vtext(char *buf, size_t size, const struct scpp_value *v)
{
	scpp_value_format(buf, size, v);
	return buf;
}

static const char *
otext(char *buf, size_t size, struct scpp_oid o)
{
	scpp_oid_format(buf, size, o);
	return buf;
}

/* ------------------------------------------------------------------ arena */

static void *
arena_alloc(struct run *r, size_t n)
{
	struct scpp_eval_ctx *c = r->ctx;
	void *p;

	if (SCPP_UNLIKELY(n > c->arena_size - c->arena_used)) {
		fail(r, -SCPP_E_LIMIT_BYTES, "block exceeded %llu bytes",
		     (unsigned long long)c->lim.max_bytes);
		return NULL;
	}
	if (charge_bytes(r, n) < 0)
		return NULL;
	p = c->arena + c->arena_used;
	/* Keep 8-byte alignment for whatever is stored next. */
	c->arena_used += (n + 7) & ~(size_t)7;
	if (c->arena_used > c->arena_size)
		c->arena_used = c->arena_size;
	return p;
}

/* Make @v own its bytes (copy str/bytes into the arena). */
static int
own(struct run *r, struct scpp_value *v)
{
	void *p;

	if ((v->type != SCPP_VT_STR && v->type != SCPP_VT_BYTES) || v->len == 0)
		return 0;
	p = arena_alloc(r, v->len);
	if (p == NULL)
		return -SCPP_E_LIMIT_BYTES;
	memcpy(p, v->p, v->len);
	v->p = p;
	return 0;
}

/* ------------------------------------------------------------------- rows */

static inline struct row *
row_at(const struct run *r, uint8_t *tab, size_t i)
{
	return (struct row *)(tab + i * r->stride);
}

/* Append a copy of @in to the next table; returns the new row or NULL. */
static struct row *
emit(struct run *r, const struct row *in)
{
	struct row *o;

	if (SCPP_UNLIKELY(r->nnext >= r->max_rows)) {
		fail(r, -SCPP_E_LIMIT_ROWS, "block exceeded %zu rows", r->max_rows);
		return NULL;
	}
	if (step(r, 1) < 0)
		return NULL;
	o = row_at(r, r->next, r->nnext++);
	/* In place (next == cur), the output row is the input row or an
	 * earlier, already consumed one. */
	if (o != in)
		memcpy(o, in, r->stride);
	return o;
}

/*
 * Bind @var in the output row @o to @v, or check it against an earlier
 * binding of the same variable in this command. Returns 1 if the row
 * survives, 0 if it does not match, <0 on error.
 */
static int
bind(struct run *r, struct row *o, uint8_t var, const struct scpp_value *v)
{
	uint64_t m = UINT64_C(1) << var;

	if (o->bound & m)
		return scpp_value_eq(&o->v[var], v) ? 1 : 0;
	o->v[var] = *v;
	if (own(r, &o->v[var]) < 0)
		return -SCPP_E_LIMIT_BYTES;
	o->bound |= m;
	return 1;
}

/* ------------------------------------------------------------------ terms */

static void
resolve(const struct run *r, const struct row *row, uint16_t ti, struct tv *out)
{
	const struct scpp_wire_term *t = &r->b->term[ti];

	out->is_var = t->kind == SCPP_TERM_VAR;
	if (t->kind == SCPP_TERM_CONST) {
		out->bound = true;
		out->v = t->value;
		return;
	}
	out->var = t->var;
	out->bound = (row->bound >> t->var) & 1;
	if (out->bound)
		out->v = row->v[t->var];
}

/* Entity position: a bound term must hold an OID. */
static int
want_oid(struct run *r, const struct tv *t, const char *what)
{
	char buf[64];

	if (t->v.type != SCPP_VT_OID)
		return fail(r, -SCPP_E_TYPE, "%s must be an oid, got %s", what,
			    vtext(buf, sizeof(buf), &t->v));
	return 0;
}

/*
 * Attribute id of a bound attribute-name term. Returns the id (> 0), 0 if
 * the name was never interned (so no triple can have it), or <0 on error.
 * With @intern set, unknown names are added to the dictionary (writes).
 */
/* The cache slot for a name: a hash of its length and of its first and last
 * 8 bytes (overlapping for short names; two 4-byte words, or three bytes,
 * below 8), cheaper than the dictionary's full hash plus probe and enough to
 * spread attribute vocabularies. Fixed-size loads only: no copy of a
 * variable length. */
static inline unsigned int
acache_hash(const uint8_t *p, uint32_t len)
{
	uint64_t a, b = 0;

	if (len >= 8) {
		memcpy(&a, p, 8);
		memcpy(&b, p + len - 8, 8);
	} else if (len >= 4) {
		uint32_t x, y;

		memcpy(&x, p, 4);
		memcpy(&y, p + len - 4, 4);
		a = x | (uint64_t)y << 32;
	} else {
		a = len == 0 ? 0 : p[0] | (uint64_t)p[len / 2] << 8 | (uint64_t)p[len - 1] << 16;
	}
	a = (a ^ (b * UINT64_C(0x9e3779b97f4a7c15)) ^ len) * UINT64_C(0xff51afd7ed558ccd);
	return (unsigned int)(a >> 56);
}

/* memcmp(@p a, @p b, @p len) == 0, without a call for names of up to 16
 * bytes (overlapping words, as acache_hash() reads them). */
static inline bool
name_eq(const void *a, const void *b, uint32_t len)
{
	const uint8_t *x = a, *y = b;

	if (len >= 8 && len <= 16) {
		uint64_t x0, x1, y0, y1;

		memcpy(&x0, x, 8);
		memcpy(&y0, y, 8);
		memcpy(&x1, x + len - 8, 8);
		memcpy(&y1, y + len - 8, 8);
		return ((x0 ^ y0) | (x1 ^ y1)) == 0;
	}
	if (len >= 4 && len < 8) {
		uint32_t x0, x1, y0, y1;

		memcpy(&x0, x, 4);
		memcpy(&y0, y, 4);
		memcpy(&x1, x + len - 4, 4);
		memcpy(&y1, y + len - 4, 4);
		return ((x0 ^ y0) | (x1 ^ y1)) == 0;
	}
	if (len < 4)
		return len == 0 || (x[0] == y[0] && x[len / 2] == y[len / 2] && x[len - 1] == y[len - 1]);
	return memcmp(x, y, len) == 0;
}

static inline uint32_t *
acache_slot(struct scpp_eval_ctx *c, const uint8_t *p, uint32_t len)
{
	return &c->acache[acache_hash(p, len)];
}

/* Provisional id of a name this block introduced, or 0. */
static uint32_t
pending_find(const struct scpp_eval_ctx *c, const uint8_t *p, uint32_t len)
{
	for (uint32_t i = 0; i < c->npend; i++)
		if (c->pend[i].len == len && memcmp(c->pend[i].p, p, len) == 0)
			return EVAL_PENDING_ID0 + i;
	return 0;
}

int64_t
eval_name_id(struct scpp_eval_ctx *c, const struct scpp_eval_env *env, const uint8_t *p,
	     uint32_t len, bool intern)
{
	uint32_t *slot;
	const char *name;
	size_t nlen = 0;
	int64_t id;

	/* A name this block made pending stays pending for the whole block,
	 * even if another lcore interns it meanwhile: one name, one id. */
	if (c->npend > 0 && (id = pending_find(c, p, len)) != 0)
		return id;
	slot = acache_slot(c, p, len);
	name = *slot != 0 ? scpp_store_dict_name(env->dict, *slot, &nlen) : NULL;
	if (name != NULL && nlen == len && name_eq(name, p, len))
		return *slot;
	id = scpp_store_dict_lookup(env->dict, (const char *)p, len);
	if (id > 0) {
		*slot = (uint32_t)id;
		return id;
	}
	/* Not in the dictionary (a name too long for it cannot be there
	 * either): new, or nothing has it. */
	if (!intern)
		return 0;
	if (len > SCPP_STORE_ATTR_NAME_MAX)
		return -ENAMETOOLONG;
	if (c->npend == EVAL_PENDING_MAX)
		return -ENOSPC;
	c->pend[c->npend].p = p;
	c->pend[c->npend].len = len;
	c->pend[c->npend].id = 0;
	return EVAL_PENDING_ID0 + c->npend++;
}

/*
 * Attribute id of a bound attribute-name term: > 0, or 0 if nothing can
 * have the name (never interned, not written in this block), or <0 on
 * error. With @intern (a write), a name neither the dictionary nor the
 * block has becomes a pending name; it reaches the dictionary only if the
 * block commits with a triple that uses it (names_commit()).
 */
static int64_t
attr_id(struct run *r, uint16_t ti, const struct tv *t, bool intern)
{
	char buf[64];
	int64_t id;

	if (t->v.type != SCPP_VT_STR || t->v.len == 0)
		return fail(r, -SCPP_E_TYPE, "attribute must be a non-empty string, got %s",
			    vtext(buf, sizeof(buf), &t->v));
	if (!t->is_var && r->ctx->term_attr[ti] != 0)
		return r->ctx->term_attr[ti];
	/* Fast path, inline: no new names in this block and the name in the
	 * cross-block cache. */
	if (r->ctx->npend == 0) {
		uint32_t *slot = acache_slot(r->ctx, t->v.p, t->v.len);
		size_t nlen = 0;
		const char *name = *slot != 0 ? scpp_store_dict_name(r->env->dict, *slot, &nlen)
					      : NULL;

		if (name != NULL && nlen == t->v.len && name_eq(name, t->v.p, t->v.len)) {
			if (!t->is_var)
				r->ctx->term_attr[ti] = *slot;
			return *slot;
		}
	}
	id = eval_name_id(r->ctx, r->env, t->v.p, t->v.len, intern);
	if (id == -ENAMETOOLONG)
		return fail(r, -ENAMETOOLONG, "attribute name of %u bytes: at most %u",
			    t->v.len, SCPP_STORE_ATTR_NAME_MAX);
	if (id == -ENOSPC)
		return fail(r, -ENOSPC, "attribute %s: a block may introduce at most %u new "
			    "attribute names", vtext(buf, sizeof(buf), &t->v), EVAL_PENDING_MAX);
	if (id > 0 && !t->is_var)
		r->ctx->term_attr[ti] = (uint32_t)id;
	return id;
}

struct scpp_value
eval_attr_name(const struct scpp_eval_ctx *ctx, const struct scpp_eval_env *env, uint32_t id)
{
	size_t len = 0;
	const char *n;

	if (eval_is_pending(id) && id - EVAL_PENDING_ID0 < ctx->npend)
		return scpp_value_str((const char *)ctx->pend[id - EVAL_PENDING_ID0].p,
				      ctx->pend[id - EVAL_PENDING_ID0].len);
	/* Dictionary names live as long as the dictionary: no copy needed. */
	n = scpp_store_dict_name(env->dict, id, &len);
	return scpp_value_str(n != NULL ? n : "", (uint32_t)len);
}

static inline struct scpp_value
attr_name(const struct run *r, uint32_t id)
{
	size_t len = 0;
	const char *n;

	if (SCPP_UNLIKELY(eval_is_pending(id)))
		return eval_attr_name(r->ctx, r->env, id);
	/* Dictionary names live as long as the dictionary: no copy needed. */
	n = scpp_store_dict_name(r->env->dict, id, &len);
	return scpp_value_str(n != NULL ? n : "", (uint32_t)len);
}

/* ------------------------------------------------------ other shards */

/* Can @e live in this shard? The well-known namespace (schema entities)
 * is on every shard; anything else must carry this shard's prefix. */
static inline bool
is_local(const struct run *r, struct scpp_oid e)
{
	return e.hi == 0 || e.hi == r->env->node.hi;
}

/*
 * A command on an entity that lives on another shard or node: E_NOT_HERE
 * (canonical EREMOTE), naming the owner, with the owner's /64 in the
 * status's `owner` field. The cluster issue turns this into forwarding.
 */
static SCPP_COLD int
not_here(struct run *r, struct scpp_oid e)
{
	char b1[64];
	int rc;

	if (scpp_oid_locale(e) != scpp_oid_locale(r->env->node) ||
	    scpp_oid_node(e) != scpp_oid_node(r->env->node))
		rc = fail(r, -SCPP_E_NOT_HERE, "%s lives on node %u (locale %u), shard %u: "
			  "send the block there", otext(b1, sizeof(b1), e), scpp_oid_node(e),
			  scpp_oid_locale(e), scpp_oid_shard(e));
	else
		rc = fail(r, -SCPP_E_NOT_HERE, "%s lives on shard %u of this node (this is shard "
			  "%u): send the block to that shard's port", otext(b1, sizeof(b1), e),
			  scpp_oid_shard(e), scpp_oid_shard(r->env->node));
	r->st.owner = scpp_oid_make(scpp_oid_locale(e), scpp_oid_node(e), scpp_oid_shard(e), 0,
				    0);
	return rc;
}

/* ---------------------------------------------------------- authorisation */

/*
 * docs/SECURITY.md §4: each command's (entity, attribute, operations) is
 * checked against the session's authority before it runs. The check is a
 * few compares per rule (scpp_auth_check()); without an authority (auth
 * off, or an unauthenticated block in optional mode) nothing is checked.
 */
static uint32_t
auth_attr(int64_t aid)
{
	return aid == AID_ENTITY ? SCPP_AUTH_ATTR_ALL : (uint32_t)aid;
}

static SCPP_COLD int
denied(struct run *r, int rc, const struct scpp_auth_denial *dn, const char *op,
       struct scpp_oid e, int64_t aid)
{
	static const char *const reason[] = {"allowed", "scope", "attribute", "operation"};
	char b1[64], ops[64];
	struct scpp_value n = aid == AID_ENTITY		    ? scpp_value_str("*", 1)
			      : aid == SCPP_AUTH_ATTR_ANY ? scpp_value_str("", 0)
							  : attr_name(r, (uint32_t)aid);

	scpp_auth_ops_format(ops, sizeof(ops), dn->missing);
	return fail(r, rc, "%s %s%s%.*s: not granted to this session (%s: missing %s)", op,
		    otext(b1, sizeof(b1), e), n.len > 0 ? "." : "", (int)n.len, (const char *)n.p,
		    reason[dn->reason < 4 ? dn->reason : 0], ops);
}

/* May the session do @p ops on (@p e, @p aid)? 0, or the denial (failed). */
static inline int
authorize(struct run *r, const char *op, struct scpp_oid e, int64_t aid, uint16_t ops)
{
	const struct scpp_auth_authority *a = r->env->auth;
	struct scpp_auth_denial dn;
	int rc;

	if (SCPP_LIKELY(a == NULL))
		return 0;
	rc = scpp_auth_check(a, e, auth_attr(aid), ops, &dn);
	if (SCPP_LIKELY(rc == 0))
		return 0;
	return denied(r, rc, &dn, op, e, aid);
}

/* authorize() for lib/eval's other files (eval_expr.c: the expression
 * reads and the write commands). */
int
eval_run_authorize(struct run *r, const char *op, struct scpp_oid e, int64_t aid, uint16_t ops)
{
	return authorize(r, op, e, aid, ops);
}

/* May the session read (@p e, @p aid)? Without an authority, yes; what a
 * search may not read is skipped, as a filtered get skips it. */
bool
eval_run_may_read(const struct run *r, struct scpp_oid e, int64_t aid)
{
	return r->env->auth == NULL ||
	       scpp_auth_check(r->env->auth, e, auth_attr(aid), SCPP_AUTH_OP_GET, NULL) == 0;
}

/* The schema right a write to @p e needs in addition. */
static inline uint16_t
schema_right(const struct run *r, struct scpp_oid e)
{
	return r->env->auth != NULL && eval_schema_is_schema_entity(r->env, e) ? SCPP_AUTH_OP_SCHEMA
									       : 0;
}

/* During a filtered get: may the session read @p attr of @p e (ANY: the
 * entity at all)? What it may not read is skipped, not an error. */
static inline bool
visible(const struct run *r, struct scpp_oid e, uint32_t attr)
{
	if (e.hi == r->env->node.hi) {
		if (r->scan_cover == SCPP_AUTH_COVER_ALL)
			return true;
		if (r->scan_cover == SCPP_AUTH_COVER_NONE)
			return false;
	}
	return scpp_auth_check(r->scan_auth, e, attr, SCPP_AUTH_OP_GET, NULL) == 0;
}

/* ------------------------------------------------------------------- undo */

static struct undo *
undo_push(struct run *r, uint8_t kind, struct scpp_oid oid, uint32_t attr)
{
	struct scpp_eval_ctx *c = r->ctx;
	struct undo *u;

	if (SCPP_UNLIKELY(c->nundo >= c->undo_max)) {
		fail(r, -SCPP_E_LIMIT_STEPS, "block exceeded %u undo records", c->undo_max);
		return NULL;
	}
	u = &c->undo[c->nundo++];
	memset(u, 0, sizeof(*u));
	u->kind = kind;
	u->oid = oid;
	u->attr = attr;
	return u;
}

/* Record the current plain value of (oid, attr) so it can be restored. */
static int
save_triple(struct run *r, struct scpp_oid oid, uint32_t attr)
{
	struct scpp_value old;
	struct undo *u;
	int rc = scpp_store_get(r->env->store, oid, attr, &old);

	u = undo_push(r, UNDO_TRIPLE, oid, attr);
	if (u == NULL)
		return -SCPP_E_LIMIT_STEPS;
	if (rc == 0) {
		u->had_old = 1;
		u->old = old;
		if (own(r, &u->old) < 0) {
			r->ctx->nundo--;
			return -SCPP_E_LIMIT_BYTES;
		}
	}
	return 0;
}

static int
save_map_entry(struct run *r, struct scpp_oid oid, uint32_t attr, const struct scpp_value *key)
{
	struct scpp_value old;
	struct undo *u;
	int rc = scpp_store_map_get(r->env->store, oid, attr, key, &old);

	u = undo_push(r, UNDO_MAP_ENTRY, oid, attr);
	if (u == NULL)
		return -SCPP_E_LIMIT_STEPS;
	u->key = *key;
	if (own(r, &u->key) < 0)
		goto err_bytes;
	if (rc == 0) {
		u->had_old = 1;
		u->old = old;
		if (own(r, &u->old) < 0)
			goto err_bytes;
	}
	return 0;

err_bytes:
	r->ctx->nundo--;
	return -SCPP_E_LIMIT_BYTES;
}

/*
 * Replay the undo log backwards. Each step reverses one mutation that
 * succeeded, in reverse order, so the resources it needs were freed by the
 * mutations undone before it: failure here is a broken invariant.
 */
static void
undo_to(struct run *r, uint32_t mark)
{
	struct scpp_store *s = r->env->store;
	struct scpp_eval_ctx *c = r->ctx;
	int rc = 0;

	while (c->nundo > mark) {
		struct undo *u = &c->undo[--c->nundo];

		switch (u->kind) {
		case UNDO_ENTITY_CREATED:
			rc = scpp_store_entity_delete(s, u->oid);
			break;
		case UNDO_ENTITY_DELETED:
			/* Back at its place in entity order (u->key holds the
			 * entity that preceded it, which exists again now, and
			 * u->off its creation sequence). */
			rc = scpp_store_entity_create_after(s, u->oid, u->key.oid, (uint32_t)u->off);
			break;
		case UNDO_TRIPLE:
			if (u->had_old) {
				rc = scpp_store_set(s, u->oid, u->attr, &u->old);
			} else {
				rc = scpp_store_del(s, u->oid, u->attr);
				if (rc == -ENOENT)
					rc = 0;
			}
			break;
		case UNDO_MAP_CREATED:
			rc = scpp_store_del(s, u->oid, u->attr);
			break;
		case UNDO_MAP_ENTRY:
			if (u->had_old)
				rc = scpp_store_map_set(s, u->oid, u->attr, &u->key, &u->old);
			else
				rc = scpp_store_map_del(s, u->oid, u->attr, &u->key);
			break;
		case UNDO_BYTES:
		case UNDO_COPY:
			rc = scpp_store_bytes_write(s, u->oid, u->attr, u->off, u->old.len,
						    u->old.p);
			break;
		case UNDO_MAP_DETACHED:
			rc = scpp_store_map_revive(s, (uint32_t)u->off);
			break;
		case UNDO_LENGTH:
			rc = scpp_store_bytes_resize(s, u->oid, u->attr, u->off);
			break;
		case UNDO_WINDOW:
			memcpy((void *)(uintptr_t)u->off, u->old.p, u->old.len);
			break;
		case UNDO_NONE:
			break;
		}
		SCPP_VERIFY(rc == 0);
	}
}

/* -------------------------------------------------------------------- get */

/* Match value @val at the value term and emit the row with @binds. */
struct binding {
	uint8_t var;
	struct scpp_value v;
};

/*
 * Emit @in extended with @bs. A variable named twice (in the row already, or
 * twice in @bs) must agree; the check comes first, so a row that does not
 * survive costs no table slot, no step and no copy.
 */
static int
emit_bound(struct run *r, const struct row *in, const struct binding *bs, unsigned int n)
{
	struct row *o;
	int rc;

	for (unsigned int i = 0; i < n; i++) {
		if (((in->bound >> bs[i].var) & 1) && !scpp_value_eq(&in->v[bs[i].var], &bs[i].v))
			return 0;
		for (unsigned int j = 0; j < i; j++)
			if (bs[j].var == bs[i].var && !scpp_value_eq(&bs[j].v, &bs[i].v))
				return 0;
	}
	o = emit(r, in);
	if (o == NULL)
		return r->st.code;
	for (unsigned int i = 0; i < n; i++) {
		rc = bind(r, o, bs[i].var, &bs[i].v);
		if (rc < 0) {
			r->nnext--;
			return rc;
		}
	}
	return 0;
}

/* The term positions of a get, resolved for one row. */
struct getq {
	struct tv e, a, k, v;  /* k only when a is a KEY term */
	bool keyed;
	bool bind_attr;        /* the attribute term is an unbound variable */
	uint16_t ta, tk;       /* term indexes of attr and key */
};

/* Emit for one found (entity, attr, [key], value): bind unbound positions,
 * and filter bound ones (e, a and k were matched by construction). */
static int
get_emit(struct run *r, const struct row *in, const struct getq *q,
	 struct scpp_oid e, uint32_t attr, const struct scpp_value *key,
	 const struct scpp_value *val)
{
	struct binding bs[4];
	unsigned int n = 0;
	int rc;

	if (q->v.bound && !scpp_value_eq(&q->v.v, val))
		return 0;
	if (SCPP_UNLIKELY(r->ctx->held_copies > 0) && val->type == SCPP_VT_BYTES &&
	    (rc = eval_run_read_busy(r, e, attr, val->p, val->len)) < 0)
		return rc;
	if (!q->e.bound) {
		bs[n].var = q->e.var;
		bs[n++].v = scpp_value_oid(e);
	}
	if (q->bind_attr) {
		bs[n].var = q->a.var;
		bs[n++].v = attr_name(r, attr);
	}
	if (q->keyed && !q->k.bound) {
		bs[n].var = q->k.var;
		bs[n++].v = *key;
	}
	if (!q->v.bound) {
		bs[n].var = q->v.var;
		bs[n++].v = *val;
	}
	return emit_bound(r, in, bs, n);
}

/* No entity @e here: ENOENT, or E_NOT_HERE when it lives elsewhere. */
static SCPP_COLD int
missing(struct run *r, struct scpp_oid e)
{
	char b1[64];

	if (!is_local(r, e))
		return not_here(r, e);
	return fail(r, -ENOENT, "no entity %s", otext(b1, sizeof(b1), e));
}

/* All matches of one entity (bound or from a scan). @strict: misses are
 * errors (every key position determined). */
static int
get_entity(struct run *r, const struct row *in, const struct getq *q,
	   struct scpp_oid e, int64_t aid, bool strict)
{
	struct scpp_store *s = r->env->store;
	struct scpp_eval_ctx *c = r->ctx;
	char b1[64], b2[96], b3[96];
	struct scpp_value val;
	uint64_t cursor;
	int rc, n;

	if ((rc = step(r, 1)) < 0)
		return rc;

	if (q->a.bound && aid == 0) {
		/* The name was never interned: nothing has this attribute. */
		if (!strict)
			return 0;
		if (!scpp_store_entity_exists(s, e))
			return missing(r, e);
		return fail(r, -ENOENT, "%s has no attribute %s", otext(b1, sizeof(b1), e),
			    vtext(b2, sizeof(b2), &q->a.v));
	}

	if (!q->keyed && q->a.bound) {
		rc = scpp_store_get(s, e, (uint32_t)aid, &val);
		if (rc == 0)
			return get_emit(r, in, q, e, (uint32_t)aid, NULL, &val);
		if (!strict && (rc == -ENOENT || rc == -EMEDIUMTYPE))
			return 0;
		if (rc == -ENOENT && !scpp_store_entity_exists(s, e))
			return missing(r, e);
		if (rc == -ENOENT)
			return fail(r, -ENOENT, "%s has no attribute %s", otext(b1, sizeof(b1), e),
				    vtext(b2, sizeof(b2), &q->a.v));
		if (rc == -EMEDIUMTYPE)
			return fail(r, -EMEDIUMTYPE, "%s.%s is a map: use %s[key]",
				    otext(b1, sizeof(b1), e), vtext(b2, sizeof(b2), &q->a.v),
				    vtext(b2, sizeof(b2), &q->a.v));
		return fail(r, rc, "get %s: %s", otext(b1, sizeof(b1), e), scpp_strerror(rc));
	}

	if (q->keyed && q->a.bound && q->k.bound) {
		rc = scpp_store_map_get(s, e, (uint32_t)aid, &q->k.v, &val);
		if (rc == 0)
			return get_emit(r, in, q, e, (uint32_t)aid, &q->k.v, &val);
		if (!strict && (rc == -ENOENT || rc == -EMEDIUMTYPE))
			return 0;
		if (rc == -ENOENT && !scpp_store_entity_exists(s, e))
			return missing(r, e);
		if (rc == -ENOENT)
			return fail(r, -ENOENT, "%s.%s has no key %s", otext(b1, sizeof(b1), e),
				    vtext(b2, sizeof(b2), &q->a.v),
				    vtext(b3, sizeof(b3), &q->k.v));
		return fail(r, rc, "%s.%s is not a map", otext(b1, sizeof(b1), e),
			    vtext(b2, sizeof(b2), &q->a.v));
	}

	if (q->keyed && q->a.bound) {
		/* Enumerate one map. A missing map is a miss, not an error:
		 * the key is unbound, so this is a search. */
		cursor = 0;
		for (;;) {
			n = scpp_store_map_iter(s, e, (uint32_t)aid, &cursor, c->iter_key,
						c->iter_val, SCPP_ARRAY_SIZE(c->iter_key));
			if (n <= 0)
				return 0;
			for (int i = 0; i < n; i++) {
				if ((rc = step(r, 1)) < 0)
					return rc;
				rc = get_emit(r, in, q, e, (uint32_t)aid, &c->iter_key[i],
					      &c->iter_val[i]);
				if (rc < 0)
					return rc;
			}
			if (cursor == UINT64_MAX)
				return 0;
		}
	}

	/* Attribute unbound: walk the entity's attributes. Plain attributes
	 * match `get e %a %v`; map attributes match `get e %a[%k] %v`. The
	 * iteration batches are copied out before recursing into maps, since
	 * the map walk reuses the scratch arrays. */
	cursor = 0;
	for (;;) {
		struct scpp_store_attr batch[32];

		n = scpp_store_attr_iter(s, e, &cursor, batch, SCPP_ARRAY_SIZE(batch));
		if (n == -ENOENT && strict)
			return missing(r, e);
		if (n <= 0)
			return 0;
		for (int i = 0; i < n; i++) {
			if ((rc = step(r, 1)) < 0)
				return rc;
			if (r->scan_auth != NULL && !visible(r, e, batch[i].attr))
				continue;
			if (!q->keyed && !batch[i].is_map) {
				rc = get_emit(r, in, q, e, batch[i].attr, NULL, &batch[i].value);
			} else if (q->keyed && batch[i].is_map) {
				struct getq sub = *q;

				/* Walk this map as if its name were bound;
				 * get_emit still binds %a (bind_attr). */
				sub.a.bound = true;
				rc = get_entity(r, in, &sub, e, batch[i].attr, false);
			}
			if (rc < 0)
				return rc;
		}
		if (cursor == UINT64_MAX)
			return 0;
	}
}

/* In-place heapsort of value-index hits by creation sequence: entity
 * order, the order a scan visits them. No allocation (qsort may). */
static void
sift(struct scpp_store_hit *h, uint32_t i, uint32_t n)
{
	for (;;) {
		uint32_t c = 2 * i + 1, m = i;
		struct scpp_store_hit t;

		if (c < n && h[c].seq > h[m].seq)
			m = c;
		if (c + 1 < n && h[c + 1].seq > h[m].seq)
			m = c + 1;
		if (m == i)
			return;
		t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void
hits_sort(struct scpp_store_hit *h, uint32_t n)
{
	for (uint32_t i = n / 2; i-- > 0;)
		sift(h, i, n);
	for (uint32_t k = n; k-- > 1;) {
		struct scpp_store_hit t = h[0];

		h[0] = h[k];
		h[k] = t;
		sift(h, 0, k);
	}
}

/*
 * `get %e a v` with a and v determined, on an indexed attribute: the value
 * index lists the matches, so the cost is the number of matches, not of
 * entities. They are visited in entity order, so the rows are exactly
 * those (and in the order) of a scan. Each match becomes a row, so more
 * matches than the table has room for is E_LIMIT_ROWS at once.
 */
static int
get_indexed(struct run *r, const struct row *in, const struct getq *q, uint32_t aid)
{
	struct scpp_eval_ctx *c = r->ctx;
	size_t room = r->max_rows - r->nnext;
	uint64_t cursor = 0;
	uint32_t k = 0;
	int n, rc;

	for (;;) {
		uint32_t want = SCPP_MIN(c->ixhit_max - k, 32u);

		n = scpp_store_index_find(r->env->store, aid, &q->v.v, &cursor, c->ixhit + k, want);
		if (n < 0)
			return fail(r, n, "value index: %s", scpp_strerror(n));
		if ((rc = step(r, (uint64_t)n)) < 0)
			return rc;
		k += (uint32_t)n;
		if (k > room)
			return fail(r, -SCPP_E_LIMIT_ROWS, "block exceeded %zu rows", r->max_rows);
		if (cursor == UINT64_MAX || n == 0)
			break;
	}
	hits_sort(c->ixhit, k);
	for (uint32_t i = 0; i < k; i++) {
		if (r->scan_auth != NULL && !visible(r, c->ixhit[i].oid, aid))
			continue;
		if ((rc = get_entity(r, in, q, c->ixhit[i].oid, aid, false)) < 0)
			return rc;
	}
	return 0;
}

/*
 * `get %s a v` where %s is a status variable: %s ranges over the status
 * objects it collected so far (those kept: max_statuses), in collection
 * order, and each one's fields are its attributes (the STATUS record's
 * fields; none is a map). %s itself stays a status variable, not bound.
 */
static int
get_statuses(struct run *r, const struct row *in, const struct getq *q, uint8_t var)
{
	struct scpp_eval_ctx *c = r->ctx;
	struct scpp_wire_name keys[SCPP_STATUS_FIELDS_MAX];
	struct scpp_value vals[SCPP_STATUS_FIELDS_MAX];
	int rc;

	if (q->keyed)
		return 0;
	for (uint32_t i = 0; i < c->nstat; i++) {
		unsigned int n;

		if (c->stat[i].var != var)
			continue;
		if ((rc = step(r, 1)) < 0)
			return rc;
		n = scpp_status_fields(&c->stat[i].st, keys, vals);
		for (unsigned int f = 0; f < n; f++) {
			struct binding bs[2];
			unsigned int nb = 0;

			if (q->a.bound && (q->a.v.type != SCPP_VT_STR || q->a.v.len != keys[f].len ||
					   memcmp(q->a.v.p, keys[f].p, keys[f].len) != 0))
				continue;
			if (q->v.bound && !scpp_value_eq(&q->v.v, &vals[f]))
				continue;
			if (q->bind_attr) {
				bs[nb].var = q->a.var;
				bs[nb++].v = scpp_value_str(keys[f].p, keys[f].len);
			}
			if (!q->v.bound) {
				bs[nb].var = q->v.var;
				bs[nb++].v = vals[f];
			}
			if ((rc = emit_bound(r, in, bs, nb)) < 0)
				return rc;
		}
	}
	return 0;
}

static int
op_get(struct run *r, const struct scpp_wire_cmd *cmd, const struct row *in)
{
	struct scpp_eval_ctx *c = r->ctx;
	const struct scpp_wire_term *ta = &r->b->term[cmd->term[1]];
	struct getq q;
	int64_t aid = 0;
	uint64_t cursor;
	int rc, n;

	/* Every field is written below (k only when keyed, and read only
	 * then): no memset of the whole struct per row. */
	resolve(r, in, cmd->term[0], &q.e);
	resolve(r, in, cmd->term[2], &q.v);
	q.keyed = ta->kind == SCPP_TERM_KEY;
	q.ta = q.keyed ? ta->a : cmd->term[1];
	resolve(r, in, q.ta, &q.a);
	q.bind_attr = !q.a.bound;
	q.tk = 0;
	q.k.bound = false;
	if (q.keyed) {
		q.tk = ta->b;
		resolve(r, in, q.tk, &q.k);
	}
	if (SCPP_UNLIKELY(q.e.is_var && ((c->status_vars >> q.e.var) & 1)))
		return get_statuses(r, in, &q, q.e.var);
	if (q.e.bound && (rc = want_oid(r, &q.e, "entity")) < 0)
		return rc;
	if (q.a.bound) {
		aid = attr_id(r, q.ta, &q.a, false);
		if (aid < 0)
			return (int)aid;
	}
	r->scan_auth = NULL;
	if (SCPP_UNLIKELY(r->env->auth != NULL)) {
		if (q.e.bound && q.a.bound) {
			/* A name never interned is in no grant: nothing to read. */
			if (aid > 0 && (rc = authorize(r, "get", q.e.v.oid, aid,
						       SCPP_AUTH_OP_GET)) < 0)
				return rc;
		} else if (q.e.bound) {
			r->scan_auth = r->env->auth;
			r->scan_cover = SCPP_AUTH_COVER_SOME;
		} else {
			struct scpp_oid_prefix shard = {.oid = {r->env->node.hi, 0}, .len = 64};

			r->scan_auth = r->env->auth;
			r->scan_cover = (uint8_t)scpp_auth_cover(r->env->auth, &shard,
								 SCPP_AUTH_OP_GET);
		}
	}
	if (q.e.bound) {
		/* Even a search cannot be answered here for an entity that
		 * lives elsewhere: say where, rather than "no rows". */
		if (SCPP_UNLIKELY(!is_local(r, q.e.v.oid)) &&
		    !scpp_store_entity_exists(r->env->store, q.e.v.oid))
			return not_here(r, q.e.v.oid);
		return get_entity(r, in, &q, q.e.v.oid, aid,
				  q.a.bound && (!q.keyed || q.k.bound));
	}
	/* A name nothing has (never interned, nor written in this block)
	 * matches no entity: no scan. */
	if (q.a.bound && aid == 0)
		return 0;
	if (q.a.bound && q.v.bound && !q.keyed && !eval_is_pending((uint32_t)aid) &&
	    scpp_store_attr_indexed(r->env->store, (uint32_t)aid))
		return get_indexed(r, in, &q, (uint32_t)aid);

	/* Unbound entity: scan the shard's entities. */
	cursor = 0;
	for (;;) {
		n = scpp_store_entity_iter(r->env->store, &cursor, c->iter_oid,
					   SCPP_ARRAY_SIZE(c->iter_oid));
		if (n <= 0)
			return 0;
		for (int i = 0; i < n; i++) {
			if (r->scan_auth != NULL && q.a.bound &&
			    !visible(r, c->iter_oid[i], (uint32_t)aid))
				continue;
			rc = get_entity(r, in, &q, c->iter_oid[i], aid, false);
			if (rc < 0)
				return rc;
		}
		if (cursor == UINT64_MAX)
			return 0;
	}
}

/* ------------------------------------------------------------ mutations */

/* Remember @e for the end-of-block check (created, or newly typed). */
static int
remember(struct run *r, struct scpp_oid e, uint8_t created)
{
	struct scpp_eval_ctx *c = r->ctx;

	if (c->ncreated >= c->created_max)
		return fail(r, -SCPP_E_LIMIT_STEPS, "block created or typed more than %u objects",
			    c->created_max);
	c->created[c->ncreated] = e;
	c->created_flag[c->ncreated++] = created;
	return 0;
}

/*
 * While a block is held (scpp_eval.h "hold"), the entities it wrote belong
 * to it until it commits or aborts: a write by another block would be
 * clobbered by its undo, or make the undo fail. Costs one load per write
 * when nothing is held.
 */
static int
held_check(struct run *r, struct scpp_oid e)
{
	char o[SCPP_OID_STR_MAX];

	if (SCPP_LIKELY(r->ctx->nheld == 0) || !eval_held_by_other(r->ctx, e, NULL))
		return 0;
	return fail(r, -EBUSY, "%s %s: a parked block is changing this entity (held until it "
		    "commits or aborts); retry", scpp_wire_op_name[r->b->cmd[r->cmd_index].op],
		    otext(o, sizeof(o), e));
}

/* Resolve the entity and attribute of a mutating command: both must be
 * bound. Sets keyed and key for map-entry positions. With @p intern (a
 * write), the entity must not be held by a parked block. */
static int
target(struct run *r, const struct row *in, uint16_t te, uint16_t tattr, bool intern,
       struct scpp_oid *e, int64_t *aid, bool *keyed, struct scpp_value *key)
{
	const struct scpp_wire_term *ta = &r->b->term[tattr];
	struct tv t;
	uint16_t tname = tattr;
	int rc;

	resolve(r, in, te, &t);
	if (!t.bound)
		return fail(r, -SCPP_E_UNBOUND, "entity %%%.*s must be bound",
			    r->b->var_name[t.var].len, r->b->var_name[t.var].p);
	if ((rc = want_oid(r, &t, "entity")) < 0)
		return rc;
	*e = t.v.oid;
	if (intern && (rc = held_check(r, *e)) < 0)
		return rc;
	*keyed = ta->kind == SCPP_TERM_KEY;
	if (*keyed) {
		struct tv k;

		resolve(r, in, ta->b, &k);
		if (!k.bound)
			return fail(r, -SCPP_E_UNBOUND, "map key %%%.*s must be bound",
				    r->b->var_name[k.var].len, r->b->var_name[k.var].p);
		*key = k.v;
		tname = ta->a;
	}
	resolve(r, in, tname, &t);
	if (!t.bound)
		return fail(r, -SCPP_E_UNBOUND, "attribute %%%.*s must be bound",
			    r->b->var_name[t.var].len, r->b->var_name[t.var].p);
	if (t.v.type == SCPP_VT_NIL && !*keyed) {
		*aid = AID_ENTITY; /* `del e` on the wire */
		return 0;
	}
	*aid = attr_id(r, tname, &t, intern);
	return *aid < 0 ? (int)*aid : 0;
}

static int store_fail(struct run *r, int rc, const char *op, struct scpp_oid e, int64_t aid);

/* A write to an entity that does not exist here: ENOENT, or E_NOT_HERE when
 * its OID belongs to another shard or node (docs/PROTOCOL.md §15). */
static int
not_found(struct run *r, const char *op, struct scpp_oid e, int64_t aid)
{
	if (!is_local(r, e))
		return not_here(r, e);
	return store_fail(r, -ENOENT, op, e, aid);
}

static int
store_fail(struct run *r, int rc, const char *op, struct scpp_oid e, int64_t aid)
{
	char b1[64];
	struct scpp_value n = attr_name(r, (uint32_t)aid);

	return fail(r, rc, "%s %s.%.*s: %s", op, otext(b1, sizeof(b1), e), (int)n.len,
		    (const char *)n.p, scpp_strerror(rc));
}

/* Schema entities change only through `set`/`del`/`create`, which go
 * through the schema edit (checked against the metaschema and the
 * instances); a byte-level write would bypass both. */
static SCPP_COLD int
schema_write_refused(struct run *r, const char *op, struct scpp_oid e, int64_t aid)
{
	char b1[64];
	struct scpp_value n = attr_name(r, (uint32_t)aid);

	return fail(r, -SCPP_E_SCHEMA, "%s %s.%.*s: a schema entity (Type or Attribute) "
		    "changes only with set, del or create", op, otext(b1, sizeof(b1), e),
		    (int)n.len, (const char *)n.p);
}

static int
op_set(struct run *r, const struct scpp_wire_cmd *cmd, const struct row *in)
{
	struct scpp_store *s = r->env->store;
	struct scpp_value key, *kp = NULL;
	struct scpp_oid e;
	struct tv v;
	int64_t aid;
	bool keyed;
	int rc;

	rc = target(r, in, cmd->term[0], cmd->term[1], true, &e, &aid, &keyed, &key);
	if (rc < 0)
		return rc;
	if (aid == AID_ENTITY)
		return fail(r, -SCPP_E_TYPE, "set needs an attribute, got nil");
	resolve(r, in, cmd->term[2], &v);
	if (!v.bound)
		return fail(r, -SCPP_E_UNBOUND, "value %%%.*s must be bound",
			    r->b->var_name[v.var].len, r->b->var_name[v.var].p);
	/* A set that declares a schema entity (docs/SCHEMA.md §7) is a schema
	 * edit too. */
	if (SCPP_UNLIKELY(r->env->auth != NULL) &&
	    (rc = authorize(r, "set", e, aid,
			    SCPP_AUTH_OP_SET | schema_right(r, e) |
			    (!keyed && eval_schema_declares(r->env, e, (uint32_t)aid, &v.v)
				     ? SCPP_AUTH_OP_SCHEMA : 0))) < 0)
		return rc;
	if (keyed)
		kp = &key;
	if ((rc = step(r, 1)) < 0)
		return rc;
	if (!scpp_store_entity_exists(s, e)) {
		/* docs/SCHEMA.md §7: a new type or declaration is created by
		 * setting the `type` of its derived (well-known) OID. */
		if (!keyed && eval_schema_declares(r->env, e, (uint32_t)aid, &v.v)) {
			rc = scpp_store_entity_create(s, e);
			if (rc < 0)
				return store_fail(r, rc, "set", e, aid);
			if (undo_push(r, UNDO_ENTITY_CREATED, e, 0) == NULL) {
				SCPP_VERIFY(scpp_store_entity_delete(s, e) == 0);
				return -SCPP_E_LIMIT_STEPS;
			}
		} else {
			return not_found(r, "set", e, aid);
		}
	}
	rc = eval_schema_check_set(r->ctx, r->env, e, (uint32_t)aid, kp, &v.v, &r->st);
	if (rc < 0)
		return rc;
	if (rc == 1 && (rc = remember(r, e, 0)) < 0)
		return rc;
	if ((v.v.type == SCPP_VT_STR || v.v.type == SCPP_VT_BYTES) &&
	    (rc = charge_bytes(r, v.v.len)) < 0)
		return rc;
	if (keyed) {
		uint32_t mark = r->ctx->nundo;

		/* A map this set creates is removed on undo after its entry
		 * (the log is replayed backwards). */
		if (scpp_store_map_count(s, e, (uint32_t)aid) == -ENOENT &&
		    undo_push(r, UNDO_MAP_CREATED, e, (uint32_t)aid) == NULL)
			return -SCPP_E_LIMIT_STEPS;
		if ((rc = save_map_entry(r, e, (uint32_t)aid, &key)) < 0) {
			r->ctx->nundo = mark;
			return rc;
		}
		rc = scpp_store_map_set(s, e, (uint32_t)aid, &key, &v.v);
		if (rc < 0) {
			r->ctx->nundo = mark;
			return store_fail(r, rc, "set", e, aid);
		}
		return 0;
	}
	if ((rc = save_triple(r, e, (uint32_t)aid)) < 0)
		return rc;
	rc = scpp_store_set(s, e, (uint32_t)aid, &v.v);
	if (rc < 0) {
		r->ctx->nundo--;
		return store_fail(r, rc, "set", e, aid);
	}
	return 0;
}

/* Delete one whole attribute (plain or map), recording it for undo. */
static int
del_attr(struct run *r, struct scpp_oid e, uint32_t aid)
{
	struct scpp_store *s = r->env->store;
	int64_t cnt = scpp_store_map_count(s, e, aid);
	uint32_t mark = r->ctx->nundo;
	int rc;

	if (cnt >= 0) {
		/* A map of any size goes in O(1): the store detaches it (its
		 * entries are freed after the block), and the undo revives it
		 * whole. So deleting a map or an entity larger than max_steps
		 * is an ordinary, atomic command. */
		struct undo *u = undo_push(r, UNDO_MAP_DETACHED, e, aid);
		uint32_t token;

		if (u == NULL)
			return -SCPP_E_LIMIT_STEPS;
		rc = scpp_store_map_detach(s, e, aid, &token);
		if (rc < 0) {
			r->ctx->nundo = mark;
			return store_fail(r, rc, "del", e, aid);
		}
		u->off = token;
		return 0;
	}
	rc = save_triple(r, e, aid);
	if (rc < 0) {
		r->ctx->nundo = mark; /* only recorded, nothing changed yet */
		return rc;
	}
	rc = scpp_store_del(s, e, aid);
	if (rc < 0) {
		r->ctx->nundo = mark;
		return store_fail(r, rc, "del", e, aid);
	}
	return 0;
}

static int
op_del(struct run *r, const struct scpp_wire_cmd *cmd, const struct row *in)
{
	struct scpp_store *s = r->env->store;
	struct scpp_eval_ctx *c = r->ctx;
	struct scpp_value key;
	struct scpp_oid e;
	char b1[64];
	int64_t aid;
	bool keyed;
	int rc, n;

	rc = target(r, in, cmd->term[0], cmd->term[1], false, &e, &aid, &keyed, &key);
	if (rc < 0 || (rc = held_check(r, e)) < 0)
		return rc;
	if ((rc = step(r, 1)) < 0)
		return rc;
	if (SCPP_UNLIKELY(r->env->auth != NULL) &&
	    (rc = authorize(r, "del", e, aid, SCPP_AUTH_OP_DEL | schema_right(r, e))) < 0)
		return rc;
	if (!scpp_store_entity_exists(s, e))
		return missing(r, e);
	if (aid == AID_ENTITY) {
		if ((rc = eval_schema_window_refused(r->env, "del", e, NULL, &r->st)) < 0)
			return rc;
		/* Whole entity: record every attribute, then the entity. The
		 * attribute walk restarts after each delete because deleting
		 * invalidates the cursor. */
		for (;;) {
			uint64_t cursor = 0;

			n = scpp_store_attr_iter(s, e, &cursor, c->iter_attr, 1);
			if (n < 0)
				return store_fail(r, n, "del", e, 0);
			if (n == 0)
				break;
			if ((rc = step(r, 1)) < 0)
				return rc;
			if ((rc = del_attr(r, e, c->iter_attr[0].attr)) < 0)
				return rc;
		}
		{
			struct scpp_oid prev;
			struct undo *u;

			SCPP_VERIFY(scpp_store_entity_prev(s, e, &prev) == 0);
			u = undo_push(r, UNDO_ENTITY_DELETED, e, 0);
			if (u == NULL)
				return -SCPP_E_LIMIT_STEPS;
			u->key = scpp_value_oid(prev);
			u->off = scpp_store_entity_seq(s, e);
		}
		rc = scpp_store_entity_delete(s, e);
		if (rc < 0) {
			c->nundo--;
			return fail(r, rc, "del %s: %s", otext(b1, sizeof(b1), e), scpp_strerror(rc));
		}
		return 0;
	}
	if (aid == 0)
		return fail(r, -ENOENT, "%s has no such attribute", otext(b1, sizeof(b1), e));
	rc = eval_schema_check_del(r->ctx, r->env, e, (uint32_t)aid, keyed ? &key : NULL, &r->st);
	if (rc < 0)
		return rc;
	if (keyed) {
		if ((rc = save_map_entry(r, e, (uint32_t)aid, &key)) < 0)
			return rc;
		rc = scpp_store_map_del(s, e, (uint32_t)aid, &key);
		if (rc < 0) {
			c->nundo--;
			return store_fail(r, rc, "del", e, aid);
		}
		return 0;
	}
	if (scpp_store_map_count(s, e, (uint32_t)aid) == -ENOENT) {
		struct scpp_value tmp;

		if (scpp_store_get(s, e, (uint32_t)aid, &tmp) == -ENOENT)
			return not_found(r, "del", e, aid);
	}
	return del_attr(r, e, (uint32_t)aid);
}

static int
op_create(struct run *r, const struct scpp_wire_cmd *cmd, const struct row *in)
{
	struct scpp_eval_ctx *c = r->ctx;
	struct tv dst, type;
	struct scpp_oid e;
	struct row *o;
	int rc;

	resolve(r, in, cmd->term[0], &dst);
	resolve(r, in, cmd->term[1], &type);
	if (dst.bound)
		return fail(r, -EEXIST, "create: %%%.*s is already bound",
			    r->b->var_name[dst.var].len, r->b->var_name[dst.var].p);
	if (!type.bound)
		return fail(r, -SCPP_E_UNBOUND, "create: type %%%.*s must be bound",
			    r->b->var_name[type.var].len, r->b->var_name[type.var].p);
	if ((rc = step(r, 1)) < 0)
		return rc;
	rc = scpp_store_entity_mint(r->env->store, &e);
	if (rc < 0)
		return fail(r, rc, "create: %s", scpp_strerror(rc));
	if (undo_push(r, UNDO_ENTITY_CREATED, e, 0) == NULL) {
		scpp_store_entity_delete(r->env->store, e);
		return -SCPP_E_LIMIT_STEPS;
	}
	/* Checked on the minted OID (its scope), before anything is visible. */
	if (SCPP_UNLIKELY(r->env->auth != NULL) &&
	    (rc = authorize(r, "create", e, SCPP_AUTH_ATTR_ANY,
			    SCPP_AUTH_OP_CREATE |
			    (eval_schema_names_meta(r->env, &type.v) ? SCPP_AUTH_OP_SCHEMA : 0))) < 0) {
		SCPP_VERIFY(scpp_store_entity_delete(r->env->store, e) == 0);
		c->nundo--;
		return rc;
	}
	/* The type attribute needs no undo record of its own: undoing the
	 * creation deletes the entity with everything the block gave it. */
	rc = eval_schema_create(r->ctx, r->env, e, &type.v, &r->st);
	if (rc == 0)
		rc = remember(r, e, 1);
	if (rc == 0 && r->env->schema == NULL && c->npend > 0) {
		/* Free-form: `type` may be a name this block introduced; then
		 * its triple needs a record for names_commit() to find it. */
		int64_t tid = eval_name_id(c, r->env, (const uint8_t *)SCPP_SCHEMA_TYPE_ATTR,
					   (uint32_t)strlen(SCPP_SCHEMA_TYPE_ATTR), false);

		if (tid > 0 && eval_is_pending((uint32_t)tid) &&
		    undo_push(r, UNDO_TRIPLE, e, (uint32_t)tid) == NULL)
			rc = -SCPP_E_LIMIT_STEPS;
	}
	if (rc < 0) {
		SCPP_VERIFY(scpp_store_entity_delete(r->env->store, e) == 0);
		c->nundo--;
		return rc;
	}
	o = emit(r, in);
	if (o == NULL)
		return r->st.code;
	o->v[dst.var] = scpp_value_oid(e);
	o->bound |= UINT64_C(1) << dst.var;
	return 1; /* the row was emitted here */
}

/* Non-negative integer from a bound length or count term. */
static int
want_len(struct run *r, const struct row *in, uint16_t ti, const char *what, uint64_t *out)
{
	char buf[64];
	struct tv t;

	resolve(r, in, ti, &t);
	if (!t.bound)
		return fail(r, -SCPP_E_UNBOUND, "%s %%%.*s must be bound", what,
			    r->b->var_name[t.var].len, r->b->var_name[t.var].p);
	if (t.v.type == SCPP_VT_U64) {
		*out = t.v.u;
		return 0;
	}
	if (t.v.type == SCPP_VT_I64 && t.v.i >= 0) {
		*out = (uint64_t)t.v.i;
		return 0;
	}
	return fail(r, -SCPP_E_TYPE, "%s must be a non-negative integer, got %s", what,
		    vtext(buf, sizeof(buf), &t.v));
}

static int
op_alloc(struct run *r, const struct scpp_wire_cmd *cmd, const struct row *in)
{
	struct scpp_store *s = r->env->store;
	struct scpp_value key, old;
	struct scpp_oid e;
	uint64_t len;
	int64_t aid;
	bool keyed;
	uint8_t type;
	int rc;

	rc = target(r, in, cmd->term[0], cmd->term[1], true, &e, &aid, &keyed, &key);
	if (rc < 0)
		return rc;
	if (keyed || aid == AID_ENTITY)
		return fail(r, -SCPP_E_TYPE, "alloc needs a plain attribute");
	if ((rc = want_len(r, in, cmd->term[2], "length", &len)) < 0)
		return rc;
	if ((rc = step(r, 1)) < 0)
		return rc;
	if ((rc = authorize(r, "alloc", e, aid, SCPP_AUTH_OP_ALLOC)) < 0)
		return rc;
	if (!scpp_store_entity_exists(s, e))
		return not_found(r, "alloc", e, aid);
	if (eval_schema_is_schema_entity(r->env, e))
		return schema_write_refused(r, "alloc", e, aid);
	if ((rc = eval_schema_window_refused(r->env, "alloc", e, NULL, &r->st)) < 0)
		return rc;
	rc = scpp_store_get(s, e, (uint32_t)aid, &old);
	if (rc != -ENOENT)
		return store_fail(r, -EEXIST, "alloc", e, aid);
	type = eval_schema_bytes_type(r->env, e, (uint32_t)aid);
	if (type == SCPP_VT_NIL)
		return fail(r, -SCPP_E_SCHEMA, "alloc: attribute is not a byte string in the schema");
	if ((rc = charge_bytes(r, len)) < 0)
		return rc;
	if (undo_push(r, UNDO_TRIPLE, e, (uint32_t)aid) == NULL)
		return -SCPP_E_LIMIT_STEPS;
	rc = scpp_store_bytes_alloc(s, e, (uint32_t)aid, type, len);
	if (rc < 0) {
		r->ctx->nundo--;
		return store_fail(r, rc, "alloc", e, aid);
	}
	return 0;
}

/* ------------------------------------------------------------ new names */

static bool
undo_names_attr(const struct undo *u)
{
	return u->kind != UNDO_ENTITY_CREATED && u->kind != UNDO_ENTITY_DELETED;
}

static bool
triple_exists(const struct scpp_store *s, struct scpp_oid e, uint32_t attr)
{
	struct scpp_value v;
	int rc = scpp_store_get(s, e, attr, &v);

	return rc == 0 || rc == -EMEDIUMTYPE;
}

/*
 * The block commits: intern the pending names that a surviving triple
 * uses, and give those triples their dictionary ids. Every triple with a
 * provisional id was created in this block, so the undo log lists them
 * all. Names that nothing uses any more (a failed command's, or a triple
 * deleted again) are never interned. On failure (the dictionary is full,
 * or an index window is) every rename is reversed, which cannot fail: in
 * reverse order each one finds the index as it was right after its
 * forward rename, with the slot that rename freed still free. Interned
 * names stay (the dictionary is append-only), unused.
 */
static int
names_commit(struct run *r)
{
	struct scpp_eval_ctx *c = r->ctx;
	struct scpp_store *s = r->env->store;
	uint64_t used = 0;
	char buf[96];
	int rc = 0;
	uint32_t k;

	for (k = 0; k < c->nundo; k++) {
		const struct undo *u = &c->undo[k];

		if (undo_names_attr(u) && eval_is_pending(u->attr) &&
		    !((used >> (u->attr - EVAL_PENDING_ID0)) & 1) &&
		    triple_exists(s, u->oid, u->attr))
			used |= UINT64_C(1) << (u->attr - EVAL_PENDING_ID0);
	}
	for (uint32_t i = 0; i < c->npend; i++) {
		struct scpp_value n = scpp_value_str((const char *)c->pend[i].p, c->pend[i].len);
		int64_t id;

		if (!((used >> i) & 1))
			continue;
		id = scpp_store_dict_intern(r->env->dict, (const char *)c->pend[i].p, c->pend[i].len);
		if (id < 0)
			return fail(r, (int)id, "attribute %s: the attribute dictionary cannot take "
				    "it: %s", vtext(buf, sizeof(buf), &n), scpp_strerror((int)id));
		c->pend[i].id = (uint32_t)id;
	}
	for (k = 0; k < c->nundo; k++) {
		struct undo *u = &c->undo[k];

		if (!undo_names_attr(u) || !eval_is_pending(u->attr) ||
		    !((used >> (u->attr - EVAL_PENDING_ID0)) & 1))
			continue;
		rc = scpp_store_attr_rename(s, u->oid, u->attr,
					    c->pend[u->attr - EVAL_PENDING_ID0].id);
		if (rc == 0)
			u->renamed = 1;
		else if (rc != -ENOENT) /* -ENOENT: renamed already, or gone */
			break;
		rc = 0;
	}
	if (rc == 0)
		return 0;
	while (k-- > 0) {
		struct undo *u = &c->undo[k];

		if (u->renamed)
			SCPP_VERIFY(scpp_store_attr_rename(s, u->oid,
							   c->pend[u->attr - EVAL_PENDING_ID0].id,
							   u->attr) == 0);
	}
	{
		struct scpp_value n = attr_name(r, c->undo[k].attr);

		return fail(r, rc, "attribute %s: cannot store it under its dictionary id: %s",
			    vtext(buf, sizeof(buf), &n), scpp_strerror(rc));
	}
}

/* ----------------------------------------------------------------- driver */

/* Check what the decoder cannot: status variables are status-only. */
static int
check_block(struct run *r)
{
	const struct scpp_wire_block *b = r->b;
	uint64_t term_vars = 0, status_vars = 0;
	uint16_t refs[SCPP_WIRE_TERMS_MAX];
	uint8_t get_e[SCPP_WIRE_TERMS_MAX];

	status_vars = b->status_vars;
	r->ctx->status_vars = status_vars;
	if (status_vars == 0)
		return 0; /* the common case: nothing to check */
	memset(r->ctx->status_count, 0, sizeof(r->ctx->status_count[0]) * b->nvars);

	/* A status variable may be the entity of a get (it then ranges over
	 * the statuses it collected), and nothing else: count where each
	 * term is used to tell that position apart. */
	memset(refs, 0, sizeof(refs[0]) * b->nterms);
	memset(get_e, 0, b->nterms);
	for (uint16_t i = 0; i < b->nterms; i++) {
		uint8_t k = b->term[i].kind;

		if (k == SCPP_TERM_KEY || k == SCPP_TERM_VALUE || k == SCPP_TERM_OFFSET) {
			refs[b->term[i].a]++;
			refs[b->term[i].b]++;
		}
		if (k == SCPP_TERM_OP)
			eval_x_operand_refs(b, i, refs);
	}
	for (uint16_t i = 0; i < b->ncmds; i++) {
		for (uint8_t s = 0; s < b->cmd[i].nterms; s++)
			refs[b->cmd[i].term[s]]++;
		if (b->cmd[i].flags & SCPP_WIRE_CF_GUARD)
			refs[b->cmd[i].guard]++;
		if (b->cmd[i].op == SCPP_OP_GET)
			get_e[b->cmd[i].term[0]] = 1;
	}
	for (uint16_t i = 0; i < b->nterms; i++)
		if (b->term[i].kind == SCPP_TERM_VAR && !(get_e[i] && refs[i] == 1))
			term_vars |= UINT64_C(1) << b->term[i].var;
	if (term_vars & status_vars) {
		unsigned int v = (unsigned int)__builtin_ctzll(term_vars & status_vars);

		return fail(r, -SCPP_E_BAD_VAR, "%%%.*s is a status variable: it can only be the "
			    "entity of a get", b->var_name[v].len, b->var_name[v].p);
	}
	return 0;
}

/*
 * What only the general path reads, set up once before its first command
 * (a block the fast path runs whole never pays for it): the per-term
 * attribute ids and whether rows may differ in what they bind.
 */
static void
general_begin(struct run *r)
{
	const struct scpp_wire_block *b = r->b;
	struct scpp_eval_ctx *c = r->ctx;

	memset(c->term_attr, 0, sizeof(c->term_attr[0]) * b->nterms);
	c->mixed_rows = false;
	for (uint16_t i = 0; i < b->ncmds; i++)
		if ((b->cmd[i].flags & SCPP_WIRE_CF_GUARD) && eval_x_binds_or_checks(b->cmd[i].op))
			c->mixed_rows = true;
}

static void
collect(struct run *r, const struct scpp_wire_cmd *cmd)
{
	struct scpp_eval_ctx *c = r->ctx;
	struct collected *k;

	c->status_count[cmd->status_var]++;
	if (c->nstat >= c->lim.max_statuses)
		return; /* counted, not kept: the count is still exact */
	k = &c->stat[c->nstat++];
	k->st = r->st;
	k->st.var = (const char *)r->b->var_name[cmd->status_var].p;
	k->st.var_len = (uint8_t)r->b->var_name[cmd->status_var].len;
	k->var = cmd->status_var;
	/* Its OID is minted now, so later commands can name it (get %s ...). */
	k->oid = scpp_oid_make(scpp_oid_locale(r->env->node), scpp_oid_node(r->env->node),
			       scpp_oid_shard(r->env->node), 0, ++c->status_seq);
}

static void
stamp(struct run *r, struct scpp_status *st)
{
	const struct scpp_eval_env *env = r->env;

	st->node = env->node;
	st->core = env->core;
	st->block_id = r->block_id;
	st->client = env->client_id;
	st->command = r->cmd_index;
	st->row = r->row;
	st->elapsed_ns = env->clock_ns != NULL ? env->clock_ns() - r->ctx->t0 : 0;
}

/* Is term @ti determined (constant, or a variable bound) in @row? */
static inline bool
determined(const struct run *r, const struct row *row, uint16_t ti)
{
	const struct scpp_wire_term *t = &r->b->term[ti];

	return t->kind != SCPP_TERM_VAR || ((row->bound >> t->var) & 1);
}

/*
 * Can the command yield at most one row per input row? Then it runs in
 * place: output row k is written over input row k' >= k, so the common
 * single-row block copies no rows at all. Every row has the same bound
 * variables (each command binds the same positions in all its output
 * rows), so row 0 answers for all of them -- unless a command that binds
 * carries a guard (skipped rows keep their variables unbound): then a get
 * never runs in place.
 */
static bool
single_output(const struct run *r, const struct scpp_wire_cmd *cmd)
{
	const struct row *row0 = row_at(r, r->cur, 0);
	const struct scpp_wire_term *ta;

	if (cmd->op != SCPP_OP_GET)
		return true;
	if (r->ctx->mixed_rows)
		return false;
	ta = &r->b->term[cmd->term[1]];
	if (!determined(r, row0, cmd->term[0]))
		return false;
	if (ta->kind == SCPP_TERM_KEY)
		return determined(r, row0, ta->a) && determined(r, row0, ta->b);
	return determined(r, row0, cmd->term[1]);
}

/* One command for one row: 0 (the row goes on), 1 (the command emitted its
 * rows itself) or a negative code. */
static int
dispatch(struct run *r, const struct scpp_wire_cmd *cmd, const struct row *in)
{
	switch (cmd->op) {
	case SCPP_OP_GET:
		return op_get(r, cmd, in);
	case SCPP_OP_SET:
		return op_set(r, cmd, in);
	case SCPP_OP_DEL:
		return op_del(r, cmd, in);
	case SCPP_OP_CREATE:
		return op_create(r, cmd, in);
	case SCPP_OP_ALLOC:
		return op_alloc(r, cmd, in);
	case SCPP_OP_COPY:
		return eval_copy_op(r, cmd, in);
	default: /* let, where, assert, write, resize: eval_expr.c */
		return eval_x_cmd(r, cmd, in);
	}
}

static int
run_cmd(struct run *r, const struct scpp_wire_cmd *cmd)
{
	int rc = 0;

	bool has_status = (cmd->flags & SCPP_WIRE_CF_STATUS) != 0;

	r->next = r->ncur > 0 && single_output(r, cmd) ? r->cur : r->alt;
	r->nnext = 0;
	for (size_t i = 0; i < r->ncur; i++) {
		const struct row *in = row_at(r, r->cur, i);
		uint32_t undo_mark = r->ctx->nundo;
		size_t rows_mark = r->nnext;

		r->row = (uint32_t)SCPP_MIN(i, (size_t)UINT32_MAX - 1);
		r->quiet = has_status && r->ctx->nstat >= r->ctx->lim.max_statuses;

		/* A guard that is false passes the row on untouched (eval_expr.c). */
		rc = (cmd->flags & SCPP_WIRE_CF_GUARD) ? eval_x_guard(r, cmd, in) : 1;
		if (rc == 0)
			rc = emit(r, in) == NULL ? r->st.code : 1;
		else if (rc > 0)
			rc = dispatch(r, cmd, in);
		r->ctx->commands_done++;
		/* Probes the op made after its last step (a final lookup, or
		 * the checks of a failure) are charged now; a limit reached
		 * here wins over whatever the op returned. */
		if (SCPP_UNLIKELY(*r->ctx->probes != r->ctx->probes_seen)) {
			int prc = step(r, 0);

			if (prc < 0)
				rc = prc;
		}
		if (rc == 0 && cmd->op != SCPP_OP_GET && emit(r, in) == NULL)
			rc = r->st.code;
		if (rc > 0)
			rc = 0; /* the op emitted its own row */
		if (rc < 0) {
			stamp(r, &r->st);
			if (is_limit(rc) || !(cmd->flags & SCPP_WIRE_CF_STATUS))
				return rc;
			/* Each command is atomic per row: a failure half-way
			 * through (say, an entity delete) is rolled back before
			 * the block goes on without that row. */
			undo_to(r, undo_mark);
			r->nnext = rows_mark;
			collect(r, cmd);
			/* A command that only writes (set, del, alloc, copy,
			 * write, resize) keeps its row, so the rest of a batch
			 * still runs; one that would have bound variables (get,
			 * create, let) drops it, since they would stay unbound
			 * and range over everything in the next command, and so
			 * does a check that failed (where, assert). */
			if (!eval_x_binds_or_checks(cmd->op) && emit(r, in) == NULL)
				return r->st.code;
			rc = 0;
		}
	}
	r->row = SCPP_STATUS_NO_ROW;
	r->quiet = false;
	return 0;
}

/* ------------------------------------------------------------- fast path */

/*
 * The fast path: the leading run of a block's commands that are fully keyed
 * gets on the single starting row, `get E "a" %v`, `get E "a"[k] %v` and
 * `get %x "a" %v` with %x bound by an earlier get of the run. Each such get
 * yields at most one row from one row, binds one fresh variable and writes
 * nothing, so the run is evaluated straight into row 0: gets whose entity
 * and attribute are constants are collected and looked up with
 * scpp_store_get_burst() (prefetched together), the others one by one
 * after the collected ones they may depend on. The general path takes over
 * at the first command that is anything else, from exactly the state it
 * would have reached itself (the row, steps, probes charged, bytes, arena,
 * command count), so every block gives the same reply and the same
 * counters whichever path ran each command.
 *
 * What the fast path does not decide itself it leaves to the general path:
 * a miss, a map where a value was asked, a value of the wrong type, a step
 * or byte limit. Then it returns FAST_RESTART and the block is evaluated
 * again from the start by the general path, which reports the error with
 * its exact message (nothing was written: a run of gets changes nothing
 * but the block's arena and counters, which are reset). The time budget is
 * read after each collected burst, as the general path reads it every
 * SCPP_EVAL_TIME_CHECK steps, so a block is never more than one burst
 * (SCPP_STORE_BURST_MAX lookups) late to notice it.
 */
#define FAST_RESTART 1

struct fast_run {
	struct row *row;
	uint64_t bound;        /* variables the run has bound */
	unsigned int n;        /* collected gets */
	uint16_t last_cmd;     /* the command of the last one */
	unsigned int gap;      /* 0 iff their variables are var[0], var[0] + 1, ... */
	uint8_t var[SCPP_STORE_BURST_MAX];
	struct scpp_store_key key[SCPP_STORE_BURST_MAX];
	struct scpp_value val[SCPP_STORE_BURST_MAX];
	/* The stage's hashes (r->pf): hash[j] is key[j]'s while hashed holds,
	 * and cand[j] its candidate when pf->has_cand; pfi is the first entry
	 * of pf not passed yet (pf->cmd[] increases). */
	const struct scpp_eval_prefetch *pf;
	uint16_t pfi;
	bool hashed;
	uint64_t hash[SCPP_STORE_BURST_MAX];
	struct scpp_store_cand cand[SCPP_STORE_BURST_MAX];
	const uint8_t *name;   /* the last attribute name resolved, and its id */
	uint32_t name_len;
	uint32_t name_id;
	const struct scpp_auth_authority *auth; /* the session's, or NULL */
	uint64_t auth_shard;   /* hi of the shard it may read whole, or 0 */
	bool auth_coarse;      /* no rule narrower than a /64 (scpp_auth_authority_coarse()) */
	bool auth_ok;          /* ... and a get was allowed: its /64 and attribute */
	uint64_t auth_ok_hi;
	uint32_t auth_ok_attr;
};

/* The fast path's authorisation seam (docs/SECURITY.md §4): may the
 * session get (@p e, @p attr)? A get it may not do ends the fast run and
 * the general path reports it. */
static inline bool
fast_auth_ok(struct fast_run *f, struct scpp_oid e, uint32_t attr)
{
	if (f->auth_shard != 0 && e.hi == f->auth_shard)
		return true;
	/* Rules no narrower than a /64 answer alike for a /64's entities:
	 * a block's gets of one attribute in one shard cost one check. */
	if (f->auth_ok && e.hi == f->auth_ok_hi && attr == f->auth_ok_attr)
		return true;
	if (scpp_auth_check(f->auth, e, attr, SCPP_AUTH_OP_GET, NULL) != 0)
		return false;
	f->auth_ok = f->auth_coarse;
	f->auth_ok_hi = e.hi;
	f->auth_ok_attr = attr;
	return true;
}

/*
 * Charge what @p ngets gets cost the general path: one step each in
 * get_entity(), one for the emitted row, and the probes the lookups made.
 * FAST_RESTART when that is over max_steps (the general path will say at
 * which command), a negative code when the time budget is spent.
 */
static inline int
fast_charge(struct run *r, unsigned int ngets, uint16_t cmd_index)
{
	struct scpp_eval_ctx *c = r->ctx;
	uint64_t p = *c->probes, n = 2 * (uint64_t)ngets + (p - c->probes_seen);

	c->probes_seen = p;
	if (SCPP_UNLIKELY(n > c->lim.max_steps - c->steps))
		return FAST_RESTART;
	c->steps += n;
	c->commands_done += ngets;
	if (SCPP_UNLIKELY(c->steps >= c->time_check)) {
		r->cmd_index = cmd_index;
		r->row = 0;
		return check_time(r);
	}
	return 0;
}

/* Bind fresh variable @p var of the row to @p v, as bind() does. */
static inline int
fast_bind(struct run *r, struct fast_run *f, uint8_t var, const struct scpp_value *v)
{
	f->row->v[var] = *v;
	if (SCPP_UNLIKELY(own(r, &f->row->v[var]) < 0))
		return FAST_RESTART;
	f->row->bound |= UINT64_C(1) << var;
	return 0;
}

/* Copy @p n (1..8) bytes without a call: two overlapping words, or bytes. */
static inline void
copy_short(uint8_t *d, const uint8_t *src, uint32_t n)
{
	if (n >= 4) {
		uint32_t a, b;

		memcpy(&a, src, 4);
		memcpy(&b, src + n - 4, 4);
		memcpy(d, &a, 4);
		memcpy(d + n - 4, &b, 4);
		return;
	}
	d[0] = src[0];
	if (n > 1)
		d[1] = src[1];
	if (n > 2)
		d[2] = src[2];
}

/*
 * own() of the @p n values of a burst at once: one arena allocation and one
 * charge for all of their bytes, which leaves the arena and the byte count
 * exactly where n own() calls would (each rounds its share up to 8). -1
 * when they do not fit the arena or max_bytes: the caller restarts the
 * block and the general path reports which value did not fit.
 */
static inline int
fast_own_all(struct run *r, struct scpp_value *v, unsigned int n)
{
	struct scpp_eval_ctx *c = r->ctx;
	uint64_t need = 0, charge = 0;
	uint8_t *p;

	for (unsigned int i = 0; i < n; i++)
		if (v[i].type == SCPP_VT_STR || v[i].type == SCPP_VT_BYTES) {
			charge += v[i].len;
			need += ((uint64_t)v[i].len + 7) & ~(uint64_t)7;
		}
	if (charge == 0)
		return 0;
	if (SCPP_UNLIKELY(need > c->arena_size - c->arena_used ||
			  charge > c->lim.max_bytes - c->bytes))
		return -1;
	c->bytes += charge;
	p = c->arena + c->arena_used;
	c->arena_used += need;
	for (unsigned int i = 0; i < n; i++) {
		uint32_t len = v[i].len;

		if ((v[i].type != SCPP_VT_STR && v[i].type != SCPP_VT_BYTES) || len == 0)
			continue;
		if (len <= 8)
			copy_short(p, v[i].p, len);
		else
			memcpy(p, v[i].p, len);
		v[i].p = p;
		p += (len + 7) & ~(uint32_t)7;
	}
	return 0;
}

/*
 * The stage's candidates of the hashes @p hs, or NULL when it made none. @p hs
 * is either f->hash (gets collected one by one: fast_collect() copied their
 * candidates to f->cand) or a run of the stage's own hashes from
 * pf->hash[k] on (fast_run_hashes()), whose candidates are pf->cand[k] on.
 */
static inline const struct scpp_store_cand *
fast_cands(const struct fast_run *f, const uint64_t *hs)
{
	const struct scpp_eval_prefetch *pf = f->pf;

	if (!pf->has_cand)
		return NULL;
	return hs == f->hash ? f->cand : &pf->cand[hs - pf->hash];
}

/*
 * Look up the collected gets together and bind their variables, as
 * fast_bind() does one by one. When the variables are consecutive (`get ..
 * %1; get .. %2; ...`) the values are looked up straight into the row: a
 * miss writes only variables that stay unbound (the block then restarts).
 * @p hs: the stage's hashes of the n keys, or NULL (the store hashes them);
 * the lookups start from the stage's candidates of them if it has some.
 */
static int
fast_flush_hashed(struct run *r, struct fast_run *f, const uint64_t *hs)
{
	const struct scpp_store *s = r->env->store;
	uint64_t hit = 0, all;
	unsigned int n = f->n, gap = f->gap;
	struct scpp_value *v;
	int rc;

	if (n == 0)
		return 0;
	f->n = 0;
	f->gap = 0;
	v = gap == 0 ? &f->row->v[f->var[0]] : f->val;
	/* One key has nothing to overlap: the single get finds the same
	 * entry with the same probes, without the pipeline's stages. A miss
	 * with a stage's hash is no proof: the general path looks again. */
	if (hs != NULL) {
		const struct scpp_store_cand *cs = fast_cands(f, hs);

		scpp_counter_add(&r->ctx->st.fast_hashed, n);
		if (cs != NULL && n == 1)
			hit = scpp_store_get_cand(s, &f->key[0], hs[0], cs, v) == 0;
		else if (cs != NULL)
			scpp_store_get_burst_cand(s, f->key, hs, cs, n, v, &hit);
		else if (n == 1)
			hit = scpp_store_get_hashed(s, f->key[0].oid, f->key[0].attr, hs[0], v) == 0;
		else
			scpp_store_get_burst_hashed(s, f->key, hs, n, v, &hit);
	} else if (n == 1) {
		hit = scpp_store_get(s, f->key[0].oid, f->key[0].attr, v) == 0;
	} else {
		scpp_store_get_burst(s, f->key, n, v, &hit);
	}
	all = n == 64 ? UINT64_MAX : (UINT64_C(1) << n) - 1;
	if (SCPP_UNLIKELY(hit != all))
		return FAST_RESTART;
	if (gap == 0) {
		if (SCPP_UNLIKELY(fast_own_all(r, v, n) < 0))
			return FAST_RESTART;
		f->row->bound |= all << f->var[0]; /* var[0] + n <= 64 */
	} else {
		for (unsigned int i = 0; i < n; i++)
			if ((rc = fast_bind(r, f, f->var[i], &v[i])) != 0)
				return rc;
	}
	return fast_charge(r, n, f->last_cmd);
}

/* fast_flush_hashed() of the gets fast_collect() collected. */
static int
fast_flush(struct run *r, struct fast_run *f)
{
	const uint64_t *hs = f->hashed ? f->hash : NULL;

	f->hashed = f->pf != NULL;
	return fast_flush_hashed(r, f, hs);
}

/* Collect get @p i of the run: key (@p e, @p aid) into variable @p var,
 * with the stage's hash of command @p i if it has one for @p aid. */
static inline void
fast_collect(struct fast_run *f, uint16_t i, uint8_t var, struct scpp_oid e, int64_t aid)
{
	const struct scpp_eval_prefetch *pf = f->pf;

	f->bound |= UINT64_C(1) << var;
	f->last_cmd = i;
	f->var[f->n] = var;
	f->gap |= (var - f->n) ^ f->var[0]; /* var[0] is var itself when n == 0 */
	f->key[f->n].oid = e;
	f->key[f->n].attr = (uint32_t)aid;
	f->key[f->n].rsv = 0;
	if (f->hashed) {
		while (f->pfi < pf->n && pf->cmd[f->pfi] < i)
			f->pfi++;
		if (f->pfi < pf->n && pf->cmd[f->pfi] == i && pf->attr[f->pfi] == (uint32_t)aid) {
			f->hash[f->n] = pf->hash[f->pfi];
			if (pf->has_cand)
				f->cand[f->n] = pf->cand[f->pfi];
		} else {
			f->hashed = false;
		}
	}
	f->n++;
}

/* fast_attr() for a name other than the last one resolved. */
static SCPP_COLD int64_t
fast_attr_lookup(struct run *r, struct fast_run *f, const struct scpp_value *name)
{
	struct scpp_eval_ctx *c = r->ctx;
	uint32_t *slot = acache_slot(c, name->p, name->len);
	size_t dlen = 0;
	const char *dn = *slot != 0 ? scpp_store_dict_name(r->env->dict, *slot, &dlen) : NULL;
	int64_t id;

	if (dn != NULL && dlen == name->len && name_eq(dn, name->p, name->len)) {
		id = *slot;
	} else {
		id = eval_name_id(c, r->env, name->p, name->len, false);
		if (id <= 0)
			return 0;
	}
	f->name = name->p;
	f->name_len = name->len;
	f->name_id = (uint32_t)id;
	return id;
}

/*
 * Dictionary id of a constant attribute name, as attr_id() finds it for a
 * block with no new names; 0 when no triple can have it. The decoder
 * points repeated attribute strings of a block at their first occurrence,
 * so a repeat of the last name is usually the same pointer.
 */
static inline int64_t
fast_attr(struct run *r, struct fast_run *f, const struct scpp_value *name)
{
	if (SCPP_LIKELY(name->len == f->name_len && f->name_id != 0 &&
			(name->p == f->name || memcmp(name->p, f->name, name->len) == 0)))
		return f->name_id;
	return fast_attr_lookup(r, f, name);
}

/*
 * fast_attr() of the attribute name @p name of get @p i (shape EAV, so
 * the name the stage resolved for command i if it did): the stage's id
 * when it has one (scpp_eval_prefetch() checked it against the dictionary,
 * which never drops or renumbers a name, and the block runs with the env
 * it was prefetched with), without hashing and comparing the name again.
 * Passes the stage's entries before command @p i, as fast_collect() does.
 */
static inline int64_t
fast_attr_at(struct run *r, struct fast_run *f, uint16_t i, const struct scpp_value *name)
{
	const struct scpp_eval_prefetch *pf = f->pf;

	if (pf != NULL) {
		while (f->pfi < pf->n && pf->cmd[f->pfi] < i)
			f->pfi++;
		if (f->pfi < pf->n && pf->cmd[f->pfi] == i) {
			f->name = name->p;
			f->name_len = name->len;
			f->name_id = pf->attr[f->pfi];
			return f->name_id;
		}
	}
	return fast_attr(r, f, name);
}

/* The dictionary id of attribute name @p name if the cross-block cache has
 * it (a name it does not have is not worth a dictionary lookup here), or 0. */
static inline uint32_t
prefetch_attr(const struct scpp_eval_ctx *ctx, const struct scpp_eval_env *env,
	      const struct scpp_value *name)
{
	uint32_t slot = ctx->acache[acache_hash(name->p, name->len)];
	size_t dlen = 0;
	const char *dn = slot != 0 ? scpp_store_dict_name(env->dict, slot, &dlen) : NULL;

	if (dn == NULL || dlen != name->len || !name_eq(dn, name->p, name->len))
		return 0;
	return slot;
}

/* Key @p e, @p id of command @p i into the prefetch. */
static inline void
prefetch_add(struct scpp_eval_prefetch *pf, uint16_t i, struct scpp_oid e, uint32_t id)
{
	uint16_t k = pf->n++;

	pf->cmd[k] = i;
	pf->attr[k] = id;
	pf->key[k].oid = e;
	pf->key[k].attr = id;
	pf->key[k].rsv = 0;
}

void
scpp_eval_prefetch(const struct scpp_eval_ctx *ctx, const struct scpp_eval_env *env,
		   const struct scpp_wire_block *b, struct scpp_eval_prefetch *pf)
{
	const uint8_t *last = NULL;
	uint32_t last_len = 0, id = 0;
	uint16_t i = 0;

	pf->n = 0;
	pf->has_cand = false;
	pf->blk = b;
	if (!ctx->fast)
		return;
	/* The decoder's get run: one attribute name, constant entities in
	 * terms 3i (struct scpp_wire_block, get_run). */
	if (b->get_run > 0 && (id = prefetch_attr(ctx, env, &b->term[1].value)) != 0) {
		uint16_t m = (uint16_t)SCPP_MIN((unsigned int)b->get_run,
						(unsigned int)SCPP_EVAL_PREFETCH_MAX);

		for (; i < m; i++)
			prefetch_add(pf, i, b->term[3 * i].value.oid, id);
		last = b->term[1].value.p;
		last_len = b->term[1].value.len;
	}
	for (; i < b->ncmds && pf->n < SCPP_EVAL_PREFETCH_MAX; i++) {
		const struct scpp_wire_cmd *cmd = &b->cmd[i];
		const struct scpp_wire_term *te, *ta;
		const struct scpp_value *name;

		/* The fast path's gets, and past them every get or set of a
		 * constant entity and attribute: the general path reads their
		 * triples one at a time, so they had better be in cache too. */
		if ((cmd->op != SCPP_OP_GET && cmd->op != SCPP_OP_SET) || cmd->nterms != 3)
			continue;
		te = &b->term[cmd->term[0]];
		ta = &b->term[cmd->term[1]];
		name = &ta->value;
		if (cmd->shape != SCPP_WIRE_SHAPE_EAV &&
		    (te->kind != SCPP_TERM_CONST || te->value.type != SCPP_VT_OID ||
		     ta->kind != SCPP_TERM_CONST || name->type != SCPP_VT_STR || name->len == 0))
			continue;
		if (name->p != last || name->len != last_len) {
			uint32_t a = prefetch_attr(ctx, env, name);

			if (a == 0)
				continue;
			last = name->p;
			last_len = name->len;
			id = a;
		}
		prefetch_add(pf, i, te->value.oid, id);
	}
	scpp_store_prefetch_burst(env->store, pf->key, pf->n, pf->hash);
}

void
scpp_eval_prefetch_entries(const struct scpp_eval_env *env, struct scpp_eval_prefetch *pf)
{
	/* One key has nothing to gain from a candidate: the single get from
	 * the home bucket (scpp_store_get_hashed(), 33 instructions) is as
	 * short as from one (34), and keeping it cost the prefetch 17 and the
	 * fast path 11 more (callgrind, scppd's 1-get block). */
	if (pf->n < 2) {
		scpp_store_prefetch_entries(env->store, pf->hash, pf->n);
		return;
	}
	scpp_store_prefetch_cand(env->store, pf->hash, pf->n, pf->cand);
	pf->has_cand = true;
}

/* Collect up to @p m gets of the run from its terms at @p te into the
 * burst (with @p auth, while the session may do them); how many. */
static inline __attribute__((always_inline)) unsigned int
fast_run_collect(struct fast_run *f, const struct scpp_wire_term *te, unsigned int m,
		 uint32_t aid, bool auth)
{
	const unsigned int var0 = te[2].var;
	unsigned int gap = 0, j;

	for (j = 0; j < m; j++, te += 3) {
		const unsigned int var = te[2].var;

		if (auth && !fast_auth_ok(f, te->value.oid, aid))
			break;
		f->key[j].oid = te->value.oid;
		f->key[j].attr = aid;
		f->key[j].rsv = 0;
		f->var[j] = (uint8_t)var;
		gap |= var ^ (var0 + j);
	}
	f->n = j;
	f->gap = gap;
	return j;
}

/*
 * The stage's hashes of commands @p i .. @p i + @p j - 1 of the get run, all
 * of attribute @p aid, or NULL. pf->cmd[] increases from 0, so its entry
 * k is command k for every k up to the first entry that is.
 */
static inline const uint64_t *
fast_run_hashes(const struct fast_run *f, uint16_t i, unsigned int j, uint32_t aid)
{
	const struct scpp_eval_prefetch *pf = f->pf;
	unsigned int last = i + j - 1;

	if (pf == NULL || last >= pf->n || pf->cmd[last] != last)
		return NULL;
	for (unsigned int k = i; k <= last; k++)
		if (pf->attr[k] != aid)
			return NULL;
	return &pf->hash[i];
}

/*
 * The decoder's leading run of gets of one attribute into variables of
 * their own (struct scpp_wire_block, get_run): the same collection as
 * fast_prefix()'s loop makes command by command, without its per-command
 * tests (each of these commands passes them: a fresh variable, the same
 * name). *@p next is the first command not collected (the run's end, or a
 * get the session may not do, where fast_prefix()'s loop stops too).
 */
static int
fast_get_run(struct run *r, struct fast_run *f, uint16_t *next)
{
	const struct scpp_wire_block *b = r->b;
	const struct scpp_wire_term *t = b->term;
	const uint16_t n = b->get_run;
	int64_t aid = fast_attr_at(r, f, 0, &t[1].value);
	uint16_t i = 0;
	int rc;

	if (aid == 0)
		return 0;
	f->bound = b->get_run_vars;
	while (i < n) {
		unsigned int m = SCPP_MIN((unsigned int)(n - i), (unsigned int)SCPP_STORE_BURST_MAX);
		unsigned int j = f->auth == NULL
					 ? fast_run_collect(f, &t[3 * i], m, (uint32_t)aid, false)
					 : fast_run_collect(f, &t[3 * i], m, (uint32_t)aid, true);

		if (j == 0)
			break;
		scpp_counter_add(&r->ctx->st.fast_run_cmds, j);
		f->last_cmd = (uint16_t)(i + j - 1);
		if ((rc = fast_flush_hashed(r, f, fast_run_hashes(f, i, j, (uint32_t)aid))) != 0)
			return rc;
		i = (uint16_t)(i + j);
		if (j < m)
			break; /* the loop stops at the same get */
	}
	*next = i;
	return 0;
}

/*
 * Run the block's leading fast commands (see above). Returns 0 with
 * *@p done = how many ran (0 .. ncmds; the row holds their bindings),
 * FAST_RESTART, or a negative code (the time budget: abort the block).
 */
static int
fast_prefix(struct run *r, uint16_t *done)
{
	const struct scpp_wire_block *b = r->b;
	struct scpp_store *s = r->env->store;
	struct fast_run f;
	uint16_t i;
	int rc;

	*done = 0;
	if (r->max_rows < 1)
		return 0; /* the first row would not fit: the general path says so */
	f.row = row_at(r, r->cur, 0);
	f.bound = 0;
	f.n = 0;
	f.gap = 0;
	f.pf = r->pf;
	f.pfi = 0;
	f.hashed = f.pf != NULL;
	f.name = NULL;
	f.name_len = 0;
	f.name_id = 0;
	/* A session that may read every attribute of the whole shard needs
	 * no check per get of this shard's entities: one cover() per block. */
	f.auth = r->env->auth;
	f.auth_shard = 0;
	f.auth_coarse = false;
	f.auth_ok = false;
	f.auth_ok_hi = 0;
	f.auth_ok_attr = 0;
	if (f.auth != NULL) {
		f.auth_coarse = scpp_auth_authority_coarse(f.auth);
		struct scpp_oid_prefix shard = {.oid = {r->env->node.hi, 0}, .len = 64};

		/* ALL needs a rule with every attribute: skip cover() without one. */
		if ((scpp_auth_authority_ops_all_attrs(f.auth) & SCPP_AUTH_OP_GET) != 0 &&
		    scpp_auth_cover(f.auth, &shard, SCPP_AUTH_OP_GET) == SCPP_AUTH_COVER_ALL)
			f.auth_shard = r->env->node.hi;
	}
	i = 0;
	if (b->get_run > 0 && (rc = fast_get_run(r, &f, &i)) != 0)
		return rc;
	for (; i < b->ncmds; i++) {
		const struct scpp_wire_cmd *cmd = &b->cmd[i];
		const struct scpp_wire_term *te, *ta, *tv, *tk = NULL;
		struct scpp_value val, key;
		struct scpp_oid e;
		int64_t aid;

		te = &b->term[cmd->term[0]];
		ta = &b->term[cmd->term[1]];
		tv = &b->term[cmd->term[2]];
		if (SCPP_LIKELY(cmd->shape == SCPP_WIRE_SHAPE_EAV && cmd->op == SCPP_OP_GET)) {
			/* The decoder checked the flags and the kinds and types
			 * of the terms. */
			if ((f.bound >> tv->var) & 1)
				break;
			aid = fast_attr_at(r, &f, i, &ta->value);
			if (aid == 0)
				break;
			/* Authorisation seam of the fast path: a get the session
			 * may not do ends the fast run; the general path reports
			 * it (docs/SECURITY.md §4). */
			if (f.auth != NULL && !fast_auth_ok(&f, te->value.oid, (uint32_t)aid))
				break;
			fast_collect(&f, i, tv->var, te->value.oid, aid);
			if (f.n == SCPP_STORE_BURST_MAX && (rc = fast_flush(r, &f)) != 0)
				return rc;
			continue;
		}
		if (cmd->op != SCPP_OP_GET || cmd->flags != 0 || cmd->nterms != 3 ||
		    tv->kind != SCPP_TERM_VAR || ((f.bound >> tv->var) & 1))
			break;
		if (ta->kind == SCPP_TERM_KEY) {
			tk = &b->term[ta->b];
			ta = &b->term[ta->a];
			if (tk->kind == SCPP_TERM_VAR && !((f.bound >> tk->var) & 1))
				break;
		}
		if (ta->kind != SCPP_TERM_CONST || ta->value.type != SCPP_VT_STR ||
		    ta->value.len == 0)
			break;
		if (te->kind == SCPP_TERM_VAR ? !((f.bound >> te->var) & 1)
					      : te->value.type != SCPP_VT_OID)
			break;
		aid = fast_attr(r, &f, &ta->value);
		if (aid == 0)
			break;
		if (f.auth != NULL && te->kind == SCPP_TERM_CONST &&
		    !fast_auth_ok(&f, te->value.oid, (uint32_t)aid))
			break;
		if (te->kind == SCPP_TERM_CONST && tk == NULL) {
			fast_collect(&f, i, tv->var, te->value.oid, aid);
			if (f.n == SCPP_STORE_BURST_MAX && (rc = fast_flush(r, &f)) != 0)
				return rc;
			continue;
		}
		f.bound |= UINT64_C(1) << tv->var;
		/* It may need a binding of the collected ones: those first. */
		if ((rc = fast_flush(r, &f)) != 0)
			return rc;
		if (te->kind == SCPP_TERM_VAR) {
			if (f.row->v[te->var].type != SCPP_VT_OID)
				return FAST_RESTART;
			e = f.row->v[te->var].oid;
		} else {
			e = te->value.oid;
		}
		if (f.auth != NULL && !fast_auth_ok(&f, e, (uint32_t)aid))
			return FAST_RESTART;
		if (tk != NULL) {
			key = tk->kind == SCPP_TERM_CONST ? tk->value : f.row->v[tk->var];
			rc = scpp_store_map_get(s, e, (uint32_t)aid, &key, &val);
		} else {
			rc = scpp_store_get(s, e, (uint32_t)aid, &val);
		}
		if (rc != 0)
			return FAST_RESTART;
		if ((rc = fast_bind(r, &f, tv->var, &val)) != 0 || (rc = fast_charge(r, 1, i)) != 0)
			return rc;
	}
	if ((rc = fast_flush(r, &f)) != 0)
		return rc;
	*done = i;
	return 0;
}

static void
reply_abort(struct run *r, struct scpp_wire_reply_writer *w, size_t mark,
	    struct scpp_eval_result *res, int code)
{
	struct scpp_oid soid;

	w->len = mark;
	soid = scpp_oid_make(scpp_oid_locale(r->env->node), scpp_oid_node(r->env->node),
			     scpp_oid_shard(r->env->node), 0, ++r->ctx->status_seq);
	scpp_status_encode(w, soid, &r->st);
	res->outcome = SCPP_OUTCOME_ABORTED;
	res->code = code;
	res->err = r->st.err;
	res->failed_cmd = r->cmd_index;
	res->rows = 0;
	res->statuses = 1;
}

int
scpp_eval_poll_schema(struct scpp_eval_env *env)
{
	const struct scpp_schema *cur;
	uint64_t v;
	int rc;

	if (env->pub == NULL || scpp_schema_pub_version(env->pub) == env->schema_version)
		return 0;
	cur = scpp_schema_pub_current(env->pub, &v);
	if (cur != env->schema) {
		rc = scpp_schema_rematerialize(env->schema, cur, env->store);
		if (rc < 0)
			return rc;
	}
	env->schema = cur;
	env->schema_version = v;
	scpp_schema_pub_adopted(env->pub, env->worker, v);
	return 1;
}

/*
 * Stop before command @p next (scpp_eval.h, "suspending"): the part that
 * ran is finished as at the end of a block (created objects checked, new
 * names interned, committed) and its state goes to @p s. 0, or a negative
 * code (stamped) that aborts the block as any failure does.
 */
static int
suspend(struct run *r, struct scpp_eval_susp *s, uint16_t next)
{
	struct scpp_eval_ctx *ctx = r->ctx;
	const struct scpp_eval_env *env = r->env;
	size_t need = eval_susp_need(ctx, r->cur, r->ncur, r->stride, r->b->nvars);
	int rc = 0;

	/* The part commits: its copies must have ended (and their outcomes
	 * be the part's). */
	if (SCPP_UNLIKELY(ctx->acopy_wait < ctx->nacopy) && (rc = eval_acopy_settle(r)) < 0)
		return rc;
	if (!eval_susp_fits(s, need))
		rc = fail(r, -SCPP_E_LIMIT_PENDING, "the block's state before command %u (%zu rows, "
			  "%zu bytes) does not fit its suspension (%zu bytes)", next, r->ncur, need,
			  s->cap);
	for (uint32_t i = 0; rc == 0 && i < ctx->ncreated; i++) {
		if (!scpp_store_entity_exists(env->store, ctx->created[i]))
			continue; /* deleted again in the block */
		rc = eval_schema_check_object(ctx, env, ctx->created[i], ctx->created_flag[i], &r->st);
	}
	if (rc == 0 && ctx->npend > 0)
		rc = names_commit(r);
	if (rc < 0) {
		stamp(r, &r->st);
		return rc;
	}
	eval_susp_save(ctx, s, r->cur, r->ncur, r->stride, r->b->nvars, next,
		       env->clock_ns != NULL ? env->clock_ns() - ctx->t0 : 0);
	/* Committed: nothing of the part can be undone now (and the copies'
	 * save buffers are not needed any more). */
	if (SCPP_UNLIKELY(ctx->nacopy > 0))
		eval_acopy_release(r);
	ctx->nundo = 0;
	ctx->ncreated = 0;
	ctx->npend = 0;
	scpp_store_end_block(env->store, SCPP_EVAL_RECLAIM);
	return 0;
}

/* Ask the hook about command @p i; the table is readable meanwhile
 * (scpp_eval_ctx_rows(), eval_cont.c). */
static enum scpp_eval_verdict
hook_ask(struct run *r, const struct scpp_eval_hooks *hooks, uint16_t i)
{
	struct scpp_eval_ctx *ctx = r->ctx;
	enum scpp_eval_verdict v;

	ctx->hook_tab = r->cur;
	ctx->hook_nrows = r->ncur;
	ctx->hook_stride = r->stride;
	v = hooks->before_cmd(hooks->arg, r->b, i, r->ncur);
	ctx->hook_tab = NULL;
	return v;
}

/*
 * Stop before command @p next (b->ncmds: before the end) keeping the part
 * that ran uncommitted (scpp_eval.h, "hold"): its undo log, the objects to
 * check and the entities it wrote go to @p s with the rest of the state.
 * *@p held false: this part cannot be held (eval_susp.c says why not), the
 * block goes on. 0, or a negative code (stamped) that aborts the block.
 */
static int
hold(struct run *r, struct scpp_eval_susp *s, uint16_t next, bool *held)
{
	struct scpp_eval_ctx *ctx = r->ctx;
	const struct scpp_eval_env *env = r->env;
	size_t need = eval_susp_need(ctx, r->cur, r->ncur, r->stride, r->b->nvars);
	uint32_t nents = 0;
	size_t extra = eval_susp_hold_need(ctx, &nents);

	*held = false;
	if (extra == SIZE_MAX)
		return 0;
	/* The block's copies in flight go with it (eval_copy.c, copy_async()). */
	extra += (size_t)ctx->nacopy * sizeof(struct eval_acopy) + 8;
	if (!eval_susp_fits(s, need + extra + 8)) {
		fail(r, -SCPP_E_LIMIT_PENDING, "the block's state before command %u (%zu rows, "
		     "%u undo records, %zu bytes) does not fit its suspension (%zu bytes)", next,
		     r->ncur, ctx->nundo, need + extra, s->cap);
		stamp(r, &r->st);
		return -SCPP_E_LIMIT_PENDING;
	}
	eval_susp_save(ctx, s, r->cur, r->ncur, r->stride, r->b->nvars, next,
		       env->clock_ns != NULL ? env->clock_ns() - ctx->t0 : 0);
	eval_susp_hold_save(ctx, s, s->cap);
	eval_acopy_hold_save(ctx, s);
	s->held_copies = (uint16_t)(s->nacopy - s->acopy_wait);
	ctx->held_copies += s->held_copies;
	/* Not committed: the log is the suspension's now, and nothing the
	 * part did is sealed (it detached nothing: see eval_susp.c). */
	ctx->nundo = 0;
	ctx->ncreated = 0;
	*held = true;
	return 0;
}

/*
 * The block stopped (suspended or held): nothing of it in the reply yet,
 * and the summary counts what ran so far. 1, run_block()'s "stopped".
 */
static int
stopped(const struct scpp_eval_ctx *ctx, struct scpp_wire_reply_writer *w, size_t start,
	struct scpp_eval_result *res_out)
{
	w->len = start;
	if (res_out != NULL) {
		memset(res_out, 0, sizeof(*res_out));
		res_out->commands = ctx->commands_done;
		res_out->steps = ctx->steps;
	}
	return 1;
}

/*
 * A block from its start (@p from < 0) or from command @p from of the
 * suspension @p susp, with @p hooks (NULL: never stops). 1: suspended.
 * @p abort_code (< 0, with a held or plain suspension): do not go on but
 * abort the block with that status and @p abort_msg, undoing a held part.
 */
static int
run_block(struct scpp_eval_ctx *ctx, const struct scpp_eval_env *env,
	  const struct scpp_wire_block *b, uint64_t block_id, struct scpp_wire_reply_writer *w,
	  struct scpp_eval_result *res_out, const struct scpp_eval_hooks *hooks,
	  struct scpp_eval_susp *susp, int from, int abort_code, const char *abort_msg)
{
	struct scpp_value vals[SCPP_WIRE_VARS_MAX];
	/* The caller's result, written in place (no copy at the end). */
	struct scpp_eval_result res_local, *res = res_out != NULL ? res_out : &res_local;
	struct run r;
	size_t mark, limit_len, start = w->len;
	bool gate = false;
	uint16_t first = 0;
	int rc = 0;

	/* Not the status's message: it is most of the struct, and fail()
	 * writes it before anything reads it. */
	memset(&r, 0, offsetof(struct run, st) + offsetof(struct scpp_status, message));
	r.st.message[0] = '\0';
	r.ctx = ctx;
	r.env = env;
	r.b = b;
	r.block_id = block_id;
	r.stride = sizeof(struct row) + (size_t)b->nvars * sizeof(struct scpp_value);
	r.max_rows = SCPP_MIN((size_t)ctx->lim.max_rows, ctx->tab_bytes / r.stride);
	r.cur = ctx->tab[0];
	r.alt = ctx->tab[1];
	r.row = SCPP_STATUS_NO_ROW;
	/* Consumed by this evaluation whatever it is; used only for its block. */
	if (ctx->pf != NULL && ctx->pf->blk == b && ctx->pf->n > 0)
		r.pf = ctx->pf;
	ctx->pf = NULL;

	ctx->arena_used = 0;
	ctx->nundo = 0;
	ctx->nstat = 0;
	ctx->ncreated = 0;
	ctx->steps = 0;
	ctx->time_check = SCPP_EVAL_TIME_CHECK;
	ctx->max_time_ns = (uint64_t)ctx->lim.max_time_us * 1000;
	ctx->probes = scpp_store_probe_counter(env->store);
	ctx->probes_seen = *ctx->probes;
	ctx->bytes = 0;
	ctx->commands_done = 0;
	ctx->npend = 0;
	ctx->nacopy = 0;
	ctx->acopy_wait = 0;
	ctx->ncres = 0;
	r.cres = (b->flags & SCPP_WIRE_BF_COPY_RESULTS) != 0;
	ctx->nelog = 0;
	ctx->now_read = false;
	ctx->t0 = env->clock_ns != NULL ? env->clock_ns() : 0;

	if (scpp_wire_reply_columns_block(w, b) < 0)
		return -ENOSPC;
	mark = w->len;
	/* Keep room for the abort status and END whatever happens. */
	if (w->size - w->len < 512)
		return -ENOSPC;
	/* Not before: an -ENOSPC leaves the caller's result as it was. */
	memset(res, 0, sizeof(*res));

	/* One empty row: every variable unbound. */
	((struct row *)r.cur)->bound = 0;
	r.ncur = 1;

	rc = check_block(&r);
	if (rc == 0 && from >= 0) {
		uint64_t elapsed = susp->elapsed_ns;

		bool was_held = susp->held;

		rc = eval_susp_restore(ctx, susp, r.cur, r.max_rows);
		/* Same context, same limits: the held log fits where it came
		 * from, and it must be back before anything can abort. */
		if (was_held) {
			SCPP_VERIFY(eval_susp_hold_restore(ctx, susp) == 0);
			eval_acopy_hold_restore(ctx, susp);
		}
		if (rc < 0) {
			fail(&r, rc, "the suspended block's state does not fit this context");
			stamp(&r, &r.st);
		} else {
			r.ncur = susp->nrows;
			first = (uint16_t)from;
			if (env->clock_ns != NULL)
				ctx->t0 -= elapsed; /* the budget counts running time */
		}
		if (rc == 0 && abort_code < 0) {
			r.cmd_index = (uint16_t)from;
			rc = fail(&r, abort_code, "%s", abort_msg != NULL ? abort_msg : "");
			stamp(&r, &r.st);
		}
	}
	/* (Not while a held block has copies in flight: reads then check
	 * their bytes, which the fast path does not.) */
	if (rc == 0 && ctx->fast && from < 0 && hooks == NULL && ctx->held_copies == 0) {
		rc = fast_prefix(&r, &first);
		if (rc == FAST_RESTART) {
			/* Back to the state of the block's start (see fast_prefix()). */
			ctx->arena_used = 0;
			ctx->bytes = 0;
			ctx->steps = 0;
			ctx->time_check = SCPP_EVAL_TIME_CHECK;
			ctx->commands_done = 0;
			ctx->probes_seen = *ctx->probes;
			((struct row *)r.cur)->bound = 0;
			scpp_counter_add(&ctx->st.fast_restarts, 1);
			first = 0;
			rc = 0;
		} else if (rc == 0) {
			scpp_counter_add(&ctx->st.fast_cmds, first);
			if (first == b->ncmds)
				scpp_counter_add(&ctx->st.fast_blocks, 1);
		} else {
			stamp(&r, &r.st);
		}
	}
	if (rc == 0 && first < b->ncmds)
		general_begin(&r);
	for (uint16_t i = first; rc == 0 && i < b->ncmds; i++) {
		r.cmd_index = i;
		/* Not before the command a resumption starts at, and never once
		 * the block changed the schema (that commits only at its end). */
		if (SCPP_UNLIKELY(hooks != NULL) && hooks->before_cmd != NULL && susp != NULL &&
		    ctx->edit == NULL && ctx->nelog == 0 && (from < 0 || i != (uint16_t)from)) {
			enum scpp_eval_verdict v = hook_ask(&r, hooks, i);
			bool held = false;

			if (v == SCPP_EVAL_SUSPEND)
				rc = suspend(&r, susp, i);
			else if (v == SCPP_EVAL_HOLD)
				rc = hold(&r, susp, i, &held);
			if (rc < 0)
				break;
			if (v == SCPP_EVAL_SUSPEND || held)
				return stopped(ctx, w, start, res_out);
		}
		/* A copy command's copies in flight end before the next
		 * command (which may read or write their bytes). */
		if (SCPP_UNLIKELY(ctx->acopy_wait < ctx->nacopy) && (rc = eval_acopy_settle(&r)) < 0)
			break;
		if (SCPP_UNLIKELY(r.cres) && b->cmd[i].op == SCPP_OP_COPY) {
			eval_cres_begin(ctx, i, eval_clock_now(&r));
			rc = run_cmd(&r, &b->cmd[i]);
			eval_cres_end(ctx, i, eval_clock_now(&r));
		} else {
			rc = run_cmd(&r, &b->cmd[i]);
		}
		if (r.next != r.cur) {
			r.alt = r.cur;
			r.cur = r.next;
		}
		r.ncur = r.nnext;
	}
	/* Objects created in the block must be complete now. Failures here
	 * are reported at command index ncmds: "the end of the block". */
	if (rc == 0)
		r.cmd_index = b->ncmds;
	/* A schema change compiled elsewhere (env.schema_hold): the block
	 * waits, held before its commit, while the change is compiled and
	 * every shard checks its instances. One change at a time node-wide:
	 * the gate is taken here and is the caller's from the hold on. */
	if (rc == 0 && ctx->nelog > 0 && env->schema_hold != NULL) {
		struct scpp_eval_susp *hs = NULL;
		bool held = false, took = false;

		if (env->pub != NULL) {
			rc = scpp_schema_pub_begin(env->pub, env->worker, env->schema_version);
			if (rc < 0)
				fail(&r, rc, "another schema change is being published to every shard: "
				     "retry the block");
			took = rc == 0;
		}
		if (rc == 0 && (hs = env->schema_hold(env->schema_hold_arg, b)) == NULL)
			rc = fail(&r, -SCPP_E_LIMIT_PENDING, "no room to hold the block while its "
				  "schema change is checked on every shard: retry the block");
		if (rc == 0 && (rc = hold(&r, hs, b->ncmds, &held)) == 0 && !held)
			rc = fail(&r, -SCPP_E_SCHEMA, "this schema change cannot wait for every "
				  "shard's check: the block also deletes an entity or a map, names a "
				  "new attribute, or makes more than %u changes; split it",
				  EVAL_HOLD_UNDO_MAX);
		if (rc == 0)
			return stopped(ctx, w, start, res_out);
		if (took)
			scpp_schema_pub_abandon(env->pub, env->worker);
		stamp(&r, &r.st);
	}
	/* The stop before the end, a hold only (what ran must still be able
	 * to abort, or there is nothing to wait for). */
	if (rc == 0 && SCPP_UNLIKELY(hooks != NULL) && hooks->at_end && hooks->before_cmd != NULL &&
	    susp != NULL && from != (int)b->ncmds &&
	    hooks->before_cmd(hooks->arg, b, b->ncmds, r.ncur) != SCPP_EVAL_GO) {
		bool held = false;

		rc = hold(&r, susp, b->ncmds, &held);
		if (rc == 0 && held)
			return stopped(ctx, w, start, res_out);
	}
	/* A copy command's copies in flight end before the end too (after the
	 * stop before it, which may hold the block until they completed). */
	if (rc == 0 && SCPP_UNLIKELY(ctx->acopy_wait < ctx->nacopy))
		rc = eval_acopy_settle(&r);
	for (uint32_t i = 0; rc == 0 && i < ctx->ncreated; i++) {
		if (!scpp_store_entity_exists(env->store, ctx->created[i]))
			continue; /* deleted again in the block */
		rc = eval_schema_check_object(ctx, env, ctx->created[i], ctx->created_flag[i], &r.st);
		if (rc < 0)
			stamp(&r, &r.st);
	}
	if (rc == 0 && ctx->edit != NULL && env->pub != NULL) {
		/* One schema change at a time, node-wide, compiled against the
		 * version every shard will have (scpp_schema_pub). */
		rc = scpp_schema_pub_begin(env->pub, env->worker, env->schema_version);
		if (rc < 0)
			fail(&r, rc, "another schema change is being published to every shard: "
			     "retry the block");
		else
			gate = true;
		if (rc < 0)
			stamp(&r, &r.st);
	}
	if (rc == 0 && ctx->edit != NULL) {
		rc = eval_schema_edit_commit(ctx, env, &res->new_schema, &r.st);
		if (rc < 0)
			stamp(&r, &r.st);
	}
	if (rc < 0) {
		/* Nothing may undo bytes an engine still writes. */
		if (SCPP_UNLIKELY(ctx->nacopy > 0))
			eval_acopy_wait_all(&r);
		undo_to(&r, 0);
		eval_schema_edit_drop(ctx);
		if (gate)
			scpp_schema_pub_abandon(env->pub, env->worker);
		reply_abort(&r, w, mark, res, rc);
		goto out;
	}

	/* Project the returned variables. Rows and statuses must fit both the
	 * writer and max_result, leaving room for END. */
	/* w->size >= 512 (checked above) and max_result >= 128
	 * (SCPP_EVAL_MIN_RESULT): no underflow. */
	limit_len = SCPP_MIN(w->size, (size_t)ctx->lim.max_result) - 64;
	{
		size_t saved_size = w->size;

		w->size = SCPP_MAX(limit_len, w->len);
		/* No returned variables: no ROW records (END has the count). */
		for (size_t i = 0; rc == 0 && b->nret > 0 && i < r.ncur; i++) {
			const struct row *row = row_at(&r, r.cur, i);

			/* Every variable returned in order and bound: the row's
			 * values are the record's. */
			if (b->ret_all && ctx->status_vars == 0 &&
			    row->bound == (b->nvars == 64 ? UINT64_MAX
							  : (UINT64_C(1) << b->nvars) - 1)) {
				if (scpp_wire_reply_row(w, row->v) < 0)
					rc = -SCPP_E_LIMIT_RESULT;
				continue;
			}
			for (uint16_t j = 0; j < b->nret; j++) {
				uint8_t v = b->ret[j];

				if ((ctx->status_vars >> v) & 1)
					vals[j] = scpp_value_u64(ctx->status_count[v]);
				else if ((row->bound >> v) & 1)
					vals[j] = row->v[v];
				else
					vals[j] = scpp_value_nil();
			}
			if (scpp_wire_reply_row(w, vals) < 0)
				rc = -SCPP_E_LIMIT_RESULT;
		}
		for (uint32_t i = 0; rc == 0 && i < ctx->nstat; i++)
			if (scpp_status_encode(w, ctx->stat[i].oid, &ctx->stat[i].st) < 0)
				rc = -SCPP_E_LIMIT_RESULT;
		if (rc == 0 && r.cres &&
		    eval_cres_write(ctx, w, env->copier != NULL ? env->copier->engine : NULL) < 0)
			rc = -SCPP_E_LIMIT_RESULT;
		w->size = saved_size;
	}
	if (rc < 0)
		fail(&r, rc, "result exceeds %zu bytes", limit_len);
	/* Last, since nothing may undo the block after it: new names. */
	if (rc == 0 && ctx->npend > 0)
		rc = names_commit(&r);
	if (rc < 0) {
		r.cmd_index = b->ncmds;
		stamp(&r, &r.st);
		undo_to(&r, 0);
		scpp_schema_free(res->new_schema);
		res->new_schema = NULL;
		if (gate)
			scpp_schema_pub_abandon(env->pub, env->worker);
		reply_abort(&r, w, mark, res, rc);
		goto out;
	}
	if (gate)
		scpp_schema_pub_submit(env->pub, env->worker, res->new_schema);
	for (uint16_t v = 0; ctx->status_vars != 0 && v < b->nvars; v++)
		res->statuses += ctx->status_count[v];
	res->outcome = res->statuses > 0 ? SCPP_OUTCOME_ERRORS : SCPP_OUTCOME_OK;
	/* END's errno under ERRORS: the first collected status's errno (the
	 * first failure, whether or not its record was kept). */
	if (res->statuses > 0 && ctx->nstat > 0)
		res->err = ctx->stat[0].st.err;
	res->rows = r.ncur;

out:
	if (SCPP_UNLIKELY(ctx->nacopy > 0))
		eval_acopy_release(&r);
	/* What the block detached (committed, or revived by an abort) may now
	 * be freed; free a bounded share of it, so garbage never outlives a
	 * few blocks and no block pays for more than SCPP_EVAL_RECLAIM. */
	scpp_store_end_block(env->store, SCPP_EVAL_RECLAIM);
	res->commands = ctx->commands_done;
	res->steps = ctx->steps;
	SCPP_VERIFY(scpp_wire_reply_end_ex(w, res->err, res->outcome, res->rows, res->commands,
					   env->clock_ns != NULL ? env->clock_ns() - ctx->t0 : 0,
					   res->statuses) == 0);
	return 0;
}

/* ------------------------------------------- services for eval_expr.c */

/*
 * The commands and operators of eval_expr.c run on the same per-block
 * state as the ones above. These wrappers export exactly the helpers they
 * use, under the module prefix, so that struct run stays private to this
 * file.
 */

const struct scpp_wire_block *
eval_run_block(const struct run *r)
{
	return r->b;
}

const struct scpp_eval_env *
eval_run_env(const struct run *r)
{
	return r->env;
}

struct scpp_eval_ctx *
eval_run_ctx(const struct run *r)
{
	return r->ctx;
}

void
eval_run_term(const struct run *r, const struct row *row, uint16_t ti, struct eval_tv *out)
{
	struct tv t;

	resolve(r, row, ti, &t);
	out->bound = t.bound;
	out->is_var = t.is_var;
	out->var = t.is_var ? t.var : 0;
	out->v = t.bound ? t.v : scpp_value_nil();
}

int
eval_run_fail(struct run *r, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = failv(r, code, fmt, ap);
	va_end(ap);
	return code;
}

int
eval_run_step(struct run *r, uint64_t n)
{
	return step(r, n);
}

int
eval_run_charge(struct run *r, uint64_t n)
{
	return charge_bytes(r, n);
}

void *
eval_run_alloc(struct run *r, size_t n)
{
	return arena_alloc(r, n);
}

struct row *
eval_run_emit(struct run *r, const struct row *in)
{
	return emit(r, in);
}

void
eval_run_bind_owned(struct row *o, uint8_t var, const struct scpp_value *v)
{
	o->v[var] = *v;
	o->bound |= UINT64_C(1) << var;
}

int
eval_run_missing(struct run *r, struct scpp_oid e)
{
	return missing(r, e);
}

bool
eval_run_local(const struct run *r, struct scpp_oid e)
{
	return is_local(r, e);
}

int64_t
eval_run_attr_id(struct run *r, const struct scpp_value *name, bool intern)
{
	struct tv t = {.bound = true, .var = 0, .is_var = true, .v = *name};

	/* is_var: a computed name, so no per-term cache slot is touched. */
	return attr_id(r, 0, &t, intern);
}

int
eval_run_target(struct run *r, const struct row *in, uint16_t te, uint16_t ta, bool intern,
		struct scpp_oid *e, int64_t *aid)
{
	struct scpp_value key;
	bool keyed;
	int rc = target(r, in, te, ta, intern, e, aid, &keyed, &key);

	if (rc < 0)
		return rc;
	if (keyed || *aid == AID_ENTITY)
		return fail(r, -SCPP_E_TYPE, "%s needs a plain attribute",
			    scpp_wire_op_name[r->b->cmd[r->cmd_index].op]);
	return 0;
}

int
eval_run_not_here(struct run *r, struct scpp_oid e)
{
	return not_here(r, e);
}

int
eval_run_target_key(struct run *r, const struct row *in, uint16_t te, uint16_t ta, bool intern,
		    struct scpp_oid *e, int64_t *aid, bool *keyed, struct scpp_value *key)
{
	return target(r, in, te, ta, intern, e, aid, keyed, key);
}

void
eval_run_collect(struct run *r, const struct scpp_wire_cmd *cmd)
{
	collect(r, cmd);
}

void
eval_run_stamp(struct run *r, struct scpp_status *st)
{
	stamp(r, st);
}

int
eval_run_len(struct run *r, const struct row *in, uint16_t ti, const char *what, uint64_t *out)
{
	return want_len(r, in, ti, what, out);
}

struct undo *
eval_run_undo(struct run *r, uint8_t kind, struct scpp_oid oid, uint32_t attr)
{
	return undo_push(r, kind, oid, attr);
}

void
eval_run_undo_drop(struct run *r, uint32_t mark)
{
	r->ctx->nundo = mark;
}

int
eval_run_store_fail(struct run *r, int rc, const char *op, struct scpp_oid e, int64_t aid)
{
	return store_fail(r, rc, op, e, aid);
}

int
eval_run_not_found(struct run *r, const char *op, struct scpp_oid e, int64_t aid)
{
	return not_found(r, op, e, aid);
}

int
eval_run_schema_refused(struct run *r, const char *op, struct scpp_oid e, int64_t aid)
{
	return schema_write_refused(r, op, e, aid);
}

struct scpp_status *
eval_run_status(struct run *r)
{
	return &r->st;
}

int
scpp_eval_block(struct scpp_eval_ctx *ctx, const struct scpp_eval_env *env,
		const struct scpp_wire_block *b, uint64_t block_id,
		struct scpp_wire_reply_writer *w, struct scpp_eval_result *res)
{
	return run_block(ctx, env, b, block_id, w, res, NULL, NULL, -1, 0, NULL);
}

int
scpp_eval_block_ex(struct scpp_eval_ctx *ctx, const struct scpp_eval_env *env,
		   const struct scpp_wire_block *b, uint64_t block_id,
		   struct scpp_wire_reply_writer *w, struct scpp_eval_result *res,
		   const struct scpp_eval_hooks *hooks, struct scpp_eval_susp *s)
{
	if (s != NULL && s->active)
		return -EINVAL;
	return run_block(ctx, env, b, block_id, w, res, hooks, s, -1, 0, NULL);
}

int
scpp_eval_resume(struct scpp_eval_ctx *ctx, const struct scpp_eval_env *env,
		 const struct scpp_wire_block *b, uint64_t block_id,
		 struct scpp_wire_reply_writer *w, struct scpp_eval_result *res,
		 const struct scpp_eval_hooks *hooks, struct scpp_eval_susp *s, uint16_t from)
{
	size_t stride = sizeof(struct row) + (size_t)b->nvars * sizeof(struct scpp_value);

	if (s == NULL || !s->active || from < s->next_cmd || from > b->ncmds ||
	    s->nvars != b->nvars || s->stride != stride)
		return -EINVAL;
	return run_block(ctx, env, b, block_id, w, res, hooks, s, from, 0, NULL);
}

int
scpp_eval_resume_abort(struct scpp_eval_ctx *ctx, const struct scpp_eval_env *env,
		       const struct scpp_wire_block *b, uint64_t block_id,
		       struct scpp_wire_reply_writer *w, struct scpp_eval_result *res,
		       struct scpp_eval_susp *s, int code, const char *msg)
{
	size_t stride = sizeof(struct row) + (size_t)b->nvars * sizeof(struct scpp_value);

	if (s == NULL || !s->active || code >= 0 || s->nvars != b->nvars || s->stride != stride)
		return -EINVAL;
	return run_block(ctx, env, b, block_id, w, res, NULL, s, s->next_cmd, code, msg);
}

bool
scpp_eval_susp_held(const struct scpp_eval_susp *s)
{
	return s != NULL && s->active && s->held;
}
