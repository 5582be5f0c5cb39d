/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * scpp-fs's blocks on an in-process shard with the shipped schema: every
 * builder of app/scpp-fs/fs_blocks.c is run through the wire encoder and
 * decoder and lib/eval exactly as the node runs it, its reply decoded by
 * fs_reply.c and mapped by fs_errno(), and the store inspected after. Each
 * test states one POSIX rule the block must check or keep (permission
 * classes, the sticky bit, link counts, rename's cases, chunks and holes,
 * truncation, times). The chunk size is 64 bytes here so that files of a
 * few hundred bytes already use extents.
 *
 * The canonical -> local errno table is checked against lib/status's
 * canonical table and against docs/ERRNO.md.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "scpp_test.h"
#include "../eval/eval_fixture.h"
#include "fs_core.h"
#include "scpp_status.h"

#define CHUNK 64u

struct tfs {
	struct fx *fx;
	struct fs_vol vol;
	struct scpp_wire_block blk2;
	uint8_t enc[1 << 17];
	struct fs_reply rep;
	struct fs_cred root, alice, bob;
	int64_t clock;
};

static struct tfs *T;

static int64_t
test_clock(void)
{
	return T->clock;
}

/* Build with @p build, encode, decode, evaluate; returns the local errno. */
#define RUN(op, call)                                                                   \
	({                                                                              \
		struct fsb fb_;                                                         \
		fsb_init(&fb_, &T->fx->blk);                                            \
		call;                                                                   \
		run_block(&fb_, (op), __LINE__);                                        \
	})

static int
run_block(struct fsb *fb, enum fs_op op, int line)
{
	struct scpp_wire_reply_writer w;
	uint32_t off = 0;
	int n, rc;

	if (fsb_done(fb) != 0)
		fail_msg("line %d: builder failed: %s", line, scpp_strerror(fsb_done(fb)));
	n = scpp_wire_block_encode(&T->fx->blk, T->enc, sizeof(T->enc));
	if (n <= 0)
		fail_msg("line %d: encode failed: %d", line, n);
	/* Every block must fit a BLOCK message of 64 default datagrams. */
	if (n > 64 * (SCPP_WIRE_DGRAM_DEFAULT - SCPP_WIRE_HDR_LEN - SCPP_WIRE_COOKIE_LEN))
		fail_msg("line %d: block of %d bytes does not fit 64 datagrams", line, n);
	rc = scpp_wire_block_decode(T->enc, (size_t)n, &T->blk2, &off);
	if (rc != 0)
		fail_msg("line %d: decode failed: %s at %u", line, scpp_strerror(rc), off);
	T->clock += 1000;
	scpp_wire_reply_writer_init(&w, T->fx->reply, sizeof(T->fx->reply));
	rc = scpp_eval_block(T->fx->ctx, &T->fx->env, &T->blk2, 1, &w, &T->fx->res);
	if (rc != 0)
		fail_msg("line %d: eval returned %d", line, rc);
	rc = fs_reply_parse(&T->rep, T->fx->reply, w.len);
	if (rc != 0)
		fail_msg("line %d: reply does not parse: %d", line, rc);
	if (getenv("FS_TEST_TRACE")) {
		static char text[1 << 16];

		scpp_lang_format_block(text, sizeof(text), &T->blk2);
		fprintf(stderr, "--- line %d (%d bytes):\n%s--> outcome %u err %u cmd %d %s %s\n",
			line, n, text, T->rep.outcome, T->rep.err, T->rep.cmd, T->rep.code,
			T->rep.message);
	}
	return fs_errno(op, &T->rep, fb->nstale);
}

static const struct fs_cred *ROOT, *ALICE, *BOB;
static const struct scpp_eval_limits *next_limits; /* of the next setup() (NULL: defaults) */

static int
setup(void **state)
{
	struct tfs *t = calloc(1, sizeof(*t));
	int rc;

	assert_non_null(t);
	T = t;
	t->fx = fx_new(true, next_limits);
	t->fx->env.realtime_ns = test_clock;
	t->clock = INT64_C(1700000000000000000);
	fs_reply_init(&t->rep);
	t->alice = (struct fs_cred){.uid = 1000, .gid = 1000, .ngroups = 1, .groups = {50}};
	t->bob = (struct fs_cred){.uid = 1001, .gid = 1001};
	ROOT = &t->root;
	ALICE = &t->alice;
	BOB = &t->bob;
	rc = RUN(FS_OP_OTHER, fsb_volume_create(&fb_, "vol", 3, CHUNK, 0777, 0, 0));
	assert_int_equal(rc, 0);
	assert_int_equal(t->rep.nrows, 1);
	t->vol.volume = fs_reply_at(&t->rep, 0, 0)->oid;
	t->vol.root = fs_reply_at(&t->rep, 0, 1)->oid;
	t->vol.dev = fs_reply_u64(&t->rep, 0, 2);
	t->vol.chunk = fs_reply_u64(&t->rep, 0, 3);
	assert_int_equal(t->vol.chunk, CHUNK);
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	struct tfs *t = *state;

	fs_reply_free(&t->rep);
	fx_free(t->fx);
	free(t);
	return 0;
}

/* ---- helpers: one FS operation each, returning the errno ---- */

static struct scpp_oid last_oid;
static uint64_t last_create_steps; /* of the create block, not of a split after it */
static struct fs_attr last_attr;

static int
mk(struct scpp_oid parent, const char *name, enum fs_kind kind, uint64_t mode,
   const struct fs_cred *c)
{
	int rc = RUN(FS_OP_CREATE, fsb_create(&fb_, &T->vol, c, parent, name, strlen(name), kind,
					      mode, 0, "t", 1, true));

	if (rc == 0) {
		bool grow = fs_reply_at(&T->rep, 0, 1 + FS_STAT_COLS)->b;

		last_create_steps = T->fx->res.steps;
		last_oid = fs_reply_at(&T->rep, 0, 0)->oid;
		fs_reply_attr(&T->rep, 0, 1, &last_attr);
		if (grow) /* as the daemon does after the reply (fs_ops.c) */
			assert_int_equal(RUN(FS_OP_OTHER, fsb_dir_split(&fb_, parent)), 0);
	}
	return rc;
}

static struct scpp_oid
mkdir_ok(struct scpp_oid parent, const char *name, uint64_t mode, const struct fs_cred *c)
{
	assert_int_equal(mk(parent, name, FS_K_DIR, FS_S_IFDIR | mode, c), 0);
	return last_oid;
}

static struct scpp_oid
mkfile_ok(struct scpp_oid parent, const char *name, uint64_t mode, const struct fs_cred *c)
{
	assert_int_equal(mk(parent, name, FS_K_FILE, FS_S_IFREG | mode, c), 0);
	return last_oid;
}

static int
lookup(struct scpp_oid parent, const char *name, const struct fs_cred *c, struct scpp_oid *out)
{
	int rc = RUN(FS_OP_LOOKUP, fsb_lookup(&fb_, &T->vol, c, parent, name, strlen(name)));

	if (rc == 0) {
		if (out != NULL)
			*out = fs_reply_at(&T->rep, 0, 0)->oid;
		fs_reply_attr(&T->rep, 0, 1, &last_attr);
	}
	return rc;
}

static struct fs_attr
getattr(struct scpp_oid e)
{
	struct fs_attr a;

	assert_int_equal(RUN(FS_OP_GETATTR, fsb_getattr(&fb_, e)), 0);
	fs_reply_attr(&T->rep, 0, 0, &a);
	return a;
}

static int
unlink_(struct scpp_oid parent, const char *name, bool dir, const struct fs_cred *c)
{
	int rc = RUN(FS_OP_UNLINK, fsb_unlink(&fb_, &T->vol, c, parent, name, strlen(name), dir,
					      false));

	if (rc == 0 && fs_reply_at(&T->rep, 0, 2)->b)
		assert_int_equal(RUN(FS_OP_OTHER, fsb_dir_merge(&fb_, parent)), 0);
	return rc;
}

static int
rename_(struct scpp_oid p, const char *n, struct scpp_oid np, const char *nn, unsigned int fl,
	const struct fs_cred *c)
{
	int rc = RUN(FS_OP_RENAME, fsb_rename(&fb_, &T->vol, c, p, n, strlen(n), np, nn,
					      strlen(nn), fl));
	bool grow, shrink;

	if (rc != 0 || T->rep.nrows == 0)
		return rc;
	grow = fs_reply_at(&T->rep, 0, 2)->b;
	shrink = fs_reply_at(&T->rep, 0, 3)->b;
	if (grow)
		assert_int_equal(RUN(FS_OP_OTHER, fsb_dir_split(&fb_, np)), 0);
	if (shrink)
		assert_int_equal(RUN(FS_OP_OTHER, fsb_dir_merge(&fb_, p)), 0);
	return 0;
}

