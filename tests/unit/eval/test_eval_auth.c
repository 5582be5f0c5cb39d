/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Per-command authorisation in the evaluator (docs/SECURITY.md §4): every
 * command checked against a compiled authority before it runs, denials as
 * EACCES / EPERM statuses naming the missing right (collected under a
 * status variable, aborting otherwise, nothing applied), scans and
 * attribute walks filtered to what the session may read, the fast path
 * stopping at a get it may not do.
 */
#include <errno.h>
#include <string.h>

#include "scpp_test.h"
#include "eval_fixture.h"
#include "scpp_auth.h"

#define A "@0.1.0.1.a"
#define B "@0.1.0.1.b"
#define C "@0.1.0.2.c"

struct afx {
	struct fx *f;
	struct scpp_auth_authority *a;
};

static struct scpp_oid
oid(const char *text)
{
	struct scpp_oid o;

	assert_int_equal(scpp_oid_parse(text, strlen(text), &o), 0);
	return o;
}

static int64_t
resolve(void *ctx, const char *name, size_t len)
{
	return scpp_store_dict_intern(ctx, name, len);
}

/* One rule: @p scope (an OID prefix text and length), @p ops, @p attrs
 * (names, NULL-terminated; NULL: all). */
struct rule {
	const char *scope;
	uint8_t len;
	uint16_t ops;
	const char *attrs[4];
};

/* Compile an authority of the rules (one chain of one link each, as the
 * responder would after verifying them). */
static struct scpp_auth_authority *
authority(struct fx *f, const struct rule *rules, unsigned int n)
{
	static uint8_t buf[SCPP_AUTH_CHAINS_MAX][SCPP_AUTH_GRANT_MAX];
	static struct scpp_auth_chain ch[SCPP_AUTH_CHAINS_MAX];
	struct scpp_auth_keypair root, who;
	struct scpp_auth_compile_config cc = {.resolve = resolve, .resolve_ctx = f->dict};
	uint8_t seed[SCPP_AUTH_KEY_LEN];

	memset(seed, 1, sizeof(seed));
	assert_int_equal(scpp_auth_key_from_seed(&root, seed), 0);
	memset(seed, 2, sizeof(seed));
	assert_int_equal(scpp_auth_key_from_seed(&who, seed), 0);
	for (unsigned int i = 0; i < n; i++) {
		struct scpp_auth_grant *g = &ch[i].link[0];

		memset(&ch[i], 0, sizeof(ch[i]));
		ch[i].n = 1;
		memcpy(g->subject, who.pk, SCPP_AUTH_KEY_LEN);
		g->scope.oid = oid(rules[i].scope);
		g->scope.len = rules[i].len;
		g->ops = rules[i].ops;
		g->expires_ns = UINT64_MAX;
		for (unsigned int k = 0; k < 4 && rules[i].attrs[k] != NULL; k++) {
			g->attr[k].p = rules[i].attrs[k];
			g->attr[k].len = (uint8_t)strlen(rules[i].attrs[k]);
			g->nattrs++;
		}
		assert_true(scpp_auth_grant_sign(g, &root, buf[i], sizeof(buf[i])) > 0);
	}
	return scpp_auth_authority_compile(ch, n, who.pk, &cc);
}

#define assert_reply(f, text, want) assert_string_equal(fx_run((f), (text)), (want))

static int
setup(void **state)
{
	struct afx *x = calloc(1, sizeof(*x));

	x->f = fx_new(true, NULL);
	*state = x;
	return 0;
}

static int
teardown(void **state)
{
	struct afx *x = *state;

	x->f->env.auth = NULL;
	scpp_auth_authority_free(x->a);
	fx_free(x->f);
	free(x);
	return 0;
}

/* The data, written unchecked: A and B are Users, C an untyped entity. */
static void
data(struct fx *f)
{
	f->env.auth = NULL;
	fx_run(f, "create %a User ; set %a name \"a\" ; set %a uid 1u ; set %a gid 1u ; "
		  "create %b User ; set %b name \"b\" ; set %b uid 2u ; set %b gid 2u ; return %a %b");
	assert_int_equal(f->res.outcome, SCPP_OUTCOME_OK);
}

