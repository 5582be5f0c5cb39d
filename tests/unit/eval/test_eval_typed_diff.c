/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Differential test of lib/eval on typed data: random blocks over instances
 * of a schema type run through scpp_eval_block() and through a naive
 * reference of docs/SCHEMA.md's rules, from the same state; outcome, abort
 * errno and command, rows and the final state must agree.
 *
 * test_eval_diff.c covers the language on untyped entities (with the
 * schema loaded, its rules for untyped data); this one covers what only
 * typed entities exercise: declared value types (with the integer literal
 * adaptation of §6), unknown attributes, references (target missing:
 * ENOENT; of another type or untyped: E_SCHEMA), required attributes and
 * defaults of objects created in the block, an untyped entity given a type
 * (checked whole at the end), deleting a required attribute, and searches
 * by value on an indexed attribute (the value index) and on plain ones
 * (scans), which must agree.
 *
 * The schema: core.json plus
 *   T { n: i64 required, s: string, u: u64 indexed, r: T, d: u64 required default 7 }
 * The universe: E0, E1 (instances of T), E2, E3 (untyped), and what blocks
 * create (`create %x T`, at most one per block). Attribute names n s u r d
 * and zz (undeclared); values -1, 0, 5, 3u, "x", "é", true, the OIDs of E0
 * and E2 and one that does not exist. No status variables: every failure
 * aborts the block, and the reference restores its copy of the state.
 *
 * The reference is a list of entities (OID, typed or not, attributes in
 * insertion order) and plain loops. After each block both states are read
 * back and compared; the reference then adopts the real OID of an entity
 * the block created (the only thing it cannot predict).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scpp_test.h"
#include "eval_fixture.h"

#define MAXE 64
#define MAXA 8
#define BLOCKS_DEFAULT 100000

static const char *const ANAME[] = {"n", "s", "u", "r", "d", "zz"};
enum { A_N, A_S, A_U, A_R, A_D, A_ZZ, NATTR };

struct mval {
	uint8_t type;          /* SCPP_VT_* */
	int64_t i;
	uint64_t u;
	struct scpp_oid o;
	char s[8];
};

struct ment {
	struct scpp_oid oid;
	bool typed;
	int n;                 /* attributes */
	int attr[MAXA];
	struct mval v[MAXA];
};

struct mstate {
	int n;
	struct ment e[MAXE];
};

static const char SCHEMA_T[] =
	"{\"schema\": \"typed_diff\", \"requires\": [\"core\"], \"types\": {\"T\": {\"attributes\": {"
	"\"n\": {\"type\": \"i64\", \"required\": true},"
	"\"s\": {\"type\": \"string\"},"
	"\"u\": {\"type\": \"u64\", \"indexed\": true},"
	"\"r\": {\"type\": \"T\"},"
	"\"d\": {\"type\": \"u64\", \"required\": true, \"default\": 7}}}}}";

static struct fx *F;
static struct scpp_oid T_OID, E[4], MISSING;
static uint32_t aid[NATTR], type_aid;
static struct mstate M;
static uint64_t seed = 0x7a11ed;
/* Paths the reference saw taken in blocks that committed (asserted > 0). */
static uint64_t n_created, n_given, n_index_hits, n_ref_ok;

static uint64_t
rnd(uint64_t n)
{
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	return seed % n;
}

static bool
oid_eq(struct scpp_oid a, struct scpp_oid b)
{
	return a.hi == b.hi && a.lo == b.lo;
}

static bool
mval_eq(const struct mval *a, const struct mval *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case SCPP_VT_I64: return a->i == b->i;
	case SCPP_VT_U64: return a->u == b->u;
	case SCPP_VT_BOOL: return a->u == b->u;
	case SCPP_VT_OID: return oid_eq(a->o, b->o);
	case SCPP_VT_STR: return strcmp(a->s, b->s) == 0;
	default: return true;
	}
}

static struct mval
from_value(const struct scpp_value *v)
{
	struct mval m;

	memset(&m, 0, sizeof(m));
	m.type = v->type;
	if (v->type == SCPP_VT_I64)
		m.i = v->i;
	else if (v->type == SCPP_VT_U64)
		m.u = v->u;
	else if (v->type == SCPP_VT_BOOL)
		m.u = v->b;
	else if (v->type == SCPP_VT_OID)
		m.o = v->oid;
	else if (v->type == SCPP_VT_STR)
		snprintf(m.s, sizeof(m.s), "%.*s", (int)v->len, (const char *)v->p);
	return m;
}

