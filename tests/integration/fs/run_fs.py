#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Integration tests of scpp-fs: a real scppd (in its own network namespace,
tests/integration/run_test.py's Daemon) and real FUSE mounts of scpp-fs on
it, used by ordinary programs and system calls.

    run_fs.py NAME        (NAME: see TESTS at the bottom)

Environment (tests/integration/fs/meson.build): SCPPD, SCPP_FS,
SCPP_SOURCE_ROOT; SCPPT_PORT=af_packet|af_xdp puts the node on a veth pair
instead of net_tap (run_test.py Daemon; fs_bigfile_afpacket). Needs root (namespaces, taps, mounts) and /dev/fuse:
exits 77 otherwise. Every mount is unmounted and every process stopped by
PID, also on failure; every wait is bounded.
"""

import ctypes
import errno
import hashlib
import json
import os
import random
import re
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import run_test as rt  # noqa: E402

SCPP_FS = os.environ.get("SCPP_FS", "build/app/scpp-fs/scpp-fs")
check = rt.check
TestFailure = rt.TestFailure

# Room for a 256 MiB file and a tree of thousands of files on one shard.
STORE = {"slab_mb": 400, "entries": 1 << 21, "max_value_bytes": 1 << 20}
EAL_MB = 1024
# The node's own eval limits (config/default.json: 4096 rows, 1 ms per
# block): directories are paged (docs/FS.md §1), so no block grows with a
# directory, and a block a preempted worker aborts on its wall-clock budget
# is sent again by scpp-fs (FSD_ETIME_RETRIES).
EVAL = {}


def mounted(path):
    """Is @path a mount point? From /proc/self/mounts, not stat(): a stat of
    a mount whose node is gone fails."""
    with open("/proc/self/mounts") as f:
        return any(line.split()[1] == path for line in f)


CLONE_NEWNS = 0x00020000
MS_REC, MS_PRIVATE, MS_SHARED = 1 << 14, 1 << 18, 1 << 20
_isolated = False
_outer_ns = None  # an fd of the mount namespace this process started in


def private_mount_namespace():
    """Move this process (and so every mount it or its children make) into a
    mount namespace of its own, once, before the first mount.

    The root namespace's mounts are private here, so a process anywhere on
    the machine that copies it while one of our FUSE mounts exists (`ip
    netns exec`, `unshare -m`: other test runs do so all the time) keeps a
    copy of the mount that fusermount3 -u in our namespace does not remove;
    the superblock stays referenced, the kernel never ends the connection
    and every FUSE thread stays in read(/dev/fuse). In a namespace of our
    own, nobody else's copy holds our mounts. Our tree is made private (cut
    from the root namespace) and then shared again as a new peer group of
    its own, so that the copies our own `ip netns exec` children make
    (scppd, made slaves of it by ip) receive our unmounts.

    Idempotent; called by main() and by Mount.start() (the cluster suite and
    the benchmark use Mount). Must run while this process has one thread."""
    global _isolated, _outer_ns
    if _isolated:
        return
    _outer_ns = os.open("/proc/self/ns/mnt", os.O_RDONLY)
    if _libc.unshare(CLONE_NEWNS) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "unshare(CLONE_NEWNS): " + os.strerror(e))
    for flags in (MS_REC | MS_PRIVATE, MS_REC | MS_SHARED):
        if _libc.mount(None, b"/", None, flags, None) != 0:
            e = ctypes.get_errno()
            raise OSError(e, "mount --make-r%s /: %s" % (
                "private" if flags & MS_PRIVATE else "shared", os.strerror(e)))
    _isolated = True


def isolated():
    """Is this process in another mount namespace than the one it started in?"""
    return _outer_ns is not None and \
        os.readlink("/proc/self/ns/mnt") != os.readlink("/proc/self/fd/%d" % _outer_ns)


# How long a mount's daemon may take to exit after fusermount3 -u: the forgets
# the kernel sends at unmount reap every inode unlinked while the kernel held
# it (a few blocks each; thousands in fs_bigdir). Then -uz, an abort of the
# FUSE connection, SIGKILL: bounded, and reported as a failure.
UNMOUNT_WAIT_S = 120


class Mount:
    """One scpp-fs process and its mount point."""

    def __init__(self, name, opts=(), extra=()):
        self.dir = tempfile.mkdtemp(prefix="scppfs-%s-" % name)
        self.logpath = self.dir + ".log"
        self.proc = None
        self.conn = None
        self.result = None
        self.args = [SCPP_FS, "--server", rt.SERVER, "-f"] + list(extra)
        if opts:
            self.args += ["-o", ",".join(opts)]
        self.args.append(self.dir)

    def start(self):
        private_mount_namespace()
        self.log = open(self.logpath, "w")
        self.proc = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise TestFailure("scpp-fs exited with %d:\n%s" % (self.proc.returncode,
                                                                    self.logtext()))
            if mounted(self.dir):
                self.conn = fuse_connection(self.dir)
                return self
            time.sleep(0.05)
        raise TestFailure("scpp-fs did not mount in 30 s:\n" + self.logtext())

    def logtext(self):
        try:
            with open(self.logpath) as f:
                return f.read()
        except OSError:
            return ""

    def unmount(self):
        """fusermount3 -u, then the daemon must exit by itself within
        UNMOUNT_WAIT_S; returns its exit code (0 expected). Never hangs: past
        the deadline the mount is detached (-uz), its FUSE connection
        aborted and the process killed by PID, and the result is a string
        saying so (a failure wherever it is checked; main() checks every
        mount's). Called again, it returns the first result."""
        if self.result is not None or self.proc is None:
            return self.result
        if mounted(self.dir):
            r = subprocess.run(["fusermount3", "-u", self.dir], capture_output=True, text=True,
                               timeout=30)
            if r.returncode != 0:
                print("fusermount3 -u %s: %s" % (self.dir, r.stderr.strip()))
        try:
            self.result = self.proc.wait(timeout=UNMOUNT_WAIT_S)
            return self.result
        except subprocess.TimeoutExpired:
            pass
        if os.environ.get("SCPPFS_GDB"):
            print(subprocess.run(["gdb", "-p", str(self.proc.pid), "-batch", "-ex",
                                  "thread apply all bt"],
                                 capture_output=True, text=True).stdout[-3000:])
        self.result = "scpp-fs %d still running %d s after fusermount3 -u: %s" % (
            self.proc.pid, UNMOUNT_WAIT_S, self.force())
        print(self.result)
        return self.result

    def force(self):
        """Detach, abort the connection, kill by PID; says what it took."""
        steps = []
        if mounted(self.dir):
            subprocess.run(["fusermount3", "-uz", self.dir], capture_output=True, timeout=30)
            steps.append("fusermount3 -uz")
        if self.proc.poll() is None and abort_fuse_connection(self.conn):
            steps.append("connection %s aborted" % self.conn)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            steps.append("killed")
        return ", ".join(steps) + " (exit %s)" % self.proc.returncode

    def cleanup(self):
        if self.proc is not None and self.result is None and \
                (self.proc.poll() is None or mounted(self.dir)):
            self.force()
        elif mounted(self.dir):  # a daemonised mount (no self.proc)
            subprocess.run(["fusermount3", "-uz", self.dir], capture_output=True, timeout=30)
            abort_fuse_connection(self.conn)
        shutil.rmtree(self.dir, ignore_errors=True)
        try:
            os.unlink(self.logpath)
        except OSError:
            pass

    def p(self, *parts):
        return os.path.join(self.dir, *parts)


FUSECTL = "/sys/fs/fuse/connections"


def fuse_connection(path):
    """The FUSE connection number of the mount at @path: its device number
    (the directory fusectl names it by), or None when not a FUSE mount."""
    st = os.stat(path)
    return st.st_dev if os.major(st.st_dev) == 0 else None


def abort_fuse_connection(conn):
    """Abort FUSE connection @conn (fusectl's `abort`: every request of it
    fails and the daemon's reads of /dev/fuse end), mounting fusectl in this
    mount namespace first if needed. True when written."""
    if conn is None:
        return False
    if not os.path.exists(os.path.join(FUSECTL, str(conn))):
        subprocess.run(["mount", "-t", "fusectl", "none", FUSECTL], capture_output=True,
                       timeout=30)
    try:
        with open(os.path.join(FUSECTL, str(conn), "abort"), "w") as f:
            f.write("1")
        return True
    except OSError:
        return False


def sh(cmd, cwd, timeout=600):
    r = subprocess.run(["bash", "-c", cmd], cwd=cwd, capture_output=True, text=True,
                       timeout=timeout)
    if r.returncode != 0:
        raise TestFailure("`%s` in %s failed (%d):\n%s\n%s" % (cmd, cwd, r.returncode,
                                                                r.stdout[-3000:], r.stderr[-3000:]))
    return r.stdout


def errno_of(fn, *a):
    try:
        fn(*a)
    except OSError as e:
        return e.errno
    return 0


_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_void_p]
_libc.unshare.argtypes = [ctypes.c_int]
AT_FDCWD = -100
RENAME_NOREPLACE, RENAME_EXCHANGE = 1, 2


def renameat2(a, b, flags):
    if _libc.renameat2(AT_FDCWD, a.encode(), AT_FDCWD, b.encode(), flags) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def executed(d):
    return d.stats()["executed"]


# ---------------------------------------------------------------- tests

