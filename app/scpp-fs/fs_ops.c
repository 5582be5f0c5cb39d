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
#include <time.h>
#include <unistd.h>

#include "fs_fuse.h"

/* The calling FUSE thread's context (fs_ctx.c). */
#define FSD(req) fsd_self((struct fsd *)fuse_req_userdata(req))

/* ---- plumbing ---- */

static uint64_t
now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/*
 * The attribute slot of directory node @p ino (fs_nodes.c): the stat group
 * at column @p c0 of the reply's row 0, as the change whose block was sent
 * when the slot's generation was @p gen left it; it answers the kernel's
 * next getattr of the directory until attr_timeout after now (never with
 * attr_timeout=0). A reply of another shape empties the slot.
 */
static void
slot_put(struct fsd *d, fuse_ino_t ino, unsigned int c0, uint64_t gen)
{
	struct fs_attr a;

	if (d->o.attr_timeout <= 0 || d->rep.nrows != 1 || d->rep.ncols < c0 + FS_STAT_COLS) {
		fsd_node_attr_drop(&d->sh->nodes, ino);
		return;
	}
	fs_reply_attr(&d->rep, 0, c0, &a);
	fsd_node_attr_put(&d->sh->nodes, ino, &a, now_ns() + (uint64_t)(d->o.attr_timeout * 1e9),
			  gen);
}

/* A request that may change node @p ino: its attribute slot is emptied. */
static void
slot_drop(struct fsd *d, fuse_ino_t ino)
{
	fsd_node_attr_drop(&d->sh->nodes, ino);
}

/* One FUSE request of kind @p op reached the daemon (the stats' requests=). */
static void
count_req(fuse_req_t req, enum fs_op op)
{
	FSD(req)->opst[op].requests++;
}

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
	for (unsigned int try = 0;; try++) {
		uint64_t t0 = now_ns();

		scpp_client_reply_free(&d->cr);
		d->ops++;
		rc = scpp_client_exec(d->cl, f->b, &d->cr);
		if (op < FS_OP_COUNT)
			d->opst[op].exchange_ns += now_ns() - t0;
		if (rc < 0) {
			if (d->errors_logged++ < 50)
				fprintf(stderr, "scpp-fs: exchange with %s failed: %s\n",
					scpp_client_server(d->cl), scpp_strerror(rc));
			return fs_errno_transport(rc);
		}
		rc = fs_reply_parse(&d->rep, d->cr.msg, d->cr.len);
		if (rc < 0)
			return EIO;
		/* The node's per-block time budget is wall-clock: a worker
		 * preempted on a busy host aborts a block that is well within
		 * its row and step limits. Nothing was applied, so it is sent
		 * again, a few times (a block that really needs more time keeps
		 * failing: ETIME, which a listing answers by splitting). */
		if (d->rep.outcome != SCPP_OUTCOME_ABORTED || d->rep.err != 62 ||
		    try >= FSD_ETIME_RETRIES)
			break;
		d->etime_retries++;
	}
	if (op < FS_OP_COUNT) {
		d->opst[op].blocks++;
		if (d->rep.commands > d->opst[op].max_commands)
			d->opst[op].max_commands = d->rep.commands;
		if (d->rep.end_rows > d->opst[op].max_rows)
			d->opst[op].max_rows = d->rep.end_rows;
	}
	e = fs_errno(op, &d->rep, f->nstale);
	if (e == EIO && d->errors_logged++ < 50)
		fprintf(stderr, "scpp-fs: block failed: %s %s (command %d)\n", d->rep.code,
			d->rep.message, d->rep.cmd);
	return e;
}

int
fsd_batch_blocks(struct fsd *d)
{
	for (unsigned int i = 0; i < SCPP_CLIENT_BATCH_MAX; i++)
		if (d->bblk[i] == NULL && (d->bblk[i] = malloc(sizeof(*d->bblk[i]))) == NULL)
			return ENOMEM;
	return 0;
}

void
fsd_batch_free(struct fsd *d)
{
	for (unsigned int i = 0; i < SCPP_CLIENT_BATCH_MAX; i++) {
		scpp_client_reply_free(&d->bcr[i]);
		free(d->bblk[i]);
		d->bblk[i] = NULL;
	}
}

/* Block @p i's reply (d->bcr[i], moved to d->cr) decoded into d->rep and
 * counted as fsd_exec() does; a block aborted by the time budget is sent
 * again alone (fsd_exec()). The local errno. */
static int
batch_one(struct fsd *d, unsigned int i, enum fs_op op)
{
	int e;

	scpp_client_reply_free(&d->cr);
	d->cr = d->bcr[i];
	memset(&d->bcr[i], 0, sizeof(d->bcr[i]));
	if (fs_reply_parse(&d->rep, d->cr.msg, d->cr.len) < 0)
		return EIO;
	if (d->rep.outcome == SCPP_OUTCOME_ABORTED && d->rep.err == 62) {
		d->etime_retries++;
		return fsd_exec(d, &d->bf[i], op);
	}
	d->opst[op].blocks++;
	if (d->rep.commands > d->opst[op].max_commands)
		d->opst[op].max_commands = d->rep.commands;
	if (d->rep.end_rows > d->opst[op].max_rows)
		d->opst[op].max_rows = d->rep.end_rows;
	e = fs_errno(op, &d->rep, d->bf[i].nstale);
	if (e == EIO && d->errors_logged++ < 50)
		fprintf(stderr, "scpp-fs: block failed: %s %s (command %d)\n", d->rep.code,
			d->rep.message, d->rep.cmd);
	return e;
}

unsigned int
fsd_exec_many(struct fsd *d, unsigned int n, enum fs_op op, int *err, fsd_each_fn each,
	      void *arg)
{
	const struct scpp_wire_block *bs[SCPP_CLIENT_BATCH_MAX];
	unsigned int i, ok = 0;
	uint64_t t0;
	int rc;

	for (i = 0; i < n; i++) {
		rc = fsb_done(&d->bf[i]);
		err[i] = rc == 0 ? 0 : rc == -EFBIG ? EFBIG : EINVAL;
		bs[i] = d->bf[i].b;
	}
	for (i = 0; i < n; i++)
		if (err[i] != 0)
			return 0; /* a builder error: nothing sent */
	if (n == 1) {
		err[0] = fsd_exec(d, &d->bf[0], op);
		if (err[0] == 0 && each != NULL)
			each(d, 0, arg);
		return err[0] == 0;
	}
	fsd_session_renew(d);
	d->ops += n;
	t0 = now_ns();
	rc = scpp_client_exec_many(d->cl, bs, n, d->bcr);
	d->opst[op].exchange_ns += now_ns() - t0;
	if (rc < 0) {
		if (d->errors_logged++ < 50)
			fprintf(stderr, "scpp-fs: exchange with %s failed: %s\n",
				scpp_client_server(d->cl), scpp_strerror(rc));
		for (i = 0; i < n; i++)
			err[i] = fs_errno_transport(rc);
		return 0;
	}
	d->batches++;
	d->batch_blocks += n;
	if (n > d->batch_max)
		d->batch_max = n;
	for (i = 0; i < n; i++) {
		err[i] = batch_one(d, i, op);
		if (err[i] == 0 && each != NULL)
			each(d, i, arg);
		if (err[i] == 0 && ok == i)
			ok++;
	}
	return ok;
}

