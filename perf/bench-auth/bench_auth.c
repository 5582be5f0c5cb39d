/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * scpp-bench-auth: what authentication costs per datagram and per
 * handshake, against the cost of the block it protects, in one run.
 *
 * Workloads (one JSON line each, medians of --runs runs):
 * - mac:       the MAC candidates over 64, 256, 579 and 1472 bytes
 *              (579 = what the MAC covers in the datagram of a 16-get
 *              block: header + 539-byte payload + lane/counter): HMAC-SHA-256,
 *              HMAC-SHA-512/256, keyed BLAKE2b-128, SipHash-2-4-128,
 *              ChaCha20-Poly1305, AES-256-GCM with the key expanded per call
 *              and precomputed, all through libsodium, and lib/auth's own
 *              AES-256-GMAC (auth_gmac.c, the same tags; what the datagram
 *              path runs), and ours against libsodium's alternating run by run
 *              (gmac_pair: wide VPCLMULQDQ path, then the one-block path);
 * - verify / seal: scpp_auth_verify() (framing, session, lane, expiry,
 *              window, MAC, window update) and scpp_auth_seal() on that
 *              datagram, per algorithm;
 * - check16:   16 scpp_auth_check() calls (one per get of the block), by
 *              id and by name, against a 4-rule authority; cover();
 * - block:     the baseline, a 16-get block the way a worker runs it
 *              (decode, evaluate, encode the reply: perf/bench-eval's get16),
 *              and the same with authentication around it (verify the
 *              block datagram, 16 checks, seal the reply datagram); the
 *              line reports the difference and the ratio;
 * - handshake: the node's cost of a HELLO and of a FINISH (one-link chain),
 *              and full handshakes per second (both sides, one thread);
 *              Ed25519 verify for reference.
 *
 * No EAL: the shard uses the libc memory provider, so these are CPU costs
 * with a working set in cache. --quick runs fewer, shorter runs.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "scpp_auth.h"
#include "auth_priv.h" /* auth_mac_compute(): the MAC the datagram path runs */
#include "scpp_eval.h"
#include "scpp_lang.h"

#define NOW UINT64_C(1800000000000000000)
#define NDGRAM 4096

static int runs = 5;
static uint16_t only_alg; /* --alg: block figures for one algorithm (0: both) */
static double seconds = 0.4;

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void
die(const char *what)
{
	fprintf(stderr, "bench-auth: %s failed: %s\n", what, strerror(errno));
	exit(1);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* ns per call of @fn(ctx, i) over one run of about @secs. */
typedef void (*op_fn)(void *ctx, uint64_t i);

static double
run_once(op_fn fn, void *ctx, uint64_t *i, double secs)
{
	double t0 = now_ns(), t1;
	uint64_t n = 0;

	do {
		for (int k = 0; k < 256; k++)
			fn(ctx, (*i)++);
		n += 256;
		t1 = now_ns();
	} while (t1 - t0 < secs * 1e9);
	return (t1 - t0) / (double)n;
}

/* Median over runs of ns per call of @fn(ctx, i), each run ~@seconds. */
static double
measure(op_fn fn, void *ctx, double *lo, double *hi)
{
	double ns[64];
	uint64_t i = 0;

	(void)run_once(fn, ctx, &i, seconds / 4); /* warm-up */
	for (int r = 0; r < runs; r++)
		ns[r] = run_once(fn, ctx, &i, seconds);
	qsort(ns, (size_t)runs, sizeof(ns[0]), cmp_double);
	if (lo != NULL)
		*lo = ns[0];
	if (hi != NULL)
		*hi = ns[runs - 1];
	return ns[runs / 2];
}

/*
 * @a and @b alternately, run by run, so that load on the shared machine
 * hits both alike: medians of each and the median of the per-run ratios
 * (b - a) / a.
 */
static void
measure_pair(op_fn a, op_fn b, void *ctx, double *ma, double *mb, double *ratio)
{
	double na[64], nb[64], rt[64];
	uint64_t i = 0;

	(void)run_once(a, ctx, &i, seconds / 4);
	(void)run_once(b, ctx, &i, seconds / 4);
	for (int r = 0; r < runs; r++) {
		na[r] = run_once(a, ctx, &i, seconds);
		nb[r] = run_once(b, ctx, &i, seconds);
		rt[r] = (nb[r] - na[r]) / na[r];
	}
	qsort(na, (size_t)runs, sizeof(na[0]), cmp_double);
	qsort(nb, (size_t)runs, sizeof(nb[0]), cmp_double);
	qsort(rt, (size_t)runs, sizeof(rt[0]), cmp_double);
	*ma = na[runs / 2];
	*mb = nb[runs / 2];
	*ratio = rt[runs / 2];
}

/* ------------------------------------------------------------------ MAC */

struct mac_ctx {
	uint8_t msg[2048];
	size_t len;
	uint8_t key[32];
	uint8_t mac[64];
	crypto_aead_aes256gcm_state gcm;
	union auth_mac_key ours; /* lib/auth's AES-256-GMAC (auth_gmac.c) */
	volatile uint8_t sink;
};

#define MAC_OP(fname, stmt)                                                   \
	static void fname(void *p, uint64_t i)                                \
	{                                                                     \
		struct mac_ctx *c = p;                                        \
		uint8_t nonce[12] = {0};                                      \
		unsigned long long ml;                                        \
		memcpy(nonce, &i, sizeof(i));                                 \
		(void)ml;                                                     \
		(void)nonce;                                                  \
		c->msg[0] = (uint8_t)i;                                       \
		stmt;                                                         \
		c->sink = c->mac[0];                                          \
	}

MAC_OP(mac_hmac256, crypto_auth_hmacsha256(c->mac, c->msg, c->len, c->key))
MAC_OP(mac_hmac512256, crypto_auth_hmacsha512256(c->mac, c->msg, c->len, c->key))
MAC_OP(mac_blake2b, crypto_generichash(c->mac, 16, c->msg, c->len, c->key, 32))
MAC_OP(mac_siphash, crypto_shorthash_siphashx24(c->mac, c->msg, c->len, c->key))
MAC_OP(mac_chachapoly, crypto_aead_chacha20poly1305_ietf_encrypt_detached(
				 c->mac + 32, c->mac, &ml, c->msg, 0, c->msg, c->len, NULL, nonce,
				 c->key))
MAC_OP(mac_gcm_raw, crypto_aead_aes256gcm_encrypt_detached(c->mac + 32, c->mac, &ml, c->msg, 0,
							    c->msg, c->len, NULL, nonce, c->key))
MAC_OP(mac_gcm_pre, crypto_aead_aes256gcm_encrypt_detached_afternm(
			    c->mac + 32, c->mac, &ml, c->msg, 0, c->msg, c->len, NULL, nonce, &c->gcm))
MAC_OP(mac_gmac_scpp, auth_mac_compute(SCPP_AUTH_ALG_AES256GMAC, &c->ours, c->msg, c->len,
				       nonce, c->mac))

static void
bench_mac(void)
{
	static const size_t sizes[] = {64, 256, 579, 1472};
	static const struct {
		const char *name;
		op_fn fn;
		bool aes;
	} algs[] = {
		{"hmac-sha256", mac_hmac256, false},
		{"hmac-sha512-256", mac_hmac512256, false},
		{"blake2b-128", mac_blake2b, false},
		{"siphash-2-4-128", mac_siphash, false},
		{"chacha20-poly1305", mac_chachapoly, false},
		{"aes256-gcm-raw-key", mac_gcm_raw, true},
		{"aes256-gmac", mac_gcm_pre, true},
		{"aes256-gmac-scpp", mac_gmac_scpp, true},
	};
	static struct mac_ctx c;

	randombytes_buf(c.msg, sizeof(c.msg));
	randombytes_buf(c.key, sizeof(c.key));
	crypto_aead_aes256gcm_beforenm(&c.gcm, c.key);
	if (crypto_aead_aes256gcm_is_available() &&
	    auth_mac_key_init(&c.ours, SCPP_AUTH_ALG_AES256GMAC, c.key) != 0)
		die("auth_mac_key_init");
	for (size_t a = 0; a < SCPP_ARRAY_SIZE(algs); a++) {
		if (algs[a].aes && !crypto_aead_aes256gcm_is_available())
			continue;
		for (size_t s = 0; s < SCPP_ARRAY_SIZE(sizes); s++) {
			double lo, hi, med;

			c.len = sizes[s];
			med = measure(algs[a].fn, &c, &lo, &hi);
			printf("{\"bench\":\"auth\",\"op\":\"mac\",\"alg\":\"%s\",\"bytes\":%zu,"
			       "\"ns\":%.1f,\"ns_min\":%.1f,\"ns_max\":%.1f,\"per_s\":%.0f,"
			       "\"ns_per_byte\":%.3f}\n",
			       algs[a].name, sizes[s], med, lo, hi, 1e9 / med, med / (double)sizes[s]);
			fflush(stdout);
		}
	}
	/* Ours against libsodium's, alternating run by run (the same tags):
	 * the wide path where the host has it, then the one-block path. */
	if (!crypto_aead_aes256gcm_is_available())
		return;
	for (int narrow = 0; narrow < 2; narrow++) {
		auth_gmac_force_narrow(narrow == 1);
		for (size_t s = 0; s < SCPP_ARRAY_SIZE(sizes); s++) {
			double ma, mb, ratio;

			c.len = sizes[s];
			measure_pair(mac_gcm_pre, mac_gmac_scpp, &c, &ma, &mb, &ratio);
			printf("{\"bench\":\"auth\",\"op\":\"gmac_pair\",\"path\":\"%s\",\"bytes\":%zu,"
			       "\"libsodium_ns\":%.1f,\"scpp_ns\":%.1f,\"ratio\":%.3f,"
			       "\"speedup\":%.2f}\n",
			       auth_gmac_wide() ? "wide" : "narrow", sizes[s], ma, mb, 1 + ratio,
			       1 / (1 + ratio));
			fflush(stdout);
		}
	}
	auth_gmac_force_narrow(false);
}

/* -------------------------------------------------- the 16-get block */

struct blk {
	struct scpp_store *store;
	struct scpp_store_dict *dict;
	struct scpp_eval_ctx *ctx;
	struct scpp_eval_env env;
	struct scpp_wire_block wb;
	struct scpp_eval_result res;
	uint8_t msg[4096];
	size_t msg_len;
	uint8_t reply[1 << 16];
	size_t reply_len;
	uint32_t size_attr;
	struct scpp_oid ent[16];
	/* authentication */
	struct scpp_auth_table *table;
	struct scpp_auth_client_session *cs;
	struct scpp_auth_session_params sp;
	struct scpp_auth_authority *authority;
	uint8_t (*dg)[1024]; /* NDGRAM sealed block datagrams, counters 0.. */
	size_t dg_len;
	uint8_t out[1024];
	uint64_t next; /* next datagram to verify */
	volatile int sink;
};

static int64_t
bench_resolve(void *ctx, const char *name, size_t len)
{
	return scpp_store_dict_intern(ctx, name, len);
}

/* 16 entities @0.1.0.2.1..10 with `size`, as perf/bench-eval's get16. */
static void
blk_init(struct blk *b)
{
	static struct scpp_wire_block tmp;
	static uint8_t arena[8192];
	struct scpp_store_config cfg;
	struct scpp_store_dict_config dcfg = {
		.max_attrs = 4096, .name_bytes = 1 << 16, .socket_id = -1,
		.mem = &scpp_store_mem_libc,
	};
	struct scpp_lang_error err;
	char text[1024];
	size_t n = 0;
	int rc;

	scpp_store_config_init(&cfg);
	cfg.mem = &scpp_store_mem_libc;
	cfg.max_entries = 1 << 12;
	cfg.max_map_entries = 16;
	cfg.extent_bytes = 1 << 20;
	cfg.oid_node = 1;
	cfg.oid_epoch = 1;
	b->store = scpp_store_create(&cfg);
	b->dict = scpp_store_dict_create(&dcfg);
	b->ctx = scpp_eval_ctx_create(NULL, -1, false);
	if (b->store == NULL || b->dict == NULL || b->ctx == NULL)
		die("shard setup");
	b->env.store = b->store;
	b->env.dict = b->dict;
	b->env.node = scpp_oid_make(0, 1, 0, 0, 0);
	b->size_attr = (uint32_t)scpp_store_dict_intern(b->dict, "size", 4);
	for (uint64_t i = 1; i <= 16; i++) {
		struct scpp_value v = scpp_value_u64(1000 + i);

		b->ent[i - 1] = scpp_oid_make(0, 1, 0, 2, i);
		if (scpp_store_entity_create(b->store, b->ent[i - 1]) != 0 ||
		    scpp_store_set(b->store, b->ent[i - 1], b->size_attr, &v) != 0)
			die("populate");
		n += (size_t)snprintf(text + n, sizeof(text) - n, "get @0.1.0.2.%" PRIx64 " size %%v%" PRIu64 "\n", i, i);
	}
	rc = scpp_lang_parse(text, n, &tmp, arena, sizeof(arena), &err);
	if (rc == 0)
		rc = scpp_wire_block_encode(&tmp, b->msg, sizeof(b->msg));
	if (rc < 0) {
		fprintf(stderr, "bench-auth: get16 block: %s\n", err.msg);
		exit(1);
	}
	b->msg_len = (size_t)rc;
}

/* The worker's work for one block without authentication. */
static int
run_block(struct blk *b, const uint8_t *msg, size_t len)
{
	struct scpp_wire_reply_writer w;
	int rc = scpp_wire_block_decode(msg, len, &b->wb, NULL);

	if (rc != 0)
		return rc;
	scpp_wire_reply_writer_init(&w, b->reply, sizeof(b->reply));
	rc = scpp_eval_block(b->ctx, &b->env, &b->wb, 1, &w, &b->res);
	b->reply_len = w.len;
	return rc;
}

static void
op_block_plain(void *p, uint64_t i)
{
	struct blk *b = p;

	(void)i;
	b->sink = run_block(b, b->msg, b->msg_len);
}

/* A datagram header for @plen payload bytes and a session tag. */
static size_t
hdr(uint8_t *d, uint8_t kind, uint64_t block_id, size_t plen)
{
	memset(d, 0, 32);
	d[0] = 0x53;
	d[1] = 0x43;
	d[2] = 1;
	d[3] = kind;
	d[4] = 0x01;
	d[5] = SCPP_AUTH_TAG_LEN;
	d[6] = (uint8_t)plen;
	d[7] = (uint8_t)(plen >> 8);
	memcpy(d + 16, &block_id, 8);
	d[28] = 1;
	return 32 + plen + SCPP_AUTH_TAG_LEN;
}

/* Fresh session state and NDGRAM block datagrams sealed with counters
 * 0..NDGRAM-1 (verification consumes them in order). */
static void
auth_init(struct blk *b, uint16_t alg)
{
	static const char *const names[] = {"mode", "name", "size", "uid"};
	static struct scpp_auth_chain ch[4];
	struct scpp_auth_compile_config cc = {bench_resolve, b->dict, 0, NULL};
	struct scpp_auth_table_config tc = {1024, 0, NULL};

	/* Four rules like a real session's: the entities' /64 with named
	 * attributes last, so a check walks every rule. */
	memset(ch, 0, sizeof(ch));
	for (int k = 0; k < 4; k++) {
		struct scpp_auth_grant *g = &ch[k].link[0];

		ch[k].n = 1;
		scpp_oid_prefix_make(&g->scope, scpp_oid_make(0, (uint32_t)(k == 3 ? 1 : 7 + k), 0, 0, 0),
				     64);
		g->ops = SCPP_AUTH_OP_GET | SCPP_AUTH_OP_SET;
		g->expires_ns = NOW + 3600 * UINT64_C(1000000000);
		g->nattrs = 4;
		for (int a = 0; a < 4; a++)
			g->attr[a] = (struct scpp_auth_attr){names[a], (uint8_t)strlen(names[a])};
	}
	scpp_auth_authority_free(b->authority);
	b->authority = scpp_auth_authority_compile(ch, 4, ch[0].link[0].subject, &cc);
	if (b->authority == NULL)
		die("compile");
	if (b->table == NULL) {
		b->table = scpp_auth_table_create(&tc);
		b->dg = malloc((size_t)NDGRAM * sizeof(*b->dg));
		if (b->table == NULL || b->dg == NULL)
			die("table");
	}
	memset(&b->sp, 0, sizeof(b->sp));
	b->sp.id = UINT64_C(0x4242) << 24 | 7;
	b->sp.expires_ns = NOW + 3600 * UINT64_C(1000000000);
	b->sp.alg = alg;
	b->sp.lanes = 1;
	randombytes_buf(b->sp.k_c2n, 32);
	randombytes_buf(b->sp.k_n2c, 32);
	b->sp.authority = b->authority;
	scpp_auth_client_session_free(b->cs);
	b->cs = scpp_auth_client_session_create(&b->sp, NULL);
	if (b->cs == NULL)
		die("client session");
	for (int i = 0; i < NDGRAM; i++) {
		b->dg_len = hdr(b->dg[i], 1, (uint64_t)i, b->msg_len);
		memcpy(b->dg[i] + 32, b->msg, b->msg_len);
		if (scpp_auth_client_seal(b->cs, 0, b->dg[i], b->dg_len) != 0)
			die("seal");
	}
	scpp_auth_table_close(b->table, b->sp.id);
	if (scpp_auth_table_install(b->table, &b->sp) != 0)
		die("install");
	b->next = 0;
}

/* The next sealed datagram; after NDGRAM, a fresh window (reinstall,
 * untimed relative to the work: ~1 in 4096 calls). */
static const uint8_t *
next_dgram(struct blk *b)
{
	if (b->next == NDGRAM) {
		scpp_auth_table_close(b->table, b->sp.id);
		if (scpp_auth_table_install(b->table, &b->sp) != 0)
			die("install");
		b->next = 0;
	}
	return b->dg[b->next++];
}

static void
op_verify(void *p, uint64_t i)
{
	struct blk *b = p;
	struct scpp_auth_verdict v;

	(void)i;
	b->sink = scpp_auth_verify(b->table, next_dgram(b), b->dg_len, NOW, &v);
}

static void
op_seal(void *p, uint64_t i)
{
	struct blk *b = p;

	(void)i;
	hdr(b->out, 2, 1, 112);
	b->sink = scpp_auth_seal(b->table, 7, b->out, 32 + 112 + SCPP_AUTH_TAG_LEN);
}

static void
op_check16(void *p, uint64_t i)
{
	struct blk *b = p;
	int acc = 0;

	(void)i;
	for (int k = 0; k < 16; k++)
		acc |= scpp_auth_check(b->authority, b->ent[k], b->size_attr, SCPP_AUTH_OP_GET, NULL);
	b->sink = acc;
}

static void
op_check16_name(void *p, uint64_t i)
{
	struct blk *b = p;
	int acc = 0;

	(void)i;
	for (int k = 0; k < 16; k++)
		acc |= scpp_auth_check_name(b->authority, b->ent[k], "size", 4, SCPP_AUTH_OP_GET, NULL);
	b->sink = acc;
}

static void
op_cover(void *p, uint64_t i)
{
	struct blk *b = p;
	struct scpp_oid_prefix sh;

	(void)i;
	scpp_oid_prefix_make(&sh, b->ent[0], 64);
	b->sink = (int)scpp_auth_cover(b->authority, &sh, SCPP_AUTH_OP_GET);
}

/* The block with authentication around it, as scppd runs it: verify its
 * datagram, evaluate it with the session's authority (lib/eval checks every
 * command: the fast path one scpp_auth_check() per get), seal the reply
 * datagram. */
static void
op_block_auth(void *p, uint64_t i)
{
	struct blk *b = p;
	struct scpp_auth_verdict v;
	const uint8_t *d = next_dgram(b);
	int rc, acc = 0;

	(void)i;
	rc = scpp_auth_verify(b->table, d, b->dg_len, NOW, &v);
	if (rc != 0) {
		fprintf(stderr, "bench-auth: verify: %s\n", scpp_auth_strerror(rc));
		exit(1);
	}
	b->env.auth = v.authority;
	rc = run_block(b, d + 32, b->msg_len);
	b->env.auth = NULL;
	acc = b->res.outcome != SCPP_OUTCOME_OK;
	hdr(b->out, 2, 1, b->reply_len);
	memcpy(b->out + 32, b->reply, b->reply_len);
	rc |= scpp_auth_seal(b->table, v.slot, b->out, 32 + b->reply_len + SCPP_AUTH_TAG_LEN);
	b->sink = rc | acc;
}

static void
bench_block(struct blk *b)
{
	static const uint16_t algs[] = {SCPP_AUTH_ALG_AES256GMAC, SCPP_AUTH_ALG_CHACHAPOLY};
	double plain, lo, hi, med;

	if (run_block(b, b->msg, b->msg_len) != 0 || b->res.outcome != SCPP_OUTCOME_OK) {
		fprintf(stderr, "bench-auth: the get16 block fails\n");
		exit(1);
	}
	plain = measure(op_block_plain, b, &lo, &hi);
	printf("{\"bench\":\"auth\",\"op\":\"block\",\"what\":\"get16: decode+eval+encode, no auth\","
	       "\"msg_bytes\":%zu,\"reply_bytes\":%zu,\"ns_per_block\":%.1f,\"ns_min\":%.1f,"
	       "\"ns_max\":%.1f,\"blocks_per_s\":%.0f}\n",
	       b->msg_len, b->reply_len, plain, lo, hi, 1e9 / plain);
	for (size_t a = 0; a < SCPP_ARRAY_SIZE(algs); a++) {
		const char *an = algs[a] == SCPP_AUTH_ALG_AES256GMAC ? "aes256gmac" : "chachapoly";
		double ver, seal, chk, chkn, cov, both, ratio;

		if (!(scpp_auth_algs_available() & algs[a]) || (only_alg != 0 && algs[a] != only_alg))
			continue;
		auth_init(b, algs[a]);
		ver = measure(op_verify, b, &lo, &hi);
		printf("{\"bench\":\"auth\",\"op\":\"verify\",\"alg\":\"%s\",\"dgram_bytes\":%zu,"
		       "\"ns\":%.1f,\"ns_min\":%.1f,\"ns_max\":%.1f,\"per_s\":%.0f}\n",
		       an, b->dg_len, ver, lo, hi, 1e9 / ver);
		seal = measure(op_seal, b, &lo, &hi);
		printf("{\"bench\":\"auth\",\"op\":\"seal\",\"alg\":\"%s\",\"dgram_bytes\":%d,"
		       "\"ns\":%.1f,\"ns_min\":%.1f,\"ns_max\":%.1f}\n",
		       an, 32 + 112 + SCPP_AUTH_TAG_LEN, seal, lo, hi);
		if (a == 0) {
			chk = measure(op_check16, b, &lo, &hi);
			printf("{\"bench\":\"auth\",\"op\":\"check16\",\"what\":\"16 checks by id, "
			       "4 rules x 4 attrs\",\"ns\":%.1f,\"ns_per_check\":%.2f,\"ns_min\":%.1f,"
			       "\"ns_max\":%.1f}\n",
			       chk, chk / 16, lo, hi);
			chkn = measure(op_check16_name, b, &lo, &hi);
			printf("{\"bench\":\"auth\",\"op\":\"check16_name\",\"what\":\"16 checks by "
			       "name\",\"ns\":%.1f,\"ns_per_check\":%.2f,\"ns_min\":%.1f,\"ns_max\":%.1f}\n",
			       chkn, chkn / 16, lo, hi);
			cov = measure(op_cover, b, &lo, &hi);
			printf("{\"bench\":\"auth\",\"op\":\"cover\",\"ns\":%.1f,\"ns_min\":%.1f,"
			       "\"ns_max\":%.1f}\n",
			       cov, lo, hi);
		}
		measure_pair(op_block_plain, op_block_auth, b, &med, &both, &ratio);
		printf("{\"bench\":\"auth\",\"op\":\"block_auth\",\"alg\":\"%s\",\"what\":\"get16 + "
		       "verify + eval with the authority (a check per get) + seal reply\",\"ns_per_block\":%.1f,\"baseline_ns\":%.1f,"
		       "\"overhead_ns\":%.1f,\"overhead_ratio\":%.3f}\n",
		       an, both, med, both - med, ratio);
		fflush(stdout);
	}
}

/* ------------------------------------------------------------ handshake */

struct hs_ctx {
	struct scpp_auth_keypair root, node, alice;
	struct scpp_auth_responder *r;
	uint8_t roots[1][32];
	uint8_t chain[SCPP_AUTH_CHAIN_BYTES_MAX];
	size_t chain_len;
	uint8_t hello[512], chal[512], reply[512];
	int hello_len;
	/* FINISH messages prepared for the node-side timing */
	uint8_t (*fin)[1024];
	int fin_len[256];
	uint64_t hs_id[256];
	uint8_t sig[64]; /* alice's signature of chal[0..32), for the reference */
	volatile int sink;
};

static const uint8_t addr[6] = {198, 18, 0, 1, 0x1c, 0x84};

static struct scpp_auth_initiator *
hs_initiator(struct hs_ctx *h, uint64_t hs_id)
{
	struct scpp_auth_initiator_config ic;
	struct scpp_auth_initiator *ini;

	memset(&ic, 0, sizeof(ic));
	ic.principal = &h->alice;
	ic.chain[0] = h->chain;
	ic.chain_len[0] = h->chain_len;
	ic.nchains = 1;
	ic.node_key = h->node.pk;
	ic.hs_id = hs_id;
	ini = scpp_auth_initiator_create(&ic);
	if (ini == NULL)
		die("initiator");
	return ini;
}

static void
hs_init(struct hs_ctx *h)
{
	struct scpp_auth_responder_config rc;
	struct scpp_auth_chain c;
	uint8_t g[SCPP_AUTH_GRANT_MAX];
	int n;

	scpp_auth_key_generate(&h->root);
	scpp_auth_key_generate(&h->node);
	scpp_auth_key_generate(&h->alice);
	memcpy(h->roots[0], h->root.pk, 32);
	memset(&rc, 0, sizeof(rc));
	rc.node_key = &h->node;
	rc.trust = (struct scpp_auth_trust){(const uint8_t(*)[32])h->roots, 1, NULL};
	rc.capacity = 1024;
	rc.lanes = 2;
	h->r = scpp_auth_responder_create(&rc, NOW);
	memset(&c, 0, sizeof(c));
	c.n = 1;
	memcpy(c.link[0].subject, h->alice.pk, 32);
	scpp_oid_prefix_make(&c.link[0].scope, scpp_oid_make(0, 1, 0, 0, 0), 48);
	c.link[0].ops = SCPP_AUTH_OP_GET;
	c.link[0].expires_ns = NOW + 3600 * UINT64_C(1000000000);
	if (h->r == NULL || scpp_auth_grant_sign(&c.link[0], &h->root, g, sizeof(g)) < 0)
		die("responder");
	n = scpp_auth_chain_encode(&c, h->chain, sizeof(h->chain));
	h->chain_len = (size_t)n;
	h->fin = malloc(256 * sizeof(*h->fin));
	if (h->fin == NULL)
		die("malloc");
	/* 256 handshakes up to their FINISH (the client's work, untimed). */
	for (int i = 0; i < 256; i++) {
		struct scpp_auth_initiator *ini = hs_initiator(h, (uint64_t)i + 1);
		int hn = scpp_auth_initiator_hello(ini, h->hello, sizeof(h->hello));
		int cn = scpp_auth_responder_hello(h->r, h->hello, (size_t)hn, addr, sizeof(addr), NOW,
						   h->chal, sizeof(h->chal));

		h->hs_id[i] = (uint64_t)i + 1;
		h->fin_len[i] = scpp_auth_initiator_challenge(ini, h->chal, (size_t)cn, h->fin[i],
							      sizeof(h->fin[i]), NULL);
		if (h->fin_len[i] <= 0)
			die("challenge");
		scpp_auth_initiator_free(ini);
	}
	{
		struct scpp_auth_initiator *ini = hs_initiator(h, 1);

		h->hello_len = scpp_auth_initiator_hello(ini, h->hello, sizeof(h->hello));
		scpp_auth_initiator_free(ini);
	}
	crypto_sign_detached(h->sig, NULL, h->chal, 32, h->alice.sk);
}

static void
op_hello(void *p, uint64_t i)
{
	struct hs_ctx *h = p;

	(void)i;
	h->sink = scpp_auth_responder_hello(h->r, h->hello, (size_t)h->hello_len, addr, sizeof(addr),
					    NOW, h->chal, sizeof(h->chal));
}

static void
op_finish(void *p, uint64_t i)
{
	struct hs_ctx *h = p;
	struct scpp_auth_finish_result res;
	int k = (int)(i % 256), rc;

	rc = scpp_auth_responder_finish(h->r, h->fin[k], (size_t)h->fin_len[k], h->hs_id[k], addr,
					sizeof(addr), NOW, h->reply, sizeof(h->reply), &res);
	if (rc != 0) {
		fprintf(stderr, "bench-auth: finish: %s\n", scpp_auth_strerror(rc));
		exit(1);
	}
	scpp_auth_authority_free(scpp_auth_responder_close(h->r, res.params.id));
}

static void
op_full_handshake(void *p, uint64_t i)
{
	struct hs_ctx *h = p;
	struct scpp_auth_initiator *ini = hs_initiator(h, i + 1000);
	struct scpp_auth_client_session *cs = NULL;
	struct scpp_auth_finish_result res;
	uint8_t hello[512], chal[512], fin[1024];
	int hn, cn, fn, rc;

	hn = scpp_auth_initiator_hello(ini, hello, sizeof(hello));
	cn = scpp_auth_responder_hello(h->r, hello, (size_t)hn, addr, sizeof(addr), NOW, chal,
				       sizeof(chal));
	fn = scpp_auth_initiator_challenge(ini, chal, (size_t)cn, fin, sizeof(fin), NULL);
	rc = scpp_auth_responder_finish(h->r, fin, (size_t)fn, i + 1000, addr, sizeof(addr), NOW,
					h->reply, sizeof(h->reply), &res);
	if (rc == 0)
		rc = scpp_auth_initiator_accept(ini, h->reply, res.reply_len, &cs, NULL);
	if (rc != 0) {
		fprintf(stderr, "bench-auth: handshake: %s\n", scpp_auth_strerror(rc));
		exit(1);
	}
	scpp_auth_client_session_free(cs);
	scpp_auth_initiator_free(ini);
	scpp_auth_authority_free(scpp_auth_responder_close(h->r, res.params.id));
}

static void
op_ed25519_verify(void *p, uint64_t i)
{
	struct hs_ctx *h = p;

	(void)i;
	h->sink = crypto_sign_verify_detached(h->sig, h->chal, 32, h->alice.pk);
}

static void
bench_handshake(void)
{
	static struct hs_ctx h;
	double lo, hi, med;
	int saved = runs;

	hs_init(&h);
	med = measure(op_hello, &h, &lo, &hi);
	printf("{\"bench\":\"auth\",\"op\":\"node_hello\",\"ns\":%.1f,\"ns_min\":%.1f,\"ns_max\":%.1f,"
	       "\"per_s\":%.0f}\n",
	       med, lo, hi, 1e9 / med);
	fflush(stdout);
	runs = runs > 3 ? 3 : runs; /* the slow ones: fewer runs */
	med = measure(op_finish, &h, &lo, &hi);
	printf("{\"bench\":\"auth\",\"op\":\"node_finish\",\"what\":\"one-link chain: sig + chain + "
	       "X25519 + compile\",\"us\":%.1f,\"us_min\":%.1f,\"us_max\":%.1f,\"per_s\":%.0f}\n",
	       med / 1e3, lo / 1e3, hi / 1e3, 1e9 / med);
	fflush(stdout);
	med = measure(op_full_handshake, &h, &lo, &hi);
	printf("{\"bench\":\"auth\",\"op\":\"handshake\",\"what\":\"client and node, one thread\","
	       "\"us\":%.1f,\"us_min\":%.1f,\"us_max\":%.1f,\"per_s\":%.0f}\n",
	       med / 1e3, lo / 1e3, hi / 1e3, 1e9 / med);
	med = measure(op_ed25519_verify, &h, &lo, &hi);
	printf("{\"bench\":\"auth\",\"op\":\"ed25519_verify\",\"us\":%.1f,\"per_s\":%.0f}\n",
	       med / 1e3, 1e9 / med);
	fflush(stdout);
	runs = saved;
	scpp_auth_responder_free(h.r);
	free(h.fin);
}

static void
usage(void)
{
	fprintf(stderr, "usage: scpp-bench-auth [--op mac|block|handshake|all] [--runs R] "
			"[--seconds S] [--quick] [--alg aes256gmac|chachapoly]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static struct blk b;
	const char *op = "all";

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--op") == 0 && i + 1 < argc)
			op = argv[++i];
		else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = atoi(argv[++i]);
		else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (strcmp(argv[i], "--alg") == 0 && i + 1 < argc) {
			i++;
			only_alg = strcmp(argv[i], "aes256gmac") == 0   ? SCPP_AUTH_ALG_AES256GMAC
				   : strcmp(argv[i], "chachapoly") == 0 ? SCPP_AUTH_ALG_CHACHAPOLY
									: 0;
			if (only_alg == 0)
				usage();
		} else if (strcmp(argv[i], "--quick") == 0) {
			runs = 3;
			seconds = 0.1;
		} else
			usage();
	}
	if (runs < 1 || runs > 64 || seconds <= 0)
		usage();
	if (scpp_auth_init() != 0)
		die("sodium_init");
	if (strcmp(op, "all") == 0 || strcmp(op, "mac") == 0)
		bench_mac();
	if (strcmp(op, "all") == 0 || strcmp(op, "block") == 0) {
		blk_init(&b);
		bench_block(&b);
	}
	if (strcmp(op, "all") == 0 || strcmp(op, "handshake") == 0)
		bench_handshake();
	return 0;
}
