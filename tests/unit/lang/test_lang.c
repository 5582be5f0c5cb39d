/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/lang: the text form of blocks, the block printer and the reply printer.
 *
 * Expected blocks are built with the wire builder and compared with
 * scpp_wire_block_equal(), so these tests pin the text form to the wire
 * model rather than to the parser's internals.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scpp_test.h"
#include "scpp_common.h"
#include "scpp_lang.h"
#include "scpp_wire.h"

/* Blocks are about 40 KiB each: static, and every test re-initialises them. */
static struct scpp_wire_block got, want, again;
static uint8_t arena[1 << 20], arena2[1 << 20];
static char text[1 << 20], text2[1 << 20];

/* @0.1.0.0.2a and @0.1.0.0.2b: node 1 sits at bit 16 of hi. */
static const struct scpp_oid OID_A = {UINT64_C(0x10000), UINT64_C(0x2a)};
static const struct scpp_oid OID_B = {UINT64_C(0x10000), UINT64_C(0x2b)};

/* Parse @p t into `got`, failing the test with the parser's message. */
static void
parse_ok_at(const char *t, const char *file, int line)
{
	struct scpp_lang_error e;
	int rc = scpp_lang_parse(t, strlen(t), &got, arena, sizeof(arena), &e);

	if (rc != 0)
		fail_msg("%s:%d: parse of <<%s>> failed: %d %s", file, line, t, rc, e.msg);
	assert_int_equal(e.code, 0);
}
#define parse_ok(t) parse_ok_at((t), __FILE__, __LINE__)

static void
assert_blocks_equal_at(const struct scpp_wire_block *a, const struct scpp_wire_block *b,
		       const char *file, int line)
{
	if (!scpp_wire_block_equal(a, b)) {
		char ta[4096], tb[4096];

		scpp_lang_format_block(ta, sizeof(ta), a);
		scpp_lang_format_block(tb, sizeof(tb), b);
		fail_msg("%s:%d: blocks differ:\n--- got\n%s--- want\n%s", file, line, ta, tb);
	}
}
#define assert_blocks_equal(a, b) assert_blocks_equal_at((a), (b), __FILE__, __LINE__)

/* Format `got` and compare with @p expect byte for byte. */
static void
assert_format_at(const struct scpp_wire_block *b, const char *expect, const char *file, int line)
{
	int n = scpp_lang_format_block(text, sizeof(text), b);

	if (n < 0 || strcmp(text, expect) != 0)
		fail_msg("%s:%d: format gave (%d)\n%s--- want\n%s", file, line, n, text, expect);
	assert_int_equal(n, (int)strlen(expect));
}
#define assert_format(b, e) assert_format_at((b), (e), __FILE__, __LINE__)

static int
c_oid(struct scpp_wire_block *b, struct scpp_oid o)
{
	struct scpp_value v = scpp_value_oid(o);

	return scpp_wire_term_const(b, &v);
}

static int
c_str(struct scpp_wire_block *b, const char *s)
{
	struct scpp_value v = scpp_value_cstr(s);

	return scpp_wire_term_const(b, &v);
}

static int
c_val(struct scpp_wire_block *b, struct scpp_value v)
{
	return scpp_wire_term_const(b, &v);
}

static void
all_returned(struct scpp_wire_block *b)
{
	for (unsigned int i = 0; i < b->nvars; i++)
		assert_int_equal(scpp_wire_block_ret(b, i), 0);
}

/* ---- the seed's examples ---- */

static void
test_lang_seed_copy_one_attribute_example(void **state)
{
	(void)state;
	parse_ok("get @0.1.0.0.2a attr %1\nset @0.1.0.0.2b attr %1\n");

	scpp_wire_block_init(&want);
	assert_int_equal(scpp_wire_block_var(&want, "1", 1), 0);
	assert_true(scpp_wire_block_cmd(&want, SCPP_OP_GET, c_oid(&want, OID_A), c_str(&want, "attr"),
					scpp_wire_term_var(&want, 0), -1) >= 0);
	assert_true(scpp_wire_block_cmd(&want, SCPP_OP_SET, c_oid(&want, OID_B), c_str(&want, "attr"),
					scpp_wire_term_var(&want, 0), -1) >= 0);
	all_returned(&want);
	assert_blocks_equal(&got, &want);
	assert_format(&got, "get @0.1.0.0.2a attr %1\nset @0.1.0.0.2b attr %1\nreturn %1\n");
}

static void
test_lang_seed_copy_all_attributes_example(void **state)
{
	(void)state;
	parse_ok("get @0.1.0.0.2a %1 %2\nset @0.1.0.0.2b %1 %2");

	scpp_wire_block_init(&want);
	assert_int_equal(scpp_wire_block_var(&want, "1", 1), 0);
	assert_int_equal(scpp_wire_block_var(&want, "2", 1), 1);
	assert_true(scpp_wire_block_cmd(&want, SCPP_OP_GET, c_oid(&want, OID_A),
					scpp_wire_term_var(&want, 0), scpp_wire_term_var(&want, 1),
					-1) >= 0);
	assert_true(scpp_wire_block_cmd(&want, SCPP_OP_SET, c_oid(&want, OID_B),
					scpp_wire_term_var(&want, 0), scpp_wire_term_var(&want, 1),
					-1) >= 0);
	all_returned(&want);
	assert_blocks_equal(&got, &want);
}

static void
test_lang_path_walk_uses_map_entries_and_chains_variables(void **state)
{
	(void)state;
	parse_ok("get @0.1.0.0.2a entries[\"a\"] %a ; get %a entries[\"b\"] %b\n"
		 "get %b entries[%k] %c\n");

	scpp_wire_block_init(&want);
	assert_int_equal(scpp_wire_block_var(&want, "a", 1), 0);
	assert_int_equal(scpp_wire_block_var(&want, "b", 1), 1);
	assert_int_equal(scpp_wire_block_var(&want, "k", 1), 2);
	assert_int_equal(scpp_wire_block_var(&want, "c", 1), 3);
	assert_true(scpp_wire_block_cmd(&want, SCPP_OP_GET, c_oid(&want, OID_A),
					scpp_wire_term_key(&want, c_str(&want, "entries"),
							   c_str(&want, "a")),
					scpp_wire_term_var(&want, 0), -1) >= 0);
	assert_true(scpp_wire_block_cmd(&want, SCPP_OP_GET, scpp_wire_term_var(&want, 0),
					scpp_wire_term_key(&want, c_str(&want, "entries"),
							   c_str(&want, "b")),
					scpp_wire_term_var(&want, 1), -1) >= 0);
	assert_true(scpp_wire_block_cmd(&want, SCPP_OP_GET, scpp_wire_term_var(&want, 1),
					scpp_wire_term_key(&want, c_str(&want, "entries"),
							   scpp_wire_term_var(&want, 2)),
					scpp_wire_term_var(&want, 3), -1) >= 0);
	all_returned(&want);
	assert_blocks_equal(&got, &want);
	assert_format(&got, "get @0.1.0.0.2a entries[\"a\"] %a\n"
			    "get %a entries[\"b\"] %b\n"
			    "get %b entries[%k] %c\n"
			    "return %a %b %k %c\n");
}

/* ---- tokens ---- */

struct literal_case {
	const char *text;
	struct scpp_value v;
};

static void
test_lang_every_literal_kind_parses_to_its_value(void **state)
{
	static const uint8_t bytes[] = {0x00, 0xff, 0x10};
	const struct literal_case cases[] = {
		{"nil", scpp_value_nil()},
		{"true", scpp_value_bool(true)},
		{"false", scpp_value_bool(false)},
		{"0", scpp_value_i64(0)},
		{"-0", scpp_value_i64(0)},
		{"42", scpp_value_i64(42)},
		{"-42", scpp_value_i64(-42)},
		{"9223372036854775807", scpp_value_i64(INT64_MAX)},
		{"-9223372036854775808", scpp_value_i64(INT64_MIN)},
		{"0x7fffffffffffffff", scpp_value_i64(INT64_MAX)},
		{"-0x8000000000000000", scpp_value_i64(INT64_MIN)},
		{"0xFF", scpp_value_i64(255)},
		{"5u", scpp_value_u64(5)},
		{"0xffu", scpp_value_u64(255)},
		{"18446744073709551615u", scpp_value_u64(UINT64_MAX)},
		{"0xffffffffffffffffu", scpp_value_u64(UINT64_MAX)},
		{"1.5", scpp_value_f64(1.5)},
		{"-0.0", scpp_value_f64(-0.0)},
		{"0.25", scpp_value_f64(0.25)},
		{"1e3", scpp_value_f64(1000.0)},
		{"1E+3", scpp_value_f64(1000.0)},
		{"2.5e-3", scpp_value_f64(0.0025)},
		{"inf", scpp_value_f64(INFINITY)},
		{"-inf", scpp_value_f64(-INFINITY)},
		{"nan", scpp_value_f64(NAN)},
		{"-nan", scpp_value_f64(-NAN)},
		{"\"\"", scpp_value_str("", 0)},
		{"\"plain\"", scpp_value_cstr("plain")},
		{"\"q\\\"b\\\\n\\n\\t\\r\"", scpp_value_cstr("q\"b\\n\n\t\r")},
		{"\"\\x41\\x00z\"", scpp_value_str("A\0z", 3)},
		{"\"\\xc3\\xa9\"", scpp_value_cstr("\xc3\xa9")},
		{"\"é€𝄞\"", scpp_value_cstr("é€𝄞")},
		{"name", scpp_value_cstr("name")},
		{"_x9", scpp_value_cstr("_x9")},
		{"x", scpp_value_cstr("x")},
		{"x\"00ff10\"", scpp_value_bytes(bytes, 3)},
		{"x\"00FF10\"", scpp_value_bytes(bytes, 3)},
		{"x\"\"", scpp_value_bytes(bytes, 0)},
		{"@0.1.0.0.2a", scpp_value_oid(OID_A)},
		{"@0.0.0.0.0", scpp_value_oid(SCPP_OID_NIL)},
	};
	char t[256];

	(void)state;
	for (size_t i = 0; i < SCPP_ARRAY_SIZE(cases); i++) {
		const struct scpp_value *v;

		snprintf(t, sizeof(t), "set @0.0.0.0.1 attr %s", cases[i].text);
		parse_ok(t);
		assert_int_equal(got.ncmds, 1);
		v = &got.term[got.cmd[0].term[2]].value;
		assert_int_equal(got.term[got.cmd[0].term[2]].kind, SCPP_TERM_CONST);
		if (!scpp_value_eq(v, &cases[i].v))
			fail_msg("literal %s: type %u, want type %u", cases[i].text, v->type,
				 cases[i].v.type);
	}
}

