/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/schema: loading (shipped files and broken fixtures with their exact
 * messages), the metaschema describing itself, well-known OIDs, every
 * validation rule on both sides, materialisation into a store shard and
 * runtime schema changes.
 *
 * Validation tests read a tiny in-memory "world" through
 * struct scpp_schema_access; store tests use a real shard over libc memory.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scpp_test.h"
#include "scpp_common.h"
#include "scpp_schema.h"
#include "scpp_store.h"

/* ---------------------------------------------------------------- helpers */

static char *
src_path(const char *rel)
{
	static char buf[4][1024];
	static unsigned int next;
	const char *root = getenv("SCPP_SOURCE_ROOT");
	char *b = buf[next++ % 4];

	snprintf(b, sizeof(buf[0]), "%s/%s", root != NULL ? root : ".", rel);
	return b;
}

static struct scpp_schema *
load_shipped_conf(const struct scpp_schema_conf *conf)
{
	const char *paths[] = {src_path("schema/core.json"), src_path("schema/posix.json")};
	struct scpp_schema_diag d;
	struct scpp_schema *s = NULL;
	int rc = scpp_schema_load_files(paths, 2, conf, &s, &d);

	if (rc != 0)
		fail_msg("shipped schema: %d %s", rc, d.msg);
	return s;
}

static struct scpp_schema *
load_shipped(void)
{
	return load_shipped_conf(NULL);
}

static char *
read_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *t;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	t = malloc((size_t)n + 1);
	assert_non_null(t);
	assert_int_equal(fread(t, 1, (size_t)n, f), (size_t)n);
	t[n] = '\0';
	fclose(f);
	return t;
}

/* Load core.json plus @text (named @name); returns rc, fills *s or *d. */
static int
load_with_core(const char *name, const char *text, struct scpp_schema **s,
	       struct scpp_schema_diag *d)
{
	char *core = read_text(src_path("schema/core.json"));
	const char *names[] = {"core.json", name};
	const char *texts[] = {core, text};
	int rc = scpp_schema_load_strings(names, texts, NULL, 2, NULL, s, d);

	free(core);
	return rc;
}

static uint32_t
aid(const struct scpp_schema *s, const char *name)
{
	uint32_t id = 0;

	if (scpp_schema_attr_id(s, name, &id) != 0)
		fail_msg("no attribute id for %s", name);
	return id;
}

static const struct scpp_schema_type *
ty(const struct scpp_schema *s, const char *name)
{
	const struct scpp_schema_type *t = scpp_schema_type_by_name(s, name);

	if (t == NULL)
		fail_msg("no type %s", name);
	return t;
}

static struct scpp_value
toid(const char *type)
{
	return scpp_value_oid(scpp_schema_type_oid(type));
}

/* A small world of entities behind struct scpp_schema_access. */
#define W_ENTS 32
#define W_SLOTS 32
/* Entities on node 99 are "remote": not in the world, type_of says -EREMOTE. */
#define W_REMOTE_NODE 99

struct wslot {
	uint32_t attr;
	bool is_map;
	struct scpp_value key, val;
};

struct went {
	struct scpp_oid oid;
	struct wslot s[W_SLOTS];
	unsigned int n;
};

struct world {
	const struct scpp_schema *schema;
	struct went e[W_ENTS];
	unsigned int n;
	unsigned int sets; /* acc->set calls */
};

static struct went *
w_find(struct world *w, struct scpp_oid o)
{
	for (unsigned int i = 0; i < w->n; i++)
		if (scpp_oid_eq(w->e[i].oid, o))
			return &w->e[i];
	return NULL;
}

static struct scpp_oid
w_new(struct world *w, const char *type)
{
	struct scpp_oid o = scpp_oid_make(0, 1, 1, 1, w->n + 1);
	struct went *e = &w->e[w->n++];

	assert_true(w->n <= W_ENTS);
	e->oid = o;
	e->n = 0;
	if (type != NULL) {
		e->s[0] = (struct wslot){scpp_schema_type_attr_id(w->schema), false,
					 scpp_value_nil(), toid(type)};
		e->n = 1;
	}
	return o;
}

static void
w_put(struct world *w, struct scpp_oid o, uint32_t attr, const struct scpp_value *key,
      struct scpp_value v)
{
	struct went *e = w_find(w, o);

	assert_non_null(e);
	for (unsigned int i = 0; i < e->n; i++) {
		if (e->s[i].attr == attr && (key == NULL || scpp_value_eq(&e->s[i].key, key))) {
			e->s[i].val = v;
			return;
		}
	}
	assert_true(e->n < W_SLOTS);
	e->s[e->n++] = (struct wslot){attr, key != NULL, key ? *key : scpp_value_nil(), v};
}

static void
w_set(struct world *w, struct scpp_oid o, const char *attr, struct scpp_value v)
{
	w_put(w, o, aid(w->schema, attr), NULL, v);
}

static int
w_type_of(void *ctx, struct scpp_oid o, struct scpp_oid *type)
{
	struct world *w = ctx;
	struct went *e = w_find(w, o);

	if (e == NULL)
		return scpp_oid_node(o) == W_REMOTE_NODE ? -EREMOTE : -ENOENT;
	*type = SCPP_OID_NIL;
	for (unsigned int i = 0; i < e->n; i++)
		if (e->s[i].attr == scpp_schema_type_attr_id(w->schema))
			*type = e->s[i].val.oid;
	return 0;
}

static int
w_has(void *ctx, struct scpp_oid o, uint32_t attr)
{
	struct went *e = w_find(ctx, o);

	if (e == NULL)
		return -ENOENT;
	for (unsigned int i = 0; i < e->n; i++)
		if (e->s[i].attr == attr)
			return 1;
	return 0;
}

static int
w_setcb(void *ctx, struct scpp_oid o, uint32_t attr, const struct scpp_value *v)
{
	struct world *w = ctx;

	w->sets++;
	w_put(w, o, attr, NULL, *v);
	return 0;
}

