/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * scpp-perf: a traffic generator for scpp command blocks, in the style of
 * testpmd's txonly/flowgen and pktgen-dpdk.
 *
 *   scpp-perf [EAL options] -- [options]      (scpp-perf -- --help)
 *
 * Design notes
 * ------------
 * - One lcore does everything: build blocks, transmit, receive, match
 *   replies, time out. The device under test gets the other CPU.
 * - Every block is one BLOCK message with block_id = a sequence number.
 *   The send TSC is kept in a slot table indexed by sequence & mask, so a
 *   reply's block_id gives the round trip without anything inside the
 *   reply. A slot still outstanding when its index comes round again is
 *   counted as a timeout of kind "overrun".
 * - Replies are streams cut into datagrams (docs/PROTOCOL.md §6). In the
 *   measuring path the generator keeps only the last 40 bytes of each
 *   stream and decodes the END record backwards from the LAST datagram:
 *   every field of END is a varint or a byte below 0x80, so each field's
 *   start is found by walking back over continuation bytes. --verify (and
 *   the population phase) reassemble whole replies and decode every record
 *   with lib/wire's reply reader instead.
 * - --baseline: the device under test is an I/O forwarder (testpmd io or
 *   macswap), so the "reply" is the block itself; a BLOCK datagram of ours
 *   with LAST completes its block.
 * - Open loop (--rate): a token bucket on the TSC, at most --burst blocks
 *   per loop iteration. Closed loop (--window): at most W blocks
 *   outstanding. Frames that the TX queue does not take stay queued (back
 *   pressure) rather than being dropped, so a closed loop never loses
 *   blocks on its own side.
 * - Everything is bounded: population has a time limit, the measurement
 *   --duration, and the drain at the end --timeout-ms.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_udp.h>
#include <rte_version.h>

#include "scpp_auth.h"
#include "scpp_lang.h"
#include "scpp_value.h"
#include "scpp_wire.h"

#include "perf_priv.h"

#define RX_BURST 64
#define TXQ_MAX 1024
#define FULL_SLOTS 64           /* slots with reassembly buffers (verify, population) */
#define FULL_BUF (128 * 1024)   /* bytes per reassembly buffer */
#define TAIL 40                 /* bytes of reply stream kept for the END record */
#define HDRS (sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr) + \
	      sizeof(struct rte_udp_hdr))

/* One outstanding block. Hot: touched on send, on every reply datagram and
 * by the timeout scan. */
struct slot {
	uint64_t seq;        /* block_id it holds */
	uint64_t tsc;        /* send time */
	uint32_t next_frag;  /* next expected reply sequence number */
	uint16_t ncmds;      /* wire commands in the block */
	uint8_t state;       /* SLOT_* */
	uint8_t tail_len;
	uint8_t tail[TAIL];
};
_Static_assert(sizeof(struct slot) == 64, "one slot per cache line");

enum { SLOT_FREE, SLOT_OUT };

enum phase { PH_PROBE, PH_POPULATE, PH_WARMUP, PH_MEASURE, PH_DRAIN };

/* Counters; summed per second and in total. */
struct counters {
	uint64_t tx_pkts, tx_bytes, tx_blocks, tx_cmds;
	uint64_t rx_pkts, rx_bytes, rx_blocks, rx_cmds;
	uint64_t ok, errors, aborted;     /* END outcomes */
	uint64_t bad_reply;               /* END missing or malformed */
	uint64_t verify_fail;             /* --verify: a row differs from the model */
	uint64_t timeout, overrun;        /* timeouts by reason */
	uint64_t rx_late;                 /* reply to a block no longer outstanding */
	uint64_t rx_gap;                  /* reply datagram out of sequence */
	uint64_t rx_bad_hdr;              /* scpp header does not decode */
	uint64_t rx_foreign;              /* not IPv4/UDP, another client, multi-segment */
	uint64_t rx_arp;
	uint64_t rx_notice;               /* NOTICE for an outstanding block (given up) */
	uint64_t tx_backpressure;         /* loop iterations the TX queue was full */
};

struct opts {
	double duration, warmup;
	double rate;               /* blocks/s; 0 = closed loop */
	unsigned int window;
	unsigned int burst;
	double timeout_ms;
	bool baseline, verify, populate, quiet;
	const char *json_path;
	const char *label;
	uint16_t port;
	uint32_t src_ip, dst_ip;
	uint16_t src_port, dst_port;
	bool have_dst_mac;
	struct rte_ether_addr dst_mac;
	double populate_timeout;
	unsigned int selftest;
	const char *save_oids;     /* write the key OIDs after population */
	const char *load_oids;     /* read them instead of populating */
	const char *commit;        /* copied into the JSON (the suite's git commit) */
	uint16_t queues;           /* queue pairs; replies may come on any */
	double probe_s;            /* bound on the readiness probe */
	double link_wait_s;        /* bound on the wait for the link to come up */
	const char *key_path;      /* --key: open a session, seal everything */
	const char *chain_path;    /* --chain: its grant chain (none: a root) */
};

struct gen {
	struct opts o;
	struct perf_wl wl;
	struct rte_mempool *pool;
	struct rte_ether_addr src_mac;
	uint64_t hz, timeout_cycles;
	uint64_t client_id;
	struct slot *slots;
	uint64_t mask;
	uint64_t next_seq, oldest;
	uint64_t outstanding;
	/* Blocks sent in [meas_lo, meas_hi) are the measured ones: the
	 * replies to warm-up blocks are not counted, those to measured blocks
	 * are, whenever they arrive (the drain waits for them). */
	uint64_t meas_lo, meas_hi;
	bool probe_ok;
	/* full mode: reassembly buffers and plans per slot (seq & (FULL_SLOTS-1)) */
	bool full;
	uint8_t *buf[FULL_SLOTS];
	uint32_t buf_len[FULL_SLOTS];
	struct perf_plan *plan;     /* FULL_SLOTS plans (verify) */
	uint64_t pop_first[FULL_SLOTS];
	uint8_t pop_kind[FULL_SLOTS];
	bool pop_failed;
	/* transmit queue */
	struct rte_mbuf *txq[TXQ_MAX];
	unsigned int txn;
	uint8_t *stage;             /* PERF_BLOCK_MAX bytes of block payload */
	uint8_t frame_hdr[HDRS];
	double tokens;
	uint64_t last_tsc;
	enum phase phase;
	struct counters c;
	long nivcsw[2];             /* this thread preempted: at measuring's start, end */
	struct perf_hist hist;      /* measured phase */
	struct perf_hist sec_hist;  /* current second */
	struct perf_plan scratch;
	uint16_t ip_id;
	/* docs/PROTOCOL.md §16.4: a reply over 3x its block needs the cookie
	 * the node sent in a NOTICE COOKIE; every block carries it after. */
	bool has_cookie;
	uint8_t cookie[SCPP_WIRE_COOKIE_LEN];
	/* --key (docs/SECURITY.md §5): the session; every datagram sent is
	 * sealed on lane 0 and every one received must open. */
	struct scpp_auth_client_session *cs;
	uint64_t hs_id;
	uint16_t hs_len;
	uint8_t hs_buf[512];
};

/* Set by SIGINT/SIGTERM. Relaxed atomics are enough (the flag carries no
 * data) and lock-free, hence safe in a signal handler. */
static int stop_flag;

static void
on_signal(int sig)
{
	(void)sig;
	__atomic_store_n(&stop_flag, 1, __ATOMIC_RELAXED);
}

static inline bool
stop_signal_seen(void)
{
	return __atomic_load_n(&stop_flag, __ATOMIC_RELAXED) != 0;
}

/* ------------------------------------------------------------------ send */

