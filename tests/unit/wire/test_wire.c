/* SPDX-License-Identifier: BSD-3-Clause */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "scpp_test.h"
#include "scpp_common.h"
#include "scpp_value.h"
#include "scpp_wire.h"
#include "wire_test.h"

#define FALLTHROUGH __attribute__((fallthrough))

/* Blocks are ~40 KiB: keep them out of the stack. */
static struct scpp_wire_block blk, blk2;
static uint8_t buf[1 << 17], buf2[1 << 17];

/* ---- random generation ---- */

struct gen {
	uint64_t seed;
	uint8_t pool[1 << 15]; /* string and byte memory of one block/reply */
	size_t used;
};

static struct gen g;

static uint8_t *
gen_alloc(struct gen *x, size_t n)
{
	uint8_t *p;

	if (x->used + n > sizeof(x->pool))
		x->used = 0; /* old values are dead by then: pool >> one block */
	p = x->pool + x->used;
	x->used += n;
	return p;
}

/* Random UTF-8 of up to @p max bytes, mixing 1- to 4-byte characters. */
static uint32_t
gen_utf8(struct gen *x, uint8_t *p, uint32_t max)
{
	static const char *const ch[] = {"a", "Z", "_", "\x7f", "é", "ß", "€", "中",
					 "\xef\xbf\xbd", "𝄞", "\xf4\x8f\xbf\xbf"};
	uint32_t n = 0, want = (uint32_t)test_rand_below(&x->seed, max + 1);

	while (n < want) {
		const char *c = ch[test_rand_below(&x->seed, SCPP_ARRAY_SIZE(ch))];
		size_t k = strlen(c);

		if (n + k > want)
			break;
		memcpy(p + n, c, k);
		n += (uint32_t)k;
	}
	return n;
}

static struct scpp_value
gen_value(struct gen *x)
{
	uint8_t *p;
	uint32_t n;

	switch (test_rand_below(&x->seed, SCPP_VT_COUNT)) {
	case SCPP_VT_BOOL:
		return scpp_value_bool(test_rand(&x->seed) & 1);
	case SCPP_VT_I64:
		return scpp_value_i64((int64_t)test_rand(&x->seed) >>
				      test_rand_below(&x->seed, 64));
	case SCPP_VT_U64:
		return scpp_value_u64(test_rand(&x->seed) >> test_rand_below(&x->seed, 64));
	case SCPP_VT_F64: {
		struct scpp_value v = scpp_value_u64(test_rand(&x->seed));

		v.type = SCPP_VT_F64; /* any bit pattern: NaNs, -0.0, subnormals */
		return v;
	}
	case SCPP_VT_STR:
		p = gen_alloc(x, 40);
		n = gen_utf8(x, p, 40);
		return scpp_value_str((const char *)p, n);
	case SCPP_VT_BYTES:
		n = (uint32_t)test_rand_below(&x->seed, 48);
		p = gen_alloc(x, n);
		for (uint32_t i = 0; i < n; i++)
			p[i] = (uint8_t)test_rand(&x->seed);
		return scpp_value_bytes(p, n);
	case SCPP_VT_OID:
		return scpp_value_oid((struct scpp_oid){test_rand(&x->seed), test_rand(&x->seed)});
	default:
		return scpp_value_nil();
	}
}

static struct scpp_wire_name
gen_name(struct gen *x)
{
	uint8_t *p = gen_alloc(x, SCPP_WIRE_NAME_MAX);
	uint32_t n = gen_utf8(x, p, test_rand_below(&x->seed, 8) == 0 ? SCPP_WIRE_NAME_MAX : 6);

	return (struct scpp_wire_name){(const char *)p, (uint16_t)n};
}

/* Returns a term index, or a negative builder error (only TOO_MANY expected). */
static int
gen_term(struct scpp_wire_block *b, struct gen *x, unsigned int pos, unsigned int depth)
{
	uint64_t r = test_rand_below(&x->seed, 12);
	struct scpp_value v;
	int t0, t1;

	/* Sometimes reuse an earlier plain term: shared terms must encode once
	 * per use. */
	if (r == 11 && b->nterms > 0 && pos != SCPP_POS_ADDR) {
		int t = (int)test_rand_below(&x->seed, b->nterms);
		unsigned int k = b->term[t].kind;

		if (k == SCPP_TERM_VAR || (k == SCPP_TERM_CONST && pos != SCPP_POS_DEST))
			return t;
	}
	switch (pos) {
	case SCPP_POS_DEST:
		return scpp_wire_term_var(b, (unsigned int)test_rand_below(&x->seed, b->nvars));
	case SCPP_POS_EXPR:
		/* An operator (depth counts operators here), else a leaf; shallow
		 * trees (the limit itself has its own test), so that random
		 * blocks stay small enough for the every-prefix checks. */
		if (depth < 4 && r < 5) {
			unsigned int op = 1 + (unsigned int)test_rand_below(&x->seed,
									    SCPP_XOP_COUNT - 1);
			const struct scpp_wire_xop_info *xi = &scpp_wire_xops[op];
			int opd[3] = {-1, -1, -1};

			for (unsigned int i = 0; i < xi->arity; i++) {
				opd[i] = gen_term(b, x, xi->pos[i],
						  xi->pos[i] == SCPP_POS_EXPR ? depth + 1 : 0);
				if (opd[i] < 0)
					return opd[i];
			}
			return scpp_wire_term_op(b, op, opd[0], opd[1], opd[2]);
		}
		goto leaf;
	case SCPP_POS_ADDR:
		if (depth + 1 < SCPP_WIRE_NEST_MAX && r < 5) {
			t0 = gen_term(b, x, SCPP_POS_ADDR, depth + 1);
			if (t0 < 0)
				return t0;
			t1 = gen_term(b, x, SCPP_POS_VAL, depth);
			return t1 < 0 ? t1 : scpp_wire_term_offset(b, t0, t1);
		}
		t0 = gen_term(b, x, SCPP_POS_ENT, depth);
		if (t0 < 0)
			return t0;
		t1 = gen_term(b, x, SCPP_POS_ATTR, depth);
		return t1 < 0 ? t1 : scpp_wire_term_value(b, t0, t1);
	case SCPP_POS_ATTR:
		if (r < 3) {
			t0 = gen_term(b, x, SCPP_POS_VAL, depth);
			if (t0 < 0)
				return t0;
			t1 = gen_term(b, x, SCPP_POS_VAL, depth);
			return t1 < 0 ? t1 : scpp_wire_term_key(b, t0, t1);
		}
		FALLTHROUGH;
	default:
	leaf:
		if (b->nvars > 0 && r < 7)
			return scpp_wire_term_var(b, (unsigned int)test_rand_below(&x->seed,
										  b->nvars));
		v = gen_value(x);
		return scpp_wire_term_const(b, &v);
	}
}

/* Build a random valid block through the builder API. */
static void
gen_block(struct scpp_wire_block *b, struct gen *x)
{
	unsigned int nvars = (unsigned int)test_rand_below(&x->seed, 8);
	unsigned int ncmds = (unsigned int)test_rand_below(&x->seed, 10);

	if (test_rand_below(&x->seed, 64) == 0) {
		nvars = SCPP_WIRE_VARS_MAX;
		ncmds = (unsigned int)test_rand_below(&x->seed, SCPP_WIRE_CMDS_MAX + 1);
	}
	scpp_wire_block_init(b);
	for (unsigned int i = 0; i < nvars; i++) {
		struct scpp_wire_name nm = gen_name(x);

		assert_int_equal(scpp_wire_block_var(b, nm.p, nm.len), (int)i);
	}
	for (unsigned int i = 0; i < nvars; i++)
		if (test_rand(&x->seed) & 1)
			assert_int_equal(scpp_wire_block_ret(b, i), 0);
	for (unsigned int i = 0; i < ncmds; i++) {
		unsigned int op = 1 + (unsigned int)test_rand_below(&x->seed, SCPP_OP_COUNT - 1);
		int t[3] = {0, 0, 0}, sv = -1, rc;

		if (nvars == 0 && (op == SCPP_OP_CREATE || op == SCPP_OP_LET))
			op = SCPP_OP_GET;
		for (unsigned int k = 0; k < scpp_wire_op_nterms[op]; k++) {
			t[k] = gen_term(b, x, scpp_wire_op_pos[op][k], 0);
			if (t[k] < 0) {
				assert_int_equal(t[k], -SCPP_E_TOO_MANY);
				return;
			}
		}
		if (nvars > 0 && test_rand_below(&x->seed, 3) == 0)
			sv = (int)test_rand_below(&x->seed, nvars);
		rc = scpp_wire_block_cmd(b, op, t[0], t[1], t[2], sv);
		if (rc == -SCPP_E_TOO_MANY)
			return;
		assert_int_equal(rc, (int)i);
		if (test_rand_below(&x->seed, 5) == 0) {
			int gt = gen_term(b, x, SCPP_POS_EXPR, 0);

			if (gt < 0) {
				assert_int_equal(gt, -SCPP_E_TOO_MANY);
				return;
			}
			rc = scpp_wire_block_guard(b, i, gt);
			if (rc == -SCPP_E_TOO_MANY)
				return;
			assert_int_equal(rc, 0);
		}
	}
}

static void
test_wire_block_round_trips_random_blocks(void **state)
{
	uint32_t off;
	(void)state;

	g.seed = 0x5eed0001;
	for (int i = 0; i < 100000; i++) {
		size_t want;
		int n;

		gen_block(&blk, &g);
		want = scpp_wire_block_encoded_size(&blk);
		n = scpp_wire_block_encode(&blk, buf, sizeof(buf));
		assert_int_equal(n, (int)want);
		off = 12345;
		assert_int_equal(scpp_wire_block_decode(buf, (size_t)n, &blk2, &off), 0);
		assert_int_equal(off, 12345); /* untouched on success */
		assert_true(scpp_wire_block_equal(&blk, &blk2));
		assert_true(scpp_wire_block_equal(&blk2, &blk));
		/* Canonical: the decoded block re-encodes to the same bytes. */
		assert_int_equal(scpp_wire_block_encode(&blk2, buf2, sizeof(buf2)), n);
		assert_memory_equal(buf, buf2, (size_t)n);
		/* One byte short of the encoding is a short buffer. */
		assert_int_equal(scpp_wire_block_encode(&blk, buf2, (size_t)n - 1), -ENOSPC);
		/* Every proper prefix is truncated (sampled: quadratic). */
		if (i % 64 == 0)
			for (int cut = 0; cut < n; cut++)
				assert_int_equal(scpp_wire_block_decode(buf, (size_t)cut, &blk2,
									NULL),
						 -SCPP_E_TRUNCATED);
	}
}

/*
 * A block biased towards the shapes the decoder's fast paths take (short
 * ASCII variable names; `op E "attr" %v` and `op E "attr" const` with
 * attribute names repeated, of every length around the 16-byte limit,
 * sometimes not ASCII), mixed with random commands.
 */
static void
gen_fast_block(struct scpp_wire_block *b, struct gen *x)
{
	static const char *const attrs[] = {"size", "size", "v", "name", "0123456789abcdef",
					    "0123456789abcdefg", "12345678", "1234567", "",
					    "\xc3\xa9t\xc3\xa9"};
	static const unsigned int eav_ops[] = {SCPP_OP_GET, SCPP_OP_SET, SCPP_OP_ALLOC};
	unsigned int nvars = 1 + (unsigned int)test_rand_below(&x->seed, 20);
	unsigned int ncmds = 1 + (unsigned int)test_rand_below(&x->seed, 30);
	/* A third of the blocks start with the decoder's get run (get_run()):
	 * gets of one attribute into fresh variables, until a command that
	 * ends it (another name, often of the same length, a variable again,
	 * another op, a constant value). */
	unsigned int run = test_rand_below(&x->seed, 3) == 0 ? 1 + (unsigned int)test_rand_below(&x->seed, nvars) : 0;
	const char *run_attr = attrs[test_rand_below(&x->seed, SCPP_ARRAY_SIZE(attrs))];

	scpp_wire_block_init(b);
	for (unsigned int i = 0; i < nvars; i++) {
		struct scpp_wire_name nm = gen_name(x);
		char *p = (char *)gen_alloc(x, 16);

		if (test_rand_below(&x->seed, 4) != 0) {
			snprintf(p, 16, "v%u", i % 100);
			nm.p = p;
			nm.len = (uint16_t)strlen(p);
		}
		assert_int_equal(scpp_wire_block_var(b, nm.p, nm.len), (int)i);
	}
	for (unsigned int i = 0; i < nvars; i++)
		if (test_rand_below(&x->seed, 4) != 0)
			assert_int_equal(scpp_wire_block_ret(b, i), 0);
	for (unsigned int i = 0; i < ncmds; i++) {
		int t[3] = {0, 0, 0}, rc;
		unsigned int op;

		if (i < run || (i == run && run > 0 && test_rand_below(&x->seed, 2) == 0)) {
			static const char *const near[] = {"sizf", "tize", "sixe", "size0", "siz",
							   "0123456789abcdeF", "1234567"};
			struct scpp_value e = scpp_value_oid(
				(struct scpp_oid){0x1000100 + (i & 1), 0xa500000000000000u | i});
			struct scpp_value nm = scpp_value_cstr(
				i < run ? run_attr : near[test_rand_below(&x->seed, SCPP_ARRAY_SIZE(near))]);
			/* Fresh variables in the run, mostly in order; after it
			 * sometimes one of the run's again. */
			unsigned int v = i < run ? (i * 7 + run) % nvars : (unsigned int)test_rand_below(&x->seed, nvars);

			op = SCPP_OP_GET;
			t[0] = scpp_wire_term_const(b, &e);
			t[1] = scpp_wire_term_const(b, &nm);
			t[2] = scpp_wire_term_var(b, v);
			if (t[0] < 0 || t[1] < 0 || t[2] < 0)
				return;
			if ((rc = scpp_wire_block_cmd(b, op, t[0], t[1], t[2], -1)) == -SCPP_E_TOO_MANY)
				return;
			assert_int_equal(rc, (int)i);
			continue;
		}
		if (test_rand_below(&x->seed, 4) == 0) {
			op = 1 + (unsigned int)test_rand_below(&x->seed, SCPP_OP_COUNT - 1);
			for (unsigned int k = 0; k < scpp_wire_op_nterms[op]; k++)
				if ((t[k] = gen_term(b, x, scpp_wire_op_pos[op][k], 0)) < 0)
					return;
		} else {
			const char *a = attrs[test_rand_below(&x->seed, SCPP_ARRAY_SIZE(attrs))];
			struct scpp_value e = scpp_value_oid((struct scpp_oid){0x1000100, i});
			struct scpp_value nm = scpp_value_cstr(a);

			op = eav_ops[test_rand_below(&x->seed, 3)];
			t[0] = scpp_wire_term_const(b, &e);
			t[1] = scpp_wire_term_const(b, &nm);
			if (test_rand(&x->seed) & 1) {
				t[2] = scpp_wire_term_var(b, (unsigned int)test_rand_below(&x->seed,
											   nvars));
			} else {
				struct scpp_value v = gen_value(x);

				t[2] = scpp_wire_term_const(b, &v);
			}
			if (t[0] < 0 || t[1] < 0 || t[2] < 0)
				return;
		}
		rc = scpp_wire_block_cmd(b, op, t[0], t[1], t[2],
					 test_rand_below(&x->seed, 8) == 0 ? 0 : -1);
		if (rc == -SCPP_E_TOO_MANY)
			return;
		assert_int_equal(rc, (int)i);
	}
}

/* Commands that get_run() must take from the start of @p b (decoded the
 * general way): gets of a constant OID, of one 1..16-byte ASCII name,
 * into variables of their own, with no flags. */
static unsigned int
expected_get_run(const struct scpp_wire_block *b, uint64_t *vars)
{
	const struct scpp_value *name0 = NULL;
	unsigned int k;

	*vars = 0;
	for (k = 0; k < b->ncmds; k++) {
		const struct scpp_wire_cmd *c = &b->cmd[k];
		const struct scpp_wire_term *te = &b->term[c->term[0]], *ta = &b->term[c->term[1]],
					    *tv = &b->term[c->term[2]];
		bool ascii = true;

		if (c->op != SCPP_OP_GET || c->flags != 0 || te->kind != SCPP_TERM_CONST ||
		    te->value.type != SCPP_VT_OID || ta->kind != SCPP_TERM_CONST ||
		    ta->value.type != SCPP_VT_STR || ta->value.len == 0 || ta->value.len > 16 ||
		    tv->kind != SCPP_TERM_VAR || ((*vars >> tv->var) & 1))
			break;
		for (uint32_t j = 0; j < ta->value.len; j++)
			ascii &= ((const uint8_t *)ta->value.p)[j] < 0x80;
		if (!ascii || (name0 != NULL && !scpp_value_eq(name0, &ta->value)))
			break;
		name0 = &ta->value;
		*vars |= UINT64_C(1) << tv->var;
	}
	return k;
}

static unsigned long long run_cmds_seen, split_cmds_seen, owner_run_seen, owner_fast_seen;

/* The daemon's sequence (head, owner lookup, rest) over @p n bytes with the
 * decoder's fast paths set to @p fast: each step's verdict and error
 * offset, the owner, and where the owner lookup stopped. */
struct owner_way {
	int rc_begin, rc_owner, rc_rest;
	uint32_t off_begin, off_owner, off_rest;
	struct scpp_oid owner;
	unsigned int stop;
};

static void
owner_way(const uint8_t *p, size_t n, bool fast, struct scpp_wire_block *b, struct owner_way *w)
{
	struct scpp_wire_block_cursor bc;

	memset(w, 0, sizeof(*w));
	scpp_wire_decode_fast(fast);
	w->rc_begin = scpp_wire_block_decode_begin(&bc, p, n, b, &w->off_begin);
	if (w->rc_begin == 0) {
		w->rc_owner = scpp_wire_block_decode_owner(&bc, b, &w->owner, &w->off_owner);
		w->stop = b->ncmds;
		if (w->rc_owner >= 0)
			w->rc_rest = scpp_wire_block_decode_rest(&bc, b, &w->off_rest);
	}
	scpp_wire_decode_fast(true);
}

/* The owner lookup's fast paths (cmd_fast() commands, a get run) find the
 * owner the general decoder finds, fail where and how it fails, and leave
 * the same block; a block of one command stops at the same place too. */
