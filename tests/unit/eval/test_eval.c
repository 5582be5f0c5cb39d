/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Evaluator behaviour, written as blocks in the text form. Each test states
 * one rule of docs/PROTOCOL.md "Block semantics" and asserts the reply and
 * the store afterwards.
 */
#include <errno.h>
#include <string.h>

#include "scpp_test.h"
#include "eval_fixture.h"

#define A "@0.1.0.1.a"
#define B "@0.1.0.1.b"
#define C "@0.1.0.1.c"

static void
mk(struct fx *f, const char *text)
{
	struct scpp_oid o;

	assert_int_equal(scpp_oid_parse(text, strlen(text), &o), 0);
	assert_int_equal(scpp_store_entity_create(f->store, o), 0);
}

static struct scpp_oid
oid(const char *text)
{
	struct scpp_oid o;

	assert_int_equal(scpp_oid_parse(text, strlen(text), &o), 0);
	return o;
}

#define assert_reply(f, text, want) assert_string_equal(fx_run((f), (text)), (want))

static int
setup_free(void **state)
{
	struct fx *f = fx_new(false, NULL);

	mk(f, A);
	mk(f, B);
	mk(f, C);
	*state = f;
	return 0;
}

static int
setup_schema(void **state)
{
	*state = fx_new(true, NULL);
	return 0;
}

static int
teardown(void **state)
{
	fx_free(*state);
	return 0;
}

static void
test_eval_seed_copy_one_attribute(void **state)
{
	struct fx *f = *state;

	assert_reply(f, "set " A " name \"x\"", "cols= rows= end=ok");
	assert_reply(f, "get " A " name %1 ; set " B " name %1", "cols=1 rows=[\"x\"] end=ok");
	assert_reply(f, "get " B " name %v", "cols=v rows=[\"x\"] end=ok");
}

static void
test_eval_seed_copy_every_attribute(void **state)
{
	struct fx *f = *state;

	fx_run(f, "set " A " name \"a\"; set " A " size 5; set " A " data x\"00ff\"");
	assert_reply(f, "get " A " %1 %2 ; set " B " %1 %2 ; return",
		     "cols= rows= end=ok");
	assert_int_equal(f->res.rows, 3);
	assert_reply(f, "get " B " %a %v",
		     "cols=a,v rows=[\"name\"|\"a\"][\"size\"|5][\"data\"|x\"00ff\"] end=ok");
}

static void
test_eval_constant_match_filters_rows(void **state)
{
	struct fx *f = *state;

	fx_run(f, "set " A " color \"red\"; set " B " color \"blue\"; set " C " color \"red\"");
	/* Unbound entity: scan the shard; the constant value filters. */
	assert_reply(f, "get %e color \"red\"", "cols=e rows=[" A "][" C "] end=ok");
	/* Bound value that differs: no row and no error. */
	assert_reply(f, "get " B " color \"red\"", "cols= rows= end=ok");
	assert_int_equal(f->res.rows, 0);
	assert_reply(f, "get " B " color \"blue\"", "cols= rows= end=ok");
	assert_int_equal(f->res.rows, 1);
}

static void
test_eval_join_binds_each_position(void **state)
{
	struct fx *f = *state;

	fx_run(f, "set " A " next " B "; set " B " next " C "; set " C " label \"end\"");
	/* entity bound, attr bound, value unbound */
	assert_reply(f, "get " A " next %n", "cols=n rows=[" B "] end=ok");
	/* two-hop join through a variable */
	assert_reply(f, "get " A " next %x ; get %x next %y ; get %y label %l",
		     "cols=x,y,l rows=[" B "|" C "|\"end\"] end=ok");
	/* entity unbound, value bound: reverse lookup */
	assert_reply(f, "get %p next " C, "cols=p rows=[" B "] end=ok");
	/* attribute unbound, value bound */
	assert_reply(f, "get " C " %a \"end\"", "cols=a rows=[\"label\"] end=ok");
	/* everything unbound except the attribute */
	assert_reply(f, "get %e next %v", "cols=e,v rows=[" A "|" B "][" B "|" C "] end=ok");
	/* the same variable twice must agree */
	fx_run(f, "set " C " self " C);
	assert_reply(f, "get %x self %x", "cols=x rows=[" C "] end=ok");
}

static void
test_eval_map_entries_by_key_and_enumeration(void **state)
{
	struct fx *f = *state;

	assert_reply(f, "set " A " kids[\"b\"] " B "; set " A " kids[\"c\"] " C,
		     "cols= rows= end=ok");
	assert_reply(f, "get " A " kids[\"c\"] %k", "cols=k rows=[" C "] end=ok");
	assert_reply(f, "get " A " kids[%n] %k",
		     "cols=n,k rows=[\"b\"|" B "][\"c\"|" C "] end=ok");
	assert_reply(f, "get " A " %m[%n] " B, "cols=m,n rows=[\"kids\"|\"b\"] end=ok");
	assert_reply(f, "del " A " kids[\"b\"] ; get " A " kids[%n] %k",
		     "cols=n,k rows=[\"c\"|" C "] end=ok");
	/* A plain get of a map attribute is a type error. */
	assert_reply(f, "get " A " kids %v", "cols=v rows= st=EMEDIUMTYPE@0 end=aborted");
}

