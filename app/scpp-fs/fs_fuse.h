/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef FS_FUSE_H
#define FS_FUSE_H

/*
 * scpp-fs daemon: the FUSE (libfuse3 low-level) side. fs_main.c parses the
 * command line, finds or makes the volume and runs the session; fs_ops.c
 * implements each FUSE operation as one call of a builder of fs_core.h
 * (one block, one round trip); fs_nodes.c keeps the table of FUSE node ids
 * (what the kernel holds) to the OIDs of the inodes they name.
 *
 * The session loop is multi-threaded (fuse_session_loop_mt, -o
 * max_threads=N): each FUSE thread works with a context of its own (struct
 * fsd: its lib/client and session, block, reply and buffers), taken from
 * the mount's pool at the thread's first request and given back when the
 * thread ends (fs_ctx.c; libfuse runs at most max_threads threads, as many
 * as there are contexts); what the threads share is the node table (with
 * its lock) and the read-only mount parameters.
 */

/* 3.12: fuse_loop_cfg_*() (max_threads); libfuse 3.14 here (scripts/deps.sh). */
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "fs_core.h"
#include "scpp_client.h"

/** Most bytes of data one write block carries: what fits
 *  SCPP_WIRE_FRAGS_MAX datagrams of -o scpp_dgram (write_max()), up to
 *  this, half of FSD_REQ_MAX: with jumbo datagrams (-o scpp_dgram=8972,
 *  ~560 KiB of room) a 1 MiB write is two blocks instead of eight. The
 *  node's bounds hold it: 64 fragments (delivery.max_fragments' default
 *  and most), a value of at most one chunk (store.max_value_bytes), well
 *  inside eval.max_bytes (docs/FS.md §3). */
#define FSD_WRITE_MAX (512u * 1024)
/** Smallest -o scpp_dgram. */
#define FSD_DGRAM_MIN 512u
/** Most -o max_threads. */
#define FSD_THREADS_MAX 64u
/** Times a block aborted by the node's time budget is sent again. */
#define FSD_ETIME_RETRIES 3
/** Default -o readdir_span N: a readdir block reads 2^N to 2^(N+1) pages
 *  of names (8 to 16, ~600 names: a fraction of the node's default 1 ms per
 *  block here), a readdirplus block, whose names come with their stat (3x
 *  the commands per name), 2^(N-2) to 2^(N-1) (fsd_plus_span()). */
#define FSD_READDIR_SPAN 3u

/** The span of readdirplus blocks for -o readdir_span=@p n. */
static inline unsigned int
fsd_plus_span(unsigned int n)
{
	return n >= 2 ? n - 2 : 0;
}
/** Bytes one read block asks for. */
#define FSD_READ_MAX (128u * 1024)
/** Most bytes of one FUSE read or write request (the kernel's max_write and
 *  max_readahead; max_pages 256): the daemon cuts it into blocks of
 *  write_max or FSD_READ_MAX bytes and keeps them in flight together
 *  (scpp_client_exec_many(), docs/FS.md §3 "Data larger than one block"). */
#define FSD_REQ_MAX (1024u * 1024)
/** Default -o readahead_kb: the kernel's read-ahead of the mount (its bdi's
 *  read_ahead_kb, 128 by default), so that a sequential read is requests
 *  of FSD_REQ_MAX bytes. */
#define FSD_READAHEAD_KB 1024u

