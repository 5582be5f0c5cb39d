/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The owner's table of forwarded sessions' reply keys (docs/SECURITY.md
 * §9.4): a fixed open-addressing table, one per worker, keyed by session id
 * with a short probe window. Keeping a key means replacing the same
 * session's entry, else a free or expired one in its window, else the one
 * that ends first (its next FORWARD brings its key again): bounded memory
 * and bounded work per request, whatever the forwarders send.
 */
#include <errno.h>

#include "auth_priv.h"

struct scpp_auth_dlg_table {
	const struct scpp_auth_mem *mem;
	uint32_t used;          /* entries ever filled (0: the table is skipped) */
	struct scpp_auth_dlg e[SCPP_AUTH_DLG_SLOTS];
};

static inline uint32_t
dlg_hash(uint64_t session)
{
	return (uint32_t)((session * UINT64_C(0x9e3779b97f4a7c15)) >> 40) % SCPP_AUTH_DLG_SLOTS;
}

struct scpp_auth_dlg_table *
scpp_auth_dlg_create(const struct scpp_auth_mem *mem)
{
	struct scpp_auth_dlg_table *t;

	mem = auth_mem(mem);
	t = auth_zalloc(mem, sizeof(*t));
	if (t == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	t->mem = mem;
	return t;
}

void
scpp_auth_dlg_free(struct scpp_auth_dlg_table *t)
{
	if (t != NULL)
		auth_wipe_free(t->mem, t, sizeof(*t));
}

static struct scpp_auth_dlg *
dlg_find(struct scpp_auth_dlg_table *t, uint64_t session)
{
	uint32_t h = dlg_hash(session);

	if (t->used == 0 || session == 0)
		return NULL;
	for (uint32_t i = 0; i < SCPP_AUTH_DLG_PROBE; i++) {
		struct scpp_auth_dlg *e = &t->e[(h + i) % SCPP_AUTH_DLG_SLOTS];

		if (e->session == session)
			return e;
	}
	return NULL;
}

const struct scpp_auth_dlg *
scpp_auth_dlg_find(const struct scpp_auth_dlg_table *t, uint64_t session)
{
	return dlg_find((struct scpp_auth_dlg_table *)(uintptr_t)t, session);
}

void
scpp_auth_dlg_note(struct scpp_auth_dlg_table *t, uint64_t session, uint64_t not_after_ns,
		   const uint8_t key[SCPP_AUTH_KEY_LEN], uint64_t now_ns)
{
	uint32_t h = dlg_hash(session);
	struct scpp_auth_dlg *e = dlg_find(t, session);
	struct scpp_auth_dlg *victim = NULL;

	if (session == 0)
		return;
	for (uint32_t i = 0; e == NULL && i < SCPP_AUTH_DLG_PROBE; i++) {
		struct scpp_auth_dlg *x = &t->e[(h + i) % SCPP_AUTH_DLG_SLOTS];

		if (x->session == 0 || x->not_after_ns <= now_ns) {
			e = x;
			break;
		}
		if (victim == NULL || x->not_after_ns < victim->not_after_ns)
			victim = x;
	}
	if (e == NULL)
		e = victim;
	if (e->session != session)
		t->used++;
	e->session = session;
	e->not_after_ns = not_after_ns;
	memcpy(e->key, key, SCPP_AUTH_KEY_LEN);
}

bool
scpp_auth_dlg_any(const struct scpp_auth_dlg_table *t)
{
	return t->used != 0;
}

void
scpp_auth_cont_reply_key(const uint8_t secret[SCPP_AUTH_KEY_LEN], uint64_t cont_id,
			 uint32_t owner, uint8_t k_r[SCPP_AUTH_KEY_LEN])
{
	uint8_t in[12];

	auth_put64(in, cont_id);
	auth_put32(in + 8, owner);
	crypto_generichash(k_r, SCPP_AUTH_KEY_LEN, in, sizeof(in), secret, SCPP_AUTH_KEY_LEN);
}