/* The domain: text form and model value. */
#define NVAL 10
static void
value_of(int k, char *text, size_t size, struct mval *m)
{
	char o[SCPP_OID_STR_MAX];

	memset(m, 0, sizeof(*m));
	switch (k) {
	case 0: m->type = SCPP_VT_I64; m->i = -1; snprintf(text, size, "-1"); break;
	case 1: m->type = SCPP_VT_I64; m->i = 0; snprintf(text, size, "0"); break;
	case 2: m->type = SCPP_VT_I64; m->i = 5; snprintf(text, size, "5"); break;
	case 3: m->type = SCPP_VT_U64; m->u = 3; snprintf(text, size, "3u"); break;
	case 4: m->type = SCPP_VT_STR; snprintf(m->s, sizeof(m->s), "x"); snprintf(text, size, "\"x\""); break;
	case 5: m->type = SCPP_VT_STR; snprintf(m->s, sizeof(m->s), "\xc3\xa9"); snprintf(text, size, "\"\xc3\xa9\""); break;
	case 6: m->type = SCPP_VT_BOOL; m->u = 1; snprintf(text, size, "true"); break;
	case 7: m->type = SCPP_VT_OID; m->o = E[0]; scpp_oid_format(o, sizeof(o), E[0]); snprintf(text, size, "%s", o); break;
	case 8: m->type = SCPP_VT_OID; m->o = E[2]; scpp_oid_format(o, sizeof(o), E[2]); snprintf(text, size, "%s", o); break;
	default: m->type = SCPP_VT_OID; m->o = MISSING; scpp_oid_format(o, sizeof(o), MISSING); snprintf(text, size, "%s", o); break;
	}
}

/* ---- the reference ---- */

static struct ment *
m_find(struct mstate *s, struct scpp_oid o)
{
	for (int i = 0; i < s->n; i++)
		if (oid_eq(s->e[i].oid, o))
			return &s->e[i];
	return NULL;
}

static int
m_attr(const struct ment *e, int a)
{
	for (int i = 0; i < e->n; i++)
		if (e->attr[i] == a)
			return i;
	return -1;
}

static void
m_put(struct ment *e, int a, const struct mval *v)
{
	int i = m_attr(e, a);

	if (i < 0) {
		SCPP_VERIFY(e->n < MAXA);
		i = e->n++;
		e->attr[i] = a;
	}
	e->v[i] = *v;
}

static void
m_remove(struct ment *e, int i)
{
	memmove(&e->attr[i], &e->attr[i + 1], sizeof(e->attr[0]) * (size_t)(e->n - i - 1));
	memmove(&e->v[i], &e->v[i + 1], sizeof(e->v[0]) * (size_t)(e->n - i - 1));
	e->n--;
}

/* Is @p v acceptable for declared attribute @p a of a T instance?
 * NULL, with @p v adapted (integer literals, docs/SCHEMA.md §6), or the
 * errno name. */
static const char *
m_check(struct mstate *s, int a, struct mval *v)
{
	const struct ment *t;

	switch (a) {
	case A_N:
		if (v->type == SCPP_VT_U64 && v->u <= INT64_MAX) {
			v->type = SCPP_VT_I64;
			v->i = (int64_t)v->u;
		}
		return v->type == SCPP_VT_I64 ? NULL : "EINVAL";
	case A_U:
	case A_D:
		if (v->type == SCPP_VT_I64 && v->i >= 0) {
			v->type = SCPP_VT_U64;
			v->u = (uint64_t)v->i;
		}
		return v->type == SCPP_VT_U64 ? NULL : "EINVAL";
	case A_S:
		return v->type == SCPP_VT_STR ? NULL : "EINVAL";
	case A_R:
		if (v->type != SCPP_VT_OID)
			return "EINVAL";
		t = m_find(s, v->o);
		if (t == NULL)
			return "ENOENT";
		return t->typed ? NULL : "EINVAL";
	default:
		return "EINVAL"; /* undeclared */
	}
}

