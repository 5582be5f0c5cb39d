/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Requests to etcd's v3 JSON gateway over HTTP/1.1 with libcurl.
 *
 * One easy handle, reused so that its connection is kept alive between
 * requests; every request is bounded (CURLOPT_TIMEOUT_MS, connect bounded
 * by the same), signals are not used for timeouts (CURLOPT_NOSIGNAL: the
 * agent is one thread among others), proxies from the environment are
 * ignored (etcd is on the node's own network), and the response body is
 * capped at SCPP_CLUSTER_RESPONSE_MAX. A request that gets no answer moves
 * the client to the next endpoint for the one after.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "scpp_common.h"
#include "scpp_cluster.h"
#include "cluster_priv.h"

struct body {
	char *p;
	size_t len;
	size_t cap;
	bool too_big;
};

static size_t
on_data(char *data, size_t size, size_t nmemb, void *arg)
{
	struct body *b = arg;
	size_t n = size * nmemb;

	if (b->len + n > SCPP_CLUSTER_RESPONSE_MAX) {
		b->too_big = true;
		return 0; /* curl stops with CURLE_WRITE_ERROR */
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (p == NULL)
			return 0;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}

/* The default transport (scpp_cluster_post_fn) over the easy handle @p ctx. */
static int
curl_post(void *ctx, const char *url, const char *body, size_t len, uint32_t timeout_ms,
	  char **resp, size_t *resp_len, long *status, char *err, size_t errsize)
{
	CURL *h = ctx;
	struct curl_slist *hdr = NULL;
	struct body b = {0};
	CURLcode cc;

	hdr = curl_slist_append(hdr, "Content-Type: application/json");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	cc = curl_easy_perform(h);
	curl_slist_free_all(hdr);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	if (cc != CURLE_OK) {
		free(b.p);
		snprintf(err, errsize, "%s: %s", url,
			 b.too_big ? "answer larger than the limit" : curl_easy_strerror(cc));
		if (b.too_big)
			return -EFBIG;
		if (cc == CURLE_OPERATION_TIMEDOUT)
			return -ETIMEDOUT;
		if (cc == CURLE_COULDNT_CONNECT)
			return -ECONNREFUSED;
		if (cc == CURLE_COULDNT_RESOLVE_HOST)
			return -EHOSTUNREACH;
		return -EIO;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	if (b.p == NULL) {
		b.p = calloc(1, 1);
		if (b.p == NULL)
			return -ENOMEM;
	}
	*resp = b.p;
	*resp_len = b.len;
	return 0;
}

int
cluster_etcd_init(struct cluster_etcd *e, const struct scpp_config_cluster_etcd *conf,
		  scpp_cluster_post_fn post, void *ctx, struct scpp_cluster_agent_counters *c)
{
	memset(e, 0, sizeof(*e));
	e->nb_endpoints = conf->nb_endpoints;
	memcpy(e->endpoints, conf->endpoints, sizeof(e->endpoints));
	e->timeout_ms = conf->timeout_ms;
	e->c = c;
	if (post != NULL) {
		e->post = post;
		e->post_ctx = ctx;
		return 0;
	}
	e->curl = curl_easy_init();
	if (e->curl == NULL)
		return -ENOMEM;
	e->post = curl_post;
	e->post_ctx = e->curl;
	return 0;
}

void
cluster_etcd_fini(struct cluster_etcd *e)
{
	if (e->curl != NULL)
		curl_easy_cleanup(e->curl);
	e->curl = NULL;
}

int
cluster_etcd_call(struct cluster_etcd *e, const char *path, const char *body, char **resp,
		  size_t *resp_len)
{
	char url[SCPP_CONFIG_PATH_SIZE + 64];
	long status = 0;
	int rc;

	snprintf(url, sizeof(url), "%s%s", e->endpoints[e->cur], path);
	e->c->requests++;
	rc = e->post(e->post_ctx, url, body, strlen(body), e->timeout_ms, resp, resp_len, &status,
		     e->err, sizeof(e->err));
	if (rc != 0) {
		e->c->failures++;
		if (rc == -ETIMEDOUT)
			e->c->timeouts++;
		/* No answer: the next request tries the next endpoint. */
		e->cur = (e->cur + 1) % e->nb_endpoints;
		return rc;
	}
	/* The gateway answers errors with a JSON body and a 4xx/5xx status;
	 * callers decode that body (it says what went wrong). A 404 with no
	 * JSON means the endpoint is not an etcd v3 gateway. */
	if (status == 404 && (*resp_len == 0 || (*resp)[0] != '{')) {
		snprintf(e->err, sizeof(e->err), "%s: HTTP 404: not an etcd v3 JSON gateway", url);
		free(*resp);
		*resp = NULL;
		e->c->failures++;
		e->cur = (e->cur + 1) % e->nb_endpoints;
		return -EPROTO;
	}
	return 0;
}

int
scpp_cluster_etcd_read(const char *endpoint, const char *prefix, uint32_t timeout_ms,
		       struct scpp_cluster_range *out, char *err, size_t errsize)
{
	struct scpp_config_cluster_etcd conf;
	struct scpp_cluster_agent_counters c;
	struct cluster_etcd e;
	char body[1024], keys[SCPP_CONFIG_ETCD_PREFIX_SIZE + 16], *resp = NULL, dummy[8];
	size_t len;
	int rc;

	if (err == NULL) {
		err = dummy;
		errsize = sizeof(dummy);
	}
	err[0] = '\0';
	if (endpoint == NULL || prefix == NULL || out == NULL ||
	    strlen(endpoint) >= sizeof(conf.endpoints[0]) || strlen(prefix) >= sizeof(conf.prefix))
		return -EINVAL;
	memset(&conf, 0, sizeof(conf));
	memset(&c, 0, sizeof(c));
	conf.nb_endpoints = 1;
	snprintf(conf.endpoints[0], sizeof(conf.endpoints[0]), "%s", endpoint);
	conf.timeout_ms = timeout_ms;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -EIO;
	rc = cluster_etcd_init(&e, &conf, NULL, NULL, &c);
	if (rc != 0)
		return rc;
	snprintf(keys, sizeof(keys), "%sv1/node/", prefix);
	rc = cluster_body_range_prefix(body, sizeof(body), keys, SCPP_CLUSTER_MAX_NODES + 1);
	if (rc >= 0)
		rc = cluster_etcd_call(&e, "/v3/kv/range", body, &resp, &len);
	if (rc == 0) {
		rc = scpp_cluster_etcd_decode_range(resp, len, prefix, out, err, errsize);
		free(resp);
	} else {
		snprintf(err, errsize, "%s", e.err);
	}
	cluster_etcd_fini(&e);
	return rc;
}
