/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The value index: for the attributes marked indexed, value -> entities.
 *
 * Design (docs/STORE.md "Value index"):
 * - A head per (attribute, value), found through its own bucket index (vh)
 *   by a keyed hash of both; its members (one per entity whose plain
 *   triple holds that value) are on a doubly-linked list. The head keeps no
 *   copy of the value: equality is checked against its first member's
 *   triple, which holds the value by construction.
 * - Each member is also in a second index (ve) under its triple's own key
 *   (entity, attribute), so a triple's member is found in O(1) when its
 *   value changes or it goes away, however many entities share the value.
 * - Every change of an indexed triple unlinks its member first and links
 *   it again after (the triple then holds the new value). Unlinking never
 *   fails. Linking needs a free member, maybe a free head, and room in the
 *   two indexes' probe windows; the pools hold config.max_indexed of each,
 *   so only a probe window can be full, which keyed hashes make vanishingly
 *   rare. Rather than failing the write, that attribute's index is then
 *   dropped (its members freed, the event counted): lookups of the
 *   attribute answer -ESTALE and the evaluator scans, so results stay
 *   right, only slower, until the index is rebuilt with
 *   scpp_store_index_attr().
 * - Lookups return members with each entity's creation sequence, so the
 *   caller can put them in entity order (the order a scan would produce).
 */

#include <errno.h>
#include <string.h>

#include "store_priv.h"

#define VIX_NIL UINT32_MAX

static inline uint64_t
vhash(const struct scpp_store *s, uint32_t attr, const struct scpp_value *v)
{
	return scpp_hash_mix64(scpp_value_hash_seeded(v, s->seed) ^
			       ((uint64_t)attr + 1) * UINT64_C(0xd6e8feb86659fd93));
}

/* ---- the set of indexed attributes --------------------------------------- */

static inline uint32_t
attr_home(uint32_t attr)
{
	return (uint32_t)(scpp_hash_mix64(attr) & (VIX_ATTR_SLOTS - 1));
}

/* Slot of @attr, or -1. */
static int
attr_find(const struct vix *v, uint32_t attr)
{
	for (uint32_t i = attr_home(attr), n = 0; n < VIX_ATTR_SLOTS;
	     i = (i + 1) & (VIX_ATTR_SLOTS - 1), n++) {
		if (v->attr_slot[i] == attr)
			return (int)i;
		if (v->attr_slot[i] == 0)
			return -1;
	}
	return -1;
}

bool
vix_on(const struct scpp_store *s, uint32_t attr)
{
	int i;

	if (SCPP_LIKELY(s->vix.nattr == 0))
		return false;
	i = attr_find(&s->vix, attr);
	return i >= 0 && !s->vix.attr_bad[i];
}

/* ---- pools ------------------------------------------------------------------ */

static uint32_t
head_take(struct vix *v)
{
	uint32_t h;

	if (v->head_free != VIX_NIL) {
		h = v->head_free;
		v->head_free = v->heads[h].next_free;
	} else if (v->head_hi < v->max) {
		h = v->head_hi++;
	} else {
		return VIX_NIL;
	}
	v->heads_used++;
	return h;
}

static void
head_put(struct vix *v, uint32_t h)
{
	v->heads[h].attr = 0;
	v->heads[h].next_free = v->head_free;
	v->head_free = h;
	v->heads_used--;
}

static uint32_t
ent_take(struct vix *v)
{
	uint32_t m;

	if (v->ent_free != VIX_NIL) {
		m = v->ent_free;
		v->ent_free = v->ents[m].next;
	} else if (v->ent_hi < v->max) {
		m = v->ent_hi++;
	} else {
		return VIX_NIL;
	}
	v->ents_used++;
	return m;
}

static void
ent_put(struct vix *v, uint32_t m)
{
	v->ents[m].attr = 0;
	v->ents[m].head = VIX_NIL;
	v->ents[m].next = v->ent_free;
	v->ent_free = m;
	v->ents_used--;
}

