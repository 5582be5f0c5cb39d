/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target for the text form of blocks.
 *
 * Input: any bytes, parsed as block text. When they parse, three
 * properties must hold, and any violation aborts:
 * - format(block) parses back to an equal block (scpp_wire_block_equal);
 * - formatting is a fixed point: format(parse(format(block))) == format(block);
 * - formatting into a short buffer writes a NUL-terminated prefix of the full
 *   text and nothing past the buffer (the buffers are exact-size heap
 *   allocations, so ASan sees any overrun).
 * Errors must come with a message and a position.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scpp_lang.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Blocks are about 40 KiB: static, not on the fuzzer's stack. */
static struct scpp_wire_block blk1, blk2;

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_lang: %s\n", what);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scpp_lang_error err;
	uint8_t *arena1 = malloc(size + 1), *arena2 = NULL;
	char *text = NULL, *text2 = NULL, *small = NULL;
	int n, n2, rc;

	check(arena1 != NULL, "malloc");
	rc = scpp_lang_parse((const char *)data, size, &blk1, arena1, size, &err);
	if (rc != 0) {
		check(err.code == rc && err.line >= 1 && err.col >= 1 && err.msg[0] != '\0',
		      "error without code, position or message");
		check(memchr(err.msg, '\0', sizeof(err.msg)) != NULL, "message not terminated");
		goto out;
	}

	n = scpp_lang_format_block(NULL, 0, &blk1);
	check(n >= 0, "format rejected a parsed block");
	text = malloc((size_t)n + 1);
	arena2 = malloc((size_t)n + 1);
	check(text != NULL && arena2 != NULL, "malloc");
	check(scpp_lang_format_block(text, (size_t)n + 1, &blk1) == n, "format length changed");
	check(strlen(text) == (size_t)n, "format output length");

	/* A short buffer gets a terminated prefix and the full length. */
	small = malloc((size_t)n / 2 + 1);
	check(small != NULL, "malloc");
	check(scpp_lang_format_block(small, (size_t)n / 2 + 1, &blk1) == n, "truncated length");
	check(strlen(small) == (size_t)n / 2 && memcmp(small, text, (size_t)n / 2) == 0,
	      "truncated output is not a prefix");

	rc = scpp_lang_parse(text, (size_t)n, &blk2, arena2, (size_t)n, &err);
	if (rc != 0) {
		fprintf(stderr, "formatted text does not parse: %s\n---\n%s---\n", err.msg, text);
		abort();
	}
	check(scpp_wire_block_equal(&blk1, &blk2), "format -> parse changed the block");

	n2 = scpp_lang_format_block(NULL, 0, &blk2);
	check(n2 == n, "second format differs in length");
	text2 = malloc((size_t)n2 + 1);
	check(text2 != NULL, "malloc");
	scpp_lang_format_block(text2, (size_t)n2 + 1, &blk2);
	check(memcmp(text, text2, (size_t)n) == 0, "format is not a fixed point");
out:
	free(text2);
	free(small);
	free(text);
	free(arena2);
	free(arena1);
	return 0;
}
