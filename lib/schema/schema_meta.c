/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The schema as data: schema entities and their triples, the metaschema
 * self-check, and runtime schema changes.
 *
 * A type T becomes the entity oid(T) with
 *   type = oid(Type), name, doc?, name_attr?, attributes[attr name] = oid(T.attr)
 * and each declaration T.a the entity oid(T.a) with
 *   type = oid(Attribute), name, owner = oid(T), value_type (canonical text),
 *   required, indexed, default?, doc?
 *
 * An edit is a copy of those entities that sets are applied to. Committing
 * reads the entities back into a model (ents_to_model), compiles it with
 * the same rules as files (so a runtime change can never produce a schema a
 * file could not), and compares old and new types against the instances in
 * the store. The old schema is never modified: readers keep using it until
 * the caller publishes the new one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scpp_common.h"
#include "schema_priv.h"

const char *const meta_names[M_COUNT] = {
	[M_NAME] = "name",         [M_DOC] = "doc",
	[M_NAME_ATTR] = "name_attr", [M_ATTRIBUTES] = "attributes",
	[M_OWNER] = "owner",       [M_VALUE_TYPE] = "value_type",
	[M_REQUIRED] = "required", [M_INDEXED] = "indexed",
	[M_DEFAULT] = "default",
};

#define RUNTIME_FILE "(runtime)"

/* ---------------------------------------------------------------- entities */

void
ents_free(struct ents *es)
{
	ar_free(&es->ar);
	memset(es, 0, sizeof(*es));
}

struct ent *
ents_find(const struct ents *es, struct scpp_oid oid)
{
	for (unsigned int i = 0; i < es->n; i++)
		if (scpp_oid_eq(es->v[i].oid, oid))
			return &es->v[i];
	return NULL;
}

const struct ent_slot *
ent_get(const struct ent *e, uint32_t attr)
{
	for (unsigned int i = 0; i < e->nslots; i++)
		if (e->slots[i].attr == attr && !e->slots[i].is_map)
			return &e->slots[i];
	return NULL;
}

static struct ent *
ents_add(struct ents *es, struct scpp_oid oid, const char *file, const char *path)
{
	struct ent *e;

	if (ar_grow(&es->ar, (void **)&es->v, &es->cap, es->n, sizeof(*es->v)) < 0)
		return NULL;
	e = &es->v[es->n++];
	memset(e, 0, sizeof(*e));
	e->oid = oid;
	e->file = file;
	e->path = path;
	return e;
}

/* Append (or replace) a slot; @key NULL for a plain value. Values are copied. */
static int
ent_put(struct ents *es, struct ent *e, uint32_t attr, const char *name,
	const struct scpp_value *key, const struct scpp_value *v)
{
	struct ent_slot *sl = NULL;
	int rc;

	for (unsigned int i = 0; i < e->nslots; i++) {
		struct ent_slot *x = &e->slots[i];

		if (x->attr == attr && x->is_map == (key != NULL) &&
		    (key == NULL || scpp_value_eq(&x->key, key))) {
			sl = x;
			break;
		}
	}
	if (sl == NULL) {
		rc = ar_grow(&es->ar, (void **)&e->slots, &e->cap, e->nslots, sizeof(*e->slots));
		if (rc < 0)
			return rc;
		sl = &e->slots[e->nslots++];
		memset(sl, 0, sizeof(*sl));
		sl->attr = attr;
		sl->name = name;
		sl->is_map = key != NULL;
		if (key != NULL && (rc = ar_value(&es->ar, &sl->key, key)) < 0)
			return rc;
	}
	return ar_value(&es->ar, &sl->val, v);
}

static int
put_str(struct ents *es, struct ent *e, const struct scpp_schema *s, int m,
	const char *str)
{
	struct scpp_value v = scpp_value_cstr(str);

	return ent_put(es, e, s->meta_ids[m], meta_names[m], NULL, &v);
}

static int
put_val(struct ents *es, struct ent *e, const struct scpp_schema *s, int m,
	struct scpp_value v)
{
	return ent_put(es, e, s->meta_ids[m], meta_names[m], NULL, &v);
}

