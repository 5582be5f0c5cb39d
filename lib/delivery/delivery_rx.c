/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Datagrams in: header checks and the reassembly of multi-fragment BLOCK
 * messages.
 *
 * A message in reassembly occupies one slot with room for max_fragments x
 * frag_max bytes (frag_max = the largest port's MTU - 28 - 32): fragment i
 * is copied to offset i x frag_max, and the payloads are compacted in place
 * (memmove towards the front) when the last one arrives. Slots are found by
 * the full 5-tuple and the (client, block) ids, so a fragment from another
 * address or port never joins someone else's message, and the reply goes to
 * the address all the fragments came from.
 *
 * Limits, each counted (docs/OPERATIONS.md):
 * - slots: a fragment of a new message when none is free is dropped
 *   (reasm_overflow);
 * - per-source quota: one source address holds at most reasm_per_source
 *   slots (reasm_quota), so a flood of first fragments that never
 *   complete, from one address, leaves the other slots to everyone else;
 * - timeout: an incremental scan frees slots whose first fragment is older
 *   than reasm_timeout_ms; each fragment they held is one reasm_timeout;
 * - consistency: an identical duplicate is dropped alone (reasm_duplicate);
 *   a fragment that disagrees (another frag_count, other bytes at an index
 *   already held) discards the message, and it and every fragment held are
 *   counted as reasm_mismatch.
 * So every datagram is counted once: consumed (in a complete message),
 * dropped under one reason, or still held (usage.reasm_frames).
 */
#include <errno.h>

#include "delivery_priv.h"

#define SCAN_PER_TICK 4

struct dlv_skey {
	uint32_t ip;
	uint32_t zero;
};

size_t
dlv_reasm_mem(const struct scpp_delivery_conf *c, uint16_t frag_max)
{
	return dlv_al(sizeof(struct dlv_slot) * c->reasm_slots) +
	       dlv_al(sizeof(uint32_t) * c->reasm_slots) +
	       dlv_al((size_t)c->reasm_slots * c->max_fragments * frag_max) +
	       dlv_al(dlv_tab_mem(c->reasm_slots, sizeof(struct dlv_rkey))) +
	       dlv_al(dlv_tab_mem(c->reasm_slots, sizeof(struct dlv_skey)));
}

void
dlv_reasm_init(struct scpp_delivery *d, uint8_t **mem)
{
	const struct scpp_delivery_conf *c = &d->conf;
	struct dlv_reasm *r = &d->reasm;
	size_t per = (size_t)c->max_fragments * d->frag_max;
	uint64_t seed[5];

	r->nslots = c->reasm_slots;
	r->max_frags = c->max_fragments;
	r->frag_max = d->frag_max;
	r->per_source = c->reasm_per_source;
	r->timeout = (uint64_t)c->reasm_timeout_ms * c->tsc_hz / 1000;
	r->slots = dlv_carve(mem, sizeof(*r->slots) * r->nslots);
	r->free = dlv_carve(mem, sizeof(*r->free) * r->nslots);
	r->arena = dlv_carve(mem, per * r->nslots);
	dlv_seed(d, "reasm", seed, 5);
	dlv_tab_init(&r->index, dlv_carve(mem, dlv_tab_mem(r->nslots, sizeof(struct dlv_rkey))),
		     r->nslots, sizeof(struct dlv_rkey), seed);
	dlv_seed(d, "sources", seed, 5);
	dlv_tab_init(&r->sources, dlv_carve(mem, dlv_tab_mem(r->nslots, sizeof(struct dlv_skey))),
		     r->nslots, sizeof(struct dlv_skey), seed);
	for (uint32_t i = 0; i < r->nslots; i++) {
		r->slots[i].buf = r->arena + per * i;
		r->free[r->nfree++] = r->nslots - 1 - i;
	}
}

static enum scpp_delivery_verdict
drop(struct scpp_delivery *d, struct scpp_delivery_in *in, enum scpp_delivery_drop why)
{
	in->drop = (uint8_t)why;
	dlv_count(&d->st.drops[why]);
	return SCPP_DELIVERY_DROP;
}

/* Free a slot; its held fragments are counted under @p why unless it
 * completed (why == SCPP_DELIVERY_DROP_COUNT). */
static void
slot_free(struct scpp_delivery *d, uint32_t idx, enum scpp_delivery_drop why)
{
	struct dlv_reasm *r = &d->reasm;
	struct dlv_slot *s = &r->slots[idx];
	struct dlv_skey sk = {.ip = s->key.src_ip};
	uint32_t *n;

	if (why != SCPP_DELIVERY_DROP_COUNT)
		scpp_counter_add(&d->st.drops[why], s->held);
	dlv_gauge32(&r->frames, r->frames - s->held);
	dlv_tab_del(&r->index, &s->key);
	n = dlv_tab_find(&r->sources, &sk);
	SCPP_VERIFY(n != NULL);
	if (--*n == 0)
		dlv_tab_del(&r->sources, &sk);
	s->in_use = 0;
	r->free[r->nfree] = idx;
	dlv_gauge32(&r->nfree, r->nfree + 1);
}

void
scpp_delivery_release(struct scpp_delivery *d, int32_t slot)
{
	if (slot >= 0)
		slot_free(d, (uint32_t)slot, SCPP_DELIVERY_DROP_COUNT);
}

void
dlv_reasm_tick(struct scpp_delivery *d, uint64_t now)
{
	struct dlv_reasm *r = &d->reasm;

	if (r->nfree == r->nslots)
		return;
	for (unsigned int n = 0; n < SCAN_PER_TICK; n++) {
		struct dlv_slot *s = &r->slots[r->scan];

		if (s->in_use && (int64_t)(now - s->deadline) > 0)
			slot_free(d, r->scan, SCPP_DELIVERY_DROP_REASM_TIMEOUT);
		if (++r->scan == r->nslots)
			r->scan = 0;
	}
}

/* A new slot for @p k, or a drop reason. */
static int
slot_new(struct scpp_delivery *d, const struct dlv_rkey *k, const struct scpp_wire_hdr *h,
	 uint64_t now, uint32_t *out)
{
	struct dlv_reasm *r = &d->reasm;
	struct dlv_skey sk = {.ip = k->src_ip};
	uint32_t *n = dlv_tab_find(&r->sources, &sk), idx;
	struct dlv_slot *s;

	if (n != NULL && *n >= r->per_source)
		return SCPP_DELIVERY_DROP_REASM_QUOTA;
	if (r->nfree == 0)
		return SCPP_DELIVERY_DROP_REASM_OVERFLOW;
	idx = r->free[r->nfree - 1];
	dlv_gauge32(&r->nfree, r->nfree - 1);
	if (n != NULL)
		++*n;
	else
		dlv_tab_insert(&r->sources, &sk, 1);
	s = &r->slots[idx];
	s->key = *k;
	s->frag_count = h->frag_count;
	s->mask = 0;
	s->held = 0;
	s->bytes = 0;
	s->has_cookie = 0;
	s->kind = h->kind;
	s->deadline = now + r->timeout;
	s->in_use = 1;
	dlv_tab_insert(&r->index, k, idx);
	dlv_count(&d->st.reasm_started);
	*out = idx;
	return -1;
}

static enum scpp_delivery_verdict
rx_fragment(struct scpp_delivery *d, const struct scpp_net_meta *nm,
	    const struct scpp_wire_hdr *h, uint32_t dgram_len, uint64_t now,
	    struct scpp_delivery_in *in)
{
	struct dlv_reasm *r = &d->reasm;
	struct dlv_rkey k = {
		.src_ip = nm->peer.ip, .dst_ip = nm->peer.local_ip,
		.src_port = nm->peer.udp_port, .dst_port = nm->peer.local_udp_port,
		.session = (h->flags & SCPP_WIRE_F_SESSION) ? SCPP_DELIVERY_SESSION : 0,
		.client_id = h->client_id, .block_id = h->block_id,
	};
	uint32_t *v, idx, off, i;
	struct dlv_slot *s;
	uint8_t *dst;
	int why;

	if (SCPP_UNLIKELY(h->frag_count > r->max_frags || h->payload_len > r->frag_max))
		return drop(d, in, SCPP_DELIVERY_DROP_FRAG_LIMIT);
	v = dlv_tab_find(&r->index, &k);
	if (v != NULL) {
		idx = *v;
	} else {
		why = slot_new(d, &k, h, now, &idx);
		if (why >= 0)
			return drop(d, in, (enum scpp_delivery_drop)why);
	}
	s = &r->slots[idx];
	dst = s->buf + (size_t)h->frag_index * r->frag_max;
	if (SCPP_UNLIKELY(s->frag_count != h->frag_count || s->kind != h->kind)) {
		slot_free(d, idx, SCPP_DELIVERY_DROP_REASM_MISMATCH);
		return drop(d, in, SCPP_DELIVERY_DROP_REASM_MISMATCH);
	}
	if (s->mask & (UINT64_C(1) << h->frag_index)) {
		if (s->len[h->frag_index] == h->payload_len &&
		    memcmp(dst, h->payload, h->payload_len) == 0)
			return drop(d, in, SCPP_DELIVERY_DROP_REASM_DUP);
		slot_free(d, idx, SCPP_DELIVERY_DROP_REASM_MISMATCH);
		return drop(d, in, SCPP_DELIVERY_DROP_REASM_MISMATCH);
	}
	memcpy(dst, h->payload, h->payload_len);
	s->len[h->frag_index] = h->payload_len;
	s->mask |= UINT64_C(1) << h->frag_index;
	s->held++;
	s->bytes += dgram_len;
	s->peer = nm->peer; /* same addresses and ports for every fragment (key) */
	if (h->cookie != NULL && !s->has_cookie) {
		memcpy(s->cookie, h->cookie, SCPP_WIRE_COOKIE_LEN);
		s->has_cookie = 1;
	}
	dlv_gauge32(&r->frames, r->frames + 1);
	if (s->mask != (h->frag_count == 64 ? UINT64_MAX : (UINT64_C(1) << h->frag_count) - 1))
		return SCPP_DELIVERY_HELD;
	/* Complete: compact. Fragment i sits at i * frag_max >= off, so each
	 * move goes towards the front and never clobbers a later fragment. */
	for (i = 0, off = 0; i < s->frag_count; i++) {
		if (off != i * r->frag_max)
			memmove(s->buf + off, s->buf + (size_t)i * r->frag_max, s->len[i]);
		off += s->len[i];
	}
	scpp_counter_add(&d->st.consumed, s->held);
	dlv_count(&d->st.reasm_done);
	dlv_count(&d->st.messages);
	in->req.peer = s->peer;
	in->req.kind = s->kind;
	in->req.has_cookie = s->has_cookie;
	in->req.session = (uint8_t)s->key.session;
	in->req.rsv = 0;
	in->req.req_bytes = s->bytes;
	in->req.client_id = h->client_id;
	in->req.block_id = h->block_id;
	if (s->has_cookie)
		memcpy(in->req.cookie, s->cookie, SCPP_WIRE_COOKIE_LEN);
	in->msg = s->buf;
	in->msg_len = off;
	in->slot = (int32_t)idx;
	/* The slot's fragments are consumed now, not when it is released. */
	dlv_gauge32(&r->frames, r->frames - s->held);
	s->held = 0;
	return SCPP_DELIVERY_BLOCK;
}

/*
 * A FORWARD message (docs/PROTOCOL.md §18): the request inside becomes the
 * request, and its client the sender. 0, or -1 when it is refused.
 */
static int
fwd_unwrap(struct scpp_delivery *d, const struct scpp_net_meta *nm, struct scpp_delivery_in *in)
{
	const struct scpp_net_port *p = &d->conf.net->port[nm->peer.port];
	struct rte_ether_addr mac;
	struct scpp_wire_fwd f;

	if (scpp_wire_fwd_decode(in->msg, in->msg_len, &f) != 0)
		return -1;
	memcpy(mac.addr_bytes, f.client_mac, 6);
	/* The owner replies to this address: the rules of a sender's own
	 * (lib/net's) hold for it too. */
	if (!scpp_net_src_ok(p, f.client_ip) || f.client_port == 0 ||
	    !rte_is_unicast_ether_addr(&mac) || rte_is_zero_ether_addr(&mac))
		return -1;
	if (f.inner_kind == SCPP_WIRE_FETCH) {
		struct scpp_wire_fetch fe;

		if (scpp_wire_fetch_decode(f.msg, f.msg_len, &fe) != 0)
			return -1;
		in->owner = fe.owner;
	}
	in->fwd.hops = f.hops;
	in->fwd.origin = f.origin;
	in->fwd.from_ip = nm->peer.ip;
	in->fwd.hdr = in->msg;
	in->fwd.ext = f.ext;
	in->fwd.ext_len = f.ext_len;
	in->req.peer.mac = mac;
	in->req.peer.ip = f.client_ip;
	in->req.peer.udp_port = rte_cpu_to_be_16(f.client_port);
	in->req.kind = f.inner_kind;
	in->req.has_cookie = (f.flags & SCPP_WIRE_FWD_F_COOKIE) != 0;
	memcpy(in->req.cookie, f.cookie, SCPP_WIRE_COOKIE_LEN);
	in->req.req_bytes = f.req_bytes;
	in->msg = f.msg;
	in->msg_len = f.msg_len;
	dlv_count(&d->st.forwarded_in);
	return 0;
}

enum scpp_delivery_verdict
scpp_delivery_rx(struct scpp_delivery *d, const struct scpp_net_meta *nm, const uint8_t *dgram,
		 uint64_t now, struct scpp_delivery_in *in)
{
	struct scpp_wire_hdr h;
	int rc;

	dlv_count(&d->st.dgrams);
	in->slot = -1;
	rc = scpp_wire_hdr_decode_inline(dgram, nm->l4_len, &h);
	if (SCPP_UNLIKELY(rc != 0)) {
		int c = -rc - SCPP_E_TRUNCATED;

		/* The header codes are consecutive from E_TRUNCATED, in the
		 * order of the drop reasons; the decoder returns no other. */
		SCPP_VERIFY(c >= 0 && c <= SCPP_DELIVERY_DROP_HDR_BAD_FRAGMENT);
		return drop(d, in, (enum scpp_delivery_drop)c);
	}
	if (SCPP_UNLIKELY(h.kind != SCPP_WIRE_BLOCK && h.kind != SCPP_WIRE_FETCH &&
			  h.kind != SCPP_WIRE_FORWARD))
		return drop(d, in, SCPP_DELIVERY_DROP_NODE_KIND);
	in->fwd.hops = 0;
	if (h.kind != SCPP_WIRE_FETCH && h.frag_count > 1) {
		enum scpp_delivery_verdict v = rx_fragment(d, nm, &h, nm->l4_len, now, in);

		if (v != SCPP_DELIVERY_BLOCK || in->req.kind != SCPP_WIRE_FORWARD)
			return v;
		if (fwd_unwrap(d, nm, in) != 0) {
			dlv_count(&d->st.forward_bad);
			scpp_delivery_release(d, in->slot);
			in->slot = -1;
			in->drop = SCPP_DELIVERY_DROP_FWD_BAD;
			return SCPP_DELIVERY_DROP;
		}
		return in->req.kind == SCPP_WIRE_BLOCK ? SCPP_DELIVERY_BLOCK : SCPP_DELIVERY_FETCH;
	}
	in->req.peer = nm->peer;
	in->req.kind = h.kind;
	in->req.has_cookie = h.cookie != NULL;
	in->req.session = (h.flags & SCPP_WIRE_F_SESSION) ? SCPP_DELIVERY_SESSION : 0;
	in->req.rsv = 0;
	in->req.req_bytes = nm->l4_len;
	in->req.client_id = h.client_id;
	in->req.block_id = h.block_id;
	if (h.cookie != NULL)
		memcpy(in->req.cookie, h.cookie, SCPP_WIRE_COOKIE_LEN);
	in->msg = h.payload;
	in->msg_len = h.payload_len;
	if (h.kind == SCPP_WIRE_FORWARD) {
		if (fwd_unwrap(d, nm, in) != 0)
			return drop(d, in, SCPP_DELIVERY_DROP_FWD_BAD);
		if (in->req.kind == SCPP_WIRE_FETCH)
			dlv_count(&d->st.fetches);
		else
			dlv_count(&d->st.messages);
	} else if (h.kind == SCPP_WIRE_FETCH) {
		struct scpp_wire_fetch f;

		if (scpp_wire_fetch_decode(h.payload, h.payload_len, &f) != 0)
			return drop(d, in, SCPP_DELIVERY_DROP_FETCH_BAD);
		in->owner = f.owner;
		dlv_count(&d->st.fetches);
	} else {
		dlv_count(&d->st.messages);
	}
	dlv_count(&d->st.consumed);
	return in->req.kind == SCPP_WIRE_BLOCK ? SCPP_DELIVERY_BLOCK : SCPP_DELIVERY_FETCH;
}
