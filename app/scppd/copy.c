/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The copy engines of each worker (drivers/copy, docs/COPY.md), wired to
 * its shard and its evaluator.
 *
 * Start-up (control thread, before the workers run): per worker, a local
 * instance ($.copy.local: dmadev or memcpy) with the shard's extent arena
 * and the evaluation arena registered, and, with $.copy.remote, a remote
 * instance with the shard's arena registered for peers, its window
 * published as an RmaWindow entity of the shard (schema/core.json).
 *
 * Copies (worker): the evaluator hands `copy` between two extent values of
 * $.copy.min_bytes..$.copy.sync_max_bytes to the local engine through
 * scpp_eval_env.copier; the evaluator copies the rest itself. With
 * $.copy.inflight_bytes, copies up to that size are asynchronous jobs
 * (drivers/copy/scpp_copy_async.h: save into a per-worker pool registered
 * with the engine, then copy): a command's copies are in flight together
 * and the evaluator waits for them at the command's end (async_*()).
 * Longer ones, and those that find the pool or the jobs full, take the
 * synchronous path (copy_sync(): submit, poll until complete). The wait is bounded by $.copy.timeout_ms (the engine fails the
 * copy with -ETIMEDOUT). A copy that timed out while its device still
 * owned it keeps its two values pinned (docs/STORE.md) until the device
 * lets go (copy_tick()); meanwhile copies go to the CPU.
 *
 * Loop (worker, every iteration): the remote instance is polled so that
 * peers' one-sided copies into our window make progress, and recovered
 * when it holds zombies ($.copy.recover).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_malloc.h>
#include <rte_telemetry.h>

#include "scpp_copy.h"
#include "scppd.h"

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static enum scpp_config_copy_local
worker_local(const struct scpp_config *cfg, unsigned int i, const char **device)
{
	const struct scpp_config_copy *cp = &cfg->copy;
	enum scpp_config_copy_local l = cp->local;

	*device = NULL;
	if (cp->nb_workers > 0) {
		if (cp->workers[i].local != SCPP_CONFIG_COPY_LOCAL_DEFAULT)
			l = cp->workers[i].local;
		if (cp->workers[i].dmadev[0] != '\0')
			*device = cp->workers[i].dmadev;
	}
	return l;
}

static void
config_common(const struct scpp_config *cfg, struct scpp_copy_config *cc, int socket)
{
	const struct scpp_config_copy *cp = &cfg->copy;

	scpp_copy_config_init(cc);
	cc->ring_size = cp->ring_size;
	cc->max_regions = cp->max_regions;
	cc->max_remotes = cp->max_remotes;
	cc->max_len = cp->max_len;
	cc->part_max = cp->part_max;
	cc->timeout_ns = (uint64_t)cp->timeout_ms * 1000000u;
	cc->socket_id = socket;
	cc->mem = &scpp_copy_mem_rte;
}

/* The local instance: dmadev where configured or offered, else memcpy. */
static struct scpp_copy *
local_create(const struct scpp_config *cfg, struct scppd_worker *w, int socket)
{
	struct scpp_copy_config cc;
	enum scpp_config_copy_local l;
	const char *device;
	struct scpp_copy *c;
	char why[160] = "";

	l = worker_local(cfg, w->idx, &device);
	config_common(cfg, &cc, socket);
	cc.name = "scppd_copy_local";
	/* Fault injection (test builds; lib/config refuses it elsewhere). */
	cc.test_stall_len = cfg->copy.test_stall_len;
	if (l != SCPP_CONFIG_COPY_LOCAL_MEMCPY) {
		cc.engine = "dmadev";
		cc.dmadev.device = device;
		if (scpp_copy_probe(&cc, why, sizeof(why)) == 0) {
			c = scpp_copy_create(&cc);
			if (c != NULL)
				return c;
			snprintf(why, sizeof(why), "%s", rte_strerror(rte_errno));
		}
		if (l == SCPP_CONFIG_COPY_LOCAL_DMADEV)
			rte_exit(EXIT_FAILURE, "scppd: worker %u: $.copy.local is \"dmadev\" but no "
				 "dmadev%s%s%s is offered: %s\n", w->idx, device ? " \"" : "",
				 device ? device : "", device ? "\"" : "", why);
		SCPPD_LOG(INFO, "worker %u: copy: no dmadev (%s); local copies use memcpy", w->idx,
			  why);
	}
	cc.engine = "memcpy";
	cc.dmadev.device = NULL;
	c = scpp_copy_create(&cc);
	if (c == NULL)
		rte_exit(EXIT_FAILURE, "scppd: worker %u: memcpy copy engine: %s\n", w->idx,
			 rte_strerror(rte_errno));
	return c;
}

static struct scpp_copy *
remote_create(const struct scpp_config *cfg, struct scppd_worker *w, int socket)
{
	const struct scpp_config_copy *cp = &cfg->copy;
	struct scpp_copy_config cc;
	struct scpp_copy *c;
	char why[160] = "";

	config_common(cfg, &cc, socket);
	cc.name = "scppd_copy_remote";
	/* Fault injection (test builds): a READ from a peer that never comes
	 * back (integration.cluster_copy_remote_stall). */
	cc.test_stall_len = cfg->copy.test_stall_len;
	if (cp->remote == SCPP_CONFIG_COPY_REMOTE_FABRIC) {
		cc.engine = "fabric";
		cc.fabric.provider = cp->fabric.provider;
		cc.fabric.node = cp->fabric.node[0] != '\0' ? cp->fabric.node : NULL;
		cc.fabric.service = cp->fabric.service[0] != '\0' ? cp->fabric.service : NULL;
	} else {
		cc.engine = "verbs";
		cc.verbs.device = cp->verbs.device[0] != '\0' ? cp->verbs.device : NULL;
		cc.verbs.port = cp->verbs.port;
		cc.verbs.gid_index = cp->verbs.addressing == SCPP_CONFIG_COPY_ADDR_GID ?
					     (int)cp->verbs.gid_index : -1;
	}
	if (scpp_copy_probe(&cc, why, sizeof(why)) != 0)
		rte_exit(EXIT_FAILURE, "scppd: worker %u: $.copy.remote is \"%s\" but it is not "
			 "offered here: %s\n", w->idx, cc.engine, why);
	c = scpp_copy_create(&cc);
	if (c == NULL)
		rte_exit(EXIT_FAILURE, "scppd: worker %u: %s copy engine: %s\n", w->idx, cc.engine,
			 rte_strerror(rte_errno));
	return c;
}

