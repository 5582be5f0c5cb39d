/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Computation in blocks (lib/eval/eval_expr.c, docs/PROTOCOL.md §8.1 and
 * §15 "Computation"): each test states one rule of the operators, the
 * commands let, where, assert, write and resize, and guards, and asserts
 * the reply and the store afterwards. The random differential test
 * (test_eval_diff.c) covers the same rules against a reference
 * interpreter; these are the edges, by name.
 */
#include <errno.h>
#include <string.h>

#include "scpp_test.h"
#include "eval_fixture.h"

#define A "@0.1.0.1.a"
#define B "@0.1.0.1.b"
#define C "@0.1.0.1.c"
#define FAR "@0.1.3.1.1" /* shard 3 of this node */

static void
mk(struct fx *f, const char *text)
{
	struct scpp_oid o;

	assert_int_equal(scpp_oid_parse(text, strlen(text), &o), 0);
	assert_int_equal(scpp_store_entity_create(f->store, o), 0);
}

#define assert_reply(f, text, want) assert_string_equal(fx_run((f), (text)), (want))

static int64_t fixed_now = 1700000000123456789;
static unsigned int now_reads;

static int64_t
fake_now(void)
{
	now_reads++;
	return fixed_now;
}

static int
setup_free(void **state)
{
	struct fx *f = fx_new(false, NULL);

	mk(f, A);
	mk(f, B);
	mk(f, C);
	f->env.realtime_ns = fake_now;
	*state = f;
	return 0;
}

static int
setup_schema(void **state)
{
	struct fx *f = fx_new(true, NULL);

	f->env.realtime_ns = fake_now;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fx_free(*state);
	return 0;
}

static void
test_expr_integer_arithmetic_is_exact_and_checked(void **state)
{
	struct fx *f = *state;

	/* The result has the first operand's type; i64 and u64 mix. */
	assert_reply(f, "let %x add(2u, 3) ; let %y sub(2, 3u) ; let %z mul(-4, 5)",
		     "cols=x,y,z rows=[5u|-1|-20] end=ok");
	assert_reply(f, "let %q div(-7, 2) ; let %m mod(-7, 2) ; let %n div(7u, 2u)",
		     "cols=q,m,n rows=[-3|-1|3u] end=ok");
	/* Out of range for the result type: ERANGE, not a wrap. */
	assert_reply(f, "let %x sub(2u, 3u)", "cols=x rows= st=ERANGE@0 end=aborted");
	assert_reply(f, "let %x add(9223372036854775807, 1)", "cols=x rows= st=ERANGE@0 end=aborted");
	assert_reply(f, "let %x mul(18446744073709551615u, 2u)",
		     "cols=x rows= st=ERANGE@0 end=aborted");
	assert_reply(f, "let %x div(-9223372036854775808, -1)",
		     "cols=x rows= st=ERANGE@0 end=aborted");
	assert_reply(f, "let %x add(18446744073709551615u, -1)",
		     "cols=x rows=[18446744073709551614u] end=ok");
	assert_reply(f, "let %x div(1, 0)", "cols=x rows= st=EDOM@0 end=aborted");
	assert_reply(f, "let %x mod(1u, 0)", "cols=x rows= st=EDOM@0 end=aborted");
	/* Operands must be integers. */
	assert_reply(f, "let %x add(1, \"1\")", "cols=x rows= st=EINVAL@0 end=aborted");
	assert_reply(f, "let %x add(1.5, 1)", "cols=x rows= st=EINVAL@0 end=aborted");
	assert_string_equal(fx_message(f), "add(): operand must be an integer, got 1.5");
}

static void
test_expr_bits_and_shifts(void **state)
{
	struct fx *f = *state;

	assert_reply(f, "let %a band(33261u, 61440u) ; let %b bor(256u, 64) ; let %c bxor(-1, 5)",
		     "cols=a,b,c rows=[32768u|320u|-6] end=ok");
	assert_reply(f, "let %a shl(1u, 63) ; let %b shr(-16, 2) ; let %c shr(18446744073709551615u, 60)",
		     "cols=a,b,c rows=[9223372036854775808u|-4|15u] end=ok");
	assert_reply(f, "let %a shl(1, 64)", "cols=a rows= st=ERANGE@0 end=aborted");
	assert_reply(f, "let %a shr(1, -1)", "cols=a rows= st=ERANGE@0 end=aborted");
}

