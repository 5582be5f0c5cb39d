/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The text form of blocks -> wire blocks (grammar: docs/LANGUAGE.md).
 *
 * A hand-written recursive-descent parser over a one-token lookahead lexer.
 * Design points:
 *
 * - Tokens are lexed exactly once. String and bytes literals are decoded
 *   while lexing, into the caller's arena when they need unescaping, so
 *   nothing is decoded twice and the arena use is the sum of the decoded
 *   literals (never more than the text length).
 * - Terms are built bottom-up through the wire builder (children first, as
 *   it requires), so every block this parser returns is one the builder
 *   accepted, and the encoder and decoder agree with it. The parser checks
 *   positions itself before calling the builder only to give a precise
 *   message ("an address cannot be an entity") rather than the builder's
 *   bare -SCPP_E_BAD_TERM.
 * - Variables are declared in order of first appearance in the text, which
 *   is the order the printer relies on (lang_fmt.c) to avoid a `var` line.
 * - Positions: the lexer keeps line and column of its cursor incrementally
 *   (columns count UTF-8 characters). A position inside a token is derived
 *   from the token's start; tokens never span lines.
 * - Recursion is bounded: only addresses and expressions nest, and both
 *   nesting limits are checked before descending, so hostile input cannot
 *   exhaust the stack.
 * - Expressions are calls, `op(a, b)`: a bare word followed by '(' is an
 *   operator (or an address, for `value` and `offset`), anything else is a
 *   constant or a variable, so no operator name is reserved.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scpp_lang.h"
#include "lang_priv.h"

enum tok_kind {
	T_EOF,
	T_EOL,    /* newline or ';' */
	T_IDENT,  /* bare word: command, `value`/`offset`, or a string constant */
	T_VAR,    /* %label */
	T_CONST,  /* literal: string, bytes, number, OID, nil/true/false */
	T_LPAREN,
	T_RPAREN,
	T_LBRACK,
	T_RBRACK,
	T_COMMA,
	T_BANG,
	T_EQ,
};

struct tok {
	uint8_t kind;
	size_t start;          /* byte offset in the text */
	size_t len;            /* bytes of text */
	unsigned int line, col;
	struct scpp_value v;   /* T_CONST */
};

/* Longest numeric literal; plenty for any float a human types. */
#define NUM_TEXT_MAX 128

struct var_info {
	const char *label;     /* text after `%` */
	uint16_t len;
	unsigned int line, col; /* first appearance */
};

struct parser {
	const char *s;
	size_t len;
	size_t pos;               /* lexer cursor */
	unsigned int line, col;   /* of the cursor */
	uint8_t *arena;
	size_t arena_size;
	size_t arena_used;
	struct scpp_wire_block *b;
	struct scpp_lang_error *err;
	struct tok tok;           /* current (lookahead) token */
	struct var_info var[SCPP_WIRE_VARS_MAX];
	bool seen_return;
	unsigned int ret_line, ret_col;
};

/* What each term position is called in messages. */
struct role {
	const char *name;     /* "attribute" */
	const char *expect;   /* "an attribute term" */
};

static const struct role R_ENT = {"entity", "an entity term"};
static const struct role R_ATTR = {"attribute", "an attribute term"};
static const struct role R_VAL = {"value", "a value term"};
static const struct role R_DST = {"destination address", "a destination address"};
static const struct role R_SRC = {"source address", "a source address"};
static const struct role R_LEN = {"length", "a length term"};
static const struct role R_DEST = {"variable", "a variable to bind"};
static const struct role R_TYPE = {"type", "a type term"};
static const struct role R_KEY = {"map key", "a map key term"};
static const struct role R_ADDR = {"address", "an address"};
static const struct role R_COUNT = {"count", "a count term"};
static const struct role R_EXPR = {"expression", "an expression"};
static const struct role R_COND = {"condition", "a condition (an expression)"};
static const struct role R_ERRNO = {"errno", "an errno (name or number)"};
static const struct role R_DATA = {"data", "a data term"};
static const struct role R_OPERAND = {"operand", "an operand (expression)"};

/* Roles of each opcode's terms, in order. */
static const struct role *const op_roles[SCPP_OP_COUNT][3] = {
	[SCPP_OP_GET] = {&R_ENT, &R_ATTR, &R_VAL},
	[SCPP_OP_SET] = {&R_ENT, &R_ATTR, &R_VAL},
	[SCPP_OP_COPY] = {&R_DST, &R_SRC, &R_LEN},
	[SCPP_OP_CREATE] = {&R_DEST, &R_TYPE, NULL},
	[SCPP_OP_ALLOC] = {&R_ENT, &R_ATTR, &R_LEN},
	[SCPP_OP_DEL] = {&R_ENT, &R_ATTR, NULL},
	[SCPP_OP_LET] = {&R_DEST, &R_EXPR, NULL},
	[SCPP_OP_WHERE] = {&R_COND, NULL, NULL},
	[SCPP_OP_ASSERT] = {&R_COND, &R_ERRNO, NULL},
	[SCPP_OP_WRITE] = {&R_DST, &R_DATA, NULL},
	[SCPP_OP_RESIZE] = {&R_ENT, &R_ATTR, &R_LEN},
};

/* What each command takes, for "too many terms" messages. */
static const char *const op_usage[SCPP_OP_COUNT] = {
	[SCPP_OP_GET] = "entity, attribute, value",
	[SCPP_OP_SET] = "entity, attribute, value",
	[SCPP_OP_COPY] = "destination address, source address, length",
	[SCPP_OP_CREATE] = "variable, type",
	[SCPP_OP_ALLOC] = "entity, attribute, length",
	[SCPP_OP_DEL] = "entity and optionally attribute",
	[SCPP_OP_LET] = "variable, expression",
	[SCPP_OP_WHERE] = "condition",
	[SCPP_OP_ASSERT] = "condition, errno",
	[SCPP_OP_WRITE] = "destination address, data",
	[SCPP_OP_RESIZE] = "entity, attribute, length",
};

/* ---- errors ---- */

static int __attribute__((format(printf, 5, 6)))
fail_at(struct parser *p, int code, unsigned int line, unsigned int col, const char *fmt, ...)
{
	struct scpp_lang_error *e = p->err;
	va_list ap;
	int n;

	if (e == NULL)
		return code;
	e->code = code;
	e->line = line;
	e->col = col;
	n = snprintf(e->msg, sizeof(e->msg), "%u:%u: ", line, col);
	if (n < 0 || (size_t)n >= sizeof(e->msg))
		return code;
	va_start(ap, fmt);
	vsnprintf(e->msg + n, sizeof(e->msg) - (size_t)n, fmt, ap);
	va_end(ap);
	return code;
}