static void
test_eval_missing_attribute_aborts_without_status(void **state)
{
	struct fx *f = *state;

	fx_run(f, "set " A " x 1");
	assert_reply(f, "set " A " x 2 ; get " A " nope %v", "cols=v rows= st=ENOENT@1 end=aborted");
	assert_string_equal(fx_message(f), A " has no attribute \"nope\"");
	/* Everything the block did is undone. */
	assert_reply(f, "get " A " x %v", "cols=v rows=[1] end=ok");
}

static void
test_eval_status_variable_collects_errors_as_union(void **state)
{
	struct fx *f = *state;

	fx_run(f, "set " A " x 1");
	assert_reply(f, "set @0.1.0.1.99 y 1 !%e ; del " A " nope !%e ; set " C " ok true ; return %e",
		     "cols=e rows=[2u] st=ENOENT@0 st=ENOENT@1 end=errors");
	/* The block went on: the set after the failures applied. */
	assert_reply(f, "get " C " ok %v", "cols=v rows=[true] end=ok");
	/* A failed get drops its row: what it should have bound stays unknown. */
	assert_reply(f, "get " A " nope %v !%e ; set " C " ok false",
		     "cols=v,e rows= st=ENOENT@0 end=errors");
	assert_reply(f, "get " C " ok %v", "cols=v rows=[true] end=ok");
	/* A returned status variable holds how many statuses it collected,
	 * the same in every row. */
	assert_reply(f, "set @0.1.0.1.99 y 1 !%s ; set @0.1.0.1.98 y 1 !%s ; get " A " x %v ; "
		     "return %v %s",
		     "cols=v,s rows=[1|2u] st=ENOENT@0 st=ENOENT@1 end=errors");
}

static void
test_eval_status_variable_may_not_be_a_term(void **state)
{
	struct fx *f = *state;

	assert_reply(f, "get " A " x %e !%e", "cols=e rows= st=EINVAL@0 end=aborted");
}

static void
test_eval_set_requires_bound_positions(void **state)
{
	struct fx *f = *state;

	assert_reply(f, "set " A " y %v", "cols=v rows= st=EINVAL@0 end=aborted");
	assert_reply(f, "set %e y 1", "cols=e rows= st=EINVAL@0 end=aborted");
	assert_reply(f, "set \"notanoid\" y 1", "cols= rows= st=EINVAL@0 end=aborted");
	assert_reply(f, "set @0.1.0.1.99 y 1", "cols= rows= st=ENOENT@0 end=aborted");
}

static void
test_eval_delete_attribute_and_entity(void **state)
{
	struct fx *f = *state;

	fx_run(f, "set " B " a 1; set " B " b 2; set " B " m[1] 2");
	assert_reply(f, "del " B " a ; get " B " %x %y", "cols=x,y rows=[\"b\"|2] end=ok");
	assert_reply(f, "del " B, "cols= rows= end=ok");
	assert_false(scpp_store_entity_exists(f->store, oid(B)));
	assert_reply(f, "get " B " b %v", "cols=v rows= st=ENOENT@0 end=aborted");
	assert_string_equal(fx_message(f), "no entity " B);
}

static void
test_eval_aborted_entity_delete_is_fully_restored(void **state)
{
	struct fx *f = *state;
	struct scpp_store_stats before, after;

	fx_run(f, "set " B " a \"a long string that lives in an extent\"; set " B " m[\"k\"] 7");
	scpp_store_stats_get(f->store, &before);
	assert_reply(f, "del " B " ; get " A " nope %v", "cols=v rows= st=ENOENT@1 end=aborted");
	scpp_store_stats_get(f->store, &after);
	assert_int_equal(before.triples, after.triples);
	assert_int_equal(before.map_entries, after.map_entries);
	assert_int_equal(before.extent_payload, after.extent_payload);
	assert_reply(f, "get " B " a %v ; get " B " m[\"k\"] %w",
		     "cols=v,w rows=[\"a long string that lives in an extent\"|7] end=ok");
}

static void
test_eval_create_binds_new_entity(void **state)
{
	struct fx *f = *state;

	assert_reply(f, "create %x Thing ; set %x name \"n\" ; get %x type %t ; return %t",
		     "cols=t rows=[\"Thing\"] end=ok");
	assert_reply(f, "get %x type \"Thing\" ; get %x name %n ; return %n",
		     "cols=n rows=[\"n\"] end=ok");
	/* create's variable must be unbound */
	assert_reply(f, "create %y T ; create %y T", "cols=y rows= st=EEXIST@1 end=aborted");
}

