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


/* The CONT run() is running: whether, and for whom, its part may nest. */
struct cont_nest_in {
	const struct scpp_wire_cont *c;  /* NULL: it may not (run here, or sealed) */
	uint32_t set;                    /* its nested set (CONT_NONE: none yet) */
};

/* The origin's one resolution of each row's memory window end per copy
 * command it stops at (cont_memwin.c peer_memwin_row(): the hook before the
 * copy, the splitting rule, the part's cut and extensions all ask). Valid
 * from the hook to the end of that stop's split (or the next hook). It has
 * an entry for every row a stop can hold: the origin's stop is a park
 * slot's suspension (SCPPD_PARK_SUSP_BYTES), a row in it at least 32 bytes
 * (its bound mask and one value: a block without variables has one row),
 * so each row is resolved once a stop. A row past them never reaches a
 * split (the block cannot stop there: E_LIMIT_PENDING) and is asked about
 * by the hook alone, once. An entry is valid when its generation is the
 * memo's: dropping the memo (before every command) is one increment. */
#define SCPPD_MEMO_ROWS (SCPPD_PARK_SUSP_BYTES / 32u)
struct cont_memo {
	const struct scpp_wire_block *b; /* NULL: empty */
	uint16_t cmd;
	uint32_t gen;                    /* 0: never used (a zeroed memo matches nothing) */
	uint32_t row_gen[SCPPD_MEMO_ROWS]; /* a row's entry is valid at gen */
	uint8_t there[SCPPD_MEMO_ROWS];    /* 1: an end in another node's memory window */
	struct scpp_wire_memwin x[SCPPD_MEMO_ROWS]; /* which (its shard: the window OID's) */
};

