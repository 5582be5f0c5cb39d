/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `copy` through a copy engine (scpp_eval_env.copier): which copies go to
 * the engine and which stay on the CPU, the pinning rule while the engine
 * works (docs/STORE.md: a value being copied cannot move or be freed), and
 * that a failing engine leaves nothing half-written behind (the undo log
 * restores the destination byte for byte). The engine here is a fake that
 * records what it was asked, checks the pins from inside the copy, and fails
 * or keeps its pins on request; scppd's real one is app/scppd/copy.c over
 * drivers/copy (integration.copy).
 */
#include <errno.h>
#include <string.h>

#include "scpp_test.h"
#include "eval_fixture.h"

#define A "@0.1.0.1.a"
#define B "@0.1.0.1.b"

#define assert_reply(f, text, want) assert_string_equal(fx_run((f), (text)), (want))

struct fake {
	struct fx *f;
	unsigned int calls;
	uint64_t bytes;
	int fail;              /* status to return, 0 = copy */
	bool scribble;         /* on failure: write garbage into dst first */
	bool keep_pins;        /* set done->keep_pins */
	bool save_fails;       /* with save: fail before the save (saved = false) */
	int busy_del, busy_edel, busy_set, busy_resize; /* what the pinned values answered */
	uint64_t pinned;       /* store's pinned-extent gauge during the call */
	struct scpp_eval_copy_req last;
};

static int
fake_copy(void *arg, const struct scpp_eval_copy_req *rq, struct scpp_eval_copy_done *done)
{
	struct fake *k = arg;
	struct scpp_store *s = k->f->store;
	struct scpp_store_stats st;
	struct scpp_value v = scpp_value_u64(1);

	k->calls++;
	k->last = *rq;
	/* The pinning rule, from inside the copy: neither value can be
	 * deleted, replaced, resized or lose its entity. */
	k->busy_del = scpp_store_del(s, rq->src_e, rq->src_a);
	k->busy_set = scpp_store_set(s, rq->dst_e, rq->dst_a, &v);
	k->busy_resize = scpp_store_bytes_resize(s, rq->dst_e, rq->dst_a, 1u << 16);
	k->busy_edel = scpp_store_entity_delete(s, rq->src_e);
	scpp_store_stats_get(s, &st);
	k->pinned = st.pinned;
	done->elapsed_ns = 1234;
	done->keep_pins = k->keep_pins;
	if (rq->save != NULL) {
		if (k->save_fails) {
			done->saved = false;
			return k->fail;
		}
		memcpy(rq->save, rq->dst, rq->len);
		done->saved = true;
	}
	if (k->fail != 0) {
		if (k->scribble)
			memset(rq->dst, 0xee, rq->len);
		return k->fail;
	}
	memmove(rq->dst, rq->src, rq->len);
	k->bytes += rq->len;
	return 0;
}

struct tfx {
	struct fx *f;
	struct fake k;
	struct scpp_eval_copier cp;
};

static int
setup(void **state)
{
	struct tfx *t = calloc(1, sizeof(*t));
	struct scpp_oid o;

	assert_non_null(t);
	t->f = fx_new(false, NULL);
	t->k.f = t->f;
	t->cp = (struct scpp_eval_copier){
		.copy = fake_copy, .arg = &t->k, .min_len = 64, .max_len = 1 << 20,
		.engine = "fake",
	};
	t->f->env.copier = &t->cp;
	assert_int_equal(scpp_oid_parse(A, strlen(A), &o), 0);
	assert_int_equal(scpp_store_entity_create(t->f->store, o), 0);
	assert_int_equal(scpp_oid_parse(B, strlen(B), &o), 0);
	assert_int_equal(scpp_store_entity_create(t->f->store, o), 0);
	for (const char *const *e = (const char *const[]){"@0.1.0.1.50", "@0.1.0.1.51",
							   "@0.1.0.1.52", NULL};
	     *e != NULL; e++) {
		assert_int_equal(scpp_oid_parse(*e, strlen(*e), &o), 0);
		assert_int_equal(scpp_store_entity_create(t->f->store, o), 0);
	}
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	struct tfx *t = *state;

	fx_free(t->f);
	free(t);
	return 0;
}

/* A block that sets A.src to @n bytes of a pattern and A.dst / B.dst to
 * @n bytes of another (extents: longer than the inline limit). */
static void
fill(struct fx *f, const char *ent, const char *attr, size_t n, uint8_t seed)
{
	char *text = malloc(n * 2 + 128);
	size_t o;

	assert_non_null(text);
	o = (size_t)sprintf(text, "set %s %s x\"", ent, attr);
	for (size_t i = 0; i < n; i++)
		o += (size_t)sprintf(text + o, "%02x", (uint8_t)(seed + i * 7));
	sprintf(text + o, "\"");
	assert_string_equal(fx_run(f, text), "cols= rows= end=ok");
	free(text);
}

static void
read_bytes(struct fx *f, const char *ent, const char *attr, uint8_t *out, size_t n)
{
	struct scpp_store_dict *d = f->dict;
	struct scpp_oid o;
	int64_t aid;

	assert_int_equal(scpp_oid_parse(ent, strlen(ent), &o), 0);
	aid = scpp_store_dict_lookup(d, attr, strlen(attr));
	assert_true(aid > 0);
	assert_int_equal(scpp_store_bytes_read(f->store, o, (uint32_t)aid, 0, n, out), 0);
}

static void
test_copy_goes_through_the_engine_with_both_values_pinned(void **state)
{
	struct tfx *t = *state;
	struct fx *f = t->f;
	uint8_t src[300], dst[300], want[300];
	struct scpp_store_stats st;

	fill(f, A, "src", sizeof(src), 1);
	fill(f, B, "dst", sizeof(dst), 100);
	read_bytes(f, A, "src", src, sizeof(src));
	read_bytes(f, B, "dst", want, sizeof(want));
	memcpy(want + 10, src + 5, 200);
	assert_reply(f, "copy offset(value(" B ", dst), 10) offset(value(" A ", src), 5) 200",
		     "cols= rows= end=ok");
	assert_int_equal(t->k.calls, 1);
	assert_int_equal(t->k.bytes, 200);
	assert_int_equal(t->k.last.len, 200);
	assert_null(t->k.last.save);
	read_bytes(f, B, "dst", dst, sizeof(dst));
	assert_memory_equal(dst, want, sizeof(dst));
	/* Inside the copy both values were pinned, and everything that could
	 * move or free them was refused. */
	assert_int_equal(t->k.pinned, 2);
	assert_int_equal(t->k.busy_del, -EBUSY);
	assert_int_equal(t->k.busy_set, -EBUSY);
	assert_int_equal(t->k.busy_resize, -EBUSY);
	assert_int_equal(t->k.busy_edel, -EBUSY);
	/* ... and unpinned afterwards: the source can be deleted now. */
	scpp_store_stats_get(f->store, &st);
	assert_int_equal(st.pinned, 0);
	assert_reply(f, "del " A " src", "cols= rows= end=ok");
}

static void
test_copy_within_one_value_overlaps_like_memmove(void **state)
{
	struct tfx *t = *state;
	struct fx *f = t->f;
	uint8_t before[256], after[256];

	fill(f, A, "buf", sizeof(before), 3);
	read_bytes(f, A, "buf", before, sizeof(before));
	memmove(before + 16, before, 200);
	assert_reply(f, "copy offset(value(" A ", buf), 16) value(" A ", buf) 200",
		     "cols= rows= end=ok");
	assert_int_equal(t->k.calls, 1);
	assert_int_equal(t->k.pinned, 1); /* one value, pinned twice */
	read_bytes(f, A, "buf", after, sizeof(after));
	assert_memory_equal(after, before, sizeof(after));
}

static void
test_copies_the_engine_does_not_take_stay_on_the_cpu(void **state)
{
	struct tfx *t = *state;
	struct fx *f = t->f;
	uint8_t got[100];

	fill(f, A, "src", 4096, 1);
	fill(f, B, "dst", 4096, 2);
	/* Below min_len. */
	assert_reply(f, "copy value(" B ", dst) value(" A ", src) 63", "cols= rows= end=ok");
	/* A created destination (seed §4.4). */
	assert_reply(f, "copy value(" B ", fresh) value(" A ", src) 100", "cols= rows= end=ok");
	read_bytes(f, B, "fresh", got, sizeof(got));
	for (int i = 0; i < 100; i++)
		assert_int_equal(got[i], (uint8_t)(1 + i * 7));
	/* A str destination (the result must stay UTF-8). */
	assert_reply(f, "set " B " s \"" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		     "\" ; copy value(" B ", s) value(" B ", s) 70", "cols= rows= end=ok");
	/* An inline source (16 bytes or less) cannot be addressed by an engine,
	 * and max_len bounds the rest. */
	assert_reply(f, "set " A " small x\"00112233\" ; copy value(" B ", dst) value(" A ", small) 4",
		     "cols= rows= end=ok");
	t->cp.max_len = 100;
	assert_reply(f, "copy value(" B ", dst) value(" A ", src) 101", "cols= rows= end=ok");
	assert_int_equal(t->k.calls, 0);
	t->cp.max_len = 1 << 20;
	assert_reply(f, "copy value(" B ", dst) value(" A ", src) 100", "cols= rows= end=ok");
	assert_int_equal(t->k.calls, 1);
}

