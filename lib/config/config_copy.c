/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Configuration: the $.copy section (copy engines, drivers/copy).
 *
 * The key table says what each key may hold; config_validate_copy() checks
 * what ties keys together or to the rest of the file: one $.copy.workers
 * entry per worker (or none), no dmadev claimed twice, an address to bind
 * for network fabric providers, the synchronous bound inside max_len, and
 * a copy timeout that a sleeping peer cannot exceed. docs/CONFIG.md has the
 * table with the reasons.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "scpp_common.h"
#include "scpp_config.h"
#include "config_priv.h"

#define FSIZE(st, m) sizeof(((st *)0)->m)
#define C_UINT(st, k, m, lo, hi)                                                \
	{.key = k, .type = T_UINT, .off = offsetof(st, m), .size = FSIZE(st, m), \
	 .min = lo, .max = hi}
#define C_STR(st, k, m, class, lo)                                              \
	{.key = k, .type = T_STR, .off = offsetof(st, m), .cs = class, .min = lo, \
	 .max = FSIZE(st, m) - 1, .esize = FSIZE(st, m)}
#define C_ENUM(st, k, m, list)                                                  \
	{.key = k, .type = T_ENUM, .off = offsetof(st, m), .size = FSIZE(st, m), \
	 .names = list, .min = 0}

/* Longest copy, bytes: the engines' SCPP_COPY_LEN_MAX (1 TiB). */
#define COPY_LEN_MAX (UINT64_C(1) << 40)

static const char *const local_names[] = {"auto", "dmadev", "memcpy", NULL};
static const char *const worker_local_names[] = {"auto", "dmadev", "memcpy", "default", NULL};
static const char *const remote_names[] = {"none", "fabric", "verbs", NULL};
static const char *const addressing_names[] = {"lid", "gid", NULL};

static const struct field worker_fields[] = {
	C_ENUM(struct scpp_config_copy_worker, "local", local, worker_local_names),
	C_STR(struct scpp_config_copy_worker, "dmadev", dmadev, CS_NAME, 0),
};

static void
worker_defaults(void *item)
{
	struct scpp_config_copy_worker *w = item;

	memset(w, 0, sizeof(*w));
	w->local = SCPP_CONFIG_COPY_LOCAL_DEFAULT;
}

static const struct section worker_sec = {worker_fields, SCPP_ARRAY_SIZE(worker_fields),
					  worker_defaults};

static const struct field fabric_fields[] = {
	C_STR(struct scpp_config_copy_fabric, "provider", provider, CS_TEXT, 1),
	C_STR(struct scpp_config_copy_fabric, "node", node, CS_TEXT, 0),
	C_STR(struct scpp_config_copy_fabric, "service", service, CS_TEXT, 0),
};
static const struct section fabric_sec = {fabric_fields, SCPP_ARRAY_SIZE(fabric_fields), NULL};

static const struct field verbs_fields[] = {
	C_STR(struct scpp_config_copy_verbs, "device", device, CS_NAME, 0),
	C_UINT(struct scpp_config_copy_verbs, "port", port, 1, 255),
	C_ENUM(struct scpp_config_copy_verbs, "addressing", addressing, addressing_names),
	C_UINT(struct scpp_config_copy_verbs, "gid_index", gid_index, 0, 255),
};
static const struct section verbs_sec = {verbs_fields, SCPP_ARRAY_SIZE(verbs_fields), NULL};

static const struct field memwin_fields[] = {
	C_STR(struct scpp_config_copy_memwin, "name", name, CS_NAME, 1),
	C_UINT(struct scpp_config_copy_memwin, "bytes", bytes, 1, SCPP_CONFIG_MEMWIN_BYTES_MAX),
	C_UINT(struct scpp_config_copy_memwin, "worker", worker, 0, SCPP_CONFIG_MAX_WORKERS - 1),
};
static const struct section memwin_sec = {memwin_fields, SCPP_ARRAY_SIZE(memwin_fields), NULL};

