/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/client against a fake server: a thread with a UDP socket on
 * 127.0.0.1 that reassembles BLOCK fragments, "executes" each block id once
 * (a reply cache answers retransmissions, as scppd does) and answers with
 * replies built by the wire reply writer. Each test tells it how to
 * misbehave: cut replies small, shuffle and duplicate datagrams, lose
 * answers, stay silent, send strays or malformed replies.
 *
 * Timing: nothing here asserts on elapsed time. Tests that expect a
 * retransmission use short timeouts; tests that expect none use long ones,
 * which cost nothing when the reply comes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "scpp_test.h"
#include "scpp_client.h"
#include "scpp_lang.h"
#include "scpp_wire.h"

#define FAKE_CACHE 16
#define FAKE_MSG_MAX (1 << 20)
#define CLIENT_ID UINT64_C(0x0102030405060708)
#define FIRST_BLOCK 7

enum broken {
	BROKEN_NONE,
	BROKEN_RECORD, /* an unknown record tag after COLUMNS */
	BROKEN_NO_END, /* LAST set on a datagram before the END record */
};

struct cached {
	uint64_t client_id, block_id;
	uint8_t *msg;
	size_t len;
	unsigned int receipts; /* times this block arrived */
	unsigned int answers;  /* times it was answered */
};

struct fake {
	int fd;
	uint16_t port;
	int fd2;                   /* a second node ("the owner"), same state */
	uint16_t port2;
	bool reply_from2;          /* answer from fd2 whatever the block came to */
	unsigned int frags2;       /* datagrams received on fd2 */
	int in_fd;                 /* the socket the datagram being handled came in on */
	pthread_t th;
	atomic_bool stop;
	pthread_mutex_t mu; /* guards everything below */
	pthread_cond_t cv;  /* signalled on every complete block */

	/* Behaviour, set by the test before an exchange. */
	unsigned int rows;         /* ROW records per reply */
	unsigned int pad;          /* bytes of the string in each row */
	size_t chunk;              /* reply payload bytes per datagram */
	bool shuffle;              /* send reply datagrams in a random order */
	bool dup;                  /* send every third reply datagram twice */
	unsigned int silent_first; /* receipts of a block that go unanswered
				      (executed, but the reply is "lost") */
	bool silent;               /* never answer, never execute */
	int drop_seq;              /* on a block's first answer, do not send
				      this reply datagram (-1: none) */
	bool strays;               /* send stray datagrams before answers */
	enum broken broken;
	uint64_t seed;
	bool amp;                  /* enforce the 3x amplification limit (cookie) */
	uint8_t notice_code;       /* answer with this NOTICE instead ... */
	unsigned int notice_times; /* ... for the first this many receipts */
	unsigned int hold;         /* answer nothing until this many blocks were
				      executed, then all of them, last first (a
				      client that waits for each reply before the
				      next block never gets one) */
	unsigned int held;         /* executed, answer deferred */

	/* Observations. */
	unsigned int frags;      /* BLOCK datagrams received */
	unsigned int receipts;   /* complete blocks received */
	unsigned int executions; /* cache misses: blocks "executed" */
	unsigned int dgrams;     /* reply datagrams sent (duplicates included) */
	unsigned int fetches;    /* FETCH datagrams received */
	struct scpp_wire_fetch last_fetch;
	unsigned int cookie_blocks; /* complete blocks that carried the right cookie */
	unsigned int notices;    /* NOTICE datagrams sent */
	uint64_t block_id[64];   /* block id of each receipt */
	uint8_t block[SCPP_WIRE_FRAGS_MAX * 1472];
	size_t block_len;        /* the last reassembled block message */
	int decode_rc;           /* scpp_wire_block_decode() of it */

	/* Reassembly of one message at a time (enough for one client). */
	uint64_t asm_client, asm_block;
	uint32_t asm_count;
	uint64_t asm_have;
	size_t asm_bytes;          /* datagram bytes of the fragments held */
	bool asm_cookie;           /* one of them carried the right cookie */
	uint8_t *frag[SCPP_WIRE_FRAGS_MAX];
	uint16_t frag_len[SCPP_WIRE_FRAGS_MAX];

	struct cached cache[FAKE_CACHE];
	unsigned int ncache;
	struct sockaddr_storage peer;
	socklen_t peerlen;
	uint8_t rbuf[SCPP_WIRE_DGRAM_MAX + 1];
	uint8_t sbuf[SCPP_WIRE_DGRAM_MAX];
	uint8_t wbuf[FAKE_MSG_MAX];
	struct scpp_wire_block decoded;
};

static struct fake F;
static struct scpp_wire_block B;
static uint8_t arena[1 << 16];

/* ---- the fake server ---- */

/* The only cookie the fake issues and accepts. */
static const uint8_t fake_cookie[SCPP_WIRE_COOKIE_LEN] = {
	0xc0, 0x0c, 0x1e, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};

static void
fake_send(struct fake *f, const struct scpp_wire_hdr *h)
{
	int n = scpp_wire_dgram_encode(f->sbuf, sizeof(f->sbuf), h);

	if (n > 0)
		(void)sendto(f->reply_from2 ? f->fd2 : f->in_fd, f->sbuf, (size_t)n, 0,
			     (struct sockaddr *)&f->peer, f->peerlen);
}

static void
fake_send_raw(struct fake *f, const void *p, size_t n)
{
	(void)sendto(f->reply_from2 ? f->fd2 : f->in_fd, p, n, 0, (struct sockaddr *)&f->peer,
		     f->peerlen);
}

/* Datagrams a client must ignore: 3 strays and 2 malformed ones. */
static void
fake_send_strays(struct fake *f, uint64_t cid, uint64_t bid)
{
	static const uint8_t payload[] = {SCPP_REC_COLUMNS, 0, SCPP_REC_END, 0, 0, 0, 0, 0};
	struct scpp_wire_hdr h = {
		.kind = SCPP_WIRE_REPLY, .flags = SCPP_WIRE_F_LAST,
		.payload_len = sizeof(payload), .payload = payload,
		.client_id = cid + 1, .block_id = bid,
	};
	int n;

	fake_send(f, &h);                /* another client */
	h.client_id = cid;
	h.block_id = bid - 1;
	fake_send(f, &h);                /* an earlier block */
	h.block_id = bid;
	h.kind = SCPP_WIRE_BLOCK;
	h.frag_count = 1;
	fake_send(f, &h);                /* kind BLOCK */
	fake_send_raw(f, "hello", 5);    /* no header */
	h.kind = SCPP_WIRE_REPLY;
	h.frag_count = 0;
	n = scpp_wire_dgram_encode(f->sbuf, sizeof(f->sbuf), &h);
	f->sbuf[0] ^= 0xff;              /* bad magic */
	fake_send_raw(f, f->sbuf, (size_t)n);
}

static void
fake_build_reply(struct fake *f, struct cached *e)
{
	static const struct scpp_wire_name cols[2] = {{"i", 1}, {"pad", 3}};
	struct scpp_wire_reply_writer w;
	char pad[4096];
	unsigned int i;

	scpp_wire_reply_writer_init(&w, f->wbuf, sizeof(f->wbuf));
	if (f->broken == BROKEN_RECORD) {
		scpp_wire_reply_columns(&w, cols, 2);
		f->wbuf[w.len++] = 0x99;
		f->wbuf[w.len++] = 0x00;
	} else {
		scpp_wire_reply_columns(&w, cols, 2);
		for (i = 0; i < f->rows; i++) {
			struct scpp_value v[2];

			memset(pad, 'a' + (int)(i % 26), f->pad);
			v[0] = scpp_value_u64(i);
			v[1] = scpp_value_str(pad, f->pad);
			scpp_wire_reply_row(&w, v);
		}
		if (f->broken != BROKEN_NO_END)
			scpp_wire_reply_end(&w, 0, SCPP_OUTCOME_OK, f->rows, f->decoded.ncmds, 1234);
	}
	e->msg = malloc(w.len);
	memcpy(e->msg, f->wbuf, w.len);
	e->len = w.len;
}

