/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SCPP_EVAL_H
#define SCPP_EVAL_H

/**
 * @file
 * Block evaluation: runs a decoded block against one store shard and writes
 * the reply records.
 *
 * Model (docs/PROTOCOL.md "Block semantics" is the normative text):
 *
 * - Evaluation carries a **binding table**: rows of values for the block's
 *   variables. It starts as one row in which every variable is unbound (⊤).
 * - Each command is evaluated once per row. A constant stands for itself, a
 *   bound variable for its value in that row, and an unbound variable in a
 *   match position ranges over every value that makes the command match.
 *   Each match yields an output row (the input row plus the new bindings);
 *   a row with no match disappears. The output rows feed the next command.
 * - A failing command with a status variable (`!%e`) adds a status object to
 *   that variable's set and drops the row; the block goes on. A failing
 *   command without one aborts the block: every change is undone.
 * - Limits (rows, steps, bytes, result size) abort the block with a
 *   specific status; status variables do not catch them.
 * - Changes are applied as the commands run, with an undo log; if the block
 *   aborts, or an object created in it fails validation at the end, the undo
 *   log restores the shard exactly. A shard has one thread, so no other
 *   block ever observes the intermediate state: single-shard blocks are
 *   atomic and isolated.
 * - After the last command the returned variables are projected from every
 *   surviving row (a multiset: duplicates are kept) and streamed as ROW
 *   records, followed by STATUS records for collected statuses and END.
 *
 * Threading: a context belongs to one lcore and is used for one block at a
 * time. scpp_eval_block() does not allocate, lock or make system calls, with
 * one exception when env.schema_hold is NULL: a block that writes schema
 * entities (a runtime schema change) builds the changed schema with
 * lib/schema's edit API, which allocates. With env.schema_hold (the
 * daemon) such a block only records its writes and is held, and the
 * change is compiled elsewhere (scpp_eval_edit_compile()).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scpp_common.h"
#include "scpp_oid.h"
#include "scpp_value.h"
#include "scpp_wire.h"
#include "scpp_status.h"
#include "scpp_store.h"
#include "scpp_auth.h"

struct scpp_schema;
struct scpp_schema_pub;
struct scpp_eval_ctx; /**< per-lcore evaluation memory (opaque) */

/** Per-block limits; 0 in any field means "use the default". */
struct scpp_eval_limits {
	uint32_t max_rows;     /**< rows in the binding table after any command (default 65536) */
	uint64_t max_steps;    /**< matches examined + rows produced + writes (default 1 000 000) */
	uint64_t max_bytes;    /**< bytes copied, written, bound or saved for undo (default 16 MiB) */
	uint32_t max_result;   /**< bytes of reply records (default 4 MiB) */
	uint32_t max_statuses; /**< status objects kept for the reply (default 256) */
	uint32_t max_time_us;  /**< wall-clock budget of one block, in µs, measured
				*   with env.clock_ns every SCPP_EVAL_TIME_CHECK
				*   steps (default 1000: no block holds a worker
				*   much longer than 1 ms) */
};

#define SCPP_EVAL_DEFAULT_ROWS 65536
#define SCPP_EVAL_DEFAULT_STEPS 1000000
#define SCPP_EVAL_DEFAULT_BYTES (16u << 20)
#define SCPP_EVAL_DEFAULT_RESULT (4u << 20)
#define SCPP_EVAL_DEFAULT_STATUSES 256
#define SCPP_EVAL_DEFAULT_TIME_US 1000

/** Largest accepted limits (scpp_eval_ctx_create() refuses more). */
#define SCPP_EVAL_MAX_ROWS (1u << 24)
#define SCPP_EVAL_MAX_BYTES (UINT64_C(1) << 32)
#define SCPP_EVAL_MAX_STEPS (UINT64_C(1) << 40)
#define SCPP_EVAL_MAX_STATUSES 65536
#define SCPP_EVAL_MAX_TIME_US 10000000u
/** Smallest accepted max_result (the reply budget keeps 64 bytes for END). */
#define SCPP_EVAL_MIN_RESULT 128u
/** Map entries of deleted maps the end of each block frees at most. */
#define SCPP_EVAL_RECLAIM 4096
/** Steps between two reads of the clock for the time budget. */
#define SCPP_EVAL_TIME_CHECK 256
/** Longest chain reach() follows (hops), then ELOOP. */
#define SCPP_EVAL_REACH_MAX 4096

/**
 * Check limits against what the evaluator accepts (0 fields mean the
 * default and are fine). Control thread; used by lib/config to name the
 * offending key.
 *
 * @param field  receives the field's name on error ("max_rows", ...).
 * @param lo,hi  receive the accepted range on error.
 * @return 0, or -EINVAL.
 */
int scpp_eval_limits_check(const struct scpp_eval_limits *l, const char **field,
			   uint64_t *lo, uint64_t *hi);

/**
 * One byte-range copy the evaluator hands to a copy engine
 * (struct scpp_eval_copier). Both ranges are inside extent values of this
 * shard, which the evaluator has pinned (scpp_store_bytes_pin()) for the
 * duration of the call, so neither can move or be freed meanwhile
 * (docs/STORE.md). The ranges may overlap (the result is as if the bytes
 * went through a temporary buffer).
 */
struct scpp_eval_copy_req {
	void *dst;              /**< destination bytes (value dst_e.dst_a + offset) */
	const void *src;        /**< source bytes (value src_e.src_a + offset) */
	uint64_t len;           /**< bytes, >= 1 */
	/** NULL, or a buffer in the evaluation arena (scpp_eval_ctx_arena())
	 *  that must receive the destination range's current bytes, for the
	 *  undo log, before the copy writes them. */
	void *save;
	struct scpp_oid dst_e, src_e;
	uint32_t dst_a, src_a;
};

/** What a copier says about a copy, besides its status. */
struct scpp_eval_copy_done {
	uint64_t elapsed_ns;    /**< from submission to completion */
	/** The save (if any) is complete: on failure, the undo log holds the
	 *  destination's old bytes. When false on failure, the destination
	 *  was not touched. */
	bool saved;
	/** The engine may still touch the ranges (a copy that timed out while
	 *  the device owned it): the evaluator leaves its pins on both values
	 *  and the copier drops them (scpp_store_bytes_unpin()) once the
	 *  device lets go. */
	bool keep_pins;
	/** The engine that failed, when the copier replaced it meanwhile (a
	 *  stuck engine retired): the status names it. NULL: copier.engine. */
	const char *engine;
};