/* OIDs of the two users created by data(), by name. */
static void
users(struct fx *f, char *a, char *b, size_t size)
{
	struct scpp_wire_reply_reader rd;
	static struct scpp_wire_record rec;
	const struct scpp_auth_authority *saved = f->env.auth;

	f->env.auth = NULL;
	fx_run(f, "get %a name \"a\" ; get %b name \"b\" ; return %a %b");
	scpp_wire_reply_reader_init(&rd, f->reply, f->reply_len);
	while (scpp_wire_reply_next(&rd, &rec) == 1) {
		if (rec.type != SCPP_REC_ROW)
			continue;
		scpp_oid_format(a, size, rec.row.v[0].oid);
		scpp_oid_format(b, size, rec.row.v[1].oid);
	}
	f->env.auth = saved;
}

static void
run_as(struct fx *f, const char *fmt, const char *a, const char *b, const char *want)
{
	char text[512];

	snprintf(text, sizeof(text), fmt, a, b, a, b);
	assert_string_equal(fx_run(f, text), want);
}

static void
test_eval_auth_scope_ops_and_attributes(void **state)
{
	struct afx *x = *state;
	struct fx *f = x->f;
	char a[64], b[64], text[512];

	data(f);
	users(f, a, b, sizeof(a));
	{
		/* get,set on A (every attribute); get on B's name only. */
		struct rule r[2] = {{a, 128, SCPP_AUTH_OP_GET | SCPP_AUTH_OP_SET, {NULL}},
				    {b, 128, SCPP_AUTH_OP_GET, {"name", NULL}}};

		x->a = authority(f, r, 2);
	}
	assert_non_null(x->a);
	f->env.auth = x->a;
	run_as(f, "get %s name %%n ; get %s name %%m ; return %%n %%m", a, b,
	       "cols=n,m rows=[\"a\"|\"b\"] end=ok");
	/* B's uid: the entity is covered, the attribute is not. */
	run_as(f, "get %s uid %%u ; return %%u", b, NULL, "cols=u rows= st=EACCES@0 end=aborted");
	assert_string_equal(fx_message(f), "get @0.1.0.1.2.uid: not granted to this session "
					   "(attribute: missing get)");
	/* Set on B: covered, operation missing; the set on A before it is undone. */
	snprintf(text, sizeof(text), "set %s name \"a2\" ; set %s name \"x\"", a, b);
	assert_reply(f, text, "cols= rows= st=EACCES@1 end=aborted");
	assert_string_equal(fx_message(f), "set @0.1.0.1.2.name: not granted to this session "
					   "(operation: missing set)");
	/* Under a status variable: collected, the rest runs. */
	snprintf(text, sizeof(text), "set %s name \"x\" !%%e ; set %s name \"a3\" ; return %%e", b, a);
	assert_reply(f, text, "cols=e rows=[1u] st=EACCES@0 end=errors");
	f->env.auth = NULL;
	run_as(f, "get %s name %%n ; get %s name %%m ; return %%n %%m", a, b,
	       "cols=n,m rows=[\"a3\"|\"b\"] end=ok");
	f->env.auth = x->a;
	/* Outside every scope; del and alloc not granted; creating needs create. */
	assert_reply(f, "get " C " name %n", "cols=n rows= st=EACCES@0 end=aborted");
	assert_string_equal(fx_message(f), "get " C ".name: not granted to this session "
					   "(scope: missing get)");
	run_as(f, "del %s uid", a, NULL, "cols= rows= st=EACCES@0 end=aborted");
	run_as(f, "del %s", a, NULL, "cols= rows= st=EACCES@0 end=aborted");
	run_as(f, "alloc %s blob 4u", a, NULL, "cols= rows= st=EACCES@0 end=aborted");
	assert_reply(f, "create %x User ; return %x", "cols=x rows= st=EACCES@0 end=aborted");
	/* copy: the source needs get (B's uid is not readable), the
	 * destination needs copy (not granted on A). */
	run_as(f, "copy value(%s, name) value(%s, name) 1u", a, b,
	       "cols= rows= st=EACCES@0 end=aborted");
	f->env.auth = NULL;
	run_as(f, "get %s uid %%u ; return %%u", a, NULL, "cols=u rows=[1u] end=ok");
}

