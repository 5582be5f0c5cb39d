/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Continuations in one process (docs/PROTOCOL.md §19): shards of several
 * "nodes", each a real store with its own evaluation context, and a
 * synchronous driver that does what scppd does across the network — stop
 * before a command whose entity, for some rows, lives on another shard;
 * ship those rows and the rest of the block as a CONT message (encoded and
 * decoded, byte for byte the wire format); run it on the owner from that
 * command (which may ship again); go on here with the rest; merge the
 * parts' replies in the documented order. Checked: the path walk over
 * three nodes, rows of one command split between several owners and the
 * merge order, two shards of one node, failures in a part (aborted, and
 * caught by a status variable), the committed part before a stop, limits
 * (owners per command), and every refusal of the entry points.
 */
#include <errno.h>
#include <string.h>

#include "scpp_test.h"
#include "eval_fixture.h"
#include "scpp_cont.h"

/* Node 1 shard 0, node 2, node 3, node 1 shard 1. */
#define NSHARDS 4
static struct fx *sh[NSHARDS];
static struct scpp_eval_susp *susp[NSHARDS][4]; /* per shard, per nesting level */
static int depth[NSHARDS];
static unsigned int shipped, ship_rows;

/* Entities: @0.<node>.<shard>.1.<n>. */
#define N1 "@0.1.0.1."
#define N2 "@0.2.0.1."
#define N3 "@0.3.0.1."
#define N1S1 "@0.1.1.1."

static void
mk(struct fx *f, const char *text)
{
	struct scpp_oid o;

	assert_int_equal(scpp_oid_parse(text, strlen(text), &o), 0);
	assert_int_equal(scpp_store_entity_create(f->store, o), 0);
}

static struct fx *
shard_of(struct scpp_oid owner)
{
	for (int i = 0; i < NSHARDS; i++)
		if (sh[i]->env.node.hi == owner.hi)
			return sh[i];
	fail_msg("no shard for the owner");
	return NULL;
}

static int
index_of(const struct fx *f)
{
	for (int i = 0; i < NSHARDS; i++)
		if (sh[i] == f)
			return i;
	return -1;
}

static enum scpp_eval_verdict
stop_before_1(void *arg, const struct scpp_wire_block *b, uint16_t cmd, size_t nrows)
{
	(void)arg;
	(void)b;
	(void)nrows;
	return cmd == 1 ? SCPP_EVAL_SUSPEND : SCPP_EVAL_GO;
}

/* The hook: stop before a command when any row must run it elsewhere. */
static enum scpp_eval_verdict
split_hook(void *arg, const struct scpp_wire_block *b, uint16_t cmd, size_t nrows)
{
	struct fx *f = arg;
	struct scpp_eval_rows rows;

	assert_int_equal(scpp_eval_ctx_rows(f->ctx, &rows), 0);
	assert_int_equal(rows.n, nrows);
	for (size_t i = 0; i < rows.n; i++)
		if (scpp_eval_row_where(b, cmd, &rows, i, f->env.node, NULL) == SCPP_EVAL_THERE)
			return SCPP_EVAL_SUSPEND;
	return SCPP_EVAL_GO;
}

#define LEVELS 8

static size_t evaluate(struct fx *f, const struct scpp_wire_block *b, const uint8_t *msg,
		       size_t msg_len, struct scpp_eval_susp *s, int rc, const uint8_t *first,
		       size_t first_len, uint8_t *dst, size_t dst_size, int lvl);

/* The owner's side: decode the CONT (from a copy: the decoded block points
 * into it), load it, run it (shipping again if it must), answer its
 * records in @p dst. */
static size_t
run_cont(struct fx *f, const uint8_t *m, size_t n, uint8_t *dst, size_t dst_size)
{
	static struct scpp_wire_block blk[LEVELS];
	static uint8_t copy[LEVELS][1 << 16], first[LEVELS][1 << 15];
	struct scpp_wire_cont c;
	struct scpp_wire_reply_writer w;
	struct scpp_eval_hooks h = {.before_cmd = split_hook, .arg = f};
	int i = index_of(f), d = depth[i]++, rc, lvl;
	struct scpp_eval_susp *s = susp[i][d];
	size_t len;
	uint32_t off;

	assert_true(d < 4 && n <= sizeof(copy[0]));
	assert_int_equal(scpp_wire_cont_decode(m, n, &c), 0);
	lvl = c.hops;
	assert_true(lvl < LEVELS);
	memcpy(copy[lvl], m, n);
	assert_int_equal(scpp_wire_cont_decode(copy[lvl], n, &c), 0);
	assert_int_equal(scpp_wire_block_decode(c.block, c.block_len, &blk[lvl], &off), 0);
	assert_int_equal(scpp_eval_susp_load(s, &blk[lvl], &c), 0);
	scpp_wire_reply_writer_init(&w, first[lvl], sizeof(first[lvl]));
	rc = scpp_eval_resume(f->ctx, &f->env, &blk[lvl], c.block_id, &w, &f->res, &h, s, c.start);
	assert_true(rc == 0 || rc == 1);
	len = evaluate(f, &blk[lvl], c.block, c.block_len, s, rc, first[lvl], w.len, dst, dst_size,
		       lvl);
	depth[i]--;
	return len;
}

