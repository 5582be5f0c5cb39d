/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * scpp: the command-line client of scppd.
 *
 * Subcommands share one option parser and one output path: every reply is
 * printed with scpp_lang_print_reply() (table or JSON), and every failure
 * goes to stderr with a message that says what to try next, then maps to
 * an exit code (see usage()). The offline helpers (encode, decode) never
 * open a socket, so they work before any daemon is reachable.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "scpp_client.h"
#include "scpp_common.h"
#include "scpp_lang.h"
#include "scpp_status.h"
#include "scpp_wire.h"
#include "cli.h"

static void
usage(FILE *out)
{
	fputs(
"usage: scpp [OPTIONS] exec 'BLOCK' ['BLOCK'...]  send blocks given as arguments\n"
"       scpp [OPTIONS] -f FILE                   send the blocks in FILE ('-': stdin)\n"
"       scpp [OPTIONS] shell                     interactive shell\n"
"       scpp [OPTIONS] encode 'BLOCK'            print the canonical text and the\n"
"                                                datagram(s) in hex (offline)\n"
"       scpp [OPTIONS] decode HEX...             decode datagrams, a block or a reply\n"
"                                                given in hex ('-': stdin) (offline)\n"
"       scpp key gen|show ...                    Ed25519 keys (offline; 'scpp key --help')\n"
"       scpp grant issue|show ...                delegated grants (offline; 'scpp grant --help')\n"
"       scpp cluster [--json] [...]              the cluster map ('scpp cluster --help')\n"
"       scpp [OPTIONS] session                   open a session, print it (id, principal,\n"
"                                                node key, lanes, expiry)\n"
"\n"
"Blocks are written in the text form of docs/LANGUAGE.md: one command per\n"
"line or per ';', e.g.  scpp exec 'get @0.1.0.1.2a name %n'\n"
"\n"
"Options:\n"
"  -s, --server ADDR    node to talk to: HOST, HOST:PORT, [V6] or [V6]:PORT\n"
"                       (default: $SCPP_SERVER, else 127.0.0.1:7300; port 7300\n"
"                       reaches any shard, 7301+i shard i)\n"
"  -j, --json           print each reply as one JSON document on one line\n"
"  -t, --timeout MS     wait of the first try, in ms (default 200); it doubles\n"
"                       on each retry up to --backoff-max\n"
"      --backoff-max MS longest wait of one try (default 1000)\n"
"  -r, --retries N      retransmissions after the first try (default 5); a\n"
"                       retransmitted block is answered from the node's reply\n"
"                       cache, never executed twice\n"
"      --max-dgram N    largest datagram sent, in bytes (default 1472)\n"
"      --client-id N    client id (default: random; encode: 0)\n"
"      --block-id N     first block id (default: random; encode: 1)\n"
"  -f, --file FILE      read blocks from FILE ('-' for stdin)\n"
"  -v, --verbose        print transport counters to stderr after each block\n"
"  -h, --help           this text\n"
"  -k, --key FILE       principal key of the session (default: $SCPP_KEY, else\n"
"                       ~/.config/scpp/key, else /var/lib/scpp/node.key: the key\n"
"                       of a node on this host); every datagram is then sealed\n"
"      --chain FILE     grant chain to present (repeatable; default $SCPP_CHAIN,\n"
"                       files separated by ':'; none: the key is a root)\n"
"      --node-key K     refuse a node whose key is not K (64 hex digits or a\n"
"                       key file; default $SCPP_NODE_KEY, else any)\n"
"      --no-auth        send unauthenticated blocks (nodes in auth.mode\n"
"                       \"optional\" or \"off\")\n"
"      --lane N         the session's lane: the worker that verifies its\n"
"                       datagrams (default: from the server port, 7301 + i is\n"
"                       lane i, 7300 lane 0)\n"
"      --source-port P  send from local UDP port P (default: any)\n"
"      --copy-results   ask for each copy command's result (copies, bytes, the\n"
"                       engine, elapsed time): printed as 'copy N: ...' lines,\n"
"                       or \"copies\" in JSON (docs/PROTOCOL.md §10)\n"
"      --no-names       print OIDs bare (by default an OID in a reply is printed\n"
"                       with its display name, @0.1.0.7589e.4 (alice), asked\n"
"                       of the node through its type's name_attr)\n"
"      --version        print the version\n"
"\n"
"Files (-f): blocks are separated by a line holding only '---'; a file\n"
"without such a line is one block. '#' starts a comment.\n"
"\n"
"Shell: type a block over one or more lines; an empty line, or a line\n"
"ending in ';;', sends it. \\json and \\table switch the output, \\server\n"
"shows the node, \\help lists commands, \\q (or Ctrl-D) quits. History is\n"
"kept in ~/.scpp_history.\n"
"\n"
"Exit status:\n"
"  0  every block ran and succeeded (outcome ok)\n"
"  1  a block ran but was aborted, or collected errors in status variables\n"
"     (the summary line, or stderr with --json, says which and the errno)\n"
"  2  usage error, or a block that does not parse (line:col and a caret)\n"
"  3  no answer: timeout after all tries, port unreachable (refused), no\n"
"     route to the node, or its name does not resolve\n"
"  4  other failure: malformed reply, block too large, I/O or memory error\n"
"With several blocks, the highest status wins; -f and exec stop at the\n"
"first block that gets status 2 or more.\n",
	      out);
}

