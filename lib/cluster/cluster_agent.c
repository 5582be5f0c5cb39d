/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The etcd agent: one thread that keeps this node registered and reads the
 * cluster's records.
 *
 * Why a thread of its own: every etcd request may take up to timeout_ms
 * (a partitioned or dead etcd makes every one of them do so), and the
 * control loop that publishes maps to the workers must never wait that
 * long. The thread does all network I/O; the control loop only takes
 * finished maps and copies the status, each under a mutex held for a copy.
 *
 * Why polling rather than a watch: a read of the whole prefix every
 * poll_ms is a complete snapshot, so there is no event to miss, no
 * compaction to recover from and no stream to parse; the header revision
 * tells an unchanged registry apart at the cost of one small request (the
 * map is rebuilt only when it moved). With 256 nodes of ~0.5 KiB records a
 * read is ~200 KiB; at the default 500 ms that is well within what one etcd
 * serves. A departure is seen at most lease_ttl_s + poll_ms after the
 * departed node's last keepalive.
 *
 * Registration is create-only: the record is written only if its key does
 * not exist, or holds this node's own record under an earlier lease (a
 * restart within the TTL, or a lease presumed lost while etcd was away:
 * same name, address and base port; then it is replaced under the new
 * lease and the old lease revoked). Any other record under this node's id is a
 * conflict: reported, retried every TTL, never overwritten.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "scpp_common.h"
#include "scpp_config.h"
#include "scpp_cluster.h"
#include "cluster_priv.h"

#define NS_PER_MS UINT64_C(1000000)

struct scpp_cluster_agent {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;  /* wakes the thread (stop) and waiters (first map) */
	/* Under mu. */
	bool stop;
	bool revoke;
	bool first_map;
	struct scpp_cluster_map *pending;
	struct scpp_cluster_agent_status st;
	/* Set before the thread starts, then read-only. */
	struct scpp_config_cluster_etcd conf;
	struct scpp_config_cluster_node self;
	void (*wake)(void *ctx);
	void *wake_ctx;
	char key[SCPP_CONFIG_ETCD_PREFIX_SIZE + 32];
	char value[SCPP_CONFIG_RECORD_MAX];
	/* The thread's own. */
	struct cluster_etcd etcd;
	struct scpp_cluster_agent_counters c;
	struct scpp_cluster_map *last;
	struct scpp_cluster_range *range; /* ~250 KiB: on the heap, reused */
	uint64_t lease;
	uint32_t ttl;
	bool registered;
	bool reachable;
	bool conflict;
	uint64_t last_rev, last_cluster_id;
	uint64_t next_reg, next_ka, next_poll;
	uint64_t last_ka_ok, last_read_ok, last_map, started;
	char conflict_msg[SCPP_CLUSTER_MSG_SIZE];
	struct scpp_cluster_report rejected;
};

const char *
scpp_cluster_etcd_state_name(enum scpp_cluster_etcd_state s)
{
	static const char *const names[] = {
		[SCPP_CLUSTER_ETCD_CONNECTING] = "connecting",
		[SCPP_CLUSTER_ETCD_REGISTERED] = "registered",
		[SCPP_CLUSTER_ETCD_UNREACHABLE] = "unreachable",
		[SCPP_CLUSTER_ETCD_CONFLICT] = "conflict",
		[SCPP_CLUSTER_ETCD_STOPPED] = "stopped",
	};

	return (unsigned int)s < SCPP_ARRAY_SIZE(names) ? names[s] : "?";
}

/* One request; @p ok tracks whether etcd answers at all. */
static int
call(struct scpp_cluster_agent *a, const char *path, const char *body, char **resp, size_t *len)
{
	int rc = cluster_etcd_call(&a->etcd, path, body, resp, len);

	a->reachable = rc == 0;
	return rc;
}

static void
revoke(struct scpp_cluster_agent *a, uint64_t lease)
{
	char body[64], *resp = NULL;
	size_t len;

	if (lease == 0 || cluster_body_lease(body, sizeof(body), lease) < 0)
		return;
	if (call(a, "/v3/lease/revoke", body, &resp, &len) == 0)
		free(resp);
}

static bool
same_node(const struct scpp_config_cluster_node *x, const struct scpp_config_cluster_node *y)
{
	return strcmp(x->name, y->name) == 0 && x->ipv4 == y->ipv4 && x->base_port == y->base_port &&
	       x->locale == y->locale;
}

