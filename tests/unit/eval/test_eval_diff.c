/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Differential test of lib/eval: random blocks run through scpp_eval_block()
 * and through a deliberately naive reference interpreter of docs/PROTOCOL.md
 * "Block semantics", from the same store state; results and final states
 * must be identical.
 *
 * Design notes
 * ------------
 * - Universe: five entities with fixed OIDs plus whatever blocks create,
 *   attribute names from {a, b, c, m, type, nope, x}, values from a small
 *   domain (small i64s, 1u, a few strings including a two-byte UTF-8 one,
 *   short bytes, true, the entities' OIDs and one OID that does not exist).
 *   Random blocks of 1-6 commands are printed as text, parsed by lib/lang
 *   and evaluated on a real shard (libc memory provider, no schema).
 * - The reference runs the generator's own form of the block (not the parsed
 *   wire block) over a plain model of the shard: one array of attributes
 *   (entity, name, plain value or "map") and one of map entries, both in
 *   insertion order, searched with linear scans; binding tables are arrays of
 *   rows. Every check of a row happens before the row changes anything, so a
 *   failed row needs no undo, and an abort returns the copy of the state
 *   taken before the block. No cleverness: nested loops and copies.
 * - Both sides start from the same state: the model is read back from the
 *   real shard through the store API (entity, attribute and map iterators)
 *   after every block, once it has been compared.
 * - Compared: outcome; abort errno name and command index; collected
 *   statuses (errno names and command indexes, in collection order) and
 *   their exact count; columns; rows (in order); END rows and commands; the
 *   full final state (entities, attributes in enumeration order, map entries
 *   in insertion order; after an abort as sets, since restoring moves a
 *   deleted attribute to the end of its entity's order).
 *
 * Entity order
 * ------------
 * A search with an unbound entity runs in entity order, which is creation
 * order (docs/PROTOCOL.md §15; an aborted delete puts the entity back in
 * its place). The reference keeps its entities in that order: the snapshot
 * reads them in the store's order, and entities a block creates go last,
 * in the order they are created.
 * Minted OIDs are predicted from the shard's generator, probed before each
 * block by minting and deleting one entity: minting is sequential.
 *
 * Schema: a third run loads the shipped schema (core + posix) without
 * materialising it, so the universe stays untyped and the reference
 * models the schema's rules for untyped data: `type` must hold the OID of
 * a Type (none is in the universe, so every write of it is EINVAL, a copy
 * creating it too), and `create` of an undeclared type is ENOENT.
 *
 * Limits: the main run uses the default limits and keeps blocks far below
 * them (the generator bounds the row fan-out). A second run uses tiny limits
 * and checks that a limit abort leaves the state exactly as it was, that the
 * row limit fires exactly when the reference's table outgrows it, and
 * compares everything else as in the main run.
 *
 * Computation (docs/PROTOCOL.md §8.1, §15 "Computation"): blocks also hold
 * let, where, assert, write and resize commands, and any command may carry
 * a guard. Expressions are random trees of every operator (up to 3 deep),
 * biased towards well-typed ones; the reference evaluates them with its own
 * naive code (its own value order, integer arithmetic, FNV-1a over its own
 * encoder, chain walk and scan), and now() reads one clock value per block
 * that both sides are given.
 *
 * SCPP_EVAL_DIFF_BLOCKS and SCPP_EVAL_DIFF_SEED override the block count and
 * the seed (for long runs and for reproducing one failure).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scpp_test.h"
#include "eval_fixture.h"
#include "scpp_status.h"

/* ------------------------------------------------------------------ values */

#define RV_MAXB 48 /* longest str/bytes value the model holds */

/*
 * Integers computed by expressions can reach a length or an offset, so a
 * block can ask for a long value. The reference models lengths up to
 * RV_MAXB; lengths of 2^32 and more are a limit abort on the real side
 * (REF_LIMIT_BYTES, whatever the status variables: the budget of
 * max_bytes is 16 MiB), and anything in between sets model_overflow: the
 * block is not compared and the episode ends.
 */
#define REF_HUGE (UINT64_C(1) << 32)
static const char REF_LIMIT_BYTES[] = "EFBIG";
static bool model_overflow;
static bool episode_abandoned;

/* A value the reference owns (no borrowed pointers). */
struct rv {
	uint8_t type; /* enum scpp_value_type */
	uint8_t len;
	bool b;
	int64_t i;
	uint64_t u;
	struct scpp_oid oid;
	uint8_t p[RV_MAXB];
};

static struct rv
rv_nil(void)
{
	struct rv v;

	memset(&v, 0, sizeof(v));
	return v;
}

static struct rv
rv_i(int64_t i)
{
	struct rv v = rv_nil();

	v.type = SCPP_VT_I64;
	v.i = i;
	return v;
}

static struct rv
rv_u(uint64_t u)
{
	struct rv v = rv_nil();

	v.type = SCPP_VT_U64;
	v.u = u;
	return v;
}

static struct rv
rv_bool(bool b)
{
	struct rv v = rv_nil();

	v.type = SCPP_VT_BOOL;
	v.b = b;
	return v;
}

static struct rv
rv_mem(uint8_t type, const void *p, size_t len)
{
	struct rv v = rv_nil();

	if (len > RV_MAXB) {
		model_overflow = true;
		len = RV_MAXB;
	}
	v.type = type;
	v.len = (uint8_t)len;
	if (len > 0)
		memcpy(v.p, p, len);
	return v;
}

static struct rv
rv_s(const char *s)
{
	return rv_mem(SCPP_VT_STR, s, strlen(s));
}

static struct rv
rv_oid(struct scpp_oid o)
{
	struct rv v = rv_nil();

	v.type = SCPP_VT_OID;
	v.oid = o;
	return v;
}

static bool
rv_eq(const struct rv *a, const struct rv *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case SCPP_VT_NIL:
		return true;
	case SCPP_VT_BOOL:
		return a->b == b->b;
	case SCPP_VT_I64:
		return a->i == b->i;
	case SCPP_VT_U64:
		return a->u == b->u;
	case SCPP_VT_STR:
	case SCPP_VT_BYTES:
		return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
	case SCPP_VT_OID:
		return a->oid.hi == b->oid.hi && a->oid.lo == b->oid.lo;
	default:
		return false;
	}
}

static struct scpp_value
rv_value(const struct rv *v)
{
	switch (v->type) {
	case SCPP_VT_BOOL:
		return scpp_value_bool(v->b);
	case SCPP_VT_I64:
		return scpp_value_i64(v->i);
	case SCPP_VT_U64:
		return scpp_value_u64(v->u);
	case SCPP_VT_STR:
		return scpp_value_str((const char *)v->p, v->len);
	case SCPP_VT_BYTES:
		return scpp_value_bytes(v->p, v->len);
	case SCPP_VT_OID:
		return scpp_value_oid(v->oid);
	default:
		return scpp_value_nil();
	}
}

static struct rv
rv_from(const struct scpp_value *s)
{
	switch (s->type) {
	case SCPP_VT_NIL:
		return rv_nil();
	case SCPP_VT_BOOL:
		return rv_bool(s->b);
	case SCPP_VT_I64:
		return rv_i(s->i);
	case SCPP_VT_U64:
		return rv_u(s->u);
	case SCPP_VT_STR:
	case SCPP_VT_BYTES:
		return rv_mem(s->type, s->p, s->len);
	case SCPP_VT_OID:
		return rv_oid(s->oid);
	default:
		fprintf(stderr, "diff: unexpected value type %u\n", s->type);
		abort();
	}
}

static const char *
rv_fmt(char *buf, size_t size, const struct rv *v)
{
	struct scpp_value s = rv_value(v);

	scpp_value_format(buf, size, &s);
	return buf;
}

static bool
rv_is_name(const struct rv *v)
{
	return v->type == SCPP_VT_STR && v->len > 0;
}

static bool
rv_len(const struct rv *v, uint64_t *n)
{
	if (v->type == SCPP_VT_U64) {
		*n = v->u;
		return true;
	}
	if (v->type == SCPP_VT_I64 && v->i >= 0) {
		*n = (uint64_t)v->i;
		return true;
	}
	return false;
}

static bool
utf8_ok(const uint8_t *p, size_t n)
{
	return scpp_utf8_valid(p, n);
}

/* ------------------------------------------------------------------- model */

#define M_ENT 4096
#define M_TRI 16384
#define M_ME 16384

struct m_ent {
	struct scpp_oid oid;
	double key; /* entity order: creation order */
};

/* One attribute of one entity: a plain value, or a map (entries in me[]). */
struct m_tri {
	struct scpp_oid e;
	struct rv a;
	bool is_map;
	struct rv v;
};

struct m_me {
	struct scpp_oid e;
	struct rv a;
	struct rv k;
	struct rv v;
};

/* The store as the reference sees it. Array order is insertion order
 * (per entity for attributes, per map for entries). */
struct model {
	int ne, nt, nm;
	struct m_ent ent[M_ENT];
	struct m_tri tri[M_TRI];
	struct m_me me[M_ME];
};

static void
model_copy(struct model *dst, const struct model *src)
{
	dst->ne = src->ne;
	dst->nt = src->nt;
	dst->nm = src->nm;
	memcpy(dst->ent, src->ent, (size_t)src->ne * sizeof(src->ent[0]));
	memcpy(dst->tri, src->tri, (size_t)src->nt * sizeof(src->tri[0]));
	memcpy(dst->me, src->me, (size_t)src->nm * sizeof(src->me[0]));
}

static bool
oid_eq(struct scpp_oid a, struct scpp_oid b)
{
	return a.hi == b.hi && a.lo == b.lo;
}

static int
ent_find(const struct model *m, struct scpp_oid o)
{
	for (int i = 0; i < m->ne; i++)
		if (oid_eq(m->ent[i].oid, o))
			return i;
	return -1;
}

static int
tri_find(const struct model *m, struct scpp_oid e, const struct rv *a)
{
	for (int i = 0; i < m->nt; i++)
		if (oid_eq(m->tri[i].e, e) && rv_eq(&m->tri[i].a, a))
			return i;
	return -1;
}

static int
me_find(const struct model *m, struct scpp_oid e, const struct rv *a, const struct rv *k)
{
	for (int i = 0; i < m->nm; i++)
		if (oid_eq(m->me[i].e, e) && rv_eq(&m->me[i].a, a) && rv_eq(&m->me[i].k, k))
			return i;
	return -1;
}

static void
model_full(const char *what)
{
	fprintf(stderr, "diff: model out of %s\n", what);
	abort();
}

static void
m_add_ent(struct model *m, struct scpp_oid o, double key)
{
	if (m->ne >= M_ENT)
		model_full("entities");
	m->ent[m->ne].oid = o;
	m->ent[m->ne].key = key;
	m->ne++;
}

static void
m_add_tri(struct model *m, struct scpp_oid e, const struct rv *a, bool is_map,
	  const struct rv *v)
{
	if (m->nt >= M_TRI)
		model_full("attributes");
	m->tri[m->nt].e = e;
	m->tri[m->nt].a = *a;
	m->tri[m->nt].is_map = is_map;
	m->tri[m->nt].v = is_map ? rv_nil() : *v;
	m->nt++;
}

static void
m_add_me(struct model *m, struct scpp_oid e, const struct rv *a, const struct rv *k,
	 const struct rv *v)
{
	if (m->nm >= M_ME)
		model_full("map entries");
	m->me[m->nm].e = e;
	m->me[m->nm].a = *a;
	m->me[m->nm].k = *k;
	m->me[m->nm].v = *v;
	m->nm++;
}

/* Set a plain attribute: replace in place, or append. */
static void
m_set(struct model *m, struct scpp_oid e, const struct rv *a, const struct rv *v)
{
	int t = tri_find(m, e, a);

	if (t >= 0)
		m->tri[t].v = *v;
	else
		m_add_tri(m, e, a, false, v);
}

/* Set a map entry, creating the map attribute if needed. */
static void
m_map_set(struct model *m, struct scpp_oid e, const struct rv *a, const struct rv *k,
	  const struct rv *v)
{
	int x;

	if (tri_find(m, e, a) < 0)
		m_add_tri(m, e, a, true, NULL);
	x = me_find(m, e, a, k);
	if (x >= 0)
		m->me[x].v = *v;
	else
		m_add_me(m, e, a, k, v);
}

static void
m_del_me_at(struct model *m, int x)
{
	memmove(&m->me[x], &m->me[x + 1], (size_t)(m->nm - x - 1) * sizeof(m->me[0]));
	m->nm--;
}

static void
m_del_attr(struct model *m, struct scpp_oid e, const struct rv *a)
{
	int t = tri_find(m, e, a);

	if (t < 0)
		return;
	memmove(&m->tri[t], &m->tri[t + 1], (size_t)(m->nt - t - 1) * sizeof(m->tri[0]));
	m->nt--;
	for (int x = m->nm - 1; x >= 0; x--)
		if (oid_eq(m->me[x].e, e) && rv_eq(&m->me[x].a, a))
			m_del_me_at(m, x);
}

static void
m_del_ent(struct model *m, struct scpp_oid e)
{
	int x = ent_find(m, e);

	for (int t = m->nt - 1; t >= 0; t--)
		if (oid_eq(m->tri[t].e, e)) {
			memmove(&m->tri[t], &m->tri[t + 1],
				(size_t)(m->nt - t - 1) * sizeof(m->tri[0]));
			m->nt--;
		}
	for (int k = m->nm - 1; k >= 0; k--)
		if (oid_eq(m->me[k].e, e))
			m_del_me_at(m, k);
	if (x >= 0) {
		memmove(&m->ent[x], &m->ent[x + 1], (size_t)(m->ne - x - 1) * sizeof(m->ent[0]));
		m->ne--;
	}
}

/* Entity indexes of @m in entity order (insertion sort by key: naive). */
static int
ent_order(const struct model *m, int *idx)
{
	for (int i = 0; i < m->ne; i++) {
		int j = i;

		while (j > 0 && m->ent[idx[j - 1]].key > m->ent[i].key) {
			idx[j] = idx[j - 1];
			j--;
		}
		idx[j] = i;
	}
	return m->ne;
}

/* ------------------------------------------------------- reading the shard */

/* Read the whole shard into @m, through the store API only. */
static void
snapshot(const struct scpp_store *s, const struct scpp_store_dict *d, struct model *m)
{
	struct scpp_store_attr at[16];
	struct scpp_value keys[16], vals[16];
	uint64_t cur = 0, c;
	struct scpp_oid o;
	int n;

	m->ne = m->nt = m->nm = 0;
	for (;;) {
		if (scpp_store_entity_iter(s, &cur, &o, 1) != 1)
			break;
		m_add_ent(m, o, (double)m->ne);
		if (cur == UINT64_MAX)
			break;
	}
	for (int i = 0; i < m->ne; i++) {
		int first = m->nt;

		c = 0;
		while ((n = scpp_store_attr_iter(s, m->ent[i].oid, &c, at, 16)) > 0) {
			for (int j = 0; j < n; j++) {
				size_t len = 0;
				const char *name = scpp_store_dict_name(d, at[j].attr, &len);
				struct rv a = rv_mem(SCPP_VT_STR, name, len);
				struct rv v = at[j].is_map ? rv_nil() : rv_from(&at[j].value);

				m_add_tri(m, m->ent[i].oid, &a, at[j].is_map != 0, &v);
			}
			if (c == UINT64_MAX)
				break;
		}
		for (int t = first, nt = m->nt; t < nt; t++) {
			int64_t id;

			if (!m->tri[t].is_map)
				continue;
			id = scpp_store_dict_lookup(d, (const char *)m->tri[t].a.p, m->tri[t].a.len);
			c = 0;
			while ((n = scpp_store_map_iter(s, m->ent[i].oid, (uint32_t)id, &c, keys, vals,
							16)) > 0) {
				for (int j = 0; j < n; j++) {
					struct rv k = rv_from(&keys[j]), v = rv_from(&vals[j]);

					m_add_me(m, m->ent[i].oid, &m->tri[t].a, &k, &v);
				}
				if (c == UINT64_MAX)
					break;
			}
		}
	}
}