static int
write_(struct scpp_oid e, uint64_t off, const void *d, uint64_t n)
{
	return RUN(FS_OP_WRITE, fsb_write(&fb_, &T->vol, e, off, d, n, UINT64_MAX, false));
}

static ssize_t
read_(struct scpp_oid e, uint64_t off, uint64_t n, uint8_t *out)
{
	assert_int_equal(RUN(FS_OP_READ, fsb_read(&fb_, &T->vol, e, off, n)), 0);
	return fs_read_assemble(&T->vol, &T->rep, off, n, out);
}

/* A read of any length, in requests of at most FS_PIECES_MAX chunks, as the
 * kernel's max_read keeps them. */
static ssize_t
read_all(struct scpp_oid e, uint64_t off, uint64_t n, uint8_t *out)
{
	uint64_t done = 0;

	while (done < n) {
		uint64_t k = SCPP_MIN(n - done, (uint64_t)CHUNK * (FS_PIECES_MAX - 1));
		ssize_t got = read_(e, off + done, k, out + done);

		if (got < 0)
			return got;
		done += (uint64_t)got;
		if ((uint64_t)got < k)
			break;
	}
	return (ssize_t)done;
}

static int
truncate_(struct scpp_oid e, uint64_t size, const struct fs_cred *c)
{
	struct fs_setattr sa = {.size = true, .new_size = size, .cached_size = UINT64_MAX};

	return RUN(FS_OP_SETATTR, fsb_setattr(&fb_, &T->vol, c, e, &sa));
}

/* Number of entities in the shard (to see reaping and chunk deletion). */
static uint64_t
entities(void)
{
	uint64_t cursor = 0, n = 0;
	struct scpp_oid o[64];
	int k;

	while ((k = scpp_store_entity_iter(T->fx->store, &cursor, o, 64)) > 0) {
		n += (uint64_t)k;
		if (cursor == UINT64_MAX)
			break;
	}
	return n;
}

/* ---- tests ---- */

static void
test_fs_volume_is_found_and_made_once(void **state)
{
	struct tfs *t = *state;

	assert_int_equal(RUN(FS_OP_OTHER, fsb_volume_find(&fb_, "vol", 3)), 0);
	assert_int_equal(t->rep.nrows, 1);
	assert_true(scpp_oid_eq(fs_reply_at(&t->rep, 0, 1)->oid, t->vol.root));
	/* A second create of the same name makes nothing. */
	assert_int_equal(RUN(FS_OP_OTHER, fsb_volume_create(&fb_, "vol", 3, CHUNK, 0755, 0, 0)), 0);
	assert_int_equal(t->rep.nrows, 0);
	assert_int_equal(RUN(FS_OP_OTHER, fsb_volume_find(&fb_, "none", 4)), 0);
	assert_int_equal(t->rep.nrows, 0);
	/* The root is a directory that is its own parent. */
	{
		struct fs_attr a = getattr(t->vol.root);

		assert_int_equal(a.mode, FS_S_IFDIR | 0777);
		assert_int_equal(a.nlink, 2);
	}
}

static void
test_fs_mkdir_create_lookup_and_link_counts(void **state)
{
	struct tfs *t = *state;
	struct scpp_oid d, f, got;
	struct fs_attr a;

	d = mkdir_ok(t->vol.root, "d", 0755, ROOT);
	assert_int_equal(last_attr.nlink, 2);
	assert_int_equal(getattr(t->vol.root).nlink, 3); /* the new ".." */
	f = mkfile_ok(d, "f", 0644, ROOT);
	assert_int_equal(last_attr.mode, FS_S_IFREG | 0644);
	assert_int_equal(last_attr.size, 0);
	assert_int_equal(last_attr.nlink, 1);
	assert_int_equal(last_attr.atime, last_attr.mtime);
	assert_int_equal(lookup(d, "f", ROOT, &got), 0);
	assert_true(scpp_oid_eq(got, f));
	/* The inode number is the hash of the OID: every mount agrees. */
	a = getattr(f);
	assert_true(a.ino != 0);
	assert_int_equal(lookup(d, "nope", ROOT, NULL), ENOENT);
	/* The parent's mtime moved with the new entry. */
	assert_true(getattr(d).mtime > getattr(t->vol.root).atime);
	/* Existing names. */
	assert_int_equal(mk(d, "f", FS_K_FILE, FS_S_IFREG | 0644, ROOT), EEXIST);
	assert_int_equal(mk(d, "f", FS_K_DIR, FS_S_IFDIR | 0755, ROOT), EEXIST);
	/* The create that found the name tells which command said so. */
	assert_int_equal(T->rep.cmd, fs_create_exists_cmd());
	/* A file is not a directory. */
	assert_int_equal(mk(f, "x", FS_K_FILE, FS_S_IFREG | 0644, ROOT), ENOTDIR);
	assert_int_equal(lookup(f, "x", ROOT, NULL), ENOTDIR);
}

static void
test_fs_permission_classes(void **state)
{
	struct tfs *t = *state;
	struct scpp_oid d, g;
	struct fs_setattr own = {.uid = true, .new_uid = 1000, .gid = true, .new_gid = 50};

	/* d: owned by alice, mode 0750, group 50 (alice is a member). */
	d = mkdir_ok(t->vol.root, "priv", 0750, ROOT);
	assert_int_equal(RUN(FS_OP_SETATTR, fsb_setattr(&fb_, &t->vol, ROOT, d, &own)), 0);
	/* The owner class: rwx. */
	assert_int_equal(mk(d, "a", FS_K_FILE, FS_S_IFREG | 0640, ALICE), 0);
	/* bob is other: no search permission. */
	assert_int_equal(lookup(d, "a", BOB, NULL), EACCES);
	assert_int_equal(mk(d, "b", FS_K_FILE, FS_S_IFREG | 0644, BOB), EACCES);
	/* In group 50, bob could search but not write. */
	t->bob.ngroups = 1;
	t->bob.groups[0] = 50;
	assert_int_equal(lookup(d, "a", BOB, NULL), 0);
	assert_int_equal(mk(d, "b", FS_K_FILE, FS_S_IFREG | 0644, BOB), EACCES);
	/* The owner class applies alone: an owner without w cannot write even
	 * if the group could. */
	g = mkdir_ok(t->vol.root, "g", 0570, ROOT);
	own.new_gid = 50;
	assert_int_equal(RUN(FS_OP_SETATTR, fsb_setattr(&fb_, &t->vol, ROOT, g, &own)), 0);
	assert_int_equal(mk(g, "x", FS_K_FILE, FS_S_IFREG | 0644, ALICE), EACCES);
	assert_int_equal(mk(g, "x", FS_K_FILE, FS_S_IFREG | 0644, BOB), 0);
	/* Root may do anything to directories. */
	assert_int_equal(mk(g, "y", FS_K_FILE, FS_S_IFREG | 0644, ROOT), 0);
	/* open checks the class for the access mode. */
	assert_int_equal(RUN(FS_OP_OPEN, fsb_open(&fb_, &t->vol, BOB, last_oid, 0, false)), 0);
	assert_int_equal(RUN(FS_OP_OPEN, fsb_open(&fb_, &t->vol, BOB, last_oid, 1, false)), EACCES);
	assert_int_equal(RUN(FS_OP_ACCESS, fsb_access(&fb_, BOB, last_oid, 2)), EACCES);
	assert_int_equal(RUN(FS_OP_ACCESS, fsb_access(&fb_, BOB, last_oid, 4)), 0);
	/* Root cannot execute a file no one may execute. */
	assert_int_equal(RUN(FS_OP_ACCESS, fsb_access(&fb_, ROOT, last_oid, 1)), EACCES);
	t->bob.ngroups = 0;
}

static void
test_fs_setgid_directory_passes_its_group(void **state)
{
	struct tfs *t = *state;
	struct scpp_oid d;
	struct fs_setattr sa = {.mode = true, .new_mode = 02777, .gid = true, .new_gid = 77};

	d = mkdir_ok(t->vol.root, "sg", 0777, ROOT);
	assert_int_equal(RUN(FS_OP_SETATTR, fsb_setattr(&fb_, &t->vol, ROOT, d, &sa)), 0);
	mkfile_ok(d, "f", 0644, ALICE);
	assert_int_equal(last_attr.gid, 77);
	assert_int_equal(last_attr.uid, 1000);
	mkdir_ok(d, "sub", 0755, ALICE);
	assert_int_equal(last_attr.gid, 77);
	assert_int_equal(last_attr.mode, FS_S_IFDIR | FS_S_ISGID | 0755);
	/* A new file's S_ISGID stays only for a member of its group. */
	assert_int_equal(mk(d, "g", FS_K_FILE, FS_S_IFREG | FS_S_ISGID | 0775, ALICE), 0);
	assert_int_equal(last_attr.mode, FS_S_IFREG | 0775);
}