/* Write this node's record: create-only, or a takeover of its own. */
static int
put_record(struct scpp_cluster_agent *a, uint64_t mod_revision, bool *ok, struct cluster_kv *kv)
{
	char *body = cluster_body_put_if(a->key, a->value, a->lease, mod_revision);
	char *resp = NULL, err[SCPP_CLUSTER_MSG_SIZE];
	size_t len;
	int rc;

	if (body == NULL)
		return -ENOMEM;
	rc = call(a, "/v3/kv/txn", body, &resp, &len);
	free(body);
	if (rc != 0)
		return rc;
	rc = cluster_answer_put_if(resp, len, ok, kv, err, sizeof(err));
	free(resp);
	if (rc != 0) {
		snprintf(a->etcd.err, sizeof(a->etcd.err), "%s", err);
		a->c.bad_responses++;
	}
	return rc;
}

static void
set_conflict(struct scpp_cluster_agent *a, const struct cluster_kv *kv,
	     const struct scpp_config_cluster_node *other, const char *why)
{
	char x[16], y[16], msg[1024];

	cluster_ipv4_format(x, a->self.ipv4);
	if (other != NULL) {
		cluster_ipv4_format(y, other->ipv4);
		snprintf(msg, sizeof(msg),
			 "node id %" PRIu32 " is already registered by \"%s\" at %s:%u (key %.160s, "
			 "lease %" PRIx64 "); this node is \"%s\" at %s:%u: two nodes may not share "
			 "an id", a->self.id, other->name, y, other->base_port, kv->key, kv->lease,
			 a->self.name, x, a->self.base_port);
	} else {
		snprintf(msg, sizeof(msg),
			 "node id %" PRIu32 " is held by key %.160s (lease %" PRIx64 ") whose value "
			 "is not a valid record (%.160s); this node (\"%s\" at %s:%u) will not overwrite "
			 "it: delete the key or let its lease lapse", a->self.id, kv->key,
			 kv->lease, why, a->self.name, x, a->self.base_port);
	}
	/* Truncated to the status field; the whole text is rarely longer. */
	snprintf(a->conflict_msg, sizeof(a->conflict_msg), "%.*s",
		 (int)sizeof(a->conflict_msg) - 1, msg);
	a->conflict = true;
	a->c.conflicts++;
}

static int
do_register(struct scpp_cluster_agent *a)
{
	char body[64], *resp = NULL, err[SCPP_CLUSTER_MSG_SIZE];
	struct scpp_config_cluster_node other;
	struct scpp_config_error cerr;
	struct cluster_kv kv;
	bool ok = false;
	size_t len;
	int rc;

	if (a->lease == 0) {
		cluster_body_grant(body, sizeof(body), a->conf.lease_ttl_s);
		rc = call(a, "/v3/lease/grant", body, &resp, &len);
		if (rc != 0)
			return rc;
		rc = cluster_answer_grant(resp, len, &a->lease, &a->ttl, err, sizeof(err));
		free(resp);
		if (rc != 0) {
			snprintf(a->etcd.err, sizeof(a->etcd.err), "%s", err);
			a->c.bad_responses++;
			return rc;
		}
	}
	rc = put_record(a, 0, &ok, &kv);
	if (rc == -EREMOTEIO) {
		/* etcd refused the put itself: in practice "requested lease not
		 * found" (it lapsed before the record was written). A new lease
		 * next time. */
		a->lease = 0;
		return rc;
	}
	if (rc != 0)
		return rc;
	if (!ok && kv.value != NULL && kv.lease == a->lease) {
		ok = true; /* written by an earlier try whose answer was lost */
	} else if (!ok && kv.value != NULL) {
		rc = scpp_config_cluster_node_parse(kv.value, kv.value_len, kv.key, &other, &cerr);
		if (rc == 0 && same_node(&other, &a->self)) {
			uint64_t old = kv.lease;

			free(kv.value);
			rc = put_record(a, kv.mod_revision, &ok, &kv);
			if (rc == 0 && ok) {
				a->c.takeovers++;
				revoke(a, old);
			}
		} else {
			set_conflict(a, &kv, rc == 0 ? &other : NULL, cerr.msg);
			revoke(a, a->lease);
			a->lease = 0;
			rc = -EADDRINUSE;
		}
	}
	free(kv.value);
	if (rc != 0)
		return rc;
	if (!ok)
		return -EAGAIN; /* the key changed meanwhile: try again */
	a->registered = true;
	a->conflict = false;
	a->conflict_msg[0] = '\0';
	a->c.registrations++;
	return 0;
}

