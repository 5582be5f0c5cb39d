/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/cluster's etcd agent against an in-memory etcd behind the transport
 * hook: registration (create-only), a takeover of this node's own earlier
 * record, a conflict with another node's, lease loss and re-registration,
 * etcd unreachable (the last map stays, the status says so), departures,
 * bad records, and revocation on stop.
 *
 * The fake speaks the JSON gateway's dialect for the five calls the agent
 * makes (lease grant/keepalive/revoke, kv txn/range), so these tests also
 * check the requests the agent writes. The real etcd is exercised by the
 * integration suite (tests/integration/cluster). Every wait is bounded; no
 * assertion is about time.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "scpp_test.h"
#include "scpp_common.h"
#include "scpp_config.h"
#include "scpp_cluster.h"

#define FAKE_KEYS 16

struct fake_etcd {
	pthread_mutex_t mu;
	bool down;
	uint64_t revision;
	uint64_t next_lease;
	struct {
		uint64_t id;
		bool alive;
	} leases[32];
	unsigned int nb_leases;
	struct {
		bool used;
		char key[128];
		char value[4096];
		uint64_t create, mod, lease;
	} kv[FAKE_KEYS];
	unsigned int calls[8];
};

enum { C_GRANT, C_KEEPALIVE, C_REVOKE, C_TXN, C_RANGE };

static int
b64d(const char *s, char *out, size_t size)
{
	int n = scpp_cluster_b64_decode(s, strlen(s), (uint8_t *)out, size - 1);

	assert_true(n >= 0);
	out[n] = '\0';
	return n;
}

static void
b64e(const char *s, char *out, size_t size)
{
	assert_true(scpp_cluster_b64_encode(s, strlen(s), out, size) >= 0);
}

static int
fake_find(struct fake_etcd *f, const char *key)
{
	for (int i = 0; i < FAKE_KEYS; i++)
		if (f->kv[i].used && strcmp(f->kv[i].key, key) == 0)
			return i;
	return -1;
}

static void
fake_put(struct fake_etcd *f, const char *key, const char *value, uint64_t lease)
{
	int i = fake_find(f, key);

	f->revision++;
	if (i < 0) {
		for (i = 0; i < FAKE_KEYS && f->kv[i].used; i++)
			;
		assert_true(i < FAKE_KEYS);
		f->kv[i].used = true;
		f->kv[i].create = f->revision;
		snprintf(f->kv[i].key, sizeof(f->kv[i].key), "%s", key);
	}
	snprintf(f->kv[i].value, sizeof(f->kv[i].value), "%s", value);
	f->kv[i].mod = f->revision;
	f->kv[i].lease = lease;
}

static bool
fake_lease_alive(struct fake_etcd *f, uint64_t id)
{
	for (unsigned int i = 0; i < f->nb_leases; i++)
		if (f->leases[i].id == id)
			return f->leases[i].alive;
	return false;
}

/* A lease ends: its keys go, as etcd deletes them. */
static void
fake_expire(struct fake_etcd *f, uint64_t id)
{
	for (unsigned int i = 0; i < f->nb_leases; i++)
		if (f->leases[i].id == id)
			f->leases[i].alive = false;
	for (int i = 0; i < FAKE_KEYS; i++) {
		if (f->kv[i].used && f->kv[i].lease == id) {
			f->kv[i].used = false;
			f->revision++;
		}
	}
}

static uint64_t
fake_lease_add(struct fake_etcd *f)
{
	uint64_t id = ++f->next_lease;

	f->leases[f->nb_leases].id = id;
	f->leases[f->nb_leases++].alive = true;
	return id;
}

static char *
kv_json(struct fake_etcd *f, int i)
{
	char k[256], v[6000], *out = malloc(7000);

	b64e(f->kv[i].key, k, sizeof(k));
	b64e(f->kv[i].value, v, sizeof(v));
	snprintf(out, 7000, "{\"key\":\"%s\",\"create_revision\":\"%" PRIu64 "\",\"mod_revision\":\"%"
		 PRIu64 "\",\"version\":\"1\",\"value\":\"%s\",\"lease\":\"%" PRIu64 "\"}", k,
		 f->kv[i].create, f->kv[i].mod, v, f->kv[i].lease);
	return out;
}

static uint64_t
jint(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItem(o, k);

	return v == NULL ? 0 : cJSON_IsString(v) ? strtoull(v->valuestring, NULL, 10) :
			       (uint64_t)v->valuedouble;
}