static void
test_fs_unlink_rmdir_and_reaping(void **state)
{
	struct tfs *t = *state;
	struct scpp_oid d, f, sub;
	uint64_t n0;

	d = mkdir_ok(t->vol.root, "u", 0777, ROOT);
	f = mkfile_ok(d, "f", 0644, ROOT);
	sub = mkdir_ok(d, "s", 0755, ROOT);
	assert_int_equal(getattr(d).nlink, 3);
	assert_int_equal(unlink_(d, "s", false, ROOT), EISDIR);
	assert_int_equal(unlink_(d, "f", true, ROOT), ENOTDIR);
	assert_int_equal(unlink_(t->vol.root, "u", true, ROOT), ENOTEMPTY);
	assert_int_equal(unlink_(d, "nope", false, ROOT), ENOENT);
	n0 = entities();
	assert_int_equal(unlink_(d, "f", false, ROOT), 0);
	assert_int_equal(fs_reply_u64(&T->rep, 0, 1), 0); /* no link left */
	/* The inode stays until the kernel forgets it; then it is reaped. */
	assert_int_equal(getattr(f).nlink, 0);
	assert_int_equal(entities(), n0);
	assert_int_equal(RUN(FS_OP_OTHER, fsb_reap(&fb_, f)), 0);
	assert_int_equal(entities(), n0 - 1);
	/* Reaping a gone inode is a stale handle. */
	assert_int_equal(RUN(FS_OP_OTHER, fsb_reap(&fb_, f)), ESTALE);
	assert_int_equal(unlink_(d, "s", true, ROOT), 0);
	assert_int_equal(getattr(d).nlink, 2);
	assert_int_equal(getattr(sub).nlink, 0);
	/* Nothing can be made in a removed directory. */
	assert_int_equal(mk(sub, "x", FS_K_FILE, FS_S_IFREG | 0644, ROOT), ENOENT);
	assert_int_equal(unlink_(t->vol.root, "u", true, ROOT), 0);
}

/* An unlink that may reap (no file handle open) takes a small file's inode
 * with its last link; a file with Extents is left for the batched reap
 * (fsb_drop_chunks() from the end down, then fsb_reap()); a hard-linked
 * inode is left alone. */
static void
test_fs_unlink_reaps_in_the_same_block(void **state)
{
	struct tfs *t = *state;
	static uint8_t data[9 * CHUNK];
	uint64_t n0, off[FS_DROP_MAX];
	struct scpp_oid f, g;

	memset(data, 'x', sizeof(data));
	n0 = entities();
	/* Small: all in File.data. */
	g = mkfile_ok(t->vol.root, "s", 0644, ROOT);
	assert_int_equal(write_(g, 0, data, CHUNK), 0);
	assert_int_equal(RUN(FS_OP_LINK, fsb_link(&fb_, &t->vol, ROOT, g, t->vol.root, "s2", 2)), 0);
	assert_int_equal(RUN(FS_OP_UNLINK, fsb_unlink(&fb_, &t->vol, ROOT, t->vol.root, "s", 1,
						      false, true)),
			 0);
	assert_int_equal(fs_reply_u64(&T->rep, 0, 1), 1); /* a link is left */
	assert_false(fs_reply_at(&T->rep, 0, 2)->b);
	assert_int_equal(entities(), n0 + 1);
	assert_int_equal(RUN(FS_OP_UNLINK, fsb_unlink(&fb_, &t->vol, ROOT, t->vol.root, "s2", 2,
						      false, true)),
			 0);
	assert_true(fs_reply_at(&T->rep, 0, 2)->b);
	assert_int_equal(entities(), n0);
	assert_int_equal(RUN(FS_OP_GETATTR, fsb_getattr(&fb_, g)), ESTALE);
	/* Large: chunk 0 and 8 Extents; the unlink leaves the inode. */
	f = mkfile_ok(t->vol.root, "r", 0644, ROOT);
	assert_int_equal(write_(f, 0, data, 8 * CHUNK), 0);
	assert_int_equal(write_(f, 8 * CHUNK, data, CHUNK), 0);
	assert_int_equal(entities(), n0 + 9);
	/* Dropping chunks needs write permission (a truncation) or no link. */
	off[0] = 8 * CHUNK;
	assert_int_equal(RUN(FS_OP_SETATTR, fsb_drop_chunks(&fb_, BOB, f, off, 1)), EACCES);
	assert_int_equal(RUN(FS_OP_OTHER, fsb_drop_chunks(&fb_, NULL, f, off, 1)), EINVAL);
	assert_int_equal(entities(), n0 + 9);
	assert_int_equal(RUN(FS_OP_UNLINK, fsb_unlink(&fb_, &t->vol, ROOT, t->vol.root, "r", 1,
						      false, true)),
			 0);
	assert_false(fs_reply_at(&T->rep, 0, 2)->b);
	assert_int_equal(getattr(f).nlink, 0);
	/* The batches: the top FS_DROP_MAX chunks, a hole among them skipped. */
	for (unsigned int i = 0; i < FS_DROP_MAX; i++)
		off[i] = (8 - i) * CHUNK;
	off[FS_DROP_MAX - 1] = 100 * CHUNK; /* never written: a hole */
	assert_int_equal(RUN(FS_OP_OTHER, fsb_drop_chunks(&fb_, NULL, f, off, FS_DROP_MAX)), 0);
	assert_int_equal(entities(), n0 + 9 - (FS_DROP_MAX - 1));
	assert_int_equal(RUN(FS_OP_OTHER, fsb_reap(&fb_, f)), 0);
	assert_int_equal(entities(), n0);
}

static void
test_fs_sticky_directory(void **state)
{
	struct tfs *t = *state;
	struct scpp_oid d;
	struct fs_setattr sa = {.mode = true, .new_mode = 01777};

	d = mkdir_ok(t->vol.root, "tmp", 0777, ROOT);
	assert_int_equal(RUN(FS_OP_SETATTR, fsb_setattr(&fb_, &t->vol, ROOT, d, &sa)), 0);
	mkfile_ok(d, "alice", 0644, ALICE);
	mkfile_ok(d, "bob", 0644, BOB);
	assert_int_equal(unlink_(d, "alice", false, BOB), EPERM);
	assert_int_equal(rename_(d, "alice", d, "mine", 0, BOB), EPERM);
	assert_int_equal(rename_(d, "bob", d, "alice", 0, BOB), EPERM); /* the target is alice's */
	assert_int_equal(unlink_(d, "bob", false, BOB), 0);
	assert_int_equal(unlink_(d, "alice", false, ROOT), 0);
}

