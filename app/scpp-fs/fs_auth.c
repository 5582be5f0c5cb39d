/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * scpp-fs's session with the node (docs/SECURITY.md, docs/FS.md §2
 * "Sessions"). The key is found as the CLI finds it: -o key=FILE, else
 * $SCPP_KEY, else ~/.config/scpp/key, else the node key of a node on this
 * host (/var/lib/scpp/node.key); chains from -o chain=FILE[:FILE...] or
 * $SCPP_CHAIN; -o node_key=HEX|FILE (or $SCPP_NODE_KEY) pins the node.
 * Without a key, or with -o no_auth, blocks go unauthenticated.
 *
 * A session lives at most until its expiry (24 h, or the chains'): the
 * mount opens a new one (a new client) a minute before, between two
 * blocks, so no block is ever sent twice under two client ids.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fs_fuse.h"
#include "scpp_auth.h"

/** Open the next session this long before the current one expires. */
#define RENEW_BEFORE_NS (60ull * 1000000000ull)

/* Open a session on @p cl. 0, or a message on stderr and a positive errno. */
static int
session_open(struct fsd *d, struct scpp_client *cl, const char *path)
{
	struct scpp_auth_keypair kp;
	struct scpp_client_auth a;
	struct scpp_auth_reject rej;
	struct scpp_auth_fault f;
	uint8_t node_key[SCPP_AUTH_KEY_LEN], *chain[SCPP_AUTH_CHAINS_MAX] = {NULL};
	const char *env, *chains[SCPP_AUTH_CHAINS_MAX];
	char msg[256], *list = NULL;
	unsigned int nchains = 0;
	int rc, e = EACCES;

	scpp_auth_fault_clear(&f);
	if ((rc = scpp_auth_key_load(path, &kp, NULL, &f)) != 0) {
		scpp_auth_fault_format(msg, sizeof(msg), rc, &f);
		fprintf(stderr, "scpp-fs: key %s: %s (-o key=FILE, or -o no_auth)\n", path, msg);
		return EINVAL;
	}
	memset(&a, 0, sizeof(a));
	a.key = &kp;
	a.lane = -1;
	env = d->o.chain != NULL ? d->o.chain : getenv("SCPP_CHAIN");
	if (env != NULL && *env != '\0' && (list = strdup(env)) != NULL)
		for (char *save = NULL, *t = strtok_r(list, ":", &save);
		     t != NULL && nchains < SCPP_AUTH_CHAINS_MAX; t = strtok_r(NULL, ":", &save))
			chains[nchains++] = t;
	for (unsigned int i = 0; i < nchains; i++) {
		if ((rc = scpp_client_chain_read(chains[i], &chain[i], &a.chain_len[i])) != 0) {
			fprintf(stderr, "scpp-fs: chain %s: %s\n", chains[i], strerror(-rc));
			e = EINVAL;
			goto out;
		}
		a.chain[i] = chain[i];
	}
	a.nchains = nchains;
	env = d->o.node_key != NULL ? d->o.node_key : getenv("SCPP_NODE_KEY");
	if (env != NULL && *env != '\0') {
		rc = strlen(env) == 2 * SCPP_AUTH_KEY_LEN
			     ? scpp_auth_hex_parse(env, strlen(env), node_key, sizeof(node_key))
			     : scpp_auth_pubkey_load(env, node_key, NULL, &f);
		if (rc != 0) {
			fprintf(stderr, "scpp-fs: node key '%s': %s\n", env, scpp_auth_strerror(rc));
			e = EINVAL;
			goto out;
		}
		a.node_key = node_key;
	}
	rc = scpp_client_session_open(cl, &a, &rej);
	if (rc == 0) {
		struct scpp_client_session_info si;

		e = 0;
		if (scpp_client_session_info(cl, &si) == 0)
			d->session_expires_ns = si.expires_ns;
	} else if (rc == -SCPP_AUTH_E_REJECTED) {
		fprintf(stderr, "scpp-fs: %s refused the session of %s: %s\n",
			scpp_client_server(cl), path, scpp_auth_strerror(rej.code));
	} else {
		fprintf(stderr, "scpp-fs: session with %s: %s (%d)\n", scpp_client_server(cl),
			scpp_auth_strerror(rc), rc);
		e = rc > -1024 ? -rc : EACCES; /* an errno, or a project code */
	}
out:
	for (unsigned int i = 0; i < nchains; i++)
		free(chain[i]);
	free(list);
	scpp_auth_key_wipe(&kp);
	return e;
}

int
fsd_session(struct fsd *d)
{
	char buf[512];
	const char *path;
	bool named; /* -o key or $SCPP_KEY: either way a load failure is an error */

	d->session = false;
	if (d->o.no_auth || (path = scpp_client_key_path(d->o.key, buf, sizeof(buf), &named)) == NULL)
		return 0;
	/* The same file when the session is renewed. */
	if (d->o.key == NULL && (d->o.key = strdup(path)) == NULL)
		return ENOMEM;
	if (session_open(d, d->cl, d->o.key) != 0)
		return EACCES;
	d->session = true;
	return 0;
}

static uint64_t
realtime_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

void
fsd_session_renew(struct fsd *d)
{
	struct scpp_client *cl;

	if (!d->session || realtime_ns() + RENEW_BEFORE_NS < d->session_expires_ns)
		return;
	cl = scpp_client_create(&d->cc);
	if (cl == NULL)
		return;
	if (session_open(d, cl, d->o.key) != 0) {
		/* Keep the old one to its end; the next block tries again. */
		scpp_client_free(cl);
		return;
	}
	scpp_client_free(d->cl); /* d->cr is freed by the next exchange */
	d->cl = cl;
}