/* Column of byte @p off, which lies in the token starting at @p t. */
static unsigned int
col_in(const struct parser *p, const struct tok *t, size_t off)
{
	return t->col + (unsigned int)lang_utf8_chars(p->s + t->start, off - t->start);
}

/*
 * Quote up to @p max bytes of text for a message, cut at a character
 * boundary, with "..." if shortened. Non-printing ASCII is shown as \xNN so
 * a message never carries control characters.
 */
static void
quote_text(char *buf, size_t size, const char *s, size_t len, size_t max)
{
	size_t o = 0, i = 0;

	if (size < 8) {
		if (size > 0)
			buf[0] = '\0';
		return;
	}
	buf[o++] = '\'';
	while (i < len && i < max && o + 8 < size) {
		unsigned char c = (unsigned char)s[i];
		unsigned int k = lang_utf8_seq((const uint8_t *)s + i, len - i);

		if (c < 0x20 || c == 0x7f || k == 0) {
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
			i++;
		} else if (c < 0x80) {
			buf[o++] = (char)c;
			i++;
		} else {
			if (o + k + 8 >= size || i + k > max)
				break;
			memcpy(buf + o, s + i, k);
			o += k;
			i += k;
		}
	}
	if (i < len && o + 4 < size) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '\'';
	buf[o] = '\0';
}

/* How the current token reads in "found ..." */
static const char *
describe(const struct parser *p, const struct tok *t, char *buf, size_t size)
{
	if (t->kind == T_EOF)
		return "end of input";
	if (t->kind == T_EOL && p->s[t->start] == '\n')
		return "end of line";
	quote_text(buf, size, p->s + t->start, t->len, 40);
	return buf;
}

/* ---- lexer ---- */

/* Move the cursor to @p to on the current line, counting characters. */
static void
advance_to(struct parser *p, size_t to)
{
	p->col += (unsigned int)lang_utf8_chars(p->s + p->pos, to - p->pos);
	p->pos = to;
}

static int
arena_take(struct parser *p, const struct tok *t, size_t n, uint8_t **out)
{
	if (n > p->arena_size - p->arena_used)
		return fail_at(p, -ENOSPC, t->line, t->col,
			       "arena too small: this literal needs %zu more bytes (%zu of %zu used)",
			       n, p->arena_used, p->arena_size);
	*out = p->arena + p->arena_used;
	p->arena_used += n;
	return 0;
}

/*
 * One escape or character of a string literal at @p i (inside the quotes,
 * already validated by the first pass): returns its byte and advances @p i.
 * Shared by the decoding pass and the error path that maps a bad output
 * byte back to the text.
 */
static uint8_t
str_unit(const char *s, size_t *i)
{
	unsigned char c = (unsigned char)s[*i];

	if (c != '\\') {
		(*i)++;
		return c;
	}
	c = (unsigned char)s[*i + 1];
	*i += 2;
	switch (c) {
	case 'n': return '\n';
	case 't': return '\t';
	case 'r': return '\r';
	case 'x':
		*i += 2;
		return (uint8_t)(lang_hex_digit((unsigned char)s[*i - 2]) * 16 +
				 lang_hex_digit((unsigned char)s[*i - 1]));
	default:
		return c; /* \" and \\ */
	}
}

static int
lex_string(struct parser *p, struct tok *t)
{
	const char *s = p->s;
	size_t i = t->start + 1, end, nout = 0, k;
	bool escaped = false;
	uint8_t *dst = NULL;
	int rc;

	/* Pass 1: find the closing quote, check every escape, count output. */
	for (;;) {
		unsigned char c;

		if (i >= p->len || s[i] == '\n')
			return fail_at(p, -SCPP_E_SYNTAX, t->line, t->col,
				       "unterminated string literal");
		c = (unsigned char)s[i];
		if (c == '"')
			break;
		if (c == '\\') {
			unsigned char e = i + 1 < p->len ? (unsigned char)s[i + 1] : 0;

			escaped = true;
			if (e == 'x') {
				if (i + 3 >= p->len || lang_hex_digit((unsigned char)s[i + 2]) < 0 ||
				    lang_hex_digit((unsigned char)s[i + 3]) < 0)
					return fail_at(p, -SCPP_E_SYNTAX, t->line, col_in(p, t, i),
						       "bad escape: \\x needs two hex digits");
				i += 4;
			} else if (e == '"' || e == '\\' || e == 'n' || e == 't' || e == 'r') {
				i += 2;
			} else {
				char q[24];

				quote_text(q, sizeof(q), s + i, i + 1 < p->len && e != '\n' ? 2 : 1, 8);
				return fail_at(p, -SCPP_E_SYNTAX, t->line, col_in(p, t, i),
					       "bad escape %s (use \\\" \\\\ \\n \\t \\r or \\xNN)", q);
			}
			nout++;
			continue;
		}
		if (c < 0x20 || c == 0x7f)
			return fail_at(p, -SCPP_E_SYNTAX, t->line, col_in(p, t, i),
				       "control character 0x%02x in string literal (write it as \\x%02x)",
				       c, c);
		i++;
		nout++;
	}
	end = i;
	t->len = end + 1 - t->start;

	if (!escaped) {
		const uint8_t *raw = (const uint8_t *)s + t->start + 1;

		k = lang_utf8_valid_prefix(raw, nout);
		if (k != nout)
			return fail_at(p, -SCPP_E_BAD_UTF8, t->line,
				       col_in(p, t, t->start + 1 + k),
				       "invalid UTF-8 byte 0x%02x in string literal", raw[k]);
		t->v = scpp_value_str((const char *)raw, (uint32_t)nout);
		return 0;
	}

	/* Pass 2: decode into the arena. */
	if (nout > UINT32_MAX)
		return fail_at(p, -ERANGE, t->line, t->col, "string literal too long");
	rc = arena_take(p, t, nout, &dst);
	if (rc < 0)
		return rc;
	i = t->start + 1;
	for (size_t o = 0; o < nout; o++)
		dst[o] = str_unit(s, &i);
	k = lang_utf8_valid_prefix(dst, nout);
	if (k != nout) {
		/* Map output byte k back to the character or escape that made it. */
		size_t at = t->start + 1;

		for (size_t o = 0; o < k; o++)
			(void)str_unit(s, &at);
		return fail_at(p, -SCPP_E_BAD_UTF8, t->line, col_in(p, t, at),
			       "string literal is not valid UTF-8 (byte 0x%02x)", dst[k]);
	}
	t->v = scpp_value_str((const char *)dst, (uint32_t)nout);
	return 0;
}

