/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A node's authentication material from its configuration (docs/SECURITY.md
 * §2, §3.3, §9.4): the node key, opened or created at first start like an
 * SSH host key; a public key given as 64 hex digits or a key file (roots of
 * trust, auth.peers); an auth.peers entry "ID:KEY"; and a file of
 * revocation entries, decoded and their signatures verified before any is
 * added. No DPDK and no
 * logging here: the daemon turns the errors into its messages.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "auth_priv.h"

int
scpp_auth_node_key_open(const char *path, const char *dir, const char *comment,
			struct scpp_auth_keypair *kp, bool *created, struct scpp_auth_fault *f)
{
	char pub[4096 + 8];
	int rc;

	*created = false;
	scpp_auth_fault_clear(f);
	rc = scpp_auth_key_load(path, kp, NULL, f);
	if (rc != -ENOENT)
		return rc;
	if (strlen(path) + 5 > sizeof(pub))
		return -ENAMETOOLONG;
	rc = scpp_auth_key_generate(kp);
	if (rc != 0)
		return rc;
	if (dir != NULL)
		(void)mkdir(dir, 0755);
	rc = scpp_auth_key_save(path, kp, comment, 0);
	if (rc == 0) {
		snprintf(pub, sizeof(pub), "%s.pub", path);
		rc = scpp_auth_pubkey_save(pub, kp->pk, comment, SCPP_AUTH_SAVE_FORCE);
	}
	if (rc != 0) {
		sodium_memzero(kp, sizeof(*kp));
		return rc;
	}
	*created = true;
	return 0;
}

int
scpp_auth_pubkey_spec(const char *spec, uint8_t pk[SCPP_AUTH_KEY_LEN], struct scpp_auth_fault *f)
{
	size_t n = strlen(spec);

	if (n == 2 * SCPP_AUTH_KEY_LEN && scpp_auth_hex_parse(spec, n, pk, SCPP_AUTH_KEY_LEN) == 0)
		return 0;
	scpp_auth_fault_clear(f);
	return scpp_auth_pubkey_load(spec, pk, NULL, f);
}

int
scpp_auth_peer_spec(const char *spec, uint32_t self, uint32_t *id, uint8_t pk[SCPP_AUTH_KEY_LEN],
		    char *why, size_t why_len)
{
	const char *colon = strchr(spec, ':');
	struct scpp_auth_fault f;
	char *end = NULL;
	unsigned long v = strtoul(spec, &end, 10);
	int rc;

	if (colon == NULL || end != colon || v == 0 || v > UINT32_MAX) {
		snprintf(why, why_len, "expected \"ID:KEY\" with a node id >= 1 and a key (64 hex "
			 "digits or a public key file)");
		return -EINVAL;
	}
	if (v == self) {
		snprintf(why, why_len, "node %lu is this node", v);
		return -EINVAL;
	}
	rc = scpp_auth_pubkey_spec(colon + 1, pk, &f);
	if (rc != 0) {
		scpp_auth_fault_format(why, why_len, rc, &f);
		return rc;
	}
	*id = (uint32_t)v;
	return 0;
}

int
scpp_auth_revocations_read(struct scpp_auth_revset *rs, const char *path, unsigned int capacity,
			   uint64_t now_ns, unsigned int *total, unsigned int *added, char *why,
			   size_t why_len)
{
	struct scpp_auth_revocation *rv = NULL;
	uint8_t e[SCPP_AUTH_REVOCATION_LEN];
	unsigned int n = 0, cap = 0;
	int rc = 0;
	FILE *f;

	*total = *added = 0;
	if (path == NULL || path[0] == '\0')
		return 0;
	f = fopen(path, "rb");
	if (f == NULL) {
		snprintf(why, why_len, "%s", strerror(errno));
		return -1;
	}
	for (;;) {
		size_t got = fread(e, 1, sizeof(e), f);
		uint32_t off = 0;

		if (got == 0)
			break;
		if (n == cap) {
			void *p = cap < capacity
				? realloc(rv, (cap ? 2 * (size_t)cap : 64) * sizeof(*rv)) : NULL;

			if (p == NULL) {
				snprintf(why, why_len, "more than auth.revocation_capacity (%u) entries",
					 capacity);
				rc = -1;
				break;
			}
			rv = p;
			cap = cap ? 2 * cap : 64;
		}
		rc = got == sizeof(e) ? scpp_auth_revocation_decode(e, got, &rv[n], &off)
				      : -SCPP_E_TRUNCATED;
		if (rc != 0) {
			snprintf(why, why_len, "entry %u (byte %zu): %s", n,
				 (size_t)n * sizeof(e) + off, scpp_auth_strerror(rc));
			rc = -1;
			break;
		}
		n++;
	}
	fclose(f);
	/* Every signature before any entry is added (revset_add checks it
	 * again), so that a file with a forged entry adds nothing. */
	for (unsigned int i = 0; rc == 0 && i < n; i++) {
		if (scpp_auth_revocation_verify(&rv[i]) != 0) {
			snprintf(why, why_len, "entry %u (byte %zu): %s", i, (size_t)i * sizeof(e),
				 scpp_auth_strerror(-SCPP_AUTH_E_BAD_SIGNATURE));
			rc = -1;
		}
	}
	for (unsigned int i = 0; rc == 0 && i < n; i++) {
		int r = scpp_auth_revset_add(rs, &rv[i], now_ns);

		if (r == 0)
			(*added)++;
		else if (r != -EEXIST) {
			snprintf(why, why_len, "entry %u (byte %zu): %s", i,
				 (size_t)i * sizeof(e), scpp_auth_strerror(r));
			rc = -1;
		}
	}
	free(rv);
	*total = n;
	return rc;
}
