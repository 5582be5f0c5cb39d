#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Multi-node integration tests of the cluster map (docs/CLUSTER.md): real
etcd, real scppd nodes in a namespace joined by a bridge (harness.py).

    run_cluster.py NAME      (NAME: see TESTS at the bottom)

Needs root (namespaces, taps) and etcd (scripts/deps.sh): exits 77 (skip)
without root. Each test builds and removes its own cluster; every wait is
bounded; no assertion is about time: a "within the TTL" is a bounded wait
for the state, failing only when it never comes.
"""

import errno
import json
import os
import random
import re
import stat
import signal
import socket
import struct
import sys
import threading
import time
import traceback
import subprocess

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BRIDGE_IP, SCPP_CLI, Cluster, ClusterFailure, SCPPD, ROOT, check,  # noqa: E402
                     node_ip, run, wait_for)


def state_on(node, peer_id):
    p = node.peer(peer_id)
    return p["state"] if p else None


def wait_state(nodes, peer_id, state, timeout):
    for n in nodes:
        wait_for("node %d to see node %d %s" % (n.id, peer_id, state),
                 lambda n=n: state_on(n, peer_id) == state, timeout=timeout)


def static_routes(c, node):
    """{(prefix, node, shard)} of the static map `scpp cluster --config` computes."""
    out = json.loads(c.cli("cluster", "--config", node.config_path, "--json").stdout)
    return {(p["prefix"], n["id"], p["shard"]) for n in out["nodes"] for p in n["prefixes"]}


def expect_owner(msg, node, shard=0):
    """E_NOT_HERE names the owner, its address and base port (docs/CLUSTER.md)."""
    want = 'is owned by node %d "%s", shard %d, at %s:7300' % (node.id, node.name, shard, node.ip)
    check(want in msg, "expected %r in %r" % (want, msg))


# ---- tests ---------------------------------------------------------------------

def t_static(c):
    """Three nodes with one static map: every node routes every prefix, and
    E_NOT_HERE names the owner from the map (forwarding off: t_forward_*
    test it)."""
    nodes = [c.node(i, forward=False) for i in (1, 2, 3)]
    nodes[1].cfg["workers"] = [{"lcore": 1, "shard": 0}, {"lcore": 2, "shard": 1}]
    nodes[1].cfg["eal"]["args"] = ["--lcores=0@0,1@1,2@1"]
    nodes[1].cfg["eal"]["memory_mb"] = 768
    c.static_nodes(nodes)
    for n in nodes:
        n.start()
    c.enter()
    want = static_routes(c, nodes[0])
    check(len(want) == 4, "4 shard prefixes: %s" % want)
    for n in nodes:
        check(n.routes() == want, "node %d routes %s != %s" % (n.id, n.routes(), want))
        s = n.cluster()
        check(s["source"] == "static" and s["nodes"] == 3 and s["self"] == n.id, s)
        check(state_on(n, n.id) == "self", "self state")
    check(state_on(nodes[0], 2) == "static", "peer state")
    f = nodes[0].not_here("get @0.3.0.1.5 name %n")
    expect_owner(f["message"], nodes[2])
    check(f["owner"] == "@0.3.0.0.0" and f["component"] == "route", f)
    f = nodes[2].not_here("get @0.2.1.1.5 name %n")
    expect_owner(f["message"], nodes[1], shard=1)
    check(f["owner"] == "@0.2.1.0.0", f)
    f = nodes[0].not_here("get @0.9.0.1.5 name %n")
    check("no route for @0.9.0.1.5" in f["message"] and "owner" not in f, f)
    # The per-peer counter moved on the node that answered, for that peer.
    check(nodes[0].peer(3)["not_here"] >= 1, nodes[0].peer(3))
    check(nodes[0].peer(2)["not_here"] == 0, nodes[0].peer(2))
    check(nodes[0].cluster()["not_here_no_owner"] >= 1, nodes[0].cluster())
    # scpp cluster: the node's own view, as a table and as JSON.
    table = c.cli("cluster", "--telemetry", nodes[0].prefix).stdout
    check(re.search(r"^2\s+n2\s+static\s+198\.18\.0\.12:7300\s+0\s+0,1\s", table, re.M), table)
    check("3 nodes, 4 routes" in table, table)
    js = json.loads(c.cli("cluster", "--telemetry", nodes[0].prefix, "--json").stdout)
    check([n["state"] for n in js["nodes"]] == ["self", "static", "static"], js)
    check(js["nodes"][0]["mac"] is not None, "this node's MAC is known once its port is up")
    # A block for a node's own shard runs there (ENOENT from its evaluator
    # on shard 1, not E_NOT_HERE).
    f = nodes[1].drive("get @0.2.1.1.5 name %n")["statuses"][0]["fields"]
    check(f["code"] == "ENOENT" and f["component"] == "eval" and f["core"] == 1, f)


def t_etcd_membership(c):
    """etcd: the map matches the static one; a fourth node joins and is
    routable everywhere; a killed node's prefixes become unreachable
    everywhere within the lease TTL (bounded wait); a node that stops
    cleanly leaves at once; scpp cluster --etcd shows the registry."""
    c.start_etcd()
    nodes = [c.node(i, forward=False) for i in (1, 2, 3)]
    for n in nodes:
        n.start()
    c.enter()
    for n in nodes:
        for p in nodes:
            wait_for("node %d to see node %d" % (n.id, p.id),
                     lambda n=n, p=p: state_on(n, p.id) in ("up", "self"), timeout=20)
    # The same routes as the equivalent static map.
    static = [c.node(i, source="static") for i in (1, 2, 3)]
    c.static_nodes(static)
    for s in static:
        s.write_config()
    for n, s in zip(nodes, static):
        check(n.routes() == static_routes(c, s),
              "node %d: etcd routes %s != static %s" % (n.id, n.routes(), static_routes(c, s)))
        st = n.cluster()["etcd"]
        check(st["state"] == "registered" and st["registrations"] >= 1 and st["stale"] == 0 and
              st["conflicts"] == 0, st)
    keys = c.etcd_keys()
    check(sorted(keys) == ["%sv1/node/%d" % (c.etcd_prefix, i) for i in (1, 2, 3)], keys)
    rec = json.loads(c.etcdctl("get", "--print-value-only",
                               "%sv1/node/2" % c.etcd_prefix).stdout)
    check(rec["name"] == "n2" and rec["ipv4"] == node_ip(2) and rec["mac"], rec)
    msg = nodes[0].not_here("get @0.3.0.1.5 name %n")["message"]
    expect_owner(msg, nodes[2])
    version = nodes[0].cluster()["map_version"]

    # A fourth node joins: routable on every node, nobody restarted.
    n4 = c.node(4, forward=False).start()
    for n in nodes:
        wait_for("node %d to see node 4" % n.id, lambda n=n: state_on(n, 4) == "up", timeout=20)
    for n in nodes:
        expect_owner(n.not_here("get @0.4.0.1.7 name %n")["message"], n4)
        check(("@0.4.0.0.0/64", 4, 0) in n.routes(), n.routes())
    check(nodes[0].cluster()["map_version"] > version, "a new map was published")
    check(nodes[2].peer(4)["not_here"] >= 1, nodes[2].peer(4))
    pids = {n.id: n.proc.pid for n in nodes + [n4]}

    # Node 2 dies (SIGKILL by PID): its lease lapses and every other node
    # marks it unreachable (a bounded wait of the TTL plus slack).
    nodes[1].kill()
    wait_state([nodes[0], nodes[2], n4], 2, "unreachable", timeout=c.ttl_s + 15)
    msg = nodes[0].not_here("get @0.2.0.1.5 name %n")["message"]
    check('owned by node 2 "n2", shard 0, at 198.18.0.12:7300, which is unreachable' in msg, msg)
    check("%sv1/node/2" % c.etcd_prefix not in c.etcd_keys(), c.etcd_keys())
    check(nodes[0].cluster()["nodes_unreachable"] == 1, nodes[0].cluster())

    # Node 3 stops cleanly: it revokes its lease and leaves without a TTL.
    check(nodes[2].stop() == 0, "node 3 did not stop cleanly")
    check("cluster: left etcd (lease revoked)" in nodes[2].logtext(), nodes[2].logtext()[-2000:])
    wait_state([nodes[0], n4], 3, "unreachable", timeout=15)

    # scpp cluster --etcd: the registry as any node reads it.
    js = json.loads(c.cli("cluster", "--etcd", "http://198.18.0.1:2379", "--prefix",
                          c.etcd_prefix, "--json").stdout)
    check(sorted(n["id"] for n in js["nodes"]) == [1, 4] and js["self"] == 0, js)
    table = c.cli("cluster", "--telemetry", n4.prefix).stdout
    check(re.search(r"^2\s+n2\s+unreachable\s+198\.18\.0\.12:7300", table, re.M), table)
    check(re.search(r"^4\s+n4\s+self\s", table, re.M), table)
    # Nobody was restarted: the survivors are the processes started first.
    check(nodes[0].alive() and n4.alive() and nodes[0].proc.pid == pids[1], "restarted?")


def t_etcd_failures(c):
    """etcd going away keeps the last good map (reported in telemetry), and
    coming back restores the registration; bad records are refused alone
    with precise messages; a second node with a taken id does not start;
    bad cluster configs are refused with the path."""
    c.start_etcd()
    nodes = [c.node(i, forward=False) for i in (1, 2, 3)]
    for n in nodes:
        n.start()
    c.enter()
    wait_state(nodes[:2], 3, "up", timeout=20)
    wait_state(nodes[1:], 1, "up", timeout=20)

    # Bad records: each refused alone, named precisely; the map is intact.
    p = c.etcd_prefix
    c.etcdctl("put", p + "v1/node/9", '{"id":9,"name":"n9"}')
    c.etcdctl("put", p + "v1/node/8", '{"id":7,"name":"n8","ipv4":"198.18.0.18","shards":[0]}')
    c.etcdctl("put", p + "v1/node/6",
              '{"id":6,"name":"n6","ipv4":"198.18.0.16","shards":[0],'
              '"routes":[{"prefix":"@0.1.0.0.0/48","shard":0}]}')
    c.etcdctl("put", p + "v1/node/x", "{}")

    def rejected():
        text = nodes[0].telemetry("/scpp/cluster,rejected")
        return text if text.count("\n") >= 4 else None
    text = wait_for("the bad records refused", rejected, timeout=15)
    for want in [
        'etcd %sv1/node/9: $.ipv4: expected an IPv4 address like "198.18.0.3", found nothing '
        '(the key is required)' % p,
        "etcd %sv1/node/8: $.id: expected 8, the id its key names, found 7" % p,
        'etcd %sv1/node/6: $.routes[0].prefix: expected a prefix no other node owns, found '
        '"@0.1.0.0.0/48", which overlaps "@0.1.0.0.0/64" of node 1 "n1" (this node: $)' % p,
        "etcd %sv1/node/x: expected a key %sv1/node/<id>" % (p, p),
    ]:
        check(want in text, "missing %r in:\n%s" % (want, text))
    wait_for("node 2 to log the refusal",
             lambda: "record refused: etcd %sv1/node/9" % p in nodes[1].logtext(), timeout=15)
    check(nodes[0].cluster()["nodes"] == 3, nodes[0].cluster())
    check(nodes[0].cluster()["etcd"]["records_rejected"] >= 4, nodes[0].cluster())
    # On node 2 the overlapping record loses to node 1's older one.
    text2 = wait_for("node 2 to refuse the records",
                     lambda: (lambda t: t if t.count("\n") >= 4 else None)(
                         nodes[1].telemetry("/scpp/cluster,rejected")), timeout=15)
    check('which overlaps "@0.1.0.0.0/64" of node 1 "n1" (etcd %sv1/node/1: $)' % p in text2,
          text2)
    c.etcdctl("del", "--prefix", p + "v1/node/x")
    for k in (6, 8, 9):
        c.etcdctl("del", p + "v1/node/%d" % k)

    # A node with a taken id (another name, another address) does not start.
    dup = c.node(5, name="n2b", ip=node_ip(5))
    dup.cfg["node"]["id"] = 2
    dup.iface = "tap5"
    dup.start(wait_ready=False)
    rc = dup.proc.wait(timeout=60)
    # Exactly 1 (rte_exit): an ASan build that finds a leak at exit aborts
    # (signal 6) instead, which must fail here too.
    check(rc == 1, "a node with a taken id: exit code %s, expected 1:\n%s" %
          (rc, dup.logtext()[-3000:]))
    want = ('node id 2 is already registered by "n2" at 198.18.0.12:7300 (key %sv1/node/2, '
            'lease' % p)
    check(want in dup.logtext() and 'this node is "n2b" at 198.18.0.15:7300: two nodes may not '
          'share an id' in dup.logtext(), dup.logtext()[-3000:])
    check(state_on(nodes[0], 2) == "up", "the first node 2 is untouched")

    # etcd goes away: the last good map stays, telemetry says so.
    before = nodes[0].cluster()
    c.kill_etcd()
    for n in nodes:
        wait_for("node %d to see etcd unreachable and stale" % n.id,
                 lambda n=n: (lambda e: e["state"] == "unreachable" and e["stale"] == 1)(
                     n.cluster()["etcd"]), timeout=c.ttl_s + 15)
    after = nodes[0].cluster()
    check(after["map_version"] == before["map_version"] and after["nodes"] == 3 and
          after["nodes_unreachable"] == 0, "the map changed while etcd was away: %s" % after)
    check(after["etcd"]["failures"] > before["etcd"]["failures"], after)
    check("etcd unreachable" in nodes[0].logtext(), "no log line")
    expect_owner(nodes[0].not_here("get @0.3.0.1.5 name %n")["message"], nodes[2])
    # etcd returns (same data): every node is registered again, nobody lost.
    c.start_etcd()
    for n in nodes:
        wait_for("node %d registered again" % n.id,
                 lambda n=n: (lambda e: e["state"] == "registered" and e["stale"] == 0)(
                     n.cluster()["etcd"]), timeout=c.ttl_s + 20)
    wait_state(nodes[:2], 3, "up", timeout=20)
    check(sorted(c.etcd_keys()) == ["%sv1/node/%d" % (p, i) for i in (1, 2, 3)], c.etcd_keys())


BAD_CONFIGS = [
    ({"node": {"id": 1, "name": "a"}, "cluster": {"nodes": [
        {"id": 1, "name": "a", "ipv4": "198.18.0.2", "shards": [0]},
        {"id": 2, "name": "b", "ipv4": "198.18.0.3", "shards": [0],
         "routes": [{"prefix": "@0.0.0.0.0/32", "shard": 0}]}]}},
     '$.cluster.nodes[1].routes[0].prefix: expected a prefix no other node owns, found '
     '"@0.0.0.0.0/32", which overlaps "@0.1.0.0.0/64" of node 1 "a"'),
    ({"node": {"id": 1, "name": "a"}, "cluster": {"nodes": [
        {"id": 1, "name": "a", "ipv4": "198.18.0.2", "shards": [0]},
        {"id": 3, "name": "a", "ipv4": "198.18.0.4", "shards": [0]}]}},
     '$.cluster.nodes[1].name: expected a name no other node has, found "a"'),
    ({"cluster": {"source": "etcd", "etcd": {"endpoints": ["etcd:2379"]}}},
     "$.cluster.etcd.endpoints[0]: expected an http URL"),
]


def t_bad_config(c):
    """scppd --check-config refuses bad cluster sections with the path."""
    for i, (cfg, want) in enumerate(BAD_CONFIGS):
        path = os.path.join(c.tmp, "bad%d.json" % i)
        cfg.setdefault("schema", {"files": [os.path.join(ROOT, "schema/core.json")]})
        with open(path, "w") as f:
            json.dump(cfg, f)
        r = run([SCPPD, "--check-config", path], check_rc=False)
        check(r.returncode == 1 and want in r.stderr and r.stderr.startswith(path),
              "case %d: %s" % (i, r.stderr))


# ---- forwarding (docs/CLUSTER.md §7) ----------------------------------------------

def cli_exec(c, server, *blocks):
    """Blocks through lib/client, as any application sends them (the scpp
    CLI, one client for all of them): the JSON replies and the -v lines."""
    r = c.cli("-s", server, "-j", "-v", "--no-names", "exec", *blocks, check_rc=False)
    reps = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
    return reps, [l for l in r.stderr.splitlines() if "tries" in l], r


def drive_all(node, text, times, client, block, port=7300):
    """scppd_drive --times N: every reply's JSON and meta, in order."""
    r = run([node.c_drive(), "exec", node.ip, str(port), text, "--client", str(client),
             "--block", str(block), "--times", str(times)], check_rc=False)
    check(r.returncode == 0, "drive failed: %s %s" % (r.stdout, r.stderr))
    reps = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
    metas = [json.loads(l[5:]) for l in r.stdout.splitlines() if l.startswith("meta ")]
    return reps, metas


def forward_cluster(c, source, node2_shards=2, fan_out=False):
    """Three nodes, node 2 with two shards (or @p node2_shards); every node
    sees the others."""
    if source == "etcd":
        c.start_etcd()
    nodes = [c.node(i, source=source) for i in (1, 2, 3)]
    nodes[1].shards(node2_shards)
    if source == "static":
        c.static_nodes(nodes)
    for n in nodes:
        if fan_out:
            n.cfg["cluster"]["cont"] = {"fan_out": True}
    for n in nodes:
        n.start()
    c.enter()
    for n in nodes:
        for p in nodes:
            wait_for("node %d to see node %d" % (n.id, p.id),
                     lambda n=n, p=p: state_on(n, p.id) in ("up", "static", "self"), timeout=20)
    return nodes


def forward_scenarios(c, nodes):
    n1, n2, n3 = nodes
    # An entity on shard 1 of node 2, made there directly.
    u = n2.drive('create %u User ; set %u uid 4242u ; set %u name "fwd" ; set %u gid 1u ; '
                 'return %u',
                 port=7302)["rows"][0][0]
    check(u.startswith("@0.2.1."), u)
    s1, s2 = n1.stats(), n2.stats()
    f1 = n1.peer(2)["forwarded"]

    # lib/client, unchanged: the block goes to node 1, which forwards it;
    # node 2 answers from its shard port; the client's next block for that
    # shard goes to node 2 straight away.
    reps, lines, r = cli_exec(c, n1.ip, "get %s name %%n" % u, "get %s uid %%i" % u)
    check(r.returncode == 0 and len(reps) == 2, "cli: %s %s" % (r.stdout, r.stderr))
    check(reps[0]["rows"] == [["fwd"]], reps[0])
    check("4242" in json.dumps(reps[1]["rows"]), reps[1])
    check("owners learnt 1" in lines[0] and "steered 0" in lines[0], lines)
    check("steered 1" in lines[1], lines)
    p12 = n1.peer(2)
    check(p12["forwarded"] >= 1, p12)
    check(n1.stats()["executed"] == s1["executed"], "node 1 ran a block it forwarded")
    check(n2.stats()["executed"] == s2["executed"] + 2, "node 2 ran both blocks")
    check(n2.peer(1)["forwarded_in"] == p12["forwarded"], (n2.peer(1), p12))
    check(n1.cluster()["forwarded"] == p12["forwarded"], n1.cluster())
    # What a block costs (docs/OPERATIONS.md): node 1's turns forwarded
    # the first block and nothing else, node 2's answered both, each with
    # cycles counted; the counts agree with the forwarding and execution
    # counters (no timing asserted, only that the accounting took the path).
    t1, t2 = n1.stats(), n2.stats()
    d = lambda t, s, k: t[k] - s[k]  # noqa: E731
    check(d(t1, s1, "forwarded_blocks") == p12["forwarded"] - f1 >= 1 and
          d(t1, s1, "forward_cycles") > 0, (t1, s1, p12, f1))
    check(d(t1, s1, "answered_blocks") == 0 and d(t1, s1, "answer_cycles") == 0, t1)
    check(d(t2, s2, "answered_blocks") == 2 and d(t2, s2, "answer_cycles") > 0, t2)
    check(d(t2, s2, "forwarded_blocks") == 0 and d(t2, s2, "forward_cycles") == 0, t2)
    check(t1["tsc_hz"] > 0 and t2["tsc_hz"] > 0, (t1["tsc_hz"], t2["tsc_hz"]))

    # The reply comes from the owner's shard port; a status from the owner
    # names it (core 1 of node 2).
    rep = n1.drive("get %s name %%n" % u)
    check(rep["rows"] == [["fwd"]] and n1.last_meta["from"] == "%s:7302" % n2.ip,
          (rep, n1.last_meta))
    f = n1.drive("get @0.2.1.1.999 name %n")["statuses"][0]["fields"]
    check(f["code"] == "ENOENT" and f["core"] == 1 and f["node"].startswith("@0.2."), f)
    # Node 3's shard, through node 2 this time (scppd_drive does not
    # retransmit: a first block may wait for node 3's MAC, so retry).
    f = wait_for("node 2 to forward to node 3",
                 lambda: n2.drive("get @0.3.0.1.5 name %n"), timeout=20)["statuses"][0]["fields"]
    check(f["code"] == "ENOENT" and f["node"].startswith("@0.3."), f)
    check(n2.peer(3)["forwarded"] >= 1, n2.peer(3))

    # Retransmissions across the hop execute once: the same datagrams sent
    # three times to node 1 are one execution on node 2, answered the same
    # bytes every time.
    s2 = n2.stats()
    reps, metas = drive_all(n1, 'get %s uid %%i ; set %s name "once"' % (u, u), 3, 77, 5000)
    check(len(reps) == 3 and len({m["hex"] for m in metas}) == 1, metas)
    check(all(m["from"] == "%s:7302" % n2.ip for m in metas), metas)
    check(n2.stats()["executed"] == s2["executed"] + 1, "a retransmission ran again")
    d2 = n2.telemetry("/scpp/stats")
    check(d2["cache_hits"] >= 2, d2)
    return u


def t_forward_static(c):
    """Forwarding with the static map (peers' MACs by ARP): the client's
    block reaches the owner through another node, the reply comes from
    the owner, the client steers its next block there, retransmissions
    run once; a forwarding loop stops at cluster.forward.max_hops."""
    nodes = forward_cluster(c, "static")
    check(nodes[0].stats()["forward_arp_sent"] >= 0, "counter present")
    forward_scenarios(c, nodes)
    check(nodes[0].stats()["forward_arp_sent"] >= 1, "node 1 never asked ARP for a peer")


def t_forward_etcd(c):
    """The same with etcd (peers' MACs from their records), then a node
    killed mid-run: once its lease lapses its shards get E_NOT_HERE at
    once (never silence), and the others keep forwarding."""
    nodes = forward_cluster(c, "etcd")
    u = forward_scenarios(c, nodes)
    n1, n2, n3 = nodes
    n3.kill()
    wait_state([n1, n2], 3, "unreachable", timeout=c.ttl_s + 15)
    f = n1.drive("get @0.3.0.1.5 name %n")["statuses"][0]["fields"]
    check(f["code"] == "E_NOT_HERE" and "which is unreachable" in f["message"], f)
    rep = n1.drive("get %s name %%n" % u)
    check(rep["rows"] == [["once"]] and n1.last_meta["from"] == "%s:7302" % n2.ip,
          (rep, n1.last_meta))


def t_forward_hops(c):
    """Maps that disagree (a prefix each node places on the next) make a
    loop: the block is forwarded cluster.forward.max_hops times, then the
    node holding it answers E_LIMIT_HOPS, naming itself; nothing ran."""
    nodes = [c.node(i, source="static") for i in (1, 2, 3)]
    for i, n in enumerate(nodes):
        recs = [p.record() for p in nodes]
        nxt = recs[(i + 1) % 3]
        nxt["routes"] = [{"prefix": "@0.9.0.0.0/48", "shard": 0}]
        n.cfg["cluster"] = {"source": "static", "nodes": recs,
                            "forward": {"enabled": True, "max_hops": 2}}
    for n in nodes:
        n.start()
    c.enter()
    # Warm the ARP caches (a peer's first block may wait for its MAC).
    for n in nodes:
        for p in nodes:
            if p is not n:
                wait_for("node %d to reach node %d" % (n.id, p.id),
                         lambda n=n, p=p: n.drive("get @0.%d.0.1.5 name %%n" % p.id)
                         ["statuses"][0]["fields"]["code"] == "ENOENT", timeout=20)
    # A request large enough that the status fits 3x its bytes: no cookie
    # round (which would send the block again, to the node that answered).
    rep = nodes[0].drive('get @0.9.0.1.1 name "%s"' % ("x" * 300))
    check("statuses" in rep, rep)
    f = rep["statuses"][0]["fields"]
    check(f["code"] == "E_LIMIT_HOPS" and f["node"].startswith("@0.3.") and
          "forwarded 2 times" in f["message"], f)
    check(nodes[0].last_meta["from"].startswith(nodes[2].ip + ":"), nodes[0].last_meta)
    check(nodes[2].stats()["forward_hops_limit"] == 1, nodes[2].stats())
    check(nodes[0].peer(2)["forwarded"] >= 1 and nodes[1].peer(3)["forwarded"] >= 1,
          "the loop went 1 -> 2 -> 3")


# ---- forwarded sessions (docs/SECURITY.md §9.4) ---------------------------------

def udp_checksum(src, dst, udp):
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, len(udp))
    data = pseudo + udp + (b"\0" if len(udp) % 2 else b"")
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s & 0xffff) or 0xffff


