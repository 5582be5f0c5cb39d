/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Sending: the backlog of responses and the frames built from it.
 *
 * A response is a job: a run of datagrams of a held reply (its bytes stay
 * in the reply cache's arena; the job holds only their position) or one
 * NOTICE. Jobs wait in a fixed pool, on one list per port. A prepare walks
 * the port's list from its head, SCPP_DELIVERY_QUANTUM datagrams per job per
 * round, for as many rounds as the caller has frames; done() then advances
 * each job by what the tx queue took, frees finished jobs and moves those
 * that used their whole share to the tail, so one large reply cannot hold
 * back small ones for long (round-robin, a quantum at a time).
 *
 * Nothing is lost to a full tx ring: frames the queue did not take were
 * never counted as sent; their job still points at them and builds them
 * again on the next prepare (tx_deferred). The only way a queued reply is
 * not sent is that the cache reclaimed its bytes first (tx_aborted), which
 * the client then learns from a FETCH (REPLY_LOST).
 */
#include <errno.h>

#include "delivery_priv.h"

size_t
dlv_tx_mem(const struct scpp_delivery_conf *c)
{
	return dlv_al(sizeof(struct dlv_job) * c->backlog);
}

void
dlv_tx_init(struct scpp_delivery *d, uint8_t **mem)
{
	struct dlv_tx *t = &d->tx;

	t->cap = d->conf.backlog;
	t->job = dlv_carve(mem, sizeof(struct dlv_job) * t->cap);
	for (uint32_t i = 0; i < t->cap; i++)
		t->job[i].next = i + 1 < t->cap ? i + 1 : DLV_NONE;
	t->free_head = 0;
	for (unsigned int p = 0; p < SCPP_NET_MAX_PORTS; p++)
		t->head[p] = t->tail[p] = DLV_NONE;
}

uint32_t
dlv_tx_free_jobs(const struct scpp_delivery *d)
{
	return d->tx.cap - d->tx.count;
}

uint32_t
scpp_delivery_tx_pending(const struct scpp_delivery *d, uint16_t port)
{
	return __atomic_load_n(&d->tx.pending[port], __ATOMIC_RELAXED);
}

static void
list_append(struct dlv_tx *t, uint16_t port, uint32_t j)
{
	struct dlv_job *job = &t->job[j];

	job->prev = t->tail[port];
	job->next = DLV_NONE;
	if (t->tail[port] != DLV_NONE)
		t->job[t->tail[port]].next = j;
	else
		t->head[port] = j;
	t->tail[port] = j;
}

static void
list_unlink(struct dlv_tx *t, uint16_t port, uint32_t j)
{
	struct dlv_job *job = &t->job[j];

	if (job->prev != DLV_NONE)
		t->job[job->prev].next = job->next;
	else
		t->head[port] = job->next;
	if (job->next != DLV_NONE)
		t->job[job->next].prev = job->prev;
	else
		t->tail[port] = job->prev;
}

static struct dlv_job *
job_new(struct scpp_delivery *d, const struct scpp_net_peer *to, uint64_t client_id,
	uint64_t block_id, uint8_t kind)
{
	struct dlv_tx *t = &d->tx;
	uint32_t j = t->free_head;
	struct dlv_job *job;

	if (j == DLV_NONE) {
		dlv_count(&d->st.backlog_full);
		return NULL;
	}
	job = &t->job[j];
	t->free_head = job->next;
	job->to = *to;
	job->client_id = client_id;
	job->block_id = block_id;
	job->kind = kind;
	job->prep = 0;
	list_append(t, to->port, j);
	dlv_gauge32(&t->count, t->count + 1);
	return job;
}

/* Datagrams a job adds to (or, @p sub, takes from) its port's count. */
static void
pending_add(struct dlv_tx *t, uint16_t port, uint32_t n, bool sub)
{
	dlv_gauge32(&t->pending[port], sub ? t->pending[port] - n : t->pending[port] + n);
}

static void
job_free(struct dlv_tx *t, uint16_t port, uint32_t j)
{
	struct dlv_job *job = &t->job[j];

	pending_add(t, port, job->end - job->seq, true); /* what it did not send */
	list_unlink(t, port, j);
	job->next = t->free_head;
	t->free_head = j;
	dlv_gauge32(&t->count, t->count - 1);
}

bool
dlv_tx_reply(struct scpp_delivery *d, const struct scpp_net_peer *to, uint64_t client_id,
	     uint64_t block_id, uint64_t pos, uint32_t len, uint16_t chunk, uint32_t first,
	     uint32_t count, uint8_t session)
{
	uint32_t nseq = dlv_nseq(len, chunk);
	struct dlv_job *job;

	if (first >= nseq)
		return true;
	job = job_new(d, to, client_id, block_id, DLV_JOB_REPLY);
	if (job == NULL)
		return false;
	job->session = session;
	job->pos = pos;
	job->len = len;
	job->chunk = chunk;
	job->nseq = nseq;
	job->seq = first;
	job->end = count > nseq - first ? nseq : first + count;
	pending_add(&d->tx, to->port, job->end - job->seq, false);
	return true;
}

bool
dlv_tx_notice(struct scpp_delivery *d, const struct scpp_net_peer *to, uint64_t client_id,
	      uint64_t block_id, const struct scpp_wire_notice *n, uint8_t session)
{
	struct dlv_job *job = job_new(d, to, client_id, block_id, DLV_JOB_NOTICE);

	if (job == NULL)
		return false;
	job->session = session;
	job->notice = *n;
	job->seq = 0;
	job->end = 1;
	pending_add(&d->tx, to->port, 1, false);
	return true;
}

/* One datagram of header @p h (its payload set) to @p to, into @p frame;
 * for a session request, with the session tag, sealed. */
static uint16_t
build_dgram(struct scpp_delivery *d, const struct scpp_net_peer *to, struct scpp_wire_hdr *h,
	    uint8_t session, uint8_t *frame)
{
	uint32_t tag = dlv_tag(session);
	uint8_t *pl;
	int n;

	if (tag != 0) {
		h->flags |= SCPP_WIRE_F_SESSION;
		h->tag_len = (uint8_t)tag;
		h->tag = NULL; /* zeros: the seal writes it */
	}
	pl = scpp_net_udp_build(d->net, to, frame,
				(uint16_t)(SCPP_WIRE_HDR_LEN + h->payload_len + tag));
	n = scpp_wire_dgram_encode(pl, SCPP_WIRE_HDR_LEN + h->payload_len + tag, h);
	SCPP_VERIFY(n == (int)(SCPP_WIRE_HDR_LEN + h->payload_len + tag));
	if (tag != 0 && d->conf.seal != NULL) {
		/* A datagram that cannot be sealed (its session closed) goes
		 * out with a zero MAC, which the client drops as forged: the
		 * frame is built either way so that the pacing stays simple,
		 * and counted. */
		if (d->conf.seal(d->conf.seal_ctx, h->client_id, pl, (size_t)n) != 0)
			dlv_count(&d->st.tx_unsealed);
		else
			dlv_count(&d->st.sealed);
	}
	scpp_net_udp_finish(d->net, to->port, frame);
	return (uint16_t)n;
}

uint16_t
dlv_build_reply(struct scpp_delivery *d, const struct scpp_net_peer *to, uint64_t client_id,
		uint64_t block_id, const uint8_t *payload, uint32_t plen, uint32_t seq, bool last,
		uint8_t session, uint8_t *frame)
{
	const uint16_t len = (uint16_t)(SCPP_WIRE_HDR_LEN + plen);
	uint8_t *pl;
	int n;

	if (dlv_tag(session) != 0) {
		struct scpp_wire_hdr h = {
			.kind = SCPP_WIRE_REPLY,
			.flags = last ? SCPP_WIRE_F_LAST : 0,
			.client_id = client_id,
			.block_id = block_id,
			.frag_index = seq,
			.payload_len = (uint16_t)plen,
			.payload = payload,
		};

		return build_dgram(d, to, &h, session, frame);
	}
	/* Without a session nothing is sealed: the reply encoder's fixed
	 * stores, no header struct checked field by field. */
	pl = scpp_net_udp_build(d->net, to, frame, len);
	n = scpp_wire_reply_dgram_encode(pl, len, client_id, block_id, seq, last, payload,
					 (uint16_t)plen);
	SCPP_VERIFY(n == (int)len);
	scpp_net_udp_finish(d->net, to->port, frame);
	return len;
}

/* Build datagram @p seq of @p job into @p frame; returns its UDP payload bytes. */
static uint16_t
build(struct scpp_delivery *d, const struct dlv_job *job, uint32_t seq, uint8_t *frame)
{
	struct scpp_wire_hdr h = {
		.client_id = job->client_id,
		.block_id = job->block_id,
		.flags = SCPP_WIRE_F_LAST,
	};
	uint8_t body[SCPP_WIRE_NOTICE_COOKIE_LEN];
	int n;

	if (job->kind == DLV_JOB_REPLY) {
		uint32_t off = seq * job->chunk;

		return dlv_build_reply(d, &job->to, job->client_id, job->block_id,
				       d->cache.arena + job->pos % d->cache.size + off,
				       SCPP_MIN((uint32_t)job->chunk, job->len - off), seq,
				       seq + 1 == job->nseq, job->session, frame);
	}
	n = scpp_wire_notice_encode(body, sizeof(body), &job->notice);
	SCPP_VERIFY(n > 0);
	h.kind = SCPP_WIRE_NOTICE;
	h.payload_len = (uint16_t)n;
	h.payload = body;
	return build_dgram(d, &job->to, &h, job->session, frame);
}

void
scpp_delivery_tx_direct_done(struct scpp_delivery *d, const struct scpp_delivery_direct *t,
			     const uint8_t *const *frames, uint16_t n, uint16_t sent, uint64_t now)
{
	uint64_t bytes = 0;

	SCPP_VERIFY(sent <= n);
	for (uint16_t i = 0; i < sent; i++)
		bytes += t[i].dgram_len;
	scpp_counter_add(&d->st.tx_dgrams, sent);
	scpp_counter_add(&d->st.tx_direct, sent);
	scpp_counter_add(&d->st.tx_bytes, bytes);
	scpp_counter_add(&d->st.tx_deferred, (uint64_t)(n - sent));
	/* Not taken: into the backlog, from the bytes the cache still holds
	 * (tx_prepare() drops them as tx_aborted if they go first); an unheld
	 * reply's bytes are only in its frame, after the headers lib/net and
	 * the datagram header put there: held now, as a status reply is. */
	for (uint16_t i = sent; i < n; i++) {
		uint64_t pos = t[i].pos;

		if (pos == SCPP_DELIVERY_UNHELD)
			pos = dlv_hold_copy(d, &t[i],
					    frames[i] + SCPP_NET_L2L4_LEN + SCPP_WIRE_HDR_LEN, now);
		(void)dlv_tx_reply(d, &t[i].to, t[i].client_id, t[i].block_id, pos, t[i].len,
				   t[i].chunk, 0, 1, t[i].session);
	}
}

uint16_t
scpp_delivery_tx_prepare(struct scpp_delivery *d, uint16_t port, uint8_t *const *frames,
			 uint16_t n, uint16_t *lens, uint64_t now)
{
	struct dlv_tx *t = &d->tx;
	uint16_t made = 0;
	bool progress = true;

	(void)now;
	SCPP_VERIFY(t->nburst == 0); /* done() was called for the last prepare */
	n = SCPP_MIN(n, SCPP_DELIVERY_TX_BURST);
	t->burst_port = port;
	/* Rounds over the list, a quantum per job per round. */
	while (made < n && progress) {
		uint32_t j = t->head[port];

		progress = false;
		while (j != DLV_NONE && made < n) {
			struct dlv_job *job = &t->job[j];
			uint32_t next = job->next, k, left;

			if (job->kind == DLV_JOB_REPLY && job->pos < d->cache.low) {
				/* Its bytes were reclaimed: nothing left to send. */
				if (job->prep == 0) {
					dlv_count(&d->st.tx_aborted);
					job_free(t, port, j);
				}
				j = next;
				continue;
			}
			left = job->end - job->seq - job->prep;
			k = SCPP_MIN(SCPP_MIN(left, (uint32_t)SCPP_DELIVERY_QUANTUM),
				     (uint32_t)(n - made));
			for (uint32_t i = 0; i < k; i++) {
				t->burst_len[made] = build(d, job, job->seq + job->prep + i,
							   frames[made]);
				lens[made] = (uint16_t)(SCPP_NET_L2L4_LEN + t->burst_len[made]);
				t->burst_job[made] = j;
				made++;
			}
			if (k > 0) {
				job->prep += k;
				progress = true;
			}
			j = next;
		}
	}
	t->nburst = made;
	return made;
}

void
scpp_delivery_tx_done(struct scpp_delivery *d, uint16_t port, uint16_t sent)
{
	struct dlv_tx *t = &d->tx;
	uint64_t bytes = 0;
	int i;

	SCPP_VERIFY(port == t->burst_port && sent <= t->nburst);
	/* The queue took a prefix of the burst, and a job's frames appear in
	 * the burst in sequence order, so a job got as far as its frames in
	 * the prefix say. */
	for (i = 0; i < sent; i++) {
		bytes += t->burst_len[i];
		t->job[t->burst_job[i]].seq++;
	}
	pending_add(t, port, sent, true);
	scpp_counter_add(&d->st.tx_dgrams, sent);
	scpp_counter_add(&d->st.tx_bytes, bytes);
	scpp_counter_add(&d->st.tx_deferred, (uint64_t)(t->nburst - sent));
	/* Settle each job once, at its first frame in the burst, in burst
	 * order: finished jobs are freed; jobs that sent something go to the
	 * tail (round-robin: the others are served first next time); jobs
	 * that sent nothing (the ring was full before their turn) keep their
	 * place at the front. */
	for (i = 0; i < t->nburst; i++) {
		uint32_t j = t->burst_job[i];
		struct dlv_job *job = &t->job[j];

		if (job->prep == 0)
			continue;
		job->prep = 0;
		if (job->seq == job->end) {
			job_free(t, port, j);
		} else if (i < sent) {
			list_unlink(t, port, j);
			list_append(t, port, j);
		}
	}
	t->nburst = 0;
}
