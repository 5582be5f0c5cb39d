/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Command blocks: the builder, the encoder and the decoder, and the owner
 * rule over a decoded block. Datagram headers, FETCH and NOTICE payloads
 * are in wire_dgram.c.
 *
 * One set of rules, two entry points. What a position admits, what a
 * composite term's children are, and how deep addresses nest are held in
 * the tables below and checked by the same functions whether a block is
 * built through the API or decoded from a datagram, so that everything the
 * builder accepts encodes to bytes the decoder accepts, and vice versa.
 *
 * Canonical encoding: every field has exactly one encoding (minimal
 * varints, bool 0/1, reserved bits zero, no padding, counts that must match
 * the data), so encode(decode(bytes)) == bytes for every accepted input.
 * The fuzz target checks this property.
 *
 * The decoder is on the per-packet path. It allocates nothing, recurses at
 * most SCPP_WIRE_EXPR_DEPTH_MAX + SCPP_WIRE_NEST_MAX + 3 levels (an
 * expression, the address of a read() at its bottom, then a VALUE, then a
 * KEY), and checks each length against the end of the input before it
 * reads. Expressions (OP terms) share every rule here; their operator
 * table and the owner walk through them are in wire_expr.c. Decoded terms are stored in pre-order: a composite term's slot is
 * taken when its tag is read, so the TOO_MANY check happens at the tag.
 */
#include <errno.h>
#include <string.h>

#include "scpp_wire.h"
#include "wire_priv.h"

const uint8_t scpp_wire_op_nterms[SCPP_OP_COUNT] = {
	[SCPP_OP_GET] = 3,
	[SCPP_OP_SET] = 3,
	[SCPP_OP_COPY] = 3,
	[SCPP_OP_CREATE] = 2,
	[SCPP_OP_ALLOC] = 3,
	[SCPP_OP_DEL] = 2,
	[SCPP_OP_LET] = 2,
	[SCPP_OP_WHERE] = 1,
	[SCPP_OP_ASSERT] = 2,
	[SCPP_OP_WRITE] = 2,
	[SCPP_OP_RESIZE] = 3,
};

const uint8_t scpp_wire_op_pos[SCPP_OP_COUNT][3] = {
	[SCPP_OP_GET] = {SCPP_POS_ENT, SCPP_POS_ATTR, SCPP_POS_VAL},
	[SCPP_OP_SET] = {SCPP_POS_ENT, SCPP_POS_ATTR, SCPP_POS_VAL},
	[SCPP_OP_COPY] = {SCPP_POS_ADDR, SCPP_POS_ADDR, SCPP_POS_VAL},
	[SCPP_OP_CREATE] = {SCPP_POS_DEST, SCPP_POS_VAL},
	[SCPP_OP_ALLOC] = {SCPP_POS_ENT, SCPP_POS_ATTR, SCPP_POS_VAL},
	[SCPP_OP_DEL] = {SCPP_POS_ENT, SCPP_POS_ATTR},
	[SCPP_OP_LET] = {SCPP_POS_DEST, SCPP_POS_EXPR},
	[SCPP_OP_WHERE] = {SCPP_POS_EXPR},
	[SCPP_OP_ASSERT] = {SCPP_POS_EXPR, SCPP_POS_VAL},
	[SCPP_OP_WRITE] = {SCPP_POS_ADDR, SCPP_POS_VAL},
	[SCPP_OP_RESIZE] = {SCPP_POS_ENT, SCPP_POS_ATTR, SCPP_POS_VAL},
};

const char *const scpp_wire_op_name[SCPP_OP_COUNT] = {
	[SCPP_OP_GET] = "get",
	[SCPP_OP_SET] = "set",
	[SCPP_OP_COPY] = "copy",
	[SCPP_OP_CREATE] = "create",
	[SCPP_OP_ALLOC] = "alloc",
	[SCPP_OP_DEL] = "del",
	[SCPP_OP_LET] = "let",
	[SCPP_OP_WHERE] = "where",
	[SCPP_OP_ASSERT] = "assert",
	[SCPP_OP_WRITE] = "write",
	[SCPP_OP_RESIZE] = "resize",
};

#define TK(k) (1u << (k))
#define TERM_KIND_MAX SCPP_TERM_OP

/* Term tags each position admits, as a bit set indexed by tag. */
static const uint8_t pos_admits[] = {
	[SCPP_POS_ENT] = TK(SCPP_TERM_CONST) | TK(SCPP_TERM_VAR),
	[SCPP_POS_ATTR] = TK(SCPP_TERM_CONST) | TK(SCPP_TERM_VAR) | TK(SCPP_TERM_KEY),
	[SCPP_POS_VAL] = TK(SCPP_TERM_CONST) | TK(SCPP_TERM_VAR),
	[SCPP_POS_ADDR] = TK(SCPP_TERM_VALUE) | TK(SCPP_TERM_OFFSET),
	[SCPP_POS_DEST] = TK(SCPP_TERM_VAR),
	[SCPP_POS_EXPR] = TK(SCPP_TERM_CONST) | TK(SCPP_TERM_VAR) | TK(SCPP_TERM_OP),
};

/* Positions of a composite term's two children (a, b). KEY's parts are
 * plain values: a KEY cannot hold another KEY or an address. An OP's
 * operands are in the positions its operator's table entry names. */
static const uint8_t child_pos[TERM_KIND_MAX + 1][2] = {
	[SCPP_TERM_KEY] = {SCPP_POS_VAL, SCPP_POS_VAL},
	[SCPP_TERM_VALUE] = {SCPP_POS_ENT, SCPP_POS_ATTR},
	[SCPP_TERM_OFFSET] = {SCPP_POS_ADDR, SCPP_POS_VAL},
};

/* Children of a composite term, in encoding order: their count, indexes
 * and positions. */
static inline unsigned int
term_kids(const struct scpp_wire_term *t, uint16_t kid[3], uint8_t pos[3])
{
	if (t->kind == SCPP_TERM_OP) {
		const struct scpp_wire_xop_info *x = &scpp_wire_xops[t->var];

		kid[0] = t->a;
		kid[1] = t->b;
		kid[2] = t->c;
		memcpy(pos, x->pos, 3);
		return x->arity;
	}
	kid[0] = t->a;
	kid[1] = t->b;
	pos[0] = child_pos[t->kind][0];
	pos[1] = child_pos[t->kind][1];
	return 2;
}

static inline bool
term_admitted(unsigned int pos, unsigned int kind)
{
	return kind <= TERM_KIND_MAX && (pos_admits[pos] & TK(kind)) != 0;
}

static inline bool
term_composite(unsigned int kind)
{
	return kind >= SCPP_TERM_KEY;
}

/* ---- block builder ---- */

void
scpp_wire_block_init(struct scpp_wire_block *b)
{
	/* Only the counts: the arrays are written before they are read, and
	 * clearing 40 KiB per block would dominate building small blocks. */
	b->flags = 0;
	b->nvars = 0;
	b->nret = 0;
	b->ncmds = 0;
	b->nterms = 0;
	b->names_raw = NULL;
	b->names_raw_len = 0;
	b->ret_all = 0;
	b->status_vars = 0;
	b->get_run = 0;
	b->get_run_vars = 0;
}

