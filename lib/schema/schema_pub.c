/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The schema publisher: one schema for every shard of a node.
 *
 * Design notes
 * ------------
 * - One change at a time, node-wide. A worker that is about to commit a
 *   block with a schema change takes the gate (a CAS on one word) if, and
 *   only if, it runs on the current published version and no other change
 *   is in flight; otherwise the block is refused with -EAGAIN ("retry").
 *   So changes are linearised: each is compiled against the version every
 *   shard will have when it is published, and no two shards can commit
 *   conflicting changes.
 * - The worker that holds the gate hands its compiled schema to the
 *   control lcore (submit); the control lcore publishes it (version + 1,
 *   release) and opens the gate again. Every worker polls the version once
 *   per loop (one acquire load); when it moved, the worker adopts the new
 *   schema: it rewrites the schema entities in its shard (the originating
 *   shard already holds them) and switches its evaluator to it.
 * - Reclamation is RCU in the QSBR style, with "adopted version v" as the
 *   quiescent state: a worker keeps using the schema it adopted across
 *   many loop iterations (its evaluator holds the pointer), so a grace
 *   period cannot end at a mere loop iteration, which is why the node's
 *   rte_rcu_qsbr variable is not used here. Each worker publishes the
 *   version it adopted (release); the control lcore frees the schema that
 *   version v replaced once every worker has adopted v or later.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scpp_schema.h"
#include "scpp_store.h"
#include "schema_priv.h"

#define GATE_FREE UINT32_MAX
#define PUB_RETIRED_MAX 64

struct retired {
	struct scpp_schema *s;
	uint64_t version;      /* freed once every worker adopted this */
};

struct worker_slot {
	uint64_t adopted;      /* version this worker uses (atomic) */
	uint8_t pad[56];
} __attribute__((aligned(64)));

struct scpp_schema_pub {
	/* Read by every worker every loop: its own line. */
	uint64_t version __attribute__((aligned(64)));
	struct scpp_schema *cur;
	/* The gate and the hand-off, written by the worker holding it. */
	uint32_t gate __attribute__((aligned(64)));
	struct scpp_schema *submitted;
	uint32_t origin;       /* the worker that submitted it */
	/* below: control path only */
	unsigned int nworkers;
	struct retired ret[PUB_RETIRED_MAX];
	unsigned int nret;
	uint64_t published;
	struct worker_slot *w;
};

struct scpp_schema_pub *
scpp_schema_pub_create(struct scpp_schema *initial, unsigned int nworkers)
{
	struct scpp_schema_pub *p;

	if (initial == NULL || nworkers == 0 || nworkers >= GATE_FREE) {
		errno = EINVAL;
		return NULL;
	}
	p = aligned_alloc(64, sizeof(*p));
	if (p == NULL)
		goto nomem;
	memset(p, 0, sizeof(*p));
	p->w = aligned_alloc(64, sizeof(*p->w) * nworkers);
	if (p->w == NULL) {
		free(p);
		goto nomem;
	}
	memset(p->w, 0, sizeof(*p->w) * nworkers);
	p->version = 1;
	initial->pub_version = 1;
	p->cur = initial;
	p->gate = GATE_FREE;
	p->nworkers = nworkers;
	for (unsigned int i = 0; i < nworkers; i++)
		p->w[i].adopted = 1;
	return p;
nomem:
	errno = ENOMEM;
	return NULL;
}

void
scpp_schema_pub_free(struct scpp_schema_pub *p)
{
	if (p == NULL)
		return;
	for (unsigned int i = 0; i < p->nret; i++)
		scpp_schema_free(p->ret[i].s);
	if (p->submitted != NULL && p->submitted != p->cur)
		scpp_schema_free(p->submitted);
	scpp_schema_free(p->cur);
	free(p->w);
	free(p);
}

uint64_t
scpp_schema_pub_version(const struct scpp_schema_pub *p)
{
	/* Acquire pairs with the release store in service(): seeing the new
	 * version means seeing the schema published with it. */
	return __atomic_load_n(&p->version, __ATOMIC_ACQUIRE);
}

const struct scpp_schema *
scpp_schema_pub_current(const struct scpp_schema_pub *p, uint64_t *version)
{
	/* Acquire pairs with the release store of cur in service(): the
	 * schema, and the version written into it before, are seen whole.
	 * The version comes from the schema itself, so the pair is always
	 * consistent (the publisher's own counter may already be ahead). */
	const struct scpp_schema *s = __atomic_load_n(&p->cur, __ATOMIC_ACQUIRE);

	if (version != NULL)
		*version = s->pub_version;
	return s;
}

void
scpp_schema_pub_adopted(struct scpp_schema_pub *p, unsigned int worker, uint64_t version)
{
	/* Release: this worker no longer reads the schemas older than
	 * @version once the control lcore sees it. */
	__atomic_store_n(&p->w[worker].adopted, version, __ATOMIC_RELEASE);
}

