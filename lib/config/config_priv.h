/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CONFIG_PRIV_H
#define CONFIG_PRIV_H

/*
 * The configuration schema as data: one table of fields per JSON object.
 * Parsing (config.c), default values and printing (config_fmt.c) all walk
 * these tables, so a key is described exactly once and the three can never
 * disagree about names, types or ranges.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scpp_config.h"

enum field_type {
	T_BOOL,        /* true / false */
	T_UINT,        /* integer in [min, max], stored in `size` bytes */
	T_ENUM,        /* string from `names`, stored as unsigned of `size` bytes */
	T_STR,         /* string of min..max characters of class `cs`, buffer of `esize` */
	T_IPV4_PREFIX, /* "a.b.c.d/len": uint32 at off, uint8 len at aux */
	T_IPV4_OPT,    /* "a.b.c.d" or null: uint32 at off, bool "is set" at aux */
	T_PEER,        /* "a.b.c.d:port": uint32 at off, uint16 port at aux */
	T_OID_PREFIX,  /* "@l.n.s.e.c/len": struct scpp_oid_prefix at off */
	T_STR_LIST,    /* array of strings: char[max items][esize] at off, count at aux */
	T_LOG_TYPES,   /* object "scp.<mod>": level -> struct scpp_config_log */
	T_SECTION,     /* nested object described by `sec` */
	T_LIST,        /* array of objects (`sec`), inline array at off, count at aux */
	T_HEAP_LIST,   /* array of objects (`sec`), heap pointer at off, count at aux */
};

/* Character classes for T_STR (and items of T_STR_LIST). */
enum char_class {
	CS_TEXT,    /* printable ASCII, no control characters */
	CS_NAME,    /* [A-Za-z0-9._-] */
	CS_DEVARGS, /* DPDK devargs syntax, checked as a whole */
};

struct section;

struct field {
	const char *key;
	enum field_type type;
	size_t off;          /* value offset inside the object's struct */
	size_t aux;          /* second offset, see field_type */
	uint8_t size;        /* integer width in bytes (T_UINT, T_ENUM) */
	bool required;       /* must be present (list items only) */
	bool pow2;           /* T_UINT: a power of two */
	enum char_class cs;  /* T_STR, T_STR_LIST */
	uint64_t min, max;   /* T_UINT value; T_STR length; lists: item count */
	size_t esize;        /* string buffer size; list element size */
	const char *const *names;   /* T_ENUM: value i is names[i]; NULL-terminated */
	const char *expect;         /* T_ENUM: overrides the "expected" text */
	const struct section *sec;  /* T_SECTION, T_LIST, T_HEAP_LIST */
};

struct section {
	const struct field *fields;
	size_t nb_fields;
	/* Defaults for one item of a list (fields not marked required). */
	void (*item_defaults)(void *item);
};

extern const struct section config_root;
extern const char *const config_log_levels[];

/* Print @p cfg as JSON (config_fmt.c). */
int config_print(FILE *f, const struct scpp_config *cfg);

/* Quote @p s as a JSON string into @p buf (truncating with "..." past
 * @p size); shared by messages and printing. */
void config_quote(char *buf, size_t size, const char *s);

/* Dotted-quad text of a host-order IPv4 address into @p buf (>= 16 bytes). */
void config_ipv4_format(char *buf, uint32_t a);

#endif /* CONFIG_PRIV_H */