static void
test_lang_variables_are_declared_in_order_of_first_appearance(void **state)
{
	(void)state;
	parse_ok("get %e %dir_2 %1 !%err\nset %1 %e %e");
	assert_int_equal(got.nvars, 4);
	assert_int_equal(got.var_name[0].len, 1);
	assert_memory_equal(got.var_name[0].p, "e", 1);
	assert_memory_equal(got.var_name[1].p, "dir_2", 5);
	assert_memory_equal(got.var_name[2].p, "1", 1);
	assert_memory_equal(got.var_name[3].p, "err", 3);
	assert_int_equal(got.cmd[0].flags, SCPP_WIRE_CF_STATUS);
	assert_int_equal(got.cmd[0].status_var, 3);
	assert_int_equal(got.cmd[1].flags, 0);
}

static void
test_lang_anonymous_labels_have_empty_wire_names(void **state)
{
	(void)state;
	parse_ok("get %_1 a %_7");
	assert_int_equal(got.nvars, 2);
	assert_int_equal(got.var_name[0].len, 0);
	assert_int_equal(got.var_name[1].len, 0);
	assert_format(&got, "get %_0 a %_1\nreturn %_0 %_1\n");
}

static void
test_lang_comments_blank_lines_semicolons_and_commas_are_separators(void **state)
{
	(void)state;
	parse_ok("# leading comment\n\n  get @0.1.0.0.2a, name, %n # trailing\r\n;;\n"
		 "\tset @0.1.0.0.2b name %n;   # done\n");
	assert_int_equal(got.ncmds, 2);
	assert_format(&got, "get @0.1.0.0.2a name %n\nset @0.1.0.0.2b name %n\nreturn %n\n");
	parse_ok("");
	assert_int_equal(got.ncmds, 0);
	assert_int_equal(got.nvars, 0);
	assert_format(&got, "return\n");
	parse_ok("# only a comment");
	assert_int_equal(got.ncmds, 0);
}

static void
test_lang_command_words_and_value_offset_are_plain_names_elsewhere(void **state)
{
	(void)state;
	parse_ok("get value name %v\nset get set del\nget @0.0.0.0.1 offset %w");
	assert_int_equal(got.ncmds, 3);
	assert_int_equal(got.term[got.cmd[0].term[0]].value.type, SCPP_VT_STR);
	assert_format(&got, "get \"value\" name %v\nset \"get\" set \"del\"\n"
			    "get @0.0.0.0.1 offset %w\nreturn %v %w\n");
}

/* ---- commands ---- */

static void
test_lang_addresses_nest_in_copy(void **state)
{
	(void)state;
	parse_ok("copy offset(value(%f, data), 16u) value(@0.1.0.0.2b, \"raw\"[1]) 4096u !%e");

	scpp_wire_block_init(&want);
	assert_int_equal(scpp_wire_block_var(&want, "f", 1), 0);
	assert_int_equal(scpp_wire_block_var(&want, "e", 1), 1);
	{
		struct scpp_value u16 = scpp_value_u64(16), one = scpp_value_i64(1);
		int dst = scpp_wire_term_offset(&want,
			scpp_wire_term_value(&want, scpp_wire_term_var(&want, 0), c_str(&want, "data")),
			c_val(&want, u16));
		int src = scpp_wire_term_value(&want, c_oid(&want, OID_B),
			scpp_wire_term_key(&want, c_str(&want, "raw"), c_val(&want, one)));

		assert_true(scpp_wire_block_cmd(&want, SCPP_OP_COPY, dst, src,
						c_val(&want, scpp_value_u64(4096)), 1) >= 0);
	}
	all_returned(&want);
	assert_blocks_equal(&got, &want);
	assert_format(&got, "copy offset(value(%f, data), 16u) value(@0.1.0.0.2b, raw[1]) 4096u !%e\n"
			    "return %f %e\n");
}

static void
test_lang_address_nesting_limit_is_exact(void **state)
{
	char t[512];
	size_t n = 0;
	struct scpp_lang_error e;

	(void)state;
	/* SCPP_WIRE_NEST_MAX - 1 offsets around a value: exactly the limit. */
	n += (size_t)snprintf(t + n, sizeof(t) - n, "copy ");
	for (int i = 0; i < SCPP_WIRE_NEST_MAX - 1; i++)
		n += (size_t)snprintf(t + n, sizeof(t) - n, "offset(");
	n += (size_t)snprintf(t + n, sizeof(t) - n, "value(%%a, b)");
	for (int i = 0; i < SCPP_WIRE_NEST_MAX - 1; i++)
		n += (size_t)snprintf(t + n, sizeof(t) - n, ", 1)");
	snprintf(t + n, sizeof(t) - n, " value(%%a, c) 1");
	parse_ok(t);

	/* One more offset is one too many; the error points at it. */
	n = (size_t)snprintf(t, sizeof(t), "copy ");
	for (int i = 0; i < SCPP_WIRE_NEST_MAX; i++)
		n += (size_t)snprintf(t + n, sizeof(t) - n, "offset(");
	n += (size_t)snprintf(t + n, sizeof(t) - n, "value(%%a, b)");
	for (int i = 0; i < SCPP_WIRE_NEST_MAX; i++)
		n += (size_t)snprintf(t + n, sizeof(t) - n, ", 1)");
	snprintf(t + n, sizeof(t) - n, " value(%%a, c) 1");
	assert_int_equal(scpp_lang_parse(t, strlen(t), &got, arena, sizeof(arena), &e),
			 -SCPP_E_NESTING);
	assert_int_equal(e.line, 1);
	assert_int_equal(e.col, 6 + 7 * (SCPP_WIRE_NEST_MAX - 1));
}

static void
test_lang_create_alloc_and_both_deletes(void **state)
{
	(void)state;
	parse_ok("create %f File\nalloc %f data 4096\ndel %f name\ndel %f !%s\ndel %f nil");

	scpp_wire_block_init(&want);
	assert_int_equal(scpp_wire_block_var(&want, "f", 1), 0);
	assert_int_equal(scpp_wire_block_var(&want, "s", 1), 1);
	assert_true(scpp_wire_block_cmd(&want, SCPP_OP_CREATE, scpp_wire_term_var(&want, 0),
					c_str(&want, "File"), 0, -1) >= 0);
	assert_true(scpp_wire_block_cmd(&want, SCPP_OP_ALLOC, scpp_wire_term_var(&want, 0),
					c_str(&want, "data"), c_val(&want, scpp_value_i64(4096)),
					-1) >= 0);
	assert_true(scpp_wire_block_cmd(&want, SCPP_OP_DEL, scpp_wire_term_var(&want, 0),
					c_str(&want, "name"), 0, -1) >= 0);
	/* `del E` deletes the entity: the wire's attribute term is nil. */
	assert_true(scpp_wire_block_cmd(&want, SCPP_OP_DEL, scpp_wire_term_var(&want, 0),
					c_val(&want, scpp_value_nil()), 0, 1) >= 0);
	assert_true(scpp_wire_block_cmd(&want, SCPP_OP_DEL, scpp_wire_term_var(&want, 0),
					c_val(&want, scpp_value_nil()), 0, -1) >= 0);
	all_returned(&want);
	assert_blocks_equal(&got, &want);
	assert_format(&got, "create %f File\nalloc %f data 4096\ndel %f name\ndel %f !%s\ndel %f\n"
			    "return %f %s\n");
}

static void
test_lang_status_terms_set_the_flag_and_declare_the_variable(void **state)
{
	(void)state;
	parse_ok("set @0.1.0.0.2a size 5 !%e1\nget @0.1.0.0.2a size %s\ncopy value(%s, a) "
		 "value(%s, b) 1 ! %e2");
	assert_int_equal(got.cmd[0].flags, SCPP_WIRE_CF_STATUS);
	assert_int_equal(got.cmd[0].status_var, 0);
	assert_int_equal(got.cmd[1].flags, 0);
	assert_int_equal(got.cmd[2].flags, SCPP_WIRE_CF_STATUS);
	assert_int_equal(got.cmd[2].status_var, 2);
	assert_format(&got, "set @0.1.0.0.2a size 5 !%e1\nget @0.1.0.0.2a size %s\n"
			    "copy value(%s, a) value(%s, b) 1 !%e2\nreturn %e1 %s %e2\n");
}

/* ---- return ---- */

static void
test_lang_without_return_every_variable_is_returned_in_order(void **state)
{
	(void)state;
	parse_ok("get %z %y %x !%w");
	assert_int_equal(got.nret, 4);
	for (unsigned int i = 0; i < 4; i++)
		assert_int_equal(got.ret[i], i);
}

