/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the daemon takes from lib/auth at start-up and on its workers
 * (auth_node.c, auth_dlg.c): the node key opened or created at first start;
 * public keys as hex or files; auth.peers entries; a revocation file that
 * adds nothing when one entry is bad; the owner's table of forwarded
 * sessions' reply keys (same entry, expired entry, eviction of the one that
 * ends first); the CONT_REPLY key derivation, byte for byte.
 */
#include <errno.h>
#include <stdbool.h>
#include <unistd.h>

#include <sodium.h>

#include "auth_test.h"

static char *
tmpdir(void)
{
	static char d[64];

	snprintf(d, sizeof(d), "/tmp/auth-node-XXXXXX");
	assert_non_null(mkdtemp(d));
	return d;
}

void
test_node_key_open_creates_then_loads(void **state)
{
	struct scpp_auth_keypair a, b;
	struct scpp_auth_fault f;
	uint8_t pk[SCPP_AUTH_KEY_LEN];
	char path[128], pub[160], hex[2 * SCPP_AUTH_KEY_LEN + 1], sub[96];
	bool created;
	char *d = tmpdir();

	(void)state;
	/* The directory is made when missing, like node.state_dir. */
	snprintf(sub, sizeof(sub), "%s/state", d);
	snprintf(path, sizeof(path), "%s/node.key", sub);
	assert_int_equal(scpp_auth_node_key_open(path, sub, "n1", &a, &created, &f), 0);
	assert_true(created);
	assert_int_equal(scpp_auth_node_key_open(path, sub, "n1", &b, &created, &f), 0);
	assert_false(created);
	assert_memory_equal(a.pk, b.pk, SCPP_AUTH_KEY_LEN);
	/* Its public half, as a file and as 64 hex digits. */
	snprintf(pub, sizeof(pub), "%s.pub", path);
	assert_int_equal(scpp_auth_pubkey_spec(pub, pk, &f), 0);
	assert_memory_equal(pk, a.pk, SCPP_AUTH_KEY_LEN);
	scpp_auth_hex_format(hex, a.pk, SCPP_AUTH_KEY_LEN);
	memset(pk, 0, sizeof(pk));
	assert_int_equal(scpp_auth_pubkey_spec(hex, pk, &f), 0);
	assert_memory_equal(pk, a.pk, SCPP_AUTH_KEY_LEN);
	assert_true(scpp_auth_pubkey_spec("/nonexistent/k.pub", pk, &f) != 0);
	/* A directory that cannot hold the file: an error, no key. */
	assert_true(scpp_auth_node_key_open("/nonexistent/dir/node.key", NULL, "x", &b, &created,
					    &f) != 0);
	assert_false(created);
	unlink(pub);
	unlink(path);
	rmdir(sub);
	rmdir(d);
}

void
test_peer_spec(void **state)
{
	struct scpp_auth_keypair k;
	uint8_t pk[SCPP_AUTH_KEY_LEN];
	char spec[128], hex[2 * SCPP_AUTH_KEY_LEN + 1], why[256];
	uint32_t id = 0;

	(void)state;
	t_key(&k, 0x61);
	scpp_auth_hex_format(hex, k.pk, SCPP_AUTH_KEY_LEN);
	snprintf(spec, sizeof(spec), "7:%s", hex);
	assert_int_equal(scpp_auth_peer_spec(spec, 1, &id, pk, why, sizeof(why)), 0);
	assert_int_equal(id, 7);
	assert_memory_equal(pk, k.pk, SCPP_AUTH_KEY_LEN);
	assert_int_equal(scpp_auth_peer_spec(spec, 7, &id, pk, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "node 7 is this node"));
	snprintf(spec, sizeof(spec), "0:%s", hex);
	assert_int_equal(scpp_auth_peer_spec(spec, 1, &id, pk, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "ID:KEY"));
	assert_int_equal(scpp_auth_peer_spec(hex, 1, &id, pk, why, sizeof(why)), -EINVAL);
	assert_int_equal(scpp_auth_peer_spec("x7:ab", 1, &id, pk, why, sizeof(why)), -EINVAL);
	assert_true(scpp_auth_peer_spec("3:/nonexistent.pub", 1, &id, pk, why, sizeof(why)) != 0);
	assert_int_equal(id, 7); /* untouched by the failures */
}