void
vix_reset(struct scpp_store *s)
{
	struct vix *v = &s->vix;

	v->head_hi = v->ent_hi = 0;
	v->head_free = v->ent_free = VIX_NIL;
	v->heads_used = v->ents_used = 0;
	v->nattr = 0;
	memset(v->attr_slot, 0, sizeof(v->attr_slot));
	memset(v->attr_bad, 0, sizeof(v->attr_bad));
	if (v->max > 0) {
		memset(v->vh.bk, 0, (size_t)v->vh.nb * sizeof(struct bucket));
		memset(v->ve.bk, 0, (size_t)v->ve.nb * sizeof(struct bucket));
	}
	v->vh.used = v->vh.overflowed = 0;
	v->ve.used = v->ve.overflowed = 0;
}

/* ---- lookups ----------------------------------------------------------------- */

/* The value of plain triple entry @x. */
static void
triple_value(const struct scpp_store *s, uint32_t x, struct scpp_value *out)
{
	store_entry_value(s, x, out);
}

/* Does head @h stand for (@attr, @val)? Its first member's triple says. */
static bool
head_is(const struct scpp_store *s, uint32_t h, uint64_t hash, uint32_t attr,
	const struct scpp_value *val)
{
	const struct vhead *hd = &s->vix.heads[h];
	const struct vent *m;
	struct scpp_value cur;
	uint32_t x;

	if (hd->hash != hash || hd->attr != attr || hd->count == 0)
		return false;
	m = &s->vix.ents[hd->first];
	x = store_find(s, store_key_hash(s, m->oid, attr), m->oid, attr);
	if (x == NIL_IDX)
		return false;
	triple_value(s, x, &cur);
	return scpp_value_eq(&cur, val);
}

static uint32_t
head_find(const struct scpp_store *s, uint64_t hash, uint32_t attr, const struct scpp_value *val)
{
	const struct index *ix = &s->vix.vh;
	uint32_t b = home_bucket(hash, ix->nb);
	uint8_t tag = tag_of(hash);

	for (unsigned int left = SCPP_STORE_PROBE_MAX; left > 0; left--) {
		const struct bucket *bk = &ix->bk[b];
		unsigned int m = tag_match(bk, tag);

		while (m != 0) {
			uint32_t h = bk->idx[__builtin_ctz(m)];

			if (head_is(s, h, hash, attr, val))
				return h;
			m &= m - 1;
		}
		if (bk->overflow == 0)
			break;
		(*s->probe_ctr)++;
		b = next_bucket(b, ix->nb);
	}
	return VIX_NIL;
}

static uint32_t
member_find(const struct scpp_store *s, uint64_t kh, struct scpp_oid oid, uint32_t attr)
{
	const struct index *ix = &s->vix.ve;
	uint32_t b = home_bucket(kh, ix->nb);
	uint8_t tag = tag_of(kh);

	for (unsigned int left = SCPP_STORE_PROBE_MAX; left > 0; left--) {
		const struct bucket *bk = &ix->bk[b];
		unsigned int m = tag_match(bk, tag);

		while (m != 0) {
			uint32_t x = bk->idx[__builtin_ctz(m)];
			const struct vent *e = &s->vix.ents[x];

			if (e->attr == attr && scpp_oid_eq(e->oid, oid))
				return x;
			m &= m - 1;
		}
		if (bk->overflow == 0)
			break;
		b = next_bucket(b, ix->nb);
	}
	return VIX_NIL;
}

/* ---- maintenance ---------------------------------------------------------------- */