/*
 * After an evaluation step on @p f that returned @p rc (1: stopped into
 * @p s; 0: its reply is first[0 .. first_len)), finish the block: ship,
 * resume, merge into @p dst. @p lvl: 0 on the origin, the CONT's hops on
 * an owner. Returns the merged reply's length.
 */
static size_t
evaluate(struct fx *f, const struct scpp_wire_block *b, const uint8_t *msg, size_t msg_len,
	 struct scpp_eval_susp *s, int rc, const uint8_t *first, size_t first_len, uint8_t *dst,
	 size_t dst_size, int lvl)
{
	static uint8_t parts[LEVELS][SCPP_EVAL_SPLIT_OWNERS + 1][1 << 15];
	static uint32_t idx[LEVELS][2 * 4096];
	static uint8_t cmsg[LEVELS][1 << 16];
	struct scpp_cont_part p[SCPP_EVAL_SPLIT_OWNERS + 1];
	struct scpp_eval_hooks h = {.before_cmd = split_hook, .arg = f};
	struct scpp_wire_reply_writer w;
	struct scpp_cont_merged mg;
	unsigned int np = 1;

	memset(p, 0, sizeof(p));
	p[0].records = parts[lvl][0];
	p[0].len = first_len;
	if (rc == 0)
		memcpy(parts[lvl][0], first, first_len);
	while (rc == 1) {
		struct scpp_eval_split sp;
		uint16_t cmd = scpp_eval_susp_next_cmd(s);

		assert_int_equal(scpp_eval_susp_split(s, b, f->env.node, idx[lvl],
						      SCPP_ARRAY_SIZE(idx[lvl]), &sp), 0);
		assert_true(sp.nowners >= 1);
		for (uint16_t g = 0; g < sp.nowners; g++) {
			struct scpp_wire_cont c = {
				.hops = (uint8_t)(lvl + 1), .origin = 1, .cont_id = ++shipped,
				.client_id = 9, .block_id = 7, .start = cmd, .nvars = b->nvars,
				.nrows = sp.part[g].n, .block_len = (uint32_t)msg_len,
				.timeout_ms = 1000,
			};
			int o = scpp_wire_cont_encode(cmsg[lvl], sizeof(cmsg[lvl]), &c);
			long r;

			assert_true(o > 0);
			memcpy(cmsg[lvl] + o, msg, msg_len);
			o += (int)msg_len;
			r = scpp_eval_susp_rows_encode(s, idx[lvl] + sp.part[g].first, sp.part[g].n,
						       cmsg[lvl] + o, sizeof(cmsg[lvl]) - (size_t)o);
			assert_true(r >= 8);
			ship_rows += sp.part[g].n;
			assert_true(np <= SCPP_EVAL_SPLIT_OWNERS);
			p[np].len = run_cont(shard_of(sp.part[g].owner), cmsg[lvl],
					     (size_t)o + (size_t)r, parts[lvl][np],
					     sizeof(parts[lvl][np]));
			p[np].records = parts[lvl][np];
			np++;
		}
		assert_int_equal(scpp_eval_susp_keep(s, idx[lvl], sp.nhere), 0);
		scpp_wire_reply_writer_init(&w, parts[lvl][0], sizeof(parts[lvl][0]));
		rc = scpp_eval_resume(f->ctx, &f->env, b, 7, &w, &f->res, &h, s, cmd);
		assert_true(rc == 0 || rc == 1);
		p[0].len = w.len;
	}
	for (unsigned int i = 1; i < np; i++)
		assert_int_equal(scpp_cont_part_check(p[i].records, p[i].len, p[0].records,
						      scpp_cont_columns_len(p[0].records,
									    p[0].len)), 0);
	scpp_wire_reply_writer_init(&w, dst, dst_size);
	assert_int_equal(scpp_cont_merge(&w, p, np, 0, &mg), 0);
	return w.len;
}

/* Run @p text as a client's block on shard @p origin; the merged reply's
 * summary. */
static const char *
run_split(int origin, const char *text)
{
	struct fx *f = sh[origin];
	struct scpp_eval_hooks h = {.before_cmd = split_hook, .arg = f};
	struct scpp_lang_error err;
	struct scpp_wire_reply_writer w;
	static uint8_t msg[1 << 16], first[1 << 15];
	size_t len;
	int rc, n;

	assert_int_equal(scpp_lang_parse(text, strlen(text), &f->blk, f->arena, sizeof(f->arena),
					 &err), 0);
	n = scpp_wire_block_encode(&f->blk, msg, sizeof(msg));
	assert_true(n > 0);
	depth[origin]++;
	scpp_wire_reply_writer_init(&w, first, sizeof(first));
	rc = scpp_eval_block_ex(f->ctx, &f->env, &f->blk, 7, &w, &f->res, &h, susp[origin][0]);
	assert_true(rc == 0 || rc == 1);
	len = evaluate(f, &f->blk, msg, (size_t)n, susp[origin][0], rc, first, w.len, f->reply,
		       sizeof(f->reply), 0);
	depth[origin]--;
	return fx_summarize(f, len);
}

