/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The verbs ops table that calls rdma-core. Several of these calls are
 * static inline functions or macros in <infiniband/verbs.h> (ibv_post_send,
 * ibv_poll_cq, ibv_query_port, ibv_reg_mr), so each gets a small wrapper
 * with a stable address; tests install their own table instead.
 */

#include <fcntl.h>

#include "copy_priv.h"

static struct ibv_device **
rc_get_device_list(int *num)
{
	return ibv_get_device_list(num);
}

static void
rc_free_device_list(struct ibv_device **list)
{
	ibv_free_device_list(list);
}

static const char *
rc_get_device_name(struct ibv_device *dev)
{
	return ibv_get_device_name(dev);
}

static struct ibv_context *
rc_open_device(struct ibv_device *dev)
{
	struct ibv_context *ctx = ibv_open_device(dev);
	int fl;

	/* The engine polls for async events; they must never block. */
	if (ctx != NULL) {
		fl = fcntl(ctx->async_fd, F_GETFL);
		if (fl < 0 || fcntl(ctx->async_fd, F_SETFL, fl | O_NONBLOCK) < 0) {
			ibv_close_device(ctx);
			return NULL;
		}
	}
	return ctx;
}

static int
rc_close_device(struct ibv_context *ctx)
{
	return ibv_close_device(ctx);
}

static int
rc_query_device(struct ibv_context *ctx, struct ibv_device_attr *attr)
{
	return ibv_query_device(ctx, attr);
}

static int
rc_query_port(struct ibv_context *ctx, uint8_t port, struct ibv_port_attr *attr)
{
	return ibv_query_port(ctx, port, attr);
}

static int
rc_query_gid(struct ibv_context *ctx, uint8_t port, int index, union ibv_gid *gid)
{
	return ibv_query_gid(ctx, port, index, gid);
}

static struct ibv_pd *
rc_alloc_pd(struct ibv_context *ctx)
{
	return ibv_alloc_pd(ctx);
}

static int
rc_dealloc_pd(struct ibv_pd *pd)
{
	return ibv_dealloc_pd(pd);
}

static struct ibv_mr *
rc_reg_mr(struct ibv_pd *pd, void *addr, size_t len, int access)
{
	return ibv_reg_mr(pd, addr, len, access);
}

static int
rc_dereg_mr(struct ibv_mr *mr)
{
	return ibv_dereg_mr(mr);
}

static struct ibv_cq *
rc_create_cq(struct ibv_context *ctx, int cqe)
{
	return ibv_create_cq(ctx, cqe, NULL, NULL, 0);
}

static int
rc_destroy_cq(struct ibv_cq *cq)
{
	return ibv_destroy_cq(cq);
}

static struct ibv_qp *
rc_create_qp(struct ibv_pd *pd, struct ibv_qp_init_attr *attr)
{
	return ibv_create_qp(pd, attr);
}

static int
rc_destroy_qp(struct ibv_qp *qp)
{
	return ibv_destroy_qp(qp);
}

static int
rc_modify_qp(struct ibv_qp *qp, struct ibv_qp_attr *attr, int mask)
{
	return ibv_modify_qp(qp, attr, mask);
}

static int
rc_post_send(struct ibv_qp *qp, struct ibv_send_wr *wr, struct ibv_send_wr **bad)
{
	return ibv_post_send(qp, wr, bad);
}

static int
rc_poll_cq(struct ibv_cq *cq, int n, struct ibv_wc *wc)
{
	return ibv_poll_cq(cq, n, wc);
}

static int
rc_get_async_event(struct ibv_context *ctx, struct ibv_async_event *ev)
{
	return ibv_get_async_event(ctx, ev);
}

static void
rc_ack_async_event(struct ibv_async_event *ev)
{
	ibv_ack_async_event(ev);
}

const struct scpp_copy_verbs_ops scpp_copy_verbs_ops_rdma_core = {
	.get_device_list = rc_get_device_list,
	.free_device_list = rc_free_device_list,
	.get_device_name = rc_get_device_name,
	.open_device = rc_open_device,
	.close_device = rc_close_device,
	.query_device = rc_query_device,
	.query_port = rc_query_port,
	.query_gid = rc_query_gid,
	.alloc_pd = rc_alloc_pd,
	.dealloc_pd = rc_dealloc_pd,
	.reg_mr = rc_reg_mr,
	.dereg_mr = rc_dereg_mr,
	.create_cq = rc_create_cq,
	.destroy_cq = rc_destroy_cq,
	.create_qp = rc_create_qp,
	.destroy_qp = rc_destroy_qp,
	.modify_qp = rc_modify_qp,
	.post_send = rc_post_send,
	.poll_cq = rc_poll_cq,
	.get_async_event = rc_get_async_event,
	.ack_async_event = rc_ack_async_event,
};
