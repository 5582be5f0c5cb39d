/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Wire blocks -> canonical text.
 *
 * The printer must produce text that parses back to an equal block
 * (scpp_wire_block_equal) for *any* block the wire accepts, not only for
 * blocks that came from text. Two things about wire blocks do not map onto
 * `%name` directly, and both are handled by choosing labels:
 *
 * - Names. A wire name is any UTF-8 string of 0..64 bytes, and two
 *   variables may share one. A variable whose name is a valid label
 *   (digits or an identifier), is not of the anonymous form `_N`, and is
 *   unique in the block prints as `%name`. Every other variable prints as
 *   `%_I` (I = its index, unique by construction); if its name is not
 *   empty, a `var` line carries it: `var %_3 = "a b"`.
 * - Order. The parser declares variables in order of first appearance, so
 *   the printer walks the commands (and then the return list) in exactly
 *   the order it prints them; if first appearance does not give indexes
 *   0, 1, 2, ... (a variable only returned, or never used, or used out of
 *   order), a `var` line listing every variable in index order comes first.
 *
 * Strings print bare where they are attribute or type names and read back
 * as such (identifiers that are not keywords); everything else uses
 * scpp_value_format(), whose output the lexer reads back exactly.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "scpp_lang.h"
#include "lang_priv.h"

/* snprintf-style appender that keeps counting past the end of the buffer. */
struct out {
	char *buf;
	size_t size;
	size_t len;
};

static void
out_mem(struct out *o, const char *s, size_t n)
{
	if (o->len < o->size) {
		size_t room = o->size - o->len - 1; /* keep one byte for the NUL */

		memcpy(o->buf + o->len, s, n < room ? n : room);
	}
	o->len += n;
}

static void
out_str(struct out *o, const char *s)
{
	out_mem(o, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3)))
out_printf(struct out *o, const char *fmt, ...)
{
	char tmp[32];
	va_list ap;
	int n;

	/* Only short items (indexes) go through here. */
	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		out_mem(o, tmp, SCPP_MIN((size_t)n, sizeof(tmp) - 1));
}

static void
out_value(struct out *o, const struct scpp_value *v)
{
	size_t room = o->len < o->size ? o->size - o->len : 0;
	int n = scpp_value_format(room ? o->buf + o->len : NULL, room, v);

	if (n > 0)
		o->len += (size_t)n;
}

struct fmt {
	const struct scpp_wire_block *b;
	struct out o;
	bool plain[SCPP_WIRE_VARS_MAX]; /* prints as %name */
};

/* Terms print at most this deep; a valid block is no deeper (an expression,
 * the address chain of a read() at its bottom, a VALUE, a KEY). Guards
 * against cycles. */
#define TERM_DEPTH_MAX (SCPP_WIRE_EXPR_DEPTH_MAX + SCPP_WIRE_NEST_MAX + 4)

/* Does operand @p i of operator @p op name an attribute (printed bare)? */
static bool
xop_attr_operand(unsigned int op, unsigned int i)
{
	if (op == SCPP_XOP_FIND)
		return i == 0;
	return i == 1 && op >= SCPP_XOP_VAL && op <= SCPP_XOP_REACH;
}

static bool
name_eq(const struct scpp_wire_name *x, const struct scpp_wire_name *y)
{
	return x->len == y->len && (x->len == 0 || memcmp(x->p, y->p, x->len) == 0);
}

static void
choose_labels(struct fmt *f)
{
	const struct scpp_wire_block *b = f->b;

	for (unsigned int i = 0; i < b->nvars; i++) {
		const struct scpp_wire_name *n = &b->var_name[i];
		bool ok = n->len > 0 && lang_is_label(n->p, n->len) &&
			  !lang_is_anon_label(n->p, n->len);

		for (unsigned int j = 0; ok && j < b->nvars; j++)
			if (j != i && name_eq(n, &b->var_name[j]))
				ok = false;
		f->plain[i] = ok;
	}
}

static void
print_var(struct fmt *f, unsigned int v)
{
	const struct scpp_wire_name *n = &f->b->var_name[v];

	out_str(&f->o, "%");
	if (f->plain[v])
		out_mem(&f->o, n->p, n->len);
	else
		out_printf(&f->o, "_%u", v);
}

/*
 * Check a term tree and visit its variables in print order: @p seen[] marks
 * variables met, @p order[] receives first appearances.
 */
