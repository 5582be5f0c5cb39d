/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef EVAL_FIXTURE_H
#define EVAL_FIXTURE_H

/*
 * Evaluator test fixture: a real store shard (libc memory provider, so no
 * EAL is needed), the shared dictionary, optionally the shipped schema, an
 * evaluation context, and helpers that run a block written in the text form
 * and summarise its reply as one string for exact assertions:
 *
 *   "cols=a,b rows=[1|\"x\"][2|\"y\"] st=[ENOENT@1] end=errors"
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scpp_eval.h"
#include "scpp_lang.h"
#include "scpp_schema.h"

struct fx {
	struct scpp_store *store;
	struct scpp_store_dict *dict;
	struct scpp_schema *schema;
	struct scpp_eval_ctx *ctx;
	struct scpp_eval_env env;
	struct scpp_eval_result res;
	struct scpp_wire_block blk;
	uint8_t arena[1 << 16];
	uint8_t reply[1 << 20];
	size_t reply_len;
	char summary[1 << 16];
};

/* Shard size and hash seed of the next fx_new() (0: the defaults below). */
static uint32_t fx_max_entries, fx_max_map_entries;
static uint64_t fx_hash_seed;
static uint16_t fx_shard; /* shard number of the next fx_new() */
static uint16_t fx_node;  /* node number of the next fx_new() (0: node 1) */
static int fx_no_index;   /* 1: the next fx_new() has no value index */
static int fx_no_materialize; /* 1: load the schema, leave the shard empty */

static inline struct fx *
fx_new(bool with_schema, const struct scpp_eval_limits *lim)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct scpp_store_config cfg;
	struct scpp_store_dict_config dcfg = {
		.max_attrs = 4096, .name_bytes = 1 << 16, .socket_id = -1,
		.mem = &scpp_store_mem_libc,
	};

	if (f == NULL)
		abort();
	scpp_store_config_init(&cfg);
	cfg.mem = &scpp_store_mem_libc;
	cfg.max_entries = fx_max_entries ? fx_max_entries : 1 << 16;
	cfg.max_map_entries = fx_max_map_entries ? fx_max_map_entries : 1 << 16;
	cfg.hash_seed = fx_hash_seed;
	cfg.max_indexed = fx_no_index ? 0 : cfg.max_entries;
	cfg.extent_bytes = 16 << 20;
	cfg.oid_node = fx_node ? fx_node : 1;
	cfg.oid_shard = fx_shard;
	cfg.oid_epoch = 1;
	f->store = scpp_store_create(&cfg);
	f->dict = scpp_store_dict_create(&dcfg);
	if (f->store == NULL || f->dict == NULL)
		abort();
	if (with_schema) {
		const char *root = getenv("SCPP_SOURCE_ROOT");
		char p1[4096], p2[4096];
		const char *paths[2] = {p1, p2};
		struct scpp_schema_conf conf = {
			.intern = scpp_schema_store_intern, .intern_ctx = f->dict,
		};
		struct scpp_schema_diag diag;

		snprintf(p1, sizeof(p1), "%s/schema/core.json", root ? root : ".");
		snprintf(p2, sizeof(p2), "%s/schema/posix.json", root ? root : ".");
		if (scpp_schema_load_files(paths, 2, &conf, &f->schema, &diag) != 0) {
			fprintf(stderr, "schema: %s\n", diag.msg);
			abort();
		}
		if (!fx_no_materialize && scpp_schema_materialize(f->schema, f->store) != 0)
			abort();
	}
	f->ctx = scpp_eval_ctx_create(lim, -1, false);
	if (f->ctx == NULL)
		abort();
	f->env.store = f->store;
	f->env.dict = f->dict;
	f->env.schema = f->schema;
	f->env.node = scpp_oid_make(0, fx_node ? fx_node : 1, fx_shard, 0, 0);
	return f;
}

static inline void
fx_free(struct fx *f)
{
	scpp_eval_ctx_free(f->ctx);
	scpp_schema_free(f->schema);
	scpp_store_free(f->store);
	scpp_store_dict_free(f->dict);
	free(f);
}

/* Append to the summary. */
static inline void
fx_put(struct fx *f, const char *s)
{
	size_t n = strlen(f->summary);

	snprintf(f->summary + n, sizeof(f->summary) - n, "%s", s);
}

/* Run @text; return the reply summary (valid until the next run). */
static __attribute__((noinline, unused)) const char *fx_summarize(struct fx *f, size_t len);