void
fsd_stats_print(const struct fsd *main, FILE *out)
{
	struct fsd sum;
	static const char *const names[FS_OP_COUNT] = {
		[FS_OP_LOOKUP] = "lookup", [FS_OP_GETATTR] = "getattr", [FS_OP_SETATTR] = "setattr",
		[FS_OP_CREATE] = "create", [FS_OP_LINK] = "link", [FS_OP_UNLINK] = "unlink",
		[FS_OP_RENAME] = "rename", [FS_OP_READLINK] = "readlink", [FS_OP_OPEN] = "open",
		[FS_OP_READ] = "read", [FS_OP_WRITE] = "write", [FS_OP_READDIR] = "readdir",
		[FS_OP_STATFS] = "statfs", [FS_OP_FSYNC] = "fsync", [FS_OP_ACCESS] = "access",
		[FS_OP_XATTR] = "xattr", [FS_OP_OTHER] = "other",
	};

	const struct fsd *d = &sum;
	struct scpp_client_stats cs, cst;

	memset(&sum, 0, sizeof(sum));
	memset(&cst, 0, sizeof(cst));
	for (size_t k = 0; main->sh != NULL && k < main->sh->nall; k++) {
		const struct fsd *c = main->sh->all[k];

		if (c->cl != NULL) {
			scpp_client_stats_get(c->cl, &cs);
			cst.exchanges += cs.exchanges;
			cst.steered += cs.steered;
			cst.owners_learned += cs.owners_learned;
			cst.owner_sessions += cs.owner_sessions;
			cst.owner_refused += cs.owner_refused;
			cst.send_calls += cs.send_calls;
			cst.recv_calls += cs.recv_calls;
			cst.dgrams_sent += cs.dgrams_sent;
			cst.dgrams_recv += cs.dgrams_recv;
			cst.bytes_sent += cs.bytes_sent;
			cst.bytes_recv += cs.bytes_recv;
			cst.batched += cs.batched;
			cst.stashed += cs.stashed;
			cst.retransmits += cs.retransmits;
		}
		sum.neg_blocks += c->neg_blocks;
		sum.batches += c->batches;
		sum.batch_blocks += c->batch_blocks;
		sum.batch_max = SCPP_MAX(sum.batch_max, c->batch_max);

		for (int i = 0; i < FS_OP_COUNT; i++) {
			sum.opst[i].blocks += c->opst[i].blocks;
			sum.opst[i].requests += c->opst[i].requests;
			sum.opst[i].exchange_ns += c->opst[i].exchange_ns;
			sum.opst[i].max_commands = SCPP_MAX(sum.opst[i].max_commands,
							    c->opst[i].max_commands);
			sum.opst[i].max_rows = SCPP_MAX(sum.opst[i].max_rows, c->opst[i].max_rows);
		}
		sum.pages_read += c->pages_read;
		sum.list_smaller += c->list_smaller;
		sum.rebalances += c->rebalances;
		sum.etime_retries += c->etime_retries;
		sum.nocap_hits += c->nocap_hits;
		sum.attr_hits += c->attr_hits;
		sum.dir_cached += c->dir_cached;
		sum.dir_relist += c->dir_relist;
		sum.flushes += c->flushes;
	}
	for (int i = 0; i < FS_OP_COUNT; i++)
		if (d->opst[i].blocks > 0 || d->opst[i].requests > 0)
			fprintf(out,
				"scpp-fs: stats op=%s blocks=%llu max_commands=%llu max_rows=%llu "
				"requests=%llu exchange_us=%llu\n",
				names[i], (unsigned long long)d->opst[i].blocks,
				(unsigned long long)d->opst[i].max_commands,
				(unsigned long long)d->opst[i].max_rows,
				(unsigned long long)d->opst[i].requests,
				(unsigned long long)(d->opst[i].exchange_ns / 1000));
	fprintf(out,
		"scpp-fs: stats pages_read=%llu rebalances=%llu etime_retries=%llu contexts=%zu "
		"contexts_used_max=%zu nocap_hits=%llu attr_hits=%llu list_smaller=%llu\n",
		(unsigned long long)d->pages_read, (unsigned long long)d->rebalances,
		(unsigned long long)d->etime_retries, main->sh ? main->sh->nall : 0,
		main->sh ? main->sh->used_max : 0, (unsigned long long)d->nocap_hits,
		(unsigned long long)d->attr_hits, (unsigned long long)d->list_smaller);
	/* The kernel's readdir cache (docs/FS.md §3): opendirs that let the
	 * kernel serve the listing it holds, and those that made it list again. */
	fprintf(out, "scpp-fs: stats dir_cached=%llu dir_relist=%llu flushes=%llu\n",
		(unsigned long long)d->dir_cached, (unsigned long long)d->dir_relist,
		(unsigned long long)d->flushes);
	/* lib/client's, over the contexts' current clients: how many blocks
	 * went straight to a learnt owner, and the owner sessions opened. */
	fprintf(out,
		"scpp-fs: stats exchanges=%llu steered=%llu owners_learned=%llu "
		"owner_sessions=%llu owner_refused=%llu\n",
		(unsigned long long)cst.exchanges, (unsigned long long)cst.steered,
		(unsigned long long)cst.owners_learned, (unsigned long long)cst.owner_sessions,
		(unsigned long long)cst.owner_refused);
	/* The system calls of the transport (docs/FS.md §3): a block's
	 * datagrams go out in one sendmmsg(), replies come in by recvmmsg();
	 * a large read or write is a batch of blocks in flight together. */
	fprintf(out,
		"scpp-fs: stats send_calls=%llu recv_calls=%llu dgrams_sent=%llu dgrams_recv=%llu "
		"retransmits=%llu batches=%llu batch_blocks=%llu batch_max=%llu batched=%llu "
		"stashed=%llu\n",
		(unsigned long long)cst.send_calls, (unsigned long long)cst.recv_calls,
		(unsigned long long)cst.dgrams_sent, (unsigned long long)cst.dgrams_recv,
		(unsigned long long)cst.retransmits, (unsigned long long)d->batches,
		(unsigned long long)d->batch_blocks, (unsigned long long)d->batch_max,
		(unsigned long long)cst.batched, (unsigned long long)cst.stashed);
	/* Datagram sizes: -o scpp_dgram (what blocks are cut to) and the
	 * payload bytes both ways, so bytes per datagram shows what was used. */
	fprintf(out, "scpp-fs: stats dgram=%u bytes_sent=%llu bytes_recv=%llu\n", main->o.dgram,
		(unsigned long long)cst.bytes_sent, (unsigned long long)cst.bytes_recv);
	/* Negative entries (fs_neg.c): lookups of absent names answered here. */
	if (main->sh != NULL)
		fprintf(out, "scpp-fs: stats neg_hits=%llu neg_puts=%llu neg_refused=%llu "
			"neg_blocks=%llu\n",
			(unsigned long long)main->sh->neg.hits, (unsigned long long)main->sh->neg.puts,
			(unsigned long long)main->sh->neg.refused, (unsigned long long)d->neg_blocks);
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
	if (!fsd_node_oid(&FSD(req)->sh->nodes, ino, o)) {
		fuse_reply_err(req, ESTALE);
		return false;
	}
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
	fsd_node_open(&d->sh->nodes, ino, k);
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
	e.ino = fsd_node_ref(&d->sh->nodes, oid, &e.generation);
	if (e.ino == 0) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	e.attr_timeout = d->o.attr_timeout;
	e.entry_timeout = d->o.entry_timeout;
	if (fi == NULL) {
		if (fuse_reply_entry(req, &e) == -ENOENT) /* the request was interrupted */
			fsd_node_forget(&d->sh->nodes, e.ino, 1, &oid, &(bool){false});
	} else {
		d_open(d, e.ino, 1);
		if (fuse_reply_create(req, &e, fi) == -ENOENT) {
			d_open(d, e.ino, -1);
			fsd_node_forget(&d->sh->nodes, e.ino, 1, &oid, &(bool){false});
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
	if (!fsd_node_mark_unlinked(&d->sh->nodes, oid))
		reap(d, oid);
}

/* Is column @p c of row 0 a true bool (a reply's grow or shrink flag)? */
static bool
flag_at(const struct fsd *d, unsigned int c)
{
	const struct scpp_value *v;

	if (d->rep.nrows < 1 || c >= d->rep.ncols)
		return false;
	v = fs_reply_at(&d->rep, 0, c);
	return v->type == SCPP_VT_BOOL && v->b;
}

/*
 * Directory @p dir should have a page more (@p grow) or less: the split or
 * merge block, after the operation was answered. Each rechecks its
 * condition, so one lost (a failure, another mount first) only defers the
 * work to the next change of the directory; pages stay consistent either
 * way.
 */
static void
dir_rebalance(struct fsd *d, struct scpp_oid dir, bool grow)
{
	struct fsb f;

	fsb_init(&f, d->blk);
	if (grow)
		fsb_dir_split(&f, dir);
	else
		fsb_dir_merge(&f, dir);
	if (fsd_exec(d, &f, FS_OP_OTHER) == 0)
		d->rebalances++;
}

/* ---- lookup, forget, getattr, setattr, access ---- */

/* A lookup found nothing: a negative entry the kernel keeps for @p t s
 * (docs/FS.md §3). */
static void
reply_negative(fuse_req_t req, double t)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	e.entry_timeout = t;
	fuse_reply_entry(req, &e);
}

/*
 * Read the page of directory @p dir that holds the names of hash @p h (a
 * listing block of one page, names only) and keep it as a snapshot for
 * entry_timeout (fs_neg.c). A page the node cannot list in one block is
 * not kept.
 */
static void
neg_snapshot(struct fsd *d, const struct fs_cred *c, struct scpp_oid dir, uint64_t h)
{
	uint64_t hs[512], gen = fsd_neg_gen(&d->sh->neg), sent = now_ns(), pk;
	uint64_t pos = fs_key_rev(h);
	size_t n = 0;
	struct fsb f;

	fsb_init(&f, d->blk);
	/* Position 0 is the listing's start (its atime rule): position 1 is
	 * in the same page at any level. */
	fsb_listdir(&f, &d->vol, c, dir, pos == 0 ? 1 : pos, 0, 1, 0, false);
	if (fsd_exec(d, &f, FS_OP_LOOKUP) != 0 || d->rep.nrows == 0 ||
	    d->rep.ncols <= FS_L_KEY || d->rep.nrows > SCPP_ARRAY_SIZE(hs))
		return;
	pk = fs_reply_u64(&d->rep, 0, FS_L_PAGE);
	for (size_t i = 0; i < d->rep.nrows; i++) {
		if (fs_reply_at(&d->rep, i, FS_L_NAME)->type == SCPP_VT_NIL)
			continue; /* an empty page's one row */
		if (fs_reply_u64(&d->rep, i, FS_L_PAGE) != pk)
			return;
		hs[n++] = fs_reply_u64(&d->rep, i, FS_L_KEY);
	}
	d->neg_blocks++;
	fsd_neg_put(&d->sh->neg, dir, pk, hs, n,
		    sent + (uint64_t)(d->o.entry_timeout * 1e9), gen);
}

static void
op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fsd *d = FSD(req);
	struct scpp_oid p;
	struct fs_cred c;
	uint64_t h, left;
	struct fsb f;
	int e;

	count_req(req, FS_OP_LOOKUP);

	if (!oid_of(req, parent, &p) || !name_ok(req, name))
		return;
	h = fs_name_key(name, strlen(name));
	if (d->o.entry_timeout > 0 && fsd_neg_absent(&d->sh->neg, p, h, now_ns(), &left)) {
		reply_negative(req, (double)left / 1e9);
		return;
	}
	cred_of(req, &c);
	fsb_init(&f, d->blk);
	fsb_lookup(&f, &d->vol, &c, p, name, strlen(name));
	e = fsd_exec(d, &f, FS_OP_LOOKUP);
	if (e != 0 && e != ENOENT) {
		fuse_reply_err(req, e);
		return;
	}
	if (e == ENOENT || d->rep.nrows != 1) {
		/* Absent: the kernel may keep that for entry_timeout; at the
		 * second such miss in the directory within entry_timeout the
		 * name's page is read, so that the next names looked up in it
		 * are answered here (a create's lookup of a new name). */
		if (d->o.entry_timeout > 0 &&
		    fsd_neg_miss(&d->sh->neg, p, now_ns(), (uint64_t)(d->o.entry_timeout * 1e9)))
			neg_snapshot(d, &c, p, h);
		reply_negative(req, d->o.entry_timeout);
		return;
	}
	reply_entry(req, fs_reply_at(&d->rep, 0, 0)->oid, 1, NULL);
}