int
scpp_schema_pub_begin(struct scpp_schema_pub *p, unsigned int worker, uint64_t version)
{
	uint32_t free_gate = GATE_FREE;

	if (version != scpp_schema_pub_version(p))
		return -EAGAIN; /* this worker has not adopted the latest yet */
	/* Acquire: the gate holder sees the state its predecessor left. */
	if (!__atomic_compare_exchange_n(&p->gate, &free_gate, worker, false, __ATOMIC_ACQUIRE,
					 __ATOMIC_RELAXED))
		return -EAGAIN;
	/* Re-check under the gate: a publication may have landed between the
	 * two loads (the gate opens only after the version moved). */
	if (version != scpp_schema_pub_version(p)) {
		__atomic_store_n(&p->gate, GATE_FREE, __ATOMIC_RELEASE);
		return -EAGAIN;
	}
	return 0;
}

void
scpp_schema_pub_abandon(struct scpp_schema_pub *p, unsigned int worker)
{
	if (__atomic_load_n(&p->gate, __ATOMIC_RELAXED) == worker)
		__atomic_store_n(&p->gate, GATE_FREE, __ATOMIC_RELEASE);
}

void
scpp_schema_pub_submit(struct scpp_schema_pub *p, unsigned int worker, struct scpp_schema *next)
{
	SCPP_VERIFY(__atomic_load_n(&p->gate, __ATOMIC_RELAXED) == worker);
	p->origin = worker;
	/* Release: the control lcore that acquires the pointer sees the
	 * compiled schema whole. The gate stays closed until it publishes. */
	__atomic_store_n(&p->submitted, next, __ATOMIC_RELEASE);
}

/* Free what every worker has stopped using. */
static void
reclaim(struct scpp_schema_pub *p)
{
	uint64_t low = UINT64_MAX;
	unsigned int k = 0;

	for (unsigned int i = 0; i < p->nworkers; i++) {
		uint64_t a = __atomic_load_n(&p->w[i].adopted, __ATOMIC_ACQUIRE);

		low = a < low ? a : low;
	}
	for (unsigned int i = 0; i < p->nret; i++) {
		if (p->ret[i].version <= low)
			scpp_schema_free(p->ret[i].s);
		else
			p->ret[k++] = p->ret[i];
	}
	p->nret = k;
}

int
scpp_schema_pub_service(struct scpp_schema_pub *p, unsigned int *origin)
{
	struct scpp_schema *next;

	reclaim(p);
	next = __atomic_load_n(&p->submitted, __ATOMIC_ACQUIRE);
	if (next == NULL)
		return 0;
	if (p->nret == PUB_RETIRED_MAX)
		return -EBUSY; /* a worker is not adopting: wait for it */
	p->ret[p->nret].s = p->cur;
	p->ret[p->nret].version = p->version + 1;
	p->nret++;
	next->pub_version = p->version + 1;
	/* Release: a worker that acquires cur sees the schema whole. */
	__atomic_store_n(&p->cur, next, __ATOMIC_RELEASE);
	p->submitted = NULL;
	p->published++;
	if (origin != NULL)
		*origin = p->origin;
	/* Release: cur is visible to every worker that acquires version. */
	__atomic_store_n(&p->version, p->version + 1, __ATOMIC_RELEASE);
	/* Only now may the next change start: it compiles against this one. */
	__atomic_store_n(&p->gate, GATE_FREE, __ATOMIC_RELEASE);
	reclaim(p);
	return 1;
}

uint64_t
scpp_schema_pub_published(const struct scpp_schema_pub *p)
{
	return p->published;
}

unsigned int
scpp_schema_pub_retired(const struct scpp_schema_pub *p)
{
	return p->nret;
}

/* ---- rewriting a shard's schema entities ---------------------------------- */

struct ent_list {
	struct scpp_oid *o;
	size_t n, cap;
	int rc;
};

static int
collect_entity(void *arg, struct scpp_oid e, const char *attr, uint32_t attr_id,
	       const struct scpp_value *key, const struct scpp_value *v)
{
	struct ent_list *l = arg;

	(void)attr;
	(void)attr_id;
	(void)key;
	(void)v;
	if (l->n > 0 && scpp_oid_eq(l->o[l->n - 1], e))
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 256;
		struct scpp_oid *o = realloc(l->o, cap * sizeof(*o));

		if (o == NULL)
			return l->rc = -ENOMEM;
		l->o = o;
		l->cap = cap;
	}
	l->o[l->n++] = e;
	return 0;
}

int
scpp_schema_rematerialize(const struct scpp_schema *old, const struct scpp_schema *next,
			  struct scpp_store *st)
{
	struct ent_list gone = {0}, keep = {0};
	int rc;

	if (next == NULL || st == NULL)
		return -EINVAL;
	/* Schema entities the new version no longer has (a deleted type or
	 * attribute) are removed; every other one is rewritten whole. */
	if (old != NULL) {
		scpp_schema_foreach_triple(old, collect_entity, &gone);
		scpp_schema_foreach_triple(next, collect_entity, &keep);
		rc = gone.rc != 0 ? gone.rc : keep.rc;
		for (size_t i = 0; rc == 0 && i < gone.n; i++) {
			bool kept = false;

			for (size_t j = 0; j < keep.n && !kept; j++)
				kept = scpp_oid_eq(gone.o[i], keep.o[j]);
			if (!kept && scpp_store_entity_exists(st, gone.o[i]))
				rc = scpp_store_entity_delete(st, gone.o[i]);
		}
		free(gone.o);
		free(keep.o);
		if (rc < 0)
			return rc;
	}
	return scpp_schema_materialize(next, st);
}
