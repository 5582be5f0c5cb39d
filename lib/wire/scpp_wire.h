/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SCPP_WIRE_H
#define SCPP_WIRE_H

/**
 * @file
 * The System Call Proxy Protocol on the wire, version 1.
 *
 * docs/PROTOCOL.md is the normative specification; this header is its C
 * binding. All integers are little-endian. Three layers:
 *
 * 1. **Datagram** (UDP payload): a fixed 32-byte header, @c payload_len
 *    bytes of payload, a 16-byte cookie if flag COOKIE is set, then
 *    @c tag_len bytes of authentication tag.
 *
 * @verbatim
 *  off size field
 *    0   2  magic "SC" (0x53 0x43)
 *    2   1  version (1)
 *    3   1  kind: 1 BLOCK, 3 FETCH (client -> node); 2 REPLY, 4 NOTICE
 *             (node -> client); 5 FORWARD, 6 CONT, 7 CONT_REPLY (node ->
 *             node, fragmented like BLOCK, no cookie, no session); 8..15
 *             the session layer (docs/SECURITY.md)
 *    4   1  flags: bit 0 LAST (last datagram of its message); bit 1 COOKIE
 *             (not on REPLY and NOTICE); bit 5 SESSION (tag_len is then
 *             24: docs/SECURITY.md §6); others 0
 *    5   1  tag_len: 0..32 bytes of auth tag after the payload (and cookie)
 *    6   2  payload_len
 *    8   8  client_id
 *   16   8  block_id (chosen by the client, unique per client)
 *   24   4  frag_index (BLOCK: fragment number; REPLY: stream sequence number;
 *                       FETCH, NOTICE: 0)
 *   28   4  frag_count (BLOCK: fragments in the message, 1..SCPP_WIRE_FRAGS_MAX;
 *                       FETCH: 1; REPLY, NOTICE: 0)
 * @endverbatim
 *
 *    The datagram length must equal 32 + payload_len + (16 if COOKIE) +
 *    tag_len exactly. For BLOCK, FETCH and kinds 8..15, frag_index < frag_count and
 *    LAST is set iff frag_index == frag_count - 1; a NOTICE has LAST set.
 *    FETCH and NOTICE payloads are fixed layouts (struct scpp_wire_fetch,
 *    struct scpp_wire_notice); docs/PROTOCOL.md §16 says what they mean.
 *
 * 2. **Messages**: the payloads of a message's datagrams, concatenated in
 *    frag_index order. A BLOCK message is one block (below). A REPLY message
 *    is a stream of records; it may be cut between datagrams at any byte,
 *    and records are decoded incrementally as bytes arrive in order.
 *
 * 3. **Block** encoding:
 *
 * @verbatim
 *   u8      block flags (bit 0 COPY_RESULTS; others reserved, must be 0)
 *   varint  nvars (0..SCPP_WIRE_VARS_MAX); then per variable: varint name
 *           length (0..SCPP_WIRE_NAME_MAX) + UTF-8 name (may be empty)
 *   varint  nret (0..nvars); then nret distinct varint variable indexes
 *   varint  ncmds (0..SCPP_WIRE_CMDS_MAX); then per command:
 *             u8 opcode, u8 cflags (bit 0 HAS_STATUS; others 0),
 *             the opcode's terms (see enum scpp_wire_op),
 *             if HAS_STATUS: varint status variable index
 * @endverbatim
 *
 *    A term is a tag byte then its body:
 *    0x01 CONST value (lib/value encoding); 0x02 VAR varint index;
 *    0x03 KEY attr-term key-term (one entry of a map attribute, `attr[key]`);
 *    0x04 VALUE entity-term attr-term (address `value(e,a)`);
 *    0x05 OFFSET address-term count-term (address `offset(A,n)`);
 *    0x06 OP u8 operator, then its operands (an expression node,
 *    enum scpp_wire_xop; docs/PROTOCOL.md §8.1).
 *    Which tags each position admits is fixed (enum scpp_wire_pos); address
 *    terms nest at most SCPP_WIRE_NEST_MAX deep, expressions at most
 *    SCPP_WIRE_EXPR_DEPTH_MAX. A command with flag GUARD carries one more
 *    term, an expression, after its own terms and before the status
 *    variable.
 *
 * 4. **Reply records** (each starts with a tag byte):
 *
 * @verbatim
 *   0x10 COLUMNS  varint n (0..SCPP_WIRE_VARS_MAX), n x (varint len + UTF-8 name)
 *   0x11 ROW      n values, n = the preceding COLUMNS' count
 *   0x12 STATUS   16-byte OID of the status object, varint nfields
 *                 (0..SCPP_WIRE_FIELDS_MAX), nfields x (varint len + UTF-8
 *                 field name, value)
 *   0x13 END      varint errno (canonical number, 0 = success),
 *                 u8 outcome (enum scpp_wire_outcome), varint rows,
 *                 varint commands executed, varint elapsed ns
 *   0x14 COPY     varint command (< SCPP_WIRE_CMDS_MAX), varint copies,
 *                 varint bytes, varint offloaded (<= copies), varint len
 *                 + UTF-8 engine name, varint elapsed ns (only in replies
 *                 to blocks with SCPP_WIRE_BF_COPY_RESULTS)
 * @endverbatim
 *
 *    A reply is COLUMNS first, any ROW, STATUS and COPY records, END last.
 *
 * Decoders never read outside the buffer they are given, allocate nothing,
 * and return a distinct negative code per malformation (enum scpp_error in
 * scpp_common.h). Decoded strings, bytes and names point into the input.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "scpp_common.h"
#include "scpp_oid.h"
#include "scpp_value.h"

#define SCPP_WIRE_VERSION 1
#define SCPP_WIRE_MAGIC0 0x53 /* 'S' */
#define SCPP_WIRE_MAGIC1 0x43 /* 'C' */
#define SCPP_WIRE_HDR_LEN 32
/** Largest authentication tag (bytes). */
#define SCPP_WIRE_TAG_MAX 32
/** Largest UDP payload over IPv4. */
#define SCPP_WIRE_DGRAM_MAX 65507
/** Default datagram size senders aim for (fits a 1500-byte MTU). */
#define SCPP_WIRE_DGRAM_DEFAULT 1472
/** Most fragments in one BLOCK message. */
#define SCPP_WIRE_FRAGS_MAX 64
/** Most variables a block declares. */
#define SCPP_WIRE_VARS_MAX 64
/** Most commands in one block. */
#define SCPP_WIRE_CMDS_MAX 256
/** Most terms (all nesting levels) in one block. */
#define SCPP_WIRE_TERMS_MAX 1024
/** Longest variable or column name (bytes). */
#define SCPP_WIRE_NAME_MAX 64
/** Deepest nesting of address terms (offset(offset(...))). */
#define SCPP_WIRE_NEST_MAX 8
/** Deepest nesting of expression terms (an operator is one level). */
#define SCPP_WIRE_EXPR_DEPTH_MAX 16
/** Most fields in one status record. */
#define SCPP_WIRE_FIELDS_MAX 32

enum scpp_wire_kind {
	SCPP_WIRE_BLOCK = 1,  /**< client -> node: a block, or one fragment of it */
	SCPP_WIRE_REPLY = 2,  /**< node -> client: part of a reply stream */
	SCPP_WIRE_FETCH = 3,  /**< client -> node: resend some datagrams of a held reply */
	SCPP_WIRE_NOTICE = 4, /**< node -> client: delivery notice (cookie, reply lost, ...) */
	SCPP_WIRE_FORWARD = 5, /**< node -> node: a client's BLOCK or FETCH, forwarded to
				*   its owner (scpp_wire_fwd_decode()) */
	SCPP_WIRE_CONT = 6,    /**< node -> node: the rest of a block for some of its rows
				*   (scpp_wire_cont_decode()) */
	SCPP_WIRE_CONT_REPLY = 7, /**< node -> node: the records of a CONT's part
				   *   (scpp_wire_cont_reply_decode()) */
};

#define SCPP_WIRE_F_LAST 0x01   /**< header flag: last datagram of the message */
#define SCPP_WIRE_F_COOKIE 0x02 /**< header flag: a cookie follows the payload */
/** Header flag (bit 5): a session datagram, with a 24-byte session tag
 *  (docs/SECURITY.md §6); bits 2..4 and 6..7 are reserved (0). */
#define SCPP_WIRE_F_SESSION 0x20
/** tag_len of a session datagram: lane u16, counter u48, MAC 16. */
#define SCPP_WIRE_SESSION_TAG_LEN 24
/** Datagram kinds 8..15 belong to the session layer (HELLO 8 .. CLOSE 13). */
#define SCPP_WIRE_AUTH_KIND_FIRST 8
#define SCPP_WIRE_AUTH_KIND_LAST 15
/** Bytes of an address-validation cookie (opaque to clients). */
#define SCPP_WIRE_COOKIE_LEN 16
#define SCPP_WIRE_CF_STATUS 0x01 /**< command flag: a status variable follows */
/** Block flag: the reply carries a COPY record per copy command that
 *  copied (docs/PROTOCOL.md §10). A node of an older version refuses the
 *  block with E_BAD_FLAGS, so a client never waits for records that will
 *  not come. */
