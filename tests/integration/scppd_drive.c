/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * scppd_drive: a small, dependency-light test client for the integration
 * tests. It speaks the wire protocol directly (lib/wire + lib/lang), so
 * the tests control every datagram: the block id, fragment sizes, and
 * sending the very same datagrams twice (at-most-once test).
 *
 *   scppd_drive exec HOST PORT 'BLOCK TEXT' [options]
 *     --client N   client id (default 1)
 *     --block N    block id (default 1)
 *     --times N    send the same datagrams N times, waiting for the whole
 *                  reply after each (default 1)
 *     --dgram N    largest datagram (default 1472): smaller values fragment
 *   Prints, per reply, one line of JSON (lib/lang's reply printer) and one
 *   line "meta {"dgrams":D,"bytes":B,"hex":"..."}".
 *
 *   scppd_drive encode 'BLOCK TEXT'   prints the block message in hex
 *
 * Exit status: 0 when every reply arrived complete, 1 on a timeout or
 * error, 2 on usage errors. Every wait is bounded (2 s per datagram).
 */

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
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

static struct scpp_wire_block blk;
static uint8_t msg[SCPP_WIRE_FRAGS_MAX * SCPP_WIRE_DGRAM_MAX];
static uint8_t reply[MSG_MAX];
static uint8_t have[MSG_MAX / 32];

static int
encode(const char *text, size_t *len)
{
	static uint8_t arena[1 << 16];
	struct scpp_lang_error err;
	int rc;

	rc = scpp_lang_parse(text, strlen(text), &blk, arena, sizeof(arena), &err);
	if (rc != 0) {
		fprintf(stderr, "parse: %s\n", err.msg);
		return rc;
	}
	rc = scpp_wire_block_encode(&blk, msg, sizeof(msg));
	if (rc < 0) {
		fprintf(stderr, "encode: %s\n", scpp_strerror(rc));
		return rc;
	}
	*len = (size_t)rc;
	return 0;
}

/* Receive one complete reply for (client, block): datagrams in sequence
 * order are placed by sequence number, assuming every datagram but the
 * last carries the same payload size (what scppd sends). */
static int
recv_reply(int fd, uint64_t client, uint64_t block, size_t *len, unsigned int *dgrams)
{
	static uint8_t buf[65536];
	size_t chunk = 0, total = 0;
	uint32_t last = UINT32_MAX, got = 0;
	struct pollfd p = {.fd = fd, .events = POLLIN};

	memset(have, 0, sizeof(have));
	for (;;) {
		struct scpp_wire_hdr h;
		ssize_t n;

		if (poll(&p, 1, WAIT_MS) <= 0) {
			fprintf(stderr, "timeout waiting for reply of block %llu (%u datagrams so far)\n",
				(unsigned long long)block, got);
			return -ETIMEDOUT;
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			return -errno;
		if (scpp_wire_hdr_decode(buf, (size_t)n, &h) != 0 || h.kind != SCPP_WIRE_REPLY ||
		    h.client_id != client || h.block_id != block)
			continue;
		if (h.frag_index >= sizeof(have) * 8)
			return -E2BIG;
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
	}
}

static int
cmd_exec(int argc, char **argv)
{
	uint64_t client = 1, block = 1;
	unsigned int times = 1, dgram = SCPP_WIRE_DGRAM_DEFAULT, t, dgrams = 0, nfrag, f;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	size_t mlen, rlen = 0, per, off;
	int fd, i, rc;

	if (argc < 5)
		return 2;
	for (i = 5; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--client") == 0)
			client = strtoull(argv[i + 1], NULL, 0);
		else if (strcmp(argv[i], "--block") == 0)
			block = strtoull(argv[i + 1], NULL, 0);
		else if (strcmp(argv[i], "--times") == 0)
			times = (unsigned int)strtoul(argv[i + 1], NULL, 0);
		else if (strcmp(argv[i], "--dgram") == 0)
			dgram = (unsigned int)strtoul(argv[i + 1], NULL, 0);
		else
			return 2;
	}
	if (encode(argv[4], &mlen) != 0)
		return 1;
	if (inet_pton(AF_INET, argv[2], &sa.sin_addr) != 1)
		return 2;
	sa.sin_port = htons((uint16_t)atoi(argv[3]));
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror("socket");
		return 1;
	}
	{
		int sz = 8 << 20;

		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	}
	per = dgram - SCPP_WIRE_HDR_LEN;
	nfrag = mlen == 0 ? 1 : (unsigned int)((mlen + per - 1) / per);
	if (nfrag > SCPP_WIRE_FRAGS_MAX) {
		fprintf(stderr, "block of %zu bytes needs %u fragments\n", mlen, nfrag);
		return 1;
	}
	for (t = 0; t < times; t++) {
		for (f = 0, off = 0; f < nfrag; f++) {
			static uint8_t d[SCPP_WIRE_DGRAM_MAX];
			size_t n = SCPP_MIN(mlen - off, per);
			struct scpp_wire_hdr h = {
				.kind = SCPP_WIRE_BLOCK,
				.flags = f + 1 == nfrag ? SCPP_WIRE_F_LAST : 0,
				.payload_len = (uint16_t)n,
				.client_id = client,
				.block_id = block,
				.frag_index = f,
				.frag_count = nfrag,
				.payload = msg + off,
			};

			rc = scpp_wire_dgram_encode(d, sizeof(d), &h);
			if (rc < 0 || send(fd, d, (size_t)rc, 0) != rc) {
				perror("send");
				return 1;
			}
			off += n;
		}
		rc = recv_reply(fd, client, block, &rlen, &dgrams);
		if (rc != 0)
			return 1;
		rc = scpp_lang_print_reply(stdout, reply, rlen, SCPP_LANG_REPLY_JSON, scpp_errno_name);
		if (rc != 0) {
			fprintf(stderr, "reply does not decode: %s\n", scpp_strerror(rc));
			return 1;
		}
		printf("meta {\"dgrams\":%u,\"bytes\":%zu,\"hex\":\"", dgrams, rlen);
		for (off = 0; off < rlen; off++)
			printf("%02x", reply[off]);
		printf("\"}\n");
		fflush(stdout);
	}
	close(fd);
	return 0;
}

int
main(int argc, char **argv)
{
	size_t len, i;

	if (argc >= 2 && strcmp(argv[1], "exec") == 0) {
		int rc = cmd_exec(argc, argv);

		if (rc == 2)
			fprintf(stderr, "usage: scppd_drive exec HOST PORT TEXT [--client N] "
					"[--block N] [--times N] [--dgram N]\n");
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
	fprintf(stderr, "usage: scppd_drive exec HOST PORT TEXT [options] | encode TEXT\n");
	return 2;
}