/* x"00ff": @p t->start is at the `x`. */
static int
lex_bytes(struct parser *p, struct tok *t)
{
	const char *s = p->s;
	size_t i = t->start + 2, ndig = 0;
	uint8_t *dst = NULL;
	int rc;

	for (;; i++) {
		if (i >= p->len || s[i] == '\n')
			return fail_at(p, -SCPP_E_SYNTAX, t->line, t->col,
				       "unterminated bytes literal");
		if (s[i] == '"')
			break;
		if (lang_hex_digit((unsigned char)s[i]) < 0) {
			char q[24];

			unsigned int k = lang_utf8_seq((const uint8_t *)s + i, p->len - i);

			quote_text(q, sizeof(q), s + i, k ? k : 1, 8);
			return fail_at(p, -SCPP_E_SYNTAX, t->line, col_in(p, t, i),
				       "expected a hex digit or '\"' in bytes literal, found %s", q);
		}
		ndig++;
	}
	t->len = i + 1 - t->start;
	if (ndig % 2 != 0)
		return fail_at(p, -SCPP_E_SYNTAX, t->line, t->col,
			       "bytes literal has an odd number of hex digits (%zu)", ndig);
	if (ndig / 2 > UINT32_MAX)
		return fail_at(p, -ERANGE, t->line, t->col, "bytes literal too long");
	if (ndig == 0) {
		/* Empty: point at the text, never NULL (memcmp on NULL is UB). */
		t->v = scpp_value_bytes(s + t->start, 0);
		return 0;
	}
	rc = arena_take(p, t, ndig / 2, &dst);
	if (rc < 0)
		return rc;
	for (size_t o = 0; o < ndig / 2; o++)
		dst[o] = (uint8_t)(lang_hex_digit((unsigned char)s[t->start + 2 + 2 * o]) * 16 +
				   lang_hex_digit((unsigned char)s[t->start + 3 + 2 * o]));
	t->v = scpp_value_bytes(dst, (uint32_t)(ndig / 2));
	return 0;
}

/* Digits in [p, p+n), base 10 or 16, into a u64; false on overflow. */
static bool
parse_mag(const char *d, size_t n, unsigned int base, uint64_t *out)
{
	uint64_t x = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t digit = (uint64_t)lang_hex_digit((unsigned char)d[i]);

		if (x > (UINT64_MAX - digit) / base)
			return false;
		x = x * base + digit;
	}
	*out = x;
	return true;
}

/*
 * Is w[0..n) a decimal float: digits ["." digits] [e [+-] digits], with a
 * fraction or an exponent (else it is an integer)?
 */
static bool
float_shape(const char *w, size_t n)
{
	size_t i = 0, d;
	bool frac = false, ex = false;

	for (d = i; i < n && lang_is_digit((unsigned char)w[i]); i++)
		;
	if (i == d)
		return false;
	if (i < n && w[i] == '.') {
		frac = true;
		for (d = ++i; i < n && lang_is_digit((unsigned char)w[i]); i++)
			;
		if (i == d)
			return false;
	}
	if (i < n && (w[i] == 'e' || w[i] == 'E')) {
		ex = true;
		if (++i < n && (w[i] == '+' || w[i] == '-'))
			i++;
		for (d = i; i < n && lang_is_digit((unsigned char)w[i]); i++)
			;
		if (i == d)
			return false;
	}
	return i == n && (frac || ex);
}

/*
 * Numbers: [-] (0x hex | decimal) [u], decimal floats, [-]nan, [-]inf.
 * The lexer takes the longest run of word characters (and a sign right
 * after a decimal exponent's e), then decides what it is, so `5abc` or
 * `1.2.3` is one bad literal rather than a number followed by junk.
 */
static int
lex_number(struct parser *p, struct tok *t)
{
	const char *s = p->s;
	size_t i = t->start, wstart, n;
	bool neg = false, hex, uns = false;
	char q[64];
	uint64_t mag;

	if (s[i] == '-') {
		neg = true;
		i++;
	}
	wstart = i;
	hex = i + 1 < p->len && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X');
	while (i < p->len) {
		char c = s[i];

		if (lang_is_ident_char((unsigned char)c) || c == '.') {
			i++;
		} else if ((c == '+' || c == '-') && !hex && i > wstart &&
			   (s[i - 1] == 'e' || s[i - 1] == 'E') && lang_is_digit((unsigned char)s[wstart])) {
			i++;
		} else {
			break;
		}
	}
	t->len = i - t->start;
	n = i - wstart;
	quote_text(q, sizeof(q), s + t->start, t->len, 48);

	if (n == 0)
		return fail_at(p, -SCPP_E_SYNTAX, t->line, t->col, "expected a number after '-'");
	if (!lang_is_digit((unsigned char)s[wstart])) {
		double f;

		if (n == 3 && memcmp(s + wstart, "nan", 3) == 0)
			f = NAN;
		else if (n == 3 && memcmp(s + wstart, "inf", 3) == 0)
			f = INFINITY;
		else
			return fail_at(p, -SCPP_E_SYNTAX, t->line, t->col,
				       "expected a number after '-', found %s", q);
		t->v = scpp_value_f64(neg ? -f : f);
		return 0;
	}
	if (s[i - 1] == 'u') {
		uns = true;
		n--;
	}
	if (hex) {
		bool ok = n > 2;

		for (size_t k = 2; k < n; k++)
			ok = ok && lang_hex_digit((unsigned char)s[wstart + k]) >= 0;
		if (!ok)
			return fail_at(p, -SCPP_E_SYNTAX, t->line, t->col,
				       "invalid hex integer literal %s", q);
	} else if (float_shape(s + wstart, n) && !uns) {
		char buf[NUM_TEXT_MAX + 1];
		double f;

		if (s[wstart] == '0' && n > 1 && lang_is_digit((unsigned char)s[wstart + 1]))
			return fail_at(p, -SCPP_E_SYNTAX, t->line, t->col,
				       "leading zero in number literal %s", q);
		if (t->len > NUM_TEXT_MAX)
			return fail_at(p, -SCPP_E_SYNTAX, t->line, t->col,
				       "number literal longer than %d characters", NUM_TEXT_MAX);
		/* strtod needs a NUL-terminated copy; the shape is already
		 * checked, so it consumes all of it (C locale decimal point). */
		memcpy(buf, s + t->start, t->len);
		buf[t->len] = '\0';
		errno = 0;
		f = strtod(buf, NULL);
		if (errno == ERANGE && isinf(f))
			return fail_at(p, -ERANGE, t->line, t->col,
				       "float literal %s out of range", q);
		t->v = scpp_value_f64(f);
		return 0;
	} else {
		for (size_t k = 0; k < n; k++)
			if (!lang_is_digit((unsigned char)s[wstart + k]))
				return fail_at(p, -SCPP_E_SYNTAX, t->line, t->col,
					       "invalid number literal %s", q);
		if (s[wstart] == '0' && n > 1)
			return fail_at(p, -SCPP_E_SYNTAX, t->line, t->col,
				       "leading zero in integer literal %s (octal is not supported)", q);
	}
	if (neg && uns)
		return fail_at(p, -SCPP_E_SYNTAX, t->line, t->col,
			       "negative literal %s cannot be unsigned (u64)", q);
	if (hex ? !parse_mag(s + wstart + 2, n - 2, 16, &mag) : !parse_mag(s + wstart, n, 10, &mag))
		return fail_at(p, -ERANGE, t->line, t->col,
			       "integer literal %s out of range for %s", q, uns ? "u64" : "i64");
	if (uns) {
		t->v = scpp_value_u64(mag);
	} else if (neg) {
		if (mag > (uint64_t)INT64_MAX + 1)
			return fail_at(p, -ERANGE, t->line, t->col,
				       "integer literal %s out of range for i64", q);
		/* Negate in unsigned arithmetic: -(2^63) has no positive i64. */
		t->v = scpp_value_i64((int64_t)(0 - mag));
	} else {
		if (mag > (uint64_t)INT64_MAX)
			return fail_at(p, -ERANGE, t->line, t->col,
				       "integer literal %s out of range for i64 (add 'u' for u64)", q);
		t->v = scpp_value_i64((int64_t)mag);
	}
	return 0;
}

