/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Copy engines, control path: the engine table, configuration, instance
 * life cycle, regions, attachments and links. The data path (ring,
 * validation, completion order, timeouts) is in copy_dp.c.
 *
 * Everything an instance will use on the data path is allocated here, once:
 * the slot ring, the region table and the attachment table. Engines
 * allocate their own device-side state at init and registration.
 */

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>

#include <rte_errno.h>
#include <rte_log.h>
#include <rte_malloc.h>

#include "copy_priv.h"

RTE_LOG_REGISTER(copy_logtype, scp.copy, INFO);

static const struct copy_engine *const engines[] = {
	&copy_engine_memcpy,
	&copy_engine_dmadev,
	&copy_engine_fabric,
	&copy_engine_verbs,
};

static void *
libc_zalloc(void *ctx, size_t size, size_t align, int socket)
{
	void *p;

	(void)ctx;
	(void)socket;
	if (align < sizeof(void *))
		align = sizeof(void *);
	if (posix_memalign(&p, align, size) != 0)
		return NULL;
	memset(p, 0, size);
	return p;
}

static void
libc_release(void *ctx, void *p, size_t size)
{
	(void)ctx;
	(void)size;
	free(p);
}

const struct scpp_copy_mem_ops scpp_copy_mem_libc = {
	.alloc = libc_zalloc,
	.free = libc_release,
	.ctx = NULL,
};

static void *
rte_zalloc(void *ctx, size_t size, size_t align, int socket)
{
	(void)ctx;
	return rte_zmalloc_socket("scpp_copy", size, (unsigned int)align, socket);
}

static void
rte_release(void *ctx, void *p, size_t size)
{
	(void)ctx;
	(void)size;
	rte_free(p);
}

const struct scpp_copy_mem_ops scpp_copy_mem_rte = {
	.alloc = rte_zalloc,
	.free = rte_release,
	.ctx = NULL,
};

void *
copy_zalloc(struct scpp_copy *c, size_t size)
{
	return c->mem.alloc(c->mem.ctx, size, 64, c->socket_id);
}

void
copy_free_mem(struct scpp_copy *c, void *p, size_t size)
{
	if (p != NULL)
		c->mem.free(c->mem.ctx, p, size);
}

void
copy_strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = src == NULL ? 0 : strnlen(src, size - 1);

	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

uint64_t
copy_random64(void)
{
	uint64_t v = 0;

	/* getrandom() of 8 bytes does not fail once the pool is initialised;
	 * should it, fall back to the clock mixed by a 64-bit finaliser so
	 * keys stay distinct, if guessable. */
	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v)) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		v = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32);
		v ^= v >> 33;
		v *= UINT64_C(0xff51afd7ed558ccd);
		v ^= v >> 33;
	}
	return v == 0 ? 1 : v;
}

uint32_t
copy_random32(void)
{
	uint64_t v = copy_random64();
	uint32_t t = (uint32_t)(v ^ (v >> 32));

	return t == 0 ? 1 : t;
}

