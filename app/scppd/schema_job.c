/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Runtime schema changes, node-wide (docs/SCHEMA.md §7): compiled on the
 * control lcore, checked on every shard, then published or refused.
 *
 *   worker (origin)       the block wrote schema entities: lib/eval held
 *                         it before its commit (env.schema_hold, park.c)
 *                         with the publisher's gate taken; parked() copies
 *                         the recorded writes here: state COMPILE
 *   control lcore         replays them on the published schema and
 *                         compiles (scpp_eval_edit_compile: allocates, on
 *                         the control lcore only); an invalid change: DONE
 *                         refused; types whose instances can notice the
 *                         change: VOTE, else DONE accepted
 *   every worker          scans its shard, SCPPD_SCHEMA_VOTE_PER_TURN
 *                         entities per loop turn, checking the instances of
 *                         the changed types against the compiled schema;
 *                         votes yes at the end of its shard, or no with the
 *                         first instance that does not conform
 *   control lcore         all voted: DONE, accepted or refused (the first
 *                         refusal by worker order names the instance and
 *                         its shard)
 *   worker (origin)       accepted: hands the schema to the publisher
 *                         (scpp_schema_pub_submit: the gate stays closed
 *                         until the control lcore publishes it), switches
 *                         its evaluator to it and resumes the block, which
 *                         commits; refused: aborts the block, which is
 *                         undone whole, and opens the gate. State IDLE.
 *
 * One change at a time: the gate (scpp_schema_pub_begin) admits a single
 * change node-wide, so one job record suffices, and a block that finds the
 * gate taken is answered EAGAIN as before. Memory order: the side that
 * moves the state writes everything the next side reads first and stores
 * the state with release; readers load it with acquire. Votes likewise
 * (each worker's vote slot, its sequence number last).
 *
 * If the origin's block ends before the answer (park_timeout_ms, its
 * session closed), the origin finds its handle stale when the job is
 * done, frees the compiled schema and opens the gate.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <rte_telemetry.h>

#include "scppd.h"

enum job_state {
	JOB_IDLE = 0,
	JOB_COMPILE = 1,
	JOB_VOTE = 2,
	JOB_DONE = 3,
};

static const char *const state_name[] = {"idle", "compiling", "voting", "answering"};

/* Bytes of the recorded writes' values a job holds (a suspension's whole
 * memory fits). */
#define JOB_BYTES SCPPD_PARK_SUSP_BYTES

struct job_vote {
	uint64_t seq;   /* the job it answers (written last, release) */
	int rc;         /* 0 yes; <0 no */
	char msg[SCPP_STATUS_MSG_MAX];
} __rte_cache_aligned;

uint32_t scppd_schema_job_state;

static struct {
	uint16_t origin;
	uint16_t origin_shard;
	uint64_t handle;
	uint64_t version;          /* compiled against this published version */
	uint64_t seq;              /* jobs started, for the votes */
	unsigned int nops;
	struct scpp_eval_edit_op ops[SCPP_EVAL_EDIT_MAX];
	uint8_t bytes[JOB_BYTES];
	struct scpp_schema *next;  /* compiled; the origin submits or frees it */
	unsigned int nchanged;
	struct scpp_oid changed[SCPPD_SCHEMA_TYPES_MAX];
	int result;
	char msg[SCPP_STATUS_MSG_MAX];
	struct job_vote vote[SCPP_CONFIG_MAX_WORKERS];
	/* control-side counters (telemetry reads them relaxed) */
	uint64_t compiled, rejected_compile, rejected_vote, accepted, no_vote;
} J;

static uint32_t
state_load(void)
{
	return __atomic_load_n(&scppd_schema_job_state, __ATOMIC_ACQUIRE);
}

static void
state_store(uint32_t s)
{
	__atomic_store_n(&scppd_schema_job_state, s, __ATOMIC_RELEASE);
}

/* A status message, truncated at SCPP_STATUS_MSG_MAX like every status's
 * (the shard and the instance come first, so they survive). */
static __attribute__((format(printf, 2, 3))) void
msgf(char *buf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, SCPP_STATUS_MSG_MAX, fmt, ap);
	va_end(ap);
}

/* ---- origin worker ---- */

static void
schema_parked(struct scppd_worker *w, uint64_t h, const struct scpp_wire_block *b, uint16_t cmd,
	      uint64_t user)
{
	const struct scpp_eval_edit_op *ops;
	unsigned int n = scpp_eval_susp_edit(scppd_park_susp_of(w, h), &ops);
	size_t off = 0;

	(void)b;
	(void)cmd;
	(void)user;
	/* The gate is ours (lib/eval took it before holding): the record is
	 * free, whatever the last job left. */
	SCPP_VERIFY(state_load() == JOB_IDLE && n > 0);
	memcpy(J.ops, ops, n * sizeof(*ops));
	for (unsigned int i = 0; i < n; i++) {
		struct scpp_value *vs[2] = {&J.ops[i].key, &J.ops[i].v};

		for (int k = 0; k < 2; k++) {
			if ((vs[k]->type != SCPP_VT_STR && vs[k]->type != SCPP_VT_BYTES) ||
			    vs[k]->len == 0)
				continue;
			/* Fits: the values came out of a suspension this size. */
			SCPP_VERIFY(off + vs[k]->len <= sizeof(J.bytes));
			memcpy(J.bytes + off, vs[k]->p, vs[k]->len);
			vs[k]->p = J.bytes + off;
			off += vs[k]->len;
		}
	}
	J.nops = n;
	J.origin = w->idx;
	J.origin_shard = w->shard;
	J.handle = h;
	J.version = w->env.schema_version;
	J.next = NULL;
	state_store(JOB_COMPILE);
	scppd_control_wake();
}