/* ------------------------------------------------------------------ blocks */

#define NV 10        /* v0..v7 and the status variables s0, s1 */
#define NV_PLAIN 8
#define MAX_CMDS 6

enum { TK_CONST, TK_VAR };

struct term {
	uint8_t kind;
	uint8_t var;
	struct rv c;
};

/* An address: value(e, a) inside up to two offset(..., off). */
struct addr {
	struct term e, a;
	int noff;
	struct term off[2];
};

/* An expression: a leaf term (op 0), or an operator over k[]; read()'s
 * first operand is the address @addr. Nodes come from a pool reset per
 * block. */
struct xnode {
	uint8_t op;
	struct term leaf;
	struct addr addr;
	struct xnode *k[3];
};

#define X_POOL 4096

static struct xnode x_pool[X_POOL];
static int x_used;

/* What now() reads: one value per block, given to both sides. */
static int64_t diff_now;

struct gcmd {
	uint8_t op;            /* SCPP_OP_* */
	bool keyed;            /* a is a[k] */
	bool del_entity;       /* del e */
	struct term e, a, k, v; /* create: e = destination, v = type; alloc, resize: v = length;
				* let: e = destination; assert: v = errno; write: v = data */
	struct addr dst, src;  /* copy; write: dst */
	struct term n;         /* copy length */
	struct xnode *x;       /* let, where, assert */
	struct xnode *guard;   /* `when`, or NULL */
	int status;            /* status variable, or -1 */
};

struct gblock {
	int ncmd;
	struct gcmd c[MAX_CMDS];
	bool has_ret;
	int nret;
	uint8_t ret[NV];
	int ncols;             /* returned variables, as the parser sees them */
	uint8_t col[NV];
};

static const char *const var_name[NV] = {"v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7",
					 "s0", "s1"};

/* Printer that records the order in which variables first appear. */
struct pr {
	char *buf;
	size_t size, len;
	uint32_t seen;
	int norder;
	uint8_t order[NV];
};

static void
pr_put(struct pr *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(p->buf + p->len, p->size - p->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= p->size - p->len) {
		fprintf(stderr, "diff: block text too long\n");
		abort();
	}
	p->len += (size_t)n;
}

static void
pr_var(struct pr *p, int var)
{
	if (!(p->seen & (1u << var))) {
		p->seen |= 1u << var;
		p->order[p->norder++] = (uint8_t)var;
	}
	pr_put(p, "%%%s", var_name[var]);
}

static void
pr_term(struct pr *p, const struct term *t)
{
	char buf[160];

	if (t->kind == TK_VAR)
		pr_var(p, t->var);
	else
		pr_put(p, "%s", rv_fmt(buf, sizeof(buf), &t->c));
}

static void
pr_attr(struct pr *p, const struct gcmd *c)
{
	pr_term(p, &c->a);
	if (c->keyed) {
		pr_put(p, "[");
		pr_term(p, &c->k);
		pr_put(p, "]");
	}
}

static void
pr_addr(struct pr *p, const struct addr *a)
{
	for (int i = 0; i < a->noff; i++)
		pr_put(p, "offset(");
	pr_put(p, "value(");
	pr_term(p, &a->e);
	pr_put(p, ", ");
	pr_term(p, &a->a);
	pr_put(p, ")");
	for (int i = 0; i < a->noff; i++) {
		pr_put(p, ", ");
		pr_term(p, &a->off[i]);
		pr_put(p, ")");
	}
}

static void
pr_expr(struct pr *p, const struct xnode *x)
{
	const struct scpp_wire_xop_info *xi;

	if (x->op == 0) {
		pr_term(p, &x->leaf);
		return;
	}
	xi = &scpp_wire_xops[x->op];
	pr_put(p, "%s(", xi->name);
	for (unsigned int i = 0; i < xi->arity; i++) {
		if (i > 0)
			pr_put(p, ", ");
		if (xi->pos[i] == SCPP_POS_ADDR)
			pr_addr(p, &x->addr);
		else
			pr_expr(p, x->k[i]);
	}
	pr_put(p, ")");
}

/* Print @g as text; sets g->col (the columns the parser will return). */
static void
print_block(struct gblock *g, char *buf, size_t size)
{
	struct pr p = {.buf = buf, .size = size};

	buf[0] = '\0';
	for (int i = 0; i < g->ncmd; i++) {
		const struct gcmd *c = &g->c[i];

		switch (c->op) {
		case SCPP_OP_GET:
		case SCPP_OP_SET:
		case SCPP_OP_ALLOC:
			pr_put(&p, "%s ", c->op == SCPP_OP_GET ? "get"
				       : c->op == SCPP_OP_SET ? "set" : "alloc");
			pr_term(&p, &c->e);
			pr_put(&p, " ");
			pr_attr(&p, c);
			pr_put(&p, " ");
			pr_term(&p, &c->v);
			break;
		case SCPP_OP_DEL:
			pr_put(&p, "del ");
			pr_term(&p, &c->e);
			if (!c->del_entity) {
				pr_put(&p, " ");
				pr_attr(&p, c);
			}
			break;
		case SCPP_OP_CREATE:
			pr_put(&p, "create ");
			pr_term(&p, &c->e);
			pr_put(&p, " ");
			pr_term(&p, &c->v);
			break;
		case SCPP_OP_COPY:
			pr_put(&p, "copy ");
			pr_addr(&p, &c->dst);
			pr_put(&p, " ");
			pr_addr(&p, &c->src);
			pr_put(&p, " ");
			pr_term(&p, &c->n);
			break;
		case SCPP_OP_LET:
			pr_put(&p, "let ");
			pr_term(&p, &c->e);
			pr_put(&p, " ");
			pr_expr(&p, c->x);
			break;
		case SCPP_OP_WHERE:
			pr_put(&p, "where ");
			pr_expr(&p, c->x);
			break;
		case SCPP_OP_ASSERT:
			pr_put(&p, "assert ");
			pr_expr(&p, c->x);
			pr_put(&p, " ");
			pr_term(&p, &c->v);
			break;
		case SCPP_OP_WRITE:
			pr_put(&p, "write ");
			pr_addr(&p, &c->dst);
			pr_put(&p, " ");
			pr_term(&p, &c->v);
			break;
		case SCPP_OP_RESIZE:
			pr_put(&p, "resize ");
			pr_term(&p, &c->e);
			pr_put(&p, " ");
			pr_term(&p, &c->a);
			pr_put(&p, " ");
			pr_term(&p, &c->v);
			break;
		default:
			abort();
		}
		if (c->guard != NULL) {
			pr_put(&p, " when ");
			pr_expr(&p, c->guard);
		}
		if (c->status >= 0) {
			pr_put(&p, " !");
			pr_var(&p, c->status);
		}
		pr_put(&p, "\n");
	}
	if (g->has_ret) {
		pr_put(&p, "return");
		for (int i = 0; i < g->nret; i++) {
			pr_put(&p, " ");
			pr_var(&p, g->ret[i]);
		}
		pr_put(&p, "\n");
		g->ncols = g->nret;
		memcpy(g->col, g->ret, (size_t)g->nret);
	} else {
		g->ncols = p.norder;
		memcpy(g->col, p.order, (size_t)p.norder);
	}
}

/* ----------------------------------------------------------------- results */

#define MAX_ST 300

struct rstat {
	char name[24];
	int cmd;
	int var;      /* the status variable (reference side) */
};

/* What a block did, on either side. */
struct result {
	int outcome;
	char abort_name[24];
	int abort_cmd;
	bool bad_var;           /* reference: aborted by the status-variable check */
	int ncols;
	char col[NV][8];
	size_t nrows, cap;
	struct rv *rows;        /* nrows x ncols */
	uint64_t end_rows, commands, st_total;
	uint32_t end_err;
	int nst;
	struct rstat st[MAX_ST];
	size_t peak;            /* reference: largest table after any command */
	int nstatus_records;    /* real: STATUS records in the reply */
	bool bad_reply;
};

static void
result_reset(struct result *r)
{
	struct rv *rows = r->rows;
	size_t cap = r->cap;

	memset(r, 0, sizeof(*r));
	r->rows = rows;
	r->cap = cap;
}

static struct rv *
result_row(struct result *r)
{
	size_t w = r->ncols > 0 ? (size_t)r->ncols : 1;

	/* cap counts values, not rows: the buffer is kept across blocks of
	 * different widths. */
	while ((r->nrows + 1) * w > r->cap) {
		r->cap = r->cap ? r->cap * 2 : 256;
		r->rows = realloc(r->rows, r->cap * sizeof(struct rv));
		if (r->rows == NULL)
			abort();
	}
	return &r->rows[r->nrows++ * w];
}

static void
result_status(struct result *r, const char *name, int cmd, int var)
{
	r->st_total++;
	if (r->nst >= MAX_ST)
		return;
	snprintf(r->st[r->nst].name, sizeof(r->st[0].name), "%s", name);
	r->st[r->nst].cmd = cmd;
	r->st[r->nst].var = var;
	r->nst++;
}

/* --------------------------------------------------------- the reference */

struct rrow {
	uint32_t bound;
	struct rv v[NV];
};

struct rtab {
	size_t n, cap;
	struct rrow *r;
};

static void
tab_push(struct rtab *t, const struct rrow *row)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->r = realloc(t->r, t->cap * sizeof(*t->r));
		if (t->r == NULL)
			abort();
	}
	t->r[t->n++] = *row;
}

struct ref {
	struct model *m;            /* the state, changed as commands run */
	struct scpp_oid next_oid;   /* next OID the shard mints */
	int created;                /* entities created so far in the block */
	bool schema;                /* the shipped schema is loaded (see below) */
	struct rtab tab[2];
	uint32_t max_statuses;
	int64_t now;                /* what now() reads in this block */
};

/* A term resolved in one row. */
struct tv {
	bool bound;
	int var;
	struct rv v;
};

static void
resolve(const struct term *t, const struct rrow *row, struct tv *out)
{
	out->var = -1;
	if (t->kind == TK_CONST) {
		out->bound = true;
		out->v = t->c;
		return;
	}
	out->var = t->var;
	out->bound = (row->bound >> t->var) & 1;
	if (out->bound)
		out->v = row->v[t->var];
}

/* Bind @var in @o, or check it agrees with an earlier binding in the same
 * command. Returns false when the row does not match. */
static bool
bind(struct rrow *o, int var, const struct rv *v)
{
	if (o->bound & (1u << var))
		return rv_eq(&o->v[var], v);
	o->v[var] = *v;
	o->bound |= 1u << var;
	return true;
}

struct getq {
	struct tv e, a, k, v;
	bool keyed;
};

/* One match of a get: filter the value, bind the unbound positions in the
 * order e, a, k, v, and emit the row. */
static void
get_match(struct rtab *out, const struct rrow *in, const struct getq *q, struct scpp_oid e,
	  const struct rv *name, const struct rv *key, const struct rv *val)
{
	struct rrow o;
	struct rv eo = rv_oid(e);

	if (q->v.bound && !rv_eq(&q->v.v, val))
		return;
	o = *in;
	if (!q->e.bound && !bind(&o, q->e.var, &eo))
		return;
	if (!q->a.bound && !bind(&o, q->a.var, name))
		return;
	if (q->keyed && !q->k.bound && !bind(&o, q->k.var, key))
		return;
	if (!q->v.bound && !bind(&o, q->v.var, val))
		return;
	tab_push(out, &o);
}

/* All matches on one entity when some key position is unbound (a search:
 * misses yield nothing). */
static void
get_search_entity(struct ref *R, struct rtab *out, const struct rrow *in,
		  const struct getq *q, struct scpp_oid e)
{
	const struct model *m = R->m;

	for (int t = 0; t < m->nt; t++) {
		const struct m_tri *tr = &m->tri[t];

		if (!oid_eq(tr->e, e))
			continue;
		if (q->a.bound && !rv_eq(&tr->a, &q->a.v))
			continue;
		if (!q->keyed) {
			if (!tr->is_map)
				get_match(out, in, q, e, &tr->a, NULL, &tr->v);
			continue;
		}
		if (!tr->is_map)
			continue;
		for (int x = 0; x < m->nm; x++) {
			const struct m_me *me = &m->me[x];

			if (!oid_eq(me->e, e) || !rv_eq(&me->a, &tr->a))
				continue;
			if (q->k.bound && !rv_eq(&me->k, &q->k.v))
				continue;
			get_match(out, in, q, e, &tr->a, &me->k, &me->v);
		}
	}
}

static const char *
ref_get(struct ref *R, const struct gcmd *c, const struct rrow *in, struct rtab *out)
{
	const struct model *m = R->m;
	struct getq q;
	int idx[M_ENT];

	memset(&q, 0, sizeof(q));
	q.keyed = c->keyed;
	resolve(&c->e, in, &q.e);
	resolve(&c->a, in, &q.a);
	if (c->keyed)
		resolve(&c->k, in, &q.k);
	resolve(&c->v, in, &q.v);
	if (q.e.bound && q.e.v.type != SCPP_VT_OID)
		return "EINVAL";
	if (q.a.bound && !rv_is_name(&q.a.v))
		return "EINVAL";
	if (q.e.bound && q.a.bound && (!q.keyed || q.k.bound)) {
		/* Every key position determined: a miss is an error. */
		struct scpp_oid e = q.e.v.oid;
		int t, x;

		if (ent_find(m, e) < 0)
			return "ENOENT";
		t = tri_find(m, e, &q.a.v);
		if (t < 0)
			return "ENOENT";
		if (!q.keyed) {
			if (m->tri[t].is_map)
				return "EMEDIUMTYPE";
			get_match(out, in, &q, e, &q.a.v, NULL, &m->tri[t].v);
			return NULL;
		}
		if (!m->tri[t].is_map)
			return "EMEDIUMTYPE";
		x = me_find(m, e, &q.a.v, &q.k.v);
		if (x < 0)
			return "ENOENT";
		get_match(out, in, &q, e, &q.a.v, &q.k.v, &m->me[x].v);
		return NULL;
	}
	if (q.e.bound) {
		if (ent_find(m, q.e.v.oid) >= 0)
			get_search_entity(R, out, in, &q, q.e.v.oid);
		return NULL;
	}
	ent_order(m, idx);
	for (int i = 0; i < m->ne; i++)
		get_search_entity(R, out, in, &q, m->ent[idx[i]].oid);
	return NULL;
}

/*
 * `get %s a v` over a status variable: one candidate per status it holds
 * so far, in collection order; the fields modelled are errno_name and
 * command (the generator names only those, or a name no status has).
 */