static void
test_expr_comparisons_order_integers_by_value(void **state)
{
	struct fx *f = *state;

	assert_reply(f, "let %a eq(5u, 5) ; let %b lt(-1, 0u) ; let %c gt(5, 3u) ; "
			"let %d ne(\"a\", \"b\") ; let %e le(\"ab\", \"b\")",
		     "cols=a,b,c,d,e rows=[true|true|true|true|true] end=ok");
	/* Other types by the value order: never equal across types. */
	assert_reply(f, "let %a eq(1, true) ; let %b eq(nil, nil) ; let %c lt(true, 0)",
		     "cols=a,b,c rows=[false|true|true] end=ok");
	/* min/max return an operand as it is (ties: the first). */
	assert_reply(f, "let %a min(3u, -2) ; let %b max(3u, 3) ; let %c min(\"b\", \"a\")",
		     "cols=a,b,c rows=[-2|3u|\"a\"] end=ok");
}

static void
test_expr_logic_is_lazy(void **state)
{
	struct fx *f = *state;

	/* The operand that would fail is not evaluated. */
	assert_reply(f, "let %a and(false, eq(div(1, 0), 1)) ; let %b or(true, %unbound) ; "
			"let %c if(true, 1, div(1, 0)) ; let %d not(false) ; return %a %b %c %d",
		     "cols=a,b,c,d rows=[false|true|1|true] end=ok");
	assert_reply(f, "let %a and(true, 1)", "cols=a rows= st=EINVAL@0 end=aborted");
	assert_reply(f, "let %a if(1, 2, 3)", "cols=a rows= st=EINVAL@0 end=aborted");
	assert_reply(f, "let %a not(%u) ; return %a", "cols=a rows= st=EINVAL@0 end=aborted");
	assert_string_equal(fx_message(f), "expression operand %u must be bound");
}

static void
test_expr_len_hash_and_now(void **state)
{
	struct fx *f = *state;

	assert_reply(f, "let %a len(\"héllo\") ; let %b len(x\"0001\")",
		     "cols=a,b rows=[6u|2u] end=ok");
	assert_reply(f, "let %a len(5)", "cols=a rows= st=EINVAL@0 end=aborted");
	/* FNV-1a 64 of the value's encoding: 03 01 for 1u (docs/PROTOCOL.md
	 * §8.1 gives the figure), 05 01 61 for "a". */
	assert_reply(f, "let %h hash(1u)", "cols=h rows=[591641742448415945u] end=ok");
	assert_reply(f, "let %h hash(\"a\") ; let %g hash(\"a\") ; where eq(%h, %g) ; return",
		     "cols= rows= end=ok");
	/* now(): the node's clock, read once per block, the same in every row. */
	fx_run(f, "set " A " m[1] 1 ; set " A " m[2] 2 ; set " A " m[3] 3");
	now_reads = 0;
	assert_reply(f, "get " A " m[%k] %v ; let %t now() ; return %t",
		     "cols=t rows=[1700000000123456789][1700000000123456789][1700000000123456789] "
		     "end=ok");
	assert_int_equal(now_reads, 1);
	now_reads = 0;
	fx_run(f, "get " A " m[%k] %v ; return");
	assert_int_equal(now_reads, 0);
}

static void
test_expr_store_reads_are_optional_and_copied(void **state)
{
	struct fx *f = *state;

	fx_run(f, "set " A " name \"alice\" ; set " A " m[\"k\"] 7 ; set " A " data x\"00112233\"");
	assert_reply(f, "let %a val(" A ", name) ; let %b val(" A ", nope) ; "
			"let %c entry(" A ", m, \"k\") ; let %d entry(" A ", m, \"z\") ; "
			"let %e entry(" A ", nomap, 1)",
		     "cols=a,b,c,d,e rows=[\"alice\"|nil|7|nil|nil] end=ok");
	assert_reply(f, "let %a count(" A ", m) ; let %b count(" A ", name) ; let %c count(" A ", x) ; "
			"let %d length(" A ", data) ; let %e length(" A ", x)",
		     "cols=a,b,c,d,e rows=[1u|1u|0u|4u|0u] end=ok");
	/* Plain vs map, and a value that is not a byte string. */
	assert_reply(f, "let %a val(" A ", m)", "cols=a rows= st=EMEDIUMTYPE@0 end=aborted");
	assert_reply(f, "let %a entry(" A ", name, 1)", "cols=a rows= st=EMEDIUMTYPE@0 end=aborted");
	assert_reply(f, "set " A " n 5 ; let %a length(" A ", n)",
		     "cols=a rows= st=EMEDIUMTYPE@1 end=aborted");
	/* The entity must be here. */
	assert_reply(f, "let %a val(@0.1.0.1.99, name)", "cols=a rows= st=ENOENT@0 end=aborted");
	assert_reply(f, "let %a val(" FAR ", name)", "cols=a rows= st=EREMOTE@0 end=aborted");
	assert_reply(f, "let %a val(5, name)", "cols=a rows= st=EINVAL@0 end=aborted");
	assert_reply(f, "let %a val(" A ", \"\")", "cols=a rows= st=EINVAL@0 end=aborted");
	/* A value read stays what it was when read, whatever the block does next. */
	assert_reply(f, "let %a val(" A ", name) ; set " A " name \"bob\" ; return %a",
		     "cols=a rows=[\"alice\"] end=ok");
}

