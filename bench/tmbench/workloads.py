"""The benchmark suite.

Each workload is a command whose stdout must be identical under every
allocator. Sizes are picked so that a full run takes about a second under
glibc on the 2-core VMs (the whole suite, 9 allocators x 5 runs, must stay
under ~15 minutes); quick sizes take a fraction of that and exist to prove
that everything runs, not to measure.
"""
import os
import shutil
from dataclasses import dataclass, field

PYTHON = "/usr/bin/python3"       # Debian's, never a pyenv/venv shim
XZ_INPUT_MB = {"full": 12, "quick": 2}


@dataclass
class Workload:
    name: str
    argv: list
    what: str                          # one line for the report
    env: dict = field(default_factory=dict)
    stdin: str = ""                    # file fed on stdin
    fresh: str = ""                    # file removed before every run
    driver: bool = False               # preload goes to the driver's child
    needs: tuple = ()                  # programs that must be on PATH


def _own(bins, name, full, quick, mode, what):
    args = full if mode == "full" else quick
    return Workload(name, [os.path.join(bins, name)] + args.split(), what)


def compiled(bins, mode):
    """The workloads written in C/C++ in bench/workloads/."""
    return [
        _own(bins, "churn", "20", "2", mode,
             "single-threaded small-object churn"),
        _own(bins, "server", "4 600", "4 60", mode,
             "4 threads, request/response churn, cross-thread frees"),
        _own(bins, "prodcons", "2 2 1000", "2 2 100", mode,
             "2 producers -> bounded queue -> 2 consumers"),
        _own(bins, "realloc", "15", "2", mode,
             "realloc growth of strings and vectors up to 1 MiB"),
        _own(bins, "large", "300", "30", mode,
             "256 KiB..64 MiB blocks, every page touched"),
        _own(bins, "frag", "192 2", "32 1", mode,
             "mixed sizes, free 90%, reallocate: peak RSS"),
        _own(bins, "cxxmaps", "4 30 3", "2 10 2", mode,
             "C++ map/unordered_map/string, 4 threads, hand-off"),
    ]


def programs(src, data, mode):
    """Real programs from Debian packages, on inputs made here."""
    full = mode == "full"
    wl = os.path.join(src, "workloads")
    return [
        Workload("python3", [PYTHON, os.path.join(wl, "pyalloc.py")]
                 + (["30", "3"] if full else ["5", "1"]),
                 "python3: dicts, strings, sort, JSON, object graphs",
                 env={"PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}),
        Workload("sqlite3", ["sqlite3", "-cmd", ".parameter set @rows %d"
                             % (300000 if full else 30000),
                             os.path.join(data, "bench.db")],
                 "sqlite3: insert, index, select, update, delete",
                 stdin=os.path.join(wl, "sqlite.sql"),
                 fresh=os.path.join(data, "bench.db"), needs=("sqlite3",)),
        Workload("redis", [PYTHON, os.path.join(wl, "redis.py")]
                 + (["40000", "20000"] if full else ["5000", "2000"]),
                 "redis-server + redis-benchmark, loopback, 9 commands",
                 driver=True, needs=("redis-server", "redis-benchmark")),
        Workload("xz", ["xz", "-T2", "-3", "-c", xz_input(data, mode)],
                 "xz -T2 -3 of %d MiB of generated text" % XZ_INPUT_MB[mode],
                 needs=("xz",)),
    ]


def suite(src, bins, data, mode, wanted=None):
    """(runnable workloads, [(name, reason skipped)])."""
    run, skipped = [], []
    for w in compiled(bins, mode) + programs(src, data, mode):
        if wanted and w.name not in wanted:
            continue
        missing = [p for p in w.needs if not shutil.which(p)]
        if missing:
            skipped.append((w.name, "missing " + ", ".join(missing)))
        else:
            run.append(w)
    return run, skipped


def xz_input(data, mode):
    return os.path.join(data, "xz-input-%dM.txt" % XZ_INPUT_MB[mode])


def make_xz_input(data, mode):
    """Deterministic compressible text (words from a fixed vocabulary in a
    pseudo-random order), generated once and cached under build/."""
    path = xz_input(data, mode)
    if os.path.exists(path):
        return path
    vocab = [("w%d" % i) * (1 + i % 5) for i in range(5000)]
    x, size, words = 12345, 0, []
    while size < XZ_INPUT_MB[mode] << 20:
        x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        words.append(vocab[(x >> 33) % len(vocab)])
        size += len(words[-1]) + 1
    os.makedirs(data, exist_ok=True)
    with open(path + ".tmp", "w") as f:
        f.write(" ".join(words))
    os.replace(path + ".tmp", path)
    return path
