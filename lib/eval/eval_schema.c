/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The evaluator's bridge to lib/schema.
 *
 * Without a schema (env->schema NULL) every entity is free-form: any
 * attribute, any value, and `create %x T` records T under `type`.
 * With a schema, an entity's type is the Type entity its `type` attribute
 * names; writes to typed entities are checked against the declarations,
 * and objects created in a block are checked as a whole at its end.
 * The schema's attribute ids are the store dictionary's (the daemon builds
 * the schema with scpp_schema_store_intern), so no translation is needed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "eval_priv.h"
#include "scpp_schema.h"

/* The id of `type`: the schema's, or (free-form) the block's id for the
 * name, pending until the block commits like any new name. */
static uint32_t
type_attr_id(struct scpp_eval_ctx *ctx, const struct scpp_eval_env *env)
{
	int64_t id;

	if (env->schema != NULL)
		return scpp_schema_type_attr_id(env->schema);
	id = eval_name_id(ctx, env, (const uint8_t *)SCPP_SCHEMA_TYPE_ATTR,
			  (uint32_t)strlen(SCPP_SCHEMA_TYPE_ATTR), true);
	return id > 0 ? (uint32_t)id : 0;
}

/*
 * Schema access over this shard. References to entities outside the
 * shard's /64 prefix (another shard or node) cannot be checked here: the
 * store hooks answer -EREMOTE for them and the schema accepts them with
 * their type check deferred to the owner (docs/SCHEMA.md §6).
 */
static void
eval_access(struct scpp_schema_access *acc, const struct scpp_eval_env *env,
	    int (*inst)(void *, struct scpp_oid, scpp_schema_entity_cb, void *), void *inst_ctx)
{
	struct scpp_oid_prefix local = scpp_oid_shard_prefix(
		scpp_oid_locale(env->node), scpp_oid_node(env->node), scpp_oid_shard(env->node));

	scpp_schema_store_access(acc, env->store, env->schema, inst, inst_ctx);
	scpp_schema_store_access_local(acc, &local);
}

/* The compiled type of @e, or NULL for an untyped (or unknown-typed) one. */
static const struct scpp_schema_type *
type_of(const struct scpp_eval_env *env, struct scpp_oid e)
{
	struct scpp_value tv;

	if (scpp_store_get(env->store, e, scpp_schema_type_attr_id(env->schema), &tv) != 0 ||
	    tv.type != SCPP_VT_OID)
		return NULL;
	return scpp_schema_type_by_oid(env->schema, tv.oid);
}

/* Is @p t the RmaWindow type? Its entities are scppd's (docs/COPY.md). */
static bool
is_window_type(const struct scpp_schema_type *t)
{
	return t != NULL && strcmp(scpp_schema_type_name(t), "RmaWindow") == 0;
}

int
eval_schema_window_refused(const struct scpp_eval_env *env, const char *op, struct scpp_oid e,
			   const struct scpp_schema_type *as, struct scpp_status *st)
{
	char b1[64];

	if (env->schema == NULL || (!is_window_type(as) && !is_window_type(type_of(env, e))))
		return 0;
	scpp_oid_format(b1, sizeof(b1), e);
	scpp_status_set(st, -EPERM, "eval", "%s %s: RmaWindow entities are published by scppd; "
			"a block cannot create, write or delete them", op, b1);
	return -EPERM;
}