static void
fake_notice(struct fake *f, uint64_t cid, uint64_t bid, const struct scpp_wire_notice *n)
{
	uint8_t body[SCPP_WIRE_NOTICE_COOKIE_LEN];
	struct scpp_wire_hdr h = {
		.kind = SCPP_WIRE_NOTICE, .flags = SCPP_WIRE_F_LAST, .client_id = cid,
		.block_id = bid, .payload = body,
	};

	h.payload_len = (uint16_t)scpp_wire_notice_encode(body, sizeof(body), n);
	fake_send(f, &h);
	f->notices++;
}

/* Reply datagrams [first, first + count) of a cached reply. */
static void
fake_send_range(struct fake *f, struct cached *e, size_t first, size_t count)
{
	size_t chunk = f->chunk, nd = e->len == 0 ? 1 : (e->len + chunk - 1) / chunk;

	for (size_t s = first; s < nd && s - first < count; s++) {
		size_t off = s * chunk;
		struct scpp_wire_hdr h = {
			.kind = SCPP_WIRE_REPLY,
			.flags = s == nd - 1 ? SCPP_WIRE_F_LAST : 0,
			.payload_len = (uint16_t)SCPP_MIN(chunk, e->len - off),
			.payload = e->msg + off,
			.client_id = e->client_id,
			.block_id = e->block_id,
			.frag_index = (uint32_t)s,
		};

		fake_send(f, &h);
		f->dgrams++;
	}
}

/* A FETCH: the requested datagrams of a cached reply, nothing else. */
static void
fake_fetch(struct fake *f, const struct scpp_wire_hdr *h)
{
	struct scpp_wire_fetch fe;
	unsigned int i;

	if (scpp_wire_fetch_decode(h->payload, h->payload_len, &fe) != 0)
		return;
	f->fetches++;
	f->last_fetch = fe;
	for (i = 0; i < f->ncache; i++) {
		struct cached *e = &f->cache[i];

		if (e->client_id != h->client_id || e->block_id != h->block_id)
			continue;
		for (unsigned int r = 0; r < fe.nranges; r++)
			fake_send_range(f, e, fe.range[r].first, fe.range[r].count);
		return;
	}
	fake_notice(f, h->client_id, h->block_id,
		    &(struct scpp_wire_notice){.code = SCPP_NOTICE_NO_REPLY});
}

static void
fake_answer(struct fake *f, struct cached *e)
{
	size_t chunk = f->chunk, nd = e->len == 0 ? 1 : (e->len + chunk - 1) / chunk;
	uint32_t order[4096];
	size_t i, k;

	for (i = 0; i < nd; i++)
		order[i] = (uint32_t)i;
	if (f->shuffle) {
		for (i = nd - 1; i > 0; i--) {
			uint32_t t;

			k = test_rand_below(&f->seed, i + 1);
			t = order[i];
			order[i] = order[k];
			order[k] = t;
		}
	}
	for (k = 0; k < nd; k++) {
		size_t s = order[k], off = s * chunk;
		struct scpp_wire_hdr h = {
			.kind = SCPP_WIRE_REPLY,
			.flags = s == nd - 1 ? SCPP_WIRE_F_LAST : 0,
			.payload_len = (uint16_t)SCPP_MIN(chunk, e->len - off),
			.payload = e->msg + off,
			.client_id = e->client_id,
			.block_id = e->block_id,
			.frag_index = (uint32_t)s,
		};

		if (e->answers == 0 && (int)s == f->drop_seq)
			continue;
		fake_send(f, &h);
		f->dgrams++;
		if (f->dup && k % 3 == 0) {
			fake_send(f, &h);
			f->dgrams++;
		}
	}
	e->answers++;
}

/* A complete block arrived: execute it once, answer (maybe) from the cache. */
static void
fake_block(struct fake *f)
{
	struct cached *e = NULL;
	size_t len = 0;
	unsigned int i;

	for (i = 0; i < f->asm_count; i++) {
		memcpy(f->block + len, f->frag[i], f->frag_len[i]);
		len += f->frag_len[i];
	}
	f->block_len = len;
	f->decode_rc = scpp_wire_block_decode(f->block, len, &f->decoded, NULL);
	if (f->receipts < SCPP_ARRAY_SIZE(f->block_id))
		f->block_id[f->receipts] = f->asm_block;
	f->receipts++;
	f->cookie_blocks += f->asm_cookie;
	pthread_cond_broadcast(&f->cv);
	if (f->silent)
		return;
	if (f->notice_times > 0) {
		f->notice_times--;
		fake_notice(f, f->asm_client, f->asm_block,
			    &(struct scpp_wire_notice){
				    .code = f->notice_code,
				    .retry_ms = f->notice_code == SCPP_NOTICE_BUSY ? 1 : 0});
		return;
	}

	for (i = 0; i < f->ncache; i++)
		if (f->cache[i].client_id == f->asm_client && f->cache[i].block_id == f->asm_block)
			e = &f->cache[i];
	if (e == NULL) {
		if (f->ncache == FAKE_CACHE)
			return;
		e = &f->cache[f->ncache++];
		e->client_id = f->asm_client;
		e->block_id = f->asm_block;
		fake_build_reply(f, e);
		f->executions++;
	}
	if (++e->receipts <= f->silent_first)
		return;
	/* Over 3x the request without the cookie: prove your address first
	 * (roughly the cost scppd computes: payload plus 32 per datagram). */
	if (f->amp && !f->asm_cookie &&
	    e->len + 32 * (e->len / f->chunk + 1) > 3 * f->asm_bytes) {
		struct scpp_wire_notice n = {.code = SCPP_NOTICE_COOKIE,
					     .reply_bytes = (uint32_t)e->len,
					     .reply_dgrams = (uint32_t)(e->len / f->chunk + 1)};

		memcpy(n.cookie, fake_cookie, sizeof(n.cookie));
		fake_notice(f, e->client_id, e->block_id, &n);
		return;
	}
	if (f->strays)
		fake_send_strays(f, e->client_id, e->block_id);
	if (f->hold > 0 && e->answers == 0) {
		if (++f->held < f->hold)
			return;
		for (i = f->ncache; i-- > 0;)
			if (f->cache[i].answers == 0)
				fake_answer(f, &f->cache[i]);
		return;
	}
	fake_answer(f, e);
}

static void
fake_reset_asm(struct fake *f)
{
	unsigned int i;

	for (i = 0; i < SCPP_WIRE_FRAGS_MAX; i++) {
		free(f->frag[i]);
		f->frag[i] = NULL;
	}
	f->asm_have = 0;
	f->asm_count = 0;
	f->asm_bytes = 0;
	f->asm_cookie = false;
}

static void
fake_dgram(struct fake *f, size_t n)
{
	struct scpp_wire_hdr h;
	uint64_t bit;

	if (scpp_wire_hdr_decode(f->rbuf, n, &h) < 0)
		return;
	if (h.kind == SCPP_WIRE_FETCH) {
		fake_fetch(f, &h);
		return;
	}
	if (h.kind != SCPP_WIRE_BLOCK)
		return;
	f->frags++;
	if (f->asm_count == 0 || h.client_id != f->asm_client || h.block_id != f->asm_block ||
	    h.frag_count != f->asm_count) {
		fake_reset_asm(f);
		f->asm_client = h.client_id;
		f->asm_block = h.block_id;
		f->asm_count = h.frag_count;
	}
	bit = UINT64_C(1) << h.frag_index;
	if (f->asm_have & bit)
		return;
	f->frag[h.frag_index] = malloc(h.payload_len + 1u);
	memcpy(f->frag[h.frag_index], h.payload, h.payload_len);
	f->frag_len[h.frag_index] = h.payload_len;
	f->asm_have |= bit;
	f->asm_bytes += n;
	if (h.cookie != NULL && memcmp(h.cookie, fake_cookie, sizeof(fake_cookie)) == 0)
		f->asm_cookie = true;
	if (f->asm_have == (f->asm_count == 64 ? ~UINT64_C(0) : (UINT64_C(1) << f->asm_count) - 1)) {
		fake_block(f);
		fake_reset_asm(f);
	}
}

