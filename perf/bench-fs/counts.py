#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""scpp-fs costs per operation as counts, not time (perf/RESULTS.md "scpp-fs").

    perf/bench-fs/counts.py [--build build] [--compare SCPP_FS_BINARY] [--ops N] [--no-strace]
                            [--only OP[,OP...]]

One scppd (net_tap in a network namespace, busy polling, the node's default
eval limits, as run.py) and, per operation and per scpp-fs binary (the
build's, and with --compare another one, e.g. the commit before a change),
a mount that does only that operation N times (its setup -- the files a
stat or a read needs, the 10 000 names a listing lists -- done first through
a mount of its own). From the counting mount's exit statistics: blocks sent
per operation, FUSE requests per operation, and, unless --no-strace, the
daemon's system calls per operation (`strace -f -c` attached for the loop
only: sendto/sendmmsg, recvfrom/recvmmsg, poll, the /dev/fuse reads and
writes). These do not depend on the machine's load, so two builds compare
exactly on a shared machine. Prints one JSON line per (binary, operation)
and a summary line (--only: just those operations). Needs root, /dev/fuse
and strace.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "fs"))


def arg(name, default):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def setup_files(m, op, n):
    """What the operation needs before it is counted (a mount of its own)."""
    if op == "stat":
        os.mkdir(m.p("s"))
        for i in range(100):
            open(m.p("s", "f%03d" % i), "w").close()
    elif op == "readdir_10000":
        os.mkdir(m.p("big"))
        for i in range(10000):
            open(m.p("big", "entry-%06u" % i), "w").close()
    elif op in ("write_4k_rand", "read_4k_rand"):
        with open(m.p("rand"), "wb") as f:
            for _ in range(64):
                f.write(os.urandom(1 << 20))
    elif op == "read_1m_seq":
        with open(m.p("seq"), "wb") as f:
            for _ in range(n):
                f.write(os.urandom(1 << 20))


