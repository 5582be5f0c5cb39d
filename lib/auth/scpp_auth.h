/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef SCPP_AUTH_H
#define SCPP_AUTH_H

/**
 * @file
 * Authority: principals, delegated grants, sessions with per-datagram MACs.
 *
 * docs/SECURITY.md is the normative specification (threat model, every
 * format byte for byte, every rejection); this header is its C binding.
 *
 * Model
 * -----
 * - A **principal** is an Ed25519 key pair (struct scpp_auth_keypair); its
 *   public key is its identity. Key files: scpp_auth_key_save() and friends.
 * - A **grant** (struct scpp_auth_grant) says that a *subject* key may
 *   perform a set of *operations* (SCPP_AUTH_OP_*) on the *attributes* (a
 *   list of names, or all) of every entity in a *scope* (an OID prefix;
 *   length 128 names one entity) until an *expiry*, with at most *depth*
 *   further levels of delegation below it. It is signed by its *issuer*
 *   over a canonical encoding; decode then encode gives the same bytes.
 * - A **chain** (struct scpp_auth_chain) is a list of grants, root first.
 *   It is valid for a principal when link 0 is issued by a configured root
 *   of trust, every later link is issued by the previous link's subject,
 *   every link is within its parent (scope, attributes, operations, expiry
 *   and depth only narrow), none is expired or revoked, every signature
 *   verifies, and the last subject is the principal. An empty chain is
 *   valid only for a principal that is itself a root, and gives it every
 *   right. Revocations are signed entries held in a struct scpp_auth_revset.
 * - Verifying chains once yields a compiled **authority**
 *   (struct scpp_auth_authority): an immutable per-session table that a
 *   worker queries per command with scpp_auth_check() in tens of ns, and
 *   per scan with scpp_auth_cover().
 * - A **session** is opened by a handshake (HELLO, CHALLENGE, FINISH,
 *   ACCEPT or REJECT; datagram kinds 8..12): the client proves possession of
 *   its key by signing the transcript, presents its chains, and both sides
 *   derive keys from an X25519 exchange with the node's signed epoch key.
 *   The client side is struct scpp_auth_initiator; the node side is struct
 *   scpp_auth_responder (control thread), which yields struct
 *   scpp_auth_session_params to install into every worker's struct
 *   scpp_auth_table.
 * - Every session datagram carries header flag SCPP_AUTH_F_SESSION, its
 *   session id as client_id, and a 24-byte tag: lane (u16), counter (u48),
 *   then a 16-byte MAC (AES-256-GMAC or ChaCha20-Poly1305, negotiated) over
 *   the header, the payload and the first 8 tag bytes. The counter is fresh
 *   for every datagram *sent*, retransmissions included, and is checked
 *   against a per-(session, lane) anti-replay window; a lane is one worker.
 *   So a retransmitted block passes the window (new counter) and reaches
 *   the reply cache, while a replayed datagram (old counter) is dropped
 *   before anything decodes it.
 *
 * Threading
 * ---------
 * - Keys, grants, chains, revocations: plain functions, any thread.
 * - struct scpp_auth_revset, struct scpp_auth_responder: one thread (the
 *   control thread); not safe for concurrent use.
 * - struct scpp_auth_authority: immutable after compilation; any number of
 *   threads may call scpp_auth_check() on it concurrently. Its owner frees
 *   it only after every worker that referenced it has let go (RCU).
 * - struct scpp_auth_table: owned by one worker lcore, like its store shard;
 *   every call on it comes from that lcore (or from the control thread
 *   before the worker starts), so the worker path takes no lock and uses no
 *   atomic read-modify-write. The control thread hands sessions to a worker
 *   through the application's SPSC ring (install and close in one FIFO).
 *   scpp_auth_table_stats_get() may be called from any thread (relaxed).
 * - struct scpp_auth_initiator, struct scpp_auth_client_session: one
 *   thread at a time (the client library serialises per session).
 *
 * Nothing here blocks except the key file functions (file I/O). Nothing on
 * the worker path allocates (scpp_auth_verify(), scpp_auth_seal(),
 * scpp_auth_check*(), scpp_auth_cover()).
 *
 * Errors
 * ------
 * Integer functions return 0 (or a byte count) or a negative code: an
 * errno, a wire code of enum scpp_error (scpp_common.h; e.g.
 * -SCPP_E_TRUNCATED), or an auth code of enum scpp_auth_error below. Every
 * call lists its codes. scpp_auth_strerror() and scpp_auth_error_name()
 * name all three kinds; scpp_auth_errno() maps each to the canonical errno
 * a status object carries (docs/SECURITY.md, "Rejections").
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scpp_common.h"
#include "scpp_oid.h"

/* ------------------------------------------------------------- constants */

#define SCPP_AUTH_KEY_LEN 32   /**< Ed25519 public key, X25519 key, seed */
#define SCPP_AUTH_SIG_LEN 64   /**< Ed25519 signature */
#define SCPP_AUTH_ID_LEN 32    /**< grant id (BLAKE2b-256) */
#define SCPP_AUTH_MAC_LEN 16   /**< MAC bytes at the end of a session tag */
#define SCPP_AUTH_TAG_LEN 24   /**< session tag: lane 2 + counter 6 + MAC 16 */

/** Most attribute names in one grant (0 encodes "all attributes"). */
#define SCPP_AUTH_ATTRS_MAX 32
/** Longest attribute name in a grant, bytes (UTF-8, at least 1). */
#define SCPP_AUTH_ATTR_NAME_MAX 64
/** Most links in one chain; also bounds a grant's depth (< this). */
#define SCPP_AUTH_CHAIN_MAX 8
/** Most chains one session presents. */
#define SCPP_AUTH_CHAINS_MAX 8
/** Most links over all chains of one handshake (bounds its signature work). */
#define SCPP_AUTH_LINKS_MAX 16
/** Most roots of trust a node configures. */
#define SCPP_AUTH_ROOTS_MAX 16
/** Most lanes (workers) of a node. */
#define SCPP_AUTH_LANES_MAX 128
/** Most session slots of a table (a session id holds the slot in 24 bits). */
#define SCPP_AUTH_SLOTS_MAX (UINT32_C(1) << 24)

/** Bytes of a grant before its attribute names. */
#define SCPP_AUTH_GRANT_FIXED 97
/** Largest encoded grant: fixed part, 32 names of 64 bytes, signature. */
#define SCPP_AUTH_GRANT_MAX \
	(SCPP_AUTH_GRANT_FIXED + SCPP_AUTH_ATTRS_MAX * (1 + SCPP_AUTH_ATTR_NAME_MAX) + SCPP_AUTH_SIG_LEN)
/** Bytes of a chain before its grants. */
#define SCPP_AUTH_CHAIN_HDR 4
/** Largest encoded chain. */
#define SCPP_AUTH_CHAIN_BYTES_MAX (SCPP_AUTH_CHAIN_HDR + SCPP_AUTH_CHAIN_MAX * SCPP_AUTH_GRANT_MAX)
/** Encoded revocation entry. */
#define SCPP_AUTH_REVOCATION_LEN 148

/** Anti-replay window: bits of the ring; counters this far back (minus one
 *  word) behind the highest accepted one are still accepted once. */
#define SCPP_AUTH_WINDOW_BITS 2048
/** Oldest counter accepted is highest - SCPP_AUTH_WINDOW. */
#define SCPP_AUTH_WINDOW (SCPP_AUTH_WINDOW_BITS - 64)
/** Largest counter (48 bits); a sender stops before it (re-handshake). */
#define SCPP_AUTH_COUNTER_MAX ((UINT64_C(1) << 48) - 1)

/** Datagram header flag (bit 5): the datagram is a session datagram. */
#define SCPP_AUTH_F_SESSION 0x20
/** Header flag bits 6..7 are reserved for authentication and must be 0. */
#define SCPP_AUTH_F_RESERVED 0xc0

/** Datagram kinds of the session layer (8..15 are reserved for it). */
enum scpp_auth_kind {
	SCPP_AUTH_KIND_HELLO = 8,      /**< client -> node: offer, ephemeral key */
	SCPP_AUTH_KIND_CHALLENGE = 9,  /**< node -> client: epoch key, cookie */
	SCPP_AUTH_KIND_FINISH = 10,    /**< client -> node: principal, chains, signature */
	SCPP_AUTH_KIND_ACCEPT = 11,    /**< node -> client: session id, confirmation */
	SCPP_AUTH_KIND_REJECT = 12,    /**< node -> client: why the handshake failed */
	SCPP_AUTH_KIND_CLOSE = 13,     /**< either way, a session datagram: close it */
	SCPP_AUTH_KIND_IDENTITY = 14,  /**< node -> node: a carried identity (SECURITY.md §9.4) */
};

/** HELLO payload bytes (fixed; padded so the CHALLENGE is never larger). */
#define SCPP_AUTH_HELLO_LEN 256
#define SCPP_AUTH_CHALLENGE_LEN 172
#define SCPP_AUTH_FINISH_FIXED 102 /**< FINISH bytes before the chains */
#define SCPP_AUTH_ACCEPT_LEN 72
#define SCPP_AUTH_REJECT_LEN 20
#define SCPP_AUTH_CLOSE_LEN 8
/** Largest FINISH message (payload, reassembled from its datagrams). */
#define SCPP_AUTH_FINISH_MAX 16384
/** Most datagrams one FINISH message is cut into. */
#define SCPP_AUTH_FINISH_FRAGS_MAX 16

/** Operations (bit set). A grant holds a non-empty subset of SCPP_AUTH_OP_ALL. */
enum scpp_auth_op {
	SCPP_AUTH_OP_GET = 1 << 0,    /**< read: get, the source of a copy */
	SCPP_AUTH_OP_SET = 1 << 1,    /**< write a value */
	SCPP_AUTH_OP_COPY = 1 << 2,   /**< write by byte-range copy (destination) */
	SCPP_AUTH_OP_CREATE = 1 << 3, /**< create an entity in the scope */
	SCPP_AUTH_OP_ALLOC = 1 << 4,  /**< allocate a byte string */
	SCPP_AUTH_OP_DEL = 1 << 5,    /**< delete an attribute, entry or entity */
	SCPP_AUTH_OP_SCHEMA = 1 << 6, /**< additionally needed for writes to schema entities */
};
#define SCPP_AUTH_OP_ALL 0x7f
/** Number of operation bits. */
#define SCPP_AUTH_OP_BITS 7

/** MAC algorithms (bit set in HELLO, one bit chosen in CHALLENGE). */
enum scpp_auth_alg {
	SCPP_AUTH_ALG_AES256GMAC = 1 << 0, /**< AES-256-GCM, empty plaintext (AES-NI + PCLMUL) */
	SCPP_AUTH_ALG_CHACHAPOLY = 1 << 1, /**< ChaCha20-Poly1305 IETF, empty plaintext */
};
#define SCPP_AUTH_ALG_ALL 0x3

/** Attribute id meaning "some attribute" (entity-level question, scans). */
#define SCPP_AUTH_ATTR_ANY UINT32_C(0)
/** Attribute id meaning "every attribute" (deleting a whole entity). */
#define SCPP_AUTH_ATTR_ALL UINT32_MAX

/* ---------------------------------------------------------------- errors */