static void
test_eval_alloc_and_copy_byte_ranges(void **state)
{
	struct fx *f = *state;

	assert_reply(f, "alloc " A " buf 8", "cols= rows= end=ok");
	assert_reply(f, "get " A " buf %v", "cols=v rows=[x\"0000000000000000\"] end=ok");
	/* alloc of an existing value fails */
	assert_reply(f, "alloc " A " buf 4", "cols= rows= st=EEXIST@0 end=aborted");
	fx_run(f, "set " B " src x\"0102030405\"");
	assert_reply(f, "copy offset(value(" A ", buf), 2) offset(value(" B ", src), 1) 3",
		     "cols= rows= end=ok");
	assert_reply(f, "get " A " buf %v", "cols=v rows=[x\"0000020304000000\"] end=ok");
	/* copying to an unbound destination creates it (seed §4.4) */
	assert_reply(f, "copy value(" C ", dst) value(" B ", src) 5 ; get " C " dst %v",
		     "cols=v rows=[x\"0102030405\"] end=ok");
	/* ranges are checked on both sides */
	assert_reply(f, "copy value(" A ", buf) offset(value(" B ", src), 3) 3",
		     "cols= rows= st=ERANGE@0 end=aborted");
	assert_reply(f, "copy offset(value(" A ", buf), 6) value(" B ", src) 3",
		     "cols= rows= st=ERANGE@0 end=aborted");
	/* byte ranges only */
	fx_run(f, "set " B " n 5");
	assert_reply(f, "copy value(" A ", buf) value(" B ", n) 1",
		     "cols= rows= st=EMEDIUMTYPE@0 end=aborted");
}

static void
test_eval_row_limit_stops_cross_product(void **state)
{
	struct scpp_eval_limits lim = {.max_rows = 1000};
	struct fx *f = fx_new(false, &lim);
	char text[256];

	(void)state;
	mk(f, A);
	for (int i = 0; i < 40; i++) {
		snprintf(text, sizeof(text), "set " A " a%d %d", i, i);
		assert_string_equal(fx_run(f, text), "cols= rows= end=ok");
	}
	/* 40 x 40 = 1600 rows > 1000: stopped, and the set never happens. */
	assert_reply(f, "get " A " %a %v ; get " A " %b %w ; set " A " done true ; return",
		     "cols= rows= st=E2BIG@1 end=aborted");
	assert_reply(f, "get " A " done %v", "cols=v rows= st=ENOENT@0 end=aborted");
	fx_free(f);
}

static void
test_eval_step_limit_stops_scans(void **state)
{
	struct scpp_eval_limits lim = {.max_steps = 50};
	struct fx *f = fx_new(false, &lim);
	char text[256];

	(void)state;
	mk(f, A);
	for (int i = 0; i < 60; i++) {
		snprintf(text, sizeof(text), "set " A " a%d %d", i, i);
		fx_run(f, text);
	}
	assert_reply(f, "get " A " %a %v ; return", "cols= rows= st=ETIME@0 end=aborted");
	fx_free(f);
}

static void
test_eval_byte_limit_stops_large_copies(void **state)
{
	struct scpp_eval_limits lim = {.max_bytes = 4096};
	struct fx *f = fx_new(false, &lim);

	(void)state;
	mk(f, A);
	assert_reply(f, "alloc " A " big 3000", "cols= rows= end=ok");
	/* 3000 bytes bounced + 3000 saved for undo > 4096 */
	assert_reply(f, "alloc " A " big2 3000 ; copy value(" A ", big2) value(" A ", big) 3000",
		     "cols= rows= st=EFBIG@1 end=aborted");
	assert_reply(f, "get " A " big2 %v", "cols=v rows= st=ENOENT@0 end=aborted");
	fx_free(f);
}

static void
test_eval_result_limit_aborts_and_undoes(void **state)
{
	struct scpp_eval_limits lim = {.max_result = 1024};
	struct fx *f = fx_new(false, &lim);
	char text[256];

	(void)state;
	mk(f, A);
	for (int i = 0; i < 100; i++) {
		snprintf(text, sizeof(text), "set " A " attribute_number_%d %d", i, i);
		fx_run(f, text);
	}
	assert_reply(f, "set " A " touched 1 ; get " A " %a %v",
		     "cols=a,v rows= st=EMSGSIZE@2 end=aborted");
	assert_reply(f, "get " A " touched %v", "cols=v rows= st=ENOENT@0 end=aborted");
	fx_free(f);
}

/* ---- with the shipped schema ---- */

#define MKDIR(var) \
	"create " var " Directory ; set " var " ino 2u ; set " var " dev 1u ; " \
	"set " var " mode 16877u ; set " var " uid 0u ; set " var " gid 0u ; "

