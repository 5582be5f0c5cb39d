#!/usr/bin/env python3
"""Summarize one perf/run-suite invocation.

    summarize.py RUNDIR BASE

Reads RUNDIR/machine.json, RUNDIR/cells/*.json (scpp-perf records),
RUNDIR/redis-*.csv (redis-benchmark --csv) and writes BASE.json (everything,
plus the ratios and target verdicts) and BASE.md (the human summary), and the
gnuplot data files RUNDIR/throughput.dat and RUNDIR/cdf-*.dat that
perf/plot/*.gp turn into PNGs.
"""
import csv
import glob
import json
import os
import sys


def load_cells(run):
    cells = {}
    for path in sorted(glob.glob(os.path.join(run, "cells", "*.json"))):
        name = os.path.basename(path)[:-5]
        try:
            with open(path) as f:
                cells[name] = json.load(f)
        except (OSError, ValueError) as e:
            print(f"summarize: {path}: {e}", file=sys.stderr)
    return cells


def load_redis(run):
    out = {}
    for size in ("8", "1024"):
        path = os.path.join(run, f"redis-{size}.csv")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            for row in csv.reader(f):
                if len(row) >= 2 and row[0] in ("GET", "SET"):
                    try:
                        out[f"{row[0].lower()}_{size}"] = float(row[1])
                    except ValueError:
                        pass
    return out


def load_cpu(run, name):
    """Worker threads' CPU ticks (utime + stime) before and after a cell."""
    out = []
    for k in ("cpu0", "cpu1"):
        d = {}
        try:
            with open(os.path.join(run, "cells", f"{name}.{k}")) as f:
                for i, line in enumerate(f):
                    parts = line.split()
                    if len(parts) == 2:
                        d[f"worker{i}"] = int(parts[1])
        except OSError:
            return None
        out.append(d)
    return {w: out[1][w] - out[0].get(w, 0) for w in out[1]}


def load_sched(run, name):
    """Preemptions of the DUT's polling threads and CPU 1 steal ticks in a run."""
    try:
        with open(os.path.join(run, "cells", f"{name}.sched")) as f:
            v = [int(x) for x in f.read().split()]
        # A DUT that died during the run reads 0 at the end: not a count.
        out = {"preemptions": v[2] - v[0] if v[2] >= v[0] else "DUT died",
               "steal_ticks": v[3] - v[1]}
        if len(v) >= 6:
            out["cpu1_irqs"] = v[5] - v[4]
        return out
    except (OSError, ValueError, IndexError):
        return None


def load_loop(run, name):
    """scppd's /scpp/loop over a run (worker 0): counters as differences, maxima as
    read at the end (they are since scppd started)."""
    try:
        with open(os.path.join(run, "cells", f"{name}.loop0")) as f:
            a = json.load(f)["worker0"]
        with open(os.path.join(run, "cells", f"{name}.loop1")) as f:
            b = json.load(f)["worker0"]
    except (OSError, ValueError, KeyError):
        return None
    out = {}
    for k, v in b.items():
        if isinstance(v, dict):
            out[k] = {kk: vv - a.get(k, {}).get(kk, 0) for kk, vv in v.items()}
        elif k.endswith("max_ns") or k == "long_ns":
            out[k] = v
        else:
            out[k] = v - a.get(k, 0)
    return out


def gaps_over(loop, ns):
    """Gaps between rx polls of at least ns (histogram buckets whose lower bound >= ns)."""
    return sum(c for k, c in loop["gap_hist_ns"].items() if int(k[3:]) >= ns)


def load_daemon_instructions(run):
    out = {}
    try:
        with open(os.path.join(run, "daemon-instructions.jsonl")) as f:
            for line in f:
                d = json.loads(line)
                out[d["cmds"]] = d
    except (OSError, ValueError):
        pass
    return out


