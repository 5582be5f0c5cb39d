/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EVAL_PRIV_H
#define EVAL_PRIV_H

/*
 * Evaluator internals shared by eval.c (binding tables, commands, undo),
 * eval_copy.c (the copy command), eval_schema.c (the bridge to lib/schema) and eval_expr.c (expressions,
 * guards and the commands built on them: let, where, assert, write,
 * resize).
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
	UNDO_LENGTH,          /* give a byte string its old length (in off) back */
	UNDO_COPY,            /* as BYTES, the old bytes in an asynchronous copy's save
			       * buffer (the copier's, valid until the block ends:
			       * never copied, e.g. into a suspension) */
	UNDO_NONE,            /* nothing (an asynchronous copy that never wrote) */
	UNDO_WINDOW,          /* write old bytes back into a memory window, at the
			       * address in off (scpp_eval_env.memwins) */
};

/* An asynchronous copy of the running block (eval_copy.c, copy_async()). */
struct eval_acopy {
	uint64_t handle;
	uint32_t undo;         /* its UNDO_COPY record */
	uint32_t row;          /* the row and command it ran for */
	uint16_t cmd;
	bool waited;           /* completed (waited for) and unpinned */
	int32_t status;        /* its outcome, once waited */
	uint64_t elapsed_ns;
	uint64_t len;
	const char *engine;    /* scpp_eval_copy_done.engine, once waited */
	bool saved;
	struct scpp_oid dst_e, src_e;
	uint32_t dst_a, src_a;
};

/* What one copy command copied (eval_copy_res.c). */
struct eval_cres {
	uint16_t cmd;
	uint64_t copies, bytes, offloaded;
	uint64_t t0, elapsed_ns; /* env->clock_ns() at the command's start */
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

/* Held entities per context: slots of the table, and the most it holds
 * (half full at most, so probes stay short). */
#define EVAL_HELD_SLOTS 1024u
#define EVAL_HELD_MAX (EVAL_HELD_SLOTS / 2)
/* Undo records a held part may have at most (the hold is refused beyond). */
#define EVAL_HOLD_UNDO_MAX 1024u

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
	/* The stage's hashes for the next block (scpp_eval_use_prefetch()). */
	const struct scpp_eval_prefetch *pf;
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
	bool mixed_rows;            /* a guarded get/create/let: rows may differ
				     * in which variables they bind */
	struct eval_acopy acopy[SCPP_EVAL_ASYNC_COPIES];
	uint16_t nacopy;            /* held by the running block */
	uint16_t acopy_wait;        /* first not waited for yet */
	/* Copies in flight that held blocks of this context took with them
	 * (hold(), eval.c): while not 0, reads check copier.writing(). */
	uint32_t held_copies;
	/* Copy results of a block with SCPP_WIRE_BF_COPY_RESULTS. */
	struct eval_cres cres[SCPP_EVAL_COPY_RESULTS];
	uint16_t ncres;
	bool now_read;              /* now() was read in this block ... */
	int64_t now_ns;             /* ... and returned this, for every row */
	/* The binding table while a hook is asked about a command (NULL
	 * otherwise): scpp_eval_ctx_rows(), eval_cont.c. */
	const uint8_t *hook_tab;
	size_t hook_nrows, hook_stride;

	/* Writes to schema entities recorded for env->schema_hold (values
	 * in the block's memory or arena until a hold copies them). */
	uint32_t nelog;
	struct scpp_eval_edit_op elog[SCPP_EVAL_EDIT_MAX];

	/* Entities written by held blocks (scpp_eval.h "hold"), which other
	 * blocks may not write meanwhile: open addressing (linear probing,
	 * backward-shift deletion), owner = the holding suspension. */
	uint32_t nheld;
	struct eval_held {
		struct scpp_oid oid;
		const struct scpp_eval_susp *owner; /* NULL: empty slot */
	} held[EVAL_HELD_SLOTS];
};

