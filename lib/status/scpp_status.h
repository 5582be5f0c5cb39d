/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SCPP_STATUS_H
#define SCPP_STATUS_H

/**
 * @file
 * Status objects and the canonical errno table.
 *
 * Seed §5.3: errors are structured data, processed by software across many
 * machines. A status object records what failed (canonical errno and an
 * scpp code), where (component, node, core), in which evaluation (block id,
 * command index) and how long it took. It is built off the hot path: C
 * functions keep returning negative errno values, and the evaluator turns
 * the first one that matters into a struct scpp_status.
 *
 * **Canonical errno.** Nodes, the syscall proxy and the POSIX services all
 * speak one errno numbering (Linux's generic one, listed in
 * docs/ERRNO.md). A platform's local errno is mapped with
 * scpp_errno_to_canonical(); a canonical number is never assumed to equal
 * the local value.
 *
 * **On the wire** a status object is a STATUS reply record whose fields are
 * the attributes of the `Status` type in schema/core.json:
 *
 * | field        | type | meaning                                         |
 * |--------------|------|-------------------------------------------------|
 * | errno        | u64  | canonical errno number                          |
 * | errno_name   | str  | canonical errno name ("ENOENT")                 |
 * | code         | str  | scpp code ("E_NOT_FOUND", "E_TRUNCATED", ...)   |
 * | message      | str  | human-readable explanation                      |
 * | component    | str  | module that failed ("eval", "store", "wire")    |
 * | node         | oid  | the node that produced it (shard prefix OID)    |
 * | core         | u64  | lcore / shard index                             |
 * | block        | u64  | block id of the evaluation                      |
 * | command      | u64  | index of the failing command in the block       |
 * | elapsed_ns   | u64  | time from block start to the failure            |
 * | client       | u64  | client id of the block (correlation, seed §5.3) |
 * | variable     | str  | the status variable that collected it (if any)  |
 * | row          | u64  | row of the command's input table that failed    |
 * | offset       | u64  | decode errors: byte offset of the bad field     |
 * | owner        | oid  | E_NOT_HERE: the /64 of the shard owning the entity |
 *
 * The first 11 fields are always present; the last four only when they
 * apply (a status without a status variable has no `variable` and no
 * `row`; only decode errors have `offset`; only E_NOT_HERE has `owner`).
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scpp_common.h"
#include "scpp_oid.h"
#include "scpp_value.h"
#include "scpp_wire.h"

/** Canonical errno numbers (Linux generic numbering). */
enum scpp_errno {
	SCPP_ERRNO_OK = 0,
	SCPP_ERRNO_PERM = 1,
	SCPP_ERRNO_NOENT = 2,
	SCPP_ERRNO_SRCH = 3,
	SCPP_ERRNO_INTR = 4,
	SCPP_ERRNO_IO = 5,
	SCPP_ERRNO_NXIO = 6,
	SCPP_ERRNO_2BIG = 7,
	SCPP_ERRNO_NOEXEC = 8,
	SCPP_ERRNO_BADF = 9,
	SCPP_ERRNO_CHILD = 10,
	SCPP_ERRNO_AGAIN = 11,
	SCPP_ERRNO_NOMEM = 12,
	SCPP_ERRNO_ACCES = 13,
	SCPP_ERRNO_FAULT = 14,
	SCPP_ERRNO_BUSY = 16,
	SCPP_ERRNO_EXIST = 17,
	SCPP_ERRNO_XDEV = 18,
	SCPP_ERRNO_NODEV = 19,
	SCPP_ERRNO_NOTDIR = 20,
	SCPP_ERRNO_ISDIR = 21,
	SCPP_ERRNO_INVAL = 22,
	SCPP_ERRNO_NFILE = 23,
	SCPP_ERRNO_MFILE = 24,
	SCPP_ERRNO_NOTTY = 25,
	SCPP_ERRNO_TXTBSY = 26,
	SCPP_ERRNO_FBIG = 27,
	SCPP_ERRNO_NOSPC = 28,
	SCPP_ERRNO_SPIPE = 29,
	SCPP_ERRNO_ROFS = 30,
	SCPP_ERRNO_MLINK = 31,
	SCPP_ERRNO_PIPE = 32,
	SCPP_ERRNO_DOM = 33,
	SCPP_ERRNO_RANGE = 34,
	SCPP_ERRNO_DEADLK = 35,
	SCPP_ERRNO_NAMETOOLONG = 36,
	SCPP_ERRNO_NOLCK = 37,
	SCPP_ERRNO_NOSYS = 38,
	SCPP_ERRNO_NOTEMPTY = 39,
	SCPP_ERRNO_LOOP = 40,
	SCPP_ERRNO_NOMSG = 42,
	SCPP_ERRNO_NODATA = 61,
	SCPP_ERRNO_TIME = 62,
	SCPP_ERRNO_REMOTE = 66,
	SCPP_ERRNO_PROTO = 71,
	SCPP_ERRNO_BADMSG = 74,
	SCPP_ERRNO_OVERFLOW = 75,
	SCPP_ERRNO_ILSEQ = 84,
	SCPP_ERRNO_MSGSIZE = 90,
	SCPP_ERRNO_OPNOTSUPP = 95,
	SCPP_ERRNO_AFNOSUPPORT = 97,
	SCPP_ERRNO_ADDRINUSE = 98,
	SCPP_ERRNO_ADDRNOTAVAIL = 99,
	SCPP_ERRNO_NETDOWN = 100,
	SCPP_ERRNO_NETUNREACH = 101,
	SCPP_ERRNO_CONNABORTED = 103,
	SCPP_ERRNO_CONNRESET = 104,
	SCPP_ERRNO_NOBUFS = 105,
	SCPP_ERRNO_NOTCONN = 107,
	SCPP_ERRNO_TIMEDOUT = 110,
	SCPP_ERRNO_CONNREFUSED = 111,
	SCPP_ERRNO_HOSTUNREACH = 113,
	SCPP_ERRNO_ALREADY = 114,
	SCPP_ERRNO_INPROGRESS = 115,
	SCPP_ERRNO_STALE = 116,
	SCPP_ERRNO_DQUOT = 122,
	SCPP_ERRNO_MEDIUMTYPE = 124,
	SCPP_ERRNO_CANCELED = 125,
	SCPP_ERRNO_OWNERDEAD = 130,
	SCPP_ERRNO_NOTRECOVERABLE = 131,
};

