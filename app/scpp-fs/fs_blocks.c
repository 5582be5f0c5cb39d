/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The blocks of scpp-fs: one builder per file operation (fs_core.h; the
 * layout and the rules are in docs/FS.md).
 *
 * Every block has the same shape:
 *
 *   1. read what the operation names (the first commands: `let %x val(E,
 *      mode)` and friends; ENOENT here is a stale handle, fs_errno());
 *   2. check, in the order Linux checks (search permission on the parent,
 *      existence, write permission, the sticky bit, file types, emptiness,
 *      ancestry), each check an `assert COND ERRNO`;
 *   3. change (set, del, create, write, resize), with counts and times
 *      derived in the block (`let %n add(%n0, 1u)`, `let %t now()`);
 *   4. commands that multiply rows last (a directory listing, dropping a
 *      truncated file's chunks), since a search that finds nothing leaves
 *      no row for anything after it.
 *
 * The caller's identity is folded into the expressions (its uid and groups
 * are constants), so a permission check is one assert of a few operators.
 * Builders never fail on their own: a block that does not fit the wire's
 * limits reports the builder's error through fsb_done().
 */
#include <errno.h>
#include <string.h>

#include "fs_core.h"

#define ALWAYS (-2) /* a condition known to be true: no assert needed */

/* ---- terms ---- */

static int
keep(struct fsb *f, int rc)
{
	if (rc < 0 && f->err == 0)
		f->err = rc;
	return rc;
}

static int
t_val(struct fsb *f, struct scpp_value v)
{
	return keep(f, scpp_wire_term_const(f->b, &v));
}

static int
t_u(struct fsb *f, uint64_t u)
{
	return t_val(f, scpp_value_u64(u));
}

static int
t_i(struct fsb *f, int64_t i)
{
	return t_val(f, scpp_value_i64(i));
}

static int
t_s(struct fsb *f, const char *s)
{
	return t_val(f, scpp_value_str(s, (uint32_t)strlen(s)));
}

static int
t_sn(struct fsb *f, const char *s, size_t n)
{
	return t_val(f, scpp_value_str(s, (uint32_t)n));
}

static int
t_bytes(struct fsb *f, const void *p, size_t n)
{
	return t_val(f, scpp_value_bytes(p, (uint32_t)n));
}

static int
t_oid(struct fsb *f, struct scpp_oid o)
{
	return t_val(f, scpp_value_oid(o));
}

static int
t_nil(struct fsb *f)
{
	return t_val(f, scpp_value_nil());
}

/* A new anonymous variable. */
static int
var(struct fsb *f)
{
	return keep(f, scpp_wire_block_var(f->b, NULL, 0));
}

static int
t_var(struct fsb *f, int v)
{
	return v < 0 ? keep(f, -SCPP_E_BAD_VAR) : keep(f, scpp_wire_term_var(f->b, (unsigned int)v));
}

static int
x(struct fsb *f, unsigned int op, int a, int b, int c)
{
	return keep(f, scpp_wire_term_op(f->b, op, a, b, c));
}

#define X1(op, a) x(f, SCPP_XOP_##op, (a), -1, -1)
#define X2(op, a, b) x(f, SCPP_XOP_##op, (a), (b), -1)
#define X3(op, a, b, c) x(f, SCPP_XOP_##op, (a), (b), (c))
#define V(v) t_var(f, (v))
#define U(u) t_u(f, (u))

static int
cmd(struct fsb *f, unsigned int op, int t0, int t1, int t2)
{
	return keep(f, scpp_wire_block_cmd(f->b, op, t0, t1, t2, -1));
}

/* `let %v X`; returns %v. */
static int
let(struct fsb *f, int expr)
{
	int v = var(f);

	cmd(f, SCPP_OP_LET, t_var(f, v), expr, -1);
	return v;
}

/* `let %v val(E, attr)`. */
static int
let_val(struct fsb *f, int e, const char *attr)
{
	return let(f, X2(VAL, e, t_s(f, attr)));
}

static void
set(struct fsb *f, int e, const char *attr, int value)
{
	cmd(f, SCPP_OP_SET, e, t_s(f, attr), value);
}

/* `assert C ERRNO` (nothing when C is ALWAYS). */
static void
check(struct fsb *f, int cond, uint32_t err)
{
	if (cond != ALWAYS)
		cmd(f, SCPP_OP_ASSERT, cond, t_u(f, err), -1);
}

/* Give the last command a guard. */
static void
when(struct fsb *f, int cond)
{
	if (cond != ALWAYS && f->b->ncmds > 0)
		keep(f, scpp_wire_block_guard(f->b, f->b->ncmds - 1u, cond));
}

static void
ret(struct fsb *f, int v)
{
	if (v >= 0)
		keep(f, scpp_wire_block_ret(f->b, (unsigned int)v));
	else
		keep(f, -SCPP_E_BAD_VAR);
}

void
fsb_init(struct fsb *f, struct scpp_wire_block *b)
{
	scpp_wire_block_init(b);
	f->b = b;
	f->err = 0;
	f->nstale = 0;
}

int
fsb_done(const struct fsb *f)
{
	return f->err;
}

/* Canonical errno numbers (docs/ERRNO.md), as the asserts name them. */
enum {
	E_PERM = 1, E_NOENT = 2, E_ACCES = 13, E_EXIST = 17, E_XDEV = 18, E_NOTDIR = 20,
	E_ISDIR = 21, E_INVAL = 22, E_AGAIN = 11, E_NOTEMPTY = 39, E_NODATA = 61, E_RANGE = 34,
};

/* ---- predicates ---- */

/* mode %m is of type @p type (S_IFDIR, ...). */
static int
is_type(struct fsb *f, int m, uint64_t type)
{
	return X2(EQ, X2(BAND, V(m), U(FS_S_IFMT)), U(type));
}

/* Is gid %g one of the caller's groups? A balanced tree of eq()s, so that
 * FS_GROUPS_MAX groups stay well inside the expression depth limit. */
static int
in_groups(struct fsb *f, int g, const uint32_t *gs, uint32_t n)
{
	if (n == 1)
		return X2(EQ, V(g), U(gs[0]));
	return X2(OR, in_groups(f, g, gs, n / 2), in_groups(f, g, gs + n / 2, n - n / 2));
}

static int
caller_in_group(struct fsb *f, const struct fs_cred *c, int g)
{
	uint32_t gs[FS_GROUPS_MAX + 1];
	uint32_t n = 0;

	gs[n++] = c->gid;
	for (uint32_t i = 0; i < c->ngroups && i < FS_GROUPS_MAX; i++) {
		bool dup = false;

		for (uint32_t j = 0; j < n; j++)
			dup = dup || gs[j] == c->groups[i];
		if (!dup)
			gs[n++] = c->groups[i];
	}
	return in_groups(f, g, gs, n);
}

/*
 * May the caller do @p want (4 read, 2 write, 1 execute/search) on an inode
 * whose mode, uid and gid are in %m, %u, %g? The owner class if the caller
 * owns it, else the group class if it is in the group, else the other
 * class (POSIX: exactly one class applies). Root may do anything but
 * execute a file that no class may execute.
 */
static int
perm(struct fsb *f, const struct fs_cred *c, int m, int u, int g, unsigned int want)
{
	int cls;

	if (c->uid == 0) {
		if (!(want & 1))
			return ALWAYS;
		return X2(OR, is_type(f, m, FS_S_IFDIR), X2(NE, X2(BAND, V(m), U(0111)), U(0)));
	}
	cls = X3(IF, X2(EQ, V(u), U(c->uid)), X2(SHR, V(m), U(6)),
		 X3(IF, caller_in_group(f, c, g), X2(SHR, V(m), U(3)), V(m)));
	return X2(EQ, X2(BAND, cls, U(want)), U(want));
}

/* The caller owns the inode (or is root). */
static int
owner(struct fsb *f, const struct fs_cred *c, int u)
{
	return c->uid == 0 ? ALWAYS : X2(EQ, V(u), U(c->uid));
}

/* The sticky bit of directory (%pm, %pu) lets the caller remove an entry
 * owned by %fu: not sticky, or the caller owns the directory or the entry. */
static int
sticky_ok(struct fsb *f, const struct fs_cred *c, int pm, int pu, int fu)
{
	if (c->uid == 0)
		return ALWAYS;
	return X2(OR, X2(EQ, X2(BAND, V(pm), U(FS_S_ISVTX)), U(0)),
		  X2(OR, X2(EQ, V(pu), U(c->uid)), X2(EQ, V(fu), U(c->uid))));
}

/* ---- reading what the block names ---- */