/**
 * A copy engine for `copy` (scppd: the worker's local drivers/copy
 * instance, app/scppd/copy.c). The evaluator uses it for a copy of
 * min_len..max_len bytes between two extent values into a bytes value
 * whose attributes are not indexed; anything else (inline values, str
 * destinations, which must stay UTF-8, indexed attributes, a created
 * destination) it copies itself.
 */
struct scpp_eval_copier {
	/**
	 * Do @p rq: 0 when every byte is there (and the save, if asked, was
	 * taken first); or a negative errno, the destination then holding
	 * unspecified bytes which the undo log restores (done->saved) or which
	 * were never touched. Returns only when the engine has finished with
	 * both ranges, unless it sets done->keep_pins.
	 */
	int (*copy)(void *arg, const struct scpp_eval_copy_req *rq,
		    struct scpp_eval_copy_done *done);
	void *arg;
	uint64_t min_len;       /**< shorter copies: the evaluator's memcpy */
	uint64_t max_len;       /**< longer copies: the evaluator's memcpy */
	bool save;              /**< the engine takes the undo copy (rq.save) */
	const char *engine;     /**< engine name, for statuses */

	/*
	 * Asynchronous copies (optional: submit NULL means copy() does every
	 * one). submit() starts the copy of @p rq (its save first, into a
	 * save buffer of the copier's, *@p save, which stays valid until
	 * release()) and returns at once: 0 with *@p handle set; -EBUSY or
	 * -ENOSPC when the copier's bounds (copies, bytes in flight) are met
	 * now (the evaluator then waits for the block's own copies and tries
	 * once more, then falls back to copy()); any other error fails the
	 * copy, nothing started. The evaluator keeps both values pinned until
	 * the copy has completed, keeps the undo log's reference to the save
	 * buffer until the block ends, then releases the handle.
	 *
	 * Copies of one command are in flight together; the evaluator waits
	 * for all of them (wait()) before anything else reads or writes their
	 * bytes: at the end of the command, before a copy that conflicts()
	 * with one in flight, before the block's undo. A copy's status is the
	 * command's, for its row, as with copy(): a status variable collects
	 * it (and the destination is restored at once) or the block aborts.
	 */
	int (*submit)(void *arg, const struct scpp_eval_copy_req *rq, uint64_t *handle,
		      void **save);
	/** Until copy @p handle completed: its status (done filled; keep_pins unused). */
	int (*wait)(void *arg, uint64_t handle, struct scpp_eval_copy_done *done);
	/** Would a copy of these ranges read or write bytes a copy in flight writes? */
	bool (*conflicts)(void *arg, const void *dst, const void *src, uint64_t len);
	/** The block is done with copy @p handle (its save buffer too). */
	void (*release)(void *arg, uint64_t handle);
	/**
	 * Do bytes [p, p + len) lie under the destination of a copy in
	 * flight? (Optional.) Asked, only while a held block of this context
	 * has copies in flight, for every value a get binds and every val() or
	 * read() of bytes: such a read fails with EBUSY naming the value,
	 * since its bytes may be old, new or partly copied (docs/PROTOCOL.md
	 * "Waiting for copies").
	 */
	bool (*writing)(void *arg, const void *p, uint64_t len);
	uint64_t async_max_len; /**< longer copies go to copy() (the save pool's size) */
};

/** Copy commands of one block whose results a reply carries (COPY records,
 *  block flag SCPP_WIRE_BF_COPY_RESULTS): the first that run. */
#define SCPP_EVAL_COPY_RESULTS 32

/** Asynchronous copies one block holds at once; more go to copier.copy(). */
#define SCPP_EVAL_ASYNC_COPIES 64

/**
 * For a hook deciding whether to stop (scpp_eval_hooks.before_cmd): does
 * the block being evaluated on @p ctx have asynchronous copies in flight
 * (not yet settled)? If so, *@p last receives the copier's handle of the
 * newest one. A hold there (SCPP_EVAL_HOLD) keeps them with the block,
 * which settles them when resumed; any other answer settles them at once
 * (waiting for them).
 */
bool scpp_eval_copies_inflight(const struct scpp_eval_ctx *ctx, uint64_t *last);

/**
 * Copy sources another node resolved (scpp_eval_env.remote_src): for copy
 * command @c cmd, @c read() fetches row @p row's source bytes (@p len, the
 * row's copy length) into @p dst, in the evaluation arena, before the
 * destination is written as by any copy (undo included).
 *
 * read() returns 0 (every byte in @p dst), 1 (no remote source for that
 * row: E_NOT_HERE as without this), or a negative errno with @p msg (the
 * row's status: EACCES for a source address the caller refused,
 * ETIMEDOUT, EIO ...): nothing of the destination was written.
 */
struct scpp_eval_remote_src {
	uint16_t cmd;
	int (*read)(void *arg, uint32_t row, void *dst, uint64_t len, char *msg, size_t size);
	/**
	 * Or NULL. A source this shard rewrote to window @p win + @p off, a
	 * memory window of another node: read() as above, once the caller
	 * checked that the node that owns the window named that very range
	 * for the row (docs/COPY.md "Memory windows on other nodes"; EACCES
	 * otherwise). 1: none for this row.
	 */
	int (*read_window)(void *arg, uint32_t row, struct scpp_oid win, uint64_t off, void *dst,
			   uint64_t len, char *msg, size_t size);
	void *arg;
};

/**
 * A memory window (docs/COPY.md "Memory windows"): a region that stands
 * for process memory, published as an RmaWindow of kind "memory". An
 * Extent whose `window` names one, reached through a VMA map entry, is
 * copied to or from base + window_offset + offset by the evaluator. The
 * daemon allocates the regions; the table is the shard's, read only while
 * its worker evaluates (no other core writes the region).
 */
struct scpp_eval_memwin {
	struct scpp_oid oid; /**< its RmaWindow entity */
	uint8_t *base;       /**< window offset 0 */
	uint64_t len;        /**< bytes in the window */
	/* Counted by the evaluator (the owning worker only): copies whose
	 * destination (in) or source (out) was in the window, and their
	 * bytes; a copy a later abort undid still counts. */
	uint64_t copies_in, bytes_in, copies_out, bytes_out;
	/* Of those, the copies another node ordered (a MEMORY_WINDOW
	 * extension: docs/COPY.md "Memory windows on other nodes"). */
	uint64_t remote_in, remote_out;
	/* Copies into the window refused: their range was busy (being read
	 * by another node, scpp_eval_memwins.busy). */
	uint64_t busy_refused;
};