static const char *
ref_get_statuses(const struct result *res, const struct gcmd *c, const struct rrow *in,
		 struct rtab *out)
{
	struct tv a, v;

	resolve(&c->a, in, &a);
	resolve(&c->v, in, &v);
	if (c->keyed || !a.bound || !rv_is_name(&a.v))
		return NULL;
	for (int i = 0; i < res->nst; i++) {
		struct rv f;
		struct rrow o;

		if (res->st[i].var != c->e.var)
			continue;
		if (a.v.len == 10 && memcmp(a.v.p, "errno_name", 10) == 0)
			f = rv_s(res->st[i].name);
		else if (a.v.len == 7 && memcmp(a.v.p, "command", 7) == 0)
			f = rv_u((uint64_t)res->st[i].cmd);
		else
			continue;
		if (v.bound) {
			if (rv_eq(&v.v, &f))
				tab_push(out, in);
			continue;
		}
		o = *in;
		o.v[v.var] = f;
		o.bound |= 1u << v.var;
		tab_push(out, &o);
	}
	return NULL;
}

/* Entity and attribute of a mutating command: both must be determined,
 * the entity an OID and the attribute a non-empty string. */
static const char *
ref_target(const struct term *te, const struct term *ta, const struct term *tk, bool keyed,
	   const struct rrow *in, struct scpp_oid *e, struct rv *a, struct rv *k)
{
	struct tv t;

	resolve(te, in, &t);
	if (!t.bound || t.v.type != SCPP_VT_OID)
		return "EINVAL";
	*e = t.v.oid;
	if (keyed) {
		resolve(tk, in, &t);
		if (!t.bound)
			return "EINVAL";
		*k = t.v;
	}
	resolve(ta, in, &t);
	if (!t.bound || !rv_is_name(&t.v))
		return "EINVAL";
	*a = t.v;
	return NULL;
}

static const char *
ref_set(struct ref *R, const struct gcmd *c, const struct rrow *in)
{
	struct model *m = R->m;
	struct scpp_oid e;
	struct rv a, k;
	struct tv v;
	const char *err = ref_target(&c->e, &c->a, &c->k, c->keyed, in, &e, &a, &k);
	int t;

	if (err != NULL)
		return err;
	resolve(&c->v, in, &v);
	if (!v.bound)
		return "EINVAL";
	if (ent_find(m, e) < 0)
		return "ENOENT";
	/* With the schema, `type` must hold the OID of a Type; the universe
	 * has none, so every write of it is refused (and a map under it is
	 * not a Hash attribute). */
	if (R->schema && a.len == 4 && memcmp(a.p, "type", 4) == 0)
		return "EINVAL";
	t = tri_find(m, e, &a);
	if (!c->keyed) {
		if (t >= 0 && m->tri[t].is_map)
			return "EMEDIUMTYPE";
		m_set(m, e, &a, &v.v);
		return NULL;
	}
	if (t >= 0 && !m->tri[t].is_map)
		return "EMEDIUMTYPE";
	m_map_set(m, e, &a, &k, &v.v);
	return NULL;
}

static const char *
ref_del(struct ref *R, const struct gcmd *c, const struct rrow *in)
{
	struct model *m = R->m;
	struct scpp_oid e;
	struct rv a, k;
	const char *err;
	struct tv t;
	int x;

	/* A variable holding nil names the entity itself, as the constant
	 * does (docs/PROTOCOL.md §15 "del"). */
	memset(&t, 0, sizeof(t));
	resolve(&c->a, in, &t);
	if (c->del_entity || (!c->keyed && t.bound && t.v.type == SCPP_VT_NIL)) {
		resolve(&c->e, in, &t);
		if (!t.bound || t.v.type != SCPP_VT_OID)
			return "EINVAL";
		if (ent_find(m, t.v.oid) < 0)
			return "ENOENT";
		m_del_ent(m, t.v.oid);
		return NULL;
	}
	err = ref_target(&c->e, &c->a, &c->k, c->keyed, in, &e, &a, &k);
	if (err != NULL)
		return err;
	if (ent_find(m, e) < 0)
		return "ENOENT";
	x = tri_find(m, e, &a);
	if (x < 0)
		return "ENOENT";
	if (!c->keyed) {
		m_del_attr(m, e, &a);
		return NULL;
	}
	if (!m->tri[x].is_map)
		return "EMEDIUMTYPE";
	x = me_find(m, e, &a, &k);
	if (x < 0)
		return "ENOENT";
	m_del_me_at(m, x);
	return NULL;
}

/* Created entities follow every existing one, in creation order. */
static double
created_key(struct ref *R)
{
	return 1e12 + R->created++;
}

static const char *
ref_create(struct ref *R, const struct gcmd *c, const struct rrow *in, struct rtab *out)
{
	struct rv ta = rv_s("type");
	struct rrow o;
	struct tv d, t;
	struct scpp_oid e;

	resolve(&c->e, in, &d);
	resolve(&c->v, in, &t);
	if (d.bound)
		return "EEXIST";
	if (!t.bound)
		return "EINVAL";
	if (R->schema)
		return "ENOENT"; /* no type of the shipped schema is in the universe */
	e = R->next_oid;
	R->next_oid.lo++;
	m_add_ent(R->m, e, created_key(R));
	m_set(R->m, e, &ta, &t.v);
	o = *in;
	o.v[d.var] = rv_oid(e);
	o.bound |= 1u << d.var;
	tab_push(out, &o);
	return NULL;
}

static const char *
ref_alloc(struct ref *R, const struct gcmd *c, const struct rrow *in)
{
	static const uint8_t zero[RV_MAXB];
	struct model *m = R->m;
	struct scpp_oid e;
	struct rv a, k, z;
	struct tv n;
	uint64_t len;
	const char *err = ref_target(&c->e, &c->a, &c->k, false, in, &e, &a, &k);

	if (err != NULL)
		return err;
	resolve(&c->v, in, &n);
	if (!n.bound || !rv_len(&n.v, &len))
		return "EINVAL";
	if (ent_find(m, e) < 0)
		return "ENOENT";
	if (tri_find(m, e, &a) >= 0)
		return "EEXIST";
	if (len >= REF_HUGE)
		return REF_LIMIT_BYTES;
	z = rv_mem(SCPP_VT_BYTES, zero, len);
	m_set(m, e, &a, &z);
	return NULL;
}

/* Resolve an address: entity, attribute and offset, all determined. */
static const char *
ref_addr(const struct addr *ad, const struct rrow *in, struct scpp_oid *e, struct rv *a,
	 uint64_t *off)
{
	struct rv k;
	struct tv t;
	uint64_t n;
	const char *err = ref_target(&ad->e, &ad->a, NULL, false, in, e, a, &k);

	if (err != NULL)
		return err;
	*off = 0;
	for (int i = 0; i < ad->noff; i++) {
		resolve(&ad->off[i], in, &t);
		if (!t.bound || !rv_len(&t.v, &n))
			return "EINVAL";
		if (*off + n < *off)
			return "ERANGE";
		*off += n;
	}
	return NULL;
}

static const char *
ref_copy(struct ref *R, const struct gcmd *c, const struct rrow *in)
{
	struct model *m = R->m;
	struct scpp_oid de, se;
	struct rv da, sa, nv;
	uint64_t doff, soff, len;
	uint8_t buf[RV_MAXB];
	const char *err;
	struct tv n;
	int st, dt;

	if ((err = ref_addr(&c->src, in, &se, &sa, &soff)) != NULL)
		return err;
	if ((err = ref_addr(&c->dst, in, &de, &da, &doff)) != NULL)
		return err;
	resolve(&c->n, in, &n);
	if (!n.bound || !rv_len(&n.v, &len))
		return "EINVAL";
	/* The source: a str or bytes value with the range inside it. */
	if (ent_find(m, se) < 0)
		return "ENOENT";
	st = tri_find(m, se, &sa);
	if (st < 0)
		return "ENOENT";
	if (m->tri[st].is_map || (m->tri[st].v.type != SCPP_VT_STR &&
				  m->tri[st].v.type != SCPP_VT_BYTES))
		return "EMEDIUMTYPE";
	if (soff > m->tri[st].v.len || len > m->tri[st].v.len - soff)
		return "ERANGE";
	memcpy(buf, m->tri[st].v.p + soff, len);
	/* The destination. */
	if (ent_find(m, de) < 0)
		return "ENOENT";
	dt = tri_find(m, de, &da);
	if (dt < 0) {
		if (doff != 0)
			return "ENOENT";
		/* A str value is UTF-8 (lib/value; replies carrying one that is
		 * not do not decode), so a new str destination must be valid
		 * too, as an existing one must stay valid. */
		if (m->tri[st].v.type == SCPP_VT_STR && !utf8_ok(buf, len))
			return "EILSEQ";
		if (R->schema && da.len == 4 && memcmp(da.p, "type", 4) == 0)
			return "EINVAL"; /* a byte string is not a Type's OID */
		nv = rv_mem(m->tri[st].v.type, buf, len);
		m_set(m, de, &da, &nv);
		return NULL;
	}
	if (m->tri[dt].is_map || (m->tri[dt].v.type != SCPP_VT_STR &&
				  m->tri[dt].v.type != SCPP_VT_BYTES))
		return "EMEDIUMTYPE";
	if (doff > m->tri[dt].v.len || len > m->tri[dt].v.len - doff)
		return "ERANGE";
	nv = m->tri[dt].v;
	memcpy(nv.p + doff, buf, len);
	if (nv.type == SCPP_VT_STR && !utf8_ok(nv.p, nv.len))
		return "EILSEQ";
	m->tri[dt].v = nv;
	return NULL;
}

/* ------------------------------------------- the reference: computation */

static bool
rv_is_int(const struct rv *v)
{
	return v->type == SCPP_VT_I64 || v->type == SCPP_VT_U64;
}

static bool
rv_is_bytes(const struct rv *v)
{
	return v->type == SCPP_VT_STR || v->type == SCPP_VT_BYTES;
}

static __int128
rv_wide(const struct rv *v)
{
	return v->type == SCPP_VT_I64 ? (__int128)v->i : (__int128)v->u;
}

/* Integers by value; everything else by type tag, then within the type
 * (docs/PROTOCOL.md §4; the universe has no f64). */
static int
rv_order(const struct rv *a, const struct rv *b)
{
	if (rv_is_int(a) && rv_is_int(b)) {
		__int128 x = rv_wide(a), y = rv_wide(b);

		return x < y ? -1 : x > y;
	}
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	switch (a->type) {
	case SCPP_VT_BOOL:
		return (int)a->b - (int)b->b;
	case SCPP_VT_STR:
	case SCPP_VT_BYTES:
		for (int i = 0; i < a->len && i < b->len; i++)
			if (a->p[i] != b->p[i])
				return a->p[i] < b->p[i] ? -1 : 1;
		return a->len < b->len ? -1 : a->len > b->len;
	case SCPP_VT_OID:
		if (a->oid.hi != b->oid.hi)
			return a->oid.hi < b->oid.hi ? -1 : 1;
		return a->oid.lo < b->oid.lo ? -1 : a->oid.lo > b->oid.lo;
	default:
		return 0;
	}
}

static size_t
leb(uint8_t *out, uint64_t x)
{
	size_t n = 0;

	do {
		out[n] = (uint8_t)(x & 0x7f);
		x >>= 7;
		if (x != 0)
			out[n] |= 0x80;
		n++;
	} while (x != 0);
	return n;
}

/* FNV-1a 64 over the value's encoding, written out the long way. */
static uint64_t
rv_hash(const struct rv *v)
{
	uint8_t e[16 + RV_MAXB];
	size_t n = 0;
	uint64_t h = 14695981039346656037ull;

	e[n++] = v->type;
	switch (v->type) {
	case SCPP_VT_BOOL:
		e[n++] = v->b;
		break;
	case SCPP_VT_I64:
		n += leb(e + n, ((uint64_t)v->i << 1) ^ (uint64_t)(v->i >> 63));
		break;
	case SCPP_VT_U64:
		n += leb(e + n, v->u);
		break;
	case SCPP_VT_STR:
	case SCPP_VT_BYTES: {
		size_t len = v->len < RV_MAXB ? v->len : RV_MAXB; /* rv_mem() bounds it */

		n += leb(e + n, len);
		memcpy(e + n, v->p, len);
		n += len;
		break;
	}
	case SCPP_VT_OID:
		for (int i = 0; i < 8; i++)
			e[n++] = (uint8_t)(v->oid.hi >> (8 * i));
		for (int i = 0; i < 8; i++)
			e[n++] = (uint8_t)(v->oid.lo >> (8 * i));
		break;
	default:
		break;
	}
	for (size_t i = 0; i < n; i++)
		h = (h ^ e[i]) * 1099511628211ull;
	return h;
}

/* An integer result of type @p type, or ERANGE. */
static const char *
rv_int_of(uint8_t type, __int128 x, struct rv *out)
{
	if (type == SCPP_VT_U64) {
		if (x < 0 || x > (__int128)UINT64_MAX)
			return "ERANGE";
		*out = rv_u((uint64_t)x);
		return NULL;
	}
	if (x < (__int128)INT64_MIN || x > (__int128)INT64_MAX)
		return "ERANGE";
	*out = rv_i((int64_t)x);
	return NULL;
}

static const char *rx(struct ref *R, const struct xnode *x, const struct rrow *in, struct rv *out);

static const char *
rx_int(struct ref *R, const struct xnode *x, const struct rrow *in, struct rv *out)
{
	const char *err = rx(R, x, in, out);

	return err != NULL ? err : rv_is_int(out) ? NULL : "EINVAL";
}

static const char *
rx_bool(struct ref *R, const struct xnode *x, const struct rrow *in, bool *out)
{
	struct rv v;
	const char *err = rx(R, x, in, &v);

	if (err != NULL)
		return err;
	if (v.type != SCPP_VT_BOOL)
		return "EINVAL";
	*out = v.b;
	return NULL;
}

/* The entity operand of a store operator: an OID of an entity here. */
static const char *
rx_entity(struct ref *R, const struct xnode *x, const struct rrow *in, struct scpp_oid *e)
{
	struct rv v;
	const char *err = rx(R, x, in, &v);

	if (err != NULL)
		return err;
	if (v.type != SCPP_VT_OID)
		return "EINVAL";
	if (ent_find(R->m, v.oid) < 0)
		return "ENOENT";
	*e = v.oid;
	return NULL;
}

static const char *
rx_name(struct ref *R, const struct xnode *x, const struct rrow *in, struct rv *a)
{
	const char *err = rx(R, x, in, a);

	return err != NULL ? err : rv_is_name(a) ? NULL : "EINVAL";
}

/* |a * b| exactly, as an unsigned 128-bit product of magnitudes. */
static const char *
rx_mul(const struct rv *a, const struct rv *b, struct rv *out)
{
	__int128 x = rv_wide(a), y = rv_wide(b);
	unsigned __int128 mx = x < 0 ? (unsigned __int128)(-x) : (unsigned __int128)x;
	unsigned __int128 my = y < 0 ? (unsigned __int128)(-y) : (unsigned __int128)y;
	unsigned __int128 m = mx * my; /* < 2^128: exact */
	bool neg = (x < 0) != (y < 0) && m != 0;

	if (m > (unsigned __int128)UINT64_MAX + 1)
		return "ERANGE";
	return rv_int_of(a->type, neg ? -(__int128)m : (__int128)m, out);
}

