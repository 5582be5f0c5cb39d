/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The evaluator's fast path against its general path (lib/eval/eval.c,
 * "fast path"): the same random blocks run on two identical shards, one
 * context with the fast path (and the decoder's fast paths: blocks are
 * encoded and decoded, as a worker gets them) and one without (the block
 * as lib/lang built it, the general decoder, the general evaluator). The
 * replies must be the same bytes, the results (outcome, errno, rows,
 * commands, steps, statuses) and the shards' states the same, block after
 * block; and the fast path's counters must show that it ran, handed
 * blocks over half-way and gave some back.
 *
 * The blocks are mostly what the fast path takes (runs of fully keyed
 * gets, dependent gets through a pointer attribute, map entries by
 * constant and bound keys, long and short strings), with what makes it
 * stop or give up mixed in: misses, maps read as values, wrong types,
 * unbound positions, a set or a create after the gets, status variables,
 * repeated variables; under default and tiny limits (steps, bytes, rows,
 * result size), and on a small table where probes spill to later buckets.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "scpp_test.h"
#include "eval_fixture.h"

#define NE 12 /* entities @0.1.0.2.1 .. NE */

struct pair {
	struct fx *fast, *gen;
	uint8_t msg[1 << 16];
	struct scpp_wire_block dec;
	struct scpp_eval_prefetch pf;
	uint64_t seed;
	int pf_mode; /* PF_* */
};

/* What run_both() hands the fast context with scpp_eval_use_prefetch(). */
enum {
	PF_AS_COMPUTED, /* the block's own prefetch, as a worker does */
	PF_WRONG_HASHES, /* its prefetch with every hash replaced by another */
	PF_OTHER_BLOCK, /* a prefetch made for another block */
};

static struct scpp_oid
ent(unsigned int i)
{
	return scpp_oid_make(0, 1, 0, 2, i);
}

static uint32_t
attr_of(struct fx *f, const char *name)
{
	int64_t id = scpp_store_dict_intern(f->dict, name, strlen(name));

	assert_true(id > 0);
	return (uint32_t)id;
}

/* Entities 1..NE-1 (NE itself never exists) with a u64 `a`, a short `s`, a
 * long (extent) `l`, bytes `b`, a pointer `p` to another entity, a map `m`
 * and, on every third one, no `a`. */
static void
populate(struct fx *f)
{
	static const char long_str[] = "a string long enough to live in an extent";

	for (unsigned int i = 1; i < NE; i++) {
		struct scpp_value v;
		uint8_t bytes[3] = {(uint8_t)i, 0, 0xff};

		assert_int_equal(scpp_store_entity_create(f->store, ent(i)), 0);
		if (i % 3 != 0) {
			v = scpp_value_u64(i * 1000u);
			assert_int_equal(scpp_store_set(f->store, ent(i), attr_of(f, "a"), &v), 0);
		}
		v = scpp_value_cstr(i % 2 ? "x" : "yz");
		assert_int_equal(scpp_store_set(f->store, ent(i), attr_of(f, "s"), &v), 0);
		v = scpp_value_str(long_str, (uint32_t)(sizeof(long_str) - 1 - i));
		assert_int_equal(scpp_store_set(f->store, ent(i), attr_of(f, "l"), &v), 0);
		v = scpp_value_bytes(bytes, 3);
		assert_int_equal(scpp_store_set(f->store, ent(i), attr_of(f, "b"), &v), 0);
		v = scpp_value_oid(ent(i % (NE - 1) + 1));
		assert_int_equal(scpp_store_set(f->store, ent(i), attr_of(f, "p"), &v), 0);
		for (unsigned int k = 0; k < 3; k++) {
			char key[16];
			struct scpp_value kv, val = scpp_value_u64(i * 10u + k);

			snprintf(key, sizeof(key), "k%u", k);
			kv = scpp_value_cstr(key);
			assert_int_equal(scpp_store_map_set(f->store, ent(i), attr_of(f, "m"), &kv,
							    &val),
					 0);
		}
	}
	(void)attr_of(f, "never"); /* interned, held by nothing */
}