/** One node the kernel knows: FUSE node id -> OID. */
struct fsd_node {
	struct scpp_oid oid;
	uint64_t nlookup;      /**< lookups the kernel has not forgotten */
	uint64_t generation;   /**< bumped each time the slot is reused */
	uint32_t nopen;        /**< file handles open on it (open/create - release) */
	uint64_t nocap_until;  /**< CLOCK_MONOTONIC ns: no security.capability until then */
	struct fs_attr attr;   /**< the attribute slot: what a change through this mount left */
	uint64_t attr_until;   /**< CLOCK_MONOTONIC ns: attr answers one getattr until then */
	uint64_t attr_gen;     /**< bumped by every put and drop (a put checks it) */
	uint64_t attr_epoch;   /**< the table's attr_epoch when attr was put */
	bool used;
	bool unlinked;         /**< its last link went while the kernel held it */
	/* The kernel's readdir cache of a directory (docs/FS.md §3). */
	uint32_t dir_open;     /**< directory handles: from opendir's start to releasedir */
	bool rd_valid;         /**< the kernel's cache can only hold the listing at rd_gen */
	uint64_t rd_gen;       /**< Directory.gen of the opendir that (re)started the cache */
};

struct fsd_nodes {
	pthread_mutex_t lock;  /**< every fsd_node_*() call holds it (FUSE threads) */
	uint64_t nopen;        /**< file handles open (all nodes) */
	uint64_t attr_epoch;   /**< bumped to empty every attribute slot at once */
	struct fsd_node *v;    /**< index = node id; 1 = FUSE_ROOT_ID */
	size_t n, cap;
	uint64_t *free_ids;    /**< slots to reuse */
	size_t nfree, free_cap;
	uint32_t *hash;        /**< open addressing: node id, 0 = empty */
	size_t hcap;           /**< power of two */
	size_t hused;          /**< slots holding an id or a tombstone */
};

/** Mount options (-o and flags). */
struct fsd_opts {
	char *server;
	char *root;            /**< --root: "@OID" (a Directory) or a volume name */
	char *volume;          /**< -o volume=NAME (default "default") */
	double attr_timeout;   /**< -o attr_timeout=S (default 1.0) */
	double entry_timeout;  /**< -o entry_timeout=S (default 1.0) */
	unsigned int chunk;    /**< -o chunk=BYTES, for a new volume */
	unsigned int timeout_ms; /**< -o scpp_timeout_ms=MS: lib/client's first try */
	unsigned int retries;  /**< -o scpp_retries=N */
	unsigned int dgram;    /**< -o scpp_dgram=BYTES: lib/client's max_dgram */
	char *key;             /**< -o key=FILE: the session's principal key */
	char *chain;           /**< -o chain=FILE[:FILE...]: grant chains */
	char *node_key;        /**< -o node_key=HEX|FILE: the node expected */
	int no_auth;           /**< -o no_auth: unauthenticated blocks */
	int noatime;
	int writeback;         /**< -o writeback_cache: the kernel's write-back cache (opt-in) */
	unsigned int max_threads; /**< -o max_threads=N: contexts, so blocks in flight (default 4) */
	unsigned int readdir_span; /**< -o readdir_span=N: a listing block reads 2^N.. pages */
	unsigned int readahead_kb; /**< -o readahead_kb=N: the mount's read-ahead (0: the kernel's) */
	int show_help;
};

/** Page snapshots kept for negative entries (fs_neg.c). */
#define FSD_NEG_PAGES 64

/** A directory page as a listing read it, with this mount's changes since. */
struct fsd_negpage {
	struct scpp_oid dir;
	uint64_t pk;           /**< page key (1 << l) | i: it holds the h with low bits i */
	uint64_t until;        /**< CLOCK_MONOTONIC ns: entry_timeout after its block was sent */
	uint64_t *h;           /**< the names' h, sorted; NULL: a free slot */
	size_t n, cap;
};

/** A directory where a lookup found nothing, and when. */
struct fsd_negmiss {
	struct scpp_oid dir;
	uint64_t at;           /**< CLOCK_MONOTONIC ns; 0: a free slot */
};

/** Negative entries (docs/FS.md §3): snapshots of pages, shared by the threads. */
struct fsd_neg {
	struct fsd_negmiss miss[FSD_NEG_PAGES]; /**< the last misses (fsd_neg_miss()) */
	pthread_mutex_t lock;
	uint64_t gen;          /**< bumped before every change of names is sent */
	struct fsd_negpage p[FSD_NEG_PAGES];
	uint64_t hits;         /**< lookups answered "absent" from a snapshot */
	uint64_t puts;         /**< snapshots taken */
	uint64_t refused;      /**< snapshots refused: a change was sent meanwhile */
};