static const char *
rx(struct ref *R, const struct xnode *x, const struct rrow *in, struct rv *out)
{
	const struct model *m = R->m;
	struct rv a, b, c;
	struct scpp_oid e;
	const char *err;
	bool p, q;
	struct tv t;
	int ti;

	if (x->op == 0) {
		resolve(&x->leaf, in, &t);
		if (!t.bound)
			return "EINVAL";
		*out = t.v;
		return NULL;
	}
	switch (x->op) {
	case SCPP_XOP_ADD:
	case SCPP_XOP_SUB:
	case SCPP_XOP_MUL:
	case SCPP_XOP_DIV:
	case SCPP_XOP_MOD:
		if ((err = rx_int(R, x->k[0], in, &a)) || (err = rx_int(R, x->k[1], in, &b)))
			return err;
		if (x->op == SCPP_XOP_ADD)
			return rv_int_of(a.type, rv_wide(&a) + rv_wide(&b), out);
		if (x->op == SCPP_XOP_SUB)
			return rv_int_of(a.type, rv_wide(&a) - rv_wide(&b), out);
		if (x->op == SCPP_XOP_MUL)
			return rx_mul(&a, &b, out);
		if (rv_wide(&b) == 0)
			return "EDOM";
		return rv_int_of(a.type, x->op == SCPP_XOP_DIV ? rv_wide(&a) / rv_wide(&b)
							       : rv_wide(&a) % rv_wide(&b), out);
	case SCPP_XOP_BAND:
	case SCPP_XOP_BOR:
	case SCPP_XOP_BXOR:
	case SCPP_XOP_SHL:
	case SCPP_XOP_SHR: {
		uint64_t pa, pb, r;

		if ((err = rx_int(R, x->k[0], in, &a)) || (err = rx_int(R, x->k[1], in, &b)))
			return err;
		pa = a.type == SCPP_VT_I64 ? (uint64_t)a.i : a.u;
		pb = b.type == SCPP_VT_I64 ? (uint64_t)b.i : b.u;
		if (x->op == SCPP_XOP_BAND)
			r = pa & pb;
		else if (x->op == SCPP_XOP_BOR)
			r = pa | pb;
		else if (x->op == SCPP_XOP_BXOR)
			r = pa ^ pb;
		else if (rv_wide(&b) < 0 || rv_wide(&b) > 63)
			return "ERANGE";
		else if (x->op == SCPP_XOP_SHL)
			r = pa << pb;
		else if (a.type == SCPP_VT_U64)
			r = pa >> pb;
		else /* arithmetic: shift in copies of the sign bit */
			r = (pa >> pb) | (a.i < 0 && pb > 0 ? ~(UINT64_MAX >> pb) : 0);
		*out = a.type == SCPP_VT_I64 ? rv_i((int64_t)r) : rv_u(r);
		return NULL;
	}
	case SCPP_XOP_MIN:
	case SCPP_XOP_MAX:
	case SCPP_XOP_EQ:
	case SCPP_XOP_NE:
	case SCPP_XOP_LT:
	case SCPP_XOP_LE:
	case SCPP_XOP_GT:
	case SCPP_XOP_GE: {
		int o;

		if ((err = rx(R, x->k[0], in, &a)) || (err = rx(R, x->k[1], in, &b)))
			return err;
		o = rv_order(&a, &b);
		switch (x->op) {
		case SCPP_XOP_MIN: *out = o <= 0 ? a : b; break;
		case SCPP_XOP_MAX: *out = o >= 0 ? a : b; break;
		case SCPP_XOP_EQ: *out = rv_bool(o == 0); break;
		case SCPP_XOP_NE: *out = rv_bool(o != 0); break;
		case SCPP_XOP_LT: *out = rv_bool(o < 0); break;
		case SCPP_XOP_LE: *out = rv_bool(o <= 0); break;
		case SCPP_XOP_GT: *out = rv_bool(o > 0); break;
		default: *out = rv_bool(o >= 0); break;
		}
		return NULL;
	}
	case SCPP_XOP_AND:
	case SCPP_XOP_OR:
		if ((err = rx_bool(R, x->k[0], in, &p)))
			return err;
		if (p == (x->op == SCPP_XOP_OR)) {
			*out = rv_bool(p);
			return NULL;
		}
		if ((err = rx_bool(R, x->k[1], in, &q)))
			return err;
		*out = rv_bool(q);
		return NULL;
	case SCPP_XOP_NOT:
		if ((err = rx_bool(R, x->k[0], in, &p)))
			return err;
		*out = rv_bool(!p);
		return NULL;
	case SCPP_XOP_IF:
		if ((err = rx_bool(R, x->k[0], in, &p)))
			return err;
		return rx(R, x->k[p ? 1 : 2], in, out);
	case SCPP_XOP_LEN:
		if ((err = rx(R, x->k[0], in, &a)))
			return err;
		if (!rv_is_bytes(&a))
			return "EINVAL";
		*out = rv_u(a.len);
		return NULL;
	case SCPP_XOP_NOW:
		*out = rv_i(R->now);
		return NULL;
	case SCPP_XOP_HASH:
		if ((err = rx(R, x->k[0], in, &a)))
			return err;
		*out = rv_u(rv_hash(&a));
		return NULL;
	case SCPP_XOP_VAL:
	case SCPP_XOP_ENTRY:
	case SCPP_XOP_CARD:
	case SCPP_XOP_LENGTH:
		if ((err = rx_entity(R, x->k[0], in, &e)) || (err = rx_name(R, x->k[1], in, &a)))
			return err;
		if (x->op == SCPP_XOP_ENTRY && (err = rx(R, x->k[2], in, &c)))
			return err;
		ti = tri_find(m, e, &a);
		if (x->op == SCPP_XOP_CARD) {
			int n = 0;

			if (ti >= 0 && !m->tri[ti].is_map)
				n = 1;
			for (int i = 0; ti >= 0 && m->tri[ti].is_map && i < m->nm; i++)
				n += oid_eq(m->me[i].e, e) && rv_eq(&m->me[i].a, &a);
			*out = rv_u((uint64_t)n);
			return NULL;
		}
		if (ti < 0) {
			*out = x->op == SCPP_XOP_LENGTH ? rv_u(0) : rv_nil();
			return NULL;
		}
		if (x->op == SCPP_XOP_ENTRY) {
			int me;

			if (!m->tri[ti].is_map)
				return "EMEDIUMTYPE";
			me = me_find(m, e, &a, &c);
			*out = me >= 0 ? m->me[me].v : rv_nil();
			return NULL;
		}
		if (m->tri[ti].is_map)
			return "EMEDIUMTYPE";
		if (x->op == SCPP_XOP_LENGTH) {
			if (!rv_is_bytes(&m->tri[ti].v))
				return "EMEDIUMTYPE";
			*out = rv_u(m->tri[ti].v.len);
			return NULL;
		}
		*out = m->tri[ti].v;
		return NULL;
	case SCPP_XOP_REACH:
		if ((err = rx_entity(R, x->k[0], in, &e)) || (err = rx_name(R, x->k[1], in, &a)) ||
		    (err = rx(R, x->k[2], in, &c)))
			return err;
		for (int hops = 0;; hops++) {
			if (c.type == SCPP_VT_OID && oid_eq(c.oid, e)) {
				*out = rv_bool(true);
				return NULL;
			}
			if (hops == SCPP_EVAL_REACH_MAX)
				return "ELOOP";
			ti = tri_find(m, e, &a);
			if (ti < 0 || m->tri[ti].is_map || m->tri[ti].v.type != SCPP_VT_OID ||
			    oid_eq(m->tri[ti].v.oid, e) || ent_find(m, m->tri[ti].v.oid) < 0)
				break;
			e = m->tri[ti].v.oid;
		}
		*out = rv_bool(false);
		return NULL;
	case SCPP_XOP_FIND: {
		int idx[M_ENT];

		if ((err = rx_name(R, x->k[0], in, &a)) || (err = rx(R, x->k[1], in, &b)))
			return err;
		ent_order(m, idx);
		*out = rv_nil();
		for (int i = 0; i < m->ne; i++) {
			ti = tri_find(m, m->ent[idx[i]].oid, &a);
			if (ti >= 0 && !m->tri[ti].is_map && rv_eq(&m->tri[ti].v, &b)) {
				*out = rv_oid(m->ent[idx[i]].oid);
				break;
			}
		}
		return NULL;
	}
	case SCPP_XOP_READ: {
		uint64_t off, n;

		if ((err = ref_addr(&x->addr, in, &e, &a, &off)) || (err = rx_int(R, x->k[1], in, &b)))
			return err;
		if (rv_wide(&b) < 0)
			return "EINVAL";
		if (ent_find(m, e) < 0)
			return "ENOENT";
		ti = tri_find(m, e, &a);
		*out = rv_mem(SCPP_VT_BYTES, "", 0);
		if (ti < 0)
			return NULL;
		if (m->tri[ti].is_map || !rv_is_bytes(&m->tri[ti].v))
			return "EMEDIUMTYPE";
		if (off >= m->tri[ti].v.len)
			return NULL;
		n = (uint64_t)rv_wide(&b);
		if (n > m->tri[ti].v.len - off)
			n = m->tri[ti].v.len - off;
		*out = rv_mem(SCPP_VT_BYTES, m->tri[ti].v.p + off, n);
		return NULL;
	}
	default:
		abort();
	}
}

static const char *
ref_let(struct ref *R, const struct gcmd *c, const struct rrow *in, struct rtab *out)
{
	struct rrow o;
	struct tv d;
	struct rv v;
	const char *err;

	resolve(&c->e, in, &d);
	if ((err = rx(R, c->x, in, &v)) != NULL)
		return err;
	if (d.bound) {
		if (rv_eq(&d.v, &v))
			tab_push(out, in);
		return NULL;
	}
	o = *in;
	o.v[d.var] = v;
	o.bound |= 1u << d.var;
	tab_push(out, &o);
	return NULL;
}

static const char *
ref_where(struct ref *R, const struct gcmd *c, const struct rrow *in, struct rtab *out)
{
	bool keep;
	const char *err = rx_bool(R, c->x, in, &keep);

	if (err == NULL && keep)
		tab_push(out, in);
	return err;
}

static const char *
ref_assert(struct ref *R, const struct gcmd *c, const struct rrow *in)
{
	uint64_t n = 0;
	bool ok;
	struct tv t;
	const char *err = rx_bool(R, c->x, in, &ok);

	if (err != NULL)
		return err;
	resolve(&c->v, in, &t);
	if (!t.bound)
		return "EINVAL";
	if (t.v.type == SCPP_VT_STR)
		n = scpp_errno_by_name((const char *)t.v.p, t.v.len);
	else if (!rv_len(&t.v, &n) || n > UINT32_MAX)
		return "EINVAL";
	if (n == 0 || scpp_errno_name((uint32_t)n) == NULL)
		return "EINVAL";
	return ok ? NULL : scpp_errno_name((uint32_t)n);
}

static const char *
ref_write(struct ref *R, const struct gcmd *c, const struct rrow *in)
{
	static const uint8_t zero[RV_MAXB];
	struct model *m = R->m;
	struct scpp_oid e;
	struct rv a, nv;
	uint64_t off;
	struct tv d;
	const char *err = ref_addr(&c->dst, in, &e, &a, &off);
	int t;

	if (err != NULL)
		return err;
	resolve(&c->v, in, &d);
	if (!d.bound || !rv_is_bytes(&d.v))
		return "EINVAL";
	if (ent_find(m, e) < 0)
		return "ENOENT";
	if (off > UINT64_MAX - d.v.len)
		return "ERANGE";
	t = tri_find(m, e, &a);
	if (t < 0) {
		if (off + d.v.len >= REF_HUGE)
			return REF_LIMIT_BYTES;
		if (R->schema && a.len == 4 && memcmp(a.p, "type", 4) == 0)
			return "EINVAL"; /* bytes are not a Type's OID */
		nv = rv_mem(SCPP_VT_BYTES, zero, off + d.v.len);
		if (model_overflow)
			return NULL;
		memcpy(nv.p + off, d.v.p, d.v.len);
		m_set(m, e, &a, &nv);
		return NULL;
	}
	if (m->tri[t].is_map || !rv_is_bytes(&m->tri[t].v))
		return "EMEDIUMTYPE";
	if (off + d.v.len >= REF_HUGE)
		return REF_LIMIT_BYTES;
	nv = m->tri[t].v;
	if (off + d.v.len > nv.len) {
		if (off + d.v.len > RV_MAXB) {
			model_overflow = true;
			return NULL;
		}
		memset(nv.p + nv.len, 0, off + d.v.len - nv.len);
		nv.len = (uint8_t)(off + d.v.len);
	}
	memcpy(nv.p + off, d.v.p, d.v.len);
	if (nv.type == SCPP_VT_STR && !utf8_ok(nv.p, nv.len))
		return "EILSEQ";
	m->tri[t].v = nv;
	return NULL;
}

static const char *
ref_resize(struct ref *R, const struct gcmd *c, const struct rrow *in)
{
	static const uint8_t zero[RV_MAXB];
	struct model *m = R->m;
	struct scpp_oid e;
	struct rv a, k, nv;
	uint64_t n;
	struct tv l;
	const char *err = ref_target(&c->e, &c->a, NULL, false, in, &e, &a, &k);
	int t;

	if (err != NULL)
		return err;
	resolve(&c->v, in, &l);
	if (!l.bound || !rv_len(&l.v, &n))
		return "EINVAL";
	if (ent_find(m, e) < 0)
		return "ENOENT";
	t = tri_find(m, e, &a);
	if (t < 0) {
		if (n >= REF_HUGE)
			return REF_LIMIT_BYTES;
		if (R->schema && a.len == 4 && memcmp(a.p, "type", 4) == 0)
			return "EINVAL";
		nv = rv_mem(SCPP_VT_BYTES, zero, n);
		m_set(m, e, &a, &nv);
		return NULL;
	}
	if (m->tri[t].is_map || !rv_is_bytes(&m->tri[t].v))
		return "EMEDIUMTYPE";
	nv = m->tri[t].v;
	if (n == nv.len)
		return NULL;
	if (n >= REF_HUGE)
		return REF_LIMIT_BYTES;
	if (n > RV_MAXB) {
		model_overflow = true;
		return NULL;
	}
	if (n > nv.len)
		memset(nv.p + nv.len, 0, n - nv.len);
	nv.len = (uint8_t)n;
	if (nv.type == SCPP_VT_STR && !utf8_ok(nv.p, nv.len))
		return "EILSEQ";
	m->tri[t].v = nv;
	return NULL;
}

static uint32_t
term_vars(const struct term *t)
{
	return t->kind == TK_VAR ? 1u << t->var : 0;
}

static uint32_t
addr_vars(const struct addr *a)
{
	uint32_t m = term_vars(&a->e) | term_vars(&a->a);

	for (int i = 0; i < a->noff; i++)
		m |= term_vars(&a->off[i]);
	return m;
}

static uint32_t
x_vars(const struct xnode *x)
{
	uint32_t m = 0;

	if (x == NULL)
		return 0;
	if (x->op == 0)
		return term_vars(&x->leaf);
	if (x->op == SCPP_XOP_READ)
		m |= addr_vars(&x->addr);
	for (unsigned int i = 0; i < scpp_wire_xops[x->op].arity; i++)
		if (scpp_wire_xops[x->op].pos[i] == SCPP_POS_EXPR)
			m |= x_vars(x->k[i]);
	return m;
}

