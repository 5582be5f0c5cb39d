/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The fabric engine: one-sided RMA through libfabric. Each instance opens
 * its own fabric, domain and address vector, and two reliable-datagram
 * endpoints (FI_EP_RDM), each with its own completion queue:
 * - the **target endpoint**, whose address our windows carry: peers' copies
 *   into our regions arrive here; it never initiates anything;
 * - the **initiating endpoint**, which posts our fi_write/fi_read.
 * Workers share nothing, so the domain is FI_THREAD_DOMAIN (the provider
 * takes no locks for us).
 *
 * Why two endpoints: a stuck initiating endpoint must be replaceable
 * without changing the address peers know us by. libfabric 1.17's shm
 * provider needs exactly that: when a target refuses an RMA (bad key, a
 * range outside its registration, a region unregistered meanwhile),
 * smr_progress_cmd_rma() returns without writing the response the
 * initiator waits for, and the initiator's response queue is processed
 * strictly in order, so every later completion of that endpoint, to any
 * peer, waits forever behind it. The copy then times out (a zombie), and
 * scpp_copy_recover() closes the initiating endpoint and its queue (which
 * ends their operations), opens new ones, and the instance works again;
 * its windows stay valid. tcp (tcp;ofi_rxm) reports a refusal as
 * -ECANCELED and drops the connection, which comes back by itself after a
 * few -ENOTCONN copies, or at once after scpp_copy_recover().
 *
 * Progress model. shm and tcp make data progress only when the application
 * calls into them (FI_PROGRESS_MANUAL), on *both* sides: the target of an
 * fi_write moves the bytes into its memory, and answers, only while it
 * reads its completion queue, even though it gets no completion for a
 * one-sided operation. So every poll reads the target endpoint's queue once,
 * whether or not the instance has copies of its own in flight, and then the
 * initiating one's; scppd's worker loop polls every iteration, which makes
 * every worker a live target for its windows. We ask for no provider
 * progress thread (FI_PROGRESS_AUTO would add a hidden thread competing with
 * poll-mode cores); providers that only do auto progress are still
 * accepted, and then SCPP_COPY_CAP_TARGET_PROGRESS is not set.
 *
 * Completion semantics: the endpoints' default completion level is
 * FI_DELIVERY_COMPLETE, so an fi_write completes once its bytes are in the
 * target's memory, and a write the target refuses completes with an error
 * (or, with shm, not at all: above). With the providers' default (transmit
 * complete) tcp reports a write done as soon as it is on the socket: before
 * the target has placed it, and as a success even when the target then
 * refuses it. Providers that cannot deliver-complete are not used.
 *
 * Memory registration follows whatever the provider asks for in mr_mode:
 * FI_MR_LOCAL (pass descriptors for local buffers), FI_MR_VIRT_ADDR (peers
 * address the window by virtual address: base = VA; else by offset: base =
 * 0), FI_MR_PROV_KEY (the provider picks keys; else we pick random 64-bit
 * keys, so a peer cannot guess another window's key), FI_MR_ENDPOINT (bind
 * each MR to the target endpoint). Every copy's local side must be in a
 * registered region either way: that is what makes unregister-while-in-
 * flight -EBUSY.
 *
 * A copy longer than part_max (default: the provider's max_msg_size) is
 * several fi_write/fi_read calls with the same context, the slot; each
 * completion is one part. The number of parts in flight is bounded by the
 * endpoint's transmit queue size, and the completion queue is sized to
 * hold all of them, so it cannot overrun.
 */

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_rma.h>

#include <rte_log.h>

#include "copy_priv.h"

#define FABRIC_VERSION FI_VERSION(FI_MAJOR_VERSION, FI_MINOR_VERSION)
#define REAP_BURST 32
#define REAP_ROUNDS 8

struct fabric_priv {
	struct fid_ep *ep;   /* initiating endpoint: our copies */
	struct fid_cq *cq;   /* its completions */
	struct fid_cq *tcq;  /* the target endpoint's queue: polled for progress */
	uint32_t out;        /* parts in flight */
	uint32_t out_max;    /* transmit queue size */
	bool local_desc;     /* FI_MR_LOCAL */
	bool dead;           /* recovery failed: copies fail -ENODEV */
	/* below: control path only */
	bool virt_addr;      /* FI_MR_VIRT_ADDR */
	bool prov_key;       /* FI_MR_PROV_KEY */
	bool mr_endpoint;    /* FI_MR_ENDPOINT */
	uint64_t key_mask;   /* keys the provider accepts */
	struct fi_info *info;
	struct fid_fabric *fabric;
	struct fid_domain *domain;
	struct fid_av *av;
	struct fid_ep *tep;  /* target endpoint: its address is in our windows */
	uint8_t addr[SCPP_COPY_ADDR_MAX];
	size_t addr_len;
};

static struct fi_info *
make_hints(const struct scpp_copy_config *cfg)
{
	struct fi_info *h = fi_allocinfo();

	if (h == NULL)
		return NULL;
	h->caps = FI_RMA | FI_READ | FI_WRITE | FI_REMOTE_READ | FI_REMOTE_WRITE;
	h->mode = 0; /* no FI_CONTEXT: contexts are our slots, not provider scratch */
	h->ep_attr->type = FI_EP_RDM;
	/* A completion must mean the bytes are in the target's memory (or
	 * were refused there), not merely sent: see the file comment. */
	h->tx_attr->op_flags = FI_DELIVERY_COMPLETE;
	h->domain_attr->mr_mode = FI_MR_LOCAL | FI_MR_VIRT_ADDR | FI_MR_ALLOCATED |
				  FI_MR_PROV_KEY | FI_MR_ENDPOINT;
	h->domain_attr->threading = FI_THREAD_DOMAIN;
	h->domain_attr->data_progress = FI_PROGRESS_MANUAL;
	h->domain_attr->control_progress = FI_PROGRESS_UNSPEC;
	h->domain_attr->av_type = FI_AV_TABLE;
	h->fabric_attr->prov_name = strdup(cfg->fabric.provider);
	if (h->fabric_attr->prov_name == NULL) {
		fi_freeinfo(h);
		return NULL;
	}
	return h;
}

/*
 * shm is host-local: it has no network address to bind, and given a node
 * it names its endpoint "fi_ns://<node>:<service>", which collides between
 * processes (every instance would be fi_ns://127.0.0.1:0). So node and
 * service apply to network providers only.
 */
static bool
host_local(const char *provider)
{
	return strcmp(provider, "shm") == 0;
}

/*
 * Regions left by a dead process that had our PID. libfabric 1.17's shm
 * provider names an endpoint's region /dev/shm/<pid>:<uid>:<n>, n counting
 * the process's endpoints from 0, and creates it exclusively. A process
 * that dies without closing its endpoints (SIGKILL, a crash) leaves its
 * regions behind, and a later process that is given the same PID then fails
 * fi_enable with EBUSY at start ("fi_enable failed: Device or resource
 * busy"). Before this process opens its first shm endpoint, a region named
 * with its own PID and uid can only be such a leftover, so it is removed,
 * once per process (the PID is compared, so a forked child clears its own).
 * Precondition: nothing else in the process opened shm endpoints before its
 * first fabric engine (perf/bench-copy's raw baseline opens its own after).
 * Returns how many were removed.
 */
static pthread_mutex_t stale_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t stale_cleared_pid;

static bool
stale_name(const char *name, const char *pfx, size_t pfx_len)
{
	const char *t = name + pfx_len;

	if (strncmp(name, pfx, pfx_len) != 0 || *t == '\0')
		return false;
	for (; *t != '\0'; t++)
		if (*t < '0' || *t > '9')
			return false;
	return true;
}

int
copy_fabric_clear_stale(const char *dir)
{
	char pfx[48];
	struct dirent *e;
	int n, removed = 0;
	DIR *d;

	pthread_mutex_lock(&stale_lock);
	if (stale_cleared_pid == getpid()) {
		pthread_mutex_unlock(&stale_lock);
		return 0;
	}
	stale_cleared_pid = getpid();
	n = snprintf(pfx, sizeof(pfx), "%ld:%lu:", (long)getpid(), (unsigned long)getuid());
	d = opendir(dir);
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (!stale_name(e->d_name, pfx, (size_t)n))
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) == 0) {
			COPY_LOG(NOTICE, "fabric: removed %s/%s, a shm region left by an earlier "
				 "process with this PID", dir, e->d_name);
			removed++;
		}
	}
	if (d != NULL)
		closedir(d);
	pthread_mutex_unlock(&stale_lock);
	return removed;
}