/* Queue one BLOCK message: cut @p len bytes of g->stage into datagrams. */
static int
send_block(struct gen *g, size_t len, uint64_t seq, uint16_t ncmds, uint64_t now)
{
	/* The cookie and the session tag take room in every datagram:
	 * datagrams stay <= 1472. */
	uint16_t tag = g->cs != NULL ? SCPP_WIRE_SESSION_TAG_LEN : 0;
	size_t per = PERF_FRAG_PAYLOAD - (g->has_cookie ? SCPP_WIRE_COOKIE_LEN : 0) - tag;
	uint32_t nfrag = len == 0 ? 1 : (uint32_t)((len + per - 1) / per);
	uint16_t ck = g->has_cookie ? SCPP_WIRE_COOKIE_LEN : 0;
	struct rte_mbuf *m[SCPP_WIRE_FRAGS_MAX];
	struct slot *s = &g->slots[seq & g->mask];
	uint32_t i;

	if (nfrag > SCPP_WIRE_FRAGS_MAX || g->txn + nfrag > TXQ_MAX)
		return -ENOSPC;
	if (rte_pktmbuf_alloc_bulk(g->pool, m, nfrag) != 0)
		return -ENOMEM;
	for (i = 0; i < nfrag; i++) {
		size_t off = (size_t)i * per;
		uint16_t plen = (uint16_t)(len - off < per ? len - off : per);
		uint16_t dlen = (uint16_t)(SCPP_WIRE_HDR_LEN + plen + ck + tag);
		uint8_t *p = rte_pktmbuf_mtod(m[i], uint8_t *);
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(p + sizeof(struct rte_ether_hdr));
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
		uint8_t *h = (uint8_t *)(udp + 1);

		memcpy(p, g->frame_hdr, HDRS);
		ip->total_length = rte_cpu_to_be_16((uint16_t)(dlen + 28));
		ip->packet_id = rte_cpu_to_be_16(g->ip_id++);
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		udp->dgram_len = rte_cpu_to_be_16((uint16_t)(dlen + 8));
		/* docs/PROTOCOL.md §5, little-endian */
		h[0] = SCPP_WIRE_MAGIC0;
		h[1] = SCPP_WIRE_MAGIC1;
		h[2] = SCPP_WIRE_VERSION;
		h[3] = SCPP_WIRE_BLOCK;
		h[4] = (uint8_t)((i + 1 == nfrag ? SCPP_WIRE_F_LAST : 0) |
				 (ck ? SCPP_WIRE_F_COOKIE : 0) | (tag ? SCPP_WIRE_F_SESSION : 0));
		h[5] = (uint8_t)tag;
		memcpy(h + 6, &plen, 2);
		memcpy(h + 8, &g->client_id, 8);
		memcpy(h + 16, &seq, 8);
		memcpy(h + 24, &i, 4);
		memcpy(h + 28, &nfrag, 4);
		memcpy(h + 32, g->stage + off, plen);
		if (ck)
			memcpy(h + 32 + plen, g->cookie, ck);
		if (tag && scpp_auth_client_seal(g->cs, 0, h, dlen) != 0) {
			rte_pktmbuf_free_bulk(m + i, nfrag - i);
			return -ENOSPC; /* counters exhausted: cannot happen in a run */
		}
		m[i]->data_len = m[i]->pkt_len = (uint32_t)(HDRS + dlen);
		g->txq[g->txn++] = m[i];
		g->c.tx_bytes += m[i]->pkt_len;
	}
	if (s->state == SLOT_OUT) {
		/* The previous owner of this slot never completed. */
		g->c.overrun++;
		g->outstanding--;
	}
	s->seq = seq;
	s->tsc = now;
	s->next_frag = 0;
	s->ncmds = ncmds;
	s->tail_len = 0;
	s->state = SLOT_OUT;
	if (g->full)
		g->buf_len[seq & (FULL_SLOTS - 1)] = 0;
	g->outstanding++;
	g->c.tx_pkts += nfrag;
	g->c.tx_blocks++;
	g->c.tx_cmds += ncmds;
	return 0;
}

static void
tx_flush(struct gen *g)
{
	uint16_t n;

	if (g->txn == 0)
		return;
	n = rte_eth_tx_burst(g->o.port, 0, g->txq, (uint16_t)(g->txn > 512 ? 512 : g->txn));
	if (n < g->txn) {
		memmove(g->txq, g->txq + n, (g->txn - n) * sizeof(g->txq[0]));
		if (n == 0 || g->txn - n >= TXQ_MAX / 2)
			g->c.tx_backpressure++;
	}
	g->txn -= n;
}

/* Build and queue one measured block. */
static int
gen_block(struct gen *g, uint64_t now)
{
	struct perf_plan *p = g->full && g->plan != NULL ? &g->plan[g->next_seq & (FULL_SLOTS - 1)]
							 : &g->scratch;
	int len, rc;

	perf_wl_plan(&g->wl, p);
	len = perf_wl_encode(&g->wl, p, g->stage, PERF_BLOCK_MAX);
	if (len < 0)
		return len;
	rc = send_block(g, (size_t)len, g->next_seq, (uint16_t)p->ncmds, now);
	if (rc == 0)
		g->next_seq++;
	return rc;
}

/* --------------------------------------------------------------- receive */

/*
 * END decoded backwards from the tail of the stream: statuses, elapsed,
 * commands, rows (varints), outcome (byte), errno (varint), tag 0x13
 * (docs/PROTOCOL.md: END). A varint ends at a byte below 0x80 and begins
 * right after the previous such byte.
 */
static int
end_from_tail(const uint8_t *t, unsigned int n, uint8_t *outcome)
{
	int pos = (int)n;
	uint64_t v;
	int k;

	for (k = 0; k < 6; k++) {
		int endb = pos - 1, start;

		if (endb < 0 || (t[endb] & 0x80) != 0)
			return -1;
		if (k == 4) { /* outcome byte */
			if (t[endb] >= SCPP_OUTCOME_COUNT)
				return -1;
			*outcome = t[endb];
			pos = endb;
			continue;
		}
		start = endb;
		while (start > 0 && (t[start - 1] & 0x80) != 0 && endb - start < 10)
			start--;
		if (scpp_varint_decode(t + start, (size_t)(endb - start + 1), &v) !=
		    endb - start + 1)
			return -1;
		pos = start;
	}
	if (pos < 1 || t[pos - 1] != SCPP_REC_END)
		return -1;
	return 0;
}

/*
 * end_from_tail() against lib/wire's writer: END records of random fields
 * (every varint width) at the tail of a reply give back their outcome.
 * Run at start, like the encoder's self-test: the fast path must read the
 * END that lib/wire writes today.
 */
static int
end_selftest(unsigned int count)
{
	uint64_t x = UINT64_C(0x9e3779b97f4a7c15);

	for (unsigned int i = 0; i < count; i++) {
		uint8_t buf[256], outcome = 0xff;
		struct scpp_wire_reply_writer w;
		uint64_t f[5];
		uint8_t want;

		/* Widths a reply can have: errno, rows and commands to 32 bits,
		 * elapsed ns to 40, statuses to 24 (END stays within TAIL). */
		static const unsigned int bits[5] = {32, 32, 32, 40, 24};

		for (int k = 0; k < 5; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			f[k] = (x >> (x % 64)) & ((UINT64_C(1) << bits[k]) - 1);
		}
		want = (uint8_t)(x % SCPP_OUTCOME_COUNT);
		scpp_wire_reply_writer_init(&w, buf, sizeof(buf));
		if (scpp_wire_reply_columns(&w, NULL, 0) != 0 ||
		    scpp_wire_reply_end_ex(&w, (uint32_t)f[0], want, f[1], f[2], f[3], f[4]) != 0 ||
		    end_from_tail(buf + w.len - SCPP_MIN(w.len, (size_t)TAIL),
				  (unsigned int)SCPP_MIN(w.len, (size_t)TAIL), &outcome) != 0 ||
		    outcome != want) {
			fprintf(stderr, "scpp-perf: END read backwards disagrees with lib/wire\n");
			return -EPROTO;
		}
	}
	return 0;
}

static bool
verify_reply(struct gen *g, const struct perf_plan *p, const uint8_t *msg, size_t len,
	     uint8_t *outcome)
{
	static struct scpp_wire_record rec; /* large; one lcore */
	struct scpp_wire_reply_reader r;
	uint8_t want[65536];
	unsigned int rows = 0;
	bool good = true;
	int rc;

	scpp_wire_reply_reader_init(&r, msg, len);
	while ((rc = scpp_wire_reply_next(&r, &rec)) == 1) {
		if (rec.type == SCPP_REC_COLUMNS && rec.columns.n != p->nret)
			good = false;
		if (rec.type == SCPP_REC_END)
			*outcome = rec.end.outcome;
		if (rec.type != SCPP_REC_ROW)
			continue;
		rows++;
		for (unsigned int i = 0, col = 0; i < p->n; i++) {
			const struct perf_cmd *c = &p->cmd[i];
			const struct scpp_value *v;
			uint64_t key;

			if (!c->ret)
				continue;
			v = &rec.row.v[col++];
			if (c->op == PERF_OP_CREATE) {
				good &= v->type == SCPP_VT_OID;
				continue;
			}
			if (g->wl.weight[PERF_OP_COPY] != 0)
				continue; /* copies move values between keys */
			key = c->op == PERF_OP_WALK ? c->key2 : c->key;
			perf_wl_value(&g->wl, key, want);
			good &= v->type == SCPP_VT_BYTES && v->len == g->wl.value_size &&
				memcmp(v->p, want, v->len) == 0;
		}
	}
	if (rc != 0)
		return false;
	return good && (rows == 1 || *outcome != SCPP_OUTCOME_OK);
}

/* Population reply: store the created OIDs. */
static void
population_reply(struct gen *g, unsigned int fi, const uint8_t *msg, size_t len)
{
	static struct scpp_wire_record rec;
	struct scpp_wire_reply_reader r;
	uint8_t outcome = SCPP_OUTCOME_ABORTED;
	int rc;

	scpp_wire_reply_reader_init(&r, msg, len);
	while ((rc = scpp_wire_reply_next(&r, &rec)) == 1) {
		if (rec.type == SCPP_REC_END)
			outcome = rec.end.outcome;
		if (rec.type == SCPP_REC_ROW && g->pop_kind[fi] == 0)
			for (unsigned int i = 0; i < rec.row.n; i++)
				if (rec.row.v[i].type == SCPP_VT_OID)
					g->wl.oid[g->pop_first[fi] + i] = rec.row.v[i].oid;
	}
	if (rc != 0 || outcome != SCPP_OUTCOME_OK) {
		if (!g->pop_failed) {
			fprintf(stderr, "scpp-perf: population block failed (reader %d):\n", rc);
			scpp_lang_print_reply(stderr, msg, len, 0, NULL);
		}
		g->pop_failed = true;
	}
}