static void
reg(struct scppd_worker *w, struct scpp_copy *c, void *base, size_t len, uint32_t access,
    const char *what, struct scpp_copy_region **out)
{
	struct scpp_copy_caps caps;
	int rc;

	rc = scpp_copy_mem_register(c, base, len, access, out);
	if (rc != 0) {
		scpp_copy_caps_get(c, &caps);
		rte_exit(EXIT_FAILURE, "scppd: worker %u: registering the %s (%zu bytes) with the "
			 "%s copy engine: %s\n", w->idx, what, len, caps.engine, strerror(-rc));
	}
}

static int
set_attr(struct scppd_worker *w, struct scpp_oid e, const char *name, struct scpp_value v)
{
	uint32_t id;
	int rc;

	rc = scpp_schema_attr_id(scppd_g.schema, name, &id);
	if (rc == 0)
		rc = scpp_store_set(w->store, e, id, &v);
	return rc;
}

/*
 * Publish a window of this shard as an RmaWindow entity of the shard,
 * checked against the schema like any entity a block creates: @p win is
 * its registration with the remote engine (NULL: none, a memory window on
 * a node without one: no key, address or descriptor), @p kind "arena" or
 * "memory", @p name the memory window's (or NULL).
 */
static void
publish(struct scppd_worker *w, struct scpp_oid *oid, const char *engine,
	const struct scpp_copy_window *win, const uint8_t *desc, uint64_t len, const char *kind,
	const char *name)
{
	const struct scpp_config *cfg = &scppd_g.cfg;
	const struct scpp_schema_type *t = scpp_schema_type_by_name(scppd_g.schema, "RmaWindow");
	struct scpp_schema_violation viol;
	struct scpp_schema_access acc;
	struct scpp_value tv;
	char msg[256];
	int rc;

	if (t == NULL)
		rte_exit(EXIT_FAILURE, "scppd: worker %u: $.copy.remote and $.copy.memory_windows "
			 "need the RmaWindow type (schema/core.json) in $.schema.files\n", w->idx);
	rc = scpp_store_entity_mint(w->store, oid);
	tv = scpp_value_oid(scpp_schema_type_get_oid(t));
	if (rc == 0)
		rc = scpp_store_set(w->store, *oid, scpp_schema_type_attr_id(scppd_g.schema), &tv);
	if (rc == 0)
		rc = set_attr(w, *oid, "node",
			      scpp_value_oid(scpp_oid_make(cfg->node.locale, cfg->node.id,
							   w->shard, 0, 0)));
	if (rc == 0)
		rc = set_attr(w, *oid, "shard", scpp_value_u64(w->shard));
	if (rc == 0)
		rc = set_attr(w, *oid, "kind", scpp_value_str(kind, (uint32_t)strlen(kind)));
	if (rc == 0 && name != NULL)
		rc = set_attr(w, *oid, "name", scpp_value_str(name, (uint32_t)strlen(name)));
	if (rc == 0)
		rc = set_attr(w, *oid, "engine", scpp_value_str(engine, (uint32_t)strlen(engine)));
	if (rc == 0)
		rc = set_attr(w, *oid, "provider",
			      win != NULL ? scpp_value_str(win->provider,
							   (uint32_t)strlen(win->provider))
					  : scpp_value_str("", 0));
	if (rc == 0)
		rc = set_attr(w, *oid, "base", scpp_value_u64(win != NULL ? win->base : 0));
	if (rc == 0)
		rc = set_attr(w, *oid, "length", scpp_value_u64(len));
	if (rc == 0)
		rc = set_attr(w, *oid, "key", scpp_value_u64(win != NULL ? win->key : 0));
	if (rc == 0)
		rc = set_attr(w, *oid, "tag", scpp_value_u64(win != NULL ? win->tag : 0));
	if (rc == 0)
		rc = set_attr(w, *oid, "access", scpp_value_u64(win != NULL ? win->access : 0));
	if (rc == 0)
		rc = set_attr(w, *oid, "address",
			      win != NULL ? scpp_value_bytes(win->addr, win->addr_len)
					  : scpp_value_bytes("", 0));
	if (rc == 0)
		rc = set_attr(w, *oid, "descriptor",
			      scpp_value_bytes(desc != NULL ? desc : (const uint8_t *)"",
					       desc != NULL ? SCPP_COPY_WINDOW_LEN : 0));
	if (rc != 0)
		rte_exit(EXIT_FAILURE, "scppd: worker %u: publishing the %s RmaWindow %s of shard %u: "
			 "%s\n", w->idx, kind, name != NULL ? name : "", w->shard, strerror(-rc));
	memset(&viol, 0, sizeof(viol));
	scpp_schema_store_access(&acc, w->store, scppd_g.schema, NULL, NULL);
	rc = scpp_schema_check_entity(scppd_g.schema, t, *oid, SCPP_SCHEMA_CHECK_ALL_ATTRS, &acc,
				      &viol);
	if (rc != 0) {
		scpp_schema_violation_format(msg, sizeof(msg), &viol);
		rte_exit(EXIT_FAILURE, "scppd: worker %u: the %s RmaWindow of shard %u does not fit "
			 "the schema: %s\n", w->idx, kind, w->shard, msg);
	}
}