def test_basic(d, mounts):
    """The operations one by one, with their POSIX errors."""
    m = mounts(Mount("basic").start())
    before = executed(d)
    check(sorted(os.listdir(m.dir)) == [], "a new volume is empty")
    os.mkdir(m.p("a"), 0o755)
    check(os.stat(m.p("a")).st_nlink == 2, "a new directory has 2 links")
    check(os.stat(m.dir).st_nlink == 3, "the parent gained a link")
    with open(m.p("a", "f"), "w") as f:
        f.write("hello\n")
    with open(m.p("a", "f")) as f:
        check(f.read() == "hello\n", "read back what was written")
    check(os.listdir(m.p("a")) == ["f"], "listing")
    st = os.stat(m.p("a", "f"))
    check(stat.S_ISREG(st.st_mode) and st.st_size == 6 and st.st_nlink == 1, "stat %s" % (st,))
    # Errors, checked in the blocks.
    check(errno_of(os.mkdir, m.p("a")) == errno.EEXIST, "mkdir existing: EEXIST")
    check(errno_of(os.open, m.p("a", "f"), os.O_CREAT | os.O_EXCL | os.O_WRONLY) ==
          errno.EEXIST, "O_EXCL: EEXIST")
    check(errno_of(os.rmdir, m.p("a")) == errno.ENOTEMPTY, "rmdir non-empty: ENOTEMPTY")
    check(errno_of(os.unlink, m.p("a")) == errno.EISDIR, "unlink a dir: EISDIR")
    check(errno_of(os.rmdir, m.p("a", "f")) == errno.ENOTDIR, "rmdir a file: ENOTDIR")
    check(errno_of(os.stat, m.p("a", "f", "x")) == errno.ENOTDIR, "file as dir: ENOTDIR")
    check(errno_of(os.stat, m.p("nope")) == errno.ENOENT, "ENOENT")
    check(errno_of(os.mkdir, m.p("x" * 256)) == errno.ENAMETOOLONG, "ENAMETOOLONG")
    check(errno_of(os.open, m.p("a"), os.O_WRONLY) == errno.EISDIR, "open dir for write")
    check(errno_of(os.rename, m.p("a"), m.p("a", "sub")) == errno.EINVAL,
          "rename a directory into itself: EINVAL")
    # Links.
    os.link(m.p("a", "f"), m.p("g"))
    check(os.stat(m.p("g")).st_nlink == 2 and os.stat(m.p("a", "f")).st_nlink == 2, "link count")
    check(os.stat(m.p("g")).st_ino == os.stat(m.p("a", "f")).st_ino, "same inode")
    os.unlink(m.p("a", "f"))
    check(os.stat(m.p("g")).st_nlink == 1, "link count after unlink")
    os.symlink("a/../g", m.p("s"))
    check(os.readlink(m.p("s")) == "a/../g", "readlink")
    check(os.lstat(m.p("s")).st_size == 6 and stat.S_ISLNK(os.lstat(m.p("s")).st_mode), "lstat")
    with open(m.p("s")) as f:
        check(f.read() == "hello\n", "through the symlink")
    # Rename: replace, NOREPLACE, EXCHANGE.
    with open(m.p("h"), "w") as f:
        f.write("other")
    check(errno_of(renameat2, m.p("g"), m.p("h"), RENAME_NOREPLACE) == errno.EEXIST,
          "RENAME_NOREPLACE: EEXIST")
    renameat2(m.p("g"), m.p("h"), RENAME_EXCHANGE)
    with open(m.p("g")) as f:
        check(f.read() == "other", "exchanged")
    os.rename(m.p("g"), m.p("a", "g2"))
    check(sorted(os.listdir(m.dir)) == ["a", "h", "s"], "after rename: %s" % os.listdir(m.dir))
    # setattr.
    os.chmod(m.p("h"), 0o600)
    check(stat.S_IMODE(os.stat(m.p("h")).st_mode) == 0o600, "chmod")
    os.chown(m.p("h"), 1234, 5678)
    check((os.stat(m.p("h")).st_uid, os.stat(m.p("h")).st_gid) == (1234, 5678), "chown")
    os.truncate(m.p("h"), 2)
    with open(m.p("h")) as f:
        check(f.read() == "he", "truncate")
    os.utime(m.p("h"), ns=(1_000_000_000_123, 2_000_000_000_456))
    st = os.stat(m.p("h"))
    check((st.st_atime_ns, st.st_mtime_ns) == (1_000_000_000_123, 2_000_000_000_456), "utimens")
    # Sparse and at offsets, O_APPEND, O_TRUNC.
    fd = os.open(m.p("sparse"), os.O_CREAT | os.O_RDWR, 0o644)
    os.pwrite(fd, b"end", 3 << 20)
    check(os.pread(fd, 16, (3 << 20) - 8) == b"\0" * 8 + b"end", "hole reads as zeros")
    check(os.fstat(fd).st_size == (3 << 20) + 3, "sparse size")
    os.close(fd)
    fd = os.open(m.p("h"), os.O_WRONLY | os.O_APPEND)
    os.write(fd, b"llo")
    os.close(fd)
    with open(m.p("h"), "rb") as f:
        check(f.read() == b"hello", "O_APPEND")
    fd = os.open(m.p("h"), os.O_WRONLY | os.O_TRUNC)
    os.close(fd)
    check(os.stat(m.p("h")).st_size == 0, "O_TRUNC")
    # FIFO, xattrs, statfs.
    os.mkfifo(m.p("fifo"), 0o644)
    check(stat.S_ISFIFO(os.stat(m.p("fifo")).st_mode), "mkfifo")
    os.setxattr(m.p("h"), "user.k", b"v1")
    check(os.getxattr(m.p("h"), "user.k") == b"v1", "getxattr")
    check(os.listxattr(m.p("h")) == ["user.k"], "listxattr")
    check(errno_of(os.setxattr, m.p("h"), "user.k", b"x", os.XATTR_CREATE) == errno.EEXIST,
          "XATTR_CREATE on an existing name")
    check(errno_of(os.setxattr, m.p("h"), "system.other", b"x") == errno.EOPNOTSUPP,
          "system.* is not supported: EOPNOTSUPP")
    os.removexattr(m.p("h"), "user.k")
    check(errno_of(os.getxattr, m.p("h"), "user.k") == errno.ENODATA, "removed: ENODATA")
    sv = os.statvfs(m.dir)
    check(sv.f_bsize == 4096 and sv.f_namemax == 255 and sv.f_blocks > 0, "statvfs %s" % (sv,))
    # The last link of a file nobody has open takes the inode with it, in
    # the unlink's own block; with a handle open, it stays until released.
    n0 = d.entities()
    with open(m.p("z"), "w") as f:
        f.write("z")
    check(d.entities() == n0 + 1, "one entity per small file")
    os.unlink(m.p("z"))
    check(d.entities() == n0, "unlink reaped the inode in its block")
    fd = os.open(m.p("z"), os.O_CREAT | os.O_RDWR, 0o644)
    os.unlink(m.p("z"))
    os.write(fd, b"still here")
    check(os.pread(fd, 10, 0) == b"still here", "an unlinked open file keeps its data")
    check(d.entities() == n0 + 1, "an open unlinked inode stays")
    os.close(fd)
    wait_for(lambda: d.entities() == n0, "the released unlinked inode is reaped when forgotten")
    # Cleanup; the tree is empty again.
    for n in ("h", "s", "sparse", "fifo", "a/g2"):
        os.unlink(m.p(n))
    os.rmdir(m.p("a"))
    check(os.listdir(m.dir) == [], "empty at the end: %s" % os.listdir(m.dir))
    after = executed(d)
    check(after - before > 50, "the node executed the blocks (%d)" % (after - before))
    check(m.unmount() == 0, "scpp-fs exits 0 after fusermount3 -u")
    # Small datagrams (-o scpp_dgram): smaller write blocks, the same bytes.
    s = mounts(Mount("small", ("scpp_dgram=600",)).start())
    data = random.Random(7).randbytes(300_000)
    with open(s.p("w"), "wb") as f:
        f.write(data)
    with open(s.p("w"), "rb") as f:
        check(f.read() == data, "300 kB through 600-byte datagrams")
    os.unlink(s.p("w"))
    capability_cache(mounts)
    attribute_slot(mounts)


