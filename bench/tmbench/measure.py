"""One measured run of one workload under one allocator.

The command runs under tm-spawn (see bench/spawn.c for why), which reports
wall time, user+sys CPU, peak RSS and minor faults from wait4(). stdout
goes to a file whose SHA-256 is compared across allocators; stderr is
searched for "ops/s: N" and, for driver workloads such as redis, for the
"child-rusage: ..." line of the process that was really under test.
"""
import hashlib
import json
import os
import re
import signal
import subprocess
from dataclasses import dataclass, asdict

from . import allocators

TIMEOUT_S = {"full": 300, "quick": 90}


@dataclass
class Run:
    workload: str
    alloc: str
    index: int
    ok: bool = False
    error: str = ""
    wall_s: float = 0.0
    cpu_s: float = 0.0
    maxrss_kb: int = 0
    minflt: int = 0
    ops: float = 0.0               # 0 = not reported
    out_sha: str = ""
    out_file: str = ""

    def to_json(self):
        return asdict(self)


def parse_kv(line):
    return dict(kv.split("=", 1) for kv in line.split() if "=" in kv)


def apply_usage(run, kv):
    run.wall_s = float(kv["wall_s"])
    run.cpu_s = float(kv["user_s"]) + float(kv["sys_s"])
    run.maxrss_kb = int(kv["maxrss_kb"])
    run.minflt = int(kv["minflt"])


def read_stderr_metrics(run, text):
    """ops/s and a driver's child-rusage (which replaces CPU, RSS and
    faults but not wall time: the driver's wall is the benchmark's)."""
    for line in text.splitlines():
        m = re.match(r"ops/s:\s*([0-9.eE+]+)\s*$", line)
        if m:
            run.ops = float(m.group(1))
        if line.startswith("child-rusage:"):
            wall = run.wall_s
            apply_usage(run, parse_kv(line.split(":", 1)[1]))
            run.wall_s = wall


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def command(spawn, workload, alloc, result):
    """tm-spawn command line and the environment it runs with."""
    env = allocators.clean_env()
    env.update(workload.env)
    preload = allocators.child_env(alloc)
    if workload.driver:
        env["BENCH_SPAWN"] = spawn
        env["BENCH_CHILD_ENV"] = json.dumps(preload)
        preload = {}
    cmd = allocators.spawn_args(spawn, preload, workload.argv)
    return [cmd[0], "--result", result] + cmd[1:], env


def execute(cmd, env, stdin, out, err, timeout):
    """Run in its own process group so a timeout kills the whole tree."""
    with open(stdin or os.devnull, "rb") as i, open(out, "wb") as o, \
            open(err, "wb") as e:
        p = subprocess.Popen(cmd, stdin=i, stdout=o, stderr=e, env=env,
                             start_new_session=True)
        try:
            return p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            return None


def last_lines(path, n=3):
    with open(path, errors="replace") as f:
        return " | ".join(f.read().strip().splitlines()[-n:])


def how_it_ended(kv):
    sig = int(kv.get("signal", 0))
    if sig:
        try:
            return "killed by %s" % signal.Signals(sig).name
        except ValueError:
            return "killed by signal %d" % sig
    return "exit status %s" % kv.get("exit")


def run_one(spawn, workload, alloc, index, rawdir, mode):
    base = os.path.join(rawdir, "%s.%s.%d" % (
        workload.name, alloc.name.replace(":", "-"), index))
    run = Run(workload.name, alloc.name, index, out_file=base + ".out")
    if workload.fresh and os.path.exists(workload.fresh):
        os.remove(workload.fresh)
    if os.path.exists(base + ".res"):
        os.remove(base + ".res")
    cmd, env = command(spawn, workload, alloc, base + ".res")
    rc = execute(cmd, env, workload.stdin, base + ".out", base + ".err",
                 TIMEOUT_S[mode])
    if rc is None:
        run.error = "timed out after %d s" % TIMEOUT_S[mode]
        return run
    if not os.path.exists(base + ".res"):
        run.error = "no result from tm-spawn: " + last_lines(base + ".err")
        return run
    with open(base + ".res") as f:
        kv = parse_kv(f.read())
    apply_usage(run, kv)
    with open(base + ".err", errors="replace") as f:
        read_stderr_metrics(run, f.read())
    run.out_sha = sha256_file(base + ".out")
    if rc != 0:
        run.error = "%s: %s" % (how_it_ended(kv), last_lines(base + ".err"))
        return run
    run.ok = True
    return run