/* Publish the remote instance's window of this shard's arena. */
static void
window_publish(struct scppd_worker *w, struct scppd_copy *c)
{
	int rc;

	rc = scpp_copy_window_get(c->remote, c->remote_store, &c->win);
	if (rc == 0)
		rc = scpp_copy_window_encode(&c->win, c->desc);
	if (rc != 0)
		rte_exit(EXIT_FAILURE, "scppd: worker %u: the window of shard %u's arena: %s\n",
			 w->idx, w->shard, strerror(-rc));
	publish(w, &c->window_oid, c->remote_caps.engine, &c->win, c->desc, c->win.len, "arena",
		NULL);
}

/*
 * This worker's memory windows ($.copy.memory_windows, docs/COPY.md
 * "Memory windows"): each region allocated zeroed in DPDK memory on the
 * worker's socket, registered with the local engine and the remote one if
 * any, published as an RmaWindow of kind "memory", and handed to the
 * evaluator (env.memwins), which copies to and from it on the CPU.
 */
static void
memwins_init(const struct scpp_config *cfg, struct scppd_worker *w, struct scppd_copy *c)
{
	for (unsigned int i = 0; i < cfg->copy.nb_memwins; i++) {
		const struct scpp_config_copy_memwin *m = &cfg->copy.memwins[i];
		struct scpp_eval_memwin *mw = &c->memwin[c->memwins.n];
		struct scpp_copy_window win;
		uint8_t desc[SCPP_COPY_WINDOW_LEN];
		char what[96];
		int rc;

		if (m->worker != w->idx)
			continue;
		mw->len = m->bytes;
		mw->base = rte_zmalloc_socket("scppd_memwin", m->bytes, 64, c->socket);
		if (mw->base == NULL)
			rte_exit(EXIT_FAILURE, "scppd: worker %u: memory window \"%s\" (%" PRIu64
				 " bytes): out of memory\n", w->idx, m->name, m->bytes);
		snprintf(what, sizeof(what), "memory window \"%s\"", m->name);
		reg(w, c->local, mw->base, m->bytes, SCPP_COPY_ACCESS_LOCAL, what,
		    &c->memwin_local[c->memwins.n]);
		if (c->remote != NULL) {
			reg(w, c->remote, mw->base, m->bytes,
			    SCPP_COPY_ACCESS_LOCAL | SCPP_COPY_ACCESS_REMOTE_READ |
				    SCPP_COPY_ACCESS_REMOTE_WRITE,
			    what, &c->memwin_remote[c->memwins.n]);
			rc = scpp_copy_window_get(c->remote, c->memwin_remote[c->memwins.n], &win);
			if (rc == 0)
				rc = scpp_copy_window_encode(&win, desc);
			if (rc != 0)
				rte_exit(EXIT_FAILURE, "scppd: worker %u: the %s: %s\n", w->idx,
					 what, strerror(-rc));
			memcpy(c->memwin_desc[c->memwins.n], desc, sizeof(desc));
			publish(w, &mw->oid, c->remote_caps.engine, &win, desc, m->bytes, "memory",
				m->name);
		} else {
			publish(w, &mw->oid, c->local_caps.engine, NULL, NULL, m->bytes, "memory",
				m->name);
		}
		c->memwin_cfg[c->memwins.n] = (uint8_t)i;
		c->memwins.n++;
		SCPPD_LOG(INFO, "worker %u: copy: memory window \"%s\" of %" PRIu64 " bytes",
			  w->idx, m->name, m->bytes);
	}
	c->memwins.win = c->memwin;
	if (c->memwins.n > 0)
		w->env.memwins = &c->memwins;
}

/* The interim synchronous path: one copy, submitted and polled to its end. */
static int
run_one(struct scppd_copy *c, void *dst, const void *src, uint64_t len)
{
	struct scpp_copy_op op = {
		.user = ++c->seq, .dst = dst, .src = src, .len = len, .kind = SCPP_COPY_LOCAL,
	};
	struct scpp_copy_cpl cpl;

	if (scpp_copy_submit_burst(c->local, &op, 1) != 1)
		return -EBUSY; /* ring full: only zombies can hold it */
	for (;;) {
		scpp_counter_add(&c->st.polls, 1);
		if (scpp_copy_poll_burst(c->local, &cpl, 1) == 1)
			break;
		rte_pause();
	}
	SCPP_VERIFY(cpl.user == op.user); /* one copy in flight: in order */
	return cpl.status;
}

/*
 * The local engine left a copy stuck (timed out while its device still
 * owns it): retire it. scpp_copy_free() stops the device, so once it
 * returns nothing writes into the store or the evaluation arena any more
 * and the block's pins and undo are safe to release; the worker goes on
 * with the memcpy engine. Rare (a hung DMA engine): allocates and logs.
 */
