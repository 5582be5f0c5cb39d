/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control loop (the EAL main lcore), woken by events instead of a
 * fixed tick (docs/ARCHITECTURE.md "The control thread").
 *
 * Everything the control lcore does has a producer that can say so: a
 * worker queues a handshake for it (auth_worker.c), submits a schema change
 * or votes on one, hands it a compiled schema to publish (schema_job.c);
 * the etcd agent thread builds a new map (lib/cluster's wake hook); a
 * signal sets the stop or reload flag. Each calls scppd_control_wake(),
 * and the loop sleeps in poll(2) on an eventfd until then. What has no
 * producer is polled: grace periods (route snapshots, cluster maps,
 * authorities, schemas waiting for every reader to move on) and
 * reassembly slots are checked every CTL_PENDING_MS while any waits, and
 * the clock-driven work (session expiry and rotation, a stale cluster
 * map's warning) every CTL_IDLE_AUTH_MS or CTL_IDLE_MS. On an idle
 * dedicated node that is one wake a second instead of a hundred, on the
 * CPU a co-located generator or the telemetry client uses.
 *
 * One eventfd write per control turn at most: the producer that finds
 * `armed` clear sets it and writes; the loop clears it (sequentially
 * consistent, before it looks at any queue) at the start of each turn, so
 * a producer that saw it set is one whose work the turn will find.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <rte_telemetry.h>

#include "scppd.h"

/* Turn while a grace period or a reassembly waits, in ms. */
#define CTL_PENDING_MS 1
/* Idle turn with sessions (expiry, rotation, carried identities), in ms. */
#define CTL_IDLE_AUTH_MS 100
/* Idle turn otherwise (a stale map's warning, the etcd agent's status). */
#define CTL_IDLE_MS 1000

static struct {
	int efd;            /* eventfd; -1 before init and after free */
	uint32_t armed;     /* a wake is written and not yet consumed */
	/* control lcore writes, telemetry reads (relaxed) */
	uint64_t turns, woken, pending, idle;
} ctl = {.efd = -1};

int
scppd_control_init(void)
{
	ctl.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return ctl.efd < 0 ? -errno : 0;
}

void
scppd_control_wake(void)
{
	const uint64_t one = 1;
	ssize_t n;
	int fd = __atomic_load_n(&ctl.efd, __ATOMIC_ACQUIRE);

	if (fd < 0 || __atomic_exchange_n(&ctl.armed, 1, __ATOMIC_SEQ_CST) != 0)
		return;
	/* Async-signal-safe. A full counter (EAGAIN) is a wake all the same. */
	n = write(fd, &one, sizeof(one));
	(void)n;
}

/* Sleep until a wake or @p ms; true if woken. */
static bool
ctl_wait(int ms)
{
	struct pollfd p = {.fd = ctl.efd, .events = POLLIN};
	uint64_t v;
	bool woken;

	woken = poll(&p, 1, ms) > 0 && (p.revents & POLLIN) != 0;
	if (woken && read(ctl.efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		SCPPD_LOG(WARNING, "control: eventfd read: %s", strerror(errno));
	/* Before any queue is looked at: a later producer writes again. */
	__atomic_store_n(&ctl.armed, 0, __ATOMIC_SEQ_CST);
	return woken;
}

static void
ctl_count(uint64_t *c)
{
	__atomic_store_n(c, *c + 1, __ATOMIC_RELAXED);
}

void
scppd_control_run(struct scppd *d)
{
	bool pending = true; /* the first turn runs at once */

	while (!__atomic_load_n(&d->stop, __ATOMIC_RELAXED)) {
		unsigned int origin;
		int ms = pending ? CTL_PENDING_MS : d->auth != NULL ? CTL_IDLE_AUTH_MS : CTL_IDLE_MS;

		if (ctl_wait(ms))
			ctl_count(&ctl.woken);
		else
			ctl_count(pending ? &ctl.pending : &ctl.idle);
		ctl_count(&ctl.turns);
		pending = scppd_auth_tick(d);
		pending |= scppd_cluster_tick(d);
		pending |= scpp_route_reclaim(d->routes) > 0;
		pending |= scppd_schema_tick(d);
		if (scpp_schema_pub_service(d->schema_pub, &origin) == 1)
			SCPPD_LOG(INFO, "schema version %" PRIu64 " (a change made on shard %u) "
				  "published to every shard", scpp_schema_pub_version(d->schema_pub),
				  d->workers[origin]->shard);
		pending |= scpp_schema_pub_retired(d->schema_pub) > 0;
	}
}

void
scppd_control_free(void)
{
	/* A late signal's wake finds -1, never a reused descriptor. */
	int fd = __atomic_exchange_n(&ctl.efd, -1, __ATOMIC_ACQ_REL);

	if (fd >= 0)
		close(fd);
}

/* /scpp/control */
static int
cmd_control(const char *cmd __rte_unused, const char *params __rte_unused, struct rte_tel_data *t)
{
	rte_tel_data_start_dict(t);
	rte_tel_data_add_dict_u64(t, "turns", __atomic_load_n(&ctl.turns, __ATOMIC_RELAXED));
	rte_tel_data_add_dict_u64(t, "woken", __atomic_load_n(&ctl.woken, __ATOMIC_RELAXED));
	rte_tel_data_add_dict_u64(t, "pending", __atomic_load_n(&ctl.pending, __ATOMIC_RELAXED));
	rte_tel_data_add_dict_u64(t, "idle", __atomic_load_n(&ctl.idle, __ATOMIC_RELAXED));
	rte_tel_data_add_dict_u64(t, "idle_ms", scppd_g.auth != NULL ? CTL_IDLE_AUTH_MS :
				  CTL_IDLE_MS);
	return 0;
}

int
scppd_control_telemetry_init(void)
{
	return rte_telemetry_register_cmd("/scpp/control", cmd_control,
					  "The control loop's turns: woken by an event, by work "
					  "waiting for a grace period, idle. No parameters");
}