int
model_to_ents(const struct scpp_schema *s, struct ents *es)
{
	struct scpp_value toid = scpp_value_oid(s->types[s->meta_type].oid);
	struct scpp_value aoid = scpp_value_oid(s->types[s->meta_attr].oid);
	int rc = 0;

	es->type_attr = s->type_attr_id;
	for (uint32_t i = 0; i < s->ntypes && rc == 0; i++) {
		const struct scpp_schema_type *t = &s->types[i];
		const struct m_type *mt = t->m;
		struct ent *e = ents_add(es, t->oid, mt->file, mt->path);

		if (e == NULL)
			return -ENOMEM;
		rc = ent_put(es, e, s->type_attr_id, SCPP_SCHEMA_TYPE_ATTR, NULL, &toid);
		if (rc == 0)
			rc = put_str(es, e, s, M_NAME, mt->name);
		if (rc == 0 && mt->doc != NULL)
			rc = put_str(es, e, s, M_DOC, mt->doc);
		if (rc == 0 && mt->name_attr != NULL)
			rc = put_str(es, e, s, M_NAME_ATTR, mt->name_attr);
		for (uint32_t k = 0; k < t->nattrs && rc == 0; k++) {
			const struct scpp_schema_attr *a = &s->attrs[t->first_attr + k];
			struct scpp_value key = scpp_value_cstr(a->m->name);
			struct scpp_value val = scpp_value_oid(a->oid);

			rc = ent_put(es, e, s->meta_ids[M_ATTRIBUTES], meta_names[M_ATTRIBUTES],
				     &key, &val);
		}
		for (uint32_t k = 0; k < t->nattrs && rc == 0; k++) {
			const struct scpp_schema_attr *a = &s->attrs[t->first_attr + k];
			struct ent *ae = ents_add(es, a->oid, a->m->file, a->m->path);

			if (ae == NULL)
				return -ENOMEM;
			rc = ent_put(es, ae, s->type_attr_id, SCPP_SCHEMA_TYPE_ATTR, NULL, &aoid);
			if (rc == 0)
				rc = put_str(es, ae, s, M_NAME, a->m->name);
			if (rc == 0)
				rc = put_val(es, ae, s, M_OWNER, scpp_value_oid(t->oid));
			if (rc == 0)
				rc = put_str(es, ae, s, M_VALUE_TYPE, a->canon);
			if (rc == 0)
				rc = put_val(es, ae, s, M_REQUIRED, scpp_value_bool(a->required));
			if (rc == 0)
				rc = put_val(es, ae, s, M_INDEXED, scpp_value_bool(a->indexed));
			if (rc == 0 && a->has_default)
				rc = put_val(es, ae, s, M_DEFAULT, a->def);
			if (rc == 0 && a->m->doc != NULL)
				rc = put_str(es, ae, s, M_DOC, a->m->doc);
		}
	}
	return rc;
}

/* In-memory access over an entity set: what the self-check and edits read. */
static int
ea_type_of(void *ctx, struct scpp_oid oid, struct scpp_oid *type)
{
	struct ents *es = ctx;
	const struct ent *e = ents_find(es, oid);
	const struct ent_slot *sl;

	if (e == NULL)
		return -ENOENT;
	sl = ent_get(e, es->type_attr);
	*type = sl != NULL && sl->val.type == SCPP_VT_OID ? sl->val.oid : SCPP_OID_NIL;
	return 0;
}

static int
ea_has(void *ctx, struct scpp_oid oid, uint32_t attr)
{
	const struct ent *e = ents_find(ctx, oid);

	if (e == NULL)
		return -ENOENT;
	for (unsigned int i = 0; i < e->nslots; i++)
		if (e->slots[i].attr == attr)
			return 1;
	return 0;
}

static int
ea_foreach_attr(void *ctx, struct scpp_oid oid, scpp_schema_attr_cb cb, void *arg)
{
	const struct ent *e = ents_find(ctx, oid);

	if (e == NULL)
		return -ENOENT;
	for (unsigned int i = 0; i < e->nslots; i++) {
		const struct ent_slot *sl = &e->slots[i];
		int rc = cb(arg, sl->attr, sl->is_map ? &sl->key : NULL, &sl->val);

		if (rc != 0)
			return rc;
	}
	return 0;
}

