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
 * The session loop is single-threaded: one lib/client, one block in flight.
 */

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "fs_core.h"
#include "scpp_client.h"

/** Most bytes of data one write block carries (the kernel's max_write is
 *  what fits SCPP_WIRE_FRAGS_MAX datagrams of -o scpp_dgram, up to this). */
#define FSD_WRITE_MAX (128u * 1024)
/** Smallest -o scpp_dgram. */
#define FSD_DGRAM_MIN 512u
/** Times a block aborted by the node's time budget is sent again. */
#define FSD_ETIME_RETRIES 3
/** Bytes one read block asks for (the kernel's max_read). */
#define FSD_READ_MAX (128u * 1024)

/** One node the kernel knows: FUSE node id -> OID. */
struct fsd_node {
	struct scpp_oid oid;
	uint64_t nlookup;      /**< lookups the kernel has not forgotten */
	uint64_t generation;   /**< bumped each time the slot is reused */
	uint32_t nopen;        /**< file handles open on it (open/create - release) */
	bool used;
	bool unlinked;         /**< its last link went while the kernel held it */
};

struct fsd_nodes {
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
	int show_help;
};

/** The daemon. */
struct fsd {
	struct fsd_opts o;
	struct scpp_client_config cc;  /**< kept to open the next session's client */
	struct scpp_client *cl;
	bool session;                  /**< cl has a session */
	uint64_t session_expires_ns;
	struct scpp_client_reply cr;   /**< the last exchange's message (rep borrows it) */
	struct fs_reply rep;
	struct scpp_wire_block *blk;   /**< large: on the heap */
	struct fs_vol vol;
	struct fsd_nodes nodes;
	uint8_t *io;                   /**< read assembly buffer, FSD_READ_MAX */
	uint64_t ops, errors_logged;
	struct {
		uint64_t blocks, max_commands, max_rows;
	} opst[FS_OP_COUNT];           /**< per operation, from the replies' END */
	uint64_t etime_retries;        /**< blocks sent again after E_LIMIT_TIME */
	uint64_t rebalances;           /**< page splits and merges applied */
	uint64_t pages_read;           /**< directory pages listed */
	uint64_t nopen;                /**< file handles open (all nodes) */
	uint32_t write_max;            /**< bytes of data per write block */
};

/* ---- nodes (fs_nodes.c) ---- */

int fsd_nodes_init(struct fsd_nodes *t, struct scpp_oid root);
void fsd_nodes_free(struct fsd_nodes *t);
/** The node for @p oid, its nlookup incremented (made if new); 0 on ENOMEM. */
fuse_ino_t fsd_node_ref(struct fsd_nodes *t, struct scpp_oid oid, uint64_t *generation);
/** The node of @p ino, or NULL for an id the kernel should not hold. */
struct fsd_node *fsd_node_get(struct fsd_nodes *t, fuse_ino_t ino);
/** The node id of @p oid if the kernel holds it, else 0. */
fuse_ino_t fsd_node_find(const struct fsd_nodes *t, struct scpp_oid oid);
/** Drop @p n lookups; returns true when the node is gone (then *@p oid and
 *  *@p unlinked say what it was). */
bool fsd_node_forget(struct fsd_nodes *t, fuse_ino_t ino, uint64_t n, struct scpp_oid *oid,
		     bool *unlinked);

/* ---- sessions (fs_auth.c) ---- */

/** Open a session when a key is found (0 also when there is none). */
int fsd_session(struct fsd *d);
/** Before a block: a new session (and client) when this one nears its expiry. */
void fsd_session_renew(struct fsd *d);

/* ---- operations (fs_ops.c) ---- */

extern const struct fuse_lowlevel_ops fsd_ops;

/** Run the block in d->blk (built through @p f): 0 or the local errno. */
int fsd_exec(struct fsd *d, struct fsb *f, enum fs_op op);
/** One line per operation kind (blocks, most commands and rows of one) on @p out. */
void fsd_stats_print(const struct fsd *d, FILE *out);

#endif /* FS_FUSE_H */