static void
test_fs_rename_cases(void **state)
{
	struct tfs *t = *state;
	struct scpp_oid a, b, x, sub, f, g;

	a = mkdir_ok(t->vol.root, "a", 0755, ROOT);
	b = mkdir_ok(t->vol.root, "b", 0755, ROOT);
	x = mkdir_ok(a, "x", 0755, ROOT);
	sub = mkdir_ok(x, "sub", 0755, ROOT);
	f = mkfile_ok(a, "f", 0644, ROOT);
	g = mkfile_ok(b, "g", 0644, ROOT);
	/* A directory moves to another parent: "..", both parents' links. */
	assert_int_equal(rename_(a, "x", b, "x2", 0, ROOT), 0);
	assert_int_equal(getattr(a).nlink, 2);
	assert_int_equal(getattr(b).nlink, 3);
	assert_int_equal(lookup(b, "x2", ROOT, NULL), 0);
	assert_int_equal(lookup(a, "x", ROOT, NULL), ENOENT);
	/* ... and not below itself (a walk up from the new parent). */
	assert_int_equal(rename_(b, "x2", sub, "loop", 0, ROOT), EINVAL);
	assert_int_equal(rename_(b, "x2", x, "self", 0, ROOT), EINVAL);
	/* A file replaces a file: the old one loses its link. */
	assert_int_equal(rename_(a, "f", b, "g", 0, ROOT), 0);
	assert_int_equal(getattr(g).nlink, 0);
	assert_true(scpp_oid_eq(fs_reply_at(&T->rep, 0, 0)->oid, g) ||
		    getattr(f).nlink == 1);
	/* Types must agree; a directory replaced must be empty. */
	mkfile_ok(a, "f2", 0644, ROOT);
	assert_int_equal(rename_(a, "f2", b, "x2", 0, ROOT), EISDIR);
	assert_int_equal(rename_(b, "x2", a, "f2", 0, ROOT), ENOTDIR);
	mkdir_ok(a, "empty", 0755, ROOT);
	assert_int_equal(rename_(b, "x2", a, "empty", 0, ROOT), 0);
	assert_int_equal(getattr(a).nlink, 3); /* lost "empty", gained x2 */
	assert_int_equal(getattr(b).nlink, 2);
	mkdir_ok(b, "full", 0755, ROOT);
	mkfile_ok(last_oid, "in", 0644, ROOT);
	assert_int_equal(rename_(a, "empty", b, "full", 0, ROOT), ENOTEMPTY);
	/* NOREPLACE and EXCHANGE. */
	assert_int_equal(rename_(a, "f2", b, "g", FS_RENAME_NOREPLACE, ROOT), EEXIST);
	assert_int_equal(rename_(a, "f2", b, "new", FS_RENAME_NOREPLACE, ROOT), 0);
	assert_int_equal(rename_(a, "empty", b, "nope", FS_RENAME_EXCHANGE, ROOT), ENOENT);
	assert_int_equal(rename_(a, "empty", b, "new", FS_RENAME_EXCHANGE, ROOT), 0);
	assert_int_equal(lookup(a, "empty", ROOT, NULL), 0);
	assert_int_equal(last_attr.mode & FS_S_IFMT, FS_S_IFREG);
	assert_int_equal(lookup(b, "new", ROOT, NULL), 0);
	assert_int_equal(last_attr.mode & FS_S_IFMT, FS_S_IFDIR);
	assert_int_equal(getattr(a).nlink, 2); /* gave its directory to b */
	assert_int_equal(getattr(b).nlink, 4); /* full, new */
	/* Two names of one inode: nothing happens. */
	assert_int_equal(RUN(FS_OP_LINK, fsb_link(&fb_, &t->vol, ROOT, f, b, "f-again", 7)), 0);
	assert_int_equal(rename_(b, "g", b, "f-again", 0, ROOT), 0);
	assert_int_equal(T->rep.nrows, 0);
	assert_int_equal(lookup(b, "g", ROOT, NULL), 0);
	assert_int_equal(getattr(f).nlink, 2);
	assert_int_equal(rename_(a, "nope", b, "z", 0, ROOT), ENOENT);
}

/* The change generation fsb_open() of a directory returns (its first
 * column; its stat follows). */
static uint64_t
dir_gen(struct scpp_oid d)
{
	assert_int_equal(RUN(FS_OP_OPEN, fsb_open(&fb_, &T->vol, ROOT, d, 0, true)), 0);
	assert_int_equal(T->rep.nrows, 1);
	assert_int_equal(T->rep.ncols, 1 + FS_STAT_COLS);
	assert_int_equal(fs_reply_u64(&T->rep, 0, 1 + FS_C_MODE) & FS_S_IFMT, FS_S_IFDIR);
	return fs_reply_u64(&T->rep, 0, 0);
}

/*
 * Directory.gen (the kernel's readdir cache, docs/FS.md §3): every block
 * that changes a directory's listing moves it -- a name added, removed or
 * replaced, its ".." moved, the directory removed --, and nothing else
 * does: a failed change, a listing, a setattr of the directory or of a
 * name in it, a write into one of its files, a page split.
 */
static void
test_fs_directory_generation_moves_with_its_listing(void **state)
{
	struct tfs *t = *state;
	struct scpp_oid a, b, x, f;
	struct fs_setattr sa = {.mode = true, .new_mode = 0700, .cached_size = UINT64_MAX};
	uint64_t ga, gb, gx;
	char name[32];

	a = mkdir_ok(t->vol.root, "a", 0755, ROOT);
	b = mkdir_ok(t->vol.root, "b", 0755, ROOT);
	ga = dir_gen(a);
	assert_int_equal(ga, 0); /* made with it */
	assert_int_equal(dir_gen(a), ga); /* opening changes nothing */
	f = mkfile_ok(a, "f", 0644, ROOT);
	assert_int_equal(dir_gen(a), ++ga);
	assert_int_equal(mk(a, "f", FS_K_FILE, FS_S_IFREG | 0644, ROOT), EEXIST);
	assert_int_equal(dir_gen(a), ga); /* aborted: nothing changed */
	assert_int_equal(write_(f, 0, "abc", 3), 0);
	assert_int_equal(RUN(FS_OP_SETATTR, fsb_setattr(&fb_, &t->vol, ROOT, f, &sa)), 0);
	assert_int_equal(RUN(FS_OP_SETATTR, fsb_setattr(&fb_, &t->vol, ROOT, a, &sa)), 0);
	assert_int_equal(RUN(FS_OP_READDIR, fsb_listdir(&fb_, &t->vol, ROOT, a, 0, 0, 1, 0, false)),
			 0);
	assert_int_equal(dir_gen(a), ga);
	assert_int_equal(RUN(FS_OP_LINK, fsb_link(&fb_, &t->vol, ROOT, f, a, "g", 1)), 0);
	assert_int_equal(dir_gen(a), ++ga);
	assert_int_equal(unlink_(a, "g", false, ROOT), 0);
	assert_int_equal(dir_gen(a), ++ga);
	assert_int_equal(unlink_(a, "nope", false, ROOT), ENOENT);
	assert_int_equal(dir_gen(a), ga);
	/* A rename in one directory: once; across two: both. */
	assert_int_equal(rename_(a, "f", a, "f2", 0, ROOT), 0);
	assert_int_equal(dir_gen(a), ++ga);
	gb = dir_gen(b);
	assert_int_equal(rename_(a, "f2", b, "f3", 0, ROOT), 0);
	assert_int_equal(dir_gen(a), ++ga);
	assert_int_equal(dir_gen(b), ++gb);
	/* A directory moved to another parent: its ".." changed, so its own
	 * listing did; moved within its parent, not. */
	x = mkdir_ok(a, "x", 0755, ROOT);
	ga++;
	gx = dir_gen(x);
	assert_int_equal(rename_(a, "x", a, "x1", 0, ROOT), 0);
	assert_int_equal(dir_gen(x), gx);
	ga++;
	assert_int_equal(rename_(a, "x1", b, "x2", 0, ROOT), 0);
	assert_int_equal(dir_gen(x), ++gx);
	assert_int_equal(dir_gen(a), ++ga);
	assert_int_equal(dir_gen(b), ++gb);
	/* Page splits move names between pages, not in or out. */
	for (unsigned int i = 0; i < 3 * FS_PAGE_SPLIT; i++) {
		snprintf(name, sizeof(name), "n%u", i);
		mkfile_ok(x, name, 0644, ROOT);
	}
	assert_int_equal(dir_gen(x), gx + 3 * FS_PAGE_SPLIT);
	gx += 3 * FS_PAGE_SPLIT;
	for (unsigned int i = 0; i < 3 * FS_PAGE_SPLIT; i++) {
		snprintf(name, sizeof(name), "n%u", i);
		assert_int_equal(unlink_(x, name, false, ROOT), 0);
	}
	assert_int_equal(dir_gen(x), gx + 3 * FS_PAGE_SPLIT);
	gx += 3 * FS_PAGE_SPLIT;
	/* rmdir: the parent, and the removed directory (it lists ENOENT now). */
	assert_int_equal(unlink_(b, "x2", true, ROOT), 0);
	assert_int_equal(dir_gen(b), ++gb);
	assert_int_equal(dir_gen(x), ++gx);
}

static void
test_fs_link_counts(void **state)
{
	struct tfs *t = *state;
	struct scpp_oid d, f;

	d = mkdir_ok(t->vol.root, "l", 0755, ROOT);
	f = mkfile_ok(d, "f", 0644, ROOT);
	assert_int_equal(RUN(FS_OP_LINK, fsb_link(&fb_, &t->vol, ROOT, f, d, "g", 1)), 0);
	fs_reply_attr(&T->rep, 0, 0, &last_attr);
	assert_int_equal(last_attr.nlink, 2);
	assert_int_equal(RUN(FS_OP_LINK, fsb_link(&fb_, &t->vol, ROOT, f, d, "g", 1)), EEXIST);
	assert_int_equal(RUN(FS_OP_LINK, fsb_link(&fb_, &t->vol, ROOT, d, t->vol.root, "dl", 2)),
			 EPERM);
	assert_int_equal(unlink_(d, "f", false, ROOT), 0);
	assert_int_equal(getattr(f).nlink, 1);
	assert_int_equal(unlink_(d, "g", false, ROOT), 0);
	/* No new link to a file without any. */
	assert_int_equal(RUN(FS_OP_LINK, fsb_link(&fb_, &t->vol, ROOT, f, d, "h", 1)), ENOENT);
}