static int
lex_oid(struct parser *p, struct tok *t)
{
	size_t i = t->start + 1;
	struct scpp_oid o;

	while (i < p->len && (lang_is_ident_char((unsigned char)p->s[i]) || p->s[i] == '.' ||
			      p->s[i] == '/'))
		i++;
	t->len = i - t->start;
	if (scpp_oid_parse(p->s + t->start, t->len, &o) != 0) {
		char q[64];

		quote_text(q, sizeof(q), p->s + t->start, t->len, 48);
		return fail_at(p, -SCPP_E_SYNTAX, t->line, t->col,
			       "invalid OID %s (expected @locale.node.shard.epoch.counter in "
			       "lowercase hex without leading zeros)", q);
	}
	t->v = scpp_value_oid(o);
	return 0;
}

static int
lex_var(struct parser *p, struct tok *t)
{
	size_t i = t->start + 1;
	unsigned int k;
	char q[96];

	while (i < p->len && lang_is_ident_char((unsigned char)p->s[i]))
		i++;
	t->len = i - t->start;
	if (t->len == 1) {
		/* Quote only what exists: `%` may be the last byte of the text. */
		if (i >= p->len)
			return fail_at(p, -SCPP_E_SYNTAX, t->line, t->col,
				       "expected a variable name after '%%', found end of input");
		k = lang_utf8_seq((const uint8_t *)p->s + i, p->len - i);
		quote_text(q, sizeof(q), p->s + i, k ? k : 1, 8);
		return fail_at(p, -SCPP_E_SYNTAX, t->line, t->col,
			       "expected a variable name after '%%', found %s", q);
	}
	quote_text(q, sizeof(q), p->s + t->start, t->len, 70);
	if (!lang_is_label(p->s + t->start + 1, t->len - 1))
		return fail_at(p, -SCPP_E_SYNTAX, t->line, t->col,
			       "invalid variable name %s (digits, or a letter or '_' then letters, "
			       "digits, '_')", q);
	if (t->len - 1 > SCPP_WIRE_NAME_MAX)
		return fail_at(p, -ENAMETOOLONG, t->line, t->col,
			       "variable name %s longer than %d bytes", q, SCPP_WIRE_NAME_MAX);
	return 0;
}

static int
lex_ident(struct parser *p, struct tok *t)
{
	size_t i = t->start;
	const char *w = p->s + t->start;

	while (i < p->len && lang_is_ident_char((unsigned char)p->s[i]))
		i++;
	t->len = i - t->start;
	if (t->len == 3 && memcmp(w, "nil", 3) == 0)
		t->v = scpp_value_nil();
	else if (t->len == 4 && memcmp(w, "true", 4) == 0)
		t->v = scpp_value_bool(true);
	else if (t->len == 5 && memcmp(w, "false", 5) == 0)
		t->v = scpp_value_bool(false);
	else if (t->len == 3 && memcmp(w, "nan", 3) == 0)
		t->v = scpp_value_f64(NAN);
	else if (t->len == 3 && memcmp(w, "inf", 3) == 0)
		t->v = scpp_value_f64(INFINITY);
	else
		return 0; /* stays T_IDENT */
	t->kind = T_CONST;
	return 0;
}

/* Lex the next token into p->tok. */
static int
lex(struct parser *p)
{
	struct tok *t = &p->tok;
	const char *s = p->s;
	unsigned char c;
	int rc;

	/* Blanks and comments; a comment runs to (not through) the newline. */
	while (p->pos < p->len) {
		c = (unsigned char)s[p->pos];
		if (c == ' ' || c == '\t' || c == '\r') {
			p->pos++;
			p->col++;
		} else if (c == '#') {
			size_t e = p->pos;

			while (e < p->len && s[e] != '\n')
				e++;
			advance_to(p, e);
		} else {
			break;
		}
	}
	memset(t, 0, sizeof(*t));
	t->start = p->pos;
	t->line = p->line;
	t->col = p->col;
	t->len = 1;
	if (p->pos >= p->len) {
		t->kind = T_EOF;
		t->len = 0;
		return 0;
	}
	c = (unsigned char)s[p->pos];
	rc = 0;
	switch (c) {
	case '\n':
		t->kind = T_EOL;
		p->pos++;
		p->line++;
		p->col = 1;
		return 0;
	case ';': t->kind = T_EOL; break;
	case '(': t->kind = T_LPAREN; break;
	case ')': t->kind = T_RPAREN; break;
	case '[': t->kind = T_LBRACK; break;
	case ']': t->kind = T_RBRACK; break;
	case ',': t->kind = T_COMMA; break;
	case '!': t->kind = T_BANG; break;
	case '=': t->kind = T_EQ; break;
	case '%':
		t->kind = T_VAR;
		rc = lex_var(p, t);
		break;
	case '@':
		t->kind = T_CONST;
		rc = lex_oid(p, t);
		break;
	case '"':
		t->kind = T_CONST;
		rc = lex_string(p, t);
		break;
	default:
		if (c == 'x' && p->pos + 1 < p->len && s[p->pos + 1] == '"') {
			t->kind = T_CONST;
			rc = lex_bytes(p, t);
		} else if (c == '-' || lang_is_digit(c)) {
			t->kind = T_CONST;
			rc = lex_number(p, t);
		} else if (lang_is_ident_start(c)) {
			t->kind = T_IDENT;
			rc = lex_ident(p, t);
		} else if (c >= 0x80) {
			unsigned int k = lang_utf8_seq((const uint8_t *)s + p->pos, p->len - p->pos);

			if (k == 0)
				return fail_at(p, -SCPP_E_BAD_UTF8, t->line, t->col,
					       "invalid UTF-8 byte 0x%02x", c);
			return fail_at(p, -SCPP_E_SYNTAX, t->line, t->col,
				       "unexpected character '%.*s'", (int)k, s + p->pos);
		} else if (c == 0) {
			return fail_at(p, -SCPP_E_SYNTAX, t->line, t->col, "unexpected NUL byte");
		} else if (c < 0x20 || c == 0x7f) {
			return fail_at(p, -SCPP_E_SYNTAX, t->line, t->col,
				       "unexpected control character 0x%02x", c);
		} else {
			return fail_at(p, -SCPP_E_SYNTAX, t->line, t->col,
				       "unexpected character '%c'", c);
		}
	}
	if (rc < 0)
		return rc;
	advance_to(p, t->start + t->len);
	return 0;
}

