/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Delivery: instance life cycle, memory, counters, housekeeping and the
 * error-reply rate limit. The parts are in delivery_rx.c (datagrams in,
 * reassembly), delivery_cache.c (held replies, client windows, admission,
 * cookies, amplification) and delivery_tx.c (the backlog and frames out).
 *
 * Memory is one allocation carved into 64-byte-aligned parts, so that a
 * failed create leaks nothing and the total is known up front
 * (scpp_delivery_mem_size(), which scppd adds to its EAL memory budget).
 *
 * Table seeds are derived from the node's cookie key, which the daemon
 * draws at random at start: different on every boot and every node,
 * unknown to senders, and reproducible in tests that fix the key.
 */
#include <errno.h>
#include <sys/mman.h>

#include <rte_malloc.h>
#include <sodium.h>

#include "delivery_priv.h"

static void *
rte_alloc(void *ctx, const char *name, size_t size, int socket)
{
	(void)ctx;
	return rte_zmalloc_socket(name, size, 64, socket);
}

static void
rte_release(void *ctx, void *p, size_t size)
{
	(void)ctx;
	(void)size;
	rte_free(p);
}

const struct scpp_delivery_mem_ops scpp_delivery_mem_rte = {
	.alloc = rte_alloc,
	.free = rte_release,
};

