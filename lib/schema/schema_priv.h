/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SCHEMA_PRIV_H
#define SCHEMA_PRIV_H

/*
 * Internals of lib/schema.
 *
 * Three representations of a schema, and the functions between them:
 *
 *   JSON files --load--> struct model --compile--> struct scpp_schema
 *                          ^      |                     |
 *                          |      +--- kept inside -----+
 *                 ents_to_model   model_to_ents
 *                          |      v
 *                        struct ents  (schema entities as triples; edits)
 *
 * The model is the source form (names and type expressions as strings,
 * plus where each came from, for diagnostics). The compiled schema adds the
 * hot-path tables. The entity set is the schema as data: what is written
 * into a store, what the metaschema check reads and what edits change.
 *
 * All memory of a model or an entity set comes from an arena and is freed
 * at once; nothing points from one arena into another except the compiled
 * schema into its own model.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scpp_schema.h"

/* ------------------------------------------------------------------ arena */

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, size;
	max_align_t data[];
};

struct arena {
	struct arena_chunk *head;
	bool failed; /* an allocation failed: the owner reports -ENOMEM */
};

void *ar_alloc(struct arena *ar, size_t size);
char *ar_strndup(struct arena *ar, const char *s, size_t len);
char *ar_strdup(struct arena *ar, const char *s);
char *ar_printf(struct arena *ar, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ar_free(struct arena *ar);
/* Grow *arr (elements of esize) to hold at least n+1 elements. */
int ar_grow(struct arena *ar, void **arr, unsigned int *cap, unsigned int n,
	    size_t esize);
/* Deep-copy @v (str/bytes into the arena). */
int ar_value(struct arena *ar, struct scpp_value *dst, const struct scpp_value *v);

/* ------------------------------------------------------------------ model */

struct m_attr {
	const char *name;
	const char *type_expr;  /* as written */
	const char *doc;        /* NULL if none */
	bool required, indexed, has_default;
	bool def_json_number;   /* def is a JSON number still to be coerced */
	struct scpp_value def;
	const char *file, *path; /* where declared: "$.types.T.attributes.a" */
};

struct m_type {
	const char *name;
	const char *doc;        /* NULL if none */
	const char *name_attr;  /* NULL if none */
	const char *name_attr_path; /* where name_attr was given */
	struct m_attr *attrs;
	unsigned int nattrs, cap;
	const char *file, *path; /* "$.types.T" */
};

struct m_req {
	const char *schema, *file, *path;
};

struct model {
	struct arena ar;
	struct m_type *types;
	unsigned int ntypes, cap;
	struct m_req *reqs;
	unsigned int nreqs, reqcap;
	const char **schemas;   /* schema names loaded, with schema_files[] */
	const char **schema_files;
	unsigned int nschemas, schcap, schfcap;
	bool runtime;           /* built from entities (edit), not files */
};

void model_free(struct model *m);

/* Diagnostics: fill @d (may be NULL) and return -EINVAL. */
int diag_set(struct scpp_schema_diag *d, const char *file, const char *path,
	     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Parse one JSON schema file into @m. */
int load_json(struct model *m, const char *file, const char *text, size_t len,
	      struct scpp_schema_diag *d);

/* --------------------------------------------------------- type expressions */

/* A parsed union: member names, in source order. */
struct texpr_union {
	unsigned int n;
	const char *names[SCPP_SCHEMA_UNION_MAX];
};

struct texpr {
	bool is_map;
	struct texpr_union key; /* maps only */
	struct texpr_union val;
};

/* Parse a type expression; on error fill @reason and return -EINVAL. */
int texpr_parse(struct arena *ar, const char *s, struct texpr *out,
		char *reason, size_t rsize);

/* Primitive named @name (case-insensitive) as its value type, or -1. */
int texpr_primitive(const char *name);

/* ------------------------------------------------------------- compiled */

/* Bit of a compiled union mask: one per scpp_value_type, plus REF. */
#define TX_REF (1u << 15) /* OIDs checked against refs[] */

struct ctx_union {
	uint16_t mask;      /* 1 << SCPP_VT_x for accepted primitives, | TX_REF */
	uint16_t nrefs;     /* entity types accepted (when TX_REF) */
	uint32_t *refs;     /* their type indices */
};

struct scpp_schema_attr {
	/* hot: read by every check */
	uint32_t id;
	uint32_t owner;         /* type index */
	uint8_t is_map;
	uint8_t required;
	uint8_t indexed;
	uint8_t has_default;
	struct ctx_union val;
	struct ctx_union key;
	/* below: control path only */
	const struct scpp_schema *schema;
	const struct m_attr *m;
	const char *canon;      /* canonical type expression */
	struct scpp_oid oid;
	struct scpp_value def;
};

struct scpp_schema_type {
	struct scpp_oid oid;
	uint32_t idx;
	uint32_t first_attr, nattrs;
	/* required declarations, for end-of-block checks */
	uint32_t *required;     /* indices into schema->attrs */
	uint32_t nrequired;
	int32_t name_attr;      /* index into schema->attrs, or -1 */
	/* below: control path only */
	const struct scpp_schema *schema;
	const struct m_type *m;
};

struct attr_slot {
	uint64_t key;           /* (type idx + 1) << 32 | attr id; 0 = empty */
	const struct scpp_schema_attr *a;
};

struct type_slot {
	struct scpp_oid oid;    /* nil = empty */
	const struct scpp_schema_type *t;
};

struct name_id {
	const char *name;
	uint32_t id;
};

/* Attributes of schema entities that this implementation reads and writes;
 * core.json's Type and Attribute must declare them (checked by the
 * metaschema self-check at every load). */
enum meta_attr {
	M_NAME, M_DOC, M_NAME_ATTR, M_ATTRIBUTES,            /* Type */
	M_OWNER, M_VALUE_TYPE, M_REQUIRED, M_INDEXED, M_DEFAULT, /* Attribute */
	M_COUNT
};
extern const char *const meta_names[M_COUNT];

struct scpp_schema {
	/* hot */
	struct attr_slot *attr_ht;
	uint32_t attr_mask;
	struct type_slot *type_ht;
	uint32_t type_mask;
	uint32_t type_attr_id;  /* id of `type` */
	uint32_t meta_type;     /* index of `Type` */
	uint32_t meta_attr;     /* index of `Attribute` */
	struct scpp_schema_type *types;
	uint32_t ntypes;
	struct scpp_schema_attr *attrs;
	uint32_t nattrs;
	/* below: control path only */
	uint64_t pub_version;   /* version a publisher gave it (schema_pub.c) */
	struct scpp_schema_conf conf;
	uint32_t meta_ids[M_COUNT];
	struct model *model;
	struct name_id *names;  /* every attribute name -> id */
	unsigned int nnames, namecap;
	uint32_t next_id;       /* own numbering when conf.intern is NULL */
	struct arena ar;        /* compiled tables */
};

/* Compile @m (ownership passes to the schema, also on failure). @prev (may
 * be NULL) is the schema an edit started from: its name -> id table is
 * carried over, so ids stay stable when the schema numbers names itself. */
int schema_compile(struct model *m, const struct scpp_schema_conf *conf,
		   const struct scpp_schema *prev, struct scpp_schema **out,
		   struct scpp_schema_diag *d);

struct scpp_oid schema_derive(const struct scpp_schema_conf *conf,
			      const char *kind, const char *name);

const char *schema_id_name(const struct scpp_schema *s, uint32_t id);
int schema_intern(struct scpp_schema *s, const char *name, uint32_t *id);

/* ---------------------------------------------------------------- entities */

struct ent_slot {
	uint32_t attr;          /* attribute id */
	const char *name;       /* attribute name */
	bool is_map;
	struct scpp_value key;  /* map entries only */
	struct scpp_value val;
};

struct ent {
	struct scpp_oid oid;
	struct ent_slot *slots;
	unsigned int nslots, cap;
	const char *file, *path; /* source of the model object, for diagnostics */
};

struct ents {
	struct arena ar;
	uint32_t type_attr;     /* id of `type` */
	struct ent *v;
	unsigned int n, cap;
};

int model_to_ents(const struct scpp_schema *s, struct ents *es);
void ents_free(struct ents *es);
struct ent *ents_find(const struct ents *es, struct scpp_oid oid);
const struct ent_slot *ent_get(const struct ent *e, uint32_t attr);
void ents_access(struct ents *es, struct scpp_schema_access *acc);
/* Check every entity of @es against the schema @s; on failure *bad is the
 * entity that failed. */
int ents_check(const struct scpp_schema *s, struct ents *es,
	       struct scpp_schema_violation *viol, const struct ent **bad);

#endif /* SCHEMA_PRIV_H */
