/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target for the packet path: raw frames through lib/net, datagrams
 * through lib/delivery (reassembly, admission, the reply cache, cookies,
 * FETCH, the tx backlog) and BLOCK messages through lib/wire's incremental
 * decoder, with the time advanced and the backlog drained in between, as a
 * worker does (no EAL: plain memory, a fake clock).
 *
 * Input: a sequence of records, each one opcode byte, a 16-bit little-endian
 * length and that many bytes (cut short at the end of the input):
 *
 *   op & 3 == 0  a frame for port 0; op bits 2-5 pick its rx checksum flags
 *                (so the fuzzer can skip checksums, or have them verified)
 *   op & 3 == 1  advance the clock by (length + 1) x 10 ms (timeouts,
 *                retention, cookie periods); the bytes are ignored
 *   op & 3 == 2  drain the backlog through a tx ring taking (length % 33)
 *                frames per burst, a few bursts
 *   op & 3 == 3  a UDP payload delivered directly, from a source picked by
 *                op bits 2-4 (to reach delivery without framing)
 *
 * Properties checked (abort on violation): every frame and datagram is
 * counted exactly once (lib/net's and lib/delivery's accounting identities
 * hold after every record, and the backlog's datagram count agrees with its
 * jobs); every frame built for sending is at most
 * MTU + 14 bytes, parses as a well-formed datagram of ours, and, when it is
 * a REPLY, is within the reply it was cut from; decoding a block up to its
 * owner and then on gives what the whole-block decoder gives.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mbuf_core.h>

#include "scpp_delivery.h"
#include "scpp_net.h"
#include "scpp_wire.h"

#define CHECK(x)                                                              \
	do {                                                                  \
		if (!(x))                                                     \
			abort();                                              \
	} while (0)

#define MS UINT64_C(1000000)
#define MTU 1500

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct scpp_net net;
static struct scpp_wire_block blk, whole;
static uint8_t frame[MTU + 64];
static uint8_t txmem[32][MTU + 64];

static const uint64_t cksum_flags[] = {
	0,
	RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD,
	RTE_MBUF_F_RX_IP_CKSUM_NONE | RTE_MBUF_F_RX_L4_CKSUM_NONE,
	RTE_MBUF_F_RX_IP_CKSUM_BAD,
	RTE_MBUF_F_RX_L4_CKSUM_BAD | RTE_MBUF_F_RX_IP_CKSUM_GOOD,
	RTE_MBUF_F_RX_IP_CKSUM_GOOD,
};

static void
net_setup(void)
{
	struct scpp_net_port p = {.ip = 0x020012c6 /* 198.18.0.2 */, .bcast = 0xff0012c6,
				  .mtu = MTU};

	if (net.nb_ports != 0)
		return;
	p.mac.addr_bytes[0] = 2;
	p.mac.addr_bytes[5] = 2;
	scpp_net_init(&net);
	CHECK(scpp_net_port_set(&net, 0, &p) == 0);
	for (uint16_t u = 7300; u <= 7302; u++)
		scpp_net_udp_serve(&net, u, true);
}

static struct scpp_delivery *
make(void)
{
	struct scpp_delivery_conf c = {
		.name = "fuzz", .mem = &scpp_delivery_mem_libc, .net = &net,
		.tsc_hz = 1000 * MS, .retention_ms = 500, .cache_entries = 32,
		.cache_bytes = 4 * 8192, .reply_max = 8192, .clients = 16, .reasm_slots = 8,
		.reasm_per_source = 3, .reasm_timeout_ms = 100, .max_fragments = 8, .backlog = 32,
		.error_rate_source = 5, .error_rate_total = 10,
	};

	memset(c.cookie_key, 0x42, sizeof(c.cookie_key));
	return scpp_delivery_create(&c);
}

