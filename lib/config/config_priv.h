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
	T_IPV4,        /* "a.b.c.d", not 0.0.0.0: uint32 at off */
	T_MAC_OPT,     /* "aa:bb:cc:dd:ee:ff" (unicast) or null: uint8[6] at off, bool at aux */
	T_UINT_LIST,   /* array of integers in [min, max] of `size` bytes at off, count at
			* aux, items_min..items_max of them */
	T_OID,         /* "@l.n.s.e.c", not nil: struct scpp_oid at off */
	T_HEX,         /* exactly 2 * esize lower-case hex digits: uint8[esize] at off */
};

/* Character classes for T_STR (and items of T_STR_LIST). */
enum char_class {
	CS_TEXT,    /* printable ASCII, no control characters */
	CS_NAME,    /* [A-Za-z0-9._-] */
	CS_DEVARGS, /* DPDK devargs syntax, checked as a whole */
	CS_URL,     /* "http://host:port", nothing after the port */
	CS_KEY,     /* an etcd key prefix: "/" ... "/", [A-Za-z0-9._-/], no "//" */
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
	uint32_t items_min, items_max; /* T_UINT_LIST: item count */
};

struct section {
	const struct field *fields;
	size_t nb_fields;
	/* Defaults for one item of a list (fields not marked required). */
	void (*item_defaults)(void *item);
};

extern const struct section config_root;
/* $.cluster and one cluster node (config_cluster.c). */
extern const struct section config_cluster_sec;
extern const struct section config_cluster_node_sec;

/* Parsing state shared by config.c and config_cluster.c. */
struct ctx {
	const char *name;
	struct scpp_config_error *err;
	char path[128];
	int rc; /* first error, or 0 */
};

/* Report an error at the path given in printf form (first one wins). */
int config_fail_at(struct ctx *c, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Walk a JSON object against a section's key table into @p base. */
int config_parse_object(struct ctx *c, const struct section *s, const void *obj, void *base);
/* Report a syntax error of @p json (rc -SCPP_E_SYNTAX). */
int config_syntax_error(struct ctx *c, const char *json, size_t len, size_t off, const char *extra);

/* Defaults of $.cluster and of one $.cluster.nodes item (config_cluster.c). */
void config_cluster_defaults(struct scpp_config_cluster *cl);
void config_cluster_node_defaults(void *item);
/* Cross-key checks of $.cluster against the rest of @p cfg (config_cluster.c). */
int config_validate_cluster(struct ctx *c, const struct scpp_config *cfg);
extern const char *const config_log_levels[];

/* $.copy (config_copy.c): its key table, defaults and cross-key checks. */
extern const struct section config_copy_sec;
void config_copy_defaults(struct scpp_config_copy *cp);
int config_validate_copy(struct ctx *c, const struct scpp_config *cfg);

/* Print @p cfg as JSON (config_fmt.c). */
int config_print(FILE *f, const struct scpp_config *cfg);

/* Quote @p s as a JSON string into @p buf (truncating with "..." past
 * @p size); shared by messages and printing. */
void config_quote(char *buf, size_t size, const char *s);

/* Dotted-quad text of a host-order IPv4 address into @p buf (>= 16 bytes). */
void config_ipv4_format(char *buf, uint32_t a);

/* "aa:bb:cc:dd:ee:ff" of @p mac into @p buf (>= 18 bytes). */
void config_mac_format(char *buf, const uint8_t mac[6]);

#endif /* CONFIG_PRIV_H */
