/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The etcd side of the cluster map: the record's canonical encoding, base64
 * as the JSON gateway writes keys and values, the request bodies the agent
 * sends, and the decoding of the gateway's answers.
 *
 * The gateway (grpc-gateway over etcd's v3 API) writes int64 fields as JSON
 * strings ("revision": "42"), omits fields that hold their zero value (no
 * "kvs" when nothing matched, no "TTL" once a lease is gone, no
 * "succeeded" when a transaction failed), and answers errors as
 * {"error": ..., "message": ..., "code": n}. Every decoder here is written
 * for exactly that, and refuses anything else with a message that says
 * where.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "scpp_common.h"
#include "scpp_config.h"
#include "scpp_oid.h"
#include "scpp_cluster.h"
#include "cluster_priv.h"

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int
scpp_cluster_b64_encode(const void *src, size_t n, char *dst, size_t size)
{
	const uint8_t *s = src;
	size_t need = (n + 2) / 3 * 4, o = 0;

	if (dst == NULL || (src == NULL && n > 0) || need + 1 > size)
		return -ENOSPC;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		dst[o++] = b64_alphabet[v >> 18];
		dst[o++] = b64_alphabet[(v >> 12) & 63];
		dst[o++] = i + 1 < n ? b64_alphabet[(v >> 6) & 63] : '=';
		dst[o++] = i + 2 < n ? b64_alphabet[v & 63] : '=';
	}
	dst[o] = '\0';
	return (int)o;
}

