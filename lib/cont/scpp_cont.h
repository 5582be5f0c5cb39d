/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SCPP_CONT_H
#define SCPP_CONT_H

/**
 * @file
 * Continuations between nodes, the parts that are neither wire format
 * (lib/wire: CONT and CONT_REPLY) nor evaluation (lib/eval: splitting a
 * suspension's rows, running a received continuation). docs/PROTOCOL.md
 * §19 is the normative text.
 *
 * Model. A block evaluated on one shard may stop before a command whose
 * entity, for some rows, lives on another shard: those rows and the rest
 * of the block go to the owner as a **continuation** (a *part* of the
 * block), the other rows go on here. Each part answers with its reply
 * records; the node that shipped the parts **merges** them into one reply,
 * in a fixed order: its own part first, then the continuations in the
 * order it shipped them (each of which is, recursively, merged the same
 * way by the node that ran it). An evaluation is therefore a tree whose
 * root is the node the client sent the block to (the origin).
 *
 * - scpp_cont_merge() writes that one reply from the parts' records.
 * - struct scpp_cont_dedup is the owner's record of the continuations it
 *   has taken, keyed by (sender address, sender node, continuation id):
 *   a retransmitted CONT is never run twice (at most once, as lib/delivery
 *   gives clients); while it runs the retransmission is ignored, once it
 *   has answered the held answer is sent again, for a retention time.
 *
 * Threading: a dedup table belongs to one lcore (a worker); nothing here
 * allocates after creation, locks or makes system calls.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scpp_common.h"
#include "scpp_oid.h"
#include "scpp_status.h"
#include "scpp_wire.h"

/* ---- merging the parts of a block ---- */

/** COPY records a merged reply carries at most: those of the block's first
 *  32 copy commands (docs/PROTOCOL.md §10, as a single-shard reply). */
#define SCPP_CONT_COPY_RESULTS 32

/**
 * One part of a split block, as its answer arrived: its reply records, or,
 * when the part has no answer to show (its owner did not answer in time,
 * could not be reached, refused it), the status the shipping node writes
 * in its place.
 */
struct scpp_cont_part {
	const uint8_t *records;        /**< COLUMNS .. END, or NULL */
	size_t len;                    /**< bytes of @c records */
	const struct scpp_status *st;  /**< @c records NULL: the part's status */
	struct scpp_oid st_oid;        /**< its status object's OID */
};

/** What scpp_cont_merge() wrote in END. */
struct scpp_cont_merged {
	uint32_t err;        /**< END errno */
	uint8_t outcome;     /**< END outcome (enum scpp_wire_outcome) */
	uint64_t rows;       /**< ROW records */
	uint64_t commands;   /**< commands evaluated, every part */
	uint64_t statuses;   /**< statuses produced, every part */
	uint16_t bad_part;   /**< on a record error: the part that had it */
};

/**
 * Check one part's records as they arrive (before they are kept for the
 * merge): a complete reply (COLUMNS, ROW and STATUS records, END, nothing
 * after) whose COLUMNS record is byte for byte @p columns (the block's,
 * as the shipping node's own part has it).
 *
 * @return 0, -SCPP_E_TRUNCATED (no END), -SCPP_E_BAD_RECORD (other
 *   columns), or a record error of scpp_wire_reply_next().
 */
int scpp_cont_part_check(const uint8_t *records, size_t len, const uint8_t *columns,
			 size_t columns_len);

/**
 * Bytes of the COLUMNS record at the start of @p records (0: none there).
 */
size_t scpp_cont_columns_len(const uint8_t *records, size_t len);

/**
 * Write the one reply of @p n parts to @p w (empty: w->len 0, w->state 0):
 * COLUMNS of part 0 (which must have records: the shipping node's own
 * part), then the ROW records of every part in part order, then their
 * STATUS records in part order (a part without records contributes its
 * status), then the parts' COPY records, one per copy command in command
 * order (parts that ran rows of the same command: their copies, bytes and
 * offloaded copies summed, the longest elapsed time, the engine of the
 * first part in part order that offloaded any; at most
 * SCPP_CONT_COPY_RESULTS, the lowest commands), then END:
 *
 * - outcome: the worst of the parts' (OK < ERRORS < ABORTED; a part
 *   without records counts as ABORTED);
 * - errno: that of the first part, in part order, with that outcome;
 * - rows, commands and statuses: the sums; elapsed: @p elapsed_ns.
 *
 * @return 0; -ENOSPC (the reply does not fit @p w: @p w is left with
 *   nothing, for the caller to answer E_LIMIT_RESULT instead); -EINVAL
 *   (@p n 0, part 0 without records, @p w not empty); or a record error
 *   (out->bad_part names the part) — parts checked with
 *   scpp_cont_part_check() have none.
 */