static void
test_a_failing_engine_leaves_the_destination_as_it_was(void **state)
{
	struct tfx *t = *state;
	struct fx *f = t->f;
	uint8_t before[512], after[512];
	struct scpp_store_stats st;

	fill(f, A, "src", sizeof(before), 9);
	fill(f, B, "dst", sizeof(before), 40);
	read_bytes(f, B, "dst", before, sizeof(before));
	t->k.fail = -EIO;
	t->k.scribble = true;
	/* Without a status variable the block aborts. */
	assert_reply(f, "copy value(" B ", dst) value(" A ", src) 512", "cols= rows= st=EIO@0 end=aborted");
	read_bytes(f, B, "dst", after, sizeof(after));
	assert_memory_equal(after, before, sizeof(after));
	/* With one, the row fails alone, the destination is restored and the
	 * rest of the block runs. */
	assert_reply(f, "copy value(" B ", dst) value(" A ", src) 512 !%e ; set " A " n 1 ; return %e",
		     "cols=e rows=[1u] st=EIO@0 end=errors");
	read_bytes(f, B, "dst", after, sizeof(after));
	assert_memory_equal(after, before, sizeof(after));
	assert_int_equal(t->k.calls, 2);
	scpp_store_stats_get(f->store, &st);
	assert_int_equal(st.pinned, 0);
	/* A later failure in the same block undoes a copy the engine made. */
	t->k.fail = 0;
	assert_reply(f, "copy value(" B ", dst) value(" A ", src) 512 ; get " A " nothing %x",
		     "cols=x rows= st=ENOENT@1 end=aborted");
	assert_int_equal(t->k.calls, 3);
	read_bytes(f, B, "dst", after, sizeof(after));
	assert_memory_equal(after, before, sizeof(after));
}

static void
test_an_engine_that_takes_the_undo_copy(void **state)
{
	struct tfx *t = *state;
	struct fx *f = t->f;
	uint8_t before[256], after[256], src[256];

	t->cp.save = true;
	fill(f, A, "src", sizeof(src), 5);
	fill(f, B, "dst", sizeof(before), 50);
	read_bytes(f, B, "dst", before, sizeof(before));
	read_bytes(f, A, "src", src, sizeof(src));
	/* Saved, then failed half-way: the undo log restores. */
	t->k.fail = -ETIMEDOUT;
	t->k.scribble = true;
	assert_reply(f, "copy value(" B ", dst) value(" A ", src) 256", "cols= rows= st=ETIMEDOUT@0 end=aborted");
	assert_non_null(t->k.last.save);
	read_bytes(f, B, "dst", after, sizeof(after));
	assert_memory_equal(after, before, sizeof(after));
	/* Failed before saving (nothing written): nothing to restore, and the
	 * undo log does not write the unsaved buffer over the value. */
	t->k.save_fails = true;
	assert_reply(f, "copy value(" B ", dst) value(" A ", src) 256 !%e ; return %e",
		     "cols=e rows=[1u] st=ETIMEDOUT@0 end=errors");
	read_bytes(f, B, "dst", after, sizeof(after));
	assert_memory_equal(after, before, sizeof(after));
	/* Success: the copied bytes. */
	t->k.fail = 0;
	t->k.save_fails = false;
	assert_reply(f, "copy value(" B ", dst) value(" A ", src) 256", "cols= rows= end=ok");
	read_bytes(f, B, "dst", after, sizeof(after));
	assert_memory_equal(after, src, sizeof(after));
}

static void
test_pins_the_engine_keeps_outlive_the_block(void **state)
{
	struct tfx *t = *state;
	struct fx *f = t->f;
	struct scpp_store_stats st;

	fill(f, A, "src", 128, 1);
	fill(f, B, "dst", 128, 2);
	t->k.keep_pins = true;
	t->k.fail = -ETIMEDOUT;
	assert_reply(f, "copy value(" B ", dst) value(" A ", src) 128", "cols= rows= st=ETIMEDOUT@0 end=aborted");
	/* The device may still touch both: they stay pinned after the block,
	 * so deleting either is refused ... */
	scpp_store_stats_get(f->store, &st);
	assert_int_equal(st.pinned, 2);
	assert_reply(f, "del " A " src", "cols= rows= st=EBUSY@0 end=aborted");
	assert_reply(f, "del " B " dst", "cols= rows= st=EBUSY@0 end=aborted");
	/* ... until the engine lets go and drops them. */
	assert_int_equal(scpp_store_bytes_unpin(f->store, t->k.last.src_e, t->k.last.src_a), 0);
	assert_int_equal(scpp_store_bytes_unpin(f->store, t->k.last.dst_e, t->k.last.dst_a), 0);
	assert_reply(f, "del " A " src ; del " B " dst", "cols= rows= end=ok");
}

/* Address rewriting (seed §4.5): value(P, vmas[k]) whose entry is an
 * Extent names the extent's bytes, or its window + offset. */
#define P "@0.1.0.1.50"
#define X "@0.1.0.1.51"
#define Y "@0.1.0.1.52"
#define W "@0.1.0.1.77"

static void
test_vma_addresses_are_rewritten_to_the_extent(void **state)
{
	struct tfx *t = *state;
	struct fx *f = t->f;
	uint8_t src[300], x[300], want[300];

	fill(f, A, "src", sizeof(src), 1);
	fill(f, X, "data", sizeof(x), 77);
	read_bytes(f, A, "src", src, sizeof(src));
	read_bytes(f, X, "data", want, sizeof(want));
	assert_reply(f, "set " P " vmas[4096u] " X " ; set " X " length 300u", "cols= rows= end=ok");
	/* Destination rewritten: the copy lands in X.data at the offset. */
	memcpy(want + 10, src + 5, 100);
	assert_reply(f, "copy offset(value(" P ", vmas[4096u]), 10) offset(value(" A ", src), 5) 100",
		     "cols= rows= end=ok");
	read_bytes(f, X, "data", x, sizeof(x));
	assert_memory_equal(x, want, sizeof(x));
	assert_int_equal(t->k.calls, 1); /* through the engine, as a copy into X.data */
	{
		struct scpp_oid xo;

		assert_int_equal(scpp_oid_parse(X, strlen(X), &xo), 0);
		assert_true(scpp_oid_eq(t->k.last.dst_e, xo));
	}
	/* Source rewritten, and both. */
	memcpy(src, want + 150, 100);
	assert_reply(f, "copy value(" A ", src) offset(value(" P ", vmas[4096u]), 150) 100",
		     "cols= rows= end=ok");
	read_bytes(f, A, "src", x, sizeof(src));
	assert_memory_equal(x, src, sizeof(src));
	memmove(want, want + 200, 100);
	assert_reply(f, "copy value(" P ", vmas[4096u]) offset(value(" P ", vmas[4096u]), 200) 100",
		     "cols= rows= end=ok");
	read_bytes(f, X, "data", x, sizeof(x));
	assert_memory_equal(x, want, sizeof(x));
	assert_int_equal(t->k.calls, 3);
	/* Offsets stay inside the extent's bytes. */
	assert_reply(f, "copy offset(value(" P ", vmas[4096u]), 250) value(" A ", src) 100",
		     "cols= rows= st=ERANGE@0 end=aborted");
	/* What cannot be rewritten says why. */
	assert_reply(f, "copy value(" P ", vmas[1u]) value(" A ", src) 10",
		     "cols= rows= st=ENOENT@0 end=aborted");
	assert_reply(f, "set " P " vmas[2u] 5 ; copy value(" P ", vmas[2u]) value(" A ", src) 10",
		     "cols= rows= st=EINVAL@1 end=aborted");
	assert_reply(f, "set " P " vmas[3u] " Y " ; set " Y " length 10u ; "
		     "copy value(" P ", vmas[3u]) value(" A ", src) 10",
		     "cols= rows= st=ENOENT@2 end=aborted");
}

/* A fake memory window (scpp_eval_env.memwins) of WLEN bytes at RmaWindow W. */
#define WLEN 4096
static uint8_t region[WLEN];

