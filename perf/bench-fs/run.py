#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""scpp-fs benchmark: scpp-bench-fs on several targets in one run (perf/RESULTS.md).

    perf/bench-fs/run.py [--build build] [--quick] [--compare SCPP_FS_BINARY] [--opts O,...]
                         [--rounds N] [--port PORT] [--also PORT[@MTU],...] [--mtu N]
                         [--no-huge]

1. tmpfs: a directory in /dev/shm, no FUSE (the kernel's own file system);
2. passthrough: libfuse's passthrough_ll example (compiled from the copy the
   libfuse3-dev package installs, default options: 1 s caches, multithreaded)
   over another /dev/shm directory;
3. scpp-fs: a mount of a fresh volume on a real scppd (in a network
   namespace, one worker busy polling, on real 2 MiB hugepages when enough
   are free for its EAL memory, else --no-huge: hugepages(), the node's
   answer in the fs-node line's "hugepages"; --no-huge forces the
   fallback; its hugepage files removed on exit and failure), the node's default eval
   limits), default options (4 FUSE threads, each with its own client). The
   node's port is --port (tests/integration/run_test.py PORTS; default
   af_packet: a veth pair in the namespace, read through af_packet's
   PACKET_MMAP ring; tap: net_tap; af_xdp: an AF_XDP socket on the veth).
   On af_packet the node runs jumbo frames (--mtu, default 9000: both veth
   ends and the port at that MTU, the ring and mbufs sized for it,
   run_test.py Daemon(mtu=)) and the mount sends datagrams of MTU - 28
   (-o scpp_dgram); --mtu 1500 runs it as before;
4. scpp-fs-1t: the same with -s (one FUSE thread, one block in flight);
5. with --compare BIN: scpp-fs-before, BIN (another build of scpp-fs, e.g.
   the commit before a change) mounted the same way, run just before
   scpp-fs, so that a change is measured against its predecessor in the
   same conditions;
6. with --opts O,...: scpp-fs-opts, the default mount with -o O,...
   (e.g. writeback_cache);
7. per port of --also (default: af_packet@1500,tap; "" for none):
   scpp-fs-PORT (tap, afpacket, afxdp; PORT@MTU: at that MTU,
   scpp-fs-afpacket1500), the default mount on a node with that port
   instead: af_packet@1500 is the same node without jumbo frames.