static void
test_expr_read_cuts_at_the_end(void **state)
{
	struct fx *f = *state;

	fx_run(f, "set " A " data x\"00112233445566\"");
	assert_reply(f, "let %a read(value(" A ", data), 3u) ; "
			"let %b read(offset(value(" A ", data), 5u), 100u) ; "
			"let %c read(offset(value(" A ", data), 7u), 1u) ; "
			"let %d read(offset(value(" A ", data), 70u), 1u) ; "
			"let %e read(value(" A ", missing), 4u)",
		     "cols=a,b,c,d,e rows=[x\"001122\"|x\"5566\"|x\"\"|x\"\"|x\"\"] end=ok");
	/* A string reads as bytes. */
	fx_run(f, "set " A " s \"héllo\"");
	assert_reply(f, "let %a read(offset(value(" A ", s), 1u), 2u)",
		     "cols=a rows=[x\"c3a9\"] end=ok");
	assert_reply(f, "let %a read(value(" A ", data), -1)", "cols=a rows= st=EINVAL@0 end=aborted");
	assert_reply(f, "set " A " m[1] 1 ; let %a read(value(" A ", m), 1u)",
		     "cols=a rows= st=EMEDIUMTYPE@1 end=aborted");
}

static void
test_expr_reach_walks_a_chain(void **state)
{
	struct fx *f = *state;

	/* C -> B -> A -> A (a root names itself). */
	fx_run(f, "set " A " parent " A " ; set " B " parent " A " ; set " C " parent " B);
	assert_reply(f, "let %a reach(" C ", parent, " A ") ; let %b reach(" C ", parent, " C ") ; "
			"let %c reach(" A ", parent, " C ") ; let %d reach(" B ", nope, " A ")",
		     "cols=a,b,c,d rows=[true|true|false|false] end=ok");
	/* A cycle that never meets the target stops after the hop limit. */
	fx_run(f, "set " A " parent " B);
	assert_reply(f, "let %a reach(" A ", parent, " C ")", "cols=a rows= st=ELOOP@0 end=aborted");
	/* A chain into another shard cannot be followed here. */
	fx_run(f, "set " A " parent " FAR);
	assert_reply(f, "let %a reach(" B ", parent, " C ")", "cols=a rows= st=EREMOTE@0 end=aborted");
	/* A dangling reference inside the shard ends the chain. */
	fx_run(f, "set " A " parent @0.1.0.1.99");
	assert_reply(f, "let %a reach(" B ", parent, " C ")", "cols=a rows=[false] end=ok");
}

static void
test_expr_find_by_scan_and_by_index(void **state)
{
	struct fx *f = *state;

	fx_run(f, "set " B " tag \"x\" ; set " C " tag \"x\"");
	assert_reply(f, "let %a find(tag, \"x\") ; let %b find(tag, \"y\") ; let %c find(nope, 1)",
		     "cols=a,b,c rows=[@0.1.0.1.b|nil|nil] end=ok");
}

