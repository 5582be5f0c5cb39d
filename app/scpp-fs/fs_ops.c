/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The FUSE operations of scpp-fs. Each is one block built by fs_blocks.c
 * (walk, permission check and change together), sent with lib/client, its
 * reply decoded by fs_reply.c and its errno mapped by fs_errno(). The only
 * operations that may take several blocks are the ones whose data does not
 * fit one: read and write of more than FS_PIECES_MAX - 1 chunks, a
 * directory listing over one reply (split by name hash), and create that
 * lost a race to another mount (then lookup + open).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fs_fuse.h"

#define FSD(req) ((struct fsd *)fuse_req_userdata(req))

/* ---- plumbing ---- */

int
fsd_exec(struct fsd *d, struct fsb *f, enum fs_op op)
{
	int rc = fsb_done(f), e;

	if (rc != 0) {
		/* A request the builder cannot express (too many pieces, a
		 * name or value over a bound it checks). */
		return rc == -EFBIG ? EFBIG : rc == -ENAMETOOLONG ? ENAMETOOLONG : EINVAL;
	}
	fsd_session_renew(d);
	scpp_client_reply_free(&d->cr);
	d->ops++;
	rc = scpp_client_exec(d->cl, f->b, &d->cr);
	if (rc < 0) {
		if (d->errors_logged++ < 50)
			fprintf(stderr, "scpp-fs: exchange with %s failed: %s\n",
				scpp_client_server(d->cl), scpp_strerror(rc));
		return fs_errno_transport(rc);
	}
	rc = fs_reply_parse(&d->rep, d->cr.msg, d->cr.len);
	if (rc < 0)
		return EIO;
	e = fs_errno(op, &d->rep, f->nstale);
	if (e == EIO && d->errors_logged++ < 50)
		fprintf(stderr, "scpp-fs: block failed: %s %s (command %d)\n", d->rep.code,
			d->rep.message, d->rep.cmd);
	return e;
}

/* The caller's credentials (supplementary groups only for non-root). */
static void
cred_of(fuse_req_t req, struct fs_cred *c)
{
	const struct fuse_ctx *x = fuse_req_ctx(req);
	gid_t g[FS_GROUPS_MAX];
	int n;

	c->uid = x->uid;
	c->gid = x->gid;
	c->ngroups = 0;
	if (x->uid == 0)
		return;
	n = fuse_req_getgroups(req, FS_GROUPS_MAX, g);
	for (int i = 0; i < n && i < FS_GROUPS_MAX; i++)
		c->groups[c->ngroups++] = g[i];
}

static bool
oid_of(fuse_req_t req, fuse_ino_t ino, struct scpp_oid *o)
{
	struct fsd_node *n = fsd_node_get(&FSD(req)->nodes, ino);

	if (n == NULL) {
		fuse_reply_err(req, ESTALE);
		return false;
	}
	*o = n->oid;
	return true;
}

static bool
name_ok(fuse_req_t req, const char *name)
{
	if (strlen(name) > FS_NAME_MAX) {
		fuse_reply_err(req, ENAMETOOLONG);
		return false;
	}
	return true;
}

static void
to_stat(const struct fs_attr *a, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = a->ino;
	st->st_mode = (mode_t)a->mode;
	st->st_nlink = (nlink_t)a->nlink;
	st->st_uid = (uid_t)a->uid;
	st->st_gid = (gid_t)a->gid;
	st->st_rdev = (dev_t)a->rdev;
	st->st_size = (off_t)((a->mode & FS_S_IFMT) == FS_S_IFLNK ? a->tlen : a->size);
	st->st_blksize = 4096;
	st->st_blocks = (blkcnt_t)((a->size + 511) / 512);
	st->st_atim.tv_sec = a->atime / 1000000000;
	st->st_atim.tv_nsec = a->atime % 1000000000;
	st->st_mtim.tv_sec = a->mtime / 1000000000;
	st->st_mtim.tv_nsec = a->mtime % 1000000000;
	st->st_ctim.tv_sec = a->ctime / 1000000000;
	st->st_ctim.tv_nsec = a->ctime % 1000000000;
}

/* Count a file handle opened (+1) or released (-1) on node @p ino. */
static void
d_open(struct fsd *d, fuse_ino_t ino, int k)
{
	struct fsd_node *n = fsd_node_get(&d->nodes, ino);

	if (k > 0) {
		d->nopen++;
		if (n != NULL)
			n->nopen++;
	} else {
		if (d->nopen > 0)
			d->nopen--;
		if (n != NULL && n->nopen > 0)
			n->nopen--;
	}
}