static void
owner_both_ways(const uint8_t *p, size_t n)
{
	static struct scpp_wire_block bf, bg;
	struct owner_way f, gw;

	owner_way(p, n, true, &bf, &f);
	owner_way(p, n, false, &bg, &gw);
	assert_int_equal(f.rc_begin, gw.rc_begin);
	assert_int_equal(f.off_begin, gw.off_begin);
	if (f.rc_begin != 0)
		return;
	assert_int_equal(f.rc_owner, gw.rc_owner);
	if (f.rc_owner < 0) {
		assert_int_equal(f.off_owner, gw.off_owner);
		return;
	}
	if (f.rc_owner == 1)
		assert_true(scpp_oid_eq(f.owner, gw.owner));
	if (bg.ncmds == 1)
		assert_int_equal(f.stop, gw.stop);
	owner_fast_seen += f.rc_owner == 1 && bf.ncmds == 1 && bf.cmd[0].shape == SCPP_WIRE_SHAPE_EAV;
	assert_int_equal(f.rc_rest, gw.rc_rest);
	if (f.rc_rest < 0) {
		assert_int_equal(f.off_rest, gw.off_rest);
		return;
	}
	assert_true(scpp_wire_block_equal(&bf, &bg));
}

/* Decode @p n bytes with the decoder's fast paths on and off: the same
 * verdict, offset, block (fields an evaluator reads included), and the
 * get run the fast decoder promises (struct scpp_wire_block, get_run). */
static void
decode_both_ways(const uint8_t *p, size_t n)
{
	uint32_t off1 = 7, off2 = 7;
	int rc1, rc2;

	scpp_wire_decode_fast(true);
	rc1 = scpp_wire_block_decode(p, n, &blk, &off1);
	scpp_wire_decode_fast(false);
	rc2 = scpp_wire_block_decode(p, n, &blk2, &off2);
	scpp_wire_decode_fast(true);
	assert_int_equal(rc1, rc2);
	assert_int_equal(off1, off2);
	owner_both_ways(p, n);
	if (rc1 != 0)
		return;
	assert_true(scpp_wire_block_equal(&blk, &blk2));
	assert_int_equal(blk.ret_all, blk2.ret_all);
	assert_int_equal(blk.status_vars, blk2.status_vars);
	assert_int_equal(blk.names_raw_len, blk2.names_raw_len);
	assert_ptr_equal(blk.names_raw, blk2.names_raw);
	for (unsigned int i = 0; i < blk.ncmds; i++)
		assert_int_equal(blk.cmd[i].shape, blk2.cmd[i].shape);
	{
		uint64_t vars;
		unsigned int k = expected_get_run(&blk2, &vars);

		assert_int_equal(blk2.get_run, 0); /* the general decoder promises nothing */
		assert_int_equal(blk.get_run, k);
		assert_int_equal(blk.get_run_vars, vars);
		for (unsigned int i = 0; i < k; i++) {
			assert_int_equal(blk.cmd[i].term[0], 3 * i);
			assert_int_equal(blk.cmd[i].term[1], 3 * i + 1);
			assert_int_equal(blk.cmd[i].term[2], 3 * i + 2);
			assert_ptr_equal(blk.term[3 * i + 1].value.p, blk.term[1].value.p);
		}
		run_cmds_seen += k;
		/* The daemon's way: the head, the commands up to the first
		 * one naming an owner one by one, then the rest. The same
		 * block and the same run (its first commands decoded before
		 * get_run() saw them). */
		{
			struct scpp_wire_block_cursor bc;
			struct scpp_oid ow;
			uint32_t o3 = 0;
			int rc3;

			assert_int_equal(scpp_wire_block_decode_begin(&bc, p, n, &blk2, &o3), 0);
			unsigned int before;

			rc3 = scpp_wire_block_decode_owner(&bc, &blk2, &ow, &o3);
			assert_true(rc3 >= 0);
			before = blk2.ncmds;
			owner_run_seen += k > 0 && blk.ncmds > 1;
			assert_int_equal(scpp_wire_block_decode_rest(&bc, &blk2, &o3), 0);
			assert_true(scpp_wire_block_equal(&blk, &blk2));
			/* The owner lookup decodes a leading run whole (a block
			 * of one command one by one: no run then). */
			assert_int_equal(blk2.get_run, blk.ncmds > 1 ? k : 0);
			assert_true(k == 0 || blk.ncmds == 1 || before >= k);
			for (unsigned int i = 0; i < blk2.get_run; i++)
				assert_ptr_equal(blk2.term[3 * i + 1].value.p, blk2.term[1].value.p);
			if (blk2.get_run > 0)
				assert_int_equal(blk2.get_run_vars, vars);
		}
		/* One command decoded alone first (scpp_wire_block_decode_next()),
		 * then the rest: the run starts with it all the same. */
		if (blk.ncmds > 1) {
			struct scpp_wire_block_cursor bc;
			uint32_t o3 = 0;

			assert_int_equal(scpp_wire_block_decode_begin(&bc, p, n, &blk2, &o3), 0);
			assert_int_equal(scpp_wire_block_decode_next(&bc, &blk2, &o3), 1);
			split_cmds_seen += k > 1;
			assert_int_equal(scpp_wire_block_decode_rest(&bc, &blk2, &o3), 0);
			assert_true(scpp_wire_block_equal(&blk, &blk2));
			assert_int_equal(blk2.get_run, k);
			for (unsigned int i = 0; i < blk2.get_run; i++)
				assert_ptr_equal(blk2.term[3 * i + 1].value.p, blk2.term[1].value.p);
			if (blk2.get_run > 0)
				assert_int_equal(blk2.get_run_vars, vars);
		}
	}
	assert_int_equal(scpp_wire_block_encode(&blk, buf2, sizeof(buf2)), (int)n);
	assert_memory_equal(p, buf2, n);
}

static void
test_wire_block_fast_decode_agrees_with_general(void **state)
{
	static uint8_t mut[1 << 17];
	unsigned int shaped = 0;
	(void)state;

	g.seed = 0x5eed0f00;
	for (int i = 0; i < 20000; i++) {
		int n;

		gen_fast_block(&blk, &g);
		n = scpp_wire_block_encode(&blk, buf, sizeof(buf));
		assert_true(n > 0);
		decode_both_ways(buf, (size_t)n);
		scpp_wire_decode_fast(true);
		assert_int_equal(scpp_wire_block_decode(buf, (size_t)n, &blk, NULL), 0);
		for (unsigned int c = 0; c < blk.ncmds; c++)
			shaped += blk.cmd[c].shape == SCPP_WIRE_SHAPE_EAV;
		/* Broken copies: a byte or two changed, or cut short. */
		for (int m = 0; m < 8; m++) {
			size_t len = (size_t)n;

			memcpy(mut, buf, len);
			if (m == 7) {
				len = (size_t)test_rand_below(&g.seed, len);
			} else {
				for (int k = 0; k <= m % 2; k++)
					mut[test_rand_below(&g.seed, len)] ^=
						(uint8_t)(1u << test_rand_below(&g.seed, 8));
			}
			decode_both_ways(mut, len);
		}
	}
	/* The biased blocks did reach the fast shape, and the get run. */
	assert_true(shaped > 50000);
	assert_true(run_cmds_seen > 20000);
	/* ... runs whose first command was decoded alone before, and runs the
	 * owner lookup decoded whole. */
	assert_true(split_cmds_seen > 1000);
	assert_true(owner_run_seen > 1000);
	/* ... and blocks of one get whose owner the fast lookup found. */
	assert_true(owner_fast_seen > 100);
}

static void
test_wire_block_equal_notices_each_difference(void **state)
{
	struct scpp_value one = scpp_value_i64(1), two = scpp_value_i64(2);
	int e, a, v;
	(void)state;

	scpp_wire_block_init(&blk);
	scpp_wire_block_var(&blk, "x", 1);
	e = scpp_wire_term_const(&blk, &one);
	a = scpp_wire_term_const(&blk, &two);
	v = scpp_wire_term_var(&blk, 0);
	scpp_wire_block_cmd(&blk, SCPP_OP_GET, e, a, v, -1);
	blk2 = blk;
	assert_true(scpp_wire_block_equal(&blk, &blk2));
	blk2.term[e].value = two;
	assert_false(scpp_wire_block_equal(&blk, &blk2));
	blk2 = blk;
	blk2.var_name[0].p = "y";
	assert_false(scpp_wire_block_equal(&blk, &blk2));
	blk2 = blk;
	blk2.cmd[0].op = SCPP_OP_SET;
	assert_false(scpp_wire_block_equal(&blk, &blk2));
	blk2 = blk;
	blk2.cmd[0].flags = SCPP_WIRE_CF_STATUS;
	assert_false(scpp_wire_block_equal(&blk, &blk2));
	blk2 = blk;
	scpp_wire_block_ret(&blk2, 0);
	assert_false(scpp_wire_block_equal(&blk, &blk2));
	/* Equality is structural: the same tree at other indexes is equal. */
	blk2 = blk;
	e = scpp_wire_term_const(&blk2, &one);
	blk2.cmd[0].term[0] = (uint16_t)e;
	assert_true(scpp_wire_block_equal(&blk, &blk2));
}

/* ---- the worked example of docs/PROTOCOL.md ---- */

/* `get @0.1.0.1.2a name %1 ; set @0.1.0.1.2b name %1`, returning %1. */
static void
build_example(struct scpp_wire_block *b)
{
	struct scpp_value a = scpp_value_oid(scpp_oid_make(0, 1, 0, 1, 0x2a));
	struct scpp_value c = scpp_value_oid(scpp_oid_make(0, 1, 0, 1, 0x2b));
	struct scpp_value name = scpp_value_cstr("name");
	int v, t0, t1, t2;

	scpp_wire_block_init(b);
	v = scpp_wire_block_var(b, "1", 1);
	assert_int_equal(scpp_wire_block_ret(b, (unsigned int)v), 0);
	t0 = scpp_wire_term_const(b, &a);
	t1 = scpp_wire_term_const(b, &name);
	t2 = scpp_wire_term_var(b, (unsigned int)v);
	assert_int_equal(scpp_wire_block_cmd(b, SCPP_OP_GET, t0, t1, t2, -1), 0);
	t0 = scpp_wire_term_const(b, &c);
	assert_int_equal(scpp_wire_block_cmd(b, SCPP_OP_SET, t0, t1, t2, -1), 1);
}

static void
test_wire_block_example_encodes_to_documented_bytes(void **state)
{
	static const uint8_t want[] = {
		0x00, 0x01, 0x01, '1', 0x01, 0x00, 0x02,
		0x01, 0x00,
		0x01, 0x07, 0, 0, 1, 0, 0, 0, 0, 0, 0x2a, 0, 0, 0, 0, 1, 0, 0,
		0x01, 0x05, 0x04, 'n', 'a', 'm', 'e',
		0x02, 0x00,
		0x02, 0x00,
		0x01, 0x07, 0, 0, 1, 0, 0, 0, 0, 0, 0x2b, 0, 0, 0, 0, 1, 0, 0,
		0x01, 0x05, 0x04, 'n', 'a', 'm', 'e',
		0x02, 0x00,
	};
	int n;
	(void)state;

	build_example(&blk);
	n = scpp_wire_block_encode(&blk, buf, sizeof(buf));
	assert_int_equal(n, (int)sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
}

/* ---- datagram headers ---- */

/* Write header fields verbatim (no checks), for malformed-input tests. */
static size_t
raw_dgram(uint8_t *d, uint8_t kind, uint8_t flags, uint8_t tag_len, uint16_t payload_len,
	  uint32_t idx, uint32_t count, size_t total)
{
	memset(d, 0, total);
	d[0] = 'S';
	d[1] = 'C';
	d[2] = 1;
	d[3] = kind;
	d[4] = flags;
	d[5] = tag_len;
	d[6] = (uint8_t)payload_len;
	d[7] = (uint8_t)(payload_len >> 8);
	for (int i = 0; i < 8; i++) {
		d[8 + i] = (uint8_t)(0x1122334455667788ull >> (8 * i));
		d[16 + i] = (uint8_t)(0x99aabbccddeeff00ull >> (8 * i));
	}
	for (int i = 0; i < 4; i++) {
		d[24 + i] = (uint8_t)(idx >> (8 * i));
		d[28 + i] = (uint8_t)(count >> (8 * i));
	}
	return total;
}

struct hcase {
	const char *name;
	uint8_t kind, flags, tag_len;
	uint16_t payload_len;
	uint32_t idx, count;
	int extra;      /* datagram length minus 32 + payload_len + tag_len */
	int patch_at;   /* -1, or a byte to overwrite with patch */
	uint8_t patch;
	int rc;
};

static void
test_wire_hdr_decode_rejects_each_malformation(void **state)
{
	static const struct hcase cases[] = {
		{"valid block", 1, 1, 16, 4, 0, 1, 0, -1, 0, 0},
		{"valid reply", 2, 0, 16, 4, 7, 0, 0, -1, 0, 0},
		{"valid last fragment of 64", 1, 1, 0, 4, 63, 64, 0, -1, 0, 0},
		{"valid 32-byte tag", 1, 1, 32, 4, 0, 1, 0, -1, 0, 0},
		{"bad magic 0", 1, 1, 16, 4, 0, 1, 0, 0, 'X', -SCPP_E_BAD_MAGIC},
		{"bad magic 1", 1, 1, 16, 4, 0, 1, 0, 1, 'c', -SCPP_E_BAD_MAGIC},
		{"version 0", 1, 1, 16, 4, 0, 1, 0, 2, 0, -SCPP_E_BAD_VERSION},
		{"version 2", 1, 1, 16, 4, 0, 1, 0, 2, 2, -SCPP_E_BAD_VERSION},
		{"valid block with a cookie", 1, 3, 16, 4, 0, 1, 0, -1, 0, 0},
		{"valid fetch", 3, 1, 0, 25, 0, 1, 0, -1, 0, 0},
		{"valid fetch with a cookie", 3, 3, 8, 25, 0, 1, 0, -1, 0, 0},
		{"valid notice", 4, 1, 0, 12, 0, 0, 0, -1, 0, 0},
		{"kind 0", 0, 1, 16, 4, 0, 1, 0, -1, 0, -SCPP_E_BAD_KIND},
		{"valid cont reply (kind 7)", 7, 1, 0, 16, 0, 1, 0, -1, 0, 0},
		{"kind 16", 16, 1, 16, 4, 0, 1, 0, -1, 0, -SCPP_E_BAD_KIND},
		{"valid hello (kind 8)", 8, 1, 0, 256, 0, 1, 0, -1, 0, 0},
		{"valid finish fragment (kind 10)", 10, 0, 0, 64, 0, 3, 0, -1, 0, 0},
		{"valid kind 15", 15, 1, 0, 4, 0, 1, 0, -1, 0, 0},
		{"kind 8 without a count", 8, 1, 0, 256, 0, 0, 0, -1, 0, -SCPP_E_BAD_FRAGMENT},
		{"valid session block", 1, 0x21, 24, 4, 0, 1, 0, -1, 0, 0},
		{"valid session reply", 2, 0x21, 24, 4, 3, 0, 0, -1, 0, 0},
		{"valid session close", 13, 0x21, 24, 8, 0, 1, 0, -1, 0, 0},
		{"session with tag_len 16", 1, 0x21, 16, 4, 0, 1, 0, -1, 0, -SCPP_E_BAD_FLAGS},
		{"session with no tag", 1, 0x21, 0, 4, 0, 1, 0, -1, 0, -SCPP_E_BAD_FLAGS},
		{"reserved flag bit 6", 1, 0x61, 24, 4, 0, 1, 0, -1, 0, -SCPP_E_BAD_FLAGS},
		{"reserved flag bit 4", 1, 0x11, 16, 4, 0, 1, 0, -1, 0, -SCPP_E_BAD_FLAGS},
		{"valid cont (kind 6)", 6, 1, 0, 52, 0, 1, 0, -1, 0, 0},
		{"valid cont fragment", 6, 0, 0, 52, 2, 4, 0, -1, 0, 0},
		{"cont with a cookie flag", 6, 3, 0, 52, 0, 1, 0, -1, 0, -SCPP_E_BAD_FLAGS},
		{"cont reply with the session flag", 7, 0x21, 24, 16, 0, 1, 0, -1, 0,
		 -SCPP_E_BAD_FLAGS},
		{"cont without a count", 6, 1, 0, 52, 0, 0, 0, -1, 0, -SCPP_E_BAD_FRAGMENT},
		{"cont reply of 65 fragments", 7, 0, 0, 16, 0, 65, 0, -1, 0, -SCPP_E_BAD_FRAGMENT},
		{"valid forward", 5, 1, 0, 44, 0, 1, 0, -1, 0, 0},
		{"valid forward fragment", 5, 0, 0, 44, 0, 2, 0, -1, 0, 0},
		{"forward with a cookie flag", 5, 3, 0, 44, 0, 1, 0, -1, 0, -SCPP_E_BAD_FLAGS},
		{"forward with the session flag", 5, 0x21, 24, 44, 0, 1, 0, -1, 0, -SCPP_E_BAD_FLAGS},
		{"forward of 65 fragments", 5, 0, 0, 44, 0, 65, 0, -1, 0, -SCPP_E_BAD_FRAGMENT},
		{"reserved flag bit 2", 1, 5, 16, 4, 0, 1, 0, -1, 0, -SCPP_E_BAD_FLAGS},
		{"reserved flag bit 7", 2, 0x80, 16, 4, 0, 0, 0, -1, 0, -SCPP_E_BAD_FLAGS},
		{"cookie on a reply", 2, 3, 0, 4, 0, 0, 0, -1, 0, -SCPP_E_BAD_FLAGS},
		{"cookie on a notice", 4, 3, 0, 12, 0, 0, 0, -1, 0, -SCPP_E_BAD_FLAGS},
		{"fetch of two fragments", 3, 0, 0, 25, 0, 2, 0, -1, 0, -SCPP_E_BAD_FRAGMENT},
		{"fetch with count 0", 3, 1, 0, 25, 0, 0, 0, -1, 0, -SCPP_E_BAD_FRAGMENT},
		{"fetch without LAST", 3, 0, 0, 25, 0, 1, 0, -1, 0, -SCPP_E_BAD_FLAGS},
		{"notice with an index", 4, 1, 0, 12, 1, 0, 0, -1, 0, -SCPP_E_BAD_FRAGMENT},
		{"notice with a count", 4, 1, 0, 12, 0, 1, 0, -1, 0, -SCPP_E_BAD_FRAGMENT},
		{"notice without LAST", 4, 0, 0, 12, 0, 0, 0, -1, 0, -SCPP_E_BAD_FLAGS},
		{"cookie past the end", 1, 3, 0, 4, 0, 1, -1, -1, 0, -SCPP_E_TRUNCATED},
		{"tag_len 33", 1, 1, 33, 4, 0, 1, 0, -1, 0, -SCPP_E_BAD_FLAGS},
		{"last fragment without LAST", 1, 0, 16, 4, 0, 1, 0, -1, 0, -SCPP_E_BAD_FLAGS},
		{"LAST on a middle fragment", 1, 1, 16, 4, 0, 2, 0, -1, 0, -SCPP_E_BAD_FLAGS},
		{"frag_count 0", 1, 1, 16, 4, 0, 0, 0, -1, 0, -SCPP_E_BAD_FRAGMENT},
		{"frag_count 65", 1, 1, 16, 4, 64, 65, 0, -1, 0, -SCPP_E_BAD_FRAGMENT},
		{"frag_index == frag_count", 1, 1, 16, 4, 1, 1, 0, -1, 0, -SCPP_E_BAD_FRAGMENT},
		{"reply with a count", 2, 1, 16, 4, 0, 1, 0, -1, 0, -SCPP_E_BAD_FRAGMENT},
		{"payload_len past the end", 1, 1, 16, 4, 0, 1, -1, -1, 0, -SCPP_E_TRUNCATED},
		{"bytes after the tag", 1, 1, 16, 4, 0, 1, 1, -1, 0, -SCPP_E_BAD_LENGTH},
		{"over the UDP maximum", 2, 1, 32, 65535, 0, 0, 0, -1, 0, -SCPP_E_BAD_LENGTH},
	};
	static uint8_t d[70000];
	struct scpp_wire_hdr h;
	(void)state;

	for (size_t i = 0; i < SCPP_ARRAY_SIZE(cases); i++) {
		const struct hcase *c = &cases[i];
		size_t ck = (c->flags & SCPP_WIRE_F_COOKIE) ? SCPP_WIRE_COOKIE_LEN : 0;
		size_t total = 32 + (size_t)c->payload_len + ck + c->tag_len + (size_t)c->extra;
		int rc;

		raw_dgram(d, c->kind, c->flags, c->tag_len, c->payload_len, c->idx, c->count,
			  total);
		if (c->patch_at >= 0)
			d[c->patch_at] = c->patch;
		rc = scpp_wire_hdr_decode(d, total, &h);
		if (rc != c->rc)
			fail_msg("%s: got %d (%s), want %d", c->name, rc, scpp_strerror(rc), c->rc);
		if (rc == 0) {
			assert_int_equal(h.kind, c->kind);
			assert_int_equal(h.tag_len, c->tag_len);
			assert_int_equal(h.payload_len, c->payload_len);
			assert_true(h.client_id == 0x1122334455667788ull);
			assert_true(h.block_id == 0x99aabbccddeeff00ull);
			assert_int_equal(h.frag_index, c->idx);
			assert_int_equal(h.frag_count, c->count);
			assert_ptr_equal(h.payload, d + 32);
			assert_ptr_equal(h.cookie, ck ? d + 32 + c->payload_len : NULL);
			assert_ptr_equal(h.tag, d + 32 + c->payload_len + ck);
			assert_int_equal(scpp_wire_dgram_len(&h), total);
			/* The encoder accepts exactly what the decoder accepts. */
			assert_int_equal(scpp_wire_dgram_encode(buf, sizeof(buf), &h), (int)total);
			assert_memory_equal(buf, d, total);
		}
	}
}

static void
test_wire_hdr_decode_truncates_every_prefix(void **state)
{
	uint8_t d[64];
	struct scpp_wire_hdr h;
	size_t total = raw_dgram(d, SCPP_WIRE_BLOCK, SCPP_WIRE_F_LAST, 8, 4, 0, 1, 44);
	(void)state;

	assert_int_equal(scpp_wire_hdr_decode(d, total, &h), 0);
	for (size_t cut = 0; cut < total; cut++)
		assert_int_equal(scpp_wire_hdr_decode(d, cut, &h), -SCPP_E_TRUNCATED);
}

static void
test_wire_dgram_encode_checks_fields_and_space(void **state)
{
	static const uint8_t tag[4] = {1, 2, 3, 4};
	struct scpp_wire_hdr h = {
		.kind = SCPP_WIRE_BLOCK, .flags = SCPP_WIRE_F_LAST, .tag_len = 4,
		.payload_len = 4, .client_id = 9, .block_id = 10, .frag_index = 0,
		.frag_count = 1, .tag = tag,
	}, d;
	uint8_t out[64];
	(void)state;

	/* Payload encoded in place at buf + 32 is left where it is. */
	memcpy(out + 32, "\x00\x00\x00\x00", 4);
	h.payload = out + 32;
	assert_int_equal(scpp_wire_dgram_encode(out, sizeof(out), &h), 40);
	assert_int_equal(scpp_wire_hdr_decode(out, 40, &d), 0);
	assert_memory_equal(d.tag, tag, 4);
	assert_true(d.client_id == 9 && d.block_id == 10);
	/* A NULL tag leaves room filled with zeros for the authenticator. */
	h.tag = NULL;
	assert_int_equal(scpp_wire_dgram_encode(out, sizeof(out), &h), 40);
	assert_memory_equal(out + 36, "\0\0\0\0", 4);
	assert_int_equal(scpp_wire_dgram_encode(out, 39, &h), -ENOSPC);
	/* One bad field at a time, then restore it. */
	h.kind = 16;
	assert_int_equal(scpp_wire_dgram_encode(out, sizeof(out), &h), -EINVAL);
	h.kind = SCPP_WIRE_BLOCK;
	h.flags = SCPP_WIRE_F_LAST | 0x04;
	assert_int_equal(scpp_wire_dgram_encode(out, sizeof(out), &h), -EINVAL);
	h.flags = 0;
	assert_int_equal(scpp_wire_dgram_encode(out, sizeof(out), &h), -EINVAL);
	h.flags = SCPP_WIRE_F_LAST;
	h.tag_len = 33;
	assert_int_equal(scpp_wire_dgram_encode(out, sizeof(out), &h), -EINVAL);
	h.tag_len = 4;
	h.frag_count = 65;
	h.frag_index = 64;
	assert_int_equal(scpp_wire_dgram_encode(out, sizeof(out), &h), -EINVAL);
	h.frag_count = 1;
	h.frag_index = 0;
	h.payload = NULL;
	assert_int_equal(scpp_wire_dgram_encode(out, sizeof(out), &h), -EINVAL);
	h.payload = out + 32;
	assert_int_equal(scpp_wire_dgram_encode(out, sizeof(out), &h), 40);
}

/* Every decoded field of two headers is the same (pointers by address). */
static void
hdr_same(const struct scpp_wire_hdr *a, const struct scpp_wire_hdr *b)
{
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->tag_len, b->tag_len);
	assert_int_equal(a->payload_len, b->payload_len);
	assert_true(a->client_id == b->client_id && a->block_id == b->block_id);
	assert_int_equal(a->frag_index, b->frag_index);
	assert_int_equal(a->frag_count, b->frag_count);
	assert_ptr_equal(a->payload, b->payload);
	assert_ptr_equal(a->cookie, b->cookie);
	assert_ptr_equal(a->tag, b->tag);
}

