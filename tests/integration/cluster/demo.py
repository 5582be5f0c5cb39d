#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""The cluster demo (scripts/cluster-demo.sh): etcd and three scppd nodes in
one network namespace (harness.py), `scpp cluster` on each, a block sent to
the wrong node and forwarded to its owner (which answers, and the client
steers its next block there), the path walk /a/b/c/d over three nodes as
one block (continuations, docs/CLUSTER.md §8), the cluster-wide query
(every node's users of uid 1000 in one block), a node killed and seen
unreachable everywhere, and the walk then naming it.

    demo.py [--wait]     --wait: keep the cluster up until Ctrl-C
"""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SCPP_CLI, Cluster, ClusterFailure, wait_for  # noqa: E402
from run_cluster import WALK, walk_tree  # noqa: E402


def say(text):
    print("\n== " + text, flush=True)


def shell(c, args, show=None):
    """Run the scpp CLI inside the namespace, echoing it as typed."""
    print("$ " + (show or "scpp " + " ".join("'%s'" % a if " " in a else a for a in args)),
          flush=True)
    r = subprocess.run([SCPP_CLI] + args, capture_output=True, text=True, timeout=30)
    sys.stdout.write(r.stdout)
    sys.stdout.write(r.stderr)
    sys.stdout.flush()
    return r


def main():
    wait = "--wait" in sys.argv[1:]
    with Cluster("demo", ttl_s=3, poll_ms=250, timeout_ms=500) as c:
        try:
            say("etcd on %s (namespace %s, key prefix %s)" % ("198.18.0.1:2379", c.ns,
                                                              c.etcd_prefix))
            c.start_etcd()
            nodes = [c.node(i) for i in (1, 2, 3)]
            for n in nodes:  # scans cover every node (off by default, docs/CONFIG.md)
                n.cfg["cluster"]["cont"] = {"fan_out": True}
            for n in nodes:
                say("starting node %d \"%s\" at %s:7300" % (n.id, n.name, n.ip))
                n.start()
            c.enter()
            for n in nodes:
                for p in nodes:
                    wait_for("node %d to see node %d" % (n.id, p.id),
                             lambda n=n, p=p: (n.peer(p.id) or {}).get("state") in
                             ("up", "self"), timeout=20)
            for n in nodes:
                say("the map as node %d has it" % n.id)
                shell(c, ["cluster", "--telemetry", n.prefix])
            say("the registry itself, read from etcd")
            shell(c, ["cluster", "--etcd", "http://198.18.0.1:2379", "--prefix", c.etcd_prefix])

            say("a user created on node 2, asked for on node 1")
            r = shell(c, ["--server", nodes[1].ip + ":7300", "--json", "exec",
                          'create %u User ; set %u uid 1000u ; set %u name "alice" ; '
                          'set %u gid 1000u ; return %u'])
            try:
                cell = json.loads(r.stdout.splitlines()[0])["rows"][0][0]
                oid = cell["oid"] if isinstance(cell, dict) else cell
            except (ValueError, IndexError, KeyError):
                oid = "@0.2.0.1.1"
            shell(c, ["--server", nodes[0].ip + ":7300", "--verbose", "exec",
                      "get %s name %%n" % oid, "get %s uid %%u" % oid])
            print("(node 1 forwarded the first block to node 2, which answered from "
                  "%s:7301; the client sent the second straight there: 'steered 1')"
                  % nodes[1].ip)
            f = nodes[0].peer(2) or {}
            print("node 1, /scpp/cluster,2: forwarded %s; node 2, /scpp/cluster,1: "
                  "forwarded_in %s" % (f.get("forwarded"),
                                       (nodes[1].peer(1) or {}).get("forwarded_in")))

            say("the path walk /a/b/c/d as one block: the root and c on node 1, a and d on "
                "node 2, b on node 3")
            o = walk_tree(nodes)
            for k in ("r", "a", "b", "c", "d"):
                print("  %s  %s" % ({"r": "/"}.get(k, k), o[k]))
            walk = WALK.format(r=o["r"])
            before = {k: nodes[0].stats()[k] for k in ("cont_shipped", "cont_answered",
                                                        "cont_local", "cont_merged")}
            shell(c, ["--server", nodes[0].ip + ":7300", "exec", walk])
            after = nodes[0].stats()
            print("(node 1 split it: %s CONTs shipped, %s answered, %s part run itself, "
                  "%s reply merged; nodes 2 and 3 sent the rows that go on elsewhere back "
                  "as rest groups)" % tuple(after[k] - before[k] for k in before))

            say("the cluster-wide query: every node's users of uid 1000, one block to node 1")
            for n in nodes[1:]:
                shell(c, ["--server", n.ip + ":7300", "exec",
                          'create %%u User ; set %%u uid 1000u ; set %%u name "user-of-n%d" ; '
                          'set %%u gid 1000u ; return %%u' % n.id])
            shell(c, ["--server", nodes[0].ip + ":7300", "exec",
                      "get %p uid 1000u ; get %p name %n ; return %p %n"])
            print("(node 1 scanned its own shard and sent the scan to nodes 2 and 3 as EVERY "
                  "continuations: cont_fan_out %s)" % nodes[0].stats()["cont_fan_out"])

            say("node 3 killed (SIGKILL, pid %d): its lease lapses" % nodes[2].proc.pid)
            nodes[2].kill()
            wait_for("node 1 to see node 3 unreachable",
                     lambda: (nodes[0].peer(3) or {}).get("state") == "unreachable",
                     timeout=c.ttl_s + 15)
            shell(c, ["cluster", "--telemetry", nodes[0].prefix])
            shell(c, ["--server", nodes[0].ip + ":7300", "exec", "get @0.3.0.1.1 name %n"])

            say("the walk again: the part for node 3 cannot run, and the reply says so")
            shell(c, ["--server", nodes[0].ip + ":7300", "exec", walk])
            if wait:
                print("\nThe cluster is up (namespace %s). Ctrl-C stops it.\n"
                      "  ip netns exec %s %s cluster --telemetry %s" %
                      (c.ns, c.ns, SCPP_CLI, nodes[0].prefix), flush=True)
                while True:
                    time.sleep(1)
        except ClusterFailure as e:
            print("demo failed: %s\n%s" % (e, c.logs()))
            return 1
        except KeyboardInterrupt:
            pass
    print("\n== stopped: nodes and etcd ended by PID, namespace removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