static void
test_eval_path_resolution_in_one_block(void **state)
{
	struct fx *f = *state;
	const char *build =
		MKDIR("%r") MKDIR("%a") MKDIR("%b") MKDIR("%c") MKDIR("%d")
		"set %r entries[\"a\"] %a ; set %a entries[\"b\"] %b ; "
		"set %b entries[\"c\"] %c ; set %c entries[\"d\"] %d ; "
		"set %d name \"leaf\" !%ignored ; return %r %d";
	struct scpp_wire_reply_reader rd;
	static struct scpp_wire_record rec;
	char root[64], leaf[64], walk[512], want[160];

	fx_run(f, build);
	assert_int_equal(f->res.outcome, SCPP_OUTCOME_ERRORS); /* Directory has no name */
	scpp_wire_reply_reader_init(&rd, f->reply, f->reply_len);
	assert_int_equal(scpp_wire_reply_next(&rd, &rec), 1);
	assert_int_equal(scpp_wire_reply_next(&rd, &rec), 1);
	assert_int_equal(rec.type, SCPP_REC_ROW);
	scpp_value_format(root, sizeof(root), &rec.row.v[0]);
	scpp_value_format(leaf, sizeof(leaf), &rec.row.v[1]);

	snprintf(walk, sizeof(walk),
		 "get %s entries[\"a\"] %%1 ; get %%1 entries[\"b\"] %%2 ; "
		 "get %%2 entries[\"c\"] %%3 ; get %%3 entries[\"d\"] %%4 ; return %%4", root);
	snprintf(want, sizeof(want), "cols=4 rows=[%s] end=ok", leaf);
	assert_reply(f, walk, want);
	assert_int_equal(f->res.commands, 4);
	/* A missing component is ENOENT at that command (the second), and
	 * the message names the key. */
	snprintf(walk, sizeof(walk),
		 "get %s entries[\"a\"] %%1 ; get %%1 entries[\"x\"] %%2 ; return %%2",
		 root);
	assert_string_equal(fx_run(f, walk), "cols=2 rows= st=ENOENT@1 end=aborted");
	assert_non_null(strstr(fx_message(f), "has no key \"x\""));
}

static void
test_eval_object_missing_required_attribute_creates_nothing(void **state)
{
	struct fx *f = *state;
	struct scpp_store_stats before, after;

	scpp_store_stats_get(f->store, &before);
	assert_reply(f, "create %d Directory ; set %d ino 2u ; set %d dev 1u ; return",
		     "cols= rows= st=EINVAL@3 end=aborted");
	assert_non_null(strstr(fx_message(f), "mode"));
	scpp_store_stats_get(f->store, &after);
	assert_int_equal(before.entities, after.entities);
	assert_int_equal(before.triples, after.triples);
	/* Complete, it is created, with nlink filled from its default at the
	 * end of the block. */
	assert_reply(f, MKDIR("%d") "return", "cols= rows= end=ok");
	assert_reply(f, "get %d type %t ; get %t name \"Directory\" ; get %d nlink %n ; return %n",
		     "cols=n rows=[2u] end=ok");
}

static void
test_eval_schema_rejects_wrong_value_and_unknown_attribute(void **state)
{
	struct fx *f = *state;

	assert_reply(f, MKDIR("%d") "set %d ino \"two\" ; return",
		     "cols= rows= st=EINVAL@6 end=aborted");
	assert_reply(f, MKDIR("%d") "set %d colour \"red\" ; return",
		     "cols= rows= st=EINVAL@6 end=aborted");
	assert_reply(f, "create %d NoSuchType", "cols=d rows= st=ENOENT@0 end=aborted");
}

static void
test_eval_schema_is_queryable_as_data(void **state)
{
	struct fx *f = *state;
	const char *s = fx_run(f, "get %t name \"Directory\" ; get %t type %mt ; "
				  "get %mt name %mtname ; return %mtname");

	assert_string_equal(s, "cols=mtname rows=[\"Type\"] end=ok");
}

static void
test_eval_integer_literals_adapt_to_declared_type(void **state)
{
	struct fx *f = *state;

	/* `ino 2` is an i64 literal; ino is u64: stored as 2u. */
	assert_reply(f, "create %d Directory ; set %d ino 2 ; set %d dev 1 ; set %d mode 16877 ; "
			"set %d uid 0 ; set %d gid 0 ; get %d ino %i ; return %i",
		     "cols=i rows=[2u] end=ok");
	/* A negative number is never reinterpreted. */
	assert_reply(f, MKDIR("%d") "set %d size -1 ; return",
		     "cols= rows= st=EINVAL@6 end=aborted");
}

static void
test_eval_schema_change_through_set_is_validated(void **state)
{
	struct fx *f = *state;
	struct scpp_schema *old;

	/* One Directory instance without `size`. */
	assert_reply(f, MKDIR("%d") "return", "cols= rows= end=ok");
	/* Making Directory.size required is incompatible with it. */
	assert_reply(f, "get %t name \"Directory\" ; get %t attributes[\"size\"] %a ; "
			"set %a required true ; return",
		     "cols= rows= st=EINVAL@3 end=aborted");
	assert_non_null(strstr(fx_message(f), "schema change rejected"));
	assert_null(f->res.new_schema);
	/* A compatible change (a doc string) yields a new schema to publish. */
	assert_reply(f, "get %t name \"Directory\" ; get %t attributes[\"size\"] %a ; "
			"set %a doc \"bytes\" ; return",
		     "cols= rows= end=ok");
	assert_non_null(f->res.new_schema);
	old = f->schema;
	f->schema = f->res.new_schema;
	f->env.schema = f->schema;
	scpp_schema_free(old);
	/* A value of the wrong type for the metaschema is refused at once. */
	assert_reply(f, "get %t name \"Directory\" ; get %t attributes[\"size\"] %a ; "
			"set %a required \"yes\" ; return",
		     "cols= rows= st=EINVAL@2 end=aborted");
}