/** Busy ranges of a shard's memory windows, at most (per worker). */
#define SCPP_EVAL_MEMWIN_BUSY_MAX 16u

/**
 * A range of a memory window another node is reading (docs/COPY.md
 * "Memory windows on other nodes", "Busy ranges"): while it is taken, a
 * copy into an overlapping range of the window is refused with EBUSY and
 * writes nothing; reads stay allowed.
 */
struct scpp_eval_memwin_busy {
	struct scpp_oid win;   /**< its RmaWindow (nil: the slot is free) */
	uint64_t off, len;     /**< [off, off + len) of the window, len >= 1 */
	uint32_t reader;       /**< the node reading it (named in the refusal) */
	uint32_t gen;          /**< bumped at every take: a stale handle frees nothing */
};

/** The memory windows of a shard: @c n entries of @c win, and their busy ranges. */
struct scpp_eval_memwins {
	struct scpp_eval_memwin *win;
	uint16_t n;
	uint16_t nbusy;        /**< slots of @c busy taken (0: writes skip the check) */
	struct scpp_eval_memwin_busy busy[SCPP_EVAL_MEMWIN_BUSY_MAX];
};

/**
 * Mark [@p off, @p off + @p len) of memory window @p win busy while node
 * @p reader reads it. Ranges may overlap each other (two readers).
 *
 * @return 0 and *@p handle (never 0); -EINVAL (len 0, a range that wraps,
 *   a nil window); -ENOSPC (all SCPP_EVAL_MEMWIN_BUSY_MAX slots taken: the
 *   caller must not start the read).
 */
int scpp_eval_memwin_busy_take(struct scpp_eval_memwins *m, struct scpp_oid win, uint64_t off,
			       uint64_t len, uint32_t reader, uint32_t *handle);

/**
 * Free the range @p handle took. @return true; false for 0, a handle
 * already freed, or one of a slot taken again since (nothing freed).
 */
bool scpp_eval_memwin_busy_release(struct scpp_eval_memwins *m, uint32_t handle);

/**
 * The first busy range of window @p win that overlaps [@p off, @p off +
 * @p len) (half-open: adjacent ranges do not), or NULL. A few loads when
 * nothing is busy.
 */
const struct scpp_eval_memwin_busy *
scpp_eval_memwin_busy_find(const struct scpp_eval_memwins *m, struct scpp_oid win, uint64_t off,
			   uint64_t len);

/**
 * Copy ends another node resolved to a memory window of this shard
 * (scpp_eval_env.remote_memwin; a continuation's MEMORY_WINDOW extensions,
 * docs/PROTOCOL.md §19.1): for copy command @c cmd, row x[i].row's end
 * x[i].dir is x[i].length bytes at x[i].offset of window x[i].window. The
 * evaluator takes such an end only when the address is a map entry whose
 * entity lives on node @c sender (0: the sender's address did not check
 * out), the length is the copy's, the window is one of @c memwins, the
 * session may set (into) or get (out of) its RmaWindow and the range is
 * inside it; each refusal is the row's status (EACCES, ERANGE).
 */
struct scpp_eval_remote_memwin {
	uint16_t cmd;
	uint16_t n;
	const struct scpp_wire_memwin *x;
	uint32_t sender;   /**< the sending node's id, verified by the caller, or 0 */
	/** Bit i: x[i] (out of the window, to be read by another node) found
	 *  no free busy range (SCPP_EVAL_MEMWIN_BUSY_MAX): its copy fails EBUSY. */
	uint32_t unguarded;
};

/** Where a block runs; borrowed for the duration of scpp_eval_block(). */
struct scpp_eval_env {
	struct scpp_store *store;           /**< this core's shard */
	struct scpp_store_dict *dict;       /**< shared attribute dictionary */
	const struct scpp_schema *schema;   /**< NULL: no validation (free-form) */
	struct scpp_oid node;               /**< node/shard id put in statuses */
	uint16_t core;                      /**< core index put in statuses */
	uint64_t (*clock_ns)(void);         /**< monotonic clock for timing and the time
					     *   budget; NULL = none (no time budget) */
	/**
	 * The node's schema publisher, or NULL (a lone shard: a schema change
	 * is returned in scpp_eval_result.new_schema for the caller to adopt).
	 * With it, a block that changes the schema takes the publisher's gate
	 * at its end (-EAGAIN: the block is aborted with EAGAIN, "retry") and
	 * the committed change is submitted for publication to every shard.
	 */
	struct scpp_schema_pub *pub;
	uint16_t worker;                    /**< this worker's index in @p pub */
	uint64_t client_id;                 /**< the requesting client, put in statuses;
					     *   set per block by the caller */
	uint64_t schema_version;            /**< version of @p schema in @p pub */
	/**
	 * Wall clock for the now() operator, in ns since the Unix epoch, read
	 * at most once per block; NULL = clock_gettime(CLOCK_REALTIME) (a vDSO
	 * read, no system call). Tests set a fixed clock here.
	 */
	int64_t (*realtime_ns)(void);
	/** Copy engine for byte-range copies, or NULL (the evaluator copies). */
	const struct scpp_eval_copier *copier;
	/**
	 * Sources of copy command @c remote_src->cmd that another node owns
	 * and resolved for some rows (a continuation's COPY_SOURCE
	 * extensions, docs/COPY.md "Remote and third-party copies"), or NULL:
	 * a copy whose source entity lives elsewhere is then E_NOT_HERE.
	 */
	const struct scpp_eval_remote_src *remote_src;
	/**
	 * This shard's memory windows, or NULL (none): the only RmaWindows an
	 * Extent may name for a copy (an arena window, another shard's or
	 * node's window, or an unknown one is refused with EOPNOTSUPP).
	 */
	const struct scpp_eval_memwins *memwins;
	/** Copy ends other nodes resolved to this shard's memory windows, or NULL. */
	const struct scpp_eval_remote_memwin *remote_memwin;
	/**
	 * The requesting session's compiled authority (docs/SECURITY.md §4),
	 * set per block by the caller like @c client_id; NULL runs the block
	 * unchecked (auth.mode off, or an unauthenticated block in optional
	 * mode). With it, every command is checked before it runs: a denied
	 * command fails with EACCES (EPERM when only the schema right is
	 * missing) and a message naming the missing right, collected by a
	 * status variable or aborting the block; scans and attribute walks
	 * see only what the session may read.
	 */
	const struct scpp_auth_authority *auth;
	/**
	 * Where schema edits are compiled. NULL: here — a block that writes
	 * schema entities builds the change with lib/schema's edit API and
	 * compiles it at its end, checking this shard's instances (this
	 * allocates; a lone shard, tests). Non-NULL (the daemon): the block's
	 * writes to schema entities are checked against the metaschema and
	 * recorded (at most SCPP_EVAL_EDIT_MAX, values copied, nothing
	 * allocated); at its end the block takes the publisher's gate (@c pub,
	 * -EAGAIN: aborted, "retry") and is held before its commit
	 * (SCPP_EVAL_HOLD) in the suspension this returns, for the change to
	 * be compiled and checked elsewhere (scpp_eval_susp_edit()); NULL
	 * returned: no room to wait, the block is aborted (E_LIMIT_PENDING).
	 * scpp_eval_block() then returns 1. Resumed from b->ncmds once the
	 * change is published, the block commits without compiling anything;
	 * scpp_eval_resume_abort() undoes it when the change was refused.
	 * The gate is the caller's from the hold on (submit or abandon it).
	 */
	struct scpp_eval_susp *(*schema_hold)(void *arg, const struct scpp_wire_block *b);
	void *schema_hold_arg;
};