static void
complete(struct gen *g, struct slot *s, uint64_t now)
{
	uint64_t lat = now - s->tsc;
	uint8_t outcome = SCPP_OUTCOME_OK;
	bool good = true;

	s->state = SLOT_FREE;
	g->outstanding--;
	if (g->phase == PH_PROBE) {
		g->probe_ok = true;
		return;
	}
	if (g->phase == PH_POPULATE) {
		unsigned int fi = (unsigned int)(s->seq & (FULL_SLOTS - 1));

		population_reply(g, fi, g->buf[fi], g->buf_len[fi]);
		g->c.rx_blocks++;
		return;
	}
	if (g->phase == PH_WARMUP || s->seq < g->meas_lo || s->seq >= g->meas_hi)
		return; /* a warm-up block: not counted */
	if (!g->o.baseline) {
		if (g->full) {
			unsigned int fi = (unsigned int)(s->seq & (FULL_SLOTS - 1));

			good = verify_reply(g, &g->plan[fi], g->buf[fi], g->buf_len[fi], &outcome);
			if (!good)
				g->c.verify_fail++;
		} else if (end_from_tail(s->tail, s->tail_len, &outcome) != 0) {
			g->c.bad_reply++;
			return;
		}
		if (outcome == SCPP_OUTCOME_ERRORS)
			g->c.errors++;
		else if (outcome == SCPP_OUTCOME_ABORTED)
			g->c.aborted++;
		else
			g->c.ok++;
	} else {
		g->c.ok++;
	}
	g->c.rx_blocks++;
	g->c.rx_cmds += s->ncmds;
	perf_hist_add(&g->hist, lat);
	perf_hist_add(&g->sec_hist, lat);
}

static void
handle_arp(struct gen *g, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);

	g->c.rx_arp++;
	if (m->data_len < sizeof(*eth) + sizeof(*arp))
		return;
	if (arp->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REPLY) &&
	    arp->arp_data.arp_sip == rte_cpu_to_be_32(g->o.dst_ip) && !g->o.have_dst_mac) {
		g->o.dst_mac = arp->arp_data.arp_sha;
		g->o.have_dst_mac = true;
		return;
	}
	if (arp->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) ||
	    arp->arp_data.arp_tip != rte_cpu_to_be_32(g->o.src_ip) || g->txn >= TXQ_MAX)
		return;
	/* Answer in place and send the same mbuf back. */
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
	arp->arp_data.arp_tha = arp->arp_data.arp_sha;
	arp->arp_data.arp_tip = arp->arp_data.arp_sip;
	arp->arp_data.arp_sha = g->src_mac;
	arp->arp_data.arp_sip = rte_cpu_to_be_32(g->o.src_ip);
	eth->dst_addr = eth->src_addr;
	eth->src_addr = g->src_mac;
	rte_mbuf_refcnt_update(m, 1); /* the caller frees its reference */
	g->txq[g->txn++] = m;
}

static void
rx_one(struct gen *g, struct rte_mbuf *m, uint64_t now)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	const struct rte_ether_hdr *eth = (const struct rte_ether_hdr *)p;
	const struct rte_ipv4_hdr *ip;
	const uint8_t *d;
	struct scpp_wire_hdr h;
	struct slot *s;
	size_t dlen;
	unsigned int ihl;

	g->c.rx_pkts++;
	g->c.rx_bytes += m->pkt_len;
	if (m->nb_segs != 1 || m->data_len < HDRS) {
		g->c.rx_foreign++;
		return;
	}
	if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP)) {
		handle_arp(g, m);
		return;
	}
	ip = (const struct rte_ipv4_hdr *)(eth + 1);
	ihl = (ip->version_ihl & 0x0f) * 4u;
	if (eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    ip->next_proto_id != IPPROTO_UDP || ihl < 20 ||
	    m->data_len < sizeof(*eth) + ihl + sizeof(struct rte_udp_hdr)) {
		g->c.rx_foreign++;
		return;
	}
	d = (const uint8_t *)ip + ihl + sizeof(struct rte_udp_hdr);
	dlen = rte_be_to_cpu_16(((const struct rte_udp_hdr *)((const uint8_t *)ip + ihl))->dgram_len);
	if (dlen < sizeof(struct rte_udp_hdr) ||
	    d + dlen - sizeof(struct rte_udp_hdr) > p + m->data_len) {
		g->c.rx_bad_hdr++;
		return;
	}
	dlen -= sizeof(struct rte_udp_hdr);
	if (scpp_wire_hdr_decode(d, dlen, &h) != 0) {
		g->c.rx_bad_hdr++;
		return;
	}
	if (unlikely(h.kind >= SCPP_AUTH_KIND_CHALLENGE && h.kind <= SCPP_AUTH_KIND_REJECT)) {
		/* A handshake answer (session_open() waits for it). */
		if (h.block_id == g->hs_id && dlen <= sizeof(g->hs_buf)) {
			memcpy(g->hs_buf, d, dlen);
			g->hs_len = (uint16_t)dlen;
		} else {
			g->c.rx_foreign++;
		}
		return;
	}
	/* In a session, what does not open is not the node's (counted). */
	if (g->cs != NULL && scpp_auth_client_open(g->cs, d, dlen, NULL) != 0) {
		g->c.rx_bad_hdr++;
		return;
	}
	if (h.client_id != g->client_id ||
	    (h.kind != (g->o.baseline ? SCPP_WIRE_BLOCK : SCPP_WIRE_REPLY) &&
	     (g->o.baseline || h.kind != SCPP_WIRE_NOTICE))) {
		g->c.rx_foreign++;
		return;
	}
	s = &g->slots[h.block_id & g->mask];
	if (s->state != SLOT_OUT || s->seq != h.block_id) {
		g->c.rx_late++;
		return;
	}
	if (h.kind == SCPP_WIRE_NOTICE) {
		struct scpp_wire_notice n;

		/* The block ran; its reply is not sent to us. Take the cookie
		 * for the blocks to come and give this one up (counted). */
		if (scpp_wire_notice_decode(h.payload, h.payload_len, &n) == 0 &&
		    n.code == SCPP_NOTICE_COOKIE) {
			memcpy(g->cookie, n.cookie, sizeof(g->cookie));
			g->has_cookie = true;
		}
		g->c.rx_notice++;
		s->state = SLOT_FREE;
		g->outstanding--;
		return;
	}
	if (g->o.baseline) {
		if (h.flags & SCPP_WIRE_F_LAST)
			complete(g, s, now);
		return;
	}
	if (h.frag_index != s->next_frag) {
		g->c.rx_gap++;
		s->state = SLOT_FREE;
		g->outstanding--;
		return;
	}
	s->next_frag++;
	if (g->full) {
		unsigned int fi = (unsigned int)(h.block_id & (FULL_SLOTS - 1));

		if (g->buf_len[fi] + h.payload_len <= FULL_BUF) {
			memcpy(g->buf[fi] + g->buf_len[fi], h.payload, h.payload_len);
			g->buf_len[fi] += h.payload_len;
		}
	} else if (h.payload_len >= TAIL) {
		memcpy(s->tail, h.payload + h.payload_len - TAIL, TAIL);
		s->tail_len = TAIL;
	} else {
		unsigned int keep = s->tail_len + h.payload_len > TAIL ? TAIL - h.payload_len
								       : s->tail_len;

		memmove(s->tail, s->tail + s->tail_len - keep, keep);
		memcpy(s->tail + keep, h.payload, h.payload_len);
		s->tail_len = (uint8_t)(keep + h.payload_len);
	}
	if (h.flags & SCPP_WIRE_F_LAST)
		complete(g, s, now);
}

static void
rx_poll(struct gen *g, uint64_t now)
{
	struct rte_mbuf *m[RX_BURST];
	uint16_t n, i;

	for (uint16_t q = 0; q < g->o.queues; q++) {
		n = rte_eth_rx_burst(g->o.port, q, m, RX_BURST);
		for (i = 0; i < n; i++) {
			if (i + 1 < n)
				rte_prefetch0(rte_pktmbuf_mtod(m[i + 1], void *));
			rx_one(g, m[i], now);
			rte_pktmbuf_free(m[i]);
		}
	}
}

/* Retire blocks outstanding longer than the timeout; bounded work per call. */
static void
timeouts(struct gen *g, uint64_t now)
{
	for (unsigned int k = 0; k < 256 && g->oldest < g->next_seq; k++) {
		struct slot *s = &g->slots[g->oldest & g->mask];

		if (s->state == SLOT_OUT && s->seq == g->oldest) {
			if (now - s->tsc < g->timeout_cycles)
				return;
			s->state = SLOT_FREE;
			g->outstanding--;
			g->c.timeout++;
		}
		g->oldest++;
	}
}