/* The "node" field of every status of shard @p i's last reply, joined. */
static const char *
status_nodes(int i)
{
	struct scpp_wire_reply_reader rd;
	static struct scpp_wire_record rec;
	static char out[512];
	char b[64];

	out[0] = '\0';
	scpp_wire_reply_reader_init(&rd, sh[i]->reply, sh[i]->reply_len);
	while (scpp_wire_reply_next(&rd, &rec) == 1) {
		if (rec.type != SCPP_REC_STATUS)
			continue;
		for (uint16_t k = 0; k < rec.status.n; k++)
			if (rec.status.key[k].len == 4 && memcmp(rec.status.key[k].p, "node", 4) == 0) {
				scpp_value_format(b, sizeof(b), &rec.status.v[k]);
				snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s",
					 out[0] ? "," : "", b);
			}
	}
	return out;
}

static int
setup(void **state)
{
	static const uint16_t node[NSHARDS] = {1, 2, 3, 1}, shard[NSHARDS] = {0, 0, 0, 1};

	(void)state;
	for (int i = 0; i < NSHARDS; i++) {
		fx_node = node[i];
		fx_shard = shard[i];
		sh[i] = fx_new(false, NULL);
		for (int d = 0; d < 4; d++) {
			susp[i][d] = scpp_eval_susp_create(1 << 20, -1, false);
			assert_non_null(susp[i][d]);
		}
	}
	fx_node = 0;
	fx_shard = 0;
	shipped = 0;
	ship_rows = 0;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	for (int i = 0; i < NSHARDS; i++) {
		for (int d = 0; d < 4; d++)
			scpp_eval_susp_free(susp[i][d]);
		fx_free(sh[i]);
	}
	return 0;
}

/*
 * /a/b/c/d with the root on node 1, a on node 2, b on node 3, c on node 1,
 * d on node 2: one block from the client, three hops of continuations,
 * one reply with the leaf, as on one shard.
 */
static void
test_eval_cont_path_walk_over_three_nodes_is_one_block(void **state)
{
	(void)state;
	mk(sh[0], N1 "10");
	mk(sh[1], N2 "a");
	mk(sh[2], N3 "b");
	mk(sh[0], N1 "c");
	mk(sh[1], N2 "d");
	fx_run(sh[0], "set " N1 "10 entries[\"a\"] " N2 "a ; set " N1 "c entries[\"d\"] " N2 "d");
	fx_run(sh[1], "set " N2 "a entries[\"b\"] " N3 "b ; set " N2 "d name \"leaf\"");
	fx_run(sh[2], "set " N3 "b entries[\"c\"] " N1 "c");
	assert_string_equal(run_split(0, "get " N1 "10 entries[\"a\"] %a ; "
					 "get %a entries[\"b\"] %b ; get %b entries[\"c\"] %c ; "
					 "get %c entries[\"d\"] %d ; get %d name %n ; return %d %n"),
			    "cols=d,n rows=[@0.2.0.1.d|\"leaf\"] end=ok");
	/* Origin -> node 2 -> node 3 -> node 1 -> node 2: four continuations. */
	assert_int_equal(shipped, 4);
	assert_int_equal(ship_rows, 4);
	/* A missing component: ENOENT from the node that has the directory,
	 * named in the status, and the block's outcome is aborted. */
	assert_string_equal(run_split(0, "get " N1 "10 entries[\"a\"] %a ; "
					 "get %a entries[\"b\"] %b ; get %b entries[\"x\"] %c ; "
					 "return %c"),
			    "cols=c rows= st=ENOENT@2 end=aborted");
	assert_string_equal(status_nodes(0), "@0.3.0.0.0");
}

/*
 * One command's rows owned by three shards (this one, node 2, node 3):
 * the merged rows are this shard's first, then each owner's in the order
 * of its first row; the statuses caught by a status variable on an owner
 * come back named by it; what ran before the stop is committed.
 */
static void
test_eval_cont_rows_of_one_command_split_between_owners_merge_in_order(void **state)
{
	(void)state;
	mk(sh[0], N1 "1");
	mk(sh[0], N1 "2");
	mk(sh[1], N2 "1");
	mk(sh[1], N2 "2");
	mk(sh[2], N3 "1");
	mk(sh[0], N1 "99");
	fx_run(sh[0], "set " N1 "99 m[1u] " N3 "1 ; set " N1 "99 m[2u] " N2 "1 ; "
		      "set " N1 "99 m[3u] " N1 "1 ; set " N1 "99 m[4u] " N2 "2 ; "
		      "set " N1 "99 m[5u] " N1 "2");
	fx_run(sh[0], "set " N1 "1 name \"one\" ; set " N1 "2 name \"two\"");
	fx_run(sh[1], "set " N2 "1 name \"n2one\"");  /* N2 2 has no name */
	fx_run(sh[2], "set " N3 "1 name \"n3one\"");
	assert_string_equal(run_split(0, "set " N1 "99 touched true ; get " N1 "99 m[%k] %e ; "
					 "get %e name %n !%err ; return %k %e %n"),
			    "cols=k,e,n rows=[3u|@0.1.0.1.1|\"one\"][5u|@0.1.0.1.2|\"two\"]"
			    "[1u|@0.3.0.1.1|\"n3one\"][2u|@0.2.0.1.1|\"n2one\"] st=ENOENT@2 "
			    "end=errors");
	assert_string_equal(status_nodes(0), "@0.2.0.0.0");
	assert_int_equal(shipped, 2);
	assert_int_equal(ship_rows, 3);
	/* The part before the stop committed on node 1. */
	assert_string_equal(fx_run(sh[0], "get " N1 "99 touched %v"), "cols=v rows=[true] end=ok");
}