static SCPP_COLD void
retire_local(struct scppd_copy *c)
{
	struct scpp_copy_config cc;
	struct scpp_copy *m;
	char old[SCPP_COPY_NAME_MAX];

	snprintf(old, sizeof(old), "%s", c->local_caps.engine);
	snprintf(c->retired, sizeof(c->retired), "%s", old);
	config_common(&scppd_g.cfg, &cc, c->socket);
	cc.engine = "memcpy";
	cc.name = "scppd_copy_local";
	m = scpp_copy_create(&cc);
	scpp_copy_free(c->local);
	c->local = m;
	c->local_store = c->local_arena = NULL;
	/* Everything the old engine still owed the jobs ends -ECANCELED;
	 * the save pool goes to the new engine (memcpy needs no registration,
	 * so this cannot fail). */
	if (c->async != NULL)
		(void)scpp_copy_async_rebind(c->async, m);
	if (m == NULL)
		c->hook.async_max_len = 0;
	scpp_counter_add(&c->st.retired, 1);
	if (m == NULL) {
		c->hook.max_len = 0; /* the evaluator copies everything itself */
		c->hook.engine = "cpu";
	} else {
		scpp_copy_caps_get(m, &c->local_caps);
		c->hook.engine = c->local_caps.engine;
	}
	SCPPD_LOG(ERR, "%s: copy: the local %s engine left a copy stuck after %" PRIu64 " ms: "
		  "device stopped, local copies now use %s", c->name, old,
		  (uint64_t)scppd_g.cfg.copy.timeout_ms, m != NULL ? "memcpy" : "the evaluator");
}

/*
 * One synchronous copy through the tracker, when there is one: other
 * blocks' asynchronous copies may be in flight on the same engine, whose
 * completions are the tracker's (run_one() would take them). With the
 * tracker full, the CPU copies (the memcpy engine's semantics).
 */
static int
run_tracked(struct scppd_copy *c, void *dst, const void *src, uint64_t len)
{
	struct scpp_copy_async_done d;
	uint64_t h;
	int rc;

	rc = scpp_copy_async_submit(c->async, dst, src, len, false, 0, &h, NULL);
	if (rc == -EBUSY) {
		scpp_counter_add(&c->st.cpu_sync, 1);
		memmove(dst, src, len);
		return 0;
	}
	if (rc != 0)
		return rc;
	scpp_counter_add(&c->st.polls, 1);
	SCPP_VERIFY(scpp_copy_async_wait(c->async, h, &d) == 0);
	scpp_copy_async_release(c->async, h);
	return d.status;
}

static int
copy_sync(void *arg, const struct scpp_eval_copy_req *rq, struct scpp_eval_copy_done *done)
{
	struct scppd_copy *c = arg;
	struct scpp_copy_stats st;
	uint64_t t0 = now_ns();
	int rc = 0;

	if (rq->save != NULL)
		rc = c->async != NULL ? run_tracked(c, rq->save, rq->dst, rq->len)
				      : run_one(c, rq->save, rq->dst, rq->len);
	done->saved = rq->save != NULL && rc == 0;
	if (rc == 0)
		rc = c->async != NULL ? run_tracked(c, rq->dst, rq->src, rq->len)
				      : run_one(c, rq->dst, rq->src, rq->len);
	done->elapsed_ns = now_ns() - t0;
	scpp_counter_add(&c->st.ns, done->elapsed_ns);
	if (rc == 0) {
		scpp_counter_add(&c->st.copies, 1);
		scpp_counter_add(&c->st.bytes, rq->len);
		return 0;
	}
	scpp_counter_add(&c->st.failed, 1);
	if (rc == -ETIMEDOUT) {
		scpp_copy_stats_get(c->local, &st);
		if (st.zombies > 0) {
			retire_local(c);
			done->engine = c->retired;
		}
	}
	return rc;
}

/* ---- asynchronous copies (scpp_eval_copier.submit and friends) --------- */

static int
async_submit(void *arg, const struct scpp_eval_copy_req *rq, uint64_t *handle, void **save)
{
	struct scppd_copy *c = arg;

	return scpp_copy_async_submit(c->async, rq->dst, rq->src, rq->len, true, 0, handle, save);
}

static int
async_wait(void *arg, uint64_t handle, struct scpp_eval_copy_done *done)
{
	struct scppd_copy *c = arg;
	struct scpp_copy_async_done d;
	struct scpp_copy_stats st;

	SCPP_VERIFY(scpp_copy_async_wait(c->async, handle, &d) == 0);
	/* Timed out while the device still owns it: stop the device (which
	 * ends every job it owed, this one included) before the evaluator
	 * touches these bytes again. */
	if (d.status == -ETIMEDOUT) {
		scpp_copy_stats_get(c->local, &st);
		if (st.zombies > 0) {
			retire_local(c);
			SCPP_VERIFY(scpp_copy_async_result(c->async, handle, &d) == 0);
			d.status = -ETIMEDOUT;
			done->engine = c->retired;
		}
	}
	done->elapsed_ns = d.elapsed_ns;
	done->saved = d.saved;
	done->keep_pins = false;
	scpp_counter_add(&c->st.async_waits, 1);
	scpp_counter_add(&c->st.async_ns, d.elapsed_ns);
	if (d.status != 0)
		scpp_counter_add(&c->st.async_failed, 1);
	else
		scpp_counter_add(&c->st.async_copied, d.len);
	return d.status;
}

static bool
async_conflicts(void *arg, const void *dst, const void *src, uint64_t len)
{
	struct scppd_copy *c = arg;

	return scpp_copy_async_conflicts(c->async, dst, src, len);
}

static bool
async_writing(void *arg, const void *p, uint64_t len)
{
	struct scppd_copy *c = arg;

	return scpp_copy_async_writing(c->async, p, len);
}

static void
async_release(void *arg, uint64_t handle)
{
	struct scppd_copy *c = arg;

	scpp_copy_async_release(c->async, handle);
}

/* ---- parking a block on its copies (park.c, SCPPD_PARK_COPY) ------------ */

/*
 * A block whose copy command left copies in flight stops before its next
 * command, or before its end, with a hold (lib/eval: its undo log and its
 * copies stay with the suspension, so it still commits or aborts whole);
 * the worker serves other blocks meanwhile; every loop turn looks at the
 * oldest parked block's newest copy and marks the block ready when it
 * completed (completions are in submission order, so every earlier copy
 * of the block is complete too). The resumed block settles its copies
 * (the waits return at once). A block that ends another way (expired:
 * undone after waiting for its copies; its session closed) releases its
 * copies through the evaluator; its entry here then finds its newest copy
 * released (-ESTALE) or the park handle stale, and goes.
 */