/*
 * The answer came: act on it for the block, and free the record. Order
 * matters: the record is freed (IDLE) before the gate opens, because the
 * next change may start the moment it does and finds the record in use
 * otherwise; the gate stays ours until then.
 */
static void
origin_finish(struct scppd_worker *w)
{
	struct scpp_schema_pub *pub = scppd_g.schema_pub;
	struct scpp_schema *next = J.next;
	int result = J.result;
	bool resumed = false;

	if (result == 0)
		resumed = scppd_park_ready(w, J.handle, SCPPD_PARK_FROM_STOP, 0) == 0;
	else
		(void)scppd_park_abort(w, J.handle, result, J.msg);
	J.next = NULL;
	state_store(JOB_IDLE);
	if (resumed && next != NULL) {
		/* Ours to publish: the gate stays closed until the control
		 * lcore has, and this worker runs on it from now on (its shard
		 * holds the change: the held block's writes). */
		scpp_schema_pub_submit(pub, w->idx, next);
		scppd_control_wake();
		w->env.schema = next;
		scpp_counter_add(&w->stats.schema_changes, 1);
		return;
	}
	/* Refused, or the block ended meanwhile (expired, session closed). */
	scpp_schema_free(next);
	scpp_schema_pub_abandon(pub, w->idx);
}

/* ---- every worker: the vote ---- */

static bool
changed_type(struct scpp_oid t)
{
	for (unsigned int i = 0; i < J.nchanged; i++)
		if (scpp_oid_eq(J.changed[i], t))
			return true;
	return false;
}

static void
vote(struct scppd_worker *w, int rc, const char *msg)
{
	struct job_vote *v = &J.vote[w->idx];

	v->rc = rc;
	msgf(v->msg, "%s", msg != NULL ? msg : "");
	scpp_counter_add(&w->stats.schema_votes, 1);
	/* Release: the control lcore that sees the sequence sees the vote. */
	__atomic_store_n(&v->seq, J.seq, __ATOMIC_RELEASE);
	scppd_control_wake();
}

/*
 * One loop turn of this worker's check: at most SCPPD_SCHEMA_VOTE_PER_TURN
 * entities of the shard's live-entity list, each a type lookup and, for an
 * instance of a changed type, a conformance check of its attributes.
 */
static void
vote_step(struct scppd_worker *w)
{
	const struct scpp_schema *ns = J.next;
	uint32_t tid = scpp_schema_type_attr_id(ns);
	struct scpp_oid_prefix local = scpp_oid_shard_prefix(
		scpp_oid_locale(w->env.node), scpp_oid_node(w->env.node), scpp_oid_shard(w->env.node));
	struct scpp_schema_access acc;
	struct scpp_oid batch[64];
	unsigned int seen = 0;

	if (w->schema_vote_seq != J.seq) {
		w->schema_vote_seq = J.seq;
		w->schema_cursor = 0;
	}
	scpp_schema_store_access(&acc, w->store, ns, NULL, NULL);
	scpp_schema_store_access_local(&acc, &local);
	while (seen < SCPPD_SCHEMA_VOTE_PER_TURN) {
		int n = scpp_store_entity_iter(w->store, &w->schema_cursor, batch,
					       SCPP_MIN(SCPP_ARRAY_SIZE(batch),
							SCPPD_SCHEMA_VOTE_PER_TURN - seen));

		for (int i = 0; i < n; i++) {
			struct scpp_schema_diag diag;
			struct scpp_value tv;
			char msg[SCPP_STATUS_MSG_MAX];

			if (scpp_store_get(w->store, batch[i], tid, &tv) != 0 ||
			    tv.type != SCPP_VT_OID || !changed_type(tv.oid))
				continue;
			scpp_counter_add(&w->stats.schema_checked, 1);
			memset(&diag, 0, sizeof(diag));
			if (scpp_schema_check_instance(ns, tv.oid, batch[i], &acc, &diag) < 0) {
				msgf(msg, "schema change rejected on shard %u: %s: %s", w->shard,
				     diag.path, diag.reason);
				vote(w, -SCPP_E_SCHEMA, msg);
				return;
			}
		}
		seen += n > 0 ? (unsigned int)n : 0;
		if (n <= 0 || w->schema_cursor == UINT64_MAX) {
			vote(w, 0, NULL);
			return;
		}
	}
}

void
scppd_schema_poll_slow(struct scppd_worker *w)
{
	uint32_t s = state_load();

	if (s == JOB_VOTE &&
	    __atomic_load_n(&J.vote[w->idx].seq, __ATOMIC_RELAXED) != J.seq)
		vote_step(w);
	else if (s == JOB_DONE && w->idx == J.origin)
		origin_finish(w);
}

