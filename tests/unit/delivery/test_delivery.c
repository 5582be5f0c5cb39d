/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/delivery over plain memory (no EAL; the libc allocator) and a fake
 * clock (nanoseconds): reassembly limits, quotas and timeouts, the reply
 * cache's retention by time, the client window, pacing under a full tx
 * ring, the amplification limit and the cookie, FETCH, the error-reply
 * rate limit, and the datagram accounting invariant after each.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scpp_test.h"
#include "scpp_common.h"
#include "scpp_delivery.h"
#include "scpp_net.h"
#include "scpp_wire.h"
#include "delivery_priv.h" /* dlv_tab, for the table's reference-model test */

#define MS UINT64_C(1000000) /* the fake TSC counts nanoseconds */
#define FRAME_ROOM 9700
#define MAX_SENT 4096

static struct scpp_net net;
static struct scpp_delivery_conf C;
static struct scpp_delivery *D;
static uint64_t NOW;
static uint8_t dbuf[SCPP_WIRE_DGRAM_MAX];
static uint8_t frames_mem[SCPP_DELIVERY_TX_BURST][FRAME_ROOM];
static uint8_t *frames[SCPP_DELIVERY_TX_BURST];

struct sent {
	uint8_t kind, flags;
	uint64_t cid, bid;
	uint32_t seq;
	uint16_t plen;
	uint32_t dst_ip;
	uint16_t dst_port;
	struct scpp_wire_notice notice;
	uint8_t payload[FRAME_ROOM];
};

static struct sent S[MAX_SENT];