/* Two shards of one node are two owners like any others; a write in the
 * continuation lands on the shard that owns the entity. */
static void
test_eval_cont_two_shards_of_one_node(void **state)
{
	(void)state;
	mk(sh[0], N1 "5");
	mk(sh[3], N1S1 "6");
	fx_run(sh[0], "set " N1 "5 peer " N1S1 "6");
	assert_string_equal(run_split(0, "get " N1 "5 peer %p ; set %p seen 7u ; get %p seen %v ; "
					 "return %p %v"),
			    "cols=p,v rows=[@0.1.1.1.6|7u] end=ok");
	assert_string_equal(fx_run(sh[3], "get " N1S1 "6 seen %v"), "cols=v rows=[7u] end=ok");
	assert_int_equal(shipped, 1);
}

/* A part that aborts on its owner: the merged reply is aborted with the
 * owner's status; the origin's own rows are still there (non-atomic
 * across shards, docs/PROTOCOL.md §19.5). */
static void
test_eval_cont_aborted_part_names_its_node(void **state)
{
	(void)state;
	mk(sh[0], N1 "1");
	mk(sh[0], N1 "9");
	mk(sh[2], N3 "1");
	fx_run(sh[0], "set " N1 "9 m[1u] " N1 "1 ; set " N1 "9 m[2u] " N3 "1 ; "
		      "set " N1 "1 name \"x\"");
	assert_string_equal(run_split(0, "get " N1 "9 m[%k] %e ; get %e name %n ; return %e %n"),
			    "cols=e,n rows=[@0.1.0.1.1|\"x\"] st=ENOENT@1 end=aborted");
	assert_string_equal(status_nodes(0), "@0.3.0.0.0");
}

/* Beyond SCPP_EVAL_SPLIT_OWNERS owners at one command, the other rows stay
 * and meet E_NOT_HERE; an unbound entity is ANY. */
static void
test_eval_cont_split_counts_owners_over_the_limit_and_unbound_rows(void **state)
{
	struct fx *f = sh[0];
	struct scpp_eval_hooks h = {.before_cmd = split_hook, .arg = f};
	struct scpp_eval_hooks h1 = {.before_cmd = stop_before_1};
	struct scpp_wire_reply_writer w;
	struct scpp_lang_error err;
	struct scpp_eval_split sp;
	static uint32_t idx[64];
	char text[4096];
	size_t o;
	(void)state;

	mk(f, N1 "77");
	o = (size_t)snprintf(text, sizeof(text),
			     "set " N1 "77 m[0u] " N1 "77 ; set " N1 "77 name \"self\"");
	for (unsigned int i = 1; i <= SCPP_EVAL_SPLIT_OWNERS + 2; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, " ; set " N1 "77 m[%uu] @0.%x.0.1.1",
				      i, 10 + i);
	fx_run(f, text);
	assert_int_equal(f->res.outcome, SCPP_OUTCOME_OK);
	snprintf(text, sizeof(text), "get " N1 "77 m[%%k] %%e ; get %%e name %%n ; return %%n");
	assert_int_equal(scpp_lang_parse(text, strlen(text), &f->blk, f->arena, sizeof(f->arena),
					 &err), 0);
	scpp_wire_reply_writer_init(&w, f->reply, sizeof(f->reply));
	assert_int_equal(scpp_eval_block_ex(f->ctx, &f->env, &f->blk, 7, &w, &f->res, &h,
					    susp[0][0]), 1);
	assert_int_equal(scpp_eval_susp_split(susp[0][0], &f->blk, f->env.node, idx, 2 * 19 - 1,
					      &sp), -ENOSPC);
	assert_int_equal(scpp_eval_susp_split(susp[0][0], &f->blk, f->env.node, idx,
					      SCPP_ARRAY_SIZE(idx), &sp), 0);
	assert_int_equal(sp.nowners, SCPP_EVAL_SPLIT_OWNERS);
	assert_int_equal(sp.nover, 2);
	assert_int_equal(sp.nhere, 3); /* the one local row and the two over the limit */
	assert_int_equal(sp.nany, 0);
	/* Owners in the order of their first row (the map's order), each
	 * once, each with its one row. */
	{
		uint64_t seen = 0;

		for (uint16_t g = 0; g < sp.nowners; g++) {
			unsigned int nd = scpp_oid_node(sp.part[g].owner);

			assert_int_equal(sp.part[g].n, 1);
			assert_int_equal(sp.part[g].first, 3 + g);
			assert_true(nd >= 11 && nd <= 10 + SCPP_EVAL_SPLIT_OWNERS + 2);
			assert_false((seen >> (nd - 11)) & 1);
			seen |= UINT64_C(1) << (nd - 11);
			if (g > 0)
				assert_true(idx[sp.part[g].first] > idx[sp.part[g - 1].first]);
		}
	}
	/* Keeping the rows that stay, the block ends here with E_NOT_HERE for
	 * the first over-limit row. */
	assert_int_equal(scpp_eval_susp_keep(susp[0][0], idx, sp.nhere), 0);
	scpp_wire_reply_writer_init(&w, f->reply, sizeof(f->reply));
	assert_int_equal(scpp_eval_resume(f->ctx, &f->env, &f->blk, 7, &w, &f->res, NULL,
					  susp[0][0], 1), 0);
	assert_string_equal(fx_summarize(f, w.len), "cols=n rows= st=EREMOTE@1 end=aborted");
	/* An unbound entity in a get: ANY (stopped there by a hook that
	 * always stops before command 1). */
	snprintf(text, sizeof(text), "get " N1 "77 m[0u] %%x ; get %%e name \"a\" ; return %%e");
	assert_int_equal(scpp_lang_parse(text, strlen(text), &f->blk, f->arena, sizeof(f->arena),
					 &err), 0);
	scpp_wire_reply_writer_init(&w, f->reply, sizeof(f->reply));
	assert_int_equal(scpp_eval_block_ex(f->ctx, &f->env, &f->blk, 7, &w, &f->res, &h1,
					    susp[0][0]), 1);
	assert_int_equal(scpp_eval_susp_split(susp[0][0], &f->blk, f->env.node, idx,
					      SCPP_ARRAY_SIZE(idx), &sp), 0);
	assert_int_equal(sp.nany, 1);
	assert_int_equal(sp.nhere, 1);
	assert_int_equal(sp.nowners, 0);
	scpp_wire_reply_writer_init(&w, f->reply, sizeof(f->reply));
	assert_int_equal(scpp_eval_resume(f->ctx, &f->env, &f->blk, 7, &w, &f->res, NULL,
					  susp[0][0], 1), 0);
	assert_false(scpp_eval_susp_active(susp[0][0]));
}

