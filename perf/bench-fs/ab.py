#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Paired A/B of two scpp-fs builds on one node (perf/RESULTS.md "scpp-fs").

    perf/bench-fs/ab.py BEFORE_BINARY [--build build] [--rounds 4] [--ops 1500]

One scppd (net_tap in a network namespace, busy polling, the node's default
eval limits) and, per round, a mount of BEFORE_BINARY then one of the
build's scpp-fs (same volume options, 4 FUSE threads), each running the
same two loops: `--ops` pwrite()s of 4 KiB at scattered offsets of an open
1 MiB file, and `--ops` open(O_CREAT|O_EXCL)+close+unlink pairs. The two
mounts of a round run back to back, so their ratio (after / before) pairs
out the load that drifts between rounds on a shared machine. One JSON line
per round and a summary line with the median paired ratio per loop. Needs
root and /dev/fuse; cleans up mounts, processes (by PID) and the namespace.
"""

import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "fs"))


def arg(name, default):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def write_4k(m, n):
    fd = os.open(m.p("f"), os.O_CREAT | os.O_RDWR, 0o644)
    os.pwrite(fd, b"x" * (1 << 20), 0)
    t = time.time()
    for i in range(n):
        os.pwrite(fd, b"y" * 4096, (i * 7919 % 256) * 4096)
    t = time.time() - t
    os.close(fd)
    os.unlink(m.p("f"))
    return n / t


def create_unlink(m, n):
    t = time.time()
    for i in range(n):
        os.close(os.open(m.p("c%d" % i), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        os.unlink(m.p("c%d" % i))
    return n / (time.time() - t)


def main():
    if len(sys.argv) < 2 or sys.argv[1].startswith("-"):
        print(__doc__)
        return 2
    build = os.path.abspath(arg("--build", "build"))
    rounds, nops = int(arg("--rounds", "4")), int(arg("--ops", "1500"))
    os.environ["SCPPD"] = os.path.join(build, "app/scppd/scppd")
    os.environ["SCPP_SOURCE_ROOT"] = ROOT
    import run_test as rt
    import run_fs
    run_fs.private_mount_namespace()
    bins = (("before", os.path.abspath(sys.argv[1])),
            ("after", os.path.join(build, "app/scpp-fs/scpp-fs")))
    loops = (("write_4k", write_4k), ("create_unlink", create_unlink))
    d = rt.Daemon("fsab", cfg_extra={"store": run_fs.STORE, "eval": run_fs.EVAL})
    d.cfg["eal"]["memory_mb"] = run_fs.EAL_MB
    d.cfg["idle"] = {"enabled": False}
    res = {}
    try:
        d.start()
        for r in range(rounds):
            for name, binary in bins:
                m = run_fs.Mount("ab", ("volume=ab%d%s" % (r, name),))
                m.args[0] = binary
                try:
                    m.start()
                    for op, fn in loops:
                        res.setdefault((op, name), []).append(fn(m, nops))
                    rc = m.unmount()
                    if rc != 0:
                        raise RuntimeError("%s: scpp-fs exit %s" % (name, rc))
                finally:
                    m.cleanup()
            print(json.dumps({"bench": "fs-ab", "round": r, "load_avg": os.getloadavg()[0],
                              "ops_per_s": {"%s/%s" % k: round(v[-1], 1)
                                            for k, v in res.items()}}), flush=True)
    finally:
        d.cleanup()
    summary = {"bench": "fs-ab-summary", "rounds": rounds, "ops": nops, "before": bins[0][1],
               "load_avg": os.getloadavg(),
               "commit": os.popen("git -C %s rev-parse --short HEAD" % ROOT).read().strip()}
    for op, _fn in loops:
        b, a = res[(op, "before")], res[(op, "after")]
        pr = [y / x for x, y in zip(b, a)]
        summary[op] = {"before": [round(x) for x in b], "after": [round(x) for x in a],
                       "paired": [round(x, 2) for x in pr],
                       "median_paired": round(statistics.median(pr), 2)}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