static void
test_eval_auth_scans_see_only_what_is_readable(void **state)
{
	struct afx *x = *state;
	struct fx *f = x->f;
	char a[64], b[64];

	data(f);
	users(f, a, b, sizeof(a));
	{
		struct rule r[2] = {{a, 128, SCPP_AUTH_OP_GET, {NULL}},
				    {b, 128, SCPP_AUTH_OP_GET, {"name", NULL}}};

		x->a = authority(f, r, 2);
	}
	f->env.auth = x->a;
	/* The shard holds the schema entities and both users; the session
	 * sees A's and B's names, nothing else, and no error. */
	assert_reply(f, "get %e name %n ; return %n", "cols=n rows=[\"a\"][\"b\"] end=ok");
	/* Attribute walks: every attribute of A, only the name of B. */
	run_as(f, "get %s %%k %%v ; return %%k", b, NULL, "cols=k rows=[\"name\"] end=ok");
	/* By the value index, too. */
	assert_reply(f, "get %e uid 2u ; return %e", "cols=e rows= end=ok");
	assert_reply(f, "get %e name \"b\" ; return %e", "cols=e rows=[@0.1.0.1.2] end=ok");
	/* Nothing readable on the shard at all: the scan is skipped. */
	scpp_auth_authority_free(x->a);
	{
		struct rule r[1] = {{"@0.9.0.0.0", 48, SCPP_AUTH_OP_GET, {NULL}}};

		x->a = authority(f, r, 1);
	}
	f->env.auth = x->a;
	assert_reply(f, "get %e name %n ; return %n", "cols=n rows= end=ok");
}

/* Expressions read and write like get and set do (docs/SECURITY.md §4):
 * val(), entry(), count(), length(), read() and reach() need get on what
 * they read, find() sees only what the session may read, write and resize
 * need set. Found by integration.cluster_fs_forward_sessions: before, a
 * session that could not get an attribute could val() it. */
static void
test_eval_auth_expressions_are_checked(void **state)
{
	struct afx *x = *state;
	struct fx *f = x->f;
	char a[64], b[64];

	data(f);
	users(f, a, b, sizeof(a));
	{
		/* get,set on A (every attribute); get on B's name only. */
		struct rule r[2] = {{a, 128, SCPP_AUTH_OP_GET | SCPP_AUTH_OP_SET, {NULL}},
				    {b, 128, SCPP_AUTH_OP_GET, {"name", NULL}}};

		x->a = authority(f, r, 2);
	}
	f->env.auth = x->a;
	run_as(f, "let %%u val(%s, uid) ; let %%n val(%s, name)", a, b,
	       "cols=u,n rows=[1u|\"b\"] end=ok");
	run_as(f, "let %%u val(%s, uid)", b, NULL, "cols=u rows= st=EACCES@0 end=aborted");
	assert_non_null(strstr(fx_message(f), "missing get"));
	run_as(f, "let %%u length(%s, gid)", b, NULL, "cols=u rows= st=EACCES@0 end=aborted");
	run_as(f, "let %%u read(value(%s, gid), 2u)", b, NULL,
	       "cols=u rows= st=EACCES@0 end=aborted");
	run_as(f, "let %%u reach(%s, uid, %s)", b, a, "cols=u rows= st=EACCES@0 end=aborted");
	/* find(): B's uid is not readable, so uid 2 is not found; A's is. */
	assert_reply(f, "let %x find(uid, 2u) ; let %y find(uid, 1u)",
		     "cols=x,y rows=[nil|@0.1.0.1.1] end=ok");
	/* write needs set: granted on A, not on B (nothing applied). */
	run_as(f, "write value(%s, name) \"z\"", a, NULL, "cols= rows= end=ok");
	run_as(f, "write value(%s, name) \"y\"", b, NULL, "cols= rows= st=EACCES@0 end=aborted");
	assert_non_null(strstr(fx_message(f), "missing set"));
	f->env.auth = NULL;
	run_as(f, "get %s name %%x ; get %s name %%y ; return %%x %%y", a, b,
	       "cols=x,y rows=[\"z\"|\"b\"] end=ok");
}