static void *
fake_main(void *arg)
{
	struct fake *f = arg;
	struct pollfd pfd[2] = {{.fd = f->fd, .events = POLLIN}, {.fd = f->fd2, .events = POLLIN}};

	/* The stop flag is only a shutdown request; relaxed is enough, the
	 * join that follows orders everything else. */
	while (!atomic_load_explicit(&f->stop, memory_order_relaxed)) {
		if (poll(pfd, 2, 10) <= 0)
			continue;
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (!(pfd[i].revents & POLLIN))
				continue;
			f->peerlen = sizeof(f->peer);
			n = recvfrom(pfd[i].fd, f->rbuf, sizeof(f->rbuf), MSG_DONTWAIT,
				     (struct sockaddr *)&f->peer, &f->peerlen);
			if (n < 0)
				continue;
			pthread_mutex_lock(&f->mu);
			f->in_fd = pfd[i].fd;
			f->frags2 += i == 1;
			fake_dgram(f, (size_t)n);
			pthread_mutex_unlock(&f->mu);
		}
	}
	return NULL;
}

static int
fake_start(void **state)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);

	(void)state;
	memset(&F, 0, sizeof(F));
	F.rows = 1;
	F.pad = 5;
	F.chunk = 1400;
	F.drop_seq = -1;
	F.seed = 42;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	F.fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (F.fd < 0 || bind(F.fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(F.fd, (struct sockaddr *)&sin, &len) < 0)
		return -1;
	F.port = ntohs(sin.sin_port);
	sin.sin_port = 0;
	len = sizeof(sin);
	F.fd2 = socket(AF_INET, SOCK_DGRAM, 0);
	if (F.fd2 < 0 || bind(F.fd2, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    getsockname(F.fd2, (struct sockaddr *)&sin, &len) < 0)
		return -1;
	F.port2 = ntohs(sin.sin_port);
	pthread_mutex_init(&F.mu, NULL);
	pthread_cond_init(&F.cv, NULL);
	return pthread_create(&F.th, NULL, fake_main, &F) == 0 ? 0 : -1;
}

static int
fake_stop(void **state)
{
	unsigned int i;

	(void)state;
	atomic_store_explicit(&F.stop, true, memory_order_relaxed);
	pthread_join(F.th, NULL);
	close(F.fd);
	close(F.fd2);
	for (i = 0; i < F.ncache; i++)
		free(F.cache[i].msg);
	fake_reset_asm(&F);
	pthread_mutex_destroy(&F.mu);
	pthread_cond_destroy(&F.cv);
	return 0;
}

/* Wait (bounded) until the fake has seen @p n complete blocks. */
static unsigned int
fake_wait_receipts(struct fake *f, unsigned int n)
{
	struct timespec until;
	unsigned int r;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&f->mu);
	while (f->receipts < n &&
	       pthread_cond_timedwait(&f->cv, &f->mu, &until) == 0)
		;
	r = f->receipts;
	pthread_mutex_unlock(&f->mu);
	return r;
}

/* Set behaviour under the fake's lock. */
#define FAKE_SET(field, value)                                                \
	do {                                                                  \
		pthread_mutex_lock(&F.mu);                                    \
		F.field = (value);                                            \
		pthread_mutex_unlock(&F.mu);                                  \
	} while (0)

/* ---- helpers ---- */

static struct scpp_client *
client_new(uint16_t port, unsigned int timeout_ms, unsigned int retries)
{
	struct scpp_client_config cfg;
	char server[32];

	snprintf(server, sizeof(server), "127.0.0.1:%u", port);
	scpp_client_config_init(&cfg);
	cfg.server = server;
	cfg.client_id = CLIENT_ID;
	cfg.first_block_id = FIRST_BLOCK;
	cfg.timeout_ms = timeout_ms;
	cfg.backoff_max_ms = timeout_ms * 8;
	cfg.jitter_pct = 0;
	cfg.retries = retries;
	return scpp_client_create(&cfg);
}

static void
parse_into(struct scpp_wire_block *b, const char *text)
{
	struct scpp_lang_error err;

	assert_int_equal(scpp_lang_parse(text, strlen(text), b, arena, sizeof(arena), &err), 0);
}

/* The reply the client got is byte for byte what the fake cached. */
static void
assert_reply_is_cached(const struct scpp_client_reply *r, unsigned int idx)
{
	pthread_mutex_lock(&F.mu);
	assert_true(idx < F.ncache);
	assert_int_equal(r->block_id, F.cache[idx].block_id);
	assert_int_equal(r->len, F.cache[idx].len);
	assert_memory_equal(r->msg, F.cache[idx].msg, r->len);
	pthread_mutex_unlock(&F.mu);
}

/* "set @0.1.0.1.2a data \"cc...c\"" with @p n copies of @p ch: a block of
 * more than one datagram. */
static void
long_set_text(char *text, size_t size, char ch, int n)
{
	int k = snprintf(text, size, "set @0.1.0.1.2a data \"");

	memset(text + k, ch, (size_t)n);
	snprintf(text + k + n, size - (size_t)k - (size_t)n, "\"");
}

static const char small_text[] = "get @0.1.0.1.2a name %x\nreturn %x";

/* ---- tests ---- */

static void
test_client_single_datagram_exchange(void **state)
{
	struct scpp_client *c = client_new(F.port, 2000, 2);
	struct scpp_client_reply r;
	struct scpp_client_stats st;
	FILE *devnull;

	(void)state;
	assert_non_null(c);
	assert_int_equal(scpp_client_id(c), CLIENT_ID);
	assert_int_equal(scpp_client_next_block_id(c), FIRST_BLOCK);
	parse_into(&B, small_text);
	assert_int_equal(scpp_client_exec(c, &B, &r), 0);

	assert_int_equal(r.block_id, FIRST_BLOCK);
	assert_int_equal(r.outcome, SCPP_OUTCOME_OK);
	assert_int_equal(r.err, 0);
	assert_int_equal(r.rows, 1);
	assert_int_equal(r.commands, 1);
	assert_int_equal(r.elapsed_ns, 1234);
	assert_int_equal(r.dgrams, 1);
	assert_int_equal(r.tries, 1);
	assert_reply_is_cached(&r, 0);
	devnull = fopen("/dev/null", "w");
	assert_non_null(devnull);
	assert_int_equal(scpp_lang_print_reply(devnull, r.msg, r.len, 0, NULL), 0);
	fclose(devnull);
	scpp_client_reply_free(&r);
	assert_null(r.msg);
	assert_int_equal(scpp_client_next_block_id(c), FIRST_BLOCK + 1);

	/* The server saw exactly one block, one fragment, identical bytes. */
	pthread_mutex_lock(&F.mu);
	assert_int_equal(F.frags, 1);
	assert_int_equal(F.receipts, 1);
	assert_int_equal(F.decode_rc, 0);
	assert_true(scpp_wire_block_equal(&F.decoded, &B));
	pthread_mutex_unlock(&F.mu);

	scpp_client_stats_get(c, &st);
	assert_int_equal(st.exchanges, 1);
	assert_int_equal(st.tries, 1);
	assert_int_equal(st.retransmits, 0);
	assert_int_equal(st.dgrams_sent, 1);
	assert_int_equal(st.reply_dgrams, 1);
	assert_int_equal(st.strays + st.malformed + st.duplicates, 0);

	/* A second exchange uses the next block id and executes again. */
	assert_int_equal(scpp_client_exec(c, &B, &r), 0);
	assert_int_equal(r.block_id, FIRST_BLOCK + 1);
	assert_reply_is_cached(&r, 1);
	scpp_client_reply_free(&r);
	scpp_client_free(c);
}

