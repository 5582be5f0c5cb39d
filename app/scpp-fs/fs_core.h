/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef FS_CORE_H
#define FS_CORE_H

/*
 * scpp-fs core: the blocks that implement POSIX file operations on the
 * store, the decoding of their replies, and the canonical -> local errno
 * mapping. Nothing here knows FUSE: the FUSE glue (fs_fuse.c) turns a
 * request into a call of one builder, sends the block with lib/client and
 * turns the reply into a FUSE reply; the unit tests run the same blocks on
 * an in-process shard (tests/unit/fs).
 *
 * Layout of a volume in the store (docs/FS.md):
 *
 *   Volume  {volume: name (indexed), root: Directory, dev, chunk_bytes C}
 *   Directory {ino, dev, mode, uid, gid, nlink, times, parent, xattrs,
 *              pages: page key -> DirPage, plevel, psplit, count, spare}
 *   DirPage {dir (indexed), entries: name -> inode}
 *   File    {ino, dev, mode, uid, gid, nlink, size, times, xattrs,
 *            data: bytes 0 .. C-1 (may be shorter: zeros follow),
 *            extents: k*C -> Extent (k >= 1; missing = hole)}
 *   Extent  {length C, data (may be shorter), file (indexed), offset k*C}
 *   Symlink {..., target}   Special {..., rdev}   (FIFOs, sockets, devices)
 *
 * Every operation is one block that reads what it checks, checks it
 * (permission bits, owner, type, emptiness, ancestry: `assert ... ERRNO`)
 * and makes the change, so that check and change are one atomic step on
 * the shard (docs/PROTOCOL.md §15 "Computation"). The first commands of a
 * block read the entities the client names; ENOENT there means the client's
 * handle is stale (FS_STALE_CMDS).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "scpp_oid.h"
#include "scpp_value.h"
#include "scpp_wire.h"

/* ---- POSIX constants (values of Linux, as the canonical errno is) ---- */

#define FS_S_IFMT 0170000u
#define FS_S_IFSOCK 0140000u
#define FS_S_IFLNK 0120000u
#define FS_S_IFREG 0100000u
#define FS_S_IFBLK 0060000u
#define FS_S_IFDIR 0040000u
#define FS_S_IFCHR 0020000u
#define FS_S_IFIFO 0010000u
#define FS_S_ISUID 04000u
#define FS_S_ISGID 02000u
#define FS_S_ISVTX 01000u

/** Longest name of a directory entry (NAME_MAX). */
#define FS_NAME_MAX 255
/** Longest symbolic link target (PATH_MAX - 1). */
#define FS_SYMLINK_MAX 4095
/** Longest extended attribute name and value (XATTR_NAME_MAX, XATTR_SIZE_MAX). */
#define FS_XATTR_NAME_MAX 255
#define FS_XATTR_SIZE_MAX 65536
/** Supplementary groups a permission check considers (docs/FS.md). */
#define FS_GROUPS_MAX 32
/** Default bytes per chunk of file data (Volume.chunk_bytes). */
#define FS_CHUNK_DEFAULT (1u << 20)
/** Most chunks one read or write block touches. */
#define FS_PIECES_MAX 8

/** rename(2) flags (values of Linux's RENAME_*). */
#define FS_RENAME_NOREPLACE 1u
#define FS_RENAME_EXCHANGE 2u

/** Columns of a stat group in a reply row (struct fs_attr, in this order). */
enum fs_stat_col {
	FS_C_INO, FS_C_MODE, FS_C_UID, FS_C_GID, FS_C_NLINK, FS_C_SIZE, FS_C_RDEV,
	FS_C_ATIME, FS_C_MTIME, FS_C_CTIME, FS_C_TLEN,
	FS_STAT_COLS
};

/** What a stat group returns about one inode. */
struct fs_attr {
	struct scpp_oid oid;
	uint64_t ino, mode, uid, gid, nlink, size, rdev;
	int64_t atime, mtime, ctime; /**< ns since the Unix epoch */
	uint64_t tlen;               /**< symlink target length (st_size of a symlink) */
};

/** The caller of an operation, as the kernel reports it. */
struct fs_cred {
	uint32_t uid, gid;
	uint32_t ngroups;                  /**< supplementary groups known, 0..FS_GROUPS_MAX */
	uint32_t groups[FS_GROUPS_MAX];
};