/** First auth code; codes are returned negated, like errno values. */
#define SCPP_AUTH_E_FIRST 1536

/**
 * Auth-specific codes. Formats reuse the wire codes of enum scpp_error for
 * what they share (-SCPP_E_TRUNCATED, -SCPP_E_BAD_MAGIC, -SCPP_E_BAD_VERSION,
 * -SCPP_E_BAD_KIND, -SCPP_E_BAD_FLAGS, -SCPP_E_BAD_LENGTH,
 * -SCPP_E_BAD_FRAGMENT, -SCPP_E_TOO_MANY, -SCPP_E_TRAILING, -SCPP_E_BAD_UTF8).
 */
enum scpp_auth_error {
	SCPP_AUTH_E_BAD_PREFIX = SCPP_AUTH_E_FIRST, /**< scope length over 128, or bits set past it */
	SCPP_AUTH_E_BAD_OPS,         /**< operation set empty or with unknown bits */
	SCPP_AUTH_E_BAD_DEPTH,       /**< depth over SCPP_AUTH_CHAIN_MAX - 1 */
	SCPP_AUTH_E_BAD_ATTR,        /**< attribute name empty or over 64 bytes */
	SCPP_AUTH_E_UNORDERED,       /**< attribute names not strictly increasing */
	SCPP_AUTH_E_BAD_RESERVED,    /**< a reserved byte or padding is not zero */
	SCPP_AUTH_E_BAD_ALG,         /**< MAC algorithm unknown, not offered or unavailable */
	SCPP_AUTH_E_BAD_KEY,         /**< a public key is unusable (X25519 result zero) */
	SCPP_AUTH_E_BAD_SIGNATURE,   /**< an Ed25519 signature does not verify */
	SCPP_AUTH_E_UNTRUSTED_ROOT,  /**< link 0 not issued by a root of trust */
	SCPP_AUTH_E_BROKEN_LINK,     /**< a link's issuer is not the previous subject */
	SCPP_AUTH_E_WIDENED_SCOPE,   /**< a link's scope is not within its parent's */
	SCPP_AUTH_E_WIDENED_ATTRS,   /**< a link's attributes are not within its parent's */
	SCPP_AUTH_E_WIDENED_OPS,     /**< a link's operations are not within its parent's */
	SCPP_AUTH_E_WIDENED_EXPIRY,  /**< a link expires after its parent */
	SCPP_AUTH_E_WIDENED_DEPTH,   /**< a link delegates deeper than its parent allows */
	SCPP_AUTH_E_EXPIRED,         /**< a grant has expired */
	SCPP_AUTH_E_REVOKED,         /**< a grant was revoked */
	SCPP_AUTH_E_WRONG_PRINCIPAL, /**< the chain's last subject is not the principal */
	SCPP_AUTH_E_NOT_SESSION,     /**< not a session datagram (flag clear) */
	SCPP_AUTH_E_BAD_TAG,         /**< session tag missing, truncated or of the wrong length */
	SCPP_AUTH_E_NO_SESSION,      /**< no live session with this id */
	SCPP_AUTH_E_WRONG_LANE,      /**< the tag names another lane (worker) */
	SCPP_AUTH_E_SESSION_EXPIRED, /**< the session's expiry has passed */
	SCPP_AUTH_E_REPLAY,          /**< counter already accepted */
	SCPP_AUTH_E_TOO_OLD,         /**< counter behind the anti-replay window */
	SCPP_AUTH_E_BAD_MAC,         /**< MAC does not verify (forged or corrupted) */
	SCPP_AUTH_E_EXHAUSTED,       /**< sender's counter space is used up */
	SCPP_AUTH_E_STALE_EPOCH,     /**< FINISH names an epoch the node no longer has */
	SCPP_AUTH_E_COOKIE_EXPIRED,  /**< FINISH cookie older than its lifetime */
	SCPP_AUTH_E_BAD_COOKIE,      /**< FINISH cookie does not verify (address, key, time) */
	SCPP_AUTH_E_SESSIONS_FULL,   /**< no free session slot */
	SCPP_AUTH_E_PRINCIPAL_LIMIT, /**< the principal has its maximum of sessions */
	SCPP_AUTH_E_NODE_KEY,        /**< the node's key is not the one expected */
	SCPP_AUTH_E_BAD_CONFIRM,     /**< ACCEPT confirmation MAC does not verify */
	SCPP_AUTH_E_REJECTED,        /**< the node answered REJECT */
	SCPP_AUTH_E_BAD_STATE,       /**< handshake message out of order */
	SCPP_AUTH_E_KEY_FILE,        /**< key file syntax (line in the fault) */
	SCPP_AUTH_E_KEY_MISMATCH,    /**< key file's public key does not match its seed */
	SCPP_AUTH_E_KEY_PERMS,       /**< secret key file readable by group or others */
	SCPP_AUTH_E_LAST
};

/**
 * Where a failure was found, for messages and REJECT. Fields that do not
 * apply hold their "none" value (UINT32_MAX, UINT16_MAX, UINT8_MAX, 0).
 */
struct scpp_auth_fault {
	uint32_t off;   /**< byte offset of the failing field in its message */
	uint16_t chain; /**< chain index within a FINISH */
	uint8_t link;   /**< link (grant) index within the chain */
	uint32_t line;  /**< key files: 1-based line */
};

/** Reset @p f to "nothing known". */
void scpp_auth_fault_clear(struct scpp_auth_fault *f);

/** Describe any code (errno, wire code, auth code). Never NULL. */
const char *scpp_auth_strerror(int err);

/** Symbolic name ("E_AUTH_BAD_MAC", "E_TRUNCATED", "EACCES"), or NULL. */
const char *scpp_auth_error_name(int err);

/** The code whose scpp_auth_error_name() is @p name, negated; 0 if none. */
int scpp_auth_error_parse(const char *name);

/**
 * Canonical errno (docs/ERRNO.md numbering) that a status carries for
 * @p err: e.g. EACCES for chain and scope failures, EPERM for a missing
 * schema right, EBADMSG for malformed input. See docs/SECURITY.md.
 */
uint32_t scpp_auth_errno(int err);

/**
 * Format "@p what: <message>[ at byte N][ (chain C, link L)][ line N]".
 * @return as snprintf.
 */
int scpp_auth_fault_format(char *buf, size_t size, int err, const struct scpp_auth_fault *f);

/* ---------------------------------------------------------------- memory */

/**
 * Allocator hook for every object this library allocates (tables,
 * authorities, revocation sets, responders, initiators, client sessions).
 * Secret-bearing memory is wiped (sodium_memzero) before it is returned.
 */
struct scpp_auth_mem {
	/** Allocate @p size bytes aligned to @p align (a power of two <= 64). */
	void *(*alloc)(void *ctx, size_t size, size_t align);
	/** Return memory from alloc(); @p p is never NULL. */
	void (*free)(void *ctx, void *p, size_t size);
	void *ctx; /**< passed to both */
};

/** aligned_alloc()/free(); used wherever a config passes NULL. */
extern const struct scpp_auth_mem scpp_auth_mem_libc;

/**
 * Initialise libsodium. Every constructor calls it; call it yourself
 * before using the plain functions (keys, grants) from several threads.
 *
 * @return 0, or -ENOSYS if libsodium cannot initialise.
 */
int scpp_auth_init(void);

/** MAC algorithms this host can compute (a subset of SCPP_AUTH_ALG_ALL). */
uint16_t scpp_auth_algs_available(void);

/** Current time in ns since the Unix epoch (CLOCK_REALTIME). */
uint64_t scpp_auth_now_ns(void);

/* ------------------------------------------------------------------ keys */

/** An Ed25519 key pair; @c sk is libsodium's layout: seed then public key. */
struct scpp_auth_keypair {
	uint8_t pk[SCPP_AUTH_KEY_LEN];     /**< public key: the principal */
	uint8_t sk[2 * SCPP_AUTH_KEY_LEN]; /**< secret: seed (32) + pk (32) */
};

/** Generate a fresh key pair. @return 0 or -ENOSYS. */
int scpp_auth_key_generate(struct scpp_auth_keypair *kp);

/** Derive the key pair of a 32-byte seed (deterministic). @return 0, -EINVAL. */
int scpp_auth_key_from_seed(struct scpp_auth_keypair *kp, const uint8_t seed[SCPP_AUTH_KEY_LEN]);

/** Wipe a key pair in memory. */
void scpp_auth_key_wipe(struct scpp_auth_keypair *kp);

/** Flag for the save functions: replace an existing file. */
#define SCPP_AUTH_SAVE_FORCE 0x1

/**
 * Write a secret key file (docs/SECURITY.md "Key files"): mode 0600, written
 * to a temporary file in the same directory, fsynced, renamed into place.
 *
 * @param comment  printable UTF-8 up to 128 bytes, no control characters
 *   (may be NULL).
 * @return 0; -EEXIST (exists and no SCPP_AUTH_SAVE_FORCE); -EINVAL (bad
 *   comment, NULL argument); or a negative errno of the file system.
 */
int scpp_auth_key_save(const char *path, const struct scpp_auth_keypair *kp, const char *comment,
		       unsigned int flags);

/** Write a public key file (mode 0644); arguments and errors as above. */
int scpp_auth_pubkey_save(const char *path, const uint8_t pk[SCPP_AUTH_KEY_LEN],
			  const char *comment, unsigned int flags);

/**
 * Read a secret key file.
 *
 * @param comment  receives the comment (NUL-terminated; may be NULL).
 * @param f  receives the line of a syntax error (may be NULL).
 * @return 0; -SCPP_AUTH_E_KEY_PERMS (group or others may read it);
 *   -SCPP_AUTH_E_KEY_FILE (syntax: first line, unknown, repeated, missing or
 *   malformed field, a public key file where a secret one is needed; @p f
 *   has the line); -SCPP_AUTH_E_KEY_MISMATCH (public line does not match
 *   the seed); -EFBIG (over 4 KiB); a negative errno of the file system.
 */
int scpp_auth_key_load(const char *path, struct scpp_auth_keypair *kp, char comment[129],
		       struct scpp_auth_fault *f);

/**
 * Read the public key of a public or a secret key file (a secret file is
 * checked as in scpp_auth_key_load(), permissions included).
 *
 * @return as scpp_auth_key_load().
 */
int scpp_auth_pubkey_load(const char *path, uint8_t pk[SCPP_AUTH_KEY_LEN], char comment[129],
			  struct scpp_auth_fault *f);

/** Parse exactly 2 * @p n hex digits (either case) into @p n bytes. @return 0 or -EINVAL. */
int scpp_auth_hex_parse(const char *s, size_t len, uint8_t *out, size_t n);

/** Format @p n bytes as 2n lowercase hex digits plus NUL into @p buf. */
void scpp_auth_hex_format(char *buf, const uint8_t *p, size_t n);

/* ---------------------------------------------------------------- grants */

/** One attribute name of a grant (borrowed, not NUL-terminated). */
struct scpp_auth_attr {
	const char *p;
	uint8_t len; /**< 1..SCPP_AUTH_ATTR_NAME_MAX */
};

/**
 * A grant, decoded (names and @c raw point into the input) or being built
 * (names point at caller memory). Encoding: docs/SECURITY.md "Grants".
 */