/* Reply an entry for @p oid with the stat group at column @p c0 of row 0. */
static void
reply_entry(fuse_req_t req, struct scpp_oid oid, unsigned int c0, struct fuse_file_info *fi)
{
	struct fsd *d = FSD(req);
	struct fuse_entry_param e;
	struct fs_attr a;

	memset(&e, 0, sizeof(e));
	fs_reply_attr(&d->rep, 0, c0, &a);
	to_stat(&a, &e.attr);
	e.ino = fsd_node_ref(&d->nodes, oid, &e.generation);
	if (e.ino == 0) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	e.attr_timeout = d->o.attr_timeout;
	e.entry_timeout = d->o.entry_timeout;
	if (fi == NULL) {
		if (fuse_reply_entry(req, &e) == -ENOENT) /* the request was interrupted */
			fsd_node_forget(&d->nodes, e.ino, 1, &oid, &(bool){false});
	} else {
		d_open(d, e.ino, 1);
		if (fuse_reply_create(req, &e, fi) == -ENOENT) {
			d_open(d, e.ino, -1);
			fsd_node_forget(&d->nodes, e.ino, 1, &oid, &(bool){false});
		}
	}
}

static void
reply_attr(fuse_req_t req, unsigned int c0)
{
	struct fsd *d = FSD(req);
	struct fs_attr a;
	struct stat st;

	fs_reply_attr(&d->rep, 0, c0, &a);
	to_stat(&a, &st);
	fuse_reply_attr(req, &st, d->o.attr_timeout);
}

/*
 * Delete the chunks of inode @p o wholly at or past @p new_size, from the
 * end down, FS_DROP_MAX per block, leaving the last FS_DROP_MAX for the
 * block of the operation itself (truncate or reap), which then fits one
 * block's undo budget whatever the file's size. 0 or an errno.
 */
static int
drop_tail(struct fsd *d, const struct fs_cred *cr, struct scpp_oid o, uint64_t old_size,
	  uint64_t new_size)
{
	uint64_t c = d->vol.chunk, first = (new_size + c - 1) / c, end = (old_size + c - 1) / c;

	if (first < 1)
		first = 1; /* chunk 0 is File.data */
	while (end > first + FS_DROP_MAX) {
		uint64_t off[FS_DROP_MAX];
		unsigned int n = 0;
		struct fsb f;
		int e;

		while (n < FS_DROP_MAX && end > first + FS_DROP_MAX)
			off[n++] = --end * c;
		fsb_init(&f, d->blk);
		fsb_drop_chunks(&f, cr, o, off, n);
		if ((e = fsd_exec(d, &f, FS_OP_SETATTR)) != 0)
			return e;
	}
	return 0;
}

static int getattr_block(struct fsd *d, struct scpp_oid o);

/* The size the store holds for @p o (UINT64_MAX when it cannot be read). */
static uint64_t
size_of(struct fsd *d, struct scpp_oid o)
{
	struct fs_attr a;

	if (getattr_block(d, o) != 0)
		return UINT64_MAX;
	fs_reply_attr(&d->rep, 0, 0, &a);
	return a.size;
}

/* Reap inode @p o (no link left, not held): its chunks in batches, then it. */
static void
reap(struct fsd *d, struct scpp_oid o)
{
	uint64_t size = size_of(d, o);
	struct fsb f;

	if (size == UINT64_MAX || drop_tail(d, NULL, o, size, 0) != 0)
		return;
	fsb_init(&f, d->blk);
	fsb_reap(&f, o);
	(void)fsd_exec(d, &f, FS_OP_OTHER);
}

/* An inode lost its last link: reap it now, or when the kernel forgets it. */
static void
unlinked(struct fsd *d, struct scpp_oid oid)
{
	fuse_ino_t ino = fsd_node_find(&d->nodes, oid);

	if (ino != 0) {
		fsd_node_get(&d->nodes, ino)->unlinked = true;
		return;
	}
	reap(d, oid);
}

/* ---- lookup, forget, getattr, setattr, access ---- */

static void
op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fsd *d = FSD(req);
	struct scpp_oid p;
	struct fs_cred c;
	struct fsb f;
	int e;

	if (!oid_of(req, parent, &p) || !name_ok(req, name))
		return;
	cred_of(req, &c);
	fsb_init(&f, d->blk);
	fsb_lookup(&f, &d->vol, &c, p, name, strlen(name));
	if ((e = fsd_exec(d, &f, FS_OP_LOOKUP)) != 0 || d->rep.nrows != 1) {
		fuse_reply_err(req, e ? e : ENOENT);
		return;
	}
	reply_entry(req, fs_reply_at(&d->rep, 0, 0)->oid, 1, NULL);
}

static void
forget_one(struct fsd *d, fuse_ino_t ino, uint64_t n)
{
	struct scpp_oid oid;
	bool gone_link;

	if (fsd_node_forget(&d->nodes, ino, n, &oid, &gone_link) && gone_link)
		reap(d, oid);
}

