#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""The cost of a hop, second half (issue 13 item 8): a 3-component path walk
whose directories live on three nodes, as one block sent to the root's node
(split there: continuations, docs/PROTOCOL.md §19) vs three round trips
from the client, one block per component, each sent to the node that holds
that directory (the client knows every owner: the best case for it).

Three scppd nodes (static map) in a network namespace (tests/integration/
cluster/harness.py, the directories as integration.cluster_cont_walk_*
make them: the root on node 1, a on node 2, b on node 3). Rounds alternate
the two paths so both see the same machine load; each round does --per
walks one at a time (new block ids, one outstanding) from one UDP socket
and times every walk, end to end. Prints one JSON line per path and one
with the ratios, all from this one run, and checks on node 1's counters
that every one-block walk was split (cont_merged).

    perf/bench-hop/walk.py [--rounds R] [--per N]     (root; ~1 min)
"""

import json
import os
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import hop  # noqa: E402  (sets the environment for the harness, and its helpers)
from hop import harness  # noqa: E402

sys.path.insert(0, os.path.join(hop.ROOT, "tests", "integration", "cluster"))
import run_cluster  # noqa: E402


def encode(text):
    return bytes.fromhex(subprocess.run([harness.DRIVE, "encode", text], capture_output=True,
                                        text=True, check=True).stdout.split()[0])


def one_block(sock, dst, client, block, payload, n):
    return hop.run_path(sock, dst, client, block, payload, n)


def round_trips(sock, steps, client, block, n):
    """n walks of len(steps) sequential exchanges; each walk's time in ns."""
    out = []
    for k in range(n):
        t0 = time.perf_counter_ns()
        for j, (dst, payload) in enumerate(steps):
            hop.run_path(sock, dst, client, block + k * len(steps) + j, payload, 1)
        out.append(time.perf_counter_ns() - t0)
    return out


def main():
    rounds, per = 10, 200
    args = sys.argv[1:]
    for i, a in enumerate(args):
        if a == "--rounds":
            rounds = int(args[i + 1])
        elif a == "--per":
            per = int(args[i + 1])
    if os.geteuid() != 0:
        print("walk.py: needs root (network namespaces, taps)", file=sys.stderr)
        return 1
    with harness.Cluster("walkbench") as c:
        nodes = run_cluster.cont_cluster(c, "static")
        n1, n2, n3 = nodes
        o = run_cluster.walk_tree(nodes)
        walk = ('get {r} entries["a"] %a ; get %a entries["b"] %b ; get %b entries["c"] %c ; '
                'return %c').format(r=o["r"])
        rep = n1.drive(walk)
        if rep["rows"] != [[o["c"]]]:
            print("walk.py: the one-block walk answered %r" % rep, file=sys.stderr)
            return 1
        block1 = encode(walk)
        steps = [((n1.ip, 7301), encode('get %s entries["a"] %%x ; return %%x' % o["r"])),
                 ((n2.ip, 7301), encode('get %s entries["b"] %%x ; return %%x' % o["a"])),
                 ((n3.ip, 7301), encode('get %s entries["c"] %%x ; return %%x' % o["b"]))]
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", 0))
        s.settimeout(5)
        client, block = 0x3a1c, 1
        one_block(s, (n1.ip, 7300), client, block, block1, 20)  # warm: ARP, caches
        block += 20
        m0 = n1.stats()["cont_merged"]
        res = {"one_block": [], "round_trips": []}
        t0 = time.time()
        for _ in range(rounds):
            res["one_block"] += one_block(s, (n1.ip, 7300), client, block, block1, per)
            block += per
            res["round_trips"] += round_trips(s, steps, client, block, per)
            block += per * len(steps)
        elapsed = time.time() - t0
        merged = n1.stats()["cont_merged"] - m0
        sums = {k: hop.summary(k, v) for k, v in res.items()}
        for v in sums.values():
            v["bench"] = "walk3"
            v["walks"] = v.pop("blocks")
            v["walks_per_s"] = v.pop("blocks_per_s")
            print(json.dumps(v))
        print(json.dumps({
            "bench": "walk3", "ratio": "one_block/round_trips",
            "p50": round(sums["one_block"]["p50_us"] / sums["round_trips"]["p50_us"], 2),
            "p99": round(sums["one_block"]["p99_us"] / sums["round_trips"]["p99_us"], 2),
            "merged_counter": merged, "load": os.getloadavg()[0],
            "seconds": round(elapsed, 1)}))
        if merged != rounds * per:
            print("walk.py: node 1 merged %d walks, expected %d" % (merged, rounds * per),
                  file=sys.stderr)
            return 1
        c.leave()
        for n in c.nodes:
            code = n.stop()
            if code != 0:
                print("walk.py: node %d did not stop cleanly (%s)" % (n.id, code), file=sys.stderr)
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