/* Variables in positions a status variable may not take: everything but
 * the entity of a get (where it ranges over its statuses). */
static uint32_t
cmd_term_vars(const struct gcmd *c)
{
	uint32_t g = x_vars(c->guard);

	switch (c->op) {
	case SCPP_OP_COPY:
		return g | addr_vars(&c->dst) | addr_vars(&c->src) | term_vars(&c->n);
	case SCPP_OP_LET:
		return g | term_vars(&c->e) | x_vars(c->x);
	case SCPP_OP_WHERE:
		return g | x_vars(c->x);
	case SCPP_OP_ASSERT:
		return g | x_vars(c->x) | term_vars(&c->v);
	case SCPP_OP_WRITE:
		return g | addr_vars(&c->dst) | term_vars(&c->v);
	default:
		break;
	}
	return g | (c->op == SCPP_OP_GET ? 0 : term_vars(&c->e)) |
	       (c->del_entity ? 0 : term_vars(&c->a)) |
	       (c->keyed ? term_vars(&c->k) : 0) |
	       (c->op == SCPP_OP_DEL ? 0 : term_vars(&c->v));
}

/* Does a failure of @p op under a status variable drop its row? */
static bool
op_drops_row(uint8_t op)
{
	return op == SCPP_OP_GET || op == SCPP_OP_CREATE || op == SCPP_OP_LET ||
	       op == SCPP_OP_WHERE || op == SCPP_OP_ASSERT;
}

/* Does @p op put its output rows in the table itself? */
static bool
op_emits(uint8_t op)
{
	return op == SCPP_OP_GET || op == SCPP_OP_CREATE || op == SCPP_OP_LET ||
	       op == SCPP_OP_WHERE;
}

/*
 * Run @g on a copy of @before, literally as docs/PROTOCOL.md says: one row,
 * every variable unbound; each command once per row; errors with a status
 * variable are collected (the row kept for set/del/alloc/copy, dropped for
 * get/create), errors without one abort and restore @before.
 */
static void
ref_run(struct ref *R, const struct gblock *g, const struct model *before, struct result *res)
{
	uint32_t svars = 0, tvars = 0, count[NV] = {0};
	struct rtab *cur = &R->tab[0], *next = &R->tab[1];
	struct rrow zero;

	model_copy(R->m, before);
	result_reset(res);
	R->created = 0;
	res->ncols = g->ncols;
	for (int i = 0; i < g->ncols; i++)
		snprintf(res->col[i], sizeof(res->col[i]), "%s", var_name[g->col[i]]);
	for (int i = 0; i < g->ncmd; i++) {
		if (g->c[i].status >= 0)
			svars |= 1u << g->c[i].status;
		tvars |= cmd_term_vars(&g->c[i]);
	}
	if (svars & tvars) {
		res->outcome = SCPP_OUTCOME_ABORTED;
		snprintf(res->abort_name, sizeof(res->abort_name), "EINVAL");
		res->bad_var = true;
		return;
	}
	memset(&zero, 0, sizeof(zero));
	cur->n = 0;
	tab_push(cur, &zero);
	res->peak = 1;
	for (int ci = 0; ci < g->ncmd; ci++) {
		const struct gcmd *c = &g->c[ci];

		next->n = 0;
		for (size_t ri = 0; ri < cur->n; ri++) {
			const struct rrow *in = &cur->r[ri];
			size_t mark = next->n;
			const char *err = NULL;

			res->commands++;
			if (c->guard != NULL) {
				bool run = false;

				err = rx_bool(R, c->guard, in, &run);
				if (err == NULL && !run) {
					tab_push(next, in); /* skipped: the row goes on */
					continue;
				}
			}
			if (err == NULL)
			switch (c->op) {
			case SCPP_OP_GET:
				if (c->e.kind == TK_VAR && (svars & (1u << c->e.var)))
					err = ref_get_statuses(res, c, in, next);
				else
					err = ref_get(R, c, in, next);
				break;
			case SCPP_OP_SET:
				err = ref_set(R, c, in);
				break;
			case SCPP_OP_DEL:
				err = ref_del(R, c, in);
				break;
			case SCPP_OP_CREATE:
				err = ref_create(R, c, in, next);
				break;
			case SCPP_OP_ALLOC:
				err = ref_alloc(R, c, in);
				break;
			case SCPP_OP_COPY:
				err = ref_copy(R, c, in);
				break;
			case SCPP_OP_LET:
				err = ref_let(R, c, in, next);
				break;
			case SCPP_OP_WHERE:
				err = ref_where(R, c, in, next);
				break;
			case SCPP_OP_ASSERT:
				err = ref_assert(R, c, in);
				break;
			case SCPP_OP_WRITE:
				err = ref_write(R, c, in);
				break;
			case SCPP_OP_RESIZE:
				err = ref_resize(R, c, in);
				break;
			}
			if (err == NULL) {
				if (!op_emits(c->op))
					tab_push(next, in);
				continue;
			}
			if (c->status < 0 || err == REF_LIMIT_BYTES) { /* limits always abort */
				res->outcome = SCPP_OUTCOME_ABORTED;
				snprintf(res->abort_name, sizeof(res->abort_name), "%s", err);
				res->abort_cmd = ci;
				model_copy(R->m, before);
				return;
			}
			next->n = mark;
			count[c->status]++;
			if (res->nst < (int)R->max_statuses)
				result_status(res, err, ci, c->status);
			else
				res->st_total++;
			if (!op_drops_row(c->op))
				tab_push(next, in);
		}
		{
			struct rtab *t = cur;

			cur = next;
			next = t;
		}
		if (cur->n > res->peak)
			res->peak = cur->n;
	}
	res->end_rows = cur->n;
	for (size_t ri = 0; g->ncols > 0 && ri < cur->n; ri++) {
		struct rv *out = result_row(res);

		for (int j = 0; j < g->ncols; j++) {
			int v = g->col[j];

			if (svars & (1u << v))
				out[j] = rv_u(count[v]);
			else if (cur->r[ri].bound & (1u << v))
				out[j] = cur->r[ri].v[v];
			else
				out[j] = rv_nil();
		}
	}
	res->outcome = res->st_total > 0 ? SCPP_OUTCOME_ERRORS : SCPP_OUTCOME_OK;
	/* Keep R->tab[0] the table that grows, for reuse. */
	if (cur != &R->tab[0]) {
		struct rtab t = R->tab[0];

		R->tab[0] = R->tab[1];
		R->tab[1] = t;
	}
}

/* ---------------------------------------------------------- the evaluator */

struct rig {
	struct fx *f;
	struct model *before, *after, *refm, *spare;
	struct result real, ref, alt;
	struct ref R;
	uint64_t seed;
	char text[8192];
	/* statistics */
	uint64_t blocks, aborted, errors, rows, mismatches, limit_aborts;
	uint64_t overflows;        /* blocks that asked for values the model cannot hold */
	uint64_t computed;         /* blocks with a let, where, assert, write, resize or guard */
	uint64_t status_reads;     /* gets over a status variable that found some */
	uint64_t ops[SCPP_OP_COUNT];
};

static void
name_copy(char *dst, size_t size, const struct scpp_wire_name *n)
{
	snprintf(dst, size, "%.*s", (int)n->len, n->p);
}

/* Parse and evaluate @text on the fixture's shard; decode the reply. */
static void
real_run(struct fx *f, const char *text, struct result *res)
{
	static struct scpp_wire_record rec;
	struct scpp_lang_error err;
	struct scpp_wire_reply_writer w;
	struct scpp_wire_reply_reader rd;
	int rc;

	result_reset(res);
	rc = scpp_lang_parse(text, strlen(text), &f->blk, f->arena, sizeof(f->arena), &err);
	if (rc != 0)
		fail_msg("diff: block does not parse (%s):\n%s", err.msg, text);
	scpp_wire_reply_writer_init(&w, f->reply, sizeof(f->reply));
	rc = scpp_eval_block(f->ctx, &f->env, &f->blk, 7, &w, &f->res);
	if (rc != 0)
		fail_msg("diff: scpp_eval_block returned %d for:\n%s", rc, text);
	f->reply_len = w.len;
	scpp_wire_reply_reader_init(&rd, f->reply, w.len);
	while ((rc = scpp_wire_reply_next(&rd, &rec)) == 1) {
		switch (rec.type) {
		case SCPP_REC_COLUMNS:
			res->ncols = rec.columns.n;
			for (int i = 0; i < rec.columns.n && i < NV; i++)
				name_copy(res->col[i], sizeof(res->col[i]), &rec.columns.name[i]);
			break;
		case SCPP_REC_ROW: {
			struct rv *out = result_row(res);

			for (int i = 0; i < rec.row.n; i++)
				out[i] = rv_from(&rec.row.v[i]);
			break;
		}
		case SCPP_REC_STATUS: {
			char name[24] = "?";
			int cmd = -1;

			for (int i = 0; i < rec.status.n; i++) {
				const struct scpp_wire_name *k = &rec.status.key[i];

				if (k->len == 10 && memcmp(k->p, "errno_name", 10) == 0)
					snprintf(name, sizeof(name), "%.*s", (int)rec.status.v[i].len,
						 (const char *)rec.status.v[i].p);
				if (k->len == 7 && memcmp(k->p, "command", 7) == 0)
					cmd = (int)rec.status.v[i].u;
			}
			res->nstatus_records++;
			if (res->nst < MAX_ST) {
				snprintf(res->st[res->nst].name, sizeof(res->st[0].name), "%s", name);
				res->st[res->nst].cmd = cmd;
				res->nst++;
			}
			break;
		}
		case SCPP_REC_END:
			res->outcome = rec.end.outcome;
			res->end_err = rec.end.err;
			res->end_rows = rec.end.rows;
			res->commands = rec.end.commands;
			break;
		}
	}
	if (rc != 0)
		res->bad_reply = true;
	res->st_total = f->res.statuses;
	if (res->outcome == SCPP_OUTCOME_ABORTED && res->nst == 1) {
		snprintf(res->abort_name, sizeof(res->abort_name), "%s", res->st[0].name);
		res->abort_cmd = res->st[0].cmd;
	}
}

/* --------------------------------------------------------------- compare */

static bool
tri_same(const struct m_tri *a, const struct m_tri *b)
{
	return oid_eq(a->e, b->e) && rv_eq(&a->a, &b->a) && a->is_map == b->is_map &&
	       rv_eq(&a->v, &b->v);
}

static bool
me_same(const struct m_me *a, const struct m_me *b)
{
	return oid_eq(a->e, b->e) && rv_eq(&a->a, &b->a) && rv_eq(&a->k, &b->k) &&
	       rv_eq(&a->v, &b->v);
}

/*
 * Same state? Entities as a set; attributes and map entries as sets and,
 * when @ordered, also in each entity's (each map's) enumeration order.
 */
static bool
state_same(const struct model *x, const struct model *y, bool ordered, char *why, size_t size)
{
	char b1[64];

	if (x->ne != y->ne || x->nt != y->nt || x->nm != y->nm) {
		snprintf(why, size, "state sizes differ: %d/%d/%d entities/attributes/entries vs %d/%d/%d",
			 x->ne, x->nt, x->nm, y->ne, y->nt, y->nm);
		return false;
	}
	for (int i = 0; i < x->ne; i++)
		if (ent_find(y, x->ent[i].oid) < 0) {
			scpp_oid_format(b1, sizeof(b1), x->ent[i].oid);
			snprintf(why, size, "entity %s missing", b1);
			return false;
		}
	for (int i = 0; i < x->nt; i++) {
		int j = tri_find(y, x->tri[i].e, &x->tri[i].a);

		if (j < 0 || !tri_same(&x->tri[i], &y->tri[j])) {
			snprintf(why, size, "attribute %d of the reference state differs", i);
			return false;
		}
	}
	for (int i = 0; i < x->nm; i++) {
		int j = me_find(y, x->me[i].e, &x->me[i].a, &x->me[i].k);

		if (j < 0 || !me_same(&x->me[i], &y->me[j])) {
			snprintf(why, size, "map entry %d of the reference state differs", i);
			return false;
		}
	}
	if (!ordered)
		return true;
	/* Per entity, the attributes in order; per map, the entries in order. */
	for (int i = 0; i < x->ne; i++) {
		struct scpp_oid e = x->ent[i].oid;
		int p = 0, q = 0;

		for (;;) {
			while (p < x->nt && !oid_eq(x->tri[p].e, e))
				p++;
			while (q < y->nt && !oid_eq(y->tri[q].e, e))
				q++;
			if (p >= x->nt || q >= y->nt)
				break;
			if (!tri_same(&x->tri[p], &y->tri[q])) {
				scpp_oid_format(b1, sizeof(b1), e);
				snprintf(why, size, "attribute order of %s differs", b1);
				return false;
			}
			p++;
			q++;
		}
		p = q = 0;
		for (;;) {
			while (p < x->nm && !oid_eq(x->me[p].e, e))
				p++;
			if (p >= x->nm)
				break;
			/* the next entry of the same map in y */
			q = 0;
			{
				int rank = 0, want = 0;

				for (int z = 0; z < p; z++)
					if (oid_eq(x->me[z].e, e) && rv_eq(&x->me[z].a, &x->me[p].a))
						want++;
				for (q = 0; q < y->nm; q++)
					if (oid_eq(y->me[q].e, e) && rv_eq(&y->me[q].a, &x->me[p].a) &&
					    rank++ == want)
						break;
				if (q >= y->nm || !me_same(&x->me[p], &y->me[q])) {
					scpp_oid_format(b1, sizeof(b1), e);
					snprintf(why, size, "map entry order of %s differs", b1);
					return false;
				}
			}
			p++;
		}
	}
	return true;
}

static bool
rows_same(const struct result *a, const struct result *b)
{
	size_t w = a->ncols > 0 ? (size_t)a->ncols : 1;

	if (a->nrows != b->nrows)
		return false;
	for (size_t i = 0; i < a->nrows * w && a->ncols > 0; i++)
		if (!rv_eq(&a->rows[i], &b->rows[i]))
			return false;
	return true;
}

