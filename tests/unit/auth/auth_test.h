/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef AUTH_TEST_H
#define AUTH_TEST_H

/*
 * Fixtures shared by the lib/auth test files: deterministic keys, grant and
 * chain builders, a counting allocator. Everything is seeded, so every
 * failure reproduces.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scpp_test.h"
#include "scpp_auth.h"

/* 2027-01-15T08:00:00Z: the "now" of every test. */
#define T_NOW UINT64_C(1800000000000000000)
#define T_DAY (UINT64_C(86400) * 1000000000)

/* Domain asserts that report the caller's line. */
#define assert_code(rc, want)                                                  \
	do {                                                                   \
		int rc_ = (rc), want_ = (want);                                \
		if (rc_ != want_)                                              \
			fail_msg("got %d (%s), want %d (%s)", rc_,             \
				 scpp_auth_error_name(rc_) ? scpp_auth_error_name(rc_) : "?", \
				 want_,                                        \
				 scpp_auth_error_name(want_) ? scpp_auth_error_name(want_) : "?"); \
	} while (0)

static inline void
t_key(struct scpp_auth_keypair *kp, uint8_t tag)
{
	uint8_t seed[32];

	memset(seed, tag, sizeof(seed));
	assert_int_equal(scpp_auth_key_from_seed(kp, seed), 0);
}

static inline struct scpp_oid_prefix
t_prefix(uint64_t hi, uint64_t lo, uint8_t len)
{
	struct scpp_oid_prefix p;

	assert_int_equal(scpp_oid_prefix_make(&p, (struct scpp_oid){hi, lo}, len), 0);
	return p;
}

/* A grant's fields; names are borrowed (string literals). */
static inline void
t_grant(struct scpp_auth_grant *g, const uint8_t *subject, struct scpp_oid_prefix scope,
	uint16_t ops, uint8_t depth, uint64_t expires, const char *const *attrs, unsigned int n)
{
	memset(g, 0, sizeof(*g));
	memcpy(g->subject, subject, SCPP_AUTH_KEY_LEN);
	g->scope = scope;
	g->ops = ops;
	g->depth = depth;
	g->expires_ns = expires;
	g->nattrs = (uint8_t)n;
	for (unsigned int i = 0; i < n; i++) {
		g->attr[i].p = attrs[i];
		g->attr[i].len = (uint8_t)strlen(attrs[i]);
	}
}

/* Sign g with issuer into buf (which then backs g->raw). */
static inline size_t
t_sign(struct scpp_auth_grant *g, const struct scpp_auth_keypair *issuer, uint8_t *buf,
       size_t size)
{
	int n = scpp_auth_grant_sign(g, issuer, buf, size);

	assert_true(n > 0);
	return (size_t)n;
}

/* Counting allocator: live bytes/objects, and an optional failure. */
struct t_mem {
	long live;
	long objects;
	int calls;
	int fail_at; /* fail the n-th call (1-based); 0: never */
};

static inline void *
t_mem_alloc(void *ctx, size_t size, size_t align)
{
	struct t_mem *m = ctx;
	void *p;

	if (++m->calls == m->fail_at)
		return NULL;
	p = aligned_alloc(align, (size + align - 1) / align * align);
	if (p != NULL) {
		m->live += (long)size;
		m->objects++;
	}
	return p;
}

static inline void
t_mem_free(void *ctx, void *p, size_t size)
{
	struct t_mem *m = ctx;

	assert_non_null(p);
	m->live -= (long)size;
	m->objects--;
	free(p);
}

static inline void
t_hex(const char *hex, uint8_t *out, size_t n)
{
	assert_int_equal(scpp_auth_hex_parse(hex, strlen(hex), out, n), 0);
}

/* The conformance vectors (test_auth_vectors.c). */
void test_conformance_vectors(void **state);

/* Node to node (test_auth_peer.c). */
void test_peer_key_is_pairwise(void **state);
void test_fwd_principal_seal_open(void **state);
void test_cont_principal_and_reply_mac(void **state);
void test_identity_seal_open(void **state);
void test_identity_fragments_reassemble(void **state);
void test_reasm_bounds_and_errors(void **state);

/* A node's start-up material and its workers' tables (test_auth_node.c). */
void test_node_key_open_creates_then_loads(void **state);
void test_peer_spec(void **state);
void test_revocations_read_all_or_nothing(void **state);
void test_dlg_table_keeps_replaces_evicts(void **state);
void test_cont_reply_key_derivation(void **state);

/* Tests in test_auth_session.c, run from test_auth.c's main. */
extern const struct CMUnitTest auth_session_tests[];
extern const size_t auth_session_ntests;

#endif /* AUTH_TEST_H */