static uint64_t
clock_monotonic(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t
clock_coarse(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * The ring reads the clock once per submit burst and once per poll while
 * its oldest copy is incomplete. CLOCK_MONOTONIC costs ~40 ns a read on the
 * project VM, CLOCK_MONOTONIC_COARSE ~9 ns (it returns the last tick, 4 ms
 * there): a quarter of dmadev's per-copy API time at 4 KiB went to the
 * precise clock. A timeout of at least 16 coarse ticks loses nothing that
 * matters to the coarse one; shorter ones keep the precise clock.
 */
static uint64_t (*default_clock(uint64_t timeout_ns))(void *)
{
	struct timespec res;

	if (timeout_ns != 0 && clock_getres(CLOCK_MONOTONIC_COARSE, &res) == 0 &&
	    res.tv_sec == 0 && timeout_ns >= 16 * (uint64_t)res.tv_nsec)
		return clock_coarse;
	return clock_monotonic;
}

void
scpp_copy_config_init(struct scpp_copy_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->engine = "memcpy";
	cfg->ring_size = SCPP_COPY_RING_DEFAULT;
	cfg->max_regions = 16;
	cfg->max_remotes = 64;
	cfg->max_len = SCPP_COPY_LEN_DEFAULT;
	cfg->timeout_ns = SCPP_COPY_TIMEOUT_DEFAULT;
	cfg->socket_id = -1;
	cfg->fabric.provider = "tcp";
	cfg->fabric.node = "127.0.0.1";
	cfg->verbs.port = 1;
	cfg->verbs.gid_index = -1;
}

unsigned int
scpp_copy_engine_count(void)
{
	return SCPP_ARRAY_SIZE(engines);
}

const char *
scpp_copy_engine_name(unsigned int i)
{
	return i < SCPP_ARRAY_SIZE(engines) ? engines[i]->name : NULL;
}

static const struct copy_engine *
engine_find(const char *name)
{
	for (unsigned int i = 0; i < SCPP_ARRAY_SIZE(engines); i++)
		if (strcmp(engines[i]->name, name) == 0)
			return engines[i];
	return NULL;
}

int
scpp_copy_probe(const struct scpp_copy_config *cfg, char *why, size_t why_len)
{
	const struct copy_engine *e;
	char dummy[8];

	if (cfg == NULL || cfg->engine == NULL)
		return -EINVAL;
	e = engine_find(cfg->engine);
	if (e == NULL) {
		if (why != NULL && why_len > 0)
			snprintf(why, why_len, "no copy engine named \"%s\"", cfg->engine);
		return -ENOENT;
	}
	if (why == NULL || why_len == 0) {
		why = dummy;
		why_len = sizeof(dummy);
	}
	why[0] = '\0';
	return e->probe == NULL ? 0 : e->probe(cfg, why, why_len);
}

static bool
is_pow2(uint64_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

static int
config_check(const struct scpp_copy_config *cfg)
{
	if (cfg->engine == NULL)
		return -EINVAL;
#ifndef SCPP_TEST_FAULTS
	if (cfg->test_stall_len != 0)
		return -EINVAL; /* fault injection: test builds only */
#endif
	if (!is_pow2(cfg->ring_size) || cfg->ring_size > SCPP_COPY_RING_MAX)
		return -EINVAL;
	if (cfg->max_regions == 0 || cfg->max_regions > SCPP_COPY_REGIONS_MAX)
		return -EINVAL;
	if (cfg->max_remotes > SCPP_COPY_REMOTES_MAX)
		return -EINVAL;
	if (cfg->max_len == 0 || cfg->max_len > SCPP_COPY_LEN_MAX)
		return -EINVAL;
	if (cfg->align != 0 && (!is_pow2(cfg->align) || cfg->align > 4096))
		return -EINVAL;
	return 0;
}

static void
set_errno(int err)
{
	rte_errno = err;
	errno = err;
}

static void
instance_release(struct scpp_copy *c)
{
	size_t rsz = (size_t)c->caps.max_regions * sizeof(*c->regions);
	size_t wsz = (size_t)c->caps.max_remotes * sizeof(*c->remotes);

	copy_free_mem(c, c->slots, (size_t)(c->mask + 1) * sizeof(*c->slots));
	copy_free_mem(c, c->regions, rsz);
	copy_free_mem(c, c->remotes, wsz);
	c->mem.free(c->mem.ctx, c, sizeof(*c));
}

struct scpp_copy *
scpp_copy_create(const struct scpp_copy_config *cfg)
{
	const struct scpp_copy_mem_ops *mem;
	const struct copy_engine *e;
	struct scpp_copy *c;
	int rc;

	if (cfg == NULL || config_check(cfg) != 0) {
		set_errno(EINVAL);
		return NULL;
	}
	e = engine_find(cfg->engine);
	if (e == NULL) {
		set_errno(ENOENT);
		return NULL;
	}
	mem = cfg->mem != NULL ? cfg->mem : &scpp_copy_mem_libc;
	c = mem->alloc(mem->ctx, sizeof(*c), 64, cfg->socket_id);
	if (c == NULL) {
		set_errno(ENOMEM);
		return NULL;
	}
	c->mem = *mem;
	c->socket_id = cfg->socket_id;
	c->eng = e;
	c->mask = cfg->ring_size - 1;
	c->max_len = cfg->max_len;
	c->timeout_ns = cfg->timeout_ns;
	c->test_stall_len = cfg->test_stall_len;
	c->clock = cfg->clock != NULL ? cfg->clock : default_clock(cfg->timeout_ns);
	c->clock_ctx = cfg->clock_ctx;
	c->tag = copy_random32();
	copy_strlcpy(c->name, cfg->name != NULL ? cfg->name : e->name, sizeof(c->name));
	copy_strlcpy(c->caps.engine, e->name, sizeof(c->caps.engine));
	c->caps.ring_size = cfg->ring_size;
	c->caps.max_burst = SCPP_COPY_BURST_MAX;
	c->caps.max_regions = cfg->max_regions;
	c->caps.max_remotes = cfg->max_remotes;
	c->caps.align = 1;
	c->caps.max_len = cfg->max_len;
	c->slots = copy_zalloc(c, (size_t)cfg->ring_size * sizeof(*c->slots));
	c->regions = copy_zalloc(c, (size_t)cfg->max_regions * sizeof(*c->regions));
	c->remotes = cfg->max_remotes == 0 ? NULL :
		copy_zalloc(c, (size_t)cfg->max_remotes * sizeof(*c->remotes));
	if (c->slots == NULL || c->regions == NULL ||
	    (cfg->max_remotes != 0 && c->remotes == NULL)) {
		instance_release(c);
		set_errno(ENOMEM);
		return NULL;
	}
	rc = e->init(c, cfg);
	if (rc != 0) {
		instance_release(c);
		set_errno(-rc);
		return NULL;
	}
	/* The engine sets its own limits; the configuration may only tighten. */
	if (cfg->align > c->caps.align)
		c->caps.align = cfg->align;
	c->align_mask = c->caps.align - 1;
	if (c->caps.max_len > cfg->max_len)
		c->caps.max_len = cfg->max_len;
	c->max_len = c->caps.max_len;
	if (cfg->part_max != 0 && (c->part_max == 0 || cfg->part_max < c->part_max))
		c->part_max = cfg->part_max;
	if (c->part_max == 0)
		c->part_max = UINT64_MAX;
	c->caps_flags = c->caps.flags;
	return c;
}

void
scpp_copy_free(struct scpp_copy *c)
{
	if (c == NULL)
		return;
	/* The device stops first (nothing touches memory afterwards), then
	 * the regions and attachments go, then the device itself. */
	if (c->eng->quiesce != NULL)
		c->eng->quiesce(c);
	for (uint32_t i = 0; i < c->caps.max_remotes; i++)
		if (c->remotes[i].used && c->eng->detach != NULL)
			c->eng->detach(c, &c->remotes[i]);
	for (uint32_t i = 0; i < c->n_regions; i++)
		if (c->regions[i].used && c->eng->dereg != NULL)
			c->eng->dereg(c, &c->regions[i]);
	if (c->eng->fini != NULL)
		c->eng->fini(c);
	instance_release(c);
}

void
scpp_copy_caps_get(const struct scpp_copy *c, struct scpp_copy_caps *caps)
{
	*caps = c->caps;
}

void
scpp_copy_stats_get(const struct scpp_copy *c, struct scpp_copy_stats *st)
{
	const struct scpp_copy_stats *s = &c->st;

	st->submitted = scpp_counter_read(&s->submitted);
	st->completed = scpp_counter_read(&s->completed);
	st->failed = scpp_counter_read(&s->failed);
	st->bytes = scpp_counter_read(&s->bytes);
	st->ring_full = scpp_counter_read(&s->ring_full);
	st->invalid = scpp_counter_read(&s->invalid);
	st->timeouts = scpp_counter_read(&s->timeouts);
	st->late = scpp_counter_read(&s->late);
	st->hw_busy = scpp_counter_read(&s->hw_busy);
	st->cpu_fallback = scpp_counter_read(&s->cpu_fallback);
	st->parts = scpp_counter_read(&s->parts);
	st->inflight = __atomic_load_n(&s->inflight, __ATOMIC_RELAXED);
	st->zombies = __atomic_load_n(&s->zombies, __ATOMIC_RELAXED);
}

int
scpp_copy_recover(struct scpp_copy *c)
{
	int rc;

	if (c == NULL)
		return -EINVAL;
	if (c->eng->recover == NULL)
		return -EOPNOTSUPP;
	rc = c->eng->recover(c);
	copy_settle(c);
	return rc;
}

/* ---------------------------------------------------------------- regions */

static bool
ranges_overlap(uintptr_t a, size_t alen, uintptr_t b, size_t blen)
{
	return a < b + blen && b < a + alen;
}

int
scpp_copy_mem_register(struct scpp_copy *c, void *addr, size_t len, uint32_t access,
		       struct scpp_copy_region **out)
{
	const uint32_t remote = SCPP_COPY_ACCESS_REMOTE_READ | SCPP_COPY_ACCESS_REMOTE_WRITE;
	struct scpp_copy_region *r = NULL;
	uintptr_t a = (uintptr_t)addr;
	int rc;

	if (c == NULL || addr == NULL || out == NULL || len == 0 || a + len < a)
		return -EINVAL;
	if (access == 0 || (access & ~(SCPP_COPY_ACCESS_LOCAL | remote)) != 0)
		return -EINVAL;
	if ((access & remote) != 0 && !(c->caps.flags & SCPP_COPY_CAP_WINDOWS))
		return -EOPNOTSUPP;
	for (uint32_t i = 0; i < c->n_regions; i++) {
		struct scpp_copy_region *x = &c->regions[i];

		if (!x->used) {
			if (r == NULL)
				r = x;
			continue;
		}
		if (ranges_overlap(a, len, (uintptr_t)x->base, x->len))
			return -EEXIST;
	}
	if (r == NULL) {
		if (c->n_regions == c->caps.max_regions)
			return -ENOSPC;
		r = &c->regions[c->n_regions];
	}
	memset(r, 0, sizeof(*r));
	r->base = addr;
	r->len = len;
	r->access = access;
	r->owner = c;
	if (c->eng->reg != NULL) {
		rc = c->eng->reg(c, r);
		if (rc != 0) {
			memset(r, 0, sizeof(*r));
			return rc;
		}
	}
	r->used = 1;
	if (r == &c->regions[c->n_regions])
		c->n_regions++;
	*out = r;
	return 0;
}

static bool
region_of(const struct scpp_copy *c, const struct scpp_copy_region *r)
{
	return r != NULL && r >= c->regions && r < c->regions + c->n_regions &&
	       r->used && r->owner == c;
}

int
scpp_copy_mem_unregister(struct scpp_copy *c, struct scpp_copy_region *r)
{
	if (c == NULL || !region_of(c, r))
		return -EINVAL;
	if (r->refs != 0)
		return -EBUSY;
	if (c->eng->dereg != NULL)
		c->eng->dereg(c, r);
	if (c->last_region == r)
		c->last_region = NULL;
	memset(r, 0, sizeof(*r));
	return 0;
}

void
scpp_copy_region_info(const struct scpp_copy_region *r, void **base, size_t *len)
{
	*base = r->base;
	*len = r->len;
}

int
scpp_copy_window_get(struct scpp_copy *c, const struct scpp_copy_region *r,
		     struct scpp_copy_window *w)
{
	const uint32_t remote = SCPP_COPY_ACCESS_REMOTE_READ | SCPP_COPY_ACCESS_REMOTE_WRITE;

	if (c == NULL || w == NULL || !region_of(c, r))
		return -EINVAL;
	if (!(c->caps.flags & SCPP_COPY_CAP_WINDOWS) || c->eng->window == NULL)
		return -EOPNOTSUPP;
	if ((r->access & remote) == 0)
		return -EACCES;
	memset(w, 0, sizeof(*w));
	w->access = (uint8_t)(r->access & remote);
	w->tag = c->tag;
	w->base = r->tbase;
	w->len = r->len;
	w->key = r->key;
	/* The engine fills engine, provider and addr. */
	return c->eng->window(c, r, w);
}

/* ------------------------------------------------------------ attachments */

int
scpp_copy_remote_attach(struct scpp_copy *c, const struct scpp_copy_window *w,
			struct scpp_copy_remote **out)
{
	uint8_t enc[SCPP_COPY_WINDOW_LEN];
	struct scpp_copy_remote *rw = NULL;
	int rc;

	if (c == NULL || w == NULL || out == NULL)
		return -EINVAL;
	if (scpp_copy_window_encode(w, enc) != 0)
		return -EINVAL;
	if (!(c->caps.flags & (SCPP_COPY_CAP_WRITE | SCPP_COPY_CAP_READ)) ||
	    c->eng->attach == NULL)
		return -EOPNOTSUPP;
	for (uint32_t i = 0; i < c->caps.max_remotes; i++)
		if (!c->remotes[i].used) {
			rw = &c->remotes[i];
			break;
		}
	if (rw == NULL)
		return -ENOSPC;
	memset(rw, 0, sizeof(*rw));
	rw->w = *w;
	rw->owner = c;
	rc = c->eng->attach(c, rw);
	if (rc != 0) {
		memset(rw, 0, sizeof(*rw));
		return rc;
	}
	rw->used = 1;
	*out = rw;
	return 0;
}

int
scpp_copy_remote_detach(struct scpp_copy *c, struct scpp_copy_remote *rw)
{
	if (c == NULL || rw == NULL || c->remotes == NULL || rw < c->remotes ||
	    rw >= c->remotes + c->caps.max_remotes || !rw->used || rw->owner != c)
		return -EINVAL;
	if (rw->refs != 0)
		return -EBUSY;
	if (c->eng->detach != NULL)
		c->eng->detach(c, rw);
	memset(rw, 0, sizeof(*rw));
	return 0;
}

/* ------------------------------------------------------------------ links */

int
scpp_copy_link_offer(struct scpp_copy *c, uint8_t offer[SCPP_COPY_LINK_LEN])
{
	if (c == NULL || offer == NULL)
		return -EINVAL;
	if (!(c->caps.flags & SCPP_COPY_CAP_LINKS) || c->eng->link_offer == NULL)
		return -EOPNOTSUPP;
	return c->eng->link_offer(c, offer);
}

int
scpp_copy_link_accept(struct scpp_copy *c, const uint8_t offer[SCPP_COPY_LINK_LEN],
		      uint8_t answer[SCPP_COPY_LINK_LEN])
{
	if (c == NULL || offer == NULL || answer == NULL)
		return -EINVAL;
	if (!(c->caps.flags & SCPP_COPY_CAP_LINKS) || c->eng->link_accept == NULL)
		return -EOPNOTSUPP;
	return c->eng->link_accept(c, offer, answer);
}

int
scpp_copy_link_finish(struct scpp_copy *c, const uint8_t answer[SCPP_COPY_LINK_LEN])
{
	if (c == NULL || answer == NULL)
		return -EINVAL;
	if (!(c->caps.flags & SCPP_COPY_CAP_LINKS) || c->eng->link_finish == NULL)
		return -EOPNOTSUPP;
	return c->eng->link_finish(c, answer);
}