static const struct field copy_fields[] = {
	C_ENUM(struct scpp_config_copy, "local", local, local_names),
	C_ENUM(struct scpp_config_copy, "remote", remote, remote_names),
	{.key = "dma_skeleton", .type = T_BOOL, .off = offsetof(struct scpp_config_copy, dma_skeleton)},
	{.key = "workers", .type = T_LIST, .off = offsetof(struct scpp_config_copy, workers),
	 .aux = offsetof(struct scpp_config_copy, nb_workers), .min = 0,
	 .max = SCPP_CONFIG_MAX_WORKERS, .esize = sizeof(struct scpp_config_copy_worker),
	 .sec = &worker_sec},
	{.key = "fabric", .type = T_SECTION, .off = offsetof(struct scpp_config_copy, fabric),
	 .sec = &fabric_sec},
	{.key = "verbs", .type = T_SECTION, .off = offsetof(struct scpp_config_copy, verbs),
	 .sec = &verbs_sec},
	{.key = "ring_size", .type = T_UINT, .off = offsetof(struct scpp_config_copy, ring_size),
	 .size = FSIZE(struct scpp_config_copy, ring_size), .min = 1, .max = 65536, .pow2 = true},
	C_UINT(struct scpp_config_copy, "max_len", max_len, 1, COPY_LEN_MAX),
	C_UINT(struct scpp_config_copy, "part_max", part_max, 0, COPY_LEN_MAX),
	C_UINT(struct scpp_config_copy, "timeout_ms", timeout_ms, 0, 3600000),
	C_UINT(struct scpp_config_copy, "max_regions", max_regions, 1, 256),
	C_UINT(struct scpp_config_copy, "max_remotes", max_remotes, 0, 4096),
	{.key = "recover", .type = T_BOOL, .off = offsetof(struct scpp_config_copy, recover)},
	C_UINT(struct scpp_config_copy, "min_bytes", min_bytes, 0, COPY_LEN_MAX),
	C_UINT(struct scpp_config_copy, "sync_max_bytes", sync_max_bytes, 0, COPY_LEN_MAX),
	C_UINT(struct scpp_config_copy, "inflight_bytes", inflight_bytes, 0, UINT64_C(1) << 36),
	C_UINT(struct scpp_config_copy, "inflight_copies", inflight_copies, 1, 4096),
	C_UINT(struct scpp_config_copy, "test_stall_len", test_stall_len, 0, COPY_LEN_MAX),
	{.key = "memory_windows", .type = T_LIST, .off = offsetof(struct scpp_config_copy, memwins),
	 .aux = offsetof(struct scpp_config_copy, nb_memwins), .min = 0,
	 .max = SCPP_CONFIG_MEMWIN_MAX, .esize = sizeof(struct scpp_config_copy_memwin),
	 .sec = &memwin_sec},
};
const struct section config_copy_sec = {copy_fields, SCPP_ARRAY_SIZE(copy_fields), NULL};

void
config_copy_defaults(struct scpp_config_copy *cp)
{
	memset(cp, 0, sizeof(*cp));
	cp->local = SCPP_CONFIG_COPY_LOCAL_AUTO;
	cp->remote = SCPP_CONFIG_COPY_REMOTE_NONE;
	cp->dma_skeleton = false;
	snprintf(cp->fabric.provider, sizeof(cp->fabric.provider), "tcp");
	cp->verbs.port = 1;
	cp->verbs.addressing = SCPP_CONFIG_COPY_ADDR_LID;
	cp->ring_size = 1024;
	cp->max_len = UINT64_C(64) << 20;
	cp->part_max = 0;
	cp->timeout_ms = 1000;
	cp->max_regions = 16;
	cp->max_remotes = 64;
	cp->recover = true;
	cp->min_bytes = 4096;
	cp->sync_max_bytes = UINT64_C(4) << 20;
	cp->inflight_bytes = UINT64_C(4) << 20;
	cp->inflight_copies = 64;
}

const char *
scpp_config_copy_local_name(enum scpp_config_copy_local l)
{
	return (unsigned int)l < SCPP_ARRAY_SIZE(worker_local_names) - 1 ? worker_local_names[l]
									 : NULL;
}

const char *
scpp_config_copy_remote_name(enum scpp_config_copy_remote r)
{
	return (unsigned int)r < SCPP_ARRAY_SIZE(remote_names) - 1 ? remote_names[r] : NULL;
}

/* A port number 1..65535 in decimal, no sign or leading zero. */
static bool
service_ok(const char *s)
{
	unsigned long v = 0;

	if (s[0] < '1' || s[0] > '9')
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > 65535)
			return false;
	}
	return true;
}

static int
validate_fabric(struct ctx *c, const struct scpp_config_copy_fabric *f)
{
	bool shm = strcmp(f->provider, "shm") == 0;

	if (strchr(f->provider, ' ') != NULL)
		return config_fail_at(c, "$.copy.fabric.provider", "expected a libfabric provider "
				      "name without spaces like \"tcp\" or \"shm\", found \"%s\"",
				      f->provider);
	/* A network provider without an address would bind whatever the
	 * provider picks, possibly an interface nobody meant to expose. */
	if (!shm && f->node[0] == '\0')
		return config_fail_at(c, "$.copy.fabric.node", "expected the address to bind (an "
				      "IPv4 or IPv6 address) for provider \"%s\" with "
				      "$.copy.remote \"fabric\", found nothing", f->provider);
	if (shm && f->node[0] != '\0')
		return config_fail_at(c, "$.copy.fabric.node", "expected nothing for provider "
				      "\"shm\" (host-local, it binds no address), found \"%s\"",
				      f->node);
	if (f->service[0] != '\0' && (shm || !service_ok(f->service)))
		return config_fail_at(c, "$.copy.fabric.service", shm ?
				      "expected nothing for provider \"shm\", found \"%s\"" :
				      "expected a port 1..65535 as a decimal string like \"7400\", "
				      "found \"%s\"", f->service);
	return 0;
}