static void
test_client_reassembles_reordered_duplicated_reply(void **state)
{
	struct scpp_client *c = client_new(F.port, 2000, 2);
	struct scpp_client_reply r;
	struct scpp_client_stats st;

	(void)state;
	FAKE_SET(rows, 40);
	FAKE_SET(pad, 50);
	FAKE_SET(chunk, 97); /* records straddle datagram boundaries */
	FAKE_SET(shuffle, true);
	FAKE_SET(dup, true);
	parse_into(&B, small_text);
	assert_int_equal(scpp_client_exec(c, &B, &r), 0);

	assert_int_equal(r.rows, 40);
	assert_true(r.dgrams > 10);
	assert_reply_is_cached(&r, 0);
	scpp_client_stats_get(c, &st);
	assert_int_equal(st.tries, 1);
	assert_int_equal(st.reply_dgrams, r.dgrams);
	assert_true(st.reordered > 0);
	assert_true(st.duplicates > 0);
	scpp_client_reply_free(&r);
	scpp_client_free(c);
}

struct stream_seen {
	unsigned int columns, rows, ends, bad_order;
	int abort_at_row; /* return this row's index as the callback result */
	int abort_rc;
};

static int
on_record(const struct scpp_wire_record *rec, void *arg)
{
	struct stream_seen *s = arg;

	switch (rec->type) {
	case SCPP_REC_COLUMNS:
		s->bad_order += s->columns + s->rows + s->ends != 0;
		s->columns++;
		break;
	case SCPP_REC_ROW:
		s->bad_order += s->columns != 1 || s->ends != 0 ||
				rec->row.v[0].u != s->rows;
		if ((int)s->rows == s->abort_at_row)
			return s->abort_rc;
		s->rows++;
		break;
	case SCPP_REC_END:
		s->bad_order += s->columns != 1;
		s->ends++;
		break;
	default:
		s->bad_order++;
	}
	return 0;
}

static void
test_client_streams_records_in_order_once(void **state)
{
	struct scpp_client *c = client_new(F.port, 20, 10);
	struct stream_seen seen = {.abort_at_row = -1};
	struct scpp_client_reply r;
	struct scpp_client_stats st;

	(void)state;
	FAKE_SET(rows, 30);
	FAKE_SET(pad, 40);
	FAKE_SET(chunk, 64);
	FAKE_SET(shuffle, true);
	FAKE_SET(drop_seq, 5); /* a gap: refilled by the retransmission */
	parse_into(&B, small_text);
	assert_int_equal(scpp_client_exec_stream(c, &B, on_record, &seen, &r), 0);
	assert_int_equal(seen.columns, 1);
	assert_int_equal(seen.rows, 30);
	assert_int_equal(seen.ends, 1);
	assert_int_equal(seen.bad_order, 0);
	assert_reply_is_cached(&r, 0);
	scpp_client_reply_free(&r);

	/* Without a reply object, only the callbacks. */
	memset(&seen, 0, sizeof(seen));
	seen.abort_at_row = -1;
	assert_int_equal(scpp_client_exec_stream(c, &B, on_record, &seen, NULL), 0);
	assert_int_equal(seen.rows, 30);

	/* A callback that stops the exchange. */
	memset(&seen, 0, sizeof(seen));
	seen.abort_at_row = 3;
	seen.abort_rc = -EINTR;
	assert_int_equal(scpp_client_exec_stream(c, &B, on_record, &seen, &r), -EINTR);
	assert_null(r.msg);
	memset(&seen, 0, sizeof(seen));
	seen.abort_at_row = 3;
	seen.abort_rc = 1;
	assert_int_equal(scpp_client_exec_stream(c, &B, on_record, &seen, &r), -ECANCELED);

	pthread_mutex_lock(&F.mu);
	assert_int_equal(F.executions, 4); /* each exchange is a new block id */
	pthread_mutex_unlock(&F.mu);
	scpp_client_stats_get(c, &st);
	assert_int_equal(st.exchanges, 4);
	scpp_client_free(c);
}

static void
test_client_fragments_large_block(void **state)
{
	struct scpp_client_config cfg;
	struct scpp_client *c;
	struct scpp_client_reply r;
	struct scpp_client_stats st;
	static char text[4000];
	static uint8_t enc[8192];
	char server[32];
	int n;

	(void)state;
	long_set_text(text, sizeof(text), 'z', 3000);
	parse_into(&B, text);
	n = scpp_wire_block_encode(&B, enc, sizeof(enc));
	assert_true(n > 3000);

	snprintf(server, sizeof(server), "127.0.0.1:%u", F.port);
	scpp_client_config_init(&cfg);
	cfg.server = server;
	cfg.max_dgram = 200; /* 168 payload bytes per fragment */
	cfg.timeout_ms = 2000;
	cfg.backoff_max_ms = 2000;
	c = scpp_client_create(&cfg);
	assert_non_null(c);
	assert_int_equal(scpp_client_exec(c, &B, &r), 0);
	scpp_client_reply_free(&r);

	scpp_client_stats_get(c, &st);
	assert_int_equal(st.dgrams_sent, (n + 167) / 168);
	/* Every fragment in one sendmmsg(). */
	assert_int_equal(st.send_calls, 1);
	pthread_mutex_lock(&F.mu);
	assert_int_equal(F.frags, (n + 167) / 168);
	assert_int_equal(F.receipts, 1);
	assert_int_equal(F.block_len, n);
	assert_memory_equal(F.block, enc, (size_t)n);
	assert_int_equal(F.decode_rc, 0);
	assert_true(scpp_wire_block_equal(&F.decoded, &B));
	pthread_mutex_unlock(&F.mu);
	scpp_client_free(c);

	/* Over SCPP_WIRE_FRAGS_MAX fragments: refused before sending. */
	cfg.max_dgram = SCPP_WIRE_HDR_LEN + 32; /* 64 x 32 = 2048 < 3000 */
	c = scpp_client_create(&cfg);
	assert_non_null(c);
	assert_int_equal(scpp_client_exec(c, &B, &r), -EMSGSIZE);
	scpp_client_stats_get(c, &st);
	assert_int_equal(st.dgrams_sent, 0);
	assert_int_equal(st.exchanges, 0);
	scpp_client_free(c);
}


/*
 * scpp_client_exec_many(): 8 blocks (several fragments each) in flight at
 * once. The fake answers none until all 8 arrived, then the last first, in
 * several shuffled datagrams each: a client waiting for each reply before
 * sending the next block would get nothing; this one gets every reply
 * intact and in order, the later ones kept (stashed) while it waited for
 * the earlier ones.
 */
