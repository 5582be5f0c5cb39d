#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""The cost of a hop (issue 13 item 8, first half): a 1-get block sent to
its owner's shard port vs the same block sent to another node, which
forwards it (docs/PROTOCOL.md §18; the owner answers the client directly).

Two scppd nodes (static map) in a network namespace (tests/integration/
cluster/harness.py), a User on node 2, then rounds that alternate the two
paths so that both see the same machine load: each round sends --per blocks
one at a time (a new block id each, one outstanding) from one UDP socket
and times every round trip. Prints one JSON line per path and one with the
ratios; everything is measured in this one run.

    perf/bench-hop/hop.py [--rounds R] [--per N] [--cost-per M]   (root; ~1 min)

It measures the latency and the sequential rate a client sees (the nodes
poll with the idle back-off on, sharing two CPUs, as the test harness runs
them) and, from the workers' cost counters (/scpp/stats answer_cycles,
answered_blocks, forward_cycles, forwarded_blocks; docs/OPERATIONS.md), the
work per block: TSC cycles per block the owner answered in the direct
rounds, per block the forwarder forwarded in the forwarded rounds, and
their ratio (issue 13's target: at most 1.5). Cycles are counted only
while a worker runs, so they are far less sensitive to the machine's load
than the latencies are (a preempted turn still counts, though).
"""

import json
import os
import socket
import statistics
import struct
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "cluster"))
os.environ.setdefault("SCPPD", os.path.join(ROOT, "build/app/scppd/scppd"))
os.environ.setdefault("SCPPD_DRIVE", os.path.join(ROOT, "build/tests/integration/scppd_drive"))
os.environ.setdefault("SCPP_CLI", os.path.join(ROOT, "build/app/scpp/scpp"))
os.environ.setdefault("SCPP_SOURCE_ROOT", ROOT)
import harness  # noqa: E402


def dgram(client, block, payload):
    return (b"SC" + bytes([1, 1, 1, 0]) +
            struct.pack("<HQQII", len(payload), client, block, 0, 1) + payload)


def run_path(sock, dst, client, first_block, payload, n):
    """n sequential exchanges to dst; round-trip times in ns."""
    out = []
    for k in range(n):
        bid = first_block + k
        d = dgram(client, bid, payload)
        t0 = time.perf_counter_ns()
        sock.sendto(d, dst)
        while True:
            r, _src = sock.recvfrom(65536)
            if len(r) >= 32 and struct.unpack_from("<QQ", r, 8) == (client, bid):
                break
        out.append(time.perf_counter_ns() - t0)
    return out


COST = ("answer_cycles", "answered_blocks", "forward_cycles", "forwarded_blocks")


def cost(node):
    st = node.stats()
    return {k: st[k] for k in COST}, st["tsc_hz"]


class Tel:
    """One telemetry connection kept open (a query per block)."""

    def __init__(self, node):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.s.settimeout(5)
        self.s.connect("/var/run/dpdk/%s/dpdk_telemetry.v2" % node.prefix)
        self.s.recv(16384)

    def stats(self):
        self.s.send(b"/scpp/stats")
        return json.loads(self.s.recv(1 << 20).decode())["/scpp/stats"]

    def close(self):
        self.s.close()


def sampled(sock, dst, client, first_block, payload, n, tel, ck, bk):
    """n exchanges, the node's cost counters read after each: cycles per
    block of every exchange (a reading the worker had not yet counted is
    folded into the next)."""
    out, cyc, blk = [], 0, 0
    prev = tel.stats()
    for k in range(n):
        run_path(sock, dst, client, first_block + k, payload, 1)
        cur = tel.stats()
        cyc += cur[ck] - prev[ck]
        blk += cur[bk] - prev[bk]
        prev = cur
        if blk:
            out.append(cyc / blk)
            cyc, blk = 0, 0
    return out


def summary(name, ns):
    ns = sorted(ns)
    p = lambda q: ns[min(len(ns) - 1, int(q * len(ns)))] / 1000.0  # noqa: E731
    return {"bench": "hop", "path": name, "blocks": len(ns), "p50_us": round(p(0.5), 1),
            "p99_us": round(p(0.99), 1), "mean_us": round(statistics.mean(ns) / 1000.0, 1),
            "blocks_per_s": round(len(ns) / (sum(ns) / 1e9))}


def main():
    rounds, per, cost_per = 10, 500, 100
    args = sys.argv[1:]
    for i, a in enumerate(args):
        if a == "--rounds":
            rounds = int(args[i + 1])
        elif a == "--per":
            per = int(args[i + 1])
        elif a == "--cost-per":
            cost_per = int(args[i + 1])
    if os.geteuid() != 0:
        print("hop.py: needs root (network namespaces, taps)", file=sys.stderr)
        return 1
    with harness.Cluster("hopbench") as c:
        nodes = [c.node(i, source="static") for i in (1, 2)]
        c.static_nodes(nodes)
        for n in nodes:
            n.start()
        c.enter()
        u = nodes[1].drive('create %u User ; set %u uid 7u ; set %u name "hop" ; '
                           'set %u gid 7u ; return %u', port=7301)["rows"][0][0]
        hexmsg = subprocess.run([harness.DRIVE, "encode", "get %s name %%n" % u],
                                capture_output=True, text=True, check=True).stdout.split()[0]
        payload = bytes.fromhex(hexmsg)
        # Warm up: ARP on both paths, caches.
        harness.wait_for("node 1 to forward", lambda: nodes[0].drive("get %s name %%n" % u),
                         timeout=20)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", 0))
        s.settimeout(2)
        client, block = 0x5eed, 1
        paths = {"direct": (nodes[1].ip, 7301), "forwarded": (nodes[0].ip, 7300)}
        res = {k: [] for k in paths}
        # Cost counters' deltas, per path, on the node whose work it is:
        # the owner (node 2) answering direct blocks, the forwarder (node
        # 1) forwarding the others.
        work = {"direct": (nodes[1], "answer_cycles", "answered_blocks"),
                "forwarded": (nodes[0], "forward_cycles", "forwarded_blocks")}
        acc = {k: [0, 0] for k in paths}
        run_path(s, paths["direct"], client, block, payload, 100)
        block += 100
        t0 = time.time()
        for _ in range(rounds):
            for name, dst in paths.items():
                node, ck, bk = work[name]
                before, hz = cost(node)
                res[name] += run_path(s, dst, client, block, payload, per)
                after, _hz = cost(node)
                acc[name][0] += after[ck] - before[ck]
                acc[name][1] += after[bk] - before[bk]
                block += per
        elapsed = time.time() - t0
        # The same work read block by block (its own rounds: the queries
        # change the timing): medians are what a preempted turn does not
        # move, where the means above are.
        samples = {k: [] for k in paths}
        tels = {k: Tel(work[k][0]) for k in paths}
        for _ in range(rounds):
            for name, dst in paths.items():
                node, ck, bk = work[name]
                samples[name] += sampled(s, dst, client, block, payload, cost_per, tels[name],
                                         ck, bk)
                block += cost_per
        for t in tels.values():
            t.close()
        fwd = nodes[0].peer(2)["forwarded"]
        sums = {k: summary(k, v) for k, v in res.items()}
        for k, (cyc, blocks) in acc.items():
            sums[k]["worker_blocks"] = blocks
            sums[k]["cycles_per_block"] = round(cyc / blocks) if blocks else None
            sums[k]["ns_per_block"] = round(cyc / blocks * 1e9 / hz, 1) if blocks else None
            sm = sorted(samples[k])
            sums[k]["sampled_blocks"] = len(sm)
            sums[k]["cycles_per_block_p50"] = round(sm[len(sm) // 2]) if sm else None
            sums[k]["ns_per_block_p50"] = round(sm[len(sm) // 2] * 1e9 / hz, 1) if sm else None
        for v in sums.values():
            print(json.dumps(v))
        print(json.dumps({
            "bench": "hop", "ratio": "forwarded/direct",
            "p50": round(sums["forwarded"]["p50_us"] / sums["direct"]["p50_us"], 2),
            "p99": round(sums["forwarded"]["p99_us"] / sums["direct"]["p99_us"], 2),
            "added_p50_us": round(sums["forwarded"]["p50_us"] - sums["direct"]["p50_us"], 1),
            "added_p99_us": round(sums["forwarded"]["p99_us"] - sums["direct"]["p99_us"], 1),
            "cycles": (round(sums["forwarded"]["cycles_per_block"] /
                              sums["direct"]["cycles_per_block"], 2)
                       if sums["forwarded"]["cycles_per_block"] and
                       sums["direct"]["cycles_per_block"] else None),
            "cycles_p50": (round(sums["forwarded"]["cycles_per_block_p50"] /
                                  sums["direct"]["cycles_per_block_p50"], 2)
                           if sums["forwarded"]["cycles_per_block_p50"] and
                           sums["direct"]["cycles_per_block_p50"] else None),
            "cycles_target": 1.5, "tsc_hz": hz,
            "forwarded_counter": fwd, "seconds": round(elapsed, 1)}))
        c.leave()
        for n in c.nodes:
            code = n.stop()
            if code != 0:
                print("hop.py: node %d did not stop cleanly (%s)" % (n.id, code), file=sys.stderr)
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
