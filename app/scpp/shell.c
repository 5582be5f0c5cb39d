/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `scpp shell`: read blocks interactively and send each one.
 *
 * A block may span lines, so the shell needs an end marker that the
 * language cannot mean otherwise: an empty line, or a line ending in ";;"
 * (two empty statements, harmless to the parser). Backslash commands are
 * recognised only at the start of a block, where no command can begin with
 * a backslash. Line editing and history come from libedit when the build
 * found it; without it (or when stdin is not a terminal) lines are read
 * with getline() and nothing is prompted.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef SCPP_HAVE_LIBEDIT
#include <editline/readline.h>
#endif

#include "cli.h"

#define HISTORY_FILE ".scpp_history"
#define HISTORY_MAX 1000

struct shell {
	bool tty;
	char *history; /* path, or NULL */
	char *line;    /* getline() buffer */
	size_t line_cap;
	char *block;
	size_t len, cap;
	int worst;
};

static void
shell_help(void)
{
	fputs("Type a block over one or more lines; an empty line or a line ending in ';;'\n"
	      "sends it. Example:\n"
	      "  get @0.1.0.1.2a entries[\"etc\"] %etc\n"
	      "  get %etc entries[\"hosts\"] %hosts !%err ;;\n"
	      "Commands (at the start of a block):\n"
	      "  \\json     print replies as JSON        \\table   print replies as tables\n"
	      "  \\server   show the node                \\verbose toggle transport counters\n"
	      "  \\help     this text                    \\q       quit (also Ctrl-D)\n",
	      stdout);
}

/* Read one line without its newline; NULL at end of input. */
static char *
shell_read(struct shell *sh, const char *prompt)
{
	ssize_t n;

#ifdef SCPP_HAVE_LIBEDIT
	if (sh->tty) {
		free(sh->line);
		sh->line = readline(prompt);
		return sh->line;
	}
#else
	if (sh->tty) {
		fputs(prompt, stdout);
		fflush(stdout);
	}
#endif
	n = getline(&sh->line, &sh->line_cap, stdin);
	if (n < 0)
		return NULL;
	if (n > 0 && sh->line[n - 1] == '\n')
		sh->line[n - 1] = '\0';
	return sh->line;
}

static void
shell_history_open(struct shell *sh)
{
#ifdef SCPP_HAVE_LIBEDIT
	const char *home = getenv("HOME");
	size_t n;

	if (!sh->tty || home == NULL || *home == '\0')
		return;
	n = strlen(home) + sizeof(HISTORY_FILE) + 2;
	sh->history = malloc(n);
	if (sh->history == NULL)
		return;
	snprintf(sh->history, n, "%s/%s", home, HISTORY_FILE);
	rl_readline_name = "scpp";
	using_history();
	stifle_history(HISTORY_MAX);
	(void)read_history(sh->history); /* a missing file is fine */
#else
	(void)sh;
#endif
}

static void
shell_history_add(struct shell *sh, const char *line)
{
#ifdef SCPP_HAVE_LIBEDIT
	if (sh->history != NULL)
		add_history(line);
#else
	(void)sh;
	(void)line;
#endif
}

static void
shell_history_close(struct shell *sh)
{
#ifdef SCPP_HAVE_LIBEDIT
	if (sh->history != NULL && write_history(sh->history) != 0)
		fprintf(stderr, "scpp: cannot save history to %s\n", sh->history);
#endif
	free(sh->history);
	sh->history = NULL;
}

static int
shell_append(struct shell *sh, const char *line)
{
	size_t n = strlen(line);

	if (sh->len + n + 2 > sh->cap) {
		size_t cap = (sh->len + n + 2) * 2;
		char *b = realloc(sh->block, cap);

		if (b == NULL)
			return -ENOMEM;
		sh->block = b;
		sh->cap = cap;
	}
	memcpy(sh->block + sh->len, line, n);
	sh->len += n;
	sh->block[sh->len++] = '\n';
	return 0;
}

static void
shell_send(struct scpp_cli *cli, struct shell *sh)
{
	int rc;

	if (sh->len == 0)
		return;
	rc = scpp_cli_run_text(cli, sh->block, sh->len, NULL, 1);
	sh->worst = SCPP_MAX(sh->worst, rc);
	sh->len = 0;
}

/* Trailing blanks removed; returns the new length. */
static size_t
rtrim(const char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	return n;
}

/* A backslash command. @return false to quit. */
static bool
shell_command(struct scpp_cli *cli, const char *line)
{
	char cmd[32];

	if (sscanf(line, "%31s", cmd) != 1)
		return true;
	if (strcmp(cmd, "\\q") == 0 || strcmp(cmd, "\\quit") == 0 || strcmp(cmd, "\\exit") == 0)
		return false;
	if (strcmp(cmd, "\\json") == 0)
		cli->json = true;
	else if (strcmp(cmd, "\\table") == 0)
		cli->json = false;
	else if (strcmp(cmd, "\\verbose") == 0)
		cli->verbose = !cli->verbose;
	else if (strcmp(cmd, "\\server") == 0)
		printf("%s (client id 0x%016llx)\n", scpp_client_server(cli->client),
		       (unsigned long long)scpp_client_id(cli->client));
	else if (strcmp(cmd, "\\help") == 0 || strcmp(cmd, "\\h") == 0 ||
		 strcmp(cmd, "\\?") == 0)
		shell_help();
	else
		fprintf(stderr, "scpp: unknown command %s; \\help lists them\n", cmd);
	return true;
}

int
scpp_cli_shell(struct scpp_cli *cli)
{
	struct shell sh;
	const char *line;
	int rc;

	memset(&sh, 0, sizeof(sh));
	sh.tty = isatty(STDIN_FILENO) != 0;
	rc = scpp_cli_client(cli);
	if (rc != 0)
		return rc;
	shell_history_open(&sh);
	if (sh.tty)
		printf("scpp shell: node %s. End a block with an empty line or ';;'; "
		       "\\help for help, \\q to quit.\n",
		       scpp_client_server(cli->client));

	while ((line = shell_read(&sh, sh.len == 0 ? "scpp> " : "  ... ")) != NULL) {
		size_t n = rtrim(line);
		const char *p = line;

		while (*p == ' ' || *p == '\t')
			p++;
		if (sh.len == 0 && *p == '\\') {
			shell_history_add(&sh, line);
			if (!shell_command(cli, p))
				break;
			continue;
		}
		if ((size_t)(p - line) >= n) { /* empty line: send what we have */
			shell_send(cli, &sh);
			continue;
		}
		shell_history_add(&sh, line);
		if (shell_append(&sh, line) < 0) {
			fputs("scpp: out of memory\n", stderr);
			break;
		}
		if (n >= 2 && line[n - 2] == ';' && line[n - 1] == ';')
			shell_send(cli, &sh);
	}
	if (line == NULL)
		shell_send(cli, &sh); /* end of input sends the last block */
	if (sh.tty && line == NULL)
		putchar('\n');
	shell_history_close(&sh);
	free(sh.line);
	free(sh.block);
	/* Interactively, errors were shown as they came; a script gets the worst. */
	return sh.tty ? SCPP_EXIT_OK : sh.worst;
}
