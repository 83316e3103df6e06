#!/usr/bin/python3
"""Throughput over time from bench/gups/cxl.sh's cxl-intervals.csv: one
subplot per workload x ratio, one line per placement (the median run's rate
at each 500 ms interval), phase 1 after phase 0, the shift marked.

    cxl_plot.py cxl-intervals.csv cxl.png
"""
import csv
import statistics
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

CONFIGS = ["dram", "oracle", "first-touch", "tm-heat", "tm-ratio", "libmemtier",
           "interleave"]
STYLES = {"dram": ("black", ":"), "oracle": ("tab:green", "--"),
          "first-touch": ("tab:gray", "--"), "tm-heat": ("tab:red", "-"),
          "tm-ratio": ("tab:olive", "--"), "libmemtier": ("tab:purple", "--"),
          "interleave": ("tab:blue", "-.")}

src, dst = sys.argv[1], sys.argv[2]
rates = defaultdict(lambda: defaultdict(list))  # (wl, ratio, config) -> t -> rates
per_phase = 0
for row in csv.DictReader(open(src)):
    per_phase = max(per_phase, int(row["interval"]))
    t = (int(row["phase"]), int(row["interval"]))
    rates[(row["workload"], row["ratio"], row["config"])][t].append(float(row["mops"]))
panels = sorted({k[:2] for k in rates})
fig, axes = plt.subplots(len(panels), 1, figsize=(9, 3.2 * len(panels)), squeeze=False)
for ax, (wl, ratio) in zip(axes[:, 0], panels):
    for config in CONFIGS:
        series = rates.get((wl, ratio, config))
        if not series:
            continue
        ts = sorted(series)
        color, style = STYLES[config]
        ax.plot([(p * per_phase + i) * 0.5 for p, i in ts],
                [statistics.median(series[t]) for t in ts],
                color=color, linestyle=style, label=config)
    ax.axvline(per_phase * 0.5, color="gray", linewidth=0.8)
    ax.set_title(f"{wl}, DRAM:footprint {ratio} (popularity shift at the line)")
    ax.set_xlabel("seconds")
    ax.set_ylabel("M ops/s (median of runs)")
    ax.legend(fontsize="small", ncol=3)
fig.tight_layout()
fig.savefig(dst, dpi=90)