/* Is a T instance complete and well-typed? */
static const char *
m_check_whole(struct mstate *s, struct ment *e, bool fill)
{
	if (fill && m_attr(e, A_D) < 0) {
		struct mval d = {.type = SCPP_VT_U64, .u = 7};

		m_put(e, A_D, &d);
	}
	if (m_attr(e, A_N) < 0 || m_attr(e, A_D) < 0)
		return "EINVAL";
	for (int i = 0; i < e->n; i++) {
		struct mval v = e->v[i];
		const char *err = m_check(s, e->attr[i], &v);

		if (err != NULL)
			return err;
		if (!mval_eq(&v, &e->v[i]))
			return "EINVAL"; /* stored as another integer type */
	}
	return NULL;
}

/* ---- blocks ---- */

enum op { OP_GET, OP_FIND, OP_SET, OP_DEL, OP_CREATE, OP_TYPE };

struct gcmd {
	enum op op;
	int ent;               /* 0..3: E[ent]; 4: %x (created) */
	int attr;
	int val;
	int var;               /* OP_GET: result variable index */
};

struct res {
	char outcome[16];
	char err[24];
	int cmd;
	char rows[512];
};

static int
gen_block(struct gcmd *c, char *text, size_t size)
{
	int n = 1 + (int)rnd(4), ngets = 0;
	bool created = false, found = false;
	size_t off = 0;

	for (int i = 0; i < n; i++) {
		struct gcmd *g = &c[i];
		char et[SCPP_OID_STR_MAX + 2], vt[64];
		struct mval mv;
		uint64_t k = rnd(100);

		memset(g, 0, sizeof(*g));
		g->ent = created && rnd(3) == 0 ? 4 : (int)rnd(4);
		if (g->ent == 4)
			snprintf(et, sizeof(et), "%%x");
		else
			scpp_oid_format(et, sizeof(et), E[g->ent]);
		g->attr = (int)rnd(NATTR);
		g->val = (int)rnd(NVAL);
		value_of(g->val, vt, sizeof(vt), &mv);
		if (k < 20) {
			g->op = OP_GET;
			g->var = ngets++;
			off += (size_t)snprintf(text + off, size - off, "get %s %s %%g%d ; ", et,
						ANAME[g->attr], g->var);
		} else if (k < 32) {
			g->op = OP_FIND;
			found = true;
			g->attr = (int)rnd(3) == 0 ? A_S : (rnd(2) ? A_U : A_N);
			g->var = ngets++;
			off += (size_t)snprintf(text + off, size - off, "get %%f%d %s %s ; ", g->var,
						ANAME[g->attr], vt);
		} else if (k < 72) {
			g->op = OP_SET;
			off += (size_t)snprintf(text + off, size - off, "set %s %s %s ; ", et,
						ANAME[g->attr], vt);
		} else if (k < 82) {
			g->op = OP_DEL;
			off += (size_t)snprintf(text + off, size - off, "del %s %s ; ", et,
						ANAME[g->attr]);
		} else if (k < 92 && !created && !found && i + 1 < n) {
			g->op = OP_CREATE;
			created = true;
			off += (size_t)snprintf(text + off, size - off, "create %%x T ; ");
			/* Often complete it, so that creations also commit. */
			if (rnd(2)) {
				g = &c[++i];
				memset(g, 0, sizeof(*g));
				g->op = OP_SET;
				g->ent = 4;
				g->attr = A_N;
				g->val = 2;
				off += (size_t)snprintf(text + off, size - off, "set %%x n 5 ; ");
			}
		} else if (k < 96 && i + 2 < n) {
			/* An untyped entity made complete, then typed. */
			int ent = 2 + (int)rnd(2);
			char to[SCPP_OID_STR_MAX];

			scpp_oid_format(et, sizeof(et), E[ent]);
			scpp_oid_format(to, sizeof(to), T_OID);
			g->op = OP_SET, g->ent = ent, g->attr = A_N, g->val = 1;
			g = &c[++i];
			memset(g, 0, sizeof(*g));
			g->op = OP_SET, g->ent = ent, g->attr = A_D, g->val = 3;
			g = &c[++i];
			memset(g, 0, sizeof(*g));
			g->op = OP_TYPE, g->ent = ent;
			off += (size_t)snprintf(text + off, size - off,
						"set %s n 0 ; set %s d 3u ; set %s type %s ; ", et, et,
						et, to);
		} else {
			char to[SCPP_OID_STR_MAX];

			g->op = OP_TYPE;
			g->ent = 2 + (int)rnd(2);
			scpp_oid_format(et, sizeof(et), E[g->ent]);
			scpp_oid_format(to, sizeof(to), T_OID);
			off += (size_t)snprintf(text + off, size - off, "set %s type %s ; ", et, to);
		}
	}
	off += (size_t)snprintf(text + off, size - off, "return");
	for (int i = 0; i < n; i++)
		if (c[i].op == OP_GET)
			off += (size_t)snprintf(text + off, size - off, " %%g%d", c[i].var);
		else if (c[i].op == OP_FIND)
			off += (size_t)snprintf(text + off, size - off, " %%f%d", c[i].var);
	return n;
}