static void
test_eval_auth_schema_right_and_eperm(void **state)
{
	struct afx *x = *state;
	struct fx *f = x->f;

	data(f);
	{
		/* Everything but the schema right, everywhere. */
		struct rule r[1] = {{"@0.0.0.0.0", 0, SCPP_AUTH_OP_ALL & ~SCPP_AUTH_OP_SCHEMA,
				     {NULL}}};

		x->a = authority(f, r, 1);
	}
	f->env.auth = x->a;
	assert_reply(f, "get %t name \"User\" ; set %t doc \"x\" ; return", "cols= rows= st=EPERM@1 end=aborted");
	assert_string_equal(strstr(fx_message(f), ": not granted"),
			    ": not granted to this session (operation: missing schema)");
	assert_reply(f, "create %t Type ; return %t", "cols=t rows= st=EPERM@0 end=aborted");
	/* Ordinary writes are fine. */
	assert_reply(f, "get %u name \"a\" ; set %u uid 9u ; return %u",
		     "cols=u rows=[@0.1.0.1.1] end=ok");
	scpp_auth_authority_free(x->a);
	{
		struct rule r[1] = {{"@0.0.0.0.0", 0, SCPP_AUTH_OP_ALL, {NULL}}};

		x->a = authority(f, r, 1);
	}
	f->env.auth = x->a;
	assert_reply(f, "get %t name \"User\" ; set %t doc \"x\" ; return", "cols= rows= end=ok");
	/* A lone shard: the caller adopts the changed schema. */
	assert_non_null(f->res.new_schema);
	scpp_schema_free(f->schema);
	f->schema = f->res.new_schema;
	f->env.schema = f->schema;
	assert_reply(f, "get %t name \"User\" ; get %t doc %d ; return %d", "cols=d rows=[\"x\"] end=ok");
}

static void
test_eval_auth_fast_path_stops_at_a_denied_get(void **state)
{
	struct afx *x = *state;
	struct fx *f = x->f;
	struct scpp_eval_stats s0, s1;
	char a[64], b[64];

	data(f);
	users(f, a, b, sizeof(a));
	{
		struct rule r[1] = {{a, 128, SCPP_AUTH_OP_GET, {NULL}}};

		x->a = authority(f, r, 1);
	}
	f->env.auth = x->a;
	/* An entity's rule: answers hold for that entity only (no memo). */
	assert_false(scpp_auth_authority_coarse(x->a));
	scpp_eval_ctx_stats(f->ctx, &s0);
	run_as(f, "get %s name %%n ; get %s uid %%u ; return %%n %%u", a, a,
	       "cols=n,u rows=[\"a\"|1u] end=ok");
	scpp_eval_ctx_stats(f->ctx, &s1);
	assert_int_equal(s1.fast_blocks, s0.fast_blocks + 1);
	/* The second get is B's: the fast run stops there, the general path
	 * denies it, and the first get's row goes with the aborted block. */
	run_as(f, "get %s name %%n ; get %s name %%m ; return %%n %%m", a, b,
	       "cols=n,m rows= st=EACCES@1 end=aborted");
	scpp_eval_ctx_stats(f->ctx, &s0);
	assert_int_equal(s0.fast_blocks, s1.fast_blocks);
	/* A session that may read the whole shard: no check per get (one
	 * cover() per block), same rows, still the fast path. */
	scpp_auth_authority_free(x->a);
	{
		struct rule r[1] = {{"@0.1.0.0.0", 64, SCPP_AUTH_OP_GET, {NULL}}};

		x->a = authority(f, r, 1);
	}
	f->env.auth = x->a;
	assert_int_equal(scpp_auth_authority_ops_all_attrs(x->a), SCPP_AUTH_OP_GET);
	run_as(f, "get %s name %%n ; get %s name %%m ; return %%n %%m", a, b,
	       "cols=n,m rows=[\"a\"|\"b\"] end=ok");
	scpp_eval_ctx_stats(f->ctx, &s1);
	assert_int_equal(s1.fast_blocks, s0.fast_blocks + 1);
	/* ... but not a write. */
	run_as(f, "set %s name \"x\"", a, NULL, "cols= rows= st=EACCES@0 end=aborted");
	/* A /64 rule with named attributes (cover() is not ALL): every get is
	 * checked, but an answer holds for the /64 and its attribute only --
	 * the next attribute is checked again and denied. */
	scpp_auth_authority_free(x->a);
	{
		struct rule r[1] = {{"@0.1.0.0.0", 64, SCPP_AUTH_OP_GET, {"name", NULL}}};

		x->a = authority(f, r, 1);
	}
	f->env.auth = x->a;
	assert_true(scpp_auth_authority_coarse(x->a));
	/* No rule with every attribute: cover() could not say ALL, and is not asked. */
	assert_int_equal(scpp_auth_authority_ops_all_attrs(x->a), 0);
	scpp_eval_ctx_stats(f->ctx, &s0);
	run_as(f, "get %s name %%n ; get %s name %%m ; return %%n %%m", a, b,
	       "cols=n,m rows=[\"a\"|\"b\"] end=ok");
	scpp_eval_ctx_stats(f->ctx, &s1);
	assert_int_equal(s1.fast_blocks, s0.fast_blocks + 1);
	run_as(f, "get %s name %%n ; get %s uid %%m ; return %%n %%m", a, b,
	       "cols=n,m rows= st=EACCES@1 end=aborted");
}

