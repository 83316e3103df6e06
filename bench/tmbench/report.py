"""Markdown report: summary, side-by-side tables, details, targets.

Ratios are median/median against glibc (no preload) and jemalloc (the
engine tiermalloc is built on). Geometric means run over the workloads
where both sides have numbers; a failed cell is shown as FAILURE and left
out of the means (the summary's failure count says so).
"""
from . import stats

# Targets from the project's issues: measured and reported, never tuned to.
TARGETS = (
    ("geo-mean wall vs jemalloc", "geo_wall_je", 1.00),
    ("geo-mean wall vs glibc", "geo_wall_glibc", 0.90),
    ("worst workload wall vs glibc", "worst_wall_glibc", 1.50),
    ("geo-mean peak RSS vs jemalloc", "geo_rss_je", 1.20),
)


def fmt_ratio(r):
    return "–" if r is None else "%.2f×" % r


def fmt_num(v, metric):
    if metric == "maxrss_kb":
        return "%.1f" % (v / 1024)
    if metric == "ops":
        return "–" if not v else "%.3g" % v
    if metric == "minflt":
        return "%d" % v
    return "%.3f" % v


def table(header, rows):
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


class Results:
    """cells[(workload, alloc)] -> stats.Cell, plus names in table order."""

    def __init__(self, workloads, allocs, cells, startup):
        self.workloads, self.allocs = workloads, allocs
        self.cells, self.startup = cells, startup

    def cell(self, w, a):
        return self.cells.get((w, a))

    def ratios(self, a, base, metric):
        return [stats.ratio(self.cell(w, a), self.cell(w, base), metric)
                for w in self.workloads]

    def failures(self, a):
        return sum(1 for w in self.workloads
                   if self.cell(w, a) and self.cell(w, a).failure)

    def headline(self, a):
        walls = [r for r in self.ratios(a, "glibc", "wall_s") if r]
        return {
            "geo_wall_glibc": stats.geomean(self.ratios(a, "glibc", "wall_s")),
            "geo_wall_je": stats.geomean(self.ratios(a, "jemalloc", "wall_s")),
            "worst_wall_glibc": max(walls) if walls else None,
            "geo_cpu_glibc": stats.geomean(self.ratios(a, "glibc", "cpu_s")),
            "geo_cpu_je": stats.geomean(self.ratios(a, "jemalloc", "cpu_s")),
            "geo_rss_glibc": stats.geomean(
                self.ratios(a, "glibc", "maxrss_kb")),
            "geo_rss_je": stats.geomean(
                self.ratios(a, "jemalloc", "maxrss_kb")),
        }


def summary(res):
    """One row per allocator. CPU (user+sys) is shown beside wall time
    because it suffers less when other jobs share the machine."""
    rows = []
    for a in res.allocs:
        h = res.headline(a)
        per_exec = res.startup.get(a)
        rows.append([a, fmt_ratio(h["geo_wall_glibc"]),
                     fmt_ratio(h["geo_wall_je"]),
                     fmt_ratio(h["worst_wall_glibc"]),
                     fmt_ratio(h["geo_cpu_glibc"]), fmt_ratio(h["geo_cpu_je"]),
                     fmt_ratio(h["geo_rss_glibc"]), fmt_ratio(h["geo_rss_je"]),
                     "–" if per_exec is None else "%.0f" % (per_exec * 1e6),
                     res.failures(a) or ""])
    return table(["allocator", "wall ×glibc (geo)", "wall ×jemalloc (geo)",
                  "worst wall ×glibc", "CPU ×glibc (geo)",
                  "CPU ×jemalloc (geo)", "peak RSS ×glibc (geo)",
                  "peak RSS ×jemalloc (geo)", "exec µs (`true`)",
                  "failures"], rows)


def side_by_side(res, metric, ratio_to="glibc"):
    rows = []
    for w in res.workloads:
        row = [w]
        for a in res.allocs:
            c = res.cell(w, a)
            if c is None:
                row.append("")
            elif c.failure:
                row.append("**FAILURE**")
            else:
                r = stats.ratio(c, res.cell(w, ratio_to), metric)
                row.append(fmt_num(c.med[metric], metric)
                           + ("" if r is None or a == ratio_to
                              else " (%s)" % fmt_ratio(r)))
        rows.append(row)
    return table(["workload"] + list(res.allocs), rows)


