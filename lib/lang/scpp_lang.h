/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SCPP_LANG_H
#define SCPP_LANG_H

/**
 * @file
 * The human text form of command blocks, and printers for blocks and replies.
 *
 * docs/LANGUAGE.md is the normative grammar; this header is its C binding.
 * A block in text is one command per line (or per `;`):
 *
 * @verbatim
 *   # resolve /a/b, keep going if b is missing
 *   get @0.1.0.1.2a entries["a"] %a
 *   get %a entries["b"] %b !%err
 *   return %b %err
 * @endverbatim
 *
 * The model is the wire block's (lib/wire): variables are declared
 * implicitly at their first appearance, in order, and their wire name is the
 * text after `%`; terms are constants, variables, map entries `ATTR[KEY]`
 * and addresses `value(E, A)` / `offset(ADDR, N)`; each command may name a
 * status variable with a trailing `!%var`. Without a `return` statement a
 * block returns every variable, in order of first appearance.
 *
 * Two properties hold and are tested (unit round-trip test, fuzz target):
 * - block -> scpp_lang_format_block() -> scpp_lang_parse() gives a block
 *   that scpp_wire_block_equal() accepts, for every block the wire builder
 *   or decoder accepts (one exception: f64 NaNs other than the two
 *   canonical ones print as `nan`/`-nan` and lose their payload);
 * - text -> parse -> format is a fixed point after one pass: formatting the
 *   parse of formatted text gives the same text.
 *
 * Nothing here allocates or keeps global state. The parser and the block
 * printer are reentrant; the reply printer writes to a stdio stream.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "scpp_common.h"
#include "scpp_value.h"
#include "scpp_wire.h"

/** Size of struct scpp_lang_error's message buffer. */
#define SCPP_LANG_ERR_MSG 192

/** Where and why a text failed to parse. */
struct scpp_lang_error {
	int code;           /**< negative error code, the parser's return value */
	unsigned int line;  /**< 1-based line of the offending character */
	unsigned int col;   /**< 1-based column, counted in UTF-8 characters */
	/** "line:col: what was expected, what was found", NUL-terminated;
	 *  e.g. `2:14: expected a value term after attribute, found ')'`. */
	char msg[SCPP_LANG_ERR_MSG];
};

/**
 * Parse the text form of a block into a wire block.
 *
 * Strings, bytes and names that can be used verbatim point into @p text;
 * those that need unescaping or hex-decoding are written into @p arena. The
 * block therefore borrows both: keep @p text and @p arena alive and
 * unchanged while @p out is used. An arena of @p len bytes always suffices
 * (no literal decodes to more bytes than it takes in the text).
 *
 * @param text
 *   The text; need not be NUL-terminated (a NUL byte is a syntax error).
 * @param len
 *   Bytes of @p text.
 * @param out
 *   The block to fill; initialised here. On error its content is undefined.
 * @param arena
 *   Memory for decoded literals; may be NULL when @p arena_size is 0.
 * @param arena_size
 *   Bytes of @p arena.
 * @param err
 *   If not NULL, filled on error (code, line, column, message); left with
 *   code 0 and an empty message on success.
 * @return
 *   0, or a negative code:
 *   - -SCPP_E_SYNTAX: not the grammar (unknown command, missing or extra
 *     term, bad token, bad escape, bad OID or number text, `-5u`, a second
 *     `return`, a NUL byte, ...);
 *   - -SCPP_E_BAD_TERM: a well-formed term in a position that does not
 *     admit it (an address as an entity, a map entry as a value, a key
 *     inside a key, a constant where create needs a variable);
 *   - -SCPP_E_NESTING: addresses nested deeper than SCPP_WIRE_NEST_MAX;
 *   - -SCPP_E_BAD_UTF8: a string literal that is not valid UTF-8 (raw, or
 *     after `\xNN` escapes), or a stray non-ASCII byte;
 *   - -SCPP_E_TOO_MANY: more than SCPP_WIRE_VARS_MAX variables,
 *     SCPP_WIRE_CMDS_MAX commands or SCPP_WIRE_TERMS_MAX terms;
 *   - -ERANGE: an integer that does not fit its type, or a float literal
 *     that overflows to infinity;
 *   - -ENAMETOOLONG: a variable name over SCPP_WIRE_NAME_MAX bytes;
 *   - -EEXIST: a variable listed twice in `return`, or declared by `var`
 *     after it was already used;
 *   - -ENOSPC: @p arena is too small;
 *   - -EINVAL: @p text or @p out is NULL.
 *
 * Control path; reentrant (no global state, no allocation).
 */