/* ---- parser helpers ---- */

static bool
tok_is_word(const struct parser *p, const struct tok *t, const char *w)
{
	size_t n = strlen(w);

	return t->kind == T_IDENT && t->len == n && memcmp(p->s + t->start, w, n) == 0;
}

/* A bare word followed (after blanks) by '(': a call or an address. */
static bool
tok_is_call(const struct parser *p, const struct tok *t)
{
	size_t i = t->start + t->len;

	if (t->kind != T_IDENT)
		return false;
	while (i < p->len && (p->s[i] == ' ' || p->s[i] == '\t'))
		i++;
	return i < p->len && p->s[i] == '(';
}

/* `value` or `offset` followed (after blanks) by '(': an address. */
static bool
tok_is_addr(const struct parser *p, const struct tok *t)
{
	return (tok_is_word(p, t, "value") || tok_is_word(p, t, "offset")) && tok_is_call(p, t);
}

/* An address or a call of an operator: a term, but not a constant. Any
 * other word followed by '(' is a bare name (and the '(' a syntax error). */
static bool
tok_is_term_call(const struct parser *p, const struct tok *t)
{
	if (!tok_is_call(p, t))
		return false;
	if (tok_is_addr(p, t))
		return true;
	for (unsigned int op = 1; op < SCPP_XOP_COUNT; op++)
		if (tok_is_word(p, t, scpp_wire_xops[op].name))
			return true;
	return false;
}

/* Could the token start a term (of any kind)? */
static bool
tok_starts_term(const struct tok *t)
{
	return t->kind == T_IDENT || t->kind == T_VAR || t->kind == T_CONST;
}

static bool
tok_ends_stmt(const struct tok *t)
{
	return t->kind == T_EOL || t->kind == T_EOF;
}

/* "found ..." for the current token; an address or a call shows as 'value(...)'. */
static const char *
found(const struct parser *p, char *buf, size_t size)
{
	if (tok_is_call(p, &p->tok)) {
		snprintf(buf, size, "address '%.*s(...)'", (int)p->tok.len, p->s + p->tok.start);
		return buf;
	}
	return describe(p, &p->tok, buf, size);
}

static int
builder_fail(struct parser *p, int rc, const struct tok *at)
{
	switch (rc) {
	case -SCPP_E_TOO_MANY:
		return fail_at(p, rc, at->line, at->col, "too many terms (at most %d per block)",
			       SCPP_WIRE_TERMS_MAX);
	case -SCPP_E_NESTING:
		return fail_at(p, rc, at->line, at->col,
			       "addresses nested deeper than %d or expressions deeper than %d",
			       SCPP_WIRE_NEST_MAX, SCPP_WIRE_EXPR_DEPTH_MAX);
	default:
		return fail_at(p, rc, at->line, at->col, "the wire builder rejected this term: %s",
			       scpp_strerror(rc));
	}
}

/*
 * Declare or look up the variable of a T_VAR token. @p name / @p name_len
 * override the wire name (from `var %x = "name"`); otherwise it is the
 * label, or empty for an anonymous label `_N`.
 */
static int
var_lookup(struct parser *p, const struct tok *t, bool *is_new)
{
	const char *label = p->s + t->start + 1;
	uint16_t len = (uint16_t)(t->len - 1);

	*is_new = false;
	for (unsigned int i = 0; i < p->b->nvars; i++)
		if (p->var[i].len == len && memcmp(p->var[i].label, label, len) == 0)
			return (int)i;
	*is_new = true;
	return -1;
}

static int
var_declare(struct parser *p, const struct tok *t, const char *name, uint16_t name_len)
{
	const char *label = p->s + t->start + 1;
	uint16_t len = (uint16_t)(t->len - 1);
	int rc;

	if (name == NULL) {
		name = label;
		name_len = lang_is_anon_label(label, len) ? 0 : len;
	}
	rc = scpp_wire_block_var(p->b, name, name_len);
	if (rc == -SCPP_E_TOO_MANY)
		return fail_at(p, rc, t->line, t->col,
			       "too many variables: '%.*s' would be number %d (at most %d per block)",
			       (int)t->len, p->s + t->start, SCPP_WIRE_VARS_MAX + 1,
			       SCPP_WIRE_VARS_MAX);
	if (rc < 0)
		return fail_at(p, rc, t->line, t->col, "bad variable name: %s", scpp_strerror(rc));
	p->var[rc] = (struct var_info){label, len, t->line, t->col};
	return rc;
}

/* The variable index of the current T_VAR token, declaring it at first use. */
static int
use_var(struct parser *p)
{
	bool is_new;
	int v = var_lookup(p, &p->tok, &is_new);

	if (is_new)
		v = var_declare(p, &p->tok, NULL, 0);
	return v;
}

static int
next(struct parser *p)
{
	return lex(p);
}

/* ---- terms ---- */

static int parse_term(struct parser *p, unsigned int pos, const struct role *role,
		      const char *after, unsigned int depth);

/*
 * A constant or a variable: the only terms ENT, VAL and the parts of a KEY
 * admit. Anything else that is a term is a position error (BAD_TERM);
 * anything that is not a term at all is a syntax error.
 */