int
scpp_wire_block_var(struct scpp_wire_block *b, const char *name, uint16_t len)
{
	if (name == NULL && len != 0)
		return -EINVAL;
	if (len > SCPP_WIRE_NAME_MAX)
		return -EINVAL;
	if (!scpp_utf8_valid((const uint8_t *)name, len))
		return -SCPP_E_BAD_UTF8;
	if (b->nvars >= SCPP_WIRE_VARS_MAX)
		return -SCPP_E_TOO_MANY;
	b->var_name[b->nvars].p = name;
	b->var_name[b->nvars].len = len;
	b->names_raw = NULL; /* no longer the decoded names */
	b->ret_all = 0;
	return b->nvars++;
}

int
scpp_wire_block_ret(struct scpp_wire_block *b, unsigned int var)
{
	if (var >= b->nvars)
		return -SCPP_E_BAD_VAR;
	for (unsigned int i = 0; i < b->nret; i++)
		if (b->ret[i] == var)
			return -EEXIST;
	/* nret <= nvars follows from distinctness, so ret[] cannot overflow. */
	b->ret[b->nret++] = (uint8_t)var;
	b->ret_all = b->nret == b->nvars;
	for (unsigned int i = 0; b->ret_all && i < b->nret; i++)
		b->ret_all = b->ret[i] == i;
	return 0;
}

static struct scpp_wire_term *
term_new(struct scpp_wire_block *b, uint8_t kind)
{
	struct scpp_wire_term *t = &b->term[b->nterms];

	t->kind = kind;
	t->var = 0;
	t->a = 0;
	t->b = 0;
	t->c = 0;
	t->value = scpp_value_nil();
	return t;
}

int
scpp_wire_term_const(struct scpp_wire_block *b, const struct scpp_value *v)
{
	if (v == NULL)
		return -EINVAL;
	if (v->type >= SCPP_VT_COUNT)
		return -SCPP_E_BAD_VALUE_TYPE;
	if (v->type == SCPP_VT_STR && !scpp_utf8_valid(v->p, v->len))
		return -SCPP_E_BAD_UTF8;
	if (b->nterms >= SCPP_WIRE_TERMS_MAX)
		return -SCPP_E_TOO_MANY;
	term_new(b, SCPP_TERM_CONST)->value = *v;
	return b->nterms++;
}

int
scpp_wire_term_var(struct scpp_wire_block *b, unsigned int var)
{
	if (var >= b->nvars)
		return -SCPP_E_BAD_VAR;
	if (b->nterms >= SCPP_WIRE_TERMS_MAX)
		return -SCPP_E_TOO_MANY;
	term_new(b, SCPP_TERM_VAR)->var = (uint8_t)var;
	return b->nterms++;
}

static inline bool
term_fits(const struct scpp_wire_block *b, int t, unsigned int pos)
{
	return t >= 0 && t < b->nterms && term_admitted(pos, b->term[t].kind);
}

/* Address nesting depth of an ADDR term: VALUE is 1, each OFFSET adds 1. */
static unsigned int
addr_depth(const struct scpp_wire_block *b, unsigned int t)
{
	unsigned int d = 1;

	while (b->term[t].kind == SCPP_TERM_OFFSET) {
		t = b->term[t].a;
		d++;
	}
	return d;
}

/*
 * Add a composite term. A child must already exist, so children always have
 * smaller indexes than their parent and the term graph has no cycles.
 */
static int
term_composite_add(struct scpp_wire_block *b, uint8_t kind, int x, int y)
{
	struct scpp_wire_term *t;

	if (!term_fits(b, x, child_pos[kind][0]) || !term_fits(b, y, child_pos[kind][1]))
		return -SCPP_E_BAD_TERM;
	if (kind == SCPP_TERM_OFFSET && addr_depth(b, (unsigned int)x) + 1 > SCPP_WIRE_NEST_MAX)
		return -SCPP_E_NESTING;
	if (b->nterms >= SCPP_WIRE_TERMS_MAX)
		return -SCPP_E_TOO_MANY;
	t = term_new(b, kind);
	t->a = (uint16_t)x;
	t->b = (uint16_t)y;
	return b->nterms++;
}

int
scpp_wire_term_key(struct scpp_wire_block *b, int attr, int key)
{
	return term_composite_add(b, SCPP_TERM_KEY, attr, key);
}

int
scpp_wire_term_value(struct scpp_wire_block *b, int ent, int attr)
{
	return term_composite_add(b, SCPP_TERM_VALUE, ent, attr);
}

int
scpp_wire_term_offset(struct scpp_wire_block *b, int addr, int count)
{
	return term_composite_add(b, SCPP_TERM_OFFSET, addr, count);
}

int
scpp_wire_term_op(struct scpp_wire_block *b, unsigned int op, int x, int y, int z)
{
	const int opd[3] = {x, y, z};
	const struct scpp_wire_xop_info *xi;
	struct scpp_wire_term *t;
	unsigned int depth = 1;

	if (op == 0 || op >= SCPP_XOP_COUNT)
		return -SCPP_E_BAD_TERM;
	xi = &scpp_wire_xops[op];
	for (unsigned int i = 0; i < xi->arity; i++) {
		if (!term_fits(b, opd[i], xi->pos[i]))
			return -SCPP_E_BAD_TERM;
		if (xi->pos[i] == SCPP_POS_EXPR)
			depth = SCPP_MAX(depth, 1 + wire_expr_depth(b, (unsigned int)opd[i]));
		else if (addr_depth(b, (unsigned int)opd[i]) > SCPP_WIRE_NEST_MAX)
			return -SCPP_E_NESTING;
	}
	if (depth > SCPP_WIRE_EXPR_DEPTH_MAX)
		return -SCPP_E_NESTING;
	if (b->nterms >= SCPP_WIRE_TERMS_MAX)
		return -SCPP_E_TOO_MANY;
	t = term_new(b, SCPP_TERM_OP);
	t->var = (uint8_t)op;
	t->a = xi->arity > 0 ? (uint16_t)x : 0;
	t->b = xi->arity > 1 ? (uint16_t)y : 0;
	t->c = xi->arity > 2 ? (uint16_t)z : 0;
	return b->nterms++;
}

/* Terms in the tree rooted at @p t, i.e. how many it encodes to. */
static unsigned int
tree_terms(const struct scpp_wire_block *b, unsigned int t)
{
	const struct scpp_wire_term *x = &b->term[t];
	uint16_t kid[3];
	uint8_t pos[3];
	unsigned int n = 1, k;

	if (!term_composite(x->kind))
		return 1;
	k = term_kids(x, kid, pos);
	for (unsigned int i = 0; i < k; i++)
		n += tree_terms(b, kid[i]);
	return n;
}

static unsigned int
cmd_terms(const struct scpp_wire_block *b, const struct scpp_wire_cmd *c)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < c->nterms; i++)
		n += tree_terms(b, c->term[i]);
	if (c->flags & SCPP_WIRE_CF_GUARD)
		n += tree_terms(b, c->guard);
	return n;
}

/* Would the block encode to more than SCPP_WIRE_TERMS_MAX terms if it had
 * @p ncmds commands? Walks every command (at most SCPP_WIRE_TERMS_MAX
 * terms), fine off the hot path. */
static bool
too_many_terms(const struct scpp_wire_block *b, unsigned int ncmds)
{
	unsigned int total = 0;

	for (unsigned int i = 0; i < ncmds && total <= SCPP_WIRE_TERMS_MAX; i++)
		total += cmd_terms(b, &b->cmd[i]);
	return total > SCPP_WIRE_TERMS_MAX;
}