/* ---- suspending and resuming (scpp_eval.h) ---- */

static uint16_t stop_before;
/* What the hook answers at stop_before (SUSPEND unless a hold test says). */
static enum scpp_eval_verdict stop_verdict = SCPP_EVAL_SUSPEND;
static bool stop_at_end; /* hooks.at_end */

static enum scpp_eval_verdict
stop_at(void *arg, const struct scpp_wire_block *b, uint16_t cmd, size_t nrows)
{
	(void)b;
	(void)nrows;
	(*(unsigned int *)arg)++;
	return cmd == stop_before ? stop_verdict : SCPP_EVAL_GO;
}

/* Run @p text with a stop before command @p at; 1 if it stopped. The block
 * stays in f->blk (its memory in f->arena) for the resumption. */
static int
run_until(struct fx *f, const char *text, uint16_t at, struct scpp_eval_susp *s,
	  unsigned int *asked)
{
	struct scpp_eval_hooks h = {.before_cmd = stop_at, .arg = asked, .at_end = stop_at_end};
	struct scpp_lang_error err;
	struct scpp_wire_reply_writer w;
	int rc;

	assert_int_equal(scpp_lang_parse(text, strlen(text), &f->blk, f->arena, sizeof(f->arena),
					 &err), 0);
	stop_before = at;
	scpp_wire_reply_writer_init(&w, f->reply, sizeof(f->reply));
	rc = scpp_eval_block_ex(f->ctx, &f->env, &f->blk, 7, &w, &f->res, &h, s);
	if (rc == 1)
		assert_int_equal(w.len, 0); /* nothing written yet */
	else
		fx_summarize(f, w.len);
	return rc;
}

static const char *
resume_from(struct fx *f, struct scpp_eval_susp *s, uint16_t from)
{
	struct scpp_wire_reply_writer w;

	scpp_wire_reply_writer_init(&w, f->reply, sizeof(f->reply));
	assert_int_equal(scpp_eval_resume(f->ctx, &f->env, &f->blk, 7, &w, &f->res, NULL, s, from),
			 0);
	return fx_summarize(f, w.len);
}

/*
 * A block stopped between two commands and resumed after other blocks ran
 * gives the reply the uninterrupted block gives; the rows it carried keep
 * their values though the store changed meanwhile; the part before the
 * stop is committed.
 */
static void
test_eval_suspended_block_resumes_with_its_rows(void **state)
{
	struct fx *f = *state, *g = fx_new(false, NULL);
	struct scpp_eval_susp *s = scpp_eval_susp_create(1 << 16, -1, false);
	static const char text[] = "set " A " name \"x\" ; get %e name %n ; set %e seen true ; "
				   "get " A " name %m ; return %e %n %m";
	static const char in_between[] = "set " A " name \"yyyyyyyyyyyyyyyy\"";
	unsigned int asked = 0;
	struct scpp_lang_error err;
	char want[512];

	assert_non_null(s);
	mk(g, A);
	mk(g, B);
	mk(g, C);
	fx_run(g, "set " B " name \"b\"");
	fx_run(f, "set " B " name \"b\"");
	snprintf(want, sizeof(want), "%s", fx_run(g, text));
	assert_string_equal(want, "cols=e,n,m rows=[@0.1.0.1.a|\"x\"|\"x\"][@0.1.0.1.b|\"b\"|\"x\"] "
				  "end=ok");
	fx_run(g, in_between);
	assert_int_equal(run_until(f, text, 2, s, &asked), 1);
	assert_int_equal(asked, 3); /* before commands 0, 1 and 2 */
	assert_true(scpp_eval_susp_active(s));
	assert_int_equal(scpp_eval_susp_next_cmd(s), 2);
	assert_int_equal(scpp_eval_susp_nrows(s), 2);
	assert_int_equal(f->res.commands, 2); /* the set and the get, one input row each */
	/* Committed: another block sees the first part (and changes it). */
	assert_reply(f, "get " A " name %v", "cols=v rows=[\"x\"] end=ok");
	fx_run(f, in_between);
	/* The block's memory is the caller's: parse it again where it was. */
	assert_int_equal(scpp_lang_parse(text, strlen(text), &f->blk, f->arena, sizeof(f->arena),
					 &err), 0);
	assert_string_equal(resume_from(f, s, 2),
			    "cols=e,n,m rows=[@0.1.0.1.a|\"x\"|\"yyyyyyyyyyyyyyyy\"]"
			    "[@0.1.0.1.b|\"b\"|\"yyyyyyyyyyyyyyyy\"] end=ok");
	assert_false(scpp_eval_susp_active(s));
	assert_int_equal(f->res.rows, 2);
	assert_reply(f, "get %e seen %v ; return %e", "cols=e rows=[@0.1.0.1.a][@0.1.0.1.b] end=ok");
	/* Inactive now: nothing to resume. */
	assert_int_equal(scpp_eval_resume(f->ctx, &f->env, &f->blk, 7, NULL, NULL, NULL, s, 2),
			 -EINVAL);
	scpp_eval_susp_free(s);
	fx_free(g);
}