int
config_validate_copy(struct ctx *c, const struct scpp_config *cfg)
{
	const struct scpp_config_copy *cp = &cfg->copy;
	char path[96];
	int rc;

	if (cp->nb_workers != 0 && cp->nb_workers != cfg->nb_workers)
		return config_fail_at(c, "$.copy.workers", "expected no entries or one per entry "
				      "of $.workers (%u), in the same order, found %u",
				      cfg->nb_workers, cp->nb_workers);
	for (unsigned int i = 0; i < cp->nb_workers; i++) {
		const struct scpp_config_copy_worker *w = &cp->workers[i];
		enum scpp_config_copy_local l =
			w->local == SCPP_CONFIG_COPY_LOCAL_DEFAULT ? cp->local : w->local;

		if (w->dmadev[0] == '\0')
			continue;
		snprintf(path, sizeof(path), "$.copy.workers[%u].dmadev", i);
		if (l == SCPP_CONFIG_COPY_LOCAL_MEMCPY)
			return config_fail_at(c, path, "expected nothing: this worker's local engine "
					      "is \"memcpy\", found \"%s\"", w->dmadev);
		for (unsigned int j = 0; j < i; j++)
			if (strcmp(cp->workers[j].dmadev, w->dmadev) == 0)
				return config_fail_at(c, path, "expected a dmadev not named for "
						      "another worker (an engine claims its device "
						      "alone), found \"%s\" (also "
						      "$.copy.workers[%u].dmadev)", w->dmadev, j);
	}
	for (unsigned int i = 0; i < cp->nb_memwins; i++) {
		const struct scpp_config_copy_memwin *m = &cp->memwins[i];

		if (m->name[0] == '\0') {
			snprintf(path, sizeof(path), "$.copy.memory_windows[%u].name", i);
			return config_fail_at(c, path, "expected a name, found nothing");
		}
		if (m->worker >= cfg->nb_workers) {
			snprintf(path, sizeof(path), "$.copy.memory_windows[%u].worker", i);
			return config_fail_at(c, path, "expected the index of an entry of $.workers "
					      "(0..%u), found %u", cfg->nb_workers - 1, m->worker);
		}
		for (unsigned int j = 0; j < i; j++)
			if (strcmp(cp->memwins[j].name, m->name) == 0) {
				snprintf(path, sizeof(path), "$.copy.memory_windows[%u].name", i);
				return config_fail_at(c, path, "expected a name no other memory window "
						      "has, found \"%s\" (also "
						      "$.copy.memory_windows[%u].name)", m->name, j);
			}
	}
	if (cp->remote == SCPP_CONFIG_COPY_REMOTE_FABRIC) {
		rc = validate_fabric(c, &cp->fabric);
		if (rc != 0)
			return rc;
	}
	if (cp->sync_max_bytes > cp->max_len)
		return config_fail_at(c, "$.copy.sync_max_bytes", "expected at most $.copy.max_len "
				      "(%" PRIu64 "), found %" PRIu64, cp->max_len,
				      cp->sync_max_bytes);
	if (cp->part_max > cp->max_len)
		return config_fail_at(c, "$.copy.part_max", "expected 0 or at most $.copy.max_len "
				      "(%" PRIu64 "), found %" PRIu64, cp->max_len, cp->part_max);
#ifndef SCPP_TEST_FAULTS
	if (cp->test_stall_len != 0)
		return config_fail_at(c, "$.copy.test_stall_len", "expected 0: fault injection is "
				      "compiled only into test builds (meson -Dtest_faults=true), found "
				      "%" PRIu64, cp->test_stall_len);
#endif
	/* The synchronous path waits for its copy: never without a bound. */
	if (cp->timeout_ms == 0 && cp->sync_max_bytes > 0)
		return config_fail_at(c, "$.copy.timeout_ms", "expected at least 1 while "
				      "$.copy.sync_max_bytes is not 0 (a worker waits for its "
				      "synchronous copies at most this long), found 0");
	/* Each asynchronous copy takes one slot of the engine's ring at a
	 * time (its save, then the copy itself). */
	if (cp->inflight_bytes > 0 && cp->inflight_copies > cp->ring_size)
		return config_fail_at(c, "$.copy.inflight_copies", "expected at most "
				      "$.copy.ring_size (%u) while $.copy.inflight_bytes is not 0, "
				      "found %u", cp->ring_size, cp->inflight_copies);
	/* A peer's copies into our windows progress only while we poll: a
	 * sleeping worker must not make them time out (docs/COPY.md). */
	if (cp->remote != SCPP_CONFIG_COPY_REMOTE_NONE && cfg->idle.enabled && cp->timeout_ms != 0 &&
	    (uint64_t)cp->timeout_ms * 1000 < (uint64_t)cfg->idle.max_sleep_us * 100)
		return config_fail_at(c, "$.copy.timeout_ms", "expected 0 or at least 100 x "
				      "$.idle.max_sleep_us (%" PRIu64 " ms, rounded up) with a remote "
				      "engine, so that a sleeping peer cannot time copies out, found %u",
				      ((uint64_t)cfg->idle.max_sleep_us * 100 + 999) / 1000,
				      cp->timeout_ms);
	return 0;
}