/* ---- control lcore ---- */

static void
schema_step(struct scppd *d)
{
	uint32_t s = state_load();

	if (s == JOB_COMPILE) {
		const struct scpp_schema *cur = scpp_schema_pub_current(d->schema_pub, NULL);
		struct scpp_schema *next = NULL;
		unsigned int n;
		int rc;

		/* The origin took the gate on this version: nothing newer. */
		SCPP_VERIFY(scpp_schema_pub_version(d->schema_pub) == J.version);
		rc = scpp_eval_edit_compile(cur, J.ops, J.nops, &next, J.msg, sizeof(J.msg));
		if (rc < 0) {
			scpp_counter_add(&J.rejected_compile, 1);
			J.result = rc;
			state_store(JOB_DONE);
			return;
		}
		scpp_counter_add(&J.compiled, 1);
		n = scpp_schema_changed_types(cur, next, J.changed, SCPPD_SCHEMA_TYPES_MAX);
		J.next = next;
		J.result = 0;
		if (n == 0) {
			/* Nothing an instance can notice changed (a doc
			 * string, a new type): no instance to check. */
			scpp_counter_add(&J.no_vote, 1);
			scpp_counter_add(&J.accepted, 1);
			state_store(JOB_DONE);
			return;
		}
		if (n > SCPPD_SCHEMA_TYPES_MAX) {
			scpp_counter_add(&J.rejected_compile, 1);
			scpp_schema_free(next);
			J.next = NULL;
			J.result = -SCPP_E_SCHEMA;
			msgf(J.msg, "schema change rejected: it changes %u types at once, at most %u "
			     "may change in one block", n, SCPPD_SCHEMA_TYPES_MAX);
			state_store(JOB_DONE);
			return;
		}
		J.nchanged = n;
		J.seq++;
		SCPPD_LOG(INFO, "schema change from shard %u compiled (%u types changed): "
			  "checking the instances on every shard", J.origin_shard, n);
		state_store(JOB_VOTE);
		return;
	}
	if (s == JOB_VOTE) {
		const struct job_vote *no = NULL;

		for (unsigned int i = 0; i < d->nb_workers; i++) {
			if (__atomic_load_n(&J.vote[i].seq, __ATOMIC_ACQUIRE) != J.seq)
				return; /* not every shard has answered yet */
			if (J.vote[i].rc < 0 && no == NULL)
				no = &J.vote[i];
		}
		if (no != NULL) {
			scpp_counter_add(&J.rejected_vote, 1);
			J.result = no->rc;
			msgf(J.msg, "%s", no->msg);
			SCPPD_LOG(INFO, "schema change from shard %u refused: %s", J.origin_shard,
				  J.msg);
		} else {
			scpp_counter_add(&J.accepted, 1);
		}
		state_store(JOB_DONE);
	}
}

bool
scppd_schema_tick(struct scppd *d)
{
	schema_step(d);
	/* A change in flight: its next step soon, wakes or not. */
	return state_load() != JOB_IDLE;
}

static const struct scppd_park_ops schema_ops = {
	.parked = schema_parked,
	.name = "the schema change to be checked on every shard",
};

void
scppd_schema_init(void)
{
	scppd_park_register(SCPPD_PARK_SCHEMA, &schema_ops);
}

void
scppd_schema_free(void)
{
	/* A job the workers left unanswered at the stop. */
	scpp_schema_free(J.next);
	J.next = NULL;
}

static int
cmd_schema(const char *cmd __rte_unused, const char *params __rte_unused, struct rte_tel_data *d)
{
	struct scppd_stats sum;
	uint32_t s = __atomic_load_n(&scppd_schema_job_state, __ATOMIC_RELAXED);

	scppd_stats_sum(&sum);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "version", scpp_schema_pub_version(scppd_g.schema_pub));
	rte_tel_data_add_dict_string(d, "change", state_name[s < 4 ? s : 0]);
	/* Compiles happen here, on the control lcore, and nowhere else. */
	rte_tel_data_add_dict_u64(d, "control_compiled", scpp_counter_read(&J.compiled));
	rte_tel_data_add_dict_u64(d, "rejected_invalid", scpp_counter_read(&J.rejected_compile));
	rte_tel_data_add_dict_u64(d, "rejected_by_shard", scpp_counter_read(&J.rejected_vote));
	rte_tel_data_add_dict_u64(d, "accepted", scpp_counter_read(&J.accepted));
	rte_tel_data_add_dict_u64(d, "accepted_without_vote", scpp_counter_read(&J.no_vote));
	rte_tel_data_add_dict_u64(d, "votes", sum.schema_votes);
	rte_tel_data_add_dict_u64(d, "instances_checked", sum.schema_checked);
	return 0;
}

int
scppd_schema_telemetry_init(void)
{
	return rte_telemetry_register_cmd("/scpp/schema", cmd_schema,
					  "Runtime schema changes: version, the change in "
					  "flight, compiles (control lcore), refusals, votes. "
					  "No parameters.");
}