/** A mounted volume's parameters (read from its Volume entity). */
struct fs_vol {
	struct scpp_oid volume, root;
	uint64_t dev;
	uint64_t chunk;                    /**< Volume.chunk_bytes */
	bool noatime;                      /**< do not update atime on read/readdir */
};

/* ---- building blocks ---- */

/** A block under construction; the first builder error is kept. */
struct fsb {
	struct scpp_wire_block *b;
	int err;
	int nstale;                        /**< the first nstale commands read named entities */
};

void fsb_init(struct fsb *f, struct scpp_wire_block *b);
/** 0, or the first error a builder met (the block must not be sent). */
int fsb_done(const struct fsb *f);

/* ---- operations: each fills @p f with one block (docs/FS.md lists them) ---- */

/* Every builder's reply: rows whose columns are documented per builder. A
 * stat group is FS_STAT_COLS columns in enum fs_stat_col order. */

/** cols: child oid, stat(child). One block of constant cost whatever the
 *  directory's size: the name's page is computed, not searched. */
void fsb_lookup(struct fsb *f, const struct fs_vol *v, const struct fs_cred *c,
		struct scpp_oid parent, const char *name, size_t len);
/** cols: stat. */
void fsb_getattr(struct fsb *f, struct scpp_oid e);
/** access(2): mask of R_OK 4, W_OK 2, X_OK 1 (0: existence). cols: none. */
void fsb_access(struct fsb *f, const struct fs_cred *c, struct scpp_oid e, unsigned int mask);

/** What setattr changes (FUSE_SET_ATTR_* decoded). */
struct fs_setattr {
	bool mode, uid, gid, size, atime, atime_now, mtime, mtime_now, ctime;
	bool has_fh;                 /**< the kernel passed an open file: no permission check for size */
	uint64_t new_mode, new_uid, new_gid, new_size;
	int64_t new_atime, new_mtime, new_ctime;
	uint64_t cached_size;        /**< what the client believes the size is (UINT64_MAX: unknown) */
};
/** cols: stat (no row when a truncation found no chunk to drop: fetch with getattr). */
void fsb_setattr(struct fsb *f, const struct fs_vol *v, const struct fs_cred *c,
		 struct scpp_oid e, const struct fs_setattr *sa);

/** Kinds of inode create makes. */
enum fs_kind { FS_K_FILE, FS_K_DIR, FS_K_SYMLINK, FS_K_SPECIAL };
/**
 * create, mkdir, mknod and symlink. @p mode is the full st_mode (type bits
 * included; the kernel applied the umask). @p excl: the name must not exist
 * (O_EXCL, and always for mkdir/mknod/symlink); without it an existing name
 * fails at FS_CREATE_EXISTS_CMD with EEXIST and the caller opens it instead.
 * cols: new oid, stat(new), grow (bool: send fsb_dir_split(parent)),
 * stat(parent) after the change.
 */
void fsb_create(struct fsb *f, const struct fs_vol *v, const struct fs_cred *c,
		struct scpp_oid parent, const char *name, size_t len, enum fs_kind kind,
		uint64_t mode, uint64_t rdev, const char *target, size_t tlen, bool excl);
/** link(2). cols: stat(inode), grow (bool: send fsb_dir_split(parent)). */
void fsb_link(struct fsb *f, const struct fs_vol *v, const struct fs_cred *c, struct scpp_oid e,
	      struct scpp_oid parent, const char *name, size_t len);
/**
 * unlink(2) (@p dir false) and rmdir(2) (@p dir true). cols: oid, nlink
 * after; with @p reap (unlink only: the caller knows no file handle holds
 * the inode) a third, bool: the last link went and the inode, whose data
 * was all in File.data, was deleted in the same block. A larger file is
 * left for fsb_drop_chunks() and fsb_reap(). Then, bool: shrink
 * (send fsb_dir_merge(parent)); last, stat(parent) after the change.
 */
void fsb_unlink(struct fsb *f, const struct fs_vol *v, const struct fs_cred *c,
		struct scpp_oid parent, const char *name, size_t len, bool dir, bool reap);