/*
 * Across a stop the block is not atomic: a failure after it undoes only
 * what ran after it; statuses collected before it are reported at the end;
 * a stop skipping commands; a state too large for the suspension aborts
 * the block whole (E_LIMIT_PENDING, canonical EBUSY), before anything is
 * committed.
 */
static void
test_eval_suspension_parts_and_limits(void **state)
{
	struct fx *f = *state;
	struct scpp_eval_susp *s = scpp_eval_susp_create(1 << 12, -1, false);
	struct scpp_eval_susp *tiny = scpp_eval_susp_create(8, -1, false);
	unsigned int asked = 0;

	assert_non_null(s);
	assert_non_null(tiny);
	assert_null(scpp_eval_susp_create(0, -1, false));
	assert_int_equal(run_until(f, "set " A " p 1 ; del " B " nope !%e ; set " B " p 2 ; "
				   "get " C " missing %z ; return %e", 2, s, &asked), 1);
	assert_string_equal(resume_from(f, s, 2), "cols=e rows= st=ENOENT@3 end=aborted");
	assert_reply(f, "get %x p %v ; return %x %v", "cols=x,v rows=[@0.1.0.1.a|1] end=ok");
	/* The status of the first part survives the stop. */
	assert_int_equal(run_until(f, "del " B " nope !%e ; set " B " q 3 ; return %e", 1, s,
				   &asked), 1);
	assert_string_equal(resume_from(f, s, 1), "cols=e rows=[1u] st=ENOENT@0 end=errors");
	/* Resuming past a command skips it. */
	assert_int_equal(run_until(f, "set " C " r 1 ; set " C " r 2 ; get " C " r %v ; return %v",
				   1, s, &asked), 1);
	assert_int_equal(scpp_eval_resume(f->ctx, &f->env, &f->blk, 7, NULL, NULL, NULL, s, 0),
			 -EINVAL);
	assert_string_equal(resume_from(f, s, 2), "cols=v rows=[1] end=ok");
	/* Too large to hold: aborted, the first part undone. */
	assert_int_equal(run_until(f, "set " A " t 1 ; get " A " t %v ; return %v", 1, tiny,
				   &asked), 0);
	assert_string_equal(f->summary, "cols=v rows= st=EBUSY@1 end=aborted");
	assert_false(scpp_eval_susp_active(tiny));
	assert_reply(f, "get " A " t %v", "cols=v rows= st=ENOENT@0 end=aborted");
	scpp_eval_susp_free(s);
	scpp_eval_susp_free(tiny);
}

/* ---- holding (scpp_eval.h "Holding") ---- */

static int
setup_hold(void **state)
{
	struct fx *f = fx_new(false, NULL);

	mk(f, A);
	mk(f, B);
	mk(f, C);
	/* Interned names: a part with new names cannot be held. */
	assert_reply(f, "set " A " p 0 ; set " B " p 0 ; set " C " p 0 ; set " A " q \"old\" ; "
			"return", "cols= rows= end=ok");
	stop_verdict = SCPP_EVAL_HOLD;
	stop_at_end = false;
	*state = f;
	return 0;
}

static int
teardown_hold(void **state)
{
	stop_verdict = SCPP_EVAL_SUSPEND;
	stop_at_end = false;
	return teardown(state);
}

/* The shard's values of p and q, for byte comparison before and after. */
static const char *
snapshot(struct fx *f, char *buf, size_t size)
{
	snprintf(buf, size, "%s", fx_run(f, "get %e p %v ; get " A " q %w ; return %e %v %w"));
	return buf;
}

/*
 * A held block commits as a whole when resumed: the first part was not
 * committed at the stop (its undo log went to the suspension), other
 * blocks ran meanwhile, and a failure after the resumption undoes the
 * first part too; resume_abort undoes everything and answers the status.
 */
