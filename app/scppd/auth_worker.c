/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The session layer on the workers (docs/SECURITY.md §6, §9.4, §12):
 * every session datagram verified on its lane's table (lib/auth) before
 * anything else reads it, the control lcore's installs and closes applied,
 * the expiry sweep, replies sealed on the worker's lane (or a forwarded
 * session's delegated lane), forwarded requests and continuations carrying
 * the client's principal, and carried ones checked on the owner.
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

/* ---- worker ---- */

/*
 * A BLOCK or FETCH of a session this node does not have (it restarted, or
 * the session ended): a REJECT naming why (SECURITY.md §6.4), so that the
 * client opens a new session instead of retrying into silence. Smaller
 * than what it answers (52 bytes for at least 56), and rate-limited per
 * source like other error answers.
 */

/* A datagram for the control lcore, which is woken for it. */
static int
control_enqueue(struct rte_mbuf *m)
{
	int rc = rte_ring_mp_enqueue(scppd_g.auth->in, m);

	if (rc == 0)
		scppd_control_wake();
	return rc;
}

static void
no_session_answer(struct scppd_worker *w, const uint8_t *dg, const struct scpp_net_meta *nm,
		  int code)
{
	const struct scppd *d = &scppd_g;
	uint64_t session, block;
	struct rte_mbuf *m;
	uint8_t *frame, *out;
	uint64_t ol;
	int n;

	if (!scpp_delivery_error_allowed(w->dlv, nm->peer.ip, w->now))
		return;
	memcpy(&session, dg + 8, sizeof(session));
	memcpy(&block, dg + 16, sizeof(block));
	session = rte_le_to_cpu_64(session);
	block = rte_le_to_cpu_64(block);
	m = rte_pktmbuf_alloc(d->ports[nm->peer.port].pool);
	if (m == NULL)
		return;
	frame = rte_pktmbuf_mtod(m, uint8_t *);
	out = scpp_net_udp_build(&d->net, &nm->peer, frame, SCPP_WIRE_HDR_LEN + SCPP_AUTH_REJECT_LEN);
	n = scpp_auth_session_reject(out, SCPP_WIRE_HDR_LEN + SCPP_AUTH_REJECT_LEN, session, block,
				     code);
	if (n <= 0) {
		rte_pktmbuf_free(m);
		return;
	}
	scpp_net_udp_finish(&d->net, nm->peer.port, frame);
	m->data_len = (uint16_t)(SCPP_NET_L2L4_LEN + (unsigned int)n);
	m->pkt_len = m->data_len;
	ol = scpp_net_tx_offload_flags(&d->net, nm->peer.port);
	m->ol_flags = ol;
	if (ol != 0) {
		m->l2_len = RTE_ETHER_HDR_LEN;
		m->l3_len = sizeof(struct rte_ipv4_hdr);
	}
	if (rte_eth_tx_burst(d->ports[nm->peer.port].port_id, w->txq[nm->peer.port], &m, 1) != 1) {
		rte_pktmbuf_free(m);
		return;
	}
	scpp_counter_add(&w->stats.auth_no_session_answered, 1);
}

