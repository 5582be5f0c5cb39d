/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A small fixed-capacity hash table: key bytes -> u32, for the reply
 * cache, client windows, reassembly slots and reassembly quotas.
 *
 * Why not rte_hash: these tables are keyed by values a sender picks (client
 * and block ids, ports), so the hash must be keyed with a secret; they must
 * work without EAL for the unit tests and the fuzz target; and each is at
 * most half full by construction, so linear probing needs no resizing and
 * no failure path. Deletion shifts the following run back (no tombstones),
 * so probe runs never grow with churn.
 *
 * Hash: NH over 64-bit words with random per-table seeds, then a 64-bit
 * finaliser. NH's universality means a sender who does not know the seeds
 * cannot choose keys that collide more often than chance.
 */
#include <string.h>

#include "delivery_priv.h"

static inline uint32_t
tab_hash(const struct dlv_tab *t, const uint8_t *k)
{
	return dlv_tab_hash(t, k, t->key_len);
}

static inline uint8_t *
slot_at(const struct dlv_tab *t, uint32_t i)
{
	return t->slots + (size_t)i * t->slot_size;
}

static inline uint32_t *
slot_val(uint8_t *s)
{
	return (uint32_t *)(void *)s;
}

static inline uint32_t
slot_hash(const uint8_t *s)
{
	uint32_t h;

	memcpy(&h, s + 4, 4);
	return h;
}

static uint32_t
tab_slots(uint32_t max_keys)
{
	uint32_t n = 16;

	while (n < 2 * (uint64_t)max_keys)
		n *= 2;
	return n;
}

size_t
dlv_tab_mem(uint32_t max_keys, uint32_t key_len)
{
	return (size_t)tab_slots(max_keys) * (8 + key_len);
}

void
dlv_tab_init(struct dlv_tab *t, void *mem, uint32_t max_keys, uint32_t key_len,
	     const uint64_t seed[5])
{
	uint32_t n = tab_slots(max_keys);

	SCPP_VERIFY(key_len % 8 == 0 && key_len <= 32);
	t->mask = n - 1;
	t->key_len = key_len;
	t->slot_size = 8 + key_len;
	t->count = 0;
	memcpy(t->seed, seed, sizeof(t->seed));
	t->slots = mem;
	for (uint32_t i = 0; i < n; i++)
		*slot_val(slot_at(t, i)) = DLV_NONE;
}

uint32_t *
dlv_tab_find(const struct dlv_tab *t, const void *key)
{
	return dlv_tab_find_n(t, key, t->key_len);
}

void
dlv_tab_insert(struct dlv_tab *t, const void *key, uint32_t val)
{
	uint32_t h = tab_hash(t, key), i = h & t->mask;
	uint8_t *s;

	/* At most half full by construction: there is always an empty slot. */
	SCPP_VERIFY(t->count < (t->mask + 1) / 2 + 1);
	SCPP_ASSERT(val != DLV_NONE);
	while (*slot_val(slot_at(t, i)) != DLV_NONE)
		i = (i + 1) & t->mask;
	s = slot_at(t, i);
	*slot_val(s) = val;
	memcpy(s + 4, &h, 4);
	memcpy(s + 8, key, t->key_len);
	t->count++;
}

bool
dlv_tab_del(struct dlv_tab *t, const void *key)
{
	uint32_t *v = dlv_tab_find(t, key), i, j, k;

	if (v == NULL)
		return false;
	i = (uint32_t)(((uint8_t *)v - t->slots) / t->slot_size);
	/* Backward shift: move later members of the run into the hole when
	 * their home slot is not between the hole and themselves. */
	for (j = i;;) {
		j = (j + 1) & t->mask;
		if (*slot_val(slot_at(t, j)) == DLV_NONE)
			break;
		k = slot_hash(slot_at(t, j)) & t->mask;
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		memcpy(slot_at(t, i), slot_at(t, j), t->slot_size);
		i = j;
	}
	*slot_val(slot_at(t, i)) = DLV_NONE;
	t->count--;
	return true;
}