static void
test_expr_find_uses_the_value_index(void **state)
{
	struct fx *f = *state;
	uint64_t scan_steps;

	for (int i = 0; i < 300; i++)
		fx_run(f, "create %u User ; set %u uid 7u ; set %u gid 1u ; set %u name \"n\"");
	fx_run(f, "create %u User ; set %u uid 8u ; set %u gid 1u ; set %u name \"alice\"");
	fx_run(f, "create %u User ; set %u uid 9u ; set %u gid 1u ; set %u name \"alice\"");
	assert_string_equal(fx_run(f, "let %a find(name, \"alice\") ; get %a uid %u ; return %u"),
			    "cols=u rows=[8u] end=ok");
	/* name is indexed: a step per match, not per entity. */
	assert_true(f->res.steps < 20);
	/* gecos is not: the same question scans. */
	fx_run(f, "get %u uid 9u ; set %u gecos \"g\"");
	assert_string_equal(fx_run(f, "let %a find(gecos, \"g\") ; get %a uid %u ; return %u"),
			    "cols=u rows=[9u] end=ok");
	scan_steps = f->res.steps;
	assert_true(scan_steps > 300);
}

static void
test_let_binds_or_matches(void **state)
{
	struct fx *f = *state;

	fx_run(f, "set " A " m[1] 10 ; set " A " m[2] 20 ; set " A " m[3] 30");
	assert_reply(f, "get " A " m[%k] %v ; let %d mul(%v, 2) ; return %k %d",
		     "cols=k,d rows=[1|20][2|40][3|60] end=ok");
	/* A bound variable is matched: rows that differ are dropped. */
	assert_reply(f, "get " A " m[%k] %v ; let %v mul(%k, 10) ; let %v 20 ; return %k",
		     "cols=k rows=[2] end=ok");
	assert_reply(f, "let 5 1", "parse error 1:5: expected a variable to bind after 'let', "
				   "found '5'");
}

static void
test_where_filters_rows(void **state)
{
	struct fx *f = *state;

	fx_run(f, "set " A " m[1] 10 ; set " A " m[2] 20 ; set " A " m[3] 30");
	assert_reply(f, "get " A " m[%k] %v ; where ge(%v, 20) ; return %k",
		     "cols=k rows=[2][3] end=ok");
	assert_reply(f, "get " A " m[%k] %v ; where %v", "cols=k,v rows= st=EINVAL@1 end=aborted");
	/* A filter that drops every row leaves the rest of the block nothing
	 * to do: the tail of a block is conditional. */
	assert_reply(f, "where false ; set " A " y 1", "cols= rows= end=ok");
	assert_reply(f, "get " A " y %y", "cols=y rows= st=ENOENT@0 end=aborted");
}

static void
test_assert_fails_with_the_named_errno(void **state)
{
	struct fx *f = *state;

	assert_reply(f, "assert true ENOTDIR ; set " A " x 1", "cols= rows= end=ok");
	assert_reply(f, "assert false ENOTDIR ; set " A " x 2",
		     "cols= rows= st=ENOTDIR@0 end=aborted");
	assert_string_equal(fx_message(f), "assert failed: ENOTDIR");
	assert_reply(f, "assert false 13u", "cols= rows= st=EACCES@0 end=aborted");
	assert_reply(f, "assert false 13", "cols= rows= st=EACCES@0 end=aborted");
	/* The errno must be a canonical one, whatever the condition. */
	assert_reply(f, "assert true ENOPE", "cols= rows= st=EINVAL@0 end=aborted");
	assert_reply(f, "assert true 0", "cols= rows= st=EINVAL@0 end=aborted");
	assert_reply(f, "assert true 1.5", "cols= rows= st=EINVAL@0 end=aborted");
	assert_reply(f, "assert 1 EPERM", "cols= rows= st=EINVAL@0 end=aborted");
	/* Under a status variable a failed check drops its row: the rest of
	 * the block does not run for it. */
	fx_run(f, "set " A " m[1] 1 ; set " A " m[2] 2");
	assert_reply(f, "get " A " m[%k] %v ; assert eq(%v, 2) EPERM !%e ; set " B " k %k ; "
			"return %k %e",
		     "cols=k,e rows=[2|1u] st=EPERM@1 end=errors");
	assert_reply(f, "get " A " x %x", "cols=x rows=[1] end=ok");
}