enum scppd_auth_rx
scppd_auth_rx(struct scppd_worker *w, struct rte_mbuf *m, const struct scpp_net_meta *nm,
	      uint8_t *sess, bool handed)
{
	const uint8_t *dg = rte_pktmbuf_mtod_offset(m, const uint8_t *, nm->l4_off);
	struct scpp_auth_verdict v;
	struct scppd_meta *md;
	uint8_t kind, flags;
	int rc;

	*sess = 0;
	if (unlikely(nm->l4_len < SCPP_WIRE_HDR_LEN || dg[0] != SCPP_WIRE_MAGIC0))
		return SCPPD_AUTH_PASS; /* lib/delivery says what is wrong */
	kind = dg[3];
	flags = dg[4];
	if (likely(kind < SCPP_WIRE_AUTH_KIND_FIRST && !(flags & SCPP_WIRE_F_SESSION)))
		return SCPPD_AUTH_PASS;
	if (w->auth == NULL) {
		scpp_counter_add(&w->stats.auth_off_drop, 1);
		return SCPPD_AUTH_DROPPED;
	}
	if ((kind >= SCPP_AUTH_KIND_HELLO && kind <= SCPP_AUTH_KIND_REJECT) ||
	    (kind == SCPP_AUTH_KIND_IDENTITY && !(flags & SCPP_WIRE_F_SESSION))) {
		md = scppd_meta_of(m);
		md->auth = SCPPD_AUTH_HS;
		md->from = w->idx;
		md->nm = *nm;
		if (control_enqueue(m) != 0) {
			scpp_counter_add(&w->stats.auth_hs_full, 1);
			return SCPPD_AUTH_DROPPED;
		}
		scpp_counter_add(&w->stats.auth_hs, 1);
		return SCPPD_AUTH_TAKEN;
	}
	rc = scpp_auth_verify(w->auth, dg, nm->l4_len, w->now_ns, &v);
	if (unlikely(rc != 0)) {
		if (rc == -SCPP_AUTH_E_WRONG_LANE && !handed && v.lane < scppd_g.nb_workers) {
			scpp_counter_add(&w->stats.auth_wrong_lane, 1);
			md = scppd_meta_of(m);
			md->auth = SCPPD_AUTH_RAW;
			md->from = w->idx;
			md->nm = *nm;
			if (rte_ring_sp_enqueue(w->out[v.lane], m) != 0)
				return SCPPD_AUTH_DROPPED;
			return SCPPD_AUTH_TAKEN;
		}
		scpp_counter_add(&w->stats.auth_rejected, 1);
		if ((rc == -SCPP_AUTH_E_NO_SESSION || rc == -SCPP_AUTH_E_SESSION_EXPIRED) &&
		    (kind == SCPP_WIRE_BLOCK || kind == SCPP_WIRE_FETCH))
			no_session_answer(w, dg, nm, rc);
		return SCPPD_AUTH_DROPPED;
	}
	if (unlikely(kind == SCPP_AUTH_KIND_CLOSE)) {
		struct rte_mbuf *c;

		scpp_counter_add(&w->stats.auth_close, 1);
		c = rte_pktmbuf_alloc(scppd_g.ports[nm->peer.port].pool);
		if (c != NULL) {
			memcpy(rte_pktmbuf_append(c, sizeof(v.session)), &v.session,
			       sizeof(v.session));
			md = scppd_meta_of(c);
			md->auth = SCPPD_AUTH_CLOSED;
			md->from = w->idx;
			md->nm = *nm;
			md->nm.l4_off = 0;
			md->nm.l4_len = sizeof(v.session);
			if (control_enqueue(c) != 0)
				rte_pktmbuf_free(c);
		}
		return SCPPD_AUTH_DROPPED;
	}
	if (unlikely(kind >= SCPP_WIRE_AUTH_KIND_FIRST)) {
		scpp_counter_add(&w->stats.auth_rejected, 1); /* 14, 15: reserved */
		return SCPPD_AUTH_DROPPED;
	}
	*sess = SCPP_DELIVERY_SESSION;
	if (w->sess_ip[v.slot] == nm->peer.ip && w->sess_port[v.slot] == nm->peer.udp_port)
		*sess |= SCPP_DELIVERY_PROVEN;
	return SCPPD_AUTH_PASS;
}