/* ------------------------------------------------------------------ report */

static double
cyc_us(const struct gen *g, uint64_t cyc)
{
	return (double)cyc * 1e6 / (double)g->hz;
}

static FILE *table_out;

static void
print_header(void)
{
	fprintf(table_out, "%6s %9s %9s %10s %9s %8s %8s %9s %9s %7s %7s %7s\n", "sec", "tx-Mpps",
		"rx-Mpps", "blocks/s", "Mcmd/s", "tx-Gb/s", "rx-Gb/s", "p50-us", "p99-us", "outst",
		"tmo", "err");
}

static void
print_second(struct gen *g, double t, const struct counters *d, double secs)
{
	fprintf(table_out, "%6.1f %9.3f %9.3f %10.0f %9.3f %8.3f %8.3f %9.2f %9.2f %7" PRIu64
		" %7" PRIu64 " %7" PRIu64 "\n",
		t, (double)d->tx_pkts / secs / 1e6, (double)d->rx_pkts / secs / 1e6,
		(double)d->rx_blocks / secs, (double)d->rx_cmds / secs / 1e6,
		(double)d->tx_bytes * 8 / secs / 1e9, (double)d->rx_bytes * 8 / secs / 1e9,
		cyc_us(g, perf_hist_quantile(&g->sec_hist, 0.5)),
		cyc_us(g, perf_hist_quantile(&g->sec_hist, 0.99)), g->outstanding,
		d->timeout + d->overrun,
		d->errors + d->aborted + d->bad_reply + d->verify_fail + d->rx_gap + d->rx_bad_hdr);
	fflush(table_out);
}

static void
counters_sub(struct counters *d, const struct counters *a, const struct counters *b)
{
	const uint64_t *pa = (const uint64_t *)a, *pb = (const uint64_t *)b;
	uint64_t *pd = (uint64_t *)d;

	for (size_t i = 0; i < sizeof(*d) / sizeof(uint64_t); i++)
		pd[i] = pa[i] - pb[i];
}

static void
write_json(struct gen *g, FILE *f, const struct counters *t, double secs, const double *sec_mpps,
	   const double *sec_cmds, unsigned int nsec)
{
	static const double qs[] = {0.5, 0.9, 0.99, 0.999};
	const struct perf_hist *h = &g->hist;
	uint64_t seen = 0;
	char mix[128] = "";
	size_t ml = 0;
	unsigned int i;
	bool first = true;

	for (i = 0; i < PERF_OP_COUNT; i++)
		if (g->wl.weight[i] != 0)
			ml += (size_t)snprintf(mix + ml, sizeof(mix) - ml, "%s%s=%u", ml ? "," : "",
					       perf_op_name[i], g->wl.weight[i]);
	fprintf(f, "{\"tool\":\"scpp-perf\",\"label\":\"%s\",\"commit\":\"%s\",\"dpdk\":\"%s\","
		   "\"counted\":\"replies to the blocks sent in the measured period (not warm-up)\",",
		g->o.label, g->o.commit, rte_version());
	fprintf(f, "\"config\":{\"mode\":\"%s\",\"mix\":\"%s\",\"cmds\":%u,\"value_size\":%u,"
		   "\"keys\":%" PRIu64 ",\"dist\":\"%s\",\"zipf_theta\":%.3f,\"rate\":%.0f,"
		   "\"window\":%u,\"duration\":%.3f,\"verify\":%s},",
		g->o.baseline ? "baseline" : "scpp", mix, g->wl.cmds, g->wl.value_size, g->wl.keys,
		g->wl.zipf_theta > 0 ? "zipf" : "uniform", g->wl.zipf_theta, g->o.rate,
		g->o.rate > 0 ? 0 : g->o.window, secs, g->o.verify ? "true" : "false");
	fprintf(f, "\"totals\":{\"tx_pkts\":%" PRIu64 ",\"rx_pkts\":%" PRIu64
		   ",\"tx_blocks\":%" PRIu64 ",\"rx_blocks\":%" PRIu64 ",\"rx_cmds\":%" PRIu64
		   ",\"tx_bytes\":%" PRIu64 ",\"rx_bytes\":%" PRIu64 "},",
		t->tx_pkts, t->rx_pkts, t->tx_blocks, t->rx_blocks, t->rx_cmds, t->tx_bytes,
		t->rx_bytes);
	fprintf(f, "\"rates\":{\"tx_mpps\":%.4f,\"rx_mpps\":%.4f,\"blocks_per_s\":%.1f,"
		   "\"cmds_per_s\":%.1f,\"tx_gbps\":%.4f,\"rx_gbps\":%.4f},",
		(double)t->tx_pkts / secs / 1e6, (double)t->rx_pkts / secs / 1e6,
		(double)t->rx_blocks / secs, (double)t->rx_cmds / secs,
		(double)t->tx_bytes * 8 / secs / 1e9, (double)t->rx_bytes * 8 / secs / 1e9);
	fprintf(f, "\"outcomes\":{\"ok\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"aborted\":%" PRIu64
		   ",\"bad_reply\":%" PRIu64 ",\"verify_fail\":%" PRIu64 "},",
		t->ok, t->errors, t->aborted, t->bad_reply, t->verify_fail);
	fprintf(f, "\"drops\":{\"timeout\":%" PRIu64 ",\"overrun\":%" PRIu64 ",\"rx_late\":%" PRIu64
		   ",\"rx_gap\":%" PRIu64 ",\"rx_bad_hdr\":%" PRIu64 ",\"rx_foreign\":%" PRIu64
		   ",\"rx_arp\":%" PRIu64 ",\"rx_notice\":%" PRIu64 ",\"tx_backpressure\":%" PRIu64
		   ",\"unanswered\":%" PRIu64 "},",
		t->timeout, t->overrun, t->rx_late, t->rx_gap, t->rx_bad_hdr, t->rx_foreign,
		t->rx_arp, t->rx_notice, t->tx_backpressure, g->outstanding);
	fprintf(f, "\"latency_us\":{\"count\":%" PRIu64 ",\"mean\":%.3f", h->count,
		h->count ? cyc_us(g, h->sum) / (double)h->count : 0.0);
	for (i = 0; i < SCPP_ARRAY_SIZE(qs); i++)
		fprintf(f, ",\"p%g\":%.3f", qs[i] * 100, cyc_us(g, perf_hist_quantile(h, qs[i])));
	fprintf(f, ",\"max\":%.3f},\"cdf\":[", cyc_us(g, h->max));
	for (i = 0; i < PERF_HIST_BUCKETS && h->count > 0; i++) {
		if (h->bucket[i] == 0)
			continue;
		seen += h->bucket[i];
		fprintf(f, "%s[%.3f,%.6f]", first ? "" : ",",
			cyc_us(g, perf_hist_upper(i) < h->max ? perf_hist_upper(i) : h->max),
			(double)seen / (double)h->count);
		first = false;
	}
	fprintf(f, "],\"generator_preempted\":%ld,\"per_second\":[",
		g->nivcsw[1] >= g->nivcsw[0] ? g->nivcsw[1] - g->nivcsw[0] : -1);
	for (i = 0; i < nsec; i++)
		fprintf(f, "%s{\"mpps\":%.4f,\"cmds_per_s\":%.1f}", i ? "," : "", sec_mpps[i],
			sec_cmds[i]);
	fprintf(f, "]}\n");
}

/* Involuntary context switches of the calling (generator) thread: another
 * thread took its CPU, and replies waited meanwhile (the JSON's
 * "generator_preempted", over the measured period). */
static long
thread_preemptions(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_nivcsw : 0;
}

/* --------------------------------------------------------------- phases */

static void
poll_once(struct gen *g, uint64_t now)
{
	rx_poll(g, now);
	tx_flush(g);
	timeouts(g, now);
}

/*
 * Population: create the key space (and, when the mix needs them, walk
 * links and map entries) with blocks of up to 64 entities, 16 blocks in
 * flight, every reply decoded in full.
 */