void
test_revocations_read_all_or_nothing(void **state)
{
	struct scpp_auth_keypair root;
	struct scpp_auth_revocation r;
	struct scpp_auth_revset *rs = scpp_auth_revset_create(16, NULL);
	uint8_t e[3][SCPP_AUTH_REVOCATION_LEN];
	unsigned int total, added;
	char path[96], why[256];
	char *d = tmpdir();
	FILE *f;

	(void)state;
	assert_non_null(rs);
	t_key(&root, 0x62);
	for (int i = 0; i < 3; i++) {
		memset(&r, 0, sizeof(r));
		memset(r.grant_id, 0x10 + i, sizeof(r.grant_id));
		r.grant_expires_ns = T_NOW + T_DAY;
		r.revoked_ns = T_NOW;
		assert_int_equal(scpp_auth_revocation_sign(&r, &root, e[i], sizeof(e[i])),
				 SCPP_AUTH_REVOCATION_LEN);
	}
	snprintf(path, sizeof(path), "%s/revoked", d);
	/* The third entry's signature is broken: nothing is added. */
	e[2][SCPP_AUTH_REVOCATION_LEN - 1] ^= 1;
	f = fopen(path, "wb");
	assert_int_equal(fwrite(e, 1, sizeof(e), f), sizeof(e));
	fclose(f);
	assert_int_equal(scpp_auth_revocations_read(rs, path, 16, T_NOW, &total, &added, why,
						    sizeof(why)), -1);
	assert_non_null(strstr(why, "entry 2"));
	assert_int_equal(scpp_auth_revset_count(rs), 0);
	/* Two good ones and a truncated third: refused, nothing added. */
	f = fopen(path, "wb");
	assert_int_equal(fwrite(e, 1, 2 * SCPP_AUTH_REVOCATION_LEN + 5, f),
			 2 * SCPP_AUTH_REVOCATION_LEN + 5);
	fclose(f);
	assert_int_equal(scpp_auth_revocations_read(rs, path, 16, T_NOW, &total, &added, why,
						    sizeof(why)), -1);
	assert_int_equal(scpp_auth_revset_count(rs), 0);
	/* Two good ones: both added; read again: present, none new. */
	f = fopen(path, "wb");
	assert_int_equal(fwrite(e, 1, 2 * SCPP_AUTH_REVOCATION_LEN, f), 2 * SCPP_AUTH_REVOCATION_LEN);
	fclose(f);
	assert_int_equal(scpp_auth_revocations_read(rs, path, 16, T_NOW, &total, &added, why,
						    sizeof(why)), 0);
	assert_int_equal(total, 2);
	assert_int_equal(added, 2);
	assert_int_equal(scpp_auth_revocations_read(rs, path, 16, T_NOW, &total, &added, why,
						    sizeof(why)), 0);
	assert_int_equal(total, 2);
	assert_int_equal(added, 0);
	assert_int_equal(scpp_auth_revset_count(rs), 2);
	/* A missing file; no file. */
	assert_int_equal(scpp_auth_revocations_read(rs, "/nonexistent", 16, T_NOW, &total, &added,
						    why, sizeof(why)), -1);
	assert_int_equal(scpp_auth_revocations_read(rs, "", 16, T_NOW, &total, &added, why,
						    sizeof(why)), 0);
	assert_int_equal(total, 0);
	unlink(path);
	rmdir(d);
	scpp_auth_revset_free(rs);
}

/* @p n session ids whose entries all start at slot 17 (the table's hash,
 * Fibonacci hashing of the id), so that they share one probe window. */