static void
test_lang_bare_return_returns_nothing(void **state)
{
	(void)state;
	parse_ok("return\nget %a b %c");
	assert_int_equal(got.nvars, 2);
	assert_int_equal(got.nret, 0);
	assert_format(&got, "get %a b %c\nreturn\n");
}

static void
test_lang_return_may_come_first_and_declares_its_variables(void **state)
{
	(void)state;
	parse_ok("return %c, %a\nget %a b %c");
	assert_int_equal(got.nvars, 2);
	assert_memory_equal(got.var_name[0].p, "c", 1);
	assert_memory_equal(got.var_name[1].p, "a", 1);
	assert_int_equal(got.nret, 2);
	assert_int_equal(got.ret[0], 0);
	assert_int_equal(got.ret[1], 1);
	/* %c is declared before %a, which first use would not say: var line. */
	assert_format(&got, "var %c, %a\nget %a b %c\nreturn %c %a\n");
	assert_int_equal(scpp_lang_parse(text, strlen(text), &again, arena2, sizeof(arena2), NULL),
			 0);
	assert_blocks_equal(&again, &got);
}

static void
test_lang_return_of_a_subset_in_any_order(void **state)
{
	(void)state;
	parse_ok("get %a b %c\nget %c d %e\nreturn %e %a");
	assert_int_equal(got.nret, 2);
	assert_int_equal(got.ret[0], 2);
	assert_int_equal(got.ret[1], 0);
	assert_format(&got, "get %a b %c\nget %c d %e\nreturn %e %a\n");
}

/* ---- var ---- */

static void
test_lang_var_sets_order_and_wire_names(void **state)
{
	(void)state;
	parse_ok("var %_0, %x = \"a b\", %y = \"\", %z = \"é\\x41\"\nget %z %y %x");
	assert_int_equal(got.nvars, 4);
	assert_int_equal(got.var_name[0].len, 0);
	assert_int_equal(got.var_name[1].len, 3);
	assert_memory_equal(got.var_name[1].p, "a b", 3);
	assert_int_equal(got.var_name[2].len, 0);
	assert_int_equal(got.var_name[3].len, 3);
	assert_memory_equal(got.var_name[3].p, "éA", 3);
	assert_format(&got, "var %_0, %_1 = \"a b\", %_2, %_3 = \"éA\"\nget %_3 %_2 %_1\n"
			    "return %_0 %_1 %_2 %_3\n");
}

static void
test_lang_duplicate_wire_names_print_with_a_var_line(void **state)
{
	(void)state;
	scpp_wire_block_init(&want);
	assert_int_equal(scpp_wire_block_var(&want, "x", 1), 0);
	assert_int_equal(scpp_wire_block_var(&want, "x", 1), 1);
	assert_int_equal(scpp_wire_block_var(&want, "_1", 2), 2);
	assert_int_equal(scpp_wire_block_var(&want, "ok", 2), 3);
	assert_true(scpp_wire_block_cmd(&want, SCPP_OP_GET, scpp_wire_term_var(&want, 3),
					scpp_wire_term_var(&want, 1), scpp_wire_term_var(&want, 0),
					2) >= 0);
	assert_int_equal(scpp_wire_block_ret(&want, 0), 0);
	assert_format(&want, "var %_0 = \"x\", %_1 = \"x\", %_2 = \"_1\", %ok\n"
			     "get %ok %_1 %_0 !%_2\nreturn %_0\n");
	assert_int_equal(scpp_lang_parse(text, strlen(text), &got, arena, sizeof(arena), NULL), 0);
	assert_blocks_equal(&got, &want);
}

/* ---- errors ---- */

struct bad_case {
	const char *text;
	int code;
	unsigned int line, col;
	const char *msg; /* the whole message, position included */
};

static void
test_lang_malformed_texts_report_code_position_and_message(void **state)
{
	static const struct bad_case cases[] = {
		{"get \"abc", -SCPP_E_SYNTAX, 1, 5, "1:5: unterminated string literal"},
		{"get \"ab\nc\" d e", -SCPP_E_SYNTAX, 1, 5, "1:5: unterminated string literal"},
		{"get \"a\\qb\" x y", -SCPP_E_SYNTAX, 1, 7,
		 "1:7: bad escape '\\q' (use \\\" \\\\ \\n \\t \\r or \\xNN)"},
		{"get \"a\\x4\" x y", -SCPP_E_SYNTAX, 1, 7, "1:7: bad escape: \\x needs two hex digits"},
		{"get \"a\tb\" x y", -SCPP_E_SYNTAX, 1, 7,
		 "1:7: control character 0x09 in string literal (write it as \\x09)"},
		{"get \"é\xff\" a b", -SCPP_E_BAD_UTF8, 1, 7,
		 "1:7: invalid UTF-8 byte 0xff in string literal"},
		{"get \"\xed\xa0\x80\" a b", -SCPP_E_BAD_UTF8, 1, 6,
		 "1:6: invalid UTF-8 byte 0xed in string literal"},
		{"get \"ab\\xc3z\" a b", -SCPP_E_BAD_UTF8, 1, 8,
		 "1:8: string literal is not valid UTF-8 (byte 0xc3)"},
		{"get a b \xc3", -SCPP_E_BAD_UTF8, 1, 9, "1:9: invalid UTF-8 byte 0xc3"},
		{"get a é c", -SCPP_E_SYNTAX, 1, 7, "1:7: unexpected character 'é'"},
		{"get a b $", -SCPP_E_SYNTAX, 1, 9, "1:9: unexpected character '$'"},
		{"get a\0 b c", -SCPP_E_SYNTAX, 1, 6, "1:6: unexpected NUL byte"},
		{"get @0.1.G a b", -SCPP_E_SYNTAX, 1, 5,
		 "1:5: invalid OID '@0.1.G' (expected @locale.node.shard.epoch.counter in lowercase "
		 "hex without leading zeros)"},
		{"get @0.01.0.0.1 a b", -SCPP_E_SYNTAX, 1, 5, NULL},
		{"set a b 9223372036854775808", -ERANGE, 1, 9,
		 "1:9: integer literal '9223372036854775808' out of range for i64 (add 'u' for u64)"},
		{"set a b -9223372036854775809", -ERANGE, 1, 9,
		 "1:9: integer literal '-9223372036854775809' out of range for i64"},
		{"set a b 18446744073709551616u", -ERANGE, 1, 9,
		 "1:9: integer literal '18446744073709551616u' out of range for u64"},
		{"set a b 0x10000000000000000u", -ERANGE, 1, 9, NULL},
		{"set a b -5u", -SCPP_E_SYNTAX, 1, 9,
		 "1:9: negative literal '-5u' cannot be unsigned (u64)"},
		{"set a b 1e999", -ERANGE, 1, 9, "1:9: float literal '1e999' out of range"},
		{"set a b 01", -SCPP_E_SYNTAX, 1, 9,
		 "1:9: leading zero in integer literal '01' (octal is not supported)"},
		{"set a b 5abc", -SCPP_E_SYNTAX, 1, 9, "1:9: invalid number literal '5abc'"},
		{"set a b 1.", -SCPP_E_SYNTAX, 1, 9, "1:9: invalid number literal '1.'"},
		{"set a b 0x", -SCPP_E_SYNTAX, 1, 9, "1:9: invalid hex integer literal '0x'"},
		{"set a b - 1", -SCPP_E_SYNTAX, 1, 9, "1:9: expected a number after '-'"},
		{"set a b -x", -SCPP_E_SYNTAX, 1, 9, "1:9: expected a number after '-', found '-x'"},
		{"set a b x\"abc\"", -SCPP_E_SYNTAX, 1, 9,
		 "1:9: bytes literal has an odd number of hex digits (3)"},
		{"set a b x\"0g\"", -SCPP_E_SYNTAX, 1, 12,
		 "1:12: expected a hex digit or '\"' in bytes literal, found 'g'"},
		{"frob a b c", -SCPP_E_SYNTAX, 1, 1,
		 "1:1: unknown command 'frob' (expected get, set, copy, create, alloc, del, let, "
		 "where, assert, write, resize, return "
		 "or var)"},
		{"GET a b c", -SCPP_E_SYNTAX, 1, 1, NULL},
		{"%a b c", -SCPP_E_SYNTAX, 1, 1, "1:1: expected a command, found '%a'"},
		{"get a b", -SCPP_E_SYNTAX, 1, 8, "1:8: expected a value term after attribute, found end of input"},
		{"get a b\n", -SCPP_E_SYNTAX, 1, 8,
		 "1:8: expected a value term after attribute, found end of line"},
		{"get a b ;", -SCPP_E_SYNTAX, 1, 9, "1:9: expected a value term after attribute, found ';'"},
		{"get a b c\nset %xy name )", -SCPP_E_SYNTAX, 2, 14,
		 "2:14: expected a value term (constant or variable) after attribute, found ')'"},
		{"get", -SCPP_E_SYNTAX, 1, 4, "1:4: expected an entity term after 'get', found end of input"},
		{"del", -SCPP_E_SYNTAX, 1, 4, NULL},
		{"create %v", -SCPP_E_SYNTAX, 1, 10, "1:10: expected a type term after variable, found end of input"},
		{"get a b c d", -SCPP_E_SYNTAX, 1, 11,
		 "1:11: too many terms: 'get' takes 3 (entity, attribute, value), found 'd'"},
		{"del a b c", -SCPP_E_SYNTAX, 1, 9,
		 "1:9: too many terms: 'del' takes 2 (entity and optionally attribute), found 'c'"},
		{"get a b c !%s d", -SCPP_E_SYNTAX, 1, 15,
		 "1:15: expected end of command after the status variable, found 'd'"},
		{"get a b c !5", -SCPP_E_SYNTAX, 1, 12,
		 "1:12: expected a status variable after '!', found '5'"},
		{"get a b c )", -SCPP_E_SYNTAX, 1, 11, "1:11: expected end of command, found ')'"},
		{"get value(a, b) c d", -SCPP_E_BAD_TERM, 1, 5,
		 "1:5: expected an entity term (constant or variable) after 'get', found address "
		 "'value(...)'"},
		{"set a b offset(value(a, b), 1)", -SCPP_E_BAD_TERM, 1, 9, NULL},
		{"get a b[c][d] e", -SCPP_E_BAD_TERM, 1, 11,
		 "1:11: a map entry cannot be subscripted again (key inside key)"},
		{"get a b[c[d]] e", -SCPP_E_BAD_TERM, 1, 10,
		 "1:10: a map key cannot itself be a map entry (key inside key)"},
		{"get a b[value(c, d)] e", -SCPP_E_BAD_TERM, 1, 9,
		 "1:9: expected a map key term (constant or variable) after '[', found address "
		 "'value(...)'"},
		{"get a b c[d]", -SCPP_E_BAD_TERM, 1, 10,
		 "1:10: a map entry [key] is only allowed as an attribute, not as the value"},
		{"get a[d] b c", -SCPP_E_BAD_TERM, 1, 6,
		 "1:6: a map entry [key] is only allowed as an attribute, not as the entity"},
		{"get a b[c e", -SCPP_E_SYNTAX, 1, 11, "1:11: expected ']' after the map key, found 'e'"},
		{"copy 5 value(a, b) 1", -SCPP_E_BAD_TERM, 1, 6,
		 "1:6: expected a destination address (value(E, A) or offset(ADDR, N)) after 'copy', "
		 "found '5'"},
		{"copy value(a, b) %x 1", -SCPP_E_BAD_TERM, 1, 18, NULL},
		{"copy value(a b) value(a, b) 1", -SCPP_E_SYNTAX, 1, 14,
		 "1:14: expected ',' after the entity in value(E, A), found 'b'"},
		{"copy value(a, b value(a, b) 1", -SCPP_E_SYNTAX, 1, 17,
		 "1:17: expected ')' to close value(E, A), found address 'value(...)'"},
		{"copy offset(5, 1) value(a, b) 1", -SCPP_E_BAD_TERM, 1, 13, NULL},
		{"copy value(value(a, b), c) value(a, b) 1", -SCPP_E_BAD_TERM, 1, 12, NULL},
		{"create 5 File", -SCPP_E_BAD_TERM, 1, 8,
		 "1:8: expected a variable to bind after 'create', found '5'"},
		{"get a b %", -SCPP_E_SYNTAX, 1, 9, "1:9: expected a variable name after '%', found end of input"},
		{"get a b %-", -SCPP_E_SYNTAX, 1, 9, "1:9: expected a variable name after '%', found '-'"},
		{"get a b %1x", -SCPP_E_SYNTAX, 1, 9,
		 "1:9: invalid variable name '%1x' (digits, or a letter or '_' then letters, digits, "
		 "'_')"},
		{"get a b %v2345678901234567890123456789012345678901234567890123456789012345",
		 -ENAMETOOLONG, 1, 9, NULL},
		{"return\nget a b %c\nreturn %c", -SCPP_E_SYNTAX, 3, 1,
		 "3:1: a block has at most one 'return' (the first is at 1:1)"},
		{"return %a %a", -EEXIST, 1, 11, "1:11: variable '%a' is already returned"},
		{"return 5", -SCPP_E_SYNTAX, 1, 8, "1:8: expected a variable in 'return', found '5'"},
		{"get %a b c\nvar %a", -EEXIST, 2, 5,
		 "2:5: variable '%a' is already declared (first used at 1:5)"},
		{"var", -SCPP_E_SYNTAX, 1, 4, "1:4: expected a variable in 'var', found end of input"},
		{"var %a = 5", -SCPP_E_SYNTAX, 1, 10,
		 "1:10: expected a string (the wire name) after '=', found '5'"},
		{"var %a = \"0123456789012345678901234567890123456789012345678901234567890123X\"",
		 -ENAMETOOLONG, 1, 10, "1:10: variable name longer than 64 bytes"},
		/* Columns count characters, not bytes. */
		{"set \"ééé\" b $", -SCPP_E_SYNTAX, 1, 13, "1:13: unexpected character '$'"},
	};
	struct scpp_lang_error e;

	(void)state;
	for (size_t i = 0; i < SCPP_ARRAY_SIZE(cases); i++) {
		const struct bad_case *c = &cases[i];
		/* "get a\0 b c" has an embedded NUL: take its length by hand. */
		size_t len = strcmp(c->text, "get a") == 0 ? 10 : strlen(c->text);
		int rc = scpp_lang_parse(c->text, len, &got, arena, sizeof(arena), &e);

		if (rc != c->code || e.code != rc || e.line != c->line || e.col != c->col ||
		    (c->msg != NULL && strcmp(e.msg, c->msg) != 0))
			fail_msg("case %zu <<%s>>: got %d at %u:%u \"%s\", want %d at %u:%u \"%s\"", i,
				 c->text, rc, e.line, e.col, e.msg, c->code, c->line, c->col,
				 c->msg ? c->msg : "(any)");
	}
}

