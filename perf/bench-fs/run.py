#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""scpp-fs benchmark: scpp-bench-fs on three targets in one run (perf/RESULTS.md).

    perf/bench-fs/run.py [--build build] [--quick] [--compare SCPP_FS_BINARY] [--opts O,...]
                         [--rounds N]

1. tmpfs: a directory in /dev/shm, no FUSE (the kernel's own file system);
2. passthrough: libfuse's passthrough_ll example (compiled from the copy the
   libfuse3-dev package installs, default options: 1 s caches, multithreaded)
   over another /dev/shm directory;
3. scpp-fs: a mount of a fresh volume on a real scppd (net_tap in a network
   namespace, one worker busy polling, --no-huge, the node's default eval
   limits), default options (4 FUSE threads, each with its own client);
4. scpp-fs-1t: the same with -s (one FUSE thread, one block in flight);
5. with --compare BIN: scpp-fs-before, BIN (another build of scpp-fs, e.g.
   the commit before a change) mounted the same way, run just before
   scpp-fs, so that a change is measured against its predecessor in the
   same conditions;
6. with --opts O,...: scpp-fs-opts, the default mount with -o O,...
   (e.g. writeback_cache).

Prints every JSON line of scpp-bench-fs, then one summary JSON line with the
ratios scpp-fs / passthrough and scpp-fs / tmpfs per operation. --rounds N
runs all of it N times in a row: each ratio is then paired (target / baseline
within one round, which cancels the load drifting between rounds on a shared
machine) and the summary gives the median over rounds, of the values and of
the paired ratios (vs_before: scpp-fs / scpp-fs-before). Needs root
and /dev/fuse. Cleans up mounts, processes (by PID) and the namespace.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "fs"))


def main():
    build = "build"
    quick = "--quick" in sys.argv
    if "--build" in sys.argv:
        build = sys.argv[sys.argv.index("--build") + 1]
    before = None
    if "--compare" in sys.argv:
        before = os.path.abspath(sys.argv[sys.argv.index("--compare") + 1])
    more = ()
    rounds = 1
    if "--rounds" in sys.argv:
        rounds = int(sys.argv[sys.argv.index("--rounds") + 1])
    if "--opts" in sys.argv:
        more = tuple(sys.argv[sys.argv.index("--opts") + 1].split(","))
    build = os.path.abspath(build)
    os.environ["SCPPD"] = os.path.join(build, "app/scppd/scppd")
    os.environ["SCPP_FS"] = os.path.join(build, "app/scpp-fs/scpp-fs")
    os.environ["SCPP_SOURCE_ROOT"] = ROOT
    import run_fs
    # Every mount of the run (passthrough_ll's too) in a mount namespace of
    # its own: no other process's namespace copy can pin it (run_fs.py).
    run_fs.private_mount_namespace()
    bench = os.path.join(build, "perf/bench-fs/scpp-bench-fs")
    pt = os.path.join(build, "perf/bench-fs/passthrough_ll")
    src = "/usr/share/doc/libfuse3-dev/examples/passthrough_ll.c"
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "fuse3"], capture_output=True,
                           text=True, check=True).stdout.split()
    subprocess.run(["cc", "-O2", "-w", src, "-o", pt] + flags, check=True)

    lines = []
    rnd = [0]

    def run_bench(target, path):
        args = [bench, path, "--label", target] + (["--quick"] if quick else [])
        r = subprocess.run(args, capture_output=True, text=True, timeout=1800)
        if r.returncode != 0:
            raise RuntimeError("%s: %s" % (target, r.stderr))
        for line in r.stdout.splitlines():
            x = json.loads(line)
            x["round"] = rnd[0]
            print(json.dumps(x), flush=True)
            lines.append(x)

    for rnd[0] in range(rounds):
        one_round(run_bench, pt, before, more)
    summarize(lines, quick, before, more, rounds)