unsigned int
scppd_auth_poll(struct scppd_worker *w)
{
	struct rte_mbuf *ms[SCPPD_BURST];
	unsigned int n, i;

	if (w->auth == NULL)
		return 0;
	n = rte_ring_sc_dequeue_burst(w->ctl, (void **)ms, SCPPD_BURST, NULL);
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = ms[i];
		const struct scppd_meta *md = scppd_meta_of(m);
		const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);

		switch (md->auth) {
		case SCPPD_AUTH_INSTALL: {
			struct auth_install in;
			struct scpp_auth_session_params sp;
			struct scppd_sess_x *x;
			uint32_t ip, slot;
			uint16_t port;

			memcpy(&in, p, sizeof(in));
			sp = in.p;
			ip = in.ip;
			port = in.port;
			slot = scpp_auth_session_slot(sp.id);
			x = &w->sess_x[slot];
			x->id = sp.id;
			x->nchains = in.nchains;
			memcpy(x->principal, sp.principal, SCPP_AUTH_KEY_LEN);
			memcpy(x->digest, in.digest, SCPP_AUTH_ID_LEN);
			memcpy(x->k_n2c, sp.k_n2c, SCPP_AUTH_KEY_LEN);
			sodium_memzero(&in, sizeof(in));
			/* A slot still held (its close queued behind) is freed first. */
			if (scpp_auth_table_install(w->auth, &sp) == -EEXIST) {
				(void)scpp_auth_table_close(w->auth, sp.id);
				(void)scpp_auth_table_install(w->auth, &sp);
			}
			w->sess_ip[slot] = ip;
			w->sess_port[slot] = port;
			sodium_memzero(&sp, sizeof(sp));
			memset(rte_pktmbuf_mtod(m, uint8_t *), 0, m->data_len);
			rte_pktmbuf_free(m);
			break;
		}
		case SCPPD_AUTH_CLOSE: {
			uint64_t id;

			memcpy(&id, p, sizeof(id));
			if (scpp_auth_table_close(w->auth, id) == 0) {
				w->sess_ip[scpp_auth_session_slot(id)] = 0;
				w->sess_port[scpp_auth_session_slot(id)] = 0;
			}
			if (w->sess_x[scpp_auth_session_slot(id)].id == id)
				sodium_memzero(&w->sess_x[scpp_auth_session_slot(id)],
					       sizeof(*w->sess_x));
			rte_pktmbuf_free(m);
			break;
		}
		case SCPPD_AUTH_CARRY: {
			struct scppd_carried c;
			uint32_t slot;

			memcpy(&slot, p, sizeof(slot));
			memcpy(&c, p + sizeof(slot), sizeof(c));
			if (slot < AUTH_CARRIED_MAX)
				w->carried[slot] = c;
			rte_pktmbuf_free(m);
			break;
		}
		case SCPPD_AUTH_UNCARRY: {
			uint32_t slot;

			memcpy(&slot, p, sizeof(slot));
			if (slot < AUTH_CARRIED_MAX)
				memset(&w->carried[slot], 0, sizeof(w->carried[slot]));
			rte_pktmbuf_free(m);
			break;
		}
		case SCPPD_AUTH_SEND: {
			uint16_t pi = md->nm.peer.port;

			if (rte_eth_tx_burst(scppd_g.ports[pi].port_id, w->txq[pi], &m, 1) != 1)
				rte_pktmbuf_free(m);
			break;
		}
		default:
			rte_pktmbuf_free(m);
			break;
		}
	}
	n += scpp_auth_table_expire(w->auth, w->now_ns, &w->auth_cursor, AUTH_SWEEP, NULL) != 0;
	return n;
}

/* ---- forwarded sessions, worker side (SECURITY.md §9.4) ---- */

/* Keep the reply key of carried request @p c (lib/auth's table: the same
 * session's entry, else a free or expired one, else the one ending first). */
static void
dlg_note(struct scppd_worker *w, const struct scppd_carry *c)
{
	scpp_auth_dlg_note(w->dlg, c->session, c->not_after_ns, c->reply_key, w->now_ns);
}

void
scppd_auth_carry_note(struct scppd_worker *w)
{
	if (w->carry != NULL)
		dlg_note(w, w->carry);
}