/* ---- expressions, the new commands, guards ---- */

static void
test_lang_expressions_parse_to_op_terms_and_print_back(void **state)
{
	static const char *const texts[] = {
		/* Canonical already: printing gives the same text. */
		"get @0.1.0.1.a mode %m\n"
		"assert eq(band(%m, 61440u), 16384u) ENOTDIR\n"
		"let %own eq(val(@0.1.0.1.a, uid), 1000u)\n"
		"where or(%own, ne(band(%m, 1u), 0u))\n"
		"return %m %own\n",
		"let %n now()\nlet %h hash(%n)\nlet %b if(lt(%n, 0), \"neg\", \"pos\")\nreturn %n %h %b\n",
		"let %d read(offset(value(@0.1.0.1.a, data), 4u), 16u)\n"
		"write offset(value(@0.1.0.1.a, data), 100u) x\"00ff\"\n"
		"resize @0.1.0.1.a data 8u\n"
		"return %d\n",
		"let %e entry(@0.1.0.1.a, entries, \"x\")\n"
		"set @0.1.0.1.a nlink 2u when eq(%e, nil)\n"
		"del @0.1.0.1.a when not(eq(%e, nil)) !%s\n"
		"del @0.1.0.1.a \"when\"\n"
		"let %r reach(%e, parent, @0.1.0.1.a)\n"
		"let %f find(volume, \"v\")\n"
		"let %c count(%f, entries)\n"
		"let %l length(%f, data)\n"
		"return %e %s %r %f %c %l\n",
	};
	(void)state;

	for (size_t i = 0; i < SCPP_ARRAY_SIZE(texts); i++) {
		parse_ok(texts[i]);
		assert_format(&got, texts[i]);
	}
	/* The terms are what the text says. */
	parse_ok("let %x add(%y, 1u) when eq(%y, 2)");
	assert_int_equal(got.ncmds, 1);
	assert_int_equal(got.cmd[0].op, SCPP_OP_LET);
	assert_int_equal(got.cmd[0].flags, SCPP_WIRE_CF_GUARD);
	assert_int_equal(got.term[got.cmd[0].term[1]].kind, SCPP_TERM_OP);
	assert_int_equal(got.term[got.cmd[0].term[1]].var, SCPP_XOP_ADD);
	assert_int_equal(got.term[got.cmd[0].guard].var, SCPP_XOP_EQ);
	/* Operator names are names elsewhere, and `value` is one too. */
	parse_ok("get add now %len\nlet %v val(%len, value)");
	assert_format(&got, "get \"add\" now %len\nlet %v val(%len, value)\nreturn %len %v\n");
	/* `del E when ...` is a guarded entity delete, not attribute "when". */
	parse_ok("del %e when true");
	assert_true(got.cmd[0].flags & SCPP_WIRE_CF_GUARD);
	assert_int_equal(got.term[got.cmd[0].term[1]].value.type, SCPP_VT_NIL);
	/* 16 operators deep is the limit. */
	{
		char t[512] = "where ";
		size_t n = strlen(t);

		for (int d = 0; d < SCPP_WIRE_EXPR_DEPTH_MAX; d++)
			n += (size_t)snprintf(t + n, sizeof(t) - n, "not(");
		n += (size_t)snprintf(t + n, sizeof(t) - n, "true");
		for (int d = 0; d < SCPP_WIRE_EXPR_DEPTH_MAX; d++)
			n += (size_t)snprintf(t + n, sizeof(t) - n, ")");
		parse_ok(t);
		memmove(t + 10, t + 6, strlen(t + 6) + 1);
		memcpy(t + 6, "not(", 4);
		strcat(t, ")");
		assert_int_equal(scpp_lang_parse(t, strlen(t), &got, arena, sizeof(arena), NULL),
				 -SCPP_E_NESTING);
	}
}