def one_round(run_bench, pt, before, more):
    import run_test as rt
    import run_fs
    shm = tempfile.mkdtemp(prefix="scppfs-bench-", dir="/dev/shm")
    ptm = tempfile.mkdtemp(prefix="scppfs-pt-")
    pt_proc = None
    try:
        os.mkdir(os.path.join(shm, "tmpfs"))
        os.mkdir(os.path.join(shm, "pt-src"))
        run_bench("tmpfs", os.path.join(shm, "tmpfs"))
        pt_proc = subprocess.Popen([pt, "-f", "-o", "source=" + os.path.join(shm, "pt-src"),
                                    ptm], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        run_fs.wait_for(lambda: run_fs.mounted(ptm), "passthrough_ll did not mount")
        run_bench("passthrough", ptm)
        subprocess.run(["fusermount3", "-u", ptm], check=True)
        pt_proc.wait(timeout=120)  # bounded; a loaded machine needs more than seconds
        # scpp-fs on a fresh node (net_tap's largest frame is 1 522 bytes:
        # no jumbo frames here).
        targets = [("scpp-fs", 1500, (), ()), ("scpp-fs-1t", 1500, (), ("-s",))]
        if before is not None:
            targets.insert(0, ("scpp-fs-before", 1500, (), ()))
        if more:
            targets.append(("scpp-fs-opts", 1500, more, ()))
        for target, mtu, opts, extra in targets:
            d = rt.Daemon("fsbench", cfg_extra={"store": run_fs.STORE, "eval": run_fs.EVAL})
            d.cfg["eal"]["memory_mb"] = run_fs.EAL_MB
            d.cfg["idle"] = {"enabled": False}  # busy polling, as the perf suite runs scppd
            d.cfg["ports"][0]["mtu"] = mtu
            m = None
            try:
                d.start()
                m = run_fs.Mount("bench", ("volume=bench",) + opts, extra)
                if target == "scpp-fs-before":
                    m.args[0] = before
                m.start()
                run_bench(target, m.dir)
                m.unmount()
                # The blocks the mount sent, per kind of operation (fsd_stats_print):
                # with the ops/s above, the round trips per system call.
                st = {"bench": "fs-blocks", "target": target, "stats": run_fs.fs_stats(m)}
                print(json.dumps(st), flush=True)
            finally:
                if m is not None:
                    m.cleanup()
                d.cleanup()
    finally:
        if pt_proc is not None and pt_proc.poll() is None:
            subprocess.run(["fusermount3", "-uz", ptm], capture_output=True)
            pt_proc.kill()
            pt_proc.wait(timeout=10)
        shutil.rmtree(ptm, ignore_errors=True)
        shutil.rmtree(shm, ignore_errors=True)

def summarize(lines, quick, before, more, rounds):
    by = {(x["round"], x["target"], x["op"]): x for x in lines}
    summary = {"bench": "fs-summary", "quick": quick, "ops": {}, "compare": before,
               "opts": ",".join(more), "rounds": rounds,
               "load_avg": os.getloadavg(),
               "commit": subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                        capture_output=True, text=True).stdout.strip()}
    keys = sorted({(t, op) for (_r, t, op) in by if t.startswith("scpp-fs")})
    for target, op in keys:
        vals, vs_pt, vs_tmp, vs_before = [], [], [], []
        for r in range(rounds):
            x = by.get((r, target, op))
            if x is None:
                continue
            key = "mib_per_s" if x["bytes"] else "ops_per_s"
            vals.append(x[key])
            vs_pt.append(x[key] / by[(r, "passthrough", op)][key])
            vs_tmp.append(x[key] / by[(r, "tmpfs", op)][key])
            b = by.get((r, "scpp-fs-before", op))
            if b is not None and target != "scpp-fs-before":
                vs_before.append(x[key] / b[key])
        cell = {"scpp_fs": statistics.median(vals), "unit": key,
                "passthrough": statistics.median(
                    [by[(r, "passthrough", op)][key] for r in range(rounds)]),
                "tmpfs": statistics.median([by[(r, "tmpfs", op)][key] for r in range(rounds)]),
                "vs_passthrough": round(statistics.median(vs_pt), 3),
                "vs_passthrough_rounds": [round(v, 3) for v in vs_pt],
                "vs_tmpfs": round(statistics.median(vs_tmp), 4)}
        if vs_before:
            cell["vs_before"] = round(statistics.median(vs_before), 3)
            cell["vs_before_rounds"] = [round(v, 3) for v in vs_before]
        summary["ops"].setdefault(target, {})[op] = cell
    print(json.dumps(summary))


if __name__ == "__main__":
    sys.exit(main())