struct scpp_auth_grant {
	uint8_t issuer[SCPP_AUTH_KEY_LEN];  /**< who signed it */
	uint8_t subject[SCPP_AUTH_KEY_LEN]; /**< who receives the rights */
	struct scpp_oid_prefix scope;       /**< entities covered; len 128 = one */
	uint8_t depth;      /**< delegation levels allowed below (0 = none) */
	uint16_t ops;       /**< SCPP_AUTH_OP_* set, non-empty */
	uint64_t expires_ns; /**< valid while now < expires_ns (ns since Unix epoch) */
	uint8_t nattrs;     /**< 0 = every attribute; else names in attr[] */
	struct scpp_auth_attr attr[SCPP_AUTH_ATTRS_MAX]; /**< strictly increasing */
	uint8_t sig[SCPP_AUTH_SIG_LEN]; /**< issuer's signature */
	const uint8_t *raw; /**< the encoding (set by decode and sign), or NULL */
	uint32_t raw_len;   /**< its length, signature included */
};

/**
 * Check a grant's fields as the decoder would (prefix canonical, ops, depth,
 * names valid, sorted and distinct).
 *
 * @return 0 or the code decode would give (-SCPP_AUTH_E_BAD_PREFIX,
 *   -SCPP_AUTH_E_BAD_DEPTH, -SCPP_AUTH_E_BAD_OPS, -SCPP_E_TOO_MANY,
 *   -SCPP_AUTH_E_BAD_ATTR, -SCPP_E_BAD_UTF8, -SCPP_AUTH_E_UNORDERED), or
 *   -EINVAL for NULL.
 */
int scpp_auth_grant_check(const struct scpp_auth_grant *g);

/** Bytes the encoding of @p g takes (signature included); fields unchecked. */
size_t scpp_auth_grant_size(const struct scpp_auth_grant *g);

/**
 * Encode @p g (its fields and signature) canonically.
 *
 * @return bytes written; -ENOSPC; or an error of scpp_auth_grant_check().
 */
int scpp_auth_grant_encode(const struct scpp_auth_grant *g, uint8_t *buf, size_t size);

/**
 * Set @p g->issuer to @p issuer's public key, encode it into @p buf, sign
 * it, and store the signature in @p g->sig and @p buf; @p g->raw then points
 * at @p buf.
 *
 * @return bytes written; -ENOSPC; -EINVAL; -ENOSYS (libsodium); an error of
 *   scpp_auth_grant_check().
 */
int scpp_auth_grant_sign(struct scpp_auth_grant *g, const struct scpp_auth_keypair *issuer,
			 uint8_t *buf, size_t size);

/**
 * Decode one grant. Bounded and allocation-free; checks every field in
 * encoding order and reports the first malformation.
 *
 * @param used  If not NULL, receives the bytes consumed and trailing bytes
 *   are allowed (the grant is part of a larger message); if NULL, the grant
 *   must fill @p len exactly (else -SCPP_E_TRAILING).
 * @param err_off  If not NULL, receives on error the offset of the first
 *   byte of the failing field (docs/SECURITY.md lists each).
 * @return 0, or: -SCPP_E_TRUNCATED, -SCPP_E_BAD_MAGIC, -SCPP_E_BAD_VERSION,
 *   -SCPP_E_BAD_FLAGS, -SCPP_AUTH_E_BAD_PREFIX, -SCPP_AUTH_E_BAD_DEPTH,
 *   -SCPP_AUTH_E_BAD_OPS, -SCPP_E_TOO_MANY, -SCPP_AUTH_E_BAD_ATTR,
 *   -SCPP_E_BAD_UTF8, -SCPP_AUTH_E_UNORDERED, -SCPP_E_TRAILING.
 *   Signatures are not checked here (scpp_auth_grant_verify()).
 */
int scpp_auth_grant_decode(const uint8_t *buf, size_t len, struct scpp_auth_grant *g,
			   size_t *used, uint32_t *err_off);

/**
 * Verify @p g's signature (over @p g->raw, or over a fresh encoding of its
 * fields when raw is NULL) against @p g->issuer.
 *
 * @return 0, -SCPP_AUTH_E_BAD_SIGNATURE, or a check error.
 */
int scpp_auth_grant_verify(const struct scpp_auth_grant *g);

/**
 * The grant's id: BLAKE2b-256 of "scpp-grant-id-v1" and the signed bytes
 * (the encoding without its signature). Revocations name grants by it.
 *
 * @return 0, or an error of scpp_auth_grant_check() when @p g->raw is NULL
 *   and its fields do not encode.
 */
int scpp_auth_grant_id(const struct scpp_auth_grant *g, uint8_t id[SCPP_AUTH_ID_LEN]);

/**
 * Is @p child within @p parent (attenuation)? Checks linkage first, then
 * depth, scope, attributes, operations, expiry.
 *
 * @return 0; -SCPP_AUTH_E_BROKEN_LINK (child's issuer is not parent's
 *   subject), -SCPP_AUTH_E_WIDENED_DEPTH, -SCPP_AUTH_E_WIDENED_SCOPE,
 *   -SCPP_AUTH_E_WIDENED_ATTRS, -SCPP_AUTH_E_WIDENED_OPS,
 *   -SCPP_AUTH_E_WIDENED_EXPIRY.
 */
int scpp_auth_grant_within(const struct scpp_auth_grant *child,
			   const struct scpp_auth_grant *parent);

/** Is @p name (len bytes) one of @p g's attributes (or @p g covers all)? */
bool scpp_auth_grant_has_attr(const struct scpp_auth_grant *g, const char *name, size_t len);

/* ---------------------------------------------------------------- chains */

/** A chain of grants, root first. Large (~6 KiB): not for hot stacks. */
struct scpp_auth_chain {
	uint8_t n; /**< links, 0..SCPP_AUTH_CHAIN_MAX (0: the principal is a root) */
	struct scpp_auth_grant link[SCPP_AUTH_CHAIN_MAX];
};

/**
 * Decode a chain ("SN" header, then n grants).
 *
 * @param used  as scpp_auth_grant_decode().
 * @param err_off  offset within @p buf of the failing field.
 * @return 0, a grant decode error (at its offset in the chain), or
 *   -SCPP_E_TRUNCATED, -SCPP_E_BAD_MAGIC, -SCPP_E_BAD_VERSION,
 *   -SCPP_E_TOO_MANY (over SCPP_AUTH_CHAIN_MAX links), -SCPP_E_TRAILING,
 *   -EINVAL (NULL).
 */
int scpp_auth_chain_decode(const uint8_t *buf, size_t len, struct scpp_auth_chain *c,
			   size_t *used, uint32_t *err_off);

/** Bytes scpp_auth_chain_encode() writes. */
size_t scpp_auth_chain_size(const struct scpp_auth_chain *c);

/**
 * Encode a chain canonically (each link from its fields and signature).
 *
 * @return bytes written; -ENOSPC; -SCPP_E_TOO_MANY; a grant check error.
 */
int scpp_auth_chain_encode(const struct scpp_auth_chain *c, uint8_t *buf, size_t size);

/** BLAKE2b-256 over a chain's encoding (for caches and forwarded identities). */
void scpp_auth_chain_digest(const uint8_t *enc, size_t len, uint8_t out[SCPP_AUTH_ID_LEN]);

struct scpp_auth_revset;

/** What a node trusts: its roots and its revocations. */
struct scpp_auth_trust {
	const uint8_t (*roots)[SCPP_AUTH_KEY_LEN]; /**< root public keys */
	unsigned int nroots;                        /**< 0..SCPP_AUTH_ROOTS_MAX */
	const struct scpp_auth_revset *revoked;     /**< may be NULL */
};

/**
 * Verify a chain for @p principal at time @p now_ns. Checks, reporting the
 * first failure in this order: for each link in order, linkage (link 0:
 * issuer is a root; later: issuer is the previous subject), attenuation
 * (scpp_auth_grant_within()), expiry, revocation; then the last subject is
 * the principal; then every signature, in link order (the expensive part,
 * ~90 us each here, runs only on chains that pass everything else).
 *
 * @param f  receives the failing link (may be NULL).
 * @return 0; -SCPP_AUTH_E_UNTRUSTED_ROOT; -SCPP_AUTH_E_BROKEN_LINK; a
 *   -SCPP_AUTH_E_WIDENED_*; -SCPP_AUTH_E_EXPIRED; -SCPP_AUTH_E_REVOKED;
 *   -SCPP_AUTH_E_WRONG_PRINCIPAL; -SCPP_AUTH_E_BAD_SIGNATURE; -EINVAL.
 */
int scpp_auth_chain_verify(const struct scpp_auth_chain *c, const uint8_t principal[SCPP_AUTH_KEY_LEN],
			   const struct scpp_auth_trust *t, uint64_t now_ns,
			   struct scpp_auth_fault *f);

/* ----------------------------------------------------------- revocations */

/** A signed revocation entry (docs/SECURITY.md "Revocations"). */
struct scpp_auth_revocation {
	uint8_t grant_id[SCPP_AUTH_ID_LEN]; /**< scpp_auth_grant_id() of the grant */
	uint64_t grant_expires_ns; /**< the grant's expiry: the entry may be dropped after it */
	uint64_t revoked_ns;       /**< when it was issued (informative) */
	uint8_t revoker[SCPP_AUTH_KEY_LEN]; /**< who signed it */
	uint8_t sig[SCPP_AUTH_SIG_LEN];
};

/** Set revoker, encode, sign. @return SCPP_AUTH_REVOCATION_LEN, -ENOSPC or -EINVAL. */
int scpp_auth_revocation_sign(struct scpp_auth_revocation *r, const struct scpp_auth_keypair *k,
			      uint8_t *buf, size_t size);

/** Encode. @return SCPP_AUTH_REVOCATION_LEN or -ENOSPC. */
int scpp_auth_revocation_encode(const struct scpp_auth_revocation *r, uint8_t *buf, size_t size);

/**
 * Decode (exactly SCPP_AUTH_REVOCATION_LEN bytes).
 *
 * @return 0, -SCPP_E_TRUNCATED, -SCPP_E_BAD_MAGIC, -SCPP_E_BAD_VERSION,
 *   -SCPP_E_BAD_FLAGS, -SCPP_E_TRAILING; @p err_off as for grants.
 */
int scpp_auth_revocation_decode(const uint8_t *buf, size_t len, struct scpp_auth_revocation *r,
				uint32_t *err_off);

/** Verify the revoker's signature. @return 0 or -SCPP_AUTH_E_BAD_SIGNATURE. */
int scpp_auth_revocation_verify(const struct scpp_auth_revocation *r);

/**
 * Create a revocation set of @p capacity entries (>= 1, <= 2^20).
 * A revocation of grant G counts during chain verification when its revoker
 * is a root of trust or the issuer of G or of any link before G.
 *
 * @return the set, or NULL with errno EINVAL or ENOMEM.
 */
struct scpp_auth_revset *scpp_auth_revset_create(unsigned int capacity,
						 const struct scpp_auth_mem *mem);

/** Free; NULL is a no-op. */
void scpp_auth_revset_free(struct scpp_auth_revset *rs);

/**
 * Add a revocation after verifying its signature. When the set is full,
 * entries whose grant has expired (grant_expires_ns <= now) are dropped
 * first.
 *
 * @return 0; -SCPP_AUTH_E_BAD_SIGNATURE; -EEXIST (same grant and revoker);
 *   -ENOSPC (full of live entries; the set is unchanged); -EINVAL.
 */
