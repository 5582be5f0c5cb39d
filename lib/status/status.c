/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Canonical errno mapping and status-object encoding. Nothing here runs per
 * packet on the success path: statuses are built only when a command fails,
 * so plain table scans are fine (the table has under 70 rows).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "scpp_status.h"
#include "errno_table.h"

/* Project codes describe protocol problems; each maps to the POSIX errno a
 * POSIX caller would expect for the same situation. */
static uint32_t
project_code_to_canonical(int code)
{
	switch (code) {
	case SCPP_E_TRUNCATED:
	case SCPP_E_BAD_MAGIC:
	case SCPP_E_BAD_KIND:
	case SCPP_E_BAD_FLAGS:
	case SCPP_E_BAD_LENGTH:
	case SCPP_E_BAD_FRAGMENT:
	case SCPP_E_BAD_VARINT:
	case SCPP_E_BAD_RECORD:
	case SCPP_E_TRAILING:
		return SCPP_ERRNO_BADMSG;
	case SCPP_E_BAD_VERSION:
		return SCPP_ERRNO_PROTO;
	case SCPP_E_BAD_OPCODE:
		return SCPP_ERRNO_OPNOTSUPP;
	case SCPP_E_BAD_UTF8:
		return SCPP_ERRNO_ILSEQ;
	case SCPP_E_TOO_MANY:
	case SCPP_E_NESTING:
	case SCPP_E_LIMIT_ROWS:
		return SCPP_ERRNO_2BIG;
	case SCPP_E_LIMIT_STEPS:
	case SCPP_E_LIMIT_TIME:
		return SCPP_ERRNO_TIME;
	case SCPP_E_LIMIT_BYTES:
		return SCPP_ERRNO_FBIG;
	case SCPP_E_LIMIT_RESULT:
		return SCPP_ERRNO_MSGSIZE;
	case SCPP_E_NOT_HERE:
	case SCPP_E_LIMIT_HOPS:
		return SCPP_ERRNO_REMOTE;
	case SCPP_E_OVERLOAD:
	case SCPP_E_LIMIT_PENDING:
		return SCPP_ERRNO_BUSY;
	case SCPP_E_OUTCOME_UNKNOWN:
		return SCPP_ERRNO_TIMEDOUT;
	case SCPP_E_REPLY_LOST:
		return SCPP_ERRNO_ALREADY;
	case SCPP_E_STALE_BLOCK:
		return SCPP_ERRNO_STALE;
	default:
		return SCPP_ERRNO_INVAL;
	}
}

uint32_t
scpp_errno_to_canonical(int local)
{
	if (local < 0)
		local = -local;
	if (local == 0)
		return SCPP_ERRNO_OK;
	if (local >= SCPP_E_FIRST && local < SCPP_E_LAST)
		return project_code_to_canonical(local);
	for (size_t i = 0; i < SCPP_ARRAY_SIZE(errno_rows); i++)
		if (errno_rows[i].local == local)
			return errno_rows[i].canonical;
	return SCPP_ERRNO_IO;
}

static const struct errno_row *
row_of(uint32_t canonical)
{
	for (size_t i = 0; i < SCPP_ARRAY_SIZE(errno_rows); i++)
		if (errno_rows[i].canonical == canonical)
			return &errno_rows[i];
	return NULL;
}

int
scpp_errno_from_canonical(uint32_t canonical)
{
	const struct errno_row *r = row_of(canonical);

	if (canonical == 0)
		return 0;
	return r != NULL ? r->local : EIO;
}

const char *
scpp_errno_name(uint32_t canonical)
{
	const struct errno_row *r = row_of(canonical);

	if (canonical == 0)
		return "OK";
	return r != NULL ? r->name : NULL;
}

const char *
scpp_errno_text(uint32_t canonical)
{
	const struct errno_row *r = row_of(canonical);

	if (canonical == 0)
		return "success";
	return r != NULL ? r->text : NULL;
}

uint32_t
scpp_errno_by_name(const char *name, size_t len)
{
	for (size_t i = 0; i < SCPP_ARRAY_SIZE(errno_rows); i++)
		if (strlen(errno_rows[i].name) == len &&
		    memcmp(errno_rows[i].name, name, len) == 0)
			return errno_rows[i].canonical;
	return 0;
}

size_t
scpp_errno_count(void)
{
	return SCPP_ARRAY_SIZE(errno_rows);
}