#define SCPP_WIRE_BF_COPY_RESULTS 0x01
#define SCPP_WIRE_BF_MASK SCPP_WIRE_BF_COPY_RESULTS
#define SCPP_WIRE_CF_GUARD 0x02  /**< command flag: a guard expression follows the terms */

/**
 * Command opcodes and their terms (position kinds in brackets):
 * - GET    e[ENT] a[ATTR] v[VAL]       match or bind
 * - SET    e[ENT] a[ATTR] v[VAL]       write per row
 * - COPY   dst[ADDR] src[ADDR] len[VAL] byte-range copy
 * - CREATE v[DEST] type[VAL]           new entity of a type, bound to v
 * - ALLOC  e[ENT] a[ATTR] len[VAL]     empty byte string of len bytes at (e,a)
 * - DEL    e[ENT] a[ATTR]              delete attribute / map entry; a = nil
 *                                     deletes the entity
 * - LET    v[DEST] x[EXPR]             bind v to the value of x (or filter)
 * - WHERE  x[EXPR]                     keep the row iff x is true
 * - ASSERT x[EXPR] errno[VAL]          fail with errno unless x is true
 * - WRITE  dst[ADDR] v[VAL]            write bytes v at dst, extending it
 * - RESIZE e[ENT] a[ATTR] len[VAL]     set a byte string's length
 */
enum scpp_wire_op {
	SCPP_OP_GET = 1,
	SCPP_OP_SET = 2,
	SCPP_OP_COPY = 3,
	SCPP_OP_CREATE = 4,
	SCPP_OP_ALLOC = 5,
	SCPP_OP_DEL = 6,
	SCPP_OP_LET = 7,
	SCPP_OP_WHERE = 8,
	SCPP_OP_ASSERT = 9,
	SCPP_OP_WRITE = 10,
	SCPP_OP_RESIZE = 11,
	SCPP_OP_COUNT
};

/** Term tags. */
enum scpp_wire_term_kind {
	SCPP_TERM_CONST = 0x01,
	SCPP_TERM_VAR = 0x02,
	SCPP_TERM_KEY = 0x03,
	SCPP_TERM_VALUE = 0x04,
	SCPP_TERM_OFFSET = 0x05,
	SCPP_TERM_OP = 0x06,
};

/**
 * Operators of OP terms (docs/PROTOCOL.md §8.1). Each has a fixed arity;
 * every operand is an expression, except the first operand of READ, an
 * address. The last group reads the store.
 */
enum scpp_wire_xop {
	SCPP_XOP_ADD = 1,  /**< add(a, b): integer sum */
	SCPP_XOP_SUB,      /**< sub(a, b) */
	SCPP_XOP_MUL,      /**< mul(a, b) */
	SCPP_XOP_DIV,      /**< div(a, b): truncated toward zero */
	SCPP_XOP_MOD,      /**< mod(a, b): remainder of div */
	SCPP_XOP_MIN,      /**< min(a, b) */
	SCPP_XOP_MAX,      /**< max(a, b) */
	SCPP_XOP_BAND,     /**< band(a, b): bitwise and */
	SCPP_XOP_BOR,      /**< bor(a, b): bitwise or */
	SCPP_XOP_BXOR,     /**< bxor(a, b): bitwise exclusive or */
	SCPP_XOP_SHL,      /**< shl(a, n): shift left */
	SCPP_XOP_SHR,      /**< shr(a, n): shift right (arithmetic for i64) */
	SCPP_XOP_EQ,       /**< eq(a, b) */
	SCPP_XOP_NE,       /**< ne(a, b) */
	SCPP_XOP_LT,       /**< lt(a, b) */
	SCPP_XOP_LE,       /**< le(a, b) */
	SCPP_XOP_GT,       /**< gt(a, b) */
	SCPP_XOP_GE,       /**< ge(a, b) */
	SCPP_XOP_AND,      /**< and(p, q): logical, short-circuit */
	SCPP_XOP_OR,       /**< or(p, q): logical, short-circuit */
	SCPP_XOP_NOT,      /**< not(p) */
	SCPP_XOP_IF,       /**< if(c, x, y): x or y, the other not evaluated */
	SCPP_XOP_LEN,      /**< len(s): bytes of a str or bytes value */
	SCPP_XOP_NOW,      /**< now(): the node's clock, ns since the Unix epoch */
	SCPP_XOP_HASH,     /**< hash(v): FNV-1a 64 of v's encoding */
	SCPP_XOP_VAL,      /**< val(e, a): plain attribute value, or nil */
	SCPP_XOP_ENTRY,    /**< entry(e, a, k): map entry value, or nil */
	SCPP_XOP_CARD,     /**< count(e, a): entries of a map, 1 or 0 otherwise */
	SCPP_XOP_LENGTH,   /**< length(e, a): bytes of a stored byte string */
	SCPP_XOP_REACH,    /**< reach(e, a, t): t on the chain e, e.a, e.a.a, ... */
	SCPP_XOP_FIND,     /**< find(a, v): first entity whose a is v, or nil */
	SCPP_XOP_READ,     /**< read(addr, n): up to n bytes at an address */
	SCPP_XOP_COUNT
};

/** Name, arity and operand positions of one operator. */
struct scpp_wire_xop_info {
	const char *name;  /**< text form name ("add") */
	uint8_t arity;     /**< 0..3 */
	uint8_t pos[3];    /**< enum scpp_wire_pos of each operand */
};

/** Operator table, indexed by enum scpp_wire_xop (entry 0 is unused). */
extern const struct scpp_wire_xop_info scpp_wire_xops[SCPP_XOP_COUNT];

/**
 * Position kinds: which term tags a position admits.
 * - ENT: CONST, VAR
 * - ATTR: CONST, VAR, KEY (whose attr and key are CONST or VAR)
 * - VAL: CONST, VAR
 * - ADDR: VALUE (entity ENT, attribute ATTR), OFFSET (address ADDR, count VAL)
 * - DEST: VAR only
 * - EXPR: CONST, VAR, OP (whose operands are in the positions the
 *   operator's table entry names)
 */
enum scpp_wire_pos {
	SCPP_POS_ENT,
	SCPP_POS_ATTR,
	SCPP_POS_VAL,
	SCPP_POS_ADDR,
	SCPP_POS_DEST,
	SCPP_POS_EXPR,
};

/** One term of a decoded block. Children are indexes into the block's term[]. */
struct scpp_wire_term {
	uint8_t kind;            /**< enum scpp_wire_term_kind */
	uint8_t var;             /**< VAR: variable index; OP: operator (enum scpp_wire_xop) */
	uint16_t a;              /**< KEY: attr; VALUE: entity; OFFSET: address; OP: operand 1 */
	uint16_t b;              /**< KEY: key; VALUE: attr; OFFSET: count; OP: operand 2 */
	uint16_t c;              /**< OP: operand 3 */
	struct scpp_value value; /**< CONST */
};

/** One command of a decoded block. */
struct scpp_wire_cmd {
	uint8_t op;          /**< enum scpp_wire_op */
	uint8_t flags;       /**< SCPP_WIRE_CF_* */
	uint8_t status_var;  /**< variable collecting statuses, if CF_STATUS */
	uint8_t nterms;      /**< 1 to 3, fixed by op */
	uint16_t term[3];    /**< indexes into block term[] */
	uint8_t shape;       /**< enum scpp_wire_shape: a hint for evaluators */
	uint16_t guard;      /**< EXPR term of the guard, if CF_GUARD */
};

/**
 * What the decoder and the builder noticed about a command's terms, so that
 * an evaluator need not look again (a hint: SCPP_WIRE_SHAPE_OTHER promises
 * nothing, and is always a correct value).
 */
enum scpp_wire_shape {
	SCPP_WIRE_SHAPE_OTHER = 0,
	/** Three terms, no flags: a constant OID, a constant non-empty string,
	 *  then a variable (`get E "attr" %v`). */
	SCPP_WIRE_SHAPE_EAV = 1,
};

/** A name borrowed from the input (not NUL-terminated). */
struct scpp_wire_name {
	const char *p;
	uint16_t len;
};

/**
 * A block, decoded (pointing into the datagram) or being built (pointing at
 * caller memory). Large (about 40 KiB): keep one per lcore, not on a stack.
 */