static void
test_fs_data_chunks_holes_and_reads(void **state)
{
	struct tfs *t = *state;
	uint8_t buf[1024], want[1024], got[1024];
	struct scpp_oid f = mkfile_ok(t->vol.root, "data", 0644, ROOT);
	uint64_t n0;

	for (int i = 0; i < (int)sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 1);
	memset(want, 0, sizeof(want));
	/* In the head, across the head and chunk 1, far into chunk 5 (chunks 2..4
	 * stay holes). */
	assert_int_equal(write_(f, 10, buf, 20), 0);
	memcpy(want + 10, buf, 20);
	assert_int_equal(write_(f, 50, buf + 100, 40), 0);
	memcpy(want + 50, buf + 100, 40);
	n0 = entities();
	assert_int_equal(write_(f, 330, buf + 200, 5), 0);
	memcpy(want + 330, buf + 200, 5);
	assert_int_equal(entities(), n0 + 1); /* one Extent made, not four */
	assert_int_equal(fs_reply_u64(&T->rep, 0, 0), 335);
	assert_int_equal(getattr(f).size, 335);
	/* Any range reads back; holes and past-the-end read as zeros / short. */
	for (uint64_t off = 0; off < 340; off += 13)
		for (uint64_t n = 1; n < 200; n += 37) {
			ssize_t k = read_(f, off, n, got);
			uint64_t e = off >= 335 ? 0 : SCPP_MIN(n, 335 - off);

			assert_int_equal(k, (ssize_t)e);
			assert_memory_equal(got, want + off, (size_t)e);
		}
	/* Overwrite inside an existing chunk; extend the head. */
	assert_int_equal(write_(f, 60, buf + 300, 10), 0);
	memcpy(want + 60, buf + 300, 10);
	assert_int_equal(read_(f, 0, 335, got), 335);
	assert_memory_equal(got, want, 335);
	/* A write the reply cannot hold in FS_PIECES_MAX pieces is refused
	 * before it is sent. */
	{
		struct fsb fb;

		fsb_init(&fb, &T->fx->blk);
		fsb_write(&fb, &t->vol, f, 0, buf, CHUNK * FS_PIECES_MAX + 1, UINT64_MAX, false);
		assert_int_equal(fsb_done(&fb), -EFBIG);
	}
	/* O_APPEND at the size the client believes: EAGAIN when it moved. */
	assert_int_equal(RUN(FS_OP_WRITE, fsb_write(&fb_, &t->vol, f, 100, buf, 1, 100, false)),
			 EAGAIN);
	assert_int_equal(T->rep.cmd, FS_WRITE_SIZE_CMD);
	assert_int_equal(RUN(FS_OP_WRITE, fsb_write(&fb_, &t->vol, f, 335, buf, 1, 335, false)), 0);
}

static void
test_fs_truncate_drops_and_cuts_chunks(void **state)
{
	struct tfs *t = *state;
	uint8_t buf[600], got[600];
	struct scpp_oid f = mkfile_ok(t->vol.root, "tr", 0644, ROOT);
	uint64_t n0 = entities();

	for (int i = 0; i < (int)sizeof(buf); i++)
		buf[i] = (uint8_t)(i + 3);
	for (uint64_t off = 0; off < 600; off += 100)
		assert_int_equal(write_(f, off, buf + off, 100), 0);
	assert_int_equal(entities(), n0 + 9); /* chunks 1..9 of 64 bytes */
	/* Cut in the middle of chunk 3: chunks 4.. go, chunk 3 keeps 8 bytes. */
	assert_int_equal(truncate_(f, 200, ROOT), 0);
	assert_int_equal(entities(), n0 + 3);
	assert_int_equal(getattr(f).size, 200);
	/* Grow again: the dropped bytes read as zeros, not as old data. */
	assert_int_equal(truncate_(f, 600, ROOT), 0);
	assert_int_equal(read_all(f, 0, 600, got), 600);
	assert_memory_equal(got, buf, 200);
	for (int i = 200; i < 600; i++)
		assert_int_equal(got[i], 0);
	/* Into the head, then to zero (O_TRUNC) and reap: nothing left. */
	assert_int_equal(truncate_(f, 30, ROOT), 0);
	assert_int_equal(entities(), n0);
	assert_int_equal(read_(f, 0, 100, got), 30);
	assert_memory_equal(got, buf, 30);
	assert_int_equal(write_(f, 500, buf, 10), 0);
	assert_int_equal(RUN(FS_OP_OPEN, fsb_open(&fb_, &t->vol, ROOT, f, 01001, false)), 0);
	assert_int_equal(getattr(f).size, 0);
	assert_int_equal(entities(), n0);
	assert_int_equal(write_(f, 500, buf, 10), 0);
	assert_int_equal(unlink_(t->vol.root, "tr", false, ROOT), 0);
	assert_int_equal(RUN(FS_OP_OTHER, fsb_reap(&fb_, f)), 0);
	assert_int_equal(entities(), n0 - 1);
	/* Directories are not truncated; permission is checked without an fd. */
	assert_int_equal(truncate_(t->vol.root, 0, ROOT), EISDIR);
	f = mkfile_ok(t->vol.root, "ro", 0444, ALICE);
	assert_int_equal(truncate_(f, 0, ALICE), EACCES);
}

static void
test_fs_setattr_rules(void **state)
{
	struct tfs *t = *state;
	struct scpp_oid f = mkfile_ok(t->vol.root, "sa", 0644, ALICE);
	struct fs_setattr chmod = {.mode = true, .new_mode = 0600};
	struct fs_setattr chown = {.uid = true, .new_uid = 1001};
	struct fs_setattr chgrp = {.gid = true, .new_gid = 50};
	struct fs_setattr chgrp_no = {.gid = true, .new_gid = 99};
	struct fs_setattr times = {.atime = true, .new_atime = 5, .mtime = true, .new_mtime = 6};
	struct fs_setattr now = {.atime = true, .atime_now = true, .mtime = true, .mtime_now = true};
	struct fs_attr a;

	assert_int_equal(RUN(FS_OP_SETATTR, fsb_setattr(&fb_, &t->vol, BOB, f, &chmod)), EPERM);
	assert_int_equal(RUN(FS_OP_SETATTR, fsb_setattr(&fb_, &t->vol, ALICE, f, &chmod)), 0);
	fs_reply_attr(&T->rep, 0, 0, &a);
	assert_int_equal(a.mode, FS_S_IFREG | 0600);
	assert_int_equal(RUN(FS_OP_SETATTR, fsb_setattr(&fb_, &t->vol, ALICE, f, &chown)), EPERM);
	assert_int_equal(RUN(FS_OP_SETATTR, fsb_setattr(&fb_, &t->vol, ALICE, f, &chgrp)), 0);
	assert_int_equal(RUN(FS_OP_SETATTR, fsb_setattr(&fb_, &t->vol, ALICE, f, &chgrp_no)), EPERM);
	assert_int_equal(RUN(FS_OP_SETATTR, fsb_setattr(&fb_, &t->vol, BOB, f, &times)), EPERM);
	assert_int_equal(RUN(FS_OP_SETATTR, fsb_setattr(&fb_, &t->vol, BOB, f, &now)), EACCES);
	assert_int_equal(RUN(FS_OP_SETATTR, fsb_setattr(&fb_, &t->vol, ALICE, f, &times)), 0);
	fs_reply_attr(&T->rep, 0, 0, &a);
	assert_int_equal(a.atime, 5);
	assert_int_equal(a.mtime, 6);
	assert_int_equal(a.ctime, t->clock);
	assert_int_equal(RUN(FS_OP_SETATTR, fsb_setattr(&fb_, &t->vol, ROOT, f, &chown)), 0);
	assert_int_equal(getattr(f).uid, 1001);
}