static void
do_keepalive(struct scpp_cluster_agent *a, uint64_t now)
{
	char body[64], *resp = NULL, err[SCPP_CLUSTER_MSG_SIZE];
	uint32_t left = 0;
	size_t len;
	int rc;

	cluster_body_lease(body, sizeof(body), a->lease);
	rc = call(a, "/v3/lease/keepalive", body, &resp, &len);
	if (rc == 0) {
		rc = cluster_answer_keepalive(resp, len, a->lease, &left, err, sizeof(err));
		free(resp);
		if (rc != 0) {
			snprintf(a->etcd.err, sizeof(a->etcd.err), "%s", err);
			a->c.bad_responses++;
		}
	}
	if (rc == 0 && left > 0) {
		a->c.keepalives++;
		a->last_ka_ok = now;
		return;
	}
	if (rc != 0)
		a->c.keepalive_failures++;
	/* Gone for sure (no TTL left), or not renewed for a whole TTL, after
	 * which etcd has let it lapse if it is alive at all. */
	if ((rc == 0 && left == 0) || now - a->last_ka_ok > (uint64_t)a->ttl * 1000 * NS_PER_MS) {
		snprintf(a->etcd.err, sizeof(a->etcd.err), "lease %" PRIx64 " %s: registering again",
			 a->lease, rc == 0 ? "has expired" : "was not renewed for a TTL");
		a->c.lease_lost++;
		a->registered = false;
		a->lease = 0;
		a->next_reg = now;
	}
}

static void
post_map(struct scpp_cluster_agent *a, struct scpp_cluster_map *m, uint64_t now)
{
	struct scpp_cluster_map *copy = scpp_cluster_map_clone(m), *old;

	if (copy == NULL)
		return;
	pthread_mutex_lock(&a->mu);
	old = a->pending;
	a->pending = copy;
	a->first_map = true;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	scpp_cluster_map_free(old);
	a->c.maps_built++;
	a->last_map = now;
	if (a->wake != NULL)
		a->wake(a->wake_ctx);
}

static void
do_poll(struct scpp_cluster_agent *a, uint64_t now)
{
	char body[1024], *resp = NULL, err[SCPP_CLUSTER_MSG_SIZE];
	char keys[SCPP_CONFIG_ETCD_PREFIX_SIZE + 16];
	struct scpp_cluster_map *m = NULL;
	bool self_ok = false;
	size_t len;
	int rc;

	/* One more than a map takes: "more" then says the registry is over. */
	snprintf(keys, sizeof(keys), "%sv1/node/", a->conf.prefix);
	rc = cluster_body_range_prefix(body, sizeof(body), keys, SCPP_CLUSTER_MAX_NODES + 1);
	if (rc < 0)
		return;
	rc = call(a, "/v3/kv/range", body, &resp, &len);
	if (rc != 0)
		return;
	rc = scpp_cluster_etcd_decode_range(resp, len, a->conf.prefix, a->range, err, sizeof(err));
	free(resp);
	if (rc != 0) {
		snprintf(a->etcd.err, sizeof(a->etcd.err), "%s", err);
		a->c.bad_responses++;
		return;
	}
	a->c.polls++;
	a->last_read_ok = now;
	for (unsigned int i = 0; i < a->range->nb; i++)
		if (a->range->recs[i].rec.id == a->self.id)
			self_ok = a->range->recs[i].lease == a->lease;
	if (a->registered && !self_ok) {
		/* Our record is gone (deleted, or expired with a lease we did
		 * not know had lapsed): write it again now. */
		snprintf(a->etcd.err, sizeof(a->etcd.err), "this node's record %s is missing or "
			 "not under lease %" PRIx64 ": registering again", a->key, a->lease);
		/* Whatever removed it, the lease is of no further use: the next
		 * registration starts from a new one. */
		revoke(a, a->lease);
		a->lease = 0;
		a->c.lease_lost++;
		a->registered = false;
		a->next_reg = now;
	}
	if (a->last != NULL && a->range->revision == a->last_rev &&
	    a->range->cluster_id == a->last_cluster_id) {
		a->c.polls_unchanged++;
		return;
	}
	rc = scpp_cluster_map_build(a->last, &a->self, a->range->recs, a->range->nb,
				    a->range->revision, now, &m, &a->rejected);
	if (rc != 0)
		return;
	/* Records the codec refused count too, and come first in the report. */
	a->c.records_rejected += a->range->rep.rejected + a->rejected.rejected;
	if (a->range->rep.rejected > 0) {
		struct scpp_cluster_report r = a->range->rep;

		for (unsigned int i = 0; i < a->rejected.nb_msgs; i++)
			cluster_report_add(&r, "%s", a->rejected.msgs[i]);
		r.rejected = a->range->rep.rejected + a->rejected.rejected;
		a->rejected = r;
	}
	scpp_cluster_map_free(a->last);
	a->last = m;
	a->last_rev = a->range->revision;
	a->last_cluster_id = a->range->cluster_id;
	post_map(a, m, now);
}