static void
op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	forget_one(FSD(req), ino, nlookup);
	fuse_reply_none(req);
}

static void
op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		forget_one(FSD(req), forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static int
getattr_block(struct fsd *d, struct scpp_oid o)
{
	struct fsb f;
	int e;

	fsb_init(&f, d->blk);
	fsb_getattr(&f, o);
	e = fsd_exec(d, &f, FS_OP_GETATTR);
	return e != 0 ? e : d->rep.nrows == 1 ? 0 : EIO;
}

static void
op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct scpp_oid o;
	int e;

	(void)fi;
	if (!oid_of(req, ino, &o))
		return;
	if ((e = getattr_block(FSD(req), o)) != 0)
		fuse_reply_err(req, e);
	else
		reply_attr(req, 0);
}

static int64_t
ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

static void
op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
	   struct fuse_file_info *fi)
{
	struct fsd *d = FSD(req);
	struct fs_setattr sa = {.cached_size = UINT64_MAX};
	struct scpp_oid o;
	struct fs_cred c;
	struct fsb f;
	int e;

	if (!oid_of(req, ino, &o))
		return;
	cred_of(req, &c);
	sa.mode = to_set & FUSE_SET_ATTR_MODE;
	sa.uid = to_set & FUSE_SET_ATTR_UID;
	sa.gid = to_set & FUSE_SET_ATTR_GID;
	sa.size = to_set & FUSE_SET_ATTR_SIZE;
	sa.atime_now = to_set & FUSE_SET_ATTR_ATIME_NOW;
	sa.mtime_now = to_set & FUSE_SET_ATTR_MTIME_NOW;
	sa.atime = (to_set & FUSE_SET_ATTR_ATIME) && !sa.atime_now;
	sa.mtime = (to_set & FUSE_SET_ATTR_MTIME) && !sa.mtime_now;
	sa.ctime = to_set & FUSE_SET_ATTR_CTIME;
	sa.has_fh = fi != NULL;
	sa.new_mode = attr->st_mode;
	sa.new_uid = attr->st_uid;
	sa.new_gid = attr->st_gid;
	sa.new_size = (uint64_t)attr->st_size;
	sa.new_atime = ts_ns(&attr->st_atim);
	sa.new_mtime = ts_ns(&attr->st_mtim);
	sa.new_ctime = ts_ns(&attr->st_ctim);
	if (sa.size) {
		/* A truncation that drops more chunks than one block may: the
		 * surplus first, from the end down (docs/FS.md §3). With an
		 * open handle the permission was checked at open. */
		static const struct fs_cred anyone = {.uid = 0};
		uint64_t old = size_of(d, o);

		if (old != UINT64_MAX && old > sa.new_size &&
		    (e = drop_tail(d, sa.has_fh ? &anyone : &c, o, old, sa.new_size)) != 0) {
			fuse_reply_err(req, e);
			return;
		}
	}
	fsb_init(&f, d->blk);
	fsb_setattr(&f, &d->vol, &c, o, &sa);
	if ((e = fsd_exec(d, &f, FS_OP_SETATTR)) != 0) {
		fuse_reply_err(req, e);
		return;
	}
	if (d->rep.nrows != 1 && (e = getattr_block(d, o)) != 0) {
		fuse_reply_err(req, e);
		return;
	}
	reply_attr(req, 0);
}

static void
op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct fsd *d = FSD(req);
	struct scpp_oid o;
	struct fs_cred c;
	struct fsb f;

	if (!oid_of(req, ino, &o))
		return;
	cred_of(req, &c);
	fsb_init(&f, d->blk);
	fsb_access(&f, &c, o, (unsigned int)mask & 7);
	fuse_reply_err(req, fsd_exec(d, &f, FS_OP_ACCESS));
}

/* ---- create, mkdir, mknod, symlink, link ---- */

static int
create_block(fuse_req_t req, fuse_ino_t parent, const char *name, enum fs_kind kind,
	     uint64_t mode, uint64_t rdev, const char *target, bool excl)
{
	struct fsd *d = FSD(req);
	struct scpp_oid p;
	struct fs_cred c;
	struct fsb f;

	if (!oid_of(req, parent, &p) || !name_ok(req, name))
		return -1;
	cred_of(req, &c);
	fsb_init(&f, d->blk);
	fsb_create(&f, &d->vol, &c, p, name, strlen(name), kind, mode, rdev, target,
		   target ? strlen(target) : 0, excl);
	return fsd_exec(d, &f, FS_OP_CREATE);
}