static void *
libc_alloc(void *ctx, const char *name, size_t size, int socket)
{
	void *p;

	(void)ctx;
	(void)name;
	(void)socket;
	/* Anonymous pages are zeroed, page-aligned, and committed only when
	 * touched (large test configurations stay cheap). */
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void
libc_release(void *ctx, void *p, size_t size)
{
	(void)ctx;
	munmap(p, size);
}

const struct scpp_delivery_mem_ops scpp_delivery_mem_libc = {
	.alloc = libc_alloc,
	.free = libc_release,
};

const char *const scpp_delivery_drop_name[SCPP_DELIVERY_DROP_COUNT] = {
	[SCPP_DELIVERY_DROP_HDR_TRUNCATED] = "hdr_E_TRUNCATED",
	[SCPP_DELIVERY_DROP_HDR_BAD_MAGIC] = "hdr_E_BAD_MAGIC",
	[SCPP_DELIVERY_DROP_HDR_BAD_VERSION] = "hdr_E_BAD_VERSION",
	[SCPP_DELIVERY_DROP_HDR_BAD_KIND] = "hdr_E_BAD_KIND",
	[SCPP_DELIVERY_DROP_HDR_BAD_FLAGS] = "hdr_E_BAD_FLAGS",
	[SCPP_DELIVERY_DROP_HDR_BAD_LENGTH] = "hdr_E_BAD_LENGTH",
	[SCPP_DELIVERY_DROP_HDR_BAD_FRAGMENT] = "hdr_E_BAD_FRAGMENT",
	[SCPP_DELIVERY_DROP_NODE_KIND] = "node_kind",
	[SCPP_DELIVERY_DROP_FETCH_BAD] = "fetch_bad",
	[SCPP_DELIVERY_DROP_FRAG_LIMIT] = "frag_limit",
	[SCPP_DELIVERY_DROP_REASM_OVERFLOW] = "reasm_overflow",
	[SCPP_DELIVERY_DROP_REASM_QUOTA] = "reasm_quota",
	[SCPP_DELIVERY_DROP_REASM_TIMEOUT] = "reasm_timeout",
	[SCPP_DELIVERY_DROP_REASM_MISMATCH] = "reasm_mismatch",
	[SCPP_DELIVERY_DROP_REASM_DUP] = "reasm_duplicate",
	[SCPP_DELIVERY_DROP_FWD_BAD] = "forward_bad",
};

static uint16_t
frag_max_of(const struct scpp_net *n)
{
	uint16_t mtu = 0;

	for (uint16_t i = 0; i < n->nb_ports; i++)
		mtu = SCPP_MAX(mtu, n->port[i].mtu);
	return (uint16_t)(mtu - SCPP_NET_IP_UDP_LEN - SCPP_WIRE_HDR_LEN);
}

static bool
conf_valid(const struct scpp_delivery_conf *c)
{
	return c->net != NULL && c->net->nb_ports > 0 && c->tsc_hz != 0 &&
	       c->retention_ms != 0 && c->cache_entries != 0 && c->reply_max >= 64 &&
	       c->cache_bytes >= 4 * (uint64_t)c->reply_max && c->clients != 0 &&
	       c->reasm_slots != 0 && c->reasm_per_source != 0 &&
	       c->reasm_per_source <= c->reasm_slots && c->reasm_timeout_ms != 0 &&
	       c->max_fragments >= 1 && c->max_fragments <= SCPP_WIRE_FRAGS_MAX &&
	       c->backlog != 0 && c->cache_entries <= (1u << 26) && c->clients <= (1u << 26) &&
	       c->reasm_slots <= (1u << 20) && c->backlog <= (1u << 24) && dlv_park_conf_valid(c);
}

size_t
scpp_delivery_mem_size(const struct scpp_delivery_conf *c)
{
	if (!conf_valid(c))
		return 0;
	return dlv_al(sizeof(struct scpp_delivery)) + dlv_cache_mem(c) +
	       dlv_reasm_mem(c, frag_max_of(c->net)) + dlv_tx_mem(c) + dlv_park_mem(c);
}

void
dlv_seed(const struct scpp_delivery *d, const char *label, uint64_t *out, unsigned int n)
{
	for (unsigned int i = 0; i < n; i += 2) {
		uint8_t in[24] = {0}, h[16];

		strncpy((char *)in, label, 16);
		memcpy(in + 16, &i, sizeof(i));
		crypto_shorthash_siphashx24(h, in, sizeof(in), d->conf.cookie_key);
		memcpy(&out[i], h, 8);
		if (i + 1 < n)
			memcpy(&out[i + 1], h + 8, 8);
	}
}

struct scpp_delivery *
scpp_delivery_create(const struct scpp_delivery_conf *conf)
{
	const struct scpp_delivery_mem_ops *mem = conf->mem ? conf->mem : &scpp_delivery_mem_rte;
	struct scpp_delivery *d;
	size_t size;
	uint8_t *p;

	if (!conf_valid(conf)) {
		errno = EINVAL;
		return NULL;
	}
	size = scpp_delivery_mem_size(conf);
	p = mem->alloc(mem->ctx, conf->name ? conf->name : "scpp_delivery", size,
		       conf->socket_id);
	if (p == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	d = dlv_carve(&p, sizeof(*d));
	d->conf = *conf;
	d->conf.mem = mem;
	d->net = conf->net;
	d->mem = d;
	d->mem_size = size;
	d->retention = (uint64_t)conf->retention_ms * conf->tsc_hz / 1000;
	d->period = (uint64_t)SCPP_DELIVERY_COOKIE_PERIOD_S * conf->tsc_hz;
	d->frag_max = frag_max_of(conf->net);
	d->key_period = UINT64_MAX;
	d->pending_client = DLV_NONE;
	dlv_seed(d, "errors", &d->err_seed, 1);
	dlv_cache_init(d, &p);
	dlv_reasm_init(d, &p);
	dlv_tx_init(d, &p);
	dlv_park_init(d, &p);
	SCPP_VERIFY((size_t)(p - (uint8_t *)d) == size);
	return d;
}

void
scpp_delivery_free(struct scpp_delivery *d)
{
	if (d == NULL)
		return;
	d->conf.mem->free(d->conf.mem->ctx, d->mem, d->mem_size);
}

void
scpp_delivery_tick(struct scpp_delivery *d, uint64_t now)
{
	dlv_reasm_tick(d, now);
	dlv_cache_tick(d, now);
}

void
scpp_delivery_stats_get(const struct scpp_delivery *d, struct scpp_delivery_stats *st)
{
	const uint64_t *src = (const uint64_t *)(const void *)&d->st;
	uint64_t *dst = (uint64_t *)(void *)st;

	_Static_assert(sizeof(*st) % sizeof(uint64_t) == 0, "stats are u64 counters only");
	for (size_t i = 0; i < sizeof(*st) / sizeof(uint64_t); i++)
		dst[i] = scpp_counter_read(&src[i]);
}

#define GAUGE(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

void
scpp_delivery_usage_get(const struct scpp_delivery *d, struct scpp_delivery_usage *u)
{
	memset(u, 0, sizeof(*u));
	u->cache_entries = GAUGE(d->cache.count);
	u->cache_capacity = d->cache.cap;
	u->cache_bytes = GAUGE(d->cache.used);
	u->cache_arena = d->cache.size;
	u->clients = GAUGE(d->clients.count);
	u->clients_capacity = d->clients.cap;
	u->reasm_in_use = d->reasm.nslots - GAUGE(d->reasm.nfree);
	u->reasm_slots = d->reasm.nslots;
	u->reasm_frames = GAUGE(d->reasm.frames);
	u->backlog_jobs = GAUGE(d->tx.count);
	u->backlog_capacity = d->tx.cap;
	u->parked = GAUGE(d->park.used);
	u->parked_capacity = d->park.cap;
}

/*
 * Token bucket in TSC units: a bucket holds up to @p rate tokens (one
 * second's worth), a token is tsc_hz units, and it refills by @p rate units
 * per TSC tick. Integer arithmetic throughout: rate <= 10^6 and tsc_hz
 * < 10^10 keep every product below 2^63.
 */
static bool
bucket_take(struct dlv_bucket *b, uint32_t rate, uint64_t hz, uint64_t now)
{
	uint64_t cap = (uint64_t)SCPP_MAX(rate, 1u) * hz, dt = now - b->last;

	if (rate == 0)
		return false;
	b->last = now;
	if (dt > cap / rate)
		b->tokens = cap;
	else
		b->tokens = SCPP_MIN(cap, b->tokens + dt * rate);
	if (b->tokens < hz)
		return false;
	b->tokens -= hz;
	return true;
}

bool
scpp_delivery_error_allowed(struct scpp_delivery *d, uint32_t src_ip, uint64_t now)
{
	uint64_t h = (src_ip ^ d->err_seed) * UINT64_C(0x9e3779b97f4a7c15);
	struct dlv_bucket *b = &d->err[(h >> 40) % DLV_ERR_BUCKETS];
	bool ok;

	/* Direct-mapped: a source that lands in another source's bucket
	 * takes it over full. Bounded memory; the total bucket below caps what
	 * many sources get together. */
	if (b->ip != src_ip || b->last == 0) {
		b->ip = src_ip;
		b->last = now;
		b->tokens = (uint64_t)SCPP_MAX(d->conf.error_rate_source, 1u) * d->conf.tsc_hz;
	}
	ok = d->conf.error_rate_source != 0 &&
	     bucket_take(b, d->conf.error_rate_source, d->conf.tsc_hz, now);
	if (ok && !bucket_take(&d->err_total, d->conf.error_rate_total, d->conf.tsc_hz, now))
		ok = false;
	dlv_count(ok ? &d->st.errors_allowed : &d->st.errors_limited);
	return ok;
}