/* An inode named by the client: its mode, uid, gid and nlink. These are
 * among the first commands, so ENOENT in them is a stale handle. */
struct node {
	int e;              /* its OID term */
	int m, u, g, n;     /* variables */
	int pl, ps, pc;     /* a directory's plevel, psplit, count (dir_pages()) */
};

static void
node_read(struct fsb *f, struct node *d, struct scpp_oid oid)
{
	d->e = t_oid(f, oid);
	d->m = let_val(f, d->e, "mode");
	d->u = let_val(f, d->e, "uid");
	d->g = let_val(f, d->e, "gid");
	d->n = let_val(f, d->e, "nlink");
	f->nstale = f->b->ncmds;
}

/* perm() on an inode already known to be a directory: root may search any
 * directory, so only the non-root classes need an expression. */
static int
perm_dir(struct fsb *f, const struct fs_cred *c, const struct node *d, unsigned int want)
{
	return c->uid == 0 ? ALWAYS : perm(f, c, d->m, d->u, d->g, want);
}

/* A parent directory: read, a directory, not removed, searchable. */
static void
dir_read(struct fsb *f, const struct fs_cred *c, struct node *d, struct scpp_oid oid)
{
	node_read(f, d, oid);
	check(f, is_type(f, d->m, FS_S_IFDIR), E_NOTDIR);
	/* rmdir leaves the inode (nlink 0) until the kernel forgets it;
	 * nothing may be created in it (ENOENT, as Linux says). */
	check(f, X2(NE, V(d->n), U(0)), E_NOENT);
	check(f, perm_dir(f, c, d, 1), E_ACCES);
}

/* An inode held in variable %e (found through a directory entry). */
static void
node_of(struct fsb *f, struct node *d, int evar)
{
	d->e = t_var(f, evar);
	d->m = let_val(f, d->e, "mode");
	d->u = let_val(f, d->e, "uid");
	d->g = let_val(f, d->e, "gid");
	d->n = let_val(f, d->e, "nlink");
}

/* The stat group of entity term @p e, returned in enum fs_stat_col order. */
static void
stat_group(struct fsb *f, int e)
{
	static const char *const attrs[] = {
		"ino", "mode", "uid", "gid", "nlink", "size", "rdev", "atime_ns", "mtime_ns",
		"ctime_ns",
	};

	for (unsigned int i = 0; i < SCPP_ARRAY_SIZE(attrs); i++)
		ret(f, let_val(f, e, attrs[i]));
	ret(f, let(f, X2(LENGTH, e, t_s(f, "target"))));
}

/* `let %t now()`, once per block. */
static int
now(struct fsb *f)
{
	return let(f, x(f, SCPP_XOP_NOW, -1, -1, -1));
}

/* The listing of directory term @p d changed (a name added, removed or
 * replaced, its ".." moved, the directory removed): its change generation
 * `gen` + 1, which fsb_open() of a directory returns (the kernel's readdir
 * cache, docs/FS.md §3). A directory made before `gen` existed has none:
 * nil counts as 0. */
static void
bump_gen(struct fsb *f, int d)
{
	int g = let_val(f, d, "gen");

	set(f, d, "gen", V(let(f, X3(IF, X2(EQ, V(g), t_nil(f)), U(1), X2(ADD, V(g), U(1))))));
}

/* bump_gen() of the inode in %e when %cond holds (a directory), in
 * guarded commands: %e may be another kind of inode. */
static void
bump_gen_if(struct fsb *f, int e, int cond)
{
	int g = var(f), g1 = var(f);

	cmd(f, SCPP_OP_LET, t_var(f, g), X2(VAL, V(e), t_s(f, "gen")), -1);
	when(f, V(cond));
	cmd(f, SCPP_OP_LET, t_var(f, g1), X3(IF, X2(EQ, V(g), t_nil(f)), U(1), X2(ADD, V(g), U(1))),
	    -1);
	when(f, V(cond));
	set(f, V(e), "gen", V(g1));
	when(f, V(cond));
}

/* Directory %d changed its entries: mtime, ctime and the generation. */
static void
touch_dir(struct fsb *f, int d, int t)
{
	set(f, d, "mtime_ns", V(t));
	set(f, d, "ctime_ns", V(t));
	bump_gen(f, d);
}

/* nlink of node @p d += @p delta (a small signed constant). */
static void
add_nlink(struct fsb *f, const struct node *d, int delta)
{
	int n = delta >= 0 ? let(f, X2(ADD, V(d->n), U((uint64_t)delta)))
			   : let(f, X2(SUB, V(d->n), U((uint64_t)-delta)));

	set(f, d->e, "nlink", V(n));
}

/* ---- directory pages (docs/FS.md §1) ---- */

/* Read the page structure of directory @p d: level L, split pointer s and
 * the number of names. */
static void
dir_pages(struct fsb *f, struct node *d)
{
	d->pl = let_val(f, d->e, "plevel");
	d->ps = let_val(f, d->e, "psplit");
	d->pc = let_val(f, d->e, "count");
}

/* The page key of hash @p h (an expression: the low 62 bits of hash(name))
 * in directory @p d: its low L bits i, or its low L + 1 bits when i < s
 * (linear hashing), tagged with the number of bits: (1 << l) | i. */
static int
page_key(struct fsb *f, const struct node *d, int h)
{
	int hv = let(f, h);
	int i = let(f, X2(BAND, V(hv), X2(SUB, X2(SHL, U(1), V(d->pl)), U(1))));
	int l1 = X2(ADD, V(d->pl), U(1));

	return let(f, X3(IF, X2(LT, V(i), V(d->ps)),
			 X2(BOR, X2(SHL, U(1), l1),
			    X2(BAND, V(hv), X2(SUB, X2(SHL, U(1), X2(ADD, V(d->pl), U(1))), U(1)))),
			 X2(BOR, X2(SHL, U(1), V(d->pl)), V(i))));
}

/* The low 62 bits of hash(name) (expression): the bits pages are chosen
 * by. FNV-1a's low bits depend on every byte; its high bits hardly on the
 * last ones. */
static int
name_key(struct fsb *f, int name)
{
	return X2(BAND, X1(HASH, name), U(FS_KEY_MAX));
}

/* `let %pg entry(D, pages, page_key(key(name)))`: the page that holds (or
 * would hold) @p name in directory @p d. */
static int
page_of(struct fsb *f, const struct node *d, const char *name, size_t len)
{
	int pk = page_key(f, d, name_key(f, t_sn(f, name, len)));

	return let(f, X3(ENTRY, d->e, t_s(f, "pages"), V(pk)));
}

/* The term `entries[name]` (of a page). */
static int
ekey(struct fsb *f, const char *name, size_t len)
{
	return keep(f, scpp_wire_term_key(f->b, t_s(f, "entries"), t_sn(f, name, len)));
}

/* Pages of directory @p d: 2^L + s (expression). */
static int
npages(struct fsb *f, const struct node *d)
{
	return X2(ADD, X2(SHL, U(1), V(d->pl)), V(d->ps));
}

/* `let` of: a page should be split, now that the directory holds %c names. */
static int
grow_flag(struct fsb *f, const struct node *d, int c)
{
	return let(f, X2(GT, V(c), X2(MUL, U(FS_PAGE_SPLIT), npages(f, d))));
}

/* `let` of: two pages should be merged, now that it holds %c names. */
static int
shrink_flag(struct fsb *f, const struct node *d, int c)
{
	int n = npages(f, d);

	return let(f, X2(AND, X2(GT, n, U(1)),
			 X2(LT, V(c), X2(MUL, U(FS_PAGE_MERGE), X2(SUB, npages(f, d), U(1))))));
}

/* A new directory's page structure: one empty page at level 0 (key 1). */
static void
dir_init_pages(struct fsb *f, int dv)
{
	int pg = var(f);

	cmd(f, SCPP_OP_CREATE, t_var(f, pg), t_s(f, "DirPage"), -1);
	set(f, V(pg), "dir", V(dv));
	cmd(f, SCPP_OP_SET, V(dv), keep(f, scpp_wire_term_key(f->b, t_s(f, "pages"), U(1))), V(pg));
	set(f, V(dv), "plevel", U(0));
	set(f, V(dv), "psplit", U(0));
	set(f, V(dv), "count", U(0));
	set(f, V(dv), "gen", U(0));
}

/* ---- lookup, getattr, access ---- */

void
fsb_lookup(struct fsb *f, const struct fs_vol *v, const struct fs_cred *c,
	   struct scpp_oid parent, const char *name, size_t len)
{
	struct node p;
	int ch = var(f);