int scpp_auth_revset_add(struct scpp_auth_revset *rs, const struct scpp_auth_revocation *r,
			 uint64_t now_ns);

/** Number of entries. */
unsigned int scpp_auth_revset_count(const struct scpp_auth_revset *rs);

/**
 * Is grant @p id revoked by any of @p signers (n keys)?
 * Binary search: O(log n + revocations of that grant).
 */
bool scpp_auth_revset_match(const struct scpp_auth_revset *rs, const uint8_t id[SCPP_AUTH_ID_LEN],
			    const uint8_t (*signers)[SCPP_AUTH_KEY_LEN], unsigned int n);

/* ------------------------------------------------------------- authority */

/** A compiled authority (opaque, immutable). */
struct scpp_auth_authority;

/**
 * Resolve an attribute name to the node's 32-bit id, interning it if new
 * (e.g. a wrapper of scpp_store_dict_intern()). Returns the id (>= 1) or a
 * negative errno.
 */
typedef int64_t (*scpp_auth_resolve_fn)(void *ctx, const char *name, size_t len);

/** How to compile. */
struct scpp_auth_compile_config {
	scpp_auth_resolve_fn resolve; /**< NULL: names only (no id checks) */
	void *resolve_ctx;
	uint64_t expires_cap_ns;      /**< authority expires at min(chains, this);
				       *   0 = no cap */
	const struct scpp_auth_mem *mem; /**< NULL: libc */
};

/**
 * Compile already verified chains (scpp_auth_chain_verify()) into an
 * authority: one rule per chain, from its last link (attenuation makes it
 * the effective right); an empty chain gives every right on everything. The
 * authority expires at the earliest last-link expiry (or the cap).
 * Control thread; allocates once.
 *
 * @return the authority, or NULL with errno: EINVAL (n 0 or over
 *   SCPP_AUTH_CHAINS_MAX, NULL arguments), ENOMEM, or the resolver's error.
 */
struct scpp_auth_authority *
scpp_auth_authority_compile(const struct scpp_auth_chain *chains, unsigned int n,
			    const uint8_t principal[SCPP_AUTH_KEY_LEN],
			    const struct scpp_auth_compile_config *cfg);

/** Free; NULL is a no-op. No worker may still reference it. */
void scpp_auth_authority_free(struct scpp_auth_authority *a);

/** When the authority stops being valid (ns since Unix epoch). */
uint64_t scpp_auth_authority_expires(const struct scpp_auth_authority *a);

/**
 * True when no rule is narrower than a /64: scpp_auth_check() then gives
 * the same answer for every entity of one /64 (same attribute, same
 * operations), so a caller may remember an answer per (e.hi, attribute)
 * for as long as it holds the authority (lib/eval's fast path, per block).
 */
bool scpp_auth_authority_coarse(const struct scpp_auth_authority *a);

/**
 * The operations some rule grants on *every* attribute (the union over
 * those rules; computed at compile time). scpp_auth_cover() can answer
 * SCPP_AUTH_COVER_ALL for operations @p ops only if all of them are in
 * this set, so a caller that only wants to know about ALL skips the call
 * otherwise (lib/eval, once per block: ~100 instructions with 4 rules).
 */
uint16_t scpp_auth_authority_ops_all_attrs(const struct scpp_auth_authority *a);

/** The principal it was compiled for. */
const uint8_t *scpp_auth_authority_principal(const struct scpp_auth_authority *a);

/** Why a check was denied. */
enum scpp_auth_deny_reason {
	SCPP_AUTH_DENY_NONE = 0,  /**< allowed */
	SCPP_AUTH_DENY_SCOPE = 1, /**< no rule's scope contains the entity */
	SCPP_AUTH_DENY_ATTR = 2,  /**< rules cover the entity, none this attribute */
	SCPP_AUTH_DENY_OPS = 3,   /**< entity and attribute covered; operations missing */
};

/** Details of a denial. */
struct scpp_auth_denial {
	uint8_t reason;   /**< enum scpp_auth_deny_reason */
	uint16_t missing; /**< operations asked for and not held (for DENY_OPS;
			   *   all asked for otherwise) */
};

/**
 * May the session do @p ops on attribute @p attr of entity @p e? Rights
 * from several rules add up (one rule may give set, another schema).
 * Worker path: no allocation, at most SCPP_AUTH_CHAINS_MAX rules examined.
 *
 * @param attr  an attribute id (from the resolver the authority was compiled
 *   with), SCPP_AUTH_ATTR_ANY (some attribute: "may it read this entity at
 *   all"), or SCPP_AUTH_ATTR_ALL (every attribute, e.g. deleting the
 *   entity). Without a resolver, named rules match no id: use
 *   scpp_auth_check_name().
 * @param d  receives the reason when denied (may be NULL).
 * @return 0 (allowed); -EPERM (only SCPP_AUTH_OP_SCHEMA is missing: a
 *   privileged operation); -EACCES (anything else missing).
 */
int scpp_auth_check(const struct scpp_auth_authority *a, struct scpp_oid e, uint32_t attr,
		    uint16_t ops, struct scpp_auth_denial *d);

/** As scpp_auth_check(), with the attribute given by name (@p len bytes). */
int scpp_auth_check_name(const struct scpp_auth_authority *a, struct scpp_oid e,
			 const char *name, size_t len, uint16_t ops, struct scpp_auth_denial *d);

/** Answer of scpp_auth_cover(). */
enum scpp_auth_cover {
	SCPP_AUTH_COVER_NONE = 0, /**< nothing under the prefix is allowed: skip the scan */
	SCPP_AUTH_COVER_SOME = 1, /**< some entities or attributes: check each */
	SCPP_AUTH_COVER_ALL = 2,  /**< every attribute of every entity: no checks needed */
};

/**
 * Before scanning the entities under @p p (a shard's /64, say), ask what
 * @p ops the session holds there. Worker path; a few ns per rule.
 */
enum scpp_auth_cover scpp_auth_cover(const struct scpp_auth_authority *a,
				     const struct scpp_oid_prefix *p, uint16_t ops);

/** Grant ids of every link the authority was compiled from (for revocation). */
unsigned int scpp_auth_authority_grants(const struct scpp_auth_authority *a,
					const uint8_t (**ids)[SCPP_AUTH_ID_LEN]);

/* ------------------------------------------------------ session datagrams */

/**
 * What a worker needs to hold a session: produced by the responder (or, in
 * tests, by hand), copied into each worker table by scpp_auth_table_install().
 */
struct scpp_auth_session_params {
	uint64_t id;          /**< session id: random bits << 24 | slot; non-zero */
	uint64_t expires_ns;  /**< the session ends then (ns since Unix epoch) */
	uint16_t alg;         /**< one SCPP_AUTH_ALG_* bit */
	uint16_t lanes;       /**< lanes the client may use, 1..SCPP_AUTH_LANES_MAX */
	uint8_t k_c2n[SCPP_AUTH_KEY_LEN]; /**< client -> node MAC key */
	uint8_t k_n2c[SCPP_AUTH_KEY_LEN]; /**< node -> client MAC key */
	uint8_t principal[SCPP_AUTH_KEY_LEN];
	const struct scpp_auth_authority *authority; /**< borrowed; outlives the slot */
};

/** Slot index of a session id. */
static inline uint32_t
scpp_auth_session_slot(uint64_t id)
{
	return (uint32_t)(id & (SCPP_AUTH_SLOTS_MAX - 1));
}

/** A worker's session table (opaque). */
struct scpp_auth_table;

/** Table configuration. */
struct scpp_auth_table_config {
	uint32_t capacity; /**< session slots, 1..SCPP_AUTH_SLOTS_MAX (the responder's) */
	uint16_t lane;     /**< the lane this worker verifies, < SCPP_AUTH_LANES_MAX */
	const struct scpp_auth_mem *mem; /**< NULL: libc */
};

/**
 * Create a table. Memory: about 2.9 KiB per slot (two precomputed AES-GCM
 * key schedules, the replay window), allocated now.
 *
 * @return the table, or NULL with errno EINVAL (capacity 0 or too large,
 *   lane too large) or ENOMEM.
 */
struct scpp_auth_table *scpp_auth_table_create(const struct scpp_auth_table_config *cfg);

/** Free (keys wiped); NULL is a no-op. */
void scpp_auth_table_free(struct scpp_auth_table *t);

/**
 * Install a session in its slot (scpp_auth_session_slot(p->id)), with a
 * fresh replay window and transmit counter.
 *
 * @return 0; -EEXIST (the slot holds a session: close it first); -EINVAL
 *   (id 0, slot beyond capacity, bad alg or lanes, the table's lane not
 *   below p->lanes, NULL authority, expiry 0); -SCPP_AUTH_E_BAD_ALG (this
 *   host cannot compute p->alg).
 */
int scpp_auth_table_install(struct scpp_auth_table *t, const struct scpp_auth_session_params *p);

/** Close session @p id. @return 0 or -ENOENT (no such live session). */
int scpp_auth_table_close(struct scpp_auth_table *t, uint64_t id);

/**
 * Close expired sessions, examining at most @p max_slots slots from
 * *@p cursor on (bounded work per call; wraps around). Examines nothing
 * (and leaves *@p cursor) while no installed session can have expired:
 * the table keeps a lower bound of its earliest expiry, and a sweep, once
 * begun, examines every slot once and then takes the earliest expiry it
 * left as the new bound.
 *
 * @param ids  receives the ids closed (array of @p max_slots; may be NULL).
 * @return the number closed.
 */
unsigned int scpp_auth_table_expire(struct scpp_auth_table *t, uint64_t now_ns, uint32_t *cursor,
				    unsigned int max_slots, uint64_t *ids);

/** What scpp_auth_verify() found. */
struct scpp_auth_verdict {
	uint64_t session;   /**< session id (0 before lookup) */
	uint32_t slot;      /**< its slot, for scpp_auth_seal() */
	uint16_t lane;      /**< the tag's lane (valid from WRONG_LANE on) */
	uint64_t counter;   /**< the tag's counter */
	const struct scpp_auth_authority *authority; /**< on success */
};

/**
 * Verify a received session datagram: the first thing a worker does with a
 * datagram whose flags have SCPP_AUTH_F_SESSION. In order: framing of the
 * tag; session lookup; lane; expiry; replay window (read-only); MAC; then
 * the counter is recorded. A datagram that fails changes nothing.
 * Worker path; no allocation. Header fields other than flags, tag_len,
 * payload_len and client_id are the wire decoder's business.
 *
 * @param dgram  the whole datagram (header, payload, 24-byte tag).
 * @param v  receives what was found (fields valid as far as checks got).
 * @return 0; -SCPP_AUTH_E_NOT_SESSION (flag clear); -SCPP_AUTH_E_BAD_TAG
 *   (shorter than a header, tag_len not 24, or length not 32 + payload_len
 *   (+ 16 with the delivery layer's COOKIE flag) + 24: a truncated tag lands
 *   here); -SCPP_AUTH_E_NO_SESSION;
 *   -SCPP_AUTH_E_WRONG_LANE (v->lane says whose; hand the datagram to that
 *   worker unverified, bounded, or drop it); -SCPP_AUTH_E_SESSION_EXPIRED;
 *   -SCPP_AUTH_E_REPLAY; -SCPP_AUTH_E_TOO_OLD; -SCPP_AUTH_E_BAD_MAC.
 */