static void
test_eval_held_block_commits_or_aborts_as_a_whole(void **state)
{
	struct fx *f = *state;
	struct scpp_eval_susp *s = scpp_eval_susp_create(1 << 16, -1, false);
	struct scpp_wire_reply_writer w;
	struct scpp_lang_error err;
	static const char text[] = "set " A " p 1 ; set " A " q \"new\" ; set " B " p 2 ; "
				   "get %e p %v ; return %e %v";
	static const char failing[] = "set " A " p 1 ; set " A " q \"new\" ; get " C " nope %z ; "
				      "return";
	char before[1024], after[1024];
	unsigned int asked = 0;

	assert_non_null(s);
	snapshot(f, before, sizeof(before));
	/* Held before command 2, then resumed: all of it committed. */
	assert_int_equal(run_until(f, text, 2, s, &asked), 1);
	assert_true(scpp_eval_susp_held(s));
	assert_reply(f, "set " C " p 9", "cols= rows= end=ok"); /* another block meanwhile */
	assert_int_equal(scpp_lang_parse(text, strlen(text), &f->blk, f->arena, sizeof(f->arena),
					 &err), 0);
	assert_string_equal(resume_from(f, s, 2), "cols=e,v rows=[@0.1.0.1.a|1][@0.1.0.1.b|2]"
						  "[@0.1.0.1.c|9] end=ok");
	assert_false(scpp_eval_susp_held(s));
	assert_reply(f, "get " A " q %w", "cols=w rows=[\"new\"] end=ok");
	/* Back to the start, then a held block that fails after resuming:
	 * nothing of it stays, the part before the stop included. */
	assert_reply(f, "set " A " p 0 ; set " B " p 0 ; set " C " p 0 ; set " A " q \"old\"",
		     "cols= rows= end=ok");
	snapshot(f, before, sizeof(before));
	assert_int_equal(run_until(f, failing, 2, s, &asked), 1);
	assert_int_equal(scpp_lang_parse(failing, strlen(failing), &f->blk, f->arena,
					 sizeof(f->arena), &err), 0);
	assert_string_equal(resume_from(f, s, 2), "cols= rows= st=ENOENT@2 end=aborted");
	assert_string_equal(snapshot(f, after, sizeof(after)), before);
	/* resume_abort: undone whole, the caller's status in the reply. */
	assert_int_equal(run_until(f, text, 2, s, &asked), 1);
	assert_int_equal(scpp_lang_parse(text, strlen(text), &f->blk, f->arena, sizeof(f->arena),
					 &err), 0);
	scpp_wire_reply_writer_init(&w, f->reply, sizeof(f->reply));
	assert_int_equal(scpp_eval_resume_abort(f->ctx, &f->env, &f->blk, 7, &w, &f->res, s, 0,
						"x"), -EINVAL);
	assert_int_equal(scpp_eval_resume_abort(f->ctx, &f->env, &f->blk, 7, &w, &f->res, s,
						-EIO, "the device failed"), 0);
	assert_string_equal(fx_summarize(f, w.len), "cols=e,v rows= st=EIO@2 end=aborted");
	assert_string_equal(fx_message(f), "the device failed");
	assert_false(scpp_eval_susp_active(s));
	assert_string_equal(snapshot(f, after, sizeof(after)), before);
	scpp_eval_susp_free(s);
}

/*
 * The stop before the end (hooks.at_end) holds everything the block did;
 * resuming at ncmds commits it, aborting undoes it.
 */
static void
test_eval_hold_before_the_end(void **state)
{
	struct fx *f = *state;
	struct scpp_eval_susp *s = scpp_eval_susp_create(1 << 16, -1, false);
	struct scpp_wire_reply_writer w;
	static const char text[] = "set " A " p 5 ; set " B " p 6 ; return";
	char before[1024], after[1024];
	unsigned int asked = 0;

	stop_at_end = true;
	snapshot(f, before, sizeof(before));
	assert_int_equal(run_until(f, text, 2, s, &asked), 1);
	assert_int_equal(asked, 3); /* commands 0, 1 and the end */
	assert_int_equal(scpp_eval_susp_next_cmd(s), 2);
	scpp_wire_reply_writer_init(&w, f->reply, sizeof(f->reply));
	assert_int_equal(scpp_eval_resume_abort(f->ctx, &f->env, &f->blk, 7, &w, &f->res, s,
						-SCPP_E_SCHEMA, "rejected elsewhere"), 0);
	assert_string_equal(snapshot(f, after, sizeof(after)), before);
	assert_int_equal(run_until(f, text, 2, s, &asked), 1);
	assert_string_equal(resume_from(f, s, 2), "cols= rows= end=ok");
	assert_reply(f, "get %e p %v ; return %v", "cols=v rows=[5][6][0] end=ok");
	scpp_eval_susp_free(s);
}

/*
 * Isolation while held: another block writing an entity the held part
 * wrote gets EBUSY naming it (a status variable catches it); other
 * entities are free; reads see the uncommitted value; once the held block
 * ends (or its suspension is dropped) the entity is free again.
 */