static int
violation(const struct scpp_eval_ctx *ctx, const struct scpp_eval_env *env, int rc,
	  const struct scpp_schema_violation *viol, struct scpp_status *st)
{
	char msg[SCPP_STATUS_MSG_MAX];

	if (viol->attr == NULL && ctx != NULL &&
	    (viol->kind == SCPP_SCHEMA_V_UNKNOWN_ATTR || viol->kind == SCPP_SCHEMA_V_NOT_MAP ||
	     viol->kind == SCPP_SCHEMA_V_IS_MAP)) {
		/* The schema knows only the names it declares: name the
		 * attribute from the dictionary (or the block's new names). */
		struct scpp_value n = eval_attr_name(ctx, env, viol->attr_id);
		char ent[SCPP_OID_STR_MAX];

		scpp_oid_format(ent, sizeof(ent), viol->entity);
		if (viol->kind == SCPP_SCHEMA_V_UNKNOWN_ATTR)
			scpp_status_set(st, -SCPP_E_SCHEMA, "schema",
					"%s: type %s has no attribute '%.*s'", ent,
					viol->type != NULL ? scpp_schema_type_name(viol->type) : "?",
					(int)n.len, (const char *)n.p);
		else
			scpp_status_set(st, -SCPP_E_SCHEMA, "schema", "%s: %.*s %s", ent, (int)n.len,
					(const char *)n.p,
					viol->kind == SCPP_SCHEMA_V_NOT_MAP
						? "is not a Hash attribute"
						: "is a Hash attribute: set its entries");
		return -SCPP_E_SCHEMA;
	}
	scpp_schema_violation_format(msg, sizeof(msg), viol);
	/* A missing reference target is ENOENT; every other rejection is the
	 * schema saying no (EINVAL, code E_SCHEMA). */
	scpp_status_set(st, rc == -ENOENT ? -ENOENT : -SCPP_E_SCHEMA, "schema", "%s", msg);
	return rc == -ENOENT ? -ENOENT : -SCPP_E_SCHEMA;
}

/*
 * Integer literals adapt to the declared type: `set f size 5` stores u64 5
 * when `size` is u64 (the text form reads `5` as i64), and a u64 that fits
 * is stored as i64 for an i64 attribute. Only the value type changes, never
 * the number. Returns true if @v was rewritten.
 */
static bool
coerce_int(struct scpp_value *v, bool *tried)
{
	if (*tried)
		return false;
	*tried = true;
	if (v->type == SCPP_VT_I64 && v->i >= 0) {
		*v = scpp_value_u64((uint64_t)v->i);
		return true;
	}
	if (v->type == SCPP_VT_U64 && v->u <= INT64_MAX) {
		*v = scpp_value_i64((int64_t)v->u);
		return true;
	}
	return false;
}

/*
 * Edits compiled elsewhere (env->schema_hold): record the write, its
 * values being the block's until a hold copies them. The metaschema check
 * the edit API would make at once is made here on the compiled schema (a
 * schema entity is an instance of Type or Attribute like any typed
 * entity), so a wrong value still fails at its command.
 */
static int
edit_record(struct scpp_eval_ctx *ctx, const struct scpp_eval_env *env, uint8_t kind,
	    struct scpp_oid e, uint32_t attr, const struct scpp_value *key,
	    const struct scpp_value *v, struct scpp_status *st)
{
	struct scpp_eval_edit_op *op;

	if (ctx->nelog >= SCPP_EVAL_EDIT_MAX) {
		scpp_status_set(st, -SCPP_E_LIMIT_STEPS, "schema",
				"a schema change may write schema entities at most %u times",
				SCPP_EVAL_EDIT_MAX);
		return -SCPP_E_LIMIT_STEPS;
	}
	(void)env;
	op = &ctx->elog[ctx->nelog++];
	op->kind = kind;
	op->e = e;
	op->attr = attr;
	op->key = key != NULL ? *key : scpp_value_nil();
	op->v = v != NULL ? *v : scpp_value_nil();
	return 0;
}

/* The metaschema check of a write to schema entity @p e of meta type @p t. */
static int
meta_check(struct scpp_eval_ctx *ctx, const struct scpp_eval_env *env,
	   const struct scpp_schema_type *t, struct scpp_oid e, uint32_t attr,
	   const struct scpp_value *key, const struct scpp_value *v, struct scpp_status *st)
{
	struct scpp_schema_violation viol;
	struct scpp_schema_access acc;
	int rc;

	if (t == NULL)
		return 0;
	eval_access(&acc, env, NULL, NULL);
	rc = key != NULL ? scpp_schema_check_map_set(env->schema, t, e, attr, key, v, &acc, &viol)
			 : scpp_schema_check_set(env->schema, t, e, attr, v, &acc, &viol);
	return rc < 0 ? violation(ctx, env, rc, &viol, st) : 0;
}