static void
memwin_on(struct fx *f, struct scpp_eval_memwin *mw, struct scpp_eval_memwins *set)
{
	memset(mw, 0, sizeof(*mw));
	assert_int_equal(scpp_oid_parse(W, strlen(W), &mw->oid), 0);
	for (size_t i = 0; i < WLEN; i++)
		region[i] = (uint8_t)(i * 13 + 5);
	mw->base = region;
	mw->len = WLEN;
	*set = (struct scpp_eval_memwins){.win = mw, .n = 1};
	f->env.memwins = set;
}

static void
assert_message(struct fx *f, const char *want)
{
	if (memmem(f->reply, f->reply_len, want, strlen(want)) == NULL)
		fail_msg("no \"%s\" in %s", want, f->summary);
}

static void
test_vma_addresses_that_name_a_window(void **state)
{
	struct tfx *t = *state;
	struct fx *f = t->f;
	struct scpp_eval_memwin mw;
	struct scpp_eval_memwins set;
	uint8_t src[300], want[WLEN], got[300];

	memwin_on(f, &mw, &set);
	memcpy(want, region, WLEN);
	fill(f, A, "src", sizeof(src), 1);
	read_bytes(f, A, "src", src, sizeof(src));
	fill(f, B, "dst", sizeof(got), 9);
	assert_reply(f, "set " P " vmas[8192u] " Y " ; set " Y " window " W " ; "
		     "set " Y " window_offset 1000u ; set " Y " length 500u",
		     "cols= rows= end=ok");
	/* Into the window: base + window_offset + offset, on the CPU. */
	assert_reply(f, "copy offset(value(" P ", vmas[8192u]), 16) value(" A ", src) 100",
		     "cols= rows= end=ok");
	memcpy(want + 1016, src, 100);
	assert_memory_equal(region, want, WLEN);
	/* Out of it into a value. */
	assert_reply(f, "copy offset(value(" B ", dst), 7) offset(value(" P ", vmas[8192u]), 16) 100",
		     "cols= rows= end=ok");
	read_bytes(f, B, "dst", got, sizeof(got));
	assert_memory_equal(got + 7, src, 100);
	/* Window to window, overlapping: as memmove. */
	assert_reply(f, "copy offset(value(" P ", vmas[8192u]), 20) offset(value(" P ", vmas[8192u]), 16) 100",
		     "cols= rows= end=ok");
	memmove(want + 1020, want + 1016, 100);
	assert_memory_equal(region, want, WLEN);
	assert_int_equal(t->k.calls, 0); /* never through the store's engine */
	assert_int_equal(mw.copies_in, 2);
	assert_int_equal(mw.bytes_in, 200);
	assert_int_equal(mw.copies_out, 2);
	assert_int_equal(mw.bytes_out, 200);
	/* A copy out of it that its destination refuses: not counted. */
	assert_reply(f, "copy offset(value(" B ", dst), 250) offset(value(" P ", vmas[8192u]), 16) 100",
		     "cols= rows= st=ERANGE@0 end=aborted");
	assert_message(f, "copy: destination range 250+100 is outside its 300 bytes");
	assert_int_equal(mw.copies_out, 2);
	assert_int_equal(mw.bytes_out, 200);

	/* Every bound: the extent's length, then the window's. */
	assert_reply(f, "copy value(" A ", src) offset(value(" P ", vmas[8192u]), 450) 51",
		     "cols= rows= st=ERANGE@0 end=aborted");
	assert_message(f, "copy: source range 450+51 is outside extent " Y " of 500 bytes");
	assert_reply(f, "copy offset(value(" P ", vmas[8192u]), 450) value(" A ", src) 51",
		     "cols= rows= st=ERANGE@0 end=aborted");
	assert_message(f, "copy: destination range 450+51 is outside extent " Y " of 500 bytes");
	assert_reply(f, "set " Y " window_offset 3700u ; "
		     "copy offset(value(" P ", vmas[8192u]), 390) value(" A ", src) 10",
		     "cols= rows= st=ERANGE@1 end=aborted");
	assert_message(f, "copy: destination range 4090+10 is outside RmaWindow " W " of 4096 bytes");
	assert_reply(f, "set " Y " window_offset 3700u ; "
		     "copy value(" A ", src) offset(value(" P ", vmas[8192u]), 395) 1",
		     "cols= rows= end=ok");
	assert_reply(f, "copy value(" A ", src) offset(value(" P ", vmas[8192u]), 395) 2",
		     "cols= rows= st=ERANGE@0 end=aborted");
	assert_message(f, "copy: source range 4095+2 is outside RmaWindow " W " of 4096 bytes");
	assert_memory_equal(region, want, WLEN);

	/* A window that is not a memory window of this shard (an arena
	 * window, another node's, none at all) is refused, naming it. */
	assert_reply(f, "set " Y " window @0.1.0.1.78 ; "
		     "copy offset(value(" P ", vmas[8192u]), 16) value(" A ", src) 100",
		     "cols= rows= st=EOPNOTSUPP@1 end=aborted");
	assert_string_equal(fx_message(f), "copy: the destination is RmaWindow @0.1.0.1.78 + 3716 "
					   "(extent " Y "), not a memory window of this shard");
	f->env.memwins = NULL;
	assert_reply(f, "copy value(" A ", src) offset(value(" P ", vmas[8192u]), 16) 100",
		     "cols= rows= st=EOPNOTSUPP@0 end=aborted");
	f->env.memwins = &set;

	/* An abort restores the window byte for byte: the copy wrote, a
	 * later command failed. */
	assert_reply(f, "copy offset(value(" P ", vmas[8192u]), 0) value(" A ", src) 300 ; "
		     "copy offset(value(" P ", vmas[8192u]), 100) value(" A ", src) 200 ; "
		     "copy value(" A ", src) value(" A ", nosuch) 1",
		     "cols= rows= st=ENOENT@2 end=aborted");
	assert_memory_equal(region, want, WLEN);
	/* ... and a source value too short writes nothing. */
	assert_reply(f, "copy offset(value(" P ", vmas[8192u]), 0) value(" A ", src) 301",
		     "cols= rows= st=ERANGE@0 end=aborted");
	assert_memory_equal(region, want, WLEN);
	f->env.memwins = NULL;
}

/* docs/COPY.md "Memory windows on other nodes", the window's owner: copy
 * ends another node (node 2, which owns P2) resolved to this shard's memory
 * window (scpp_eval_env.remote_memwin). Taken into and out of the window
 * (bytes compared, remote counters); each forged or wrong extension
 * refused with its exact message and the window byte for byte unchanged;
 * an abort later in the block restores the window. */