/* A VMA address (value(P, vmas[k]) rewritten to the Extent's data) reads
 * the map entry: the session needs get on P.vmas, and the copy's rights on
 * the extent it leads to. */
static void
test_eval_auth_rewritten_address_reads_the_map(void **state)
{
	struct afx *x = *state;
	struct fx *f = x->f;
	static const char *const ents[] = {"@0.1.0.1.50", "@0.1.0.1.51", "@0.1.0.1.52"};

	for (unsigned int i = 0; i < 3; i++)
		assert_int_equal(scpp_store_entity_create(f->store, oid(ents[i])), 0);
	f->env.auth = NULL;
	assert_reply(f, "set @0.1.0.1.50 vmas[4096u] @0.1.0.1.51 ; "
		     "set @0.1.0.1.51 data x\"000102030405060708090a0b0c0d0e0f1011\" ; "
		     "set @0.1.0.1.52 src x\"f0f1f2f3\"", "cols= rows= end=ok");
	{
		/* copy on the extent, get on the source; nothing on P. */
		struct rule r[2] = {{"@0.1.0.1.51", 128, SCPP_AUTH_OP_COPY, {NULL}},
				    {"@0.1.0.1.52", 128, SCPP_AUTH_OP_GET, {NULL}}};

		x->a = authority(f, r, 2);
	}
	assert_non_null(x->a);
	f->env.auth = x->a;
	assert_reply(f, "copy offset(value(@0.1.0.1.50, vmas[4096u]), 2) value(@0.1.0.1.52, src) 4",
		     "cols= rows= st=EACCES@0 end=aborted");
	assert_string_equal(fx_message(f), "address @0.1.0.1.50.vmas: not granted to this session "
					   "(scope: missing get)");
	scpp_auth_authority_free(x->a);
	{
		struct rule r[3] = {{"@0.1.0.1.51", 128, SCPP_AUTH_OP_COPY, {NULL}},
				    {"@0.1.0.1.52", 128, SCPP_AUTH_OP_GET, {NULL}},
				    {"@0.1.0.1.50", 128, SCPP_AUTH_OP_GET, {"vmas", NULL}}};

		x->a = authority(f, r, 3);
	}
	f->env.auth = x->a;
	assert_reply(f, "copy offset(value(@0.1.0.1.50, vmas[4096u]), 2) value(@0.1.0.1.52, src) 4",
		     "cols= rows= end=ok");
	f->env.auth = NULL;
	assert_reply(f, "get @0.1.0.1.51 data %d ; return %d",
		     "cols=d rows=[x\"0001f0f1f2f3060708090a0b0c0d0e0f1011\"] end=ok");
}

/* copy and get on the extent (.51), get and copy on the source (.52), get on
 * P.vmas (.50), and @p w_ops on the RmaWindow (.77; 0: nothing on it). */
static struct scpp_auth_authority *
window_authority(struct fx *f, uint16_t w_ops)
{
	struct rule r[4] = {{"@0.1.0.1.51", 128, SCPP_AUTH_OP_COPY | SCPP_AUTH_OP_GET, {NULL}},
			    {"@0.1.0.1.52", 128, SCPP_AUTH_OP_GET | SCPP_AUTH_OP_COPY, {NULL}},
			    {"@0.1.0.1.50", 128, SCPP_AUTH_OP_GET, {"vmas", NULL}},
			    {"@0.1.0.1.77", 128, w_ops, {NULL}}};

	return authority(f, r, w_ops != 0 ? 4 : 3);
}