/* enum scpp_wire_shape of a command whose terms are in place. */
static uint8_t
cmd_shape(const struct scpp_wire_block *b, const struct scpp_wire_cmd *c)
{
	const struct scpp_wire_term *t = b->term;

	if (c->nterms == 3 && c->flags == 0 && t[c->term[0]].kind == SCPP_TERM_CONST &&
	    t[c->term[0]].value.type == SCPP_VT_OID && t[c->term[1]].kind == SCPP_TERM_CONST &&
	    t[c->term[1]].value.type == SCPP_VT_STR && t[c->term[1]].value.len != 0 &&
	    t[c->term[2]].kind == SCPP_TERM_VAR)
		return SCPP_WIRE_SHAPE_EAV;
	return SCPP_WIRE_SHAPE_OTHER;
}

int
scpp_wire_block_cmd(struct scpp_wire_block *b, unsigned int op, int t0, int t1, int t2,
		    int status_var)
{
	const int t[3] = {t0, t1, t2};
	struct scpp_wire_cmd *c;
	unsigned int n;

	if (op == 0 || op >= SCPP_OP_COUNT)
		return -SCPP_E_BAD_OPCODE;
	n = scpp_wire_op_nterms[op];
	for (unsigned int i = 0; i < n; i++)
		if (!term_fits(b, t[i], scpp_wire_op_pos[op][i]))
			return -SCPP_E_BAD_TERM;
	if (status_var >= b->nvars)
		return -SCPP_E_BAD_VAR;
	if (b->ncmds >= SCPP_WIRE_CMDS_MAX)
		return -SCPP_E_TOO_MANY;
	c = &b->cmd[b->ncmds];
	c->op = (uint8_t)op;
	c->flags = status_var >= 0 ? SCPP_WIRE_CF_STATUS : 0;
	c->status_var = status_var >= 0 ? (uint8_t)status_var : 0;
	c->nterms = (uint8_t)n;
	c->guard = 0;
	for (unsigned int i = 0; i < 3; i++)
		c->term[i] = i < n ? (uint16_t)t[i] : 0;
	c->shape = cmd_shape(b, c);
	if (c->flags & SCPP_WIRE_CF_STATUS)
		b->status_vars |= UINT64_C(1) << c->status_var;
	/*
	 * A built term may be used by several commands (or twice in one), but
	 * the encoding writes each use out in full, and the decoder bounds the
	 * terms it stores. Count what the block will encode to, so a block the
	 * builder accepts is never one the decoder rejects.
	 */
	if (too_many_terms(b, b->ncmds + 1u))
		return -SCPP_E_TOO_MANY;
	return b->ncmds++;
}

int
scpp_wire_block_guard(struct scpp_wire_block *b, unsigned int cmd, int expr)
{
	struct scpp_wire_cmd *c;

	if (cmd >= b->ncmds || (b->cmd[cmd].flags & SCPP_WIRE_CF_GUARD))
		return -EINVAL;
	if (!term_fits(b, expr, SCPP_POS_EXPR))
		return -SCPP_E_BAD_TERM;
	c = &b->cmd[cmd];
	if (cmd < b->get_run)
		b->get_run = (uint16_t)cmd; /* no longer a plain get: the run ends before it */
	c->flags |= SCPP_WIRE_CF_GUARD;
	c->guard = (uint16_t)expr;
	c->shape = SCPP_WIRE_SHAPE_OTHER; /* a guarded get is not the fast path's */
	if (too_many_terms(b, b->ncmds)) {
		c->flags &= (uint8_t)~SCPP_WIRE_CF_GUARD;
		c->guard = 0;
		c->shape = cmd_shape(b, c);
		return -SCPP_E_TOO_MANY;
	}
	return 0;
}

/* ---- block encoder ---- */

static size_t
term_size(const struct scpp_wire_block *b, unsigned int t)
{
	const struct scpp_wire_term *x = &b->term[t];
	uint16_t kid[3];
	uint8_t pos[3];
	unsigned int k;
	size_t n;

	switch (x->kind) {
	case SCPP_TERM_CONST:
		return 1 + scpp_value_encoded_size(&x->value);
	case SCPP_TERM_VAR:
		return 1 + scpp_varint_size(x->var);
	default:
		n = x->kind == SCPP_TERM_OP ? 2 : 1; /* the operator byte */
		k = term_kids(x, kid, pos);
		for (unsigned int i = 0; i < k; i++)
			n += term_size(b, kid[i]);
		return n;
	}
}

size_t
scpp_wire_block_encoded_size(const struct scpp_wire_block *b)
{
	size_t n = 1 + scpp_varint_size(b->nvars) + scpp_varint_size(b->nret) +
		   scpp_varint_size(b->ncmds);

	for (unsigned int i = 0; i < b->nvars; i++)
		n += name_size(&b->var_name[i]);
	for (unsigned int i = 0; i < b->nret; i++)
		n += scpp_varint_size(b->ret[i]);
	for (unsigned int i = 0; i < b->ncmds; i++) {
		const struct scpp_wire_cmd *c = &b->cmd[i];

		n += 2;
		for (unsigned int k = 0; k < c->nterms; k++)
			n += term_size(b, c->term[k]);
		if (c->flags & SCPP_WIRE_CF_GUARD)
			n += term_size(b, c->guard);
		if (c->flags & SCPP_WIRE_CF_STATUS)
			n += scpp_varint_size(c->status_var);
	}
	return n;
}

/* The caller checked the total size, so no write here can overflow. */
static uint8_t *
term_put(const struct scpp_wire_block *b, unsigned int t, uint8_t *p)
{
	const struct scpp_wire_term *x = &b->term[t];
	uint16_t kid[3];
	uint8_t pos[3];
	unsigned int k;

	*p++ = x->kind;
	switch (x->kind) {
	case SCPP_TERM_CONST:
		/* Size was reserved by scpp_value_encoded_size(); the type
		 * was checked when the term was made. */
		return p + scpp_value_encode(p, scpp_value_encoded_size(&x->value), &x->value);
	case SCPP_TERM_VAR:
		return p + scpp_varint_encode(p, x->var);
	default:
		if (x->kind == SCPP_TERM_OP)
			*p++ = x->var;
		k = term_kids(x, kid, pos);
		for (unsigned int i = 0; i < k; i++)
			p = term_put(b, kid[i], p);
		return p;
	}
}

int
scpp_wire_block_encode(const struct scpp_wire_block *b, uint8_t *buf, size_t size)
{
	size_t need = scpp_wire_block_encoded_size(b);
	uint8_t *p = buf;

	if (need > size || need > INT32_MAX)
		return -ENOSPC;
	*p++ = b->flags;
	p += scpp_varint_encode(p, b->nvars);
	for (unsigned int i = 0; i < b->nvars; i++)
		p += name_put(p, &b->var_name[i]);
	p += scpp_varint_encode(p, b->nret);
	for (unsigned int i = 0; i < b->nret; i++)
		p += scpp_varint_encode(p, b->ret[i]);
	p += scpp_varint_encode(p, b->ncmds);
	for (unsigned int i = 0; i < b->ncmds; i++) {
		const struct scpp_wire_cmd *c = &b->cmd[i];

		*p++ = c->op;
		*p++ = c->flags;
		for (unsigned int k = 0; k < c->nterms; k++)
			p = term_put(b, c->term[k], p);
		if (c->flags & SCPP_WIRE_CF_GUARD)
			p = term_put(b, c->guard, p);
		if (c->flags & SCPP_WIRE_CF_STATUS)
			p += scpp_varint_encode(p, c->status_var);
	}
	SCPP_VERIFY((size_t)(p - buf) == need);
	return (int)need;
}

/* ---- block decoder ---- */