static int
fake_post(void *ctx, const char *url, const char *body, size_t len, uint32_t timeout_ms,
	  char **resp, size_t *resp_len, long *status, char *err, size_t errsize)
{
	struct fake_etcd *f = ctx;
	const char *path = strstr(url, "/v3/");
	cJSON *req = cJSON_ParseWithLength(body, len);
	char *out = malloc(256 * 1024), hdr[128];
	size_t o = 0;
	(void)timeout_ms;

	assert_non_null(req);
	assert_non_null(path);
	pthread_mutex_lock(&f->mu);
	if (f->down) {
		pthread_mutex_unlock(&f->mu);
		cJSON_Delete(req);
		free(out);
		snprintf(err, errsize, "%s: Couldn't connect to server", url);
		return -ECONNREFUSED;
	}
	snprintf(hdr, sizeof(hdr), "\"header\":{\"cluster_id\":\"7\",\"revision\":\"%" PRIu64 "\"}",
		 f->revision);
	*status = 200;
	if (strcmp(path, "/v3/lease/grant") == 0) {
		f->calls[C_GRANT]++;
		o = (size_t)snprintf(out, 4096, "{%s,\"ID\":\"%" PRIu64 "\",\"TTL\":\"%" PRIu64 "\"}",
				     hdr, fake_lease_add(f), jint(req, "TTL"));
	} else if (strcmp(path, "/v3/lease/keepalive") == 0) {
		uint64_t id = jint(req, "ID");

		f->calls[C_KEEPALIVE]++;
		if (fake_lease_alive(f, id))
			o = (size_t)snprintf(out, 4096, "{\"result\":{%s,\"ID\":\"%" PRIu64
					     "\",\"TTL\":\"2\"}}", hdr, id);
		else
			o = (size_t)snprintf(out, 4096, "{\"result\":{%s,\"ID\":\"%" PRIu64 "\"}}",
					     hdr, id);
	} else if (strcmp(path, "/v3/lease/revoke") == 0) {
		f->calls[C_REVOKE]++;
		fake_expire(f, jint(req, "ID"));
		o = (size_t)snprintf(out, 4096, "{%s}", hdr);
	} else if (strcmp(path, "/v3/kv/txn") == 0) {
		const cJSON *cmp = cJSON_GetArrayItem(cJSON_GetObjectItem(req, "compare"), 0);
		const cJSON *put = cJSON_GetObjectItem(cJSON_GetArrayItem(
			cJSON_GetObjectItem(req, "success"), 0), "request_put");
		char key[128], value[4096];
		const char *target = cJSON_GetObjectItem(cmp, "target")->valuestring;
		int i;
		bool ok;

		f->calls[C_TXN]++;
		b64d(cJSON_GetObjectItem(cmp, "key")->valuestring, key, sizeof(key));
		i = fake_find(f, key);
		ok = strcmp(target, "CREATE") == 0 ? i < 0 :
		     i >= 0 && f->kv[i].mod == jint(cmp, "mod_revision");
		if (ok && !fake_lease_alive(f, jint(put, "lease"))) {
			o = (size_t)snprintf(out, 4096, "{\"error\":\"etcdserver: requested lease not "
					     "found\",\"message\":\"etcdserver: requested lease not "
					     "found\",\"code\":5}");
			*status = 400;
		} else if (ok) {
			b64d(cJSON_GetObjectItem(put, "value")->valuestring, value, sizeof(value));
			fake_put(f, key, value, jint(put, "lease"));
			o = (size_t)snprintf(out, 4096, "{%s,\"succeeded\":true,\"responses\":[{"
					     "\"response_put\":{}}]}", hdr);
		} else if (i >= 0) {
			char *kvj = kv_json(f, i);

			o = (size_t)snprintf(out, 16384, "{%s,\"responses\":[{\"response_range\":{"
					     "\"kvs\":[%s],\"count\":\"1\"}}]}", hdr, kvj);
			free(kvj);
		} else {
			o = (size_t)snprintf(out, 4096, "{%s,\"responses\":[{\"response_range\":{}}]}",
					     hdr);
		}
	} else if (strcmp(path, "/v3/kv/range") == 0) {
		char from[128], to[128];
		bool first = true;

		f->calls[C_RANGE]++;
		b64d(cJSON_GetObjectItem(req, "key")->valuestring, from, sizeof(from));
		b64d(cJSON_GetObjectItem(req, "range_end")->valuestring, to, sizeof(to));
		o = (size_t)snprintf(out, 4096, "{%s,\"kvs\":[", hdr);
		for (int i = 0; i < FAKE_KEYS; i++) {
			char *kvj;

			if (!f->kv[i].used || strcmp(f->kv[i].key, from) < 0 ||
			    strcmp(f->kv[i].key, to) >= 0)
				continue;
			kvj = kv_json(f, i);
			o += (size_t)snprintf(out + o, 256 * 1024 - o, "%s%s", first ? "" : ",", kvj);
			first = false;
			free(kvj);
		}
		o += (size_t)snprintf(out + o, 256 * 1024 - o, "]}");
	} else {
		*status = 404;
		o = (size_t)snprintf(out, 4096, "Not Found");
	}
	pthread_mutex_unlock(&f->mu);
	cJSON_Delete(req);
	*resp = out;
	*resp_len = o;
	return 0;
}

