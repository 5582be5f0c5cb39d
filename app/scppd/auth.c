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
 * The node key lives in auth.node_key (default node.state_dir/node.key);
 * it is generated at first start, like an SSH host key, and is always a
 * root of trust: the operator (who can read it) holds every right, and
 * issues grants with it (scpp grant issue --key).
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_telemetry.h>
#include <sodium.h>

#include "scppd.h"

/** Handshake datagrams the workers may queue for the control lcore. */
#define AUTH_IN_RING 512
/** Control -> worker FIFO slots (installs, closes, answer frames). */
#define AUTH_CTL_RING 1024
/** FINISH messages being reassembled at once, and how long one may take. */
#define AUTH_REASM_SLOTS 8
#define AUTH_REASM_NS (UINT64_C(2) * 1000000000)
/** IDENTITYs of several datagrams being reassembled at once (same deadline). */
#define AUTH_IDENT_REASM_SLOTS 8
/** Largest FINISH fragment payload kept (the largest datagram on any port). */
#define AUTH_FRAG_MAX 9600
/** Sessions examined per worker loop by the expiry sweep. */
#define AUTH_SWEEP 16
/** Sessions due() reports per control turn. */
#define AUTH_DUE_MAX 64
/** Authorities waiting for their RCU grace period. */
#define AUTH_RETIRE_MAX 4096
/** Carried identities a node caches (every worker holds the same slots). */
#define AUTH_CARRIED_MAX 64
/** Forwarded sessions' reply keys a worker keeps (open addressing). */
#define AUTH_DLG_SLOTS 1024
#define AUTH_DLG_PROBE 8
/** IDENTITY pushes a worker remembers (direct-mapped), and for how long. */
#define AUTH_IDENT_RECENT 256
#define AUTH_IDENT_EVERY_NS UINT64_C(1000000000)
/** Largest SF record (chains of a FINISH) and IDENTITY datagram built. */
#define AUTH_SF_MAX (SCPP_AUTH_FINISH_MAX + SCPP_AUTH_CARRIED_FIXED + SCPP_AUTH_IDENTITY_OVERHEAD)
/** A FORWARD's extension 1 is valid this long after it was sealed. */
#define AUTH_HOP_LIFETIME_NS (UINT64_C(30) * 1000000000)

/* What a worker keeps per session slot for forwarding its requests. */
struct scppd_sess_x {
	uint64_t id;
	uint8_t nchains;
	uint8_t principal[SCPP_AUTH_KEY_LEN];
	uint8_t digest[SCPP_AUTH_ID_LEN];
	uint8_t k_n2c[SCPP_AUTH_KEY_LEN];
};

/* A carried identity cached on a worker (the control lcore's slot). */
struct scppd_carried {
	uint8_t principal[SCPP_AUTH_KEY_LEN];
	uint8_t digest[SCPP_AUTH_ID_LEN];
	uint64_t not_after_ns;                 /* 0: free */
	const struct scpp_auth_authority *authority;
};

/* A forwarded session's reply key on the owner. */
struct scppd_dlg {
	uint64_t session;                      /* 0: free */
	uint64_t not_after_ns;
	uint8_t key[SCPP_AUTH_KEY_LEN];
};

/* A configured peer (auth.peers) and the pair's key. */
struct auth_peer {
	uint32_t id;
	uint8_t pk[SCPP_AUTH_KEY_LEN];
	uint8_t key[SCPP_AUTH_KEY_LEN];
};

/* A FINISH in reassembly (keyed by source and handshake id). */
struct auth_reasm {
	bool used;
	uint32_t ip;
	uint16_t port;
	uint64_t hs_id;
	uint64_t deadline_ns;
	uint32_t count;
	uint32_t mask;
	uint16_t len[SCPP_AUTH_FINISH_FRAGS_MAX];
	uint8_t *buf; /* SCPP_AUTH_FINISH_FRAGS_MAX x AUTH_FRAG_MAX */
};

/* What the control side knows of a live session (for /scpp/sessions). */
struct auth_live {
	uint64_t id;
	uint64_t expires_ns;
	uint64_t opened_ns;
	uint32_t ip;
	uint16_t port;
	uint8_t principal[SCPP_AUTH_KEY_LEN];
	/* The FINISH's chains (bytes [102, end - 64)), for IDENTITY records. */
	uint8_t *chains;
	uint32_t chains_len;
	uint8_t nchains;
	uint8_t digest[SCPP_AUTH_ID_LEN];
};