int
scppd_auth_seal(void *ctx, uint64_t session, uint8_t *dgram, size_t len)
{
	struct scppd_worker *w = ctx;

	if (unlikely(scpp_auth_dlg_any(w->dlg))) {
		const struct scpp_auth_dlg *e = scpp_auth_dlg_find(w->dlg, session);

		if (e != NULL) {
			if (w->now_ns >= e->not_after_ns)
				return -SCPP_AUTH_E_NO_SESSION;
			scpp_counter_add(&w->stats.carried_sealed, 1);
			return scpp_auth_seal_delegated(e->key, session,
							scpp_auth_delegated_lane(scppd_g.cfg.node.id,
										 w->idx),
							w->dlg_counter++, dgram, len);
		}
	}
	return scpp_auth_seal(w->auth, scpp_auth_session_slot(session), dgram, len);
}

int
scppd_auth_fwd_prepare(struct scppd_worker *w, const struct scpp_delivery_req *req,
		       uint32_t owner, struct scpp_auth_fwd_principal *fp, const uint8_t **key)
{
	uint32_t slot = scpp_auth_session_slot(req->client_id);
	const struct auth_peer *p = auth_peer_find(scppd_g.auth, owner);
	const struct scppd_sess_x *x;
	const struct scpp_auth_authority *au;
	uint64_t hop_end;

	/* A request carried here is not carried further (one hop). */
	if (w->auth == NULL || (req->session & SCPP_DELIVERY_CARRIED) || p == NULL ||
	    slot >= scppd_g.auth->capacity)
		goto refused;
	x = &w->sess_x[slot];
	au = scpp_auth_table_authority(w->auth, req->client_id, w->now_ns);
	/* A root principal (no chains) has no record to carry. */
	if (au == NULL || x->id != req->client_id || x->nchains == 0)
		goto refused;
	memset(fp, 0, sizeof(*fp));
	memcpy(fp->principal, x->principal, SCPP_AUTH_KEY_LEN);
	memcpy(fp->digest, x->digest, SCPP_AUTH_ID_LEN);
	fp->session = req->client_id;
	hop_end = w->now_ns + AUTH_HOP_LIFETIME_NS;
	fp->not_after_ns = RTE_MIN(scpp_auth_authority_expires(au), hop_end);
	fp->flags = (req->session & SCPP_DELIVERY_PROVEN) ? SCPP_AUTH_FWD_F_PROVEN : 0;
	scpp_auth_delegated_key(x->k_n2c, owner, fp->reply_key);
	*key = p->key;
	scpp_counter_add(&w->stats.auth_fwd_sealed, 1);
	return 0;
refused:
	scpp_counter_add(&w->stats.auth_fwd_refused, 1);
	return -EACCES;
}

bool
scppd_auth_ident_push(struct scppd_worker *w, uint64_t session, uint32_t owner,
		      const struct scpp_net_peer *to)
{
	uint32_t h = (uint32_t)(((session ^ owner) * UINT64_C(0x9e3779b97f4a7c15)) >> 40) %
		     AUTH_IDENT_RECENT;
	uint64_t *e = &w->ident_recent[h * 3];
	struct auth_ident_req r;
	struct rte_mbuf *m;
	struct scppd_meta *md;

	if (e[0] == session && e[1] == owner && w->now_ns - e[2] < AUTH_IDENT_EVERY_NS)
		return false;
	m = rte_pktmbuf_alloc(scppd_g.ports[to->port].pool);
	if (m == NULL)
		return false;
	memset(&r, 0, sizeof(r));
	r.session = session;
	r.owner = owner;
	r.to = *to;
	memcpy(rte_pktmbuf_append(m, sizeof(r)), &r, sizeof(r));
	md = scppd_meta_of(m);
	md->auth = SCPPD_AUTH_IDENT_PUSH;
	md->from = w->idx;
	md->nm.l4_off = 0;
	md->nm.l4_len = sizeof(r);
	if (control_enqueue(m) != 0) {
		rte_pktmbuf_free(m);
		return false;
	}
	e[0] = session;
	e[1] = owner;
	e[2] = w->now_ns;
	scpp_counter_add(&w->stats.auth_ident_push, 1);
	return true;
}