struct fsd;

/** What the FUSE threads of one mount share. */
struct fsd_shared {
	struct fsd_nodes nodes;
	struct fsd_neg neg;            /**< negative entries (fs_neg.c) */
	pthread_mutex_t lock;          /**< the pool */
	pthread_cond_t cond;
	pthread_key_t key;             /**< the calling thread's context */
	struct fsd **all;              /**< every context; all[0] is the main one */
	size_t nall;
	struct fsd **free;             /**< contexts no thread holds */
	size_t nfree;
	size_t used_max;               /**< most contexts held by threads at once */
	struct fuse_session *se;       /**< for notifications to the kernel */
};

/** The daemon: one context per FUSE thread (fs_ctx.c), the first the main one. */
struct fsd {
	struct fsd_opts o;             /**< the main context's (others share its strings) */
	struct fsd_shared *sh;
	struct scpp_client_config cc;  /**< kept to open the next session's client */
	struct scpp_client *cl;
	bool session;                  /**< cl has a session */
	uint64_t session_expires_ns;
	struct scpp_client_reply cr;   /**< the last exchange's message (rep borrows it) */
	struct fs_reply rep;
	struct scpp_wire_block *blk;   /**< large: on the heap */
	struct fs_vol vol;
	uint8_t *io;                   /**< read assembly buffer, FSD_READ_MAX */
	uint64_t ops, errors_logged;
	bool main;                     /**< the main context (owns o's strings) */
	struct {
		uint64_t blocks, max_commands, max_rows;
		uint64_t requests;     /**< FUSE requests of this kind the kernel sent */
		uint64_t exchange_ns;  /**< wall clock in lib/client's exchanges (a batch: once) */
	} opst[FS_OP_COUNT];           /**< per operation, from the replies' END */
	uint64_t nocap_hits;           /**< getxattr(security.capability) answered from the cache */
	uint64_t attr_hits;            /**< getattr answered from the attribute slot */
	uint64_t etime_retries;        /**< blocks sent again after E_LIMIT_TIME */
	uint64_t rebalances;           /**< page splits and merges applied */
	uint64_t pages_read;           /**< directory intervals listed (listing fetches) */
	uint64_t list_smaller;         /**< listing spans lowered after a block met a limit */
	unsigned int list_span[2];     /**< the span this context's readdir [0] and
					    readdirplus [1] blocks ask for */
	unsigned int list_ok[2];       /**< listings at list_span since it was lowered */
	uint32_t write_max;            /**< bytes of data per write block */
	/* Batches (fsd_exec_many()): blocks of one request in flight together. */
	struct scpp_wire_block *bblk[SCPP_CLIENT_BATCH_MAX]; /**< made at the first batch */
	struct fsb bf[SCPP_CLIENT_BATCH_MAX];
	struct scpp_client_reply bcr[SCPP_CLIENT_BATCH_MAX];
	uint64_t neg_blocks;           /**< page snapshots read for negative entries */
	uint64_t dir_cached;           /**< opendirs answered "keep the kernel's listing" */
	uint64_t dir_relist;           /**< opendirs answered "drop it, list again" */
	uint64_t flushes;              /**< FLUSH requests (none unless -o writeback_cache) */
	uint64_t batches;              /**< requests sent as a batch of blocks */
	uint64_t batch_blocks;         /**< blocks of those batches */
	uint64_t batch_max;            /**< most blocks of one batch */
};

/* ---- nodes (fs_nodes.c) ---- */