static void
forget_one(struct fsd *d, fuse_ino_t ino, uint64_t n)
{
	struct scpp_oid oid;
	bool gone_link;

	if (fsd_node_forget(&d->sh->nodes, ino, n, &oid, &gone_link) && gone_link)
		reap(d, oid);
}

static void
op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	count_req(req, FS_OP_OTHER);
	forget_one(FSD(req), ino, nlookup);
	fuse_reply_none(req);
}

static void
op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	count_req(req, FS_OP_OTHER);
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
	struct fsd *d = FSD(req);
	struct scpp_oid o;
	struct fs_attr a;
	struct stat st;
	uint64_t left;
	int e;

	count_req(req, FS_OP_GETATTR);

	(void)fi;
	if (!oid_of(req, ino, &o))
		return;
	if (fsd_node_attr_take(&d->sh->nodes, ino, now_ns(), &a, &left)) {
		/* The slot: valid for what is left of its attr_timeout. */
		d->attr_hits++;
		to_stat(&a, &st);
		fuse_reply_attr(req, &st, (double)left / 1e9);
		return;
	}
	if ((e = getattr_block(d, o)) != 0)
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
change_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
	       struct fuse_file_info *fi)
{
	struct fsd *d = FSD(req);
	struct fs_setattr sa = {.cached_size = UINT64_MAX};
	struct scpp_oid o;
	struct fs_cred c;
	struct fsb f;
	int e;

	count_req(req, FS_OP_SETATTR);

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

/* Directory @p ino may change: its slot emptied before and after. */
static void
op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
	   struct fuse_file_info *fi)
{
	/* The request is gone once answered: the table is taken first. */
	struct fsd_nodes *t = &FSD(req)->sh->nodes;

	fsd_node_attr_drop(t, ino);
	change_setattr(req, ino, attr, to_set, fi);
	fsd_node_attr_drop(t, ino);
}