static void
publish_status(struct scpp_cluster_agent *a, uint64_t now)
{
	struct scpp_cluster_agent_status *st = &a->st;
	uint64_t ttl_ns = (uint64_t)a->conf.lease_ttl_s * 1000 * NS_PER_MS;

	pthread_mutex_lock(&a->mu);
	st->state = a->conflict ? SCPP_CLUSTER_ETCD_CONFLICT :
		    !a->reachable ? SCPP_CLUSTER_ETCD_UNREACHABLE :
		    a->registered ? SCPP_CLUSTER_ETCD_REGISTERED : SCPP_CLUSTER_ETCD_CONNECTING;
	st->registered = a->registered;
	st->stale = now - (a->last_read_ok != 0 ? a->last_read_ok : a->started) > ttl_ns;
	st->lease = a->lease;
	st->ttl_s = a->ttl != 0 ? a->ttl : a->conf.lease_ttl_s;
	st->revision = a->last_rev;
	st->cluster_id = a->last_cluster_id;
	st->last_read_ns = a->last_read_ok;
	st->last_keepalive_ns = a->last_ka_ok;
	st->last_map_ns = a->last_map;
	snprintf(st->endpoint, sizeof(st->endpoint), "%s", a->etcd.endpoints[a->etcd.cur]);
	snprintf(st->last_error, sizeof(st->last_error), "%s", a->etcd.err);
	snprintf(st->conflict, sizeof(st->conflict), "%s", a->conflict_msg);
	st->rejected = a->rejected;
	st->c = a->c;
	/* scpp_cluster_agent_wait_first() waits for this status (registered,
	 * or a conflict) as much as for the map. */
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
}

