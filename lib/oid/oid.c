/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * OID text form and epoch persistence. The layout itself is in the header,
 * inline, because routing and hashing need it per packet.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "scpp_common.h"
#include "scpp_oid.h"

/* Field widths in text order; their sum is 128. */
static const unsigned int field_bits[5] = {
	SCPP_OID_LOCALE_BITS, SCPP_OID_NODE_BITS, SCPP_OID_SHARD_BITS,
	SCPP_OID_EPOCH_BITS, SCPP_OID_COUNTER_BITS,
};

int
scpp_oid_prefix_make(struct scpp_oid_prefix *p, struct scpp_oid o, unsigned int len)
{
	if (len > 128)
		return -EINVAL;
	/* Shifts by 64 are undefined in C: lengths 0, 64 and 128 keep or
	 * clear whole halves instead. */
	if (len < 64) {
		o.hi = len == 0 ? 0 : o.hi & ~(UINT64_MAX >> len);
		o.lo = 0;
	} else if (len == 64) {
		o.lo = 0;
	} else if (len < 128) {
		o.lo &= ~(UINT64_MAX >> (len - 64));
	}
	p->oid = o;
	p->len = (uint8_t)len;
	return 0;
}

unsigned int
scpp_oid_common_bits(struct scpp_oid a, struct scpp_oid b)
{
	uint64_t x = a.hi ^ b.hi;

	if (x != 0)
		return (unsigned int)__builtin_clzll(x);
	x = a.lo ^ b.lo;
	if (x != 0)
		return 64 + (unsigned int)__builtin_clzll(x);
	return 128;
}

struct scpp_oid_prefix
scpp_oid_shard_prefix(uint16_t locale, uint32_t node, uint16_t shard)
{
	struct scpp_oid_prefix p;

	p.oid = scpp_oid_make(locale, node, shard, 0, 0);
	p.len = 64;
	return p;
}

int
scpp_oid_format(char *buf, size_t size, struct scpp_oid o)
{
	return snprintf(buf, size, "@%" PRIx32 ".%" PRIx32 ".%" PRIx32 ".%" PRIx32 ".%" PRIx64,
			(uint32_t)scpp_oid_locale(o), scpp_oid_node(o),
			(uint32_t)scpp_oid_shard(o), scpp_oid_epoch(o),
			scpp_oid_counter(o));
}

/* Parse one canonical hex field of at most @bits bits ending at @end or '.'. */
static int
parse_field(const char **sp, const char *end, unsigned int bits, uint64_t *out)
{
	const char *s = *sp;
	uint64_t v = 0;
	unsigned int ndig = 0, d;

	while (s < end && *s != '.') {
		if (*s >= '0' && *s <= '9')
			d = (unsigned int)(*s - '0');
		else if (*s >= 'a' && *s <= 'f')
			d = (unsigned int)(*s - 'a' + 10);
		else
			return -EINVAL;
		if (ndig == 1 && v == 0)
			return -EINVAL; /* leading zero: not canonical */
		if (ndig == bits / 4 + 1)
			return -EINVAL;
		v = (v << 4) | d;
		ndig++;
		s++;
	}
	if (ndig == 0 || (bits < 64 && (v >> bits) != 0))
		return -EINVAL;
	*out = v;
	*sp = s;
	return 0;
}

int
scpp_oid_parse(const char *s, size_t len, struct scpp_oid *out)
{
	const char *end = s + len;
	uint64_t f[5];
	int i, rc;

	if (len < 1 || s[0] != '@')
		return -EINVAL;
	s++;
	for (i = 0; i < 5; i++) {
		if (i > 0) {
			if (s >= end || *s != '.')
				return -EINVAL;
			s++;
		}
		rc = parse_field(&s, end, field_bits[i], &f[i]);
		if (rc < 0)
			return rc;
	}
	if (s != end)
		return -EINVAL;
	*out = scpp_oid_make((uint16_t)f[0], (uint32_t)f[1], (uint16_t)f[2],
			     (uint32_t)f[3], f[4]);
	return 0;
}