/** Longest status message kept, including NUL. */
#define SCPP_STATUS_MSG_MAX 160

/** A status object before it is encoded. */
struct scpp_status {
	uint32_t err;           /**< canonical errno (enum scpp_errno) */
	int32_t code;           /**< negative errno or -SCPP_E_* that caused it */
	const char *component;  /**< static string naming the module */
	struct scpp_oid node;   /**< node/shard that produced it */
	uint16_t core;          /**< lcore or shard index */
	uint64_t block_id;
	uint16_t command;       /**< command index in the block */
	uint64_t elapsed_ns;
	uint64_t client;        /**< client id of the block */
	const char *var;        /**< status variable name (not NUL-terminated), or NULL */
	uint8_t var_len;
	uint32_t row;           /**< input row index, or SCPP_STATUS_NO_ROW */
	int64_t offset;         /**< decode error byte offset, or -1 */
	struct scpp_oid owner;  /**< owning shard of a non-local entity, or nil */
	char message[SCPP_STATUS_MSG_MAX];
};

#define SCPP_STATUS_NO_ROW UINT32_MAX

/** Fields scpp_status_encode() always writes, and at most. */
#define SCPP_STATUS_FIELDS 11
#define SCPP_STATUS_FIELDS_MAX 15

/**
 * Reset the optional fields of @p st (variable, row, offset, owner) to
 * "absent". scpp_status_set() does it too.
 */
void scpp_status_clear_extra(struct scpp_status *st);

/**
 * Map this platform's errno value to the canonical number.
 *
 * @param local
 *   A positive or negative local errno, or a project code (SCPP_E_*), which
 *   maps to the canonical errno that describes it best.
 * @return The canonical number; SCPP_ERRNO_IO for values with no mapping.
 */
uint32_t scpp_errno_to_canonical(int local);

/** Map a canonical number back to the local errno (positive); EIO if unknown. */
int scpp_errno_from_canonical(uint32_t canonical);

/** Canonical name ("ENOENT"), or NULL if @p canonical is not in the table. */
const char *scpp_errno_name(uint32_t canonical);

/** Description of a canonical errno, or NULL. */
const char *scpp_errno_text(uint32_t canonical);

/** Look up a canonical errno by name; @return its number or 0 if unknown. */
uint32_t scpp_errno_by_name(const char *name, size_t len);

/** Number of rows in the canonical table, and row @p i (for docs/tests). */
size_t scpp_errno_count(void);
uint32_t scpp_errno_at(size_t i);

/**
 * Fill @p st from a C error code and a printf-style message.
 *
 * @param code
 *   Negative errno or -SCPP_E_*; the canonical errno is derived from it.
 */
void scpp_status_set(struct scpp_status *st, int code, const char *component,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/** As scpp_status_set() with a va_list (one formatting pass). */
void scpp_status_setv(struct scpp_status *st, int code, const char *component,
		      const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

/**
 * As scpp_status_set() without a message: code, errno and component only,
 * for a status that will be counted but not sent (no formatting at all).
 */
void scpp_status_set_code(struct scpp_status *st, int code, const char *component);

/** Name of @p st's scpp code: the project code name, or the errno name. */
const char *scpp_status_code_name(const struct scpp_status *st);

/**
 * The fields of @p st as (name, value) pairs, in the order STATUS records
 * carry them: the SCPP_STATUS_FIELDS fixed ones, then those that apply.
 * Values borrow from @p st and static strings.
 *
 * @param keys,vals  arrays of SCPP_STATUS_FIELDS_MAX.
 * @return the number of fields.
 */
unsigned int scpp_status_fields(const struct scpp_status *st, struct scpp_wire_name *keys,
				struct scpp_value *vals);

/**
 * Encode @p st as a STATUS reply record under object id @p oid.
 *
 * @return 0, or -ENOSPC (nothing written).
 */
int scpp_status_encode(struct scpp_wire_reply_writer *w, struct scpp_oid oid,
		       const struct scpp_status *st);

#endif /* SCPP_STATUS_H */