void
ents_access(struct ents *es, struct scpp_schema_access *acc)
{
	memset(acc, 0, sizeof(*acc));
	acc->type_of = ea_type_of;
	acc->has = ea_has;
	acc->foreach_attr = ea_foreach_attr;
	acc->ctx = es;
}

int
ents_check(const struct scpp_schema *s, struct ents *es,
	   struct scpp_schema_violation *viol, const struct ent **bad)
{
	struct scpp_schema_access acc;

	ents_access(es, &acc);
	for (unsigned int i = 0; i < es->n; i++) {
		const struct ent *e = &es->v[i];
		const struct ent_slot *ts = ent_get(e, s->type_attr_id);
		const struct scpp_schema_type *t;
		int rc;

		/* Every schema entity is typed: a missing or unknown type is a
		 * violation of `type` itself. */
		if (ts == NULL) {
			memset(viol, 0, sizeof(*viol));
			viol->kind = SCPP_SCHEMA_V_UNKNOWN_TYPE;
			viol->attr_id = s->type_attr_id;
			viol->entity = e->oid;
			*bad = e;
			return -EINVAL;
		}
		rc = scpp_schema_check_set(s, NULL, e->oid, s->type_attr_id, &ts->val, NULL, viol);
		t = scpp_schema_type_by_oid(s, ts->val.oid);
		if (rc == 0)
			rc = scpp_schema_check_entity(s, t, e->oid, SCPP_SCHEMA_CHECK_ALL_ATTRS,
						      &acc, viol);
		if (rc < 0) {
			*bad = e;
			return rc;
		}
	}
	return 0;
}

int
scpp_schema_check_self(const struct scpp_schema *s, struct scpp_schema_violation *viol)
{
	struct scpp_schema_violation v;
	const struct ent *bad;
	struct ents es;
	int rc;

	memset(&es, 0, sizeof(es));
	rc = model_to_ents(s, &es);
	if (rc == 0)
		rc = ents_check(s, &es, viol != NULL ? viol : &v, &bad);
	ents_free(&es);
	return rc;
}

int
scpp_schema_foreach_triple(const struct scpp_schema *s, scpp_schema_triple_cb cb,
			   void *arg)
{
	struct ents es;
	int rc;

	memset(&es, 0, sizeof(es));
	rc = model_to_ents(s, &es);
	for (unsigned int i = 0; i < es.n && rc == 0; i++) {
		const struct ent *e = &es.v[i];

		for (unsigned int k = 0; k < e->nslots && rc == 0; k++) {
			const struct ent_slot *sl = &e->slots[k];

			rc = cb(arg, e->oid, sl->name, sl->attr, sl->is_map ? &sl->key : NULL,
				&sl->val);
		}
	}
	ents_free(&es);
	return rc;
}

/* ------------------------------------------------------------------ edits */

struct scpp_schema_edit {
	const struct scpp_schema *cur;
	struct ents es;
};

int
scpp_schema_edit_begin(const struct scpp_schema *cur, struct scpp_schema_edit **out)
{
	struct scpp_schema_edit *ed;
	int rc;

	if (cur == NULL || out == NULL)
		return -EINVAL;
	ed = calloc(1, sizeof(*ed));
	if (ed == NULL)
		return -ENOMEM;
	ed->cur = cur;
	rc = model_to_ents(cur, &ed->es);
	if (rc < 0) {
		scpp_schema_edit_free(ed);
		return rc;
	}
	*out = ed;
	return 0;
}

void
scpp_schema_edit_free(struct scpp_schema_edit *ed)
{
	if (ed == NULL)
		return;
	ents_free(&ed->es);
	free(ed);
}

static int
edit_fail(struct scpp_schema_diag *d, struct scpp_oid oid, const char *fmt,
	  const char *arg)
{
	char ob[SCPP_OID_STR_MAX];

	scpp_oid_format(ob, sizeof(ob), oid);
	return diag_set(d, RUNTIME_FILE, ob, fmt, arg);
}

/*
 * Find the entity an edit applies to and its metaschema type; a new entity
 * comes into being when its `type` is set to Type or Attribute.
 */