struct auth_retire {
	struct scpp_auth_authority *a;
	uint64_t token;
};

struct auth_counters {
	uint64_t hello, challenge, finish, accepted, accept_resent, rejected, silent;
	uint64_t budget_drops, bad_dgram, reasm_timeouts, reasm_full;
	uint64_t closed_by_client, closed_due, install_failed, send_failed;
	/* forwarded sessions (SECURITY.md §9.4) */
	uint64_t ident_sent, ident_unsendable, ident_in, ident_bad, ident_known, ident_accepted;
	uint64_t ident_refused, ident_evicted, carried_expired;
	uint64_t ident_frags_sent, ident_frags_in, ident_reasm_done, ident_reasm_dropped;
	uint64_t reloads, reload_failed;
};

struct scppd_auth {
	struct scpp_auth_keypair node;
	uint8_t roots[SCPP_AUTH_ROOTS_MAX][SCPP_AUTH_KEY_LEN];
	unsigned int nroots;
	struct scpp_auth_revset *revset;
	struct scpp_auth_responder *resp;
	struct rte_ring *in;           /* workers -> control (MP/SC) */
	uint64_t tokens;               /* handshake budget, scaled by 1e9 */
	uint64_t last_ns;
	uint64_t rate;
	struct auth_reasm reasm[AUTH_REASM_SLOTS];
	struct auth_live *live;        /* by slot */
	uint32_t capacity;
	struct auth_retire retire[AUTH_RETIRE_MAX];
	unsigned int nretire;
	struct auth_counters c;        /* control thread writes, telemetry reads (relaxed) */
	struct auth_peer peer[SCPP_CONFIG_MAX_AUTH_PEERS];
	uint8_t peer_pk[SCPP_CONFIG_MAX_AUTH_PEERS][SCPP_AUTH_KEY_LEN];
	unsigned int npeers;
	struct scpp_auth_owner owner;  /* for carried identities */
	struct {
		uint8_t principal[SCPP_AUTH_KEY_LEN];
		uint8_t digest[SCPP_AUTH_ID_LEN];
		uint64_t not_after_ns;          /* 0: free */
		struct scpp_auth_authority *authority;
	} carried[AUTH_CARRIED_MAX];
	/* Continuations (SECURITY.md §9.4 item 9): a CONT_REPLY key per
	 * continuation id, BLAKE2b-256 keyed with cont_secret; extension 1's
	 * nonce, cont_nonce ‖ the continuation id (unique per process, and
	 * the random prefix across restarts); the key a part for another
	 * shard of this node is sealed with (it never leaves the node). */
	uint8_t cont_secret[SCPP_AUTH_KEY_LEN];
	uint8_t cont_nonce[16];
	uint8_t self_key[SCPP_AUTH_KEY_LEN];
	uint8_t *sf_buf;               /* an SF record, then its IDENTITY datagram */
	uint64_t ident_msg;            /* the last multi-datagram IDENTITY's id */
	struct scpp_auth_reasm *ident_reasm; /* IDENTITYs of several datagrams */
	char key_path[SCPP_CONFIG_PATH_SIZE + 16];
};

static inline void
cnt(uint64_t *c)
{
	scpp_counter_add(c, 1);
}

static uint64_t
realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
}

/* ---- start-up: keys, roots, revocations ---- */

