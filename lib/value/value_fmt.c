/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Printing values in the text form of blocks. Every printed value parses
 * back (lib/lang) to an equal value: f64 uses the shortest %.Ng that
 * round-trips and always shows it is a float.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "scpp_common.h"
#include "scpp_value.h"

/* snprintf-style appender that keeps counting past the end of the buffer. */
struct out {
	char *buf;
	size_t size;
	size_t len;
};

static void
out_putc(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void
out_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	size_t room = o->len < o->size ? o->size - o->len : 0;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n;
}

static void
format_f64(struct out *o, double f)
{
	char tmp[40];
	int prec;

	if (isnan(f)) {
		out_printf(o, signbit(f) ? "-nan" : "nan");
		return;
	}
	if (isinf(f)) {
		out_printf(o, f < 0 ? "-inf" : "inf");
		return;
	}
	for (prec = 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, f);
		if (strtod(tmp, NULL) == f)
			break;
	}
	out_printf(o, "%s", tmp);
	if (strpbrk(tmp, ".e") == NULL)
		out_printf(o, ".0");
}

static void
format_str(struct out *o, const uint8_t *p, uint32_t len)
{
	out_putc(o, '"');
	for (uint32_t i = 0; i < len; i++) {
		uint8_t c = p[i];

		switch (c) {
		case '"':  out_printf(o, "\\\""); break;
		case '\\': out_printf(o, "\\\\"); break;
		case '\n': out_printf(o, "\\n"); break;
		case '\t': out_printf(o, "\\t"); break;
		case '\r': out_printf(o, "\\r"); break;
		default:
			if (c < 0x20 || c == 0x7f)
				out_printf(o, "\\x%02x", c);
			else
				out_putc(o, (char)c);
		}
	}
	out_putc(o, '"');
}

int
scpp_value_format(char *buf, size_t size, const struct scpp_value *v)
{
	struct out o = {buf, size, 0};
	char oid[SCPP_OID_STR_MAX];

	switch (v->type) {
	case SCPP_VT_NIL:
		out_printf(&o, "nil");
		break;
	case SCPP_VT_BOOL:
		out_printf(&o, v->b ? "true" : "false");
		break;
	case SCPP_VT_I64:
		out_printf(&o, "%" PRId64, v->i);
		break;
	case SCPP_VT_U64:
		out_printf(&o, "%" PRIu64 "u", v->u);
		break;
	case SCPP_VT_F64:
		format_f64(&o, v->f);
		break;
	case SCPP_VT_STR:
		format_str(&o, v->p, v->len);
		break;
	case SCPP_VT_BYTES:
		out_printf(&o, "x\"");
		for (uint32_t i = 0; i < v->len; i++)
			out_printf(&o, "%02x", v->p[i]);
		out_putc(&o, '"');
		break;
	case SCPP_VT_OID:
		scpp_oid_format(oid, sizeof(oid), v->oid);
		out_printf(&o, "%s", oid);
		break;
	default:
		out_printf(&o, "?");
		break;
	}
	if (size > 0)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}
