/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Carried identities, the control lcore's side (docs/SECURITY.md §9.4): a
 * worker forwarding a session's request asks for its IDENTITY (the SF
 * record with the client's chains) to be sent to the owner; an owner's
 * control lcore verifies IDENTITYs from its auth.peers against its own
 * roots, revocations and clock (lib/auth), caches the compiled authority
 * and publishes it to every worker's carried cache.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_malloc.h>
#include <sodium.h>

#include "auth_priv.h"
#include "scppd.h"

/* ---- forwarded sessions, control side (SECURITY.md §9.4) ---- */

/* Send session req->session's IDENTITY (its SF record with CHAINS) to the
 * owner, through the asking worker's tx queue. */
void
auth_ident_send(struct scppd *d, struct rte_mbuf *m)
{
	struct scppd_auth *a = d->auth;
	const struct scppd_meta *md = scppd_meta_of(m);
	struct auth_ident_req r;
	const struct auth_peer *p;
	const struct auth_live *l;
	struct scpp_auth_carried c;
	unsigned int nf;
	uint32_t slot;
	size_t max;
	int n, k;

	memcpy(&r, rte_pktmbuf_mtod(m, const uint8_t *), sizeof(r));
	slot = scpp_auth_session_slot(r.session);
	p = auth_peer_find(a, r.owner);
	if (p == NULL || slot >= a->capacity || a->live[slot].id != r.session ||
	    a->live[slot].chains == NULL) {
		cnt(&a->c.ident_unsendable);
		return;
	}
	l = &a->live[slot];
	memset(&c, 0, sizeof(c));
	c.flags = SCPP_AUTH_CF_CHAINS;
	memcpy(c.principal, l->principal, SCPP_AUTH_KEY_LEN);
	memcpy(c.digest, l->digest, SCPP_AUTH_ID_LEN);
	c.origin_node = d->cfg.node.id;
	c.origin_session = r.session;
	c.not_after_ns = l->expires_ns;
	c.nchains = l->nchains;
	c.chains = l->chains;
	c.chains_len = l->chains_len;
	n = scpp_auth_carried_encode(&c, a->sf_buf, AUTH_SF_MAX);
	/* As many datagrams of the owner's path as the record needs (at most
	 * 16; SECURITY.md §9.4 item 3), each MAC'd on its own. */
	max = scpp_net_udp_max(&d->net, r.to.port);
	nf = n > 0 ? scpp_auth_identity_frags((size_t)n, max) : 0;
	if (nf == 0) {
		cnt(&a->c.ident_unsendable);
		return;
	}
	if (nf > 1 && ++a->ident_msg == 0)
		a->ident_msg = 1;
	for (unsigned int i = 0; i < nf; i++) {
		k = scpp_auth_identity_seal_frag(p->key, d->cfg.node.id, r.owner, a->ident_msg,
						 a->sf_buf, (size_t)n, i, max, a->sf_buf + AUTH_SF_MAX,
						 AUTH_SF_MAX);
		if (k <= 0) {
			cnt(&a->c.ident_unsendable);
			return;
		}
		cnt(&a->c.ident_frags_sent);
		auth_send_via(d, md->from, &r.to, a->sf_buf + AUTH_SF_MAX, (uint16_t)k);
	}
	cnt(&a->c.ident_sent);
}

/* Tell every worker about carried slot @p i (cleared when not_after is 0). */
void
auth_carried_publish(struct scppd *d, uint32_t i)
{
	struct scppd_auth *a = d->auth;
	uint8_t msg[sizeof(uint32_t) + sizeof(struct scppd_carried)];
	struct scppd_carried c;

	memset(&c, 0, sizeof(c));
	memcpy(c.principal, a->carried[i].principal, SCPP_AUTH_KEY_LEN);
	memcpy(c.digest, a->carried[i].digest, SCPP_AUTH_ID_LEN);
	c.not_after_ns = a->carried[i].not_after_ns;
	c.authority = a->carried[i].authority;
	memcpy(msg, &i, sizeof(i));
	memcpy(msg + sizeof(i), &c, sizeof(c));
	for (unsigned int k = 0; k < d->nb_workers; k++) {
		struct rte_mbuf *m = c.not_after_ns != 0
			? auth_ctl_mbuf(d, SCPPD_AUTH_CARRY, msg, sizeof(msg))
			: auth_ctl_mbuf(d, SCPPD_AUTH_UNCARRY, &i, sizeof(i));

		if (m == NULL || !auth_to_worker(d, k, m))
			cnt(&a->c.install_failed);
	}
}

void
auth_carried_drop(struct scppd *d, uint32_t i)
{
	struct scppd_auth *a = d->auth;
	struct scpp_auth_authority *au = a->carried[i].authority;

	memset(&a->carried[i], 0, sizeof(a->carried[i]));
	auth_carried_publish(d, i);
	auth_retire_later(d, au);
}

static void ident_accept(struct scppd *d, const struct auth_peer *p, uint32_t from,
			 const uint8_t *sf, size_t sf_len, uint64_t now);

