/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Compiling a model into the hot-path tables, and the validation functions
 * the evaluator calls per command.
 *
 * A declaration compiles to two struct ctx_union (key and value), each a
 * 16-bit mask with one bit per accepted primitive value type, plus TX_REF
 * and a short list of type indices when entity references are accepted.
 * Checking a primitive value is then one shift and one AND. Declarations
 * are found by (type index + 1, attribute id) in one open-addressing table
 * shared by all types (load factor <= 1/2, linear probing), and types by
 * the OID of their Type entity in another. Nothing on the check path
 * allocates, formats or compares strings.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scpp_common.h"
#include "schema_priv.h"

#define TX_PRIM_MASK ((uint16_t)((1u << SCPP_VT_COUNT) - 1))
#define DEFAULT_MASK ((1u << SCPP_VT_BOOL) | (1u << SCPP_VT_I64) | (1u << SCPP_VT_U64) | \
		      (1u << SCPP_VT_F64) | (1u << SCPP_VT_STR))
/* 2^53: the largest integer every JSON reader holds exactly. */
#define JSON_INT_MAX 9007199254740992.0

static inline uint32_t
hash64(uint64_t k)
{
	k ^= k >> 33;
	k *= UINT64_C(0xff51afd7ed558ccd);
	k ^= k >> 33;
	return (uint32_t)k;
}

static inline uint64_t
attr_key(uint32_t tidx, uint32_t id)
{
	return ((uint64_t)(tidx + 1) << 32) | id;
}

/* ------------------------------------------------------------- names/ids */

const char *
schema_id_name(const struct scpp_schema *s, uint32_t id)
{
	for (unsigned int i = 0; i < s->nnames; i++)
		if (s->names[i].id == id)
			return s->names[i].name;
	return NULL;
}

int
schema_intern(struct scpp_schema *s, const char *name, uint32_t *id)
{
	int rc;

	for (unsigned int i = 0; i < s->nnames; i++) {
		if (strcmp(s->names[i].name, name) == 0) {
			*id = s->names[i].id;
			return 0;
		}
	}
	if (s->conf.intern != NULL) {
		rc = s->conf.intern(s->conf.intern_ctx, name, strlen(name), id);
		if (rc < 0)
			return rc;
		if (*id == 0)
			return -EINVAL;
	} else {
		*id = ++s->next_id;
	}
	rc = ar_grow(&s->ar, (void **)&s->names, &s->namecap, s->nnames, sizeof(*s->names));
	if (rc < 0)
		return rc;
	s->names[s->nnames].name = ar_strdup(&s->ar, name);
	s->names[s->nnames].id = *id;
	if (s->names[s->nnames].name == NULL)
		return -ENOMEM;
	s->nnames++;
	return 0;
}

/* --------------------------------------------------------------- compile */

struct cctx {
	struct scpp_schema *s;
	struct model *m;
	struct scpp_schema_diag *d;
};

/* Path of a sub-field of a declaration: JSON key in files, attribute name
 * of the schema entity for runtime edits. */
static const char *
sub(struct cctx *c, const char *path, const char *json_key, const char *attr)
{
	return ar_printf(&c->s->ar, "%s.%s", path, c->m->runtime ? attr : json_key);
}