static int
w_foreach_attr(void *ctx, struct scpp_oid o, scpp_schema_attr_cb cb, void *arg)
{
	struct went *e = w_find(ctx, o);

	if (e == NULL)
		return -ENOENT;
	for (unsigned int i = 0; i < e->n; i++) {
		int rc = cb(arg, e->s[i].attr, e->s[i].is_map ? &e->s[i].key : NULL, &e->s[i].val);

		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
w_foreach_instance(void *ctx, struct scpp_oid type, scpp_schema_entity_cb cb, void *arg)
{
	struct world *w = ctx;

	for (unsigned int i = 0; i < w->n; i++) {
		struct scpp_oid t;

		if (w_type_of(w, w->e[i].oid, &t) == 0 && scpp_oid_eq(t, type) && cb(arg, w->e[i].oid))
			break;
	}
	return 0;
}

static struct scpp_schema_access
w_access(struct world *w)
{
	struct scpp_schema_access acc;

	memset(&acc, 0, sizeof(acc));
	acc.type_of = w_type_of;
	acc.has = w_has;
	acc.set = w_setcb;
	acc.foreach_attr = w_foreach_attr;
	acc.foreach_instance = w_foreach_instance;
	acc.ctx = w;
	return acc;
}

static struct world *
w_create(const struct scpp_schema *s)
{
	struct world *w = calloc(1, sizeof(*w));

	assert_non_null(w);
	w->schema = s;
	return w;
}

/* Check `set e attr v` on an entity of type @tname (NULL: untyped). */
static int
check_set(const struct scpp_schema *s, struct world *w, const char *tname,
	  const char *attr, struct scpp_value v, struct scpp_schema_violation *viol)
{
	struct scpp_schema_access acc = w_access(w);

	return scpp_schema_check_set(s, tname ? ty(s, tname) : NULL, SCPP_OID_NIL,
				     aid(s, attr), &v, &acc, viol);
}

static void
assert_viol_msg(const struct scpp_schema_violation *v, const char *want)
{
	char buf[512];

	scpp_schema_violation_format(buf, sizeof(buf), v);
	assert_string_equal(buf, want);
}

/* ---------------------------------------------------------------- loading */

static void
test_schema_shipped_files_load(void **state)
{
	struct scpp_schema *s = load_shipped();
	static const char *const types[] = {
		"Type", "Attribute", "Status", "Principal", "Grant", "RmaWindow", "Machine", "Process",
		"OpenFile", "User", "Group", "File", "Directory", "DirPage", "Symlink", "Extent",
		"Special", "Volume",
	};
	(void)state;

	assert_int_equal(scpp_schema_type_count(s), SCPP_ARRAY_SIZE(types));
	for (unsigned int i = 0; i < SCPP_ARRAY_SIZE(types); i++)
		assert_string_equal(scpp_schema_type_name(scpp_schema_type_at(s, i)), types[i]);
	assert_null(scpp_schema_type_at(s, SCPP_ARRAY_SIZE(types)));
	assert_int_equal(scpp_schema_check_self(s, NULL), 0);
	scpp_schema_free(s);
}

static void
test_schema_shipped_types_have_the_documented_shapes(void **state)
{
	struct scpp_schema *s = load_shipped();
	static const struct {
		const char *type, *attr, *expr;
		unsigned int flags;
	} cases[] = {
		{"Directory", "entries", "Hash[string, File | Directory | Symlink | Special]",
		 SCPP_SCHEMA_ATTR_MAP},
		{"File", "extents", "Hash[u64, Extent]", SCPP_SCHEMA_ATTR_MAP},
		{"File", "size", "u64", SCPP_SCHEMA_ATTR_REQUIRED | SCPP_SCHEMA_ATTR_DEFAULT},
		{"File", "data", "bytes", 0},
		{"Process", "fds", "Hash[u64, OpenFile]", SCPP_SCHEMA_ATTR_MAP},
		{"Process", "pid", "u64", SCPP_SCHEMA_ATTR_REQUIRED | SCPP_SCHEMA_ATTR_INDEXED},
		{"User", "groups", "Hash[u64, Group]", SCPP_SCHEMA_ATTR_MAP},
		{"Status", "errno", "u64", SCPP_SCHEMA_ATTR_REQUIRED},
		{"Status", "node", "oid", 0},
		{"Attribute", "default", "bool | i64 | u64 | f64 | string", 0},
		{"Type", "attributes", "Hash[string, Attribute]", SCPP_SCHEMA_ATTR_MAP},
	};
	(void)state;

	for (unsigned int i = 0; i < SCPP_ARRAY_SIZE(cases); i++) {
		const struct scpp_schema_type *t = ty(s, cases[i].type);
		const struct scpp_schema_attr *a = scpp_schema_attr_get(s, t, aid(s, cases[i].attr));

		assert_non_null(a);
		assert_string_equal(scpp_schema_attr_type_expr(a), cases[i].expr);
		assert_int_equal(scpp_schema_attr_flags(a), cases[i].flags);
		assert_ptr_equal(scpp_schema_attr_owner(a), t);
		assert_string_equal(scpp_schema_attr_name(a), cases[i].attr);
	}
	assert_string_equal(scpp_schema_attr_name(scpp_schema_type_name_attr(ty(s, "Process"))), "comm");
	assert_null(scpp_schema_type_name_attr(ty(s, "File")));
	assert_true(scpp_schema_attr_default(scpp_schema_attr_get(s, ty(s, "File"), aid(s, "size")))->type == SCPP_VT_U64);
	scpp_schema_free(s);
}

static void
test_schema_metaschema_type_is_its_own_type(void **state)
{
	struct scpp_schema *s = load_shipped();
	const struct scpp_schema_type *t = ty(s, "Type");
	(void)state;

	/* The Type entity's `type` is Type; every other type's is Type too. */
	assert_true(scpp_oid_eq(scpp_schema_type_get_oid(t), scpp_schema_type_oid("Type")));
	assert_ptr_equal(scpp_schema_type_by_oid(s, scpp_schema_type_oid("Type")), t);
	assert_non_null(scpp_schema_attr_get(s, t, aid(s, "attributes")));
	assert_non_null(scpp_schema_attr_get(s, ty(s, "Attribute"), aid(s, "value_type")));
	assert_true(scpp_schema_type_is_meta(t));
	assert_true(scpp_schema_type_is_meta(ty(s, "Attribute")));
	assert_false(scpp_schema_type_is_meta(ty(s, "File")));
	scpp_schema_free(s);
}

struct triple_log {
	struct scpp_oid type_of_type;
	unsigned int n, type_entities, attr_entities;
	unsigned int process_attrs;
};

static int
log_triple(void *arg, struct scpp_oid e, const char *attr, uint32_t attr_id,
	   const struct scpp_value *key, const struct scpp_value *v)
{
	struct triple_log *l = arg;

	(void)attr_id;
	l->n++;
	if (key == NULL && strcmp(attr, "type") == 0) {
		if (scpp_oid_eq(e, scpp_schema_type_oid("Type")))
			l->type_of_type = v->oid;
		if (scpp_oid_eq(v->oid, scpp_schema_type_oid("Type")))
			l->type_entities++;
		if (scpp_oid_eq(v->oid, scpp_schema_type_oid("Attribute")))
			l->attr_entities++;
	}
	if (key != NULL && scpp_oid_eq(e, scpp_schema_type_oid("Process")))
		l->process_attrs++;
	return 0;
}

static void
test_schema_triples_describe_every_type_and_declaration(void **state)
{
	struct scpp_schema *s = load_shipped();
	struct triple_log l = {0};
	unsigned int nattrs = 0;
	(void)state;

	assert_int_equal(scpp_schema_foreach_triple(s, log_triple, &l), 0);
	for (unsigned int i = 0; i < scpp_schema_type_count(s); i++)
		nattrs += scpp_schema_type_attr_count(scpp_schema_type_at(s, i));
	assert_true(scpp_oid_eq(l.type_of_type, scpp_schema_type_oid("Type")));
	assert_int_equal(l.type_entities, scpp_schema_type_count(s));
	assert_int_equal(l.attr_entities, nattrs);
	assert_int_equal(l.process_attrs, scpp_schema_type_attr_count(ty(s, "Process")));
	scpp_schema_free(s);
}

static void
test_schema_metaschema_rejects_schema_entities_it_does_not_describe(void **state)
{
	/* core.json with `indexed` removed from Attribute: every Attribute
	 * entity holds `indexed`, which the metaschema no longer declares. */
	char *core = read_text(src_path("schema/core.json"));
	char *p = strstr(core, "\"indexed\": {\"type\": \"bool\", \"required\": true");
	const char *repl = "\"xndexed\": {\"type\": \"bool\", \"required\":false";
	const char *names[] = {"core.json"};
	const char *texts[] = {core};
	struct scpp_schema_diag d;
	struct scpp_schema *s = NULL;
	char want[512], ob[SCPP_OID_STR_MAX];
	(void)state;

	assert_non_null(p);
	memcpy(p, repl, strlen(repl));
	assert_int_equal(scpp_schema_load_strings(names, texts, NULL, 1, NULL, &s, &d), -EINVAL);
	assert_null(s);
	scpp_oid_format(ob, sizeof(ob), scpp_schema_attr_oid("Type", "name"));
	snprintf(want, sizeof(want),
		 "core.json: $.types.Type.attributes.name: does not conform to the metaschema: "
		 "%s: type Attribute has no attribute 'indexed'", ob);
	assert_string_equal(d.msg, want);
	free(core);
}

/* FNV-1a-64 as docs/SCHEMA.md states it, written out independently. */
static struct scpp_oid
ref_oid(const char *text)
{
	uint64_t h = UINT64_C(14695981039346656037);

	for (const char *c = text; *c; c++) {
		h ^= (uint8_t)*c;
		h *= UINT64_C(1099511628211);
	}
	return (struct scpp_oid){0, h | (UINT64_C(1) << 63)};
}

static void
test_schema_well_known_oids_follow_the_documented_rule(void **state)
{
	struct scpp_schema *s = load_shipped();
	const struct scpp_schema_type *f = ty(s, "File");
	(void)state;

	assert_true(scpp_oid_eq(scpp_schema_type_oid("File"), ref_oid("scpp.type:File")));
	assert_true(scpp_oid_eq(scpp_schema_attr_oid("File", "size"), ref_oid("scpp.attr:File.size")));
	assert_true(scpp_oid_eq(scpp_schema_type_get_oid(f), ref_oid("scpp.type:File")));
	assert_true(scpp_oid_eq(scpp_schema_attr_get_oid(scpp_schema_attr_get(s, f, aid(s, "size"))),
				ref_oid("scpp.attr:File.size")));
	/* Well-known namespace: locale, node and shard zero. */
	assert_int_equal(scpp_oid_locale(scpp_schema_type_get_oid(f)), 0);
	assert_int_equal(scpp_oid_node(scpp_schema_type_get_oid(f)), 0);
	assert_int_equal(scpp_oid_shard(scpp_schema_type_get_oid(f)), 0);
	scpp_schema_free(s);
}

static struct scpp_oid
colliding_oid(const char *kind, const char *name)
{
	/* Every declaration of Group lands on one OID. */
	if (strcmp(kind, "attr") == 0 && strncmp(name, "Group.", 6) == 0)
		return scpp_oid_make(0, 0, 0, 1, 1);
	return ref_oid(name);
}

static void
test_schema_well_known_oid_collision_is_rejected(void **state)
{
	const char *paths[] = {src_path("schema/core.json"), src_path("schema/posix.json")};
	struct scpp_schema_conf conf = {.derive_oid = colliding_oid};
	struct scpp_schema_diag d;
	struct scpp_schema *s = NULL;
	char want[1024];
	(void)state;

	assert_int_equal(scpp_schema_load_files(paths, 2, &conf, &s, &d), -EINVAL);
	assert_null(s);
	snprintf(want, sizeof(want),
		 "%s: $.types.Group.attributes.name: well-known OID collision: attribute Group.gid "
		 "and attribute Group.name both derive @0.0.0.1.1", paths[1]);
	assert_string_equal(d.msg, want);
}

static void
test_schema_broken_files_fail_with_file_path_and_reason(void **state)
{
	static const struct {
		const char *file, *path, *reason;
	} cases[] = {
		{"not_object.json", "$", "expected object, got array"},
		{"unknown_type.json", "$.types.Thing.attributes.size.type", "unknown type name 'u46'"},
		{"bad_union.json", "$.types.Thing.attributes.x.type",
		 "bad union member: expected a type name after '|', found '|'"},
		{"union_hash.json", "$.types.Thing.attributes.x.type",
		 "bad union member: Hash[...] cannot be a union member"},
		{"dup_member.json", "$.types.Thing.attributes.x.type",
		 "bad union member: 'Thing' appears twice"},
		{"duplicate_attr.json", "$.types.Thing.attributes.x", "duplicate attribute 'x' in type Thing"},
		{"duplicate_type.json", "$.types.Thing", "duplicate type 'Thing'"},
		{"hash_unclosed.json", "$.types.Thing.attributes.m.type",
		 "malformed Hash[...]: expected ']' after the value type, found end of expression"},
		{"hash_arity.json", "$.types.Thing.attributes.m.type",
		 "malformed Hash[...]: expected ',' after the key type, found ']'"},
		{"hash_nested.json", "$.types.Thing.attributes.m.type",
		 "malformed Hash[...]: a Hash key or value cannot be a Hash"},
		{"hash_f64_key.json", "$.types.Thing.attributes.m.type",
		 "malformed Hash[...]: f64 cannot be a Hash key (use u64 or i64)"},
		{"unknown_key.json", "$.types.Thing.attributes.x.optional",
		 "unknown key 'optional' (expected one of: type, required, indexed, default, doc)"},
		{"missing_type_key.json", "$.types.Thing.attributes.x", "missing required key 'type'"},
		{"missing_types.json", "$", "missing required key 'types'"},
		{"wrong_kind.json", "$.types.Thing.attributes.x.required", "expected boolean, got string"},
		{"required_map.json", "$.types.Thing.attributes.m.required",
		 "a Hash attribute cannot be required (an empty map and a missing one are the same)"},
		{"bad_default.json", "$.types.Thing.attributes.n.default",
		 "default must be an integer in 0..2^53 for type u64"},
		{"default_kind.json", "$.types.Thing.attributes.s.default", "default is a number, expected string"},
		{"default_ref.json", "$.types.Thing.attributes.r.default",
		 "default not allowed for type 'Thing' (only bool, i64, u64, f64 and string attributes have defaults)"},
		{"name_attr.json", "$.types.Thing.name_attr", "name_attr 'nope' is not an attribute of type Thing"},
		{"bad_type_name.json", "$.types.thing", "bad type name 'thing' (expected [A-Z][A-Za-z0-9_]*)"},
		{"reserved_type.json", "$.types.String", "type name 'String' is reserved (a built-in type)"},
		{"reserved_attr.json", "$.types.Thing.attributes.type",
		 "attribute name 'type' is reserved (it records every entity's type)"},
		{"requires.json", "$.requires[1]", "requires schema 'nosuch', which is not loaded"},
	};
	(void)state;

	for (unsigned int i = 0; i < SCPP_ARRAY_SIZE(cases); i++) {
		char rel[256], want[1024];
		const char *paths[2];
		struct scpp_schema_diag d;
		struct scpp_schema *s = NULL;
		int rc;

		snprintf(rel, sizeof(rel), "tests/unit/schema/broken/%s", cases[i].file);
		paths[0] = src_path("schema/core.json");
		paths[1] = src_path(rel);
		rc = scpp_schema_load_files(paths, 2, NULL, &s, &d);
		if (rc != -EINVAL)
			fail_msg("%s: rc %d", cases[i].file, rc);
		assert_null(s);
		snprintf(want, sizeof(want), "%s: %s: %s", paths[1], cases[i].path, cases[i].reason);
		if (strcmp(d.msg, want) != 0)
			fail_msg("%s:\n got  %s\n want %s", cases[i].file, d.msg, want);
		assert_string_equal(d.file, paths[1]);
		assert_string_equal(d.path, cases[i].path);
		assert_string_equal(d.reason, cases[i].reason);
		assert_int_equal(d.line, 0);
	}
}

static void
test_schema_redefining_a_type_of_another_file_names_both(void **state)
{
	const char *paths[] = {src_path("schema/core.json"),
			       src_path("tests/unit/schema/broken/redefine_core.json")};
	struct scpp_schema_diag d;
	struct scpp_schema *s = NULL;
	char want[1024];
	(void)state;

	assert_int_equal(scpp_schema_load_files(paths, 2, NULL, &s, &d), -EINVAL);
	snprintf(want, sizeof(want), "%s: $.types.Status: type 'Status' is already defined in %s",
		 paths[1], paths[0]);
	assert_string_equal(d.msg, want);
}

static void
test_schema_loading_a_schema_twice_is_rejected(void **state)
{
	const char *paths[] = {src_path("schema/core.json"),
			       src_path("tests/unit/schema/broken/dup_schema.json")};
	struct scpp_schema_diag d;
	struct scpp_schema *s = NULL;
	char want[1024];
	(void)state;

	assert_int_equal(scpp_schema_load_files(paths, 2, NULL, &s, &d), -EINVAL);
	snprintf(want, sizeof(want), "%s: $.schema: schema 'core' already loaded from %s",
		 paths[1], paths[0]);
	assert_string_equal(d.msg, want);
}

static void
test_schema_json_syntax_error_reports_line_and_column(void **state)
{
	const char *paths[] = {src_path("schema/core.json"),
			       src_path("tests/unit/schema/broken/syntax.json")};
	struct scpp_schema_diag d;
	struct scpp_schema *s = NULL;
	char want[1024];
	(void)state;

	assert_int_equal(scpp_schema_load_files(paths, 2, NULL, &s, &d), -EINVAL);
	/* Line 4 is `\t\t"Thing": {"attributes": {"x": {"type": "u64",}}}`;
	 * cJSON gives up one character past the '}' that follows the trailing
	 * comma (columns count bytes, a tab is one). */
	assert_int_equal(d.line, 4);
	assert_int_equal(d.col, 49);
	snprintf(want, sizeof(want), "%s:4:49: JSON syntax error near '}}'", paths[1]);
	assert_string_equal(d.msg, want);
	assert_string_equal(d.path, "$");
}

static void
test_schema_trailing_content_after_json_is_a_syntax_error(void **state)
{
	const char *paths[] = {src_path("schema/core.json"),
			       src_path("tests/unit/schema/broken/trailing.json")};
	struct scpp_schema_diag d;
	struct scpp_schema *s = NULL;
	char want[1024];
	(void)state;

	assert_int_equal(scpp_schema_load_files(paths, 2, NULL, &s, &d), -EINVAL);
	snprintf(want, sizeof(want),
		 "%s:2:1: JSON syntax error: unexpected content after the top-level value near 'garbage'",
		 paths[1]);
	assert_string_equal(d.msg, want);
}

static void
test_schema_missing_file_reports_errno(void **state)
{
	const char *paths[] = {src_path("schema/core.json"), src_path("schema/nonexistent.json")};
	struct scpp_schema_diag d;
	struct scpp_schema *s = NULL;
	char want[1024];
	(void)state;

	assert_int_equal(scpp_schema_load_files(paths, 2, NULL, &s, &d), -ENOENT);
	assert_null(s);
	snprintf(want, sizeof(want), "%s: : cannot open: %s", paths[1], strerror(ENOENT));
	assert_string_equal(d.msg, want);
}

static void
test_schema_without_metaschema_is_rejected(void **state)
{
	const char *names[] = {"lonely.json"};
	const char *texts[] = {"{\"schema\": \"lonely\", \"types\": {\"Thing\": {}}}"};
	struct scpp_schema_diag d;
	struct scpp_schema *s = NULL;
	(void)state;

	assert_int_equal(scpp_schema_load_strings(names, texts, NULL, 1, NULL, &s, &d), -EINVAL);
	assert_string_equal(d.msg, "lonely.json: $: metaschema missing: no type 'Type' (load core.json first)");
}

static void
test_schema_posix_without_core_names_the_missing_requirement(void **state)
{
	const char *paths[] = {src_path("schema/posix.json")};
	struct scpp_schema_diag d;
	struct scpp_schema *s = NULL;
	char want[1024];
	(void)state;

	assert_int_equal(scpp_schema_load_files(paths, 1, NULL, &s, &d), -EINVAL);
	snprintf(want, sizeof(want), "%s: $.requires[0]: requires schema 'core', which is not loaded",
		 paths[0]);
	assert_string_equal(d.msg, want);
}

static void
test_schema_type_expressions_accept_spacing_case_and_unions(void **state)
{
	static const struct {
		const char *in, *canon;
	} cases[] = {
		{"u64", "u64"},
		{"String", "string"},
		{"  BOOL ", "bool"},
		{"Thing|u64", "Thing | u64"},
		{"Hash[ String ,Thing | Other ]", "Hash[string, Thing | Other]"},
		{"Hash[oid, bytes]", "Hash[oid, bytes]"},
		{"i64 | f64 | string | bytes | oid | bool", "i64 | f64 | string | bytes | oid | bool"},
	};
	(void)state;

	for (unsigned int i = 0; i < SCPP_ARRAY_SIZE(cases); i++) {
		char text[512];
		struct scpp_schema_diag d;
		struct scpp_schema *s = NULL;
		const struct scpp_schema_attr *a;

		snprintf(text, sizeof(text),
			 "{\"schema\": \"t\", \"types\": {\"Other\": {}, \"Thing\": {\"attributes\": "
			 "{\"x\": {\"type\": \"%s\"}}}}}", cases[i].in);
		if (load_with_core("t.json", text, &s, &d) != 0)
			fail_msg("%s: %s", cases[i].in, d.msg);
		a = scpp_schema_attr_get(s, ty(s, "Thing"), aid(s, "x"));
		assert_string_equal(scpp_schema_attr_type_expr(a), cases[i].canon);
		scpp_schema_free(s);
	}
}

static void
test_schema_bad_type_expressions_are_explained(void **state)
{
	static const struct {
		const char *in, *reason;
	} cases[] = {
		{"", "empty type expression"},
		{"Hash", "malformed Hash[...]: expected '[' after Hash, found end of expression"},
		{"Hash[u64, Thing] x", "malformed Hash[...]: unexpected 'x' after ']'"},
		{"| Thing", "expected a type name, found '|'"},
		{"Thing u64", "bad union member: unexpected 'u'"},
		{"Thing |", "bad union member: expected a type name after '|', found end of expression"},
		{"Hash[, u64]", "malformed Hash[...]: expected a type name, found ','"},
	};
	(void)state;

	for (unsigned int i = 0; i < SCPP_ARRAY_SIZE(cases); i++) {
		char text[512];
		struct scpp_schema_diag d;
		struct scpp_schema *s = NULL;

		snprintf(text, sizeof(text),
			 "{\"schema\": \"t\", \"types\": {\"Thing\": {\"attributes\": "
			 "{\"x\": {\"type\": \"%s\"}}}}}", cases[i].in);
		assert_int_equal(load_with_core("t.json", text, &s, &d), -EINVAL);
		assert_string_equal(d.path, "$.types.Thing.attributes.x.type");
		if (strcmp(d.reason, cases[i].reason) != 0)
			fail_msg("'%s': got '%s'", cases[i].in, d.reason);
	}
}

/* ------------------------------------------------------------- validation */

static const char *const test_types =
	"{\"schema\": \"t\", \"types\": {"
	"\"A\": {\"attributes\": {"
	"  \"b\": {\"type\": \"bool\"}, \"i\": {\"type\": \"i64\"}, \"u\": {\"type\": \"u64\"},"
	"  \"f\": {\"type\": \"f64\"}, \"s\": {\"type\": \"string\"}, \"y\": {\"type\": \"bytes\"},"
	"  \"o\": {\"type\": \"oid\"}, \"r\": {\"type\": \"B\"}, \"un\": {\"type\": \"B | C\"},"
	"  \"mix\": {\"type\": \"u64 | string\"},"
	"  \"m\": {\"type\": \"Hash[string, B | C]\"}, \"mu\": {\"type\": \"Hash[u64, u64]\"},"
	"  \"req\": {\"type\": \"u64\", \"required\": true},"
	"  \"dflt\": {\"type\": \"string\", \"default\": \"x\"},"
	"  \"rd\": {\"type\": \"i64\", \"required\": true, \"default\": -3}}},"
	"\"B\": {}, \"C\": {}}}";

static struct scpp_schema *
load_test_types(void)
{
	struct scpp_schema_diag d;
	struct scpp_schema *s = NULL;

	if (load_with_core("t.json", test_types, &s, &d) != 0)
		fail_msg("%s", d.msg);
	return s;
}

static void
test_schema_primitive_attributes_accept_only_their_type(void **state)
{
	struct scpp_schema *s = load_test_types();
	struct world *w = w_create(s);
	struct scpp_oid any = scpp_oid_make(0, 7, 7, 7, 7);
	struct scpp_value all[] = {
		scpp_value_bool(true), scpp_value_i64(-1), scpp_value_u64(1), scpp_value_f64(0.5),
		scpp_value_cstr("s"), scpp_value_bytes("b", 1), scpp_value_oid(any), scpp_value_nil(),
	};
	/* attribute, index in all[] of the one accepted type */
	static const struct {
		const char *attr;
		unsigned int ok;
	} cases[] = {{"b", 0}, {"i", 1}, {"u", 2}, {"f", 3}, {"s", 4}, {"y", 5}, {"o", 6}};
	(void)state;

	for (unsigned int c = 0; c < SCPP_ARRAY_SIZE(cases); c++) {
		for (unsigned int v = 0; v < SCPP_ARRAY_SIZE(all); v++) {
			struct scpp_schema_violation viol;
			int rc = check_set(s, w, "A", cases[c].attr, all[v], &viol);

			if (v == cases[c].ok) {
				assert_int_equal(rc, 0);
			} else {
				assert_int_equal(rc, -EINVAL);
				assert_int_equal(viol.kind, SCPP_SCHEMA_V_VALUE_TYPE);
				assert_int_equal(viol.got, all[v].type);
			}
		}
	}
	free(w);
	scpp_schema_free(s);
}

static void
test_schema_value_type_violation_is_explained(void **state)
{
	struct scpp_schema *s = load_test_types();
	struct world *w = w_create(s);
	struct scpp_schema_violation viol;
	(void)state;

	assert_int_equal(check_set(s, w, "A", "u", scpp_value_cstr("7"), &viol), -EINVAL);
	assert_viol_msg(&viol, "A.u: expected u64, got string");
	assert_int_equal(check_set(s, w, "A", "mix", scpp_value_i64(7), &viol), -EINVAL);
	assert_viol_msg(&viol, "A.mix: expected u64 | string, got i64");
	assert_int_equal(check_set(s, w, "A", "mix", scpp_value_u64(7), &viol), 0);
	assert_int_equal(check_set(s, w, "A", "mix", scpp_value_cstr("7"), &viol), 0);
	free(w);
	scpp_schema_free(s);
}

static void
test_schema_reference_accepts_entity_of_the_declared_type(void **state)
{
	struct scpp_schema *s = load_test_types();
	struct world *w = w_create(s);
	struct scpp_schema_violation viol;
	struct scpp_oid b = w_new(w, "B");
	(void)state;

	assert_int_equal(check_set(s, w, "A", "r", scpp_value_oid(b), &viol), 0);
	free(w);
	scpp_schema_free(s);
}

static void
test_schema_reference_rejects_entity_of_another_type(void **state)
{
	struct scpp_schema *s = load_test_types();
	struct world *w = w_create(s);
	struct scpp_schema_violation viol;
	struct scpp_oid c = w_new(w, "C"), u = w_new(w, NULL);
	char want[256], ob[SCPP_OID_STR_MAX];
	(void)state;

	assert_int_equal(check_set(s, w, "A", "r", scpp_value_oid(c), &viol), -EINVAL);
	assert_int_equal(viol.kind, SCPP_SCHEMA_V_REF_TYPE);
	assert_true(scpp_oid_eq(viol.target, c));
	scpp_oid_format(ob, sizeof(ob), c);
	snprintf(want, sizeof(want), "A.r: %s is a C, expected B", ob);
	assert_viol_msg(&viol, want);
	/* An untyped entity is not a B either. */
	assert_int_equal(check_set(s, w, "A", "r", scpp_value_oid(u), &viol), -EINVAL);
	scpp_oid_format(ob, sizeof(ob), u);
	snprintf(want, sizeof(want), "A.r: %s is an untyped entity, expected B", ob);
	assert_viol_msg(&viol, want);
	free(w);
	scpp_schema_free(s);
}

static void
test_schema_reference_to_missing_entity_is_enoent(void **state)
{
	struct scpp_schema *s = load_test_types();
	struct world *w = w_create(s);
	struct scpp_schema_violation viol;
	struct scpp_oid ghost = scpp_oid_make(0, 1, 1, 1, 999);
	(void)state;

	assert_int_equal(check_set(s, w, "A", "r", scpp_value_oid(ghost), &viol), -ENOENT);
	assert_int_equal(viol.kind, SCPP_SCHEMA_V_REF_MISSING);
	assert_viol_msg(&viol, "A.r: referenced entity @0.1.1.1.3e7 does not exist");
	free(w);
	scpp_schema_free(s);
}

static void
test_schema_reference_to_remote_entity_is_accepted_unchecked(void **state)
{
	struct scpp_schema *s = load_test_types();
	struct world *w = w_create(s);
	struct scpp_oid far = scpp_oid_make(0, W_REMOTE_NODE, 1, 1, 5);
	(void)state;

	assert_int_equal(check_set(s, w, "A", "r", scpp_value_oid(far), NULL), 0);
	/* Without a type_of hook references are not looked up at all. */
	assert_int_equal(scpp_schema_check_set(s, ty(s, "A"), SCPP_OID_NIL, aid(s, "r"),
					       &(struct scpp_value){.type = SCPP_VT_OID}, NULL, NULL), 0);
	free(w);
	scpp_schema_free(s);
}

static void
test_schema_union_accepts_each_member_and_rejects_others(void **state)
{
	struct scpp_schema *s = load_test_types();
	struct world *w = w_create(s);
	struct scpp_schema_violation viol;
	struct scpp_oid b = w_new(w, "B"), c = w_new(w, "C"), a = w_new(w, "A");
	char want[256], ob[SCPP_OID_STR_MAX];
	(void)state;

	assert_int_equal(check_set(s, w, "A", "un", scpp_value_oid(b), &viol), 0);
	assert_int_equal(check_set(s, w, "A", "un", scpp_value_oid(c), &viol), 0);
	assert_int_equal(check_set(s, w, "A", "un", scpp_value_oid(a), &viol), -EINVAL);
	scpp_oid_format(ob, sizeof(ob), a);
	snprintf(want, sizeof(want), "A.un: %s is a A, expected B | C", ob);
	assert_viol_msg(&viol, want);
	assert_int_equal(check_set(s, w, "A", "un", scpp_value_u64(1), &viol), -EINVAL);
	assert_int_equal(viol.kind, SCPP_SCHEMA_V_VALUE_TYPE);
	free(w);
	scpp_schema_free(s);
}

static void
test_schema_map_checks_key_and_value_types(void **state)
{
	struct scpp_schema *s = load_test_types();
	struct world *w = w_create(s);
	struct scpp_schema_access acc = w_access(w);
	struct scpp_schema_violation viol;
	const struct scpp_schema_type *t = ty(s, "A");
	struct scpp_oid b = w_new(w, "B"), a = w_new(w, "A");
	struct scpp_value k = scpp_value_cstr("name"), bad_k = scpp_value_u64(1);
	struct scpp_value vb = scpp_value_oid(b), va = scpp_value_oid(a), n = scpp_value_u64(2);
	(void)state;

	assert_int_equal(scpp_schema_check_map_set(s, t, SCPP_OID_NIL, aid(s, "m"), &k, &vb, &acc, &viol), 0);
	assert_int_equal(scpp_schema_check_map_set(s, t, SCPP_OID_NIL, aid(s, "m"), &bad_k, &vb, &acc, &viol), -EINVAL);
	assert_int_equal(viol.kind, SCPP_SCHEMA_V_KEY_TYPE);
	assert_viol_msg(&viol, "A.m: map key expected string, got u64");
	assert_int_equal(scpp_schema_check_map_set(s, t, SCPP_OID_NIL, aid(s, "m"), &k, &va, &acc, &viol), -EINVAL);
	assert_int_equal(viol.kind, SCPP_SCHEMA_V_REF_TYPE);
	assert_int_equal(scpp_schema_check_map_set(s, t, SCPP_OID_NIL, aid(s, "mu"), &bad_k, &n, &acc, &viol), 0);
	assert_int_equal(scpp_schema_check_map_set(s, t, SCPP_OID_NIL, aid(s, "mu"), &bad_k, &k, &acc, &viol), -EINVAL);
	assert_viol_msg(&viol, "A.mu: expected u64, got string");
	free(w);
	scpp_schema_free(s);
}

static void
test_schema_map_and_plain_operations_do_not_mix(void **state)
{
	struct scpp_schema *s = load_test_types();
	struct world *w = w_create(s);
	struct scpp_schema_violation viol;
	struct scpp_value k = scpp_value_u64(1), v = scpp_value_u64(1);
	(void)state;

	assert_int_equal(check_set(s, w, "A", "mu", v, &viol), -EINVAL);
	assert_int_equal(viol.kind, SCPP_SCHEMA_V_IS_MAP);
	assert_viol_msg(&viol, "A.mu is a Hash attribute: set its entries");
	assert_int_equal(scpp_schema_check_map_set(s, ty(s, "A"), SCPP_OID_NIL, aid(s, "u"), &k, &v,
						   NULL, &viol), -EINVAL);
	assert_int_equal(viol.kind, SCPP_SCHEMA_V_NOT_MAP);
	assert_viol_msg(&viol, "A.u is not a Hash attribute");
	free(w);
	scpp_schema_free(s);
}

static void
test_schema_unknown_attribute_rejected_on_typed_accepted_on_untyped(void **state)
{
	struct scpp_schema *s = load_test_types();
	struct scpp_schema_violation viol;
	struct scpp_value v = scpp_value_u64(1), k = scpp_value_u64(1);
	uint32_t foreign = aid(s, "owner"); /* declared by Attribute, not by A */
	(void)state;

	assert_int_equal(scpp_schema_check_set(s, ty(s, "A"), SCPP_OID_NIL, foreign, &v, NULL, &viol), -EINVAL);
	assert_int_equal(viol.kind, SCPP_SCHEMA_V_UNKNOWN_ATTR);
	assert_viol_msg(&viol, "type A has no attribute 'owner'");
	assert_int_equal(scpp_schema_check_set(s, ty(s, "A"), SCPP_OID_NIL, 999999, &v, NULL, &viol), -EINVAL);
	assert_viol_msg(&viol, "type A has no attribute #999999");
	assert_int_equal(scpp_schema_check_map_set(s, ty(s, "A"), SCPP_OID_NIL, foreign, &k, &v, NULL, &viol), -EINVAL);
	assert_int_equal(viol.kind, SCPP_SCHEMA_V_UNKNOWN_ATTR);
	/* Untyped: anything goes, even a declared name with another type. */
	assert_int_equal(scpp_schema_check_set(s, NULL, SCPP_OID_NIL, foreign, &v, NULL, &viol), 0);
	assert_int_equal(scpp_schema_check_set(s, NULL, SCPP_OID_NIL, 999999, &v, NULL, &viol), 0);
	assert_int_equal(scpp_schema_check_map_set(s, NULL, SCPP_OID_NIL, aid(s, "u"), &k, &v, NULL, &viol), 0);
	scpp_schema_free(s);
}

static void
test_schema_type_attribute_must_name_a_known_type_and_never_change(void **state)
{
	struct scpp_schema *s = load_test_types();
	struct world *w = w_create(s);
	struct scpp_schema_violation viol;
	(void)state;

	assert_int_equal(check_set(s, w, NULL, "type", toid("A"), &viol), 0);
	assert_int_equal(check_set(s, w, "A", "type", toid("A"), &viol), 0);
	assert_int_equal(check_set(s, w, "A", "type", toid("B"), &viol), -EINVAL);
	assert_int_equal(viol.kind, SCPP_SCHEMA_V_TYPE_CHANGE);
	assert_viol_msg(&viol, "type: the entity is a A; it cannot become a B");
	assert_int_equal(check_set(s, w, NULL, "type", toid("Nope"), &viol), -EINVAL);
	assert_int_equal(viol.kind, SCPP_SCHEMA_V_UNKNOWN_TYPE);
	assert_int_equal(check_set(s, w, NULL, "type", scpp_value_cstr("A"), &viol), -EINVAL);
	assert_viol_msg(&viol, "type: expected the oid of a Type, got string");
	free(w);
	scpp_schema_free(s);
}

static void
test_schema_entity_missing_required_attribute_fails_at_end_of_block(void **state)
{
	struct scpp_schema *s = load_test_types();
	struct world *w = w_create(s);
	struct scpp_schema_access acc = w_access(w);
	struct scpp_schema_violation viol;
	struct scpp_oid a = w_new(w, "A");
	char want[256], ob[SCPP_OID_STR_MAX];
	(void)state;

	w_set(w, a, "rd", scpp_value_i64(1));
	assert_int_equal(scpp_schema_check_entity(s, ty(s, "A"), a, 0, &acc, &viol), -EINVAL);
	assert_int_equal(viol.kind, SCPP_SCHEMA_V_REQUIRED);
	scpp_oid_format(ob, sizeof(ob), a);
	snprintf(want, sizeof(want), "%s: A.req is required", ob);
	assert_viol_msg(&viol, want);
	w_set(w, a, "req", scpp_value_u64(1));
	assert_int_equal(scpp_schema_check_entity(s, ty(s, "A"), a, 0, &acc, &viol), 0);
	assert_int_equal(w->sets, 0);
	free(w);
	scpp_schema_free(s);
}

static void
test_schema_defaults_fill_missing_attributes_when_asked(void **state)
{
	struct scpp_schema *s = load_test_types();
	struct world *w = w_create(s);
	struct scpp_schema_access acc = w_access(w);
	struct scpp_schema_violation viol;
	struct scpp_oid a = w_new(w, "A");
	struct went *e;
	(void)state;

	w_set(w, a, "req", scpp_value_u64(1));
	w_set(w, a, "dflt", scpp_value_cstr("mine"));
	/* Without the flag a required attribute with a default still counts as missing. */
	assert_int_equal(scpp_schema_check_entity(s, ty(s, "A"), a, 0, &acc, &viol), -EINVAL);
	assert_int_equal(scpp_schema_check_entity(s, ty(s, "A"), a, SCPP_SCHEMA_CHECK_FILL_DEFAULTS,
						  &acc, &viol), 0);
	assert_int_equal(w->sets, 1); /* rd filled; dflt was present and kept */
	e = w_find(w, a);
	assert_int_equal(e->s[e->n - 1].attr, aid(s, "rd"));
	assert_int_equal(e->s[e->n - 1].val.i, -3);
	assert_memory_equal(e->s[2].val.p, "mine", 4);
	/* A hook the flags need but acc lacks. */
	acc.set = NULL;
	assert_int_equal(scpp_schema_check_entity(s, ty(s, "A"), a, SCPP_SCHEMA_CHECK_FILL_DEFAULTS,
						  &acc, &viol), -ENOTSUP);
	free(w);
	scpp_schema_free(s);
}

static void
test_schema_entity_check_all_attrs_finds_bad_values(void **state)
{
	struct scpp_schema *s = load_test_types();
	struct world *w = w_create(s);
	struct scpp_schema_access acc = w_access(w);
	struct scpp_schema_violation viol;
	struct scpp_oid a = w_new(w, "A");
	(void)state;

	w_set(w, a, "req", scpp_value_u64(1));
	w_set(w, a, "rd", scpp_value_i64(1));
	w_set(w, a, "s", scpp_value_u64(1)); /* written while the entity was untyped */
	assert_int_equal(scpp_schema_check_entity(s, ty(s, "A"), a, 0, &acc, &viol), 0);
	assert_int_equal(scpp_schema_check_entity(s, ty(s, "A"), a, SCPP_SCHEMA_CHECK_ALL_ATTRS,
						  &acc, &viol), -EINVAL);
	assert_int_equal(viol.kind, SCPP_SCHEMA_V_VALUE_TYPE);
	/* Untyped entities always pass. */
	assert_int_equal(scpp_schema_check_entity(s, NULL, a, SCPP_SCHEMA_CHECK_ALL_ATTRS, &acc, &viol), 0);
	free(w);
	scpp_schema_free(s);
}

static void
test_schema_deleting_required_attribute_is_rejected(void **state)
{
	struct scpp_schema *s = load_test_types();
	struct scpp_schema_violation viol;
	const struct scpp_schema_type *t = ty(s, "A");
	(void)state;

	assert_int_equal(scpp_schema_check_del(s, t, SCPP_OID_NIL, aid(s, "req"), &viol), -EINVAL);
	assert_int_equal(viol.kind, SCPP_SCHEMA_V_REQUIRED);
	assert_int_equal(scpp_schema_check_del(s, t, SCPP_OID_NIL, aid(s, "type"), &viol), -EINVAL);
	assert_viol_msg(&viol, "type of a typed entity cannot be deleted");
	assert_int_equal(scpp_schema_check_del(s, t, SCPP_OID_NIL, aid(s, "u"), &viol), 0);
	assert_int_equal(scpp_schema_check_del(s, NULL, SCPP_OID_NIL, aid(s, "req"), &viol), 0);
	scpp_schema_free(s);
}

static void
test_schema_lookup_by_id_and_oid_is_consistent(void **state)
{
	struct scpp_schema *s = load_shipped();
	(void)state;

	for (unsigned int i = 0; i < scpp_schema_type_count(s); i++) {
		const struct scpp_schema_type *t = scpp_schema_type_at(s, i);

		assert_ptr_equal(scpp_schema_type_by_oid(s, scpp_schema_type_get_oid(t)), t);
		for (unsigned int k = 0; k < scpp_schema_type_attr_count(t); k++) {
			const struct scpp_schema_attr *a = scpp_schema_type_attr_at(t, k);

			assert_ptr_equal(scpp_schema_attr_get(s, t, scpp_schema_attr_get_id(a)), a);
			assert_ptr_equal(scpp_schema_attr_get(s, t, aid(s, scpp_schema_attr_name(a))), a);
		}
		assert_null(scpp_schema_type_attr_at(t, scpp_schema_type_attr_count(t)));
	}
	assert_null(scpp_schema_type_by_oid(s, scpp_oid_make(0, 0, 0, 1, 2)));
	assert_null(scpp_schema_type_by_name(s, "Nope"));
	assert_int_equal(scpp_schema_attr_id(s, "no_such_attribute", &(uint32_t){0}), -ENOENT);
	scpp_schema_free(s);
}

static void
test_schema_free_accepts_null(void **state)
{
	(void)state;
	scpp_schema_free(NULL);
	scpp_schema_edit_free(NULL);
}

static void
test_schema_invalid_arguments_are_rejected(void **state)
{
	struct scpp_schema *s = NULL;
	struct scpp_schema_edit *ed = NULL;
	(void)state;

	assert_int_equal(scpp_schema_load_files(NULL, 1, NULL, &s, NULL), -EINVAL);
	assert_int_equal(scpp_schema_load_strings(NULL, NULL, NULL, 1, NULL, &s, NULL), -EINVAL);
	assert_int_equal(scpp_schema_load_files(NULL, 0, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(scpp_schema_edit_begin(NULL, &ed), -EINVAL);
	assert_null(ed);
}

/* ----------------------------------------------------------- runtime edits */

struct edit_fix {
	struct scpp_schema *s;
	struct world *w;
	struct scpp_schema_access acc;
	struct scpp_schema_edit *ed;
	struct scpp_schema_diag d;
};

static void
edit_setup(struct edit_fix *f)
{
	memset(f, 0, sizeof(*f));
	f->s = load_shipped();
	f->w = w_create(f->s);
	f->acc = w_access(f->w);
	assert_int_equal(scpp_schema_edit_begin(f->s, &f->ed), 0);
}

static void
edit_teardown(struct edit_fix *f)
{
	scpp_schema_edit_free(f->ed);
	free(f->w);
	scpp_schema_free(f->s);
}

static int
eset(struct edit_fix *f, struct scpp_oid e, const char *attr, struct scpp_value v)
{
	return scpp_schema_edit_set(f->ed, e, aid(f->s, attr), &v, &f->d);
}

/* A File in the world, without `owner_name` and holding size as u64. */
static struct scpp_oid
add_file(struct edit_fix *f)
{
	struct scpp_oid o = w_new(f->w, "File");
	static const char *const req[] = {"ino", "dev", "mode", "uid", "gid", "nlink", "size"};

	for (unsigned int i = 0; i < SCPP_ARRAY_SIZE(req); i++)
		w_set(f->w, o, req[i], scpp_value_u64(i + 1));
	return o;
}

static void
test_schema_edit_of_doc_commits_and_leaves_the_old_schema_intact(void **state)
{
	struct edit_fix f;
	struct scpp_schema *ns = NULL;
	(void)state;

	edit_setup(&f);
	add_file(&f);
	assert_int_equal(eset(&f, scpp_schema_type_oid("File"), "doc", scpp_value_cstr("inode")), 0);
	assert_int_equal(eset(&f, scpp_schema_attr_oid("File", "size"), "doc", scpp_value_cstr("len")), 0);
	assert_int_equal(scpp_schema_edit_commit(f.ed, &f.acc, &ns, &f.d), 0);
	assert_string_equal(scpp_schema_type_doc(ty(ns, "File")), "inode");
	assert_string_equal(scpp_schema_attr_doc(scpp_schema_attr_get(ns, ty(ns, "File"), aid(ns, "size"))), "len");
	assert_string_not_equal(scpp_schema_type_doc(ty(f.s, "File")), "inode");
	assert_int_equal(scpp_schema_check_self(ns, NULL), 0);
	scpp_schema_free(ns);
	edit_teardown(&f);
}

static void
test_schema_edit_making_attribute_required_is_rejected_while_instances_lack_it(void **state)
{
	struct edit_fix f;
	struct scpp_schema *ns = NULL;
	struct scpp_oid file;
	char want[512], ob[SCPP_OID_STR_MAX];
	(void)state;

	edit_setup(&f);
	file = add_file(&f);
	assert_int_equal(eset(&f, scpp_schema_attr_oid("File", "blocks"), "required", scpp_value_bool(true)), 0);
	assert_int_equal(scpp_schema_edit_commit(f.ed, &f.acc, &ns, &f.d), -EBUSY);
	assert_null(ns);
	scpp_oid_format(ob, sizeof(ob), file);
	snprintf(want, sizeof(want),
		 "(runtime): File.blocks: incompatible with existing data: instance %s would not "
		 "conform (File.blocks is required)", ob);
	assert_string_equal(f.d.msg, want);
	/* Once every instance has it, the same change is accepted. */
	w_set(f.w, file, "blocks", scpp_value_u64(8));
	assert_int_equal(scpp_schema_edit_commit(f.ed, &f.acc, &ns, &f.d), 0);
	assert_true(scpp_schema_attr_flags(scpp_schema_attr_get(ns, ty(ns, "File"), aid(ns, "blocks"))) &
		    SCPP_SCHEMA_ATTR_REQUIRED);
	scpp_schema_free(ns);
	edit_teardown(&f);
}

static void
test_schema_edit_changing_value_type_is_rejected_while_instances_hold_old_values(void **state)
{
	struct edit_fix f;
	struct scpp_schema *ns = NULL;
	struct scpp_oid file;
	char want[512], ob[SCPP_OID_STR_MAX];
	(void)state;

	edit_setup(&f);
	file = add_file(&f);
	assert_int_equal(eset(&f, scpp_schema_attr_oid("File", "size"), "value_type", scpp_value_cstr("string")), 0);
	assert_int_equal(eset(&f, scpp_schema_attr_oid("File", "size"), "default", scpp_value_cstr("0")), 0);
	assert_int_equal(scpp_schema_edit_commit(f.ed, &f.acc, &ns, &f.d), -EBUSY);
	scpp_oid_format(ob, sizeof(ob), file);
	snprintf(want, sizeof(want),
		 "(runtime): File.size: incompatible with existing data: instance %s would not "
		 "conform (File.size: expected string, got u64)", ob);
	assert_string_equal(f.d.msg, want);
	/* No instances: nothing to contradict. */
	f.w->n = 0;
	assert_int_equal(scpp_schema_edit_commit(f.ed, &f.acc, &ns, &f.d), 0);
	assert_string_equal(scpp_schema_attr_type_expr(scpp_schema_attr_get(ns, ty(ns, "File"), aid(ns, "size"))), "string");
	scpp_schema_free(ns);
	edit_teardown(&f);
}

static void
test_schema_edit_removing_attribute_is_rejected_while_instances_hold_it(void **state)
{
	struct edit_fix f;
	struct scpp_schema *ns = NULL;
	struct scpp_value key = scpp_value_cstr("blocks");
	struct scpp_oid file;
	char want[512], ob[SCPP_OID_STR_MAX];
	uint32_t id;
	(void)state;

	edit_setup(&f);
	file = add_file(&f);
	w_set(f.w, file, "blocks", scpp_value_u64(8));
	/* Removing a declaration = deleting its entry from Type.attributes. */
	assert_int_equal(scpp_schema_edit_del(f.ed, scpp_schema_type_oid("File"), aid(f.s, "attributes"),
					      &key, &f.d), 0);
	assert_int_equal(scpp_schema_edit_del(f.ed, scpp_schema_type_oid("File"), aid(f.s, "attributes"),
					      &key, &f.d), -ENOENT);
	assert_int_equal(scpp_schema_edit_commit(f.ed, &f.acc, &ns, &f.d), -EBUSY);
	scpp_oid_format(ob, sizeof(ob), file);
	snprintf(want, sizeof(want),
		 "(runtime): File: incompatible with existing data: instance %s would not conform "
		 "(type File has no attribute 'blocks')", ob);
	assert_string_equal(f.d.msg, want);
	/* Once no instance holds it, the removal is accepted. */
	f.w->e[0].n--;
	assert_int_equal(scpp_schema_edit_commit(f.ed, &f.acc, &ns, &f.d), 0);
	assert_null(scpp_schema_attr_get(ns, ty(ns, "File"), aid(f.s, "blocks")));
	assert_int_equal(scpp_schema_type_attr_count(ty(ns, "File")),
			 scpp_schema_type_attr_count(ty(f.s, "File")) - 1);
	/* Ids are forever: the name keeps its id in the new schema. */
	assert_int_equal(scpp_schema_attr_id(ns, "blocks", &id), 0);
	assert_int_equal(id, aid(f.s, "blocks"));
	scpp_schema_free(ns);
	edit_teardown(&f);
}

static void
test_schema_edit_moving_a_declaration_to_another_type_is_rejected(void **state)
{
	struct edit_fix f;
	struct scpp_schema *ns = NULL;
	struct scpp_value key = scpp_value_cstr("blocks");
	struct scpp_value ao = scpp_value_oid(scpp_schema_attr_oid("File", "blocks"));
	(void)state;

	edit_setup(&f);
	assert_int_equal(eset(&f, ao.oid, "owner", toid("Directory")), 0);
	/* Still listed by File, whose entry must point at a declaration it owns. */
	assert_int_equal(scpp_schema_edit_commit(f.ed, &f.acc, &ns, &f.d), -EINVAL);
	assert_string_equal(f.d.msg, "(runtime): File.attributes.blocks: must refer to an Attribute "
			    "entity named 'blocks' whose owner is File");
	assert_int_equal(scpp_schema_edit_del(f.ed, scpp_schema_type_oid("File"), aid(f.s, "attributes"),
					      &key, &f.d), 0);
	assert_int_equal(scpp_schema_edit_map_set(f.ed, scpp_schema_type_oid("Directory"),
						  aid(f.s, "attributes"), &key, &ao, &f.d), 0);
	/* Its OID was derived from File.blocks: the move is a rename. */
	assert_int_equal(scpp_schema_edit_commit(f.ed, &f.acc, &ns, &f.d), -EINVAL);
	assert_non_null(strstr(f.d.reason, "the OID of attr 'Directory.blocks' must be"));
	edit_teardown(&f);
}

static void
test_schema_edit_adding_an_attribute_makes_it_valid_on_instances(void **state)
{
	struct edit_fix f;
	struct scpp_schema *ns = NULL;
	struct scpp_oid ao = scpp_schema_attr_oid("File", "xattr_count");
	struct scpp_value key = scpp_value_cstr("xattr_count"), aov = scpp_value_oid(ao);
	struct scpp_value one = scpp_value_u64(1);
	struct scpp_schema_violation viol;
	uint32_t id;
	(void)state;

	edit_setup(&f);
	add_file(&f);
	assert_int_equal(eset(&f, ao, "type", toid("Attribute")), 0);
	assert_int_equal(eset(&f, ao, "name", key), 0);
	assert_int_equal(eset(&f, ao, "owner", toid("File")), 0);
	assert_int_equal(eset(&f, ao, "value_type", scpp_value_cstr("u64")), 0);
	assert_int_equal(eset(&f, ao, "required", scpp_value_bool(false)), 0);
	assert_int_equal(eset(&f, ao, "indexed", scpp_value_bool(false)), 0);
	assert_int_equal(scpp_schema_edit_map_set(f.ed, scpp_schema_type_oid("File"),
						  aid(f.s, "attributes"), &key, &aov, &f.d), 0);
	assert_int_equal(scpp_schema_edit_commit(f.ed, &f.acc, &ns, &f.d), 0);
	assert_int_equal(scpp_schema_attr_id(ns, "xattr_count", &id), 0);
	assert_int_equal(scpp_schema_check_set(ns, ty(ns, "File"), SCPP_OID_NIL, id, &one, NULL, &viol), 0);
	assert_int_equal(scpp_schema_attr_id(f.s, "xattr_count", &id), -ENOENT);
	scpp_schema_free(ns);
	edit_teardown(&f);
}

static void
test_schema_edit_adding_a_required_attribute_is_rejected_while_instances_exist(void **state)
{
	struct edit_fix f;
	struct scpp_schema *ns = NULL;
	struct scpp_oid ao = scpp_schema_attr_oid("File", "owner_name"), file;
	struct scpp_value key = scpp_value_cstr("owner_name"), aov = scpp_value_oid(ao);
	char want[512], ob[SCPP_OID_STR_MAX];
	(void)state;

	edit_setup(&f);
	file = add_file(&f);
	assert_int_equal(eset(&f, ao, "type", toid("Attribute")), 0);
	assert_int_equal(eset(&f, ao, "name", key), 0);
	assert_int_equal(eset(&f, ao, "owner", toid("File")), 0);
	assert_int_equal(eset(&f, ao, "value_type", scpp_value_cstr("string")), 0);
	assert_int_equal(eset(&f, ao, "required", scpp_value_bool(true)), 0);
	assert_int_equal(eset(&f, ao, "indexed", scpp_value_bool(false)), 0);
	assert_int_equal(scpp_schema_edit_map_set(f.ed, scpp_schema_type_oid("File"),
						  aid(f.s, "attributes"), &key, &aov, &f.d), 0);
	assert_int_equal(scpp_schema_edit_commit(f.ed, &f.acc, &ns, &f.d), -EBUSY);
	scpp_oid_format(ob, sizeof(ob), file);
	snprintf(want, sizeof(want),
		 "(runtime): File.owner_name: incompatible with existing data: instance %s would "
		 "not conform (File.owner_name is required)", ob);
	assert_string_equal(f.d.msg, want);
	edit_teardown(&f);
}

static void
test_schema_edit_values_are_checked_against_the_metaschema_at_once(void **state)
{
	struct edit_fix f;
	char want[512], ob[SCPP_OID_STR_MAX];
	(void)state;

	edit_setup(&f);
	assert_int_equal(eset(&f, scpp_schema_attr_oid("File", "size"), "required", scpp_value_cstr("yes")), -EINVAL);
	scpp_oid_format(ob, sizeof(ob), scpp_schema_attr_oid("File", "size"));
	snprintf(want, sizeof(want),
		 "(runtime): %s: does not conform to the metaschema: %s: Attribute.required: "
		 "expected bool, got string", ob, ob);
	assert_string_equal(f.d.msg, want);
	/* Not an attribute of the metaschema type. */
	assert_int_equal(eset(&f, scpp_schema_type_oid("File"), "pid", scpp_value_u64(1)), -EINVAL);
	assert_non_null(strstr(f.d.reason, "type Type has no attribute 'pid'"));
	assert_int_equal(eset(&f, scpp_schema_type_oid("File"), "attributes", scpp_value_u64(1)), -EINVAL);
	assert_non_null(strstr(f.d.reason, "Type.attributes is a Hash attribute: set its entries"));
	/* Owner must be a Type entity. */
	assert_int_equal(eset(&f, scpp_schema_attr_oid("File", "size"), "owner",
			      scpp_value_oid(scpp_schema_attr_oid("File", "mode"))), -EINVAL);
	assert_non_null(strstr(f.d.reason, "is a Attribute, expected Type"));
	/* Not a schema entity at all. */
	assert_int_equal(eset(&f, scpp_oid_make(0, 1, 1, 1, 1), "doc", scpp_value_cstr("x")), -EINVAL);
	assert_string_equal(f.d.msg, "(runtime): @0.1.1.1.1: not a schema entity (set its type to Type or Attribute first)");
	edit_teardown(&f);
}

static void
test_schema_edit_with_bad_type_expression_fails_at_commit_with_path(void **state)
{
	struct edit_fix f;
	struct scpp_schema *ns = NULL;
	(void)state;

	edit_setup(&f);
	assert_int_equal(eset(&f, scpp_schema_attr_oid("File", "size"), "value_type",
			      scpp_value_cstr("Hash[u64")), 0);
	assert_int_equal(scpp_schema_edit_commit(f.ed, &f.acc, &ns, &f.d), -EINVAL);
	assert_string_equal(f.d.msg, "(runtime): File.size.value_type: malformed Hash[...]: expected ',' after the key type, found end of expression");
	edit_teardown(&f);
}

static void
test_schema_edit_renaming_a_type_is_rejected(void **state)
{
	struct edit_fix f;
	struct scpp_schema *ns = NULL;
	(void)state;

	edit_setup(&f);
	assert_int_equal(eset(&f, scpp_schema_type_oid("Extent"), "name", scpp_value_cstr("Range")), 0);
	assert_int_equal(scpp_schema_edit_commit(f.ed, &f.acc, &ns, &f.d), -EINVAL);
	assert_non_null(strstr(f.d.reason, "the OID of type 'Range' must be"));
	assert_non_null(strstr(f.d.reason, "renaming is not supported"));
	edit_teardown(&f);
}

static void
test_schema_edit_that_needs_instances_fails_without_enumeration(void **state)
{
	struct edit_fix f;
	struct scpp_schema *ns = NULL;
	(void)state;

	edit_setup(&f);
	assert_int_equal(eset(&f, scpp_schema_attr_oid("File", "blocks"), "required", scpp_value_bool(true)), 0);
	f.acc.foreach_instance = NULL;
	assert_int_equal(scpp_schema_edit_commit(f.ed, &f.acc, &ns, &f.d), -EOPNOTSUPP);
	assert_string_equal(f.d.msg, "(runtime): File: cannot change type File: its instances cannot be enumerated to check them");
	/* A doc-only change needs no instances. */
	edit_teardown(&f);
	edit_setup(&f);
	assert_int_equal(eset(&f, scpp_schema_type_oid("File"), "doc", scpp_value_cstr("d")), 0);
	assert_int_equal(scpp_schema_edit_commit(f.ed, NULL, &ns, &f.d), 0);
	scpp_schema_free(ns);
	edit_teardown(&f);
}

static void
test_schema_edit_creates_a_new_type(void **state)
{
	struct edit_fix f;
	struct scpp_schema *ns = NULL;
	struct scpp_oid to = scpp_schema_type_oid("Socket"), ao = scpp_schema_attr_oid("Socket", "port");
	struct scpp_value key = scpp_value_cstr("port"), aov = scpp_value_oid(ao);
	(void)state;

	edit_setup(&f);
	assert_int_equal(eset(&f, to, "type", toid("Type")), 0);
	assert_int_equal(eset(&f, to, "name", scpp_value_cstr("Socket")), 0);
	assert_int_equal(eset(&f, ao, "type", toid("Attribute")), 0);
	assert_int_equal(eset(&f, ao, "name", key), 0);
	assert_int_equal(eset(&f, ao, "owner", scpp_value_oid(to)), 0);
	assert_int_equal(eset(&f, ao, "value_type", scpp_value_cstr("u64")), 0);
	assert_int_equal(eset(&f, ao, "required", scpp_value_bool(true)), 0);
	assert_int_equal(eset(&f, ao, "indexed", scpp_value_bool(true)), 0);
	assert_int_equal(scpp_schema_edit_map_set(f.ed, to, aid(f.s, "attributes"), &key, &aov, &f.d), 0);
	assert_int_equal(scpp_schema_edit_commit(f.ed, &f.acc, &ns, &f.d), 0);
	assert_non_null(scpp_schema_type_by_oid(ns, to));
	assert_int_equal(scpp_schema_type_attr_count(ty(ns, "Socket")), 1);
	scpp_schema_free(ns);
	edit_teardown(&f);
}

/* ------------------------------------------------------------------- store */

struct store_fix {
	struct scpp_store *st;
	struct scpp_store_dict *dict;
	struct scpp_schema *s;
};

static void
store_setup(struct store_fix *f)
{
	struct scpp_store_config cfg;
	struct scpp_store_dict_config dcfg = {.max_attrs = 4096, .name_bytes = 1 << 16,
					      .socket_id = -1, .mem = &scpp_store_mem_libc};
	struct scpp_schema_conf conf = {.intern = scpp_schema_store_intern};

	scpp_store_config_init(&cfg);
	cfg.max_entries = 1 << 14;
	cfg.max_map_entries = 1 << 12;
	cfg.extent_bytes = 1 << 20;
	cfg.oid_node = 1;
	cfg.oid_shard = 1;
	cfg.mem = &scpp_store_mem_libc;
	f->st = scpp_store_create(&cfg);
	assert_non_null(f->st);
	f->dict = scpp_store_dict_create(&dcfg);
	assert_non_null(f->dict);
	conf.intern_ctx = f->dict;
	f->s = load_shipped_conf(&conf);
}

static void
store_teardown(struct store_fix *f)
{
	scpp_schema_free(f->s);
	scpp_store_free(f->st);
	scpp_store_dict_free(f->dict);
}

static uint32_t
did(struct store_fix *f, const char *name)
{
	int64_t id = scpp_store_dict_lookup(f->dict, name, strlen(name));

	assert_true(id > 0);
	return (uint32_t)id;
}

static void
test_schema_materialized_schema_is_queryable_in_a_store(void **state)
{
	struct store_fix f;
	struct scpp_value v, keys[64], vals[64];
	struct scpp_oid proc = scpp_schema_type_oid("Process");
	uint64_t cur = 0;
	int n;
	(void)state;

	store_setup(&f);
	assert_int_equal(scpp_schema_materialize(f.s, f.st), 0);
	/* The schema's ids are the dictionary's. */
	assert_int_equal(scpp_schema_type_attr_id(f.s), did(&f, "type"));
	/* get Process name -> "Process"; get Process type -> Type */
	assert_int_equal(scpp_store_get(f.st, proc, did(&f, "name"), &v), 0);
	assert_int_equal(v.len, 7);
	assert_memory_equal(v.p, "Process", 7);
	assert_int_equal(scpp_store_get(f.st, proc, did(&f, "type"), &v), 0);
	assert_true(scpp_oid_eq(v.oid, scpp_schema_type_oid("Type")));
	assert_int_equal(scpp_store_get(f.st, scpp_schema_type_oid("Type"), did(&f, "type"), &v), 0);
	assert_true(scpp_oid_eq(v.oid, scpp_schema_type_oid("Type")));
	/* Every attribute of Process, by enumerating its `attributes` map. */
	n = scpp_store_map_iter(f.st, proc, did(&f, "attributes"), &cur, keys, vals, 64);
	assert_int_equal(n, (int)scpp_schema_type_attr_count(ty(f.s, "Process")));
	assert_memory_equal(keys[0].p, "pid", 3);
	assert_true(scpp_oid_eq(vals[0].oid, scpp_schema_attr_oid("Process", "pid")));
	/* ... and follow one to its declaration. */
	assert_int_equal(scpp_store_get(f.st, vals[0].oid, did(&f, "value_type"), &v), 0);
	assert_memory_equal(v.p, "u64", 3);
	assert_int_equal(scpp_store_get(f.st, vals[0].oid, did(&f, "required"), &v), 0);
	assert_true(v.type == SCPP_VT_BOOL && v.b);
	/* Re-materialising replaces instead of duplicating. */
	assert_int_equal(scpp_schema_materialize(f.s, f.st), 0);
	assert_int_equal(scpp_store_map_count(f.st, proc, did(&f, "attributes")),
			 (int64_t)scpp_schema_type_attr_count(ty(f.s, "Process")));
	store_teardown(&f);
}

static void
test_schema_store_access_validates_references_and_whole_entities(void **state)
{
	struct store_fix f;
	struct scpp_schema_access acc;
	struct scpp_schema_violation viol;
	struct scpp_oid dir, file, ghost = scpp_oid_make(0, 1, 1, 1, 12345);
	struct scpp_oid far = scpp_oid_make(0, 2, 1, 1, 12345);
	struct scpp_oid_prefix local = scpp_oid_shard_prefix(0, 1, 1);
	struct scpp_value name = scpp_value_cstr("a"), v;
	const struct scpp_schema_type *dt;
	uint32_t entries;
	(void)state;

	store_setup(&f);
	assert_int_equal(scpp_schema_materialize(f.s, f.st), 0);
	scpp_schema_store_access(&acc, f.st, f.s, NULL, NULL);
	dt = ty(f.s, "Directory");
	entries = did(&f, "entries");
	assert_int_equal(scpp_store_entity_mint(f.st, &dir), 0);
	assert_int_equal(scpp_store_entity_mint(f.st, &file), 0);
	v = scpp_value_oid(scpp_schema_type_oid("File"));
	assert_int_equal(scpp_store_set(f.st, file, did(&f, "type"), &v), 0);
	v = scpp_value_oid(file);
	assert_int_equal(scpp_schema_check_map_set(f.s, dt, dir, entries, &name, &v, &acc, &viol), 0);
	/* A Directory entry cannot point at a Process (here: the Process type entity). */
	v = scpp_value_oid(scpp_schema_type_oid("Process"));
	assert_int_equal(scpp_schema_check_map_set(f.s, dt, dir, entries, &name, &v, &acc, &viol), -EINVAL);
	assert_int_equal(viol.kind, SCPP_SCHEMA_V_REF_TYPE);
	v = scpp_value_oid(ghost);
	assert_int_equal(scpp_schema_check_map_set(f.s, dt, dir, entries, &name, &v, &acc, &viol), -ENOENT);
	/* Outside the local prefix: accepted unchecked. */
	v = scpp_value_oid(far);
	assert_int_equal(scpp_schema_check_map_set(f.s, dt, dir, entries, &name, &v, &acc, &viol), -ENOENT);
	scpp_schema_store_access_local(&acc, &local);
	assert_int_equal(scpp_schema_check_map_set(f.s, dt, dir, entries, &name, &v, &acc, &viol), 0);
	/* End of block for the File: defaults filled, the rest missing. */
	assert_int_equal(scpp_schema_check_entity(f.s, ty(f.s, "File"), file,
						  SCPP_SCHEMA_CHECK_FILL_DEFAULTS, &acc, &viol), -EINVAL);
	assert_int_equal(viol.kind, SCPP_SCHEMA_V_REQUIRED);
	assert_string_equal(scpp_schema_attr_name(viol.attr), "ino");
	assert_int_equal(scpp_store_get(f.st, file, did(&f, "size"), &v), 0);
	assert_int_equal(v.u, 0);
	assert_int_equal(scpp_store_get(f.st, file, did(&f, "nlink"), &v), 0);
	assert_int_equal(v.u, 1);
	/* Map entries are seen by the whole-entity check. */
	v = scpp_value_oid(file);
	assert_int_equal(scpp_store_map_set(f.st, dir, entries, &name, &v), 0);
	v = scpp_value_oid(scpp_schema_type_oid("Directory"));
	assert_int_equal(scpp_store_set(f.st, dir, did(&f, "type"), &v), 0);
	v = scpp_value_u64(3);
	assert_int_equal(scpp_store_map_set(f.st, dir, entries, &(struct scpp_value){.type = SCPP_VT_STR, .len = 1, .p = (const uint8_t *)"b"}, &v), 0);
	assert_int_equal(scpp_schema_check_entity(f.s, dt, dir, SCPP_SCHEMA_CHECK_ALL_ATTRS, &acc, &viol), -EINVAL);
	assert_int_equal(viol.kind, SCPP_SCHEMA_V_REQUIRED); /* required first: ino */
	store_teardown(&f);
}

/* ---- publication to every shard ----------------------------------------- */

static struct scpp_schema *
pub_schema(const char *tname)
{
	char text[256];
	struct scpp_schema *s = NULL;
	struct scpp_schema_diag d;

	snprintf(text, sizeof(text),
		 "{\"schema\": \"t\", \"requires\": [\"core\"], \"types\": {\"%s\": "
		 "{\"attributes\": {\"x\": {\"type\": \"u64\"}}}}}", tname);
	if (load_with_core("t.json", text, &s, &d) != 0)
		fail_msg("%s", d.msg);
	return s;
}

/* One change at a time: the gate, the version rule, abandon, publication,
 * and reclamation only after every worker adopted the new version. */
static void
test_schema_pub_linearises_changes_and_reclaims_after_adoption(void **state)
{
	struct scpp_schema_pub *p;
	struct scpp_schema *a = pub_schema("A"), *b = pub_schema("B"), *c = pub_schema("C");
	uint64_t v;
	unsigned int origin = 99;
	(void)state;

	assert_null(scpp_schema_pub_create(NULL, 2));
	assert_null(scpp_schema_pub_create(a, 0));
	p = scpp_schema_pub_create(a, 2);
	assert_non_null(p);
	assert_true(scpp_schema_pub_version(p) == 1);
	assert_ptr_equal(scpp_schema_pub_current(p, &v), a);
	assert_true(v == 1);
	/* Nothing pending. */
	assert_int_equal(scpp_schema_pub_service(p, NULL), 0);
	/* A stale version cannot start a change; the gate admits one. */
	assert_int_equal(scpp_schema_pub_begin(p, 0, 0), -EAGAIN);
	assert_int_equal(scpp_schema_pub_begin(p, 0, 1), 0);
	assert_int_equal(scpp_schema_pub_begin(p, 1, 1), -EAGAIN);
	scpp_schema_pub_abandon(p, 1); /* not the holder: no effect */
	assert_int_equal(scpp_schema_pub_begin(p, 1, 1), -EAGAIN);
	scpp_schema_pub_abandon(p, 0);
	assert_int_equal(scpp_schema_pub_begin(p, 1, 1), 0);
	scpp_schema_pub_submit(p, 1, b);
	/* Submitted but not published: the gate stays closed. */
	assert_int_equal(scpp_schema_pub_begin(p, 0, 1), -EAGAIN);
	assert_true(scpp_schema_pub_version(p) == 1);
	assert_int_equal(scpp_schema_pub_service(p, &origin), 1);
	assert_int_equal(origin, 1);
	assert_true(scpp_schema_pub_version(p) == 2);
	assert_ptr_equal(scpp_schema_pub_current(p, NULL), b);
	/* Worker 0 has not adopted 2: the old schema stays, and worker 0
	 * cannot start a change on version 1. */
	assert_int_equal(scpp_schema_pub_retired(p), 1);
	assert_int_equal(scpp_schema_pub_begin(p, 0, 1), -EAGAIN);
	scpp_schema_pub_adopted(p, 1, 2);
	assert_int_equal(scpp_schema_pub_service(p, NULL), 0);
	assert_int_equal(scpp_schema_pub_retired(p), 1);
	scpp_schema_pub_adopted(p, 0, 2);
	assert_int_equal(scpp_schema_pub_service(p, NULL), 0);
	assert_int_equal(scpp_schema_pub_retired(p), 0);
	/* The next change builds on version 2. */
	assert_int_equal(scpp_schema_pub_begin(p, 0, 2), 0);
	scpp_schema_pub_submit(p, 0, c);
	assert_int_equal(scpp_schema_pub_service(p, NULL), 1);
	assert_true(scpp_schema_pub_published(p) == 2);
	/* Freed with what is still retired (b) and current (c). */
	scpp_schema_pub_free(p);
	scpp_schema_pub_free(NULL);
}

/* Readers and a writer on real threads: every reader sees versions only
 * grow, and always finds the schema of the version it read (its type
 * name says which); nothing is freed while a reader uses it (ASan). */
#define PUB_READERS 2
#define PUB_VERSIONS 200

struct pub_rig {
	struct scpp_schema_pub *p;
	struct scpp_schema *s[PUB_VERSIONS + 1];
	int stop;
	int bad;
	uint64_t adoptions[PUB_READERS];
};

struct pub_reader {
	struct pub_rig *g;
	unsigned int idx;
};

static void *
pub_reader_main(void *arg)
{
	struct pub_reader *r = arg;
	struct pub_rig *g = r->g;
	uint64_t mine = 1;
	const struct scpp_schema *cur = scpp_schema_pub_current(g->p, NULL);

	while (!__atomic_load_n(&g->stop, __ATOMIC_ACQUIRE)) {
		uint64_t v = scpp_schema_pub_version(g->p);
		char want[16];

		if (v != mine) {
			uint64_t v2;

			cur = scpp_schema_pub_current(g->p, &v2);
			if (v2 < mine)
				__atomic_store_n(&g->bad, 1, __ATOMIC_RELAXED);
			mine = v2;
			snprintf(want, sizeof(want), "V%llu", (unsigned long long)mine);
			if (scpp_schema_type_by_name(cur, want) == NULL)
				__atomic_store_n(&g->bad, 2, __ATOMIC_RELAXED);
			scpp_schema_pub_adopted(g->p, r->idx, mine);
			g->adoptions[r->idx]++;
		}
		/* Use the adopted schema between polls. */
		if (scpp_schema_type_by_name(cur, "Type") == NULL)
			__atomic_store_n(&g->bad, 3, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void
test_schema_pub_readers_and_writer_on_threads(void **state)
{
	static struct pub_rig g;
	struct pub_reader rd[PUB_READERS];
	pthread_t th[PUB_READERS];
	(void)state;

	memset(&g, 0, sizeof(g));
	for (int i = 1; i <= PUB_VERSIONS; i++) {
		char n[16];

		snprintf(n, sizeof(n), "V%d", i);
		g.s[i] = pub_schema(n);
	}
	g.p = scpp_schema_pub_create(g.s[1], PUB_READERS);
	assert_non_null(g.p);
	for (unsigned int i = 0; i < PUB_READERS; i++) {
		rd[i].g = &g;
		rd[i].idx = i;
		assert_int_equal(pthread_create(&th[i], NULL, pub_reader_main, &rd[i]), 0);
	}
	/* The writer plays worker 0's gate and the control lcore. */
	for (int i = 2; i <= PUB_VERSIONS; i++) {
		uint64_t v = scpp_schema_pub_version(g.p);
		int rc;

		assert_int_equal(scpp_schema_pub_begin(g.p, 0, v), 0);
		scpp_schema_pub_submit(g.p, 0, g.s[i]);
		while ((rc = scpp_schema_pub_service(g.p, NULL)) == -EBUSY)
			sched_yield();
		assert_int_equal(rc, 1);
	}
	while (scpp_schema_pub_retired(g.p) > 0) {
		scpp_schema_pub_service(g.p, NULL);
		sched_yield();
	}
	__atomic_store_n(&g.stop, 1, __ATOMIC_RELEASE);
	for (unsigned int i = 0; i < PUB_READERS; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(g.bad, 0);
	assert_true(scpp_schema_pub_version(g.p) == PUB_VERSIONS);
	for (unsigned int i = 0; i < PUB_READERS; i++)
		assert_true(g.adoptions[i] > 0);
	scpp_schema_pub_free(g.p);
}

/* A type expression longer than SCPP_SCHEMA_EXPR_MAX in canonical form is
 * refused, naming the attribute (it used to be cut silently at 511). */
static void
test_schema_overlong_type_expression_is_an_error(void **state)
{
	static char text[8192];
	struct scpp_schema *s = NULL;
	struct scpp_schema_diag d;
	size_t n = 0;
	(void)state;

	n += (size_t)snprintf(text + n, sizeof(text) - n,
			      "{\"schema\": \"t\", \"requires\": [\"core\"], \"types\": {");
	for (int i = 0; i < 16; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      "\"T%039d\": {\"attributes\": {}}, ", i);
	n += (size_t)snprintf(text + n, sizeof(text) - n,
			      "\"Holder\": {\"attributes\": {\"any\": {\"type\": \"");
	for (int i = 0; i < 16; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%sT%039d", i ? " | " : "", i);
	snprintf(text + n, sizeof(text) - n, "\"}}}}}");
	assert_int_equal(load_with_core("t.json", text, &s, &d), -EINVAL);
	assert_null(s);
	/* 16 names of 40 bytes and 15 separators of 3. */
	assert_non_null(strstr(d.msg, "type expression too long: 685 bytes in canonical form, at most 511"));
	assert_non_null(strstr(d.path, "Holder"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schema_shipped_files_load),
		cmocka_unit_test(test_schema_shipped_types_have_the_documented_shapes),
		cmocka_unit_test(test_schema_metaschema_type_is_its_own_type),
		cmocka_unit_test(test_schema_triples_describe_every_type_and_declaration),
		cmocka_unit_test(test_schema_metaschema_rejects_schema_entities_it_does_not_describe),
		cmocka_unit_test(test_schema_well_known_oids_follow_the_documented_rule),
		cmocka_unit_test(test_schema_well_known_oid_collision_is_rejected),
		cmocka_unit_test(test_schema_broken_files_fail_with_file_path_and_reason),
		cmocka_unit_test(test_schema_redefining_a_type_of_another_file_names_both),
		cmocka_unit_test(test_schema_loading_a_schema_twice_is_rejected),
		cmocka_unit_test(test_schema_json_syntax_error_reports_line_and_column),
		cmocka_unit_test(test_schema_trailing_content_after_json_is_a_syntax_error),
		cmocka_unit_test(test_schema_missing_file_reports_errno),
		cmocka_unit_test(test_schema_without_metaschema_is_rejected),
		cmocka_unit_test(test_schema_posix_without_core_names_the_missing_requirement),
		cmocka_unit_test(test_schema_type_expressions_accept_spacing_case_and_unions),
		cmocka_unit_test(test_schema_bad_type_expressions_are_explained),
		cmocka_unit_test(test_schema_primitive_attributes_accept_only_their_type),
		cmocka_unit_test(test_schema_value_type_violation_is_explained),
		cmocka_unit_test(test_schema_reference_accepts_entity_of_the_declared_type),
		cmocka_unit_test(test_schema_reference_rejects_entity_of_another_type),
		cmocka_unit_test(test_schema_reference_to_missing_entity_is_enoent),
		cmocka_unit_test(test_schema_reference_to_remote_entity_is_accepted_unchecked),
		cmocka_unit_test(test_schema_union_accepts_each_member_and_rejects_others),
		cmocka_unit_test(test_schema_map_checks_key_and_value_types),
		cmocka_unit_test(test_schema_map_and_plain_operations_do_not_mix),
		cmocka_unit_test(test_schema_unknown_attribute_rejected_on_typed_accepted_on_untyped),
		cmocka_unit_test(test_schema_type_attribute_must_name_a_known_type_and_never_change),
		cmocka_unit_test(test_schema_entity_missing_required_attribute_fails_at_end_of_block),
		cmocka_unit_test(test_schema_defaults_fill_missing_attributes_when_asked),
		cmocka_unit_test(test_schema_entity_check_all_attrs_finds_bad_values),
		cmocka_unit_test(test_schema_deleting_required_attribute_is_rejected),
		cmocka_unit_test(test_schema_lookup_by_id_and_oid_is_consistent),
		cmocka_unit_test(test_schema_free_accepts_null),
		cmocka_unit_test(test_schema_invalid_arguments_are_rejected),
		cmocka_unit_test(test_schema_edit_of_doc_commits_and_leaves_the_old_schema_intact),
		cmocka_unit_test(test_schema_edit_making_attribute_required_is_rejected_while_instances_lack_it),
		cmocka_unit_test(test_schema_edit_changing_value_type_is_rejected_while_instances_hold_old_values),
		cmocka_unit_test(test_schema_edit_removing_attribute_is_rejected_while_instances_hold_it),
		cmocka_unit_test(test_schema_edit_moving_a_declaration_to_another_type_is_rejected),
		cmocka_unit_test(test_schema_edit_adding_an_attribute_makes_it_valid_on_instances),
		cmocka_unit_test(test_schema_edit_adding_a_required_attribute_is_rejected_while_instances_exist),
		cmocka_unit_test(test_schema_edit_values_are_checked_against_the_metaschema_at_once),
		cmocka_unit_test(test_schema_edit_with_bad_type_expression_fails_at_commit_with_path),
		cmocka_unit_test(test_schema_edit_renaming_a_type_is_rejected),
		cmocka_unit_test(test_schema_edit_that_needs_instances_fails_without_enumeration),
		cmocka_unit_test(test_schema_edit_creates_a_new_type),
		cmocka_unit_test(test_schema_materialized_schema_is_queryable_in_a_store),
		cmocka_unit_test(test_schema_store_access_validates_references_and_whole_entities),
		cmocka_unit_test(test_schema_pub_linearises_changes_and_reclaims_after_adoption),
		cmocka_unit_test(test_schema_pub_readers_and_writer_on_threads),
		cmocka_unit_test(test_schema_overlong_type_expression_is_an_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
