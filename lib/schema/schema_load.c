/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Schema files: JSON text -> struct model.
 *
 * This pass checks everything that can be checked inside one file (JSON
 * syntax, known keys, JSON kinds, names, duplicates, the syntax of type
 * expressions) and records, for every type and declaration, the JSON path it
 * came from. Whatever needs all files at once (type names defined elsewhere,
 * defaults against resolved types, OID collisions) is checked by
 * schema_compile(), which reports with those recorded paths.
 *
 * cJSON keeps duplicate object keys as separate children; duplicates are a
 * schema error here (a second "size" would otherwise silently win), so every
 * object is scanned for them.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "scpp_common.h"
#include "schema_priv.h"

#define FILE_MAX (16u << 20)

struct lctx {
	struct model *m;
	const char *file;
	struct scpp_schema_diag *d;
};

static bool
is_ident(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return false;
	for (s++; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

/* parent + key as a JSON path: `$.types.File`, or `$.types["a b"]`. */
static const char *
path_key(struct lctx *c, const char *parent, const char *key)
{
	if (is_ident(key))
		return ar_printf(&c->m->ar, "%s.%s", parent, key);
	return ar_printf(&c->m->ar, "%s[\"%s\"]", parent, key);
}

static const char *
json_kind(const cJSON *j)
{
	if (cJSON_IsObject(j))
		return "object";
	if (cJSON_IsArray(j))
		return "array";
	if (cJSON_IsString(j))
		return "string";
	if (cJSON_IsNumber(j))
		return "number";
	if (cJSON_IsBool(j))
		return "boolean";
	if (cJSON_IsNull(j))
		return "null";
	return "invalid value";
}

static int
fail(struct lctx *c, const char *path, const char *reason)
{
	return diag_set(c->d, c->file, path, "%s", reason);
}

static int
expect(struct lctx *c, const cJSON *j, const char *path, const char *want)
{
	return diag_set(c->d, c->file, path, "expected %s, got %s", want, json_kind(j));
}

/*
 * Check the keys of object @o: every key must be in @known (NULL-terminated)
 * and appear once; every key of @required must be present.
 */
static int
check_keys(struct lctx *c, const cJSON *o, const char *path,
	   const char *const *known, const char *const *required)
{
	const cJSON *k, *p;

	for (k = o->child; k != NULL; k = k->next) {
		bool ok = false;

		for (p = o->child; p != k; p = p->next)
			if (strcmp(p->string, k->string) == 0)
				return diag_set(c->d, c->file, path_key(c, path, k->string),
						"duplicate key '%s'", k->string);
		for (const char *const *n = known; *n != NULL; n++)
			ok |= strcmp(*n, k->string) == 0;
		if (!ok) {
			char list[256] = "";

			for (const char *const *n = known; *n != NULL; n++)
				snprintf(list + strlen(list), sizeof(list) - strlen(list),
					 "%s%s", n == known ? "" : ", ", *n);
			return diag_set(c->d, c->file, path_key(c, path, k->string),
					"unknown key '%s' (expected one of: %s)", k->string, list);
		}
	}
	for (const char *const *n = required; n != NULL && *n != NULL; n++)
		if (cJSON_GetObjectItemCaseSensitive(o, *n) == NULL)
			return diag_set(c->d, c->file, path, "missing required key '%s'", *n);
	return 0;
}

/* Optional string member: NULL if absent, error if not a string. */
static int
opt_string(struct lctx *c, const cJSON *o, const char *key, const char *path,
	   const char **out)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);

	*out = NULL;
	if (j == NULL)
		return 0;
	if (!cJSON_IsString(j))
		return expect(c, j, path_key(c, path, key), "string");
	*out = ar_strdup(&c->m->ar, j->valuestring);
	return *out == NULL ? -ENOMEM : 0;
}

static int
opt_bool(struct lctx *c, const cJSON *o, const char *key, const char *path, bool *out)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);

	*out = false;
	if (j == NULL)
		return 0;
	if (!cJSON_IsBool(j))
		return expect(c, j, path_key(c, path, key), "boolean");
	*out = cJSON_IsTrue(j);
	return 0;
}

static int
check_type_name(struct lctx *c, const char *name, const char *path)
{
	if (strlen(name) > SCPP_SCHEMA_NAME_MAX)
		return diag_set(c->d, c->file, path, "type name longer than %d bytes",
				SCPP_SCHEMA_NAME_MAX);
	if (!is_ident(name) || !isupper((unsigned char)name[0]))
		return diag_set(c->d, c->file, path,
				"bad type name '%s' (expected [A-Z][A-Za-z0-9_]*)", name);
	if (texpr_primitive(name) >= 0 || strcmp(name, "Hash") == 0)
		return diag_set(c->d, c->file, path,
				"type name '%s' is reserved (a built-in type)", name);
	return 0;
}

