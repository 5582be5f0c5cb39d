/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The FUSE node table: node id -> OID (an array indexed by id) and OID ->
 * node id (open addressing with tombstones). A node lives while the kernel
 * holds lookups on it; a forgotten slot is reused with its generation
 * bumped, so (id, generation) never names two inodes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs_fuse.h"

#define TOMB UINT32_MAX

static uint64_t
oid_hash(struct scpp_oid o)
{
	uint64_t h = o.hi * 0x9e3779b97f4a7c15ull ^ o.lo;

	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 29);
}

static bool
oid_eq(struct scpp_oid a, struct scpp_oid b)
{
	return a.hi == b.hi && a.lo == b.lo;
}

static int
rehash(struct fsd_nodes *t, size_t cap)
{
	uint32_t *h = calloc(cap, sizeof(*h));

	if (h == NULL)
		return -ENOMEM;
	for (size_t id = 1; id < t->n; id++) {
		size_t i;

		if (!t->v[id].used)
			continue;
		for (i = oid_hash(t->v[id].oid) & (cap - 1); h[i] != 0; i = (i + 1) & (cap - 1))
			;
		h[i] = (uint32_t)id;
	}
	free(t->hash);
	t->hash = h;
	t->hcap = cap;
	t->hused = 0;
	for (size_t id = 1; id < t->n; id++)
		t->hused += t->v[id].used;
	return 0;
}

int
fsd_nodes_init(struct fsd_nodes *t, struct scpp_oid root)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
	t->cap = 1024;
	t->v = calloc(t->cap, sizeof(*t->v));
	if (t->v == NULL)
		return -ENOMEM;
	t->n = 2; /* id 0 is never used; 1 is FUSE_ROOT_ID */
	t->v[FUSE_ROOT_ID] = (struct fsd_node){.oid = root, .nlookup = 1, .used = true};
	return rehash(t, 2048);
}

void
fsd_nodes_free(struct fsd_nodes *t)
{
	free(t->v);
	free(t->free_ids);
	free(t->hash);
	pthread_mutex_destroy(&t->lock);
	memset(t, 0, sizeof(*t));
}

static fuse_ino_t
find(const struct fsd_nodes *t, struct scpp_oid oid)
{
	for (size_t i = oid_hash(oid) & (t->hcap - 1); t->hash[i] != 0; i = (i + 1) & (t->hcap - 1)) {
		uint32_t id = t->hash[i];

		if (id != TOMB && oid_eq(t->v[id].oid, oid))
			return id;
	}
	return 0;
}

static fuse_ino_t
ref(struct fsd_nodes *t, struct scpp_oid oid, uint64_t *generation)
{
	fuse_ino_t id = find(t, oid);
	size_t i;

	if (id != 0) {
		t->v[id].nlookup++;
		*generation = t->v[id].generation;
		return id;
	}
	if ((t->hused + 1) * 2 > t->hcap && rehash(t, t->hcap * 2) < 0)
		return 0;
	if (t->nfree > 0) {
		id = t->free_ids[--t->nfree];
	} else {
		if (t->n == t->cap) {
			struct fsd_node *v = realloc(t->v, 2 * t->cap * sizeof(*v));

			if (v == NULL || t->cap * 2 >= TOMB)
				return 0;
			memset(v + t->cap, 0, t->cap * sizeof(*v));
			t->v = v;
			t->cap *= 2;
		}
		id = t->n++;
	}
	t->v[id].oid = oid;
	t->v[id].nlookup = 1;
	t->v[id].used = true;
	t->v[id].unlinked = false;
	t->v[id].nopen = 0;
	t->v[id].nocap_until = 0;
	t->v[id].attr_until = 0;
	/* A new inode of the kernel's: no cache, no handle. */
	t->v[id].dir_open = 0;
	t->v[id].rd_valid = false;
	*generation = t->v[id].generation;
	for (i = oid_hash(oid) & (t->hcap - 1); t->hash[i] != 0 && t->hash[i] != TOMB;
	     i = (i + 1) & (t->hcap - 1))
		;
	if (t->hash[i] == 0)
		t->hused++;
	t->hash[i] = (uint32_t)id;
	return id;
}

