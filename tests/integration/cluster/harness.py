# SPDX-License-Identifier: BSD-3-Clause
"""A multi-node scpp cluster for tests and the demo: etcd and several scppd
nodes in one network namespace, their net_tap ports joined by a bridge.

    with Cluster("mytest") as c:          # namespace, bridge, temp dir
        c.start_etcd()                      # etcd on 198.18.0.1:2379
        n1 = c.node(1).start()              # scppd, node id 1, 198.18.0.11
        c.enter()                           # this process joins the namespace
        rep = n1.run("get @0.2.0.1.1 name %n")
        n1.telemetry("/scpp/cluster")

Layout (everything inside the namespace the harness creates, addresses from
198.18.0.0/24 of the benchmarking range):

    namespace scppc-<tag>
      br0 (bridge)          198.18.0.1/24  clients, etcd (client URL :2379)
      tap<i> -> br0         kernel side of node i's net_tap port
      node i (scppd)        198.18.0.(10 + i), UDP 7300, its own EAL prefix

Each node runs its main lcore on CPU 0 and its worker(s) on CPU 1 with the
idle back-off on, so several daemons share the machine's two CPUs. Every
wait is bounded; cleanup (nodes and etcd by PID, the namespace, EAL runtime
directories, temporary files) runs however the test ends, and also on
SIGTERM/SIGINT.

The later forwarding and continuation tests reuse this: nodes already reach
each other through the bridge (ARP between DPDK ports works), and
Node.run()/drive() send blocks to any node.
"""

import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SCPPD = os.environ.get("SCPPD", "build/app/scppd/scppd")
DRIVE = os.environ.get("SCPPD_DRIVE", "build/tests/integration/scppd_drive")
SCPP_CLI = os.environ.get("SCPP_CLI", "build/app/scpp/scpp")
ROOT = os.environ.get("SCPP_SOURCE_ROOT", os.getcwd())
ETCD = shutil.which("etcd") or "/usr/bin/etcd"
ETCDCTL = shutil.which("etcdctl") or "/usr/bin/etcdctl"
BRIDGE_IP = "198.18.0.1"
ETCD_URL = "http://%s:2379" % BRIDGE_IP
CLONE_NEWNET = 0x40000000

_libc = ctypes.CDLL(None, use_errno=True)


def reap_shm_regions(pid):
    """The libfabric shm provider's regions (/dev/shm/<pid>:<uid>:<n>) of a
    node that is gone: one killed without closing its endpoints leaves them
    (drivers/copy/copy_fabric.c, copy_fabric_clear_stale()). Returns how
    many were removed."""
    pfx = "%d:%d:" % (pid, os.getuid())
    n = 0
    for name in os.listdir("/dev/shm"):
        if name.startswith(pfx) and name[len(pfx):].isdigit():
            try:
                os.unlink(os.path.join("/dev/shm", name))
                n += 1
            except FileNotFoundError:
                pass
    return n


class ClusterFailure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise ClusterFailure(what)


def run(args, check_rc=True, timeout=30, **kw):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, **kw)
    if check_rc and r.returncode != 0:
        raise ClusterFailure("%s failed (%d): %s %s" % (" ".join(args), r.returncode,
                                                       r.stdout.strip(), r.stderr.strip()))
    return r


