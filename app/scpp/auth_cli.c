/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * scpp key / scpp grant: offline tools for principals and delegated grants
 * (docs/SECURITY.md). They never open a socket.
 *
 *   scpp key gen [-o FILE] [--comment TEXT] [--force]
 *   scpp key show FILE [--json]
 *   scpp grant issue --to KEY --scope PREFIX --ops LIST --expires TIME
 *                    [--attrs LIST] [--depth N] [--key FILE] [--parent CHAIN]
 *                    -o FILE [--force]
 *   scpp grant show FILE [--json] [--root KEY]...
 *
 * A grant file holds a chain (root first): `grant issue` appends the new
 * link to its --parent chain, after checking everything a node will check
 * that it can check offline (linkage, attenuation), so a grant that a node
 * would refuse for those reasons is refused here with the same words.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scpp_auth.h"
#include "scpp_oid.h"
#include "cli.h"

#define AUTH_CLI_FILE_MAX SCPP_AUTH_CHAIN_BYTES_MAX

static void
auth_usage(FILE *out)
{
	fputs(
"usage: scpp key gen [-o FILE] [--comment TEXT] [--force]\n"
"           new Ed25519 key pair: FILE (secret, mode 0600) and FILE.pub;\n"
"           FILE defaults to $SCPP_KEY, else ~/.config/scpp/key\n"
"       scpp key show FILE [--json]      print the public key of a key file\n"
"       scpp grant issue --to KEY --scope PREFIX --ops LIST --expires TIME\n"
"                        [--attrs LIST] [--depth N] [--key FILE]\n"
"                        [--parent CHAIN] -o FILE [--force]\n"
"           sign a grant with --key (default as for key gen) and write the\n"
"           chain --parent + the new link to FILE\n"
"       scpp grant show FILE [--json] [--root KEY]...\n"
"           print a chain (or a single grant); with --root, verify it now\n"
"       scpp grant revoke CHAIN [--link N] [--key FILE] -o FILE\n"
"           sign a revocation of the chain's last link (or link N, from 0)\n"
"           with --key and append it to FILE (a node's auth.revocations;\n"
"           the node reads it again on SIGHUP)\n"
"\n"
"  KEY     64 hex digits, or a key file (public or secret)\n"
"  PREFIX  an OID prefix @l.n.s.e.c/BITS, one entity @l.n.s.e.c, or 'all'\n"
"  LIST    comma-separated; ops: get,set,copy,create,alloc,del,schema or all;\n"
"          attrs: attribute names or all (default all)\n"
"  TIME    2027-01-31T00:00:00Z (UTC), +30d, +12h, +15m, +90s, or @NS\n"
"  --depth further delegation levels the subject may grant (default 0)\n"
"\n"
"Exit status: 0 ok; 1 the chain does not verify (grant show --root) or a\n"
"grant would widen its parent (grant issue); 2 usage; 4 file error.\n",
	      out);
}