/* Progress steps a block's newest copy gets before the block is parked. */
#define PARK_POLLS 4u

static bool
park_wants(struct scppd_worker *w, const struct scpp_wire_block *b)
{
	struct scppd_copy *c = w->copy;

	if (c->async == NULL || w->env.copier == NULL)
		return false;
	for (uint16_t i = 0; i < b->ncmds; i++) {
		if (b->cmd[i].op != SCPP_OP_COPY)
			continue;
		if (c->npark > 0)
			scpp_counter_add(&c->st.served_parked, 1);
		return true;
	}
	return false;
}

static enum scpp_eval_verdict
park_before_cmd(struct scppd_worker *w, const struct scpp_wire_block *b, uint16_t cmd,
		size_t nrows, uint64_t *user)
{
	struct scppd_copy *c = w->copy;
	struct scpp_copy_async_done d;

	(void)b;
	(void)cmd;
	(void)nrows;
	if (c->npark >= c->park_cap || !scpp_eval_copies_inflight(w->ectx, user))
		return SCPP_EVAL_GO;
	/* Copies that are done after a few progress steps (the memcpy engine
	 * copies at submit and completes at the next polls: a save, then the
	 * copy) are settled at once: parking them would only cost a turn. */
	for (unsigned int i = 0; i < PARK_POLLS; i++)
		if (scpp_copy_async_result(c->async, *user, &d) != 1)
			return SCPP_EVAL_GO;
	return SCPP_EVAL_HOLD;
}

static void
park_parked(struct scppd_worker *w, uint64_t h, const struct scpp_wire_block *b, uint16_t cmd,
	    uint64_t user)
{
	struct scppd_copy *c = w->copy;
	struct scppd_copy_park *p;

	(void)b;
	/* park_before_cmd() checked for room. */
	SCPP_VERIFY(c->npark < c->park_cap);
	p = &c->park[(c->park_head + c->npark) % c->park_cap];
	*p = (struct scppd_copy_park){.h = h, .last = user, .cmd = cmd};
	c->npark++;
	scpp_counter_add(&c->st.parks, 1);
}

/* The loop: ready every parked block whose copies all completed. */
static void
park_tick(struct scppd_worker *w)
{
	struct scppd_copy *c = w->copy;
	struct scpp_copy_async_done d;

	while (c->npark > 0) {
		struct scppd_copy_park *p = &c->park[c->park_head];
		int rc = scpp_copy_async_result(c->async, p->last, &d);

		if (rc == 1)
			break;
		/* The outcome (status, time) is the copies': the resumed block
		 * settles them. A stale handle: the block ended meanwhile. */
		if (rc == 0 && scppd_park_ready(w, p->h, p->cmd, 0) == 0)
			scpp_counter_add(&c->st.readies, 1);
		c->park_head = (c->park_head + 1) % c->park_cap;
		c->npark--;
	}
}

static const struct scppd_park_ops park_ops = {
	.wants = park_wants,
	.before_cmd = park_before_cmd,
	.parked = park_parked,
	.name = "copy",
};

static void
async_init(const struct scpp_config *cfg, struct scppd_worker *w, struct scppd_copy *c)
{
	static bool registered;
	struct scpp_copy_async_config ac = {
		.max_jobs = cfg->copy.inflight_copies, .pool_bytes = cfg->copy.inflight_bytes,
		.socket = c->socket, .mem = &scpp_copy_mem_rte,
	};
	int rc;

	rc = scpp_copy_async_create(c->local, &ac, &c->async);
	if (rc != 0)
		rte_exit(EXIT_FAILURE, "scppd: worker %u: the save pool of asynchronous copies "
			 "($.copy.inflight_bytes %" PRIu64 ") with the %s copy engine: %s\n",
			 w->idx, cfg->copy.inflight_bytes, c->local_caps.engine, strerror(-rc));
	c->hook.submit = async_submit;
	c->hook.wait = async_wait;
	c->hook.conflicts = async_conflicts;
	c->hook.writing = async_writing;
	c->hook.release = async_release;
	c->hook.async_max_len = RTE_MIN(cfg->copy.inflight_bytes, c->hook.max_len);
	/* Every parked block holds at least one copy: as many entries as copies. */
	c->park_cap = cfg->copy.inflight_copies;
	c->park = rte_zmalloc_socket("scppd_copy_park", sizeof(*c->park) * c->park_cap,
				     RTE_CACHE_LINE_SIZE, c->socket);
	if (c->park == NULL)
		rte_exit(EXIT_FAILURE, "scppd: worker %u: parked copies: out of memory\n", w->idx);
	if (!registered) {
		registered = true;
		scppd_park_register(SCPPD_PARK_COPY, &park_ops);
	}
}