def wait_for(what, fn, timeout=30.0, step=0.1):
    """Poll fn() until it returns a true value (returned); fail after timeout s."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = fn()
        except (OSError, ClusterFailure, ValueError, KeyError) as e:
            last = e
        else:
            if last:
                return last
        time.sleep(step)
    raise ClusterFailure("timed out after %.0f s waiting for %s (last: %r)" % (timeout, what, last))


def node_ip(i):
    return "198.18.0.%d" % (10 + i)


class Node:
    """One scppd of a Cluster."""

    def __init__(self, cluster, node_id, name=None, workers=1, source="etcd", cfg_extra=None,
                 ip=None, forward=True):
        self.c = cluster
        self.id = node_id
        self.name = name or "n%d" % node_id
        self.ip = ip or node_ip(node_id)
        self.iface = "tap%d" % node_id
        self.prefix = "%s-n%d" % (cluster.tag, node_id)
        self.proc = None
        self.dir = os.path.join(cluster.tmp, "node%d" % node_id)
        os.makedirs(self.dir, exist_ok=True)
        lcores = "--lcores=0@0," + ",".join("%d@1" % (i + 1) for i in range(workers))
        self.cfg = {
            "node": {"id": node_id, "name": self.name,
                     "state_dir": os.path.join(self.dir, "state")},
            "eal": {"file_prefix": self.prefix, "hugepages": "off", "memory_mb": 512,
                    "args": [lcores]},
            "ports": [{"devargs": "net_tap0,iface=%s" % self.iface, "ipv4": self.ip + "/24",
                       "rx_desc": 256, "tx_desc": 256, "mempool_size": 4095,
                       "mempool_cache": 64}],
            "workers": [{"lcore": i + 1, "shard": i} for i in range(workers)],
            "store": {"slab_mb": 8, "entries": 16384},
            "delivery": {"reassembly_slots": 16},
            "schema": {"files": [os.path.join(ROOT, "schema/core.json"),
                                 os.path.join(ROOT, "schema/posix.json")]},
            "idle": {"enabled": True, "max_sleep_us": 200},
            # Unauthenticated driving (scppd_drive); sessions: tests/integration t_auth.
            "auth": {"mode": "optional"},
            "cluster": {"source": source, "etcd": cluster.etcd_settings(),
                        "forward": {"enabled": forward}},
        }
        for k, v in (cfg_extra or {}).items():
            self.cfg[k] = v
        self.block_id = 1000 * node_id
        self.last_meta = None

    def shards(self, n):
        """Run @p n workers (shards 0..n-1), all on CPU 1."""
        self.cfg["workers"] = [{"lcore": i + 1, "shard": i} for i in range(n)]
        self.cfg["eal"]["args"] = ["--lcores=0@0," + ",".join("%d@1" % (i + 1)
                                                              for i in range(n))]
        self.cfg["eal"]["memory_mb"] = 512 + 256 * (n - 1)
        return self

    def record(self):
        """This node's entry as $.cluster.nodes and etcd hold it."""
        return {"id": self.id, "name": self.name, "ipv4": self.ip, "base_port": 7300,
                "shards": [w["shard"] for w in self.cfg["workers"]]}

    @property
    def config_path(self):
        return os.path.join(self.dir, "scppd.json")

    def write_config(self):
        with open(self.config_path, "w") as f:
            json.dump(self.cfg, f, indent=1)
        return self.config_path

    def start(self, wait_ready=True):
        self.write_config()
        self.logpath = os.path.join(self.dir, "scppd.log")
        self.log = open(self.logpath, "w")
        # `ip netns exec` execs scppd: proc.pid is scppd's own PID.
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.c.ns, SCPPD, "--config",
                                      self.config_path],
                                     stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT)
        self.c.nodes.append(self)
        if wait_ready:
            self.wait_ready()
        return self

    def wait_ready(self):
        def ready():
            if self.proc.poll() is not None:
                raise ClusterFailure("node %d exited with %d at start:\n%s" %
                                     (self.id, self.proc.returncode, self.logtext()[-4000:]))
            return "ready:" in self.logtext()
        try:
            wait_for("node %d ready" % self.id, ready, timeout=90)
        except ClusterFailure as e:
            raise ClusterFailure("%s\n%s" % (e, self.logtext()[-4000:]))
        # The tap exists once the port does: join it to the bridge. Its
        # kernel side gets a MAC of its own first: net_tap gives it the DPDK
        # port's, and a bridge delivers frames for a port's own MAC to
        # itself instead of out of the port, so node-to-node frames (ARP,
        # forwarded blocks) would never reach the other node.
        self.c.ip("link", "set", self.iface, "address", "02:00:c6:12:01:%02x" % (self.id & 0xff))
        self.c.ip("link", "set", self.iface, "master", "br0")
        self.c.ip("link", "set", self.iface, "up")
        return self

    def logtext(self):
        try:
            with open(self.logpath) as f:
                return f.read()
        except (OSError, AttributeError):
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """SIGKILL by PID: the node dies without revoking its lease."""
        if self.alive():
            self.proc.kill()
            self.proc.wait(timeout=20)
            reap_shm_regions(self.proc.pid)

    def stop(self):
        """SIGTERM (revokes the lease); returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                # Generous: a clean stop is fast on a quiet host, but under a
                # load average of 15 one took longer than 30 s (EAL and
                # hugepage teardown of three nodes sharing two CPUs). The exit
                # code, not the time, is what the suites check.
                return self.proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                reap_shm_regions(self.proc.pid)
                return "killed after SIGTERM timeout"
        return self.proc.returncode

    # -- telemetry -----------------------------------------------------------

    def telemetry(self, cmd):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.settimeout(5)
        try:
            s.connect("/var/run/dpdk/%s/dpdk_telemetry.v2" % self.prefix)
            s.recv(16384)
            s.send(cmd.encode())
            data = json.loads(s.recv(1 << 20).decode())
        finally:
            s.close()
        return data[cmd.split(",")[0]]

    def cluster(self):
        return self.telemetry("/scpp/cluster")

    def peer(self, node_id):
        """/scpp/cluster,ID: one node as this node sees it (None if absent)."""
        try:
            return self.telemetry("/scpp/cluster,%d" % node_id)
        except (ValueError, KeyError):
            return None

    def routes(self):
        """{(prefix, node, shard)} of the node's route table (/scpp/routes)."""
        out = set()
        for line in self.telemetry("/scpp/routes"):
            m = re.match(r"(\S+) local shard (\d+)", line)
            if m:
                out.add((m.group(1), self.id, int(m.group(2))))
                continue
            m = re.match(r"(\S+) node (\d+) peer \S+ shard (\d+)", line)
            check(m is not None, "unexpected route line %r" % line)
            out.add((m.group(1), int(m.group(2)), int(m.group(3))))
        return out

    # -- traffic (the caller is inside the namespace: Cluster.enter()) ------

    def drive(self, text, port=7300, client=None, timeout=30, block=None, times=1, extra=None):
        """Send one block with scppd_drive (no retransmission; 2 s per wait),
        with scppd_drive's options @p extra; the reply's JSON, its meta line
        in self.last_meta."""
        if block is None:
            self.block_id += 1
            block = self.block_id
        args = [DRIVE, "exec", self.ip, str(port), text, "--client", str(client or self.id),
                "--block", str(block), "--times", str(times)] + list(extra or [])
        r = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise ClusterFailure("block failed (%d) on node %d: %s\n%s\n%s" %
                                 (r.returncode, self.id, text, r.stdout, r.stderr))
        rep = None
        for line in r.stdout.splitlines():
            if line.startswith("meta "):
                self.last_meta = json.loads(line[5:])
            elif not line.startswith("between ") and rep is None:
                rep = json.loads(line)
        if rep is not None:
            return rep
        raise ClusterFailure("no reply from node %d: %s" % (self.id, r.stdout))

    def c_drive(self):
        return DRIVE

    def stats(self):
        return self.telemetry("/scpp/stats")

    def not_here(self, text):
        """The E_NOT_HERE status fields a block gets from this node."""
        rep = self.drive(text)
        check(rep["statuses"], "expected a status: %s" % rep)
        f = rep["statuses"][0]["fields"]
        check(f["code"] == "E_NOT_HERE", "expected E_NOT_HERE: %s" % f)
        return f