/* An IDENTITY datagram from a peer: from the address the map gives it, its
 * MAC under the pair's key; a record of several datagrams is reassembled
 * (bounded: AUTH_IDENT_REASM_SLOTS records of at most
 * SCPP_AUTH_IDENTITY_SF_MAX bytes, 16 datagrams, AUTH_REASM_NS). */
void
auth_ident_in(struct scppd *d, const struct scppd_meta *md, const uint8_t *dg, size_t len, uint64_t now)
{
	struct scppd_auth *a = d->auth;
	struct scpp_auth_identity_frag f;
	const struct auth_peer *p;
	const uint8_t *sf;
	size_t sf_len;
	uint32_t from = 0;
	int rc;

	cnt(&a->c.ident_frags_in);
	if (scpp_auth_identity_peek(dg, len, &from) != 0 || (p = auth_peer_find(a, from)) == NULL ||
	    scppd_forward_peer_id(md->nm.peer.ip) != from ||
	    scpp_auth_identity_open_frag(dg, len, p->key, d->cfg.node.id, &f) != 0) {
		cnt(&a->c.ident_in);
		cnt(&a->c.ident_bad);
		return;
	}
	if (f.count == 1) {
		cnt(&a->c.ident_in);
		ident_accept(d, p, from, f.piece, f.piece_len, now);
		return;
	}
	rc = scpp_auth_reasm_add(a->ident_reasm, from, f.msg_id, f.index, f.count, f.piece,
				 f.piece_len, now, &sf, &sf_len);
	if (rc == 1) {
		cnt(&a->c.ident_in);
		cnt(&a->c.ident_reasm_done);
		ident_accept(d, p, from, sf, sf_len, now);
	} else if (rc < 0 && rc != -EALREADY) {
		cnt(&a->c.ident_reasm_dropped);
	}
}

/* An IDENTITY's record: the chains against this node's own roots,
 * revocations and clock, then the carried cache. */
static void
ident_accept(struct scppd *d, const struct auth_peer *p, uint32_t from, const uint8_t *sf,
	     size_t sf_len, uint64_t now)
{
	struct scppd_auth *a = d->auth;
	struct scpp_auth_carried_authority ca;
	struct scpp_auth_carried c;
	struct scpp_auth_fault f;
	uint32_t off = 0, slot = AUTH_CARRIED_MAX, soonest = 0;
	int rc;

	if (scpp_auth_carried_decode(sf, sf_len, &c, NULL, &off) != 0 || c.origin_node != from ||
	    (c.flags & SCPP_AUTH_CF_RESTRICTED)) {
		/* Restrictions come with continuations; an IDENTITY with one is
		 * refused rather than half-applied. */
		cnt(&a->c.ident_bad);
		return;
	}
	for (uint32_t i = 0; i < AUTH_CARRIED_MAX; i++) {
		if (a->carried[i].not_after_ns != 0 &&
		    memcmp(a->carried[i].principal, c.principal, SCPP_AUTH_KEY_LEN) == 0 &&
		    memcmp(a->carried[i].digest, c.digest, SCPP_AUTH_ID_LEN) == 0) {
			if (c.not_after_ns <= a->carried[i].not_after_ns) {
				cnt(&a->c.ident_known);
				return;
			}
			slot = i; /* a later session of the same chains: verified again */
			break;
		}
	}
	scpp_auth_fault_clear(&f);
	rc = scpp_auth_carried_accept(&c, &a->owner, p->pk, now, &ca, &f);
	if (rc != 0) {
		char why[256];

		cnt(&a->c.ident_refused);
		scpp_auth_fault_format(why, sizeof(why), rc, &f);
		SCPPD_LOG(INFO, "auth: carried identity from node %u refused: %s", from, why);
		return;
	}
	if (ca.restrictions != NULL) {
		scpp_auth_carried_authority_free(&ca);
		cnt(&a->c.ident_bad);
		return;
	}
	for (uint32_t i = 0; slot == AUTH_CARRIED_MAX && i < AUTH_CARRIED_MAX; i++) {
		if (a->carried[i].not_after_ns == 0)
			slot = i;
		else if (a->carried[i].not_after_ns < a->carried[soonest].not_after_ns)
			soonest = i;
	}
	if (slot == AUTH_CARRIED_MAX) {
		cnt(&a->c.ident_evicted);
		slot = soonest;
	}
	if (a->carried[slot].not_after_ns != 0)
		auth_carried_drop(d, slot);
	memcpy(a->carried[slot].principal, c.principal, SCPP_AUTH_KEY_LEN);
	memcpy(a->carried[slot].digest, c.digest, SCPP_AUTH_ID_LEN);
	a->carried[slot].not_after_ns = c.not_after_ns;
	if (scpp_auth_authority_expires(ca.authority) < c.not_after_ns)
		a->carried[slot].not_after_ns = scpp_auth_authority_expires(ca.authority);
	a->carried[slot].authority = ca.authority;
	auth_carried_publish(d, slot);
	cnt(&a->c.ident_accepted);
}