/* A suspended block (eval_susp.c). */
struct scpp_eval_susp {
	bool use_rte;
	uint8_t active;
	uint16_t next_cmd;
	uint16_t nvars;
	size_t cap;
	uint8_t *mem;               /* rows, then statuses, then values */
	size_t nrows, stride, stat_off;
	uint32_t nstat;
	uint64_t status_vars;
	uint32_t status_count[SCPP_WIRE_VARS_MAX];
	uint64_t steps, bytes_charged, commands, elapsed_ns;
	/* A hold (scpp_eval.h): the part's undo log, the objects to check at
	 * the end and the entities held, after the values. */
	uint8_t held;
	uint32_t nundo, ncreated, nheld;
	size_t used;                /* bytes of mem in use after eval_susp_save() */
	size_t undo_off, created_off, held_off;
	uint32_t nelog;             /* a schema hold: the recorded edit ... */
	size_t elog_off;            /* ... at this offset */
	/* ... and the block's asynchronous copies (eval_copy.c, eval_acopy_hold_save()). */
	size_t acopy_off;
	uint16_t nacopy, acopy_wait;
	uint16_t held_copies;       /* of those, not waited for: in ctx->held_copies */
	/* The copy results so far (eval_copy_res.c). */
	struct eval_cres cres[SCPP_EVAL_COPY_RESULTS];
	uint16_t ncres;
};

/* Copy results (eval_copy_res.c): a copy command starts, one of its rows
 * copied @p len bytes, its copies so far completed by @p now; the COPY
 * records (0, or the writer's error). */
void eval_cres_begin(struct scpp_eval_ctx *ctx, uint16_t cmd, uint64_t now);
void eval_cres_add(struct scpp_eval_ctx *ctx, uint16_t cmd, uint64_t len, bool offloaded);
void eval_cres_end(struct scpp_eval_ctx *ctx, uint16_t cmd, uint64_t now);
int eval_cres_write(const struct scpp_eval_ctx *ctx, struct scpp_wire_reply_writer *w,
		    const char *engine);

/* Bytes the state of a block stopped now takes in a suspension. */
size_t eval_susp_need(const struct scpp_eval_ctx *ctx, const uint8_t *tab, size_t nrows,
		      size_t stride, uint16_t nvars);
bool eval_susp_fits(const struct scpp_eval_susp *s, size_t need);
/* Copy the state out (the part that ran is committed by the caller). */
void eval_susp_save(struct scpp_eval_ctx *ctx, struct scpp_eval_susp *s, const uint8_t *tab,
		    size_t nrows, size_t stride, uint16_t nvars, uint16_t next_cmd,
		    uint64_t elapsed_ns);
/* Copy it back into binding table @p tab; 0 or a negative code. */
int eval_susp_restore(struct scpp_eval_ctx *ctx, struct scpp_eval_susp *s, uint8_t *tab,
		      size_t max_rows);
/* A hold: bytes its undo log, checks and held entities need besides
 * eval_susp_need() (the distinct entities in *@p nents), or SIZE_MAX when
 * the part cannot be held (see eval.c, hold()). */
size_t eval_susp_hold_need(const struct scpp_eval_ctx *ctx, uint32_t *nents);
/* After eval_susp_save(): the undo log, checks and held entities go to
 * @p s too, and the entities into the context's held set. */
void eval_susp_hold_save(struct scpp_eval_ctx *ctx, struct scpp_eval_susp *s, size_t base);
/* After eval_susp_restore() of a hold: the undo log and checks back into
 * the context (values into its arena), the entities out of the held set. */
int eval_susp_hold_restore(struct scpp_eval_ctx *ctx, struct scpp_eval_susp *s);
/* Is @p e held by a block other than @p self (NULL: any)? */
bool eval_held_by_other(const struct scpp_eval_ctx *ctx, struct scpp_oid e,
			const struct scpp_eval_susp *self);

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
struct scpp_schema_type;
/* RmaWindow entities are scppd's: -EPERM (status set, naming @p op and @p e)
 * when @e is one, or @p as (a type it would get, or NULL) is RmaWindow; else 0. */
int eval_schema_window_refused(const struct scpp_eval_env *env, const char *op, struct scpp_oid e,
			       const struct scpp_schema_type *as, struct scpp_status *st);
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

