#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Integration tests of scppd: the real daemon on net_tap in a fresh network
namespace, driven over UDP.

    run_test.py NAME        (NAME: see TESTS at the bottom)

Environment (set by tests/integration/meson.build): SCPPD, SCPPD_DRIVE,
SCPP_CLI, SCPP_SOURCE_ROOT; SCPPT_PORT (tap, af_packet, af_xdp: the port
Daemon gives scppd, default tap; the suites here use tap-only tools such as
tap MTU changes). Needs root (network namespaces, tap devices): exits 77
(skip) otherwise.

Every test starts its own daemon in its own namespace with names derived
from the test name and PID, and always cleans up (daemon by PID, namespace,
EAL runtime directory, temporary files), whatever happens. Every wait is
bounded. All traffic stays inside the namespace, on 198.18.0.0/24.
"""

import ctypes
import fcntl
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback

SCPPD = os.environ.get("SCPPD", "build/app/scppd/scppd")
DRIVE = os.environ.get("SCPPD_DRIVE", "build/tests/integration/scppd_drive")
SCPP_CLI = os.environ.get("SCPP_CLI", "build/app/scpp/scpp")
ROOT = os.environ.get("SCPP_SOURCE_ROOT", os.getcwd())
SERVER = "198.18.0.2"
HOST = "198.18.0.1"
CLONE_NEWNET = 0x40000000


class TestFailure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise TestFailure(what)


def sh(*args, check_rc=True, timeout=20):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
    if check_rc and r.returncode != 0:
        raise TestFailure("%s failed (%d): %s" % (" ".join(args), r.returncode, r.stderr.strip()))
    return r


_libc = ctypes.CDLL(None, use_errno=True)


def setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns")


def dgram(kind=1, flags=1, tag_len=0, payload=b"", client=1, block=1, fi=0, fc=1, plen=None,
          cookie=None):
    """A datagram per docs/PROTOCOL.md §5 (fields may be made inconsistent)."""
    if plen is None:
        plen = len(payload)
    if cookie is not None:
        flags |= 2
    return (b"SC" + bytes([1, kind, flags, tag_len]) +
            struct.pack("<HQQII", plen, client, block, fi, fc) + payload + (cookie or b""))


def parse_dgram(d):
    """(kind, flags, client, block, seq, payload) of a datagram."""
    kind, flags, _tag = d[3], d[4], d[5]
    plen, client, block, seq, _count = struct.unpack("<HQQII", d[6:32])
    return kind, flags, client, block, seq, d[32:32 + plen]


def parse_notice(payload):
    """A NOTICE payload (PROTOCOL.md §16.1) as a dict."""
    code, _rsv, retry, rbytes, rdgrams = struct.unpack("<BBHII", payload[:12])
    return {"code": code, "retry_ms": retry, "reply_bytes": rbytes, "reply_dgrams": rdgrams,
            "cookie": payload[12:28]}


def inet_cksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


SIOCETHTOOL = 0x8946
ETHTOOL_STXCSUM = 0x17  # linux/ethtool.h: set TX checksum offload on/off

# The kinds of port a Daemon can give scppd (SCPPT_PORT in the environment
# chooses the default): a tap scppd creates, or one end of a veth pair the
# test creates in the namespace, read by af_packet's PACKET_MMAP ring or an
# AF_XDP socket. Both ends of the veth stay in the namespace; the kernel end
# (Daemon.iface) is where the clients' sockets talk, as the tap's is.
PORTS = ("tap", "af_packet", "af_xdp")
AF_PACKET_FRAMES = 8192
# Jumbo frames on af_packet (Daemon(mtu=9000)): ring frames of 9216 bytes
# (an IP packet of 9000 bytes sits 80 bytes into a frame), 4 to a block of
# 36 KiB (the PMD needs blocksz a multiple of framesz), 2048 frames (the
# kernel takes 64 KiB a block: 32 MiB a ring); mbufs with room for a whole
# ring frame (the PMD refuses an rx queue whose frame, less 32, exceeds the
# room less its 128-byte headroom).
AF_PACKET_JUMBO = "framesz=9216,blocksz=36864,framecnt=2048"
AF_PACKET_JUMBO_ROOM = 128 + 9216 - 32


def tx_csum_off(iface):
    """`ethtool -K IFACE tx off` without ethtool: a veth hands af_packet and
    af_xdp frames whose UDP checksum is only partly computed otherwise
    (docs/OPERATIONS.md). In this process's network namespace."""
    val = ctypes.create_string_buffer(struct.pack("II", ETHTOOL_STXCSUM, 0), 8)
    ifr = struct.pack("16sP", iface.encode(), ctypes.addressof(val)).ljust(40, b"\0")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        fcntl.ioctl(s.fileno(), SIOCETHTOOL, ifr)
    finally:
        s.close()


def arp_answered(iface, mac, tries=60):
    """Does SERVER answer an ARP request sent on @iface (source @mac,
    HOST)? Up to @tries requests, 0.5 s apart: an XDP program attached at
    start can take a moment before the port sees frames."""
    req = (b"\xff" * 6 + mac + b"\x08\x06" + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) +
           mac + socket.inet_aton(HOST) + b"\0" * 6 + socket.inet_aton(SERVER))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
    try:
        s.bind((iface, 0))
        s.settimeout(0.5)
        for _ in range(tries):
            s.send(req)
            end = time.time() + 0.5
            while time.time() < end:
                try:
                    f = s.recv(128)
                except socket.timeout:
                    break
                if len(f) >= 42 and f[20:22] == b"\0\2" and f[28:32] == socket.inet_aton(SERVER):
                    return True
    finally:
        s.close()
    return False


