/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The CLI's credentials and `scpp session` (docs/SECURITY.md §12a).
 *
 * Every command that talks to a node opens a session first when it has a
 * key: --key FILE, else $SCPP_KEY, else ~/.config/scpp/key, else the node
 * key of a node on this host (/var/lib/scpp/node.key, readable by whoever
 * runs the node: `make run` works without any setup). Chains come from
 * --chain FILE (repeatable) or $SCPP_CHAIN (files separated by ':'); none
 * means the key is a root of the node. Without any key, or with
 * --no-auth, blocks go unauthenticated (a node with auth.mode "required"
 * refuses them with EACCES, saying so).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "scpp_auth.h"
#include "scpp_client.h"
#include "cli.h"


static void
reject_message(const struct scpp_auth_reject *rej, char *buf, size_t size)
{
	char where[96] = "";
	size_t n = 0;

	if (rej->fault.chain != UINT16_MAX)
		n += (size_t)snprintf(where + n, sizeof(where) - n, " (chain %u", rej->fault.chain);
	if (rej->fault.chain != UINT16_MAX && rej->fault.link != UINT8_MAX)
		n += (size_t)snprintf(where + n, sizeof(where) - n, ", link %u", rej->fault.link);
	if (rej->fault.chain != UINT16_MAX)
		snprintf(where + n, sizeof(where) - n, ")");
	snprintf(buf, size, "%s: %s%s",
		 scpp_auth_error_name(rej->code) != NULL ? scpp_auth_error_name(rej->code) : "error",
		 scpp_auth_strerror(rej->code), where);
}

int
scpp_cli_session(struct scpp_cli *cli)
{
	struct scpp_client_auth a;
	struct scpp_auth_keypair kp;
	struct scpp_auth_reject rej;
	struct scpp_auth_fault f;
	uint8_t node_key[SCPP_AUTH_KEY_LEN], *chain[SCPP_AUTH_CHAINS_MAX] = {NULL};
	char buf[512], msg[256], *list = NULL;
	const char *path, *env, *chains[SCPP_AUTH_CHAINS_MAX];
	unsigned int nchains = 0;
	bool named;
	int rc, exit_rc = SCPP_EXIT_FAIL;

	if (cli->no_auth || cli->session_done)
		return SCPP_EXIT_OK;
	cli->session_done = true;
	path = scpp_client_key_path(cli->key_path, buf, sizeof(buf), &named);
	if (path == NULL)
		return SCPP_EXIT_OK;
	scpp_auth_fault_clear(&f);
	rc = scpp_auth_key_load(path, &kp, NULL, &f);
	if (rc != 0) {
		scpp_auth_fault_format(msg, sizeof(msg), rc, &f);
		fprintf(stderr, "scpp: key %s: %s%s\n", path, msg,
			named ? "" : " (--key, SCPP_KEY, or --no-auth to send unauthenticated)");
		return SCPP_EXIT_USAGE;
	}
	memset(&a, 0, sizeof(a));
	a.key = &kp;
	a.lane = cli->lane;
	/* Chains: --chain, else $SCPP_CHAIN (FILE[:FILE...]). */
	for (unsigned int i = 0; i < cli->nchains; i++)
		chains[nchains++] = cli->chain_path[i];
	env = getenv("SCPP_CHAIN");
	if (nchains == 0 && env != NULL && *env != '\0' && (list = strdup(env)) != NULL) {
		for (char *save = NULL, *t = strtok_r(list, ":", &save);
		     t != NULL && nchains < SCPP_AUTH_CHAINS_MAX; t = strtok_r(NULL, ":", &save))
			chains[nchains++] = t;
	}
	for (unsigned int i = 0; i < nchains; i++) {
		rc = scpp_client_chain_read(chains[i], &chain[i], &a.chain_len[i]);
		if (rc != 0) {
			fprintf(stderr, "scpp: chain %s: %s\n", chains[i], strerror(-rc));
			exit_rc = SCPP_EXIT_USAGE;
			goto out;
		}
		a.chain[i] = chain[i];
	}
	a.nchains = nchains;
	env = cli->node_key != NULL ? cli->node_key : getenv("SCPP_NODE_KEY");
	if (env != NULL && *env != '\0') {
		if (strlen(env) == 2 * SCPP_AUTH_KEY_LEN)
			rc = scpp_auth_hex_parse(env, strlen(env), node_key, sizeof(node_key));
		else
			rc = scpp_auth_pubkey_load(env, node_key, NULL, &f);
		if (rc != 0) {
			fprintf(stderr, "scpp: node key '%s': %s\n", env, scpp_auth_strerror(rc));
			exit_rc = SCPP_EXIT_USAGE;
			goto out;
		}
		a.node_key = node_key;
	}
	rc = scpp_client_session_open(cli->client, &a, &rej);
	if (rc == 0) {
		exit_rc = SCPP_EXIT_OK;
		goto out;
	}
	if (rc == -SCPP_AUTH_E_REJECTED) {
		reject_message(&rej, msg, sizeof(msg));
		fprintf(stderr, "scpp: %s refused the session of %s: %s\n",
			scpp_client_server(cli->client), path, msg);
	} else if (rc == -ETIMEDOUT || rc == -ECONNREFUSED || rc == -ENETUNREACH ||
		   rc == -EHOSTUNREACH) {
		fprintf(stderr, "scpp: no handshake with %s: %s; is scppd running? "
			"(SCPP_SERVER or --server)\n", scpp_client_server(cli->client),
			strerror(-rc));
		exit_rc = SCPP_EXIT_NOREPLY;
	} else {
		fprintf(stderr, "scpp: session with %s: %s\n", scpp_client_server(cli->client),
			scpp_auth_strerror(rc));
	}
out:
	for (unsigned int i = 0; i < nchains; i++)
		free(chain[i]);
	free(list);
	scpp_auth_key_wipe(&kp);
	return exit_rc;
}

