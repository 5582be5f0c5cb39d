/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef COPY_PRIV_H
#define COPY_PRIV_H

/*
 * Private layout of a copy instance and the interface between the generic
 * layer (copy.c: control; copy_dp.c: ring, validation, order, timeouts,
 * counters) and the engines (copy_memcpy.c, copy_dmadev.c, copy_fabric.c,
 * copy_verbs.c).
 *
 * The ring
 * --------
 * ring_size slots, indexed by four free-running 32-bit counters (slot =
 * counter & mask), always in this order:
 *
 *     reclaim <= report <= head,   post <= head
 *
 * - [reclaim, head): slots in use; free space is size - (head - reclaim).
 * - head: the next slot submit fills.
 * - post: the next slot to hand to the engine; every slot before it is
 *   fully posted (or was failed or cancelled without being posted). Slots
 *   in [post, head) wait for device room (EAGAIN).
 * - report: the next completion poll returns. A slot is returned when it
 *   is complete (all parts posted, none outstanding) or when its deadline
 *   passed (then as -ETIMEDOUT; if parts are still outstanding the slot is
 *   a zombie until they come back).
 * - reclaim advances over slots that are reported and complete.
 *
 * A slot's regions and remote attachment are held (refs) from submit until
 * it is reported *and* complete: a zombie keeps its memory registered.
 */

#include <stdint.h>

#include "scpp_copy.h"

/* Slot flags. */
enum {
	SLOT_ALL_POSTED = 1u << 0, /* no more parts will be posted */
	SLOT_REPORTED = 1u << 1,   /* its completion was returned */
	SLOT_OVERLAP = 1u << 2,    /* LOCAL with overlapping ranges */
	SLOT_RELEASED = 1u << 3,   /* refs dropped */
};

struct copy_slot {
	uint64_t user;
	uint64_t len;
	uint8_t *dst;        /* LOCAL, READ: local destination */
	const uint8_t *src;  /* LOCAL, WRITE: local source */
	uint64_t raddr;      /* WRITE, READ: target address (window base + off) */
	struct scpp_copy_remote *rw;     /* WRITE, READ */
	struct scpp_copy_region *sreg;   /* region of src (NEED_REG engines) */
	struct scpp_copy_region *dreg;   /* region of dst (NEED_REG engines) */
	uint64_t deadline;   /* clock ns; UINT64_MAX: none */
	uint64_t posted;     /* bytes handed to the device so far */
	int32_t status;      /* first error, or 0 */
	uint16_t parts_out;  /* parts posted, not yet completed */
	uint8_t kind;
	uint8_t flags;       /* SLOT_* */
};

struct scpp_copy_region {
	uint8_t *base;
	size_t len;
	uint32_t access;     /* SCPP_COPY_ACCESS_* */
	uint32_t refs;       /* slot endpoints that hold it */
	struct scpp_copy *owner;
	void *eng;           /* engine state: MR, IOVA segments */
	uint64_t key;        /* fabric/verbs remote key */
	uint64_t tbase;      /* target address of byte 0 for peers */
	uint8_t used;
};

struct scpp_copy_remote {
	struct scpp_copy_window w;
	uint32_t refs;       /* slots that hold it */
	struct scpp_copy *owner;
	uint64_t peer;       /* engine: fi_addr_t, link index */
	void *eng;           /* engine state: the link */
	uint8_t used;
};

struct copy_engine;

struct scpp_copy {
	/* hot: submit and poll */
	struct copy_slot *slots;
	uint32_t mask;
	uint32_t head;
	uint32_t post;
	uint32_t report;
	uint32_t reclaim;
	uint32_t caps_flags;
	uint32_t align_mask;
	uint64_t max_len;
	uint64_t part_max;
	uint64_t timeout_ns;
	uint64_t test_stall_len; /* scpp_copy_config.test_stall_len */
	bool stalled;            /* ... and the device has hung */
	uint32_t zombies;
	uint32_t n_regions;   /* high-water mark of used region entries */
	struct scpp_copy_region *last_region; /* lookup cache */
	const struct copy_engine *eng;
	void *priv;           /* engine state */
	uint64_t (*clock)(void *ctx);
	void *clock_ctx;
	struct scpp_copy_stats st; /* written by the owner with scpp_counter_add */
	/* below: control path only */
	struct scpp_copy_region *regions;
	struct scpp_copy_remote *remotes;
	struct scpp_copy_caps caps;
	struct scpp_copy_mem_ops mem;
	int socket_id;
	uint32_t tag;         /* random id, in this instance's windows */
	char name[32];
};