static void *
agent_main(void *arg)
{
	struct scpp_cluster_agent *a = arg;
	const uint64_t poll_ns = (uint64_t)a->conf.poll_ms * NS_PER_MS;
	bool stop = false, rev;

	a->started = scpp_cluster_now_ns();
	a->next_reg = a->next_poll = a->started;
	a->reachable = true;
	while (!stop) {
		uint64_t now = scpp_cluster_now_ns(), wake;
		struct timespec ts;

		if (!a->registered && now >= a->next_reg) {
			int rc = do_register(a);

			if (rc == 0) {
				a->last_ka_ok = now;
				a->next_ka = now + (uint64_t)a->ttl * 1000 * NS_PER_MS / 3;
			} else {
				/* A conflict waits for the other record's lease;
				 * a failure retries at the next read. */
				a->next_reg = now + (rc == -EADDRINUSE ?
						     (uint64_t)a->conf.lease_ttl_s * 1000 * NS_PER_MS :
						     poll_ns);
			}
		} else if (a->registered && now >= a->next_ka) {
			do_keepalive(a, now);
			a->next_ka = now + (uint64_t)a->ttl * 1000 * NS_PER_MS / 3;
		}
		now = scpp_cluster_now_ns();
		if (now >= a->next_poll) {
			do_poll(a, now);
			a->next_poll = now + poll_ns;
		}
		publish_status(a, now);
		wake = SCPP_MIN(a->next_poll, a->registered ? a->next_ka : a->next_reg);
		ts.tv_sec = (time_t)(wake / 1000000000u);
		ts.tv_nsec = (long)(wake % 1000000000u);
		pthread_mutex_lock(&a->mu);
		while (!a->stop && scpp_cluster_now_ns() < wake)
			if (pthread_cond_timedwait(&a->cv, &a->mu, &ts) == ETIMEDOUT)
				break;
		stop = a->stop;
		rev = a->revoke;
		pthread_mutex_unlock(&a->mu);
	}
	if (rev && a->registered)
		revoke(a, a->lease);
	a->registered = false;
	pthread_mutex_lock(&a->mu);
	a->st.state = SCPP_CLUSTER_ETCD_STOPPED;
	a->st.registered = false;
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void
curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct scpp_cluster_agent *
scpp_cluster_agent_start(const struct scpp_cluster_agent_conf *conf)
{
	struct scpp_cluster_agent *a;
	pthread_condattr_t ca;
	int rc;

	if (conf == NULL || conf->etcd == NULL || conf->etcd->nb_endpoints == 0 ||
	    conf->self.id == 0) {
		errno = EINVAL;
		return NULL;
	}
	if (conf->post == NULL) {
		pthread_once(&curl_once, curl_init);
		if (curl_init_rc != CURLE_OK) {
			errno = EIO;
			return NULL;
		}
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return NULL;
	a->range = malloc(sizeof(*a->range));
	if (a->range == NULL)
		goto err_free;
	a->conf = *conf->etcd;
	a->self = conf->self;
	a->wake = conf->wake;
	a->wake_ctx = conf->wake_ctx;
	if (scpp_cluster_etcd_key(a->conf.prefix, a->self.id, a->key, sizeof(a->key)) < 0 ||
	    scpp_cluster_record_encode(&a->self, a->value, sizeof(a->value)) < 0) {
		errno = EINVAL;
		goto err_free;
	}
	rc = cluster_etcd_init(&a->etcd, &a->conf, conf->post, conf->post_ctx, &a->c);
	if (rc != 0) {
		errno = -rc;
		goto err_free;
	}
	pthread_mutex_init(&a->mu, NULL);
	/* Waits use CLOCK_MONOTONIC, the clock of every deadline here. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->cv, &ca);
	pthread_condattr_destroy(&ca);
	a->st.state = SCPP_CLUSTER_ETCD_CONNECTING;
	a->st.ttl_s = a->conf.lease_ttl_s;
	snprintf(a->st.endpoint, sizeof(a->st.endpoint), "%s", a->conf.endpoints[0]);
	rc = pthread_create(&a->thread, NULL, agent_main, a);
	if (rc != 0) {
		errno = rc;
		pthread_cond_destroy(&a->cv);
		pthread_mutex_destroy(&a->mu);
		cluster_etcd_fini(&a->etcd);
		goto err_free;
	}
	pthread_setname_np(a->thread, "scpp-etcd");
	return a;

err_free:
	rc = errno;
	free(a->range);
	free(a);
	errno = rc;
	return NULL;
}

struct scpp_cluster_map *
scpp_cluster_agent_take(struct scpp_cluster_agent *a)
{
	struct scpp_cluster_map *m;

	if (a == NULL)
		return NULL;
	pthread_mutex_lock(&a->mu);
	m = a->pending;
	a->pending = NULL;
	pthread_mutex_unlock(&a->mu);
	return m;
}

int
scpp_cluster_agent_wait_first(struct scpp_cluster_agent *a, uint32_t timeout_ms)
{
	uint64_t end = scpp_cluster_now_ns() + (uint64_t)timeout_ms * NS_PER_MS;
	struct timespec ts = {(time_t)(end / 1000000000u), (long)(end % 1000000000u)};
	int rc = -ETIMEDOUT;

	pthread_mutex_lock(&a->mu);
	for (;;) {
		if (a->st.state == SCPP_CLUSTER_ETCD_CONFLICT) {
			rc = -EADDRINUSE;
			break;
		}
		if (a->first_map && a->st.registered) {
			rc = 0;
			break;
		}
		if (pthread_cond_timedwait(&a->cv, &a->mu, &ts) == ETIMEDOUT) {
			rc = a->first_map ? 0 : -ETIMEDOUT;
			break;
		}
	}
	pthread_mutex_unlock(&a->mu);
	return rc;
}

void
scpp_cluster_agent_status(struct scpp_cluster_agent *a, struct scpp_cluster_agent_status *st)
{
	pthread_mutex_lock(&a->mu);
	*st = a->st;
	pthread_mutex_unlock(&a->mu);
}

void
scpp_cluster_agent_stop(struct scpp_cluster_agent *a, bool rev)
{
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->mu);
	a->stop = true;
	a->revoke = rev;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	pthread_join(a->thread, NULL);
	cluster_etcd_fini(&a->etcd);
	scpp_cluster_map_free(a->pending);
	scpp_cluster_map_free(a->last);
	pthread_cond_destroy(&a->cv);
	pthread_mutex_destroy(&a->mu);
	free(a->range);
	free(a);
}
