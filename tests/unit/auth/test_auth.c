/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of lib/auth, part 1: keys and key files, the grant, chain and
 * revocation codecs (every decoder error with its offset, canonical round
 * trips), chain verification (each way a chain can be wrong), revocation
 * sets, and the compiled authority against a naive reference model on
 * random grants and requests. Part 2 (sessions, MAC, replay window,
 * handshake, conformance vectors) is test_auth_session.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth_test.h"

static struct scpp_auth_keypair k_root, k_alice, k_bob, k_carol;

static int
setup_keys(void **state)
{
	(void)state;
	assert_int_equal(scpp_auth_init(), 0);
	t_key(&k_root, 0x01);
	t_key(&k_alice, 0x02);
	t_key(&k_bob, 0x03);
	t_key(&k_carol, 0x04);
	return 0;
}

/* ------------------------------------------------------------------ keys */

static void
test_key_from_seed_is_deterministic_and_generate_is_not(void **state)
{
	struct scpp_auth_keypair a, b, c, d;

	(void)state;
	t_key(&a, 7);
	t_key(&b, 7);
	assert_memory_equal(a.pk, b.pk, 32);
	assert_memory_equal(a.sk, b.sk, 64);
	assert_memory_equal(a.sk + 32, a.pk, 32); /* libsodium layout */
	assert_int_equal(scpp_auth_key_generate(&c), 0);
	assert_int_equal(scpp_auth_key_generate(&d), 0);
	assert_memory_not_equal(c.pk, d.pk, 32);
	scpp_auth_key_wipe(&c);
	for (size_t i = 0; i < sizeof(c); i++)
		assert_int_equal(((uint8_t *)&c)[i], 0);
	assert_int_equal(scpp_auth_key_from_seed(NULL, a.sk), -EINVAL);
}

static char tmpdir[64];

static int
setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/scpp-auth-test.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int
teardown_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void
path(char *buf, const char *name)
{
	snprintf(buf, 128, "%s/%s", tmpdir, name);
}