static enum scpp_eval_verdict
stop_before_2(void *arg, const struct scpp_wire_block *b, uint16_t cmd, size_t nrows)
{
	(void)arg;
	(void)b;
	(void)nrows;
	return cmd == 2 ? SCPP_EVAL_SUSPEND : SCPP_EVAL_GO;
}

/* A copy row's source address as the source's owner reads it before
 * shipping the row (docs/COPY.md "Remote copies"): plain value addresses
 * with constant or bound offsets and length; anything else is not one. */
static void
test_eval_cont_row_copy_src_reads_plain_source_addresses(void **state)
{
	struct fx *f = sh[0];
	struct scpp_eval_hooks h = {.before_cmd = stop_before_2};
	struct scpp_wire_reply_writer w;
	struct scpp_lang_error err;
	struct scpp_eval_copy_src src;
	struct scpp_eval_rows rows;
	const char *text = "let %a " N1 "77 ; let %n 3u ; "
			   "copy value(@0.9.0.1.1, data) offset(offset(value(%a, data), 4), %n) 100 ; "
			   "copy value(@0.9.0.1.1, data) value(%a, m[0u]) 5 ; "
			   "copy value(@0.9.0.1.1, data) offset(value(%a, data), %u) 5 ; "
			   "copy value(@0.9.0.1.1, data) value(%n, data) %n";
	(void)state;

	assert_int_equal(scpp_lang_parse(text, strlen(text), &f->blk, f->arena, sizeof(f->arena),
					 &err), 0);
	scpp_wire_reply_writer_init(&w, f->reply, sizeof(f->reply));
	assert_int_equal(scpp_eval_block_ex(f->ctx, &f->env, &f->blk, 7, &w, &f->res, &h,
					    susp[0][0]), 1);
	assert_int_equal(scpp_eval_susp_next_cmd(susp[0][0]), 2);
	assert_int_equal(scpp_eval_susp_rows(susp[0][0], &rows), 0);
	assert_int_equal(rows.n, 1);
	assert_int_equal(scpp_eval_row_copy_src(&f->blk, 2, &rows, 0, &src), 0);
	assert_true(scpp_oid_eq(src.e, scpp_oid_make(0, 1, 0, 1, 0x77)));
	assert_int_equal(src.attr_len, 4);
	assert_memory_equal(src.attr, "data", 4);
	assert_int_equal(src.off, 7);
	assert_int_equal(src.len, 100);
	/* A map entry (a VMA, rewritten by the owner's evaluation), an unbound
	 * offset, a source entity that is not an OID: not plain. */
	assert_int_equal(scpp_eval_row_copy_src(&f->blk, 3, &rows, 0, &src), -EOPNOTSUPP);
	assert_int_equal(scpp_eval_row_copy_src(&f->blk, 4, &rows, 0, &src), -EOPNOTSUPP);
	assert_int_equal(scpp_eval_row_copy_src(&f->blk, 5, &rows, 0, &src), -EOPNOTSUPP);
	/* Which ends are map entries: the command's terms, not the rows'. */
	assert_int_equal(scpp_eval_cmd_copy_keyed(&f->blk, 2, 1), 0);
	assert_int_equal(scpp_eval_cmd_copy_keyed(&f->blk, 2, 0), 0);
	assert_int_equal(scpp_eval_cmd_copy_keyed(&f->blk, 3, 1), 1);
	assert_int_equal(scpp_eval_cmd_copy_keyed(&f->blk, 3, 0), 0);
	assert_int_equal(scpp_eval_cmd_copy_keyed(&f->blk, 0, 1), -EINVAL);
	assert_int_equal(scpp_eval_cmd_copy_keyed(&f->blk, 3, 2), -EINVAL);
	assert_int_equal(scpp_eval_cmd_copy_keyed(&f->blk, 6, 1), -EINVAL);
	/* Not a copy; no such row. */
	assert_int_equal(scpp_eval_row_copy_src(&f->blk, 0, &rows, 0, &src), -EINVAL);
	assert_int_equal(scpp_eval_row_copy_src(&f->blk, 2, &rows, 1, &src), -EINVAL);
	scpp_eval_susp_drop(f->ctx, susp[0][0]);
	assert_false(scpp_eval_susp_active(susp[0][0]));
}