/* Compare the reference's result @x (and state @mx) with the real one. */
static bool
results_same(const struct result *x, const struct model *mx, const struct result *y,
	     const struct model *my, char *why, size_t size)
{
	if (y->bad_reply) {
		snprintf(why, size, "the reply does not decode");
		return false;
	}
	if (x->outcome != y->outcome) {
		snprintf(why, size, "outcome differs");
		return false;
	}
	if (x->outcome == SCPP_OUTCOME_ABORTED) {
		const char *end_name = scpp_errno_name(y->end_err);

		if (y->nstatus_records != 1 || y->nrows != 0) {
			snprintf(why, size, "an aborted reply must hold one STATUS and no ROW");
			return false;
		}
		if (strcmp(x->abort_name, y->abort_name) != 0 ||
		    (!x->bad_var && x->abort_cmd != y->abort_cmd)) {
			snprintf(why, size, "abort status differs");
			return false;
		}
		if (end_name == NULL || strcmp(end_name, y->abort_name) != 0) {
			snprintf(why, size, "END errno does not match the STATUS errno");
			return false;
		}
		return state_same(mx, my, false, why, size);
	}
	if (x->ncols != y->ncols) {
		snprintf(why, size, "columns differ");
		return false;
	}
	for (int i = 0; i < x->ncols; i++)
		if (strcmp(x->col[i], y->col[i]) != 0) {
			snprintf(why, size, "column %d differs", i);
			return false;
		}
	if (!rows_same(x, y)) {
		snprintf(why, size, "rows differ");
		return false;
	}
	if (x->end_rows != y->end_rows || x->commands != y->commands) {
		snprintf(why, size, "END rows/commands differ: %" PRIu64 "/%" PRIu64
			 " vs %" PRIu64 "/%" PRIu64, x->end_rows, x->commands, y->end_rows,
			 y->commands);
		return false;
	}
	if (x->st_total != y->st_total || x->nst != y->nst) {
		snprintf(why, size, "status counts differ");
		return false;
	}
	for (int i = 0; i < x->nst; i++)
		if (strcmp(x->st[i].name, y->st[i].name) != 0 || x->st[i].cmd != y->st[i].cmd) {
			snprintf(why, size, "status %d differs", i);
			return false;
		}
	return state_same(mx, my, true, why, size);
}

/* ------------------------------------------------------------- reporting */

static void
dump_model(FILE *out, const struct model *m)
{
	char b1[64], b2[160], b3[160];

	for (int i = 0; i < m->ne; i++) {
		struct scpp_oid e = m->ent[i].oid;

		scpp_oid_format(b1, sizeof(b1), e);
		fprintf(out, "    %s (position %g):", b1, m->ent[i].key);
		for (int t = 0; t < m->nt; t++) {
			if (!oid_eq(m->tri[t].e, e))
				continue;
			fprintf(out, " %s=", rv_fmt(b2, sizeof(b2), &m->tri[t].a));
			if (!m->tri[t].is_map) {
				fprintf(out, "%s", rv_fmt(b2, sizeof(b2), &m->tri[t].v));
				continue;
			}
			fprintf(out, "{");
			for (int x = 0; x < m->nm; x++)
				if (oid_eq(m->me[x].e, e) && rv_eq(&m->me[x].a, &m->tri[t].a))
					fprintf(out, " %s:%s", rv_fmt(b2, sizeof(b2), &m->me[x].k),
						rv_fmt(b3, sizeof(b3), &m->me[x].v));
			fprintf(out, " }");
		}
		fprintf(out, "\n");
	}
}

static void
dump_result(FILE *out, const char *who, const struct result *r)
{
	static const char *const oc[] = {"ok", "errors", "aborted"};
	char b[160];
	size_t w = r->ncols > 0 ? (size_t)r->ncols : 1;

	fprintf(out, "  %s: outcome %s", who, r->outcome < 3 ? oc[r->outcome] : "?");
	if (r->outcome == SCPP_OUTCOME_ABORTED)
		fprintf(out, " (%s at command %d)", r->abort_name, r->abort_cmd);
	fprintf(out, ", END rows %" PRIu64 ", commands %" PRIu64 ", statuses %" PRIu64 "\n",
		r->end_rows, r->commands, r->st_total);
	fprintf(out, "    columns:");
	for (int i = 0; i < r->ncols; i++)
		fprintf(out, " %s", r->col[i]);
	fprintf(out, "\n");
	for (size_t i = 0; i < r->nrows && r->ncols > 0 && i < 40; i++) {
		fprintf(out, "    [");
		for (int j = 0; j < r->ncols; j++)
			fprintf(out, "%s%s", j ? " | " : "", rv_fmt(b, sizeof(b), &r->rows[i * w + j]));
		fprintf(out, "]\n");
	}
	if (r->nrows > 40)
		fprintf(out, "    ... %zu rows\n", r->nrows);
	for (int i = 0; i < r->nst && i < 20; i++)
		fprintf(out, "    status %s@%d\n", r->st[i].name, r->st[i].cmd);
}

static void
report(struct rig *g, const char *why, const struct model *before, const struct model *refm,
       const struct model *realm)
{
	g->mismatches++;
	if (g->mismatches > 3) {
		/* Later ones on one line each: enough to see the pattern. */
		if (g->mismatches <= 60) {
			fprintf(stderr, "=== mismatch #%" PRIu64 ": %s; reference %s%s@%d, evaluator %s%s@%d: ",
				g->mismatches, why, g->ref.nst ? "st " : "",
				g->ref.outcome == SCPP_OUTCOME_ABORTED ? g->ref.abort_name
				: g->ref.nst ? g->ref.st[0].name : "-",
				g->ref.outcome == SCPP_OUTCOME_ABORTED ? g->ref.abort_cmd
				: g->ref.nst ? g->ref.st[0].cmd : -1,
				g->real.nst ? "st " : "", g->real.nst ? g->real.st[0].name : "-",
				g->real.nst ? g->real.st[0].cmd : -1);
			for (const char *c = g->text; *c; c++)
				fputc(*c == '\n' ? ';' : *c, stderr);
			fputc('\n', stderr);
		}
		return;
	}
	fprintf(stderr, "\n=== eval diff mismatch #%" PRIu64 " (block %" PRIu64 "): %s\n",
		g->mismatches, g->blocks, why);
	fprintf(stderr, "--- block:\n%s", g->text);
	fprintf(stderr, "--- state before:\n");
	dump_model(stderr, before);
	dump_result(stderr, "reference", &g->ref);
	dump_result(stderr, "evaluator", &g->real);
	fprintf(stderr, "--- reference state after:\n");
	dump_model(stderr, refm);
	fprintf(stderr, "--- evaluator state after:\n");
	dump_model(stderr, realm);
}

/* ------------------------------------------------------------- generator */

#define HINT_ENT 1
#define HINT_NAME 2
#define HINT_KEY 3
#define HINT_VAL 4

struct gen {
	uint64_t *seed;
	const struct model *st;     /* state before the block */
	struct scpp_oid missing;    /* an OID that never exists */
	uint32_t bound;             /* variables bound in every row */
	uint8_t hint[NV];           /* what a bound variable was bound from */
	uint32_t cmd_fresh;         /* unbound variables used by the current command */
	double fan;                 /* bound on the number of rows */
};

static uint64_t
rnd(struct gen *g, uint64_t n)
{
	return test_rand_below(g->seed, n);
}

static bool
chance(struct gen *g, unsigned int pct)
{
	return rnd(g, 100) < pct;
}

static struct scpp_oid
some_entity(struct gen *g)
{
	if (g->st->ne == 0 || chance(g, 3))
		return g->missing;
	return g->st->ent[rnd(g, (uint64_t)g->st->ne)].oid;
}

static struct rv
some_value(struct gen *g)
{
	static const uint8_t b1[] = {1, 2}, b2[] = {0xff}, b3[] = {0, 0, 0};

	switch (rnd(g, 17)) {
	case 0: return rv_i(0);
	case 1: return rv_i(1);
	case 2: return rv_i(2);
	case 3: return rv_i(-1);
	case 4: return rv_u(1);
	case 5: return rv_s("x");
	case 6: return rv_s("y");
	case 7: return rv_s("a");
	case 8: return rv_s("\xc3\xa9");
	case 9: return rv_mem(SCPP_VT_BYTES, b1, sizeof(b1));
	case 10: return rv_mem(SCPP_VT_BYTES, b2, sizeof(b2));
	case 11: return rv_mem(SCPP_VT_BYTES, b3, sizeof(b3));
	case 12: return rv_bool(true);
	default: return rv_oid(some_entity(g));
	}
}

static struct rv
some_name(struct gen *g)
{
	static const char *const names[] = {"a", "b", "c", "m", "a", "b", "m", "type", "nope", "x"};

	if (chance(g, 3))
		return chance(g, 50) ? rv_i(5) : rv_s("");
	return rv_s(names[rnd(g, SCPP_ARRAY_SIZE(names))]);
}

static struct rv
some_key(struct gen *g)
{
	switch (rnd(g, 6)) {
	case 0: case 1: return rv_s("p");
	case 2: return rv_s("q");
	case 3: return rv_i(1);
	case 4: return rv_s("x");
	default: return rv_oid(some_entity(g));
	}
}

static struct rv
some_len(struct gen *g, unsigned int max)
{
	if (chance(g, 4))
		return chance(g, 50) ? rv_i(-1) : rv_s("x");
	if (chance(g, 30))
		return rv_u(rnd(g, max + 1));
	return rv_i((int64_t)rnd(g, max + 1));
}

/* An existing attribute (plain, or map when @map) of the state before the
 * block, optionally only str/bytes values; false if there is none. */
static bool
some_existing(struct gen *g, int map, bool bytes_only, struct scpp_oid *e, struct rv *a)
{
	int cand[M_TRI], n = 0;

	for (int t = 0; t < g->st->nt; t++) {
		const struct m_tri *tr = &g->st->tri[t];

		if (map >= 0 && tr->is_map != (map != 0))
			continue;
		if (bytes_only && (tr->is_map || (tr->v.type != SCPP_VT_STR &&
						  tr->v.type != SCPP_VT_BYTES)))
			continue;
		cand[n++] = t;
	}
	if (n == 0)
		return false;
	n = cand[rnd(g, (uint64_t)n)];
	*e = g->st->tri[n].e;
	*a = g->st->tri[n].a;
	return true;
}

static void
t_const(struct term *t, struct rv v)
{
	memset(t, 0, sizeof(*t));
	t->kind = TK_CONST;
	t->c = v;
}

static void
t_var(struct term *t, int var)
{
	memset(t, 0, sizeof(*t));
	t->kind = TK_VAR;
	t->var = (uint8_t)var;
}

/* A bound variable, preferring one bound from @hint; -1 if none. */
static int
bound_var(struct gen *g, int hint)
{
	int cand[NV], n = 0, pref[NV], np = 0;

	for (int v = 0; v < NV_PLAIN; v++) {
		if (!(g->bound & (1u << v)))
			continue;
		cand[n++] = v;
		if (g->hint[v] == hint)
			pref[np++] = v;
	}
	if (np > 0 && chance(g, 75))
		return pref[rnd(g, (uint64_t)np)];
	return n > 0 ? cand[rnd(g, (uint64_t)n)] : -1;
}

/* An unbound variable: sometimes one the current command already uses (the
 * matches must then agree), else a fresh or unused one; -1 if none. */
static int
unbound_var(struct gen *g)
{
	int cand[NV], n = 0;

	if (g->cmd_fresh != 0 && chance(g, 12)) {
		for (int v = 0; v < NV_PLAIN; v++)
			if (g->cmd_fresh & (1u << v))
				cand[n++] = v;
		return cand[rnd(g, (uint64_t)n)];
	}
	for (int v = 0; v < NV_PLAIN; v++)
		if (!(g->bound & (1u << v)) && !(g->cmd_fresh & (1u << v)))
			cand[n++] = v;
	if (n == 0)
		return -1;
	/* Prefer low indexes, so variables get reused across commands. */
	return cand[rnd(g, (uint64_t)(n < 3 ? n : 3))];
}

enum pos { P_ENT, P_NAME, P_KEY, P_VAL };

/* A term for a position: constant, bound variable or unbound variable,
 * with the unbound share given in percent. */
static void
gen_term(struct gen *g, struct term *t, enum pos pos, unsigned int unbound_pct)
{
	static const int hint_of[] = {HINT_ENT, HINT_NAME, HINT_KEY, HINT_VAL};
	unsigned int r = (unsigned int)rnd(g, 100);
	int v;

	if (r < unbound_pct && (v = unbound_var(g)) >= 0) {
		t_var(t, v);
		g->cmd_fresh |= 1u << v;
		return;
	}
	if (r < unbound_pct + 30 && (v = bound_var(g, hint_of[pos])) >= 0) {
		t_var(t, v);
		return;
	}
	switch (pos) {
	case P_ENT:
		if (chance(g, 3))
			t_const(t, chance(g, 50) ? rv_s("x") : rv_i(5));
		else
			t_const(t, rv_oid(some_entity(g)));
		break;
	case P_NAME:
		t_const(t, some_name(g));
		break;
	case P_KEY:
		t_const(t, some_key(g));
		break;
	case P_VAL:
		t_const(t, some_value(g));
		break;
	}
}

static bool
unbound_in(const struct gen *g, const struct term *t)
{
	return t->kind == TK_VAR && !(g->bound & (1u << t->var));
}

static double
get_fan(const struct gen *g, const struct gcmd *c)
{
	double f = 1;

	if (unbound_in(g, &c->e))
		f *= g->st->ne + 3;
	if (unbound_in(g, &c->a))
		f *= c->keyed ? 3 : 7;
	if (c->keyed && unbound_in(g, &c->k))
		f *= 6;
	return f;
}

static void
mark_bound(struct gen *g, const struct term *t, int hint)
{
	if (t->kind == TK_VAR && !(g->bound & (1u << t->var))) {
		g->bound |= 1u << t->var;
		g->hint[t->var] = (uint8_t)hint;
	}
}

#define FAN_MAX 250

static void
gen_get(struct gen *g, struct gcmd *c)
{
	c->op = SCPP_OP_GET;
	c->keyed = chance(g, 30);
	gen_term(g, &c->e, P_ENT, 30);
	gen_term(g, &c->a, P_NAME, 30);
	if (c->keyed)
		gen_term(g, &c->k, P_KEY, 45);
	gen_term(g, &c->v, P_VAL, 65);
	if (c->e.kind == TK_CONST && c->a.kind == TK_CONST && chance(g, 60)) {
		/* Mostly look up something that exists. */
		struct scpp_oid e;
		struct rv a;

		if (some_existing(g, c->keyed, false, &e, &a)) {
			t_const(&c->e, rv_oid(e));
			t_const(&c->a, a);
		}
	}
	/* Keep the table small: fix positions until the fan-out fits. */
	if (g->fan * get_fan(g, c) > FAN_MAX)
		t_const(&c->e, rv_oid(some_entity(g)));
	if (g->fan * get_fan(g, c) > FAN_MAX)
		t_const(&c->a, rv_s(c->keyed ? "m" : "a"));
	if (g->fan * get_fan(g, c) > FAN_MAX)
		t_const(&c->k, rv_s("p"));
	g->fan *= get_fan(g, c);
	mark_bound(g, &c->e, HINT_ENT);
	mark_bound(g, &c->a, HINT_NAME);
	if (c->keyed)
		mark_bound(g, &c->k, HINT_KEY);
	mark_bound(g, &c->v, HINT_VAL);
}

static void
gen_addr(struct gen *g, struct addr *a)
{
	static const char *const names[] = {"a", "b", "c", "buf", "buf", "m"};

	struct scpp_oid e;
	struct rv n;

	gen_term(g, &a->e, P_ENT, 3);
	if (chance(g, 25))
		gen_term(g, &a->a, P_NAME, 3);
	else
		t_const(&a->a, rv_s(names[rnd(g, SCPP_ARRAY_SIZE(names))]));
	if (chance(g, 55) && some_existing(g, 0, true, &e, &n)) {
		t_const(&a->e, rv_oid(e));
		t_const(&a->a, n);
	}
	a->noff = chance(g, 60) ? 0 : 1 + (int)rnd(g, 2);
	for (int i = 0; i < a->noff; i++) {
		if (chance(g, 10))
			gen_term(g, &a->off[i], P_VAL, 3);
		else
			t_const(&a->off[i], some_len(g, 2));
	}
}

