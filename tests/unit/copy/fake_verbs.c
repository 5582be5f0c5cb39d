/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The fake RDMA device of fake_verbs.h. Objects live in small static pools;
 * every handle the engine gets is the address of a real libibverbs struct
 * embedded first in a fake one, so the engine sees the fields it reads
 * (qp_num, lkey, rkey) exactly as with rdma-core.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "fake_verbs.h"

#define POOL 64
#define PENDING_MAX 16384
#define CQ_MAX 16384

struct fake_verbs_ctl fake_verbs;

struct fmr {
	struct ibv_mr mr;
	int access;
	bool live;
};

struct fcq {
	struct ibv_cq cq;
	struct ibv_wc q[CQ_MAX];
	unsigned int head, tail;
	bool live;
};

struct fqp {
	struct ibv_qp qp;
	enum ibv_qp_state st;
	uint32_t dest;
	struct fcq *cq;
	bool live;
};

struct fwr {
	struct fqp *qp;
	struct ibv_send_wr wr;
	struct ibv_sge sge;
};

static struct ibv_device dev;
static struct ibv_device *dev_list[2];
static struct ibv_context ctxs[4];
static bool ctx_live[4];
static struct ibv_pd pds[8];
static bool pd_live[8];
static struct fmr mrs[POOL];
static struct fcq cqs[4];
static struct fqp qps[POOL];
static struct fwr pending[PENDING_MAX];
static unsigned int p_head, p_tail;
static uint32_t next_qpn, next_key;
static bool fatal_pending;

void
fake_verbs_reset(void)
{
	memset(&fake_verbs, 0, sizeof(fake_verbs));
	memset(ctx_live, 0, sizeof(ctx_live));
	memset(pd_live, 0, sizeof(pd_live));
	memset(mrs, 0, sizeof(mrs));
	for (unsigned int i = 0; i < SCPP_ARRAY_SIZE(cqs); i++)
		cqs[i].live = false, cqs[i].head = cqs[i].tail = 0;
	memset(qps, 0, sizeof(qps));
	p_head = p_tail = 0;
	next_qpn = 0x100;
	next_key = 0x5000;
	fatal_pending = false;
}

unsigned int
fake_verbs_pending(void)
{
	return p_tail - p_head;
}

static struct ibv_device **
f_get_device_list(int *num)
{
	if (fake_verbs.no_device) {
		errno = ENOSYS;
		return NULL;
	}
	strcpy(dev.name, "fake0");
	dev_list[0] = &dev;
	dev_list[1] = NULL;
	*num = 1;
	return dev_list;
}

static void
f_free_device_list(struct ibv_device **list)
{
	(void)list;
}

static const char *
f_get_device_name(struct ibv_device *d)
{
	return d->name;
}

static struct ibv_context *
f_open_device(struct ibv_device *d)
{
	for (unsigned int i = 0; i < SCPP_ARRAY_SIZE(ctxs); i++)
		if (!ctx_live[i]) {
			ctx_live[i] = true;
			memset(&ctxs[i], 0, sizeof(ctxs[i]));
			ctxs[i].device = d;
			return &ctxs[i];
		}
	return NULL;
}

static int
f_close_device(struct ibv_context *ctx)
{
	ctx_live[ctx - ctxs] = false;
	return 0;
}

static int
f_query_device(struct ibv_context *ctx, struct ibv_device_attr *a)
{
	(void)ctx;
	memset(a, 0, sizeof(*a));
	a->max_qp_wr = 1024;
	a->max_cqe = CQ_MAX;
	a->max_qp_rd_atom = 16;
	a->max_mr_size = UINT64_MAX;
	return 0;
}

static int
f_query_port(struct ibv_context *ctx, uint8_t port, struct ibv_port_attr *a)
{
	(void)ctx;
	if (port != 1)
		return EINVAL;
	memset(a, 0, sizeof(*a));
	a->state = IBV_PORT_ACTIVE;
	a->lid = 7;
	a->active_mtu = IBV_MTU_4096;
	a->max_mtu = IBV_MTU_4096;
	a->max_msg_sz = 1u << 31;
	return 0;
}