/* OIDs of the universe before the block: any other one in a row is the
 * entity the block created, whose OID only the shard knows. */
static struct scpp_oid known[MAXE];
static int nknown;

static bool
is_new(struct scpp_oid o)
{
	if (o.hi == UINT64_MAX && o.lo == UINT64_MAX)
		return true; /* the reference's placeholder */
	if (oid_eq(o, MISSING))
		return false;
	for (int i = 0; i < nknown; i++)
		if (oid_eq(known[i], o))
			return false;
	return true;
}

static void
fmt_mval(char *buf, size_t size, const struct mval *v)
{
	char o[SCPP_OID_STR_MAX];

	if (v->type == SCPP_VT_OID && is_new(v->o)) {
		snprintf(buf, size, "<created>");
		return;
	}
	switch (v->type) {
	case SCPP_VT_I64: snprintf(buf, size, "%" PRId64, v->i); break;
	case SCPP_VT_U64: snprintf(buf, size, "%" PRIu64 "u", v->u); break;
	case SCPP_VT_BOOL: snprintf(buf, size, "%s", v->u ? "true" : "false"); break;
	case SCPP_VT_OID: scpp_oid_format(o, sizeof(o), v->o); snprintf(buf, size, "%s", o); break;
	case SCPP_VT_STR: snprintf(buf, size, "\"%s\"", v->s); break;
	default: snprintf(buf, size, "?"); break;
	}
}

static int
n_returned(const struct gcmd *c, int n)
{
	int k = 0;

	for (int i = 0; i < n; i++)
		k += c[i].op == OP_GET || c[i].op == OP_FIND;
	return k;
}

/*
 * The reference: one row at most (no command here produces two rows but a
 * search, and a search's rows all carry values no later command reads, so
 * the rows are the product of each command's matches: kept as lists).
 */