/*
 * An engine. Control hooks may be NULL where the engine has nothing to do
 * (the generic layer then succeeds or answers -EOPNOTSUPP, as documented);
 * post is required, flush and reap may be NULL.
 */
struct copy_engine {
	const char *name;
	/* 0 if offered; else -ENODEV and a reason in why. */
	int (*probe)(const struct scpp_copy_config *cfg, char *why, size_t why_len);
	/* Open the device; set c->caps (flags, align, provider, max_len cap),
	 * c->part_max default and c->priv. Negative errno on failure, having
	 * released everything. */
	int (*init)(struct scpp_copy *c, const struct scpp_copy_config *cfg);
	/* Stop the device: afterwards nothing touches memory and no part is
	 * outstanding (copy_abandon_parts()). Called first by scpp_copy_free(),
	 * before regions and attachments are released, then fini. */
	void (*quiesce)(struct scpp_copy *c);
	/* Restart the device's initiating side after a stall: end everything
	 * in flight (copy_abandon_parts()), keep what peers know us by. */
	int (*recover)(struct scpp_copy *c);
	void (*fini)(struct scpp_copy *c);
	int (*reg)(struct scpp_copy *c, struct scpp_copy_region *r);
	void (*dereg)(struct scpp_copy *c, struct scpp_copy_region *r);
	int (*window)(struct scpp_copy *c, const struct scpp_copy_region *r,
		      struct scpp_copy_window *w);
	int (*attach)(struct scpp_copy *c, struct scpp_copy_remote *rw);
	void (*detach)(struct scpp_copy *c, struct scpp_copy_remote *rw);
	int (*link_offer)(struct scpp_copy *c, uint8_t *offer);
	int (*link_accept)(struct scpp_copy *c, const uint8_t *offer, uint8_t *answer);
	int (*link_finish)(struct scpp_copy *c, const uint8_t *answer);
	/*
	 * Post the parts of @s from s->posted on: 0 when every part is posted
	 * (possibly none outstanding: the engine did the copy itself), -EAGAIN
	 * when the device has no room (s->posted says how far it got), another
	 * negative errno when posting failed. Each posted part increments
	 * s->parts_out and must later be finished with copy_part_done().
	 */
	int (*post)(struct scpp_copy *c, struct copy_slot *s);
	/* Ring the doorbell after a run of posts. */
	void (*flush)(struct scpp_copy *c);
	/* Progress: call copy_part_done() for finished parts. */
	void (*reap)(struct scpp_copy *c);
};

extern const struct copy_engine copy_engine_memcpy;
extern const struct copy_engine copy_engine_dmadev;
extern const struct copy_engine copy_engine_fabric;
extern const struct copy_engine copy_engine_verbs;

extern int copy_logtype;
#define COPY_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, copy_logtype, "copy: " fmt "\n", ##__VA_ARGS__)

static inline struct copy_slot *
copy_slot_at(const struct scpp_copy *c, uint32_t idx)
{
	return &c->slots[idx & c->mask];
}

/*
 * A part of @s finished with @status (0 or negative errno). Engines call it
 * from reap (or from post for parts done synchronously). Handles zombies.
 */
void copy_part_done(struct scpp_copy *c, struct copy_slot *s, int status);

/* Fail every slot with outstanding parts: the device is gone and will not
 * touch their memory again (engines call it when they declare the device
 * lost, after stopping it). */
void copy_abandon_parts(struct scpp_copy *c, int status);

/* Reclaim finished slots and publish the gauges (end of poll; recovery). */
void copy_settle(struct scpp_copy *c);

/* Allocation through the instance's provider (zeroed). */
void *copy_zalloc(struct scpp_copy *c, size_t size);
void copy_free_mem(struct scpp_copy *c, void *p, size_t size);

/* Remove shm regions a dead process with this PID left in @p dir (once per
 * process; copy_fabric.c says why). Returns how many were removed. */
int copy_fabric_clear_stale(const char *dir);

/* Copy a string into a fixed field, truncating, always NUL-terminated. */
void copy_strlcpy(char *dst, const char *src, size_t size);

/* Little-endian field helpers shared by the window and link codecs. */
static inline void
copy_put_le(uint8_t *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t
copy_get_le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* A random 32-bit tag and random 64-bit keys (getrandom; never 0). */
uint32_t copy_random32(void);
uint64_t copy_random64(void);

#endif /* COPY_PRIV_H */