#define P2 "@0.2.0.1.50"
static void
test_memwin_ends_another_node_resolved(void **state)
{
	struct tfx *t = *state;
	struct fx *f = t->f;
	struct scpp_eval_memwin mw;
	struct scpp_eval_memwins set;
	struct scpp_wire_memwin x = {.row = 0, .dir = SCPP_WIRE_MEMWIN_INTO, .length = 100,
				     .offset = 1016};
	struct scpp_eval_remote_memwin rm = {.cmd = 0, .n = 1, .x = &x, .sender = 2};
	uint8_t src[300], want[WLEN], got[300];

	memwin_on(f, &mw, &set);
	x.window = mw.oid;
	memcpy(want, region, WLEN);
	fill(f, A, "src", sizeof(src), 1);
	read_bytes(f, A, "src", src, sizeof(src));
	fill(f, B, "dst", sizeof(got), 9);
	f->env.remote_memwin = &rm;
	/* Into the window, at the extension's offset (P2 and its Extent are
	 * node 2's: nothing of them is here). */
	assert_reply(f, "copy offset(value(" P2 ", vmas[8192u]), 16) value(" A ", src) 100",
		     "cols= rows= end=ok");
	memcpy(want + 1016, src, 100);
	assert_memory_equal(region, want, WLEN);
	assert_true(mw.copies_in == 1 && mw.remote_in == 1 && mw.bytes_in == 100);
	/* Out of it. */
	x.dir = SCPP_WIRE_MEMWIN_OUT;
	assert_reply(f, "copy offset(value(" B ", dst), 7) offset(value(" P2 ", vmas[8192u]), 16) 100",
		     "cols= rows= end=ok");
	read_bytes(f, B, "dst", got, sizeof(got));
	assert_memory_equal(got + 7, src, 100);
	assert_true(mw.copies_out == 1 && mw.remote_out == 1 && mw.bytes_out == 100);
	assert_int_equal(t->k.calls, 0);
	/* Refused: the address's entity not the sender's, an unverified
	 * sender, an address that is no map entry, another length, a window
	 * that is not this shard's memory window, a range outside it. */
	x.dir = SCPP_WIRE_MEMWIN_INTO;
	assert_reply(f, "copy offset(value(@0.3.0.1.50, vmas[8192u]), 16) value(" A ", src) 100",
		     "cols= rows= st=EACCES@0 end=aborted");
	assert_string_equal(fx_message(f), "copy: node 2 sent a memory window address for the "
			    "destination of a copy whose address names @0.3.0.1.50, which is not its "
			    "entity; nothing was written");
	rm.sender = 0;
	assert_reply(f, "copy offset(value(" P2 ", vmas[8192u]), 16) value(" A ", src) 100",
		     "cols= rows= st=EACCES@0 end=aborted");
	assert_string_equal(fx_message(f), "copy: a memory window address for the destination came "
			    "from an address that is not its CONT's origin's in the cluster map; "
			    "nothing was written");
	rm.sender = 2;
	assert_reply(f, "copy value(" P2 ", data) value(" A ", src) 100",
		     "cols= rows= st=EACCES@0 end=aborted");
	assert_string_equal(fx_message(f), "copy: node 2 sent a memory window address for the "
			    "destination, which is not a map entry; nothing was written");
	assert_reply(f, "copy offset(value(" P2 ", vmas[8192u]), 16) value(" A ", src) 101",
		     "cols= rows= st=EACCES@0 end=aborted");
	assert_string_equal(fx_message(f), "copy: the memory window address from node 2 is for "
			    "100 bytes, the copy is of 101; nothing was written");
	x.window.lo++;
	assert_reply(f, "copy offset(value(" P2 ", vmas[8192u]), 16) value(" A ", src) 100",
		     "cols= rows= st=EACCES@0 end=aborted");
	assert_string_equal(fx_message(f), "copy: RmaWindow @0.1.0.1.78 named by node 2 is not a "
			    "memory window of this shard; nothing was written");
	x.window.lo--;
	x.offset = 4000;
	assert_reply(f, "copy offset(value(" P2 ", vmas[8192u]), 16) value(" A ", src) 100",
		     "cols= rows= st=ERANGE@0 end=aborted");
	assert_string_equal(fx_message(f), "copy: destination range 4000+100 is outside RmaWindow "
			    W " of 4096 bytes");
	assert_memory_equal(region, want, WLEN);
	/* Another command's, or another row's extension is not this copy's. */
	x.offset = 1016;
	rm.cmd = 1;
	assert_reply(f, "copy offset(value(" P2 ", vmas[8192u]), 16) value(" A ", src) 100",
		     "cols= rows= st=EREMOTE@0 end=aborted");
	rm.cmd = 0;
	/* An abort later in the block writes the window back. */
	assert_reply(f, "copy offset(value(" P2 ", vmas[8192u]), 16) value(" A ", src) 300 ; "
		     "copy value(" A ", src) value(" A ", nosuch) 1",
		     "cols= rows= st=EACCES@0 end=aborted");
	x.length = 300;
	assert_reply(f, "copy offset(value(" P2 ", vmas[8192u]), 16) value(" A ", src) 300 ; "
		     "copy value(" A ", src) value(" A ", nosuch) 1",
		     "cols= rows= st=ENOENT@1 end=aborted");
	assert_memory_equal(region, want, WLEN);
	f->env.remote_memwin = NULL;
	f->env.memwins = NULL;
}

/* docs/COPY.md "Busy ranges": the table itself. Overlap is half-open
 * (adjacent ranges do not overlap), per window; a full table refuses;
 * a release frees exactly its range, a stale handle (given up, taken
 * again) frees nothing; bad ranges are refused. */
static void
test_memwin_busy_ranges(void **state)
{
	struct scpp_eval_memwins m = {0};
	struct scpp_oid w1 = {.hi = 1ull << 16, .lo = (1ull << 40) | 78}, w2 = w1;
	uint32_t h[SCPP_EVAL_MEMWIN_BUSY_MAX], h1, extra;
	const struct scpp_eval_memwin_busy *b;

	(void)state;
	w2.lo++;
	assert_null(scpp_eval_memwin_busy_find(&m, w1, 0, UINT64_MAX));
	assert_int_equal(scpp_eval_memwin_busy_take(&m, w1, 1000, 100, 3, &h1), 0);
	assert_int_not_equal(h1, 0);
	assert_int_equal(m.nbusy, 1);
	/* Overlaps: inside, across either end, around it; one byte each end. */
	assert_non_null(b = scpp_eval_memwin_busy_find(&m, w1, 1000, 100));
	assert_true(b->off == 1000 && b->len == 100 && b->reader == 3);
	assert_non_null(scpp_eval_memwin_busy_find(&m, w1, 1050, 1));
	assert_non_null(scpp_eval_memwin_busy_find(&m, w1, 900, 101));
	assert_non_null(scpp_eval_memwin_busy_find(&m, w1, 1099, 50));
	assert_non_null(scpp_eval_memwin_busy_find(&m, w1, 0, 4096));
	/* Adjacent, empty, another window: no. */
	assert_null(scpp_eval_memwin_busy_find(&m, w1, 900, 100));
	assert_null(scpp_eval_memwin_busy_find(&m, w1, 1100, 100));
	assert_null(scpp_eval_memwin_busy_find(&m, w1, 1050, 0));
	assert_null(scpp_eval_memwin_busy_find(&m, w2, 1000, 100));
	/* Refused: empty, wrapping, nil window. */
	assert_int_equal(scpp_eval_memwin_busy_take(&m, w1, 5, 0, 3, &extra), -EINVAL);
	assert_int_equal(scpp_eval_memwin_busy_take(&m, w1, UINT64_MAX - 1, 2, 3, &extra), -EINVAL);
	assert_int_equal(scpp_eval_memwin_busy_take(&m, (struct scpp_oid){0}, 0, 1, 3, &extra),
			 -EINVAL);
	/* Fill it (overlapping ranges allowed: two readers), then full. */
	h[0] = h1;
	for (uint32_t i = 1; i < SCPP_EVAL_MEMWIN_BUSY_MAX; i++)
		assert_int_equal(scpp_eval_memwin_busy_take(&m, w2, i * 10, 10, 4, &h[i]), 0);
	assert_int_equal(m.nbusy, SCPP_EVAL_MEMWIN_BUSY_MAX);
	assert_int_equal(scpp_eval_memwin_busy_take(&m, w1, 0, 1, 3, &extra), -ENOSPC);
	/* Release: exactly that range goes; twice frees nothing. */
	assert_true(scpp_eval_memwin_busy_release(&m, h1));
	assert_false(scpp_eval_memwin_busy_release(&m, h1));
	assert_null(scpp_eval_memwin_busy_find(&m, w1, 1000, 100));
	assert_non_null(scpp_eval_memwin_busy_find(&m, w2, 10, 1));
	assert_int_equal(m.nbusy, SCPP_EVAL_MEMWIN_BUSY_MAX - 1);
	/* Given up and taken again: the old handle is stale. */
	assert_int_equal(scpp_eval_memwin_busy_take(&m, w1, 2000, 8, 5, &extra), 0);
	assert_int_not_equal(extra, h1);
	assert_false(scpp_eval_memwin_busy_release(&m, h1));
	assert_non_null(scpp_eval_memwin_busy_find(&m, w1, 2007, 1));
	assert_false(scpp_eval_memwin_busy_release(&m, 0));
	assert_false(scpp_eval_memwin_busy_release(&m, 31));
	assert_true(scpp_eval_memwin_busy_release(&m, extra));
	for (uint32_t i = 1; i < SCPP_EVAL_MEMWIN_BUSY_MAX; i++)
		assert_true(scpp_eval_memwin_busy_release(&m, h[i]));
	assert_int_equal(m.nbusy, 0);
	assert_null(scpp_eval_memwin_busy_find(&m, w2, 0, UINT64_MAX));
}

/* docs/COPY.md "Busy ranges", the window's owner: while another node
 * reads a range of this shard's memory window, a copy into an
 * overlapping range (a local block's, or one another node ordered) is
 * EBUSY with the range and the reader named, the window byte for byte
 * unchanged; adjacent ranges and reads of the busy one are fine; once
 * released, the same copy writes. A read another node would make that
 * found no busy range (unguarded) fails EBUSY. */