class Daemon:
    """One scppd in its own namespace, with the kernel side of its port."""

    def __init__(self, name, workers=1, cfg_extra=None, port=None, mtu=None):
        tag = "%s%d" % (re.sub("[^a-z]", "", name)[:4], os.getpid() % 100000)
        self.ns = "scppt-" + tag
        self.iface = ("st" + tag)[:14]
        self.port = port or os.environ.get("SCPPT_PORT", "tap")
        if self.port not in PORTS:
            raise TestFailure("port %r: not one of %s" % (self.port, ", ".join(PORTS)))
        # scppd's end of the veth pair (unused with a tap).
        self.veth = self.iface + "d"
        # A jumbo MTU (af_packet only): both veth ends and the port take it.
        self.mtu = mtu
        if mtu is not None and self.port != "af_packet":
            raise TestFailure("mtu=%d: only the af_packet port is set up for it" % mtu)
        self.prefix = "scppt-" + tag
        self.tmp = tempfile.mkdtemp(prefix="scppt-")
        self.proc = None
        self.orig_ns = None
        lcores = "--lcores=0@0,1@1" if workers == 1 else \
            "--lcores=0@0," + ",".join("%d@1" % (i + 1) for i in range(workers))
        self.cfg = {
            "node": {"state_dir": os.path.join(self.tmp, "state"), "name": "it-" + tag},
            "eal": {"file_prefix": self.prefix, "hugepages": "off", "memory_mb": 512,
                    "args": [lcores]},
            "ports": [{"devargs": self.devargs(), "ipv4": SERVER + "/24",
                       "rx_desc": 256, "tx_desc": 256, "mempool_size": 4095,
                       "mempool_cache": 64}],
            "workers": [{"lcore": i + 1, "shard": i} for i in range(workers)],
            "store": {"slab_mb": 8, "entries": 16384},
            "delivery": {"reassembly_slots": 16, "reassembly_timeout_ms": 300},
            "schema": {"files": [os.path.join(ROOT, "schema/core.json"),
                                 os.path.join(ROOT, "schema/posix.json")]},
            "idle": {"enabled": True, "max_sleep_us": 200},
            # The default 1 ms per-block time budget assumes a quiet, optimised
            # build; under ASan on a shared CI machine the suite's larger scans
            # take several ms. The suites test semantics, not speed (the budget
            # itself is tested in unit.eval_adv and by t_budget's own config).
            "eval": {"max_time_us": 100000},
            # The raw datapath tests speak unauthenticated datagrams:
            # "optional" keeps exactly the limits they test.
            "auth": {"mode": "optional"},
        }
        if mtu is not None:
            self.cfg["ports"][0]["mtu"] = mtu
            self.cfg["ports"][0]["mbuf_data_room"] = AF_PACKET_JUMBO_ROOM
        for k, v in (cfg_extra or {}).items():
            # A callable value is computed for this daemon (its paths).
            self.cfg[k] = v(self) if callable(v) else v
        self.block_id = 1000

    def devargs(self):
        if self.port == "af_packet":
            # A ring of 8192 frames, not the PMD's 512: a bulk write has
            # ~230 frames in flight per 4 mount threads, and a worker the
            # kernel preempts on a loaded machine lets 512 overflow (dropped
            # silently: the port's imissed stays 0; the mount retransmits
            # after 200 ms: 4 MiB/s instead of 100 measured, perf/RESULTS.md).
            if self.mtu is not None:
                return "net_af_packet0,iface=%s,%s" % (self.veth, AF_PACKET_JUMBO)
            return "net_af_packet0,iface=%s,framecnt=%d" % (self.veth, AF_PACKET_FRAMES)
        if self.port == "af_xdp":
            return "net_af_xdp0,iface=%s,start_queue=0,queue_count=1" % self.veth
        return "net_tap0,iface=%s" % self.iface

    # -- lifecycle -------------------------------------------------------

    def make_veth(self):
        """The veth pair, both ends in the namespace: scppd's end up with no
        address and no IPv6 (the kernel neither answers nor sends on it),
        the kernel end's checksum offload off (it is brought up with its
        address after scppd starts, as a tap's is)."""
        sh("ip", "-n", self.ns, "link", "add", self.iface, "type", "veth",
           "peer", "name", self.veth)
        for i in (self.iface, self.veth):
            sh("ip", "netns", "exec", self.ns, "sysctl", "-qw",
               "net.ipv6.conf.%s.disable_ipv6=1" % i)
            if self.mtu is not None:
                sh("ip", "-n", self.ns, "link", "set", i, "mtu", str(self.mtu))
        back = os.open("/proc/self/ns/net", os.O_RDONLY)
        fd = os.open("/var/run/netns/" + self.ns, os.O_RDONLY)
        try:
            setns(fd)
            tx_csum_off(self.iface)
        finally:
            setns(back)
            os.close(back)
            os.close(fd)
        sh("ip", "-n", self.ns, "link", "set", self.veth, "up")

    def kernel_side_up(self):
        """The kernel side's address, up (a tap is new at every start of
        scppd; a veth keeps its address across restarts)."""
        have = sh("ip", "-n", self.ns, "-o", "-4", "addr", "show", "dev", self.iface).stdout
        if (" %s/" % HOST) not in have:
            sh("ip", "-n", self.ns, "addr", "add", HOST + "/24", "dev", self.iface)
        sh("ip", "netns", "exec", self.ns, "sysctl", "-qw",
           "net.ipv6.conf.%s.disable_ipv6=1" % self.iface, check_rc=False)
        sh("ip", "-n", self.ns, "link", "set", self.iface, "up")

    def start(self):
        path = os.path.join(self.tmp, "scppd.json")
        with open(path, "w") as f:
            json.dump(self.cfg, f)
        sh("ip", "netns", "add", self.ns)
        sh("ip", "-n", self.ns, "link", "set", "lo", "up")
        if self.port != "tap":
            self.make_veth()
        self.logpath = os.path.join(self.tmp, "scppd.log")
        self.log = open(self.logpath, "w")
        # `ip netns exec` execs the command: self.proc.pid is scppd's PID.
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.ns, SCPPD, "--config", path],
                                     stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = time.time() + 40
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise TestFailure("scppd exited with %d at start:\n%s" %
                                  (self.proc.returncode, self.logtext()))
            if "ready:" in self.logtext():
                break
            time.sleep(0.1)
        else:
            raise TestFailure("scppd not ready after 40 s:\n" + self.logtext())
        # The port asked for is the one scppd opened (port.c's start line).
        driver = "(driver net_%s)" % self.port
        check(driver in self.logtext(), "scppd's port is not %s:\n%s" % (driver, self.logtext()))
        self.kernel_side_up()
        # Move this process into the namespace: sockets and the driver
        # then talk to the appliance directly.
        self.orig_ns = os.open("/proc/self/ns/net", os.O_RDONLY)
        fd = os.open("/var/run/netns/" + self.ns, os.O_RDONLY)
        setns(fd)
        os.close(fd)
        if self.port != "tap":
            out = sh("ip", "-o", "link", "show", self.iface).stdout.split()
            mac = bytes.fromhex(out[out.index("link/ether") + 1].replace(":", ""))
            check(arp_answered(self.iface, mac),
                  "scppd on %s answers no ARP on %s:\n%s" % (self.port, self.iface,
                                                           self.logtext()))
        return self

    def logtext(self):
        try:
            with open(self.logpath) as f:
                return f.read()
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """Graceful stop (SIGTERM); returns scppd's exit code."""
        rc = None
        if self.orig_ns is not None:
            setns(self.orig_ns)
            os.close(self.orig_ns)
            self.orig_ns = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    rc = self.proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=10)
                    rc = "killed after SIGTERM timeout"
            else:
                rc = self.proc.returncode
        return rc

    def cleanup(self):
        self.stop()
        sh("ip", "netns", "del", self.ns, check_rc=False)
        shutil.rmtree("/var/run/dpdk/" + self.prefix, ignore_errors=True)
        if os.environ.get("SCPPT_KEEP"):
            print("kept", self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- traffic -------------------------------------------------------

    def drive(self, text, port=7300, block=None, client=1, times=1, dgram_size=None,
              extra=None, timeout=30):
        """Run scppd_drive exec; returns ([(reply, meta) per send], between)."""
        if block is None:
            self.block_id += 1
            block = self.block_id
        args = [DRIVE, "exec", SERVER, str(port), text, "--client", str(client),
                "--block", str(block), "--times", str(times)]
        if dgram_size:
            args += ["--dgram", str(dgram_size)]
        args += [str(a) for a in (extra or [])]
        r = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise TestFailure("block failed (%d): %s\n%s\nstderr: %s" %
                              (r.returncode, text, r.stdout, r.stderr))
        out, between, last = [], None, None
        for line in r.stdout.splitlines():
            if line.startswith("between "):
                between = json.loads(line[8:])
            elif line.startswith("meta "):
                out.append((last, json.loads(line[5:])))
            else:
                last = json.loads(line)
        check(len(out) == times, "expected %d replies, got %d" % (times, len(out)))
        return out, between

    def run(self, text, port=7300, block=None, client=1, times=1, dgram_size=None, extra=None):
        """Run a block; returns the list of (reply, meta) per send."""
        return self.drive(text, port=port, block=block, client=client, times=times,
                          dgram_size=dgram_size, extra=extra)[0]

    def flood(self, text, count, client, block, port=7300, extra=None):
        """count blocks one at a time (ids block..); returns the counts."""
        args = [DRIVE, "flood", SERVER, str(port), text, "--count", str(count),
                "--client", str(client), "--block", str(block)]
        args += [str(a) for a in (extra or [])]
        r = subprocess.run(args, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise TestFailure("flood failed (%d): %s\nstderr: %s" %
                              (r.returncode, r.stdout, r.stderr))
        return json.loads(r.stdout.splitlines()[-1])

    def add_addr(self, addr):
        """Another address for clients on the kernel side of the tap."""
        sh("ip", "-n", self.ns, "addr", "add", addr + "/24", "dev", self.iface)

    def stats(self):
        return self.telemetry("/scpp/stats")

    def check_accounting(self, st=None):
        """Every frame counted once: answered, consumed, dropped or held."""
        st = st or self.stats()
        frame_drops = sum(v for k, v in st["drops"].items() if not k.startswith("port_"))
        # The session layer takes some datagrams before lib/delivery
        # (scppd.h, struct scppd_stats) and passes some between workers.
        auth = (st["auth_hs"] + st["auth_hs_full"] + st["auth_rejected"] + st["auth_close"] +
                st["auth_off_drop"] + st["auth_wrong_lane"])
        # cont.c takes continuation datagrams (kinds 6, 7) before it too.
        check(st["delivered"] + st["auth_handoff_in"] == st["dgrams"] + auth + st["cont_dgrams"],
              "lib/net delivered != lib/delivery dgrams + the session layer's + cont.c's: %s"
              % st)
        total = (st["arp_replies"] + st["icmp_echo"] + st["dgrams_consumed"] + frame_drops +
                 st["reasm_frames_held"] + auth - st["auth_handoff_in"] + st["cont_dgrams"])
        check(st["rx_pkts"] == total,
              "rx_pkts %d != answered + consumed + dropped + held = %d: %s" %
              (st["rx_pkts"], total, st))

    def one(self, text, **kw):
        return self.run(text, **kw)[0][0]

    def ok(self, text, **kw):
        rep = self.one(text, **kw)
        check(rep["end"]["outcome"] == "ok", "block not ok: %s -> %s" % (text, rep))
        return rep

    def send_raw(self, payloads, port=7300):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for p in payloads:
            s.sendto(p, (SERVER, port))
        s.close()

    def send_frames(self, frames):
        """Raw Ethernet frames on the kernel side of the tap."""
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind((self.iface, 0))
        for f in frames:
            s.send(f)
        s.close()

    def macs(self):
        # /sys/class/net shows the namespace sysfs was mounted in: ask ip.
        out = sh("ip", "-o", "link", "show", self.iface).stdout.split()
        mine = bytes.fromhex(out[out.index("link/ether") + 1].replace(":", ""))
        out = sh("ip", "neigh", "show", SERVER).stdout.split()
        theirs = bytes.fromhex(out[out.index("lladdr") + 1].replace(":", ""))
        return mine, theirs

    def telemetry(self, cmd):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.settimeout(5)
        s.connect("/var/run/dpdk/%s/dpdk_telemetry.v2" % self.prefix)
        s.recv(16384)
        s.send(cmd.encode())
        data = json.loads(s.recv(1 << 20).decode())
        s.close()
        return data[cmd.split(",")[0]]

    def entities(self):
        return sum(w["entities"] for w in self.telemetry("/scpp/shards").values())


def udp_frame(src_mac, dst_mac, payload, sport=40000, dport=7300, bad_ip_cksum=False,
              bad_udp_cksum=False, frag=False):
    src = socket.inet_aton(HOST)
    dst = socket.inet_aton(SERVER)
    udp_len = 8 + len(payload)
    ph = src + dst + struct.pack("!BBH", 0, 17, udp_len)
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
    c = inet_cksum(ph + udp) or 0xffff
    if bad_udp_cksum:
        c ^= 0x5a5a
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 1,
                     0x2000 if frag else 0x4000, 64, 17, 0, src, dst)
    ic = inet_cksum(ip)
    if bad_ip_cksum:
        ic ^= 0x1111
    ip = ip[:10] + struct.pack("!H", ic) + ip[12:]
    return dst_mac + src_mac + b"\x08\x00" + ip + udp


# ---- helpers for blocks --------------------------------------------------

def user(name, uid):
    return ('create %%u User ; set %%u uid %du ; set %%u name "%s" ; set %%u gid %du ; '
            'return %%u' % (uid, name, uid))


MKDIR = ('create %{0} Directory ; set %{0} ino {1}u ; set %{0} dev 1u ; '
         'set %{0} mode 16877u ; set %{0} uid 0u ; set %{0} gid 0u ; ')


def mkfile(var, ino, extra=""):
    return ('create %{0} File ; set %{0} ino {1}u ; set %{0} dev 1u ; set %{0} mode 33188u ; '
            'set %{0} uid 0u ; set %{0} gid 0u ; set %{0} size {1}u ; {2}').format(var, ino, extra)


def status_of(rep):
    check(rep["statuses"], "expected a status: %s" % rep)
    return rep["statuses"][0]["fields"]


# ---- tests -----------------------------------------------------------------

def t_basic(d):
    rep = d.ok("return")
    check(rep["columns"] == [], rep)
    # ICMP echo through the appliance.
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.settimeout(2)
    body = b"scpp-ping"
    hdr = struct.pack("!BBHHH", 8, 0, 0, 0x1234, 1)
    c = inet_cksum(hdr + body)
    s.sendto(struct.pack("!BBHHH", 8, 0, c, 0x1234, 1) + body, (SERVER, 0))
    deadline = time.time() + 3
    got = False
    while time.time() < deadline and not got:
        try:
            pkt, _ = s.recvfrom(2048)
        except socket.timeout:
            break
        ihl = (pkt[0] & 15) * 4
        got = pkt[ihl] == 0 and pkt[ihl + 8:] == body
    check(got, "no ICMP echo reply")
    st = d.telemetry("/scpp/stats")
    check(st["arp_replies"] >= 1 and st["icmp_echo"] == 1, st)
    d.check_accounting(st)


def t_seed_examples(d):
    a = d.ok(user("x", 10))["rows"][0][0]
    b = d.ok(user("y", 11))["rows"][0][0]
    # Seed: copy one attribute.
    d.ok("get %s name %%1 ; set %s name %%1" % (a, b))
    check(d.ok("get %s name %%v" % b)["rows"] == [["x"]], "name not copied")
    # Seed: copy every attribute (two Files; A's attributes overwrite B's).
    fa = d.ok(mkfile("f", 7, 'set %f data x"00ff" ; return %f'))["rows"][0][0]
    fb = d.ok(mkfile("f", 8, "return %f"))["rows"][0][0]
    rep = d.ok("get %s %%1 %%2 ; set %s %%1 %%2 ; return" % (fa, fb))
    check(rep["end"]["rows"] >= 8, rep)
    ra = sorted(map(json.dumps, d.ok("get %s %%a %%v" % fa)["rows"]))
    rb = sorted(map(json.dumps, d.ok("get %s %%a %%v" % fb)["rows"]))
    check(ra == rb and len(ra) >= 8, "attributes differ:\n%s\n%s" % (ra, rb))


def t_paths(d):
    build = (MKDIR.format("r", 2) + MKDIR.format("a", 3) + MKDIR.format("b", 4) +
             mkfile("f", 5) +
             'set %r entries["a"] %a ; set %a entries["b"] %b ; set %b entries["passwd"] %f ; '
             "return %r %f")
    root, leaf = d.ok(build)["rows"][0]
    rep = d.ok('get %s entries["a"] %%1 ; get %%1 entries["b"] %%2 ; '
               'get %%2 entries["passwd"] %%file ; get %%file size %%size ; return %%file %%size'
               % root)
    check(rep["rows"] == [[leaf, 5]], rep)
    check(rep["end"]["commands"] == 4, rep)
    rep = d.one('get %s entries["a"] %%1 ; get %%1 entries["nope"] %%2 ; return %%2' % root)
    check(rep["end"]["outcome"] == "aborted" and rep["end"]["errno_name"] == "ENOENT", rep)
    check(status_of(rep)["command"] == 1, rep)
    # Enumerate a directory's entries.
    rep = d.ok('get %s entries[%%name] %%e ; return %%name' % root)
    check(rep["rows"] == [["a"]], rep)


def t_fast_path(d):
    """Blocks of fully keyed gets run on the evaluator's fast path (looked
    up in bursts, staged per rx burst) and their one-datagram replies leave
    from the request's own frame; the results are the general path's, a
    miss included (the general path reports it)."""
    users = [d.ok(user("fast%d" % i, 100 + i))["rows"][0][0] for i in range(6)]
    st0 = d.telemetry("/scpp/stats")
    text = " ; ".join("get %s name %%n%d ; get %s uid %%u%d" % (u, i, u, i)
                      for i, u in enumerate(users))
    rep = d.ok(text)
    want = []
    for i in range(6):
        want += ["fast%d" % i, 100 + i]
    check(rep["rows"] == [want], rep)
    check(rep["end"]["commands"] == 12, rep)
    # `shell` is a User attribute these users do not have: a miss.
    rep = d.one("get %s name %%n ; get %s shell %%x ; return %%n %%x" % (users[0], users[1]))
    check(rep["end"]["outcome"] == "aborted" and rep["end"]["errno_name"] == "ENOENT", rep)
    check(status_of(rep)["command"] == 1, rep)
    st = d.telemetry("/scpp/stats")
    check(st["eval_fast_blocks"] - st0["eval_fast_blocks"] == 1, st)
    check(st["eval_fast_cmds"] - st0["eval_fast_cmds"] == 12, st)
    check(st["eval_fast_restarts"] - st0["eval_fast_restarts"] == 1, st)
    check(st["tx_direct"] - st0["tx_direct"] >= 1, st)
    d.check_accounting(st)


def t_construction(d):
    before = d.entities()
    # Missing required attributes: validated at the end of the block.
    rep = d.one("create %d Directory ; set %d ino 2u ; set %d dev 1u ; return")
    check(rep["end"]["outcome"] == "aborted" and rep["end"]["errno_name"] == "EINVAL", rep)
    check("mode" in status_of(rep)["message"], rep)
    # Wrong value type.
    rep = d.one(MKDIR.format("d", 9) + 'set %d ino "two" ; return')
    check(rep["end"]["outcome"] == "aborted", rep)
    check("expected u64" in status_of(rep)["message"], rep)
    # Undeclared attribute.
    rep = d.one(MKDIR.format("d", 9) + 'set %d colour "red" ; return')
    check(rep["end"]["outcome"] == "aborted", rep)
    # Unknown type.
    rep = d.one("create %d NoSuchType")
    check(rep["end"]["errno_name"] == "ENOENT", rep)
    check(d.entities() == before, "a failed construction changed the store")
    # Complete: created, with defaults filled.
    d.ok(MKDIR.format("d", 9) + "return")
    check(d.entities() == before + 1, "the valid object was not created")
    # A status variable collects the error and the block goes on.
    rep = d.one(user("z", 3)[:-len("return %u")] + 'set %u shell 5 !%err ; return %u %err')
    check(rep["end"]["outcome"] == "errors", rep)


def t_schema_queries(d):
    rep = d.ok('get %t name "Directory" ; get %t type %mt ; get %mt name %n ; return %n')
    check(rep["rows"] == [["Type"]], rep)
    rep = d.ok('get %t name "File" ; get %t attributes[%a] %decl ; return %a')
    names = {r[0] for r in rep["rows"]}
    check({"ino", "size", "mode", "data"} <= names, rep)
    rep = d.ok('get %t name "User" ; get %t attributes["uid"] %a ; get %a required %r ; '
               'get %a value_type %vt ; return %r %vt')
    check(rep["rows"] == [[True, "u64"]], rep)


def t_cross_core(d):
    st0 = d.telemetry("/scpp/shards")
    # Shard 1's own port: the OID is minted under shard 1's prefix.
    u = d.ok(user("bee", 20), port=7302)["rows"][0][0]
    check(u.startswith("@0.1.1."), "minted on the wrong shard: " + u)
    # A block for shard B (its OID) sent to shard A's port runs on B.
    rep = d.ok("get %s name %%n ; return %%n" % u, port=7301)
    check(rep["rows"] == [["bee"]], rep)
    # ... and what it creates is minted on B.
    rep = d.ok("get %s name %%n ; create %%x User ; set %%x uid 21u ; set %%x name %%n ; "
               "set %%x gid 21u ; return %%x" % u, port=7301)
    check(rep["rows"][0][0].startswith("@0.1.1."), rep)
    # Shard 0's port without an OID runs on shard 0.
    u0 = d.ok(user("ay", 22), port=7301)["rows"][0][0]
    check(u0.startswith("@0.1.0."), u0)
    # Base port, OID of shard 0.
    check(d.ok("get %s name %%n" % u0, port=7300)["rows"] == [["ay"]], "base port")
    st = d.telemetry("/scpp/stats")
    # Which worker receives a datagram depends on the kernel's choice of
    # tap queue, so the number of hand-offs varies from run to run; the
    # prefixes above prove where each block ran.
    check(st["handoff_in"] == st["handoff_out"], st)
    shards = d.telemetry("/scpp/shards")
    check(shards["worker1"]["entities"] == st0["worker1"]["entities"] + 2, shards)
    check(shards["worker0"]["entities"] == st0["worker0"]["entities"] + 1, shards)
    routes = d.telemetry("/scpp/routes")
    check(len(routes) == 2, routes)


def t_retransmit(d):
    before = d.entities()
    out = d.run(user("retx", 30), block=777, client=42, times=2)
    (r1, m1), (r2, m2) = out
    check(m1["hex"] == m2["hex"], "retransmission got a different reply")
    check(d.entities() == before + 1, "block executed twice")
    rep = d.ok('get %u name "retx" ; return %u')
    check(len(rep["rows"]) == 1, rep)
    check(d.telemetry("/scpp/stats")["cache_hits"] == 1, "no cache hit")
    # Same block id from another client is another block.
    d.run(user("retx", 31), block=777, client=43)
    check(d.entities() == before + 2, "client id not part of the key")
    # Same client and block id from another source port (a new process)
    # is another client: it runs its own block, and never gets the first
    # client's cached reply.
    r3 = d.one(user("retx", 32), block=777, client=42)
    check(d.entities() == before + 3, "source port not part of the key")
    check(r3["rows"][0][0] != r1["rows"][0][0], "another source got the cached reply")


def t_retransmit_read(d):
    """PROTOCOL.md 16.2, read-only blocks: a retransmitted read-only block is
    evaluated again (its one-datagram reply went out at once, neither held
    nor recorded) and answers with the value as it is then; a retransmitted
    mutating block from the same socket is answered from its held reply,
    byte for byte, and not run again."""
    u = d.ok(user("rread", 40))["rows"][0][0]
    q = "get %s uid %%i ; get %s name %%n ; return %%i %%n" % (u, u)
    # Unchanged in between: the same answer, evaluated twice.
    st0 = d.stats()
    (r1, m1), (r2, m2) = d.run(q, block=600, client=61, times=2)
    check(r1["rows"] == r2["rows"] == [[40, "rread"]], (r1, r2))
    check(r1["columns"] == r2["columns"] and r1["end"]["outcome"] == r2["end"]["outcome"] == "ok",
          (r1, r2))
    check(m1["dgrams"] == m2["dgrams"] == 1, (m1, m2))
    st = d.stats()
    check(st["executed"] - st0["executed"] == 2, "the read was not evaluated again")
    check(st["reads"] - st0["reads"] == 2 and st["reads_unheld"] - st0["reads_unheld"] == 2, st)
    check(st["cache_hits"] == st0["cache_hits"] and st["replies_kept"] == st0["replies_kept"], st)
    # Changed in between (a set from the same client): the retransmission
    # sees the new value.
    out, between = d.drive(q, block=610, client=61, times=2,
                           extra=["--between", 1, "--between-text", "set %s uid 41u" % u])
    (r1, m1), (r2, m2) = out
    check(between["replies"] == 1, between)
    check(r1["rows"] == [[40, "rread"]] and r2["rows"] == [[41, "rread"]], out)
    st1 = d.stats()
    check(st1["executed"] - st["executed"] == 3, (st["executed"], st1["executed"]))
    check(st1["reads_unheld"] - st["reads_unheld"] == 2, st1)
    check(st1["replies_kept"] - st["replies_kept"] == 1, st1)  # the set's
    check(st1["cache_hits"] == st["cache_hits"], st1)
    # A mutating block: its retransmission is its held reply, not a new run.
    (r1, m1), (r2, m2) = d.run('get %s uid %%i ; set %s gid 42u ; return %%i' % (u, u),
                               block=700, client=61, times=2)
    check(r1["rows"] == [[41]] and m1["hex"] == m2["hex"], (m1, m2))
    st2 = d.stats()
    check(st2["executed"] - st1["executed"] == 1, "the mutating block ran twice")
    check(st2["cache_hits"] - st1["cache_hits"] == 1, st2)
    check(st2["replies_kept"] - st1["replies_kept"] == 1, st2)
    check(st2["reads"] == st1["reads"], st2)
    check(d.ok("get %s gid %%g ; return %%g" % u)["rows"] == [[42]], "gid not written")
    d.check_accounting()


def t_retransmit_after_load(d):
    """A block retransmitted after 10 000 later blocks is answered from its
    held reply, byte for byte, and not executed again: first with the later
    blocks from the same client (its window slides 10 000 ids past it), then
    from another client on the same socket."""
    # The blocks between write (a read-only block is not recorded, so it
    # would neither slide the window nor take room in the reply cache).
    pad = d.ok(user("loadpad", 69))["rows"][0][0]
    for tag, extra in (("same", []), ("other", ["--between-client", 88])):
        before = d.entities()
        st0 = d.stats()
        out, between = d.drive(user("load" + tag, 70), block=5000, client=77 if tag == "same" else 78,
                               times=2, timeout=300,
                               extra=["--between", 10000,
                                      "--between-text", "set %s gid 69u" % pad] + extra)
        (r1, m1), (r2, m2) = out
        check(between == {"replies": 10000, "notices": 0, "timeouts": 0}, between)
        check(m1["hex"] == m2["hex"] and r2 == r1, "the retransmission got another reply")
        check(d.entities() == before + 1, "the retransmitted create ran twice")
        st = d.stats()
        check(st["executed"] - st0["executed"] == 10001, (st0["executed"], st["executed"]))
        check(st["cache_hits"] - st0["cache_hits"] == 1, "not answered from the held reply")
        check(st["notices"]["reply_lost"] == 0 and st["cache_pressure"] == 0, st)
    d.check_accounting()


def t_reply_lost(d):
    """With a reply cache of 16 entries, 40 later blocks push the reply out;
    the retransmission is answered REPLY_LOST and still not executed. (The
    later blocks write: a read-only block's reply is not held.)"""
    pad = d.ok(user("lostpad", 79))["rows"][0][0]
    before = d.entities()
    out, between = d.drive(user("lost", 80), block=9000, client=5, times=2,
                           extra=["--between", 40, "--between-text", "set %s gid 79u" % pad])
    (r1, m1), (r2, m2) = out
    check(r1["end"]["outcome"] == "ok", r1)
    check(r2.get("notice") == "reply_lost", r2)
    check(between["replies"] == 40, between)
    check(d.entities() == before + 1, "executed again after its reply was lost")
    st = d.stats()
    check(st["notices"]["reply_lost"] == 1 and st["cache_pressure"] >= 24, st)
    check(st["executed"] == 42, st)


def rand_bytes(seed, n):
    rnd = random.Random(seed)
    return bytes(rnd.getrandbits(8) for _ in range(n))


def t_large_reply(d):
    data = rand_bytes(7, 6000)
    f = d.ok(mkfile("f", 40, 'set %%f data x"%s" ; return %%f' % data.hex()))["rows"][0][0]
    rep, meta = d.run("get %s data %%d ; return %%d" % f)[0]
    check(meta["dgrams"] >= 5 and meta["bytes"] > 6000, meta)
    check(rep["rows"] == [[{"hex": data.hex()}]], "the bytes came back different")
    # Many rows: enumerate 200 users, each exactly once.
    for i in range(4):
        d.ok(";".join(user("u%d_%d" % (i, j), 100 + i * 50 + j)[:-len(" return %u")]
                      .replace("%u", "%%u%d" % j) for j in range(50)) + " ; return")
    rep, meta = d.run('get %u uid %id ; get %u type %t ; get %t name "User" ; '
                      'get %u name %n ; return %id %n')[0]
    rows = sorted((r[0], r[1]) for r in rep["rows"])
    check(rows == [(100 + i * 50 + j, "u%d_%d" % (i, j)) for i in range(4) for j in range(50)],
          "users: %s" % rows[:5])
    check(meta["dgrams"] >= 2, meta)


def t_fragments(d):
    data = bytes.fromhex("ab" * 3000)
    f = d.ok(mkfile("f", 50, 'set %f data x"' + data.hex() + '" ; return %f'),
             dgram_size=200)["rows"][0][0]
    st = d.telemetry("/scpp/stats")
    check(st["reasm_done"] >= 1 and st["reasm_started"] >= 1, st)
    rep = d.ok("get %s size %%s ; return %%s" % f, dgram_size=40)
    check(rep["rows"] == [[50]], rep)
    rep = d.ok("get %s data %%d ; return %%d" % f)
    check(rep["rows"] == [[{"hex": data.hex()}]], "fragmented block stored other bytes")
    d.check_accounting()


def t_frag_flood(d):
    """One source floods first fragments that never complete; another
    source's fragmented blocks all succeed, because a source holds at most
    reassembly_per_source slots."""
    import threading
    d.add_addr("198.18.0.10")
    d.ok("return")
    stop = threading.Event()
    sent = [0]

    def flooder():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((HOST, 0))
        junk = bytes(20)
        for i in range(4000):  # bounded, and paced so the port keeps up
            if stop.is_set():
                break
            s.sendto(dgram(flags=0, fi=0, fc=4, client=9, block=100000 + i, payload=junk),
                     (SERVER, 7300))
            sent[0] += 1
            if i % 10 == 9:
                time.sleep(0.001)
        s.close()

    th = threading.Thread(target=flooder)
    th.start()
    made = []
    try:
        while sent[0] < 200:
            time.sleep(0.01)
        for i in range(20):
            data = rand_bytes(100 + i, 1500)
            rep = d.ok(mkfile("f", 300 + i, 'set %%f data x"%s" ; return %%f' % data.hex()),
                       dgram_size=200, extra=["--bind", "198.18.0.10"])
            made.append((rep["rows"][0][0], data))
    finally:
        stop.set()
        th.join(timeout=30)
    check(sent[0] >= 200, "the flood did not run")
    for oid, data in made[:3]:
        rep = d.ok("get %s data %%d ; return %%d" % oid, extra=["--bind", "198.18.0.10"])
        check(rep["rows"] == [[{"hex": data.hex()}]], "stored bytes differ")
    time.sleep(0.8)  # the flood's slots time out (300 ms) and are scanned
    d.ok("return")
    st = d.stats()
    check(st["drops"]["reasm_quota"] > 0, st["drops"])
    check(st["reasm_done"] >= 20, st)
    check(d.telemetry("/scpp/shards")["worker0"]["reassembly_in_use"] == 0, "slots leaked")
    d.check_accounting(st if st["reasm_frames_held"] == 0 else None)


def t_amplification(d):
    """A reply over 3x its request to an unproven source is cookie-gated;
    with the cookie it comes whole; the CLI gets it transparently."""
    data = rand_bytes(11, 6000)
    f = d.ok(mkfile("f", 60, 'set %%f data x"%s" ; return %%f' % data.hex()))["rows"][0][0]
    q = "get %s data %%d ; return %%d" % f
    st0 = d.stats()
    rep, meta = d.run(q, extra=["--no-cookie"])[0]
    check(rep.get("notice") == "cookie", rep)
    check(rep["reply_bytes"] > 6000 and rep["reply_dgrams"] >= 5, rep)
    check(meta["dgrams"] == 0, "reply datagrams came before the cookie: %s" % meta)
    st = d.stats()
    check(st["amp_limited"] == st0["amp_limited"] + 1, "amp_limited did not move")
    check(st["executed"] == st0["executed"] + 1, "the block must still run once")
    # With the cookie round trip (a new client: it runs again, once).
    rep, meta = d.run(q)[0]
    check(meta["cookie_rounds"] == 1 and len(meta["cookie"]) == 32, meta)
    check(rep["rows"] == [[{"hex": data.hex()}]], "bytes differ after the cookie round")
    check(d.stats()["cookies_valid"] >= 1, "no cookie was checked")
    # A cookie for another address proves nothing: the same block with the
    # cookie just issued, from another process (another source port).
    rep, _ = d.run(q, extra=["--no-cookie", "--cookie", meta["cookie"]])[0]
    check(rep.get("notice") == "cookie", "a cookie worked from another port: %s" % rep)
    check(d.stats()["cookies_invalid"] >= 1, "the foreign cookie was not counted")
    # Small replies need no cookie.
    _, m = d.run("return")[0]
    check(m["cookie_rounds"] == 0, m)
    # The CLI over lib/client: every reply, cookie or not.
    r = subprocess.run([SCPP_CLI, "--server", SERVER + ":7300", "--json", "exec", q],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, "scpp failed: %s %s" % (r.stdout, r.stderr))
    rep = json.loads(r.stdout.splitlines()[0])
    check(rep["rows"] == [[{"hex": data.hex()}]], "the CLI got other bytes")


def t_refetch(d):
    """A lost reply datagram is fetched alone, not the whole reply again."""
    data = rand_bytes(13, 9000)
    f = d.ok(mkfile("f", 61, 'set %%f data x"%s" ; return %%f' % data.hex()))["rows"][0][0]
    st0 = d.stats()
    rep, meta = d.run("get %s data %%d ; return %%d" % f, extra=["--drop-seq", 3])[0]
    check(meta["fetches"] == 1, meta)
    check(rep["rows"] == [[{"hex": data.hex()}]], "refetched reply differs")
    st = d.stats()
    check(st["fetches"] == st0["fetches"] + 1, "no FETCH arrived")
    check(st["fetch_dgrams"] == st0["fetch_dgrams"] + 1, "more than the missing datagram")
    check(st["cache_hits"] == st0["cache_hits"] + meta["cookie_rounds"], st)


def t_over_mtu(d):
    """Frames of exactly the MTU are served, one byte more or a jumbo frame
    are dropped and counted, whatever the port lets through."""
    d.ok("return")
    mine, theirs = d.macs()
    sh("ip", "-n", d.ns, "link", "set", d.iface, "mtu", "9000")

    def block_of(n):
        text = 'get %%e junk_attr "%s"' % ("a" * n)
        return bytes.fromhex(subprocess.run([DRIVE, "encode", text], capture_output=True,
                                            text=True).stdout.strip())

    def block_sized(want):
        n = want - len(block_of(0))
        while len(block_of(n)) > want:  # the string's length varint grows
            n -= 1
        b = block_of(n)
        check(len(b) == want, "no block of %d bytes" % want)
        return b

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((HOST, 40000))
    s.settimeout(2)
    frames = {}
    for name, size in (("mtu", 1500), ("over", 1501), ("jumbo", 9000)):
        b = block_sized(size - 28 - 32)
        frames[name] = udp_frame(mine, theirs, dgram(payload=b, client=11, block=len(frames) + 1),
                                 sport=40000)
        check(len(frames[name]) == size + 14, (name, len(frames[name])))
    st0 = d.stats()
    d.send_frames([frames["mtu"]])
    r = s.recv(65536)
    check(r[3] == 2 and struct.unpack("<Q", r[16:24])[0] == 1, "no reply at the MTU")
    d.send_frames([frames["over"], frames["jumbo"]])
    s.settimeout(0.5)
    try:
        r = s.recv(65536)
        raise TestFailure("a frame over the MTU was answered: %r" % r[:32])
    except socket.timeout:
        pass
    s.close()
    st = d.stats()
    dd = {k: st["drops"][k] - st0["drops"][k] for k in st["drops"]}
    check(dd["over_mtu"] >= 1, dd)
    check(dd["over_mtu"] + dd["port_ierrors"] + dd["port_imissed"] + dd["multi_segment"] >= 2, dd)
    d.check_accounting(st)


def t_handoff(d):
    """Blocks for both shards from one socket (one queue, one receiving
    worker): one shard's blocks are handed to the other worker, which runs
    them and answers the retransmission from its held reply."""
    u0 = d.ok(user("h0", 90), port=7301)["rows"][0][0]
    u1 = d.ok(user("h1", 91), port=7302)["rows"][0][0]
    check(u0.startswith("@0.1.0.") and u1.startswith("@0.1.1."), (u0, u1))
    st0 = d.stats()
    # A block that writes: a read-only one's reply would not be held.
    out, between = d.drive('get %s name %%n ; set %s gid 90u ; return %%n' % (u0, u0), times=2,
                           extra=["--between", 1, "--between-text",
                                  "get %s name %%n ; return %%n" % u1])
    check(out[0][0]["rows"] == [["h0"]] and out[1][1]["hex"] == out[0][1]["hex"], out)
    check(between["replies"] == 1, between)
    st = d.stats()
    ho = st["handoff_out"] - st0["handoff_out"]
    check(ho >= 1, "no hand-off happened: %s" % st)
    check(st["handoff_in"] - st0["handoff_in"] == ho, st)
    check(st["cache_hits"] - st0["cache_hits"] == 1, st)
    check(st["message_drops"]["handoff_full"] == 0, st)
    d.check_accounting(st)


def t_not_here(d):
    (rep, meta), = d.run("get @0.2.0.1.5 name %n")
    f = status_of(rep)
    check(f["code"] == "E_NOT_HERE" and "node 2" in f["message"] and
          "198.18.0.3:7300" in f["message"], f)
    (rep, meta2), = d.run("get @0.7.0.1.5 name %n")
    f = status_of(rep)
    check(f["code"] == "E_NOT_HERE" and "no route" in f["message"], f)
    # Each send is answered (a cookie round sends the block again).
    check(d.telemetry("/scpp/stats")["not_here"] == 2 + meta["cookie_rounds"] +
          meta2["cookie_rounds"], "not_here counter")
    routes = d.telemetry("/scpp/routes")
    check(any("node 2 peer 198.18.0.3:7300" in r for r in routes), routes)


def exchange_raw(payload_dgram, client, block, timeout=3):
    """Send one datagram from a fresh socket; answer a NOTICE COOKIE once;
    return the first REPLY datagram of (client, block)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    s.connect((SERVER, 7300))
    s.send(payload_dgram)
    try:
        for _ in range(4):
            r = s.recv(65536)
            kind, _fl, c, b, _seq, pl = parse_dgram(r)
            if (c, b) != (client, block):
                continue
            if kind == 4:
                n = parse_notice(pl)
                check(n["code"] == 1, "unexpected notice %s" % n)
                s.send(payload_dgram[:4] + bytes([payload_dgram[4] | 2]) + payload_dgram[5:] +
                       n["cookie"])
                continue
            return r
    finally:
        s.close()
    raise TestFailure("no reply to block %d" % block)


def t_hostile(d):
    d.ok("return")  # ARP resolved, daemon answering
    u = d.ok(user("keep", 60))["rows"][0][0]
    before_ent = d.entities()
    before = d.telemetry("/scpp/stats")
    good = bytes.fromhex(subprocess.run([DRIVE, "encode", "get %s name %%n" % u],
                                        capture_output=True, text=True).stdout.strip())
    rnd = random.Random(1234)
    junk = [bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(0, 1400)))
            for _ in range(300)]
    # Random bytes that start like a header, to reach deeper checks.
    junk += [b"SC\x01\x01" + bytes(rnd.getrandbits(8) for _ in range(rnd.randrange(0, 200)))
             for _ in range(300)]
    d.send_raw(junk)
    d.send_raw([
        dgram(payload=good)[:10],                       # truncated header
        dgram(payload=good)[:31],
        dgram(payload=good, plen=len(good) + 500),      # length past the end
        dgram(payload=good) + b"extra",                 # bytes after payload
        b"XX" + dgram(payload=good)[2:],                # bad magic
        dgram(payload=good)[:2] + b"\x09" + dgram(payload=good)[3:],  # bad version
        dgram(kind=0, payload=good),                    # bad kind
        dgram(kind=6, payload=good),                    # a CONT from a stranger (cont.c)
        dgram(kind=9, payload=good),                    # a CHALLENGE sent to the node
        dgram(kind=1, flags=0x21, tag_len=24, payload=good, client=5) + bytes(24),  # no session
        dgram(kind=2, flags=1, fc=0, payload=good),     # a REPLY sent to the node
        dgram(flags=0x80, payload=good),                # reserved flag
        dgram(fc=0, payload=good),                      # frag_count 0
        dgram(fi=5, fc=2, payload=good),                # index >= count
        dgram(kind=3, payload=bytes(17)),               # a FETCH with no range
    ])
    d.send_raw([dgram(payload=good)], port=7399)       # not a served port
    # Fragment flood from one source: first fragments that never complete
    # (bounded: 200); the source's quota keeps it to 8 slots of 16.
    d.send_raw([dgram(flags=0, fi=0, fc=4, block=50000 + i, client=9, payload=good[:20])
                for i in range(200)])
    # Frames the kernel would not send: bad checksums, an IP fragment, IPv6,
    # a broadcast source, bad ICMP.
    mine, theirs = d.macs()
    p = dgram(payload=good, block=60000)
    d.send_frames([
        udp_frame(mine, theirs, p, bad_ip_cksum=True),
        udp_frame(mine, theirs, p, bad_udp_cksum=True),
        udp_frame(mine, theirs, p, frag=True),
        theirs + mine + b"\x86\xdd" + bytes(60),
        theirs + b"\xff" * 6 + udp_frame(mine, theirs, p)[12:],
    ])
    # A block that decodes badly is answered with what is wrong and where
    # (through a cookie round if the answer is over 3x the datagram).
    bad = good[:-1] + b"\x7f"
    r = exchange_raw(dgram(payload=bad, block=70000, client=77), 77, 70000)
    check(r[3] == 2 and struct.unpack("<Q", r[16:24])[0] == 70000, "no reject reply")
    check(b"at byte offset" in r and b"E_" in r, r)
    time.sleep(1.0)  # reassembly timeout (300 ms) passes; the scan frees slots
    d.ok("return")
    check(d.alive(), "daemon died")
    st = d.telemetry("/scpp/stats")
    dr = {k: st["drops"][k] - before["drops"][k] for k in st["drops"]}
    for k in ["hdr_E_TRUNCATED", "hdr_E_BAD_LENGTH", "hdr_E_BAD_MAGIC", "hdr_E_BAD_VERSION",
              "hdr_E_BAD_KIND", "hdr_E_BAD_FLAGS", "hdr_E_BAD_FRAGMENT", "node_kind",
              "fetch_bad", "udp_wrong_port", "reasm_quota", "reasm_timeout", "ip_bad_cksum",
              "udp_bad_cksum", "ip_fragment", "not_ipv4", "eth_bad_src"]:
        check(dr[k] > 0, "drop reason %s not counted: %s" % (k, dr))
    # cont.c took the CONT: not a peer of the map, dropped.
    check(st["cont_dgrams"] - before["cont_dgrams"] == 1 and
          st["forward_not_peer"] - before["forward_not_peer"] == 1, st)
    # The session layer took the last two: the control lcore drops a
    # node kind, the worker a tag of no session; neither is answered.
    check(st["auth_hs"] - before["auth_hs"] >= 1 and
          st["auth_rejected"] - before["auth_rejected"] >= 1, st)
    # The flood: 8 messages held until they timed out (4 frames... one each),
    # the other 192 refused by the quota.
    check(dr["reasm_quota"] + dr["reasm_overflow"] + dr["reasm_timeout"] >= 200, dr)
    check(dr["reasm_quota"] >= 150, dr)
    check(st["rejected_total"] > before["rejected_total"], st)
    sh_ = d.telemetry("/scpp/shards")
    check(sh_["worker0"]["reassembly_in_use"] == 0, sh_)
    check(d.entities() == before_ent, "hostile traffic changed the store")
    check(d.ok("get %s name %%n" % u)["rows"] == [["keep"]], "data changed")
    check(d.telemetry("/scpp/health")["status"] == "ok", "health")
    d.check_accounting()


def t_telemetry(d):
    d.ok("return")
    st = d.telemetry("/scpp/stats")
    for k in ["rx_pkts", "tx_pkts", "executed", "drops", "rejected", "ports", "cache_hits"]:
        check(k in st, k)
    check(st["executed"] == 1, st)
    check(d.telemetry("/scpp/stats,0")["executed"] == 1, "per-worker stats")
    sh_ = d.telemetry("/scpp/shards")
    check(sh_["worker0"]["prefix"] == "@0.1.0.0.0/64" and sh_["worker0"]["entities"] > 0, sh_)
    h = d.telemetry("/scpp/health")
    check(h["status"] == "ok" and h["workers"] == 1 and h["links"], h)
    check(d.telemetry("/scpp/routes") == ["@0.1.0.0.0/64 local shard 0 (worker 0)"], "routes")
    # The control loop sleeps until an event; idle, a turn every 100 ms with
    # sessions (this daemon has them), every second without.
    c = d.telemetry("/scpp/control")
    check(c["idle_ms"] == 100 and c["turns"] >= 1 and
          c["turns"] == c["woken"] + c["pending"] + c["idle"], c)


# ---- issue 11: evaluator and schema ------------------------------------------

def well_known(kind, name):
    """The derived OID of a schema entity (docs/SCHEMA.md §4), as text."""
    h = 14695981039346656037
    for b in ("scpp.%s:%s" % (kind, name)).encode():
        h = ((h ^ b) * 1099511628211) & 0xffffffffffffffff
    lo = h | (1 << 63)
    return "@0.0.0.%x.%x" % (lo >> 40, lo & ((1 << 40) - 1))


def t_schema_everywhere(d):
    """A runtime declaration made through shard 0 reaches shard 1: its
    store, its validation, and its telemetry version."""
    rack, machine = well_known("attr", "Machine.rack"), well_known("type", "Machine")
    attr = well_known("type", "Attribute")
    mk = ('create %m Machine ; set %m hostname "h" ; set %m cores 1u ; '
          'set %m memory_bytes 2u ; set %m rack {} ; get %m rack %r ; return %r')
    rep = d.one(mk.format('"r0"'), port=7302)
    check(rep["end"]["outcome"] == "aborted" and status_of(rep)["code"] == "E_SCHEMA", rep)
    d.ok('set {0} type {1} ; set {0} name "rack" ; set {0} owner {2} ; '
         'set {0} value_type "string" ; set {2} attributes["rack"] {0}'.format(rack, attr, machine),
         port=7301)
    deadline = time.time() + 10
    while time.time() < deadline:
        rep = d.one("get %s name %%n ; return %%n" % rack, port=7302)
        if rep["end"]["outcome"] == "ok" and rep["rows"] == [["rack"]]:
            break
        time.sleep(0.05)
    else:
        raise TestFailure("the declaration never reached shard 1: %s" % rep)
    rep = d.ok(mk.format('"r1"'), port=7302)
    check(rep["rows"] == [["r1"]], rep)
    rep = d.one(mk.format("7"), port=7302)
    f = status_of(rep)
    check(f["code"] == "E_SCHEMA" and "Machine.rack: expected string, got i64" in f["message"], f)
    shards = d.telemetry("/scpp/shards")
    check(all(w["schema_version"] == 2 for w in shards.values()), shards)
    check(d.telemetry("/scpp/stats")["schema_changes"] == 1, "schema_changes")
    check("schema version 2 (a change made on shard 0) published" in d.logtext(), "log line")


def t_schema_vote(d):
    """A runtime schema change is compiled on the control lcore and checked
    on every shard: a compatible one sent to shard 0 is published to both
    shards; a tightening one sent to shard 0 is refused by an instance on
    shard 1, the status naming the instance and its shard, and nothing of it
    is applied on either shard."""
    rack, machine = well_known("attr", "Machine.rack"), well_known("type", "Machine")
    attr = well_known("type", "Attribute")

    def versions():
        return sorted(w["schema_version"] for w in d.telemetry("/scpp/shards").values())

    def wait_versions(v):
        deadline = time.time() + 10
        while time.time() < deadline:
            if versions() == [v, v]:
                return
            time.sleep(0.05)
        raise TestFailure("schema version %d never reached every shard: %s" % (v, versions()))

    s0 = d.telemetry("/scpp/schema")
    check(s0["version"] == 1 and s0["control_compiled"] == 0 and s0["change"] == "idle", s0)
    c0 = d.telemetry("/scpp/control")
    # Compatible (a new optional attribute of Machine): compiled on the
    # control lcore, every shard votes (no instance yet), published.
    d.ok('set {0} type {1} ; set {0} name "rack" ; set {0} owner {2} ; '
         'set {0} value_type "string" ; set {2} attributes["rack"] {0}'.format(rack, attr, machine),
         port=7301)
    wait_versions(2)
    s1 = d.telemetry("/scpp/schema")
    check(s1["control_compiled"] == 1 and s1["accepted"] == 1 and s1["votes"] == 2, s1)
    # The submission, the votes and the publication woke the control loop
    # (control.c): without the wakes it would only see them at an idle turn.
    c1 = d.telemetry("/scpp/control")
    check(c1["woken"] > c0["woken"], (c0, c1))
    # Evaluation never compiles: no worker has a compile counter at all.
    st = d.stats()
    check(not any("compile" in k for k in st), "a worker-side compile counter: %s" % list(st))
    check(st["schema_changes"] == 1, st)
    # An instance on shard 1 without a rack; none on shard 0.
    m1 = d.ok('create %m Machine ; set %m hostname "h1" ; set %m cores 1u ; '
              'set %m memory_bytes 2u ; return %m', port=7302)["rows"][0][0]
    check(m1.startswith("@0.1.1."), m1)
    q = "get {} %a %v ; return %a %v".format(rack)
    before = [d.ok(q, port=p) for p in (7301, 7302)]
    # Tightening, sent to shard 0 (which alone would accept it).
    rep = d.one("set {} required true ; return".format(rack), port=7301)
    f = status_of(rep)
    check(rep["end"]["outcome"] == "aborted" and f["code"] == "E_SCHEMA" and
          "shard 1" in f["message"] and m1 in f["message"], rep)
    after = [d.ok(q, port=p) for p in (7301, 7302)]
    for b, a in zip(before, after):
        check(a["columns"] == b["columns"] and a["rows"] == b["rows"],
              "changed by a refused change: %s -> %s" % (b, a))
    check(["required", True] not in after[0]["rows"], after[0])
    check(versions() == [2, 2], versions())
    s2 = d.telemetry("/scpp/schema")
    check(s2["control_compiled"] == 2 and s2["rejected_by_shard"] == 1 and
          s2["votes"] == 4 and s2["instances_checked"] >= 1 and s2["change"] == "idle", s2)
    # The shard that refused is not stuck: a compatible change goes through
    # (a doc string: no instance can notice, so no vote).
    d.ok('set {} doc "where it stands" ; return'.format(rack), port=7302)
    wait_versions(3)
    s3 = d.telemetry("/scpp/schema")
    check(s3["control_compiled"] == 3 and s3["accepted_without_vote"] == 1, s3)
    rep = d.ok("get {} doc %d ; return %d".format(rack), port=7301)
    check(rep["rows"] == [["where it stands"]], rep)
    park = d.telemetry("/scpp/park")
    check(sum(w["parks_schema"] for w in park.values()) == 3 and
          all(w["parked"] == 0 for w in park.values()), park)


def t_budget(d):
    """A scan under an enumeration stops at its budget with ETIME, and the
    worker answers the next client right after it."""
    f9 = d.ok(mkfile("f", 9, "return %f"))["rows"][0][0]
    dirv = d.ok(MKDIR.format("d", 10) + "return %d")["rows"][0][0]
    for i in range(0, 4000, 25):
        d.ok(" ; ".join('set %s entries["f%d"] %s' % (dirv, k, f9) for k in range(i, i + 25)))
    for i in range(0, 2000, 10):
        d.ok(" ; ".join('create %%u%d User ; set %%u%d uid %du ; set %%u%d name "u%d" ; '
                        'set %%u%d gid 1u' % (k, k, 1000 + k, k, k, k) for k in range(i, i + 10)) +
             " ; return")
    before = d.telemetry("/scpp/stats")
    # `home` is declared (so interned) but not indexed: each of the 4000
    # rows scans every entity.
    # Its evaluation is 10^6 steps, which under ASan on a loaded host can take
    # longer than scppd_drive's default 2 s wait; the block ends by its step budget (or
    # the 10 s time budget this suite sets), so a 60 s wait is bounded and never reached.
    bad = d.drive('get %s entries[%%k] %%v ; get %%e home "nomatch"' % dirv, client=7,
                  extra=["--wait", 60000], timeout=90)[0][0][0]
    good = d.run("get %s ino %%i ; return %%i" % dirv, client=8)[0][0]
    f = status_of(bad)
    check(bad["end"]["outcome"] == "aborted" and f["errno_name"] == "ETIME" and
          f["code"] == "E_LIMIT_STEPS" and "1000000 steps" in f["message"], bad)
    check(good["end"]["outcome"] == "ok" and len(good["rows"]) == 1, good)
    after = d.telemetry("/scpp/stats")
    check(after["outcome_aborted"] == before["outcome_aborted"] + 1, after)
    check(after["outcome_ok"] == before["outcome_ok"] + 1, after)
    # The same search on an indexed attribute (User.name) is 4000 index
    # lookups: within the budget.
    rep = d.ok('get %s entries[%%k] %%v ; get %%e name "nomatch" ; return' % dirv)
    check(rep["end"]["rows"] == 0 and rep["end"]["commands"] == 4001, rep)


def t_statuses(d):
    """Statuses carry the client, status variable, row, decode offset and
    owning shard as fields; a block reads its statuses back."""
    scpp = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(DRIVE))), "app", "scpp",
                        "scpp")
    u = d.ok(user("st", 70), port=7301)["rows"][0][0]
    rep, _ = d.run("set @0.1.0.9.9 x 1 !%e ; set @0.1.0.9.8 x 1 !%e ; get %e command %c ; "
                   "return %c", port=7301, client=99)[0]
    check(rep["rows"] == [[0], [1]], rep)
    f = status_of(rep)
    check(f["variable"] == "e" and f["row"] == 0 and f["client"] == 99 and f["command"] == 0, f)
    check(rep["end"]["errno_name"] == "ENOENT" and rep["end"]["statuses"] == 2, rep)
    # An entity of shard 1 inside a block that runs on shard 0.
    rep = d.one("get %s name %%n ; get @0.1.1.7.7 name %%m" % u, port=7301)
    f = status_of(rep)
    check(f["code"] == "E_NOT_HERE" and f["owner"] == "@0.1.1.0.0" and f["command"] == 1 and
          "shard 1" in f["message"], f)
    # A decode error: the variable index of the last term is out of range.
    good = bytes.fromhex(subprocess.run([DRIVE, "encode", "get %s name %%n" % u],
                                        capture_output=True, text=True).stdout.strip())
    bad = good[:-1] + b"\x09"
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    s.sendto(dgram(payload=bad, client=4242, block=77), (SERVER, 7301))
    reply = s.recv(65536)
    if parse_dgram(reply)[0] == 4:
        # NOTICE COOKIE: the status is more than 3x the request, and this
        # source has not proven its address yet (PROTOCOL.md §16.1).
        cookie = parse_notice(parse_dgram(reply)[5])["cookie"]
        s.sendto(dgram(payload=bad, client=4242, block=78, cookie=cookie), (SERVER, 7301))
        reply = s.recv(65536)
    s.close()
    r = subprocess.run([scpp, "--json", "decode", reply.hex()], capture_output=True, text=True,
                       timeout=10)
    doc = json.loads(r.stdout.splitlines()[-1])
    f = doc["statuses"][0]["fields"]
    check(f["code"] == "E_BAD_VAR" and f["offset"] == len(bad) - 1 and f["client"] == 4242, f)


def t_epoch(d):
    """The boot epoch is persisted (file), moves forward on a restart, and a
    node that cannot persist it refuses to start."""
    shards = d.telemetry("/scpp/shards")
    check(shards["worker0"]["epoch_source"] == "file", shards)
    path = os.path.join(d.cfg["node"]["state_dir"], "shard-0.epoch")
    with open(path) as f:
        first = int(f.read())
    check(first == shards["worker0"]["epoch"], (first, shards))
    bad = Daemon("badepoch", cfg_extra={"node": {"state_dir": "/proc/version/state",
                                                 "name": "it-badepoch"}})
    try:
        bad.start()
        raise TestFailure("scppd started without a persistent epoch")
    except TestFailure as e:
        check("cannot persist a new boot epoch" in str(e), str(e)[-2000:])
    finally:
        bad.cleanup()


def t_names(d):
    """The CLI joins OIDs through their type's name_attr (seed §3)."""
    scpp = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(DRIVE))), "app", "scpp",
                        "scpp")
    srv = ["-s", SERVER + ":7301"]
    mk = user("alice", 501)

    # auth.mode required: the CLI opens a session with the node key.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCPP_")}
    env["SCPP_KEY"] = os.path.join(d.cfg["node"]["state_dir"], "node.key")

    def cli(*args):
        r = subprocess.run([scpp] + srv + list(args), capture_output=True, text=True, timeout=20,
                           env=env)
        check(r.returncode == 0, "scpp %s: %d %s %s" % (args, r.returncode, r.stdout, r.stderr))
        return r.stdout

    out = cli("exec", mk)
    m = re.search(r"(@0\.1\.0\.[0-9a-f]+\.[0-9a-f]+) \(alice\)", out)
    check(m is not None, "no display name in the table: " + out)
    oid = m.group(1)
    doc = json.loads(cli("--json", "exec", "get %s name %%n ; return %%n" % oid).splitlines()[-1])
    check(doc["rows"] == [["alice"]], doc)
    doc = json.loads(cli("--json", "exec", 'get %u name "alice" ; return %u').splitlines()[-1])
    check(doc["rows"] == [[{"oid": oid, "name": "alice"}]], doc)
    # A schema type is named by its own name; --no-names prints bare OIDs.
    doc = json.loads(cli("--json", "exec", "get %s type %%t ; return %%t" % oid).splitlines()[-1])
    check(doc["rows"][0][0]["name"] == "User", doc)
    out = cli("--no-names", "exec", 'get %u name "alice" ; return %u')
    check(oid in out and "(alice)" not in out, out)