int scpp_lang_parse(const char *text, size_t len, struct scpp_wire_block *out, uint8_t *arena,
		    size_t arena_size, struct scpp_lang_error *err);

/**
 * Print a block in canonical text form: an optional `var` line (only when
 * the variables' names or order cannot be implied by first use), one
 * command per line, then a `return` line that is always present. Each line
 * ends with a newline.
 *
 * @param buf
 *   Output, NUL-terminated when @p size > 0; may be NULL when @p size is 0.
 * @param size
 *   Bytes of @p buf.
 * @param b
 *   A block accepted by the wire builder or decoder.
 * @return
 *   Length of the full text (excluding NUL), as snprintf: the output was
 *   truncated if it is >= @p size. -EINVAL if @p b is NULL or structurally
 *   broken (index out of range, unknown opcode or term kind, cyclic terms).
 */
int scpp_lang_format_block(char *buf, size_t size, const struct scpp_wire_block *b);

/** scpp_lang_print_reply() flag: print one JSON document instead of a table. */
#define SCPP_LANG_REPLY_JSON 0x01

/**
 * Name of a canonical errno number ("ENOENT"), or NULL if unknown. lib/status
 * provides one; lang sits below status in the module order, so the caller
 * passes it in.
 */
typedef const char *(*scpp_lang_errno_name_fn)(uint32_t canonical);

/**
 * Print a complete REPLY message (the concatenated payloads, COLUMNS to END).
 *
 * Table form: a header line of column names, one aligned line per row
 * (values in the text form of literals; cells longer than
 * SCPP_LANG_CELL_MAX characters are shortened with `…`), one line per status
 * record (`status @oid: field=value ...`), then a summary line such as
 * `2 rows, 3 commands, ok, 12.3 µs` or `aborted: ENOENT, 1 command, 4.0 µs`.
 *
 * JSON form: one document on one line,
 * `{"columns":[...],"rows":[[...]],"statuses":[{"oid":...,"fields":{...}}],"end":{...}}`;
 * see docs/LANGUAGE.md for how each value type maps to JSON.
 *
 * The whole message is decoded before anything is printed, so a malformed
 * reply prints nothing.
 *
 * @param out
 *   Stream to write to.
 * @param msg
 *   The message bytes.
 * @param len
 *   Bytes of @p msg.
 * @param flags
 *   0 or SCPP_LANG_REPLY_JSON.
 * @param errno_name
 *   Names canonical errno numbers in the summary; NULL prints `errno N`.
 * @return
 *   0, -EINVAL (NULL argument or unknown flag), -EIO (the stream failed),
 *   or the reply reader's error (scpp_wire_reply_next()); -SCPP_E_TRUNCATED
 *   if the message ends before its END record.
 */
int scpp_lang_print_reply(FILE *out, const uint8_t *msg, size_t len, unsigned int flags,
			  scpp_lang_errno_name_fn errno_name);

/** Longest display name scpp_lang_print_reply_names() prints (bytes). */
#define SCPP_LANG_NAME_MAX 64

/**
 * Display name of @p oid (seed §3: the join through a type's `name_attr`),
 * written NUL-terminated into @p buf (@p size bytes). Return > 0 when there
 * is one, 0 when there is none, < 0 on error (printed as none).
 */
typedef int (*scpp_lang_name_fn)(void *ctx, struct scpp_oid oid, char *buf, size_t size);

/**
 * As scpp_lang_print_reply(), with display names: every OID value for
 * which @p name answers prints as `@0.1.0.7589e.4 (alice)` in a table and
 * as {"oid": "@0.1.0.7589e.4", "name": "alice"} in JSON. @p name may be
 * NULL (then it is scpp_lang_print_reply()); it is called for every OID
 * cell, more than once per OID, so it should cache.
 */
int scpp_lang_print_reply_names(FILE *out, const uint8_t *msg, size_t len, unsigned int flags,
				scpp_lang_errno_name_fn errno_name, scpp_lang_name_fn name,
				void *name_ctx);

/** Widest table cell (characters) scpp_lang_print_reply() prints unshortened. */
#define SCPP_LANG_CELL_MAX 64

#endif /* SCPP_LANG_H */