static int
populate(struct gen *g)
{
	unsigned int per = (unsigned int)((16 * PERF_FRAG_PAYLOAD) / (g->wl.value_size + 64));
	uint64_t deadline = rte_rdtsc() + (uint64_t)(g->o.populate_timeout * (double)g->hz);
	uint64_t t0 = rte_rdtsc(), key, saved_timeout = g->timeout_cycles;
	int kind;

	/* Population blocks carry up to 128 commands and 16 are in flight:
	 * give them a generous timeout whatever --timeout-ms says. */
	if (g->timeout_cycles < 2 * g->hz)
		g->timeout_cycles = 2 * g->hz;

	if (per == 0)
		per = 1;
	if (per > 64)
		per = 64;
	g->wl.oid = calloc(g->wl.keys, sizeof(*g->wl.oid));
	if (g->wl.oid == NULL)
		return -ENOMEM;
	g->phase = PH_POPULATE;
	for (kind = 0; kind < 3; kind++) {
		if (kind == 1 && g->wl.weight[PERF_OP_WALK] == 0)
			continue;
		if (kind == 2 && g->wl.weight[PERF_OP_MAPGET] == 0)
			continue;
		for (key = 0; key < g->wl.keys && !g->pop_failed;) {
			uint64_t now = rte_rdtsc();
			unsigned int n = (unsigned int)(g->wl.keys - key < per ? g->wl.keys - key : per);
			int len;

			if (now > deadline || stop_signal_seen()) {
				fprintf(stderr, "scpp-perf: population timed out at key %" PRIu64 "\n",
					key);
				return -ETIMEDOUT;
			}
			poll_once(g, now);
			if (g->outstanding >= 16 || g->txn > TXQ_MAX / 2)
				continue;
			if (kind == 0)
				len = perf_wl_encode_create(&g->wl, key, n, g->stage, PERF_BLOCK_MAX);
			else if (kind == 1)
				len = perf_wl_encode_links(&g->wl, key, n, g->stage, PERF_BLOCK_MAX);
			else
				len = perf_wl_encode_map(&g->wl, key, n, g->stage, PERF_BLOCK_MAX);
			if (len < 0)
				return len;
			g->pop_first[g->next_seq & (FULL_SLOTS - 1)] = key;
			g->pop_kind[g->next_seq & (FULL_SLOTS - 1)] = (uint8_t)kind;
			if (send_block(g, (size_t)len, g->next_seq, (uint16_t)(kind == 0 ? 2 * n : n),
				       now) == 0) {
				g->next_seq++;
				key += n;
			}
		}
		/* Links and map entries need every OID: wait for this pass. */
		while (g->outstanding > 0 && !g->pop_failed) {
			uint64_t now = rte_rdtsc();

			if (now > deadline || stop_signal_seen())
				return -ETIMEDOUT;
			poll_once(g, now);
		}
		if (g->c.timeout + g->c.overrun + g->c.rx_gap > 0) {
			fprintf(stderr, "scpp-perf: population lost blocks (%" PRIu64
					" timeouts, %" PRIu64 " gaps)\n",
				g->c.timeout + g->c.overrun, g->c.rx_gap);
			return -EIO;
		}
	}
	if (g->pop_failed)
		return -EIO;
	g->timeout_cycles = saved_timeout;
	fprintf(stderr, "scpp-perf: populated %" PRIu64 " keys in %.2f s (%" PRIu64 " blocks)\n",
		g->wl.keys, (double)(rte_rdtsc() - t0) / (double)g->hz, g->c.rx_blocks);
	return 0;
}

static void
resolve_mac(struct gen *g)
{
	uint64_t end = rte_rdtsc() + g->hz, next = 0;

	while (!g->o.have_dst_mac && rte_rdtsc() < end && !stop_signal_seen()) {
		uint64_t now = rte_rdtsc();

		if (now >= next && g->txn < TXQ_MAX) {
			struct rte_mbuf *m = rte_pktmbuf_alloc(g->pool);
			struct rte_ether_hdr *eth;
			struct rte_arp_hdr *arp;

			if (m != NULL) {
				eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
				arp = (struct rte_arp_hdr *)(eth + 1);
				memset(&eth->dst_addr, 0xff, RTE_ETHER_ADDR_LEN);
				eth->src_addr = g->src_mac;
				eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
				arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
				arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
				arp->arp_hlen = RTE_ETHER_ADDR_LEN;
				arp->arp_plen = 4;
				arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
				arp->arp_data.arp_sha = g->src_mac;
				arp->arp_data.arp_sip = rte_cpu_to_be_32(g->o.src_ip);
				memset(&arp->arp_data.arp_tha, 0, RTE_ETHER_ADDR_LEN);
				arp->arp_data.arp_tip = rte_cpu_to_be_32(g->o.dst_ip);
				m->data_len = m->pkt_len = sizeof(*eth) + sizeof(*arp);
				g->txq[g->txn++] = m;
			}
			next = now + g->hz / 10;
		}
		poll_once(g, now);
	}
	if (!g->o.have_dst_mac) {
		fprintf(stderr, "scpp-perf: no ARP reply from the target; sending to broadcast\n");
		memset(&g->o.dst_mac, 0xff, RTE_ETHER_ADDR_LEN);
	}
}

/*
 * Before anything is measured, make sure the path works end to end: a link
 * that is up is not yet a peer that answers (a memif peer may still be
 * starting its forwarding). Sends an empty block every 100 ms until one is
 * answered (echoed, with --baseline), for at most --probe-s seconds.
 */
static int
probe(struct gen *g)
{
	uint64_t end = rte_rdtsc() + (uint64_t)(g->o.probe_s * (double)g->hz), next = 0;
	static const uint8_t empty_block[4] = {0, 0, 0, 0}; /* flags, nvars, nret, ncmds */

	g->phase = PH_PROBE;
	g->probe_ok = false;
	while (!g->probe_ok && rte_rdtsc() < end && !stop_signal_seen()) {
		uint64_t now = rte_rdtsc();

		if (now >= next && g->txn < TXQ_MAX / 2) {
			memcpy(g->stage, empty_block, sizeof(empty_block));
			if (send_block(g, sizeof(empty_block), g->next_seq, 0, now) == 0)
				g->next_seq++;
			next = now + g->hz / 10;
		}
		poll_once(g, now);
	}
	/* Forget the probes still outstanding: the counters start clean. */
	for (uint64_t q = g->oldest; q < g->next_seq; q++)
		g->slots[q & g->mask].state = SLOT_FREE;
	g->outstanding = 0;
	g->oldest = g->next_seq;
	memset(&g->c, 0, sizeof(g->c));
	if (!g->probe_ok) {
		fprintf(stderr, "scpp-perf: no answer from the peer after %.0f s\n", g->o.probe_s);
		return -ETIMEDOUT;
	}
	return 0;
}

/* ---- --key: a session (docs/SECURITY.md §5) ---- */

/* Send one handshake datagram now (ahead of anything queued). */
static void
hs_send(struct gen *g, const uint8_t *d, uint16_t dlen)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(g->pool);
	uint8_t *p;
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *udp;

	if (m == NULL)
		return;
	p = rte_pktmbuf_mtod(m, uint8_t *);
	ip = (struct rte_ipv4_hdr *)(p + sizeof(struct rte_ether_hdr));
	udp = (struct rte_udp_hdr *)(ip + 1);
	memcpy(p, g->frame_hdr, HDRS);
	ip->total_length = rte_cpu_to_be_16((uint16_t)(dlen + 28));
	ip->packet_id = rte_cpu_to_be_16(g->ip_id++);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(dlen + 8));
	memcpy(udp + 1, d, dlen);
	m->data_len = m->pkt_len = (uint32_t)(HDRS + dlen);
	if (rte_eth_tx_burst(g->o.port, 0, &m, 1) != 1)
		rte_pktmbuf_free(m);
}

/* Poll until a handshake answer arrives or @p secs pass: its length, or 0. */
static uint16_t
hs_wait(struct gen *g, double secs)
{
	uint64_t end = rte_rdtsc() + (uint64_t)(secs * (double)g->hz);

	g->hs_len = 0;
	while (g->hs_len == 0 && rte_rdtsc() < end && !stop_signal_seen())
		poll_once(g, rte_rdtsc());
	return g->hs_len;
}

