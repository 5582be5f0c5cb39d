/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SCPPD_CONT_PRIV_H
#define SCPPD_CONT_PRIV_H

/*
 * Continuations inside scppd: what cont.c (the owner's side: a CONT run
 * once, answered with a CONT_REPLY) and cont_origin.c (the origin's side:
 * a block split, its parts shipped, their answers merged) share. Not
 * installed; docs/CLUSTER.md §8 has the design.
 */

#include "scpp_cont.h"
#include "scppd.h"

/* Continuations recorded per worker (running or answered), owner's side. */
#define SCPPD_CONT_ENTRIES 1024u
/* How long an answer is kept for retransmissions (PROTOCOL.md §19.4). */
#define SCPPD_CONT_RETENTION_MS 2000u
/* One answer: a CONT_REPLY of one datagram. */
#define SCPPD_CONT_ANSWER_MAX SCPP_WIRE_DGRAM_DEFAULT
/* A continuation's rows and their values (E_LIMIT_PENDING beyond). */
#define SCPPD_CONT_SUSP_BYTES (256u << 10)
/* Rows a suspension can hold at most (a row is at least 32 bytes). */
#define SCPPD_CONT_ROWS_MAX (SCPPD_CONT_SUSP_BYTES / 32u)
/* Bytes of an answer kept for its records when rest groups fill the rest. */
#define SCPPD_CONT_RECS_MIN 512u
/* Answers forgotten per loop turn, at most. */
#define SCPPD_CONT_EXPIRE_BURST 64u

struct cont_part;
struct cont_set;

struct scppd_cont {
	/* Owner's side (cont.c). */
	struct scpp_cont_dedup *dedup;
	uint8_t *held;                 /* SCPPD_CONT_ENTRIES x SCPPD_CONT_ANSWER_MAX */
	uint32_t *held_len;            /* per entry */
	uint8_t scratch[SCPPD_CONT_ANSWER_MAX]; /* refusals, which are not recorded */
	uint8_t rest[SCPPD_CONT_ANSWER_MAX];    /* the rest groups of the part being run */
	uint8_t recs[SCPPD_CONT_ANSWER_MAX];    /* ... and its records */
	uint8_t lans[SCPPD_CONT_ANSWER_MAX];    /* a part run here for this node's block */
	struct scpp_eval_susp *susp;
	struct scpp_wire_block *blk;
	uint32_t *idx;                 /* 2 x SCPPD_CONT_ROWS_MAX: splits */
	struct scpp_eval_hooks hooks;  /* stop where rows must go on elsewhere */
	struct scpp_eval_hooks hooks_every; /* ... and once after an EVERY part's scan */
	uint16_t every_next;           /* the command after an EVERY part's start */
	uint32_t *idx2;                /* SCPPD_CONT_ROWS_MAX: a second row list */
	uint64_t ms_div;               /* TSC ticks per ms */
	/* The CONT being answered carried extension 1: its answers end with
	 * a MAC under this key (docs/SECURITY.md §9.4 item 9). */
	bool rk_on;
	uint8_t rk[SCPP_AUTH_KEY_LEN];
	struct scppd_cont_copy_rx copy_rx; /* the running part's COPY_SOURCEs (cont_copy.c) */
	/* Origin's side (cont_origin.c). */
	struct cont_part *part;        /* cluster.cont.max_pending records */
	uint32_t npart;
	uint32_t free_part;            /* free list head */
	struct cont_set *set;          /* one per park slot (delivery.max_parked) */
	uint32_t nset;
	uint64_t seq;                  /* continuation ids */
	uint64_t next_scan;            /* TSC of the next timer scan */
	uint8_t *merge;                /* the block's own part, copied for the merge */
	uint32_t merge_cap;
	struct scpp_cont_part *mparts; /* npart + 1 */
	uint8_t empty_cols[8];         /* a refusal's COLUMNS record */
	uint32_t empty_cols_len;
};

/**
 * Run continuation @p c (decoded; its block and rows still in the message)
 * on this worker's shard from c->start to the end of its block, stopping
 * wherever rows must go on elsewhere: those rows become rest groups. Writes
 * the whole CONT_REPLY (header, rest groups, records) to @p out (@p cap
 * bytes, at most one datagram). It runs with authority @p au (the carried
 * principal's, docs/SECURITY.md §9.4 item 9), or unchecked (NULL).
 *
 * @return 0 (*@p out_len bytes), or a negative code when nothing was run
 *   (a refusal: @p why says why).
 */
int scppd_cont_exec(struct scppd_worker *w, const struct scpp_wire_cont *c,
		    const struct scpp_auth_authority *au, uint8_t *out, uint32_t cap,
		    uint32_t *out_len, char *why, size_t why_len);

/** Where the rows of the command @p cmd about to run on @p w's context must run it:
 *  bit 0 some elsewhere (SCPP_EVAL_THERE), bit 1 some everywhere (SCPP_EVAL_ANY). */
#define SCPPD_ROWS_THERE 1u
#define SCPPD_ROWS_ANY 2u
unsigned int scppd_cont_rows_where(struct scppd_worker *w, const struct scpp_wire_block *b,
				   uint16_t cmd, size_t nrows);

/** Origin: allocate its part records and sets (scppd_cont_init()). Exits on failure. */
void scppd_cont_origin_init(struct scppd *d, struct scppd_worker *w);
void scppd_cont_origin_free(struct scppd_worker *w);
/** Origin: a CONT_REPLY datagram (decoded header @p h) from @p nm's sender. */
void scppd_cont_origin_rx(struct scppd_worker *w, const struct scpp_net_meta *nm,
			  const struct scpp_wire_hdr *h);
/** Origin: retransmit or give up continuations (loop turn; cont_out != 0). */
void scppd_cont_origin_tick(struct scppd_worker *w);

#endif /* SCPPD_CONT_PRIV_H */