static struct fake_etcd *
fake_new(void)
{
	struct fake_etcd *f = calloc(1, sizeof(*f));

	pthread_mutex_init(&f->mu, NULL);
	f->revision = 1;
	f->next_lease = 100;
	return f;
}

static void
fake_free(struct fake_etcd *f)
{
	pthread_mutex_destroy(&f->mu);
	free(f);
}

static const struct scpp_config_cluster_etcd etcd_conf = {
	.nb_endpoints = 2,
	.endpoints = {"http://198.18.1.1:2379", "http://198.18.1.2:2379"},
	.prefix = "/t/",
	.lease_ttl_s = 2,
	.poll_ms = 50,
	.timeout_ms = 100,
	.start_wait_ms = 2000,
};

static struct scpp_config_cluster_node
node(uint32_t id, const char *name, uint8_t last)
{
	struct scpp_config_cluster_node n;

	memset(&n, 0, sizeof(n));
	n.id = id;
	snprintf(n.name, sizeof(n.name), "%s", name);
	n.ipv4 = (198u << 24) | (18u << 16) | last;
	n.base_port = 7300;
	n.nb_shards = 1;
	return n;
}

static void
fake_put_node(struct fake_etcd *f, const struct scpp_config_cluster_node *n, uint64_t lease)
{
	char key[64], value[4096];

	scpp_cluster_etcd_key("/t/", n->id, key, sizeof(key));
	scpp_cluster_record_encode(n, value, sizeof(value));
	pthread_mutex_lock(&f->mu);
	fake_put(f, key, value, lease);
	pthread_mutex_unlock(&f->mu);
}

/* Calls of the agents' wake hook (the agent's thread). */
static uint64_t wakes;

static void
count_wake(void *ctx)
{
	assert_ptr_equal(ctx, &wakes);
	__atomic_add_fetch(&wakes, 1, __ATOMIC_RELAXED);
}

static struct scpp_cluster_agent *
agent(struct fake_etcd *f, const struct scpp_config_cluster_node *self)
{
	struct scpp_cluster_agent_conf c = {.etcd = &etcd_conf, .self = *self, .post = fake_post,
					     .post_ctx = f, .wake = count_wake,
					     .wake_ctx = &wakes};
	struct scpp_cluster_agent *a = scpp_cluster_agent_start(&c);

	assert_non_null(a);
	return a;
}

typedef bool (*cond_fn)(const struct scpp_cluster_agent_status *st, void *arg);

/* Wait (bounded: 10 s) until @p fn holds for the agent's status. */
static void
wait_status(struct scpp_cluster_agent *a, cond_fn fn, void *arg, const char *what)
{
	struct scpp_cluster_agent_status st;
	struct timespec ts = {0, 5 * 1000 * 1000};

	for (int i = 0; i < 2000; i++) {
		scpp_cluster_agent_status(a, &st);
		if (fn(&st, arg))
			return;
		nanosleep(&ts, NULL);
	}
	fail_msg("timed out waiting for %s (state %s, last error \"%s\")", what,
		 scpp_cluster_etcd_state_name(st.state), st.last_error);
}

/* The newest map the agent hands over within 10 s that satisfies @p ok. */
static struct scpp_cluster_map *
wait_map(struct scpp_cluster_agent *a, bool (*ok)(const struct scpp_cluster_map *m, void *arg),
	 void *arg)
{
	struct timespec ts = {0, 5 * 1000 * 1000};

	for (int i = 0; i < 2000; i++) {
		struct scpp_cluster_map *m = scpp_cluster_agent_take(a);

		if (m != NULL && ok(m, arg))
			return m;
		scpp_cluster_map_free(m);
		nanosleep(&ts, NULL);
	}
	fail_msg("no map as expected within 10 s");
	return NULL;
}