struct scpp_wire_block {
	uint8_t flags;   /**< block flags (SCPP_WIRE_BF_*) */
	uint16_t nvars;
	uint16_t nret;
	uint16_t ncmds;
	uint16_t nterms;
	uint8_t ret[SCPP_WIRE_VARS_MAX];                  /**< returned variables, in order */
	/**
	 * Decoded blocks: the encoded variable names (each a varint length
	 * and its bytes, in order), which are exactly the body of a COLUMNS
	 * record that returns every variable in order; NULL for built blocks
	 * (scpp_wire_reply_columns_block() then encodes the names one by one).
	 */
	const uint8_t *names_raw;
	uint32_t names_raw_len;
	uint8_t ret_all;  /**< every variable is returned, in order (ret[i] == i) */
	uint64_t status_vars; /**< bit v: a command collects statuses in variable v */
	/**
	 * A hint from the decoder (0 promises nothing; built blocks have 0):
	 * commands 0 .. get_run-1 are `get <OID> "<name>" %v` (SHAPE_EAV, op
	 * GET, no flags) with one attribute name, whose terms' value.p all
	 * point at the same bytes, and each a variable of its own (the set is
	 * get_run_vars); command i's terms are 3i, 3i+1, 3i+2.
	 */
	uint16_t get_run;
	uint64_t get_run_vars;
	struct scpp_wire_name var_name[SCPP_WIRE_VARS_MAX];
	struct scpp_wire_cmd cmd[SCPP_WIRE_CMDS_MAX];
	struct scpp_wire_term term[SCPP_WIRE_TERMS_MAX];
};

/**
 * A decoded datagram header; @c payload, @c cookie and @c tag point into the
 * datagram. For the encoder, @c cookie supplies the cookie bytes when flag
 * COOKIE is set (zeros if NULL).
 */
struct scpp_wire_hdr {
	uint8_t kind;
	uint8_t flags;
	uint8_t tag_len;
	uint16_t payload_len;
	uint64_t client_id;
	uint64_t block_id;
	uint32_t frag_index;
	uint32_t frag_count;
	const uint8_t *payload;
	const uint8_t *cookie; /**< SCPP_WIRE_COOKIE_LEN bytes, or NULL without COOKIE */
	const uint8_t *tag;
};

/** Bytes a datagram with this header occupies (header, payload, cookie, tag). */
static inline size_t
scpp_wire_dgram_len(const struct scpp_wire_hdr *h)
{
	return SCPP_WIRE_HDR_LEN + (size_t)h->payload_len +
	       ((h->flags & SCPP_WIRE_F_COOKIE) ? SCPP_WIRE_COOKIE_LEN : 0) + h->tag_len;
}

/** Number of terms each opcode takes (index by enum scpp_wire_op; 0 = invalid). */
extern const uint8_t scpp_wire_op_nterms[SCPP_OP_COUNT];
/** Position kind of each term of each opcode. */
extern const uint8_t scpp_wire_op_pos[SCPP_OP_COUNT][3];
/** Opcode names ("get", "set", ...), NULL for invalid. */
extern const char *const scpp_wire_op_name[SCPP_OP_COUNT];

/* ---- datagrams ---- */

/**
 * Decode and check a datagram header.
 *
 * @return 0, or -SCPP_E_TRUNCATED (shorter than the header or than its
 *   lengths say), -SCPP_E_BAD_MAGIC, -SCPP_E_BAD_VERSION, -SCPP_E_BAD_KIND,
 *   -SCPP_E_BAD_FLAGS (reserved bits, tag_len > 32, COOKIE on a REPLY or
 *   NOTICE, LAST inconsistent), -SCPP_E_BAD_LENGTH (bytes after payload,
 *   cookie and tag; over SCPP_WIRE_DGRAM_MAX), -SCPP_E_BAD_FRAGMENT (count 0
 *   or over the maximum, index >= count, a FETCH whose count is not 1, a
 *   REPLY or NOTICE with a count, a NOTICE with an index).
 */
int scpp_wire_hdr_decode(const uint8_t *dgram, size_t len, struct scpp_wire_hdr *h);

/** The codecs' fast paths may run: scpp_wire_decode_fast() sets it (tests
 *  only); the inline fast paths below read it. */
extern bool scpp_wire_fast;

/**
 * The fast path of the header decoders: the header nearly every request
 * has, a whole BLOCK (or a FETCH) in one datagram without cookie, session
 * or tag, recognised by its fixed bytes as two 8-byte loads. Bytes 0..7
 * are magic, version 1, kind 1 or 3 (the mask drops the bit they differ
 * in), flags LAST, tag_len 0, then payload_len (masked out); bytes 24..31
 * are frag_index 0, frag_count 1. Every such header passes the general
 * decoder's checks, so what is left is the length: the datagram must end
 * right after its payload.
 *
 * @return true with @p h filled as scpp_wire_hdr_decode() fills it, or
 *   false (@p h untouched) for anything else, which only the general
 *   decoder judges; always false on big-endian machines and under
 *   scpp_wire_decode_fast(false).
 */
static inline bool
scpp_wire_hdr_fast(const uint8_t *d, size_t len, struct scpp_wire_hdr *h)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t mask0 = UINT64_C(0x0000fffffdffffff);
	const uint64_t want0 = UINT64_C(0x0000000101014353);
	const uint64_t want3 = UINT64_C(1) << 32;
	uint64_t w0, w3;
	size_t plen;

	if (SCPP_UNLIKELY(!scpp_wire_fast || len < SCPP_WIRE_HDR_LEN))
		return false;
	memcpy(&w0, d, 8);
	memcpy(&w3, d + 24, 8);
	plen = (size_t)(w0 >> 48);
	if ((w0 & mask0) != want0 || w3 != want3 || len != SCPP_WIRE_HDR_LEN + plen ||
	    len > SCPP_WIRE_DGRAM_MAX)
		return false;
	h->kind = d[3];
	h->flags = SCPP_WIRE_F_LAST;
	h->tag_len = 0;
	h->payload_len = (uint16_t)plen;
	memcpy(&h->client_id, d + 8, 8);
	memcpy(&h->block_id, d + 16, 8);
	h->frag_index = 0;
	h->frag_count = 1;
	h->payload = d + SCPP_WIRE_HDR_LEN;
	h->cookie = NULL;
	h->tag = d + len;
	return true;
#else
	/* The fast path assumes little-endian loads; the general decoder
	 * serves every other byte order. */
	(void)d;
	(void)len;
	(void)h;
	return false;
#endif
}

/**
 * scpp_wire_hdr_decode() with its fast path inline, for the one caller per
 * received datagram (lib/delivery's rx): the common request header costs
 * no call; every other header, and every error, is the out-of-line
 * decoder's. The same results and errors.
 */
static inline int
scpp_wire_hdr_decode_inline(const uint8_t *d, size_t len, struct scpp_wire_hdr *h)
{
	if (SCPP_LIKELY(scpp_wire_hdr_fast(d, len, h)))
		return 0;
	return scpp_wire_hdr_decode(d, len, h);
}

/**
 * Write a datagram: header from @p h, then @p h->payload_len bytes from
 * @p h->payload, then (flag COOKIE) the cookie from @p h->cookie, then
 * @p h->tag_len bytes from @p h->tag (zeros if NULL, to be filled in by the
 * authenticator).
 *
 * @return Bytes written, -ENOSPC if @p size is too small, -EINVAL if @p h
 *   would not decode (same rules as scpp_wire_hdr_decode()).
 */
int scpp_wire_dgram_encode(uint8_t *buf, size_t size, const struct scpp_wire_hdr *h);

/**
 * Write one datagram of a reply without a tag (no session), inline for
 * lib/delivery's reply build: the bytes
 * scpp_wire_dgram_encode() writes for kind REPLY, flags LAST if @p last,
 * tag_len 0, frag_index @p seq, frag_count 0 and this payload, without a
 * header struct and without the general checks, which these fields pass
 * but for the length. The payload may already be in place at
 * @p buf + SCPP_WIRE_HDR_LEN; any other overlap is moved as memmove() does.
 *
 * @return Bytes written (SCPP_WIRE_HDR_LEN + @p plen), -ENOSPC if @p size
 *   is too small, -EINVAL if the datagram would be over
 *   SCPP_WIRE_DGRAM_MAX or @p payload is NULL with @p plen not 0.
 */