static void
test_fs_symlink_special_and_xattrs(void **state)
{
	struct tfs *t = *state;
	struct scpp_oid l, p, f;

	assert_int_equal(RUN(FS_OP_CREATE, fsb_create(&fb_, &t->vol, ROOT, t->vol.root, "ln", 2,
						      FS_K_SYMLINK, FS_S_IFLNK | 0777, 0,
						      "../target", 9, true)),
			 0);
	l = fs_reply_at(&T->rep, 0, 0)->oid;
	fs_reply_attr(&T->rep, 0, 1, &last_attr);
	assert_int_equal(last_attr.tlen, 9);
	assert_int_equal(RUN(FS_OP_READLINK, fsb_readlink(&fb_, l)), 0);
	assert_int_equal(fs_reply_at(&T->rep, 0, 0)->len, 9);
	assert_memory_equal(fs_reply_at(&T->rep, 0, 0)->p, "../target", 9);
	assert_int_equal(RUN(FS_OP_CREATE, fsb_create(&fb_, &t->vol, ROOT, t->vol.root, "fifo", 4,
						      FS_K_SPECIAL, FS_S_IFIFO | 0644, 0, NULL, 0,
						      true)),
			 0);
	p = fs_reply_at(&T->rep, 0, 0)->oid;
	assert_int_equal(getattr(p).mode, FS_S_IFIFO | 0644);
	f = mkfile_ok(t->vol.root, "xa", 0644, ALICE);
	assert_int_equal(RUN(FS_OP_XATTR, fsb_getxattr(&fb_, ALICE, f, "user.k", 6)), ENODATA);
	assert_int_equal(RUN(FS_OP_XATTR, fsb_setxattr(&fb_, ALICE, f, "user.k", 6, "v1", 2, 2)),
			 ENODATA);
	assert_int_equal(RUN(FS_OP_XATTR, fsb_setxattr(&fb_, ALICE, f, "user.k", 6, "v1", 2, 1)), 0);
	assert_int_equal(RUN(FS_OP_XATTR, fsb_setxattr(&fb_, ALICE, f, "user.k", 6, "v2", 2, 1)),
			 EEXIST);
	assert_int_equal(RUN(FS_OP_XATTR, fsb_setxattr(&fb_, ALICE, f, "user.k", 6, "v2", 2, 0)), 0);
	assert_int_equal(RUN(FS_OP_XATTR, fsb_setxattr(&fb_, BOB, f, "user.k", 6, "v3", 2, 0)),
			 EACCES);
	assert_int_equal(RUN(FS_OP_XATTR, fsb_setxattr(&fb_, ALICE, f, "trusted.k", 9, "v", 1, 0)),
			 EPERM);
	assert_int_equal(RUN(FS_OP_XATTR, fsb_setxattr(&fb_, ROOT, f, "trusted.k", 9, "v", 1, 0)), 0);
	assert_int_equal(RUN(FS_OP_XATTR, fsb_getxattr(&fb_, BOB, f, "user.k", 6)), 0);
	assert_memory_equal(fs_reply_at(&T->rep, 0, 0)->p, "v2", 2);
	assert_int_equal(RUN(FS_OP_XATTR, fsb_listxattr(&fb_, f)), 0);
	assert_int_equal(T->rep.nrows, 2);
	assert_int_equal(RUN(FS_OP_XATTR, fsb_setxattr(&fb_, ROOT, l, "user.k", 6, "v", 1, 0)), EPERM);
	assert_int_equal(RUN(FS_OP_XATTR, fsb_removexattr(&fb_, ALICE, f, "user.k", 6)), 0);
	assert_int_equal(RUN(FS_OP_XATTR, fsb_removexattr(&fb_, ALICE, f, "user.k", 6)), ENODATA);
}

static void
test_fs_listdir_partitions_cover_the_directory(void **state)
{
	struct tfs *t = *state;
	struct scpp_oid d = mkdir_ok(t->vol.root, "big", 0755, ROOT);
	char name[16];
	int seen[100] = {0};
	size_t total = 0;

	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "n%03d", i);
		mkfile_ok(d, name, 0644, ROOT);
	}
	/* 100 names are two pages (more than FS_PAGE_SPLIT): the page of key 0
	 * and the one after it; each in 8 partitions covers it exactly. */
	for (uint64_t pos = 0;;) {
		uint64_t lo, hi, pk = 0, n1;

		assert_int_equal(RUN(FS_OP_READDIR,
				     fsb_listdir(&fb_, &t->vol, ROOT, d, pos, 0, 1, 0, true)),
				 0);
		n1 = T->rep.nrows;
		assert_true(n1 < 100);
		for (uint32_t part = 0; part < 8; part++) {
			assert_int_equal(RUN(FS_OP_READDIR,
					     fsb_listdir(&fb_, &t->vol, ROOT, d, pos, 0, 8, part, true)), 0);
			assert_true(T->rep.nrows >= 1); /* an empty partition: one row, no name */
			for (size_t i = 0; i < T->rep.nrows; i++) {
				const struct scpp_value *nm = fs_reply_at(&T->rep, i, FS_L_NAME);
				int k;

				pk = fs_reply_u64(&T->rep, i, FS_L_PAGE);
				if (nm->type != SCPP_VT_STR)
					continue;
				k = atoi((const char *)nm->p + 1);
				assert_int_equal(seen[k]++, 0);
				/* The daemon's h(name) (negative entries, docs/FS.md
				 * §3) is the evaluator's. */
				assert_int_equal(fs_reply_u64(&T->rep, i, FS_L_KEY),
						 fs_name_key((const char *)nm->p, nm->len));
				assert_int_equal(fs_reply_u64(&T->rep, i, FS_L_STAT + FS_C_MODE),
						 FS_S_IFREG | 0644);
				total++;
			}
		}
		fs_page_span(pk, &lo, &hi);
		assert_true(lo <= pos && pos <= hi);
		if (hi == FS_KEY_MAX)
			break;
		pos = hi + 1;
	}
	assert_int_equal(total, 100);
	assert_int_equal(RUN(FS_OP_READDIR, fsb_listdir(&fb_, &t->vol, BOB, d, 0, 0, 1, 0, true)),
			 0);
	assert_int_equal(RUN(FS_OP_OPEN, fsb_open(&fb_, &t->vol, ROOT, d, 0, true)), 0);
	assert_int_equal(RUN(FS_OP_STATFS, fsb_statfs(&fb_, &t->vol)), 0);
	assert_int_equal(fs_reply_u64(&T->rep, 0, 0), 4096);
}

/* ---- paged directories (docs/FS.md §1) ---- */

/* The node's default eval limits (config/default.json): a directory must
 * hold far more names than max_rows. */
static const struct scpp_eval_limits node_limits = {
	.max_rows = 4096, .max_steps = 1000000, .max_bytes = 16u << 20,
	.max_result = 1u << 20, .max_statuses = 256,
};

static int
setup_big(void **state)
{
	int rc;

	fx_max_entries = 1u << 21;
	fx_max_map_entries = 1u << 18;
	next_limits = &node_limits;
	rc = setup(state);
	fx_max_entries = fx_max_map_entries = 0;
	next_limits = NULL;
	return rc;
}

/* One listing pass from key 0, as the daemon walks it, in blocks of @p span
 * (0: page by page), with each name's stat or (@p stat false) its ino and
 * mode only; calls @p between(i) after the i-th block. seen[k] counts
 * "<c>%07d" names of class @p cls. Returns the blocks sent; *@p maxrows the
 * largest reply. */
static unsigned int
list_pages(struct scpp_oid d, unsigned int span, bool stat, char cls, uint8_t *seen,
	   size_t nseen, size_t *maxrows, void (*between)(unsigned int))
{
	unsigned int pages = 0;

	*maxrows = 0;
	for (uint64_t pos = 0;;) {
		uint64_t lo, hi, pk = 0;

		assert_int_equal(RUN(FS_OP_READDIR,
				     fsb_listdir(&fb_, &T->vol, ROOT, d, pos, span, 1, 0, stat)),
				 0);
		assert_true(T->rep.nrows >= 1);
		assert_int_equal(T->rep.ncols, FS_L_STAT + (stat ? FS_STAT_COLS : 2));
		pk = fs_reply_u64(&T->rep, 0, FS_L_PAGE);
		fs_page_span(pk, &lo, &hi);
		assert_true(lo <= pos && pos <= hi);
		if (T->rep.nrows > *maxrows)
			*maxrows = T->rep.nrows;
		for (size_t i = 0; i < T->rep.nrows; i++) {
			const struct scpp_value *nm = fs_reply_at(&T->rep, i, FS_L_NAME);
			uint64_t key = fs_key_rev(fs_reply_u64(&T->rep, i, FS_L_KEY));
			size_t k;

			assert_int_equal(fs_reply_u64(&T->rep, i, FS_L_PAGE), pk);
			if (nm->type != SCPP_VT_STR)
				continue;
			/* Every name of the page is in its interval; only those
			 * from pos on are this listing's (the daemon's rule). */
			assert_true(key >= lo && key <= hi);
			if (key < pos || ((const char *)nm->p)[0] != cls)
				continue;
			k = (size_t)atol((const char *)nm->p + 1);
			assert_true(k < nseen);
			/* ino and type, with or without the rest of the stat */
			assert_int_not_equal(fs_reply_u64(&T->rep, i, FS_L_STAT + FS_C_INO), 0);
			assert_int_equal(fs_reply_u64(&T->rep, i, FS_L_STAT + FS_C_MODE) & FS_S_IFMT,
					 FS_S_IFREG);
			assert_true(seen[k] < 255);
			seen[k]++;
		}
		pages++;
		if (between != NULL)
			between(pages);
		if (hi == FS_KEY_MAX)
			return pages;
		pos = hi + 1;
	}
}