static void
test_lang_expression_errors_name_what_and_where(void **state)
{
	static const struct bad_case cases[] = {
		{"where frob(1)", -SCPP_E_SYNTAX, 1, 7,
		 "1:7: unknown operator 'frob' (docs/LANGUAGE.md lists them)"},
		{"where add(1)", -SCPP_E_SYNTAX, 1, 12, "1:12: add() takes 2 operands, found 1"},
		{"where add(1, 2, 3)", -SCPP_E_SYNTAX, 1, 15,
		 "1:15: add() takes 2 operands: expected ')', found ','"},
		{"where not(1", -SCPP_E_SYNTAX, 1, 12,
		 "1:12: not() takes 1 operand: expected ')', found end of input"},
		{"where value(a, b)", -SCPP_E_BAD_TERM, 1, 7, NULL},
		{"where read(1, 2)", -SCPP_E_BAD_TERM, 1, 12, NULL},
		{"where m[k]", -SCPP_E_BAD_TERM, 1, 8, NULL},
		{"get add(1, 2) b c", -SCPP_E_BAD_TERM, 1, 5, NULL},
		{"let 5 now()", -SCPP_E_BAD_TERM, 1, 5, NULL},
		{"where %x %y", -SCPP_E_SYNTAX, 1, 10,
		 "1:10: too many terms: 'where' takes 1 (condition), found '%y'"},
		{"assert %x", -SCPP_E_SYNTAX, 1, 10,
		 "1:10: expected an errno (name or number) after condition, found end of input"},
		{"get a when c", -SCPP_E_SYNTAX, 1, 7, NULL},
		{"get a b c when", -SCPP_E_SYNTAX, 1, 15, NULL},
		{"get a b c when x when y", -SCPP_E_SYNTAX, 1, 18, NULL},
		{"get a b c !%s when x", -SCPP_E_SYNTAX, 1, 15, NULL},
	};
	struct scpp_lang_error e;
	(void)state;

	for (size_t i = 0; i < SCPP_ARRAY_SIZE(cases); i++) {
		const struct bad_case *c = &cases[i];
		int rc = scpp_lang_parse(c->text, strlen(c->text), &got, arena, sizeof(arena), &e);

		if (rc != c->code || e.code != rc || e.line != c->line || e.col != c->col ||
		    (c->msg != NULL && strcmp(e.msg, c->msg) != 0))
			fail_msg("case %zu <<%s>>: got %d at %u:%u \"%s\", want %d at %u:%u \"%s\"", i,
				 c->text, rc, e.line, e.col, e.msg, c->code, c->line, c->col,
				 c->msg ? c->msg : "(any)");
	}
}

static void
test_lang_sixty_five_variables_are_too_many(void **state)
{
	struct scpp_lang_error e;
	size_t n = 0;

	(void)state;
	for (int i = 0; i < SCPP_WIRE_VARS_MAX + 1; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "set @0.0.0.0.1 a %%v%d\n", i);
	assert_int_equal(scpp_lang_parse(text, n, &got, arena, sizeof(arena), &e), -SCPP_E_TOO_MANY);
	assert_int_equal(e.line, SCPP_WIRE_VARS_MAX + 1);
	assert_int_equal(e.col, 18);
	assert_string_equal(e.msg, "65:18: too many variables: '%v64' would be number 65 (at most "
				   "64 per block)");
	/* 64 is fine. */
	n = 0;
	for (int i = 0; i < SCPP_WIRE_VARS_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "set @0.0.0.0.1 a %%v%d\n", i);
	assert_int_equal(scpp_lang_parse(text, n, &got, arena, sizeof(arena), NULL), 0);
	assert_int_equal(got.nvars, SCPP_WIRE_VARS_MAX);
}

static void
test_lang_257_commands_are_too_many(void **state)
{
	struct scpp_lang_error e;
	size_t n = 0;

	(void)state;
	for (int i = 0; i < SCPP_WIRE_CMDS_MAX; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "del %d\n", i);
	assert_int_equal(scpp_lang_parse(text, n, &got, arena, sizeof(arena), NULL), 0);
	assert_int_equal(got.ncmds, SCPP_WIRE_CMDS_MAX);
	n += (size_t)snprintf(text + n, sizeof(text) - n, "  del 256\n");
	assert_int_equal(scpp_lang_parse(text, n, &got, arena, sizeof(arena), &e), -SCPP_E_TOO_MANY);
	assert_int_equal(e.line, SCPP_WIRE_CMDS_MAX + 1);
	assert_int_equal(e.col, 3);
	assert_string_equal(e.msg, "257:3: too many commands (at most 256 per block)");
}

static void
test_lang_more_than_1024_terms_are_too_many(void **state)
{
	struct scpp_lang_error e;
	size_t n = 0;

	(void)state;
	/* 256 commands of 3 terms stay under 1024, so use copies. */
	for (int i = 0; i < 205; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "copy value(a, b) value(c, d) 1\n");
	/* 7 terms per copy (a, b, value, c, d, value, 1): 146 copies make 1022,
	 * and in the 147th the first value(a, b) is term 1025. The error points
	 * at the term that does not fit. */
	assert_int_equal(scpp_lang_parse(text, n, &got, arena, sizeof(arena), &e), -SCPP_E_TOO_MANY);
	assert_int_equal(e.line, 147);
	assert_string_equal(e.msg, "147:6: too many terms (at most 1024 per block)");
}

static void
test_lang_arena_too_small_is_enospc_and_text_length_suffices(void **state)
{
	static const char t[] = "set a b \"x\\ny\"\nset a b x\"0011\"";
	struct scpp_lang_error e;
	uint8_t small[4];

	(void)state;
	/* 3 bytes for the string, 2 for the bytes. */
	assert_int_equal(scpp_lang_parse(t, strlen(t), &got, small, 4, &e), -ENOSPC);
	assert_int_equal(e.line, 2);
	assert_int_equal(e.col, 9);
	assert_int_equal(scpp_lang_parse(t, strlen(t), &got, small, 0, &e), -ENOSPC);
	assert_int_equal(scpp_lang_parse(t, strlen(t), &got, NULL, 0, &e), -ENOSPC);
	assert_int_equal(scpp_lang_parse(t, strlen(t), &got, arena, 5, &e), 0);
	/* Unescaped strings borrow the text and need no arena at all. */
	assert_int_equal(scpp_lang_parse("set a b \"xy\"", 12, &got, NULL, 0, &e), 0);
	assert_ptr_equal(got.term[2].value.p, (const uint8_t *)"set a b \"xy\"" + 9);
}

static void
test_lang_invalid_arguments_are_einval(void **state)
{
	struct scpp_lang_error e;

	(void)state;
	assert_int_equal(scpp_lang_parse(NULL, 0, &got, arena, 1, &e), -EINVAL);
	assert_int_equal(e.code, -EINVAL);
	assert_int_equal(scpp_lang_parse("", 0, NULL, arena, 1, &e), -EINVAL);
	assert_int_equal(scpp_lang_format_block(text, 1, NULL), -EINVAL);
	assert_int_equal(scpp_lang_format_block(NULL, 1, &got), -EINVAL);
	assert_int_equal(scpp_lang_print_reply(NULL, (const uint8_t *)"", 0, 0, NULL), -EINVAL);
	assert_int_equal(scpp_lang_print_reply(stdout, (const uint8_t *)"", 0, 0x80, NULL), -EINVAL);
}

/* ---- printer ---- */

static void
test_lang_format_prints_bare_names_only_where_they_read_back(void **state)
{
	(void)state;
	parse_ok("set \"a\" \"nil\" \"b c\"\nset \"a\" b \"b\"\nget \"x\" m[\"k\"] 1\n"
		 "create %f \"Dir\"\ncreate %g \"true\"");
	assert_format(&got, "set \"a\" \"nil\" \"b c\"\nset \"a\" b \"b\"\nget \"x\" m[\"k\"] 1\n"
			    "create %f Dir\ncreate %g \"true\"\nreturn %f %g\n");
}

static void
test_lang_format_truncates_but_reports_full_length(void **state)
{
	char small[10];
	int n;

	(void)state;
	parse_ok("get @0.1.0.0.2a attr %1");
	n = scpp_lang_format_block(NULL, 0, &got);
	assert_int_equal(n, (int)strlen("get @0.1.0.0.2a attr %1\nreturn %1\n"));
	memset(small, 'Z', sizeof(small));
	assert_int_equal(scpp_lang_format_block(small, sizeof(small), &got), n);
	assert_string_equal(small, "get @0.1.");
	assert_int_equal(scpp_lang_format_block(small, 1, &got), n);
	assert_int_equal(small[0], '\0');
	assert_int_equal(small[1], 'e'); /* left from the call before: untouched */
}

static void
test_lang_format_rejects_structurally_broken_blocks(void **state)
{
	(void)state;
	parse_ok("get %a b %c");
	got.cmd[0].term[1] = 999;
	assert_int_equal(scpp_lang_format_block(text, sizeof(text), &got), -EINVAL);
	parse_ok("get %a b %c");
	got.term[got.cmd[0].term[0]].var = 7;
	assert_int_equal(scpp_lang_format_block(text, sizeof(text), &got), -EINVAL);
	parse_ok("get %a b %c");
	got.cmd[0].op = SCPP_OP_COUNT;
	assert_int_equal(scpp_lang_format_block(text, sizeof(text), &got), -EINVAL);
	parse_ok("get %a b[%c] %c");
	/* A KEY whose child is itself: a cycle the builder cannot make. */
	got.term[got.cmd[0].term[1]].a = got.cmd[0].term[1];
	assert_int_equal(scpp_lang_format_block(text, sizeof(text), &got), -EINVAL);
}

static void
test_lang_decoded_blocks_format_like_built_ones(void **state)
{
	static uint8_t wire[65536];
	int n;

	(void)state;
	parse_ok("get @0.1.0.0.2a entries[\"a\"] %a\ncopy offset(value(%a, d), 1) value(%a, e) "
		 "2u !%s\nreturn %s");
	n = scpp_wire_block_encode(&got, wire, sizeof(wire));
	assert_true(n > 0);
	assert_int_equal(scpp_wire_block_decode(wire, (size_t)n, &want, NULL), 0);
	assert_blocks_equal(&want, &got);
	assert_int_equal(scpp_lang_format_block(text, sizeof(text), &got),
			 scpp_lang_format_block(text2, sizeof(text2), &want));
	assert_string_equal(text, text2);
}

