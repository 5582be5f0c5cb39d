/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * scppd's table of parked evaluations (app/scppd/park.c) with the real
 * lib/delivery, lib/eval and lib/wire underneath and exec.c's entry
 * points on top: a test consumer stops blocks before a chosen command,
 * and each test asserts what the client receives (the reply datagrams,
 * decoded), the store, the consumer's callbacks and the counters.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>

#include "scpp_test.h"
#include "scpp_lang.h"
#include "scppd.h"
#include "../eval/eval_fixture.h"

#define MS UINT64_C(1000000) /* the fake TSC counts nanoseconds */
#define E "@0.1.0.1.e"
/* Padding that keeps a status reply within 3x its request (lib/delivery's
 * amplification limit) without a cookie round. */
#define PAD10 "xxxxxxxxxx"
#define PAD100 PAD10 PAD10 PAD10 PAD10 PAD10 PAD10 PAD10 PAD10 PAD10 PAD10

/* What scppd's other files would provide. */
struct scppd scppd_g;
int scppd_logtype;

void
scppd_cluster_not_here_count(const struct scppd_worker *w, const struct scpp_route_result *res)
{
	(void)w;
	(void)res;
}

struct scpp_oid
scppd_cluster_not_here_msg(const char *oid, const struct scpp_route_result *res, char *buf,
			   size_t size)
{
	(void)oid;
	(void)res;
	snprintf(buf, size, "not here");
	return SCPP_OID_NIL;
}

/* Forwarded sessions (auth.c): no carried cache here. The stub records
 * the extension it was asked about (w->carry), as auth.c would look it
 * up, and finds no identity for it. */
static struct {
	unsigned int calls;
	bool had_carry;
	struct scppd_carry seen;
} C;

const struct scpp_auth_authority *
scppd_auth_carried(struct scppd_worker *w, const struct scpp_delivery_req *req)
{
	C.calls++;
	C.had_carry = w->carry != NULL && w->carry->session == req->client_id;
	if (w->carry != NULL)
		C.seen = *w->carry;
	return NULL;
}

void
scppd_auth_carry_note(struct scppd_worker *w)
{
	(void)w;
}

static struct scppd_worker W;
static struct fx *F;
static uint8_t frame_mem[SCPP_DELIVERY_TX_BURST][9700];
static uint8_t dbuf[SCPP_WIRE_DGRAM_MAX];
static uint8_t msg[16384];
static size_t msg_len;

/* The test consumer: stops a block before command T.stop_at. */
static struct {
	bool want;
	enum scpp_eval_verdict verdict; /* SUSPEND (setup) or HOLD */
	int stop_at;      /* -1: never */
	int stop_again;   /* set as stop_at when resuming (-1: none) */
	unsigned int asked, parked, resuming, dead;
	bool rewrite;         /* reply(): replace the block's reply */
	unsigned int replies, freed;
	uint32_t freed_slot;
	uint64_t h, user;
	int status;
	enum scppd_park_end why;
} T;

static bool
t_wants(struct scppd_worker *w, const struct scpp_wire_block *b)
{
	(void)w;
	(void)b;
	return T.want;
}

static enum scpp_eval_verdict
t_before(struct scppd_worker *w, const struct scpp_wire_block *b, uint16_t cmd, size_t nrows,
	 uint64_t *user)
{
	(void)w;
	(void)b;
	(void)nrows;
	T.asked++;
	*user = 1000 + cmd;
	return cmd == T.stop_at ? T.verdict : SCPP_EVAL_GO;
}

static void
t_parked(struct scppd_worker *w, uint64_t h, const struct scpp_wire_block *b, uint16_t cmd,
	 uint64_t user)
{
	(void)w;
	assert_int_equal(cmd, T.stop_at);
	assert_true(cmd <= b->ncmds);
	T.parked++;
	T.h = h;
	T.user = user;
}