def attribute_slot(mounts):
    """The getattr the kernel sends for a parent right after this mount
    changed it is answered from the slot that change left (FS.md §3), with
    the attributes the change made."""
    m = mounts(Mount("slot").start())
    os.mkdir(m.p("d"))
    for i in range(100):
        fd = os.open(m.p("d", "c%d" % i), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        os.close(fd)
        os.unlink(m.p("d", "c%d" % i))
    for i in range(5):
        os.mkdir(m.p("d", "s%d" % i))
        check(os.stat(m.p("d")).st_nlink == 3 + i, "nlink after mkdir %d" % i)
    t0 = os.stat(m.p("d")).st_mtime_ns
    os.rmdir(m.p("d", "s0"))
    st = os.stat(m.p("d"))
    check(st.st_nlink == 6 and st.st_mtime_ns >= t0, "nlink and mtime after rmdir: %s" % (st,))
    os.rename(m.p("d", "s1"), m.p("s1"))
    check(os.stat(m.p("d")).st_nlink == 5 and os.stat(m.dir).st_nlink == 4,
          "nlink of both parents after a rename")
    for n in ("d/s2", "d/s3", "d/s4", "s1", "d"):
        os.rmdir(m.p(n))
    check(m.unmount() == 0, "slot mount stops cleanly")
    st = fs_stats(m)
    print("getattr %s, %d from the attribute slot" % (st["getattr"], st["attr_hits"]))
    check(st["attr_hits"] >= 200, "create+unlink's parent getattrs answered from the slot: %s" % st)
    check(st["getattr"]["blocks"] < 50 and st["getattr"]["requests"] > 200,
          "the slot saved getattr blocks: %s" % st["getattr"])
    # A create+unlink pair is two blocks (FS.md §3 "create+unlink"): the
    # create and the unlink (with d, the five mkdirs and the six rmdirs);
    # its lookup is answered from the page snapshot, its getattrs from the
    # slot, and close(2) sends no FLUSH (noflush).
    check(st["create"]["blocks"] == 106 and st["unlink"]["blocks"] == 106,
          "one create and one unlink block a pair: %s %s" % (st["create"], st["unlink"]))
    check(st["lookup"]["blocks"] <= 10 and st["lookup"]["requests"] >= 100,
          "the pairs' lookups answered by the mount: %s" % st["lookup"])
    check(st["flushes"] == 0, "no FLUSH reached the mount: %d" % st["flushes"])


# struct vfs_cap_data, revision 2, no capabilities: a valid security.capability.
CAPS = struct.pack("<5I", 0x02000000, 0, 0, 0, 0)


def capability_cache(mounts):
    """The kernel asks for security.capability before every write(2); the
    mount answers from its cached absence (docs/FS.md §3), forgets it when
    the attribute is set through it, and the kernel's removal of it at the
    next write reaches the node."""
    m = mounts(Mount("caps").start())
    fd = os.open(m.p("f"), os.O_CREAT | os.O_RDWR, 0o644)
    for i in range(200):
        os.pwrite(fd, b"%04d" % i, 4 * i)
    check(os.pread(fd, 800, 0) == b"".join(b"%04d" % i for i in range(200)), "the writes")
    os.setxattr(m.p("f"), "security.capability", CAPS)
    check(os.getxattr(m.p("f"), "security.capability") == CAPS, "set: no cached absence")
    os.pwrite(fd, b"k", 0)  # a write removes file capabilities (file_remove_privs)
    check(errno_of(os.getxattr, m.p("f"), "security.capability") == errno.ENODATA,
          "the write's removal of security.capability reached the node")
    for i in range(50):
        os.pwrite(fd, b"x", i)
    os.close(fd)
    os.unlink(m.p("f"))
    check(m.unmount() == 0, "caps mount stops cleanly")
    st = fs_stats(m)
    print("security.capability: %s, %d answered from the cache" % (st["xattr"], st["nocap_hits"]))
    check(st["xattr"]["requests"] >= 250 and st["nocap_hits"] >= 200,
          "the kernel's getxattr before each write answered from the cache: %s" % st)
    check(st["xattr"]["blocks"] <= 20, "a few getxattr blocks for 250 writes: %s" % st)


def pid_of_mount(path):
    """The PID of the scpp-fs daemon serving @path (its command line names
    the mount point, which is unique to this test)."""
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % p, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"scpp-fs") and path.encode() in argv:
            return int(p)
    return None


def wait_for(cond, what, seconds=20):
    deadline = time.time() + seconds
    while not cond():
        check(time.time() < deadline, what)
        time.sleep(0.05)


def test_lifecycle(d, mounts):
    """SIGINT in the foreground and SIGTERM as a daemon unmount cleanly;
    --root NAME and --root @OID mount the same tree."""
    a = mounts(Mount("fg", extra=("--root", "life")).start())
    os.mkdir(a.p("d"))
    with open(a.p("d", "f"), "w") as f:
        f.write("kept")
    a.proc.send_signal(rt.signal.SIGINT)
    rc = a.proc.wait(timeout=20)
    check(rc == 0, "SIGINT: exit %s, not 0: %s" % (rc, a.logtext()))
    check(not mounted(a.dir), "SIGINT unmounted")
    # Daemonised (no -f): the command returns once mounted.
    b = mounts(Mount("bg", opts=("volume=life",)))
    b.args.remove("-f")
    r = subprocess.run(b.args, capture_output=True, text=True, timeout=30)
    check(r.returncode == 0 and mounted(b.dir), "daemon mode: %d %s" % (r.returncode, r.stderr))
    with open(b.p("d", "f")) as f:
        check(f.read() == "kept", "a second mount of the volume sees the tree")
    pid = pid_of_mount(b.dir)
    check(pid is not None, "the daemon's process")
    os.kill(pid, rt.signal.SIGTERM)
    wait_for(lambda: not mounted(b.dir) and not os.path.exists("/proc/%d" % pid),
             "SIGTERM did not unmount and stop the daemon")
    # --root @OID: the volume's root directory by its OID.
    root = d.ok('get %v volume "life" ; get %v root %r ; return %r')["rows"][0][0]
    c = mounts(Mount("oid", extra=("--root", root)).start())
    with open(c.p("d", "f")) as f:
        check(f.read() == "kept", "--root @OID sees the same tree")
    # Bad arguments are refused before mounting.
    spare = mounts(Mount("spare"))  # never mounted: an empty directory to name
    r = subprocess.run([SCPP_FS, "--server", rt.SERVER, "-f", "--root", "@nonsense", spare.dir],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode != 0 and "not an OID" in r.stderr, "bad --root: %s" % r.stderr)
    r = subprocess.run([SCPP_FS, "--server", rt.SERVER], capture_output=True, text=True,
                       timeout=30)
    check(r.returncode == 2 and "usage" in r.stderr, "no mount point: usage")
    foreign_copy_does_not_pin(mounts)


def foreign_copy_does_not_pin(mounts):
    """The defect fs_bigdir met: a process elsewhere on the machine copies
    the mount namespace this suite started in while a mount exists (as `ip
    netns exec` of another test run does). That copy must not hold our
    mount: fusermount3 -u ends the connection and the daemon exits 0,
    within the bound (without the suite's own namespace it stays in
    read(/dev/fuse) until the copy goes)."""
    check(isolated(), "the suite runs in a mount namespace of its own")
    m = mounts(Mount("pin").start())
    outer = "/proc/self/fd/%d" % _outer_ns
    pinner = subprocess.Popen(["nsenter", "--mount=" + outer, "unshare", "--mount",
                               "--propagation", "unchanged", "sleep", "600"],
                              pass_fds=(_outer_ns,))
    try:
        def copied():
            with open("/proc/%d/cmdline" % pinner.pid, "rb") as f:
                if not f.read().startswith(b"sleep"):
                    return False
            ns = os.readlink("/proc/%d/ns/mnt" % pinner.pid)
            return ns not in (os.readlink(outer), os.readlink("/proc/self/ns/mnt"))
        wait_for(copied, "the copy of the outer namespace was not made")
        with open("/proc/%d/mounts" % pinner.pid) as f:
            check(not any(line.split()[1] == m.dir for line in f),
                  "a copy of the outer namespace holds the mount")
        with open(m.p("f"), "w") as f:
            f.write("x")
        rc = m.unmount()
        check(rc == 0, "unmount with a foreign namespace copy alive: %s" % rc)
    finally:
        pinner.kill()
        pinner.wait(timeout=10)


def test_auth(d, mounts):
    """auth.mode required: the mount opens a session with a key (here the
    node key, a root of the node) and works; without one it is refused
    before mounting, saying why."""
    node_key = os.path.join(d.cfg["node"]["state_dir"], "node.key")
    before = d.telemetry("/scpp/auth")
    m = mounts(Mount("auth", ("key=" + node_key,)).start())
    os.mkdir(m.p("d"))
    with open(m.p("d", "f"), "w") as f:
        f.write("sealed")
    with open(m.p("d", "f")) as f:
        check(f.read() == "sealed", "read back through a session")
    after = d.telemetry("/scpp/auth")
    check(after["sessions"] > before["sessions"], "a session was opened: %s" % after)
    bad = mounts(Mount("noauth", ("no_auth",)))
    bad.args.remove("-f")
    r = subprocess.run(bad.args, capture_output=True, text=True, timeout=60)
    check(r.returncode != 0 and not mounted(bad.dir),
          "an unauthenticated mount of an auth-required node must fail: %d %s" %
          (r.returncode, r.stderr))
    check("cannot open the volume" in r.stderr and "Permission denied" in r.stderr,
          "the refusal says why: %r" % r.stderr)


def make_tree(root, nfiles, seed):
    rnd = random.Random(seed)
    dirs = [root]
    for i in range(nfiles):
        if rnd.random() < 0.08:
            dn = os.path.join(rnd.choice(dirs), "d%d" % i)
            os.mkdir(dn)
            dirs.append(dn)
        fn = os.path.join(rnd.choice(dirs), "f%d.txt" % i)
        with open(fn, "wb") as f:
            f.write(rnd.randbytes(rnd.choice([0, 1, 10, 100, 1000, 5000, 70000])))
        os.chmod(fn, rnd.choice([0o644, 0o600, 0o755, 0o444]))
    os.symlink("f0.txt", os.path.join(root, "link-to-f0"))