static inline int
scpp_wire_reply_dgram_encode(uint8_t *buf, size_t size, uint64_t client_id, uint64_t block_id,
			     uint32_t seq, bool last, const uint8_t *payload, uint16_t plen)
{
	const size_t total = SCPP_WIRE_HDR_LEN + (size_t)plen;
	uint64_t w[4];

	if (SCPP_UNLIKELY(total > SCPP_WIRE_DGRAM_MAX || (plen != 0 && payload == NULL)))
		return -EINVAL;
	if (SCPP_UNLIKELY(total > size))
		return -ENOSPC;
	if (plen != 0 && payload != buf + SCPP_WIRE_HDR_LEN)
		memmove(buf + SCPP_WIRE_HDR_LEN, payload, plen);
	/* The header as four little-endian words: magic, version, kind,
	 * flags, tag_len 0, payload_len; client_id; block_id; frag_index
	 * then frag_count 0. */
	w[0] = SCPP_WIRE_MAGIC0 | SCPP_WIRE_MAGIC1 << 8 | SCPP_WIRE_VERSION << 16 |
	       SCPP_WIRE_REPLY << 24 | (uint64_t)(last ? SCPP_WIRE_F_LAST : 0) << 32 |
	       (uint64_t)plen << 48;
	w[1] = client_id;
	w[2] = block_id;
	w[3] = seq;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	for (unsigned int i = 0; i < 4; i++)
		w[i] = __builtin_bswap64(w[i]);
#endif
	memcpy(buf, w, sizeof(w));
	return (int)total;
}

/* ---- FETCH and NOTICE payloads (docs/PROTOCOL.md §16) ---- */

/** Most sequence ranges one FETCH asks for. */
#define SCPP_WIRE_FETCH_RANGES_MAX 32

/** A run of reply sequence numbers: first, first + 1, ..., first + count - 1. */
struct scpp_wire_range {
	uint32_t first;
	uint32_t count; /**< >= 1; first + count <= 2^32 */
};

/**
 * FETCH payload: "resend these datagrams of block_id's reply".
 *
 * @verbatim
 *   16     owner: the block's owner OID (scpp_wire_block_owner()), all zero
 *          if the block has none; the node routes the FETCH by it
 *    1     nranges: 1..SCPP_WIRE_FETCH_RANGES_MAX
 *    8 x n ranges: u32 first, u32 count; count >= 1, no wrap past 2^32,
 *          ascending and disjoint (first >= previous first + count)
 * @endverbatim
 */
struct scpp_wire_fetch {
	struct scpp_oid owner;
	uint8_t nranges;
	struct scpp_wire_range range[SCPP_WIRE_FETCH_RANGES_MAX];
};

/** Payload bytes of a FETCH with @p n ranges. */
#define SCPP_WIRE_FETCH_LEN(n) (16u + 1u + 8u * (n))

/**
 * Decode a FETCH payload.
 *
 * @return 0, -SCPP_E_TRUNCATED (shorter than its range count says),
 *   -SCPP_E_TRAILING (longer), -SCPP_E_TOO_MANY (more than
 *   SCPP_WIRE_FETCH_RANGES_MAX ranges), -SCPP_E_BAD_FRAGMENT (no range, a
 *   count of 0, a range past 2^32, ranges out of order or overlapping).
 */
int scpp_wire_fetch_decode(const uint8_t *p, size_t len, struct scpp_wire_fetch *f);

/**
 * Encode a FETCH payload.
 *
 * @return Bytes written, -ENOSPC, or -EINVAL (@p f would not decode).
 */
int scpp_wire_fetch_encode(uint8_t *buf, size_t size, const struct scpp_wire_fetch *f);

/* ---- FORWARD messages (docs/PROTOCOL.md §18) ---- */

/** Bytes of the fixed part of a FORWARD message, before extensions. */
#define SCPP_WIRE_FWD_HDR_LEN 44u
/** Most extension bytes a FORWARD message carries. */
#define SCPP_WIRE_FWD_EXT_MAX 256u
/** Most forwards one message may have taken. */
#define SCPP_WIRE_FWD_HOPS_MAX 8
/** FORWARD flag: @c cookie holds the client's cookie. */
#define SCPP_WIRE_FWD_F_COOKIE 0x01
/**
 * Extension types 1..127 must be understood by the receiver (a message with
 * one it does not know is refused); 128..255 may be skipped. Type 1 (at most
 * once) is the principal of an authenticated session (docs/SECURITY.md
 * §9.4), which the owner checks instead of the forwarder.
 */
#define SCPP_WIRE_FWD_EXT_PRINCIPAL 1
#define SCPP_WIRE_FWD_EXT_OPTIONAL 128

/**
 * A FORWARD message (kind 5, fragmented like a BLOCK): a client's request
 * as the node it was sent to received it, for the node that owns it. The
 * owner executes it under the client's key and answers the client itself.
 *
 * @verbatim
 *   0  1  version: 1
 *   1  1  inner kind: 1 BLOCK or 3 FETCH
 *   2  1  hops: forwards taken, this one included, 1..8
 *   3  1  flags: bit 0 COOKIE; others 0
 *   4  4  origin: id of the node the client sent the request to (>= 1)
 *   8  4  client IPv4 address, in network byte order (a.b.c.d as 4 bytes)
 *  12  2  client UDP port
 *  14  6  client MAC: the Ethernet source of the request (client or gateway)
 *  20  4  request bytes: the UDP payload bytes of the client's request
 *  24  2  ext_len: bytes of extensions, 0..256
 *  26  2  reserved, 0
 *  28 16  cookie: the client's (flag COOKIE), else zeros
 *  44  ext_len  extensions: (u8 type, u8 len, len bytes) ...
 *  44 + ext_len  the inner message: the BLOCK message, or the FETCH payload
 * @endverbatim
 */
struct scpp_wire_fwd {
	uint8_t inner_kind;
	uint8_t hops;
	uint8_t flags;
	uint32_t origin;
	uint32_t client_ip;     /**< network byte order */
	uint16_t client_port;   /**< host byte order */
	uint8_t client_mac[6];
	uint32_t req_bytes;
	uint16_t ext_len;
	const uint8_t *ext;     /**< ext_len bytes (decode: into the message) */
	uint8_t cookie[SCPP_WIRE_COOKIE_LEN];
	const uint8_t *msg;     /**< decode: the inner message */
	uint32_t msg_len;
};

/**
 * Decode the FORWARD header and extensions of message @p p (@p len bytes);
 * f->msg is the rest.
 *
 * @return 0, -SCPP_E_TRUNCATED (shorter than the header and its
 *   extensions), -SCPP_E_BAD_VERSION, -SCPP_E_BAD_KIND (inner kind, or an
 *   extension type below 128 this version does not know), -SCPP_E_BAD_FLAGS
 *   (reserved bits or bytes, a cookie without COOKIE, origin 0, hops 0),
 *   -SCPP_E_TOO_MANY (hops over SCPP_WIRE_FWD_HOPS_MAX, ext_len over
 *   SCPP_WIRE_FWD_EXT_MAX).
 */
int scpp_wire_fwd_decode(const uint8_t *p, size_t len, struct scpp_wire_fwd *f);

/** The first extension of type @p type in the checked extensions @p ext
 *  (f->ext, f->ext_len of a decoded message; its length in *@p len), or NULL. */
const uint8_t *scpp_wire_fwd_ext_find(const uint8_t *ext, size_t ext_len, uint8_t type,
				      uint8_t *len);

/**
 * Encode the header and extensions of @p f (not the inner message, which
 * the caller writes after them).
 *
 * @return Bytes written (SCPP_WIRE_FWD_HDR_LEN + ext_len), -ENOSPC, or
 *   -EINVAL (@p f would not decode).
 */
int scpp_wire_fwd_encode(uint8_t *buf, size_t size, const struct scpp_wire_fwd *f);

/* ---- continuations (docs/PROTOCOL.md §19) ---- */

/** Bytes of the fixed part of a CONT message (kind 6), before extensions. */
#define SCPP_WIRE_CONT_HDR_LEN 52u
/** Bytes of the fixed part of a CONT_REPLY message (kind 7). */
#define SCPP_WIRE_CONT_REPLY_HDR_LEN 16u
/** Most extension bytes a CONT message carries (as FORWARD). */
#define SCPP_WIRE_CONT_EXT_MAX SCPP_WIRE_FWD_EXT_MAX
/** Deepest a continuation may be in its block's evaluation tree. */
#define SCPP_WIRE_CONT_HOPS_MAX 8
/** Most rows one CONT message carries. */
#define SCPP_WIRE_CONT_ROWS_MAX (1u << 24)
/** Longest a sender may say it waits for the answer (ms). */
#define SCPP_WIRE_CONT_TIMEOUT_MAX 60000u
/** CONT flag: the rows' entity term is unbound; the owner runs the part
 *  over its own shard (a fan-out of an unbound entity, ⊤). */
#define SCPP_WIRE_CONT_F_EVERY 0x01
/** Extension types of a CONT are those of FORWARD (type 1: the principal),
 *  type 2, COPY_SOURCE (struct scpp_wire_copy_src), and type 3,
 *  MEMORY_WINDOW (struct scpp_wire_memwin). */
#define SCPP_WIRE_CONT_EXT_PRINCIPAL SCPP_WIRE_FWD_EXT_PRINCIPAL
#define SCPP_WIRE_CONT_EXT_COPY_SRC 2
/** Bytes of a COPY_SOURCE extension's body. */
#define SCPP_WIRE_COPY_SRC_LEN 48u
/** Most COPY_SOURCE extensions one CONT carries (50 bytes each in 256). */
#define SCPP_WIRE_COPY_SRCS_MAX (SCPP_WIRE_CONT_EXT_MAX / (2 + SCPP_WIRE_COPY_SRC_LEN))