void
scppd_copy_init(struct scppd *d, struct scppd_worker *w)
{
	const struct scpp_config *cfg = &d->cfg;
	int socket = (int)rte_lcore_to_socket_id(w->lcore);
	struct scppd_copy *c;
	struct scpp_copy_caps caps;
	void *base;
	size_t len;

	c = rte_zmalloc_socket("scppd_copy", sizeof(*c), RTE_CACHE_LINE_SIZE, socket);
	if (c == NULL)
		rte_exit(EXIT_FAILURE, "scppd: worker %u: copy state: out of memory\n", w->idx);
	w->copy = c;
	c->socket = socket;
	snprintf(c->name, sizeof(c->name), "worker %u", w->idx);
	c->local = local_create(cfg, w, socket);
	scpp_copy_caps_get(c->local, &c->local_caps);
	scpp_store_mem_region(w->store, &base, &len);
	reg(w, c->local, base, len, SCPP_COPY_ACCESS_LOCAL, "shard's extent arena",
	    &c->local_store);
	/* The evaluator's undo copies go through the engine too when it can
	 * reach the evaluation arena. */
	scpp_eval_ctx_arena(w->ectx, &base, &len);
	c->save = scpp_copy_mem_register(c->local, base, len, SCPP_COPY_ACCESS_LOCAL,
					 &c->local_arena) == 0;
	c->hook = (struct scpp_eval_copier){
		.copy = copy_sync, .arg = c,
		.min_len = RTE_MAX(cfg->copy.min_bytes, (uint64_t)1),
		.max_len = RTE_MIN(cfg->copy.sync_max_bytes, c->local_caps.max_len),
		.save = c->save, .engine = c->local_caps.engine,
	};
	if (cfg->copy.sync_max_bytes > 0)
		w->env.copier = &c->hook;
	/* Asynchronous copies need an engine that works while the worker does
	 * not: memcpy copies inside submit, so for it they would only add a
	 * save pool and a park. */
	if (cfg->copy.sync_max_bytes > 0 && cfg->copy.inflight_bytes > 0 &&
	    (c->local_caps.flags & SCPP_COPY_CAP_OFFLOAD) != 0)
		async_init(cfg, w, c);
	if (cfg->copy.remote != SCPP_CONFIG_COPY_REMOTE_NONE) {
		c->remote = remote_create(cfg, w, socket);
		scpp_copy_caps_get(c->remote, &c->remote_caps);
		scpp_store_mem_region(w->store, &base, &len);
		reg(w, c->remote, base, len,
		    SCPP_COPY_ACCESS_LOCAL | SCPP_COPY_ACCESS_REMOTE_READ |
			    SCPP_COPY_ACCESS_REMOTE_WRITE,
		    "shard's extent arena", &c->remote_store);
		/* Reads from peers' windows land in the evaluation arena
		 * (cont_copy.c), which the evaluator then copies from. */
		scpp_eval_ctx_arena(w->ectx, &base, &len);
		reg(w, c->remote, base, len, SCPP_COPY_ACCESS_LOCAL, "evaluation arena",
		    &c->remote_arena);
		/* ... or, for a CONT parked while its READs are in flight
		 * (cont_read.c), in the read pool: as large as the arena, at
		 * most SCPPD_CONT_READ_POOL_MAX. */
		c->rd_pool_len = RTE_MIN(len, (size_t)SCPPD_CONT_READ_POOL_MAX);
		c->rd_pool = rte_malloc_socket("scppd_cont_rdpool", c->rd_pool_len, 64, socket);
		if (c->rd_pool == NULL)
			rte_exit(EXIT_FAILURE, "scppd: worker %u: continuation read pool (%zu "
				 "bytes): out of memory\n", w->idx, c->rd_pool_len);
		reg(w, c->remote, c->rd_pool, c->rd_pool_len, SCPP_COPY_ACCESS_LOCAL,
		    "continuation read pool", &c->remote_rdpool);
		window_publish(w, c);
		c->target_progress = (c->remote_caps.flags & SCPP_COPY_CAP_TARGET_PROGRESS) != 0;
		if (scppd_copy_peers_init(w) != 0)
			rte_exit(EXIT_FAILURE, "scppd: worker %u: peers' windows: out of memory\n",
				 w->idx);
	}
	memwins_init(cfg, w, c);
	scpp_copy_caps_get(c->local, &caps);
	SCPPD_LOG(INFO, "worker %u: copy: local %s%s%s (copies of %" PRIu64 "..%" PRIu64
		  " bytes, asynchronous up to %" PRIu64 ", undo copies by %s), remote %s%s%s",
		  w->idx, caps.engine, caps.provider[0] ? " " : "", caps.provider, c->hook.min_len,
		  c->hook.max_len, c->hook.async_max_len,
		  c->save ? "the engine" : "the CPU", c->remote ? c->remote_caps.engine : "none",
		  c->remote ? " " : "", c->remote ? c->remote_caps.provider : "");
}

void
scppd_copy_free(struct scppd_worker *w)
{
	struct scppd_copy *c = w->copy;

	if (c == NULL)
		return;
	/* Freeing stops the devices first: nothing touches the store after. */
	scppd_copy_peers_free(w);
	w->env.memwins = NULL;
	scpp_copy_free(c->remote);
	scpp_copy_free(c->local);
	for (uint16_t i = 0; i < c->memwins.n; i++)
		rte_free(c->memwin[i].base);
	scpp_copy_async_free(c->async);
	rte_free(c->rd_pool);
	rte_free(c->park);
	rte_free(c);
	w->copy = NULL;
}

void
scppd_copy_tick_slow(struct scppd_worker *w)
{
	struct scppd_copy *c = w->copy;
	struct scpp_copy_cpl cpl[SCPP_COPY_BURST_MAX];
	struct scpp_copy_stats st;

	if (c->npark > 0)
		park_tick(w);
	if (c->remote != NULL) {
		/* Target progress of peers' copies into our window; and the
		 * READs of CONTs parked on them. */
		uint16_t n = scpp_copy_poll_burst(c->remote, cpl, SCPP_COPY_BURST_MAX);

		for (uint16_t k = 0; k < n; k++)
			if (cpl[k].user & SCPPD_CONT_READ_TAG)
				scppd_cont_read_cpl(w, &cpl[k]);
		if (scppd_g.cfg.copy.recover && scpp_copy_pending(c->remote) > 0) {
			scpp_copy_stats_get(c->remote, &st);
			if (st.zombies > 0 && scpp_copy_recover(c->remote) == 0)
				scpp_counter_add(&c->st.recovers, 1);
		}
		scppd_copy_peers_tick(w);
	}
}

/* ---- telemetry ---------------------------------------------------------- */