/* Decode @p len bytes with the header fast path on and off, out of line
 * and inline: the same verdict and, when accepted, the same fields; true
 * when accepted. */
static bool
hdr_both_ways(const uint8_t *d, size_t len)
{
	struct scpp_wire_hdr f, s;
	int rf, rs;

	memset(&f, 0xa5, sizeof(f));
	memset(&s, 0x5a, sizeof(s));
	struct scpp_wire_hdr in;
	int ri, rio;

	memset(&in, 0x3c, sizeof(in));
	scpp_wire_decode_fast(true);
	rf = scpp_wire_hdr_decode(d, len, &f);
	ri = scpp_wire_hdr_decode_inline(d, len, &in);
	scpp_wire_decode_fast(false);
	rs = scpp_wire_hdr_decode(d, len, &s);
	rio = scpp_wire_hdr_decode_inline(d, len, &in);
	scpp_wire_decode_fast(true);
	assert_int_equal(rf, rs);
	assert_int_equal(ri, rs);
	assert_int_equal(rio, rs);
	if (rf != 0)
		return false;
	/* The inline decoder's fields (from its fast path, then from the
	 * general one) are the general decoder's too. */
	scpp_wire_decode_fast(true);
	assert_int_equal(scpp_wire_hdr_decode_inline(d, len, &in), 0);
	hdr_same(&in, &f);
	hdr_same(&f, &s);
	return true;
}

/* Every value of every header byte, on top of valid headers of several
 * kinds (the fast path's own, and ones next to it), at the datagram's own
 * length, one byte short and long, and the length the patched payload_len
 * says: the header fast path decides exactly as the general decoder. */
static void
test_wire_hdr_fast_decode_matches_general_every_byte(void **state)
{
	static const struct {
		uint8_t kind, flags, tag_len;
		uint16_t payload_len;
		uint32_t idx, count;
	} base[] = {
		{SCPP_WIRE_BLOCK, SCPP_WIRE_F_LAST, 0, 40, 0, 1},
		{SCPP_WIRE_BLOCK, SCPP_WIRE_F_LAST, 0, 0, 0, 1},
		{SCPP_WIRE_FETCH, SCPP_WIRE_F_LAST, 0, 25, 0, 1},
		{SCPP_WIRE_BLOCK, SCPP_WIRE_F_LAST | SCPP_WIRE_F_SESSION, 24, 40, 0, 1},
		{SCPP_WIRE_BLOCK, SCPP_WIRE_F_LAST | SCPP_WIRE_F_COOKIE, 0, 40, 0, 1},
		{SCPP_WIRE_BLOCK, 0, 0, 40, 1, 3},
		{SCPP_WIRE_REPLY, SCPP_WIRE_F_LAST, 0, 40, 5, 0},
		{SCPP_WIRE_FORWARD, SCPP_WIRE_F_LAST, 0, 44, 0, 1},
	};
	static uint8_t d[70000];
	unsigned long accepted = 0;
	(void)state;

	for (size_t i = 0; i < SCPP_ARRAY_SIZE(base); i++) {
		size_t ck = (base[i].flags & SCPP_WIRE_F_COOKIE) ? SCPP_WIRE_COOKIE_LEN : 0;
		size_t total = 32 + (size_t)base[i].payload_len + ck + base[i].tag_len;

		raw_dgram(d, base[i].kind, base[i].flags, base[i].tag_len, base[i].payload_len,
			  base[i].idx, base[i].count, sizeof(d));
		assert_true(hdr_both_ways(d, total));
		for (unsigned int at = 0; at < SCPP_WIRE_HDR_LEN; at++) {
			const uint8_t keep = d[at];

			for (unsigned int v = 0; v < 256; v++) {
				size_t own = 32 + (size_t)(d[6] | d[7] << 8) + ck + d[5];
				const size_t lens[] = {total, total - 1, total + 1, own,
						       SCPP_WIRE_HDR_LEN - 1};

				d[at] = (uint8_t)v;
				own = 32 + (size_t)(d[6] | d[7] << 8) + ck + d[5];
				for (size_t k = 0; k < SCPP_ARRAY_SIZE(lens); k++)
					accepted += hdr_both_ways(d, k == 3 ? own : lens[k]);
			}
			d[at] = keep;
		}
	}
	/* Lengths over the UDP maximum, and at it. */
	raw_dgram(d, SCPP_WIRE_BLOCK, SCPP_WIRE_F_LAST, 0, SCPP_WIRE_DGRAM_MAX - 32, 0, 1,
		  sizeof(d));
	assert_true(hdr_both_ways(d, SCPP_WIRE_DGRAM_MAX));
	raw_dgram(d, SCPP_WIRE_BLOCK, SCPP_WIRE_F_LAST, 0, SCPP_WIRE_DGRAM_MAX - 31, 0, 1,
		  sizeof(d));
	assert_false(hdr_both_ways(d, SCPP_WIRE_DGRAM_MAX + 1));
	assert_true(accepted > 1000);
}

/* Encode @p h into @p size bytes with the encoder's fast paths on and
 * off: the same result and the same bytes. */
static void
encode_both_ways(const struct scpp_wire_hdr *h, size_t size)
{
	int rf, rs;

	memset(buf, 0xee, 64);
	memset(buf2, 0xee, 64);
	scpp_wire_decode_fast(true);
	rf = scpp_wire_dgram_encode(buf, size, h);
	scpp_wire_decode_fast(false);
	rs = scpp_wire_dgram_encode(buf2, size, h);
	scpp_wire_decode_fast(true);
	assert_int_equal(rf, rs);
	if (rf > 0)
		assert_memory_equal(buf, buf2, (size_t)rf);
}

/* The tagless REPLY header written by fixed stores is the general
 * encoder's, and any header next to it (another kind, a flag, a tag, a
 * count, a short buffer, no payload) gets the general encoder's answer. */
static void
test_wire_reply_hdr_fast_encode_matches_general(void **state)
{
	static const uint8_t kinds[] = {0, SCPP_WIRE_BLOCK, SCPP_WIRE_REPLY, SCPP_WIRE_FETCH,
					SCPP_WIRE_NOTICE, 8, 16};
	static const uint8_t tags[] = {0, 4, 24};
	static const uint32_t idxs[] = {0, 1, 0x12345678, UINT32_MAX};
	static const uint32_t counts[] = {0, 1};
	static const uint16_t plens[] = {0, 1, 7, 1440, SCPP_WIRE_DGRAM_MAX - 32,
					 SCPP_WIRE_DGRAM_MAX - 31};
	static uint8_t payload[1 << 16];
	struct scpp_wire_hdr h;
	(void)state;

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + 3);
	memset(&h, 0, sizeof(h));
	h.client_id = 0x0123456789abcdefull;
	h.block_id = 0xfedcba9876543210ull;
	for (size_t k = 0; k < SCPP_ARRAY_SIZE(kinds); k++)
		for (unsigned int fl = 0; fl < 256; fl++)
			for (size_t t = 0; t < SCPP_ARRAY_SIZE(tags); t++)
				for (size_t x = 0; x < SCPP_ARRAY_SIZE(idxs); x++)
					for (size_t c = 0; c < SCPP_ARRAY_SIZE(counts); c++) {
						h.kind = kinds[k];
						h.flags = (uint8_t)fl;
						h.tag_len = tags[t];
						h.frag_index = idxs[x];
						h.frag_count = counts[c];
						h.payload_len = 7;
						h.payload = payload;
						encode_both_ways(&h, 64);
					}
	h.kind = SCPP_WIRE_REPLY;
	h.tag_len = 0;
	h.frag_count = 0;
	for (unsigned int last = 0; last < 2; last++)
		for (size_t x = 0; x < SCPP_ARRAY_SIZE(idxs); x++)
			for (size_t pl = 0; pl < SCPP_ARRAY_SIZE(plens); pl++) {
				size_t total = 32 + (size_t)plens[pl];

				h.flags = last ? SCPP_WIRE_F_LAST : 0;
				h.frag_index = idxs[x];
				h.payload_len = plens[pl];
				h.payload = payload;
				encode_both_ways(&h, total);
				encode_both_ways(&h, total - 1);
				/* Encoded in place: the payload stays where it is. */
				memcpy(buf + 32, payload, plens[pl]);
				h.payload = buf + 32;
				scpp_wire_decode_fast(true);
				if (total <= SCPP_WIRE_DGRAM_MAX) {
					assert_int_equal(scpp_wire_dgram_encode(buf, total, &h),
							 (int)total);
					assert_memory_equal(buf + 32, payload, plens[pl]);
				}
				h.payload = NULL;
				encode_both_ways(&h, total);
			}
}

/* One reply datagram both ways: scpp_wire_reply_dgram_encode() into
 * @p size bytes gives what scpp_wire_dgram_encode() gives for the same
 * header (with the general encoder's fast path on or off), one byte less
 * gives -ENOSPC (or the same -EINVAL), and so do a payload in place and
 * none at all. */
static const uint8_t *volatile no_payload;

static void
reply_dgram_both_ways(const struct scpp_wire_hdr *h, bool fast)
{
	static uint8_t ref[1 << 17];
	const size_t total = 32 + (size_t)h->payload_len;
	const bool last = (h->flags & SCPP_WIRE_F_LAST) != 0;
	const uint16_t pl = h->payload_len;
	int want;

	scpp_wire_decode_fast(fast);
	want = scpp_wire_dgram_encode(ref, total, h);
	scpp_wire_decode_fast(true);
	assert_int_equal(scpp_wire_reply_dgram_encode(buf, total, h->client_id, h->block_id,
						      h->frag_index, last, h->payload, pl),
			 want);
	if (want > 0)
		assert_memory_equal(buf, ref, total);
	assert_int_equal(scpp_wire_reply_dgram_encode(buf, total - 1, h->client_id, h->block_id,
						      h->frag_index, last, h->payload, pl),
			 want > 0 ? -ENOSPC : want);
	if (want < 0 || pl == 0)
		return;
	memcpy(buf + 32, h->payload, pl);
	assert_int_equal(scpp_wire_reply_dgram_encode(buf, total, h->client_id, h->block_id,
						      h->frag_index, last, buf + 32, pl),
			 want);
	assert_memory_equal(buf, ref, total);
	/* (Read through a volatile: a literal NULL reaching the inline
	 * encoder's memmove() on a path it never takes trips -Wnonnull.) */
	assert_int_equal(scpp_wire_reply_dgram_encode(buf, total, h->client_id, h->block_id,
						      h->frag_index, last, no_payload, pl),
			 -EINVAL);
}

/* scpp_wire_reply_dgram_encode() writes what scpp_wire_dgram_encode()
 * writes for the same tagless REPLY, for payloads from empty to past the
 * largest, sequence numbers, LAST or not, and ids. */
static void
test_wire_reply_dgram_encode_equals_dgram_encode(void **state)
{
	static const uint32_t seqs[] = {0, 1, 255, 256, 0x12345678, UINT32_MAX};
	static const uint16_t plens[] = {0,    1,    2,    7,    8,    15,   16,
					 31,   100,  1440, 1441, 9000, SCPP_WIRE_DGRAM_MAX - 32,
					 SCPP_WIRE_DGRAM_MAX - 31, UINT16_MAX};
	static const uint64_t ids[][2] = {{0, 0},
					  {1, 2},
					  {0x0123456789abcdefull, 0xfedcba9876543210ull},
					  {UINT64_MAX, UINT64_MAX}};
	static uint8_t payload[1 << 16];
	struct scpp_wire_hdr h;
	(void)state;

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 13 + 1);
	memset(&h, 0, sizeof(h));
	h.kind = SCPP_WIRE_REPLY;
	h.payload = payload;
	for (unsigned int fast = 0; fast < 2; fast++)
		for (size_t s = 0; s < SCPP_ARRAY_SIZE(seqs); s++)
			for (size_t pl = 0; pl < SCPP_ARRAY_SIZE(plens); pl++)
				for (size_t id = 0; id < SCPP_ARRAY_SIZE(ids); id++)
					for (unsigned int last = 0; last < 2; last++) {
						h.flags = last ? SCPP_WIRE_F_LAST : 0;
						h.client_id = ids[id][0];
						h.block_id = ids[id][1];
						h.frag_index = seqs[s];
						h.payload_len = plens[pl];
						reply_dgram_both_ways(&h, fast != 0);
					}
}

/* ---- block malformations ---- */

struct bcase {
	const char *name;
	const uint8_t *d;
	size_t len;
	int rc;
	uint32_t off;
};