static int
b64_value(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

int
scpp_cluster_b64_decode(const char *src, size_t n, uint8_t *dst, size_t size)
{
	size_t o = 0;

	if (src == NULL || n % 4 != 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i += 4) {
		int v[4];
		int pad = 0;
		uint32_t w;

		for (int k = 0; k < 4; k++) {
			v[k] = b64_value(src[i + k]);
			if (v[k] < 0) {
				/* '=' only as the last one or two characters. */
				if (src[i + k] != '=' || i + 4 != n || k < 2)
					return -EINVAL;
				pad++;
				v[k] = 0;
			} else if (pad > 0) {
				return -EINVAL;
			}
		}
		w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
		/* Canonical: the bits a pad drops must be zero. */
		if ((pad == 1 && (w & 0xff) != 0) || (pad == 2 && (w & 0xffff) != 0))
			return -EINVAL;
		if (o + 3 - (size_t)pad > size)
			return -ENOSPC;
		dst[o++] = (uint8_t)(w >> 16);
		if (pad < 2)
			dst[o++] = (uint8_t)(w >> 8);
		if (pad < 1)
			dst[o++] = (uint8_t)w;
	}
	return (int)o;
}

int
scpp_cluster_etcd_key(const char *prefix, uint32_t id, char *buf, size_t size)
{
	int n;

	if (prefix == NULL || buf == NULL)
		return -EINVAL;
	n = snprintf(buf, size, "%sv1/node/%" PRIu32, prefix, id);
	return n < 0 || (size_t)n >= size ? -ENOSPC : n;
}

int
scpp_cluster_record_encode(const struct scpp_config_cluster_node *n, char *buf, size_t size)
{
	char a[16], p[SCPP_OID_STR_MAX + 8];
	size_t o = 0;

#define PUT(...)                                                                    \
	do {                                                                        \
		int k_ = snprintf(buf + o, o < size ? size - o : 0, __VA_ARGS__);   \
		if (k_ < 0)                                                         \
			return -ENOSPC;                                             \
		o += (size_t)k_;                                                    \
	} while (0)

	if (n == NULL || buf == NULL)
		return -EINVAL;
	cluster_ipv4_format(a, n->ipv4);
	/* Names are [A-Za-z0-9._-] (lib/config): nothing to escape. */
	PUT("{\"id\":%" PRIu32 ",\"name\":\"%s\",\"locale\":%u,\"ipv4\":\"%s\",\"base_port\":%u,"
	    "\"shards\":[", n->id, n->name, n->locale, a, n->base_port);
	for (unsigned int i = 0; i < n->nb_shards; i++)
		PUT("%s%u", i ? "," : "", n->shards[i]);
	if (n->has_mac)
		PUT("],\"mac\":\"%02x:%02x:%02x:%02x:%02x:%02x\",\"routes\":[", n->mac[0], n->mac[1],
		    n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
	else
		PUT("],\"mac\":null,\"routes\":[");
	for (unsigned int i = 0; i < n->nb_routes; i++) {
		scpp_oid_prefix_format(p, sizeof(p), &n->routes[i].prefix);
		PUT("%s{\"prefix\":\"%s\",\"shard\":%u}", i ? "," : "", p, n->routes[i].shard);
	}
	PUT("]");
	/* Windows only when there are any: a record without remote copies
	 * reads as it did before they existed. */
	if (n->nb_windows > 0) {
		PUT(",\"windows\":[");
		for (unsigned int i = 0; i < n->nb_windows; i++) {
			const struct scpp_config_cluster_window *win = &n->windows[i];

			scpp_oid_format(p, sizeof(p), win->window);
			PUT("%s{\"shard\":%u,\"window\":\"%s\",\"descriptor\":\"", i ? "," : "",
			    win->shard, p);
			for (size_t k = 0; k < sizeof(win->desc); k++)
				PUT("%02x", win->desc[k]);
			PUT("\"}");
		}
		PUT("]");
	}
	/* Memory windows likewise (docs/COPY.md "Memory windows on other nodes"). */
	if (n->nb_memwins > 0) {
		PUT(",\"memory_windows\":[");
		for (unsigned int i = 0; i < n->nb_memwins; i++) {
			const struct scpp_config_cluster_memwin *mw = &n->memwins[i];

			scpp_oid_format(p, sizeof(p), mw->window);
			/* Names are [A-Za-z0-9._-] too. */
			PUT("%s{\"shard\":%u,\"name\":\"%s\",\"window\":\"%s\",\"length\":%" PRIu64
			    ",\"descriptor\":\"", i ? "," : "", mw->shard, mw->name, p, mw->length);
			for (size_t k = 0; k < sizeof(mw->desc); k++)
				PUT("%02x", mw->desc[k]);
			PUT("\"}");
		}
		PUT("]");
	}
	PUT("}");
#undef PUT
	return o < size ? (int)o : -ENOSPC;
}

/* ---- JSON helpers ------------------------------------------------------------ */

bool
cluster_json_u64(const void *item, uint64_t *out)
{
	const cJSON *v = item;
	const char *s;
	uint64_t x = 0;

	if (cJSON_IsNumber(v)) {
		if (v->valuedouble < 0 || v->valuedouble > 9007199254740992.0 ||
		    v->valuedouble != (double)(uint64_t)v->valuedouble)
			return false;
		*out = (uint64_t)v->valuedouble;
		return true;
	}
	if (!cJSON_IsString(v))
		return false;
	s = v->valuestring;
	if (s[0] == '\0' || strlen(s) > 20 || (s[0] == '0' && s[1] != '\0'))
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || x > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	*out = x;
	return true;
}

/* Optional int64 field: absent means 0 (the gateway omits zeros). */
static bool
opt_u64(const cJSON *obj, const char *key, uint64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (v == NULL) {
		*out = 0;
		return true;
	}
	return cluster_json_u64(v, out);
}

static void
printable(char *dst, size_t size, const uint8_t *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 5 < size; i++) {
		if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\')
			dst[o++] = (char)s[i];
		else
			o += (size_t)snprintf(dst + o, size - o, "\\x%02x", s[i]);
	}
	dst[o] = '\0';
}

bool
cluster_answer_error(const char *json, size_t len, char *msg, size_t size)
{
	cJSON *root = cJSON_ParseWithLength(json, len);
	const cJSON *e;
	bool is = false;

	if (root == NULL)
		return false;
	e = cJSON_GetObjectItemCaseSensitive(root, "message");
	if (!cJSON_IsString(e))
		e = cJSON_GetObjectItemCaseSensitive(root, "error");
	if (cJSON_IsString(e) && cJSON_GetObjectItemCaseSensitive(root, "header") == NULL) {
		snprintf(msg, size, "%s", e->valuestring);
		is = true;
	}
	cJSON_Delete(root);
	return is;
}

/* Parse an answer: NULL with @p err filled when it is not JSON or is an
 * etcd error. */
static cJSON *
answer_parse(const char *json, size_t len, const char *what, char *err, size_t errsize, int *rc)
{
	cJSON *root = cJSON_ParseWithLength(json, len);
	const cJSON *e;

	if (root == NULL || !cJSON_IsObject(root)) {
		snprintf(err, errsize, "%s: the answer is not a JSON object", what);
		cJSON_Delete(root);
		*rc = -EBADMSG;
		return NULL;
	}
	if (cJSON_GetObjectItemCaseSensitive(root, "header") == NULL &&
	    cJSON_GetObjectItemCaseSensitive(root, "result") == NULL) {
		e = cJSON_GetObjectItemCaseSensitive(root, "message");
		if (!cJSON_IsString(e))
			e = cJSON_GetObjectItemCaseSensitive(root, "error");
		snprintf(err, errsize, "%s: etcd answered \"%s\"", what,
			 cJSON_IsString(e) ? e->valuestring : "an error without a message");
		cJSON_Delete(root);
		*rc = cJSON_IsString(e) ? -EREMOTEIO : -EBADMSG;
		return NULL;
	}
	*rc = 0;
	return root;
}

/* ---- request bodies ------------------------------------------------------------ */

int
cluster_body_grant(char *buf, size_t size, uint32_t ttl_s)
{
	int n = snprintf(buf, size, "{\"TTL\":%u}", ttl_s);

	return n < 0 || (size_t)n >= size ? -ENOSPC : n;
}

int
cluster_body_lease(char *buf, size_t size, uint64_t lease)
{
	int n = snprintf(buf, size, "{\"ID\":\"%" PRIu64 "\"}", lease);

	return n < 0 || (size_t)n >= size ? -ENOSPC : n;
}

/* The first key after every key starting with @p p: p with its last byte
 * incremented (etcd's "prefix" range end). Prefixes end in '/', never 0xff. */
static void
range_end(const char *p, char *out, size_t size)
{
	size_t n = strlen(p);

	snprintf(out, size, "%s", p);
	if (n > 0 && n < size)
		out[n - 1] = (char)(out[n - 1] + 1);
}

int
cluster_body_range_prefix(char *buf, size_t size, const char *prefix, unsigned int limit)
{
	char end[SCPP_CONFIG_ETCD_PREFIX_SIZE + 32];
	char bk[(sizeof(end) + 2) / 3 * 4 + 4], be[sizeof(bk)];
	int n;

	range_end(prefix, end, sizeof(end));
	if (scpp_cluster_b64_encode(prefix, strlen(prefix), bk, sizeof(bk)) < 0 ||
	    scpp_cluster_b64_encode(end, strlen(end), be, sizeof(be)) < 0)
		return -ENOSPC;
	n = snprintf(buf, size, "{\"key\":\"%s\",\"range_end\":\"%s\",\"limit\":%u}", bk, be, limit);
	return n < 0 || (size_t)n >= size ? -ENOSPC : n;
}

char *
cluster_body_put_if(const char *key, const char *value, uint64_t lease, uint64_t mod_revision)
{
	size_t vl = strlen(value), kl = strlen(key);
	char *bk = malloc((kl + 2) / 3 * 4 + 1), *bv = malloc((vl + 2) / 3 * 4 + 1), *body = NULL;
	size_t size = (kl + 2) / 3 * 4 * 3 + (vl + 2) / 3 * 4 + 512;

	if (bk == NULL || bv == NULL)
		goto out;
	scpp_cluster_b64_encode(key, kl, bk, (kl + 2) / 3 * 4 + 1);
	scpp_cluster_b64_encode(value, vl, bv, (vl + 2) / 3 * 4 + 1);
	body = malloc(size);
	if (body == NULL)
		goto out;
	/* Compare: the key does not exist (create_revision 0), or it is the
	 * version read before (a takeover of this node's own record). */
	if (mod_revision == 0)
		snprintf(body, size, "{\"compare\":[{\"result\":\"EQUAL\",\"target\":\"CREATE\","
			 "\"key\":\"%s\",\"create_revision\":\"0\"}]", bk);
	else
		snprintf(body, size, "{\"compare\":[{\"result\":\"EQUAL\",\"target\":\"MOD\","
			 "\"key\":\"%s\",\"mod_revision\":\"%" PRIu64 "\"}]", bk, mod_revision);
	snprintf(body + strlen(body), size - strlen(body),
		 ",\"success\":[{\"request_put\":{\"key\":\"%s\",\"value\":\"%s\",\"lease\":\"%" PRIu64
		 "\"}}],\"failure\":[{\"request_range\":{\"key\":\"%s\"}}]}", bk, bv, lease, bk);
out:
	free(bk);
	free(bv);
	return body;
}

/* ---- answers -------------------------------------------------------------------- */

int
cluster_answer_grant(const char *json, size_t len, uint64_t *lease, uint32_t *ttl, char *err,
		     size_t errsize)
{
	uint64_t id = 0, t = 0;
	cJSON *root;
	int rc;

	root = answer_parse(json, len, "lease grant", err, errsize, &rc);
	if (root == NULL)
		return rc;
	if (!opt_u64(root, "ID", &id) || id == 0 || !opt_u64(root, "TTL", &t) || t == 0 ||
	    t > UINT32_MAX) {
		snprintf(err, errsize, "lease grant: $.ID and $.TTL: expected a lease id and TTL "
			 "(decimal strings above 0)");
		rc = -EBADMSG;
	} else {
		*lease = id;
		*ttl = (uint32_t)t;
	}
	cJSON_Delete(root);
	return rc;
}

int
cluster_answer_keepalive(const char *json, size_t len, uint64_t lease, uint32_t *ttl, char *err,
			 size_t errsize)
{
	const cJSON *r;
	uint64_t id = 0, t = 0;
	cJSON *root;
	int rc;

	root = answer_parse(json, len, "lease keepalive", err, errsize, &rc);
	if (root == NULL)
		return rc;
	r = cJSON_GetObjectItemCaseSensitive(root, "result");
	if (!cJSON_IsObject(r) || !opt_u64(r, "ID", &id) || !opt_u64(r, "TTL", &t) ||
	    (id != 0 && id != lease) || t > UINT32_MAX) {
		snprintf(err, errsize, "lease keepalive: $.result: expected the lease's ID and TTL");
		rc = -EBADMSG;
	} else {
		/* No TTL: the lease has expired (etcd writes none for 0). */
		*ttl = (uint32_t)t;
	}
	cJSON_Delete(root);
	return rc;
}

/* One kv object of an answer into @p kv (value decoded). */
static int
kv_decode(const cJSON *o, struct cluster_kv *kv, char *err, size_t errsize, const char *at)
{
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(o, "key");
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "value");
	uint8_t kb[sizeof(kv->key)];
	int n;

	memset(kv, 0, sizeof(*kv));
	if (!cJSON_IsString(k) ||
	    (n = scpp_cluster_b64_decode(k->valuestring, strlen(k->valuestring), kb,
					 sizeof(kb) - 1)) <= 0) {
		snprintf(err, errsize, "%s.key: expected a key in base64 of at most %zu bytes", at,
			 sizeof(kb) - 1);
		return -EBADMSG;
	}
	printable(kv->key, sizeof(kv->key), kb, (size_t)n);
	if (v != NULL && !cJSON_IsString(v)) {
		snprintf(err, errsize, "%s.value: expected a value in base64", at);
		return -EBADMSG;
	}
	if (!opt_u64(o, "create_revision", &kv->create_revision) ||
	    !opt_u64(o, "mod_revision", &kv->mod_revision) || !opt_u64(o, "lease", &kv->lease)) {
		snprintf(err, errsize, "%s: expected create_revision, mod_revision and lease as "
			 "decimal strings", at);
		return -EBADMSG;
	}
	kv->value_len = v != NULL ? strlen(v->valuestring) / 4 * 3 : 0;
	kv->value = malloc(kv->value_len + 1);
	if (kv->value == NULL)
		return -ENOMEM;
	n = v != NULL ? scpp_cluster_b64_decode(v->valuestring, strlen(v->valuestring),
						(uint8_t *)kv->value, kv->value_len) : 0;
	if (n < 0) {
		free(kv->value);
		kv->value = NULL;
		snprintf(err, errsize, "%s.value: expected a value in base64", at);
		return -EBADMSG;
	}
	kv->value_len = (size_t)n;
	kv->value[n] = '\0';
	return 0;
}