/* Accounting identities of both libraries. */
static void
check_counts(const struct scpp_net_stats *ns, struct scpp_delivery *d)
{
	struct scpp_delivery_stats st;
	struct scpp_delivery_usage u;
	uint64_t drops = 0;

	for (int i = 0; i < SCPP_NET_DROP_COUNT; i++)
		drops += ns->drops[i];
	CHECK(ns->rx_frames == ns->delivered + ns->arp_replies + ns->icmp_echo + ns->arp_learned +
	      drops);
	scpp_delivery_stats_get(d, &st);
	scpp_delivery_usage_get(d, &u);
	drops = 0;
	for (int i = 0; i < SCPP_DELIVERY_DROP_COUNT; i++)
		drops += st.drops[i];
	CHECK(st.dgrams == st.consumed + drops + u.reasm_frames);
	CHECK(u.cache_entries <= u.cache_capacity && u.clients <= u.clients_capacity);
	CHECK(u.reasm_in_use <= u.reasm_slots && u.backlog_jobs <= u.backlog_capacity);
	/* Every queued response has a datagram left to send. */
	CHECK((scpp_delivery_tx_pending(d, 0) == 0) == (u.backlog_jobs == 0));
	CHECK(scpp_delivery_tx_pending(d, 0) >= u.backlog_jobs);
}

/* A reply for an executed block: its size comes from the block. */
static void
execute(struct scpp_delivery *d, const struct scpp_delivery_req *req, uint64_t now)
{
	struct scpp_wire_reply_writer w;
	uint32_t cap;
	uint8_t *buf = scpp_delivery_reply_buf(d, &cap, now);
	static uint8_t pad[4096];
	struct scpp_value v = scpp_value_bytes(pad, (uint32_t)(blk.nterms * 97 % sizeof(pad)));

	CHECK(cap >= 64);
	scpp_wire_reply_writer_init(&w, buf, cap);
	CHECK(scpp_wire_reply_columns(&w, NULL, 0) == 0);
	if (blk.ncmds > 0)
		(void)scpp_wire_reply_row(&w, &v);
	CHECK(scpp_wire_reply_end(&w, 0, SCPP_OUTCOME_OK, 0, blk.ncmds, 0) == 0);
	scpp_delivery_reply_commit(d, req, (uint32_t)w.len, now);
}

static void
block(struct scpp_delivery *d, const struct scpp_delivery_in *in, uint64_t now)
{
	struct scpp_wire_block_cursor bc;
	struct scpp_oid owner;
	uint32_t off = 0, off2 = 0;
	int rc, whole_rc;

	rc = scpp_wire_block_decode_begin(&bc, in->msg, in->msg_len, &blk, &off);
	if (rc == 0)
		rc = scpp_wire_block_decode_owner(&bc, &blk, &owner, &off);
	if (rc >= 0 && scpp_delivery_admit(d, &in->req, now) == SCPP_DELIVERY_ANSWERED)
		return;
	if (rc == 1)
		while ((rc = scpp_wire_block_decode_next(&bc, &blk, &off)) == 1)
			;
	whole_rc = scpp_wire_block_decode(in->msg, in->msg_len, &whole, &off2);
	CHECK(rc == whole_rc && (rc != 0 || scpp_wire_block_equal(&blk, &whole)));
	CHECK(rc == 0 || off == off2);
	if (rc == 0) {
		execute(d, &in->req, now);
	} else if (scpp_delivery_error_allowed(d, in->req.peer.ip, now)) {
		uint32_t cap;
		uint8_t *b = scpp_delivery_reply_buf(d, &cap, now);

		memset(b, 0x13, 200);
		scpp_delivery_reply_status(d, &in->req, 200, now);
	}
}