int fsd_nodes_init(struct fsd_nodes *t, struct scpp_oid root);
void fsd_nodes_free(struct fsd_nodes *t);
/** The node for @p oid, its nlookup incremented (made if new); 0 on ENOMEM. */
fuse_ino_t fsd_node_ref(struct fsd_nodes *t, struct scpp_oid oid, uint64_t *generation);
/** The OID of node @p ino; false for an id the kernel should not hold. */
bool fsd_node_oid(struct fsd_nodes *t, fuse_ino_t ino, struct scpp_oid *oid);
/** The node id of @p oid if the kernel holds it, else 0. */
fuse_ino_t fsd_node_find(struct fsd_nodes *t, struct scpp_oid oid);
/** A file handle opened (@p k 1) or released (-1) on node @p ino. */
void fsd_node_open(struct fsd_nodes *t, fuse_ino_t ino, int k);
/** File handles open on all nodes. */
uint64_t fsd_nodes_open(struct fsd_nodes *t);
/** Mark the node of @p oid as having lost its last link; false if the kernel
 *  does not hold it. */
bool fsd_node_mark_unlinked(struct fsd_nodes *t, struct scpp_oid oid);
/**
 * The security.capability cache (docs/FS.md §3): the kernel asks for that
 * attribute before every write(2). fsd_node_nocap() says whether node @p ino
 * is known not to have it (learned at most attr_timeout ago, by
 * fsd_node_nocap_set() with @p until the time the fact expires; 0 forgets
 * it: a set or removal of an xattr of the node through this mount).
 */
bool fsd_node_nocap(struct fsd_nodes *t, fuse_ino_t ino, uint64_t now);
void fsd_node_nocap_set(struct fsd_nodes *t, fuse_ino_t ino, uint64_t until);
/**
 * The attribute slot (docs/FS.md §3): a create, mkdir, mknod, symlink,
 * unlink or rmdir through this mount leaves the parent directory's
 * attributes as its block returned them (fsd_node_attr_put(), expiring at
 * @p until: attr_timeout later); the kernel, which invalidated them, asks
 * for them right after (its permission check of the next path walk), and
 * fsd_node_attr_take() answers that getattr once, clearing the slot. Any
 * other request that may change the node clears it (fsd_node_attr_drop()).
 */
/** The slot's generation, read before the block whose reply is put. */
uint64_t fsd_node_attr_gen(struct fsd_nodes *t, fuse_ino_t ino);
/** Fills the slot if its generation is still @p gen (nothing put or dropped
 *  since the block was sent: no concurrent change of this mount can be older
 *  than it), else empties it. */
void fsd_node_attr_put(struct fsd_nodes *t, fuse_ino_t ino, const struct fs_attr *a,
		       uint64_t until, uint64_t gen);
bool fsd_node_attr_take(struct fsd_nodes *t, fuse_ino_t ino, uint64_t now, struct fs_attr *a,
			uint64_t *left);
void fsd_node_attr_drop(struct fsd_nodes *t, fuse_ino_t ino);
/** Empty every slot (a rename or rmdir: directories the kernel did not name change). */
void fsd_nodes_attr_drop_all(struct fsd_nodes *t);
/**
 * The kernel's readdir cache (docs/FS.md §3 "Readdir cache").
 * fsd_node_dir_begin(): an opendir of node @p ino starts (before its
 * block). fsd_node_dir_open(): its block found generation @p gen; true
 * when the kernel may serve the listing from its cache (what it holds can
 * only be the listing at @p gen), else the kernel is told to drop it and
 * the listing that follows restarts it at @p gen -- trusted only when no
 * other handle of the directory is open (one opened earlier may still add
 * an older listing's entries). fsd_node_dir_end(): a handle was released,
 * or its opendir failed; @p drop: its reply did not reach the kernel, so
 * the kernel's cache was not dropped either (never trust it again).
 */
void fsd_node_dir_begin(struct fsd_nodes *t, fuse_ino_t ino);
bool fsd_node_dir_open(struct fsd_nodes *t, fuse_ino_t ino, uint64_t gen);
void fsd_node_dir_end(struct fsd_nodes *t, fuse_ino_t ino, bool drop);
/** Drop @p n lookups; returns true when the node is gone (then *@p oid and
 *  *@p unlinked say what it was). */