/* ---------------------------------------------- generator: computation */

enum xt { XT_ANY, XT_INT, XT_BOOL };

static struct xnode *
x_new(void)
{
	struct xnode *x;

	if (x_used >= X_POOL) {
		fprintf(stderr, "diff: expression pool exhausted\n");
		abort();
	}
	x = &x_pool[x_used++];
	memset(x, 0, sizeof(*x));
	return x;
}

static struct rv
some_int(struct gen *g)
{
	static const int64_t si[] = {0, 1, 2, 3, -1, -2, 63, 64, INT64_MAX, INT64_MIN};
	static const uint64_t su[] = {0, 1, 2, 7, 61440, UINT64_MAX, 1ull << 63};

	if (chance(g, 55))
		return rv_i(si[rnd(g, SCPP_ARRAY_SIZE(si))]);
	return rv_u(su[rnd(g, SCPP_ARRAY_SIZE(su))]);
}

/* A leaf of roughly the wanted type: mostly a constant, sometimes a bound
 * variable (of any type), rarely an unbound one. */
static struct xnode *
gen_leaf(struct gen *g, enum xt want)
{
	struct xnode *x = x_new();
	int v;

	if (chance(g, 30) && (v = bound_var(g, HINT_VAL)) >= 0) {
		t_var(&x->leaf, v);
		return x;
	}
	if (chance(g, 2) && (v = unbound_var(g)) >= 0) {
		t_var(&x->leaf, v);
		return x;
	}
	switch (want) {
	case XT_INT:
		t_const(&x->leaf, chance(g, 92) ? some_int(g) : some_value(g));
		break;
	case XT_BOOL:
		t_const(&x->leaf, chance(g, 92) ? rv_bool(chance(g, 50)) : some_value(g));
		break;
	default:
		t_const(&x->leaf, chance(g, 30) ? some_int(g) : some_value(g));
		break;
	}
	return x;
}

static struct xnode *
gen_const_leaf(struct rv v)
{
	struct xnode *x = x_new();

	t_const(&x->leaf, v);
	return x;
}

/* An entity operand: usually an entity of the universe or a bound one. */
static struct xnode *
gen_ent_leaf(struct gen *g)
{
	struct xnode *x = x_new();

	gen_term(g, &x->leaf, P_ENT, 2);
	return x;
}

static struct xnode *gen_x(struct gen *g, int depth, enum xt want);

static const uint8_t ops_int[] = {
	SCPP_XOP_ADD, SCPP_XOP_SUB, SCPP_XOP_MUL, SCPP_XOP_DIV, SCPP_XOP_MOD, SCPP_XOP_BAND,
	SCPP_XOP_BOR, SCPP_XOP_BXOR, SCPP_XOP_SHL, SCPP_XOP_SHR, SCPP_XOP_MIN, SCPP_XOP_MAX,
	SCPP_XOP_LEN, SCPP_XOP_CARD, SCPP_XOP_LENGTH, SCPP_XOP_HASH, SCPP_XOP_IF,
};
static const uint8_t ops_bool[] = {
	SCPP_XOP_EQ, SCPP_XOP_NE, SCPP_XOP_LT, SCPP_XOP_LE, SCPP_XOP_GT, SCPP_XOP_GE,
	SCPP_XOP_AND, SCPP_XOP_OR, SCPP_XOP_NOT, SCPP_XOP_REACH, SCPP_XOP_IF,
};
static const uint8_t ops_any[] = {
	SCPP_XOP_VAL, SCPP_XOP_ENTRY, SCPP_XOP_FIND, SCPP_XOP_READ, SCPP_XOP_NOW, SCPP_XOP_IF,
	SCPP_XOP_MIN, SCPP_XOP_MAX, SCPP_XOP_ADD, SCPP_XOP_EQ,
};

/* A random expression of at most @p depth more levels, mostly of type @p want. */
static struct xnode *
gen_x(struct gen *g, int depth, enum xt want)
{
	struct xnode *x;
	unsigned int op;

	if (depth <= 0 || chance(g, 30))
		return gen_leaf(g, want);
	if (chance(g, 8)) /* any operator, whatever was wanted */
		op = 1 + (unsigned int)rnd(g, SCPP_XOP_COUNT - 1);
	else if (want == XT_INT)
		op = ops_int[rnd(g, SCPP_ARRAY_SIZE(ops_int))];
	else if (want == XT_BOOL)
		op = ops_bool[rnd(g, SCPP_ARRAY_SIZE(ops_bool))];
	else
		op = ops_any[rnd(g, SCPP_ARRAY_SIZE(ops_any))];
	x = x_new();
	x->op = (uint8_t)op;
	switch (op) {
	case SCPP_XOP_SHL:
	case SCPP_XOP_SHR:
		x->k[0] = gen_x(g, depth - 1, XT_INT);
		x->k[1] = chance(g, 85) ? gen_const_leaf(rv_i((int64_t)rnd(g, 66) - 1))
					: gen_x(g, depth - 1, XT_INT);
		break;
	case SCPP_XOP_EQ:
	case SCPP_XOP_NE:
	case SCPP_XOP_LT:
	case SCPP_XOP_LE:
	case SCPP_XOP_GT:
	case SCPP_XOP_GE:
	case SCPP_XOP_MIN:
	case SCPP_XOP_MAX: {
		enum xt t = chance(g, 50) ? XT_INT : XT_ANY;

		x->k[0] = gen_x(g, depth - 1, t);
		x->k[1] = gen_x(g, depth - 1, t);
		break;
	}
	case SCPP_XOP_AND:
	case SCPP_XOP_OR:
		x->k[1] = gen_x(g, depth - 1, XT_BOOL);
		__attribute__((fallthrough));
	case SCPP_XOP_NOT:
		x->k[0] = gen_x(g, depth - 1, XT_BOOL);
		break;
	case SCPP_XOP_IF:
		x->k[0] = gen_x(g, depth - 1, XT_BOOL);
		x->k[1] = gen_x(g, depth - 1, want);
		x->k[2] = gen_x(g, depth - 1, want);
		break;
	case SCPP_XOP_LEN:
	case SCPP_XOP_HASH:
		x->k[0] = gen_x(g, depth - 1, XT_ANY);
		break;
	case SCPP_XOP_NOW:
		break;
	case SCPP_XOP_VAL:
	case SCPP_XOP_CARD:
	case SCPP_XOP_LENGTH:
	case SCPP_XOP_ENTRY:
	case SCPP_XOP_REACH:
		x->k[0] = gen_ent_leaf(g);
		x->k[1] = gen_const_leaf(op == SCPP_XOP_ENTRY && chance(g, 70) ? rv_s("m") : some_name(g));
		if (op == SCPP_XOP_ENTRY)
			x->k[2] = gen_const_leaf(some_key(g));
		if (op == SCPP_XOP_REACH)
			x->k[2] = gen_const_leaf(rv_oid(some_entity(g)));
		break;
	case SCPP_XOP_FIND:
		x->k[0] = gen_const_leaf(some_name(g));
		x->k[1] = gen_x(g, depth - 1, XT_ANY);
		break;
	case SCPP_XOP_READ:
		gen_addr(g, &x->addr);
		x->k[1] = chance(g, 90) ? gen_const_leaf(rv_u(rnd(g, 6))) : gen_x(g, depth - 1, XT_INT);
		break;
	default: /* the integer operators */
		x->k[0] = gen_x(g, depth - 1, XT_INT);
		x->k[1] = gen_x(g, depth - 1, XT_INT);
		break;
	}
	return x;
}

/* let, where, assert, write or resize. */
static void
gen_compute(struct gen *g, struct gcmd *c)
{
	static const char *const errnos[] = {"ENOENT", "EACCES", "ENOTDIR", "EPERM", "EEXIST"};
	unsigned int r = (unsigned int)rnd(g, 100);
	int v;

	if (r < 38) {
		c->op = SCPP_OP_LET;
		if (chance(g, 25) && (v = bound_var(g, HINT_VAL)) >= 0)
			t_var(&c->e, v);
		else if ((v = unbound_var(g)) >= 0)
			t_var(&c->e, v);
		else
			t_var(&c->e, 0);
		c->x = gen_x(g, 3, chance(g, 40) ? XT_INT : chance(g, 50) ? XT_BOOL : XT_ANY);
		mark_bound(g, &c->e, HINT_VAL);
	} else if (r < 55) {
		c->op = SCPP_OP_WHERE;
		c->x = gen_x(g, 3, chance(g, 92) ? XT_BOOL : XT_ANY);
	} else if (r < 72) {
		c->op = SCPP_OP_ASSERT;
		c->x = gen_x(g, 3, chance(g, 92) ? XT_BOOL : XT_ANY);
		if (chance(g, 85))
			t_const(&c->v, rv_s(errnos[rnd(g, SCPP_ARRAY_SIZE(errnos))]));
		else if (chance(g, 50))
			t_const(&c->v, chance(g, 50) ? rv_u(13) : rv_i(2));
		else
			gen_term(g, &c->v, P_VAL, 3); /* mostly not an errno */
	} else if (r < 87) {
		static const uint8_t d1[] = {0xab}, d3[] = {1, 2, 3}, d4[] = {0, 0xff, 0x7f, 0x80};

		c->op = SCPP_OP_WRITE;
		gen_addr(g, &c->dst);
		switch (rnd(g, 8)) {
		case 0: t_const(&c->v, rv_mem(SCPP_VT_BYTES, d1, 0)); break;
		case 1: t_const(&c->v, rv_mem(SCPP_VT_BYTES, d1, 1)); break;
		case 2: t_const(&c->v, rv_mem(SCPP_VT_BYTES, d3, 3)); break;
		case 3: t_const(&c->v, rv_mem(SCPP_VT_BYTES, d4, 4)); break;
		case 4: t_const(&c->v, rv_s("z")); break;
		case 5: t_const(&c->v, rv_s("\xc3\xa9")); break;
		default: gen_term(g, &c->v, P_VAL, 3); break;
		}
	} else {
		c->op = SCPP_OP_RESIZE;
		gen_term(g, &c->e, P_ENT, 3);
		if (chance(g, 70))
			t_const(&c->a, rv_s(chance(g, 60) ? "buf" : "a"));
		else
			gen_term(g, &c->a, P_NAME, 3);
		if (chance(g, 10))
			gen_term(g, &c->v, P_VAL, 5);
		else
			t_const(&c->v, some_len(g, 6));
	}
}

static void
gen_cmd(struct gen *g, struct gcmd *c)
{
	unsigned int r = (unsigned int)rnd(g, 100);

	uint32_t bound_before;
	bool guarded;

	memset(c, 0, sizeof(*c));
	c->status = -1;
	g->cmd_fresh = 0;
	/* A guard first (its variables are those bound before the command):
	 * a guarded command that binds leaves its variables unbound in the
	 * rows it skips, so they do not count as bound afterwards. */
	guarded = chance(g, 12);
	if (guarded)
		c->guard = gen_x(g, 2, chance(g, 90) ? XT_BOOL : XT_ANY);
	bound_before = g->bound;
	if (chance(g, 24)) {
		gen_compute(g, c);
	} else if (r < 42) {
		gen_get(g, c);
	} else if (r < 62) {
		c->op = SCPP_OP_SET;
		c->keyed = chance(g, 30);
		gen_term(g, &c->e, P_ENT, 3);
		if (c->keyed && chance(g, 70))
			t_const(&c->a, rv_s("m"));
		else
			gen_term(g, &c->a, P_NAME, 3);
		if (c->keyed)
			gen_term(g, &c->k, P_KEY, 3);
		gen_term(g, &c->v, P_VAL, 4);
	} else if (r < 73) {
		c->op = SCPP_OP_DEL;
		c->del_entity = chance(g, 12);
		gen_term(g, &c->e, P_ENT, 3);
		if (!c->del_entity) {
			c->keyed = chance(g, 35);
			if (c->keyed && chance(g, 70))
				t_const(&c->a, rv_s("m"));
			else
				gen_term(g, &c->a, P_NAME, 3);
			if (c->keyed)
				gen_term(g, &c->k, P_KEY, 3);
			if (c->e.kind == TK_CONST && chance(g, 50)) {
				struct scpp_oid e;
				struct rv a;

				if (some_existing(g, c->keyed, false, &e, &a)) {
					t_const(&c->e, rv_oid(e));
					t_const(&c->a, a);
				}
			}
		}
	} else if (r < 81 && g->fan <= 8) {
		int v;

		c->op = SCPP_OP_CREATE;
		if (chance(g, 6) && (v = bound_var(g, HINT_ENT)) >= 0)
			t_var(&c->e, v);
		else if ((v = unbound_var(g)) >= 0)
			t_var(&c->e, v);
		else
			t_var(&c->e, 0);
		if (chance(g, 10))
			gen_term(g, &c->v, P_VAL, 20);
		else
			t_const(&c->v, rv_s(chance(g, 50) ? "T" : "U"));
		if (c->v.kind == TK_VAR && c->v.var == c->e.var)
			t_const(&c->v, rv_s("T"));
		mark_bound(g, &c->e, HINT_ENT);
	} else if (r < 89) {
		c->op = SCPP_OP_ALLOC;
		gen_term(g, &c->e, P_ENT, 3);
		if (chance(g, 70))
			t_const(&c->a, rv_s(chance(g, 60) ? "buf" : "a"));
		else
			gen_term(g, &c->a, P_NAME, 3);
		if (chance(g, 10))
			gen_term(g, &c->v, P_VAL, 5);
		else
			t_const(&c->v, some_len(g, 5));
	} else {
		c->op = SCPP_OP_COPY;
		gen_addr(g, &c->dst);
		gen_addr(g, &c->src);
		if (chance(g, 10))
			gen_term(g, &c->n, P_VAL, 3);
		else
			t_const(&c->n, some_len(g, 3));
	}
	if (chance(g, 30))
		c->status = chance(g, 70) ? 8 : 9;
	if (guarded)
		g->bound = bound_before;
}

static void
gen_block(struct gen *g, struct gblock *b)
{
	memset(b, 0, sizeof(*b));
	x_used = 0;
	g->bound = 0;
	g->fan = 1;
	memset(g->hint, 0, sizeof(g->hint));
	b->ncmd = 1 + (int)rnd(g, MAX_CMDS);
	for (int i = 0; i < b->ncmd; i++)
		gen_cmd(g, &b->c[i]);
	if (chance(g, 1)) {
		/* A status variable named as a term: the block is refused,
		 * unless the term is a get's entity (then it ranges over the
		 * statuses collected so far). */
		struct gcmd *c = &b->c[rnd(g, (uint64_t)b->ncmd)];

		b->c[0].status = 8;
		if (c->op == SCPP_OP_COPY) {
			t_var(&c->n, 8);
		} else {
			t_var(&c->e, 8);
			if (c->op == SCPP_OP_GET) {
				static const char *const f[] = {"errno_name", "command", "nope"};

				c->keyed = false;
				t_const(&c->a, rv_s(f[rnd(g, 3)]));
			}
		}
	}
	if (b->ncmd < MAX_CMDS && b->c[0].status >= 0 && chance(g, 10)) {
		/* Read back what a status variable collected. */
		struct gcmd *c = &b->c[b->ncmd++];
		int v = (int)rnd(g, NV_PLAIN);

		memset(c, 0, sizeof(*c));
		c->op = SCPP_OP_GET;
		c->status = -1;
		t_var(&c->e, b->c[0].status);
		t_const(&c->a, rv_s(chance(g, 50) ? "errno_name" : "command"));
		if (chance(g, 20))
			t_const(&c->v, rv_s("ENOENT"));
		else
			t_var(&c->v, v);
		g->bound |= 1u << v;
	}
	if (chance(g, 45))
		return; /* no return: every variable, in order of appearance */
	b->has_ret = true;
	for (int v = 0; v < NV; v++) {
		bool used = (g->bound & (1u << v)) != 0;

		for (int i = 0; i < b->ncmd && !used; i++)
			used = b->c[i].status == v || (cmd_term_vars(&b->c[i]) & (1u << v));
		if ((used && chance(g, 55)) || (!used && chance(g, 4)))
			b->ret[b->nret++] = (uint8_t)v;
	}
	/* Shuffle the return order. */
	for (int i = b->nret - 1; i > 0; i--) {
		int j = (int)rnd(g, (uint64_t)i + 1);
		uint8_t t = b->ret[i];

		b->ret[i] = b->ret[j];
		b->ret[j] = t;
	}
}