static uint64_t
steps_of_lookup(struct scpp_oid d, const char *name)
{
	assert_int_equal(lookup(d, name, ALICE, NULL), 0);
	return T->fx->res.steps;
}

#define BIG 100000
/* What a block's probe steps may add over the small directory's: each of
 * the few hash lookups a lookup or create makes (the page map, the
 * triple index of each attribute it touches) is bounded by the store's
 * probe limit, whatever the directory's size; seeded hashes make the
 * actual chains differ from run to run. */
#define FS_PROBE_SLACK (8 * SCPP_STORE_PROBE_MAX)

/*
 * A directory of 100 000 names, with the node's default row limit (4096)
 * and steps: every block stays within it, a lookup costs the same steps
 * at 10 names and at 100 000, and a page-by-page listing returns every name
 * exactly once, each page a bounded number of rows.
 */
static void
test_fs_directory_of_100000_names_is_paged(void **state)
{
	struct tfs *t = *state;
	struct scpp_oid d = mkdir_ok(t->vol.root, "big", 0755, ROOT);
	static uint8_t seen[BIG];
	uint64_t small_lookup, small_create, big_lookup, big_create, n0, max_split = 0, max_create = 0;
	unsigned int pages;
	size_t maxrows;
	char name[16];

	for (int i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "n%07d", i);
		mkfile_ok(d, name, 0644, ROOT);
	}
	small_create = last_create_steps;
	small_lookup = steps_of_lookup(d, "n0000005");
	for (int i = 10; i < BIG; i++) {
		snprintf(name, sizeof(name), "n%07d", i);
		mkfile_ok(d, name, 0644, ROOT);
		/* The same commands; only probe steps of the store's maps vary. */
		if (last_create_steps > max_create)
			max_create = last_create_steps;
		if (T->fx->res.steps > max_split)
			max_split = T->fx->res.steps; /* the split after it, or the create */
	}
	/* A split walks one page and moves about half of it. */
	print_message("split: at most %llu steps; create at most %llu\n",
		      (unsigned long long)max_split, (unsigned long long)max_create);
	assert_true(max_split < 64 * FS_PAGE_SPLIT);
	/* A create's commands are the same at any size; what varies is the
	 * store's probing as the shard fills (1.2 M attributes here), which
	 * the store bounds by its probe limit per lookup whatever the directory. */
	assert_true(max_create <= small_create + FS_PROBE_SLACK);
	big_create = last_create_steps;
	big_lookup = steps_of_lookup(d, "n0000005");
	print_message("lookup steps: %llu at 10 names, %llu at %d; create %llu, %llu\n",
		      (unsigned long long)small_lookup, (unsigned long long)big_lookup, BIG,
		      (unsigned long long)small_create, (unsigned long long)big_create);
	/* Constant: the same commands whatever the size; only the probes of
	 * the store's hash maps (charged as steps) vary, and their hashes are
	 * seeded per run, so the bound is the store's probe limit (as for
	 * create above), not a size-dependent one. */
	assert_true(big_lookup <= small_lookup + FS_PROBE_SLACK);
	for (int i = 0; i < BIG; i += 97) {
		snprintf(name, sizeof(name), "n%07d", i);
		assert_true(steps_of_lookup(d, name) <= small_lookup + FS_PROBE_SLACK);
	}
	assert_int_equal(lookup(d, "n0100000", ALICE, NULL), ENOENT);
	assert_int_equal(mk(d, "n0000077", FS_K_FILE, FS_S_IFREG | 0644, ROOT), EEXIST);

	memset(seen, 0, sizeof(seen));
	pages = list_pages(d, 0, true, 'n', seen, BIG, &maxrows, NULL);
	print_message("%u pages, largest %zu rows\n", pages, maxrows);
	for (int i = 0; i < BIG; i++)
		if (seen[i] != 1)
			fail_msg("n%07d listed %u times", i, seen[i]);
	/* Between one and two splits' worth per page on average, and no page
	 * near the row limit. */
	assert_true(pages >= BIG / (2 * FS_PAGE_SPLIT) && pages <= 2 * BIG / FS_PAGE_SPLIT);
	assert_true(maxrows <= 4 * FS_PAGE_SPLIT);
	/* In intervals of 2^span to 2^(span+1) pages (3: the daemon's default
	 * for readdir, 1 for readdirplus): 2^(L-span) blocks for 2^L .. 2^(L+1)
	 * pages, every name once, at the node's default row limit. */
	for (unsigned int span = 1; span <= 3; span += 2) {
		unsigned int blocks;
		size_t rows;

		memset(seen, 0, sizeof(seen));
		blocks = list_pages(d, span, span == 1, 'n', seen, BIG, &rows, NULL);
		print_message("span %u: %u blocks, largest %zu rows\n", span, blocks, rows);
		for (int i = 0; i < BIG; i++)
			if (seen[i] != 1)
				fail_msg("span %u: n%07d listed %u times", span, i, seen[i]);
		assert_true((blocks << span) <= pages && (blocks << (span + 1)) >= pages);
		assert_true(rows <= (2u << span) * maxrows);
	}

	/* rmdir refuses it; removing every name merges the pages back to one,
	 * and the directory and its page go with the reap. */
	assert_int_equal(unlink_(t->vol.root, "big", true, ROOT), ENOTEMPTY);
	n0 = entities();
	for (int i = 0; i < BIG; i++) {
		snprintf(name, sizeof(name), "n%07d", i);
		assert_int_equal(unlink_(d, name, false, ROOT), 0);
	}
	assert_int_equal(RUN(FS_OP_READDIR, fsb_listdir(&fb_, &t->vol, ROOT, d, 0, 0, 1, 0, true)), 0);
	assert_int_equal(T->rep.nrows, 1);
	assert_int_equal(fs_reply_u64(&T->rep, 0, FS_L_PAGE), 1); /* level 0: one page */
	assert_int_equal(fs_reply_at(&T->rep, 0, FS_L_NAME)->type, SCPP_VT_NIL);
	/* The files stay until reaped (nlink 0): BIG of them, and all pages
	 * but the last, and at most one spare, are gone. */
	assert_true(entities() <= n0 - (pages - 1) + 1);
	assert_true(entities() >= n0 - pages);
	assert_int_equal(unlink_(t->vol.root, "big", true, ROOT), 0);
	n0 = entities();
	assert_int_equal(RUN(FS_OP_OTHER, fsb_reap(&fb_, d)), 0);
	assert_true(entities() <= n0 - 2 && entities() >= n0 - 3); /* the directory, its page(s) */
}

static struct scpp_oid churn_dir;
static unsigned int churn_next;

/* Between two page blocks: remove 7 names of class 'b' and make 11 of class
 * 'c', splitting and merging as the replies say. */
static void
churn(unsigned int page)
{
	char name[16];

	(void)page;
	for (int i = 0; i < 7; i++) {
		snprintf(name, sizeof(name), "b%07u", churn_next * 7 + (unsigned int)i);
		assert_int_equal(unlink_(churn_dir, name, false, ROOT), 0);
	}
	for (int i = 0; i < 11; i++) {
		snprintf(name, sizeof(name), "c%07u", churn_next * 11 + (unsigned int)i);
		mkfile_ok(churn_dir, name, 0644, ROOT);
	}
	churn_next++;
}

/*
 * A listing while names come and go (and pages split and merge) lists every
 * name present throughout exactly once and no name twice.
 */
