/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Parked requests: admitted for execution, not finished, waiting for the
 * caller (scpp_delivery.h, "Parking"). A fixed array of slots with a free
 * list, and an index by the request's key so that admission can tell a
 * retransmission of a parked block from a new one. Expiry is a bounded
 * incremental scan, as reassembly's is.
 */
#include <errno.h>

#include "delivery_priv.h"

#define SCAN_PER_CALL 8
#define PARKED_MAX 65536u

static uint32_t
cap_of(const struct scpp_delivery_conf *c)
{
	return c->parked != 0 ? c->parked : SCPP_DELIVERY_PARKED_DEFAULT;
}

size_t
dlv_park_mem(const struct scpp_delivery_conf *c)
{
	return dlv_al(sizeof(struct dlv_park_slot) * cap_of(c)) +
	       dlv_al(dlv_tab_mem(cap_of(c), sizeof(struct dlv_ckey)));
}

void
dlv_park_init(struct scpp_delivery *d, uint8_t **mem)
{
	const struct scpp_delivery_conf *c = &d->conf;
	struct dlv_park *pk = &d->park;
	uint64_t seed[5];
	uint32_t ms = c->park_timeout_ms;

	if (ms == 0)
		ms = SCPP_MIN(1000u, c->retention_ms / 2 ? c->retention_ms / 2 : 1u);
	pk->cap = cap_of(c);
	pk->timeout = (uint64_t)ms * c->tsc_hz / 1000;
	pk->slot = dlv_carve(mem, sizeof(*pk->slot) * pk->cap);
	dlv_seed(d, "parked", seed, 5);
	dlv_tab_init(&pk->index, dlv_carve(mem, dlv_tab_mem(pk->cap, sizeof(struct dlv_ckey))),
		     pk->cap, sizeof(struct dlv_ckey), seed);
	for (uint32_t i = 0; i < pk->cap; i++)
		pk->slot[i].next_free = i + 1 < pk->cap ? i + 1 : DLV_NONE;
	pk->free_head = 0;
}

/* Checked by scpp_delivery_create(): the park settings are in range. */
bool
dlv_park_conf_valid(const struct scpp_delivery_conf *c)
{
	return c->parked <= PARKED_MAX && (uint64_t)c->park_timeout_ms * 2 <= c->retention_ms;
}

bool
dlv_park_holds(struct scpp_delivery *d, const struct scpp_delivery_req *req)
{
	struct dlv_ckey k;

	if (d->park.used == 0)
		return false;
	k = dlv_ckey_of(req, req->block_id);
	if (dlv_tab_find(&d->park.index, &k) == NULL)
		return false;
	dlv_count(&d->st.park_dups);
	return true;
}

int32_t
scpp_delivery_park(struct scpp_delivery *d, const struct scpp_delivery_req *req, uint64_t user,
		   uint64_t now)
{
	struct dlv_park *pk = &d->park;
	struct dlv_park_slot *s;
	struct dlv_ckey k = dlv_ckey_of(req, req->block_id);
	uint32_t idx;

	/* Only right after scpp_delivery_admit() said EXECUTE for it. */
	SCPP_VERIFY(d->pending_block == req->block_id);
	if (pk->free_head == DLV_NONE) {
		dlv_count(&d->st.park_full);
		return -ENOSPC;
	}
	/* Admitted as read-only: a parked request is recorded (its
	 * retransmission must find it parked), so it needs its window. */
	if (d->pending_read && !dlv_pending_window(d, req, now)) {
		dlv_count(&d->st.park_full);
		return -ENOSPC;
	}
	SCPP_VERIFY(d->pending_client != DLV_NONE);
	idx = pk->free_head;
	s = &pk->slot[idx];
	pk->free_head = s->next_free;
	s->req = *req;
	s->user = user;
	s->client = d->pending_client;
	s->deadline = now + pk->timeout;
	s->in_use = 1;
	/* The window stays at least a retention from now: longer than the
	 * park can last (park_timeout <= retention / 2). */
	d->clients.c[s->client].tsc = now;
	dlv_tab_insert(&pk->index, &k, idx);
	dlv_gauge32(&pk->used, pk->used + 1);
	d->pending_client = DLV_NONE;
	dlv_count(&d->st.parks);
	return (int32_t)idx;
}

/* Slot @p idx leaves the park and becomes the pending request. */
static void
take(struct scpp_delivery *d, uint32_t idx, struct scpp_delivery_req *req, uint64_t *user)
{
	struct dlv_park *pk = &d->park;
	struct dlv_park_slot *s = &pk->slot[idx];
	struct dlv_ckey k = dlv_ckey_of(&s->req, s->req.block_id);

	SCPP_VERIFY(dlv_tab_del(&pk->index, &k));
	*req = s->req;
	if (user != NULL)
		*user = s->user;
	d->pending_client = s->client;
	d->pending_block = s->req.block_id;
	d->pending_read = 0;
	s->in_use = 0;
	s->next_free = pk->free_head;
	pk->free_head = idx;
	dlv_gauge32(&pk->used, pk->used - 1);
}

int
scpp_delivery_unpark(struct scpp_delivery *d, int32_t ticket, struct scpp_delivery_req *req,
		     uint64_t *user)
{
	if (ticket < 0 || (uint32_t)ticket >= d->park.cap || !d->park.slot[ticket].in_use)
		return -ENOENT;
	take(d, (uint32_t)ticket, req, user);
	dlv_count(&d->st.unparks);
	return 0;
}

int32_t
scpp_delivery_park_expired(struct scpp_delivery *d, uint64_t now, struct scpp_delivery_req *req,
			   uint64_t *user)
{
	struct dlv_park *pk = &d->park;

	if (pk->used == 0)
		return -ENOENT;
	for (unsigned int n = 0; n < SCAN_PER_CALL && n < pk->cap; n++) {
		uint32_t idx = pk->scan;

		if (++pk->scan == pk->cap)
			pk->scan = 0;
		if (pk->slot[idx].in_use && (int64_t)(now - pk->slot[idx].deadline) > 0) {
			take(d, idx, req, user);
			dlv_count(&d->st.park_expired);
			return (int32_t)idx;
		}
	}
	return -ENOENT;
}