static int
f_query_gid(struct ibv_context *ctx, uint8_t port, int index, union ibv_gid *gid)
{
	(void)ctx;
	(void)port;
	memset(gid, 0, sizeof(*gid));
	gid->raw[0] = 0xfe;
	gid->raw[1] = 0x80;
	gid->raw[15] = (uint8_t)index;
	return 0;
}

static struct ibv_pd *
f_alloc_pd(struct ibv_context *ctx)
{
	for (unsigned int i = 0; i < SCPP_ARRAY_SIZE(pds); i++)
		if (!pd_live[i]) {
			pd_live[i] = true;
			pds[i].context = ctx;
			pds[i].handle = i;
			return &pds[i];
		}
	return NULL;
}

static int
f_dealloc_pd(struct ibv_pd *pd)
{
	pd_live[pd - pds] = false;
	return 0;
}

static struct ibv_mr *
f_reg_mr(struct ibv_pd *pd, void *addr, size_t len, int access)
{
	for (unsigned int i = 0; i < POOL; i++)
		if (!mrs[i].live) {
			memset(&mrs[i], 0, sizeof(mrs[i]));
			mrs[i].live = true;
			mrs[i].access = access;
			mrs[i].mr.pd = pd;
			mrs[i].mr.context = pd->context;
			mrs[i].mr.addr = addr;
			mrs[i].mr.length = len;
			mrs[i].mr.lkey = next_key++;
			mrs[i].mr.rkey = next_key++;
			fake_verbs.mrs_live++;
			return &mrs[i].mr;
		}
	errno = ENOMEM;
	return NULL;
}

static int
f_dereg_mr(struct ibv_mr *mr)
{
	struct fmr *m = (struct fmr *)mr;

	m->live = false;
	fake_verbs.mrs_live--;
	return 0;
}

static struct ibv_cq *
f_create_cq(struct ibv_context *ctx, int cqe)
{
	if (cqe <= 0 || cqe > CQ_MAX)
		return NULL;
	for (unsigned int i = 0; i < SCPP_ARRAY_SIZE(cqs); i++)
		if (!cqs[i].live) {
			cqs[i].live = true;
			cqs[i].head = cqs[i].tail = 0;
			cqs[i].cq.context = ctx;
			cqs[i].cq.cqe = cqe;
			return &cqs[i].cq;
		}
	return NULL;
}

static int
f_destroy_cq(struct ibv_cq *cq)
{
	((struct fcq *)cq)->live = false;
	return 0;
}

static struct ibv_qp *
f_create_qp(struct ibv_pd *pd, struct ibv_qp_init_attr *ia)
{
	if (ia->qp_type != IBV_QPT_RC || ia->send_cq == NULL)
		return NULL;
	for (unsigned int i = 0; i < POOL; i++)
		if (!qps[i].live) {
			memset(&qps[i], 0, sizeof(qps[i]));
			qps[i].live = true;
			qps[i].st = IBV_QPS_RESET;
			qps[i].cq = (struct fcq *)ia->send_cq;
			qps[i].qp.pd = pd;
			qps[i].qp.context = pd->context;
			qps[i].qp.qp_num = next_qpn++;
			qps[i].qp.qp_type = IBV_QPT_RC;
			fake_verbs.qps_live++;
			return &qps[i].qp;
		}
	return NULL;
}

static int
f_destroy_qp(struct ibv_qp *qp)
{
	struct fqp *q = (struct fqp *)qp;

	/* Work requests of a destroyed QP never execute. */
	for (unsigned int i = p_head; i != p_tail; i++)
		if (pending[i % PENDING_MAX].qp == q)
			pending[i % PENDING_MAX].qp = NULL;
	q->live = false;
	fake_verbs.qps_live--;
	return 0;
}