static void
version(void)
{
	printf("scpp 0.1.0 (protocol version %d)\n", SCPP_WIRE_VERSION);
}

static int
parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	if (*s == '-' || *s == '\0')
		return -1;
	*out = strtoull(s, &end, 0);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

static int
parse_uint(const char *s, unsigned int max, unsigned int *out)
{
	uint64_t v;

	if (parse_u64(s, &v) < 0 || v > max)
		return -1;
	*out = (unsigned int)v;
	return 0;
}

static void
print_caret(const char *text, size_t len, unsigned int line, unsigned int col)
{
	const char *p = text, *end = text + len, *eol;
	unsigned int l, c;

	for (l = 1; l < line && p < end; l++) {
		p = memchr(p, '\n', (size_t)(end - p));
		if (p == NULL)
			return;
		p++;
	}
	eol = memchr(p, '\n', (size_t)(end - p));
	if (eol == NULL)
		eol = end;
	fprintf(stderr, "  %.*s\n  ", (int)(eol - p), p);
	/* col counts UTF-8 characters; keep tabs so the caret lines up. */
	for (c = 1; c < col && p < eol; p++) {
		if (((uint8_t)*p & 0xc0) == 0x80)
			continue;
		fputc(*p == '\t' ? '\t' : ' ', stderr);
		c++;
	}
	fputs("^\n", stderr);
}

void
scpp_cli_parse_error(const char *where, unsigned int line0, const char *text, size_t len,
		     const struct scpp_lang_error *err)
{
	const char *msg = err->msg;
	unsigned int l, col;
	int n = 0;

	/* The parser's message starts with "line:col: "; say it relative to
	 * the file when the block came from one. */
	if (sscanf(msg, "%u:%u: %n", &l, &col, &n) == 2 && n > 0)
		msg += n;
	if (where != NULL)
		fprintf(stderr, "scpp: %s:%u:%u: %s\n", where, line0 + err->line - 1, err->col,
			msg);
	else
		fprintf(stderr, "scpp: parse error at %u:%u: %s\n", err->line, err->col, msg);
	print_caret(text, len, err->line, err->col);
}

/* ---- talking to the node ---- */