static struct pair *
pair_new(const struct scpp_eval_limits *lim, uint32_t max_entries)
{
	struct pair *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	fx_max_entries = max_entries;
	fx_hash_seed = 0x5eedfa57;
	p->fast = fx_new(false, lim);
	p->gen = fx_new(false, lim);
	fx_max_entries = 0;
	fx_hash_seed = 0;
	scpp_eval_ctx_fast(p->gen->ctx, false);
	populate(p->fast);
	populate(p->gen);
	return p;
}

static void
pair_free(struct pair *p)
{
	fx_free(p->fast);
	fx_free(p->gen);
	free(p);
}

/* ---------------------------------------------------------------- blocks */

static unsigned int
pick(struct pair *p, unsigned int n)
{
	return (unsigned int)test_rand_below(&p->seed, n);
}

static int
put(char *buf, size_t size, size_t *n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int
put(char *buf, size_t size, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(buf + *n, size - *n, fmt, ap);
	va_end(ap);
	if (k > 0)
		*n += (size_t)k;
	return k;
}

/* An entity term: one that exists, mostly; sometimes NE (none). */
static void
put_ent(struct pair *p, char *buf, size_t size, size_t *n, bool clean)
{
	unsigned int i = !clean && pick(p, 20) == 0 ? NE : 1 + pick(p, NE - 1);

	put(buf, size, n, "@0.1.0.2.%x", i);
}

/* One random block in the text form, biased to what the fast path takes. */
static void
gen_block(struct pair *p, char *buf, size_t size)
{
	static const char *const attrs[] = {"s", "l", "b", "p", "a", "a", "m", "never", "nope"};
	unsigned int ngets = 1 + pick(p, pick(p, 4) == 0 ? 50 : 18), nv = 0, ptrs[80], np = 0;
	/* Half the blocks only do what the fast path takes, on what exists. */
	bool clean = pick(p, 2) == 0;
	unsigned int nattrs = clean ? 4 : SCPP_ARRAY_SIZE(attrs);
	/* A third of the blocks get one attribute only: their leading keyed
	 * gets are the decoder's get run (struct scpp_wire_block, get_run). */
	const char *one = pick(p, 3) == 0 ? attrs[pick(p, nattrs)] : NULL;
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < ngets; i++) {
		unsigned int r = pick(p, clean ? 13 : 16);

		if (i > 0)
			put(buf, size, &n, "\n");
		if (r < 9) {
			/* get E attr %v */
			const char *a = one != NULL ? one : attrs[pick(p, nattrs)];

			put(buf, size, &n, "get ");
			put_ent(p, buf, size, &n, clean);
			put(buf, size, &n, " %s %%v%u", a, nv);
			if (strcmp(a, "p") == 0 && np < 80)
				ptrs[np++] = nv;
			nv++;
		} else if (r < 11 && np > 0) {
			/* get %ptr attr %v: depends on an earlier get */
			put(buf, size, &n, "get %%v%u %s %%v%u", ptrs[pick(p, np)],
			    attrs[pick(p, clean ? 4 : 6)], nv);
			nv++;
		} else if (r < 13) {
			/* get E m["kN"] %v */
			put(buf, size, &n, "get ");
			put_ent(p, buf, size, &n, clean);
			put(buf, size, &n, " m[\"k%u\"] %%v%u", pick(p, 4), nv);
			nv++;
		} else if (r == 13 && nv > 0) {
			/* a bound variable again: a filter, not a binding */
			put(buf, size, &n, "get ");
			put_ent(p, buf, size, &n, clean);
			put(buf, size, &n, " a %%v%u", pick(p, nv));
		} else if (r == 14) {
			/* a string where an OID belongs, or an unbound entity */
			if (pick(p, 2))
				put(buf, size, &n, "get \"e\" a %%v%u", nv++);
			else
				put(buf, size, &n, "get %%u a %%v%u", nv++);
		} else {
			/* a status variable: not the fast path's */
			put(buf, size, &n, "get ");
			put_ent(p, buf, size, &n, clean);
			put(buf, size, &n, " a %%v%u !%%err", nv++);
		}
	}
	switch (clean ? 5 : pick(p, 6)) {
	case 0:
		put(buf, size, &n, "\nset @0.1.0.2.%x a %uu", 1 + pick(p, NE - 1), pick(p, 9));
		break;
	case 1:
		put(buf, size, &n, "\ncreate %%c Thing\nset %%c a 1u");
		break;
	case 2:
		put(buf, size, &n, "\nget @0.1.0.2.1 %%x %%y");
		break;
	default:
		break;
	}
	if (pick(p, 3) == 0 && nv > 0) {
		unsigned int first = pick(p, nv), step = 1 + pick(p, 3);

		put(buf, size, &n, "\nreturn");
		for (unsigned int k = 0, v = first; k < 4 && v < nv; k++, v += step)
			put(buf, size, &n, " %%v%u", v);
	}
}