int
scpp_oid_prefix_format(char *buf, size_t size, const struct scpp_oid_prefix *p)
{
	char o[SCPP_OID_STR_MAX];

	scpp_oid_format(o, sizeof(o), p->oid);
	return snprintf(buf, size, "%s/%u", o, (unsigned int)p->len);
}

int
scpp_oid_prefix_parse(const char *s, size_t len, struct scpp_oid_prefix *out)
{
	const char *slash = memchr(s, '/', len);
	struct scpp_oid o;
	struct scpp_oid_prefix p;
	unsigned int bits = 0;
	const char *d;
	int rc;

	if (slash == NULL)
		return -EINVAL;
	rc = scpp_oid_parse(s, (size_t)(slash - s), &o);
	if (rc < 0)
		return rc;
	d = slash + 1;
	if (d == s + len || (*d == '0' && d + 1 != s + len))
		return -EINVAL;
	for (; d < s + len; d++) {
		if (*d < '0' || *d > '9')
			return -EINVAL;
		bits = bits * 10 + (unsigned int)(*d - '0');
		if (bits > 128)
			return -EINVAL;
	}
	scpp_oid_prefix_make(&p, o, bits);
	if (!scpp_oid_eq(p.oid, o))
		return -EINVAL; /* bits set past the length: ambiguous */
	*out = p;
	return 0;
}

int
scpp_oid_gen_init(struct scpp_oid_gen *g, uint16_t locale, uint32_t node,
		  uint16_t shard, uint32_t epoch)
{
	if (epoch == 0 || epoch > SCPP_OID_EPOCH_MAX)
		return -EINVAL;
	g->hi = scpp_oid_make(locale, node, shard, 0, 0).hi;
	g->epoch = (uint64_t)epoch << SCPP_OID_COUNTER_BITS;
	g->next = 1;
	return 0;
}

/* 2026-01-01T00:00:00Z: epochs count minutes from here when the clock leads. */
#define EPOCH_CLOCK_BASE 1767225600LL

/* fsync the directory holding @path. */
static int
fsync_dir(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	size_t n = slash == NULL ? 1 : (slash == path ? 1 : (size_t)(slash - path));
	int fd, rc = 0;

	if (n >= sizeof(dir))
		return -ENAMETOOLONG;
	if (slash == NULL)
		memcpy(dir, ".", 1);
	else
		memcpy(dir, path, n);
	dir[n] = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

int
scpp_oid_epoch_advance(const char *path, uint32_t *epoch)
{
	char buf[32], tmp[4096];
	unsigned long long stored = 0, next, clock_min = 0;
	struct timespec ts;
	ssize_t n;
	char *endp;
	int fd, len, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n < 0)
			return -errno;
		buf[n] = '\0';
		errno = 0;
		stored = strtoull(buf, &endp, 10);
		if (endp == buf || (*endp != '\0' && *endp != '\n') || errno != 0)
			return -EINVAL;
	} else if (errno != ENOENT) {
		return -errno;
	}
	if (clock_gettime(CLOCK_REALTIME, &ts) == 0 && ts.tv_sec > EPOCH_CLOCK_BASE)
		clock_min = (unsigned long long)(ts.tv_sec - EPOCH_CLOCK_BASE) / 60;
	next = SCPP_MAX(stored + 1, clock_min);
	if (next > SCPP_OID_EPOCH_MAX)
		return -ENOSPC;

	len = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (len < 0 || (size_t)len >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	len = snprintf(buf, sizeof(buf), "%llu\n", next);
	if (write(fd, buf, (size_t)len) != len || fsync(fd) != 0)
		rc = errno ? -errno : -EIO;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc != 0) {
		unlink(tmp);
		return rc;
	}
	/* The rename is durable only once the directory entry is: without
	 * this a crash can bring the old epoch back. */
	rc = fsync_dir(path);
	if (rc != 0)
		return rc;
	*epoch = (uint32_t)next;
	return 0;
}