static void
t_resuming(struct scppd_worker *w, uint64_t h, uint64_t user, int status)
{
	(void)w;
	assert_int_equal(h, T.h);
	assert_int_equal(user, T.user);
	T.resuming++;
	T.status = status;
	T.stop_at = T.stop_again;
}

static void
t_dead(struct scppd_worker *w, uint64_t h, uint64_t user, enum scppd_park_end why)
{
	(void)w;
	(void)user;
	if (why == SCPPD_PARK_END_STOPPED)
		return; /* teardown: whatever is still parked */
	assert_int_equal(h, T.h);
	T.dead++;
	T.why = why;
}

/* The merge hook's seat: with T.rewrite, the reply becomes "cols=y rows=[9u]". */
static void
t_reply(struct scppd_worker *w, uint32_t slot, uint8_t *buf, uint32_t cap, uint32_t *len)
{
	static const struct scpp_wire_name y = {"y", 1};
	struct scpp_wire_reply_writer wr;
	struct scpp_value v = scpp_value_u64(9);

	(void)w;
	assert_int_equal(slot, (uint32_t)T.h);
	assert_true(*len > 0 && *len <= cap);
	T.replies++;
	if (!T.rewrite)
		return;
	scpp_wire_reply_writer_init(&wr, buf, cap);
	assert_int_equal(scpp_wire_reply_columns(&wr, &y, 1), 0);
	assert_int_equal(scpp_wire_reply_row(&wr, &v), 0);
	assert_int_equal(scpp_wire_reply_end(&wr, 0, SCPP_OUTCOME_OK, 1, 1, 0), 0);
	*len = (uint32_t)wr.len;
}

static void
t_freed(struct scppd_worker *w, uint32_t slot)
{
	(void)w;
	T.freed++;
	T.freed_slot = slot;
}

static const struct scppd_park_ops t_ops = {
	.wants = t_wants, .before_cmd = t_before, .parked = t_parked,
	.resuming = t_resuming, .dead = t_dead, .reply = t_reply, .freed = t_freed,
	.name = "test",
};

