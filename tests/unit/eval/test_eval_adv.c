/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Adversarial blocks against the evaluator's budget (issue 11): each runs
 * on a shard holding about 10^6 entities and must stop with the documented
 * status, having examined no more than its limits allow, and change
 * nothing. The assertions are on statuses and on the step accounting
 * (struct scpp_eval_result.steps, the store's probe counter), never on
 * wall-clock time: the time budget is driven by a fake clock.
 *
 * One shard is built once for the group (10^6 - 2^10 entities, a map of
 * 4000 entries) and every test leaves it as it found it.
 */
#include <errno.h>
#include <inttypes.h>

#include "scpp_test.h"
#include "eval_fixture.h"
#include "scpp_status.h"

#define BIG_ENTITIES (1000000u - 1024u)
#define MAP_ENTRIES 4000u

/* Entity A holds map m (MAP_ENTRIES entries) and attribute a; B..: plain. */
#define A "@0.1.0.7.1"
#define B "@0.1.0.7.2"

static struct fx *big;
static uint64_t fake_ns;

static uint64_t
fake_clock(void)
{
	/* Each reading is 100 us after the previous one. */
	fake_ns += 100000;
	return fake_ns;
}

static struct scpp_oid
oid_n(uint64_t n)
{
	return scpp_oid_make(0, 1, 0, 7, n);
}

static void
set_limits(struct fx *f, const struct scpp_eval_limits *lim)
{
	scpp_eval_ctx_free(f->ctx);
	f->ctx = scpp_eval_ctx_create(lim, -1, false);
	assert_non_null(f->ctx);
}

static int
group_setup(void **state)
{
	uint32_t m, a;

	(void)state;
	fx_max_entries = 1u << 20;
	fx_max_map_entries = 1u << 16;
	fx_hash_seed = 0xb16b00b5; /* fixed: the same layout every run */
	big = fx_new(false, NULL);
	fx_max_entries = fx_max_map_entries = 0;
	fx_hash_seed = 0;
	m = (uint32_t)scpp_store_dict_intern(big->dict, "m", 1);
	a = (uint32_t)scpp_store_dict_intern(big->dict, "a", 1);
	for (uint64_t i = 1; i <= BIG_ENTITIES; i++)
		if (scpp_store_entity_create(big->store, oid_n(i)) != 0)
			return -1;
	for (uint32_t k = 0; k < MAP_ENTRIES; k++) {
		struct scpp_value key = scpp_value_u64(k), v = scpp_value_i64(k);

		if (scpp_store_map_set(big->store, oid_n(1), m, &key, &v) != 0)
			return -1;
	}
	/* A few entities have `a`, spread over the entity order. */
	for (uint64_t i = 1; i <= BIG_ENTITIES; i += BIG_ENTITIES / 8) {
		struct scpp_value v = scpp_value_i64((int64_t)i);

		if (scpp_store_set(big->store, oid_n(i), a, &v) != 0)
			return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	fx_free(big);
	return 0;
}

static int
reset_limits(void **state)
{
	(void)state;
	set_limits(big, NULL);
	big->env.clock_ns = NULL;
	return 0;
}

static void
assert_unchanged(const struct scpp_store_stats *before)
{
	struct scpp_store_stats after;

	scpp_store_stats_get(big->store, &after);
	assert_true(after.entities == before->entities);
	assert_true(after.triples == before->triples);
	assert_true(after.map_entries == before->map_entries);
}

/* `get A m[%k] %v ; get %e a %w`: 4000 rows, each scanning every entity. */
static void
test_adv_scan_under_enumeration_stops_at_the_step_limit(void **state)
{
	struct scpp_eval_limits lim = {.max_steps = 200000};
	struct scpp_store_stats before;

	(void)state;
	set_limits(big, &lim);
	scpp_store_stats_get(big->store, &before);
	assert_string_equal(fx_run(big, "get " A " m[%k] %v ; get %e a %w"),
			    "cols=k,v,e,w rows= st=ETIME@1 end=aborted");
	assert_int_equal(big->res.code, -SCPP_E_LIMIT_STEPS);
	/* Stopped at the limit: no more entities examined than allowed. */
	assert_true(big->res.steps == lim.max_steps + 1);
	assert_non_null(strstr(fx_message(big), "200000 steps"));
	assert_unchanged(&before);
	/* The worker answers the next block at once, correctly. */
	assert_string_equal(fx_run(big, "get " A " a %v"), "cols=v rows=[1] end=ok");
	assert_true(big->res.steps <= 2 + SCPP_STORE_PROBE_MAX);
}

/* The same block under the time budget (a fake clock: 100 us a reading). */
static void
test_adv_scan_under_enumeration_stops_at_the_time_budget(void **state)
{
	struct scpp_eval_limits lim = {.max_time_us = 1000};
	struct scpp_store_stats before;

	(void)state;
	set_limits(big, &lim);
	big->env.clock_ns = fake_clock;
	scpp_store_stats_get(big->store, &before);
	/* Reading 1 is the start; the check after 11 x 256 steps sees
	 * 1100 us > 1000 us, still inside the enumeration of command 0. */
	assert_string_equal(fx_run(big, "get " A " m[%k] %v ; get %e a %w"),
			    "cols=k,v,e,w rows= st=ETIME@0 end=aborted");
	assert_int_equal(big->res.code, -SCPP_E_LIMIT_TIME);
	assert_true(big->res.steps >= 10 * SCPP_EVAL_TIME_CHECK);
	assert_true(big->res.steps <= 12 * SCPP_EVAL_TIME_CHECK);
	assert_non_null(strstr(fx_message(big), "1000 us time budget"));
	assert_unchanged(&before);
}

/* A name nothing has matches no entity: the scan is skipped, not paid. */
static void
test_adv_unknown_attribute_under_enumeration_costs_no_scan(void **state)
{
	(void)state;
	assert_string_equal(fx_run(big, "get " A " m[%k] %v ; get %e nope %w ; return %w"),
			    "cols=w rows= end=ok");
	assert_true(big->res.steps < 3 * MAP_ENTRIES);
}

/* A plain full scan of a 10^6-entity shard is over the default budget. */
static void
test_adv_full_scan_of_a_big_shard_is_over_the_default_budget(void **state)
{
	(void)state;
	fx_run(big, "get %e a %w");
	assert_int_equal(big->res.code, -SCPP_E_LIMIT_STEPS);
	assert_true(big->res.steps == SCPP_EVAL_DEFAULT_STEPS + 1);
}

/* Keys crafted to share home buckets under a known seed: inserts stop at
 * the probe bound, and a miss costs at most SCPP_STORE_PROBE_MAX steps
 * more than a hit. */
static void
test_adv_colliding_keys_are_bounded_and_charged(void **state)
{
	static uint64_t keys[2000];
	struct fx *f;
	char text[128];
	uint64_t nk = 0, k, p0;
	int64_t home;
	unsigned int enospc = 0;

	(void)state;
	fx_max_entries = 1u << 20;
	fx_max_map_entries = 1u << 16;
	fx_hash_seed = 0x5eed;
	f = fx_new(false, NULL);
	fx_max_entries = fx_max_map_entries = 0;
	fx_hash_seed = 0;
	assert_string_equal(fx_run(f, "create %x T ; set %x m[0u] 0 ; return %x"),
			    "cols=x rows=[@0.1.0.1.1] end=ok");
	home = scpp_store_map_home_bucket(f->store, scpp_oid_make(0, 1, 0, 1, 1),
					  (uint32_t)scpp_store_dict_lookup(f->dict, "m", 1),
					  &(struct scpp_value){.type = SCPP_VT_U64, .u = 0});
	assert_true(home >= 0);
	/* Every key whose home is one of four buckets from 0's. */
	for (k = 1; nk < SCPP_ARRAY_SIZE(keys); k++) {
		struct scpp_value kv = scpp_value_u64(k);
		int64_t h = scpp_store_map_home_bucket(
			f->store, scpp_oid_make(0, 1, 0, 1, 1),
			(uint32_t)scpp_store_dict_lookup(f->dict, "m", 1), &kv);

		if (h >= home && h < home + 4)
			keys[nk++] = k;
	}
	for (uint64_t i = 0; i < nk; i++) {
		snprintf(text, sizeof(text), "set @0.1.0.1.1 m[%" PRIu64 "u] 1 !%%e", keys[i]);
		fx_run(f, text);
		if (f->res.outcome == SCPP_OUTCOME_ERRORS)
			enospc++;
		/* One set probes at most the bound, and pays for it. */
		assert_true(f->res.steps <= 4 + 2 * SCPP_STORE_PROBE_MAX);
	}
	/* (4 + 63) buckets x 12 slots can hold the keys of four homes. */
	assert_true(enospc >= nk - (4 + SCPP_STORE_PROBE_MAX - 1) * 12);
	assert_true(enospc > 0);
	assert_non_null(strstr(fx_message(f), "No space left"));
	/* A miss on the crowded chain costs its probes as steps. */
	p0 = *scpp_store_probe_counter(f->store);
	snprintf(text, sizeof(text), "get @0.1.0.1.1 m[%" PRIu64 "u] %%v !%%e", keys[nk - 1]);
	assert_string_equal(fx_run(f, text), "cols=v,e rows= st=ENOENT@0 end=errors");
	assert_true(*scpp_store_probe_counter(f->store) - p0 >= SCPP_STORE_PROBE_MAX / 2);
	assert_true(*scpp_store_probe_counter(f->store) - p0 <= SCPP_STORE_PROBE_MAX);
	assert_true(f->res.steps >= *scpp_store_probe_counter(f->store) - p0);
	fx_free(f);

	/* The same keys on a shard with another seed: no chain at all. */
	fx_max_map_entries = 1u << 16;
	fx_hash_seed = 0x5eed + 1;
	f = fx_new(false, NULL);
	fx_max_map_entries = 0;
	fx_hash_seed = 0;
	fx_run(f, "create %x T ; set %x m[0u] 0");
	p0 = *scpp_store_probe_counter(f->store);
	for (uint64_t i = 0; i < nk; i++) {
		snprintf(text, sizeof(text), "set @0.1.0.1.1 m[%" PRIu64 "u] 1", keys[i]);
		assert_string_equal(fx_run(f, text), "cols= rows= end=ok");
	}
	assert_true(*scpp_store_probe_counter(f->store) - p0 < nk);
	fx_free(f);
}

/* The byte counter is compared before it is added: no wrap lets a huge or
 * repeated write through. */
static void
test_adv_byte_counter_does_not_wrap(void **state)
{
	struct scpp_eval_limits lim = {.max_bytes = 4096};
	struct scpp_store_stats before;
	static char text[16384];
	char big3k[3001];
	size_t n;

	(void)state;
	set_limits(big, &lim);
	scpp_store_stats_get(big->store, &before);
	memset(big3k, 'x', 3000);
	big3k[3000] = '\0';
	n = (size_t)snprintf(text, sizeof(text), "set " B " s1 \"%s\" ; set " B " s2 \"%s\" ; "
			     "set " B " s3 \"%s\"", big3k, big3k, big3k);
	assert_true(n < sizeof(text));
	assert_string_equal(fx_run(big, text), "cols= rows= st=EFBIG@1 end=aborted");
	assert_int_equal(big->res.code, -SCPP_E_LIMIT_BYTES);
	assert_string_equal(fx_run(big, "alloc " B " buf 18446744073709551615u"),
			    "cols= rows= st=EFBIG@0 end=aborted");
	assert_string_equal(fx_run(big, "alloc " B " buf 18446744073709547520u"),
			    "cols= rows= st=EFBIG@0 end=aborted");
	assert_unchanged(&before);
	/* Exactly at the limit passes; one more byte does not. */
	assert_string_equal(fx_run(big, "alloc " B " buf 4097u"),
			    "cols= rows= st=EFBIG@0 end=aborted");
	assert_string_equal(fx_run(big, "alloc " B " buf 4096u"), "cols= rows= end=ok");
	set_limits(big, NULL);
	assert_string_equal(fx_run(big, "del " B " buf"), "cols= rows= end=ok");
	assert_unchanged(&before);
}

/* Rows, steps and result: each limit holds at its exact boundary. */
static void
test_adv_limits_hold_at_their_boundaries(void **state)
{
	struct scpp_eval_limits lim = {0};
	uint64_t steps;
	size_t reply;

	(void)state;
	/* Rows: the map enumeration yields MAP_ENTRIES rows. */
	lim.max_rows = MAP_ENTRIES;
	set_limits(big, &lim);
	fx_run(big, "get " A " m[%k] %v ; return");
	assert_int_equal(big->res.outcome, SCPP_OUTCOME_OK);
	assert_true(big->res.rows == MAP_ENTRIES);
	lim.max_rows = MAP_ENTRIES - 1;
	set_limits(big, &lim);
	assert_string_equal(fx_run(big, "get " A " m[%k] %v ; return"),
			    "cols= rows= st=E2BIG@0 end=aborted");

	/* Steps: a block that needs s steps runs with max_steps s, not s - 1. */
	set_limits(big, NULL);
	fx_run(big, "get " A " m[%k] %v ; return");
	steps = big->res.steps;
	lim = (struct scpp_eval_limits){.max_steps = steps};
	set_limits(big, &lim);
	assert_string_equal(fx_run(big, "get " A " m[%k] %v ; return"), "cols= rows= end=ok");
	lim.max_steps = steps - 1;
	set_limits(big, &lim);
	assert_string_equal(fx_run(big, "get " A " m[%k] %v ; return"),
			    "cols= rows= st=ETIME@0 end=aborted");

	/* Result: the smallest max_result that lets the reply through; one
	 * byte less is E_LIMIT_RESULT (found by bisection: monotonic). */
	set_limits(big, NULL);
	fx_run(big, "get " A " m[%k] %v ; return %k");
	reply = big->reply_len;
	{
		uint32_t lo = SCPP_EVAL_MIN_RESULT, hi = 1u << 20;

		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;

			lim = (struct scpp_eval_limits){.max_result = mid};
			set_limits(big, &lim);
			fx_run(big, "get " A " m[%k] %v ; return %k");
			if (big->res.outcome == SCPP_OUTCOME_OK)
				hi = mid;
			else
				lo = mid + 1;
		}
		lim = (struct scpp_eval_limits){.max_result = lo};
		set_limits(big, &lim);
		fx_run(big, "get " A " m[%k] %v ; return %k");
		assert_int_equal(big->res.outcome, SCPP_OUTCOME_OK);
		assert_true(big->reply_len == reply);
		/* Rows and statuses get max_result - 64; COLUMNS and END are
		 * outside, so the reply is a little longer than the budget. */
		assert_true(lo - 64 < reply && reply < lo + 64);
		lim.max_result = lo - 1;
		set_limits(big, &lim);
		assert_string_equal(fx_run(big, "get " A " m[%k] %v ; return %k"),
				    "cols=k rows= st=EMSGSIZE@1 end=aborted");
	}
}

/* Limits the evaluator cannot honour are refused with the field's name. */
static void
test_adv_limits_outside_their_range_are_refused(void **state)
{
	struct scpp_eval_limits lim = {.max_result = 64};
	const char *field = NULL;
	uint64_t lo = 0, hi = 0;

	(void)state;
	assert_int_equal(scpp_eval_limits_check(&lim, &field, &lo, &hi), -EINVAL);
	assert_string_equal(field, "max_result");
	assert_true(lo == SCPP_EVAL_MIN_RESULT);
	assert_null(scpp_eval_ctx_create(&lim, -1, false));
	lim = (struct scpp_eval_limits){.max_rows = SCPP_EVAL_MAX_ROWS + 1};
	assert_int_equal(scpp_eval_limits_check(&lim, &field, &lo, &hi), -EINVAL);
	assert_string_equal(field, "max_rows");
	assert_true(hi == SCPP_EVAL_MAX_ROWS);
	lim = (struct scpp_eval_limits){.max_bytes = SCPP_EVAL_MAX_BYTES + 1};
	assert_int_equal(scpp_eval_limits_check(&lim, &field, &lo, &hi), -EINVAL);
	assert_string_equal(field, "max_bytes");
	lim = (struct scpp_eval_limits){.max_rows = SCPP_EVAL_MAX_ROWS,
					.max_result = SCPP_EVAL_MIN_RESULT};
	assert_int_equal(scpp_eval_limits_check(&lim, NULL, NULL, NULL), 0);
}

/* ---- nothing exhaustible by failure: new attribute names ---------------- */

/* 10 000 blocks with fresh names that fail or abort: the dictionary does
 * not change (issue 11: 17 such blocks used to fill 4 096 names). */
static void
test_adv_dictionary_flood_by_failing_blocks_changes_nothing(void **state)
{
	struct fx *f = fx_new(false, NULL);
	struct scpp_store_stats before, after;
	char text[256];
	uint32_t count;

	(void)state;
	assert_string_equal(fx_run(f, "create %x T ; return %x"), "cols=x rows=[@0.1.0.1.1] end=ok");
	count = scpp_store_dict_count(f->dict);
	scpp_store_stats_get(f->store, &before);
	for (int i = 0; i < 10000; i++) {
		switch (i % 4) {
		case 0: /* the block: a set on a missing entity */
			snprintf(text, sizeof(text), "set @0.1.0.9.9 junk_%d 1 !%%e", i);
			assert_string_equal(fx_run(f, text), "cols=e rows=[1u] st=ENOENT@0 end=errors");
			break;
		case 1: /* a write that succeeded, in a block that aborts */
			snprintf(text, sizeof(text),
				 "set @0.1.0.1.1 fresh_%d 1 ; set @0.1.0.1.1 m_%d[1] 2 ; "
				 "alloc @0.1.0.1.1 b_%d 4u ; set @0.1.0.9.9 x 1", i, i, i);
			assert_string_equal(fx_run(f, text), "cols= rows= st=ENOENT@3 end=aborted");
			break;
		case 2: /* written and deleted again in one block */
			snprintf(text, sizeof(text), "set @0.1.0.1.1 gone_%d 1 ; del @0.1.0.1.1 gone_%d",
				 i, i);
			assert_string_equal(fx_run(f, text), "cols= rows= end=ok");
			break;
		default: /* a new name only read */
			snprintf(text, sizeof(text), "get %%e never_%d %%v ; get @0.1.0.1.1 never_%d %%w !%%s",
				 i, i);
			assert_string_equal(fx_run(f, text), "cols=e,v,w,s rows= end=ok");
			break;
		}
	}
	assert_int_equal(scpp_store_dict_count(f->dict), count);
	assert_true(scpp_store_dict_lookup(f->dict, "fresh_1", 7) == -ENOENT);
	assert_true(scpp_store_dict_lookup(f->dict, "junk_0", 6) == -ENOENT);
	scpp_store_stats_get(f->store, &after);
	assert_true(after.triples == before.triples && after.entities == before.entities);
	/* The dictionary still takes a name that a committed block uses. */
	assert_string_equal(fx_run(f, "set @0.1.0.1.1 kept 1"), "cols= rows= end=ok");
	assert_int_equal(scpp_store_dict_count(f->dict), count + 1);
	assert_true(scpp_store_dict_lookup(f->dict, "kept", 4) > 0);
	assert_string_equal(fx_run(f, "get @0.1.0.1.1 kept %v"), "cols=v rows=[1] end=ok");
	fx_free(f);
}

/* Inside the block a new name behaves like any other; at commit it gets
 * its dictionary id, and the triples (plain, map, bytes) are found by it. */
static void
test_adv_new_names_are_interned_when_the_block_commits(void **state)
{
	struct fx *f = fx_new(false, NULL);
	uint32_t count;

	(void)state;
	fx_run(f, "create %x T");
	count = scpp_store_dict_count(f->dict);
	assert_string_equal(fx_run(f, "set @0.1.0.1.1 n1 \"v\" ; set @0.1.0.1.1 n2[\"k\"] 2 ; "
				   "alloc @0.1.0.1.1 n3 2u ; get @0.1.0.1.1 %a %v ; "
				   "get @0.1.0.1.1 n2[%k] %w ; return %a %k"),
			    "cols=a,k rows=[\"type\"|\"k\"][\"n1\"|\"k\"][\"n3\"|\"k\"] end=ok");
	assert_int_equal(scpp_store_dict_count(f->dict), count + 3);
	assert_string_equal(fx_run(f, "get @0.1.0.1.1 n1 %a ; get @0.1.0.1.1 n2[\"k\"] %b ; "
				   "get @0.1.0.1.1 n3 %c"),
			    "cols=a,b,c rows=[\"v\"|2|x\"0000\"] end=ok");
	/* A failed command's new name is not kept; the block's others are. */
	assert_string_equal(fx_run(f, "set @0.1.0.1.1 n4 1 ; set @0.1.0.9.9 n5 1 !%e"),
			    "cols=e rows=[1u] st=ENOENT@1 end=errors");
	assert_true(scpp_store_dict_lookup(f->dict, "n4", 2) > 0);
	assert_true(scpp_store_dict_lookup(f->dict, "n5", 2) == -ENOENT);
	fx_free(f);
}

/* At most 64 new names per block (the provisional id space), with a
 * status that says so; the dictionary full at commit aborts the block. */
static void
test_adv_new_name_limits_are_statuses(void **state)
{
	static char text[8192];
	struct fx *f = fx_new(false, NULL);
	size_t n = 0;
	uint32_t count;

	(void)state;
	fx_run(f, "create %x T");
	for (int i = 0; i < 65; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%sset @0.1.0.1.1 q%d 1",
				      i ? " ; " : "", i);
	assert_string_equal(fx_run(f, text), "cols= rows= st=ENOSPC@64 end=aborted");
	assert_non_null(strstr(fx_message(f), "at most 64 new attribute names"));
	fx_free(f);

	/* A dictionary with room for one more name only. */
	f = fx_new(false, NULL);
	fx_run(f, "create %x T");
	count = scpp_store_dict_count(f->dict);
	for (uint32_t i = count; i < 4095; i++) {
		char nm[16];
		int len = snprintf(nm, sizeof(nm), "fill%u", i);

		assert_true(scpp_store_dict_intern(f->dict, nm, (size_t)len) > 0);
	}
	assert_string_equal(fx_run(f, "set @0.1.0.1.1 last1 1 ; set @0.1.0.1.1 last2 2"),
			    "cols= rows= st=ENOSPC@2 end=aborted");
	assert_non_null(strstr(fx_message(f), "attribute dictionary cannot take it"));
	assert_string_equal(fx_run(f, "get @0.1.0.1.1 %a %v ; return %a"),
			    "cols=a rows=[\"type\"] end=ok");
	assert_string_equal(fx_run(f, "set @0.1.0.1.1 last1 1"), "cols= rows= end=ok");
	fx_free(f);
}

/* With a schema, an undeclared new name is refused by name, not by id. */
static void
test_adv_schema_messages_name_unknown_attributes(void **state)
{
	struct fx *f = fx_new(true, NULL);

	(void)state;
	assert_string_equal(fx_run(f, "create %d Directory ; set %d ino 2u ; set %d dev 1u ; "
				   "set %d brandnew 1"),
			    "cols=d rows= st=EINVAL@3 end=aborted");
	assert_non_null(strstr(fx_message(f), "type Directory has no attribute 'brandnew'"));
	fx_free(f);
}

/* ---- no bypass of the schema -------------------------------------------- */

/* `copy` onto a Type's name and `alloc` onto a Type or Attribute entity
 * would change the schema's data without the schema edit: refused, and
 * nothing changes (the type is still called File, in the data and in the
 * compiled schema). */
static void
test_adv_schema_write_by_copy_or_alloc_is_refused(void **state)
{
	struct fx *f = fx_new(true, NULL);
	struct scpp_store_stats before, after;

	(void)state;
	assert_string_equal(fx_run(f, "create %x Machine ; set %x hostname \"Fil\" ; "
				   "set %x cores 1u ; set %x memory_bytes 1u ; return"),
			    "cols= rows= end=ok");
	scpp_store_stats_get(f->store, &before);
	/* Rename the File type by copying bytes onto its name. */
	assert_string_equal(fx_run(f, "get %t name \"File\" ; get %d hostname \"Fil\" ; "
				   "copy value(%t, \"name\") value(%d, \"hostname\") 3 ; return"),
			    "cols= rows= st=EINVAL@2 end=aborted");
	assert_int_equal(f->res.code, -SCPP_E_SCHEMA);
	assert_non_null(strstr(fx_message(f), "changes only with set, del or create"));
	assert_non_null(strstr(fx_message(f), ".name"));
	/* A copy that would create a value on a Type, and allocs. */
	assert_string_equal(fx_run(f, "get %t name \"File\" ; get %d hostname \"Fil\" ; "
				   "copy value(%t, \"doc2\") value(%d, \"hostname\") 3 ; return"),
			    "cols= rows= st=EINVAL@2 end=aborted");
	assert_string_equal(fx_run(f, "get %t name \"File\" ; alloc %t blob 8u ; return"),
			    "cols= rows= st=EINVAL@1 end=aborted");
	assert_string_equal(fx_run(f, "get %t name \"Directory\" ; get %t attributes[\"size\"] %a ; "
				   "alloc %a junk 4u ; return"),
			    "cols= rows= st=EINVAL@2 end=aborted");
	scpp_store_stats_get(f->store, &after);
	assert_true(after.triples == before.triples && after.entities == before.entities);
	assert_string_equal(fx_run(f, "get %t name \"File\" ; return"), "cols= rows= end=ok");
	assert_non_null(scpp_schema_type_by_name(f->schema, "File"));
	/* The same writes through set are schema changes, checked as such. */
	assert_string_equal(fx_run(f, "get %t name \"File\" ; alloc %t blob 8u !%e ; return %e"),
			    "cols=e rows=[1u] st=EINVAL@1 end=errors");
	fx_free(f);
}

/* ---- one schema for every shard ----------------------------------------- */

/* The block of docs/SCHEMA.md §7 that declares Machine.rack. */
static void
rack_declaration(char *buf, size_t size)
{
	char a[64], t[64], at[64];

	scpp_oid_format(a, sizeof(a), scpp_schema_attr_oid("Machine", "rack"));
	scpp_oid_format(t, sizeof(t), scpp_schema_type_oid("Machine"));
	scpp_oid_format(at, sizeof(at), scpp_schema_type_oid("Attribute"));
	snprintf(buf, size,
		 "set %s type %s ; set %s name \"rack\" ; set %s owner %s ; "
		 "set %s value_type \"string\" ; set %s attributes[\"rack\"] %s",
		 a, at, a, a, t, a, t, a);
}

/* What a worker does when the published version moved. */
static void
adopt(struct fx *f, struct scpp_schema_pub *p)
{
	(void)p;
	assert_int_equal(scpp_eval_poll_schema(&f->env), 1);
	assert_int_equal(scpp_eval_poll_schema(&f->env), 0);
}

/* A schema change made through shard 1 is visible on shard 0, in its data
 * and in its validation; a second change waits for the first. */
static void
test_adv_schema_change_through_any_shard_reaches_every_shard(void **state)
{
	struct fx *a = fx_new(true, NULL), *b;
	struct scpp_schema_pub *p;
	struct scpp_schema *s0 = a->schema;
	char decl[1024], want[256], name[64];

	(void)state;
	fx_shard = 1;
	b = fx_new(false, NULL);
	fx_shard = 0;
	scpp_store_dict_free(b->dict);
	b->dict = b->env.dict = a->dict;
	assert_int_equal(scpp_schema_materialize(s0, b->store), 0);
	p = scpp_schema_pub_create(s0, 2);
	assert_non_null(p);
	a->schema = NULL; /* the publisher owns it now */
	a->env.schema = b->env.schema = s0;
	a->env.pub = b->env.pub = p;
	a->env.worker = 0;
	b->env.worker = 1;
	a->env.schema_version = b->env.schema_version = 1;

	/* Before: shard 0 does not know the attribute. */
	assert_string_equal(fx_run(a, "create %m Machine ; set %m hostname \"h\" ; set %m cores 1u ; "
				   "set %m memory_bytes 2u ; set %m rack \"r1\" ; return"),
			    "cols= rows= st=EINVAL@4 end=aborted");
	/* Declared through shard 1. */
	rack_declaration(decl, sizeof(decl));
	assert_string_equal(fx_run(b, decl), "cols= rows= end=ok");
	assert_non_null(b->res.new_schema);
	b->env.schema = b->res.new_schema;
	/* Until it is published, no other change can start anywhere. */
	assert_string_equal(fx_run(a, decl), "cols= rows= st=EAGAIN@5 end=aborted");
	assert_non_null(strstr(fx_message(a), "retry the block"));
	assert_int_equal(scpp_schema_pub_service(p, NULL), 1);
	/* Shard 0 adopts version 2: the declaration is in its store and in
	 * its compiled schema. */
	adopt(a, p);
	adopt(b, p);
	scpp_oid_format(name, sizeof(name), scpp_schema_attr_oid("Machine", "rack"));
	snprintf(want, sizeof(want), "get %s name %%n ; get %s required %%r ; return %%n %%r", name, name);
	assert_string_equal(fx_run(a, want), "cols=n,r rows=[\"rack\"|false] end=ok");
	assert_string_equal(fx_run(a, "create %m Machine ; set %m hostname \"h\" ; set %m cores 1u ; "
				   "set %m memory_bytes 2u ; set %m rack \"r1\" ; get %m rack %r ; "
				   "return %r"),
			    "cols=r rows=[\"r1\"] end=ok");
	assert_string_equal(fx_run(a, "create %m Machine ; set %m hostname \"h\" ; set %m cores 1u ; "
				   "set %m memory_bytes 2u ; set %m rack 7 ; return"),
			    "cols= rows= st=EINVAL@4 end=aborted");
	assert_non_null(strstr(fx_message(a), "Machine.rack: expected string, got i64"));
	/* Every shard adopted version 2: version 1 is freed. */
	assert_int_equal(scpp_schema_pub_service(p, NULL), 0);
	assert_int_equal(scpp_schema_pub_retired(p), 0);

	b->dict = NULL;
	b->env.schema = NULL;
	fx_free(b);
	scpp_schema_pub_free(p);
	fx_free(a);
}

/* The instance scan of a schema change is charged like any scan. */
static void
test_adv_schema_change_instance_scan_is_charged(void **state)
{
	struct fx *f = fx_new(true, NULL);
	struct scpp_eval_limits lim = {.max_steps = 300};
	char text[1024], a[64], blk[128];

	(void)state;
	for (int i = 0; i < 40; i++) {
		size_t n = 0;

		for (int k = 0; k < 10; k++)
			n += (size_t)snprintf(text + n, sizeof(text) - n,
					      "create %%g%d Group ; set %%g%d gid %du ; "
					      "set %%g%d name \"g\" ; ", k, k, i * 10 + k, k);
		snprintf(text + n, sizeof(text) - n, "return");
		assert_string_equal(fx_run(f, text), "cols= rows= end=ok");
	}
	/* One user, after 400 groups in entity order: the check that finds
	 * it without a shell must first walk past every group. */
	assert_string_equal(fx_run(f, "create %u User ; set %u uid 1u ; set %u gid 1u ; "
				   "set %u name \"u\" ; return"),
			    "cols= rows= end=ok");
	scpp_oid_format(a, sizeof(a), scpp_schema_attr_oid("User", "shell"));
	snprintf(blk, sizeof(blk), "set %s required true ; return", a);
	set_limits(f, &lim);
	assert_string_equal(fx_run(f, blk), "cols= rows= st=ETIME@1 end=aborted");
	assert_int_equal(f->res.code, -SCPP_E_LIMIT_STEPS);
	assert_non_null(strstr(fx_message(f), "checking the existing instances exceeded 300"));
	assert_true(f->res.steps <= lim.max_steps + 1);
	/* With room, the scan runs and finds the user without a shell. */
	set_limits(f, NULL);
	assert_string_equal(fx_run(f, blk), "cols= rows= st=EINVAL@1 end=aborted");
	assert_true(f->res.steps > 400);
	fx_free(f);
}

/* ---- secondary indexes --------------------------------------------------- */

/* `get %u uid 42u` on the indexed User.uid examines the matches, not the
 * shard; the rows and their order are those of a scan (same block on a
 * shard without a value index). */
static void
test_adv_indexed_lookup_does_not_scan(void **state)
{
	struct fx *f[2];
	char text[1024];
	static char want[2][1 << 16];

	(void)state;
	fx_no_index = 1;
	f[1] = fx_new(true, NULL);
	fx_no_index = 0;
	f[0] = fx_new(true, NULL);
	for (int w = 0; w < 2; w++) {
		for (int i = 0; i < 100; i++) {
			size_t n = 0;

			for (int k = 0; k < 10; k++)
				n += (size_t)snprintf(text + n, sizeof(text) - n,
						      "create %%u%d User ; set %%u%d uid %du ; "
						      "set %%u%d gid %du ; set %%u%d name \"n%d\" ; ",
						      k, k, (i * 10 + k) % 500, k, k % 3, k, i * 10 + k);
			snprintf(text + n, sizeof(text) - n, "return");
			assert_string_equal(fx_run(f[w], text), "cols= rows= end=ok");
		}
		/* Two users with uid 42; change one, delete and restore by an
		 * aborted block, so the index went through updates and undo. */
		fx_run(f[w], "get %u uid 42u ; get %u name %n ; return %n");
		fx_run(f[w], "get %u name \"n42\" ; set %u uid 43u ; set %u uid 42u");
		fx_run(f[w], "get %u name \"n542\" ; del %u ; set @0.1.0.9.9 x 1");
		fx_run(f[w], "get %u uid 42u ; get %u name %n ; return %u %n");
		snprintf(want[w], sizeof(want[w]), "%s", f[w]->summary);
	}
	assert_string_equal(want[0], want[1]);
	assert_non_null(strstr(want[0], "\"n42\"") );
	assert_non_null(strstr(want[0], "\"n542\""));
	/* Indexed: a handful of steps. Scanned: every entity. */
	fx_run(f[0], "get %u uid 42u ; return %u");
	assert_true(f[0]->res.rows == 2);
	assert_true(f[0]->res.steps < 20);
	fx_run(f[1], "get %u uid 42u ; return %u");
	assert_true(f[1]->res.rows == 2);
	assert_true(f[1]->res.steps > 1000);
	/* A value nobody has costs nothing; low-cardinality values work. */
	fx_run(f[0], "get %u uid 4242u ; return %u");
	assert_true(f[0]->res.rows == 0 && f[0]->res.steps < 5);
	fx_run(f[0], "get %u gid 1u ; return");
	fx_run(f[1], "get %u gid 1u ; return");
	assert_true(f[0]->res.rows == f[1]->res.rows && f[0]->res.rows == 300);
	assert_true(f[0]->res.steps < f[1]->res.steps);
	fx_free(f[0]);
	fx_free(f[1]);
}

/* ---- structured statuses, other shards ----------------------------------- */

/* Field @name of the @idx-th STATUS record of the last reply, formatted
 * ("" if absent); the END record's status count in *end_statuses. */
static const char *
status_field(struct fx *f, unsigned int idx, const char *name, uint64_t *end_statuses)
{
	static char out[256];
	static struct scpp_wire_record rec;
	struct scpp_wire_reply_reader rd;
	unsigned int k = 0;

	out[0] = '\0';
	scpp_wire_reply_reader_init(&rd, f->reply, f->reply_len);
	while (scpp_wire_reply_next(&rd, &rec) == 1) {
		if (rec.type == SCPP_REC_END && end_statuses != NULL)
			*end_statuses = rec.end.statuses;
		if (rec.type != SCPP_REC_STATUS || k++ != idx)
			continue;
		for (uint16_t i = 0; i < rec.status.n; i++)
			if (rec.status.key[i].len == strlen(name) &&
			    memcmp(rec.status.key[i].p, name, rec.status.key[i].len) == 0)
				scpp_value_format(out, sizeof(out), &rec.status.v[i]);
	}
	return out;
}

/* Statuses carry the variable, row and client as fields; a block reads
 * its own statuses back through the status variable; END counts them
 * all, also those not sent, and its errno is the first one's. */
static void
test_adv_statuses_are_structured_and_readable(void **state)
{
	struct scpp_eval_limits lim = {.max_statuses = 2};
	struct fx *f = fx_new(false, &lim);
	uint64_t nst = 0;

	(void)state;
	f->env.client_id = 77;
	assert_string_equal(fx_run(f, "create %x T ; create %y T ; return"), "cols= rows= end=ok");
	assert_string_equal(fx_run(f, "get %x type \"T\" ; set @0.1.0.9.9 a %x !%e ; return %e"),
			    "cols=e rows=[2u][2u] st=ENOENT@1 st=ENOENT@1 end=errors");
	assert_string_equal(status_field(f, 0, "variable", &nst), "\"e\"");
	assert_string_equal(status_field(f, 0, "row", NULL), "0u");
	assert_string_equal(status_field(f, 1, "row", NULL), "1u");
	assert_string_equal(status_field(f, 0, "client", NULL), "77u");
	assert_string_equal(status_field(f, 0, "offset", NULL), "");
	assert_true(nst == 2);
	/* Read back: one row per status the variable holds. */
	assert_string_equal(fx_run(f, "set @0.1.0.9.9 a 1 !%e ; set @0.1.0.9.8 a 1 !%e ; "
				   "get %e command %c ; get %e errno_name \"ENOENT\" ; return %c"),
			    "cols=c rows=[0u][0u][1u][1u] st=ENOENT@0 st=ENOENT@1 end=errors");
	assert_string_equal(fx_run(f, "set @0.1.0.9.9 a 1 !%e ; get %e row %r ; "
				   "get %e %k \"ENOENT\" ; return %r %k"),
			    "cols=r,k rows=[0u|\"errno_name\"][0u|\"code\"] st=ENOENT@0 end=errors");
	/* Five failures, two kept: END says five; its errno is ENOENT. */
	fx_run(f, "set @0.1.0.9.1 a 1 !%e ; set @0.1.0.9.2 a 1 !%e ; set @0.1.0.9.3 a 1 !%e ; "
		  "set @0.1.0.9.4 a 1 !%e ; set @0.1.0.9.5 a 1 !%e ; return %e");
	assert_string_equal(f->summary, "cols=e rows=[5u] st=ENOENT@0 st=ENOENT@1 end=errors");
	status_field(f, 0, "errno", &nst);
	assert_true(nst == 5);
	assert_int_equal(f->res.err, SCPP_ERRNO_NOENT);
	/* An abort's status has the row and no variable. */
	fx_run(f, "get %x type \"T\" ; set %x a 1 ; set @0.1.0.9.9 b %x");
	assert_string_equal(status_field(f, 0, "row", &nst), "0u");
	assert_string_equal(status_field(f, 0, "variable", NULL), "");
	assert_true(nst == 1);
	/* A status variable still may not appear anywhere else. */
	assert_string_equal(fx_run(f, "set @0.1.0.9.9 a 1 !%e ; set %e a 1"),
			    "cols=e rows= st=EINVAL@0 end=aborted");
	assert_non_null(strstr(fx_message(f), "can only be the entity of a get"));
	fx_free(f);
}

/* A command on an entity of another shard or node says where it lives;
 * a reference to one is accepted (its type check is the owner's). */
static void
test_adv_other_shards_are_named_not_missing(void **state)
{
	struct fx *f = fx_new(true, NULL);

	(void)state;
	assert_string_equal(fx_run(f, "get @0.1.1.5.5 name %n"), "cols=n rows= st=EREMOTE@0 end=aborted");
	assert_non_null(strstr(fx_message(f), "lives on shard 1 of this node (this is shard 0)"));
	assert_string_equal(status_field(f, 0, "owner", NULL), "@0.1.1.0.0");
	assert_string_equal(status_field(f, 0, "code", NULL), "\"E_NOT_HERE\"");
	/* A search too: not "no rows". */
	assert_string_equal(fx_run(f, "get @0.2.0.1.1 %a %v"), "cols=a,v rows= st=EREMOTE@0 end=aborted");
	assert_non_null(strstr(fx_message(f), "lives on node 2"));
	assert_string_equal(fx_run(f, "set @0.2.0.1.1 x 1 !%e ; return %e"),
			    "cols=e rows=[1u] st=EREMOTE@0 end=errors");
	/* A local OID that does not exist is still ENOENT. */
	assert_string_equal(fx_run(f, "get @0.1.0.5.5 name %n"), "cols=n rows= st=ENOENT@0 end=aborted");
	/* A directory entry naming a file of another shard: accepted. */
	assert_string_equal(fx_run(f, "create %d Directory ; set %d ino 2u ; set %d dev 1u ; "
				   "set %d mode 16877u ; set %d uid 0u ; set %d gid 0u ; "
				   "set %d entries[\"far\"] @0.1.1.1.9 ; return"),
			    "cols= rows= end=ok");
	assert_string_equal(fx_run(f, "create %d Directory ; set %d ino 3u ; set %d dev 1u ; "
				   "set %d mode 16877u ; set %d uid 0u ; set %d gid 0u ; "
				   "set %d entries[\"near\"] @0.1.0.1.999 ; return"),
			    "cols= rows= st=ENOENT@6 end=aborted");
	fx_free(f);
}

/* ---- bulk delete ------------------------------------------------------------ */

#define BULK 1000000u

static void
fill_map(struct fx *f, struct scpp_oid e, uint32_t m, uint32_t n)
{
	for (uint32_t k = 0; k < n; k++) {
		struct scpp_value key = scpp_value_u64(k), v = scpp_value_u64(k * 3);

		assert_int_equal(scpp_store_map_set(f->store, e, m, &key, &v), 0);
	}
}

/* A map of 10^6 entries (10^6 > max_steps) is deleted by one ordinary,
 * atomic command: O(1) at once, its entries freed incrementally after the
 * block; an abort brings it back whole; the freed pool is reusable, also
 * before the reclaim has caught up (on demand). */
static void
test_adv_bulk_delete_of_a_million_entry_map(void **state)
{
	struct scpp_store_stats st;
	struct scpp_oid e;
	struct fx *f;
	uint32_t m;
	char text[256], eo[64];

	(void)state;
	fx_max_entries = 1u << 16;
	fx_max_map_entries = BULK + 16;
	fx_hash_seed = 0xb01c; /* fixed: the same layout every run */
	f = fx_new(false, NULL);
	fx_max_entries = fx_max_map_entries = 0;
	fx_hash_seed = 0;
	assert_string_equal(fx_run(f, "create %x T ; set %x m[0u] 0u ; return %x"),
			    "cols=x rows=[@0.1.0.1.1] end=ok");
	e = scpp_oid_make(0, 1, 0, 1, 1);
	scpp_oid_format(eo, sizeof(eo), e);
	m = (uint32_t)scpp_store_dict_lookup(f->dict, "m", 1);
	fill_map(f, e, m, BULK);
	assert_true(scpp_store_map_count(f->store, e, m) == BULK);

	/* An abort revives it: same count, same order at both ends. */
	snprintf(text, sizeof(text), "del %s m ; set @0.1.0.9.9 x 1", eo);
	assert_string_equal(fx_run(f, text), "cols= rows= st=ENOENT@1 end=aborted");
	assert_true(f->res.steps < 10);
	assert_true(scpp_store_map_count(f->store, e, m) == BULK);
	snprintf(text, sizeof(text), "get %s m[0u] %%a ; get %s m[999999u] %%b ; return %%a %%b",
		 eo, eo);
	assert_string_equal(fx_run(f, text), "cols=a,b rows=[0u|2999997u] end=ok");

	/* Committed: gone at once; the entries go over the next blocks. */
	snprintf(text, sizeof(text), "del %s m ; get %s m[%%k] %%v", eo, eo);
	assert_string_equal(fx_run(f, text), "cols=k,v rows= end=ok");
	assert_true(f->res.steps < 10);
	scpp_store_stats_get(f->store, &st);
	assert_true(st.graveyard_maps == 1);
	assert_true(st.graveyard_entries == BULK - SCPP_EVAL_RECLAIM);
	assert_true(st.map_entries == BULK - SCPP_EVAL_RECLAIM);
	assert_true(scpp_store_map_count(f->store, e, m) == -ENOENT);

	/* Refill at once: the pool is short, so the store reclaims on demand. */
	fill_map(f, e, m, BULK);
	scpp_store_stats_get(f->store, &st);
	assert_true(st.graveyard_maps == 0 && st.graveyard_entries == 0);
	assert_true(st.map_entries == BULK);

	/* The whole entity, map included, in one command. */
	snprintf(text, sizeof(text), "del %s ; get %s type %%t !%%e ; return %%e", eo, eo);
	assert_string_equal(fx_run(f, text), "cols=e rows= st=ENOENT@1 end=errors");
	assert_true(f->res.steps < 20);
	assert_false(scpp_store_entity_exists(f->store, e));
	while (scpp_store_reclaim(f->store, 1u << 16) > 0)
		;
	scpp_store_stats_get(f->store, &st);
	assert_true(st.map_entries == 0 && st.maps == 0 && st.graveyard_maps == 0);
	fx_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_adv_scan_under_enumeration_stops_at_the_step_limit,
				       reset_limits),
		cmocka_unit_test_setup(test_adv_scan_under_enumeration_stops_at_the_time_budget,
				       reset_limits),
		cmocka_unit_test_setup(test_adv_unknown_attribute_under_enumeration_costs_no_scan,
				       reset_limits),
		cmocka_unit_test_setup(test_adv_full_scan_of_a_big_shard_is_over_the_default_budget,
				       reset_limits),
		cmocka_unit_test_setup(test_adv_colliding_keys_are_bounded_and_charged,
				       reset_limits),
		cmocka_unit_test_setup(test_adv_byte_counter_does_not_wrap, reset_limits),
		cmocka_unit_test_setup(test_adv_limits_hold_at_their_boundaries, reset_limits),
		cmocka_unit_test_setup(test_adv_limits_outside_their_range_are_refused,
				       reset_limits),
		cmocka_unit_test(test_adv_dictionary_flood_by_failing_blocks_changes_nothing),
		cmocka_unit_test(test_adv_new_names_are_interned_when_the_block_commits),
		cmocka_unit_test(test_adv_new_name_limits_are_statuses),
		cmocka_unit_test(test_adv_schema_messages_name_unknown_attributes),
		cmocka_unit_test(test_adv_schema_write_by_copy_or_alloc_is_refused),
		cmocka_unit_test(test_adv_schema_change_through_any_shard_reaches_every_shard),
		cmocka_unit_test(test_adv_schema_change_instance_scan_is_charged),
		cmocka_unit_test(test_adv_indexed_lookup_does_not_scan),
		cmocka_unit_test(test_adv_statuses_are_structured_and_readable),
		cmocka_unit_test(test_adv_other_shards_are_named_not_missing),
		cmocka_unit_test(test_adv_bulk_delete_of_a_million_entry_map),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