static int
walk_term(const struct scpp_wire_block *b, unsigned int t, unsigned int depth, bool *seen,
	  uint8_t *order, unsigned int *norder)
{
	const struct scpp_wire_term *x;

	if (t >= b->nterms || depth > TERM_DEPTH_MAX)
		return -EINVAL;
	x = &b->term[t];
	switch (x->kind) {
	case SCPP_TERM_CONST:
		return x->value.type < SCPP_VT_COUNT ? 0 : -EINVAL;
	case SCPP_TERM_VAR:
		if (x->var >= b->nvars)
			return -EINVAL;
		if (!seen[x->var]) {
			seen[x->var] = true;
			order[(*norder)++] = x->var;
		}
		return 0;
	case SCPP_TERM_KEY:
	case SCPP_TERM_VALUE:
	case SCPP_TERM_OFFSET:
		if (walk_term(b, x->a, depth + 1, seen, order, norder) < 0)
			return -EINVAL;
		return walk_term(b, x->b, depth + 1, seen, order, norder);
	case SCPP_TERM_OP: {
		const uint16_t kid[3] = {x->a, x->b, x->c};

		if (x->var == 0 || x->var >= SCPP_XOP_COUNT)
			return -EINVAL;
		for (unsigned int i = 0; i < scpp_wire_xops[x->var].arity; i++)
			if (walk_term(b, kid[i], depth + 1, seen, order, norder) < 0)
				return -EINVAL;
		return 0;
	}
	default:
		return -EINVAL;
	}
}

/* Is the constant term @p t the value nil? (`del E` prints without it.) */
static bool
term_is_nil(const struct scpp_wire_block *b, unsigned int t)
{
	return b->term[t].kind == SCPP_TERM_CONST && b->term[t].value.type == SCPP_VT_NIL;
}

/*
 * Validate the block and decide whether a `var` line is needed: it is when
 * a name needs a label of its own, or when first appearance (commands,
 * then the return list) is not index order.
 */
static int
plan(struct fmt *f, bool *need_var_line)
{
	const struct scpp_wire_block *b = f->b;
	bool seen[SCPP_WIRE_VARS_MAX] = {false};
	uint8_t order[SCPP_WIRE_VARS_MAX];
	unsigned int norder = 0;

	if (b->nvars > SCPP_WIRE_VARS_MAX || b->nret > b->nvars || b->ncmds > SCPP_WIRE_CMDS_MAX ||
	    b->nterms > SCPP_WIRE_TERMS_MAX)
		return -EINVAL;
	for (unsigned int i = 0; i < b->ncmds; i++) {
		const struct scpp_wire_cmd *c = &b->cmd[i];

		if (c->op == 0 || c->op >= SCPP_OP_COUNT || c->nterms != scpp_wire_op_nterms[c->op])
			return -EINVAL;
		for (unsigned int k = 0; k < c->nterms; k++) {
			if (c->term[k] >= b->nterms)
				return -EINVAL;
			if (c->op == SCPP_OP_DEL && k == 1 && term_is_nil(b, c->term[k]))
				continue;
			if (walk_term(b, c->term[k], 0, seen, order, &norder) < 0)
				return -EINVAL;
		}
		if ((c->flags & SCPP_WIRE_CF_GUARD) &&
		    (c->guard >= b->nterms || walk_term(b, c->guard, 0, seen, order, &norder) < 0))
			return -EINVAL;
		if (c->flags & SCPP_WIRE_CF_STATUS) {
			if (c->status_var >= b->nvars)
				return -EINVAL;
			if (!seen[c->status_var]) {
				seen[c->status_var] = true;
				order[norder++] = c->status_var;
			}
		}
	}
	for (unsigned int i = 0; i < b->nret; i++) {
		if (b->ret[i] >= b->nvars)
			return -EINVAL;
		if (!seen[b->ret[i]]) {
			seen[b->ret[i]] = true;
			order[norder++] = b->ret[i];
		}
	}
	*need_var_line = norder != b->nvars;
	for (unsigned int i = 0; i < norder; i++)
		if (order[i] != i)
			*need_var_line = true;
	for (unsigned int i = 0; i < b->nvars; i++)
		if (!f->plain[i] && b->var_name[i].len != 0)
			*need_var_line = true;
	return 0;
}

/* A constant; @p bare allows an identifier-like string to print unquoted. */
static void
print_const(struct fmt *f, const struct scpp_value *v, bool bare)
{
	if (bare && v->type == SCPP_VT_STR && lang_is_ident((const char *)v->p, v->len) &&
	    !lang_is_keyword((const char *)v->p, v->len))
		out_mem(&f->o, (const char *)v->p, v->len);
	else
		out_value(&f->o, v);
}