	(void)v;
	dir_read(f, c, &p, parent);
	dir_pages(f, &p);
	cmd(f, SCPP_OP_GET, V(page_of(f, &p, name, len)), ekey(f, name, len), t_var(f, ch));
	ret(f, ch);
	stat_group(f, t_var(f, ch));
}

void
fsb_getattr(struct fsb *f, struct scpp_oid e)
{
	int t = t_oid(f, e);

	stat_group(f, t);
	f->nstale = 1;
}

void
fsb_access(struct fsb *f, const struct fs_cred *c, struct scpp_oid e, unsigned int mask)
{
	struct node n;

	node_read(f, &n, e);
	if (mask != 0)
		check(f, perm(f, c, n.m, n.u, n.g, mask & 7), E_ACCES);
}

/* ---- truncation ---- */

/*
 * Make the file's contents @p size bytes long: the head (File.data) cut to
 * at most min(size, C), the chunk that holds the new end cut to what of it
 * stays, and every chunk wholly past the end dropped. The last part
 * multiplies rows (one per chunk dropped), so it is added by
 * truncate_tail() at the very end of the block.
 */
static void
truncate_body(struct fsb *f, const struct fs_vol *v, int e, uint64_t size)
{
	int hl, hn, xb, bl, bn;

	if (size < v->chunk) {
		hl = let(f, X2(LENGTH, e, t_s(f, "data")));
		hn = let(f, X2(MIN, V(hl), U(size)));
		cmd(f, SCPP_OP_RESIZE, e, t_s(f, "data"), V(hn));
	} else if (size % v->chunk != 0) {
		uint64_t k = size / v->chunk * v->chunk;

		xb = let(f, X3(ENTRY, e, t_s(f, "extents"), U(k)));
		bl = let(f, X3(IF, X2(EQ, V(xb), t_nil(f)), U(0),
			       X2(LENGTH, V(xb), t_s(f, "data"))));
		bn = let(f, X2(MIN, V(bl), U(size - k)));
		cmd(f, SCPP_OP_RESIZE, V(xb), t_s(f, "data"), V(bn));
		when(f, X2(NE, V(xb), t_nil(f)));
	}
	set(f, e, "size", U(size));
}

static void
truncate_tail(struct fsb *f, const struct fs_vol *v, int e, uint64_t size)
{
	uint64_t first = (size + v->chunk - 1) / v->chunk * v->chunk; /* first chunk wholly dropped */
	int k = var(f), xv = var(f);

	if (first < v->chunk)
		first = v->chunk;
	cmd(f, SCPP_OP_GET, e, keep(f, scpp_wire_term_key(f->b, t_s(f, "extents"), t_var(f, k))),
	    t_var(f, xv));
	cmd(f, SCPP_OP_WHERE, X2(GE, V(k), U(first)), -1, -1);
	cmd(f, SCPP_OP_DEL, e, keep(f, scpp_wire_term_key(f->b, t_s(f, "extents"), t_var(f, k))),
	    -1);
	cmd(f, SCPP_OP_DEL, V(xv), t_nil(f), -1);
}

/* ---- setattr ---- */

void
fsb_setattr(struct fsb *f, const struct fs_vol *v, const struct fs_cred *c, struct scpp_oid e,
	    const struct fs_setattr *sa)
{
	struct node n;
	int t, tail = 0;

	node_read(f, &n, e);
	t = now(f);
	if (sa->mode) {
		uint64_t bits = sa->new_mode & 07777;
		int nm;

		check(f, owner(f, c, n.u), E_PERM);
		/* chmod by someone outside the file's group drops S_ISGID. */
		if (c->uid != 0 && (bits & FS_S_ISGID))
			nm = let(f, X2(BOR, X2(BAND, V(n.m), U(FS_S_IFMT)),
				       X3(IF, caller_in_group(f, c, n.g), U(bits),
					  U(bits & ~(uint64_t)FS_S_ISGID))));
		else
			nm = let(f, X2(BOR, X2(BAND, V(n.m), U(FS_S_IFMT)), U(bits)));
		set(f, n.e, "mode", V(nm));
	}
	if (sa->uid || sa->gid) {
		/* chown: root only for a new owner; the owner may give the file
		 * to one of its groups. */
		if (sa->uid && c->uid != 0)
			check(f, X2(EQ, V(n.u), U(sa->new_uid)), E_PERM);
		if (sa->gid && c->uid != 0) {
			bool member = sa->new_gid == c->gid;

			for (uint32_t i = 0; i < c->ngroups; i++)
				member = member || c->groups[i] == sa->new_gid;
			check(f, member ? X2(EQ, V(n.u), U(c->uid)) : t_val(f, scpp_value_bool(false)),
			      E_PERM);
		}
		if (sa->uid)
			set(f, n.e, "uid", U(sa->new_uid));
		if (sa->gid)
			set(f, n.e, "gid", U(sa->new_gid));
	}
	if (sa->size) {
		check(f, X1(NOT, is_type(f, n.m, FS_S_IFDIR)), E_ISDIR);
		check(f, is_type(f, n.m, FS_S_IFREG), E_INVAL);
		if (!sa->has_fh)
			check(f, perm(f, c, n.m, n.u, n.g, 2), E_ACCES);
		truncate_body(f, v, n.e, sa->new_size);
		tail = sa->cached_size == UINT64_MAX || sa->cached_size > v->chunk ||
		       sa->cached_size > sa->new_size;
		if (!sa->mtime && !sa->mtime_now)
			set(f, n.e, "mtime_ns", V(t));
	}
	if (sa->atime || sa->atime_now || sa->mtime || sa->mtime_now) {
		/* Explicit times: the owner only (EPERM); "now": the owner or
		 * anyone who may write (EACCES). */
		if ((sa->atime && !sa->atime_now) || (sa->mtime && !sa->mtime_now))
			check(f, owner(f, c, n.u), E_PERM);
		else if (c->uid != 0)
			check(f, X2(OR, X2(EQ, V(n.u), U(c->uid)), perm(f, c, n.m, n.u, n.g, 2)),
			      E_ACCES);
		if (sa->atime_now)
			set(f, n.e, "atime_ns", V(t));
		else if (sa->atime)
			set(f, n.e, "atime_ns", t_i(f, sa->new_atime));
		if (sa->mtime_now)
			set(f, n.e, "mtime_ns", V(t));
		else if (sa->mtime)
			set(f, n.e, "mtime_ns", t_i(f, sa->new_mtime));
	}
	set(f, n.e, "ctime_ns", sa->ctime ? t_i(f, sa->new_ctime) : V(t));
	stat_group(f, n.e);
	if (tail && sa->size)
		truncate_tail(f, v, n.e, sa->new_size);
}

/* ---- create, mkdir, mknod, symlink ---- */

static int create_exists_cmd = -1;

int
fs_create_exists_cmd(void)
{
	return create_exists_cmd;
}

void
fsb_create(struct fsb *f, const struct fs_vol *v, const struct fs_cred *c,
	   struct scpp_oid parent, const char *name, size_t len, enum fs_kind kind,
	   uint64_t mode, uint64_t rdev, const char *target, size_t tlen, bool excl)
{
	static const char *const types[] = {
		[FS_K_FILE] = "File", [FS_K_DIR] = "Directory", [FS_K_SYMLINK] = "Symlink",
		[FS_K_SPECIAL] = "Special",
	};
	struct node p;
	int ent, nv, ino, g, m, t, pg, cnt, grow;

	(void)excl;
	dir_read(f, c, &p, parent);
	dir_pages(f, &p);
	pg = page_of(f, &p, name, len);
	/* Existence before write permission, as Linux decides. */
	ent = ekey(f, name, len);
	create_exists_cmd = f->b->ncmds;
	check(f, X2(EQ, X3(ENTRY, V(pg), t_s(f, "entries"), t_sn(f, name, len)), t_nil(f)), E_EXIST);
	check(f, perm_dir(f, c, &p, 3), E_ACCES);
	nv = var(f);
	cmd(f, SCPP_OP_CREATE, t_var(f, nv), t_s(f, types[kind]), -1);
	ino = let(f, X1(HASH, V(nv)));
	/* A set-group-ID directory gives its group to what is made in it, and
	 * its S_ISGID bit to subdirectories. */
	g = let(f, X3(IF, X2(NE, X2(BAND, V(p.m), U(FS_S_ISGID)), U(0)), V(p.g), U(c->gid)));
	if (kind == FS_K_DIR)
		m = let(f, X3(IF, X2(NE, X2(BAND, V(p.m), U(FS_S_ISGID)), U(0)),
			      U(mode | FS_S_ISGID), U(mode)));
	else if (c->uid != 0 && (mode & FS_S_ISGID) && (mode & 010))
		/* S_ISGID on a new file only for a member of its group. */
		m = let(f, X3(IF, caller_in_group(f, c, g), U(mode),
			      U(mode & ~(uint64_t)FS_S_ISGID)));
	else
		m = let(f, U(mode));
	t = now(f);
	set(f, V(nv), "ino", V(ino));
	set(f, V(nv), "dev", U(v->dev));
	set(f, V(nv), "mode", V(m));
	set(f, V(nv), "uid", U(c->uid));
	set(f, V(nv), "gid", V(g));
	set(f, V(nv), "nlink", U(kind == FS_K_DIR ? 2 : 1));
	set(f, V(nv), "atime_ns", V(t));
	set(f, V(nv), "mtime_ns", V(t));
	set(f, V(nv), "ctime_ns", V(t));
	switch (kind) {
	case FS_K_FILE:
		set(f, V(nv), "size", U(0));
		set(f, V(nv), "data", t_bytes(f, "", 0));
		break;
	case FS_K_DIR:
		set(f, V(nv), "parent", p.e);
		dir_init_pages(f, nv);
		add_nlink(f, &p, 1);
		break;
	case FS_K_SYMLINK:
		set(f, V(nv), "target", t_sn(f, target, tlen));
		break;
	case FS_K_SPECIAL:
		set(f, V(nv), "rdev", U(rdev));
		break;
	}
	cmd(f, SCPP_OP_SET, V(pg), ent, V(nv));
	cnt = let(f, X2(ADD, V(p.pc), U(1)));
	set(f, p.e, "count", V(cnt));
	grow = grow_flag(f, &p, cnt);
	touch_dir(f, p.e, t);
	ret(f, nv);
	stat_group(f, V(nv));
	ret(f, grow);
	stat_group(f, p.e); /* the parent after the change (fs_ops.c's attribute slot) */
}