static void
test_client_exec_many_keeps_blocks_in_flight(void **state)
{
	struct scpp_client_config cfg;
	struct scpp_client *c;
	struct scpp_client_reply r[8];
	const struct scpp_wire_block *bs[8];
	struct scpp_client_stats st;
	static struct scpp_wire_block blocks[8];
	static uint8_t arenas[8][8192];
	static char text[4000];
	char server[32];

	(void)state;
	long_set_text(text, sizeof(text), 'q', 1000);
	for (unsigned int i = 0; i < 8; i++) {
		struct scpp_lang_error err;

		assert_int_equal(scpp_lang_parse(text, strlen(text), &blocks[i], arenas[i],
						 sizeof(arenas[i]), &err), 0);
		bs[i] = &blocks[i];
	}
	FAKE_SET(hold, 8);
	FAKE_SET(rows, 20);
	FAKE_SET(pad, 30);
	FAKE_SET(chunk, 120);
	FAKE_SET(shuffle, true);
	snprintf(server, sizeof(server), "127.0.0.1:%u", F.port);
	scpp_client_config_init(&cfg);
	cfg.server = server;
	cfg.client_id = CLIENT_ID;
	cfg.first_block_id = FIRST_BLOCK;
	cfg.max_dgram = 400; /* 3 fragments a block */
	cfg.timeout_ms = 5000; /* a retransmission would mean the batch failed */
	cfg.backoff_max_ms = 5000;
	cfg.retries = 0;
	c = scpp_client_create(&cfg);
	assert_non_null(c);
	assert_int_equal(scpp_client_exec_many(c, bs, 8, r), 0);
	for (unsigned int i = 0; i < 8; i++) {
		assert_int_equal(r[i].block_id, FIRST_BLOCK + i);
		assert_int_equal(r[i].rows, 20);
		assert_int_equal(r[i].tries, 1);
		pthread_mutex_lock(&F.mu);
		for (unsigned int k = 0; k < F.ncache; k++)
			if (F.cache[k].block_id == r[i].block_id) {
				assert_int_equal(r[i].len, F.cache[k].len);
				assert_memory_equal(r[i].msg, F.cache[k].msg, r[i].len);
			}
		pthread_mutex_unlock(&F.mu);
		scpp_client_reply_free(&r[i]);
	}
	assert_int_equal(scpp_client_next_block_id(c), FIRST_BLOCK + 8);
	scpp_client_stats_get(c, &st);
	assert_int_equal(st.exchanges, 8);
	assert_int_equal(st.batched, 8);
	assert_int_equal(st.tries, 8);
	assert_int_equal(st.retransmits + st.fetches + st.timeouts, 0);
	assert_true(st.stashed > 0); /* the later replies came first */
	assert_int_equal(st.stash_dropped, 0);
	assert_int_equal(st.send_calls, 8); /* one sendmmsg() a block */
	assert_true(st.recv_calls <= st.dgrams_recv);
	pthread_mutex_lock(&F.mu);
	assert_int_equal(F.receipts, 8);
	assert_int_equal(F.executions, 8);
	for (unsigned int i = 0; i < 8; i++)
		assert_int_equal(F.block_id[i], FIRST_BLOCK + i); /* sent in order */
	F.hold = 0;
	pthread_mutex_unlock(&F.mu);

	/* A lone block after the batch is an ordinary exchange. */
	assert_int_equal(scpp_client_exec(c, bs[0], &r[0]), 0);
	assert_int_equal(r[0].block_id, FIRST_BLOCK + 8);
	scpp_client_reply_free(&r[0]);
	assert_int_equal(scpp_client_exec_many(c, bs, 0, r), -EINVAL);
	assert_int_equal(scpp_client_exec_many(c, bs, SCPP_CLIENT_BATCH_MAX + 1, r), -EINVAL);
	scpp_client_free(c);
}

/* A batch whose replies are lost: each block is retransmitted in its turn
 * under its own id and executed once. */
static void
test_client_exec_many_retransmits_each_block(void **state)
{
	struct scpp_client *c = client_new(F.port, 10, 10);
	struct scpp_client_reply r[4];
	const struct scpp_wire_block *bs[4] = {&B, &B, &B, &B};
	struct scpp_client_stats st;

	(void)state;
	FAKE_SET(silent_first, 1); /* every block's first reply lost */
	parse_into(&B, small_text);
	assert_int_equal(scpp_client_exec_many(c, bs, 4, r), 0);
	for (unsigned int i = 0; i < 4; i++) {
		assert_int_equal(r[i].block_id, FIRST_BLOCK + i);
		assert_true(r[i].tries >= 2);
		assert_reply_is_cached(&r[i], i);
		scpp_client_reply_free(&r[i]);
	}
	scpp_client_stats_get(c, &st);
	assert_int_equal(st.batched, 4);
	assert_true(st.retransmits >= 4);
	pthread_mutex_lock(&F.mu);
	assert_int_equal(F.executions, 4);
	pthread_mutex_unlock(&F.mu);
	scpp_client_free(c);
}


/* A batch whose replies each need the cookie first (3x amplification): the
 * notices of the later blocks are kept for their turns, each block is sent
 * again with the cookie and executed once. */
static void
test_client_exec_many_answers_cookie_notices(void **state)
{
	struct scpp_client *c = client_new(F.port, 2000, 3);
	struct scpp_client_reply r[6];
	const struct scpp_wire_block *bs[6] = {&B, &B, &B, &B, &B, &B};
	struct scpp_client_stats st;

	(void)state;
	FAKE_SET(amp, true);
	FAKE_SET(rows, 50);
	FAKE_SET(pad, 100);
	parse_into(&B, small_text);
	assert_int_equal(scpp_client_exec_many(c, bs, 6, r), 0);
	for (unsigned int i = 0; i < 6; i++) {
		assert_int_equal(r[i].block_id, FIRST_BLOCK + i);
		assert_int_equal(r[i].rows, 50);
		assert_reply_is_cached(&r[i], i);
		scpp_client_reply_free(&r[i]);
	}
	scpp_client_stats_get(c, &st);
	/* All six went out before the first notice came back: six notices,
	 * five of them kept for their block's turn. */
	assert_int_equal(st.cookie_rounds, 6);
	assert_int_equal(st.notices, 6);
	assert_true(st.stashed >= 5);
	assert_int_equal(st.retransmits + st.timeouts, 0);
	pthread_mutex_lock(&F.mu);
	assert_int_equal(F.executions, 6);
	assert_true(F.cookie_blocks >= 1);
	pthread_mutex_unlock(&F.mu);
	scpp_client_free(c);
}

static void
test_client_retransmits_same_block_id_after_lost_reply(void **state)
{
	struct scpp_client *c = client_new(F.port, 10, 10);
	struct scpp_client_reply r;
	struct scpp_client_stats st;
	unsigned int i;

	(void)state;
	FAKE_SET(silent_first, 2); /* executed on arrival, first two replies lost */
	parse_into(&B, "create %f @0.0.0.0.7\nreturn %f");
	assert_int_equal(scpp_client_exec(c, &B, &r), 0);
	assert_reply_is_cached(&r, 0);
	assert_true(r.tries >= 3);

	scpp_client_stats_get(c, &st);
	assert_int_equal(st.tries, r.tries);
	assert_int_equal(st.retransmits, r.tries - 1);
	pthread_mutex_lock(&F.mu);
	assert_int_equal(F.executions, 1); /* never executed twice */
	assert_true(F.receipts >= 3);
	for (i = 0; i < F.receipts && i < 64; i++)
		assert_int_equal(F.block_id[i], FIRST_BLOCK);
	pthread_mutex_unlock(&F.mu);
	scpp_client_reply_free(&r);
	scpp_client_free(c);
}

static void
test_client_times_out_after_retries_with_backoff(void **state)
{
	struct scpp_client_config cfg;
	struct scpp_client *c = client_new(F.port, 5, 3);
	struct scpp_client_reply r;
	struct scpp_client_stats st;
	char server[32];
	unsigned int i;

	(void)state;
	FAKE_SET(silent, true);
	parse_into(&B, small_text);
	assert_int_equal(scpp_client_exec(c, &B, &r), -ETIMEDOUT);
	assert_null(r.msg);
	scpp_client_stats_get(c, &st);
	assert_int_equal(st.tries, 4);
	assert_int_equal(st.retransmits, 3);
	assert_int_equal(st.timeouts, 1);
	assert_int_equal(st.wait_ms, 5 + 10 + 20 + 40); /* doubling, no jitter */
	assert_int_equal(fake_wait_receipts(&F, 4), 4);
	pthread_mutex_lock(&F.mu);
	for (i = 0; i < 4; i++)
		assert_int_equal(F.block_id[i], FIRST_BLOCK);
	pthread_mutex_unlock(&F.mu);
	scpp_client_free(c);

	/* The cap holds, and jitter only adds up to jitter_pct per try. */
	snprintf(server, sizeof(server), "127.0.0.1:%u", F.port);
	scpp_client_config_init(&cfg);
	cfg.server = server;
	cfg.timeout_ms = 2;
	cfg.backoff_max_ms = 6;
	cfg.jitter_pct = 50;
	cfg.retries = 4;
	c = scpp_client_create(&cfg);
	assert_non_null(c);
	assert_int_equal(scpp_client_exec(c, &B, &r), -ETIMEDOUT);
	scpp_client_stats_get(c, &st);
	assert_int_equal(st.tries, 5);
	assert_in_range(st.wait_ms, 2 + 4 + 6 + 6 + 6, 3 + 6 + 9 + 9 + 9);
	scpp_client_free(c);

	/* retries = 0: one try only. */
	c = client_new(F.port, 3, 0);
	assert_int_equal(scpp_client_exec(c, &B, &r), -ETIMEDOUT);
	scpp_client_stats_get(c, &st);
	assert_int_equal(st.tries, 1);
	assert_int_equal(st.wait_ms, 3);
	scpp_client_free(c);
}