int scpp_auth_verify(struct scpp_auth_table *t, const uint8_t *dgram, size_t len,
		     uint64_t now_ns, struct scpp_auth_verdict *v);

/**
 * Seal a datagram the worker sends on session @p slot (a REPLY, say): set
 * SCPP_AUTH_F_SESSION, tag_len 24, client_id = session id, write this
 * lane's next counter and the MAC into the last 24 bytes. The caller built
 * the header with payload_len (and the COOKIE flag if a cookie follows the
 * payload), and @p len = 32 + payload_len (+ 16) + 24. A cached reply is
 * resealed on every transmission (scppd: lib/delivery's seal hook), which
 * keeps every nonce unique.
 *
 * @return 0; -SCPP_AUTH_E_BAD_TAG (length disagrees with the header);
 *   -SCPP_AUTH_E_NO_SESSION (slot free); -SCPP_AUTH_E_EXHAUSTED.
 */
int scpp_auth_seal(struct scpp_auth_table *t, uint32_t slot, uint8_t *dgram, size_t len);

/**
 * The authority of live, unexpired session @p id in this table, or NULL.
 * For a block verified on one worker and run on another (a hand-off): the
 * session is installed in every table, so the owner finds it in its own.
 * Worker path (the table's lcore): a slot index and two compares.
 */
const struct scpp_auth_authority *scpp_auth_table_authority(const struct scpp_auth_table *t,
							     uint64_t id, uint64_t now_ns);

/** Counters of a table (cumulative except @c active). */
struct scpp_auth_table_stats {
	uint64_t verified;   /**< datagrams accepted */
	uint64_t not_session, bad_tag, no_session, wrong_lane, expired;
	uint64_t replayed, too_old, bad_mac;
	uint64_t sealed;     /**< datagrams sealed */
	uint64_t installed, closed, active;
};

/** Read the counters; any thread (relaxed loads). */
void scpp_auth_table_stats_get(const struct scpp_auth_table *t, struct scpp_auth_table_stats *st);

/* ------------------------------------------------------------- handshake */

/**
 * A parsed handshake datagram (HELLO .. REJECT). @c payload points into it.
 */
struct scpp_auth_hs_dgram {
	uint8_t kind;         /**< enum scpp_auth_kind */
	uint64_t session;     /**< header client_id (ACCEPT: the session id) */
	uint64_t hs_id;       /**< header block_id: the handshake id */
	uint32_t frag_index;
	uint32_t frag_count;
	const uint8_t *payload;
	uint16_t payload_len;
};

/**
 * Parse the header of a handshake datagram (kinds 8..12; CLOSE is a session
 * datagram and goes through scpp_auth_verify()).
 *
 * @return 0, or -SCPP_E_TRUNCATED, -SCPP_E_BAD_MAGIC, -SCPP_E_BAD_VERSION,
 *   -SCPP_E_BAD_KIND, -SCPP_E_BAD_FLAGS, -SCPP_E_BAD_FRAGMENT (FINISH: count
 *   0 or over SCPP_AUTH_FINISH_FRAGS_MAX, index >= count; others: count not
 *   1), -SCPP_E_BAD_LENGTH.
 */
int scpp_auth_hs_parse(const uint8_t *dgram, size_t len, struct scpp_auth_hs_dgram *out);

/** Number of datagrams of at most @p max_dgram bytes a FINISH of @p len needs (0: too many). */
unsigned int scpp_auth_finish_frags(size_t len, size_t max_dgram);

/**
 * Write datagram @p index of the FINISH message @p msg cut into datagrams of
 * at most @p max_dgram bytes (every fragment full but the last).
 *
 * @return bytes written; -EINVAL (index out of range, too many fragments);
 *   -ENOSPC.
 */
int scpp_auth_finish_dgram(const uint8_t *msg, size_t len, uint64_t hs_id, unsigned int index,
			   size_t max_dgram, uint8_t *out, size_t size);

/** A decoded REJECT. */
struct scpp_auth_reject {
	int32_t code;       /**< the negative code the node reported */
	uint32_t err;       /**< canonical errno */
	struct scpp_auth_fault fault;
};

/**
 * Node: the REJECT a worker may answer a session datagram with when its
 * session is not there (docs/SECURITY.md §6.4 step 3 and 5: the node
 * restarted, or the session expired): header kind 12, client_id = the
 * datagram's session id, block_id = its block id, the payload of a
 * handshake REJECT with @p code (-SCPP_AUTH_E_NO_SESSION or
 * -SCPP_AUTH_E_SESSION_EXPIRED). Unauthenticated by nature: a client takes
 * it only as a reason to open a new session, once.
 * @return 52 (bytes written), -ENOSPC, -EINVAL.
 */
int scpp_auth_session_reject(uint8_t *d, size_t size, uint64_t session, uint64_t block_id,
			     int code);

/** Decode a REJECT payload. @return 0, -SCPP_E_TRUNCATED, -SCPP_AUTH_E_BAD_RESERVED, -SCPP_E_TRAILING. */
int scpp_auth_reject_decode(const uint8_t *p, size_t len, struct scpp_auth_reject *r);

/**
 * Write a CLOSE datagram for @p session (header, the 8-byte payload with
 * @p reason, 24 zero tag bytes), ready for scpp_auth_client_seal() or
 * scpp_auth_seal(): a CLOSE is a session datagram, verified like any other.
 *
 * @return bytes written (32 + 8 + 24) or -ENOSPC.
 */
int scpp_auth_close_encode(uint8_t *dgram, size_t size, uint64_t session, uint32_t reason);

/**
 * Decode a CLOSE payload.
 * @return 0, -SCPP_E_TRUNCATED, -SCPP_E_TRAILING, -SCPP_E_BAD_VERSION,
 *   -SCPP_E_BAD_FLAGS, -SCPP_AUTH_E_BAD_RESERVED.
 */
int scpp_auth_close_decode(const uint8_t *payload, size_t len, uint32_t *reason);

/* client side */

struct scpp_auth_initiator;
struct scpp_auth_client_session;

/** What a client opens a session with. */
struct scpp_auth_initiator_config {
	const struct scpp_auth_keypair *principal; /**< copied */
	const uint8_t *chain[SCPP_AUTH_CHAINS_MAX]; /**< encoded chains (copied) */
	size_t chain_len[SCPP_AUTH_CHAINS_MAX];
	unsigned int nchains;       /**< 1..SCPP_AUTH_CHAINS_MAX */
	const uint8_t *node_key;    /**< expected node key; NULL accepts any (report it) */
	uint16_t algs;              /**< offered; 0: every one this host has */
	uint64_t hs_id;             /**< handshake id; 0: random */
	const uint8_t *ephemeral_seed; /**< 32 bytes fixing the X25519 key (tests,
					*   vectors); NULL: random */
	const struct scpp_auth_mem *mem;
};

/**
 * Create a client handshake. Checks the chains decode and fit one FINISH.
 *
 * @return the initiator, or NULL with errno EINVAL (bad config, chain does
 *   not decode, FINISH over SCPP_AUTH_FINISH_MAX, too many links), ENOMEM,
 *   or ENOSYS (no algorithm offered is available here).
 */
struct scpp_auth_initiator *scpp_auth_initiator_create(const struct scpp_auth_initiator_config *cfg);

/** Free (secrets wiped); NULL is a no-op. */
void scpp_auth_initiator_free(struct scpp_auth_initiator *ini);

/** Write the HELLO datagram (32 + SCPP_AUTH_HELLO_LEN bytes). @return bytes or -ENOSPC. */
int scpp_auth_initiator_hello(struct scpp_auth_initiator *ini, uint8_t *dgram, size_t size);

/**
 * Process the CHALLENGE datagram and write the FINISH message (payload;
 * cut it with scpp_auth_finish_dgram()).
 *
 * @param node_key  receives the node's identity key (may be NULL).
 * @return FINISH bytes; -SCPP_AUTH_E_BAD_STATE; a scpp_auth_hs_parse()
 *   error; -SCPP_E_BAD_KIND; -SCPP_E_TRUNCATED / -SCPP_E_TRAILING (length
 *   not SCPP_AUTH_CHALLENGE_LEN); -SCPP_E_BAD_VERSION; -SCPP_AUTH_E_BAD_RESERVED;
 *   -SCPP_AUTH_E_BAD_ALG (not one bit, or not offered); -EPROTO (handshake id
 *   differs); -SCPP_AUTH_E_NODE_KEY; -SCPP_AUTH_E_BAD_SIGNATURE (epoch
 *   certificate); -SCPP_AUTH_E_BAD_KEY; -ENOSPC.
 */
int scpp_auth_initiator_challenge(struct scpp_auth_initiator *ini, const uint8_t *dgram,
				  size_t len, uint8_t *finish, size_t size,
				  uint8_t node_key[SCPP_AUTH_KEY_LEN]);

/**
 * Process the ACCEPT (or REJECT) datagram and create the client session.
 *
 * @param rej  receives a REJECT's contents (may be NULL).
 * @return 0 with *@p out set; -SCPP_AUTH_E_REJECTED (REJECT: see @p rej);
 *   -SCPP_AUTH_E_BAD_STATE; parse errors; -EPROTO (ids differ);
 *   -SCPP_AUTH_E_BAD_RESERVED; -SCPP_AUTH_E_BAD_ALG; -SCPP_AUTH_E_BAD_CONFIRM;
 *   -EINVAL (bad lanes or session id); -ENOMEM.
 */
int scpp_auth_initiator_accept(struct scpp_auth_initiator *ini, const uint8_t *dgram, size_t len,
			       struct scpp_auth_client_session **out,
			       struct scpp_auth_reject *rej);

/** Free a client session (keys wiped); NULL is a no-op. */
void scpp_auth_client_session_free(struct scpp_auth_client_session *cs);

/** Session id, expiry, lanes and algorithm of a client session. */
uint64_t scpp_auth_client_session_id(const struct scpp_auth_client_session *cs);
uint64_t scpp_auth_client_session_expires(const struct scpp_auth_client_session *cs);
uint16_t scpp_auth_client_session_lanes(const struct scpp_auth_client_session *cs);
uint16_t scpp_auth_client_session_alg(const struct scpp_auth_client_session *cs);

/**
 * Create a client session from known parameters (tests, vector generation).
 * @return the session or NULL with errno EINVAL / ENOMEM / ENOSYS.
 */
struct scpp_auth_client_session *
scpp_auth_client_session_create(const struct scpp_auth_session_params *p,
				const struct scpp_auth_mem *mem);

/**
 * Seal a datagram the client sends on @p lane (any kind: BLOCK, CLOSE,
 * ...), as scpp_auth_seal() does on the node: every transmission, a
 * retransmission included, takes the lane's next counter.
 *
 * @return 0; -SCPP_AUTH_E_BAD_TAG; -EINVAL (lane >= lanes);
 *   -SCPP_AUTH_E_EXHAUSTED.
 */
int scpp_auth_client_seal(struct scpp_auth_client_session *cs, uint16_t lane, uint8_t *dgram,
			  size_t len);