/* Begin the block's schema edit on the first write to a schema entity. */
static int
edit_begin(struct scpp_eval_ctx *ctx, const struct scpp_eval_env *env, struct scpp_status *st)
{
	int rc;

	if (ctx->edit != NULL)
		return 0;
	rc = scpp_schema_edit_begin(env->schema, &ctx->edit);
	if (rc < 0)
		scpp_status_set(st, rc, "schema", "cannot start a schema change: %s",
				scpp_strerror(rc));
	return rc;
}

static int
edit_fail(int rc, const struct scpp_schema_diag *diag, struct scpp_status *st)
{
	if (diag->path[0] == '\0' && diag->reason[0] == '\0')
		scpp_status_set(st, rc == -EINVAL ? -SCPP_E_SCHEMA : rc, "schema",
				"schema change refused: %s", scpp_strerror(rc));
	else
		scpp_status_set(st, rc == -EINVAL ? -SCPP_E_SCHEMA : rc, "schema", "%s: %s",
				diag->path, diag->reason);
	return rc == -EINVAL ? -SCPP_E_SCHEMA : rc;
}

int
eval_schema_check_set(struct scpp_eval_ctx *ctx, const struct scpp_eval_env *env,
		      struct scpp_oid e, uint32_t attr, struct scpp_value *key,
		      struct scpp_value *v, struct scpp_status *st)
{
	const struct scpp_schema_type *t;
	struct scpp_schema_violation viol;
	struct scpp_schema_access acc;
	struct scpp_schema_diag diag;
	struct scpp_schema_violation first;
	struct scpp_value orig_v = *v, orig_k = key != NULL ? *key : scpp_value_nil();
	bool tried_v = false, tried_k = false;
	int rc;

	if (env->schema == NULL)
		return 0;
	memset(&first, 0, sizeof(first));
	t = type_of(env, e);
	if (is_window_type(t) ||
	    (attr == scpp_schema_type_attr_id(env->schema) && v->type == SCPP_VT_OID &&
	     is_window_type(scpp_schema_type_by_oid(env->schema, v->oid))))
		return eval_schema_window_refused(env, "set", e, scpp_schema_type_by_name(
							  env->schema, "RmaWindow"), st);
	if ((t != NULL && scpp_schema_type_is_meta(t)) ||
	    (t == NULL && key == NULL && eval_schema_declares(env, e, attr, v))) {
		/* A runtime schema change (a write to a schema entity, or the
		 * `type` that makes a new one): checked against the metaschema
		 * now and against the instances when the block ends. */
		if (env->schema_hold != NULL) {
			if ((rc = meta_check(ctx, env, t, e, attr, key, v, st)) < 0)
				return rc;
			return edit_record(ctx, env, key != NULL ? SCPP_EVAL_EDIT_MAP_SET :
					   SCPP_EVAL_EDIT_SET, e, attr, key, v, st);
		}
		if ((rc = edit_begin(ctx, env, st)) < 0)
			return rc;
		rc = key != NULL ? scpp_schema_edit_map_set(ctx->edit, e, attr, key, v, &diag)
				 : scpp_schema_edit_set(ctx->edit, e, attr, v, &diag);
		return rc < 0 ? edit_fail(rc, &diag, st) : 0;
	}
	eval_access(&acc, env, NULL, NULL);
	for (;;) {
		if (key != NULL)
			rc = scpp_schema_check_map_set(env->schema, t, e, attr, key, v, &acc,
						       &viol);
		else
			rc = scpp_schema_check_set(env->schema, t, e, attr, v, &acc, &viol);
		if (!tried_v && !tried_k)
			first = viol;
		if (rc == -EINVAL && viol.kind == SCPP_SCHEMA_V_VALUE_TYPE && coerce_int(v, &tried_v))
			continue;
		if (rc == -EINVAL && viol.kind == SCPP_SCHEMA_V_KEY_TYPE && key != NULL &&
		    coerce_int(key, &tried_k))
			continue;
		break;
	}
	if (rc < 0) {
		/* Report the value as the client sent it, not as coerced. */
		if (tried_v || tried_k) {
			*v = orig_v;
			if (key != NULL)
				*key = orig_k;
			if (first.kind == viol.kind)
				viol = first;
		}
		return violation(ctx, env, rc, &viol, st);
	}
	/* An untyped entity that gets a type must be complete at the end. */
	if (t == NULL && key == NULL && attr == scpp_schema_type_attr_id(env->schema))
		return 1;
	return 0;
}

