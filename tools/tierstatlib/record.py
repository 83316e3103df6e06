"""tierstat record: sample a process's stats into a CSV file.

The first line is a comment, '# tierstat ' and a JSON object describing the
recording (pid, command, tier names, why migration is missing if it is);
then a header and one row per sample. Cumulative migration counters are
left empty while the process reports no migration: no made-up zeros."""
import csv
import json
import time

from . import client
from .render import heap_of, unavailable


def nodes_of(stats):
    """Nodes that the tiers' per-node residency can name, in order."""
    nodes = set()
    for t in stats["tiers"]:
        pn = t.get("per_node")
        if pn and not unavailable(pn):
            nodes.update(n["node"] for n in pn["nodes"])
    return sorted(nodes)


def columns(tiers, nodes):
    cols = ["time_s"]
    for t in range(tiers):
        cols += [f"tier{t}_allocated", f"tier{t}_resident"]
    cols += [f"node{n}_resident" for n in nodes]
    return cols + ["promoted_bytes", "demoted_bytes", "dram_quota_used"]


def node_residency(stats):
    """Heap bytes resident on each node, summed over the tiers (the
    server's move_pages estimate); {} where it is unavailable."""
    per = {}
    for t in stats["tiers"]:
        pn = t.get("per_node")
        if not pn or unavailable(pn):
            continue
        for n in pn["nodes"]:
            per[n["node"]] = per.get(n["node"], 0) + n["resident"]
    return per


def row(stats, elapsed):
    r = {"time_s": f"{elapsed:.3f}"}
    for t in stats["tiers"]:
        heap = heap_of(t)
        r[f"tier{t['tier']}_allocated"] = heap.get("allocated", "")
        r[f"tier{t['tier']}_resident"] = heap.get("resident", "")
    for node, resident in node_residency(stats).items():
        r[f"node{node}_resident"] = resident
    mig = stats.get("migration", {})
    if not unavailable(mig):
        r["promoted_bytes"] = mig["promoted"]["bytes"]
        r["demoted_bytes"] = mig["demoted"]["bytes"]
    r["dram_quota_used"] = stats["dram_quota"]["used"]
    return r


def describe(pid, stats):
    mig = stats.get("migration", {})
    return {"pid": pid, "command": stats["process"]["command"],
            "tiers": [t["name"] for t in stats["tiers"]],
            "nodes": nodes_of(stats),
            "tiered": stats["mode"]["tiered"],
            "migration_unavailable": unavailable(mig)}


def record(pid, path, interval, duration, directory=None, progress=None):
    """Sample until duration seconds have passed (None: until Ctrl-C or the
    process ends). Returns the number of samples written."""
    first = client.ask(pid, "stats", directory)
    start = time.monotonic()
    samples = 0
    with open(path, "w", newline="") as f:
        f.write("# tierstat " + json.dumps(describe(pid, first)) + "\n")
        out = csv.DictWriter(f, fieldnames=columns(len(first["tiers"]),
                                                    nodes_of(first)),
                             restval="", extrasaction="ignore")
        out.writeheader()
        stats = first
        try:
            while True:
                out.writerow(row(stats, time.monotonic() - start))
                f.flush()
                samples += 1
                if progress:
                    progress(samples)
                next_at = start + samples * interval
                if duration is not None and next_at - start > duration:
                    break
                time.sleep(max(0.0, next_at - time.monotonic()))
                stats = client.ask(pid, "stats", directory)
        except KeyboardInterrupt:
            pass
        except client.TierstatError:
            if not ends_soon(pid):
                raise
            # the process ended: what was recorded stands
    return samples


def ends_soon(pid, within=2.0):
    """Whether pid is gone, or goes within seconds: a process removes its
    socket at exit, a moment before it is gone."""
    until = time.monotonic() + within
    while client.process_uid(pid) is not None:
        if time.monotonic() >= until:
            return False
        time.sleep(0.05)
    return True
