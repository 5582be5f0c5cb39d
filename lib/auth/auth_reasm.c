/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Bounded reassembly of authenticated multi-datagram messages (IDENTITY,
 * docs/SECURITY.md §9.4 item 3). The caller verifies every fragment (its
 * MAC) before adding it, so only peers create slots; the bounds still hold
 * against a peer gone wrong: a fixed number of slots, each at most
 * max_bytes, a fragment count per message, and a deadline from the first
 * fragment. Fragments are appended in arrival order with their (offset,
 * length) per index and gathered in index order when the last one arrives,
 * so a slot needs max_bytes whatever the fragment sizes.
 */
#include <errno.h>
#include <string.h>

#include "auth_priv.h"

#define REASM_SLOTS_MAX 64
#define REASM_FRAGS_MAX 64
#define REASM_BYTES_MAX ((size_t)1 << 20)

struct reasm_slot {
	bool used;
	uint64_t src, id;
	uint64_t deadline_ns;
	uint32_t count, have;
	size_t fill;                     /* bytes appended */
	uint32_t off[REASM_FRAGS_MAX];   /* UINT32_MAX: not arrived */
	uint32_t len[REASM_FRAGS_MAX];
	uint8_t *buf;                    /* max_bytes */
};

struct scpp_auth_reasm {
	const struct scpp_auth_mem *mem;
	struct scpp_auth_reasm_config cfg;
	struct scpp_auth_reasm_stats st;
	uint8_t *out;                    /* max_bytes: the completed message */
	struct reasm_slot slot[];
};

static size_t
reasm_size(const struct scpp_auth_reasm_config *cfg)
{
	return sizeof(struct scpp_auth_reasm) + (size_t)cfg->slots * sizeof(struct reasm_slot);
}

struct scpp_auth_reasm *
scpp_auth_reasm_create(const struct scpp_auth_reasm_config *cfg)
{
	const struct scpp_auth_mem *mem;
	struct scpp_auth_reasm *r;

	if (cfg == NULL || cfg->slots == 0 || cfg->slots > REASM_SLOTS_MAX || cfg->max_bytes == 0 ||
	    cfg->max_bytes > REASM_BYTES_MAX || cfg->max_frags == 0 ||
	    cfg->max_frags > REASM_FRAGS_MAX || cfg->timeout_ns == 0) {
		errno = EINVAL;
		return NULL;
	}
	mem = auth_mem(cfg->mem);
	r = auth_zalloc(mem, reasm_size(cfg));
	if (r == NULL)
		goto nomem;
	r->mem = mem;
	r->cfg = *cfg;
	r->out = auth_zalloc(mem, cfg->max_bytes);
	if (r->out == NULL)
		goto nomem;
	for (unsigned int i = 0; i < cfg->slots; i++) {
		r->slot[i].buf = auth_zalloc(mem, cfg->max_bytes);
		if (r->slot[i].buf == NULL)
			goto nomem;
	}
	return r;
nomem:
	scpp_auth_reasm_free(r);
	errno = ENOMEM;
	return NULL;
}

void
scpp_auth_reasm_free(struct scpp_auth_reasm *r)
{
	if (r == NULL)
		return;
	for (unsigned int i = 0; i < r->cfg.slots; i++)
		if (r->slot[i].buf != NULL)
			auth_wipe_free(r->mem, r->slot[i].buf, r->cfg.max_bytes);
	if (r->out != NULL)
		auth_wipe_free(r->mem, r->out, r->cfg.max_bytes);
	auth_wipe_free(r->mem, r, reasm_size(&r->cfg));
}

static void
slot_drop(struct reasm_slot *s)
{
	s->used = false;
	s->have = 0;
	s->fill = 0;
}

static void
slot_start(struct reasm_slot *s, uint64_t src, uint64_t id, uint32_t count, uint64_t deadline)
{
	s->used = true;
	s->src = src;
	s->id = id;
	s->count = count;
	s->have = 0;
	s->fill = 0;
	s->deadline_ns = deadline;
	memset(s->off, 0xff, sizeof(s->off));
}

/* The message's slot, else a free or timed-out one (counted), else NULL. */
static struct reasm_slot *
slot_find(struct scpp_auth_reasm *r, uint64_t src, uint64_t id, uint64_t now_ns, bool *fresh)
{
	struct reasm_slot *free_slot = NULL;

	*fresh = false;
	for (unsigned int i = 0; i < r->cfg.slots; i++) {
		struct reasm_slot *s = &r->slot[i];

		if (s->used && s->src == src && s->id == id) {
			if (now_ns < s->deadline_ns)
				return s;
			r->st.timeouts++;
			slot_drop(s);
		}
		if (s->used && now_ns >= s->deadline_ns) {
			r->st.timeouts++;
			slot_drop(s);
		}
		if (!s->used && free_slot == NULL)
			free_slot = s;
	}
	*fresh = free_slot != NULL;
	return free_slot;
}

int
scpp_auth_reasm_add(struct scpp_auth_reasm *r, uint64_t src, uint64_t id, uint32_t index,
		    uint32_t count, const uint8_t *p, size_t len, uint64_t now_ns,
		    const uint8_t **out, size_t *out_len)
{
	struct reasm_slot *s;
	size_t off = 0;
	bool fresh;

	if (r == NULL || p == NULL || out == NULL || out_len == NULL)
		return -EINVAL;
	r->st.frags++;
	if (count == 0 || count > r->cfg.max_frags || index >= count || len == 0) {
		r->st.bad++;
		return -EINVAL;
	}
	s = slot_find(r, src, id, now_ns, &fresh);
	if (s == NULL) {
		r->st.full++;
		return -ENOBUFS;
	}
	if (fresh)
		slot_start(s, src, id, count, now_ns + r->cfg.timeout_ns);
	else if (s->count != count) {
		r->st.bad++;
		slot_drop(s);
		return -EPROTO;
	}
	if (s->off[index] != UINT32_MAX) {
		r->st.duplicates++;
		return -EALREADY;
	}
	if (len > r->cfg.max_bytes - s->fill) {
		r->st.too_big++;
		slot_drop(s);
		return -EMSGSIZE;
	}
	memcpy(s->buf + s->fill, p, len);
	s->off[index] = (uint32_t)s->fill;
	s->len[index] = (uint32_t)len;
	s->fill += len;
	if (++s->have < s->count)
		return 0;
	for (uint32_t i = 0; i < s->count; i++) {
		memcpy(r->out + off, s->buf + s->off[i], s->len[i]);
		off += s->len[i];
	}
	slot_drop(s);
	r->st.completed++;
	*out = r->out;
	*out_len = off;
	return 1;
}

unsigned int
scpp_auth_reasm_expire(struct scpp_auth_reasm *r, uint64_t now_ns)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < r->cfg.slots; i++) {
		if (r->slot[i].used && now_ns >= r->slot[i].deadline_ns) {
			slot_drop(&r->slot[i]);
			r->st.timeouts++;
			n++;
		}
	}
	return n;
}

unsigned int
scpp_auth_reasm_held(const struct scpp_auth_reasm *r)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < r->cfg.slots; i++)
		n += r->slot[i].used;
	return n;
}

void
scpp_auth_reasm_stats_get(const struct scpp_auth_reasm *r, struct scpp_auth_reasm_stats *st)
{
	*st = r->st;
}