static void
op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct fsd *d = FSD(req);
	struct scpp_oid o;
	struct fs_cred c;
	struct fsb f;

	count_req(req, FS_OP_ACCESS);

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
	     uint64_t mode, uint64_t rdev, const char *target, bool excl, struct scpp_oid *pp,
	     uint64_t *gen)
{
	struct fsd *d = FSD(req);
	struct scpp_oid p;
	struct fs_cred c;
	struct fsb f;
	int e;

	if (!oid_of(req, parent, &p) || !name_ok(req, name))
		return -1;
	*pp = p;
	cred_of(req, &c);
	fsb_init(&f, d->blk);
	fsb_create(&f, &d->vol, &c, p, name, strlen(name), kind, mode, rdev, target,
		   target ? strlen(target) : 0, excl);
	*gen = fsd_node_attr_gen(&d->sh->nodes, parent);
	fsd_neg_bump(&d->sh->neg);
	e = fsd_exec(d, &f, FS_OP_CREATE);
	if ((e == 0 && d->rep.nrows == 1) || e == EEXIST)
		fsd_neg_change(&d->sh->neg, p, fs_name_key(name, strlen(name)), true);
	return e;
}

static void
make_node(fuse_req_t req, fuse_ino_t parent, const char *name, enum fs_kind kind, uint64_t mode,
	  uint64_t rdev, const char *target)
{
	struct fsd *d = FSD(req);
	struct scpp_oid p;
	uint64_t gen;
	int e = create_block(req, parent, name, kind, mode, rdev, target, true, &p, &gen);
	bool grow;

	if (e < 0)
		return;
	if (e != 0 || d->rep.nrows != 1) {
		slot_drop(d, parent);
		fuse_reply_err(req, e ? e : EIO);
		return;
	}
	grow = flag_at(d, 1 + FS_STAT_COLS);
	slot_put(d, parent, 2 + FS_STAT_COLS, gen);
	reply_entry(req, fs_reply_at(&d->rep, 0, 0)->oid, 1, NULL);
	if (grow)
		dir_rebalance(d, p, true);
}

static void
op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	count_req(req, FS_OP_CREATE);
	make_node(req, parent, name, FS_K_DIR, FS_S_IFDIR | (mode & 07777), 0, NULL);
}

static void
op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	uint64_t type = mode & FS_S_IFMT;

	count_req(req, FS_OP_CREATE);

	if (type == 0)
		type = FS_S_IFREG;
	make_node(req, parent, name, type == FS_S_IFREG ? FS_K_FILE : FS_K_SPECIAL,
		  type | (mode & 07777), rdev, NULL);
}

static void
op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	count_req(req, FS_OP_CREATE);
	if (strlen(link) > FS_SYMLINK_MAX) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	make_node(req, parent, name, FS_K_SYMLINK, FS_S_IFLNK | 0777, 0, link);
}

static void
change_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct fsd *d = FSD(req);
	struct scpp_oid o, p;
	struct fs_cred c;
	struct fsb f;
	bool grow;
	int e;

	count_req(req, FS_OP_LINK);

	if (!oid_of(req, ino, &o) || !oid_of(req, newparent, &p) || !name_ok(req, newname))
		return;
	cred_of(req, &c);
	fsb_init(&f, d->blk);
	fsb_link(&f, &d->vol, &c, o, p, newname, strlen(newname));
	fsd_neg_bump(&d->sh->neg);
	e = fsd_exec(d, &f, FS_OP_LINK);
	if ((e == 0 && d->rep.nrows == 1) || e == EEXIST)
		fsd_neg_change(&d->sh->neg, p, fs_name_key(newname, strlen(newname)), true);
	if (e != 0 || d->rep.nrows != 1) {
		fuse_reply_err(req, e ? e : EIO);
		return;
	}
	grow = flag_at(d, FS_STAT_COLS);
	reply_entry(req, o, 0, NULL);
	if (grow)
		dir_rebalance(d, p, true);
}

/* Directory @p newparent may change: its slot emptied before and after. */
static void
op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	/* The request is gone once answered: the table is taken first. */
	struct fsd_nodes *t = &FSD(req)->sh->nodes;

	fsd_node_attr_drop(t, newparent);
	change_link(req, ino, newparent, newname);
	fsd_node_attr_drop(t, newparent);
}

/* ---- unlink, rmdir, rename ---- */

static void
remove_entry(fuse_req_t req, fuse_ino_t parent, const char *name, bool dir)
{
	struct fsd *d = FSD(req);
	struct scpp_oid p, gone;
	struct fs_cred c;
	struct fsb f;
	bool fold, shrink;
	uint64_t gen;
	int e;

	if (!oid_of(req, parent, &p) || !name_ok(req, name))
		return;
	cred_of(req, &c);
	/* Whether the unlink may take the inode with its last link: when no
	 * file handle of this mount is open at all (the kernel names the
	 * entry, not the inode, so "not this one" is not known cheaply);
	 * otherwise it is reaped when the kernel forgets it. */
	fold = !dir && fsd_nodes_open(&d->sh->nodes) == 0;
	fsb_init(&f, d->blk);
	fsb_unlink(&f, &d->vol, &c, p, name, strlen(name), dir, fold);
	gen = fsd_node_attr_gen(&d->sh->nodes, parent);
	fsd_neg_bump(&d->sh->neg);
	e = fsd_exec(d, &f, FS_OP_UNLINK);
	if (e == 0 || e == ENOENT)
		fsd_neg_change(&d->sh->neg, p, fs_name_key(name, strlen(name)), false);
	if (e != 0) {
		slot_drop(d, parent);
		fuse_reply_err(req, e);
		return;
	}
	shrink = flag_at(d, fold ? 3 : 2);
	slot_put(d, parent, fold ? 4 : 3, gen);
	if (fold && flag_at(d, 2)) {
		fuse_reply_err(req, 0); /* reaped in the block */
	} else if (d->rep.nrows == 1 && fs_reply_u64(&d->rep, 0, 1) == 0) {
		gone = fs_reply_at(&d->rep, 0, 0)->oid;
		fuse_reply_err(req, 0);
		unlinked(d, gone);
	} else {
		fuse_reply_err(req, 0);
	}
	if (shrink)
		dir_rebalance(d, p, false);
}

static void
op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	count_req(req, FS_OP_UNLINK);
	remove_entry(req, parent, name, false);
}

static void
op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	/* The request is gone once answered: the table is taken first. */
	struct fsd_nodes *t = &FSD(req)->sh->nodes;

	count_req(req, FS_OP_UNLINK);
	/* The removed directory loses its links: its slot, which the kernel
	 * does not name, goes with every other. */
	fsd_nodes_attr_drop_all(t);
	remove_entry(req, parent, name, true);
	fsd_nodes_attr_drop_all(t);
}

static void
change_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
	      const char *newname, unsigned int flags)
{
	struct fsd *d = FSD(req);
	struct scpp_oid p, np;
	struct fs_cred c;
	struct fsb f;
	bool grow, shrink;
	int e;

	count_req(req, FS_OP_RENAME);

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
	fsd_neg_bump(&d->sh->neg);
	if ((e = fsd_exec(d, &f, FS_OP_RENAME)) != 0) {
		fuse_reply_err(req, e);
		return;
	}
	/* Moved: the old name is gone, the new one exists (an exchange keeps
	 * both; no row: source and target were one inode, nothing moved). */
	if (d->rep.nrows == 1 && !(flags & FS_RENAME_EXCHANGE)) {
		fsd_neg_change(&d->sh->neg, p, fs_name_key(name, strlen(name)), false);
		fsd_neg_change(&d->sh->neg, np, fs_name_key(newname, strlen(newname)), true);
	}
	grow = flag_at(d, 2);
	shrink = flag_at(d, 3);
	if (d->rep.nrows == 1 && fs_reply_at(&d->rep, 0, 0)->type == SCPP_VT_OID &&
	    !(flags & FS_RENAME_EXCHANGE) && fs_reply_u64(&d->rep, 0, 1) == 0) {
		struct scpp_oid gone = fs_reply_at(&d->rep, 0, 0)->oid;

		fuse_reply_err(req, 0);
		unlinked(d, gone);
	} else {
		fuse_reply_err(req, 0);
	}
	if (grow)
		dir_rebalance(d, np, true);
	if (shrink)
		dir_rebalance(d, p, false);
}

