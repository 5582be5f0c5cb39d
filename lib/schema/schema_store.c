/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The schema over a store shard: interning through the store dictionary,
 * writing the schema entities into a shard, and access hooks that let the
 * validation functions read a shard.
 *
 * The hooks keep their state inside struct scpp_schema_access itself
 * (acc->ctx == acc), so the evaluator can build one on its stack per block
 * without allocating.
 */
#include <errno.h>
#include <string.h>

#include "scpp_common.h"
#include "scpp_store.h"
#include "schema_priv.h"

/* Attributes read per store call in the enumerations below. */
#define ITER_BATCH 16

int
scpp_schema_store_intern(void *dict, const char *name, size_t len, uint32_t *id)
{
	int64_t r = scpp_store_dict_intern(dict, name, len);

	if (r < 0)
		return (int)r;
	*id = (uint32_t)r;
	return 0;
}

struct mat_ctx {
	struct scpp_store *st;
	struct scpp_oid cur; /* entity being written */
	int rc;
};

static int
mat_triple(void *arg, struct scpp_oid e, const char *attr, uint32_t attr_id,
	   const struct scpp_value *key, const struct scpp_value *v)
{
	struct mat_ctx *c = arg;
	int rc;

	(void)attr;
	/* Triples of one entity come together, `type` first: (re)create the
	 * entity when a new one starts, so stale triples of an earlier
	 * version of the schema do not survive. */
	if (!scpp_oid_eq(e, c->cur)) {
		c->cur = e;
		if (scpp_store_entity_exists(c->st, e)) {
			rc = scpp_store_entity_delete(c->st, e);
			if (rc < 0)
				return c->rc = rc;
		}
		rc = scpp_store_entity_create(c->st, e);
		if (rc < 0)
			return c->rc = rc;
	}
	if (key == NULL)
		rc = scpp_store_set(c->st, e, attr_id, v);
	else
		rc = scpp_store_map_set(c->st, e, attr_id, key, v);
	if (rc < 0)
		c->rc = rc;
	return rc;
}

int
scpp_schema_index_sync(const struct scpp_schema *s, struct scpp_store *st)
{
	int rc = 0, r;

	if (s == NULL || st == NULL)
		return -EINVAL;
	/* Attribute ids are node-wide: an id is indexed if any declaration
	 * of it says so (the index then covers every entity with it). */
	for (uint32_t i = 0; i < s->nattrs; i++) {
		const struct scpp_schema_attr *a = &s->attrs[i];
		bool want = false;

		if (a->is_map)
			continue;
		for (uint32_t j = 0; j < s->nattrs && !want; j++)
			want = s->attrs[j].id == a->id && s->attrs[j].indexed && !s->attrs[j].is_map;
		r = scpp_store_index_attr(st, a->id, want);
		if (r == -EOPNOTSUPP)
			return 0; /* the shard has no value index */
		if (r < 0 && rc == 0)
			rc = r;
	}
	return rc;
}

int
scpp_schema_materialize(const struct scpp_schema *s, struct scpp_store *st)
{
	struct mat_ctx c = {.st = st, .cur = SCPP_OID_NIL};

	if (s == NULL || st == NULL)
		return -EINVAL;
	scpp_schema_foreach_triple(s, mat_triple, &c);
	if (c.rc < 0)
		return c.rc;
	return scpp_schema_index_sync(s, st);
}

static bool
is_local(const struct scpp_schema_access *acc, struct scpp_oid o)
{
	/* The well-known namespace is materialised on every shard. */
	return o.hi == 0 || acc->store_priv.local.len == 0 ||
	       scpp_oid_prefix_match(&acc->store_priv.local, o);
}