/**
 * CONT extension type 2, COPY_SOURCE (docs/PROTOCOL.md §19.1, docs/COPY.md
 * "Remote and third-party copies"): for row @c row of the part, the source
 * bytes of its copy are @c length bytes at @c offset of window @c window,
 * pinned by the sender (the window's owner) under token @c pin. Body,
 * little-endian: u32 row, u32 reserved (0), OID window (hi, lo), u64
 * offset, u64 length, u64 pin.
 */
struct scpp_wire_copy_src {
	uint32_t row;
	struct scpp_oid window;  /**< not nil */
	uint64_t offset;
	uint64_t length;         /**< 1..2^40; offset + length does not wrap */
	uint64_t pin;
};

/**
 * Decode a COPY_SOURCE body (@p len bytes, the extension's length byte).
 * @return 0, -SCPP_E_BAD_LENGTH (len not 48, length 0 or over 2^40, a range
 *   that wraps), -SCPP_E_BAD_FLAGS (reserved bytes), -SCPP_E_BAD_VALUE_TYPE
 *   (a nil window).
 */
int scpp_wire_copy_src_decode(const uint8_t *body, size_t len, struct scpp_wire_copy_src *s);

/**
 * Encode the whole extension (type, length, body: 50 bytes) into @p buf.
 * @return 50, -ENOSPC, or -EINVAL (a field scpp_wire_copy_src_decode()
 *   would refuse).
 */
int scpp_wire_copy_src_encode(uint8_t *buf, size_t size, const struct scpp_wire_copy_src *s);

/** CONT extension type 3, MEMORY_WINDOW (struct scpp_wire_memwin). */
#define SCPP_WIRE_CONT_EXT_MEMWIN 3
/** Bytes of a MEMORY_WINDOW extension's body. */
#define SCPP_WIRE_MEMWIN_LEN 32u
/** MEMORY_WINDOW directions: the window is the copy's destination (into
 *  it) or its source (out of it). */
#define SCPP_WIRE_MEMWIN_INTO 1
#define SCPP_WIRE_MEMWIN_OUT 2

/**
 * CONT extension type 3, MEMORY_WINDOW (docs/PROTOCOL.md §19.1, docs/COPY.md
 * "Memory windows on other nodes"): for row @c row of the part, one end of
 * its copy (@c dir) is @c length bytes at @c offset of memory window
 * @c window, as the sender (the owner of the Extent the address was
 * rewritten through) resolved it. Body, little-endian: u24 row, u8
 * direction, u32 length, OID window (hi, lo), u64 offset.
 */
struct scpp_wire_memwin {
	uint32_t row;            /**< below 2^24 */
	uint8_t dir;             /**< SCPP_WIRE_MEMWIN_INTO or _OUT */
	uint32_t length;         /**< >= 1 */
	struct scpp_oid window;  /**< not nil */
	uint64_t offset;         /**< offset + length does not wrap */
};

/**
 * Decode a MEMORY_WINDOW body (@p len bytes, the extension's length byte).
 * @return 0, -SCPP_E_BAD_LENGTH (len not 32, length 0, a range that
 *   wraps), -SCPP_E_BAD_FLAGS (a direction other than 1 or 2),
 *   -SCPP_E_BAD_VALUE_TYPE (a nil window).
 */
int scpp_wire_memwin_decode(const uint8_t *body, size_t len, struct scpp_wire_memwin *m);

/**
 * Encode the whole extension (type, length, body: 34 bytes) into @p buf.
 * @return 34, -ENOSPC, or -EINVAL (a field the decoder would refuse, a row
 *   at or above 2^24).
 */
int scpp_wire_memwin_encode(uint8_t *buf, size_t size, const struct scpp_wire_memwin *m);

struct scpp_wire_cont;

/**
 * The COPY_SOURCE extensions of decoded CONT @p c (scpp_wire_cont_decode()
 * checked each and their ascending rows), in order, into @p out.
 * @return how many, -SCPP_E_BAD_VAR (a row at or past c->nrows), -ENOSPC
 *   (more than @p max).
 */
int scpp_wire_cont_copy_srcs(const struct scpp_wire_cont *c, struct scpp_wire_copy_src *out,
			     unsigned int max);

/**
 * The MEMORY_WINDOW extensions of decoded CONT @p c (each checked, rows
 * ascending, by scpp_wire_cont_decode()), in order, into @p out.
 * @return how many, -SCPP_E_BAD_VAR (a row at or past c->nrows), -ENOSPC
 *   (more than @p max).
 */
int scpp_wire_cont_memwins(const struct scpp_wire_cont *c, struct scpp_wire_memwin *out,
			   unsigned int max);

/**
 * A CONT message (kind 6, fragmented like a BLOCK): the rest of a block,
 * from command @c start, for some rows of its binding table, sent by the
 * node evaluating it to the node that owns those rows' entities. In the
 * datagram header, client_id is the sender's node id and block_id the
 * continuation id (@c cont_id), so that fragments of different
 * continuations never meet.
 *
 * @verbatim
 *   0  1  version: 1
 *   1  1  flags: bit 0 EVERY; others 0
 *   2  1  hops: depth in the evaluation tree, 1..8 (1: sent by the origin)
 *   3  1  reserved, 0
 *   4  4  origin: id of the node the client sent the block to (>= 1)
 *   8  8  cont_id: the sender's id for this continuation (!= 0)
 *  16  8  client_id: the client's
 *  24  8  block_id: the client's
 *  32  2  start: the command the continuation starts at
 *  34  2  nvars: variables of the block (1..64)
 *  36  4  nrows: rows that follow (1..2^24)
 *  40  4  block_len: bytes of the BLOCK message that follows (>= 1)
 *  44  4  timeout_ms: how long the sender waits for the answer (1..60000)
 *  48  2  ext_len: bytes of extensions, 0..256
 *  50  2  reserved, 0
 *  52  ext_len    extensions: (u8 type, u8 len, len bytes) ..., as FORWARD's
 *  52 + ext_len   the BLOCK message (block_len bytes, docs/PROTOCOL.md §7)
 *  then           nrows rows: u64 bound mask (bit v: variable v bound; no
 *                 bit at or above nvars), then the bound variables' values
 *                 in variable order (lib/value encoding); nothing after
 * @endverbatim
 */
struct scpp_wire_cont {
	uint8_t flags;
	uint8_t hops;
	uint32_t origin;
	uint64_t cont_id;
	uint64_t client_id;
	uint64_t block_id;
	uint16_t start;
	uint16_t nvars;
	uint32_t nrows;
	uint32_t block_len;
	uint32_t timeout_ms;
	uint16_t ext_len;
	const uint8_t *ext;     /**< ext_len bytes (decode: into the message) */
	const uint8_t *block;   /**< decode: the BLOCK message */
	const uint8_t *rows;    /**< decode: the rows (scpp_wire_cont_rows_init()) */
	size_t rows_len;
};

/**
 * Decode a CONT message's header and extensions, and find its block and
 * rows (which are not decoded: scpp_wire_block_decode() and
 * scpp_wire_cont_row_next() do that).
 *
 * @return 0, -SCPP_E_TRUNCATED (shorter than the header, extensions and
 *   block, or no byte left for the rows), -SCPP_E_BAD_VERSION,
 *   -SCPP_E_BAD_KIND (an extension type below 128 this version does not
 *   know), -SCPP_E_BAD_FLAGS (reserved bits or bytes, origin 0, cont_id 0,
 *   hops 0), -SCPP_E_TOO_MANY (hops, nvars, nrows, timeout_ms, ext_len
 *   over their maxima), -SCPP_E_BAD_LENGTH (nvars, nrows, block_len or
 *   timeout_ms 0).
 */
int scpp_wire_cont_decode(const uint8_t *p, size_t len, struct scpp_wire_cont *c);

/**
 * Encode the header and extensions of @p c (block_len and nrows as given;
 * the caller writes the block and the rows after them).
 *
 * @return Bytes written (SCPP_WIRE_CONT_HDR_LEN + ext_len), -ENOSPC, or
 *   -EINVAL (@p c would not decode).
 */
int scpp_wire_cont_encode(uint8_t *buf, size_t size, const struct scpp_wire_cont *c);

/** Reader over the rows of a decoded CONT message. */
struct scpp_wire_cont_rows {
	const uint8_t *p;
	size_t len;
	size_t off;       /**< bytes consumed by complete rows */
	uint32_t left;    /**< rows not read yet */
	uint16_t nvars;
};

/** Start reading the rows of @p c. */
void scpp_wire_cont_rows_init(struct scpp_wire_cont_rows *it, const struct scpp_wire_cont *c);