def test_tools(d, mounts):
    """cp -a, diff -r, tar, git, find, du, ln -s, mv on the mount."""
    m = mounts(Mount("tools").start())
    local = tempfile.mkdtemp(prefix="scppfs-local-", dir="/dev/shm")
    try:
        src = os.path.join(local, "src")
        os.mkdir(src)
        make_tree(src, 2500, 16)
        sh("cp -a %s %s" % (src, m.p("tree")), "/")
        sh("diff -r %s %s" % (src, m.p("tree")), "/")
        sh("cp -a %s %s" % (m.p("tree"), os.path.join(local, "back")), "/")
        sh("diff -r %s %s" % (src, os.path.join(local, "back")), "/")
        # Modes, sizes and link targets survived the round trip.
        lst = ("find . \\( -type d -printf '%%p %%y %%m\\n' \\) -o -printf '%%p %%y %%m %%s %%n "
               "%%l\\n' | sort")
        a = sh("cd %s && %s" % (src, lst), "/")
        b = sh("cd %s && %s" % (m.p("tree"), lst), "/")
        check(a == b, "find -printf differs between the local tree and the mount")
        check(len(a.splitlines()) > 2500, "the tree has its files")
        sh("du -s tree > /dev/null", m.dir)
        # tar c | tar x on the mount, compared.
        sh("mkdir untar && tar cf - tree | (cd untar && tar xf -)", m.dir)
        sh("diff -r tree untar/tree", m.dir)
        # ln -s, mv across directories.
        sh("ln -s tree/link-to-f0 l2 && cat l2 > /dev/null && mkdir x y && touch x/a && "
           "mv x/a y/b && test ! -e x/a && test -f y/b && mv tree untar/tree2", m.dir)
        check(not os.path.exists(m.p("tree")) and os.path.isdir(m.p("untar", "tree2")), "mv dir")
        # git.
        sh("mkdir repo && cd repo && git init -q && git config user.email t@e && "
           "git config user.name t && cp -a ../untar/tree2 src && git add -A && "
           "git commit -qm one && echo more >> src/f0.txt && git status --short && "
           "git commit -qam two && git log --oneline | wc -l", m.dir)
        out = sh("git status --porcelain && git log --oneline | wc -l && git fsck --no-progress 2>&1", m.p("repo"))
        check(out.strip() == "2", "git status clean and 2 commits: %r" % out)
        # A directory of 10 000 entries lists completely (in parts).
        os.mkdir(m.p("big"))
        for i in range(10000):
            os.close(os.open(m.p("big", "e%05d" % i), os.O_CREAT | os.O_WRONLY, 0o644))
        names = os.listdir(m.p("big"))
        check(sorted(names) == ["e%05d" % i for i in range(10000)],
              "a 10 000-entry directory lists %d names" % len(names))
        sh("rm -rf repo untar x y l2 big", m.dir)
        check(os.listdir(m.dir) == [], "rm -rf emptied the mount: %s" % os.listdir(m.dir)[:5])
    finally:
        shutil.rmtree(local, ignore_errors=True)


def fs_stats(m):
    """The per-operation figures scpp-fs prints when it stops (fsd_stats_print):
    {op: {"blocks": n, "max_commands": n, "max_rows": n}, "pages_read": n, ...}."""
    out = {}
    for line in m.logtext().splitlines():
        if not line.startswith("scpp-fs: stats "):
            continue
        kv = dict(w.split("=", 1) for w in line.split()[2:])
        if "op" in kv:
            op = kv.pop("op")
            out[op] = {k: int(v) for k, v in kv.items()}
        else:
            out.update({k: int(v) for k, v in kv.items()})
    return out


CHURN = r"""
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    os.close(os.open(os.path.join(d, "c%06d" % i), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    os.unlink(os.path.join(d, "d%06d" % i))
"""


# scpp-fs's default -o readdir_span (FSD_READDIR_SPAN).
SPAN = 3