static void
make_node(fuse_req_t req, fuse_ino_t parent, const char *name, enum fs_kind kind, uint64_t mode,
	  uint64_t rdev, const char *target)
{
	struct fsd *d = FSD(req);
	int e = create_block(req, parent, name, kind, mode, rdev, target, true);

	if (e < 0)
		return;
	if (e != 0 || d->rep.nrows != 1) {
		fuse_reply_err(req, e ? e : EIO);
		return;
	}
	reply_entry(req, fs_reply_at(&d->rep, 0, 0)->oid, 1, NULL);
}

static void
op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	make_node(req, parent, name, FS_K_DIR, FS_S_IFDIR | (mode & 07777), 0, NULL);
}

static void
op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	uint64_t type = mode & FS_S_IFMT;

	if (type == 0)
		type = FS_S_IFREG;
	make_node(req, parent, name, type == FS_S_IFREG ? FS_K_FILE : FS_K_SPECIAL,
		  type | (mode & 07777), rdev, NULL);
}

static void
op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	if (strlen(link) > FS_SYMLINK_MAX) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	make_node(req, parent, name, FS_K_SYMLINK, FS_S_IFLNK | 0777, 0, link);
}

static void
op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct fsd *d = FSD(req);
	struct scpp_oid o, p;
	struct fs_cred c;
	struct fsb f;
	int e;

	if (!oid_of(req, ino, &o) || !oid_of(req, newparent, &p) || !name_ok(req, newname))
		return;
	cred_of(req, &c);
	fsb_init(&f, d->blk);
	fsb_link(&f, &d->vol, &c, o, p, newname, strlen(newname));
	if ((e = fsd_exec(d, &f, FS_OP_LINK)) != 0 || d->rep.nrows != 1) {
		fuse_reply_err(req, e ? e : EIO);
		return;
	}
	reply_entry(req, o, 0, NULL);
}

/* ---- unlink, rmdir, rename ---- */

static void
remove_entry(fuse_req_t req, fuse_ino_t parent, const char *name, bool dir)
{
	struct fsd *d = FSD(req);
	struct scpp_oid p, gone;
	struct fs_cred c;
	struct fsb f;
	bool fold;
	int e;

	if (!oid_of(req, parent, &p) || !name_ok(req, name))
		return;
	cred_of(req, &c);
	/* Whether the unlink may take the inode with its last link: when no
	 * file handle of this mount is open at all (the kernel names the
	 * entry, not the inode, so "not this one" is not known cheaply);
	 * otherwise it is reaped when the kernel forgets it. */
	fold = !dir && d->nopen == 0;
	fsb_init(&f, d->blk);
	fsb_unlink(&f, &d->vol, &c, p, name, strlen(name), dir, fold);
	if ((e = fsd_exec(d, &f, FS_OP_UNLINK)) != 0) {
		fuse_reply_err(req, e);
		return;
	}
	if (fold && d->rep.nrows == 1 && fs_reply_at(&d->rep, 0, 2)->type == SCPP_VT_BOOL &&
	    fs_reply_at(&d->rep, 0, 2)->b) {
		fuse_reply_err(req, 0); /* reaped in the block */
		return;
	}
	if (d->rep.nrows == 1 && fs_reply_u64(&d->rep, 0, 1) == 0) {
		gone = fs_reply_at(&d->rep, 0, 0)->oid;
		fuse_reply_err(req, 0);
		unlinked(d, gone);
		return;
	}
	fuse_reply_err(req, 0);
}

static void
op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_entry(req, parent, name, false);
}

static void
op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_entry(req, parent, name, true);
}

static void
op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
	  const char *newname, unsigned int flags)
{
	struct fsd *d = FSD(req);
	struct scpp_oid p, np;
	struct fs_cred c;
	struct fsb f;
	int e;

	if (!oid_of(req, parent, &p) || !oid_of(req, newparent, &np) || !name_ok(req, name) ||
	    !name_ok(req, newname))
		return;
	if (flags & ~(unsigned int)(FS_RENAME_NOREPLACE | FS_RENAME_EXCHANGE)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	cred_of(req, &c);
	fsb_init(&f, d->blk);
	fsb_rename(&f, &d->vol, &c, p, name, strlen(name), np, newname, strlen(newname), flags);
	if ((e = fsd_exec(d, &f, FS_OP_RENAME)) != 0) {
		fuse_reply_err(req, e);
		return;
	}
	if (d->rep.nrows == 1 && fs_reply_at(&d->rep, 0, 0)->type == SCPP_VT_OID &&
	    !(flags & FS_RENAME_EXCHANGE) && fs_reply_u64(&d->rep, 0, 1) == 0) {
		struct scpp_oid gone = fs_reply_at(&d->rep, 0, 0)->oid;

		fuse_reply_err(req, 0);
		unlinked(d, gone);
		return;
	}
	fuse_reply_err(req, 0);
}

static void
op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct fsd *d = FSD(req);
	const struct scpp_value *t;
	char buf[FS_SYMLINK_MAX + 1];
	struct scpp_oid o;
	struct fsb f;
	int e;

	if (!oid_of(req, ino, &o))
		return;
	fsb_init(&f, d->blk);
	fsb_readlink(&f, o);
	if ((e = fsd_exec(d, &f, FS_OP_READLINK)) != 0 || d->rep.nrows != 1) {
		fuse_reply_err(req, e ? e : EIO);
		return;
	}
	t = fs_reply_at(&d->rep, 0, 0);
	if (t->type != SCPP_VT_STR || t->len > FS_SYMLINK_MAX) {
		fuse_reply_err(req, EIO);
		return;
	}
	memcpy(buf, t->p, t->len);
	buf[t->len] = '\0';
	fuse_reply_readlink(req, buf);
}