/**
 * Verify a datagram from the node (REPLY, CLOSE) against the lane's receive
 * window. A lane with SCPP_AUTH_LANE_DELEGATED is an owner node's answer to
 * a forwarded request (docs/SECURITY.md §9.4): checked under the delegated
 * key of the owner the lane names, with a window per such lane (at most
 * SCPP_AUTH_DLG_LANES; a lane is taken only by a datagram that verified).
 *
 * @return 0 (and *@p lane set when not NULL); the codes of
 *   scpp_auth_verify() except WRONG_LANE and SESSION_EXPIRED (the client
 *   does not trust its clock to end sessions); -SCPP_AUTH_E_BAD_TAG also
 *   for a lane beyond the session's.
 */
int scpp_auth_client_open(struct scpp_auth_client_session *cs, const uint8_t *dgram, size_t len,
			  uint16_t *lane);

/* node side */

struct scpp_auth_responder;

/** Node handshake configuration. */
struct scpp_auth_responder_config {
	const struct scpp_auth_keypair *node_key; /**< node identity (copied) */
	struct scpp_auth_trust trust;     /**< roots (copied) and revocations (borrowed) */
	uint32_t capacity;                /**< session slots (= every worker table's) */
	uint16_t lanes;                   /**< workers, 1..SCPP_AUTH_LANES_MAX */
	uint32_t max_per_principal;       /**< sessions one principal may hold; 0 = capacity */
	uint64_t session_lifetime_ns;     /**< longest session; 0 = 24 h */
	uint64_t cookie_lifetime_ns;      /**< FINISH within this of its CHALLENGE; 0 = 30 s */
	uint64_t epoch_lifetime_ns;       /**< epoch key rotation period; 0 = 120 s */
	uint16_t algs;                    /**< allowed; 0 = every one available */
	struct scpp_auth_compile_config compile; /**< resolver; its cap is ignored */
	const uint8_t *seed;              /**< 32 bytes fixing every random choice
					   *   (tests and vectors only); NULL: random */
	const struct scpp_auth_mem *mem;
};

/**
 * Create a responder, with its first epoch starting at @p now_ns.
 *
 * @return the responder, or NULL with errno EINVAL (no node key, no roots or
 *   too many, capacity 0 or over SCPP_AUTH_SLOTS_MAX, lanes, algs),
 *   ENOSYS (no allowed algorithm available) or ENOMEM.
 */
struct scpp_auth_responder *scpp_auth_responder_create(const struct scpp_auth_responder_config *cfg,
						       uint64_t now_ns);

/** Free (secrets wiped, authorities of live sessions freed); NULL is a no-op. */
void scpp_auth_responder_free(struct scpp_auth_responder *r);

/**
 * Start a new epoch if the current one is older than its lifetime: a new
 * X25519 key and cookie key, signed once. The previous epoch stays valid for
 * FINISH messages for one cookie lifetime. Call it from the control loop.
 *
 * @return 1 if rotated, 0 if not due.
 */
int scpp_auth_responder_rotate(struct scpp_auth_responder *r, uint64_t now_ns);

/**
 * Answer a HELLO with a CHALLENGE. Costs one keyed BLAKE2b (the cookie) and
 * a copy: no public-key operation, and the answer is smaller than the
 * HELLO, so HELLO floods neither load nor amplify.
 *
 * @param addr  the source address and port, as the node sees them (opaque
 *   bytes, at most 32): the cookie binds them.
 * @return bytes of the CHALLENGE datagram; a scpp_auth_hs_parse() error;
 *   -SCPP_E_BAD_KIND; -SCPP_E_TRUNCATED / -SCPP_E_TRAILING (length);
 *   -SCPP_E_BAD_VERSION; -SCPP_E_BAD_FLAGS (payload flags);
 *   -SCPP_AUTH_E_BAD_RESERVED (padding, or a non-zero client_id);
 *   -SCPP_AUTH_E_BAD_ALG (unknown bits, or no offered algorithm allowed);
 *   -EINVAL (address over 32 bytes); -ENOSPC.
 *   No answer is sent for errors.
 */
int scpp_auth_responder_hello(struct scpp_auth_responder *r, const uint8_t *dgram, size_t len,
			      const void *addr, size_t addr_len, uint64_t now_ns, uint8_t *out,
			      size_t size);

/** What scpp_auth_responder_finish() produced. */
struct scpp_auth_finish_result {
	struct scpp_auth_session_params params; /**< new session (return 0) */
	size_t reply_len;          /**< ACCEPT or REJECT datagram in the reply buffer; 0: none */
	struct scpp_auth_fault fault; /**< where it failed */
};

/**
 * Process a reassembled FINISH message. Checks, in order (cheapest first):
 * decoding (with byte offset); epoch; cookie age; cookie; a retransmitted
 * FINISH (same bytes) of a live session is answered with the same ACCEPT;
 * the principal's signature over the transcript (proof of possession);
 * each chain (scpp_auth_chain_verify()); total links; session limits; the
 * X25519 exchange; compilation. Then a session slot is taken, keys are
 * derived, and @p res->params is ready to install in every worker table.
 *
 * @param hs_id  the handshake id of the FINISH datagrams.
 * @param reply  buffer for the ACCEPT or REJECT datagram (>= 32 + 72).
 * @return 0 (new session); 1 (retransmission: the ACCEPT is in @p reply, no
 *   new session); negative (a REJECT is in @p reply when res->reply_len > 0):
 *   decode errors of the FINISH and its chains, -SCPP_AUTH_E_STALE_EPOCH,
 *   -SCPP_AUTH_E_COOKIE_EXPIRED, -SCPP_AUTH_E_BAD_COOKIE,
 *   -SCPP_AUTH_E_BAD_SIGNATURE, chain verification errors,
 *   -SCPP_E_TOO_MANY (links), -SCPP_AUTH_E_PRINCIPAL_LIMIT,
 *   -SCPP_AUTH_E_SESSIONS_FULL, -SCPP_AUTH_E_BAD_KEY, -ENOMEM or a resolver
 *   error. Nothing is kept of a FINISH that fails.
 */
int scpp_auth_responder_finish(struct scpp_auth_responder *r, const uint8_t *msg, size_t len,
			       uint64_t hs_id, const void *addr, size_t addr_len, uint64_t now_ns,
			       uint8_t *reply, size_t reply_size,
			       struct scpp_auth_finish_result *res);

/**
 * End session @p id on the node side: its slot becomes free for a new
 * session once the caller has closed it in every worker table (send the
 * close through the same FIFO as installs). The authority is returned to
 * the caller, who frees it with scpp_auth_authority_free() once no worker
 * can still read it (after an RCU grace period).
 *
 * @return the authority, or NULL (errno ENOENT) if no such session.
 */
struct scpp_auth_authority *scpp_auth_responder_close(struct scpp_auth_responder *r,
						      uint64_t id);

/**
 * Sessions due to end: expired at @p now_ns, or compiled from a grant that
 * a revocation in the trust's revocation set now covers. Writes up to @p n
 * ids; the caller closes each (scpp_auth_responder_close(), worker tables).
 * Examines every live session: control thread, O(sessions).
 *
 * @return the number of ids written.
 */
unsigned int scpp_auth_responder_due(struct scpp_auth_responder *r, uint64_t now_ns,
				     uint64_t *ids, unsigned int n);

/** Live sessions of the responder. */
unsigned int scpp_auth_responder_sessions(const struct scpp_auth_responder *r);

/** The node identity public key. */
const uint8_t *scpp_auth_responder_node_key(const struct scpp_auth_responder *r);

/* --------------------------------------------------- carried identity */

/** Carried identity flags (docs/SECURITY.md §9.2). */
#define SCPP_AUTH_CF_CHAINS 0x01     /**< the principal's chains follow */
#define SCPP_AUTH_CF_RESTRICTED 0x02 /**< the forwarder's restrictions follow */
/** Bytes of an SF record before its optional parts. */
#define SCPP_AUTH_CARRIED_FIXED 100
/** Most restrictions one record carries. */
#define SCPP_AUTH_RESTRICT_MAX 8

/** A restriction a forwarder adds: a grant's scope, operations and names. */
struct scpp_auth_restriction {
	struct scpp_oid_prefix scope;
	uint16_t ops;
	uint8_t nattrs; /**< 0: every attribute */
	struct scpp_auth_attr attr[SCPP_AUTH_ATTRS_MAX];
};

/**
 * A carried identity record ("SF"): the original principal of forwarded
 * work, decoded (pointers into the input) or being built.
 */
struct scpp_auth_carried {
	uint8_t flags;                         /**< SCPP_AUTH_CF_* */
	uint8_t principal[SCPP_AUTH_KEY_LEN];  /**< the original client */
	uint8_t digest[SCPP_AUTH_ID_LEN];      /**< scpp_auth_carried_digest() of its chains */
	uint32_t origin_node;
	uint16_t origin_lane;
	uint8_t hops;                          /**< 0 at the first forwarder */
	uint64_t origin_session, origin_block;
	uint64_t not_after_ns;                 /**< the owner refuses it from then on */
	uint8_t nrestrict;                     /**< with RESTRICTED: 1..SCPP_AUTH_RESTRICT_MAX */
	struct scpp_auth_restriction restrict_[SCPP_AUTH_RESTRICT_MAX];
	uint8_t nchains;                       /**< with CHAINS: 1..SCPP_AUTH_CHAINS_MAX */
	const uint8_t *chains;                 /**< the encoded chains, back to back */
	size_t chains_len;
};

/** BLAKE2b-256 over (nchains, 0, chains): what a FINISH carries from byte 100. */
void scpp_auth_carried_digest(uint8_t nchains, const uint8_t *chains, size_t len,
			      uint8_t out[SCPP_AUTH_ID_LEN]);

/** Bytes scpp_auth_carried_encode() writes. */
size_t scpp_auth_carried_size(const struct scpp_auth_carried *c);

/**
 * Encode a record canonically.
 * @return bytes written; -ENOSPC; -EINVAL (unknown flags, hops 255, a
 *   count out of range, no chains with CHAINS); a restriction's
 *   scpp_auth_grant_check() error.
 */
int scpp_auth_carried_encode(const struct scpp_auth_carried *c, uint8_t *buf, size_t size);

/**
 * Decode a record (at the start of a forwarded payload: with @p used, the
 * bytes consumed; without, the record must fill @p len).
 * @return 0; -SCPP_E_TRUNCATED, -SCPP_E_BAD_MAGIC, -SCPP_E_BAD_VERSION,
 *   -SCPP_E_BAD_FLAGS, -SCPP_AUTH_E_BAD_RESERVED, -EINVAL (a count of 0),
 *   -SCPP_E_TOO_MANY, a restriction's grant-field error, a chain decode
 *   error, -SCPP_E_TRAILING; @p err_off the failing field's offset.
 */
int scpp_auth_carried_decode(const uint8_t *buf, size_t len, struct scpp_auth_carried *c,
			     size_t *used, uint32_t *err_off);

/** What the owner trusts for carried identities: its own roots and peers. */
struct scpp_auth_owner {
	struct scpp_auth_trust trust;                 /**< the owner's roots, revocations */
	const uint8_t (*peers)[SCPP_AUTH_KEY_LEN];    /**< nodes that may carry identities */
	unsigned int npeers;
	uint8_t max_hops;                             /**< hops accepted (0: first forwarder only) */
	struct scpp_auth_compile_config compile;
};