static int
check_attr_name(struct lctx *c, const char *name, const char *path)
{
	if (strlen(name) > SCPP_SCHEMA_NAME_MAX)
		return diag_set(c->d, c->file, path, "attribute name longer than %d bytes",
				SCPP_SCHEMA_NAME_MAX);
	if (!is_ident(name))
		return diag_set(c->d, c->file, path,
				"bad attribute name '%s' (expected [A-Za-z_][A-Za-z0-9_]*)", name);
	if (strcmp(name, SCPP_SCHEMA_TYPE_ATTR) == 0)
		return diag_set(c->d, c->file, path,
				"attribute name 'type' is reserved (it records every entity's type)");
	return 0;
}

static int
load_default(struct lctx *c, const cJSON *j, const char *path, struct m_attr *a)
{
	a->has_default = true;
	if (cJSON_IsBool(j)) {
		a->def = scpp_value_bool(cJSON_IsTrue(j));
	} else if (cJSON_IsNumber(j)) {
		a->def = scpp_value_f64(j->valuedouble);
		a->def_json_number = true;
	} else if (cJSON_IsString(j)) {
		const char *s = ar_strdup(&c->m->ar, j->valuestring);

		if (s == NULL)
			return -ENOMEM;
		a->def = scpp_value_cstr(s);
	} else {
		return expect(c, j, path, "boolean, number or string");
	}
	return 0;
}

static int
load_attr(struct lctx *c, struct m_type *t, const cJSON *j, const char *path)
{
	static const char *const known[] = {"type", "required", "indexed", "default",
					    "doc", NULL};
	static const char *const required[] = {"type", NULL};
	struct m_attr *a;
	const cJSON *def;
	int rc;

	if (!cJSON_IsObject(j))
		return expect(c, j, path, "object");
	rc = check_attr_name(c, j->string, path);
	if (rc < 0)
		return rc;
	rc = check_keys(c, j, path, known, required);
	if (rc < 0)
		return rc;
	rc = ar_grow(&c->m->ar, (void **)&t->attrs, &t->cap, t->nattrs, sizeof(*t->attrs));
	if (rc < 0)
		return rc;
	a = &t->attrs[t->nattrs];
	memset(a, 0, sizeof(*a));
	a->name = ar_strdup(&c->m->ar, j->string);
	a->file = c->file;
	a->path = path;
	if ((rc = opt_string(c, j, "type", path, &a->type_expr)) < 0 ||
	    (rc = opt_string(c, j, "doc", path, &a->doc)) < 0 ||
	    (rc = opt_bool(c, j, "required", path, &a->required)) < 0 ||
	    (rc = opt_bool(c, j, "indexed", path, &a->indexed)) < 0)
		return rc;
	def = cJSON_GetObjectItemCaseSensitive(j, "default");
	if (def != NULL && (rc = load_default(c, def, path_key(c, path, "default"), a)) < 0)
		return rc;
	if (a->name == NULL)
		return -ENOMEM;
	t->nattrs++;
	return 0;
}