static int
fail_usage(const char *fmt, const char *arg)
{
	fputs("scpp: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("; try 'scpp grant --help'\n", stderr);
	return SCPP_EXIT_USAGE;
}

static void
default_key_path(char *buf, size_t size)
{
	const char *env = getenv("SCPP_KEY"), *home = getenv("HOME");

	if (env != NULL && *env != '\0')
		snprintf(buf, size, "%s", env);
	else
		snprintf(buf, size, "%s/.config/scpp/key", home != NULL ? home : ".");
}

/* Report a key file error with its path and line. */
static int
key_error(const char *path, int rc, const struct scpp_auth_fault *f)
{
	if (rc == -SCPP_AUTH_E_KEY_PERMS)
		fprintf(stderr, "scpp: %s: %s: chmod 600 it\n", path, scpp_auth_strerror(rc));
	else if (f != NULL && f->line != 0)
		fprintf(stderr, "scpp: %s:%u: %s\n", path, f->line, scpp_auth_strerror(rc));
	else
		fprintf(stderr, "scpp: %s: %s\n", path, scpp_auth_strerror(rc));
	return SCPP_EXIT_FAIL;
}

/* KEY: hex digits or a key file. */
static int
parse_pubkey(const char *arg, uint8_t pk[SCPP_AUTH_KEY_LEN])
{
	struct scpp_auth_fault f;
	int rc;

	if (strlen(arg) == 2 * SCPP_AUTH_KEY_LEN &&
	    scpp_auth_hex_parse(arg, strlen(arg), pk, SCPP_AUTH_KEY_LEN) == 0)
		return 0;
	rc = scpp_auth_pubkey_load(arg, pk, NULL, &f);
	if (rc == 0)
		return 0;
	if (rc == -ENOENT)
		fprintf(stderr, "scpp: '%s' is neither 64 hex digits nor a key file\n", arg);
	else
		key_error(arg, rc, &f);
	return rc == -ENOENT ? SCPP_EXIT_USAGE : SCPP_EXIT_FAIL;
}

static void
json_str(FILE *out, const char *s, size_t n)
{
	fputc('"', out);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void
print_hex(FILE *out, const uint8_t *p, size_t n)
{
	char buf[2 * SCPP_AUTH_SIG_LEN + 1];

	scpp_auth_hex_format(buf, p, n);
	fputs(buf, out);
}

/* ------------------------------------------------------------------ key */

static int
key_gen(int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'},
		{"comment", required_argument, NULL, 'c'},
		{"force", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct scpp_auth_keypair kp;
	char path[4096], pub[4100], dir[4096];
	const char *comment = NULL;
	unsigned int flags = 0;
	int c, rc;

	default_key_path(path, sizeof(path));
	while ((c = getopt_long(argc, argv, "o:c:fh", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			snprintf(path, sizeof(path), "%s", optarg);
			break;
		case 'c':
			comment = optarg;
			break;
		case 'f':
			flags |= SCPP_AUTH_SAVE_FORCE;
			break;
		case 'h':
			auth_usage(stdout);
			return SCPP_EXIT_OK;
		default:
			return fail_usage("%s", "bad option to key gen");
		}
	}
	if (optind != argc)
		return fail_usage("key gen takes no argument; got '%s'", argv[optind]);
	/* The default directory is created private, as ~/.ssh is. */
	snprintf(dir, sizeof(dir), "%s", path);
	if (strrchr(dir, '/') != NULL) {
		*strrchr(dir, '/') = '\0';
		if (dir[0] != '\0' && access(dir, F_OK) != 0) {
			char parent[4096];

			snprintf(parent, sizeof(parent), "%s", dir);
			if (strrchr(parent, '/') != NULL) {
				*strrchr(parent, '/') = '\0';
				if (parent[0] != '\0')
					mkdir(parent, 0700);
			}
			mkdir(dir, 0700);
		}
	}
	if (scpp_auth_key_generate(&kp) != 0) {
		fputs("scpp: cannot initialise libsodium\n", stderr);
		return SCPP_EXIT_FAIL;
	}
	snprintf(pub, sizeof(pub), "%s.pub", path);
	rc = scpp_auth_key_save(path, &kp, comment, flags);
	if (rc == 0)
		rc = scpp_auth_pubkey_save(pub, kp.pk, comment, flags);
	if (rc != 0) {
		scpp_auth_key_wipe(&kp);
		if (rc == -EEXIST)
			fprintf(stderr, "scpp: %s or %s exists; --force replaces it\n", path, pub);
		else if (rc == -EINVAL)
			fputs("scpp: the comment must be printable UTF-8 of at most 128 bytes\n",
			      stderr);
		else
			fprintf(stderr, "scpp: cannot write %s: %s\n", path, strerror(-rc));
		return rc == -EINVAL || rc == -EEXIST ? SCPP_EXIT_USAGE : SCPP_EXIT_FAIL;
	}
	printf("secret key: %s (mode 0600)\npublic key: %s\n", path, pub);
	print_hex(stdout, kp.pk, SCPP_AUTH_KEY_LEN);
	putchar('\n');
	scpp_auth_key_wipe(&kp);
	return SCPP_EXIT_OK;
}

static int
key_show(int argc, char **argv)
{
	struct scpp_auth_fault f;
	uint8_t pk[SCPP_AUTH_KEY_LEN];
	char comment[129];
	bool json = false;
	int rc;

	if (argc == 3 && strcmp(argv[2], "--json") == 0)
		json = true;
	else if (argc != 2)
		return fail_usage("%s", "key show wants FILE [--json]");
	rc = scpp_auth_pubkey_load(argv[1], pk, comment, &f);
	if (rc != 0)
		return key_error(argv[1], rc, &f);
	if (json) {
		fputs("{\"public_key\":\"", stdout);
		print_hex(stdout, pk, sizeof(pk));
		fputs("\",\"comment\":", stdout);
		json_str(stdout, comment, strlen(comment));
		fputs("}\n", stdout);
	} else {
		print_hex(stdout, pk, sizeof(pk));
		if (comment[0] != '\0')
			printf(" %s", comment);
		putchar('\n');
	}
	return SCPP_EXIT_OK;
}

/* ---------------------------------------------------------------- files */

static uint8_t *
read_file(const char *path, size_t *len, size_t max)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;

	if (f == NULL) {
		fprintf(stderr, "scpp: cannot read %s: %s\n", path, strerror(errno));
		return NULL;
	}
	buf = malloc(max + 1);
	if (buf == NULL) {
		fclose(f);
		fputs("scpp: out of memory\n", stderr);
		return NULL;
	}
	*len = fread(buf, 1, max + 1, f);
	fclose(f);
	if (*len > max) {
		fprintf(stderr, "scpp: %s: larger than a chain can be (%zu bytes)\n", path, max);
		free(buf);
		return NULL;
	}
	return buf;
}

/* Decode a chain file; a file holding one bare grant reads as one link. */
static int
load_chain(const char *path, struct scpp_auth_chain *c, uint8_t **buf)
{
	uint32_t off = 0;
	size_t len;
	int rc;

	*buf = read_file(path, &len, AUTH_CLI_FILE_MAX);
	if (*buf == NULL)
		return SCPP_EXIT_FAIL;
	if (len >= 2 && (*buf)[0] == 0x53 && (*buf)[1] == 0x47) {
		c->n = 1;
		rc = scpp_auth_grant_decode(*buf, len, &c->link[0], NULL, &off);
	} else {
		rc = scpp_auth_chain_decode(*buf, len, c, NULL, &off);
	}
	if (rc != 0) {
		fprintf(stderr, "scpp: %s: not a grant or chain: %s (%s) at byte %u\n", path,
			scpp_auth_strerror(rc), scpp_auth_error_name(rc), off);
		free(*buf);
		*buf = NULL;
		return SCPP_EXIT_FAIL;
	}
	return SCPP_EXIT_OK;
}

static int
write_out(const char *path, const uint8_t *p, size_t n, bool force)
{
	int fd;

	if (strcmp(path, "-") == 0) {
		if (isatty(STDOUT_FILENO)) {
			fputs("scpp: a chain is binary: refusing to write it to a terminal\n", stderr);
			return SCPP_EXIT_USAGE;
		}
		return fwrite(p, 1, n, stdout) == n ? SCPP_EXIT_OK : SCPP_EXIT_FAIL;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | (force ? 0 : O_EXCL), 0644);
	if (fd < 0) {
		fprintf(stderr, "scpp: cannot write %s: %s%s\n", path, strerror(errno),
			errno == EEXIST ? " (--force replaces it)" : "");
		return errno == EEXIST ? SCPP_EXIT_USAGE : SCPP_EXIT_FAIL;
	}
	if (write(fd, p, n) != (ssize_t)n || fsync(fd) != 0) {
		fprintf(stderr, "scpp: cannot write %s: %s\n", path, strerror(errno));
		close(fd);
		return SCPP_EXIT_FAIL;
	}
	close(fd);
	return SCPP_EXIT_OK;
}

/* ---------------------------------------------------------- grant issue */

static int
parse_scope(const char *s, struct scpp_oid_prefix *p)
{
	struct scpp_oid o;

	if (strcmp(s, "all") == 0) {
		*p = (struct scpp_oid_prefix){SCPP_OID_NIL, 0};
		return 0;
	}
	if (strchr(s, '/') != NULL)
		return scpp_oid_prefix_parse(s, strlen(s), p);
	if (scpp_oid_parse(s, strlen(s), &o) != 0)
		return -EINVAL;
	return scpp_oid_prefix_make(p, o, 128);
}

static int
name_cmp(const void *a, const void *b)
{
	const struct scpp_auth_attr *x = a, *y = b;
	int c = memcmp(x->p, y->p, SCPP_MIN(x->len, y->len));

	return c != 0 ? c : (int)x->len - (int)y->len;
}

/* "all", or names (sorted here: the encoding wants them in order). */
static int
parse_attrs(char *s, struct scpp_auth_grant *g)
{
	char *save = NULL, *tok;

	g->nattrs = 0;
	if (strcmp(s, "all") == 0)
		return 0;
	for (tok = strtok_r(s, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		size_t n = strlen(tok);

		if (g->nattrs == SCPP_AUTH_ATTRS_MAX)
			return fail_usage("more than 32 attributes (from '%s' on)", tok);
		if (n == 0 || n > SCPP_AUTH_ATTR_NAME_MAX)
			return fail_usage("attribute name '%s' must have 1..64 bytes", tok);
		g->attr[g->nattrs++] = (struct scpp_auth_attr){tok, (uint8_t)n};
	}
	if (g->nattrs == 0)
		return fail_usage("%s", "--attrs wants names or 'all'");
	qsort(g->attr, g->nattrs, sizeof(g->attr[0]), name_cmp);
	for (unsigned int i = 1; i < g->nattrs; i++)
		if (name_cmp(&g->attr[i - 1], &g->attr[i]) == 0)
			return fail_usage("attribute '%s' given twice", g->attr[i].p);
	return 0;
}

/* Explain why a grant would widen its parent, in the node's terms. */
static void
explain_widening(int rc, const struct scpp_auth_grant *g, const struct scpp_auth_grant *parent)
{
	char a[SCPP_OID_STR_MAX], b[SCPP_OID_STR_MAX], x[64], y[64];

	fprintf(stderr, "scpp: the grant would be refused: %s (%s): ", scpp_auth_strerror(rc),
		scpp_auth_error_name(rc));
	switch (-rc) {
	case SCPP_AUTH_E_BROKEN_LINK:
		fputs("--key must be the parent's subject\n", stderr);
		break;
	case SCPP_AUTH_E_WIDENED_DEPTH:
		fprintf(stderr, "the parent allows depth %u below it, so --depth must be below %u\n",
			parent->depth, parent->depth);
		break;
	case SCPP_AUTH_E_WIDENED_SCOPE:
		scpp_oid_prefix_format(a, sizeof(a), &g->scope);
		scpp_oid_prefix_format(b, sizeof(b), &parent->scope);
		fprintf(stderr, "scope %s is not within the parent's %s\n", a, b);
		break;
	case SCPP_AUTH_E_WIDENED_ATTRS:
		fputs("--attrs must be a subset of the parent's attributes\n", stderr);
		break;
	case SCPP_AUTH_E_WIDENED_OPS:
		scpp_auth_ops_format(x, sizeof(x), g->ops);
		scpp_auth_ops_format(y, sizeof(y), parent->ops);
		fprintf(stderr, "operations %s are not within the parent's %s\n", x, y);
		break;
	case SCPP_AUTH_E_WIDENED_EXPIRY:
		scpp_auth_time_format(x, sizeof(x), g->expires_ns);
		scpp_auth_time_format(y, sizeof(y), parent->expires_ns);
		fprintf(stderr, "expiry %s is after the parent's %s\n", x, y);
		break;
	default:
		fputc('\n', stderr);
	}
}

static int
grant_issue(int argc, char **argv)
{
	static const struct option opts[] = {
		{"to", required_argument, NULL, 't'},
		{"scope", required_argument, NULL, 's'},
		{"attrs", required_argument, NULL, 'a'},
		{"ops", required_argument, NULL, 'p'},
		{"expires", required_argument, NULL, 'e'},
		{"depth", required_argument, NULL, 'd'},
		{"key", required_argument, NULL, 'k'},
		{"parent", required_argument, NULL, 'P'},
		{"output", required_argument, NULL, 'o'},
		{"force", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static struct scpp_auth_chain chain;
	static uint8_t gbuf[SCPP_AUTH_GRANT_MAX], out[SCPP_AUTH_CHAIN_BYTES_MAX];
	struct scpp_auth_grant *g;
	struct scpp_auth_keypair issuer;
	struct scpp_auth_fault f;
	char keypath[4096], *attrs = NULL, *end;
	const char *to = NULL, *scope = NULL, *ops = NULL, *expires = NULL, *parent = NULL;
	const char *output = NULL;
	uint8_t *pbuf = NULL;
	bool force = false;
	unsigned long depth = 0;
	size_t bad = 0;
	int c, rc, n;

	default_key_path(keypath, sizeof(keypath));
	while ((c = getopt_long(argc, argv, "t:s:a:p:e:d:k:P:o:fh", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			to = optarg;
			break;
		case 's':
			scope = optarg;
			break;
		case 'a':
			attrs = optarg;
			break;
		case 'p':
			ops = optarg;
			break;
		case 'e':
			expires = optarg;
			break;
		case 'd':
			errno = 0;
			depth = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || *optarg == '\0' ||
			    depth >= SCPP_AUTH_CHAIN_MAX)
				return fail_usage("--depth wants 0..7, got '%s'", optarg);
			break;
		case 'k':
			snprintf(keypath, sizeof(keypath), "%s", optarg);
			break;
		case 'P':
			parent = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case 'f':
			force = true;
			break;
		case 'h':
			auth_usage(stdout);
			return SCPP_EXIT_OK;
		default:
			return fail_usage("%s", "bad option to grant issue");
		}
	}
	if (optind != argc)
		return fail_usage("grant issue takes no argument; got '%s'", argv[optind]);
	if (to == NULL || scope == NULL || ops == NULL || expires == NULL || output == NULL)
		return fail_usage("%s", "grant issue needs --to, --scope, --ops, --expires and -o");

	memset(&chain, 0, sizeof(chain));
	if (parent != NULL) {
		rc = load_chain(parent, &chain, &pbuf);
		if (rc != SCPP_EXIT_OK)
			return rc;
		if (chain.n == SCPP_AUTH_CHAIN_MAX) {
			fprintf(stderr, "scpp: %s has %u links already, the most a chain has\n",
				parent, chain.n);
			free(pbuf);
			return SCPP_EXIT_BLOCK;
		}
	}
	g = &chain.link[chain.n];
	memset(g, 0, sizeof(*g));
	rc = parse_pubkey(to, g->subject);
	if (rc == 0 && parse_scope(scope, &g->scope) != 0)
		rc = fail_usage("--scope wants @l.n.s.e.c/BITS (no bits set past BITS), @l.n.s.e.c "
				"or 'all', got '%s'",
				scope);
	if (rc == 0 && scpp_auth_ops_parse(ops, &g->ops, &bad) != 0)
		rc = fail_usage("--ops: unknown operation in '%s' (get,set,copy,create,alloc,del,schema,all)",
				ops);
	/* Relative expiries count from the current second: whole-second times
	 * read better in `grant show` and nobody needs a grant to the ns. */
	if (rc == 0 && scpp_auth_time_parse(expires, scpp_auth_now_ns() / 1000000000 * 1000000000,
					    &g->expires_ns) != 0)
		rc = fail_usage("--expires wants 2027-01-31T00:00:00Z, +30d, +12h, +15m, +90s or @NS, "
				"got '%s'", expires);
	if (rc == 0 && attrs != NULL)
		rc = parse_attrs(attrs, g);
	g->depth = (uint8_t)depth;
	if (rc == 0) {
		rc = scpp_auth_key_load(keypath, &issuer, NULL, &f);
		if (rc != 0)
			rc = key_error(keypath, rc, &f);
	}
	if (rc != 0) {
		free(pbuf);
		return rc;
	}
	memcpy(g->issuer, issuer.pk, SCPP_AUTH_KEY_LEN);
	if (chain.n > 0) {
		rc = scpp_auth_grant_within(g, &chain.link[chain.n - 1]);
		if (rc != 0) {
			explain_widening(rc, g, &chain.link[chain.n - 1]);
			scpp_auth_key_wipe(&issuer);
			free(pbuf);
			return SCPP_EXIT_BLOCK;
		}
	}
	n = scpp_auth_grant_sign(g, &issuer, gbuf, sizeof(gbuf));
	scpp_auth_key_wipe(&issuer);
	if (n > 0) {
		chain.n++;
		n = scpp_auth_chain_encode(&chain, out, sizeof(out));
	}
	free(pbuf);
	if (n < 0) {
		fprintf(stderr, "scpp: cannot encode the grant: %s\n", scpp_auth_strerror(n));
		return SCPP_EXIT_FAIL;
	}
	return write_out(output, out, (size_t)n, force);
}

/* ----------------------------------------------------------- grant show */

static void
show_link_text(const struct scpp_auth_chain *c, unsigned int i, uint64_t now)
{
	const struct scpp_auth_grant *g = &c->link[i];
	char buf[64], oid[SCPP_OID_STR_MAX];
	uint8_t id[SCPP_AUTH_ID_LEN];
	int rc;

	printf("link %u\n  issuer      ", i);
	print_hex(stdout, g->issuer, SCPP_AUTH_KEY_LEN);
	printf("\n  subject     ");
	print_hex(stdout, g->subject, SCPP_AUTH_KEY_LEN);
	scpp_oid_prefix_format(oid, sizeof(oid), &g->scope);
	printf("\n  scope       %s%s\n  attributes  ", oid,
	       g->scope.len == 128 ? " (one entity)" : g->scope.len == 0 ? " (everything)" : "");
	if (g->nattrs == 0)
		fputs("all", stdout);
	for (unsigned int k = 0; k < g->nattrs; k++)
		printf("%s%.*s", k > 0 ? "," : "", (int)g->attr[k].len, g->attr[k].p);
	scpp_auth_ops_format(buf, sizeof(buf), g->ops);
	printf("\n  operations  %s\n  depth       %u\n", buf, g->depth);
	scpp_auth_time_format(buf, sizeof(buf), g->expires_ns);
	printf("  expires     %s%s\n  id          ", buf, now >= g->expires_ns ? " (expired)" : "");
	scpp_auth_grant_id(g, id);
	print_hex(stdout, id, sizeof(id));
	rc = scpp_auth_grant_verify(g);
	printf("\n  signature   %s\n", rc == 0 ? "ok" : "BAD");
	if (i > 0) {
		rc = scpp_auth_grant_within(g, &c->link[i - 1]);
		printf("  within %u    %s%s%s\n", i - 1, rc == 0 ? "ok" : scpp_auth_strerror(rc),
		       rc == 0 ? "" : " ", rc == 0 ? "" : scpp_auth_error_name(rc));
	}
}

static void
show_link_json(const struct scpp_auth_chain *c, unsigned int i, uint64_t now)
{
	const struct scpp_auth_grant *g = &c->link[i];
	char buf[64], oid[SCPP_OID_STR_MAX];
	uint8_t id[SCPP_AUTH_ID_LEN];
	int rc;

	fputs(i > 0 ? ",{\"issuer\":\"" : "{\"issuer\":\"", stdout);
	print_hex(stdout, g->issuer, SCPP_AUTH_KEY_LEN);
	fputs("\",\"subject\":\"", stdout);
	print_hex(stdout, g->subject, SCPP_AUTH_KEY_LEN);
	scpp_oid_prefix_format(oid, sizeof(oid), &g->scope);
	printf("\",\"scope\":\"%s\",\"attributes\":", oid);
	if (g->nattrs == 0)
		fputs("\"all\"", stdout);
	else
		putchar('[');
	for (unsigned int k = 0; k < g->nattrs; k++) {
		if (k > 0)
			putchar(',');
		json_str(stdout, g->attr[k].p, g->attr[k].len);
	}
	if (g->nattrs > 0)
		putchar(']');
	fputs(",\"operations\":[", stdout);
	for (unsigned int b = 0, k = 0; b < SCPP_AUTH_OP_BITS; b++)
		if (g->ops & (1u << b))
			printf("%s\"%s\"", k++ > 0 ? "," : "", scpp_auth_op_name((uint16_t)(1u << b)));
	scpp_auth_time_format(buf, sizeof(buf), g->expires_ns);
	printf("],\"depth\":%u,\"expires\":\"%s\",\"expires_ns\":%" PRIu64 ",\"expired\":%s,\"id\":\"",
	       g->depth, buf, g->expires_ns, now >= g->expires_ns ? "true" : "false");
	scpp_auth_grant_id(g, id);
	print_hex(stdout, id, sizeof(id));
	rc = scpp_auth_grant_verify(g);
	printf("\",\"signature_ok\":%s", rc == 0 ? "true" : "false");
	if (i > 0) {
		rc = scpp_auth_grant_within(g, &c->link[i - 1]);
		printf(",\"within_parent\":%s", rc == 0 ? "null" : "");
		if (rc != 0)
			printf("\"%s\"", scpp_auth_error_name(rc));
	}
	putchar('}');
}

static int
grant_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"root", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static struct scpp_auth_chain chain;
	uint8_t roots[SCPP_AUTH_ROOTS_MAX][SCPP_AUTH_KEY_LEN], *buf = NULL;
	unsigned int nroots = 0;
	struct scpp_auth_fault f;
	bool json = false;
	uint64_t now = scpp_auth_now_ns();
	const uint8_t *principal;
	int c, rc, vrc = 0;

	while ((c = getopt_long(argc, argv, "jr:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'r':
			if (nroots == SCPP_AUTH_ROOTS_MAX)
				return fail_usage("at most 16 --root keys (from '%s' on)", optarg);
			rc = parse_pubkey(optarg, roots[nroots]);
			if (rc != 0)
				return rc;
			nroots++;
			break;
		case 'h':
			auth_usage(stdout);
			return SCPP_EXIT_OK;
		default:
			return fail_usage("%s", "bad option to grant show");
		}
	}
	if (optind + 1 != argc)
		return fail_usage("%s", "grant show wants exactly one FILE");
	rc = load_chain(argv[optind], &chain, &buf);
	if (rc != SCPP_EXIT_OK)
		return rc;
	principal = chain.n > 0 ? chain.link[chain.n - 1].subject : NULL;
	scpp_auth_fault_clear(&f);
	if (nroots > 0 && principal != NULL) {
		struct scpp_auth_trust t = {(const uint8_t(*)[SCPP_AUTH_KEY_LEN])roots, nroots, NULL};

		vrc = scpp_auth_chain_verify(&chain, principal, &t, now, &f);
	}
	if (json) {
		fputs("{\"links\":[", stdout);
		for (unsigned int i = 0; i < chain.n; i++)
			show_link_json(&chain, i, now);
		fputs("],\"principal\":", stdout);
		if (principal != NULL) {
			putchar('"');
			print_hex(stdout, principal, SCPP_AUTH_KEY_LEN);
			putchar('"');
		} else {
			fputs("null", stdout);
		}
		if (nroots > 0)
			printf(",\"verified\":%s,\"error\":%s%s%s", vrc == 0 ? "true" : "false",
			       vrc == 0 ? "null" : "\"", vrc == 0 ? "" : scpp_auth_error_name(vrc),
			       vrc == 0 ? "" : "\"");
		if (nroots > 0 && vrc != 0)
			printf(",\"link\":%u", f.link);
		fputs("}\n", stdout);
	} else {
		printf("chain of %u link%s", chain.n, chain.n == 1 ? "" : "s");
		if (principal != NULL) {
			fputs(" for principal ", stdout);
			print_hex(stdout, principal, SCPP_AUTH_KEY_LEN);
		}
		putchar('\n');
		for (unsigned int i = 0; i < chain.n; i++)
			show_link_text(&chain, i, now);
		if (nroots == 0)
			puts("verification: not checked (give the node's roots with --root KEY)");
		else if (vrc == 0)
			puts("verification: ok");
		else
			printf("verification: FAILED at link %u: %s (%s)\n", f.link,
			       scpp_auth_strerror(vrc), scpp_auth_error_name(vrc));
	}
	free(buf);
	return vrc == 0 ? SCPP_EXIT_OK : SCPP_EXIT_BLOCK;
}

/* ---------------------------------------------------------- grant revoke */

static int
grant_revoke(int argc, char **argv)
{
	static const struct option opts[] = {
		{"link", required_argument, NULL, 'l'},
		{"key", required_argument, NULL, 'k'},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static struct scpp_auth_chain chain;
	struct scpp_auth_revocation r;
	struct scpp_auth_keypair kp;
	struct scpp_auth_fault f;
	uint8_t entry[SCPP_AUTH_REVOCATION_LEN], *buf = NULL;
	char keypath[4096], *end;
	const char *output = NULL;
	long link = -1;
	int c, rc, fd;

	default_key_path(keypath, sizeof(keypath));
	while ((c = getopt_long(argc, argv, "l:k:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			errno = 0;
			link = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || link < 0 || link >= SCPP_AUTH_CHAIN_MAX)
				return fail_usage("--link wants a link number 0..7, got '%s'", optarg);
			break;
		case 'k':
			snprintf(keypath, sizeof(keypath), "%s", optarg);
			break;
		case 'o':
			output = optarg;
			break;
		case 'h':
			auth_usage(stdout);
			return SCPP_EXIT_OK;
		default:
			return fail_usage("%s", "bad option to grant revoke");
		}
	}
	if (optind + 1 != argc || output == NULL)
		return fail_usage("%s", "grant revoke wants one CHAIN and -o FILE");
	rc = load_chain(argv[optind], &chain, &buf);
	if (rc != SCPP_EXIT_OK)
		return rc;
	if (chain.n == 0 || (link >= 0 && link >= chain.n)) {
		fprintf(stderr, "scpp: %s has %u link%s: nothing to revoke at link %ld\n",
			argv[optind], chain.n, chain.n == 1 ? "" : "s", link < 0 ? 0 : link);
		free(buf);
		return SCPP_EXIT_USAGE;
	}
	if (link < 0)
		link = chain.n - 1;
	memset(&r, 0, sizeof(r));
	/* The id is over the link's bytes as read: buf must still be there. */
	(void)scpp_auth_grant_id(&chain.link[link], r.grant_id);
	r.grant_expires_ns = chain.link[link].expires_ns;
	free(buf);
	scpp_auth_fault_clear(&f);
	rc = scpp_auth_key_load(keypath, &kp, NULL, &f);
	if (rc != 0)
		return key_error(keypath, rc, &f);
	r.revoked_ns = scpp_auth_now_ns();
	rc = scpp_auth_revocation_sign(&r, &kp, entry, sizeof(entry));
	scpp_auth_key_wipe(&kp);
	if (rc != SCPP_AUTH_REVOCATION_LEN) {
		fprintf(stderr, "scpp: cannot sign the revocation: %s\n", scpp_auth_strerror(rc));
		return SCPP_EXIT_FAIL;
	}
	fd = open(output, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd < 0 || write(fd, entry, sizeof(entry)) != (ssize_t)sizeof(entry) || fsync(fd) != 0) {
		fprintf(stderr, "scpp: cannot append to %s: %s\n", output, strerror(errno));
		if (fd >= 0)
			close(fd);
		return SCPP_EXIT_FAIL;
	}
	close(fd);
	fputs("revoked grant ", stdout);
	print_hex(stdout, r.grant_id, SCPP_AUTH_ID_LEN);
	printf(" (link %ld of %s)\n", link, argv[optind]);
	return SCPP_EXIT_OK;
}

int
scpp_cli_auth(int argc, char **argv)
{
	const char *what = argv[0], *sub = argc > 1 ? argv[1] : NULL;

	if (sub == NULL || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
		auth_usage(sub == NULL ? stderr : stdout);
		return sub == NULL ? SCPP_EXIT_USAGE : SCPP_EXIT_OK;
	}
	/* getopt starts over on the subcommand's arguments. */
	optind = 1;
	if (strcmp(what, "key") == 0 && strcmp(sub, "gen") == 0)
		return key_gen(argc - 1, argv + 1);
	if (strcmp(what, "key") == 0 && strcmp(sub, "show") == 0)
		return key_show(argc - 1, argv + 1);
	if (strcmp(what, "grant") == 0 && strcmp(sub, "issue") == 0)
		return grant_issue(argc - 1, argv + 1);
	if (strcmp(what, "grant") == 0 && strcmp(sub, "show") == 0)
		return grant_show(argc - 1, argv + 1);
	if (strcmp(what, "grant") == 0 && strcmp(sub, "revoke") == 0)
		return grant_revoke(argc - 1, argv + 1);
	fprintf(stderr, "scpp: unknown command '%s %s'; try 'scpp %s --help'\n", what, sub, what);
	return SCPP_EXIT_USAGE;
}