static int
f_modify_qp(struct ibv_qp *qp, struct ibv_qp_attr *a, int mask)
{
	struct fqp *q = (struct fqp *)qp;
	const int init = IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS;
	const int rtr = IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
			IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER;
	const int rts = IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
			IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC;

	/* The transitions and required attribute masks of the IB spec. */
	if (q->st == IBV_QPS_RESET && a->qp_state == IBV_QPS_INIT && (mask & init) == init &&
	    a->port_num == 1)
		q->st = IBV_QPS_INIT;
	else if (q->st == IBV_QPS_INIT && a->qp_state == IBV_QPS_RTR && (mask & rtr) == rtr &&
		 a->path_mtu >= IBV_MTU_256 && a->ah_attr.port_num == 1)
		q->dest = a->dest_qp_num, q->st = IBV_QPS_RTR;
	else if (q->st == IBV_QPS_RTR && a->qp_state == IBV_QPS_RTS && (mask & rts) == rts)
		q->st = IBV_QPS_RTS;
	else
		return EINVAL;
	return 0;
}

static int
f_post_send(struct ibv_qp *qp, struct ibv_send_wr *wr, struct ibv_send_wr **bad)
{
	struct fqp *q = (struct fqp *)qp;

	fake_verbs.posts++;
	if (fake_verbs.post_fail_count > 0) {
		fake_verbs.post_fail_count--;
		*bad = wr;
		return fake_verbs.post_errno;
	}
	if (fake_verbs.lost) {
		*bad = wr;
		return EIO;
	}
	for (; wr != NULL; wr = wr->next) {
		struct fwr *f;

		if ((q->st != IBV_QPS_RTS && q->st != IBV_QPS_ERR) || wr->num_sge != 1 ||
		    p_tail - p_head == PENDING_MAX) {
			*bad = wr;
			return EINVAL;
		}
		f = &pending[p_tail++ % PENDING_MAX];
		f->qp = q;
		f->wr = *wr;
		f->sge = wr->sg_list[0];
		f->wr.sg_list = &f->sge;
		f->wr.next = NULL;
	}
	return 0;
}

static struct fmr *
mr_find(struct ibv_pd *pd, bool by_rkey, uint32_t key, uint64_t addr, uint64_t len, int need)
{
	for (unsigned int i = 0; i < POOL; i++) {
		struct fmr *m = &mrs[i];
		uint64_t base = (uint64_t)(uintptr_t)m->mr.addr;

		if (!m->live || m->mr.pd != pd || (by_rkey ? m->mr.rkey : m->mr.lkey) != key)
			continue;
		if (addr < base || len > m->mr.length || addr - base > m->mr.length - len)
			return NULL;
		return (m->access & need) == need ? m : NULL;
	}
	return NULL;
}

static struct fqp *
qp_by_num(uint32_t n)
{
	for (unsigned int i = 0; i < POOL; i++)
		if (qps[i].live && qps[i].qp.qp_num == n)
			return &qps[i];
	return NULL;
}