/* Texts whose canonical form is known: text -> block -> text. */
static void
test_lang_canonical_form_is_a_fixed_point(void **state)
{
	static const char *const texts[] = {
		"get @0.1.0.0.2a attr %1; set @0.1.0.0.2b attr %1",
		"  get @0.1.0.0.2a , %1,%2 # all\n\n set @0.1.0.0.2b %1 %2 !%e",
		"set @0.0.0.0.1 v 0x10\nset @0.0.0.0.1 v 1e3\nset @0.0.0.0.1 v 0.1",
		"set @0.0.0.0.1 v \"\\x41\\x7f\\x01\"",
		"return %z\nvar %y = \"a b\"\nget %y %x %z",
		"del %_3 !%_3\ndel %_1",
		"copy offset(offset(value(%a, b), 1), 2) value(%a, c[%k]) 3",
	};

	(void)state;
	for (size_t i = 0; i < SCPP_ARRAY_SIZE(texts); i++) {
		parse_ok(texts[i]);
		assert_true(scpp_lang_format_block(text, sizeof(text), &got) > 0);
		assert_int_equal(scpp_lang_parse(text, strlen(text), &again, arena2, sizeof(arena2),
						 NULL), 0);
		assert_blocks_equal(&again, &got);
		assert_true(scpp_lang_format_block(text2, sizeof(text2), &again) > 0);
		assert_string_equal(text2, text);
	}
}

/* ---- random round trip ---- */

static uint8_t pool[1 << 20];
static size_t pool_used;

static const char *
pool_put(const void *p, size_t n)
{
	char *d = (char *)pool + pool_used;

	SCPP_VERIFY(pool_used + n <= sizeof(pool));
	memcpy(d, p, n);
	pool_used += n;
	return d;
}

static const char *
random_string(uint64_t *s, uint32_t *len)
{
	static const char *const piece[] = {
		"a", "Z", "_", "7", " ", "\"", "\\", "\n", "\t", "\r", "\x01", "\x7f", "é",
		"€", "𝄞", "nil", "true", "value", "x", "get", "#", ";", "%", "@", "[", ")",
	};
	char buf[64];
	size_t n = 0, pieces = test_rand_below(s, 10);

	for (size_t i = 0; i < pieces; i++) {
		const char *p = piece[test_rand_below(s, SCPP_ARRAY_SIZE(piece))];
		size_t k = strlen(p);

		if (n + k > sizeof(buf))
			break;
		memcpy(buf + n, p, k);
		n += k;
	}
	*len = (uint32_t)n;
	return pool_put(n ? buf : "", n ? n : 1);
}

static struct scpp_value
random_value(uint64_t *s)
{
	uint8_t b[16];
	uint32_t len;

	switch (test_rand_below(s, 9)) {
	case 0:
		return scpp_value_nil();
	case 1:
		return scpp_value_bool(test_rand(s) & 1);
	case 2:
		return scpp_value_i64((int64_t)test_rand(s) >> test_rand_below(s, 64));
	case 3:
		return scpp_value_u64(test_rand(s) >> test_rand_below(s, 64));
	case 4: {
		uint64_t bits = test_rand(s) >> (test_rand_below(s, 2) ? 0 : test_rand_below(s, 64));
		struct scpp_value v = scpp_value_u64(bits);

		v.type = SCPP_VT_F64;
		/* The text form has two NaNs; others lose their payload (header). */
		if (isnan(v.f))
			v = scpp_value_f64(signbit(v.f) ? -NAN : NAN);
		if (test_rand_below(s, 8) == 0)
			v = scpp_value_f64(test_rand_below(s, 2) ? INFINITY : -INFINITY);
		return v;
	}
	case 5: {
		const char *p = random_string(s, &len);

		return scpp_value_str(p, len);
	}
	case 6:
		len = (uint32_t)test_rand_below(s, sizeof(b) + 1);
		for (uint32_t i = 0; i < len; i++)
			b[i] = (uint8_t)test_rand(s);
		return scpp_value_bytes(pool_put(b, len ? len : 1), len);
	case 7:
		return scpp_value_oid((struct scpp_oid){test_rand(s), test_rand(s)});
	default: {
		/* Identifier-like strings, which print bare in name positions. */
		static const char *const names[] = {"name", "entries", "File", "data", "_x1", "nan",
						    "value", "offset", "x"};
		const char *p = names[test_rand_below(s, SCPP_ARRAY_SIZE(names))];

		return scpp_value_cstr(p);
	}
	}
}

static void
random_name(uint64_t *s, const struct scpp_wire_block *b, const char **p, uint16_t *len)
{
	static const char *const fixed[] = {"", "1", "42", "dir", "_", "_1", "_07", "a b", "é",
					    "nil", "%x", "0123456789012345678901234567890123456789"
					    "012345678901234567890123"};
	char buf[16];

	switch (test_rand_below(s, 4)) {
	case 0:
		*p = fixed[test_rand_below(s, SCPP_ARRAY_SIZE(fixed))];
		*len = (uint16_t)strlen(*p);
		return;
	case 1:
		if (b->nvars > 0) { /* a duplicate of an earlier name */
			unsigned int j = (unsigned int)test_rand_below(s, b->nvars);

			*p = b->var_name[j].p;
			*len = b->var_name[j].len;
			return;
		}
		break;
	default:
		break;
	}
	*len = (uint16_t)snprintf(buf, sizeof(buf), "v%u", (unsigned int)test_rand_below(s, 100));
	*p = pool_put(buf, *len);
}

static int
random_term(uint64_t *s, struct scpp_wire_block *b, unsigned int pos, unsigned int depth)
{
	bool var = b->nvars > 0 && test_rand_below(s, 3) == 0;

	switch (pos) {
	case SCPP_POS_ADDR:
		if (depth + 1 < SCPP_WIRE_NEST_MAX && test_rand_below(s, 3) == 0) {
			int a = random_term(s, b, SCPP_POS_ADDR, depth + 1);
			int n = random_term(s, b, SCPP_POS_VAL, 0);

			return a < 0 || n < 0 ? -1 : scpp_wire_term_offset(b, a, n);
		} else {
			int e = random_term(s, b, SCPP_POS_ENT, 0);
			int a = random_term(s, b, SCPP_POS_ATTR, 0);

			return e < 0 || a < 0 ? -1 : scpp_wire_term_value(b, e, a);
		}
	case SCPP_POS_DEST:
		return scpp_wire_term_var(b, (unsigned int)test_rand_below(s, b->nvars));
	case SCPP_POS_EXPR:
		/* @p depth counts operators here; shallow trees keep the random
		 * blocks small (the depth limit has its own test). */
		if (depth < 4 && test_rand_below(s, 5) < 2) {
			unsigned int op = 1 + (unsigned int)test_rand_below(s, SCPP_XOP_COUNT - 1);
			const struct scpp_wire_xop_info *xi = &scpp_wire_xops[op];
			int opd[3] = {-1, -1, -1};

			for (unsigned int i = 0; i < xi->arity; i++) {
				opd[i] = random_term(s, b, xi->pos[i],
						     xi->pos[i] == SCPP_POS_EXPR ? depth + 1 : 0);
				if (opd[i] < 0)
					return -1;
			}
			return scpp_wire_term_op(b, op, opd[0], opd[1], opd[2]);
		}
		goto leaf;
	case SCPP_POS_ATTR:
		if (test_rand_below(s, 4) == 0) {
			int a = random_term(s, b, SCPP_POS_VAL, 0);
			int k = random_term(s, b, SCPP_POS_VAL, 0);

			return a < 0 || k < 0 ? -1 : scpp_wire_term_key(b, a, k);
		}
		__attribute__((fallthrough));
	default:
	leaf:
		if (var)
			return scpp_wire_term_var(b, (unsigned int)test_rand_below(s, b->nvars));
		{
			struct scpp_value v = random_value(s);

			return scpp_wire_term_const(b, &v);
		}
	}
}

static void
random_block(uint64_t *s, struct scpp_wire_block *b)
{
	unsigned int nvars = (unsigned int)test_rand_below(s, test_rand_below(s, 4) ? 6 : 65);
	unsigned int ncmds = (unsigned int)test_rand_below(s, test_rand_below(s, 16) ? 8 : 300);
	uint8_t perm[SCPP_WIRE_VARS_MAX];

	pool_used = 0;
	scpp_wire_block_init(b);
	for (unsigned int i = 0; i < nvars; i++) {
		const char *p;
		uint16_t len;

		random_name(s, b, &p, &len);
		SCPP_VERIFY(scpp_wire_block_var(b, p, len) == (int)i);
	}
	for (unsigned int i = 0; i < ncmds; i++) {
		unsigned int op = 1 + (unsigned int)test_rand_below(s, SCPP_OP_COUNT - 1);
		int t[3] = {0, 0, 0}, st = -1;

		if ((op == SCPP_OP_CREATE || op == SCPP_OP_LET) && nvars == 0)
			op = SCPP_OP_GET;
		for (unsigned int k = 0; k < scpp_wire_op_nterms[op]; k++) {
			t[k] = random_term(s, b, scpp_wire_op_pos[op][k], 0);
			if (t[k] < 0)
				goto done; /* out of terms */
		}
		if (op == SCPP_OP_DEL && test_rand_below(s, 3) == 0) {
			struct scpp_value nil = scpp_value_nil();

			t[1] = scpp_wire_term_const(b, &nil);
			if (t[1] < 0)
				goto done;
		}
		if (nvars > 0 && test_rand_below(s, 3) == 0)
			st = (int)test_rand_below(s, nvars);
		if (scpp_wire_block_cmd(b, op, t[0], t[1], t[2], st) < 0)
			goto done;
		if (test_rand_below(s, 4) == 0) {
			int g = random_term(s, b, SCPP_POS_EXPR, 0);

			if (g < 0 || scpp_wire_block_guard(b, b->ncmds - 1u, g) < 0)
				goto done;
		}
	}
done:
	/* A random subset of the variables, in random order. */
	for (unsigned int i = 0; i < nvars; i++)
		perm[i] = (uint8_t)i;
	for (unsigned int i = nvars; i > 1; i--) {
		unsigned int j = (unsigned int)test_rand_below(s, i);
		uint8_t x = perm[i - 1];

		perm[i - 1] = perm[j];
		perm[j] = x;
	}
	if (test_rand_below(s, 3) == 0) {
		for (unsigned int i = 0; i < nvars; i++)
			SCPP_VERIFY(scpp_wire_block_ret(b, i) == 0);
	} else {
		unsigned int nret = (unsigned int)test_rand_below(s, nvars + 1);

		for (unsigned int i = 0; i < nret; i++)
			SCPP_VERIFY(scpp_wire_block_ret(b, perm[i]) == 0);
	}
}