static void
test_memwin_busy_ranges_refuse_writes(void **state)
{
	struct tfx *t = *state;
	struct fx *f = t->f;
	struct scpp_eval_memwin mw;
	struct scpp_eval_memwins set;
	struct scpp_wire_memwin x = {.row = 0, .dir = SCPP_WIRE_MEMWIN_INTO, .length = 100,
				     .offset = 1016};
	struct scpp_eval_remote_memwin rm = {.cmd = 0, .n = 1, .x = &x, .sender = 2};
	uint8_t src[300], want[WLEN], got[300];
	uint32_t h;

	memwin_on(f, &mw, &set);
	x.window = mw.oid;
	memcpy(want, region, WLEN);
	fill(f, A, "src", sizeof(src), 1);
	read_bytes(f, A, "src", src, sizeof(src));
	fill(f, B, "dst", sizeof(got), 9);
	assert_reply(f, "set " P " vmas[8192u] " Y " ; set " Y " window " W " ; "
		     "set " Y " window_offset 1000u ; set " Y " length 500u",
		     "cols= rows= end=ok");
	assert_int_equal(scpp_eval_memwin_busy_take(&set, mw.oid, 1050, 20, 3, &h), 0);
	/* A local block's copy into [1016, 1116): refused, nothing written. */
	assert_reply(f, "copy offset(value(" P ", vmas[8192u]), 16) value(" A ", src) 100",
		     "cols= rows= st=EBUSY@0 end=aborted");
	assert_string_equal(fx_message(f), "copy: destination range 1016+100 of RmaWindow " W
			    " overlaps 1050+20, which node 3 is reading; nothing was written");
	assert_memory_equal(region, want, WLEN);
	assert_int_equal(mw.busy_refused, 1);
	assert_int_equal(mw.copies_in, 0);
	/* Window to window into it: refused too. */
	assert_reply(f, "copy offset(value(" P ", vmas[8192u]), 69) offset(value(" P ", vmas[8192u]), 200) 1",
		     "cols= rows= st=EBUSY@0 end=aborted");
	assert_int_equal(mw.busy_refused, 2);
	/* One another node ordered (MEMORY_WINDOW, into): refused. */
	f->env.remote_memwin = &rm;
	assert_reply(f, "copy offset(value(" P2 ", vmas[8192u]), 16) value(" A ", src) 100",
		     "cols= rows= st=EBUSY@0 end=aborted");
	assert_int_equal(mw.busy_refused, 3);
	f->env.remote_memwin = NULL;
	assert_memory_equal(region, want, WLEN);
	/* Adjacent on both sides: written. */
	assert_reply(f, "copy offset(value(" P ", vmas[8192u]), 0) value(" A ", src) 50 ; "
		     "copy offset(value(" P ", vmas[8192u]), 70) value(" A ", src) 30",
		     "cols= rows= end=ok");
	memcpy(want + 1000, src, 50);
	memcpy(want + 1070, src, 30);
	assert_memory_equal(region, want, WLEN);
	/* Reading the busy range is fine. */
	assert_reply(f, "copy value(" B ", dst) offset(value(" P ", vmas[8192u]), 40) 40",
		     "cols= rows= end=ok");
	read_bytes(f, B, "dst", got, sizeof(got));
	assert_memory_equal(got, want + 1040, 40);
	assert_int_equal(mw.busy_refused, 3);
	/* Released: the refused copy writes. */
	assert_true(scpp_eval_memwin_busy_release(&set, h));
	assert_reply(f, "copy offset(value(" P ", vmas[8192u]), 16) value(" A ", src) 100",
		     "cols= rows= end=ok");
	memcpy(want + 1016, src, 100);
	assert_memory_equal(region, want, WLEN);

	/* Out of the window for another node (its destination a value of
	 * node 2) with no busy range to guard the READ: EBUSY. */
	x.dir = SCPP_WIRE_MEMWIN_OUT;
	rm.unguarded = 1;
	f->env.remote_memwin = &rm;
	assert_reply(f, "copy offset(value(" B ", dst), 7) offset(value(" P2 ", vmas[8192u]), 16) 100",
		     "cols= rows= st=EBUSY@0 end=aborted");
	assert_string_equal(fx_message(f), "copy: RmaWindow " W " range 1016+100 cannot be guarded "
			    "for another node's read: all 16 busy ranges taken; nothing was written");
	rm.unguarded = 0;
	assert_reply(f, "copy offset(value(" B ", dst), 7) offset(value(" P2 ", vmas[8192u]), 16) 100",
		     "cols= rows= end=ok");
	read_bytes(f, B, "dst", got, sizeof(got));
	assert_memory_equal(got + 7, want + 1016, 100);
	f->env.remote_memwin = NULL;
	f->env.memwins = NULL;
}

/* docs/COPY.md "Memory windows on other nodes", the Extent's owner:
 * scpp_eval_row_copy_memwin() resolves a row's window end for a
 * MEMORY_WINDOW extension as the copy would (or says why not). */
static void
test_row_copy_memwin_resolves_the_window_end(void **state)
{
	struct tfx *t = *state;
	struct fx *f = t->f;
	struct scpp_eval_memwin mw;
	struct scpp_eval_memwins set;
	uint64_t row0 = 0;
	struct scpp_eval_rows rows = {.tab = (const uint8_t *)&row0, .n = 1, .stride = 8};
	struct scpp_wire_memwin x;

	fill(f, A, "src", 300, 1);
	assert_reply(f, "set " P " vmas[8192u] " Y " ; set " Y " window @0.3.0.1.2 ; "
		     "set " Y " window_offset 1000u ; set " Y " length 500u",
		     "cols= rows= end=ok");
	/* Into another node's window: the copy itself is refused here. */
	assert_reply(f, "copy offset(value(" P ", vmas[8192u]), 16) value(" A ", src) 100",
		     "cols= rows= st=EOPNOTSUPP@0 end=aborted");
	assert_int_equal(scpp_eval_row_copy_memwin(f->ctx, &f->env, &f->blk, 0, &rows, 0, &x), 0);
	assert_true(x.row == 0 && x.dir == SCPP_WIRE_MEMWIN_INTO && x.length == 100 &&
		    x.offset == 1016 && x.window.hi == (3ull << 16) &&
		    x.window.lo == ((1ull << 40) | 2));
	/* Out of it. */
	assert_reply(f, "copy value(" A ", src) offset(value(" P ", vmas[8192u]), 16) 100",
		     "cols= rows= st=EOPNOTSUPP@0 end=aborted");
	assert_int_equal(scpp_eval_row_copy_memwin(f->ctx, &f->env, &f->blk, 0, &rows, 0, &x), 0);
	assert_true(x.dir == SCPP_WIRE_MEMWIN_OUT && x.offset == 1016);
	/* The extent's bound, as the copy would: ERANGE (the row stays). */
	assert_reply(f, "copy offset(value(" P ", vmas[8192u]), 450) value(" A ", src) 100",
		     "cols= rows= st=ERANGE@0 end=aborted");
	assert_int_equal(scpp_eval_row_copy_memwin(f->ctx, &f->env, &f->blk, 0, &rows, 0, &x),
			 -ERANGE);
	/* This shard's own memory window: copied here. */
	memwin_on(f, &mw, &set);
	assert_reply(f, "set " Y " window " W, "cols= rows= end=ok");
	assert_reply(f, "copy offset(value(" P ", vmas[8192u]), 16) value(" A ", src) 100",
		     "cols= rows= end=ok");
	assert_int_equal(scpp_eval_row_copy_memwin(f->ctx, &f->env, &f->blk, 0, &rows, 0, &x),
			 -EOPNOTSUPP);
	f->env.memwins = NULL;
	/* No map entry, not a copy, no such row. */
	assert_reply(f, "copy value(" B ", dst) value(" A ", src) 100", "cols= rows= end=ok");
	assert_int_equal(scpp_eval_row_copy_memwin(f->ctx, &f->env, &f->blk, 0, &rows, 0, &x),
			 -EOPNOTSUPP);
	assert_int_equal(scpp_eval_row_copy_memwin(f->ctx, &f->env, &f->blk, 0, &rows, 1, &x),
			 -EINVAL);
	(void)fx_run(f, "let %v 1u ; return %v");
	assert_int_equal(scpp_eval_row_copy_memwin(f->ctx, &f->env, &f->blk, 0, &rows, 0, &x),
			 -EINVAL);
}

/* ---- asynchronous copies (scpp_eval_copier.submit) ---- */

/* A fake asynchronous engine: submit only records the copy; the bytes
 * move (save first, then the copy) when the evaluator waits for it, so
 * anything that read or wrote them before the wait would be caught. */
struct ajob {
	void *dst;
	const void *src;
	uint64_t len;
	uint8_t *save;
	int fail;
	bool waited, released;
};

struct afake {
	struct ajob job[64];
	unsigned int n, inflight, max_inflight, limit, releases, waits;
	int fail_at;            /* submission index (1-based) that fails, 0: none */
	int fail;               /* its status */
	bool save_fails;        /* it fails before its save */
	uint64_t pinned_at_wait; /* store's pinned gauge at the first wait */
	struct fx *f;
};