static void
test_client_ignores_strays_and_malformed_datagrams(void **state)
{
	struct scpp_client *c = client_new(F.port, 2000, 2);
	struct scpp_client_reply r;
	struct scpp_client_stats st;

	(void)state;
	FAKE_SET(strays, true);
	FAKE_SET(rows, 12);
	FAKE_SET(chunk, 50);
	parse_into(&B, small_text);
	assert_int_equal(scpp_client_exec(c, &B, &r), 0);
	assert_reply_is_cached(&r, 0);
	scpp_client_stats_get(c, &st);
	assert_int_equal(st.strays, 3);    /* other client, earlier block, kind BLOCK */
	assert_int_equal(st.malformed, 2); /* no header, bad magic */
	assert_int_equal(st.tries, 1);
	assert_int_equal(st.dgrams_recv, 5 + r.dgrams);
	scpp_client_reply_free(&r);
	scpp_client_free(c);
}

static void
test_client_reports_malformed_reply_messages(void **state)
{
	struct scpp_client *c = client_new(F.port, 2000, 2);
	struct scpp_client_reply r;
	struct scpp_client_stats st;

	(void)state;
	parse_into(&B, small_text);
	FAKE_SET(broken, BROKEN_RECORD);
	assert_int_equal(scpp_client_exec(c, &B, &r), -SCPP_E_BAD_RECORD);
	assert_null(r.msg);
	FAKE_SET(broken, BROKEN_NO_END);
	assert_int_equal(scpp_client_exec(c, &B, &r), -SCPP_E_TRUNCATED);
	/* Not retried: the node's cache would send the same bytes. */
	scpp_client_stats_get(c, &st);
	assert_int_equal(st.tries, 2);
	scpp_client_free(c);
}

static void
test_client_limits_reply_size(void **state)
{
	struct scpp_client_config cfg;
	struct scpp_client *c;
	struct scpp_client_reply r;
	char server[32];

	(void)state;
	FAKE_SET(rows, 10);
	FAKE_SET(pad, 20);
	FAKE_SET(chunk, 30);
	snprintf(server, sizeof(server), "127.0.0.1:%u", F.port);
	scpp_client_config_init(&cfg);
	cfg.server = server;
	cfg.max_reply = 64;
	c = scpp_client_create(&cfg);
	assert_non_null(c);
	parse_into(&B, small_text);
	assert_int_equal(scpp_client_exec(c, &B, &r), -EFBIG);
	assert_null(r.msg);
	scpp_client_free(c);
}

static void
test_client_reports_refused_port(void **state)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	struct scpp_client *c;
	struct scpp_client_reply r;
	int fd;

	(void)state;
	/* A port nobody listens on: bind one, note it, close it. */
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	c = client_new(ntohs(sin.sin_port), 2000, 3);
	assert_non_null(c);
	parse_into(&B, small_text);
	assert_int_equal(scpp_client_exec(c, &B, &r), -ECONNREFUSED);
	scpp_client_free(c);
}

static void
test_client_exec_text_reports_parse_errors(void **state)
{
	struct scpp_client *c = client_new(F.port, 2000, 2);
	struct scpp_client_reply r;
	struct scpp_client_stats st;
	struct scpp_lang_error err;
	static const char bad[] = "get @0.1.0.1.2a name %x\nget %x frob(";

	(void)state;
	assert_int_equal(scpp_client_exec_text(c, bad, strlen(bad), &r, &err), -SCPP_E_SYNTAX);
	assert_int_equal(err.code, -SCPP_E_SYNTAX);
	assert_int_equal(err.line, 2);
	assert_true(err.col > 1);
	assert_non_null(strstr(err.msg, "2:"));
	scpp_client_stats_get(c, &st);
	assert_int_equal(st.dgrams_sent, 0);

	assert_int_equal(scpp_client_exec_text(c, small_text, strlen(small_text), &r, &err), 0);
	assert_int_equal(err.code, 0);
	assert_int_equal(r.rows, 1);
	scpp_client_reply_free(&r);
	scpp_client_free(c);
}

static void
test_client_create_rejects_each_bad_field(void **state)
{
	struct scpp_client_config cfg;
	struct scpp_client *c;

	(void)state;
#define BAD(field, value)                                                     \
	do {                                                                  \
		scpp_client_config_init(&cfg);                                \
		cfg.field = (value);                                          \
		errno = 0;                                                    \
		assert_null(scpp_client_create(&cfg));                        \
		assert_int_equal(errno, EINVAL);                              \
	} while (0)
	BAD(server, NULL);
	BAD(server, "[::1");
	BAD(server, "127.0.0.1:0");
	BAD(timeout_ms, 0);
	BAD(timeout_ms, 60001);
	BAD(backoff_max_ms, 199);
	BAD(backoff_max_ms, 600001);
	BAD(jitter_pct, 101);
	BAD(retries, 101);
	BAD(max_dgram, SCPP_WIRE_HDR_LEN);
	BAD(max_dgram, SCPP_WIRE_DGRAM_MAX + 1);
	BAD(max_reply, 63);
#undef BAD
	errno = 0;
	assert_null(scpp_client_create(NULL));
	assert_int_equal(errno, EINVAL);

	/* Edges that are valid, and a random client id that is never 0. */
	scpp_client_config_init(&cfg);
	cfg.timeout_ms = 60000;
	cfg.backoff_max_ms = 600000;
	cfg.jitter_pct = 100;
	cfg.retries = 100;
	cfg.max_dgram = SCPP_WIRE_DGRAM_MAX;
	cfg.max_reply = 64;
	c = scpp_client_create(&cfg);
	assert_non_null(c);
	assert_int_not_equal(scpp_client_id(c), 0);
	assert_string_equal(scpp_client_server(c), "127.0.0.1:7300");
	assert_true(scpp_client_fd(c) >= 0);
	scpp_client_free(c);

	scpp_client_free(NULL);
	scpp_client_reply_free(NULL);
	assert_int_equal(scpp_client_exec(NULL, &B, NULL), -EINVAL);
}

struct addr_case {
	const char *text;
	int rc;
	int family;
	uint16_t port;
	const char *formatted;
};