int
scppd_auth_fwd_in(struct scppd_worker *w, struct scpp_delivery_in *in, struct scppd_carry *c)
{
	struct scpp_auth_fwd_principal fp;
	const struct auth_peer *p;
	const uint8_t *ext;
	uint8_t elen = 0;

	if (w->auth == NULL)
		return 0; /* auth.mode off: nothing is checked, nothing carried */
	ext = scpp_wire_fwd_ext_find(in->fwd.ext, in->fwd.ext_len, SCPP_WIRE_FWD_EXT_PRINCIPAL,
				     &elen);
	if (ext == NULL)
		return 0;
	p = auth_peer_find(scppd_g.auth, scppd_forward_peer_id(in->fwd.from_ip));
	if (p == NULL) {
		scpp_counter_add(&w->stats.carried_no_key, 1);
		return -EACCES;
	}
	if (scpp_auth_fwd_principal_open(ext, elen, p->key, in->fwd.hdr, SCPP_WIRE_FWD_HDR_LEN,
					 in->msg, in->msg_len, &fp) != 0 ||
	    fp.session != in->req.client_id || (fp.flags & SCPP_AUTH_FWD_F_RESTRICTED)) {
		/* RESTRICTED: a CONT's extension, never a FORWARD's. */
		sodium_memzero(&fp, sizeof(fp));
		scpp_counter_add(&w->stats.carried_bad, 1);
		return -EBADMSG;
	}
	if (w->now_ns >= fp.not_after_ns) {
		sodium_memzero(&fp, sizeof(fp));
		scpp_counter_add(&w->stats.carried_expired, 1);
		return -ETIMEDOUT;
	}
	memcpy(c->principal, fp.principal, SCPP_AUTH_KEY_LEN);
	memcpy(c->digest, fp.digest, SCPP_AUTH_ID_LEN);
	memcpy(c->reply_key, fp.reply_key, SCPP_AUTH_KEY_LEN);
	c->session = fp.session;
	c->not_after_ns = fp.not_after_ns;
	c->peer = p->id;
	in->req.session = SCPP_DELIVERY_SESSION | SCPP_DELIVERY_CARRIED |
			  ((fp.flags & SCPP_AUTH_FWD_F_PROVEN) ? SCPP_DELIVERY_PROVEN : 0);
	sodium_memzero(&fp, sizeof(fp));
	/* Whatever is sent for it from here (E_NOT_HERE too) is sealed. */
	dlg_note(w, c);
	scpp_counter_add(&w->stats.carried_in, 1);
	return 1;
}

/* The cached authority of (principal, digest), as this node verified its
 * chains against its own trust, or NULL. */
static const struct scpp_auth_authority *
carried_find(const struct scppd_worker *w, const uint8_t *principal, const uint8_t *digest)
{
	for (unsigned int i = 0; i < AUTH_CARRIED_MAX; i++) {
		const struct scppd_carried *e = &w->carried[i];

		if (e->not_after_ns > w->now_ns &&
		    memcmp(e->digest, digest, SCPP_AUTH_ID_LEN) == 0 &&
		    memcmp(e->principal, principal, SCPP_AUTH_KEY_LEN) == 0)
			return e->authority;
	}
	return NULL;
}

/* The authority of carried request w->carry: the principal's, as this node
 * verified its chains (never the forwarder's), or NULL. */