/* The node key: load it, or generate and save it at first start. */
static void
node_key_load(struct scppd *d, struct scppd_auth *a)
{
	const struct scpp_config_auth *ac = &d->cfg.auth;
	struct scpp_auth_fault f;
	char msg[256];
	int rc;

	if (ac->node_key[0] != '\0')
		snprintf(a->key_path, sizeof(a->key_path), "%s", ac->node_key);
	else
		snprintf(a->key_path, sizeof(a->key_path), "%s/node.key", d->cfg.node.state_dir);
	scpp_auth_fault_clear(&f);
	rc = scpp_auth_key_load(a->key_path, &a->node, NULL, &f);
	if (rc == -ENOENT) {
		char pub[sizeof(a->key_path) + 8];

		if (scpp_auth_key_generate(&a->node) != 0)
			rte_exit(EXIT_FAILURE, "scppd: auth: cannot generate a node key\n");
		mkdir(d->cfg.node.state_dir, 0755);
		rc = scpp_auth_key_save(a->key_path, &a->node, d->cfg.node.name, 0);
		if (rc == 0) {
			snprintf(pub, sizeof(pub), "%s.pub", a->key_path);
			rc = scpp_auth_pubkey_save(pub, a->node.pk, d->cfg.node.name,
						   SCPP_AUTH_SAVE_FORCE);
		}
		if (rc != 0)
			rte_exit(EXIT_FAILURE, "scppd: auth: cannot write the new node key %s: %s\n",
				 a->key_path, scpp_auth_strerror(rc));
		SCPPD_LOG(NOTICE, "auth: generated node key %s (first start)", a->key_path);
	} else if (rc != 0) {
		scpp_auth_fault_format(msg, sizeof(msg), rc, &f);
		rte_exit(EXIT_FAILURE, "scppd: auth: node key %s: %s\n", a->key_path, msg);
	}
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
		const char *s = ac->roots[i];
		uint8_t *pk = a->roots[a->nroots];
		int rc;

		if (strlen(s) == 2 * SCPP_AUTH_KEY_LEN &&
		    scpp_auth_hex_parse(s, strlen(s), pk, SCPP_AUTH_KEY_LEN) == 0) {
			a->nroots++;
			continue;
		}
		scpp_auth_fault_clear(&f);
		rc = scpp_auth_pubkey_load(s, pk, NULL, &f);
		if (rc != 0) {
			scpp_auth_fault_format(msg, sizeof(msg), rc, &f);
			rte_exit(EXIT_FAILURE, "scppd: auth.roots[%u] (%s): %s\n", i, s, msg);
		}
		a->nroots++;
	}
}

/* auth.peers: "ID:KEY" each; the pair's key derived now (no datagram). */
static void
peers_load(struct scppd *d, struct scppd_auth *a)
{
	const struct scpp_config_auth *ac = &d->cfg.auth;
	struct scpp_auth_fault f;
	char msg[256];

	for (unsigned int i = 0; i < ac->nb_peers; i++) {
		const char *s = ac->peers[i], *colon = strchr(s, ':');
		struct auth_peer *p = &a->peer[a->npeers];
		char *end = NULL;
		unsigned long id = strtoul(s, &end, 10);
		int rc;

		if (colon == NULL || end != colon || id == 0 || id > UINT32_MAX)
			rte_exit(EXIT_FAILURE, "scppd: auth.peers[%u] (%s): expected \"ID:KEY\" with "
				 "a node id >= 1 and a key (64 hex digits or a public key file)\n", i, s);
		if (id == d->cfg.node.id)
			rte_exit(EXIT_FAILURE, "scppd: auth.peers[%u] (%s): node %lu is this node\n",
				 i, s, id);
		for (unsigned int k = 0; k < a->npeers; k++)
			if (a->peer[k].id == id)
				rte_exit(EXIT_FAILURE, "scppd: auth.peers[%u] (%s): node %lu is listed "
					 "twice\n", i, s, id);
		colon++;
		if (strlen(colon) == 2 * SCPP_AUTH_KEY_LEN &&
		    scpp_auth_hex_parse(colon, strlen(colon), p->pk, SCPP_AUTH_KEY_LEN) == 0) {
			rc = 0;
		} else {
			scpp_auth_fault_clear(&f);
			rc = scpp_auth_pubkey_load(colon, p->pk, NULL, &f);
			if (rc != 0) {
				scpp_auth_fault_format(msg, sizeof(msg), rc, &f);
				rte_exit(EXIT_FAILURE, "scppd: auth.peers[%u] (%s): %s\n", i, s, msg);
			}
		}
		rc = scpp_auth_peer_key(&a->node, d->cfg.node.id, p->pk, (uint32_t)id, p->key);
		if (rc != 0)
			rte_exit(EXIT_FAILURE, "scppd: auth.peers[%u] (%s): %s\n", i, s,
				 scpp_auth_strerror(rc));
		p->id = (uint32_t)id;
		memcpy(a->peer_pk[a->npeers], p->pk, SCPP_AUTH_KEY_LEN);
		a->npeers++;
	}
}