static int
get_info(const struct scpp_copy_config *cfg, struct fi_info **info, char *why, size_t why_len)
{
	const char *node, *service;
	struct fi_info *h;
	int rc;

	if (cfg->fabric.provider == NULL || cfg->fabric.provider[0] == '\0') {
		snprintf(why, why_len, "fabric: no provider configured");
		return -ENODEV;
	}
	if (host_local(cfg->fabric.provider))
		(void)copy_fabric_clear_stale("/dev/shm");
	h = make_hints(cfg);
	if (h == NULL) {
		snprintf(why, why_len, "fabric: out of memory");
		return -ENOMEM;
	}
	node = host_local(cfg->fabric.provider) ? NULL : cfg->fabric.node;
	service = host_local(cfg->fabric.provider) ? NULL : cfg->fabric.service;
	rc = fi_getinfo(FABRIC_VERSION, node, service,
			node != NULL || service != NULL ? FI_SOURCE : 0, h, info);
	fi_freeinfo(h);
	if (rc != 0) {
		snprintf(why, why_len, "fabric: no provider \"%s\"%s%s for one-sided RMA on a "
			 "reliable datagram endpoint (fi_getinfo: %s)", cfg->fabric.provider,
			 node != NULL ? " on " : "", node != NULL ? node : "", fi_strerror(-rc));
		return -ENODEV;
	}
	if (!((*info)->tx_attr->op_flags & FI_DELIVERY_COMPLETE)) {
		snprintf(why, why_len, "fabric: provider \"%s\" does not offer delivery-complete "
			 "writes", (*info)->fabric_attr->prov_name);
		fi_freeinfo(*info);
		*info = NULL;
		return -ENODEV;
	}
	return 0;
}