def send_spoofed_forward(src, dst, dport, ext, client_id, block_id):
    """A FORWARD datagram as if node @p src had sent it (a raw socket in the
    test's namespace): header, FORWARD header with extension bytes @p ext,
    and a request that is never looked at unless the extension verifies."""
    req = b"\x00\x01\x01" + b"\x00" * 13
    fwd = struct.pack("<BBBBI4sH6sIHH16s", 1, 1, 1, 0, 1, socket.inet_aton(BRIDGE_IP), 40000,
                      bytes.fromhex("02 00 c6 12 00 01".replace(" ", "")), 100, len(ext), 0,
                      b"\0" * 16)
    payload = fwd + ext + req
    hdr = b"SC" + struct.pack("<BBBBHQQII", 1, 5, 0x01, 0, len(payload), client_id, block_id,
                              0, 1)
    dgram = hdr + payload
    udp = struct.pack("!HHHH", 7300, dport, 8 + len(dgram), 0) + dgram
    udp = udp[:6] + struct.pack("!H", udp_checksum(src, dst, udp)) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0x1234, 0, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst)) + udp
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    try:
        s.sendto(ip, (dst, 0))
    finally:
        s.close()


def dump_auth_counters(nodes):
    """What each node counted of sessions and forwarding (on a failure)."""
    for n in nodes:
        st = {k: v for k, v in n.stats().items()
              if v and ("auth" in k or "carried" in k or "forward" in k or "cont" in k or
                       k == "executed")}
        print("node %d stats %s" % (n.id, st))
        print("node %d auth %s" % (n.id, {k: v for k, v in n.telemetry("/scpp/auth").items()
                                         if v and k != "node_key"}))


def scpp_as(base_env, server, key, args, chain=None, want=0):
    """The scpp CLI as principal @key (with chain file @chain) against
    @server; its exit code must be @want."""
    env = dict(base_env, SCPP_KEY=key)
    if chain is not None:
        env["SCPP_CHAIN"] = chain
    r = run([SCPP_CLI, "-s", server, "--json", "--no-names"] + list(args), env=env,
            check_rc=False, timeout=60)
    check(r.returncode == want, "scpp %s: exit %d, wanted %d: %s %s" %
          (args, r.returncode, want, r.stdout, r.stderr))
    return r


def sessions_cluster(c, tweak=None, after_map=None):
    """Three static nodes with auth required, each with its own node key,
    every other node in auth.peers, the operator's key a root everywhere;
    tweak(nodes, root, nkey) may change the configs before they start, and
    after_map(nodes) their $.cluster sections once the map is written.
    Returns (nodes, gen, base_env, root, nkey)."""
    nodes = [c.node(i, source="static") for i in (1, 2, 3)]
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("SCPP_")}

    def gen(name):
        path = os.path.join(c.tmp, name + ".key")
        run([SCPP_CLI, "key", "gen", "-o", path, "--comment", name], env=base_env)
        return path
    root = gen("operator")
    nkey = {n.id: gen("node%d" % n.id) for n in nodes}
    for n in nodes:
        n.cfg["auth"] = {"mode": "required", "node_key": nkey[n.id], "roots": [root + ".pub"],
                         "peers": ["%d:%s.pub" % (p.id, nkey[p.id]) for p in nodes if p is not n]}
    if tweak is not None:
        tweak(nodes, root, nkey)
    c.static_nodes(nodes)
    if after_map is not None:
        after_map(nodes)
    for n in nodes:
        n.start()
    c.enter()
    return nodes, gen, base_env, root, nkey


def t_forward_sessions(c):
    """A session's block sent to node 1 for an entity node 3 owns: node 1
    forwards it with its client's principal (FORWARD extension 1) and the
    chains (IDENTITY); node 3 checks the *client* against its own roots --
    never node 1, whose own key holds every right on node 3 -- runs the
    block with the client's rights and answers it on a delegated lane. A
    read works (bytes compared), a set is refused EACCES naming the missing
    right and applies nothing, a read outside the client's grant is refused
    by the node that owns it, and forged or truncated extensions are dropped
    and counted by the owner; counters show the carried path was taken."""
    tmp = c.tmp

    def forwarder_is_root_on_3(nodes, root, nkey):
        # the forwarder may do anything on the owner
        nodes[2].cfg["auth"]["roots"].append(nkey[1] + ".pub")
    nodes, gen, base_env, root, nkey = sessions_cluster(c, forwarder_is_root_on_3)
    n1, n2, n3 = nodes

    def cli(server, key, *args, chain=None, want=0):
        r = scpp_as(base_env, server, key, args, chain, want)
        return json.loads(r.stdout.splitlines()[-1])

    # Data, made on its owners directly by the operator (a root everywhere).
    name = "carried-" + "".join(chr(0x61 + (i * 7) % 26) for i in range(150))
    u = cli(n3.ip, root, "exec", 'create %%u User ; set %%u uid 4343u ; set %%u name "%s" ; '
            'set %%u gid 1u ; return %%u' % name)["rows"][0][0]
    v = cli(n2.ip, root, "exec", 'create %v User ; set %v uid 4344u ; set %v name "other" ; '
            'set %v gid 1u ; return %v')["rows"][0][0]
    check(u.startswith("@0.3.0.") and v.startswith("@0.2.0."), (u, v))
    # The forwarder's own key is a root on the owner: it could set there.
    cli(n3.ip, nkey[1], "exec", "get %s uid %%i ; return %%i" % u)

    # alice may only read node 3's shard (a grant of the operator's).
    alice = gen("alice")
    chain = os.path.join(tmp, "alice.grant")
    run([SCPP_CLI, "grant", "issue", "--key", root, "--to", alice + ".pub", "--scope",
         "@0.3.0.0.0/48", "--ops", "get", "--expires", "+1h", "-o", chain], env=base_env)

    # ARP between the nodes first (an unauthenticated block is forwarded
    # and refused by its owner, which needs a session).
    for p in (n2, n3):
        wait_for("node 1 to reach node %d" % p.id,
                 lambda p=p: n1.drive("get @0.%d.0.1.5 name %%n" % p.id)
                 ["statuses"][0]["fields"]["errno_name"] == "EACCES", timeout=20)
    s1, s3, a3 = n1.stats(), n3.stats(), n3.telemetry("/scpp/auth")

    # The read, through node 1: the reply is node 3's, sealed for alice.
    try:
        rep = cli(n1.ip, alice, "exec", "get %s name %%n ; return %%n" % u, chain=chain)
    except ClusterFailure:
        dump_auth_counters(nodes)
        raise
    check(rep["rows"] == [[name]], "forwarded read: %s" % rep)
    t1, t3, b3 = n1.stats(), n3.stats(), n3.telemetry("/scpp/auth")
    check(t1["auth_fwd_sealed"] > s1["auth_fwd_sealed"], "node 1 did not seal extension 1")
    check(t1["auth_ident_push"] > s1["auth_ident_push"], "node 1 sent no IDENTITY")
    check(n1.telemetry("/scpp/auth")["ident_sent"] >= 1, "node 1's control lcore sent none")
    check(b3["ident_accepted"] == a3["ident_accepted"] + 1 and b3["carried"] == 1,
          "node 3 did not accept alice's identity: %s" % b3)
    check(t3["carried_in"] > s3["carried_in"] and t3["carried_blocks"] > s3["carried_blocks"]
          and t3["carried_sealed"] > s3["carried_sealed"], "node 3 counters: %s" % t3)
    check(t1["executed"] == s1["executed"], "node 1 ran a block it forwarded")
    check(t3["executed"] == s3["executed"] + 1, "node 3 did not run it once")

    # A set, through node 1: refused by node 3 with alice's missing right,
    # although node 1's own key may set there.
    doc = cli(n1.ip, alice, "exec", 'set %s name "escalated"' % u, chain=chain, want=1)
    f = doc["statuses"][0]["fields"]
    check(f["errno_name"] == "EACCES" and "set" in f["message"] and
          "operation" in f["message"], "expected EACCES naming set: %s" % f)
    check(n3.stats()["carried_blocks"] > t3["carried_blocks"], "not the carried path")
    got = cli(n3.ip, root, "exec", "get %s name %%n ; return %%n" % u)["rows"]
    check(got == [[name]], "the refused set applied something: %s" % got)
    # Outside her grant (node 2's shard): node 2 refuses it for her.
    doc = cli(n1.ip, alice, "exec", "get %s name %%n ; return %%n" % v, chain=chain, want=1)
    f = doc["statuses"][0]["fields"]
    check(f["errno_name"] == "EACCES" and "scope" in f["message"], f)
    check(n2.stats()["carried_blocks"] >= 1, "node 2 did not check alice itself")

    # Forged and truncated extensions, "from" node 1: dropped, counted,
    # nothing run (last: the spoofed frames teach node 3 a wrong MAC for 1).
    before = n3.stats()
    send_spoofed_forward(n1.ip, n3.ip, 7301, bytes([1, 170]) + os.urandom(170), 0x5000001, 1)
    send_spoofed_forward(n1.ip, n3.ip, 7301, bytes([1, 100]) + os.urandom(100), 0x5000001, 2)
    wait_for("node 3 to count the forged extensions",
             lambda: n3.stats()["carried_bad"] == before["carried_bad"] + 2, timeout=10)
    after = n3.stats()
    check(after["executed"] == before["executed"] and
          after["carried_in"] == before["carried_in"], (before, after))