/**
 * The next row: its bound mask and, for each bound variable v, its value in
 * @p v[v] (str and bytes point into the message; unbound entries are left
 * as they were).
 *
 * @return 1 (a row), 0 (every row read and no byte left), or an error:
 *   -SCPP_E_TRUNCATED, -SCPP_E_BAD_FLAGS (a mask bit at or above nvars),
 *   -SCPP_E_TRAILING (bytes after the last row), or a value decoding error
 *   of scpp_value_decode(). Errors repeat if called again.
 */
int scpp_wire_cont_row_next(struct scpp_wire_cont_rows *it, uint64_t *bound,
			    struct scpp_value v[SCPP_WIRE_VARS_MAX]);

/** Bytes scpp_wire_cont_row_encode() writes for this row. */
size_t scpp_wire_cont_row_size(uint16_t nvars, uint64_t bound, const struct scpp_value *v);

/**
 * Encode one row of @p nvars variables (@p v indexed by variable; only the
 * bound ones are read).
 *
 * @return Bytes written, -ENOSPC, or -EINVAL (a mask bit at or above
 *   @p nvars, nvars over SCPP_WIRE_VARS_MAX, an unknown value type).
 */
int scpp_wire_cont_row_encode(uint8_t *buf, size_t size, uint16_t nvars, uint64_t bound,
			      const struct scpp_value *v);

/** CONT_REPLY flag: rest groups follow the header (docs/PROTOCOL.md §19.2). */
#define SCPP_WIRE_CONT_REPLY_F_REST 0x01
/** Most rest groups one CONT_REPLY carries. */
#define SCPP_WIRE_CONT_REST_MAX 64u
/** Bytes of a rest group's fixed part, before its rows. */
#define SCPP_WIRE_CONT_REST_HDR_LEN 20u

/**
 * A CONT_REPLY message (kind 7, fragmented like a BLOCK, sent back to the
 * sender of the CONT with the CONT's datagram client_id and block_id): the
 * reply records of the part (COLUMNS, ROW and STATUS records, END), as a
 * block's reply (docs/PROTOCOL.md §10), after any **rest groups**: rows
 * the owner could not finish because, from some command on, their entity
 * lives on another shard; the node that sent the CONT ships each group on.
 *
 * @verbatim
 *   0  1  version: 1
 *   1  1  flags: bit 0 REST (rest groups follow); others 0
 *   2  2  nrest: rest groups, 1..64 with REST, else 0
 *   4  4  owner: id of the node that ran the part (>= 1)
 *   8  8  cont_id: the CONT's
 *  16     nrest rest groups, each:
 *           0  2  start: the command the rows go on from
 *           2  2  reserved, 0
 *           4  4  nrows: rows in the group, 1..2^24
 *           8  8  shard: the high half of the OIDs of the shard that must
 *                 run them (locale << 48 | node << 16 | shard; node >= 1)
 *          16  4  rows_len: bytes of the rows (>= 8 x nrows)
 *          20     the rows, in the CONT row format (not checked here)
 *  then   the reply records (not checked by the decoder)
 * @endverbatim
 */
struct scpp_wire_cont_reply {
	uint8_t flags;          /**< SCPP_WIRE_CONT_REPLY_F_REST or 0 */
	uint16_t nrest;         /**< rest groups (0 without REST) */
	uint32_t owner;
	uint64_t cont_id;
	const uint8_t *rest;    /**< decode: the first rest group (NULL: none) */
	size_t rest_len;        /**< decode: bytes of every rest group */
	const uint8_t *records; /**< decode: the records */
	size_t records_len;
};

/** One rest group of a CONT_REPLY. */
struct scpp_wire_cont_rest {
	uint16_t start;
	uint32_t nrows;
	uint64_t shard;         /**< high half of the owning shard's OIDs */
	uint32_t rows_len;
	const uint8_t *rows;    /**< decode: into the message */
};

/**
 * Decode a CONT_REPLY header and find its rest groups (each header checked)
 * and records.
 *
 * @return 0, -SCPP_E_TRUNCATED (shorter than the header and its rest
 *   groups), -SCPP_E_BAD_VERSION, -SCPP_E_BAD_FLAGS (reserved bits or
 *   bytes, owner 0, cont_id 0, nrest 0 with REST or not 0 without it, a
 *   group's node 0), -SCPP_E_TOO_MANY (nrest over 64, a group's nrows over
 *   2^24), -SCPP_E_BAD_LENGTH (a group's nrows 0, rows_len below 8 x nrows).
 */
int scpp_wire_cont_reply_decode(const uint8_t *p, size_t len, struct scpp_wire_cont_reply *r);

/**
 * Encode a CONT_REPLY header (the caller writes the rest groups, then the
 * records, after it).
 *
 * @return SCPP_WIRE_CONT_REPLY_HDR_LEN, -ENOSPC, or -EINVAL (owner or
 *   cont_id 0, flags and nrest not as the decoder accepts).
 */
int scpp_wire_cont_reply_encode(uint8_t *buf, size_t size, const struct scpp_wire_cont_reply *r);

/**
 * The rest group at @p *off of decoded reply @p r's rest groups: filled
 * into @p g, *@p off moved past it.
 *
 * @return 1 (a group), 0 (none left), or -EINVAL (@p *off not a group
 *   boundary of a reply the decoder accepted).
 */
int scpp_wire_cont_rest_next(const struct scpp_wire_cont_reply *r, size_t *off,
			     struct scpp_wire_cont_rest *g);

/**
 * Encode the fixed part of rest group @p g (the caller writes its
 * rows_len bytes of rows after it).
 *
 * @return SCPP_WIRE_CONT_REST_HDR_LEN, -ENOSPC, or -EINVAL (@p g would not decode).
 */
int scpp_wire_cont_rest_encode(uint8_t *buf, size_t size, const struct scpp_wire_cont_rest *g);

/** NOTICE codes. */
enum scpp_wire_notice_code {
	SCPP_NOTICE_COOKIE = 1,     /**< prove your address: resend with this cookie */
	SCPP_NOTICE_REPLY_LOST = 2, /**< executed; the reply is no longer held */
	SCPP_NOTICE_STALE = 3,      /**< block id below the replay window: refused */
	SCPP_NOTICE_BUSY = 4,       /**< no room for this client's state: refused */
	SCPP_NOTICE_NO_REPLY = 5,   /**< FETCH: no reply and no record of this block */
	SCPP_NOTICE_COUNT
};

/**
 * NOTICE payload: 12 bytes, plus the cookie for SCPP_NOTICE_COOKIE.
 *
 * @verbatim
 *   0  1  code (enum scpp_wire_notice_code)
 *   1  1  reserved, 0
 *   2  2  retry_ms: BUSY: suggested wait before retrying; else 0
 *   4  4  reply_bytes: COOKIE: bytes of the reply the node holds (0: none)
 *   8  4  reply_dgrams: COOKIE: datagrams that reply takes (0: none)
 *  12 16  cookie (COOKIE only)
 * @endverbatim
 */
struct scpp_wire_notice {
	uint8_t code;
	uint16_t retry_ms;
	uint32_t reply_bytes;
	uint32_t reply_dgrams;
	uint8_t cookie[SCPP_WIRE_COOKIE_LEN];
};

/** Payload bytes of a NOTICE without and with a cookie. */
#define SCPP_WIRE_NOTICE_LEN 12u
#define SCPP_WIRE_NOTICE_COOKIE_LEN (SCPP_WIRE_NOTICE_LEN + SCPP_WIRE_COOKIE_LEN)

/**
 * Decode a NOTICE payload.
 *
 * @return 0, -SCPP_E_TRUNCATED, -SCPP_E_TRAILING, -SCPP_E_BAD_KIND (unknown
 *   code), -SCPP_E_BAD_FLAGS (reserved byte, or a field its code does not
 *   use, not zero).
 */
int scpp_wire_notice_decode(const uint8_t *p, size_t len, struct scpp_wire_notice *n);

/**
 * Encode a NOTICE payload (the cookie only for SCPP_NOTICE_COOKIE).
 *
 * @return Bytes written, -ENOSPC, or -EINVAL (@p n would not decode).
 */
int scpp_wire_notice_encode(uint8_t *buf, size_t size, const struct scpp_wire_notice *n);

/* ---- blocks ---- */

/** Reset @p b to an empty block (no variables, commands or terms). */
void scpp_wire_block_init(struct scpp_wire_block *b);

/**
 * Declare a variable. @p name (may be NULL/empty) is borrowed.
 *
 * @return The variable index, -SCPP_E_TOO_MANY, -SCPP_E_BAD_UTF8, or -EINVAL
 *   (name too long, or NULL with a non-zero length).
 */
int scpp_wire_block_var(struct scpp_wire_block *b, const char *name, uint16_t len);