static int
afake_submit(void *arg, const struct scpp_eval_copy_req *rq, uint64_t *handle, void **save)
{
	struct afake *a = arg;
	struct ajob *j;

	if (a->limit != 0 && a->inflight >= a->limit)
		return -EBUSY;
	assert_true(a->n < 64);
	j = &a->job[a->n];
	*j = (struct ajob){.dst = rq->dst, .src = rq->src, .len = rq->len, .save = malloc(rq->len)};
	assert_non_null(j->save);
	if (a->fail_at != 0 && (int)a->n + 1 == a->fail_at)
		j->fail = a->fail;
	*handle = a->n++;
	*save = j->save;
	if (++a->inflight > a->max_inflight)
		a->max_inflight = a->inflight;
	return 0;
}

static int
afake_wait(void *arg, uint64_t h, struct scpp_eval_copy_done *done)
{
	struct afake *a = arg;
	struct ajob *j = &a->job[h];
	struct scpp_store_stats st;

	assert_true(h < a->n && !j->waited && !j->released);
	if (a->waits++ == 0) {
		scpp_store_stats_get(a->f->store, &st);
		a->pinned_at_wait = st.pinned;
	}
	j->waited = true;
	a->inflight--;
	done->elapsed_ns = 777;
	if (j->fail != 0 && a->save_fails) {
		done->saved = false;
		return j->fail;
	}
	memcpy(j->save, j->dst, j->len);
	done->saved = true;
	if (j->fail != 0) {
		memset(j->dst, 0xee, j->len);
		return j->fail;
	}
	memmove(j->dst, j->src, j->len);
	return 0;
}

static bool
ovl(const void *p, uint64_t n, const void *q, uint64_t m)
{
	return (uintptr_t)p < (uintptr_t)q + m && (uintptr_t)q < (uintptr_t)p + n;
}

static bool
afake_conflicts(void *arg, const void *dst, const void *src, uint64_t len)
{
	struct afake *a = arg;

	for (unsigned int i = 0; i < a->n; i++) {
		const struct ajob *j = &a->job[i];

		if (!j->waited && (ovl(dst, len, j->dst, j->len) || ovl(src, len, j->dst, j->len) ||
				   ovl(dst, len, j->src, j->len)))
			return true;
	}
	return false;
}

static bool
afake_writing(void *arg, const void *p, uint64_t len)
{
	struct afake *a = arg;

	for (unsigned int i = 0; i < a->n; i++)
		if (!a->job[i].waited && ovl(p, len, a->job[i].dst, a->job[i].len))
			return true;
	return false;
}

static void
afake_release(void *arg, uint64_t h)
{
	struct afake *a = arg;

	assert_true(h < a->n && a->job[h].waited && !a->job[h].released);
	a->job[h].released = true;
	free(a->job[h].save);
	a->releases++;
}

static struct afake *
async_on(struct tfx *t)
{
	struct afake *a = calloc(1, sizeof(*a));

	assert_non_null(a);
	a->f = t->f;
	t->cp.submit = afake_submit;
	t->cp.wait = afake_wait;
	t->cp.conflicts = afake_conflicts;
	t->cp.writing = afake_writing;
	t->cp.release = afake_release;
	t->cp.async_max_len = 1 << 20;
	return a;
}

static void
async_start(struct tfx *t, struct afake *a)
{
	t->cp.arg = a;
	/* copy() must not be used while the asynchronous path can take it. */
	t->k.calls = 0;
}

#define E0 "@0.1.0.1.50"
#define E1 "@0.1.0.1.51"
#define E2 "@0.1.0.1.52"

/* Three rows, three copies from A.src into each row's dst. */
static void
three_rows(struct fx *f, uint8_t *before)
{
	fill(f, A, "src", 300, 1);
	fill(f, E0, "dst", 300, 10);
	fill(f, E1, "dst", 300, 20);
	fill(f, E2, "dst", 300, 30);
	assert_reply(f, "set " E0 " mark 1 ; set " E1 " mark 1 ; set " E2 " mark 1",
		     "cols= rows= end=ok");
	read_bytes(f, E0, "dst", before, 300);
	read_bytes(f, E1, "dst", before + 300, 300);
	read_bytes(f, E2, "dst", before + 600, 300);
}

static void
test_async_copies_of_one_command_are_in_flight_together(void **state)
{
	struct tfx *t = *state;
	struct fx *f = t->f;
	struct afake *a = async_on(t);
	uint8_t before[900], src[300], got[300];
	struct scpp_store_stats st;

	three_rows(f, before);
	read_bytes(f, A, "src", src, sizeof(src));
	async_start(t, a);
	assert_reply(f, "get %e mark 1 ; copy value(%e, dst) value(" A ", src) 300 ; return %e",
		     "cols=e rows=[@0.1.0.1.50][@0.1.0.1.51][@0.1.0.1.52] end=ok");
	/* All three were submitted before the first was waited for, with
	 * both values of each pinned (A.src three times: one extent). */
	assert_int_equal(a->n, 3);
	assert_int_equal(a->max_inflight, 3);
	assert_int_equal(a->pinned_at_wait, 4);
	assert_int_equal(a->releases, 3);
	assert_int_equal(t->k.calls, 0);
	for (const char *const *e = (const char *const[]){E0, E1, E2, NULL}; *e; e++) {
		read_bytes(f, *e, "dst", got, sizeof(got));
		assert_memory_equal(got, src, sizeof(got));
	}
	scpp_store_stats_get(f->store, &st);
	assert_int_equal(st.pinned, 0);
	/* The next command saw the copied bytes: it ran after the wait. */
	a->n = a->max_inflight = a->releases = a->waits = 0;
	assert_reply(f, "copy value(" E0 ", dst) value(" A ", src) 300 ; "
		     "copy value(" E1 ", dst) value(" E0 ", dst) 300", "cols= rows= end=ok");
	assert_int_equal(a->max_inflight, 1);
	read_bytes(f, E1, "dst", got, sizeof(got));
	assert_memory_equal(got, src, sizeof(got));
	free(a);
}

static void
test_async_copies_that_conflict_wait_for_each_other(void **state)
{
	struct tfx *t = *state;
	struct fx *f = t->f;
	struct afake *a = async_on(t);
	uint8_t before[900], got[300];

	three_rows(f, before);
	fill(f, B, "dst", 300, 90);
	async_start(t, a);
	/* Every row writes B.dst: each copy waits for the one before. */
	assert_reply(f, "get %e mark 1 ; copy value(" B ", dst) value(%e, dst) 300 ; return",
		     "cols= rows= end=ok");
	assert_int_equal(a->n, 3);
	assert_int_equal(a->max_inflight, 1);
	read_bytes(f, B, "dst", got, sizeof(got));
	assert_memory_equal(got, before + 600, sizeof(got)); /* the last row's */
	/* The engine's bound: two at once; the third waits for the first two. */
	a->n = a->max_inflight = a->releases = 0;
	a->limit = 2;
	fill(f, A, "src", 300, 1);
	assert_reply(f, "get %e mark 1 ; copy value(%e, dst) value(" A ", src) 300 ; return",
		     "cols= rows= end=ok");
	assert_int_equal(a->n, 3);
	assert_int_equal(a->max_inflight, 2);
	assert_int_equal(t->k.calls, 0);
	free(a);
}