int
cluster_answer_put_if(const char *json, size_t len, bool *succeeded, struct cluster_kv *kv,
		      char *err, size_t errsize)
{
	const cJSON *s, *rs, *r, *kvs;
	cJSON *root;
	int rc;

	memset(kv, 0, sizeof(*kv));
	root = answer_parse(json, len, "register", err, errsize, &rc);
	if (root == NULL)
		return rc;
	s = cJSON_GetObjectItemCaseSensitive(root, "succeeded");
	*succeeded = cJSON_IsTrue(s);
	if (!*succeeded) {
		/* responses[0].response_range.kvs[0]: the key as it is now. */
		rs = cJSON_GetObjectItemCaseSensitive(root, "responses");
		r = cJSON_IsArray(rs) ? cJSON_GetArrayItem(rs, 0) : NULL;
		r = r != NULL ? cJSON_GetObjectItemCaseSensitive(r, "response_range") : NULL;
		if (r == NULL) {
			snprintf(err, errsize, "register: $.responses[0].response_range: expected "
				 "the key's current value");
			rc = -EBADMSG;
		} else {
			kvs = cJSON_GetObjectItemCaseSensitive(r, "kvs");
			if (cJSON_IsArray(kvs) && cJSON_GetArraySize(kvs) > 0)
				rc = kv_decode(cJSON_GetArrayItem(kvs, 0), kv, err, errsize,
					       "register: $.responses[0].response_range.kvs[0]");
		}
	}
	cJSON_Delete(root);
	return rc;
}

