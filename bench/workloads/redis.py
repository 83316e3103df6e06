"""redis-server under the allocator, driven by redis-benchmark on loopback.

Run by the bench runner (not preloaded itself): it starts redis-server
through tm-spawn with the allocator's environment (JSON in BENCH_CHILD_ENV),
on 127.0.0.1 and a free private port, with persistence off. Then
  1. redis-benchmark sends a bounded number of requests (ops/s on stderr),
  2. a deterministic data set is written and read back with our own small
     RESP client; its digest is the stdout line compared across allocators,
  3. SHUTDOWN NOSAVE; the server's own rusage (from tm-spawn) goes to stderr
     as "child-rusage: ..." so the runner reports the server, not this
     driver or the benchmark client.
Debian's redis-server links jemalloc and calls mallctl for its stats: with
another malloc preloaded those calls still reach libjemalloc, which must
not break the server.

    redis.py REQUESTS KEYS
"""
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

TESTS = "set,get,incr,lpush,lpop,sadd,hset,zadd,lrange_100"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Resp:
    """Just enough RESP2 to pipeline commands and read the replies."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = self.sock.makefile("rb")

    def send(self, cmds):
        out = bytearray()
        for cmd in cmds:
            out += b"*%d\r\n" % len(cmd)
            for arg in cmd:
                arg = arg if isinstance(arg, bytes) else str(arg).encode()
                out += b"$%d\r\n%s\r\n" % (len(arg), arg)
        self.sock.sendall(out)
        return [self.reply() for _ in cmds]

    def reply(self):
        line = self.buf.readline()[:-2]
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b"-"):
            return line
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.buf.read(n + 2)[:-2]
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise RuntimeError("bad RESP reply %r" % line)


def start_server(port, workdir):
    result = os.path.join(workdir, "server.rusage")
    env = json.loads(os.environ.get("BENCH_CHILD_ENV", "{}"))
    cmd = [os.environ["BENCH_SPAWN"], "--result", result]
    for k, v in env.items():
        cmd += ["--env", "%s=%s" % (k, v)]
    cmd += ["--", "redis-server", "--port", str(port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", workdir,
            "--logfile", os.path.join(workdir, "redis.log"),
            "--daemonize", "no"]
    return subprocess.Popen(cmd), result


def wait_ready(port, proc):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit("redis-server exited early (%s)" % proc.returncode)
        try:
            if Resp(port).send([["PING"]]) == [b"+PONG"]:
                return
        except OSError:
            time.sleep(0.02)
    sys.exit("redis-server did not answer PING within 20 s")


def benchmark(port, requests):
    """Bounded load; returns aggregate requests per second."""
    out = subprocess.run(
        ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-q", "--csv",
         "-n", str(requests), "-c", "20", "-P", "8", "-r", "100000",
         "-d", "256", "-t", TESTS],
        check=True, capture_output=True, text=True, timeout=300).stdout
    seconds = 0.0
    for line in out.splitlines()[1:]:
        rps = float(line.split(",")[1].strip('"'))
        seconds += requests / rps
    return requests * len(TESTS.split(",")) / seconds


def data_digest(port, keys):
    """Write, rewrite and read back a fixed data set; digest the replies."""
    r = Resp(port)
    h = hashlib.sha256()
    r.send([["FLUSHALL"]])
    for lo in range(0, keys, 1000):
        ids = range(lo, min(lo + 1000, keys))
        r.send([["SET", "k:%d" % i, "v" * (10 + i * 37 % 2000)] for i in ids]
               + [["RPUSH", "l:%d" % (i % 50), i] for i in ids]
               + [["HSET", "h:%d" % (i % 100), "f%d" % i, i * 3] for i in ids]
               + [["ZADD", "z", i * 7 % 1009, "m%d" % i] for i in ids])
    r.send([["DEL", "k:%d" % i] for i in range(0, keys, 3)])
    r.send([["APPEND", "k:%d" % i, "w" * 300] for i in range(1, keys, 3)])
    probes = [["DBSIZE"], ["LRANGE", "l:7", 0, 20], ["HLEN", "h:3"],
              ["HGET", "h:3", "f103"], ["ZRANGE", "z", 0, 30, "WITHSCORES"],
              ["ZCARD", "z"]]
    probes += [["STRLEN", "k:%d" % i] for i in range(0, keys, 97)]
    probes += [["GET", "k:%d" % i] for i in range(1, keys, 499)]
    for reply in r.send(probes):
        h.update(repr(reply).encode())
    return h.hexdigest()[:32]


def main():
    requests, keys = int(sys.argv[1]), int(sys.argv[2])
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="tmbench-redis-") as workdir:
        proc, result = start_server(port, workdir)
        try:
            wait_ready(port, proc)
            ops = benchmark(port, requests)
            digest = data_digest(port, keys)
            try:
                Resp(port).send([["SHUTDOWN", "NOSAVE"]])
            except (OSError, RuntimeError):
                pass   # the server closes the connection as it exits
            rc = proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        if rc != 0:
            sys.exit("redis-server exited with status %d" % rc)
        with open(result) as f:
            sys.stderr.write("child-rusage: " + f.read())
    print("redis digest=%s" % digest)
    sys.stderr.write("ops/s: %.0f\n" % ops)


if __name__ == "__main__":
    main()