#define BYTES(...) (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})
/* "get nil nil nil" with no status */
#define GET_NILS 0x01, 0x00, 0x01, 0x00, 0x01, 0x00, 0x01, 0x00

static void
check_block_case(const struct bcase *c)
{
	uint32_t off = UINT32_MAX;
	int rc = scpp_wire_block_decode(c->d, c->len, &blk, &off);

	if (rc != c->rc)
		fail_msg("%s: got %d (%s), want %d (%s)", c->name, rc, scpp_strerror(rc), c->rc,
			 scpp_strerror(c->rc));
	if (rc < 0 && off != c->off)
		fail_msg("%s: err_off %u, want %u", c->name, off, c->off);
}

static void
test_wire_block_decode_rejects_each_malformation(void **state)
{
	/* Automatic: the compound literals are not constant expressions. */
	const struct bcase cases[] = {
		{"empty block", BYTES(0, 0, 0, 0), 0, 0},
		{"one get", BYTES(0, 0, 0, 1, GET_NILS), 0, 0},
		{"empty input", (const uint8_t[]){0}, 0, -SCPP_E_TRUNCATED, 0},
		{"block flag COPY_RESULTS", BYTES(1, 0, 0, 0), 0, 0},
		{"block flag bit 1", BYTES(2, 0, 0, 0), -SCPP_E_BAD_FLAGS, 0},
		{"block flag bit 7 with COPY_RESULTS", BYTES(0x81, 0, 0, 0), -SCPP_E_BAD_FLAGS, 0},
		{"too many variables", BYTES(0, 65, 0, 0), -SCPP_E_TOO_MANY, 1},
		{"overlong varint", BYTES(0, 0x80, 0x00, 0, 0), -SCPP_E_BAD_VARINT, 1},
		{"name too long", BYTES(0, 1, 65), -EINVAL, 2},
		{"name length past the end", BYTES(0, 1, 5, 'a', 'b'), -SCPP_E_TRUNCATED, 2},
		{"name bad UTF-8", BYTES(0, 1, 1, 0xff, 0, 0), -SCPP_E_BAD_UTF8, 2},
		{"name overlong UTF-8", BYTES(0, 1, 2, 0xc0, 0x80, 0, 0), -SCPP_E_BAD_UTF8, 2},
		{"name surrogate", BYTES(0, 1, 3, 0xed, 0xa0, 0x80, 0, 0), -SCPP_E_BAD_UTF8, 2},
		{"more returns than variables", BYTES(0, 1, 0, 2, 0, 0), -SCPP_E_TOO_MANY, 3},
		{"return undeclared", BYTES(0, 1, 0, 1, 1, 0), -SCPP_E_BAD_VAR, 4},
		{"return index overflows", BYTES(0, 1, 0, 1, 0x80, 0x02, 0), -SCPP_E_BAD_VAR, 4},
		{"variable returned twice", BYTES(0, 2, 0, 0, 2, 1, 1, 0), -EEXIST, 6},
		{"too many commands", BYTES(0, 0, 0, 0x81, 0x02), -SCPP_E_TOO_MANY, 3},
		{"commands missing", BYTES(0, 0, 0, 2, GET_NILS), -SCPP_E_TRUNCATED, 12},
		{"opcode 0", BYTES(0, 0, 0, 1, 0, 0), -SCPP_E_BAD_OPCODE, 4},
		{"opcode 12, last byte", BYTES(0, 0, 0, 1, 12), -SCPP_E_BAD_OPCODE, 4},
		{"command flags missing", BYTES(0, 0, 0, 1, 1), -SCPP_E_TRUNCATED, 5},
		{"opcode 12", BYTES(0, 0, 0, 1, 12, 0, 1, 0, 1, 0), -SCPP_E_BAD_OPCODE, 4},
		{"command flag bit 2", BYTES(0, 0, 0, 1, 1, 4, 1, 0, 1, 0, 1, 0),
		 -SCPP_E_BAD_FLAGS, 5},
		{"term tag 0", BYTES(0, 0, 0, 1, 1, 0, 0), -SCPP_E_BAD_TERM, 6},
		{"term tag 7", BYTES(0, 0, 0, 1, 1, 0, 7), -SCPP_E_BAD_TERM, 6},
		{"OP as entity", BYTES(0, 0, 0, 1, 1, 0, 6, 24, 1, 0, 1, 0), -SCPP_E_BAD_TERM, 6},
		/* where now() */
		{"where now()", BYTES(0, 0, 0, 1, 8, 0, 6, 24), 0, 0},
		{"operator missing", BYTES(0, 0, 0, 1, 8, 0, 6), -SCPP_E_TRUNCATED, 7},
		{"operator 0", BYTES(0, 0, 0, 1, 8, 0, 6, 0), -SCPP_E_BAD_TERM, 7},
		{"operator 33", BYTES(0, 0, 0, 1, 8, 0, 6, 33), -SCPP_E_BAD_TERM, 7},
		{"operand missing", BYTES(0, 0, 0, 1, 8, 0, 6, 21), -SCPP_E_TRUNCATED, 8},
		{"KEY as operand", BYTES(0, 0, 0, 1, 8, 0, 6, 21, 3, 1, 0, 1, 0), -SCPP_E_BAD_TERM, 8},
		{"address as operand of not", BYTES(0, 0, 0, 1, 8, 0, 6, 21, 4, 1, 0, 1, 0),
		 -SCPP_E_BAD_TERM, 8},
		{"constant as address of read", BYTES(0, 0, 0, 1, 8, 0, 6, 32, 1, 0, 1, 0),
		 -SCPP_E_BAD_TERM, 8},
		/* where read(value(nil, nil), nil) */
		{"read of an address", BYTES(0, 0, 0, 1, 8, 0, 6, 32, 4, 1, 0, 1, 0, 1, 0), 0, 0},
		/* get nil nil nil when now() */
		{"guard", BYTES(0, 0, 0, 1, 1, 2, 1, 0, 1, 0, 1, 0, 6, 24), 0, 0},
		{"guard missing", BYTES(0, 0, 0, 1, 1, 2, 1, 0, 1, 0, 1, 0), -SCPP_E_TRUNCATED, 12},
		{"guard not an expression", BYTES(0, 0, 0, 1, 1, 2, 1, 0, 1, 0, 1, 0, 4),
		 -SCPP_E_BAD_TERM, 12},
		{"status after the guard", BYTES(0, 1, 0, 0, 1, 1, 3, 1, 0, 1, 0, 1, 0, 1, 0, 0), 0, 0},
		{"VALUE address as entity", BYTES(0, 0, 0, 1, 1, 0, 4, 1, 0, 1, 0, 1, 0),
		 -SCPP_E_BAD_TERM, 6},
		{"KEY as entity", BYTES(0, 0, 0, 1, 1, 0, 3, 1, 0, 1, 0, 1, 0), -SCPP_E_BAD_TERM, 6},
		{"KEY as value", BYTES(0, 0, 0, 1, 2, 0, 1, 0, 1, 0, 3, 1, 0, 1, 0),
		 -SCPP_E_BAD_TERM, 10},
		{"KEY inside KEY", BYTES(0, 0, 0, 1, 1, 0, 1, 0, 3, 3, 1, 0, 1, 0, 1, 0, 1, 0),
		 -SCPP_E_BAD_TERM, 9},
		{"OFFSET inside VALUE", BYTES(0, 0, 0, 1, 3, 0, 4, 5), -SCPP_E_BAD_TERM, 7},
		{"constant as address", BYTES(0, 0, 0, 1, 3, 0, 1, 0), -SCPP_E_BAD_TERM, 6},
		{"variable as address", BYTES(0, 1, 0, 0, 1, 3, 0, 2, 0), -SCPP_E_BAD_TERM, 7},
		{"constant as create target", BYTES(0, 0, 0, 1, 4, 0, 1, 0, 1, 0),
		 -SCPP_E_BAD_TERM, 6},
		{"undeclared variable", BYTES(0, 0, 0, 1, 1, 0, 2, 0), -SCPP_E_BAD_VAR, 7},
		{"undeclared status variable", BYTES(0, 0, 0, 1, 1, 1, 1, 0, 1, 0, 1, 0, 0),
		 -SCPP_E_BAD_VAR, 12},
		{"status variable missing", BYTES(0, 1, 0, 0, 1, 1, 1, 1, 0, 1, 0, 1, 0),
		 -SCPP_E_TRUNCATED, 13},
		{"unknown value type", BYTES(0, 0, 0, 1, 1, 0, 1, 8), -SCPP_E_BAD_VALUE_TYPE, 7},
		{"bad bool byte", BYTES(0, 0, 0, 1, 1, 0, 1, 1, 2, 1, 0, 1, 0), -EINVAL, 7},
		{"overlong varint in u64", BYTES(0, 0, 0, 1, 1, 0, 1, 3, 0x81, 0x00),
		 -SCPP_E_BAD_VARINT, 7},
		{"11-byte varint", BYTES(0, 0, 0, 1, 1, 0, 1, 3, 0xff, 0xff, 0xff, 0xff, 0xff,
					 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
		 -SCPP_E_BAD_VARINT, 7},
		{"string bad UTF-8", BYTES(0, 0, 0, 1, 1, 0, 1, 5, 2, 'a', 0x80, 1, 0, 1, 0),
		 -SCPP_E_BAD_UTF8, 7},
		{"string past the end", BYTES(0, 0, 0, 1, 1, 0, 1, 5, 5, 'a'), -SCPP_E_TRUNCATED, 7},
		{"oid past the end", BYTES(0, 0, 0, 1, 1, 0, 1, 7, 1, 2, 3), -SCPP_E_TRUNCATED, 7},
		{"trailing byte", BYTES(0, 0, 0, 0, 0xff), -SCPP_E_TRAILING, 4},
		{"trailing after a command", BYTES(0, 0, 0, 1, GET_NILS, 0), -SCPP_E_TRAILING, 12},
	};
	(void)state;

	for (size_t i = 0; i < SCPP_ARRAY_SIZE(cases); i++)
		check_block_case(&cases[i]);
}

/* Byte builder for generated malformed blocks. */
struct bb {
	uint8_t d[1 << 16];
	size_t n;
};

static struct bb bb;

static void
bb_u8(uint8_t x)
{
	bb.d[bb.n++] = x;
}

static void
bb_var(uint64_t x)
{
	bb.n += scpp_varint_encode(bb.d + bb.n, x);
}

/* copy (offset^k(value(nil, nil)), value(nil, nil), nil) */
static void
bb_copy_nested(unsigned int k)
{
	bb_u8(SCPP_OP_COPY);
	bb_u8(0);
	for (unsigned int i = 0; i < k; i++)
		bb_u8(SCPP_TERM_OFFSET);
	bb_u8(SCPP_TERM_VALUE);
	bb_u8(1), bb_u8(0), bb_u8(1), bb_u8(0);
	for (unsigned int i = 0; i < k; i++)
		bb_u8(1), bb_u8(0);
	bb_u8(SCPP_TERM_VALUE);
	bb_u8(1), bb_u8(0), bb_u8(1), bb_u8(0);
	bb_u8(1), bb_u8(0);
}

static void
test_wire_block_decode_limits_nesting(void **state)
{
	uint32_t off;
	(void)state;

	/* 7 OFFSETs around a VALUE: 8 address terms deep, the maximum. */
	bb.n = 0;
	bb_u8(0), bb_var(0), bb_var(0), bb_var(1);
	bb_copy_nested(SCPP_WIRE_NEST_MAX - 1);
	assert_int_equal(scpp_wire_block_decode(bb.d, bb.n, &blk, &off), 0);
	assert_int_equal(scpp_wire_block_encode(&blk, buf, sizeof(buf)), (int)bb.n);
	assert_memory_equal(buf, bb.d, bb.n);
	/* One more: the innermost VALUE (at 4 + 2 + 8) is too deep. */
	bb.n = 0;
	bb_u8(0), bb_var(0), bb_var(0), bb_var(1);
	bb_copy_nested(SCPP_WIRE_NEST_MAX);
	assert_int_equal(scpp_wire_block_decode(bb.d, bb.n, &blk, &off), -SCPP_E_NESTING);
	assert_int_equal(off, 4 + 2 + SCPP_WIRE_NEST_MAX);
}

/* A block of @p nkey "get nil nil[nil] nil" (5 terms) then @p ndel "del nil
 * nil" (2 terms) then @p nget "get nil nil nil" (3 terms). */
static void
bb_terms_block(unsigned int nkey, unsigned int ndel, unsigned int nget)
{
	bb.n = 0;
	bb_u8(0), bb_var(0), bb_var(0), bb_var(nkey + ndel + nget);
	for (unsigned int i = 0; i < nkey; i++) {
		bb_u8(SCPP_OP_GET), bb_u8(0), bb_u8(1), bb_u8(0);
		bb_u8(SCPP_TERM_KEY), bb_u8(1), bb_u8(0), bb_u8(1), bb_u8(0);
		bb_u8(1), bb_u8(0);
	}
	for (unsigned int i = 0; i < ndel; i++)
		bb_u8(SCPP_OP_DEL), bb_u8(0), bb_u8(1), bb_u8(0), bb_u8(1), bb_u8(0);
	for (unsigned int i = 0; i < nget; i++) {
		bb_u8(SCPP_OP_GET), bb_u8(0);
		bb_u8(1), bb_u8(0), bb_u8(1), bb_u8(0), bb_u8(1), bb_u8(0);
	}
}

static void
test_wire_block_decode_limits_counts(void **state)
{
	uint32_t off;
	(void)state;

	/* Terms: 204 x 5 + 2 x 2 = 1024 is the maximum; 204 x 5 + 2 + 3 is one over. */
	bb_terms_block(204, 2, 0);
	assert_int_equal(scpp_wire_block_decode(bb.d, bb.n, &blk, &off), 0);
	assert_int_equal(blk.nterms, SCPP_WIRE_TERMS_MAX);
	bb_terms_block(204, 1, 1);
	assert_int_equal(scpp_wire_block_decode(bb.d, bb.n, &blk, &off), -SCPP_E_TOO_MANY);
	assert_int_equal(off, bb.n - 2); /* the 1025th term's tag */

	/* Commands: 256 is the maximum, 257 too many (and the 2-byte count is
	 * where the error is). */
	bb_terms_block(0, SCPP_WIRE_CMDS_MAX, 0);
	assert_int_equal(scpp_wire_block_decode(bb.d, bb.n, &blk, &off), 0);
	assert_int_equal(blk.ncmds, SCPP_WIRE_CMDS_MAX);
	bb_terms_block(0, SCPP_WIRE_CMDS_MAX + 1, 0);
	assert_int_equal(scpp_wire_block_decode(bb.d, bb.n, &blk, &off), -SCPP_E_TOO_MANY);
	assert_int_equal(off, 3);

	/* Variables: 64 named 64 bytes each, all returned, is the maximum. */
	for (unsigned int extra = 0; extra <= 1; extra++) {
		bb.n = 0;
		bb_u8(0), bb_var(SCPP_WIRE_VARS_MAX + extra);
		for (unsigned int i = 0; i < SCPP_WIRE_VARS_MAX + extra; i++) {
			bb_var(SCPP_WIRE_NAME_MAX);
			memset(bb.d + bb.n, 'a' + (int)(i % 26), SCPP_WIRE_NAME_MAX);
			bb.n += SCPP_WIRE_NAME_MAX;
		}
		bb_var(SCPP_WIRE_VARS_MAX);
		for (unsigned int i = 0; i < SCPP_WIRE_VARS_MAX; i++)
			bb_var(SCPP_WIRE_VARS_MAX - 1 - i);
		bb_var(0);
		assert_int_equal(scpp_wire_block_decode(bb.d, bb.n, &blk, &off),
				 extra ? -SCPP_E_TOO_MANY : 0);
		if (extra)
			assert_int_equal(off, 1);
		else
			assert_int_equal(blk.ret[0], SCPP_WIRE_VARS_MAX - 1);
	}
}

static void
test_wire_block_decode_truncates_every_prefix(void **state)
{
	uint32_t off;
	int n;
	(void)state;

	build_example(&blk);
	n = scpp_wire_block_encode(&blk, buf, sizeof(buf));
	for (int cut = 0; cut < n; cut++) {
		assert_int_equal(scpp_wire_block_decode(buf, (size_t)cut, &blk2, &off),
				 -SCPP_E_TRUNCATED);
		assert_true(off <= (uint32_t)cut);
	}
	assert_int_equal(scpp_wire_block_decode(buf, (size_t)n, &blk2, &off), 0);
	assert_true(scpp_wire_block_equal(&blk, &blk2));
}

/* ---- builder ---- */

static void
test_wire_builder_rejects_what_the_decoder_rejects(void **state)
{
	struct scpp_value nil = scpp_value_nil(), bad;
	char name[SCPP_WIRE_NAME_MAX + 1];
	int c, v, k, val, off;
	(void)state;

	memset(name, 'n', sizeof(name));
	scpp_wire_block_init(&blk);
	/* Variables: length, UTF-8, NULL with a length. */
	assert_int_equal(scpp_wire_block_var(&blk, name, SCPP_WIRE_NAME_MAX + 1), -EINVAL);
	assert_int_equal(scpp_wire_block_var(&blk, "\xc0\x80", 2), -SCPP_E_BAD_UTF8);
	assert_int_equal(scpp_wire_block_var(&blk, NULL, 1), -EINVAL);
	assert_int_equal(blk.nvars, 0);
	assert_int_equal(scpp_wire_block_var(&blk, name, SCPP_WIRE_NAME_MAX), 0);
	assert_int_equal(scpp_wire_block_var(&blk, NULL, 0), 1);
	/* Returns: undeclared, twice. */
	assert_int_equal(scpp_wire_block_ret(&blk, 2), -SCPP_E_BAD_VAR);
	assert_int_equal(scpp_wire_block_ret(&blk, 1), 0);
	assert_int_equal(scpp_wire_block_ret(&blk, 1), -EEXIST);
	assert_int_equal(blk.nret, 1);
	/* Terms. */
	bad = scpp_value_nil();
	bad.type = SCPP_VT_COUNT;
	assert_int_equal(scpp_wire_term_const(&blk, &bad), -SCPP_E_BAD_VALUE_TYPE);
	bad = scpp_value_str("\xff", 1);
	assert_int_equal(scpp_wire_term_const(&blk, &bad), -SCPP_E_BAD_UTF8);
	assert_int_equal(scpp_wire_term_const(&blk, NULL), -EINVAL);
	assert_int_equal(scpp_wire_term_var(&blk, 2), -SCPP_E_BAD_VAR);
	assert_int_equal(blk.nterms, 0);
	c = scpp_wire_term_const(&blk, &nil);
	v = scpp_wire_term_var(&blk, 0);
	k = scpp_wire_term_key(&blk, c, v);
	assert_true(k >= 0);
	assert_int_equal(scpp_wire_term_key(&blk, k, c), -SCPP_E_BAD_TERM); /* KEY in KEY */
	assert_int_equal(scpp_wire_term_key(&blk, c, 99), -SCPP_E_BAD_TERM); /* no term 99 */
	assert_int_equal(scpp_wire_term_key(&blk, -SCPP_E_TOO_MANY, c), -SCPP_E_BAD_TERM);
	val = scpp_wire_term_value(&blk, c, k);
	assert_true(val >= 0);
	assert_int_equal(scpp_wire_term_value(&blk, val, c), -SCPP_E_BAD_TERM); /* addr as ent */
	assert_int_equal(scpp_wire_term_value(&blk, k, c), -SCPP_E_BAD_TERM);   /* key as ent */
	assert_int_equal(scpp_wire_term_offset(&blk, c, c), -SCPP_E_BAD_TERM);  /* not an addr */
	assert_int_equal(scpp_wire_term_offset(&blk, val, val), -SCPP_E_BAD_TERM);
	/* Nesting: VALUE is depth 1, so 7 OFFSETs reach the maximum of 8. */
	off = val;
	for (int i = 0; i < SCPP_WIRE_NEST_MAX - 1; i++) {
		off = scpp_wire_term_offset(&blk, off, c);
		assert_true(off >= 0);
	}
	assert_int_equal(scpp_wire_term_offset(&blk, off, c), -SCPP_E_NESTING);
	/* Commands: opcode, each position, status variable. */
	assert_int_equal(scpp_wire_block_cmd(&blk, 0, c, c, c, -1), -SCPP_E_BAD_OPCODE);
	assert_int_equal(scpp_wire_block_cmd(&blk, SCPP_OP_COUNT, c, c, c, -1),
			 -SCPP_E_BAD_OPCODE);
	assert_int_equal(scpp_wire_block_cmd(&blk, SCPP_OP_GET, val, c, c, -1), -SCPP_E_BAD_TERM);
	assert_int_equal(scpp_wire_block_cmd(&blk, SCPP_OP_GET, c, c, k, -1), -SCPP_E_BAD_TERM);
	assert_int_equal(scpp_wire_block_cmd(&blk, SCPP_OP_COPY, c, val, c, -1), -SCPP_E_BAD_TERM);
	assert_int_equal(scpp_wire_block_cmd(&blk, SCPP_OP_CREATE, c, c, -1, -1),
			 -SCPP_E_BAD_TERM);
	assert_int_equal(scpp_wire_block_cmd(&blk, SCPP_OP_GET, c, k, v, 2), -SCPP_E_BAD_VAR);
	assert_int_equal(blk.ncmds, 0);
	/* And the accepted forms round-trip. */
	assert_int_equal(scpp_wire_block_cmd(&blk, SCPP_OP_GET, c, k, v, 1), 0);
	assert_int_equal(scpp_wire_block_cmd(&blk, SCPP_OP_COPY, off, val, c, -1), 1);
	assert_int_equal(scpp_wire_block_cmd(&blk, SCPP_OP_CREATE, v, c, -99, -1), 2);
	assert_int_equal(scpp_wire_block_cmd(&blk, SCPP_OP_DEL, v, c, -99, 0), 3);
	assert_int_equal(scpp_wire_block_encode(&blk, buf, sizeof(buf)),
			 (int)scpp_wire_block_encoded_size(&blk));
	assert_int_equal(scpp_wire_block_decode(buf, scpp_wire_block_encoded_size(&blk),
						&blk2, NULL),
			 0);
	assert_true(scpp_wire_block_equal(&blk, &blk2));
}

static void
test_wire_builder_limits_edges(void **state)
{
	struct scpp_value nil = scpp_value_nil();
	int c, k;
	(void)state;

	/* 64 variables, the 65th fails. */
	scpp_wire_block_init(&blk);
	for (int i = 0; i < SCPP_WIRE_VARS_MAX; i++)
		assert_int_equal(scpp_wire_block_var(&blk, "v", 1), i);
	assert_int_equal(scpp_wire_block_var(&blk, "v", 1), -SCPP_E_TOO_MANY);
	for (int i = 0; i < SCPP_WIRE_VARS_MAX; i++)
		assert_int_equal(scpp_wire_block_ret(&blk, (unsigned int)i), 0);
	assert_int_equal(blk.nret, SCPP_WIRE_VARS_MAX);

	/* 256 commands, the 257th fails. */
	scpp_wire_block_init(&blk);
	c = scpp_wire_term_const(&blk, &nil);
	for (int i = 0; i < SCPP_WIRE_CMDS_MAX; i++)
		assert_int_equal(scpp_wire_block_cmd(&blk, SCPP_OP_DEL, c, c, 0, -1), i);
	assert_int_equal(scpp_wire_block_cmd(&blk, SCPP_OP_DEL, c, c, 0, -1), -SCPP_E_TOO_MANY);
	assert_int_equal(blk.ncmds, SCPP_WIRE_CMDS_MAX);

	/* 1024 terms made, the 1025th fails. */
	scpp_wire_block_init(&blk);
	for (int i = 0; i < SCPP_WIRE_TERMS_MAX; i++)
		assert_int_equal(scpp_wire_term_const(&blk, &nil), i);
	assert_int_equal(scpp_wire_term_const(&blk, &nil), -SCPP_E_TOO_MANY);
	assert_int_equal(scpp_wire_term_var(&blk, 0), -SCPP_E_BAD_VAR);
	assert_int_equal(scpp_wire_term_key(&blk, 0, 1), -SCPP_E_TOO_MANY);

	/* Shared terms count once per use, as they encode: 204 "get c c[c] c"
	 * (5 terms each) + 2 "del c c" is exactly 1024, then a get is over. */
	scpp_wire_block_init(&blk);
	c = scpp_wire_term_const(&blk, &nil);
	k = scpp_wire_term_key(&blk, c, c);
	for (int i = 0; i < 204; i++)
		assert_int_equal(scpp_wire_block_cmd(&blk, SCPP_OP_GET, c, k, c, -1), i);
	assert_int_equal(scpp_wire_block_cmd(&blk, SCPP_OP_DEL, c, c, 0, -1), 204);
	assert_int_equal(scpp_wire_block_cmd(&blk, SCPP_OP_GET, c, c, c, -1), -SCPP_E_TOO_MANY);
	assert_int_equal(scpp_wire_block_cmd(&blk, SCPP_OP_DEL, c, c, 0, -1), 205);
	assert_int_equal(scpp_wire_block_cmd(&blk, SCPP_OP_DEL, c, c, 0, -1), -SCPP_E_TOO_MANY);
	assert_int_equal(scpp_wire_block_encode(&blk, buf, sizeof(buf)),
			 (int)scpp_wire_block_encoded_size(&blk));
	assert_int_equal(scpp_wire_block_decode(buf, scpp_wire_block_encoded_size(&blk),
						&blk2, NULL),
			 0);
	assert_int_equal(blk2.nterms, SCPP_WIRE_TERMS_MAX);
	assert_true(scpp_wire_block_equal(&blk, &blk2));
}

static void
test_wire_op_tables_describe_every_opcode(void **state)
{
	(void)state;

	assert_int_equal(scpp_wire_op_nterms[0], 0);
	assert_null(scpp_wire_op_name[0]);
	for (unsigned int op = 1; op < SCPP_OP_COUNT; op++) {
		assert_non_null(scpp_wire_op_name[op]);
		assert_true(scpp_wire_op_nterms[op] >= 1 && scpp_wire_op_nterms[op] <= 3);
	}
	assert_int_equal(scpp_wire_op_nterms[SCPP_OP_WHERE], 1);
	assert_int_equal(scpp_wire_op_pos[SCPP_OP_LET][1], SCPP_POS_EXPR);
	assert_int_equal(scpp_wire_op_pos[SCPP_OP_WRITE][0], SCPP_POS_ADDR);
	assert_null(scpp_wire_xops[0].name);
	for (unsigned int op = 1; op < SCPP_XOP_COUNT; op++) {
		const struct scpp_wire_xop_info *xi = &scpp_wire_xops[op];

		assert_non_null(xi->name);
		assert_true(xi->arity <= 3);
		for (unsigned int i = 0; i < xi->arity; i++)
			assert_true(xi->pos[i] == SCPP_POS_EXPR ||
				    (op == SCPP_XOP_READ && i == 0 && xi->pos[i] == SCPP_POS_ADDR));
		for (unsigned int o2 = 1; o2 < op; o2++)
			assert_string_not_equal(xi->name, scpp_wire_xops[o2].name);
	}
	/* The numbers are the wire encoding (docs/PROTOCOL.md §8.1). */
	assert_string_equal(scpp_wire_xops[1].name, "add");
	assert_string_equal(scpp_wire_xops[24].name, "now");
	assert_string_equal(scpp_wire_xops[32].name, "read");
	assert_int_equal(SCPP_XOP_COUNT, 33);
	assert_string_equal(scpp_wire_op_name[SCPP_OP_COPY], "copy");
	assert_int_equal(scpp_wire_op_pos[SCPP_OP_COPY][0], SCPP_POS_ADDR);
	assert_int_equal(scpp_wire_op_pos[SCPP_OP_CREATE][0], SCPP_POS_DEST);
	assert_int_equal(scpp_wire_op_nterms[SCPP_OP_DEL], 2);
}

/* ---- replies ---- */

static struct scpp_wire_record want[24], got;

static bool
record_equal(const struct scpp_wire_record *a, const struct scpp_wire_record *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case SCPP_REC_COLUMNS:
		if (a->columns.n != b->columns.n)
			return false;
		for (unsigned int i = 0; i < a->columns.n; i++)
			if (a->columns.name[i].len != b->columns.name[i].len ||
			    memcmp(a->columns.name[i].p, b->columns.name[i].p,
				   a->columns.name[i].len) != 0)
				return false;
		return true;
	case SCPP_REC_ROW:
		if (a->row.n != b->row.n)
			return false;
		for (unsigned int i = 0; i < a->row.n; i++)
			if (!scpp_value_eq(&a->row.v[i], &b->row.v[i]))
				return false;
		return true;
	case SCPP_REC_STATUS:
		if (!scpp_oid_eq(a->status.oid, b->status.oid) || a->status.n != b->status.n)
			return false;
		for (unsigned int i = 0; i < a->status.n; i++)
			if (a->status.key[i].len != b->status.key[i].len ||
			    memcmp(a->status.key[i].p, b->status.key[i].p, a->status.key[i].len) != 0 ||
			    !scpp_value_eq(&a->status.v[i], &b->status.v[i]))
				return false;
		return true;
	case SCPP_REC_END:
		return a->end.err == b->end.err && a->end.outcome == b->end.outcome &&
		       a->end.rows == b->end.rows && a->end.commands == b->end.commands &&
		       a->end.elapsed_ns == b->end.elapsed_ns;
	case SCPP_REC_COPY:
		return a->copy.cmd == b->copy.cmd && a->copy.copies == b->copy.copies &&
		       a->copy.bytes == b->copy.bytes && a->copy.offloaded == b->copy.offloaded &&
		       a->copy.elapsed_ns == b->copy.elapsed_ns &&
		       a->copy.engine.len == b->copy.engine.len &&
		       memcmp(a->copy.engine.p, b->copy.engine.p, a->copy.engine.len) == 0;
	default:
		return false;
	}
}