/* ---- link, unlink, rmdir ---- */

void
fsb_link(struct fsb *f, const struct fs_vol *v, const struct fs_cred *c, struct scpp_oid e,
	 struct scpp_oid parent, const char *name, size_t len)
{
	struct node n, p;
	int t, pg, cnt, grow;

	(void)v;
	node_read(f, &n, e);
	dir_read(f, c, &p, parent);
	dir_pages(f, &p);
	pg = page_of(f, &p, name, len);
	check(f, X2(EQ, X3(ENTRY, V(pg), t_s(f, "entries"), t_sn(f, name, len)), t_nil(f)), E_EXIST);
	check(f, perm_dir(f, c, &p, 3), E_ACCES);
	check(f, X1(NOT, is_type(f, n.m, FS_S_IFDIR)), E_PERM);
	/* A file whose last link is gone cannot get a new one. */
	check(f, X2(NE, V(n.n), U(0)), E_NOENT);
	t = now(f);
	cmd(f, SCPP_OP_SET, V(pg), ekey(f, name, len), n.e);
	cnt = let(f, X2(ADD, V(p.pc), U(1)));
	set(f, p.e, "count", V(cnt));
	grow = grow_flag(f, &p, cnt);
	add_nlink(f, &n, 1);
	set(f, n.e, "ctime_ns", V(t));
	touch_dir(f, p.e, t);
	stat_group(f, n.e);
	ret(f, grow);
}

void
fsb_unlink(struct fsb *f, const struct fs_vol *v, const struct fs_cred *c,
	   struct scpp_oid parent, const char *name, size_t len, bool dir, bool reap)
{
	struct node p, n;
	int ch = var(f), nn, t, pg, cnt, shrink;

	(void)v;
	dir_read(f, c, &p, parent);
	dir_pages(f, &p);
	pg = page_of(f, &p, name, len);
	cmd(f, SCPP_OP_GET, V(pg), ekey(f, name, len), t_var(f, ch));
	node_of(f, &n, ch);
	check(f, perm_dir(f, c, &p, 3), E_ACCES);
	check(f, sticky_ok(f, c, p.m, p.u, n.u), E_PERM);
	if (dir) {
		check(f, is_type(f, n.m, FS_S_IFDIR), E_NOTDIR);
		check(f, X2(EQ, X2(VAL, n.e, t_s(f, "count")), U(0)), E_NOTEMPTY);
	} else {
		check(f, X1(NOT, is_type(f, n.m, FS_S_IFDIR)), E_ISDIR);
	}
	t = now(f);
	cmd(f, SCPP_OP_DEL, V(pg), ekey(f, name, len), -1);
	cnt = let(f, X2(SUB, V(p.pc), U(1)));
	set(f, p.e, "count", V(cnt));
	shrink = shrink_flag(f, &p, cnt);
	if (dir) {
		/* The removed directory keeps no link; its parent loses the
		 * subdirectory's "..". */
		nn = let(f, U(0));
		add_nlink(f, &p, -1);
		bump_gen(f, n.e); /* it lists nothing (ENOENT) from now on */
	} else {
		nn = let(f, X2(SUB, V(n.n), U(1)));
	}
	set(f, n.e, "nlink", V(nn));
	set(f, n.e, "ctime_ns", V(t));
	touch_dir(f, p.e, t);
	ret(f, ch);
	ret(f, nn);
	if (reap && !dir) {
		/* No file handle holds it: the last link takes the inode with it
		 * when its data is all in File.data (size <= C: no Extent exists,
		 * writes and truncation keep that so). A larger file is reaped
		 * later in batches (fsb_drop_chunks(), fsb_reap()), because
		 * deleting its chunks may exceed one block's undo budget. */
		int sz = let_val(f, n.e, "size");
		int gone = let(f, X2(AND, X2(EQ, V(nn), U(0)), X2(LE, V(sz), U(v->chunk))));

		cmd(f, SCPP_OP_DEL, n.e, t_nil(f), -1);
		when(f, V(gone));
		ret(f, gone);
	}
	ret(f, shrink);
	stat_group(f, p.e); /* the parent after the change (fs_ops.c's attribute slot) */
}

/* ---- rename ---- */

/* 1u when the bool expression holds, else 0u. */
static int
b01(struct fsb *f, int cond)
{
	return X3(IF, cond, U(1), U(0));
}

/* nlink of @p d := nlink + @p plus - @p minus (u64 expressions, 0 or 1:
 * added first, so the count never goes below zero on the way). */
static void
relink(struct fsb *f, const struct node *d, int plus, int minus)
{
	int n = let(f, X2(SUB, X2(ADD, V(d->n), plus), minus));

	set(f, d->e, "nlink", V(n));
}

/*
 * Checks in the order Linux makes them (do_renameat2, vfs_rename,
 * may_delete): the entries, NOREPLACE / EXCHANGE, a directory moving below
 * itself, one inode under both names (a no-op), permission and sticky bit
 * on both parents, the types of source and target, ".." of a directory that
 * changes parent, then the emptiness of a replaced directory.
 */