/* Where a copy row runs (docs/COPY.md "Third-party copies"): by its
 * destination, except when its source too lives elsewhere: then first on
 * the source's shard, which alone can turn the source into a window
 * address. Evaluated on node 1 shard 0. */
static void
test_eval_cont_copy_row_goes_to_source_owner_when_both_ends_are_elsewhere(void **state)
{
	struct fx *f = sh[0];
	struct scpp_eval_hooks h = {.before_cmd = stop_before_2};
	struct scpp_wire_reply_writer w;
	struct scpp_lang_error err;
	struct scpp_eval_rows rows;
	struct scpp_oid o;
	const char *text = "let %a " N2 "77 ; let %b " N3 "5 ; "
			   "copy value(%b, data) offset(value(%a, data), 3) 5 ; "
			   "copy value(%b, data) value(" N1 "9, data) 5 ; "
			   "copy value(" N1 "9, data) value(%a, data) 5 ; "
			   "copy value(%b, data) value(@0.0.0.0.1, data) 5 ; "
			   "copy value(%b, data) value(%u, data) 5 ; "
			   "copy value(" N3 "6, data) value(" N2 "8, data) 5";
	(void)state;

	assert_int_equal(scpp_lang_parse(text, strlen(text), &f->blk, f->arena, sizeof(f->arena),
					 &err), 0);
	scpp_wire_reply_writer_init(&w, f->reply, sizeof(f->reply));
	assert_int_equal(scpp_eval_block_ex(f->ctx, &f->env, &f->blk, 7, &w, &f->res, &h,
					    susp[0][0]), 1);
	assert_int_equal(scpp_eval_susp_rows(susp[0][0], &rows), 0);
	assert_int_equal(rows.n, 1);
	/* Both elsewhere: node 2 (the source's), not node 3. */
	assert_int_equal(scpp_eval_row_where(&f->blk, 2, &rows, 0, f->env.node, &o),
			 SCPP_EVAL_THERE);
	assert_true(scpp_oid_eq(o, scpp_oid_make(0, 2, 0, 0, 0)));
	/* The source here: by the destination (this node ships it). */
	assert_int_equal(scpp_eval_row_where(&f->blk, 3, &rows, 0, f->env.node, &o),
			 SCPP_EVAL_THERE);
	assert_true(scpp_oid_eq(o, scpp_oid_make(0, 3, 0, 0, 0)));
	/* The destination here: here (the source comes by COPY_SOURCE, or not at all). */
	assert_int_equal(scpp_eval_row_where(&f->blk, 4, &rows, 0, f->env.node, NULL),
			 SCPP_EVAL_HERE);
	/* A well-known source, an unbound one: by the destination. */
	assert_int_equal(scpp_eval_row_where(&f->blk, 5, &rows, 0, f->env.node, &o),
			 SCPP_EVAL_THERE);
	assert_true(scpp_oid_eq(o, scpp_oid_make(0, 3, 0, 0, 0)));
	assert_int_equal(scpp_eval_row_where(&f->blk, 6, &rows, 0, f->env.node, &o),
			 SCPP_EVAL_THERE);
	assert_true(scpp_oid_eq(o, scpp_oid_make(0, 3, 0, 0, 0)));
	/* Constants as well as variables. */
	assert_int_equal(scpp_eval_row_where(&f->blk, 7, &rows, 0, f->env.node, &o),
			 SCPP_EVAL_THERE);
	assert_true(scpp_oid_eq(o, scpp_oid_make(0, 2, 0, 0, 0)));
	scpp_eval_susp_drop(f->ctx, susp[0][0]);
}

/* A CONT for block @p text from command @p start with @p nrows rows of
 * @p masks / values built here; returns the message length. */