static int
write_record(struct scpp_wire_reply_writer *w, const struct scpp_wire_record *r)
{
	switch (r->type) {
	case SCPP_REC_COLUMNS:
		return scpp_wire_reply_columns(w, r->columns.name, r->columns.n);
	case SCPP_REC_ROW:
		return scpp_wire_reply_row(w, r->row.v);
	case SCPP_REC_STATUS:
		return scpp_wire_reply_status(w, r->status.oid, r->status.key, r->status.v,
					      r->status.n);
	case SCPP_REC_COPY:
		return scpp_wire_reply_copy(w, &r->copy);
	default:
		return scpp_wire_reply_end_ex(w, r->end.err, r->end.outcome, r->end.rows,
					      r->end.commands, r->end.elapsed_ns, r->end.statuses);
	}
}

/* Fill want[] with a random valid reply; returns the record count. */
static unsigned int
gen_reply(struct gen *x)
{
	unsigned int n = 0, ncols = (unsigned int)test_rand_below(&x->seed, 6);
	unsigned int body = (unsigned int)test_rand_below(&x->seed, SCPP_ARRAY_SIZE(want) - 2);

	if (test_rand_below(&x->seed, 100) == 0)
		ncols = SCPP_WIRE_VARS_MAX;
	want[n].type = SCPP_REC_COLUMNS;
	want[n].columns.n = (uint16_t)ncols;
	for (unsigned int i = 0; i < ncols; i++)
		want[n].columns.name[i] = gen_name(x);
	n++;
	for (unsigned int r = 0; r < body; r++, n++) {
		if (test_rand_below(&x->seed, 8) == 0) {
			struct scpp_wire_copy_result *c = &want[n].copy;

			want[n].type = SCPP_REC_COPY;
			c->cmd = (uint16_t)test_rand_below(&x->seed, SCPP_WIRE_CMDS_MAX);
			c->copies = test_rand(&x->seed) >> test_rand_below(&x->seed, 64);
			c->bytes = test_rand(&x->seed) >> test_rand_below(&x->seed, 64);
			c->offloaded = c->copies == 0 ? 0 : test_rand(&x->seed) % (c->copies + 1);
			c->engine = gen_name(x);
			c->elapsed_ns = test_rand(&x->seed) >> test_rand_below(&x->seed, 64);
		} else if (test_rand_below(&x->seed, 4) != 0) {
			want[n].type = SCPP_REC_ROW;
			want[n].row.n = (uint16_t)ncols;
			for (unsigned int i = 0; i < ncols; i++)
				want[n].row.v[i] = gen_value(x);
		} else {
			unsigned int nf = (unsigned int)test_rand_below(&x->seed, 6);

			if (test_rand_below(&x->seed, 50) == 0)
				nf = SCPP_WIRE_FIELDS_MAX;
			want[n].type = SCPP_REC_STATUS;
			want[n].status.oid = (struct scpp_oid){test_rand(&x->seed),
							       test_rand(&x->seed)};
			want[n].status.n = (uint16_t)nf;
			for (unsigned int i = 0; i < nf; i++) {
				want[n].status.key[i] = gen_name(x);
				want[n].status.v[i] = gen_value(x);
			}
		}
	}
	want[n].type = SCPP_REC_END;
	want[n].end.err = (uint32_t)(test_rand(&x->seed) >> test_rand_below(&x->seed, 64));
	want[n].end.outcome = (uint8_t)test_rand_below(&x->seed, SCPP_OUTCOME_COUNT);
	want[n].end.rows = test_rand(&x->seed) >> test_rand_below(&x->seed, 64);
	want[n].end.commands = test_rand(&x->seed) >> test_rand_below(&x->seed, 64);
	want[n].end.elapsed_ns = test_rand(&x->seed) >> test_rand_below(&x->seed, 64);
	return n + 1;
}

static void
test_wire_reply_round_trips_random_replies(void **state)
{
	struct scpp_wire_reply_writer w, w2;
	struct scpp_wire_reply_reader r;
	(void)state;

	g.seed = 0x5eed0002;
	for (int it = 0; it < 100000; it++) {
		unsigned int n = gen_reply(&g), k;
		size_t fed;

		g.used = 0; /* nothing of the previous reply is referenced any more */
		n = gen_reply(&g);
		scpp_wire_reply_writer_init(&w, buf, sizeof(buf));
		for (unsigned int i = 0; i < n; i++)
			assert_int_equal(write_record(&w, &want[i]), 0);

		/* One shot: every record back, then 0, and re-encoding the
		 * decoded records gives the same bytes. */
		scpp_wire_reply_reader_init(&r, buf, w.len);
		scpp_wire_reply_writer_init(&w2, buf2, sizeof(buf2));
		for (unsigned int i = 0; i < n; i++) {
			assert_int_equal(scpp_wire_reply_next(&r, &got), 1);
			assert_true(record_equal(&want[i], &got));
			assert_int_equal(write_record(&w2, &got), 0);
		}
		assert_int_equal(scpp_wire_reply_next(&r, &got), 0);
		assert_int_equal(r.off, w.len);
		assert_int_equal(w2.len, w.len);
		assert_memory_equal(buf, buf2, w.len);

		/* Incremental: bytes arrive in random-sized pieces. */
		scpp_wire_reply_reader_init(&r, buf, 0);
		fed = 0;
		k = 0;
		for (;;) {
			int rc = scpp_wire_reply_next(&r, &got);

			if (rc == 1) {
				assert_true(k < n);
				assert_true(record_equal(&want[k], &got));
				k++;
				continue;
			}
			if (rc == 0 && fed == w.len)
				break;
			assert_true(rc == -SCPP_E_TRUNCATED || rc == 0);
			assert_true(fed < w.len);
			fed += 1 + test_rand_below(&g.seed, 40);
			if (fed > w.len)
				fed = w.len;
			scpp_wire_reply_reader_feed(&r, buf, fed);
		}
		assert_int_equal(k, n);
	}
}

struct rcase {
	const char *name;
	const uint8_t *d;
	size_t len;
	unsigned int nrec; /* records returned before the verdict */
	int rc;            /* final verdict of scpp_wire_reply_next() */
	size_t off;        /* reader offset at the verdict */
};

/* END: errno, outcome, rows, commands, elapsed_ns, statuses (all 0). */
#define END0 0x13, 0, 0, 0, 0, 0, 0
#define OID16 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16