static void
test_lang_random_blocks_round_trip_through_text(void **state)
{
	uint64_t seed = UINT64_C(0x5c99a11c0ffee);
	struct scpp_lang_error e;
	unsigned long var_lines = 0, big = 0;

	(void)state;
	for (unsigned int iter = 0; iter < 100000; iter++) {
		int n, n2;

		random_block(&seed, &want);
		n = scpp_lang_format_block(text, sizeof(text), &want);
		assert_true(n > 0 && (size_t)n < sizeof(text));
		if (scpp_lang_parse(text, (size_t)n, &got, arena, (size_t)n, &e) != 0)
			fail_msg("iteration %u: %s\n%s", iter, e.msg, text);
		if (!scpp_wire_block_equal(&got, &want))
			fail_msg("iteration %u: block changed through\n%s", iter, text);
		n2 = scpp_lang_format_block(text2, sizeof(text2), &got);
		assert_int_equal(n2, n);
		if (strcmp(text, text2) != 0)
			fail_msg("iteration %u: not a fixed point:\n%s---\n%s", iter, text, text2);
		var_lines += strncmp(text, "var ", 4) == 0;
		big += want.ncmds > 100;
	}
	/* The generator must reach the interesting cases. */
	assert_true(var_lines > 10000);
	assert_true(big > 100);
}

/* ---- replies ---- */

static const char *
test_errno_name(uint32_t e)
{
	return e == 2 ? "ENOENT" : NULL;
}

/* Print @p msg into a string with open_memstream. */
static int
print_reply(const uint8_t *msg, size_t len, unsigned int flags, scpp_lang_errno_name_fn fn,
	    char **out)
{
	size_t size;
	FILE *f = open_memstream(out, &size);
	int rc;

	assert_non_null(f);
	rc = scpp_lang_print_reply(f, msg, len, flags, fn);
	fclose(f);
	return rc;
}

static size_t
small_reply(uint8_t *buf, size_t size, uint8_t outcome, uint32_t err)
{
	struct scpp_wire_reply_writer w;
	const struct scpp_wire_name cols[] = {{"name", 4}, {"size", 4}};
	const struct scpp_wire_name keys[] = {{"errno", 5}, {"errno_name", 10}, {"message", 7}};
	struct scpp_value row1[] = {scpp_value_cstr("a"), scpp_value_i64(5)};
	struct scpp_value row2[] = {scpp_value_cstr("bé\""), scpp_value_u64(17)};
	struct scpp_value st[] = {scpp_value_u64(2), scpp_value_cstr("ENOENT"),
				  scpp_value_cstr("no such entity")};

	scpp_wire_reply_writer_init(&w, buf, size);
	assert_int_equal(scpp_wire_reply_columns(&w, cols, 2), 0);
	assert_int_equal(scpp_wire_reply_row(&w, row1), 0);
	assert_int_equal(scpp_wire_reply_status(&w, scpp_oid_make(0, 1, 0, 1, 5), keys, st, 3), 0);
	assert_int_equal(scpp_wire_reply_row(&w, row2), 0);
	assert_int_equal(scpp_wire_reply_end(&w, err, outcome, 2, 3, 12345), 0);
	return w.len;
}

static void
test_lang_reply_table_is_aligned_with_statuses_and_summary(void **state)
{
	uint8_t msg[1024];
	size_t len = small_reply(msg, sizeof(msg), SCPP_OUTCOME_ERRORS, 2);
	char *out = NULL;

	(void)state;
	assert_int_equal(print_reply(msg, len, 0, test_errno_name, &out), 0);
	assert_string_equal(out,
			    "name    size\n"
			    "------  ----\n"
			    "\"a\"     5\n"
			    "\"bé\\\"\"  17u\n"
			    "status @0.1.0.1.5: errno=2u errno_name=\"ENOENT\" message=\"no such entity\"\n"
			    "2 rows, 3 commands, errors: ENOENT, 12.3 µs\n");
	free(out);
}

static void
test_lang_reply_json_is_one_document(void **state)
{
	uint8_t msg[1024];
	size_t len = small_reply(msg, sizeof(msg), SCPP_OUTCOME_ERRORS, 2);
	char *out = NULL;

	(void)state;
	assert_int_equal(print_reply(msg, len, SCPP_LANG_REPLY_JSON, test_errno_name, &out), 0);
	assert_string_equal(out,
			    "{\"columns\":[\"name\",\"size\"],"
			    "\"rows\":[[\"a\",5],[\"bé\\\"\",17]],"
			    "\"statuses\":[{\"oid\":\"@0.1.0.1.5\",\"fields\":{\"errno\":2,"
			    "\"errno_name\":\"ENOENT\",\"message\":\"no such entity\"}}],"
			    "\"end\":{\"errno\":2,\"errno_name\":\"ENOENT\",\"outcome\":\"errors\","
			    "\"rows\":2,\"commands\":3,\"elapsed_ns\":12345,\"statuses\":1}}\n");
	free(out);
}

/* COPY records (block flag COPY_RESULTS): a line each in the table, a
 * "copies" array in JSON. */
static void
test_lang_reply_prints_copy_results(void **state)
{
	const struct scpp_wire_copy_result c[] = {
		{.cmd = 0, .copies = 1, .bytes = 4194304, .offloaded = 1, .engine = {"dmadev", 6},
		 .elapsed_ns = 1500000},
		{.cmd = 2, .copies = 3, .bytes = 30, .offloaded = 0, .engine = {"", 0},
		 .elapsed_ns = 800},
	};
	struct scpp_wire_reply_writer w;
	uint8_t msg[256];
	char *out = NULL;

	(void)state;
	scpp_wire_reply_writer_init(&w, msg, sizeof(msg));
	assert_int_equal(scpp_wire_reply_columns(&w, NULL, 0), 0);
	assert_int_equal(scpp_wire_reply_copy(&w, &c[0]), 0);
	assert_int_equal(scpp_wire_reply_copy(&w, &c[1]), 0);
	assert_int_equal(scpp_wire_reply_end(&w, 0, SCPP_OUTCOME_OK, 0, 3, 2000000), 0);
	assert_int_equal(print_reply(msg, w.len, 0, test_errno_name, &out), 0);
	assert_string_equal(out, "copy 0: 1 copy, 4194304 bytes, 1 by dmadev, 1.5 ms\n"
				 "copy 2: 3 copies, 30 bytes, 800 ns\n"
				 "0 rows, 3 commands, ok, 2.0 ms\n");
	free(out);
	assert_int_equal(print_reply(msg, w.len, SCPP_LANG_REPLY_JSON, test_errno_name, &out), 0);
	assert_string_equal(out, "{\"columns\":[],\"rows\":[],\"statuses\":[],\"copies\":["
				 "{\"command\":0,\"copies\":1,\"bytes\":4194304,\"offloaded\":1,"
				 "\"engine\":\"dmadev\",\"elapsed_ns\":1500000},"
				 "{\"command\":2,\"copies\":3,\"bytes\":30,\"offloaded\":0,"
				 "\"engine\":\"\",\"elapsed_ns\":800}],"
				 "\"end\":{\"errno\":0,\"outcome\":\"ok\",\"rows\":0,"
				 "\"commands\":3,\"elapsed_ns\":2000000,\"statuses\":0}}\n");
	free(out);
}

static void
test_lang_reply_aborted_summary_names_the_errno(void **state)
{
	uint8_t msg[1024];
	size_t len = small_reply(msg, sizeof(msg), SCPP_OUTCOME_ABORTED, 2);
	char *out = NULL;
	const char *last;

	(void)state;
	assert_int_equal(print_reply(msg, len, 0, test_errno_name, &out), 0);
	last = strrchr(out, '\n');
	while (last > out && last[-1] != '\n')
		last--;
	assert_string_equal(last, "aborted: ENOENT, 3 commands, 12.3 µs\n");
	free(out);
	/* Without a name table the number is printed. */
	assert_int_equal(print_reply(msg, len, 0, NULL, &out), 0);
	assert_non_null(strstr(out, "aborted: errno 2, 3 commands, 12.3 µs\n"));
	free(out);
}