static void
test_guard_skips_the_command_and_keeps_the_row(void **state)
{
	struct fx *f = *state;

	fx_run(f, "set " A " m[1] 1 ; set " A " m[2] 2 ; set " A " m[3] 3");
	assert_reply(f, "get " A " m[%k] %v ; set " B " last %k when ge(%v, 2) ; "
			"let %w mul(%v, 10) when ne(%v, 2) ; return %k %w",
		     "cols=k,w rows=[1|10][2|nil][3|30] end=ok");
	assert_reply(f, "get " B " last %l", "cols=l rows=[3] end=ok");
	/* Conditional creation: create only when absent. */
	assert_reply(f, "let %x val(" A ", child) ; create %n T when eq(%x, nil) ; "
			"set " A " child %n when eq(%x, nil) ; let %c if(eq(%x, nil), %n, %x) ; "
			"return %c",
		     "cols=c rows=[@0.1.0.1.1] end=ok");
	assert_reply(f, "let %x val(" A ", child) ; create %n T when eq(%x, nil) ; "
			"set " A " child %n when eq(%x, nil) ; let %c if(eq(%x, nil), %n, %x) ; "
			"return %c",
		     "cols=c rows=[@0.1.0.1.1] end=ok");
	/* A guard that is not a bool is the command's failure. */
	assert_reply(f, "set " A " z 1 when 1", "cols= rows= st=EINVAL@0 end=aborted");
	assert_reply(f, "set " A " z 1 when 1 !%e ; return %e", "cols=e rows=[1u] st=EINVAL@0 end=errors");
	/* del E when ... deletes the entity only when it holds. */
	assert_reply(f, "del " C " when false ; get " C " type %t", "cols=t rows= st=ENOENT@1 end=aborted");
	assert_reply(f, "set " C " y 1 ; del " C " when eq(val(" C ", y), 1) ; return",
		     "cols= rows= end=ok");
	assert_false(scpp_store_entity_exists(f->store, scpp_oid_make(0, 1, 0, 1, 0xc)));
}

/* A guarded get is not a plain get: the evaluator's fast path (leading
 * keyed gets, lib/eval "fast path") must leave it, and everything after it,
 * to the general path, which honours the guard. */
static void
test_guarded_get_is_not_taken_by_the_fast_path(void **state)
{
	struct fx *f = *state;
	struct scpp_eval_stats before, after;

	fx_run(f, "set " A " x 7 ; set " B " x 8");
	scpp_eval_ctx_stats(f->ctx, &before);
	assert_reply(f, "get " A " x %v when eq(1, 2) ; get " B " x %w ; return %v %w",
		     "cols=v,w rows=[nil|8] end=ok");
	scpp_eval_ctx_stats(f->ctx, &after);
	assert_int_equal(after.fast_cmds, before.fast_cmds);
	/* The same gets unguarded: the fast path runs both (the counter moves). */
	assert_reply(f, "get " A " x %v ; get " B " x %w ; return %v %w",
		     "cols=v,w rows=[7|8] end=ok");
	scpp_eval_ctx_stats(f->ctx, &before);
	assert_int_equal(before.fast_cmds, after.fast_cmds + 2);
	/* A plain get before a guarded one: the fast path stops at the guard. */
	assert_reply(f, "get " B " x %w ; get " A " x %v when eq(%w, 9) ; return %v %w",
		     "cols=v,w rows=[nil|8] end=ok");
	scpp_eval_ctx_stats(f->ctx, &after);
	assert_int_equal(after.fast_cmds, before.fast_cmds + 1);
}

static void
test_status_variable_cannot_be_an_operand(void **state)
{
	struct fx *f = *state;

	assert_reply(f, "set @0.1.0.1.99 x 1 !%e ; let %n add(%e, 1)",
		     "cols=e,n rows= st=EINVAL@0 end=aborted");
	assert_reply(f, "set @0.1.0.1.99 x 1 !%e ; set " A " x 1 when eq(%e, 1u)",
		     "cols=e rows= st=EINVAL@0 end=aborted");
}

/* The bytes of (A, @p attr) as text (x"..."), or "-" when absent. */
static const char *
bytes_of(struct fx *f, const char *attr)
{
	static char buf[512];
	char text[128];

	snprintf(text, sizeof(text), "get " A " %s %%v", attr);
	snprintf(buf, sizeof(buf), "%s", fx_run(f, text));
	return buf;
}