/* --------------------------------------------------------------- compare */

/* The shard as text: every entity, attribute and map entry, in order. */
static void
dump(struct fx *f, char *out, size_t size)
{
	struct scpp_oid oids[64];
	struct scpp_store_attr at[64];
	uint64_t cur = 0;
	size_t n = 0;
	int k;

	out[0] = '\0';
	k = scpp_store_entity_iter(f->store, &cur, oids, 64);
	for (int i = 0; i < k; i++) {
		uint64_t ac = 0;
		char o[64];
		int na = scpp_store_attr_iter(f->store, oids[i], &ac, at, 64);

		scpp_oid_format(o, sizeof(o), oids[i]);
		put(out, size, &n, "%s:", o);
		for (int j = 0; j < na; j++) {
			char v[128];

			scpp_value_format(v, sizeof(v), &at[j].value);
			put(out, size, &n, " %u=%s%s", at[j].attr, at[j].is_map ? "map" : "", v);
		}
		put(out, size, &n, ";");
	}
}

static void
run_both(struct pair *p, const char *text)
{
	static char d1[1 << 16], d2[1 << 16];
	struct scpp_wire_reply_writer w;
	struct scpp_lang_error err;
	struct scpp_eval_result *a = &p->fast->res, *b = &p->gen->res;
	int n, rc;

	/* The general side: the parsed (built) block, general decoder off. */
	rc = scpp_lang_parse(text, strlen(text), &p->gen->blk, p->gen->arena,
			     sizeof(p->gen->arena), &err);
	if (rc != 0)
		fail_msg("parse of\n%s\nfailed: %s", text, err.msg);
	/* The fast side: encoded, then decoded as a worker does. */
	n = scpp_wire_block_encode(&p->gen->blk, p->msg, sizeof(p->msg));
	assert_true(n > 0);
	assert_int_equal(scpp_wire_block_decode(p->msg, (size_t)n, &p->dec, NULL), 0);

	/* As a worker runs it: the store lines prefetched first. */
	scpp_eval_prefetch(p->fast->ctx, &p->fast->env, &p->dec, &p->pf);
	scpp_eval_prefetch_entries(&p->fast->env, &p->pf);
	if (p->pf_mode == PF_WRONG_HASHES)
		for (unsigned int k = 0; k < p->pf.n; k++)
			p->pf.hash[k] = p->pf.hash[(k + 1) % p->pf.n] * 0x9e3779b97f4a7c15u + k;
	else if (p->pf_mode == PF_OTHER_BLOCK)
		p->pf.blk = &p->gen->blk;
	scpp_eval_use_prefetch(p->fast->ctx, &p->pf);
	scpp_wire_reply_writer_init(&w, p->fast->reply, sizeof(p->fast->reply));
	assert_int_equal(scpp_eval_block(p->fast->ctx, &p->fast->env, &p->dec, 9, &w, a), 0);
	p->fast->reply_len = w.len;
	scpp_wire_reply_writer_init(&w, p->gen->reply, sizeof(p->gen->reply));
	assert_int_equal(scpp_eval_block(p->gen->ctx, &p->gen->env, &p->gen->blk, 9, &w, b), 0);
	p->gen->reply_len = w.len;

	if (p->fast->reply_len != p->gen->reply_len ||
	    memcmp(p->fast->reply, p->gen->reply, w.len) != 0)
		fail_msg("replies differ for\n%s\n(fast %zu bytes, general %zu bytes)", text,
			 p->fast->reply_len, p->gen->reply_len);
	assert_int_equal(a->outcome, b->outcome);
	assert_int_equal(a->code, b->code);
	assert_int_equal(a->err, b->err);
	assert_int_equal(a->rows, b->rows);
	assert_int_equal(a->commands, b->commands);
	assert_int_equal(a->steps, b->steps);
	assert_int_equal(a->statuses, b->statuses);
	assert_int_equal(a->failed_cmd, b->failed_cmd);
	dump(p->fast, d1, sizeof(d1));
	dump(p->gen, d2, sizeof(d2));
	if (strcmp(d1, d2) != 0)
		fail_msg("states differ after\n%s", text);
}

