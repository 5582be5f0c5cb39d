/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers of lib/schema: the arena every model and entity set allocates
 * from, diagnostics, well-known OID derivation and the type-expression
 * parser.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scpp_common.h"
#include "schema_priv.h"

#define CHUNK_MIN 8192

void *
ar_alloc(struct arena *ar, size_t size)
{
	struct arena_chunk *c = ar->head;
	size_t al = sizeof(max_align_t);
	void *p;

	size = (size + al - 1) / al * al;
	if (size == 0)
		size = al;
	if (c == NULL || c->size - c->used < size) {
		size_t csize = SCPP_MAX(size, (size_t)CHUNK_MIN);

		c = malloc(sizeof(*c) + csize);
		if (c == NULL) {
			ar->failed = true;
			return NULL;
		}
		c->size = csize;
		c->used = 0;
		c->next = ar->head;
		ar->head = c;
	}
	p = (char *)c->data + c->used;
	c->used += size;
	memset(p, 0, size);
	return p;
}

char *
ar_strndup(struct arena *ar, const char *s, size_t len)
{
	char *p = ar_alloc(ar, len + 1);

	if (p == NULL)
		return NULL;
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
ar_strdup(struct arena *ar, const char *s)
{
	return s == NULL ? NULL : ar_strndup(ar, s, strlen(s));
}

char *
ar_printf(struct arena *ar, const char *fmt, ...)
{
	va_list ap;
	char *p;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	p = ar_alloc(ar, (size_t)n + 1);
	if (p == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void
ar_free(struct arena *ar)
{
	struct arena_chunk *c = ar->head, *next;

	for (; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	ar->head = NULL;
}

int
ar_grow(struct arena *ar, void **arr, unsigned int *cap, unsigned int n,
	size_t esize)
{
	unsigned int ncap;
	void *p;

	if (n < *cap)
		return 0;
	/* The old array stays in the arena until it is freed: schemas are
	 * small, and doubling bounds the waste to the final size. */
	ncap = *cap == 0 ? 8 : *cap * 2;
	p = ar_alloc(ar, (size_t)ncap * esize);
	if (p == NULL)
		return -ENOMEM;
	if (*arr != NULL)
		memcpy(p, *arr, (size_t)*cap * esize);
	*arr = p;
	*cap = ncap;
	return 0;
}

int
ar_value(struct arena *ar, struct scpp_value *dst, const struct scpp_value *v)
{
	*dst = *v;
	if (v->type == SCPP_VT_STR || v->type == SCPP_VT_BYTES) {
		uint8_t *p = ar_alloc(ar, (size_t)v->len + 1);

		if (p == NULL)
			return -ENOMEM;
		if (v->len > 0)
			memcpy(p, v->p, v->len);
		dst->p = p;
	}
	return 0;
}

void
model_free(struct model *m)
{
	if (m == NULL)
		return;
	ar_free(&m->ar);
	free(m);
}

int
diag_set(struct scpp_schema_diag *d, const char *file, const char *path,
	 const char *fmt, ...)
{
	va_list ap;

	if (d == NULL)
		return -EINVAL;
	memset(d, 0, sizeof(*d));
	snprintf(d->file, sizeof(d->file), "%s", file ? file : "");
	snprintf(d->path, sizeof(d->path), "%s", path ? path : "");
	va_start(ap, fmt);
	vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
	va_end(ap);
	snprintf(d->msg, sizeof(d->msg), "%s: %s: %s", d->file, d->path, d->reason);
	return -EINVAL;
}

/*
 * Well-known OIDs. FNV-1a is specified here rather than borrowed from
 * lib/value's hash, because these numbers are a protocol constant: they
 * must not change when a hash function elsewhere is tuned. Bit 63 is set so
 * derived OIDs never meet the small hand-assigned well-known numbers.
 */
static uint64_t
fnv1a(uint64_t h, const char *s)
{
	for (; *s != '\0'; s++) {
		h ^= (uint8_t)*s;
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

static struct scpp_oid
derive_std(const char *kind, const char *name)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	struct scpp_oid o;

	h = fnv1a(h, "scpp.");
	h = fnv1a(h, kind);
	h = fnv1a(h, ":");
	h = fnv1a(h, name);
	o.hi = 0;
	o.lo = h | (UINT64_C(1) << 63);
	return o;
}

struct scpp_oid
schema_derive(const struct scpp_schema_conf *conf, const char *kind,
	      const char *name)
{
	if (conf != NULL && conf->derive_oid != NULL)
		return conf->derive_oid(kind, name);
	return derive_std(kind, name);
}

struct scpp_oid
scpp_schema_type_oid(const char *name)
{
	return derive_std("type", name);
}

struct scpp_oid
scpp_schema_attr_oid(const char *type, const char *attr)
{
	char buf[2 * SCPP_SCHEMA_NAME_MAX + 2];

	snprintf(buf, sizeof(buf), "%s.%s", type, attr);
	return derive_std("attr", buf);
}

/* ---------------------------------------------------------- type expressions */

static const char *const prim_names[SCPP_VT_COUNT] = {
	[SCPP_VT_BOOL] = "bool",  [SCPP_VT_I64] = "i64",     [SCPP_VT_U64] = "u64",
	[SCPP_VT_F64] = "f64",    [SCPP_VT_STR] = "string",  [SCPP_VT_BYTES] = "bytes",
	[SCPP_VT_OID] = "oid",
};

int
texpr_primitive(const char *name)
{
	for (int t = 0; t < SCPP_VT_COUNT; t++)
		if (prim_names[t] != NULL && strcasecmp(name, prim_names[t]) == 0)
			return t;
	return -1;
}

struct tparser {
	struct arena *ar;
	const char *s, *p;
	char *reason;
	size_t rsize;
};

static void
skip_ws(struct tparser *tp)
{
	while (*tp->p == ' ' || *tp->p == '\t')
		tp->p++;
}

static int
tp_fail(struct tparser *tp, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
tp_fail(struct tparser *tp, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tp->reason, tp->rsize, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Describe the character at p for an error message. */
static const char *
near(const char *p, char *buf, size_t size)
{
	if (*p == '\0')
		return "end of expression";
	snprintf(buf, size, "'%c'", *p);
	return buf;
}

static bool
is_name_start(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static bool
is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* True if the text at p is the word Hash (and not e.g. HashMap). */
static bool
at_hash(const char *p)
{
	return strncmp(p, "Hash", 4) == 0 && !is_name_char(p[4]);
}

static int
parse_union(struct tparser *tp, struct texpr_union *u, bool in_hash)
{
	char nb[8];

	u->n = 0;
	for (;;) {
		const char *start;

		skip_ws(tp);
		if (at_hash(tp->p)) {
			if (in_hash)
				return tp_fail(tp, "malformed Hash[...]: a Hash key or value cannot be a Hash");
			return tp_fail(tp, "bad union member: Hash[...] cannot be a union member");
		}
		if (!is_name_start(*tp->p)) {
			if (u->n > 0)
				return tp_fail(tp, "bad union member: expected a type name after '|', found %s",
					       near(tp->p, nb, sizeof(nb)));
			if (in_hash)
				return tp_fail(tp, "malformed Hash[...]: expected a type name, found %s",
					       near(tp->p, nb, sizeof(nb)));
			return tp_fail(tp, "expected a type name, found %s",
				       near(tp->p, nb, sizeof(nb)));
		}
		start = tp->p;
		while (is_name_char(*tp->p))
			tp->p++;
		if ((size_t)(tp->p - start) > SCPP_SCHEMA_NAME_MAX)
			return tp_fail(tp, "type name longer than %d bytes", SCPP_SCHEMA_NAME_MAX);
		if (u->n == SCPP_SCHEMA_UNION_MAX)
			return tp_fail(tp, "bad union member: more than %d members",
				       SCPP_SCHEMA_UNION_MAX);
		u->names[u->n] = ar_strndup(tp->ar, start, (size_t)(tp->p - start));
		if (u->names[u->n] == NULL)
			return -ENOMEM;
		for (unsigned int i = 0; i < u->n; i++) {
			int a = texpr_primitive(u->names[i]), b = texpr_primitive(u->names[u->n]);

			if (a >= 0 ? a == b : strcmp(u->names[i], u->names[u->n]) == 0)
				return tp_fail(tp, "bad union member: '%s' appears twice",
					       u->names[u->n]);
		}
		u->n++;
		skip_ws(tp);
		if (*tp->p != '|')
			return 0;
		tp->p++;
	}
}

int
texpr_parse(struct arena *ar, const char *s, struct texpr *out, char *reason,
	    size_t rsize)
{
	struct tparser tp = {.ar = ar, .s = s, .p = s, .reason = reason, .rsize = rsize};
	char nb[8];
	int rc;

	memset(out, 0, sizeof(*out));
	skip_ws(&tp);
	if (*tp.p == '\0')
		return tp_fail(&tp, "empty type expression");
	if (at_hash(tp.p)) {
		out->is_map = true;
		tp.p += 4;
		skip_ws(&tp);
		if (*tp.p != '[')
			return tp_fail(&tp, "malformed Hash[...]: expected '[' after Hash, found %s",
				       near(tp.p, nb, sizeof(nb)));
		tp.p++;
		rc = parse_union(&tp, &out->key, true);
		if (rc < 0)
			return rc;
		if (*tp.p != ',')
			return tp_fail(&tp, "malformed Hash[...]: expected ',' after the key type, found %s",
				       near(tp.p, nb, sizeof(nb)));
		tp.p++;
		rc = parse_union(&tp, &out->val, true);
		if (rc < 0)
			return rc;
		if (*tp.p != ']')
			return tp_fail(&tp, "malformed Hash[...]: expected ']' after the value type, found %s",
				       near(tp.p, nb, sizeof(nb)));
		tp.p++;
		skip_ws(&tp);
		if (*tp.p != '\0')
			return tp_fail(&tp, "malformed Hash[...]: unexpected %s after ']'",
				       near(tp.p, nb, sizeof(nb)));
		return 0;
	}
	rc = parse_union(&tp, &out->val, false);
	if (rc < 0)
		return rc;
	if (*tp.p != '\0')
		return tp_fail(&tp, "bad union member: unexpected %s", near(tp.p, nb, sizeof(nb)));
	return 0;
}