static bool
registered_n(const struct scpp_cluster_agent_status *st, void *arg)
{
	return st->registered && st->c.registrations >= *(const uint64_t *)arg;
}

static bool
in_state(const struct scpp_cluster_agent_status *st, void *arg)
{
	return st->state == *(const enum scpp_cluster_etcd_state *)arg;
}

static bool
has_node_in(const struct scpp_cluster_map *m, void *arg)
{
	const uint32_t *want = arg; /* {id, state} */
	const struct scpp_cluster_node *n = scpp_cluster_map_find(m, want[0]);

	return n != NULL && n->state == (enum scpp_cluster_state)want[1];
}

static void
test_agent_registers_and_hands_over_maps_with_peers(void **state)
{
	struct fake_etcd *f = fake_new();
	struct scpp_config_cluster_node self = node(1, "n1", 2), peer = node(2, "n2", 3);
	struct scpp_cluster_agent_status st;
	struct scpp_cluster_agent *a;
	struct scpp_cluster_map *m;
	char want[4096];
	uint32_t n2_up[2] = {2, SCPP_CLUSTER_UP};
	int i;
	(void)state;

	fake_put_node(f, &peer, 0);
	__atomic_store_n(&wakes, 0, __ATOMIC_RELAXED);
	a = agent(f, &self);
	assert_int_equal(scpp_cluster_agent_wait_first(a, 10000), 0);
	m = wait_map(a, has_node_in, n2_up);
	assert_int_equal(scpp_cluster_map_find(m, 1)->state, SCPP_CLUSTER_SELF);
	assert_int_equal(m->nb_routes, 2);
	scpp_cluster_map_free(m);
	scpp_cluster_agent_status(a, &st);
	assert_int_equal(st.state, SCPP_CLUSTER_ETCD_REGISTERED);
	assert_true(st.lease > 100);
	assert_int_equal(st.ttl_s, 2);
	assert_int_equal(st.c.registrations, 1);
	assert_int_equal(st.c.conflicts, 0);
	assert_true(st.c.polls >= 1 && st.c.maps_built >= 1);
	/* The record is the canonical encoding, under this node's lease. */
	scpp_cluster_record_encode(&self, want, sizeof(want));
	pthread_mutex_lock(&f->mu);
	i = fake_find(f, "/t/v1/node/1");
	assert_true(i >= 0);
	assert_string_equal(f->kv[i].value, want);
	assert_true(f->kv[i].lease == st.lease);
	pthread_mutex_unlock(&f->mu);
	/* Every map handed over woke the taker, after it was there to take. */
	assert_true(__atomic_load_n(&wakes, __ATOMIC_RELAXED) >= 1);
	/* Revoked on stop: the others see it leave at once. */
	scpp_cluster_agent_stop(a, true);
	assert_true(__atomic_load_n(&wakes, __ATOMIC_RELAXED) >= st.c.maps_built);
	assert_int_equal(fake_find(f, "/t/v1/node/1"), -1);
	assert_true(f->calls[C_REVOKE] >= 1);
	fake_free(f);
}

static void
test_agent_refuses_an_id_held_by_another_node(void **state)
{
	struct fake_etcd *f = fake_new();
	struct scpp_config_cluster_node self = node(1, "n1", 2), other = node(1, "other", 9);
	enum scpp_cluster_etcd_state conflict = SCPP_CLUSTER_ETCD_CONFLICT;
	struct scpp_cluster_agent_status st;
	struct scpp_cluster_agent *a;
	char want[4096];
	uint64_t lease;
	(void)state;

	pthread_mutex_lock(&f->mu);
	lease = fake_lease_add(f);
	pthread_mutex_unlock(&f->mu);
	fake_put_node(f, &other, lease);
	a = agent(f, &self);
	assert_int_equal(scpp_cluster_agent_wait_first(a, 10000), -EADDRINUSE);
	wait_status(a, in_state, &conflict, "conflict");
	scpp_cluster_agent_status(a, &st);
	assert_false(st.registered);
	assert_int_equal(st.c.conflicts, 1);
	assert_string_equal(st.conflict, "node id 1 is already registered by \"other\" at "
					 "198.18.0.9:7300 (key /t/v1/node/1, lease 65); this node is "
					 "\"n1\" at 198.18.0.2:7300: two nodes may not share an id");
	/* The other node's record is untouched; the lease granted for the
	 * attempt was given back. */
	scpp_cluster_record_encode(&other, want, sizeof(want));
	pthread_mutex_lock(&f->mu);
	assert_string_equal(f->kv[fake_find(f, "/t/v1/node/1")].value, want);
	assert_int_equal(f->kv[fake_find(f, "/t/v1/node/1")].lease, lease);
	assert_false(fake_lease_alive(f, lease + 1));
	pthread_mutex_unlock(&f->mu);
	scpp_cluster_agent_stop(a, true);
	assert_true(fake_find(f, "/t/v1/node/1") >= 0);
	fake_free(f);
}