uint32_t
scpp_errno_at(size_t i)
{
	return i < SCPP_ARRAY_SIZE(errno_rows) ? errno_rows[i].canonical : 0;
}

void
scpp_status_clear_extra(struct scpp_status *st)
{
	st->var = NULL;
	st->var_len = 0;
	st->row = SCPP_STATUS_NO_ROW;
	st->offset = -1;
	st->owner = SCPP_OID_NIL;
}

void
scpp_status_set_code(struct scpp_status *st, int code, const char *component)
{
	st->code = code > 0 ? -code : code;
	st->err = scpp_errno_to_canonical(code);
	st->component = component;
	st->message[0] = '\0';
	scpp_status_clear_extra(st);
}

void
scpp_status_set(struct scpp_status *st, int code, const char *component,
		const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	scpp_status_setv(st, code, component, fmt, ap);
	va_end(ap);
}

void
scpp_status_setv(struct scpp_status *st, int code, const char *component,
		 const char *fmt, va_list ap)
{
	scpp_status_set_code(st, code, component);
	vsnprintf(st->message, sizeof(st->message), fmt, ap);
	/* Truncation may have cut a multi-byte character (names in messages
	 * come from clients); a status must still encode as valid UTF-8. */
	for (size_t n = strlen(st->message);
	     n > 0 && !scpp_utf8_valid((const uint8_t *)st->message, n); n--)
		st->message[n - 1] = '\0';
}

const char *
scpp_status_code_name(const struct scpp_status *st)
{
	const char *n = scpp_error_name(st->code);

	if (n != NULL)
		return n;
	n = scpp_errno_name(scpp_errno_to_canonical(st->code));
	return n != NULL ? n : "EIO";
}

#define NAME(s) {s, (uint16_t)(sizeof(s) - 1)}

unsigned int
scpp_status_fields(const struct scpp_status *st, struct scpp_wire_name *k, struct scpp_value *v)
{
	static const struct scpp_wire_name keys[SCPP_STATUS_FIELDS] = {
		NAME("errno"), NAME("errno_name"), NAME("code"), NAME("message"),
		NAME("component"), NAME("node"), NAME("core"), NAME("block"),
		NAME("command"), NAME("elapsed_ns"), NAME("client"),
	};
	static const struct scpp_wire_name k_var = NAME("variable"), k_row = NAME("row"),
					   k_off = NAME("offset"), k_owner = NAME("owner");
	const char *ename = scpp_errno_name(st->err);
	const char *comp = st->component != NULL ? st->component : "";
	unsigned int n = SCPP_STATUS_FIELDS;

	memcpy(k, keys, sizeof(keys));
	v[0] = scpp_value_u64(st->err);
	v[1] = scpp_value_cstr(ename != NULL ? ename : "EIO");
	v[2] = scpp_value_cstr(scpp_status_code_name(st));
	v[3] = scpp_value_str(st->message, (uint32_t)strnlen(st->message, sizeof(st->message)));
	v[4] = scpp_value_cstr(comp);
	v[5] = scpp_value_oid(st->node);
	v[6] = scpp_value_u64(st->core);
	v[7] = scpp_value_u64(st->block_id);
	v[8] = scpp_value_u64(st->command);
	v[9] = scpp_value_u64(st->elapsed_ns);
	v[10] = scpp_value_u64(st->client);
	if (st->var != NULL) {
		k[n] = k_var;
		v[n++] = scpp_value_str(st->var, st->var_len);
	}
	if (st->row != SCPP_STATUS_NO_ROW) {
		k[n] = k_row;
		v[n++] = scpp_value_u64(st->row);
	}
	if (st->offset >= 0) {
		k[n] = k_off;
		v[n++] = scpp_value_u64((uint64_t)st->offset);
	}
	if (!scpp_oid_is_nil(st->owner)) {
		k[n] = k_owner;
		v[n++] = scpp_value_oid(st->owner);
	}
	return n;
}

int
scpp_status_encode(struct scpp_wire_reply_writer *w, struct scpp_oid oid,
		   const struct scpp_status *st)
{
	struct scpp_wire_name k[SCPP_STATUS_FIELDS_MAX];
	struct scpp_value v[SCPP_STATUS_FIELDS_MAX];
	unsigned int n = scpp_status_fields(st, k, v);

	return scpp_wire_reply_status(w, oid, k, v, (uint16_t)n);
}