static void
ref_block(const struct gcmd *c, int n, struct res *out)
{
	struct mstate save = M;
	struct ment *created = NULL;
	/* Entities to check at the end, in the order they became typed:
	 * created ones get their defaults first. */
	struct ment *chk[8];
	bool fill[8];
	int nchk = 0;
	char cols[8][128];
	int ncols = 0, rows = 1;
	const char *err = NULL;
	int at = 0;

	memset(out, 0, sizeof(*out));
	/* With no row left, the remaining commands have nothing to run on. */
	for (at = 0; at < n && err == NULL && rows > 0; at++) {
		const struct gcmd *g = &c[at];
		struct ment *e = g->ent == 4 ? created : m_find(&M, E[g->ent]);
		char vt[64];
		struct mval v;
		int i;

		value_of(g->val, vt, sizeof(vt), &v);
		switch (g->op) {
		case OP_GET:
			if (e == NULL || (i = m_attr(e, g->attr)) < 0) {
				err = "ENOENT";
				break;
			}
			fmt_mval(cols[ncols++], sizeof(cols[0]), &e->v[i]);
			break;
		case OP_FIND: {
			int hits = 0;

			/* The value as written: a search adapts nothing. */
			for (int k = 0; k < M.n; k++) {
				int j = m_attr(&M.e[k], g->attr);

				if (j >= 0 && mval_eq(&M.e[k].v[j], &v)) {
					if (hits == 0) {
						struct mval ov = {.type = SCPP_VT_OID, .o = M.e[k].oid};

						fmt_mval(cols[ncols], sizeof(cols[0]), &ov);
					}
					hits++;
				}
			}
			if (hits == 0)
				rows = 0;
			else if (hits > 1)
				snprintf(cols[ncols], sizeof(cols[0]), "*%d", hits);
			rows *= hits;
			ncols++;
			break;
		}
		case OP_SET:
			if (e == NULL) {
				err = "ENOENT";
				break;
			}
			if (e->typed && (err = m_check(&M, g->attr, &v)) != NULL)
				break;
			m_put(e, g->attr, &v);
			break;
		case OP_DEL:
			if (e == NULL) {
				err = "ENOENT";
				break;
			}
			i = m_attr(e, g->attr);
			if (e->typed && (g->attr == A_N || g->attr == A_D)) {
				err = "EINVAL"; /* a required attribute */
				break;
			}
			if (i < 0) {
				err = "ENOENT";
				break;
			}
			m_remove(e, i);
			/* Each row deletes: the second finds nothing. */
			if (rows > 1)
				err = "ENOENT";
			break;
		case OP_CREATE:
			SCPP_VERIFY(M.n < MAXE);
			created = &M.e[M.n++];
			memset(created, 0, sizeof(*created));
			created->oid = (struct scpp_oid){.hi = UINT64_MAX, .lo = UINT64_MAX};
			created->typed = true;
			fill[nchk] = true;
			chk[nchk++] = created;
			break;
		case OP_TYPE:
			if (e->typed)
				break; /* its own type again: accepted, nothing changes */
			e->typed = true;
			fill[nchk] = false;
			chk[nchk++] = e;
			break;
		}
	}
	if (err == NULL) {
		at = n;
		if (rows == 0)
			ncols = n_returned(c, n);
		for (int k = 0; err == NULL && k < nchk; k++)
			err = m_check_whole(&M, chk[k], fill[k]);
	} else {
		at--;
	}
	if (err != NULL) {
		M = save;
		snprintf(out->outcome, sizeof(out->outcome), "aborted");
		snprintf(out->err, sizeof(out->err), "%s", err);
		out->cmd = at;
		return;
	}
	snprintf(out->outcome, sizeof(out->outcome), "ok");
	out->cmd = -1;
	for (int k = 0; k < nchk; k++)
		*(fill[k] ? &n_created : &n_given) += 1;
	for (int k = 0; k < n && rows > 0; k++) {
		n_index_hits += c[k].op == OP_FIND && c[k].attr == A_U;
		n_ref_ok += c[k].op == OP_SET && c[k].attr == A_R;
	}
	if (rows == 1 && ncols > 0) {
		size_t off = 0;

		for (int k = 0; k < ncols; k++)
			off += (size_t)snprintf(out->rows + off, sizeof(out->rows) - off, "%s%s",
						k ? "|" : "", cols[k]);
	} else {
		snprintf(out->rows, sizeof(out->rows), "%d rows", ncols > 0 ? rows : 1);
	}
}

/* ---- the real side ---- */

static void
real_block(const char *text, struct res *out)
{
	struct scpp_wire_reply_reader rd;
	struct scpp_wire_record rec;
	struct scpp_wire_reply_writer w;
	struct scpp_lang_error lerr;
	int nrows = 0;
	size_t off = 0;

	memset(out, 0, sizeof(*out));
	out->cmd = -1;
	assert_int_equal(scpp_lang_parse(text, strlen(text), &F->blk, F->arena, sizeof(F->arena),
					 &lerr), 0);
	scpp_wire_reply_writer_init(&w, F->reply, sizeof(F->reply));
	assert_int_equal(scpp_eval_block(F->ctx, &F->env, &F->blk, 1, &w, &F->res), 0);
	scpp_wire_reply_reader_init(&rd, F->reply, w.len);
	while (scpp_wire_reply_next(&rd, &rec) == 1) {
		if (rec.type == SCPP_REC_ROW) {
			nrows++;
			for (uint16_t i = 0; nrows == 1 && i < rec.row.n; i++) {
				struct mval v = from_value(&rec.row.v[i]);
				char b[128];

				fmt_mval(b, sizeof(b), &v);
				off += (size_t)snprintf(out->rows + off, sizeof(out->rows) - off, "%s%s",
							i ? "|" : "", b);
			}
		} else if (rec.type == SCPP_REC_STATUS) {
			for (uint16_t i = 0; i < rec.status.n; i++) {
				if (rec.status.key[i].len == 10 &&
				    memcmp(rec.status.key[i].p, "errno_name", 10) == 0)
					snprintf(out->err, sizeof(out->err), "%.*s", rec.status.v[i].len,
						 (const char *)rec.status.v[i].p);
				if (rec.status.key[i].len == 7 &&
				    memcmp(rec.status.key[i].p, "command", 7) == 0)
					out->cmd = (int)rec.status.v[i].u;
			}
		} else if (rec.type == SCPP_REC_END) {
			snprintf(out->outcome, sizeof(out->outcome), "%s",
				 rec.end.outcome == SCPP_OUTCOME_OK ? "ok" : "aborted");
		}
	}
	if (strcmp(out->outcome, "ok") == 0) {
		out->cmd = -1;
		if (nrows != 1 || F->blk.nret == 0)
			snprintf(out->rows, sizeof(out->rows), "%d rows", F->blk.nret == 0 ? 1 : nrows);
	}
}