/* The decoders' fast paths may run (scpp_wire_decode_fast(); tests only):
 * the block decoder's here, the datagram header's in wire_dgram.c. */
bool scpp_wire_fast = true;

void
scpp_wire_decode_fast(bool on)
{
	scpp_wire_fast = on;
}

/* A variable index: a varint below nvars. */
static int
decode_var(struct cur *c, const struct scpp_wire_block *b, uint8_t *out)
{
	size_t at = c->off;
	uint64_t x;
	int rc = cur_varint(c, &x);

	if (rc < 0)
		return rc;
	if (x >= b->nvars) {
		c->off = at;
		return -SCPP_E_BAD_VAR;
	}
	*out = (uint8_t)x;
	return 0;
}

/*
 * Decode one term in position @p pos. @p depth is the number of enclosing
 * terms of the same chain: address terms for an ADDR position, operators
 * for an EXPR position (an address under an operator starts a new chain).
 * Recursion is bounded by the two nesting checks.
 */
static int
decode_term(struct cur *c, struct scpp_wire_block *b, unsigned int pos, unsigned int depth,
	    uint16_t *idx)
{
	struct scpp_wire_term *t;
	unsigned int kind, i, k;
	uint16_t kid[3];
	uint8_t kpos[3];
	int rc;

	if (pos == SCPP_POS_ADDR && ++depth > SCPP_WIRE_NEST_MAX)
		return -SCPP_E_NESTING;
	if (SCPP_UNLIKELY(c->off >= c->len))
		return -SCPP_E_TRUNCATED;
	kind = c->p[c->off];
	if (SCPP_UNLIKELY(!term_admitted(pos, kind)))
		return -SCPP_E_BAD_TERM;
	/* An operator is one expression level; constants and variables are
	 * leaves and add none. */
	if (kind == SCPP_TERM_OP && ++depth > SCPP_WIRE_EXPR_DEPTH_MAX)
		return -SCPP_E_NESTING;
	if (SCPP_UNLIKELY(b->nterms >= SCPP_WIRE_TERMS_MAX))
		return -SCPP_E_TOO_MANY;
	c->off++;
	i = b->nterms++;
	t = &b->term[i];
	*idx = (uint16_t)i;
	t->kind = (uint8_t)kind;
	t->var = 0;
	t->a = 0;
	t->b = 0;
	t->c = 0;
	if (kind == SCPP_TERM_CONST)
		return cur_value(c, &t->value); /* writes every field of the value */
	t->value = scpp_value_nil();
	switch (kind) {
	case SCPP_TERM_VAR:
		return decode_var(c, b, &t->var);
	case SCPP_TERM_OP:
		if ((rc = wire_expr_operator(c, &t->var)) < 0)
			return rc;
		k = term_kids(t, kid, kpos);
		for (unsigned int j = 0; j < k; j++) {
			rc = decode_term(c, b, kpos[j], kpos[j] == SCPP_POS_EXPR ? depth : 0,
					 &kid[j]);
			/* Operands are stored as they are decoded, so a later
			 * error still leaves a consistent (partial) tree. */
			if (j == 0)
				b->term[i].a = kid[0];
			else if (j == 1)
				b->term[i].b = kid[1];
			else
				b->term[i].c = kid[2];
			if (rc < 0)
				return rc;
		}
		return 0;
	default:
		rc = decode_term(c, b, child_pos[kind][0], depth, &t->a);
		if (rc < 0)
			return rc;
		return decode_term(c, b, child_pos[kind][1], depth, &t->b);
	}
}

/*
 * The shape most commands have, `get E "attr" %v` and `set E "attr" value`:
 * an opcode whose positions are entity, attribute, value (get, set,
 * alloc), no flags, a constant OID, a constant ASCII string of 1..16
 * bytes, then a one-byte variable index or a constant value_fast() takes.
 * Checked and decoded in one straight line: the fixed bytes with two
 * 32-bit loads, the terms written as whole words (about a third of the
 * general path's instructions). Returns the bytes consumed, or 0 when the
 * command has any other shape (nothing written: the caller decodes it the
 * general way, from the same byte).
 *
 * @p prev_attr (may be NULL) remembers the previous command's attribute
 * string: a repeat of the same name is pointed at that first copy, so an
 * evaluator that caches the name it resolved last compares pointers.
 */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
_Static_assert(offsetof(struct scpp_wire_term, var) == 1 && offsetof(struct scpp_wire_term, a) == 2 &&
		       offsetof(struct scpp_wire_term, b) == 4 &&
		       offsetof(struct scpp_wire_term, value) == 8 &&
		       sizeof(struct scpp_wire_term) == 32,
	       "term words: kind var a b | type len | u/p/oid.hi | oid.lo");
_Static_assert(offsetof(struct scpp_value, len) == 4 && offsetof(struct scpp_value, oid) == 8,
	       "value words");
_Static_assert(offsetof(struct scpp_wire_cmd, term) == 4 &&
		       offsetof(struct scpp_wire_cmd, shape) == 10 &&
		       offsetof(struct scpp_wire_cmd, guard) == 12 &&
		       sizeof(struct scpp_wire_cmd) == 14,
	       "command words: op flags status_var nterms term0 term1 | term2 shape guard");

/* Stores of whole words into the structures (may_alias: they are read
 * back through their own types). */
typedef uint64_t __attribute__((may_alias)) word64;

static inline void
term_words(struct scpp_wire_term *t, uint64_t w0, uint64_t w1, uint64_t w2, uint64_t w3)
{
	word64 *w = (word64 *)(void *)t;

	w[0] = w0;
	w[1] = w1;
	w[2] = w2;
	w[3] = w3;
}

static inline uint32_t
load_le32(const uint8_t *p)
{
	uint32_t x;

	memcpy(&x, p, 4);
	return x;
}

/* Opcodes whose three positions are entity, attribute, value. */
#define EAV_OPS ((1u << SCPP_OP_GET) | (1u << SCPP_OP_SET) | (1u << SCPP_OP_ALLOC))

static inline __attribute__((always_inline)) size_t
cmd_fast(const uint8_t *lo, const uint8_t *p, size_t left, struct scpp_wire_block *b,
	 struct scpp_wire_cmd *cm, const uint8_t **prev_attr)
{
	const uint16_t nt = b->nterms;
	struct scpp_wire_term *t = &b->term[nt];
	uint32_t h0, h1;
	size_t alen, off;
	const uint8_t *name, *q, *same = NULL;
	uint64_t cw;
	uint8_t shape;