static uint32_t
ip4(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

static struct scpp_oid
oid(const char *text)
{
	struct scpp_oid o;

	assert_int_equal(scpp_oid_parse(text, strlen(text), &o), 0);
	return o;
}

static int
setup(void **state)
{
	struct scpp_net_port p = {.ip = ip4("198.18.0.2"), .mtu = 1500};
	struct scpp_delivery_conf c;

	(void)state;
	memset(&W, 0, sizeof(W));
	memset(&T, 0, sizeof(T));
	T.want = true;
	T.verdict = SCPP_EVAL_SUSPEND;
	T.stop_at = 1;
	T.stop_again = -1;
	F = fx_new(false, NULL);
	assert_int_equal(scpp_store_entity_create(F->store, oid(E)), 0);
	p.mac.addr_bytes[0] = 2;
	scpp_net_init(&scppd_g.net);
	assert_int_equal(scpp_net_port_set(&scppd_g.net, 0, &p), 0);
	scpp_net_udp_serve(&scppd_g.net, 7300, true);
	scppd_g.cfg.delivery.max_parked = 2;
	scppd_g.cfg.delivery.park_timeout_ms = 100;
	scppd_g.nb_workers = 1;
	scppd_g.workers[0] = &W;
	memset(&c, 0, sizeof(c));
	c.name = "test";
	c.mem = &scpp_delivery_mem_libc;
	c.net = &scppd_g.net;
	c.tsc_hz = 1000 * MS;
	c.retention_ms = 1000;
	c.cache_entries = 64;
	c.cache_bytes = 1 << 20;
	c.reply_max = 64 << 10;
	c.clients = 8;
	c.reasm_slots = 8;
	c.reasm_per_source = 3;
	c.reasm_timeout_ms = 100;
	c.max_fragments = SCPP_WIRE_FRAGS_MAX;
	c.backlog = 256;
	c.error_rate_source = 5;
	c.error_rate_total = 8;
	c.parked = 2;
	c.park_timeout_ms = 100;
	W.dlv = scpp_delivery_create(&c);
	assert_non_null(W.dlv);
	W.lcore = (uint16_t)rte_lcore_id();
	W.ectx = F->ctx;
	W.env = F->env;
	W.blk = &F->blk;
	W.now = 5000 * MS;
	scppd_park_init(&scppd_g, &W);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	scppd_park_free(&W);
	scpp_delivery_free(W.dlv);
	fx_free(F);
	return 0;
}

/* Block @p text from client @p cid through lib/delivery (in datagrams of
 * at most 1200 bytes of payload), then exec.c runs it as the worker would. */
static void
send_block(uint64_t cid, uint64_t bid, const char *text)
{
	static struct scpp_wire_block b;
	static uint8_t arena[1 << 14];
	struct scpp_lang_error err;
	struct scpp_net_meta m;
	struct scpp_delivery_in in;
	uint32_t nfrag;
	int n;

	assert_int_equal(scpp_lang_parse(text, strlen(text), &b, arena, sizeof(arena), &err), 0);
	n = scpp_wire_block_encode(&b, msg, sizeof(msg));
	assert_true(n > 0);
	msg_len = (size_t)n;
	nfrag = (uint32_t)((msg_len + 1199) / 1200);
	memset(&m, 0, sizeof(m));
	m.peer.ip = ip4("198.18.0.9");
	m.peer.local_ip = ip4("198.18.0.2");
	m.peer.udp_port = htons(40000);
	m.peer.local_udp_port = htons(7300);
	for (uint32_t i = 0; i < nfrag; i++) {
		size_t off = (size_t)i * 1200;
		struct scpp_wire_hdr h = {
			.kind = SCPP_WIRE_BLOCK, .client_id = cid, .block_id = bid,
			.frag_index = i, .frag_count = nfrag, .payload = msg + off,
			.payload_len = (uint16_t)SCPP_MIN((size_t)1200, msg_len - off),
			.flags = i + 1 == nfrag ? SCPP_WIRE_F_LAST : 0,
		};
		enum scpp_delivery_verdict v;

		n = scpp_wire_dgram_encode(dbuf, sizeof(dbuf), &h);
		assert_true(n > 0);
		m.l4_len = (uint16_t)n;
		v = scpp_delivery_rx(W.dlv, &m, dbuf, W.now, &in);
		if (i + 1 < nfrag)
			continue;
		assert_int_equal(v, SCPP_DELIVERY_BLOCK);
	}
	scppd_exec_block(&W, &in.req, in.msg, in.msg_len, false);
	if (in.slot >= 0)
		scpp_delivery_release(W.dlv, in.slot);
}

/* Send what lib/delivery queued; the reply to @p bid goes to F->reply
 * (summarised, as the eval tests do). Returns the reply datagrams seen. */
static unsigned int
drain(uint64_t bid)
{
	uint8_t *frames[SCPP_DELIVERY_TX_BURST];
	uint16_t lens[SCPP_DELIVERY_TX_BURST];
	unsigned int replies = 0;
	uint16_t made;

	for (int i = 0; i < SCPP_DELIVERY_TX_BURST; i++)
		frames[i] = frame_mem[i];
	F->reply_len = 0;
	while ((made = scpp_delivery_tx_prepare(W.dlv, 0, frames, SCPP_DELIVERY_TX_BURST, lens,
						W.now)) != 0) {
		for (uint16_t i = 0; i < made; i++) {
			struct scpp_wire_hdr h;

			assert_int_equal(scpp_wire_hdr_decode(frames[i] + SCPP_NET_L2L4_LEN,
							      lens[i] - SCPP_NET_L2L4_LEN, &h), 0);
			if (h.kind != SCPP_WIRE_REPLY || h.block_id != bid)
				continue;
			memcpy(F->reply + F->reply_len, h.payload, h.payload_len);
			F->reply_len += h.payload_len;
			replies++;
		}
		scpp_delivery_tx_done(W.dlv, 0, made);
	}
	if (replies > 0)
		fx_summarize(F, F->reply_len);
	return replies;
}

static struct scppd_park_stats
pstats(void)
{
	struct scppd_park_stats st;

	scppd_park_stats_read(&W, &st);
	return st;
}

static uint64_t
get_u64(const char *attr)
{
	struct scpp_value v;
	int64_t id = scpp_store_dict_lookup(F->dict, attr, strlen(attr));

	assert_true(id >= 0);
	assert_int_equal(scpp_store_get(F->store, oid(E), (uint32_t)id, &v), 0);
	return v.u;
}

static void
test_park_stops_then_resumes_with_the_rows_of_the_first_part(void **state)
{
	(void)state;
	send_block(1, 10, "set " E " a 5u ; get " E " a %x ; set " E " b %x ; return %x");
	/* Stopped before command 1: nothing sent, the first part applied. */
	assert_int_equal(T.parked, 1);
	assert_int_equal(T.user, 1001);
	assert_int_equal(drain(10), 0);
	assert_int_equal(pstats().parked, 1);
	assert_int_equal(pstats().parks, 1);
	assert_int_equal(pstats().by_reason[SCPPD_PARK_CONT], 1);
	assert_int_equal(W.park_busy, 1);
	assert_int_equal(get_u64("a"), 5);
	/* A retransmission while parked is swallowed, not run again. */
	send_block(1, 10, "set " E " a 5u ; get " E " a %x ; set " E " b %x ; return %x");
	assert_int_equal(T.parked, 1);
	assert_int_equal(drain(10), 0);
	/* Nothing resumes before the event. */
	scppd_park_poll(&W);
	assert_int_equal(T.resuming, 0);
	assert_int_equal(scppd_park_ready(&W, T.h, 0, 0), -EINVAL);
	assert_int_equal(scppd_park_ready(&W, T.h, 1, 77), 0);
	assert_int_equal(scppd_park_ready(&W, T.h, 1, 77), -EALREADY);
	scppd_park_poll(&W);
	assert_int_equal(T.resuming, 1);
	assert_int_equal(T.status, 77);
	assert_int_equal(T.dead, 0);
	assert_int_equal(drain(10), 1);
	assert_string_equal(F->summary, "cols=x rows=[5u] end=ok");
	assert_int_equal(get_u64("b"), 5);
	assert_int_equal(pstats().parked, 0);
	assert_int_equal(pstats().resumes, 1);
	assert_int_equal(W.park_busy, 0);
	/* The handle is gone: a late event is refused and counted. */
	assert_int_equal(scppd_park_ready(&W, T.h, 1, 0), -ESTALE);
	assert_int_equal(pstats().stale, 1);
	/* A retransmission now gets the held reply (the block ran once). */
	send_block(1, 10, "set " E " a 5u ; get " E " a %x ; set " E " b %x ; return %x");
	assert_int_equal(drain(10), 1);
	assert_string_equal(F->summary, "cols=x rows=[5u] end=ok");
	assert_int_equal(T.parked, 1);
}

static void
test_park_resumed_block_may_park_again_under_a_new_handle(void **state)
{
	uint64_t first;

	(void)state;
	T.stop_again = 2;
	send_block(1, 11, "set " E " a 1u ; set " E " a 2u ; set " E " a 3u ; get " E " a %x ; "
			  "return %x");
	first = T.h;
	assert_int_equal(scppd_park_ready(&W, first, 1, 0), 0);
	scppd_park_poll(&W);
	assert_int_equal(T.parked, 2);
	assert_true(T.h != first);
	assert_int_equal((uint32_t)T.h, (uint32_t)first); /* same slot, next generation */
	assert_int_equal(get_u64("a"), 2);
	assert_int_equal(drain(11), 0);
	assert_int_equal(scppd_park_ready(&W, first, 2, 0), -ESTALE);
	assert_int_equal(scppd_park_ready(&W, T.h, 2, 0), 0);
	scppd_park_poll(&W);
	assert_int_equal(drain(11), 1);
	assert_string_equal(F->summary, "cols=x rows=[3u] end=ok");
	assert_int_equal(pstats().parks, 2);
	assert_int_equal(pstats().resumes, 2);
}

/* The consumers' hooks on a resumed block's end (cont.c's merge): reply()
 * may rewrite the reply before it is committed (so a retransmission gets
 * the rewritten bytes too), freed() hears of every slot freed; the message
 * and the request's ids are there for the consumer while parked. */
static void
test_park_reply_hook_rewrites_the_committed_reply(void **state)
{
	static const char text[] = "set " E " a 4u ; get " E " a %x ; return %x";
	const uint8_t *m;
	uint64_t cid = 0, bid = 0;
	uint32_t len = 0;

	(void)state;
	T.rewrite = true;
	send_block(3, 12, text);
	assert_int_equal(T.parked, 1);
	m = scppd_park_msg_of(&W, T.h, &len);
	assert_non_null(m);
	assert_int_equal(len, msg_len);
	assert_memory_equal(m, msg, len);
	assert_int_equal(scppd_park_ids_of(&W, T.h, &cid, &bid), 0);
	assert_true(cid == 3 && bid == 12);
	assert_int_equal(T.replies, 0);
	assert_int_equal(scppd_park_ready(&W, T.h, 1, 0), 0);
	scppd_park_poll(&W);
	assert_int_equal(T.replies, 1);
	assert_int_equal(drain(12), 1);
	assert_string_equal(F->summary, "cols=y rows=[9u] end=ok");
	assert_int_equal(T.freed, 1);
	assert_int_equal(T.freed_slot, (uint32_t)T.h);
	assert_null(scppd_park_msg_of(&W, T.h, &len));
	assert_int_equal(scppd_park_ids_of(&W, T.h, &cid, &bid), -ESTALE);
	send_block(3, 12, text);
	assert_int_equal(drain(12), 1);
	assert_string_equal(F->summary, "cols=y rows=[9u] end=ok");
	/* A block that never parked does not meet the hooks. */
	T.stop_at = -1;
	send_block(3, 13, text);
	assert_int_equal(drain(13), 1);
	assert_string_equal(F->summary, "cols=x rows=[4u] end=ok");
	assert_int_equal(T.replies, 1);
	assert_int_equal(T.freed, 1);
}

/* The padding keeps the status reply within 3x the request (lib/delivery's
 * amplification limit) without a cookie round. */
#define EXPIRING "set " E " a 7u ; set " E " b 8u ; set " E " pad \"" PAD100 PAD100 PAD100 "\" ; return"

static void
test_park_expired_block_is_answered_outcome_unknown(void **state)
{
	(void)state;
	send_block(2, 20, EXPIRING);
	assert_int_equal(T.parked, 1);
	W.now += 50 * MS;
	scppd_park_poll(&W);
	assert_int_equal(T.dead, 0);
	W.now += 60 * MS;
	scppd_park_poll(&W);
	assert_int_equal(T.dead, 1);
	assert_int_equal(T.why, SCPPD_PARK_END_EXPIRED);
	assert_int_equal(drain(20), 1);
	assert_string_equal(F->summary, "cols= rows= st=ETIMEDOUT@0 end=aborted");
	assert_non_null(strstr(fx_message(F), "delivery.park_timeout_ms (100 ms)"));
	/* (E_OUTCOME_UNKNOWN: canonical errno ETIMEDOUT.) The part before the
	 * stop stays; the rest never ran. */
	assert_int_equal(get_u64("a"), 7);
	assert_int_equal(scpp_store_dict_lookup(F->dict, "b", 1) < 0 ||
			 scpp_store_get(F->store, oid(E),
					(uint32_t)scpp_store_dict_lookup(F->dict, "b", 1),
					&(struct scpp_value){0}) == -ENOENT, 1);
	assert_int_equal(pstats().expired, 1);
	assert_int_equal(pstats().parked, 0);
	assert_int_equal(scppd_park_ready(&W, T.h, 1, 0), -ESTALE);
	/* The answer is recorded: a retransmission gets it, nothing runs. */
	send_block(2, 20, EXPIRING);
	assert_int_equal(T.parked, 1);
	assert_int_equal(drain(20), 1);
	assert_string_equal(F->summary, "cols= rows= st=ETIMEDOUT@0 end=aborted");
}

static void
test_park_abort_answers_the_consumer_status(void **state)
{
	(void)state;
	send_block(3, 30, "set " E " a 1u ; set " E " a 2u ; set " E " pad \"" PAD100 PAD100 "\" ; "
			  "return");
	assert_int_equal(scppd_park_abort(&W, T.h, -EIO, "the copy engine failed"), 0);
	assert_int_equal(scppd_park_ready(&W, T.h, 1, 0), -EALREADY);
	scppd_park_poll(&W);
	assert_int_equal(T.dead, 1);
	assert_int_equal(T.why, SCPPD_PARK_END_ABORTED);
	assert_int_equal(T.resuming, 0);
	assert_int_equal(drain(30), 1);
	assert_string_equal(F->summary, "cols= rows= st=EIO@0 end=aborted");
	assert_non_null(strstr(fx_message(F), "the copy engine failed"));
	assert_int_equal(pstats().aborted, 1);
	assert_int_equal(get_u64("a"), 1);
}

static void
test_park_full_table_lets_the_block_run_through(void **state)
{
	(void)state;
	send_block(4, 40, "set " E " a 1u ; get " E " a %x ; return %x");
	send_block(5, 50, "set " E " a 2u ; get " E " a %x ; return %x");
	assert_int_equal(T.parked, 2);
	assert_int_equal(pstats().parked, 2);
	T.asked = 0;
	send_block(6, 60, "set " E " a 3u ; get " E " a %x ; return %x");
	/* Not offered to the consumer: it could not wait. */
	assert_int_equal(T.asked, 0);
	assert_int_equal(T.parked, 2);
	assert_int_equal(pstats().refused_full, 1);
	assert_int_equal(drain(60), 1);
	assert_string_equal(F->summary, "cols=x rows=[3u] end=ok");
	/* A block no consumer wants never gets hooks (the fast path). */
	T.want = false;
	send_block(7, 70, "get " E " a %x ; get " E " a %y ; return %x");
	assert_int_equal(pstats().refused_full, 1);
	assert_int_equal(drain(70), 1);
	assert_string_equal(F->summary, "cols=x rows=[3u] end=ok");
}

/* The request of a one-datagram block "set a 9u ; set a 10u" from client
 * @p cid at source port @p port, as lib/delivery gives it, with session
 * bits @p session added (auth.c would have verified it); its message in
 * *@p m / *@p len. */
static struct scpp_delivery_req
session_block(uint64_t cid, uint64_t bid, uint16_t port, uint8_t session, const uint8_t **m,
	      uint32_t *len)
{
	static struct scpp_wire_block b;
	static uint8_t arena[1 << 12];
	static struct scpp_delivery_in in;
	struct scpp_lang_error err;
	struct scpp_delivery_req req;
	struct scpp_net_meta nm;
	struct scpp_wire_hdr h = {
		.kind = SCPP_WIRE_BLOCK, .flags = SCPP_WIRE_F_LAST, .client_id = cid,
		.block_id = bid, .frag_index = 0, .frag_count = 1,
	};
	const char *text = "set " E " a 9u ; set " E " a 10u ; return";
	int n;

	assert_int_equal(scpp_lang_parse(text, strlen(text), &b, arena, sizeof(arena), &err), 0);
	n = scpp_wire_block_encode(&b, msg, sizeof(msg));
	h.payload = msg;
	h.payload_len = (uint16_t)n;
	n = scpp_wire_dgram_encode(dbuf, sizeof(dbuf), &h);
	memset(&nm, 0, sizeof(nm));
	nm.peer.ip = ip4("198.18.0.9");
	nm.peer.local_ip = ip4("198.18.0.2");
	nm.peer.udp_port = htons(port);
	nm.peer.local_udp_port = htons(7300);
	nm.l4_len = (uint16_t)n;
	assert_int_equal(scpp_delivery_rx(W.dlv, &nm, dbuf, W.now, &in), SCPP_DELIVERY_BLOCK);
	req = in.req;
	req.session |= session;
	*m = in.msg;
	*len = in.msg_len;
	return req;
}

static void
test_park_closed_session_is_answered_eacces(void **state)
{
	struct scpp_delivery_req req;
	const uint8_t *m;
	uint32_t len;

	(void)state;
	/* A session block; with no session table on the worker, its
	 * authority is gone when it resumes. */
	req = session_block(8, 80, 40000, SCPP_DELIVERY_SESSION, &m, &len);
	scppd_exec_block(&W, &req, m, len, false);
	assert_int_equal(T.parked, 1);
	assert_int_equal(scppd_park_ready(&W, T.h, 1, 0), 0);
	scppd_park_poll(&W);
	assert_int_equal(T.dead, 1);
	assert_int_equal(T.why, SCPPD_PARK_END_SESSION);
	assert_int_equal(T.resuming, 0);
	assert_int_equal(pstats().session_gone, 1);
	assert_int_equal(get_u64("a"), 9);
}

/* A session block a peer forwarded (auth.c verified its FORWARD extension:
 * w->carry) keeps that extension across the park: on resume its authority
 * is looked up as a carried one, with the same extension, although the
 * worker has long moved on to other messages (w->carry NULL). */
static void
test_park_carried_block_keeps_its_extension(void **state)
{
	struct scpp_delivery_req req;
	struct scppd_carry carry;
	const uint8_t *m;
	uint32_t len;

	(void)state;
	req = session_block(9, 90, 40001, SCPP_DELIVERY_SESSION | SCPP_DELIVERY_CARRIED, &m, &len);
	memset(&carry, 0, sizeof(carry));
	memset(carry.principal, 0x5a, sizeof(carry.principal));
	memset(carry.reply_key, 0xa5, sizeof(carry.reply_key));
	carry.session = 9;
	carry.peer = 3;
	carry.not_after_ns = UINT64_MAX;
	memset(&C, 0, sizeof(C));
	/* As worker.c runs it: the extension is w->carry during the message. */
	W.carry = &carry;
	scppd_exec_block(&W, &req, m, len, false);
	W.carry = NULL;
	assert_int_equal(T.parked, 1);
	memset(&carry, 0xee, sizeof(carry)); /* the worker's copy is gone */
	assert_int_equal(scppd_park_ready(&W, T.h, 1, 0), 0);
	scppd_park_poll(&W);
	/* Looked up as carried, with the parked extension, not the table's. */
	assert_int_equal(C.calls, 1);
	assert_true(C.had_carry);
	assert_int_equal(C.seen.peer, 3);
	assert_int_equal(C.seen.principal[0], 0x5a);
	assert_int_equal(C.seen.reply_key[31], 0xa5);
	assert_null(W.carry);
	/* No identity in the (stub) cache: refused, as a closed session is. */
	assert_int_equal(T.dead, 1);
	assert_int_equal(T.why, SCPPD_PARK_END_SESSION);
	assert_int_equal(pstats().session_gone, 1);
	assert_int_equal(get_u64("a"), 9);
}

static void
test_park_big_message_is_never_stopped(void **state)
{
	char text[6000];
	size_t n = 0;

	(void)state;
	n += (size_t)snprintf(text + n, sizeof(text) - n, "set " E " a 1u ; set " E " s \"");
	memset(text + n, 'x', 4500);
	n += 4500;
	snprintf(text + n, sizeof(text) - n, "\" ; get " E " a %%x ; return %%x");
	send_block(9, 90, text);
	assert_int_equal(T.parked, 0);
	assert_int_equal(pstats().refused_big, 1);
	assert_true(drain(90) >= 1);
	assert_string_equal(F->summary, "cols=x rows=[1u] end=ok");
}

/*
 * A held block (SCPP_EVAL_HOLD) commits nothing until it resumes: while
 * parked, another client's write to its entity gets EBUSY; aborted or
 * expired, it is undone whole and the answer says nothing was applied;
 * the stop before the end holds the whole block.
 */
static void
test_park_held_block_is_undone_on_abort_and_expiry(void **state)
{
	(void)state;
	T.verdict = SCPP_EVAL_HOLD;
	/* Interned names first (a part with new names is not held). */
	T.want = false;
	send_block(1, 1, "set " E " a 1u ; set " E " b 1u ; set " E " pad \"\" ; return");
	T.want = true;
	assert_int_equal(T.parked, 0);
	assert_int_equal(drain(1), 1);
	assert_string_equal(F->summary, "cols= rows= end=ok");
	/* Held, then aborted by its consumer. */
	send_block(1, 2, "set " E " a 2u ; set " E " b 2u ; set " E " pad \"" PAD100 PAD100
			 "\" ; return");
	assert_int_equal(T.parked, 1);
	send_block(2, 3, "set " E " b 9u ; set " E " pad \"" PAD100 "\" ; return");
	assert_int_equal(drain(3), 1);
	assert_string_equal(F->summary, "cols= rows= st=EBUSY@0 end=aborted");
	assert_int_equal(scppd_park_abort(&W, T.h, -SCPP_E_SCHEMA, "rejected"), 0);
	scppd_park_poll(&W);
	assert_int_equal(drain(2), 1);
	assert_string_equal(F->summary, "cols= rows= st=EINVAL@1 end=aborted");
	assert_non_null(strstr(fx_message(F), "nothing was applied"));
	assert_int_equal(get_u64("a"), 1);
	assert_int_equal(get_u64("b"), 1);
	/* Held before the end, then expired: undone too. */
	T.stop_at = 3;
	send_block(1, 4, "set " E " a 3u ; set " E " b 3u ; set " E " pad \"" PAD100 PAD100
			 "\" ; return");
	assert_int_equal(T.parked, 2);
	assert_int_equal(get_u64("a"), 3); /* read-uncommitted while held */
	W.now += 200 * MS;
	scppd_park_poll(&W);
	assert_int_equal(T.why, SCPPD_PARK_END_EXPIRED);
	assert_int_equal(drain(4), 1);
	assert_string_equal(F->summary, "cols= rows= st=ETIMEDOUT@3 end=aborted");
	assert_int_equal(get_u64("a"), 1);
	assert_int_equal(get_u64("b"), 1);
	/* Free again: another block may write the entity. */
	T.want = false;
	send_block(2, 5, "set " E " b 9u ; return");
	assert_int_equal(drain(5), 1);
	assert_string_equal(F->summary, "cols= rows= end=ok");
}

int
main(void)
{
	static const char *args[] = {"test_park", "--no-pci", "--no-huge", "-m", "64",
				     "--no-shconf", "--log-level=3", NULL};
	char *argv[8], *own[8];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_park_stops_then_resumes_with_the_rows_of_the_first_part, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_park_resumed_block_may_park_again_under_a_new_handle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_park_reply_hook_rewrites_the_committed_reply,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_park_expired_block_is_answered_outcome_unknown,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_park_abort_answers_the_consumer_status, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_park_full_table_lets_the_block_run_through,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_park_closed_session_is_answered_eacces, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_park_carried_block_keeps_its_extension, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_park_big_message_is_never_stopped, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_park_held_block_is_undone_on_abort_and_expiry,
						setup, teardown),
	};
	int argc = 7, rc;

	for (int i = 0; i < argc; i++)
		own[i] = argv[i] = strdup(args[i]);
	argv[argc] = NULL;
	if (rte_eal_init(argc, argv) < 0) {
		fprintf(stderr, "test_park: EAL init failed\n");
		return 1;
	}
	scppd_park_register(SCPPD_PARK_CONT, &t_ops);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rte_eal_cleanup();
	for (int i = 0; i < argc; i++)
		free(own[i]);
	return rc;
}