/**
 * rename(2)/renameat2(2) with FS_RENAME_NOREPLACE or FS_RENAME_EXCHANGE.
 * cols: target oid (nil when none), target nlink after, grow (bool: split
 * a page of newparent), shrink (bool: merge pages of parent). No row:
 * source and target were the same inode (nothing to do).
 */
void fsb_rename(struct fsb *f, const struct fs_vol *v, const struct fs_cred *c,
		struct scpp_oid parent, const char *name, size_t len, struct scpp_oid newparent,
		const char *newname, size_t newlen, unsigned int flags);
/** cols: target. */
void fsb_readlink(struct fsb *f, struct scpp_oid e);
/** open(2) permission check for @p flags (O_ACCMODE, O_TRUNC); truncates on O_TRUNC.
 *  A file: no cols. A directory (@p dir): cols: its change generation
 *  (Directory.gen, moved by every block that changes its listing; 0 for
 *  one that never had it), stat(directory); atime moves as a listing
 *  moves it. */
void fsb_open(struct fsb *f, const struct fs_vol *v, const struct fs_cred *c, struct scpp_oid e,
	      int flags, bool dir);

/** One piece of a read or write: a byte range inside one chunk. */
struct fs_piece {
	uint64_t chunk;   /**< chunk offset: 0 (File.data) or k * C */
	uint64_t off;     /**< offset inside the chunk */
	uint64_t len;
	uint64_t pos;     /**< offset of the piece inside the request */
};
/** Cut [off, off + len) into pieces by chunk; returns the count (<= FS_PIECES_MAX)
 *  or -EFBIG when the range needs more. */
int fs_pieces(const struct fs_vol *v, uint64_t off, uint64_t len, struct fs_piece *p);
/** cols: size, then one bytes value per piece (shorter than the piece: zeros follow). */
void fsb_read(struct fsb *f, const struct fs_vol *v, struct scpp_oid e, uint64_t off,
	      uint64_t len);
/**
 * Write @p len bytes at @p off. @p expect_size != UINT64_MAX: fail with
 * EAGAIN at FS_WRITE_SIZE_CMD unless the size is that (O_APPEND at the size
 * the client believes). @p kill_priv: clear S_ISUID and S_ISGID(with
 * S_IXGRP) as a write by a process without CAP_FSETID does. cols: new size.
 */
void fsb_write(struct fsb *f, const struct fs_vol *v, struct scpp_oid e, uint64_t off,
	       const void *data, uint64_t len, uint64_t expect_size, bool kill_priv);
/*
 * Directory pages (docs/FS.md §1): h(name) = the low 62 bits of
 * hash(name); linear hashing on its low bits; a page key is
 * (1 << l) | (the l low bits its names share). Listing order and the
 * kernel's offsets are positions: fs_key_rev(h), h with its 62 bits
 * reversed, so that every page covers one interval of positions.
 */
#define FS_KEY_BITS 62
#define FS_KEY_MAX ((UINT64_C(1) << FS_KEY_BITS) - 1)
/** A page is split when the directory holds more than this many names per page... */
#define FS_PAGE_SPLIT 64u
/** ...and two are merged when it holds fewer than this per page, one page less. */
#define FS_PAGE_MERGE 16u

/** h(name): the low FS_KEY_BITS bits of the evaluator's hash() of the name
 *  as a string value (FNV-1a 64 of its wire encoding, docs/PROTOCOL.md §4),
 *  as the blocks compute it to choose a name's page. */
uint64_t fs_name_key(const char *name, size_t len);

/** The 62 low bits of @p k, reversed (position <-> hash). */
static inline uint64_t
fs_key_rev(uint64_t k)
{
	uint64_t r = 0;

	for (unsigned int i = 0; i < FS_KEY_BITS; i++)
		r |= ((k >> i) & 1u) << (FS_KEY_BITS - 1 - i);
	return r;
}

/** The positions [*lo, *hi] of the names of the page with key @p pk. */
static inline void
fs_page_span(uint64_t pk, uint64_t *lo, uint64_t *hi)
{
	unsigned int l = pk == 0 ? 0 : 63u - (unsigned int)__builtin_clzll(pk);
	uint64_t low = pk ^ (UINT64_C(1) << l);

	*lo = fs_key_rev(low);
	*hi = *lo + ((UINT64_C(1) << (FS_KEY_BITS - l)) - 1);
}