def detail(res, w):
    rows = []
    for a in res.allocs:
        c = res.cell(w, a)
        if c is None:
            continue
        if c.failure:
            rows.append([a, "**FAILURE**: " + c.failure.replace("|", "/")]
                        + [""] * 8)
            continue
        rng = lambda m: "%s [%s–%s]" % (fmt_num(c.med[m], m),
                                         fmt_num(c.lo[m], m),
                                         fmt_num(c.hi[m], m))
        rows.append([a, rng("wall_s"), fmt_num(c.med["cpu_s"], "cpu_s"),
                     rng("maxrss_kb"), fmt_num(c.med["minflt"], "minflt"),
                     fmt_num(c.med["ops"], "ops")]
                    + [fmt_ratio(stats.ratio(c, res.cell(w, b), m))
                       for m in ("wall_s", "maxrss_kb")
                       for b in ("glibc", "jemalloc")])
    return table(["allocator", "wall s [min–max]", "CPU s", "peak RSS MiB "
                  "[min–max]", "minor faults", "ops/s", "wall ×glibc",
                  "wall ×jemalloc", "RSS ×glibc", "RSS ×jemalloc"], rows)


def startup_table(res):
    base = res.startup.get("glibc")
    rows = []
    for a in res.allocs:
        t = res.startup.get(a)
        if t is None:
            rows.append([a, "**FAILURE**" if a in res.startup else "–", ""])
            continue
        rows.append([a, "%.0f" % (t * 1e6), "" if base is None or a == "glibc"
                     else "%+.0f" % ((t - base) * 1e6)])
    return table(["allocator", "µs per exec of /bin/true",
                  "µs added vs glibc"], rows)


def targets(res):
    lines = []
    for a in (x for x in res.allocs if x.startswith("tiermalloc")):
        h = res.headline(a)
        for label, key, limit in TARGETS:
            v = h[key]
            verdict = ("no data" if v is None
                       else "met" if v <= limit else "**MISSED**")
            lines.append("- %s: %s %s (target <= %.2f×): %s"
                         % (a, label, fmt_ratio(v), limit, verdict))
    return lines or ["- no tiermalloc row in this run"]


# The tiered path against the one-tier one (issue 12): every malloc of a
# program on a machine with a slow tier takes it.
TIERED, ONE_TIER = "tiermalloc (tiered)", "tiermalloc"
TIERED_TARGETS = (("geo-mean", stats.geomean, 1.05),
                  ("worst workload", max, 1.15))


def tiered_targets(res):
    if TIERED not in res.allocs or ONE_TIER not in res.allocs:
        return []
    by_workload = [(r, w) for r, w in
                   zip(res.ratios(TIERED, ONE_TIER, "wall_s"), res.workloads) if r]
    if not by_workload:
        return ["- %s: wall vs %s: no data" % (TIERED, ONE_TIER)]
    walls = [r for r, _ in by_workload]
    worst = max(by_workload)
    lines = []
    for label, reduce, limit in TIERED_TARGETS:
        v = reduce(walls)
        lines.append("- %s: %s wall vs %s %s (target <= %.2f×): %s"
                     % (TIERED, label, ONE_TIER, fmt_ratio(v), limit,
                        "met" if v <= limit else "**MISSED**"))
    return lines + ["  (worst: %s, %s)" % (worst[1], fmt_ratio(worst[0]))]


def render(res, head, notes, workload_info):
    out = ["# tiermalloc benchmarks", ""] + ["- " + h for h in head] + [""]
    out += notes + [""] if notes else []
    out += ["## Summary", ""] + summary(res) + [""]
    out += ["## Targets (tiermalloc rows)", ""] + targets(res)
    out += tiered_targets(res) + [""]
    out += ["## Wall time, median s (×glibc)", ""]
    out += side_by_side(res, "wall_s") + [""]
    out += ["## Peak RSS, median MiB (×glibc)", ""]
    out += side_by_side(res, "maxrss_kb") + [""]
    out += ["## CPU user+sys, median s (×glibc)", ""]
    out += side_by_side(res, "cpu_s") + [""]
    out += ["## Start-up cost", ""] + startup_table(res) + [""]
    out += ["## Per workload", ""]
    for w in res.workloads:
        out += ["### %s: %s" % (w, workload_info.get(w, "")), ""]
        out += detail(res, w) + [""]
    return "\n".join(out)