static struct fsd_node *
get(struct fsd_nodes *t, fuse_ino_t ino)
{
	if (ino == 0 || ino >= t->n || !t->v[ino].used)
		return NULL;
	return &t->v[ino];
}

static bool
forget(struct fsd_nodes *t, fuse_ino_t ino, uint64_t n, struct scpp_oid *oid, bool *unlinked)
{
	struct fsd_node *x = get(t, ino);

	if (x == NULL || ino == FUSE_ROOT_ID)
		return false;
	x->nlookup = n >= x->nlookup ? 0 : x->nlookup - n;
	if (x->nlookup > 0)
		return false;
	*oid = x->oid;
	*unlinked = x->unlinked;
	for (size_t i = oid_hash(x->oid) & (t->hcap - 1); t->hash[i] != 0;
	     i = (i + 1) & (t->hcap - 1)) {
		if (t->hash[i] == ino) {
			t->hash[i] = TOMB;
			break;
		}
	}
	x->used = false;
	x->generation++;
	if (t->nfree == t->free_cap) {
		size_t cap = t->free_cap ? 2 * t->free_cap : 256;
		uint64_t *f = realloc(t->free_ids, cap * sizeof(*f));

		if (f == NULL)
			return true; /* the slot is just not reused */
		t->free_ids = f;
		t->free_cap = cap;
	}
	t->free_ids[t->nfree++] = ino;
	return true;
}

/* ---- the public functions: each one step under the table's lock ---- */

fuse_ino_t
fsd_node_find(struct fsd_nodes *t, struct scpp_oid oid)
{
	fuse_ino_t id;

	pthread_mutex_lock(&t->lock);
	id = find(t, oid);
	pthread_mutex_unlock(&t->lock);
	return id;
}

fuse_ino_t
fsd_node_ref(struct fsd_nodes *t, struct scpp_oid oid, uint64_t *generation)
{
	fuse_ino_t id;

	pthread_mutex_lock(&t->lock);
	id = ref(t, oid, generation);
	pthread_mutex_unlock(&t->lock);
	return id;
}

bool
fsd_node_oid(struct fsd_nodes *t, fuse_ino_t ino, struct scpp_oid *oid)
{
	struct fsd_node *x;

	pthread_mutex_lock(&t->lock);
	x = get(t, ino);
	if (x != NULL)
		*oid = x->oid;
	pthread_mutex_unlock(&t->lock);
	return x != NULL;
}

void
fsd_node_open(struct fsd_nodes *t, fuse_ino_t ino, int k)
{
	struct fsd_node *x;

	pthread_mutex_lock(&t->lock);
	x = get(t, ino);
	if (k > 0) {
		t->nopen++;
		if (x != NULL)
			x->nopen++;
	} else {
		if (t->nopen > 0)
			t->nopen--;
		if (x != NULL && x->nopen > 0)
			x->nopen--;
	}
	pthread_mutex_unlock(&t->lock);
}

uint64_t
fsd_nodes_open(struct fsd_nodes *t)
{
	uint64_t n;

	pthread_mutex_lock(&t->lock);
	n = t->nopen;
	pthread_mutex_unlock(&t->lock);
	return n;
}

bool
fsd_node_mark_unlinked(struct fsd_nodes *t, struct scpp_oid oid)
{
	fuse_ino_t id;

	pthread_mutex_lock(&t->lock);
	id = find(t, oid);
	if (id != 0)
		t->v[id].unlinked = true;
	pthread_mutex_unlock(&t->lock);
	return id != 0;
}

bool
fsd_node_forget(struct fsd_nodes *t, fuse_ino_t ino, uint64_t n, struct scpp_oid *oid,
		bool *unlinked)
{
	bool gone;

	pthread_mutex_lock(&t->lock);
	gone = forget(t, ino, n, oid, unlinked);
	pthread_mutex_unlock(&t->lock);
	return gone;
}

bool
fsd_node_nocap(struct fsd_nodes *t, fuse_ino_t ino, uint64_t now)
{
	struct fsd_node *x;
	bool r;

	pthread_mutex_lock(&t->lock);
	x = get(t, ino);
	r = x != NULL && now < x->nocap_until;
	pthread_mutex_unlock(&t->lock);
	return r;
}