/** Columns of a listing row (fsb_listdir). */
enum { FS_L_SELF, FS_L_PARENT, FS_L_PAGE, FS_L_NAME, FS_L_KEY, FS_L_OID, FS_L_STAT };

/** Largest plevel at which a listing of @p span > 0 enumerates the page map
 *  (2^10 + s pages, well inside the node's default eval.max_rows); past it
 *  such a listing fails with ERANGE and the caller lists page by page. */
#define FS_LIST_ENUM_LEVEL 10u
/** Most span a listing block asks for (2^span to 2^(span+1) pages). */
#define FS_LIST_SPAN_MAX 6u

/**
 * One block of a directory listing. @p span 0: the page that holds
 * position @p pos (0 .. FS_KEY_MAX), one entry of the page map whatever
 * the directory's size. @p span > 0: the interval of level
 * m = max(plevel - span, 0) that holds pos -- the 2^span to 2^(span+1)
 * pages whose keys share pos's m low bits (all of them when m is 0) --
 * found by enumerating the page map, so only up to plevel
 * FS_LIST_ENUM_LEVEL (ERANGE past it). Either, or one of @p parts
 * partitions of it (by bits 40.. of the name's hash; parts a power of
 * two). cols: enum FS_L_* (self ino, parent ino, the key of the interval
 * read -- a page key for span 0, (1 << m) | r for span > 0 --, name,
 * h(name) -- its position is fs_key_rev() of that --, child oid,
 * stat(child) with @p stat, else only its first two columns, ino and
 * mode: a third of the commands per name, for readdir); always at least one row: an empty page (or partition)
 * answers one with name nil. The reply covers fs_page_span(key); the
 * next block starts after it.
 */
void fsb_listdir(struct fsb *f, const struct fs_vol *v, const struct fs_cred *c,
		 struct scpp_oid dir, uint64_t pos, unsigned int span, uint32_t parts,
		 uint32_t part, bool stat);
/**
 * Split the next page of directory @p dir (linear hashing), if it still
 * holds more than FS_PAGE_SPLIT names per page; sent after a create, link
 * or rename whose reply says so. cols: none.
 */
void fsb_dir_split(struct fsb *f, struct scpp_oid dir);
/** Merge its last two pages, if it holds fewer than FS_PAGE_MERGE names per
 *  page, one page less; sent after an unlink or rename that says so. cols: none. */
void fsb_dir_merge(struct fsb *f, struct scpp_oid dir);
/** cols: block_size, capacity_bytes, files_max. */
void fsb_statfs(struct fsb *f, const struct fs_vol *v);
/** The inode still exists (fsync: nothing is buffered client-side). cols: none. */
void fsb_fsync(struct fsb *f, struct scpp_oid e);
/** cols: value. ENODATA when absent. */
void fsb_getxattr(struct fsb *f, const struct fs_cred *c, struct scpp_oid e, const char *name,
		  size_t len);
/** flags: XATTR_CREATE 1, XATTR_REPLACE 2. cols: none. */
void fsb_setxattr(struct fsb *f, const struct fs_cred *c, struct scpp_oid e, const char *name,
		  size_t len, const void *value, size_t vlen, int flags);
/** cols: name (one row per attribute). */
void fsb_listxattr(struct fsb *f, struct scpp_oid e);
/** cols: none. */
void fsb_removexattr(struct fsb *f, const struct fs_cred *c, struct scpp_oid e, const char *name,
		     size_t len);
/** Most chunks one block deletes (each is saved for undo: the node's
 *  eval.max_bytes and max_time_us bound a block). */
#define FS_DROP_MAX 4
/**
 * Delete the Extents at offsets @p off[0 .. n) (n <= FS_DROP_MAX; holes
 * are skipped) of regular file @p e: the batches that a large truncation
 * or reap sends first, from the end of the file down. @p c: the caller
 * must may write the file (a truncation); NULL: the file must have no link
 * left (a reap). cols: none.
 */
void fsb_drop_chunks(struct fsb *f, const struct fs_cred *c, struct scpp_oid e,
		     const uint64_t *off, unsigned int n);
/** Delete an inode that has no link left (after the kernel forgot it), with
 *  its chunks (a file) or its empty pages (a directory). cols: none. */