static void
run_random_pf(const struct scpp_eval_limits *lim, uint32_t max_entries, uint64_t seed,
	      int blocks, struct scpp_eval_stats *st, int pf_mode)
{
	static char text[1 << 14];
	struct pair *p = pair_new(lim, max_entries);
	struct scpp_eval_stats none;

	p->seed = seed;
	p->pf_mode = pf_mode;
	for (int i = 0; i < blocks; i++) {
		gen_block(p, text, sizeof(text));
		run_both(p, text);
	}
	scpp_eval_ctx_stats(p->fast->ctx, st);
	scpp_eval_ctx_stats(p->gen->ctx, &none);
	assert_int_equal(none.fast_blocks + none.fast_cmds + none.fast_restarts + none.fast_run_cmds +
				 none.fast_hashed,
			 0);
	pair_free(p);
}

static void
run_random(const struct scpp_eval_limits *lim, uint32_t max_entries, uint64_t seed,
	   int blocks, struct scpp_eval_stats *st)
{
	run_random_pf(lim, max_entries, seed, blocks, st, PF_AS_COMPUTED);
}

/* ------------------------------------------------------------------ tests */

static void
test_fast_path_matches_general_path_on_random_blocks(void **state)
{
	struct scpp_eval_stats st;
	(void)state;

	run_random(NULL, 0, 0xfa570001, 4000, &st);
	print_message("fast: %llu blocks, %llu commands, %llu restarts, %llu from get runs\n",
		      (unsigned long long)st.fast_blocks, (unsigned long long)st.fast_cmds,
		      (unsigned long long)st.fast_restarts, (unsigned long long)st.fast_run_cmds);
	/* It ran whole blocks, handed others over and gave some back; the
	 * decoder's get runs were taken. */
	assert_true(st.fast_run_cmds > 2000);
	assert_true(st.fast_blocks > 1000);
	assert_true(st.fast_cmds > 10 * st.fast_blocks);
	assert_true(st.fast_restarts > 200);
	/* Most gets used the prefetch's hashes (it takes 16 keys a block). */
	assert_true(st.fast_hashed > st.fast_cmds / 2);
}

/*
 * The prefetch's hashes are used only for the block they were made for,
 * for the command and attribute they were made for, once: replies and
 * states stay those of the general path when every hash is another key's
 * (the gets miss and the general path takes over), and a prefetch of
 * another block is not used at all.
 */
static void
test_fast_path_with_wrong_or_foreign_hashes_stays_exact(void **state)
{
	struct scpp_eval_stats st, ok;
	(void)state;

	run_random_pf(NULL, 0, 0xfa570301, 1500, &ok, PF_AS_COMPUTED);
	run_random_pf(NULL, 0, 0xfa570301, 1500, &st, PF_WRONG_HASHES);
	print_message("wrong hashes: %llu hashed gets, %llu restarts (%llu with the right ones)\n",
		      (unsigned long long)st.fast_hashed, (unsigned long long)st.fast_restarts,
		      (unsigned long long)ok.fast_restarts);
	assert_true(st.fast_hashed > 0);
	assert_true(st.fast_restarts > ok.fast_restarts); /* the misses were given back */
	run_random_pf(NULL, 0, 0xfa570301, 1500, &st, PF_OTHER_BLOCK);
	assert_true(st.fast_cmds > 0);
	assert_int_equal(st.fast_hashed, 0);
	assert_int_equal(st.fast_restarts, ok.fast_restarts);
}

/* A prefetch handed over is consumed by the next evaluation: evaluated
 * again without handing it over, the block hashes its keys itself. */
