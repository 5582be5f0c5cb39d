/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ed25519 key pairs and key files.
 *
 * A key file is a few lines of text so that people can read, copy and diff
 * public keys, and so that a truncated or edited file fails with a line
 * number rather than as "bad key" (docs/SECURITY.md "Key files"):
 *
 *   scpp-key 1
 *   type ed25519-secret            (or ed25519-public)
 *   public <64 hex digits>
 *   seed <64 hex digits>           (secret files only)
 *   comment <text>                 (optional)
 *
 * A secret file keeps only the seed; the public line is redundant on
 * purpose: loading derives the key pair from the seed and refuses a file
 * whose public line disagrees (a corrupted or hand-edited file). Secret
 * files are refused when group or others may read them, as ssh does.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth_priv.h"
#include "scpp_value.h"

#define KEY_FILE_MAX 4096
#define KEY_COMMENT_MAX 128

int
scpp_auth_key_generate(struct scpp_auth_keypair *kp)
{
	if (kp == NULL)
		return -EINVAL;
	if (scpp_auth_init() != 0)
		return -ENOSYS;
	crypto_sign_keypair(kp->pk, kp->sk);
	return 0;
}

int
scpp_auth_key_from_seed(struct scpp_auth_keypair *kp, const uint8_t seed[SCPP_AUTH_KEY_LEN])
{
	if (kp == NULL || seed == NULL)
		return -EINVAL;
	if (scpp_auth_init() != 0)
		return -ENOSYS;
	crypto_sign_seed_keypair(kp->pk, kp->sk, seed);
	return 0;
}

void
scpp_auth_key_wipe(struct scpp_auth_keypair *kp)
{
	if (kp != NULL)
		sodium_memzero(kp, sizeof(*kp));
}

static bool
comment_ok(const char *c)
{
	size_t n;

	if (c == NULL)
		return true;
	n = strlen(c);
	if (n > KEY_COMMENT_MAX || !scpp_utf8_valid((const uint8_t *)c, n))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((uint8_t)c[i] < 0x20 || c[i] == 0x7f)
			return false;
	return true;
}

/* Write @p text to @p path with @p mode, atomically: temporary file in the
 * same directory, fsync, then link() (fails with EEXIST if the name is
 * taken: no check-then-create race) or rename() (FORCE), then fsync of the
 * directory so the new name survives a crash. */
static int
write_file(const char *path, const char *text, size_t len, mode_t mode, unsigned int flags)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	const char *slash;
	int fd, rc = 0, dfd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, mode) != 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0) {
		if (flags & SCPP_AUTH_SAVE_FORCE)
			rc = rename(tmp, path) == 0 ? 0 : -errno;
		else
			rc = link(tmp, path) == 0 ? 0 : -errno;
	}
	unlink(tmp); /* after rename it is already gone: ignore ENOENT */
	if (rc != 0)
		return rc;
	slash = strrchr(path, '/');
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path) + (slash == path), path);
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

static int
save(const char *path, const uint8_t pk[SCPP_AUTH_KEY_LEN], const uint8_t *seed,
     const char *comment, unsigned int flags)
{
	char text[512], pkh[65], sh[65];
	int n;

	if (path == NULL || pk == NULL || !comment_ok(comment) || (flags & ~SCPP_AUTH_SAVE_FORCE))
		return -EINVAL;
	scpp_auth_hex_format(pkh, pk, SCPP_AUTH_KEY_LEN);
	if (seed != NULL) {
		scpp_auth_hex_format(sh, seed, SCPP_AUTH_KEY_LEN);
		n = snprintf(text, sizeof(text), "scpp-key 1\ntype ed25519-secret\npublic %s\nseed %s\n",
			     pkh, sh);
		sodium_memzero(sh, sizeof(sh));
	} else {
		n = snprintf(text, sizeof(text), "scpp-key 1\ntype ed25519-public\npublic %s\n", pkh);
	}
	if (comment != NULL && *comment != '\0')
		n += snprintf(text + n, sizeof(text) - (size_t)n, "comment %s\n", comment);
	n = write_file(path, text, (size_t)n, seed != NULL ? 0600 : 0644, flags);
	sodium_memzero(text, sizeof(text));
	return n;
}

int
scpp_auth_key_save(const char *path, const struct scpp_auth_keypair *kp, const char *comment,
		   unsigned int flags)
{
	if (kp == NULL)
		return -EINVAL;
	/* libsodium's secret key is seed || public key. */
	return save(path, kp->pk, kp->sk, comment, flags);
}

int
scpp_auth_pubkey_save(const char *path, const uint8_t pk[SCPP_AUTH_KEY_LEN], const char *comment,
		      unsigned int flags)
{
	return save(path, pk, NULL, comment, flags);
}

/* ---- loading ---- */

struct key_text {
	bool secret;
	uint8_t pk[SCPP_AUTH_KEY_LEN];
	uint8_t seed[SCPP_AUTH_KEY_LEN];
	char comment[KEY_COMMENT_MAX + 1];
};

static int
key_fail(struct scpp_auth_fault *f, uint32_t line)
{
	if (f != NULL)
		f->line = line;
	return -SCPP_AUTH_E_KEY_FILE;
}

/* Split off the next line: [p, *eol) without its newline. */
static bool
next_line(const char **p, const char *end, const char **line, size_t *len)
{
	const char *nl;

	if (*p >= end)
		return false;
	nl = memchr(*p, '\n', (size_t)(end - *p));
	*line = *p;
	*len = (size_t)((nl != NULL ? nl : end) - *p);
	*p = nl != NULL ? nl + 1 : end;
	return true;
}