static int
parse_simple(struct parser *p, const struct role *role, const char *after)
{
	struct tok t = p->tok;
	char fb[96];
	int rc, term;

	if (tok_is_word(p, &t, "when"))
		return fail_at(p, -SCPP_E_SYNTAX, t.line, t.col,
			       "expected %s after %s, found 'when' (a guard comes after every term; "
			       "write \"when\" for the name)", role->expect, after);
	if (t.kind == T_VAR) {
		rc = use_var(p);
		if (rc < 0)
			return rc;
		rc = scpp_wire_term_var(p->b, (unsigned int)rc);
	} else if (t.kind == T_CONST || (t.kind == T_IDENT && !tok_is_term_call(p, &t))) {
		struct scpp_value v = t.v;

		if (t.kind == T_IDENT) /* bare word: a string constant */
			v = scpp_value_str(p->s + t.start, (uint32_t)t.len);
		rc = scpp_wire_term_const(p->b, &v);
	} else {
		return fail_at(p, tok_starts_term(&t) ? -SCPP_E_BAD_TERM : -SCPP_E_SYNTAX,
			       t.line, t.col, "expected %s (constant or variable) after %s, found %s",
			       role->expect, after, found(p, fb, sizeof(fb)));
	}
	if (rc < 0)
		return builder_fail(p, rc, &t);
	term = rc;
	rc = next(p);
	return rc < 0 ? rc : term;
}

static int
expect(struct parser *p, unsigned int kind, const char *what, const char *where)
{
	char fb[96];

	if (p->tok.kind != kind)
		return fail_at(p, -SCPP_E_SYNTAX, p->tok.line, p->tok.col,
			       "expected %s %s, found %s", what, where, found(p, fb, sizeof(fb)));
	return next(p);
}

/* ATTR position: a constant or variable, optionally subscripted once. */
static int
parse_attr(struct parser *p, const struct role *role, const char *after)
{
	struct tok open;
	int a, k, rc;

	a = parse_simple(p, role, after);
	if (a < 0)
		return a;
	if (p->tok.kind != T_LBRACK)
		return a;
	open = p->tok;
	rc = next(p);
	if (rc < 0)
		return rc;
	k = parse_simple(p, &R_KEY, "'['");
	if (k < 0)
		return k;
	if (p->tok.kind == T_LBRACK)
		return fail_at(p, -SCPP_E_BAD_TERM, p->tok.line, p->tok.col,
			       "a map key cannot itself be a map entry (key inside key)");
	rc = expect(p, T_RBRACK, "']'", "after the map key");
	if (rc < 0)
		return rc;
	rc = scpp_wire_term_key(p->b, a, k);
	if (rc < 0)
		return builder_fail(p, rc, &open);
	if (p->tok.kind == T_LBRACK)
		return fail_at(p, -SCPP_E_BAD_TERM, p->tok.line, p->tok.col,
			       "a map entry cannot be subscripted again (key inside key)");
	return rc;
}

/*
 * ADDR position: value(E, A) or offset(ADDR, N). @p depth is the number of
 * enclosing offset()s; the chain's depth is that plus this address, and is
 * checked before descending so that recursion stays bounded.
 */
static int
parse_addr(struct parser *p, const struct role *role, const char *after, unsigned int depth)
{
	struct tok t = p->tok;
	char fb[96];
	bool is_value;
	int x, y, rc;

	if (!tok_is_addr(p, &t))
		return fail_at(p, tok_starts_term(&t) ? -SCPP_E_BAD_TERM : -SCPP_E_SYNTAX,
			       t.line, t.col,
			       "expected %s (value(E, A) or offset(ADDR, N)) after %s, found %s",
			       role->expect, after, found(p, fb, sizeof(fb)));
	is_value = tok_is_word(p, &t, "value");
	/* offset() adds a level and needs at least a value() inside it. */
	if (!is_value && depth + 2 > SCPP_WIRE_NEST_MAX)
		return fail_at(p, -SCPP_E_NESTING, t.line, t.col,
			       "addresses nested deeper than %d", SCPP_WIRE_NEST_MAX);
	rc = next(p);
	if (rc < 0)
		return rc;
	rc = expect(p, T_LPAREN, "'('", is_value ? "after 'value'" : "after 'offset'");
	if (rc < 0)
		return rc;
	if (is_value) {
		x = parse_simple(p, &R_ENT, "'value('");
		if (x >= 0 && p->tok.kind == T_LBRACK)
			x = fail_at(p, -SCPP_E_BAD_TERM, p->tok.line, p->tok.col,
				    "a map entry [key] is only allowed as an attribute, not as the entity");
	} else {
		x = parse_addr(p, &R_ADDR, "'offset('", depth + 1);
	}
	if (x < 0)
		return x;
	rc = expect(p, T_COMMA, "','", is_value ? "after the entity in value(E, A)" :
				       "after the address in offset(ADDR, N)");
	if (rc < 0)
		return rc;
	if (is_value)
		y = parse_attr(p, &R_ATTR, "entity");
	else
		y = parse_term(p, SCPP_POS_VAL, &R_COUNT, "address", depth);
	if (y < 0)
		return y;
	rc = expect(p, T_RPAREN, "')'", is_value ? "to close value(E, A)" : "to close offset(ADDR, N)");
	if (rc < 0)
		return rc;
	rc = is_value ? scpp_wire_term_value(p->b, x, y) : scpp_wire_term_offset(p->b, x, y);
	if (rc < 0)
		return builder_fail(p, rc, &t);
	return rc;
}

/* The operator called @p name, or 0. */
static unsigned int
xop_by_name(const struct parser *p, const struct tok *t)
{
	for (unsigned int op = 1; op < SCPP_XOP_COUNT; op++)
		if (tok_is_word(p, t, scpp_wire_xops[op].name))
			return op;
	return 0;
}

/*
 * EXPR position: a constant, a variable, or a call `op(operand, ...)` with
 * exactly the operator's arity. @p depth is the number of enclosing calls;
 * it is checked before descending.
 */