static int
session_open(struct gen *g)
{
	static const uint8_t empty[SCPP_AUTH_CHAIN_HDR] = {'S', 'N', 1, 0};
	static uint8_t chain[SCPP_AUTH_CHAIN_BYTES_MAX], fin[SCPP_AUTH_FINISH_MAX];
	uint8_t hello[SCPP_WIRE_HDR_LEN + SCPP_AUTH_HELLO_LEN], dg[1472];
	struct scpp_auth_initiator_config ic;
	struct scpp_auth_initiator *ini;
	struct scpp_auth_keypair kp;
	struct scpp_auth_reject rej;
	struct scpp_auth_fault f;
	int rc, n, flen = 0, tries;
	size_t clen = sizeof(empty);

	scpp_auth_fault_clear(&f);
	rc = scpp_auth_key_load(g->o.key_path, &kp, NULL, &f);
	if (rc != 0) {
		fprintf(stderr, "scpp-perf: --key %s: %s\n", g->o.key_path, scpp_auth_strerror(rc));
		return rc;
	}
	memcpy(chain, empty, sizeof(empty));
	if (g->o.chain_path != NULL) {
		FILE *cf = fopen(g->o.chain_path, "rb");

		if (cf == NULL)
			return -errno;
		clen = fread(chain, 1, sizeof(chain), cf);
		fclose(cf);
	}
	memset(&ic, 0, sizeof(ic));
	ic.principal = &kp;
	ic.chain[0] = chain;
	ic.chain_len[0] = clen;
	ic.nchains = 1;
	g->hs_id = rte_rdtsc() | 1;
	ic.hs_id = g->hs_id;
	ini = scpp_auth_initiator_create(&ic);
	scpp_auth_key_wipe(&kp);
	if (ini == NULL)
		return -errno;
	n = scpp_auth_initiator_hello(ini, hello, sizeof(hello));
	for (tries = 0, rc = 0; n > 0 && tries < 10 && rc == 0; tries++) {
		hs_send(g, hello, (uint16_t)n);
		rc = hs_wait(g, 0.5);
	}
	if (rc > 0)
		flen = scpp_auth_initiator_challenge(ini, g->hs_buf, g->hs_len, fin, sizeof(fin),
						     NULL);
	for (tries = 0, rc = 0; flen > 0 && tries < 10 && rc == 0; tries++) {
		unsigned int nf = scpp_auth_finish_frags((size_t)flen, sizeof(dg));

		for (unsigned int i = 0; i < nf; i++) {
			n = scpp_auth_finish_dgram(fin, (size_t)flen, g->hs_id, i, sizeof(dg), dg,
						   sizeof(dg));
			if (n > 0)
				hs_send(g, dg, (uint16_t)n);
		}
		rc = hs_wait(g, 1.0);
	}
	rc = rc > 0 ? scpp_auth_initiator_accept(ini, g->hs_buf, g->hs_len, &g->cs, &rej)
		    : flen < 0 ? flen : -ETIMEDOUT;
	scpp_auth_initiator_free(ini);
	if (rc != 0) {
		fprintf(stderr, "scpp-perf: no session: %s%s%s\n", scpp_auth_strerror(rc),
			rc == -SCPP_AUTH_E_REJECTED ? ": " : "",
			rc == -SCPP_AUTH_E_REJECTED ? scpp_auth_strerror(rej.code) : "");
		return rc;
	}
	g->client_id = scpp_auth_client_session_id(g->cs);
	fprintf(stderr, "scpp-perf: session %016" PRIx64 " (%s)\n", g->client_id,
		scpp_auth_client_session_alg(g->cs) == SCPP_AUTH_ALG_AES256GMAC
			? "AES-256-GMAC" : "ChaCha20-Poly1305");
	return 0;
}

/* Save or load the key OID table (raw struct scpp_oid array, host order). */
static int
oids_file(struct gen *g, const char *path, bool save)
{
	size_t n = (size_t)g->wl.keys;
	FILE *f = fopen(path, save ? "wb" : "rb");
	size_t done;

	if (f == NULL) {
		fprintf(stderr, "scpp-perf: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	if (!save && g->wl.oid == NULL)
		g->wl.oid = calloc(n, sizeof(*g->wl.oid));
	if (g->wl.oid == NULL) {
		fclose(f);
		return -ENOMEM;
	}
	done = save ? fwrite(g->wl.oid, sizeof(*g->wl.oid), n, f)
		    : fread(g->wl.oid, sizeof(*g->wl.oid), n, f);
	if (fclose(f) != 0 || done != n) {
		fprintf(stderr, "scpp-perf: %s: %s %zu of %zu OIDs\n", path,
			save ? "wrote" : "read", done, n);
		return -EIO;
	}
	return 0;
}

static void
build_frame_hdr(struct gen *g)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)g->frame_hdr;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

	memset(g->frame_hdr, 0, sizeof(g->frame_hdr));
	eth->dst_addr = g->o.dst_mac;
	eth->src_addr = g->src_mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = rte_cpu_to_be_32(g->o.src_ip);
	ip->dst_addr = rte_cpu_to_be_32(g->o.dst_ip);
	udp->src_port = rte_cpu_to_be_16(g->o.src_port);
	udp->dst_port = rte_cpu_to_be_16(g->o.dst_port);
	udp->dgram_cksum = 0; /* optional over IPv4 (RFC 768) */
}

/*
 * The load: warm-up, then the measured period, then a bounded drain.
 * Returns -EINTR when a signal cut the measured period short (the figures
 * are then printed but are not a measurement: the caller fails).
 */
static int
run_load(struct gen *g)
{
	const double secs_meas = g->o.duration;
	uint64_t t_start = rte_rdtsc(), t_meas = t_start + (uint64_t)(g->o.warmup * (double)g->hz);
	uint64_t t_end = t_meas + (uint64_t)(secs_meas * (double)g->hz), t_drain_end = 0;
	uint64_t next_print = t_meas + g->hz, meas_start = t_meas;
	unsigned int nsec = 0, cap = (unsigned int)secs_meas + 2;
	double *sec_mpps = calloc(cap, sizeof(double)), *sec_cmds = calloc(cap, sizeof(double));
	struct counters at_start, at_sec, d;
	double tpc = g->o.rate / (double)g->hz; /* tokens per cycle */
	FILE *jf = stdout;

	g->phase = g->o.warmup > 0 ? PH_WARMUP : PH_MEASURE;
	g->nivcsw[0] = thread_preemptions();
	g->meas_lo = g->o.warmup > 0 ? UINT64_MAX : g->next_seq;
	g->meas_hi = UINT64_MAX;
	at_start = g->c;
	at_sec = g->c;
	g->last_tsc = t_start;
	if (!g->o.quiet)
		print_header();
	for (;;) {
		uint64_t now = rte_rdtsc();
		unsigned int budget = 0;

		if (stop_signal_seen() && g->phase != PH_DRAIN) {
			t_end = now;
			if (g->phase == PH_WARMUP)
				t_meas = now; /* measure nothing, then drain */
		}
		if (g->phase == PH_WARMUP && now >= t_meas) {
			g->phase = PH_MEASURE;
			g->meas_lo = g->next_seq;
			g->meas_hi = UINT64_MAX;
			at_start = g->c;
			at_sec = g->c;
			meas_start = now;
			next_print = now + g->hz;
			perf_hist_reset(&g->hist);
			perf_hist_reset(&g->sec_hist);
			g->nivcsw[0] = thread_preemptions();
		}
		if (g->phase == PH_MEASURE && now >= t_end) {
			g->nivcsw[1] = thread_preemptions();
			g->phase = PH_DRAIN;
			g->meas_hi = g->next_seq;
			t_drain_end = now + g->timeout_cycles;
			counters_sub(&d, &g->c, &at_sec);
		}
		if (g->phase == PH_DRAIN && (g->outstanding == 0 || now >= t_drain_end))
			break;
		rx_poll(g, now);
		if (g->phase != PH_DRAIN && g->txn < TXQ_MAX / 2) {
			if (g->o.rate > 0) {
				g->tokens += (double)(now - g->last_tsc) * tpc;
				if (g->tokens > g->o.burst)
					g->tokens = g->o.burst;
				budget = (unsigned int)g->tokens;
			} else {
				budget = g->outstanding >= g->o.window
						 ? 0
						 : (unsigned int)(g->o.window - g->outstanding);
				if (budget > g->o.burst)
					budget = g->o.burst;
			}
			for (unsigned int i = 0; i < budget; i++) {
				if (gen_block(g, now) != 0)
					break;
				if (g->o.rate > 0)
					g->tokens -= 1.0;
			}
		}
		g->last_tsc = now;
		tx_flush(g);
		timeouts(g, now);
		if (g->phase == PH_MEASURE && now >= next_print) {
			double secs = (double)(now - (next_print - g->hz)) / (double)g->hz;

			counters_sub(&d, &g->c, &at_sec);
			if (!g->o.quiet)
				print_second(g, (double)(now - meas_start) / (double)g->hz, &d, secs);
			if (nsec < cap && sec_mpps != NULL && sec_cmds != NULL) {
				sec_mpps[nsec] = (double)d.rx_pkts / secs / 1e6;
				sec_cmds[nsec++] = (double)d.rx_cmds / secs;
			}
			at_sec = g->c;
			perf_hist_reset(&g->sec_hist);
			next_print = now + g->hz;
		}
	}
	/* Anything still outstanding after the drain is a timeout. */
	g->c.timeout += g->outstanding;
	counters_sub(&d, &g->c, &at_start);
	{
		double secs = (double)(rte_rdtsc() - meas_start) / (double)g->hz;

		if (t_drain_end != 0)
			secs = t_end > meas_start ? (double)(t_end - meas_start) / (double)g->hz : 0;
		if (secs <= 0)
			secs = 1e-9;
		fprintf(table_out,
			"total: %.3f s, tx %.3f Mpps, rx %.3f Mpps, %.0f blocks/s, %.3f Mcmd/s, "
			"p50 %.2f us, p99 %.2f us, p99.9 %.2f us, max %.2f us, timeouts %" PRIu64
			", errors %" PRIu64 "\n",
			secs, (double)d.tx_pkts / secs / 1e6, (double)d.rx_pkts / secs / 1e6,
			(double)d.rx_blocks / secs, (double)d.rx_cmds / secs / 1e6,
			cyc_us(g, perf_hist_quantile(&g->hist, 0.5)),
			cyc_us(g, perf_hist_quantile(&g->hist, 0.99)),
			cyc_us(g, perf_hist_quantile(&g->hist, 0.999)), cyc_us(g, g->hist.max),
			d.timeout + d.overrun,
			d.errors + d.aborted + d.bad_reply + d.verify_fail + d.rx_gap);
		if (g->o.json_path != NULL) {
			jf = fopen(g->o.json_path, "w");
			if (jf == NULL) {
				fprintf(stderr, "scpp-perf: cannot write %s: %s\n", g->o.json_path,
					strerror(errno));
				jf = stdout;
			}
		}
		write_json(g, jf, &d, secs, sec_mpps, sec_cmds, nsec);
		if (jf != stdout)
			fclose(jf);
	}
	free(sec_mpps);
	free(sec_cmds);
	if (stop_signal_seen() && (double)(t_end - meas_start) < secs_meas * (double)g->hz) {
		fprintf(stderr, "scpp-perf: interrupted before the end of the measured period\n");
		return -EINTR;
	}
	return 0;
}