/* "key value" with exactly one space; returns the value or NULL. */
static const char *
field(const char *line, size_t len, const char *key, size_t *vlen)
{
	size_t k = strlen(key);

	if (len <= k + 1 || memcmp(line, key, k) != 0 || line[k] != ' ')
		return NULL;
	*vlen = len - k - 1;
	return line + k + 1;
}

static int
parse_key_text(const char *buf, size_t n, struct key_text *kt, struct scpp_auth_fault *f)
{
	const char *p = buf, *end = buf + n, *line, *v;
	size_t len, vlen;
	uint32_t no = 0;

	memset(kt, 0, sizeof(*kt));
	if (memchr(buf, '\0', n) != NULL || memchr(buf, '\r', n) != NULL)
		return key_fail(f, 1);
	if (!next_line(&p, end, &line, &len) || len != 10 || memcmp(line, "scpp-key 1", 10) != 0)
		return key_fail(f, 1);
	if (!next_line(&p, end, &line, &len))
		return key_fail(f, 2);
	no = 2;
	v = field(line, len, "type", &vlen);
	if (v != NULL && vlen == 14 && memcmp(v, "ed25519-secret", 14) == 0)
		kt->secret = true;
	else if (v == NULL || vlen != 14 || memcmp(v, "ed25519-public", 14) != 0)
		return key_fail(f, 2);
	if (!next_line(&p, end, &line, &len))
		return key_fail(f, 3);
	no = 3;
	v = field(line, len, "public", &vlen);
	if (v == NULL || scpp_auth_hex_parse(v, vlen, kt->pk, SCPP_AUTH_KEY_LEN) != 0)
		return key_fail(f, 3);
	if (kt->secret) {
		if (!next_line(&p, end, &line, &len))
			return key_fail(f, 4);
		no = 4;
		v = field(line, len, "seed", &vlen);
		if (v == NULL || scpp_auth_hex_parse(v, vlen, kt->seed, SCPP_AUTH_KEY_LEN) != 0)
			return key_fail(f, 4);
	}
	if (next_line(&p, end, &line, &len)) {
		no++;
		v = field(line, len, "comment", &vlen);
		if (v == NULL || vlen > KEY_COMMENT_MAX)
			return key_fail(f, no);
		memcpy(kt->comment, v, vlen);
		kt->comment[vlen] = '\0';
		if (!comment_ok(kt->comment))
			return key_fail(f, no);
	}
	if (next_line(&p, end, &line, &len))
		return key_fail(f, no + 1);
	return 0;
}

static int
read_key_file(const char *path, struct key_text *kt, struct scpp_auth_fault *f)
{
	char buf[KEY_FILE_MAX + 1];
	struct stat st;
	ssize_t n;
	int fd, rc;

	scpp_auth_fault_clear(f);
	if (path == NULL)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	n = read(fd, buf, sizeof(buf));
	rc = n < 0 ? -errno : 0;
	close(fd);
	if (rc != 0)
		return rc;
	if (n > KEY_FILE_MAX)
		rc = -EFBIG;
	else
		rc = parse_key_text(buf, (size_t)n, kt, f);
	sodium_memzero(buf, sizeof(buf));
	if (rc == 0 && kt->secret && (st.st_mode & 077) != 0)
		rc = -SCPP_AUTH_E_KEY_PERMS;
	return rc;
}

static int
check_seed(const struct key_text *kt, struct scpp_auth_keypair *kp, struct scpp_auth_fault *f)
{
	if (scpp_auth_key_from_seed(kp, kt->seed) != 0)
		return -ENOSYS;
	if (sodium_memcmp(kp->pk, kt->pk, SCPP_AUTH_KEY_LEN) != 0) {
		scpp_auth_key_wipe(kp);
		if (f != NULL)
			f->line = 3;
		return -SCPP_AUTH_E_KEY_MISMATCH;
	}
	return 0;
}

int
scpp_auth_key_load(const char *path, struct scpp_auth_keypair *kp, char comment[129],
		   struct scpp_auth_fault *f)
{
	struct key_text kt;
	int rc;

	if (kp == NULL)
		return -EINVAL;
	rc = read_key_file(path, &kt, f);
	if (rc == 0 && !kt.secret)
		rc = key_fail(f, 2);
	if (rc == 0)
		rc = check_seed(&kt, kp, f);
	if (rc == 0 && comment != NULL)
		memcpy(comment, kt.comment, sizeof(kt.comment));
	sodium_memzero(&kt, sizeof(kt));
	return rc;
}

int
scpp_auth_pubkey_load(const char *path, uint8_t pk[SCPP_AUTH_KEY_LEN], char comment[129],
		      struct scpp_auth_fault *f)
{
	struct scpp_auth_keypair kp;
	struct key_text kt;
	int rc;

	if (pk == NULL)
		return -EINVAL;
	rc = read_key_file(path, &kt, f);
	if (rc == 0 && kt.secret)
		rc = check_seed(&kt, &kp, f);
	if (rc == 0) {
		memcpy(pk, kt.pk, SCPP_AUTH_KEY_LEN);
		if (comment != NULL)
			memcpy(comment, kt.comment, sizeof(kt.comment));
	}
	scpp_auth_key_wipe(&kp);
	sodium_memzero(&kt, sizeof(kt));
	return rc;
}