static void
test_wire_reply_next_rejects_each_malformation(void **state)
{
	const struct rcase cases[] = {
		{"minimal reply", BYTES(0x10, 0, END0), 2, 0, 9},
		{"row, status", BYTES(0x10, 1, 1, 'x', 0x11, 0, 0x12, OID16, 1, 1, 'k', 1, 1, END0),
		 4, 0, 35},
		{"empty", (const uint8_t[]){0}, 0, 0, -SCPP_E_TRUNCATED, 0},
		{"unknown tag 0x15", BYTES(0x15), 0, -SCPP_E_BAD_RECORD, 0},
		{"COPY before COLUMNS", BYTES(0x14, 0, 0, 0, 0, 0, 0), 0, -SCPP_E_BAD_RECORD, 0},
		/* command 3, 2 copies, 300 bytes, 1 offloaded, "dmadev", 1234 ns */
		{"copy", BYTES(0x10, 0, 0x14, 3, 2, 0xac, 0x02, 1, 6, 'd', 'm', 'a', 'd', 'e', 'v',
			       0xd2, 0x09, END0), 3, 0, 24},
		{"copy, empty engine", BYTES(0x10, 0, 0x14, 0, 0, 0, 0, 0, 0, END0), 3, 0, 16},
		{"copy command 255", BYTES(0x10, 0, 0x14, 0xff, 0x01, 0, 0, 0, 0, 0, END0), 3, 0, 17},
		{"copy command 256", BYTES(0x10, 0, 0x14, 0x80, 0x02, 0, 0, 0, 0, 0), 1, -EINVAL, 2},
		{"copy offloaded > copies", BYTES(0x10, 0, 0x14, 0, 1, 0, 2, 0, 0), 1, -EINVAL, 2},
		{"copy engine name too long", BYTES(0x10, 0, 0x14, 0, 1, 0, 1, 65), 1, -EINVAL, 2},
		{"copy engine bad UTF-8", BYTES(0x10, 0, 0x14, 0, 1, 0, 1, 1, 0xff, 0), 1,
		 -SCPP_E_BAD_UTF8, 2},
		{"copy overlong varint", BYTES(0x10, 0, 0x14, 0, 0x80, 0x00, 0, 0, 0, 0), 1,
		 -SCPP_E_BAD_VARINT, 2},
		{"copy cut", BYTES(0x10, 0, 0x14, 0, 1, 0, 1, 0), 1, -SCPP_E_TRUNCATED, 2},
		{"COPY after END", BYTES(0x10, 0, END0, 0x14, 0, 0, 0, 0, 0, 0), 2, -SCPP_E_TRAILING, 9},
		{"unknown tag 0x00", BYTES(0x10, 0, 0x00), 1, -SCPP_E_BAD_RECORD, 2},
		{"ROW before COLUMNS", BYTES(0x11, END0), 0, -SCPP_E_BAD_RECORD, 0},
		{"STATUS before COLUMNS", BYTES(0x12, OID16, 0), 0, -SCPP_E_BAD_RECORD, 0},
		{"END before COLUMNS", BYTES(END0), 0, -SCPP_E_BAD_RECORD, 0},
		{"COLUMNS twice", BYTES(0x10, 0, 0x10, 0), 1, -SCPP_E_BAD_RECORD, 2},
		{"too many columns", BYTES(0x10, 65), 0, -SCPP_E_TOO_MANY, 0},
		{"column name too long", BYTES(0x10, 1, 65), 0, -EINVAL, 0},
		{"column name bad UTF-8", BYTES(0x10, 1, 1, 0xfe), 0, -SCPP_E_BAD_UTF8, 0},
		{"row value unknown type", BYTES(0x10, 1, 0, 0x11, 9), 1, -SCPP_E_BAD_VALUE_TYPE, 3},
		{"row bad bool", BYTES(0x10, 1, 0, 0x11, 1, 7), 1, -EINVAL, 3},
		{"row string bad UTF-8", BYTES(0x10, 1, 0, 0x11, 5, 1, 0xc1), 1, -SCPP_E_BAD_UTF8, 3},
		{"row overlong varint", BYTES(0x10, 1, 0, 0x11, 3, 0x80, 0x00), 1,
		 -SCPP_E_BAD_VARINT, 3},
		{"status too many fields", BYTES(0x10, 0, 0x12, OID16, 33), 1, -SCPP_E_TOO_MANY, 2},
		{"status OID cut", BYTES(0x10, 0, 0x12, 1, 2, 3), 1, -SCPP_E_TRUNCATED, 2},
		{"END errno over 32 bits", BYTES(0x10, 0, 0x13, 0x80, 0x80, 0x80, 0x80, 0x10, 0, 0,
						 0, 0),
		 1, -SCPP_E_BAD_VARINT, 2},
		{"bad outcome byte", BYTES(0x10, 0, 0x13, 0, 3, 0, 0, 0), 1, -EINVAL, 2},
		{"END cut", BYTES(0x10, 0, 0x13, 0, 0, 0, 0), 1, -SCPP_E_TRUNCATED, 2},
		{"bytes after END", BYTES(0x10, 0, END0, 0x10), 2, -SCPP_E_TRAILING, 9},
	};
	struct scpp_wire_reply_reader r;
	(void)state;

	for (size_t i = 0; i < SCPP_ARRAY_SIZE(cases); i++) {
		const struct rcase *c = &cases[i];
		unsigned int n = 0;
		int rc;

		scpp_wire_reply_reader_init(&r, c->d, c->len);
		while ((rc = scpp_wire_reply_next(&r, &got)) == 1)
			n++;
		if (rc != c->rc || n != c->nrec || r.off != c->off)
			fail_msg("%s: got %d (%s) after %u records at %zu, want %d after %u at %zu",
				 c->name, rc, scpp_strerror(rc), n, r.off, c->rc, c->nrec, c->off);
		/* The verdict is sticky: asking again gives the same answer. */
		assert_int_equal(scpp_wire_reply_next(&r, &got), rc);
	}
}

static void
test_wire_reply_next_consumes_nothing_until_a_record_is_complete(void **state)
{
	static const uint8_t d[] = {0x10, 2, 1, 'a', 1, 'b', 0x11, 5, 3, 'x', 'y', 'z', 7,
				    OID16, END0};
	struct scpp_wire_reply_reader r;
	(void)state;

	scpp_wire_reply_reader_init(&r, d, 0);
	for (size_t len = 0; len < 6; len++) {
		scpp_wire_reply_reader_feed(&r, d, len);
		assert_int_equal(scpp_wire_reply_next(&r, &got), -SCPP_E_TRUNCATED);
		assert_int_equal(r.off, 0);
		assert_int_equal(r.state, 0);
	}
	scpp_wire_reply_reader_feed(&r, d, 6);
	assert_int_equal(scpp_wire_reply_next(&r, &got), 1);
	assert_int_equal(got.columns.n, 2);
	assert_int_equal(r.off, 6);
	for (size_t len = 6; len < 29; len++) {
		scpp_wire_reply_reader_feed(&r, d, len);
		assert_int_equal(scpp_wire_reply_next(&r, &got), -SCPP_E_TRUNCATED);
		assert_int_equal(r.off, 6);
	}
	scpp_wire_reply_reader_feed(&r, d, 29);
	assert_int_equal(scpp_wire_reply_next(&r, &got), 1);
	assert_int_equal(got.type, SCPP_REC_ROW);
	assert_int_equal(got.row.n, 2);
	assert_int_equal(got.row.v[0].len, 3);
	assert_memory_equal(got.row.v[0].p, "xyz", 3);
	assert_int_equal(got.row.v[1].type, SCPP_VT_OID);
	scpp_wire_reply_reader_feed(&r, d, sizeof(d) - 1);
	assert_int_equal(scpp_wire_reply_next(&r, &got), -SCPP_E_TRUNCATED);
	scpp_wire_reply_reader_feed(&r, d, sizeof(d));
	assert_int_equal(scpp_wire_reply_next(&r, &got), 1);
	assert_int_equal(got.type, SCPP_REC_END);
	assert_int_equal(scpp_wire_reply_next(&r, &got), 0);
}

static void
test_wire_reply_writer_enforces_order_limits_and_space(void **state)
{
	struct scpp_wire_name names[SCPP_WIRE_VARS_MAX + 1], bad = {"\xff", 1};
	struct scpp_value vals[SCPP_WIRE_FIELDS_MAX + 1];
	struct scpp_wire_reply_writer w;
	struct scpp_wire_reply_reader r;
	uint8_t small[4];
	(void)state;

	for (unsigned int i = 0; i <= SCPP_WIRE_VARS_MAX; i++)
		names[i] = (struct scpp_wire_name){"c", 1};
	for (unsigned int i = 0; i <= SCPP_WIRE_FIELDS_MAX; i++)
		vals[i] = scpp_value_u64(i);

	scpp_wire_reply_writer_init(&w, buf, sizeof(buf));
	/* Nothing before COLUMNS. */
	assert_int_equal(scpp_wire_reply_row(&w, vals), -EINVAL);
	assert_int_equal(scpp_wire_reply_status(&w, SCPP_OID_NIL, NULL, NULL, 0), -EINVAL);
	assert_int_equal(scpp_wire_reply_end(&w, 0, 0, 0, 0, 0), -EINVAL);
	assert_int_equal(scpp_wire_reply_copy(&w, &(struct scpp_wire_copy_result){0}), -EINVAL);
	/* Column limits and names. */
	assert_int_equal(scpp_wire_reply_columns(&w, names, SCPP_WIRE_VARS_MAX + 1), -EINVAL);
	names[3] = bad;
	assert_int_equal(scpp_wire_reply_columns(&w, names, 4), -EINVAL);
	names[3] = (struct scpp_wire_name){"c", SCPP_WIRE_NAME_MAX + 1};
	assert_int_equal(scpp_wire_reply_columns(&w, names, 4), -EINVAL);
	names[3] = (struct scpp_wire_name){"c", 1};
	assert_int_equal(w.len, 0);
	assert_int_equal(scpp_wire_reply_columns(&w, names, SCPP_WIRE_VARS_MAX), 0);
	assert_int_equal(scpp_wire_reply_columns(&w, names, 1), -EINVAL);
	/* Status limits, unknown value types. */
	assert_int_equal(scpp_wire_reply_status(&w, SCPP_OID_NIL, names, vals,
						SCPP_WIRE_FIELDS_MAX + 1),
			 -EINVAL);
	assert_int_equal(scpp_wire_reply_status(&w, SCPP_OID_NIL, names, vals,
						SCPP_WIRE_FIELDS_MAX),
			 0);
	vals[0].type = SCPP_VT_COUNT;
	assert_int_equal(scpp_wire_reply_status(&w, SCPP_OID_NIL, names, vals, 1), -EINVAL);
	vals[0] = scpp_value_u64(0);
	/* COPY: command index, offloaded against copies, the engine's name. */
	{
		struct scpp_wire_copy_result c = {.cmd = SCPP_WIRE_CMDS_MAX, .copies = 2,
						  .offloaded = 2, .engine = {"dmadev", 6}};
		size_t at = w.len;

		assert_int_equal(scpp_wire_reply_copy(&w, &c), -EINVAL);
		c.cmd = SCPP_WIRE_CMDS_MAX - 1;
		c.offloaded = 3;
		assert_int_equal(scpp_wire_reply_copy(&w, &c), -EINVAL);
		c.offloaded = 2;
		c.engine = bad;
		assert_int_equal(scpp_wire_reply_copy(&w, &c), -EINVAL);
		c.engine = (struct scpp_wire_name){"c", SCPP_WIRE_NAME_MAX + 1};
		assert_int_equal(scpp_wire_reply_copy(&w, &c), -EINVAL);
		assert_int_equal(w.len, at);
		c.engine = (struct scpp_wire_name){"dmadev", 6};
		assert_int_equal(scpp_wire_reply_copy(&w, &c), 0);
	}
	/* Bad outcome; then END closes the reply. */
	assert_int_equal(scpp_wire_reply_end(&w, 0, SCPP_OUTCOME_COUNT, 0, 0, 0), -EINVAL);
	assert_int_equal(scpp_wire_reply_end(&w, 5, SCPP_OUTCOME_ABORTED, 0, 2, 1000), 0);
	assert_int_equal(scpp_wire_reply_end(&w, 5, SCPP_OUTCOME_ABORTED, 0, 2, 1000), -EINVAL);
	/* The reader accepts everything the writer wrote. */
	scpp_wire_reply_reader_init(&r, buf, w.len);
	assert_int_equal(scpp_wire_reply_next(&r, &got), 1);
	assert_int_equal(got.columns.n, SCPP_WIRE_VARS_MAX);
	assert_int_equal(scpp_wire_reply_next(&r, &got), 1);
	assert_int_equal(got.status.n, SCPP_WIRE_FIELDS_MAX);
	assert_int_equal(scpp_wire_reply_next(&r, &got), 1);
	assert_int_equal(got.type, SCPP_REC_COPY);
	assert_int_equal(got.copy.cmd, SCPP_WIRE_CMDS_MAX - 1);
	assert_int_equal(got.copy.offloaded, 2);
	assert_int_equal(got.copy.engine.len, 6);
	assert_memory_equal(got.copy.engine.p, "dmadev", 6);
	assert_int_equal(scpp_wire_reply_next(&r, &got), 1);
	assert_int_equal(got.end.err, 5);
	assert_int_equal(got.end.outcome, SCPP_OUTCOME_ABORTED);
	assert_int_equal(scpp_wire_reply_next(&r, &got), 0);

	/* Out of space: nothing written, and the state does not advance. */
	scpp_wire_reply_writer_init(&w, small, sizeof(small));
	assert_int_equal(scpp_wire_reply_columns(&w, names, 2), -ENOSPC);
	assert_int_equal(w.len, 0);
	assert_int_equal(scpp_wire_reply_columns(&w, names, 1), 0); /* 10 01 01 'c' */
	assert_int_equal(w.len, 4);
	assert_int_equal(scpp_wire_reply_row(&w, vals), -ENOSPC);
	assert_int_equal(scpp_wire_reply_copy(&w, &(struct scpp_wire_copy_result){0}), -ENOSPC);
	assert_int_equal(w.len, 4);
	/* The caller drains the buffer and continues. */
	w.len = 0;
	assert_int_equal(scpp_wire_reply_row(&w, vals), 0);
	assert_int_equal(w.len, 3);
}

/* Write one ROW of @p n values into @p size bytes and compare it with
 * scpp_value_encode()'s bytes of the same values: equal when it fits,
 * -ENOSPC with nothing written when it does not. */
static void
row_vs_value_encode(const struct scpp_value *v, unsigned int n, size_t size)
{
	static const struct scpp_wire_name names[3] = {{"a", 1}, {"b", 1}, {"c", 1}};
	struct scpp_wire_reply_writer w;
	size_t expect = 1, at;
	int rc;

	buf2[0] = SCPP_REC_ROW;
	for (unsigned int i = 0; i < n; i++) {
		int k = scpp_value_encode(buf2 + expect, sizeof(buf2) - expect, &v[i]);

		assert_true(k > 0);
		expect += (size_t)k;
	}
	scpp_wire_reply_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(scpp_wire_reply_columns(&w, names, (uint16_t)n), 0);
	at = w.len;
	w.size = at + size;
	memset(buf + at, 0xee, size);
	rc = scpp_wire_reply_row(&w, v);
	if (expect <= size) {
		assert_int_equal(rc, 0);
		assert_int_equal(w.len - at, expect);
		assert_memory_equal(buf + at, buf2, expect);
	} else {
		assert_int_equal(rc, -ENOSPC);
		assert_int_equal(w.len, at);
	}
}

/* Rows of every value type, strings and bytes of every length 0..40 (the
 * inline short copies and the memcpy() beyond them) read from the last
 * bytes before an inaccessible page, alone and between other values, with
 * room to spare, exactly enough room and one byte less: the writer's bytes
 * are scpp_value_encode()'s. */
