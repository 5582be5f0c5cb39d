/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CLI_H
#define CLI_H

/* Private to app/scpp: what the subcommands share. */

#include <stdbool.h>
#include <stddef.h>

#include "scpp_client.h"
#include "scpp_lang.h"

/** Exit codes (documented in `scpp --help`); larger is worse. */
enum scpp_cli_exit {
	SCPP_EXIT_OK = 0,      /**< every block succeeded */
	SCPP_EXIT_BLOCK = 1,   /**< a block was aborted or collected errors */
	SCPP_EXIT_USAGE = 2,   /**< usage error, or a block that does not parse */
	SCPP_EXIT_NOREPLY = 3, /**< timeout, refused, unreachable */
	SCPP_EXIT_FAIL = 4,    /**< malformed reply, block too large, I/O, memory */
};

struct scpp_cli {
	struct scpp_client_config cfg;
	struct scpp_client *client; /**< created on first use */
	unsigned int printed;       /**< replies printed so far */
	bool json;
	bool verbose;
	bool client_id_set;
	bool block_id_set;
	bool no_names;              /**< --no-names: print OIDs bare */
	/* Credentials (session_cli.c). */
	const char *key_path;       /**< --key */
	const char *chain_path[8];  /**< --chain, in order */
	unsigned int nchains;
	const char *node_key;       /**< --node-key (hex or a key file) */
	bool no_auth;               /**< --no-auth */
	int lane;                   /**< --lane, or -1: from the server port */
	bool session_done;          /**< a session was opened (or not wanted) */
	/** Display names resolved so far (name "" = none), for this run. */
	struct scpp_cli_name {
		struct scpp_oid oid;
		char name[SCPP_LANG_NAME_MAX + 1];
	} names[256];
	unsigned int nnames;
};

/** Create the client if not done yet; @return 0 or an exit code (message printed). */
int scpp_cli_client(struct scpp_cli *cli);

/**
 * Parse, send and print one block. @p where names the file it came from
 * (NULL for a command-line argument or the shell) and @p line0 the file
 * line of its first line, for error messages.
 * @return An exit code; messages are printed.
 */
int scpp_cli_run_text(struct scpp_cli *cli, const char *text, size_t len, const char *where,
		      unsigned int line0);

/** Print a parse error: "file:line:col: message" or "parse error at l:c", the line, a caret. */
void scpp_cli_parse_error(const char *where, unsigned int line0, const char *text, size_t len,
			  const struct scpp_lang_error *err);

/** `scpp shell`. @return An exit code. */
int scpp_cli_shell(struct scpp_cli *cli);

/** `scpp encode BLOCK`. @return An exit code. */
int scpp_cli_encode(struct scpp_cli *cli, const char *text);

/** `scpp decode HEX...`. @return An exit code. */
int scpp_cli_decode(struct scpp_cli *cli, int argc, char **argv);

/** `scpp key ...` / `scpp grant ...` (auth_cli.c); argv[0] is "key" or "grant". */
int scpp_cli_auth(int argc, char **argv);

/** Open the session if a key is known (session_cli.c). @return 0 or an exit code (printed). */
int scpp_cli_session(struct scpp_cli *cli);

/** `scpp session`: open one and print what it is. @return An exit code. */
int scpp_cli_session_cmd(struct scpp_cli *cli);

/** `scpp cluster [OPTIONS]` (cluster_cli.c): @p argv[0] is "cluster". @return An exit code. */
int scpp_cli_cluster(int argc, char **argv);

#endif /* CLI_H */