class Cluster:
    """A namespace with a bridge, maybe etcd, and nodes. A context manager:
    leaving it cleans everything up."""

    # Short leases keep the tests quick; a 900 ms request bound leaves
    # keepalives room on a loaded 2-CPU machine (a third of the TTL).
    def __init__(self, name, ttl_s=3, poll_ms=200, timeout_ms=900):
        self.tag = "scc%s%d" % (re.sub("[^a-z]", "", name)[:4], os.getpid() % 10000)
        self.ns = "scppc-" + self.tag
        self.tmp = tempfile.mkdtemp(prefix="scppc-")
        self.etcd_prefix = "/scpp/%s/" % self.tag
        self.ttl_s, self.poll_ms, self.timeout_ms = ttl_s, poll_ms, timeout_ms
        self.nodes = []
        self.etcd = None
        self.orig_ns = None
        self._old_handlers = {}

    def etcd_settings(self):
        return {"endpoints": [ETCD_URL], "prefix": self.etcd_prefix, "lease_ttl_s": self.ttl_s,
                "poll_ms": self.poll_ms, "timeout_ms": self.timeout_ms, "start_wait_ms": 8000}

    def ip(self, *args):
        return run(["ip", "-n", self.ns] + list(args))

    def __enter__(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._old_handlers[sig] = signal.signal(sig, self._on_signal)
        run(["ip", "netns", "add", self.ns])
        self.ip("link", "set", "lo", "up")
        self.ip("link", "add", "br0", "type", "bridge")
        # A fixed MAC of its own: a bridge otherwise takes its lowest port's,
        # which is a node's (net_tap gives the DPDK port the kernel tap's
        # MAC), and then drops that node's frames to other nodes as coming
        # from its own address (node-to-node forwarding, ARP between nodes).
        self.ip("link", "set", "br0", "address", "02:00:c6:12:00:01")
        self.ip("addr", "add", BRIDGE_IP + "/24", "dev", "br0")
        self.ip("link", "set", "br0", "up")
        run(["ip", "netns", "exec", self.ns, "sysctl", "-qw",
             "net.ipv6.conf.br0.disable_ipv6=1"], check_rc=False)
        return self

    def _on_signal(self, sig, frame):
        self.cleanup()
        sys.exit(128 + sig)

    def __exit__(self, *exc):
        self.cleanup()
        return False

    # -- etcd ----------------------------------------------------------------

    def start_etcd(self):
        data = os.path.join(self.tmp, "etcd")
        self.etcd_log = open(os.path.join(self.tmp, "etcd.log"), "a")
        self.etcd = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, ETCD, "--name", "scpp-test", "--data-dir", data,
             "--listen-client-urls", ETCD_URL, "--advertise-client-urls", ETCD_URL,
             "--listen-peer-urls", "http://127.0.0.1:2380",
             "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
             "--initial-cluster", "scpp-test=http://127.0.0.1:2380"],
            stdout=self.etcd_log, stderr=subprocess.STDOUT)
        wait_for("etcd to answer", lambda: self.etcdctl("endpoint", "health",
                                                         check_rc=False).returncode == 0,
                 timeout=30, step=0.2)
        return self

    def kill_etcd(self):
        if self.etcd is not None and self.etcd.poll() is None:
            self.etcd.kill()
            self.etcd.wait(timeout=20)
        self.etcd = None

    def etcdctl(self, *args, check_rc=True):
        return run(["ip", "netns", "exec", self.ns, ETCDCTL, "--endpoints", ETCD_URL,
                    "--dial-timeout", "2s", "--command-timeout", "3s"] + list(args),
                   check_rc=check_rc, env=dict(os.environ, ETCDCTL_API="3"))

    def etcd_keys(self):
        r = self.etcdctl("get", "--prefix", "--keys-only", self.etcd_prefix)
        return [k for k in r.stdout.split("\n") if k]

    # -- nodes -----------------------------------------------------------------

    def node(self, node_id, **kw):
        return Node(self, node_id, **kw)

    def static_nodes(self, nodes):
        """Give each node the same static $.cluster section listing them all."""
        recs = [n.record() for n in nodes]
        for n in nodes:
            n.cfg["cluster"] = {"source": "static", "nodes": recs,
                                "forward": n.cfg["cluster"].get("forward", {"enabled": True})}

    def enter(self):
        """Move this process into the namespace (clients, CLI)."""
        if self.orig_ns is None:
            self.orig_ns = os.open("/proc/self/ns/net", os.O_RDONLY)
            fd = os.open("/var/run/netns/" + self.ns, os.O_RDONLY)
            if _libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns")
            os.close(fd)

    def leave(self):
        if self.orig_ns is not None:
            _libc.setns(self.orig_ns, CLONE_NEWNET)
            os.close(self.orig_ns)
            self.orig_ns = None

    def cli(self, *args, check_rc=True):
        return run([SCPP_CLI] + list(args), check_rc=check_rc)

    def logs(self, tail=3000):
        out = []
        for n in self.nodes:
            out.append("---- node %d (%s) log ----\n%s" % (n.id, n.prefix, n.logtext()[-tail:]))
        return "\n".join(out)

    def cleanup(self):
        self.leave()
        for n in self.nodes:
            try:
                n.stop()
            except (OSError, subprocess.SubprocessError):
                pass
        self.kill_etcd()
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)
        for n in self.nodes:
            shutil.rmtree("/var/run/dpdk/" + n.prefix, ignore_errors=True)
        if os.environ.get("SCPPT_KEEP"):
            print("kept", self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        for sig, h in self._old_handlers.items():
            signal.signal(sig, h)
        self._old_handlers = {}