static int
edit_target(struct scpp_schema_edit *ed, struct scpp_oid oid, uint32_t attr_id,
	    const struct scpp_value *v, struct ent **ep,
	    const struct scpp_schema_type **tp, struct scpp_schema_diag *d)
{
	const struct scpp_schema *s = ed->cur;
	struct ent *e = ents_find(&ed->es, oid);
	const struct ent_slot *ts;
	char ob[SCPP_OID_STR_MAX];

	if (e == NULL) {
		if (attr_id != s->type_attr_id || v == NULL || v->type != SCPP_VT_OID ||
		    (!scpp_oid_eq(v->oid, s->types[s->meta_type].oid) &&
		     !scpp_oid_eq(v->oid, s->types[s->meta_attr].oid)))
			return edit_fail(d, oid,
					 "%snot a schema entity (set its type to Type or Attribute first)",
					 "");
		scpp_oid_format(ob, sizeof(ob), oid);
		e = ents_add(&ed->es, oid, RUNTIME_FILE, ar_strdup(&ed->es.ar, ob));
		if (e == NULL)
			return -ENOMEM;
	}
	ts = ent_get(e, s->type_attr_id);
	*tp = ts != NULL ? scpp_schema_type_by_oid(s, ts->val.oid) : NULL;
	*ep = e;
	return 0;
}

static int
edit_violation(struct scpp_schema_diag *d, struct scpp_oid oid,
	       const struct scpp_schema_violation *viol)
{
	char buf[512];

	scpp_schema_violation_format(buf, sizeof(buf), viol);
	return edit_fail(d, oid, "does not conform to the metaschema: %s", buf);
}

int
scpp_schema_edit_set(struct scpp_schema_edit *ed, struct scpp_oid oid,
		     uint32_t attr_id, const struct scpp_value *v,
		     struct scpp_schema_diag *d)
{
	struct scpp_schema_violation viol;
	const struct scpp_schema_type *t;
	struct scpp_schema_access acc;
	struct ent *e;
	int rc;

	if (ed == NULL || v == NULL)
		return -EINVAL;
	rc = edit_target(ed, oid, attr_id, v, &e, &t, d);
	if (rc < 0)
		return rc;
	ents_access(&ed->es, &acc);
	rc = scpp_schema_check_set(ed->cur, t, oid, attr_id, v, &acc, &viol);
	if (rc < 0) {
		edit_violation(d, oid, &viol);
		return -EINVAL;
	}
	return ent_put(&ed->es, e, attr_id,
		       ar_strdup(&ed->es.ar, schema_id_name(ed->cur, attr_id)), NULL, v);
}

int
scpp_schema_edit_map_set(struct scpp_schema_edit *ed, struct scpp_oid oid,
			 uint32_t attr_id, const struct scpp_value *key,
			 const struct scpp_value *v, struct scpp_schema_diag *d)
{
	struct scpp_schema_violation viol;
	const struct scpp_schema_type *t;
	struct scpp_schema_access acc;
	struct ent *e;
	int rc;

	if (ed == NULL || key == NULL || v == NULL)
		return -EINVAL;
	rc = edit_target(ed, oid, attr_id, NULL, &e, &t, d);
	if (rc < 0)
		return rc;
	ents_access(&ed->es, &acc);
	rc = scpp_schema_check_map_set(ed->cur, t, oid, attr_id, key, v, &acc, &viol);
	if (rc < 0) {
		edit_violation(d, oid, &viol);
		return -EINVAL;
	}
	return ent_put(&ed->es, e, attr_id,
		       ar_strdup(&ed->es.ar, schema_id_name(ed->cur, attr_id)), key, v);
}

int
scpp_schema_edit_del(struct scpp_schema_edit *ed, struct scpp_oid oid,
		     uint32_t attr_id, const struct scpp_value *key,
		     struct scpp_schema_diag *d)
{
	struct ent *e;
	unsigned int k = 0;
	bool found = false;

	if (ed == NULL)
		return -EINVAL;
	e = ents_find(&ed->es, oid);
	if (e == NULL)
		return edit_fail(d, oid, "%snot a schema entity", "");
	if (attr_id == ed->cur->type_attr_id)
		return edit_fail(d, oid, "%sthe type of a schema entity cannot be deleted", "");
	for (unsigned int i = 0; i < e->nslots; i++) {
		const struct ent_slot *sl = &e->slots[i];
		bool hit = sl->attr == attr_id &&
			   (key == NULL || (sl->is_map && scpp_value_eq(&sl->key, key)));

		found |= hit;
		if (!hit)
			e->slots[k++] = *sl;
	}
	e->nslots = k;
	return found ? 0 : -ENOENT;
}

