/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The verbs engine: RDMA WRITE and READ on RC queue pairs, every rdma-core
 * call through struct scpp_copy_verbs_ops so that tests can stand in for a
 * device (no RDMA NIC exists on the project's machines; the logic runs for
 * real through the fabric engine's shm and tcp providers, and through a
 * fake device in tests/unit/copy).
 *
 * One protection domain and one completion queue per instance; one RC queue
 * pair per linked peer (a *link*), set up by the three-message exchange of
 * scpp_copy_link_offer/accept/finish, whose messages the caller carries (the
 * cluster's control channel, later). A window names its owner by the
 * owner's random instance tag; attaching a window finds the link to that
 * tag.
 *
 * Failure handling:
 * - a work request that fails (any status but success or flush) breaks its
 *   link: the RC queue pair is in the error state and flushes everything
 *   behind it (-ECANCELED); later copies on that link fail -ECONNRESET
 *   until the peer is linked again;
 * - a post the send queue cannot take (ENOMEM) waits in the ring (EAGAIN);
 *   any other post error fails that copy with -EIO;
 * - a fatal device event (checked at most once per millisecond, when a poll
 *   finds the CQ empty while work is outstanding) or a failing poll_cq means the
 *   device is lost: every outstanding part fails with -ENODEV, and so does
 *   every later copy.
 */

#include <string.h>

#include <rte_log.h>

#include "copy_priv.h"

#define VERBS_PART_MAX (UINT64_C(1) << 30)
#define VERBS_RD_ATOMIC 16
#define REAP_BURST 32
#define ASYNC_CHECK_NS 1000000u
#define LINK_VERSION 1

enum { LINK_FREE = 0, LINK_OFFERED, LINK_READY, LINK_BROKEN };
enum { MSG_OFFER = 1, MSG_ANSWER = 2 };

struct verbs_link {
	struct ibv_qp *qp;
	uint32_t out;       /* work requests outstanding */
	uint32_t peer_tag;
	uint32_t peer_qpn;
	uint32_t psn;       /* our initial send PSN */
	uint8_t state;
	union ibv_gid peer_gid;
};

struct verbs_priv {
	const struct scpp_copy_verbs_ops *ops;
	struct ibv_cq *cq;
	uint32_t out;       /* parts outstanding, all links */
	uint32_t out_max;   /* CQ entries */
	uint32_t qp_wr;     /* send queue depth per link */
	bool dead;
	uint64_t next_async;
	/* below: control path only */
	struct ibv_device **list;
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct verbs_link *links;
	uint32_t n_links;
	uint8_t port;
	int gid_index;
	union ibv_gid gid;
	uint16_t lid;
	uint8_t mtu;
	uint8_t rd_atomic;
};

/* The decoded form of a 64-byte link message (docs/COPY.md). */
struct link_msg {
	uint8_t type;
	uint8_t port;
	uint8_t mtu;
	uint32_t tag;
	uint32_t peer_tag;
	uint32_t qpn;
	uint32_t peer_qpn;
	uint32_t psn;
	uint16_t lid;
	union ibv_gid gid;
};

static const uint8_t link_magic[4] = {'S', 'C', 'L', 'K'};

static void
link_encode(const struct link_msg *m, uint8_t *out)
{
	memset(out, 0, SCPP_COPY_LINK_LEN);
	memcpy(out, link_magic, sizeof(link_magic));
	out[4] = LINK_VERSION;
	out[5] = m->type;
	out[6] = m->port;
	out[7] = m->mtu;
	copy_put_le(out + 8, m->tag, 4);
	copy_put_le(out + 12, m->peer_tag, 4);
	copy_put_le(out + 16, m->qpn, 4);
	copy_put_le(out + 20, m->peer_qpn, 4);
	copy_put_le(out + 24, m->psn, 4);
	copy_put_le(out + 28, m->lid, 2);
	memcpy(out + 32, m->gid.raw, 16);
}

static int
link_decode(const uint8_t *in, uint8_t type, struct link_msg *m)
{
	if (memcmp(in, link_magic, sizeof(link_magic)) != 0 || in[4] != LINK_VERSION ||
	    in[5] != type)
		return -EPROTO;
	if (in[7] < IBV_MTU_256 || in[7] > IBV_MTU_4096)
		return -EPROTO;
	if (copy_get_le(in + 30, 2) != 0)
		return -EPROTO;
	for (unsigned int i = 48; i < SCPP_COPY_LINK_LEN; i++)
		if (in[i] != 0)
			return -EPROTO;
	m->type = in[5];
	m->port = in[6];
	m->mtu = in[7];
	m->tag = (uint32_t)copy_get_le(in + 8, 4);
	m->peer_tag = (uint32_t)copy_get_le(in + 12, 4);
	m->qpn = (uint32_t)copy_get_le(in + 16, 4);
	m->peer_qpn = (uint32_t)copy_get_le(in + 20, 4);
	m->psn = (uint32_t)copy_get_le(in + 24, 4);
	m->lid = (uint16_t)copy_get_le(in + 28, 2);
	memcpy(m->gid.raw, in + 32, 16);
	/* QP numbers and PSNs are 24-bit quantities. */
	if (m->tag == 0 || m->qpn > 0xffffff || m->psn > 0xffffff || m->peer_qpn > 0xffffff)
		return -EPROTO;
	if (type == MSG_OFFER && (m->peer_tag != 0 || m->peer_qpn != 0))
		return -EPROTO;
	return 0;
}

static const struct scpp_copy_verbs_ops *
ops_of(const struct scpp_copy_config *cfg)
{
	return cfg->verbs.ops != NULL ? cfg->verbs.ops : &scpp_copy_verbs_ops_rdma_core;
}

/* Find the device of @cfg in @list; NULL with why filled. */
static struct ibv_device *
pick_device(const struct scpp_copy_verbs_ops *ops, struct ibv_device **list, int num,
	    const struct scpp_copy_config *cfg, char *why, size_t why_len)
{
	if (cfg->verbs.device == NULL)
		return list[0];
	for (int i = 0; i < num; i++)
		if (strcmp(ops->get_device_name(list[i]), cfg->verbs.device) == 0)
			return list[i];
	snprintf(why, why_len, "verbs: no RDMA device named \"%s\" (%d devices)",
		 cfg->verbs.device, num);
	return NULL;
}

/*
 * The device list, or NULL with why filled and -ENODEV. A host without
 * RDMA (ibv_get_device_list: NULL with ENOSYS, or an empty list) is told
 * once per process in the log: the engine is then simply not offered.
 */
static struct ibv_device **
device_list(const struct scpp_copy_verbs_ops *ops, int *num, char *why, size_t why_len)
{
	static bool told;
	struct ibv_device **list;
	int n = 0;

	errno = 0;
	list = ops->get_device_list(&n);
	if (list != NULL && n > 0) {
		*num = n;
		return list;
	}
	if (list == NULL)
		snprintf(why, why_len, "verbs: no RDMA device (ibv_get_device_list: %s); "
			 "the verbs engine is not offered", strerror(errno != 0 ? errno : ENODEV));
	else
		snprintf(why, why_len, "verbs: no RDMA device (an empty device list); "
			 "the verbs engine is not offered");
	if (list != NULL)
		ops->free_device_list(list);
	if (!__atomic_exchange_n(&told, true, __ATOMIC_RELAXED))
		COPY_LOG(NOTICE, "%s", why);
	return NULL;
}

static int
verbs_probe(const struct scpp_copy_config *cfg, char *why, size_t why_len)
{
	const struct scpp_copy_verbs_ops *ops = ops_of(cfg);
	struct ibv_device **list;
	int num = 0, rc = 0;

	list = device_list(ops, &num, why, why_len);
	if (list == NULL)
		return -ENODEV;
	if (pick_device(ops, list, num, cfg, why, why_len) == NULL)
		rc = -ENODEV;
	ops->free_device_list(list);
	return rc;
}

static void
release(struct scpp_copy *c, struct verbs_priv *p)
{
	const struct scpp_copy_verbs_ops *ops = p->ops;

	for (uint32_t i = 0; i < p->n_links; i++)
		if (p->links[i].qp != NULL)
			ops->destroy_qp(p->links[i].qp);
	if (p->cq != NULL)
		ops->destroy_cq(p->cq);
	if (p->pd != NULL)
		ops->dealloc_pd(p->pd);
	if (p->ctx != NULL)
		ops->close_device(p->ctx);
	if (p->list != NULL)
		ops->free_device_list(p->list);
	copy_free_mem(c, p->links, (size_t)p->n_links * sizeof(*p->links));
	copy_free_mem(c, p, sizeof(*p));
}

static int
verbs_init(struct scpp_copy *c, const struct scpp_copy_config *cfg)
{
	const struct scpp_copy_verbs_ops *ops = ops_of(cfg);
	struct ibv_device_attr dattr;
	struct ibv_port_attr pattr;
	struct ibv_device *dev;
	struct verbs_priv *p;
	char why[200];
	int num = 0;

	p = copy_zalloc(c, sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	p->ops = ops;
	p->port = cfg->verbs.port;
	p->gid_index = cfg->verbs.gid_index;
	p->n_links = cfg->max_remotes;
	p->links = p->n_links == 0 ? NULL : copy_zalloc(c, (size_t)p->n_links * sizeof(*p->links));
	if (p->n_links != 0 && p->links == NULL) {
		copy_free_mem(c, p, sizeof(*p));
		return -ENOMEM;
	}
	p->list = device_list(ops, &num, why, sizeof(why));
	if (p->list == NULL) {
		release(c, p);
		return -ENODEV;
	}
	dev = pick_device(ops, p->list, num, cfg, why, sizeof(why));
	if (dev == NULL) {
		COPY_LOG(ERR, "%s", why);
		release(c, p);
		return -ENODEV;
	}
	copy_strlcpy(c->caps.provider, ops->get_device_name(dev), sizeof(c->caps.provider));
	p->ctx = ops->open_device(dev);
	if (p->ctx == NULL || ops->query_device(p->ctx, &dattr) != 0 ||
	    ops->query_port(p->ctx, p->port, &pattr) != 0) {
		COPY_LOG(ERR, "%s: device %s: cannot open or query port %u", c->name,
			 c->caps.provider, p->port);
		release(c, p);
		return -EIO;
	}
	if (pattr.state != IBV_PORT_ACTIVE) {
		COPY_LOG(ERR, "%s: device %s: port %u is not active", c->name, c->caps.provider,
			 p->port);
		release(c, p);
		return -ENODEV;
	}
	if (p->gid_index >= 0 && ops->query_gid(p->ctx, p->port, p->gid_index, &p->gid) != 0) {
		COPY_LOG(ERR, "%s: device %s: no GID %d on port %u", c->name, c->caps.provider,
			 p->gid_index, p->port);
		release(c, p);
		return -EIO;
	}
	p->lid = pattr.lid;
	p->mtu = (uint8_t)pattr.active_mtu;
	p->rd_atomic = (uint8_t)RTE_MIN(VERBS_RD_ATOMIC, RTE_MAX(dattr.max_qp_rd_atom, 1));
	p->out_max = (uint32_t)RTE_MIN((int64_t)(c->mask + 1) * 2, (int64_t)dattr.max_cqe);
	p->qp_wr = (uint32_t)RTE_MIN((int64_t)p->out_max, (int64_t)dattr.max_qp_wr);
	p->pd = ops->alloc_pd(p->ctx);
	p->cq = p->pd == NULL ? NULL : ops->create_cq(p->ctx, (int)p->out_max);
	if (p->pd == NULL || p->cq == NULL || p->out_max == 0 || p->qp_wr == 0) {
		COPY_LOG(ERR, "%s: device %s: cannot allocate a PD or a CQ of %u", c->name,
			 c->caps.provider, p->out_max);
		release(c, p);
		return -EIO;
	}
	c->priv = p;
	c->caps.flags = SCPP_COPY_CAP_WRITE | SCPP_COPY_CAP_READ | SCPP_COPY_CAP_OFFLOAD |
			SCPP_COPY_CAP_NEED_REG | SCPP_COPY_CAP_WINDOWS | SCPP_COPY_CAP_LINKS;
	c->part_max = RTE_MIN(VERBS_PART_MAX, (uint64_t)pattr.max_msg_sz);
	if (c->part_max == 0)
		c->part_max = VERBS_PART_MAX;
	return 0;
}

static void
verbs_quiesce(struct scpp_copy *c)
{
	struct verbs_priv *p = c->priv;

	/* Destroying a queue pair ends its work requests: afterwards the
	 * device touches none of our buffers. */
	for (uint32_t i = 0; i < p->n_links; i++)
		if (p->links[i].qp != NULL) {
			p->ops->destroy_qp(p->links[i].qp);
			p->links[i].qp = NULL;
		}
	p->out = 0;
	copy_abandon_parts(c, -ECANCELED);
}

static void
verbs_fini(struct scpp_copy *c)
{
	release(c, c->priv);
	c->priv = NULL;
}

static int
verbs_reg(struct scpp_copy *c, struct scpp_copy_region *r)
{
	struct verbs_priv *p = c->priv;
	int access = IBV_ACCESS_LOCAL_WRITE;
	struct ibv_mr *mr;

	if (p->dead)
		return -ENODEV;
	if (r->access & SCPP_COPY_ACCESS_REMOTE_READ)
		access |= IBV_ACCESS_REMOTE_READ;
	if (r->access & SCPP_COPY_ACCESS_REMOTE_WRITE)
		access |= IBV_ACCESS_REMOTE_WRITE;
	errno = 0;
	mr = p->ops->reg_mr(p->pd, r->base, r->len, access);
	if (mr == NULL) {
		COPY_LOG(ERR, "%s: registering %zu bytes at %p failed: %s", c->name, r->len,
			 (void *)r->base, strerror(errno != 0 ? errno : EIO));
		return errno == ENOMEM ? -ENOMEM : -EIO;
	}
	r->eng = mr;
	r->key = mr->rkey;
	r->tbase = (uint64_t)(uintptr_t)r->base;
	return 0;
}

static void
verbs_dereg(struct scpp_copy *c, struct scpp_copy_region *r)
{
	struct verbs_priv *p = c->priv;

	if (r->eng != NULL)
		p->ops->dereg_mr(r->eng);
	r->eng = NULL;
}

/* Window addr: GID (16), LID (2, little-endian), port (1). */
#define VERBS_ADDR_LEN 19

static int
verbs_window(struct scpp_copy *c, const struct scpp_copy_region *r, struct scpp_copy_window *w)
{
	struct verbs_priv *p = c->priv;

	(void)r;
	w->engine = SCPP_COPY_WINDOW_VERBS;
	copy_strlcpy(w->provider, "verbs", sizeof(w->provider));
	w->addr_len = VERBS_ADDR_LEN;
	memcpy(w->addr, p->gid.raw, 16);
	copy_put_le(w->addr + 16, p->lid, 2);
	w->addr[18] = p->port;
	return 0;
}

static struct verbs_link *
link_by_tag(struct verbs_priv *p, uint32_t tag, uint8_t state)
{
	for (uint32_t i = 0; i < p->n_links; i++)
		if (p->links[i].state == state && p->links[i].peer_tag == tag)
			return &p->links[i];
	return NULL;
}

static int
verbs_attach(struct scpp_copy *c, struct scpp_copy_remote *rw)
{
	struct verbs_priv *p = c->priv;
	struct verbs_link *l;

	if (rw->w.engine != SCPP_COPY_WINDOW_VERBS || strcmp(rw->w.provider, "verbs") != 0 ||
	    rw->w.addr_len != VERBS_ADDR_LEN)
		return -EPROTOTYPE;
	l = link_by_tag(p, rw->w.tag, LINK_READY);
	if (l == NULL || memcmp(l->peer_gid.raw, rw->w.addr, 16) != 0)
		return -ENOTCONN;
	rw->eng = l;
	rw->peer = (uint64_t)(l - p->links);
	return 0;
}

static struct verbs_link *
link_alloc(struct verbs_priv *p)
{
	for (uint32_t i = 0; i < p->n_links; i++)
		if (p->links[i].state == LINK_FREE && p->links[i].qp == NULL)
			return &p->links[i];
	return NULL;
}

/* Create an RC queue pair for @l and take it to INIT. */
static int
qp_create(struct scpp_copy *c, struct verbs_link *l)
{
	struct verbs_priv *p = c->priv;
	struct ibv_qp_init_attr ia;
	struct ibv_qp_attr a;

	memset(&ia, 0, sizeof(ia));
	ia.send_cq = p->cq;
	ia.recv_cq = p->cq;
	ia.cap.max_send_wr = p->qp_wr;
	ia.cap.max_recv_wr = 1;
	ia.cap.max_send_sge = 1;
	ia.cap.max_recv_sge = 1;
	ia.qp_type = IBV_QPT_RC;
	ia.sq_sig_all = 1;
	l->qp = p->ops->create_qp(p->pd, &ia);
	if (l->qp == NULL)
		return -EIO;
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_INIT;
	a.pkey_index = 0;
	a.port_num = p->port;
	a.qp_access_flags = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ |
			    IBV_ACCESS_REMOTE_WRITE;
	if (p->ops->modify_qp(l->qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
				  IBV_QP_ACCESS_FLAGS) != 0) {
		p->ops->destroy_qp(l->qp);
		l->qp = NULL;
		return -EIO;
	}
	l->psn = copy_random32() & 0xffffff;
	return 0;
}

/* INIT -> RTR -> RTS towards the peer described by @m. */
static int
qp_connect(struct scpp_copy *c, struct verbs_link *l, const struct link_msg *m)
{
	struct verbs_priv *p = c->priv;
	struct ibv_qp_attr a;

	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = (enum ibv_mtu)RTE_MIN(p->mtu, m->mtu);
	a.dest_qp_num = m->qpn;
	a.rq_psn = m->psn;
	a.max_dest_rd_atomic = p->rd_atomic;
	a.min_rnr_timer = 12;
	a.ah_attr.dlid = m->lid;
	a.ah_attr.port_num = p->port;
	if (p->gid_index >= 0) {
		a.ah_attr.is_global = 1;
		a.ah_attr.grh.dgid = m->gid;
		a.ah_attr.grh.sgid_index = (uint8_t)p->gid_index;
		a.ah_attr.grh.hop_limit = 1;
	}
	if (p->ops->modify_qp(l->qp, &a, IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
				  IBV_QP_DEST_QPN | IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC |
				  IBV_QP_MIN_RNR_TIMER) != 0)
		return -EIO;
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTS;
	a.timeout = 14;
	a.retry_cnt = 7;
	a.rnr_retry = 7;
	a.sq_psn = l->psn;
	a.max_rd_atomic = p->rd_atomic;
	if (p->ops->modify_qp(l->qp, &a, IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT |
				  IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC) != 0)
		return -EIO;
	l->peer_tag = m->tag;
	l->peer_qpn = m->qpn;
	l->peer_gid = m->gid;
	l->state = LINK_READY;
	return 0;
}

/* A link (ready or broken) to the instance tagged @tag, other than @skip. */
static struct verbs_link *
link_to(struct verbs_priv *p, uint32_t tag, const struct verbs_link *skip)
{
	for (uint32_t i = 0; i < p->n_links; i++) {
		struct verbs_link *l = &p->links[i];

		if (l != skip && l->peer_tag == tag &&
		    (l->state == LINK_READY || l->state == LINK_BROKEN))
			return l;
	}
	return NULL;
}

/*
 * Retire @l's queue pair: the peer linked again, so the old pair is stale.
 * Its work requests end with it (the device forgets them), so their parts
 * fail here with -ECONNRESET. Attachments keep pointing at @l, which the
 * caller gives a new queue pair.
 */
static void
link_retire_qp(struct scpp_copy *c, struct verbs_link *l)
{
	struct verbs_priv *p = c->priv;

	if (l->qp != NULL)
		p->ops->destroy_qp(l->qp);
	l->qp = NULL;
	for (uint32_t i = c->reclaim; i != c->head; i++) {
		struct copy_slot *s = copy_slot_at(c, i);

		while (s->parts_out > 0 && s->rw != NULL && s->rw->eng == l) {
			p->out--;
			copy_part_done(c, s, -ECONNRESET);
		}
	}
	l->out = 0;
}

static void
link_drop(struct verbs_priv *p, struct verbs_link *l)
{
	if (l->qp != NULL)
		p->ops->destroy_qp(l->qp);
	memset(l, 0, sizeof(*l));
}

static void
msg_self(struct scpp_copy *c, const struct verbs_link *l, uint8_t type, struct link_msg *m)
{
	struct verbs_priv *p = c->priv;

	memset(m, 0, sizeof(*m));
	m->type = type;
	m->port = p->port;
	m->mtu = p->mtu;
	m->tag = c->tag;
	m->qpn = l->qp->qp_num;
	m->psn = l->psn;
	m->lid = p->lid;
	m->gid = p->gid;
}

static int
verbs_link_offer(struct scpp_copy *c, uint8_t *offer)
{
	struct verbs_priv *p = c->priv;
	struct verbs_link *l;
	struct link_msg m;
	int rc;

	if (p->dead)
		return -ENODEV;
	l = link_alloc(p);
	if (l == NULL)
		return -ENOSPC;
	rc = qp_create(c, l);
	if (rc != 0)
		return rc;
	l->state = LINK_OFFERED;
	msg_self(c, l, MSG_OFFER, &m);
	link_encode(&m, offer);
	return 0;
}

static int
verbs_link_accept(struct scpp_copy *c, const uint8_t *offer, uint8_t *answer)
{
	struct verbs_priv *p = c->priv;
	struct link_msg in, out;
	struct verbs_link *l;
	int rc;

	if (p->dead)
		return -ENODEV;
	rc = link_decode(offer, MSG_OFFER, &in);
	if (rc != 0)
		return rc;
	if (in.tag == c->tag)
		return -EPROTO;
	l = link_to(p, in.tag, NULL);
	if (l != NULL && l->peer_qpn == in.qpn)
		return -EALREADY; /* this very offer was accepted already */
	if (l != NULL) {
		/* The peer links again (it restarted, or its side broke):
		 * the same link gets a new queue pair. */
		link_retire_qp(c, l);
		memset(&l->peer_gid, 0, sizeof(l->peer_gid));
		l->state = LINK_FREE;
	} else {
		l = link_alloc(p);
		if (l == NULL)
			return -ENOSPC;
	}
	rc = qp_create(c, l);
	if (rc == 0)
		rc = qp_connect(c, l, &in);
	if (rc != 0) {
		link_drop(p, l);
		return rc;
	}
	msg_self(c, l, MSG_ANSWER, &out);
	out.peer_tag = in.tag;
	out.peer_qpn = in.qpn;
	link_encode(&out, answer);
	return 0;
}

static int
verbs_link_finish(struct scpp_copy *c, const uint8_t *answer)
{
	struct verbs_priv *p = c->priv;
	struct verbs_link *l = NULL, *old;
	struct link_msg in;
	int rc;

	if (p->dead)
		return -ENODEV;
	rc = link_decode(answer, MSG_ANSWER, &in);
	if (rc != 0)
		return rc;
	if (in.peer_tag != c->tag)
		return -EPROTO;
	for (uint32_t i = 0; i < p->n_links; i++)
		if (p->links[i].state == LINK_OFFERED && p->links[i].qp->qp_num == in.peer_qpn)
			l = &p->links[i];
	if (l == NULL)
		return -ENOENT;
	old = link_to(p, in.tag, l);
	if (old != NULL) {
		/* Linking again: the new queue pair moves into the old link,
		 * which attachments point at. */
		link_retire_qp(c, old);
		old->qp = l->qp;
		old->psn = l->psn;
		memset(l, 0, sizeof(*l));
		l = old;
	}
	rc = qp_connect(c, l, &in);
	if (rc != 0) {
		link_drop(p, l);
		l->state = LINK_FREE;
	}
	return rc;
}

static int
verbs_post(struct scpp_copy *c, struct copy_slot *s)
{
	struct verbs_priv *p = c->priv;
	struct verbs_link *l = s->rw->eng;

	if (SCPP_UNLIKELY(p->dead))
		return -ENODEV;
	while (s->posted < s->len) {
		uint64_t part = RTE_MIN(s->len - s->posted, c->part_max);
		const struct ibv_mr *mr;
		struct ibv_send_wr wr, *bad = NULL;
		struct ibv_sge sge;
		int rc;

		if (SCPP_UNLIKELY(l->state != LINK_READY))
			return l->state == LINK_BROKEN ? -ECONNRESET : -ENOTCONN;
		if (p->out >= p->out_max || l->out >= p->qp_wr)
			return -EAGAIN;
		memset(&wr, 0, sizeof(wr));
		if (s->kind == SCPP_COPY_WRITE) {
			mr = s->sreg->eng;
			sge.addr = (uint64_t)(uintptr_t)(s->src + s->posted);
			wr.opcode = IBV_WR_RDMA_WRITE;
		} else {
			mr = s->dreg->eng;
			sge.addr = (uint64_t)(uintptr_t)(s->dst + s->posted);
			wr.opcode = IBV_WR_RDMA_READ;
		}
		sge.length = (uint32_t)part;
		sge.lkey = mr->lkey;
		wr.wr_id = (uint64_t)(uintptr_t)s;
		wr.sg_list = &sge;
		wr.num_sge = 1;
		wr.send_flags = IBV_SEND_SIGNALED;
		wr.wr.rdma.remote_addr = s->raddr + s->posted;
		wr.wr.rdma.rkey = (uint32_t)s->rw->w.key;
		rc = p->ops->post_send(l->qp, &wr, &bad);
		if (rc == ENOMEM)
			return -EAGAIN;
		if (SCPP_UNLIKELY(rc != 0))
			return -EIO;
		s->posted += part;
		s->parts_out++;
		l->out++;
		p->out++;
		scpp_counter_add(&c->st.parts, 1);
	}
	return 0;
}

static int
wc_errno(enum ibv_wc_status st)
{
	switch (st) {
	case IBV_WC_SUCCESS:
		return 0;
	case IBV_WC_REM_ACCESS_ERR:
	case IBV_WC_REM_INV_REQ_ERR:
		return -EACCES;
	case IBV_WC_LOC_PROT_ERR:
	case IBV_WC_LOC_ACCESS_ERR:
	case IBV_WC_LOC_LEN_ERR:
		return -EFAULT;
	case IBV_WC_RETRY_EXC_ERR:
	case IBV_WC_RNR_RETRY_EXC_ERR:
		return -EHOSTUNREACH;
	case IBV_WC_WR_FLUSH_ERR:
		return -ECANCELED;
	case IBV_WC_FATAL_ERR:
		return -ENODEV;
	default:
		return -EIO;
	}
}

static void
device_lost(struct scpp_copy *c, struct verbs_priv *p)
{
	p->dead = true;
	for (uint32_t i = 0; i < p->n_links; i++)
		p->links[i].out = 0;
	p->out = 0;
	copy_abandon_parts(c, -ENODEV);
}

/* Fatal async events: the device is gone; per-QP ones break that link. */
static void
check_async(struct scpp_copy *c, struct verbs_priv *p)
{
	struct ibv_async_event ev;

	while (p->ops->get_async_event(p->ctx, &ev) == 0) {
		enum ibv_event_type t = ev.event_type;
		struct ibv_qp *qp = ev.element.qp;

		p->ops->ack_async_event(&ev);
		if (t == IBV_EVENT_DEVICE_FATAL) {
			device_lost(c, p);
			return;
		}
		if (t == IBV_EVENT_QP_FATAL || t == IBV_EVENT_QP_REQ_ERR ||
		    t == IBV_EVENT_QP_ACCESS_ERR)
			for (uint32_t i = 0; i < p->n_links; i++)
				if (p->links[i].qp == qp && p->links[i].state == LINK_READY)
					p->links[i].state = LINK_BROKEN;
	}
}

static void
verbs_reap(struct scpp_copy *c)
{
	struct verbs_priv *p = c->priv;
	struct ibv_wc wc[REAP_BURST];
	int n, got = 0;

	if (p->out == 0 || p->dead)
		return;
	do {
		n = p->ops->poll_cq(p->cq, REAP_BURST, wc);
		if (SCPP_UNLIKELY(n < 0)) {
			device_lost(c, p);
			return;
		}
		for (int i = 0; i < n; i++) {
			struct copy_slot *s = (struct copy_slot *)(uintptr_t)wc[i].wr_id;
			struct verbs_link *l = s->rw->eng;
			int st = wc_errno(wc[i].status);

			/* An error other than a flush moves the RC queue pair
			 * to the error state: everything behind it flushes. */
			if (st != 0 && l->state == LINK_READY)
				l->state = LINK_BROKEN;
			l->out--;
			p->out--;
			copy_part_done(c, s, st);
		}
		got += n;
	} while (n == REAP_BURST);
	if (got == 0 && p->out > 0) {
		/* Work outstanding and a quiet CQ: at most once a millisecond,
		 * ask whether the device is still there. */
		uint64_t now = c->clock(c->clock_ctx);

		if (now >= p->next_async) {
			p->next_async = now + ASYNC_CHECK_NS;
			check_async(c, p);
		}
	}
}

const struct copy_engine copy_engine_verbs = {
	.name = "verbs",
	.probe = verbs_probe,
	.init = verbs_init,
	.quiesce = verbs_quiesce,
	.fini = verbs_fini,
	.reg = verbs_reg,
	.dereg = verbs_dereg,
	.window = verbs_window,
	.attach = verbs_attach,
	.link_offer = verbs_link_offer,
	.link_accept = verbs_link_accept,
	.link_finish = verbs_link_finish,
	.post = verbs_post,
	.reap = verbs_reap,
};
