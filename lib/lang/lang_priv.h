/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef LANG_PRIV_H
#define LANG_PRIV_H

/*
 * Lexical rules shared by the parser and the printers. The printers decide
 * how to spell a name or a string with the same predicates the parser uses
 * to read it, so that whatever is printed reads back unchanged.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline bool
lang_is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static inline bool
lang_is_ident_start(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static inline bool
lang_is_ident_char(int c)
{
	return lang_is_ident_start(c) || lang_is_digit(c);
}

static inline int
lang_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* [A-Za-z_][A-Za-z0-9_]* */
static inline bool
lang_is_ident(const char *p, size_t len)
{
	if (len == 0 || !lang_is_ident_start((unsigned char)p[0]))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!lang_is_ident_char((unsigned char)p[i]))
			return false;
	return true;
}

/* Words that are literals wherever a term may stand, so never bare strings. */
static inline bool
lang_is_keyword(const char *p, size_t len)
{
	/* `when` starts a guard; it is not a constant, but a bare one would
	 * read as the guard, so names spelled so are quoted too. */
	static const char *const kw[] = {"nil", "true", "false", "nan", "inf", "when"};

	for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++)
		if (strlen(kw[i]) == len && memcmp(kw[i], p, len) == 0)
			return true;
	return false;
}

/* A variable label: the text after `%`, all digits or an identifier. */
static inline bool
lang_is_label(const char *p, size_t len)
{
	size_t i;

	if (lang_is_ident(p, len))
		return true;
	for (i = 0; i < len && lang_is_digit((unsigned char)p[i]); i++)
		;
	return len > 0 && i == len;
}

/* `_` then digits: the label of an anonymous variable (empty wire name). */
static inline bool
lang_is_anon_label(const char *p, size_t len)
{
	if (len < 2 || p[0] != '_')
		return false;
	for (size_t i = 1; i < len; i++)
		if (!lang_is_digit((unsigned char)p[i]))
			return false;
	return true;
}

/*
 * Length of the UTF-8 sequence at @p p (1..4) if it is well formed per
 * RFC 3629 (no overlongs, no surrogates, nothing above U+10FFFF), else 0.
 * The same rules as scpp_utf8_valid(); the parser needs the position of the
 * first bad byte, which a yes/no answer does not give.
 */
static inline unsigned int
lang_utf8_seq(const uint8_t *p, size_t n)
{
	uint8_t c = p[0];
	unsigned int len;
	uint8_t lo = 0x80, hi = 0xbf;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong below U+0800 */
		else if (c == 0xed)
			hi = 0x9f; /* UTF-16 surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90; /* overlong below U+10000 */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		return 0;
	}
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (unsigned int i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

/* Bytes of the longest valid UTF-8 prefix of @p p. */
static inline size_t
lang_utf8_valid_prefix(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned int k = lang_utf8_seq(p + i, n - i);

		if (k == 0)
			break;
		i += k;
	}
	return i;
}

/* Characters (code points) in @p n bytes of UTF-8: the non-continuation bytes. */
static inline size_t
lang_utf8_chars(const char *p, size_t n)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)p[i] & 0xc0) != 0x80;
	return c;
}

#endif /* LANG_PRIV_H */