static int
st_type_of(void *ctx, struct scpp_oid e, struct scpp_oid *type)
{
	const struct scpp_schema_access *acc = ctx;
	struct scpp_store *st = acc->store_priv.store;
	struct scpp_value v;
	int rc;

	rc = scpp_store_get(st, e, scpp_schema_type_attr_id(acc->store_priv.schema), &v);
	if (rc == 0) {
		*type = v.type == SCPP_VT_OID ? v.oid : SCPP_OID_NIL;
		return 0;
	}
	if (rc != -ENOENT && rc != -EMEDIUMTYPE)
		return rc;
	if (scpp_store_entity_exists(st, e)) {
		*type = SCPP_OID_NIL; /* untyped (or a malformed `type` map) */
		return 0;
	}
	return is_local(acc, e) ? -ENOENT : -EREMOTE;
}

static int
st_has(void *ctx, struct scpp_oid e, uint32_t attr)
{
	const struct scpp_schema_access *acc = ctx;
	struct scpp_value v;
	int rc = scpp_store_get(acc->store_priv.store, e, attr, &v);

	if (rc == 0 || rc == -EMEDIUMTYPE)
		return 1;
	return rc == -ENOENT ? 0 : rc;
}

static int
st_set(void *ctx, struct scpp_oid e, uint32_t attr, const struct scpp_value *v)
{
	const struct scpp_schema_access *acc = ctx;

	return scpp_store_set(acc->store_priv.store, e, attr, v);
}

static int
st_foreach_map(struct scpp_store *st, struct scpp_oid e, uint32_t attr,
	       scpp_schema_attr_cb cb, void *arg)
{
	struct scpp_value keys[ITER_BATCH], vals[ITER_BATCH];
	uint64_t cur = 0;
	int n, rc;

	while ((n = scpp_store_map_iter(st, e, attr, &cur, keys, vals, ITER_BATCH)) > 0) {
		for (int i = 0; i < n; i++) {
			rc = cb(arg, attr, &keys[i], &vals[i]);
			if (rc != 0)
				return rc;
		}
		if (cur == UINT64_MAX)
			break;
	}
	return n < 0 ? n : 0;
}

static int
st_foreach_attr(void *ctx, struct scpp_oid e, scpp_schema_attr_cb cb, void *arg)
{
	const struct scpp_schema_access *acc = ctx;
	struct scpp_store *st = acc->store_priv.store;
	struct scpp_store_attr as[ITER_BATCH];
	uint64_t cur = 0;
	int n, rc;

	while ((n = scpp_store_attr_iter(st, e, &cur, as, ITER_BATCH)) > 0) {
		for (int i = 0; i < n; i++) {
			if (as[i].is_map)
				rc = st_foreach_map(st, e, as[i].attr, cb, arg);
			else
				rc = cb(arg, as[i].attr, NULL, &as[i].value);
			if (rc != 0)
				return rc;
		}
		if (cur == UINT64_MAX)
			break;
	}
	return n < 0 ? n : 0;
}

static int
st_foreach_instance(void *ctx, struct scpp_oid type, scpp_schema_entity_cb cb, void *arg)
{
	const struct scpp_schema_access *acc = ctx;

	return acc->store_priv.foreach_instance(acc->store_priv.inst_ctx, type, cb, arg);
}

void
scpp_schema_store_access(struct scpp_schema_access *acc, struct scpp_store *st,
			 const struct scpp_schema *s,
			 int (*foreach_instance)(void *ctx, struct scpp_oid type,
						 scpp_schema_entity_cb cb, void *arg),
			 void *inst_ctx)
{
	memset(acc, 0, sizeof(*acc));
	acc->type_of = st_type_of;
	acc->has = st_has;
	acc->set = st_set;
	acc->foreach_attr = st_foreach_attr;
	acc->foreach_instance = foreach_instance != NULL ? st_foreach_instance : NULL;
	acc->ctx = acc;
	acc->store_priv.store = st;
	acc->store_priv.schema = s;
	acc->store_priv.foreach_instance = foreach_instance;
	acc->store_priv.inst_ctx = inst_ctx;
}

void
scpp_schema_store_access_local(struct scpp_schema_access *acc,
			       const struct scpp_oid_prefix *local)
{
	acc->store_priv.local = *local;
}