/** The rights of carried work: the principal's, narrowed by the restrictions. */
struct scpp_auth_carried_authority {
	struct scpp_auth_authority *authority;    /**< the principal's chains, verified here */
	struct scpp_auth_authority *restrictions; /**< the forwarder's, or NULL */
};

/**
 * Owner side: accept a record that arrived on a session whose principal is
 * @p peer. In order: @p peer is one of the owner's peers (-EACCES);
 * hops within max_hops (-SCPP_E_TOO_MANY); now < not_after
 * (-SCPP_AUTH_E_EXPIRED); CHAINS present (-ENOENT: use the cache, or ask
 * for them); the digest matches the chains (-SCPP_AUTH_E_BAD_SIGNATURE);
 * every chain verifies for the *record's principal* against the owner's
 * own trust at the owner's clock (scpp_auth_chain_verify() codes, @p f
 * naming the chain and link); compilation. Never uses @p peer's rights.
 * @return 0 with @p out filled (free with scpp_auth_carried_authority_free()).
 */
int scpp_auth_carried_accept(const struct scpp_auth_carried *c, const struct scpp_auth_owner *o,
			     const uint8_t peer[SCPP_AUTH_KEY_LEN], uint64_t now_ns,
			     struct scpp_auth_carried_authority *out, struct scpp_auth_fault *f);

/** scpp_auth_check() for carried work: allowed only if both allow it. */
int scpp_auth_check_carried(const struct scpp_auth_carried_authority *ca, struct scpp_oid e,
			    uint32_t attr, uint16_t ops, struct scpp_auth_denial *d);

/** Free both authorities; NULL members are fine. */
void scpp_auth_carried_authority_free(struct scpp_auth_carried_authority *ca);

/* ---------------------------------------------------------- node to node */

/**
 * The pairwise key of two nodes (docs/SECURITY.md §9.4): a static-static
 * X25519 of their Ed25519 keys (converted), hashed with both node ids and
 * public keys. Both sides compute the same key; no message is exchanged.
 * @return 0; -EINVAL (NULL, equal ids); -SCPP_AUTH_E_BAD_KEY (a key that
 *   does not convert, or an all-zero exchange).
 */
int scpp_auth_peer_key(const struct scpp_auth_keypair *self, uint32_t self_id,
		       const uint8_t peer_pk[SCPP_AUTH_KEY_LEN], uint32_t peer_id,
		       uint8_t key[SCPP_AUTH_KEY_LEN]);

/**
 * The delegated reply key: what an owner node seals a forwarded session's
 * replies with (crypto_kdf of the session's node-to-client key, subkey id
 * the owner's node id, context "scppdlg1"); the client derives the same.
 */
void scpp_auth_delegated_key(const uint8_t k_n2c[SCPP_AUTH_KEY_LEN], uint32_t owner_node,
			     uint8_t out[SCPP_AUTH_KEY_LEN]);

/**
 * Lanes of delegated replies (docs/SECURITY.md §9.4): an owner node answers
 * a forwarded session's requests on lane 0x8000 | (owner id & 0xfff) << 3 |
 * (worker & 7), sealed with ChaCha20-Poly1305 under the delegated reply key;
 * the lane number keeps every (owner, worker) in a nonce space of its own.
 */
#define SCPP_AUTH_LANE_DELEGATED 0x8000
/** Delegated lanes one client session keeps a receive window for. */
#define SCPP_AUTH_DLG_LANES 16

static inline uint16_t
scpp_auth_delegated_lane(uint32_t owner_node, uint16_t worker)
{
	return (uint16_t)(SCPP_AUTH_LANE_DELEGATED | (owner_node & 0xfff) << 3 | (worker & 7));
}

/** The owner node id (its low 12 bits) of a delegated lane. */
static inline uint32_t
scpp_auth_delegated_lane_node(uint16_t lane)
{
	return (uint32_t)(lane >> 3) & 0xfff;
}

/**
 * Owner: seal a datagram of forwarded session @p session for the client,
 * on delegated lane @p lane with counter @p counter (the caller's, unique
 * per lane for the key's life), under delegated reply key @p k_d
 * (ChaCha20-Poly1305, empty plaintext, as scpp_auth_seal() otherwise).
 * @return 0; -SCPP_AUTH_E_BAD_TAG (length); -SCPP_AUTH_E_EXHAUSTED; -EINVAL.
 */
int scpp_auth_seal_delegated(const uint8_t k_d[SCPP_AUTH_KEY_LEN], uint64_t session,
			     uint16_t lane, uint64_t counter, uint8_t *dgram, size_t len);

/** Bytes of FORWARD extension type 1 ("principal") without a restriction. */
#define SCPP_AUTH_FWD_PRINCIPAL_LEN 170

/** Extension 1 flag: the client's address in the FORWARD header is the one
 *  its handshake proved at the origin (the owner lifts the 3x limit). */
#define SCPP_AUTH_FWD_F_PROVEN 0x02
/** Extension 1 flag: the extension is a CONT's (docs/SECURITY.md §9.4 item
 *  9): the part runs with the principal's rights only, and is answered
 *  with a CONT_REPLY MAC'd under the reply key. Set on every CONT's
 *  extension 1, never on a FORWARD's (each receiver refuses the other). */
#define SCPP_AUTH_FWD_F_RESTRICTED 0x01

/** FORWARD extension type 1, decoded (docs/SECURITY.md §9.4). */
struct scpp_auth_fwd_principal {
	uint8_t principal[SCPP_AUTH_KEY_LEN]; /**< who the client proved to be */
	uint8_t digest[SCPP_AUTH_ID_LEN];     /**< its chains (scpp_auth_carried_digest()) */
	uint64_t session;                     /**< the origin session id */
	uint64_t not_after_ns;
	uint8_t flags;                        /**< SCPP_AUTH_FWD_F_PROVEN (FORWARD),
					       *   SCPP_AUTH_FWD_F_RESTRICTED (CONT), or 0 */
	uint8_t reply_key[SCPP_AUTH_KEY_LEN]; /**< the delegated reply key (FORWARD) or
					       *   the CONT_REPLY key (CONT); secret */
};

/**
 * Forwarder: write extension 1 for a forwarded request: the fields, the
 * reply key sealed (XChaCha20-Poly1305) under the pairwise key, and a MAC
 * (BLAKE2b-128, pairwise key) over @p hdr (the 44-byte FORWARD header),
 * the extension's bytes before the MAC and @p req (the request).
 * @param nonce  24 bytes, or NULL: random.
 * @return SCPP_AUTH_FWD_PRINCIPAL_LEN, -ENOSPC or -EINVAL.
 */
int scpp_auth_fwd_principal_seal(const struct scpp_auth_fwd_principal *p,
				 const uint8_t peer_key[SCPP_AUTH_KEY_LEN], const uint8_t *hdr,
				 size_t hdr_len, const uint8_t *req, size_t req_len,
				 const uint8_t nonce[24], uint8_t *out, size_t size);

/**
 * Owner: verify and open extension 1 of a FORWARD from the peer whose
 * pairwise key is @p peer_key. The MAC is checked before anything else is
 * read. It tells the owner *who the client is* and gives it the key to
 * answer with; what the client may do is the owner's own decision
 * (scpp_auth_carried_accept() of the chains the digest names).
 * @return 0; -SCPP_E_TRUNCATED, -SCPP_E_TRAILING (length);
 *   -SCPP_AUTH_E_BAD_MAC (MAC or sealed key: forged, altered, another
 *   peer); -SCPP_E_BAD_FLAGS; -SCPP_AUTH_E_BAD_RESERVED; -EINVAL.
 */
int scpp_auth_fwd_principal_open(const uint8_t *ext, size_t len,
				 const uint8_t peer_key[SCPP_AUTH_KEY_LEN], const uint8_t *hdr,
				 size_t hdr_len, const uint8_t *req, size_t req_len,
				 struct scpp_auth_fwd_principal *p);

/** Bytes of the MAC that ends a CONT_REPLY to a CONT with extension 1. */
#define SCPP_AUTH_CONT_REPLY_MAC_LEN 16

/**
 * Owner: the MAC that ends the CONT_REPLY message to a CONT that carried
 * extension 1 (docs/SECURITY.md §9.4 item 9): BLAKE2b-128 keyed with the
 * extension's reply key @p k_r over "scpp-cont-reply-v1" (with its NUL)
 * and the @p len bytes of the message before the MAC.
 */
void scpp_auth_cont_reply_mac(const uint8_t k_r[SCPP_AUTH_KEY_LEN], const uint8_t *msg,
			      size_t len, uint8_t mac[SCPP_AUTH_CONT_REPLY_MAC_LEN]);

/**
 * Origin: verify the MAC that ends CONT_REPLY message @p msg (@p len
 * bytes, the MAC included) under reply key @p k_r (constant time).
 * @return the length of the message without its MAC;
 *   -SCPP_E_TRUNCATED (shorter than the MAC); -SCPP_AUTH_E_BAD_MAC.
 */
long scpp_auth_cont_reply_open(const uint8_t k_r[SCPP_AUTH_KEY_LEN], const uint8_t *msg,
			       size_t len);

/** Bytes an IDENTITY datagram adds to its SF record: header, ids, MAC. */
#define SCPP_AUTH_IDENTITY_OVERHEAD (32 + 8 + 16)
/** Largest SF record an IDENTITY carries (a FINISH's chains and the fixed part). */
#define SCPP_AUTH_IDENTITY_SF_MAX (SCPP_AUTH_FINISH_MAX + SCPP_AUTH_CARRIED_FIXED)
/** Datagrams one IDENTITY may take (docs/SECURITY.md §9.4 item 3). */
#define SCPP_AUTH_IDENTITY_FRAGS_MAX 16

/**
 * Datagrams of at most @p max_dgram bytes an IDENTITY of an @p sf_len-byte
 * record needs (every one full but the last); 0: empty, over
 * SCPP_AUTH_IDENTITY_SF_MAX, or more than SCPP_AUTH_IDENTITY_FRAGS_MAX.
 */
unsigned int scpp_auth_identity_frags(size_t sf_len, size_t max_dgram);

/**
 * Forwarder: datagram @p index of the IDENTITY carrying SF record @p sf
 * from node @p from to node @p to, cut for datagrams of @p max_dgram bytes
 * (scpp_auth_identity_frags()); each is MAC'd on its own. @p msg_id (header
 * block_id) ties the datagrams of one IDENTITY together: any value for one
 * datagram, non-zero and fresh per message for several.
 * @return bytes written; -EINVAL (index, count, msg_id 0 with several
 *   datagrams, from == to); -ENOSPC.
 */
int scpp_auth_identity_seal_frag(const uint8_t peer_key[SCPP_AUTH_KEY_LEN], uint32_t from,
				 uint32_t to, uint64_t msg_id, const uint8_t *sf, size_t sf_len,
				 unsigned int index, size_t max_dgram, uint8_t *out, size_t size);

/** One verified IDENTITY datagram (scpp_auth_identity_open_frag()). */
struct scpp_auth_identity_frag {
	uint32_t from;         /**< sender node id */
	uint64_t msg_id;       /**< header block_id */
	uint32_t index, count; /**< fragment index and count (1..16) */
	const uint8_t *piece;  /**< its part of the SF record (into the datagram) */
	size_t piece_len;
};