static int
fabric_probe(const struct scpp_copy_config *cfg, char *why, size_t why_len)
{
	struct fi_info *info = NULL;
	int rc = get_info(cfg, &info, why, why_len);

	if (rc == 0)
		fi_freeinfo(info);
	return rc == -ENOMEM ? -ENODEV : rc;
}

static void
close_fid(struct fid *f)
{
	if (f != NULL)
		fi_close(f);
}

#define CLOSE(obj)                                                            \
	do {                                                                  \
		if ((obj) != NULL)                                            \
			fi_close(&(obj)->fid);                                \
		(obj) = NULL;                                                 \
	} while (0)

static void
release(struct scpp_copy *c, struct fabric_priv *p)
{
	CLOSE(p->ep);
	CLOSE(p->tep);
	CLOSE(p->cq);
	CLOSE(p->tcq);
	CLOSE(p->av);
	CLOSE(p->domain);
	CLOSE(p->fabric);
	if (p->info != NULL)
		fi_freeinfo(p->info);
	copy_free_mem(c, p, sizeof(*p));
}

/* Open an endpoint with its own completion queue, bound to the AV. */
static int
open_ep(struct fabric_priv *p, struct fid_ep **ep, struct fid_cq **cq, const char **step)
{
	struct fi_cq_attr cq_attr = {.format = FI_CQ_FORMAT_CONTEXT, .wait_obj = FI_WAIT_NONE};
	int rc;

	cq_attr.size = (size_t)p->out_max * 2;
	*step = "fi_cq_open";
	rc = fi_cq_open(p->domain, &cq_attr, cq, NULL);
	if (rc == 0) {
		*step = "fi_endpoint";
		rc = fi_endpoint(p->domain, p->info, ep, NULL);
	}
	if (rc == 0) {
		*step = "fi_ep_bind(av)";
		rc = fi_ep_bind(*ep, &p->av->fid, 0);
	}
	if (rc == 0) {
		*step = "fi_ep_bind(cq)";
		rc = fi_ep_bind(*ep, &(*cq)->fid, FI_TRANSMIT | FI_RECV);
	}
	if (rc == 0) {
		*step = "fi_enable";
		rc = fi_enable(*ep);
	}
	if (rc != 0) {
		CLOSE(*ep);
		CLOSE(*cq);
	}
	return rc;
}