/* The real shard's non-schema entities, as the reference keeps them. */
static void
snapshot(struct mstate *s)
{
	struct scpp_oid batch[64];
	uint64_t cur = 0;
	int n;

	memset(s, 0, sizeof(*s));
	while ((n = scpp_store_entity_iter(F->store, &cur, batch, 64)) > 0) {
		for (int i = 0; i < n; i++) {
			struct scpp_value tv;
			struct ment *e;
			bool typed = false;

			if (scpp_store_get(F->store, batch[i], type_aid, &tv) == 0) {
				if (tv.type == SCPP_VT_OID && !oid_eq(tv.oid, T_OID))
					continue; /* a schema entity or another core type */
				typed = tv.type == SCPP_VT_OID;
			}
			SCPP_VERIFY(s->n < MAXE);
			e = &s->e[s->n++];
			e->oid = batch[i];
			e->typed = typed;
			/* Attributes in the store's order: a type check of the
			 * whole entity reports the first bad one in that order. */
			{
				struct scpp_store_attr at[16];
				uint64_t ac = 0;
				int na;

				while ((na = scpp_store_attr_iter(F->store, batch[i], &ac, at, 16)) > 0) {
					for (int j = 0; j < na; j++) {
						struct scpp_value v;
						int a;

						for (a = 0; a < NATTR && aid[a] != at[j].attr; a++)
							;
						if (a == NATTR || at[j].is_map ||
						    scpp_store_get(F->store, batch[i], aid[a], &v) != 0)
							continue;
						SCPP_VERIFY(e->n < MAXA);
						e->attr[e->n] = a;
						e->v[e->n++] = from_value(&v);
					}
					if (ac == UINT64_MAX)
						break;
				}
			}
		}
		if (cur == UINT64_MAX)
			break;
	}
}

static bool
same_entity(const struct ment *a, const struct ment *b)
{
	if (a->typed != b->typed || a->n != b->n)
		return false;
	for (int i = 0; i < a->n; i++) {
		int j = m_attr(b, a->attr[i]);

		if (j < 0 || !mval_eq(&a->v[i], &b->v[j]))
			return false;
	}
	return true;
}

/* Compare; adopt the real OID of a created entity. */
static bool
same_state(const struct mstate *real)
{
	if (real->n != M.n)
		return false;
	for (int i = 0; i < M.n; i++) {
		if (M.e[i].oid.hi == UINT64_MAX)
			M.e[i].oid = real->e[i].oid;
		if (!oid_eq(M.e[i].oid, real->e[i].oid) || !same_entity(&M.e[i], &real->e[i]))
			return false;
	}
	return true;
}

static int64_t
intern(const char *name)
{
	int64_t id = scpp_store_dict_intern(F->dict, name, strlen(name));

	assert_true(id > 0);
	return id;
}

/* E0, E1 complete instances of T; E2, E3 untyped and empty. */
static void
make_universe(void)
{
	for (int i = 0; i < 4; i++) {
		char text[256], o[SCPP_OID_STR_MAX], t[SCPP_OID_STR_MAX];

		assert_int_equal(scpp_store_entity_create(F->store, E[i]), 0);
		if (i >= 2)
			continue;
		scpp_oid_format(o, sizeof(o), E[i]);
		scpp_oid_format(t, sizeof(t), T_OID);
		snprintf(text, sizeof(text), "set %s type %s ; set %s n %d ; set %s d 1u", o, t, o,
			 i, o);
		assert_string_equal(fx_run(F, text), "cols= rows= end=ok");
	}
	snapshot(&M);
	assert_int_equal(M.n, 4);
}

/* A new episode: every entity of the universe deleted, then made again. */
static void
reset_universe(void)
{
	for (int i = 0; i < M.n; i++)
		assert_int_equal(scpp_store_entity_delete(F->store, M.e[i].oid), 0);
	scpp_store_end_block(F->store, UINT64_MAX);
	make_universe();
}

