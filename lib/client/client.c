/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The scpp client library: one exchange = send a block, collect its reply.
 *
 * Design notes.
 *
 * - Reordering. A REPLY message is a byte stream cut into datagrams numbered
 *   0, 1, 2, ... (PROTOCOL §6). The client keeps `next`, the first sequence
 *   number not yet appended, and a window of SCPP_CLIENT_WINDOW slots for
 *   datagrams that arrived early: slot seq % WINDOW holds seq while
 *   next < seq < next + WINDOW, so a slot can only be taken by one sequence
 *   number at a time and lookups are O(1). A datagram beyond the window is
 *   dropped; the retransmission that a gap eventually triggers makes the
 *   node resend the whole cached reply, and the window slides over it.
 *
 * - Timeouts are idle timeouts: every new reply datagram (appended or held)
 *   restarts the current try's timer, so a long reply that keeps streaming
 *   is never interrupted by a retransmission; only silence costs a try.
 *
 * - Delivery (PROTOCOL §16) is handled here, so callers only see replies:
 *   a NOTICE COOKIE is answered at once by sending the block again with
 *   the cookie, which is then attached to every later block and FETCH (it
 *   proves this client's address, lifting the node's 3x amplification
 *   limit); a timeout after part of a reply arrived sends a FETCH for the
 *   missing sequence numbers instead of the whole block; NOTICE BUSY waits
 *   the suggested time and tries again; NOTICE REPLY_LOST, NO_REPLY and
 *   STALE end the exchange with their error (the block ran, or may have:
 *   it must not be sent again under a new id without thought).
 *
 * - Validation is split by what a retransmission can fix. A datagram that
 *   is not ours or whose header is broken is dropped and counted, because a
 *   good copy may still come. Reply *records* that do not decode fail the
 *   exchange at once: the node answers a retransmission from its cache with
 *   the same bytes.
 *
 * - System calls. A block's fragments are encoded into one buffer and sent
 *   with one sendmmsg(); replies are taken RECV_BATCH datagrams per
 *   recvmmsg(). Each datagram is still sealed on its own (a fresh counter).
 *
 * - Batches (scpp_client_exec_many()). Every block of the batch is sent
 *   under consecutive ids before the first reply is awaited; then the
 *   blocks take their turns in order, each an ordinary exchange whose first
 *   transmission already went out. A datagram of a later block of the
 *   batch that arrives during an earlier turn -- verified first, in a
 *   session, as every datagram is -- is copied to the stash and fed to its
 *   block's exchange when that turn starts; past the stash's bounds it is
 *   dropped and that turn's FETCH or retransmission gets it again.
 *
 * - Records are decoded as bytes arrive (scpp_wire_reply_next() consumes
 *   nothing until a record is complete), which both validates the stream
 *   early and lets scpp_client_exec_stream() hand rows out while the rest
 *   of a large reply is still on the wire.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <sodium.h>

#include "scpp_client.h"
#include "scpp_lang.h"
#include "scpp_wire.h"

/* Receive buffer: one byte more than the largest UDP payload so that an
 * oversize datagram shows up as such (MSG_TRUNC reports the real length). */
#define RECV_BUF (SCPP_WIRE_DGRAM_MAX + 1)
#define MAX_REPLY_DEFAULT ((size_t)16 << 20)
#define ADDR_TEXT_MAX 255
#define RCVBUF_WANT (4 << 20)
/* Datagrams one recvmmsg() takes. */
#define RECV_BATCH 16
/* Reply datagrams of the other blocks of a batch held meanwhile
 * (scpp_client_exec_many()); past these bounds they are dropped and fetched
 * again in their block's turn. */
#define STASH_MAX 1024
#define STASH_BYTES ((size_t)8 << 20)

/* A datagram kept for a later turn of a batch. */
struct stash_ent {
	uint64_t block_id;
	uint8_t *data;
	size_t len;
	uint16_t lane;
	bool verified;   /* its session tag was checked (its counter is spent) */
	struct sockaddr_storage src;
	socklen_t src_len;
};

struct slot {
	uint8_t *data;  /* malloc'd payload copy; NULL when free */
	uint32_t seq;
	uint32_t len;
	bool last;
};

/* What handle_dgram() tells the receive loop besides progress. */
enum {
	RX_DROP = 0,     /* not useful */
	RX_PROGRESS = 1, /* a new reply datagram */
	RX_RESEND = 2,   /* NOTICE COOKIE: send the block again now, with it */
	RX_BUSY = 3,     /* NOTICE BUSY: wait, then try again */
	RX_REOPEN = 4,   /* the node has no such session (it restarted): a new one */
};

/* Cookie rounds one exchange may take before it is a protocol error. */
#define COOKIE_ROUNDS_MAX 4

/* A learnt owner: blocks whose owner OID is in shard /64 @c hi go to @c addr. */
struct steer {
	uint64_t hi;          /* the owner's high half (locale.node.shard), 0: free */
	uint64_t used;        /* exchange counter when last used (LRU) */
	struct sockaddr_storage addr;
	socklen_t len;
	/* In a session (docs/SECURITY.md §9.5): our session with the owner
	 * node, same principal and chains, opened on the first block steered
	 * there; refused: the owner would not open one, so the shard's blocks
	 * keep going through the server, which forwards them. */
	struct scpp_auth_client_session *cs;
	uint64_t sid;
	uint16_t lane;
	bool refused;
	uint8_t node_key[SCPP_AUTH_KEY_LEN];
};

struct scpp_client {
	int fd;
	uint64_t id;
	uint64_t next_block;
	uint64_t rng;
	bool has_cookie;   /* a cookie from the server: sent with every request */
	uint8_t cookie[SCPP_WIRE_COOKIE_LEN];
	unsigned int timeout_ms;
	unsigned int backoff_max_ms;
	unsigned int jitter_pct;
	unsigned int retries;
	unsigned int max_dgram;
	size_t max_reply;
	bool copy_results; /* scpp_client_config.copy_results */
	struct scpp_client_stats st;
	char server[SCPP_CLIENT_ADDR_STRLEN];
	struct sockaddr_storage server_ss; /* the configured server */
	socklen_t server_len;
	struct steer steer[SCPP_CLIENT_STEER];

	/* Where the exchange's requests go, and where its replies came from. */
	struct sockaddr_storage to;
	socklen_t to_len;
	struct sockaddr_storage from;
	socklen_t from_len;
	struct sockaddr_storage src; /* source of the datagram being handled */
	socklen_t src_len;
	struct steer *steered;       /* the entry the exchange was steered by */
	struct steer *xs;            /* its owner session, if the exchange uses one */
	bool dlg_reply;              /* a reply datagram came on a delegated lane */

	/* Per-exchange state, reset by exchange_reset(). */
	uint8_t *msg;      /* reply message so far; handed to the reply on success */
	size_t msg_len;
	size_t msg_cap;
	uint32_t next_seq; /* first sequence number not appended yet */
	uint32_t max_seq;  /* highest sequence number seen (valid if any_seen) */
	bool any_seen;
	uint32_t last_seq; /* valid when last_known */
	uint16_t busy_ms;  /* retry_ms of the last NOTICE BUSY */
	struct scpp_oid owner; /* the block's owner (scpp_wire_block_owner()), for FETCH */
	bool last_known;
	bool stream_done;  /* the LAST datagram has been appended */
	size_t held;       /* payload bytes held in win[] */
	unsigned int nheld; /* slots of win[] in use: window_clear() skips an empty window */
	struct scpp_wire_reply_reader rd;
	struct scpp_client_reply end; /* END fields as decoded */
	struct slot win[SCPP_CLIENT_WINDOW];

	uint8_t *enc;      /* encoded block */
	size_t enc_cap;
	uint8_t *dgram;    /* one outgoing datagram, max_dgram bytes */
	uint8_t *tx;       /* a block's datagrams (send_burst()), FRAGS_MAX x max_dgram; lazily */
	size_t txlen[SCPP_WIRE_FRAGS_MAX];
	uint8_t *rbuf;     /* one incoming datagram, RECV_BUF bytes */
	uint8_t *rbatch;   /* RECV_BATCH incoming datagrams (receive()), lazily */
	struct scpp_wire_record rec;
	struct scpp_wire_block blk; /* for scpp_client_exec_text() */

	/* A batch (scpp_client_exec_many()): block ids pend_lo .. pend_lo +
	 * pend_n - 1 are in flight; their datagrams are stashed meanwhile. */
	uint64_t pend_lo;
	uint64_t pend_n;
	struct stash_ent *stash; /* STASH_MAX, lazily */
	size_t nstash;
	size_t stash_bytes;

	/* The session, once open (scpp_client_session_open()). */
	struct scpp_auth_client_session *cs;
	uint16_t lane;
	uint16_t server_port;
	uint8_t node_key[SCPP_AUTH_KEY_LEN];
	uint8_t principal[SCPP_AUTH_KEY_LEN];
	/* What opened it, kept to open it again after a node restart. */
	struct scpp_auth_keypair key;
	uint8_t *chain[SCPP_AUTH_CHAINS_MAX];
	size_t chain_len[SCPP_AUTH_CHAINS_MAX];
	unsigned int nchains;
	int lane_arg;
	bool reopening;    /* session_reopen() is calling scpp_client_session_open() */
};

/* The session the exchange's datagrams are sealed under: the owner's
 * (c->xs) when steered to an owner in a session, else the server's. */