/* Directories @p parent and @p newparent may change. */
static void
op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
	  const char *newname, unsigned int flags)
{
	/* The request is gone once answered: the table is taken first. */
	struct fsd_nodes *t = &FSD(req)->sh->nodes;

	/* And a moved directory (its ctime, its ".."), which the kernel
	 * does not name: every slot. */
	fsd_nodes_attr_drop_all(t);
	change_rename(req, parent, name, newparent, newname, flags);
	fsd_nodes_attr_drop_all(t);
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

	count_req(req, FS_OP_READLINK);

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

	count_req(req, FS_OP_OPEN);

	if (!oid_of(req, ino, &o))
		return;
	if ((e = open_block(d, req, o, fi->flags, false)) != 0) {
		fuse_reply_err(req, e);
		return;
	}
	fi->keep_cache = 0;
	fi->noflush = 1; /* FLUSH would find nothing to do (op_flush()) */
	d_open(d, ino, 1);
	if (fuse_reply_open(req, fi) != 0)
		d_open(d, ino, -1); /* interrupted: no release will come */
}

static void
op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
	  struct fuse_file_info *fi)
{
	struct fsd *d = FSD(req);
	bool excl = fi->flags & O_EXCL, grow;
	struct scpp_oid o, p;
	uint64_t gen;
	int e = create_block(req, parent, name, FS_K_FILE, FS_S_IFREG | (mode & 07777), 0, NULL,
			     excl, &p, &gen);

	count_req(req, FS_OP_CREATE);
	if (e < 0)
		return;
	fi->noflush = 1; /* as op_open() */
	if (e != 0 || d->rep.nrows != 1)
		slot_drop(d, parent);
	if (e == EEXIST && !excl && d->rep.cmd == fs_create_exists_cmd()) {
		/* Another mount made it since the kernel's lookup: open it. */
		struct fs_cred c;
		struct fsb f;

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
	grow = flag_at(d, 1 + FS_STAT_COLS);
	slot_put(d, parent, 2 + FS_STAT_COLS, gen);
	reply_entry(req, fs_reply_at(&d->rep, 0, 0)->oid, 1, fi);
	if (grow)
		dir_rebalance(d, p, true);
}

/* Bytes one block may read or write at @p off: FS_PIECES_MAX chunks. */
static uint64_t
span_at(const struct fs_vol *v, uint64_t off, uint64_t len, uint64_t cap)
{
	uint64_t room = v->chunk * FS_PIECES_MAX - off % v->chunk;

	return SCPP_MIN(SCPP_MIN(len, room), cap);
}

/* A read block's bytes into the request's buffer (fsd_exec_many()). */
struct read_acc {
	uint64_t at[SCPP_CLIENT_BATCH_MAX], len[SCPP_CLIENT_BATCH_MAX];
	ssize_t got[SCPP_CLIENT_BATCH_MAX];
	uint64_t base;
};

static void
read_each(struct fsd *d, unsigned int i, void *arg)
{
	struct read_acc *a = arg;

	a->got[i] = fs_read_assemble(&d->vol, &d->rep, a->at[i], a->len[i],
				     d->io + (a->at[i] - a->base));
}

static void
op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct fsd *d = FSD(req);
	uint64_t done = 0, len = SCPP_MIN((uint64_t)size, FSD_REQ_MAX);
	struct read_acc a = {.base = (uint64_t)off};
	int err[SCPP_CLIENT_BATCH_MAX];
	bool one = span_at(&d->vol, (uint64_t)off, len, FSD_READ_MAX) == len;
	struct scpp_oid o;

	count_req(req, FS_OP_READ);

	(void)fi;
	if (!oid_of(req, ino, &o))
		return;
	if (!one && fsd_batch_blocks(d) != 0) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	/* Blocks of at most FSD_READ_MAX bytes and FS_PIECES_MAX chunks, up
	 * to SCPP_CLIENT_BATCH_MAX in flight together; each is consistent by
	 * itself (docs/FS.md "Consistency"). The bytes up to the first short
	 * or failed piece count (a piece reads short at the end of the file). */
	while (done < len) {
		unsigned int n = 0;
		uint64_t at = (uint64_t)off + done;

		while (at < (uint64_t)off + len && n < SCPP_CLIENT_BATCH_MAX) {
			uint64_t k = span_at(&d->vol, at, (uint64_t)off + len - at, FSD_READ_MAX);

			fsb_init(&d->bf[n], one ? d->blk : d->bblk[n]);
			fsb_read(&d->bf[n], &d->vol, o, at, k);
			a.at[n] = at;
			a.len[n] = k;
			a.got[n] = -1;
			at += k;
			n++;
		}
		(void)fsd_exec_many(d, n, FS_OP_READ, err, read_each, &a);
		for (unsigned int i = 0; i < n; i++) {
			if (err[i] != 0 || a.got[i] < 0) {
				if (done == 0) {
					fuse_reply_err(req, err[i] != 0 ? err[i] : EIO);
					return;
				}
				goto reply;
			}
			done += (uint64_t)a.got[i];
			if ((uint64_t)a.got[i] < a.len[i])
				goto reply;
		}
	}
reply:
	fuse_reply_buf(req, (const char *)d->io, done);
}

/*
 * A write request of up to FSD_REQ_MAX bytes without O_APPEND: pieces of
 * write_max bytes (and FS_PIECES_MAX chunks), SCPP_CLIENT_BATCH_MAX at a
 * time in flight together. The node runs them in the order sent unless a
 * datagram is lost (docs/FS.md §3): the count returned is the bytes of
 * the pieces that succeeded in a row from the first.
 */
static void
write_batched(fuse_req_t req, struct fsd *d, struct scpp_oid o, const char *buf, size_t size,
	      uint64_t off)
{
	uint64_t done = 0;
	int err[SCPP_CLIENT_BATCH_MAX];

	while (done < size) {
		uint64_t at = off + done, len[SCPP_CLIENT_BATCH_MAX], sent = 0;
		unsigned int n = 0, ok;

		while (done + sent < size && n < SCPP_CLIENT_BATCH_MAX) {
			len[n] = span_at(&d->vol, at + sent, size - done - sent, d->write_max);
			fsb_init(&d->bf[n], d->bblk[n]);
			fsb_write(&d->bf[n], &d->vol, o, at + sent, buf + done + sent, len[n],
				  UINT64_MAX, false);
			sent += len[n];
			n++;
		}
		ok = fsd_exec_many(d, n, FS_OP_WRITE, err, NULL, NULL);
		for (unsigned int i = 0; i < ok; i++)
			done += len[i];
		if (ok < n) {
			if (done == 0) {
				fuse_reply_err(req, err[ok]);
				return;
			}
			break;
		}
	}
	fuse_reply_write(req, done);
}

static void
op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
	 struct fuse_file_info *fi)
{
	struct fsd *d = FSD(req);
	uint64_t done = 0, at = (uint64_t)off;
	/* With the write-back cache the kernel places O_APPEND writes itself
	 * (and writes pages back through any handle, at their offsets). */
	bool append = !d->o.writeback && (fi->flags & O_APPEND);
	struct scpp_oid o;

	count_req(req, FS_OP_WRITE);