static void
setup_universe(void)
{
	const char *root = getenv("SCPP_SOURCE_ROOT");
	char path[4096], *core;
	const char *names[2] = {"core.json", "typed_diff.json"}, *texts[2];
	size_t lens[2];
	struct scpp_schema_conf conf;
	struct scpp_schema_diag diag;
	FILE *f;
	long len;

	fx_no_materialize = 1;
	F = fx_new(false, NULL);
	snprintf(path, sizeof(path), "%s/schema/core.json", root ? root : ".");
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	core = malloc((size_t)len);
	assert_non_null(core);
	assert_int_equal(fread(core, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	texts[0] = core;
	lens[0] = (size_t)len;
	texts[1] = SCHEMA_T;
	lens[1] = sizeof(SCHEMA_T) - 1;
	memset(&conf, 0, sizeof(conf));
	conf.intern = scpp_schema_store_intern;
	conf.intern_ctx = F->dict;
	if (scpp_schema_load_strings(names, texts, lens, 2, &conf, &F->schema, &diag) != 0)
		fail_msg("schema: %s", diag.msg);
	free(core);
	assert_int_equal(scpp_schema_materialize(F->schema, F->store), 0);
	F->env.schema = F->schema;
	T_OID = scpp_schema_type_get_oid(scpp_schema_type_by_name(F->schema, "T"));
	type_aid = scpp_schema_type_attr_id(F->schema);
	for (int a = 0; a < NATTR; a++)
		aid[a] = (uint32_t)intern(ANAME[a]);
	for (int i = 0; i < 4; i++)
		E[i] = scpp_oid_make(0, 1, 0, 0x10, (uint64_t)i + 1);
	MISSING = scpp_oid_make(0, 1, 0, 0x10, 99);
	make_universe();
}

static void
test_eval_typed_blocks_match_the_reference(void **state)
{
	uint64_t n = BLOCKS_DEFAULT, bad = 0, aborted = 0, ok = 0;
	const char *env = getenv("SCPP_EVAL_DIFF_BLOCKS");

	(void)state;
	if (env != NULL)
		n = strtoull(env, NULL, 10) / 5;
	setup_universe();
	for (uint64_t b = 0; b < n; b++) {
		struct gcmd c[12];
		char text[2048];
		struct res want, got;
		struct mstate real;
		int nc = gen_block(c, text, sizeof(text));

		/* Episodes of 500 blocks keep the universe small and give the
		 * untyped entities back (a type, once given, stays). */
		if (b % 500 == 499 || M.n > MAXE - 8)
			reset_universe();
		nknown = M.n;
		for (int i = 0; i < M.n; i++)
			known[i] = M.e[i].oid;
		ref_block(c, nc, &want);
		real_block(text, &got);
		snapshot(&real);
		if (strcmp(want.outcome, got.outcome) != 0 || strcmp(want.err, got.err) != 0 ||
		    want.cmd != got.cmd || strcmp(want.rows, got.rows) != 0 || !same_state(&real)) {
			if (bad++ < 5)
				fprintf(stderr, "block %" PRIu64 ": %s\n  reference: %s %s@%d [%s]\n"
					"  evaluator: %s %s@%d [%s]\n", b, text, want.outcome, want.err,
					want.cmd, want.rows, got.outcome, got.err, got.cmd, got.rows);
			M = real;
			continue;
		}
		/* Same contents: take the shard's attribute order (an abort
		 * moves a restored attribute to the end, docs/PROTOCOL.md §15). */
		M = real;
		if (strcmp(got.outcome, "ok") == 0)
			ok++;
		else
			aborted++;
	}
	fprintf(stderr, "typed: %" PRIu64 " ok, %" PRIu64 " aborted, %" PRIu64 " disagree\n", ok,
		aborted, bad);
	fprintf(stderr, "typed: %" PRIu64 " objects created, %" PRIu64 " entities given a type, "
		"%" PRIu64 " index searches, %" PRIu64 " references set, in committed blocks\n",
		n_created, n_given, n_index_hits, n_ref_ok);
	/* Both kinds of outcome happen and every typed path is taken, or the
	 * test checks too little. */
	assert_true(ok > 100 && aborted > 100);
	assert_true(n_created > 10 && n_given > 10 && n_index_hits > 10 && n_ref_ok > 10);
	assert_int_equal(bad, 0);
	fx_free(F);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eval_typed_blocks_match_the_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