	/* op, flags, CONST OID (18), CONST STR tag+type+len (3), and at least
	 * the 2 bytes of the shortest third term. */
	if (left < 2 + 18 + 3 + 2 || nt > SCPP_WIRE_TERMS_MAX - 3)
		return 0;
	h0 = load_le32(p);
	h1 = load_le32(p + 20);
	if ((h0 & 0xffffff00u) != ((uint32_t)SCPP_VT_OID << 24 | SCPP_TERM_CONST << 16) ||
	    (h0 & 0xe0) != 0 || !((EAV_OPS >> (h0 & 0x1f)) & 1) ||
	    (h1 & 0xffff) != ((uint32_t)SCPP_VT_STR << 8 | SCPP_TERM_CONST))
		return 0;
	alen = (h1 >> 16) & 0xff;
	off = 23 + alen;
	name = p + 23;
	if (alen - 1 > 15 || left < off + 2)
		return 0;
	/* Both strings are inside the message and at least 15 bytes from its
	 * start, so 8-byte loads that end with them stay inside it. A repeat
	 * of the previous name is ASCII already. */
	if (prev_attr != NULL && (q = *prev_attr) != NULL && q[-1] == alen &&
	    load_le64(q + alen - 8) == load_le64(name + alen - 8) &&
	    (alen <= 8 || load_le64(q) == load_le64(name)))
		same = q;
	else if (!short_ascii(lo, name, alen))
		return 0;
	if (p[off] == SCPP_TERM_VAR) {
		if (p[off + 1] >= b->nvars)
			return 0;
		term_words(&t[2], SCPP_TERM_VAR | (uint64_t)p[off + 1] << 8, 0, 0, 0);
		off += 2;
		shape = SCPP_WIRE_SHAPE_EAV;
	} else {
		size_t n;

		if (p[off] != SCPP_TERM_CONST ||
		    (n = value_fast(lo, p + off + 1, left - off - 1, &t[2].value)) == 0)
			return 0;
		t[2].kind = SCPP_TERM_CONST;
		t[2].var = 0;
		t[2].a = t[2].b = 0;
		off += 1 + n;
		shape = SCPP_WIRE_SHAPE_OTHER;
	}
	if (same != NULL)
		name = same;
	else if (prev_attr != NULL)
		*prev_attr = name;
	term_words(&t[0], SCPP_TERM_CONST, SCPP_VT_OID, load_le64(p + 4), load_le64(p + 12));
	term_words(&t[1], SCPP_TERM_CONST, SCPP_VT_STR | (uint64_t)alen << 32,
		   (uint64_t)(uintptr_t)name, 0);
	b->nterms = (uint16_t)(nt + 3);
	cw = (h0 & 0xff) | (uint64_t)3 << 24 | (uint64_t)nt << 32 | (uint64_t)(nt + 1) << 48;
	memcpy(cm, &cw, 8); /* commands are 2-byte aligned: not a word64 store */
	cm->term[2] = (uint16_t)(nt + 2);
	cm->shape = shape;
	cm->guard = 0; /* no flags: no guard */
	return off;
}

/*
 * The block's leading run of `get <OID> "<name>" %v`: what cmd_fast() takes
 * with op GET and a variable, every command with the same attribute name
 * (same bytes) and a variable of its own. Decoded from @p p (@p end is the
 * end of the input) with everything in registers: after the first command,
 * the 4 bytes of the attribute term's head and its first name byte are one
 * 32-bit compare, the name one or two masked 64-bit compares. The commands
 * the caller decoded already (b->ncmds of them: the daemon's owner lookup
 * decodes the first one or few one by one) start the run if they are of
 * its shape, and their names are pointed at the first one's bytes. Sets
 * b->get_run and b->get_run_vars (the evaluator's hint, see struct
 * scpp_wire_block) and returns b->ncmds plus the commands it decoded
 * (*@p used bytes), each exactly as cmd_fast() decodes it; nothing is
 * written when no run starts.
 */
static __attribute__((noinline)) size_t
get_run(const uint8_t *lo, const uint8_t *p, const uint8_t *end, struct scpp_wire_block *b,
	uint16_t ncmds, size_t *used, const uint8_t **prev_attr)
{
	const uint8_t *const start = p, *name;
	const uint32_t head = SCPP_OP_GET | (uint32_t)SCPP_TERM_CONST << 16 |
			      (uint32_t)SCPP_VT_OID << 24;
	const unsigned int nvars = b->nvars, k0 = b->ncmds;
	struct scpp_wire_term *t = b->term + 3 * k0;
	struct scpp_wire_cmd *cm = b->cmd + k0, *const cm_end = b->cmd + ncmds;
	/* Command i's two words (see cmd_fast()): op flags status_var nterms
	 * term0 term1, then term1 term2 shape pad guard; each command adds 3
	 * to its term indexes. */
	uint64_t cw0 = SCPP_OP_GET | (uint64_t)3 << 24 | (uint64_t)(3 * k0) << 32 |
		       (uint64_t)(3 * k0 + 1) << 48;
	uint64_t cw1 = (3 * k0 + 1) | (uint64_t)(3 * k0 + 2) << 16 |
		       (uint64_t)SCPP_WIRE_SHAPE_EAV << 32;
	uint64_t seen = 0, mask, tw1, tw2, lw, hw;
	uint32_t h1;
	size_t alen, clen;

	if (k0 == 0) {
		/* The first command: what cmd_fast() checks for this shape. */
		if (end - p < 2 + 18 + 3 + 2 || load_le32(p) != head)
			return 0;
		h1 = load_le32(p + 20);
		alen = (h1 >> 16) & 0xff;
		if ((h1 & 0xffff) != ((uint32_t)SCPP_VT_STR << 8 | SCPP_TERM_CONST) ||
		    alen - 1 > 15)
			return 0;
		name = p + 23;
		if ((size_t)(end - p) < 25 + alen || !short_ascii(lo, name, alen))
			return 0;
	} else {
		/* The commands decoded already, as decoded. */
		const struct scpp_value *v0 = &b->term[1].value;

		if (b->nterms != 3 * k0 || v0->type != SCPP_VT_STR || v0->len - 1 > 15 ||
		    !short_ascii(lo, v0->p, v0->len))
			return k0;
		for (unsigned int i = 0; i < k0; i++) {
			const struct scpp_wire_cmd *c = &b->cmd[i];
			const struct scpp_wire_term *x = &b->term[3 * i];

			if (c->op != SCPP_OP_GET || c->flags != 0 || c->nterms != 3 ||
			    c->term[0] != 3 * i || c->term[1] != 3 * i + 1 || c->term[2] != 3 * i + 2 ||
			    x[0].kind != SCPP_TERM_CONST || x[0].value.type != SCPP_VT_OID ||
			    x[1].kind != SCPP_TERM_CONST ||
			    (i > 0 && !scpp_value_eq(&x[1].value, v0)) ||
			    x[2].kind != SCPP_TERM_VAR || ((seen >> x[2].var) & 1))
				return k0;
			seen |= UINT64_C(1) << x[2].var;
		}
		alen = v0->len;
		name = v0->p;
		for (unsigned int i = 1; i < k0; i++)
			b->term[3 * i + 1].value.p = name;
		h1 = SCPP_TERM_CONST | (uint32_t)SCPP_VT_STR << 8 | (uint32_t)alen << 16 |
		     (uint32_t)name[0] << 24;
	}
	clen = 25 + alen;
	/* The name's bytes as the two compares of later commands see them:
	 * the 8 bytes that end with it (masked to the name when shorter),
	 * and its first 8 when longer than 8. */
	mask = alen >= 8 ? UINT64_MAX : UINT64_MAX << (8 * (8 - alen));
	lw = load_le64(name + alen - 8) & mask;
	hw = alen > 8 ? load_le64(name) : 0;
	tw1 = SCPP_VT_STR | (uint64_t)alen << 32;
	tw2 = (uint64_t)(uintptr_t)name;
	/* Is the command at p one more of the run (its variable aside)? */
#define GET_RUN_NEXT()                                                                     \
	(cm != cm_end && (size_t)(end - p) >= clen && load_le32(p) == head &&              \
	 load_le32(p + 20) == h1 && (load_le64(p + 23 + alen - 8) & mask) == lw &&          \
	 (alen <= 8 || load_le64(p + 23) == hw))
	if (k0 == 0 || GET_RUN_NEXT()) {
		for (;;) {
			unsigned int var = p[24 + alen];

			if (p[23 + alen] != SCPP_TERM_VAR || var >= nvars || ((seen >> var) & 1))
				break;
			seen |= UINT64_C(1) << var;
			term_words(&t[0], SCPP_TERM_CONST, SCPP_VT_OID, load_le64(p + 4),
				   load_le64(p + 12));
			term_words(&t[1], SCPP_TERM_CONST, tw1, tw2, 0);
			term_words(&t[2], SCPP_TERM_VAR | (uint64_t)var << 8, 0, 0, 0);
			memcpy(cm, &cw0, 8); /* commands are 2-byte aligned: not word64 stores */
			memcpy((uint8_t *)cm + 6, &cw1, 8);
			cw0 += (uint64_t)3 << 32 | (uint64_t)3 << 48;
			cw1 += 3 | (uint64_t)3 << 16;
			t += 3;
			p += clen;
			cm++;
			if (!GET_RUN_NEXT())
				break;
		}
	}
#undef GET_RUN_NEXT
	if (cm == b->cmd)
		return 0;
	b->nterms = (uint16_t)(3 * (size_t)(cm - b->cmd));
	b->get_run = (uint16_t)(cm - b->cmd);
	b->get_run_vars = seen;
	*prev_attr = name;
	*used = (size_t)(p - start);
	return (size_t)(cm - b->cmd);
}
#else
static inline size_t
cmd_fast(const uint8_t *lo, const uint8_t *p, size_t left, struct scpp_wire_block *b,
	 struct scpp_wire_cmd *cm, const uint8_t **prev_attr)
{
	(void)lo, (void)p, (void)left, (void)b, (void)cm, (void)prev_attr;
	return 0; /* big-endian hosts take the general path */
}