static void
listing_while_names_change(struct tfs *t, unsigned int span)
{
	static uint8_t seen_a[5000], seen_b[5000], seen_c[5000];
	size_t maxrows;
	char name[16];

	churn_dir = mkdir_ok(t->vol.root, "churn", 0755, ROOT);
	churn_next = 0;
	for (int i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "a%07d", i);
		mkfile_ok(churn_dir, name, 0644, ROOT);
		snprintf(name, sizeof(name), "b%07d", i);
		mkfile_ok(churn_dir, name, 0644, ROOT);
	}
	memset(seen_a, 0, sizeof(seen_a));
	memset(seen_b, 0, sizeof(seen_b));
	memset(seen_c, 0, sizeof(seen_c));
	/* Grow: more made than removed. */
	(void)list_pages(churn_dir, span, span == 0, 'a', seen_a, 5000, &maxrows, churn);
	for (int i = 0; i < 3000; i++)
		if (seen_a[i] != 1)
			fail_msg("a%07d listed %u times", i, seen_a[i]);
	/* Shrink: remove most names, listing meanwhile. */
	for (int i = 0; i < 2900; i++) {
		snprintf(name, sizeof(name), "a%07d", i);
		assert_int_equal(unlink_(churn_dir, name, false, ROOT), 0);
	}
	for (unsigned int i = 0; i < churn_next * 11; i++) {
		snprintf(name, sizeof(name), "c%07u", i);
		assert_int_equal(unlink_(churn_dir, name, false, ROOT), 0);
	}
	memset(seen_a, 0, sizeof(seen_a));
	(void)list_pages(churn_dir, span, span == 0, 'a', seen_a, 5000, &maxrows, churn);
	for (int i = 2900; i < 3000; i++)
		if (seen_a[i] != 1)
			fail_msg("a%07d listed %u times after the shrink", i, seen_a[i]);
	for (int i = 0; i < 2900; i++)
		assert_int_equal(seen_a[i], 0);
	/* Nothing listed twice in any class. */
	(void)list_pages(churn_dir, span, span == 0, 'b', seen_b, 5000, &maxrows, NULL);
	for (int i = 0; i < 5000; i++)
		assert_true(seen_b[i] <= 1);
	(void)list_pages(churn_dir, span, span == 0, 'c', seen_c, 5000, &maxrows, NULL);
	for (int i = 0; i < 5000; i++)
		assert_true(seen_c[i] <= 1);
}

/* Page by page with the stat (span 0), and in intervals of 4 to 8 pages,
 * names only. */
static void
test_fs_listing_while_names_change(void **state)
{
	listing_while_names_change(*state, 0);
}

static void
test_fs_listing_in_intervals_while_names_change(void **state)
{
	listing_while_names_change(*state, 2);
}

/* A listing in intervals enumerates the page map only up to plevel
 * FS_LIST_ENUM_LEVEL: past it the block fails with ERANGE (the daemon then
 * lists page by page), checked before anything is read. */
static void
test_fs_listing_in_intervals_refuses_a_wide_page_map(void **state)
{
	struct tfs *t = *state;
	struct scpp_oid d = mkdir_ok(t->vol.root, "wide", 0755, ROOT);
	static uint8_t arena[4096];
	struct scpp_lang_error le;
	char text[160], oid[64];
	struct fsb fb;

	mkfile_ok(d, "x", 0644, ROOT);
	assert_int_equal(RUN(FS_OP_READDIR, fsb_listdir(&fb_, &t->vol, ROOT, d, 0, 3, 1, 0, false)),
			 0);
	assert_int_equal(T->rep.nrows, 1);
	assert_int_equal(fs_reply_u64(&T->rep, 0, FS_L_PAGE), 1); /* level 0: the whole directory */
	scpp_oid_format(oid, sizeof(oid), d);
	snprintf(text, sizeof(text), "set %s plevel %uu", oid, FS_LIST_ENUM_LEVEL + 1);
	fsb_init(&fb, &T->fx->blk);
	assert_int_equal(scpp_lang_parse(text, strlen(text), &T->fx->blk, arena, sizeof(arena), &le),
			 0);
	assert_int_equal(run_block(&fb, FS_OP_OTHER, __LINE__), 0);
	assert_int_not_equal(RUN(FS_OP_READDIR,
				 fsb_listdir(&fb_, &t->vol, ROOT, d, 0, 3, 1, 0, false)), 0);
	assert_int_equal(T->rep.outcome, SCPP_OUTCOME_ABORTED);
	assert_int_equal(T->rep.err, 34);
	assert_string_equal(T->rep.code, "ERANGE");
}

static void
test_fs_stale_handles_are_estale(void **state)
{
	struct tfs *t = *state;
	struct scpp_oid gone = scpp_oid_make(0, 1, 0, 1, 0xdead);

	(void)t;
	assert_int_equal(RUN(FS_OP_GETATTR, fsb_getattr(&fb_, gone)), ESTALE);
	assert_int_equal(lookup(gone, "x", ROOT, NULL), ESTALE);
	assert_int_equal(mk(gone, "x", FS_K_FILE, FS_S_IFREG | 0644, ROOT), ESTALE);
	assert_int_equal(write_(gone, 0, "x", 1), ESTALE);
	assert_int_equal(RUN(FS_OP_FSYNC, fsb_fsync(&fb_, gone)), ESTALE);
	/* On another shard: EXDEV for rename and link, EIO otherwise. */
	assert_int_equal(rename_(scpp_oid_make(0, 1, 5, 1, 1), "a", t->vol.root, "b", 0, ROOT), EXDEV);
	assert_int_equal(RUN(FS_OP_GETATTR, fsb_getattr(&fb_, scpp_oid_make(0, 1, 5, 1, 1))), EIO);
}

/* ---- the errno table ---- */

static void
test_fs_errno_table_covers_the_canonical_table(void **state)
{
	uint32_t canon;
	int local;
	size_t n = 0;
	(void)state;

	for (size_t i = 0; fs_errno_row(i, &canon, &local); i++, n++) {
		assert_int_equal(canon, scpp_errno_at(i)); /* same rows, same order */
		assert_true(local > 0);
	}
	assert_int_equal(n, scpp_errno_count());
	/* Rows that are the same error map to the platform's value of it. */
	assert_true(fs_errno_row(1, &canon, &local));
	assert_int_equal(canon, 2);
	assert_int_equal(local, ENOENT);
}

static void
test_fs_errno_doc_lists_exactly_the_table(void **state)
{
	const char *root = getenv("SCPP_SOURCE_ROOT");
	char path[4096], line[512];
	size_t rows = 0;
	bool in = false;
	FILE *fp;
	(void)state;

	snprintf(path, sizeof(path), "%s/docs/ERRNO.md", root ? root : ".");
	fp = fopen(path, "r");
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp) != NULL) {
		unsigned int canon;
		char cname[32], lname[32];
		uint32_t c;
		int l;

		if (strncmp(line, "## scpp-fs", 10) == 0)
			in = true;
		else if (in && strncmp(line, "## ", 3) == 0)
			break;
		/* "| 2 ENOENT | ENOENT | why |": the number and the name share a
		 * column, so that unit.status's parser of the canonical table
		 * above does not read these rows. */
		if (!in || sscanf(line, "| %u %31s | %31s |", &canon, cname, lname) != 3)
			continue;
		assert_true(fs_errno_row(rows, &c, &l));
		if (canon != c || strcmp(cname, scpp_errno_name(c)) != 0 ||
		    strcmp(lname, scpp_errno_name(scpp_errno_to_canonical(l))) != 0)
			fail_msg("docs/ERRNO.md scpp-fs row %zu: %u %s %s, the table says %u %s %s",
				 rows, canon, cname, lname, c, scpp_errno_name(c),
				 scpp_errno_name(scpp_errno_to_canonical(l)));
		rows++;
	}
	fclose(fp);
	assert_int_equal(rows, scpp_errno_count());
}

int
main(void)
{
#define T_(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T_(test_fs_volume_is_found_and_made_once),
		T_(test_fs_mkdir_create_lookup_and_link_counts),
		T_(test_fs_permission_classes),
		T_(test_fs_setgid_directory_passes_its_group),
		T_(test_fs_unlink_rmdir_and_reaping),
		T_(test_fs_unlink_reaps_in_the_same_block),
		T_(test_fs_sticky_directory),
		T_(test_fs_rename_cases),
		T_(test_fs_link_counts),
		T_(test_fs_directory_generation_moves_with_its_listing),
		T_(test_fs_data_chunks_holes_and_reads),
		T_(test_fs_truncate_drops_and_cuts_chunks),
		T_(test_fs_setattr_rules),
		T_(test_fs_symlink_special_and_xattrs),
		T_(test_fs_listdir_partitions_cover_the_directory),
		T_(test_fs_listing_in_intervals_refuses_a_wide_page_map),
		T_(test_fs_stale_handles_are_estale),
		cmocka_unit_test_setup_teardown(test_fs_directory_of_100000_names_is_paged, setup_big,
						teardown),
		cmocka_unit_test_setup_teardown(test_fs_listing_while_names_change, setup_big,
						teardown),
		cmocka_unit_test_setup_teardown(test_fs_listing_in_intervals_while_names_change,
						setup_big, teardown),
		cmocka_unit_test(test_fs_errno_table_covers_the_canonical_table),
		cmocka_unit_test(test_fs_errno_doc_lists_exactly_the_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
