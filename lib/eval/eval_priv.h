/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EVAL_PRIV_H
#define EVAL_PRIV_H

/*
 * Evaluator internals shared by eval.c (binding tables, commands, undo) and
 * eval_schema.c (the bridge to lib/schema).
 */

#include "scpp_eval.h"

/* One binding-table row: a mask of bound variables, then nvars values.
 * Rows are stored back to back with a stride fixed per block. */
struct row {
	uint64_t bound;
	struct scpp_value v[];
};

enum undo_kind {
	UNDO_ENTITY_CREATED,  /* delete the entity */
	UNDO_ENTITY_DELETED,  /* recreate the (empty) entity */
	UNDO_TRIPLE,          /* restore old plain value, or delete if none */
	UNDO_MAP_CREATED,     /* delete the (empty) map attribute */
	UNDO_MAP_ENTRY,       /* restore old entry value, or delete if none */
	UNDO_BYTES,           /* write old bytes back at off */
	UNDO_MAP_DETACHED,    /* revive the detached map (token in off) */
};

struct undo {
	uint8_t kind;
	uint8_t had_old;       /* TRIPLE / MAP_ENTRY: an old value existed */
	uint8_t renamed;       /* names_commit(): this record's triple was renamed */
	uint32_t attr;
	struct scpp_oid oid;
	uint64_t off;          /* BYTES: offset of the saved range */
	struct scpp_value key; /* MAP_ENTRY: the key (saved in the undo arena) */
	struct scpp_value old; /* old value (saved), or bytes range for BYTES */
};

/*
 * Attribute names a block writes that the dictionary does not have yet get
 * a provisional id, PENDING_ID0 + i, valid only inside the block; the
 * names are interned (and the triples renamed to their dictionary ids)
 * only when the block commits, so failed or aborted blocks leave the
 * dictionary as it was. Dictionary ids are < 2^30, so the ranges never
 * meet.
 */
#define EVAL_PENDING_MAX 64
#define EVAL_PENDING_ID0 (UINT32_MAX - EVAL_PENDING_MAX)

struct pending_name {
	const uint8_t *p;      /* block memory (wire block or arena) */
	uint32_t len;
	uint32_t id;           /* dictionary id once interned at commit */
};

static inline bool
eval_is_pending(uint32_t id)
{
	return id >= EVAL_PENDING_ID0;
}

/* A status collected by a status variable, or the abort cause. */
struct collected {
	struct scpp_status st;
	struct scpp_oid oid;   /* the status object's OID (sent in STATUS) */
	uint8_t var;           /* status variable, 0xff for the abort cause */
};

struct scpp_eval_ctx {
	struct scpp_eval_limits lim;
	bool use_rte;

	/* Two binding tables, swapped after each command. */
	uint8_t *tab[2];
	size_t tab_bytes;

	/* Block-lifetime copies of bound str/bytes values and undo data. */
	uint8_t *arena;
	size_t arena_size;
	size_t arena_used;

	struct undo *undo;
	uint32_t undo_max;
	uint32_t nundo;

	struct collected *stat;
	uint32_t nstat;

	/* Entities to validate at the end of the block: created in it, or
	 * given a type in it (created_flag[i] = 1 for created ones). */
	struct scpp_oid *created;
	uint8_t *created_flag;
	uint32_t created_max;
	uint32_t ncreated;

	/* Scratch for enumerations (attribute and map iteration batches). */
	struct scpp_store_attr iter_attr[32];
	struct scpp_value iter_key[32];
	struct scpp_value iter_val[32];
	struct scpp_oid iter_oid[32];

	/* Value-index hits of one lookup, sorted into entity order; one more
	 * than the rows a command may produce, so overflow is visible. */
	struct scpp_store_hit *ixhit;
	uint32_t ixhit_max;

	/* Per block: attribute ids of constant attribute-name terms
	 * (0 = not interned; resolved once per block, not per row). */
	uint32_t term_attr[SCPP_WIRE_TERMS_MAX];
	uint64_t status_vars;       /* mask of variables used as status variables */
	uint32_t status_count[SCPP_WIRE_VARS_MAX];