int
eval_schema_create(struct scpp_eval_ctx *ctx, const struct scpp_eval_env *env,
		   struct scpp_oid e, const struct scpp_value *type, struct scpp_status *st)
{
	const struct scpp_schema_type *t = NULL;
	struct scpp_value tv = *type;
	char name[SCPP_SCHEMA_NAME_MAX + 1];
	uint32_t id = type_attr_id(ctx, env);
	int rc;

	if (id == 0) {
		scpp_status_set(st, -ENOSPC, "eval", "create: no id for attribute type: the block "
				"introduces too many new attribute names");
		return -ENOSPC;
	}
	if (env->schema != NULL) {
		if (type->type == SCPP_VT_STR && type->len <= SCPP_SCHEMA_NAME_MAX) {
			memcpy(name, type->p, type->len);
			name[type->len] = '\0';
			t = scpp_schema_type_by_name(env->schema, name);
		} else if (type->type == SCPP_VT_OID) {
			t = scpp_schema_type_by_oid(env->schema, type->oid);
		}
		if (t == NULL) {
			char buf[80];

			scpp_value_format(buf, sizeof(buf), type);
			scpp_status_set(st, -ENOENT, "schema", "create: unknown type %s", buf);
			return -ENOENT;
		}
		if (is_window_type(t))
			return eval_schema_window_refused(env, "create", e, t, st);
		tv = scpp_value_oid(scpp_schema_type_get_oid(t));
		if (scpp_schema_type_is_meta(t) && env->schema_hold != NULL) {
			if ((rc = edit_record(ctx, env, SCPP_EVAL_EDIT_SET, e, id, NULL, &tv, st)) < 0)
				return rc;
		} else if (scpp_schema_type_is_meta(t)) {
			struct scpp_schema_diag diag;

			if ((rc = edit_begin(ctx, env, st)) < 0)
				return rc;
			rc = scpp_schema_edit_set(ctx->edit, e, id, &tv, &diag);
			if (rc < 0)
				return edit_fail(rc, &diag, st);
		}
	}
	rc = scpp_store_set(env->store, e, id, &tv);
	if (rc < 0) {
		scpp_status_set(st, rc, "eval", "create: cannot set type: %s", scpp_strerror(rc));
		return rc;
	}
	return 0;
}

int
eval_schema_check_object(const struct scpp_eval_ctx *ctx, const struct scpp_eval_env *env,
			 struct scpp_oid e, bool created, struct scpp_status *st)
{
	const struct scpp_schema_type *t;
	struct scpp_schema_violation viol;
	struct scpp_schema_access acc;
	int rc;

	if (env->schema == NULL)
		return 0;
	t = type_of(env, e);
	if (t == NULL)
		return 0;
	eval_access(&acc, env, NULL, NULL);
	/* Defaults are filled only into objects this block created: their
	 * undo record deletes them whole, so the fill needs no undo of its
	 * own. An existing entity that became typed must already hold every
	 * required attribute, and all it holds is re-checked. */
	rc = scpp_schema_check_entity(env->schema, t, e,
				      created ? SCPP_SCHEMA_CHECK_FILL_DEFAULTS
					      : SCPP_SCHEMA_CHECK_ALL_ATTRS,
				      &acc, &viol);
	if (rc < 0)
		return violation(ctx, env, rc, &viol, st);
	return 0;
}

int
eval_schema_check_del(struct scpp_eval_ctx *ctx, const struct scpp_eval_env *env,
		      struct scpp_oid e, uint32_t attr, const struct scpp_value *key,
		      struct scpp_status *st)
{
	const struct scpp_schema_type *t;
	struct scpp_schema_violation viol;
	struct scpp_schema_diag diag;
	int rc;