/* rte_telemetry nests one level only: an engine's fields are prefixed. */
static void
engine_fields(struct rte_tel_data *e, const char *pfx, struct scpp_copy *c)
{
	struct scpp_copy_caps caps;
	struct scpp_copy_stats st;
	char k[48];

	scpp_copy_caps_get(c, &caps);
	scpp_copy_stats_get(c, &st);
#define F(name, v) (snprintf(k, sizeof(k), "%s_%s", pfx, name), rte_tel_data_add_dict_u64(e, k, v))
	snprintf(k, sizeof(k), "%s_engine", pfx);
	rte_tel_data_add_dict_string(e, k, caps.engine);
	snprintf(k, sizeof(k), "%s_provider", pfx);
	rte_tel_data_add_dict_string(e, k, caps.provider);
	F("flags", caps.flags);
	F("max_len", caps.max_len);
	F("ring_size", caps.ring_size);
	F("submitted", st.submitted);
	F("completed", st.completed);
	F("failed", st.failed);
	F("bytes", st.bytes);
	F("ring_full", st.ring_full);
	F("invalid", st.invalid);
	F("timeouts", st.timeouts);
	F("late", st.late);
	F("hw_busy", st.hw_busy);
	F("cpu_fallback", st.cpu_fallback);
	F("parts", st.parts);
	F("inflight", st.inflight);
	F("zombies", st.zombies);
#undef F
}