/* A VMA address rewritten to a memory window (docs/COPY.md "Memory
 * windows") needs, besides the copy right on the extent and get on the map,
 * set on the RmaWindow it writes and get on the one it reads. */
static void
test_eval_auth_memory_window_rights(void **state)
{
	static uint8_t region[256];
	struct afx *x = *state;
	struct fx *f = x->f;
	static const char *const ents[] = {"@0.1.0.1.50", "@0.1.0.1.51", "@0.1.0.1.52"};
	struct scpp_eval_memwin mw = {.oid = oid("@0.1.0.1.77"), .base = region, .len = 256};
	struct scpp_eval_memwins set = {.win = &mw, .n = 1};
	static const uint8_t four[4] = {0xf0, 0xf1, 0xf2, 0xf3};

	for (unsigned int i = 0; i < 3; i++)
		assert_int_equal(scpp_store_entity_create(f->store, oid(ents[i])), 0);
	f->env.memwins = &set;
	f->env.auth = NULL;
	assert_reply(f, "set @0.1.0.1.50 vmas[4096u] @0.1.0.1.51 ; "
		     "set @0.1.0.1.51 window @0.1.0.1.77 ; set @0.1.0.1.51 window_offset 10u ; "
		     "set @0.1.0.1.51 length 100u ; set @0.1.0.1.52 src x\"f0f1f2f3\"",
		     "cols= rows= end=ok");
	x->a = window_authority(f, 0); /* nothing on W */
	assert_non_null(x->a);
	f->env.auth = x->a;
	assert_reply(f, "copy offset(value(@0.1.0.1.50, vmas[4096u]), 2) value(@0.1.0.1.52, src) 4",
		     "cols= rows= st=EACCES@0 end=aborted");
	assert_string_equal(fx_message(f), "copy to window @0.1.0.1.77.*: not granted to this "
					   "session (scope: missing set)");
	assert_reply(f, "copy value(@0.1.0.1.52, src) offset(value(@0.1.0.1.50, vmas[4096u]), 2) 4",
		     "cols= rows= st=EACCES@0 end=aborted");
	assert_string_equal(fx_message(f), "copy from window @0.1.0.1.77.*: not granted to this "
					   "session (scope: missing get)");
	scpp_auth_authority_free(x->a);
	x->a = window_authority(f, SCPP_AUTH_OP_GET); /* W can be read, not written */
	f->env.auth = x->a;
	assert_reply(f, "copy offset(value(@0.1.0.1.50, vmas[4096u]), 2) value(@0.1.0.1.52, src) 4",
		     "cols= rows= st=EACCES@0 end=aborted");
	assert_reply(f, "copy value(@0.1.0.1.52, src) offset(value(@0.1.0.1.50, vmas[4096u]), 2) 4",
		     "cols= rows= end=ok");
	scpp_auth_authority_free(x->a);
	x->a = window_authority(f, SCPP_AUTH_OP_SET);
	f->env.auth = NULL;
	assert_reply(f, "set @0.1.0.1.52 src x\"f0f1f2f3\"", "cols= rows= end=ok");
	f->env.auth = x->a;
	assert_reply(f, "copy offset(value(@0.1.0.1.50, vmas[4096u]), 2) value(@0.1.0.1.52, src) 4",
		     "cols= rows= end=ok");
	assert_memory_equal(region + 12, four, 4);
	f->env.auth = NULL;
	f->env.memwins = NULL;
}

/* A copy end another node resolved to this shard's memory window (a
 * MEMORY_WINDOW extension, docs/COPY.md "Memory windows on other nodes"):
 * the window's owner still needs the session's set on the RmaWindow to
 * write it (EACCES, the window unchanged), get to read it. */