static void
test_agent_takes_over_its_own_record_of_an_earlier_start(void **state)
{
	struct fake_etcd *f = fake_new();
	struct scpp_config_cluster_node self = node(1, "n1", 2), before = node(1, "n1", 2);
	struct scpp_cluster_agent_status st;
	struct scpp_cluster_agent *a;
	uint64_t old, one = 1;
	(void)state;

	before.nb_shards = 2;
	before.shards[1] = 1; /* the earlier start had another shard set */
	pthread_mutex_lock(&f->mu);
	old = fake_lease_add(f);
	pthread_mutex_unlock(&f->mu);
	fake_put_node(f, &before, old);
	a = agent(f, &self);
	assert_int_equal(scpp_cluster_agent_wait_first(a, 10000), 0);
	wait_status(a, registered_n, &one, "registration");
	scpp_cluster_agent_status(a, &st);
	assert_int_equal(st.c.takeovers, 1);
	assert_int_equal(st.c.conflicts, 0);
	pthread_mutex_lock(&f->mu);
	assert_false(fake_lease_alive(f, old));
	assert_true(f->kv[fake_find(f, "/t/v1/node/1")].lease == st.lease);
	assert_non_null(strstr(f->kv[fake_find(f, "/t/v1/node/1")].value, "\"shards\":[0]"));
	pthread_mutex_unlock(&f->mu);
	scpp_cluster_agent_stop(a, false);
	/* Without revoke the record stays until its lease lapses. */
	assert_true(fake_find(f, "/t/v1/node/1") >= 0);
	fake_free(f);
}

static void
test_agent_registers_again_after_losing_its_lease(void **state)
{
	struct fake_etcd *f = fake_new();
	struct scpp_config_cluster_node self = node(1, "n1", 2);
	struct scpp_cluster_agent_status st;
	struct scpp_cluster_agent *a;
	uint64_t one = 1, two = 2, lease;
	(void)state;

	a = agent(f, &self);
	wait_status(a, registered_n, &one, "registration");
	scpp_cluster_agent_status(a, &st);
	lease = st.lease;
	pthread_mutex_lock(&f->mu);
	fake_expire(f, lease);
	pthread_mutex_unlock(&f->mu);
	wait_status(a, registered_n, &two, "a second registration");
	scpp_cluster_agent_status(a, &st);
	assert_true(st.lease != lease);
	pthread_mutex_lock(&f->mu);
	assert_true(f->kv[fake_find(f, "/t/v1/node/1")].lease == st.lease);
	pthread_mutex_unlock(&f->mu);
	scpp_cluster_agent_stop(a, true);
	fake_free(f);
}

static bool
stale_unreachable(const struct scpp_cluster_agent_status *st, void *arg)
{
	(void)arg;
	return st->state == SCPP_CLUSTER_ETCD_UNREACHABLE && st->stale;
}