/* ---- open, create, read, write ---- */

static int
open_block(struct fsd *d, fuse_req_t req, struct scpp_oid o, int flags, bool dir)
{
	struct fs_cred c;
	struct fsb f;
	int e;

	cred_of(req, &c);
	if (!dir && (flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY) {
		uint64_t old = size_of(d, o);

		if (old != UINT64_MAX && (e = drop_tail(d, &c, o, old, 0)) != 0)
			return e;
	}
	fsb_init(&f, d->blk);
	fsb_open(&f, &d->vol, &c, o, flags, dir);
	return fsd_exec(d, &f, FS_OP_OPEN);
}

static void
op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fsd *d = FSD(req);
	struct scpp_oid o;
	int e;

	if (!oid_of(req, ino, &o))
		return;
	if ((e = open_block(d, req, o, fi->flags, false)) != 0) {
		fuse_reply_err(req, e);
		return;
	}
	fi->keep_cache = 0;
	d_open(d, ino, 1);
	if (fuse_reply_open(req, fi) != 0)
		d_open(d, ino, -1); /* interrupted: no release will come */
}

static void
op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	  struct fuse_file_info *fi)
{
	struct fsd *d = FSD(req);
	bool excl = fi->flags & O_EXCL;
	int e = create_block(req, parent, name, FS_K_FILE, FS_S_IFREG | (mode & 07777), 0, NULL,
			     excl);
	struct scpp_oid o, p;

	if (e < 0)
		return;
	if (e == EEXIST && !excl && d->rep.cmd == fs_create_exists_cmd()) {
		/* Another mount made it since the kernel's lookup: open it. */
		struct fs_cred c;
		struct fsb f;

		(void)oid_of(req, parent, &p);
		cred_of(req, &c);
		fsb_init(&f, d->blk);
		fsb_lookup(&f, &d->vol, &c, p, name, strlen(name));
		if ((e = fsd_exec(d, &f, FS_OP_LOOKUP)) != 0 || d->rep.nrows != 1) {
			fuse_reply_err(req, e ? e : ENOENT);
			return;
		}
		o = fs_reply_at(&d->rep, 0, 0)->oid;
		if ((e = open_block(d, req, o, fi->flags, false)) != 0 ||
		    (e = getattr_block(d, o)) != 0) {
			fuse_reply_err(req, e);
			return;
		}
		reply_entry(req, o, 0, fi);
		return;
	}
	if (e != 0 || d->rep.nrows != 1) {
		fuse_reply_err(req, e ? e : EIO);
		return;
	}
	fi->keep_cache = 0;
	reply_entry(req, fs_reply_at(&d->rep, 0, 0)->oid, 1, fi);
}

/* Bytes one block may read or write at @p off: FS_PIECES_MAX chunks. */
static uint64_t
span_at(const struct fs_vol *v, uint64_t off, uint64_t len, uint64_t cap)
{
	uint64_t room = v->chunk * FS_PIECES_MAX - off % v->chunk;

	return SCPP_MIN(SCPP_MIN(len, room), cap);
}

static void
op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct fsd *d = FSD(req);
	uint64_t done = 0, len = SCPP_MIN((uint64_t)size, FSD_READ_MAX);
	struct scpp_oid o;

	(void)fi;
	if (!oid_of(req, ino, &o))
		return;
	/* Several blocks only when the chunks are small (-o chunk): each is
	 * consistent by itself (docs/FS.md "Consistency"). */
	while (done < len) {
		uint64_t at = (uint64_t)off + done, k = span_at(&d->vol, at, len - done, len);
		struct fsb f;
		ssize_t got;
		int e;

		fsb_init(&f, d->blk);
		fsb_read(&f, &d->vol, o, at, k);
		if ((e = fsd_exec(d, &f, FS_OP_READ)) != 0) {
			if (done == 0) {
				fuse_reply_err(req, e);
				return;
			}
			break;
		}
		got = fs_read_assemble(&d->vol, &d->rep, at, k, d->io + done);
		if (got < 0) {
			if (done == 0) {
				fuse_reply_err(req, EIO);
				return;
			}
			break;
		}
		done += (uint64_t)got;
		if ((uint64_t)got < k)
			break;
	}
	fuse_reply_buf(req, (const char *)d->io, done);
}