def run_op(m, op, n):
    """The operation n times (readdir: one listing of 10 000; 1 MiB ops: n MiB)."""
    if op == "stat":
        for i in range(n):
            os.stat(m.p("s", "f%03d" % (i % 100)))
    elif op == "create_unlink":
        for i in range(n):
            p = m.p("c%u" % i)
            os.close(os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            os.unlink(p)
    elif op == "readdir_10000":
        k = len(os.listdir(m.p("big")))
        assert k == 10000, k
        return 1
    elif op in ("write_4k_rand", "read_4k_rand"):
        fd = os.open(m.p("rand"), os.O_RDWR)
        buf = os.urandom(4096)
        x = 12345
        for _ in range(n):
            x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
            off = (x >> 20) % 16384 * 4096
            if op == "write_4k_rand":
                os.pwrite(fd, buf, off)
            else:
                assert len(os.pread(fd, 4096, off)) == 4096
        os.close(fd)
    elif op == "write_1m_seq":
        buf = os.urandom(1 << 20)
        fd = os.open(m.p("seq"), os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
        for _ in range(n):
            os.write(fd, buf)
        os.close(fd)
    elif op == "read_1m_seq":
        fd = os.open(m.p("seq"), os.O_RDONLY)
        while os.read(fd, 1 << 20):
            pass
        os.close(fd)
    return n


def strace_counts(path):
    """{syscall: calls} from `strace -c` output."""
    out = {}
    with open(path) as f:
        for line in f:
            w = line.split()
            if len(w) >= 5 and re.match(r"^[0-9.]+$", w[0]) and w[-1] not in ("total",):
                try:
                    out[w[-1]] = int(w[3])
                except ValueError:
                    pass
    return out


def main():
    build = os.path.abspath(arg("--build", "build"))
    before = arg("--compare", None)
    nops = int(arg("--ops", "2000"))
    use_strace = "--no-strace" not in sys.argv
    os.environ["SCPPD"] = os.path.join(build, "app/scppd/scppd")
    os.environ["SCPP_FS"] = os.path.join(build, "app/scpp-fs/scpp-fs")
    os.environ["SCPP_SOURCE_ROOT"] = ROOT
    import run_fs
    import run_test as rt
    run_fs.private_mount_namespace()
    bins = [("scpp-fs", os.environ["SCPP_FS"])]
    if before:
        bins.insert(0, ("scpp-fs-before", os.path.abspath(before)))
    ops = ["stat", "create_unlink", "readdir_10000", "write_4k_rand", "read_4k_rand",
           "write_1m_seq", "read_1m_seq"]
    if "--only" in sys.argv:
        ops = [o for o in arg("--only", "").split(",") if o in ops]
    d = rt.Daemon("fscount", cfg_extra={"store": run_fs.STORE, "eval": run_fs.EVAL})
    d.cfg["eal"]["memory_mb"] = run_fs.EAL_MB
    d.cfg["idle"] = {"enabled": False}
    d.cfg["ports"][0]["mtu"] = 1500
    rows = []
    try:
        d.start()
        for label, binary in bins:
            for op in ops:
                n = 32 if op.endswith("1m_seq") else nops
                vol = "c-%s-%s" % (label, op)
                if op not in ("create_unlink", "write_1m_seq"):
                    s = run_fs.Mount("cs", ("volume=" + vol,))
                    s.args[0] = binary
                    s.start()
                    setup_files(s, op, n)
                    if s.unmount() != 0:
                        raise RuntimeError("setup mount of %s: %s" % (op, s.logtext()))
                    s.cleanup()
                subprocess.run(["sh", "-c", "echo 3 > /proc/sys/vm/drop_caches"])
                m = run_fs.Mount("cc", ("volume=" + vol,))
                m.args[0] = binary
                m.start()
                st_file = m.dir + ".strace"
                tr = None
                if use_strace:
                    tr = subprocess.Popen(["strace", "-f", "-c", "-o", st_file, "-p",
                                           str(m.proc.pid)], stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL)
                    time.sleep(1.0)  # attached to every thread
                k = run_op(m, op, n)
                sys_calls = {}
                if tr is not None:
                    tr.send_signal(signal.SIGINT)
                    tr.wait(timeout=60)
                    sys_calls = strace_counts(st_file)
                    os.unlink(st_file)
                if m.unmount() != 0:
                    raise RuntimeError("mount of %s: %s" % (op, m.logtext()))
                st = run_fs.fs_stats(m)
                m.cleanup()
                blocks = sum(v["blocks"] for v in st.values() if isinstance(v, dict))
                reqs = sum(v["requests"] for v in st.values() if isinstance(v, dict))
                net = sum(sys_calls.get(c, 0) for c in ("sendto", "sendmmsg", "sendmsg",
                                                        "recvfrom", "recvmmsg", "recvmsg",
                                                        "poll", "ppoll"))
                row = {"bench": "fs-counts", "target": label, "op": op, "ops": k,
                       "requests": {o: v["requests"] for o, v in st.items()
                                    if isinstance(v, dict) and v.get("requests")},
                       "blocks_per_op": round(blocks / k, 3),
                       "fuse_requests_per_op": round(reqs / k, 3),
                       "blocks": {o: v["blocks"] for o, v in st.items()
                                  if isinstance(v, dict) and v["blocks"]},
                       "net_syscalls_per_op": round(net / k, 2) if sys_calls else None,
                       "syscalls_per_op": round(sum(sys_calls.values()) / k, 2)
                       if sys_calls else None,
                       "syscalls": sys_calls,
                       "stats": {x: st[x] for x in ("send_calls", "recv_calls", "dgrams_sent",
                                                    "dgrams_recv", "batches", "neg_hits")
                                 if x in st}}
                print(json.dumps(row), flush=True)
                rows.append(row)
    finally:
        d.cleanup()
    summary = {"bench": "fs-counts-summary", "ops_each": nops, "load_avg": os.getloadavg(),
               "commit": subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                        capture_output=True, text=True).stdout.strip(),
               "table": {}}
    for r in rows:
        summary["table"].setdefault(r["op"], {})[r["target"]] = {
            "blocks": r["blocks_per_op"], "requests": r["fuse_requests_per_op"],
            "syscalls": r["syscalls_per_op"], "net_syscalls": r["net_syscalls_per_op"]}
    print(json.dumps(summary))


if __name__ == "__main__":
    sys.exit(main())