static inline size_t
get_run(const uint8_t *lo, const uint8_t *p, const uint8_t *end, struct scpp_wire_block *b,
	uint16_t ncmds, size_t *used, const uint8_t **prev_attr)
{
	(void)lo, (void)p, (void)end, (void)b, (void)ncmds, (void)used, (void)prev_attr;
	return 0;
}
#endif

/*
 * One command. Leaves (a constant or a one-byte variable index where the
 * position admits it) are decoded here in a straight line, with the cursor
 * and the term count in locals: most terms of most blocks are leaves.
 * Composite terms, and any term these checks do not pass, go through
 * decode_term(), which checks everything again and fails with the same
 * code at the same offset.
 */
static int
decode_cmd(struct cur *cp, struct scpp_wire_block *b, struct scpp_wire_cmd *cmd)
{
	const uint8_t *p = cp->p;
	const size_t len = cp->len;
	const uint16_t nvars = b->nvars;
	size_t off = cp->off;
	struct scpp_wire_cmd cm;
	uint8_t op, fl;
	size_t n;
	int rc = 0;

	if (SCPP_UNLIKELY(off >= len))
		return -SCPP_E_TRUNCATED;
	if (SCPP_LIKELY(scpp_wire_fast &&
			(n = cmd_fast(p, p + off, len - off, b, cmd, NULL)) != 0)) {
		cp->off = off + n;
		return 0;
	}
	op = p[off];
	if (SCPP_UNLIKELY(op == 0 || op >= SCPP_OP_COUNT))
		return -SCPP_E_BAD_OPCODE;
	if (SCPP_UNLIKELY(len - off < 2)) {
		cp->off = off + 1;
		return -SCPP_E_TRUNCATED;
	}
	fl = p[off + 1];
	if (SCPP_UNLIKELY((fl & ~(SCPP_WIRE_CF_STATUS | SCPP_WIRE_CF_GUARD)) != 0)) {
		cp->off = off + 1;
		return -SCPP_E_BAD_FLAGS;
	}
	off += 2;
	cm.op = op;
	cm.flags = fl;
	cm.shape = SCPP_WIRE_SHAPE_OTHER;
	cm.status_var = 0;
	cm.nterms = scpp_wire_op_nterms[op];
	cm.term[0] = cm.term[1] = cm.term[2] = 0;
	cm.guard = 0;
	for (unsigned int k = 0; k < cm.nterms; k++) {
		unsigned int pos = scpp_wire_op_pos[op][k], kind;
		uint16_t nt = b->nterms;
		struct scpp_wire_term t;

		if (SCPP_UNLIKELY(off >= len)) {
			rc = -SCPP_E_TRUNCATED;
			goto out;
		}
		kind = p[off];
		if (SCPP_LIKELY(scpp_wire_fast && kind == SCPP_TERM_CONST &&
				term_admitted(pos, kind) && nt < SCPP_WIRE_TERMS_MAX &&
				(n = value_fast(p, p + off + 1, len - off - 1, &t.value)) != 0)) {
			off += 1 + n;
		} else if (SCPP_LIKELY(scpp_wire_fast && kind == SCPP_TERM_VAR &&
				       term_admitted(pos, kind) && nt < SCPP_WIRE_TERMS_MAX &&
				       len - off >= 2 && p[off + 1] < nvars && p[off + 1] < 0x80)) {
			t.value = scpp_value_nil();
			t.var = p[off + 1];
			off += 2;
		} else {
			struct cur c = {p, len, off};

			rc = decode_term(&c, b, pos, 0, &cm.term[k]);
			off = c.off;
			if (rc < 0)
				goto out;
			continue;
		}
		t.kind = (uint8_t)kind;
		if (kind == SCPP_TERM_CONST)
			t.var = 0;
		t.a = 0;
		t.b = 0;
		t.c = 0;
		b->term[nt] = t;
		b->nterms = (uint16_t)(nt + 1);
		cm.term[k] = nt;
	}
	if (fl & SCPP_WIRE_CF_GUARD) {
		struct cur c = {p, len, off};

		rc = decode_term(&c, b, SCPP_POS_EXPR, 0, &cm.guard);
		off = c.off;
		if (rc < 0)
			goto out;
	}
	if (fl & SCPP_WIRE_CF_STATUS) {
		struct cur c = {p, len, off};

		rc = decode_var(&c, b, &cm.status_var);
		off = c.off;
		if (rc == 0)
			b->status_vars |= UINT64_C(1) << cm.status_var;
	}
	if (rc == 0)
		cm.shape = cmd_shape(b, &cm);
out:
	*cmd = cm;
	cp->off = off;
	return rc;
}

/* 0, 1, 2, ... SCPP_WIRE_VARS_MAX - 1: the returned-variable list of most blocks. */
static const uint8_t identity[SCPP_WIRE_VARS_MAX] = {
	0,  1,	2,  3,	4,  5,	6,  7,	8,  9,	10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
	22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43,
	44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63,
};
_Static_assert(SCPP_WIRE_VARS_MAX == 64, "identity[] lists every variable index");

/* Are the @p n bytes at @p q 0, 1, 2, ...? Eight at a time. */
static inline bool
is_identity(const uint8_t *q, size_t n)
{
	size_t j = 0;

	for (; j + 8 <= n; j += 8)
		if (load_le64(q + j) != load_le64(identity + j))
			return false;
	for (; j < n; j++)
		if (q[j] != j)
			return false;
	return true;
}

/* span_ascii() for the names of the head, which the rest of the block
 * follows: fewer than 8 bytes near the start of the input are checked with
 * one forward load (span_ascii() would need 8 bytes before them). */
static inline bool
head_ascii(const uint8_t *lo, const uint8_t *p, size_t n, const uint8_t *end)
{
	if (n < 8 && end - p >= 8)
		return (load_le64(p) & ((UINT64_C(1) << (8 * n)) - 1) &
			UINT64_C(0x8080808080808080)) == 0;
	return span_ascii(lo, p, n);
}