static int
load_type(struct lctx *c, const cJSON *j, const char *path)
{
	static const char *const known[] = {"doc", "name_attr", "attributes", NULL};
	struct model *m = c->m;
	const cJSON *attrs, *k;
	struct m_type *t;
	int rc;

	rc = check_type_name(c, j->string, path);
	if (rc < 0)
		return rc;
	if (!cJSON_IsObject(j))
		return expect(c, j, path, "object");
	rc = check_keys(c, j, path, known, NULL);
	if (rc < 0)
		return rc;
	rc = ar_grow(&m->ar, (void **)&m->types, &m->cap, m->ntypes, sizeof(*m->types));
	if (rc < 0)
		return rc;
	t = &m->types[m->ntypes++];
	memset(t, 0, sizeof(*t));
	t->name = ar_strdup(&m->ar, j->string);
	t->file = c->file;
	t->path = path;
	t->name_attr_path = path_key(c, path, "name_attr");
	if ((rc = opt_string(c, j, "doc", path, &t->doc)) < 0 ||
	    (rc = opt_string(c, j, "name_attr", path, &t->name_attr)) < 0)
		return rc;
	attrs = cJSON_GetObjectItemCaseSensitive(j, "attributes");
	if (attrs == NULL)
		return 0;
	path = path_key(c, path, "attributes");
	if (!cJSON_IsObject(attrs))
		return expect(c, attrs, path, "object");
	for (k = attrs->child; k != NULL; k = k->next) {
		const char *ap = path_key(c, path, k->string);

		for (const cJSON *p = attrs->child; p != k; p = p->next)
			if (strcmp(p->string, k->string) == 0)
				return diag_set(c->d, c->file, ap,
						"duplicate attribute '%s' in type %s",
						k->string, t->name);
		rc = load_attr(c, t, k, ap);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int
load_requires(struct lctx *c, const cJSON *j, const char *path)
{
	struct model *m = c->m;
	const cJSON *e;
	unsigned int i = 0;
	int rc;

	if (!cJSON_IsArray(j))
		return expect(c, j, path, "array");
	cJSON_ArrayForEach(e, j) {
		const char *ep = ar_printf(&m->ar, "%s[%u]", path, i++);

		if (!cJSON_IsString(e))
			return expect(c, e, ep, "string");
		rc = ar_grow(&m->ar, (void **)&m->reqs, &m->reqcap, m->nreqs, sizeof(*m->reqs));
		if (rc < 0)
			return rc;
		m->reqs[m->nreqs].schema = ar_strdup(&m->ar, e->valuestring);
		m->reqs[m->nreqs].file = c->file;
		m->reqs[m->nreqs].path = ep;
		m->nreqs++;
	}
	return 0;
}

static void
line_col(const char *text, const char *at, unsigned int *line, unsigned int *col)
{
	*line = 1;
	*col = 1;
	for (const char *p = text; p < at; p++) {
		if (*p == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

static int
syntax_error(struct lctx *c, const char *text, size_t len, const char *at,
	     const char *what)
{
	struct scpp_schema_diag *d = c->d;
	unsigned int line, col;
	char snip[24];
	size_t n = 0;

	if (at == NULL || at < text || at > text + len)
		at = text + len;
	line_col(text, at, &line, &col);
	while (at + n < text + len && n < 16 && at[n] != '\n' && at[n] != '\0')
		n++;
	memcpy(snip, at, n);
	snip[n] = '\0';
	if (d == NULL)
		return -EINVAL;
	if (n > 0)
		diag_set(d, c->file, "$", "%s near '%s'", what, snip);
	else
		diag_set(d, c->file, "$", "%s at end of input", what);
	d->line = line;
	d->col = col;
	snprintf(d->msg, sizeof(d->msg), "%s:%u:%u: %s", d->file, line, col, d->reason);
	return -EINVAL;
}

int
load_json(struct model *m, const char *file, const char *text, size_t len,
	  struct scpp_schema_diag *d)
{
	static const char *const known[] = {"schema", "doc", "requires", "types", NULL};
	static const char *const required[] = {"schema", "types", NULL};
	struct lctx c = {.m = m, .d = d};
	const char *end = NULL, *name = NULL;
	const cJSON *types, *k, *req;
	cJSON *root;
	int rc;

	c.file = ar_strdup(&m->ar, file);
	if (c.file == NULL)
		return -ENOMEM;
	root = cJSON_ParseWithLengthOpts(text, len, &end, false);
	if (root == NULL)
		return syntax_error(&c, text, len, end != NULL ? end : cJSON_GetErrorPtr(),
				    "JSON syntax error");
	while (end != NULL && end < text + len && isspace((unsigned char)*end))
		end++;
	if (end != NULL && end < text + len && *end != '\0') {
		cJSON_Delete(root);
		return syntax_error(&c, text, len, end, "JSON syntax error: unexpected content after the top-level value");
	}
	if (!cJSON_IsObject(root)) {
		rc = expect(&c, root, "$", "object");
		goto out;
	}
	rc = check_keys(&c, root, "$", known, required);
	if (rc < 0)
		goto out;
	rc = opt_string(&c, root, "schema", "$", &name);
	if (rc < 0)
		goto out;
	if (!is_ident(name)) {
		rc = fail(&c, "$.schema", "bad schema name (expected [A-Za-z_][A-Za-z0-9_]*)");
		goto out;
	}
	for (unsigned int i = 0; i < m->nschemas; i++) {
		if (strcmp(m->schemas[i], name) == 0) {
			rc = diag_set(d, c.file, "$.schema", "schema '%s' already loaded from %s",
				      name, m->schema_files[i]);
			goto out;
		}
	}
	if ((rc = ar_grow(&m->ar, (void **)&m->schemas, &m->schcap, m->nschemas,
			  sizeof(*m->schemas))) < 0 ||
	    (rc = ar_grow(&m->ar, (void **)&m->schema_files, &m->schfcap, m->nschemas,
			  sizeof(*m->schema_files))) < 0)
		goto out;
	m->schemas[m->nschemas] = name;
	m->schema_files[m->nschemas++] = c.file;
	req = cJSON_GetObjectItemCaseSensitive(root, "requires");
	if (req != NULL && (rc = load_requires(&c, req, "$.requires")) < 0)
		goto out;
	k = cJSON_GetObjectItemCaseSensitive(root, "doc");
	if (k != NULL && !cJSON_IsString(k)) {
		rc = expect(&c, k, "$.doc", "string");
		goto out;
	}
	types = cJSON_GetObjectItemCaseSensitive(root, "types");
	if (!cJSON_IsObject(types)) {
		rc = expect(&c, types, "$.types", "object");
		goto out;
	}
	for (k = types->child; k != NULL; k = k->next) {
		const char *tp = path_key(&c, "$.types", k->string);

		for (const cJSON *p = types->child; p != k; p = p->next) {
			if (strcmp(p->string, k->string) == 0) {
				rc = diag_set(d, c.file, tp, "duplicate type '%s'", k->string);
				goto out;
			}
		}
		rc = load_type(&c, k, tp);
		if (rc < 0)
			goto out;
	}
	rc = m->ar.failed ? -ENOMEM : 0;
out:
	cJSON_Delete(root);
	return rc;
}

static int
read_file(const char *path, char **text, size_t *len, struct scpp_schema_diag *d)
{
	struct stat st;
	FILE *f;
	int rc;

	f = fopen(path, "rb");
	if (f == NULL) {
		rc = -errno;
		diag_set(d, path, "", "cannot open: %s", strerror(-rc));
		return rc;
	}
	if (fstat(fileno(f), &st) < 0) {
		rc = -errno;
		goto err;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
		goto err;
	}
	if ((uint64_t)st.st_size > FILE_MAX) {
		fclose(f);
		diag_set(d, path, "", "file larger than %u bytes", FILE_MAX);
		return -EFBIG;
	}
	*text = malloc((size_t)st.st_size + 1);
	if (*text == NULL) {
		fclose(f);
		return -ENOMEM;
	}
	*len = fread(*text, 1, (size_t)st.st_size, f);
	if (ferror(f)) {
		rc = -EIO;
		free(*text);
		goto err;
	}
	(*text)[*len] = '\0';
	fclose(f);
	return 0;
err:
	fclose(f);
	diag_set(d, path, "", "cannot read: %s", strerror(-rc));
	return rc;
}

static int
load_common(const char *const *names, const char *const *texts, const size_t *lens,
	    const char *const *paths, unsigned int n,
	    const struct scpp_schema_conf *conf, struct scpp_schema **out,
	    struct scpp_schema_diag *d)
{
	struct model *m;
	int rc = 0;

	if (out == NULL || (n > 0 && (paths == NULL && (names == NULL || texts == NULL))))
		return -EINVAL;
	*out = NULL;
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return -ENOMEM;
	for (unsigned int i = 0; i < n && rc == 0; i++) {
		if (paths != NULL) {
			char *text = NULL;
			size_t len = 0;

			rc = read_file(paths[i], &text, &len, d);
			if (rc < 0)
				break;
			rc = load_json(m, paths[i], text, len, d);
			free(text);
		} else {
			rc = load_json(m, names[i], texts[i],
				       lens != NULL ? lens[i] : strlen(texts[i]), d);
		}
	}
	if (rc < 0) {
		model_free(m);
		return rc;
	}
	return schema_compile(m, conf, NULL, out, d);
}

int
scpp_schema_load_files(const char *const *paths, unsigned int n,
		       const struct scpp_schema_conf *conf, struct scpp_schema **out,
		       struct scpp_schema_diag *diag)
{
	if (paths == NULL && n > 0)
		return -EINVAL;
	return load_common(NULL, NULL, NULL, paths, n, conf, out, diag);
}

int
scpp_schema_load_strings(const char *const *names, const char *const *texts,
			 const size_t *lens, unsigned int n,
			 const struct scpp_schema_conf *conf, struct scpp_schema **out,
			 struct scpp_schema_diag *diag)
{
	if (n > 0 && (names == NULL || texts == NULL))
		return -EINVAL;
	return load_common(names, texts, lens, NULL, n, conf, out, diag);
}