static void
test_async_failures_are_their_rows_and_undo_restores_every_destination(void **state)
{
	struct tfx *t = *state;
	struct fx *f = t->f;
	struct afake *a = async_on(t);
	uint8_t before[900], src[300], got[300];
	struct scpp_store_stats st;

	three_rows(f, before);
	read_bytes(f, A, "src", src, sizeof(src));
	async_start(t, a);
	/* The second row's copy fails, under a status variable: its
	 * destination is restored, the other two copied, the block goes on. */
	a->fail_at = 2;
	a->fail = -EIO;
	assert_reply(f, "get %e mark 1 ; copy value(%e, dst) value(" A ", src) 300 !%s ; "
		     "set " A " n 1 ; return %s",
		     "cols=s rows=[1u][1u][1u] st=EIO@1 end=errors");
	assert_non_null(memmem(f->reply, f->reply_len, "the fake engine failed after 777 ns",
			       strlen("the fake engine failed after 777 ns")));
	read_bytes(f, E0, "dst", got, sizeof(got));
	assert_memory_equal(got, src, sizeof(got));
	read_bytes(f, E1, "dst", got, sizeof(got));
	assert_memory_equal(got, before + 300, sizeof(got));
	read_bytes(f, E2, "dst", got, sizeof(got));
	assert_memory_equal(got, src, sizeof(got));
	/* Without a status variable the block aborts and every destination,
	 * the copied ones too, gets its old bytes back. */
	fill(f, E0, "dst", 300, 10);
	fill(f, E2, "dst", 300, 30);
	a->n = a->releases = 0;
	assert_reply(f, "get %e mark 1 ; copy value(%e, dst) value(" A ", src) 300 ; return",
		     "cols= rows= st=EIO@1 end=aborted");
	assert_int_equal(a->releases, 3);
	for (int i = 0; i < 3; i++) {
		read_bytes(f, (const char *[]){E0, E1, E2}[i], "dst", got, sizeof(got));
		assert_memory_equal(got, before + 300 * i, sizeof(got));
	}
	/* A later command fails: the copies are undone. */
	a->n = a->releases = 0;
	a->fail_at = 0;
	assert_reply(f, "get %e mark 1 ; copy value(%e, dst) value(" A ", src) 300 ; "
		     "get " A " nothing %x ; return %x", "cols=x rows= st=ENOENT@2 end=aborted");
	for (int i = 0; i < 3; i++) {
		read_bytes(f, (const char *[]){E0, E1, E2}[i], "dst", got, sizeof(got));
		assert_memory_equal(got, before + 300 * i, sizeof(got));
	}
	/* A failure before its save never wrote: nothing restored, and the
	 * undo log does not write the unsaved buffer over the value. */
	a->n = a->releases = 0;
	a->fail_at = 1;
	a->fail = -ETIMEDOUT;
	a->save_fails = true;
	assert_reply(f, "copy value(" E0 ", dst) value(" A ", src) 300 ; get " A " nothing %x",
		     "cols=x rows= st=ETIMEDOUT@0 end=aborted");
	read_bytes(f, E0, "dst", got, sizeof(got));
	assert_memory_equal(got, before, sizeof(got));
	assert_int_equal(a->releases, 1);
	scpp_store_stats_get(f->store, &st);
	assert_int_equal(st.pinned, 0);
	assert_int_equal(t->k.calls, 0);
	free(a);
}

/* A stop between commands (scpp_eval_block_ex) while a command's copies
 * are in flight: the hook is asked with them in flight; the suspension's
 * commit waits for them first, so what it commits is complete (or the
 * block aborts, undone, when one failed). */
static unsigned int hook_inflight;

static enum scpp_eval_verdict
stop_before_2(void *arg, const struct scpp_wire_block *b, uint16_t cmd, size_t nrows)
{
	(void)b;
	(void)nrows;
	if (cmd == 2)
		hook_inflight = ((struct afake *)arg)->inflight;
	return cmd == 2 ? SCPP_EVAL_SUSPEND : SCPP_EVAL_GO;
}

static int
run_stopping(struct fx *f, struct afake *a, const char *text, struct scpp_eval_susp *s)
{
	struct scpp_eval_hooks h = {.before_cmd = stop_before_2, .arg = a};
	struct scpp_lang_error err;
	struct scpp_wire_reply_writer w;
	int rc;

	assert_int_equal(scpp_lang_parse(text, strlen(text), &f->blk, f->arena, sizeof(f->arena),
					 &err), 0);
	scpp_wire_reply_writer_init(&w, f->reply, sizeof(f->reply));
	rc = scpp_eval_block_ex(f->ctx, &f->env, &f->blk, 7, &w, &f->res, &h, s);
	if (rc == 0)
		fx_summarize(f, w.len);
	return rc;
}

static void
test_async_copies_end_before_a_suspension_commits(void **state)
{
	struct tfx *t = *state;
	struct fx *f = t->f;
	struct afake *a = async_on(t);
	struct scpp_eval_susp *s = scpp_eval_susp_create(1 << 16, -1, false);
	static const char text[] = "get %e mark 1 ; copy value(%e, dst) value(" A ", src) 300 ; "
				   "set " A " n 1 ; return";
	uint8_t before[900], src[300], got[300];
	struct scpp_store_stats st;

	assert_non_null(s);
	three_rows(f, before);
	read_bytes(f, A, "src", src, sizeof(src));
	async_start(t, a);
	assert_int_equal(run_stopping(f, a, text, s), 1);
	assert_int_equal(hook_inflight, 3);    /* asked with the three in flight */
	assert_int_equal(a->inflight, 0);      /* ... and waited for before the commit */
	assert_int_equal(a->releases, 3);
	scpp_store_stats_get(f->store, &st);
	assert_int_equal(st.pinned, 0);
	for (const char *const *e = (const char *const[]){E0, E1, E2, NULL}; *e; e++) {
		read_bytes(f, *e, "dst", got, sizeof(got));
		assert_memory_equal(got, src, sizeof(got));
	}
	/* Resumed, the block ends as it would have. */
	{
		struct scpp_wire_reply_writer w;
		struct scpp_lang_error err;

		assert_int_equal(scpp_lang_parse(text, strlen(text), &f->blk, f->arena,
						 sizeof(f->arena), &err), 0);
		scpp_wire_reply_writer_init(&w, f->reply, sizeof(f->reply));
		assert_int_equal(scpp_eval_resume(f->ctx, &f->env, &f->blk, 7, &w, &f->res, NULL, s,
						  2), 0);
		assert_string_equal(fx_summarize(f, w.len), "cols= rows= end=ok");
	}
	assert_reply(f, "get " A " n %v", "cols=v rows=[1] end=ok");
	/* One fails: the stop does not happen, the block is undone. */
	fill(f, E0, "dst", 300, 10);
	fill(f, E1, "dst", 300, 20);
	fill(f, E2, "dst", 300, 30);
	a->n = a->releases = 0;
	a->fail_at = 3;
	a->fail = -EIO;
	assert_int_equal(run_stopping(f, a, text, s), 0);
	assert_string_equal(f->summary, "cols= rows= st=EIO@1 end=aborted");
	assert_false(scpp_eval_susp_active(s));
	for (int i = 0; i < 3; i++) {
		read_bytes(f, (const char *[]){E0, E1, E2}[i], "dst", got, sizeof(got));
		assert_memory_equal(got, before + 300 * i, sizeof(got));
	}
	assert_int_equal(a->releases, 3);
	scpp_eval_susp_free(s);
	free(a);
}

/* The message of the last reply's first STATUS (fx_run() keeps the reply). */
static const char *
fx_status_message(struct fx *f)
{
	static char msg[512];
	static struct scpp_wire_record rec;
	struct scpp_wire_reply_reader rd;

	msg[0] = '\0';
	scpp_wire_reply_reader_init(&rd, f->reply, f->reply_len);
	while (scpp_wire_reply_next(&rd, &rec) == 1 && msg[0] == '\0')
		for (uint16_t i = 0; rec.type == SCPP_REC_STATUS && i < rec.status.n; i++)
			if (rec.status.key[i].len == 7 && memcmp(rec.status.key[i].p, "message", 7) == 0)
				snprintf(msg, sizeof(msg), "%.*s", (int)rec.status.v[i].len,
					 (const char *)rec.status.v[i].p);
	return msg;
}

/* A hold (SCPP_EVAL_HOLD) while a command's copies are in flight: they stay
 * in flight with the held block while other blocks run; resumed, the block
 * settles them and commits; aborted instead, it waits for them and undoes
 * them. */
static bool hold_at_end;

static enum scpp_eval_verdict
hold_when_in_flight(void *arg, const struct scpp_wire_block *b, uint16_t cmd, size_t nrows)
{
	struct tfx *t = arg;
	uint64_t last = 0;

	(void)b;
	(void)nrows;
	if (cmd == b->ncmds)
		hold_at_end = true;
	return scpp_eval_copies_inflight(t->f->ctx, &last) ? SCPP_EVAL_HOLD : SCPP_EVAL_GO;
}