Prints every JSON line of scpp-bench-fs, then one summary JSON line with the
ratios scpp-fs / passthrough and scpp-fs / tmpfs per operation (and, for the
other scpp-fs targets, vs_scpp_fs: target / scpp-fs). Per scpp-fs target
also an fs-blocks line (the mount's exit stats), an fs-node line (what the
node's worker spent: an empty poll of its port, measured over 1 s idle, and
the answering turns per frame over the run) and an fs-frames line (a 64 MiB
sequential write and read through the mount with the worker's busy time per
frame: what the port costs where frames are the work), and an fs-dgram
line (the port, its MTU, the mount's -o scpp_dgram and the payload bytes
per datagram both ways, from the mount's exit stats). --rounds N runs all
of it N times in a row: each ratio is then paired (target / baseline
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
import time

# The port of the node every scpp-fs target but the --also ones runs on
# (tests/integration/run_test.py PORTS), and the ports of the extra targets
# scpp-fs-PORT (underscores dropped: scpp-fs-afpacket).
PORT = "af_packet"
ALSO = ("af_packet@1500", "tap")
# The MTU of af_packet targets (jumbo frames: docs/OPERATIONS.md §2 "MTU").
MTU = 9000

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
    port = PORT
    if "--port" in sys.argv:
        port = sys.argv[sys.argv.index("--port") + 1]
    also = ALSO
    mtu = MTU
    if "--mtu" in sys.argv:
        mtu = int(sys.argv[sys.argv.index("--mtu") + 1])
    if "--also" in sys.argv:
        also = tuple(p for p in sys.argv[sys.argv.index("--also") + 1].split(",") if p)
    HUGE[0] = "--no-huge" not in sys.argv
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
        one_round(run_bench, pt, before, more, port, also, mtu)
    summarize(lines, quick, before, more, rounds, port, also, mtu)


def target_port(spec, mtu):
    """(port, MTU) of a --also entry PORT or PORT@MTU: af_packet takes
    @p mtu unless told, the other ports 1500 (no jumbo frames there)."""
    p, _, m = spec.partition("@")
    return p, int(m) if m else (mtu if p == "af_packet" else 1500)


def one_round(run_bench, pt, before, more, port, also, mtu):
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
        # scpp-fs on a fresh node: jumbo frames on af_packet (the largest
        # frame of net_tap is 1 522 bytes: 1 500 there).
        pm = target_port(port, mtu)
        targets = [("scpp-fs", pm, (), ()), ("scpp-fs-1t", pm, (), ("-s",))]
        if before is not None:
            targets.insert(0, ("scpp-fs-before", pm, (), ()))
        if more:
            targets.append(("scpp-fs-opts", pm, more, ()))
        for a in also:
            ap = target_port(a, mtu)
            targets.append(("scpp-fs-" + a.replace("_", "").replace("@", ""), ap, (), ()))
        for target, (p, p_mtu), opts, extra in targets:
            jumbo = p_mtu > 1500
            d = rt.Daemon("fsbench", cfg_extra={"store": run_fs.STORE, "eval": run_fs.EVAL},
                          port=p, mtu=p_mtu if jumbo else None)
            # Jumbo: 9 KiB mbufs and reassembly fragments (run_fs.py fs_jumbo).
            d.cfg["eal"]["memory_mb"] = run_fs.EAL_MB + (512 if jumbo else 0)
            d.cfg["idle"] = {"enabled": False}  # busy polling, as the perf suite runs scppd
            huge = HUGE[0] and hugepages(d.cfg["eal"]["memory_mb"])
            d.cfg["eal"]["hugepages"] = "on" if huge else "off"
            d.cfg["ports"][0]["mtu"] = p_mtu
            dgram = ("scpp_dgram=%d" % (p_mtu - 28),) if jumbo else ()
            m = None
            try:
                d.start()
                m = run_fs.Mount("bench", ("volume=bench",) + dgram + opts, extra)
                if target == "scpp-fs-before":
                    m.args[0] = before
                m.start()
                idle = node_sample(d)
                time.sleep(IDLE_S)
                before_bench = node_sample(d)
                run_bench(target, m.dir)
                after = node_sample(d)
                node = node_line(target, p, idle, before_bench, after)
                node["hugepages"] = d.telemetry("/scpp/health")["hugepages"]
                if node["hugepages"] != ("yes" if huge else "no"):
                    raise RuntimeError("%s: node hugepages %r, asked %s" %
                                       (target, node["hugepages"], huge))
                frames = seq_probe(d, m, node["idle_turn_ns"])
                m.unmount()
                # The blocks the mount sent, per kind of operation (fsd_stats_print):
                # with the ops/s above, the round trips per system call.
                st = {"bench": "fs-blocks", "target": target, "stats": run_fs.fs_stats(m)}
                print(json.dumps(st), flush=True)
                fst = st["stats"]
                print(json.dumps({
                    "bench": "fs-dgram", "target": target, "port": p, "mtu": p_mtu,
                    "scpp_dgram": fst.get("dgram"),
                    "bytes_per_dgram_sent": round(fst["bytes_sent"] / max(fst["dgrams_sent"], 1)),
                    "bytes_per_dgram_recv": round(fst["bytes_recv"] / max(fst["dgrams_recv"], 1)),
                    "dgrams_sent": fst["dgrams_sent"], "dgrams_recv": fst["dgrams_recv"]}),
                    flush=True)
                print(json.dumps(node), flush=True)
                print(json.dumps(dict(frames, target=target, port=p)), flush=True)
            finally:
                if m is not None:
                    m.cleanup()
                d.cleanup()
                huge_cleanup(d.prefix)
    finally:
        if pt_proc is not None and pt_proc.poll() is None:
            subprocess.run(["fusermount3", "-uz", ptm], capture_output=True)
            pt_proc.kill()
            pt_proc.wait(timeout=10)
        shutil.rmtree(ptm, ignore_errors=True)
        shutil.rmtree(shm, ignore_errors=True)

# Whether the nodes may run on hugepages (--no-huge: never).
HUGE = [True]


def hugetlbfs_mounts():
    with open("/proc/mounts") as f:
        return [ln.split()[1] for ln in f if ln.split()[2:3] == ["hugetlbfs"]]


def hugepages(memory_mb):
    """Real hugepages for a node of memory_mb MiB of EAL memory: a
    hugetlbfs mount and enough free pages of the default size (the rule of
    scppd's eal.hugepages "auto", decided here so that the JSON says which
    and the node is started with "on" or "off" to match)."""
    mi = {}
    with open("/proc/meminfo") as f:
        for ln in f:
            k, _, v = ln.partition(":")
            mi[k] = int(v.split()[0])
    return bool(hugetlbfs_mounts()) and \
        mi.get("HugePages_Free", 0) * mi.get("Hugepagesize", 0) >= memory_mb * 1024


def huge_cleanup(prefix):
    """Remove a node's hugepage files (PREFIXmap_N in every hugetlbfs
    mount), should any be left: scppd unlinks them right after mapping
    (--huge-unlink), but not when it dies before that."""
    for mnt in hugetlbfs_mounts():
        try:
            names = os.listdir(mnt)
        except OSError:
            continue
        for n in names:
            if n.startswith(prefix + "map_"):
                try:
                    os.unlink(os.path.join(mnt, n))
                except OSError:
                    pass


# How long the node is sampled idle (mounted, no traffic) before the
# operations: what one empty poll of the port costs its worker.
IDLE_S = 1.0


def node_sample(d):
    """scppd's counters (/scpp/stats) and worker loop sections (/scpp/loop)
    at one moment, with the time."""
    st = d.stats()
    loop = d.telemetry("/scpp/loop")
    turns = sum(w["turns"] for w in loop.values())
    loop_ns = sum(w[s + "_ns"] for w in loop.values()
                  for s in ("rx", "handoff", "tx", "tick", "flush"))
    return {"t": time.time(), "turns": turns, "loop_ns": loop_ns,
            "rx_pkts": st["rx_pkts"], "tx_pkts": st["tx_pkts"],
            "answer_cycles": st["answer_cycles"], "answered_blocks": st["answered_blocks"],
            "tsc_hz": st["tsc_hz"], "udp_bad_cksum": st["drops"].get("udp_bad_cksum", 0)}


def node_line(target, port, idle, before, after):
    """What the port costs the node's worker: an empty poll (the idle
    second), and the worker time of the turns that answered blocks per
    frame received and per frame handled (received or sent) over the whole
    benchmark (docs/OPERATIONS.md answer_cycles)."""
    d = {k: after[k] - before[k] for k in ("turns", "loop_ns", "rx_pkts", "tx_pkts",
                                           "answer_cycles", "answered_blocks",
                                           "udp_bad_cksum")}
    answer_us = d["answer_cycles"] * 1e6 / after["tsc_hz"]
    idle_turns = before["turns"] - idle["turns"]
    return {"bench": "fs-node", "target": target, "port": port,
            "idle_turn_ns": round((before["loop_ns"] - idle["loop_ns"]) / max(idle_turns, 1), 1),
            "idle_turns_per_s": round(idle_turns / (before["t"] - idle["t"])),
            "rx_pkts": d["rx_pkts"], "tx_pkts": d["tx_pkts"],
            "answered_blocks": d["answered_blocks"], "answer_us": round(answer_us),
            "answer_us_per_rx_frame": round(answer_us / max(d["rx_pkts"], 1), 2),
            "answer_us_per_frame": round(answer_us / max(d["rx_pkts"] + d["tx_pkts"], 1), 2),
            "answer_us_per_block": round(answer_us / max(d["answered_blocks"], 1), 2),
            "udp_bad_cksum": d["udp_bad_cksum"]}


# The sequential probe: so many MiB written, then read back, in 1 MiB calls.
PROBE_MIB = 64


def seq_probe(d, m, idle_turn_ns):
    """What a frame costs the node's worker in sequential data, where the
    frames are most of the cost: PROBE_MIB MiB written in 1 MiB write(2)s
    (then fsync) and read back after a new open and POSIX_FADV_DONTNEED (the
    reads reach the mount), scppd's counters around each phase.
    busy_us_per_frame: the worker's loop time beyond what its turns would
    cost as empty polls (idle_turn_ns each), per frame received or sent;
    answer_us_per_rx_frame as node_line. MiB/s here is Python's loop, not
    scpp-bench-fs's cell."""
    out = {"bench": "fs-frames", "mib": PROBE_MIB}
    chunk = os.urandom(1 << 20)
    path = m.p("probe")
    for phase in ("write", "read"):
        a = node_sample(d)
        t0 = time.monotonic()
        if phase == "write":
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            for _ in range(PROBE_MIB):
                os.write(fd, chunk)
            os.fsync(fd)
        else:
            fd = os.open(path, os.O_RDONLY)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            n = 0
            while True:
                b = os.read(fd, 1 << 20)
                if not b:
                    break
                n += len(b)
            if n != PROBE_MIB << 20:
                raise RuntimeError("probe read %d bytes of %d" % (n, PROBE_MIB << 20))
        os.close(fd)
        dt = time.monotonic() - t0
        b = node_sample(d)
        rx, tx = b["rx_pkts"] - a["rx_pkts"], b["tx_pkts"] - a["tx_pkts"]
        turns = b["turns"] - a["turns"]
        busy_ns = (b["loop_ns"] - a["loop_ns"]) - turns * idle_turn_ns
        answer_us = (b["answer_cycles"] - a["answer_cycles"]) * 1e6 / b["tsc_hz"]
        out[phase] = {"mib_per_s": round(PROBE_MIB / dt, 1), "rx_pkts": rx, "tx_pkts": tx,
                      "frames_per_mib": round((rx + tx) / PROBE_MIB),
                      "busy_ms_per_mib": round(busy_ns / 1e6 / PROBE_MIB, 2),
                      "busy_us_per_frame": round(busy_ns / 1e3 / max(rx + tx, 1), 2),
                      "answer_us_per_rx_frame": round(answer_us / max(rx, 1), 2)}
    os.unlink(path)
    return out


def summarize(lines, quick, before, more, rounds, port, also, mtu):
    by = {(x["round"], x["target"], x["op"]): x for x in lines}
    summary = {"bench": "fs-summary", "quick": quick, "ops": {}, "compare": before,
               "opts": ",".join(more), "rounds": rounds, "port": port, "also": list(also),
               "mtu": target_port(port, mtu)[1],
               "scpp_dgram": target_port(port, mtu)[1] - 28 if target_port(port, mtu)[1] > 1500
               else 1472,
               "hugepages_allowed": HUGE[0],
               "load_avg": os.getloadavg(),
               "commit": subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                        capture_output=True, text=True).stdout.strip()}
    keys = sorted({(t, op) for (_r, t, op) in by if t.startswith("scpp-fs")})
    for target, op in keys:
        vals, vs_pt, vs_tmp, vs_before, vs_main = [], [], [], [], []
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
            main_x = by.get((r, "scpp-fs", op))
            if main_x is not None and target != "scpp-fs":
                vs_main.append(x[key] / main_x[key])
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
        if vs_main:
            cell["vs_scpp_fs"] = round(statistics.median(vs_main), 3)
            cell["vs_scpp_fs_rounds"] = [round(v, 3) for v in vs_main]
        summary["ops"].setdefault(target, {})[op] = cell
    print(json.dumps(summary))


if __name__ == "__main__":
    sys.exit(main())