void
fsb_rename(struct fsb *f, const struct fs_vol *v, const struct fs_cred *c,
	   struct scpp_oid parent, const char *name, size_t len, struct scpp_oid newparent,
	   const char *newname, size_t newlen, unsigned int flags)
{
	bool same = scpp_oid_eq(parent, newparent), exch = (flags & FS_RENAME_EXCHANGE) != 0;
	struct node p, np, s;
	int src = var(f), tgt, has, sdir, tdir, tm, tu, tg, tn, tn2, t, st, spg, tpg;
	int grow = -1, shrink = -1;

	(void)v;
	dir_read(f, c, &p, parent);
	if (same)
		np = p;
	else
		dir_read(f, c, &np, newparent);
	dir_pages(f, &p);
	if (same)
		np = p;
	else
		dir_pages(f, &np);
	spg = page_of(f, &p, name, len);
	tpg = page_of(f, &np, newname, newlen);
	cmd(f, SCPP_OP_GET, V(spg), ekey(f, name, len), t_var(f, src));
	node_of(f, &s, src);
	tgt = let(f, X3(ENTRY, V(tpg), t_s(f, "entries"), t_sn(f, newname, newlen)));
	has = let(f, X2(NE, V(tgt), t_nil(f)));
	tm = let(f, X3(IF, V(has), X2(VAL, V(tgt), t_s(f, "mode")), U(0)));
	tu = let(f, X3(IF, V(has), X2(VAL, V(tgt), t_s(f, "uid")), U(0)));
	tg = let(f, X3(IF, V(has), X2(VAL, V(tgt), t_s(f, "gid")), U(0)));
	tn = let(f, X3(IF, V(has), X2(VAL, V(tgt), t_s(f, "nlink")), U(0)));
	sdir = let(f, is_type(f, s.m, FS_S_IFDIR));
	tdir = let(f, is_type(f, tm, FS_S_IFDIR)); /* false without a target: tm is 0 */
	if (flags & FS_RENAME_NOREPLACE)
		check(f, X1(NOT, V(has)), E_EXIST);
	if (exch)
		check(f, V(has), E_NOENT);
	/* A directory may not move below itself: walk up from the new parent. */
	check(f, X2(OR, X1(NOT, V(sdir)), X1(NOT, X3(REACH, np.e, t_s(f, "parent"), V(src)))),
	      E_INVAL);
	if (exch)
		check(f, X2(OR, X1(NOT, V(tdir)), X1(NOT, X3(REACH, p.e, t_s(f, "parent"), V(tgt)))),
		      E_INVAL);
	/* One inode under both names: nothing to do, and the rows end here,
	 * so the reply has none. */
	cmd(f, SCPP_OP_WHERE, X2(NE, V(src), V(tgt)), -1, -1);
	check(f, perm_dir(f, c, &p, 3), E_ACCES);
	check(f, sticky_ok(f, c, p.m, p.u, s.u), E_PERM);
	if (!same)
		check(f, perm_dir(f, c, &np, 3), E_ACCES);
	st = sticky_ok(f, c, np.m, np.u, tu);
	if (st != ALWAYS)
		check(f, X2(OR, X1(NOT, V(has)), st), E_PERM);
	if (!exch) {
		check(f, X2(OR, X1(NOT, V(has)), X2(OR, X1(NOT, V(sdir)), V(tdir))), E_NOTDIR);
		check(f, X2(OR, X1(NOT, V(has)), X2(OR, V(sdir), X1(NOT, V(tdir)))), E_ISDIR);
	}
	/* A directory that changes parent rewrites its "..": write permission
	 * on the directory itself. */
	if (!same && c->uid != 0) {
		check(f, X2(OR, X1(NOT, V(sdir)), perm(f, c, s.m, s.u, s.g, 2)), E_ACCES);
		if (exch)
			check(f, X2(OR, X1(NOT, V(tdir)), perm(f, c, tm, tu, tg, 2)), E_ACCES);
	}
	if (!exch)
		check(f, X2(OR, X1(NOT, V(tdir)), X2(EQ, X2(VAL, V(tgt), t_s(f, "count")), U(0))),
		      E_NOTEMPTY);
	t = now(f);
	/* Both pages are on the volume's shard (§3): one atomic step. */
	cmd(f, SCPP_OP_SET, V(tpg), ekey(f, newname, newlen), V(src));
	if (exch) {
		cmd(f, SCPP_OP_SET, V(spg), ekey(f, name, len), V(tgt));
		set(f, V(tgt), "ctime_ns", V(t));
	} else {
		int c1, c2;

		cmd(f, SCPP_OP_DEL, V(spg), ekey(f, name, len), -1);
		/* Names: the source's directory loses one, the target's gains
		 * one unless it replaced a name. */
		if (same) {
			c1 = let(f, X2(SUB, V(p.pc), b01(f, V(has))));
			set(f, p.e, "count", V(c1));
		} else {
			c1 = let(f, X2(SUB, V(p.pc), U(1)));
			set(f, p.e, "count", V(c1));
			c2 = let(f, X2(SUB, X2(ADD, V(np.pc), U(1)), b01(f, V(has))));
			set(f, np.e, "count", V(c2));
			grow = grow_flag(f, &np, c2);
		}
		shrink = shrink_flag(f, &p, c1);
	}
	set(f, V(src), "ctime_ns", V(t));
	if (exch) {
		tn2 = tn;
	} else {
		/* The replaced target: one link less (a directory: none left). */
		tn2 = let(f, X3(IF, V(tdir), U(0), X3(IF, V(has), X2(SUB, V(tn), U(1)), U(0))));
		set(f, V(tgt), "nlink", V(tn2));
		when(f, V(has));
		set(f, V(tgt), "ctime_ns", V(t));
		when(f, V(has));
	}
	/* Each subdirectory is a link to its parent (its ".."). */
	if (same) {
		if (!exch)
			relink(f, &p, U(0), b01(f, V(tdir)));
	} else {
		set(f, V(src), "parent", np.e);
		when(f, V(sdir));
		/* Its ".." is another inode now: its listing changed. */
		bump_gen_if(f, src, sdir);
		if (exch) {
			set(f, V(tgt), "parent", p.e);
			when(f, V(tdir));
			bump_gen_if(f, tgt, tdir);
		}
		relink(f, &p, exch ? b01(f, V(tdir)) : U(0), b01(f, V(sdir)));
		relink(f, &np, b01(f, V(sdir)), b01(f, V(tdir)));
	}
	touch_dir(f, p.e, t);
	if (!same)
		touch_dir(f, np.e, t);
	ret(f, tgt);
	ret(f, tn2);
	ret(f, grow >= 0 ? grow : let(f, t_val(f, scpp_value_bool(false))));
	ret(f, shrink >= 0 ? shrink : let(f, t_val(f, scpp_value_bool(false))));
}

/* ---- readlink, open ---- */

void
fsb_readlink(struct fsb *f, struct scpp_oid e)
{
	int t = t_oid(f, e), target = var(f);

	cmd(f, SCPP_OP_GET, t, t_s(f, "target"), t_var(f, target));
	f->nstale = 0; /* a missing target attribute is EINVAL below, not stale */
	ret(f, target);
}

void
fsb_open(struct fsb *f, const struct fs_vol *v, const struct fs_cred *c, struct scpp_oid e,
	 int flags, bool dir)
{
	struct node n;
	unsigned int want;

	node_read(f, &n, e);
	switch (flags & 3) {
	case 0: want = 4; break;   /* O_RDONLY */
	case 1: want = 2; break;   /* O_WRONLY */
	default: want = 6; break;  /* O_RDWR */
	}
	if (flags & 01000)         /* O_TRUNC needs write permission */
		want |= 2;
	if (dir)
		check(f, is_type(f, n.m, FS_S_IFDIR), E_NOTDIR);
	else if (want & 2)
		check(f, X1(NOT, is_type(f, n.m, FS_S_IFDIR)), E_ISDIR);
	check(f, perm(f, c, n.m, n.u, n.g, want), E_ACCES);
	if (dir) {
		/* Its change generation (nil, before there was one: 0), for the
		 * kernel's readdir cache (docs/FS.md §3 "Readdir cache"), and
		 * atime as a listing moves it (relatime), since a listing the
		 * kernel serves from its cache sends no block. */
		int g = let_val(f, n.e, "gen");

		ret(f, let(f, X3(IF, X2(EQ, V(g), t_nil(f)), U(0), V(g))));
		if (!v->noatime) {
			int at = let_val(f, n.e, "atime_ns"), mt = let_val(f, n.e, "mtime_ns");
			int t = now(f);

			set(f, n.e, "atime_ns", V(t));
			when(f, X2(OR, X2(LE, V(at), V(mt)),
				   X2(LT, V(at), X2(SUB, V(t), t_i(f, INT64_C(86400000000000))))));
		}
		/* The kernel asks for the directory's mtime when a listing
		 * starts (auto_inval_data): fs_ops.c's attribute slot. */
		stat_group(f, n.e);
	}
	if (!dir && (flags & 01000)) {
		int t;

		/* O_TRUNC (FUSE_CAP_ATOMIC_O_TRUNC): regular files only; the
		 * times change whatever the old size (as Linux does). */
		cmd(f, SCPP_OP_WHERE, is_type(f, n.m, FS_S_IFREG), -1, -1);
		t = now(f);
		truncate_body(f, v, n.e, 0);
		set(f, n.e, "mtime_ns", V(t));
		set(f, n.e, "ctime_ns", V(t));
		truncate_tail(f, v, n.e, 0);
	}
}

/* ---- read, write ---- */

int
fs_pieces(const struct fs_vol *v, uint64_t off, uint64_t len, struct fs_piece *p)
{
	int n = 0;
	uint64_t pos = 0;

	while (pos < len) {
		uint64_t at = off + pos, chunk = at / v->chunk * v->chunk;
		uint64_t in = at - chunk, k = SCPP_MIN(len - pos, v->chunk - in);

		if (n == FS_PIECES_MAX)
			return -EFBIG;
		p[n].chunk = chunk;
		p[n].off = in;
		p[n].len = k;
		p[n].pos = pos;
		n++;
		pos += k;
	}
	return n;
}

/* An address: byte @p off of the data of entity term @p e. */
static int
addr(struct fsb *f, int e, uint64_t off)
{
	int a = keep(f, scpp_wire_term_value(f->b, e, t_s(f, "data")));

	return off == 0 ? a : keep(f, scpp_wire_term_offset(f->b, a, U(off)));
}