	if (!oid_of(req, ino, &o))
		return;
	if (!append && size > d->write_max && fsd_batch_blocks(d) == 0) {
		write_batched(req, d, o, buf, size, at);
		return;
	}
	/* One block, or O_APPEND: each piece asserts the size the one before
	 * left, so they go one at a time. */
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

/* Nothing is buffered in the daemon, so open and create reply with
 * noflush (FOPEN_NOFLUSH): close(2) sends no FLUSH and waits for none. The
 * kernel still sends it with -o writeback_cache (after writing the file's
 * dirty pages back itself, which is what makes close(2) a point of
 * visibility there). */
static void
op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	count_req(req, FS_OP_OTHER);
	FSD(req)->flushes++;
	(void)ino, (void)fi;
	fuse_reply_err(req, 0); /* nothing is buffered here */
}

static void
op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	count_req(req, FS_OP_OTHER);
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

	count_req(req, FS_OP_FSYNC);

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

/*
 * Listing a directory: one page per block (docs/FS.md §1). The kernel's
 * offsets are positions in the 62-bit key space: "." is 0 -> 1, ".." 1 ->
 * 2, and an entry with key k has d_off k + 3 (the next listing starts at
 * key k + 1). So an offset never depends on what else the directory holds,
 * and telldir/seekdir keep working across inserts, deletes, splits and
 * merges: every entry present throughout is listed exactly once. The page
 * last read is kept with the handle (a snapshot of its interval) and
 * served until the listing moves past it.
 */
struct fsd_dirent {
	char *name;
	uint64_t key;
	struct scpp_oid oid;
	struct fs_attr a;
};

struct fsd_dir {
	uint64_t self_ino, parent_ino;
	bool have_ino;
	struct fsd_dirent *e;  /* the page read last, sorted by key */
	size_t n, cap;
	bool buf;              /* e holds the names of keys [lo, hi] */
	uint64_t lo, hi;
	size_t next;           /* where a listing at next_off goes on (equal keys) */
	off_t next_off;
	unsigned int span_cap; /* 0 once the directory had too many pages to enumerate */
	bool stat;             /* e has each name's stat (readdirplus), not just ino, type */
};

static void
dir_clear(struct fsd_dir *x)
{
	for (size_t i = 0; i < x->n; i++)
		free(x->e[i].name);
	x->n = 0;
	x->buf = false;
	x->next_off = -1;
}

static void
dir_free(struct fsd_dir *x)
{
	if (x == NULL)
		return;
	dir_clear(x);
	free(x->e);
	free(x);
}