/** Most schema-entity writes one block may make with env.schema_hold. */
#define SCPP_EVAL_EDIT_MAX 256

/** One recorded write to a schema entity (env.schema_hold). */
struct scpp_eval_edit_op {
	uint8_t kind;          /**< enum scpp_eval_edit_kind */
	uint32_t attr;         /**< attribute id (the dictionary's) */
	struct scpp_oid e;     /**< the schema entity */
	struct scpp_value key; /**< map key (MAP_SET; DEL of an entry), else nil */
	struct scpp_value v;   /**< value (SET, MAP_SET) */
};

enum scpp_eval_edit_kind {
	SCPP_EVAL_EDIT_SET = 0,     /**< scpp_schema_edit_set() */
	SCPP_EVAL_EDIT_MAP_SET = 1, /**< scpp_schema_edit_map_set() */
	SCPP_EVAL_EDIT_DEL = 2,     /**< scpp_schema_edit_del() (key nil: a plain attribute) */
};

/** What happened, for counters and the END record. */
struct scpp_eval_result {
	uint8_t outcome;      /**< enum scpp_wire_outcome */
	int code;             /**< abort reason (negative), 0 if not aborted */
	uint32_t err;         /**< canonical errno in END */
	uint64_t rows;        /**< rows returned */
	uint64_t commands;    /**< commands evaluated (all rows) */
	uint64_t steps;       /**< steps used */
	uint32_t statuses;    /**< status objects collected */
	uint16_t failed_cmd;  /**< command index that aborted the block */
	/**
	 * A new schema, when the block changed schema entities (Type and
	 * Attribute entities) and the change committed; this shard's triples
	 * already hold it. With env.pub it has been submitted to the publisher,
	 * which owns it: the caller switches its env.schema to it and adopts
	 * the published version later. Without env.pub the caller owns it.
	 * NULL otherwise.
	 */
	struct scpp_schema *new_schema;
};

/**
 * Create a context with memory for the given limits (binding tables, value
 * arena, undo log). Control thread.
 *
 * @param limits  NULL for defaults.
 * @param socket  NUMA socket for rte_malloc, or -1; ignored with @p use_rte false.
 * @param use_rte true: allocate with rte_malloc (EAL must be up); false: libc.
 * @return the context, or NULL with errno = ENOMEM or EINVAL.
 */
struct scpp_eval_ctx *scpp_eval_ctx_create(const struct scpp_eval_limits *limits,
					   int socket, bool use_rte);

/** Free a context; NULL is a no-op. */
void scpp_eval_ctx_free(struct scpp_eval_ctx *ctx);

/**
 * The context's evaluation arena (where undo copies live), for registering
 * it with a copy engine that takes undo copies (scpp_eval_copier.save).
 * Fixed for the context's life.
 */
void scpp_eval_ctx_arena(const struct scpp_eval_ctx *ctx, void **base, size_t *len);

/** The limits in force (defaults filled in). */
void scpp_eval_ctx_limits(const struct scpp_eval_ctx *ctx, struct scpp_eval_limits *out);

/**
 * Counters of one context, written by the lcore that owns it and readable
 * from any thread (scpp_eval_ctx_stats() reads them with relaxed loads).
 */
struct scpp_eval_stats {
	uint64_t fast_blocks;   /**< blocks whose every command ran on the fast path */
	uint64_t fast_cmds;     /**< commands the fast path ran (in any block) */
	uint64_t fast_restarts; /**< blocks the fast path gave back to the general path
				 *   from the start (an error it leaves to it to report) */
	uint64_t busy_reads;    /**< reads refused (EBUSY) because a held block's copy in
				 *   flight was writing the bytes */
	uint64_t fast_run_cmds; /**< of those, gets collected from the decoder's get run
				 *   (struct scpp_wire_block, get_run) without their
				 *   per-command tests */
	uint64_t fast_hashed;   /**< gets of the fast path looked up with the hash
				 *   scpp_eval_prefetch() computed (scpp_eval_use_prefetch()) */
};

/** The context's counters. */
void scpp_eval_ctx_stats(const struct scpp_eval_ctx *ctx, struct scpp_eval_stats *out);

/**
 * Allow (the default) or forbid the fast path: the leading fully keyed
 * gets of a block evaluated on one row, with burst lookups. Results are
 * the same either way; tests turn it off to compare the two paths.
 * Control path, or the owning lcore between blocks.
 */
void scpp_eval_ctx_fast(struct scpp_eval_ctx *ctx, bool on);

/**
 * Worker, once per loop: if the node's publisher (env.pub) has a newer
 * schema, adopt it: rewrite this shard's schema entities (unless it is the
 * schema this worker submitted itself), switch env.schema and report the
 * adoption. Cost when nothing changed: one acquire load.
 *
 * @return 1 when a new schema was adopted, 0 when nothing changed (or no
 *   publisher), or a negative errno from the store (the shard's schema
 *   entities may then be partly rewritten; env keeps the old schema and the
 *   next call retries).
 */