void
fsb_read(struct fsb *f, const struct fs_vol *v, struct scpp_oid e, uint64_t off, uint64_t len)
{
	struct fs_piece p[FS_PIECES_MAX];
	int n = fs_pieces(v, off, len, p), fe = t_oid(f, e), sz;

	if (n < 0) {
		keep(f, n);
		return;
	}
	sz = let_val(f, fe, "size");
	f->nstale = 1;
	ret(f, sz);
	for (int i = 0; i < n; i++) {
		int d;

		if (p[i].chunk == 0) {
			d = let(f, X2(READ, addr(f, fe, p[i].off), U(p[i].len)));
		} else {
			int xk = let(f, X3(ENTRY, fe, t_s(f, "extents"), U(p[i].chunk)));

			d = let(f, X3(IF, X2(EQ, V(xk), t_nil(f)), t_bytes(f, "", 0),
				      X2(READ, addr(f, V(xk), p[i].off), U(p[i].len))));
		}
		ret(f, d);
	}
	if (!v->noatime) {
		/* relatime: the access time moves when it is older than the
		 * last change or a day old. */
		int at = let_val(f, fe, "atime_ns"), mt = let_val(f, fe, "mtime_ns");
		int ct = let_val(f, fe, "ctime_ns"), t = now(f);

		set(f, fe, "atime_ns", V(t));
		when(f, X2(OR, X2(LE, V(at), V(mt)),
			   X2(OR, X2(LE, V(at), V(ct)),
			      X2(LT, V(at), X2(SUB, V(t), t_i(f, INT64_C(86400000000000)))))));
	}
}

void
fsb_write(struct fsb *f, const struct fs_vol *v, struct scpp_oid e, uint64_t off,
	  const void *data, uint64_t len, uint64_t expect_size, bool kill_priv)
{
	struct fs_piece p[FS_PIECES_MAX];
	int n = fs_pieces(v, off, len, p), fe = t_oid(f, e), sz, ns, t;
	const uint8_t *d = data;

	if (n < 0) {
		keep(f, n);
		return;
	}
	sz = let_val(f, fe, "size");
	f->nstale = 1;
	if (expect_size != UINT64_MAX)
		check(f, X2(EQ, V(sz), U(expect_size)), E_AGAIN); /* FS_WRITE_SIZE_CMD */
	for (int i = 0; i < n; i++) {
		int target;

		if (p[i].chunk == 0) {
			target = fe;
		} else {
			/* The chunk's Extent, made when the write is the first
			 * into it (a hole until now). */
			int xk = let(f, X3(ENTRY, fe, t_s(f, "extents"), U(p[i].chunk)));
			int absent = X2(EQ, V(xk), t_nil(f)), nk = var(f);

			cmd(f, SCPP_OP_CREATE, t_var(f, nk), t_s(f, "Extent"), -1);
			when(f, absent);
			set(f, V(nk), "length", U(v->chunk));
			when(f, X2(EQ, V(xk), t_nil(f)));
			set(f, V(nk), "file", fe);
			when(f, X2(EQ, V(xk), t_nil(f)));
			set(f, V(nk), "offset", U(p[i].chunk));
			when(f, X2(EQ, V(xk), t_nil(f)));
			cmd(f, SCPP_OP_SET, fe, keep(f, scpp_wire_term_key(f->b, t_s(f, "extents"),
									     U(p[i].chunk))),
			    V(nk));
			when(f, X2(EQ, V(xk), t_nil(f)));
			target = V(let(f, X3(IF, X2(EQ, V(xk), t_nil(f)), V(nk), V(xk))));
		}
		cmd(f, SCPP_OP_WRITE, addr(f, target, p[i].off), t_bytes(f, d + p[i].pos, p[i].len),
		    -1);
	}
	ns = let(f, X2(MAX, V(sz), U(off + len)));
	set(f, fe, "size", V(ns));
	t = now(f);
	set(f, fe, "mtime_ns", V(t));
	set(f, fe, "ctime_ns", V(t));
	if (kill_priv) {
		/* A write by a process without CAP_FSETID clears S_ISUID, and
		 * S_ISGID when group execution is on (a mandatory-locking mark
		 * otherwise). */
		int m = let_val(f, fe, "mode");
		int sgid = X2(EQ, X2(BAND, V(m), U(FS_S_ISGID | 010)), U(FS_S_ISGID | 010));
		int nm = let(f, X2(BAND, V(m), X3(IF, sgid, U(~(uint64_t)(FS_S_ISUID | FS_S_ISGID)),
						   U(~(uint64_t)FS_S_ISUID))));

		set(f, fe, "mode", V(nm));
		when(f, X2(NE, V(m), V(nm)));
	}
	ret(f, ns);
}

/* ---- directories, statfs, fsync ---- */

void
fsb_listdir(struct fsb *f, const struct fs_vol *v, const struct fs_cred *c, struct scpp_oid dir,
	    uint64_t pos, unsigned int span, uint32_t parts, uint32_t part, bool stat)
{
	struct node d;
	int self, par, pino, pk, pg = var(f), ne, name = var(f), ch = var(f), key = var(f);

	/* The permission to read it was checked when it was opened (fsb_open):
	 * like getdents(2), a listing checks nothing more, so a directory
	 * opened with r but no x lists, and a chmod after opendir does not
	 * stop it. A removed directory lists nothing (ENOENT, as Linux). */
	(void)c;
	node_read(f, &d, dir);
	check(f, is_type(f, d.m, FS_S_IFDIR), E_NOTDIR);
	check(f, X2(NE, V(d.n), U(0)), E_NOENT);
	dir_pages(f, &d);
	self = let_val(f, d.e, "ino");
	par = let_val(f, d.e, "parent");
	pino = let(f, X3(IF, X2(EQ, V(par), t_nil(f)), V(self), X2(VAL, V(par), t_s(f, "ino"))));
	if (!v->noatime && pos == 0 && part == 0) {
		int at = let_val(f, d.e, "atime_ns"), mt = let_val(f, d.e, "mtime_ns");
		int t = now(f);

		set(f, d.e, "atime_ns", V(t));
		when(f, X2(OR, X2(LE, V(at), V(mt)),
			   X2(LT, V(at), X2(SUB, V(t), t_i(f, INT64_C(86400000000000))))));
	}
	if (span == 0) {
		/* The page that holds pos: one entry of the page map. */
		pk = page_key(f, &d, U(fs_key_rev(pos & FS_KEY_MAX)));
		cmd(f, SCPP_OP_LET, t_var(f, pg), X3(ENTRY, d.e, t_s(f, "pages"), V(pk)), -1);
	} else {
		/* The interval of level m = max(L - span, 0) that holds pos:
		 * the names whose h has the m low bits r of pos's, which are
		 * exactly the pages (of level L or L + 1 >= m) whose key has
		 * those low bits -- 2^(L - m) to 2^(L - m + 1) pages, found by
		 * enumerating the page map (so only while it is small). The
		 * interval's key (1 << m) | r has the form of a page key. */
		int mask, r, pkv = var(f);

		check(f, X2(LE, V(d.pl), U(FS_LIST_ENUM_LEVEL)), E_RANGE);
		mask = let(f, X2(SUB, X2(SHL, U(1), X3(IF, X2(LT, V(d.pl), U(span)), U(0),
						      X2(SUB, V(d.pl), U(span)))), U(1)));
		r = let(f, X2(BAND, U(fs_key_rev(pos & FS_KEY_MAX)), V(mask)));
		pk = let(f, X2(BOR, X2(ADD, V(mask), U(1)), V(r)));
		cmd(f, SCPP_OP_GET, d.e, keep(f, scpp_wire_term_key(f->b, t_s(f, "pages"), t_var(f, pkv))),
		    t_var(f, pg));
		cmd(f, SCPP_OP_WHERE, X2(EQ, X2(BAND, V(pkv), V(mask)), V(r)), -1, -1);
	}
	/* An empty page still answers one row (the enumeration is skipped by
	 * its guard, leaving name nil), so the reply always says which page
	 * it read. */
	ne = let(f, X2(GT, X2(CARD, V(pg), t_s(f, "entries")), U(0)));
	ret(f, self);
	ret(f, pino);
	ret(f, pk);
	ret(f, name);
	ret(f, key);
	ret(f, ch);
	cmd(f, SCPP_OP_GET, V(pg), keep(f, scpp_wire_term_key(f->b, t_s(f, "entries"), t_var(f, name))),
	    t_var(f, ch));
	when(f, V(ne));
	if (parts > 1) {
		/* Bits 40.. of the hash: the page's names share its low bits. */
		cmd(f, SCPP_OP_WHERE,
		    X2(EQ, X2(BAND, X2(SHR, X1(HASH, V(name)), U(40)), U(parts - 1)), U(part)), -1,
		    -1);
		when(f, V(ne));
	}
	cmd(f, SCPP_OP_LET, t_var(f, key), name_key(f, V(name)), -1);
	when(f, V(ne));
	{
		static const char *const attrs[] = {
			"ino", "mode", "uid", "gid", "nlink", "size", "rdev", "atime_ns",
			"mtime_ns", "ctime_ns",
		};
		int a;

		/* Without the stat, what getdents(2) returns: ino and type. */
		for (unsigned int i = 0; i < (stat ? SCPP_ARRAY_SIZE(attrs) : 2u); i++) {
			a = var(f);
			cmd(f, SCPP_OP_LET, t_var(f, a), X2(VAL, V(ch), t_s(f, attrs[i])), -1);
			when(f, V(ne));
			ret(f, a);
		}
		if (!stat)
			return;
		a = var(f);
		cmd(f, SCPP_OP_LET, t_var(f, a), X2(LENGTH, V(ch), t_s(f, "target")), -1);
		when(f, V(ne));
		ret(f, a);
	}
}