def cli_path():
    return os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(DRIVE))), "app", "scpp",
                        "scpp")


def t_auth(d):
    """auth.mode required (docs/SECURITY.md): the node key generated at first
    start and used by the CLI; two principals with different grants (alice
    may read and set entity A, bob may only read B's name, carol may write
    everything but the schema); every denial answered with its status and
    nothing it asked applied (a third, privileged read says so); scans see
    only what the session may read; unauthenticated and forged datagrams
    are refused; sessions are closed when the CLI exits."""
    scpp = cli_path()
    tmp = d.tmp
    node_key = os.path.join(d.cfg["node"]["state_dir"], "node.key")
    check(os.path.exists(node_key), "no node key generated in the state dir")
    check(os.stat(node_key).st_mode & 0o077 == 0, "node key readable by others")
    check("generated node key" in d.logtext(), "no log line for the generated key")
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("SCPP_")}

    def run(key, *args, chain=None, want=0, extra=()):
        env = dict(base_env)
        if key is not None:
            env["SCPP_KEY"] = key
        if chain is not None:
            env["SCPP_CHAIN"] = chain
        offline = args[0] in ("key", "grant")
        r = subprocess.run([scpp] + ([] if offline else ["-s", SERVER + ":7301"]) +
                           list(extra) + list(args),
                           capture_output=True, text=True, timeout=30, env=env)
        check(r.returncode == want, "scpp %s (key %s): exit %d, wanted %d: %s %s" %
              (args, key, r.returncode, want, r.stdout, r.stderr))
        return r

    def js(key, block, chain=None, want=0, extra=()):
        r = run(key, "--json", "--no-names", "exec", block, chain=chain, want=want, extra=extra)
        return json.loads(r.stdout.splitlines()[-1])

    def root(block, want=0):
        return js(node_key, block, want=want)

    def denied(doc, errno_name, *words):
        st = status_of(doc)
        check(st["errno_name"] == errno_name and st["code"] == errno_name,
              "expected %s: %s" % (errno_name, doc))
        for w in words:
            check(w in st["message"], "status message lacks %r: %s" % (w, st))
        return st

    # The privileged principal (the node key, a root) builds the data.
    a = root('create %a User ; set %a uid 601u ; set %a name "a" ; set %a gid 601u ; '
             'return %a')["rows"][0][0]
    b = root('create %b User ; set %b uid 602u ; set %b name "b" ; set %b gid 602u ; '
             'return %b')["rows"][0][0]
    a = a["oid"] if isinstance(a, dict) else a
    b = b["oid"] if isinstance(b, dict) else b

    keys = {}
    for who in ("alice", "bob", "carol"):
        path = os.path.join(tmp, who + ".key")
        run(None, "key", "gen", "-o", path, "--comment", who)
        keys[who] = path
    grants = {"alice": ["--scope", a, "--ops", "get,set"],
              "bob": ["--scope", b, "--ops", "get", "--attrs", "name"],
              "carol": ["--scope", "all", "--ops", "get,set,create,del"]}
    chains = {}
    for who, g in grants.items():
        out = os.path.join(tmp, who + ".grant")
        run(None, "grant", "issue", "--key", node_key, "--to", keys[who] + ".pub",
            "--expires", "+1h", "-o", out, *g)
        chains[who] = out

    def alice(block, want=0):
        return js(keys["alice"], block, chain=chains["alice"], want=want)

    def bob(block, want=0):
        return js(keys["bob"], block, chain=chains["bob"], want=want)

    def carol(block, want=0):
        return js(keys["carol"], block, chain=chains["carol"], want=want)

    def name_of(e):
        return root("get %s name %%n ; return %%n" % e)["rows"][0][0]

    # alice reads and sets A.
    check(alice("get %s name %%n ; return %%n" % a)["rows"] == [["a"]], "alice reads A")
    alice('set %s name "a2"' % a)
    check(name_of(a) == "a2", "alice's set applied")
    # ... but not B (scope), and not a del on A (operation).
    doc = alice("get %s name %%n ; return %%n" % b, want=1)
    check(doc["end"]["outcome"] == "aborted" and doc["rows"] == [], doc)
    denied(doc, "EACCES", "scope", "not granted")
    doc = alice('set %s name "evil" ; set %s name "a3"' % (b, a), want=1)
    denied(doc, "EACCES", "scope")
    check(name_of(b) == "b" and name_of(a) == "a2", "an aborted block applied something")
    doc = alice('set %s name "evil" !%%s ; set %s name "a4" ; return %%s' % (b, a), want=1)
    check(doc["end"]["outcome"] == "errors", doc)
    denied(doc, "EACCES", "scope")
    check(name_of(b) == "b" and name_of(a) == "a4", "status variable: the rest ran, B unchanged")
    doc = alice("del %s uid" % a, want=1)
    denied(doc, "EACCES", "operation", "del")
    check(root("get %s uid %%u ; return %%u" % a)["rows"] == [[601]], "denied del applied")
    doc = alice("create %x User ; return %x", want=1)
    denied(doc, "EACCES", "create")
    # Scans see only what the session may read: alice's whole view of the
    # shard is A (all its attributes); bob's is B's name.
    rows = alice("get %e name %n ; return %e %n")["rows"]
    check(rows == [[a, "a4"]], "alice's scan saw more than A: %s" % rows)
    check(len(root("get %e name %n ; return %e %n")["rows"]) > 2, "the root sees everything")
    rows = alice("get %s %%k %%v ; return %%k" % a)["rows"]
    check(sorted(r[0] for r in rows) == ["gid", "name", "type", "uid"], rows)
    rows = bob("get %s %%k %%v ; return %%k %%v" % b)["rows"]
    check(rows == [["name", "b"]], "bob sees only B's name: %s" % rows)
    doc = bob("get %s uid %%u ; return %%u" % b, want=1)
    denied(doc, "EACCES", "attribute")
    doc = bob('set %s name "z"' % b, want=1)
    denied(doc, "EACCES", "operation", "set")
    doc = bob("get %s name %%n ; return %%n" % a, want=1)
    denied(doc, "EACCES", "scope")
    check(name_of(b) == "b", "bob's denied set applied")
    # Schema edits need the schema right: carol may set anything else.
    carol('set %s name "c" ; set %s name "b"' % (a, b))
    check(name_of(a) == "c", "carol's set")
    tdoc = root('get %t name "User" ; get %t type %m ; return %t')
    user_t = tdoc["rows"][0][0]
    user_t = user_t["oid"] if isinstance(user_t, dict) else user_t
    before = root("get %s doc %%d ; return %%d" % user_t)["rows"]
    doc = carol('set %s doc "hijacked"' % user_t, want=1)
    denied(doc, "EPERM", "schema")
    check(root("get %s doc %%d ; return %%d" % user_t)["rows"] == before, "schema changed")
    # Without a session a required node refuses (a rate-limited EACCES);
    # a session datagram of an unknown session is dropped, counted (and
    # answered only by a rate-limited REJECT E_AUTH_NO_SESSION, §6.4).
    doc = js(None, "return", want=1, extra=["--no-auth"])
    denied(doc, "EACCES", "auth.mode required")
    st0 = d.telemetry("/scpp/auth")
    d.send_raw([dgram(kind=1, flags=0x21, tag_len=24, payload=b"\x00\x00\x00\x00",
                      client=(7 << 24) | 3) + bytes(24)], port=7301)
    deadline = time.time() + 5
    while time.time() < deadline and \
            d.telemetry("/scpp/auth")["table_no_session"] == st0["table_no_session"]:
        time.sleep(0.05)
    st = d.telemetry("/scpp/auth")
    check(st["table_no_session"] == st0["table_no_session"] + 1, (st0, st))
    # An expired grant is refused at the handshake, with its code.
    late = os.path.join(tmp, "late.grant")
    run(None, "grant", "issue", "--key", node_key, "--to", keys["bob"] + ".pub",
        "--scope", b, "--ops", "get", "--expires", "+1s", "-o", late)
    time.sleep(1.5)
    r = run(keys["bob"], "exec", "return", chain=late, want=4)
    check("E_AUTH_EXPIRED" in r.stderr, r.stderr)
    # `scpp session` shows the session; the CLI closed every session it opened.
    r = run(keys["alice"], "--json", "session", chain=chains["alice"])
    si = json.loads(r.stdout)
    with open(keys["alice"] + ".pub") as f:
        check(si["principal"] in f.read(), si)
    check(si["node_key"] == st["node_key"] and si["lanes"] == 1, (si, st))
    deadline = time.time() + 5
    while time.time() < deadline and d.telemetry("/scpp/auth")["sessions"] != 0:
        time.sleep(0.05)
    st = d.telemetry("/scpp/auth")
    check(st["sessions"] == 0 and st["closed_by_client"] >= st["accepted"] > 10, st)
    check(st["rejected"] >= 1 and st["table_verified"] > 0 and st["table_sealed"] > 0, st)
    stats = d.stats()
    check(stats["auth_refused"] >= 1 and stats["sealed"] > 0, stats)
    d.check_accounting(stats)