int scpp_eval_poll_schema(struct scpp_eval_env *env);

/** Most keys scpp_eval_prefetch() prefetches for one block. */
#define SCPP_EVAL_PREFETCH_MAX 16

/** What scpp_eval_prefetch() started, for scpp_eval_prefetch_entries() and
 *  scpp_eval_use_prefetch(): key k (key[k]) is that of command cmd[k] of
 *  block blk, attribute id attr[k], store hash hash[k]; cmd[] increases.
 *  Once scpp_eval_prefetch_entries() ran (has_cand), cand[k] is what the
 *  store found for hash[k] (scpp_store_prefetch_cand()). */
struct scpp_eval_prefetch {
	uint16_t n;
	bool has_cand;
	const struct scpp_wire_block *blk;
	uint16_t cmd[SCPP_EVAL_PREFETCH_MAX];
	uint32_t attr[SCPP_EVAL_PREFETCH_MAX];
	struct scpp_store_key key[SCPP_EVAL_PREFETCH_MAX];
	uint64_t hash[SCPP_EVAL_PREFETCH_MAX];
	struct scpp_store_cand cand[SCPP_EVAL_PREFETCH_MAX];
};

/**
 * Start fetching the store lines scpp_eval_block() will read first for
 * @p b: the index buckets of the gets and sets whose entity and attribute
 * are constants (the fast path's burst and the triples the general path will
 * read after it, up to SCPP_EVAL_PREFETCH_MAX keys).
 * Then, when the buckets have had time to arrive, scpp_eval_prefetch_entries()
 * for the entries. A worker with a burst of blocks calls the first for
 * every block, then the second for every block, then evaluates them, so
 * that their cache misses overlap instead of stalling one after the other.
 * Changes nothing: the results of scpp_eval_block() are the same without it.
 * Attribute names not seen before are skipped (they cost a dictionary lookup).
 *
 * The owning lcore, like scpp_eval_block().
 */
void scpp_eval_prefetch(const struct scpp_eval_ctx *ctx, const struct scpp_eval_env *env,
			const struct scpp_wire_block *b, struct scpp_eval_prefetch *pf);

/** The second half of scpp_eval_prefetch() (see there): prefetches the
 *  entries and, for a block of more than one key, keeps each key's first
 *  candidate (pf->cand, has_cand), from which the fast path's gets start
 *  while the store's index has not changed. */
void scpp_eval_prefetch_entries(const struct scpp_eval_env *env,
				struct scpp_eval_prefetch *pf);

/**
 * Hand @p pf (filled by scpp_eval_prefetch() for block pf->blk with this
 * @p ctx and the env the block will run with) to the next evaluation of
 * @p ctx: if that evaluation is of pf->blk, its fast path looks its gets up
 * with pf's hashes (scpp_store_get_burst_hashed()) instead of hashing each
 * key again, starting from pf's candidates when scpp_eval_prefetch_entries()
 * made them (scpp_store_get_burst_cand(), which falls back to the full
 * lookup when the index changed since, e.g. by an earlier block of the
 * burst), and takes their attribute ids from pf instead of resolving each
 * name again (an id in pf was checked against env.dict, which never drops
 * or renumbers a name); any other block ignores it. The next scpp_eval_block(),
 * _block_ex(), _resume() or _resume_abort() consumes it either way, and
 * @p pf must stay unchanged until then. Results are exactly those without
 * it: a hash is used only for the command and attribute id it was computed
 * for, and a get it does not find sends the block to the general path,
 * which looks every key up itself. @p pf NULL: none.
 */
void scpp_eval_use_prefetch(struct scpp_eval_ctx *ctx, const struct scpp_eval_prefetch *pf);

/**
 * Evaluate @p b against @p env and write the complete reply (COLUMNS, ROWs,
 * STATUSes, END) to @p w.
 *
 * The reply writer must have room for at least the END record
 * (64 bytes); if the rows and statuses do not fit in @p w or in
 * limits.max_result, the block is aborted with E_LIMIT_RESULT and undone,
 * and the reply carries only COLUMNS and END.
 *
 * @param block_id  copied into status objects.
 * @param res       receives the summary; may be NULL.
 * @return 0 when a reply was written (whatever the block's outcome), or
 *   -ENOSPC if @p w cannot even hold COLUMNS and END.
 */
int scpp_eval_block(struct scpp_eval_ctx *ctx, const struct scpp_eval_env *env,
		    const struct scpp_wire_block *b, uint64_t block_id,
		    struct scpp_wire_reply_writer *w, struct scpp_eval_result *res);

/* ---- suspending and resuming a block (docs/ARCHITECTURE.md "Parking") ---- */

/**
 * A block's evaluation can stop between two commands and go on later, on
 * the same shard, after other blocks ran: to wait for another node's rows
 * (a continuation), a DMA completion (copy engines), a schema compiled on
 * the control lcore. What it needs is saved in a struct scpp_eval_susp the
 * caller owns (one per parked block, sized by the caller), and the
 * request stays admitted in lib/delivery meanwhile (scpp_delivery_park()).
 *
 * Semantics. A hook is asked before each command whether to stop there.
 * When it says so, the commands before it are a finished single-shard
 * part: objects created in it are checked as at the end of a block, new
 * attribute names are interned, and its changes are committed (no undo
 * after that: across a suspension a block is not atomic, as across shards,
 * docs/PROTOCOL.md §15). The binding table (every row, its str/bytes
 * values copied), the statuses collected so far and the counters (steps,
 * bytes, commands, elapsed time, charged against the block's limits as if
 * it had not stopped) go to the suspension; nothing is written to the
 * reply. Resumed, the block goes on from the command the caller names
 * with that table, and may stop again; the reply (COLUMNS, ROWs, STATUSes,
 * END) is written when it ends. A block that changed the schema, or whose
 * state does not fit its suspension (E_LIMIT_PENDING), does not stop: the
 * first goes on, the second is aborted like any block over a limit.
 */