void
fsb_dir_split(struct fsb *f, struct scpp_oid dir)
{
	struct node d;
	int old, k0, k1, p, sp, q, nq = var(f), s2, full, n = var(f), ch = var(f), nl;

	d.e = t_oid(f, dir);
	dir_pages(f, &d);
	f->nstale = 3;
	/* Only while the directory holds more than FS_PAGE_SPLIT names a page
	 * (another mount may have split it since). */
	cmd(f, SCPP_OP_WHERE, X2(GT, V(d.pc), X2(MUL, U(FS_PAGE_SPLIT), npages(f, &d))), -1, -1);
	/* Page s of level L (the names whose low L bits are s) becomes pages
	 * s and s + 2^L of level L + 1: the old page keeps the names whose bit
	 * L is 0 (re-keyed), the new one (the spare, or a new page) takes
	 * those whose bit L is 1. */
	old = let(f, X2(BOR, X2(SHL, U(1), V(d.pl)), V(d.ps)));
	nl = let(f, X2(ADD, V(d.pl), U(1)));
	k0 = let(f, X2(BOR, X2(SHL, U(1), V(nl)), V(d.ps)));
	k1 = let(f, X2(BOR, V(k0), X2(SHL, U(1), V(d.pl))));
	p = let(f, X3(ENTRY, d.e, t_s(f, "pages"), V(old)));
	sp = let_val(f, d.e, "spare");
	cmd(f, SCPP_OP_CREATE, t_var(f, nq), t_s(f, "DirPage"), -1);
	when(f, X2(EQ, V(sp), t_nil(f)));
	set(f, V(nq), "dir", d.e);
	when(f, X2(EQ, V(sp), t_nil(f)));
	cmd(f, SCPP_OP_DEL, d.e, t_s(f, "spare"), -1);
	when(f, X2(NE, V(sp), t_nil(f)));
	q = let(f, X3(IF, X2(EQ, V(sp), t_nil(f)), V(nq), V(sp)));
	cmd(f, SCPP_OP_DEL, d.e, keep(f, scpp_wire_term_key(f->b, t_s(f, "pages"), V(old))), -1);
	cmd(f, SCPP_OP_SET, d.e, keep(f, scpp_wire_term_key(f->b, t_s(f, "pages"), V(k0))), V(p));
	cmd(f, SCPP_OP_SET, d.e, keep(f, scpp_wire_term_key(f->b, t_s(f, "pages"), V(k1))), V(q));
	s2 = let(f, X2(ADD, V(d.ps), U(1)));
	full = let(f, X2(EQ, V(s2), X2(SHL, U(1), V(d.pl))));
	set(f, d.e, "psplit", V(let(f, X3(IF, V(full), U(0), V(s2)))));
	set(f, d.e, "plevel", V(let(f, X3(IF, V(full), V(nl), V(d.pl)))));
	/* Last, since it multiplies rows: move the names whose bit L is 1. */
	cmd(f, SCPP_OP_GET, V(p), keep(f, scpp_wire_term_key(f->b, t_s(f, "entries"), t_var(f, n))),
	    t_var(f, ch));
	cmd(f, SCPP_OP_WHERE, X2(NE, X2(BAND, X1(HASH, V(n)), X2(SHL, U(1), V(d.pl))), U(0)), -1,
	    -1);
	cmd(f, SCPP_OP_SET, V(q), keep(f, scpp_wire_term_key(f->b, t_s(f, "entries"), V(n))),
	    V(ch));
	cmd(f, SCPP_OP_DEL, V(p), keep(f, scpp_wire_term_key(f->b, t_s(f, "entries"), V(n))), -1);
}

void
fsb_dir_merge(struct fsb *f, struct scpp_oid dir)
{
	struct node d;
	int zero, lp, sp, ka, kb, kn, a, b, osp, n = var(f), ch = var(f);

	d.e = t_oid(f, dir);
	dir_pages(f, &d);
	f->nstale = 3;
	cmd(f, SCPP_OP_WHERE,
	    X2(AND, X2(GT, npages(f, &d), U(1)),
	       X2(LT, V(d.pc), X2(MUL, U(FS_PAGE_MERGE), X2(SUB, npages(f, &d), U(1))))),
	    -1, -1);
	/* Undo the last split: pages s' and s' + 2^L' of level L' + 1 become
	 * page s' of level L', where s' = s - 1 (or L' = L - 1, s' = 2^L' - 1
	 * when s is 0). */
	zero = let(f, X2(EQ, V(d.ps), U(0)));
	lp = let(f, X3(IF, V(zero), X2(SUB, V(d.pl), U(1)), V(d.pl)));
	sp = let(f, X3(IF, V(zero), X2(SUB, X2(SHL, U(1), V(lp)), U(1)), X2(SUB, V(d.ps), U(1))));
	ka = let(f, X2(BOR, X2(SHL, U(1), X2(ADD, V(lp), U(1))), V(sp)));
	kb = let(f, X2(BOR, V(ka), X2(SHL, U(1), V(lp))));
	kn = let(f, X2(BOR, X2(SHL, U(1), V(lp)), V(sp)));
	a = let(f, X3(ENTRY, d.e, t_s(f, "pages"), V(ka)));
	b = let(f, X3(ENTRY, d.e, t_s(f, "pages"), V(kb)));
	/* The page that empties stays as the spare (it cannot be deleted
	 * before its names are moved, and they move last); the previous
	 * spare, emptied by an earlier merge, goes now. */
	osp = let_val(f, d.e, "spare");
	cmd(f, SCPP_OP_DEL, V(osp), t_nil(f), -1);
	when(f, X2(NE, V(osp), t_nil(f)));
	set(f, d.e, "spare", V(b));
	cmd(f, SCPP_OP_DEL, d.e, keep(f, scpp_wire_term_key(f->b, t_s(f, "pages"), V(ka))), -1);
	cmd(f, SCPP_OP_DEL, d.e, keep(f, scpp_wire_term_key(f->b, t_s(f, "pages"), V(kb))), -1);
	cmd(f, SCPP_OP_SET, d.e, keep(f, scpp_wire_term_key(f->b, t_s(f, "pages"), V(kn))), V(a));
	set(f, d.e, "plevel", V(lp));
	set(f, d.e, "psplit", V(sp));
	cmd(f, SCPP_OP_GET, V(b), keep(f, scpp_wire_term_key(f->b, t_s(f, "entries"), t_var(f, n))),
	    t_var(f, ch));
	cmd(f, SCPP_OP_SET, V(a), keep(f, scpp_wire_term_key(f->b, t_s(f, "entries"), V(n))),
	    V(ch));
	cmd(f, SCPP_OP_DEL, V(b), keep(f, scpp_wire_term_key(f->b, t_s(f, "entries"), V(n))), -1);
}

void
fsb_statfs(struct fsb *f, const struct fs_vol *v)
{
	int e = t_oid(f, v->volume);

	ret(f, let_val(f, e, "block_size"));
	ret(f, let_val(f, e, "capacity_bytes"));
	ret(f, let_val(f, e, "files_max"));
	f->nstale = 3;
}

void
fsb_fsync(struct fsb *f, struct scpp_oid e)
{
	let_val(f, t_oid(f, e), "ino");
	f->nstale = 1;
}

/* ---- extended attributes ---- */