/** Add a returned variable. @return 0, -SCPP_E_BAD_VAR, or -EEXIST if already returned. */
int scpp_wire_block_ret(struct scpp_wire_block *b, unsigned int var);

/**
 * Add a constant term. Value memory is borrowed.
 *
 * @return Its index, -SCPP_E_TOO_MANY, -SCPP_E_BAD_VALUE_TYPE (unknown type),
 *   -SCPP_E_BAD_UTF8 (a string that is not UTF-8), or -EINVAL (@p v NULL).
 */
int scpp_wire_term_const(struct scpp_wire_block *b, const struct scpp_value *v);
/** Add a variable term; @return its index, -SCPP_E_BAD_VAR or -SCPP_E_TOO_MANY. */
int scpp_wire_term_var(struct scpp_wire_block *b, unsigned int var);
/**
 * Term constructors for composite terms take the indexes of existing terms
 * (so a negative error from an earlier call is rejected as -SCPP_E_BAD_TERM)
 * and check them against the position rules of enum scpp_wire_pos: KEY parts
 * are CONST/VAR, VALUE takes an ENT and an ATTR term, OFFSET an ADDR and a
 * VAL term. A term may be used more than once; it is encoded once per use.
 */
/** Add `attr[key]`; @return its index, -SCPP_E_BAD_TERM or -SCPP_E_TOO_MANY. */
int scpp_wire_term_key(struct scpp_wire_block *b, int attr, int key);
/** Add `value(e, a)`; @return its index, -SCPP_E_BAD_TERM or -SCPP_E_TOO_MANY. */
int scpp_wire_term_value(struct scpp_wire_block *b, int ent, int attr);
/**
 * Add `offset(addr, n)`. A VALUE address has depth 1 and each OFFSET adds 1;
 * depth over SCPP_WIRE_NEST_MAX is -SCPP_E_NESTING.
 *
 * @return Its index, -SCPP_E_BAD_TERM, -SCPP_E_NESTING or -SCPP_E_TOO_MANY.
 */
int scpp_wire_term_offset(struct scpp_wire_block *b, int addr, int count);
/**
 * Add an expression node `op(x, y, z)`; operands beyond the operator's
 * arity are ignored (pass -1). Each operand must fit the position the
 * operator names for it (enum scpp_wire_pos: an address for READ's first,
 * an expression for the others), and the expression may not nest deeper
 * than SCPP_WIRE_EXPR_DEPTH_MAX (an operator is one level; constants and
 * variables add none).
 *
 * @return Its index, -SCPP_E_BAD_TERM (unknown operator, or an operand
 *   that does not fit), -SCPP_E_NESTING or -SCPP_E_TOO_MANY.
 */
int scpp_wire_term_op(struct scpp_wire_block *b, unsigned int op, int x, int y, int z);

/**
 * Append a command over existing terms (t1 and t2 ignored beyond the
 * opcode's term count;
 * @p status_var < 0 for none). Checks every position admits its term.
 *
 * @return The command index, -SCPP_E_BAD_OPCODE, -SCPP_E_BAD_TERM,
 *   -SCPP_E_BAD_VAR or -SCPP_E_TOO_MANY (too many commands, or the block
 *   would encode more than SCPP_WIRE_TERMS_MAX terms: shared terms count
 *   once per use).
 */
int scpp_wire_block_cmd(struct scpp_wire_block *b, unsigned int op, int t0, int t1,
			int t2, int status_var);

/**
 * Give command @p cmd a guard: the expression term @p expr, evaluated per
 * row before the command runs (docs/PROTOCOL.md §15 "Guards").
 *
 * @return 0, -EINVAL (no such command, or it has a guard already),
 *   -SCPP_E_BAD_TERM (@p expr is not an expression term) or
 *   -SCPP_E_TOO_MANY (the block would encode more than
 *   SCPP_WIRE_TERMS_MAX terms).
 */
int scpp_wire_block_guard(struct scpp_wire_block *b, unsigned int cmd, int expr);

/** Bytes scpp_wire_block_encode() will write. */
size_t scpp_wire_block_encoded_size(const struct scpp_wire_block *b);

/**
 * Encode a block message (the payload of a BLOCK message, before fragmenting).
 *
 * @return Bytes written, or -ENOSPC.
 */
int scpp_wire_block_encode(const struct scpp_wire_block *b, uint8_t *buf, size_t size);

/**
 * Decode a block message. Every index, count, tag, position and nesting
 * depth is checked; string constants and names are UTF-8-checked.
 *
 * @param b
 *   Output; its contents are unspecified after an error.
 * @param err_off
 *   If not NULL, set on error to the offset of the first byte of the field
 *   that failed (varint, name, value, term tag, opcode or flags byte);
 *   untouched on success.
 * @return 0, or a negative code: -SCPP_E_TRUNCATED, -SCPP_E_BAD_FLAGS,
 *   -SCPP_E_TOO_MANY, -SCPP_E_BAD_VAR, -SCPP_E_BAD_OPCODE, -SCPP_E_BAD_TERM,
 *   -SCPP_E_NESTING, -SCPP_E_BAD_VARINT, -SCPP_E_BAD_VALUE_TYPE,
 *   -SCPP_E_BAD_UTF8, -SCPP_E_BAD_LENGTH, -SCPP_E_TRAILING, -EEXIST
 *   (a variable returned twice), -EINVAL (bad bool byte, name too long).
 *   Every proper prefix of a valid block gives -SCPP_E_TRUNCATED.
 */
int scpp_wire_block_decode(const uint8_t *buf, size_t len, struct scpp_wire_block *b,
			   uint32_t *err_off);

/**
 * Incremental block decoding: the head (flags, variables, returns, command
 * count) first, then one command per call, with exactly the checks and
 * error codes of scpp_wire_block_decode(). A router decodes only as far as
 * the command that names the block's owner; the owner then decodes the
 * block once, whole.
 */
struct scpp_wire_block_cursor {
	const uint8_t *buf;
	size_t len;
	size_t off;       /**< bytes consumed */
	uint16_t ncmds;   /**< commands the block declares */
};

/**
 * Start decoding @p buf into @p b: decodes the head and leaves b->ncmds at 0.
 *
 * @return 0, or an error of scpp_wire_block_decode() (with @p err_off).
 */
int scpp_wire_block_decode_begin(struct scpp_wire_block_cursor *c, const uint8_t *buf,
				 size_t len, struct scpp_wire_block *b, uint32_t *err_off);

/**
 * Decode the next command into b->cmd[b->ncmds].
 *
 * @return 1: one more command decoded (b->ncmds grew by one); 0: the block
 *   is complete (every command decoded, no trailing bytes); or an error of
 *   scpp_wire_block_decode() (with @p err_off).
 */
int scpp_wire_block_decode_next(struct scpp_wire_block_cursor *c, struct scpp_wire_block *b,
				uint32_t *err_off);

/**
 * Decode every command not decoded yet, in one call: the same as calling
 * scpp_wire_block_decode_next() until it returns 0 or an error.
 *
 * @return 0: the block is complete; or an error of scpp_wire_block_decode()
 *   (with @p err_off).
 */
int scpp_wire_block_decode_rest(struct scpp_wire_block_cursor *c, struct scpp_wire_block *b,
				uint32_t *err_off);

/**
 * The owner rule (docs/PROTOCOL.md §17) for one decoded command: the first
 * constant OID that is not well-known (scpp_oid_is_well_known()) in an
 * entity position of command @p cmd, in term order. Entity positions are
 * the ENT terms, and the entity of the VALUE term at the bottom of an
 * address (through any OFFSETs).
 *
 * @return true and @p owner set, or false (the command names no owner).
 */
bool scpp_wire_cmd_owner(const struct scpp_wire_block *b, unsigned int cmd,
			 struct scpp_oid *owner);

/**
 * The owner of a decoded block: the owner of its first command that has one.
 *
 * @return true and @p owner set, or false (no command names an owner).
 */
bool scpp_wire_block_owner(const struct scpp_wire_block *b, struct scpp_oid *owner);

/** Opcodes that change nothing: get, let, where, assert (bit = opcode). */
#define SCPP_WIRE_READ_OPS                                                             \
	((1u << SCPP_OP_GET) | (1u << SCPP_OP_LET) | (1u << SCPP_OP_WHERE) |            \
	 (1u << SCPP_OP_ASSERT))

/**
 * Is @p b read-only: every command a get, let, where or assert (none of
 * set, copy, create, alloc, del, write, resize; a block of no commands is
 * read-only)? Such a block changes no state of the node when it runs, so
 * running it again is safe (docs/PROTOCOL.md §16.2, "Read-only blocks").
 * The decoder's get run (commands that are all gets) is taken without a
 * look; the rest of the commands one opcode each.
 */
static inline bool
scpp_wire_block_read_only(const struct scpp_wire_block *b)
{
	for (unsigned int i = b->get_run; i < b->ncmds; i++)
		if (!((SCPP_WIRE_READ_OPS >> b->cmd[i].op) & 1u))
			return false;
	return true;
}