static void
test_wire_reply_row_values_equal_value_encode(void **state)
{
	const long pg = sysconf(_SC_PAGESIZE);
	uint8_t *page = mmap(NULL, 2 * (size_t)pg, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	const struct scpp_oid o = {0x0102030405060708ull, 0x1112131415161718ull};
	struct scpp_value fixed[] = {
		scpp_value_nil(), scpp_value_bool(true), scpp_value_bool(false),
		scpp_value_i64(0), scpp_value_i64(-1), scpp_value_i64(INT64_MIN),
		scpp_value_u64(0), scpp_value_u64(0x7f), scpp_value_u64(0x80),
		scpp_value_u64(0x3fff), scpp_value_u64(0x4000), scpp_value_u64(UINT64_MAX),
		scpp_value_f64(-2.5), scpp_value_oid(o),
	};
	struct scpp_value v[3];
	(void)state;

	assert_true(page != MAP_FAILED);
	assert_int_equal(mprotect(page + pg, (size_t)pg, PROT_NONE), 0);
	for (long i = 0; i < pg; i++)
		page[i] = (uint8_t)('a' + i % 26);
	for (size_t f = 0; f < SCPP_ARRAY_SIZE(fixed); f++) {
		v[0] = fixed[f];
		row_vs_value_encode(v, 1, 4096);
		row_vs_value_encode(v, 1, (size_t)scpp_value_encoded_size(v) + 1);
		row_vs_value_encode(v, 1, (size_t)scpp_value_encoded_size(v));
	}
	for (uint32_t len = 0; len <= 40; len++)
		for (unsigned int t = 0; t < 2; t++) {
			const uint8_t *src = page + pg - len;
			size_t exact;

			v[0] = t == 0 ? scpp_value_str((const char *)src, len)
				      : scpp_value_bytes(src, len);
			for (size_t f = 0; f < SCPP_ARRAY_SIZE(fixed); f++) {
				v[1] = fixed[f];
				v[2] = v[0];
				exact = 1 + 2 * (size_t)scpp_value_encoded_size(&v[0]) +
					(size_t)scpp_value_encoded_size(&v[1]);
				row_vs_value_encode(v, 3, 4096);
				row_vs_value_encode(v, 3, exact);
				row_vs_value_encode(v, 3, exact - 1);
			}
			row_vs_value_encode(v, 1, 4096);
			exact = 1 + (size_t)scpp_value_encoded_size(&v[0]);
			row_vs_value_encode(v, 1, exact);
			row_vs_value_encode(v, 1, exact - 1);
		}
	munmap(page, 2 * (size_t)pg);
}

/* END's status count: by default the STATUS records written; explicitly,
 * the statuses produced (more when some were left out). */
static void
test_wire_reply_end_counts_statuses(void **state)
{
	struct scpp_wire_name k = {"k", 1};
	struct scpp_value v = scpp_value_u64(1);
	struct scpp_wire_reply_writer w;
	struct scpp_wire_reply_reader r;
	(void)state;

	for (int ex = 0; ex < 2; ex++) {
		scpp_wire_reply_writer_init(&w, buf, sizeof(buf));
		assert_int_equal(scpp_wire_reply_columns(&w, NULL, 0), 0);
		assert_int_equal(scpp_wire_reply_status(&w, SCPP_OID_NIL, &k, &v, 1), 0);
		assert_int_equal(scpp_wire_reply_status(&w, SCPP_OID_NIL, &k, &v, 1), 0);
		assert_int_equal(w.nstatus, 2);
		if (ex)
			assert_int_equal(scpp_wire_reply_end_ex(&w, 2, SCPP_OUTCOME_ERRORS, 0, 9, 5, 300),
					 0);
		else
			assert_int_equal(scpp_wire_reply_end(&w, 2, SCPP_OUTCOME_ERRORS, 0, 9, 5), 0);
		scpp_wire_reply_reader_init(&r, buf, w.len);
		while (scpp_wire_reply_next(&r, &got) == 1 && got.type != SCPP_REC_END)
			;
		assert_int_equal(got.type, SCPP_REC_END);
		assert_true(got.end.statuses == (ex ? 300u : 2u));
		assert_true(got.end.commands == 9 && got.end.elapsed_ns == 5);
	}
}

/* ---- cookies, FETCH and NOTICE ---- */

static void
test_wire_dgram_cookie_sits_between_payload_and_tag(void **state)
{
	static const uint8_t cookie[SCPP_WIRE_COOKIE_LEN] = {
		0xc0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0xce};
	static const uint8_t tag[3] = {0xa1, 0xa2, 0xa3};
	struct scpp_wire_hdr h = {
		.kind = SCPP_WIRE_BLOCK, .flags = SCPP_WIRE_F_LAST | SCPP_WIRE_F_COOKIE,
		.tag_len = 3, .payload_len = 4, .client_id = 5, .block_id = 6,
		.frag_count = 1, .payload = (const uint8_t *)"\0\0\0\0", .cookie = cookie,
		.tag = tag,
	}, d;
	uint8_t out[64];
	(void)state;

	assert_int_equal(scpp_wire_dgram_len(&h), 32 + 4 + 16 + 3);
	assert_int_equal(scpp_wire_dgram_encode(out, sizeof(out), &h), 55);
	assert_memory_equal(out + 36, cookie, 16);
	assert_memory_equal(out + 52, tag, 3);
	assert_int_equal(scpp_wire_hdr_decode(out, 55, &d), 0);
	assert_ptr_equal(d.cookie, out + 36);
	assert_ptr_equal(d.tag, out + 52);
	/* The cookie counts in the length: one byte short is truncated. */
	assert_int_equal(scpp_wire_hdr_decode(out, 54, &d), -SCPP_E_TRUNCATED);
	/* A NULL cookie is written as zeros; without the flag there is none. */
	h.cookie = NULL;
	assert_int_equal(scpp_wire_dgram_encode(out, sizeof(out), &h), 55);
	for (int i = 36; i < 52; i++)
		assert_int_equal(out[i], 0);
	h.flags = SCPP_WIRE_F_LAST;
	assert_int_equal(scpp_wire_dgram_encode(out, sizeof(out), &h), 39);
	assert_int_equal(scpp_wire_hdr_decode(out, 39, &d), 0);
	assert_null(d.cookie);
	/* Node kinds never carry one. */
	h.kind = SCPP_WIRE_REPLY;
	h.frag_count = 0;
	h.flags = SCPP_WIRE_F_LAST | SCPP_WIRE_F_COOKIE;
	assert_int_equal(scpp_wire_dgram_encode(out, sizeof(out), &h), -EINVAL);
}

static void
test_wire_fetch_round_trips_and_rejects_each_malformation(void **state)
{
	struct scpp_wire_fetch f = {.owner = {0x0102030405060708ull, 0x1112131415161718ull}}, d;
	uint8_t out[SCPP_WIRE_FETCH_LEN(SCPP_WIRE_FETCH_RANGES_MAX) + 8];
	int n;
	(void)state;

	/* Documented layout: owner hi, lo (LE), count, (first, count) pairs. */
	f.nranges = 2;
	f.range[0] = (struct scpp_wire_range){3, 2};
	f.range[1] = (struct scpp_wire_range){5, UINT32_MAX - 5 + 1};
	n = scpp_wire_fetch_encode(out, sizeof(out), &f);
	assert_int_equal(n, 33);
	assert_memory_equal(out, "\x08\x07\x06\x05\x04\x03\x02\x01"
				 "\x18\x17\x16\x15\x14\x13\x12\x11\x02"
				 "\x03\0\0\0\x02\0\0\0\x05\0\0\0\xfb\xff\xff\xff", 33);
	assert_int_equal(scpp_wire_fetch_decode(out, 33, &d), 0);
	assert_true(scpp_oid_eq(d.owner, f.owner) && d.nranges == 2);
	assert_true(d.range[1].first == 5 && d.range[1].count == UINT32_MAX - 4);
	assert_int_equal(scpp_wire_fetch_decode(out, 32, &d), -SCPP_E_TRUNCATED);
	assert_int_equal(scpp_wire_fetch_decode(out, 16, &d), -SCPP_E_TRUNCATED);
	out[33] = 0;
	assert_int_equal(scpp_wire_fetch_decode(out, 34, &d), -SCPP_E_TRAILING);
	/* The maximum number of ranges, then one more. */
	f.nranges = SCPP_WIRE_FETCH_RANGES_MAX;
	for (unsigned int i = 0; i < f.nranges; i++)
		f.range[i] = (struct scpp_wire_range){10 * i, 1 + i % 9};
	n = scpp_wire_fetch_encode(out, sizeof(out), &f);
	assert_int_equal(n, (int)SCPP_WIRE_FETCH_LEN(SCPP_WIRE_FETCH_RANGES_MAX));
	assert_int_equal(scpp_wire_fetch_decode(out, (size_t)n, &d), 0);
	assert_memory_equal(d.range, f.range, sizeof(f.range));
	assert_int_equal(scpp_wire_fetch_encode(out, (size_t)n - 1, &f), -ENOSPC);
	out[16] = SCPP_WIRE_FETCH_RANGES_MAX + 1;
	assert_int_equal(scpp_wire_fetch_decode(out, (size_t)n + 8, &d), -SCPP_E_TOO_MANY);
	f.nranges = SCPP_WIRE_FETCH_RANGES_MAX + 1;
	assert_int_equal(scpp_wire_fetch_encode(out, sizeof(out), &f), -EINVAL);
	/* One bad range at a time: none, empty, wrapping, overlapping, unordered. */
	static const struct {
		const char *name;
		uint8_t n;
		struct scpp_wire_range r[2];
	} bad[] = {
		{"no range", 0, {{0, 1}}},
		{"count 0", 1, {{4, 0}}},
		{"past 2^32", 1, {{UINT32_MAX, 2}}},
		{"overlapping", 2, {{4, 3}, {6, 1}}},
		{"unordered", 2, {{9, 1}, {2, 1}}},
	};
	for (size_t i = 0; i < SCPP_ARRAY_SIZE(bad); i++) {
		f.nranges = bad[i].n;
		memcpy(f.range, bad[i].r, sizeof(bad[i].r));
		if (scpp_wire_fetch_encode(out, sizeof(out), &f) != -EINVAL)
			fail_msg("%s: encoded", bad[i].name);
		out[16] = bad[i].n;
		for (unsigned int k = 0; k < bad[i].n; k++) {
			memcpy(out + 17 + 8 * k, &bad[i].r[k].first, 4);
			memcpy(out + 21 + 8 * k, &bad[i].r[k].count, 4);
		}
		if (scpp_wire_fetch_decode(out, SCPP_WIRE_FETCH_LEN(bad[i].n), &d) !=
		    -SCPP_E_BAD_FRAGMENT)
			fail_msg("%s: decoded", bad[i].name);
	}
	/* Adjacent ranges are fine (first == previous first + count). */
	f.nranges = 2;
	f.range[0] = (struct scpp_wire_range){4, 3};
	f.range[1] = (struct scpp_wire_range){7, 1};
	assert_int_equal(scpp_wire_fetch_encode(out, sizeof(out), &f), 33);
}

static void
test_wire_notice_round_trips_and_rejects_each_malformation(void **state)
{
	struct scpp_wire_notice n, d;
	uint8_t out[64];
	int len;
	(void)state;

	for (uint8_t code = 1; code < SCPP_NOTICE_COUNT; code++) {
		memset(&n, 0, sizeof(n));
		n.code = code;
		if (code == SCPP_NOTICE_BUSY)
			n.retry_ms = 250;
		if (code == SCPP_NOTICE_COOKIE) {
			n.reply_bytes = 70000;
			n.reply_dgrams = 49;
			for (int i = 0; i < SCPP_WIRE_COOKIE_LEN; i++)
				n.cookie[i] = (uint8_t)(0x40 + i);
		}
		len = scpp_wire_notice_encode(out, sizeof(out), &n);
		assert_int_equal(len, code == SCPP_NOTICE_COOKIE ? 28 : 12);
		assert_int_equal(out[0], code);
		assert_int_equal(out[1], 0);
		assert_int_equal(scpp_wire_notice_decode(out, (size_t)len, &d), 0);
		assert_memory_equal(&d, &n, sizeof(n));
		assert_int_equal(scpp_wire_notice_decode(out, (size_t)len - 1, &d),
				 -SCPP_E_TRUNCATED);
		out[len] = 0;
		assert_int_equal(scpp_wire_notice_decode(out, (size_t)len + 1, &d),
				 -SCPP_E_TRAILING);
		assert_int_equal(scpp_wire_notice_encode(out, (size_t)len - 1, &n), -ENOSPC);
	}
	/* Documented bytes of a COOKIE notice. */
	memset(&n, 0, sizeof(n));
	n.code = SCPP_NOTICE_COOKIE;
	n.reply_bytes = 70000;
	n.reply_dgrams = 49;
	n.cookie[0] = 0x40;
	n.cookie[1] = 0x41;
	assert_int_equal(scpp_wire_notice_encode(out, sizeof(out), &n), 28);
	assert_memory_equal(out, "\x01\x00\x00\x00\x70\x11\x01\x00\x31\0\0\0\x40\x41", 14);
	memset(&n, 0, sizeof(n));
	n.code = 0;
	assert_int_equal(scpp_wire_notice_encode(out, sizeof(out), &n), -EINVAL);
	n.code = SCPP_NOTICE_COUNT;
	assert_int_equal(scpp_wire_notice_encode(out, sizeof(out), &n), -EINVAL);
	/* A field the code does not use must be zero. */
	n.code = SCPP_NOTICE_REPLY_LOST;
	n.retry_ms = 1;
	assert_int_equal(scpp_wire_notice_encode(out, sizeof(out), &n), -EINVAL);
	n.retry_ms = 0;
	n.reply_bytes = 1;
	assert_int_equal(scpp_wire_notice_encode(out, sizeof(out), &n), -EINVAL);
	n.reply_bytes = 0;
	assert_int_equal(scpp_wire_notice_encode(out, sizeof(out), &n), 12);
	out[1] = 1;
	assert_int_equal(scpp_wire_notice_decode(out, 12, &d), -SCPP_E_BAD_FLAGS);
	out[1] = 0;
	out[8] = 1;
	assert_int_equal(scpp_wire_notice_decode(out, 12, &d), -SCPP_E_BAD_FLAGS);
	out[8] = 0;
	out[0] = 9;
	assert_int_equal(scpp_wire_notice_decode(out, 12, &d), -SCPP_E_BAD_KIND);
	assert_int_equal(scpp_wire_notice_decode(out, 3, &d), -SCPP_E_TRUNCATED);
}

/* ---- the owner rule and incremental decoding ---- */

static int
t_oid(struct scpp_wire_block *b, struct scpp_oid o)
{
	struct scpp_value v = scpp_value_oid(o);

	return scpp_wire_term_const(b, &v);
}

static int
t_str(struct scpp_wire_block *b, const char *s)
{
	struct scpp_value v = scpp_value_cstr(s);

	return scpp_wire_term_const(b, &v);
}

static void
test_wire_owner_is_first_constant_entity_outside_well_known(void **state)
{
	const struct scpp_oid schema = scpp_oid_make(0, 0, 0, 0, 7);
	const struct scpp_oid a = scpp_oid_make(0, 1, 2, 1, 0x10);
	const struct scpp_oid b = scpp_oid_make(0, 1, 3, 1, 0x11);
	struct scpp_oid o;
	int v, name, addr;
	(void)state;

	/* No commands, or only a create: no owner. */
	scpp_wire_block_init(&blk);
	assert_false(scpp_wire_block_owner(&blk, &o));
	v = scpp_wire_block_var(&blk, "x", 1);
	name = t_str(&blk, "name");
	assert_int_equal(scpp_wire_block_cmd(&blk, SCPP_OP_CREATE, scpp_wire_term_var(&blk, 0),
					     t_str(&blk, "User"), 0, -1), 0);
	assert_false(scpp_wire_block_owner(&blk, &o));
	/* A variable entity, a well-known entity and an OID in a value
	 * position are skipped; the next command's constant entity counts. */
	assert_int_equal(scpp_wire_block_cmd(&blk, SCPP_OP_GET, scpp_wire_term_var(&blk, 0),
					     name, t_oid(&blk, a), -1), 1);
	assert_int_equal(scpp_wire_block_cmd(&blk, SCPP_OP_GET, t_oid(&blk, schema), name,
					     scpp_wire_term_var(&blk, 0), -1), 2);
	assert_false(scpp_wire_block_owner(&blk, &o));
	assert_false(scpp_wire_cmd_owner(&blk, 1, &o));
	assert_int_equal(scpp_wire_block_cmd(&blk, SCPP_OP_SET, t_oid(&blk, b), name,
					     t_oid(&blk, a), -1), 3);
	assert_true(scpp_wire_block_owner(&blk, &o));
	assert_true(scpp_oid_eq(o, b));
	assert_true(scpp_wire_cmd_owner(&blk, 3, &o) && scpp_oid_eq(o, b));
	(void)v;

	/* copy: the entity under offset(offset(value(e, a), 1), 2), the
	 * destination before the source. */
	scpp_wire_block_init(&blk);
	name = t_str(&blk, "data");
	addr = scpp_wire_term_value(&blk, t_oid(&blk, a), name);
	addr = scpp_wire_term_offset(&blk, addr, t_oid(&blk, schema));
	addr = scpp_wire_term_offset(&blk, addr, t_oid(&blk, schema));
	assert_int_equal(scpp_wire_block_cmd(&blk, SCPP_OP_COPY, addr,
					     scpp_wire_term_value(&blk, t_oid(&blk, b), name),
					     t_oid(&blk, b), -1), 0);
	assert_true(scpp_wire_block_owner(&blk, &o));
	assert_true(scpp_oid_eq(o, a));
	/* A well-known destination entity: the source's entity owns it. */
	scpp_wire_block_init(&blk);
	name = t_str(&blk, "data");
	assert_int_equal(scpp_wire_block_cmd(&blk, SCPP_OP_COPY,
					     scpp_wire_term_value(&blk, t_oid(&blk, schema), name),
					     scpp_wire_term_value(&blk, t_oid(&blk, b), name),
					     t_oid(&blk, a), -1), 0);
	assert_true(scpp_wire_block_owner(&blk, &o));
	assert_true(scpp_oid_eq(o, b));
}

/* ---- expressions and guards ---- */

static void
test_wire_owner_rule_reads_store_operators_and_guards(void **state)
{
	const struct scpp_oid a = scpp_oid_make(0, 1, 2, 1, 5), b = scpp_oid_make(0, 1, 3, 1, 6);
	const struct scpp_oid schema = scpp_oid_make(0, 0, 0, 0, 9);
	struct scpp_oid o;
	int v, x, y, e, n;
	(void)state;

	/* let %v add(a, 1): an OID as an operand of a pure operator is data. */
	scpp_wire_block_init(&blk);
	v = scpp_wire_block_var(&blk, "v", 1);
	x = scpp_wire_term_op(&blk, SCPP_XOP_ADD, t_oid(&blk, a), t_str(&blk, "m"), -1);
	assert_true(x >= 0);
	assert_int_equal(scpp_wire_block_cmd(&blk, SCPP_OP_LET, scpp_wire_term_var(&blk, 0), x,
					     -1, -1), 0);
	assert_false(scpp_wire_block_owner(&blk, &o));
	/* ... and as the entity of val(), but a well-known one is skipped: the
	 * owner is b, inside the second operand of if(). */
	y = scpp_wire_term_op(&blk, SCPP_XOP_VAL, t_oid(&blk, schema), t_str(&blk, "name"), -1);
	e = scpp_wire_term_op(&blk, SCPP_XOP_CARD, t_oid(&blk, b), t_str(&blk, "m"), -1);
	n = scpp_wire_term_op(&blk, SCPP_XOP_IF, y, e, x);
	assert_true(n >= 0);
	assert_int_equal(scpp_wire_block_cmd(&blk, SCPP_OP_WHERE, n, -1, -1, -1), 1);
	assert_true(scpp_wire_block_owner(&blk, &o) && scpp_oid_eq(o, b));
	/* read()'s address names the entity like copy's; a guard counts after
	 * the command's own terms. */
	scpp_wire_block_init(&blk);
	v = scpp_wire_block_var(&blk, "v", 1);
	x = scpp_wire_term_value(&blk, t_oid(&blk, a), t_str(&blk, "data"));
	x = scpp_wire_term_offset(&blk, x, t_str(&blk, "n"));
	x = scpp_wire_term_op(&blk, SCPP_XOP_READ, x, t_str(&blk, "n"), -1);
	assert_true(x >= 0);
	assert_int_equal(scpp_wire_block_cmd(&blk, SCPP_OP_WHERE, t_str(&blk, "p"), -1, -1, -1), 0);
	assert_false(scpp_wire_cmd_owner(&blk, 0, &o));
	assert_int_equal(scpp_wire_block_guard(&blk, 0, x), 0);
	assert_true(scpp_wire_cmd_owner(&blk, 0, &o) && scpp_oid_eq(o, a));
	assert_int_equal(scpp_wire_block_guard(&blk, 0, x), -EINVAL); /* one guard */
	assert_int_equal(scpp_wire_block_guard(&blk, 1, x), -EINVAL); /* no command 1 */
	/* The decoder agrees (incremental decode stops at the owner). */
	assert_int_equal(scpp_wire_block_encode(&blk, buf, sizeof(buf)),
			 (int)scpp_wire_block_encoded_size(&blk));
	assert_int_equal(scpp_wire_block_decode(buf, scpp_wire_block_encoded_size(&blk), &blk2,
						NULL), 0);
	assert_true(scpp_wire_block_equal(&blk, &blk2));
	assert_true(scpp_wire_block_owner(&blk2, &o) && scpp_oid_eq(o, a));
	(void)v;
}

/* where not(not(...not(true)...)): @p n operators deep. */
static size_t
bb_where_nots(unsigned int n)
{
	bb.n = 0;
	bb_u8(0), bb_var(0), bb_var(0), bb_var(1);
	bb_u8(SCPP_OP_WHERE), bb_u8(0);
	for (unsigned int i = 0; i < n; i++)
		bb_u8(SCPP_TERM_OP), bb_u8(SCPP_XOP_NOT);
	bb_u8(SCPP_TERM_CONST), bb_u8(SCPP_VT_BOOL), bb_u8(1);
	return bb.n;
}

static void
test_wire_expression_nesting_and_builder_checks(void **state)
{
	struct scpp_value t = scpp_value_bool(true);
	uint32_t off;
	int c, x, v, k, a;
	(void)state;

	/* Decoder: 16 operators deep is the maximum; the 17th is E_NESTING at
	 * its tag byte (4 head bytes, 2 command bytes, 16 x 2 bytes). */
	bb_where_nots(SCPP_WIRE_EXPR_DEPTH_MAX);
	assert_int_equal(scpp_wire_block_decode(bb.d, bb.n, &blk, &off), 0);
	assert_int_equal(scpp_wire_block_encode(&blk, buf, sizeof(buf)), (int)bb.n);
	assert_memory_equal(buf, bb.d, bb.n);
	bb_where_nots(SCPP_WIRE_EXPR_DEPTH_MAX + 1);
	assert_int_equal(scpp_wire_block_decode(bb.d, bb.n, &blk, &off), -SCPP_E_NESTING);
	assert_int_equal(off, 4 + 2 + 2 * SCPP_WIRE_EXPR_DEPTH_MAX);
	/* Every proper prefix is truncated. */
	bb_where_nots(5);
	for (size_t cut = 0; cut < bb.n; cut++)
		assert_int_equal(scpp_wire_block_decode(bb.d, cut, &blk, NULL), -SCPP_E_TRUNCATED);

	/* Builder: the same limit, operands checked against their positions. */
	scpp_wire_block_init(&blk);
	v = scpp_wire_block_var(&blk, "v", 1);
	c = scpp_wire_term_const(&blk, &t);
	x = c;
	for (int i = 0; i < SCPP_WIRE_EXPR_DEPTH_MAX; i++) {
		x = scpp_wire_term_op(&blk, SCPP_XOP_NOT, x, -1, -1);
		assert_true(x >= 0);
	}
	assert_int_equal(scpp_wire_term_op(&blk, SCPP_XOP_NOT, x, -1, -1), -SCPP_E_NESTING);
	/* ... a deep operand on one side is enough. */
	assert_int_equal(scpp_wire_term_op(&blk, SCPP_XOP_AND, c, x, -1), -SCPP_E_NESTING);
	assert_int_equal(scpp_wire_term_op(&blk, 0, c, c, -1), -SCPP_E_BAD_TERM);
	assert_int_equal(scpp_wire_term_op(&blk, SCPP_XOP_COUNT, c, c, -1), -SCPP_E_BAD_TERM);
	assert_int_equal(scpp_wire_term_op(&blk, SCPP_XOP_ADD, c, 999, -1), -SCPP_E_BAD_TERM);
	assert_int_equal(scpp_wire_term_op(&blk, SCPP_XOP_ADD, c, -SCPP_E_TOO_MANY, -1),
			 -SCPP_E_BAD_TERM);
	k = scpp_wire_term_key(&blk, c, c);
	a = scpp_wire_term_value(&blk, c, c);
	assert_int_equal(scpp_wire_term_op(&blk, SCPP_XOP_NOT, k, -1, -1), -SCPP_E_BAD_TERM);
	assert_int_equal(scpp_wire_term_op(&blk, SCPP_XOP_NOT, a, -1, -1), -SCPP_E_BAD_TERM);
	assert_int_equal(scpp_wire_term_op(&blk, SCPP_XOP_READ, c, c, -1), -SCPP_E_BAD_TERM);
	assert_true(scpp_wire_term_op(&blk, SCPP_XOP_READ, a, c, -1) >= 0);
	/* Operands past the arity are ignored; now() takes none. */
	assert_true(scpp_wire_term_op(&blk, SCPP_XOP_NOW, 999, 999, 999) >= 0);
	/* Commands take expressions only where their table says EXPR. */
	assert_int_equal(scpp_wire_block_cmd(&blk, SCPP_OP_GET, x, c, c, -1), -SCPP_E_BAD_TERM);
	assert_int_equal(scpp_wire_block_cmd(&blk, SCPP_OP_LET, c, x, -1, -1), -SCPP_E_BAD_TERM);
	assert_int_equal(scpp_wire_block_cmd(&blk, SCPP_OP_WHERE, k, -1, -1, -1),
			 -SCPP_E_BAD_TERM);
	assert_int_equal(scpp_wire_block_cmd(&blk, SCPP_OP_WRITE, c, c, -1, -1), -SCPP_E_BAD_TERM);
	assert_int_equal(scpp_wire_block_cmd(&blk, SCPP_OP_LET, scpp_wire_term_var(&blk, 0), x,
					     -1, -1), 0);
	assert_int_equal(scpp_wire_block_guard(&blk, 0, k), -SCPP_E_BAD_TERM);
	assert_int_equal(scpp_wire_block_guard(&blk, 0, x), 0);
	assert_int_equal(scpp_wire_block_encode(&blk, buf, sizeof(buf)),
			 (int)scpp_wire_block_encoded_size(&blk));
	assert_int_equal(scpp_wire_block_decode(buf, scpp_wire_block_encoded_size(&blk), &blk2,
						NULL), 0);
	assert_true(scpp_wire_block_equal(&blk, &blk2));
	/* A different guard, or none, is a different block. */
	blk2.cmd[0].flags &= (uint8_t)~SCPP_WIRE_CF_GUARD;
	assert_false(scpp_wire_block_equal(&blk, &blk2));
	(void)v;
}

static void
test_wire_guard_counts_toward_the_term_limit(void **state)
{
	struct scpp_value nil = scpp_value_nil();
	int c, k;
	(void)state;

	/* 204 "get c c[c] c" (5 terms each) + 1 "where c" + a guard of 3 terms
	 * (not(not(c))) = 1024; one more term in any guard is over. */
	scpp_wire_block_init(&blk);
	c = scpp_wire_term_const(&blk, &nil);
	k = scpp_wire_term_key(&blk, c, c);
	for (int i = 0; i < 204; i++)
		assert_int_equal(scpp_wire_block_cmd(&blk, SCPP_OP_GET, c, k, c, -1), i);
	assert_int_equal(scpp_wire_block_cmd(&blk, SCPP_OP_WHERE, c, -1, -1, -1), 204);
	{
		int n1 = scpp_wire_term_op(&blk, SCPP_XOP_NOT, c, -1, -1);
		int n2 = scpp_wire_term_op(&blk, SCPP_XOP_NOT, n1, -1, -1);
		int n3 = scpp_wire_term_op(&blk, SCPP_XOP_NOT, n2, -1, -1);

		assert_int_equal(scpp_wire_block_guard(&blk, 204, n3), -SCPP_E_TOO_MANY);
		assert_int_equal(blk.cmd[204].flags, 0); /* nothing half-applied */
		assert_int_equal(scpp_wire_block_guard(&blk, 204, n2), 0);
		assert_int_equal(scpp_wire_block_guard(&blk, 203, c), -SCPP_E_TOO_MANY);
	}
	assert_int_equal(scpp_wire_block_encoded_size(&blk),
			 scpp_wire_block_encode(&blk, buf, sizeof(buf)));
	assert_int_equal(scpp_wire_block_decode(buf, scpp_wire_block_encoded_size(&blk), &blk2,
						NULL), 0);
	assert_int_equal(blk2.nterms, SCPP_WIRE_TERMS_MAX);
}

static void
test_wire_incremental_decode_matches_whole_decode_and_stops_at_owner(void **state)
{
	struct scpp_wire_block_cursor bc;
	struct scpp_oid ow, og;
	uint32_t off, off2;
	unsigned int owners = 0, none = 0;
	(void)state;

	g.seed = 0x5eed0002;
	for (int i = 0; i < 20000; i++) {
		bool has;
		int n, rc;

		gen_block(&blk, &g);
		has = scpp_wire_block_owner(&blk, &ow);
		n = scpp_wire_block_encode(&blk, buf, sizeof(buf));
		assert_true(n > 0);
		assert_int_equal(scpp_wire_block_decode_begin(&bc, buf, (size_t)n, &blk2, &off), 0);
		assert_int_equal(blk2.ncmds, 0);
		rc = scpp_wire_block_decode_owner(&bc, &blk2, &og, &off);
		assert_int_equal(rc, has ? 1 : 0);
		if (has) {
			unsigned int first = 0;

			owners++;
			assert_true(scpp_oid_eq(og, ow));
			/* Stopped right after the first command with an owner,
			 * or at the end of the leading get run that holds it. */
			while (!scpp_wire_cmd_owner(&blk, first, &og))
				first++;
			if (blk2.ncmds != first + 1) {
				assert_true(blk2.ncmds > first + 1);
				assert_int_equal(blk2.ncmds, blk2.get_run);
			}
			/* Going on completes the same block. */
			while ((rc = scpp_wire_block_decode_next(&bc, &blk2, &off)) == 1)
				;
			assert_int_equal(rc, 0);
		} else {
			none++;
		}
		assert_true(scpp_wire_block_equal(&blk, &blk2));
		assert_int_equal(scpp_wire_block_decode_next(&bc, &blk2, &off), 0);
		/* A cut block fails at the same field, with the same code, as
		 * the whole-block decoder says. */
		if (n > 1) {
			size_t cut = (size_t)test_rand_below(&g.seed, (uint64_t)n);
			int whole = scpp_wire_block_decode(buf, cut, &blk2, &off);

			rc = scpp_wire_block_decode_begin(&bc, buf, cut, &blk2, &off2);
			if (rc == 0)
				while ((rc = scpp_wire_block_decode_next(&bc, &blk2, &off2)) == 1)
					;
			assert_int_equal(rc, whole);
			assert_int_equal(off2, off);
		}
	}
	/* Both kinds of block were generated. */
	assert_true(owners > 1000 && none > 1000);
}

/* ---- FORWARD ---- */

static void
fwd_sample(struct scpp_wire_fwd *f)
{
	static const uint8_t mac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};

	memset(f, 0, sizeof(*f));
	f->inner_kind = SCPP_WIRE_BLOCK;
	f->hops = 1;
	f->origin = 7;
	f->client_ip = htonl(0xc6120001); /* 198.18.0.1 */
	f->client_port = 40000;
	memcpy(f->client_mac, mac, 6);
	f->req_bytes = 77;
}

