"""Start-up cost per exec: /bin/true run many times by tm-spawn with and
without each library preloaded. Every short-lived process (shell scripts,
make, compilers' drivers) pays this, so it matters beyond long benchmarks.
Rounds are interleaved across allocators, like the workload runs."""
import os
import statistics
import subprocess

from . import allocators, measure

TRUE = "/bin/true"


def one_round(spawn, alloc, execs, result):
    if os.path.exists(result):
        os.remove(result)
    cmd = allocators.spawn_args(spawn, allocators.child_env(alloc), [TRUE])
    cmd = [cmd[0], "--result", result, "--repeat", str(execs)] + cmd[1:]
    rc = subprocess.run(cmd, env=allocators.clean_env(),
                        capture_output=True, timeout=120).returncode
    if rc != 0:
        return None
    with open(result) as f:
        kv = measure.parse_kv(f.read())
    return float(kv["wall_s"]) / execs


def measure_all(spawn, allocs, rounds, execs, rawdir):
    """name -> median seconds per exec (None where a round failed)."""
    per = {a.name: [] for a in allocs}
    for r in range(rounds):
        for a in allocs:
            res = os.path.join(rawdir, "startup.%s.res"
                               % a.name.replace(":", "-"))
            per[a.name].append(one_round(spawn, a, execs, res))
    return {name: (None if None in v else statistics.median(v))
            for name, v in per.items()}