void
fsd_node_nocap_set(struct fsd_nodes *t, fuse_ino_t ino, uint64_t until)
{
	struct fsd_node *x;

	pthread_mutex_lock(&t->lock);
	x = get(t, ino);
	if (x != NULL)
		x->nocap_until = until;
	pthread_mutex_unlock(&t->lock);
}

uint64_t
fsd_node_attr_gen(struct fsd_nodes *t, fuse_ino_t ino)
{
	struct fsd_node *x;
	uint64_t g;

	pthread_mutex_lock(&t->lock);
	x = get(t, ino);
	/* Both only grow: the sum is unchanged only if neither changed. */
	g = x != NULL ? x->attr_gen + t->attr_epoch : UINT64_MAX;
	pthread_mutex_unlock(&t->lock);
	return g;
}

void
fsd_node_attr_put(struct fsd_nodes *t, fuse_ino_t ino, const struct fs_attr *a, uint64_t until,
		  uint64_t gen)
{
	struct fsd_node *x;

	pthread_mutex_lock(&t->lock);
	x = get(t, ino);
	if (x != NULL) {
		if (x->attr_gen + t->attr_epoch == gen) {
			x->attr = *a;
			x->attr_until = until;
			x->attr_epoch = t->attr_epoch;
		} else {
			x->attr_until = 0;
		}
		x->attr_gen++;
	}
	pthread_mutex_unlock(&t->lock);
}

bool
fsd_node_attr_take(struct fsd_nodes *t, fuse_ino_t ino, uint64_t now, struct fs_attr *a,
		   uint64_t *left)
{
	struct fsd_node *x;
	bool r = false;

	pthread_mutex_lock(&t->lock);
	x = get(t, ino);
	if (x != NULL && now < x->attr_until && x->attr_epoch == t->attr_epoch) {
		*a = x->attr;
		*left = x->attr_until - now;
		r = true;
	}
	if (x != NULL)
		x->attr_until = 0;
	pthread_mutex_unlock(&t->lock);
	return r;
}

void
fsd_node_attr_drop(struct fsd_nodes *t, fuse_ino_t ino)
{
	struct fsd_node *x;

	pthread_mutex_lock(&t->lock);
	x = get(t, ino);
	if (x != NULL) {
		x->attr_until = 0;
		x->attr_gen++;
	}
	pthread_mutex_unlock(&t->lock);
}

void
fsd_nodes_attr_drop_all(struct fsd_nodes *t)
{
	pthread_mutex_lock(&t->lock);
	t->attr_epoch++;
	pthread_mutex_unlock(&t->lock);
}

void
fsd_node_dir_begin(struct fsd_nodes *t, fuse_ino_t ino)
{
	struct fsd_node *x;

	pthread_mutex_lock(&t->lock);
	x = get(t, ino);
	if (x != NULL)
		x->dir_open++;
	pthread_mutex_unlock(&t->lock);
}

bool
fsd_node_dir_open(struct fsd_nodes *t, fuse_ino_t ino, uint64_t gen)
{
	struct fsd_node *x;
	bool hit = false;

	pthread_mutex_lock(&t->lock);
	x = get(t, ino);
	if (x != NULL) {
		if (x->rd_valid && x->rd_gen == gen) {
			hit = true;
		} else {
			/* The kernel drops its pages at this reply; what is
			 * added to them afterwards comes from blocks run after
			 * this one -- unless another handle, opened before, is
			 * still reading. */
			x->rd_gen = gen;
			x->rd_valid = x->dir_open == 1;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return hit;
}

void
fsd_node_dir_end(struct fsd_nodes *t, fuse_ino_t ino, bool drop)
{
	struct fsd_node *x;

	pthread_mutex_lock(&t->lock);
	x = get(t, ino);
	if (x != NULL && x->dir_open > 0)
		x->dir_open--;
	if (x != NULL && drop)
		x->rd_valid = false;
	pthread_mutex_unlock(&t->lock);
}