void fsb_reap(struct fsb *f, struct scpp_oid e);

/** Find a volume by name. cols: volume, root, dev, chunk_bytes (no row: none). */
void fsb_volume_find(struct fsb *f, const char *name, size_t len);
/** Create a volume unless one of that name exists. Same cols (no row: it exists). */
void fsb_volume_create(struct fsb *f, const char *name, size_t len, uint64_t chunk,
		       uint64_t root_mode, uint32_t root_uid, uint32_t root_gid);

/* Command indexes callers test in an aborted reply's status. */
/** Index of the last create block's "the name is free" assert (fsb_create). */
int fs_create_exists_cmd(void);
/** Index of write's size assert (see fsb_write). */
#define FS_WRITE_SIZE_CMD 1

/* ---- replies ---- */

/** A decoded reply: END, the first status, the rows (values borrow the message). */
struct fs_reply {
	uint8_t outcome;         /**< enum scpp_wire_outcome */
	uint32_t err;            /**< canonical errno of END */
	int cmd;                 /**< failing command of an abort (status `command`), or -1 */
	char code[32];           /**< the status's scpp code (E_SCHEMA, EACCES, ...) */
	char message[160];       /**< the status's message */
	uint64_t commands;       /**< END: commands evaluated (over all rows) */
	uint64_t end_rows;       /**< END: rows returned */
	uint16_t ncols;
	size_t nrows;
	struct scpp_value *v;    /**< nrows x ncols */
	size_t cap;
};

void fs_reply_init(struct fs_reply *r);
void fs_reply_free(struct fs_reply *r);
/** Decode a whole REPLY message. @return 0 or the reader's negative error. */
int fs_reply_parse(struct fs_reply *r, const uint8_t *msg, size_t len);
/** Row @p i, column @p c. */
static inline const struct scpp_value *
fs_reply_at(const struct fs_reply *r, size_t i, unsigned int c)
{
	return &r->v[i * r->ncols + c];
}
/** An integer column (u64 or i64 >= 0; nil and anything else: 0). */
uint64_t fs_reply_u64(const struct fs_reply *r, size_t i, unsigned int c);
int64_t fs_reply_i64(const struct fs_reply *r, size_t i, unsigned int c);
/** The stat group starting at column @p c0 of row @p i. */
void fs_reply_attr(const struct fs_reply *r, size_t i, unsigned int c0, struct fs_attr *a);
/**
 * The bytes of a read reply (fsb_read() of @p len bytes at @p off) into
 * @p out: the file's bytes up to its size, zeros for holes and for chunk
 * data shorter than the chunk. @return the bytes read (0 at or past the
 * end), or -EIO for a reply of another shape.
 */
ssize_t fs_read_assemble(const struct fs_vol *v, const struct fs_reply *r, uint64_t off,
			 uint64_t len, uint8_t *out);

/* ---- errno ---- */

/** The operations, for errno policy (fs_errno()). */
enum fs_op {
	FS_OP_LOOKUP, FS_OP_GETATTR, FS_OP_SETATTR, FS_OP_CREATE, FS_OP_LINK, FS_OP_UNLINK,
	FS_OP_RENAME, FS_OP_READLINK, FS_OP_OPEN, FS_OP_READ, FS_OP_WRITE, FS_OP_READDIR,
	FS_OP_STATFS, FS_OP_FSYNC, FS_OP_ACCESS, FS_OP_XATTR, FS_OP_OTHER,
	FS_OP_COUNT
};

/**
 * The local errno (positive) an operation returns for a reply: 0 when the
 * block succeeded; for an abort, the canonical errno mapped by the table of
 * docs/ERRNO.md "scpp-fs", with two rules first: ENOENT raised by one of the
 * first @p nstale commands (they read the entities the client named) is
 * ESTALE; EREMOTE (an entity on another shard or node) is EXDEV for rename
 * and link.
 */
int fs_errno(enum fs_op op, const struct fs_reply *r, int nstale);
/** The errno for a transport failure of lib/client (a negative code). */
int fs_errno_transport(int rc);
/** The table (for docs and tests): row @p i's canonical number and local errno;
 *  returns false past the end. */
bool fs_errno_row(size_t i, uint32_t *canonical, int *local);

#endif /* FS_CORE_H */