static int
parse_expr(struct parser *p, const struct role *role, const char *after, unsigned int depth)
{
	struct tok t = p->tok;
	int opd[3] = {-1, -1, -1};
	const struct scpp_wire_xop_info *xi;
	char fb[96], where[40];
	unsigned int op;
	int rc;

	if (!tok_is_call(p, &t)) {
		rc = parse_simple(p, role, after);
		if (rc >= 0 && p->tok.kind == T_LBRACK)
			return fail_at(p, -SCPP_E_BAD_TERM, p->tok.line, p->tok.col,
				       "a map entry [key] is only allowed as an attribute, not in an "
				       "expression (use entry(e, a, k))");
		return rc;
	}
	if (tok_is_addr(p, &t))
		return fail_at(p, -SCPP_E_BAD_TERM, t.line, t.col,
			       "expected %s after %s, found %s: an address is an operand of "
			       "read(addr, n) only", role->expect, after, found(p, fb, sizeof(fb)));
	op = xop_by_name(p, &t);
	if (op == 0)
		return fail_at(p, -SCPP_E_SYNTAX, t.line, t.col,
			       "unknown operator %s (docs/LANGUAGE.md lists them)",
			       describe(p, &t, fb, sizeof(fb)));
	if (depth + 1 > SCPP_WIRE_EXPR_DEPTH_MAX)
		return fail_at(p, -SCPP_E_NESTING, t.line, t.col,
			       "expressions nested deeper than %d", SCPP_WIRE_EXPR_DEPTH_MAX);
	xi = &scpp_wire_xops[op];
	snprintf(where, sizeof(where), "'%s('", xi->name);
	if ((rc = next(p)) < 0 || (rc = expect(p, T_LPAREN, "'('", where)) < 0)
		return rc;
	for (unsigned int i = 0; i < xi->arity; i++) {
		if (i > 0) {
			snprintf(where, sizeof(where), "after operand %u of %s()", i, xi->name);
			if (p->tok.kind == T_RPAREN)
				return fail_at(p, -SCPP_E_SYNTAX, p->tok.line, p->tok.col,
					       "%s() takes %u operands, found %u", xi->name,
					       xi->arity, i);
			if ((rc = expect(p, T_COMMA, "','", where)) < 0)
				return rc;
		}
		if (xi->pos[i] == SCPP_POS_ADDR)
			opd[i] = parse_addr(p, &R_ADDR, where, 0);
		else
			opd[i] = parse_expr(p, &R_OPERAND, where, depth + 1);
		if (opd[i] < 0)
			return opd[i];
	}
	if (p->tok.kind != T_RPAREN)
		return fail_at(p, -SCPP_E_SYNTAX, p->tok.line, p->tok.col,
			       "%s() takes %u operand%s: expected ')', found %s", xi->name, xi->arity,
			       xi->arity == 1 ? "" : "s", found(p, fb, sizeof(fb)));
	if ((rc = next(p)) < 0)
		return rc;
	rc = scpp_wire_term_op(p->b, op, opd[0], opd[1], opd[2]);
	if (rc < 0)
		return builder_fail(p, rc, &t);
	return rc;
}

static int
parse_term(struct parser *p, unsigned int pos, const struct role *role, const char *after,
	   unsigned int depth)
{
	char fb[96];
	int t;

	switch (pos) {
	case SCPP_POS_EXPR:
		return parse_expr(p, role, after, 0);
	case SCPP_POS_ATTR:
		return parse_attr(p, role, after);
	case SCPP_POS_ADDR:
		return parse_addr(p, role, after, depth);
	case SCPP_POS_DEST:
		if (p->tok.kind != T_VAR)
			return fail_at(p, tok_starts_term(&p->tok) ? -SCPP_E_BAD_TERM : -SCPP_E_SYNTAX,
				       p->tok.line, p->tok.col, "expected %s after %s, found %s",
				       role->expect, after, found(p, fb, sizeof(fb)));
		return parse_simple(p, role, after);
	default: /* ENT, VAL */
		t = parse_simple(p, role, after);
		if (t >= 0 && p->tok.kind == T_LBRACK)
			return fail_at(p, -SCPP_E_BAD_TERM, p->tok.line, p->tok.col,
				       "a map entry [key] is only allowed as an attribute, not as the %s",
				       role->name);
		return t;
	}
}

/* ---- statements ---- */

static int
parse_command(struct parser *p, unsigned int op)
{
	struct tok cmd = p->tok;
	unsigned int n = scpp_wire_op_nterms[op];
	int term[3] = {0, 0, 0};
	int status = -1, guard = -1, rc;
	char after[24], fb[96];

	if (p->b->ncmds >= SCPP_WIRE_CMDS_MAX)
		return fail_at(p, -SCPP_E_TOO_MANY, cmd.line, cmd.col,
			       "too many commands (at most %d per block)", SCPP_WIRE_CMDS_MAX);
	snprintf(after, sizeof(after), "'%s'", scpp_wire_op_name[op]);
	rc = next(p);
	if (rc < 0)
		return rc;
	for (unsigned int i = 0; i < n; i++) {
		const struct role *role = op_roles[op][i];
		const char *prev = i == 0 ? after : op_roles[op][i - 1]->name;

		if (i > 0 && p->tok.kind == T_COMMA) {
			rc = next(p);
			if (rc < 0)
				return rc;
		}
		if (op == SCPP_OP_DEL && i == 1 && (tok_ends_stmt(&p->tok) || p->tok.kind == T_BANG ||
						    tok_is_word(p, &p->tok, "when"))) {
			/* `del E`: the entity itself; the wire says attr = nil. */
			struct scpp_value nil = scpp_value_nil();

			term[1] = scpp_wire_term_const(p->b, &nil);
			if (term[1] < 0)
				return builder_fail(p, term[1], &cmd);
			break;
		}
		if (tok_ends_stmt(&p->tok) || p->tok.kind == T_BANG || p->tok.kind == T_COMMA)
			return fail_at(p, -SCPP_E_SYNTAX, p->tok.line, p->tok.col,
				       "expected %s after %s, found %s", role->expect, prev,
				       found(p, fb, sizeof(fb)));
		term[i] = parse_term(p, scpp_wire_op_pos[op][i], role, prev, 0);
		if (term[i] < 0)
			return term[i];
	}
	if (tok_is_word(p, &p->tok, "when")) {
		rc = next(p);
		if (rc < 0)
			return rc;
		guard = parse_expr(p, &R_COND, "'when'", 0);
		if (guard < 0)
			return guard;
	}
	if (p->tok.kind == T_BANG) {
		rc = next(p);
		if (rc < 0)
			return rc;
		if (p->tok.kind != T_VAR)
			return fail_at(p, -SCPP_E_SYNTAX, p->tok.line, p->tok.col,
				       "expected a status variable after '!', found %s",
				       found(p, fb, sizeof(fb)));
		status = use_var(p);
		if (status < 0)
			return status;
		rc = next(p);
		if (rc < 0)
			return rc;
		if (!tok_ends_stmt(&p->tok))
			return fail_at(p, -SCPP_E_SYNTAX, p->tok.line, p->tok.col,
				       "expected end of command after the status variable, found %s",
				       found(p, fb, sizeof(fb)));
	} else if (!tok_ends_stmt(&p->tok)) {
		if (tok_starts_term(&p->tok) || p->tok.kind == T_COMMA)
			return fail_at(p, -SCPP_E_SYNTAX, p->tok.line, p->tok.col,
				       "too many terms: '%s' takes %u (%s), found %s",
				       scpp_wire_op_name[op], n, op_usage[op], found(p, fb, sizeof(fb)));
		return fail_at(p, -SCPP_E_SYNTAX, p->tok.line, p->tok.col,
			       "expected end of command, found %s", found(p, fb, sizeof(fb)));
	}
	rc = scpp_wire_block_cmd(p->b, op, term[0], term[1], term[2], status);
	if (rc >= 0 && guard >= 0)
		rc = scpp_wire_block_guard(p->b, (unsigned int)rc, guard);
	if (rc == -SCPP_E_TOO_MANY)
		return builder_fail(p, rc, &cmd);
	if (rc < 0)
		return fail_at(p, rc, cmd.line, cmd.col, "the wire builder rejected this command: %s",
			       scpp_strerror(rc));
	return 0;
}