int scpp_cont_merge(struct scpp_wire_reply_writer *w, const struct scpp_cont_part *p,
		    unsigned int n, uint64_t elapsed_ns, struct scpp_cont_merged *out);

/* ---- the owner's record of continuations taken ---- */

/** Who sent a continuation and its id: the at-most-once key. */
struct scpp_cont_key {
	uint32_t sender_ip;   /**< the sender's IPv4 address (network byte order) */
	uint32_t sender_node; /**< the sender's node id (the datagram's client_id) */
	uint64_t cont_id;     /**< the sender's continuation id (the datagram's block_id) */
};

/** What scpp_cont_dedup_admit() found. */
enum scpp_cont_seen {
	SCPP_CONT_NEW = 0,     /**< not seen: recorded as running; run it */
	SCPP_CONT_RUNNING = 1, /**< being run: a retransmission, ignore it */
	SCPP_CONT_DONE = 2,    /**< answered: send the held answer again */
	SCPP_CONT_FULL = 3,    /**< no room: refuse it (nothing run, nothing recorded) */
};

/** Counters of a dedup table (its lcore writes, others read relaxed). */
struct scpp_cont_dedup_stats {
	uint64_t admitted;     /**< new continuations recorded */
	uint64_t dup_running;  /**< retransmissions of one still running */
	uint64_t dup_done;     /**< retransmissions answered from the held answer */
	uint64_t full;         /**< refused: every entry in use */
	uint64_t expired;      /**< answers forgotten after the retention time */
	uint64_t dropped;      /**< entries forgotten before they answered */
	uint32_t in_use;       /**< entries in use now (a gauge) */
};

struct scpp_cont_dedup;

/**
 * A table of @p entries continuations (running or answered), each answer
 * kept @p retention_ms after it was given. Control path.
 *
 * @param entries       16 .. 2^24.
 * @param retention_ms  1 .. 600000; at least the longest time a sender
 *                      retransmits (docs/PROTOCOL.md §19.4).
 * @return the table, or NULL with errno EINVAL or ENOMEM.
 */
struct scpp_cont_dedup *scpp_cont_dedup_create(uint32_t entries, uint32_t retention_ms,
					       int socket, bool use_rte);

/** Free a table; NULL is a no-op. Held answers are the caller's to free first
 *  (scpp_cont_dedup_expire() with now = UINT64_MAX hands them all back). */
void scpp_cont_dedup_free(struct scpp_cont_dedup *d);

/**
 * A CONT arrived with key @p k at @p now_ms. NEW: it is recorded as
 * running in entry *@p slot. DONE: *@p held / *@p held_len are the answer
 * given to scpp_cont_dedup_done().
 */
enum scpp_cont_seen scpp_cont_dedup_admit(struct scpp_cont_dedup *d,
					  const struct scpp_cont_key *k, uint64_t now_ms,
					  uint32_t *slot, void **held, uint32_t *held_len);

/**
 * The continuation in @p slot answered with @p held (the caller's, e.g. a
 * copy of the CONT_REPLY message; may be NULL) of @p held_len bytes: kept
 * until @p now_ms + retention, then handed back by scpp_cont_dedup_expire().
 *
 * @return 0, or -EINVAL (@p slot is not a running entry).
 */
int scpp_cont_dedup_done(struct scpp_cont_dedup *d, uint32_t slot, void *held,
			 uint32_t held_len, uint64_t now_ms);

/**
 * Forget the running continuation in @p slot (it was refused before it
 * ran: a retransmission may try again).
 *
 * @return 0, or -EINVAL (@p slot is not a running entry).
 */
int scpp_cont_dedup_drop(struct scpp_cont_dedup *d, uint32_t slot);

/**
 * Forget answers older than their retention at @p now_ms, at most @p n,
 * handing their held pointers back in @p freed (the caller frees them).
 * Cost: proportional to what is forgotten.
 *
 * @return the number forgotten (entries of @p freed filled).
 */
unsigned int scpp_cont_dedup_expire(struct scpp_cont_dedup *d, uint64_t now_ms, void **freed,
				    unsigned int n);

/** The table's counters. */
void scpp_cont_dedup_stats(const struct scpp_cont_dedup *d, struct scpp_cont_dedup_stats *out);

#endif /* SCPP_CONT_H */