/* Read the (plain) slot @m of @e as a string; NULL if absent. */
static const char *
slot_str(const struct scpp_schema *s, const struct ent *e, int m)
{
	const struct ent_slot *sl = ent_get(e, s->meta_ids[m]);

	return sl != NULL && sl->val.type == SCPP_VT_STR ? (const char *)sl->val.p : NULL;
}

static bool
slot_bool(const struct scpp_schema *s, const struct ent *e, int m)
{
	const struct ent_slot *sl = ent_get(e, s->meta_ids[m]);

	return sl != NULL && sl->val.type == SCPP_VT_BOOL && sl->val.b;
}

static bool
is_instance_of(const struct scpp_schema *s, const struct ent *e, uint32_t tidx)
{
	const struct ent_slot *ts = ent_get(e, s->type_attr_id);

	return ts != NULL && ts->val.type == SCPP_VT_OID &&
	       scpp_oid_eq(ts->val.oid, s->types[tidx].oid);
}

static int
check_derived(const struct scpp_schema *s, const struct ent *e, const char *kind,
	      const char *name, struct scpp_schema_diag *d)
{
	struct scpp_oid want = schema_derive(&s->conf, kind, name);
	char ob[SCPP_OID_STR_MAX], wb[SCPP_OID_STR_MAX];

	if (scpp_oid_eq(want, e->oid))
		return 0;
	scpp_oid_format(ob, sizeof(ob), e->oid);
	scpp_oid_format(wb, sizeof(wb), want);
	return diag_set(d, RUNTIME_FILE, ob,
			"the OID of %s '%s' must be %s, derived from its name (renaming is not supported)",
			kind, name, wb);
}

/* The entities of an edit, back into a model (strings are copied). */
static int
ents_to_model(const struct scpp_schema_edit *ed, struct model *m,
	      struct scpp_schema_diag *d)
{
	const struct scpp_schema *s = ed->cur;
	const struct ents *es = &ed->es;
	const struct model *old = s->model;
	uint32_t attrs_id = s->meta_ids[M_ATTRIBUTES];
	int rc = 0;