/*
 * Holding. A hook may instead answer SCPP_EVAL_HOLD: the block stops as
 * above but the part that ran is *not* committed — its undo log, the
 * objects still to be checked at the end and the list of entities it
 * wrote go to the suspension too, so that the block still commits or
 * aborts as a whole: scpp_eval_resume() goes on (and the end commits
 * everything), scpp_eval_resume_abort() undoes everything and writes the
 * abort reply. With @c at_end set the hook is also asked before the end of
 * the block (cmd == ncmds: before the objects are checked and the changes
 * committed), where only a hold is possible (any answer but GO holds).
 *
 * Isolation while a block is held (other blocks run on the shard): the
 * entities its held part wrote are pinned — a write to one by another
 * block (set, del, alloc, copy or write into it, resize) fails with EBUSY
 * naming it (a status variable may catch it; retrying later succeeds);
 * reads are not blocked and see the held block's uncommitted values
 * (read-uncommitted, for at most delivery.park_timeout_ms), except reads
 * of bytes one of its copies in flight is writing (copier.writing()),
 * which fail with EBUSY naming the value. Cost: one load
 * per write when nothing is held, one hash probe when something is.
 *
 * A part cannot be held — the block then goes on as if the hook had said
 * GO — when it deleted an entity or a map (O(1) deletes become final at
 * the next block's end), wrote attribute names the dictionary does not
 * have yet (their provisional ids are per block), has a schema edit in
 * progress, has more than 1024 undo records, or its entities would take
 * the context's held set over 512 entities. State over the suspension's
 * size aborts the block (E_LIMIT_PENDING), as for a plain stop.
 */

/** What a hook answers before a command. */
enum scpp_eval_verdict {
	SCPP_EVAL_GO = 0,      /**< run the command */
	SCPP_EVAL_SUSPEND = 1, /**< stop before it, committing the part that ran (see above) */
	SCPP_EVAL_HOLD = 2,    /**< stop before it, keeping the part undoable (holding) */
};

/** Hooks of one evaluation (scpp_eval_block_ex()). */
struct scpp_eval_hooks {
	/**
	 * Before command @p cmd, with @p nrows rows in the binding table
	 * (the rows are those the command would get). Not asked before the
	 * command a resumption starts at. Must not call into the evaluator.
	 */
	enum scpp_eval_verdict (*before_cmd)(void *arg, const struct scpp_wire_block *b,
					     uint16_t cmd, size_t nrows);
	void *arg;
	/** Also ask before the end (cmd == b->ncmds), for a hold. */
	bool at_end;
};

/** Saved state of a suspended block (opaque). */
struct scpp_eval_susp;

/**
 * A suspension with room for @p bytes of state: the rows (8 + 24 bytes
 * per variable each), their str/bytes values and the statuses collected
 * (about 330 bytes each). Control path.
 *
 * @return it, or NULL with errno ENOMEM or EINVAL (@p bytes 0 or over 1 GiB).
 */
struct scpp_eval_susp *scpp_eval_susp_create(size_t bytes, int socket, bool use_rte);

/** Free a suspension; NULL is a no-op. */
void scpp_eval_susp_free(struct scpp_eval_susp *s);

/** True while @p s holds a suspended block. */
bool scpp_eval_susp_active(const struct scpp_eval_susp *s);

/**
 * Forget the block suspended in @p s without resuming it (its request
 * expired, its session closed, the worker stops): @p s is inactive
 * afterwards. The part that ran before the stop stays committed; for a
 * hold, its entities are released from @p ctx (the context it was held
 * on) and its changes stay as they are — use scpp_eval_resume_abort() to
 * undo them. NULL or inactive: a no-op.
 */
void scpp_eval_susp_drop(struct scpp_eval_ctx *ctx, struct scpp_eval_susp *s);

/** True while @p s holds a held block (SCPP_EVAL_HOLD). */
bool scpp_eval_susp_held(const struct scpp_eval_susp *s);

/**
 * The schema edit a block held by env.schema_hold waits for: its writes to
 * schema entities in order, values in @p s's memory (valid while @p s is
 * held and not resumed). 0 for any other suspension.
 */
unsigned int scpp_eval_susp_edit(const struct scpp_eval_susp *s,
				 const struct scpp_eval_edit_op **ops);

/**
 * Apply @p n recorded writes to a change of @p cur and compile it, without
 * looking at any instance (scpp_schema_edit_compile()): every shard checks
 * its own instances afterwards. Control thread (allocates).
 *
 * @param out  receives the new schema (the caller's) on success.
 * @param msg  receives the reason on failure (a status message).
 * @return 0; or the status code to answer the block with (-SCPP_E_SCHEMA
 *   for an invalid change, -ENOMEM).
 */
int scpp_eval_edit_compile(const struct scpp_schema *cur, const struct scpp_eval_edit_op *ops,
			   unsigned int n, struct scpp_schema **out, char *msg, size_t size);

/** The command the block stopped before, and the rows it holds (active only). */
uint16_t scpp_eval_susp_next_cmd(const struct scpp_eval_susp *s);
size_t scpp_eval_susp_nrows(const struct scpp_eval_susp *s);

/**
 * scpp_eval_block() with hooks: when @p hooks->before_cmd answers
 * SCPP_EVAL_SUSPEND, the block is suspended into @p s (which must not be
 * active) and 1 is returned, with nothing in @p w and @p res counting what
 * ran so far. Otherwise as scpp_eval_block(). @p hooks NULL: no suspension.
 * The fast path does not run with hooks.
 */
int scpp_eval_block_ex(struct scpp_eval_ctx *ctx, const struct scpp_eval_env *env,
		       const struct scpp_wire_block *b, uint64_t block_id,
		       struct scpp_wire_reply_writer *w, struct scpp_eval_result *res,
		       const struct scpp_eval_hooks *hooks, struct scpp_eval_susp *s);

/**
 * Go on with the block suspended in @p s, from command @p from (at least
 * the one it stopped before; equal: run that command now; greater: skip
 * the commands in between, which the caller has done some other way).
 * @p b is the same decoded block, its memory kept by the caller. @p s is
 * inactive afterwards unless the block stops again (returns 1).
 *
 * @return as scpp_eval_block_ex(), or -EINVAL (@p s not active, @p from out
 *   of range, or another block: other variables).
 */
int scpp_eval_resume(struct scpp_eval_ctx *ctx, const struct scpp_eval_env *env,
		     const struct scpp_wire_block *b, uint64_t block_id,
		     struct scpp_wire_reply_writer *w, struct scpp_eval_result *res,
		     const struct scpp_eval_hooks *hooks, struct scpp_eval_susp *s, uint16_t from);

/**
 * End the block suspended in @p s without going on: a held part is undone
 * whole (a plain stop's committed part stays), and the reply is COLUMNS,
 * one STATUS with @p code and message @p msg (reported at the command the
 * block stopped before), END (aborted). @p s is inactive afterwards.
 *
 * @return 0 (reply written), -ENOSPC as scpp_eval_block(), or -EINVAL
 *   (@p s not active, @p code not negative, or another block).
 */