	if (env->schema == NULL)
		return 0;
	t = type_of(env, e);
	if (is_window_type(t))
		return eval_schema_window_refused(env, "del", e, t, st);
	if (t != NULL && scpp_schema_type_is_meta(t) && env->schema_hold != NULL)
		return edit_record(ctx, env, SCPP_EVAL_EDIT_DEL, e, attr, key, NULL, st);
	if (t != NULL && scpp_schema_type_is_meta(t)) {
		if ((rc = edit_begin(ctx, env, st)) < 0)
			return rc;
		rc = scpp_schema_edit_del(ctx->edit, e, attr, key, &diag);
		return rc < 0 ? edit_fail(rc, &diag, st) : 0;
	}
	if (key != NULL)
		return 0; /* map entries may always be deleted */
	rc = scpp_schema_check_del(env->schema, t, e, attr, &viol);
	if (rc < 0)
		return violation(ctx, env, rc, &viol, st);
	return 0;
}

bool
eval_schema_declares(const struct scpp_eval_env *env, struct scpp_oid e, uint32_t attr,
		     const struct scpp_value *v)
{
	const struct scpp_schema_type *t;

	if (env->schema == NULL || e.hi != 0 || attr != scpp_schema_type_attr_id(env->schema) ||
	    v->type != SCPP_VT_OID)
		return false;
	t = scpp_schema_type_by_oid(env->schema, v->oid);
	return t != NULL && scpp_schema_type_is_meta(t);
}

bool
eval_schema_names_meta(const struct scpp_eval_env *env, const struct scpp_value *type)
{
	const struct scpp_schema_type *t = NULL;
	char name[SCPP_SCHEMA_NAME_MAX + 1];

	if (env->schema == NULL)
		return false;
	if (type->type == SCPP_VT_STR && type->len <= SCPP_SCHEMA_NAME_MAX) {
		memcpy(name, type->p, type->len);
		name[type->len] = '\0';
		t = scpp_schema_type_by_name(env->schema, name);
	} else if (type->type == SCPP_VT_OID) {
		t = scpp_schema_type_by_oid(env->schema, type->oid);
	}
	return t != NULL && scpp_schema_type_is_meta(t);
}

bool
eval_schema_is_schema_entity(const struct scpp_eval_env *env, struct scpp_oid e)
{
	const struct scpp_schema_type *t;

	if (env->schema == NULL)
		return false;
	t = type_of(env, e);
	return t != NULL && scpp_schema_type_is_meta(t);
}

uint8_t
eval_schema_bytes_type(const struct scpp_eval_env *env, struct scpp_oid e, uint32_t attr)
{
	const struct scpp_schema_type *t;
	const struct scpp_schema_attr *a;
	struct scpp_value probe;

	if (env->schema == NULL || (t = type_of(env, e)) == NULL)
		return SCPP_VT_BYTES;
	a = scpp_schema_attr_get(env->schema, t, attr);
	if (a == NULL)
		return SCPP_VT_NIL;
	probe = scpp_value_bytes("", 0);
	if (scpp_schema_check_value(env->schema, a, e, &probe, NULL, NULL) == 0)
		return SCPP_VT_BYTES;
	probe = scpp_value_str("", 0);
	if (scpp_schema_check_value(env->schema, a, e, &probe, NULL, NULL) == 0)
		return SCPP_VT_STR;
	return SCPP_VT_NIL;
}

/* Instances of a type, for the compatibility checks of a schema change: a
 * scan of this shard, charged one step per entity against the block's
 * max_steps like any scan. */
struct inst_scan {
	const struct scpp_eval_env *env;
	struct scpp_eval_ctx *ctx;
	bool over;                 /* the scan ran out of steps */
};