/* ------------------------------------------------------------------ setup */

static void
usage(void)
{
	fprintf(stderr,
		"usage: scpp-perf [EAL options] -- [options]\n"
		"  --duration S        measured seconds (default 10; the run always ends)\n"
		"  --warmup S          load before measuring (default 1)\n"
		"  --mix SPEC          op weights: get,set,mapget,walk,create,copy, e.g.\n"
		"                      get=90,set=10 (default get=100)\n"
		"  --cmds N            ops per block, 1..64 (default 1; walk/create are 2 commands)\n"
		"  --value-size B      value bytes (default 8)\n"
		"  --keys N            key space (default 1000000)\n"
		"  --dist D            uniform | zipf:THETA (default uniform)\n"
		"  --rate R            open loop at R blocks/s (token bucket)\n"
		"  --window W          closed loop, W blocks outstanding (default 64)\n"
		"  --burst N           blocks per loop iteration (default 32)\n"
		"  --timeout-ms T      a block unanswered after T ms is a timeout (default 100)\n"
		"  --baseline          the peer is an I/O forwarder: echoed blocks are replies\n"
		"  --verify            decode every reply and check rows against the model\n"
		"  --no-populate       skip creating the key space (keys are synthetic OIDs)\n"
		"  --populate-timeout S  bound on the population phase (default 120)\n"
		"  --json FILE         final JSON record to FILE (default: stdout)\n"
		"  --label STR         label copied into the JSON\n"
		"  --quiet             no per-second table\n"
		"  --port P            DPDK port (default 0)\n"
		"  --src-ip A --dst-ip A --src-port N --dst-port N   (198.18.0.1, 198.18.0.2,\n"
		"                      40000, 7301 = shard 0 of base port 7300)\n"
		"  --dst-mac M         peer MAC (default: ARP, else broadcast)\n"
		"  --selftest N        check N random blocks against lib/wire (default 200)\n"
		"  --save-oids FILE    after population, write the key OIDs to FILE\n"
		"  --load-oids FILE    take the key OIDs from FILE (same --keys and mix needs)\n"
		"                      instead of populating: a later run on the same scppd\n"
		"  --queues N          queue pairs on the port, replies taken from all (default 1)\n"
		"  --probe-s S         wait at most S s for the peer to answer a first empty\n"
		"                      block before anything else (default 20)\n"
		"  --link-wait-s S     wait at most S s for the memif link to come up (default\n"
		"                      15; a peer under valgrind needs minutes)\n"
		"  --commit STR        recorded in the JSON (the tree the run was built from)\n"
		"  --key FILE          open a session as this key (docs/SECURITY.md) and seal\n"
		"                      every datagram; replies must verify\n"
		"  --chain FILE        the key's grant chain (default: none, the key is a root)\n");
}

static int
parse_ip(const char *s, uint32_t *out)
{
	unsigned int a, b, c, d;
	char extra;

	if (sscanf(s, "%u.%u.%u.%u%c", &a, &b, &c, &d, &extra) != 4 || a > 255 || b > 255 ||
	    c > 255 || d > 255)
		return -EINVAL;
	*out = a << 24 | b << 16 | c << 8 | d;
	return 0;
}

static int
parse_args(struct gen *g, int argc, char **argv)
{
	static const struct option lo[] = {
		{"duration", 1, NULL, 'd'},   {"warmup", 1, NULL, 'W'},
		{"mix", 1, NULL, 'm'},        {"cmds", 1, NULL, 'c'},
		{"value-size", 1, NULL, 'v'}, {"keys", 1, NULL, 'k'},
		{"dist", 1, NULL, 'D'},       {"rate", 1, NULL, 'r'},
		{"window", 1, NULL, 'w'},     {"burst", 1, NULL, 'b'},
		{"timeout-ms", 1, NULL, 't'}, {"baseline", 0, NULL, 'B'},
		{"verify", 0, NULL, 'V'},     {"no-populate", 0, NULL, 'N'},
		{"json", 1, NULL, 'j'},       {"label", 1, NULL, 'l'},
		{"quiet", 0, NULL, 'q'},      {"port", 1, NULL, 'p'},
		{"src-ip", 1, NULL, 1},       {"dst-ip", 1, NULL, 2},
		{"src-port", 1, NULL, 3},     {"dst-port", 1, NULL, 4},
		{"dst-mac", 1, NULL, 5},      {"populate-timeout", 1, NULL, 6},
		{"selftest", 1, NULL, 7},     {"help", 0, NULL, 'h'},
		{"save-oids", 1, NULL, 8},    {"load-oids", 1, NULL, 9},
		{"queues", 1, NULL, 10},      {"probe-s", 1, NULL, 11},
		{"commit", 1, NULL, 12},      {"key", 1, NULL, 13},
		{"chain", 1, NULL, 14},       {"link-wait-s", 1, NULL, 15},
		{NULL, 0, NULL, 0},
	};
	const char *mix = "get=100";
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (opt) {
		case 'd': g->o.duration = atof(optarg); break;
		case 'W': g->o.warmup = atof(optarg); break;
		case 'm': mix = optarg; break;
		case 'c': g->wl.cmds = (unsigned int)atoi(optarg); break;
		case 'v': g->wl.value_size = (uint32_t)atoi(optarg); break;
		case 'k': g->wl.keys = strtoull(optarg, NULL, 0); break;
		case 'D':
			if (strcmp(optarg, "uniform") == 0)
				g->wl.zipf_theta = 0;
			else if (strncmp(optarg, "zipf:", 5) == 0)
				g->wl.zipf_theta = atof(optarg + 5);
			else
				return -EINVAL;
			break;
		case 'r': g->o.rate = atof(optarg); break;
		case 'w': g->o.window = (unsigned int)atoi(optarg); break;
		case 'b': g->o.burst = (unsigned int)atoi(optarg); break;
		case 't': g->o.timeout_ms = atof(optarg); break;
		case 'B': g->o.baseline = true; break;
		case 'V': g->o.verify = true; break;
		case 'N': g->o.populate = false; break;
		case 'j': g->o.json_path = optarg; break;
		case 'l': g->o.label = optarg; break;
		case 'q': g->o.quiet = true; break;
		case 'p': g->o.port = (uint16_t)atoi(optarg); break;
		case 1: if (parse_ip(optarg, &g->o.src_ip)) return -EINVAL; break;
		case 2: if (parse_ip(optarg, &g->o.dst_ip)) return -EINVAL; break;
		case 3: g->o.src_port = (uint16_t)atoi(optarg); break;
		case 4: g->o.dst_port = (uint16_t)atoi(optarg); break;
		case 5:
			if (rte_ether_unformat_addr(optarg, &g->o.dst_mac) != 0)
				return -EINVAL;
			g->o.have_dst_mac = true;
			break;
		case 6: g->o.populate_timeout = atof(optarg); break;
		case 7: g->o.selftest = (unsigned int)atoi(optarg); break;
		case 8: g->o.save_oids = optarg; break;
		case 9: g->o.load_oids = optarg; break;
		case 10: g->o.queues = (uint16_t)atoi(optarg); break;
		case 11: g->o.probe_s = atof(optarg); break;
		case 12: g->o.commit = optarg; break;
		case 13: g->o.key_path = optarg; break;
		case 14: g->o.chain_path = optarg; break;
		case 15: g->o.link_wait_s = atof(optarg); break;
		default: return -EINVAL;
		}
	}
	if (optind != argc || perf_wl_parse_mix(&g->wl, mix) != 0 || g->wl.cmds < 1 ||
	    g->wl.cmds > PERF_CMDS_MAX || g->wl.value_size < 1 || g->wl.value_size > 65536 ||
	    g->wl.keys < 1 || g->wl.keys > UINT32_MAX || g->wl.zipf_theta < 0 ||
	    g->wl.zipf_theta >= 1 || g->o.duration <= 0 || g->o.duration > 3600 ||
	    g->o.warmup < 0 || g->o.window < 1 || g->o.burst < 1 || g->o.burst > 256 ||
	    g->o.timeout_ms <= 0 || g->o.timeout_ms > 10000 || g->o.rate < 0 ||
	    g->o.queues < 1 || g->o.queues > 16 || g->o.probe_s <= 0 || g->o.probe_s > 600 ||
	    g->o.link_wait_s <= 0 || g->o.link_wait_s > 3600)
		return -EINVAL;
	if (g->o.baseline || g->o.load_oids != NULL)
		g->o.populate = false;
	return 0;
}

