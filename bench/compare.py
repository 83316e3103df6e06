#!/usr/bin/python3
"""Side-by-side allocator benchmark: every workload under every allocator
via LD_PRELOAD, allocators interleaved run by run; prints a markdown report
and writes it under bench/results/. Exits non-zero when any run crashed or
printed something different from the glibc run.

    bench/run.sh [--quick] [--runs N] [--allocators a,b] [--workloads x,y]

(run.sh installs missing Debian packages, then runs this file with Debian's
/usr/bin/python3; the standard library is all it needs.)"""
import argparse
import json
import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from tmbench import (allocators, check, machine, measure, plot,  # noqa: E402
                     report, startup, stats, workloads)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help="small sizes and 2 runs: a smoke test, < 2 minutes")
    p.add_argument("--runs", type=int, help="runs per cell (default 5)")
    p.add_argument("--allocators", help="comma-separated subset")
    p.add_argument("--workloads", help="comma-separated subset")
    p.add_argument("--build", default=os.path.join(ROOT, "build"),
                   help="build directory (default: build/)")
    p.add_argument("--out", help="markdown report path")
    p.add_argument("--extra", action="append", default=[],
                   metavar="'NAME=LIB [VAR=VALUE]...'",
                   help="add an ad-hoc allocator row (repeatable)")
    p.add_argument("--no-plots", action="store_true")
    a = p.parse_args()
    a.mode = "quick" if a.quick else "full"
    a.runs = a.runs or (2 if a.quick else 5)
    return a


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def setup(args):
    spawn = os.path.join(args.build, "bench", "tm-spawn")
    if not os.access(spawn, os.X_OK):
        sys.exit("%s missing: run 'make bench' (or make %s)" % (spawn, spawn))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    rawdir = os.path.join(HERE, "results", "raw", "%s-%s-%d" % (
        stamp, args.mode, os.getpid()))
    os.makedirs(rawdir, exist_ok=True)
    return spawn, rawdir


def snapshot_lib(args, rawdir):
    """Copy build/libtiermalloc.so aside: others rebuild it while a long
    run goes on, and every row must measure one and the same build."""
    lib = os.path.join(args.build, "libtiermalloc.so")
    if not os.path.exists(lib):
        return lib, "not built"
    copy = os.path.join(rawdir, "libtiermalloc.so")
    shutil.copy2(lib, copy)
    return copy, "build sha256 %s" % measure.sha256_file(copy)[:16]


def pick_allocators(args, spawn, lib):
    wanted = args.allocators.split(",") if args.allocators else None
    extra = [allocators.parse_extra(e) for e in args.extra]
    found = allocators.discover(spawn, lib, wanted, extra)
    for name, why in found.skipped:
        log("skip allocator %s: %s" % (name, why))
    for name, why in found.broken:
        log("FAILURE allocator %s: %s" % (name, why))
    return found


def pick_workloads(args):
    wanted = args.workloads.split(",") if args.workloads else None
    bins = os.path.join(args.build, "bench")
    data = os.path.join(args.build, "bench", "data")
    suite, skipped = workloads.suite(HERE, bins, data, args.mode, wanted)
    for name, why in skipped:
        log("skip workload %s: %s" % (name, why))
    if any(w.name == "xz" for w in suite):
        workloads.make_xz_input(data, args.mode)
    return suite, skipped


def run_all(args, spawn, suite, allocs, rawdir):
    """Runs interleaved: round r runs every workload under every allocator,
    the allocator order rotated each round so none always goes first."""
    runs = {w.name: [] for w in suite}
    total, done = args.runs * len(suite) * len(allocs), 0
    for r in range(args.runs):
        k = r % len(allocs)
        order = allocs[k:] + allocs[:k]
        for w in suite:
            for a in order:
                run = measure.run_one(spawn, w, a, r, rawdir, args.mode)
                runs[w.name].append(run)
                done += 1
                log("[%d/%d] %-9s %-22s run %d: %s" % (
                    done, total, w.name, a.name, r,
                    "%.3f s" % run.wall_s if run.ok else
                    "FAILURE " + run.error))
    return runs