static int
foreach_instance(void *arg, struct scpp_oid type, scpp_schema_entity_cb cb, void *cb_arg)
{
	struct inst_scan *scan = arg;
	const struct scpp_eval_env *env = scan->env;
	struct scpp_eval_ctx *ctx = scan->ctx;
	uint32_t tid = scpp_schema_type_attr_id(env->schema);
	struct scpp_oid batch[64];
	uint64_t cursor = 0;
	int n, rc;

	for (;;) {
		n = scpp_store_entity_iter(env->store, &cursor, batch, SCPP_ARRAY_SIZE(batch));
		if (n <= 0)
			return n;
		for (int i = 0; i < n; i++) {
			struct scpp_value tv;

			if (ctx->steps >= ctx->lim.max_steps) {
				scan->over = true;
				return -SCPP_E_LIMIT_STEPS;
			}
			ctx->steps++;
			if (scpp_store_get(env->store, batch[i], tid, &tv) == 0 &&
			    tv.type == SCPP_VT_OID && scpp_oid_eq(tv.oid, type) &&
			    (rc = cb(cb_arg, batch[i])) != 0)
				return rc;
		}
		if (cursor == UINT64_MAX)
			return 0;
	}
}

int
eval_schema_edit_commit(struct scpp_eval_ctx *ctx, const struct scpp_eval_env *env,
			struct scpp_schema **out, struct scpp_status *st)
{
	struct inst_scan scan = {env, ctx, false};
	struct scpp_schema_access acc;
	struct scpp_schema_diag diag;
	int rc;

	eval_access(&acc, env, foreach_instance, &scan);
	rc = scpp_schema_edit_commit(ctx->edit, &acc, out, &diag);
	eval_schema_edit_drop(ctx);
	if (rc < 0 && scan.over) {
		*out = NULL;
		scpp_status_set(st, -SCPP_E_LIMIT_STEPS, "schema",
				"schema change: checking the existing instances exceeded %llu steps",
				(unsigned long long)ctx->lim.max_steps);
		return -SCPP_E_LIMIT_STEPS;
	}
	if (rc < 0) {
		*out = NULL;
		scpp_status_set(st, rc == -EINVAL || rc == -EBUSY ? -SCPP_E_SCHEMA : rc, "schema",
				"schema change rejected: %s: %s", diag.path, diag.reason);
		return rc == -EINVAL || rc == -EBUSY ? -SCPP_E_SCHEMA : rc;
	}
	return 0;
}

void
eval_schema_edit_drop(struct scpp_eval_ctx *ctx)
{
	scpp_schema_edit_free(ctx->edit);
	ctx->edit = NULL;
}

int
scpp_eval_edit_compile(const struct scpp_schema *cur, const struct scpp_eval_edit_op *ops,
		       unsigned int n, struct scpp_schema **out, char *msg, size_t size)
{
	struct scpp_schema_edit *ed = NULL;
	struct scpp_schema_diag diag;
	int rc;

	*out = NULL;
	memset(&diag, 0, sizeof(diag));
	rc = scpp_schema_edit_begin(cur, &ed);
	for (unsigned int i = 0; rc == 0 && i < n; i++) {
		const struct scpp_eval_edit_op *op = &ops[i];

		switch (op->kind) {
		case SCPP_EVAL_EDIT_SET:
			rc = scpp_schema_edit_set(ed, op->e, op->attr, &op->v, &diag);
			break;
		case SCPP_EVAL_EDIT_MAP_SET:
			rc = scpp_schema_edit_map_set(ed, op->e, op->attr, &op->key, &op->v, &diag);
			break;
		default:
			rc = scpp_schema_edit_del(ed, op->e, op->attr,
						  op->key.type == SCPP_VT_NIL ? NULL : &op->key, &diag);
			break;
		}
	}
	if (rc == 0)
		rc = scpp_schema_edit_compile(ed, out, &diag);
	scpp_schema_edit_free(ed);
	if (rc == 0)
		return 0;
	if (diag.path[0] != '\0' || diag.reason[0] != '\0')
		snprintf(msg, size, "schema change rejected: %s: %s", diag.path, diag.reason);
	else
		snprintf(msg, size, "schema change rejected: %s", scpp_strerror(rc));
	return rc == -EINVAL || rc == -EBUSY ? -SCPP_E_SCHEMA : rc;
}