/* The head: flags, variables, returns and the command count (into @p ncmds). */
static int
block_head_decode(struct cur *c, struct scpp_wire_block *b, uint16_t *ncmds)
{
	uint64_t seen = 0; /* bit set of returned variables; VARS_MAX == 64 */
	int rc;

	_Static_assert(SCPP_WIRE_VARS_MAX <= 64, "returned-variable set is one u64");
	scpp_wire_block_init(b);
	if ((rc = cur_u8(c, &b->flags)) < 0)
		return rc;
	if ((b->flags & ~SCPP_WIRE_BF_MASK) != 0) {
		c->off--;
		return -SCPP_E_BAD_FLAGS;
	}
	if ((rc = cur_count(c, SCPP_WIRE_VARS_MAX, &b->nvars)) < 0)
		return rc;
	/* Names and returned indexes. The common case is decoded in straight
	 * loops: one-byte lengths within bounds, then one ASCII check over
	 * all the names at once (the length bytes are ASCII too). Anything
	 * else is decoded again from the first name by the checked helpers,
	 * which report the same errors at the same offsets. */
	{
		const uint8_t *p = c->p;
		const size_t len = c->len, nvars = b->nvars, names_off = c->off;
		size_t off = names_off, n;
		unsigned int i = 0;

		/* Each name and at least one byte after it inside the input
		 * (the block goes on after the names), so the next length byte
		 * is readable: one bound test per name. */
		if (SCPP_LIKELY(off < len)) {
			const uint8_t *q = p + off, *const end = p + len;

			for (; i < nvars; i++) {
				n = *q;
				if (SCPP_UNLIKELY(n > SCPP_WIRE_NAME_MAX || (size_t)(end - q) <= n + 1))
					break;
				b->var_name[i].p = (const char *)(q + 1);
				b->var_name[i].len = (uint16_t)n;
				q += 1 + n;
			}
			off = (size_t)(q - p);
		}
		if (SCPP_UNLIKELY(i < nvars || !scpp_wire_fast ||
				  !head_ascii(p, p + names_off, off - names_off, p + len))) {
			for (i = 0; i < nvars; i++)
				if ((rc = cur_name(c, &b->var_name[i])) < 0)
					return rc;
			off = c->off;
		}
		c->off = off;
		b->names_raw = p + names_off;
		b->names_raw_len = (uint32_t)(off - names_off);
	}
	if ((rc = cur_count(c, b->nvars, &b->nret)) < 0)
		return rc;
	{
		const uint8_t *p = c->p;
		const size_t len = c->len;
		const unsigned int nvars = b->nvars, nret = b->nret;
		size_t off = c->off;
		uint8_t all = nret == nvars;
		unsigned int i = 0;

		/* The usual list, 0 1 2 ... (every variable, or the first
		 * ones, in order): compared eight bytes at a time; it is what the loop below
		 * would find (in range, no repeats, ret[i] == i). */
		if (SCPP_LIKELY(scpp_wire_fast && nret <= len - off &&
				is_identity(p + off, nret))) {
			/* All of it (a constant size: a few vector moves); the
			 * entries past nret mean nothing. */
			memcpy(b->ret, identity, sizeof(b->ret));
			off += nret;
			i = nret;
		}
		for (; i < nret; i++) {
			size_t at = off;
			unsigned int x;

			if (SCPP_LIKELY(scpp_wire_fast && off < len && (x = p[off]) < nvars &&
					x < 0x80)) {
				off++;
			} else {
				c->off = off;
				if ((rc = decode_var(c, b, &b->ret[i])) < 0)
					return rc;
				off = c->off;
				x = b->ret[i];
			}
			if (seen & (UINT64_C(1) << x)) {
				c->off = at;
				return -EEXIST;
			}
			seen |= UINT64_C(1) << x;
			b->ret[i] = (uint8_t)x;
			all &= x == i;
		}
		c->off = off;
		b->ret_all = all;
	}
	return cur_count(c, SCPP_WIRE_CMDS_MAX, ncmds);
}

/*
 * The cursor keeps only the offset; b->ncmds counts the commands decoded so
 * far, so a block is complete exactly when b->ncmds reaches the declared
 * count and the input is used up.
 */
int
scpp_wire_block_decode_begin(struct scpp_wire_block_cursor *bc, const uint8_t *buf, size_t len,
			     struct scpp_wire_block *b, uint32_t *err_off)
{
	struct cur c = {buf, len, 0};
	int rc = block_head_decode(&c, b, &bc->ncmds);

	bc->buf = buf;
	bc->len = len;
	bc->off = c.off;
	if (rc < 0 && err_off != NULL)
		*err_off = (uint32_t)c.off;
	return rc;
}

int
scpp_wire_block_decode_next(struct scpp_wire_block_cursor *bc, struct scpp_wire_block *b,
			    uint32_t *err_off)
{
	struct cur c = {bc->buf, bc->len, bc->off};
	int rc;

	if (b->ncmds == bc->ncmds) {
		rc = c.off == c.len ? 0 : -SCPP_E_TRAILING;
	} else {
		rc = decode_cmd(&c, b, &b->cmd[b->ncmds]);
		if (rc == 0) {
			b->ncmds++;
			rc = 1;
		}
	}
	bc->off = c.off;
	if (rc < 0 && err_off != NULL)
		*err_off = (uint32_t)c.off;
	return rc;
}

/* The commands scpp_wire_block_decode_rest() has left to decode (at least
 * one): out of line, so that a block the owner lookup decoded whole (one
 * get, most often) does not pay for this loop's registers. */
static __attribute__((noinline)) int
decode_rest_cmds(struct scpp_wire_block_cursor *bc, struct scpp_wire_block *b, uint32_t *err_off)
{
	struct cur c = {bc->buf, bc->len, bc->off};
	const uint8_t *prev_attr = NULL;
	const uint16_t ncmds = bc->ncmds;
	uint16_t k = b->ncmds;
	int rc = 0;

	/* (Not again for a run the owner lookup decoded: it ended here.) */
	if (scpp_wire_fast && b->nterms == 3 * k && k < ncmds && (k == 0 || b->get_run != k)) {
		size_t used = 0;

		k = (uint16_t)get_run(c.p, c.p + c.off, c.p + c.len, b, ncmds, &used, &prev_attr);
		c.off += used;
	}
	while (k < ncmds) {
		/* The common shape inline; anything else through decode_cmd(). */
		size_t n = scpp_wire_fast ? cmd_fast(c.p, c.p + c.off, c.len - c.off, b, &b->cmd[k],
						  &prev_attr)
				       : 0;

		if (SCPP_LIKELY(n != 0)) {
			c.off += n;
			k++;
			continue;
		}
		b->ncmds = k;
		rc = decode_cmd(&c, b, &b->cmd[k]);
		if (rc < 0)
			break;
		k++;
	}
	b->ncmds = k;
	if (rc == 0 && c.off != c.len)
		rc = -SCPP_E_TRAILING;
	bc->off = c.off;
	if (rc < 0 && err_off != NULL)
		*err_off = (uint32_t)c.off;
	return rc;
}

int
scpp_wire_block_decode_rest(struct scpp_wire_block_cursor *bc, struct scpp_wire_block *b,
			    uint32_t *err_off)
{
	if (b->ncmds < bc->ncmds)
		return decode_rest_cmds(bc, b, err_off);
	/* Every command decoded already: only the end of the input is left
	 * to check, as the loop would. */
	if (SCPP_LIKELY(bc->off == bc->len))
		return 0;
	if (err_off != NULL)
		*err_off = (uint32_t)bc->off;
	return -SCPP_E_TRAILING;
}

