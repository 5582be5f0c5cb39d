/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Workload model and block encoder of scpp-perf.
 *
 * Design notes
 * ------------
 * - Blocks are encoded by hand, straight into a byte buffer: building a
 *   struct scpp_wire_block (about 40 KiB) and running the generic encoder
 *   per block would cost more than the device under test spends on it.
 *   The encoder only knows the handful of command shapes the workload
 *   uses; perf_wl_selftest() proves at start-up that its bytes are exactly
 *   what lib/wire's builder and encoder produce for the same block, so the
 *   two cannot drift apart silently.
 * - Variables have empty names (legal, docs/PROTOCOL.md §7): one byte each
 *   in the block and in the reply's COLUMNS record.
 * - Keys are indexes 0..keys-1 into the OID table filled by the population
 *   phase; without one (baseline runs) a synthetic OID of node 1, shard 0
 *   stands in.
 * - Zipf: the Gray et al. closed form (as in YCSB) is evaluated
 *   PERF_ZIPF_TABLE times at start-up; the hot path only indexes that
 *   table. Ranks are scattered over the key space by a multiplication
 *   modulo keys, so hot keys are not neighbours in the store.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scpp_value.h"
#include "scpp_wire.h"

#include "perf_priv.h"

const char *const perf_op_name[PERF_OP_COUNT] = {
	[PERF_OP_GET] = "get",       [PERF_OP_SET] = "set",       [PERF_OP_MAPGET] = "mapget",
	[PERF_OP_WALK] = "walk",     [PERF_OP_CREATE] = "create", [PERF_OP_COPY] = "copy",
};

/* Wire commands and variables each op takes. */
static const uint8_t op_cmds[PERF_OP_COUNT] = {1, 1, 1, 2, 2, 1};
static const uint8_t op_vars[PERF_OP_COUNT] = {1, 0, 1, 2, 1, 0};

int
perf_wl_parse_mix(struct perf_wl *wl, const char *s)
{
	char buf[256], *save = NULL, *tok;
	uint64_t total = 0, acc = 0;
	unsigned int i, j, n = 0;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, strlen(s) + 1);
	memset(wl->weight, 0, sizeof(wl->weight));
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '='), *end;
		unsigned long w;

		if (eq == NULL)
			eq = strchr(tok, ':');
		if (eq == NULL)
			return -EINVAL;
		*eq = '\0';
		for (i = 0; i < PERF_OP_COUNT; i++)
			if (strcmp(tok, perf_op_name[i]) == 0)
				break;
		if (i == PERF_OP_COUNT)
			return -EINVAL;
		w = strtoul(eq + 1, &end, 10);
		if (*end != '\0' || w > 1000000)
			return -EINVAL;
		wl->weight[i] = (uint32_t)w;
		total += w;
	}
	if (total == 0)
		return -EINVAL;
	/* 256 slots: a weight of w gets round(w / total * 256) of them,
	 * cumulatively so that the slots always add up to 256. */
	for (i = 0; i < PERF_OP_COUNT; i++) {
		unsigned int hi;

		acc += wl->weight[i];
		hi = (unsigned int)((acc * 256 + total / 2) / total);
		for (j = n; j < hi; j++)
			wl->op_table[j] = (uint8_t)i;
		n = hi;
	}
	return 0;
}

uint64_t
perf_wl_rand(struct perf_wl *wl)
{
	uint64_t x = wl->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	wl->rng = x;
	return x * UINT64_C(0x2545F4914F6CDD1D);
}

static double
rand01(struct perf_wl *wl)
{
	return (double)(perf_wl_rand(wl) >> 11) * (1.0 / 9007199254740992.0);
}