static void
test_client_addr_parse_accepts_and_rejects(void **state)
{
	static const struct addr_case cases[] = {
		{"127.0.0.1:7301", 0, AF_INET, 7301, "127.0.0.1:7301"},
		{"198.18.0.2", 0, AF_INET, 7300, "198.18.0.2:7300"},
		{"[::1]:7302", 0, AF_INET6, 7302, "[::1]:7302"},
		{"[::1]", 0, AF_INET6, 7300, "[::1]:7300"},
		{"::1", 0, AF_INET6, 7300, "[::1]:7300"},
		{"fe80::1:2", 0, AF_INET6, 7300, "[fe80::1:2]:7300"},
		{"127.0.0.1:65535", 0, AF_INET, 65535, "127.0.0.1:65535"},
		{"localhost:9", 0, 0, 9, NULL},
		{"", -EINVAL, 0, 0, NULL},
		{":7300", -EINVAL, 0, 0, NULL},
		{"127.0.0.1:", -EINVAL, 0, 0, NULL},
		{"127.0.0.1:0", -EINVAL, 0, 0, NULL},
		{"127.0.0.1:65536", -EINVAL, 0, 0, NULL},
		{"127.0.0.1:12a", -EINVAL, 0, 0, NULL},
		{"127.0.0.1:+1", -EINVAL, 0, 0, NULL},
		{"[::1", -EINVAL, 0, 0, NULL},
		{"[::1]x", -EINVAL, 0, 0, NULL},
		{"[::1]:", -EINVAL, 0, 0, NULL},
		{"[]:7300", -EINVAL, 0, 0, NULL},
		{"[127.0.0.1]:1", -EINVAL, 0, 0, NULL},
		{"::zz", -EINVAL, 0, 0, NULL},
		{"a]:1", -EINVAL, 0, 0, NULL},
		{"no-such-host.invalid:1", -ENOENT, 0, 0, NULL},
	};
	struct sockaddr_storage ss;
	socklen_t len;
	char buf[SCPP_CLIENT_ADDR_STRLEN], longname[300];
	unsigned int i;

	(void)state;
	for (i = 0; i < SCPP_ARRAY_SIZE(cases); i++) {
		const struct addr_case *t = &cases[i];
		int rc = scpp_client_addr_parse(t->text, &ss, &len);
		uint16_t port;

		if (rc != t->rc)
			fail_msg("%s: got %d, want %d", t->text, rc, t->rc);
		if (rc != 0)
			continue;
		if (t->family != 0)
			assert_int_equal(ss.ss_family, t->family);
		port = ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
					       : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		assert_int_equal(port, t->port);
		assert_int_equal(scpp_client_addr_format((struct sockaddr *)&ss, buf, sizeof(buf)),
				 0);
		if (t->formatted != NULL)
			assert_string_equal(buf, t->formatted);
	}
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(scpp_client_addr_parse(longname, &ss, &len), -EINVAL);
	assert_int_equal(scpp_client_addr_parse(NULL, &ss, &len), -EINVAL);

	assert_int_equal(scpp_client_addr_parse("127.0.0.1:7300", &ss, &len), 0);
	assert_int_equal(scpp_client_addr_format((struct sockaddr *)&ss, buf, 5), -ENOSPC);
	ss.ss_family = AF_UNIX;
	assert_int_equal(scpp_client_addr_format((struct sockaddr *)&ss, buf, sizeof(buf)),
			 -EINVAL);
}

static void
test_client_fetches_only_the_missing_datagrams(void **state)
{
	struct scpp_client *c = client_new(F.port, 20, 10);
	struct scpp_client_reply r;
	struct scpp_client_stats st;

	(void)state;
	FAKE_SET(rows, 30);
	FAKE_SET(pad, 40);
	FAKE_SET(chunk, 64);
	FAKE_SET(drop_seq, 5); /* lost on the first answer */
	parse_into(&B, small_text);
	assert_int_equal(scpp_client_exec(c, &B, &r), 0);
	assert_reply_is_cached(&r, 0);
	scpp_client_stats_get(c, &st);
	/* The block went once; a FETCH asked for datagram 5 (the only gap
	 * below the highest seen, which was the last). */
	assert_int_equal(st.retransmits, 0);
	assert_true(st.fetches >= 1);
	pthread_mutex_lock(&F.mu);
	assert_int_equal(F.receipts, 1);
	assert_int_equal(F.executions, 1);
	assert_true(F.fetches >= 1);
	assert_int_equal(F.last_fetch.nranges, 1);
	assert_int_equal(F.last_fetch.range[0].first, 5);
	assert_int_equal(F.last_fetch.range[0].count, 1);
	/* It names the block's owner, so the node can route it. */
	assert_true(scpp_oid_eq(F.last_fetch.owner, scpp_oid_make(0, 1, 0, 1, 0x2a)));
	pthread_mutex_unlock(&F.mu);
	scpp_client_reply_free(&r);
	scpp_client_free(c);
}

static void
test_client_answers_a_cookie_notice_and_keeps_the_cookie(void **state)
{
	struct scpp_client *c = client_new(F.port, 2000, 2);
	struct scpp_client_config cfg;
	struct scpp_client_reply r;
	struct scpp_client_stats st;
	char server[32];

	(void)state;
	FAKE_SET(amp, true);
	FAKE_SET(rows, 40);
	FAKE_SET(pad, 50); /* a reply of ~2 KiB to a ~60-byte block */
	parse_into(&B, small_text);
	assert_int_equal(scpp_client_exec(c, &B, &r), 0);
	assert_reply_is_cached(&r, 0);
	assert_int_equal(r.tries, 1); /* a cookie round is not a retry */
	scpp_client_reply_free(&r);
	scpp_client_stats_get(c, &st);
	assert_int_equal(st.cookie_rounds, 1);
	assert_int_equal(st.notices, 1);
	assert_int_equal(st.retransmits, 0);
	pthread_mutex_lock(&F.mu);
	assert_int_equal(F.receipts, 2);
	assert_int_equal(F.executions, 1);
	assert_int_equal(F.cookie_blocks, 1);
	pthread_mutex_unlock(&F.mu);
	/* The next block carries the cookie: no second round. */
	assert_int_equal(scpp_client_exec(c, &B, &r), 0);
	assert_reply_is_cached(&r, 1);
	scpp_client_reply_free(&r);
	scpp_client_stats_get(c, &st);
	assert_int_equal(st.cookie_rounds, 1);
	pthread_mutex_lock(&F.mu);
	assert_int_equal(F.receipts, 3);
	assert_int_equal(F.cookie_blocks, 2);
	pthread_mutex_unlock(&F.mu);
	scpp_client_free(c);

	/* A held reply larger than max_reply is refused at the notice. */
	snprintf(server, sizeof(server), "127.0.0.1:%u", F.port);
	scpp_client_config_init(&cfg);
	cfg.server = server;
	cfg.max_reply = 256;
	cfg.timeout_ms = 2000;
	cfg.backoff_max_ms = 2000;
	c = scpp_client_create(&cfg);
	assert_non_null(c);
	assert_int_equal(scpp_client_exec(c, &B, &r), -EFBIG);
	scpp_client_stats_get(c, &st);
	assert_int_equal(st.cookie_rounds, 0);
	scpp_client_free(c);
}

static void
test_client_reports_delivery_notices(void **state)
{
	struct scpp_client *c = client_new(F.port, 50, 2);
	struct scpp_client_reply r;
	struct scpp_client_stats st;

	(void)state;
	parse_into(&B, small_text);
	FAKE_SET(notice_code, SCPP_NOTICE_REPLY_LOST);
	FAKE_SET(notice_times, 1);
	assert_int_equal(scpp_client_exec(c, &B, &r), -SCPP_E_REPLY_LOST);
	assert_null(r.msg);
	FAKE_SET(notice_code, SCPP_NOTICE_STALE);
	FAKE_SET(notice_times, 1);
	assert_int_equal(scpp_client_exec(c, &B, &r), -SCPP_E_STALE_BLOCK);
	/* BUSY once: waited out, then the next try gets the reply. */
	FAKE_SET(notice_code, SCPP_NOTICE_BUSY);
	FAKE_SET(notice_times, 1);
	assert_int_equal(scpp_client_exec(c, &B, &r), 0);
	assert_int_equal(r.tries, 2);
	scpp_client_reply_free(&r);
	/* BUSY on every try: -EBUSY after 1 + retries. */
	FAKE_SET(notice_times, 3);
	assert_int_equal(scpp_client_exec(c, &B, &r), -EBUSY);
	scpp_client_stats_get(c, &st);
	assert_int_equal(st.busy, 4);
	assert_int_equal(st.notices, 6);
	pthread_mutex_lock(&F.mu);
	assert_int_equal(F.executions, 1);
	pthread_mutex_unlock(&F.mu);
	scpp_client_free(c);
}

/*
 * Forwarding as the client sees it: the block goes to the server, the
 * reply comes from another node (the owner); the client takes it, and its
 * next block for the same owner shard goes straight there, while a block
 * for another shard still goes to the server. A learnt owner that goes
 * silent is forgotten after the server answered the retry.
 */