int
scpp_wire_block_decode(const uint8_t *buf, size_t len, struct scpp_wire_block *b,
		       uint32_t *err_off)
{
	struct scpp_wire_block_cursor bc;
	int rc = scpp_wire_block_decode_begin(&bc, buf, len, b, err_off);

	if (rc < 0)
		return rc;
	return scpp_wire_block_decode_rest(&bc, b, err_off);
}

/* ---- the owner rule ---- */

/* The OID of an ENT term, if it is a constant OID outside the well-known
 * namespace. */
bool
wire_ent_owner(const struct scpp_wire_block *b, unsigned int t, struct scpp_oid *out)
{
	const struct scpp_wire_term *term = &b->term[t];

	if (term->kind != SCPP_TERM_CONST || term->value.type != SCPP_VT_OID ||
	    scpp_oid_is_well_known(term->value.oid))
		return false;
	*out = term->value.oid;
	return true;
}

bool
wire_addr_owner(const struct scpp_wire_block *b, unsigned int t, struct scpp_oid *out)
{
	/* offset(offset(value(e, a), n), m): walk down to e. The decoder and
	 * the builder bound the depth; the loop bound only keeps a corrupt
	 * block from spinning. */
	for (unsigned int d = 0; d < SCPP_WIRE_NEST_MAX && b->term[t].kind == SCPP_TERM_OFFSET; d++)
		t = b->term[t].a;
	return b->term[t].kind == SCPP_TERM_VALUE && wire_ent_owner(b, b->term[t].a, out);
}

bool
scpp_wire_cmd_owner(const struct scpp_wire_block *b, unsigned int c, struct scpp_oid *out)
{
	const struct scpp_wire_cmd *cmd = &b->cmd[c];

	for (unsigned int i = 0; i < cmd->nterms; i++) {
		unsigned int t = cmd->term[i];

		switch (scpp_wire_op_pos[cmd->op][i]) {
		case SCPP_POS_ENT:
			if (wire_ent_owner(b, t, out))
				return true;
			break;
		case SCPP_POS_ADDR:
			if (wire_addr_owner(b, t, out))
				return true;
			break;
		case SCPP_POS_EXPR:
			if (wire_expr_owner(b, t, out))
				return true;
			break;
		default:
			break;
		}
	}
	return (cmd->flags & SCPP_WIRE_CF_GUARD) && wire_expr_owner(b, cmd->guard, out);
}

bool
scpp_wire_block_owner(const struct scpp_wire_block *b, struct scpp_oid *out)
{
	for (unsigned int c = 0; c < b->ncmds; c++)
		if (scpp_wire_cmd_owner(b, c, out))
			return true;
	return false;
}

int
scpp_wire_block_decode_owner(struct scpp_wire_block_cursor *bc, struct scpp_wire_block *b,
			     struct scpp_oid *owner, uint32_t *err_off)
{
	int rc;

	/* A leading run of keyed gets is decoded in one pass (get_run()), as
	 * scpp_wire_block_decode_rest() would decode it, instead of one
	 * command at a time with the general owner test after each: a get's
	 * only owner position is its entity, a constant OID in the run, so the
	 * owner is the first of theirs outside the well-known namespace.
	 * Commands after the run are decoded on as before. (A block of one
	 * command costs less through cmd_fast(): 1,470 instructions per 1-get
	 * block in bench-eval's worker decode against 1,490 through get_run().) */
	if (scpp_wire_fast && b->ncmds == 0 && bc->ncmds > 1) {
		const uint8_t *prev_attr = NULL;
		size_t used = 0, k;

		k = get_run(bc->buf, bc->buf + bc->off, bc->buf + bc->len, b, bc->ncmds, &used,
			    &prev_attr);
		if (k > 0) {
			b->ncmds = (uint16_t)k;
			bc->off += used;
			for (unsigned int i = 0; i < k; i++)
				if (wire_ent_owner(b, 3 * i, owner))
					return 1;
		}
	}
	/* Commands of cmd_fast()'s shape (a block of one get, most often)
	 * straight from the cursor: decode_cmd() would decode them exactly so
	 * (it tries cmd_fast() first, with no previous name either), and their
	 * only owner position is their entity, a constant OID (the attribute
	 * and value positions name none). Saves the general decoder's entry
	 * and scpp_wire_cmd_owner()'s walk over the op's positions. */
	while (scpp_wire_fast && b->ncmds < bc->ncmds) {
		struct scpp_wire_cmd *cm = &b->cmd[b->ncmds];
		size_t n = cmd_fast(bc->buf, bc->buf + bc->off, bc->len - bc->off, b, cm, NULL);

		if (n == 0)
			break;
		bc->off += n;
		b->ncmds++;
		if (wire_ent_owner(b, cm->term[0], owner))
			return 1;
	}
	while ((rc = scpp_wire_block_decode_next(bc, b, err_off)) == 1)
		if (scpp_wire_cmd_owner(b, b->ncmds - 1u, owner))
			return 1;
	return rc;
}

/* ---- structural equality ---- */

static bool
term_equal(const struct scpp_wire_block *ba, unsigned int ta, const struct scpp_wire_block *bb,
	   unsigned int tb)
{
	const struct scpp_wire_term *x = &ba->term[ta], *y = &bb->term[tb];
	uint16_t kx[3], ky[3];
	uint8_t pos[3];
	unsigned int k;

	if (x->kind != y->kind)
		return false;
	switch (x->kind) {
	case SCPP_TERM_CONST:
		return scpp_value_eq(&x->value, &y->value);
	case SCPP_TERM_VAR:
		return x->var == y->var;
	default:
		if (x->kind == SCPP_TERM_OP && x->var != y->var)
			return false;
		k = term_kids(x, kx, pos);
		term_kids(y, ky, pos);
		for (unsigned int i = 0; i < k; i++)
			if (!term_equal(ba, kx[i], bb, ky[i]))
				return false;
		return true;
	}
}

static bool
name_equal(const struct scpp_wire_name *x, const struct scpp_wire_name *y)
{
	return x->len == y->len && (x->len == 0 || memcmp(x->p, y->p, x->len) == 0);
}

bool
scpp_wire_block_equal(const struct scpp_wire_block *a, const struct scpp_wire_block *b)
{
	if (a->flags != b->flags || a->nvars != b->nvars || a->nret != b->nret ||
	    a->ncmds != b->ncmds)
		return false;
	for (unsigned int i = 0; i < a->nvars; i++)
		if (!name_equal(&a->var_name[i], &b->var_name[i]))
			return false;
	if (a->nret != 0 && memcmp(a->ret, b->ret, a->nret) != 0)
		return false;
	for (unsigned int i = 0; i < a->ncmds; i++) {
		const struct scpp_wire_cmd *x = &a->cmd[i], *y = &b->cmd[i];

		if (x->op != y->op || x->flags != y->flags || x->nterms != y->nterms)
			return false;
		if ((x->flags & SCPP_WIRE_CF_STATUS) && x->status_var != y->status_var)
			return false;
		if ((x->flags & SCPP_WIRE_CF_GUARD) && !term_equal(a, x->guard, b, y->guard))
			return false;
		for (unsigned int k = 0; k < x->nterms; k++)
			if (!term_equal(a, x->term[k], b, y->term[k]))
				return false;
	}
	return true;
}
