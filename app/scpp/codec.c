/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Offline helpers: `scpp encode` shows what a block looks like on the wire,
 * `scpp decode` turns captured bytes (tcpdump -X, a log, encode's output)
 * back into text. Neither opens a socket.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scpp_common.h"
#include "scpp_lang.h"
#include "scpp_status.h"
#include "scpp_wire.h"
#include "cli.h"

/* Blocks are about 40 KiB: keep them off the stack. */
static struct scpp_wire_block blk;

static void
hexdump(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		printf("%02x%c", p[i], i + 1 == n || i % 16 == 15 ? '\n' : ' ');
}

static int
print_block(const struct scpp_wire_block *b)
{
	int n = scpp_lang_format_block(NULL, 0, b);
	char *text;

	if (n < 0)
		return n;
	text = malloc((size_t)n + 1);
	if (text == NULL)
		return -ENOMEM;
	scpp_lang_format_block(text, (size_t)n + 1, b);
	fputs(text, stdout);
	free(text);
	return 0;
}

int
scpp_cli_encode(struct scpp_cli *cli, const char *text)
{
	size_t len = strlen(text), per = cli->cfg.max_dgram - SCPP_WIRE_HDR_LEN, nfrag, i;
	uint64_t cid = cli->client_id_set ? cli->cfg.client_id : 0;
	uint64_t bid = cli->block_id_set ? cli->cfg.first_block_id : 1;
	struct scpp_lang_error err;
	uint8_t *arena, *enc = NULL, *dgram = NULL;
	int rc, n, ret = SCPP_EXIT_FAIL;

	arena = malloc(len + 1);
	if (arena == NULL)
		return SCPP_EXIT_FAIL;
	rc = scpp_lang_parse(text, len, &blk, arena, len, &err);
	if (rc < 0) {
		scpp_cli_parse_error(NULL, 1, text, len, &err);
		free(arena);
		return SCPP_EXIT_USAGE;
	}
	if (print_block(&blk) < 0) {
		fputs("scpp: cannot print the block\n", stderr);
		goto out;
	}
	len = scpp_wire_block_encoded_size(&blk);
	enc = malloc(len);
	dgram = malloc(cli->cfg.max_dgram);
	if (enc == NULL || dgram == NULL) {
		fputs("scpp: out of memory\n", stderr);
		goto out;
	}
	if (scpp_wire_block_encode(&blk, enc, len) < 0)
		goto out; /* cannot happen: the parser built a valid block */
	nfrag = (len + per - 1) / per;
	if (nfrag > SCPP_WIRE_FRAGS_MAX) {
		fprintf(stderr,
			"scpp: the block takes %zu bytes: over %d datagrams of %u bytes "
			"(split it, or raise --max-dgram)\n",
			len, SCPP_WIRE_FRAGS_MAX, cli->cfg.max_dgram);
		goto out;
	}
	for (i = 0; i < nfrag; i++) {
		struct scpp_wire_hdr h = {
			.kind = SCPP_WIRE_BLOCK,
			.flags = i + 1 == nfrag ? SCPP_WIRE_F_LAST : 0,
			.payload_len = (uint16_t)SCPP_MIN(per, len - i * per),
			.client_id = cid,
			.block_id = bid,
			.frag_index = (uint32_t)i,
			.frag_count = (uint32_t)nfrag,
			.payload = enc + i * per,
		};

		n = scpp_wire_dgram_encode(dgram, cli->cfg.max_dgram, &h);
		if (n < 0)
			goto out;
		printf("# datagram %zu/%zu: %d bytes, client 0x%016" PRIx64 ", block %" PRIu64
		       ", block message %zu bytes\n",
		       i + 1, nfrag, n, cid, bid, len);
		hexdump(dgram, (size_t)n);
	}
	ret = SCPP_EXIT_OK;
out:
	free(dgram);
	free(enc);
	free(arena);
	return ret;
}

/* ---- decode ---- */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * Hex digits, two per byte. Blanks, ':', ',' and "0x" prefixes are
 * skipped, and '#' comments run to the end of the line, so encode's output
 * and most hex dumps' byte columns can be pasted as they are.
 */
static int
unhex(const char *s, uint8_t **buf, size_t *len, size_t *cap)
{
	int hi = -1;

	for (; *s != '\0'; s++) {
		int v;

		if (*s == '#') {
			while (s[1] != '\0' && s[1] != '\n')
				s++;
			continue;
		}
		if (isspace((unsigned char)*s) || *s == ':' || *s == ',')
			continue;
		if (hi < 0 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
			s++;
			continue;
		}
		v = hexval((unsigned char)*s);
		if (v < 0) {
			fprintf(stderr, "scpp: decode: '%c' is not a hex digit\n", *s);
			return -EINVAL;
		}
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (*len == *cap) {
			uint8_t *b = realloc(*buf, *cap = *cap * 2 + 4096);

			if (b == NULL)
				return -ENOMEM;
			*buf = b;
		}
		(*buf)[(*len)++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	if (hi >= 0) {
		fputs("scpp: decode: odd number of hex digits\n", stderr);
		return -EINVAL;
	}
	return 0;
}

static int
read_stdin(uint8_t **buf, size_t *len, size_t *cap)
{
	char line[4096];
	int rc;

	while (fgets(line, sizeof(line), stdin) != NULL)
		if ((rc = unhex(line, buf, len, cap)) < 0)
			return rc;
	return ferror(stdin) ? -EIO : 0;
}

static int
cmp_hdr(const void *a, const void *b)
{
	const struct scpp_wire_hdr *x = a, *y = b;

	return x->frag_index < y->frag_index ? -1 : x->frag_index > y->frag_index;
}

static int
print_reply(struct scpp_cli *cli, const uint8_t *msg, size_t len)
{
	int rc = scpp_lang_print_reply(stdout, msg, len, cli->json ? SCPP_LANG_REPLY_JSON : 0,
				       scpp_errno_name);

	if (rc < 0) {
		fprintf(stderr, "scpp: not a valid reply: %s\n", scpp_strerror(rc));
		return SCPP_EXIT_FAIL;
	}
	return SCPP_EXIT_OK;
}

static int
decode_block_msg(const uint8_t *p, size_t len)
{
	uint32_t off = 0;
	int rc = scpp_wire_block_decode(p, len, &blk, &off);

	if (rc < 0) {
		fprintf(stderr, "scpp: not a valid block message: %s at byte %" PRIu32 "\n",
			scpp_strerror(rc), off);
		return SCPP_EXIT_FAIL;
	}
	print_block(&blk);
	return SCPP_EXIT_OK;
}

/*
 * Reassemble the datagrams of one kind (sorted by index) into a message.
 * @return Its length, or -1 if a piece is missing (message printed).
 */
static long
reassemble(struct scpp_wire_hdr *h, size_t n, uint8_t *out)
{
	size_t i, len = 0, k = 0;

	qsort(h, n, sizeof(*h), cmp_hdr);
	for (i = 0; i < n; i++) {
		if (i > 0 && h[i].frag_index == h[i - 1].frag_index)
			continue; /* duplicate */
		if (h[i].frag_index != k) {
			printf("# incomplete: datagram %zu missing\n", k);
			return -1;
		}
		memcpy(out + len, h[i].payload, h[i].payload_len);
		len += h[i].payload_len;
		k++;
		if (h[i].flags & SCPP_WIRE_F_LAST)
			return (long)len;
	}
	printf("# incomplete: no datagram with LAST after %zu\n", k);
	return -1;
}

static int
decode_dgrams(struct scpp_cli *cli, const uint8_t *p, size_t n)
{
	struct scpp_wire_hdr *blocks, *replies;
	size_t nb = 0, nr = 0, off = 0, k = 0;
	uint8_t *msg = malloc(n);
	int ret = SCPP_EXIT_OK;
	long len;

	blocks = calloc(n / SCPP_WIRE_HDR_LEN + 1, sizeof(*blocks));
	replies = calloc(n / SCPP_WIRE_HDR_LEN + 1, sizeof(*replies));
	if (msg == NULL || blocks == NULL || replies == NULL) {
		ret = SCPP_EXIT_FAIL;
		goto out;
	}
	while (off < n) {
		struct scpp_wire_hdr h;
		size_t dlen = n - off;
		int rc;

		/* Datagrams are self-delimiting: cut at 32 + payload_len + tag_len. */
		if (dlen >= SCPP_WIRE_HDR_LEN) {
			size_t want = SCPP_WIRE_HDR_LEN + p[off + 5] +
				      ((size_t)p[off + 6] | (size_t)p[off + 7] << 8);

			dlen = SCPP_MIN(dlen, want);
		}
		rc = scpp_wire_hdr_decode(p + off, dlen, &h);
		if (rc < 0) {
			fprintf(stderr, "scpp: datagram %zu (byte %zu): %s (%s)\n", k + 1, off,
				scpp_strerror(rc), scpp_error_name(rc));
			ret = SCPP_EXIT_FAIL;
			goto out;
		}
		k++;
		if (h.kind == SCPP_WIRE_BLOCK) {
			printf("# datagram %zu: BLOCK, %zu bytes, client 0x%016" PRIx64
			       ", block %" PRIu64 ", fragment %" PRIu32 "/%" PRIu32
			       "%s, payload %u, tag %u\n",
			       k, dlen, h.client_id, h.block_id, h.frag_index, h.frag_count,
			       h.flags & SCPP_WIRE_F_LAST ? ", LAST" : "", h.payload_len,
			       h.tag_len);
			blocks[nb++] = h;
		} else {
			printf("# datagram %zu: REPLY, %zu bytes, client 0x%016" PRIx64
			       ", block %" PRIu64 ", seq %" PRIu32 "%s, payload %u, tag %u\n",
			       k, dlen, h.client_id, h.block_id, h.frag_index,
			       h.flags & SCPP_WIRE_F_LAST ? ", LAST" : "", h.payload_len,
			       h.tag_len);
			replies[nr++] = h;
		}
		off += dlen;
	}
	fflush(stdout);
	if (nb > 0) {
		len = reassemble(blocks, nb, msg);
		if (len >= 0 && blocks[0].frag_count != (uint32_t)nb)
			printf("# note: %zu datagrams for %" PRIu32 " fragments\n", nb,
			       blocks[0].frag_count);
		if (len < 0 || decode_block_msg(msg, (size_t)len) != SCPP_EXIT_OK)
			ret = SCPP_EXIT_FAIL;
	}
	if (nr > 0) {
		len = reassemble(replies, nr, msg);
		if (len < 0 || print_reply(cli, msg, (size_t)len) != SCPP_EXIT_OK)
			ret = SCPP_EXIT_FAIL;
	}
out:
	free(blocks);
	free(replies);
	free(msg);
	return ret;
}

int
scpp_cli_decode(struct scpp_cli *cli, int argc, char **argv)
{
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	int i, rc = 0, ret;

	if (argc == 0) {
		fputs("scpp: decode wants hex bytes, or '-' to read them from stdin\n", stderr);
		return SCPP_EXIT_USAGE;
	}
	for (i = 0; i < argc && rc == 0; i++)
		rc = strcmp(argv[i], "-") == 0 ? read_stdin(&buf, &len, &cap)
					       : unhex(argv[i], &buf, &len, &cap);
	if (rc < 0 || len == 0) {
		if (rc == 0)
			fputs("scpp: decode: no bytes given\n", stderr);
		free(buf);
		return rc == -ENOMEM || rc == -EIO ? SCPP_EXIT_FAIL : SCPP_EXIT_USAGE;
	}
	/* The first byte tells the layer: a datagram starts with the magic
	 * 0x53, a block message with its flags byte 0x00, a reply message
	 * with COLUMNS 0x10. */
	if (buf[0] == SCPP_WIRE_MAGIC0)
		ret = decode_dgrams(cli, buf, len);
	else if (buf[0] == SCPP_REC_COLUMNS)
		ret = print_reply(cli, buf, len);
	else
		ret = decode_block_msg(buf, len);
	free(buf);
	return ret;
}