def test_bigdir(d, mounts):
    """A directory of more names than the node's eval.max_rows (4096), with the
    node at its default limits: `ls | wc -l` exact, listings while another
    process adds and removes names (every name present throughout listed
    exactly once, none twice), and lookup blocks of the same cost (commands
    from the replies' END) at 10 names and at thousands."""
    n = int(os.environ.get("SCPPFS_BIGDIR", "9000"))
    churn = 1000
    opts = ("entry_timeout=0", "attr_timeout=0")
    a = mounts(Mount("bd1", opts=opts).start())
    os.mkdir(a.p("big"))
    for i in range(10):
        os.close(os.open(a.p("big", "e%06d" % i), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    for i in range(10):
        os.stat(a.p("big", "e%06d" % i))
    check(a.unmount() == 0, "first mount stops cleanly")
    small = fs_stats(a)
    check(small["lookup"]["blocks"] >= 20, "lookups reached the node: %s" % small)

    b = mounts(Mount("bd2", opts=opts).start())
    t0 = time.time()
    for i in range(10, n):
        os.close(os.open(b.p("big", "e%06d" % i), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    for i in range(churn):
        os.close(os.open(b.p("big", "d%06d" % i), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    print("made %d names in %.1f s" % (n + churn - 10, time.time() - t0))
    out = sh("ls big | wc -l", b.dir)
    check(int(out.strip()) == n + churn, "ls | wc -l says %s, not %d" % (out.strip(), n + churn))
    names = os.listdir(b.p("big"))
    check(sorted(names) == sorted(["e%06d" % i for i in range(n)] +
                                  ["d%06d" % i for i in range(churn)]), "the exact listing")
    # Listings while another process makes c* and removes d* names.
    p = subprocess.Popen([sys.executable, "-c", CHURN, b.p("big"), str(churn)])
    listings = 0
    try:
        while True:
            done = p.poll() is not None
            seen = {}
            for nm in os.listdir(b.p("big")):
                seen[nm] = seen.get(nm, 0) + 1
            twice = [k for k, v in seen.items() if v > 1]
            check(not twice, "listed twice while names changed: %s" % twice[:5])
            lost = [i for i in range(n) if seen.get("e%06d" % i) != 1]
            check(not lost, "present throughout but not listed: %s" % lost[:5])
            listings += 1
            if done:
                break
    finally:
        if p.poll() is None:
            p.kill()
        p.wait(timeout=30)
    check(p.returncode == 0, "the churn process failed: %s" % p.returncode)
    print("%d listings while names changed" % listings)
    check(listings >= 2, "at least one listing ran during the changes")
    names = os.listdir(b.p("big"))
    check(sorted(names) == sorted(["e%06d" % i for i in range(n)] +
                                  ["c%06d" % i for i in range(churn)]), "the final listing")
    for i in range(0, n, max(1, n // 200)):
        os.stat(b.p("big", "e%06d" % i))
    rc = b.unmount()
    check(rc == 0, "second mount stops cleanly: %s" % rc)
    big = fs_stats(b)
    print("lookup: small %s, big %s; readdir %s; pages read %d, rebalances %d" %
          (small["lookup"], big["lookup"], big["readdir"], big["pages_read"], big["rebalances"]))
    check(big["lookup"]["max_commands"] == small["lookup"]["max_commands"],
          "a lookup costs %d commands at %d names, %d at 10" %
          (big["lookup"]["max_commands"], n, small["lookup"]["max_commands"]))
    check(big["rebalances"] >= n // 64, "pages were split: %d" % big["rebalances"])
    check(big["readdir"]["max_rows"] <= (2 << SPAN) * 4 * 64, "a listing block of %d rows" %
          big["readdir"]["max_rows"])
    # One listing of the 10 000 names: ~160 pages (2^7 .. 2^8). The kernel's
    # first request is a readdirplus (names with their stat): one interval
    # of 2^1 .. 2^2 pages; the others are readdir (names, ino and type) in
    # intervals of 2^3 .. 2^4 pages (-o readdir_span, default 3): 2^(7-3) =
    # 16 listing blocks, the first of them again (it now starts after the
    # readdirplus interval), so 18 at most. A block the node's time budget
    # aborts four times in a row (a preempted worker) makes the mount list
    # in halves from then on (list_smaller), so the bound doubles with each
    # such step.
    ls = mounts(Mount("bd-ls").start())
    check(len(os.listdir(ls.p("big"))) == n + churn, "one listing of %d names" % (n + churn))
    check(ls.unmount() == 0, "the listing mount stops cleanly")
    one = fs_stats(ls)
    print("one listing of %d names: readdir %s, intervals %d, list_smaller %d, etime_retries %d"
          % (n + churn, one["readdir"], one["pages_read"], one["list_smaller"],
             one["etime_retries"]))
    # The bound is on the intervals listed (pages_read: the listing blocks
    # that succeeded). A block the budget aborted and the mount sent again
    # (etime_retries, fewer than four in a row) is one more block for the
    # same interval, and a loaded machine decides how many there are: they
    # are accounted for, not bounded.
    bound = min(((1 << (7 - SPAN)) + 2) << one["list_smaller"], 160)
    check(one["pages_read"] <= bound, "%d listing intervals for one listing of %d names "
          "(at most %d)" % (one["pages_read"], n + churn, bound))
    check(one["readdir"]["blocks"] <= one["pages_read"] + one["etime_retries"],
          "%d listing blocks for %d intervals and %d budget retries" %
          (one["readdir"]["blocks"], one["pages_read"], one["etime_retries"]))
    # Several pages per block: an interval of 2^span pages holds more than
    # 2^span * 32 names (pages split at 64); each halving (list_smaller, the
    # node's time budget met, e.g. under ASan) halves it, down to one page.
    span = max(SPAN - one["list_smaller"], 0)
    if span > 0:
        check(one["readdir"]["max_rows"] > (1 << span) * 32,
              "a listing block held several pages: %d rows (span %d)" %
              (one["readdir"]["max_rows"], span))
    # Remove them all: the pages merge back, rmdir works.
    c = mounts(Mount("bd3").start())
    sh("rm -rf big", c.dir)
    check(not os.path.exists(c.p("big")), "removed")
    check(c.unmount() == 0, "third mount stops cleanly")
    check(fs_stats(c)["rebalances"] >= n // 64, "pages were merged")


PCREATE = r"""
import os, sys
d, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(n):
    p = os.path.join(d, "%s-%05d" % (tag, i))
    fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    os.write(fd, p.encode())
    os.close(fd)
"""


def test_parallel(d, mounts):
    """Several processes at once on one multi-threaded mount (-o max_threads=4):
    parallel `cp -a` of trees and back with `diff -r`, parallel creates in one
    directory (the exact final listing, every file's bytes), and the mount's
    own count that requests were in flight on several contexts at once."""
    m = mounts(Mount("par", opts=("max_threads=4",)).start())
    local = tempfile.mkdtemp(prefix="scppfs-par-")
    try:
        procs = 4
        trees = []
        for k in range(procs):
            src = os.path.join(local, "src%d" % k)
            os.mkdir(src)
            make_tree(src, 300, 100 + k)
            trees.append(src)
        ps = [subprocess.Popen(["cp", "-a", t, m.p("t%d" % k)]) for k, t in enumerate(trees)]
        for p in ps:
            check(p.wait(timeout=600) == 0, "parallel cp -a into the mount")
        ps = [subprocess.Popen(["cp", "-a", m.p("t%d" % k), os.path.join(local, "back%d" % k)])
              for k in range(procs)]
        for p in ps:
            check(p.wait(timeout=600) == 0, "parallel cp -a out of the mount")
        ps = [subprocess.Popen(["diff", "-r", trees[k], m.p("t%d" % k)]) for k in range(procs)]
        ps += [subprocess.Popen(["diff", "-r", trees[k], os.path.join(local, "back%d" % k)])
               for k in range(procs)]
        for p in ps:
            check(p.wait(timeout=600) == 0, "diff -r after parallel copies")
        # Parallel creates in one directory: more names than one page, so
        # splits race with creates.
        os.mkdir(m.p("one"))
        n = 600
        ps = [subprocess.Popen([sys.executable, "-c", PCREATE, m.p("one"), "p%d" % k, str(n)])
              for k in range(procs)]
        for p in ps:
            check(p.wait(timeout=600) == 0, "parallel creates")
        want = sorted("p%d-%05d" % (k, i) for k in range(procs) for i in range(n))
        got = sorted(os.listdir(m.p("one")))
        check(got == want, "parallel creates: %d names listed, %d made" % (len(got), len(want)))
        for k in range(procs):
            for i in range(0, n, 37):
                p = m.p("one", "p%d-%05d" % (k, i))
                with open(p, "rb") as f:
                    check(f.read() == p.encode(), "contents of %s" % p)
        # Parallel removal: every name gone, the pages merged back.
        ps = [subprocess.Popen(["sh", "-c", "rm -f %s/p%d-*" % (m.p("one"), k)])
              for k in range(procs)]
        for p in ps:
            check(p.wait(timeout=600) == 0, "parallel rm")
        check(os.listdir(m.p("one")) == [], "empty after parallel rm")
        os.rmdir(m.p("one"))
    finally:
        shutil.rmtree(local, ignore_errors=True)
    check(m.unmount() == 0, "the mount stops cleanly")
    st = fs_stats(m)
    print("parallel: contexts %d, at most %d in use at once; %d rebalances" %
          (st["contexts"], st["contexts_used_max"], st["rebalances"]))
    check(st["contexts"] == 4, "four contexts")
    check(st["contexts_used_max"] >= 2, "requests were served by several threads at once")


def test_bigfile(d, mounts):
    """A 256 MiB file written and read back with its checksum, truncated to
    100 MiB (the surplus chunks dropped in batches), truncated by O_TRUNC,
    and unlinked: every chunk entity is deleted again."""
    m = mounts(Mount("big").start())
    local = "/dev/shm/scppfs-big-%d" % os.getpid()
    n0 = d.entities()
    try:
        out = sh("dd if=/dev/urandom of=%s bs=1M count=256 status=none && sha256sum < %s && "
                 "dd if=%s of=%s bs=1M status=none && sha256sum < %s" %
                 (local, local, local, m.p("big"), m.p("big")), "/", timeout=900)
        sums = [line.split()[0] for line in out.splitlines()]
        check(len(sums) == 2 and sums[0] == sums[1], "checksums differ: %s" % sums)
        check(os.stat(m.p("big")).st_size == 256 << 20, "size")
        check(d.entities() >= n0 + 256, "one entity per chunk: %d" % (d.entities() - n0))
        os.truncate(m.p("big"), 100 << 20)
        out = sh("head -c %d %s | sha256sum && sha256sum < %s" % (100 << 20, local, m.p("big")),
                 "/", timeout=900)
        sums = [line.split()[0] for line in out.splitlines()]
        check(sums[0] == sums[1], "the first 100 MiB survive the truncation")
        check(d.entities() == n0 + 100, "chunks past 100 MiB deleted: %d" % (d.entities() - n0))
        sh("echo x > %s" % m.p("big"), "/")  # O_TRUNC
        check(os.stat(m.p("big")).st_size == 2 and d.entities() == n0 + 1, "O_TRUNC")
        os.truncate(m.p("big"), 64 << 20)  # a hole: reads as zeros, costs nothing
        with open(m.p("big"), "rb") as f:
            f.seek(32 << 20)
            check(f.read(4096) == b"\0" * 4096, "a hole reads as zeros")
        check(d.entities() == n0 + 1, "a hole has no chunks")
        os.unlink(m.p("big"))
        wait_for(lambda: d.entities() == n0, "the unlinked file's entities are deleted")
        check(m.unmount() == 0, "big mount stops cleanly")
        st = fs_stats(m)
        # 1 MiB requests (max_write, read-ahead), each cut into blocks that
        # were in flight together (scpp_client_exec_many): 256 MiB written
        # and read twice is ~300 write and ~600 read requests where 80 KiB
        # writes and 128 KiB reads took ~3 300 and ~5 100.
        w, r = st["write"], st["read"]
        check(w["requests"] <= 400 and w["blocks"] >= 10 * w["requests"],
              "writes of 1 MiB in 80 KiB blocks: %s" % w)
        check(r["requests"] <= 1000 and r["blocks"] >= 4 * r["requests"],
              "reads of 1 MiB in 128 KiB blocks: %s" % r)
        check(st["batch_max"] >= 8 and st["batched"] >= 3000 and st["batches"] >= 600,
              "blocks in flight together: %s" % {k: st[k] for k in
                                                 ("batches", "batch_blocks", "batch_max",
                                                  "batched", "stashed")})
        # One sendmmsg() a block, not one sendto() a datagram.
        check(st["send_calls"] * 20 < st["dgrams_sent"],
              "datagrams per send call: %d / %d" % (st["dgrams_sent"], st["send_calls"]))
    finally:
        try:
            os.unlink(local)
        except OSError:
            pass


# Jumbo frames (fs_jumbo): the node's af_packet port and both veth ends at
# MTU 9000 (run_test.py Daemon(mtu=)), the mount's datagrams at MTU - 28.
JUMBO_MTU = 9000
JUMBO_DGRAM = JUMBO_MTU - 28


def test_jumbo(d, mounts):
    """A 64 MiB file written and read back with its checksum through a mount
    sending 8 972-byte datagrams to a node whose af_packet port carries an
    MTU of 9000: the bytes per datagram, both ways and on both sides, show
    that large datagrams were used, and no frame was over the MTU."""
    check(re.search(r"\(driver net_af_packet\):.*, MTU %d," % JUMBO_MTU, d.logtext()),
          "the port does not run at MTU %d:\n%s" % (JUMBO_MTU, d.logtext()[-3000:]))
    n0 = d.stats()
    m = mounts(Mount("jumbo", ("scpp_dgram=%d" % JUMBO_DGRAM,)).start())
    local = "/dev/shm/scppfs-jumbo-%d" % os.getpid()
    size = 64 << 20
    try:
        out = sh("dd if=/dev/urandom of=%s bs=1M count=%d status=none && sha256sum < %s && "
                 "dd if=%s of=%s bs=1M status=none && sha256sum < %s" %
                 (local, size >> 20, local, local, m.p("big"), m.p("big")), "/", timeout=900)
        sums = [line.split()[0] for line in out.splitlines()]
        check(len(sums) == 2 and sums[0] == sums[1], "checksums differ: %s" % sums)
        check(os.stat(m.p("big")).st_size == size, "size")
        os.unlink(m.p("big"))
    finally:
        try:
            os.unlink(local)
        except OSError:
            pass
    check(m.unmount() == 0, "jumbo mount stops cleanly")
    st = fs_stats(m)
    n1 = d.stats()
    check(st["dgram"] == JUMBO_DGRAM, "the mount's datagram size: %s" % st.get("dgram"))
    # The client: 64 MiB out and 64 MiB back (plus metadata blocks) at more
    # than 4 000 bytes a datagram, where 1 472-byte datagrams carry < 1 472.
    for what in ("sent", "recv"):
        n, b = st["dgrams_" + what], st["bytes_" + what]
        check(b >= size and b > 4000 * n,
              "client %s: %d bytes in %d datagrams (%.0f a datagram)" % (what, b, n, b / max(n, 1)))
    check(st["dgrams_sent"] < size // 4000 + 2000, "datagrams sent: %d" % st["dgrams_sent"])
    # Write blocks of 512 KiB (FSD_WRITE_MAX; 8 972-byte datagrams hold
    # ~560 KiB of them): two per 1 MiB write request, where 128 KiB blocks
    # were eight.
    wb = st["write"]["blocks"]
    check(size // (512 << 10) <= wb <= size // (512 << 10) + 4,
          "write blocks for %d MiB: %s" % (size >> 20, st["write"]))
    # The node: the frames it received and the reply datagrams it sent.
    rx = n1["rx_pkts"] - n0["rx_pkts"], n1["rx_bytes"] - n0["rx_bytes"]
    tx = n1["tx_pkts"] - n0["tx_pkts"], n1["tx_bytes"] - n0["tx_bytes"]
    check(rx[1] >= size and rx[1] > 4000 * rx[0], "node rx: %d bytes in %d frames" % (rx[1], rx[0]))
    check(tx[1] >= size and tx[1] > 4000 * tx[0], "node tx: %d bytes in %d datagrams" % (tx[1], tx[0]))
    check(n1["drops"].get("over_mtu", 0) == 0, "frames over the MTU: %s" % n1["drops"])
    print("jumbo: client %d datagrams sent (%d bytes), %d received (%d bytes); node rx %d "
          "frames %d bytes, tx %d datagrams %d bytes" %
          (st["dgrams_sent"], st["bytes_sent"], st["dgrams_recv"], st["bytes_recv"],
           rx[0], rx[1], tx[0], tx[1]))


def test_two_mounts(d, mounts):
    """Two mounts of one volume see each other's changes (no kernel cache:
    attr_timeout=0, entry_timeout=0, so the check is exact, not timed)."""
    opts = ("volume=shared", "attr_timeout=0", "entry_timeout=0")
    a = mounts(Mount("twoa", opts).start())
    b = mounts(Mount("twob", opts).start())
    os.mkdir(a.p("d"))
    with open(a.p("d", "f"), "w") as f:
        f.write("from a")
    with open(b.p("d", "f")) as f:
        check(f.read() == "from a", "b reads a's file")
    with open(b.p("d", "f"), "a") as f:
        f.write(", then b")
    with open(a.p("d", "f")) as f:
        check(f.read() == "from a, then b", "a reads b's append")
    os.rename(b.p("d", "f"), b.p("g"))
    check(not os.path.exists(a.p("d", "f")) and os.path.exists(a.p("g")), "a sees b's rename")
    os.unlink(a.p("g"))
    os.rmdir(a.p("d"))
    check(os.listdir(b.dir) == [], "b sees a's removals")
    negative_entries(mounts)


def negative_entries(mounts):
    """Negative entries (docs/FS.md §3): the second lookup in a directory
    that finds nothing reads the name's directory page, and the next lookups of absent names in it
    are answered by the mount for entry_timeout, with the mount's own
    changes applied; another mount's new name is seen once that bound has
    passed. n (entry_timeout=60: the bound cannot pass during the test)
    keeps its snapshot; q (entry_timeout=1) must see the name after it."""
    w = mounts(Mount("negw", ("volume=neg", "attr_timeout=0", "entry_timeout=0")).start())
    n = mounts(Mount("negn", ("volume=neg", "entry_timeout=60")).start())
    q = mounts(Mount("negq", ("volume=neg", "entry_timeout=1")).start())
    os.mkdir(w.p("d"))
    for i in range(20):  # a directory of one page (fewer than 64 names)
        open(w.p("d", "f%02d" % i), "w").close()
    for m in (n, q):  # the second miss in d reads its page (the snapshot)
        for name in ("absent0", "absent0b"):
            check(not os.path.exists(m.p("d", name)), "%s is absent" % name)
    for i in range(1, 40):
        check(not os.path.exists(n.p("d", "absent%d" % i)), "absent%d is absent" % i)
    check(os.path.exists(n.p("d", "f07")), "a name of the snapshot is looked up at the node")
    # n's own changes follow its snapshot at once.
    open(n.p("d", "mine"), "w").close()
    os.unlink(w.p("d", "f03"))  # through w: n does not know
    check(os.path.exists(w.p("d", "mine")), "n's create reached the node")
    os.rename(n.p("d", "mine"), n.p("d", "mine2"))
    check(not os.path.exists(n.p("d", "mine")) and os.path.exists(n.p("d", "mine2")),
          "n's rename")
    os.unlink(n.p("d", "mine2"))
    check(not os.path.exists(n.p("d", "mine2")), "n's unlink")
    # Another mount's new name: within the bound, n's snapshot still says absent.
    open(w.p("d", "late"), "w").close()
    check(not os.path.exists(n.p("d", "late")), "within entry_timeout, n answers from its snapshot")
    check(not os.path.exists(q.p("d", "absent1")), "q answers from its snapshot too")
    wait_for(lambda: os.path.exists(q.p("d", "late")), "q sees late once entry_timeout passed")
    for m in (w, n, q):
        check(m.unmount() == 0, "negative-entry mount %s stops cleanly" % m.dir)
    sn, sq, sw = fs_stats(n), fs_stats(q), fs_stats(w)
    # One listing block (the second miss) for every absent name after it.
    check(sn["neg_hits"] >= 40 and sn["neg_puts"] == 1 and sn["neg_blocks"] == 1,
          "n's negative entries: %s" % {
        k: sn[k] for k in ("neg_hits", "neg_puts", "neg_refused", "neg_blocks")})
    # Without entry_timeout nothing is kept.
    check(sw["neg_hits"] == 0 and sw["neg_puts"] == 0, "w keeps nothing: %s" % sw["neg_puts"])
    check(sq["neg_hits"] >= 1, "q's snapshot answered: %s" % sq["neg_hits"])


def listing(path):
    """A directory's listing as getdents(2) gives it: sorted (name, d_ino,
    is a directory) of every entry (os.scandir: no stat, only the dirents)."""
    return sorted((e.name, e.inode(), e.is_dir(follow_symlinks=False)) for e in os.scandir(path))


def expected_listing(w, rel, names):
    """What a listing of w/rel must be, from lstat through w (no kernel cache:
    attr_timeout=0, entry_timeout=0) of exactly the names the test made."""
    out = []
    for n in names:
        st = os.lstat(w.p(rel, n))
        out.append((n, st.st_ino, stat.S_ISDIR(st.st_mode)))
    return sorted(out)


def test_readdir_cache(d, mounts):
    """The kernel's readdir cache (docs/FS.md §3 "Readdir cache"): m
    (attr_timeout=60, entry_timeout=60: the kernel's own attribute check
    cannot see another mount's change during the test, so only the
    directory's generation can) lists a directory again at the cost of the
    opendir block alone, and a change through another mount (w) or through
    m itself between two listings makes the next listing show it, compared
    entry by entry with what the test made."""
    w = mounts(Mount("rdcw", ("volume=rdc", "attr_timeout=0", "entry_timeout=0")).start())
    os.mkdir(w.p("d"))
    names = ["f%02d" % i for i in range(12)]  # one page: one listing block
    for n in names:
        open(w.p("d", n), "w").close()
    os.mkdir(w.p("d", "sub"))
    names.append("sub")
    os.mkdir(w.p("e"))
    m = mounts(Mount("rdcm", ("volume=rdc", "attr_timeout=60", "entry_timeout=60")).start())
    listings = relists = 0

    def ls(rel, want, cached):
        nonlocal listings, relists
        got = listing(m.p(rel))
        listings += 1
        relists += 0 if cached else 1
        check(got == want, "listing %d of %s: %s, not %s" % (listings, rel, got, want))

    want = expected_listing(w, "d", names)
    ls("d", want, False)
    ls("d", want, True)   # the opendir block only: the kernel's pages
    ls("d", want, True)
    # Another mount's changes: a name made, one removed, one renamed.
    open(w.p("d", "new"), "w").close()
    os.unlink(w.p("d", "f05"))
    os.rename(w.p("d", "f06"), w.p("d", "f06r"))
    names = sorted(set(names) - {"f05", "f06"} | {"new", "f06r"})
    want = expected_listing(w, "d", names)
    ls("d", want, False)
    ls("d", want, True)
    # This mount's own change.
    open(m.p("d", "mine"), "w").close()
    names.append("mine")
    want = expected_listing(w, "d", names)
    ls("d", want, False)
    ls("d", want, True)
    # A directory removed through w while m holds its listing: an error, not
    # the cached "." and ".." (ENOENT while the inode is left, as Linux lists
    # a removed directory; ESTALE once w's kernel forgot it and w reaped it).
    ls("e", [], False)
    ls("e", [], True)
    os.rmdir(w.p("e"))
    e = errno_of(os.listdir, m.p("e"))
    check(e in (errno.ENOENT, errno.ESTALE), "the removed directory lists an error, not %s" % e)
    listings += 1
    # Which of the two depends on when w's kernel sends its FORGET: ENOENT
    # is the opendir block's own answer (no handle: counted neither cached
    # nor relisted), ESTALE the listing block's after an opendir that
    # relisted (seen in 20 of 20 runs each way).
    relists += 1 if e == errno.ESTALE else 0
    failed_open = 1 if e == errno.ENOENT else 0
    check(m.unmount() == 0, "m stops cleanly")
    st = fs_stats(m)
    cached = listings - relists - failed_open
    # One opendir block per listing, and listing blocks only for the
    # listings that were not cached (each of one page: one block, plus one
    # per smaller span a limit forced on a loaded machine).
    check(st["open"]["blocks"] == listings and st["open"]["requests"] == listings,
          "one opendir block a listing: %s for %d" % (st["open"], listings))
    check(st["dir_cached"] == cached and st["dir_relist"] == relists,
          "cached %s relisted %s, not %d %d" % (st["dir_cached"], st["dir_relist"], cached,
                                                relists))
    # The kernel's look at the directory's mtime when a listing starts is
    # answered by the opendir block's attribute slot: no getattr block but
    # the root's at the mount, and at most one more the kernel may send
    # about the removed directory once its listing failed (one CI run in
    # many, under load: 11 getattr requests, not 10).
    check(st["getattr"]["blocks"] <= 2 and st["attr_hits"] >= cached,
          "getattr blocks %s, attr_hits %s" % (st["getattr"], st["attr_hits"]))
    check(st["readdir"]["blocks"] == relists + st["list_smaller"],
          "listing blocks only for the %d listings not cached: %s (list_smaller %d)" % (
              relists, st["readdir"], st["list_smaller"]))
    big_directory_cached(w, mounts)


def big_directory_cached(w, mounts):
    """A directory of many pages (several readdir requests and blocks) is
    served from the kernel's pages too, every name in it, and listed again
    after another mount's change."""
    os.mkdir(w.p("big"))
    names = ["entry-%05d" % i for i in range(1500)]
    for n in names:
        open(w.p("big", n), "w").close()
    m = mounts(Mount("rdcb", ("volume=rdc", "attr_timeout=60", "entry_timeout=60")).start())
    want = expected_listing(w, "big", names)
    for i in range(2):
        check(listing(m.p("big")) == want, "big listing %d" % i)
    open(w.p("big", "late"), "w").close()
    want = expected_listing(w, "big", names + ["late"])
    for i in range(2):
        check(listing(m.p("big")) == want, "big listing after w's create %d" % i)
    check(m.unmount() == 0, "the big mount stops cleanly")
    st = fs_stats(m)
    check(st["dir_cached"] == 2 and st["dir_relist"] == 2,
          "big: cached %s relisted %s" % (st["dir_cached"], st["dir_relist"]))
    check(st["readdir"]["blocks"] >= 4, "big: two listings of many pages: %s" % st["readdir"])


def restart_daemon(d):
    """Start scppd again in the test's namespace, with the same config (an
    empty store: scppd keeps no state across restarts yet)."""
    d.logpath += ".2"
    d.log = open(d.logpath, "w")
    # Directly, not through `ip netns exec`: this process is in the
    # network namespace already (and `ip netns exec` gives scppd a copy of
    # the mount namespace holding the FUSE mount: a slave of ours since
    # private_mount_namespace(), so our unmount reaches it, but there is no
    # reason to make one).
    d.proc = subprocess.Popen([rt.SCPPD, "--config", os.path.join(d.tmp, "scppd.json")],
                              stdout=d.log, stderr=subprocess.STDOUT, cwd=rt.ROOT)
    deadline = time.time() + 40
    while "ready:" not in d.logtext():
        check(time.time() < deadline and d.proc.poll() is None,
              "scppd did not restart:\n" + d.logtext())
        time.sleep(0.1)
    d.kernel_side_up()


def test_restart(d, mounts):
    """The daemon stopped and restarted under a mount: clean errors (EIO
    while it is gone, ESTALE for what it no longer holds), not a hang."""
    m = mounts(Mount("restart", ("scpp_timeout_ms=100", "scpp_retries=2")).start())
    with open(m.p("f"), "w") as f:
        f.write("x")
    os.mkdir(m.p("d"))
    d.proc.send_signal(rt.signal.SIGTERM)
    d.proc.wait(timeout=20)
    # A name in d, whose page no lookup has read: the root's page was (the
    # creates' lookups), and a name absent there is answered by the mount
    # for entry_timeout (negative entries, FS.md §3), node or no node.
    r = subprocess.run(["stat", m.p("d", "g")], capture_output=True, text=True, timeout=60)
    check(r.returncode != 0 and "Input/output error" in r.stderr,
          "stat with the node gone: EIO, got %d %r" % (r.returncode, r.stderr))
    r = subprocess.run(["bash", "-c", "echo y > %s" % m.p("h")], capture_output=True,
                       text=True, timeout=60)
    check(r.returncode != 0, "a create with the node gone fails")
    restart_daemon(d)
    # The restarted node holds nothing: the inodes the kernel knows are stale.
    r = subprocess.run(["stat", m.p("f")], capture_output=True, text=True, timeout=60)
    check(r.returncode != 0 and "Stale file handle" in r.stderr,
          "stat after the restart: ESTALE, got %d %r" % (r.returncode, r.stderr))
    rc = m.unmount()
    check(rc == 0, "unmounts cleanly: %s\n%s" % (rc, m.logtext()[-2000:]))
    # A new mount on the restarted node works.
    m2 = mounts(Mount("restart2").start())
    with open(m2.p("f"), "w") as f:
        f.write("again")
    with open(m2.p("f")) as f:
        check(f.read() == "again", "a new mount on the restarted node")


# ------------------------------------------------- the differential test

class Side:
    """One tree the random operations run on, with its fds."""

    def __init__(self, root):
        self.root = root

    def p(self, rel):
        return os.path.join(self.root, rel)


def do_op(side, op, a):
    """Run one operation; returns a comparable result or ("err", errno)."""
    try:
        if op == "create":
            fd = os.open(side.p(a[0]), os.O_CREAT | os.O_WRONLY | (os.O_EXCL if a[1] else 0),
                         0o644)
            os.close(fd)
            return "ok"
        if op == "write":
            fd = os.open(side.p(a[0]), os.O_WRONLY | (os.O_APPEND if a[3] else 0))
            try:
                return os.pwrite(fd, a[2], a[1]) if not a[3] else os.write(fd, a[2])
            finally:
                os.close(fd)
        if op == "read":
            fd = os.open(side.p(a[0]), os.O_RDONLY)
            try:
                return hashlib.sha1(os.pread(fd, a[2], a[1])).hexdigest()
            finally:
                os.close(fd)
        if op == "truncate":
            os.truncate(side.p(a[0]), a[1])
            return "ok"
        if op == "rename":
            if a[2]:
                renameat2(side.p(a[0]), side.p(a[1]), a[2])
            else:
                os.rename(side.p(a[0]), side.p(a[1]))
            return "ok"
        if op == "link":
            os.link(side.p(a[0]), side.p(a[1]))
            return "ok"
        if op == "unlink":
            os.unlink(side.p(a[0]))
            return "ok"
        if op == "mkdir":
            os.mkdir(side.p(a[0]), 0o755)
            return "ok"
        if op == "rmdir":
            os.rmdir(side.p(a[0]))
            return "ok"
        if op == "chmod":
            os.chmod(side.p(a[0]), a[1])
            return "ok"
        if op == "symlink":
            os.symlink(a[1], side.p(a[0]))
            return "ok"
        if op == "stat":
            st = os.lstat(side.p(a[0]))
            size = st.st_size if not stat.S_ISDIR(st.st_mode) else 0
            return (st.st_mode, size, st.st_nlink)
        if op == "readlink":
            return os.readlink(side.p(a[0]))
        if op == "listdir":
            return sorted(os.listdir(side.p(a[0])))
    except OSError as e:
        return ("err", errno.errorcode.get(e.errno, e.errno))
    raise ValueError(op)


def random_op(rnd, names, files, dirs):
    def path(kind="any"):
        # Mostly paths that exist, of the kind the operation wants, or a
        # new name in a directory that exists: most operations get past
        # the walk, and the rest meet every error of it.
        x = rnd.random()
        pool = files if kind == "file" else dirs if kind == "dir" else files + dirs
        if pool and x < 0.6 and kind != "new":
            return rnd.choice(pool)
        if x < 0.9:
            base = rnd.choice(dirs + ["."]) if dirs else "."
            return os.path.normpath(base + "/" + rnd.choice(names))
        depth = rnd.choice([1, 1, 2, 2, 3])
        return "/".join(rnd.choice(names) for _ in range(depth))
    op = rnd.choices(["create", "write", "read", "truncate", "rename", "link", "unlink",
                      "mkdir", "rmdir", "chmod", "symlink", "stat", "readlink", "listdir"],
                     [10, 16, 8, 5, 7, 4, 6, 8, 4, 3, 3, 8, 2, 3])[0]
    if op == "create":
        return op, (path("new"), rnd.random() < 0.3)
    if op == "write":
        n = rnd.choice([1, 7, 100, 4096, 5000, 20000])
        off = rnd.choice([0, 1, 4095, 4096, 8191, 12000, rnd.randrange(0, 40000)])
        return op, (path("file"), off, rnd.randbytes(n), rnd.random() < 0.1)
    if op == "read":
        return op, (path("file"), rnd.randrange(0, 45000), rnd.choice([1, 100, 4096, 20000]))
    if op == "truncate":
        return op, (path("file"), rnd.choice([0, 1, 4095, 4096, 4097, 10000, 30000]))
    if op == "rename":
        flags = rnd.choices([0, RENAME_NOREPLACE, RENAME_EXCHANGE], [8, 1, 1])[0]
        return op, (path(), path("new" if rnd.random() < 0.5 else "any"), flags)
    if op == "link":
        return op, (path("file"), path("new"))
    if op == "unlink":
        return op, (path("file"),)
    if op in ("mkdir",):
        return op, (path("new"),)
    if op in ("rmdir", "listdir"):
        return op, (path("dir"),)
    if op == "chmod":
        return op, (path(), rnd.choice([0o644, 0o600, 0o755, 0o700, 0o444, 0o4755, 0o1777]))
    if op == "symlink":
        # Targets resolve inside the tree or nowhere: "../b" at the root
        # would name a file outside it (the parents of the mount and of the
        # tmpfs side differ, and a write through it would leave a file
        # there), so ".." is exercised from inside ("a/../b").
        return op, (path("new"), rnd.choice(["a", "a/../b", "x/y/z", "/abs/path"]))
    return op, (path(),)


def tree_of(root):
    """Everything comparable about a tree: names, types, modes, sizes, link
    counts, data, link targets."""
    out = {}
    for dp, dns, fns in os.walk(root):
        for n in sorted(dns + fns):
            p = os.path.join(dp, n)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("l", st.st_mode, os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("d", st.st_mode, st.st_nlink)
            else:
                with open(p, "rb") as f:
                    data = f.read()
                out[rel] = ("f", st.st_mode, st.st_nlink, st.st_size,
                            hashlib.sha256(data).hexdigest())
    return out


def diff_run(root_a, root_b, nops, seed):
    """The random operations on two trees side by side (every result equal);
    returns (counts per op, errnos met, operations that succeeded)."""
    sides = (Side(root_a), Side(root_b))
    rnd = random.Random(seed)
    names = ["a", "b", "c", "d", "e", "f"]
    counts, errnos, succeeded = {}, {}, 0
    files, dirs = [], []
    for i in range(nops):
        if i % 10 == 0:
            files, dirs = [], []
            for dp, dns, fns in os.walk(root_b):
                dirs += [os.path.relpath(os.path.join(dp, n), root_b) for n in sorted(dns)]
                files += [os.path.relpath(os.path.join(dp, n), root_b) for n in sorted(fns)]
        op, a = random_op(rnd, names, files, dirs)
        r = [do_op(s, op, a) for s in sides]
        if os.environ.get("SCPPFS_DIFF_TRACE"):
            print(i, op, [x if not isinstance(x, bytes) else len(x) for x in a], r[1],
                  file=sys.stderr)
        counts[op] = counts.get(op, 0) + 1
        if not (isinstance(r[0], tuple) and r[0][0] == "err"):
            succeeded += 1
        else:
            errnos[r[0][1]] = errnos.get(r[0][1], 0) + 1
        if r[0] != r[1]:
            raise TestFailure("op %d %s %r: mount %r, tmpfs %r" %
                              (i, op, [x if not isinstance(x, bytes) else len(x) for x in a],
                               r[0], r[1]))
    return counts, errnos, succeeded


def compare_trees(a, b):
    ta, tb = tree_of(a), tree_of(b)
    if ta != tb:
        diff = sorted(set(ta.items()) ^ set(tb.items()))[:10]
        raise TestFailure("final trees differ: %s" % diff)
    return ta


def test_differential(d, mounts):
    """>= 10 000 random operations on the mount and on a tmpfs directory
    side by side: every result and errno, and the final trees, equal."""
    nops = int(os.environ.get("SCPPFS_DIFF_OPS", "10000"))
    seed = int(os.environ.get("SCPPFS_DIFF_SEED", "1616"))
    # 4 KiB chunks: the random offsets cross chunks, holes and extents.
    m = mounts(Mount("diff", ("volume=diff", "chunk=4096")).start())
    local = tempfile.mkdtemp(prefix="scppfs-diff-", dir="/dev/shm")
    try:
        counts, errnos, succeeded = diff_run(m.dir, local, nops, seed)
        ta = compare_trees(m.dir, local)
        check(len(ta) > 5, "the final tree is not trivial: %d entries" % len(ta))
        # Both the successes and the errors are exercised.
        check(succeeded > nops // 3, "only %d of %d operations succeeded: %s %s" %
              (succeeded, nops, errnos, counts))
        for e in ("ENOENT", "EEXIST", "ENOTDIR", "EISDIR", "ENOTEMPTY"):
            check(errnos.get(e, 0) > 0, "no operation met %s: %s" % (e, errnos))
        print("differential: %d ops %s, %d succeeded, errors %s, final tree %d entries" %
              (nops, counts, succeeded, errnos, len(ta)))
    finally:
        shutil.rmtree(local, ignore_errors=True)


def test_writeback(d, mounts):
    """-o writeback_cache (opt-in): small writes reach the node coalesced
    (far fewer write requests than write(2) calls: the path under test),
    another mount sees them after close(2), O_APPEND is the kernel's, and
    the differential test holds on such a mount. (Files written through
    another mount as well are outside its rule: the kernel keeps the size
    itself, FS.md §3.)"""
    a = mounts(Mount("wba", ("volume=wb", "writeback_cache")).start())
    b = mounts(Mount("wbb", ("volume=wb", "attr_timeout=0", "entry_timeout=0")).start())
    data = random.Random(5).randbytes(100 * 1000)
    fd = os.open(a.p("f"), os.O_CREAT | os.O_WRONLY, 0o644)
    for i in range(1000):
        os.write(fd, data[100 * i:100 * (i + 1)])
    os.close(fd)  # writes the dirty pages back before FLUSH
    with open(b.p("f"), "rb") as f:
        check(f.read() == data, "the other mount reads the bytes after close(2)")
    with open(a.p("g"), "ab") as f:
        f.write(b"one,")
    with open(a.p("g"), "ab") as f:
        f.write(b"two")
    with open(b.p("g"), "rb") as f:
        check(f.read() == b"one,two", "O_APPEND through the write-back cache")
    check(a.unmount() == 0, "the write-back mount stops cleanly")
    st = fs_stats(a)
    print("write-back mount: %s" % st.get("write"))
    check(st["write"]["requests"] > 0 and st["write"]["requests"] <= 100,
          "1000 + 3 small writes reached it coalesced: %s" % st["write"])
    w = mounts(Mount("wbd", ("volume=wbdiff", "chunk=4096", "writeback_cache")).start())
    nops = int(os.environ.get("SCPPFS_DIFF_OPS", "10000")) // 2
    local = tempfile.mkdtemp(prefix="scppfs-diffwb-", dir="/dev/shm")
    try:
        counts, errnos, succeeded = diff_run(w.dir, local, nops, 1717)
        compare_trees(w.dir, local)
        check(succeeded > nops // 3, "only %d of %d operations succeeded" % (succeeded, nops))
        print("differential on a write-back mount: %d ops %s, %d succeeded, errors %s" %
              (nops, counts, succeeded, errnos))
    finally:
        shutil.rmtree(local, ignore_errors=True)


USER = (1000, 1000, [1000, 50])


def drop_privileges():
    os.setgroups(USER[2])
    os.setresgid(USER[1], USER[1], USER[1])
    os.setresuid(USER[0], USER[0], USER[0])


def test_differential_user(d, mounts):
    """The differential test as an ordinary user (uid 1000) in a sticky
    world-writable root, so that the permission bits, owners and groups
    the blocks check meet the kernel's own checks on tmpfs (EACCES, EPERM)."""
    nops = int(os.environ.get("SCPPFS_DIFF_OPS", "10000"))
    m = mounts(Mount("diffu", ("volume=diffu", "chunk=4096", "allow_other")).start())
    local = tempfile.mkdtemp(prefix="scppfs-diffu-", dir="/dev/shm")
    try:
        for root in (m.dir, local):
            os.chmod(root, 0o1777)
        res = as_user(lambda: diff_run(m.dir, local, nops, 4242))
        check("fail" not in res, "as uid %d: %s" % (USER[0], res.get("fail")))
        compare_trees(m.dir, local)
        check(res["errnos"].get("EACCES", 0) > 0, "no operation met EACCES: %s" % res)
        check(res["succeeded"] > nops // 6, "too few operations succeeded: %s" % res)
        print("differential as uid %d: %s" % (USER[0], res))
    finally:
        shutil.rmtree(local, ignore_errors=True)


def as_user(fn):
    """Run fn() in a forked child that dropped to USER; returns its result
    as {"counts", "errnos", "succeeded"} or {"fail": message}."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rfd)
        try:
            drop_privileges()
            counts, errnos, succeeded = fn()
            out = {"counts": counts, "errnos": errnos, "succeeded": succeeded}
        except BaseException as e:  # report everything to the parent
            out = {"fail": "%s: %s" % (type(e).__name__, e)}
        os.write(wfd, json.dumps(out).encode())
        os._exit(0)
    os.close(wfd)
    chunks = []
    while True:
        b = os.read(rfd, 1 << 16)
        if not b:
            break
        chunks.append(b)
    os.close(rfd)
    os.waitpid(pid, 0)
    return json.loads(b"".join(chunks) or b'{"fail": "the child said nothing"}')


TESTS = {
    "basic": test_basic,
    "lifecycle": test_lifecycle,
    "auth": test_auth,
    "tools": test_tools,
    "bigfile": test_bigfile,
    "jumbo": test_jumbo,
    "bigdir": test_bigdir,
    "parallel": test_parallel,
    "two_mounts": test_two_mounts,
    "readdir_cache": test_readdir_cache,
    "restart": test_restart,
    "differential": test_differential,
    "writeback": test_writeback,
    "differential_user": test_differential_user,
}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in TESTS:
        print("usage: run_fs.py {%s}" % ",".join(TESTS))
        return 2
    if os.geteuid() != 0 or not os.path.exists("/dev/fuse"):
        print("SKIP: scpp-fs tests need root and /dev/fuse")
        return 77
    name = sys.argv[1]
    cfg = {"store": STORE, "eval": EVAL}
    if name == "auth":
        cfg["auth"] = {"mode": "required"}
    if name == "jumbo":
        d = rt.Daemon("fs" + name, cfg_extra=cfg, port="af_packet", mtu=JUMBO_MTU)
    else:
        d = rt.Daemon("fs" + name, cfg_extra=cfg)
    # Jumbo: 9 312-byte mbufs and 8 940-byte reassembly fragments take
    # ~0.3 GiB more than 1 024 MiB leave after the store's slab.
    d.cfg["eal"]["memory_mb"] = EAL_MB + (512 if name == "jumbo" else 0)
    ms = []

    def mounts(m):
        ms.append(m)
        return m
    rc = 1
    try:
        # Before the node starts: its `ip netns exec` copy is then a slave
        # of our namespace too.
        private_mount_namespace()
        d.start()
        TESTS[name](d, mounts)
        if d.port != "tap":
            # On a veth (SCPPT_PORT): the kernel end's checksums are whole
            # (Daemon.make_veth), so no frame was lost to them.
            st = d.stats()
            check(st["drops"].get("udp_bad_cksum", 0) == 0 and st["dgrams"] > 0,
                  "%s port: udp_bad_cksum %s, dgrams %s" % (
                      d.port, st["drops"].get("udp_bad_cksum"), st["dgrams"]))
        for m in ms:
            r = m.unmount()
            check(r in (0, None), "%s: %s" % (m.dir, r))
        # As run_test.py: scppd must stop cleanly (an ASan report at exit
        # is a non-zero code).
        code = d.stop()
        check(code == 0, "scppd did not stop cleanly: exit %s" % code)
        check("scppd: stopped" in d.logtext(), "no clean-stop line in the log")
        print("PASS", name)
        rc = 0
    except (TestFailure, OSError, subprocess.SubprocessError, ValueError, KeyError) as e:
        print("FAIL %s: %s: %s" % (name, type(e).__name__, e))
        traceback.print_exc(limit=4, file=sys.stdout)
        for m in ms:
            print("---- scpp-fs log %s ----\n%s" % (m.dir, m.logtext()[-4000:]))
        print("---- scppd log ----")
        print(d.logtext()[-4000:])
    finally:
        for m in ms:
            m.cleanup()
        d.cleanup()
    return rc


if __name__ == "__main__":
    sys.exit(main())