def t_auth_lanes(d):
    """A session datagram that reaches a worker other than its lane's (the
    shared port, RSS) is handed unverified to its lane's worker, which
    verifies it and passes the block on; the reply is right. Deterministic
    whatever the RSS hash: two CLI runs from the same source port to the
    shared port (one 5-tuple: one receiving queue) on lanes 0 and 1, so
    exactly one of them arrives on the other lane's worker."""
    scpp = cli_path()
    node_key = os.path.join(d.cfg["node"]["state_dir"], "node.key")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCPP_")}
    env["SCPP_KEY"] = node_key

    def js(*args):
        r = subprocess.run([scpp, "-s", SERVER + ":7300", "--json", "--no-names"] + list(args),
                           capture_output=True, text=True, timeout=30, env=env)
        check(r.returncode == 0, "scpp %s: exit %d: %s %s" % (args, r.returncode, r.stdout,
                                                             r.stderr))
        return json.loads(r.stdout.splitlines()[-1])

    rows = js("exec", 'create %u User ; set %u uid 771u ; set %u name "lanes" ; set %u gid 1u ; '
              'return %u')["rows"]
    u = rows[0][0]
    st0 = d.stats()
    sport = 40000 + os.getpid() % 20000
    for lane in (0, 1):
        rep = js("--lane", str(lane), "--source-port", str(sport), "exec",
                 "get %s name %%n ; get %s uid %%i ; return %%n %%i" % (u, u))
        check(rep["rows"] == [["lanes", 771]], "lane %d: %s" % (lane, rep))
    st = d.stats()
    moved = st["auth_wrong_lane"] - st0["auth_wrong_lane"]
    check(moved >= 1, "no datagram reached another lane's worker: %s" % st)
    check(st["auth_handoff_in"] - st0["auth_handoff_in"] == moved, st)
    check(st["auth_rejected"] == st0["auth_rejected"], "a handed-off datagram failed: %s" % st)
    d.check_accounting(st)