/* Execute one work request the way an HCA would. */
static void
execute(struct fwr *f)
{
	struct fqp *q = f->qp, *peer;
	struct ibv_wc *wc;
	bool write = f->wr.opcode == IBV_WR_RDMA_WRITE;
	enum ibv_wc_status st = IBV_WC_SUCCESS;

	if (q == NULL || !q->live)
		return;
	if (q->st == IBV_QPS_ERR) {
		st = IBV_WC_WR_FLUSH_ERR;
		fake_verbs.flushed++;
	} else if (fake_verbs.fail_count > 0) {
		fake_verbs.fail_count--;
		st = fake_verbs.fail_status;
	} else if (mr_find(q->qp.pd, false, f->sge.lkey, f->sge.addr, f->sge.length,
			   write ? 0 : IBV_ACCESS_LOCAL_WRITE) == NULL) {
		st = IBV_WC_LOC_PROT_ERR;
	} else if ((peer = qp_by_num(q->dest)) == NULL || peer->st < IBV_QPS_RTR) {
		st = IBV_WC_RETRY_EXC_ERR;
	} else if (mr_find(peer->qp.pd, true, f->wr.wr.rdma.rkey, f->wr.wr.rdma.remote_addr,
			   f->sge.length,
			   write ? IBV_ACCESS_REMOTE_WRITE : IBV_ACCESS_REMOTE_READ) == NULL) {
		st = IBV_WC_REM_ACCESS_ERR;
	} else {
		void *local = (void *)(uintptr_t)f->sge.addr;
		void *remote = (void *)(uintptr_t)f->wr.wr.rdma.remote_addr;

		if (write)
			memcpy(remote, local, f->sge.length);
		else
			memcpy(local, remote, f->sge.length);
		fake_verbs.executed++;
	}
	if (st != IBV_WC_SUCCESS)
		q->st = IBV_QPS_ERR; /* an RC error stops the QP */
	SCPP_VERIFY(q->cq->tail - q->cq->head < CQ_MAX);
	wc = &q->cq->q[q->cq->tail++ % CQ_MAX];
	memset(wc, 0, sizeof(*wc));
	wc->wr_id = f->wr.wr_id;
	wc->status = st;
	wc->opcode = write ? IBV_WC_RDMA_WRITE : IBV_WC_RDMA_READ;
	wc->byte_len = f->sge.length;
	wc->qp_num = q->qp.qp_num;
}

static void
execute_all(void)
{
	if (fake_verbs.lost) {
		p_head = p_tail;
		return;
	}
	if (fake_verbs.reverse) {
		while (p_tail != p_head)
			execute(&pending[--p_tail % PENDING_MAX]);
	} else {
		while (p_head != p_tail)
			execute(&pending[p_head++ % PENDING_MAX]);
	}
	p_head = p_tail = 0;
}

void
fake_verbs_release(void)
{
	execute_all();
}

static int
f_poll_cq(struct ibv_cq *cq, int n, struct ibv_wc *wc)
{
	struct fcq *c = (struct fcq *)cq;
	int k = 0;

	if (fake_verbs.poll_fails)
		return -1;
	if (fake_verbs.lost)
		return 0;
	if (!fake_verbs.hold)
		execute_all();
	while (k < n && c->head != c->tail)
		wc[k++] = c->q[c->head++ % CQ_MAX];
	return k;
}

static int
f_get_async_event(struct ibv_context *ctx, struct ibv_async_event *ev)
{
	(void)ctx;
	if (fake_verbs.lost && !fatal_pending) {
		fatal_pending = true;
		memset(ev, 0, sizeof(*ev));
		ev->event_type = IBV_EVENT_DEVICE_FATAL;
		fake_verbs.async_events++;
		return 0;
	}
	errno = EAGAIN;
	return -1;
}

static void
f_ack_async_event(struct ibv_async_event *ev)
{
	(void)ev;
}

const struct scpp_copy_verbs_ops fake_verbs_ops = {
	.get_device_list = f_get_device_list,
	.free_device_list = f_free_device_list,
	.get_device_name = f_get_device_name,
	.open_device = f_open_device,
	.close_device = f_close_device,
	.query_device = f_query_device,
	.query_port = f_query_port,
	.query_gid = f_query_gid,
	.alloc_pd = f_alloc_pd,
	.dealloc_pd = f_dealloc_pd,
	.reg_mr = f_reg_mr,
	.dereg_mr = f_dereg_mr,
	.create_cq = f_create_cq,
	.destroy_cq = f_destroy_cq,
	.create_qp = f_create_qp,
	.destroy_qp = f_destroy_qp,
	.modify_qp = f_modify_qp,
	.post_send = f_post_send,
	.poll_cq = f_poll_cq,
	.get_async_event = f_get_async_event,
	.ack_async_event = f_ack_async_event,
};