static int
fabric_init(struct scpp_copy *c, const struct scpp_copy_config *cfg)
{
	struct fi_av_attr av_attr = {.type = FI_AV_TABLE};
	struct fabric_priv *p;
	const char *step;
	char why[256];
	uint64_t mr_mode;
	int rc;

	p = copy_zalloc(c, sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	rc = get_info(cfg, &p->info, why, sizeof(why));
	if (rc != 0) {
		COPY_LOG(ERR, "%s", why);
		copy_free_mem(c, p, sizeof(*p));
		return rc;
	}
	mr_mode = (uint64_t)p->info->domain_attr->mr_mode;
	p->local_desc = (mr_mode & FI_MR_LOCAL) != 0;
	p->virt_addr = (mr_mode & FI_MR_VIRT_ADDR) != 0;
	p->prov_key = (mr_mode & FI_MR_PROV_KEY) != 0;
	p->mr_endpoint = (mr_mode & FI_MR_ENDPOINT) != 0;
	p->key_mask = p->info->domain_attr->mr_key_size >= 8 ? UINT64_MAX :
		(UINT64_C(1) << (8 * p->info->domain_attr->mr_key_size)) - 1;
	p->out_max = (uint32_t)RTE_MIN(p->info->tx_attr->size, (size_t)UINT32_MAX / 2);
	if (p->out_max == 0)
		p->out_max = c->mask + 1;

	step = "fi_fabric";
	rc = fi_fabric(p->info->fabric_attr, &p->fabric, NULL);
	if (rc == 0) {
		step = "fi_domain";
		rc = fi_domain(p->fabric, p->info, &p->domain, NULL);
	}
	if (rc == 0) {
		step = "fi_av_open";
		rc = fi_av_open(p->domain, &av_attr, &p->av, NULL);
	}
	if (rc == 0)
		rc = open_ep(p, &p->tep, &p->tcq, &step);
	if (rc == 0) {
		step = "fi_getname";
		p->addr_len = sizeof(p->addr);
		rc = fi_getname(&p->tep->fid, p->addr, &p->addr_len);
		if (rc == -FI_ETOOSMALL)
			rc = -FI_EOVERRUN; /* our 64-byte window field is too small */
	}
	if (rc == 0)
		rc = open_ep(p, &p->ep, &p->cq, &step);
	if (rc != 0) {
		COPY_LOG(ERR, "%s: provider %s: %s failed: %s", c->name,
			 p->info->fabric_attr->prov_name, step, fi_strerror(-rc));
		release(c, p);
		return -EIO;
	}
	c->priv = p;
	c->caps.flags = SCPP_COPY_CAP_WRITE | SCPP_COPY_CAP_READ | SCPP_COPY_CAP_OFFLOAD |
			SCPP_COPY_CAP_NEED_REG | SCPP_COPY_CAP_WINDOWS;
	if (p->info->domain_attr->data_progress != FI_PROGRESS_AUTO)
		c->caps.flags |= SCPP_COPY_CAP_TARGET_PROGRESS;
	copy_strlcpy(c->caps.provider, p->info->fabric_attr->prov_name, sizeof(c->caps.provider));
	c->part_max = p->info->ep_attr->max_msg_size;
	return 0;
}

static void
fabric_quiesce(struct scpp_copy *c)
{
	struct fabric_priv *p = c->priv;

	/* Closing an endpoint ends every operation on it: afterwards the
	 * provider touches none of our buffers, nor, for the target
	 * endpoint, lets peers touch our windows. */
	CLOSE(p->ep);
	CLOSE(p->tep);
	p->out = 0;
	copy_abandon_parts(c, -ECANCELED);
}

/*
 * Rebuild the initiating endpoint and its queue: whatever it had in flight
 * is gone with it (closing the endpoint ends its operations; a new queue
 * means no late completion can name a reused slot). The target endpoint,
 * whose address our windows carry, and the address vector stay.
 */
static int
fabric_recover(struct scpp_copy *c)
{
	struct fabric_priv *p = c->priv;
	const char *step;
	int rc;

	CLOSE(p->ep);
	CLOSE(p->cq);
	p->out = 0;
	copy_abandon_parts(c, -ECANCELED);
	rc = open_ep(p, &p->ep, &p->cq, &step);
	if (rc != 0) {
		COPY_LOG(ERR, "%s: provider %s: recovery: %s failed: %s", c->name,
			 c->caps.provider, step, fi_strerror(-rc));
		p->dead = true;
		return -EIO;
	}
	p->dead = false;
	return 0;
}

static void
fabric_fini(struct scpp_copy *c)
{
	release(c, c->priv);
	c->priv = NULL;
}

static int
fabric_reg(struct scpp_copy *c, struct scpp_copy_region *r)
{
	struct fabric_priv *p = c->priv;
	uint64_t access = 0;
	struct fid_mr *mr = NULL;
	int rc = -FI_ENOKEY;

	if (r->access & SCPP_COPY_ACCESS_LOCAL)
		access |= FI_READ | FI_WRITE;
	if (r->access & SCPP_COPY_ACCESS_REMOTE_READ)
		access |= FI_REMOTE_READ;
	if (r->access & SCPP_COPY_ACCESS_REMOTE_WRITE)
		access |= FI_REMOTE_WRITE;
	/* With user-chosen keys a collision is refused (FI_ENOKEY): another
	 * random key will do. */
	for (int tries = 0; tries < 4 && rc == -FI_ENOKEY; tries++)
		rc = fi_mr_reg(p->domain, r->base, r->len, access, 0,
			       p->prov_key ? 0 : copy_random64() & p->key_mask, 0, &mr, NULL);
	if (rc == 0 && p->mr_endpoint) {
		rc = fi_mr_bind(mr, &p->tep->fid, 0);
		if (rc == 0)
			rc = fi_mr_enable(mr);
	}
	if (rc != 0) {
		COPY_LOG(ERR, "%s: registering %zu bytes at %p failed: %s", c->name,
			 r->len, (void *)r->base, fi_strerror(-rc));
		close_fid(mr == NULL ? NULL : &mr->fid);
		return rc == -FI_ENOMEM ? -ENOMEM : -EIO;
	}
	r->eng = mr;
	r->key = fi_mr_key(mr);
	r->tbase = p->virt_addr ? (uint64_t)(uintptr_t)r->base : 0;
	return 0;
}

static void
fabric_dereg(struct scpp_copy *c, struct scpp_copy_region *r)
{
	(void)c;
	close_fid(r->eng == NULL ? NULL : &((struct fid_mr *)r->eng)->fid);
	r->eng = NULL;
}

static int
fabric_window(struct scpp_copy *c, const struct scpp_copy_region *r, struct scpp_copy_window *w)
{
	struct fabric_priv *p = c->priv;

	(void)r;
	w->engine = SCPP_COPY_WINDOW_FABRIC;
	copy_strlcpy(w->provider, c->caps.provider, sizeof(w->provider));
	w->addr_len = (uint8_t)p->addr_len;
	memcpy(w->addr, p->addr, p->addr_len);
	return 0;
}

static struct scpp_copy_remote *
same_peer(struct scpp_copy *c, const struct scpp_copy_remote *rw)
{
	for (uint32_t i = 0; i < c->caps.max_remotes; i++) {
		struct scpp_copy_remote *x = &c->remotes[i];

		if (x != rw && x->used && x->w.addr_len == rw->w.addr_len &&
		    memcmp(x->w.addr, rw->w.addr, rw->w.addr_len) == 0)
			return x;
	}
	return NULL;
}

static int
fabric_attach(struct scpp_copy *c, struct scpp_copy_remote *rw)
{
	struct fabric_priv *p = c->priv;
	struct scpp_copy_remote *twin;
	fi_addr_t fa = FI_ADDR_NOTAVAIL;
	int n;

	if (rw->w.engine != SCPP_COPY_WINDOW_FABRIC ||
	    strcmp(rw->w.provider, c->caps.provider) != 0)
		return -EPROTOTYPE;
	/* Windows of one peer share its address-vector entry. */
	twin = same_peer(c, rw);
	if (twin != NULL) {
		rw->peer = twin->peer;
		return 0;
	}
	n = fi_av_insert(p->av, rw->w.addr, 1, &fa, 0, NULL);
	if (n != 1 || fa == FI_ADDR_NOTAVAIL) {
		COPY_LOG(ERR, "%s: the address of a %s window refused by the address "
			 "vector (%d)", c->name, rw->w.provider, n);
		return -EIO;
	}
	rw->peer = fa;
	return 0;
}

static void
fabric_detach(struct scpp_copy *c, struct scpp_copy_remote *rw)
{
	struct fabric_priv *p = c->priv;
	fi_addr_t fa = rw->peer;

	if (same_peer(c, rw) == NULL && p->tep != NULL)
		fi_av_remove(p->av, &fa, 1, 0);
}

/*
 * Provider errors to our statuses. FI_E* values below 256 are errno
 * values; the libfabric-specific ones start at FI_ERRNO_OFFSET.
 */
static int
fabric_errno(int err)
{
	switch (err) {
	case FI_ENOKEY:
	case FI_EKEYREJECTED:
	case FI_EACCES:
	case FI_EPERM:
	case FI_EFAULT:
	case FI_EINVAL:
	case FI_ETRUNC:
		return -EACCES;
	case FI_ECONNREFUSED:
		return -ECONNREFUSED;
	case FI_ECONNRESET:
	case FI_ECONNABORTED:
		return -ECONNRESET;
	case FI_EHOSTUNREACH:
	case FI_ENETUNREACH:
	case FI_EADDRNOTAVAIL:
		return -EHOSTUNREACH;
	case FI_ENOTCONN:
	case FI_ESHUTDOWN:
		return -ENOTCONN;
	case FI_ETIMEDOUT:
		return -ETIMEDOUT;
	case FI_ECANCELED:
		return -ECANCELED;
	default:
		return -EIO;
	}
}

static int
fabric_post(struct scpp_copy *c, struct copy_slot *s)
{
	struct fabric_priv *p = c->priv;

	if (SCPP_UNLIKELY(p->dead))
		return -ENODEV;
	while (s->posted < s->len) {
		uint64_t part = RTE_MIN(s->len - s->posted, c->part_max);
		ssize_t rc;

		if (p->out >= p->out_max)
			return -EAGAIN;
		if (s->kind == SCPP_COPY_WRITE)
			rc = fi_write(p->ep, s->src + s->posted, part,
				      p->local_desc ? fi_mr_desc(s->sreg->eng) : NULL,
				      s->rw->peer, s->raddr + s->posted, s->rw->w.key, s);
		else
			rc = fi_read(p->ep, s->dst + s->posted, part,
				     p->local_desc ? fi_mr_desc(s->dreg->eng) : NULL,
				     s->rw->peer, s->raddr + s->posted, s->rw->w.key, s);
		if (rc == -FI_EAGAIN)
			return -EAGAIN;
		if (SCPP_UNLIKELY(rc != 0))
			return -EIO;
		s->posted += part;
		s->parts_out++;
		p->out++;
		scpp_counter_add(&c->st.parts, 1);
	}
	return 0;
}

static void
fabric_reap(struct scpp_copy *c)
{
	struct fabric_priv *p = c->priv;
	struct fi_cq_entry e[REAP_BURST];

	/* Always read the target endpoint's queue: that is the progress of
	 * peers' operations on our windows (file comment). It never carries
	 * completions of ours; an error entry there is the provider telling us
	 * it refused a peer, which the peer learns on its side. */
	if (SCPP_UNLIKELY(fi_cq_read(p->tcq, e, REAP_BURST) == -FI_EAVAIL)) {
		struct fi_cq_err_entry err;

		memset(&err, 0, sizeof(err));
		(void)fi_cq_readerr(p->tcq, &err, 0);
	}
	if (SCPP_UNLIKELY(p->cq == NULL))
		return;
	for (int round = 0; round < REAP_ROUNDS; round++) {
		ssize_t n = fi_cq_read(p->cq, e, REAP_BURST);

		if (n > 0) {
			for (ssize_t i = 0; i < n; i++) {
				p->out--;
				copy_part_done(c, e[i].op_context, 0);
			}
			if (n < REAP_BURST)
				break;
		} else if (n == -FI_EAVAIL) {
			struct fi_cq_err_entry err;

			memset(&err, 0, sizeof(err));
			if (fi_cq_readerr(p->cq, &err, 0) == 1 && err.op_context != NULL) {
				p->out--;
				copy_part_done(c, err.op_context, fabric_errno(err.err));
			}
		} else {
			break; /* -FI_EAGAIN: nothing (more) completed */
		}
	}
}

const struct copy_engine copy_engine_fabric = {
	.name = "fabric",
	.probe = fabric_probe,
	.init = fabric_init,
	.quiesce = fabric_quiesce,
	.recover = fabric_recover,
	.fini = fabric_fini,
	.reg = fabric_reg,
	.dereg = fabric_dereg,
	.window = fabric_window,
	.attach = fabric_attach,
	.detach = fabric_detach,
	.post = fabric_post,
	.reap = fabric_reap,
};