static void
test_eval_auth_remote_memory_window_rights(void **state)
{
	static uint8_t region[256];
	static const uint8_t four[4] = {0xf0, 0xf1, 0xf2, 0xf3};
	struct afx *x = *state;
	struct fx *f = x->f;
	struct scpp_eval_memwin mw = {.oid = oid("@0.1.0.1.77"), .base = region, .len = 256};
	struct scpp_eval_memwins set = {.win = &mw, .n = 1};
	struct scpp_wire_memwin e = {.row = 0, .dir = SCPP_WIRE_MEMWIN_INTO, .length = 4,
				     .window = oid("@0.1.0.1.77"), .offset = 12};
	struct scpp_eval_remote_memwin rm = {.cmd = 0, .n = 1, .x = &e, .sender = 2};
	uint8_t zero[4] = {0};

	memset(region, 0, sizeof(region));
	assert_int_equal(scpp_store_entity_create(f->store, oid("@0.1.0.1.52")), 0);
	f->env.auth = NULL;
	assert_reply(f, "set @0.1.0.1.52 src x\"f0f1f2f3\"", "cols= rows= end=ok");
	f->env.memwins = &set;
	f->env.remote_memwin = &rm;
	x->a = window_authority(f, SCPP_AUTH_OP_GET); /* W can be read, not written */
	assert_non_null(x->a);
	f->env.auth = x->a;
	assert_reply(f, "copy offset(value(@0.2.0.1.50, vmas[4096u]), 2) value(@0.1.0.1.52, src) 4",
		     "cols= rows= st=EACCES@0 end=aborted");
	assert_string_equal(fx_message(f), "copy to window @0.1.0.1.77.*: not granted to this "
					   "session (operation: missing set)");
	assert_memory_equal(region + 12, zero, 4);
	scpp_auth_authority_free(x->a);
	x->a = window_authority(f, SCPP_AUTH_OP_SET);
	f->env.auth = x->a;
	assert_reply(f, "copy offset(value(@0.2.0.1.50, vmas[4096u]), 2) value(@0.1.0.1.52, src) 4",
		     "cols= rows= end=ok");
	assert_memory_equal(region + 12, four, 4);
	/* Out of it needs get, which this session lacks now. */
	e.dir = SCPP_WIRE_MEMWIN_OUT;
	assert_reply(f, "copy value(@0.1.0.1.52, src) offset(value(@0.2.0.1.50, vmas[4096u]), 2) 4",
		     "cols= rows= st=EACCES@0 end=aborted");
	assert_string_equal(fx_message(f), "copy from window @0.1.0.1.77.*: not granted to this "
					   "session (operation: missing get)");
	f->env.auth = NULL;
	f->env.memwins = NULL;
	f->env.remote_memwin = NULL;
}

static int remote_reads;

/* A remote source that counts its READs and gives four 0xab bytes. */
static int
count_read(void *arg, uint32_t row, void *dst, uint64_t len, char *msg, size_t size)
{
	(void)arg, (void)row, (void)msg, (void)size;
	remote_reads++;
	memset(dst, 0xab, len);
	return 0;
}

/* A copy into this shard's memory window from another node's value (its
 * COPY_SOURCE): a session without set on the RmaWindow is refused before
 * any byte of the source is read (op_copy's rule); with it, one READ. */