# Above this share of the machine taken by other processes, timings are
# flagged as disturbed (peak RSS and faults are not affected).
DISTURBED = 0.10


def disturbance(watch):
    others, steal = watch.others_fraction()
    line = ("CPU taken by other processes during the runs: %.0f%% of the "
            "machine, hypervisor steal %.0f%%" % (100 * others, 100 * steal))
    if others + steal > DISTURBED:
        line += (" — **timings disturbed**: rerun on a quiet machine before "
                 "trusting wall/CPU ratios")
        log("warning: " + line)
    return line


def build_results(suite, allocs, runs, bad, startup_times):
    cells = {}
    for w in suite:
        for a in allocs:
            mine = [r for r in runs[w.name] if r.alloc == a.name]
            cells[(w.name, a.name)] = stats.summarize(
                mine, bad.get((w.name, a.name), ""))
    return report.Results([w.name for w in suite], [a.name for a in allocs],
                          cells, startup_times)


def notes_for(args, found, skipped_wl, ref):
    notes = ["Mode: %s, %d runs per cell, allocators interleaved run by run; "
             "cells are medians [min–max]. Outputs compared with %s."
             % (args.mode, args.runs, ref)]
    notes += ["- allocator %s skipped: %s" % s for s in found.skipped]
    notes += ["- allocator %s **FAILURE**: %s" % b for b in found.broken]
    notes += ["- workload %s skipped: %s" % s for s in skipped_wl]
    return notes


def write_outputs(args, text, res, runs, rawdir):
    default = (os.path.join(HERE, "results", "latest.md")
               if args.mode == "full" and not (args.allocators or
                                               args.workloads or args.extra)
               else os.path.join(rawdir, "results.md"))
    out = args.out or default
    with open(out, "w") as f:
        f.write(text + "\n")
    with open(os.path.join(rawdir, "runs.json"), "w") as f:
        json.dump([r.to_json() for v in runs.values() for r in v], f,
                  indent=1)
    log("report written to %s (raw data in %s)" % (out, rawdir))
    if not args.no_plots:
        files, why = plot.write(res, os.path.dirname(out))
        log(why or "plots: " + ", ".join(files))


def measure_suite(args, spawn, rawdir, suite, allocs):
    """All workload runs, then start-up cost, then output comparison."""
    watch = machine.CpuWatch()
    runs = run_all(args, spawn, suite, allocs, rawdir)
    rounds, execs = (2, 100) if args.quick else (5, 100)
    log("start-up cost: %d x %d execs of /bin/true per allocator"
        % (rounds, execs))
    times = startup.measure_all(spawn, allocs, rounds, execs, rawdir)
    ref = "glibc" if any(a.name == "glibc" for a in allocs) else allocs[0].name
    bad = check.compare(runs, ref)
    check.prune(runs, ref, bad)
    res = build_results(suite, allocs, runs, bad, times)
    return res, runs, ref, disturbance(watch)


def count_failures(res, found):
    return (sum(res.failures(a) for a in res.allocs) + len(found.broken)
            + sum(1 for v in res.startup.values() if v is None))


def main():
    args = parse_args()
    t0 = time.monotonic()
    spawn, rawdir = setup(args)
    lib, lib_id = snapshot_lib(args, rawdir)
    found = pick_allocators(args, spawn, lib)
    suite, skipped_wl = pick_workloads(args)
    if not found.usable or not suite:
        sys.exit("nothing to run")
    head = machine.describe(ROOT) + ["libtiermalloc.so: %s" % lib_id]
    res, runs, ref, disturbed = measure_suite(args, spawn, rawdir, suite,
                                              found.usable)
    head += ["suite time: %.0f s" % (time.monotonic() - t0), disturbed]
    text = report.render(res, head, notes_for(args, found, skipped_wl, ref),
                         {w.name: w.what for w in suite})
    print(text)
    write_outputs(args, text, res, runs, rawdir)
    failed = count_failures(res, found)
    if failed:
        log("FAILURE: %d failed cells/allocators (see the report)" % failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
