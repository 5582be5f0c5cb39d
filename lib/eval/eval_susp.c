/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Suspensions: the state of a block stopped between two commands
 * (scpp_eval.h, "suspending and resuming a block"). One arena per
 * suspension holds, back to back: the rows (the binding table's bytes),
 * the statuses collected, then the str/bytes values the rows point to.
 * The evaluator (eval.c) decides when to stop and commits the part that
 * ran; this file only copies the state out and back in.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_malloc.h>

#include "eval_priv.h"

#define SUSP_MAX_BYTES (UINT64_C(1) << 30)

static size_t
al8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

struct scpp_eval_susp *
scpp_eval_susp_create(size_t bytes, int socket, bool use_rte)
{
	struct scpp_eval_susp *s;

	if (bytes == 0 || bytes > SUSP_MAX_BYTES) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		goto nomem;
	s->use_rte = use_rte;
	s->cap = al8(bytes);
	s->mem = use_rte ? rte_malloc_socket("scpp_eval_susp", s->cap, 64, socket) : malloc(s->cap);
	if (s->mem != NULL)
		return s;
	free(s);
nomem:
	errno = ENOMEM;
	return NULL;
}

void
scpp_eval_susp_free(struct scpp_eval_susp *s)
{
	if (s == NULL)
		return;
	if (s->use_rte)
		rte_free(s->mem);
	else
		free(s->mem);
	free(s);
}

bool
scpp_eval_susp_active(const struct scpp_eval_susp *s)
{
	return s != NULL && s->active;
}

void
scpp_eval_susp_drop(struct scpp_eval_susp *s)
{
	if (s != NULL)
		s->active = 0;
}

uint16_t
scpp_eval_susp_next_cmd(const struct scpp_eval_susp *s)
{
	return s->next_cmd;
}

size_t
scpp_eval_susp_nrows(const struct scpp_eval_susp *s)
{
	return s->nrows;
}

static bool
has_bytes(const struct scpp_value *v)
{
	return (v->type == SCPP_VT_STR || v->type == SCPP_VT_BYTES) && v->len != 0;
}

size_t
eval_susp_need(const struct scpp_eval_ctx *ctx, const uint8_t *tab, size_t nrows, size_t stride,
	       uint16_t nvars)
{
	size_t need = al8(nrows * stride) + al8((size_t)ctx->nstat * sizeof(struct collected));

	for (size_t i = 0; i < nrows; i++) {
		const struct row *row = (const struct row *)(tab + i * stride);

		for (uint16_t v = 0; v < nvars; v++)
			if (((row->bound >> v) & 1) && has_bytes(&row->v[v]))
				need += al8(row->v[v].len);
	}
	return need;
}

bool
eval_susp_fits(const struct scpp_eval_susp *s, size_t need)
{
	return need <= s->cap;
}

void
eval_susp_save(struct scpp_eval_ctx *ctx, struct scpp_eval_susp *s, const uint8_t *tab,
	       size_t nrows, size_t stride, uint16_t nvars, uint16_t next_cmd, uint64_t elapsed_ns)
{
	uint8_t *rows = s->mem, *p;

	s->nrows = nrows;
	s->stride = stride;
	s->nvars = nvars;
	s->next_cmd = next_cmd;
	memcpy(rows, tab, nrows * stride);
	s->stat_off = al8(nrows * stride);
	s->nstat = ctx->nstat;
	memcpy(s->mem + s->stat_off, ctx->stat, (size_t)ctx->nstat * sizeof(struct collected));
	p = s->mem + s->stat_off + al8((size_t)ctx->nstat * sizeof(struct collected));
	for (size_t i = 0; i < nrows; i++) {
		struct row *row = (struct row *)(rows + i * stride);

		for (uint16_t v = 0; v < nvars; v++) {
			struct scpp_value *x = &row->v[v];

			if (!((row->bound >> v) & 1) || !has_bytes(x))
				continue;
			memcpy(p, x->p, x->len);
			x->p = p;
			p += al8(x->len);
		}
	}
	s->status_vars = ctx->status_vars;
	memcpy(s->status_count, ctx->status_count, sizeof(s->status_count));
	s->steps = ctx->steps;
	s->bytes_charged = ctx->bytes;
	s->commands = ctx->commands_done;
	s->elapsed_ns = elapsed_ns;
	s->active = 1;
}

int
eval_susp_restore(struct scpp_eval_ctx *ctx, struct scpp_eval_susp *s, uint8_t *tab,
		  size_t max_rows)
{
	if (s->nrows > max_rows)
		return -SCPP_E_LIMIT_ROWS;
	memcpy(tab, s->mem, s->nrows * s->stride);
	/* The values go to the block's arena: the suspension may be written
	 * again (a second stop) while the rows are in use. Charged already. */
	for (size_t i = 0; i < s->nrows; i++) {
		struct row *row = (struct row *)(tab + i * s->stride);

		for (uint16_t v = 0; v < s->nvars; v++) {
			struct scpp_value *x = &row->v[v];
			size_t n;

			if (!((row->bound >> v) & 1) || !has_bytes(x))
				continue;
			n = al8(x->len);
			if (n > ctx->arena_size - ctx->arena_used)
				return -SCPP_E_LIMIT_BYTES;
			memcpy(ctx->arena + ctx->arena_used, x->p, x->len);
			x->p = ctx->arena + ctx->arena_used;
			ctx->arena_used += n;
		}
	}
	memcpy(ctx->stat, s->mem + s->stat_off, (size_t)s->nstat * sizeof(struct collected));
	ctx->nstat = s->nstat;
	ctx->status_vars = s->status_vars;
	memcpy(ctx->status_count, s->status_count, sizeof(s->status_count));
	ctx->steps = s->steps;
	ctx->bytes = s->bytes_charged;
	ctx->commands_done = s->commands;
	s->active = 0;
	return 0;
}
