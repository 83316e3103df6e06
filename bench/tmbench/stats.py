"""Summaries of repeated runs: median with range, ratios, geometric means.

A cell is a failure, not a number, as soon as one of its runs failed or
printed something different from the reference: a fast wrong answer must
never show up as a speed-up.
"""
import math
import statistics
from dataclasses import dataclass

METRICS = ("wall_s", "cpu_s", "maxrss_kb", "minflt", "ops")


@dataclass
class Cell:
    runs: int
    failure: str = ""              # non-empty: why this cell is not numbers
    med: dict = None               # metric -> median
    lo: dict = None                # metric -> min
    hi: dict = None                # metric -> max


def summarize(runs, failure=""):
    ok = [r for r in runs if r.ok]
    if failure or not ok or len(ok) != len(runs):
        bad = next((r.error for r in runs if not r.ok), "") or "no runs"
        return Cell(len(runs), failure or bad)
    med, lo, hi = {}, {}, {}
    for m in METRICS:
        vals = [getattr(r, m) for r in ok]
        med[m], lo[m], hi[m] = statistics.median(vals), min(vals), max(vals)
    return Cell(len(runs), "", med, lo, hi)


def ratio(cell, base, metric):
    """cell/base for a metric, or None where either has no number."""
    if not cell or not base or cell.failure or base.failure:
        return None
    b = base.med[metric]
    return cell.med[metric] / b if b else None


def geomean(values):
    vals = [v for v in values if v is not None and v > 0]
    if not vals:
        return None
    return math.exp(sum(math.log(v) for v in vals) / len(vals))