static void
test_prefetch_is_used_by_one_evaluation(void **state)
{
	struct pair *p = pair_new(NULL, 0);
	static uint8_t reply2[sizeof(p->fast->reply)];
	struct scpp_wire_reply_writer w;
	struct scpp_eval_result res;
	struct scpp_eval_stats a, b, c;
	(void)state;

	run_both(p, "get @0.1.0.2.1 s %a\nget @0.1.0.2.2 s %b\nget @0.1.0.2.4 a %c");
	scpp_eval_ctx_stats(p->fast->ctx, &a);
	run_both(p, "get @0.1.0.2.1 s %a\nget @0.1.0.2.2 s %b\nget @0.1.0.2.4 a %c");
	scpp_eval_ctx_stats(p->fast->ctx, &b);
	assert_int_equal(b.fast_hashed, a.fast_hashed + 3);
	assert_int_equal(b.fast_cmds, a.fast_cmds + 3);
	/* The same decoded block again, with nothing handed over: the same
	 * reply, its keys hashed by the store. */
	scpp_wire_reply_writer_init(&w, reply2, sizeof(reply2));
	assert_int_equal(scpp_eval_block(p->fast->ctx, &p->fast->env, &p->dec, 9, &w, &res), 0);
	assert_int_equal(w.len, p->fast->reply_len);
	assert_memory_equal(reply2, p->fast->reply, w.len);
	scpp_eval_ctx_stats(p->fast->ctx, &c);
	assert_int_equal(c.fast_cmds, b.fast_cmds + 3);
	assert_int_equal(c.fast_hashed, b.fast_hashed);
	pair_free(p);
}

static void
test_fast_path_matches_general_path_under_tiny_limits(void **state)
{
	static const struct scpp_eval_limits lims[] = {
		{.max_steps = 7}, {.max_steps = 40}, {.max_bytes = 64}, {.max_rows = 1},
		{.max_result = 160}, {.max_statuses = 1},
	};
	(void)state;

	for (size_t i = 0; i < SCPP_ARRAY_SIZE(lims); i++) {
		struct scpp_eval_stats st;

		run_random(&lims[i], 0, 0xfa570100 + i, 800, &st);
		assert_true(st.fast_cmds > 0);
	}
}

/* A table filled to the brim: lookups probe past their home bucket, and
 * the probes are steps on both paths alike. */
static void
test_fast_path_charges_probes_like_the_general_path(void **state)
{
	static const struct scpp_eval_limits lim = {.max_steps = 60};
	struct scpp_eval_stats st;
	(void)state;

	run_random(NULL, 6 * NE + 16, 0xfa570200, 1500, &st);
	print_message("fast: %llu blocks, %llu commands, %llu restarts\n",
		      (unsigned long long)st.fast_blocks, (unsigned long long)st.fast_cmds,
		      (unsigned long long)st.fast_restarts);
	assert_true(st.fast_blocks > 300);
	run_random(&lim, 6 * NE + 16, 0xfa570201, 1500, &st);
	assert_true(st.fast_restarts > 0);
}

static void
test_fast_path_runs_a_block_of_keyed_gets_whole(void **state)
{
	struct pair *p = pair_new(NULL, 0);
	struct scpp_eval_stats before, after;
	char text[2048];
	size_t n = 0;
	(void)state;

	for (unsigned int i = 1; i <= 8; i++)
		put(text, sizeof(text), &n, "get @0.1.0.2.%x s %%v%u\n", i, i);
	put(text, sizeof(text), &n, "get @0.1.0.2.8 p %%q\nget %%q s %%w\n");
	put(text, sizeof(text), &n, "get @0.1.0.2.1 m[\"k2\"] %%k\n");
	scpp_eval_ctx_stats(p->fast->ctx, &before);
	run_both(p, text);
	scpp_eval_ctx_stats(p->fast->ctx, &after);
	assert_int_equal(after.fast_blocks, before.fast_blocks + 1);
	assert_int_equal(after.fast_cmds, before.fast_cmds + 11);
	assert_int_equal(after.fast_restarts, before.fast_restarts);
	assert_int_equal(p->fast->res.outcome, SCPP_OUTCOME_OK);
	/* A miss: given back, and the general path says what was missing. */
	run_both(p, "get @0.1.0.2.1 a %x\nget @0.1.0.2.3 a %y");
	scpp_eval_ctx_stats(p->fast->ctx, &before);
	assert_int_equal(before.fast_restarts, after.fast_restarts + 1);
	assert_string_equal(fx_run(p->fast, "get @0.1.0.2.1 a %x\nget @0.1.0.2.3 a %y"),
			    "cols=x,y rows= st=ENOENT@1 end=aborted");
	pair_free(p);
}