static void
op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
	 struct fuse_file_info *fi)
{
	struct fsd *d = FSD(req);
	uint64_t done = 0, at = (uint64_t)off;
	bool append = fi->flags & O_APPEND;
	struct scpp_oid o;

	if (!oid_of(req, ino, &o))
		return;
	while (done < size) {
		uint64_t k = span_at(&d->vol, at, size - done, d->write_max);
		struct fsb f;
		int e;

		fsb_init(&f, d->blk);
		/* O_APPEND: at the size the kernel believes, and if another
		 * mount moved it, at the size the store has. */
		fsb_write(&f, &d->vol, o, at, buf + done, k, append ? at : UINT64_MAX, false);
		e = fsd_exec(d, &f, FS_OP_WRITE);
		if (e == EAGAIN && append && d->rep.cmd == FS_WRITE_SIZE_CMD &&
		    (e = getattr_block(d, o)) == 0) {
			struct fs_attr a;

			fs_reply_attr(&d->rep, 0, 0, &a);
			at = a.size;
			continue;
		}
		if (e != 0) {
			if (done == 0) {
				fuse_reply_err(req, e);
				return;
			}
			break;
		}
		done += k;
		at += k;
	}
	fuse_reply_write(req, done);
}

static void
op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino, (void)fi;
	fuse_reply_err(req, 0); /* nothing is buffered here */
}

static void
op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)fi;
	d_open(FSD(req), ino, -1);
	fuse_reply_err(req, 0);
}

static void
op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct fsd *d = FSD(req);
	struct scpp_oid o;
	struct fsb f;

	(void)datasync, (void)fi;
	if (!oid_of(req, ino, &o))
		return;
	/* Every write was a block the node applied: only the inode's
	 * existence is left to confirm. */
	fsb_init(&f, d->blk);
	fsb_fsync(&f, o);
	fuse_reply_err(req, fsd_exec(d, &f, FS_OP_FSYNC));
}

/* ---- directories ---- */

/* A listing, taken at opendir (a snapshot: POSIX lets readdir show or not
 * show entries changed after it started). */
struct fsd_dirent {
	char *name;
	struct scpp_oid oid;
	struct fs_attr a;
};

struct fsd_dir {
	uint64_t self_ino, parent_ino;
	struct fsd_dirent *e;
	size_t n, cap;
	bool listed;
};

static void
dir_free(struct fsd_dir *x)
{
	if (x == NULL)
		return;
	for (size_t i = 0; i < x->n; i++)
		free(x->e[i].name);
	free(x->e);
	free(x);
}

static int
dir_append(struct fsd *d, struct fsd_dir *x)
{
	for (size_t i = 0; i < d->rep.nrows; i++) {
		const struct scpp_value *nm = fs_reply_at(&d->rep, i, 2);
		struct fsd_dirent *de;

		x->self_ino = fs_reply_u64(&d->rep, i, 0);
		x->parent_ino = fs_reply_u64(&d->rep, i, 1);
		if (nm->type != SCPP_VT_STR)
			continue; /* the row of an empty directory */
		if (x->n == x->cap) {
			size_t cap = x->cap ? 2 * x->cap : 64;
			struct fsd_dirent *v = realloc(x->e, cap * sizeof(*v));

			if (v == NULL)
				return ENOMEM;
			x->e = v;
			x->cap = cap;
		}
		de = &x->e[x->n];
		de->name = strndup((const char *)nm->p, nm->len);
		if (de->name == NULL)
			return ENOMEM;
		de->oid = fs_reply_at(&d->rep, i, 3)->oid;
		fs_reply_attr(&d->rep, i, 4, &de->a);
		x->n++;
	}
	return 0;
}

/* List @p o into @p x: one block, or 2, 4, ... partitions when the listing
 * is over one reply's limits. */
static int
dir_list(struct fsd *d, fuse_req_t req, struct scpp_oid o, struct fsd_dir *x)
{
	struct fs_cred c;
	int e = 0;

	cred_of(req, &c);
	for (uint32_t parts = 1; parts <= 4096; parts *= 2) {
		for (uint32_t part = 0; part < parts; part++) {
			struct fsb f;

			fsb_init(&f, d->blk);
			fsb_listdir(&f, &d->vol, &c, o, parts, part);
			if ((e = fsd_exec(d, &f, FS_OP_READDIR)) != 0)
				break;
			if ((e = dir_append(d, x)) != 0)
				return e;
		}
		if (e == 0 && x->self_ino == 0 && (e = getattr_block(d, o)) == 0) {
			/* An empty directory lists no row: its own inode number
			 * from its attributes, and ".." gets the same (readdir
			 * skips entries whose d_ino is 0). */
			struct fs_attr a;

			fs_reply_attr(&d->rep, 0, 0, &a);
			x->self_ino = x->parent_ino = a.ino;
		}
		if (e == 0)
			return 0;
		if (d->rep.err != 7 && d->rep.err != 90 && d->rep.err != 62)
			return e; /* not a limit: E2BIG, EMSGSIZE, ETIME */
		for (size_t i = 0; i < x->n; i++)
			free(x->e[i].name);
		x->n = 0;
	}
	return e;
}

