"""Shared pieces of the stats tests: a check counter that ends with the
plain 'N passed, N failed' line, the victim process (tests/stats/victim.c
under LD_PRELOAD), a protocol client, and scratch directories.

Paths come from the environment (stats.mk sets them): TM_LIB, TM_VICTIM,
TM_TIERSTAT. An empty TM_LIB means the victim has the server linked in (the
AddressSanitizer build): nothing is preloaded, and there is no tiered
mode."""
import json
import os
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time

LIB = os.environ.get("TM_LIB", "build/libtiermalloc.so")
VICTIM = os.environ.get("TM_VICTIM", "build/tests/stats/victim")
TIERSTAT = os.environ.get("TM_TIERSTAT", "build/tierstat")
NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


class Checks:
    """Counts checks; a failure prints one line and the run goes on."""

    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0

    def check(self, cond, what):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL {self.name}: {what}", file=sys.stderr, flush=True)
        return bool(cond)

    def summary(self):
        build = "" if LIB else "-asan"
        print(f"stats-{self.name}{build}: {self.passed} passed, "
              f"{self.failed} failed")
        return 1 if self.failed else 0


def scratch_dir(mode=0o700):
    """A fresh directory under /tmp, removed by cleanup()."""
    path = tempfile.mkdtemp(prefix="tmstats-")
    os.chmod(path, mode)
    return path


def cleanup(*paths):
    for p in paths:
        shutil.rmtree(p, ignore_errors=True)


class Victim:
    """tests/stats/victim under the library. Its first line says whether
    its socket appeared: 'ready PID' or 'nosocket PID'."""

    def __init__(self, stats_dir=None, env=None, preload=True, prefix=(),
                 program=None, first_line=None):
        e = dict(os.environ)
        e.pop("TIERMALLOC_STATS_DIR", None)
        if stats_dir:
            e["TIERMALLOC_STATS_DIR"] = stats_dir
        if preload and LIB:
            e["LD_PRELOAD"] = os.path.abspath(LIB)
        e.update(env or {})
        self.proc = subprocess.Popen(
            list(prefix) + [program or VICTIM], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e)
        self.stats_dir = stats_dir or f"/tmp/tiermalloc-{os.geteuid()}"
        # A line that comes before "ready" (VICTIM_EARLY_FORK's child).
        self.early = self.line(10) if first_line else None
        first = self.line(10).split()
        self.ready = len(first) == 2 and first[0] == "ready"
        self.pid = int(first[1]) if len(first) == 2 else self.proc.pid

    @property
    def socket(self):
        return os.path.join(self.stats_dir, f"{self.pid}.sock")

    def line(self, timeout=30):
        """The next line it prints, or '' after timeout seconds."""
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        return self.proc.stdout.readline().decode().strip() if ready else ""

    def say(self, command):
        self.proc.stdin.write(command.encode() + b"\n")
        self.proc.stdin.flush()

    def finish(self, timeout=10):
        """Ask it to exit; returns (exit status, stderr text)."""
        try:
            self.say("exit")
        except BrokenPipeError:
            pass
        try:
            _, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return self.proc.returncode, without_lsan_race(err.decode(errors="replace"))


def without_lsan_race(text):
    """LeakSanitizer's note on a thread that was still being torn down when
    it looked (the server thread, joined an instant earlier) says nothing
    about leaks; real leak reports stay."""
    return "".join(l for l in text.splitlines(keepends=True)
                   if not l.endswith("was not suspended. False leaks are possible.\n"))


def connect(path, timeout=5):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


_unread = {}  # bytes received past the end of a line, per socket


def read_line(sock, limit=1 << 22):
    """One reply line, or b'' at end of stream. Pipelined replies may come
    in one recv: what follows the line is kept for the next call."""
    data = _unread.pop(sock.fileno(), b"")
    while b"\n" not in data and len(data) < limit:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    line, sep, rest = data.partition(b"\n")
    if rest:
        _unread[sock.fileno()] = rest
    return line + sep


def ask(path, line, timeout=5):
    """One request on a fresh connection; the reply as a dict."""
    with connect(path, timeout) as s:
        s.sendall(line.encode() + b"\n")
        return json.loads(read_line(s))


def wait_for(cond, timeout=5, step=0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(step)
    return cond()


def fake_two_node_sysfs(root):
    """A sysfs tree with a DRAM node 0 and a CPU-less node 1, so that the
    library runs tiered on a one-node machine (mbind to node 1 fails and its
    pages land on node 0, which the stats show)."""
    node = os.path.join(root, "devices/system/node")
    for n in (0, 1):
        os.makedirs(os.path.join(node, f"node{n}"), exist_ok=True)
        with open(os.path.join(node, f"node{n}", "meminfo"), "w") as f:
            f.write(f"Node {n} MemTotal: 4194304 kB\nNode {n} MemFree: "
                    f"{2097152 + n} kB\n")
    for name, text in (("has_memory", "0-1"), ("online", "0-1"),
                       ("has_cpu", "0")):
        with open(os.path.join(node, name), "w") as f:
            f.write(text + "\n")
