/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Computation inside blocks (docs/PROTOCOL.md §8.1 and §15 "Computation"):
 * expressions (OP terms), command guards (`when EXPR`), and the commands
 * built on them:
 *
 *   let %x EXPR        bind %x to the value (or keep the row only if equal)
 *   where EXPR         keep the row only if EXPR is true
 *   assert EXPR ERRNO  fail with ERRNO unless EXPR is true
 *   write ADDR VAL     write bytes at an address, extending the value
 *   resize E A N       make a byte string N bytes long
 *
 * Why these and not more: a syscall proxy must check a request against the
 * state (permission bits, owner, file type, emptiness, a directory's
 * ancestors) and derive the new state (link counts, sizes, times) inside
 * the one block that makes the change, or the check and the change are not
 * atomic. That needs arithmetic, comparison, bit tests and disjunction over
 * values the block reads, a way to fail with the right errno, conditional
 * effects, and byte writes that can grow a value. Everything else stays in
 * the existing commands.
 *
 * Design notes
 * ------------
 * - An expression is evaluated per row, depth first, operands left to
 *   right; if() evaluates only the branch it takes, and()/or() stop at the
 *   first operand that decides. Nesting is bounded by the wire
 *   (SCPP_WIRE_EXPR_DEPTH_MAX), so the recursion here is too.
 * - Results never borrow store memory: integers and bools are computed,
 *   str/bytes results are an operand itself (a constant of the block, a
 *   row's value, both stable for the block) or a copy into the block arena
 *   (store reads, charged to max_bytes). So let binds without copying.
 * - Cost: one step per operator evaluated, which for the store operators
 *   covers their lookup; reach() costs a step per hop and find() one per
 *   entity scanned or index match; operators that examine str/bytes
 *   operands (comparisons, hash) cost one more step per 4 KiB examined, so
 *   no expression does unbounded work under one step.
 * - Integers: i64 and u64 operands mix and are compared by value
 *   (eq(5u, 5) is true, unlike get's value match); arithmetic is exact and
 *   its result has the first operand's type, ERANGE when it does not fit.
 * - write and resize keep the undo rules of the other writes: everything
 *   they change is recorded before it changes (old bytes, old length), so a
 *   failure after a change, an abort or a collected status undoes it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "eval_priv.h"

/* Steps an operator pays per 4 KiB of str/bytes it examines. */
#define XBYTES_PER_STEP 4096u

static const char *
vtext(char *buf, size_t size, const struct scpp_value *v)
{
	scpp_value_format(buf, size, v);
	return buf;
}

static const char *
xname(unsigned int op)
{
	return scpp_wire_xops[op].name;
}

static bool
is_int(const struct scpp_value *v)
{
	return v->type == SCPP_VT_I64 || v->type == SCPP_VT_U64;
}

static bool
is_bytes(const struct scpp_value *v)
{
	return v->type == SCPP_VT_STR || v->type == SCPP_VT_BYTES;
}

static __int128
ival(const struct scpp_value *v)
{
	return v->type == SCPP_VT_I64 ? (__int128)v->i : (__int128)v->u;
}

static SCPP_COLD int
type_fail(struct run *r, unsigned int op, const char *want, const struct scpp_value *got)
{
	char b[64];

	return eval_run_fail(r, -SCPP_E_TYPE, "%s(): operand must be %s, got %s", xname(op), want,
			     vtext(b, sizeof(b), got));
}

/* An integer of type @p type holding @p x, or ERANGE. */
static int
make_int(struct run *r, unsigned int op, uint8_t type, __int128 x, struct scpp_value *out)
{
	if (type == SCPP_VT_U64 && x >= 0 && x <= (__int128)UINT64_MAX) {
		*out = scpp_value_u64((uint64_t)x);
		return 0;
	}
	if (type == SCPP_VT_I64 && x >= INT64_MIN && x <= INT64_MAX) {
		*out = scpp_value_i64((int64_t)x);
		return 0;
	}
	return eval_run_fail(r, -ERANGE, "%s(): result out of range for %s", xname(op),
			     type == SCPP_VT_U64 ? "u64" : "i64");
}

/* Charge the str/bytes an operator examines. */
static int
charge_examined(struct run *r, const struct scpp_value *a, const struct scpp_value *b)
{
	uint64_t n = (is_bytes(a) ? a->len : 0) + (b != NULL && is_bytes(b) ? b->len : 0);

	return n >= XBYTES_PER_STEP ? eval_run_step(r, n / XBYTES_PER_STEP) : 0;
}

/* The expression order: integers by value, everything else by the value
 * order of docs/PROTOCOL.md §4. */
static int
xcmp(const struct scpp_value *a, const struct scpp_value *b)
{
	if (is_int(a) && is_int(b)) {
		__int128 x = ival(a), y = ival(b);

		return x < y ? -1 : x > y;
	}
	return scpp_value_cmp(a, b);
}

/* FNV-1a, 64 bits. */
static uint64_t
fnv1a(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

/* hash(v): FNV-1a 64 of v's wire encoding (docs/PROTOCOL.md §4). */
static uint64_t
value_hash(const struct scpp_value *v)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	uint8_t head[24];
	int n;

	if (is_bytes(v)) {
		head[0] = v->type;
		n = 1 + (int)scpp_varint_encode(head + 1, v->len);
		h = fnv1a(h, head, (size_t)n);
		return fnv1a(h, v->p, v->len);
	}
	n = scpp_value_encode(head, sizeof(head), v);
	return fnv1a(h, head, n > 0 ? (size_t)n : 0);
}

static int64_t
realtime_now(const struct scpp_eval_env *env)
{
	struct timespec ts;

	if (env->realtime_ns != NULL)
		return env->realtime_ns();
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int x_eval(struct run *r, const struct row *in, uint16_t ti, struct scpp_value *out);

/* An operand that must be of one kind. */
static int
eval_bool(struct run *r, const struct row *in, unsigned int op, uint16_t ti, bool *out)
{
	struct scpp_value v;
	int rc = x_eval(r, in, ti, &v);

	if (rc < 0)
		return rc;
	if (v.type != SCPP_VT_BOOL)
		return type_fail(r, op, "a bool", &v);
	*out = v.b;
	return 0;
}

static int
eval_int(struct run *r, const struct row *in, unsigned int op, uint16_t ti, struct scpp_value *out)
{
	int rc = x_eval(r, in, ti, out);

	if (rc < 0)
		return rc;
	if (!is_int(out))
		return type_fail(r, op, "an integer", out);
	return 0;
}

/* ---- operators that read the store ---- */

/* The entity operand: an OID of an entity here (ENOENT, or E_NOT_HERE when
 * it lives on another shard or node). */
static int
eval_entity(struct run *r, const struct row *in, unsigned int op, uint16_t ti,
	    struct scpp_oid *out)
{
	struct scpp_value v;
	int rc = x_eval(r, in, ti, &v);

	if (rc < 0)
		return rc;
	if (v.type != SCPP_VT_OID)
		return type_fail(r, op, "an oid (the entity)", &v);
	if (!scpp_store_entity_exists(eval_run_env(r)->store, v.oid))
		return eval_run_missing(r, v.oid);
	*out = v.oid;
	return 0;
}

/* The attribute operand: a non-empty string; its id, or 0 when nothing can
 * have it (the name was never stored). */
static int
eval_attr(struct run *r, const struct row *in, unsigned int op, uint16_t ti, uint32_t *aid,
	  struct scpp_value *name)
{
	int64_t id;
	int rc = x_eval(r, in, ti, name);

	if (rc < 0)
		return rc;
	if (name->type != SCPP_VT_STR || name->len == 0)
		return type_fail(r, op, "a non-empty string (the attribute)", name);
	id = eval_run_attr_id(r, name, false);
	if (id < 0)
		return (int)id;
	*aid = (uint32_t)id;
	return 0;
}

/* A copy of a stored value that outlives the store's loan. */
static int
own_copy(struct run *r, const struct scpp_value *v, struct scpp_value *out)
{
	void *p;

	*out = *v;
	if (!is_bytes(v) || v->len == 0)
		return 0;
	p = eval_run_alloc(r, v->len);
	if (p == NULL)
		return -SCPP_E_LIMIT_BYTES;
	memcpy(p, v->p, v->len);
	out->p = p;
	return 0;
}

/* val(e, a), entry(e, a, k), count(e, a), length(e, a). */
static int
x_lookup(struct run *r, const struct row *in, const struct scpp_wire_term *t,
	 struct scpp_value *out)
{
	struct scpp_store *s = eval_run_env(r)->store;
	struct scpp_value name, key, v;
	struct scpp_oid e;
	char b1[64], b2[64];
	uint32_t aid;
	int64_t n;
	int rc;

	if ((rc = eval_entity(r, in, t->var, t->a, &e)) < 0 ||
	    (rc = eval_attr(r, in, t->var, t->b, &aid, &name)) < 0)
		return rc;
	if (t->var == SCPP_XOP_ENTRY && (rc = x_eval(r, in, t->c, &key)) < 0)
		return rc;
	/* A read of (e, a) like get's: the session must hold get on it. */
	if (aid != 0 && (rc = eval_run_authorize(r, xname(t->var), e, aid, SCPP_AUTH_OP_GET)) < 0)
		return rc;
	switch (t->var) {
	case SCPP_XOP_VAL:
		rc = aid == 0 ? -ENOENT : scpp_store_get(s, e, aid, &v);
		if (rc == 0 && v.type == SCPP_VT_BYTES &&
		    (rc = eval_run_read_busy(r, e, aid, v.p, v.len)) < 0)
			return rc;
		break;
	case SCPP_XOP_ENTRY:
		rc = aid == 0 ? -ENOENT : scpp_store_map_get(s, e, aid, &key, &v);
		break;
	case SCPP_XOP_CARD:
		n = aid == 0 ? -ENOENT : scpp_store_map_count(s, e, aid);
		*out = scpp_value_u64(n >= 0 ? (uint64_t)n : n == -EMEDIUMTYPE ? 1 : 0);
		return 0;
	default: /* LENGTH */
		rc = aid == 0 ? -ENOENT : scpp_store_get(s, e, aid, &v);
		if (rc == -ENOENT) {
			*out = scpp_value_u64(0);
			return 0;
		}
		if (rc == 0 && !is_bytes(&v))
			rc = -EMEDIUMTYPE;
		if (rc == 0) {
			*out = scpp_value_u64(v.len);
			return 0;
		}
		break;
	}
	if (rc == 0)
		return own_copy(r, &v, out);
	if (rc == -ENOENT) {
		*out = scpp_value_nil();
		return 0;
	}
	if (rc == -EMEDIUMTYPE) {
		v = scpp_value_oid(e);
		return eval_run_fail(r, -EMEDIUMTYPE, "%s(%s, %s): %s", xname(t->var),
				     vtext(b1, sizeof(b1), &v), vtext(b2, sizeof(b2), &name),
				     t->var == SCPP_XOP_VAL ? "a map: use entry(e, a, k)"
				     : t->var == SCPP_XOP_ENTRY ? "a plain attribute: use val(e, a)"
				     : "not a byte string");
	}
	return eval_run_store_fail(r, rc, xname(t->var), e, aid);
}

/* reach(e, a, t): is t on the chain e, e.a, e.a.a, ...? The chain ends at
 * an entity without a (or whose a is not an OID, or names no entity), or at
 * one whose a is itself (a root); at most SCPP_EVAL_REACH_MAX hops. */
static int
x_reach(struct run *r, const struct row *in, const struct scpp_wire_term *t,
	struct scpp_value *out)
{
	struct scpp_store *s = eval_run_env(r)->store;
	struct scpp_value name, target, v;
	struct scpp_oid x;
	uint32_t aid;
	int rc;

	if ((rc = eval_entity(r, in, t->var, t->a, &x)) < 0 ||
	    (rc = eval_attr(r, in, t->var, t->b, &aid, &name)) < 0 ||
	    (rc = x_eval(r, in, t->c, &target)) < 0)
		return rc;
	for (unsigned int hops = 0;; hops++) {
		if (target.type == SCPP_VT_OID && scpp_oid_eq(target.oid, x)) {
			*out = scpp_value_bool(true);
			return 0;
		}
		if (hops == SCPP_EVAL_REACH_MAX)
			return eval_run_fail(r, -ELOOP, "reach(): more than %u hops along %.*s",
					     SCPP_EVAL_REACH_MAX, (int)name.len,
					     (const char *)name.p);
		if ((rc = eval_run_step(r, 1)) < 0)
			return rc;
		if (aid != 0 && (rc = eval_run_authorize(r, "reach", x, aid, SCPP_AUTH_OP_GET)) < 0)
			return rc;
		if (aid == 0 || scpp_store_get(s, x, aid, &v) != 0 || v.type != SCPP_VT_OID ||
		    scpp_oid_eq(v.oid, x))
			break;
		if (!scpp_store_entity_exists(s, v.oid)) {
			if (!eval_run_local(r, v.oid))
				return eval_run_missing(r, v.oid);
			break; /* a dangling reference ends the chain */
		}
		x = v.oid;
	}
	*out = scpp_value_bool(false);
	return 0;
}

/* find(a, v): the first entity, in entity order, whose plain attribute a
 * equals v (as get matches values); nil if none. An indexed attribute costs
 * a step per match, any other one a step per entity. */
static int
x_find(struct run *r, const struct row *in, const struct scpp_wire_term *t,
       struct scpp_value *out)
{
	struct scpp_eval_ctx *c = eval_run_ctx(r);
	struct scpp_store *s = eval_run_env(r)->store;
	struct scpp_value name, want, v;
	uint64_t cursor = 0;
	uint32_t aid;
	int rc, n;

	if ((rc = eval_attr(r, in, t->var, t->a, &aid, &name)) < 0 ||
	    (rc = x_eval(r, in, t->b, &want)) < 0)
		return rc;
	*out = scpp_value_nil();
	if (aid == 0)
		return 0;
	if (!eval_is_pending(aid) && scpp_store_attr_indexed(s, aid)) {
		struct scpp_store_hit best = {.seq = UINT32_MAX};
		bool found = false;

		for (;;) {
			n = scpp_store_index_find(s, aid, &want, &cursor, c->ixhit, 32);
			if (n == -ESTALE)
				goto scan; /* index given up: scan, same answer */
			if (n < 0)
				return eval_run_fail(r, n, "find(): value index: %s", scpp_strerror(n));
			if ((rc = eval_run_step(r, (uint64_t)n)) < 0)
				return rc;
			for (int i = 0; i < n; i++)
				if ((!found || c->ixhit[i].seq < best.seq) &&
				    eval_run_may_read(r, c->ixhit[i].oid, aid)) {
					best = c->ixhit[i];
					found = true;
				}
			if (cursor == UINT64_MAX || n == 0)
				break;
		}
		if (found)
			*out = scpp_value_oid(best.oid);
		return 0;
	}
scan:
	cursor = 0;
	for (;;) {
		n = scpp_store_entity_iter(s, &cursor, c->iter_oid, SCPP_ARRAY_SIZE(c->iter_oid));
		if (n <= 0)
			return 0;
		for (int i = 0; i < n; i++) {
			if ((rc = eval_run_step(r, 1)) < 0)
				return rc;
			if (scpp_store_get(s, c->iter_oid[i], aid, &v) == 0 &&
			    scpp_value_eq(&v, &want) && eval_run_may_read(r, c->iter_oid[i], aid)) {
				*out = scpp_value_oid(c->iter_oid[i]);
				return 0;
			}
		}
		if (cursor == UINT64_MAX)
			return 0;
	}
}

/* read(addr, n): the bytes [off, off + n) of the byte string at the
 * address, cut at its end; empty past the end or for a missing attribute.
 * Always `bytes`, whatever the stored type. */
static int
x_read(struct run *r, const struct row *in, const struct scpp_wire_term *t,
       struct scpp_value *out)
{
	struct scpp_store *s = eval_run_env(r)->store;
	struct scpp_value n, v;
	struct scpp_oid e;
	uint64_t off, k;
	int64_t aid;
	void *p;
	int rc;

	if ((rc = eval_run_addr(r, in, t->a, false, &e, &aid, &off)) < 0 ||
	    (rc = eval_int(r, in, t->var, t->b, &n)) < 0)
		return rc;
	if (ival(&n) < 0)
		return type_fail(r, t->var, "a non-negative integer (the length)", &n);
	if (!scpp_store_entity_exists(s, e))
		return eval_run_missing(r, e);
	if (aid > 0 && (rc = eval_run_authorize(r, "read", e, aid, SCPP_AUTH_OP_GET)) < 0)
		return rc;
	*out = scpp_value_bytes("", 0);
	rc = aid == 0 ? -ENOENT : scpp_store_get(s, e, (uint32_t)aid, &v);
	if (rc == -ENOENT)
		return 0;
	if (rc == 0 && !is_bytes(&v))
		rc = -EMEDIUMTYPE;
	if (rc < 0)
		return eval_run_store_fail(r, rc, "read", e, aid);
	if (off >= v.len)
		return 0;
	k = SCPP_MIN((uint64_t)ival(&n), v.len - off);
	if (k == 0)
		return 0;
	if ((rc = eval_run_read_busy(r, e, aid, v.p + off, k)) < 0)
		return rc;
	if ((rc = eval_run_step(r, k / XBYTES_PER_STEP)) < 0)
		return rc;
	p = eval_run_alloc(r, k);
	if (p == NULL)
		return -SCPP_E_LIMIT_BYTES;
	memcpy(p, v.p + off, k);
	*out = scpp_value_bytes(p, (uint32_t)k);
	return 0;
}

/* ---- the evaluator ---- */

static int
x_arith(struct run *r, const struct row *in, const struct scpp_wire_term *t,
	struct scpp_value *out)
{
	struct scpp_value a, b;
	__int128 x, y, z;
	int rc;

	if ((rc = eval_int(r, in, t->var, t->a, &a)) < 0 ||
	    (rc = eval_int(r, in, t->var, t->b, &b)) < 0)
		return rc;
	x = ival(&a);
	y = ival(&b);
	switch (t->var) {
	case SCPP_XOP_ADD:
		z = x + y;
		break;
	case SCPP_XOP_SUB:
		z = x - y;
		break;
	case SCPP_XOP_MUL:
		if (__builtin_mul_overflow(x, y, &z))
			return make_int(r, t->var, a.type, (__int128)UINT64_MAX + 1, out);
		break;
	default: /* DIV, MOD */
		if (y == 0)
			return eval_run_fail(r, -EDOM, "%s(): division by zero", xname(t->var));
		z = t->var == SCPP_XOP_DIV ? x / y : x % y;
		break;
	}
	return make_int(r, t->var, a.type, z, out);
}

static int
x_bits(struct run *r, const struct row *in, const struct scpp_wire_term *t,
       struct scpp_value *out)
{
	struct scpp_value a, b;
	uint64_t x, y, z;
	int rc;

	if ((rc = eval_int(r, in, t->var, t->a, &a)) < 0 ||
	    (rc = eval_int(r, in, t->var, t->b, &b)) < 0)
		return rc;
	/* The 64-bit two's complement patterns; the result is read back as
	 * the first operand's type. */
	x = a.u;
	y = b.u;
	switch (t->var) {
	case SCPP_XOP_BAND:
		z = x & y;
		break;
	case SCPP_XOP_BOR:
		z = x | y;
		break;
	case SCPP_XOP_BXOR:
		z = x ^ y;
		break;
	default: /* SHL, SHR */
		if (ival(&b) < 0 || ival(&b) > 63)
			return eval_run_fail(r, -ERANGE, "%s(): shift count %lld is not 0..63",
					     xname(t->var), (long long)ival(&b));
		if (t->var == SCPP_XOP_SHL)
			z = x << y;
		else if (a.type == SCPP_VT_I64)
			z = (uint64_t)(a.i >> y);
		else
			z = x >> y;
		break;
	}
	*out = a.type == SCPP_VT_I64 ? scpp_value_i64((int64_t)z) : scpp_value_u64(z);
	return 0;
}

static int
x_compare(struct run *r, const struct row *in, const struct scpp_wire_term *t,
	  struct scpp_value *out)
{
	struct scpp_value a, b;
	int rc, c;

	if ((rc = x_eval(r, in, t->a, &a)) < 0 || (rc = x_eval(r, in, t->b, &b)) < 0 ||
	    (rc = charge_examined(r, &a, &b)) < 0)
		return rc;
	c = xcmp(&a, &b);
	switch (t->var) {
	case SCPP_XOP_MIN:
		*out = c <= 0 ? a : b;
		return 0;
	case SCPP_XOP_MAX:
		*out = c >= 0 ? a : b;
		return 0;
	case SCPP_XOP_EQ:
		*out = scpp_value_bool(c == 0);
		return 0;
	case SCPP_XOP_NE:
		*out = scpp_value_bool(c != 0);
		return 0;
	case SCPP_XOP_LT:
		*out = scpp_value_bool(c < 0);
		return 0;
	case SCPP_XOP_LE:
		*out = scpp_value_bool(c <= 0);
		return 0;
	case SCPP_XOP_GT:
		*out = scpp_value_bool(c > 0);
		return 0;
	default: /* GE */
		*out = scpp_value_bool(c >= 0);
		return 0;
	}
}

static int
x_logic(struct run *r, const struct row *in, const struct scpp_wire_term *t,
	struct scpp_value *out)
{
	bool p = false, q = false;
	int rc;

	if ((rc = eval_bool(r, in, t->var, t->a, &p)) < 0)
		return rc;
	switch (t->var) {
	case SCPP_XOP_NOT:
		*out = scpp_value_bool(!p);
		return 0;
	case SCPP_XOP_IF:
		return x_eval(r, in, p ? t->b : t->c, out);
	default: /* AND, OR: the second operand only when the first does not decide */
		if (p == (t->var == SCPP_XOP_OR)) {
			*out = scpp_value_bool(p);
			return 0;
		}
		if ((rc = eval_bool(r, in, t->var, t->b, &q)) < 0)
			return rc;
		*out = scpp_value_bool(q);
		return 0;
	}
}

/* The value of expression term @p ti in row @p in, into @p out. */
static int
x_eval(struct run *r, const struct row *in, uint16_t ti, struct scpp_value *out)
{
	const struct scpp_wire_term *t = &eval_run_block(r)->term[ti];
	struct scpp_eval_ctx *c;
	struct scpp_value a;
	int rc;

	if (t->kind != SCPP_TERM_OP) {
		struct eval_tv tv;

		eval_run_term(r, in, ti, &tv);
		if (!tv.bound)
			return eval_run_fail(r, -SCPP_E_UNBOUND, "expression operand %%%.*s must be "
					     "bound", eval_run_block(r)->var_name[tv.var].len,
					     eval_run_block(r)->var_name[tv.var].p);
		*out = tv.v;
		return 0;
	}
	if ((rc = eval_run_step(r, 1)) < 0)
		return rc;
	switch (t->var) {
	case SCPP_XOP_ADD:
	case SCPP_XOP_SUB:
	case SCPP_XOP_MUL:
	case SCPP_XOP_DIV:
	case SCPP_XOP_MOD:
		return x_arith(r, in, t, out);
	case SCPP_XOP_BAND:
	case SCPP_XOP_BOR:
	case SCPP_XOP_BXOR:
	case SCPP_XOP_SHL:
	case SCPP_XOP_SHR:
		return x_bits(r, in, t, out);
	case SCPP_XOP_MIN:
	case SCPP_XOP_MAX:
	case SCPP_XOP_EQ:
	case SCPP_XOP_NE:
	case SCPP_XOP_LT:
	case SCPP_XOP_LE:
	case SCPP_XOP_GT:
	case SCPP_XOP_GE:
		return x_compare(r, in, t, out);
	case SCPP_XOP_AND:
	case SCPP_XOP_OR:
	case SCPP_XOP_NOT:
	case SCPP_XOP_IF:
		return x_logic(r, in, t, out);
	case SCPP_XOP_LEN:
		if ((rc = x_eval(r, in, t->a, &a)) < 0)
			return rc;
		if (!is_bytes(&a))
			return type_fail(r, t->var, "a str or bytes value", &a);
		*out = scpp_value_u64(a.len);
		return 0;
	case SCPP_XOP_NOW:
		c = eval_run_ctx(r);
		if (!c->now_read) {
			c->now_ns = realtime_now(eval_run_env(r));
			c->now_read = true;
		}
		*out = scpp_value_i64(c->now_ns);
		return 0;
	case SCPP_XOP_HASH:
		if ((rc = x_eval(r, in, t->a, &a)) < 0 || (rc = charge_examined(r, &a, NULL)) < 0)
			return rc;
		*out = scpp_value_u64(value_hash(&a));
		return 0;
	case SCPP_XOP_VAL:
	case SCPP_XOP_ENTRY:
	case SCPP_XOP_CARD:
	case SCPP_XOP_LENGTH:
		return x_lookup(r, in, t, out);
	case SCPP_XOP_REACH:
		return x_reach(r, in, t, out);
	case SCPP_XOP_FIND:
		return x_find(r, in, t, out);
	case SCPP_XOP_READ:
		return x_read(r, in, t, out);
	default: /* the decoder and the builder admit no other operator */
		return eval_run_fail(r, -SCPP_E_BAD_TERM, "operator %u", t->var);
	}
}

/* ---- guards and the commands ---- */

static int
x_cond(struct run *r, const struct row *in, uint16_t ti, const char *what, bool *out)
{
	struct scpp_value v;
	char b[64];
	int rc = x_eval(r, in, ti, &v);

	if (rc < 0)
		return rc;
	if (v.type != SCPP_VT_BOOL)
		return eval_run_fail(r, -SCPP_E_TYPE, "%s must be a bool, got %s", what,
				     vtext(b, sizeof(b), &v));
	*out = v.b;
	return 0;
}

int
eval_x_guard(struct run *r, const struct scpp_wire_cmd *cmd, const struct row *in)
{
	bool g = false;
	int rc = x_cond(r, in, cmd->guard, "a guard", &g);

	return rc < 0 ? rc : g;
}

bool
eval_x_binds_or_checks(uint8_t op)
{
	return op == SCPP_OP_GET || op == SCPP_OP_CREATE || op == SCPP_OP_LET ||
	       op == SCPP_OP_WHERE || op == SCPP_OP_ASSERT;
}

void
eval_x_operand_refs(const struct scpp_wire_block *b, uint16_t t, uint16_t *refs)
{
	const struct scpp_wire_term *x = &b->term[t];
	const uint16_t kid[3] = {x->a, x->b, x->c};

	for (unsigned int i = 0; i < scpp_wire_xops[x->var].arity; i++)
		refs[kid[i]]++;
}

static int
op_let(struct run *r, const struct scpp_wire_cmd *cmd, const struct row *in)
{
	struct scpp_value v;
	struct eval_tv d;
	struct row *o;
	int rc;

	eval_run_term(r, in, cmd->term[0], &d);
	if ((rc = x_eval(r, in, cmd->term[1], &v)) < 0)
		return rc;
	/* A bound variable is matched, as get matches its value term. */
	if (d.bound && !scpp_value_eq(&d.v, &v))
		return 1;
	o = eval_run_emit(r, in);
	if (o == NULL)
		return eval_run_status(r)->code;
	if (!d.bound)
		eval_run_bind_owned(o, d.var, &v);
	return 1;
}

static int
op_where(struct run *r, const struct scpp_wire_cmd *cmd, const struct row *in)
{
	bool keep = false;
	int rc = x_cond(r, in, cmd->term[0], "where: the condition", &keep);

	if (rc < 0)
		return rc;
	if (keep && eval_run_emit(r, in) == NULL)
		return eval_run_status(r)->code;
	return 1;
}

static int
op_assert(struct run *r, const struct scpp_wire_cmd *cmd, const struct row *in)
{
	struct eval_tv t;
	uint32_t err = 0;
	char b[64];
	bool ok = false;
	int rc = x_cond(r, in, cmd->term[0], "assert: the condition", &ok);

	if (rc < 0)
		return rc;
	eval_run_term(r, in, cmd->term[1], &t);
	if (!t.bound)
		return eval_run_fail(r, -SCPP_E_UNBOUND, "assert: errno %%%.*s must be bound",
				     eval_run_block(r)->var_name[t.var].len,
				     eval_run_block(r)->var_name[t.var].p);
	if (t.v.type == SCPP_VT_U64 && t.v.u <= UINT32_MAX)
		err = (uint32_t)t.v.u;
	else if (t.v.type == SCPP_VT_I64 && t.v.i >= 0 && t.v.i <= UINT32_MAX)
		err = (uint32_t)t.v.i;
	else if (t.v.type == SCPP_VT_STR)
		err = scpp_errno_by_name((const char *)t.v.p, t.v.len);
	else
		return eval_run_fail(r, -SCPP_E_TYPE, "assert: errno must be a name or a number, "
				     "got %s", vtext(b, sizeof(b), &t.v));
	if (err == 0 || scpp_errno_name(err) == NULL)
		return eval_run_fail(r, -EINVAL, "assert: %s is not a canonical errno "
				     "(docs/ERRNO.md)", vtext(b, sizeof(b), &t.v));
	if (ok)
		return 0;
	return eval_run_fail(r, -scpp_errno_from_canonical(err), "assert failed: %s",
			     scpp_errno_name(err));
}

/* Write is refused on schema entities, as copy and alloc are; it needs
 * the session's set right on (e, a), as set does. */
static int
writable(struct run *r, const char *op, struct scpp_oid e, int64_t aid)
{
	int rc;

	if (!scpp_store_entity_exists(eval_run_env(r)->store, e))
		return eval_run_not_found(r, op, e, aid);
	if (eval_schema_is_schema_entity(eval_run_env(r), e))
		return eval_run_schema_refused(r, op, e, aid);
	rc = eval_schema_window_refused(eval_run_env(r), op, e, NULL, eval_run_status(r));
	if (rc < 0)
		return rc;
	return eval_run_authorize(r, op, e, aid, SCPP_AUTH_OP_SET);
}

/* Save @p n bytes of @p v from @p off for undo (pushed now, so it is
 * undone after everything pushed later). */
static int
save_bytes(struct run *r, struct scpp_oid e, uint32_t aid, const struct scpp_value *v,
	   uint64_t off, uint64_t n)
{
	struct undo *u;
	void *p;

	if (n == 0)
		return 0;
	p = eval_run_alloc(r, n);
	if (p == NULL)
		return -SCPP_E_LIMIT_BYTES;
	memcpy(p, v->p + off, n);
	u = eval_run_undo(r, UNDO_BYTES, e, aid);
	if (u == NULL)
		return -SCPP_E_LIMIT_STEPS;
	u->off = off;
	u->old = scpp_value_bytes(p, (uint32_t)n);
	return 0;
}

/* Change the length of (e, aid) from @p old to @p n, recording the old one. */
static int
set_length(struct run *r, struct scpp_oid e, uint32_t aid, uint64_t old, uint64_t n)
{
	struct undo *u = eval_run_undo(r, UNDO_LENGTH, e, aid);
	int rc;

	if (u == NULL)
		return -SCPP_E_LIMIT_STEPS;
	u->off = old;
	rc = scpp_store_bytes_resize(eval_run_env(r)->store, e, aid, n);
	if (rc < 0) {
		eval_run_undo_drop(r, eval_run_ctx(r)->nundo - 1);
		return eval_run_store_fail(r, rc, "resize", e, aid);
	}
	return 0;
}

/* A str value must stay UTF-8 as a whole (checked after the change; the
 * undo log takes it back). */
static int
check_str(struct run *r, struct scpp_oid e, uint32_t aid)
{
	struct scpp_value v;

	if (scpp_store_get(eval_run_env(r)->store, e, aid, &v) == 0 && v.type == SCPP_VT_STR &&
	    !scpp_utf8_valid(v.p, v.len))
		return eval_run_fail(r, -SCPP_E_BAD_UTF8, "the string would not be UTF-8");
	return 0;
}

/* Create (e, aid) as @p type holding @p len bytes: @p off zeros then @p src
 * (len - off bytes; NULL: zeros). */
static int
create_bytes(struct run *r, const char *op, struct scpp_oid e, int64_t aid, uint8_t type,
	     uint64_t off, uint64_t len, const void *src)
{
	static const uint8_t empty[1];
	struct scpp_store *s = eval_run_env(r)->store;
	struct scpp_value v;
	uint8_t *p = (uint8_t *)(uintptr_t)empty;
	int rc;

	if (type == SCPP_VT_NIL)
		return eval_run_fail(r, -SCPP_E_SCHEMA, "%s: attribute is not a byte string in the "
				     "schema", op);
	if (len > UINT32_MAX)
		return eval_run_store_fail(r, -E2BIG, op, e, aid);
	if (len > 0) {
		p = eval_run_alloc(r, len);
		if (p == NULL)
			return -SCPP_E_LIMIT_BYTES;
		memset(p, 0, off);
		if (src != NULL)
			memcpy(p + off, src, len - off);
		else
			memset(p + off, 0, len - off);
	}
	v = type == SCPP_VT_STR ? scpp_value_str((const char *)p, (uint32_t)len)
				: scpp_value_bytes(p, (uint32_t)len);
	if (type == SCPP_VT_STR && !scpp_utf8_valid(v.p, v.len))
		return eval_run_fail(r, -SCPP_E_BAD_UTF8, "%s would create a string that is not "
				     "UTF-8", op);
	rc = eval_schema_check_set(eval_run_ctx(r), eval_run_env(r), e, (uint32_t)aid, NULL, &v,
				   eval_run_status(r));
	if (rc < 0)
		return rc;
	if (eval_run_undo(r, UNDO_TRIPLE, e, (uint32_t)aid) == NULL)
		return -SCPP_E_LIMIT_STEPS;
	rc = scpp_store_set(s, e, (uint32_t)aid, &v);
	if (rc < 0) {
		eval_run_undo_drop(r, eval_run_ctx(r)->nundo - 1);
		return eval_run_store_fail(r, rc, op, e, aid);
	}
	return 0;
}

/*
 * write ADDR VAL: the bytes of VAL at the address. A range past the end
 * grows the value (zeros between its old end and the offset); a missing
 * attribute is created (zeros before the offset), with the type the schema
 * gives it (bytes when free-form).
 */
static int
op_write(struct run *r, const struct scpp_wire_cmd *cmd, const struct row *in)
{
	struct scpp_store *s = eval_run_env(r)->store;
	struct scpp_value cur;
	struct eval_tv d;
	struct scpp_oid e;
	uint64_t off, end;
	int64_t aid;
	char b[64];
	int rc;

	if ((rc = eval_run_addr(r, in, cmd->term[0], true, &e, &aid, &off)) < 0)
		return rc;
	eval_run_term(r, in, cmd->term[1], &d);
	if (!d.bound)
		return eval_run_fail(r, -SCPP_E_UNBOUND, "write: data %%%.*s must be bound",
				     eval_run_block(r)->var_name[d.var].len,
				     eval_run_block(r)->var_name[d.var].p);
	if (!is_bytes(&d.v))
		return eval_run_fail(r, -SCPP_E_TYPE, "write: data must be str or bytes, got %s",
				     vtext(b, sizeof(b), &d.v));
	if ((rc = eval_run_step(r, 1)) < 0 || (rc = writable(r, "write", e, aid)) < 0)
		return rc;
	if (off > UINT64_MAX - d.v.len)
		return eval_run_fail(r, -ERANGE, "write: offset %llu + %u overflows",
				     (unsigned long long)off, d.v.len);
	end = off + d.v.len;
	rc = scpp_store_get(s, e, (uint32_t)aid, &cur);
	if (rc == -ENOENT) {
		if ((rc = eval_run_charge(r, end)) < 0)
			return rc;
		return create_bytes(r, "write", e, aid,
				    eval_schema_bytes_type(eval_run_env(r), e, (uint32_t)aid), off, end,
				    d.v.p);
	}
	if (rc == 0 && !is_bytes(&cur))
		rc = -EMEDIUMTYPE;
	if (rc < 0)
		return eval_run_store_fail(r, rc, "write", e, aid);
	if ((rc = eval_run_charge(r, d.v.len + (end > cur.len ? end - cur.len : 0))) < 0)
		return rc;
	/* Undo order (the log is replayed backwards): the overwritten bytes
	 * are saved first but pushed after the length, so an undo restores
	 * them while the value is still long enough, then shortens it. The
	 * bytes are copied before the resize, which may move the value. */
	{
		uint64_t keep = off < cur.len ? SCPP_MIN(end, (uint64_t)cur.len) - off : 0;
		void *old = NULL;
		struct undo *u;

		if (keep > 0) {
			old = eval_run_alloc(r, keep);
			if (old == NULL)
				return -SCPP_E_LIMIT_BYTES;
			memcpy(old, cur.p + off, keep);
		}
		if (end > cur.len && (rc = set_length(r, e, (uint32_t)aid, cur.len, end)) < 0)
			return rc;
		if (keep > 0) {
			u = eval_run_undo(r, UNDO_BYTES, e, (uint32_t)aid);
			if (u == NULL)
				return -SCPP_E_LIMIT_STEPS;
			u->off = off;
			u->old = scpp_value_bytes(old, (uint32_t)keep);
		}
	}
	rc = scpp_store_bytes_write(s, e, (uint32_t)aid, off, d.v.len, d.v.p);
	if (rc < 0)
		return eval_run_store_fail(r, rc, "write", e, aid);
	return cur.type == SCPP_VT_STR ? check_str(r, e, (uint32_t)aid) : 0;
}

/* resize E A N: cut the byte string to N bytes or extend it with zeros; a
 * missing attribute is created as N zero bytes (as alloc would). */
static int
op_resize(struct run *r, const struct scpp_wire_cmd *cmd, const struct row *in)
{
	struct scpp_store *s = eval_run_env(r)->store;
	struct scpp_value cur;
	struct scpp_oid e;
	uint64_t n;
	int64_t aid;
	int rc;

	if ((rc = eval_run_target(r, in, cmd->term[0], cmd->term[1], true, &e, &aid)) < 0 ||
	    (rc = eval_run_len(r, in, cmd->term[2], "length", &n)) < 0)
		return rc;
	if ((rc = eval_run_step(r, 1)) < 0 || (rc = writable(r, "resize", e, aid)) < 0)
		return rc;
	rc = scpp_store_get(s, e, (uint32_t)aid, &cur);
	if (rc == -ENOENT) {
		if ((rc = eval_run_charge(r, n)) < 0)
			return rc;
		return create_bytes(r, "resize", e, aid,
				    eval_schema_bytes_type(eval_run_env(r), e, (uint32_t)aid), 0, n,
				    NULL);
	}
	if (rc == 0 && !is_bytes(&cur))
		rc = -EMEDIUMTYPE;
	if (rc < 0)
		return eval_run_store_fail(r, rc, "resize", e, aid);
	if (n == cur.len)
		return 0;
	if (n > cur.len)
		return (rc = eval_run_charge(r, n - cur.len)) < 0
			       ? rc
			       : set_length(r, e, (uint32_t)aid, cur.len, n);
	/* Shrinking: the tail is saved first, so that an undo lengthens the
	 * value again before writing it back. */
	if ((rc = save_bytes(r, e, (uint32_t)aid, &cur, n, cur.len - n)) < 0 ||
	    (rc = set_length(r, e, (uint32_t)aid, cur.len, n)) < 0)
		return rc;
	return cur.type == SCPP_VT_STR ? check_str(r, e, (uint32_t)aid) : 0;
}

int
eval_x_cmd(struct run *r, const struct scpp_wire_cmd *cmd, const struct row *in)
{
	switch (cmd->op) {
	case SCPP_OP_LET:
		return op_let(r, cmd, in);
	case SCPP_OP_WHERE:
		return op_where(r, cmd, in);
	case SCPP_OP_ASSERT:
		return op_assert(r, cmd, in);
	case SCPP_OP_WRITE:
		return op_write(r, cmd, in);
	case SCPP_OP_RESIZE:
		return op_resize(r, cmd, in);
	default:
		return eval_run_fail(r, -SCPP_E_BAD_OPCODE, "opcode %u", cmd->op);
	}
}
