/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Replies of scpp-fs's blocks: the whole REPLY message decoded at once
 * into rows of values (borrowing the message), END's outcome and errno, and
 * for an abort its STATUS record's command index, code and message, which
 * fs_errno() turns into the local errno.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs_core.h"

void
fs_reply_init(struct fs_reply *r)
{
	memset(r, 0, sizeof(*r));
	r->cmd = -1;
}

void
fs_reply_free(struct fs_reply *r)
{
	free(r->v);
	fs_reply_init(r);
}

static bool
key_is(const struct scpp_wire_name *k, const char *s)
{
	size_t n = strlen(s);

	return k->len == n && memcmp(k->p, s, n) == 0;
}

static void
str_field(char *dst, size_t size, const struct scpp_value *v)
{
	size_t n;

	if (v->type != SCPP_VT_STR || size == 0)
		return;
	n = v->len < size - 1 ? v->len : size - 1;
	memcpy(dst, v->p, n);
	dst[n] = '\0';
}

int
fs_reply_parse(struct fs_reply *r, const uint8_t *msg, size_t len)
{
	static __thread struct scpp_wire_record rec; /* ~5 KiB: not on the stack */
	struct scpp_wire_reply_reader rd;
	bool first_status = true;
	int rc;

	r->outcome = 0;
	r->err = 0;
	r->cmd = -1;
	r->code[0] = r->message[0] = '\0';
	r->ncols = 0;
	r->nrows = 0;
	scpp_wire_reply_reader_init(&rd, msg, len);
	while ((rc = scpp_wire_reply_next(&rd, &rec)) == 1) {
		switch (rec.type) {
		case SCPP_REC_COLUMNS:
			r->ncols = rec.columns.n;
			break;
		case SCPP_REC_ROW: {
			size_t need = (r->nrows + 1) * (r->ncols ? r->ncols : 1);

			if (need > r->cap) {
				size_t cap = r->cap ? r->cap : 64;
				struct scpp_value *nv;

				while (cap < need)
					cap *= 2;
				nv = realloc(r->v, cap * sizeof(*nv));
				if (nv == NULL)
					return -ENOMEM;
				r->v = nv;
				r->cap = cap;
			}
			if (r->ncols > 0)
				memcpy(&r->v[r->nrows * r->ncols], rec.row.v,
				       r->ncols * sizeof(struct scpp_value));
			r->nrows++;
			break;
		}
		case SCPP_REC_STATUS:
			if (!first_status)
				break;
			first_status = false;
			for (uint16_t i = 0; i < rec.status.n; i++) {
				const struct scpp_wire_name *k = &rec.status.key[i];

				if (key_is(k, "command") && rec.status.v[i].type == SCPP_VT_U64)
					r->cmd = (int)rec.status.v[i].u;
				else if (key_is(k, "code"))
					str_field(r->code, sizeof(r->code), &rec.status.v[i]);
				else if (key_is(k, "message"))
					str_field(r->message, sizeof(r->message), &rec.status.v[i]);
			}
			break;
		case SCPP_REC_END:
			r->outcome = rec.end.outcome;
			r->err = rec.end.err;
			r->commands = rec.end.commands;
			r->end_rows = rec.end.rows;
			break;
		}
	}
	if (r->outcome != SCPP_OUTCOME_ABORTED)
		r->cmd = -1;
	return rc == 0 ? 0 : rc;
}

uint64_t
fs_reply_u64(const struct fs_reply *r, size_t i, unsigned int c)
{
	const struct scpp_value *v = fs_reply_at(r, i, c);

	if (v->type == SCPP_VT_U64)
		return v->u;
	if (v->type == SCPP_VT_I64 && v->i >= 0)
		return (uint64_t)v->i;
	return 0;
}

int64_t
fs_reply_i64(const struct fs_reply *r, size_t i, unsigned int c)
{
	const struct scpp_value *v = fs_reply_at(r, i, c);

	if (v->type == SCPP_VT_I64)
		return v->i;
	if (v->type == SCPP_VT_U64 && v->u <= INT64_MAX)
		return (int64_t)v->u;
	return 0;
}

void
fs_reply_attr(const struct fs_reply *r, size_t i, unsigned int c0, struct fs_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = fs_reply_u64(r, i, c0 + FS_C_INO);
	a->mode = fs_reply_u64(r, i, c0 + FS_C_MODE);
	a->uid = fs_reply_u64(r, i, c0 + FS_C_UID);
	a->gid = fs_reply_u64(r, i, c0 + FS_C_GID);
	a->nlink = fs_reply_u64(r, i, c0 + FS_C_NLINK);
	a->size = fs_reply_u64(r, i, c0 + FS_C_SIZE);
	a->rdev = fs_reply_u64(r, i, c0 + FS_C_RDEV);
	a->atime = fs_reply_i64(r, i, c0 + FS_C_ATIME);
	a->mtime = fs_reply_i64(r, i, c0 + FS_C_MTIME);
	a->ctime = fs_reply_i64(r, i, c0 + FS_C_CTIME);
	a->tlen = fs_reply_u64(r, i, c0 + FS_C_TLEN);
}

ssize_t
fs_read_assemble(const struct fs_vol *v, const struct fs_reply *r, uint64_t off, uint64_t len,
		 uint8_t *out)
{
	struct fs_piece p[FS_PIECES_MAX];
	uint64_t size, n;
	int np = fs_pieces(v, off, len, p);

	if (np < 0 || r->nrows != 1 || r->ncols != 1 + (unsigned int)np)
		return -EIO;
	size = fs_reply_u64(r, 0, 0);
	if (off >= size)
		return 0;
	n = SCPP_MIN(len, size - off);
	memset(out, 0, n);
	for (int i = 0; i < np && p[i].pos < n; i++) {
		const struct scpp_value *d = fs_reply_at(r, 0, 1 + (unsigned int)i);
		uint64_t k;

		if (d->type != SCPP_VT_BYTES)
			return -EIO;
		k = SCPP_MIN((uint64_t)d->len, n - p[i].pos);
		if (k > 0)
			memcpy(out + p[i].pos, d->p, k);
	}
	return (ssize_t)n;
}

uint64_t
fs_name_key(const char *name, size_t len)
{
	uint8_t head[1 + 10];
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	size_t n;

	/* A string's wire encoding: its type, its length as a varint, its bytes. */
	head[0] = SCPP_VT_STR;
	n = 1 + scpp_varint_encode(head + 1, len);
	for (size_t i = 0; i < n; i++) {
		h ^= head[i];
		h *= UINT64_C(0x100000001b3);
	}
	for (size_t i = 0; i < len; i++) {
		h ^= (uint8_t)name[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h & FS_KEY_MAX;
}
