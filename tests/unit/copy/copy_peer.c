/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * copy_peer: the second process of unit.copy_fabric's two-process tests.
 *
 *   copy_peer PROVIDER NODE|- FD LEN
 *
 * Maps LEN bytes of the shared-memory file FD (inherited from the test, so
 * the test sees these very bytes and compares them itself), registers them
 * with a fabric instance for local use and for peers to read and write,
 * prints "window <hex of the 128-byte descriptor>", then serves one command
 * per line on stdin, answering one line on stdout:
 *
 *   attach <hex>                  -> "ok <rc>"      attach the test's window
 *   copy w|r <loff> <roff> <len>  -> "done <status>" fi_write from / fi_read
 *                                                   into our memory at loff,
 *                                                   at roff of that window
 *   quit                          -> exits 0
 *
 * Between commands, and while its own copies are in flight, it keeps
 * polling its instance: that is the target-side progress the test's copies
 * into this process need (shm and tcp progress manually). It exits on EOF,
 * when its parent dies (PR_SET_PDEATHSIG) and after 120 s in any case, so
 * a failed test cannot leave it behind.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include "scpp_copy.h"

static struct scpp_copy *c;
static struct scpp_copy_remote *peer_win;
static uint8_t *mem;
static size_t mem_len;

static void
hex_out(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", b[i]);
}

static int
hex_in(const char *s, uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned int v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		b[i] = (uint8_t)v;
	}
	return 0;
}

static void
progress(void)
{
	struct scpp_copy_cpl cpl[SCPP_COPY_BURST_MAX];

	(void)scpp_copy_poll_burst(c, cpl, 0);
}

static int
do_copy(char kind, uint64_t loff, uint64_t roff, uint64_t len)
{
	struct scpp_copy_op op;
	struct scpp_copy_cpl cpl;

	if (peer_win == NULL || loff > mem_len || len > mem_len - loff)
		return -EINVAL;
	memset(&op, 0, sizeof(op));
	op.kind = kind == 'w' ? SCPP_COPY_WRITE : SCPP_COPY_READ;
	op.src = mem + loff;
	op.dst = mem + loff;
	op.remote = peer_win;
	op.remote_off = roff;
	op.len = len;
	if (scpp_copy_submit_burst(c, &op, 1) != 1)
		return -ENOSPC;
	/* The instance's timeout bounds this loop. */
	while (scpp_copy_poll_burst(c, &cpl, 1) == 0)
		sched_yield();
	return cpl.status;
}

static void
serve(char *line)
{
	uint8_t enc[SCPP_COPY_WINDOW_LEN];
	struct scpp_copy_window w;
	uint64_t loff, roff, len;
	char kind;
	int rc;

	if (strncmp(line, "attach ", 7) == 0) {
		rc = hex_in(line + 7, enc, sizeof(enc));
		if (rc == 0)
			rc = scpp_copy_window_decode(enc, sizeof(enc), &w);
		if (rc == 0)
			rc = scpp_copy_remote_attach(c, &w, &peer_win);
		printf("ok %d\n", rc);
	} else if (sscanf(line, "copy %c %" SCNu64 " %" SCNu64 " %" SCNu64, &kind, &loff, &roff,
			  &len) == 4 && (kind == 'w' || kind == 'r')) {
		printf("done %d\n", do_copy(kind, loff, roff, len));
	} else if (strncmp(line, "quit", 4) == 0) {
		scpp_copy_free(c);
		exit(0);
	} else {
		printf("error unknown command\n");
	}
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	struct scpp_copy_config cfg;
	struct scpp_copy_region *r;
	struct scpp_copy_window w;
	uint8_t enc[SCPP_COPY_WINDOW_LEN];
	char line[512];
	size_t used = 0;

	if (argc != 5) {
		fprintf(stderr, "usage: copy_peer PROVIDER NODE|- FD LEN\n");
		return 2;
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	alarm(120);
	mem_len = strtoull(argv[4], NULL, 0);
	mem = mmap(NULL, mem_len, PROT_READ | PROT_WRITE, MAP_SHARED, atoi(argv[3]), 0);
	if (mem == MAP_FAILED) {
		perror("copy_peer: mmap");
		return 1;
	}
	scpp_copy_config_init(&cfg);
	cfg.engine = "fabric";
	cfg.name = "copy_peer";
	cfg.fabric.provider = argv[1];
	cfg.fabric.node = strcmp(argv[2], "-") == 0 ? NULL : argv[2];
	cfg.timeout_ns = UINT64_C(20000000000);
	c = scpp_copy_create(&cfg);
	if (c == NULL || scpp_copy_mem_register(c, mem, mem_len,
						SCPP_COPY_ACCESS_LOCAL |
						SCPP_COPY_ACCESS_REMOTE_READ |
						SCPP_COPY_ACCESS_REMOTE_WRITE, &r) != 0 ||
	    scpp_copy_window_get(c, r, &w) != 0 || scpp_copy_window_encode(&w, enc) != 0) {
		fprintf(stderr, "copy_peer: cannot set up a %s instance\n", argv[1]);
		return 1;
	}
	printf("window ");
	hex_out(enc, sizeof(enc));
	printf("\n");
	fflush(stdout);
	for (;;) {
		struct pollfd pfd = {.fd = 0, .events = POLLIN};
		ssize_t n;
		char *nl;

		progress();
		if (poll(&pfd, 1, 0) <= 0) {
			sched_yield();
			continue;
		}
		n = read(0, line + used, sizeof(line) - 1 - used);
		if (n <= 0)
			break; /* the test is gone */
		used += (size_t)n;
		line[used] = '\0';
		while ((nl = strchr(line, '\n')) != NULL) {
			*nl = '\0';
			serve(line);
			used -= (size_t)(nl + 1 - line);
			memmove(line, nl + 1, used + 1);
		}
		if (used == sizeof(line) - 1)
			used = 0; /* an over-long line: drop it */
	}
	scpp_copy_free(c);
	return 0;
}