static void
test_async_copies_stay_in_flight_with_a_held_block(void **state)
{
	struct tfx *t = *state;
	struct fx *f = t->f;
	struct afake *a = async_on(t);
	struct scpp_eval_susp *s = scpp_eval_susp_create(1 << 16, -1, false);
	struct scpp_eval_hooks h = {.before_cmd = hold_when_in_flight, .arg = t, .at_end = true};
	static const char text[] = "get %e mark 1 ; copy value(%e, dst) value(" A ", src) 300 ; "
				   "return";
	struct scpp_wire_reply_writer w;
	struct scpp_lang_error err;
	uint8_t before[900], src[300], got[300];
	struct scpp_store_stats st;
	struct scpp_eval_stats es0, es1;

	assert_non_null(s);
	three_rows(f, before);
	read_bytes(f, A, "src", src, sizeof(src));
	async_start(t, a);
	for (int round = 0; round < 2; round++) {
		assert_int_equal(scpp_lang_parse(text, strlen(text), &f->blk, f->arena,
						 sizeof(f->arena), &err), 0);
		scpp_wire_reply_writer_init(&w, f->reply, sizeof(f->reply));
		hold_at_end = false;
		assert_int_equal(scpp_eval_block_ex(f->ctx, &f->env, &f->blk, 7, &w, &f->res, &h, s),
				 1);
		assert_true(hold_at_end);
		assert_true(scpp_eval_susp_held(s));
		/* Held at the end with its three copies in flight, still pinned. */
		assert_int_equal(a->inflight, 3);
		scpp_store_stats_get(f->store, &st);
		assert_int_equal(st.pinned, 4);
		/* Another block meanwhile: a write into a destination is refused
		 * (held), reading the source is fine. */
		assert_reply(f, "set " E1 " dst x\"00\"", "cols= rows= st=EBUSY@0 end=aborted");
		assert_reply(f, "get " A " src %v ; return", "cols= rows= end=ok");
		/* Reads of a destination are refused too (its bytes may be old,
		 * new or partly copied), by get, val() and read(), with the
		 * value's name; other attributes of the entity read fine. */
		scpp_eval_ctx_stats(f->ctx, &es0);
		assert_reply(f, "get " E1 " dst %v ; return %v", "cols=v rows= st=EBUSY@0 end=aborted");
		assert_non_null(strstr(fx_status_message(f), "get @0.1.0.1.51.dst: a parked block's copy "
					"is writing these bytes"));
		assert_reply(f, "get %e mark 1 ; get %e dst %v ; return", "cols= rows= st=EBUSY@1 "
			     "end=aborted");
		assert_reply(f, "let %h hash(val(" E2 ", dst)) ; return %h",
			     "cols=h rows= st=EBUSY@0 end=aborted");
		assert_reply(f, "let %b read(offset(value(" E0 ", dst), 290), 5) ; return %b",
			     "cols=b rows= st=EBUSY@0 end=aborted");
		assert_reply(f, "get " E1 " mark %m ; return %m", "cols=m rows=[1] end=ok");
		scpp_eval_ctx_stats(f->ctx, &es1);
		assert_int_equal(es1.busy_reads - es0.busy_reads, 4);
		assert_int_equal(a->inflight, 3);
		assert_int_equal(scpp_lang_parse(text, strlen(text), &f->blk, f->arena,
						 sizeof(f->arena), &err), 0);
		scpp_wire_reply_writer_init(&w, f->reply, sizeof(f->reply));
		if (round == 0) {
			/* Resumed: settled (the waits), committed. */
			assert_int_equal(scpp_eval_resume(f->ctx, &f->env, &f->blk, 7, &w, &f->res, &h,
							  s, f->blk.ncmds), 0);
			assert_string_equal(fx_summarize(f, w.len), "cols= rows= end=ok");
			for (const char *const *e = (const char *const[]){E0, E1, E2, NULL}; *e; e++) {
				read_bytes(f, *e, "dst", got, sizeof(got));
				assert_memory_equal(got, src, sizeof(got));
			}
			fill(f, E0, "dst", 300, 10);
			fill(f, E1, "dst", 300, 20);
			fill(f, E2, "dst", 300, 30);
		} else {
			/* Aborted (expired, say): waited for, then undone. */
			assert_int_equal(scpp_eval_resume_abort(f->ctx, &f->env, &f->blk, 7, &w, &f->res,
								s, -ETIMEDOUT, "expired"), 0);
			assert_string_equal(fx_summarize(f, w.len),
					    "cols= rows= st=ETIMEDOUT@2 end=aborted");
			for (int i = 0; i < 3; i++) {
				read_bytes(f, (const char *[]){E0, E1, E2}[i], "dst", got, sizeof(got));
				assert_memory_equal(got, before + 300 * i, sizeof(got));
			}
		}
		assert_int_equal(a->inflight, 0);
		/* Done: the destinations read again. */
		assert_reply(f, "get " E1 " dst %v ; return", "cols= rows= end=ok");
		assert_int_equal(a->releases, 3 * (unsigned int)(round + 1));
		scpp_store_stats_get(f->store, &st);
		assert_int_equal(st.pinned, 0);
		assert_false(scpp_eval_susp_active(s));
	}
	scpp_eval_susp_free(s);
	free(a);
}

/* Block flag COPY_RESULTS: a COPY record per copy command that ran, with
 * the copies that completed, their bytes, how many the engine moved and its
 * name, and the command's time; none without the flag or after an abort. */
static uint64_t fake_now;

static uint64_t
fake_clock(void)
{
	return fake_now += 1000;
}

static const char *
run_flagged(struct fx *f, const char *text, uint64_t *elapsed)
{
	struct scpp_wire_reply_writer w;
	struct scpp_wire_reply_reader rd;
	struct scpp_wire_record rec;
	struct scpp_lang_error err;

	assert_int_equal(scpp_lang_parse(text, strlen(text), &f->blk, f->arena, sizeof(f->arena),
					 &err), 0);
	f->blk.flags |= SCPP_WIRE_BF_COPY_RESULTS;
	scpp_wire_reply_writer_init(&w, f->reply, sizeof(f->reply));
	assert_int_equal(scpp_eval_block(f->ctx, &f->env, &f->blk, 7, &w, &f->res), 0);
	scpp_wire_reply_reader_init(&rd, f->reply, w.len);
	while (elapsed != NULL && scpp_wire_reply_next(&rd, &rec) == 1)
		if (rec.type == SCPP_REC_COPY)
			*elapsed++ = rec.copy.elapsed_ns;
	return fx_summarize(f, w.len);
}

static void
test_copy_results_in_the_reply(void **state)
{
	struct tfx *t = *state;
	struct fx *f = t->f;
	struct afake *a;
	uint64_t ns[4] = {0};

	f->env.clock_ns = fake_clock;
	fill(f, A, "src", 4096, 1);
	fill(f, B, "dst", 4096, 2);
	/* One copy through the engine, one on the CPU (below min_len), a
	 * where (no record) leaving no rows, a copy command over none. */
	assert_string_equal(run_flagged(f, "copy value(" B ", dst) value(" A ", src) 200 ; "
					"copy offset(value(" B ", dst), 1000) value(" A ", src) 10 ; "
					"where false ; "
					"copy value(" B ", dst) value(" A ", src) 100", ns),
			    "cols= rows= copy=0:1:200:1:fake copy=1:1:10:0: copy=3:0:0:0: end=ok");
	assert_int_equal(t->k.calls, 1);
	assert_true(ns[0] > 0 && ns[1] > 0);
	/* Without the flag: the same reply without the records. */
	assert_reply(f, "copy value(" B ", dst) value(" A ", src) 200", "cols= rows= end=ok");
	/* An abort later in the block: no records (nothing was applied). */
	assert_string_equal(run_flagged(f, "copy value(" B ", dst) value(" A ", src) 200 ; "
					"assert false 5u", NULL),
			    "cols= rows= st=EIO@1 end=aborted");
	/* Asynchronous copies, counted when they completed; a failed row
	 * (under a status variable) is not a copy. */
	fill(f, E0, "dst", 300, 10);
	fill(f, E1, "dst", 300, 20);
	fill(f, E2, "dst", 300, 30);
	assert_reply(f, "set " E0 " mark 1 ; set " E1 " mark 1 ; set " E2 " mark 1",
		     "cols= rows= end=ok");
	a = async_on(t);
	async_start(t, a);
	a->fail_at = 2;
	a->fail = -EIO;
	assert_string_equal(run_flagged(f, "get %e mark 1 ; "
					"copy value(%e, dst) value(" A ", src) 300 !%s ; return", ns),
			    "cols= rows= st=EIO@1 copy=1:2:600:2:fake end=errors");
	assert_int_equal(a->n, 3);
	assert_true(ns[0] > 0);
	t->cp.arg = &t->k;
	t->cp.submit = NULL;
	f->env.clock_ns = NULL;
	free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_copy_goes_through_the_engine_with_both_values_pinned,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_within_one_value_overlaps_like_memmove, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_copies_the_engine_does_not_take_stay_on_the_cpu,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_a_failing_engine_leaves_the_destination_as_it_was,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_an_engine_that_takes_the_undo_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pins_the_engine_keeps_outlive_the_block, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vma_addresses_are_rewritten_to_the_extent, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_async_copies_of_one_command_are_in_flight_together,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_copies_that_conflict_wait_for_each_other,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_async_failures_are_their_rows_and_undo_restores_every_destination, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_async_copies_end_before_a_suspension_commits,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_copies_stay_in_flight_with_a_held_block,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_results_in_the_reply, setup, teardown),
		cmocka_unit_test(test_memwin_busy_ranges),
		cmocka_unit_test_setup_teardown(test_memwin_busy_ranges_refuse_writes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_memwin_ends_another_node_resolved, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_row_copy_memwin_resolves_the_window_end, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_vma_addresses_that_name_a_window, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