	m->runtime = true;
	for (unsigned int i = 0; i < old->nschemas; i++) {
		if ((rc = ar_grow(&m->ar, (void **)&m->schemas, &m->schcap, m->nschemas,
				  sizeof(*m->schemas))) < 0 ||
		    (rc = ar_grow(&m->ar, (void **)&m->schema_files, &m->schfcap, m->nschemas,
				  sizeof(*m->schema_files))) < 0)
			return rc;
		m->schemas[m->nschemas] = ar_strdup(&m->ar, old->schemas[i]);
		m->schema_files[m->nschemas++] = ar_strdup(&m->ar, old->schema_files[i]);
	}
	/* Types come from Type entities; declarations only from the
	 * `attributes` maps of types. An Attribute entity no type lists any
	 * more (its entry was deleted) is not part of the new schema. */
	for (unsigned int i = 0; i < es->n && rc == 0; i++) {
		const struct ent *e = &es->v[i];
		const char *name = slot_str(s, e, M_NAME);
		struct m_type *t;

		if (!is_instance_of(s, e, s->meta_type))
			continue;
		if (name == NULL) {
			rc = edit_fail(d, e->oid, "%sType entity has no name", "");
			break;
		}
		rc = check_derived(s, e, "type", name, d);
		if (rc < 0)
			break;
		rc = ar_grow(&m->ar, (void **)&m->types, &m->cap, m->ntypes, sizeof(*m->types));
		if (rc < 0)
			break;
		t = &m->types[m->ntypes++];
		memset(t, 0, sizeof(*t));
		t->name = ar_strdup(&m->ar, name);
		t->doc = ar_strdup(&m->ar, slot_str(s, e, M_DOC));
		t->name_attr = ar_strdup(&m->ar, slot_str(s, e, M_NAME_ATTR));
		t->file = RUNTIME_FILE;
		t->path = t->name;
		t->name_attr_path = ar_printf(&m->ar, "%s.name_attr", name);
		for (unsigned int k = 0; k < e->nslots && rc == 0; k++) {
			const struct ent_slot *sl = &e->slots[k];
			const struct ent *ae;
			const struct ent_slot *ow, *def;
			const char *an;
			struct m_attr *a;

			if (sl->attr != attrs_id || !sl->is_map)
				continue;
			ae = ents_find(es, sl->val.oid);
			an = ae != NULL ? slot_str(s, ae, M_NAME) : NULL;
			ow = ae != NULL ? ent_get(ae, s->meta_ids[M_OWNER]) : NULL;
			if (ae == NULL || !is_instance_of(s, ae, s->meta_attr) || an == NULL ||
			    ow == NULL || !scpp_oid_eq(ow->val.oid, e->oid) ||
			    strcmp(an, (const char *)sl->key.p) != 0) {
				rc = diag_set(d, RUNTIME_FILE,
					      ar_printf(&m->ar, "%s.attributes.%s", name,
							(const char *)sl->key.p),
					      "must refer to an Attribute entity named '%s' whose owner is %s",
					      (const char *)sl->key.p, name);
				break;
			}
			rc = check_derived(s, ae, "attr", ar_printf(&m->ar, "%s.%s", name, an), d);
			if (rc < 0)
				break;
			rc = ar_grow(&m->ar, (void **)&t->attrs, &t->cap, t->nattrs, sizeof(*t->attrs));
			if (rc < 0)
				break;
			a = &t->attrs[t->nattrs++];
			memset(a, 0, sizeof(*a));
			a->name = ar_strdup(&m->ar, an);
			a->type_expr = ar_strdup(&m->ar, slot_str(s, ae, M_VALUE_TYPE));
			a->doc = ar_strdup(&m->ar, slot_str(s, ae, M_DOC));
			a->required = slot_bool(s, ae, M_REQUIRED);
			a->indexed = slot_bool(s, ae, M_INDEXED);
			def = ent_get(ae, s->meta_ids[M_DEFAULT]);
			if (def != NULL) {
				a->has_default = true;
				rc = ar_value(&m->ar, &a->def, &def->val);
			}
			a->file = RUNTIME_FILE;
			a->path = ar_printf(&m->ar, "%s.%s", name, an);
		}
	}
	if (rc == 0 && m->ar.failed)
		rc = -ENOMEM;
	return rc;
}

/* Did the declarations of a type change in a way instances can notice? */
static bool
type_changed(const struct scpp_schema_type *ot, const struct scpp_schema_type *nt)
{
	const struct scpp_schema *os = ot->schema, *ns = nt->schema;

	if (ot->nattrs != nt->nattrs)
		return true;
	for (uint32_t i = 0; i < nt->nattrs; i++) {
		const struct scpp_schema_attr *na = &ns->attrs[nt->first_attr + i];
		const struct scpp_schema_attr *oa = scpp_schema_attr_get(os, ot, na->id);

		if (oa == NULL || oa->required != na->required ||
		    strcmp(oa->canon, na->canon) != 0)
			return true;
	}
	return false;
}

struct compat_ctx {
	const struct scpp_schema *ns;
	const struct scpp_schema_type *nt;
	const struct scpp_schema_access *acc;
	struct scpp_schema_violation viol;
	struct scpp_oid bad;
	int rc;
};

static int
compat_instance(void *arg, struct scpp_oid e)
{
	struct compat_ctx *c = arg;

	c->rc = scpp_schema_check_entity(c->ns, c->nt, e, SCPP_SCHEMA_CHECK_ALL_ATTRS,
					 c->acc, &c->viol);
	if (c->rc < 0)
		c->bad = e;
	return c->rc < 0;
}