def median(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def load_instructions(run):
    out = {}
    try:
        with open(os.path.join(run, "instructions.jsonl")) as f:
            for line in f:
                d = json.loads(line)
                out[d["op"]] = d
    except (OSError, ValueError):
        pass
    return out


def ratio(a, b):
    return a / b if a and b else None


def fmt(x, spec=".2f"):
    return "n/a" if x is None else format(x, spec)


def main():
    run, base = sys.argv[1], sys.argv[2]
    with open(os.path.join(run, "machine.json")) as f:
        machine = json.load(f)
    try:
        with open(os.path.join(run, "load_end")) as f:
            machine.update(json.loads("{" + f.read().strip() + "}"))
    except (OSError, ValueError):
        pass
    cells = load_cells(run)
    redis = load_redis(run)
    try:
        with open(os.path.join(run, "events")) as f:
            machine["events"] = [l.strip() for l in f if l.strip()]
    except OSError:
        machine["events"] = []

    def rate(name, key="blocks_per_s"):
        c = cells.get(name)
        return c["rates"][key] if c else None

    def lat(name, q="p99"):
        c = cells.get(name)
        return c["latency_us"][q] if c and c["latency_us"]["count"] else None

    scpp = lambda c, v=8, d="uniform", m="get", k=1000000: f"scpp-c{c}-v{v}-{d}-{m}-k{k}"
    instr = load_instructions(run)
    ticks_hz = os.sysconf("SC_CLK_TCK")

    # Ratios measured in this run: blocks/s against testpmd echoing the
    # same blocks (each block is one datagram either way).
    io_ratio = {c: ratio(rate(scpp(c)), rate(f"testpmd-c{c}")) for c in (1, 4, 16, 64)}
    cmds16 = rate(scpp(16), "cmds_per_s")
    redis_get = redis.get("get_8")
    redis_set = redis.get("set_8")
    best = max(((c["rates"]["cmds_per_s"], n) for n, c in cells.items()
                if n.startswith("scpp-") and "-v8-" in n), default=(None, None))
    # Latency at 50 % of peak: every run (X, X-r2, X-r3, ...) and their
    # medians; the ratios are of the medians.
    def runs_of(first):
        return [n for n in sorted(cells) if n == first or
                (n.startswith(first + "-r") and n[len(first) + 2:].isdigit())]

    latency = {}
    for c in (1, 16):
        for side in ("scpp", "testpmd"):
            first = f"lat-c{c}-p50" if side == "scpp" else f"testpmd-lat-c{c}-p50"
            rs = [{"cell": n, "offered": cells[n]["config"]["rate"],
                   "blocks_per_s": rate(n), "p50_us": lat(n, "p50"), "p99_us": lat(n, "p99"),
                   "p99.9_us": lat(n, "p99.9"), "sched": load_sched(run, n),
                   "loop": load_loop(run, n),
                   "generator_preempted": cells[n].get("generator_preempted")}
                  for n in runs_of(first)]
            latency[f"{side}-c{c}"] = {
                "runs": rs,
                "p50_median_us": median(r["p50_us"] for r in rs),
                "p99_median_us": median(r["p99_us"] for r in rs),
                "p99_min_us": min((r["p99_us"] for r in rs if r["p99_us"]), default=None),
                "p99_max_us": max((r["p99_us"] for r in rs if r["p99_us"]), default=None),
            }
    p99_ratio = {c: ratio(latency[f"scpp-c{c}"]["p99_median_us"],
                          latency[f"testpmd-c{c}"]["p99_median_us"]) for c in (1, 16)}
    p50_ratio = {c: ratio(latency[f"scpp-c{c}"]["p50_median_us"],
                          latency[f"testpmd-c{c}"]["p50_median_us"]) for c in (1, 16)}
    ipg = instr.get("get16", {}).get("instructions_per_command")
    dinstr = load_daemon_instructions(run)
    # Hand-off cells: blocks/s and each worker's CPU time per block.
    handoff = {}
    for c in (1, 16):
        for kind in ("local", "remote"):
            n = f"handoff-c{c}-{kind}"
            cpu = load_cpu(run, n)
            blocks = cells[n]["totals"]["rx_blocks"] if n in cells else 0
            handoff[n] = {
                "blocks_per_s": rate(n),
                "p50_us": lat(n, "p50"),
                "p99_us": lat(n, "p99"),
                "cpu_ticks": cpu,
                "cpu_us_per_block": {w: t * 1e6 / ticks_hz / blocks for w, t in cpu.items()}
                if cpu and blocks else None,
            }
        lo, re_ = handoff[f"handoff-c{c}-local"], handoff[f"handoff-c{c}-remote"]
        if lo["cpu_us_per_block"] and re_["cpu_us_per_block"]:
            handoff[f"c{c}_cost_us_per_block"] = (sum(re_["cpu_us_per_block"].values()) -
                                                  sum(lo["cpu_us_per_block"].values()))
    ratios = {
        "scpp_pps_over_testpmd": io_ratio,
        "scpp_16get_cmds_per_s": cmds16,
        "scpp_16get_over_redis_get": ratio(cmds16, redis_get),
        "scpp_best_cmds_per_s": best[0],
        "scpp_best_cell": best[1],
        "scpp_best_over_redis_get": ratio(best[0], redis_get),
        "scpp_16_5050_over_redis_mean_getset": ratio(
            rate(scpp(16, m="50-50"), "cmds_per_s"),
            (redis_get + redis_set) / 2 if redis_get and redis_set else None),
        "p99_at_50pct_over_testpmd_p99": p99_ratio,
        "p50_at_50pct_over_testpmd_p50": p50_ratio,
        "latency_at_50pct": latency,
        "instructions_per_get_in_16get_block": ipg,
        "daemon_instructions": dinstr,
        "handoff": handoff,
    }
    def dshow(c):
        d = dinstr.get(c)
        return (f"; scppd's worker: {d['path_per_block']:.0f} instructions per block rx to tx "
                f"(perf/daemon-instructions)" if d and d.get("path_per_block") else "")
    targets = [
        ("1-get blocks/s >= 0.7 x testpmd io echo of the same traffic",
         io_ratio[1], io_ratio[1] is not None and io_ratio[1] >= 0.7,
         fmt(io_ratio[1]) + f" ({fmt(rate(scpp(1)), '.0f')} vs "
         f"{fmt(rate('testpmd-c1'), '.0f')} blocks/s)"),
        ("16-get blocks/s >= 0.8 x testpmd echo of the same blocks",
         io_ratio[16], io_ratio[16] is not None and io_ratio[16] >= 0.8,
         fmt(io_ratio[16]) + f" ({fmt(rate(scpp(16)), '.0f')} vs "
         f"{fmt(rate('testpmd-c16'), '.0f')} blocks/s)"),
        (">= 10 x Redis -P 16 GET ops/s (commands/s in 16-get blocks)",
         ratios["scpp_16get_over_redis_get"], (ratios["scpp_16get_over_redis_get"] or 0) >= 10,
         fmt(ratios["scpp_16get_over_redis_get"])),
        ("p99 at 50 % of peak <= 3 x testpmd p99 at the same offered rate, 1-get",
         p99_ratio[1], p99_ratio[1] is not None and p99_ratio[1] <= 3,
         fmt(p99_ratio[1]) + f" ({fmt(latency['scpp-c1']['p99_median_us'])} vs "
         f"{fmt(latency['testpmd-c1']['p99_median_us'])} µs)"),
        ("p99 at 50 % of peak <= 3 x testpmd p99 at the same offered rate, 16-get",
         p99_ratio[16], p99_ratio[16] is not None and p99_ratio[16] <= 3,
         fmt(p99_ratio[16]) + f" ({fmt(latency['scpp-c16']['p99_median_us'])} vs "
         f"{fmt(latency['testpmd-c16']['p99_median_us'])} µs)"),
        ("<= 300 instructions per get in a 16-get block (callgrind, decode + reply)",
         ipg, ipg is not None and ipg <= 300, fmt(ipg, ".0f")),
    ]
    # Where to look when a target is missed (the sections below).
    why = {
        0: "profile prof-c1 below" + dshow(1),
        1: "profile prof-c16 below" + dshow(16),
        2: "profile prof-c16 below",
        3: "worker loop during the latency runs below (gaps between rx polls, long sections)",
        4: "worker loop during the latency runs below (gaps between rx polls, long sections)",
        5: "perf/instructions (callgrind) in the JSON" + dshow(16),
    }
    result = {
        "machine": machine,
        "ratios": ratios,
        "targets": [{"target": t, "value": v, "met": ok} for t, v, ok, _ in targets],
        "redis": redis,
        "cells": cells,
    }
    with open(base + ".json", "w") as f:
        json.dump(result, f, indent=1)

    # gnuplot data: throughput vs commands per block.
    with open(os.path.join(run, "throughput.dat"), "w") as f:
        f.write("# cmds scpp_Mcmd/s scpp_Mblocks/s testpmd_Mblocks/s redis_get_Mops/s\n")
        for c in (1, 4, 16, 64):
            f.write("%d %s %s %s %s\n" % (
                c, fmt(rate(scpp(c), "cmds_per_s") and rate(scpp(c), "cmds_per_s") / 1e6, ".4f"),
                fmt(rate(scpp(c)) and rate(scpp(c)) / 1e6, ".4f"),
                fmt(rate(f"testpmd-c{c}") and rate(f"testpmd-c{c}") / 1e6, ".4f"),
                fmt(redis_get and redis_get / 1e6, ".4f")))
    for n, c in cells.items():
        if n.startswith("lat-") or n.startswith("testpmd-lat-"):
            with open(os.path.join(run, f"cdf-{n}.dat"), "w") as f:
                for us, frac in c.get("cdf", []):
                    f.write(f"{us} {frac}\n")

    # Markdown.
    m = machine
    L = []
    L.append(f"# scpp perf suite: {m['date']} on {m['host']}\n")
    L.append(f"Commit `{m.get('commit', '?')}`, command `{m.get('command', 'perf/run-suite')}`.\n")
    L.append(f"Machine: {m['cpus']} × {m['cpu']}, kernel {m['kernel']}, DPDK {m['dpdk']}, "
             f"Redis {m['redis']}. Load average at start {m['loadavg_start']}, at end "
             f"{m.get('loadavg_end', '?')}; CPU use by other processes just before the run: "
             f"{m['busy_start'].strip().rstrip(';')}, just after: "
             f"{m.get('busy_end', '?').strip().rstrip(';')}. "
             f"{'Quick subset' if m['quick'] else 'Full matrix'}, {m['duration_s']} s per cell "
             f"after 1 s of warm-up. scpp-perf on CPU 0, the device under test's polling "
             f"core on CPU 1, over net_memif.\n")
    if machine["events"]:
        L.append("Process events during the run (device-under-test crashes and the like): "
                 + "; ".join(machine["events"]) + ".\n")
    L.append("## Ratios (same run)\n")
    L.append("| ratio | value |\n|---|---|")
    for c in (1, 4, 16, 64):
        L.append(f"| scpp blocks/s / testpmd io echo, {c}-get blocks | {fmt(io_ratio[c])} |")
    L.append(f"| scpp commands/s (16-get) / Redis GET ops/s (-P 16) | "
             f"{fmt(ratios['scpp_16get_over_redis_get'])} |")
    L.append(f"| scpp best commands/s ({best[1]}) / Redis GET ops/s | "
             f"{fmt(ratios['scpp_best_over_redis_get'])} |")
    L.append(f"| scpp 16-cmd 50/50 commands/s / Redis mean(GET,SET) ops/s | "
             f"{fmt(ratios['scpp_16_5050_over_redis_mean_getset'])} |")
    for c in (1, 16):
        L.append(f"| p99 at 50 % of peak / testpmd p99 at the same rate, {c}-get (medians of the runs) | "
                 f"{fmt(p99_ratio[c])} |")
        L.append(f"| p50 at 50 % of peak / testpmd p50 at the same rate, {c}-get (medians of the runs) | "
                 f"{fmt(p50_ratio[c])} |")
    L.append(f"| scpp commands/s in 16-get blocks (8 B, 10^6 keys, uniform) | "
             f"{fmt(cmds16 / 1e6 if cmds16 else None)} M/s |")
    for op in ("get1", "get16"):
        if op in instr:
            L.append(f"| instructions per command, {op} (callgrind) | "
                     f"{instr[op]['instructions_per_command']:.0f} |")
    L.append("\n## Targets\n")
    L.append(f"Commit `{m.get('commit', '?')}`, command `{m.get('command', 'perf/run-suite')}`.\n")
    L.append("| target | measured | met | where the time goes (when missed) |\n|---|---|---|---|")
    for i, (t, _, ok, shown) in enumerate(targets):
        L.append(f"| {t} | {shown} | {'yes' if ok else '**no**'} | {'' if ok else why[i]} |")
    L.append("\n## Latency at 50 % of peak (open loop), every run\n")
    L.append("Preemptions: involuntary context switches of the DUT's polling thread during "
             "the run; steal: CPU 1 ticks (1/100 s) the hypervisor gave to something else.\n")
    L.append("| run | offered blocks/s | answered blocks/s | p50 µs | p99 µs | p99.9 µs | "
             "preemptions | steal |")
    L.append("|---|---|---|---|---|---|---|---|")
    for c in (1, 16):
        for side in ("scpp", "testpmd"):
            e = latency[f"{side}-c{c}"]
            for r in e["runs"]:
                sc = r["sched"] or {}
                L.append(f"| {r['cell']} | {fmt(r['offered'], '.0f')} | "
                         f"{fmt(r['blocks_per_s'], '.0f')} | {fmt(r['p50_us'])} | "
                         f"{fmt(r['p99_us'])} | {fmt(r['p99.9_us'])} | "
                         f"{sc.get('preemptions', 'n/a')} | {sc.get('steal_ticks', 'n/a')} |")
            L.append(f"| **{side} {c}-get, median of {len(e['runs'])}** | | | "
                     f"**{fmt(e['p50_median_us'])}** | **{fmt(e['p99_median_us'])}** "
                     f"(range {fmt(e['p99_min_us'])}–{fmt(e['p99_max_us'])}) | | | |")
    L.append("\n## Worker loop during the latency runs (scppd's /scpp/loop)\n")
    L.append("What could hold a block back inside scppd: the gaps between two polls of the rx "
             "queue (a block that arrives in a gap waits for its end) and the sections of the "
             "loop that ran over 20 µs. Interrupts: all interrupts CPU 1 took during the run "
             "(testpmd's runs too), each one a gap that neither poller can avoid. "
             "Generator preempted: involuntary context switches of scpp-perf's thread on CPU 0 "
             "while measuring (replies wait in its rx ring meanwhile: another process's "
             "wake-ups there, e.g. the device under test's own control thread). "
             "docs/OPERATIONS.md, \"/scpp/loop\".\n")
    def glabel(ns):
        for r in (x for e in latency.values() for x in e["runs"] if x["loop"]):
            los = sorted(int(k[3:]) for k in r["loop"]["gap_hist_ns"] if int(k[3:]) >= ns)
            if los:
                return f"{los[0] / 1000:.1f}"
        return f"{ns / 1000:.1f}"
    L.append(f"| run | turns | gaps ≥ {glabel(12000)} µs | ≥ {glabel(25000)} µs | "
             f"≥ {glabel(50000)} µs | ≥ {glabel(100000)} µs | max gap µs (since scppd started) | "
             "sections over 20 µs (rx/tx/tick/flush) | CPU 1 interrupts | "
             "generator preempted |")
    L.append("|---|---|---|---|---|---|---|---|---|---|")
    for c in (1, 16):
        for side in ("scpp", "testpmd"):
            for r in latency[f"{side}-c{c}"]["runs"]:
                lp, sc = r["loop"], r["sched"] or {}
                if lp:
                    L.append(f"| {r['cell']} | {lp['turns']} | {gaps_over(lp, 12000)} | "
                             f"{gaps_over(lp, 25000)} | {gaps_over(lp, 50000)} | "
                             f"{gaps_over(lp, 100000)} | {lp['gap_max_ns'] / 1000:.1f} | "
                             f"{lp['rx_long']}/{lp['tx_long']}/{lp['tick_long']}/"
                             f"{lp['flush_long']} | {sc.get('cpu1_irqs', 'n/a')} | "
                             f"{fmt(r['generator_preempted'], '')} |")
                else:
                    L.append(f"| {r['cell']} | | | | | | | | {sc.get('cpu1_irqs', 'n/a')} | "
                             f"{fmt(r['generator_preempted'], '')} |")
    if dinstr:
        L.append("\n## Instructions per block in scppd's worker (callgrind)\n")
        L.append("`perf/daemon-instructions --cmds 1 --cmds 16`: scppd under callgrind, one "
                 "worker, closed loop; path = rx_burst() inclusive (lib/net, lib/delivery, "
                 "decode, prefetch, evaluation, reply encode, the reply tx burst) per block; "
                 "other = the rest of the loop per turn (rx polls, tx pacing, ticks).\n")
        L.append("| block | blocks | blocks per rx burst | path per block | per command | "
                 "other per turn | top functions (self, per block) |")
        L.append("|---|---|---|---|---|---|---|")
        for c, d in sorted(dinstr.items()):
            top = ", ".join(f"{fn} {v:.0f}" for fn, v, _ in d.get("top_self_per_block", [])
                            if fn not in ("scppd_worker_main", "tx_pace"))
            L.append(f"| {c}-get | {d['blocks']} | {fmt(d.get('blocks_per_burst'))} | "
                     f"{fmt(d.get('path_per_block'), '.0f')} | "
                     f"{fmt(d.get('path_per_command'), '.0f')} | "
                     f"{fmt(d.get('other_per_turn'), '.0f')} | {top} |")
    L.append("\n## Hand-off (two workers on CPU 1, received by worker 0)\n")
    L.append("| cell | blocks/s | p50 µs | p99 µs | CPU µs per block (worker 0, worker 1) |")
    L.append("|---|---|---|---|---|")
    for c in (1, 16):
        for kind in ("local", "remote"):
            h = handoff[f"handoff-c{c}-{kind}"]
            cpb = h["cpu_us_per_block"]
            L.append(f"| handoff-c{c}-{kind} | {fmt(h['blocks_per_s'], '.0f')} | "
                     f"{fmt(h['p50_us'])} | {fmt(h['p99_us'])} | "
                     + (", ".join(f"{v:.2f}" for _, v in sorted(cpb.items())) if cpb else "n/a")
                     + " |")
        L.append(f"| hand-off cost, {c}-get (CPU µs per block, both workers, remote − local) | "
                 f"{fmt(handoff.get(f'c{c}_cost_us_per_block'))} | | | |")
    for c in (1, 16):
        try:
            with open(os.path.join(run, f"profile-c{c}.txt")) as f:
                prof = f.read().rstrip()
            with open(os.path.join(run, f"profile-c{c}.cmd")) as f:
                pcmd = f.read().strip()
        except OSError:
            continue
        pc = cells.get(f"prof-c{c}")
        L.append(f"\n## Profile: the worker during {c}-get blocks (closed loop, 10^6 keys)\n")
        L.append(f"`{pcmd}` during cell prof-c{c} "
                 f"({fmt(rate(f'prof-c{c}'), '.0f')} blocks/s while profiled"
                 + (f", {(load_sched(run, f'prof-c{c}') or {}).get('preemptions', 'n/a')} "
                    "preemptions" if pc else "") + "):\n")
        L.append("```\n" + prof + "\n```")
    L.append("\n## Baselines\n")
    L.append("| baseline | blocks/s | Mpps rx | p50 µs | p99 µs |\n|---|---|---|---|---|")
    for n in sorted(x for x in cells if x.startswith("testpmd-")):
        c = cells[n]
        L.append(f"| {n} | {c['rates']['blocks_per_s']:.0f} | {c['rates']['rx_mpps']:.3f} | "
                 f"{c['latency_us']['p50']:.2f} | {c['latency_us']['p99']:.2f} |")
    for k, v in sorted(redis.items()):
        L.append(f"| redis-benchmark -P 16 {k.replace('_', ' ')} B | {v:.0f} ops/s | | | |")
    L.append("\n## Cells\n")
    L.append("| cell | blocks/s | M cmds/s | Gbit/s rx | p50 µs | p99 µs | p99.9 µs | max µs "
             "| ok | aborted | timeouts | preemptions |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n in sorted(cells, key=lambda x: (not x.startswith("scpp"), x)):
        if n.startswith("testpmd-"):
            continue
        c = cells[n]
        r, l, o, d = c["rates"], c["latency_us"], c["outcomes"], c["drops"]
        L.append(f"| {n} | {r['blocks_per_s']:.0f} | {r['cmds_per_s'] / 1e6:.3f} | "
                 f"{r['rx_gbps']:.3f} | {l['p50']:.2f} | {l['p99']:.2f} | {l['p99.9']:.2f} | "
                 f"{l['max']:.2f} | {o['ok']} | {o['aborted']} | "
                 f"{d['timeout'] + d['overrun']} | "
                 f"{(load_sched(run, n) or {}).get('preemptions', 'n/a')} |")
    L.append("\nCell names: `scpp-c<commands per block>-v<value bytes>-<distribution>-"
             "<get-only | 90-10 | 50-50 get/set>-k<keys>`; `lat-c<N>-p<P>`: open loop at P % "
             "of the closed-loop peak of the 8 B uniform get-only cell with N commands.\n")
    png = os.path.basename(base)
    L.append(f"![throughput vs commands per block]({png}-throughput.png)\n")
    L.append(f"![latency CDF at 50 % and 90 % of peak]({png}-latency.png)\n")
    with open(base + ".md", "w") as f:
        f.write("\n".join(L) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