static inline struct scpp_auth_client_session *
cur_cs(const struct scpp_client *c)
{
	return c->xs != NULL ? c->xs->cs : c->cs;
}

static inline uint64_t
cur_id(const struct scpp_client *c)
{
	return c->xs != NULL ? c->xs->sid : c->id;
}

static inline uint16_t
cur_lane(const struct scpp_client *c)
{
	return c->xs != NULL ? c->xs->lane : c->lane;
}

/* ---- addresses ---- */

static int
parse_port(const char *p, uint16_t *port)
{
	unsigned long v = 0;

	if (*p == '\0')
		return -EINVAL;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > 65535)
			return -EINVAL;
	}
	if (v == 0)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

static int
resolve(const char *host, bool numeric_v6, uint16_t port, struct sockaddr_storage *ss,
	socklen_t *sslen)
{
	struct addrinfo hints, *res, *ai;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = numeric_v6 ? AF_INET6 : AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = numeric_v6 ? AI_NUMERICHOST : 0;
	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0)
		return numeric_v6 ? -EINVAL : -ENOENT;
	rc = -ENOENT;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		memset(ss, 0, sizeof(*ss));
		memcpy(ss, ai->ai_addr, ai->ai_addrlen);
		*sslen = ai->ai_addrlen;
		if (ai->ai_family == AF_INET)
			((struct sockaddr_in *)ss)->sin_port = htons(port);
		else
			((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
		rc = 0;
		break;
	}
	freeaddrinfo(res);
	return rc;
}

int
scpp_client_addr_parse(const char *s, struct sockaddr_storage *ss, socklen_t *sslen)
{
	char host[ADDR_TEXT_MAX + 1];
	uint16_t port = SCPP_CLIENT_PORT_DEFAULT;
	const char *colon;
	size_t len;
	int rc;

	if (s == NULL || ss == NULL || sslen == NULL)
		return -EINVAL;
	len = strlen(s);
	if (len == 0 || len > ADDR_TEXT_MAX)
		return -EINVAL;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close == s + 1)
			return -EINVAL;
		if (close[1] != '\0') {
			if (close[1] != ':')
				return -EINVAL;
			rc = parse_port(close + 2, &port);
			if (rc < 0)
				return rc;
		}
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = '\0';
		return resolve(host, true, port, ss, sslen);
	}
	if (strchr(s, ']') != NULL)
		return -EINVAL;

	colon = strchr(s, ':');
	if (colon != NULL && strchr(colon + 1, ':') != NULL)
		return resolve(s, true, port, ss, sslen); /* bare IPv6, default port */
	if (colon != NULL) {
		if (colon == s)
			return -EINVAL;
		rc = parse_port(colon + 1, &port);
		if (rc < 0)
			return rc;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
	} else {
		memcpy(host, s, len + 1);
	}
	return resolve(host, false, port, ss, sslen);
}

int
scpp_client_addr_format(const struct sockaddr *sa, char *buf, size_t size)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];
	socklen_t salen;
	int n;

	if (sa == NULL || buf == NULL)
		return -EINVAL;
	if (sa->sa_family == AF_INET)
		salen = sizeof(struct sockaddr_in);
	else if (sa->sa_family == AF_INET6)
		salen = sizeof(struct sockaddr_in6);
	else
		return -EINVAL;
	if (getnameinfo(sa, salen, host, sizeof(host), serv, sizeof(serv),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		return -EINVAL;
	n = snprintf(buf, size, sa->sa_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, serv);
	return n < 0 || (size_t)n >= size ? -ENOSPC : 0;
}

/* ---- control ---- */

void
scpp_client_config_init(struct scpp_client_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->server = SCPP_CLIENT_SERVER_DEFAULT;
	cfg->timeout_ms = 200;
	cfg->backoff_max_ms = 1000;
	cfg->jitter_pct = 25;
	cfg->retries = 5;
	cfg->max_dgram = SCPP_WIRE_DGRAM_DEFAULT;
	cfg->max_reply = MAX_REPLY_DEFAULT;
}

static bool
config_valid(const struct scpp_client_config *cfg)
{
	return cfg->server != NULL && cfg->timeout_ms >= 1 && cfg->timeout_ms <= 60000 &&
	       cfg->backoff_max_ms >= cfg->timeout_ms && cfg->backoff_max_ms <= 600000 &&
	       cfg->jitter_pct <= 100 && cfg->retries <= 100 &&
	       cfg->max_dgram > SCPP_WIRE_HDR_LEN && cfg->max_dgram <= SCPP_WIRE_DGRAM_MAX &&
	       cfg->max_reply >= 64;
}

static int
random_u64(uint64_t *out)
{
	size_t got = 0;

	while (got < sizeof(*out)) {
		ssize_t n = getrandom((uint8_t *)out + got, sizeof(*out) - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	return 0;
}

/* xorshift64*: jitter only needs to decorrelate clients, not be secret. */
static uint64_t
rng_next(struct scpp_client *c)
{
	uint64_t x = c->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	c->rng = x;
	return x * UINT64_C(0x2545f4914f6cdd1d);
}

/* Bind @p fd to the any address and @p port (0: the kernel picks one). */
static int
bind_any(int fd, int family, uint16_t port)
{
	struct sockaddr_storage any;
	socklen_t len;
	int on = 1;

	memset(&any, 0, sizeof(any));
	any.ss_family = (sa_family_t)family;
	if (family == AF_INET6)
		((struct sockaddr_in6 *)&any)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)&any)->sin_port = htons(port);
	len = family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	if (family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof(on));
	else
		(void)setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof(on));
	return bind(fd, (struct sockaddr *)&any, len);
}

struct scpp_client *
scpp_client_create(const struct scpp_client_config *cfg)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct scpp_client *c;
	int rc, rcvbuf;

	if (cfg == NULL || !config_valid(cfg)) {
		errno = EINVAL;
		return NULL;
	}
	rc = scpp_client_addr_parse(cfg->server, &ss, &sslen);
	if (rc < 0) {
		errno = -rc;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		goto err_errno;
	c->fd = -1;
	c->timeout_ms = cfg->timeout_ms;
	c->backoff_max_ms = cfg->backoff_max_ms;
	c->jitter_pct = cfg->jitter_pct;
	c->retries = cfg->retries;
	c->max_dgram = cfg->max_dgram;
	c->max_reply = cfg->max_reply;
	c->copy_results = cfg->copy_results;
	c->id = cfg->client_id;
	c->next_block = cfg->first_block_id;
	while (c->id == 0) /* 0 is "unset" in the config: never use it */
		if ((rc = random_u64(&c->id)) < 0)
			goto err_rc;
	if (c->next_block == 0 && (rc = random_u64(&c->next_block)) < 0)
		goto err_rc;
	if ((rc = random_u64(&c->rng)) < 0)
		goto err_rc;
	c->rng |= 1; /* xorshift state must not be 0 */
	c->server_port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
						      : ((struct sockaddr_in6 *)&ss)->sin6_port);
	if (scpp_client_addr_format((struct sockaddr *)&ss, c->server, sizeof(c->server)) < 0)
		snprintf(c->server, sizeof(c->server), "%s", cfg->server);

	c->dgram = malloc(c->max_dgram);
	c->rbuf = malloc(RECV_BUF);
	if (c->dgram == NULL || c->rbuf == NULL)
		goto err_errno;
	c->fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		goto err_errno;
	/* A reply streams in faster than we may read it; a large receive
	 * buffer saves retransmissions. Best effort: the kernel caps it at
	 * net.core.rmem_max. Not sized from max_reply: the kernel charges
	 * each datagram its whole buffer (~1 KiB for a few payload bytes), so
	 * a buffer near max_reply drops most of a stream, the same datagrams
	 * on every retry, and a reply that should fail with -EFBIG times out
	 * instead (seen on a loaded machine). max_reply bounds reassembly,
	 * which is where the memory is. */
	rcvbuf = RCVBUF_WANT;
	(void)setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	/* Not connected: a block sent to one node may be answered by the node
	 * that owns it (forwarding, docs/CLUSTER.md §7), and later blocks go
	 * straight there. One socket, bound once, so that every block has the
	 * same source address and port (the node's at-most-once key) whichever
	 * node it goes to. IP_RECVERR makes an ICMP port unreachable end the
	 * exchange with ECONNREFUSED, as a connected socket would. */
	memcpy(&c->server_ss, &ss, sslen);
	c->server_len = sslen;
	if (bind_any(c->fd, ss.ss_family, cfg->local_port) < 0)
		goto err_errno;
	return c;

err_errno:
	rc = -errno;
err_rc:
	scpp_client_free(c);
	errno = -rc;
	return NULL;
}

static void stash_clear(struct scpp_client *c);

static void
window_clear(struct scpp_client *c)
{
	unsigned int i;

	/* Most replies arrive in order: nothing held, and the 1 024 slots
	 * are not walked for every exchange (a read of 1 MiB is 8). */
	for (i = 0; c->nheld > 0 && i < SCPP_CLIENT_WINDOW; i++) {
		if (c->win[i].data != NULL) {
			free(c->win[i].data);
			c->win[i].data = NULL;
			c->nheld--;
		}
	}
	c->nheld = 0;
	c->held = 0;
}

static void session_close(struct scpp_client *c);