static int
dirent_cmp(const void *a, const void *b)
{
	const struct fsd_dirent *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Append the rows of a listing reply; *@p pk is the page key they came from. */
static int
dir_append(struct fsd *d, struct fsd_dir *x, uint64_t *pk)
{
	for (size_t i = 0; i < d->rep.nrows; i++) {
		const struct scpp_value *nm = fs_reply_at(&d->rep, i, FS_L_NAME);
		struct fsd_dirent *de;

		x->self_ino = fs_reply_u64(&d->rep, i, FS_L_SELF);
		x->parent_ino = fs_reply_u64(&d->rep, i, FS_L_PARENT);
		x->have_ino = true;
		*pk = fs_reply_u64(&d->rep, i, FS_L_PAGE);
		if (nm->type != SCPP_VT_STR)
			continue; /* the row of an empty page */
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
		de->key = fs_key_rev(fs_reply_u64(&d->rep, i, FS_L_KEY));
		de->oid = fs_reply_at(&d->rep, i, FS_L_OID)->oid;
		if (d->rep.ncols >= FS_L_STAT + FS_STAT_COLS) {
			fs_reply_attr(&d->rep, i, FS_L_STAT, &de->a);
		} else {
			memset(&de->a, 0, sizeof(de->a));
			de->a.ino = fs_reply_u64(&d->rep, i, FS_L_STAT + FS_C_INO);
			de->a.mode = fs_reply_u64(&d->rep, i, FS_L_STAT + FS_C_MODE);
		}
		x->n++;
	}
	return 0;
}

/* Canonical errnos of the node's limits a smaller listing block avoids:
 * E2BIG (rows), EFBIG (bytes), ETIME (steps, time), EMSGSIZE (result). */
static bool
list_limit(uint32_t err)
{
	return err == 7 || err == 27 || err == 62 || err == 90;
}

/* One listing at (span, parts): every partition of the interval that holds
 * @p pos, appended to @p x (all of one interval: *@p moved when a split or
 * merge in between changed it). */
static int
dir_fetch_parts(struct fsd *d, const struct fs_cred *c, struct scpp_oid o, uint64_t pos,
		unsigned int span, uint32_t parts, bool plus, struct fsd_dir *x, uint64_t *pk0,
		bool *moved)
{
	int e;

	*moved = false;
	for (uint32_t part = 0; part < parts; part++) {
		struct fsb f;
		uint64_t pk = 0;

		fsb_init(&f, d->blk);
		fsb_listdir(&f, &d->vol, c, o, pos, span, parts, part, plus);
		if ((e = fsd_exec(d, &f, FS_OP_READDIR)) != 0)
			return e;
		if (d->rep.ncols < FS_L_STAT + 2)
			return EIO;
		if ((e = dir_append(d, x, &pk)) != 0)
			return e;
		if (part == 0) {
			*pk0 = pk;
		} else if (pk != *pk0) {
			*moved = true;
			return EAGAIN;
		}
	}
	return 0;
}

/* The intervals a prefetch batch appends, checked to follow one another. */
struct prefetch_acc {
	struct fsd_dir *x;
	bool ok;
};

static void
prefetch_each(struct fsd *d, unsigned int i, void *arg)
{
	struct prefetch_acc *a = arg;
	struct fsd_dir *x = a->x;
	uint64_t pk = 0, lo, hi;
	size_t n0 = x->n;

	(void)i;
	if (!a->ok || d->rep.nrows == 0 || d->rep.ncols < FS_L_STAT + 2) {
		a->ok = false;
		return;
	}
	fs_page_span(fs_reply_u64(&d->rep, 0, FS_L_PAGE), &lo, &hi);
	/* Only the interval right after the buffer: a split or merge that
	 * changed the level since the first block ends the prefetch. */
	if (lo != x->hi + 1 || dir_append(d, x, &pk) != 0) {
		for (size_t k = n0; k < x->n; k++)
			free(x->e[k].name);
		x->n = n0;
		a->ok = false;
		return;
	}
	x->hi = hi;
	d->pages_read++;
}

/*
 * After a readdir block read the interval [x->lo, x->hi] (level m), read
 * the intervals that follow it -- the same width, up to the end of the
 * positions -- in one batch of blocks in flight together, so that a
 * listing takes a few round trips instead of one per interval. Each block
 * is one interval, consistent by itself; the buffer becomes their union,
 * which serves the kernel's next calls like one interval (a name present
 * during the whole listing is in exactly one of them, docs/FS.md §3
 * "Readdir"). A block that fails or meets a limit ends the union there:
 * the listing goes on at that position as before.
 */
static void
dir_prefetch(struct fsd *d, const struct fs_cred *c, struct scpp_oid o, unsigned int span,
	     struct fsd_dir *x)
{
	uint64_t w = x->hi - x->lo + 1, p = x->hi + 1;
	struct prefetch_acc a = {.x = x, .ok = true};
	int err[SCPP_CLIENT_BATCH_MAX];
	unsigned int n = 0;

	if (x->hi == FS_KEY_MAX || w == 0 || fsd_batch_blocks(d) != 0)
		return;
	while (n < SCPP_CLIENT_BATCH_MAX) {
		fsb_init(&d->bf[n], d->bblk[n]);
		fsb_listdir(&d->bf[n], &d->vol, c, o, p, span, 1, 0, false);
		n++;
		if (FS_KEY_MAX - p < w)
			break;
		p += w;
	}
	(void)fsd_exec_many(d, n, FS_OP_READDIR, err, prefetch_each, &a);
}

/* Read the interval of @p o that holds key @p pos into @p x (FS.md §3
 * "Readdir"), with each name's stat for readdirplus (@p plus): one block of
 * up to 2^(span+1) pages (the context's span, -o readdir_span), smaller
 * spans down to one page when a block meets the node's limits (the context
 * remembers it), or 2, 4, ... partitions of one page when a single page is
 * over them. */
static int
dir_fetch(struct fsd *d, fuse_req_t req, struct scpp_oid o, uint64_t pos, bool plus,
	  struct fsd_dir *x)
{
	struct fs_cred c;
	unsigned int k = plus ? 1 : 0;
	unsigned int cap = plus ? fsd_plus_span(d->o.readdir_span) : d->o.readdir_span;
	unsigned int span = SCPP_MIN(x->span_cap, d->list_span[k]), moves = 0;
	uint32_t parts = 1;
	int e = 0;

	cred_of(req, &c);
	dir_clear(x);
	for (;;) {
		uint64_t pk0 = 0;
		bool moved;

		e = dir_fetch_parts(d, &c, o, pos, span, parts, plus, x, &pk0, &moved);
		if (e == 0) {
			fs_page_span(pk0, &x->lo, &x->hi);
			if (!plus && span > 0 && parts == 1)
				dir_prefetch(d, &c, o, span, x);
			if (x->n > 1) /* x->e is NULL until a page had a name */
				qsort(x->e, x->n, sizeof(*x->e), dirent_cmp);
			x->buf = true;
			x->stat = plus;
			d->pages_read++;
			if (span == d->list_span[k] && span < cap && ++d->list_ok[k] >= 64) {
				d->list_span[k]++; /* try a larger block again */
				d->list_ok[k] = 0;
			}
			return 0;
		}
		dir_clear(x);
		if (moved) {
			if (++moves >= 8)
				return EIO;
			continue; /* the same again, of the new interval */
		}
		if (e != EAGAIN && d->rep.outcome == SCPP_OUTCOME_ABORTED && span > 0 &&
		    d->rep.err == 34) {
			x->span_cap = 0; /* too many pages to enumerate: page by page */
			span = 0;
			continue;
		}
		if (d->rep.outcome != SCPP_OUTCOME_ABORTED || !list_limit(d->rep.err))
			return e;
		if (span > 0) {
			span--;
			d->list_span[k] = span;
			d->list_ok[k] = 0;
			d->list_smaller++;
			continue;
		}
		if (parts >= 256)
			return e;
		parts *= 2;
	}
}

static void
op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fsd *d = FSD(req);
	struct fsd_nodes *t = &d->sh->nodes;
	struct fsd_dir *x = NULL;
	struct scpp_oid o;
	uint64_t gen;
	int e;

	count_req(req, FS_OP_OPEN);

	if (!oid_of(req, ino, &o))
		return;
	/* Counted open from before its block: a handle opened meanwhile by
	 * another thread sees this one (fsd_node_dir_open()). */
	fsd_node_dir_begin(t, ino);
	gen = fsd_node_attr_gen(t, ino);
	e = open_block(d, req, o, O_RDONLY, true);
	if (e == 0 && (d->rep.nrows != 1 || d->rep.ncols < 1 + FS_STAT_COLS))
		e = EIO; /* not the shape fsb_open() of a directory returns */
	if (e == 0 && (x = calloc(1, sizeof(*x))) == NULL)
		e = ENOMEM;
	if (e != 0) {
		fsd_node_dir_end(t, ino, false);
		fuse_reply_err(req, e);
		return;
	}
	x->next_off = -1;
	x->span_cap = FS_LIST_SPAN_MAX;
	fi->fh = (uint64_t)(uintptr_t)x;
	/* The kernel asks for the directory's attributes next (a listing's
	 * start checks its mtime): the slot answers with what the block read. */
	slot_put(d, ino, 1, gen);
	/* The kernel's readdir cache (docs/FS.md §3 "Readdir cache"): kept
	 * when what it holds can only be the listing at the generation this
	 * block read, dropped (and filled again by the listing) otherwise. */
	fi->cache_readdir = 1;
	fi->keep_cache = fsd_node_dir_open(t, ino, fs_reply_u64(&d->rep, 0, 0));
	if (fi->keep_cache) {
		d->dir_cached++;
	} else {
		/* The directory changed since this kernel's attributes of it
		 * may have been read: drop them, so that the listing's start
		 * (auto_inval_data) fetches its mtime and the kernel's cache
		 * is filled under the new one -- else the next listing finds
		 * the mtime moved and lists once more. */
		d->dir_relist++;
		if (d->sh->se != NULL)
			(void)fuse_lowlevel_notify_inval_inode(d->sh->se, ino, -1, 0);
	}
	if (fuse_reply_open(req, fi) == -ENOENT) {
		/* Interrupted: the kernel dropped nothing, and no releasedir
		 * will come. */
		dir_free(x);
		fsd_node_dir_end(t, ino, true);
	}
}

/* Add one entry to the reply buffer; false when it does not fit. */
static bool
dir_add(fuse_req_t req, struct fsd *d, char *buf, size_t size, size_t *used, const char *name,
	struct fuse_entry_param *ep, const struct scpp_oid *oid, off_t next, bool plus)
{
	size_t k;

	if (!plus) {
		k = fuse_add_direntry(req, buf + *used, size - *used, name, &ep->attr, next);
	} else {
		if (oid != NULL) {
			ep->attr_timeout = d->o.attr_timeout;
			ep->entry_timeout = d->o.entry_timeout;
			/* Measure first: an entry that does not fit takes no lookup. */
			k = fuse_add_direntry_plus(req, NULL, 0, name, ep, next);
			if (k > size - *used)
				return false;
			ep->ino = fsd_node_ref(&d->sh->nodes, *oid, &ep->generation);
			if (ep->ino == 0)
				return false;
		}
		k = fuse_add_direntry_plus(req, buf + *used, size - *used, name, ep, next);
	}
	if (k > size - *used)
		return false;
	*used += k;
	return true;
}