	/* Attribute names seen before, across blocks: a hash of the name ->
	 * a dictionary id. A hit is confirmed against the dictionary's own
	 * name for that id, so the cache is never wrong, whatever dictionary
	 * the next block uses. */
	uint32_t acache[256];

	struct pending_name pend[EVAL_PENDING_MAX];
	uint32_t npend;

	bool fast;                  /* the fast path may run (scpp_eval_ctx_fast()) */
	struct scpp_eval_stats st;

	uint64_t steps;
	uint64_t time_check;        /* steps at which the clock is read next */
	uint64_t max_time_ns;
	const uint64_t *probes;     /* the shard's probe counter */
	uint64_t probes_seen;       /* its value when last charged */
	uint64_t bytes;
	uint64_t commands_done;     /* command applications (all rows) */
	uint64_t status_seq;        /* per-context counter for status OIDs */
	struct scpp_schema_edit *edit; /* pending schema change of this block */
	uint64_t t0;
};

/* Schema bridge (eval_schema.c). Each returns 0 or a negative code and, on
 * error, fills @st's message. With env->schema NULL all of them accept.
 * eval_schema_check_set() returns 1 when the write gives an untyped entity
 * a type: the entity must then be checked whole at the end of the block. */
int eval_schema_check_set(struct scpp_eval_ctx *ctx, const struct scpp_eval_env *env,
			  struct scpp_oid e, uint32_t attr, struct scpp_value *key,
			  struct scpp_value *v, struct scpp_status *st);
int eval_schema_create(struct scpp_eval_ctx *ctx, const struct scpp_eval_env *env,
		       struct scpp_oid e, const struct scpp_value *type,
		       struct scpp_status *st);
int eval_schema_check_object(const struct scpp_eval_ctx *ctx, const struct scpp_eval_env *env,
			     struct scpp_oid e, bool created, struct scpp_status *st);
int eval_schema_check_del(struct scpp_eval_ctx *ctx, const struct scpp_eval_env *env,
			  struct scpp_oid e, uint32_t attr, const struct scpp_value *key,
			  struct scpp_status *st);
/* Is @e a schema entity (its type is Type or Attribute)? Only `set`, `del`
 * and `create` change those, through the schema edit; `copy` and `alloc`
 * onto one are refused. */
bool eval_schema_is_schema_entity(const struct scpp_eval_env *env, struct scpp_oid e);
/* Does @p type (a create's type term) name a schema type (Type, Attribute)? */
bool eval_schema_names_meta(const struct scpp_eval_env *env, const struct scpp_value *type);
/* Does `set e attr v` declare a new schema entity: @e in the well-known
 * namespace, @attr `type`, @v the OID of Type or Attribute? */
bool eval_schema_declares(const struct scpp_eval_env *env, struct scpp_oid e, uint32_t attr,
			  const struct scpp_value *v);
uint8_t eval_schema_bytes_type(const struct scpp_eval_env *env, struct scpp_oid e,
			       uint32_t attr);
/* Id of attribute name @p (@len bytes) for this block: the dictionary's,
 * a pending one, 0 (nothing has it), or with @intern a new pending id;
 * -ENAMETOOLONG or -ENOSPC (too many new names). */
int64_t eval_name_id(struct scpp_eval_ctx *c, const struct scpp_eval_env *env, const uint8_t *p,
		     uint32_t len, bool intern);
/* The name of attribute @id: the dictionary's, or a pending name's. */
struct scpp_value eval_attr_name(const struct scpp_eval_ctx *ctx, const struct scpp_eval_env *env,
				 uint32_t id);
/* End of block: commit a pending schema edit (0, or <0 with @st filled);
 * the new schema goes to *out. eval_schema_edit_drop() discards it. */
int eval_schema_edit_commit(struct scpp_eval_ctx *ctx, const struct scpp_eval_env *env,
			    struct scpp_schema **out, struct scpp_status *st);
void eval_schema_edit_drop(struct scpp_eval_ctx *ctx);

#endif /* EVAL_PRIV_H */