def revocation_auth(d):
    """auth.mode required with an (empty) revocation file of this daemon's."""
    path = os.path.join(d.tmp, "revoked.bin")
    open(path, "wb").close()
    return {"mode": "required", "revocations": path}


def t_auth_revoke(d):
    """auth.revocations is read again on SIGHUP: a file with a bad entry
    changes nothing (counted, logged); a new revocation closes the revoked
    grant's open session at once (its next block goes unanswered) and a new
    handshake with the grant is refused E_AUTH_REVOKED; other sessions stay."""
    scpp = cli_path()
    node_key = os.path.join(d.cfg["node"]["state_dir"], "node.key")
    rev = d.cfg["auth"]["revocations"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCPP_")}
    alice = os.path.join(d.tmp, "alice.key")
    chain = os.path.join(d.tmp, "alice.grant")
    sh(scpp, "key", "gen", "-o", alice)
    sh(scpp, "grant", "issue", "--key", node_key, "--to", alice + ".pub", "--scope", "all",
       "--ops", "get", "--expires", "+1h", "-o", chain)
    root_env = dict(env, SCPP_KEY=node_key)
    alice_env = dict(env, SCPP_KEY=alice, SCPP_CHAIN=chain)
    r = subprocess.run([scpp, "-s", SERVER + ":7301", "--json", "--no-names", "exec",
                        'create %u User ; set %u uid 881u ; set %u name "rv" ; set %u gid 1u ; '
                        'return %u'], capture_output=True, text=True, timeout=30, env=root_env)
    check(r.returncode == 0, r.stderr)
    u = json.loads(r.stdout.splitlines()[-1])["rows"][0][0]
    block = "get %s name %%n ; return %%n\n\n" % u

    def auth():
        return d.telemetry("/scpp/auth")

    def hup_and_wait(counter, want):
        os.kill(d.proc.pid, signal.SIGHUP)
        deadline = time.time() + 20
        while time.time() < deadline and auth()[counter] != want:
            time.sleep(0.05)
        check(auth()[counter] == want, "%s never reached %d: %s" % (counter, want, auth()))

    # alice's session, held open by a shell; the operator has one too.
    sh_p = subprocess.Popen([scpp, "-s", SERVER + ":7301", "--json", "--no-names", "-t", "200",
                             "-r", "2", "shell"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=alice_env)
    try:
        sh_p.stdin.write(block)
        sh_p.stdin.flush()
        line = sh_p.stdout.readline()
        check(json.loads(line)["rows"] == [["rv"]], "alice's first block: %r" % line)
        a0 = auth()
        check(a0["sessions"] == 1, a0)
        # A file with a truncated entry: refused whole, nothing changes.
        with open(rev, "wb") as f:
            f.write(b"\x52\x56" + b"\0" * 60)
        hup_and_wait("reload_failed", a0["reload_failed"] + 1)
        a1 = auth()
        check(a1["revocations"] == a0["revocations"] and a1["sessions"] == 1 and
              a1["closed_due"] == a0["closed_due"], a1)
        check("reload of auth.revocations" in d.logtext(), "no log line for the bad file")
        # The real one: alice's grant, revoked by the node key (a root).
        open(rev, "wb").close()
        sh(scpp, "grant", "revoke", chain, "--key", node_key, "-o", rev)
        check(os.path.getsize(rev) == 148, "one 148-byte entry")
        hup_and_wait("closed_due", a0["closed_due"] + 1)
        a2 = auth()
        check(a2["reloads"] == a0["reloads"] + 1 and a2["revocations"] == a0["revocations"] + 1 and
              a2["sessions"] == 0, a2)
        # Her open session is gone: the next block through it is answered
        # E_AUTH_NO_SESSION, and the new session the client then asks for is
        # refused, revoked; nothing ran.
        executed = d.stats()["executed"]
        out, err = sh_p.communicate(input=block, timeout=60)
        check(sh_p.returncode != 0 and "refused a new one" in err and "E_AUTH_REVOKED" in err,
              "after revocation: %d %r %r" % (sh_p.returncode, out, err))
        check(d.stats()["executed"] == executed and d.stats()["auth_no_session_answered"] >= 1,
              d.stats())
    finally:
        if sh_p.poll() is None:
            sh_p.kill()
            sh_p.wait()
    # A new session with the revoked grant is refused, naming why.
    r = subprocess.run([scpp, "-s", SERVER + ":7301", "--json", "exec", block],
                       capture_output=True, text=True, timeout=30, env=alice_env)
    check(r.returncode != 0 and "revoked" in r.stderr.lower(), (r.returncode, r.stderr))
    # The operator is not affected.
    r = subprocess.run([scpp, "-s", SERVER + ":7301", "--json", "--no-names", "exec", block],
                       capture_output=True, text=True, timeout=30, env=root_env)
    check(r.returncode == 0 and json.loads(r.stdout.splitlines()[-1])["rows"] == [["rv"]],
          r.stderr)


TESTS = {
    "basic": (t_basic, {}),
    "seed_examples": (t_seed_examples, {}),
    "paths": (t_paths, {}),
    "construction": (t_construction, {}),
    "schema_queries": (t_schema_queries, {}),
    "cross_core": (t_cross_core, {"workers": 2}),
    "retransmit": (t_retransmit, {}),
    "retransmit_after_load": (t_retransmit_after_load, {}),
    "retransmit_read": (t_retransmit_read, {}),
    "fast_path": (t_fast_path, {}),
    "reply_lost": (t_reply_lost, {"cfg_extra": {"delivery": {
        "reply_cache_entries": 16, "reassembly_slots": 16, "reassembly_timeout_ms": 300}}}),
    "large_reply": (t_large_reply, {}),
    "fragments": (t_fragments, {}),
    "frag_flood": (t_frag_flood, {"cfg_extra": {"delivery": {
        "reassembly_slots": 16, "reassembly_per_source": 4, "reassembly_timeout_ms": 300}}}),
    "amplification": (t_amplification, {}),
    "refetch": (t_refetch, {}),
    "over_mtu": (t_over_mtu, {}),
    "handoff": (t_handoff, {"workers": 2}),
    "hostile": (t_hostile, {}),
    # Forwarding off: E_NOT_HERE as the answer (the cluster suite covers
    # forwarding, and a peer that never answers ARP).
    "not_here": (t_not_here, {"cfg_extra": {"routes": [
        {"prefix": "@0.2.0.0.0/48", "node": 2, "peer": "198.18.0.3:7300"}],
        "cluster": {"forward": {"enabled": False}}}}),
    "telemetry": (t_telemetry, {}),
    "schema_everywhere": (t_schema_everywhere, {"workers": 2}),
    "schema_vote": (t_schema_vote, {"workers": 2}),
    # The time budget is lifted so that the outcome does not depend on the
    # machine's speed (ASan, a loaded CPU): the steps decide.
    "budget": (t_budget, {"cfg_extra": {"eval": {"max_time_us": 10000000}}}),
    "statuses": (t_statuses, {"workers": 2}),
    "epoch": (t_epoch, {}),
    "names": (t_names, {"cfg_extra": {"auth": {"mode": "required"}}}),
    "auth": (t_auth, {"cfg_extra": {"auth": {"mode": "required"}}}),
    "auth_lanes": (t_auth_lanes, {"workers": 2, "cfg_extra": {"auth": {"mode": "required"}}}),
    "auth_revoke": (t_auth_revoke, {"cfg_extra": {"auth": revocation_auth}}),
}


def run_one(tests, prog):
    """Run the test named by argv[1] from @p tests (name -> (fn, Daemon kwargs)) against a fresh
    daemon: 0 passed, 1 failed, 2 usage, 77 skipped (not root). Shared by run_copy.py."""
    if len(sys.argv) != 2 or sys.argv[1] not in tests:
        print("usage: %s {%s}" % (prog, ",".join(tests)))
        return 2
    if os.geteuid() != 0:
        print("SKIP: integration tests need root (network namespaces, tap devices)")
        return 77
    fn, kw = tests[sys.argv[1]]
    d = Daemon(sys.argv[1], **kw)
    rc = 1
    try:
        d.start()
        fn(d)
        code = d.stop()
        check(code == 0, "scppd did not stop cleanly: exit %s" % code)
        check("scppd: stopped" in d.logtext(), "no clean-stop line in the log")
        print("PASS", sys.argv[1])
        rc = 0
    except (TestFailure, OSError, subprocess.SubprocessError, ValueError, KeyError,
            TypeError) as e:
        print("FAIL %s: %s: %s" % (sys.argv[1], type(e).__name__, e))
        traceback.print_exc(limit=3, file=sys.stdout)
        print("---- scppd log ----")
        print(d.logtext()[-6000:])
    finally:
        d.cleanup()
    return rc


def main():
    return run_one(TESTS, "run_test.py")


if __name__ == "__main__":
    sys.exit(main())