static int
parse_return(struct parser *p)
{
	struct tok kw = p->tok;
	char fb[96];
	int rc, v;

	if (p->seen_return)
		return fail_at(p, -SCPP_E_SYNTAX, kw.line, kw.col,
			       "a block has at most one 'return' (the first is at %u:%u)",
			       p->ret_line, p->ret_col);
	p->seen_return = true;
	p->ret_line = kw.line;
	p->ret_col = kw.col;
	rc = next(p);
	if (rc < 0)
		return rc;
	while (!tok_ends_stmt(&p->tok)) {
		if (p->tok.kind == T_COMMA && p->b->nret > 0) {
			rc = next(p);
			if (rc < 0)
				return rc;
		}
		if (p->tok.kind != T_VAR)
			return fail_at(p, -SCPP_E_SYNTAX, p->tok.line, p->tok.col,
				       "expected a variable in 'return', found %s",
				       found(p, fb, sizeof(fb)));
		v = use_var(p);
		if (v < 0)
			return v;
		rc = scpp_wire_block_ret(p->b, (unsigned int)v);
		if (rc == -EEXIST)
			return fail_at(p, rc, p->tok.line, p->tok.col,
				       "variable '%.*s' is already returned", (int)p->tok.len,
				       p->s + p->tok.start);
		if (rc < 0)
			return fail_at(p, rc, p->tok.line, p->tok.col, "%s", scpp_strerror(rc));
		rc = next(p);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* var %a, %b = "wire name", ...: declare variables in this order. */
static int
parse_var(struct parser *p)
{
	char fb[96];
	unsigned int items = 0;
	int rc;

	rc = next(p);
	if (rc < 0)
		return rc;
	while (items == 0 || !tok_ends_stmt(&p->tok)) {
		struct tok vt;
		const char *name = NULL;
		uint16_t name_len = 0;
		bool is_new;
		int v;

		if (items > 0 && p->tok.kind == T_COMMA) {
			rc = next(p);
			if (rc < 0)
				return rc;
		}
		if (p->tok.kind != T_VAR)
			return fail_at(p, -SCPP_E_SYNTAX, p->tok.line, p->tok.col,
				       "expected a variable in 'var', found %s",
				       found(p, fb, sizeof(fb)));
		vt = p->tok;
		v = var_lookup(p, &vt, &is_new);
		if (!is_new)
			return fail_at(p, -EEXIST, vt.line, vt.col,
				       "variable '%.*s' is already declared (first used at %u:%u)",
				       (int)vt.len, p->s + vt.start, p->var[v].line, p->var[v].col);
		rc = next(p);
		if (rc < 0)
			return rc;
		if (p->tok.kind == T_EQ) {
			rc = next(p);
			if (rc < 0)
				return rc;
			if (p->tok.kind != T_CONST || p->tok.v.type != SCPP_VT_STR)
				return fail_at(p, -SCPP_E_SYNTAX, p->tok.line, p->tok.col,
					       "expected a string (the wire name) after '=', found %s",
					       found(p, fb, sizeof(fb)));
			if (p->tok.v.len > SCPP_WIRE_NAME_MAX)
				return fail_at(p, -ENAMETOOLONG, p->tok.line, p->tok.col,
					       "variable name longer than %d bytes",
					       SCPP_WIRE_NAME_MAX);
			name = (const char *)p->tok.v.p;
			name_len = (uint16_t)p->tok.v.len;
			rc = next(p);
			if (rc < 0)
				return rc;
		}
		v = var_declare(p, &vt, name, name_len);
		if (v < 0)
			return v;
		items++;
	}
	return 0;
}

static int
parse_stmt(struct parser *p)
{
	char fb[96];

	if (p->tok.kind == T_IDENT) {
		if (tok_is_word(p, &p->tok, "return"))
			return parse_return(p);
		if (tok_is_word(p, &p->tok, "var"))
			return parse_var(p);
		for (unsigned int op = 1; op < SCPP_OP_COUNT; op++)
			if (tok_is_word(p, &p->tok, scpp_wire_op_name[op]))
				return parse_command(p, op);
		return fail_at(p, -SCPP_E_SYNTAX, p->tok.line, p->tok.col,
			       "unknown command %s (expected get, set, copy, create, alloc, del, "
			       "let, where, assert, write, resize, return or var)",
			       describe(p, &p->tok, fb, sizeof(fb)));
	}
	return fail_at(p, -SCPP_E_SYNTAX, p->tok.line, p->tok.col,
		       "expected a command, found %s", found(p, fb, sizeof(fb)));
}

int
scpp_lang_parse(const char *text, size_t len, struct scpp_wire_block *out, uint8_t *arena,
		size_t arena_size, struct scpp_lang_error *err)
{
	/* About 2 KiB, mostly the variable table; fine on a control-path stack. */
	struct parser p;
	int rc;

	if (err != NULL) {
		err->code = 0;
		err->line = 0;
		err->col = 0;
		err->msg[0] = '\0';
	}
	if (text == NULL || out == NULL || (arena == NULL && arena_size != 0)) {
		if (err != NULL) {
			err->code = -EINVAL;
			snprintf(err->msg, sizeof(err->msg), "invalid argument");
		}
		return -EINVAL;
	}
	memset(&p, 0, sizeof(p));
	p.s = text;
	p.len = len;
	p.line = 1;
	p.col = 1;
	p.arena = arena;
	p.arena_size = arena_size;
	p.b = out;
	p.err = err;
	scpp_wire_block_init(out);

	rc = lex(&p);
	while (rc == 0 && p.tok.kind != T_EOF) {
		if (p.tok.kind == T_EOL) {
			rc = next(&p);
			continue;
		}
		rc = parse_stmt(&p);
	}
	if (rc < 0)
		return rc;
	/* No `return`: every variable, in order of first appearance. */
	if (!p.seen_return)
		for (unsigned int i = 0; i < out->nvars; i++)
			SCPP_VERIFY(scpp_wire_block_ret(out, i) == 0);
	return 0;
}