/* Unlink member @m (known) of its head, and free what empties. */
static void
member_remove(struct scpp_store *s, uint32_t m, uint64_t kh)
{
	struct vix *v = &s->vix;
	struct vent *e = &v->ents[m];
	struct vhead *hd = &v->heads[e->head];

	if (e->prev != VIX_NIL)
		v->ents[e->prev].next = e->next;
	else
		hd->first = e->next;
	if (e->next != VIX_NIL)
		v->ents[e->next].prev = e->prev;
	else
		hd->last = e->prev;
	if (--hd->count == 0) {
		store_index_remove(&v->vh, hd->hash, e->head);
		head_put(v, e->head);
	}
	store_index_remove(&v->ve, kh, m);
	ent_put(v, m);
}

/* Free every member of @attr (a pass over the pool: rare). */
static void
vix_purge(struct scpp_store *s, uint32_t attr)
{
	struct vix *v = &s->vix;

	for (uint32_t m = 0; m < v->ent_hi; m++) {
		struct vent *e = &v->ents[m];

		if (e->head != VIX_NIL && e->attr == attr)
			member_remove(s, m, store_key_hash(s, e->oid, attr));
	}
}

/* Give up the index of @attr: free its members, mark it (lookups scan). */
static void
vix_drop(struct scpp_store *s, uint32_t attr)
{
	struct vix *v = &s->vix;
	int i = attr_find(v, attr);

	vix_purge(s, attr);
	if (i >= 0 && !v->attr_bad[i]) {
		v->attr_bad[i] = 1;
		v->dropped++;
	}
}

void
vix_unlink_slow(struct scpp_store *s, uint32_t x)
{
	const struct entry *e = &s->ent[x];
	uint64_t kh;
	uint32_t m;

	if (!vix_on(s, e->attr) || e->h.kind == K_MAP || e->h.kind == K_ENTITY)
		return;
	kh = store_key_hash(s, e->oid, e->attr);
	m = member_find(s, kh, e->oid, e->attr);
	if (m != VIX_NIL)
		member_remove(s, m, kh);
}

void
vix_link_slow(struct scpp_store *s, uint32_t x)
{
	struct vix *v = &s->vix;
	const struct entry *e = &s->ent[x];
	struct scpp_value val;
	uint64_t hash, kh;
	uint32_t h, m;

	if (!vix_on(s, e->attr) || e->h.kind == K_MAP || e->h.kind == K_ENTITY)
		return;
	triple_value(s, x, &val);
	hash = vhash(s, e->attr, &val);
	kh = store_key_hash(s, e->oid, e->attr);
	h = head_find(s, hash, e->attr, &val);
	if (v->ents_used == v->max || !store_index_has_room(&v->ve, kh) ||
	    (h == VIX_NIL && (v->heads_used == v->max || !store_index_has_room(&v->vh, hash)))) {
		vix_drop(s, e->attr);
		return;
	}
	if (h == VIX_NIL) {
		h = head_take(v);
		v->heads[h].hash = hash;
		v->heads[h].attr = e->attr;
		v->heads[h].first = v->heads[h].last = VIX_NIL;
		v->heads[h].count = 0;
		store_index_insert(&v->vh, hash, h);
	}
	m = ent_take(v);
	v->ents[m].oid = e->oid;
	v->ents[m].attr = e->attr;
	v->ents[m].head = h;
	v->ents[m].next = VIX_NIL;
	v->ents[m].prev = v->heads[h].last;
	if (v->heads[h].last != VIX_NIL)
		v->ents[v->heads[h].last].next = m;
	else
		v->heads[h].first = m;
	v->heads[h].last = m;
	v->heads[h].count++;
	store_index_insert(&v->ve, kh, m);
}

/* ---- control ------------------------------------------------------------------------ */

/* Link every plain triple of @attr (after it was switched on). */
static void
vix_build(struct scpp_store *s, uint32_t attr)
{
	for (uint32_t hx = s->live_head; hx != NIL_IDX; hx = s->cold[hx].v.ent.lnext) {
		uint32_t x = store_find(s, store_key_hash(s, s->ent[hx].oid, attr), s->ent[hx].oid,
					attr);

		if (x != NIL_IDX)
			vix_link(s, x);
		if (!vix_on(s, attr))
			return; /* dropped while building */
	}
}