int scpp_eval_resume_abort(struct scpp_eval_ctx *ctx, const struct scpp_eval_env *env,
			   const struct scpp_wire_block *b, uint64_t block_id,
			   struct scpp_wire_reply_writer *w, struct scpp_eval_result *res,
			   struct scpp_eval_susp *s, int code, const char *msg);

/* ---- continuations: splitting a block across shards (docs/PROTOCOL.md §19) ---- */

/**
 * A read-only view of a binding table: the rows a command is about to get
 * (scpp_eval_ctx_rows(), during a hook) or the rows a suspension holds
 * (scpp_eval_susp_rows()). Valid until the evaluation or the suspension
 * changes; read it with scpp_eval_row_where().
 */
struct scpp_eval_rows {
	const uint8_t *tab;  /**< the rows, back to back (layout private to lib/eval) */
	size_t n;            /**< rows */
	size_t stride;       /**< bytes per row */
};

/**
 * The rows of the block being evaluated on @p ctx, during a call of its
 * hook's before_cmd (they are the rows the command would get).
 *
 * @return 0, or -EINVAL (no hook is being asked).
 */
int scpp_eval_ctx_rows(const struct scpp_eval_ctx *ctx, struct scpp_eval_rows *out);

/** The rows a suspension holds. @return 0, or -EINVAL (@p s not active). */
int scpp_eval_susp_rows(const struct scpp_eval_susp *s, struct scpp_eval_rows *out);

/** Where a row must run a command (scpp_eval_row_where()). */
enum scpp_eval_where {
	/** Here: the command has no entity position, its entity is not an
	 *  OID, is well-known, or is an OID of shard @p here. */
	SCPP_EVAL_HERE = 0,
	/** On another shard: the entity's OID has another shard's prefix. */
	SCPP_EVAL_THERE = 1,
	/** Everywhere: a get whose entity is an unbound variable (a scan, ⊤). */
	SCPP_EVAL_ANY = 2,
};

/**
 * Where row @p i of @p rows must run command @p cmd of @p b. The command's
 * entity is its first entity position (docs/PROTOCOL.md §17): the ENT term
 * of get/set/alloc/del/resize, or the entity of the VALUE term at the
 * bottom of the first address of copy/write (through any offset()s);
 * create, let, where and assert have none. A constant stands for itself, a
 * variable for its value in the row. Cost: a few loads.
 *
 * @param here   the shard evaluating the block (env.node).
 * @param owner  THERE: receives the owning shard's /64 (locale, node,
 *               shard, 0, 0). May be NULL.
 */
enum scpp_eval_where scpp_eval_row_where(const struct scpp_wire_block *b, uint16_t cmd,
					 const struct scpp_eval_rows *rows, size_t i,
					 struct scpp_oid here, struct scpp_oid *owner);

/** One end of a copy row (scpp_eval_row_copy_end()). */
struct scpp_eval_copy_end {
	struct scpp_oid e;   /**< the entity at the bottom of the address */
	bool keyed;          /**< the address is a map entry (a VMA) */
	uint64_t len;        /**< the copy's length */
};

/**
 * Row @p i's end @p end (0 the destination, 1 the source) of copy command
 * @p cmd: its address's entity (a constant or a bound variable holding an
 * OID), whether the address is a map entry, and the copy's length.
 *
 * @return 0; -EOPNOTSUPP (the entity or the length is not one); -EINVAL
 *   (not a copy, no such row, @p end not 0 or 1).
 */
int scpp_eval_row_copy_end(const struct scpp_wire_block *b, uint16_t cmd,
			   const struct scpp_eval_rows *rows, size_t i, unsigned int end,
			   struct scpp_eval_copy_end *out);

/**
 * Whether end @p end (0 the destination, 1 the source) of copy command
 * @p cmd is a map-entry address (`value(e, m[k])` under any `offset()`s,
 * a VMA the owner's evaluation rewrites): a property of the command's
 * terms, the same for every row. A destination's owner uses it to refuse a
 * COPY_SOURCE of the wrong kind (an arena window for a rewritten source, a
 * memory window for a plain one) before it posts any READ.
 *
 * @return 1 a map entry, 0 not; -EINVAL (not a copy, @p end not 0 or 1).
 */
int scpp_eval_cmd_copy_keyed(const struct scpp_wire_block *b, uint16_t cmd, unsigned int end);

/** A copy row's source address, as scpp_eval_row_copy_src() reads it. */
struct scpp_eval_copy_src {
	struct scpp_oid e;     /**< the source entity */
	const char *attr;      /**< its attribute's name (in the block) */
	uint32_t attr_len;
	uint64_t off;          /**< the offsets' sum */
	uint64_t len;          /**< the copy's length */
};

/**
 * Row @p i's source address of copy command @p cmd when it is plain:
 * `offset(...(value(e, "attr"), n)...)` with e, each n and the length
 * constants or variables bound in the row (the node that owns e turns it
 * into a window address, docs/COPY.md "Remote and third-party copies").
 *
 * @return 0; -EOPNOTSUPP (another form: a map entry, an unbound or
 *   mistyped term, offsets that wrap); -EINVAL (not a copy, no such row).
 */
int scpp_eval_row_copy_src(const struct scpp_wire_block *b, uint16_t cmd,
			   const struct scpp_eval_rows *rows, size_t i,
			   struct scpp_eval_copy_src *out);

/**
 * Row @p i's copy (command @p cmd) as far as a window end, evaluated on
 * @p env with @p ctx's budget as the copy would be (docs/COPY.md "Memory
 * windows on other nodes"): exactly one end an address rewritten through
 * a map entry to an RmaWindow + offset that is not one of env->memwins,
 * the rewrite's and the Extent's rights granted to env->auth, the range
 * inside the Extent, a length of 1..2^32-1. Fills @p out (row = @p i,
 * the direction, window, window offset and length) for a MEMORY_WINDOW
 * extension. Reads the store; charges nothing to @p ctx.
 *
 * @return 0; -EOPNOTSUPP (no such end: no map entry, no window, both ends
 *   windows, a memory window of this shard); -EINVAL (not a copy, no such
 *   row); or the failure the copy would meet (-EACCES, -ERANGE, -E2BIG,
 *   -ENOENT, -SCPP_E_NOT_HERE, ...): the row then runs here, and fails so.
 */