/* The layout of docs/PROTOCOL.md §18, byte for byte, and back. */
static void
test_wire_fwd_layout_round_trip(void **state)
{
	static const uint8_t fwant[44] = {
		1, 1, 1, 1, 7, 0, 0, 0, 198, 18, 0, 1, 0x40, 0x9c,
		0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 77, 0, 0, 0, 0, 0, 0, 0,
		0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7,
		0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf,
	};
	uint8_t fb[64], msg[64];
	struct scpp_wire_fwd f, d;

	(void)state;
	fwd_sample(&f);
	f.flags = SCPP_WIRE_FWD_F_COOKIE;
	for (int i = 0; i < 16; i++)
		f.cookie[i] = (uint8_t)(0xc0 + i);
	assert_int_equal(scpp_wire_fwd_encode(fb, sizeof(fb), &f), 44);
	assert_memory_equal(fb, fwant, 44);
	memcpy(msg, fb, 44);
	memcpy(msg + 44, "block", 5);
	assert_int_equal(scpp_wire_fwd_decode(msg, 49, &d), 0);
	assert_int_equal(d.inner_kind, 1);
	assert_int_equal(d.hops, 1);
	assert_int_equal(d.origin, 7);
	assert_int_equal(d.client_ip, f.client_ip);
	assert_int_equal(d.client_port, 40000);
	assert_memory_equal(d.client_mac, f.client_mac, 6);
	assert_int_equal(d.req_bytes, 77);
	assert_memory_equal(d.cookie, f.cookie, 16);
	assert_int_equal(d.msg_len, 5);
	assert_ptr_equal(d.msg, msg + 44);
	/* Re-encoding what was decoded gives the same bytes. */
	assert_int_equal(scpp_wire_fwd_encode(fb, sizeof(fb), &d), 44);
	assert_memory_equal(fb, msg, 44);
	assert_int_equal(scpp_wire_fwd_encode(fb, 43, &f), -ENOSPC);
}

/* Every field rule, one broken at a time, in both directions. */
static void
test_wire_fwd_rejects_each_bad_field(void **state)
{
	uint8_t fb[400], good[400];
	struct scpp_wire_fwd f, d;
	int n;

	(void)state;
	fwd_sample(&f);
	n = scpp_wire_fwd_encode(good, sizeof(good), &f);
	assert_int_equal(n, 44);
	assert_int_equal(scpp_wire_fwd_decode(good, 43, &d), -SCPP_E_TRUNCATED);
#define BAD(off, val, code)                                                  \
	do {                                                                 \
		memcpy(fb, good, 44);                                       \
		fb[off] = (val);                                            \
		assert_int_equal(scpp_wire_fwd_decode(fb, 44, &d), code);   \
	} while (0)
	BAD(0, 2, -SCPP_E_BAD_VERSION);
	BAD(1, 2, -SCPP_E_BAD_KIND);
	BAD(1, 5, -SCPP_E_BAD_KIND);
	BAD(2, 0, -SCPP_E_BAD_FLAGS);
	BAD(2, 9, -SCPP_E_TOO_MANY);
	BAD(3, 2, -SCPP_E_BAD_FLAGS);
	memcpy(fb, good, 44);
	memset(fb + 4, 0, 4);
	assert_int_equal(scpp_wire_fwd_decode(fb, 44, &d), -SCPP_E_BAD_FLAGS);
	BAD(26, 1, -SCPP_E_BAD_FLAGS);
	BAD(27, 1, -SCPP_E_BAD_FLAGS);
	BAD(30, 1, -SCPP_E_BAD_FLAGS); /* a cookie byte without COOKIE */
	/* Extensions: the length must fit, fill exactly, and name only
	 * skippable types in version 1. */
	memcpy(fb, good, 44);
	fb[24] = 4;
	assert_int_equal(scpp_wire_fwd_decode(fb, 47, &d), -SCPP_E_TRUNCATED);
	fb[44] = 200, fb[45] = 2, fb[46] = 'x', fb[47] = 'y';
	assert_int_equal(scpp_wire_fwd_decode(fb, 48, &d), 0);
	assert_int_equal(d.ext_len, 4);
	assert_int_equal(d.msg_len, 0);
	fb[45] = 3;
	assert_int_equal(scpp_wire_fwd_decode(fb, 48, &d), -SCPP_E_TRUNCATED);
	fb[45] = 2;
	/* Type 1 (the principal) is understood, at most once; other types
	 * below 128 are not. */
	fb[44] = SCPP_WIRE_FWD_EXT_PRINCIPAL;
	assert_int_equal(scpp_wire_fwd_decode(fb, 48, &d), 0);
	{
		uint8_t el = 0;
		const uint8_t *e = scpp_wire_fwd_ext_find(d.ext, d.ext_len, SCPP_WIRE_FWD_EXT_PRINCIPAL, &el);

		assert_ptr_equal(e, fb + 46);
		assert_int_equal(el, 2);
		assert_null(scpp_wire_fwd_ext_find(d.ext, d.ext_len, 200, &el));
	}
	fb[44] = 2;
	assert_int_equal(scpp_wire_fwd_decode(fb, 48, &d), -SCPP_E_BAD_KIND);
	fb[24] = 8;
	fb[44] = SCPP_WIRE_FWD_EXT_PRINCIPAL, fb[45] = 2, fb[48] = SCPP_WIRE_FWD_EXT_PRINCIPAL,
	fb[49] = 2;
	assert_int_equal(scpp_wire_fwd_decode(fb, 52, &d), -SCPP_E_BAD_KIND);
	fb[24] = 1, fb[25] = 1; /* 257 */
	assert_int_equal(scpp_wire_fwd_decode(fb, 400, &d), -SCPP_E_TOO_MANY);
	/* The encoder refuses what the decoder would. */
	f.hops = 0;
	assert_int_equal(scpp_wire_fwd_encode(fb, sizeof(fb), &f), -EINVAL);
	f.hops = 1;
	f.cookie[3] = 1;
	assert_int_equal(scpp_wire_fwd_encode(fb, sizeof(fb), &f), -EINVAL);
	f.cookie[3] = 0;
	f.inner_kind = SCPP_WIRE_REPLY;
	assert_int_equal(scpp_wire_fwd_encode(fb, sizeof(fb), &f), -EINVAL);
#undef BAD
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire_op_tables_describe_every_opcode),
		cmocka_unit_test(test_wire_block_round_trips_random_blocks),
		cmocka_unit_test(test_wire_block_fast_decode_agrees_with_general),
		cmocka_unit_test(test_wire_block_equal_notices_each_difference),
		cmocka_unit_test(test_wire_block_example_encodes_to_documented_bytes),
		cmocka_unit_test(test_wire_block_decode_rejects_each_malformation),
		cmocka_unit_test(test_wire_block_decode_limits_nesting),
		cmocka_unit_test(test_wire_block_decode_limits_counts),
		cmocka_unit_test(test_wire_block_decode_truncates_every_prefix),
		cmocka_unit_test(test_wire_builder_rejects_what_the_decoder_rejects),
		cmocka_unit_test(test_wire_builder_limits_edges),
		cmocka_unit_test(test_wire_hdr_decode_rejects_each_malformation),
		cmocka_unit_test(test_wire_hdr_decode_truncates_every_prefix),
		cmocka_unit_test(test_wire_dgram_encode_checks_fields_and_space),
		cmocka_unit_test(test_wire_hdr_fast_decode_matches_general_every_byte),
		cmocka_unit_test(test_wire_reply_hdr_fast_encode_matches_general),
		cmocka_unit_test(test_wire_reply_dgram_encode_equals_dgram_encode),
		cmocka_unit_test(test_wire_dgram_cookie_sits_between_payload_and_tag),
		cmocka_unit_test(test_wire_fetch_round_trips_and_rejects_each_malformation),
		cmocka_unit_test(test_wire_notice_round_trips_and_rejects_each_malformation),
		cmocka_unit_test(test_wire_owner_is_first_constant_entity_outside_well_known),
		cmocka_unit_test(test_wire_incremental_decode_matches_whole_decode_and_stops_at_owner),
		cmocka_unit_test(test_wire_owner_rule_reads_store_operators_and_guards),
		cmocka_unit_test(test_wire_expression_nesting_and_builder_checks),
		cmocka_unit_test(test_wire_guard_counts_toward_the_term_limit),
		cmocka_unit_test(test_wire_reply_round_trips_random_replies),
		cmocka_unit_test(test_wire_reply_next_rejects_each_malformation),
		cmocka_unit_test(test_wire_reply_next_consumes_nothing_until_a_record_is_complete),
		cmocka_unit_test(test_wire_reply_writer_enforces_order_limits_and_space),
		cmocka_unit_test(test_wire_reply_row_values_equal_value_encode),
		cmocka_unit_test(test_wire_reply_end_counts_statuses),
		cmocka_unit_test(test_wire_fwd_layout_round_trip),
		cmocka_unit_test(test_wire_fwd_rejects_each_bad_field),
		cmocka_unit_test(test_wire_cont_layout_round_trip),
		cmocka_unit_test(test_wire_cont_rejects_each_bad_field),
		cmocka_unit_test(test_wire_cont_truncates_every_prefix),
		cmocka_unit_test(test_wire_cont_rows_round_trip_and_reject_bad_rows),
		cmocka_unit_test(test_wire_cont_reply_layout_and_bad_fields),
		cmocka_unit_test(test_wire_cont_copy_source_layout_and_bad_fields),
		cmocka_unit_test(test_wire_cont_memwin_layout_and_bad_fields),
		cmocka_unit_test(test_wire_cont_reply_rest_groups),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