static void
readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	       struct fuse_file_info *fi, bool plus)
{
	struct fsd *d = FSD(req);
	struct fsd_dir *x = (struct fsd_dir *)(uintptr_t)fi->fh;
	struct fuse_entry_param ep;
	uint64_t pos;
	size_t used = 0;
	struct scpp_oid o;
	char *buf;
	int e = 0;

	if (!oid_of(req, ino, &o))
		return;
	if (off < 0 || (uint64_t)off > FS_KEY_MAX + 3) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (off == 0)
		dir_clear(x); /* opendir or rewinddir: read again */
	if (!x->have_ino && (e = dir_fetch(d, req, o, 0, plus, x)) != 0) {
		fuse_reply_err(req, e);
		return;
	}
	if ((buf = malloc(size)) == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (int i = off < 2 ? (int)off : 2; i < 2; i++) {
		memset(&ep, 0, sizeof(ep));
		ep.attr.st_ino = i == 0 ? x->self_ino : x->parent_ino;
		ep.attr.st_mode = S_IFDIR;
		if (!dir_add(req, d, buf, size, &used, i == 0 ? "." : "..", &ep, NULL, i + 1, plus))
			goto out;
	}
	pos = off <= 2 ? 0 : (uint64_t)off - 2;
	for (;;) {
		size_t i;

		if (!x->buf || pos < x->lo || pos > x->hi || (plus && !x->stat)) {
			if ((e = dir_fetch(d, req, o, pos, plus, x)) != 0)
				break;
			if (pos < x->lo || pos > x->hi) {
				e = EIO; /* a page that does not hold pos: never loop */
				break;
			}
		}
		if (x->next_off >= 0 && off == x->next_off) {
			i = x->next; /* go on after the last entry served (keys may repeat) */
		} else {
			for (i = 0; i < x->n && x->e[i].key < pos; i++)
				;
			x->next = i;
			x->next_off = off;
		}
		for (; i < x->n; i++) {
			const struct fsd_dirent *de = &x->e[i];
			off_t next = (off_t)(de->key + 3);

			memset(&ep, 0, sizeof(ep));
			to_stat(&de->a, &ep.attr);
			if (!dir_add(req, d, buf, size, &used, de->name, &ep, &de->oid, next, plus))
				goto out;
			x->next = i + 1;
			x->next_off = next;
		}
		if (x->hi == FS_KEY_MAX)
			break; /* the last page */
		pos = x->hi + 1;
		off = (off_t)pos + 2;
	}
out:
	if (e != 0 && used == 0)
		fuse_reply_err(req, e);
	else
		fuse_reply_buf(req, buf, used);
	free(buf);
}

static void
change_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	count_req(req, FS_OP_READDIR);
	readdir_common(req, ino, size, off, fi, false);
}

/* Directory @p ino may change: its slot emptied before and after. */
static void
op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	/* The request is gone once answered: the table is taken first. */
	struct fsd_nodes *t = &FSD(req)->sh->nodes;

	fsd_node_attr_drop(t, ino);
	change_readdir(req, ino, size, off, fi);
	fsd_node_attr_drop(t, ino);
}

static void
change_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	           struct fuse_file_info *fi)
{
	count_req(req, FS_OP_READDIR);
	readdir_common(req, ino, size, off, fi, true);
}

/* Directory @p ino may change: its slot emptied before and after. */
static void
op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	       struct fuse_file_info *fi)
{
	/* The request is gone once answered: the table is taken first. */
	struct fsd_nodes *t = &FSD(req)->sh->nodes;

	fsd_node_attr_drop(t, ino);
	change_readdirplus(req, ino, size, off, fi);
	fsd_node_attr_drop(t, ino);
}

static void
op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	count_req(req, FS_OP_OTHER);
	dir_free((struct fsd_dir *)(uintptr_t)fi->fh);
	fsd_node_dir_end(&FSD(req)->sh->nodes, ino, false);
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

	count_req(req, FS_OP_STATFS);

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

/*
 * The kernel asks for XATTR_CAPS before every write(2) of a file (to clear
 * it, with the set-id bits, when a write needs that: file_remove_privs()).
 * That it is absent is cached per node for attr_timeout (never with
 * attr_timeout=0), so a run of writes costs one getxattr block per
 * attr_timeout instead of one per write; a set or removal through this
 * mount forgets it, one through another mount is seen within attr_timeout,
 * the bound of every attribute (docs/FS.md §3).
 */
#define XATTR_CAPS "security.capability"

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
change_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size,
	        int flags)
{
	struct fsd *d = FSD(req);
	struct scpp_oid o;
	struct fs_cred c;
	struct fsb f;

	count_req(req, FS_OP_XATTR);

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
	fsd_node_nocap_set(&d->sh->nodes, ino, 0);
	fsb_setxattr(&f, &c, o, name, strlen(name), value, size, flags);
	fuse_reply_err(req, fsd_exec(d, &f, FS_OP_XATTR));
}

/* Directory @p ino may change: its slot emptied before and after. */
static void
op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size,
	    int flags)
{
	/* The request is gone once answered: the table is taken first. */
	struct fsd_nodes *t = &FSD(req)->sh->nodes;

	fsd_node_attr_drop(t, ino);
	change_setxattr(req, ino, name, value, size, flags);
	fsd_node_attr_drop(t, ino);
}

static void
op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct fsd *d = FSD(req);
	const struct scpp_value *v;
	struct scpp_oid o;
	struct fs_cred c;
	struct fsb f;
	bool cap;
	int e;

	count_req(req, FS_OP_XATTR);

	if (!oid_of(req, ino, &o))
		return;
	if (!xattr_name_ok(req, name))
		return;
	cap = strcmp(name, XATTR_CAPS) == 0;
	if (cap && fsd_node_nocap(&d->sh->nodes, ino, now_ns())) {
		d->nocap_hits++;
		fuse_reply_err(req, ENODATA);
		return;
	}
	cred_of(req, &c);
	fsb_init(&f, d->blk);
	fsb_getxattr(&f, &c, o, name, strlen(name));
	if ((e = fsd_exec(d, &f, FS_OP_XATTR)) != 0 || d->rep.nrows != 1) {
		if (cap && (e == 0 || e == ENODATA) && d->o.attr_timeout > 0)
			fsd_node_nocap_set(&d->sh->nodes, ino,
					   now_ns() + (uint64_t)(d->o.attr_timeout * 1e9));
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

	count_req(req, FS_OP_XATTR);

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
change_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct fsd *d = FSD(req);
	struct scpp_oid o;
	struct fs_cred c;
	struct fsb f;

	count_req(req, FS_OP_XATTR);

	if (!oid_of(req, ino, &o))
		return;
	if (!xattr_name_ok(req, name))
		return;
	cred_of(req, &c);
	fsb_init(&f, d->blk);
	fsd_node_nocap_set(&d->sh->nodes, ino, 0);
	fsb_removexattr(&f, &c, o, name, strlen(name));
	fuse_reply_err(req, fsd_exec(d, &f, FS_OP_XATTR));
}

/* Directory @p ino may change: its slot emptied before and after. */
static void
op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	/* The request is gone once answered: the table is taken first. */
	struct fsd_nodes *t = &FSD(req)->sh->nodes;

	fsd_node_attr_drop(t, ino);
	change_removexattr(req, ino, name);
	fsd_node_attr_drop(t, ino);
}

static void
op_init(void *userdata, struct fuse_conn_info *conn)
{
	const struct fsd *d = userdata;

	/* Requests of up to FSD_REQ_MAX bytes (max_pages 256): the daemon
	 * cuts them into blocks it keeps in flight together. */
	conn->max_write = FSD_REQ_MAX;
	/* The kernel offered its read-ahead as it was at mount(2); main()
	 * raised it since (set_readahead()), and the kernel keeps the smaller
	 * of the two. */
	if (d->o.readahead_kb > 0)
		conn->max_readahead = SCPP_MIN(d->o.readahead_kb, FSD_REQ_MAX / 1024) * 1024u;
	/* O_TRUNC is part of open's block (fsb_open). */
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	/* By default writes go to the node as they come: no write-back
	 * cache, whose dirty pages another mount cannot see until they are
	 * written back. -o writeback_cache opts in (docs/FS.md §3). */
	if (d->o.writeback && (conn->capable & FUSE_CAP_WRITEBACK_CACHE))
		conn->want |= FUSE_CAP_WRITEBACK_CACHE;
	else
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