/* Node id named by @p key under @p prefix ("<prefix>v1/node/<id>"), or 0. */
static uint32_t
key_node_id(const char *key, const char *prefix)
{
	size_t pl = strlen(prefix);
	uint64_t id = 0;
	const char *s;

	if (strncmp(key, prefix, pl) != 0 || strncmp(key + pl, "v1/node/", 8) != 0)
		return 0;
	s = key + pl + 8;
	if (s[0] < '1' || s[0] > '9' || strlen(s) > 10)
		return 0;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		id = id * 10 + (uint64_t)(*s - '0');
	}
	return id <= UINT32_MAX ? (uint32_t)id : 0;
}

int
scpp_cluster_etcd_decode_range(const char *json, size_t len, const char *prefix,
			       struct scpp_cluster_range *out, char *err, size_t errsize)
{
	const cJSON *hdr, *kvs, *e;
	char dummy[8], at[48];
	cJSON *root;
	int rc, i = 0;

	if (err == NULL) {
		err = dummy;
		errsize = sizeof(dummy);
	}
	err[0] = '\0';
	if (json == NULL || prefix == NULL || out == NULL)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	root = answer_parse(json, len, "range", err, errsize, &rc);
	if (root == NULL)
		return rc;
	rc = -EBADMSG;
	hdr = cJSON_GetObjectItemCaseSensitive(root, "header");
	if (!cJSON_IsObject(hdr) ||
	    !cluster_json_u64(cJSON_GetObjectItemCaseSensitive(hdr, "revision"), &out->revision) ||
	    out->revision == 0) {
		snprintf(err, errsize, "range: $.header.revision: expected the store revision as a "
			 "decimal string above 0");
		goto out;
	}
	if (!opt_u64(hdr, "cluster_id", &out->cluster_id)) {
		snprintf(err, errsize, "range: $.header.cluster_id: expected a decimal string");
		goto out;
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "more"))) {
		snprintf(err, errsize, "range: the registry holds more than %u node records, the "
			 "most a map takes", SCPP_CLUSTER_MAX_NODES);
		goto out;
	}
	kvs = cJSON_GetObjectItemCaseSensitive(root, "kvs");
	if (kvs != NULL && !cJSON_IsArray(kvs)) {
		snprintf(err, errsize, "range: $.kvs: expected an array of key-values");
		goto out;
	}
	if (kvs != NULL && cJSON_GetArraySize(kvs) > SCPP_CLUSTER_MAX_NODES) {
		snprintf(err, errsize, "range: $.kvs: %d node records, above the %u a map takes",
			 cJSON_GetArraySize(kvs), SCPP_CLUSTER_MAX_NODES);
		goto out;
	}
	cJSON_ArrayForEach(e, kvs) {
		struct scpp_cluster_record *r = &out->recs[out->nb];
		struct scpp_config_error cerr;
		struct cluster_kv kv;
		uint32_t id;

		snprintf(at, sizeof(at), "range: $.kvs[%d]", i++);
		rc = kv_decode(e, &kv, err, errsize, at);
		if (rc != 0)
			goto out;
		memset(r, 0, sizeof(*r));
		snprintf(r->origin, sizeof(r->origin), "etcd %s", kv.key);
		id = key_node_id(kv.key, prefix);
		if (id == 0) {
			cluster_report_add(&out->rep, "%s: expected a key %sv1/node/<id> (id 1.."
					   "4294967295 in decimal, no leading zero)", r->origin, prefix);
		} else if (scpp_config_cluster_node_parse(kv.value, kv.value_len, r->origin, &r->rec,
							  &cerr) != 0) {
			cluster_report_add(&out->rep, "%s", cerr.msg);
		} else if (r->rec.id != id) {
			cluster_report_add(&out->rep, "%s: $.id: expected %" PRIu32 ", the id its key "
					   "names, found %" PRIu32, r->origin, id, r->rec.id);
		} else {
			r->create_revision = kv.create_revision;
			r->mod_revision = kv.mod_revision;
			r->lease = kv.lease;
			out->nb++;
		}
		free(kv.value);
	}
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}
