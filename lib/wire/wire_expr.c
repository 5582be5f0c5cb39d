/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Expressions on the wire: the operator table, the operator byte of an OP
 * term, and the owner rule inside expressions (docs/PROTOCOL.md §8.1,
 * §17). wire.c decodes, encodes and compares OP terms with the same
 * generic code as every other composite term, reading operand counts and
 * positions from this table.
 *
 * An OP term is `0x06, operator byte, operands`. Every operand is an
 * expression (a constant, a variable or another OP) except the first of
 * read(), which is an address, so byte ranges are named the way copy names
 * them. The store-reading operators (val ... read) take an entity as their
 * first operand (read: inside its address); a constant OID there counts
 * for the owner rule like an entity position of a command.
 */
#include <errno.h>

#include "scpp_wire.h"
#include "wire_priv.h"

#define E SCPP_POS_EXPR
#define X(name, arity, p0, p1, p2) {name, arity, {p0, p1, p2}}

const struct scpp_wire_xop_info scpp_wire_xops[SCPP_XOP_COUNT] = {
	[SCPP_XOP_ADD] = X("add", 2, E, E, 0),
	[SCPP_XOP_SUB] = X("sub", 2, E, E, 0),
	[SCPP_XOP_MUL] = X("mul", 2, E, E, 0),
	[SCPP_XOP_DIV] = X("div", 2, E, E, 0),
	[SCPP_XOP_MOD] = X("mod", 2, E, E, 0),
	[SCPP_XOP_MIN] = X("min", 2, E, E, 0),
	[SCPP_XOP_MAX] = X("max", 2, E, E, 0),
	[SCPP_XOP_BAND] = X("band", 2, E, E, 0),
	[SCPP_XOP_BOR] = X("bor", 2, E, E, 0),
	[SCPP_XOP_BXOR] = X("bxor", 2, E, E, 0),
	[SCPP_XOP_SHL] = X("shl", 2, E, E, 0),
	[SCPP_XOP_SHR] = X("shr", 2, E, E, 0),
	[SCPP_XOP_EQ] = X("eq", 2, E, E, 0),
	[SCPP_XOP_NE] = X("ne", 2, E, E, 0),
	[SCPP_XOP_LT] = X("lt", 2, E, E, 0),
	[SCPP_XOP_LE] = X("le", 2, E, E, 0),
	[SCPP_XOP_GT] = X("gt", 2, E, E, 0),
	[SCPP_XOP_GE] = X("ge", 2, E, E, 0),
	[SCPP_XOP_AND] = X("and", 2, E, E, 0),
	[SCPP_XOP_OR] = X("or", 2, E, E, 0),
	[SCPP_XOP_NOT] = X("not", 1, E, 0, 0),
	[SCPP_XOP_IF] = X("if", 3, E, E, E),
	[SCPP_XOP_LEN] = X("len", 1, E, 0, 0),
	[SCPP_XOP_NOW] = X("now", 0, 0, 0, 0),
	[SCPP_XOP_HASH] = X("hash", 1, E, 0, 0),
	[SCPP_XOP_VAL] = X("val", 2, E, E, 0),
	[SCPP_XOP_ENTRY] = X("entry", 3, E, E, E),
	[SCPP_XOP_CARD] = X("count", 2, E, E, 0),
	[SCPP_XOP_LENGTH] = X("length", 2, E, E, 0),
	[SCPP_XOP_REACH] = X("reach", 3, E, E, E),
	[SCPP_XOP_FIND] = X("find", 2, E, E, 0),
	[SCPP_XOP_READ] = X("read", 2, SCPP_POS_ADDR, E, 0),
};

#undef X
#undef E

int
wire_expr_operator(struct cur *c, uint8_t *op)
{
	uint8_t x;

	if (SCPP_UNLIKELY(c->off >= c->len))
		return -SCPP_E_TRUNCATED;
	x = c->p[c->off];
	if (SCPP_UNLIKELY(x == 0 || x >= SCPP_XOP_COUNT))
		return -SCPP_E_BAD_TERM;
	c->off++;
	*op = x;
	return 0;
}

unsigned int
wire_expr_depth(const struct scpp_wire_block *b, unsigned int t)
{
	const struct scpp_wire_term *x = &b->term[t];
	const struct scpp_wire_xop_info *xi;
	const uint16_t kid[3] = {x->a, x->b, x->c};
	unsigned int d = 0;

	if (x->kind != SCPP_TERM_OP)
		return 0;
	xi = &scpp_wire_xops[x->var];
	for (unsigned int i = 0; i < xi->arity; i++)
		if (xi->pos[i] == SCPP_POS_EXPR)
			d = SCPP_MAX(d, wire_expr_depth(b, kid[i]));
	return d + 1;
}

/* Operators whose first operand names an entity of the store. */
static bool
xop_reads_entity(unsigned int op)
{
	return op >= SCPP_XOP_VAL && op <= SCPP_XOP_REACH;
}

bool
wire_expr_owner(const struct scpp_wire_block *b, unsigned int t, struct scpp_oid *out)
{
	const struct scpp_wire_term *x = &b->term[t];
	const struct scpp_wire_xop_info *xi;
	const uint16_t kid[3] = {x->a, x->b, x->c};

	if (x->kind != SCPP_TERM_OP)
		return false;
	xi = &scpp_wire_xops[x->var];
	for (unsigned int i = 0; i < xi->arity; i++) {
		unsigned int k = kid[i];

		if (xi->pos[i] == SCPP_POS_ADDR) {
			/* read()'s address names its entity as copy's does. */
			if (wire_addr_owner(b, k, out))
				return true;
			continue;
		}
		if (i == 0 && xop_reads_entity(x->var) && wire_ent_owner(b, k, out))
			return true;
		if (wire_expr_owner(b, k, out))
			return true;
	}
	return false;
}