/**
 * Continue an incremental decode until a command names the owner. A
 * leading run of keyed gets (see get_run in struct scpp_wire_block) is
 * decoded whole, in one pass, when the decode starts with it; the owner is
 * then the first of its entities that is one.
 *
 * @return 1: @p owner set, the commands up to and including that one (and,
 *   within a leading get run, the rest of the run) are decoded and the
 *   cursor can go on; 0: the whole block decoded and no command names an
 *   owner; or an error of scpp_wire_block_decode().
 */
int scpp_wire_block_decode_owner(struct scpp_wire_block_cursor *c, struct scpp_wire_block *b,
				 struct scpp_oid *owner, uint32_t *err_off);

/**
 * Allow (the default) or forbid the codecs' fast paths: the block
 * decoder's (inline decoding of the common command shape, names and
 * constants), the datagram header decoder's (the common request header)
 * and the datagram encoder's (the tagless REPLY header). Decoding gives the
 * same blocks, headers, errors and offsets either way, and encoding the
 * same bytes; tests turn them off to compare. Process-wide: call it before
 * decoding starts, not while other threads decode.
 */
void scpp_wire_decode_fast(bool on);

/** Compare two blocks structurally (names, terms and values by value). */
bool scpp_wire_block_equal(const struct scpp_wire_block *a, const struct scpp_wire_block *b);

/* ---- replies ---- */

enum scpp_wire_record_type {
	SCPP_REC_COLUMNS = 0x10,
	SCPP_REC_ROW = 0x11,
	SCPP_REC_STATUS = 0x12,
	SCPP_REC_END = 0x13,
	SCPP_REC_COPY = 0x14, /**< a copy command's result (SCPP_WIRE_BF_COPY_RESULTS) */
};

/** What one copy command copied (a COPY record, docs/PROTOCOL.md §10). */
struct scpp_wire_copy_result {
	uint16_t cmd;          /**< the copy command's index in the block */
	uint64_t copies;       /**< rows whose copy completed: every byte in place */
	uint64_t bytes;        /**< bytes those copies moved */
	uint64_t offloaded;    /**< of those copies, the ones a copy engine moved */
	struct scpp_wire_name engine; /**< that engine's name; empty if offloaded is 0 */
	uint64_t elapsed_ns;   /**< from the command's start to its last copy's completion */
};

/** Outcome of a block, in the END record. */
enum scpp_wire_outcome {
	SCPP_OUTCOME_OK = 0,      /**< every command succeeded */
	SCPP_OUTCOME_ERRORS = 1,  /**< errors were collected in status variables */
	SCPP_OUTCOME_ABORTED = 2, /**< a command without status failed; nothing applied */
	SCPP_OUTCOME_COUNT
};

/** One decoded reply record; pointers borrow the input. */
struct scpp_wire_record {
	uint8_t type; /**< enum scpp_wire_record_type */
	union {
		struct {
			uint16_t n;
			struct scpp_wire_name name[SCPP_WIRE_VARS_MAX];
		} columns;
		struct {
			uint16_t n;
			struct scpp_value v[SCPP_WIRE_VARS_MAX];
		} row;
		struct {
			struct scpp_oid oid;
			uint16_t n;
			struct scpp_wire_name key[SCPP_WIRE_FIELDS_MAX];
			struct scpp_value v[SCPP_WIRE_FIELDS_MAX];
		} status;
		struct {
			uint32_t err;      /**< canonical errno number, 0 = success */
			uint8_t outcome;   /**< enum scpp_wire_outcome */
			uint64_t rows;
			uint64_t commands;
			uint64_t elapsed_ns;
			uint64_t statuses; /**< statuses the evaluation produced; more
					    *   than the STATUS records sent means
					    *   some were left out (max_statuses) */
		} end;
		struct scpp_wire_copy_result copy;
	};
};

/**
 * Incremental reply decoder over a contiguous byte buffer (the message
 * bytes received so far, in order).
 */
struct scpp_wire_reply_reader {
	const uint8_t *buf;
	size_t len;       /**< bytes available */
	size_t off;       /**< bytes consumed by complete records */
	uint16_t ncols;   /**< from COLUMNS; rows must match */
	uint8_t state;    /**< 0 expect COLUMNS, 1 body, 2 after END */
};

void scpp_wire_reply_reader_init(struct scpp_wire_reply_reader *r, const uint8_t *buf,
				 size_t len);

/**
 * Tell the reader more bytes arrived: the buffer now holds @p len bytes at
 * @p buf (it may have moved). The first r->off bytes must be the same bytes
 * as before and @p len >= r->off (checked: aborts otherwise).
 */
void scpp_wire_reply_reader_feed(struct scpp_wire_reply_reader *r, const uint8_t *buf,
				 size_t len);

/**
 * Decode the next complete record.
 *
 * @return 1 when @p rec holds a record (the reader advanced), 0 after END
 *   (no more records), -SCPP_E_TRUNCATED when the next record is not complete
 *   yet (feed more bytes and call again; nothing was consumed), or an error:
 *   -SCPP_E_BAD_RECORD (unknown tag, or records out of order), -SCPP_E_TOO_MANY,
 *   -SCPP_E_BAD_VARINT (also: END errno over 32 bits), -SCPP_E_BAD_VALUE_TYPE,
 *   -SCPP_E_BAD_UTF8, -SCPP_E_BAD_LENGTH (a string over 4 GiB), -EINVAL (bad
 *   outcome byte, bad bool byte, name too long, a COPY command index
 *   >= SCPP_WIRE_CMDS_MAX or offloaded > copies), -SCPP_E_TRAILING (bytes
 *   after END). Errors consume nothing and repeat if called again; r->off is
 *   the offset of the offending record.
 */
int scpp_wire_reply_next(struct scpp_wire_reply_reader *r, struct scpp_wire_record *rec);

/**
 * Reply writer: encodes records into caller-provided memory. The server
 * cuts the output into datagrams itself (any byte boundary is fine).
 */
struct scpp_wire_reply_writer {
	uint8_t *buf;
	size_t size;
	size_t len;       /**< bytes written; the caller may send buf[0..len)
			       and reset len to 0 to reuse the buffer */
	uint16_t ncols;   /**< from COLUMNS; each row carries this many values */
	uint8_t state;    /**< 0 expect COLUMNS, 1 body, 2 after END */
	uint32_t nstatus; /**< STATUS records written */
};

void scpp_wire_reply_writer_init(struct scpp_wire_reply_writer *w, uint8_t *buf, size_t size);

/**
 * Append one record. The writer enforces what the reader checks: record
 * order (COLUMNS, then ROW/STATUS, then END), counts within the maxima,
 * names of at most SCPP_WIRE_NAME_MAX bytes of UTF-8, known value types and
 * outcomes. String values are not UTF-8-checked here (they come from the
 * store, which validated them on the way in).
 *
 * @return 0, -ENOSPC (the record does not fit in the space left; nothing
 *   written), or -EINVAL (out of order, a count over its maximum, a bad
 *   name, value type or outcome; nothing written). Same for the functions
 *   below.
 */
int scpp_wire_reply_columns(struct scpp_wire_reply_writer *w, const struct scpp_wire_name *names,
			    uint16_t n);
/**
 * COLUMNS naming block @p b's returned variables, in order: the same bytes
 * as scpp_wire_reply_columns() with those names (and the same errors), in
 * one copy when @p b was decoded and returns every variable in order.
 */
int scpp_wire_reply_columns_block(struct scpp_wire_reply_writer *w,
				  const struct scpp_wire_block *b);
int scpp_wire_reply_row(struct scpp_wire_reply_writer *w, const struct scpp_value *v);
int scpp_wire_reply_status(struct scpp_wire_reply_writer *w, struct scpp_oid oid,
			   const struct scpp_wire_name *keys, const struct scpp_value *vals,
			   uint16_t n);
/** A COPY record (-EINVAL also for cmd >= SCPP_WIRE_CMDS_MAX or
 *  offloaded > copies). */
int scpp_wire_reply_copy(struct scpp_wire_reply_writer *w, const struct scpp_wire_copy_result *c);
/**
 * END with an explicit status count (the statuses the evaluation produced,
 * which may exceed the STATUS records written when some were left out).
 * scpp_wire_reply_end() writes the number of STATUS records written.
 */
int scpp_wire_reply_end_ex(struct scpp_wire_reply_writer *w, uint32_t err, uint8_t outcome,
			   uint64_t rows, uint64_t commands, uint64_t elapsed_ns,
			   uint64_t statuses);
int scpp_wire_reply_end(struct scpp_wire_reply_writer *w, uint32_t err, uint8_t outcome,
			uint64_t rows, uint64_t commands, uint64_t elapsed_ns);

#endif /* SCPP_WIRE_H */
