/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Text forms for tools and messages: operation sets and times.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth_priv.h"

static const char *const op_names[SCPP_AUTH_OP_BITS] = {
	"get", "set", "copy", "create", "alloc", "del", "schema",
};

const char *
scpp_auth_op_name(uint16_t bit)
{
	for (unsigned int i = 0; i < SCPP_AUTH_OP_BITS; i++)
		if (bit == (1u << i))
			return op_names[i];
	return NULL;
}

int
scpp_auth_ops_parse(const char *s, uint16_t *ops, size_t *bad)
{
	const char *p = s;
	uint16_t v = 0;

	if (s == NULL || ops == NULL)
		return -EINVAL;
	if (strcmp(s, "all") == 0) {
		*ops = SCPP_AUTH_OP_ALL;
		return 0;
	}
	for (;;) {
		const char *end = strchr(p, ',');
		size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
		unsigned int i;

		for (i = 0; i < SCPP_AUTH_OP_BITS; i++)
			if (strlen(op_names[i]) == n && memcmp(op_names[i], p, n) == 0)
				break;
		if (i == SCPP_AUTH_OP_BITS) {
			if (bad != NULL)
				*bad = (size_t)(p - s);
			return -EINVAL;
		}
		v |= (uint16_t)(1u << i);
		if (end == NULL)
			break;
		p = end + 1;
	}
	*ops = v;
	return 0;
}

int
scpp_auth_ops_format(char *buf, size_t size, uint16_t ops)
{
	int n = 0;

	if (ops == SCPP_AUTH_OP_ALL)
		return snprintf(buf, size, "all");
	if (size > 0)
		buf[0] = '\0';
	for (unsigned int i = 0; i < SCPP_AUTH_OP_BITS; i++) {
		size_t used = n >= 0 && (size_t)n < size ? (size_t)n : size;

		if (!(ops & (1u << i)))
			continue;
		n += snprintf(buf + used, size - used, "%s%s", n > 0 ? "," : "", op_names[i]);
	}
	return n;
}

#define NS UINT64_C(1000000000)

int
scpp_auth_time_format(char *buf, size_t size, uint64_t ns)
{
	time_t secs = (time_t)(ns / NS);
	uint32_t frac = (uint32_t)(ns % NS);
	struct tm tm;

	if (gmtime_r(&secs, &tm) == NULL)
		return snprintf(buf, size, "@%llu", (unsigned long long)ns);
	if (frac == 0)
		return snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
				tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09uZ", tm.tm_year + 1900,
			tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

/* Parse exactly @n decimal digits. */
static int
digits(const char *s, unsigned int n, int *out)
{
	int v = 0;

	for (unsigned int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int
parse_u64_dec(const char *s, uint64_t *out, const char **end)
{
	uint64_t v = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*out = v;
	*end = p;
	return 0;
}

static int
parse_rfc3339(const char *s, uint64_t *out)
{
	static const uint8_t mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, se;
	uint64_t frac = 0, scale = NS;
	const char *p = s + 19;
	struct tm tm;
	time_t t;

	if (strlen(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
	    s[16] != ':' || digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
	    digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &se))
		return -EINVAL;
	if (y < 1970 || y > 2500 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 ||
	    mi > 59 || se > 59)
		return -EINVAL;
	if (*p == '.') {
		unsigned int n = 0;

		for (p++; *p >= '0' && *p <= '9'; p++, n++) {
			if (n == 9)
				return -EINVAL;
			scale /= 10;
			frac += (uint64_t)(*p - '0') * scale;
		}
		if (n == 0)
			return -EINVAL;
	}
	if (p[0] != 'Z' || p[1] != '\0')
		return -EINVAL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	t = timegm(&tm);
	/* timegm normalises 29 February of a common year into March. */
	if (t < 0 || tm.tm_mday != d)
		return -EINVAL;
	*out = (uint64_t)t * NS + frac;
	return 0;
}

int
scpp_auth_time_parse(const char *s, uint64_t now_ns, uint64_t *out)
{
	const char *end;
	uint64_t v, unit;
	int rc;

	if (s == NULL || out == NULL)
		return -EINVAL;
	if (s[0] == '@') {
		rc = parse_u64_dec(s + 1, out, &end);
		return rc != 0 ? rc : *end == '\0' ? 0 : -EINVAL;
	}
	if (s[0] != '+')
		return parse_rfc3339(s, out);
	rc = parse_u64_dec(s + 1, &v, &end);
	if (rc != 0)
		return rc;
	switch (end[0]) {
	case 's':
		unit = NS;
		break;
	case 'm':
		unit = 60 * NS;
		break;
	case 'h':
		unit = 3600 * NS;
		break;
	case 'd':
		unit = 86400 * NS;
		break;
	default:
		return -EINVAL;
	}
	if (end[1] != '\0')
		return -EINVAL;
	if (v > (UINT64_MAX - now_ns) / unit)
		return -ERANGE;
	*out = now_ns + v * unit;
	return 0;
}