/**
 * Owner: verify one IDENTITY datagram under @p peer_key (the MAC before
 * anything else), addressed to @p self, and its fragment fields.
 * @return 0; -SCPP_E_TRUNCATED / -SCPP_E_BAD_LENGTH (framing),
 *   -SCPP_E_BAD_KIND, -SCPP_AUTH_E_BAD_MAC, -SCPP_AUTH_E_WRONG_PRINCIPAL
 *   (another node's), -SCPP_E_BAD_FRAGMENT (count 0 or over 16, index >=
 *   count, LAST not exactly on the last, other flags, msg_id 0 with
 *   several).
 */
int scpp_auth_identity_open_frag(const uint8_t *dg, size_t len,
				 const uint8_t peer_key[SCPP_AUTH_KEY_LEN], uint32_t self,
				 struct scpp_auth_identity_frag *f);

/* ------------------------------------------------ bounded reassembly */

/** A reassembler's bounds (scpp_auth_reasm_create()). */
struct scpp_auth_reasm_config {
	unsigned int slots;       /**< messages in reassembly at once (1..64) */
	size_t max_bytes;         /**< largest message (1..2^20) */
	unsigned int max_frags;   /**< fragments per message (1..64) */
	uint64_t timeout_ns;      /**< a message not complete this long after its
				       first fragment is dropped (> 0) */
	const struct scpp_auth_mem *mem; /**< NULL: libc */
};

/** What a reassembler counted (never reset). */
struct scpp_auth_reasm_stats {
	uint64_t frags;       /**< fragments added */
	uint64_t completed;   /**< messages handed out whole */
	uint64_t duplicates;  /**< a fragment already held (ignored) */
	uint64_t timeouts;    /**< messages dropped incomplete after timeout_ns */
	uint64_t full;        /**< fragments dropped: every slot busy and in time */
	uint64_t too_big;     /**< messages dropped: over max_bytes */
	uint64_t bad;         /**< fragments refused: count over max_frags, index
				   >= count, count disagreeing with the slot's */
};

struct scpp_auth_reasm;

/** A reassembler: slots x max_bytes held, plus one message of output. */
struct scpp_auth_reasm *scpp_auth_reasm_create(const struct scpp_auth_reasm_config *cfg);
void scpp_auth_reasm_free(struct scpp_auth_reasm *r);

/**
 * Add fragment @p index of @p count of message (@p src, @p id), already
 * authenticated by the caller; @p now_ns is the caller's clock. A message
 * is complete when every index arrived: its bytes, in index order, are in
 * *out (valid until the next call) and its slot is free again.
 *
 * @return 1 (complete), 0 (held), -EINVAL (count 0 or over max_frags,
 *   index >= count, @p len 0), -EPROTO (count differs from the message's
 *   first fragment: the slot is dropped), -EALREADY (this index is already
 *   held: ignored), -EMSGSIZE (the message would exceed max_bytes: the slot
 *   is dropped), -ENOBUFS (every slot busy and none timed out: dropped).
 */
int scpp_auth_reasm_add(struct scpp_auth_reasm *r, uint64_t src, uint64_t id, uint32_t index,
			uint32_t count, const uint8_t *p, size_t len, uint64_t now_ns,
			const uint8_t **out, size_t *out_len);

/** Drop messages older than the timeout; returns how many. */
unsigned int scpp_auth_reasm_expire(struct scpp_auth_reasm *r, uint64_t now_ns);

/** Messages being reassembled now. */
unsigned int scpp_auth_reasm_held(const struct scpp_auth_reasm *r);

void scpp_auth_reasm_stats_get(const struct scpp_auth_reasm *r, struct scpp_auth_reasm_stats *st);

/**
 * Forwarder: an IDENTITY datagram (kind 14, docs/SECURITY.md §9.4) from
 * node @p from to node @p to carrying SF record @p sf (with CHAINS), MAC'd
 * (BLAKE2b-128, context "scpp-ident-v1") with their pairwise key over every
 * byte before the MAC. One datagram: @p sf_len + SCPP_AUTH_IDENTITY_OVERHEAD
 * must fit the path. Reusable for any node-to-node carrier (continuations).
 * @return bytes written; -ENOSPC; -EINVAL.
 */
int scpp_auth_identity_seal(const uint8_t peer_key[SCPP_AUTH_KEY_LEN], uint32_t from, uint32_t to,
			    const uint8_t *sf, size_t sf_len, uint8_t *out, size_t size);

/**
 * Owner: the node id an IDENTITY datagram says it is from (to pick the
 * pairwise key), without trusting it: -SCPP_E_TRUNCATED, -SCPP_E_BAD_KIND.
 */
int scpp_auth_identity_peek(const uint8_t *dg, size_t len, uint32_t *from);

/**
 * Owner: verify an IDENTITY datagram of one fragment under @p peer_key (the
 * MAC before anything else), addressed to @p self (a datagram of several:
 * -SCPP_E_BAD_FRAGMENT; use scpp_auth_identity_open_frag() and a
 * reassembler). @p sf / @p sf_len point into @p dg.
 * @return 0; -SCPP_E_TRUNCATED / -SCPP_E_BAD_LENGTH (framing),
 *   -SCPP_E_BAD_KIND, -SCPP_AUTH_E_BAD_MAC, -SCPP_AUTH_E_WRONG_PRINCIPAL
 *   (addressed to another node).
 */
int scpp_auth_identity_open(const uint8_t *dg, size_t len, const uint8_t peer_key[SCPP_AUTH_KEY_LEN],
			    uint32_t self, uint32_t *from, const uint8_t **sf, size_t *sf_len);

/* ------------------------------------------------ a node's configuration */

/**
 * Open the node key at @p path, or create it at first start (as SSH host
 * keys are): a fresh key pair saved to @p path (0600) and its public half
 * to @p path.pub, @p dir made first when not NULL (0755, may exist).
 * *@p created says which. @return 0, or scpp_auth_key_load()'s and
 * scpp_auth_key_save()'s errors (@p f filled where they fill it),
 * -ENAMETOOLONG.
 */
int scpp_auth_node_key_open(const char *path, const char *dir, const char *comment,
			    struct scpp_auth_keypair *kp, bool *created, struct scpp_auth_fault *f);

/** A public key given as 64 hex digits, else as a public key file. @return
 *  0 or scpp_auth_pubkey_load()'s errors. */
int scpp_auth_pubkey_spec(const char *spec, uint8_t pk[SCPP_AUTH_KEY_LEN], struct scpp_auth_fault *f);

/**
 * An auth.peers entry "ID:KEY" (KEY as in scpp_auth_pubkey_spec()); ID
 * must be 1..2^32-1 and not @p self. @return 0, or a negative error with
 * @p why saying what is wrong.
 */
int scpp_auth_peer_spec(const char *spec, uint32_t self, uint32_t *id,
			uint8_t pk[SCPP_AUTH_KEY_LEN], char *why, size_t why_len);

/**
 * Add the revocation entries of file @p path (SCPP_AUTH_REVOCATION_LEN
 * bytes each, one after the other) to @p rs. Every entry is decoded and its
 * signature verified before any is added, so a file with a bad or forged
 * entry adds nothing (a set that fills up with live entries part way keeps
 * those added before); entries already in the set count as present, not as
 * errors. An empty @p path adds nothing.
 * @return 0 (*@p total entries in the file, *@p added new), or -1 with
 *   @p why naming the entry and byte (or the file's error, or more than
 *   @p capacity entries).
 */
int scpp_auth_revocations_read(struct scpp_auth_revset *rs, const char *path, unsigned int capacity,
			       uint64_t now_ns, unsigned int *total, unsigned int *added, char *why,
			       size_t why_len);

/* ------------------------------- forwarded sessions' reply keys (owner) */

/** Slots of a table, and how far from its hash an entry may sit. */
#define SCPP_AUTH_DLG_SLOTS 1024
#define SCPP_AUTH_DLG_PROBE 8

/** A forwarded session's reply key on the owner (docs/SECURITY.md §9.4). */
struct scpp_auth_dlg {
	uint64_t session;        /**< 0: free */
	uint64_t not_after_ns;
	uint8_t key[SCPP_AUTH_KEY_LEN];
};

struct scpp_auth_dlg_table;

/** A table (one per worker: no lock). NULL with errno ENOMEM. */
struct scpp_auth_dlg_table *scpp_auth_dlg_create(const struct scpp_auth_mem *mem);
/** Free (keys wiped); NULL is a no-op. */
void scpp_auth_dlg_free(struct scpp_auth_dlg_table *t);

/** Session @p session's entry (possibly past its not-after), or NULL. */
const struct scpp_auth_dlg *scpp_auth_dlg_find(const struct scpp_auth_dlg_table *t, uint64_t session);

/**
 * Keep @p key for @p session until @p not_after_ns: in the session's entry,
 * else a free or expired one (at @p now_ns) within its probe window, else
 * in the window's entry that ends first.
 */
void scpp_auth_dlg_note(struct scpp_auth_dlg_table *t, uint64_t session, uint64_t not_after_ns,
			const uint8_t key[SCPP_AUTH_KEY_LEN], uint64_t now_ns);

/** Whether any entry was ever filled (a worker skips the lookup until then). */
bool scpp_auth_dlg_any(const struct scpp_auth_dlg_table *t);

/**
 * The CONT_REPLY key of continuation @p cont_id to node @p owner
 * (docs/SECURITY.md §9.4 item 9): keyed BLAKE2b-256 under the origin's
 * @p secret of cont_id (u64 LE) || owner (u32 LE). Only the origin (which
 * derives it) and the owner (which receives it in extension 1) know it.
 */
void scpp_auth_cont_reply_key(const uint8_t secret[SCPP_AUTH_KEY_LEN], uint64_t cont_id,
			      uint32_t owner, uint8_t k_r[SCPP_AUTH_KEY_LEN]);

/* ---------------------------------------------------------------- format */

/** Name of one operation bit ("get"), or NULL. */
const char *scpp_auth_op_name(uint16_t bit);

/**
 * Parse a comma-separated list of operation names, or "all".
 * @return 0 or -EINVAL (unknown name, empty list); @p bad receives the
 *   offending name's offset (may be NULL).
 */
int scpp_auth_ops_parse(const char *s, uint16_t *ops, size_t *bad);

/** Format an operation set as "get,set" ("all" for every bit). @return as snprintf. */
int scpp_auth_ops_format(char *buf, size_t size, uint16_t ops);

/**
 * Format ns since the Unix epoch as RFC 3339 UTC with nanoseconds when not
 * zero ("2026-12-31T00:00:00Z"). @return as snprintf.
 */
int scpp_auth_time_format(char *buf, size_t size, uint64_t ns);

/**
 * Parse an absolute time ("2026-12-31T00:00:00Z", fractional seconds
 * allowed, UTC only; or "@<ns>") or one relative to @p now_ns ("+30d",
 * "+12h", "+15m", "+90s").
 * @return 0 or -EINVAL (syntax, date out of range) or -ERANGE (overflow).
 */
int scpp_auth_time_parse(const char *s, uint64_t now_ns, uint64_t *out);

#endif /* SCPP_AUTH_H */