/* ---- the per-block state of eval.c, shared with eval_copy.c ---- */

/* target(): the attribute term was nil, i.e. `del e` names the whole entity.
 * Distinct from 0, which means a name that was never interned (so no triple
 * can have it). */
#define AID_ENTITY (-1)

struct scpp_auth_authority;

/* Per-block evaluation state kept on the stack of scpp_eval_block(); eval.c's
 * and eval_copy.c's (the other files use the eval_run_*() services). */
struct run {
	struct scpp_eval_ctx *ctx;
	const struct scpp_eval_env *env;
	const struct scpp_wire_block *b;
	uint64_t block_id;
	size_t stride;        /* bytes per row */
	size_t max_rows;      /* rows that fit the table and the limit */
	uint8_t *cur, *next;  /* input and output tables of the command */
	uint8_t *alt;         /* the table that is not cur */
	size_t ncur, nnext;
	uint16_t cmd_index;
	uint32_t row;          /* input row of the command, or SCPP_STATUS_NO_ROW */
	bool quiet;            /* a failure now would be counted, not kept */
	uint8_t scan_cover;    /* scpp_auth_cover() of this shard's /64 (with scan_auth) */
	bool cres;             /* the block asked for copy results (eval_copy_res.c) */
	/* The session's authority while a get filters what it finds (a scan,
	 * an attribute walk); NULL: nothing to filter. */
	const struct scpp_auth_authority *scan_auth;
	/* The stage's hashes of this block's keys (scpp_eval_use_prefetch()), or NULL. */
	const struct scpp_eval_prefetch *pf;
	struct scpp_status st; /* the error being reported (last: see scpp_eval_block()) */
};
_Static_assert(offsetof(struct run, st) + sizeof(struct scpp_status) == sizeof(struct run),
	       "the status is the last member of struct run");

static inline uint64_t
eval_clock_now(const struct run *r)
{
	return r->env->clock_ns != NULL ? r->env->clock_ns() : 0;
}

/* ---- eval_expr.c: expressions, guards, let/where/assert/write/resize ---- */

/* A term resolved in one row (eval.c's own `struct tv`). */
struct eval_tv {
	bool bound;
	bool is_var;
	uint8_t var;
	struct scpp_value v;
};

/* Run a let, where, assert, write or resize for one row: 0 (the row goes
 * on), 1 (the command emitted or dropped the row itself) or <0. */
int eval_x_cmd(struct run *r, const struct scpp_wire_cmd *cmd, const struct row *in);
/* A command's guard for one row: 1 (run it), 0 (skip it) or <0. */
int eval_x_guard(struct run *r, const struct scpp_wire_cmd *cmd, const struct row *in);
/* Does a failure of @p op under a status variable drop its row? */
bool eval_x_binds_or_checks(uint8_t op);
/* Count the operands of OP term @p t as uses, for the status-variable
 * check (each operand's refs[] slot goes up by one). */
void eval_x_operand_refs(const struct scpp_wire_block *b, uint16_t t, uint16_t *refs);

/* Services of eval.c for eval_expr.c and eval_copy.c: the static helpers
 * of the same names there (fail, step, charge_bytes, arena_alloc, emit,
 * missing, is_local, attr_id, target, want_len, undo_push, ...);
 * eval_run_addr() is eval_copy.c's resolve_addr(). */