static void
test_lang_reply_json_maps_every_value_type(void **state)
{
	static const uint8_t raw[] = {0x00, 0xab};
	struct scpp_wire_reply_writer w;
	const struct scpp_wire_name cols[] = {{"", 0}, {"v", 1}};
	const struct scpp_value vals[] = {
		scpp_value_nil(), scpp_value_bool(true), scpp_value_i64(-3),
		scpp_value_i64(INT64_MIN), scpp_value_u64(UINT64_C(1) << 53),
		scpp_value_u64((UINT64_C(1) << 53) + 1), scpp_value_f64(1.5), scpp_value_f64(-0.0),
		scpp_value_f64(NAN), scpp_value_f64(-INFINITY), scpp_value_cstr("t\x01\n\\"),
		scpp_value_bytes(raw, 2), scpp_value_oid(scpp_oid_make(0, 1, 0, 1, 0x2a)),
	};
	uint8_t msg[2048];
	char *out = NULL;

	(void)state;
	scpp_wire_reply_writer_init(&w, msg, sizeof(msg));
	assert_int_equal(scpp_wire_reply_columns(&w, cols, 2), 0);
	for (size_t i = 0; i < SCPP_ARRAY_SIZE(vals); i++) {
		struct scpp_value row[2] = {scpp_value_u64(i), vals[i]};

		assert_int_equal(scpp_wire_reply_row(&w, row), 0);
	}
	assert_int_equal(scpp_wire_reply_end(&w, 0, SCPP_OUTCOME_OK, 13, 1, 999), 0);
	assert_int_equal(print_reply(msg, w.len, SCPP_LANG_REPLY_JSON, NULL, &out), 0);
	assert_string_equal(out,
			    "{\"columns\":[\"\",\"v\"],\"rows\":[[0,null],[1,true],[2,-3],"
			    "[3,\"-9223372036854775808\"],[4,9007199254740992],"
			    "[5,\"9007199254740993\"],[6,1.5],[7,-0.0],[8,\"nan\"],[9,\"-inf\"],"
			    "[10,\"t\\u0001\\n\\\\\"],[11,{\"hex\":\"00ab\"}],[12,\"@0.1.0.1.2a\"]],"
			    "\"statuses\":[],\"end\":{\"errno\":0,\"outcome\":\"ok\",\"rows\":13,"
			    "\"commands\":1,\"elapsed_ns\":999,\"statuses\":0}}\n");
	free(out);
	assert_int_equal(print_reply(msg, w.len, 0, NULL, &out), 0);
	assert_non_null(strstr(out, "_0   v\n---  "));
	assert_non_null(strstr(out, "\n12u  @0.1.0.1.2a\n13 rows, 1 command, ok, 999 ns\n"));
	free(out);
}

static void
test_lang_reply_table_shortens_long_cells(void **state)
{
	struct scpp_wire_reply_writer w;
	const struct scpp_wire_name col = {"s", 1};
	char longs[300];
	struct scpp_value v;
	uint8_t msg[1024];
	char *out = NULL, want_line[256];

	(void)state;
	memset(longs, 'a', sizeof(longs));
	longs[0] = (char)0xc3; /* é: a two-byte character first */
	longs[1] = (char)0xa9;
	v = scpp_value_str(longs, sizeof(longs));
	scpp_wire_reply_writer_init(&w, msg, sizeof(msg));
	assert_int_equal(scpp_wire_reply_columns(&w, &col, 1), 0);
	assert_int_equal(scpp_wire_reply_row(&w, &v), 0);
	assert_int_equal(scpp_wire_reply_end(&w, 0, SCPP_OUTCOME_OK, 1, 1, 2500000), 0);
	assert_int_equal(print_reply(msg, w.len, 0, NULL, &out), 0);
	/* 64 characters: the quote, é, 61 a's and the ellipsis. */
	snprintf(want_line, sizeof(want_line), "\n\"é%.61s…\n1 row, 1 command, ok, 2.5 ms\n",
		 longs + 2);
	assert_non_null(strstr(out, want_line));
	free(out);
}

static void
test_lang_malformed_reply_prints_nothing(void **state)
{
	uint8_t msg[1024];
	size_t len = small_reply(msg, sizeof(msg), SCPP_OUTCOME_OK, 0);
	char *out = NULL;

	(void)state;
	/* Cut before END. */
	assert_int_equal(print_reply(msg, len - 3, 0, NULL, &out), -SCPP_E_TRUNCATED);
	assert_string_equal(out, "");
	free(out);
	/* Junk after END. */
	msg[len] = 0x10;
	assert_int_equal(print_reply(msg, len + 1, SCPP_LANG_REPLY_JSON, NULL, &out),
			 -SCPP_E_TRAILING);
	assert_string_equal(out, "");
	free(out);
	/* No COLUMNS first. */
	assert_true(print_reply(msg + 1, len - 1, 0, NULL, &out) < 0);
	assert_string_equal(out, "");
	free(out);
}

/* Display names: one OID has a name (from the caller's lookup), one not. */
static int
fake_name(void *ctx, struct scpp_oid oid, char *buf, size_t size)
{
	(*(int *)ctx)++;
	if ((oid.lo & 0xff) != 0x2a)
		return 0;
	snprintf(buf, size, "al\"ice");
	return 1;
}

static void
test_lang_reply_joins_display_names(void **state)
{
	struct scpp_wire_name col = {"u", 1};
	struct scpp_wire_reply_writer w;
	uint8_t msg[512];
	char *out = NULL;
	size_t size;
	FILE *f;
	int calls = 0;
	(void)state;

	scpp_wire_reply_writer_init(&w, msg, sizeof(msg));
	assert_int_equal(scpp_wire_reply_columns(&w, &col, 1), 0);
	for (uint64_t lo = 0x2a; lo <= 0x2b; lo++) {
		struct scpp_value v = scpp_value_oid(scpp_oid_make(0, 1, 0, 1, lo));

		assert_int_equal(scpp_wire_reply_row(&w, &v), 0);
	}
	assert_int_equal(scpp_wire_reply_end(&w, 0, SCPP_OUTCOME_OK, 2, 1, 999), 0);
	f = open_memstream(&out, &size);
	assert_int_equal(scpp_lang_print_reply_names(f, msg, w.len, 0, NULL, fake_name, &calls), 0);
	fclose(f);
	assert_string_equal(out, "u\n--------------------\n@0.1.0.1.2a (al\"ice)\n@0.1.0.1.2b\n"
				 "2 rows, 1 command, ok, 999 ns\n");
	assert_true(calls >= 2);
	free(out);
	f = open_memstream(&out, &size);
	assert_int_equal(scpp_lang_print_reply_names(f, msg, w.len, SCPP_LANG_REPLY_JSON, NULL,
						     fake_name, &calls), 0);
	fclose(f);
	assert_non_null(strstr(out, "\"rows\":[[{\"oid\":\"@0.1.0.1.2a\",\"name\":\"al\\\"ice\"}],"
				    "[\"@0.1.0.1.2b\"]]"));
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lang_seed_copy_one_attribute_example),
		cmocka_unit_test(test_lang_seed_copy_all_attributes_example),
		cmocka_unit_test(test_lang_path_walk_uses_map_entries_and_chains_variables),
		cmocka_unit_test(test_lang_every_literal_kind_parses_to_its_value),
		cmocka_unit_test(test_lang_variables_are_declared_in_order_of_first_appearance),
		cmocka_unit_test(test_lang_anonymous_labels_have_empty_wire_names),
		cmocka_unit_test(test_lang_comments_blank_lines_semicolons_and_commas_are_separators),
		cmocka_unit_test(test_lang_command_words_and_value_offset_are_plain_names_elsewhere),
		cmocka_unit_test(test_lang_addresses_nest_in_copy),
		cmocka_unit_test(test_lang_address_nesting_limit_is_exact),
		cmocka_unit_test(test_lang_create_alloc_and_both_deletes),
		cmocka_unit_test(test_lang_status_terms_set_the_flag_and_declare_the_variable),
		cmocka_unit_test(test_lang_without_return_every_variable_is_returned_in_order),
		cmocka_unit_test(test_lang_bare_return_returns_nothing),
		cmocka_unit_test(test_lang_return_may_come_first_and_declares_its_variables),
		cmocka_unit_test(test_lang_return_of_a_subset_in_any_order),
		cmocka_unit_test(test_lang_var_sets_order_and_wire_names),
		cmocka_unit_test(test_lang_duplicate_wire_names_print_with_a_var_line),
		cmocka_unit_test(test_lang_malformed_texts_report_code_position_and_message),
		cmocka_unit_test(test_lang_expressions_parse_to_op_terms_and_print_back),
		cmocka_unit_test(test_lang_expression_errors_name_what_and_where),
		cmocka_unit_test(test_lang_sixty_five_variables_are_too_many),
		cmocka_unit_test(test_lang_257_commands_are_too_many),
		cmocka_unit_test(test_lang_more_than_1024_terms_are_too_many),
		cmocka_unit_test(test_lang_arena_too_small_is_enospc_and_text_length_suffices),
		cmocka_unit_test(test_lang_invalid_arguments_are_einval),
		cmocka_unit_test(test_lang_format_prints_bare_names_only_where_they_read_back),
		cmocka_unit_test(test_lang_format_truncates_but_reports_full_length),
		cmocka_unit_test(test_lang_format_rejects_structurally_broken_blocks),
		cmocka_unit_test(test_lang_decoded_blocks_format_like_built_ones),
		cmocka_unit_test(test_lang_canonical_form_is_a_fixed_point),
		cmocka_unit_test(test_lang_random_blocks_round_trip_through_text),
		cmocka_unit_test(test_lang_reply_table_is_aligned_with_statuses_and_summary),
		cmocka_unit_test(test_lang_reply_json_is_one_document),
		cmocka_unit_test(test_lang_reply_aborted_summary_names_the_errno),
		cmocka_unit_test(test_lang_reply_prints_copy_results),
		cmocka_unit_test(test_lang_reply_json_maps_every_value_type),
		cmocka_unit_test(test_lang_reply_table_shortens_long_cells),
		cmocka_unit_test(test_lang_malformed_reply_prints_nothing),
		cmocka_unit_test(test_lang_reply_joins_display_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