static void
test_client_learns_the_owner_from_the_reply(void **state)
{
	struct scpp_client *c = client_new(F.port, 2000, 2);
	struct scpp_client_reply r;
	struct scpp_client_stats st;

	(void)state;
	assert_non_null(c);
	FAKE_SET(reply_from2, true);
	parse_into(&B, small_text); /* owner @0.1.0.1.2a */
	assert_int_equal(scpp_client_exec(c, &B, &r), 0);
	assert_reply_is_cached(&r, 0);
	scpp_client_reply_free(&r);
	scpp_client_stats_get(c, &st);
	assert_int_equal(st.owners_learned, 1);
	assert_int_equal(st.steered, 0);
	pthread_mutex_lock(&F.mu);
	assert_int_equal(F.frags, 1);
	assert_int_equal(F.frags2, 0);
	pthread_mutex_unlock(&F.mu);

	/* Same shard, another entity: straight to the owner. */
	parse_into(&B, "get @0.1.0.1.77 name %x\nreturn %x");
	assert_int_equal(scpp_client_exec(c, &B, &r), 0);
	assert_reply_is_cached(&r, 1);
	scpp_client_reply_free(&r);
	scpp_client_stats_get(c, &st);
	assert_int_equal(st.steered, 1);
	assert_int_equal(st.owners_learned, 1);
	pthread_mutex_lock(&F.mu);
	assert_int_equal(F.frags, 2);
	assert_int_equal(F.frags2, 1);
	pthread_mutex_unlock(&F.mu);

	/* Another shard: the server. */
	parse_into(&B, "get @0.1.3.1.5 name %x\nreturn %x");
	assert_int_equal(scpp_client_exec(c, &B, &r), 0);
	scpp_client_reply_free(&r);
	pthread_mutex_lock(&F.mu);
	assert_int_equal(F.frags2, 1);
	pthread_mutex_unlock(&F.mu);
	scpp_client_free(c);
}

/* A learnt owner that stops answering: the retry goes to the server, and
 * the block is executed once (the key is the client's, not the path's). */
static void
test_client_falls_back_to_the_server_when_the_owner_is_silent(void **state)
{
	struct scpp_client *c = client_new(F.port, 100, 3);
	struct scpp_client_reply r;
	struct scpp_client_stats st;

	(void)state;
	assert_non_null(c);
	FAKE_SET(reply_from2, true);
	parse_into(&B, small_text);
	assert_int_equal(scpp_client_exec(c, &B, &r), 0);
	scpp_client_reply_free(&r);
	/* The owner's next answer is lost; the server answers the retry
	 * (from its own address now). */
	FAKE_SET(silent_first, 1);
	FAKE_SET(reply_from2, false);
	assert_int_equal(scpp_client_exec(c, &B, &r), 0);
	assert_int_equal(r.tries, 2);
	scpp_client_reply_free(&r);
	scpp_client_stats_get(c, &st);
	assert_int_equal(st.steered, 1);
	assert_int_equal(st.owners_forgotten, 1);
	pthread_mutex_lock(&F.mu);
	assert_int_equal(F.frags2, 1);   /* the first try went to the owner */
	assert_int_equal(F.executions, 2); /* two blocks, each run once */
	pthread_mutex_unlock(&F.mu);
	/* Forgotten: the next block goes to the server. */
	assert_int_equal(scpp_client_exec(c, &B, &r), 0);
	scpp_client_reply_free(&r);
	pthread_mutex_lock(&F.mu);
	assert_int_equal(F.frags2, 1);
	pthread_mutex_unlock(&F.mu);
	scpp_client_free(c);
}

/* scpp_client_reply_copies(): the COPY records of a reply, in order. */
static void
test_client_reply_copies_in_order(void **state)
{
	const struct scpp_wire_copy_result c[] = {
		{.cmd = 0, .copies = 1, .bytes = 4194304, .offloaded = 1, .engine = {"dmadev", 6},
		 .elapsed_ns = 1500000},
		{.cmd = 2, .copies = 3, .bytes = 30, .engine = {"", 0}, .elapsed_ns = 800},
	};
	struct scpp_wire_reply_writer w;
	struct scpp_wire_copy_result got[1];
	struct scpp_client_reply r = {0};
	uint8_t msg[128];

	(void)state;
	scpp_wire_reply_writer_init(&w, msg, sizeof(msg));
	assert_int_equal(scpp_wire_reply_columns(&w, NULL, 0), 0);
	assert_int_equal(scpp_wire_reply_copy(&w, &c[0]), 0);
	assert_int_equal(scpp_wire_reply_copy(&w, &c[1]), 0);
	assert_int_equal(scpp_wire_reply_end(&w, 0, SCPP_OUTCOME_OK, 0, 3, 2000000), 0);
	r.msg = msg;
	r.len = w.len;
	assert_int_equal(scpp_client_reply_copies(&r, got, 1), 2);
	assert_int_equal(got[0].cmd, 0);
	assert_int_equal(got[0].bytes, 4194304);
	assert_int_equal(got[0].elapsed_ns, 1500000);
	assert_int_equal(got[0].engine.len, 6);
	assert_memory_equal(got[0].engine.p, "dmadev", 6);
	assert_int_equal(scpp_client_reply_copies(&r, NULL, 0), 2);
	assert_int_equal(scpp_client_reply_copies(&r, NULL, 1), -EINVAL);
	msg[4] = 0x80; /* the first COPY's copies: an over-long varint */
	msg[5] = 0x00;
	assert_int_equal(scpp_client_reply_copies(&r, got, 1), -SCPP_E_BAD_VARINT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_client_learns_the_owner_from_the_reply,
						fake_start, fake_stop),
		cmocka_unit_test_setup_teardown(
			test_client_falls_back_to_the_server_when_the_owner_is_silent, fake_start,
			fake_stop),
		cmocka_unit_test_setup_teardown(test_client_single_datagram_exchange, fake_start,
						fake_stop),
		cmocka_unit_test_setup_teardown(test_client_reassembles_reordered_duplicated_reply,
						fake_start, fake_stop),
		cmocka_unit_test_setup_teardown(test_client_streams_records_in_order_once,
						fake_start, fake_stop),
		cmocka_unit_test_setup_teardown(test_client_exec_many_keeps_blocks_in_flight,
						fake_start, fake_stop),
		cmocka_unit_test_setup_teardown(test_client_exec_many_retransmits_each_block,
						fake_start, fake_stop),
		cmocka_unit_test_setup_teardown(test_client_exec_many_answers_cookie_notices,
						fake_start, fake_stop),
		cmocka_unit_test_setup_teardown(test_client_fragments_large_block, fake_start,
						fake_stop),
		cmocka_unit_test_setup_teardown(test_client_retransmits_same_block_id_after_lost_reply,
						fake_start, fake_stop),
		cmocka_unit_test_setup_teardown(test_client_times_out_after_retries_with_backoff,
						fake_start, fake_stop),
		cmocka_unit_test_setup_teardown(test_client_ignores_strays_and_malformed_datagrams,
						fake_start, fake_stop),
		cmocka_unit_test_setup_teardown(test_client_reports_malformed_reply_messages,
						fake_start, fake_stop),
		cmocka_unit_test_setup_teardown(test_client_limits_reply_size, fake_start,
						fake_stop),
		cmocka_unit_test_setup_teardown(test_client_reports_refused_port, fake_start,
						fake_stop),
		cmocka_unit_test_setup_teardown(test_client_exec_text_reports_parse_errors,
						fake_start, fake_stop),
		cmocka_unit_test_setup_teardown(test_client_fetches_only_the_missing_datagrams,
						fake_start, fake_stop),
		cmocka_unit_test_setup_teardown(test_client_answers_a_cookie_notice_and_keeps_the_cookie,
						fake_start, fake_stop),
		cmocka_unit_test_setup_teardown(test_client_reports_delivery_notices, fake_start,
						fake_stop),
		cmocka_unit_test(test_client_create_rejects_each_bad_field),
		cmocka_unit_test(test_client_reply_copies_in_order),
		cmocka_unit_test(test_client_addr_parse_accepts_and_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