struct scppd_cont {
	/* The origin's memory window ends of the copy it stopped at. */
	struct cont_memo memo;
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
	/* Nested sender's side (cont_nest.c). */
	struct cont_nest *nest;        /* SCPPD_CONT_NEST_MAX; their sets follow ct->nset */
	struct cont_nest_in nin;
	/* Destination's side, CONTs parked on their READs (cont_read.c). */
	struct cont_rds *rds;
	const struct cont_rd *rd_cur;  /* the one being run */
	uint32_t rd_parked;
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

/* ---- the sender's part table (cont_part.c) ---- */

#define CONT_NONE UINT32_MAX

static inline uint64_t
cont_ms_tsc(uint64_t ms)
{
	return scppd_g.tsc_hz / 1000 * ms;
}

enum part_state {
	P_FREE = 0,
	P_SENT,    /* shipped (or waiting for the owner's MAC), no answer yet */
	P_DONE,    /* answered: its records in ans (a nested set's: the whole answer) */
	P_FAILED,  /* no answer to show: its status in st */
	P_GRACE,   /* given up, its set gone: its pins kept until next_tsc (cont_nest.c) */
};

struct cont_part {
	uint8_t state;
	uint8_t hops;
	uint8_t tries;          /* retransmissions so far */
	uint8_t arp;            /* not sent yet: the owner's MAC is being asked */
	uint8_t flags;          /* the CONT's (SCPP_WIRE_CONT_F_EVERY: a ⊤ fan-out part) */
	uint8_t local;          /* another shard of this node: through the hand-off ring */
	uint8_t sealed;         /* its CONT carries extension 1: its answer must be MAC'd */
	uint16_t start;         /* the command it starts at */
	uint16_t shard;
	uint32_t node;
	uint64_t owner_hi;      /* the owning shard's OID high half */
	uint32_t set;           /* the index of its set */
	uint32_t next;          /* merge order in its set; free list */
	uint32_t nrows;
	uint32_t msg_len;       /* CONT bytes in msg */
	uint32_t ans_len;       /* the answer's records in ans */
	uint32_t wait_ms;       /* how long it is waited for (its CONT's timeout_ms) */
	uint64_t cont_id;
	uint64_t next_tsc;      /* next try (P_GRACE: the pins' release) */
	uint64_t deadline_tsc;  /* given up then */
	struct scpp_net_peer to;
	uint8_t msg[SCPPD_CONT_ANSWER_MAX];
	uint8_t ans[SCPPD_CONT_ANSWER_MAX];
	struct scpp_status st;  /* P_FAILED */
	/* Copy sources it carries (cont_copy.c): extensions, and their pins. */
	uint16_t ext_len;
	uint8_t npins;
	uint8_t ext[SCPP_WIRE_CONT_EXT_MAX];
	struct scppd_copy_pin pins[SCPPD_COPY_SRC_MAX];
};

struct cont_set {
	uint8_t active;
	uint8_t sess;           /* a session block: parts carry its principal */
	uint8_t nest;           /* a nested sender's set (cont_nest.c), not a park slot's */
	uint16_t nvars;
	uint32_t head, tail;    /* parts in merge order */
	uint32_t open;          /* parts P_SENT */
	uint32_t busy;          /* answers being taken (not ready meanwhile) */
	uint32_t nparts;
	uint64_t h;             /* the park handle (changes at every park) */
	uint64_t client_id, block_id;
	uint64_t start_tsc;
};

/** A new part of set @p set (index @p si), in merge order right after part
 *  @p after (CONT_NONE: last); NULL when every record is taken. */
struct cont_part *cont_part_new(struct scppd_worker *w, struct cont_set *set, uint32_t si,
				uint32_t after);
/** Part @p p is no longer waited for (if it was). */
void cont_part_unsent(struct scppd_worker *w, struct cont_part *p);
/** Part @p p has no answer to show: its status (code, message) in its place. */
void cont_part_fail(struct scppd_worker *w, struct cont_part *p, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/** The name of node @p id in the map ("?": none). */
const char *cont_node_name(uint32_t id);
/** Write part @p p's CONT header and its parked block into p->msg; rows at *@p at. */
int cont_part_build(struct scppd_worker *w, struct cont_part *p, const struct cont_set *set,
		    uint32_t nrows, uint32_t *at);
/** The same with block message @p blk (@p blen bytes). */
int cont_part_write(struct cont_part *p, const struct cont_set *set, const uint8_t *blk,
		    uint32_t blen, uint32_t nrows, uint32_t *at);
/** The CONT of part @p p is in p->msg: ship it (or run it here). */
void cont_part_launch(struct scppd_worker *w, struct cont_part *p);
/** The limits every part meets before it is built (PROTOCOL.md §19.6); false: failed. */
bool cont_part_limits(struct scppd_worker *w, struct cont_part *p, const struct cont_set *set);
/** Part @p p does not fit one datagram: failed with E_LIMIT_BYTES. */
void cont_part_too_big(struct scppd_worker *w, struct cont_part *p, const struct cont_set *set);
/** Every part of @p set answered or failed: the set's end (its kind's). */
void cont_set_ready(struct scppd_worker *w, struct cont_set *set);

/* ---- the nested sender (cont_nest.c) ---- */

/* Nested sets per worker: CONTs run here whose answer waits for parts. */
#define SCPPD_CONT_NEST_MAX 64u

/* A nested set's CONT, waiting for its parts before it is answered. */
struct cont_nest {
	uint32_t slot;                   /* its record in the dedup table (RUNNING) */
	uint32_t cap;                    /* its answer's room (one datagram) */
	uint8_t self;                    /* sent by another worker of this node */
	struct scpp_net_peer peer;       /* its sender */
	uint64_t hdr_client, hdr_block;  /* its datagram's ids */
};

/** Owner running CONT @p c (ct->susp loaded, at c->start): ship the rows of
 *  a copy at c->start whose source is here and destination elsewhere to the
 *  destination's owner, as nested parts, and keep the others. */
void scppd_cont_nest_split(struct scppd_worker *w, const struct scpp_wire_cont *c);
/** run() ran the CONT with nested parts (ct->nin.set): answer it once they
 *  have answered. */
void scppd_cont_nest_wait(struct scppd_worker *w, const struct scpp_net_meta *nm,
			  const struct scpp_wire_hdr *h, uint32_t slot, uint32_t cap);
/** run()'s CONT was not answered after all (refused): let its parts go. */
void scppd_cont_nest_abandon(struct scppd_worker *w);
/** Every part of nested set @p set answered or failed: answer its CONT. */
void scppd_cont_nest_ready(struct scppd_worker *w, struct cont_set *set);
/** Nested sets' state (scppd_cont_init(), after scppd_cont_origin_init()). */
void scppd_cont_nest_init(struct scppd_worker *w);
void scppd_cont_nest_free(struct scppd_worker *w);
/** A part's pin grace is over: unpin, free the record. */
void scppd_cont_nest_grace_end(struct scppd_worker *w, struct cont_part *p);
/* Where the answer to a CONT goes. */
struct cont_to {
	struct scpp_net_peer peer;
	bool self;                       /* through the hand-off ring */
	uint64_t client_id, block_id;    /* its datagram's ids */
};

/** Refuse CONT @p c (not run, or run and failed): a status-only answer, not
 *  recorded (cont.c). */
void scppd_cont_refuse_to(struct scppd_worker *w, const struct cont_to *to,
			  const struct scpp_wire_cont *c, int code, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/** The CONT of record @p slot ran, its answer in the record's buffer: seal
 *  it if it must be, record it and send it (cont.c). */
void scppd_cont_answered(struct scppd_worker *w, const struct cont_to *to, uint32_t slot);

/* ---- the destination's park (cont_read.c) ---- */

int scppd_cont_read_init(struct scppd_worker *w);
void scppd_cont_read_free(struct scppd_worker *w);
/** run(): park CONT @p c (record @p slot, answer room @p cap) while the READs
 *  of its COPY_SOURCEs are in flight. false: run it now. */
bool scppd_cont_read_park(struct scppd_worker *w, const struct scpp_net_meta *nm,
			  const struct scpp_wire_hdr *h, const struct scpp_wire_cont *c,
			  uint32_t slot, uint32_t cap);
/** Loop turn (rd_parked != 0): run and answer the parked CONTs whose READs completed. */
void scppd_cont_read_tick(struct scppd_worker *w);
/** scppd_cont_exec(), after scppd_cont_copy_rx(): the parked CONT's READs (or none). */
void scppd_cont_read_resume(struct scppd_worker *w, struct scppd_cont_copy_rx *rx);

/** Answer @p msg (@p len bytes) to a CONT from @p peer (through the hand-off
 *  ring when @p self), datagram ids @p client_id, @p block_id (cont.c). */
void scppd_cont_answer_to(struct scppd_worker *w, const struct scpp_net_peer *peer, bool self,
			  uint64_t client_id, uint64_t block_id, const uint8_t *msg,
			  uint32_t len);

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