const struct scpp_auth_authority *
scppd_auth_carried(struct scppd_worker *w, const struct scpp_delivery_req *req)
{
	const struct scppd_carry *c = w->carry;
	const struct scpp_auth_authority *au;

	if (c == NULL || c->session != req->client_id || w->now_ns >= c->not_after_ns)
		return NULL;
	dlg_note(w, c);
	au = carried_find(w, c->principal, c->digest);
	scpp_counter_add(au != NULL ? &w->stats.carried_blocks : &w->stats.carried_miss, 1);
	return au;
}

/* ---- continuations of session blocks (SECURITY.md §9.4 item 9) ---- */

/* Extension 1 sits first in a CONT's extension area when present. */
#define CONT_EXT1_OFF (SCPP_WIRE_CONT_HDR_LEN + 2)
#define CONT_AFTER_EXT1 (CONT_EXT1_OFF + SCPP_AUTH_FWD_PRINCIPAL_LEN)

static void
auth_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

/* The key extension 1 to or from node @p node is sealed with: the pair's,
 * or this node's own for its other shards; NULL: none. */
static const uint8_t *
cont_key(uint32_t node)
{
	const struct auth_peer *p;

	if (node == scppd_g.cfg.node.id)
		return scppd_g.auth->self_key;
	p = auth_peer_find(scppd_g.auth, node);
	return p != NULL ? p->key : NULL;
}

/* The CONT_REPLY key of continuation @p cont_id to @p owner (lib/auth). */
static void
cont_reply_key(uint64_t cont_id, uint32_t owner, uint8_t k_r[SCPP_AUTH_KEY_LEN])
{
	scpp_auth_cont_reply_key(scppd_g.auth->cont_secret, cont_id, owner, k_r);
}

int
scppd_auth_cont_seal(struct scppd_worker *w, uint64_t session, uint32_t owner, uint64_t cont_id,
		     uint8_t *msg, uint32_t len)
{
	uint32_t slot = scpp_auth_session_slot(session);
	struct scpp_auth_fwd_principal fp;
	const struct scppd_sess_x *x;
	const struct scpp_auth_authority *au;
	const uint8_t *key = w->auth != NULL ? cont_key(owner) : NULL;
	uint8_t nonce[24];
	int rc;

	if (key == NULL || slot >= scppd_g.auth->capacity || len < CONT_AFTER_EXT1 ||
	    msg[SCPP_WIRE_CONT_HDR_LEN] != SCPP_WIRE_CONT_EXT_PRINCIPAL ||
	    msg[SCPP_WIRE_CONT_HDR_LEN + 1] != SCPP_AUTH_FWD_PRINCIPAL_LEN)
		goto refused;
	x = &w->sess_x[slot];
	au = scpp_auth_table_authority(w->auth, session, w->now_ns);
	/* A peer verifies the principal from its chains: a root principal
	 * (none) has nothing to carry; this node's other shards need none. */
	if (au == NULL || x->id != session || (x->nchains == 0 && owner != scppd_g.cfg.node.id))
		goto refused;
	memset(&fp, 0, sizeof(fp));
	memcpy(fp.principal, x->principal, SCPP_AUTH_KEY_LEN);
	memcpy(fp.digest, x->digest, SCPP_AUTH_ID_LEN);
	fp.session = session;
	fp.not_after_ns = RTE_MIN(scpp_auth_authority_expires(au), w->now_ns + AUTH_HOP_LIFETIME_NS);
	fp.flags = SCPP_AUTH_FWD_F_RESTRICTED;
	cont_reply_key(cont_id, owner, fp.reply_key);
	memcpy(nonce, scppd_g.auth->cont_nonce, sizeof(scppd_g.auth->cont_nonce));
	auth_le64(nonce + 16, cont_id);
	/* The MAC covers the 52-byte header (ext_len counting the extension),
	 * and every byte after extension 1: other extensions, block, rows. */
	rc = scpp_auth_fwd_principal_seal(&fp, key, msg, SCPP_WIRE_CONT_HDR_LEN,
					  msg + CONT_AFTER_EXT1, len - CONT_AFTER_EXT1, nonce,
					  msg + CONT_EXT1_OFF, SCPP_AUTH_FWD_PRINCIPAL_LEN);
	sodium_memzero(&fp, sizeof(fp));
	if (rc < 0)
		goto refused;
	scpp_counter_add(&w->stats.cont_sealed, 1);
	return 0;
refused:
	scpp_counter_add(&w->stats.auth_fwd_refused, 1);
	return -EACCES;
}

