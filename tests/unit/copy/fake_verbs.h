/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef FAKE_VERBS_H
#define FAKE_VERBS_H

/*
 * A fake RDMA device behind struct scpp_copy_verbs_ops: one HCA with one
 * active port, protection domains, memory regions with keys and access
 * rights, RC queue pairs with the real state machine (RESET -> INIT -> RTR
 * -> RTS; errors move a QP to ERR and flush what follows), and a completion
 * queue. Work requests execute -- the bytes move, after checking the local
 * lkey and the peer's rkey, range and access like an HCA -- when the
 * initiator polls its CQ (or on fake_verbs_release() while held), so a copy
 * is really in flight between post and completion.
 *
 * Knobs (struct fake_verbs_ctl) inject what a device can do wrong.
 */
#include <stdbool.h>
#include <stdint.h>

#include "scpp_copy.h"

struct fake_verbs_ctl {
	bool no_device;       /* get_device_list: NULL, errno ENOSYS */
	bool hold;            /* execute nothing until released */
	bool reverse;         /* execute and complete newest first */
	int post_errno;       /* the next post_fail_count posts return this */
	int post_fail_count;
	enum ibv_wc_status fail_status; /* the next fail_count WRs complete so */
	int fail_count;
	bool lost;            /* the device is gone: DEVICE_FATAL pending,
			       * nothing executes any more */
	bool poll_fails;      /* poll_cq returns -1 */
	/* what happened (assert the path was taken) */
	unsigned int posts;
	unsigned int executed;
	unsigned int flushed;
	unsigned int async_events;
	unsigned int qps_live;
	unsigned int mrs_live;
};

extern struct fake_verbs_ctl fake_verbs;
extern const struct scpp_copy_verbs_ops fake_verbs_ops;

/* Reset the device and every knob. */
void fake_verbs_reset(void);

/* Execute everything held (hold stays as it is). */
void fake_verbs_release(void);

/* Work requests posted and not yet executed. */
unsigned int fake_verbs_pending(void);

#endif /* FAKE_VERBS_H */