/* The message of an instance that does not conform to changed type @p nt. */
static int
compat_fail(const struct scpp_schema_type *nt, struct compat_ctx *c, struct scpp_schema_diag *d)
{
	const struct scpp_schema_attr *a = c->viol.attr;
	char buf[512], ob[SCPP_OID_STR_MAX], path[2 * SCPP_SCHEMA_NAME_MAX + 2];

	c->viol.entity = SCPP_OID_NIL;
	scpp_schema_violation_format(buf, sizeof(buf), &c->viol);
	scpp_oid_format(ob, sizeof(ob), c->bad);
	snprintf(path, sizeof(path), "%s%s%s", nt->m->name, a ? "." : "", a ? a->m->name : "");
	diag_set(d, RUNTIME_FILE, path,
		 "incompatible with existing data: instance %s would not conform (%s)", ob, buf);
	return c->rc == -EINVAL || c->rc == -ENOENT ? -EBUSY : c->rc;
}

static int
check_compat(const struct scpp_schema *os, const struct scpp_schema *ns,
	     const struct scpp_schema_access *acc, struct scpp_schema_diag *d)
{
	for (uint32_t i = 0; i < ns->ntypes; i++) {
		const struct scpp_schema_type *nt = &ns->types[i];
		const struct scpp_schema_type *ot = scpp_schema_type_by_oid(os, nt->oid);
		struct compat_ctx c = {.ns = ns, .nt = nt, .acc = acc};
		int rc;

		/* Instances of Type and Attribute are the schema entities, which
		 * the compile already checked against the new metaschema. */
		if (ot == NULL || i == ns->meta_type || i == ns->meta_attr ||
		    !type_changed(ot, nt))
			continue;
		if (acc == NULL || acc->foreach_instance == NULL || acc->has == NULL ||
		    acc->foreach_attr == NULL) {
			diag_set(d, RUNTIME_FILE, nt->m->name,
				 "cannot change type %s: its instances cannot be enumerated to check them",
				 nt->m->name);
			return -EOPNOTSUPP;
		}
		rc = acc->foreach_instance(acc->ctx, nt->oid, compat_instance, &c);
		if (c.rc < 0)
			return compat_fail(nt, &c, d);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int
scpp_schema_edit_compile(struct scpp_schema_edit *ed, struct scpp_schema **out,
			 struct scpp_schema_diag *d)
{
	struct model *m;
	int rc;

	if (ed == NULL || out == NULL)
		return -EINVAL;
	*out = NULL;
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return -ENOMEM;
	rc = ents_to_model(ed, m, d);
	if (rc < 0) {
		model_free(m);
		return rc;
	}
	return schema_compile(m, &ed->cur->conf, ed->cur, out, d);
}

unsigned int
scpp_schema_changed_types(const struct scpp_schema *os, const struct scpp_schema *ns,
			  struct scpp_oid *out, unsigned int max)
{
	unsigned int n = 0;

	for (uint32_t i = 0; i < ns->ntypes; i++) {
		const struct scpp_schema_type *nt = &ns->types[i];
		const struct scpp_schema_type *ot = scpp_schema_type_by_oid(os, nt->oid);

		if (ot == NULL || i == ns->meta_type || i == ns->meta_attr || !type_changed(ot, nt))
			continue;
		if (n < max)
			out[n] = nt->oid;
		n++;
	}
	return n;
}

int
scpp_schema_check_instance(const struct scpp_schema *ns, struct scpp_oid type, struct scpp_oid e,
			   const struct scpp_schema_access *acc, struct scpp_schema_diag *d)
{
	const struct scpp_schema_type *nt = scpp_schema_type_by_oid(ns, type);
	struct compat_ctx c = {.ns = ns, .nt = nt, .acc = acc};

	if (nt == NULL)
		return 0;
	if (compat_instance(&c, e) == 0)
		return 0;
	return compat_fail(nt, &c, d);
}

int
scpp_schema_edit_commit(struct scpp_schema_edit *ed, const struct scpp_schema_access *acc,
			struct scpp_schema **out, struct scpp_schema_diag *d)
{
	struct scpp_schema *ns = NULL;
	int rc;

	if (ed == NULL || out == NULL)
		return -EINVAL;
	*out = NULL;
	rc = scpp_schema_edit_compile(ed, &ns, d);
	if (rc < 0)
		return rc;
	rc = check_compat(ed->cur, ns, acc, d);
	if (rc < 0) {
		scpp_schema_free(ns);
		return rc;
	}
	*out = ns;
	return 0;
}