/*
 * The prefetch takes the keyed gets and, past the first command the fast
 * path leaves to the general path, every get and set of a constant entity
 * and attribute whose name is known; nothing else.
 */
static void
test_prefetch_takes_keyed_gets_and_sets_past_the_fast_run(void **state)
{
	static const char text[] = "get @0.1.0.2.1 s %a\n"
				   "set @0.1.0.2.2 a 7u\n"      /* ends the fast run */
				   "get @0.1.0.2.3 s %b\n"
				   "get %b s %c\n"              /* not a constant entity */
				   "get @0.1.0.2.4 never %d\n"  /* a name no block resolved yet */
				   "set @0.1.0.2.5 s \"x\"\n"
				   "create %n Thing";
	struct pair *p = pair_new(NULL, 0);
	(void)state;

	run_both(p, "get @0.1.0.2.1 s %a\nget @0.1.0.2.1 a %b"); /* names s, a resolved */
	run_both(p, text);
	scpp_eval_prefetch(p->fast->ctx, &p->fast->env, &p->dec, &p->pf);
	assert_int_equal(p->pf.n, 4);
	/* Off with the fast path, as it is. */
	scpp_eval_ctx_fast(p->fast->ctx, false);
	scpp_eval_prefetch(p->fast->ctx, &p->fast->env, &p->dec, &p->pf);
	assert_int_equal(p->pf.n, 0);
	pair_free(p);
}

/* A clock that moves 5 ms per reading, so any reading is over budget. */
static uint64_t fake_ns;

static uint64_t
fast_clock(void)
{
	return fake_ns += 5000000;
}

/*
 * The fast run charges every step the general path would, so the general
 * path that takes over reads the clock at the same step counts: a block of
 * 64 fast gets and then 100 filtering gets runs out of time at the same
 * command on both paths.
 */
static void
test_fast_path_keeps_the_time_budget(void **state)
{
	struct pair *p = pair_new(NULL, 0);
	static char text[1 << 14], want[1 << 12];
	struct scpp_eval_stats st;
	size_t n = 0;
	(void)state;

	for (unsigned int i = 0; i < 64; i++)
		put(text, sizeof(text), &n, "get @0.1.0.2.%x s %%v%u\n", 1 + i % (NE - 1), i);
	for (unsigned int i = 0; i < 100; i++)
		put(text, sizeof(text), &n, "get @0.1.0.2.1 s %%v0\n");
	p->gen->env.clock_ns = fast_clock;
	snprintf(want, sizeof(want), "%s", fx_run(p->gen, text));
	if (strstr(want, "st=ETIME@") == NULL)
		fail_msg("no ETIME: %s", want);
	p->fast->env.clock_ns = fast_clock;
	assert_string_equal(fx_run(p->fast, text), want);
	scpp_eval_ctx_stats(p->fast->ctx, &st);
	assert_int_equal(st.fast_cmds, 64);
	assert_int_equal(st.fast_restarts, 0);
	pair_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fast_path_matches_general_path_on_random_blocks),
		cmocka_unit_test(test_fast_path_matches_general_path_under_tiny_limits),
		cmocka_unit_test(test_fast_path_charges_probes_like_the_general_path),
		cmocka_unit_test(test_fast_path_runs_a_block_of_keyed_gets_whole),
		cmocka_unit_test(test_fast_path_keeps_the_time_budget),
		cmocka_unit_test(test_prefetch_takes_keyed_gets_and_sets_past_the_fast_run),
		cmocka_unit_test(test_fast_path_with_wrong_or_foreign_hashes_stays_exact),
		cmocka_unit_test(test_prefetch_is_used_by_one_evaluation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