static void
test_eval_auth_remote_window_checked_before_read(void **state)
{
	static uint8_t region[256];
	static const uint8_t ab[4] = {0xab, 0xab, 0xab, 0xab};
	struct afx *x = *state;
	struct fx *f = x->f;
	struct scpp_eval_memwin mw = {.oid = oid("@0.1.0.1.77"), .base = region, .len = 256};
	struct scpp_eval_memwins set = {.win = &mw, .n = 1};
	struct scpp_wire_memwin e = {.row = 0, .dir = SCPP_WIRE_MEMWIN_INTO, .length = 4,
				     .window = oid("@0.1.0.1.77"), .offset = 12};
	struct scpp_eval_remote_memwin rm = {.cmd = 0, .n = 1, .x = &e, .sender = 2};
	struct scpp_eval_remote_src rs = {.cmd = 0, .read = count_read};
	struct rule r[2] = {{"@0.2.0.1.53", 128, SCPP_AUTH_OP_GET | SCPP_AUTH_OP_COPY, {NULL}},
			    {"@0.1.0.1.77", 128, SCPP_AUTH_OP_GET, {NULL}}};
	uint8_t zero[4] = {0};

	memset(region, 0, sizeof(region));
	/* The attribute's name known here (a value of this shard has it). */
	assert_int_equal(scpp_store_entity_create(f->store, oid("@0.1.0.1.52")), 0);
	f->env.auth = NULL;
	assert_reply(f, "set @0.1.0.1.52 src x\"f0f1f2f3\"", "cols= rows= end=ok");
	f->env.memwins = &set;
	f->env.remote_memwin = &rm;
	f->env.remote_src = &rs;
	remote_reads = 0;
	x->a = authority(f, r, 2); /* W can be read, not written */
	assert_non_null(x->a);
	f->env.auth = x->a;
	assert_reply(f, "copy offset(value(@0.2.0.1.50, vmas[4096u]), 2) value(@0.2.0.1.53, src) 4",
		     "cols= rows= st=EACCES@0 end=aborted");
	assert_string_equal(fx_message(f), "copy to window @0.1.0.1.77.*: not granted to this "
					   "session (operation: missing set)");
	assert_int_equal(remote_reads, 0);
	assert_memory_equal(region + 12, zero, 4);
	scpp_auth_authority_free(x->a);
	r[1].ops = SCPP_AUTH_OP_SET;
	x->a = authority(f, r, 2);
	f->env.auth = x->a;
	assert_reply(f, "copy offset(value(@0.2.0.1.50, vmas[4096u]), 2) value(@0.2.0.1.53, src) 4",
		     "cols= rows= end=ok");
	assert_int_equal(remote_reads, 1);
	assert_memory_equal(region + 12, ab, 4);
	f->env.auth = NULL;
	f->env.memwins = NULL;
	f->env.remote_memwin = NULL;
	f->env.remote_src = NULL;
}

/* RmaWindow entities are scppd's: no block creates, writes or deletes one. */
static void
test_eval_rma_windows_are_not_writable(void **state)
{
	struct afx *x = *state;
	struct fx *f = x->f;
	const struct scpp_schema_type *t = scpp_schema_type_by_name(f->schema, "RmaWindow");
	struct scpp_value tv;
	struct scpp_oid w = oid("@0.1.0.1.77");

	assert_non_null(t);
	tv = scpp_value_oid(scpp_schema_type_get_oid(t));
	f->env.auth = NULL;
	assert_reply(f, "create %w RmaWindow ; return %w", "cols=w rows= st=EPERM@0 end=aborted");
	/* One published the way scppd does, straight into the store. */
	assert_int_equal(scpp_store_entity_create(f->store, w), 0);
	assert_int_equal(scpp_store_set(f->store, w, scpp_schema_type_attr_id(f->schema), &tv), 0);
	assert_reply(f, "set @0.1.0.1.77 length 5u", "cols= rows= st=EPERM@0 end=aborted");
	assert_string_equal(fx_message(f), "set @0.1.0.1.77: RmaWindow entities are published by "
					   "scppd; a block cannot create, write or delete them");
	assert_reply(f, "del @0.1.0.1.77 length", "cols= rows= st=EPERM@0 end=aborted");
	assert_reply(f, "del @0.1.0.1.77", "cols= rows= st=EPERM@0 end=aborted");
	{
		char text[128], to[64];

		scpp_oid_format(to, sizeof(to), tv.oid);
		assert_int_equal(scpp_store_entity_create(f->store, oid("@0.1.0.1.78")), 0);
		snprintf(text, sizeof(text), "set @0.1.0.1.78 type %s", to);
		assert_reply(f, text, "cols= rows= st=EPERM@0 end=aborted");
		/* The published one is untouched. */
		snprintf(text, sizeof(text), "get @0.1.0.1.77 type %%t ; return %%t");
		snprintf(to + strlen(to), sizeof(to) - strlen(to), "] end=ok");
		assert_string_equal(fx_run(f, text) + strlen("cols=t rows=["), to);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_eval_auth_scope_ops_and_attributes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_eval_auth_scans_see_only_what_is_readable, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_eval_auth_expressions_are_checked, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_eval_auth_schema_right_and_eperm, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_eval_auth_fast_path_stops_at_a_denied_get, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_eval_auth_rewritten_address_reads_the_map, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_eval_auth_memory_window_rights, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eval_auth_remote_memory_window_rights, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_eval_auth_remote_window_checked_before_read, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_eval_rma_windows_are_not_writable, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
