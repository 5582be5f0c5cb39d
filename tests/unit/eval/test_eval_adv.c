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
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