def t_session_steer(c):
    """A session's client learns the owner from a forwarded reply and opens
    its own session with it: the first block for an entity of node 3 goes
    to node 1, which forwards it with the client's principal; node 3's
    reply comes on a delegated lane, so the client opens a session with
    node 3 (same key and chain, checked against node 3's roots) and sends
    the next blocks there: node 1 forwards nothing more and runs nothing,
    node 3 runs them under the direct session, and the client's rights
    are still its own (a set is refused EACCES, nothing applied). An owner
    that refuses the session (node 2: the principal's session limit) is
    not steered to: the client's next block for it goes through node 1
    again, which forwards it."""
    tmp = c.tmp

    def one_session_each_on_2(nodes, root, nkey):
        nodes[1].cfg["auth"]["per_principal"] = 1
    nodes, gen, base_env, root, nkey = sessions_cluster(c, one_session_each_on_2)
    n1, n2, n3 = nodes

    def cli(server, key, *args, chain=None, want=0):
        r = scpp_as(base_env, server, key, ("-v",) + args, chain, want)
        reps = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
        return reps, [l for l in r.stderr.splitlines() if "tries" in l]

    u = cli(n3.ip, root, "exec", 'create %u User ; set %u uid 4545u ; set %u name "steer" ; '
            'set %u gid 1u ; return %u')[0][0]["rows"][0][0]
    v = cli(n2.ip, root, "exec", 'create %v User ; set %v uid 4546u ; set %v name "two" ; '
            'set %v gid 1u ; return %v')[0][0]["rows"][0][0]
    check(u.startswith("@0.3.0.") and v.startswith("@0.2.0."), (u, v))

    def grant(key, issuer, scope, ops, name):
        path = os.path.join(tmp, name + ".grant")
        run([SCPP_CLI, "grant", "issue", "--key", issuer, "--to", key + ".pub", "--scope", scope,
             "--ops", ops, "--expires", "+1h", "-o", path], env=base_env)
        return path
    alice = gen("alice")
    achain = grant(alice, root, "@0.3.0.0.0/48", "get", "alice")
    for p in (n2, n3):
        wait_for("node 1 to reach node %d" % p.id,
                 lambda p=p: n1.drive("get @0.%d.0.1.5 name %%n" % p.id)
                 ["statuses"][0]["fields"]["errno_name"] == "EACCES", timeout=20)

    # alice: three reads and a set in one client.
    s1, s3, a3 = n1.stats(), n3.stats(), n3.telemetry("/scpp/auth")
    get = "get %s name %%n ; return %%n" % u
    try:
        reps, verbose = cli(n1.ip, alice, "exec", get, get, get, 'set %s name "escalated"' % u,
                            chain=achain, want=1)
    except ClusterFailure:
        dump_auth_counters(nodes)
        raise
    print("alice:", *verbose, sep="\n  ")
    check([r.get("rows") for r in reps[:3]] == [[["steer"]]] * 3, "reads: %s" % reps)
    f = reps[3]["statuses"][0]["fields"]
    check(f["errno_name"] == "EACCES" and "set" in f["message"], "the set: %s" % f)
    check(len(verbose) == 4, verbose)
    check("steered 0" in verbose[0] and "owners learnt 1" in verbose[0] and
          "owner sessions 0" in verbose[0], "first block: %s" % verbose[0])
    check("steered 1" in verbose[1] and "owner sessions 1 (refused 0)" in verbose[1],
          "second block: %s" % verbose[1])
    check(all("steered 1" in l and "owner sessions 0" in l for l in verbose[2:]), verbose)
    t1, t3, b3 = n1.stats(), n3.stats(), n3.telemetry("/scpp/auth")
    # Node 1 forwarded the first block's transmissions (its first may
    # reach node 3 before the IDENTITY does), none of the others'.
    tries0 = int(re.search(r"tries (\d+)", verbose[0]).group(1))
    check(t1["auth_fwd_sealed"] - s1["auth_fwd_sealed"] == tries0,
          "node 1 forwarded %d, the first block had %d tries: %s" %
          (t1["auth_fwd_sealed"] - s1["auth_fwd_sealed"], tries0, verbose))
    check(t1["executed"] == s1["executed"], "node 1 ran a block")
    check(t3["carried_blocks"] == s3["carried_blocks"] + 1, "node 3 carried: %s" % t3)
    check(t3["executed"] == s3["executed"] + 4, "node 3 ran %d blocks, not 4" %
          (t3["executed"] - s3["executed"]))
    check(b3["accepted"] == a3["accepted"] + 1, "node 3 opened no session for alice: %s" % b3)
    got = cli(n3.ip, root, "exec", "get %s name %%n ; return %%n" % u)[0][0]["rows"]
    check(got == [["steer"]], "the refused set applied something: %s" % got)

    # bob already holds the one session node 2 allows him (auth.per_principal
    # 1) in another client: node 2 refuses the steering client's session
    # (E_AUTH_PRINCIPAL_LIMIT), so its next block for node 2 goes through
    # node 1 again, which forwards it with bob's principal.
    bob = gen("bob")
    bchain = grant(bob, root, "@0.2.0.0.0/48", "get", "bob")
    held = subprocess.Popen([SCPP_CLI, "-s", n2.ip, "--json", "--no-names", "shell"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=dict(base_env, SCPP_KEY=bob, SCPP_CHAIN=bchain))
    try:
        get = "get %s name %%n ; return %%n" % v
        held.stdin.write(get + "\n\n")
        held.stdin.flush()
        line = held.stdout.readline()
        check(json.loads(line)["rows"] == [["two"]], "bob's own session: %r" % line)
        s1, s2, a2 = n1.stats(), n2.stats(), n2.telemetry("/scpp/auth")
        reps, verbose = cli(n1.ip, bob, "exec", get, get, get, chain=bchain)
    finally:
        held.stdin.close()
        held.wait(timeout=30)
    print("bob:", *verbose, sep="\n  ")
    check([r.get("rows") for r in reps] == [[["two"]]] * 3, "bob through node 1: %s" % reps)
    check(len(verbose) == 3 and "owners learnt 1" in verbose[0], verbose)
    check("steered 0" in verbose[1] and "owner sessions 0 (refused 1)" in verbose[1],
          "the second block: %s" % verbose[1])
    # Refused once is refused for the entry: no handshake per block.
    check("steered 0" in verbose[2] and "owner sessions 0 (refused 0)" in verbose[2] and
          "owners learnt 0" in verbose[2], "the third block: %s" % verbose[2])
    t1, t2, b2 = n1.stats(), n2.stats(), n2.telemetry("/scpp/auth")
    tries = sum(int(re.search(r"tries (\d+)", l).group(1)) for l in verbose)
    check(t1["auth_fwd_sealed"] - s1["auth_fwd_sealed"] == tries,
          "node 1 forwarded %d of bob's %d tries" % (t1["auth_fwd_sealed"] - s1["auth_fwd_sealed"],
                                                    tries))
    check(t2["executed"] == s2["executed"] + 3 and t2["carried_blocks"] >= s2["carried_blocks"] + 3,
          "node 2: %s" % t2)
    check(b2["accepted"] == a2["accepted"] and b2["rejected"] == a2["rejected"] + 1,
          "node 2 should have refused one handshake: %s" % b2)


def t_forward_long_chain(c):
    """A principal whose chain does not fit one datagram of the cluster
    port (a grant naming 32 attributes of 60 bytes, ~2.3 KB): its block
    through node 1 for an entity of node 3 makes node 1 send the IDENTITY
    in several datagrams, node 3 reassembles them (bounded), verifies the
    chain against its own roots and runs the block with the client's
    rights: the read comes back, a set is refused EACCES, and the counters
    show the fragments sent, received and reassembled."""
    nodes, gen, base_env, root, nkey = sessions_cluster(c)
    n1, n2, n3 = nodes
    u = scpp_as(base_env, n3.ip, root, ["exec", 'create %u User ; set %u uid 4747u ; '
                'set %u name "long" ; set %u gid 1u ; return %u'])
    u = json.loads(u.stdout.splitlines()[-1])["rows"][0][0]
    carol = gen("carol")
    attrs = ["name"] + ["attribute_%02d_%s" % (i, "x" * 46) for i in range(31)]
    chain = os.path.join(c.tmp, "carol.grant")
    run([SCPP_CLI, "grant", "issue", "--key", root, "--to", carol + ".pub", "--scope",
         "@0.3.0.0.0/48", "--ops", "get", "--attrs", ",".join(attrs), "--expires", "+1h",
         "-o", chain], env=base_env)
    check(os.path.getsize(chain) > 1500, "the chain fits one datagram: %d bytes" %
          os.path.getsize(chain))
    wait_for("node 1 to reach node 3",
             lambda: n1.drive("get @0.3.0.1.5 name %n")
             ["statuses"][0]["fields"]["errno_name"] == "EACCES", timeout=20)
    a1, a3 = n1.telemetry("/scpp/auth"), n3.telemetry("/scpp/auth")
    try:
        r = scpp_as(base_env, n1.ip, carol, ["exec", "get %s name %%n ; return %%n" % u],
                    chain=chain)
    except ClusterFailure:
        dump_auth_counters(nodes)
        raise
    check(json.loads(r.stdout.splitlines()[-1])["rows"] == [["long"]], r.stdout)
    b1, b3 = n1.telemetry("/scpp/auth"), n3.telemetry("/scpp/auth")
    sent = b1["ident_sent"] - a1["ident_sent"]
    frags = b1["ident_frags_sent"] - a1["ident_frags_sent"]
    check(sent >= 1 and frags >= 2 * sent, "node 1 sent %d IDENTITYs in %d datagrams" %
          (sent, frags))
    check(b1["ident_unsendable"] == a1["ident_unsendable"], "unsendable: %s" % b1)
    check(b3["ident_frags_in"] - a3["ident_frags_in"] >= 2 and
          b3["ident_reasm_done"] >= a3["ident_reasm_done"] + 1 and
          b3["ident_accepted"] == a3["ident_accepted"] + 1 and b3["carried"] >= 1,
          "node 3 did not reassemble and accept carol's identity: %s" % b3)
    # Her rights are still hers: no set.
    r = scpp_as(base_env, n1.ip, carol, ["exec", 'set %s name "wider"' % u], chain=chain, want=1)
    f = json.loads(r.stdout.splitlines()[-1])["statuses"][0]["fields"]
    check(f["errno_name"] == "EACCES" and "set" in f["message"], f)


def t_session_restart(c):
    """A client's session survives its node's restart: the first block
    after the restart reaches a node without the session, which answers a
    REJECT E_AUTH_NO_SESSION; the client opens a new session once (a
    second handshake, counted) and the block then runs, once."""
    n1 = c.node(1, source="static")
    n1.cfg["auth"] = {"mode": "required"}
    c.static_nodes([n1])
    n1.start()
    c.enter()
    key = os.path.join(n1.cfg["node"]["state_dir"], "node.key")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCPP_")}
    env["SCPP_KEY"] = key

    def block(name):
        return ('create %%u User ; set %%u uid 61u ; set %%u name "%s" ; set %%u gid 1u ; '
                'get %%u name %%n ; return %%n\n\n' % name)

    p = subprocess.Popen([SCPP_CLI, "-s", n1.ip, "--json", "--no-names", "-v", "shell"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=env)
    try:
        p.stdin.write(block("before"))
        p.stdin.flush()
        line = p.stdout.readline()
        check(json.loads(line)["rows"] == [["before"]], "first block: %r" % line)
        check(n1.telemetry("/scpp/auth")["accepted"] == 1, "one handshake before")
        code = n1.stop()
        check(code == 0, "node 1 did not stop cleanly: %s" % code)
        n1.start()
        c.ip("neigh", "flush", "dev", "br0")
        out, err = p.communicate(input=block("after"), timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    check(p.returncode == 0, "after the restart: %d %r %r" % (p.returncode, out, err))
    check(json.loads(out.splitlines()[-1])["rows"] == [["after"]], out)
    verbose = [l for l in err.splitlines() if "tries" in l]
    check(len(verbose) == 2 and "sessions reopened 0" in verbose[0] and
          "sessions reopened 1" in verbose[1], verbose)
    a = n1.telemetry("/scpp/auth")
    check(a["accepted"] == 1 and n1.stats()["auth_no_session_answered"] >= 1, a)
    check(n1.stats()["executed"] == 1, "the block ran more than once: %s" % n1.stats())
# -- continuations, the owner's side (docs/PROTOCOL.md §19) ------------------

CONT, CONT_REPLY = 6, 7
BRIDGE = "198.18.0.1"
FAKE_PORT = 7400


def oid_value(text):
    """The lib/value encoding of an OID in text form (@l.n.s.e.c, hex)."""
    f = [int(x, 16) for x in text.lstrip("@").split(".")]
    return bytes([7]) + struct.pack("<QQ", (f[0] << 48) | (f[1] << 16) | f[2],
                                    (f[3] << 40) | f[4])


def cont_msg(block, start, nvars, rows, cont_id, origin=9, hops=1, timeout=800, version=1):
    """A CONT message (PROTOCOL.md §19.1): rows are (mask, [encoded values])."""
    hdr = struct.pack("<BBBBIQQQHHIIIHH", version, 0, hops, 0, origin, cont_id, 9, 10, start,
                      nvars, len(rows), len(block), timeout, 0, 0)
    check(len(hdr) == 52, "CONT header is 52 bytes")
    return hdr + block + b"".join(struct.pack("<Q", m) + b"".join(v) for m, v in rows)


def node_dgram(kind, payload, sender, ident):
    return (b"SC" + struct.pack("<BBBBH", 1, kind, 1, 0, len(payload)) +
            struct.pack("<QQII", sender, ident, 0, 1) + payload)


def cont_exchange(sock, to, dgram, wait=2.0):
    """Send one datagram; the CONT_REPLY that comes back (owner, cont_id,
    records, whole datagram), or None after @p wait seconds."""
    sock.sendto(dgram, to)
    sock.settimeout(wait)
    try:
        d, _ = sock.recvfrom(65535)
    except socket.timeout:
        return None
    check(d[:2] == b"SC" and d[3] == CONT_REPLY, "not a CONT_REPLY: %s" % d[:8].hex())
    plen = struct.unpack_from("<H", d, 6)[0]
    pl = d[32:32 + plen]
    check(pl[0] == 1 and (pl[1:4] == b"\0\0\0" or pl[1] == 1), "CONT_REPLY header %s" %
          pl[:16].hex())
    owner, cid = struct.unpack_from("<IQ", pl, 4)
    check(d[8:24] == dgram[8:24], "the answer carries the CONT's ids")
    return owner, cid, pl[16:], d


def records_json(node, rec):
    r = run([node.c_drive(), "reply", rec.hex()])
    return json.loads(r.stdout.splitlines()[0])


def t_cont_owner(c):
    """The owner's side of continuations: a CONT from a peer of the map (the
    test itself, node 9 at the bridge address) runs the rest of the block
    from its start command with the rows it carries, once; retransmissions
    get the same answer from the record, byte for byte, and never run
    again; a new id runs again; rows that must go on elsewhere come back as
    a rest group; refusals say why and run nothing; CONTs from strangers,
    malformed ones and CONT_REPLYs matching nothing are dropped, counted."""
    n1 = c.node(1, source="static")
    c.static_nodes([n1])
    n1.cfg["cluster"]["nodes"].append({"id": 9, "name": "origin9", "ipv4": BRIDGE,
                                       "base_port": FAKE_PORT, "shards": [0]})
    n1.start()
    c.enter()
    u = n1.drive('create %u User ; set %u uid 4242u ; set %u name "cont" ; set %u gid 1u ; '
                 'return %u')["rows"][0][0]
    check(u.startswith("@0.1.0."), u)
    text = ("get @0.9.0.1.1 peer %e ; get %e uid %i ; let %j add(%i, 1u) ; "
            "set %e uid %j ; get %e name %n ; return %n %j")
    block = bytes.fromhex(run([n1.c_drive(), "encode", text]).stdout.strip())
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((BRIDGE, FAKE_PORT))
    to = (n1.ip, 7301)
    s0 = n1.stats()

    # Run once: the rows' %e is the user; commands 1.. run on node 1.
    d = node_dgram(CONT, cont_msg(block, 1, 4, [(1, [oid_value(u)])], 0x51), 9, 0x51)
    got = cont_exchange(sock, to, d)
    check(got is not None, "no CONT_REPLY from node 1")
    owner, cid, rec, first = got
    check(owner == 1 and cid == 0x51, (owner, cid))
    rep = records_json(n1, rec)
    check(rep["columns"] == ["n", "j"] and rep["rows"] == [["cont", 4243]], rep)
    # Retransmissions: the same bytes, nothing run again.
    for _ in range(2):
        again = cont_exchange(sock, to, d)
        check(again is not None and again[3] == first, "retransmission answered differently")
    check(n1.drive("get %s uid %%i" % u)["rows"] == [[4242 + 1]], "ran more than once")
    st = n1.stats()
    check(st["cont_run"] == s0["cont_run"] + 1 and
          st["cont_dup_done"] == s0["cont_dup_done"] + 2, st)
    # Another id is another part: it runs.
    d2 = node_dgram(CONT, cont_msg(block, 1, 4, [(1, [oid_value(u)])], 0x52), 9, 0x52)
    rep = records_json(n1, cont_exchange(sock, to, d2)[2])
    check(rep["rows"] == [["cont", 4244]], rep)
    # A row whose entity at the start command another node owns: the part
    # aborts with E_NOT_HERE (rows are never sent back from the command they
    # were shipped to), naming node 1 as where it failed.
    d3 = node_dgram(CONT, cont_msg(block, 1, 4, [(1, [oid_value("@0.5.0.1.1")])], 0x53),
                    9, 0x53)
    rep = records_json(n1, cont_exchange(sock, to, d3)[2])
    f = rep["statuses"][0]["fields"]
    check(f["code"] == "E_NOT_HERE" and f["node"].startswith("@0.1.") and f["command"] == 1,
          f)
    # Rows that must go on elsewhere after the start command come back as a
    # rest group (PROTOCOL.md §19.2), byte for byte; the rows that ran here
    # are the records after it.
    rblock = bytes.fromhex(run([n1.c_drive(), "encode",
                                "get @0.9.0.1.1 peer %e ; get %e uid %i ; let %f @0.5.0.1.7 ; "
                                "get %f name %n ; return %i %n"]).stdout.strip())
    dr = node_dgram(CONT, cont_msg(rblock, 1, 4, [(1, [oid_value(u)])], 0x58), 9, 0x58)
    got = cont_exchange(sock, to, dr)
    check(got is not None, "no CONT_REPLY for the rest case")
    owner, cid, body, whole = got
    pl = whole[32:32 + struct.unpack_from("<H", whole, 6)[0]]
    check(pl[1] == 1 and struct.unpack_from("<H", pl, 2)[0] == 1, "REST flag, one group: %s" %
          pl[:16].hex())
    start, res0, nrows, shard, rows_len = struct.unpack_from("<HHIQI", pl, 16)
    check((start, res0, nrows, shard) == (3, 0, 1, 5 << 16), (start, res0, nrows, shard))
    grp_rows = pl[36:36 + rows_len]
    check(grp_rows[:8] == struct.pack("<Q", 0b111) and grp_rows[8:25] == oid_value(u) and
          grp_rows[-17:] == oid_value("@0.5.0.1.7"), grp_rows.hex())
    rep = records_json(n1, pl[36 + rows_len:])
    check(rep["columns"] == ["i", "n"] and rep["rows"] == [] and
          rep["end"]["outcome"] == "ok", rep)
    check(n1.stats()["cont_rest_groups"] == 1, n1.stats()["cont_rest_groups"])
    # Refusals: nothing run, nothing recorded, a status that says why.
    s1 = n1.stats()
    for start, timeout, code in ((6, 800, "E_BAD_LENGTH"), (1, 60000, "E_LIMIT_PENDING")):
        dr = node_dgram(CONT, cont_msg(block, start, 4, [(1, [oid_value(u)])], 0x60 + start,
                                       timeout=timeout), 9, 0x60 + start)
        for _ in range(2):
            rep = records_json(n1, cont_exchange(sock, to, dr)[2])
            check(rep["columns"] == [] and rep["rows"] == [] and
                  rep["statuses"][0]["fields"]["code"] == code, rep)
    # Sent to the node's base port, not the shard's: refused, not run.
    dp = node_dgram(CONT, cont_msg(block, 1, 4, [(1, [oid_value(u)])], 0x6f), 9, 0x6f)
    rep = records_json(n1, cont_exchange(sock, (n1.ip, 7300), dp)[2])
    check(rep["statuses"][0]["fields"]["code"] == "E_NOT_HERE", rep)
    check(n1.stats()["cont_refused"] == s1["cont_refused"] + 5, n1.stats())
    check(n1.drive("get %s uid %%i" % u)["rows"] == [[4244]], "a refused part ran")
    # Dropped and counted: a malformed CONT, a CONT_REPLY, a stranger's CONT.
    s2 = n1.stats()
    bad = node_dgram(CONT, cont_msg(block, 1, 4, [(1, [oid_value(u)])], 0x70, version=2),
                     9, 0x70)
    check(cont_exchange(sock, to, bad, wait=0.5) is None, "a malformed CONT was answered")
    check(cont_exchange(sock, to, node_dgram(CONT_REPLY, struct.pack("<IIQ", 1, 9, 0x70), 9,
                                             0x70), wait=0.5) is None, "a CONT_REPLY answered")
    c.ip("addr", "add", "198.18.0.99/24", "dev", "br0")
    other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    other.bind(("198.18.0.99", FAKE_PORT))
    check(cont_exchange(other, to, d2, wait=0.5) is None, "a stranger's CONT was answered")
    st = n1.stats()
    check(st["cont_bad"] == s2["cont_bad"] + 1 and
          st["cont_reply_stale"] == s2["cont_reply_stale"] + 1 and
          st["forward_not_peer"] == s2["forward_not_peer"] + 1, st)
    check(n1.drive("get %s uid %%i" % u)["rows"] == [[4244]], "a dropped CONT ran")
    sock.close()
    other.close()



# ---- the origin's side: blocks split across nodes (docs/CLUSTER.md §8) ----------

CONT_COUNTERS = ("cont_splits", "cont_shipped", "cont_answered", "cont_retransmitted",
                 "cont_timed_out", "cont_part_failed", "cont_local", "cont_run",
                 "cont_rest_groups", "cont_merged", "cont_dup_done", "cont_reply_stale")


def counts(node, keys):
    """The node's counters @p keys, by name."""
    st = node.stats()
    return {k: st[k] for k in keys}


def cont_counts(node):
    return counts(node, CONT_COUNTERS)


def moved(before, after):
    """The counters that moved between two counts(), and by how much."""
    return {k: after[k] - before[k] for k in before if after[k] != before[k]}


def mkdir_on(node, ino, shard=0):
    """A Directory made on @p node's shard @p shard; its OID."""
    text = ('create %d Directory ; set %d ino {0}u ; set %d dev 1u ; set %d mode 16877u ; '
            'set %d uid 0u ; set %d gid 0u ; return %d').format(ino)
    oid = node.drive(text, port=7301 + shard)["rows"][0][0]
    check(oid.startswith("@0.%d.%d." % (node.id, shard)), oid)
    return oid


def link(node, parent, name, child):
    rep = node.drive('set %s entries["%s"] %s' % (parent, name, child), port=7301)
    check(rep["end"]["outcome"] == "ok", "link %s/%s on node %d: %s" % (parent, name, node.id, rep))


def cont_cluster(c, source):
    """Three nodes of one shard each, every node seeing the others up, scans
    fanned out (cluster.cont.fan_out)."""
    return forward_cluster(c, source, node2_shards=1, fan_out=True)


WALK = ('get {r} entries["a"] %a ; get %a entries["b"] %b ; get %b entries["c"] %c ; '
        'get %c entries["d"] %d ; get %d ino %i ; return %d %i')


def walk_tree(nodes):
    """/a/b/c/d: the root on node 1, a on node 2, b on node 3, c on node 1,
    d on node 2 (as unit.eval_cont). Returns (root, {name: oid})."""
    n1, n2, n3 = nodes
    o = {"r": mkdir_on(n1, 1), "a": mkdir_on(n2, 2), "b": mkdir_on(n3, 3),
         "c": mkdir_on(n1, 4), "d": mkdir_on(n2, 5)}
    link(n1, o["r"], "a", o["a"])
    link(n2, o["a"], "b", o["b"])
    link(n3, o["b"], "c", o["c"])
    link(n1, o["c"], "d", o["d"])
    return o


def round_trips(nodes, o):
    """The same walk as one block per component, each sent to its owner."""
    n1, n2, n3 = nodes
    steps = [(n1, o["r"], "a"), (n2, o["a"], "b"), (n3, o["b"], "c"), (n1, o["c"], "d")]
    for n, d, name in steps:
        rep = n.drive('get %s entries["%s"] %%x ; return %%x' % (d, name))
        check(rep["end"]["outcome"] == "ok" and len(rep["rows"]) == 1, rep)
    return n2.drive("get %s ino %%i ; return %%i" % o["d"])["rows"][0][0]


def cont_walk_scenarios(c, nodes):
    n1, n2, n3 = nodes
    o = walk_tree(nodes)
    ino = round_trips(nodes, o)
    check(ino == 5, "round trips: ino %r" % ino)
    b0 = [cont_counts(n) for n in nodes]
    # One block from the client: the reply is the leaf, as if one shard held
    # the whole tree, with the client's block id, from the node it went to.
    rep = n1.drive(WALK.format(r=o["r"]), block=4242)
    check(rep["end"]["outcome"] == "ok" and rep["columns"] == ["d", "i"] and
          rep["rows"] == [[o["d"], 5]] and not rep.get("statuses"), rep)
    check(n1.last_meta["from"] == "%s:7300" % n1.ip or n1.last_meta["from"].startswith(n1.ip),
          n1.last_meta)
    m = [moved(b, cont_counts(n)) for b, n in zip(b0, nodes)]
    # origin -> n2 (a: its rows go on to n3 as rest) -> origin -> n3 (b: c is
    # node 1's, rest) -> origin runs c here (d is node 2's, rest) -> n2.
    check(m[0].get("cont_splits") == 1 and m[0].get("cont_shipped") == 3 and
          m[0].get("cont_answered") == 3 and m[0].get("cont_local") == 1 and
          m[0].get("cont_merged") == 1 and "cont_timed_out" not in m[0], ("node 1", m))
    check(m[1].get("cont_run") == 2 and m[1].get("cont_rest_groups") == 1, ("node 2", m))
    check(m[2].get("cont_run") == 1 and m[2].get("cont_rest_groups") == 1, ("node 3", m))
    p12, p13 = n1.peer(2), n1.peer(3)
    check(p12["cont_sent"] >= 2 and p12["cont_answered"] >= 2 and p13["cont_sent"] >= 1 and
          p13["cont_answered"] >= 1, (p12, p13))
    check(n2.peer(1)["cont_received"] >= 2 and n3.peer(1)["cont_received"] >= 1,
          (n2.peer(1), n3.peer(1)))
    # A missing component: ENOENT from the node that holds the directory,
    # named in the status (node 3), the block aborted.
    rep = n1.drive('get {r} entries["a"] %a ; get %a entries["b"] %b ; '
                   'get %b entries["x"] %c ; return %c'.format(r=o["r"]))
    check(rep["end"]["outcome"] == "aborted" and rep["rows"] == [], rep)
    f = rep["statuses"][0]["fields"]
    check(f["code"] == "ENOENT" and f["node"].startswith("@0.3."), f)
    # The client's retransmissions of a split block run it once: the same
    # datagrams three times, one increment on node 2, the same reply bytes.
    s2 = cont_counts(n2)
    reps, metas = drive_all(n1, 'get {r} entries["a"] %a ; get %a ino %i ; let %j add(%i, 10u) ; '
                            'set %a ino %j ; return %j'.format(r=o["r"]), 3, 88, 6000)
    check(len(reps) == 3 and len({mm["hex"] for mm in metas}) == 1, metas)
    check(reps[0]["rows"] == [[12]], reps[0])
    check(moved(s2, cont_counts(n2)).get("cont_run") == 1, "a retransmission ran again")
    check(n2.drive("get %s ino %%i" % o["a"], port=7301)["rows"] == [[12]], "ino")
    # Every attribute of A (node 1) copied to B (node 2) in one block: the
    # attributes read into %k %v on node 1, the writes shipped to node 2.
    a = n1.drive('create %u User ; set %u uid 7001u ; set %u name "copyA" ; set %u gid 70u ; '
                 'set %u shell "/bin/sh" ; return %u', port=7301)["rows"][0][0]
    bb = n2.drive('create %u User ; set %u uid 7002u ; set %u name "copyB" ; set %u gid 71u ; '
                  'return %u', port=7301)["rows"][0][0]
    want = n1.drive("get %s %%k %%v ; return %%k %%v" % a)
    check(want["end"]["outcome"] == "ok" and len(want["rows"]) >= 4, want)
    rep = n1.drive("get %s %%k %%v ; set %s %%k %%v ; return %%k %%v" % (a, bb))
    check(rep["end"]["outcome"] == "ok" and sorted(map(json.dumps, rep["rows"])) ==
          sorted(map(json.dumps, want["rows"])), (rep, want))
    got = n2.drive("get %s %%k %%v ; return %%k %%v" % bb)
    check(sorted(map(json.dumps, got["rows"])) == sorted(map(json.dumps, want["rows"])),
          (got, want))
    cont_scan_scenarios(nodes)
    return o


def cont_scan_scenarios(nodes):
    """The cluster-wide scan (⊤ fan-out): every node's users of uid 1000, in
    one block sent to node 1: node 1's first, then node 2's, then node 3's
    (map order); a scan for well-known entities (every shard has them)
    answers them once."""
    users = {}
    for n, names in zip(nodes, (["u1a"], ["u2a", "u2b"], ["u3a"])):
        for name in names + ["x" + names[0]]:
            uid = 1001 if name.startswith("x") else 1000
            oid = n.drive('create %%u User ; set %%u uid %du ; set %%u name "%s%d" ; '
                          'set %%u gid 5u ; return %%u' % (uid, name, n.id),
                          port=7301)["rows"][0][0]
            if uid == 1000:
                users[oid] = "%s%d" % (name, n.id)
    n1, n2, n3 = nodes
    b = [cont_counts(n) for n in nodes]
    rep = n1.drive("get %p uid 1000u ; get %p name %n ; return %p %n")
    check(rep["end"]["outcome"] == "ok" and not rep.get("statuses"), rep)
    got = {r[0]: r[1] for r in rep["rows"]}
    check(got == users and len(rep["rows"]) == len(users), (rep["rows"], users))
    order = [int(r[0].split(".")[1], 16) for r in rep["rows"]]
    check(order == sorted(order), "merge order is not node 1, 2, 3: %s" % order)
    m = [moved(x, cont_counts(n)) for x, n in zip(b, nodes)]
    st1 = n1.stats()
    check(m[0].get("cont_shipped") == 2 and m[0].get("cont_answered") == 2 and
          m[0].get("cont_merged") == 1, ("node 1", m))
    check(m[1].get("cont_run") == 1 and m[2].get("cont_run") == 1, ("nodes 2, 3", m))
    check(st1["cont_fan_out"] >= 2, st1["cont_fan_out"])
    # Well-known entities (the schema's Type entities) are on every shard:
    # the scan reports the origin's only.
    rep = n1.drive('get %t name "User" ; return %t')
    check(rep["end"]["outcome"] == "ok" and len(rep["rows"]) == 1 and
          rep["rows"][0][0].startswith("@0.0.0."), rep)


CONT_AUTH_COUNTERS = ("cont_sealed", "cont_reply_bad", "cont_carried", "cont_no_principal",
                      "carried_bad", "carried_no_key", "carried_miss", "cont_run", "cont_refused",
                      "cont_shipped", "cont_answered", "cont_local", "cont_merged",
                      "cont_part_failed", "cont_timed_out", "executed", "auth_ident_push")


def auth_counts(node):
    return counts(node, CONT_AUTH_COUNTERS)


def grant_issuer(c, gen, base_env, root):
    """grant(who, scope, ops): a fresh key for @who and a grant to it from
    the operator's key @root for an hour; returns (key, grant file)."""
    def grant(who, scope, ops):
        key = gen(who)
        path = os.path.join(c.tmp, who + ".grant")
        run([SCPP_CLI, "grant", "issue", "--key", root, "--to", key + ".pub", "--scope", scope,
             "--ops", ops, "--expires", "+1h", "-o", path], env=base_env)
        return key, path
    return grant


MKDIR = ("create %%d Directory ; set %%d ino %du ; set %%d dev 1u ; set %%d mode 16877u ; "
         "set %%d uid 0u ; set %%d gid 0u ; return %%d")


def t_cont_sessions(c):
    """Continuations of session blocks (SECURITY.md §9.4 item 9). Node 1's
    own key is a root on nodes 2 and 3 (the origin holds every right
    there). A session block sent to node 1 whose rows reach nodes 2 and 3
    is split: each part carries the client's principal (CONT extension 1)
    and node 1 pushes the client's chains (IDENTITY); the owners run the
    parts with the *client's* rights as they verify them, and MAC their
    answers. The walk /a/b/c/d returns what the round trips return; a
    client granted only get cannot make an owner write (EACCES naming set,
    nothing applied) and a client granted only node 1's shard cannot make
    an owner read (EACCES, scope); a CONT without extension 1 is refused
    in auth.mode required, a forged one dropped, neither runs."""
    k9 = os.path.join(c.tmp, "node9.key")
    base = {k: v for k, v in os.environ.items() if not k.startswith("SCPP_")}

    def origin_is_root(nodes, root, nkey):
        run([SCPP_CLI, "key", "gen", "-o", k9, "--comment", "node9"], env=base)
        for n in nodes[1:]:
            n.cfg["auth"]["roots"].append(nkey[1] + ".pub")
        nodes[1].cfg["auth"]["peers"].append("9:%s.pub" % k9)

    def cont_cfg(nodes):
        for n in nodes:
            # The first try of a part may meet its owner before the
            # IDENTITY does; its retransmissions then run it.
            n.cfg["cluster"]["cont"] = {"timeout_ms": 2000}
        nodes[1].cfg["cluster"]["nodes"].append({"id": 9, "name": "origin9", "ipv4": BRIDGE,
                                                 "base_port": FAKE_PORT, "shards": [0]})
    nodes, gen, base_env, root, nkey = sessions_cluster(c, origin_is_root, cont_cfg)
    n1, n2, n3 = nodes

    def cli(server, key, text, chain=None, want=0):
        r = scpp_as(base_env, server, key, ["exec", text], chain, want)
        return json.loads(r.stdout.splitlines()[-1])

    grant = grant_issuer(c, gen, base_env, root)

    # The tree, made by the operator on each owner.
    def mkdir(n, ino):
        oid = cli(n.ip, root, MKDIR % ino)["rows"][0][0]
        check(oid.startswith("@0.%d.0." % n.id), oid)
        return oid
    o = {"r": mkdir(n1, 1), "a": mkdir(n2, 2), "b": mkdir(n3, 3), "c": mkdir(n1, 4),
         "d": mkdir(n2, 5)}
    for n, parent, name, child in ((n1, "r", "a", "a"), (n2, "a", "b", "b"),
                                   (n3, "b", "c", "c"), (n1, "c", "d", "d")):
        cli(n.ip, root, 'set %s entries["%s"] %s' % (o[parent], name, o[child]))
    alice, achain = grant("alice", "all", "get")
    # The round trips, each block to its owner, in alice's own sessions.
    steps = [(n1, "r", "a"), (n2, "a", "b"), (n3, "b", "c"), (n1, "c", "d")]
    for n, d, name in steps:
        rep = cli(n.ip, alice, 'get %s entries["%s"] %%x ; return %%x' % (o[d], name), achain)
        check(rep["rows"] == [[o[name]]], rep)
    ino = cli(n2.ip, alice, "get %s ino %%i ; return %%i" % o["d"], achain)["rows"]
    check(ino == [[5]], ino)
    trips = [[o["d"], 5]]

    # The walk as one block to node 1: split, every part with alice's principal.
    b = [auth_counts(n) for n in nodes]
    try:
        rep = cli(n1.ip, alice, WALK.format(r=o["r"]), achain)
    except ClusterFailure:
        dump_auth_counters(nodes)
        raise
    check(rep["rows"] == trips and rep["end"]["outcome"] == "ok" and not rep.get("statuses"),
          "the split walk: %s, the round trips: %s" % (rep, trips))
    m = [moved(x, auth_counts(n)) for x, n in zip(b, nodes)]
    print("walk moved:", m)
    check(m[0].get("cont_shipped") == 3 and m[0].get("cont_answered") == 3 and
          m[0].get("cont_local") == 1 and m[0].get("cont_merged") == 1 and
          m[0].get("cont_sealed") == 3 and m[0].get("auth_ident_push", 0) >= 2 and
          "cont_reply_bad" not in m[0] and "cont_part_failed" not in m[0], ("node 1", m))
    check(m[1].get("cont_run") == 2 and m[1].get("cont_carried") == 2, ("node 2", m))
    check(m[2].get("cont_run") == 1 and m[2].get("cont_carried") == 1, ("node 3", m))
    check(m[0].get("executed") == 1 and "executed" not in m[1] and "executed" not in m[2],
          ("only node 1 ran a block; the others ran parts", m))
    for n in (n2, n3):
        check(n.telemetry("/scpp/auth")["ident_accepted"] >= 1, "node %d: no identity" % n.id)

    # Escalation, writing: bob may only read, node 1 may do anything on node
    # 2; bob's block through node 1 sets an attribute of a node-2 entity.
    bob, bchain = grant("bob", "all", "get")
    b2 = auth_counts(n2)
    doc = cli(n1.ip, bob, 'get %s entries["a"] %%a ; set %%a ino 99u ; return %%a' % o["r"],
              bchain, want=1)
    check(doc["end"]["outcome"] == "aborted", doc)
    f = doc["statuses"][0]["fields"]
    check(f["errno_name"] == "EACCES" and "set" in f["message"] and "operation" in f["message"]
          and f["node"].startswith("@0.2."), "expected node 2's EACCES naming set: %s" % f)
    t2 = moved(b2, auth_counts(n2))
    check(t2.get("cont_carried") == 1 and t2.get("cont_run") == 1, ("node 2", t2))
    got = cli(n2.ip, root, "get %s ino %%i ; return %%i" % o["a"])["rows"]
    check(got == [[2]], "the refused set applied something: %s" % got)

    # Escalation, reading: carol may read node 1's shard only.
    carol, cchain = grant("carol", "@0.1.0.0.0/48", "get")
    b2 = auth_counts(n2)
    doc = cli(n1.ip, carol, 'get %s entries["a"] %%a ; get %%a ino %%i ; return %%i' % o["r"],
              cchain, want=1)
    f = doc["statuses"][0]["fields"]
    check(doc.get("rows") == [] and f["errno_name"] == "EACCES" and "scope" in f["message"] and
          f["node"].startswith("@0.2."), "expected node 2's EACCES (scope): %s" % doc)
    check(moved(b2, auth_counts(n2)).get("cont_carried") == 1, "node 2 did not check carol")

    # A CONT without extension 1, and one with a forged one, from node 9
    # (a map peer of node 2, and in its auth.peers): refused / dropped.
    u = cli(n2.ip, root, 'create %u User ; set %u uid 4848u ; set %u name "contsess" ; '
            'set %u gid 1u ; return %u')["rows"][0][0]
    text = "get @0.9.0.1.1 peer %e ; get %e uid %i ; let %j add(%i, 1u) ; set %e uid %j"
    block = bytes.fromhex(run([n2.c_drive(), "encode", text]).stdout.strip())
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((BRIDGE, FAKE_PORT))
    to = (n2.ip, 7301)
    b2 = auth_counts(n2)
    plain = cont_msg(block, 1, 4, [(1, [oid_value(u)])], 0x71)
    got = cont_exchange(sock, to, node_dgram(CONT, plain, 9, 0x71))
    check(got is not None, "no refusal for a CONT without extension 1")
    rep = records_json(n2, got[2])
    f = rep["statuses"][0]["fields"]
    check(rep["columns"] == [] and f["errno_name"] == "EACCES" and
          "no principal" in f["message"] and "auth.mode required" in f["message"], rep)
    ext = bytes([1, 170]) + os.urandom(170)
    plain = cont_msg(block, 1, 4, [(1, [oid_value(u)])], 0x72)
    forged = plain[:48] + struct.pack("<H", len(ext)) + plain[50:52] + ext + plain[52:]
    check(cont_exchange(sock, to, node_dgram(CONT, forged, 9, 0x72), wait=1.0) is None,
          "a forged extension 1 was answered")
    t2 = moved(b2, auth_counts(n2))
    check(t2.get("cont_no_principal") == 1 and t2.get("cont_refused") == 1 and
          t2.get("carried_bad") == 1 and "cont_run" not in t2 and "cont_carried" not in t2,
          ("node 2", t2))
    sock.close()
    got = cli(n2.ip, root, "get %s uid %%i ; return %%i" % u)["rows"]
    check(got == [[4848]], "a refused CONT ran: %s" % got)


def t_session_two_shards(c):
    """A session block split between two shards of one node: node 2 runs
    two workers, and a session block sent to its shard 0 (lane 0) whose
    rows reach shard 1 is split through the hand-off ring. The part for
    shard 1 carries the session's principal (CONT extension 1) like a part
    for another node, and worker 1 checks it against the session's rights
    itself: alice (get and set everywhere) walks and writes across the two
    shards, the write lands on shard 1 once; bob (get only) gets EACCES
    naming set from shard 1, nothing applied; carol (shard 0's prefix only)
    gets EACCES naming the scope when the walk reaches shard 1, and shard
    0's own rows run under the same session."""
    def two_shards(nodes, root, nkey):
        nodes[1].shards(2)

    def cont_cfg(nodes):
        for n in nodes:
            n.cfg["cluster"]["cont"] = {"timeout_ms": 2000}
    nodes, gen, base_env, root, nkey = sessions_cluster(c, two_shards, cont_cfg)
    n2 = nodes[1]

    def cli(shard, key, text, chain=None, want=0):
        r = scpp_as(base_env, "%s:%d" % (n2.ip, 7301 + shard), key, ["exec", text], chain, want)
        return json.loads(r.stdout.splitlines()[-1])

    grant = grant_issuer(c, gen, base_env, root)

    def mkdir(shard, ino):
        oid = cli(shard, root, MKDIR % ino)["rows"][0][0]
        check(oid.startswith("@0.2.%d." % shard), oid)
        return oid

    def ino_of(oid, shard):
        return cli(shard, root, "get %s ino %%i ; return %%i" % oid)["rows"]

    def per_worker():
        """auth_counts() of each of node 2's workers (/scpp/stats,W)."""
        return [{k: n2.telemetry("/scpp/stats,%d" % w)[k] for k in CONT_AUTH_COUNTERS}
                for w in (0, 1)]

    def shard1_checked(before, who):
        """Worker 0 ran the block and shipped the part; worker 1 checked the
        carried principal and ran the part."""
        w0, w1 = (moved(x, y) for x, y in zip(before, per_worker()))
        print(who, "per worker:", w0, w1)
        check(w0.get("executed") == 1 and w0.get("cont_shipped") == 1 and
              "cont_carried" not in w0 and "cont_run" not in w0, (who, "worker 0", w0))
        check(w1.get("cont_carried") == 1 and w1.get("cont_run") == 1 and
              "executed" not in w1, (who, "worker 1", w1))

    x, y = mkdir(0, 31), mkdir(1, 32)
    cli(0, root, 'set %s entries["y"] %s' % (x, y))
    text = ('get %s entries["y"] %%y ; get %%y ino %%i ; let %%j add(%%i, 1u) ; '
            'set %%y ino %%j ; return %%y %%j' % x)

    alice, achain = grant("alice", "all", "get,set")
    b = auth_counts(n2)
    bw = per_worker()
    h0 = n2.stats()["handoff_out"]
    try:
        rep = cli(0, alice, text, achain)
    except ClusterFailure:
        dump_auth_counters(nodes)
        raise
    check(rep["rows"] == [[y, 33]] and rep["end"]["outcome"] == "ok" and
          not rep.get("statuses"), rep)
    m = moved(b, auth_counts(n2))
    print("alice moved:", m)
    check(m.get("cont_shipped") == 1 and m.get("cont_answered") == 1 and
          m.get("cont_run") == 1 and m.get("cont_merged") == 1 and m.get("executed") == 1 and
          m.get("cont_carried") == 1 and m.get("cont_sealed") == 1 and
          "cont_reply_bad" not in m and "cont_part_failed" not in m and
          "cont_refused" not in m and "carried_bad" not in m, ("alice", m))
    check(n2.stats()["handoff_out"] >= h0 + 2, "not through the hand-off ring")
    shard1_checked(bw, "alice")
    check(ino_of(y, 1) == [[33]], "shard 1's write")

    # bob may only read: the set runs on shard 1, which refuses it.
    bob, bchain = grant("bob", "all", "get")
    b = auth_counts(n2)
    bw = per_worker()
    doc = cli(0, bob, text, bchain, want=1)
    check(doc["end"]["outcome"] == "aborted", doc)
    f = doc["statuses"][0]["fields"]
    check(f["errno_name"] == "EACCES" and "set" in f["message"] and "operation" in f["message"]
          and f["node"].startswith("@0.2."), "expected shard 1's EACCES naming set: %s" % f)
    m = moved(b, auth_counts(n2))
    print("bob moved:", m)
    check(m.get("cont_carried") == 1 and m.get("cont_run") == 1 and
          m.get("cont_shipped") == 1, ("bob", m))
    shard1_checked(bw, "bob")
    check(ino_of(y, 1) == [[33]], "bob's refused set applied something")

    # carol may use shard 0's prefix only: shard 0 runs her first get,
    # shard 1 refuses the second (scope).
    carol, cchain = grant("carol", "@0.2.0.0.0/64", "get")
    b = auth_counts(n2)
    bw = per_worker()
    doc = cli(0, carol, 'get %s entries["y"] %%y ; get %%y ino %%i ; return %%y %%i' % x,
              cchain, want=1)
    f = doc["statuses"][0]["fields"]
    check(doc.get("rows") == [] and f["errno_name"] == "EACCES" and "scope" in f["message"],
          "expected shard 1's EACCES (scope): %s" % doc)
    m = moved(b, auth_counts(n2))
    print("carol moved:", m)
    check(m.get("cont_carried") == 1 and m.get("cont_shipped") == 1, ("carol", m))
    shard1_checked(bw, "carol")
    rep = cli(0, carol, 'get %s entries["y"] %%y ; return %%y' % x, cchain)
    check(rep["rows"] == [[y]], "carol's own shard: %s" % rep)


def mkfile_text(ino, data):
    """The block that makes a File with bytes @p data and returns its OID."""
    return ('create %f File ; set %f ino {0}u ; set %f dev 1u ; set %f mode 33188u ; '
            'set %f uid 0u ; set %f gid 0u ; set %f size {1}u ; set %f data x"{2}" ; '
            'return %f').format(ino, len(data), data.hex())


def mkfile_on(node, ino, data):
    """A File with bytes @p data made on @p node's shard 0; its OID."""
    return node.drive(mkfile_text(ino, data), port=7301)["rows"][0][0]


def data_of(node, oid):
    rep = node.drive("get %s data %%v ; return %%v" % oid, port=7301)
    return bytes.fromhex(rep["rows"][0][0]["hex"])


def cont_copy_results(nodes):
    """A split block's COPY records (block flag COPY_RESULTS): copies on
    node 1 (the origin), node 2 (a continuation) and node 1 again (the rest
    group the origin runs itself), one COPY record each in command order in
    the one reply, the bytes in place on each node."""
    n1, n2, _ = nodes
    rnd = random.Random(1914)
    blob = {k: bytes(rnd.getrandbits(8) for _ in range(64)) for k in ("s1", "d1", "s2", "d2")}
    o = {k: mkfile_on(n1 if k.endswith("1") else n2, 900 + i, blob[k])
         for i, k in enumerate(sorted(blob))}
    b = [cont_counts(n) for n in nodes]
    # (A CONT carries at least one variable, §19.1: %z.)
    rep = n1.drive("let %z 7u ; copy value({d1}, data) value({s1}, data) 20 ; "
                   "copy offset(value({d2}, data), 3) value({s2}, data) 30 ; "
                   "copy offset(value({d1}, data), 40) offset(value({s1}, data), 8) 5 ; "
                   "return %z".format(**o), extra=["--copy-results"])
    check(rep["end"]["outcome"] == "ok" and not rep.get("statuses") and
          rep["rows"] == [[7]], rep)
    got = [(x["command"], x["copies"], x["bytes"]) for x in rep.get("copies", [])]
    check(got == [(1, 1, 20), (2, 1, 30), (3, 1, 5)], ("COPY records", rep))
    m = [moved(x, cont_counts(n)) for x, n in zip(b, nodes)]
    check(m[0].get("cont_splits") == 1 and m[0].get("cont_shipped") == 1 and
          m[0].get("cont_local") == 1 and m[0].get("cont_merged") == 1, ("node 1", m))
    check(m[1].get("cont_run") == 1 and m[1].get("cont_rest_groups") == 1, ("node 2", m))
    d1 = bytearray(blob["d1"])
    d1[0:20] = blob["s1"][0:20]
    d1[40:45] = blob["s1"][8:13]
    d2 = bytearray(blob["d2"])
    d2[3:33] = blob["s2"][0:30]
    check(data_of(n1, o["d1"]) == bytes(d1), "node 1's destination")
    check(data_of(n2, o["d2"]) == bytes(d2), "node 2's destination")
    # Without the flag: no COPY record from any part.
    rep = n1.drive("let %z 7u ; copy value({d1}, data) value({s1}, data) 1 ; "
                   "copy value({d2}, data) value({s2}, data) 1 ; return %z".format(**o))
    check(rep["end"]["outcome"] == "ok" and "copies" not in rep, rep)


def t_cont_walk_static(c):
    """The origin's side with the static map: the path walk /a/b/c/d over
    three nodes as one block (the same leaf as four round trips, counters
    on every node), a missing component named by its node, client
    retransmissions of a split block run once, every attribute of an
    entity on node 1 copied to one on node 2 in one block, the cluster-wide
    scan of every node's users; a split block's COPY records."""
    nodes = cont_cluster(c, "static")
    cont_walk_scenarios(c, nodes)
    cont_copy_results(nodes)


def t_cont_walk_etcd(c):
    """The same with the map from etcd."""
    cont_walk_scenarios(c, cont_cluster(c, "etcd"))


def t_cont_kill(c, source="static"):
    """A node killed with continuations to it: the walk's part for it times
    out — a bounded E_OUTCOME_UNKNOWN status naming node 3 and the command,
    after three retransmissions — while the parts before it answered and
    the other nodes keep serving."""
    nodes = cont_cluster(c, source)
    n1, n2, n3 = nodes
    o = walk_tree(nodes)
    rep = n1.drive(WALK.format(r=o["r"]))
    check(rep["rows"] == [[o["d"], 5]], rep)
    n3.kill()
    b1 = cont_counts(n1)
    rep = n1.drive(WALK.format(r=o["r"]))
    check(rep["end"]["outcome"] == "aborted" and rep["rows"] == [], rep)
    f = rep["statuses"][0]["fields"]
    check(f["code"] == "E_OUTCOME_UNKNOWN" and f["node"].startswith("@0.1.") and
          f["command"] == 2 and "to node 3" in f["message"] and
          "outcome is unknown" in f["message"], f)
    m = moved(b1, cont_counts(n1))
    check(m.get("cont_timed_out") == 1 and m.get("cont_retransmitted") == 3 and
          m.get("cont_answered") == 1, m)
    check(n1.peer(3)["cont_timed_out"] == 1, n1.peer(3))
    # The others keep serving: node 2 directly, and a split block between
    # nodes 1 and 2 only.
    check(n2.drive("get %s ino %%i" % o["a"])["rows"] == [[2]], "node 2")
    rep = n1.drive('get {r} entries["a"] %a ; get %a ino %i ; return %i'.format(r=o["r"]))
    check(rep["end"]["outcome"] == "ok" and rep["rows"] == [[2]], rep)
    return nodes, o


def t_cont_kill_etcd(c):
    """The same with the map from etcd (node 3 still "up" until its lease
    lapses: the part times out), and then, once node 3 is unreachable
    everywhere, its part is not even sent: E_NOT_HERE at once, nothing
    run, naming it."""
    nodes, o = t_cont_kill(c, "etcd")
    n1 = nodes[0]
    wait_state([n1, nodes[1]], 3, "unreachable", timeout=c.ttl_s + 15)
    b1 = cont_counts(n1)
    rep = n1.drive(WALK.format(r=o["r"]))
    f = rep["statuses"][0]["fields"]
    check(rep["end"]["outcome"] == "aborted" and f["code"] == "E_NOT_HERE" and
          "unknown or unreachable; nothing was run" in f["message"] and f["command"] == 2, f)
    m = moved(b1, cont_counts(n1))
    check(m.get("cont_shipped") == 1 and "cont_timed_out" not in m, m)


def t_cont_retransmit(c):
    """Retransmissions across a hop execute once: node 2 is stopped (SIGSTOP)
    while a split block's CONT is out, node 1 retransmits it (the counter
    says so, no clock is read), node 2 is let go and finds every copy: it
    runs the part once, answers the copies from its record; node 1 takes
    one answer and drops the others; the client gets one reply and the
    increment happened once."""
    nodes = [c.node(i, source="static") for i in (1, 2, 3)]
    c.static_nodes(nodes)
    for n in nodes:
        # Long bounds so that a loaded machine cannot make the part time
        # out between the retransmission and node 2's answer.
        n.cfg["cluster"]["cont"] = {"timeout_ms": 2000}
        n.cfg["delivery"]["park_timeout_ms"] = 5000
        n.start()
    c.enter()
    n1, n2, n3 = nodes
    o = walk_tree(nodes)
    check(n1.drive(WALK.format(r=o["r"]))["rows"] == [[o["d"], 5]], "walk")
    text = ('get {r} entries["a"] %a ; get %a ino %i ; let %j add(%i, 100u) ; set %a ino %j ; '
            'return %j').format(r=o["r"])
    b1, b2 = cont_counts(n1), cont_counts(n2)
    os.kill(n2.proc.pid, signal.SIGSTOP)
    try:
        drive = subprocess.Popen([n1.c_drive(), "exec", n1.ip, "7300", text, "--client", "61",
                                  "--block", "9100"], stdout=subprocess.PIPE, text=True)
        wait_for("node 1 to retransmit the CONT",
                 lambda: cont_counts(n1)["cont_retransmitted"] > b1["cont_retransmitted"],
                 timeout=20, step=0.05)
    finally:
        os.kill(n2.proc.pid, signal.SIGCONT)
    out, _ = drive.communicate(timeout=30)
    reps = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    check(drive.returncode == 0 and len(reps) == 1 and reps[0]["rows"] == [[102]] and
          reps[0]["end"]["outcome"] == "ok", out)
    wait_for("node 2 to answer every copy",
             lambda: cont_counts(n2)["cont_dup_done"] > b2["cont_dup_done"], timeout=20)
    m1, m2 = moved(b1, cont_counts(n1)), moved(b2, cont_counts(n2))
    check(m2.get("cont_run") == 1 and m2.get("cont_dup_done", 0) >= 1, ("node 2", m2))
    check(m1.get("cont_shipped") == 1 and m1.get("cont_answered") == 1 and
          m1.get("cont_retransmitted", 0) >= 1 and "cont_timed_out" not in m1, ("node 1", m1))
    wait_for("node 1 to drop the duplicate answers",
             lambda: moved(b1, cont_counts(n1)).get("cont_reply_stale", 0) >=
             m2["cont_dup_done"], timeout=20)
    check(n2.drive("get %s ino %%i" % o["a"], port=7301)["rows"] == [[102]], "ran twice")
    # cluster.cont.fan_out is off by default: a scan covers the shard that
    # runs it, as on one node.
    mine = [n.drive('create %%u User ; set %%u uid 4444u ; set %%u name "fo%d" ; '
                    'set %%u gid 1u ; return %%u' % n.id, port=7301)["rows"][0][0]
            for n in (n1, n2)][0]
    f0 = n1.stats()["cont_fan_out"]
    rep = n1.drive("get %p uid 4444u ; return %p")
    check(rep["rows"] == [[mine]] and n1.stats()["cont_fan_out"] == f0, rep)


def t_cont_limits(c):
    """Each limit on continuations has its own status (PROTOCOL.md §19.6),
    a bounded answer, never a hang: node 1 with cluster.cont.max_hops 1,
    max_rows 1 and max_fan_out 1, node 2 with max_pending 1."""
    nodes = [c.node(i, source="static") for i in (1, 2, 3)]
    c.static_nodes(nodes)
    nodes[0].cfg["cluster"]["cont"] = {"max_hops": 1, "max_rows": 1, "max_fan_out": 1,
                                       "fan_out": True}
    nodes[1].cfg["cluster"]["cont"] = {"max_pending": 1, "fan_out": True}
    nodes[2].cfg["cluster"]["cont"] = {"fan_out": True}
    for n in nodes:
        n.start()
    c.enter()
    n1, n2, n3 = nodes
    o = walk_tree(nodes)

    def status(rep):
        check(rep["end"]["outcome"] == "aborted" and rep.get("statuses"), rep)
        return rep["statuses"][-1]["fields"]

    # Depth: the walk's second hop (b, on node 3) would be 2 deep.
    f = status(n1.drive(WALK.format(r=o["r"])))
    check(f["code"] == "E_LIMIT_HOPS" and f["command"] == 2 and f["node"].startswith("@0.1.") and
          "cluster.cont.max_hops is 1" in f["message"] and f["owner"].startswith("@0.3."), f)
    # Rows: two rows for node 2 in one continuation.
    x = mkdir_on(n1, 9)
    link(n1, x, "p", o["a"])
    link(n1, x, "q", o["d"])
    f = status(n1.drive("get %s entries[%%k] %%e ; get %%e ino %%i ; return %%k %%i" % x))
    check(f["code"] == "E_LIMIT_ROWS" and "2 rows, cluster.cont.max_rows is 1" in f["message"],
          f)
    # Fan-out: a scan would reach two other shards; it covers node 1's own.
    u = n1.drive('create %u User ; set %u uid 1000u ; set %u name "lim" ; set %u gid 1u ; '
                 'return %u', port=7301)["rows"][0][0]
    rep = n1.drive("get %p uid 1000u ; return %p")
    f = status(rep)
    check(rep["rows"] == [[u]] and f["code"] == "E_TOO_MANY" and
          "cluster.cont.max_fan_out is 1" in f["message"], rep)
    # Pending: node 2 holds one continuation at most; a scan needs two.
    f = status(n2.drive("get %p uid 1000u ; return %p"))
    check(f["code"] == "E_LIMIT_PENDING" and "cluster.cont.max_pending" in f["message"], f)
    check(n1.stats()["cont_part_failed"] >= 3, n1.stats()["cont_part_failed"])
    # Nothing stays held: the same blocks within the limits still run.
    check(n1.drive('get {r} entries["a"] %a ; get %a ino %i ; return %i'.format(r=o["r"]))
          ["rows"] == [[2]], "node 1 after the limits")
    check(n2.drive("get %s ino %%i ; return %%i" % o["a"])["rows"] == [[2]], "node 2")


def t_cont_two_shards(c):
    """A block touching two shards of one node: node 2 runs two workers;
    a block sent to its shard 0 whose rows reach shard 1 is split between
    them through the hand-off ring (the same CONT and CONT_REPLY bytes as
    between nodes), the write lands on shard 1, once; a scan sent to
    shard 0 covers shard 1 and the other nodes too, shard 0's rows first."""
    nodes = forward_cluster(c, "static", fan_out=True)
    n1, n2, n3 = nodes
    x = mkdir_on(n2, 21, shard=0)
    y = mkdir_on(n2, 22, shard=1)
    link(n2, x, "y", y)
    b2 = cont_counts(n2)
    h0 = n2.stats()["handoff_out"]
    rep = n2.drive('get %s entries["y"] %%y ; get %%y ino %%i ; let %%j add(%%i, 1u) ; '
                   'set %%y ino %%j ; return %%y %%j' % x, port=7301)
    check(rep["end"]["outcome"] == "ok" and rep["rows"] == [[y, 23]], rep)
    m = moved(b2, cont_counts(n2))
    check(m.get("cont_shipped") == 1 and m.get("cont_answered") == 1 and
          m.get("cont_run") == 1 and m.get("cont_merged") == 1, m)
    check(n2.stats()["handoff_out"] >= h0 + 2, "not through the hand-off ring")
    check(n2.drive("get %s ino %%i" % y, port=7302)["rows"] == [[23]], "shard 1's write")
    users = {}
    for n, shard in ((n2, 0), (n2, 1), (n1, 0), (n3, 0)):
        oid = n.drive('create %%u User ; set %%u uid 3000u ; set %%u name "s%d%d" ; '
                      'set %%u gid 5u ; return %%u' % (n.id, shard),
                      port=7301 + shard)["rows"][0][0]
        users[oid] = "s%d%d" % (n.id, shard)
    rep = n2.drive("get %p uid 3000u ; get %p name %n ; return %p %n", port=7301)
    check(rep["end"]["outcome"] == "ok" and {r[0]: r[1] for r in rep["rows"]} == users and
          len(rep["rows"]) == 4 and rep["rows"][0][1] == "s20", (rep, users))


# ---- scpp-fs through a node that does not own the volume ------------------------

def t_fs_forward(c):
    """A volume on node 1, mounted with scpp-fs through node 2 (--root @OID of
    its root directory; auth optional, no session): every block names node
    1's entities, node 2 forwards them (and lib/client learns the owner), and
    the basic operations behave as on a mount of node 1 itself, which sees
    the same tree."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fs"))
    import run_fs  # noqa: E402
    nodes = [c.node(i, source="static",
                    cfg_extra={"store": {"slab_mb": 64, "entries": 1 << 17}}) for i in (1, 2)]
    c.static_nodes(nodes)
    for n in nodes:
        n.start()
    c.enter()
    n1, n2 = nodes
    wait_for("node 2 to reach node 1",
             lambda: n2.drive("get @0.1.0.1.5 name %n")["statuses"][0]["fields"]["code"] ==
             "ENOENT", timeout=20)
    ms = []
    try:
        def mount(name, server, *extra):
            m = run_fs.Mount(name, ("no_auth", "attr_timeout=0", "entry_timeout=0"), extra)
            m.args[m.args.index("--server") + 1] = server
            ms.append(m)
            return m.start()
        a = mount("own", n1.ip, "--root", "fwdvol")
        root = n1.drive('get %v volume "fwdvol" ; get %v root %r ; return %r')["rows"][0][0]
        check(root.startswith("@0.1."), root)
        s2 = n2.stats()
        p0 = n2.peer(1)["forwarded"]
        b = mount("fwd", n2.ip, "--root", root)
        # The basic operations through node 2.
        os.mkdir(b.p("d"))
        with open(b.p("d", "f"), "w") as f:
            f.write("through node 2")
        os.symlink("f", b.p("d", "l"))
        os.link(b.p("d", "f"), b.p("d", "h"))
        check(os.stat(b.p("d", "f")).st_nlink == 2, "link count")
        os.rename(b.p("d", "h"), b.p("h2"))
        os.chmod(b.p("h2"), 0o600)
        check(stat.S_IMODE(os.stat(b.p("d", "f")).st_mode) == 0o600, "chmod through a link")
        check(sorted(os.listdir(b.p("d"))) == ["f", "l"], os.listdir(b.p("d")))
        check(os.readlink(b.p("d", "l")) == "f", "readlink")
        for i in range(200):  # more than one directory page: splits through node 2
            os.close(os.open(b.p("d", "n%03d" % i), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        check(len(os.listdir(b.p("d"))) == 202, "200 names listed")
        try:
            os.rmdir(b.p("d"))
            check(False, "rmdir of a full directory")
        except OSError as e:
            check(e.errno == errno.ENOTEMPTY, "ENOTEMPTY: %s" % e)
        # Node 1's own mount sees all of it.
        with open(a.p("d", "f")) as f:
            check(f.read() == "through node 2", "node 1 reads what node 2 wrote")
        check(len(os.listdir(a.p("d"))) == 202, "node 1 lists the same directory")
        for i in range(200):
            os.unlink(b.p("d", "n%03d" % i))
        os.unlink(b.p("h2"))
        check(os.stat(a.p("d", "f")).st_nlink == 1, "link count seen by node 1")
        for m in ms:
            check(m.unmount() == 0, "%s unmounts cleanly" % m.dir)
        st = run_fs.fs_stats(b)
        p12 = n2.peer(1)
        print("fs through node 2: %d blocks forwarded, node 2 executed %d, mount stats %s" %
              (p12["forwarded"] - p0, n2.stats()["executed"] - s2["executed"],
               {k: v["blocks"] for k, v in st.items() if isinstance(v, dict)}))
        check(p12["forwarded"] > p0, "node 2 forwarded the mount's blocks")
        check(n2.stats()["executed"] == s2["executed"], "node 2 ran none of the volume's blocks")
        check(st["rebalances"] >= 1, "pages split through node 2")
    finally:
        for m in ms:
            m.cleanup()


def t_fs_forward_sessions(c):
    """scpp-fs in a session through a forwarding node (auth.mode required on
    all three nodes): alice, whose grant (the operator's) covers node 1's
    shard only, mounts node 1's volume through node 2. Node 2 forwards the
    first blocks with her principal, lib/client learns the owner from node
    1's delegated reply, opens a session with node 1 (same key and chain)
    and steers every later block there: node 1 runs them, node 2 runs none,
    the mount's clients count owner sessions and steered blocks, and the
    tree is the one node 1's own mount (the operator's) sees. A principal
    whose grant does not cover the volume changes nothing in it through
    node 2: node 1 refuses his blocks."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fs"))
    import run_fs  # noqa: E402
    nodes, gen, base_env, root, nkey = sessions_cluster(c)
    n1, n2, n3 = nodes
    alice = gen("alice")
    chain = os.path.join(c.tmp, "alice.grant")
    run([SCPP_CLI, "grant", "issue", "--key", root, "--to", alice + ".pub", "--scope",
         "@0.1.0.0.0/48", "--ops", "all", "--expires", "+1h", "-o", chain], env=base_env)
    wait_for("node 2 to reach node 1",
             lambda: n2.drive("get @0.1.0.1.5 name %n")["statuses"][0]["fields"]["errno_name"] ==
             "EACCES", timeout=20)
    ms = []
    try:
        def mount(name, server, key, *extra, opts=("attr_timeout=0", "entry_timeout=0")):
            m = run_fs.Mount(name, opts + ("key=" + key,), extra)
            m.args[m.args.index("--server") + 1] = server
            ms.append(m)
            return m
        a = mount("own", n1.ip, root, "--root", "sessvol").start()
        vol = cli_json(base_env, n1.ip, root, 'get %v volume "sessvol" ; get %v root %r ; '
                       'return %r')
        rootdir = vol["rows"][0][0]
        check(rootdir.startswith("@0.1."), rootdir)
        s1, s2, a1 = n1.stats(), n2.stats(), n1.telemetry("/scpp/auth")
        b = mount("fwd", n2.ip, alice, "--root", rootdir, opts=(
            "attr_timeout=0", "entry_timeout=0", "chain=" + chain)).start()
        os.mkdir(b.p("d"))
        with open(b.p("d", "f"), "w") as f:
            f.write("through node 2, in a session")
        os.symlink("f", b.p("d", "l"))
        os.link(b.p("d", "f"), b.p("d", "h"))
        os.rename(b.p("d", "h"), b.p("h2"))
        os.chmod(b.p("h2"), 0o600)
        check(stat.S_IMODE(os.stat(b.p("d", "f")).st_mode) == 0o600, "chmod through a link")
        for i in range(150):  # page splits through the steered session
            os.close(os.open(b.p("d", "n%03d" % i), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        check(len(os.listdir(b.p("d"))) == 152, "150 names listed")
        check(os.readlink(b.p("d", "l")) == "f", "readlink")
        # Node 1's own mount (the operator's session) sees the same tree.
        with open(a.p("d", "f")) as f:
            check(f.read() == "through node 2, in a session", "node 1 reads it")
        check(sorted(os.listdir(a.p("d"))) == sorted(os.listdir(b.p("d"))), "the same listing")
        check(os.stat(a.p("h2")).st_nlink == 2, "link count seen by node 1")
        for i in range(150):
            os.unlink(b.p("d", "n%03d" % i))
        os.unlink(b.p("h2"))
        check(b.unmount() == 0, "the forwarded mount unmounts cleanly")
        st = run_fs.fs_stats(b)
        t1, t2, b1 = n1.stats(), n2.stats(), n1.telemetry("/scpp/auth")
        print("fs session through node 2: mount %s; node 2 sealed %d forwards, executed %d; "
              "node 1 carried %d, executed %d, sessions accepted %d" %
              ({k: st[k] for k in ("exchanges", "steered", "owners_learned", "owner_sessions",
                                  "owner_refused", "contexts")},
               t2["auth_fwd_sealed"] - s2["auth_fwd_sealed"], t2["executed"] - s2["executed"],
               t1["carried_blocks"] - s1["carried_blocks"], t1["executed"] - s1["executed"],
               b1["accepted"] - a1["accepted"]))
        check(st["owner_sessions"] >= 1, "the mount opened no session with the owner: %s" % st)
        check(st["owner_refused"] == 0, "the owner refused a session: %s" % st)
        check(st["steered"] >= 300 and st["steered"] >= st["exchanges"] - 50,
              "blocks steered to the owner: %s" % st)
        check(t2["auth_fwd_sealed"] > s2["auth_fwd_sealed"],
              "node 2 forwarded none with alice's principal")
        check(t1["carried_blocks"] > s1["carried_blocks"], "node 1 carried none")
        check(t2["executed"] == s2["executed"], "node 2 ran a block of the volume")
        check(t1["executed"] - s1["executed"] >= st["exchanges"],
              "node 1 ran %d blocks, the mount sent %d" % (t1["executed"] - s1["executed"],
                                                         st["exchanges"]))
        check(b1["accepted"] >= a1["accepted"] + st["owner_sessions"],
              "node 1 accepted %d sessions" % (b1["accepted"] - a1["accepted"]))
        check(not os.path.exists(a.p("h2")) and len(os.listdir(a.p("d"))) == 2,
              "node 1 sees the removals")
        # bob's grant covers node 3's shard only: node 2 accepts his session
        # and forwards his blocks with his principal, node 1 refuses them
        # (outside his scope), so the mount fails before it is made.
        bob = gen("bob")
        bchain = os.path.join(c.tmp, "bob.grant")
        run([SCPP_CLI, "grant", "issue", "--key", root, "--to", bob + ".pub", "--scope",
             "@0.3.0.0.0/48", "--ops", "all", "--expires", "+1h", "-o", bchain], env=base_env)
        c1 = n1.stats()["carried_blocks"]
        m = mount("bob", n2.ip, bob, "--root", rootdir, opts=("chain=" + bchain,))
        m.log = open(m.logpath, "w")
        m.proc = subprocess.Popen(m.args, stdout=m.log, stderr=subprocess.STDOUT)
        wait_for("bob's mount to fail or appear",
                 lambda: m.proc.poll() is not None or run_fs.mounted(m.dir), timeout=60)
        if m.proc.poll() is None:
            # The node checks expression reads (val(), as the mount's first
            # getattr uses) against the grant like gets: bob reads nothing
            # of node 1's volume, so the mount must not be made.
            m.unmount()
            check(False, "bob's mount through node 2 was made: %s" % m.logtext()[-400:])
        check(m.proc.returncode != 0 and "Permission denied" in m.logtext(),
              "bob's mount through node 2: %s" % m.logtext()[-400:])
        check(not os.path.exists(a.p("bob")), "node 1's tree changed for bob")
        check(n1.stats()["carried_blocks"] > c1, "node 1 did not see bob's blocks")
    except ClusterFailure:
        dump_auth_counters(nodes)
        raise
    finally:
        for m in ms:
            m.cleanup()


def cli_json(base_env, server, key, block):
    """One block through the scpp CLI as principal @key: its JSON reply."""
    r = scpp_as(base_env, server, key, ("exec", block))
    return json.loads(r.stdout.splitlines()[-1])


# ---- peers' windows (docs/COPY.md "Peers' windows") ------------------------------

COPY_SHM = {"local": "memcpy", "remote": "fabric", "fabric": {"provider": "shm"}}
# tcp binds an address: the namespace's loopback (every node's kernel side).
COPY_TCP = {"local": "memcpy", "remote": "fabric",
            "fabric": {"provider": "tcp", "node": "127.0.0.1"}}


def copy_w(node, worker=0):
    return node.telemetry("/scpp/copy")["worker%d" % worker]


def record_windows(c, node):
    """The windows in @p node's etcd record: {shard: (window OID, descriptor hex)}."""
    out = c.etcdctl("get", c.etcd_prefix + "v1/node/%d" % node.id, "--print-value-only")
    rec = json.loads(out.stdout.strip())
    return {w["shard"]: (w["window"], w["descriptor"]) for w in rec.get("windows", [])}


def record_memwins(c, node):
    """The memory windows in @p node's etcd record, as published (a list)."""
    out = c.etcdctl("get", c.etcd_prefix + "v1/node/%d" % node.id, "--print-value-only")
    return json.loads(out.stdout.strip()).get("memory_windows", [])


def copy_peers_scenario(c, copy_cfg, provider):
    """Each worker with a remote engine attaches the windows the other nodes
    publish in their etcd records (node 2: two shards, so its workers also
    attach each other's): every record carries its shards' RmaWindow OIDs
    and descriptors, byte for byte what the shard publishes as data; a node
    that leaves has its window detached everywhere, and attached again when
    it comes back with a new one. Node 3 also has a memory window: its
    record lists it beside the arena window (docs/COPY.md "Memory windows on
    other nodes"), byte for byte its RmaWindow's descriptor, and the other
    nodes' workers attach it as a memory window, detach it when node 3 leaves
    and attach its new one when node 3 is back."""
    c.start_etcd()
    memwin_cfg = dict(copy_cfg, memory_windows=[{"name": "vm3", "bytes": 65536}])
    nodes = [c.node(i, cfg_extra={"copy": memwin_cfg if i == 3 else copy_cfg})
             for i in (1, 2, 3)]
    nodes[1].shards(2)
    for n in nodes:
        n.start()
    c.enter()
    n1, n2, n3 = nodes
    for n in nodes:
        for p in nodes:
            wait_for("node %d to see node %d" % (n.id, p.id),
                     lambda n=n, p=p: state_on(n, p.id) in ("up", "self"), timeout=60)
    # Each record: one window per shard, the shard's RmaWindow as data.
    for n in nodes:
        wins = record_windows(c, n)
        check(sorted(wins) == list(range(len(n.cfg["workers"]))), (n.id, wins))
        for shard, (oid, desc) in wins.items():
            check(oid.startswith("@0.%d.%d." % (n.id, shard)), (n.id, shard, oid))
            rep = n.drive("get %s descriptor %%d ; get %s shard %%s ; return %%d %%s" %
                          (oid, oid), port=7301 + shard)
            check(len(rep["rows"]) == 1 and rep["rows"][0][0]["hex"] == desc and
                  rep["rows"][0][1] == shard, (n.id, rep, desc))
            tw = copy_w(n, shard)
            check(tw["remote_window"] == oid and tw["remote_provider"] == provider, (tw, oid))
    # Node 3's memory window in its record, and nobody else's.
    check(record_memwins(c, n1) == [] and record_memwins(c, n2) == [], "memory windows")
    mws = record_memwins(c, n3)
    mw3 = copy_w(n3)["memory_window0"]
    check(len(mws) == 1 and mws[0]["shard"] == 0 and mws[0]["name"] == "vm3" and
          mws[0]["window"] == mw3["window"] and mws[0]["length"] == 65536, (mws, mw3))
    rep = n3.drive("get %s descriptor %%d ; get %s kind %%k ; return %%d %%k" %
                   (mw3["window"], mw3["window"]))
    check(len(rep["rows"]) == 1 and rep["rows"][0][0]["hex"] == mws[0]["descriptor"] and
          rep["rows"][0][1] == "memory", (rep, mws))
    # Attached: every window but the worker's own (4 arena windows in the
    # map), and node 3's memory window on every worker of nodes 1 and 2.
    want = {(1, 0): 4, (2, 0): 4, (2, 1): 4, (3, 0): 3}

    def attached():
        got = {(n.id, k): copy_w(n, k)["peer_windows"] for n in nodes
               for k in range(len(n.cfg["workers"]))}
        return got if got == want else None
    wait_for("every worker to attach the others' windows", attached, timeout=60)
    for n in nodes:
        for k in range(len(n.cfg["workers"])):
            tw = copy_w(n, k)
            memwins = 0 if n is n3 else 1
            check(tw["peer_refused"] == 0 and tw["peer_detaches"] == 0 and
                  tw["peer_attaches"] == 3 + memwins and tw["peer_memwins"] == memwins,
                  (n.id, k, tw))
    check("attached the arena window of node 3 \"n3\" shard 0" in n1.logtext(), "no log line")
    check("attached the memory window of node 3 \"n3\" shard 0" in n1.logtext(),
          "no memory window log line")
    # Node 3 leaves (its lease revoked): its windows go, everywhere.
    old3 = record_windows(c, n3)
    old3m = record_memwins(c, n3)
    check(n3.stop() == 0, "node 3 did not stop cleanly")
    want = {(1, 0): 2, (2, 0): 2, (2, 1): 2}

    def detached():
        got = {(n.id, k): copy_w(n, k)["peer_windows"] for n in (n1, n2)
               for k in range(len(n.cfg["workers"]))}
        return got if got == want else None
    wait_for("node 3's window to be detached", detached, timeout=60)
    for n in (n1, n2):
        for k in range(len(n.cfg["workers"])):
            tw = copy_w(n, k)
            check(tw["peer_detaches"] == 2 and tw["peer_busy"] == 0 and
                  tw["peer_memwins"] == 0, (n.id, k, tw))
    check("detached the arena window of node 3 shard 0" in n1.logtext(), "no detach log line")
    check("detached the memory window of node 3 shard 0" in n1.logtext(),
          "no memory window detach log line")
    # Back, with a new window (another instance: another tag and key).
    n3.start()
    wait_for("node 3 up again", lambda: state_on(n1, 3) == "up", timeout=60)
    check(record_windows(c, n3)[0][1] != old3[0][1], "node 3's new window is the old one")
    new3m = record_memwins(c, n3)
    check(len(new3m) == 1 and new3m[0]["descriptor"] != old3m[0]["descriptor"],
          ("node 3's new memory window is the old one", new3m, old3m))
    want = {(1, 0): 4, (2, 0): 4, (2, 1): 4}
    wait_for("node 3's new windows to be attached", detached, timeout=60)
    for n in (n1, n2):
        for k in range(len(n.cfg["workers"])):
            tw = copy_w(n, k)
            check(tw["peer_attaches"] == 6 and tw["peer_refused"] == 0 and
                  tw["peer_memwins"] == 1, (n.id, k, tw))


def t_copy_peers(c):
    """Peers' windows over libfabric shm."""
    copy_peers_scenario(c, COPY_SHM, "shm")


def t_copy_peers_tcp(c):
    """The same over libfabric tcp (on the namespace's loopback)."""
    copy_peers_scenario(c, COPY_TCP, "tcp;ofi_rxm")


# ---- remote copies (docs/COPY.md "Remote copies") ----------------------------------

def copy_nodes(c, copy_cfg, ids, tweak=None):
    """etcd and nodes @p ids with copy section @p copy_cfg (tweak(nodes) may
    change their configs first), every node seeing every other and
    attaching the others' windows; the nodes."""
    c.start_etcd()
    nodes = [c.node(i, cfg_extra={"copy": copy_cfg}) for i in ids]
    if tweak is not None:
        tweak(nodes)
    for n in nodes:
        n.start()
    c.enter()
    for n in nodes:
        for p in ids:
            wait_for("node %d to see node %d" % (n.id, p),
                     lambda n=n, p=p: state_on(n, p) in ("up", "self"), timeout=60)
    for n in nodes:
        wait_for("node %d to attach the others' windows" % n.id,
                 lambda n=n: copy_w(n)["peer_windows"] == len(ids) - 1 or None, timeout=60)
    return nodes


def vma_unwatched(n1):
    """A copy out of a VMA (a map entry whose Extent holds data) on a
    cluster where no node has a memory window: the block is not watched by
    the split hooks (memwin_unwatched +1, no split, no rewrite resolved at
    the origin), and the copy is done here, byte for byte."""
    src = bytes((i * 13 + 5) & 0xff for i in range(200))
    rep = n1.drive(
        'create %m Machine ; set %m hostname "u" ; set %m cores 1u ; set %m memory_bytes 2u ; '
        'create %p Process ; set %p pid 47u ; set %p machine %m ; set %p state "R" ; '
        'set %p comm "u" ; set %p uid 0u ; set %p euid 0u ; set %p gid 0u ; set %p egid 0u ; '
        'create %x Extent ; set %x length 200u ; set %x data x"{0}" ; '
        'set %p vmas[4096u] %x ; return %p'.format(src.hex()), port=7301)
    check(rep["end"]["outcome"] == "ok", rep)
    p = rep["rows"][0][0]
    d = mkfile_on(n1, 511, bytes(100))
    v, c1 = copy_w(n1), cont_counts(n1)
    check(v["peer_memwins"] == 0, v)
    rep = n1.drive("get {0} pid %z ; copy value({1}, data) offset(value({0}, vmas[4096u]), 50) "
                   "100 ; return %z".format(p, d), port=7301)
    check(rep["end"]["outcome"] == "ok" and rep["rows"] == [[47]], rep)
    check(data_of(n1, d) == src[50:150], "the VMA's bytes, copied, differ")
    u = copy_w(n1)
    check(u["memwin_unwatched"] - v["memwin_unwatched"] == 1 and
          u["memwin_resolves"] == v["memwin_resolves"] and
          moved(c1, cont_counts(n1)).get("cont_splits") is None,
          ("a map-entry copy without memory windows was watched", v, u))


def copy_remote_scenario(c, copy_cfg):
    """Two etcd nodes with remote engines: a block sent to node 1 copies
    from a value of node 1 (the origin owns the source) into a value of
    node 2: node 1 ships the row with a COPY_SOURCE extension, node 2 READs
    the bytes from node 1's window with its remote engine (node 1's engine
    posts nothing), bytes compared; then forged extensions from a node of
    the map that does not own the window (the test, node 9 at the bridge
    address): a window not attached, a range outside node 1's window, node
    1's window from the wrong sender, each EACCES with its message and no
    READ."""
    nodes = copy_nodes(c, copy_cfg, (1, 2))
    n1, n2 = nodes
    # The test as node 9 (a record without a lease: never lapses).
    put_node9(c)
    for n in nodes:
        wait_for("node %d to see node 9" % n.id, lambda n=n: state_on(n, 9) == "up" or None,
                 timeout=60)
    rnd = random.Random(1415)
    # (16 KiB: one block's text carries the bytes.)
    blob = bytes(rnd.getrandbits(8) for _ in range(16384))
    old = bytes(rnd.getrandbits(8) for _ in range(16384))
    a = mkfile_on(n1, 501, blob)
    bb = mkfile_on(n2, 502, old)
    w1, w2 = copy_w(n1), copy_w(n2)
    # The first command reads the source's entity: node 1 evaluates the
    # block (rather than forwarding it, §18) and splits it at the copy.
    rep = n1.drive("get {a} ino %z ; copy offset(value({b}, data), 100) "
                   "offset(value({a}, data), 7) 16000 ; return %z".format(a=a, b=bb),
                   extra=["--copy-results"])
    check(rep["end"]["outcome"] == "ok" and not rep.get("statuses") and
          rep["rows"] == [[501]], rep)
    got = [(x["command"], x["copies"], x["bytes"]) for x in rep.get("copies", [])]
    check((1, 1, 16000) in got, ("COPY records", rep))
    want = bytearray(old)
    want[100:16100] = blob[7:16007]
    check(data_of(n2, bb) == bytes(want), "node 2's destination differs")
    check(data_of(n1, a) == blob, "node 1's source changed")
    vma_unwatched(n1)
    v1, v2 = copy_w(n1), copy_w(n2)
    check(v1["cont_src_sent"] - w1["cont_src_sent"] == 1, ("node 1", w1, v1))
    check(v2["cont_reads"] - w2["cont_reads"] == 1 and
          v2["cont_read_bytes"] - w2["cont_read_bytes"] == 16000 and
          v2["remote_submitted"] - w2["remote_submitted"] == 1, ("node 2", w2, v2))
    # Node 2 parked the CONT while its READ was in flight (cont_read.c).
    check(v2["cont_read_parks"] - w2["cont_read_parks"] == 1 and
          v2["cont_read_sync"] == w2["cont_read_sync"], ("node 2 did not park", w2, v2))
    # No copy bytes through the origin's engine, and nothing left pinned.
    check(v1["remote_submitted"] == w1["remote_submitted"] and
          v1["remote_bytes"] == w1["remote_bytes"], ("node 1's engine moved bytes", w1, v1))
    # Forged extensions (PROTOCOL.md §19.1): refused, row by row, no READ.
    win1 = n1.telemetry("/scpp/copy")["worker0"]["remote_window"]
    f = [int(x, 16) for x in win1.lstrip("@").split(".")]
    block = bytes.fromhex(run([n2.c_drive(), "encode", "let %z 1u ; copy value({b}, data) "
                               "value({a}, data) 4096 ; return %z".format(a=a, b=bb)])
                          .stdout.strip())
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((BRIDGE, FAKE_PORT))
    before = copy_w(n2)
    cases = [
        ((f[0] << 48) | (9 << 16), 1, 0, "is not one this node attached"),
        ((f[0] << 48) | (f[1] << 16) | f[2], (f[3] << 40) | f[4], 1 << 40,
         "outside the window or another length"),
        ((f[0] << 48) | (f[1] << 16) | f[2], (f[3] << 40) | f[4], 4096,
         "a window address from node 9, which does not own"),
    ]
    for i, (hi, lo, off, words) in enumerate(cases):
        ext = struct.pack("<BBIIQQQQQ", 2, 48, 0, 0, hi, lo, off, 4096, 0x77)
        msg = bytearray(cont_msg(block, 1, 1, [(1, [b"\x03\x01"])], 0x90 + i))
        struct.pack_into("<H", msg, 48, len(ext))
        msg = bytes(msg[:52]) + ext + bytes(msg[52:])
        got = cont_exchange(sock, (n2.ip, 7301), node_dgram(CONT, msg, 9, 0x90 + i))
        check(got is not None, "no CONT_REPLY for forged case %d" % i)
        rep = records_json(n2, got[2])
        check(rep["end"]["outcome"] == "aborted" and rep["statuses"], (i, rep))
        st = rep["statuses"][0]["fields"]
        check(st["code"] == "EACCES" and words in st["message"], (i, st))
    after = copy_w(n2)
    check(after["cont_src_refused"] - before["cont_src_refused"] == 3 and
          after["cont_reads"] == before["cont_reads"] and
          after["remote_submitted"] == before["remote_submitted"], (before, after))
    check(data_of(n2, bb) == bytes(want), "a refused copy wrote node 2's destination")
    sock.close()
    copy_source_pinned(n1, a, win1)


def put_node9(c):
    """The test as node 9 of the etcd map, at the bridge address (a record
    without a lease: it never lapses)."""
    c.etcdctl("put", c.etcd_prefix + "v1/node/9",
              json.dumps({"id": 9, "name": "origin9", "ipv4": BRIDGE, "base_port": FAKE_PORT,
                          "shards": [0]}, separators=(",", ":")))


def copy_source_pinned(n1, a, win1):
    """While a copy row is out (its destination on node 9, the test, which
    does not answer), node 1 holds a pin on the source: the CONT it sent
    carries node 1's window and the copy's length; a delete of the source
    sent meanwhile answers EBUSY; once the part is given up the block ends
    (E_OUTCOME_UNKNOWN for the part) and the delete succeeds. The delete is
    judged only in a round where the block was still out when its answer
    came (a round the machine's load spoils is played again)."""
    text = ("get {a} ino %z ; copy value(@0.9.0.1.1, data) offset(value({a}, data), 5) 1000 ; "
            "return %z".format(a=a))
    # Node 9's shard 0 port: where node 1 sends the part.
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((BRIDGE, FAKE_PORT + 1))
    for rnd in range(8):
        drive = subprocess.Popen([n1.c_drive(), "exec", n1.ip, "7300", text, "--client", "71",
                                  "--block", str(9300 + rnd), "--wait", "30000"],
                                 stdout=subprocess.PIPE, text=True)
        try:
            sock.settimeout(60)
            d, _ = sock.recvfrom(65535)
            check(d[:2] == b"SC" and d[3] == CONT, "not a CONT: %s" % d[:8].hex())
            pl = d[32:32 + struct.unpack_from("<H", d, 6)[0]]
            ext_len = struct.unpack_from("<H", pl, 48)[0]
            check(ext_len == 50 and pl[52:54] == bytes([2, 48]), pl[:60].hex())
            row, rsv, hi, lo, off, ln, pin = struct.unpack_from("<IIQQQQQ", pl, 54)
            f = [int(x, 16) for x in win1.lstrip("@").split(".")]
            check((row, rsv, hi, lo, ln) == (0, 0, (f[0] << 48) | (f[1] << 16) | f[2],
                                              (f[3] << 40) | f[4], 1000) and pin != 0,
                  (row, rsv, hex(hi), hex(lo), off, ln, pin))
            rep = n1.drive("del %s data" % a, port=7301)
            pending = drive.poll() is None
            out = drive.communicate(timeout=120)[0]
        finally:
            if drive.poll() is None:
                drive.kill()
                drive.wait()
        if not pending:
            # The part was given up before the delete ran: the round
            # proves nothing; put the source back and play it again.
            check(rep["end"]["outcome"] in ("ok", "aborted"), rep)
            if rep["end"]["outcome"] == "ok":
                n1.drive('set %s data x"%s"' % (a, "ab" * 2000), port=7301)
            continue
        st = rep["statuses"][0]["fields"] if rep.get("statuses") else {}
        check(rep["end"]["outcome"] == "aborted" and st.get("errno_name") == "EBUSY",
              ("the source was not pinned while its copy was out", rep))
        lines = [x for x in out.splitlines() if x and not x.startswith(("meta ", "between "))]
        check(lines, ("no reply to the copy block", out))
        first = json.loads(lines[0])
        codes = [x["fields"]["code"] for x in first.get("statuses", [])]
        check("E_OUTCOME_UNKNOWN" in codes, ("the part given up", first))
        # The block ended: the pin is gone, the delete goes through.
        rep = n1.drive("del %s data" % a, port=7301)
        check(rep["end"]["outcome"] == "ok", ("still pinned after the block ended", rep))
        return
    raise ClusterFailure("no round kept the copy out while the delete ran")


def t_copy_remote_stall(c):
    """A READ from the source's window that never completes (test builds:
    node 2's remote engine hangs at its first copy of 3000 bytes, as a peer
    gone silent would): node 2 fails the row with ETIMEDOUT after
    copy.timeout_ms, well inside the continuation's time, and its
    destination keeps its bytes; a copy of another length before it
    worked."""
    cfg = dict(COPY_SHM, timeout_ms=1000, test_stall_len=3000)

    def cont_timeout(nodes):
        # The part waits longer than node 2's copy timeout, so the answer
        # is node 2's ETIMEDOUT, not the origin's E_OUTCOME_UNKNOWN; and the
        # origin's parked block longer than the part (the default
        # delivery.park_timeout_ms, 1000, equals the copy timeout: the
        # origin would answer the block E_OUTCOME_UNKNOWN first).
        for n in nodes:
            n.cfg["cluster"]["cont"] = {"timeout_ms": 2000}
            n.cfg.setdefault("delivery", {})["park_timeout_ms"] = 5000
    n1, n2 = copy_nodes(c, cfg, (1, 2), cont_timeout)
    rnd = random.Random(1416)
    blob = bytes(rnd.getrandbits(8) for _ in range(8192))
    old = bytes(rnd.getrandbits(8) for _ in range(8192))
    a = mkfile_on(n1, 601, blob)
    bb = mkfile_on(n2, 602, old)
    text = "get {a} ino %z ; copy value({b}, data) value({a}, data) {n} ; return %z"
    rep = n1.drive(text.format(a=a, b=bb, n=4000))
    check(rep["end"]["outcome"] == "ok" and rep["rows"] == [[601]], rep)
    want = blob[:4000] + old[4000:]
    check(data_of(n2, bb) == want, "the first copy")
    w2 = copy_w(n2)
    # While node 2's READ hangs its CONT is parked: node 2's worker goes on
    # serving blocks (a thread drives node 2 without pause meanwhile).
    stop = threading.Event()
    served = []

    def drive_n2():
        while not stop.is_set():
            r = n2.drive("get {b} ino %i ; return %i".format(b=bb), port=7301)
            served.append(r["rows"] == [[602]])
    th = threading.Thread(target=drive_n2, daemon=True)
    th.start()
    try:
        wait_for("node 2 to serve blocks", lambda: len(served) >= 1 or None, timeout=60)
        rep = n1.drive(text.format(a=a, b=bb, n=3000))
    finally:
        stop.set()
        th.join(timeout=120)
    check(all(served), ("a block node 2 served went wrong", served))
    check(rep["end"]["outcome"] == "aborted", rep)
    st = [x["fields"] for x in rep.get("statuses", [])]
    check(any(f["code"] == "ETIMEDOUT" and f["node"].startswith("@0.2.") and
              "READ of 3000 bytes" in f["message"] for f in st), rep)
    check(data_of(n2, bb) == want, "a timed-out copy wrote node 2's destination")
    v2 = copy_w(n2)
    check(v2["cont_read_failed"] - w2["cont_read_failed"] == 1 and
          v2["cont_reads"] == w2["cont_reads"], (w2, v2))
    # Parked, and blocks served meanwhile (the counter moves only while a
    # CONT waits for its READs).
    check(v2["cont_read_parks"] - w2["cont_read_parks"] == 1 and
          v2["cont_read_served"] > w2["cont_read_served"], ("served while parked", w2, v2))


def copy_third_party_scenario(c, copy_cfg):
    """Three etcd nodes with remote engines (docs/COPY.md "Third-party
    copies"): a block sent to node 1 copies from a value of node 2 into a
    value of node 3. Node 1 ships the row to node 2 (the source's owner),
    which pins the source and ships it on to node 3 as a nested part with a
    COPY_SOURCE; node 3 READs from node 2's window; node 2 answers node 1
    with node 3's records merged after its own. Bytes compared; counters
    show node 3 READ, node 2 posted nothing and nested one part, node 1's
    engines moved nothing. Then the failures, each with its status and
    nothing written: a source node 2 does not have (ENOENT on node 2, no
    part nested, no READ), a destination node 3 does not have (ENOENT on
    node 3, refused before any READ); last, the source deletes: no pin was
    left behind."""
    nodes = copy_nodes(c, copy_cfg, (1, 2, 3))
    n1, n2, n3 = nodes
    rnd = random.Random(1417)
    blob = bytes(rnd.getrandbits(8) for _ in range(16384))
    old = bytes(rnd.getrandbits(8) for _ in range(16384))
    z = mkfile_on(n1, 700, b"origin")
    a = mkfile_on(n2, 701, blob)
    bb = mkfile_on(n3, 702, old)
    w = [copy_w(n) for n in nodes]
    # The first command reads an entity of node 1: node 1 evaluates the
    # block (no forward, section 18) and splits it at the copy.
    text = ("get {z} ino %z ; copy offset(value({b}, data), 100) "
            "offset(value({a}, data), 7) {n} ; return %z")
    rep = n1.drive(text.format(z=z, a=a, b=bb, n=12000), extra=["--copy-results"])
    check(rep["end"]["outcome"] == "ok" and not rep.get("statuses") and
          rep["rows"] == [[700]], rep)
    got = [(x["command"], x["copies"], x["bytes"]) for x in rep.get("copies", [])]
    check((1, 1, 12000) in got, ("COPY records", rep))
    want = bytearray(old)
    want[100:12100] = blob[7:12007]
    check(data_of(n3, bb) == bytes(want), "node 3's destination differs")
    check(data_of(n2, a) == blob, "node 2's source changed")
    v = [copy_w(n) for n in nodes]

    def d(i, key):
        return v[i][key] - w[i][key]
    check(d(1, "cont_nested") == 1 and d(1, "cont_src_sent") == 1 and
          d(1, "cont_nest_answered") == 1 and d(1, "remote_submitted") == 0, ("node 2", w[1], v[1]))
    check(d(2, "cont_reads") == 1 and d(2, "cont_read_bytes") == 12000 and
          d(2, "remote_submitted") == 1 and d(2, "cont_read_parks") == 1, ("node 3", w[2], v[2]))
    # No byte through the origin: neither of its engines moved any.
    check(d(0, "remote_submitted") == 0 and d(0, "remote_bytes") == 0 and
          d(0, "local_bytes") == 0 and d(0, "cont_src_sent") == 0 and
          d(0, "cont_nested") == 0, ("node 1's engines moved bytes", w[0], v[0]))
    # A source node 2 does not have: node 2's own status, nothing nested.
    w = v
    rep = n1.drive(text.format(z=z, a="@0.2.0.1.999", b=bb, n=1000))
    st = [x["fields"] for x in rep.get("statuses", [])]
    check(rep["end"]["outcome"] == "aborted" and
          any(f["code"] == "ENOENT" and f["node"].startswith("@0.2.") for f in st), rep)
    # A destination node 3 does not have: refused there (node 3 parked the
    # CONT on its READ first: the bytes read are dropped, nothing written).
    rep = n1.drive(text.format(z=z, a=a, b="@0.3.0.1.999", n=1000))
    st = [x["fields"] for x in rep.get("statuses", [])]
    check(rep["end"]["outcome"] == "aborted" and
          any(f["code"] == "ENOENT" and f["node"].startswith("@0.3.") and
              "copy to" in f["message"] for f in st), rep)
    v = [copy_w(n) for n in nodes]
    check(d(1, "cont_nested") == 1 and d(1, "cont_pin_grace") == 0, ("node 2", w[1], v[1]))
    check(d(2, "cont_read_parks") == 1 and d(2, "remote_submitted") == 1 and
          d(2, "cont_read_failed") == 0, ("node 3's READs", w[2], v[2]))
    check(data_of(n3, bb) == bytes(want), "a failed copy wrote node 3's destination")
    # A destination whose owner never answers (node 9: the test): node 2
    # gives the nested part up within three quarters of its own CONT's
    # time, answers node 1 in time (E_OUTCOME_UNKNOWN naming node 9, not
    # node 1's own give-up), and keeps the source pinned for its pin grace
    # (copy.timeout_ms, 20 s here) after that: a delete right after the
    # reply is EBUSY, and it succeeds once the grace is over.
    nested_give_up(c, n1, n2, z, a)


def nested_give_up(c, n1, n2, z, a):
    put_node9(c)
    wait_for("node 2 to see node 9", lambda: state_on(n2, 9) == "up" or None, timeout=60)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((BRIDGE, FAKE_PORT + 1))
    w2 = copy_w(n2)
    drive = subprocess.Popen([n1.c_drive(), "exec", n1.ip, "7300",
                              "get {z} ino %z ; copy value(@0.9.0.1.1, data) value({a}, data) "
                              "1000 ; return %z".format(z=z, a=a), "--client", "72",
                              "--block", "9400", "--wait", "30000"],
                             stdout=subprocess.PIPE, text=True)
    try:
        sock.settimeout(60)
        dg, peer = sock.recvfrom(65535)
        check(dg[:2] == b"SC" and dg[3] == CONT and peer[0] == n2.ip,
              ("not node 2's CONT", dg[:8].hex(), peer))
        pl = dg[32:32 + struct.unpack_from("<H", dg, 6)[0]]
        ext_len = struct.unpack_from("<H", pl, 48)[0]
        timeout = struct.unpack_from("<I", pl, 44)[0]
        check(ext_len == 50 and pl[52:54] == bytes([2, 48]) and timeout == 375,
              ("the nested CONT", ext_len, timeout, pl[:60].hex()))
        out = drive.communicate(timeout=120)[0]
    finally:
        if drive.poll() is None:
            drive.kill()
            drive.wait()
        sock.close()
    lines = [x for x in out.splitlines() if x and not x.startswith(("meta ", "between "))]
    check(lines, ("no reply to the copy block", out))
    first = json.loads(lines[0])
    st = [x["fields"] for x in first.get("statuses", [])]
    check(any(f["code"] == "E_OUTCOME_UNKNOWN" and "node 9" in f["message"] and
              f["node"].startswith("@0.2.") for f in st), ("node 2 gave up", first))
    rep = n2.drive("del %s data" % a, port=7301)
    st = rep["statuses"][0]["fields"] if rep.get("statuses") else {}
    check(rep["end"]["outcome"] == "aborted" and st.get("errno_name") == "EBUSY",
          ("the source not pinned in its grace", rep))
    v2 = copy_w(n2)
    check(v2["cont_pin_grace"] - w2["cont_pin_grace"] == 1 and
          v2["cont_nest_answered"] - w2["cont_nest_answered"] == 1, (w2, v2))

    def deleted():
        r = n2.drive("del %s data" % a, port=7301)
        return r if r["end"]["outcome"] == "ok" else None
    wait_for("the pin grace to end", deleted, timeout=90)


def t_copy_third_party(c):
    """A third-party copy over libfabric shm."""
    copy_third_party_scenario(c, dict(COPY_SHM, timeout_ms=20000))


def t_copy_third_party_tcp(c):
    """The same over libfabric tcp."""
    copy_third_party_scenario(c, dict(COPY_TCP, timeout_ms=20000))


def t_copy_remote_sessions(c):
    """Remote copies of session blocks (docs/COPY.md "Session blocks"):
    two etcd nodes with auth required. A session whose grant has get on
    the source copies: node 1 checks the session's get right on the source
    before it pins it and hands out its window address, ships the row
    with the principal (extension 1) and one COPY_SOURCE, node 2 READs, the
    bytes land. A session whose grant has no get on the source's data:
    node 1 hands out no window address (cont_src_denied), node 2 refuses
    the copy (EACCES) and posts no READ, its destination unchanged."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("SCPP_")}

    def gen(name):
        path = os.path.join(c.tmp, name + ".key")
        run([SCPP_CLI, "key", "gen", "-o", path, "--comment", name], env=base)
        return path
    root = gen("operator")

    def auth_required(nodes):
        nkey = {n.id: gen("node%d" % n.id) for n in nodes}
        for n in nodes:
            n.cfg["auth"] = {"mode": "required", "node_key": nkey[n.id],
                             "roots": [root + ".pub"],
                             "peers": ["%d:%s.pub" % (p.id, nkey[p.id]) for p in nodes
                                       if p is not n]}
            # The first try of a part may meet its owner before the IDENTITY.
            n.cfg["cluster"]["cont"] = {"timeout_ms": 2000}
        nodes[1].cfg["auth"]["roots"].append(nkey[1] + ".pub")
    n1, n2 = copy_nodes(c, COPY_SHM, (1, 2), auth_required)

    def cli(server, key, text, chain=None, want=0):
        r = scpp_as(base, server, key, ["exec", text], chain, want)
        return json.loads(r.stdout.splitlines()[-1])

    def grant(who, ops, attrs=None):
        key = gen(who)
        path = os.path.join(c.tmp, who + ".grant")
        run([SCPP_CLI, "grant", "issue", "--key", root, "--to", key + ".pub", "--scope", "all",
             "--ops", ops] + (["--attrs", attrs] if attrs else []) +
            ["--expires", "+1h", "-o", path], env=base)
        return key, path

    def mkfile(n, ino, data):
        return cli(n.ip, root, mkfile_text(ino, data))["rows"][0][0]

    def data(n, oid):
        rep = cli(n.ip, root, "get %s data %%v ; return %%v" % oid)
        return bytes.fromhex(rep["rows"][0][0]["hex"])
    rnd = random.Random(1418)
    blob = bytes(rnd.getrandbits(8) for _ in range(8192))
    old = bytes(rnd.getrandbits(8) for _ in range(8192))
    a = mkfile(n1, 801, blob)
    bb = mkfile(n2, 802, old)
    alice, achain = grant("alice", "get,copy")
    bob, bchain = grant("bob", "get,copy", "ino")
    text = ("get {a} ino %z ; copy offset(value({b}, data), 10) offset(value({a}, data), 3) "
            "{n} ; return %z")
    w1, w2 = copy_w(n1), copy_w(n2)
    rep = cli(n1.ip, alice, text.format(a=a, b=bb, n=5000), achain)
    check(rep["end"]["outcome"] == "ok" and rep["rows"] == [[801]] and not rep.get("statuses"),
          rep)
    want = bytearray(old)
    want[10:5010] = blob[3:5003]
    check(data(n2, bb) == bytes(want), "node 2's destination differs")
    v1, v2 = copy_w(n1), copy_w(n2)
    check(v1["cont_src_sent"] - w1["cont_src_sent"] == 1 and
          v1["cont_src_denied"] == w1["cont_src_denied"], ("node 1", w1, v1))
    check(v2["cont_reads"] - w2["cont_reads"] == 1 and
          v2["cont_read_bytes"] - w2["cont_read_bytes"] == 5000 and
          v2["remote_submitted"] - w2["remote_submitted"] == 1, ("node 2", w2, v2))
    # Bob may read ino, not data: no window address, EACCES on node 2, no READ.
    rep = cli(n1.ip, bob, text.format(a=a, b=bb, n=4000), bchain, want=1)
    st = [x["fields"] for x in rep.get("statuses", [])]
    check(rep["end"]["outcome"] == "aborted" and
          any(f["code"] == "EACCES" and f["node"].startswith("@0.2.") and
              "copy from %s.data" % a in f["message"] and "missing get" in f["message"]
              for f in st), rep)
    u1, u2 = copy_w(n1), copy_w(n2)
    check(u1["cont_src_denied"] - v1["cont_src_denied"] == 1 and
          u1["cont_src_sent"] == v1["cont_src_sent"], ("node 1 handed out the source", v1, u1))
    check(u2["cont_reads"] == v2["cont_reads"] and
          u2["remote_submitted"] == v2["remote_submitted"] and
          u2["cont_read_failed"] == v2["cont_read_failed"], ("node 2 read", v2, u2))
    check(data(n2, bb) == bytes(want), "a refused copy wrote node 2's destination")


# ---- another node's memory window (docs/COPY.md "Memory windows on other nodes") ----

VMA_IN, VMA_TAIL, VMA_ARENA, VMA_EDGE = (140737488289792, 140737488293888, 140737488355328,
                                         140737488359424)


def memwin_process(run_block, w3, arena3):
    """A Process on node 1 whose vmas map four addresses to Extents on node
    3's windows: [VMA_IN] 8192 bytes at offset 4096 of memory window @p w3,
    [VMA_TAIL] its last 3536 bytes (62000..65536), [VMA_ARENA] node 3's
    arena window, [VMA_EDGE] 8192 bytes at 64000 (past the window's end).
    @p run_block runs a block on node 1 and returns its reply. Its OID."""
    ext = ""
    for v, (win, off, n) in zip("abcd", ((w3, 4096, 8192), (w3, 62000, 3536),
                                         (arena3, 0, 4096), (w3, 64000, 8192))):
        ext += ("create %{0} Extent ; set %{0} length {1}u ; set %{0} window {2} ; "
                "set %{0} window_offset {3}u ; ").format(v, n, win, off)
    rep = run_block(
        'create %m Machine ; set %m hostname "h" ; set %m cores 1u ; set %m memory_bytes 2u ; '
        'create %p Process ; set %p pid 43u ; set %p machine %m ; set %p state "R" ; '
        'set %p comm "a.out" ; set %p uid 0u ; set %p euid 0u ; set %p gid 0u ; '
        'set %p egid 0u ; ' + ext +
        "set %p vmas[{0}u] %a ; set %p vmas[{1}u] %b ; set %p vmas[{2}u] %c ; "
        "set %p vmas[{3}u] %d ; return %p".format(VMA_IN, VMA_TAIL, VMA_ARENA, VMA_EDGE))
    return rep["rows"][0][0]


def memwin_status(rep):
    check(rep["end"]["outcome"] != "ok" and rep.get("statuses"), rep)
    return rep["statuses"][0]["fields"]


def process_prelude(host, pid, comm, var="p"):
    """The commands that make a Machine %m named @p host and a Process %var
    on it (pid @p pid, command @p comm, root's ids): the start of the
    blocks that then give the Process its vmas."""
    return ('create %m Machine ; set %m hostname "{0}" ; set %m cores 1u ; set %m memory_bytes 2u ; '
            'create %{3} Process ; set %{3} pid {1}u ; set %{3} machine %m ; set %{3} state "R" ; '
            'set %{3} comm "{2}" ; set %{3} uid 0u ; set %{3} euid 0u ; set %{3} gid 0u ; '
            'set %{3} egid 0u ; ').format(host, pid, comm, var)


def arena_source_cont(n1, a2, p, arena3, tag, **kw):
    """A CONT for node 1 whose part copies 100 bytes from node 2's value
    @p a2 into Process @p p's vmas[VMA_ARENA], carrying a COPY_SOURCE that
    names node 3's arena window @p arena3 for exactly that range (the
    extension spliced in after the part's header); @p tag and @p kw go to
    cont_msg()."""
    block = bytes.fromhex(run([n1.c_drive(), "encode", "let %%z 1u ; copy value(%s, data) "
                               "value(%s, vmas[%du]) 100 ; return %%z" % (a2, p, VMA_ARENA)])
                          .stdout.strip())
    f = [int(x, 16) for x in arena3.lstrip("@").split(".")]
    ext = struct.pack("<BBIIQQQQQ", 2, 48, 0, 0, (f[0] << 48) | (f[1] << 16) | f[2],
                      (f[3] << 40) | f[4], 0, 100, 1)
    msg = bytearray(cont_msg(block, 1, 1, [(1, [b"\x03\x01"])], tag, **kw))
    struct.pack_into("<H", msg, 48, len(ext))
    return bytes(msg[:52]) + ext + bytes(msg[52:])


def window_rows_process(n1, w3, host, pid, comm, offs, vmas):
    """A Process on node 1 whose vmas[vmas[i]] is an Extent of 100 (i + 1)
    bytes at offset offs[i] of node 3's memory window @p w3. Its OID."""
    ext = ""
    for i, off in enumerate(offs):
        ext += ("create %x{0} Extent ; set %x{0} length {1}u ; set %x{0} window {2} ; "
                "set %x{0} window_offset {3}u ; set %p vmas[{4}u] %x{0} ; ").format(
                    i, 100 * (i + 1), w3, off, vmas[i])
    rep = n1.drive(process_prelude(host, pid, comm) + ext + "return %p", port=7301)
    check(rep["end"]["outcome"] == "ok", rep)
    return rep["rows"][0][0]


def copy_memwin_scenario(c, copy_cfg):
    """Three etcd nodes, node 3 with a 64 KiB memory window: a block sent to
    node 1, which owns a Process whose vmas map an address to an Extent on
    node 3's window, copies node 1's value into the window and the window
    into node 3's value; node 1 ships each row to node 3 with a
    MEMORY_WINDOW extension (and the source's COPY_SOURCE), node 3 checks
    and copies. Bytes compared; the counters of the path moved; refusals:
    the window's bound (ERANGE on node 3, the window unchanged), an Extent
    on node 3's arena window (EOPNOTSUPP on node 1, not shipped), forged
    extensions from node 9 (EACCES, nothing written)."""
    c.start_etcd()
    mw_cfg = dict(copy_cfg, memory_windows=[{"name": "vm3", "bytes": 65536}])
    nodes = [c.node(i, cfg_extra={"copy": mw_cfg if i == 3 else copy_cfg}) for i in (1, 2, 3)]
    # memwin_resolves_many's 576 rows: no time budget in the way (no
    # timing in tests), whatever the machine's load or the build.
    nodes[0].cfg["eval"] = {"max_time_us": 2000000}
    for n in nodes:
        n.start()
    c.enter()
    for n in nodes:
        for p in (1, 2, 3):
            wait_for("node %d to see node %d" % (n.id, p),
                     lambda n=n, p=p: state_on(n, p) in ("up", "self"), timeout=60)
    n1, n2, n3 = nodes
    put_node9(c)
    for n in nodes:
        wait_for("node %d to see node 9" % n.id, lambda n=n: state_on(n, 9) == "up" or None,
                 timeout=60)
    # Node 1: two arena windows and node 3's memory window; node 3: two arenas.
    wait_for("node 1 to attach node 3's memory window",
             lambda: (copy_w(n1)["peer_windows"] == 3 and copy_w(n1)["peer_memwins"] == 1)
             or None, timeout=60)
    wait_for("node 3 to attach the arenas",
             lambda: copy_w(n3)["peer_windows"] == 2 or None, timeout=60)
    t3 = copy_w(n3)
    w3, arena3 = t3["memory_window0"]["window"], t3["remote_window"]
    rnd = random.Random(3141)
    chunk = bytes(rnd.getrandbits(8) for _ in range(3000))
    a = mkfile_on(n1, 601, chunk)
    b3 = mkfile_on(n3, 602, bytes(3000))
    tail = mkfile_on(n3, 603, b"\xee" * 3536)
    p = memwin_process(lambda t: n1.drive(t, port=7301), w3, arena3)
    vma = "value(%s, vmas[%du])" % (p, VMA_IN)
    v1, v3 = copy_w(n1), copy_w(n3)
    m3 = v3["memory_window0"]
    # Into the window: node 1's value, read by node 3 from node 1's arena.
    # (A CONT carries at least one variable: the get binds one.)
    rep = n1.drive("get %s pid %%z ; copy offset(%s, 100) value(%s, data) 3000 ; return %%z" %
                   (p, vma, a), port=7301, extra=["--copy-results"])
    check(rep["end"]["outcome"] == "ok" and not rep.get("statuses") and rep["rows"] == [[43]],
          rep)
    check([(x["command"], x["copies"], x["bytes"]) for x in rep.get("copies", [])] ==
          [(1, 1, 3000)], ("COPY records", rep))
    u1, u3 = copy_w(n1), copy_w(n3)
    k3 = u3["memory_window0"]
    check(u1["cont_memwin_sent"] - v1["cont_memwin_sent"] == 1 and
          u1["cont_src_sent"] - v1["cont_src_sent"] == 1, ("node 1", v1, u1))
    check(u3["cont_memwin_rx"] - v3["cont_memwin_rx"] == 1 and
          k3["remote_in"] - m3["remote_in"] == 1 and k3["copies_in"] - m3["copies_in"] == 1 and
          k3["bytes_in"] - m3["bytes_in"] == 3000 and
          u3["cont_reads"] - v3["cont_reads"] == 1 and
          u3["cont_read_bytes"] - v3["cont_read_bytes"] == 3000, ("node 3", v3, u3))
    # Out of the window into node 3's value: the bytes that went in.
    rep = n1.drive("get %s pid %%z ; copy value(%s, data) offset(%s, 100) 3000 ; return %%z" %
                   (p, b3, vma), port=7301)
    check(rep["end"]["outcome"] == "ok" and rep["rows"] == [[43]], rep)
    check(data_of(n3, b3) == chunk, "the window's bytes, copied to node 3's value, differ")
    check(data_of(n1, a) == chunk, "node 1's source changed")
    x3 = copy_w(n3)["memory_window0"]
    check(x3["remote_out"] - k3["remote_out"] == 1 and
          x3["bytes_out"] - k3["bytes_out"] == 3000, ("node 3 out", k3, x3))
    # Out of the window into node 1's value: node 3 ships the row back to
    # node 1 (a nested part) with a COPY_SOURCE naming its window, and node
    # 1 READs exactly the range its own rewrite gives.
    a2 = mkfile_on(n1, 604, bytes(3000))
    y1, y3 = copy_w(n1), copy_w(n3)
    rep = n1.drive("get %s pid %%z ; copy value(%s, data) offset(%s, 100) 3000 ; return %%z" %
                   (p, a2, vma), port=7301)
    check(rep["end"]["outcome"] == "ok" and rep["rows"] == [[43]] and not rep.get("statuses"),
          rep)
    check(data_of(n1, a2) == chunk, "the window's bytes, copied to node 1's value, differ")
    z1, z3 = copy_w(n1), copy_w(n3)
    check(z1["cont_memwin_sent"] - y1["cont_memwin_sent"] == 1 and
          z1["cont_reads"] - y1["cont_reads"] == 1 and
          z1["cont_read_bytes"] - y1["cont_read_bytes"] == 3000 and
          z1["cont_src_refused"] == y1["cont_src_refused"], ("node 1 READ", y1, z1))
    check(z3["cont_nested"] - y3["cont_nested"] == 1 and z3["cont_memwin_rx"] -
          y3["cont_memwin_rx"] == 1 and z3["memory_window0"]["remote_out"] -
          y3["memory_window0"]["remote_out"] == 1, ("node 3 nested", y3, z3))
    # The range node 1 read was busy on node 3 until its answer: free now.
    check(z3["memwin_busy"] == 0 and z3["memwin_busy_full"] == 0 and
          z3["memwin_busy_refused"] == 0 and z3["cont_pin_grace"] == y3["cont_pin_grace"],
          ("node 3's busy range freed at the answer", z3))
    # The window's bound: ERANGE from node 3, the window's tail unchanged.
    tail_vma = "value(%s, vmas[%du])" % (p, VMA_TAIL)
    rep = n1.drive("get %s pid %%z ; copy value(%s, data) %s 3536 ; return %%z" %
                   (p, tail, tail_vma), port=7301)
    check(rep["end"]["outcome"] == "ok" and data_of(n3, tail) == bytes(3536), rep)
    st = memwin_status(n1.drive("get %s pid %%z ; copy offset(value(%s, vmas[%du]), 100) "
                                "value(%s, data) 3000 ; return %%z" % (p, p, VMA_EDGE, a),
                                port=7301))
    check(st["code"] == "ERANGE" and st["message"] ==
          "copy: destination range 64100+3000 is outside RmaWindow %s of 65536 bytes" % w3, st)
    rep = n1.drive("get %s pid %%z ; copy value(%s, data) %s 3536 ; return %%z" %
                   (p, tail, tail_vma), port=7301)
    check(rep["end"]["outcome"] == "ok" and data_of(n3, tail) == bytes(3536),
          "a refused copy wrote the window")
    # An Extent on node 3's arena window: refused on node 1, never shipped.
    sent = copy_w(n1)["cont_memwin_sent"]
    st = memwin_status(n1.drive("copy offset(value(%s, vmas[%du]), 0) value(%s, data) 100" %
                                (p, VMA_ARENA, a), port=7301))
    check(st["code"] == "EOPNOTSUPP" and "not a memory window of this shard" in st["message"]
          and arena3 in st["message"], st)
    check(copy_w(n1)["cont_memwin_sent"] == sent, "an arena window's copy was shipped")
    # A part that does not fit one datagram (a long literal after the
    # copy): never sent, so no MEMORY_WINDOW counted as sent.
    q1, q3 = copy_w(n1), copy_w(n3)
    st = memwin_status(n1.drive("get %s pid %%z ; copy offset(%s, 100) value(%s, data) 3000 ; "
                                "let %%q \"%s\" ; return %%z" % (p, vma, a, "x" * 1330),
                                port=7301))
    check(st["code"] == "E_LIMIT_BYTES" and "do not fit one datagram" in st["message"], st)
    r1, r3 = copy_w(n1), copy_w(n3)
    check(r1["cont_memwin_sent"] == q1["cont_memwin_sent"] and
          r1["cont_src_sent"] == q1["cont_src_sent"] and
          r3["cont_memwin_rx"] == q3["cont_memwin_rx"], ("a part not sent was counted", q1, r1))
    memwin_many_rows(n1, n3, w3, a, chunk)
    memwin_parts_partial(n1, n3, w3, a, chunk)
    memwin_resolves_many(n1, n3, p, a)
    memwin_src_only_after(n1, n3, w3, a, chunk)
    memwin_third_node(n1, n2, p, vma)
    memwin_forged(n3, p, b3, w3, arena3, chunk)
    memwin_renumbered(n1, n3, p, w3, chunk)
    # A COPY_SOURCE naming node 3's memory window for a plain value's
    # source (sent to node 1 by the test as node 9): EACCES, no READ.
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((BRIDGE, FAKE_PORT))
    before = copy_w(n1)
    block = bytes.fromhex(run([n1.c_drive(), "encode", "let %%z 1u ; copy value(%s, data) "
                               "value(@0.3.0.1.99, data) 3000 ; return %%z" % a2])
                          .stdout.strip())
    f = [int(x, 16) for x in w3.lstrip("@").split(".")]
    ext = struct.pack("<BBIIQQQQQ", 2, 48, 0, 0, (f[0] << 48) | (f[1] << 16) | f[2],
                      (f[3] << 40) | f[4], 4196, 3000, 1)
    msg = bytearray(cont_msg(block, 1, 1, [(1, [b"\x03\x01"])], 0xb0))
    struct.pack_into("<H", msg, 48, len(ext))
    msg = bytes(msg[:52]) + ext + bytes(msg[52:])
    got = cont_exchange(sock, (n1.ip, 7301), node_dgram(CONT, msg, 9, 0xb0))
    sock.close()
    check(got is not None, "no CONT_REPLY for the memory window COPY_SOURCE")
    st = memwin_status(records_json(n1, got[2]))
    check(st["code"] == "EACCES" and "is a memory window, not the arena of a value's bytes" in
          st["message"], st)
    after = copy_w(n1)
    check(after["cont_reads"] == before["cont_reads"] and
          after["cont_src_refused"] > before["cont_src_refused"], (before, after))
    # The same COPY_SOURCE for row 1 of a CONT of one row: refused whole.
    ext = struct.pack("<BBIIQQQQQ", 2, 48, 1, 0, (f[0] << 48) | (f[1] << 16) | f[2],
                      (f[3] << 40) | f[4], 4196, 3000, 1)
    msg = bytearray(cont_msg(block, 1, 1, [(1, [b"\x03\x01"])], 0xb1))
    struct.pack_into("<H", msg, 48, len(ext))
    msg = bytes(msg[:52]) + ext + bytes(msg[52:])
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((BRIDGE, FAKE_PORT))
    got = cont_exchange(sock, (n1.ip, 7301), node_dgram(CONT, msg, 9, 0xb1))
    sock.close()
    check(got is not None, "no CONT_REPLY for the COPY_SOURCE past nrows")
    st = memwin_status(records_json(n1, got[2]))
    check(st["code"] == "E_BAD_VAR" and st["message"].startswith(
        "continuation 177 not run: a COPY_SOURCE or MEMORY_WINDOW extension: E_BAD_VAR (") and
        st["message"].endswith("): its row is at or past the CONT's nrows"), st)
    check(copy_w(n1)["cont_reads"] == before["cont_reads"], "a refused CONT READ")
    check(data_of(n1, a2) == chunk, "node 1's value changed")
    memwin_arena_source(n1, p, arena3, a2, chunk)
    memwin_arena_source_from_owner(n1, n3, p, arena3, a2, chunk)


MANY_VMAS = [0x7f0000000000 + i * 0x1000 for i in range(5)]


def memwin_many_rows(n1, n3, w3, a, chunk):
    """One copy command of five rows into node 3's memory window: more
    MEMORY_WINDOW + COPY_SOURCE pairs than one part's 256 bytes of
    extensions hold (three). Node 1 cuts the rows into two parts for node 3
    (three rows, then two), each row with its own extensions; every range of
    the window receives its own row's bytes (read back through node 3's
    values, byte for byte)."""
    p = window_rows_process(n1, w3, "h5", 45, "five", [30000 + 1000 * i for i in range(5)],
                            MANY_VMAS)
    v1, v3 = copy_w(n1), copy_w(n3)
    c1, c3 = cont_counts(n1), cont_counts(n3)
    # Row i copies a's bytes from offset 100 (i + 1) (its Extent's length).
    rep = n1.drive("get {0} vmas[%k] %x ; get %x length %n ; copy offset(value({0}, "
                   "vmas[%k]), 0) offset(value({1}, data), %n) 100 ; return %k".format(p, a),
                   port=7301)
    check(rep["end"]["outcome"] == "ok" and not rep.get("statuses") and
          sorted(r[0] for r in rep["rows"]) == MANY_VMAS, rep)
    u1, u3 = copy_w(n1), copy_w(n3)
    d1, d3 = moved(c1, cont_counts(n1)), moved(c3, cont_counts(n3))
    check(u1["cont_memwin_sent"] - v1["cont_memwin_sent"] == 5 and
          u1["cont_src_sent"] - v1["cont_src_sent"] == 5 and
          u3["cont_memwin_rx"] - v3["cont_memwin_rx"] == 5 and
          u3["memory_window0"]["remote_in"] - v3["memory_window0"]["remote_in"] == 5,
          ("five rows, five MEMORY_WINDOWs", v1, u1, v3, u3))
    check(d1.get("cont_shipped") == 2 and d3.get("cont_run") == 2,
          ("the five rows in two parts", d1, d3))
    # Each row's window end resolved once on node 1 (the hook before the
    # copy, the splitting rule, the cut and the extensions share it).
    check(u1["memwin_resolves"] - v1["memwin_resolves"] == 5, ("one lookup a row", v1, u1))
    for i in range(5):
        b = mkfile_on(n3, 620 + i, bytes(100))
        rep = n1.drive("get {0} pid %z ; copy value({1}, data) value({0}, vmas[{2}u]) 100 ; "
                       "return %z".format(p, b, MANY_VMAS[i]), port=7301)
        check(rep["end"]["outcome"] == "ok", rep)
        off = 100 * (i + 1)
        check(data_of(n3, b) == chunk[off:off + 100],
              "window range %d does not hold its row's bytes" % i)


def memwin_resolves_many(n1, n3, p, a):
    """576 rows (24 x 24) at one copy command, more than the origin's stop
    can hold (a park slot's 16 KiB suspension: 512 rows at most, the memo's
    size): only the last 24, whose %k is VMA_IN, have an end in node 3's
    memory window. The hook before the copy resolves rows until the first
    of them (row 552), each once (memwin_resolves +553, not more), and the
    block cannot stop there: E_LIMIT_PENDING "does not fit its suspension",
    no split, nothing shipped. (Node 1's eval.max_time_us is raised in this
    scenario so that the 576 rows never meet the time budget on a loaded
    or sanitised build.)"""
    x = n1.drive("get %s vmas[%du] %%x ; return %%x" % (p, VMA_IN), port=7301)["rows"][0][0]
    keys = [0x10000 + i for i in range(23)] + [VMA_IN]
    rep = n1.drive(
        process_prelude("h7", 47, "many", "q") +
        "".join("set %%q vmas[%du] %s ; " % (k, x) for k in keys) +
        "return %q", port=7301)
    check(rep["end"]["outcome"] == "ok", rep)
    q = rep["rows"][0][0]
    v1, v3, c1 = copy_w(n1), copy_w(n3), cont_counts(n1)
    st = memwin_status(n1.drive("get {0} vmas[%k] %v ; get {0} vmas[%j] %w ; copy offset("
                                "value({1}, vmas[%k]), 0) value({2}, data) 1 !%e".format(q, p, a),
                                port=7301))
    check(st["code"] == "E_LIMIT_PENDING" and st["message"].startswith(
        "the block's state before command 2 (576 rows, ") and
        st["message"].endswith("does not fit its suspension (16384 bytes)"), st)
    u1, u3 = copy_w(n1), copy_w(n3)
    check(u1["memwin_resolves"] - v1["memwin_resolves"] == 23 * 24 + 1,
          ("each row once, by the hook", v1["memwin_resolves"], u1["memwin_resolves"]))
    d1 = moved(c1, cont_counts(n1))
    check(d1.get("cont_splits") is None and d1.get("cont_shipped") is None and
          u1["cont_memwin_sent"] == v1["cont_memwin_sent"] and
          u3["cont_memwin_rx"] == v3["cont_memwin_rx"], ("a stop that cannot be held", d1))


SRC_ONLY_VMAS = [0x7f0000200000 + i * 0x1000 for i in range(4)]


def memwin_src_only_after(n1, n3, w3, a, chunk):
    """One copy command, four rows for node 3's shard: three into node 3's
    window through node 1's Process (a MEMORY_WINDOW and a COPY_SOURCE
    each: 252 of a part's 256 bytes), then one whose destination is node
    3's own Process (routed there by its entity: no MEMORY_WINDOW) with
    node 1's value as its source, which needs a COPY_SOURCE that no longer
    fits. Node 1 starts a second part with it rather than ship it without
    (it would have met E_NOT_HERE on node 3 and aborted the part): two
    parts, four COPY_SOURCEs, every range byte for byte."""
    k3 = SRC_ONLY_VMAS[3]
    rep = n3.drive(
        'create %m Machine ; set %m hostname "h8" ; set %m cores 1u ; set %m memory_bytes 2u ; '
        'create %p Process ; set %p pid 48u ; set %p machine %m ; set %p state "R" ; '
        'set %p comm "three" ; set %p uid 0u ; set %p euid 0u ; set %p gid 0u ; '
        'set %p egid 0u ; create %x Extent ; set %x length 100u ; set %x window {0} ; '
        'set %x window_offset 50000u ; set %p vmas[{1}u] %x ; return %p'.format(w3, k3),
        port=7301)
    check(rep["end"]["outcome"] == "ok", rep)
    p3 = rep["rows"][0][0]
    ext = ""
    for i in range(3):
        ext += ("create %x{0} Extent ; set %x{0} length 100u ; set %x{0} window {1} ; "
                "set %x{0} window_offset {2}u ; set %p vmas[{3}u] %x{0} ; "
                "set %m processes[{3}u] %p ; ").format(i, w3, 51000 + 1000 * i, SRC_ONLY_VMAS[i])
    rep = n1.drive(
        process_prelude("h9", 49, "four") + ext + "set %m processes[{0}u] {1} ; return %m %p"
        .format(k3, p3), port=7301)
    check(rep["end"]["outcome"] == "ok", rep)
    m, p1 = rep["rows"][0]
    v1, v3, c1, c3 = copy_w(n1), copy_w(n3), cont_counts(n1), cont_counts(n3)
    rep = n1.drive("get {0} processes[%k] %p ; copy offset(value(%p, vmas[%k]), 0) "
                   "value({1}, data) 100 ; return %k".format(m, a), port=7301)
    check(rep["end"]["outcome"] == "ok" and not rep.get("statuses") and
          rep["rows"] == [[k] for k in SRC_ONLY_VMAS], rep)
    u1, u3 = copy_w(n1), copy_w(n3)
    d1, d3 = moved(c1, cont_counts(n1)), moved(c3, cont_counts(n3))
    check(d1.get("cont_shipped") == 2 and d3.get("cont_run") == 2 and
          u1["cont_src_sent"] - v1["cont_src_sent"] == 4 and
          u1["cont_memwin_sent"] - v1["cont_memwin_sent"] == 3 and
          u3["cont_reads"] - v3["cont_reads"] == 4, ("two parts, four sources", d1, d3))
    # Each range back out, byte for byte: node 1's Process through node 3
    # (a MEMORY_WINDOW out), node 3's own Process there.
    for i, k in enumerate(SRC_ONLY_VMAS):
        b = mkfile_on(n3, 650 + i, bytes(100))
        if i < 3:
            r = n1.drive("get {0} pid %z ; copy value({1}, data) value({0}, vmas[{2}u]) 100 ; "
                         "return %z".format(p1, b, k), port=7301)
        else:
            r = n3.drive("copy value({0}, data) value({1}, vmas[{2}u]) 100".format(b, p3, k),
                         port=7301)
        check(r["end"]["outcome"] == "ok", r)
        check(data_of(n3, b) == chunk[:100], "window range of row %d differs" % i)


PART_VMAS = [0x7f0000100000 + i * 0x1000 for i in range(5)]


def memwin_parts_partial(n1, n3, w3, a, chunk):
    """Five rows of one copy command into node 3's window, cut into two
    parts (rows 0-2, rows 3-4) as in memwin_many_rows, row 4's Extent
    running past the window's end (ERANGE at node 3). Each part is atomic
    on its own, the command is not: without a status variable part 2
    aborts (row 3 undone with it) while part 1's rows stay committed in the
    window; with one, only row 4 fails (its STATUS names node 3, the row by
    its index in part 2's rows: 1) and rows 0-3 are written. The window's
    ranges read back byte for byte after each."""
    p = window_rows_process(n1, w3, "h6", 46, "parts",
                            [40000 + 1000 * i for i in range(4)] + [65500], PART_VMAS)
    bad = "copy: destination range 65500+100 is outside RmaWindow %s of 65536 bytes" % w3

    def window_ranges():
        out = []
        for i in range(4):
            b = mkfile_on(n3, 640 + i, bytes(100))
            r = n1.drive("get {0} pid %z ; copy value({1}, data) value({0}, vmas[{2}u]) 100 ; "
                         "return %z".format(p, b, PART_VMAS[i]), port=7301)
            check(r["end"]["outcome"] == "ok", r)
            out.append(data_of(n3, b))
        return out

    def row_bytes(src, i):
        return src[100 * (i + 1):100 * (i + 2)]
    # No status variable: part 2 aborts on node 3, part 1 stays.
    c1, c3 = cont_counts(n1), cont_counts(n3)
    rep = n1.drive("get {0} vmas[%k] %x ; get %x length %n ; copy offset(value({0}, "
                   "vmas[%k]), 0) offset(value({1}, data), %n) 100 ; return %k".format(p, a),
                   port=7301, extra=["--copy-results"])
    d1, d3 = moved(c1, cont_counts(n1)), moved(c3, cont_counts(n3))
    check(d1.get("cont_shipped") == 2 and d3.get("cont_run") == 2, ("two parts", d1, d3))
    # Part 1's rows answer as done (its ROWs, its COPY record: 3 copies);
    # part 2's abort is the one STATUS, from node 3, row 1 of its rows.
    check(rep["end"]["outcome"] == "aborted" and rep["end"]["errno_name"] == "ERANGE" and
          rep["rows"] == [[k] for k in PART_VMAS[:3]] and len(rep["statuses"]) == 1, rep)
    st = rep["statuses"][0]["fields"]
    check(st["code"] == "ERANGE" and st["message"] == bad and st["node"] == "@0.3.0.0.0" and
          st["command"] == 2 and st["row"] == 1 and "variable" not in st, st)
    check([(x["command"], x["copies"], x["bytes"]) for x in rep.get("copies", [])] ==
          [(2, 3, 300)], ("part 1's COPY record alone", rep))
    got = window_ranges()
    check(got == [row_bytes(chunk, i) for i in range(3)] + [bytes(100)],
          ("part 1's rows in the window, row 3 undone with part 2", [g[:4].hex() for g in got]))
    # With a status variable: only row 4 fails; rows 0-3 written.
    second = bytes((i * 11 + 5) & 0xff for i in range(3000))
    a6 = mkfile_on(n1, 645, second)
    rep = n1.drive("get {0} vmas[%k] %x ; get %x length %n ; copy offset(value({0}, "
                   "vmas[%k]), 0) offset(value({1}, data), %n) 100 !%e ; return %k".format(p, a6),
                   port=7301)
    check(rep["end"]["outcome"] == "errors" and rep["rows"] == [[k] for k in PART_VMAS] and
          len(rep["statuses"]) == 1, rep)
    st = rep["statuses"][0]["fields"]
    check(st["code"] == "ERANGE" and st["message"] == bad and st["node"] == "@0.3.0.0.0" and
          st["variable"] == "e" and st["row"] == 1, st)
    got = window_ranges()
    check(got == [row_bytes(second, i) for i in range(4)],
          ("rows 0-3 written, row 4 alone failed", [g[:4].hex() for g in got]))


def memwin_arena_source(n1, p, arena3, a2, chunk):
    """A COPY_SOURCE naming node 3's *arena* window for a source node 1
    rewrites through [VMA_ARENA] (an Extent on that arena window), for
    exactly the range the rewrite gives, sent to node 1 by the test as node
    9: refused outright (EACCES, "is node 3's arena, not a memory window"),
    before the exact-range or the sender check; no READ, node 1's value
    unchanged."""
    msg = arena_source_cont(n1, a2, p, arena3, 0xb2)
    before = copy_w(n1)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((BRIDGE, FAKE_PORT))
    got = cont_exchange(sock, (n1.ip, 7301), node_dgram(CONT, msg, 9, 0xb2))
    sock.close()
    check(got is not None, "no CONT_REPLY for the arena window COPY_SOURCE")
    st = memwin_status(records_json(n1, got[2]))
    check(st["code"] == "EACCES" and st["message"] ==
          "copy: window %s is node 3's arena, not a memory window: a rewritten source is read "
          "only from one; nothing was read" % arena3, st)
    after = copy_w(n1)
    check(after["cont_reads"] == before["cont_reads"] and
          after["cont_src_refused"] - before["cont_src_refused"] == 1, (before, after))
    check(data_of(n1, a2) == chunk, "node 1's value changed")


def ip_sum(data):
    """The Internet checksum (RFC 1071) of @p data."""
    if len(data) % 2:
        data += b"\0"
    t = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while t >> 16:
        t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff


def mac_of(ip):
    """The MAC the namespace's neighbour table holds for @p ip (a node the
    test has talked to)."""
    out = run(["ip", "neigh", "show", ip]).stdout.split()
    check("lladdr" in out, ("no neighbour entry for", ip, out))
    return bytes.fromhex(out[out.index("lladdr") + 1].replace(":", ""))


def send_as(src, dst, payload, port=7301):
    """One UDP datagram from node @p src's address (its IP, MAC and shard
    port) to node @p dst, written straight into @p dst's tap: the frame
    never crosses the bridge, so no forwarding table learns the borrowed
    address; @p dst's answer goes to @p src, which drops it as unmatched."""
    sip, dip = socket.inet_aton(src.ip), socket.inet_aton(dst.ip)
    udp = struct.pack("!HHHH", port, port, 8 + len(payload), 0) + payload
    csum = ip_sum(sip + dip + struct.pack("!BBH", 0, 17, len(udp)) + udp) or 0xffff
    udp = udp[:6] + struct.pack("!H", csum) + udp[8:]
    iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0x5c5c, 0x4000, 64, 17, 0, sip,
                      dip)
    iph = iph[:10] + struct.pack("!H", ip_sum(iph)) + iph[12:]
    frame = mac_of(dst.ip) + mac_of(src.ip) + b"\x08\x00" + iph + udp
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    try:
        sock.bind((dst.iface, 0))
        sock.send(frame)
    finally:
        sock.close()


def memwin_arena_source_from_owner(n1, n3, p, arena3, a2, chunk):
    """The parked path of memwin_arena_source: the COPY_SOURCE naming node
    3's arena window, for exactly the range node 1's rewrite of the source
    gives, now from node 3's own address (the window's node, so the
    sender check passes and node 1 would READ it ahead while the CONT is
    parked). Refused before any READ: node 1's cont_reads, cont_read_parks
    and remote engine's submissions unchanged, cont_src_refused +1 (the
    copy's own refusal, counted once), node 1's value unchanged."""
    msg = arena_source_cont(n1, a2, p, arena3, 0xb3, origin=3)
    before, c1 = copy_w(n1), cont_counts(n1)
    send_as(n3, n1, node_dgram(CONT, msg, 3, 0xb3))
    wait_for("node 1 to run the CONT from node 3's address",
             lambda: cont_counts(n1)["cont_run"] > c1["cont_run"] or None, timeout=10)
    after = copy_w(n1)
    check(after["cont_src_refused"] - before["cont_src_refused"] == 1 and
          after["cont_reads"] == before["cont_reads"] and
          after["cont_read_parks"] == before["cont_read_parks"] and
          after["cont_read_failed"] == before["cont_read_failed"] and
          after["remote_submitted"] == before["remote_submitted"], ("a READ went", before, after))
    check(data_of(n1, a2) == chunk, "node 1's value changed")


def memwin_exchange(sock, to, dgram, wait=4.0):
    """cont_exchange() for a CONT whose answer may follow nested CONTs the
    receiver sends to the test (node 9): those are counted and ignored."""
    sock.sendto(dgram, to)
    nested = 0
    end = time.monotonic() + wait
    while time.monotonic() < end:
        sock.settimeout(max(0.05, end - time.monotonic()))
        try:
            d, _ = sock.recvfrom(65535)
        except socket.timeout:
            break
        if d[:2] == b"SC" and d[3] == CONT:
            nested += 1
            continue
        check(d[:2] == b"SC" and d[3] == CONT_REPLY, "not a CONT_REPLY: %s" % d[:8].hex())
        plen = struct.unpack_from("<H", d, 6)[0]
        return d[32 + 16:32 + plen], nested
    return None, nested


def memwin_third_node(n1, n2, p, vma):
    """Between node 3's window and a value of node 2 (neither the Extent's
    node nor the window's), either way: no node could copy the row (node 2
    vouches for neither the rewrite nor the window, node 3 takes a window
    address only from node 1), so node 1 refuses the block before anything
    is shipped, naming the command, the row and both nodes; node 2's value
    unchanged, nothing sent, memwin_third_refused +1 each time."""
    d2 = mkfile_on(n2, 607, b"\x5a" * 3000)
    want = ("copy at command 1, row 0: node 3's memory window and a value of node 2 shard 0, "
            "a third shard: not supported; no row of this command was shipped")
    for text in ("get %s pid %%z ; copy value(%s, data) offset(%s, 100) 3000 ; return %%z" %
                 (p, d2, vma),
                 "get %s pid %%z ; copy offset(%s, 100) value(%s, data) 3000 ; return %%z" %
                 (p, vma, d2)):
        v1, c1, rx2 = copy_w(n1), cont_counts(n1), copy_w(n2)["cont_memwin_rx"]
        st = memwin_status(n1.drive(text, port=7301))
        check(st["code"] == "EOPNOTSUPP" and st["message"] == want, st)
        u1 = copy_w(n1)
        check(u1["memwin_third_refused"] - v1["memwin_third_refused"] == 1 and
              u1["cont_memwin_sent"] == v1["cont_memwin_sent"] and
              u1["cont_src_sent"] == v1["cont_src_sent"] and
              moved(c1, cont_counts(n1)).get("cont_shipped") is None and
              copy_w(n2)["cont_memwin_rx"] == rx2, ("shipped", v1, u1))
        check(data_of(n2, d2) == b"\x5a" * 3000, "node 2's value changed")


def memwin_renumbered(n1, n3, p, w3, chunk):
    """One copy command, two rows out of node 3's window (MEMORY_WINDOW
    extensions from node 9, the test): row 0 into a value of node 9, which
    node 3 ships on as a nested part; row 1 into node 3's value, which
    stays and becomes row 0 of node 3's part. It must copy its own range
    (the second pattern), not row 0's (the first chunk)."""
    second = bytes((i * 7 + 3) & 0xff for i in range(3000))
    a3 = mkfile_on(n1, 605, second)
    vma = "value(%s, vmas[%du])" % (p, VMA_IN)
    rep = n1.drive("get %s pid %%z ; copy offset(%s, 5000) value(%s, data) 3000 ; return %%z" %
                   (p, vma, a3), port=7301)
    check(rep["end"]["outcome"] == "ok" and rep["rows"] == [[43]], rep)
    b4 = mkfile_on(n3, 606, bytes(3000))
    p9 = "@0.9.0.1.7"
    block = bytes.fromhex(run([n3.c_drive(), "encode",
                               "let %%d %s ; copy value(%%d, data) offset(value(%s, vmas[%du]), "
                               "100) 3000" % (p9, p9, VMA_IN)]).stdout.strip())
    f = [int(x, 16) for x in w3.lstrip("@").split(".")]
    hi, lo = (f[0] << 48) | (f[1] << 16) | f[2], (f[3] << 40) | f[4]
    ext = b""
    for row, off in ((0, 4196), (1, 9096)):
        ext += (struct.pack("<BB", 3, 32) + struct.pack("<I", row)[:3] + bytes([2]) +
                struct.pack("<IQQQ", 3000, hi, lo, off))
    msg = bytearray(cont_msg(block, 1, 1, [(1, [oid_value("@0.9.0.1.8")]), (1, [oid_value(b4)])],
                             0xc0))
    struct.pack_into("<H", msg, 48, len(ext))
    msg = bytes(msg[:52]) + ext + bytes(msg[52:])
    before = copy_w(n3)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((BRIDGE, FAKE_PORT))
    try:
        rec, nested = memwin_exchange(sock, (n3.ip, 7301), node_dgram(CONT, msg, 9, 0xc0))
    finally:
        sock.close()
    after = copy_w(n3)
    check(rec is not None, "no CONT_REPLY for the two-row copy")
    rep = records_json(n3, rec)
    # Row 0's nested part goes to node 9's shard port, which nobody
    # answers: given up (E_OUTCOME_UNKNOWN); row 1 committed at node 3.
    check(rep["rows"] == [[b4]] and [x["fields"]["code"] for x in rep["statuses"]] ==
          ["E_OUTCOME_UNKNOWN"], rep)
    check(after["cont_nested"] - before["cont_nested"] == 1 and
          after["cont_memwin_rx"] - before["cont_memwin_rx"] == 2, (before, after))
    got = data_of(n3, b4)
    check(got != chunk, "the kept row took the shipped row's window range")
    check(got == second, "the kept row's destination differs from its window range")


def memwin_forged(n3, p, b3, w3, arena3, chunk):
    """MEMORY_WINDOW extensions node 3 must refuse (PROTOCOL.md §19.1
    receiver rules), sent by the test as node 9: an address whose entity is
    node 1's (not the sender's), a length other than the copy's, node 3's
    arena window; each EACCES with its words, the window unchanged (read
    back through node 3's value)."""
    p9 = "@0.9.0.1.7"
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((BRIDGE, FAKE_PORT))
    before = copy_w(n3)["memory_window0"]

    def oid(t):
        f = [int(x, 16) for x in t.lstrip("@").split(".")]
        return (f[0] << 48) | (f[1] << 16) | f[2], (f[3] << 40) | f[4]
    cases = [(p, w3, 3000, "which is not its entity"),
             (p9, w3, 2999, "is for 2999 bytes, the copy is of 3000"),
             (p9, arena3, 3000, "is not a memory window of this shard")]
    for i, (ent, win, length, words) in enumerate(cases):
        block = bytes.fromhex(run([n3.c_drive(), "encode",
                                   "let %%z 1u ; copy offset(value(%s, vmas[%du]), 100) "
                                   "value(%s, data) 3000 ; return %%z" % (ent, VMA_IN, b3)])
                              .stdout.strip())
        hi, lo = oid(win)
        ext = struct.pack("<BB", 3, 32) + bytes([0, 0, 0, 1]) + struct.pack("<IQQQ", length, hi,
                                                                            lo, 4196)
        msg = bytearray(cont_msg(block, 1, 1, [(1, [b"\x03\x01"])], 0xa0 + i))
        struct.pack_into("<H", msg, 48, len(ext))
        msg = bytes(msg[:52]) + ext + bytes(msg[52:])
        got = cont_exchange(sock, (n3.ip, 7301), node_dgram(CONT, msg, 9, 0xa0 + i))
        check(got is not None, "no CONT_REPLY for forged case %d" % i)
        rep = records_json(n3, got[2])
        st = memwin_status(rep)
        check(st["code"] == "EACCES" and words in st["message"], (i, st))
    # A CONT from node 9's address claiming origin 1, P being node 1's:
    # not vouched for (the sender is not the origin), EACCES.
    block = bytes.fromhex(run([n3.c_drive(), "encode",
                               "let %%z 1u ; copy offset(value(%s, vmas[%du]), 100) "
                               "value(%s, data) 3000 ; return %%z" % (p, VMA_IN, b3)])
                          .stdout.strip())
    hi, lo = oid(w3)
    ext = struct.pack("<BB", 3, 32) + bytes([0, 0, 0, 1]) + struct.pack("<IQQQ", 3000, hi, lo,
                                                                        4196)
    msg = bytearray(cont_msg(block, 1, 1, [(1, [b"\x03\x01"])], 0xae, origin=1))
    struct.pack_into("<H", msg, 48, len(ext))
    msg = bytes(msg[:52]) + ext + bytes(msg[52:])
    got = cont_exchange(sock, (n3.ip, 7301), node_dgram(CONT, msg, 9, 0xae))
    check(got is not None, "no CONT_REPLY for the CONT claiming origin 1")
    st = memwin_status(records_json(n3, got[2]))
    check(st["code"] == "EACCES" and st["message"] ==
          "copy: a memory window address for the destination came from an address that is not "
          "its CONT's origin's in the cluster map; nothing was written", st)
    # A MEMORY_WINDOW for row 1 of a CONT of one row: the part is refused
    # (E_BAD_VAR), not run without the extension.
    block = bytes.fromhex(run([n3.c_drive(), "encode",
                               "let %%z 1u ; copy offset(value(%s, vmas[%du]), 100) "
                               "value(%s, data) 3000 ; return %%z" % (p9, VMA_IN, b3)])
                          .stdout.strip())
    hi, lo = oid(w3)
    ext = struct.pack("<BB", 3, 32) + bytes([1, 0, 0, 1]) + struct.pack("<IQQQ", 3000, hi, lo,
                                                                        4196)
    msg = bytearray(cont_msg(block, 1, 1, [(1, [b"\x03\x01"])], 0xaf))
    struct.pack_into("<H", msg, 48, len(ext))
    msg = bytes(msg[:52]) + ext + bytes(msg[52:])
    got = cont_exchange(sock, (n3.ip, 7301), node_dgram(CONT, msg, 9, 0xaf))
    check(got is not None, "no CONT_REPLY for the MEMORY_WINDOW past nrows")
    st = memwin_status(records_json(n3, got[2]))
    check(st["code"] == "E_BAD_VAR" and st["message"] ==
          "continuation 175 not run: a COPY_SOURCE or MEMORY_WINDOW extension: E_BAD_VAR (%s): "
          "its row is at or past the CONT's nrows" % st["message"].split("(")[1].split(")")[0],
          st)
    sock.close()
    after = copy_w(n3)["memory_window0"]
    check(after["copies_in"] == before["copies_in"] and after["remote_in"] ==
          before["remote_in"], (before, after))
    check(data_of(n3, b3) == chunk, "node 3's value changed")


def t_copy_memwin_sessions(c):
    """Another node's memory window from session blocks (docs/COPY.md
    "Memory windows on other nodes", "Sessions"): two etcd nodes with auth
    required, node 2 with the memory window. A session granted set on
    everything copies node 1's value into node 2's window (the part carries
    its principal, one COPY_SOURCE and one MEMORY_WINDOW: 256 bytes); one
    without set gets EACCES from node 2, which checked the carried
    principal's right on the RmaWindow, and the window keeps the first
    session's bytes (copied out into node 2's value and compared)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("SCPP_")}

    def gen(name):
        path = os.path.join(c.tmp, name + ".key")
        run([SCPP_CLI, "key", "gen", "-o", path, "--comment", name], env=base)
        return path
    root = gen("operator")
    c.start_etcd()
    nodes = [c.node(i, cfg_extra={"copy": COPY_SHM if i == 1 else dict(
        COPY_SHM, memory_windows=[{"name": "vm2", "bytes": 65536}])}) for i in (1, 2)]
    nkey = {n.id: gen("node%d" % n.id) for n in nodes}
    for n in nodes:
        n.cfg["auth"] = {"mode": "required", "node_key": nkey[n.id], "roots": [root + ".pub"],
                         "peers": ["%d:%s.pub" % (p.id, nkey[p.id]) for p in nodes
                                   if p is not n]}
        n.cfg["cluster"]["cont"] = {"timeout_ms": 2000}
    # One continuation a worker on node 1: enough for every block below
    # but the last, whose rows need three parts.
    nodes[0].cfg["cluster"]["cont"]["max_pending"] = 1
    nodes[1].cfg["auth"]["roots"].append(nkey[1] + ".pub")
    for n in nodes:
        n.start()
    c.enter()
    n1, n2 = nodes
    for n in nodes:
        for p in (1, 2):
            wait_for("node %d to see node %d" % (n.id, p),
                     lambda n=n, p=p: state_on(n, p) in ("up", "self"), timeout=60)
    wait_for("node 1 to attach node 2's windows",
             lambda: (copy_w(n1)["peer_windows"] == 2 and copy_w(n1)["peer_memwins"] == 1)
             or None, timeout=60)
    wait_for("node 2 to attach node 1's arena", lambda: copy_w(n2)["peer_windows"] == 1 or None,
             timeout=60)

    def cli(server, key, text, chain=None, want=0):
        r = scpp_as(base, server, key, ["exec", text], chain, want)
        return json.loads(r.stdout.splitlines()[-1])

    def grant(who, ops):
        key = gen(who)
        path = os.path.join(c.tmp, who + ".grant")
        run([SCPP_CLI, "grant", "issue", "--key", root, "--to", key + ".pub", "--scope", "all",
             "--ops", ops, "--expires", "+1h", "-o", path], env=base)
        return key, path
    t2 = copy_w(n2)
    w2, arena2 = t2["memory_window0"]["window"], t2["remote_window"]
    rnd = random.Random(2718)
    chunk = bytes(rnd.getrandbits(8) for _ in range(3000))
    other = bytes(rnd.getrandbits(8) for _ in range(3000))
    a = cli(n1.ip, root, mkfile_text(611, chunk))["rows"][0][0]
    a2 = cli(n1.ip, root, mkfile_text(612, other))["rows"][0][0]
    b2 = cli(n2.ip, root, mkfile_text(613, bytes(3000)))["rows"][0][0]
    p = memwin_process(lambda t: cli(n1.ip, root, t), w2, arena2)
    vma = "offset(value(%s, vmas[%du]), 100)" % (p, VMA_IN)
    alice, achain = grant("alice", "get,copy,set")
    bob, bchain = grant("bob", "get,copy")
    into = "get {p} pid %z ; copy {v} value({a}, data) 3000 ; return %z"
    v1, v2 = copy_w(n1), copy_w(n2)
    rep = cli(n1.ip, alice, into.format(p=p, v=vma, a=a), achain)
    check(rep["end"]["outcome"] == "ok" and rep["rows"] == [[43]] and not rep.get("statuses"),
          rep)
    u1, u2 = copy_w(n1), copy_w(n2)
    check(u1["cont_memwin_sent"] - v1["cont_memwin_sent"] == 1 and
          u1["cont_src_sent"] - v1["cont_src_sent"] == 1, ("node 1", v1, u1))
    check(u2["memory_window0"]["remote_in"] - v2["memory_window0"]["remote_in"] == 1 and
          u2["cont_reads"] - v2["cont_reads"] == 1, ("node 2", v2, u2))
    # Bob may not set the RmaWindow: node 2 says so, nothing written.
    rep = cli(n1.ip, bob, into.format(p=p, v=vma, a=a2), bchain, want=1)
    st = [x["fields"] for x in rep.get("statuses", [])]
    check(rep["end"]["outcome"] == "aborted" and
          any(f["code"] == "EACCES" and f["node"].startswith("@0.2.") and
              "copy to window %s.*" % w2 in f["message"] and "missing set" in f["message"]
              for f in st), rep)
    x2 = copy_w(n2)
    check(x2["memory_window0"]["copies_in"] == u2["memory_window0"]["copies_in"], (u2, x2))
    # The window still holds alice's bytes: out into node 2's value.
    rep = cli(n1.ip, alice, "get {p} pid %z ; copy value({b}, data) {v} 3000 ; return %z"
              .format(p=p, b=b2, v=vma), achain)
    check(rep["end"]["outcome"] == "ok" and not rep.get("statuses"), rep)
    rep = cli(n2.ip, root, "get %s data %%v ; return %%v" % b2)
    check(bytes.fromhex(rep["rows"][0][0]["hex"]) == chunk, "the window lost alice's bytes")
    # Three rows into the window (VMA_IN, VMA_TAIL, VMA_EDGE; VMA_ARENA's
    # stays): a session block's part holds one, so three parts, more than
    # node 1's cluster.cont.max_pending of 1. The refusal names the limit
    # and the need, not continuations "held already"; nothing shipped.
    c1, y2 = cont_counts(n1), copy_w(n2)
    rep = cli(n1.ip, alice, "get {p} vmas[%k] %x ; copy offset(value({p}, vmas[%k]), 0) "
              "value({a}, data) 100 ; return %k".format(p=p, a=a), achain, want=1)
    st = memwin_status(rep)
    check(st["code"] == "E_LIMIT_PENDING" and st["message"] ==
          "not split at command 1: its rows need 3 continuations, more than "
          "cluster.cont.max_pending (1) a worker holds" and rep["end"]["outcome"] == "aborted",
          rep)
    z2 = copy_w(n2)
    check(moved(c1, cont_counts(n1)).get("cont_shipped") is None and
          z2["cont_memwin_rx"] == y2["cont_memwin_rx"] and
          z2["memory_window0"]["copies_in"] == y2["memory_window0"]["copies_in"],
          ("a part was shipped", y2, z2))


def copy_memwin_busy_scenario(c, copy_cfg):
    """A range of node 3's memory window is busy while node 1 READs it
    (docs/COPY.md "Busy ranges"; test builds: node 1's remote engine hangs
    at its first copy of 3000 bytes, a READ that never completes). A block
    on node 1 copies the window into node 1's value: node 3 ships the row
    back as a nested part naming its window and marks [4196, 7196) busy;
    node 1's READ hangs, node 3 gives the part up (the block ends aborted,
    node 1's value unchanged) and keeps the range busy through the pin
    grace (node 3's copy.timeout_ms). Meanwhile a block on node 3 writing
    into the range is EBUSY naming the range and node 1, nothing written
    (the window read back holds its old bytes), counted; an adjacent write
    and a read of the busy range work. Then 15 more such reads at once
    fill the table: a 17th fails EBUSY on node 3, not shipped
    (memwin_busy_full). After the graces all 16 are free and the same write
    works."""
    c.start_etcd()
    cfg1 = dict(copy_cfg, timeout_ms=60000, test_stall_len=3000)
    cfg3 = dict(copy_cfg, timeout_ms=30000, memory_windows=[{"name": "vm3", "bytes": 65536}])
    n1 = c.node(1, cfg_extra={"copy": cfg1})
    n3 = c.node(3, cfg_extra={"copy": cfg3})
    for n in (n1, n3):
        n.cfg["cluster"]["cont"] = {"timeout_ms": 2000}
        n.cfg.setdefault("delivery", {})["park_timeout_ms"] = 5000
        n.start()
    c.enter()
    for n in (n1, n3):
        for q in (1, 3):
            wait_for("node %d to see node %d" % (n.id, q),
                     lambda n=n, q=q: state_on(n, q) in ("up", "self"), timeout=60)
    wait_for("node 1 to attach node 3's memory window",
             lambda: (copy_w(n1)["peer_windows"] == 2 and copy_w(n1)["peer_memwins"] == 1)
             or None, timeout=60)
    wait_for("node 3 to attach node 1's arena",
             lambda: copy_w(n3)["peer_windows"] == 1 or None, timeout=60)
    t3 = copy_w(n3)
    w3, arena3 = t3["memory_window0"]["window"], t3["remote_window"]
    rnd = random.Random(2718)
    fill = bytes(rnd.getrandbits(8) for _ in range(4000))
    mine = bytes(rnd.getrandbits(8) for _ in range(100))
    a = mkfile_on(n1, 601, fill)
    a2 = mkfile_on(n1, 602, bytes(3000))
    b3 = mkfile_on(n3, 603, mine)
    r3 = mkfile_on(n3, 604, bytes(3000))
    p1 = memwin_process(lambda t: n1.drive(t, port=7301), w3, arena3)
    p3 = memwin_process(lambda t: n3.drive(t, port=7301), w3, arena3)
    vma1 = "value(%s, vmas[%du])" % (p1, VMA_IN)
    vma3 = "value(%s, vmas[%du])" % (p3, VMA_IN)
    # The window's [4096, 8096) from node 1's value (node 3 READs it).
    rep = n1.drive("get %s pid %%z ; copy offset(%s, 0) value(%s, data) 4000 ; return %%z" %
                   (p1, vma1, a), port=7301)
    check(rep["end"]["outcome"] == "ok" and not rep.get("statuses"), rep)
    v1, v3 = copy_w(n1), copy_w(n3)
    check(v3["memwin_busy"] == 0, v3)
    # Window [4196, 7196) into node 1's value: node 1's READ hangs.
    rep = n1.drive("get %s pid %%z ; copy value(%s, data) offset(%s, 100) 3000 ; return %%z" %
                   (p1, a2, vma1), port=7301)
    check(rep["end"]["outcome"] != "ok" and rep.get("statuses"), rep)
    check(data_of(n1, a2) == bytes(3000), "a copy that never completed wrote node 1's value")
    u1, u3 = copy_w(n1), copy_w(n3)
    check(u3["cont_nested"] - v3["cont_nested"] == 1 and
          u3["cont_pin_grace"] - v3["cont_pin_grace"] == 1 and
          u1["cont_read_parks"] - v1["cont_read_parks"] == 1 and
          u1["cont_reads"] == v1["cont_reads"], ("given up, READ parked", v1, v3, u1, u3))
    check(u3["memwin_busy"] == 1, ("node 3's range is busy", u3))
    # A write into the busy range on node 3: EBUSY, nothing written.
    write = ("copy offset(%s, 1000) value(%s, data) 100" % (vma3, b3))
    st = memwin_status(n3.drive(write, port=7301))
    check(st["code"] == "EBUSY" and st["message"] ==
          "copy: destination range 5096+100 of RmaWindow %s overlaps 4196+3000, which node 1 "
          "is reading; nothing was written" % w3, st)
    rep = n3.drive("copy value(%s, data) offset(%s, 100) 3000" % (r3, vma3), port=7301)
    check(rep["end"]["outcome"] == "ok", rep)
    check(data_of(n3, r3) == fill[100:3100], "the busy range's bytes changed")
    # Adjacent (window 7196..7296): written.
    rep = n3.drive("copy offset(%s, 3100) value(%s, data) 100" % (vma3, b3), port=7301)
    check(rep["end"]["outcome"] == "ok", rep)
    x3 = copy_w(n3)
    check(x3["memwin_busy_refused"] - u3["memwin_busy_refused"] == 1 and
          x3["memory_window0"]["busy_refused"] - u3["memory_window0"]["busy_refused"] == 1 and
          x3["memory_window0"]["copies_in"] - u3["memory_window0"]["copies_in"] == 1 and
          x3["memwin_busy"] == 1, ("refused once, the adjacent one written", u3, x3))
    # The table full: 15 more reads of the range hang at once (node 1's
    # engine stays stalled; node 1 parks 16 CONTs on READs at most), all 16
    # ranges busy; a 17th is not shipped unguarded: its copy fails EBUSY on
    # node 3. The graces then free all of them.
    f3 = copy_w(n3)
    reads = "get %s pid %%z ; copy value(%s, data) offset(%s, 100) 3000 ; return %%z" % (
        p1, a2, vma1)
    reps = [None] * 15

    def one(i):
        # A client each; waits longer than scppd_drive's 2 s (15 at once on
        # a loaded machine).
        reps[i] = n1.drive(reads, port=7301, client=200 + i, block=1,
                           extra=["--wait", "20000"])
    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(15)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    check(all(r is not None and r["end"]["outcome"] != "ok" for r in reps), reps)
    wait_for("node 3 to hold 16 busy ranges",
             lambda: copy_w(n3)["memwin_busy"] == 16 or None, timeout=60)
    g3 = copy_w(n3)
    check(g3["cont_nested"] - f3["cont_nested"] == 15, ("16 ranges busy", f3, g3))
    st = memwin_status(n1.drive(reads, port=7301))
    check(st["code"] == "EBUSY" and st["node"].startswith("@0.3.") and st["message"] ==
          "copy: RmaWindow %s range 4196+3000 cannot be guarded for another node's read: "
          "all 16 busy ranges taken; nothing was written" % w3, st)
    h3 = copy_w(n3)
    check(h3["memwin_busy_full"] - g3["memwin_busy_full"] == 1 and
          h3["cont_nested"] == g3["cont_nested"] and h3["memwin_busy"] == 16, (g3, h3))
    check(data_of(n1, a2) == bytes(3000), "node 1's value changed")
    # The grace over, the range is free and the same write works.
    wait_for("node 3 to free the 16 ranges", lambda: copy_w(n3)["memwin_busy"] == 0 or None,
             timeout=180)
    rep = n3.drive(write, port=7301)
    check(rep["end"]["outcome"] == "ok" and not rep.get("statuses"), rep)
    rep = n3.drive("copy value(%s, data) offset(%s, 100) 3000" % (r3, vma3), port=7301)
    check(rep["end"]["outcome"] == "ok", rep)
    check(data_of(n3, r3) == fill[100:1000] + mine + fill[1100:3100],
          "the window after the write")


def t_copy_memwin_busy(c):
    """Busy ranges of a memory window over libfabric shm (test builds)."""
    copy_memwin_busy_scenario(c, COPY_SHM)


def t_copy_memwin_busy_tcp(c):
    """The same over libfabric tcp."""
    copy_memwin_busy_scenario(c, COPY_TCP)


def t_copy_memwin(c):
    """Another node's memory window over libfabric shm."""
    copy_memwin_scenario(c, COPY_SHM)


def t_copy_memwin_tcp(c):
    """The same over libfabric tcp."""
    copy_memwin_scenario(c, COPY_TCP)


def t_copy_remote(c):
    """A remote copy over libfabric shm, and forged extensions refused."""
    copy_remote_scenario(c, COPY_SHM)


def t_copy_remote_tcp(c):
    """The same over libfabric tcp."""
    copy_remote_scenario(c, COPY_TCP)


TESTS = {
    "fs_forward": t_fs_forward,
    "fs_forward_sessions": t_fs_forward_sessions,
    "static": t_static,
    "etcd_membership": t_etcd_membership,
    "etcd_failures": t_etcd_failures,
    "bad_config": t_bad_config,
    "forward_static": t_forward_static,
    "forward_etcd": t_forward_etcd,
    "forward_hops": t_forward_hops,
    "forward_sessions": t_forward_sessions,
    "session_restart": t_session_restart,
    "session_steer": t_session_steer,
    "forward_long_chain": t_forward_long_chain,
    "cont_owner": t_cont_owner,
    "cont_walk_static": t_cont_walk_static,
    "cont_sessions": t_cont_sessions,
    "cont_walk_etcd": t_cont_walk_etcd,
    "cont_kill": t_cont_kill,
    "cont_kill_etcd": t_cont_kill_etcd,
    "cont_retransmit": t_cont_retransmit,
    "cont_limits": t_cont_limits,
    "cont_two_shards": t_cont_two_shards,
    "session_two_shards": t_session_two_shards,
    "copy_peers": t_copy_peers,
    "copy_peers_tcp": t_copy_peers_tcp,
    "copy_remote": t_copy_remote,
    "copy_memwin": t_copy_memwin,
    "copy_memwin_sessions": t_copy_memwin_sessions,
    "copy_memwin_tcp": t_copy_memwin_tcp,
    "copy_remote_tcp": t_copy_remote_tcp,
    "copy_remote_stall": t_copy_remote_stall,
    "copy_memwin_busy": t_copy_memwin_busy,
    "copy_memwin_busy_tcp": t_copy_memwin_busy_tcp,
    "copy_third_party": t_copy_third_party,
    "copy_remote_sessions": t_copy_remote_sessions,
    "copy_third_party_tcp": t_copy_third_party_tcp,
}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in TESTS:
        print("usage: run_cluster.py {%s}" % ",".join(TESTS))
        return 2
    if os.geteuid() != 0:
        print("SKIP: cluster tests need root (network namespaces, tap devices)")
        return 77
    rc = 1
    with Cluster(sys.argv[1]) as c:
        try:
            TESTS[sys.argv[1]](c)
            c.leave()
            for n in c.nodes:
                if n.alive():
                    code = n.stop()
                    check(code == 0, "node %d did not stop cleanly: %s" % (n.id, code))
            print("PASS cluster", sys.argv[1])
            rc = 0
        except (ClusterFailure, OSError, subprocess.SubprocessError, ValueError, KeyError,
                TypeError) as e:
            print("FAIL cluster %s: %s: %s" % (sys.argv[1], type(e).__name__, e))
            traceback.print_exc(limit=4, file=sys.stdout)
            print(c.logs())
    return rc


if __name__ == "__main__":
    sys.exit(main())