static int
cmd_copy(const char *cmd __rte_unused, const char *params __rte_unused, struct rte_tel_data *d)
{
	char key[32], oid[SCPP_OID_STR_MAX];

	rte_tel_data_start_dict(d);
	for (unsigned int i = 0; i < scppd_g.nb_workers; i++) {
		struct scppd_copy *c = scppd_g.workers[i]->copy;
		struct rte_tel_data *s = rte_tel_data_alloc();

		if (s == NULL)
			return -ENOMEM;
		rte_tel_data_start_dict(s);
		rte_tel_data_add_dict_u64(s, "shard", scppd_g.workers[i]->shard);
		rte_tel_data_add_dict_u64(s, "sync_min_bytes", c->hook.min_len);
		rte_tel_data_add_dict_u64(s, "sync_max_bytes",
					  scppd_g.workers[i]->env.copier != NULL ? c->hook.max_len : 0);
		rte_tel_data_add_dict_string(s, "undo_copies", c->save ? "engine" : "cpu");
		rte_tel_data_add_dict_u64(s, "sync_copies", scpp_counter_read(&c->st.copies));
		rte_tel_data_add_dict_u64(s, "sync_bytes", scpp_counter_read(&c->st.bytes));
		rte_tel_data_add_dict_u64(s, "sync_ns", scpp_counter_read(&c->st.ns));
		rte_tel_data_add_dict_u64(s, "sync_failed", scpp_counter_read(&c->st.failed));
		rte_tel_data_add_dict_u64(s, "sync_polls", scpp_counter_read(&c->st.polls));
		rte_tel_data_add_dict_u64(s, "retired", scpp_counter_read(&c->st.retired));
		rte_tel_data_add_dict_u64(s, "async_max_bytes", c->hook.async_max_len);
		rte_tel_data_add_dict_u64(s, "async_waits", scpp_counter_read(&c->st.async_waits));
		rte_tel_data_add_dict_u64(s, "async_ns", scpp_counter_read(&c->st.async_ns));
		rte_tel_data_add_dict_u64(s, "async_failed", scpp_counter_read(&c->st.async_failed));
		rte_tel_data_add_dict_u64(s, "async_copied", scpp_counter_read(&c->st.async_copied));
		rte_tel_data_add_dict_u64(s, "parks", scpp_counter_read(&c->st.parks));
		rte_tel_data_add_dict_u64(s, "readies", scpp_counter_read(&c->st.readies));
		rte_tel_data_add_dict_u64(s, "served_parked", scpp_counter_read(&c->st.served_parked));
		rte_tel_data_add_dict_u64(s, "parked", __atomic_load_n(&c->npark, __ATOMIC_RELAXED));
		rte_tel_data_add_dict_u64(s, "cpu_sync", scpp_counter_read(&c->st.cpu_sync));
		if (c->async != NULL) {
			struct scpp_copy_async_stats as;

			scpp_copy_async_stats_get(c->async, &as);
			rte_tel_data_add_dict_u64(s, "async_submitted", as.submitted);
			rte_tel_data_add_dict_u64(s, "async_completed", as.completed);
			rte_tel_data_add_dict_u64(s, "async_bytes", as.bytes);
			rte_tel_data_add_dict_u64(s, "async_full_jobs", as.full_jobs);
			rte_tel_data_add_dict_u64(s, "async_full_pool", as.full_pool);
			rte_tel_data_add_dict_u64(s, "async_held", as.held);
			rte_tel_data_add_dict_u64(s, "async_inflight", as.inflight);
			rte_tel_data_add_dict_u64(s, "async_pool_used", as.pool_used);
			rte_tel_data_add_dict_u64(s, "async_pool_peak", as.pool_peak);
		}
		rte_tel_data_add_dict_u64(s, "recovers", scpp_counter_read(&c->st.recovers));
		engine_fields(s, "local", c->local);
		if (c->remote != NULL) {
			engine_fields(s, "remote", c->remote);
			scpp_oid_format(oid, sizeof(oid), c->window_oid);
			rte_tel_data_add_dict_string(s, "remote_window", oid);
			rte_tel_data_add_dict_u64(s, "peer_windows",
						  scpp_counter_read(&c->st.peer_windows));
			rte_tel_data_add_dict_u64(s, "peer_attaches",
						  scpp_counter_read(&c->st.peer_attaches));
			rte_tel_data_add_dict_u64(s, "peer_detaches",
						  scpp_counter_read(&c->st.peer_detaches));
			rte_tel_data_add_dict_u64(s, "peer_refused",
						  scpp_counter_read(&c->st.peer_refused));
			rte_tel_data_add_dict_u64(s, "peer_busy", scpp_counter_read(&c->st.peer_busy));
			rte_tel_data_add_dict_u64(s, "peer_memwins",
						  scpp_counter_read(&c->st.peer_memwins));
			rte_tel_data_add_dict_u64(s, "cont_src_sent",
						  scpp_counter_read(&c->st.cont_src_sent));
			rte_tel_data_add_dict_u64(s, "cont_src_refused",
						  scpp_counter_read(&c->st.cont_src_refused));
			rte_tel_data_add_dict_u64(s, "cont_reads", scpp_counter_read(&c->st.cont_reads));
			rte_tel_data_add_dict_u64(s, "cont_read_bytes",
						  scpp_counter_read(&c->st.cont_read_bytes));
			rte_tel_data_add_dict_u64(s, "cont_read_failed",
						  scpp_counter_read(&c->st.cont_read_failed));
			rte_tel_data_add_dict_u64(s, "cont_nested",
						  scpp_counter_read(&c->st.cont_nested));
			rte_tel_data_add_dict_u64(s, "cont_nest_answered",
						  scpp_counter_read(&c->st.cont_nest_answered));
			rte_tel_data_add_dict_u64(s, "cont_pin_grace",
						  scpp_counter_read(&c->st.cont_pin_grace));
			rte_tel_data_add_dict_u64(s, "cont_read_parks",
						  scpp_counter_read(&c->st.cont_read_parks));
			rte_tel_data_add_dict_u64(s, "cont_read_served",
						  scpp_counter_read(&c->st.cont_read_served));
			rte_tel_data_add_dict_u64(s, "cont_read_sync",
						  scpp_counter_read(&c->st.cont_read_sync));
			rte_tel_data_add_dict_u64(s, "cont_src_denied",
						  scpp_counter_read(&c->st.cont_src_denied));
			rte_tel_data_add_dict_u64(s, "cont_memwin_sent",
						  scpp_counter_read(&c->st.cont_memwin_sent));
			rte_tel_data_add_dict_u64(s, "cont_memwin_rx",
						  scpp_counter_read(&c->st.cont_memwin_rx));
			rte_tel_data_add_dict_u64(s, "memwin_busy_full",
						  scpp_counter_read(&c->st.memwin_busy_full));
			rte_tel_data_add_dict_u64(s, "memwin_resolves",
						  scpp_counter_read(&c->st.memwin_resolves));
			rte_tel_data_add_dict_u64(s, "memwin_third_refused",
						  scpp_counter_read(&c->st.memwin_third_refused));
			rte_tel_data_add_dict_u64(s, "memwin_unwatched",
						  scpp_counter_read(&c->st.memwin_unwatched));
		}
		if (c->memwins.n > 0) {
			uint64_t refused = 0;

			for (uint16_t k = 0; k < c->memwins.n; k++)
				refused += __atomic_load_n(&c->memwin[k].busy_refused,
							   __ATOMIC_RELAXED);
			rte_tel_data_add_dict_u64(s, "memwin_busy",
						  __atomic_load_n(&c->memwins.nbusy,
								  __ATOMIC_RELAXED));
			rte_tel_data_add_dict_u64(s, "memwin_busy_refused", refused);
		}
		for (uint16_t k = 0; k < c->memwins.n; k++) {
			const struct scpp_eval_memwin *mw = &c->memwin[k];
			struct rte_tel_data *m = rte_tel_data_alloc();

			if (m == NULL) {
				rte_tel_data_free(s);
				return -ENOMEM;
			}
			rte_tel_data_start_dict(m);
			rte_tel_data_add_dict_string(m, "name",
						     scppd_g.cfg.copy.memwins[c->memwin_cfg[k]].name);
			scpp_oid_format(oid, sizeof(oid), mw->oid);
			rte_tel_data_add_dict_string(m, "window", oid);
			rte_tel_data_add_dict_u64(m, "length", mw->len);
			rte_tel_data_add_dict_u64(m, "copies_in",
						  __atomic_load_n(&mw->copies_in, __ATOMIC_RELAXED));
			rte_tel_data_add_dict_u64(m, "bytes_in",
						  __atomic_load_n(&mw->bytes_in, __ATOMIC_RELAXED));
			rte_tel_data_add_dict_u64(m, "copies_out",
						  __atomic_load_n(&mw->copies_out, __ATOMIC_RELAXED));
			rte_tel_data_add_dict_u64(m, "bytes_out",
						  __atomic_load_n(&mw->bytes_out, __ATOMIC_RELAXED));
			rte_tel_data_add_dict_u64(m, "remote_in",
						  __atomic_load_n(&mw->remote_in, __ATOMIC_RELAXED));
			rte_tel_data_add_dict_u64(m, "remote_out",
						  __atomic_load_n(&mw->remote_out, __ATOMIC_RELAXED));
			rte_tel_data_add_dict_u64(m, "busy_refused",
						  __atomic_load_n(&mw->busy_refused, __ATOMIC_RELAXED));
			snprintf(key, sizeof(key), "memory_window%u", k);
			rte_tel_data_add_dict_container(s, key, m, 0);
		}
		snprintf(key, sizeof(key), "worker%u", i);
		rte_tel_data_add_dict_container(d, key, s, 0);
	}
	return 0;
}

int
scppd_copy_telemetry_init(void)
{
	return rte_telemetry_register_cmd("/scpp/copy", cmd_copy,
					  "Copy engines per worker: engines, counters, the "
					  "synchronous path, the RmaWindow. No parameters.");
}