static const struct auth_peer *
peer_find(const struct scppd_auth *a, uint32_t id)
{
	for (unsigned int i = 0; a != NULL && i < a->npeers; i++)
		if (a->peer[i].id == id)
			return &a->peer[i];
	return NULL;
}

/*
 * auth.revocations: a file of 148-byte entries, one after the other. Every
 * entry is decoded before any is added, so a file with a bad entry changes
 * nothing. 0 with *@p added, or -1 with @p why filled.
 */
static int
revocations_read(struct scppd *d, struct scppd_auth *a, uint64_t now, unsigned int *total,
		 unsigned int *added, char *why, size_t why_len)
{
	const char *path = d->cfg.auth.revocations;
	struct scpp_auth_revocation *rs = NULL;
	uint8_t e[SCPP_AUTH_REVOCATION_LEN];
	unsigned int n = 0, cap = 0;
	int rc = 0;
	FILE *f;

	*total = *added = 0;
	if (path[0] == '\0')
		return 0;
	f = fopen(path, "rb");
	if (f == NULL) {
		snprintf(why, why_len, "%s", strerror(errno));
		return -1;
	}
	for (;;) {
		size_t got = fread(e, 1, sizeof(e), f);
		uint32_t off = 0;

		if (got == 0)
			break;
		if (n == cap) {
			void *p = cap < d->cfg.auth.revocation_capacity
				? realloc(rs, (cap ? 2 * (size_t)cap : 64) * sizeof(*rs)) : NULL;

			if (p == NULL) {
				snprintf(why, why_len, "more than auth.revocation_capacity (%u) entries",
					 d->cfg.auth.revocation_capacity);
				rc = -1;
				break;
			}
			rs = p;
			cap = cap ? 2 * cap : 64;
		}
		rc = got == sizeof(e) ? scpp_auth_revocation_decode(e, got, &rs[n], &off)
				      : -SCPP_E_TRUNCATED;
		if (rc != 0) {
			snprintf(why, why_len, "entry %u (byte %zu): %s", n,
				 (size_t)n * sizeof(e) + off, scpp_auth_strerror(rc));
			rc = -1;
			break;
		}
		n++;
	}
	fclose(f);
	for (unsigned int i = 0; rc == 0 && i < n; i++) {
		int r = scpp_auth_revset_add(a->revset, &rs[i], now);

		if (r == 0)
			(*added)++;
		else if (r != -EEXIST) {
			snprintf(why, why_len, "entry %u (byte %zu): %s", i,
				 (size_t)i * sizeof(e), scpp_auth_strerror(r));
			rc = -1;
		}
	}
	free(rs);
	*total = n;
	return rc;
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
		w->dlg = rte_zmalloc_socket("scppd_dlg", AUTH_DLG_SLOTS * sizeof(*w->dlg), 0, socket);
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
	for (unsigned int i = 0; i < AUTH_REASM_SLOTS; i++) {
		a->reasm[i].buf = malloc((size_t)SCPP_AUTH_FINISH_FRAGS_MAX * AUTH_FRAG_MAX);
		if (a->reasm[i].buf == NULL)
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
		if (w->dlg != NULL)
			sodium_memzero(w->dlg, AUTH_DLG_SLOTS * sizeof(*w->dlg));
		rte_free(w->sess_x);
		rte_free(w->carried);
		rte_free(w->dlg);
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
	for (unsigned int i = 0; i < AUTH_REASM_SLOTS; i++)
		free(a->reasm[i].buf);
	free(a->live);
	scpp_auth_key_wipe(&a->node);
	free(a);
	d->auth = NULL;
}

/* ---- control lcore ---- */

/* Queue a control message (an mbuf) for worker @p i; false if its FIFO is full. */
static bool
to_worker(struct scppd *d, unsigned int i, struct rte_mbuf *m)
{
	if (rte_ring_sp_enqueue(d->workers[i]->ctl, m) != 0) {
		rte_pktmbuf_free(m);
		return false;
	}
	return true;
}

static struct rte_mbuf *
ctl_mbuf(struct scppd *d, uint8_t kind, const void *data, uint16_t len)
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
static void
send_via(struct scppd *d, uint16_t from, const struct scpp_net_peer *to, const uint8_t *dg,
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
	if (!to_worker(d, from, m))
		cnt(&d->auth->c.send_failed);
}

/* Answer a handshake, through the worker that received the request. */
static void
send_answer(struct scppd *d, const struct scppd_meta *req, const uint8_t *dg, uint16_t len)
{
	send_via(d, req->from, &req->nm.peer, dg, len);
}

/* The address a cookie binds: IPv4 address then UDP port, network order. */
static size_t
addr_of(const struct scpp_net_peer *p, uint8_t out[6])
{
	memcpy(out, &p->ip, 4);
	memcpy(out + 4, &p->udp_port, 2);
	return 6;
}

/* Free @p au once no worker can read it any more (an RCU grace period). */
static void
retire(struct scppd *d, struct scpp_auth_authority *au)
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
static void
close_session(struct scppd *d, uint64_t id)
{
	struct scppd_auth *a = d->auth;
	struct scpp_auth_authority *au = scpp_auth_responder_close(a->resp, id);
	uint32_t slot = scpp_auth_session_slot(id);

	if (au == NULL)
		return;
	for (unsigned int i = 0; i < d->nb_workers; i++) {
		struct rte_mbuf *m = ctl_mbuf(d, SCPPD_AUTH_CLOSE, &id, sizeof(id));

		/* A close that cannot be queued leaves the slot live on that
		 * worker until its expiry sweep; the responder will not reuse
		 * the slot's id (fresh random bits per session). */
		if (m == NULL || !to_worker(d, i, m))
			cnt(&a->c.install_failed);
	}
	if (slot < a->capacity) {
		free(a->live[slot].chains);
		memset(&a->live[slot], 0, sizeof(a->live[slot]));
	}
	retire(d, au);
}

/* What a worker gets to install a session. */
struct auth_install {
	struct scpp_auth_session_params p;
	uint32_t ip;
	uint16_t port;
	uint8_t nchains;
	uint8_t digest[SCPP_AUTH_ID_LEN];
};

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
		struct rte_mbuf *m = ctl_mbuf(d, SCPPD_AUTH_INSTALL, &msg, sizeof(msg));

		ok = ok && m != NULL && to_worker(d, i, m);
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
		close_session(d, p->id);
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
	rc = scpp_auth_responder_finish(a->resp, msg, len, hs_id, addr, addr_of(&req->nm.peer, addr),
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
		send_answer(d, req, reply, (uint16_t)res.reply_len);
}

/* A FINISH fragment: reassembled per (source, handshake id), bounded in
 * slots, size and time (like BLOCK messages). */
static void
finish_fragment(struct scppd *d, const struct scppd_meta *req, const struct scpp_auth_hs_dgram *h,
		uint64_t now)
{
	struct scppd_auth *a = d->auth;
	struct auth_reasm *s = NULL, *free_slot = NULL;
	uint32_t all, off = 0;

	if (h->frag_count == 1) {
		finish(d, req, h->payload, h->payload_len, h->hs_id, now);
		return;
	}
	if (h->payload_len > AUTH_FRAG_MAX) {
		cnt(&a->c.bad_dgram);
		return;
	}
	for (unsigned int i = 0; i < AUTH_REASM_SLOTS; i++) {
		struct auth_reasm *r = &a->reasm[i];

		if (r->used && now >= r->deadline_ns) {
			r->used = false;
			cnt(&a->c.reasm_timeouts);
		}
		if (r->used && r->ip == req->nm.peer.ip && r->port == req->nm.peer.udp_port &&
		    r->hs_id == h->hs_id)
			s = r;
		else if (!r->used && free_slot == NULL)
			free_slot = r;
	}
	if (s == NULL) {
		if (free_slot == NULL) {
			cnt(&a->c.reasm_full);
			return;
		}
		s = free_slot;
		s->used = true;
		s->ip = req->nm.peer.ip;
		s->port = req->nm.peer.udp_port;
		s->hs_id = h->hs_id;
		s->count = h->frag_count;
		s->mask = 0;
		s->deadline_ns = now + AUTH_REASM_NS;
	}
	if (s->count != h->frag_count) {
		s->used = false;
		cnt(&a->c.bad_dgram);
		return;
	}
	memcpy(s->buf + (size_t)h->frag_index * AUTH_FRAG_MAX, h->payload, h->payload_len);
	s->len[h->frag_index] = h->payload_len;
	s->mask |= UINT32_C(1) << h->frag_index;
	all = (uint32_t)((UINT64_C(1) << s->count) - 1);
	if (s->mask != all)
		return;
	for (uint32_t i = 0; i < s->count; i++) {
		if (off + s->len[i] > SCPP_AUTH_FINISH_MAX) {
			s->used = false;
			cnt(&a->c.bad_dgram);
			return;
		}
		memmove(s->buf + off, s->buf + (size_t)i * AUTH_FRAG_MAX, s->len[i]);
		off += s->len[i];
	}
	s->used = false;
	finish(d, req, s->buf, off, h->hs_id, now);
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

/* ---- forwarded sessions, control side (SECURITY.md §9.4) ---- */

/* What a worker asks with SCPPD_AUTH_IDENT_PUSH. */
struct auth_ident_req {
	uint64_t session;
	uint32_t owner;
	struct scpp_net_peer to;
};

/* Send session req->session's IDENTITY (its SF record with CHAINS) to the
 * owner, through the asking worker's tx queue. */
static void
ident_send(struct scppd *d, struct rte_mbuf *m)
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
	p = peer_find(a, r.owner);
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
		send_via(d, md->from, &r.to, a->sf_buf + AUTH_SF_MAX, (uint16_t)k);
	}
	cnt(&a->c.ident_sent);
}