static void
test_write_creates_extends_and_overwrites(void **state)
{
	struct fx *f = *state;

	/* Created, with zeros before the offset. */
	assert_reply(f, "write offset(value(" A ", d), 2u) x\"aabb\"", "cols= rows= end=ok");
	assert_string_equal(bytes_of(f, "d"), "cols=v rows=[x\"0000aabb\"] end=ok");
	/* Inside: the length stays. */
	assert_reply(f, "write offset(value(" A ", d), 1u) x\"11\"", "cols= rows= end=ok");
	assert_string_equal(bytes_of(f, "d"), "cols=v rows=[x\"0011aabb\"] end=ok");
	/* Across the end, and past it with a gap of zeros. */
	assert_reply(f, "write offset(value(" A ", d), 3u) x\"ccdd\"", "cols= rows= end=ok");
	assert_string_equal(bytes_of(f, "d"), "cols=v rows=[x\"0011aaccdd\"] end=ok");
	assert_reply(f, "write offset(value(" A ", d), 7u) x\"ee\"", "cols= rows= end=ok");
	assert_string_equal(bytes_of(f, "d"), "cols=v rows=[x\"0011aaccdd0000ee\"] end=ok");
	/* An abort takes all of it back: bytes and length. */
	assert_reply(f, "write offset(value(" A ", d), 1u) x\"ffffffffffffffffffff\" ; "
			"write value(" A ", e) x\"01\" ; assert false EIO",
		     "cols= rows= st=EIO@2 end=aborted");
	assert_string_equal(bytes_of(f, "d"), "cols=v rows=[x\"0011aaccdd0000ee\"] end=ok");
	assert_string_equal(bytes_of(f, "e"), "cols=v rows= st=ENOENT@0 end=aborted");
	/* Strings stay UTF-8; the data must be a byte string. */
	fx_run(f, "set " A " s \"héllo\"");
	assert_reply(f, "write offset(value(" A ", s), 2u) x\"41\"",
		     "cols= rows= st=EILSEQ@0 end=aborted");
	assert_string_equal(bytes_of(f, "s"), "cols=v rows=[\"héllo\"] end=ok");
	assert_reply(f, "write offset(value(" A ", s), 5u) \"!!\"", "cols= rows= end=ok");
	assert_string_equal(bytes_of(f, "s"), "cols=v rows=[\"héll!!\"] end=ok");
	assert_reply(f, "write value(" A ", d) 5", "cols= rows= st=EINVAL@0 end=aborted");
	assert_reply(f, "set " A " n 1 ; write value(" A ", n) x\"00\"",
		     "cols= rows= st=EMEDIUMTYPE@1 end=aborted");
	assert_reply(f, "write value(@0.1.0.1.99, d) x\"00\"", "cols= rows= st=ENOENT@0 end=aborted");
}

static void
test_resize_cuts_extends_and_undoes(void **state)
{
	struct fx *f = *state;

	assert_reply(f, "resize " A " d 3u", "cols= rows= end=ok");
	assert_string_equal(bytes_of(f, "d"), "cols=v rows=[x\"000000\"] end=ok");
	fx_run(f, "write value(" A ", d) x\"0102030405060708\"");
	assert_reply(f, "resize " A " d 2u", "cols= rows= end=ok");
	assert_string_equal(bytes_of(f, "d"), "cols=v rows=[x\"0102\"] end=ok");
	assert_reply(f, "resize " A " d 4u", "cols= rows= end=ok");
	assert_string_equal(bytes_of(f, "d"), "cols=v rows=[x\"01020000\"] end=ok");
	/* A shrink then a growth in an aborted block: exactly as before. */
	fx_run(f, "write value(" A ", d) x\"0102030405060708090a\"");
	assert_reply(f, "resize " A " d 1u ; resize " A " d 100u ; assert false EIO",
		     "cols= rows= st=EIO@2 end=aborted");
	assert_string_equal(bytes_of(f, "d"), "cols=v rows=[x\"0102030405060708090a\"] end=ok");
	/* A collected failure undoes only that row's change. */
	assert_reply(f, "resize " A " d 1u ; resize " A " s 1u when true !%e ; return",
		     "cols= rows= end=ok");
	fx_run(f, "set " A " s \"é\"");
	assert_reply(f, "resize " A " s 1u !%e ; return %e", "cols=e rows=[1u] st=EILSEQ@0 end=errors");
	assert_string_equal(bytes_of(f, "s"), "cols=v rows=[\"é\"] end=ok");
	assert_reply(f, "resize " A " d -1", "cols= rows= st=EINVAL@0 end=aborted");
	assert_reply(f, "resize " A " m[1] 1u", "cols= rows= st=EINVAL@0 end=aborted");
}