int
scpp_cli_session_cmd(struct scpp_cli *cli)
{
	struct scpp_client_session_info si;
	char pk[2 * SCPP_AUTH_KEY_LEN + 1], nk[2 * SCPP_AUTH_KEY_LEN + 1], exp[64];
	int rc;

	if ((rc = scpp_cli_client(cli)) != 0)
		return rc;
	if (scpp_client_session_info(cli->client, &si) != 0) {
		fprintf(stderr, "scpp: no session: no key (--key, SCPP_KEY, ~/.config/scpp/key or "
			"%s)\n", SCPP_CLIENT_NODE_KEY_DEFAULT);
		return SCPP_EXIT_USAGE;
	}
	scpp_auth_hex_format(pk, si.principal, SCPP_AUTH_KEY_LEN);
	scpp_auth_hex_format(nk, si.node_key, SCPP_AUTH_KEY_LEN);
	scpp_auth_time_format(exp, sizeof(exp), si.expires_ns);
	if (cli->json)
		printf("{\"server\":\"%s\",\"session\":\"%016" PRIx64 "\",\"principal\":\"%s\","
		       "\"node_key\":\"%s\",\"alg\":\"%s\",\"lanes\":%u,\"lane\":%u,"
		       "\"expires\":\"%s\",\"expires_ns\":%" PRIu64 "}\n",
		       scpp_client_server(cli->client), si.id, pk, nk,
		       si.alg == SCPP_AUTH_ALG_AES256GMAC ? "aes256-gmac" : "chacha20-poly1305",
		       si.lanes, si.lane, exp, si.expires_ns);
	else
		printf("server     %s\nsession    %016" PRIx64 "\nprincipal  %s\nnode key   %s\n"
		       "mac        %s\nlanes      %u (this client: lane %u)\nexpires    %s\n",
		       scpp_client_server(cli->client), si.id, pk, nk,
		       si.alg == SCPP_AUTH_ALG_AES256GMAC ? "AES-256-GMAC" : "ChaCha20-Poly1305",
		       si.lanes, si.lane, exp);
	return SCPP_EXIT_OK;
}
