/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SCPP_COMMON_H
#define SCPP_COMMON_H

/**
 * @file
 * Definitions every scpp module shares: branch hints, the two assertion
 * tiers, and the project-specific error codes.
 *
 * Error model (STYLE §5): `int` functions return 0 or a negative errno.
 * Where no POSIX errno says what went wrong, a project code from
 * enum scpp_error (all >= SCPP_E_FIRST) is returned negated, and
 * scpp_strerror() names both kinds.
 *
 * This header deliberately does not include DPDK: the client library, the
 * CLI and the wire/lang modules build on hosts without DPDK.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define SCPP_LIKELY(x) __builtin_expect(!!(x), 1)
#define SCPP_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define SCPP_COLD __attribute__((cold, noinline))
#define SCPP_UNUSED __attribute__((unused))
#define SCPP_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SCPP_MIN(a, b) ((a) < (b) ? (a) : (b))
#define SCPP_MAX(a, b) ((a) > (b) ? (a) : (b))

/** Always-on invariant check: aborts with file and line when @p x is false. */
#define SCPP_VERIFY(x)                                                        \
	do {                                                                  \
		if (SCPP_UNLIKELY(!(x)))                                      \
			scpp_panic(__FILE__, __LINE__, #x);                   \
	} while (0)

/** Debug-only check (built with -Ddebug_asserts=true); free otherwise. */
#ifdef SCPP_DEBUG
#define SCPP_ASSERT(x) SCPP_VERIFY(x)
#else
#define SCPP_ASSERT(x) ((void)0)
#endif

/**
 * Add to a counter that one thread writes and others read (telemetry).
 * A relaxed load and a relaxed store, not an atomic read-modify-write: the
 * single writer needs no lock prefix, and a reader on another thread sees
 * whole values (never torn), perhaps a few increments late. No ordering
 * with other memory is implied or needed.
 */
static inline void
scpp_counter_add(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

/** Read a counter written by scpp_counter_add() on another thread. */
static inline uint64_t
scpp_counter_read(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/** Project error codes, returned negated like errno values. */
enum scpp_error {
	SCPP_E_FIRST = 1024,
	SCPP_E_TRUNCATED = SCPP_E_FIRST, /**< input ends inside a field */
	SCPP_E_BAD_MAGIC,                /**< datagram magic is not "SC" */
	SCPP_E_BAD_VERSION,              /**< unsupported protocol version */
	SCPP_E_BAD_KIND,                 /**< unknown datagram kind */
	SCPP_E_BAD_FLAGS,                /**< reserved flag bits set or inconsistent */
	SCPP_E_BAD_LENGTH,               /**< a length field disagrees with the data */
	SCPP_E_BAD_FRAGMENT,             /**< fragment index/count out of range */
	SCPP_E_BAD_OPCODE,               /**< unknown command opcode */
	SCPP_E_BAD_TERM,                 /**< unknown term tag or term not allowed here */
	SCPP_E_BAD_VALUE_TYPE,           /**< unknown value type tag */
	SCPP_E_BAD_UTF8,                 /**< string is not valid UTF-8 */
	SCPP_E_BAD_VARINT,               /**< varint longer than 10 bytes or overflows */
	SCPP_E_BAD_VAR,                  /**< variable index not declared */
	SCPP_E_TOO_MANY,                 /**< a count exceeds a protocol maximum */
	SCPP_E_TRAILING,                 /**< bytes left after the last field */
	SCPP_E_BAD_RECORD,               /**< unknown reply record tag */
	SCPP_E_NESTING,                  /**< address terms nested too deeply */
	SCPP_E_SYNTAX,                   /**< text form: syntax error */
	SCPP_E_LIMIT_ROWS,               /**< block exceeded its row limit */
	SCPP_E_LIMIT_STEPS,              /**< block exceeded its step limit */
	SCPP_E_LIMIT_BYTES,              /**< block produced too many bytes */
	SCPP_E_LIMIT_RESULT,             /**< block's result exceeds its size limit */
	SCPP_E_TYPE,                     /**< a term has the wrong value type */
	SCPP_E_UNBOUND,                  /**< a position that must be bound is not */
	SCPP_E_SCHEMA,                   /**< the schema rejects a value or object */
	SCPP_E_NOT_HERE,                 /**< the entity lives on another node */
	SCPP_E_OVERLOAD,                 /**< the node dropped work to protect itself */
	SCPP_E_REPLY_LOST,               /**< the block ran; its reply is no longer held */
	SCPP_E_STALE_BLOCK,              /**< block id below the node's replay window: not run */
	SCPP_E_LIMIT_TIME,               /**< block exceeded its time budget */
	SCPP_E_LIMIT_HOPS,               /**< forwarded between nodes too often */
	SCPP_E_LIMIT_PENDING,            /**< no room to hold a suspended block */
	SCPP_E_OUTCOME_UNKNOWN,          /**< a part did not finish in time: its effect is unknown */
	SCPP_E_LAST
};

/**
 * Describe an error code.
 *
 * @param err
 *   A negative (or positive) errno or project error code.
 * @return
 *   A static string; never NULL.
 */
const char *scpp_strerror(int err);

/** Short symbolic name of a project code ("E_TRUNCATED"), or NULL. */
const char *scpp_error_name(int err);

/** Print a message and abort; used by SCPP_VERIFY. */
SCPP_COLD __attribute__((noreturn)) void scpp_panic(const char *file, int line,
						     const char *expr);

#endif /* SCPP_COMMON_H */