static __attribute__((noinline, unused)) const char *
fx_run(struct fx *f, const char *text)
{
	struct scpp_lang_error err;
	struct scpp_wire_reply_writer w;
	int rc;

	f->summary[0] = '\0';
	rc = scpp_lang_parse(text, strlen(text), &f->blk, f->arena, sizeof(f->arena), &err);
	if (rc != 0) {
		snprintf(f->summary, sizeof(f->summary), "parse error %s", err.msg);
		return f->summary;
	}
	scpp_wire_reply_writer_init(&w, f->reply, sizeof(f->reply));
	rc = scpp_eval_block(f->ctx, &f->env, &f->blk, 7, &w, &f->res);
	if (rc != 0) {
		snprintf(f->summary, sizeof(f->summary), "eval returned %d", rc);
		return f->summary;
	}
	return fx_summarize(f, w.len);
}

/* The reply in f->reply (@p len bytes), summarised. */
static __attribute__((noinline, unused)) const char *
fx_summarize(struct fx *f, size_t len)
{
	struct scpp_wire_reply_reader rd;
	static struct scpp_wire_record rec;
	char buf[512];
	int rc;

	f->summary[0] = '\0';
	f->reply_len = len;
	scpp_wire_reply_reader_init(&rd, f->reply, len);
	while ((rc = scpp_wire_reply_next(&rd, &rec)) == 1) {
		switch (rec.type) {
		case SCPP_REC_COLUMNS:
			fx_put(f, "cols=");
			for (uint16_t i = 0; i < rec.columns.n; i++) {
				snprintf(buf, sizeof(buf), "%s%.*s", i ? "," : "",
					 rec.columns.name[i].len, rec.columns.name[i].p);
				fx_put(f, buf);
			}
			fx_put(f, " rows=");
			break;
		case SCPP_REC_ROW:
			fx_put(f, "[");
			for (uint16_t i = 0; i < rec.row.n; i++) {
				if (i)
					fx_put(f, "|");
				scpp_value_format(buf, sizeof(buf), &rec.row.v[i]);
				fx_put(f, buf);
			}
			fx_put(f, "]");
			break;
		case SCPP_REC_STATUS: {
			const char *name = "?";
			uint64_t cmd = 0;

			for (uint16_t i = 0; i < rec.status.n; i++) {
				if (rec.status.key[i].len == 10 &&
				    memcmp(rec.status.key[i].p, "errno_name", 10) == 0) {
					snprintf(buf, sizeof(buf), "%.*s", rec.status.v[i].len,
						 (const char *)rec.status.v[i].p);
					name = buf;
				}
				if (rec.status.key[i].len == 7 &&
				    memcmp(rec.status.key[i].p, "command", 7) == 0)
					cmd = rec.status.v[i].u;
			}
			char item[600];

			snprintf(item, sizeof(item), " st=%s@%llu", name, (unsigned long long)cmd);
			fx_put(f, item);
			break;
		}
		case SCPP_REC_COPY:
			/* Only for blocks with SCPP_WIRE_BF_COPY_RESULTS. */
			snprintf(buf, sizeof(buf), " copy=%u:%llu:%llu:%llu:%.*s", rec.copy.cmd,
				 (unsigned long long)rec.copy.copies,
				 (unsigned long long)rec.copy.bytes,
				 (unsigned long long)rec.copy.offloaded, rec.copy.engine.len,
				 rec.copy.engine.p);
			fx_put(f, buf);
			break;
		case SCPP_REC_END:
			fx_put(f, rec.end.outcome == SCPP_OUTCOME_OK ? " end=ok"
				  : rec.end.outcome == SCPP_OUTCOME_ERRORS ? " end=errors"
				  : " end=aborted");
			break;
		}
	}
	if (rc != 0)
		fx_put(f, " BAD-REPLY");
	return f->summary;
}

/* Message of the first status record of the last reply ("" if none). */
static inline const char *
fx_message(struct fx *f)
{
	struct scpp_wire_reply_reader rd;
	static struct scpp_wire_record rec;
	static char msg[256];

	msg[0] = '\0';
	scpp_wire_reply_reader_init(&rd, f->reply, f->reply_len);
	while (scpp_wire_reply_next(&rd, &rec) == 1) {
		if (rec.type != SCPP_REC_STATUS)
			continue;
		for (uint16_t i = 0; i < rec.status.n; i++)
			if (rec.status.key[i].len == 7 &&
			    memcmp(rec.status.key[i].p, "message", 7) == 0)
				snprintf(msg, sizeof(msg), "%.*s", rec.status.v[i].len,
					 (const char *)rec.status.v[i].p);
		break;
	}
	return msg;
}

#endif /* EVAL_FIXTURE_H */