/* Forget the credentials kept for re-opening the session. */
static void
creds_free(struct scpp_client *c)
{
	for (unsigned int i = 0; i < c->nchains; i++) {
		free(c->chain[i]);
		c->chain[i] = NULL;
	}
	c->nchains = 0;
	scpp_auth_key_wipe(&c->key);
}

void
scpp_client_free(struct scpp_client *c)
{
	if (c == NULL)
		return;
	session_close(c);
	creds_free(c);
	if (c->fd >= 0)
		close(c->fd);
	window_clear(c);
	free(c->msg);
	free(c->enc);
	free(c->dgram);
	free(c->tx);
	free(c->rbatch);
	stash_clear(c);
	free(c->stash);
	free(c->rbuf);
	free(c);
}

uint64_t
scpp_client_id(const struct scpp_client *c)
{
	return c->id;
}

uint64_t
scpp_client_next_block_id(const struct scpp_client *c)
{
	return c->next_block;
}

const char *
scpp_client_server(const struct scpp_client *c)
{
	return c->server;
}

int
scpp_client_fd(const struct scpp_client *c)
{
	return c->fd;
}

void
scpp_client_stats_get(const struct scpp_client *c, struct scpp_client_stats *st)
{
	*st = c->st;
}

void
scpp_client_reply_free(struct scpp_client_reply *r)
{
	if (r == NULL)
		return;
	free(r->msg);
	memset(r, 0, sizeof(*r));
}

/* ---- sessions (docs/SECURITY.md §5) ---- */

const char *
scpp_client_key_path(const char *named, char *buf, size_t size, bool *explicit_out)
{
	const char *env = getenv("SCPP_KEY"), *home = getenv("HOME");

	*explicit_out = true;
	if (named != NULL)
		return named;
	if (env != NULL && *env != '\0')
		return env;
	*explicit_out = false;
	snprintf(buf, size, "%s/.config/scpp/key", home != NULL ? home : ".");
	if (access(buf, F_OK) == 0)
		return buf;
	if (access(SCPP_CLIENT_NODE_KEY_DEFAULT, R_OK) == 0)
		return SCPP_CLIENT_NODE_KEY_DEFAULT;
	return NULL;
}

int
scpp_client_chain_read(const char *path, uint8_t **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	size_t n;

	if (f == NULL)
		return -errno;
	buf = malloc(SCPP_AUTH_CHAIN_BYTES_MAX + 1);
	if (buf == NULL) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(buf, 1, SCPP_AUTH_CHAIN_BYTES_MAX + 1, f);
	fclose(f);
	if (n > SCPP_AUTH_CHAIN_BYTES_MAX) {
		free(buf);
		return -EFBIG;
	}
	*out = buf;
	*len = n;
	return 0;
}

static uint64_t now_ms(void);
static unsigned int try_timeout(struct scpp_client *c, unsigned int k);

static int
send_raw(struct scpp_client *c, const struct sockaddr_storage *to, socklen_t to_len,
	 const uint8_t *p, size_t n)
{
	/* The socket is unconnected (replies may come from an owner, §18). */
	while (sendto(c->fd, p, n, 0, (const struct sockaddr *)to, to_len) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	c->st.dgrams_sent++;
	c->st.bytes_sent += n;
	return 0;
}

/*
 * Wait up to @p timeout ms for a handshake answer of kind @p k1 or @p k2
 * for handshake @p hs_id; its length, 0 on timeout, or an error. Anything
 * else is dropped and counted as for exchanges.
 */
static int
hs_wait(struct scpp_client *c, uint64_t hs_id, uint8_t k1, uint8_t k2, unsigned int timeout)
{
	uint64_t deadline = now_ms() + timeout;
	struct pollfd pfd = {.fd = c->fd, .events = POLLIN};

	for (;;) {
		uint64_t now = now_ms();
		struct scpp_wire_hdr h;
		ssize_t n;
		int rc;

		if (now >= deadline)
			return 0;
		rc = poll(&pfd, 1, (int)(deadline - now));
		if (rc < 0 && errno != EINTR)
			return -errno;
		if (rc <= 0)
			continue;
		n = recv(c->fd, c->rbuf, RECV_BUF, MSG_DONTWAIT | MSG_TRUNC);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				continue;
			return -errno;
		}
		c->st.dgrams_recv++;
		c->st.bytes_recv += (size_t)n;
		if ((size_t)n >= RECV_BUF || scpp_wire_hdr_decode(c->rbuf, (size_t)n, &h) < 0) {
			c->st.malformed++;
			continue;
		}
		if ((h.kind != k1 && h.kind != k2) || h.block_id != hs_id) {
			c->st.strays++;
			continue;
		}
		return (int)n;
	}
}

/* Send every datagram of the FINISH message @p msg. */
static int
send_finish(struct scpp_client *c, const struct sockaddr_storage *to, socklen_t to_len,
	    const uint8_t *msg, size_t len, uint64_t hs_id)
{
	unsigned int nf = scpp_auth_finish_frags(len, c->max_dgram);
	int rc;

	if (nf == 0)
		return -EMSGSIZE;
	for (unsigned int i = 0; i < nf; i++) {
		int n = scpp_auth_finish_dgram(msg, len, hs_id, i, c->max_dgram, c->dgram,
					       c->max_dgram);

		if (n < 0)
			return n;
		if ((rc = send_raw(c, to, to_len, c->dgram, (size_t)n)) < 0)
			return rc;
	}
	c->st.handshakes++;
	return 0;
}

/*
 * One handshake with the node at @p to (HELLO until a CHALLENGE, FINISH
 * until an ACCEPT or a REJECT): the session in *cs, the node's key in
 * @p node_key (pinned to a->node_key if set).
 */