/* Print term @p t (already validated by plan()); @p bare as print_const. */
static void
print_term(struct fmt *f, unsigned int t, bool bare)
{
	const struct scpp_wire_term *x = &f->b->term[t];

	switch (x->kind) {
	case SCPP_TERM_CONST:
		print_const(f, &x->value, bare);
		break;
	case SCPP_TERM_VAR:
		print_var(f, x->var);
		break;
	case SCPP_TERM_KEY:
		print_term(f, x->a, true);
		out_str(&f->o, "[");
		print_term(f, x->b, false);
		out_str(&f->o, "]");
		break;
	case SCPP_TERM_VALUE:
		out_str(&f->o, "value(");
		print_term(f, x->a, false);
		out_str(&f->o, ", ");
		print_term(f, x->b, true);
		out_str(&f->o, ")");
		break;
	case SCPP_TERM_OFFSET:
		out_str(&f->o, "offset(");
		print_term(f, x->a, false);
		out_str(&f->o, ", ");
		print_term(f, x->b, false);
		out_str(&f->o, ")");
		break;
	case SCPP_TERM_OP: {
		const uint16_t kid[3] = {x->a, x->b, x->c};

		out_str(&f->o, scpp_wire_xops[x->var].name);
		out_str(&f->o, "(");
		for (unsigned int i = 0; i < scpp_wire_xops[x->var].arity; i++) {
			if (i > 0)
				out_str(&f->o, ", ");
			print_term(f, kid[i], xop_attr_operand(x->var, i));
		}
		out_str(&f->o, ")");
		break;
	}
	default:
		break;
	}
}

static void
print_var_line(struct fmt *f)
{
	const struct scpp_wire_block *b = f->b;

	out_str(&f->o, "var");
	for (unsigned int i = 0; i < b->nvars; i++) {
		out_str(&f->o, i == 0 ? " " : ", ");
		print_var(f, i);
		if (!f->plain[i] && b->var_name[i].len != 0) {
			struct scpp_value name =
				scpp_value_str(b->var_name[i].p, b->var_name[i].len);

			out_str(&f->o, " = ");
			out_value(&f->o, &name);
		}
	}
	out_str(&f->o, "\n");
}

static void
print_cmd(struct fmt *f, const struct scpp_wire_cmd *c)
{
	out_str(&f->o, scpp_wire_op_name[c->op]);
	for (unsigned int k = 0; k < c->nterms; k++) {
		unsigned int pos = scpp_wire_op_pos[c->op][k];

		if (c->op == SCPP_OP_DEL && k == 1 && term_is_nil(f->b, c->term[k]))
			continue;
		out_str(&f->o, " ");
		/* Attribute names, create's type and assert's errno read best bare. */
		print_term(f, c->term[k], pos == SCPP_POS_ATTR || c->op == SCPP_OP_CREATE ||
					  (c->op == SCPP_OP_ASSERT && k == 1));
	}
	if (c->flags & SCPP_WIRE_CF_GUARD) {
		out_str(&f->o, " when ");
		print_term(f, c->guard, false);
	}
	if (c->flags & SCPP_WIRE_CF_STATUS) {
		out_str(&f->o, " !");
		print_var(f, c->status_var);
	}
	out_str(&f->o, "\n");
}

int
scpp_lang_format_block(char *buf, size_t size, const struct scpp_wire_block *b)
{
	struct fmt f;
	bool need_var_line = false;

	if (b == NULL || (buf == NULL && size != 0))
		return -EINVAL;
	f.b = b;
	f.o = (struct out){buf, size, 0};
	if (b->nvars > SCPP_WIRE_VARS_MAX)
		return -EINVAL;
	choose_labels(&f);
	if (plan(&f, &need_var_line) < 0)
		return -EINVAL;
	if (need_var_line)
		print_var_line(&f);
	for (unsigned int i = 0; i < b->ncmds; i++)
		print_cmd(&f, &b->cmd[i]);
	out_str(&f.o, "return");
	for (unsigned int i = 0; i < b->nret; i++) {
		out_str(&f.o, " ");
		print_var(&f, b->ret[i]);
	}
	out_str(&f.o, "\n");
	if (size > 0)
		buf[f.o.len < size ? f.o.len : size - 1] = '\0';
	if (f.o.len > INT32_MAX)
		return -EINVAL;
	return (int)f.o.len;
}