static size_t
make_cont(uint8_t *m, size_t size, struct scpp_wire_block *b, uint8_t *arena, size_t asz,
	  const char *text, uint16_t start, uint32_t nrows, const uint64_t *masks,
	  const char *str)
{
	struct scpp_lang_error err;
	struct scpp_value v[SCPP_WIRE_VARS_MAX];
	struct scpp_wire_cont c;
	int o, n;

	assert_int_equal(scpp_lang_parse(text, strlen(text), b, arena, asz, &err), 0);
	memset(&c, 0, sizeof(c));
	c.hops = 1;
	c.origin = 1;
	c.cont_id = 1;
	c.start = start;
	c.nvars = b->nvars;
	c.nrows = nrows;
	c.timeout_ms = 10;
	n = scpp_wire_block_encode(b, m + 512, size - 512);
	assert_true(n > 0);
	c.block_len = (uint32_t)n;
	o = scpp_wire_cont_encode(m, 512, &c);
	memmove(m + o, m + 512, (size_t)n);
	o += n;
	for (uint32_t r = 0; r < nrows; r++) {
		for (int i = 0; i < SCPP_WIRE_VARS_MAX; i++)
			v[i] = scpp_value_cstr(str);
		n = scpp_wire_cont_row_encode(m + o, size - (size_t)o, b->nvars, masks[r], v);
		assert_true(n > 0);
		o += n;
	}
	return (size_t)o;
}

/* Every refusal of the entry points, one bad input at a time. */
static void
test_eval_cont_entry_points_refuse_bad_input(void **state)
{
	static uint8_t m[1 << 16], arena[1 << 14];
	static struct scpp_wire_block b;
	static const uint64_t same[3] = {1, 1, 1}, mixed[3] = {1, 3, 1};
	static char big[300];
	struct scpp_eval_susp *small = scpp_eval_susp_create(256, -1, false);
	struct scpp_eval_susp *s = susp[0][0];
	struct scpp_eval_rows rows;
	struct scpp_wire_cont c;
	uint32_t idx[4] = {0, 1, 2, 3};
	static const char text[] = "get %a name %n ; get %a x %y ; return %n";
	size_t n;
	(void)state;

	assert_int_equal(scpp_eval_ctx_rows(sh[0]->ctx, &rows), -EINVAL);
	assert_int_equal(scpp_eval_susp_rows(s, &rows), -EINVAL);
	n = make_cont(m, sizeof(m), &b, arena, sizeof(arena), text, 1, 3, same, "v");
	assert_int_equal(scpp_wire_cont_decode(m, n, &c), 0);
	assert_int_equal(scpp_eval_susp_load(s, &b, &c), 0);
	assert_int_equal(scpp_eval_susp_nrows(s), 3);
	assert_int_equal(scpp_eval_susp_next_cmd(s), 1);
	assert_int_equal(scpp_eval_susp_rows(s, &rows), 0);
	assert_int_equal(rows.n, 3);
	/* Active now: a second load is refused. */
	assert_int_equal(scpp_eval_susp_load(s, &b, &c), -EINVAL);
	/* keep and rows_encode: indexes in range (and ascending for keep). */
	assert_int_equal(scpp_eval_susp_keep(s, idx, 4), -EINVAL);
	idx[0] = 2;
	idx[1] = 1;
	assert_int_equal(scpp_eval_susp_keep(s, idx, 2), -EINVAL);
	assert_int_equal(scpp_eval_susp_rows_encode(s, idx, 2, m + n, 8), -ENOSPC);
	assert_true(scpp_eval_susp_rows_encode(s, idx, 2, m + n, 512) > 16);
	idx[1] = 3;
	assert_int_equal(scpp_eval_susp_rows_encode(s, idx, 2, m + n, 512), -EINVAL);
	assert_int_equal(scpp_eval_susp_keep(s, NULL, 1), -EINVAL);
	assert_int_equal(scpp_eval_susp_keep(s, idx, 0), 0);
	assert_int_equal(scpp_eval_susp_nrows(s), 0);
	/* Resumed with no rows: the block ends with none (and the suspension is
	 * free again). */
	{
		struct scpp_wire_reply_writer w;

		scpp_wire_reply_writer_init(&w, sh[0]->reply, sizeof(sh[0]->reply));
		assert_int_equal(scpp_eval_resume(sh[0]->ctx, &sh[0]->env, &b, 7, &w, &sh[0]->res,
						  NULL, s, 1), 0);
		assert_string_equal(fx_summarize(sh[0], w.len), "cols=n rows= end=ok");
	}
	assert_int_equal(scpp_eval_susp_keep(s, idx, 0), -EINVAL);
	/* nvars not the block's; start not below ncmds. */
	c.nvars = (uint16_t)(b.nvars + 1);
	assert_int_equal(scpp_eval_susp_load(s, &b, &c), -EINVAL);
	c.nvars = b.nvars;
	c.start = 2;
	assert_int_equal(scpp_eval_susp_load(s, &b, &c), -EINVAL);
	c.start = 1;
	/* Too many rows, or values too long, for the suspension. */
	assert_int_equal(scpp_eval_susp_load(small, &b, &c), -SCPP_E_LIMIT_PENDING);
	memset(big, 'x', sizeof(big) - 1); /* longer than the whole suspension */
	n = make_cont(m, sizeof(m), &b, arena, sizeof(arena), text, 1, 1, same, big);
	assert_int_equal(scpp_wire_cont_decode(m, n, &c), 0);
	assert_int_equal(scpp_eval_susp_load(small, &b, &c), -SCPP_E_LIMIT_PENDING);
	assert_false(scpp_eval_susp_active(small));
	/* Rows binding different variables in a block that cannot have them. */
	n = make_cont(m, sizeof(m), &b, arena, sizeof(arena), text, 1, 3, mixed, "v");
	assert_int_equal(scpp_wire_cont_decode(m, n, &c), 0);
	assert_int_equal(scpp_eval_susp_load(s, &b, &c), -SCPP_E_BAD_FLAGS);
	assert_false(scpp_eval_susp_active(s));
	/* ... but a block with a binding guard may. */
	n = make_cont(m, sizeof(m), &b, arena, sizeof(arena),
		      "get %a name %n ; let %y 1u when false ; return %n", 1, 3, mixed, "v");
	assert_int_equal(scpp_wire_cont_decode(m, n, &c), 0);
	assert_int_equal(scpp_eval_susp_load(s, &b, &c), 0);
	{
		struct scpp_wire_reply_writer w;

		scpp_wire_reply_writer_init(&w, sh[0]->reply, sizeof(sh[0]->reply));
		assert_int_equal(scpp_eval_resume(sh[0]->ctx, &sh[0]->env, &b, 7, &w, &sh[0]->res,
						  NULL, s, 1), 0);
	}
	/* A row cut short, bytes after the last row. */
	n = make_cont(m, sizeof(m), &b, arena, sizeof(arena), text, 1, 2, same, "v");
	assert_int_equal(scpp_wire_cont_decode(m, n - 1, &c), 0);
	assert_int_equal(scpp_eval_susp_load(s, &b, &c), -SCPP_E_TRUNCATED);
	m[n] = 0;
	assert_int_equal(scpp_wire_cont_decode(m, n + 1, &c), 0);
	assert_int_equal(scpp_eval_susp_load(s, &b, &c), -SCPP_E_TRAILING);
	assert_false(scpp_eval_susp_active(s));
	scpp_eval_susp_free(small);
}