static void
test_agent_keeps_the_last_map_while_etcd_is_unreachable(void **state)
{
	struct fake_etcd *f = fake_new();
	struct scpp_config_cluster_node self = node(1, "n1", 2), peer = node(2, "n2", 3);
	struct scpp_cluster_agent_status st;
	struct scpp_cluster_agent *a;
	struct scpp_cluster_map *m;
	uint32_t n2_up[2] = {2, SCPP_CLUSTER_UP}, n2_gone[2] = {2, SCPP_CLUSTER_UNREACHABLE};
	uint64_t one = 1;
	(void)state;

	fake_put_node(f, &peer, 0);
	a = agent(f, &self);
	m = wait_map(a, has_node_in, n2_up);
	scpp_cluster_map_free(m);
	pthread_mutex_lock(&f->mu);
	f->down = true;
	pthread_mutex_unlock(&f->mu);
	/* Unreachable, and after a TTL without a read, stale; no map is
	 * handed over meanwhile: the last good one stays in force. */
	wait_status(a, stale_unreachable, NULL, "unreachable and stale");
	assert_null(scpp_cluster_agent_take(a));
	scpp_cluster_agent_status(a, &st);
	assert_true(st.c.failures > 0);
	assert_true(st.c.keepalive_failures > 0);
	/* The last error is the transport's, or, when the snapshot falls just
	 * after a TTL without a renewal, the lease's (the next registration
	 * attempt then fails with the transport's again). */
	assert_true(strstr(st.last_error, "Couldn't connect") != NULL ||
		    strstr(st.last_error, "was not renewed for a TTL") != NULL);
	/* Both endpoints were tried. */
	assert_true(strcmp(st.endpoint, "http://198.18.1.1:2379") == 0 ||
		    strcmp(st.endpoint, "http://198.18.1.2:2379") == 0);
	/* etcd returns, without the peer (its lease lapsed meanwhile). */
	pthread_mutex_lock(&f->mu);
	f->kv[fake_find(f, "/t/v1/node/2")].used = false;
	f->revision++;
	f->down = false;
	pthread_mutex_unlock(&f->mu);
	m = wait_map(a, has_node_in, n2_gone);
	scpp_cluster_map_free(m);
	wait_status(a, registered_n, &one, "registered again");
	scpp_cluster_agent_status(a, &st);
	assert_false(st.stale);
	scpp_cluster_agent_stop(a, true);
	fake_free(f);
}

static bool
rejected_some(const struct scpp_cluster_agent_status *st, void *arg)
{
	(void)arg;
	return st->c.records_rejected > 0;
}

static void
test_agent_reports_bad_records_and_maps_the_rest(void **state)
{
	struct fake_etcd *f = fake_new();
	struct scpp_config_cluster_node self = node(1, "n1", 2), peer = node(3, "n3", 4);
	struct scpp_cluster_agent_status st;
	struct scpp_cluster_agent *a;
	struct scpp_cluster_map *m;
	uint32_t n3_up[2] = {3, SCPP_CLUSTER_UP};
	(void)state;

	fake_put_node(f, &peer, 0);
	pthread_mutex_lock(&f->mu);
	fake_put(f, "/t/v1/node/2", "{\"id\":2,\"name\":\"n2\"}", 0);
	pthread_mutex_unlock(&f->mu);
	a = agent(f, &self);
	m = wait_map(a, has_node_in, n3_up);
	assert_null(scpp_cluster_map_find(m, 2));
	scpp_cluster_map_free(m);
	wait_status(a, rejected_some, NULL, "a refused record");
	scpp_cluster_agent_status(a, &st);
	assert_true(st.rejected.rejected >= 1);
	assert_string_equal(st.rejected.msgs[0], "etcd /t/v1/node/2: $.ipv4: expected an IPv4 "
						 "address like \"198.18.0.3\", found nothing (the key "
						 "is required)");
	scpp_cluster_agent_stop(a, true);
	fake_free(f);
}

static void
test_agent_start_refuses_bad_arguments(void **state)
{
	struct scpp_cluster_agent_conf c = {.etcd = NULL};
	(void)state;

	errno = 0;
	assert_null(scpp_cluster_agent_start(NULL));
	assert_int_equal(errno, EINVAL);
	assert_null(scpp_cluster_agent_start(&c));
	c.etcd = &etcd_conf;
	assert_null(scpp_cluster_agent_start(&c)); /* self.id 0 */
	scpp_cluster_agent_stop(NULL, true);
	assert_null(scpp_cluster_agent_take(NULL));
	assert_string_equal(scpp_cluster_etcd_state_name(SCPP_CLUSTER_ETCD_UNREACHABLE),
			    "unreachable");
	assert_string_equal(scpp_cluster_etcd_state_name((enum scpp_cluster_etcd_state)99), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agent_registers_and_hands_over_maps_with_peers),
		cmocka_unit_test(test_agent_refuses_an_id_held_by_another_node),
		cmocka_unit_test(test_agent_takes_over_its_own_record_of_an_earlier_start),
		cmocka_unit_test(test_agent_registers_again_after_losing_its_lease),
		cmocka_unit_test(test_agent_keeps_the_last_map_while_etcd_is_unreachable),
		cmocka_unit_test(test_agent_reports_bad_records_and_maps_the_rest),
		cmocka_unit_test(test_agent_start_refuses_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