const struct scpp_wire_block *eval_run_block(const struct run *r);
const struct scpp_eval_env *eval_run_env(const struct run *r);
struct scpp_eval_ctx *eval_run_ctx(const struct run *r);
void eval_run_term(const struct run *r, const struct row *row, uint16_t ti, struct eval_tv *out);
int eval_run_fail(struct run *r, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int eval_run_step(struct run *r, uint64_t n);
int eval_run_charge(struct run *r, uint64_t n);
void *eval_run_alloc(struct run *r, size_t n);
struct row *eval_run_emit(struct run *r, const struct row *in);
/* Bind without copying: @p v already lives in the block (a constant, a
 * row value or the arena). */
void eval_run_bind_owned(struct row *o, uint8_t var, const struct scpp_value *v);
int eval_run_missing(struct run *r, struct scpp_oid e);
bool eval_run_local(const struct run *r, struct scpp_oid e);
int64_t eval_run_attr_id(struct run *r, const struct scpp_value *name, bool intern);
int eval_run_target(struct run *r, const struct row *in, uint16_t te, uint16_t ta, bool intern,
		    struct scpp_oid *e, int64_t *aid);
int eval_run_addr(struct run *r, const struct row *in, uint16_t ti, bool intern, struct scpp_oid *e,
		  int64_t *aid, uint64_t *off);
int eval_run_len(struct run *r, const struct row *in, uint16_t ti, const char *what, uint64_t *out);
struct undo *eval_run_undo(struct run *r, uint8_t kind, struct scpp_oid oid, uint32_t attr);
void eval_run_undo_drop(struct run *r, uint32_t mark);
int eval_run_store_fail(struct run *r, int rc, const char *op, struct scpp_oid e, int64_t aid);
int eval_run_not_found(struct run *r, const char *op, struct scpp_oid e, int64_t aid);
int eval_run_schema_refused(struct run *r, const char *op, struct scpp_oid e, int64_t aid);
struct scpp_status *eval_run_status(struct run *r);
/* The session's rights (docs/SECURITY.md §4): 0, or the denial (failed,
 * naming @p op and the missing right); eval_run_may_read() asks without
 * failing (searches skip what they may not read). */
int eval_run_authorize(struct run *r, const char *op, struct scpp_oid e, int64_t aid,
		       uint16_t ops);
bool eval_run_may_read(const struct run *r, struct scpp_oid e, int64_t aid);
int eval_run_not_here(struct run *r, struct scpp_oid e);
/* target() with its map key: @p keyed, and the key in @p key. */
int eval_run_target_key(struct run *r, const struct row *in, uint16_t te, uint16_t ta, bool intern,
			struct scpp_oid *e, int64_t *aid, bool *keyed, struct scpp_value *key);
/* Collect the failure in r->st for @p cmd's status variable; stamp a
 * status with the command and row. */
void eval_run_collect(struct run *r, const struct scpp_wire_cmd *cmd);
void eval_run_stamp(struct run *r, struct scpp_status *st);

/* ---- eval_copy.c: the copy command ---- */

/* The term at the bottom of address @p ti, under its offset()s (each
 * offset's length term given to @p each, outermost first, when not NULL;
 * false from it stops the walk), or NULL (stopped, or nested too deep: the
 * decoder bounds the nesting, the bound here only keeps a malformed built
 * block from looping). */
const struct scpp_wire_term *eval_addr_base(const struct scpp_wire_block *b, uint16_t ti,
					    bool (*each)(void *arg, uint16_t off_term), void *arg);
/* One row of a copy command: 0 or <0 (failed). */
int eval_copy_op(struct run *r, const struct scpp_wire_cmd *cmd, const struct row *in);
/* The block's asynchronous copies: wait for all (unpinned, not applied);
 * wait and apply their outcomes (0, or the failure that aborts the block);
 * the block ended: wait, and give their save buffers back. */
void eval_acopy_wait_all(struct run *r);
int eval_acopy_settle(struct run *r);
void eval_acopy_release(struct run *r);
/* A hold takes the block's copies into suspension @p s; its resumption
 * takes them back. */
void eval_acopy_hold_save(struct scpp_eval_ctx *ctx, struct scpp_eval_susp *s);
void eval_acopy_hold_restore(struct scpp_eval_ctx *ctx, struct scpp_eval_susp *s);

/* Is address term @p ti a map entry under any offset()s (eval_cont.c)? */
bool eval_addr_keyed(const struct scpp_wire_block *b, uint16_t ti);
/* A read of value (e, aid) whose bytes are [p, p + len): -EBUSY (failed,
 * naming the value) when a held block's copy in flight writes them. */
int eval_run_read_busy(struct run *r, struct scpp_oid e, int64_t aid, const void *p,
		       uint64_t len);

#endif /* EVAL_PRIV_H */