/*
 * What a shard running an EVERY part (a ⊤ fan-out) keeps after its scan:
 * rows whose entity the scan bound to a well-known OID are dropped, since
 * every shard has those and the origin reports them once.
 */
static void
test_eval_cont_every_part_drops_well_known_entities(void **state)
{
	struct fx *f = sh[1];
	struct scpp_eval_hooks h = {.before_cmd = stop_before_1, .arg = f};
	static const char text[] = "get %e tag \"t\" ; get %e tag %v ; return %e";
	struct scpp_lang_error err;
	struct scpp_wire_reply_writer w;
	static uint32_t idx[64];

	(void)state;
	mk(f, "@0.0.0.1.5");
	mk(f, N2 "5");
	fx_run(f, "set @0.0.0.1.5 tag \"t\" ; set " N2 "5 tag \"t\"");
	assert_int_equal(scpp_lang_parse(text, strlen(text), &f->blk, f->arena, sizeof(f->arena),
					 &err), 0);
	scpp_wire_reply_writer_init(&w, f->reply, sizeof(f->reply));
	assert_int_equal(scpp_eval_block_ex(f->ctx, &f->env, &f->blk, 7, &w, &f->res, &h,
					    susp[1][0]), 1);
	assert_int_equal(scpp_eval_susp_nrows(susp[1][0]), 2);
	assert_int_equal(scpp_eval_susp_keep_owned(susp[1][0], &f->blk, 0, idx, 1), -ENOSPC);
	assert_int_equal(scpp_eval_susp_keep_owned(susp[1][0], &f->blk, 5, idx, 64), -EINVAL);
	assert_int_equal(scpp_eval_susp_keep_owned(susp[1][0], &f->blk, 0, idx, 64), 1);
	assert_int_equal(scpp_eval_susp_nrows(susp[1][0]), 1);
	/* Nothing else to drop; command 1's entity is bound already. */
	assert_int_equal(scpp_eval_susp_keep_owned(susp[1][0], &f->blk, 0, idx, 64), 0);
	scpp_wire_reply_writer_init(&w, f->reply, sizeof(f->reply));
	assert_int_equal(scpp_eval_resume(f->ctx, &f->env, &f->blk, 7, &w, &f->res, NULL,
					  susp[1][0], 1), 0);
	assert_string_equal(fx_summarize(f, w.len), "cols=e rows=[@0.2.0.1.5] end=ok");
	assert_int_equal(scpp_eval_susp_keep_owned(susp[1][0], &f->blk, 0, idx, 64), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_eval_cont_path_walk_over_three_nodes_is_one_block,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_eval_cont_rows_of_one_command_split_between_owners_merge_in_order, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_eval_cont_two_shards_of_one_node, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_eval_cont_aborted_part_names_its_node, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_eval_cont_split_counts_owners_over_the_limit_and_unbound_rows, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_eval_cont_row_copy_src_reads_plain_source_addresses, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_eval_cont_copy_row_goes_to_source_owner_when_both_ends_are_elsewhere,
			setup, teardown),
		cmocka_unit_test_setup_teardown(test_eval_cont_entry_points_refuse_bad_input, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_eval_cont_every_part_drops_well_known_entities,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