static void
op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fsd *d = FSD(req);
	struct fsd_dir *x;
	struct scpp_oid o;
	int e;

	if (!oid_of(req, ino, &o))
		return;
	if ((e = open_block(d, req, o, O_RDONLY, true)) != 0) {
		fuse_reply_err(req, e);
		return;
	}
	x = calloc(1, sizeof(*x));
	if (x == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)x;
	fi->cache_readdir = 0;
	if (fuse_reply_open(req, fi) == -ENOENT)
		dir_free(x);
}

static void
readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	       struct fuse_file_info *fi, bool plus)
{
	struct fsd *d = FSD(req);
	struct fsd_dir *x = (struct fsd_dir *)(uintptr_t)fi->fh;
	size_t used = 0;
	struct scpp_oid o;
	char *buf;
	int e;

	if (!oid_of(req, ino, &o))
		return;
	if (!x->listed) {
		/* At the first readdir, so that a rewinddir lists again. */
		if ((e = dir_list(d, req, o, x)) != 0) {
			fuse_reply_err(req, e);
			return;
		}
		x->listed = true;
	}
	if ((buf = malloc(size)) == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (size_t i = (size_t)off; i < x->n + 2; i++) {
		struct fuse_entry_param ep;
		const char *name;
		size_t k;

		memset(&ep, 0, sizeof(ep));
		if (i < 2) {
			name = i == 0 ? "." : "..";
			ep.attr.st_ino = i == 0 ? x->self_ino : x->parent_ino;
			ep.attr.st_mode = S_IFDIR;
		} else {
			name = x->e[i - 2].name;
			to_stat(&x->e[i - 2].a, &ep.attr);
		}
		if (!plus) {
			k = fuse_add_direntry(req, buf + used, size - used, name, &ep.attr,
					      (off_t)i + 1);
			if (k > size - used)
				break;
			used += k;
			continue;
		}
		if (i >= 2) {
			ep.attr_timeout = d->o.attr_timeout;
			ep.entry_timeout = d->o.entry_timeout;
			/* Measure first: an entry that does not fit takes no lookup. */
			k = fuse_add_direntry_plus(req, NULL, 0, name, &ep, (off_t)i + 1);
			if (k > size - used)
				break;
			ep.ino = fsd_node_ref(&d->nodes, x->e[i - 2].oid, &ep.generation);
			if (ep.ino == 0)
				break;
		}
		k = fuse_add_direntry_plus(req, buf + used, size - used, name, &ep, (off_t)i + 1);
		if (k > size - used)
			break;
		used += k;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void
op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	readdir_common(req, ino, size, off, fi, false);
}

static void
op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	       struct fuse_file_info *fi)
{
	readdir_common(req, ino, size, off, fi, true);
}

static void
op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	dir_free((struct fsd_dir *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void
op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)datasync;
	(void)fi;
	op_fsync(req, ino, 0, NULL);
}

static void
op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct fsd *d = FSD(req);
	struct statvfs sv;
	uint64_t bs;
	struct fsb f;
	int e;

	(void)ino;
	fsb_init(&f, d->blk);
	fsb_statfs(&f, &d->vol);
	if ((e = fsd_exec(d, &f, FS_OP_STATFS)) != 0 || d->rep.nrows != 1) {
		fuse_reply_err(req, e ? e : EIO);
		return;
	}
	memset(&sv, 0, sizeof(sv));
	bs = fs_reply_u64(&d->rep, 0, 0);
	if (bs == 0)
		bs = 4096;
	sv.f_bsize = bs;
	sv.f_frsize = bs;
	sv.f_blocks = fs_reply_u64(&d->rep, 0, 1) / bs;
	sv.f_bfree = sv.f_bavail = sv.f_blocks;
	sv.f_files = sv.f_ffree = sv.f_favail = fs_reply_u64(&d->rep, 0, 2);
	sv.f_namemax = FS_NAME_MAX;
	fuse_reply_statfs(req, &sv);
}

/* ---- extended attributes ---- */

/* The namespaces the blocks implement (fs_blocks.c xattr_perm()): others
 * (system.*, POSIX ACLs) are not supported. */