static int
port_init(struct gen *g)
{
	struct rte_eth_conf conf = {0};
	uint64_t deadline;
	struct rte_eth_link link;
	int rc;

	if (!rte_eth_dev_is_valid_port(g->o.port)) {
		fprintf(stderr, "scpp-perf: port %u does not exist (pass --vdev=net_memif0,...)\n",
			g->o.port);
		return -ENODEV;
	}
	g->pool = rte_pktmbuf_pool_create("perf_pool", 32767, 512, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					  (int)rte_socket_id());
	if (g->pool == NULL) {
		fprintf(stderr, "scpp-perf: mbuf pool: %s\n", rte_strerror(rte_errno));
		return -ENOMEM;
	}
	rc = rte_eth_dev_configure(g->o.port, g->o.queues, g->o.queues, &conf);
	for (uint16_t q = 0; rc >= 0 && q < g->o.queues; q++) {
		rc = rte_eth_rx_queue_setup(g->o.port, q, 1024, (unsigned int)rte_socket_id(), NULL,
					    g->pool);
		if (rc >= 0)
			rc = rte_eth_tx_queue_setup(g->o.port, q, 1024,
						    (unsigned int)rte_socket_id(), NULL);
	}
	if (rc < 0 || (rc = rte_eth_dev_start(g->o.port)) < 0) {
		fprintf(stderr, "scpp-perf: port %u setup: %s\n", g->o.port, strerror(-rc));
		return rc;
	}
	rte_eth_promiscuous_enable(g->o.port);
	rte_eth_macaddr_get(g->o.port, &g->src_mac);
	deadline = rte_rdtsc() + (uint64_t)(g->o.link_wait_s * (double)g->hz);
	do {
		memset(&link, 0, sizeof(link));
		rte_eth_link_get_nowait(g->o.port, &link);
		if (link.link_status == RTE_ETH_LINK_UP)
			return 0;
		rte_delay_ms(10);
	} while (rte_rdtsc() < deadline && !stop_signal_seen());
	fprintf(stderr, "scpp-perf: port %u link down after %.0f s (is the peer running?)\n",
		g->o.port, g->o.link_wait_s);
	return -ETIMEDOUT;
}

int
main(int argc, char **argv)
{
	static struct gen gen; /* large (histograms, queues): not on the stack */
	struct gen *g = &gen;
	uint64_t nslots;
	int n, rc;

	n = rte_eal_init(argc, argv);
	if (n < 0)
		rte_exit(EXIT_FAILURE, "scpp-perf: EAL init failed: %s\n", rte_strerror(rte_errno));
	argc -= n;
	argv += n;
	argv[0] = (char *)(uintptr_t)"scpp-perf";
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	g->o = (struct opts){
		.duration = 10, .warmup = 1, .window = 64, .burst = 32, .timeout_ms = 100,
		.populate = true, .label = "", .src_ip = 0xc6120001, .dst_ip = 0xc6120002,
		.src_port = 40000, .dst_port = 7301, .populate_timeout = 120, .selftest = 200,
		.commit = "", .queues = 1, .probe_s = 20, .link_wait_s = 15,
	};
	g->wl.cmds = 1;
	g->wl.value_size = 8;
	g->wl.keys = 1000000;
	g->wl.rng = UINT64_C(0x9E3779B97F4A7C15);
	if (parse_args(g, argc, argv) != 0) {
		usage();
		rte_eal_cleanup();
		return 2;
	}
	table_out = g->o.json_path != NULL ? stdout : stderr;
	g->hz = rte_get_tsc_hz();
	g->timeout_cycles = (uint64_t)(g->o.timeout_ms * 1e-3 * (double)g->hz);
	g->client_id = rte_rdtsc() ^ ((uint64_t)getpid() << 32);
	g->full = g->o.verify || g->o.populate;
	if (g->o.verify && g->o.window > FULL_SLOTS / 2) {
		fprintf(stderr, "scpp-perf: --verify limits the window to %d\n", FULL_SLOTS / 2);
		g->o.window = FULL_SLOTS / 2;
	}
	if (g->o.verify && g->o.rate > 0) {
		fprintf(stderr, "scpp-perf: --verify needs a closed loop (--window)\n");
		return 2;
	}
	/* Enough slots for rate x timeout (open loop) or 4 windows (closed). */
	nslots = g->o.rate > 0 ? (uint64_t)(g->o.rate * g->o.timeout_ms * 1e-3 * 2)
			       : 4 * (uint64_t)g->o.window;
	if (g->full)
		nslots = FULL_SLOTS;
	nslots = nslots < 1024 && !g->full ? 1024 : nslots;
	nslots = rte_align64pow2(nslots);
	if (nslots > (UINT64_C(1) << 24))
		nslots = UINT64_C(1) << 24;
	g->mask = nslots - 1;
	g->slots = aligned_alloc(64, nslots * sizeof(struct slot));
	g->stage = malloc(PERF_BLOCK_MAX);
	if (g->slots == NULL || g->stage == NULL)
		rte_exit(EXIT_FAILURE, "scpp-perf: out of memory\n");
	memset(g->slots, 0, nslots * sizeof(struct slot));
	if (g->full) {
		for (int i = 0; i < FULL_SLOTS; i++)
			if ((g->buf[i] = malloc(FULL_BUF)) == NULL)
				rte_exit(EXIT_FAILURE, "scpp-perf: out of memory\n");
		g->plan = calloc(FULL_SLOTS, sizeof(*g->plan));
		if (g->plan == NULL)
			rte_exit(EXIT_FAILURE, "scpp-perf: out of memory\n");
	}
	if (g->wl.zipf_theta > 0 && perf_wl_zipf_init(&g->wl) != 0)
		rte_exit(EXIT_FAILURE, "scpp-perf: out of memory for the zipf table\n");
	if (g->o.selftest > 0 && perf_wl_selftest(&g->wl, g->o.selftest) != 0)
		rte_exit(EXIT_FAILURE, "scpp-perf: block encoder disagrees with lib/wire\n");
	if (g->o.selftest > 0 && end_selftest(g->o.selftest) != 0)
		rte_exit(EXIT_FAILURE, "scpp-perf: END decoder disagrees with lib/wire\n");
	g->next_seq = 1;
	g->oldest = 1;

	rc = port_init(g);
	if (rc == 0) {
		resolve_mac(g);
		build_frame_hdr(g);
		if (g->o.key_path != NULL && !g->o.baseline)
			rc = session_open(g);
	}
	if (rc == 0) {
		char mac[RTE_ETHER_ADDR_FMT_SIZE];

		rte_ether_format_addr(mac, sizeof(mac), &g->o.dst_mac);
		fprintf(stderr,
			"scpp-perf: %s, %u cmds/block, mix %s..., %u-byte values, %" PRIu64
			" keys, %s, client %016" PRIx64 ", peer %s\n",
			g->o.baseline ? "baseline (echo)" : "scpp", g->wl.cmds,
			perf_op_name[g->wl.op_table[0]], g->wl.value_size, g->wl.keys,
			g->o.rate > 0 ? "open loop" : "closed loop", g->client_id, mac);
		rc = probe(g);
		if (rc == 0 && g->o.populate)
			rc = populate(g);
		if (rc == 0 && g->o.populate && g->o.save_oids != NULL)
			rc = oids_file(g, g->o.save_oids, true);
		if (rc == 0 && g->o.load_oids != NULL)
			rc = oids_file(g, g->o.load_oids, false);
	}
	if (rc == 0) {
		/* Measured blocks: the fast path unless verifying. */
		g->full = g->o.verify;
		memset(&g->c, 0, sizeof(g->c));
		if (!g->full && g->o.populate) {
			/* population used the small slot table: reallocate */
			uint64_t ns = g->o.rate > 0
					      ? (uint64_t)(g->o.rate * g->o.timeout_ms * 1e-3 * 2)
					      : 4 * (uint64_t)g->o.window;

			ns = rte_align64pow2(ns < 1024 ? 1024 : ns);
			if (ns > (UINT64_C(1) << 24))
				ns = UINT64_C(1) << 24;
			free(g->slots);
			g->slots = aligned_alloc(64, ns * sizeof(struct slot));
			if (g->slots == NULL)
				rte_exit(EXIT_FAILURE, "scpp-perf: out of memory\n");
			memset(g->slots, 0, ns * sizeof(struct slot));
			g->mask = ns - 1;
			g->oldest = g->next_seq;
		}
		rc = run_load(g);
	}
	scpp_auth_client_session_free(g->cs);
	/* Stop our side first: the peer must see us go quietly. */
	rte_eth_dev_stop(g->o.port);
	rte_eth_dev_close(g->o.port);
	rte_eal_cleanup();
	return rc == 0 ? 0 : 1;
}