int scpp_eval_row_copy_memwin(struct scpp_eval_ctx *ctx, const struct scpp_eval_env *env,
			      const struct scpp_wire_block *b, uint16_t cmd,
			      const struct scpp_eval_rows *rows, size_t i,
			      struct scpp_wire_memwin *out);

/**
 * Might block @p b, evaluated on shard @p here, have rows that must run a
 * command elsewhere? True when a command's entity position holds a
 * variable, or a constant OID of another shard (not well-known), or a copy
 * has a map-entry address (it may lead to another node's memory window,
 * scpp_eval_row_copy_memwin()). A look at
 * the decoded block, no rows: for deciding whether to watch it at all.
 */
bool scpp_eval_block_may_split(const struct scpp_wire_block *b, struct scpp_oid here);

/** Why scpp_eval_block_may_split() says so: a command's entity position
 *  (SCPP_EVAL_SPLIT_ENTITY), a copy's map-entry address (SCPP_EVAL_SPLIT_VMA,
 *  which matters only where another node has a memory window), both, or 0. */
#define SCPP_EVAL_SPLIT_ENTITY 1u
#define SCPP_EVAL_SPLIT_VMA 2u
unsigned int scpp_eval_block_split_why(const struct scpp_wire_block *b, struct scpp_oid here);

/** Most owners one command's rows are split between (scpp_eval_susp_split()). */
#define SCPP_EVAL_SPLIT_OWNERS 16

/**
 * How the rows of a suspension divide before the command it stopped at:
 * row indexes (ascending within each list) in the caller's @c idx array.
 */
struct scpp_eval_split {
	uint32_t nhere;          /**< rows that stay: idx[0 .. nhere) (ANY rows included) */
	uint32_t nany;           /**< of them, rows whose entity is unbound (⊤) */
	uint32_t nover;          /**< rows of owners beyond SCPP_EVAL_SPLIT_OWNERS
				  *   (they stay, and meet E_NOT_HERE) */
	uint16_t nowners;        /**< owners with rows to ship */
	struct {
		struct scpp_oid owner; /**< the shard's /64 */
		uint32_t first;        /**< its rows: idx[first .. first + n) */
		uint32_t n;
	} part[SCPP_EVAL_SPLIT_OWNERS]; /**< in order of each owner's first row */
};

/**
 * Divide the rows of suspension @p s (of block @p b) by where they must run
 * the command it stopped before (scpp_eval_row_where()).
 *
 * @param idx      receives the row indexes; room for @p idx_cap.
 * @param idx_cap  at least 2 x the rows of @p s.
 * @return 0, -EINVAL (@p s not active, another block), -ENOSPC (@p idx too small).
 */
int scpp_eval_susp_split(const struct scpp_eval_susp *s, const struct scpp_wire_block *b,
			 struct scpp_oid here, uint32_t *idx, size_t idx_cap,
			 struct scpp_eval_split *out);

/**
 * A caller's second opinion on a row scpp_eval_row_where() runs HERE: true
 * (and the owning shard's /64 in *@p owner) sends it there instead (a copy
 * into another node's memory window goes to the window's shard).
 */
typedef bool (*scpp_eval_where_fn)(void *arg, const struct scpp_wire_block *b, uint16_t cmd,
				   const struct scpp_eval_rows *rows, size_t i,
				   struct scpp_oid *owner);

/** scpp_eval_susp_split() with @p there (may be NULL) asked for each HERE row. */
int scpp_eval_susp_split_ex(const struct scpp_eval_susp *s, const struct scpp_wire_block *b,
			    struct scpp_oid here, scpp_eval_where_fn there, void *arg,
			    uint32_t *idx, size_t idx_cap, struct scpp_eval_split *out);

/**
 * Keep only rows @p idx[0 .. n) (ascending, distinct) of suspension @p s, in
 * that order: the rows that stay after the others were shipped. n = 0 is
 * allowed (the block goes on with no rows, and ends with none of its own).
 *
 * @return 0, or -EINVAL (@p s not active, an index out of range or out of order).
 */
int scpp_eval_susp_keep(struct scpp_eval_susp *s, const uint32_t *idx, size_t n);

/**
 * Drop the rows of suspension @p s (of block @p b) whose entity at command
 * @p cmd — a variable, bound by it — is a well-known OID (high half zero):
 * what a shard that scanned its own store for a ⊤ fan-out (PROTOCOL.md
 * §19.3, EVERY) must not report, since every shard holds those and the
 * origin reports them once. @p idx: room for the rows.
 *
 * @return rows dropped (0 also when the entity is not a variable),
 *   -EINVAL (@p s not active, another block, @p cmd out of range),
 *   -ENOSPC (@p idx_cap below the rows).
 */
long scpp_eval_susp_keep_owned(struct scpp_eval_susp *s, const struct scpp_wire_block *b,
			       uint16_t cmd, uint32_t *idx, size_t idx_cap);

/**
 * Encode rows @p idx[0 .. n) of suspension @p s in the CONT row format
 * (docs/PROTOCOL.md §19.1: a u64 bound mask, then the bound values).
 *
 * @return bytes written, -ENOSPC (@p size too small: nothing useful
 *   written), or -EINVAL (@p s not active, an index out of range).
 */
long scpp_eval_susp_rows_encode(const struct scpp_eval_susp *s, const uint32_t *idx, size_t n,
				uint8_t *buf, size_t size);

/**
 * Fill inactive suspension @p s from continuation @p c (whose block @p b
 * the caller decoded from c->block): its rows, no statuses, counters at
 * zero, stopped before command c->start. Then scpp_eval_resume(..., s,
 * c->start) evaluates the rest of the block for those rows: this is how
 * the owner runs a continuation. The rows' str/bytes values are copied
 * into @p s; @p c's message may go afterwards.
 *
 * @return 0, -EINVAL (@p s active, @p c's nvars not @p b's, c->start not
 *   below b->ncmds), -SCPP_E_LIMIT_PENDING (the rows do not fit @p s),
 *   -SCPP_E_BAD_FLAGS (rows that bind different variables, in a block
 *   where every row binds the same ones), or a row decoding error of
 *   scpp_wire_cont_row_next().
 */
int scpp_eval_susp_load(struct scpp_eval_susp *s, const struct scpp_wire_block *b,
			const struct scpp_wire_cont *c);

#endif /* SCPP_EVAL_H */