static bool
xattr_name_ok(fuse_req_t req, const char *name)
{
	if (strlen(name) > FS_XATTR_NAME_MAX) {
		fuse_reply_err(req, ERANGE);
		return false;
	}
	if (strncmp(name, "user.", 5) != 0 && strncmp(name, "trusted.", 8) != 0 &&
	    strncmp(name, "security.", 9) != 0) {
		fuse_reply_err(req, EOPNOTSUPP);
		return false;
	}
	return true;
}

static void
op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size,
	    int flags)
{
	struct fsd *d = FSD(req);
	struct scpp_oid o;
	struct fs_cred c;
	struct fsb f;

	if (!oid_of(req, ino, &o))
		return;
	if (!xattr_name_ok(req, name))
		return;
	if (size > FS_XATTR_SIZE_MAX) {
		fuse_reply_err(req, E2BIG);
		return;
	}
	cred_of(req, &c);
	fsb_init(&f, d->blk);
	fsb_setxattr(&f, &c, o, name, strlen(name), value, size, flags);
	fuse_reply_err(req, fsd_exec(d, &f, FS_OP_XATTR));
}

static void
op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct fsd *d = FSD(req);
	const struct scpp_value *v;
	struct scpp_oid o;
	struct fs_cred c;
	struct fsb f;
	int e;

	if (!oid_of(req, ino, &o))
		return;
	if (!xattr_name_ok(req, name))
		return;
	cred_of(req, &c);
	fsb_init(&f, d->blk);
	fsb_getxattr(&f, &c, o, name, strlen(name));
	if ((e = fsd_exec(d, &f, FS_OP_XATTR)) != 0 || d->rep.nrows != 1) {
		fuse_reply_err(req, e ? e : ENODATA);
		return;
	}
	v = fs_reply_at(&d->rep, 0, 0);
	if (v->type != SCPP_VT_BYTES && v->type != SCPP_VT_STR) {
		fuse_reply_err(req, EIO);
		return;
	}
	if (size == 0)
		fuse_reply_xattr(req, v->len);
	else if (size < v->len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, (const char *)v->p, v->len);
}

static void
op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct fsd *d = FSD(req);
	struct scpp_oid o;
	size_t need = 0;
	struct fsb f;
	char *buf;
	int e;

	if (!oid_of(req, ino, &o))
		return;
	fsb_init(&f, d->blk);
	fsb_listxattr(&f, o);
	if ((e = fsd_exec(d, &f, FS_OP_XATTR)) != 0) {
		fuse_reply_err(req, e);
		return;
	}
	for (size_t i = 0; i < d->rep.nrows; i++)
		if (fs_reply_at(&d->rep, i, 0)->type == SCPP_VT_STR)
			need += fs_reply_at(&d->rep, i, 0)->len + 1;
	if (size == 0) {
		fuse_reply_xattr(req, need);
		return;
	}
	if (size < need) {
		fuse_reply_err(req, ERANGE);
		return;
	}
	if ((buf = malloc(need + 1)) == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	need = 0;
	for (size_t i = 0; i < d->rep.nrows; i++) {
		const struct scpp_value *v = fs_reply_at(&d->rep, i, 0);

		if (v->type != SCPP_VT_STR)
			continue;
		memcpy(buf + need, v->p, v->len);
		need += v->len;
		buf[need++] = '\0';
	}
	fuse_reply_buf(req, buf, need);
	free(buf);
}

static void
op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct fsd *d = FSD(req);
	struct scpp_oid o;
	struct fs_cred c;
	struct fsb f;

	if (!oid_of(req, ino, &o))
		return;
	if (!xattr_name_ok(req, name))
		return;
	cred_of(req, &c);
	fsb_init(&f, d->blk);
	fsb_removexattr(&f, &c, o, name, strlen(name));
	fuse_reply_err(req, fsd_exec(d, &f, FS_OP_XATTR));
}

static void
op_init(void *userdata, struct fuse_conn_info *conn)
{
	const struct fsd *d = userdata;

	conn->max_write = d->write_max;
	/* O_TRUNC is part of open's block (fsb_open). */
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	/* Writes go to the node as they come: no write-back cache, whose
	 * dirty pages another mount could not see. */
	conn->want &= ~(unsigned int)FUSE_CAP_WRITEBACK_CACHE;
}

const struct fuse_lowlevel_ops fsd_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.access = op_access,
	.readlink = op_readlink,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.symlink = op_symlink,
	.link = op_link,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.rename = op_rename,
	.open = op_open,
	.create = op_create,
	.read = op_read,
	.write = op_write,
	.flush = op_flush,
	.release = op_release,
	.fsync = op_fsync,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.fsyncdir = op_fsyncdir,
	.statfs = op_statfs,
	.setxattr = op_setxattr,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.removexattr = op_removexattr,
};