static int
handshake(struct scpp_client *c, const struct sockaddr_storage *to, socklen_t to_len,
	  const struct scpp_client_auth *a, struct scpp_auth_client_session **cs,
	  uint8_t node_key[SCPP_AUTH_KEY_LEN], struct scpp_auth_reject *rej)
{
	static const uint8_t empty_chain[SCPP_AUTH_CHAIN_HDR] = {'S', 'N', 1, 0};
	struct scpp_auth_initiator_config ic;
	struct scpp_auth_initiator *ini;
	uint8_t hello[SCPP_WIRE_HDR_LEN + SCPP_AUTH_HELLO_LEN], *fin = NULL;
	uint64_t hs_id = 0;
	int rc = -ETIMEDOUT, n = 0, flen = 0;
	unsigned int k;

	memset(&ic, 0, sizeof(ic));
	ic.principal = a->key;
	for (unsigned int i = 0; i < a->nchains; i++) {
		ic.chain[i] = a->chain[i];
		ic.chain_len[i] = a->chain_len[i];
	}
	ic.nchains = a->nchains;
	if (a->nchains == 0) {
		ic.chain[0] = empty_chain;
		ic.chain_len[0] = sizeof(empty_chain);
		ic.nchains = 1;
	}
	ic.node_key = a->node_key;
	while (hs_id == 0)
		if ((rc = random_u64(&hs_id)) < 0)
			return rc;
	ic.hs_id = hs_id;
	ini = scpp_auth_initiator_create(&ic);
	if (ini == NULL)
		return -errno;
	fin = malloc(SCPP_AUTH_FINISH_MAX);
	if (fin == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	n = scpp_auth_initiator_hello(ini, hello, sizeof(hello));
	if (n < 0) {
		rc = n;
		goto out;
	}
	/* HELLO until a CHALLENGE comes. */
	for (k = 0, rc = 0; k <= c->retries && rc == 0; k++) {
		c->st.handshakes++;
		if ((rc = send_raw(c, to, to_len, hello, (size_t)n)) < 0)
			goto out;
		rc = hs_wait(c, hs_id, SCPP_AUTH_KIND_CHALLENGE, SCPP_AUTH_KIND_CHALLENGE,
			     try_timeout(c, k));
	}
	if (rc <= 0) {
		rc = rc == 0 ? -ETIMEDOUT : rc;
		goto out;
	}
	flen = scpp_auth_initiator_challenge(ini, c->rbuf, (size_t)rc, fin, SCPP_AUTH_FINISH_MAX,
					     node_key);
	if (flen < 0) {
		rc = flen;
		goto out;
	}
	/* FINISH until an ACCEPT or a REJECT comes (a FINISH sent twice is
	 * answered with the same ACCEPT: it opens one session). */
	for (k = 0, rc = 0; k <= c->retries && rc == 0; k++) {
		if ((rc = send_finish(c, to, to_len, fin, (size_t)flen, hs_id)) < 0)
			goto out;
		rc = hs_wait(c, hs_id, SCPP_AUTH_KIND_ACCEPT, SCPP_AUTH_KIND_REJECT,
			     try_timeout(c, k));
	}
	if (rc <= 0) {
		rc = rc == 0 ? -ETIMEDOUT : rc;
		goto out;
	}
	rc = scpp_auth_initiator_accept(ini, c->rbuf, (size_t)rc, cs, rej);
out:
	if (fin != NULL) {
		sodium_memzero(fin, SCPP_AUTH_FINISH_MAX);
		free(fin);
	}
	scpp_auth_initiator_free(ini);
	return rc < 0 ? rc : 0;
}

/* The lane for a node's port: as scppd numbers its workers' ports. */
static uint16_t
lane_for(int lane_arg, uint16_t port, const struct scpp_auth_client_session *cs)
{
	uint16_t lane = 0;

	if (lane_arg >= 0)
		lane = (uint16_t)lane_arg;
	else if (port > SCPP_CLIENT_PORT_DEFAULT)
		lane = (uint16_t)(port - SCPP_CLIENT_PORT_DEFAULT - 1);
	return lane < scpp_auth_client_session_lanes(cs) ? lane : 0;
}

int
scpp_client_session_open(struct scpp_client *c, const struct scpp_client_auth *a,
			 struct scpp_auth_reject *rej)
{
	int rc;

	if (rej != NULL)
		memset(rej, 0, sizeof(*rej));
	if (c == NULL || a == NULL || a->key == NULL || a->nchains > SCPP_AUTH_CHAINS_MAX ||
	    c->cs != NULL)
		return -EINVAL;
	rc = handshake(c, &c->server_ss, c->server_len, a, &c->cs, c->node_key, rej);
	if (rc < 0)
		return rc;
	if (!c->reopening) {
		/* Kept for a re-open after a node restart (RX_REOPEN). */
		creds_free(c);
		c->key = *a->key;
		for (unsigned int i = 0; i < a->nchains; i++) {
			c->chain[i] = malloc(a->chain_len[i]);
			if (c->chain[i] == NULL)
				break;
			memcpy(c->chain[i], a->chain[i], a->chain_len[i]);
			c->chain_len[i] = a->chain_len[i];
			c->nchains = i + 1;
		}
		c->lane_arg = a->lane;
	}
	c->id = scpp_auth_client_session_id(c->cs);
	memcpy(c->principal, a->key->pk, SCPP_AUTH_KEY_LEN);
	c->lane = lane_for(a->lane, c->server_port, c->cs);
	/* Cookies proved the unauthenticated client's address; the session
	 * is keyed apart on the node, so start clean. */
	c->has_cookie = false;
	return 0;
}

/*
 * The node answered that it has no such session (it restarted, or the
 * session ended there): open a new one with the same credentials, pinned
 * to the node key the first handshake saw (a restarted node keeps its key;
 * another key is another node). The old session is dropped without a
 * CLOSE: the node does not know it.
 */
static int owner_open(struct scpp_client *c, struct steer *e);

/* The kept credentials as handshake arguments (pinned to @p pin if set). */
static void
creds_auth(const struct scpp_client *c, struct scpp_client_auth *a, const uint8_t *pin)
{
	memset(a, 0, sizeof(*a));
	a->key = &c->key;
	for (unsigned int i = 0; i < c->nchains; i++) {
		a->chain[i] = c->chain[i];
		a->chain_len[i] = c->chain_len[i];
	}
	a->nchains = c->nchains;
	a->node_key = pin;
	a->lane = c->lane_arg;
}

static int
session_reopen(struct scpp_client *c)
{
	struct scpp_client_auth a;
	struct scpp_auth_reject rej;
	uint8_t pin[SCPP_AUTH_KEY_LEN];
	int rc;

	if (c->xs != NULL) {
		/* The owner lost our session with it: open it again (pinned). */
		struct steer *e = c->xs;

		scpp_auth_client_session_free(e->cs);
		e->cs = NULL;
		rc = owner_open(c, e);
		if (rc == 0)
			c->st.reopened++;
		else
			c->xs = NULL;
		return rc;
	}
	memcpy(pin, c->node_key, sizeof(pin));
	creds_auth(c, &a, pin);
	scpp_auth_client_session_free(c->cs);
	c->cs = NULL;
	c->reopening = true;
	rc = scpp_client_session_open(c, &a, &rej);
	c->reopening = false;
	if (rc == 0)
		c->st.reopened++;
	/* Refused (a revoked or expired grant, say): the node's reason. */
	if (rc == -SCPP_AUTH_E_REJECTED && rej.code < 0)
		rc = rej.code;
	return rc;
}

int
scpp_client_session_info(const struct scpp_client *c, struct scpp_client_session_info *out)
{
	if (c == NULL || out == NULL || c->cs == NULL)
		return -ENOTCONN;
	memset(out, 0, sizeof(*out));
	out->id = scpp_auth_client_session_id(c->cs);
	out->expires_ns = scpp_auth_client_session_expires(c->cs);
	out->lanes = scpp_auth_client_session_lanes(c->cs);
	out->alg = scpp_auth_client_session_alg(c->cs);
	out->lane = c->lane;
	memcpy(out->node_key, c->node_key, SCPP_AUTH_KEY_LEN);
	memcpy(out->principal, c->principal, SCPP_AUTH_KEY_LEN);
	return 0;
}

/* ---- sessions with owners (docs/SECURITY.md §9.5) ---- */

/* Tell a node that session @p cs ends (one sealed CLOSE, best effort),
 * and free it. */
static void
close_sealed(struct scpp_client *c, struct scpp_auth_client_session *cs, uint64_t id,
	     uint16_t lane, const struct sockaddr_storage *to, socklen_t to_len)
{
	uint8_t d[SCPP_WIRE_HDR_LEN + SCPP_AUTH_CLOSE_LEN + SCPP_AUTH_TAG_LEN];
	int n = scpp_auth_close_encode(d, sizeof(d), id, 0);

	if (n > 0 && c->fd >= 0 && scpp_auth_client_seal(cs, lane, d, (size_t)n) == 0)
		(void)send_raw(c, to, to_len, d, (size_t)n);
	scpp_auth_client_session_free(cs);
}

/* End our session with the owner of @p e. */
static void
owner_close(struct scpp_client *c, struct steer *e)
{
	if (e->cs == NULL)
		return;
	close_sealed(c, e->cs, e->sid, e->lane, &e->addr, e->len);
	e->cs = NULL;
	e->sid = 0;
	if (c->xs == e)
		c->xs = NULL;
}

/*
 * Open a session with the owner that answered for @p e, with the server
 * session's principal and chains: the owner checks them against its own
 * roots. Its node key is pinned once learnt (a re-open after its restart
 * must meet the same key). On a refusal (REJECT, silence) the entry is
 * marked refused and its blocks keep going through the server.
 */
static int
owner_open(struct scpp_client *c, struct steer *e)
{
	struct scpp_client_auth a;
	struct scpp_auth_reject rej;
	uint8_t pin[SCPP_AUTH_KEY_LEN];
	bool pinned = !sodium_is_zero(e->node_key, sizeof(e->node_key));
	uint16_t port = 0;
	int rc;

	if (pinned)
		memcpy(pin, e->node_key, sizeof(pin));
	creds_auth(c, &a, pinned ? pin : NULL);
	rc = handshake(c, &e->addr, e->len, &a, &e->cs, e->node_key, &rej);
	if (rc < 0) {
		e->cs = NULL;
		e->refused = true;
		c->st.owner_refused++;
		return rc;
	}
	e->sid = scpp_auth_client_session_id(e->cs);
	if (e->addr.ss_family == AF_INET)
		port = ntohs(((const struct sockaddr_in *)(const void *)&e->addr)->sin_port);
	else if (e->addr.ss_family == AF_INET6)
		port = ntohs(((const struct sockaddr_in6 *)(const void *)&e->addr)->sin6_port);
	e->lane = lane_for(-1, port, e->cs);
	c->st.owner_sessions++;
	return 0;
}

/* Tell the node the session ends (best effort: one sealed CLOSE). */
static void
session_close(struct scpp_client *c)
{
	if (c->cs == NULL)
		return;
	close_sealed(c, c->cs, c->id, c->lane, &c->server_ss, c->server_len);
	c->cs = NULL;
	for (unsigned int i = 0; i < SCPP_CLIENT_STEER; i++)
		owner_close(c, &c->steer[i]);
}

/* ---- one exchange ---- */

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Timeout of try @p k: doubling from timeout_ms, capped, plus jitter. */
static unsigned int
try_timeout(struct scpp_client *c, unsigned int k)
{
	uint64_t t = c->timeout_ms;
	uint64_t j;

	while (k-- > 0 && t < c->backoff_max_ms)
		t *= 2;
	if (t > c->backoff_max_ms)
		t = c->backoff_max_ms;
	j = t * c->jitter_pct / 100;
	if (j > 0)
		t += rng_next(c) % (j + 1);
	return (unsigned int)t;
}

static void
exchange_reset(struct scpp_client *c)
{
	window_clear(c);
	c->msg_len = 0;
	c->next_seq = 0;
	c->max_seq = 0;
	c->any_seen = false;
	c->last_seq = 0;
	c->last_known = false;
	c->stream_done = false;
	memset(&c->end, 0, sizeof(c->end));
	scpp_wire_reply_reader_init(&c->rd, c->msg, 0);
}

/* Payload bytes per fragment: the cookie, when there is one, and the
 * session tag take room. */
static size_t
frag_payload(const struct scpp_client *c, bool cookie)
{
	return c->max_dgram - SCPP_WIRE_HDR_LEN - (cookie ? SCPP_WIRE_COOKIE_LEN : 0) -
	       (cur_cs(c) != NULL ? SCPP_WIRE_SESSION_TAG_LEN : 0);
}

/* Encode one datagram built from @p h into @p buf, with the cookie if we
 * have one; in a session, sealed (a fresh counter for every transmission).
 * Returns its length or a negative error. */
static int
encode_dgram(struct scpp_client *c, struct scpp_wire_hdr *h, uint8_t *buf)
{
	int n, rc;

	if (c->has_cookie) {
		h->flags |= SCPP_WIRE_F_COOKIE;
		h->cookie = c->cookie;
	}
	if (cur_cs(c) != NULL) {
		h->flags |= SCPP_WIRE_F_SESSION;
		h->tag_len = SCPP_WIRE_SESSION_TAG_LEN;
		h->tag = NULL;
		h->client_id = cur_id(c);
	}
	n = scpp_wire_dgram_encode(buf, c->max_dgram, h);
	if (n < 0)
		return -EINVAL; /* cannot happen: sizes were checked */
	if (cur_cs(c) != NULL &&
	    (rc = scpp_auth_client_seal(cur_cs(c), cur_lane(c), buf, (size_t)n)) < 0)
		return rc;
	return n;
}

/* Send one datagram built from @p h (encode_dgram()). */
static int
send_dgram(struct scpp_client *c, struct scpp_wire_hdr *h)
{
	int n = encode_dgram(c, h, c->dgram);

	if (n < 0)
		return n;
	c->st.send_calls++;
	while (sendto(c->fd, c->dgram, (size_t)n, 0, (struct sockaddr *)&c->to, c->to_len) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	c->st.dgrams_sent++;
	c->st.bytes_sent += (unsigned int)n;
	return 0;
}

/*
 * Send the @p n datagrams encoded in c->tx (slot i at i * max_dgram, of
 * c->txlen[i] bytes) to c->to with as few sendmmsg() calls as the kernel
 * allows: one for a whole block, instead of one system call per fragment.
 */
static int
send_burst(struct scpp_client *c, unsigned int n)
{
	struct mmsghdr mm[SCPP_WIRE_FRAGS_MAX];
	struct iovec iov[SCPP_WIRE_FRAGS_MAX];
	unsigned int done = 0;

	for (unsigned int i = 0; i < n; i++) {
		iov[i].iov_base = c->tx + (size_t)i * c->max_dgram;
		iov[i].iov_len = c->txlen[i];
		memset(&mm[i], 0, sizeof(mm[i]));
		mm[i].msg_hdr.msg_name = &c->to;
		mm[i].msg_hdr.msg_namelen = c->to_len;
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	while (done < n) {
		int k;

		c->st.send_calls++;
		k = sendmmsg(c->fd, mm + done, n - done, 0);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int j = 0; j < k; j++)
			c->st.bytes_sent += c->txlen[done + (unsigned int)j];
		done += (unsigned int)k;
		c->st.dgrams_sent += (unsigned int)k;
	}
	return 0;
}

/* Send every fragment of the encoded block (@p enc, @p len bytes). */
static int
send_block(struct scpp_client *c, const uint8_t *enc, uint64_t block_id, size_t len)
{
	size_t per = frag_payload(c, c->has_cookie);
	uint32_t nfrag = len == 0 ? 1 : (uint32_t)((len + per - 1) / per);
	uint32_t i;
	int rc;

	if (c->tx == NULL) {
		c->tx = malloc((size_t)SCPP_WIRE_FRAGS_MAX * c->max_dgram);
		if (c->tx == NULL)
			return -ENOMEM;
	}
	for (i = 0; i < nfrag; i++) {
		size_t off = (size_t)i * per;
		struct scpp_wire_hdr h = {
			.kind = SCPP_WIRE_BLOCK,
			.flags = i == nfrag - 1 ? SCPP_WIRE_F_LAST : 0,
			.payload_len = (uint16_t)SCPP_MIN(per, len - off),
			.client_id = cur_id(c),
			.block_id = block_id,
			.frag_index = i,
			.frag_count = nfrag,
			.payload = enc + off,
		};

		if ((rc = encode_dgram(c, &h, c->tx + (size_t)i * c->max_dgram)) < 0)
			return rc;
		c->txlen[i] = (size_t)rc;
	}
	return send_burst(c, nfrag);
}

/* Is reply datagram @p seq (>= next_seq) still missing? */
static bool
missing(const struct scpp_client *c, uint32_t seq)
{
	const struct slot *s = &c->win[seq % SCPP_CLIENT_WINDOW];

	return seq == c->next_seq || s->data == NULL || s->seq != seq;
}

/*
 * Ask for the reply datagrams not received yet: the gaps up to the highest
 * one seen, and, while the end is unknown, everything after it.
 */
static int
send_fetch(struct scpp_client *c, uint64_t block_id)
{
	struct scpp_wire_fetch f = {.owner = c->owner};
	uint8_t p[SCPP_WIRE_FETCH_LEN(SCPP_WIRE_FETCH_RANGES_MAX)];
	uint32_t hi = c->last_known ? c->last_seq : c->max_seq, seq = c->next_seq;
	struct scpp_wire_hdr h = {
		.kind = SCPP_WIRE_FETCH, .flags = SCPP_WIRE_F_LAST, .client_id = cur_id(c),
		.block_id = block_id, .frag_count = 1, .payload = p,
	};
	int n;

	while (seq <= hi && seq - c->next_seq < SCPP_CLIENT_WINDOW &&
	       f.nranges < SCPP_WIRE_FETCH_RANGES_MAX) {
		uint32_t first = seq;

		if (!missing(c, seq)) {
			seq++;
			continue;
		}
		while (seq <= hi && seq - c->next_seq < SCPP_CLIENT_WINDOW && missing(c, seq))
			seq++;
		f.range[f.nranges++] = (struct scpp_wire_range){first, seq - first};
	}
	if (!c->last_known && f.nranges < SCPP_WIRE_FETCH_RANGES_MAX) {
		uint32_t first = hi + 1 > c->next_seq ? hi + 1 : c->next_seq;

		/* "Everything from first on": the node sends what exists. */
		f.range[f.nranges++] = (struct scpp_wire_range){
			first, (uint32_t)SCPP_MIN((UINT64_C(1) << 32) - first, UINT32_MAX)};
	}
	n = scpp_wire_fetch_encode(p, sizeof(p), &f);
	if (n < 0)
		return -EINVAL;
	h.payload_len = (uint16_t)n;
	c->st.fetches++;
	/* To the node that holds the reply: the one it came from; in a
	 * session, the node of the session, which forwards it with the
	 * session's principal when another node holds it (SECURITY.md §9.4). */
	if (c->from_len != 0 && c->cs == NULL) {
		c->to = c->from;
		c->to_len = c->from_len;
	}
	return send_dgram(c, &h);
}

/* Decode every complete record appended so far. */
static int
decode_records(struct scpp_client *c, scpp_client_record_fn fn, void *arg)
{
	int rc;

	scpp_wire_reply_reader_feed(&c->rd, c->msg, c->msg_len);
	for (;;) {
		rc = scpp_wire_reply_next(&c->rd, &c->rec);
		if (rc == 0 || rc == -SCPP_E_TRUNCATED)
			return 0;
		if (rc < 0)
			return rc;
		if (c->rec.type == SCPP_REC_END) {
			c->end.err = c->rec.end.err;
			c->end.outcome = c->rec.end.outcome;
			c->end.rows = c->rec.end.rows;
			c->end.commands = c->rec.end.commands;
			c->end.elapsed_ns = c->rec.end.elapsed_ns;
		}
		if (fn != NULL && (rc = fn(&c->rec, arg)) != 0)
			return rc < 0 ? rc : -ECANCELED;
	}
}

static int
append(struct scpp_client *c, const uint8_t *p, size_t len, bool last)
{
	/* Invariant: msg_len + held <= max_reply (so this cannot wrap). */
	if (len > c->max_reply - c->msg_len - c->held)
		return -EFBIG;
	if (c->msg_len + len > c->msg_cap) {
		/* Doubling keeps appends amortised O(1); the reader is re-fed
		 * the moved buffer in decode_records(). */
		size_t cap = c->msg_cap == 0 ? 4096 : c->msg_cap;
		uint8_t *m;

		while (cap < c->msg_len + len)
			cap *= 2;
		m = realloc(c->msg, cap);
		if (m == NULL)
			return -ENOMEM;
		c->msg = m;
		c->msg_cap = cap;
	}
	if (len > 0)
		memcpy(c->msg + c->msg_len, p, len);
	c->msg_len += len;
	c->next_seq++;
	c->st.reply_dgrams++;
	if (last)
		c->stream_done = true;
	return 0;
}

/* A NOTICE about our block (PROTOCOL §16): what the exchange does next. */
static int
handle_notice(struct scpp_client *c, const struct scpp_wire_hdr *h)
{
	struct scpp_wire_notice nt;

	if (scpp_wire_notice_decode(h->payload, h->payload_len, &nt) < 0) {
		c->st.malformed++;
		return RX_DROP;
	}
	c->st.notices++;
	switch (nt.code) {
	case SCPP_NOTICE_COOKIE:
		/* Refuse early what would not fit anyway. */
		if (nt.reply_bytes > c->max_reply)
			return -EFBIG;
		memcpy(c->cookie, nt.cookie, sizeof(c->cookie));
		c->has_cookie = true;
		return RX_RESEND;
	case SCPP_NOTICE_BUSY:
		c->busy_ms = nt.retry_ms;
		return RX_BUSY;
	case SCPP_NOTICE_STALE:
		return -SCPP_E_STALE_BLOCK;
	default: /* REPLY_LOST, NO_REPLY: it ran (we asked for its reply) */
		return -SCPP_E_REPLY_LOST;
	}
}

/* ---- the stash: reply datagrams of the other blocks of a batch ---- */

static void
stash_put(struct scpp_client *c, uint64_t block_id, const uint8_t *p, size_t n, uint16_t lane,
	  bool verified)
{
	struct stash_ent *e;

	if (c->nstash >= STASH_MAX || n > STASH_BYTES - c->stash_bytes ||
	    (c->stash == NULL && (c->stash = calloc(STASH_MAX, sizeof(*c->stash))) == NULL)) {
		c->st.stash_dropped++; /* a FETCH or the retransmission gets it again */
		return;
	}
	e = &c->stash[c->nstash];
	e->data = malloc(n);
	if (e->data == NULL) {
		c->st.stash_dropped++;
		return;
	}
	memcpy(e->data, p, n);
	e->len = n;
	e->block_id = block_id;
	e->lane = lane;
	e->verified = verified;
	memcpy(&e->src, &c->src, sizeof(e->src));
	e->src_len = c->src_len;
	c->nstash++;
	c->stash_bytes += n;
	c->st.stashed++;
}

static void
stash_clear(struct scpp_client *c)
{
	for (size_t i = 0; i < c->nstash; i++)
		free(c->stash[i].data);
	c->nstash = 0;
	c->stash_bytes = 0;
}

static int handle_dgram(struct scpp_client *c, uint64_t block_id, const uint8_t *p, size_t n,
			scpp_client_record_fn fn, void *arg, bool verified, uint16_t vlane);

/* A datagram read in the same burst after one that ended the receive loop
 * (a notice): kept unverified for the next receive() of its block -- this
 * one's or a later one of the batch --, as if it had stayed queued. */
static void
stash_later(struct scpp_client *c, uint64_t block_id, const uint8_t *p, size_t n)
{
	struct scpp_wire_hdr h;

	if (scpp_wire_hdr_decode(p, n, &h) < 0) {
		c->st.malformed++;
		return;
	}
	if (h.block_id != block_id && h.block_id - c->pend_lo >= c->pend_n) {
		c->st.strays++;
		return;
	}
	stash_put(c, h.block_id, p, n, 0, false);
}

/* Feed the stashed datagrams of @p block_id to the exchange, in arrival
 * order; stops at what ends the receive loop (as receive() does). */
static int
stash_take(struct scpp_client *c, uint64_t block_id, scpp_client_record_fn fn, void *arg)
{
	int rc = 0;
	size_t i = 0, j = 0;

	for (; i < c->nstash; i++) {
		struct stash_ent *e = &c->stash[i];

		if (e->block_id != block_id || rc < 0 || rc >= RX_RESEND || c->stream_done) {
			c->stash[j++] = *e;
			continue;
		}
		memcpy(&c->src, &e->src, sizeof(c->src));
		c->src_len = e->src_len;
		rc = handle_dgram(c, block_id, e->data, e->len, fn, arg, e->verified, e->lane);
		c->stash_bytes -= e->len;
		free(e->data);
	}
	c->nstash = j;
	return rc;
}

/*
 * Handle one received datagram. Returns RX_PROGRESS if it was a new
 * datagram of this reply (restart the idle timer), RX_DROP if dropped,
 * RX_RESEND or RX_BUSY for notices, or a negative error that ends the
 * exchange.
 */
static int
handle_dgram(struct scpp_client *c, uint64_t block_id, const uint8_t *p, size_t n,
	     scpp_client_record_fn fn, void *arg, bool verified, uint16_t vlane)
{
	struct scpp_wire_hdr h;
	uint16_t lane = 0;
	bool last;
	uint32_t seq;
	struct slot *s;
	int rc;

	if (scpp_wire_hdr_decode(p, n, &h) < 0) {
		c->st.malformed++;
		return RX_DROP;
	}
	/* In a session, the node saying it does not have it (it restarted):
	 * open a new one, once per exchange (SECURITY.md §6.4). Anyone could
	 * send this; it costs a handshake, never a block run twice (the block
	 * did not run under a session the node does not have). */
	if (!verified && cur_cs(c) != NULL && h.kind == SCPP_AUTH_KIND_REJECT &&
	    !(h.flags & SCPP_WIRE_F_SESSION) && h.client_id == cur_id(c) &&
	    h.block_id == block_id && h.payload_len == SCPP_AUTH_REJECT_LEN) {
		struct scpp_auth_reject rj;

		if (scpp_auth_reject_decode(h.payload, h.payload_len, &rj) == 0 &&
		    (rj.code == -SCPP_AUTH_E_NO_SESSION || rj.code == -SCPP_AUTH_E_SESSION_EXPIRED))
			return RX_REOPEN;
	}
	/* In a session, only what the node sealed for it counts (a stashed
	 * datagram was verified when it arrived: its counter is spent). */
	if (verified) {
		lane = vlane;
	} else if (cur_cs(c) != NULL && (!(h.flags & SCPP_WIRE_F_SESSION) ||
					 scpp_auth_client_open(cur_cs(c), p, n, &lane) != 0)) {
		c->st.forged++;
		return RX_DROP;
	}
	if ((h.kind == SCPP_WIRE_REPLY || h.kind == SCPP_WIRE_NOTICE) && h.client_id == cur_id(c) &&
	    h.block_id != block_id && h.block_id - c->pend_lo < c->pend_n) {
		/* Another block of this batch (scpp_client_exec_many()): kept
		 * for its turn. */
		stash_put(c, h.block_id, p, n, lane, true);
		return RX_DROP;
	}
	if ((h.kind != SCPP_WIRE_REPLY && h.kind != SCPP_WIRE_NOTICE) || h.client_id != cur_id(c) ||
	    h.block_id != block_id) {
		c->st.strays++;
		return RX_DROP;
	}
	if (h.kind == SCPP_WIRE_NOTICE) {
		rc = handle_notice(c, &h);
		/* A cookie is the issuing node's: the block goes there with it
		 * (in a session, through the session's node, which forwards the
		 * cookie to its issuer). */
		if (rc == RX_RESEND && c->cs == NULL) {
			c->to = c->src;
			c->to_len = c->src_len;
		}
		return rc;
	}
	/* The node answering: the owner, which may not be where we sent (in a
	 * session, on a delegated lane: SECURITY.md §9.4). */
	c->from = c->src;
	c->from_len = c->src_len;
	if (lane & SCPP_AUTH_LANE_DELEGATED)
		c->dlg_reply = true;
	seq = h.frag_index;
	last = (h.flags & SCPP_WIRE_F_LAST) != 0;
	if (seq < c->next_seq) {
		c->st.duplicates++;
		return 0;
	}
	/* Nothing may follow LAST, and there is one LAST. */
	if ((c->last_known && seq > c->last_seq) || (last && c->last_known && seq != c->last_seq)) {
		c->st.malformed++;
		return 0;
	}
	if (seq - c->next_seq >= SCPP_CLIENT_WINDOW) {
		c->st.out_of_window++;
		return 0;
	}
	if (!c->any_seen || seq > c->max_seq)
		c->max_seq = seq;
	c->any_seen = true;
	if (last) {
		c->last_known = true;
		c->last_seq = seq;
	}
	if (seq > c->next_seq) {
		s = &c->win[seq % SCPP_CLIENT_WINDOW];
		if (s->data != NULL) { /* same seq: window slots are unique */
			c->st.duplicates++;
			return 0;
		}
		/* Held bytes count against max_reply too, so a flood of early
		 * datagrams cannot grow memory past it. */
		if (h.payload_len > c->max_reply - c->msg_len - c->held)
			return -EFBIG;
		s->data = malloc(h.payload_len == 0 ? 1 : h.payload_len);
		if (s->data == NULL)
			return -ENOMEM;
		memcpy(s->data, h.payload, h.payload_len);
		s->seq = seq;
		s->len = h.payload_len;
		s->last = last;
		c->held += h.payload_len;
		c->nheld++;
		c->st.reordered++;
		return 1;
	}

	rc = append(c, h.payload, h.payload_len, last);
	/* Drain the held datagrams that are now in order. */
	while (rc == 0 && !c->stream_done) {
		s = &c->win[c->next_seq % SCPP_CLIENT_WINDOW];
		if (s->data == NULL || s->seq != c->next_seq)
			break;
		c->held -= s->len;
		rc = append(c, s->data, s->len, s->last);
		free(s->data);
		s->data = NULL;
		c->nheld--;
	}
	if (rc == 0)
		rc = decode_records(c, fn, arg);
	/* state 2 = after END (struct scpp_wire_reply_reader). */
	if (rc == 0 && c->stream_done && c->rd.state != 2)
		rc = -SCPP_E_TRUNCATED; /* LAST came before the END record */
	return rc < 0 ? rc : 1;
}

/* Empty the socket's error queue (IP_RECVERR), so that poll() stops
 * reporting an error the exchange has already returned. */
static void
drain_errors(struct scpp_client *c)
{
	uint8_t buf[64], ctl[512];

	for (int i = 0; i < 64; i++) {
		struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
				    .msg_controllen = sizeof(ctl)};

		if (recvmsg(c->fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			break;
	}
}

/* Receive until the reply is complete or @p timeout ms pass without
 * progress. Datagrams are taken RECV_BATCH at a time (recvmmsg()): one
 * system call per burst of a streaming reply, not one per datagram. */
static int
receive(struct scpp_client *c, uint64_t block_id, unsigned int timeout, scpp_client_record_fn fn,
	void *arg)
{
	uint64_t deadline = now_ms() + timeout;
	struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
	struct mmsghdr mm[RECV_BATCH];
	struct iovec iov[RECV_BATCH];
	struct sockaddr_storage from[RECV_BATCH];
	int rc;

	/* What arrived for this block during an earlier block of its batch. */
	if (c->nstash > 0) {
		rc = stash_take(c, block_id, fn, arg);
		if (rc < 0 || rc == RX_RESEND || rc == RX_BUSY || rc == RX_REOPEN)
			return rc;
	}
	if (c->rbatch == NULL && (c->rbatch = malloc((size_t)RECV_BATCH * RECV_BUF)) == NULL)
		return -ENOMEM;
	while (!c->stream_done) {
		uint64_t now = now_ms();
		int got;

		if (now >= deadline)
			return -ETIMEDOUT;
		rc = poll(&pfd, 1, (int)(deadline - now));
		if (rc < 0 && errno != EINTR)
			return -errno;
		if (rc <= 0)
			continue;
		/* Drain what is queued before looking at the clock again. */
		while (!c->stream_done) {
			for (unsigned int i = 0; i < RECV_BATCH; i++) {
				iov[i].iov_base = c->rbatch + (size_t)i * RECV_BUF;
				iov[i].iov_len = RECV_BUF;
				memset(&mm[i], 0, sizeof(mm[i]));
				mm[i].msg_hdr.msg_name = &from[i];
				mm[i].msg_hdr.msg_namelen = sizeof(from[i]);
				mm[i].msg_hdr.msg_iov = &iov[i];
				mm[i].msg_hdr.msg_iovlen = 1;
			}
			c->st.recv_calls++;
			got = recvmmsg(c->fd, mm, RECV_BATCH, MSG_DONTWAIT, NULL);
			if (got < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
					break;
				rc = -errno; /* ECONNREFUSED: ICMP port unreachable */
				drain_errors(c);
				return rc;
			}
			for (int i = 0; i < got; i++) {
				size_t n = mm[i].msg_len;

				c->st.dgrams_recv++;
				c->st.bytes_recv += n;
				if (n >= RECV_BUF || (mm[i].msg_hdr.msg_flags & MSG_TRUNC)) {
					c->st.malformed++;
					continue;
				}
				memcpy(&c->src, &from[i], sizeof(c->src));
				c->src_len = mm[i].msg_hdr.msg_namelen;
				if (c->stream_done) {
					/* Past this reply's LAST in the same burst: a
					 * later block's (kept) or a stray. */
					(void)handle_dgram(c, block_id, iov[i].iov_base, n, fn, arg,
							   false, 0);
					continue;
				}
				rc = handle_dgram(c, block_id, iov[i].iov_base, n, fn, arg, false, 0);
				if (rc < 0 || rc == RX_RESEND || rc == RX_BUSY || rc == RX_REOPEN) {
					/* The rest of the burst: kept if it is a later
					 * block's, else as if it came after. */
					for (int k = i + 1; k < got; k++) {
						memcpy(&c->src, &from[k], sizeof(c->src));
						c->src_len = mm[k].msg_hdr.msg_namelen;
						c->st.dgrams_recv++;
						c->st.bytes_recv += mm[k].msg_len;
						if (mm[k].msg_len < RECV_BUF &&
						    !(mm[k].msg_hdr.msg_flags & MSG_TRUNC))
							stash_later(c, block_id, iov[k].iov_base,
								    mm[k].msg_len);
					}
					return rc;
				}
				if (rc == RX_PROGRESS)
					deadline = now_ms() + timeout;
			}
		}
	}
	return 0;
}

/* ---- steering: where a block's owner answers from ---- */

static bool
addr_equal(const struct sockaddr_storage *a, socklen_t alen, const struct sockaddr_storage *b,
	   socklen_t blen)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0 &&
		       x->sin6_scope_id == y->sin6_scope_id;
	}
	return alen == blen && memcmp(a, b, alen) == 0;
}

static struct steer *
steer_find(struct scpp_client *c, uint64_t hi)
{
	for (unsigned int i = 0; i < SCPP_CLIENT_STEER; i++)
		if (c->steer[i].hi == hi && hi != 0)
			return &c->steer[i];
	return NULL;
}

/* The owner /64 @p hi answered from c->from: send its next blocks there. */
static void
steer_learn(struct scpp_client *c, uint64_t hi)
{
	struct steer *e = steer_find(c, hi);

	/* The same owner again (answering through the server because it
	 * refused a session of ours): the entry, and its refusal, stay. */
	if (e != NULL && addr_equal(&e->addr, e->len, &c->from, c->from_len)) {
		e->used = c->st.exchanges;
		return;
	}
	if (e == NULL) {
		e = &c->steer[0];
		for (unsigned int i = 1; i < SCPP_CLIENT_STEER && e->hi != 0; i++)
			if (c->steer[i].hi == 0 || c->steer[i].used < e->used)
				e = &c->steer[i];
	}
	owner_close(c, e); /* a session with the owner it named before */
	memset(e, 0, sizeof(*e));
	e->hi = hi;
	e->used = c->st.exchanges;
	e->addr = c->from;
	e->len = c->from_len;
	c->st.owners_learned++;
}

static void
steer_forget(struct scpp_client *c, struct steer *e)
{
	owner_close(c, e);
	memset(e, 0, sizeof(*e));
	c->st.owners_forgotten++;
}

/* Where the exchange starts: the learnt owner of its block, or the server. */
static void
steer_start(struct scpp_client *c)
{
	struct steer *e = scpp_oid_is_nil(c->owner) ? NULL : steer_find(c, c->owner.hi);

	c->xs = NULL;
	c->dlg_reply = false;
	/* In a session, a block goes to its owner under our session with it,
	 * opened now if there is none yet; an owner that refused one is
	 * reached through the server, which forwards. */
	if (e != NULL && c->cs != NULL) {
		if (e->cs == NULL && !e->refused)
			(void)owner_open(c, e);
		if (e->cs != NULL)
			c->xs = e;
		else
			e = NULL;
	}
	c->steered = e;
	c->from_len = 0;
	if (e != NULL) {
		e->used = c->st.exchanges;
		c->to = e->addr;
		c->to_len = e->len;
		c->st.steered++;
	} else {
		c->to = c->server_ss;
		c->to_len = c->server_len;
	}
}

/*
 * After the exchange: a reply from another address than the server's
 * teaches where the owner is; a steered block that got nothing, or that the
 * owner refused (E_NOT_HERE: the map changed), unlearns it.
 */
static void
steer_end(struct scpp_client *c, int rc)
{
	if (c->steered != NULL && (rc == -ETIMEDOUT || rc == -ECONNREFUSED ||
				   (rc == 0 && c->end.err == EREMOTE))) {
		steer_forget(c, c->steered);
		return;
	}
	if (rc != 0 || c->from_len == 0 || scpp_oid_is_nil(c->owner) || c->end.err == EREMOTE)
		return;
	/* In a session, only an owner that answered a block the server
	 * forwarded, on a delegated lane sealed with a key only our session's
	 * node could derive (docs/SECURITY.md §9.4), is learnt; a steered
	 * block answered under our session with the owner changes nothing. */
	if (c->cs != NULL && (c->xs != NULL || !c->dlg_reply))
		return;
	if (addr_equal(&c->from, c->from_len, &c->server_ss, c->server_len)) {
		if (c->steered != NULL)
			steer_forget(c, c->steered); /* the server owns it (again) */
		return;
	}
	if (c->steered == NULL ||
	    !addr_equal(&c->from, c->from_len, &c->steered->addr, c->steered->len))
		steer_learn(c, c->owner.hi);
}

/* Encode @p b into *@p enc (grown as needed): its length, or -EMSGSIZE /
 * -ENOMEM / -EINVAL. */
static int
encode_block(struct scpp_client *c, const struct scpp_wire_block *b, uint8_t **enc, size_t *cap)
{
	size_t len = scpp_wire_block_encoded_size(b);
	int rc;

	/* Counted with room for a cookie: a block must stay sendable when the
	 * node asks for one mid-exchange. */
	if (len > (size_t)SCPP_WIRE_FRAGS_MAX * frag_payload(c, true))
		return -EMSGSIZE;
	if (len > *cap) {
		uint8_t *e = realloc(*enc, len);

		if (e == NULL)
			return -ENOMEM;
		*enc = e;
		*cap = len;
	}
	rc = scpp_wire_block_encode(b, *enc, *cap);
	return rc < 0 ? -EINVAL : rc;
}

/*
 * The tries of one exchange (block @p block_id, encoded in @p enc), the
 * destination chosen (steer_start()). @p sent: its first transmission went
 * out already (a batch sends every block before waiting). Returns 0 with
 * the reply in c->msg/c->end, or the error; *@p tries the transmissions.
 */
static int
exchange_run(struct scpp_client *c, const uint8_t *enc, size_t len, uint64_t block_id, bool sent,
	     scpp_client_record_fn fn, void *arg, unsigned int *tries)
{
	bool reopened = false;
	unsigned int k;
	int rc = 0;

	/*
	 * Each try sends something and waits up to its timeout of silence:
	 * the block, or, once part of the reply arrived, a FETCH for the rest
	 * (the node holds the reply; the block must not be sent just to get
	 * bytes again). A cookie round is not a try: the node answered.
	 */
	for (k = 0; k <= c->retries; k++) {
		unsigned int t = try_timeout(c, k), rounds = 0;
		bool fetch = k > 0 && (c->next_seq > 0 || c->any_seen);

		c->st.tries++;
		c->st.wait_ms += t;
		if (k > 0 && !fetch)
			c->st.retransmits++;
		/* A learnt owner that said nothing: the server forwards. The
		 * block's key is ours, not the path's, so the owner still runs
		 * it at most once. Not under our session with the owner: its id
		 * is the key there, and the server's session has another, so
		 * the block stays with the owner (forgotten if it stays silent). */
		if (k > 0 && !fetch && c->steered != NULL && c->from_len == 0 && c->xs == NULL) {
			c->to = c->server_ss;
			c->to_len = c->server_len;
		}
		if (k > 0 || !sent)
			rc = fetch ? send_fetch(c, block_id) : send_block(c, enc, block_id, len);
		while (rc == 0 && ((rc = receive(c, block_id, t, fn, arg)) == RX_RESEND ||
				   (rc == RX_REOPEN && !reopened))) {
			if (rc == RX_REOPEN) {
				/* Nothing of the reply came under the old session. */
				reopened = true;
				rc = session_reopen(c);
				if (rc == 0) {
					exchange_reset(c);
					fetch = false;
					rc = send_block(c, enc, block_id, len);
				}
				continue;
			}
			if (++rounds > COOKIE_ROUNDS_MAX) {
				rc = -EPROTO;
				break;
			}
			c->st.cookie_rounds++;
			rc = fetch ? send_fetch(c, block_id) : send_block(c, enc, block_id, len);
		}
		if (rc == RX_REOPEN)
			rc = -ETIMEDOUT; /* a second one in this exchange: as silence */
		if (rc == RX_BUSY) {
			/* Wait as suggested (at most this try's timeout), then go on
			 * with the next try. */
			struct timespec ts = {.tv_sec = SCPP_MIN(c->busy_ms, t) / 1000,
					      .tv_nsec = (long)(SCPP_MIN(c->busy_ms, t) % 1000) *
							 1000000};

			c->st.busy++;
			nanosleep(&ts, NULL);
			rc = k == c->retries ? -EBUSY : -ETIMEDOUT;
		}
		if (rc != -ETIMEDOUT)
			break;
	}
	*tries = k + 1;
	window_clear(c);
	if (rc == -ETIMEDOUT)
		c->st.timeouts++;
	steer_end(c, rc < 0 ? rc : 0);
	return rc;
}

/* The reply of the exchange just run, handed to @p out. */
static void
reply_take(struct scpp_client *c, uint64_t block_id, unsigned int tries,
	   struct scpp_client_reply *out)
{
	*out = c->end;
	out->msg = c->msg;
	out->len = c->msg_len;
	out->block_id = block_id;
	out->dgrams = c->next_seq;
	out->tries = tries;
	/* The buffer now belongs to the reply; the next exchange allocates anew. */
	c->msg = NULL;
	c->msg_len = 0;
	c->msg_cap = 0;
}

/* A new exchange of block @p b: its owner, where it goes. */
static void
exchange_start(struct scpp_client *c, const struct scpp_wire_block *b)
{
	exchange_reset(c);
	if (!scpp_wire_block_owner(b, &c->owner))
		c->owner = SCPP_OID_NIL;
	c->st.exchanges++;
	steer_start(c);
}

int
scpp_client_exec_stream(struct scpp_client *c, const struct scpp_wire_block *b,
			scpp_client_record_fn fn, void *arg, struct scpp_client_reply *out)
{
	uint64_t block_id;
	unsigned int tries;
	int rc;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (c == NULL || b == NULL)
		return -EINVAL;
	if ((rc = encode_block(c, b, &c->enc, &c->enc_cap)) < 0)
		return rc;
	block_id = c->next_block++;
	exchange_start(c, b);
	rc = exchange_run(c, c->enc, (size_t)rc, block_id, false, fn, arg, &tries);
	if (rc < 0 || out == NULL)
		return rc;
	reply_take(c, block_id, tries, out);
	return 0;
}

/* Where one block of a batch went (steer_start() at its send). */
struct batch_dst {
	struct sockaddr_storage to;
	socklen_t to_len;
	struct steer *steered, *xs;
	struct scpp_oid owner;
	uint8_t *enc;
	size_t len, cap;
};

int
scpp_client_exec_many(struct scpp_client *c, const struct scpp_wire_block *const *b,
		      unsigned int n, struct scpp_client_reply *out)
{
	struct batch_dst d[SCPP_CLIENT_BATCH_MAX];
	uint64_t base, forgotten;
	unsigned int i, sent = 0;
	int rc = 0;

	if (out != NULL)
		memset(out, 0, sizeof(*out) * (n <= SCPP_CLIENT_BATCH_MAX ? n : 0));
	if (c == NULL || b == NULL || out == NULL || n == 0 || n > SCPP_CLIENT_BATCH_MAX)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (b[i] == NULL)
			return -EINVAL;
	memset(d, 0, sizeof(d[0]) * n);
	for (i = 0; i < n; i++) {
		int len = encode_block(c, b[i], &d[i].enc, &d[i].cap);

		if (len < 0) {
			rc = len;
			goto out;
		}
		d[i].len = (size_t)len;
	}
	/* Every block goes out first, each where a lone exchange would send
	 * it now, under consecutive ids; then each block's turn waits for
	 * its reply, in order. Datagrams of a later block that arrive during
	 * an earlier one's turn are kept for it (the stash). */
	base = c->next_block;
	c->next_block += n;
	for (i = 0; i < n; i++) {
		exchange_start(c, b[i]);
		d[i].to = c->to;
		d[i].to_len = c->to_len;
		d[i].steered = c->steered;
		d[i].xs = c->xs;
		d[i].owner = c->owner;
		c->st.exchanges--; /* counted at its turn */
		if (i > 0 && (d[i].xs != d[0].xs || d[i].steered != d[0].steered))
			break; /* another session or owner: sent at its turn */
		if ((rc = send_block(c, d[i].enc, base + i, d[i].len)) < 0)
			goto out;
		sent++;
	}
	c->st.batched += sent > 1 ? sent : 0;
	forgotten = c->st.owners_forgotten;
	for (i = 0; i < n; i++) {
		unsigned int tries;

		if (i < sent && c->st.owners_forgotten != forgotten) {
			/* An earlier turn unlearnt an owner (it answered E_NOT_HERE):
			 * its entry and owner session may be gone. A block sent
			 * there under that session cannot be sent anywhere else
			 * under another id; one sent without goes on as a
			 * retransmission through the server. */
			if (d[i].xs != NULL) {
				rc = -ENOTCONN;
				break;
			}
			d[i].steered = NULL;
		}

		exchange_reset(c);
		c->st.exchanges++;
		if (i < sent) {
			c->owner = d[i].owner;
			c->to = d[i].to;
			c->to_len = d[i].to_len;
			c->steered = d[i].steered;
			c->xs = d[i].xs;
			c->from_len = 0;
			c->dlg_reply = false;
		} else {
			c->st.exchanges--;
			exchange_start(c, b[i]);
		}
		c->pend_lo = base + i + 1;
		c->pend_n = sent > i + 1 ? sent - i - 1 : 0;
		rc = exchange_run(c, d[i].enc, d[i].len, base + i, i < sent, NULL, NULL, &tries);
		if (rc < 0)
			break;
		reply_take(c, base + i, tries, &out[i]);
	}
out:
	c->pend_n = 0;
	stash_clear(c);
	for (i = 0; i < n; i++)
		free(d[i].enc);
	if (rc < 0)
		for (i = 0; i < n; i++)
			scpp_client_reply_free(&out[i]);
	return rc;
}

int
scpp_client_exec(struct scpp_client *c, const struct scpp_wire_block *b,
		 struct scpp_client_reply *out)
{
	if (out == NULL)
		return -EINVAL;
	return scpp_client_exec_stream(c, b, NULL, NULL, out);
}

int
scpp_client_exec_text(struct scpp_client *c, const char *text, size_t len,
		      struct scpp_client_reply *out, struct scpp_lang_error *perr)
{
	uint8_t *arena;
	int rc;

	if (perr != NULL)
		memset(perr, 0, sizeof(*perr));
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (c == NULL || text == NULL || out == NULL)
		return -EINVAL;
	/* The parser needs at most len bytes of arena; the block borrows it
	 * (and the text) until it is encoded inside scpp_client_exec(). */
	arena = malloc(len == 0 ? 1 : len);
	if (arena == NULL)
		return -ENOMEM;
	rc = scpp_lang_parse(text, len, &c->blk, arena, len, perr);
	if (rc == 0 && c->copy_results)
		c->blk.flags |= SCPP_WIRE_BF_COPY_RESULTS;
	if (rc == 0)
		rc = scpp_client_exec(c, &c->blk, out);
	free(arena);
	return rc;
}

int
scpp_client_reply_copies(const struct scpp_client_reply *r, struct scpp_wire_copy_result *out,
			 unsigned int max)
{
	struct scpp_wire_reply_reader rd;
	struct scpp_wire_record rec;
	unsigned int n = 0;
	int rc;

	if (r == NULL || r->msg == NULL || (max > 0 && out == NULL))
		return -EINVAL;
	scpp_wire_reply_reader_init(&rd, r->msg, r->len);
	while ((rc = scpp_wire_reply_next(&rd, &rec)) == 1) {
		if (rec.type != SCPP_REC_COPY)
			continue;
		if (n < max)
			out[n] = rec.copy;
		if (n < INT32_MAX)
			n++;
	}
	return rc < 0 ? rc : (int)n;
}
