/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * scppd_drive: a small, dependency-light test client for the integration
 * tests. It speaks the wire protocol directly (lib/wire + lib/lang), so
 * the tests control every datagram: the block id, fragment sizes, sending
 * the very same datagrams again (at-most-once tests), skipping one reply
 * datagram and fetching it (selective re-fetch), the source address.
 *
 *   scppd_drive exec HOST PORT 'BLOCK TEXT' [options]
 *     --client N    client id (default 1)
 *     --block N     block id (default 1)
 *     --times N     send the same block N times, waiting for the whole
 *                   reply after each (default 1)
 *     --dgram N     largest datagram (default 1472): smaller values fragment
 *     --bind ADDR   send from this local address
 *     --no-cookie   do not answer a NOTICE COOKIE: report it
 *     --cookie HEX  send the first block with this cookie
 *     --copy-results  set block flag COPY_RESULTS (COPY records in the reply)
 *     --wait MS     wait at most MS ms for each reply datagram (default 2000;
 *                   for blocks whose evaluation itself takes long, such as a
 *                   scan run to its step budget under ASan on a loaded host)
 *     --drop-seq K  ignore reply datagram K the first time it comes, then
 *                   ask for it with a FETCH
 *     --between N --between-text T [--between-client C]
 *                   after the first send, and before the next, send N
 *                   blocks of T (ids block+1 ..., client C, default the
 *                   same client) on the same socket, each waiting for its
 *                   answer; prints "between {...}" with their counts
 *   Prints, per reply, one line of JSON (lib/lang's reply printer) and one
 *   line "meta {...}": datagrams, bytes, the reply in hex, cookie rounds,
 *   FETCHes sent and the cookie held. A NOTICE other than an answered
 *   COOKIE ends that send: the JSON line is {"notice": NAME, ...}.
 *
 *   scppd_drive flood HOST PORT 'BLOCK TEXT' --count N [--client C]
 *                     [--block B] [--bind ADDR]
 *     sends N blocks with ids B, B+1, ..., one at a time (each waits for
 *     its reply), and prints {"replies":R,"notices":K,"timeouts":T}.
 *
 *   scppd_drive encode 'BLOCK TEXT'   prints the block message in hex
 *   scppd_drive reply HEX             prints reply records (hex) as exec does
 *
 * A NOTICE COOKIE is answered by sending the block again with the cookie
 * (at most 3 times per send), as the client library does.
 *
 * Exit status: 0 when every send got its reply or notice, 1 on a timeout or
 * error, 2 on usage errors. Every wait is bounded (2 s per datagram, or --wait).
 */

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "scpp_lang.h"
#include "scpp_status.h"
#include "scpp_wire.h"

#define MSG_MAX (4u << 20)
#define WAIT_MS 2000
#define WAIT_MS_MAX 600000
#define COOKIE_ROUNDS 3

static struct scpp_wire_block blk, blk2;
static uint8_t msg[SCPP_WIRE_FRAGS_MAX * SCPP_WIRE_DGRAM_MAX];
static uint8_t msg2[SCPP_WIRE_FRAGS_MAX * SCPP_WIRE_DGRAM_MAX];
static uint8_t reply[MSG_MAX];
static uint8_t have[MSG_MAX / 32];
static int wait_ms = WAIT_MS;

static const char *const notice_names[SCPP_NOTICE_COUNT] = {
	[SCPP_NOTICE_COOKIE] = "cookie", [SCPP_NOTICE_REPLY_LOST] = "reply_lost",
	[SCPP_NOTICE_STALE] = "stale", [SCPP_NOTICE_BUSY] = "busy",
	[SCPP_NOTICE_NO_REPLY] = "no_reply",
};

struct drive {
	int fd;
	struct sockaddr_in to;   /* where requests go: the node, or whoever issued the cookie */
	struct sockaddr_in from; /* where the last reply datagram came from */
	uint64_t client, block;
	unsigned int dgram;
	const uint8_t *msg;
	struct scpp_wire_block *blk;
	size_t mlen;
	bool use_cookie;      /* answer COOKIE notices */
	bool has_cookie;
	uint8_t cookie[SCPP_WIRE_COOKIE_LEN];
	int drop_seq;         /* -1: none */
	unsigned int cookie_rounds, fetches;
	struct scpp_wire_notice notice; /* the last one received */
};

/* --copy-results: every block asks for its COPY records. */
static bool copy_results;

static int
encode_into(const char *text, struct scpp_wire_block *b, uint8_t *out, size_t size, size_t *len)
{
	static uint8_t arena[1 << 16];
	struct scpp_lang_error err;
	int rc;

	rc = scpp_lang_parse(text, strlen(text), b, arena, sizeof(arena), &err);
	if (rc != 0) {
		fprintf(stderr, "parse: %s\n", err.msg);
		return rc;
	}
	if (copy_results)
		b->flags |= SCPP_WIRE_BF_COPY_RESULTS;
	rc = scpp_wire_block_encode(b, out, size);
	if (rc < 0) {
		fprintf(stderr, "encode: %s\n", scpp_strerror(rc));
		return rc;
	}
	*len = (size_t)rc;
	return 0;
}

static int
encode(const char *text, size_t *len)
{
	return encode_into(text, &blk, msg, sizeof(msg), len);
}

static int
send_dgram(struct drive *dr, struct scpp_wire_hdr *h)
{
	static uint8_t d[SCPP_WIRE_DGRAM_MAX];
	int rc;

	if (dr->has_cookie) {
		h->flags |= SCPP_WIRE_F_COOKIE;
		h->cookie = dr->cookie;
	}
	rc = scpp_wire_dgram_encode(d, sizeof(d), h);
	if (rc < 0 || sendto(dr->fd, d, (size_t)rc, 0, (struct sockaddr *)&dr->to,
			     sizeof(dr->to)) != rc) {
		perror("send");
		return -1;
	}
	return 0;
}

/* Every fragment of the block (room for a cookie is kept in each). */
static int
send_block(struct drive *dr)
{
	size_t over = SCPP_WIRE_HDR_LEN + (dr->has_cookie ? SCPP_WIRE_COOKIE_LEN : 0);
	/* The cookie takes room of its own; tiny --dgram values still carry
	 * one payload byte per fragment. */
	size_t per = dr->dgram > over ? dr->dgram - over : 1;
	unsigned int nfrag = dr->mlen == 0 ? 1 : (unsigned int)((dr->mlen + per - 1) / per), f;
	size_t off = 0;

	if (nfrag > SCPP_WIRE_FRAGS_MAX) {
		fprintf(stderr, "block of %zu bytes needs %u fragments\n", dr->mlen, nfrag);
		return -1;
	}
	for (f = 0; f < nfrag; f++) {
		size_t n = SCPP_MIN(dr->mlen - off, per);
		struct scpp_wire_hdr h = {
			.kind = SCPP_WIRE_BLOCK,
			.flags = f + 1 == nfrag ? SCPP_WIRE_F_LAST : 0,
			.payload_len = (uint16_t)n,
			.client_id = dr->client,
			.block_id = dr->block,
			.frag_index = f,
			.frag_count = nfrag,
			.payload = dr->msg + off,
		};

		if (send_dgram(dr, &h) != 0)
			return -1;
		off += n;
	}
	return 0;
}

static int
send_fetch(struct drive *dr, uint32_t seq)
{
	struct scpp_wire_fetch f = {.nranges = 1, .range = {{seq, 1}}};
	uint8_t p[SCPP_WIRE_FETCH_LEN(1)];
	struct scpp_wire_hdr h = {
		.kind = SCPP_WIRE_FETCH, .flags = SCPP_WIRE_F_LAST, .client_id = dr->client,
		.block_id = dr->block, .frag_count = 1, .payload = p,
	};

	if (!scpp_wire_block_owner(dr->blk, &f.owner))
		f.owner = SCPP_OID_NIL;
	h.payload_len = (uint16_t)scpp_wire_fetch_encode(p, sizeof(p), &f);
	dr->fetches++;
	return send_dgram(dr, &h);
}

/*
 * Receive one complete reply for (client, block): datagrams are placed by
 * sequence number, assuming every datagram but the last carries the same
 * payload size (what scppd sends). Returns 0 (reply), 1 (a NOTICE, in
 * dr->notice), or a negative error.
 */
static int
recv_reply(struct drive *dr, size_t *len, unsigned int *dgrams)
{
	static uint8_t buf[65536];
	size_t chunk = 0, total = 0;
	uint32_t last = UINT32_MAX, got = 0;
	bool dropped = false;
	struct pollfd p = {.fd = dr->fd, .events = POLLIN};

	memset(have, 0, sizeof(have));
	for (;;) {
		struct scpp_wire_hdr h;
		ssize_t n;

		if (poll(&p, 1, wait_ms) <= 0) {
			fprintf(stderr, "timeout waiting for reply of block %llu (%u datagrams so far)\n",
				(unsigned long long)dr->block, got);
			return -ETIMEDOUT;
		}
		struct sockaddr_in src;
		socklen_t slen = sizeof(src);

		n = recvfrom(dr->fd, buf, sizeof(buf), 0, (struct sockaddr *)&src, &slen);
		if (n < 0)
			return -errno;
		if (scpp_wire_hdr_decode(buf, (size_t)n, &h) != 0 || h.client_id != dr->client ||
		    h.block_id != dr->block)
			continue;
		/* Whoever answers: the node sent to, or the owner it forwarded
		 * the block to (docs/CLUSTER.md §7). */
		dr->from = src;
		if (h.kind == SCPP_WIRE_NOTICE) {
			if (scpp_wire_notice_decode(h.payload, h.payload_len, &dr->notice) != 0)
				return -EPROTO;
			return 1;
		}
		if (h.kind != SCPP_WIRE_REPLY)
			continue;
		if (h.frag_index >= sizeof(have) * 8)
			return -E2BIG;
		if (!dropped && (int)h.frag_index == dr->drop_seq) {
			dropped = true; /* as if the network had lost it */
			continue;
		}
		if (chunk == 0 && !(h.flags & SCPP_WIRE_F_LAST))
			chunk = h.payload_len;
		if (h.flags & SCPP_WIRE_F_LAST) {
			last = h.frag_index;
			total = (size_t)h.frag_index * chunk + h.payload_len;
		}
		if ((size_t)h.frag_index * (chunk ? chunk : h.payload_len) + h.payload_len > MSG_MAX)
			return -E2BIG;
		if (!(have[h.frag_index / 8] & (1u << (h.frag_index % 8)))) {
			have[h.frag_index / 8] |= (uint8_t)(1u << (h.frag_index % 8));
			memcpy(reply + (size_t)h.frag_index * (chunk ? chunk : h.payload_len), h.payload,
			       h.payload_len);
			got++;
		}
		if (last != UINT32_MAX && got == last + 1) {
			*len = total;
			*dgrams = got;
			return 0;
		}
		/* Everything but the dropped one is here: fetch it alone. */
		if (dropped && last != UINT32_MAX && got == last && dr->drop_seq >= 0 &&
		    (uint32_t)dr->drop_seq <= last) {
			if (send_fetch(dr, (uint32_t)dr->drop_seq) != 0)
				return -EIO;
			dr->drop_seq = -1;
		}
	}
}

/* Send the block and get its answer, going through cookie rounds. */
static int
exchange(struct drive *dr, size_t *rlen, unsigned int *dgrams)
{
	int rc;

	for (;;) {
		if (send_block(dr) != 0)
			return -EIO;
		rc = recv_reply(dr, rlen, dgrams);
		if (rc != 1 || dr->notice.code != SCPP_NOTICE_COOKIE || !dr->use_cookie ||
		    dr->cookie_rounds >= COOKIE_ROUNDS)
			return rc;
		memcpy(dr->cookie, dr->notice.cookie, sizeof(dr->cookie));
		dr->has_cookie = true;
		dr->cookie_rounds++;
		dr->to = dr->from; /* the cookie is its issuer's */
	}
}

static int
open_socket(struct drive *dr, const char *host, const char *port, const char *bind_addr)
{
	struct sockaddr_in sa = {.sin_family = AF_INET}, la = {.sin_family = AF_INET};
	int sz = 8 << 20;

	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return 2;
	sa.sin_port = htons((uint16_t)atoi(port));
	dr->fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (dr->fd < 0)
		return 1;
	if (bind_addr != NULL && (inet_pton(AF_INET, bind_addr, &la.sin_addr) != 1 ||
				  bind(dr->fd, (struct sockaddr *)&la, sizeof(la)) != 0)) {
		perror("bind");
		return 1;
	}
	/* Not connected: a forwarded block is answered by its owner, from
	 * the owner's address. */
	if (bind_addr == NULL && bind(dr->fd, (struct sockaddr *)&la, sizeof(la)) != 0) {
		perror("bind");
		return 1;
	}
	dr->to = sa;
	setsockopt(dr->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	return 0;
}

static void
print_hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

static void
print_meta(const struct drive *dr, unsigned int dgrams, size_t rlen)
{
	char from[INET_ADDRSTRLEN] = "";

	inet_ntop(AF_INET, &dr->from.sin_addr, from, sizeof(from));
	printf("meta {\"dgrams\":%u,\"bytes\":%zu,\"cookie_rounds\":%u,\"fetches\":%u,"
	       "\"from\":\"%s:%u\",\"cookie\":\"", dgrams, rlen, dr->cookie_rounds, dr->fetches,
	       from, ntohs(dr->from.sin_port));
	if (dr->has_cookie)
		print_hex(dr->cookie, sizeof(dr->cookie));
	printf("\",\"hex\":\"");
	print_hex(reply, rlen);
	printf("\"}\n");
	fflush(stdout);
}

static int
parse_hex(const char *s, uint8_t *out, size_t n)
{
	if (strlen(s) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned int b;

		if (sscanf(s + 2 * i, "%2x", &b) != 1)
			return -1;
		out[i] = (uint8_t)b;
	}
	return 0;
}

struct between {
	unsigned int n;
	const char *text;
	uint64_t client;
	bool has_client;
};

static int
options(int argc, char **argv, struct drive *dr, unsigned int *times, const char **bind_addr,
	struct between *bt)
{
	for (int i = 5; i < argc; i++) {
		bool more = i + 1 < argc;

		if (strcmp(argv[i], "--no-cookie") == 0)
			dr->use_cookie = false;
		else if (strcmp(argv[i], "--copy-results") == 0)
			copy_results = true;
		else if (!more)
			return 2;
		else if (strcmp(argv[i], "--client") == 0)
			dr->client = strtoull(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--block") == 0)
			dr->block = strtoull(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--times") == 0 || strcmp(argv[i], "--count") == 0)
			*times = (unsigned int)strtoul(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--dgram") == 0)
			dr->dgram = (unsigned int)strtoul(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--bind") == 0)
			*bind_addr = argv[++i];
		else if (strcmp(argv[i], "--wait") == 0) {
			long ms = strtol(argv[++i], NULL, 0);

			if (ms <= 0 || ms > WAIT_MS_MAX)
				return 2;
			wait_ms = (int)ms;
		} else if (strcmp(argv[i], "--drop-seq") == 0)
			dr->drop_seq = atoi(argv[++i]);
		else if (strcmp(argv[i], "--between") == 0)
			bt->n = (unsigned int)strtoul(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--between-text") == 0)
			bt->text = argv[++i];
		else if (strcmp(argv[i], "--between-client") == 0) {
			bt->client = strtoull(argv[++i], NULL, 0);
			bt->has_client = true;
		}
		else if (strcmp(argv[i], "--cookie") == 0) {
			if (parse_hex(argv[++i], dr->cookie, sizeof(dr->cookie)) != 0)
				return 2;
			dr->has_cookie = true;
		} else
			return 2;
	}
	return 0;
}

/* N blocks of @p bt->text, ids after @p dr's, on @p dr's socket. */
static int
run_between(const struct drive *dr, const struct between *bt)
{
	struct drive b = *dr;
	unsigned int replies = 0, notices = 0, timeouts = 0, dgrams;
	size_t rlen;
	int rc;

	if (encode_into(bt->text, &blk2, msg2, sizeof(msg2), &b.mlen) != 0)
		return 1;
	b.msg = msg2;
	b.blk = &blk2;
	b.drop_seq = -1;
	if (bt->has_client) {
		b.client = bt->client;
		b.has_cookie = false;
	}
	for (unsigned int i = 0; i < bt->n; i++) {
		b.block++;
		rc = exchange(&b, &rlen, &dgrams);
		replies += rc == 0;
		notices += rc == 1;
		timeouts += rc == -ETIMEDOUT;
		if (rc < 0 && rc != -ETIMEDOUT)
			return 1;
	}
	printf("between {\"replies\":%u,\"notices\":%u,\"timeouts\":%u}\n", replies, notices,
	       timeouts);
	fflush(stdout);
	return timeouts != 0;
}

static int
cmd_exec(int argc, char **argv, bool flood)
{
	struct drive dr = {.client = 1, .block = 1, .dgram = SCPP_WIRE_DGRAM_DEFAULT,
			   .use_cookie = true, .drop_seq = -1, .msg = msg, .blk = &blk};
	struct between bt = {0};
	unsigned int times = 1, t, dgrams = 0, replies = 0, notices = 0, timeouts = 0;
	const char *bind_addr = NULL;
	size_t rlen = 0;
	int rc;

	if (argc < 5 || options(argc, argv, &dr, &times, &bind_addr, &bt) != 0)
		return 2;
	if (bt.n > 0 && bt.text == NULL)
		return 2;
	if (encode(argv[4], &dr.mlen) != 0)
		return 1;
	rc = open_socket(&dr, argv[2], argv[3], bind_addr);
	if (rc != 0)
		return rc;
	for (t = 0; t < times; t++) {
		if (t == 1 && bt.n > 0 && run_between(&dr, &bt) != 0)
			return 1;
		dr.cookie_rounds = 0;
		dr.fetches = 0;
		rlen = 0;
		dgrams = 0;
		rc = exchange(&dr, &rlen, &dgrams);
		if (flood) {
			replies += rc == 0;
			notices += rc == 1;
			timeouts += rc == -ETIMEDOUT;
			if (rc < 0 && rc != -ETIMEDOUT)
				return 1;
			dr.block++;
			continue;
		}
		if (rc < 0)
			return 1;
		if (rc == 1) {
			printf("{\"notice\":\"%s\",\"retry_ms\":%u,\"reply_bytes\":%u,"
			       "\"reply_dgrams\":%u}\n",
			       notice_names[dr.notice.code], dr.notice.retry_ms,
			       dr.notice.reply_bytes, dr.notice.reply_dgrams);
			print_meta(&dr, 0, 0);
			continue;
		}
		rc = scpp_lang_print_reply(stdout, reply, rlen, SCPP_LANG_REPLY_JSON, scpp_errno_name);
		if (rc != 0) {
			fprintf(stderr, "reply does not decode: %s\n", scpp_strerror(rc));
			return 1;
		}
		print_meta(&dr, dgrams, rlen);
	}
	if (flood)
		printf("{\"replies\":%u,\"notices\":%u,\"timeouts\":%u}\n", replies, notices, timeouts);
	close(dr.fd);
	return flood && timeouts != 0 ? 1 : 0;
}

int
main(int argc, char **argv)
{
	size_t len, i;

	if (argc >= 2 && (strcmp(argv[1], "exec") == 0 || strcmp(argv[1], "flood") == 0)) {
		int rc = cmd_exec(argc, argv, strcmp(argv[1], "flood") == 0);

		if (rc == 2)
			fprintf(stderr, "usage: scppd_drive exec|flood HOST PORT TEXT [--client N] "
					"[--block N] [--times N | --count N] [--dgram N] "
					"[--bind ADDR] [--wait MS] [--no-cookie] [--copy-results] [--cookie HEX] "
					"[--drop-seq K] [--between N --between-text T "
					"[--between-client C]]\n");
		return rc;
	}
	if (argc == 3 && strcmp(argv[1], "encode") == 0) {
		if (encode(argv[2], &len) != 0)
			return 1;
		for (i = 0; i < len; i++)
			printf("%02x", msg[i]);
		printf("\n");
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "reply") == 0) {
		size_t n = strlen(argv[2]) / 2;

		if (n > sizeof(msg) || strlen(argv[2]) % 2 != 0)
			return 2;
		for (i = 0; i < n; i++) {
			unsigned int x;

			if (sscanf(argv[2] + 2 * i, "%2x", &x) != 1)
				return 2;
			msg[i] = (uint8_t)x;
		}
		return scpp_lang_print_reply(stdout, msg, n, SCPP_LANG_REPLY_JSON,
					     scpp_errno_name) == 0 ? 0 : 1;
	}
	fprintf(stderr, "usage: scppd_drive exec|flood HOST PORT TEXT [options] | encode TEXT | "
		"reply HEX\n");
	return 2;
}