static void
write_text(const char *p, const char *text, mode_t mode)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void
test_key_file_round_trip_modes_and_force(void **state)
{
	struct scpp_auth_keypair got;
	uint8_t pk[32];
	char p[128], pp[128], comment[129];
	struct stat st;

	(void)state;
	path(p, "alice.key");
	path(pp, "alice.pub");
	assert_int_equal(scpp_auth_key_save(p, &k_alice, "alice@test", 0), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(scpp_auth_key_load(p, &got, comment, NULL), 0);
	assert_memory_equal(got.sk, k_alice.sk, 64);
	assert_string_equal(comment, "alice@test");
	assert_int_equal(scpp_auth_pubkey_save(pp, k_alice.pk, NULL, 0), 0);
	assert_int_equal(stat(pp, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	memset(pk, 0, sizeof(pk));
	assert_int_equal(scpp_auth_pubkey_load(pp, pk, comment, NULL), 0);
	assert_memory_equal(pk, k_alice.pk, 32);
	assert_string_equal(comment, "");
	/* A secret file also yields its public key. */
	memset(pk, 0, sizeof(pk));
	assert_int_equal(scpp_auth_pubkey_load(p, pk, NULL, NULL), 0);
	assert_memory_equal(pk, k_alice.pk, 32);
	/* No silent overwrite; FORCE replaces, atomically (no temp left). */
	assert_int_equal(scpp_auth_key_save(p, &k_bob, NULL, 0), -EEXIST);
	assert_int_equal(scpp_auth_key_load(p, &got, NULL, NULL), 0);
	assert_memory_equal(got.pk, k_alice.pk, 32);
	assert_int_equal(scpp_auth_key_save(p, &k_bob, NULL, SCPP_AUTH_SAVE_FORCE), 0);
	assert_int_equal(scpp_auth_key_load(p, &got, NULL, NULL), 0);
	assert_memory_equal(got.pk, k_bob.pk, 32);
	assert_int_equal(scpp_auth_key_save(p, &k_bob, "bad\ncomment", SCPP_AUTH_SAVE_FORCE),
			 -EINVAL);
	assert_int_equal(scpp_auth_key_save(p, &k_bob, NULL, 0x100), -EINVAL);
	{
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "ls '%s' | grep -c tmp", tmpdir);
		assert_int_not_equal(system(cmd), 0); /* grep finds nothing */
	}
}

static void
test_key_file_errors_name_the_line(void **state)
{
	char good_pub[128], good_seed[128], pkh[128];
	struct {
		const char *text;
		mode_t mode;
		int code;
		uint32_t line;
	} cases[8];
	struct scpp_auth_keypair got;
	struct scpp_auth_fault f;
	char p[128];
	unsigned int n = 0;

	(void)state;
	/* The seed of 0x02 bytes (k_alice) and its public key. */
	scpp_auth_hex_format(good_pub, k_alice.pk, 32);
	scpp_auth_hex_format(good_seed, k_alice.sk, 32);
	scpp_auth_hex_format(pkh, k_bob.pk, 32); /* someone else's public key */
	char text[8][512];

	snprintf(text[0], 512, "scpp-key 2\ntype ed25519-secret\npublic %s\nseed %s\n", good_pub,
		 good_seed);
	cases[n++] = (typeof(cases[0])){text[0], 0600, -SCPP_AUTH_E_KEY_FILE, 1};
	snprintf(text[1], 512, "scpp-key 1\ntype rsa\npublic %s\nseed %s\n", good_pub, good_seed);
	cases[n++] = (typeof(cases[0])){text[1], 0600, -SCPP_AUTH_E_KEY_FILE, 2};
	snprintf(text[2], 512, "scpp-key 1\ntype ed25519-secret\npublic %.63s\nseed %s\n",
		 good_pub, good_seed);
	cases[n++] = (typeof(cases[0])){text[2], 0600, -SCPP_AUTH_E_KEY_FILE, 3};
	snprintf(text[3], 512, "scpp-key 1\ntype ed25519-secret\npublic %s\nseed %sxx\n", good_pub,
		 good_seed);
	cases[n++] = (typeof(cases[0])){text[3], 0600, -SCPP_AUTH_E_KEY_FILE, 4};
	snprintf(text[4], 512, "scpp-key 1\ntype ed25519-secret\npublic %s\nseed %s\nextra x\n",
		 good_pub, good_seed);
	cases[n++] = (typeof(cases[0])){text[4], 0600, -SCPP_AUTH_E_KEY_FILE, 5};
	snprintf(text[5], 512, "scpp-key 1\ntype ed25519-secret\npublic %s\nseed %s\n", pkh,
		 good_seed);
	cases[n++] = (typeof(cases[0])){text[5], 0600, -SCPP_AUTH_E_KEY_MISMATCH, 3};
	snprintf(text[6], 512, "scpp-key 1\ntype ed25519-secret\npublic %s\nseed %s\n", good_pub,
		 good_seed);
	cases[n++] = (typeof(cases[0])){text[6], 0640, -SCPP_AUTH_E_KEY_PERMS, 0};
	snprintf(text[7], 512, "scpp-key 1\ntype ed25519-public\npublic %s\n", good_pub);
	cases[n++] = (typeof(cases[0])){text[7], 0644, -SCPP_AUTH_E_KEY_FILE, 2};
	path(p, "bad.key");
	for (unsigned int i = 0; i < n; i++) {
		unlink(p);
		write_text(p, cases[i].text, cases[i].mode);
		scpp_auth_fault_clear(&f);
		assert_code(scpp_auth_key_load(p, &got, NULL, &f), cases[i].code);
		assert_int_equal(f.line, cases[i].line);
	}
	/* The good text loads (so each case above failed for its one change). */
	unlink(p);
	write_text(p, text[6], 0600);
	assert_int_equal(scpp_auth_key_load(p, &got, NULL, NULL), 0);
	assert_memory_equal(got.pk, k_alice.pk, 32);
	path(p, "missing.key");
	assert_int_equal(scpp_auth_key_load(p, &got, NULL, NULL), -ENOENT);
	{
		char big[5000];

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		path(p, "big.key");
		write_text(p, big, 0600);
		assert_int_equal(scpp_auth_key_load(p, &got, NULL, NULL), -EFBIG);
	}
}

/* ----------------------------------------------------------- grant codec */

static const char *const attrs3[] = {"mode", "name", "size"};

/* A grant from root to alice with three names, signed into buf. */
static size_t
sample_grant(struct scpp_auth_grant *g, uint8_t *buf, size_t size)
{
	t_grant(g, k_alice.pk, t_prefix(0x0000000100000000ull, 0, 48), SCPP_AUTH_OP_GET | SCPP_AUTH_OP_SET,
		2, T_NOW + T_DAY, attrs3, 3);
	return t_sign(g, &k_root, buf, size);
}

static void
test_grant_round_trip_is_canonical(void **state)
{
	uint8_t buf[SCPP_AUTH_GRANT_MAX], again[SCPP_AUTH_GRANT_MAX];
	struct scpp_auth_grant g, d;
	size_t n;
	uint64_t seed = 42;

	(void)state;
	n = sample_grant(&g, buf, sizeof(buf));
	assert_int_equal(n, SCPP_AUTH_GRANT_FIXED + 3 * 5 + 64);
	assert_int_equal(scpp_auth_grant_size(&g), n);
	assert_int_equal(scpp_auth_grant_decode(buf, n, &d, NULL, NULL), 0);
	assert_memory_equal(d.issuer, k_root.pk, 32);
	assert_memory_equal(d.subject, k_alice.pk, 32);
	assert_int_equal(d.scope.len, 48);
	assert_int_equal(d.nattrs, 3);
	assert_int_equal(d.attr[1].len, 4);
	assert_memory_equal(d.attr[1].p, "name", 4);
	assert_int_equal(scpp_auth_grant_encode(&d, again, sizeof(again)), (int)n);
	assert_memory_equal(again, buf, n);
	assert_int_equal(scpp_auth_grant_encode(&d, again, n - 1), -ENOSPC);
	assert_int_equal(scpp_auth_grant_verify(&d), 0);

	/* Random grants: decode(encode(g)) re-encodes to the same bytes. */
	for (int k = 0; k < 200; k++) {
		static const char *const names[] = {"a", "ab", "b", "ba", "mode", "name", "size", "z"};
		const char *pick[8];
		unsigned int na = 0;
		size_t m;

		for (unsigned int i = 0; i < 8; i++)
			if (test_rand(&seed) & 1)
				pick[na++] = names[i];
		t_grant(&g, k_bob.pk,
			t_prefix(test_rand(&seed), test_rand(&seed), (uint8_t)test_rand_below(&seed, 129)),
			(uint16_t)(1 + test_rand_below(&seed, SCPP_AUTH_OP_ALL)),
			(uint8_t)test_rand_below(&seed, 8), test_rand(&seed), pick, na);
		m = t_sign(&g, &k_alice, buf, sizeof(buf));
		assert_int_equal(scpp_auth_grant_decode(buf, m, &d, NULL, NULL), 0);
		assert_int_equal(scpp_auth_grant_encode(&d, again, sizeof(again)), (int)m);
		assert_memory_equal(again, buf, m);
		assert_int_equal(scpp_auth_grant_verify(&d), 0);
	}
}

/* Decode a mutated copy of a valid grant; expect (code, offset). */
static void
expect_decode(const uint8_t *orig, size_t n, size_t cut, int at, uint8_t val, int code,
	      uint32_t off)
{
	uint8_t b[SCPP_AUTH_GRANT_MAX + 1];
	struct scpp_auth_grant g;
	uint32_t got = 0xdeadbeef;

	memcpy(b, orig, n);
	b[n] = 0;
	if (at >= 0)
		b[at] = val;
	assert_code(scpp_auth_grant_decode(b, cut, &g, NULL, &got), code);
	assert_int_equal(got, off);
}

static void
test_grant_decoder_reports_each_error_at_its_offset(void **state)
{
	uint8_t buf[SCPP_AUTH_GRANT_MAX], b2[SCPP_AUTH_GRANT_MAX];
	struct scpp_auth_grant g, d;
	size_t n = 0, n2;
	uint32_t off;

	(void)state;
	n = sample_grant(&g, buf, sizeof(buf));
	/* Truncation inside each field reports that field. */
	expect_decode(buf, n, 0, -1, 0, -SCPP_E_TRUNCATED, 0);
	expect_decode(buf, n, 1, -1, 0, -SCPP_E_TRUNCATED, 0);
	expect_decode(buf, n, 2, -1, 0, -SCPP_E_TRUNCATED, 2);
	expect_decode(buf, n, 3, -1, 0, -SCPP_E_TRUNCATED, 3);
	expect_decode(buf, n, 10, -1, 0, -SCPP_E_TRUNCATED, 4);
	expect_decode(buf, n, 40, -1, 0, -SCPP_E_TRUNCATED, 36);
	expect_decode(buf, n, 70, -1, 0, -SCPP_E_TRUNCATED, 68);
	expect_decode(buf, n, 84, -1, 0, -SCPP_E_TRUNCATED, 84);
	expect_decode(buf, n, 85, -1, 0, -SCPP_E_TRUNCATED, 85);
	expect_decode(buf, n, 87, -1, 0, -SCPP_E_TRUNCATED, 86);
	expect_decode(buf, n, 90, -1, 0, -SCPP_E_TRUNCATED, 88);
	expect_decode(buf, n, 96, -1, 0, -SCPP_E_TRUNCATED, 96);
	expect_decode(buf, n, 97, -1, 0, -SCPP_E_TRUNCATED, 97);  /* first name's length byte */
	expect_decode(buf, n, 99, -1, 0, -SCPP_E_TRUNCATED, 97);  /* inside the first name */
	expect_decode(buf, n, 104, -1, 0, -SCPP_E_TRUNCATED, 102); /* inside the second */
	expect_decode(buf, n, n - 1, -1, 0, -SCPP_E_TRUNCATED, (uint32_t)(n - 64));
	/* Bad values, one field at a time. */
	expect_decode(buf, n, n, 0, 'X', -SCPP_E_BAD_MAGIC, 0);
	expect_decode(buf, n, n, 1, 'C', -SCPP_E_BAD_MAGIC, 0);
	expect_decode(buf, n, n, 2, 2, -SCPP_E_BAD_VERSION, 2);
	expect_decode(buf, n, n, 3, 1, -SCPP_E_BAD_FLAGS, 3);
	expect_decode(buf, n, n, 84, 129, -SCPP_AUTH_E_BAD_PREFIX, 84);
	expect_decode(buf, n, n, 84, 8, -SCPP_AUTH_E_BAD_PREFIX, 68); /* bits past /8 set */
	expect_decode(buf, n, n, 68 + 15, 1, -SCPP_AUTH_E_BAD_PREFIX, 68); /* low bit, /48 */
	expect_decode(buf, n, n, 85, 8, -SCPP_AUTH_E_BAD_DEPTH, 85);
	expect_decode(buf, n, n, 86, 0, -SCPP_AUTH_E_BAD_OPS, 86); /* ops 0x0000 */
	expect_decode(buf, n, n, 86, 0x80, -SCPP_AUTH_E_BAD_OPS, 86);
	expect_decode(buf, n, n, 87, 0x01, -SCPP_AUTH_E_BAD_OPS, 86);
	expect_decode(buf, n, n, 96, 33, -SCPP_E_TOO_MANY, 96);
	expect_decode(buf, n, n, 97, 0, -SCPP_AUTH_E_BAD_ATTR, 97);
	expect_decode(buf, n, n, 97, 65, -SCPP_AUTH_E_BAD_ATTR, 97);
	expect_decode(buf, n, n, 98, 0xff, -SCPP_E_BAD_UTF8, 97);
	expect_decode(buf, n, n, 103, 'a', -SCPP_AUTH_E_UNORDERED, 102); /* "name" -> "aame" < "mode" */
	expect_decode(buf, n, n, 103, 'm', -SCPP_AUTH_E_UNORDERED, 102); /* "mame" < "mode" */
	expect_decode(buf, n, n + 1, -1, 0, -SCPP_E_TRAILING, (uint32_t)n);
	/* A duplicate name is not strictly increasing either. */
	{
		static const char *const dup[] = {"mode", "mode"};

		t_grant(&d, k_alice.pk, t_prefix(0, 0, 0), SCPP_AUTH_OP_GET, 0, 1, dup, 2);
		assert_code(scpp_auth_grant_check(&d), -SCPP_AUTH_E_UNORDERED);
		assert_code(scpp_auth_grant_encode(&d, b2, sizeof(b2)), -SCPP_AUTH_E_UNORDERED);
		/* Forge its bytes by hand from a single-name grant. */
		static const char *const one[] = {"mode"};

		t_grant(&d, k_alice.pk, t_prefix(0, 0, 0), SCPP_AUTH_OP_GET, 0, 1, one, 1);
		n2 = (size_t)scpp_auth_grant_encode(&d, b2, sizeof(b2));
		memmove(b2 + 97 + 10, b2 + 97 + 5, 64);
		memcpy(b2 + 102, "\x04mode", 5);
		b2[96] = 2;
		off = 0;
		assert_code(scpp_auth_grant_decode(b2, n2 + 5, &d, NULL, &off), -SCPP_AUTH_E_UNORDERED);
		assert_int_equal(off, 102);
	}
	/* Every proper prefix is a truncation, never anything else. */
	for (size_t cut = 0; cut < n; cut++) {
		off = UINT32_MAX;
		assert_code(scpp_auth_grant_decode(buf, cut, &d, NULL, &off), -SCPP_E_TRUNCATED);
		assert_true(off <= cut);
	}
	/* With "used", trailing bytes belong to the caller. */
	memcpy(b2, buf, n);
	b2[n] = 0x55;
	assert_int_equal(scpp_auth_grant_decode(b2, n + 1, &d, &n2, NULL), 0);
	assert_int_equal(n2, n);
}

static void
test_grant_check_rejects_bad_fields_before_encoding(void **state)
{
	static const char *const bad_utf8[] = {"\xc3\x28"};
	static const char *const unordered[] = {"b", "a"};
	static const char *const toolong[] = {"0123456789012345678901234567890123456789012345678901234567890123x"};
	struct scpp_auth_grant g;
	uint8_t buf[SCPP_AUTH_GRANT_MAX];

	(void)state;
	t_grant(&g, k_alice.pk, t_prefix(0, 0, 0), SCPP_AUTH_OP_GET, 0, 1, NULL, 0);
	assert_int_equal(scpp_auth_grant_check(&g), 0);
	g.scope.len = 129;
	assert_code(scpp_auth_grant_check(&g), -SCPP_AUTH_E_BAD_PREFIX);
	g.scope = (struct scpp_oid_prefix){{1, 0}, 8};
	assert_code(scpp_auth_grant_check(&g), -SCPP_AUTH_E_BAD_PREFIX);
	g.scope = t_prefix(0, 0, 0);
	g.depth = 8;
	assert_code(scpp_auth_grant_check(&g), -SCPP_AUTH_E_BAD_DEPTH);
	g.depth = 7;
	g.ops = 0;
	assert_code(scpp_auth_grant_check(&g), -SCPP_AUTH_E_BAD_OPS);
	g.ops = 0x80;
	assert_code(scpp_auth_grant_sign(&g, &k_root, buf, sizeof(buf)), -SCPP_AUTH_E_BAD_OPS);
	g.ops = SCPP_AUTH_OP_ALL;
	g.nattrs = 33;
	assert_code(scpp_auth_grant_check(&g), -SCPP_E_TOO_MANY);
	t_grant(&g, k_alice.pk, t_prefix(0, 0, 0), 1, 0, 1, bad_utf8, 1);
	assert_code(scpp_auth_grant_check(&g), -SCPP_E_BAD_UTF8);
	t_grant(&g, k_alice.pk, t_prefix(0, 0, 0), 1, 0, 1, unordered, 2);
	assert_code(scpp_auth_grant_check(&g), -SCPP_AUTH_E_UNORDERED);
	t_grant(&g, k_alice.pk, t_prefix(0, 0, 0), 1, 0, 1, toolong, 1);
	assert_code(scpp_auth_grant_check(&g), -SCPP_AUTH_E_BAD_ATTR);
	assert_code(scpp_auth_grant_check(NULL), -EINVAL);
}

static void
test_grant_signature_and_id_cover_every_field(void **state)
{
	uint8_t buf[SCPP_AUTH_GRANT_MAX], id0[32], id1[32];
	struct scpp_auth_grant g, d;
	size_t n;

	(void)state;
	n = sample_grant(&g, buf, sizeof(buf));
	assert_int_equal(scpp_auth_grant_id(&g, id0), 0);
	/* The id of the constructed grant equals the decoded one's. */
	g.raw = NULL;
	assert_int_equal(scpp_auth_grant_id(&g, id1), 0);
	assert_memory_equal(id0, id1, 32);
	assert_int_equal(scpp_auth_grant_verify(&g), 0);
	/* Any body byte changed: the signature fails and the id moves. Bytes
	 * are flipped where the result still decodes. */
	static const size_t spots[] = {4, 40, 70, 88, 95, 100};
	for (size_t i = 0; i < SCPP_ARRAY_SIZE(spots); i++) {
		uint8_t b[SCPP_AUTH_GRANT_MAX];

		memcpy(b, buf, n);
		b[spots[i]] ^= 0x01;
		if (spots[i] == 100)
			b[spots[i]] = 'e'; /* "mode" -> "mede": still ordered */
		assert_int_equal(scpp_auth_grant_decode(b, n, &d, NULL, NULL), 0);
		assert_code(scpp_auth_grant_verify(&d), -SCPP_AUTH_E_BAD_SIGNATURE);
		assert_int_equal(scpp_auth_grant_id(&d, id1), 0);
		assert_memory_not_equal(id0, id1, 32);
	}
	/* A signature byte changed: fails, id unchanged (ids name the body). */
	buf[n - 1] ^= 0x80;
	assert_int_equal(scpp_auth_grant_decode(buf, n, &d, NULL, NULL), 0);
	assert_code(scpp_auth_grant_verify(&d), -SCPP_AUTH_E_BAD_SIGNATURE);
	assert_int_equal(scpp_auth_grant_id(&d, id1), 0);
	assert_memory_equal(id0, id1, 32);
}

static void
test_grant_has_attr(void **state)
{
	struct scpp_auth_grant g;

	(void)state;
	t_grant(&g, k_alice.pk, t_prefix(0, 0, 0), 1, 0, 1, attrs3, 3);
	assert_true(scpp_auth_grant_has_attr(&g, "mode", 4));
	assert_true(scpp_auth_grant_has_attr(&g, "size", 4));
	assert_false(scpp_auth_grant_has_attr(&g, "nam", 3));
	assert_false(scpp_auth_grant_has_attr(&g, "names", 5));
	g.nattrs = 0;
	assert_true(scpp_auth_grant_has_attr(&g, "anything", 8));
}

/* ---------------------------------------------------------------- chains */

struct t_chain {
	uint8_t buf[8][SCPP_AUTH_GRANT_MAX];
	struct scpp_auth_chain c;
	uint8_t enc[SCPP_AUTH_CHAIN_BYTES_MAX];
	size_t len;
};

/* root -> alice (/48, all attrs, get|set|del, depth 3, +2 days)
 *      -> bob   (/64 inside it, {mode,name,size}, get|set, depth 1, +1 day) */
static void
chain2(struct t_chain *t)
{
	memset(&t->c, 0, sizeof(t->c));
	t->c.n = 2;
	t_grant(&t->c.link[0], k_alice.pk, t_prefix(0x0000000100000000ull, 0, 48),
		SCPP_AUTH_OP_GET | SCPP_AUTH_OP_SET | SCPP_AUTH_OP_DEL, 3, T_NOW + 2 * T_DAY, NULL, 0);
	t_sign(&t->c.link[0], &k_root, t->buf[0], sizeof(t->buf[0]));
	t_grant(&t->c.link[1], k_bob.pk, t_prefix(0x0000000100000002ull, 0, 64),
		SCPP_AUTH_OP_GET | SCPP_AUTH_OP_SET, 1, T_NOW + T_DAY, attrs3, 3);
	t_sign(&t->c.link[1], &k_alice, t->buf[1], sizeof(t->buf[1]));
}

static void
resign(struct t_chain *t, unsigned int i, const struct scpp_auth_keypair *k)
{
	t_sign(&t->c.link[i], k, t->buf[i], sizeof(t->buf[i]));
}

static const uint8_t (*roots1)[32];

static struct scpp_auth_trust
trust(const struct scpp_auth_revset *rs)
{
	static uint8_t r[1][32];

	memcpy(r[0], k_root.pk, 32);
	roots1 = (const uint8_t(*)[32])r;
	return (struct scpp_auth_trust){roots1, 1, rs};
}

static void
expect_chain(struct t_chain *t, const uint8_t *principal, const struct scpp_auth_revset *rs,
	     uint64_t now, int code, uint8_t link)
{
	struct scpp_auth_trust tr = trust(rs);
	struct scpp_auth_chain d;
	struct scpp_auth_fault f;
	int n;

	/* Through the codec, as a node receives it. */
	n = scpp_auth_chain_encode(&t->c, t->enc, sizeof(t->enc));
	assert_true(n > 0);
	assert_int_equal((size_t)n, scpp_auth_chain_size(&t->c));
	assert_int_equal(scpp_auth_chain_decode(t->enc, (size_t)n, &d, NULL, NULL), 0);
	scpp_auth_fault_clear(&f);
	assert_code(scpp_auth_chain_verify(&d, principal, &tr, now, &f), code);
	if (code != 0)
		assert_int_equal(f.link, link);
}

static void
test_chain_valid_and_each_failure_names_its_link(void **state)
{
	static const char *const wider[] = {"mode", "name", "size", "uid"};
	static const char *const narrower[] = {"name"};
	struct t_chain t;

	(void)state;
	chain2(&t);
	expect_chain(&t, k_bob.pk, NULL, T_NOW, 0, 0);
	/* Wrong root: the same chain under another root of trust. */
	chain2(&t);
	resign(&t, 0, &k_carol);
	expect_chain(&t, k_bob.pk, NULL, T_NOW, -SCPP_AUTH_E_UNTRUSTED_ROOT, 0);
	/* Broken link: link 1 signed by carol, not alice. */
	chain2(&t);
	resign(&t, 1, &k_carol);
	expect_chain(&t, k_bob.pk, NULL, T_NOW, -SCPP_AUTH_E_BROKEN_LINK, 1);
	/* Widened scope: bob's /64 moved outside alice's /48; a /40. */
	chain2(&t);
	t.c.link[1].scope = t_prefix(0x0000000200000002ull, 0, 64);
	resign(&t, 1, &k_alice);
	expect_chain(&t, k_bob.pk, NULL, T_NOW, -SCPP_AUTH_E_WIDENED_SCOPE, 1);
	chain2(&t);
	t.c.link[1].scope = t_prefix(0x0000000100000000ull, 0, 40);
	resign(&t, 1, &k_alice);
	expect_chain(&t, k_bob.pk, NULL, T_NOW, -SCPP_AUTH_E_WIDENED_SCOPE, 1);
	/* Widened attributes: link 0 lists {name}, link 1 more (or all). */
	chain2(&t);
	t.c.link[0].nattrs = 1;
	t.c.link[0].attr[0] = (struct scpp_auth_attr){narrower[0], 4};
	resign(&t, 0, &k_root);
	expect_chain(&t, k_bob.pk, NULL, T_NOW, -SCPP_AUTH_E_WIDENED_ATTRS, 1);
	t.c.link[1].nattrs = 0;
	resign(&t, 1, &k_alice);
	expect_chain(&t, k_bob.pk, NULL, T_NOW, -SCPP_AUTH_E_WIDENED_ATTRS, 1);
	chain2(&t);
	t.c.link[0].nattrs = 3;
	for (unsigned int i = 0; i < 3; i++)
		t.c.link[0].attr[i] = (struct scpp_auth_attr){attrs3[i], (uint8_t)strlen(attrs3[i])};
	resign(&t, 0, &k_root);
	t.c.link[1].nattrs = 4;
	for (unsigned int i = 0; i < 4; i++)
		t.c.link[1].attr[i] = (struct scpp_auth_attr){wider[i], (uint8_t)strlen(wider[i])};
	resign(&t, 1, &k_alice);
	expect_chain(&t, k_bob.pk, NULL, T_NOW, -SCPP_AUTH_E_WIDENED_ATTRS, 1);
	/* Widened operations, expiry, depth. */
	chain2(&t);
	t.c.link[1].ops |= SCPP_AUTH_OP_SCHEMA;
	resign(&t, 1, &k_alice);
	expect_chain(&t, k_bob.pk, NULL, T_NOW, -SCPP_AUTH_E_WIDENED_OPS, 1);
	chain2(&t);
	t.c.link[1].expires_ns = T_NOW + 3 * T_DAY;
	resign(&t, 1, &k_alice);
	expect_chain(&t, k_bob.pk, NULL, T_NOW, -SCPP_AUTH_E_WIDENED_EXPIRY, 1);
	chain2(&t);
	t.c.link[1].depth = 3;
	resign(&t, 1, &k_alice);
	expect_chain(&t, k_bob.pk, NULL, T_NOW, -SCPP_AUTH_E_WIDENED_DEPTH, 1);
	chain2(&t);
	t.c.link[0].depth = 0;
	resign(&t, 0, &k_root);
	expect_chain(&t, k_bob.pk, NULL, T_NOW, -SCPP_AUTH_E_WIDENED_DEPTH, 1);
	/* Expired: bob's link first (it expires earlier), then alice's. */
	chain2(&t);
	expect_chain(&t, k_bob.pk, NULL, T_NOW + T_DAY - 1, 0, 0);
	expect_chain(&t, k_bob.pk, NULL, T_NOW + T_DAY, -SCPP_AUTH_E_EXPIRED, 1);
	expect_chain(&t, k_bob.pk, NULL, T_NOW + 2 * T_DAY, -SCPP_AUTH_E_EXPIRED, 0);
	/* Wrong principal: carol presents bob's chain. */
	expect_chain(&t, k_carol.pk, NULL, T_NOW, -SCPP_AUTH_E_WRONG_PRINCIPAL, 1);
	/* Bad signature on an otherwise perfect chain. */
	chain2(&t);
	t.c.link[1].sig[5] ^= 1;
	expect_chain(&t, k_bob.pk, NULL, T_NOW, -SCPP_AUTH_E_BAD_SIGNATURE, 1);
	/* Structural errors are reported before (and instead of) signatures. */
	t.c.link[1].expires_ns = T_NOW + 3 * T_DAY;
	expect_chain(&t, k_bob.pk, NULL, T_NOW, -SCPP_AUTH_E_WIDENED_EXPIRY, 1);
}

static void
test_chain_empty_means_root_and_length_is_bounded(void **state)
{
	struct scpp_auth_keypair keys[SCPP_AUTH_CHAIN_MAX + 1];
	struct scpp_auth_trust tr;
	struct t_chain *t = calloc(1, sizeof(*t));
	struct scpp_auth_chain d;
	uint32_t off;
	int n;

	(void)state;
	tr = trust(NULL);
	assert_non_null(t);
	t->c.n = 0;
	assert_int_equal(scpp_auth_chain_verify(&t->c, k_root.pk, &tr, T_NOW, NULL), 0);
	assert_code(scpp_auth_chain_verify(&t->c, k_alice.pk, &tr, T_NOW, NULL),
		    -SCPP_AUTH_E_UNTRUSTED_ROOT);
	/* The longest chain: 8 links, each allowing one level less. */
	keys[0] = k_root;
	for (unsigned int i = 1; i <= SCPP_AUTH_CHAIN_MAX; i++)
		t_key(&keys[i], (uint8_t)(0x40 + i));
	t->c.n = SCPP_AUTH_CHAIN_MAX;
	for (unsigned int i = 0; i < SCPP_AUTH_CHAIN_MAX; i++) {
		t_grant(&t->c.link[i], keys[i + 1].pk, t_prefix(0, 0, (uint8_t)(8 * i)),
			SCPP_AUTH_OP_GET, (uint8_t)(SCPP_AUTH_CHAIN_MAX - 1 - i), T_NOW + T_DAY, NULL, 0);
		t_sign(&t->c.link[i], &keys[i], t->buf[i], sizeof(t->buf[i]));
	}
	n = scpp_auth_chain_encode(&t->c, t->enc, sizeof(t->enc));
	assert_true(n > 0);
	assert_int_equal(scpp_auth_chain_decode(t->enc, (size_t)n, &d, NULL, NULL), 0);
	assert_int_equal(scpp_auth_chain_verify(&d, keys[SCPP_AUTH_CHAIN_MAX].pk, &tr, T_NOW, NULL),
			 0);
	/* One link more does not decode, and a struct with 9 is refused. */
	t->enc[3] = SCPP_AUTH_CHAIN_MAX + 1;
	off = 0;
	assert_code(scpp_auth_chain_decode(t->enc, (size_t)n, &d, NULL, &off), -SCPP_E_TOO_MANY);
	assert_int_equal(off, 3);
	d.n = SCPP_AUTH_CHAIN_MAX + 1;
	assert_code(scpp_auth_chain_verify(&d, k_root.pk, &tr, T_NOW, NULL), -EINVAL);
	assert_code(scpp_auth_chain_encode(&d, t->enc, sizeof(t->enc)), -SCPP_E_TOO_MANY);
	free(t);
}

static void
test_chain_decoder_errors_and_round_trip(void **state)
{
	struct t_chain t;
	struct scpp_auth_chain d;
	uint8_t again[SCPP_AUTH_CHAIN_BYTES_MAX];
	uint32_t off;
	int n;

	(void)state;
	chain2(&t);
	n = scpp_auth_chain_encode(&t.c, t.enc, sizeof(t.enc));
	assert_int_equal(scpp_auth_chain_decode(t.enc, (size_t)n, &d, NULL, NULL), 0);
	assert_int_equal(scpp_auth_chain_encode(&d, again, sizeof(again)), n);
	assert_memory_equal(again, t.enc, (size_t)n);
	for (int cut = 0; cut < n; cut++) {
		off = UINT32_MAX;
		assert_code(scpp_auth_chain_decode(t.enc, (size_t)cut, &d, NULL, &off),
			    -SCPP_E_TRUNCATED);
		assert_true(off <= (uint32_t)cut);
	}
	memcpy(again, t.enc, (size_t)n);
	again[1] = 'G';
	assert_code(scpp_auth_chain_decode(again, (size_t)n, &d, NULL, &off), -SCPP_E_BAD_MAGIC);
	assert_int_equal(off, 0);
	memcpy(again, t.enc, (size_t)n);
	again[2] = 9;
	assert_code(scpp_auth_chain_decode(again, (size_t)n, &d, NULL, &off), -SCPP_E_BAD_VERSION);
	assert_int_equal(off, 2);
	/* An error inside link 1 is reported at its offset in the chain. */
	memcpy(again, t.enc, (size_t)n);
	{
		size_t l1 = 4 + scpp_auth_grant_size(&t.c.link[0]);

		again[l1 + 86] = 0;
		assert_code(scpp_auth_chain_decode(again, (size_t)n, &d, NULL, &off),
			    -SCPP_AUTH_E_BAD_OPS);
		assert_int_equal(off, l1 + 86);
	}
	memcpy(again, t.enc, (size_t)n);
	again[n] = 0;
	assert_code(scpp_auth_chain_decode(again, (size_t)n + 1, &d, NULL, &off), -SCPP_E_TRAILING);
	assert_int_equal(off, (uint32_t)n);
}

/* ------------------------------------------------------------ revocation */

static void
t_revoke(struct scpp_auth_revset *rs, const struct scpp_auth_grant *g,
       const struct scpp_auth_keypair *by, int want)
{
	struct scpp_auth_revocation r, d;
	uint8_t buf[SCPP_AUTH_REVOCATION_LEN];

	memset(&r, 0, sizeof(r));
	assert_int_equal(scpp_auth_grant_id(g, r.grant_id), 0);
	r.grant_expires_ns = g->expires_ns;
	r.revoked_ns = T_NOW;
	assert_int_equal(scpp_auth_revocation_sign(&r, by, buf, sizeof(buf)),
			 SCPP_AUTH_REVOCATION_LEN);
	assert_int_equal(scpp_auth_revocation_decode(buf, sizeof(buf), &d, NULL), 0);
	assert_int_equal(scpp_auth_revocation_verify(&d), 0);
	assert_code(scpp_auth_revset_add(rs, &d, T_NOW), want);
}

static void
test_revocation_counts_only_from_someone_entitled(void **state)
{
	struct scpp_auth_revset *rs = scpp_auth_revset_create(8, NULL);
	struct t_chain t;

	(void)state;
	assert_non_null(rs);
	chain2(&t);
	/* Bob revoking his own grant, or carol revoking it: no effect. */
	t_revoke(rs, &t.c.link[1], &k_bob, 0);
	t_revoke(rs, &t.c.link[1], &k_carol, 0);
	expect_chain(&t, k_bob.pk, rs, T_NOW, 0, 0);
	/* Alice (the issuer) can; so can the root; for link 0 only the root. */
	t_revoke(rs, &t.c.link[1], &k_alice, 0);
	expect_chain(&t, k_bob.pk, rs, T_NOW, -SCPP_AUTH_E_REVOKED, 1);
	t_revoke(rs, &t.c.link[1], &k_alice, -EEXIST);
	scpp_auth_revset_free(rs);
	rs = scpp_auth_revset_create(8, NULL);
	t_revoke(rs, &t.c.link[1], &k_root, 0);
	expect_chain(&t, k_bob.pk, rs, T_NOW, -SCPP_AUTH_E_REVOKED, 1);
	scpp_auth_revset_free(rs);
	rs = scpp_auth_revset_create(8, NULL);
	t_revoke(rs, &t.c.link[0], &k_alice, 0); /* alice cannot revoke her own parent */
	expect_chain(&t, k_bob.pk, rs, T_NOW, 0, 0);
	t_revoke(rs, &t.c.link[0], &k_root, 0);
	expect_chain(&t, k_bob.pk, rs, T_NOW, -SCPP_AUTH_E_REVOKED, 0);
	assert_int_equal(scpp_auth_revset_count(rs), 2);
	scpp_auth_revset_free(rs);
}

static void
test_revset_is_bounded_prunes_expired_and_checks_signatures(void **state)
{
	struct scpp_auth_revset *rs = scpp_auth_revset_create(2, NULL);
	struct scpp_auth_revocation r;
	uint8_t buf[SCPP_AUTH_REVOCATION_LEN];
	uint32_t off;

	(void)state;
	assert_null(scpp_auth_revset_create(0, NULL));
	assert_int_equal(errno, EINVAL);
	memset(&r, 0, sizeof(r));
	for (int i = 0; i < 2; i++) {
		r.grant_id[0] = (uint8_t)i;
		r.grant_expires_ns = T_NOW + (uint64_t)i; /* the first expires at T_NOW */
		scpp_auth_revocation_sign(&r, &k_root, buf, sizeof(buf));
		assert_int_equal(scpp_auth_revset_add(rs, &r, T_NOW - 1), 0);
	}
	r.grant_id[0] = 9;
	r.grant_expires_ns = T_NOW + T_DAY;
	scpp_auth_revocation_sign(&r, &k_root, buf, sizeof(buf));
	/* Full of live entries: refused, unchanged. */
	assert_code(scpp_auth_revset_add(rs, &r, T_NOW - 1), -ENOSPC);
	assert_int_equal(scpp_auth_revset_count(rs), 2);
	/* At T_NOW the first has expired and makes room. */
	assert_int_equal(scpp_auth_revset_add(rs, &r, T_NOW), 0);
	assert_int_equal(scpp_auth_revset_count(rs), 2);
	{
		uint8_t id0[32] = {0}, id9[32] = {9};

		assert_false(scpp_auth_revset_match(rs, id0, (const uint8_t(*)[32])k_root.pk, 1));
		assert_true(scpp_auth_revset_match(rs, id9, (const uint8_t(*)[32])k_root.pk, 1));
		assert_false(scpp_auth_revset_match(rs, id9, (const uint8_t(*)[32])k_alice.pk, 1));
	}
	/* A forged entry is refused. */
	r.grant_id[0] = 10;
	assert_code(scpp_auth_revset_add(rs, &r, T_NOW), -SCPP_AUTH_E_BAD_SIGNATURE);
	/* Decoder errors. */
	scpp_auth_revocation_sign(&r, &k_root, buf, sizeof(buf));
	assert_code(scpp_auth_revocation_decode(buf, 147, &r, &off), -SCPP_E_TRUNCATED);
	assert_int_equal(off, 84);
	assert_code(scpp_auth_revocation_decode(buf, 40, &r, &off), -SCPP_E_TRUNCATED);
	assert_int_equal(off, 36);
	buf[3] = 1;
	assert_code(scpp_auth_revocation_decode(buf, 148, &r, &off), -SCPP_E_BAD_FLAGS);
	assert_int_equal(off, 3);
	buf[1] = 'G';
	assert_code(scpp_auth_revocation_decode(buf, 148, &r, &off), -SCPP_E_BAD_MAGIC);
	scpp_auth_revset_free(rs);
	scpp_auth_revset_free(NULL);
}

/* ------------------------------------------------------------- authority */

static const char *const universe[] = {"a", "b", "c", "mode", "name", "size", "type", "uid"};
#define NU SCPP_ARRAY_SIZE(universe)

static int64_t
resolve(void *ctx, const char *name, size_t len)
{
	(void)ctx;
	for (size_t i = 0; i < NU; i++)
		if (strlen(universe[i]) == len && memcmp(universe[i], name, len) == 0)
			return (int64_t)(100 + i);
	return -ENOENT;
}

static struct scpp_auth_compile_config
ccfg(struct t_mem *m)
{
	static struct scpp_auth_mem mem;

	mem = (struct scpp_auth_mem){t_mem_alloc, t_mem_free, m};
	return (struct scpp_auth_compile_config){resolve, NULL, 0, m != NULL ? &mem : NULL};
}

/* The naive model: straight from the grant fields, per request. */
struct model_rule {
	struct scpp_oid_prefix scope;
	uint16_t ops;
	uint8_t nattrs;
	uint8_t attr[NU]; /* universe indexes */
};

static int
model_check(const struct model_rule *r, unsigned int n, struct scpp_oid e, int attr /* -1 any, -2 all */,
	    uint16_t ops, struct scpp_auth_denial *d)
{
	uint16_t cov = 0;
	bool ent = false, att = false;

	for (unsigned int i = 0; i < n; i++) {
		bool has = r[i].nattrs == 0 || attr == -1;

		if (!scpp_oid_prefix_match(&r[i].scope, e))
			continue;
		ent = true;
		for (unsigned int k = 0; !has && attr >= 0 && k < r[i].nattrs; k++)
			has = r[i].attr[k] == attr;
		if (!has)
			continue;
		att = true;
		cov |= r[i].ops;
	}
	uint16_t miss = ops & (uint16_t)~cov;

	if (miss == 0)
		return 0;
	d->reason = !ent ? SCPP_AUTH_DENY_SCOPE : !att ? SCPP_AUTH_DENY_ATTR : SCPP_AUTH_DENY_OPS;
	d->missing = d->reason == SCPP_AUTH_DENY_OPS ? miss : ops;
	return d->reason == SCPP_AUTH_DENY_OPS && miss == SCPP_AUTH_OP_SCHEMA ? -EPERM : -EACCES;
}

/* An OID near one of a few bases, so requests hit and miss scopes. */
static struct scpp_oid
near(uint64_t *s)
{
	static const uint64_t base[] = {0x0000000100000000ull, 0x0000000100000002ull,
					0x0000000200000000ull};
	struct scpp_oid o = {base[test_rand_below(s, 3)], test_rand_below(s, 4)};

	if (test_rand(s) & 1)
		o.hi ^= UINT64_C(1) << test_rand_below(s, 64);
	if (test_rand(s) & 1)
		o.lo ^= UINT64_C(1) << test_rand_below(s, 64);
	return o;
}

static void
test_authority_matches_reference_model_on_random_grants(void **state)
{
	static struct scpp_auth_chain chains[SCPP_AUTH_CHAINS_MAX];
	struct model_rule model[SCPP_AUTH_CHAINS_MAX];
	uint64_t seed = 0x5eed;
	unsigned long checks = 0, allowed = 0, by_reason[4] = {0}, covers[3] = {0};
	struct t_mem mem = {0};

	(void)state;
	for (int round = 0; round < 300; round++) {
		unsigned int n = 1 + (unsigned int)test_rand_below(&seed, SCPP_AUTH_CHAINS_MAX);
		struct scpp_auth_compile_config cc = ccfg(&mem);
		struct scpp_auth_authority *a;

		for (unsigned int c = 0; c < n; c++) {
			struct scpp_auth_grant *g = &chains[c].link[0];
			struct scpp_oid o = near(&seed);
			uint8_t len = (uint8_t)(test_rand_below(&seed, 4) == 0
							? test_rand_below(&seed, 129)
							: 32 + 16 * test_rand_below(&seed, 7));
			const char *names[NU];
			unsigned int na = 0;

			model[c].nattrs = 0;
			if (test_rand_below(&seed, 3) != 0)
				for (unsigned int i = 0; i < NU; i++)
					if (test_rand_below(&seed, 3) == 0) {
						names[na] = universe[i];
						model[c].attr[na++] = (uint8_t)i;
					}
			model[c].nattrs = (uint8_t)na;
			chains[c].n = 1;
			t_grant(g, k_alice.pk, t_prefix(o.hi, o.lo, len),
				(uint16_t)(1 + test_rand_below(&seed, SCPP_AUTH_OP_ALL)), 0, T_NOW + T_DAY,
				names, na);
			model[c].scope = g->scope;
			model[c].ops = g->ops;
		}
		a = scpp_auth_authority_compile(chains, n, k_alice.pk, &cc);
		assert_non_null(a);
		assert_int_equal(scpp_auth_authority_expires(a), T_NOW + T_DAY);
		for (int q = 0; q < 200; q++) {
			struct scpp_oid e = near(&seed);
			int attr = (int)test_rand_below(&seed, NU + 2) - 2;
			uint16_t ops = (uint16_t)(1 + test_rand_below(&seed, SCPP_AUTH_OP_ALL));
			uint32_t id = attr == -1 ? SCPP_AUTH_ATTR_ANY
				      : attr == -2 ? SCPP_AUTH_ATTR_ALL
						   : (uint32_t)(100 + attr);
			struct scpp_auth_denial dm = {0}, dg = {9, 9}, dn = {9, 9};
			int want = model_check(model, n, e, attr, ops, &dm);
			int got = scpp_auth_check(a, e, id, ops, &dg);

			assert_int_equal(got, want);
			if (want != 0) {
				assert_int_equal(dg.reason, dm.reason);
				assert_int_equal(dg.missing, dm.missing);
				by_reason[dm.reason]++;
			} else {
				assert_int_equal(dg.reason, SCPP_AUTH_DENY_NONE);
				allowed++;
			}
			if (attr >= 0) {
				got = scpp_auth_check_name(a, e, universe[attr], strlen(universe[attr]),
							   ops, &dn);
				assert_int_equal(got, want);
				if (want != 0)
					assert_int_equal(dn.reason, dm.reason);
			}
			checks++;
		}
		/* cover() is sound: NONE means every check under p fails, ALL
		 * means every check under p passes. */
		for (int q = 0; q < 30; q++) {
			struct scpp_oid o = near(&seed);
			struct scpp_oid_prefix p = t_prefix(o.hi, o.lo, (uint8_t)(40 + 8 * test_rand_below(&seed, 4)));
			uint16_t ops = (uint16_t)(1u << test_rand_below(&seed, SCPP_AUTH_OP_BITS));
			enum scpp_auth_cover cv = scpp_auth_cover(a, &p, ops);

			covers[cv]++;
			for (int k = 0; k < 20 && cv != SCPP_AUTH_COVER_SOME; k++) {
				struct scpp_oid e = p.oid;

				e.lo ^= test_rand(&seed) & (p.len >= 64 ? UINT64_MAX >> (p.len - 64) : UINT64_MAX);
				if (p.len < 64)
					e.hi ^= test_rand(&seed) & (UINT64_MAX >> p.len);
				for (unsigned int at = 0; at < NU; at++) {
					int rc = scpp_auth_check(a, e, 100 + at, ops, NULL);

					assert_int_equal(rc == 0, cv == SCPP_AUTH_COVER_ALL);
				}
			}
		}
		scpp_auth_authority_free(a);
	}
	/* The random cases exercised every outcome. */
	assert_true(allowed > 1000);
	assert_true(by_reason[SCPP_AUTH_DENY_SCOPE] > 1000);
	assert_true(by_reason[SCPP_AUTH_DENY_ATTR] > 100);
	assert_true(by_reason[SCPP_AUTH_DENY_OPS] > 1000);
	assert_true(covers[0] > 10 && covers[1] > 10 && covers[2] > 10);
	assert_int_equal(checks, 300 * 200);
	assert_int_equal(mem.live, 0);
	assert_int_equal(mem.objects, 0);
}

static void
test_authority_rules_add_up_and_schema_is_eperm(void **state)
{
	static struct scpp_auth_chain ch[3];
	static const char *const type_only[] = {"type"};
	struct scpp_auth_compile_config cc = ccfg(NULL);
	struct scpp_auth_authority *a;
	struct scpp_auth_denial d;
	struct scpp_oid e = {0x0000000100000005ull, 7};
	const uint8_t(*ids)[32];

	(void)state;
	memset(ch, 0, sizeof(ch));
	ch[0].n = ch[1].n = 1;
	t_grant(&ch[0].link[0], k_alice.pk, t_prefix(0x0000000100000000ull, 0, 48),
		SCPP_AUTH_OP_SET | SCPP_AUTH_OP_GET, 0, T_NOW + T_DAY, NULL, 0);
	t_grant(&ch[1].link[0], k_alice.pk, t_prefix(e.hi, e.lo, 128), SCPP_AUTH_OP_SCHEMA, 0,
		T_NOW + 2 * T_DAY, type_only, 1);
	a = scpp_auth_authority_compile(ch, 2, k_alice.pk, &cc);
	assert_non_null(a);
	/* set + schema on "type" of e: one rule gives set, the other schema. */
	assert_int_equal(scpp_auth_check(a, e, 106, SCPP_AUTH_OP_SET | SCPP_AUTH_OP_SCHEMA, &d), 0);
	/* On "name" of e only set: schema missing is a privilege, EPERM. */
	assert_int_equal(scpp_auth_check(a, e, 104, SCPP_AUTH_OP_SET | SCPP_AUTH_OP_SCHEMA, &d),
			 -EPERM);
	assert_int_equal(d.reason, SCPP_AUTH_DENY_OPS);
	assert_int_equal(d.missing, SCPP_AUTH_OP_SCHEMA);
	/* del missing too: EACCES, both named. */
	assert_int_equal(scpp_auth_check(a, e, 104, SCPP_AUTH_OP_DEL | SCPP_AUTH_OP_SCHEMA, &d),
			 -EACCES);
	assert_int_equal(d.missing, SCPP_AUTH_OP_DEL | SCPP_AUTH_OP_SCHEMA);
	/* Deleting the whole entity needs a rule covering all attributes. */
	assert_int_equal(scpp_auth_check(a, e, SCPP_AUTH_ATTR_ALL, SCPP_AUTH_OP_SET, NULL), 0);
	assert_int_equal(scpp_auth_check(a, e, SCPP_AUTH_ATTR_ALL, SCPP_AUTH_OP_SCHEMA, &d), -EPERM);
	assert_int_equal(d.reason, SCPP_AUTH_DENY_OPS);
	/* Outside every scope. */
	assert_int_equal(scpp_auth_check(a, (struct scpp_oid){0x0000000200000000ull, 1},
					 SCPP_AUTH_ATTR_ANY, SCPP_AUTH_OP_GET, &d),
			 -EACCES);
	assert_int_equal(d.reason, SCPP_AUTH_DENY_SCOPE);
	/* Expiry is the earliest rule's; grant ids were kept. */
	assert_int_equal(scpp_auth_authority_expires(a), T_NOW + T_DAY);
	assert_int_equal(scpp_auth_authority_grants(a, &ids), 2);
	assert_memory_equal(scpp_auth_authority_principal(a), k_alice.pk, 32);
	scpp_auth_authority_free(a);

	/* Without a resolver names still work, ids match nothing named. */
	cc.resolve = NULL;
	a = scpp_auth_authority_compile(&ch[1], 1, k_alice.pk, &cc);
	assert_non_null(a);
	assert_int_equal(scpp_auth_check_name(a, e, "type", 4, SCPP_AUTH_OP_SCHEMA, NULL), 0);
	assert_int_equal(scpp_auth_check(a, e, 106, SCPP_AUTH_OP_SCHEMA, &d), -EACCES);
	assert_int_equal(d.reason, SCPP_AUTH_DENY_ATTR);
	/* Named attributes never cover "every attribute". */
	assert_int_equal(scpp_auth_check(a, e, SCPP_AUTH_ATTR_ALL, SCPP_AUTH_OP_SCHEMA, &d), -EACCES);
	assert_int_equal(d.reason, SCPP_AUTH_DENY_ATTR);
	assert_int_equal(d.missing, SCPP_AUTH_OP_SCHEMA);
	scpp_auth_authority_free(a);

	/* A root's empty chain: everything, capped by the config. */
	cc.expires_cap_ns = T_NOW + 5;
	a = scpp_auth_authority_compile(&ch[2], 1, k_root.pk, &cc);
	assert_non_null(a);
	assert_int_equal(scpp_auth_check(a, e, SCPP_AUTH_ATTR_ALL, SCPP_AUTH_OP_ALL, NULL), 0);
	assert_int_equal(scpp_auth_cover(a, &(struct scpp_oid_prefix){{0, 0}, 0}, SCPP_AUTH_OP_DEL),
			 SCPP_AUTH_COVER_ALL);
	assert_int_equal(scpp_auth_authority_expires(a), T_NOW + 5);
	scpp_auth_authority_free(a);
	scpp_auth_authority_free(NULL);
	/* Bad arguments; a resolver failure fails the compile. */
	assert_null(scpp_auth_authority_compile(ch, 0, k_alice.pk, &cc));
	assert_int_equal(errno, EINVAL);
	ch[0].link[0].nattrs = 1;
	ch[0].link[0].attr[0] = (struct scpp_auth_attr){"nope", 4};
	cc.resolve = resolve;
	assert_null(scpp_auth_authority_compile(ch, 1, k_alice.pk, &cc));
	assert_int_equal(errno, ENOENT);
}

static void
test_authority_compile_failing_allocator_leaks_nothing(void **state)
{
	static struct scpp_auth_chain ch[1];
	struct t_mem mem = {0};
	struct scpp_auth_compile_config cc = ccfg(&mem);

	(void)state;
	ch[0].n = 1;
	t_grant(&ch[0].link[0], k_alice.pk, t_prefix(0, 0, 0), 1, 0, T_NOW, attrs3, 3);
	mem.fail_at = 1;
	assert_null(scpp_auth_authority_compile(ch, 1, k_alice.pk, &cc));
	assert_int_equal(errno, ENOMEM);
	assert_int_equal(mem.objects, 0);
	mem.fail_at = 0;
	struct scpp_auth_authority *a = scpp_auth_authority_compile(ch, 1, k_alice.pk, &cc);

	assert_non_null(a);
	assert_int_equal(mem.objects, 1);
	scpp_auth_authority_free(a);
	assert_int_equal(mem.objects, 0);
	assert_int_equal(mem.live, 0);
}

/* ---------------------------------------------------------------- format */

static void
test_ops_and_time_text_forms(void **state)
{
	char buf[64];
	uint16_t ops;
	uint64_t t;
	size_t bad;

	(void)state;
	assert_int_equal(scpp_auth_ops_parse("get,set,schema", &ops, NULL), 0);
	assert_int_equal(ops, SCPP_AUTH_OP_GET | SCPP_AUTH_OP_SET | SCPP_AUTH_OP_SCHEMA);
	scpp_auth_ops_format(buf, sizeof(buf), ops);
	assert_string_equal(buf, "get,set,schema");
	assert_int_equal(scpp_auth_ops_parse("all", &ops, NULL), 0);
	assert_int_equal(ops, SCPP_AUTH_OP_ALL);
	scpp_auth_ops_format(buf, sizeof(buf), ops);
	assert_string_equal(buf, "all");
	assert_int_equal(scpp_auth_ops_parse("get,sett", &ops, &bad), -EINVAL);
	assert_int_equal(bad, 4);
	assert_int_equal(scpp_auth_ops_parse("", &ops, &bad), -EINVAL);
	assert_int_equal(scpp_auth_ops_parse("get,", &ops, &bad), -EINVAL);
	assert_string_equal(scpp_auth_op_name(SCPP_AUTH_OP_ALLOC), "alloc");
	assert_null(scpp_auth_op_name(3));

	assert_int_equal(scpp_auth_time_parse("2027-01-15T08:00:00Z", 0, &t), 0);
	assert_true(t == T_NOW);
	scpp_auth_time_format(buf, sizeof(buf), t);
	assert_string_equal(buf, "2027-01-15T08:00:00Z");
	assert_int_equal(scpp_auth_time_parse("2027-01-15T08:00:00.5Z", 0, &t), 0);
	assert_true(t == T_NOW + 500000000);
	scpp_auth_time_format(buf, sizeof(buf), t);
	assert_string_equal(buf, "2027-01-15T08:00:00.500000000Z");
	assert_int_equal(scpp_auth_time_parse("2028-02-29T00:00:00Z", 0, &t), 0);
	assert_int_equal(scpp_auth_time_parse("2027-02-29T00:00:00Z", 0, &t), -EINVAL);
	assert_int_equal(scpp_auth_time_parse("2027-02-30T00:00:00Z", 0, &t), -EINVAL);
	assert_int_equal(scpp_auth_time_parse("2027-01-15T08:00:00+01:00", 0, &t), -EINVAL);
	assert_int_equal(scpp_auth_time_parse("2027-01-15 08:00:00Z", 0, &t), -EINVAL);
	assert_int_equal(scpp_auth_time_parse("2027-01-15T08:00:00.Z", 0, &t), -EINVAL);
	assert_int_equal(scpp_auth_time_parse("+30d", T_NOW, &t), 0);
	assert_true(t == T_NOW + 30 * T_DAY);
	assert_int_equal(scpp_auth_time_parse("+90s", 5, &t), 0);
	assert_true(t == 5 + UINT64_C(90000000000));
	assert_int_equal(scpp_auth_time_parse("+12h", 0, &t), 0);
	assert_int_equal(scpp_auth_time_parse("+15m", 0, &t), 0);
	assert_true(t == UINT64_C(900000000000));
	assert_int_equal(scpp_auth_time_parse("+3w", 0, &t), -EINVAL);
	assert_int_equal(scpp_auth_time_parse("+99999999999999999d", 0, &t), -ERANGE);
	assert_int_equal(scpp_auth_time_parse("@123", 0, &t), 0);
	assert_true(t == 123);
	assert_int_equal(scpp_auth_time_parse("@12x", 0, &t), -EINVAL);
}

static void
test_every_code_has_a_name_text_and_errno(void **state)
{
	char buf[160];
	struct scpp_auth_fault f;

	(void)state;
	for (int e = SCPP_AUTH_E_FIRST; e < SCPP_AUTH_E_LAST; e++) {
		const char *name = scpp_auth_error_name(-e);

		assert_non_null(name);
		assert_int_equal(scpp_auth_error_parse(name), -e);
		assert_true(strlen(scpp_auth_strerror(-e)) > 5);
		assert_true(scpp_auth_errno(-e) > 0);
	}
	assert_int_equal(scpp_auth_error_parse("E_TRUNCATED"), -SCPP_E_TRUNCATED);
	assert_int_equal(scpp_auth_error_parse("EACCES"), -EACCES);
	assert_int_equal(scpp_auth_error_parse("OK"), 0);
	assert_int_equal(scpp_auth_error_parse("E_NOPE"), 0);
	assert_int_equal(scpp_auth_errno(-EACCES), 13);
	assert_int_equal(scpp_auth_errno(-EPERM), 1);
	assert_int_equal(scpp_auth_errno(-SCPP_E_TRUNCATED), 74);
	assert_int_equal(scpp_auth_errno(-SCPP_AUTH_E_WIDENED_SCOPE), 13);
	scpp_auth_fault_clear(&f);
	f.off = 86;
	f.chain = 0;
	f.link = 1;
	scpp_auth_fault_format(buf, sizeof(buf), -SCPP_AUTH_E_BAD_OPS, &f);
	assert_string_equal(buf, "operation set empty or with unknown bits at byte 86 (chain 0, link 1)");
}


/* docs/SECURITY.md §13 lists every code with its number and errno: keep the
 * document and the library in step. */
static void
test_security_md_code_table_matches_the_library(void **state)
{
	static const struct {
		const char *name;
		uint32_t num;
	} errnos[] = {
		{"EBADMSG", 74}, {"EOPNOTSUPP", 95}, {"EACCES", 13}, {"ENOTCONN", 107},
		{"EREMOTE", 66}, {"EOVERFLOW", 75},  {"ESTALE", 116}, {"ETIME", 62},
		{"ENOBUFS", 105}, {"EDQUOT", 122},   {"EPROTO", 71},  {"EINVAL", 22},
		{"EPERM", 1},
	};
	const char *root = getenv("SCPP_SOURCE_ROOT");
	char path[512], line[512], name[64], err[32];
	unsigned int rows = 0, seen[SCPP_AUTH_E_LAST - SCPP_AUTH_E_FIRST] = {0};
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/docs/SECURITY.md", root != NULL ? root : ".");
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		int num;
		bool found = false;

		if (sscanf(line, "| `%63[A-Z_]` | %d | %31[A-Z] |", name, &num, err) != 3 ||
		    strncmp(name, "E_AUTH_", 7) != 0)
			continue;
		assert_int_equal(scpp_auth_error_parse(name), -num);
		for (size_t i = 0; i < SCPP_ARRAY_SIZE(errnos); i++)
			if (strcmp(errnos[i].name, err) == 0) {
				assert_int_equal(scpp_auth_errno(-num), errnos[i].num);
				found = true;
			}
		if (!found)
			fail_msg("%s: unknown errno %s for %s", path, err, name);
		seen[num - SCPP_AUTH_E_FIRST]++;
		rows++;
	}
	fclose(f);
	assert_int_equal(rows, SCPP_AUTH_E_LAST - SCPP_AUTH_E_FIRST);
	for (int e = 0; e < SCPP_AUTH_E_LAST - SCPP_AUTH_E_FIRST; e++)
		assert_int_equal(seen[e], 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_from_seed_is_deterministic_and_generate_is_not),
		cmocka_unit_test_setup_teardown(test_key_file_round_trip_modes_and_force, setup_dir,
						teardown_dir),
		cmocka_unit_test_setup_teardown(test_key_file_errors_name_the_line, setup_dir,
						teardown_dir),
		cmocka_unit_test(test_grant_round_trip_is_canonical),
		cmocka_unit_test(test_grant_decoder_reports_each_error_at_its_offset),
		cmocka_unit_test(test_grant_check_rejects_bad_fields_before_encoding),
		cmocka_unit_test(test_grant_signature_and_id_cover_every_field),
		cmocka_unit_test(test_grant_has_attr),
		cmocka_unit_test(test_chain_valid_and_each_failure_names_its_link),
		cmocka_unit_test(test_chain_empty_means_root_and_length_is_bounded),
		cmocka_unit_test(test_chain_decoder_errors_and_round_trip),
		cmocka_unit_test(test_revocation_counts_only_from_someone_entitled),
		cmocka_unit_test(test_revset_is_bounded_prunes_expired_and_checks_signatures),
		cmocka_unit_test(test_authority_matches_reference_model_on_random_grants),
		cmocka_unit_test(test_authority_rules_add_up_and_schema_is_eperm),
		cmocka_unit_test(test_authority_compile_failing_allocator_leaks_nothing),
		cmocka_unit_test(test_ops_and_time_text_forms),
		cmocka_unit_test(test_every_code_has_a_name_text_and_errno),
		cmocka_unit_test(test_security_md_code_table_matches_the_library),
	};
	int failed;

	setup_keys(NULL);
	failed = cmocka_run_group_tests_name("auth", tests, NULL, NULL);
	failed += _cmocka_run_group_tests("auth_session", auth_session_tests, auth_session_ntests,
					  NULL, NULL);
	return failed;
}