int
scpp_cli_client(struct scpp_cli *cli)
{
	struct scpp_client_config cfg = cli->cfg;

	if (cli->client != NULL)
		return 0;
	cli->client = scpp_client_create(&cfg);
	if (cli->client != NULL) {
		int rc = scpp_cli_session(cli);

		if (rc != 0) {
			scpp_client_free(cli->client);
			cli->client = NULL;
		}
		return rc;
	}
	if (errno == ENOENT)
		fprintf(stderr, "scpp: cannot resolve server '%s' (SCPP_SERVER or --server)\n",
			cfg.server);
	else if (errno == EINVAL)
		fprintf(stderr, "scpp: bad server address '%s': expected HOST, HOST:PORT or "
				"[V6]:PORT (SCPP_SERVER or --server)\n",
			cfg.server);
	else
		fprintf(stderr, "scpp: cannot open a socket to '%s': %s\n", cfg.server,
			strerror(errno));
	return errno == EINVAL ? SCPP_EXIT_USAGE : errno == ENOENT ? SCPP_EXIT_NOREPLY : SCPP_EXIT_FAIL;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *
outcome_errno(uint32_t err, char *buf, size_t size)
{
	const char *name = scpp_errno_name(err);

	if (name != NULL)
		return name;
	snprintf(buf, size, "errno %" PRIu32, err);
	return buf;
}

static int
report_exchange_error(struct scpp_cli *cli, int rc, unsigned int tries, double secs)
{
	const char *srv = scpp_client_server(cli->client);

	switch (rc) {
	case -ETIMEDOUT:
		fprintf(stderr,
			"scpp: no reply from %s after %u %s (%.1f s); is scppd running? "
			"(SCPP_SERVER or --server)\n",
			srv, tries, tries == 1 ? "try" : "tries", secs);
		return SCPP_EXIT_NOREPLY;
	case -ECONNREFUSED:
		fprintf(stderr,
			"scpp: %s refused the block (ICMP port unreachable): nothing listens "
			"there; is scppd running? (SCPP_SERVER or --server)\n",
			srv);
		return SCPP_EXIT_NOREPLY;
	case -ENETUNREACH:
	case -EHOSTUNREACH:
	case -EHOSTDOWN:
	case -ENETDOWN:
		fprintf(stderr, "scpp: cannot reach %s: %s (SCPP_SERVER or --server)\n", srv,
			strerror(-rc));
		return SCPP_EXIT_NOREPLY;
	case -EMSGSIZE:
		fprintf(stderr,
			"scpp: the block is too large: over %d datagrams of %u bytes "
			"(split it, or raise --max-dgram)\n",
			SCPP_WIRE_FRAGS_MAX, cli->cfg.max_dgram);
		return SCPP_EXIT_FAIL;
	case -EFBIG:
		fprintf(stderr, "scpp: the reply from %s exceeds %zu bytes\n", srv,
			cli->cfg.max_reply);
		return SCPP_EXIT_FAIL;
	case -SCPP_E_REPLY_LOST:
	case -SCPP_E_STALE_BLOCK:
	case -EBUSY:
		/* Delivery notices (PROTOCOL §16), not malformed replies. */
		fprintf(stderr, "scpp: %s: %s\n", srv, scpp_strerror(rc));
		return SCPP_EXIT_FAIL;
	default:
		if (-rc >= SCPP_AUTH_E_FIRST && -rc < SCPP_AUTH_E_LAST) {
			/* The node lost the session (it restarted, or closed it)
			 * and refused a new one. */
			fprintf(stderr, "scpp: %s ended the session and refused a new one: %s (%s)\n",
				srv, scpp_auth_strerror(rc), scpp_auth_error_name(rc));
			return SCPP_EXIT_FAIL;
		}
		if (-rc >= SCPP_E_FIRST && -rc < SCPP_E_LAST)
			fprintf(stderr, "scpp: malformed reply from %s: %s (%s)\n", srv,
				scpp_strerror(rc), scpp_error_name(rc));
		else
			fprintf(stderr, "scpp: exchange with %s failed: %s\n", srv,
				scpp_strerror(rc));
		return SCPP_EXIT_FAIL;
	}
}

/*
 * Display name of @p oid (seed §3): the value of the attribute its type's
 * `name_attr` names, asked of the node with one block and cached for the
 * run (a miss too). Entities without a type, or whose type has no
 * name_attr, have none.
 */
static int
cli_name(void *arg, struct scpp_oid oid, char *buf, size_t size)
{
	struct scpp_cli *cli = arg;
	struct scpp_client_reply r;
	struct scpp_lang_error err;
	struct scpp_wire_reply_reader rd;
	struct scpp_wire_record rec;
	struct scpp_cli_name *n;
	char o[SCPP_OID_STR_MAX], text[256];
	int len;

	for (unsigned int i = 0; i < cli->nnames; i++)
		if (scpp_oid_eq(cli->names[i].oid, oid)) {
			snprintf(buf, size, "%s", cli->names[i].name);
			return buf[0] != '\0';
		}
	if (cli->nnames == SCPP_ARRAY_SIZE(cli->names))
		return 0;
	n = &cli->names[cli->nnames++];
	n->oid = oid;
	n->name[0] = '\0';
	scpp_oid_format(o, sizeof(o), oid);
	len = snprintf(text, sizeof(text),
		       "get %s type %%t ; get %%t name_attr %%a ; get %s %%a %%n ; return %%n", o, o);
	if (scpp_client_exec_text(cli->client, text, (size_t)len, &r, &err) < 0)
		return 0;
	if (r.outcome == SCPP_OUTCOME_OK) {
		scpp_wire_reply_reader_init(&rd, r.msg, r.len);
		while (scpp_wire_reply_next(&rd, &rec) == 1) {
			if (rec.type == SCPP_REC_ROW && rec.row.n == 1 &&
			    rec.row.v[0].type == SCPP_VT_STR) {
				snprintf(n->name, sizeof(n->name), "%.*s",
					 (int)SCPP_MIN(rec.row.v[0].len, SCPP_LANG_NAME_MAX),
					 (const char *)rec.row.v[0].p);
				break;
			}
		}
	}
	scpp_client_reply_free(&r);
	snprintf(buf, size, "%s", n->name);
	return buf[0] != '\0';
}

int
scpp_cli_run_text(struct scpp_cli *cli, const char *text, size_t len, const char *where,
		  unsigned int line0)
{
	struct scpp_client_reply r;
	struct scpp_client_stats before, after;
	struct scpp_lang_error err;
	double t0;
	char buf[32];
	int rc;

	rc = scpp_cli_client(cli);
	if (rc != 0)
		return rc;
	scpp_client_stats_get(cli->client, &before);
	t0 = now_s();
	rc = scpp_client_exec_text(cli->client, text, len, &r, &err);
	scpp_client_stats_get(cli->client, &after);
	if (cli->verbose)
		fprintf(stderr,
			"scpp: %s: tries %" PRIu64 ", sent %" PRIu64 ", received %" PRIu64
			" (reordered %" PRIu64 ", duplicates %" PRIu64 ", strays %" PRIu64
			", malformed %" PRIu64 "), steered %" PRIu64 ", owners learnt %" PRIu64
			", sessions reopened %" PRIu64 ", owner sessions %" PRIu64
			" (refused %" PRIu64 "), %.3f ms\n",
			scpp_client_server(cli->client), after.tries - before.tries,
			after.dgrams_sent - before.dgrams_sent,
			after.dgrams_recv - before.dgrams_recv,
			after.reordered - before.reordered, after.duplicates - before.duplicates,
			after.strays - before.strays, after.malformed - before.malformed,
			after.steered - before.steered, after.owners_learned - before.owners_learned,
			after.reopened - before.reopened, after.owner_sessions - before.owner_sessions,
			after.owner_refused - before.owner_refused, (now_s() - t0) * 1e3);
	if (err.code != 0) {
		scpp_cli_parse_error(where, line0, text, len, &err);
		return SCPP_EXIT_USAGE;
	}
	if (rc < 0)
		return report_exchange_error(cli, rc, (unsigned int)(after.tries - before.tries),
					     now_s() - t0);

	/* Tables of consecutive replies are set apart by an empty line; JSON
	 * documents are one per line already. */
	if (!cli->json && cli->printed > 0)
		putchar('\n');
	rc = scpp_lang_print_reply_names(stdout, r.msg, r.len,
					 cli->json ? SCPP_LANG_REPLY_JSON : 0, scpp_errno_name,
					 cli->no_names ? NULL : cli_name, cli);
	cli->printed++;
	fflush(stdout);
	if (rc < 0) {
		fprintf(stderr, "scpp: cannot print the reply: %s\n", scpp_strerror(rc));
		scpp_client_reply_free(&r);
		return SCPP_EXIT_FAIL;
	}
	rc = SCPP_EXIT_OK;
	if (r.outcome != SCPP_OUTCOME_OK) {
		rc = SCPP_EXIT_BLOCK;
		if (cli->json)
			fprintf(stderr, "scpp: block %s: %s\n",
				r.outcome == SCPP_OUTCOME_ABORTED ? "aborted" : "collected errors",
				outcome_errno(r.err, buf, sizeof(buf)));
	}
	scpp_client_reply_free(&r);
	return rc;
}

/* ---- -f FILE ---- */

static char *
read_all(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, got;

	if (f == NULL)
		return NULL;
	do {
		if (n + 4096 > cap) {
			char *b = realloc(buf, cap = cap * 2 + 8192);

			if (b == NULL) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = b;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got > 0);
	if (buf != NULL && ferror(f)) {
		free(buf);
		buf = NULL;
	}
	if (f != stdin)
		fclose(f);
	*len = n;
	return buf;
}

static bool
is_separator(const char *p, const char *eol)
{
	while (eol > p && (eol[-1] == ' ' || eol[-1] == '\t' || eol[-1] == '\r'))
		eol--;
	return eol - p == 3 && memcmp(p, "---", 3) == 0;
}

/* True if [p, end) holds no command: only blanks, newlines and comments. */
static bool
is_blank(const char *p, const char *end)
{
	bool comment = false;

	for (; p < end; p++) {
		if (*p == '\n')
			comment = false;
		else if (*p == '#')
			comment = true;
		else if (!comment && *p != ' ' && *p != '\t' && *p != '\r' && *p != ';')
			return false;
	}
	return true;
}

static int
run_file(struct scpp_cli *cli, const char *path)
{
	const char *name = strcmp(path, "-") == 0 ? "<stdin>" : path;
	size_t len;
	char *text = read_all(path, &len);
	const char *p, *end, *start;
	unsigned int line = 1, start_line = 1;
	int worst = SCPP_EXIT_OK, rc = SCPP_EXIT_OK;

	if (text == NULL) {
		fprintf(stderr, "scpp: cannot read %s: %s\n", name, strerror(errno));
		return SCPP_EXIT_USAGE;
	}
	end = text + len;
	start = p = text;
	while (p < end && rc < SCPP_EXIT_USAGE) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *next = eol != NULL ? eol + 1 : end;

		if (is_separator(p, eol != NULL ? eol : end)) {
			if (!is_blank(start, p)) {
				rc = scpp_cli_run_text(cli, start, (size_t)(p - start), name,
						       start_line);
				worst = SCPP_MAX(worst, rc);
			}
			start = next;
			start_line = line + 1;
		}
		p = next;
		line++;
	}
	if (rc < SCPP_EXIT_USAGE && !is_blank(start, end)) {
		rc = scpp_cli_run_text(cli, start, (size_t)(end - start), name, start_line);
		worst = SCPP_MAX(worst, rc);
	}
	free(text);
	return worst;
}

/* ---- main ---- */

enum {
	OPT_VERSION = 256,
	OPT_BACKOFF_MAX,
	OPT_MAX_DGRAM,
	OPT_CLIENT_ID,
	OPT_BLOCK_ID,
	OPT_NO_NAMES,
	OPT_CHAIN,
	OPT_NODE_KEY,
	OPT_NO_AUTH,
	OPT_LANE,
	OPT_SOURCE_PORT,
	OPT_COPY_RESULTS,
};

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"server", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"timeout", required_argument, NULL, 't'},
		{"retries", required_argument, NULL, 'r'},
		{"file", required_argument, NULL, 'f'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, OPT_VERSION},
		{"backoff-max", required_argument, NULL, OPT_BACKOFF_MAX},
		{"max-dgram", required_argument, NULL, OPT_MAX_DGRAM},
		{"client-id", required_argument, NULL, OPT_CLIENT_ID},
		{"block-id", required_argument, NULL, OPT_BLOCK_ID},
		{"no-names", no_argument, NULL, OPT_NO_NAMES},
		{"key", required_argument, NULL, 'k'},
		{"chain", required_argument, NULL, OPT_CHAIN},
		{"node-key", required_argument, NULL, OPT_NODE_KEY},
		{"no-auth", no_argument, NULL, OPT_NO_AUTH},
		{"lane", required_argument, NULL, OPT_LANE},
		{"source-port", required_argument, NULL, OPT_SOURCE_PORT},
		{"copy-results", no_argument, NULL, OPT_COPY_RESULTS},
		{NULL, 0, NULL, 0},
	};
	struct scpp_cli cli;
	const char *file = NULL, *cmd, *env;
	bool backoff_set = false;
	int c, rc, i;

	/* key/grant have their own options (auth_cli.c). */
	if (argc > 1 && (strcmp(argv[1], "key") == 0 || strcmp(argv[1], "grant") == 0))
		return scpp_cli_auth(argc - 1, argv + 1);
	/* `scpp cluster` has options of its own (cluster_cli.c). */
	if (argc >= 2 && strcmp(argv[1], "cluster") == 0)
		return scpp_cli_cluster(argc - 1, argv + 1);
	memset(&cli, 0, sizeof(cli));
	cli.lane = -1;
	scpp_client_config_init(&cli.cfg);
	env = getenv(SCPP_CLIENT_ENV_SERVER);
	if (env != NULL && *env != '\0')
		cli.cfg.server = env;

	while ((c = getopt_long(argc, argv, "s:jt:r:f:vhk:", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			cli.key_path = optarg;
			break;
		case OPT_CHAIN:
			if (cli.nchains == SCPP_ARRAY_SIZE(cli.chain_path)) {
				fputs("scpp: at most 8 --chain\n", stderr);
				return SCPP_EXIT_USAGE;
			}
			cli.chain_path[cli.nchains++] = optarg;
			break;
		case OPT_NODE_KEY:
			cli.node_key = optarg;
			break;
		case OPT_NO_AUTH:
			cli.no_auth = true;
			break;
		case OPT_LANE: {
			unsigned int v;

			if (parse_uint(optarg, SCPP_AUTH_LANES_MAX - 1, &v) < 0) {
				fprintf(stderr, "scpp: --lane wants 0..%u, got '%s'\n",
					SCPP_AUTH_LANES_MAX - 1, optarg);
				return SCPP_EXIT_USAGE;
			}
			cli.lane = (int)v;
			break;
		}
		case OPT_SOURCE_PORT: {
			unsigned int v;

			if (parse_uint(optarg, 65535, &v) < 0 || v == 0) {
				fprintf(stderr, "scpp: --source-port wants 1..65535, got '%s'\n",
					optarg);
				return SCPP_EXIT_USAGE;
			}
			cli.cfg.local_port = (uint16_t)v;
			break;
		}
		case OPT_COPY_RESULTS:
			cli.cfg.copy_results = true;
			break;
		case 's':
			cli.cfg.server = optarg;
			break;
		case 'j':
			cli.json = true;
			break;
		case 't':
			if (parse_uint(optarg, 60000, &cli.cfg.timeout_ms) < 0 ||
			    cli.cfg.timeout_ms == 0) {
				fprintf(stderr, "scpp: --timeout wants 1..60000 ms, got '%s'\n",
					optarg);
				return SCPP_EXIT_USAGE;
			}
			break;
		case 'r':
			if (parse_uint(optarg, 100, &cli.cfg.retries) < 0) {
				fprintf(stderr, "scpp: --retries wants 0..100, got '%s'\n", optarg);
				return SCPP_EXIT_USAGE;
			}
			break;
		case 'f':
			file = optarg;
			break;
		case 'v':
			cli.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return SCPP_EXIT_OK;
		case OPT_VERSION:
			version();
			return SCPP_EXIT_OK;
		case OPT_BACKOFF_MAX:
			if (parse_uint(optarg, 600000, &cli.cfg.backoff_max_ms) < 0) {
				fprintf(stderr, "scpp: --backoff-max wants 1..600000 ms, got '%s'\n",
					optarg);
				return SCPP_EXIT_USAGE;
			}
			backoff_set = true;
			break;
		case OPT_MAX_DGRAM:
			if (parse_uint(optarg, SCPP_WIRE_DGRAM_MAX, &cli.cfg.max_dgram) < 0 ||
			    cli.cfg.max_dgram <= SCPP_WIRE_HDR_LEN) {
				fprintf(stderr, "scpp: --max-dgram wants %d..%d bytes, got '%s'\n",
					SCPP_WIRE_HDR_LEN + 1, SCPP_WIRE_DGRAM_MAX, optarg);
				return SCPP_EXIT_USAGE;
			}
			break;
		case OPT_CLIENT_ID:
			if (parse_u64(optarg, &cli.cfg.client_id) < 0) {
				fprintf(stderr, "scpp: --client-id wants a 64-bit number, got '%s'\n",
					optarg);
				return SCPP_EXIT_USAGE;
			}
			cli.client_id_set = true;
			break;
		case OPT_NO_NAMES:
			cli.no_names = true;
			break;
		case OPT_BLOCK_ID:
			if (parse_u64(optarg, &cli.cfg.first_block_id) < 0) {
				fprintf(stderr, "scpp: --block-id wants a 64-bit number, got '%s'\n",
					optarg);
				return SCPP_EXIT_USAGE;
			}
			cli.block_id_set = true;
			break;
		default:
			fputs("scpp: try 'scpp --help'\n", stderr);
			return SCPP_EXIT_USAGE;
		}
	}
	/* A long first timeout drags the cap along rather than being refused. */
	if (!backoff_set && cli.cfg.backoff_max_ms < cli.cfg.timeout_ms)
		cli.cfg.backoff_max_ms = cli.cfg.timeout_ms;
	if (cli.cfg.backoff_max_ms < cli.cfg.timeout_ms) {
		fprintf(stderr, "scpp: --backoff-max (%u ms) is below --timeout (%u ms)\n",
			cli.cfg.backoff_max_ms, cli.cfg.timeout_ms);
		return SCPP_EXIT_USAGE;
	}

	if (file != NULL) {
		if (optind != argc) {
			fprintf(stderr, "scpp: -f takes no command; got '%s'\n", argv[optind]);
			return SCPP_EXIT_USAGE;
		}
		rc = run_file(&cli, file);
		scpp_client_free(cli.client);
		return rc;
	}
	if (optind >= argc) {
		usage(stderr);
		return SCPP_EXIT_USAGE;
	}
	cmd = argv[optind++];
	if (strcmp(cmd, "exec") == 0) {
		if (optind >= argc) {
			fputs("scpp: exec wants a block, e.g. scpp exec 'get @0.1.0.1.2a name %n'\n",
			      stderr);
			return SCPP_EXIT_USAGE;
		}
		rc = SCPP_EXIT_OK;
		for (i = optind; i < argc; i++) {
			int r = scpp_cli_run_text(&cli, argv[i], strlen(argv[i]), NULL, 1);

			rc = SCPP_MAX(rc, r);
			if (r >= SCPP_EXIT_USAGE)
				break;
		}
	} else if (strcmp(cmd, "session") == 0) {
		if (optind != argc) {
			fprintf(stderr, "scpp: session takes no arguments; got '%s'\n", argv[optind]);
			return SCPP_EXIT_USAGE;
		}
		rc = scpp_cli_session_cmd(&cli);
	} else if (strcmp(cmd, "shell") == 0) {
		if (optind != argc) {
			fprintf(stderr, "scpp: shell takes no arguments; got '%s'\n", argv[optind]);
			return SCPP_EXIT_USAGE;
		}
		rc = scpp_cli_shell(&cli);
	} else if (strcmp(cmd, "encode") == 0) {
		if (optind + 1 != argc) {
			fputs("scpp: encode wants exactly one block\n", stderr);
			return SCPP_EXIT_USAGE;
		}
		rc = scpp_cli_encode(&cli, argv[optind]);
	} else if (strcmp(cmd, "decode") == 0) {
		rc = scpp_cli_decode(&cli, argc - optind, argv + optind);
	} else {
		fprintf(stderr, "scpp: unknown command '%s'; try 'scpp --help'\n", cmd);
		return SCPP_EXIT_USAGE;
	}
	scpp_client_free(cli.client);
	return rc;
}
