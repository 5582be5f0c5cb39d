#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Integration tests of scppd's copy engines (issue 14, app/scppd/copy.c):
the real daemon with a dma_skeleton dmadev or memcpy as its local engine,
and libfabric shm as its remote one, driven over UDP like run_test.py (whose
Daemon, namespace and clean-up this reuses).

    run_copy.py NAME        (NAME: see TESTS at the bottom)

Every copy's bytes are compared with a model of the value in Python, and
/scpp/copy shows that the engine (not the evaluator's memcpy) moved them.
"""

import os
import random
import struct
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_test import (Daemon, TestFailure, check, mkfile, run_one, status_of,  # noqa: E402
                      well_known)

MIN_BYTES = 64


def value_hex(d, ent, attr, port=7300):
    rep = d.ok("get %s %s %%v ; return %%v" % (ent, attr), port=port)
    check(len(rep["rows"]) == 1, rep)
    return bytes.fromhex(rep["rows"][0][0]["hex"])


def value_read(d, ent, attr, n, chunk=65536):
    """A value of n bytes too long for one reply, read in pieces."""
    out = bytearray()
    for off in range(0, n, chunk):
        rep = d.ok("let %%v read(offset(value(%s, %s), %du), %du) ; return %%v" %
                   (ent, attr, off, min(chunk, n - off)))
        out += bytes.fromhex(rep["rows"][0][0]["hex"])
    return bytes(out)


def same_value(d, a, b, attr="data"):
    """Whether two values are equal, compared on the node (their hashes)."""
    rep = d.ok("let %%a hash(val(%s, %s)) ; let %%b hash(val(%s, %s)) ; return %%a %%b" %
               (a, attr, b, attr))
    return rep["rows"][0][0] == rep["rows"][0][1]


def copy_result(rep, k=0):
    """COPY record k of a reply: (command, copies, bytes, offloaded, engine),
    its elapsed time checked to be there."""
    c = rep["copies"][k]
    check(isinstance(c["elapsed_ns"], int) and c["elapsed_ns"] > 0, rep)
    return (c["command"], c["copies"], c["bytes"], c["offloaded"], c["engine"])


def sync_counters(d):
    """/scpp/copy of worker 0, with engine_copies/engine_bytes: the copies
    the engine made for the evaluator, synchronous or asynchronous."""
    c = d.telemetry("/scpp/copy")["worker0"]
    c["engine_copies"] = c["sync_copies"] + c["async_waits"]
    c["engine_bytes"] = c["sync_bytes"] + c["async_copied"]
    return c


def t_copy_local(d, engine):
    """Copies between extent values go through the worker's local engine,
    byte for byte what a memmove model gives; short ones stay on the CPU;
    an aborted block leaves no engine-written bytes behind."""
    d.ok("return")  # the kernel side has ARP-resolved the appliance
    rnd = random.Random(14)
    chunk = bytes(rnd.getrandbits(8) for _ in range(4000))
    src = d.ok(mkfile("f", 61, 'set %%f data x"%s" ; return %%f' % chunk.hex()))["rows"][0][0]
    big = 256 * 1024
    dst = d.ok(mkfile("f", 62, "alloc %%f data %d ; return %%f" % big))["rows"][0][0]
    cpy = d.ok(mkfile("f", 63, "alloc %%f data %d ; return %%f" % big))["rows"][0][0]
    c0 = sync_counters(d)
    check(c0["local_engine"] == engine, c0)
    model = bytearray(big)
    want_copies = want_bytes = results = 0
    for i in range(60):
        n = rnd.choice([1, 15, 63, 64, 65, 100, 1000, 3999, 4000]) if i % 3 else \
            rnd.randrange(MIN_BYTES, 4001)
        so = rnd.randrange(0, 4000 - n + 1)
        do = rnd.randrange(0, big - n + 1)
        rep = d.ok("copy offset(value(%s, data), %d) offset(value(%s, data), %d) %d" %
                   (dst, do, src, so, n), extra=["--copy-results"] if i % 2 else None)
        model[do:do + n] = chunk[so:so + n]
        if n >= MIN_BYTES:
            want_copies += 1
            want_bytes += n
        # Every other block asks for its copy results (block flag
        # COPY_RESULTS): one COPY record naming the configured engine when
        # it moved the bytes, the evaluator's CPU (empty name) otherwise.
        if i % 2:
            results += 1
            check(copy_result(rep) == (0, 1, n, int(n >= MIN_BYTES),
                                       engine if n >= MIN_BYTES else ""), rep)
        else:
            check("copies" not in rep, rep)
    # The whole value, then an overlapping copy inside one value.
    d.ok("copy value(%s, data) value(%s, data) %d" % (cpy, dst, big))
    cmodel = bytearray(model)
    d.ok("copy offset(value(%s, data), 1000) value(%s, data) 100000" % (cpy, cpy))
    cmodel[1000:101000] = cmodel[0:100000]
    want_copies += 2
    want_bytes += big + 100000
    check(results == 30, results)
    check(value_hex(d, dst, "data") == bytes(model), "destination differs from the model")
    check(value_hex(d, cpy, "data") == bytes(cmodel), "overlapping copy differs from memmove")
    c1 = sync_counters(d)
    check(c1["engine_copies"] - c0["engine_copies"] == want_copies,
          "engine copies: %d, expected %d" % (c1["engine_copies"] - c0["engine_copies"],
                                              want_copies))
    check(c1["engine_bytes"] - c0["engine_bytes"] == want_bytes, (c1, want_bytes))
    check(c1["sync_failed"] == 0 and c1["async_failed"] == 0 and c1["retired"] == 0, c1)
    # Copies up to inflight_bytes are asynchronous (the evaluator saw them
    # complete), longer ones synchronous.
    # The memcpy engine has none (it copies inside submit).
    n_async = c1["async_waits"] - c0["async_waits"]
    per = 2 if c1["undo_copies"] == "engine" else 1
    if engine == "memcpy":
        check(n_async == 0 and c1["async_max_bytes"] == 0 and "async_submitted" not in c1, c1)
    else:
        # (The synchronous ones go through the job tracker too, without
        # saves: other blocks' copies may be in flight on the same engine.)
        check(c1["async_submitted"] - c0["async_submitted"] ==
              n_async + per * (want_copies - n_async) and
              n_async == want_copies - (1 if big > c1["async_max_bytes"] else 0) -
              (1 if 100000 > c1["async_max_bytes"] else 0), (c0, c1))
    # Each engine copy is two device copies when the engine takes the undo
    # copy too (always for asynchronous ones: their save), one otherwise.
    n_sync = want_copies - n_async
    sync_bytes = c1["sync_bytes"] - c0["sync_bytes"]
    check(c1["local_completed"] - c0["local_completed"] == per * n_sync + 2 * n_async, (c0, c1))
    check(c1["local_bytes"] - c0["local_bytes"] ==
          per * sync_bytes + 2 * (want_bytes - sync_bytes), (c0, c1))
    if engine == "dmadev":
        check(c1["undo_copies"] == "engine", c1)

    # A block that aborts after an engine copy: the destination is restored.
    rep = d.one("copy value(%s, data) value(%s, data) 4000 ; get %s nothing %%x" %
                (cpy, src, src))
    check(rep["end"]["outcome"] == "aborted", rep)
    check(value_hex(d, cpy, "data") == bytes(cmodel), "an aborted engine copy left bytes behind")
    c2 = sync_counters(d)
    check(c2["engine_copies"] == c1["engine_copies"] + 1, c2)

    # A copy and a delete of its source: in one block, the copy completes
    # (the value is pinned meanwhile) and then the delete runs; in the other
    # order the copy finds nothing. Never a copy from freed memory (ASan).
    d.ok("copy value(%s, data) value(%s, data) 4000 ; del %s data" % (cpy, src, src))
    cmodel[0:4000] = chunk
    check(value_hex(d, cpy, "data") == bytes(cmodel), "copy before the delete")
    rep = d.one("copy value(%s, data) value(%s, data) 100" % (cpy, src))
    check(rep["end"]["outcome"] == "aborted" and status_of(rep)["errno_name"] == "ENOENT", rep)
    shards = d.telemetry("/scpp/shards")["worker0"]
    check(d.telemetry("/scpp/copy")["worker0"]["retired"] == 0, "engine retired")
    check(shards["entities"] > 0, shards)


def t_vma_rewriting(d):
    """seed §4.5 with the shipped schema: a process's VMA map names an
    Extent; a copy into offset(value(P, vmas[start]), n) lands in the
    extent's bytes through the engine; one whose extent is exposed by an
    RmaWindow says where the rewrite led."""
    rnd = random.Random(45)
    chunk = bytes(rnd.getrandbits(8) for _ in range(3000))
    src = d.ok(mkfile("f", 71, 'set %%f data x"%s" ; return %%f' % chunk.hex()))["rows"][0][0]
    p, x, y = d.ok(
        'create %m Machine ; set %m hostname "h" ; set %m cores 1u ; set %m memory_bytes 2u ; '
        'create %p Process ; set %p pid 42u ; set %p machine %m ; set %p state "R" ; '
        'set %p comm "a.out" ; set %p uid 0u ; set %p euid 0u ; set %p gid 0u ; set %p egid 0u ; '
        'create %x Extent ; set %x length 8192u ; alloc %x data 8192 ; '
        'create %y Extent ; set %y length 4096u ; set %y window @0.1.0.9.9 ; '
        'set %y window_offset 65536u ; '
        'set %p vmas[140737488289792u] %x ; set %p vmas[140737488355328u] %y ; '
        'return %p %x %y')["rows"][0]
    c0 = sync_counters(d)
    d.ok("copy offset(value(%s, vmas[140737488289792u]), 100) value(%s, data) 3000" % (p, src))
    model = bytearray(8192)
    model[100:3100] = chunk
    check(value_hex(d, x, "data") == bytes(model), "the copy did not land in the extent")
    c1 = sync_counters(d)
    check(c1["engine_copies"] == c0["engine_copies"] + 1 and
          c1["engine_bytes"] == c0["engine_bytes"] + 3000, (c0, c1))
    rep = d.one("copy offset(value(%s, vmas[140737488289792u]), 6000) value(%s, data) 3000" %
                (p, src))
    check(status_of(rep)["errno_name"] == "ERANGE", rep)
    rep = d.one("copy offset(value(%s, vmas[140737488355328u]), 16) value(%s, data) 100" %
                (p, src))
    st = status_of(rep)
    check(st["errno_name"] == "EOPNOTSUPP" and
          "RmaWindow @0.1.0.9.9 + 65552 (extent %s)" % y in st["message"], st)


def t_async_batch(d):
    """One copy command over eight rows: the eight copies are in flight
    together (their eight saves held in the pool at once: the pool's peak),
    each lands byte for byte; with one that cannot be saved (the pool is
    smaller than the batch) the rest wait for the first ones and still land;
    an abort later in the block restores all eight destinations."""
    rnd = random.Random(8)
    chunk = bytes(rnd.getrandbits(8) for _ in range(4000))
    src = d.ok(mkfile("f", 81, 'set %%f data x"%s" ; return %%f' % chunk.hex()))["rows"][0][0]
    dsts = [d.ok(mkfile("f", 82 + i, "alloc %f data 8192 ; set %f uid 4242u ; return %f"))
            ["rows"][0][0] for i in range(8)]
    c0 = sync_counters(d)
    rep = d.ok("get %%f uid 4242u ; copy offset(value(%%f, data), 100) value(%s, data) 4000 ; "
               "return %%f" % src)
    check(len(rep["rows"]) == 8, rep)
    c1 = sync_counters(d)
    check(c1["async_submitted"] - c0["async_submitted"] == 8, (c0, c1))
    check(c1["async_waits"] - c0["async_waits"] == 8, (c0, c1))
    check(c1["async_held"] == 0 and c1["async_inflight"] == 0 and c1["async_pool_used"] == 0, c1)
    check(c1["async_pool_peak"] >= 8 * 4000, c1)
    model = bytearray(8192)
    model[100:4100] = chunk
    for f in dsts:
        check(value_hex(d, f, "data") == bytes(model), "batch copy into %s" % f)
    # Aborted after the command: every destination as before.
    rep = d.one("get %%f uid 4242u ; copy value(%%f, data) value(%s, data) 4000 ; "
                "get %s nothing %%x" % (src, src))
    check(rep["end"]["outcome"] == "aborted", rep)
    for f in dsts:
        check(value_hex(d, f, "data") == bytes(model), "aborted batch left bytes in %s" % f)
    c2 = sync_counters(d)
    check(c2["async_waits"] - c1["async_waits"] == 8 and c2["async_pool_used"] == 0, (c1, c2))


def t_copy_park(d):
    """Blocks parked on their copies (docs/COPY.md "Parking a block on its
    copies"): a block whose 4 MiB copy is in flight on the dma_skeleton is
    held at its end (always: the copy's save must complete before the copy
    is even posted, which only a later loop turn does), the worker serves
    other blocks meanwhile, the loop resumes the block when its copy
    completed, and its reply and bytes are the copy's; an abort after the
    copy undoes it."""
    d.ok("return")
    big = 4 << 20
    rnd = random.Random(17)
    chunk = bytes(rnd.getrandbits(8) for _ in range(4000))
    seed = d.ok(mkfile("f", 91, 'set %%f data x"%s" ; return %%f' % chunk.hex()))["rows"][0][0]
    src = d.ok(mkfile("f", 92, "alloc %%f data %d ; return %%f" % big))["rows"][0][0]
    dsts = [d.ok(mkfile("f", 93 + i, "alloc %%f data %d ; return %%f" % big))["rows"][0][0]
            for i in range(2)]
    x = d.ok(mkfile("f", 95, "alloc %f data 4096 ; return %f"))["rows"][0][0]
    # The source: the chunk, doubled until it fills 4 MiB (each a copy
    # within one value, through the engine).
    model = bytearray(big)
    d.ok("copy value(%s, data) value(%s, data) 4000" % (src, seed))
    model[0:4000] = chunk
    n = 4000
    while 2 * n <= big:
        d.ok("copy offset(value(%s, data), %d) value(%s, data) %d" % (src, n, src, n))
        model[n:2 * n] = model[0:n]
        n *= 2
    check(value_read(d, src, "data", big) == bytes(model), "source pattern")
    c0 = sync_counters(d)
    p0 = d.telemetry("/scpp/park")["worker0"]
    b0 = d.stats()["eval_busy_reads"]
    rounds, replies, flooded, read = 0, [], [], []

    def served():
        # Other blocks, back to back from one client process, while the
        # copies run: each has a copy command (below min_bytes: the CPU's),
        # so the copy consumer sees it and counts it if a block is parked
        # on its copies then. Bounded by its count.
        flooded.append(d.flood("copy value(%s, data) value(%s, data) 32" % (x, seed), 3000,
                               client=6, block=200000))

    def reads():
        # And reads of a few destination bytes, back to back: refused with
        # EBUSY while a parked copy writes them (eval_busy_reads), else
        # answered. Bounded by its count.
        read.append(d.flood("let %%b read(offset(value(%s, data), 100), 8) ; return %%b" %
                            dsts[0], 3000, client=7, block=300000))

    t = threading.Thread(target=served)
    t.start()
    tr = threading.Thread(target=reads)
    tr.start()
    try:
        while rounds < 40 and (t.is_alive() or tr.is_alive()):
            dst = dsts[rounds % 2]
            rep = d.one("copy value(%s, data) value(%s, data) %d" % (dst, src, big), client=5,
                        block=100000 + rounds, extra=["--copy-results"])
            replies.append(rep)
            rounds += 1
            check(rep["end"]["outcome"] == "ok", rep)
            # Its result came back with the resumed block: the 4 MiB, moved
            # by the dmadev (the parked copy's save and copy).
            check(copy_result(rep) == (0, 1, big, 1, "dmadev"), rep)
            if rounds >= 4 and sync_counters(d)["served_parked"] > c0["served_parked"] and \
                    d.stats()["eval_busy_reads"] > b0:
                break
    finally:
        t.join()
        tr.join()
    check(flooded and flooded[0]["replies"] == 3000, flooded)
    check(read and read[0]["replies"] == 3000, read)
    busy = d.stats()["eval_busy_reads"] - b0
    check(busy > 0, "no read of a destination met a parked copy in %d rounds" % rounds)
    for f in dsts:
        check(same_value(d, f, src), "parked copy into %s" % f)
    check(value_read(d, dsts[0], "data", big) == bytes(model), "parked copy, byte for byte")
    c1 = sync_counters(d)
    p1 = d.telemetry("/scpp/park")["worker0"]
    # Every one of them was parked and resumed by the loop ...
    check(c1["parks"] - c0["parks"] == rounds and c1["readies"] - c0["readies"] == rounds,
          (rounds, c0, c1))
    check(p1["parks_copy"] - p0["parks_copy"] == rounds and
          p1["resumes"] - p0["resumes"] >= rounds and p1["expired"] == p0["expired"], (p0, p1))
    # ... and the worker served other blocks while one was parked.
    check(c1["served_parked"] > c0["served_parked"], (c0, c1))
    check(c1["parked"] == 0 and c1["async_held"] == 0 and c1["async_pool_used"] == 0, c1)
    check(c1["async_failed"] == 0 and c1["retired"] == 0, c1)
    print("copy_park: %d blocks of one 4 MiB copy, each parked and resumed; %d other blocks "
          "served while one was parked; %d reads of a destination refused (EBUSY)" %
          (rounds, c1["served_parked"] - c0["served_parked"], busy))
    # Once no copy is in flight the same read is answered, with the bytes.
    rep = d.ok("let %%b read(offset(value(%s, data), 100), 8) ; return %%b" % dsts[0])
    check(bytes.fromhex(rep["rows"][0][0]["hex"]) == bytes(model[100:108]), rep)
    # A held block aborted after its copy (resumed, then failed): undone.
    d.ok("copy value(%s, data) value(%s, data) 4000" % (x, seed))
    rep = d.one("copy offset(value(%s, data), 100) value(%s, data) 4000 ; get %s nothing %%y" %
                (dsts[0], x, x))
    check(rep["end"]["outcome"] == "aborted", rep)
    check(same_value(d, dsts[0], src), "an aborted parked copy left bytes behind")


STALL_LEN = 3000


def t_copy_stall(d):
    """A copy that never completes (docs/COPY.md "Stuck copies"): the
    dma_skeleton engine is configured (copy.test_stall_len, test builds
    only) to behave as a device that hangs at its first copy of STALL_LEN
    bytes. A block that set a value, copied 4000 bytes through the engine
    (parked, completed, bytes written by the device) and then asks for the
    stuck copy ends ETIMEDOUT after copy.timeout_ms with everything undone:
    the set, the device-written bytes, the untouched destination. The
    stuck engine is retired (stopped) and later copies go through memcpy."""
    d.ok("return")
    rnd = random.Random(23)
    chunk = bytes(rnd.getrandbits(8) for _ in range(8000))
    old1 = bytes(rnd.getrandbits(8) for _ in range(8000))
    old2 = bytes(rnd.getrandbits(8) for _ in range(8000))
    src = d.ok(mkfile("f", 71, 'set %%f data x"%s" ; return %%f' % chunk.hex()))["rows"][0][0]
    d1 = d.ok(mkfile("f", 72, 'set %%f data x"%s" ; return %%f' % old1.hex()))["rows"][0][0]
    d2 = d.ok(mkfile("f", 73, 'set %%f data x"%s" ; return %%f' % old2.hex()))["rows"][0][0]
    c0 = sync_counters(d)
    check(c0["local_engine"] == "dmadev" and c0["retired"] == 0, c0)
    rep = d.one("set %s size 7u ; copy value(%s, data) value(%s, data) 4000 ; "
                "copy offset(value(%s, data), 10) value(%s, data) %d" %
                (d1, d1, src, d2, src, STALL_LEN),
                extra=["--copy-results", "--wait", str(STALL_TIMEOUT_MS + 15000)])
    st = status_of(rep)
    check(rep["end"]["outcome"] == "aborted" and st["errno_name"] == "ETIMEDOUT" and
          st["command"] == 2 and "copy: the dmadev engine failed after" in st["message"], rep)
    check("copies" not in rep, "an aborted block reported copy results: %s" % rep)
    # Everything undone, byte for byte.
    check(value_hex(d, d1, "data") == old1, "the completed engine copy was not undone")
    check(value_hex(d, d2, "data") == old2, "the stuck copy's destination changed")
    check(d.ok("get %s size %%m ; return %%m" % d1)["rows"] == [[72]], "the set was not undone")
    c1 = sync_counters(d)
    # The first copy went through the engine and the stuck one failed; the
    # engine was retired (stopped, nothing touches memory after) for memcpy.
    check(c1["async_waits"] - c0["async_waits"] == 2 and
          c1["async_failed"] - c0["async_failed"] == 1, (c0, c1))
    check(c1["retired"] == 1 and c1["local_engine"] == "memcpy", c1)
    check(c1["parked"] == 0 and c1["async_held"] == 0 and c1["async_pool_used"] == 0, c1)
    # Later copies work, through memcpy now (the stall was the device's).
    rep = d.ok("copy offset(value(%s, data), 10) value(%s, data) %d" % (d2, src, STALL_LEN),
               extra=["--copy-results"])
    check(copy_result(rep) == (0, 1, STALL_LEN, 1, "memcpy"), rep)
    want = bytearray(old2)
    want[10:10 + STALL_LEN] = chunk[:STALL_LEN]
    check(value_hex(d, d2, "data") == bytes(want), "a copy after the retirement")
    check("the local dmadev engine left a copy stuck" in d.logtext(), "retirement log line")
    print("copy_stall: the stuck copy failed ETIMEDOUT after %d ms, the block was undone, "
          "the engine retired" % STALL_TIMEOUT_MS)


def t_copy_dmadev(d):
    t_copy_local(d, "dmadev")
    t_async_batch(d)
    check("copy: local dmadev dma_skeleton0" in d.logtext(), "start-up line")
    check("Create dma_skeleton0 dmadev with lcore-id 0" in d.logtext(),
          "the skeleton's copy thread is not on the main lcore")


def t_copy_memcpy(d):
    t_copy_local(d, "memcpy")
    t_vma_rewriting(d)


def decode_window(desc):
    check(len(desc) == 128, "descriptor of %d bytes" % len(desc))
    magic, ver, engine, access, addr_len, base, length, key, tag = \
        struct.unpack_from("<4sBBBBQQQI", desc, 0)
    provider = desc[40:64].split(b"\0")[0].decode()
    return {"magic": magic, "version": ver, "engine": engine, "access": access,
            "addr_len": addr_len, "base": base, "length": length, "key": key, "tag": tag,
            "provider": provider, "addr": desc[64:64 + addr_len]}


def t_copy_window(d):
    """With a remote engine, each shard's arena is registered and published
    as an RmaWindow entity of that shard, queryable with get, whose
    attributes agree with its descriptor and with /scpp/copy."""
    tel = d.telemetry("/scpp/copy")
    t = well_known("type", "RmaWindow")
    q = ("get %%w type %s ; get %%w shard %%s ; get %%w length %%l ; get %%w key %%k ; "
         "get %%w engine %%e ; get %%w provider %%p ; get %%w descriptor %%d ; "
         "get %%w node %%n ; get %%w access %%a ; return %%w %%s %%l %%k %%e %%p %%d %%n %%a" % t)
    keys = set()
    for shard in range(2):
        rep = d.ok(q, port=7301 + shard)
        check(len(rep["rows"]) == 1, "one window per shard: %s" % rep)
        w, s, length, key, engine, provider, desc, node, access = rep["rows"][0]
        key = int(key)  # above 2^53 lib/lang prints a u64 as a string
        win = decode_window(bytes.fromhex(desc["hex"]))
        check(s == shard and engine == "fabric" and provider == "shm", rep)
        check(win["magic"] == b"SCWD" and win["version"] == 1 and win["engine"] == 1, win)
        check(win["length"] == length and win["key"] == key and win["provider"] == provider,
              (win, rep["rows"]))
        check(win["access"] == access == 6, win)
        check(length == 8 << 20, "window of %d bytes, the shard's arena is 8 MiB" % length)
        check(node == "@0.1.%x.0.0" % shard, node)
        tw = tel["worker%d" % shard]
        check(tw["remote_engine"] == "fabric" and tw["remote_window"] == w, tw)
        keys.add(key)
    check(len(keys) == 2, "the two windows share a key: %s" % keys)
    check(tel["worker0"]["local_engine"] == "memcpy", tel)


def t_copy_memwin(d):
    """docs/COPY.md "Memory windows": a memory window of the config is
    published as an RmaWindow of kind "memory"; a Process whose vmas map an
    address to an Extent on that window has copies into and out of
    offset(value(P, vmas[ADDR]), 100) land in the window (bytes compared
    after the round trip, /scpp/copy's window counters moved); the bounds
    of the extent and of the window are ERANGE; an Extent naming the
    shard's arena window is refused; an abort writes the window back; a
    client cannot write an RmaWindow."""
    tel = d.telemetry("/scpp/copy")["worker0"]
    mw0 = tel["memory_window0"]
    w, arena = mw0["window"], tel["remote_window"]
    check(mw0["name"] == "vm0" and mw0["length"] == 65536, mw0)
    rep = d.ok("get %s kind %%k ; get %s name %%n ; get %s length %%l ; get %s engine %%e ; "
               "get %s kind %%a ; return %%k %%n %%l %%e %%a" % (w, w, w, w, arena))
    check(rep["rows"] == [["memory", "vm0", 65536, "fabric", "arena"]], rep)
    rnd = random.Random(46)
    chunk = bytes(rnd.getrandbits(8) for _ in range(3000))
    src = d.ok(mkfile("f", 72, 'set %%f data x"%s" ; return %%f' % chunk.hex()))["rows"][0][0]
    dst = d.ok(mkfile("g", 73, 'set %%g data x"%s" ; return %%g' % ("00" * 3000)))["rows"][0][0]
    p, y, z = d.ok(
        'create %m Machine ; set %m hostname "h" ; set %m cores 1u ; set %m memory_bytes 2u ; '
        'create %p Process ; set %p pid 43u ; set %p machine %m ; set %p state "R" ; '
        'set %p comm "a.out" ; set %p uid 0u ; set %p euid 0u ; set %p gid 0u ; set %p egid 0u ; '
        'create %y Extent ; set %y length 8192u ; set %y window ' + w + ' ; '
        'set %y window_offset 4096u ; '
        'create %z Extent ; set %z length 4096u ; set %z window ' + arena + ' ; '
        'set %z window_offset 0u ; '
        'set %p vmas[140737488289792u] %y ; set %p vmas[140737488355328u] %z ; '
        'return %p %y %z')["rows"][0]
    vma = "value(%s, vmas[140737488289792u])" % p
    d.ok("copy offset(%s, 100) value(%s, data) 3000" % (vma, src))
    d.ok("copy value(%s, data) offset(%s, 100) 3000" % (dst, vma))
    check(value_hex(d, dst, "data") == chunk, "the round trip through the window differs")
    m1 = d.telemetry("/scpp/copy")["worker0"]["memory_window0"]
    check(m1["copies_in"] == mw0["copies_in"] + 1 and m1["bytes_in"] == mw0["bytes_in"] + 3000 and
          m1["copies_out"] == mw0["copies_out"] + 1 and
          m1["bytes_out"] == mw0["bytes_out"] + 3000, (mw0, m1))
    # Bounds: the extent's length, then the window's.
    st = status_of(d.one("copy offset(%s, 6000) value(%s, data) 3000" % (vma, src)))
    check(st["errno_name"] == "ERANGE" and st["message"] ==
          "copy: destination range 6000+3000 is outside extent %s of 8192 bytes" % y, st)
    st = status_of(d.one("set %s window_offset 63000u ; copy offset(%s, 100) value(%s, data) "
                         "3000" % (y, vma, src)))
    check(st["errno_name"] == "ERANGE" and st["message"] ==
          "copy: destination range 63100+3000 is outside RmaWindow %s of 65536 bytes" % w, st)
    # The arena window cannot be named by an Extent.
    st = status_of(d.one("copy offset(value(%s, vmas[140737488355328u]), 0) value(%s, data) 100" %
                         (p, src)))
    check(st["errno_name"] == "EOPNOTSUPP" and st["message"] ==
          "copy: the destination is RmaWindow %s + 0 (extent %s), not a memory window of this "
          "shard" % (arena, z), st)
    # An abort later in the block writes the window back.
    rep = d.one("copy offset(%s, 0) value(%s, data) 3000 ; copy value(%s, data) value(%s, nosuch) "
                "1" % (vma, dst, src, src))
    check(status_of(rep)["errno_name"] == "ENOENT", rep)
    d.ok("copy value(%s, data) offset(%s, 0) 3000" % (dst, vma))
    check(value_hex(d, dst, "data") == bytes(100) + chunk[:2900], "the abort left bytes behind")
    # RmaWindow entities are scppd's.
    for blk in ("set %s length 5u" % w, "del %s" % w, "set %s kind \"memory\"" % arena):
        st = status_of(d.one(blk))
        check(st["errno_name"] == "EPERM" and
              "RmaWindow entities are published by scppd" in st["message"], st)
    rep = d.ok("get %s length %%l ; return %%l" % w)
    check(rep["rows"] == [[65536]], rep)


# The first blocks carry kilobytes in several fragments: reassembly gets
# more time than run_test.py's 300 ms on a loaded machine under ASan.
DELIVERY = {"reassembly_slots": 16, "reassembly_timeout_ms": 3000}
# dma_skeleton's copy thread may be starved for seconds on a loaded machine:
# timeouts are not under test here (the engines' own suites test them).
DMA_TIMEOUT_MS = 20000
# The stuck copy waits this long; the others must complete within it.
STALL_TIMEOUT_MS = 10000

TESTS = {
    "copy_dmadev": (t_copy_dmadev, {"cfg_extra": {"delivery": DELIVERY, "copy": {
        "local": "dmadev", "dma_skeleton": True, "min_bytes": MIN_BYTES,
        "sync_max_bytes": 1 << 20, "inflight_bytes": 128 * 1024, "timeout_ms": DMA_TIMEOUT_MS}}}),
    "copy_park": (t_copy_park, {"cfg_extra": {
        # A parked block must not expire because the machine is loaded.
        "delivery": dict(DELIVERY, park_timeout_ms=DMA_TIMEOUT_MS + 5000,
                         retention_ms=2 * DMA_TIMEOUT_MS + 10000),
        "store": {"slab_mb": 48, "entries": 16384, "max_value_bytes": 4 << 20},
        # Hashing a 4 MiB value takes a while under ASan on a loaded machine.
        "eval": {"max_time_us": 5000000},
        "copy": {"local": "dmadev", "dma_skeleton": True, "min_bytes": 4096,
                 "sync_max_bytes": 8 << 20, "inflight_bytes": 16 << 20,
                 "timeout_ms": DMA_TIMEOUT_MS}}}),
    # Test builds only (meson -Dtest_faults=true: the ASan build of make
    # test); tests/integration/meson.build registers it only there.
    "copy_stall": (t_copy_stall, {"cfg_extra": {
        "delivery": dict(DELIVERY, park_timeout_ms=STALL_TIMEOUT_MS + 10000,
                         retention_ms=2 * (STALL_TIMEOUT_MS + 10000)),
        "copy": {"local": "dmadev", "dma_skeleton": True, "min_bytes": MIN_BYTES,
                 "sync_max_bytes": 1 << 20, "inflight_bytes": 128 * 1024,
                 "timeout_ms": STALL_TIMEOUT_MS, "test_stall_len": STALL_LEN}}}),
    "copy_memcpy": (t_copy_memcpy, {"cfg_extra": {"delivery": DELIVERY, "copy": {
        "local": "memcpy", "min_bytes": MIN_BYTES}}}),
    "copy_memwin": (t_copy_memwin, {"cfg_extra": {"delivery": DELIVERY, "copy": {
        "local": "memcpy", "remote": "fabric", "fabric": {"provider": "shm"},
        "memory_windows": [{"name": "vm0", "bytes": 65536}]}}}),
    "copy_window": (t_copy_window, {"workers": 2, "cfg_extra": {"delivery": DELIVERY, "copy": {
        "local": "memcpy", "remote": "fabric", "fabric": {"provider": "shm"}}}}),
}


def main():
    return run_one(TESTS, "run_copy.py")


if __name__ == "__main__":
    sys.exit(main())
