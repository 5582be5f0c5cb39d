/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The session layer in the daemon (docs/SECURITY.md §12), wired around
 * lib/auth:
 *
 *   worker rx: lib/net -> scppd_auth_rx():
 *     kinds 8..12 (handshake)       -> the control lcore's ring (bounded)
 *     flag SESSION                   -> scpp_auth_verify() on this worker's table:
 *        WRONG_LANE                  -> raw to the lane's worker (it verifies)
 *        failure                     -> dropped, counted (never answered)
 *        CLOSE (kind 13)             -> the control lcore (close everywhere)
 *        else                        -> lib/delivery, req.session set
 *                                       (+ PROVEN from the handshake's address)
 *   control lcore: scppd_auth_tick(): HELLO -> CHALLENGE, FINISH (reassembled)
 *     -> ACCEPT/REJECT; installs and closes go to every worker through its
 *     own FIFO (the ctl ring), and so do the answers' frames, which the
 *     receiving worker transmits on its tx queue; the epoch rotates; due()
 *     closes expired and revoked sessions; authorities are freed after an
 *     RCU grace period.
 *   worker tx: lib/delivery seals each datagram of a session's responses
 *     with scppd_auth_seal() (scpp_auth_seal() on the sending worker's lane).
 *
 * This file: start-up (keys, roots, peers, revocations, the workers' tables),
 * the control lcore and telemetry; auth_ident.c: carried identities (control
 * side); auth_worker.c: the workers' side. What they share: auth_priv.h.
 *
 * The node key lives in auth.node_key (default node.state_dir/node.key);
 * it is generated at first start, like an SSH host key, and is always a
 * root of trust: the operator (who can read it) holds every right, and
 * issues grants with it (scpp grant issue --key).
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_telemetry.h>
#include <sodium.h>

#include "auth_priv.h"
#include "scppd.h"

/* ---- start-up: keys, roots, revocations ---- */

/* The node key: load it, or generate and save it at first start. */
static void
node_key_load(struct scppd *d, struct scppd_auth *a)
{
	const struct scpp_config_auth *ac = &d->cfg.auth;
	struct scpp_auth_fault f;
	bool created;
	char msg[256];
	int rc;

	if (ac->node_key[0] != '\0')
		snprintf(a->key_path, sizeof(a->key_path), "%s", ac->node_key);
	else
		snprintf(a->key_path, sizeof(a->key_path), "%s/node.key", d->cfg.node.state_dir);
	rc = scpp_auth_node_key_open(a->key_path, d->cfg.node.state_dir, d->cfg.node.name, &a->node,
				     &created, &f);
	if (rc != 0) {
		scpp_auth_fault_format(msg, sizeof(msg), rc, &f);
		rte_exit(EXIT_FAILURE, "scppd: auth: node key %s: %s\n", a->key_path, msg);
	}
	if (created)
		SCPPD_LOG(NOTICE, "auth: generated node key %s (first start)", a->key_path);
}

static void
roots_load(struct scppd *d, struct scppd_auth *a)
{
	const struct scpp_config_auth *ac = &d->cfg.auth;
	struct scpp_auth_fault f;
	char msg[256];

	memcpy(a->roots[0], a->node.pk, SCPP_AUTH_KEY_LEN);
	a->nroots = 1;
	for (unsigned int i = 0; i < ac->nb_roots; i++) {
		int rc = scpp_auth_pubkey_spec(ac->roots[i], a->roots[a->nroots], &f);

		if (rc != 0) {
			scpp_auth_fault_format(msg, sizeof(msg), rc, &f);
			rte_exit(EXIT_FAILURE, "scppd: auth.roots[%u] (%s): %s\n", i, ac->roots[i],
				 msg);
		}
		a->nroots++;
	}
}

/* auth.peers: "ID:KEY" each; the pair's key derived now (no datagram). */
static void
peers_load(struct scppd *d, struct scppd_auth *a)
{
	const struct scpp_config_auth *ac = &d->cfg.auth;
	char why[256];

	for (unsigned int i = 0; i < ac->nb_peers; i++) {
		const char *s = ac->peers[i];
		struct auth_peer *p = &a->peer[a->npeers];
		uint32_t id;
		int rc = scpp_auth_peer_spec(s, d->cfg.node.id, &id, p->pk, why, sizeof(why));

		if (rc != 0)
			rte_exit(EXIT_FAILURE, "scppd: auth.peers[%u] (%s): %s\n", i, s, why);
		for (unsigned int k = 0; k < a->npeers; k++)
			if (a->peer[k].id == id)
				rte_exit(EXIT_FAILURE, "scppd: auth.peers[%u] (%s): node %u is listed "
					 "twice\n", i, s, id);
		rc = scpp_auth_peer_key(&a->node, d->cfg.node.id, p->pk, id, p->key);
		if (rc != 0)
			rte_exit(EXIT_FAILURE, "scppd: auth.peers[%u] (%s): %s\n", i, s,
				 scpp_auth_strerror(rc));
		p->id = id;
		memcpy(a->peer_pk[a->npeers], p->pk, SCPP_AUTH_KEY_LEN);
		a->npeers++;
	}
}

const struct auth_peer *
auth_peer_find(const struct scppd_auth *a, uint32_t id)
{
	for (unsigned int i = 0; a != NULL && i < a->npeers; i++)
		if (a->peer[i].id == id)
			return &a->peer[i];
	return NULL;
}

/* auth.revocations: a file of 148-byte entries (lib/auth decodes it whole
 * before adding any). */
static int
revocations_read(struct scppd *d, struct scppd_auth *a, uint64_t now, unsigned int *total,
		 unsigned int *added, char *why, size_t why_len)
{
	return scpp_auth_revocations_read(a->revset, d->cfg.auth.revocations,
					  d->cfg.auth.revocation_capacity, now, total, added, why,
					  why_len);
}

static void
revocations_load(struct scppd *d, struct scppd_auth *a, uint64_t now)
{
	unsigned int n, added;
	char why[256];

	a->revset = scpp_auth_revset_create(d->cfg.auth.revocation_capacity, NULL);
	if (a->revset == NULL)
		rte_exit(EXIT_FAILURE, "scppd: auth: revocation set: %s\n", strerror(errno));
	if (revocations_read(d, a, now, &n, &added, why, sizeof(why)) != 0)
		rte_exit(EXIT_FAILURE, "scppd: auth.revocations %s: %s\n", d->cfg.auth.revocations,
			 why);
	if (d->cfg.auth.revocations[0] != '\0')
		SCPPD_LOG(INFO, "auth: %u revocations from %s", n, d->cfg.auth.revocations);
}

static int64_t
resolve(void *ctx, const char *name, size_t len)
{
	return scpp_store_dict_intern(ctx, name, len);
}

/* Worker tables live in DPDK memory on the worker's socket, like its
 * store shard (lib/auth wipes the keys before it frees). */
static void *
table_alloc(void *ctx, size_t size, size_t align)
{
	return rte_zmalloc_socket("scppd_auth_table", size, align < 64 ? 64 : (unsigned int)align,
				  (int)(intptr_t)ctx);
}

static void
table_free(void *ctx, void *p, size_t size)
{
	(void)ctx;
	(void)size;
	rte_free(p);
}

/* The workers' session tables, also held here (they used to be malloc'd
 * and referenced only from the worker structs in DPDK memory, which
 * LeakSanitizer does not scan: an early rte_exit() then read as a leak). */
static struct scpp_auth_table *tables[SCPP_CONFIG_MAX_WORKERS];

/* Per worker: its table, its FIFO from the control lcore, the proven
 * addresses of its slots. */
static void
worker_tables(struct scppd *d, struct scppd_auth *a)
{
	static struct scpp_auth_mem mem[SCPP_CONFIG_MAX_WORKERS];

	for (unsigned int i = 0; i < d->nb_workers; i++) {
		struct scppd_worker *w = d->workers[i];
		int socket = (int)rte_lcore_to_socket_id(w->lcore);
		struct scpp_auth_table_config tc = {.capacity = a->capacity, .lane = (uint16_t)i,
						    .mem = &mem[i]};

		mem[i] = (struct scpp_auth_mem){table_alloc, table_free, (void *)(intptr_t)socket};
		char name[RTE_RING_NAMESIZE];

		w->auth = scpp_auth_table_create(&tc);
		tables[i] = w->auth;
		snprintf(name, sizeof(name), "scppd_ctl%u", i);
		w->ctl = rte_ring_create(name, AUTH_CTL_RING, socket,
					 RING_F_SP_ENQ | RING_F_SC_DEQ);
		w->sess_ip = rte_zmalloc_socket("scppd_sess", a->capacity * sizeof(uint32_t), 0,
						socket);
		w->sess_port = rte_zmalloc_socket("scppd_sess", a->capacity * sizeof(uint16_t), 0,
						  socket);
		w->sess_x = rte_zmalloc_socket("scppd_sess", a->capacity * sizeof(*w->sess_x), 0,
					       socket);
		w->carried = rte_zmalloc_socket("scppd_carried",
						AUTH_CARRIED_MAX * sizeof(*w->carried), 0, socket);
		w->dlg = scpp_auth_dlg_create(&mem[i]);
		w->ident_recent = rte_zmalloc_socket("scppd_ident", AUTH_IDENT_RECENT * 3 *
						     sizeof(uint64_t), 0, socket);
		/* Delegated-lane counters start at the wall clock / 64: they stay
		 * above the previous run's (at under 15 M datagrams/s). */
		w->dlg_counter = (realtime_ns() / 64) & SCPP_AUTH_COUNTER_MAX;
		if (w->auth == NULL || w->ctl == NULL || w->sess_ip == NULL || w->sess_port == NULL ||
		    w->sess_x == NULL || w->carried == NULL || w->dlg == NULL ||
		    w->ident_recent == NULL)
			rte_exit(EXIT_FAILURE, "scppd: auth: worker %u: session table of %u slots: "
				 "out of memory\n", i, a->capacity);
	}
}

void
scppd_auth_init(struct scppd *d)
{
	const struct scpp_config_auth *ac = &d->cfg.auth;
	struct scpp_auth_responder_config rc;
	struct scppd_auth *a;
	uint64_t now = realtime_ns();
	char hex[2 * SCPP_AUTH_KEY_LEN + 1];

	d->realtime_off_ns = (int64_t)(now - scppd_clock_ns());
	if (ac->mode == SCPP_CONFIG_AUTH_OFF) {
		SCPPD_LOG(WARNING, "auth: off (every block runs unchecked, from anyone)");
		return;
	}
	if (scpp_auth_init() != 0)
		rte_exit(EXIT_FAILURE, "scppd: auth: libsodium does not initialise\n");
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		rte_exit(EXIT_FAILURE, "scppd: auth: out of memory\n");
	d->auth = a;
	a->capacity = ac->sessions;
	a->rate = ac->handshakes_per_s;
	a->tokens = a->rate * UINT64_C(1000000000);
	a->last_ns = now;
	node_key_load(d, a);
	roots_load(d, a);
	peers_load(d, a);
	revocations_load(d, a, now);
	a->sf_buf = malloc(2 * AUTH_SF_MAX);
	if (a->sf_buf == NULL)
		rte_exit(EXIT_FAILURE, "scppd: auth: out of memory\n");
	{
		const struct scpp_auth_reasm_config irc = {
			AUTH_IDENT_REASM_SLOTS, SCPP_AUTH_IDENTITY_SF_MAX, SCPP_AUTH_IDENTITY_FRAGS_MAX,
			AUTH_REASM_NS, NULL};

		a->ident_reasm = scpp_auth_reasm_create(&irc);
		if (a->ident_reasm == NULL)
			rte_exit(EXIT_FAILURE, "scppd: auth: out of memory\n");
	}
	randombytes_buf(&a->ident_msg, sizeof(a->ident_msg));
	randombytes_buf(a->cont_secret, sizeof(a->cont_secret));
	randombytes_buf(a->cont_nonce, sizeof(a->cont_nonce));
	randombytes_buf(a->self_key, sizeof(a->self_key));
	{
		const struct scpp_auth_reasm_config frc = {
			AUTH_REASM_SLOTS, SCPP_AUTH_FINISH_MAX, SCPP_AUTH_FINISH_FRAGS_MAX,
			AUTH_REASM_NS, NULL};

		a->hs_reasm = scpp_auth_reasm_create(&frc);
		if (a->hs_reasm == NULL)
			rte_exit(EXIT_FAILURE, "scppd: auth: out of memory\n");
	}
	a->live = calloc(a->capacity, sizeof(*a->live));
	a->in = rte_ring_create("scppd_auth_in", AUTH_IN_RING, (int)rte_socket_id(),
				RING_F_SC_DEQ);
	if (a->live == NULL || a->in == NULL)
		rte_exit(EXIT_FAILURE, "scppd: auth: out of memory\n");

	memset(&rc, 0, sizeof(rc));
	rc.node_key = &a->node;
	rc.trust.roots = (const uint8_t(*)[SCPP_AUTH_KEY_LEN])a->roots;
	rc.trust.nroots = a->nroots;
	rc.trust.revoked = a->revset;
	rc.capacity = a->capacity;
	rc.lanes = (uint16_t)d->nb_workers;
	rc.max_per_principal = ac->per_principal;
	rc.session_lifetime_ns = (uint64_t)ac->session_lifetime_s * UINT64_C(1000000000);
	rc.cookie_lifetime_ns = (uint64_t)ac->cookie_lifetime_s * UINT64_C(1000000000);
	rc.epoch_lifetime_ns = (uint64_t)ac->epoch_lifetime_s * UINT64_C(1000000000);
	rc.compile.resolve = resolve;
	rc.compile.resolve_ctx = d->dict;
	a->owner.trust = rc.trust;
	a->owner.peers = (const uint8_t(*)[SCPP_AUTH_KEY_LEN])a->peer_pk;
	a->owner.npeers = a->npeers;
	a->owner.max_hops = 0; /* carried records come from their origin only */
	a->owner.compile = rc.compile;
	a->resp = scpp_auth_responder_create(&rc, now);
	if (a->resp == NULL)
		rte_exit(EXIT_FAILURE, "scppd: auth: responder: %s\n", strerror(errno));
	worker_tables(d, a);
	scpp_auth_hex_format(hex, a->node.pk, SCPP_AUTH_KEY_LEN);
	SCPPD_LOG(INFO, "auth: %s, node key %s (%s), %u roots of trust, %u session slots, "
		  "%u handshakes/s",
		  ac->mode == SCPP_CONFIG_AUTH_REQUIRED ? "required" : "optional", hex,
		  a->key_path, a->nroots, a->capacity, ac->handshakes_per_s);
}

void
scppd_auth_free(struct scppd *d)
{
	struct scppd_auth *a = d->auth;

	for (unsigned int i = 0; i < d->nb_workers; i++) {
		struct scppd_worker *w = d->workers[i];
		struct rte_mbuf *m;

		if (w == NULL)
			continue;
		while (w->ctl != NULL && rte_ring_sc_dequeue(w->ctl, (void **)&m) == 0)
			rte_pktmbuf_free(m);
		rte_ring_free(w->ctl);
		scpp_auth_table_free(w->auth);
		tables[i] = NULL;
		rte_free(w->sess_ip);
		rte_free(w->sess_port);
		if (w->sess_x != NULL)
			sodium_memzero(w->sess_x, (size_t)(d->auth != NULL ? d->auth->capacity : 0) *
				       sizeof(*w->sess_x));
		rte_free(w->sess_x);
		rte_free(w->carried);
		scpp_auth_dlg_free(w->dlg);
		rte_free(w->ident_recent);
		w->sess_x = NULL;
		w->carried = NULL;
		w->dlg = NULL;
		w->ident_recent = NULL;
		w->auth = NULL;
		w->ctl = NULL;
	}
	if (a == NULL)
		return;
	if (a->in != NULL) {
		struct rte_mbuf *m;

		while (rte_ring_sc_dequeue(a->in, (void **)&m) == 0)
			rte_pktmbuf_free(m);
		rte_ring_free(a->in);
	}
	/* The workers have stopped: no grace period to wait for. */
	for (unsigned int i = 0; i < a->nretire; i++)
		scpp_auth_authority_free(a->retire[i].a);
	scpp_auth_responder_free(a->resp); /* frees the live sessions' authorities */
	for (unsigned int i = 0; i < AUTH_CARRIED_MAX; i++)
		scpp_auth_authority_free(a->carried[i].authority);
	for (uint32_t i = 0; a->live != NULL && i < a->capacity; i++)
		free(a->live[i].chains);
	free(a->sf_buf);
	scpp_auth_reasm_free(a->ident_reasm);
	sodium_memzero(a->peer, sizeof(a->peer));
	scpp_auth_revset_free(a->revset);
	scpp_auth_reasm_free(a->hs_reasm);
	free(a->live);
	scpp_auth_key_wipe(&a->node);
	free(a);
	d->auth = NULL;
}

/* ---- control lcore ---- */

/* Queue a control message (an mbuf) for worker @p i; false if its FIFO is full. */
bool
auth_to_worker(struct scppd *d, unsigned int i, struct rte_mbuf *m)
{
	if (rte_ring_sp_enqueue(d->workers[i]->ctl, m) != 0) {
		rte_pktmbuf_free(m);
		return false;
	}
	return true;
}

struct rte_mbuf *
auth_ctl_mbuf(struct scppd *d, uint8_t kind, const void *data, uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(d->ports[0].pool);

	if (m == NULL)
		return NULL;
	if (len > 0)
		memcpy(rte_pktmbuf_append(m, len), data, len);
	scppd_meta_of(m)->auth = kind;
	return m;
}

/* Send datagram @p dg to @p to: the frame is built here and sent by worker
 * @p from (its tx queue, the same source port). */
void
auth_send_via(struct scppd *d, uint16_t from, const struct scpp_net_peer *to, const uint8_t *dg,
	 uint16_t len)
{
	struct rte_mbuf *m;
	uint8_t *frame;
	uint64_t ol;

	if (len > scpp_net_udp_max(&d->net, to->port) ||
	    (m = rte_pktmbuf_alloc(d->ports[to->port].pool)) == NULL) {
		cnt(&d->auth->c.send_failed);
		return;
	}
	frame = rte_pktmbuf_mtod(m, uint8_t *);
	memcpy(scpp_net_udp_build(&d->net, to, frame, len), dg, len);
	scpp_net_udp_finish(&d->net, to->port, frame);
	m->data_len = (uint16_t)(SCPP_NET_L2L4_LEN + len);
	m->pkt_len = m->data_len;
	ol = scpp_net_tx_offload_flags(&d->net, to->port);
	m->ol_flags = ol;
	if (ol != 0) {
		m->l2_len = RTE_ETHER_HDR_LEN;
		m->l3_len = sizeof(struct rte_ipv4_hdr);
	}
	scppd_meta_of(m)->auth = SCPPD_AUTH_SEND;
	scppd_meta_of(m)->nm.peer = *to;
	if (!auth_to_worker(d, from, m))
		cnt(&d->auth->c.send_failed);
}

/* Answer a handshake, through the worker that received the request. */
void
auth_send_answer(struct scppd *d, const struct scppd_meta *req, const uint8_t *dg, uint16_t len)
{
	auth_send_via(d, req->from, &req->nm.peer, dg, len);
}

/* The address a cookie binds: IPv4 address then UDP port, network order. */
size_t
auth_addr_of(const struct scpp_net_peer *p, uint8_t out[6])
{
	memcpy(out, &p->ip, 4);
	memcpy(out + 4, &p->udp_port, 2);
	return 6;
}

/* Free @p au once no worker can read it any more (an RCU grace period). */
void
auth_retire_later(struct scppd *d, struct scpp_auth_authority *au)
{
	struct scppd_auth *a = d->auth;

	if (au == NULL)
		return;
	if (a->nretire == AUTH_RETIRE_MAX) {
		/* Wait for the workers rather than leak (bounded by the grace period). */
		rte_rcu_qsbr_synchronize(d->qsbr, RTE_QSBR_THRID_INVALID);
		for (unsigned int i = 0; i < a->nretire; i++)
			scpp_auth_authority_free(a->retire[i].a);
		a->nretire = 0;
	}
	a->retire[a->nretire].a = au;
	a->retire[a->nretire++].token = rte_rcu_qsbr_start(d->qsbr);
}

/* Close session @p id everywhere: the registry, every worker's table
 * (through the same FIFO as installs), the authority after a grace period. */
void
auth_close_session(struct scppd *d, uint64_t id)
{
	struct scppd_auth *a = d->auth;
	struct scpp_auth_authority *au = scpp_auth_responder_close(a->resp, id);
	uint32_t slot = scpp_auth_session_slot(id);

	if (au == NULL)
		return;
	for (unsigned int i = 0; i < d->nb_workers; i++) {
		struct rte_mbuf *m = auth_ctl_mbuf(d, SCPPD_AUTH_CLOSE, &id, sizeof(id));

		/* A close that cannot be queued leaves the slot live on that
		 * worker until its expiry sweep; the responder will not reuse
		 * the slot's id (fresh random bits per session). */
		if (m == NULL || !auth_to_worker(d, i, m))
			cnt(&a->c.install_failed);
	}
	if (slot < a->capacity) {
		free(a->live[slot].chains);
		memset(&a->live[slot], 0, sizeof(a->live[slot]));
	}
	auth_retire_later(d, au);
}

/* What a worker gets to install a session. */
static void
install_session(struct scppd *d, const struct scppd_meta *req,
		const struct scpp_auth_session_params *p, const uint8_t *fin, size_t fin_len,
		uint64_t now)
{
	struct scppd_auth *a = d->auth;
	uint32_t slot = scpp_auth_session_slot(p->id);
	struct auth_install msg;
	uint8_t nchains, digest[SCPP_AUTH_ID_LEN];
	bool ok = true;

	memset(&msg, 0, sizeof(msg));
	msg.p = *p;
	msg.ip = req->nm.peer.ip;
	msg.port = req->nm.peer.udp_port;
	/* The chains as the FINISH carried them (SECURITY.md §9.2: the digest
	 * covers bytes [100, end - 64)), kept for IDENTITY records. */
	if (fin_len >= SCPP_AUTH_FINISH_FIXED + 64 && fin[100] != 0) {
		msg.nchains = fin[100];
		scpp_auth_carried_digest(fin[100], fin + SCPP_AUTH_FINISH_FIXED,
					 fin_len - 64 - SCPP_AUTH_FINISH_FIXED, msg.digest);
	}
	nchains = msg.nchains;
	memcpy(digest, msg.digest, SCPP_AUTH_ID_LEN);
	for (unsigned int i = 0; i < d->nb_workers; i++) {
		struct rte_mbuf *m = auth_ctl_mbuf(d, SCPPD_AUTH_INSTALL, &msg, sizeof(msg));

		ok = ok && m != NULL && auth_to_worker(d, i, m);
	}
	sodium_memzero(&msg, sizeof(msg));
	if (slot < a->capacity) {
		a->live[slot].id = p->id;
		a->live[slot].expires_ns = p->expires_ns;
		a->live[slot].opened_ns = now;
		a->live[slot].ip = req->nm.peer.ip;
		a->live[slot].port = req->nm.peer.udp_port;
		memcpy(a->live[slot].principal, p->principal, SCPP_AUTH_KEY_LEN);
		free(a->live[slot].chains);
		a->live[slot].chains = NULL;
		a->live[slot].nchains = 0;
		if (nchains != 0) {
			a->live[slot].chains_len = (uint32_t)(fin_len - 64 - SCPP_AUTH_FINISH_FIXED);
			a->live[slot].chains = malloc(a->live[slot].chains_len);
			if (a->live[slot].chains != NULL) {
				memcpy(a->live[slot].chains, fin + SCPP_AUTH_FINISH_FIXED,
				       a->live[slot].chains_len);
				a->live[slot].nchains = nchains;
				memcpy(a->live[slot].digest, digest, SCPP_AUTH_ID_LEN);
			}
		}
	}
	if (!ok) {
		cnt(&a->c.install_failed);
		auth_close_session(d, p->id);
	}
}

static void
finish(struct scppd *d, const struct scppd_meta *req, const uint8_t *msg, size_t len,
       uint64_t hs_id, uint64_t now)
{
	struct scppd_auth *a = d->auth;
	struct scpp_auth_finish_result res;
	uint8_t addr[6], reply[SCPP_WIRE_HDR_LEN + 128];
	int rc;

	cnt(&a->c.finish);
	memset(&res, 0, sizeof(res));
	rc = scpp_auth_responder_finish(a->resp, msg, len, hs_id, addr, auth_addr_of(&req->nm.peer, addr),
					now, reply, sizeof(reply), &res);
	if (rc == 0) {
		install_session(d, req, &res.params, msg, len, now);
		cnt(&a->c.accepted);
	} else if (rc == 1) {
		cnt(&a->c.accept_resent);
	} else {
		char why[256];

		cnt(res.reply_len > 0 ? &a->c.rejected : &a->c.silent);
		scpp_auth_fault_format(why, sizeof(why), rc, &res.fault);
		SCPPD_LOG(INFO, "auth: handshake from %u.%u.%u.%u:%u refused: %s",
			  ((const uint8_t *)&req->nm.peer.ip)[0], ((const uint8_t *)&req->nm.peer.ip)[1],
			  ((const uint8_t *)&req->nm.peer.ip)[2], ((const uint8_t *)&req->nm.peer.ip)[3],
			  rte_be_to_cpu_16(req->nm.peer.udp_port), why);
	}
	sodium_memzero(&res.params, sizeof(res.params));
	if (res.reply_len > 0)
		auth_send_answer(d, req, reply, (uint16_t)res.reply_len);
}

/* A FINISH fragment: reassembled per (source, handshake id), bounded in
 * slots, size and time (lib/auth's reassembler, like IDENTITYs). */
static void
finish_fragment(struct scppd *d, const struct scppd_meta *req, const struct scpp_auth_hs_dgram *h,
		uint64_t now)
{
	struct scppd_auth *a = d->auth;
	const uint64_t src = (uint64_t)req->nm.peer.ip << 16 | req->nm.peer.udp_port;
	const uint8_t *msg;
	size_t len;
	int rc;

	if (h->frag_count == 1) {
		finish(d, req, h->payload, h->payload_len, h->hs_id, now);
		return;
	}
	scpp_counter_add(&a->c.reasm_timeouts, scpp_auth_reasm_expire(a->hs_reasm, now));
	rc = scpp_auth_reasm_add(a->hs_reasm, src, h->hs_id, h->frag_index, h->frag_count,
				 h->payload, h->payload_len, now, &msg, &len);
	if (rc == 1)
		finish(d, req, msg, len, h->hs_id, now);
	else if (rc == -ENOBUFS)
		cnt(&a->c.reasm_full);
	else if (rc < 0 && rc != -EALREADY)
		cnt(&a->c.bad_dgram); /* count or size wrong: the message is dropped */
}

/* Take one unit of the handshake budget (a token bucket of rate/s, burst rate). */
static bool
budget_take(struct scppd_auth *a, uint64_t now)
{
	const uint64_t unit = UINT64_C(1000000000), cap = a->rate * unit;

	if (now > a->last_ns) {
		uint64_t add = (now - a->last_ns) * a->rate;

		a->tokens = a->tokens + add > cap ? cap : a->tokens + add;
		a->last_ns = now;
	}
	if (a->tokens < unit)
		return false;
	a->tokens -= unit;
	return true;
}

static void
handshake(struct scppd *d, struct rte_mbuf *m, uint64_t now)
{
	struct scppd_auth *a = d->auth;
	const struct scppd_meta *md = scppd_meta_of(m);
	const uint8_t *dg = rte_pktmbuf_mtod_offset(m, const uint8_t *, md->nm.l4_off);
	struct scpp_auth_hs_dgram h;
	uint8_t out[SCPP_WIRE_HDR_LEN + SCPP_AUTH_CHALLENGE_LEN + 64], addr[6];
	int n;

	if (md->auth == SCPPD_AUTH_CLOSED) {
		uint64_t id;

		memcpy(&id, dg, sizeof(id));
		cnt(&a->c.closed_by_client);
		auth_close_session(d, id);
		return;
	}
	if (md->auth == SCPPD_AUTH_IDENT_PUSH) {
		auth_ident_send(d, m);
		return;
	}
	if (!budget_take(a, now)) {
		cnt(&a->c.budget_drops);
		return;
	}
	if (md->nm.l4_len >= SCPP_WIRE_HDR_LEN && dg[3] == SCPP_AUTH_KIND_IDENTITY) {
		auth_ident_in(d, md, dg, md->nm.l4_len, now);
		return;
	}
	if (scpp_auth_hs_parse(dg, md->nm.l4_len, &h) != 0) {
		cnt(&a->c.bad_dgram);
		return;
	}
	switch (h.kind) {
	case SCPP_AUTH_KIND_HELLO:
		cnt(&a->c.hello);
		n = scpp_auth_responder_hello(a->resp, dg, md->nm.l4_len, addr,
					      auth_addr_of(&md->nm.peer, addr), now, out, sizeof(out));
		if (n > 0) {
			cnt(&a->c.challenge);
			auth_send_answer(d, md, out, (uint16_t)n);
		} else {
			cnt(&a->c.silent);
		}
		break;
	case SCPP_AUTH_KIND_FINISH:
		finish_fragment(d, md, &h, now);
		break;
	default: /* node -> client kinds sent to the node */
		cnt(&a->c.bad_dgram);
		break;
	}
}

/*
 * SIGHUP: read auth.revocations again. New entries take effect at once:
 * the due() sweep of this turn closes the sessions they cover (a CLOSE to
 * every worker), and every carried identity is dropped, to be verified
 * again against the new set from its next IDENTITY (within a second while
 * its session sends). A file that does not read adds what it read up to
 * the bad entry only if every entry decoded (a revocation only removes
 * rights); otherwise nothing.
 */
static void
revocations_reload(struct scppd *d, uint64_t now)
{
	struct scppd_auth *a = d->auth;
	unsigned int n, added;
	char why[256];

	if (revocations_read(d, a, now, &n, &added, why, sizeof(why)) != 0) {
		cnt(&a->c.reload_failed);
		SCPPD_LOG(ERR, "auth: reload of auth.revocations %s failed: %s (%u new entries "
			  "applied)", d->cfg.auth.revocations, why, added);
	} else {
		cnt(&a->c.reloads);
		SCPPD_LOG(NOTICE, "auth: reloaded auth.revocations %s: %u entries, %u new",
			  d->cfg.auth.revocations[0] ? d->cfg.auth.revocations : "(none)", n, added);
	}
	for (uint32_t i = 0; added > 0 && i < AUTH_CARRIED_MAX; i++)
		if (a->carried[i].not_after_ns != 0)
			auth_carried_drop(d, i);
}

bool
scppd_auth_tick(struct scppd *d)
{
	struct scppd_auth *a = d->auth;
	struct rte_mbuf *ms[SCPPD_BURST];
	uint64_t ids[AUTH_DUE_MAX], now;
	unsigned int n, i, k;

	if (a == NULL)
		return false;
	now = realtime_ns();
	if (__atomic_exchange_n(&d->reload, 0, __ATOMIC_RELAXED) != 0)
		revocations_reload(d, now);
	/* Everything queued, in bursts: the budget drops the excess. */
	while ((n = rte_ring_sc_dequeue_burst(a->in, (void **)ms, SCPPD_BURST, NULL)) != 0) {
		for (i = 0; i < n; i++) {
			handshake(d, ms[i], now);
			rte_pktmbuf_free(ms[i]);
		}
	}
	if (scpp_auth_reasm_held(a->ident_reasm) != 0) {
		unsigned int gone = scpp_auth_reasm_expire(a->ident_reasm, now);

		scpp_counter_add(&a->c.ident_reasm_dropped, gone);
	}
	scpp_auth_responder_rotate(a->resp, now);
	n = scpp_auth_responder_due(a->resp, now, ids, AUTH_DUE_MAX);
	for (i = 0; i < n; i++) {
		cnt(&a->c.closed_due);
		auth_close_session(d, ids[i]);
	}
	for (i = 0; i < AUTH_CARRIED_MAX; i++) {
		if (a->carried[i].not_after_ns != 0 && now >= a->carried[i].not_after_ns) {
			cnt(&a->c.carried_expired);
			auth_carried_drop(d, i);
		}
	}
	/* Authorities whose grace period is over. */
	for (i = 0, k = 0; i < a->nretire; i++) {
		if (rte_rcu_qsbr_check(d->qsbr, a->retire[i].token, false) == 1)
			scpp_auth_authority_free(a->retire[i].a);
		else
			a->retire[k++] = a->retire[i];
	}
	a->nretire = k;
	/* A grace period or a reassembly waits: the next turn soon. */
	return k > 0 || scpp_auth_reasm_held(a->ident_reasm) != 0;
}

/* ---- telemetry ---- */

static int
cmd_auth(const char *cmd __rte_unused, const char *params __rte_unused, struct rte_tel_data *t)
{
	const struct scppd *d = &scppd_g;
	const struct scppd_auth *a = d->auth;
	struct scpp_auth_table_stats sum, st;
	char hex[2 * SCPP_AUTH_KEY_LEN + 1];
	const uint64_t *src = (const uint64_t *)(const void *)&st;
	uint64_t *dst = (uint64_t *)(void *)&sum;
	static const char *const tnames[] = {
		"verified", "not_session", "bad_tag", "no_session", "wrong_lane", "expired",
		"replayed", "too_old", "bad_mac", "sealed", "installed", "closed", "active",
	};
#define AC(f) {#f, offsetof(struct auth_counters, f)}
	static const struct {
		const char *name;
		size_t off;
	} cnames[] = {
		AC(hello), AC(challenge), AC(finish), AC(accepted), AC(accept_resent), AC(rejected),
		AC(silent), AC(budget_drops), AC(bad_dgram), AC(reasm_timeouts), AC(reasm_full),
		AC(closed_by_client), AC(closed_due), AC(install_failed), AC(send_failed),
		AC(ident_sent), AC(ident_unsendable), AC(ident_in), AC(ident_bad), AC(ident_known),
		AC(ident_frags_sent), AC(ident_frags_in), AC(ident_reasm_done), AC(ident_reasm_dropped),
		AC(ident_accepted), AC(ident_refused), AC(ident_evicted), AC(carried_expired),
		AC(reloads), AC(reload_failed),
	};
#undef AC

	rte_tel_data_start_dict(t);
	rte_tel_data_add_dict_string(t, "mode", d->cfg.auth.mode == SCPP_CONFIG_AUTH_REQUIRED ?
				     "required" : d->cfg.auth.mode == SCPP_CONFIG_AUTH_OPTIONAL ?
				     "optional" : "off");
	if (a == NULL)
		return 0;
	_Static_assert(sizeof(tnames) / sizeof(tnames[0]) ==
		       sizeof(struct scpp_auth_table_stats) / sizeof(uint64_t), "table counters");
	memset(&sum, 0, sizeof(sum));
	for (unsigned int i = 0; i < d->nb_workers; i++) {
		scpp_auth_table_stats_get(d->workers[i]->auth, &st);
		for (size_t k = 0; k < sizeof(st) / sizeof(uint64_t); k++)
			dst[k] += src[k];
	}
	scpp_auth_hex_format(hex, a->node.pk, SCPP_AUTH_KEY_LEN);
	rte_tel_data_add_dict_string(t, "node_key", hex);
	rte_tel_data_add_dict_u64(t, "roots", a->nroots);
	rte_tel_data_add_dict_u64(t, "sessions", scpp_auth_responder_sessions(a->resp));
	rte_tel_data_add_dict_u64(t, "capacity", a->capacity);
	rte_tel_data_add_dict_u64(t, "revocations", scpp_auth_revset_count(a->revset));
	rte_tel_data_add_dict_u64(t, "peers", a->npeers);
	{
		unsigned int nc = 0;

		for (unsigned int i = 0; i < AUTH_CARRIED_MAX; i++)
			nc += a->carried[i].not_after_ns != 0;
		rte_tel_data_add_dict_u64(t, "carried", nc);
	}
	for (size_t k = 0; k < sizeof(cnames) / sizeof(cnames[0]); k++)
		rte_tel_data_add_dict_u64(t, cnames[k].name,
					  scpp_counter_read((const uint64_t *)(const void *)
							    ((const uint8_t *)&a->c + cnames[k].off)));
	/* The workers' tables, summed ("active" counts each session once per lane). */
	for (size_t k = 0; k < sizeof(st) / sizeof(uint64_t); k++) {
		char name[32];

		snprintf(name, sizeof(name), "table_%s", tnames[k]);
		rte_tel_data_add_dict_u64(t, name, dst[k]);
	}
	return 0;
}

/* /scpp/sessions: the live sessions the control lcore opened (id, principal,
 * source address, opened, expires). Read without a lock: telemetry shows a
 * moment's picture, entries may be mid-update. */
static int
cmd_sessions(const char *cmd __rte_unused, const char *params __rte_unused,
	     struct rte_tel_data *t)
{
	const struct scppd_auth *a = scppd_g.auth;
	unsigned int shown = 0;

	rte_tel_data_start_dict(t);
	if (a == NULL)
		return 0;
	for (uint32_t i = 0; i < a->capacity && shown < 64; i++) {
		const struct auth_live *l = &a->live[i];
		struct rte_tel_data *e;
		char id[24], hex[2 * SCPP_AUTH_KEY_LEN + 1], ip[24];
		const uint8_t *b = (const uint8_t *)&l->ip;

		if (l->id == 0 || (e = rte_tel_data_alloc()) == NULL)
			continue;
		snprintf(id, sizeof(id), "%016" PRIx64, l->id);
		scpp_auth_hex_format(hex, l->principal, SCPP_AUTH_KEY_LEN);
		snprintf(ip, sizeof(ip), "%u.%u.%u.%u:%u", b[0], b[1], b[2], b[3],
			 rte_be_to_cpu_16(l->port));
		rte_tel_data_start_dict(e);
		rte_tel_data_add_dict_string(e, "principal", hex);
		rte_tel_data_add_dict_string(e, "address", ip);
		rte_tel_data_add_dict_u64(e, "opened_ns", l->opened_ns);
		rte_tel_data_add_dict_u64(e, "expires_ns", l->expires_ns);
		rte_tel_data_add_dict_container(t, id, e, 0);
		shown++;
	}
	return 0;
}

int
scppd_auth_telemetry_init(void)
{
	int rc = rte_telemetry_register_cmd("/scpp/auth", cmd_auth,
					    "Session layer: mode, node key, handshakes, sessions, "
					    "the workers' verification counters. No parameters");

	if (rc == 0)
		rc = rte_telemetry_register_cmd("/scpp/sessions", cmd_sessions,
						"Live sessions (at most 64): principal, address, "
						"opened, expires. No parameters");
	return rc;
}