int
scpp_store_index_attr(struct scpp_store *s, uint32_t attr, bool on)
{
	struct vix *v;
	int i;

	if (s == NULL || attr == SCPP_STORE_ATTR_NONE)
		return -EINVAL;
	v = &s->vix;
	if (v->max == 0)
		return on ? -EOPNOTSUPP : 0;
	i = attr_find(v, attr);
	if (on) {
		if (i >= 0 && !v->attr_bad[i])
			return 0;
		if (i < 0) {
			uint32_t k;

			if (v->nattr == SCPP_STORE_INDEXED_MAX)
				return -ENOSPC;
			for (k = attr_home(attr); v->attr_slot[k] != 0; k = (k + 1) & (VIX_ATTR_SLOTS - 1))
				;
			v->attr_slot[k] = attr;
			i = (int)k;
			v->nattr++;
		}
		v->attr_bad[i] = 0;
		vix_build(s, attr);
		return vix_on(s, attr) ? 0 : -ENOSPC;
	}
	if (i < 0)
		return 0;
	if (!v->attr_bad[i])
		vix_purge(s, attr);
	/* Rebuild the open-addressing set without @attr. */
	{
		uint32_t keep[SCPP_STORE_INDEXED_MAX];
		uint8_t bad[SCPP_STORE_INDEXED_MAX];
		uint32_t n = 0;

		for (uint32_t k = 0; k < VIX_ATTR_SLOTS; k++)
			if (v->attr_slot[k] != 0 && v->attr_slot[k] != attr) {
				keep[n] = v->attr_slot[k];
				bad[n++] = v->attr_bad[k];
			}
		memset(v->attr_slot, 0, sizeof(v->attr_slot));
		memset(v->attr_bad, 0, sizeof(v->attr_bad));
		v->nattr = 0;
		for (uint32_t j = 0; j < n; j++) {
			uint32_t k;

			for (k = attr_home(keep[j]); v->attr_slot[k] != 0;
			     k = (k + 1) & (VIX_ATTR_SLOTS - 1))
				;
			v->attr_slot[k] = keep[j];
			v->attr_bad[k] = bad[j];
			v->nattr++;
		}
	}
	return 0;
}

bool
scpp_store_attr_indexed(const struct scpp_store *s, uint32_t attr)
{
	return s != NULL && vix_on(s, attr);
}

int
scpp_store_index_find(const struct scpp_store *s, uint32_t attr, const struct scpp_value *val,
		      uint64_t *cursor, struct scpp_store_hit *out, unsigned int n)
{
	const struct vix *v;
	unsigned int k = 0;
	uint32_t m;

	if (s == NULL || val == NULL || cursor == NULL || (out == NULL && n > 0))
		return -EINVAL;
	if (!vix_on(s, attr))
		return -ESTALE;
	if (*cursor == UINT64_MAX)
		return 0;
	v = &s->vix;
	if (*cursor == 0) {
		uint32_t h = head_find(s, vhash(s, attr, val), attr, val);

		m = h == VIX_NIL ? VIX_NIL : v->heads[h].first;
	} else {
		m = (uint32_t)(*cursor - 1);
	}
	for (; m != VIX_NIL && k < n; m = v->ents[m].next, k++) {
		uint32_t hx = store_find(s, store_key_hash(s, v->ents[m].oid, SCPP_STORE_ATTR_NONE),
					 v->ents[m].oid, SCPP_STORE_ATTR_NONE);

		out[k].oid = v->ents[m].oid;
		out[k].seq = hx != NIL_IDX ? s->cold[hx].v.ent.seq : 0;
	}
	*cursor = m == VIX_NIL ? UINT64_MAX : (uint64_t)m + 1;
	return (int)k;
}