static void
deliver(struct scpp_delivery *d, const struct scpp_net_meta *nm, const uint8_t *p, uint64_t now)
{
	struct scpp_delivery_in in;

	switch (scpp_delivery_rx(d, nm, p, now, &in)) {
	case SCPP_DELIVERY_BLOCK:
		CHECK(in.msg_len <= 8u * (MTU - 60));
		block(d, &in, now);
		scpp_delivery_release(d, in.slot);
		break;
	case SCPP_DELIVERY_FETCH:
		CHECK(scpp_delivery_fetch(d, &in.req, in.msg, in.msg_len, now) == 0);
		break;
	case SCPP_DELIVERY_DROP:
		CHECK(in.drop < SCPP_DELIVERY_DROP_COUNT);
		break;
	default:
		break;
	}
}

static void
drain(struct scpp_delivery *d, unsigned int ring, uint64_t now)
{
	uint8_t *frames[32];
	uint16_t lens[32];

	for (int i = 0; i < 32; i++)
		frames[i] = txmem[i];
	for (int round = 0; round < 8; round++) {
		uint16_t made = scpp_delivery_tx_prepare(d, 0, frames, 32, lens, now);
		uint16_t sent = (uint16_t)(made < ring ? made : ring);

		for (uint16_t i = 0; i < made; i++) {
			struct scpp_wire_hdr h;

			CHECK(lens[i] > SCPP_NET_L2L4_LEN && lens[i] <= MTU + 14);
			CHECK(scpp_wire_hdr_decode(frames[i] + SCPP_NET_L2L4_LEN,
						   lens[i] - SCPP_NET_L2L4_LEN, &h) == 0);
			CHECK(h.kind == SCPP_WIRE_REPLY || h.kind == SCPP_WIRE_NOTICE);
			if (h.kind == SCPP_WIRE_NOTICE) {
				struct scpp_wire_notice n;

				CHECK(scpp_wire_notice_decode(h.payload, h.payload_len, &n) == 0);
			}
		}
		scpp_delivery_tx_done(d, 0, sent);
		if (made == 0)
			break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scpp_net_stats ns;
	struct scpp_delivery *d;
	uint64_t now = 1000 * MS;
	size_t pos = 0;

	net_setup();
	d = make();
	CHECK(d != NULL);
	memset(&ns, 0, sizeof(ns));
	while (pos + 3 <= size) {
		uint8_t op = data[pos];
		size_t len = (size_t)data[pos + 1] | (size_t)data[pos + 2] << 8;
		const uint8_t *p = data + pos + 3;
		struct scpp_net_meta nm;

		pos += 3;
		if (len > size - pos)
			len = size - pos;
		pos += len;
		switch (op & 3) {
		case 0:
			if (len > sizeof(frame))
				break;
			memcpy(frame, p, len);
			if (scpp_net_rx(&net, 0, frame, (uint32_t)len, (uint32_t)len,
					cksum_flags[(op >> 2) % SCPP_ARRAY_SIZE(cksum_flags)], &nm,
					&ns) == SCPP_NET_DELIVER) {
				CHECK((size_t)nm.l4_off + nm.l4_len <= len);
				deliver(d, &nm, frame + nm.l4_off, now);
			}
			break;
		case 1:
			now += (len + 1) * 10 * MS;
			scpp_delivery_tick(d, now);
			break;
		case 2:
			drain(d, len % 33, now);
			break;
		default:
			if (len > MTU - 28)
				break;
			memset(&nm, 0, sizeof(nm));
			nm.peer.ip = 0x010012c6 + ((uint32_t)((op >> 2) & 7) << 24);
			nm.peer.local_ip = 0x020012c6;
			nm.peer.udp_port = (uint16_t)(0x4000 + ((op >> 5) & 3));
			nm.peer.local_udp_port = 0x841c; /* 7300 */
			nm.peer.mac.addr_bytes[0] = 2;
			nm.l4_len = (uint16_t)len;
			memcpy(frame, p, len);
			deliver(d, &nm, frame, now);
			break;
		}
		check_counts(&ns, d);
	}
	drain(d, 32, now);
	check_counts(&ns, d);
	scpp_delivery_free(d);
	return 0;
}