/* Tell every worker about carried slot @p i (cleared when not_after is 0). */
static void
carried_publish(struct scppd *d, uint32_t i)
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
			? ctl_mbuf(d, SCPPD_AUTH_CARRY, msg, sizeof(msg))
			: ctl_mbuf(d, SCPPD_AUTH_UNCARRY, &i, sizeof(i));

		if (m == NULL || !to_worker(d, k, m))
			cnt(&a->c.install_failed);
	}
}

static void
carried_drop(struct scppd *d, uint32_t i)
{
	struct scppd_auth *a = d->auth;
	struct scpp_auth_authority *au = a->carried[i].authority;

	memset(&a->carried[i], 0, sizeof(a->carried[i]));
	carried_publish(d, i);
	retire(d, au);
}

static void ident_accept(struct scppd *d, const struct auth_peer *p, uint32_t from,
			 const uint8_t *sf, size_t sf_len, uint64_t now);

/* An IDENTITY datagram from a peer: from the address the map gives it, its
 * MAC under the pair's key; a record of several datagrams is reassembled
 * (bounded: AUTH_IDENT_REASM_SLOTS records of at most
 * SCPP_AUTH_IDENTITY_SF_MAX bytes, 16 datagrams, AUTH_REASM_NS). */
static void
ident_in(struct scppd *d, const struct scppd_meta *md, const uint8_t *dg, size_t len, uint64_t now)
{
	struct scppd_auth *a = d->auth;
	struct scpp_auth_identity_frag f;
	const struct auth_peer *p;
	const uint8_t *sf;
	size_t sf_len;
	uint32_t from = 0;
	int rc;

	cnt(&a->c.ident_frags_in);
	if (scpp_auth_identity_peek(dg, len, &from) != 0 || (p = peer_find(a, from)) == NULL ||
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
		carried_drop(d, slot);
	memcpy(a->carried[slot].principal, c.principal, SCPP_AUTH_KEY_LEN);
	memcpy(a->carried[slot].digest, c.digest, SCPP_AUTH_ID_LEN);
	a->carried[slot].not_after_ns = c.not_after_ns;
	if (scpp_auth_authority_expires(ca.authority) < c.not_after_ns)
		a->carried[slot].not_after_ns = scpp_auth_authority_expires(ca.authority);
	a->carried[slot].authority = ca.authority;
	carried_publish(d, slot);
	cnt(&a->c.ident_accepted);
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
		close_session(d, id);
		return;
	}
	if (md->auth == SCPPD_AUTH_IDENT_PUSH) {
		ident_send(d, m);
		return;
	}
	if (!budget_take(a, now)) {
		cnt(&a->c.budget_drops);
		return;
	}
	if (md->nm.l4_len >= SCPP_WIRE_HDR_LEN && dg[3] == SCPP_AUTH_KIND_IDENTITY) {
		ident_in(d, md, dg, md->nm.l4_len, now);
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
					      addr_of(&md->nm.peer, addr), now, out, sizeof(out));
		if (n > 0) {
			cnt(&a->c.challenge);
			send_answer(d, md, out, (uint16_t)n);
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
			carried_drop(d, i);
}

void
scppd_auth_tick(struct scppd *d)
{
	struct scppd_auth *a = d->auth;
	struct rte_mbuf *ms[SCPPD_BURST];
	uint64_t ids[AUTH_DUE_MAX], now;
	unsigned int n, i, k;

	if (a == NULL)
		return;
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
		close_session(d, ids[i]);
	}
	for (i = 0; i < AUTH_CARRIED_MAX; i++) {
		if (a->carried[i].not_after_ns != 0 && now >= a->carried[i].not_after_ns) {
			cnt(&a->c.carried_expired);
			carried_drop(d, i);
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
}

/* ---- worker ---- */

/*
 * A BLOCK or FETCH of a session this node does not have (it restarted, or
 * the session ended): a REJECT naming why (SECURITY.md §6.4), so that the
 * client opens a new session instead of retrying into silence. Smaller
 * than what it answers (52 bytes for at least 56), and rate-limited per
 * source like other error answers.
 */
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
		if (rte_ring_mp_enqueue(scppd_g.auth->in, m) != 0) {
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
			if (rte_ring_mp_enqueue(scppd_g.auth->in, c) != 0)
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

static inline uint32_t
dlg_hash(uint64_t session)
{
	return (uint32_t)((session * UINT64_C(0x9e3779b97f4a7c15)) >> 40) % AUTH_DLG_SLOTS;
}

static struct scppd_dlg *
dlg_find(struct scppd_worker *w, uint64_t session)
{
	uint32_t h = dlg_hash(session);

	for (uint32_t i = 0; i < AUTH_DLG_PROBE; i++) {
		struct scppd_dlg *e = &w->dlg[(h + i) % AUTH_DLG_SLOTS];

		if (e->session == session)
			return e;
	}
	return NULL;
}

/* Keep the reply key of carried request @p c: the same session's entry,
 * else a free or expired one in its probe window, else the one that ends
 * first (its next FORWARD brings its key again). */
static void
dlg_note(struct scppd_worker *w, const struct scppd_carry *c)
{
	uint32_t h = dlg_hash(c->session);
	struct scppd_dlg *e = dlg_find(w, c->session), *victim = NULL;

	for (uint32_t i = 0; e == NULL && i < AUTH_DLG_PROBE; i++) {
		struct scppd_dlg *x = &w->dlg[(h + i) % AUTH_DLG_SLOTS];

		if (x->session == 0 || x->not_after_ns <= w->now_ns) {
			e = x;
			break;
		}
		if (victim == NULL || x->not_after_ns < victim->not_after_ns)
			victim = x;
	}
	if (e == NULL)
		e = victim;
	if (e->session != c->session)
		w->dlg_used++;
	e->session = c->session;
	e->not_after_ns = c->not_after_ns;
	memcpy(e->key, c->reply_key, SCPP_AUTH_KEY_LEN);
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

	if (unlikely(w->dlg_used != 0)) {
		const struct scppd_dlg *e = dlg_find(w, session);

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
	const struct auth_peer *p = peer_find(scppd_g.auth, owner);
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
	if (rte_ring_mp_enqueue(scppd_g.auth->in, m) != 0) {
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
	p = peer_find(scppd_g.auth, scppd_forward_peer_id(in->fwd.from_ip));
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

static void
auth_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++, v >>= 8)
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
	p = peer_find(scppd_g.auth, node);
	return p != NULL ? p->key : NULL;
}

/* The CONT_REPLY key of continuation @p cont_id to @p owner: only this
 * node (which derives it) and the owner (which opens it) know it. */
static void
cont_reply_key(uint64_t cont_id, uint32_t owner, uint8_t k_r[SCPP_AUTH_KEY_LEN])
{
	uint8_t in[12];

	auth_le64(in, cont_id);
	auth_le32(in + 8, owner);
	crypto_generichash(k_r, SCPP_AUTH_KEY_LEN, in, sizeof(in), scppd_g.auth->cont_secret,
			   SCPP_AUTH_KEY_LEN);
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