static unsigned int
same_window(uint64_t *ids, unsigned int n)
{
	unsigned int got = 0;

	for (uint64_t id = 1; got < n && id < 10000000; id++)
		if ((uint32_t)((id * UINT64_C(0x9e3779b97f4a7c15)) >> 40) % SCPP_AUTH_DLG_SLOTS == 17)
			ids[got++] = id;
	return got;
}

void
test_dlg_table_keeps_replaces_evicts(void **state)
{
	struct scpp_auth_dlg_table *t = scpp_auth_dlg_create(NULL);
	const struct scpp_auth_dlg *e;
	uint64_t ids[SCPP_AUTH_DLG_PROBE + 1];
	uint8_t k[SCPP_AUTH_KEY_LEN];

	(void)state;
	assert_non_null(t);
	assert_false(scpp_auth_dlg_any(t));
	assert_null(scpp_auth_dlg_find(t, 5));
	assert_int_equal(same_window(ids, SCPP_AUTH_DLG_PROBE + 1), SCPP_AUTH_DLG_PROBE + 1);
	/* A full window of live entries, ending at T_NOW + 10 + i. */
	for (unsigned int i = 0; i < SCPP_AUTH_DLG_PROBE; i++) {
		memset(k, (int)i, sizeof(k));
		scpp_auth_dlg_note(t, ids[i], T_NOW + 10 + i, k, T_NOW);
	}
	assert_true(scpp_auth_dlg_any(t));
	for (unsigned int i = 0; i < SCPP_AUTH_DLG_PROBE; i++) {
		e = scpp_auth_dlg_find(t, ids[i]);
		assert_non_null(e);
		assert_int_equal(e->key[0], i);
	}
	/* The same session again: its entry, with the new key and end. */
	memset(k, 0xaa, sizeof(k));
	scpp_auth_dlg_note(t, ids[3], T_NOW + 50, k, T_NOW);
	e = scpp_auth_dlg_find(t, ids[3]);
	assert_true(e->key[0] == 0xaa && e->not_after_ns == T_NOW + 50);
	/* One more: the window is full of live entries; the one that ends
	 * first (ids[0], T_NOW + 10) gives way. */
	memset(k, 0xbb, sizeof(k));
	scpp_auth_dlg_note(t, ids[SCPP_AUTH_DLG_PROBE], T_NOW + 99, k, T_NOW);
	assert_null(scpp_auth_dlg_find(t, ids[0]));
	e = scpp_auth_dlg_find(t, ids[SCPP_AUTH_DLG_PROBE]);
	assert_true(e != NULL && e->key[0] == 0xbb);
	/* Later, an expired entry (ids[1], T_NOW + 11) is reused first. */
	scpp_auth_dlg_note(t, ids[0], T_NOW + 200, k, T_NOW + 12);
	assert_null(scpp_auth_dlg_find(t, ids[1]));
	assert_non_null(scpp_auth_dlg_find(t, ids[0]));
	assert_non_null(scpp_auth_dlg_find(t, ids[2])); /* ends at +12: expired too, kept */
	scpp_auth_dlg_free(t);
	scpp_auth_dlg_free(NULL);
}

void
test_cont_reply_key_derivation(void **state)
{
	uint8_t secret[SCPP_AUTH_KEY_LEN], k[SCPP_AUTH_KEY_LEN], want[SCPP_AUTH_KEY_LEN];
	const uint8_t in[12] = {0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
				0x03, 0x00, 0x00, 0x00};

	(void)state;
	memset(secret, 0x5c, sizeof(secret));
	/* keyed BLAKE2b-256 of cont_id (u64 LE) || owner (u32 LE) */
	crypto_generichash(want, sizeof(want), in, sizeof(in), secret, sizeof(secret));
	scpp_auth_cont_reply_key(secret, UINT64_C(0x0102030405060708), 3, k);
	assert_memory_equal(k, want, sizeof(k));
	scpp_auth_cont_reply_key(secret, UINT64_C(0x0102030405060708), 4, want);
	assert_memory_not_equal(k, want, sizeof(k));
}