static uint64_t
gcd64(uint64_t a, uint64_t b)
{
	while (b != 0) {
		uint64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

int
perf_wl_zipf_init(struct perf_wl *wl)
{
	double n = (double)wl->keys, th = wl->zipf_theta, zetan = 0, zeta2, alpha, eta;
	uint64_t mult = UINT64_C(2654435761) % wl->keys, i;

	wl->zipf = malloc(sizeof(uint32_t) * PERF_ZIPF_TABLE);
	if (wl->zipf == NULL)
		return -ENOMEM;
	for (i = 1; i <= wl->keys; i++)
		zetan += 1.0 / pow((double)i, th);
	zeta2 = 1.0 + 1.0 / pow(2.0, th);
	alpha = 1.0 / (1.0 - th);
	eta = (1.0 - pow(2.0 / n, 1.0 - th)) / (1.0 - zeta2 / zetan);
	if (mult == 0)
		mult = 1;
	while (gcd64(mult, wl->keys) != 1)
		mult++;
	for (i = 0; i < PERF_ZIPF_TABLE; i++) {
		double u = rand01(wl), uz = u * zetan;
		uint64_t rank;

		if (uz < 1.0)
			rank = 0;
		else if (uz < zeta2)
			rank = 1;
		else
			rank = (uint64_t)(n * pow(eta * u - eta + 1.0, alpha));
		if (rank >= wl->keys)
			rank = wl->keys - 1;
		wl->zipf[i] = (uint32_t)((unsigned __int128)rank * mult % wl->keys);
	}
	return 0;
}

uint64_t
perf_wl_key(struct perf_wl *wl)
{
	uint64_t r = perf_wl_rand(wl);

	if (wl->zipf != NULL)
		return wl->zipf[r & (PERF_ZIPF_TABLE - 1)];
	return (uint64_t)(((unsigned __int128)r * wl->keys) >> 64);
}

uint64_t
perf_wl_next(const struct perf_wl *wl, uint64_t key)
{
	return (key * UINT64_C(40503) + 1) % wl->keys;
}

uint64_t
perf_wl_map_owner(const struct perf_wl *wl, uint64_t key)
{
	return key % (wl->keys < 1024 ? wl->keys : 1024);
}

void
perf_wl_plan(struct perf_wl *wl, struct perf_plan *p)
{
	unsigned int i, var = 0;

	p->n = wl->cmds;
	p->ncmds = 0;
	p->nret = 0;
	for (i = 0; i < wl->cmds; i++) {
		struct perf_cmd *c = &p->cmd[i];
		uint64_t r = perf_wl_rand(wl);

		c->op = wl->op_table[r >> 56];
		c->key = perf_wl_key(wl);
		c->key2 = c->op == PERF_OP_COPY ? perf_wl_key(wl) : perf_wl_next(wl, c->key);
		c->ret = c->op != PERF_OP_SET && c->op != PERF_OP_COPY;
		/* The returned variable is the op's last one (the walk's target
		 * value, not the intermediate OID). */
		c->var = (uint8_t)(var + op_vars[c->op] - 1);
		var += op_vars[c->op];
		p->ncmds += op_cmds[c->op];
		p->nret += c->ret;
	}
	p->nvars = var;
}

void
perf_wl_value(const struct perf_wl *wl, uint64_t key, uint8_t *out)
{
	uint32_t i;

	for (i = 0; i < wl->value_size; i++)
		out[i] = i < 8 ? (uint8_t)(key >> (8 * i)) : (uint8_t)(key * 131 + i);
}

static struct scpp_oid
key_oid(const struct perf_wl *wl, uint64_t key)
{
	if (wl->oid != NULL)
		return wl->oid[key];
	/* node 1, shard 0, epoch 1, counter key + 1 */
	return (struct scpp_oid){.hi = UINT64_C(1) << 16, .lo = (UINT64_C(1) << 40) | (key + 1)};
}

/* ---- the encoder: one helper per term shape ---- */

struct enc {
	uint8_t *p, *end;
};

static inline bool
room(const struct enc *e, size_t n)
{
	return (size_t)(e->end - e->p) >= n;
}

static inline void
put_u8(struct enc *e, uint8_t b)
{
	*e->p++ = b;
}

static inline void
put_varint(struct enc *e, uint64_t x)
{
	e->p += scpp_varint_encode(e->p, x);
}

static inline void
put_u64le(struct enc *e, uint64_t x)
{
	for (unsigned int i = 0; i < 8; i++)
		*e->p++ = (uint8_t)(x >> (8 * i));
}

/* CONST oid: 01 07 hi lo */
static inline void
t_oid(struct enc *e, struct scpp_oid o)
{
	put_u8(e, SCPP_TERM_CONST);
	put_u8(e, SCPP_VT_OID);
	put_u64le(e, o.hi);
	put_u64le(e, o.lo);
}

/* CONST str of a short attribute name: 01 05 len bytes */
static inline void
t_str(struct enc *e, const char *s)
{
	size_t n = strlen(s);

	put_u8(e, SCPP_TERM_CONST);
	put_u8(e, SCPP_VT_STR);
	put_varint(e, n);
	memcpy(e->p, s, n);
	e->p += n;
}

static inline void
t_var(struct enc *e, unsigned int v)
{
	put_u8(e, SCPP_TERM_VAR);
	put_varint(e, v);
}

static inline void
t_u64(struct enc *e, uint64_t x)
{
	put_u8(e, SCPP_TERM_CONST);
	put_u8(e, SCPP_VT_U64);
	put_varint(e, x);
}

/* CONST bytes holding the key's value */
static inline void
t_value(struct enc *e, const struct perf_wl *wl, uint64_t key)
{
	put_u8(e, SCPP_TERM_CONST);
	put_u8(e, SCPP_VT_BYTES);
	put_varint(e, wl->value_size);
	perf_wl_value(wl, key, e->p);
	e->p += wl->value_size;
}

static inline void
cmd_hdr(struct enc *e, unsigned int op)
{
	put_u8(e, (uint8_t)op);
	put_u8(e, 0);
}

/* Worst-case bytes of one op, for the room check. */
static size_t
op_max(const struct perf_wl *wl)
{
	return 2 * (2 + 18 + 12 + 12) + wl->value_size + 16;
}

static void
prefix(struct enc *e, unsigned int nvars, const uint8_t *ret, unsigned int nret,
       unsigned int ncmds)
{
	unsigned int i;

	put_u8(e, 0); /* block flags */
	put_varint(e, nvars);
	for (i = 0; i < nvars; i++)
		put_u8(e, 0); /* empty name */
	put_varint(e, nret);
	for (i = 0; i < nret; i++)
		put_varint(e, ret[i]);
	put_varint(e, ncmds);
}

static void
enc_op(struct enc *e, const struct perf_wl *wl, const struct perf_cmd *c)
{
	switch (c->op) {
	case PERF_OP_GET:
		cmd_hdr(e, SCPP_OP_GET);
		t_oid(e, key_oid(wl, c->key));
		t_str(e, PERF_ATTR_VALUE);
		t_var(e, c->var);
		break;
	case PERF_OP_SET:
		cmd_hdr(e, SCPP_OP_SET);
		t_oid(e, key_oid(wl, c->key));
		t_str(e, PERF_ATTR_VALUE);
		t_value(e, wl, c->key);
		break;
	case PERF_OP_MAPGET:
		cmd_hdr(e, SCPP_OP_GET);
		t_oid(e, key_oid(wl, perf_wl_map_owner(wl, c->key)));
		put_u8(e, SCPP_TERM_KEY);
		t_str(e, PERF_ATTR_MAP);
		t_u64(e, c->key);
		t_var(e, c->var);
		break;
	case PERF_OP_WALK:
		cmd_hdr(e, SCPP_OP_GET);
		t_oid(e, key_oid(wl, c->key));
		t_str(e, PERF_ATTR_NEXT);
		t_var(e, c->var - 1u);
		cmd_hdr(e, SCPP_OP_GET);
		t_var(e, c->var - 1u);
		t_str(e, PERF_ATTR_VALUE);
		t_var(e, c->var);
		break;
	case PERF_OP_CREATE:
		cmd_hdr(e, SCPP_OP_CREATE);
		t_var(e, c->var);
		t_str(e, PERF_TYPE_NAME);
		cmd_hdr(e, SCPP_OP_SET);
		t_var(e, c->var);
		t_str(e, PERF_ATTR_VALUE);
		t_value(e, wl, c->key);
		break;
	case PERF_OP_COPY:
		cmd_hdr(e, SCPP_OP_COPY);
		put_u8(e, SCPP_TERM_VALUE);
		t_oid(e, key_oid(wl, c->key));
		t_str(e, PERF_ATTR_VALUE);
		put_u8(e, SCPP_TERM_VALUE);
		t_oid(e, key_oid(wl, c->key2));
		t_str(e, PERF_ATTR_VALUE);
		t_u64(e, wl->value_size);
		break;
	default:
		break;
	}
}

int
perf_wl_encode(const struct perf_wl *wl, const struct perf_plan *p, uint8_t *buf, size_t size)
{
	struct enc e = {buf, buf + size};
	uint8_t ret[PERF_CMDS_MAX];
	unsigned int i, nret = 0;

	for (i = 0; i < p->n; i++)
		if (p->cmd[i].ret)
			ret[nret++] = p->cmd[i].var;
	if (!room(&e, 4 + 2 * 64 + 4 + p->n * op_max(wl)))
		return -ENOSPC;
	prefix(&e, p->nvars, ret, nret, p->ncmds);
	for (i = 0; i < p->n; i++)
		enc_op(&e, wl, &p->cmd[i]);
	return (int)(e.p - buf);
}

int
perf_wl_encode_create(const struct perf_wl *wl, uint64_t first, unsigned int n, uint8_t *buf,
		      size_t size)
{
	struct enc e = {buf, buf + size};
	uint8_t ret[64];
	unsigned int i;

	if (n == 0 || n > 64 || !room(&e, 4 + 2 * 64 + 4 + n * op_max(wl)))
		return -ENOSPC;
	for (i = 0; i < n; i++)
		ret[i] = (uint8_t)i;
	prefix(&e, n, ret, n, 2 * n);
	for (i = 0; i < n; i++) {
		struct perf_cmd c = {.op = PERF_OP_CREATE, .var = (uint8_t)i, .key = first + i};

		enc_op(&e, wl, &c);
	}
	return (int)(e.p - buf);
}

int
perf_wl_encode_links(const struct perf_wl *wl, uint64_t first, unsigned int n, uint8_t *buf,
		     size_t size)
{
	struct enc e = {buf, buf + size};
	unsigned int i;

	if (n == 0 || n > 64 || !room(&e, 8 + n * 64))
		return -ENOSPC;
	prefix(&e, 0, NULL, 0, n);
	for (i = 0; i < n; i++) {
		uint64_t k = first + i;

		cmd_hdr(&e, SCPP_OP_SET);
		t_oid(&e, key_oid(wl, k));
		t_str(&e, PERF_ATTR_NEXT);
		t_oid(&e, key_oid(wl, perf_wl_next(wl, k)));
	}
	return (int)(e.p - buf);
}

int
perf_wl_encode_map(const struct perf_wl *wl, uint64_t first, unsigned int n, uint8_t *buf,
		   size_t size)
{
	struct enc e = {buf, buf + size};
	unsigned int i;

	if (n == 0 || n > 64 || !room(&e, 8 + n * op_max(wl)))
		return -ENOSPC;
	prefix(&e, 0, NULL, 0, n);
	for (i = 0; i < n; i++) {
		uint64_t k = first + i;

		cmd_hdr(&e, SCPP_OP_SET);
		t_oid(&e, key_oid(wl, perf_wl_map_owner(wl, k)));
		put_u8(&e, SCPP_TERM_KEY);
		t_str(&e, PERF_ATTR_MAP);
		t_u64(&e, k);
		t_value(&e, wl, k);
	}
	return (int)(e.p - buf);
}

/* ---- the same blocks through lib/wire's builder, for the self-test ---- */

#define CHECK(x)                                                                              \
	do {                                                                                  \
		if ((x) < 0)                                                                  \
			return -EPROTO;                                                       \
	} while (0)

static int
build_op(struct scpp_wire_block *b, const struct perf_wl *wl, const struct perf_cmd *c,
	 uint8_t *valbuf)
{
	struct scpp_value v;
	int e, a, t, k;

	switch (c->op) {
	case PERF_OP_GET:
		v = scpp_value_oid(key_oid(wl, c->key));
		CHECK(e = scpp_wire_term_const(b, &v));
		v = scpp_value_cstr(PERF_ATTR_VALUE);
		CHECK(a = scpp_wire_term_const(b, &v));
		CHECK(t = scpp_wire_term_var(b, c->var));
		CHECK(scpp_wire_block_cmd(b, SCPP_OP_GET, e, a, t, -1));
		return 0;
	case PERF_OP_SET:
		v = scpp_value_oid(key_oid(wl, c->key));
		CHECK(e = scpp_wire_term_const(b, &v));
		v = scpp_value_cstr(PERF_ATTR_VALUE);
		CHECK(a = scpp_wire_term_const(b, &v));
		perf_wl_value(wl, c->key, valbuf);
		v = scpp_value_bytes(valbuf, wl->value_size);
		CHECK(t = scpp_wire_term_const(b, &v));
		CHECK(scpp_wire_block_cmd(b, SCPP_OP_SET, e, a, t, -1));
		return 0;
	case PERF_OP_MAPGET:
		v = scpp_value_oid(key_oid(wl, perf_wl_map_owner(wl, c->key)));
		CHECK(e = scpp_wire_term_const(b, &v));
		v = scpp_value_cstr(PERF_ATTR_MAP);
		CHECK(a = scpp_wire_term_const(b, &v));
		v = scpp_value_u64(c->key);
		CHECK(k = scpp_wire_term_const(b, &v));
		CHECK(a = scpp_wire_term_key(b, a, k));
		CHECK(t = scpp_wire_term_var(b, c->var));
		CHECK(scpp_wire_block_cmd(b, SCPP_OP_GET, e, a, t, -1));
		return 0;
	case PERF_OP_WALK:
		v = scpp_value_oid(key_oid(wl, c->key));
		CHECK(e = scpp_wire_term_const(b, &v));
		v = scpp_value_cstr(PERF_ATTR_NEXT);
		CHECK(a = scpp_wire_term_const(b, &v));
		CHECK(t = scpp_wire_term_var(b, c->var - 1u));
		CHECK(scpp_wire_block_cmd(b, SCPP_OP_GET, e, a, t, -1));
		CHECK(e = scpp_wire_term_var(b, c->var - 1u));
		v = scpp_value_cstr(PERF_ATTR_VALUE);
		CHECK(a = scpp_wire_term_const(b, &v));
		CHECK(t = scpp_wire_term_var(b, c->var));
		CHECK(scpp_wire_block_cmd(b, SCPP_OP_GET, e, a, t, -1));
		return 0;
	case PERF_OP_CREATE:
		CHECK(e = scpp_wire_term_var(b, c->var));
		v = scpp_value_cstr(PERF_TYPE_NAME);
		CHECK(t = scpp_wire_term_const(b, &v));
		CHECK(scpp_wire_block_cmd(b, SCPP_OP_CREATE, e, t, -1, -1));
		v = scpp_value_cstr(PERF_ATTR_VALUE);
		CHECK(a = scpp_wire_term_const(b, &v));
		perf_wl_value(wl, c->key, valbuf);
		v = scpp_value_bytes(valbuf, wl->value_size);
		CHECK(t = scpp_wire_term_const(b, &v));
		CHECK(scpp_wire_block_cmd(b, SCPP_OP_SET, e, a, t, -1));
		return 0;
	case PERF_OP_COPY: {
		int d, s, n;

		v = scpp_value_oid(key_oid(wl, c->key));
		CHECK(e = scpp_wire_term_const(b, &v));
		v = scpp_value_cstr(PERF_ATTR_VALUE);
		CHECK(a = scpp_wire_term_const(b, &v));
		CHECK(d = scpp_wire_term_value(b, e, a));
		v = scpp_value_oid(key_oid(wl, c->key2));
		CHECK(e = scpp_wire_term_const(b, &v));
		CHECK(s = scpp_wire_term_value(b, e, a));
		v = scpp_value_u64(wl->value_size);
		CHECK(n = scpp_wire_term_const(b, &v));
		CHECK(scpp_wire_block_cmd(b, SCPP_OP_COPY, d, s, n, -1));
		return 0;
	}
	default:
		return -EPROTO;
	}
}

static int
build_plan(struct scpp_wire_block *b, const struct perf_wl *wl, const struct perf_plan *p,
	   uint8_t *valbuf)
{
	unsigned int i;

	scpp_wire_block_init(b);
	for (i = 0; i < p->nvars; i++)
		CHECK(scpp_wire_block_var(b, "", 0));
	for (i = 0; i < p->n; i++)
		if (p->cmd[i].ret)
			CHECK(scpp_wire_block_ret(b, p->cmd[i].var));
	/* Value constants are borrowed by the builder: one buffer each. */
	for (i = 0; i < p->n; i++)
		CHECK(build_op(b, wl, &p->cmd[i], valbuf + (size_t)i * wl->value_size));
	return 0;
}

int
perf_wl_selftest(struct perf_wl *wl, unsigned int count)
{
	size_t bufsize = PERF_BLOCK_MAX;
	struct scpp_wire_block *b = malloc(sizeof(*b)), *d = malloc(sizeof(*d));
	uint8_t *mine = malloc(bufsize), *ref = malloc(bufsize);
	uint8_t *val = malloc((size_t)wl->value_size * PERF_CMDS_MAX);
	struct perf_plan *p = malloc(sizeof(*p));
	uint64_t saved = wl->rng;
	unsigned int i;
	int rc = -ENOMEM, n, m;

	if (b == NULL || d == NULL || mine == NULL || ref == NULL || val == NULL || p == NULL)
		goto out;
	for (i = 0; i < count; i++) {
		uint32_t off = 0;

		perf_wl_plan(wl, p);
		n = perf_wl_encode(wl, p, mine, bufsize);
		rc = -EPROTO;
		if (n < 0) {
			fprintf(stderr, "scpp-perf: selftest: block %u does not fit\n", i);
			goto out;
		}
		if (build_plan(b, wl, p, val) < 0) {
			fprintf(stderr, "scpp-perf: selftest: lib/wire rejects block %u\n", i);
			goto out;
		}
		m = scpp_wire_block_encode(b, ref, bufsize);
		if (m != n || memcmp(mine, ref, (size_t)n) != 0) {
			int at = 0;

			while (at < n && at < m && mine[at] == ref[at])
				at++;
			fprintf(stderr,
				"scpp-perf: selftest: block %u: encoder gives %d bytes, lib/wire %d, "
				"first difference at byte %d\n",
				i, n, m, at);
			for (int k = at < 8 ? 0 : at - 8; k < at + 8 && k < n && k < m; k++)
				fprintf(stderr, " %02x/%02x", mine[k], ref[k]);
			fprintf(stderr, "\n");
			goto out;
		}
		m = scpp_wire_block_decode(mine, (size_t)n, d, &off);
		if (m != 0 || !scpp_wire_block_equal(b, d)) {
			fprintf(stderr, "scpp-perf: selftest: block %u does not decode (%d at %u)\n",
				i, m, off);
			goto out;
		}
	}
	rc = 0;
out:
	wl->rng = saved;
	free(b);
	free(d);
	free(mine);
	free(ref);
	free(val);
	free(p);
	return rc;
}