static void
test_eval_held_entities_refuse_other_writers(void **state)
{
	struct fx *f = *state;
	struct scpp_eval_susp *s = scpp_eval_susp_create(1 << 16, -1, false);
	unsigned int asked = 0;

	assert_int_equal(run_until(f, "set " A " p 1 ; set " B " p 1 ; return", 1, s, &asked), 1);
	assert_reply(f, "set " A " p 2", "cols= rows= st=EBUSY@0 end=aborted");
	assert_non_null(strstr(fx_message(f), "@0.1.0.1.a"));
	assert_reply(f, "del " A " p", "cols= rows= st=EBUSY@0 end=aborted");
	assert_reply(f, "del " A, "cols= rows= st=EBUSY@0 end=aborted");
	assert_reply(f, "set " A " p 2 !%e ; return %e", "cols=e rows=[1u] st=EBUSY@0 end=errors");
	assert_reply(f, "alloc " A " buf 16", "cols= rows= st=EBUSY@0 end=aborted");
	assert_reply(f, "set " B " p 3 ; get " A " p %v ; return %v", "cols=v rows=[1] end=ok");
	/* Dropped (the worker gives up on it): its entities are released. */
	scpp_eval_susp_drop(f->ctx, s);
	assert_false(scpp_eval_susp_active(s));
	assert_reply(f, "set " A " p 2 ; get " A " p %v ; return %v", "cols=v rows=[2] end=ok");
	scpp_eval_susp_free(s);
}

/*
 * What cannot be held runs on as if the hook said GO: a part that deleted
 * an entity, or that wrote an attribute name the dictionary lacks.
 */
static void
test_eval_unholdable_part_runs_through(void **state)
{
	struct fx *f = *state;
	struct scpp_eval_susp *s = scpp_eval_susp_create(1 << 16, -1, false);
	unsigned int asked = 0;

	assert_int_equal(run_until(f, "del " C " ; set " A " p 3 ; return", 1, s, &asked), 0);
	assert_string_equal(f->summary, "cols= rows= end=ok");
	assert_false(scpp_eval_susp_active(s));
	assert_int_equal(run_until(f, "set " A " brand_new 1 ; set " A " p 4 ; return", 1, s,
				   &asked), 0);
	assert_string_equal(f->summary, "cols= rows= end=ok");
	assert_reply(f, "get " A " p %v ; return %v", "cols=v rows=[4] end=ok");
	scpp_eval_susp_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_eval_seed_copy_one_attribute, setup_free, teardown),
		cmocka_unit_test_setup_teardown(test_eval_seed_copy_every_attribute, setup_free, teardown),
		cmocka_unit_test_setup_teardown(test_eval_constant_match_filters_rows, setup_free, teardown),
		cmocka_unit_test_setup_teardown(test_eval_join_binds_each_position, setup_free, teardown),
		cmocka_unit_test_setup_teardown(test_eval_map_entries_by_key_and_enumeration, setup_free, teardown),
		cmocka_unit_test_setup_teardown(test_eval_missing_attribute_aborts_without_status, setup_free, teardown),
		cmocka_unit_test_setup_teardown(test_eval_status_variable_collects_errors_as_union, setup_free, teardown),
		cmocka_unit_test_setup_teardown(test_eval_status_variable_may_not_be_a_term, setup_free, teardown),
		cmocka_unit_test_setup_teardown(test_eval_set_requires_bound_positions, setup_free, teardown),
		cmocka_unit_test_setup_teardown(test_eval_delete_attribute_and_entity, setup_free, teardown),
		cmocka_unit_test_setup_teardown(test_eval_aborted_entity_delete_is_fully_restored, setup_free, teardown),
		cmocka_unit_test_setup_teardown(test_eval_create_binds_new_entity, setup_free, teardown),
		cmocka_unit_test_setup_teardown(test_eval_alloc_and_copy_byte_ranges, setup_free, teardown),
		cmocka_unit_test(test_eval_row_limit_stops_cross_product),
		cmocka_unit_test(test_eval_step_limit_stops_scans),
		cmocka_unit_test(test_eval_byte_limit_stops_large_copies),
		cmocka_unit_test(test_eval_result_limit_aborts_and_undoes),
		cmocka_unit_test_setup_teardown(test_eval_path_resolution_in_one_block, setup_schema, teardown),
		cmocka_unit_test_setup_teardown(test_eval_object_missing_required_attribute_creates_nothing, setup_schema, teardown),
		cmocka_unit_test_setup_teardown(test_eval_schema_rejects_wrong_value_and_unknown_attribute, setup_schema, teardown),
		cmocka_unit_test_setup_teardown(test_eval_schema_is_queryable_as_data, setup_schema, teardown),
		cmocka_unit_test_setup_teardown(test_eval_integer_literals_adapt_to_declared_type, setup_schema, teardown),
		cmocka_unit_test_setup_teardown(test_eval_schema_change_through_set_is_validated, setup_schema, teardown),
		cmocka_unit_test_setup_teardown(test_eval_suspended_block_resumes_with_its_rows, setup_free, teardown),
		cmocka_unit_test_setup_teardown(test_eval_suspension_parts_and_limits, setup_free, teardown),
		cmocka_unit_test_setup_teardown(test_eval_held_block_commits_or_aborts_as_a_whole, setup_hold, teardown_hold),
		cmocka_unit_test_setup_teardown(test_eval_hold_before_the_end, setup_hold, teardown_hold),
		cmocka_unit_test_setup_teardown(test_eval_held_entities_refuse_other_writers, setup_hold, teardown_hold),
		cmocka_unit_test_setup_teardown(test_eval_unholdable_part_runs_through, setup_hold, teardown_hold),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
