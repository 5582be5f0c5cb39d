/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Negative entries (docs/FS.md §3 "Negative entries"): snapshots of
 * directory pages, so that the kernel's lookup of a name that does not
 * exist -- the first step of every create -- is answered without a block.
 *
 * A page of key (1 << l) | i holds exactly the names whose h (the low 62
 * bits of hash(name)) has i as its low l bits, whatever splits and merges
 * happen later (linear hashing, docs/FS.md §1). So a listing of that page
 * at time t says, for every name whose h has those bits, whether it
 * existed at t: absent when its h is not among the page's. This mount's
 * own changes after t are applied to the snapshot (a name made adds its h,
 * a name removed takes it out), so it stays what the node holds as far as
 * this mount knows; another mount's changes are seen when the snapshot
 * expires, entry_timeout after its block was sent -- the bound the
 * kernel's cache of names already has. A snapshot whose block was sent
 * before a change of this mount but is put after it could miss that
 * change: every change bumps a generation before its block is sent, and a
 * put whose generation moved is refused. An h in the set answers nothing
 * (it may be another name with the same h): the lookup goes to the node.
 *
 * A page is read only at the second miss in its directory within
 * entry_timeout (fsd_neg_miss()): a lone lookup of an absent name (a PATH
 * search, a stat before a create elsewhere) costs no block more than it
 * did; a run of creates in one directory pays one listing block per page
 * and entry_timeout.
 */
#include <stdlib.h>
#include <string.h>

#include "fs_fuse.h"

void
fsd_neg_init(struct fsd_neg *n)
{
	memset(n, 0, sizeof(*n));
	pthread_mutex_init(&n->lock, NULL);
}

void
fsd_neg_free(struct fsd_neg *n)
{
	for (unsigned int i = 0; i < FSD_NEG_PAGES; i++)
		free(n->p[i].h);
	pthread_mutex_destroy(&n->lock);
}

uint64_t
fsd_neg_gen(struct fsd_neg *n)
{
	uint64_t g;

	pthread_mutex_lock(&n->lock);
	g = n->gen;
	pthread_mutex_unlock(&n->lock);
	return g;
}

void
fsd_neg_bump(struct fsd_neg *n)
{
	pthread_mutex_lock(&n->lock);
	n->gen++;
	pthread_mutex_unlock(&n->lock);
}

/* Does snapshot @p p cover h (its page holds the names with h's low bits)? */
static bool
covers(const struct fsd_negpage *p, struct scpp_oid dir, uint64_t h)
{
	unsigned int l;

	if (p->h == NULL || !scpp_oid_eq(p->dir, dir))
		return false;
	l = p->pk == 0 ? 0 : 63u - (unsigned int)__builtin_clzll(p->pk);
	return (h & ((UINT64_C(1) << l) - 1)) == (p->pk ^ (UINT64_C(1) << l));
}

static bool
has(const struct fsd_negpage *p, uint64_t h, size_t *at)
{
	size_t lo = 0, hi = p->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->h[mid] < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	*at = lo;
	return lo < p->n && p->h[lo] == h;
}

bool
fsd_neg_absent(struct fsd_neg *n, struct scpp_oid dir, uint64_t h, uint64_t now, uint64_t *left)
{
	bool absent = false;
	size_t at;

	pthread_mutex_lock(&n->lock);
	for (unsigned int i = 0; i < FSD_NEG_PAGES; i++) {
		struct fsd_negpage *p = &n->p[i];

		if (!covers(p, dir, h) || p->until <= now)
			continue;
		if (!has(p, h, &at)) {
			absent = true;
			*left = p->until - now;
			n->hits++;
		}
		break;
	}
	pthread_mutex_unlock(&n->lock);
	return absent;
}

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

void
fsd_neg_put(struct fsd_neg *n, struct scpp_oid dir, uint64_t pk, const uint64_t *h, size_t nh,
	    uint64_t until, uint64_t gen)
{
	struct fsd_negpage *slot = NULL;
	uint64_t *v;

	v = malloc((nh == 0 ? 1 : nh) * sizeof(*v));
	if (v == NULL)
		return;
	memcpy(v, h, nh * sizeof(*v));
	qsort(v, nh, sizeof(*v), u64_cmp);
	pthread_mutex_lock(&n->lock);
	if (gen != n->gen) {
		n->refused++;
		pthread_mutex_unlock(&n->lock);
		free(v);
		return;
	}
	/* The same page again, else a free slot, else the one expiring first. */
	for (unsigned int i = 0; i < FSD_NEG_PAGES; i++) {
		struct fsd_negpage *p = &n->p[i];

		if (p->h != NULL && scpp_oid_eq(p->dir, dir) && p->pk == pk) {
			slot = p;
			break;
		}
		if (slot == NULL || (slot->h != NULL && (p->h == NULL || p->until < slot->until)))
			slot = p;
	}
	free(slot->h);
	slot->dir = dir;
	slot->pk = pk;
	slot->h = v;
	slot->n = nh;
	slot->cap = nh == 0 ? 1 : nh;
	slot->until = until;
	n->puts++;
	pthread_mutex_unlock(&n->lock);
}

void
fsd_neg_change(struct fsd_neg *n, struct scpp_oid dir, uint64_t h, bool add)
{
	size_t at;

	pthread_mutex_lock(&n->lock);
	for (unsigned int i = 0; i < FSD_NEG_PAGES; i++) {
		struct fsd_negpage *p = &n->p[i];

		if (!covers(p, dir, h))
			continue;
		if (has(p, h, &at) == add)
			continue;
		if (!add) {
			memmove(p->h + at, p->h + at + 1, (p->n - at - 1) * sizeof(*p->h));
			p->n--;
			continue;
		}
		if (p->n == p->cap) {
			uint64_t *v = realloc(p->h, 2 * p->cap * sizeof(*v));

			if (v == NULL) {
				/* Cannot record the name: forget the snapshot. */
				free(p->h);
				p->h = NULL;
				continue;
			}
			p->h = v;
			p->cap *= 2;
		}
		memmove(p->h + at + 1, p->h + at, (p->n - at) * sizeof(*p->h));
		p->h[at] = h;
		p->n++;
	}
	pthread_mutex_unlock(&n->lock);
}

bool
fsd_neg_miss(struct fsd_neg *n, struct scpp_oid dir, uint64_t now, uint64_t window)
{
	struct fsd_negmiss *old = &n->miss[0];
	bool again = false;

	pthread_mutex_lock(&n->lock);
	for (unsigned int i = 0; i < FSD_NEG_PAGES; i++) {
		struct fsd_negmiss *m = &n->miss[i];

		if (m->at != 0 && scpp_oid_eq(m->dir, dir)) {
			again = now - m->at < window;
			old = m;
			break;
		}
		if (m->at < old->at)
			old = m;
	}
	old->dir = dir;
	old->at = now;
	pthread_mutex_unlock(&n->lock);
	return again;
}