static void
test_write_and_resize_follow_the_schema(void **state)
{
	struct fx *f = *state;

	fx_run(f, "create %f File ; set %f ino 1u ; set %f dev 1u ; set %f mode 33188u ; "
		  "set %f uid 0u ; set %f gid 0u ; return");
	/* data is bytes in File; name is not an attribute of File. */
	assert_reply(f, "get %f ino 1u ; write offset(value(%f, data), 1u) x\"ff\" ; "
			"get %f data %d ; return %d",
		     "cols=d rows=[x\"00ff\"] end=ok");
	assert_reply(f, "get %f ino 1u ; write value(%f, name) x\"00\"",
		     "cols=f rows= st=EINVAL@1 end=aborted");
	assert_reply(f, "get %f ino 1u ; resize %f mode 3u", "cols=f rows= st=EMEDIUMTYPE@1 end=aborted");
	/* Schema entities change through set, del and create only. */
	assert_reply(f, "get %t name \"File\" ; write value(%t, doc) \"x\"",
		     "cols=t rows= st=EINVAL@1 end=aborted");
}

static void
test_expressions_are_charged_steps(void **state)
{
	struct fx *f;
	struct scpp_eval_limits lim = {.max_steps = 40};
	(void)state;

	f = fx_new(false, &lim);
	mk(f, A);
	/* A step per operator and per row: 6 per let here, so six fit in 40
	 * steps and the seventh (command 6) is over. */
	assert_reply(f, "let %a add(add(add(add(add(1, 1), 1), 1), 1), 1) ; "
			"let %b add(add(add(add(add(1, 1), 1), 1), 1), 1) ; return",
		     "cols= rows= end=ok");
	assert_true(f->res.steps <= 40);
	{
		char t[4096] = "";
		size_t n = 0;

		for (int i = 0; i < 9; i++)
			n += (size_t)snprintf(t + n, sizeof(t) - n,
					      "let %%v%d add(add(add(add(add(1, 1), 1), 1), 1), 1)\n", i);
		assert_string_equal(fx_run(f, t), "cols=v0,v1,v2,v3,v4,v5,v6,v7,v8 rows= st=ETIME@6 end=aborted");
	}
	fx_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_expr_integer_arithmetic_is_exact_and_checked,
						setup_free, teardown),
		cmocka_unit_test_setup_teardown(test_expr_bits_and_shifts, setup_free, teardown),
		cmocka_unit_test_setup_teardown(test_expr_comparisons_order_integers_by_value,
						setup_free, teardown),
		cmocka_unit_test_setup_teardown(test_expr_logic_is_lazy, setup_free, teardown),
		cmocka_unit_test_setup_teardown(test_expr_len_hash_and_now, setup_free, teardown),
		cmocka_unit_test_setup_teardown(test_expr_store_reads_are_optional_and_copied,
						setup_free, teardown),
		cmocka_unit_test_setup_teardown(test_expr_read_cuts_at_the_end, setup_free, teardown),
		cmocka_unit_test_setup_teardown(test_expr_reach_walks_a_chain, setup_free, teardown),
		cmocka_unit_test_setup_teardown(test_expr_find_by_scan_and_by_index, setup_free,
						teardown),
		cmocka_unit_test_setup_teardown(test_expr_find_uses_the_value_index, setup_schema,
						teardown),
		cmocka_unit_test_setup_teardown(test_let_binds_or_matches, setup_free, teardown),
		cmocka_unit_test_setup_teardown(test_where_filters_rows, setup_free, teardown),
		cmocka_unit_test_setup_teardown(test_assert_fails_with_the_named_errno, setup_free,
						teardown),
		cmocka_unit_test_setup_teardown(test_guard_skips_the_command_and_keeps_the_row,
						setup_free, teardown),
		cmocka_unit_test_setup_teardown(test_guarded_get_is_not_taken_by_the_fast_path,
						setup_free, teardown),
		cmocka_unit_test_setup_teardown(test_status_variable_cannot_be_an_operand,
						setup_free, teardown),
		cmocka_unit_test_setup_teardown(test_write_creates_extends_and_overwrites, setup_free,
						teardown),
		cmocka_unit_test_setup_teardown(test_resize_cuts_extends_and_undoes, setup_free,
						teardown),
		cmocka_unit_test_setup_teardown(test_write_and_resize_follow_the_schema, setup_schema,
						teardown),
		cmocka_unit_test(test_expressions_are_charged_steps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
