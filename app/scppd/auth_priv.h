/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the daemon's session-layer files share (auth.c: start-up and the
 * control lcore; auth_ident.c: carried identities, control side;
 * auth_worker.c: the workers' side), like cont_priv.h for cont*.c. lib/auth
 * holds the protocol, the tables and the crypto; these files only wire it
 * to rings, mbufs, ports and telemetry.
 */
#ifndef SCPPD_AUTH_PRIV_H
#define SCPPD_AUTH_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

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
/** Sessions examined per worker loop by the expiry sweep. */
#define AUTH_SWEEP 16
/** Sessions due() reports per control turn. */
#define AUTH_DUE_MAX 64
/** Authorities waiting for their RCU grace period. */
#define AUTH_RETIRE_MAX 4096
/** Carried identities a node caches (every worker holds the same slots). */
#define AUTH_CARRIED_MAX 64
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

/* A configured peer (auth.peers) and the pair's key. */
struct auth_peer {
	uint32_t id;
	uint8_t pk[SCPP_AUTH_KEY_LEN];
	uint8_t key[SCPP_AUTH_KEY_LEN];
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
	struct scpp_auth_reasm *hs_reasm; /* FINISHes of several datagrams */
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

static inline uint64_t
realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
}

struct auth_install {
	struct scpp_auth_session_params p;
	uint32_t ip;
	uint16_t port;
	uint8_t nchains;
	uint8_t digest[SCPP_AUTH_ID_LEN];
};

/* What a worker asks with SCPPD_AUTH_IDENT_PUSH. */
struct auth_ident_req {
	uint64_t session;
	uint32_t owner;
	struct scpp_net_peer to;
};


/* auth.c: the control lcore's helpers the other files use. */
const struct auth_peer *auth_peer_find(const struct scppd_auth *a, uint32_t id);
bool auth_to_worker(struct scppd *d, unsigned int i, struct rte_mbuf *m);
struct rte_mbuf *auth_ctl_mbuf(struct scppd *d, uint8_t kind, const void *data, uint16_t len);
void auth_send_via(struct scppd *d, uint16_t from, const struct scpp_net_peer *to,
		   const uint8_t *dg, uint16_t len);
void auth_send_answer(struct scppd *d, const struct scppd_meta *req, const uint8_t *dg,
		      uint16_t len);
size_t auth_addr_of(const struct scpp_net_peer *p, uint8_t out[6]);
void auth_retire_later(struct scppd *d, struct scpp_auth_authority *au);
void auth_close_session(struct scppd *d, uint64_t id);

/* auth_ident.c: carried identities, control side (SECURITY.md §9.4). */
void auth_ident_send(struct scppd *d, struct rte_mbuf *m);
void auth_carried_publish(struct scppd *d, uint32_t i);
void auth_carried_drop(struct scppd *d, uint32_t i);
void auth_ident_in(struct scppd *d, const struct scppd_meta *md, const uint8_t *dg, size_t len,
		   uint64_t now);

#endif /* SCPPD_AUTH_PRIV_H */