static int
find_type(const struct model *m, const char *name)
{
	for (unsigned int i = 0; i < m->ntypes; i++)
		if (strcmp(m->types[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int
compile_union(struct cctx *c, const struct texpr_union *u, struct ctx_union *out,
	      const char *file, const char *path)
{
	out->mask = 0;
	out->nrefs = 0;
	out->refs = ar_alloc(&c->s->ar, sizeof(uint32_t) * SCPP_SCHEMA_UNION_MAX);
	if (out->refs == NULL)
		return -ENOMEM;
	for (unsigned int i = 0; i < u->n; i++) {
		int p = texpr_primitive(u->names[i]), t;

		if (p >= 0) {
			out->mask |= (uint16_t)(1u << p);
			continue;
		}
		t = find_type(c->m, u->names[i]);
		if (t < 0)
			return diag_set(c->d, file, path, "unknown type name '%s'", u->names[i]);
		out->mask |= TX_REF;
		out->refs[out->nrefs++] = (uint32_t)t;
	}
	return 0;
}

static size_t
canon_union(char *buf, size_t size, const struct texpr_union *u)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < u->n; i++) {
		int p = texpr_primitive(u->names[i]);
		const char *name = p >= 0 ? scpp_value_type_name((unsigned int)p) : u->names[i];

		if (p == SCPP_VT_STR)
			name = "string";
		/* Past the end, keep counting: the caller refuses, it never
		 * keeps a truncated expression. */
		n += (size_t)snprintf(n < size ? buf + n : NULL, n < size ? size - n : 0, "%s%s",
				      i ? " | " : "", name);
	}
	return n;
}

static int
compile_default(struct cctx *c, const struct m_attr *ma, struct scpp_schema_attr *a,
		const struct texpr *tx)
{
	const char *path = sub(c, ma->path, "default", "default");
	int p = tx->val.n == 1 ? texpr_primitive(tx->val.names[0]) : -1;
	struct scpp_value v = ma->def;

	if (a->is_map)
		return diag_set(c->d, ma->file, path, "a Hash attribute cannot have a default");
	if (p < 0 || !(DEFAULT_MASK & (1u << p)))
		return diag_set(c->d, ma->file, path,
				"default not allowed for type '%s' (only bool, i64, u64, f64 and string attributes have defaults)",
				a->canon);
	if (ma->def_json_number) {
		double f = v.f;

		if (p == SCPP_VT_U64) {
			if (f != floor(f) || f < 0 || f > JSON_INT_MAX)
				return diag_set(c->d, ma->file, path,
						"default must be an integer in 0..2^53 for type u64");
			v = scpp_value_u64((uint64_t)f);
		} else if (p == SCPP_VT_I64) {
			if (f != floor(f) || fabs(f) > JSON_INT_MAX)
				return diag_set(c->d, ma->file, path,
						"default must be an integer in -2^53..2^53 for type i64");
			v = scpp_value_i64((int64_t)f);
		} else if (p != SCPP_VT_F64) {
			return diag_set(c->d, ma->file, path, "default is a number, expected %s",
					a->canon);
		}
	} else if (v.type != p) {
		return diag_set(c->d, ma->file, path, "default is a %s, expected %s",
				v.type == SCPP_VT_BOOL && !c->m->runtime ? "boolean" :
				v.type == SCPP_VT_STR && !c->m->runtime ? "string" :
				scpp_value_type_name(v.type), a->canon);
	}
	a->has_default = 1;
	return ar_value(&c->s->ar, &a->def, &v);
}

static int
compile_attr(struct cctx *c, uint32_t tidx, const struct m_attr *ma,
	     struct scpp_schema_attr *a)
{
	const char *tpath = sub(c, ma->path, "type", "value_type");
	char reason[256], kbuf[SCPP_SCHEMA_EXPR_MAX + 1], vbuf[SCPP_SCHEMA_EXPR_MAX + 1];
	size_t klen, vlen;
	struct texpr tx;
	int rc;

	a->owner = tidx;
	a->m = ma;
	a->schema = c->s;
	a->required = ma->required;
	a->indexed = ma->indexed;
	if (ma->type_expr == NULL)
		return diag_set(c->d, ma->file, ma->path, "missing value type");
	rc = texpr_parse(&c->s->ar, ma->type_expr, &tx, reason, sizeof(reason));
	if (rc == -EINVAL)
		return diag_set(c->d, ma->file, tpath, "%s", reason);
	if (rc < 0)
		return rc;
	a->is_map = tx.is_map;
	if (tx.is_map) {
		rc = compile_union(c, &tx.key, &a->key, ma->file, tpath);
		if (rc < 0)
			return rc;
		if (a->key.mask & (1u << SCPP_VT_F64))
			return diag_set(c->d, ma->file, tpath,
					"malformed Hash[...]: f64 cannot be a Hash key (use u64 or i64)");
	}
	rc = compile_union(c, &tx.val, &a->val, ma->file, tpath);
	if (rc < 0)
		return rc;
	vlen = canon_union(vbuf, sizeof(vbuf), &tx.val);
	klen = tx.is_map ? canon_union(kbuf, sizeof(kbuf), &tx.key) : 0;
	if ((tx.is_map ? klen + vlen + 7 : vlen) > SCPP_SCHEMA_EXPR_MAX)
		return diag_set(c->d, ma->file, tpath,
				"type expression too long: %zu bytes in canonical form, at most %u",
				tx.is_map ? klen + vlen + 7 : vlen, SCPP_SCHEMA_EXPR_MAX);
	if (tx.is_map) {
		a->canon = ar_printf(&c->s->ar, "Hash[%s, %s]", kbuf, vbuf);
	} else {
		a->canon = ar_strdup(&c->s->ar, vbuf);
	}
	if (a->canon == NULL)
		return -ENOMEM;
	if (a->required && a->is_map)
		return diag_set(c->d, ma->file, sub(c, ma->path, "required", "required"),
				"a Hash attribute cannot be required (an empty map and a missing one are the same)");
	if (ma->has_default) {
		rc = compile_default(c, ma, a, &tx);
		if (rc < 0)
			return rc;
	}
	return schema_intern(c->s, ma->name, &a->id);
}

struct oid_use {
	struct scpp_oid oid;
	const char *what, *file, *path;
};

static int
oid_use_cmp(const void *a, const void *b)
{
	const struct oid_use *x = a, *y = b;
	int r = scpp_oid_cmp(x->oid, y->oid);

	if (r != 0)
		return r;
	return x < y ? -1 : 1; /* stable: report the later definition */
}

static int
check_collisions(struct cctx *c)
{
	struct scpp_schema *s = c->s;
	struct oid_use *u;
	unsigned int n = 0;
	char ob[SCPP_OID_STR_MAX];
	int rc = 0;

	u = calloc((size_t)s->ntypes + s->nattrs, sizeof(*u));
	if (u == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->ntypes; i++) {
		const struct m_type *mt = s->types[i].m;

		u[n++] = (struct oid_use){s->types[i].oid,
			ar_printf(&s->ar, "type %s", mt->name), mt->file, mt->path};
		for (uint32_t k = 0; k < s->types[i].nattrs; k++) {
			const struct scpp_schema_attr *a = &s->attrs[s->types[i].first_attr + k];

			u[n++] = (struct oid_use){a->oid,
				ar_printf(&s->ar, "attribute %s.%s", mt->name, a->m->name),
				a->m->file, a->m->path};
		}
	}
	qsort(u, n, sizeof(*u), oid_use_cmp);
	for (unsigned int i = 0; i + 1 < n; i++) {
		if (scpp_oid_eq(u[i].oid, u[i + 1].oid) || scpp_oid_is_nil(u[i].oid)) {
			const struct oid_use *x = &u[i], *y = &u[i + 1];

			/* Report where the later of the two is defined. */
			if (x->path != NULL && y->path != NULL && strcmp(x->path, y->path) > 0) {
				const struct oid_use *t = x;

				x = y;
				y = t;
			}
			scpp_oid_format(ob, sizeof(ob), y->oid);
			rc = diag_set(c->d, y->file, y->path,
				      "well-known OID collision: %s and %s both derive %s",
				      x->what, y->what, ob);
			break;
		}
	}
	free(u);
	return rc;
}

static int
build_tables(struct scpp_schema *s)
{
	uint32_t size = 16;

	while (size < 2 * s->nattrs + 2)
		size *= 2;
	s->attr_ht = ar_alloc(&s->ar, sizeof(*s->attr_ht) * size);
	s->attr_mask = size - 1;
	size = 16;
	while (size < 2 * s->ntypes + 2)
		size *= 2;
	s->type_ht = ar_alloc(&s->ar, sizeof(*s->type_ht) * size);
	s->type_mask = size - 1;
	if (s->attr_ht == NULL || s->type_ht == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->nattrs; i++) {
		uint64_t k = attr_key(s->attrs[i].owner, s->attrs[i].id);
		uint32_t h = hash64(k) & s->attr_mask;

		while (s->attr_ht[h].key != 0)
			h = (h + 1) & s->attr_mask;
		s->attr_ht[h].key = k;
		s->attr_ht[h].a = &s->attrs[i];
	}
	for (uint32_t i = 0; i < s->ntypes; i++) {
		uint32_t h = hash64(s->types[i].oid.lo ^ s->types[i].oid.hi) & s->type_mask;

		while (!scpp_oid_is_nil(s->type_ht[h].oid))
			h = (h + 1) & s->type_mask;
		s->type_ht[h].oid = s->types[i].oid;
		s->type_ht[h].t = &s->types[i];
	}
	return 0;
}

static int
self_check(struct cctx *c)
{
	struct scpp_schema_violation v;
	const struct ent *bad = NULL;
	struct ents es;
	char buf[512];
	int rc;

	memset(&es, 0, sizeof(es));
	rc = model_to_ents(c->s, &es);
	if (rc == 0)
		rc = ents_check(c->s, &es, &v, &bad);
	if (rc == -EINVAL || rc == -ENOENT) {
		scpp_schema_violation_format(buf, sizeof(buf), &v);
		rc = diag_set(c->d, bad->file, bad->path,
			      "does not conform to the metaschema: %s", buf);
	}
	ents_free(&es);
	return rc;
}

int
schema_compile(struct model *m, const struct scpp_schema_conf *conf,
	       const struct scpp_schema *prev, struct scpp_schema **out,
	       struct scpp_schema_diag *d)
{
	struct scpp_schema *s;
	struct cctx c;
	uint32_t na = 0;
	int rc, mt, ma;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		model_free(m);
		return -ENOMEM;
	}
	s->model = m;
	if (conf != NULL)
		s->conf = *conf;
	c = (struct cctx){.s = s, .m = m, .d = d};
	if (prev != NULL) {
		for (unsigned int i = 0; i < prev->nnames; i++) {
			rc = ar_grow(&s->ar, (void **)&s->names, &s->namecap, s->nnames,
				     sizeof(*s->names));
			if (rc < 0)
				goto err;
			s->names[s->nnames].name = ar_strdup(&s->ar, prev->names[i].name);
			s->names[s->nnames++].id = prev->names[i].id;
		}
		s->next_id = prev->next_id;
	}

	/* Creation order matters: names resolve across all files, so type
	 * duplicates and requires are checked before any expression. */
	for (unsigned int i = 0; i < m->ntypes; i++) {
		for (unsigned int k = 0; k < i; k++) {
			if (strcmp(m->types[k].name, m->types[i].name) == 0) {
				rc = diag_set(d, m->types[i].file, m->types[i].path,
					      "type '%s' is already defined in %s",
					      m->types[i].name, m->types[k].file);
				goto err;
			}
		}
		na += m->types[i].nattrs;
	}
	for (unsigned int i = 0; i < m->nreqs; i++) {
		bool found = false;

		for (unsigned int k = 0; k < m->nschemas; k++)
			found |= strcmp(m->schemas[k], m->reqs[i].schema) == 0;
		if (!found) {
			rc = diag_set(d, m->reqs[i].file, m->reqs[i].path,
				      "requires schema '%s', which is not loaded",
				      m->reqs[i].schema);
			goto err;
		}
	}
	mt = find_type(m, "Type");
	ma = find_type(m, "Attribute");
	if (mt < 0 || ma < 0) {
		rc = diag_set(d, m->nschemas ? m->schema_files[0] : "(no files)", "$",
			      "metaschema missing: no type '%s' (load core.json first)",
			      mt < 0 ? "Type" : "Attribute");
		goto err;
	}
	s->meta_type = (uint32_t)mt;
	s->meta_attr = (uint32_t)ma;
	rc = schema_intern(s, SCPP_SCHEMA_TYPE_ATTR, &s->type_attr_id);
	for (int i = 0; i < M_COUNT && rc == 0; i++)
		rc = schema_intern(s, meta_names[i], &s->meta_ids[i]);
	if (rc < 0)
		goto err;
	s->types = ar_alloc(&s->ar, sizeof(*s->types) * (m->ntypes + 1));
	s->attrs = ar_alloc(&s->ar, sizeof(*s->attrs) * (na + 1));
	if (s->types == NULL || s->attrs == NULL) {
		rc = -ENOMEM;
		goto err;
	}
	s->ntypes = m->ntypes;
	for (uint32_t i = 0; i < m->ntypes; i++) {
		const struct m_type *mt_ = &m->types[i];
		struct scpp_schema_type *t = &s->types[i];

		t->idx = i;
		t->m = mt_;
		t->schema = s;
		t->oid = schema_derive(&s->conf, "type", mt_->name);
		t->first_attr = s->nattrs;
		t->nattrs = mt_->nattrs;
		t->name_attr = -1;
		t->required = ar_alloc(&s->ar, sizeof(uint32_t) * (mt_->nattrs + 1));
		if (t->required == NULL) {
			rc = -ENOMEM;
			goto err;
		}
		for (uint32_t k = 0; k < mt_->nattrs; k++) {
			struct scpp_schema_attr *a = &s->attrs[s->nattrs];
			char full[2 * SCPP_SCHEMA_NAME_MAX + 2];

			rc = compile_attr(&c, i, &mt_->attrs[k], a);
			if (rc < 0)
				goto err;
			snprintf(full, sizeof(full), "%s.%s", mt_->name, mt_->attrs[k].name);
			a->oid = schema_derive(&s->conf, "attr", full);
			if (a->required)
				t->required[t->nrequired++] = s->nattrs;
			if (mt_->name_attr != NULL && strcmp(mt_->name_attr, a->m->name) == 0)
				t->name_attr = (int32_t)s->nattrs;
			s->nattrs++;
		}
		if (mt_->name_attr != NULL && t->name_attr < 0) {
			rc = diag_set(d, mt_->file, mt_->name_attr_path,
				      "name_attr '%s' is not an attribute of type %s",
				      mt_->name_attr, mt_->name);
			goto err;
		}
		if (t->name_attr >= 0 && s->attrs[t->name_attr].is_map) {
			rc = diag_set(d, mt_->file, mt_->name_attr_path,
				      "name_attr '%s' is a Hash attribute; it must be a plain value",
				      mt_->name_attr);
			goto err;
		}
	}
	rc = check_collisions(&c);
	if (rc < 0)
		goto err;
	rc = build_tables(s);
	if (rc < 0)
		goto err;
	if (s->ar.failed || m->ar.failed) {
		rc = -ENOMEM;
		goto err;
	}
	rc = self_check(&c);
	if (rc < 0)
		goto err;
	*out = s;
	return 0;
err:
	scpp_schema_free(s);
	return rc;
}

void
scpp_schema_free(struct scpp_schema *s)
{
	if (s == NULL)
		return;
	model_free(s->model);
	ar_free(&s->ar);
	free(s);
}

/* ------------------------------------------------------------ inspection */

unsigned int
scpp_schema_type_count(const struct scpp_schema *s)
{
	return s->ntypes;
}

const struct scpp_schema_type *
scpp_schema_type_at(const struct scpp_schema *s, unsigned int i)
{
	return i < s->ntypes ? &s->types[i] : NULL;
}

const struct scpp_schema_type *
scpp_schema_type_by_name(const struct scpp_schema *s, const char *name)
{
	for (uint32_t i = 0; i < s->ntypes; i++)
		if (strcmp(s->types[i].m->name, name) == 0)
			return &s->types[i];
	return NULL;
}

const struct scpp_schema_type *
scpp_schema_type_by_oid(const struct scpp_schema *s, struct scpp_oid oid)
{
	uint32_t h = hash64(oid.lo ^ oid.hi) & s->type_mask;

	for (;;) {
		const struct type_slot *ts = &s->type_ht[h];

		if (scpp_oid_is_nil(ts->oid))
			return NULL;
		if (scpp_oid_eq(ts->oid, oid))
			return ts->t;
		h = (h + 1) & s->type_mask;
	}
}

const char *scpp_schema_type_name(const struct scpp_schema_type *t) { return t->m->name; }
const char *scpp_schema_type_doc(const struct scpp_schema_type *t) { return t->m->doc ? t->m->doc : ""; }
struct scpp_oid scpp_schema_type_get_oid(const struct scpp_schema_type *t) { return t->oid; }
unsigned int scpp_schema_type_attr_count(const struct scpp_schema_type *t) { return t->nattrs; }

bool
scpp_schema_type_is_meta(const struct scpp_schema_type *t)
{
	return t->idx == t->schema->meta_type || t->idx == t->schema->meta_attr;
}

const struct scpp_schema_attr *
scpp_schema_type_name_attr(const struct scpp_schema_type *t)
{
	return t->name_attr < 0 ? NULL : &t->schema->attrs[t->name_attr];
}

const struct scpp_schema_attr *
scpp_schema_type_attr_at(const struct scpp_schema_type *t, unsigned int i)
{
	return i < t->nattrs ? &t->schema->attrs[t->first_attr + i] : NULL;
}

int
scpp_schema_attr_id(const struct scpp_schema *s, const char *name, uint32_t *id)
{
	for (unsigned int i = 0; i < s->nnames; i++) {
		if (strcmp(s->names[i].name, name) == 0) {
			*id = s->names[i].id;
			return 0;
		}
	}
	return -ENOENT;
}

uint32_t scpp_schema_type_attr_id(const struct scpp_schema *s) { return s->type_attr_id; }

const struct scpp_schema_attr *
scpp_schema_attr_get(const struct scpp_schema *s, const struct scpp_schema_type *t,
		     uint32_t attr_id)
{
	uint64_t k = attr_key(t->idx, attr_id);
	uint32_t h = hash64(k) & s->attr_mask;

	for (;;) {
		const struct attr_slot *as = &s->attr_ht[h];

		if (as->key == k)
			return as->a;
		if (as->key == 0)
			return NULL;
		h = (h + 1) & s->attr_mask;
	}
}

const char *scpp_schema_attr_name(const struct scpp_schema_attr *a) { return a->m->name; }
const char *scpp_schema_attr_doc(const struct scpp_schema_attr *a) { return a->m->doc ? a->m->doc : ""; }
uint32_t scpp_schema_attr_get_id(const struct scpp_schema_attr *a) { return a->id; }
struct scpp_oid scpp_schema_attr_get_oid(const struct scpp_schema_attr *a) { return a->oid; }
const char *scpp_schema_attr_type_expr(const struct scpp_schema_attr *a) { return a->canon; }

const struct scpp_schema_type *
scpp_schema_attr_owner(const struct scpp_schema_attr *a)
{
	return &a->schema->types[a->owner];
}

unsigned int
scpp_schema_attr_flags(const struct scpp_schema_attr *a)
{
	return (a->required ? SCPP_SCHEMA_ATTR_REQUIRED : 0) |
	       (a->indexed ? SCPP_SCHEMA_ATTR_INDEXED : 0) |
	       (a->is_map ? SCPP_SCHEMA_ATTR_MAP : 0) |
	       (a->has_default ? SCPP_SCHEMA_ATTR_DEFAULT : 0);
}

const struct scpp_value *
scpp_schema_attr_default(const struct scpp_schema_attr *a)
{
	return a->has_default ? &a->def : NULL;
}

/* ------------------------------------------------------------- validation */

static SCPP_COLD int
violate(struct scpp_schema_violation *viol, enum scpp_schema_vkind kind,
	const struct scpp_schema *s, const struct scpp_schema_type *t,
	const struct scpp_schema_attr *a, uint32_t attr_id, struct scpp_oid entity,
	const struct scpp_value *v, int err)
{
	(void)s;
	if (viol != NULL) {
		memset(viol, 0, sizeof(*viol));
		viol->kind = kind;
		viol->type = t;
		viol->attr = a;
		viol->attr_id = attr_id;
		viol->entity = entity;
		viol->err = err;
		if (v != NULL) {
			viol->got = v->type;
			if (v->type == SCPP_VT_OID)
				viol->target = v->oid;
		}
	}
	switch (kind) {
	case SCPP_SCHEMA_V_REF_MISSING:
		return -ENOENT;
	case SCPP_SCHEMA_V_ACCESS:
		return err < 0 ? err : -EIO;
	default:
		return -EINVAL;
	}
}

static inline int
check_union(const struct scpp_schema *s, const struct scpp_schema_attr *a,
	    const struct ctx_union *u, bool is_key, struct scpp_oid entity,
	    const struct scpp_value *v, const struct scpp_schema_access *acc,
	    struct scpp_schema_violation *viol)
{
	const struct scpp_schema_type *tt;
	struct scpp_oid target_type;
	int rc;

	if (SCPP_LIKELY(v->type < SCPP_VT_COUNT && (u->mask & (1u << v->type))))
		return 0;
	if (v->type != SCPP_VT_OID || !(u->mask & TX_REF))
		return violate(viol, is_key ? SCPP_SCHEMA_V_KEY_TYPE : SCPP_SCHEMA_V_VALUE_TYPE,
			       s, &s->types[a->owner], a, a->id, entity, v, 0);
	if (acc == NULL || acc->type_of == NULL)
		return 0;
	rc = acc->type_of(acc->ctx, v->oid, &target_type);
	if (rc == -EREMOTE)
		return 0; /* lives elsewhere: checked by its owner, see SCHEMA.md */
	if (rc == -ENOENT)
		return violate(viol, SCPP_SCHEMA_V_REF_MISSING, s, &s->types[a->owner], a,
			       a->id, entity, v, 0);
	if (rc < 0)
		return violate(viol, SCPP_SCHEMA_V_ACCESS, s, &s->types[a->owner], a, a->id,
			       entity, v, rc);
	tt = scpp_schema_type_by_oid(s, target_type);
	if (tt != NULL)
		for (unsigned int i = 0; i < u->nrefs; i++)
			if (u->refs[i] == tt->idx)
				return 0;
	rc = violate(viol, SCPP_SCHEMA_V_REF_TYPE, s, &s->types[a->owner], a, a->id,
		     entity, v, 0);
	if (viol != NULL)
		viol->target_type = target_type;
	return rc;
}

int
scpp_schema_check_value(const struct scpp_schema *s, const struct scpp_schema_attr *a,
			struct scpp_oid entity, const struct scpp_value *v,
			const struct scpp_schema_access *acc,
			struct scpp_schema_violation *viol)
{
	return check_union(s, a, &a->val, false, entity, v, acc, viol);
}

static int
check_type_attr(const struct scpp_schema *s, const struct scpp_schema_type *t,
		struct scpp_oid entity, const struct scpp_value *v,
		struct scpp_schema_violation *viol)
{
	const struct scpp_schema_type *nt;

	if (v->type != SCPP_VT_OID)
		return violate(viol, SCPP_SCHEMA_V_VALUE_TYPE, s, t, NULL, s->type_attr_id,
			       entity, v, 0);
	nt = scpp_schema_type_by_oid(s, v->oid);
	if (nt == NULL)
		return violate(viol, SCPP_SCHEMA_V_UNKNOWN_TYPE, s, t, NULL, s->type_attr_id,
			       entity, v, 0);
	if (t != NULL && nt != t)
		return violate(viol, SCPP_SCHEMA_V_TYPE_CHANGE, s, t, NULL, s->type_attr_id,
			       entity, v, 0);
	return 0;
}

int
scpp_schema_check_set(const struct scpp_schema *s, const struct scpp_schema_type *t,
		      struct scpp_oid entity, uint32_t attr_id,
		      const struct scpp_value *v, const struct scpp_schema_access *acc,
		      struct scpp_schema_violation *viol)
{
	const struct scpp_schema_attr *a;

	if (SCPP_UNLIKELY(attr_id == s->type_attr_id))
		return check_type_attr(s, t, entity, v, viol);
	if (t == NULL)
		return 0; /* untyped entities are free-form */
	a = scpp_schema_attr_get(s, t, attr_id);
	if (SCPP_UNLIKELY(a == NULL))
		return violate(viol, SCPP_SCHEMA_V_UNKNOWN_ATTR, s, t, NULL, attr_id, entity, v, 0);
	if (SCPP_UNLIKELY(a->is_map))
		return violate(viol, SCPP_SCHEMA_V_IS_MAP, s, t, a, attr_id, entity, v, 0);
	return check_union(s, a, &a->val, false, entity, v, acc, viol);
}

int
scpp_schema_check_map_set(const struct scpp_schema *s, const struct scpp_schema_type *t,
			  struct scpp_oid entity, uint32_t attr_id,
			  const struct scpp_value *key, const struct scpp_value *v,
			  const struct scpp_schema_access *acc,
			  struct scpp_schema_violation *viol)
{
	const struct scpp_schema_attr *a;
	int rc;

	if (SCPP_UNLIKELY(attr_id == s->type_attr_id))
		return violate(viol, SCPP_SCHEMA_V_NOT_MAP, s, t, NULL, attr_id, entity, v, 0);
	if (t == NULL)
		return 0;
	a = scpp_schema_attr_get(s, t, attr_id);
	if (SCPP_UNLIKELY(a == NULL))
		return violate(viol, SCPP_SCHEMA_V_UNKNOWN_ATTR, s, t, NULL, attr_id, entity, v, 0);
	if (SCPP_UNLIKELY(!a->is_map))
		return violate(viol, SCPP_SCHEMA_V_NOT_MAP, s, t, a, attr_id, entity, v, 0);
	rc = check_union(s, a, &a->key, true, entity, key, acc, viol);
	if (rc < 0)
		return rc;
	return check_union(s, a, &a->val, false, entity, v, acc, viol);
}

int
scpp_schema_check_del(const struct scpp_schema *s, const struct scpp_schema_type *t,
		      struct scpp_oid entity, uint32_t attr_id,
		      struct scpp_schema_violation *viol)
{
	const struct scpp_schema_attr *a;

	if (t == NULL)
		return 0;
	if (attr_id == s->type_attr_id)
		return violate(viol, SCPP_SCHEMA_V_REQUIRED, s, t, NULL, attr_id, entity, NULL, 0);
	a = scpp_schema_attr_get(s, t, attr_id);
	if (a != NULL && a->required)
		return violate(viol, SCPP_SCHEMA_V_REQUIRED, s, t, a, attr_id, entity, NULL, 0);
	return 0;
}

struct all_ctx {
	const struct scpp_schema *s;
	const struct scpp_schema_type *t;
	struct scpp_oid entity;
	const struct scpp_schema_access *acc;
	struct scpp_schema_violation *viol;
	int rc;
};

static int
check_one(void *arg, uint32_t attr_id, const struct scpp_value *key,
	  const struct scpp_value *v)
{
	struct all_ctx *c = arg;

	if (key == NULL)
		c->rc = scpp_schema_check_set(c->s, c->t, c->entity, attr_id, v, c->acc, c->viol);
	else
		c->rc = scpp_schema_check_map_set(c->s, c->t, c->entity, attr_id, key, v,
						  c->acc, c->viol);
	return c->rc < 0 ? 1 : 0;
}

int
scpp_schema_check_entity(const struct scpp_schema *s, const struct scpp_schema_type *t,
			 struct scpp_oid entity, unsigned int flags,
			 const struct scpp_schema_access *acc,
			 struct scpp_schema_violation *viol)
{
	int rc;

	if (t == NULL)
		return 0;
	if (acc == NULL || acc->has == NULL ||
	    ((flags & SCPP_SCHEMA_CHECK_ALL_ATTRS) && acc->foreach_attr == NULL) ||
	    ((flags & SCPP_SCHEMA_CHECK_FILL_DEFAULTS) && acc->set == NULL))
		return -ENOTSUP;
	if (flags & SCPP_SCHEMA_CHECK_FILL_DEFAULTS) {
		for (uint32_t i = 0; i < t->nattrs; i++) {
			const struct scpp_schema_attr *a = &s->attrs[t->first_attr + i];

			if (!a->has_default)
				continue;
			rc = acc->has(acc->ctx, entity, a->id);
			if (rc == 0)
				rc = acc->set(acc->ctx, entity, a->id, &a->def);
			if (rc < 0)
				return violate(viol, SCPP_SCHEMA_V_ACCESS, s, t, a, a->id,
					       entity, NULL, rc);
		}
	}
	for (uint32_t i = 0; i < t->nrequired; i++) {
		const struct scpp_schema_attr *a = &s->attrs[t->required[i]];

		rc = acc->has(acc->ctx, entity, a->id);
		if (rc < 0)
			return violate(viol, SCPP_SCHEMA_V_ACCESS, s, t, a, a->id, entity, NULL, rc);
		if (rc == 0)
			return violate(viol, SCPP_SCHEMA_V_REQUIRED, s, t, a, a->id, entity,
				       NULL, 0);
	}
	if (flags & SCPP_SCHEMA_CHECK_ALL_ATTRS) {
		struct all_ctx c = {s, t, entity, acc, viol, 0};

		rc = acc->foreach_attr(acc->ctx, entity, check_one, &c);
		if (c.rc < 0)
			return c.rc;
		if (rc < 0)
			return violate(viol, SCPP_SCHEMA_V_ACCESS, s, t, NULL, 0, entity, NULL, rc);
	}
	return 0;
}

static const char *
vt_name(uint8_t t)
{
	return t == SCPP_VT_STR ? "string" : scpp_value_type_name(t);
}

static void
union_str(char *buf, size_t size, const struct scpp_schema_attr *a, bool key)
{
	const char *c = a->canon;

	/* The canonical text is "Hash[K, V]" or "V": cut out the half asked for. */
	if (a->is_map) {
		const char *comma = strstr(c, ", ");
		size_t klen = (size_t)(comma - (c + 5));

		if (key)
			snprintf(buf, size, "%.*s", (int)klen, c + 5);
		else
			snprintf(buf, size, "%.*s", (int)(strlen(comma + 2) - 1), comma + 2);
	} else {
		snprintf(buf, size, "%s", c);
	}
}

int
scpp_schema_violation_format(char *buf, size_t size,
			     const struct scpp_schema_violation *v)
{
	const struct scpp_schema_attr *a = v->attr;
	const struct scpp_schema_type *t = v->type;
	const struct scpp_schema *s = t ? t->schema : a ? a->schema : NULL;
	char ent[SCPP_OID_STR_MAX + 4] = "", tgt[SCPP_OID_STR_MAX], where[160], u[512];
	const char *aname = a ? a->m->name : s ? schema_id_name(s, v->attr_id) : NULL;
	const struct scpp_schema_type *tt;

	if (!scpp_oid_is_nil(v->entity)) {
		scpp_oid_format(ent, SCPP_OID_STR_MAX, v->entity);
		strcat(ent, ": ");
	}
	scpp_oid_format(tgt, sizeof(tgt), v->target);
	if (aname != NULL)
		snprintf(where, sizeof(where), "%s.%s", t ? t->m->name : "", aname);
	else
		snprintf(where, sizeof(where), "%s.#%" PRIu32, t ? t->m->name : "", v->attr_id);
	if (v->attr_id == (s ? s->type_attr_id : UINT32_MAX))
		snprintf(where, sizeof(where), "type");
	switch (v->kind) {
	case SCPP_SCHEMA_V_VALUE_TYPE:
		if (a == NULL)
			return snprintf(buf, size, "%stype: expected the oid of a Type, got %s",
					ent, vt_name(v->got));
		union_str(u, sizeof(u), a, false);
		return snprintf(buf, size, "%s%s: expected %s, got %s", ent, where, u,
				vt_name(v->got));
	case SCPP_SCHEMA_V_KEY_TYPE:
		union_str(u, sizeof(u), a, true);
		return snprintf(buf, size, "%s%s: map key expected %s, got %s", ent, where, u,
				vt_name(v->got));
	case SCPP_SCHEMA_V_REF_TYPE:
		union_str(u, sizeof(u), a, false);
		tt = s ? scpp_schema_type_by_oid(s, v->target_type) : NULL;
		return snprintf(buf, size, "%s%s: %s is %s%s, expected %s", ent, where, tgt,
				tt ? "a " : "an untyped entity", tt ? tt->m->name : "", u);
	case SCPP_SCHEMA_V_REF_MISSING:
		return snprintf(buf, size, "%s%s: referenced entity %s does not exist", ent,
				where, tgt);
	case SCPP_SCHEMA_V_UNKNOWN_ATTR:
		if (aname != NULL)
			return snprintf(buf, size, "%stype %s has no attribute '%s'", ent,
					t ? t->m->name : "?", aname);
		return snprintf(buf, size, "%stype %s has no attribute #%" PRIu32, ent,
				t ? t->m->name : "?", v->attr_id);
	case SCPP_SCHEMA_V_NOT_MAP:
		return snprintf(buf, size, "%s%s is not a Hash attribute", ent, where);
	case SCPP_SCHEMA_V_IS_MAP:
		return snprintf(buf, size, "%s%s is a Hash attribute: set its entries", ent, where);
	case SCPP_SCHEMA_V_REQUIRED:
		if (a == NULL)
			return snprintf(buf, size, "%stype of a typed entity cannot be deleted", ent);
		return snprintf(buf, size, "%s%s is required", ent, where);
	case SCPP_SCHEMA_V_UNKNOWN_TYPE:
		return snprintf(buf, size, "%stype: %s is not a known type", ent, tgt);
	case SCPP_SCHEMA_V_TYPE_CHANGE:
		tt = s ? scpp_schema_type_by_oid(s, v->target) : NULL;
		return snprintf(buf, size, "%stype: the entity is a %s; it cannot become a %s",
				ent, t ? t->m->name : "?", tt ? tt->m->name : tgt);
	case SCPP_SCHEMA_V_ACCESS:
		return snprintf(buf, size, "%s%s: lookup failed: %s", ent, where,
				scpp_strerror(v->err));
	case SCPP_SCHEMA_V_NONE:
	default:
		return snprintf(buf, size, "%sno violation", ent);
	}
}
