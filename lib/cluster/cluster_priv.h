/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef CLUSTER_PRIV_H
#define CLUSTER_PRIV_H

/*
 * Shared by the files of lib/cluster: cluster_map.c (building, rules,
 * diff), cluster_codec.c (base64, records, etcd JSON), cluster_fmt.c
 * (printing), cluster_etcd.c (requests over HTTP), cluster_agent.c (the
 * thread).
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scpp_cluster.h"

/* Append to a report: counts every refusal, keeps the first messages. */
void cluster_report_add(struct scpp_cluster_report *rep, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Routes a node implies, in the order its record lists them (shards, then
 * explicit routes). @p what[i] receives the record path of route i
 * (".shards[2]", ".routes[0].prefix"). Returns the count. */
unsigned int cluster_node_routes(const struct scpp_config_cluster_node *n,
				 struct scpp_cluster_route *out, char what[][32]);

/* "a.b.c.d" of a host-order address into @p buf (>= 16 bytes). */
void cluster_ipv4_format(char *buf, uint32_t a);

/* Shards as "0,1,5" (truncated with "..." to @p size). */
void cluster_shards_format(char *buf, size_t size, const struct scpp_config_cluster_node *n);

/* Request bodies and answers of the etcd v3 JSON gateway (cluster_codec.c). */
struct cluster_kv {
	char key[256];
	char *value;           /* decoded, NUL-terminated, malloc'd */
	size_t value_len;
	uint64_t create_revision;
	uint64_t mod_revision;
	uint64_t lease;
};

/* {"TTL": ttl} */
int cluster_body_grant(char *buf, size_t size, uint32_t ttl_s);
/* {"ID": "lease"} (keepalive, revoke) */
int cluster_body_lease(char *buf, size_t size, uint64_t lease);
/* A range over every key starting with @p prefix. */
int cluster_body_range_prefix(char *buf, size_t size, const char *prefix, unsigned int limit);
/* Put @p value under @p key with @p lease, if the key does not exist
 * (@p mod_revision 0) or was last modified at @p mod_revision; else read it. */
char *cluster_body_put_if(const char *key, const char *value, uint64_t lease,
			  uint64_t mod_revision);

/* An error answer {"error": ..., "message": ...}: true and its message. */
bool cluster_answer_error(const char *json, size_t len, char *msg, size_t size);
/* Lease grant answer: its ID and TTL. */
int cluster_answer_grant(const char *json, size_t len, uint64_t *lease, uint32_t *ttl,
			 char *err, size_t errsize);
/* Keepalive answer: the TTL left (0: the lease has expired). */
int cluster_answer_keepalive(const char *json, size_t len, uint64_t lease, uint32_t *ttl,
			     char *err, size_t errsize);
/* Txn answer of cluster_body_put_if(): whether it succeeded, and when it did
 * not, the key as it is (kv->value NULL if it is absent). */
int cluster_answer_put_if(const char *json, size_t len, bool *succeeded, struct cluster_kv *kv,
			  char *err, size_t errsize);
/* Parse a decimal u64 that the gateway writes as a string (or a number). */
bool cluster_json_u64(const void *item, uint64_t *out);

/* An etcd client: endpoints tried in turn, one request at a time
 * (cluster_etcd.c). Used by the agent thread only. */
struct cluster_etcd {
	scpp_cluster_post_fn post;
	void *post_ctx;
	void *curl;                 /* the default transport's handle */
	unsigned int nb_endpoints;
	char endpoints[SCPP_CONFIG_MAX_ETCD_ENDPOINTS][SCPP_CONFIG_PATH_SIZE];
	unsigned int cur;           /* endpoint in use */
	uint32_t timeout_ms;
	struct scpp_cluster_agent_counters *c;
	char err[SCPP_CLUSTER_MSG_SIZE]; /* the last failure */
};

int cluster_etcd_init(struct cluster_etcd *e, const struct scpp_config_cluster_etcd *conf,
		      scpp_cluster_post_fn post, void *ctx, struct scpp_cluster_agent_counters *c);
void cluster_etcd_fini(struct cluster_etcd *e);
/* POST @p body to @p path ("/v3/kv/range") of the current endpoint; on no
 * answer, move to the next endpoint. 0 and the body, or a negative errno
 * with e->err set. */
int cluster_etcd_call(struct cluster_etcd *e, const char *path, const char *body, char **resp,
		      size_t *resp_len);

#endif /* CLUSTER_PRIV_H */