/*
 * Who may read and write which names (Linux's xattr_permission()):
 * user.* needs read or write permission, and only regular files and
 * directories have them (EPERM elsewhere when writing, ENODATA when
 * reading); trusted.* is for root (EPERM to write, ENODATA to read);
 * security.* is open (no security module here); any other namespace
 * (system.*, ACLs) is not supported (EOPNOTSUPP, decided by the caller).
 */
static void
xattr_perm(struct fsb *f, const struct fs_cred *c, const struct node *n, const char *name,
	   size_t len, bool write)
{
	if (len >= 5 && memcmp(name, "user.", 5) == 0) {
		int regdir = X2(OR, is_type(f, n->m, FS_S_IFREG), is_type(f, n->m, FS_S_IFDIR));

		check(f, regdir, write ? E_PERM : E_NODATA);
		check(f, perm(f, c, n->m, n->u, n->g, write ? 2 : 4), E_ACCES);
	} else if (len >= 8 && memcmp(name, "trusted.", 8) == 0 && c->uid != 0) {
		check(f, t_val(f, scpp_value_bool(false)), write ? E_PERM : E_NODATA);
	}
}

void
fsb_getxattr(struct fsb *f, const struct fs_cred *c, struct scpp_oid e, const char *name,
	     size_t len)
{
	struct node n;
	int val;

	node_read(f, &n, e);
	xattr_perm(f, c, &n, name, len, false);
	val = let(f, X3(ENTRY, n.e, t_s(f, "xattrs"), t_sn(f, name, len)));
	check(f, X2(NE, V(val), t_nil(f)), E_NODATA);
	ret(f, val);
}

void
fsb_setxattr(struct fsb *f, const struct fs_cred *c, struct scpp_oid e, const char *name,
	     size_t len, const void *value, size_t vlen, int flags)
{
	struct node n;
	int old;

	node_read(f, &n, e);
	xattr_perm(f, c, &n, name, len, true);
	old = let(f, X3(ENTRY, n.e, t_s(f, "xattrs"), t_sn(f, name, len)));
	if (flags & 1) /* XATTR_CREATE */
		check(f, X2(EQ, V(old), t_nil(f)), E_EXIST);
	if (flags & 2) /* XATTR_REPLACE */
		check(f, X2(NE, V(old), t_nil(f)), E_NODATA);
	cmd(f, SCPP_OP_SET, n.e, keep(f, scpp_wire_term_key(f->b, t_s(f, "xattrs"),
							      t_sn(f, name, len))),
	    t_bytes(f, value, vlen));
	set(f, n.e, "ctime_ns", V(now(f)));
}

void
fsb_listxattr(struct fsb *f, struct scpp_oid e)
{
	int t = t_oid(f, e), k = var(f), val = var(f);

	let_val(f, t, "ino");
	f->nstale = 1;
	ret(f, k);
	cmd(f, SCPP_OP_GET, t, keep(f, scpp_wire_term_key(f->b, t_s(f, "xattrs"), t_var(f, k))),
	    t_var(f, val));
}

void
fsb_removexattr(struct fsb *f, const struct fs_cred *c, struct scpp_oid e, const char *name,
		size_t len)
{
	struct node n;

	node_read(f, &n, e);
	xattr_perm(f, c, &n, name, len, true);
	check(f, X2(NE, X3(ENTRY, n.e, t_s(f, "xattrs"), t_sn(f, name, len)), t_nil(f)), E_NODATA);
	cmd(f, SCPP_OP_DEL, n.e, keep(f, scpp_wire_term_key(f->b, t_s(f, "xattrs"),
							      t_sn(f, name, len))),
	    -1);
	set(f, n.e, "ctime_ns", V(now(f)));
}

/* ---- reaping, volumes ---- */

void
fsb_reap(struct fsb *f, struct scpp_oid e)
{
	int t = t_oid(f, e), n = let_val(f, t, "nlink"), m, dir, xv = var(f), pv = var(f);

	m = let_val(f, t, "mode");
	f->nstale = 2;
	dir = let(f, is_type(f, m, FS_S_IFDIR));
	cmd(f, SCPP_OP_WHERE, X2(EQ, V(n), U(0)), -1, -1);
	cmd(f, SCPP_OP_DEL, t, t_nil(f), -1);
	/* A directory's pages (empty: rmdir found it so) and a file's chunks
	 * name it (DirPage.dir, Extent.file, indexed): drop them too. Each
	 * search is guarded to its kind, so that the other's finding nothing
	 * leaves the row. */
	cmd(f, SCPP_OP_GET, t_var(f, pv), t_s(f, "dir"), t);
	when(f, V(dir));
	cmd(f, SCPP_OP_DEL, V(pv), t_nil(f), -1);
	when(f, V(dir));
	cmd(f, SCPP_OP_GET, t_var(f, xv), t_s(f, "file"), t);
	when(f, X1(NOT, V(dir)));
	cmd(f, SCPP_OP_DEL, V(xv), t_nil(f), -1);
	when(f, X1(NOT, V(dir)));
}

void
fsb_drop_chunks(struct fsb *f, const struct fs_cred *c, struct scpp_oid e, const uint64_t *off,
		unsigned int n)
{
	struct node nd;
	int t;

	node_read(f, &nd, e);
	t = nd.e;
	check(f, is_type(f, nd.m, FS_S_IFREG), E_INVAL);
	if (c == NULL) /* a reap: only of an inode without links */
		check(f, X2(EQ, V(nd.n), U(0)), E_INVAL);
	else
		check(f, perm(f, c, nd.m, nd.u, nd.g, 2), E_ACCES);
	for (unsigned int i = 0; i < n; i++) {
		int xk = let(f, X3(ENTRY, t, t_s(f, "extents"), U(off[i])));

		cmd(f, SCPP_OP_DEL, V(xk), t_nil(f), -1);
		when(f, X2(NE, V(xk), t_nil(f)));
		cmd(f, SCPP_OP_DEL, t, keep(f, scpp_wire_term_key(f->b, t_s(f, "extents"),
								  U(off[i]))),
		    -1);
		when(f, X2(NE, V(xk), t_nil(f)));
	}
}

void
fsb_volume_find(struct fsb *f, const char *name, size_t len)
{
	int vol = var(f), root = var(f), dev = var(f), chunk = var(f);

	cmd(f, SCPP_OP_GET, t_var(f, vol), t_s(f, "volume"), t_sn(f, name, len));
	cmd(f, SCPP_OP_GET, V(vol), t_s(f, "root"), t_var(f, root));
	cmd(f, SCPP_OP_GET, V(vol), t_s(f, "dev"), t_var(f, dev));
	cmd(f, SCPP_OP_GET, V(vol), t_s(f, "chunk_bytes"), t_var(f, chunk));
	ret(f, vol);
	ret(f, root);
	ret(f, dev);
	ret(f, chunk);
}

void
fsb_volume_create(struct fsb *f, const char *name, size_t len, uint64_t chunk,
		  uint64_t root_mode, uint32_t root_uid, uint32_t root_gid)
{
	int vol = var(f), root = var(f), dev, ino, t;

	/* Only when no volume has the name: the tail runs on no row otherwise. */
	cmd(f, SCPP_OP_WHERE, X2(EQ, X2(FIND, t_s(f, "volume"), t_sn(f, name, len)), t_nil(f)), -1,
	    -1);
	cmd(f, SCPP_OP_CREATE, t_var(f, vol), t_s(f, "Volume"), -1);
	cmd(f, SCPP_OP_CREATE, t_var(f, root), t_s(f, "Directory"), -1);
	dev = let(f, X2(BAND, X1(HASH, V(vol)), U(UINT32_MAX)));
	ino = let(f, X1(HASH, V(root)));
	t = now(f);
	set(f, V(vol), "volume", t_sn(f, name, len));
	set(f, V(vol), "root", V(root));
	set(f, V(vol), "dev", V(dev));
	set(f, V(vol), "chunk_bytes", U(chunk));
	set(f, V(vol), "created_ns", V(t));
	set(f, V(root), "ino", V(ino));
	set(f, V(root), "dev", V(dev));
	set(f, V(root), "mode", U(FS_S_IFDIR | (root_mode & 07777)));
	set(f, V(root), "uid", U(root_uid));
	set(f, V(root), "gid", U(root_gid));
	set(f, V(root), "nlink", U(2));
	set(f, V(root), "parent", V(root));
	set(f, V(root), "atime_ns", V(t));
	set(f, V(root), "mtime_ns", V(t));
	set(f, V(root), "ctime_ns", V(t));
	dir_init_pages(f, root);
	ret(f, vol);
	ret(f, root);
	ret(f, dev);
	ret(f, let(f, U(chunk)));
}