long
scppd_auth_cont_reply_open(struct scppd_worker *w, uint64_t cont_id, uint32_t owner,
			   const uint8_t *msg, uint32_t len)
{
	uint8_t k_r[SCPP_AUTH_KEY_LEN];
	long n;

	if (w->auth == NULL)
		return -SCPP_AUTH_E_BAD_MAC;
	cont_reply_key(cont_id, owner, k_r);
	n = scpp_auth_cont_reply_open(k_r, msg, len);
	sodium_memzero(k_r, sizeof(k_r));
	if (n < 0)
		scpp_counter_add(&w->stats.cont_reply_bad, 1);
	return n;
}

int
scppd_auth_cont_in(struct scppd_worker *w, uint32_t sender, bool self, const uint8_t *msg,
		   uint32_t len, const struct scpp_wire_cont *c,
		   const struct scpp_auth_authority **au, uint8_t k_r[SCPP_AUTH_KEY_LEN])
{
	struct scpp_auth_fwd_principal fp;
	const uint8_t *ext, *key;
	uint8_t elen = 0;
	int rc = 0;

	*au = NULL;
	ext = scpp_wire_fwd_ext_find(c->ext, c->ext_len, SCPP_WIRE_CONT_EXT_PRINCIPAL, &elen);
	if (w->auth == NULL)
		return ext == NULL ? 0 : -EPROTONOSUPPORT; /* off: it cannot be answered */
	if (ext == NULL) {
		if (scppd_g.cfg.auth.mode != SCPP_CONFIG_AUTH_REQUIRED)
			return 0; /* optional: as an unauthenticated block */
		scpp_counter_add(&w->stats.cont_no_principal, 1);
		return -EACCES;
	}
	key = cont_key(sender);
	if (key == NULL || (!self && sender == scppd_g.cfg.node.id)) {
		scpp_counter_add(&w->stats.carried_no_key, 1);
		return -ENOKEY;
	}
	/* First in the area (the MAC's coverage is defined from its end). */
	if (ext != msg + CONT_EXT1_OFF ||
	    scpp_auth_fwd_principal_open(ext, elen, key, msg, SCPP_WIRE_CONT_HDR_LEN,
					 msg + CONT_AFTER_EXT1, len - CONT_AFTER_EXT1, &fp) != 0 ||
	    !(fp.flags & SCPP_AUTH_FWD_F_RESTRICTED) || fp.session != c->client_id) {
		sodium_memzero(&fp, sizeof(fp));
		scpp_counter_add(&w->stats.carried_bad, 1);
		return -EBADMSG;
	}
	memcpy(k_r, fp.reply_key, SCPP_AUTH_KEY_LEN);
	if (w->now_ns >= fp.not_after_ns) {
		scpp_counter_add(&w->stats.carried_expired, 1);
		rc = -ETIMEDOUT;
	} else if (self) {
		/* This node verified the session itself: its own table. */
		*au = scpp_auth_table_authority(w->auth, fp.session, w->now_ns);
		if (*au == NULL)
			rc = -ENOTCONN;
	} else {
		*au = carried_find(w, fp.principal, fp.digest);
		if (*au == NULL) {
			scpp_counter_add(&w->stats.carried_miss, 1);
			rc = -EAGAIN;
		}
	}
	sodium_memzero(&fp, sizeof(fp));
	if (rc == 0)
		scpp_counter_add(&w->stats.cont_carried, 1);
	return rc == 0 ? 1 : rc;
}