/* ---------------------------------------------------------------- driver */

static struct scpp_oid
universe_oid(int i)
{
	return scpp_oid_make(0, 1, 0, 2, (uint64_t)(0xa + i));
}

static void
put(struct fx *f, struct scpp_oid e, const char *name, const struct rv *k, const struct rv *v)
{
	int64_t id = scpp_store_dict_intern(f->dict, name, strlen(name));
	struct scpp_value kv, vv = rv_value(v);

	assert_true(id > 0);
	if (k == NULL) {
		assert_int_equal(scpp_store_set(f->store, e, (uint32_t)id, &vv), 0);
		return;
	}
	kv = rv_value(k);
	assert_int_equal(scpp_store_map_set(f->store, e, (uint32_t)id, &kv, &vv), 0);
}

/* Start an episode: an empty shard and a fresh dictionary (so that names
 * are un-interned again), five entities with random attributes. */
static void
episode_start(struct rig *g)
{
	struct scpp_store_dict_config dcfg = {
		.max_attrs = 4096, .name_bytes = 1 << 16, .socket_id = -1,
		.mem = &scpp_store_mem_libc,
	};
	struct fx *f = g->f;
	struct gen gn = {.seed = &g->seed, .st = g->before,
			 .missing = scpp_oid_make(0, 1, 0, 2, 0x99)};

	episode_abandoned = false;
	assert_int_equal(scpp_store_clear(f->store), 0);
	/* A fresh dictionary per episode, except under a schema, whose
	 * attribute ids are the dictionary's. */
	if (!g->R.schema) {
		scpp_store_dict_free(f->dict);
		f->dict = scpp_store_dict_create(&dcfg);
		assert_non_null(f->dict);
		f->env.dict = f->dict;
	}
	g->before->ne = g->before->nt = g->before->nm = 0;
	for (int i = 0; i < 5; i++) {
		assert_int_equal(scpp_store_entity_create(f->store, universe_oid(i)), 0);
		m_add_ent(g->before, universe_oid(i), i);
	}
	for (int i = 0; i < 5; i++) {
		static const char *const plain[] = {"a", "b", "c"};
		struct scpp_oid e = universe_oid(i);

		for (int j = 0; j < 3; j++)
			if (chance(&gn, 60)) {
				struct rv v = some_value(&gn);

				put(f, e, plain[j], NULL, &v);
			}
		if (chance(&gn, 50)) {
			int n = 1 + (int)rnd(&gn, 3);

			for (int j = 0; j < n; j++) {
				struct rv k = some_key(&gn), v = some_value(&gn);

				put(f, e, "m", &k, &v);
			}
		}
		if (chance(&gn, 15)) {
			struct rv v = rv_s("T");

			put(f, e, "type", NULL, &v);
		}
	}
	snapshot(f->store, f->dict, g->before);
}

/* Probe the shard's OID generator: the next create mints the OID after this. */
static struct scpp_oid
probe_next_oid(struct fx *f)
{
	struct scpp_oid o;

	assert_int_equal(scpp_store_entity_mint(f->store, &o), 0);
	assert_int_equal(scpp_store_entity_delete(f->store, o), 0);
	o.lo++;
	return o;
}

static bool
is_limit_name(const char *n)
{
	return strcmp(n, "E2BIG") == 0 || strcmp(n, "ETIME") == 0 || strcmp(n, "EFBIG") == 0 ||
	       strcmp(n, "EMSGSIZE") == 0;
}

/* One block: generate, run both, compare; the real state becomes the next
 * block's starting state. @lim: the limits in force (NULL: defaults). */
static void
one_block(struct rig *g, const struct scpp_eval_limits *lim)
{
	struct gen gn = {.seed = &g->seed, .st = g->before,
			 .missing = scpp_oid_make(0, 1, 0, 2, 0x99)};
	struct gblock b;
	char why[256] = "";
	bool ok;

	gen_block(&gn, &b);
	print_block(&b, g->text, sizeof(g->text));
	model_overflow = false;
	diff_now = (int64_t)(test_rand(&g->seed) >> 1) * (test_rand_below(&g->seed, 2) ? 1 : -1);
	g->R.now = diff_now;
	g->R.next_oid = probe_next_oid(g->f);
	g->R.m = g->refm;
	real_run(g->f, g->text, &g->real);
	snapshot(g->f->store, g->f->dict, g->after);
	ref_run(&g->R, &b, g->before, &g->ref);
	g->blocks++;
	for (int i = 0; i < b.ncmd; i++)
		g->ops[b.c[i].op]++;
	for (int i = 0; i < b.ncmd; i++)
		if (b.c[i].op >= SCPP_OP_LET || b.c[i].guard != NULL) {
			g->computed++;
			break;
		}
	if (model_overflow) {
		/* Not comparable (see REF_HUGE); start again from a fresh state. */
		g->overflows++;
		episode_abandoned = true;
		goto next;
	}
	for (int i = 0; i < b.ncmd; i++)
		if (b.c[i].op == SCPP_OP_GET && b.c[i].e.kind == TK_VAR && b.c[i].e.var >= NV_PLAIN &&
		    g->ref.nst > 0 && g->ref.outcome != SCPP_OUTCOME_ABORTED)
			g->status_reads++;

	if (lim != NULL && g->real.outcome == SCPP_OUTCOME_ABORTED &&
	    is_limit_name(g->real.abort_name)) {
		/* A limit stopped the block: nothing may have changed. */
		g->limit_aborts++;
		ok = !g->real.bad_reply && g->real.nstatus_records == 1 && g->real.nrows == 0 &&
		     state_same(g->before, g->after, false, why, sizeof(why));
		if (ok && strcmp(g->real.abort_name, "E2BIG") == 0 &&
		    g->ref.outcome != SCPP_OUTCOME_ABORTED && g->ref.peak <= lim->max_rows) {
			ok = false;
			snprintf(why, sizeof(why), "E2BIG, but the table never exceeded %u rows",
				 lim->max_rows);
		}
		if (!ok)
			report(g, why[0] ? why : "limit abort left changes or a bad reply",
			       g->before, g->before, g->after);
		goto next;
	}
	ok = results_same(&g->ref, g->R.m, &g->real, g->after, why, sizeof(why));
	if (ok && lim != NULL && g->ref.peak > lim->max_rows &&
	    g->ref.outcome != SCPP_OUTCOME_ABORTED) {
		ok = false;
		snprintf(why, sizeof(why), "the table reached %zu rows over the limit of %u, "
			 "and the block was not stopped", g->ref.peak, lim->max_rows);
	}
	if (!ok)
		report(g, why, g->before, g->R.m, g->after);
	g->aborted += g->real.outcome == SCPP_OUTCOME_ABORTED;
	g->errors += g->real.outcome == SCPP_OUTCOME_ERRORS;
	g->rows += g->real.end_rows;
next:
	{
		struct model *t = g->before;

		g->before = g->after;
		g->after = t;
	}
}

static uint64_t
env_u64(const char *name, uint64_t dflt)
{
	const char *s = getenv(name);

	return s != NULL && *s != '\0' ? strtoull(s, NULL, 0) : dflt;
}

static int64_t
diff_clock(void)
{
	return diff_now;
}

static struct rig *
rig_new(const struct scpp_eval_limits *lim, uint64_t seed, bool schema)
{
	struct rig *g = calloc(1, sizeof(*g));

	assert_non_null(g);
	fx_no_materialize = schema;
	g->f = fx_new(schema, lim);
	fx_no_materialize = 0;
	g->f->env.realtime_ns = diff_clock;
	g->R.schema = schema;
	g->before = malloc(sizeof(struct model));
	g->after = malloc(sizeof(struct model));
	g->refm = malloc(sizeof(struct model));
	assert_non_null(g->before);
	assert_non_null(g->after);
	assert_non_null(g->refm);
	g->seed = seed;
	g->R.max_statuses = SCPP_EVAL_DEFAULT_STATUSES;
	return g;
}

static void
rig_free(struct rig *g)
{
	fx_free(g->f);
	free(g->before);
	free(g->after);
	free(g->refm);
	free(g->real.rows);
	free(g->ref.rows);
	free(g->alt.rows);
	free(g->R.tab[0].r);
	free(g->R.tab[1].r);
	free(g);
}

static void
rig_summary(const struct rig *g, const char *what, double secs)
{
	printf("# %s: %" PRIu64 " blocks (get %" PRIu64 ", set %" PRIu64 ", del %" PRIu64
	       ", create %" PRIu64 ", alloc %" PRIu64 ", copy %" PRIu64 ", let %" PRIu64
	       ", where %" PRIu64 ", assert %" PRIu64 ", write %" PRIu64 ", resize %" PRIu64
	       " commands; %" PRIu64 " blocks compute), %" PRIu64
	       " aborted, %" PRIu64 " with errors, %" PRIu64 " rows, %" PRIu64
	       " limit aborts, %" PRIu64 " status reads, %" PRIu64 " not comparable, %" PRIu64
	       " mismatches, %.1f s\n",
	       what, g->blocks, g->ops[SCPP_OP_GET], g->ops[SCPP_OP_SET], g->ops[SCPP_OP_DEL],
	       g->ops[SCPP_OP_CREATE], g->ops[SCPP_OP_ALLOC], g->ops[SCPP_OP_COPY],
	       g->ops[SCPP_OP_LET], g->ops[SCPP_OP_WHERE], g->ops[SCPP_OP_ASSERT],
	       g->ops[SCPP_OP_WRITE], g->ops[SCPP_OP_RESIZE], g->computed, g->aborted,
	       g->errors, g->rows, g->limit_aborts, g->status_reads, g->overflows, g->mismatches,
	       secs);
	/* A run that compares nothing proves nothing. */
	assert_true(g->overflows * 50 < g->blocks);
	assert_true(g->computed * 4 > g->blocks);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#define EPISODE_BLOCKS 40

static bool
episode_over(const struct model *m)
{
	return episode_abandoned || m->ne > 14 || m->nt > 90 || m->nm > 90;
}

static void
test_eval_diff_random_blocks_match_reference(void **state)
{
	uint64_t n = env_u64("SCPP_EVAL_DIFF_BLOCKS", 150000);
	struct rig *g = rig_new(NULL, env_u64("SCPP_EVAL_DIFF_SEED", 0x5eed0001), false);
	double t0 = now_s();

	(void)state;
	while (g->blocks < n) {
		episode_start(g);
		for (int i = 0; i < EPISODE_BLOCKS && g->blocks < n && !episode_over(g->before); i++)
			one_block(g, NULL);
	}
	rig_summary(g, "default limits", now_s() - t0);
	if (g->mismatches != 0) {
		uint64_t m = g->mismatches;

		rig_free(g);
		fail_msg("%" PRIu64 " blocks disagree with the reference (first ones above)", m);
	}
	rig_free(g);
}

/*
 * The same, with the shipped schema (core + posix) loaded but not
 * materialised in the shard: the universe's entities stay untyped, so the
 * schema's rules for untyped data apply (`type` must be the OID of a Type,
 * `create` of a type it does not declare is ENOENT), and a search never
 * meets a schema entity the reference would have to model.
 */
static void
test_eval_diff_with_the_schema_loaded(void **state)
{
	uint64_t n = env_u64("SCPP_EVAL_DIFF_BLOCKS", 150000) / 3;
	struct rig *g = rig_new(NULL, env_u64("SCPP_EVAL_DIFF_SEED", 0x5eed0001) ^ 0x5c4e, true);
	double t0 = now_s();

	(void)state;
	while (g->blocks < n) {
		episode_start(g);
		for (int i = 0; i < EPISODE_BLOCKS && g->blocks < n && !episode_over(g->before); i++)
			one_block(g, NULL);
	}
	rig_summary(g, "schema loaded", now_s() - t0);
	if (g->mismatches != 0) {
		uint64_t m = g->mismatches;

		rig_free(g);
		fail_msg("%" PRIu64 " blocks disagree with the reference (first ones above)", m);
	}
	rig_free(g);
}

static void
test_eval_diff_limit_aborts_leave_state_unchanged(void **state)
{
	uint64_t n = env_u64("SCPP_EVAL_DIFF_BLOCKS", 150000) / 20;
	uint64_t seed = env_u64("SCPP_EVAL_DIFF_SEED", 0x5eed0001) ^ 0x11111;
	struct rig *g = rig_new(NULL, seed, false);
	double t0 = now_s();

	(void)state;
	while (g->blocks < n) {
		struct scpp_eval_limits lim = {0}, eff;

		/* Tiny limits, a different mix per episode. */
		lim.max_rows = 2 + (uint32_t)test_rand_below(&g->seed, 8);
		/* Steps and bytes size the context's undo log and arena: keep
		 * them small even when they are not the limit under test. */
		lim.max_steps = 5000;
		lim.max_bytes = 1 << 16;
		if (test_rand_below(&g->seed, 2))
			lim.max_steps = 6 + test_rand_below(&g->seed, 40);
		if (test_rand_below(&g->seed, 4) == 0)
			lim.max_bytes = 4 + test_rand_below(&g->seed, 40);
		if (test_rand_below(&g->seed, 4) == 0)
			lim.max_result = SCPP_EVAL_MIN_RESULT + (uint32_t)test_rand_below(&g->seed, 200);
		scpp_eval_ctx_free(g->f->ctx);
		g->f->ctx = scpp_eval_ctx_create(&lim, -1, false);
		assert_non_null(g->f->ctx);
		scpp_eval_ctx_limits(g->f->ctx, &eff);
		episode_start(g);
		for (int i = 0; i < EPISODE_BLOCKS && g->blocks < n && !episode_over(g->before); i++)
			one_block(g, &eff);
	}
	rig_summary(g, "tiny limits", now_s() - t0);
	if (g->mismatches != 0) {
		uint64_t m = g->mismatches;

		rig_free(g);
		fail_msg("%" PRIu64 " blocks disagree under tiny limits (first ones above)", m);
	}
	rig_free(g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eval_diff_random_blocks_match_reference),
		cmocka_unit_test(test_eval_diff_limit_aborts_leave_state_unchanged),
		cmocka_unit_test(test_eval_diff_with_the_schema_loaded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