static uint32_t
ip4(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

static void
net_setup(uint16_t mtu)
{
	struct scpp_net_port p = {.ip = ip4("198.18.0.2"), .mtu = mtu};

	p.mac.addr_bytes[0] = 2;
	p.mac.addr_bytes[5] = 2;
	scpp_net_init(&net);
	assert_int_equal(scpp_net_port_set(&net, 0, &p), 0);
	scpp_net_udp_serve(&net, 7300, true);
}

static void
conf_default(void)
{
	memset(&C, 0, sizeof(C));
	C.name = "test";
	C.mem = &scpp_delivery_mem_libc;
	C.net = &net;
	C.tsc_hz = 1000 * MS;
	memset(C.cookie_key, 0x5a, sizeof(C.cookie_key));
	C.retention_ms = 1000;
	C.cache_entries = 64;
	C.cache_bytes = 1 << 20;
	C.reply_max = 64 << 10;
	C.clients = 8;
	C.reasm_slots = 8;
	C.reasm_per_source = 3;
	C.reasm_timeout_ms = 100;
	C.max_fragments = SCPP_WIRE_FRAGS_MAX;
	C.backlog = 256;
	C.error_rate_source = 5;
	C.error_rate_total = 8;
}

static int
setup(void **state)
{
	(void)state;
	net_setup(1500);
	conf_default();
	for (int i = 0; i < SCPP_DELIVERY_TX_BURST; i++)
		frames[i] = frames_mem[i];
	D = NULL;
	NOW = 5000 * MS;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	scpp_delivery_free(D);
	D = NULL;
	return 0;
}

static void
make(void)
{
	D = scpp_delivery_create(&C);
	assert_non_null(D);
}

static struct scpp_delivery_stats
stats(void)
{
	struct scpp_delivery_stats st;

	scpp_delivery_stats_get(D, &st);
	return st;
}

static struct scpp_delivery_usage
usage(void)
{
	struct scpp_delivery_usage u;

	scpp_delivery_usage_get(D, &u);
	return u;
}

/* dgrams = consumed + drops + fragments held, always. */
static void
assert_accounting(void)
{
	struct scpp_delivery_stats st = stats();
	uint64_t drops = 0;

	for (int i = 0; i < SCPP_DELIVERY_DROP_COUNT; i++)
		drops += st.drops[i];
	if (st.dgrams != st.consumed + drops + usage().reasm_frames)
		fail_msg("dgrams %lu != consumed %lu + drops %lu + held %u",
			 (unsigned long)st.dgrams, (unsigned long)st.consumed,
			 (unsigned long)drops, usage().reasm_frames);
}

/* The sender at 198.18.0.<host>:<port>. */
static struct scpp_net_meta
from(unsigned int host, uint16_t port)
{
	struct scpp_net_meta m;
	char a[32];

	memset(&m, 0, sizeof(m));
	snprintf(a, sizeof(a), "198.18.0.%u", host);
	m.peer.ip = ip4(a);
	m.peer.local_ip = ip4("198.18.0.2");
	m.peer.udp_port = htons(port);
	m.peer.local_udp_port = htons(7300);
	m.peer.mac.addr_bytes[0] = 2;
	m.peer.mac.addr_bytes[5] = (uint8_t)host;
	return m;
}

static size_t
dgram(uint8_t kind, uint64_t cid, uint64_t bid, uint32_t fi, uint32_t fc, const uint8_t *pl,
      uint16_t plen, const uint8_t *cookie)
{
	struct scpp_wire_hdr h = {
		.kind = kind, .client_id = cid, .block_id = bid, .frag_index = fi,
		.frag_count = fc, .payload = pl, .payload_len = plen, .cookie = cookie,
	};
	int n;

	if (kind == SCPP_WIRE_BLOCK || kind == SCPP_WIRE_FETCH || kind == SCPP_WIRE_FORWARD)
		h.flags = fi + 1 == fc ? SCPP_WIRE_F_LAST : 0;
	else
		h.flags = SCPP_WIRE_F_LAST;
	if (cookie != NULL)
		h.flags |= SCPP_WIRE_F_COOKIE;
	n = scpp_wire_dgram_encode(dbuf, sizeof(dbuf), &h);
	assert_true(n > 0);
	return (size_t)n;
}

static enum scpp_delivery_verdict
rx(const struct scpp_net_meta *m0, size_t n, struct scpp_delivery_in *in)
{
	struct scpp_net_meta m = *m0;

	m.l4_len = (uint16_t)n;
	return scpp_delivery_rx(D, &m, dbuf, NOW, in);
}

/* A single-datagram block of @p blen bytes (contents irrelevant here). */
static struct scpp_delivery_req
block_req(const struct scpp_net_meta *m, uint64_t cid, uint64_t bid, uint16_t blen,
	  const uint8_t *cookie)
{
	static const uint8_t body[1400];
	struct scpp_delivery_in in;

	assert_int_equal(rx(m, dgram(SCPP_WIRE_BLOCK, cid, bid, 0, 1, body, blen, cookie), &in),
			 SCPP_DELIVERY_BLOCK);
	assert_int_equal(in.slot, -1);
	return in.req;
}

static uint8_t
pattern(uint64_t seed, uint32_t i)
{
	return (uint8_t)((seed * 131 + i * 7 + (i >> 8)) & 0xff);
}

/* Execute: write a reply of @p len pattern bytes and commit it. */
static void
commit(const struct scpp_delivery_req *req, uint32_t len)
{
	uint32_t cap;
	uint8_t *b = scpp_delivery_reply_buf(D, &cap, NOW);

	assert_true(cap >= len);
	for (uint32_t i = 0; i < len; i++)
		b[i] = pattern(req->block_id, i);
	scpp_delivery_reply_commit(D, req, len, NOW);
}

/* Submit a block and, if admitted, execute it with a reply of @p len. */
static enum scpp_delivery_admit
run(const struct scpp_net_meta *m, uint64_t cid, uint64_t bid, uint16_t blen, uint32_t len,
    const uint8_t *cookie)
{
	struct scpp_delivery_req req = block_req(m, cid, bid, blen, cookie);
	enum scpp_delivery_admit a = scpp_delivery_admit(D, &req, NOW);

	if (a == SCPP_DELIVERY_EXECUTE)
		commit(&req, len);
	return a;
}

/*
 * Send everything queued for port 0 through a "tx queue" that takes at
 * most @p ring frames per burst; returns the datagrams that went out, in
 * order, decoded into S[].
 */
static unsigned int
drain(uint16_t ring)
{
	unsigned int n = 0;
	uint16_t lens[SCPP_DELIVERY_TX_BURST];

	for (int guard = 0; guard < 100000; guard++) {
		uint16_t made = scpp_delivery_tx_prepare(D, 0, frames, 32, lens, NOW);
		uint16_t sent = SCPP_MIN(made, ring);

		for (uint16_t i = 0; i < sent; i++) {
			struct scpp_wire_hdr h;
			struct sent *s = &S[n++];

			assert_true(n <= MAX_SENT);
			assert_true(lens[i] <= 1514);
			assert_int_equal(scpp_wire_hdr_decode(frames[i] + SCPP_NET_L2L4_LEN,
							      lens[i] - SCPP_NET_L2L4_LEN, &h), 0);
			s->kind = h.kind;
			s->flags = h.flags;
			s->cid = h.client_id;
			s->bid = h.block_id;
			s->seq = h.frag_index;
			s->plen = h.payload_len;
			memcpy(&s->dst_ip, frames[i] + 30, 4);
			memcpy(&s->dst_port, frames[i] + 36, 2);
			memcpy(s->payload, h.payload, h.payload_len);
			if (h.kind == SCPP_WIRE_NOTICE)
				assert_int_equal(scpp_wire_notice_decode(h.payload, h.payload_len,
									 &s->notice), 0);
		}
		scpp_delivery_tx_done(D, 0, sent);
		if (made == 0)
			return n;
	}
	fail_msg("tx never drained");
	return n;
}

/* The reply to (cid, bid) in S[0..n) is exactly its pattern, in order. */
static void
assert_reply(unsigned int n, uint64_t cid, uint64_t bid, uint32_t len)
{
	uint32_t off = 0, seq = 0;

	for (unsigned int i = 0; i < n; i++) {
		if (S[i].kind != SCPP_WIRE_REPLY || S[i].cid != cid || S[i].bid != bid)
			continue;
		assert_int_equal(S[i].seq, seq);
		for (uint16_t k = 0; k < S[i].plen; k++)
			if (S[i].payload[k] != pattern(bid, off + k))
				fail_msg("byte %u of block %lu differs", off + k, (unsigned long)bid);
		off += S[i].plen;
		seq++;
		assert_int_equal((S[i].flags & SCPP_WIRE_F_LAST) != 0, off == len);
	}
	assert_int_equal(off, len);
	assert_true(seq >= 1);
}

static unsigned int
count_kind(unsigned int n, uint8_t kind, uint8_t code)
{
	unsigned int c = 0;

	for (unsigned int i = 0; i < n; i++)
		if (S[i].kind == kind && (kind != SCPP_WIRE_NOTICE || S[i].notice.code == code))
			c++;
	return c;
}

/* ---- life cycle ---- */

static int fail_after;

static void *
failing_alloc(void *ctx, const char *name, size_t size, int socket)
{
	if (fail_after-- <= 0)
		return NULL;
	return scpp_delivery_mem_libc.alloc(ctx, name, size, socket);
}

static size_t freed;

static void
counting_free(void *ctx, void *p, size_t size)
{
	freed += size;
	scpp_delivery_mem_libc.free(ctx, p, size);
}

static void
test_delivery_create_rejects_each_bad_field(void **state)
{
	static const struct scpp_delivery_mem_ops failing = {.alloc = failing_alloc,
							     .free = counting_free};
	struct scpp_net empty;
	(void)state;

	scpp_delivery_free(NULL);
#define BAD(stmt)                                                                  \
	do {                                                                       \
		conf_default();                                                    \
		stmt;                                                              \
		errno = 0;                                                         \
		assert_null(scpp_delivery_create(&C));                             \
		assert_int_equal(errno, EINVAL);                                   \
		assert_int_equal(scpp_delivery_mem_size(&C), 0);                   \
	} while (0)
	scpp_net_init(&empty);
	BAD(C.net = &empty);
	BAD(C.net = NULL);
	BAD(C.tsc_hz = 0);
	BAD(C.retention_ms = 0);
	BAD(C.cache_entries = 0);
	BAD(C.cache_bytes = 4 * (uint64_t)C.reply_max - 1);
	BAD(C.reply_max = 63);
	BAD(C.clients = 0);
	BAD(C.reasm_slots = 0);
	BAD(C.reasm_per_source = 0);
	BAD(C.reasm_per_source = C.reasm_slots + 1);
	BAD(C.reasm_timeout_ms = 0);
	BAD(C.max_fragments = 0);
	BAD(C.max_fragments = SCPP_WIRE_FRAGS_MAX + 1);
	BAD(C.backlog = 0);
#undef BAD
	/* A failing allocator: ENOMEM, nothing to free. */
	conf_default();
	C.mem = &failing;
	fail_after = 0;
	errno = 0;
	assert_null(scpp_delivery_create(&C));
	assert_int_equal(errno, ENOMEM);
	/* What create takes is what mem_size says, and free gives it back. */
	fail_after = 1;
	freed = 0;
	D = scpp_delivery_create(&C);
	assert_non_null(D);
	scpp_delivery_free(D);
	D = NULL;
	assert_int_equal(freed, scpp_delivery_mem_size(&C));
}

/* ---- datagrams in ---- */

static void
test_delivery_rx_sorts_datagrams_and_counts_drops(void **state)
{
	struct scpp_net_meta m = from(1, 40000);
	struct scpp_delivery_in in;
	struct scpp_wire_fetch f = {.owner = {7, 8}, .nranges = 1, .range = {{2, 3}}};
	uint8_t ck[SCPP_WIRE_COOKIE_LEN], fp[64];
	size_t n;
	(void)state;

	make();
	memset(ck, 0xcc, sizeof(ck));
	n = dgram(SCPP_WIRE_BLOCK, 9, 10, 0, 1, (const uint8_t *)"abcd", 4, ck);
	assert_int_equal(rx(&m, n, &in), SCPP_DELIVERY_BLOCK);
	assert_true(in.req.client_id == 9 && in.req.block_id == 10 && in.req.kind == SCPP_WIRE_BLOCK);
	assert_true(in.req.peer.ip == m.peer.ip && in.req.peer.udp_port == m.peer.udp_port);
	assert_int_equal(in.req.req_bytes, n);
	assert_true(in.req.has_cookie && memcmp(in.req.cookie, ck, 16) == 0);
	assert_int_equal(in.msg_len, 4);
	assert_memory_equal(in.msg, "abcd", 4);
	/* A FETCH: validated here, its owner read out for routing. */
	assert_int_equal(scpp_wire_fetch_encode(fp, sizeof(fp), &f), 25);
	n = dgram(SCPP_WIRE_FETCH, 9, 10, 0, 1, fp, 25, NULL);
	assert_int_equal(rx(&m, n, &in), SCPP_DELIVERY_FETCH);
	assert_true(in.owner.hi == 7 && in.owner.lo == 8 && !in.req.has_cookie);
	fp[16] = 0; /* no ranges */
	n = dgram(SCPP_WIRE_FETCH, 9, 10, 0, 1, fp, 17, NULL);
	assert_int_equal(rx(&m, n, &in), SCPP_DELIVERY_DROP);
	assert_int_equal(in.drop, SCPP_DELIVERY_DROP_FETCH_BAD);
	/* Node kinds sent to the node. */
	n = dgram(SCPP_WIRE_REPLY, 9, 10, 0, 0, NULL, 0, NULL);
	assert_int_equal(rx(&m, n, &in), SCPP_DELIVERY_DROP);
	assert_int_equal(in.drop, SCPP_DELIVERY_DROP_NODE_KIND);
	/* Each header code under its own reason. */
	n = dgram(SCPP_WIRE_BLOCK, 9, 11, 0, 1, (const uint8_t *)"abcd", 4, NULL);
	assert_int_equal(rx(&m, 10, &in), SCPP_DELIVERY_DROP);
	assert_int_equal(in.drop, SCPP_DELIVERY_DROP_HDR_TRUNCATED);
	assert_int_equal(rx(&m, n + 1, &in), SCPP_DELIVERY_DROP);
	assert_int_equal(in.drop, SCPP_DELIVERY_DROP_HDR_BAD_LENGTH);
	dbuf[0] = 'X';
	assert_int_equal(rx(&m, n, &in), SCPP_DELIVERY_DROP);
	assert_int_equal(in.drop, SCPP_DELIVERY_DROP_HDR_BAD_MAGIC);
	dbuf[0] = 'S';
	dbuf[2] = 2;
	assert_int_equal(rx(&m, n, &in), SCPP_DELIVERY_DROP);
	assert_int_equal(in.drop, SCPP_DELIVERY_DROP_HDR_BAD_VERSION);
	dbuf[2] = 1;
	dbuf[3] = 16;
	assert_int_equal(rx(&m, n, &in), SCPP_DELIVERY_DROP);
	assert_int_equal(in.drop, SCPP_DELIVERY_DROP_HDR_BAD_KIND);
	/* Session-layer kinds (8..15) and continuations (6, 7) decode, but are
	 * the daemon's to divert before lib/delivery: here they are not a
	 * client's kind. */
	for (uint8_t k = 6; k <= 9; k++) {
		dbuf[3] = k;
		assert_int_equal(rx(&m, n, &in), SCPP_DELIVERY_DROP);
		assert_int_equal(in.drop, SCPP_DELIVERY_DROP_NODE_KIND);
	}
	dbuf[3] = 1;
	dbuf[4] = 0x81;
	assert_int_equal(rx(&m, n, &in), SCPP_DELIVERY_DROP);
	assert_int_equal(in.drop, SCPP_DELIVERY_DROP_HDR_BAD_FLAGS);
	dbuf[4] = 1;
	dbuf[28] = 0;
	assert_int_equal(rx(&m, n, &in), SCPP_DELIVERY_DROP);
	assert_int_equal(in.drop, SCPP_DELIVERY_DROP_HDR_BAD_FRAGMENT);
	/* More fragments than allowed here (fewer than the protocol's 64). */
	teardown(NULL);
	C.max_fragments = 4;
	make();
	n = dgram(SCPP_WIRE_BLOCK, 9, 12, 0, 5, (const uint8_t *)"ab", 2, NULL);
	assert_int_equal(rx(&m, n, &in), SCPP_DELIVERY_DROP);
	assert_int_equal(in.drop, SCPP_DELIVERY_DROP_FRAG_LIMIT);
	assert_accounting();
}

/* Send fragment @p i of @p cnt of a message whose fragments are 100 bytes
 * of pattern(bid). */
static enum scpp_delivery_verdict
frag(const struct scpp_net_meta *m, uint64_t cid, uint64_t bid, uint32_t i, uint32_t cnt,
     struct scpp_delivery_in *in)
{
	uint8_t p[100];

	for (int k = 0; k < 100; k++)
		p[k] = pattern(bid, i * 100 + (uint32_t)k);
	return rx(m, dgram(SCPP_WIRE_BLOCK, cid, bid, i, cnt, p, 100, NULL), in);
}

static void
test_delivery_reassembles_in_any_order_by_five_tuple(void **state)
{
	struct scpp_net_meta a = from(1, 40000), a2 = from(1, 40001);
	struct scpp_delivery_in in;
	static const uint32_t order[] = {3, 0, 4, 1, 2};
	(void)state;

	make();
	for (int k = 0; k < 4; k++)
		assert_int_equal(frag(&a, 5, 77, order[k], 5, &in), SCPP_DELIVERY_HELD);
	/* The same ids from another source port are another message. */
	assert_int_equal(frag(&a2, 5, 77, 2, 5, &in), SCPP_DELIVERY_HELD);
	assert_int_equal(usage().reasm_in_use, 2);
	assert_int_equal(usage().reasm_frames, 5);
	/* An identical duplicate is dropped alone. */
	assert_int_equal(frag(&a, 5, 77, 0, 5, &in), SCPP_DELIVERY_DROP);
	assert_int_equal(in.drop, SCPP_DELIVERY_DROP_REASM_DUP);
	assert_int_equal(frag(&a, 5, 77, 2, 5, &in), SCPP_DELIVERY_BLOCK);
	assert_true(in.slot >= 0 && in.msg_len == 500);
	for (uint32_t i = 0; i < 500; i++)
		assert_int_equal(in.msg[i], pattern(77, i));
	/* The reply goes to the sender of the fragments, and the budget counts
	 * every fragment's datagram. */
	assert_true(in.req.peer.udp_port == htons(40000));
	assert_int_equal(in.req.req_bytes, 5 * (32 + 100));
	assert_int_equal(usage().reasm_frames, 1); /* the other port's fragment */
	scpp_delivery_release(D, in.slot);
	assert_int_equal(usage().reasm_in_use, 1);
	assert_int_equal(stats().reasm_done, 1);
	assert_int_equal(stats().consumed, 5);
	assert_accounting();
}

static void
test_delivery_reassembly_mismatch_discards_and_counts_each_fragment(void **state)
{
	struct scpp_net_meta a = from(1, 40000);
	struct scpp_delivery_in in;
	uint8_t other[100];
	(void)state;

	make();
	assert_int_equal(frag(&a, 5, 1, 0, 4, &in), SCPP_DELIVERY_HELD);
	assert_int_equal(frag(&a, 5, 1, 1, 4, &in), SCPP_DELIVERY_HELD);
	/* Another frag_count for the same message. */
	assert_int_equal(frag(&a, 5, 1, 2, 3, &in), SCPP_DELIVERY_DROP);
	assert_int_equal(stats().drops[SCPP_DELIVERY_DROP_REASM_MISMATCH], 3);
	assert_int_equal(usage().reasm_in_use, 0);
	/* Different bytes at an index already held. */
	assert_int_equal(frag(&a, 5, 2, 0, 4, &in), SCPP_DELIVERY_HELD);
	memset(other, 0xee, sizeof(other));
	assert_int_equal(rx(&a, dgram(SCPP_WIRE_BLOCK, 5, 2, 0, 4, other, 100, NULL), &in),
			 SCPP_DELIVERY_DROP);
	assert_int_equal(stats().drops[SCPP_DELIVERY_DROP_REASM_MISMATCH], 5);
	assert_int_equal(usage().reasm_frames, 0);
	assert_accounting();
}

static void
test_delivery_reassembly_quota_overflow_and_timeout_per_frame(void **state)
{
	struct scpp_net_meta a = from(1, 40000), b = from(9, 40000);
	struct scpp_delivery_in in;
	(void)state;

	make(); /* 8 slots, 3 per source, 100 ms */
	/* Source A opens its three slots, then is refused. */
	for (uint64_t bid = 1; bid <= 3; bid++)
		assert_int_equal(frag(&a, 5, bid, 0, 2, &in), SCPP_DELIVERY_HELD);
	assert_int_equal(frag(&a, 5, 4, 0, 2, &in), SCPP_DELIVERY_DROP);
	assert_int_equal(in.drop, SCPP_DELIVERY_DROP_REASM_QUOTA);
	/* Another port of the same address is the same source. */
	{
		struct scpp_net_meta a2 = from(1, 40007);

		assert_int_equal(frag(&a2, 5, 5, 0, 2, &in), SCPP_DELIVERY_DROP);
		assert_int_equal(in.drop, SCPP_DELIVERY_DROP_REASM_QUOTA);
	}
	/* Fragments of a message it already has still go in. */
	assert_int_equal(frag(&a, 5, 1, 1, 2, &in), SCPP_DELIVERY_BLOCK);
	scpp_delivery_release(D, in.slot);
	/* Source B is not affected: five more messages fill the table. */
	for (uint64_t bid = 10; bid < 13; bid++)
		assert_int_equal(frag(&b, 6, bid, 0, 3, &in), SCPP_DELIVERY_HELD);
	for (unsigned int h = 20; h < 23; h++) {
		struct scpp_net_meta c = from(h, 40000);

		assert_int_equal(frag(&c, 7, h, 1, 3, &in), SCPP_DELIVERY_HELD);
	}
	assert_int_equal(usage().reasm_in_use, 8);
	{
		struct scpp_net_meta c = from(30, 40000);

		assert_int_equal(frag(&c, 7, 30, 0, 3, &in), SCPP_DELIVERY_DROP);
		assert_int_equal(in.drop, SCPP_DELIVERY_DROP_REASM_OVERFLOW);
	}
	/* Not yet timed out: ticks change nothing. */
	NOW += 99 * MS;
	for (int i = 0; i < 10; i++)
		scpp_delivery_tick(D, NOW);
	assert_int_equal(usage().reasm_in_use, 8);
	/* After the timeout every slot is freed and each fragment held counts. */
	NOW += 2 * MS;
	for (int i = 0; i < 10; i++)
		scpp_delivery_tick(D, NOW);
	assert_int_equal(usage().reasm_in_use, 0);
	assert_int_equal(stats().drops[SCPP_DELIVERY_DROP_REASM_TIMEOUT], 2 + 3 + 3);
	/* The quota was given back. */
	assert_int_equal(frag(&a, 5, 40, 0, 2, &in), SCPP_DELIVERY_HELD);
	assert_accounting();
}

/* ---- at-most-once ---- */

static void
test_delivery_retransmission_is_answered_not_executed(void **state)
{
	struct scpp_net_meta a = from(1, 40000), a2 = from(1, 40001), b = from(2, 40000);
	struct scpp_delivery_req req;
	unsigned int n;
	(void)state;

	make();
	assert_int_equal(run(&a, 42, 100, 60, 150, NULL), SCPP_DELIVERY_EXECUTE);
	n = drain(32);
	assert_int_equal(n, 1);
	assert_reply(n, 42, 100, 150);
	assert_true(S[0].dst_ip == a.peer.ip && S[0].dst_port == a.peer.udp_port);
	/* The same datagram again: the same bytes, no execution. */
	req = block_req(&a, 42, 100, 60, NULL);
	assert_int_equal(scpp_delivery_admit(D, &req, NOW), SCPP_DELIVERY_ANSWERED);
	n = drain(32);
	assert_reply(n, 42, 100, 150);
	assert_int_equal(stats().cache_hits, 1);
	assert_int_equal(stats().admitted, 1);
	/* The same ids from another port or address are another client. */
	assert_int_equal(run(&a2, 42, 100, 60, 150, NULL), SCPP_DELIVERY_EXECUTE);
	assert_int_equal(run(&b, 42, 100, 60, 150, NULL), SCPP_DELIVERY_EXECUTE);
	assert_int_equal(stats().clients_new, 3);
	drain(32);
	assert_accounting();
}

static void
test_delivery_cache_retention_is_by_time_then_reply_lost(void **state)
{
	struct scpp_net_meta a = from(1, 40000);
	unsigned int n;
	(void)state;

	make(); /* retention 1000 ms */
	assert_int_equal(run(&a, 42, 100, 60, 50, NULL), SCPP_DELIVERY_EXECUTE);
	drain(32);
	/* Far more blocks than entries would take by count: held by time. */
	NOW += 999 * MS;
	for (int i = 0; i < 10; i++)
		scpp_delivery_tick(D, NOW);
	assert_int_equal(run(&a, 42, 100, 60, 50, NULL), SCPP_DELIVERY_ANSWERED);
	n = drain(32);
	assert_reply(n, 42, 100, 50);
	/* The client's next block keeps its window live. */
	assert_int_equal(run(&a, 42, 101, 60, 50, NULL), SCPP_DELIVERY_EXECUTE);
	/* After the retention time the reply goes, the window stays: the
	 * retransmission is answered REPLY_LOST and not executed. */
	NOW += 2 * MS;
	scpp_delivery_tick(D, NOW);
	assert_int_equal(stats().cache_expired, 1);
	assert_int_equal(usage().cache_entries, 1);
	assert_int_equal(run(&a, 42, 100, 60, 50, NULL), SCPP_DELIVERY_ANSWERED);
	n = drain(32);
	assert_int_equal(count_kind(n, SCPP_WIRE_NOTICE, SCPP_NOTICE_REPLY_LOST), 1);
	assert_int_equal(stats().admitted, 2);
	assert_int_equal(stats().notices[SCPP_NOTICE_REPLY_LOST], 1);
	/* Once the client has been idle for the retention time its window
	 * goes too (the guarantee's documented horizon). */
	NOW += 1001 * MS;
	for (int i = 0; i < 4; i++)
		scpp_delivery_tick(D, NOW);
	assert_int_equal(usage().clients, 0);
	assert_int_equal(stats().clients_expired, 1);
}

static void
test_delivery_memory_pressure_loses_replies_never_at_most_once(void **state)
{
	struct scpp_net_meta a = from(1, 40000);
	unsigned int n;
	(void)state;

	C.cache_entries = 16;
	make();
	for (uint64_t bid = 1000; bid < 1040; bid++)
		assert_int_equal(run(&a, 1, bid, 60, 30, NULL), SCPP_DELIVERY_EXECUTE);
	drain(32);
	assert_int_equal(usage().cache_entries, 16);
	assert_int_equal(stats().cache_pressure, 24);
	/* The 24 oldest lost their replies, not their place in the window. */
	for (uint64_t bid = 1000; bid < 1040; bid++)
		assert_int_equal(run(&a, 1, bid, 60, 30, NULL), SCPP_DELIVERY_ANSWERED);
	n = drain(32);
	assert_int_equal(count_kind(n, SCPP_WIRE_NOTICE, SCPP_NOTICE_REPLY_LOST), 24);
	assert_int_equal(count_kind(n, SCPP_WIRE_REPLY, 0), 16);
	assert_int_equal(stats().admitted, 40);
}

/*
 * Held replies are found through the index of ring slots while the ring
 * wraps twice (every slot reused) with clients interleaved: every
 * retransmission gets its own reply or REPLY_LOST, never another block's,
 * and a reply held longer than its block id stays in the window is still
 * found (STALE only when nothing is held).
 */
static void
test_delivery_held_replies_are_found_through_the_index(void **state)
{
	struct scpp_net_meta a = from(1, 40000), b = from(2, 40000);
	unsigned int n;
	(void)state;

	C.cache_entries = 70000;
	C.cache_bytes = 64 << 20;
	C.retention_ms = 1000000;
	make();
	/* a: 300 blocks; b: 140000 (the ring wraps twice, every slot value is
	 * reused); a: 300 more. a's window holds ids 1..600, of which the
	 * first 300 lost their replies to b's. */
	for (uint64_t i = 0; i < 140600; i++) {
		bool is_b = i >= 300 && i < 140300;
		uint64_t id = is_b ? i - 299 : i < 300 ? i + 1 : i - 140000 + 1;

		assert_int_equal(run(is_b ? &b : &a, 5, id, 40, (uint32_t)(10 + id % 7), NULL),
				 SCPP_DELIVERY_EXECUTE);
		if (i % 64 == 63)
			drain(64);
	}
	drain(64);
	assert_int_equal(usage().cache_entries, 70000);
	for (uint64_t id = 1; id <= 600; id++) {
		struct scpp_delivery_req req = block_req(&a, 5, id, 40, NULL);

		assert_int_equal(scpp_delivery_admit(D, &req, NOW), SCPP_DELIVERY_ANSWERED);
		n = drain(64);
		assert_int_equal(n, 1);
		if (id > 300)
			assert_reply(n, 5, id, (uint32_t)(10 + id % 7));
		else
			assert_int_equal(count_kind(n, SCPP_WIRE_NOTICE, SCPP_NOTICE_REPLY_LOST), 1);
	}
	/* b's whole window is held. */
	for (uint64_t id = 140000 - 1023; id <= 140000; id++) {
		struct scpp_delivery_req req = block_req(&b, 5, id, 40, NULL);

		assert_int_equal(scpp_delivery_admit(D, &req, NOW), SCPP_DELIVERY_ANSWERED);
		n = drain(64);
		assert_reply(n, 5, id, (uint32_t)(10 + id % 7));
		assert_int_equal(S[0].dst_ip, b.peer.ip);
	}
	assert_int_equal(stats().admitted, 140600);
	assert_int_equal(stats().cache_hits, 300 + 1024);
	assert_int_equal(stats().notices[SCPP_NOTICE_REPLY_LOST], 300);
	/* a moves 2000 ids on: its ids up to 1576 leave its window, but the
	 * replies of 601.. are still held and answered; 1..300 are stale. */
	for (uint64_t id = 601; id <= 2600; id++)
		assert_int_equal(run(&a, 5, id, 40, (uint32_t)(10 + id % 7), NULL),
				 SCPP_DELIVERY_EXECUTE);
	drain(64);
	for (uint64_t id = 290; id <= 1000; id++) {
		struct scpp_delivery_req req = block_req(&a, 5, id, 40, NULL);

		assert_int_equal(scpp_delivery_admit(D, &req, NOW), SCPP_DELIVERY_ANSWERED);
		n = drain(64);
		if (id > 300)
			assert_reply(n, 5, id, (uint32_t)(10 + id % 7));
		else
			assert_int_equal(count_kind(n, SCPP_WIRE_NOTICE, SCPP_NOTICE_STALE), 1);
	}
	assert_int_equal(stats().cache_hits, 300 + 1024 + 700);
}

/* Execute with scpp_delivery_reply_commit_frame(): frame bytes in @p frame. */
static uint16_t
commit_frame(const struct scpp_delivery_req *req, uint32_t len, uint8_t *frame, uint32_t room,
	     struct scpp_delivery_direct *t)
{
	uint32_t cap;
	uint8_t *b = scpp_delivery_reply_buf(D, &cap, NOW);

	for (uint32_t i = 0; i < len; i++)
		b[i] = pattern(req->block_id, i);
	return scpp_delivery_reply_commit_frame(D, req, len, NOW, frame, room, t);
}

/*
 * A one-datagram reply built straight into the caller's frame is the very
 * frame the backlog would have built; one the tx queue does not take goes
 * to the backlog; larger replies, too little room and the amplification
 * limit fall back to the backlog (or a NOTICE COOKIE). Counted apart.
 */
static void
test_delivery_direct_frames_equal_queued_ones(void **state)
{
	static uint8_t f1[FRAME_ROOM];
	struct scpp_net_meta a = from(1, 40000);
	struct scpp_delivery_direct t[2];
	struct scpp_delivery_req req;
	uint16_t len;
	unsigned int n;
	(void)state;

	make();
	req = block_req(&a, 9, 500, 60, NULL);
	assert_int_equal(scpp_delivery_admit(D, &req, NOW), SCPP_DELIVERY_EXECUTE);
	len = commit_frame(&req, 150, f1, sizeof(f1), &t[0]);
	assert_int_equal(len, SCPP_NET_L2L4_LEN + SCPP_WIRE_HDR_LEN + 150);
	assert_int_equal(scpp_delivery_tx_pending(D, 0), 0); /* nothing queued */
	scpp_delivery_tx_direct_done(D, t, (const uint8_t *const[]){f1}, 1, 1, NOW);
	/* The retransmission comes from the backlog: the same bytes. */
	assert_int_equal(scpp_delivery_admit(D, &req, NOW), SCPP_DELIVERY_ANSWERED);
	{
		uint16_t lens[SCPP_DELIVERY_TX_BURST];

		assert_int_equal(scpp_delivery_tx_prepare(D, 0, frames, 32, lens, NOW), 1);
		assert_int_equal(lens[0], len);
		assert_memory_equal(frames[0], f1, len);
		scpp_delivery_tx_done(D, 0, 1);
	}
	/* Not taken by the tx queue: queued, sent later, the same reply. */
	req = block_req(&a, 9, 501, 60, NULL);
	assert_int_equal(scpp_delivery_admit(D, &req, NOW), SCPP_DELIVERY_EXECUTE);
	assert_true(commit_frame(&req, 100, f1, sizeof(f1), &t[0]) > 0);
	req = block_req(&a, 9, 502, 60, NULL);
	assert_int_equal(scpp_delivery_admit(D, &req, NOW), SCPP_DELIVERY_EXECUTE);
	assert_true(commit_frame(&req, 120, f1, sizeof(f1), &t[1]) > 0);
	scpp_delivery_tx_direct_done(D, t, (const uint8_t *const[]){f1, f1}, 2, 1, NOW);
	n = drain(32);
	assert_int_equal(n, 1);
	assert_reply(n, 9, 502, 120);
	assert_int_equal(stats().tx_direct, 2);
	assert_int_equal(stats().tx_deferred, 1);
	assert_int_equal(stats().tx_dgrams, 4);
	/* Two datagrams, or a frame too small: the backlog. */
	req = block_req(&a, 9, 503, 1400, NULL);
	assert_int_equal(scpp_delivery_admit(D, &req, NOW), SCPP_DELIVERY_EXECUTE);
	assert_int_equal(commit_frame(&req, 3000, f1, sizeof(f1), &t[0]), 0);
	n = drain(32);
	assert_reply(n, 9, 503, 3000);
	req = block_req(&a, 9, 504, 60, NULL);
	assert_int_equal(scpp_delivery_admit(D, &req, NOW), SCPP_DELIVERY_EXECUTE);
	assert_int_equal(commit_frame(&req, 150, f1, 100, &t[0]), 0);
	n = drain(32);
	assert_reply(n, 9, 504, 150);
	/* Over three times the request without a cookie: NOTICE COOKIE. */
	req = block_req(&a, 9, 505, 40, NULL);
	assert_int_equal(scpp_delivery_admit(D, &req, NOW), SCPP_DELIVERY_EXECUTE);
	assert_int_equal(commit_frame(&req, 400, f1, sizeof(f1), &t[0]), 0);
	n = drain(32);
	assert_int_equal(count_kind(n, SCPP_WIRE_NOTICE, SCPP_NOTICE_COOKIE), 1);
	assert_int_equal(stats().tx_direct, 2);
	assert_accounting();
}

/* commit_frame() after scpp_delivery_admit_read(), with the reply's bytes
 * from @p seed's pattern (a re-evaluation may give other bytes). */
static uint16_t
read_frame(const struct scpp_delivery_req *req, uint64_t seed, uint32_t len, uint8_t *frame,
	   struct scpp_delivery_direct *t)
{
	uint32_t cap;
	uint8_t *b;

	assert_int_equal(scpp_delivery_admit_read(D, req, NOW), SCPP_DELIVERY_EXECUTE);
	b = scpp_delivery_reply_buf(D, &cap, NOW);
	for (uint32_t i = 0; i < len; i++)
		b[i] = pattern(seed, i);
	return scpp_delivery_reply_commit_frame(D, req, len, NOW, frame, FRAME_ROOM, t);
}

/*
 * Read-only blocks (PROTOCOL.md §16.2): a one-datagram reply that leaves at
 * once is neither held nor recorded, so a retransmission is evaluated again
 * (and may see newer values); one the tx queue did not take is held after
 * all, its bytes taken from its frame; a reply of several datagrams or over
 * the amplification limit is held and recorded as any block's, so that a
 * retransmission and a FETCH get those bytes. Keys that ran keep their
 * answers; mutating blocks are untouched. A client needs no window for
 * reads (none made, never BUSY), only for what is recorded.
 */
static void
test_delivery_read_only_replies_are_not_held(void **state)
{
	static uint8_t f1[FRAME_ROOM], f2[FRAME_ROOM];
	struct scpp_net_meta a = from(1, 40000), m;
	struct scpp_delivery_direct t[2];
	struct scpp_delivery_req req, r2;
	struct scpp_delivery_stats st;
	uint8_t ck[SCPP_WIRE_COOKIE_LEN];
	uint16_t len;
	unsigned int n;
	int32_t tk;
	(void)state;

	make();
	/* Unheld: sent, nothing kept; the retransmission runs again. */
	req = block_req(&a, 9, 100, 60, NULL);
	len = read_frame(&req, 100, 150, f1, &t[0]);
	assert_int_equal(len, SCPP_NET_L2L4_LEN + SCPP_WIRE_HDR_LEN + 150);
	assert_true(t[0].pos == SCPP_DELIVERY_UNHELD);
	for (uint32_t i = 0; i < 150; i++)
		assert_int_equal(f1[SCPP_NET_L2L4_LEN + SCPP_WIRE_HDR_LEN + i], pattern(100, i));
	scpp_delivery_tx_direct_done(D, t, (const uint8_t *const[]){f1}, 1, 1, NOW);
	assert_int_equal(usage().cache_entries, 0);
	assert_int_equal(usage().clients, 0);
	assert_int_equal(scpp_delivery_tx_pending(D, 0), 0);
	len = read_frame(&req, 7, 150, f1, &t[0]);
	assert_true(len > 0 && t[0].pos == SCPP_DELIVERY_UNHELD);
	scpp_delivery_tx_direct_done(D, t, (const uint8_t *const[]){f1}, 1, 1, NOW);
	st = stats();
	assert_int_equal(st.reads, 2);
	assert_int_equal(st.reads_unheld, 2);
	assert_int_equal(st.admitted, 2);
	assert_int_equal(st.cache_hits, 0);
	assert_int_equal(st.replies_kept, 0);
	assert_int_equal(st.clients_new, 0);
	assert_int_equal(st.tx_direct, 2);
	/* Not taken by the tx queue: held from the frames (the arena's bytes
	 * were written over by the next reply), sent from the backlog. */
	req = block_req(&a, 9, 101, 60, NULL);
	assert_true(read_frame(&req, 101, 120, f1, &t[0]) > 0);
	r2 = block_req(&a, 9, 102, 60, NULL);
	assert_true(read_frame(&r2, 102, 130, f2, &t[1]) > 0);
	scpp_delivery_tx_direct_done(D, t, (const uint8_t *const[]){f1, f2}, 2, 0, NOW);
	assert_int_equal(stats().reads_held, 2);
	assert_int_equal(stats().tx_deferred, 2);
	n = drain(32);
	assert_int_equal(n, 2);
	assert_reply(n, 9, 101, 120);
	assert_reply(n, 9, 102, 130);
	assert_int_equal(stats().clients_new, 0);
	/* Several datagrams: held and recorded; the retransmission gets those
	 * bytes and does not run. */
	req = block_req(&a, 9, 103, 1400, NULL);
	assert_int_equal(read_frame(&req, 103, 3000, f1, &t[0]), 0);
	n = drain(32);
	assert_reply(n, 9, 103, 3000);
	assert_int_equal(stats().replies_kept, 1);
	assert_int_equal(stats().clients_new, 1);
	assert_int_equal(scpp_delivery_admit_read(D, &req, NOW), SCPP_DELIVERY_ANSWERED);
	n = drain(32);
	assert_reply(n, 9, 103, 3000);
	assert_int_equal(stats().cache_hits, 1);
	/* A mutating block is recorded: its retransmission is answered from
	 * the held reply, never run again. */
	req = block_req(&a, 9, 104, 60, NULL);
	assert_int_equal(scpp_delivery_admit(D, &req, NOW), SCPP_DELIVERY_EXECUTE);
	assert_true(commit_frame(&req, 100, f1, sizeof(f1), &t[0]) > 0);
	assert_true(t[0].pos != SCPP_DELIVERY_UNHELD);
	scpp_delivery_tx_direct_done(D, t, (const uint8_t *const[]){f1}, 1, 1, NOW);
	assert_int_equal(scpp_delivery_admit(D, &req, NOW), SCPP_DELIVERY_ANSWERED);
	n = drain(32);
	assert_reply(n, 9, 104, 100);
	assert_int_equal(stats().cache_hits, 2);
	/* ... and a read-only block sent under its key gets its reply too. */
	assert_int_equal(scpp_delivery_admit_read(D, &req, NOW), SCPP_DELIVERY_ANSWERED);
	n = drain(32);
	assert_reply(n, 9, 104, 100);
	assert_int_equal(stats().cache_hits, 3);
	/* With a window (client 9 has one now), a read is not marked in it. */
	req = block_req(&a, 9, 105, 60, NULL);
	assert_true(read_frame(&req, 105, 90, f1, &t[0]) > 0 && t[0].pos == SCPP_DELIVERY_UNHELD);
	scpp_delivery_tx_direct_done(D, t, (const uint8_t *const[]){f1}, 1, 1, NOW);
	assert_true(read_frame(&req, 105, 90, f1, &t[0]) > 0 && t[0].pos == SCPP_DELIVERY_UNHELD);
	scpp_delivery_tx_direct_done(D, t, (const uint8_t *const[]){f1}, 1, 1, NOW);
	assert_int_equal(stats().replies_kept, 2);
	/* Over three times the request: held for the cookie round trip, which
	 * gets the held bytes, not a new evaluation. */
	m = from(2, 40000);
	req = block_req(&m, 5, 1, 40, NULL);
	assert_int_equal(read_frame(&req, 1, 400, f1, &t[0]), 0);
	n = drain(32);
	assert_int_equal(count_kind(n, SCPP_WIRE_NOTICE, SCPP_NOTICE_COOKIE), 1);
	memcpy(ck, S[n - 1].notice.cookie, sizeof(ck));
	req = block_req(&m, 5, 1, 40, ck);
	assert_int_equal(scpp_delivery_admit_read(D, &req, NOW), SCPP_DELIVERY_ANSWERED);
	n = drain(32);
	assert_reply(n, 5, 1, 400);
	/* A read that parks is recorded: it gets a window, and its
	 * retransmission waits for it. */
	m = from(3, 40000);
	req = block_req(&m, 6, 1, 60, NULL);
	assert_int_equal(scpp_delivery_admit_read(D, &req, NOW), SCPP_DELIVERY_EXECUTE);
	tk = scpp_delivery_park(D, &req, 1, NOW);
	assert_true(tk >= 0);
	assert_int_equal(scpp_delivery_admit_read(D, &req, NOW), SCPP_DELIVERY_ANSWERED);
	assert_int_equal(stats().park_dups, 1);
	assert_int_equal(scpp_delivery_unpark(D, tk, &r2, NULL), 0);
	commit(&r2, 50);
	n = drain(32);
	assert_reply(n, 6, 1, 50);
	assert_int_equal(scpp_delivery_admit_read(D, &req, NOW), SCPP_DELIVERY_ANSWERED);
	drain(32);
	assert_accounting();
}

/* Reads need no window: with every window live, a one-datagram read runs
 * and is answered; one whose reply must be recorded gets NOTICE BUSY. */
static void
test_delivery_read_only_blocks_need_no_window(void **state)
{
	static uint8_t f1[FRAME_ROOM];
	struct scpp_delivery_direct t;
	struct scpp_delivery_req req;
	struct scpp_net_meta m;
	unsigned int n;
	(void)state;

	make(); /* 8 client windows */
	for (unsigned int h = 10; h < 18; h++) {
		m = from(h, 40000);
		assert_int_equal(run(&m, h, 1, 40, 10, NULL), SCPP_DELIVERY_EXECUTE);
	}
	drain(32);
	m = from(30, 40000);
	req = block_req(&m, 30, 1, 60, NULL);
	assert_true(read_frame(&req, 1, 100, f1, &t) > 0);
	scpp_delivery_tx_direct_done(D, &t, (const uint8_t *const[]){f1}, 1, 1, NOW);
	assert_int_equal(stats().reads_unheld, 1);
	req = block_req(&m, 30, 2, 1400, NULL);
	assert_int_equal(read_frame(&req, 2, 3000, f1, &t), 0);
	n = drain(32);
	assert_int_equal(n, 1);
	assert_int_equal(count_kind(n, SCPP_WIRE_NOTICE, SCPP_NOTICE_BUSY), 1);
	assert_int_equal(stats().replies_kept, 8);
	assert_int_equal(usage().clients, 8);
	assert_accounting();
}

static void
test_delivery_window_accepts_out_of_order_refuses_stale(void **state)
{
	struct scpp_net_meta a = from(1, 40000);
	uint64_t top = UINT64_MAX - 5; /* ids wrap: serial-number order */
	unsigned int n;
	(void)state;

	C.cache_entries = 2048;
	C.cache_bytes = 4 << 20;
	make();
	assert_int_equal(run(&a, 3, top, 40, 10, NULL), SCPP_DELIVERY_EXECUTE);
	/* Newer ids across the wrap, then older ones inside the window. */
	assert_int_equal(run(&a, 3, top + 10, 40, 10, NULL), SCPP_DELIVERY_EXECUTE);
	assert_int_equal(run(&a, 3, top + 3, 40, 10, NULL), SCPP_DELIVERY_EXECUTE);
	assert_int_equal(run(&a, 3, top + 10 - (SCPP_DELIVERY_WINDOW - 1), 40, 10, NULL),
			 SCPP_DELIVERY_EXECUTE);
	/* One below the window: refused, whether it ran or not. */
	assert_int_equal(run(&a, 3, top + 10 - SCPP_DELIVERY_WINDOW, 40, 10, NULL),
			 SCPP_DELIVERY_ANSWERED);
	/* Slide the window by a whole width: the old bits go, the new top is
	 * the only one set. */
	assert_int_equal(run(&a, 3, top + 10 + 2 * SCPP_DELIVERY_WINDOW, 40, 10, NULL),
			 SCPP_DELIVERY_EXECUTE);
	assert_int_equal(run(&a, 3, top + 10 + 2 * SCPP_DELIVERY_WINDOW - 5, 40, 10, NULL),
			 SCPP_DELIVERY_EXECUTE);
	assert_int_equal(run(&a, 3, top + 10 + SCPP_DELIVERY_WINDOW, 40, 10, NULL),
			 SCPP_DELIVERY_ANSWERED);
	n = drain(32);
	assert_int_equal(count_kind(n, SCPP_WIRE_NOTICE, SCPP_NOTICE_STALE), 2);
	assert_int_equal(stats().admitted, 6);
	/* A shift by less than a word and by a word plus bits keeps what it must. */
	teardown(NULL);
	make();
	for (uint64_t id = 1; id <= 200; id += 3)
		assert_int_equal(run(&a, 4, id, 40, 10, NULL), SCPP_DELIVERY_EXECUTE);
	for (uint64_t id = 1; id <= 200; id++)
		assert_int_equal(run(&a, 4, id, 40, 10, NULL),
				 id % 3 == 1 ? SCPP_DELIVERY_ANSWERED : SCPP_DELIVERY_EXECUTE);
	drain(32);
}

static void
test_delivery_full_client_table_is_busy_until_one_expires(void **state)
{
	struct scpp_net_meta m;
	unsigned int n;
	(void)state;

	make(); /* 8 client windows, retention 1000 ms */
	for (unsigned int h = 10; h < 18; h++) {
		m = from(h, 40000);
		assert_int_equal(run(&m, h, 1, 40, 10, NULL), SCPP_DELIVERY_EXECUTE);
		NOW += 10 * MS;
	}
	m = from(30, 40000);
	assert_int_equal(run(&m, 30, 1, 40, 10, NULL), SCPP_DELIVERY_ANSWERED);
	n = drain(32);
	assert_int_equal(count_kind(n, SCPP_WIRE_NOTICE, SCPP_NOTICE_BUSY), 1);
	/* The oldest window has 1000 - 80 ms left: the notice says so. */
	assert_int_equal(S[n - 1].notice.retry_ms, 921);
	/* Once it is past the retention time, the newcomer gets its slot. */
	NOW += 921 * MS;
	assert_int_equal(run(&m, 30, 1, 40, 10, NULL), SCPP_DELIVERY_EXECUTE);
	assert_int_equal(stats().clients_expired, 1);
	assert_int_equal(usage().clients, 8);
	/* The client that lost its window is a new client now. */
	m = from(10, 40000);
	assert_int_equal(run(&m, 10, 1, 40, 10, NULL), SCPP_DELIVERY_ANSWERED); /* its reply is held */
	drain(32);
}

/* ---- pacing ---- */

static void
test_delivery_pacing_survives_a_full_tx_ring(void **state)
{
	struct scpp_net_meta a = from(1, 40000), b = from(2, 40000);
	uint8_t ck[SCPP_WIRE_COOKIE_LEN];
	uint32_t big = 100 * 1440 + 77;
	unsigned int n, first_small = 0;
	(void)state;

	C.reply_max = 256 << 10;
	make();
	/* A reply of 101 datagrams (cookie-proven), then a small one. */
	scpp_delivery_cookie(D, &a.peer, 1, NOW, ck);
	assert_int_equal(run(&a, 1, 1, 60, big, ck), SCPP_DELIVERY_EXECUTE);
	assert_int_equal(run(&b, 2, 1, 60, 20, NULL), SCPP_DELIVERY_EXECUTE);
	assert_int_equal(scpp_delivery_tx_pending(D, 0), 101 + 1);
	/* The "NIC" takes 5 frames per burst: nothing is dropped, everything
	 * comes out once, in order. */
	n = drain(5);
	assert_int_equal(n, 102);
	assert_reply(n, 1, 1, big);
	assert_reply(n, 2, 1, 20);
	/* Round-robin: the small reply did not wait for the large one. */
	for (unsigned int i = 0; i < n; i++)
		if (S[i].cid == 2)
			first_small = i;
	assert_true(first_small < 16);
	assert_true(stats().tx_deferred > 0);
	assert_int_equal(stats().tx_dgrams, 102);
	assert_int_equal(scpp_delivery_tx_pending(D, 0), 0);
	assert_int_equal(usage().backlog_jobs, 0);
	/* A ring that takes nothing delays, never drops. */
	assert_int_equal(run(&b, 2, 2, 60, 20, NULL), SCPP_DELIVERY_EXECUTE);
	for (int i = 0; i < 5; i++) {
		uint16_t lens[SCPP_DELIVERY_TX_BURST];

		assert_int_equal(scpp_delivery_tx_prepare(D, 0, frames, 32, lens, NOW), 1);
		scpp_delivery_tx_done(D, 0, 0);
	}
	n = drain(32);
	assert_int_equal(n, 1);
	assert_reply(n, 2, 2, 20);
}

static void
test_delivery_backlog_full_is_counted_and_recovers(void **state)
{
	struct scpp_net_meta a = from(1, 40000);
	struct scpp_delivery_req req;
	unsigned int n;
	(void)state;

	C.backlog = 4;
	make();
	for (uint64_t bid = 1; bid <= 6; bid++)
		assert_int_equal(run(&a, 1, bid, 60, 20, NULL), SCPP_DELIVERY_EXECUTE);
	assert_int_equal(stats().backlog_full, 2);
	n = drain(32);
	assert_int_equal(n, 4);
	/* The two unsent replies are held: a retransmission gets them. */
	req = block_req(&a, 1, 6, 60, NULL);
	assert_int_equal(scpp_delivery_admit(D, &req, NOW), SCPP_DELIVERY_ANSWERED);
	n = drain(32);
	assert_reply(n, 1, 6, 20);
}

static void
test_delivery_reclaimed_bytes_abort_a_queued_reply(void **state)
{
	struct scpp_net_meta a = from(1, 40000);
	uint8_t ck[SCPP_WIRE_COOKIE_LEN];
	unsigned int n;
	(void)state;

	C.cache_bytes = 4 * (uint64_t)C.reply_max;
	make();
	scpp_delivery_cookie(D, &a.peer, 1, NOW, ck);
	/* Five replies of 60000 bytes in a 256 KiB arena before anything is
	 * sent: the fifth does not fit before the end, so it goes to the
	 * start, where the first two are; their jobs are dropped, not sent as
	 * garbage. */
	for (uint64_t bid = 1; bid <= 5; bid++)
		assert_int_equal(run(&a, 1, bid, 60, 60000, ck), SCPP_DELIVERY_EXECUTE);
	assert_int_equal(stats().cache_pressure, 2);
	n = drain(32);
	assert_int_equal(stats().tx_aborted, 2);
	for (unsigned int i = 0; i < n; i++)
		assert_true(S[i].bid >= 3);
	for (uint64_t bid = 3; bid <= 5; bid++)
		assert_reply(n, 1, bid, 60000);
}

/* ---- amplification and cookies ---- */

static void
test_delivery_amplification_limit_and_cookie_round_trip(void **state)
{
	struct scpp_net_meta a = from(1, 40000), a2 = from(1, 40001);
	struct scpp_wire_notice nt;
	uint8_t ck[SCPP_WIRE_COOKIE_LEN], bad[SCPP_WIRE_COOKIE_LEN];
	unsigned int n;
	(void)state;

	make();
	/* A 36-byte request: a reply costing exactly 3 x 36 = 108 bytes goes. */
	assert_int_equal(run(&a, 1, 1, 4, 108 - 32, NULL), SCPP_DELIVERY_EXECUTE);
	n = drain(32);
	assert_reply(n, 1, 1, 76);
	/* One byte more does not: a COOKIE notice instead, and nothing else. */
	assert_int_equal(run(&a, 1, 2, 4, 108 - 32 + 1, NULL), SCPP_DELIVERY_EXECUTE);
	n = drain(32);
	assert_int_equal(n, 1);
	assert_int_equal(S[0].kind, SCPP_WIRE_NOTICE);
	nt = S[0].notice;
	assert_int_equal(nt.code, SCPP_NOTICE_COOKIE);
	assert_int_equal(nt.reply_bytes, 77);
	assert_int_equal(nt.reply_dgrams, 1);
	assert_int_equal(32 + S[0].plen, 60);
	assert_true(32 + S[0].plen <= 3 * 36);
	scpp_delivery_cookie(D, &a.peer, 1, NOW, ck);
	assert_memory_equal(nt.cookie, ck, sizeof(ck));
	assert_int_equal(stats().amp_limited, 1);
	/* A reply of 500 bytes: over 3 x the 36-byte request, and over 3 x
	 * the 52 bytes of the same request with a cookie, so the cookie is
	 * what lets it through. */
	assert_int_equal(run(&a, 1, 3, 4, 500, NULL), SCPP_DELIVERY_EXECUTE);
	n = drain(32);
	assert_true(n == 1 && S[0].notice.code == SCPP_NOTICE_COOKIE);
	assert_int_equal(S[0].notice.reply_bytes, 500);
	assert_int_equal(run(&a, 1, 3, 4, 0, S[0].notice.cookie), SCPP_DELIVERY_ANSWERED);
	n = drain(32);
	assert_reply(n, 1, 3, 500);
	assert_int_equal(stats().cookies_valid, 1);
	/* Cached replays count against the same limit: without the cookie the
	 * same retransmission is cookie-gated again. */
	assert_int_equal(run(&a, 1, 3, 4, 0, NULL), SCPP_DELIVERY_ANSWERED);
	n = drain(32);
	assert_true(n == 1 && S[0].notice.code == SCPP_NOTICE_COOKIE);
	/* A retransmission within the budget needs no cookie (block 2: 109
	 * bytes of reply for a 52-byte request carrying any cookie). */
	assert_int_equal(run(&a, 1, 2, 4, 0, nt.cookie), SCPP_DELIVERY_ANSWERED);
	n = drain(32);
	assert_reply(n, 1, 2, 77);
	assert_int_equal(stats().cookies_valid + stats().cookies_invalid, 1);
	/* A large reply to a cookie-proven source goes out in full at once. */
	assert_int_equal(run(&a, 1, 8, 4, 20000, ck), SCPP_DELIVERY_EXECUTE);
	n = drain(32);
	assert_reply(n, 1, 8, 20000);
	/* A cookie issued to another port, or a forged one, proves nothing. */
	assert_int_equal(run(&a2, 1, 4, 4, 1000, ck), SCPP_DELIVERY_EXECUTE);
	memset(bad, 0x33, sizeof(bad));
	assert_int_equal(run(&a, 1, 5, 4, 1000, bad), SCPP_DELIVERY_EXECUTE);
	n = drain(32);
	assert_int_equal(count_kind(n, SCPP_WIRE_NOTICE, SCPP_NOTICE_COOKIE), 2);
	assert_int_equal(count_kind(n, SCPP_WIRE_REPLY, 0), 0);
	assert_int_equal(stats().cookies_invalid, 2);
	/* Cookies live two periods: the previous one's is still good, the one
	 * before it is not. */
	NOW += (uint64_t)SCPP_DELIVERY_COOKIE_PERIOD_S * 1000 * MS;
	assert_int_equal(run(&a, 1, 6, 4, 1000, ck), SCPP_DELIVERY_EXECUTE);
	NOW += (uint64_t)SCPP_DELIVERY_COOKIE_PERIOD_S * 1000 * MS;
	assert_int_equal(run(&a, 1, 7, 4, 1000, ck), SCPP_DELIVERY_EXECUTE);
	n = drain(32);
	assert_reply(n, 1, 6, 1000);
	assert_int_equal(count_kind(n, SCPP_WIRE_NOTICE, SCPP_NOTICE_COOKIE), 1);
}

static void
test_delivery_status_replies_are_limited_and_not_held(void **state)
{
	struct scpp_net_meta a = from(1, 40000);
	struct scpp_delivery_req req;
	uint32_t cap;
	unsigned int n;
	(void)state;

	make();
	req = block_req(&a, 1, 1, 200, NULL);
	assert_int_equal(scpp_delivery_admit(D, &req, NOW), SCPP_DELIVERY_EXECUTE);
	memset(scpp_delivery_reply_buf(D, &cap, NOW), 0x11, 300);
	scpp_delivery_reply_status(D, &req, 300, NOW);
	n = drain(32);
	assert_int_equal(count_kind(n, SCPP_WIRE_REPLY, 0), 1);
	/* Not held, not in the window: the same block is admitted again. */
	req = block_req(&a, 1, 1, 200, NULL);
	assert_int_equal(scpp_delivery_admit(D, &req, NOW), SCPP_DELIVERY_EXECUTE);
	/* Over the limit: a COOKIE notice that says nothing is held. */
	memset(scpp_delivery_reply_buf(D, &cap, NOW), 0x11, 900);
	scpp_delivery_reply_status(D, &req, 900, NOW);
	n = drain(32);
	assert_int_equal(n, 1);
	assert_int_equal(S[0].notice.code, SCPP_NOTICE_COOKIE);
	assert_int_equal(S[0].notice.reply_bytes, 0);
	req = block_req(&a, 1, 1, 200, NULL);
	assert_int_equal(scpp_delivery_admit(D, &req, NOW), SCPP_DELIVERY_EXECUTE);
	assert_int_equal(stats().cache_hits, 0);
	assert_int_equal(stats().replies_kept, 0);
	scpp_delivery_reply_buf(D, &cap, NOW);
	scpp_delivery_reply_status(D, &req, 10, NOW);
	drain(32);
}

static void
test_delivery_error_rate_limit_per_source_and_total(void **state)
{
	uint32_t a = ip4("198.18.0.1"), b = ip4("198.18.0.9"), c = ip4("198.18.0.10");
	(void)state;

	make(); /* 5 per second per source, 8 in all */
	for (int i = 0; i < 5; i++)
		assert_true(scpp_delivery_error_allowed(D, a, NOW));
	assert_false(scpp_delivery_error_allowed(D, a, NOW));
	for (int i = 0; i < 3; i++)
		assert_true(scpp_delivery_error_allowed(D, b, NOW));
	/* The total is spent: a fresh source is refused too. */
	assert_false(scpp_delivery_error_allowed(D, c, NOW));
	assert_int_equal(stats().errors_allowed, 8);
	assert_int_equal(stats().errors_limited, 2);
	/* Refill at the rate: 200 ms gives source a one token, and the total
	 * one and a bit. */
	NOW += 200 * MS;
	assert_true(scpp_delivery_error_allowed(D, a, NOW));
	assert_false(scpp_delivery_error_allowed(D, a, NOW));
	NOW += 1000 * MS;
	for (int i = 0; i < 5; i++)
		assert_true(scpp_delivery_error_allowed(D, c, NOW));
	/* Rate 0: no error replies at all. */
	teardown(NULL);
	C.error_rate_source = 0;
	make();
	assert_false(scpp_delivery_error_allowed(D, a, NOW));
}

/* ---- FETCH ---- */

static int
fetch(const struct scpp_net_meta *m, uint64_t cid, uint64_t bid,
      const struct scpp_wire_range *r, uint8_t nr, const uint8_t *cookie)
{
	struct scpp_wire_fetch f = {.nranges = nr};
	struct scpp_delivery_in in;
	uint8_t p[SCPP_WIRE_FETCH_LEN(SCPP_WIRE_FETCH_RANGES_MAX)];
	int n;

	memcpy(f.range, r, sizeof(*r) * nr);
	n = scpp_wire_fetch_encode(p, sizeof(p), &f);
	assert_true(n > 0);
	assert_int_equal(rx(m, dgram(SCPP_WIRE_FETCH, cid, bid, 0, 1, p, (uint16_t)n, cookie), &in),
			 SCPP_DELIVERY_FETCH);
	return scpp_delivery_fetch(D, &in.req, in.msg, in.msg_len, NOW);
}

static void
test_delivery_fetch_resends_only_what_is_asked(void **state)
{
	struct scpp_net_meta a = from(1, 40000);
	uint8_t ck[SCPP_WIRE_COOKIE_LEN];
	uint32_t len = 10 * 1440 + 5;
	static const struct scpp_wire_range want[] = {{2, 2}, {7, 1}, {10, UINT32_MAX - 10}};
	unsigned int n;
	(void)state;

	make();
	scpp_delivery_cookie(D, &a.peer, 1, NOW, ck);
	assert_int_equal(run(&a, 1, 9, 60, len, ck), SCPP_DELIVERY_EXECUTE);
	assert_int_equal(drain(32), 11);
	assert_int_equal(fetch(&a, 1, 9, want, 3, ck), 0);
	n = drain(32);
	assert_int_equal(n, 4);
	assert_true(S[0].seq == 2 && S[1].seq == 3 && S[2].seq == 7 && S[3].seq == 10);
	assert_true(S[3].flags & SCPP_WIRE_F_LAST);
	assert_int_equal(S[3].plen, 5);
	for (uint16_t k = 0; k < S[2].plen; k++)
		assert_int_equal(S[2].payload[k], pattern(9, 7 * 1440 + k));
	assert_int_equal(stats().fetch_dgrams, 4);
	/* Past the end: nothing to send. */
	{
		static const struct scpp_wire_range past[] = {{11, 5}};

		assert_int_equal(fetch(&a, 1, 9, past, 1, ck), 0);
		assert_int_equal(drain(32), 0);
	}
	/* Without the cookie, four datagrams are more than 3 x 73 bytes. */
	assert_int_equal(fetch(&a, 1, 9, want, 3, NULL), 0);
	n = drain(32);
	assert_true(n == 1 && S[0].notice.code == SCPP_NOTICE_COOKIE);
	assert_int_equal(S[0].notice.reply_dgrams, 11);
	/* After the reply expires (the client's window kept alive by a later
	 * block): REPLY_LOST; for a block never seen: NO_REPLY. */
	NOW += 900 * MS;
	assert_int_equal(run(&a, 1, 10, 60, 10, NULL), SCPP_DELIVERY_EXECUTE);
	drain(32);
	NOW += 101 * MS;
	scpp_delivery_tick(D, NOW);
	assert_int_equal(stats().cache_expired, 1);
	assert_int_equal(fetch(&a, 1, 9, want, 1, ck), 0);
	assert_int_equal(fetch(&a, 1, 12345, want, 1, ck), 0);
	n = drain(32);
	assert_true(n == 2 && S[0].notice.code == SCPP_NOTICE_REPLY_LOST &&
		    S[1].notice.code == SCPP_NOTICE_NO_REPLY);
	assert_int_equal(scpp_delivery_fetch(D, &(struct scpp_delivery_req){0},
					     (const uint8_t *)"x", 1, NOW), -EINVAL);
	assert_accounting();
}

/* ---- the hash table against a reference model ---- */

static void
test_delivery_tab_matches_a_reference_model(void **state)
{
	enum { KEYS = 300, OPS = 200000 };
	static uint64_t keys[KEYS][3];
	static bool in[KEYS];
	static uint32_t val[KEYS];
	static uint8_t mem[1 << 16];
	const uint64_t seed[5] = {1, 2, 3, 4, 5};
	struct dlv_tab t;
	uint64_t rnd = 77;
	unsigned int count = 0;
	(void)state;

	assert_true(dlv_tab_mem(KEYS, 24) <= sizeof(mem));
	dlv_tab_init(&t, mem, KEYS, 24, seed);
	for (int i = 0; i < KEYS; i++) {
		/* Keys that differ in one word only: the hash must mix all. */
		keys[i][0] = (uint64_t)(i % 7);
		keys[i][1] = (uint64_t)(i / 7);
		keys[i][2] = 42;
	}
	for (int op = 0; op < OPS; op++) {
		unsigned int k = (unsigned int)test_rand_below(&rnd, KEYS);
		uint32_t *v = dlv_tab_find(&t, keys[k]);

		assert_int_equal(v != NULL, in[k]);
		if (v != NULL)
			assert_int_equal(*v, val[k]);
		if (in[k] && test_rand_below(&rnd, 2) == 0) {
			assert_true(dlv_tab_del(&t, keys[k]));
			assert_false(dlv_tab_del(&t, keys[k]));
			in[k] = false;
			count--;
		} else if (!in[k]) {
			val[k] = (uint32_t)op;
			dlv_tab_insert(&t, keys[k], val[k]);
			in[k] = true;
			count++;
		}
		assert_int_equal(t.count, count);
	}
	for (int k = 0; k < KEYS; k++)
		assert_int_equal(dlv_tab_find(&t, keys[k]) != NULL, in[k]);
}

/* A FORWARD message: header for client 198.18.0.1:40000, then @p inner. */
static size_t
fwd_msg(uint8_t *out, uint8_t kind, uint32_t client_ip, const uint8_t *ck, const uint8_t *inner,
	size_t ilen)
{
	struct scpp_wire_fwd f;
	int n;

	memset(&f, 0, sizeof(f));
	f.inner_kind = kind;
	f.hops = 1;
	f.origin = 5;
	f.client_ip = client_ip;
	f.client_port = 40000;
	f.client_mac[0] = 2;
	f.client_mac[5] = 1;
	f.req_bytes = 99;
	if (ck != NULL) {
		f.flags = SCPP_WIRE_FWD_F_COOKIE;
		memcpy(f.cookie, ck, SCPP_WIRE_COOKIE_LEN);
	}
	n = scpp_wire_fwd_encode(out, 64, &f);
	assert_int_equal(n, 44);
	memcpy(out + n, inner, ilen);
	return (size_t)n + ilen;
}

/*
 * A request another node forwarded is the client's request: its key,
 * cookie, request bytes and reply address are the client's, so the owner
 * answers the client and a retransmission by either path is answered from
 * the held reply, never run twice.
 */
static void
test_delivery_forwarded_request_is_the_clients(void **state)
{
	struct scpp_net_meta peer = from(5, 7300), client = from(1, 40000);
	struct scpp_delivery_in in;
	struct scpp_delivery_req req;
	struct scpp_wire_fetch f = {.owner = {7, 8}, .nranges = 1, .range = {{0, 1}}};
	uint8_t msg[3000], inner[2000], ck[SCPP_WIRE_COOKIE_LEN], fp[64];
	unsigned int n;
	size_t len;
	(void)state;

	make();
	memset(ck, 0xcc, sizeof(ck));
	for (int i = 0; i < 2000; i++)
		inner[i] = pattern(3, (uint32_t)i);
	len = fwd_msg(msg, SCPP_WIRE_BLOCK, client.peer.ip, ck, inner, 40);
	assert_int_equal(rx(&peer, dgram(SCPP_WIRE_FORWARD, 9, 10, 0, 1, msg, (uint16_t)len, NULL),
			    &in), SCPP_DELIVERY_BLOCK);
	assert_int_equal(in.req.kind, SCPP_WIRE_BLOCK);
	assert_true(in.req.peer.ip == client.peer.ip && in.req.peer.udp_port == htons(40000));
	assert_memory_equal(in.req.peer.mac.addr_bytes, client.peer.mac.addr_bytes, 6);
	assert_true(in.req.peer.local_ip == peer.peer.local_ip);
	assert_true(in.req.peer.local_udp_port == peer.peer.local_udp_port);
	assert_int_equal(in.req.req_bytes, 99);
	assert_true(in.req.has_cookie && memcmp(in.req.cookie, ck, 16) == 0);
	assert_true(in.req.client_id == 9 && in.req.block_id == 10);
	assert_int_equal(in.fwd.hops, 1);
	assert_int_equal(in.fwd.origin, 5);
	assert_true(in.fwd.from_ip == peer.peer.ip);
	assert_int_equal(in.msg_len, 40);
	assert_memory_equal(in.msg, inner, 40);
	req = in.req;
	assert_int_equal(scpp_delivery_admit(D, &req, NOW), SCPP_DELIVERY_EXECUTE);
	commit(&req, 100);
	n = drain(32);
	assert_int_equal(n, 1);
	assert_true(S[0].kind == SCPP_WIRE_REPLY && S[0].dst_ip == client.peer.ip &&
		    S[0].dst_port == htons(40000));
	/* Forwarded again (a retransmission through the forwarder), and sent
	 * by the client itself: both answered from the held reply. */
	assert_int_equal(rx(&peer, dgram(SCPP_WIRE_FORWARD, 9, 10, 0, 1, msg, (uint16_t)len, NULL),
			    &in), SCPP_DELIVERY_BLOCK);
	assert_int_equal(scpp_delivery_admit(D, &in.req, NOW), SCPP_DELIVERY_ANSWERED);
	req = block_req(&client, 9, 10, 40, NULL);
	assert_int_equal(scpp_delivery_admit(D, &req, NOW), SCPP_DELIVERY_ANSWERED);
	assert_int_equal(stats().cache_hits, 2);
	assert_int_equal(stats().admitted, 1);
	drain(32);

	/* Reassembled from two fragments of the forwarder's. */
	len = fwd_msg(msg, SCPP_WIRE_BLOCK, client.peer.ip, NULL, inner, 2000);
	assert_int_equal(rx(&peer, dgram(SCPP_WIRE_FORWARD, 9, 11, 0, 2, msg, 1400, NULL), &in),
			 SCPP_DELIVERY_HELD);
	assert_int_equal(rx(&peer, dgram(SCPP_WIRE_FORWARD, 9, 11, 1, 2, msg + 1400,
					 (uint16_t)(len - 1400), NULL), &in),
			 SCPP_DELIVERY_BLOCK);
	assert_true(in.slot >= 0 && in.msg_len == 2000 && !in.req.has_cookie);
	assert_memory_equal(in.msg, inner, 2000);
	assert_true(in.req.peer.ip == client.peer.ip);
	scpp_delivery_release(D, in.slot);

	/* A forwarded FETCH is routed by its owner like the client's. */
	assert_int_equal(scpp_wire_fetch_encode(fp, sizeof(fp), &f), 25);
	len = fwd_msg(msg, SCPP_WIRE_FETCH, client.peer.ip, NULL, fp, 25);
	assert_int_equal(rx(&peer, dgram(SCPP_WIRE_FORWARD, 9, 10, 0, 1, msg, (uint16_t)len, NULL),
			    &in), SCPP_DELIVERY_FETCH);
	assert_true(in.owner.hi == 7 && in.owner.lo == 8 && in.req.kind == SCPP_WIRE_FETCH);

	/* Refused: a client address no reply may go to, a header that does
	 * not decode, a bad inner FETCH; reassembled, its slot is freed. */
	len = fwd_msg(msg, SCPP_WIRE_BLOCK, ip4("127.0.0.1"), NULL, inner, 40);
	assert_int_equal(rx(&peer, dgram(SCPP_WIRE_FORWARD, 9, 12, 0, 1, msg, (uint16_t)len, NULL),
			    &in), SCPP_DELIVERY_DROP);
	assert_int_equal(in.drop, SCPP_DELIVERY_DROP_FWD_BAD);
	len = fwd_msg(msg, SCPP_WIRE_BLOCK, client.peer.ip, NULL, inner, 40);
	msg[0] = 2;
	assert_int_equal(rx(&peer, dgram(SCPP_WIRE_FORWARD, 9, 12, 0, 1, msg, (uint16_t)len, NULL),
			    &in), SCPP_DELIVERY_DROP);
	assert_int_equal(in.drop, SCPP_DELIVERY_DROP_FWD_BAD);
	len = fwd_msg(msg, SCPP_WIRE_FETCH, client.peer.ip, NULL, fp, 17);
	assert_int_equal(rx(&peer, dgram(SCPP_WIRE_FORWARD, 9, 12, 0, 1, msg, (uint16_t)len, NULL),
			    &in), SCPP_DELIVERY_DROP);
	assert_int_equal(in.drop, SCPP_DELIVERY_DROP_FWD_BAD);
	len = fwd_msg(msg, SCPP_WIRE_BLOCK, client.peer.ip, NULL, inner, 2000);
	msg[2] = 0; /* hops 0 */
	assert_int_equal(rx(&peer, dgram(SCPP_WIRE_FORWARD, 9, 13, 0, 2, msg, 1400, NULL), &in),
			 SCPP_DELIVERY_HELD);
	assert_int_equal(rx(&peer, dgram(SCPP_WIRE_FORWARD, 9, 13, 1, 2, msg + 1400,
					 (uint16_t)(len - 1400), NULL), &in),
			 SCPP_DELIVERY_DROP);
	assert_int_equal(in.slot, -1);
	assert_int_equal(stats().forward_bad, 1);
	assert_int_equal(usage().reasm_in_use, 0);
	assert_int_equal(stats().forwarded_in, 4);
	/* A fragment of a FORWARD never joins a BLOCK with the same ids. */
	assert_int_equal(rx(&peer, dgram(SCPP_WIRE_FORWARD, 9, 14, 0, 2, msg, 100, NULL), &in),
			 SCPP_DELIVERY_HELD);
	assert_int_equal(rx(&peer, dgram(SCPP_WIRE_BLOCK, 9, 14, 1, 2, msg, 100, NULL), &in),
			 SCPP_DELIVERY_DROP);
	assert_int_equal(in.drop, SCPP_DELIVERY_DROP_REASM_MISMATCH);
	assert_accounting();
}

/*
 * Parking: an admitted request leaves the admission slot to others and
 * waits, still admitted; its retransmissions are neither run nor told
 * "lost"; resumed (or expired) it is committed like any other; the slots
 * are bounded, and a request that finds none is refused (and may run
 * later).
 */
static void
test_delivery_parks_admitted_requests(void **state)
{
	struct scpp_net_meta a = from(1, 40000), b = from(2, 40000);
	struct scpp_delivery_req ra, rb, rc, rd, got;
	uint64_t user = 0;
	int32_t ta, tb, td;
	unsigned int n;
	(void)state;

	C.parked = 2;
	C.park_timeout_ms = 100;
	make();
	assert_int_equal(usage().parked_capacity, 2);
	ra = block_req(&a, 1, 10, 40, NULL);
	assert_int_equal(scpp_delivery_admit(D, &ra, NOW), SCPP_DELIVERY_EXECUTE);
	ta = scpp_delivery_park(D, &ra, 111, NOW);
	assert_true(ta >= 0);
	assert_int_equal(usage().parked, 1);
	/* Another client's block runs meanwhile (the slot is free). */
	assert_int_equal(run(&b, 2, 20, 40, 100, NULL), SCPP_DELIVERY_EXECUTE);
	/* A's retransmission: nothing now, not run again. */
	ra = block_req(&a, 1, 10, 40, NULL);
	assert_int_equal(scpp_delivery_admit(D, &ra, NOW), SCPP_DELIVERY_ANSWERED);
	assert_int_equal(stats().park_dups, 1);
	n = drain(32);
	assert_int_equal(n, 1); /* B's reply only */
	assert_true(S[0].cid == 2);
	/* A's next block is another request: it runs (and parks too). */
	rb = block_req(&a, 1, 11, 40, NULL);
	assert_int_equal(scpp_delivery_admit(D, &rb, NOW), SCPP_DELIVERY_EXECUTE);
	tb = scpp_delivery_park(D, &rb, 222, NOW);
	assert_true(tb >= 0 && tb != ta);
	/* Full: the third is refused, still pending, answered unrecorded. */
	rc = block_req(&b, 2, 21, 40, NULL);
	assert_int_equal(scpp_delivery_admit(D, &rc, NOW), SCPP_DELIVERY_EXECUTE);
	assert_int_equal(scpp_delivery_park(D, &rc, 333, NOW), -ENOSPC);
	assert_int_equal(stats().park_full, 1);
	{
		uint32_t cap;

		(void)scpp_delivery_reply_buf(D, &cap, NOW);
		scpp_delivery_reply_status(D, &rc, 50, NOW);
	}
	/* Resumed: A's first block is the pending request again; its reply
	 * goes to A, and is held (a retransmission gets it). */
	assert_int_equal(scpp_delivery_unpark(D, ta, &got, &user), 0);
	assert_int_equal(user, 111);
	assert_true(got.block_id == 10 && got.peer.ip == a.peer.ip);
	commit(&got, 100);
	assert_int_equal(scpp_delivery_unpark(D, ta, &got, NULL), -ENOENT);
	assert_int_equal(scpp_delivery_unpark(D, 99, &got, NULL), -ENOENT);
	drain(32);
	ra = block_req(&a, 1, 10, 40, NULL);
	assert_int_equal(scpp_delivery_admit(D, &ra, NOW), SCPP_DELIVERY_ANSWERED);
	n = drain(32);
	assert_reply(n, 1, 10, 100);
	/* The refused block was not recorded: sent again, it runs. */
	rc = block_req(&b, 2, 21, 40, NULL);
	assert_int_equal(scpp_delivery_admit(D, &rc, NOW), SCPP_DELIVERY_EXECUTE);
	commit(&rc, 10);
	/* Expiry: nothing before the time, then the parked one, pending. */
	assert_int_equal(scpp_delivery_park_expired(D, NOW, &got, NULL), -ENOENT);
	rd = block_req(&b, 2, 22, 40, NULL);
	assert_int_equal(scpp_delivery_admit(D, &rd, NOW), SCPP_DELIVERY_EXECUTE);
	td = scpp_delivery_park(D, &rd, 444, NOW);
	assert_true(td >= 0);
	NOW += 150 * MS;
	for (int i = 0; i < 2; i++) {
		int32_t t = scpp_delivery_park_expired(D, NOW, &got, &user);

		assert_true(t == tb || t == td);
		commit(&got, 20); /* "outcome unknown", recorded */
	}
	assert_int_equal(scpp_delivery_park_expired(D, NOW, &got, NULL), -ENOENT);
	assert_int_equal(stats().park_expired, 2);
	assert_int_equal(stats().parks, 3);
	assert_int_equal(stats().unparks, 1);
	assert_int_equal(usage().parked, 0);
	drain(32);
	rd = block_req(&b, 2, 22, 40, NULL);
	assert_int_equal(scpp_delivery_admit(D, &rd, NOW), SCPP_DELIVERY_ANSWERED);
	assert_int_equal(stats().admitted, 6);
	teardown(NULL);
	/* Settings: the timeout must stay within half the retention. */
	C.park_timeout_ms = C.retention_ms / 2 + 1;
	assert_null(scpp_delivery_create(&C));
	C.park_timeout_ms = 0;
	C.parked = 65537;
	assert_null(scpp_delivery_create(&C));
}

/*
 * dlv_ckey_of() writes ip, port and session as one 8-byte word (for the
 * store buffer); its bytes must be those of the struct filled field by
 * field, for every session bit pattern and extreme address and port.
 */
static void
test_delivery_client_key_is_the_fields(void **state)
{
	static const uint32_t ips[] = {0, 1, 0x0100a8c0u, 0x80000000u, 0xffffffffu};
	static const uint16_t ports[] = {0, 1, 0x1234, 0x8000, 0xffff};
	struct scpp_delivery_req r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.client_id = UINT64_C(0x0123456789abcdef);
	for (size_t i = 0; i < sizeof(ips) / sizeof(ips[0]); i++)
		for (size_t j = 0; j < sizeof(ports) / sizeof(ports[0]); j++)
			for (unsigned int sess = 0; sess < 256; sess++) {
				struct dlv_ckey want, got;

				r.peer.ip = ips[i];
				r.peer.udp_port = ports[j];
				r.session = (uint8_t)sess;
				memset(&want, 0, sizeof(want));
				want.ip = ips[i];
				want.port = ports[j];
				want.session = (uint16_t)(sess & SCPP_DELIVERY_SESSION);
				want.client_id = r.client_id;
				want.block_id = UINT64_C(0xfedcba9876543210) ^ sess;
				got = dlv_ckey_of(&r, want.block_id);
				assert_memory_equal(&got, &want, sizeof(want));
			}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_delivery_create_rejects_each_bad_field),
		T(test_delivery_rx_sorts_datagrams_and_counts_drops),
		T(test_delivery_forwarded_request_is_the_clients),
		T(test_delivery_parks_admitted_requests),
		T(test_delivery_reassembles_in_any_order_by_five_tuple),
		T(test_delivery_reassembly_mismatch_discards_and_counts_each_fragment),
		T(test_delivery_reassembly_quota_overflow_and_timeout_per_frame),
		T(test_delivery_retransmission_is_answered_not_executed),
		T(test_delivery_cache_retention_is_by_time_then_reply_lost),
		T(test_delivery_memory_pressure_loses_replies_never_at_most_once),
		T(test_delivery_held_replies_are_found_through_the_index),
		T(test_delivery_direct_frames_equal_queued_ones),
		T(test_delivery_read_only_replies_are_not_held),
		T(test_delivery_read_only_blocks_need_no_window),
		T(test_delivery_window_accepts_out_of_order_refuses_stale),
		T(test_delivery_full_client_table_is_busy_until_one_expires),
		T(test_delivery_pacing_survives_a_full_tx_ring),
		T(test_delivery_backlog_full_is_counted_and_recovers),
		T(test_delivery_reclaimed_bytes_abort_a_queued_reply),
		T(test_delivery_amplification_limit_and_cookie_round_trip),
		T(test_delivery_status_replies_are_limited_and_not_held),
		T(test_delivery_error_rate_limit_per_source_and_total),
		T(test_delivery_fetch_resends_only_what_is_asked),
		T(test_delivery_tab_matches_a_reference_model),
		T(test_delivery_client_key_is_the_fields),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