bool fsd_node_forget(struct fsd_nodes *t, fuse_ino_t ino, uint64_t n, struct scpp_oid *oid,
		     bool *unlinked);

/* ---- negative entries (fs_neg.c) ---- */

void fsd_neg_init(struct fsd_neg *n);
void fsd_neg_free(struct fsd_neg *n);
/** The generation a snapshot's block is sent under (fsd_neg_put()). */
uint64_t fsd_neg_gen(struct fsd_neg *n);
/** A change of names (create, link, unlink, rename, ...) is about to be sent. */
void fsd_neg_bump(struct fsd_neg *n);
/** Is name hash @p h known to be absent from @p dir (a fresh snapshot covers
 *  it and does not hold it)? Then *@p left is the snapshot's validity left. */
bool fsd_neg_absent(struct fsd_neg *n, struct scpp_oid dir, uint64_t h, uint64_t now,
		    uint64_t *left);
/** Keep the listing of page @p pk of @p dir (the @p nh hashes of its names)
 *  until @p until, unless a change was sent since generation @p gen. */
void fsd_neg_put(struct fsd_neg *n, struct scpp_oid dir, uint64_t pk, const uint64_t *h,
		 size_t nh, uint64_t until, uint64_t gen);
/** A lookup in @p dir found nothing at @p now: true when an earlier one did
 *  within @p window ns (then its page is worth a snapshot). */
bool fsd_neg_miss(struct fsd_neg *n, struct scpp_oid dir, uint64_t now, uint64_t window);
/** A change of this mount succeeded: name hash @p h was made (@p add) or
 *  removed in @p dir; the snapshots that cover it follow. */
void fsd_neg_change(struct fsd_neg *n, struct scpp_oid dir, uint64_t h, bool add);

/* ---- contexts (fs_ctx.c) ---- */

/** Share @p main (volume open, session made) with @p n - 1 more contexts,
 *  each with a client and a session of its own. 0 or a negative errno. */
int fsd_pool_init(struct fsd *main, struct fsd_shared *sh, unsigned int n);
/** Free every context but the main one. */
void fsd_pool_free(struct fsd *main);
/** The calling thread's context (taken from the pool at its first call). */
struct fsd *fsd_self(struct fsd *main);

/* ---- sessions (fs_auth.c) ---- */

/** Open a session when a key is found (0 also when there is none). */
int fsd_session(struct fsd *d);
/** Before a block: a new session (and client) when this one nears its expiry. */
void fsd_session_renew(struct fsd *d);

/* ---- operations (fs_ops.c) ---- */

extern const struct fuse_lowlevel_ops fsd_ops;

/** Run the block in d->blk (built through @p f): 0 or the local errno. */
int fsd_exec(struct fsd *d, struct fsb *f, enum fs_op op);
/** Called by fsd_exec_many() for block @p i whose reply (in d->rep) succeeded. */
typedef void (*fsd_each_fn)(struct fsd *d, unsigned int i, void *arg);
/**
 * Run the @p n blocks built in d->bf[0 .. n) (on d->bblk[], see
 * fsd_batch_blocks()) with all of them in flight at once; for each, in
 * order, the local errno in @p err[i] and, on success, @p each. A block
 * aborted by the node's time budget is sent again alone. Returns the
 * number of blocks that succeeded in a row from the first.
 */
unsigned int fsd_exec_many(struct fsd *d, unsigned int n, enum fs_op op, int *err,
			   fsd_each_fn each, void *arg);
/** Make d->bblk[] (once): 0 or ENOMEM. */
int fsd_batch_blocks(struct fsd *d);
/** Free what fsd_batch_blocks() made. */
void fsd_batch_free(struct fsd *d);
/** One line per operation kind (blocks, most commands and rows of one, over
 *  every context of the mount) on @p out. */
void fsd_stats_print(const struct fsd *main, FILE *out);

#endif /* FS_FUSE_H */
