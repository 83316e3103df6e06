#!/usr/bin/python3
"""Fast-tier share over time from bench/gups/tiering.sh's CSV: one subplot
per ratio x workload, one line per configuration and run (share relative to
the oracle, per 500 ms interval).

    tiering_plot.py tiering.csv tiering.png
"""
import csv
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

src, dst = sys.argv[1], sys.argv[2]
series = defaultdict(list)
for row in csv.DictReader(open(src)):
    series[(row["ratio"], row["workload"], row["config"], row.get("run", "1"))].append(
        (int(row["interval"]), float(row["rel"])))
runs = sorted({k[3] for k in series})
ratios = sorted({k[0] for k in series}, key=lambda r: int(r.split(":")[1]))
workloads = sorted({k[1] for k in series})
configs = ["first-touch", "tm-ratio", "tm-threshold", "tm-heat", "kernel",
           "libmemtier"]
configs += sorted({k[2] for k in series} - set(configs))
styles = {"first-touch": ("tab:gray", "--"), "tm-ratio": ("tab:olive", "--"),
          "tm-threshold": ("tab:brown", "--"),
          "tm-heat": ("tab:red", "-"), "kernel": ("tab:blue", "-"),
          "libmemtier": ("tab:green", ":")}
fig, axes = plt.subplots(len(workloads), len(ratios), squeeze=False,
                         figsize=(4.2 * len(ratios), 3.2 * len(workloads)),
                         sharey=True)
for i, w in enumerate(workloads):
    for j, r in enumerate(ratios):
        ax = axes[i][j]
        for c in configs:
            color, ls = styles.get(c, (None, "-"))
            for run in runs:
                pts = series.get((r, w, c, run))
                if pts:
                    ax.plot([p[0] * 0.5 for p in pts], [p[1] for p in pts],
                            marker="o", ms=2, lw=1, alpha=0.8, color=color,
                            ls=ls, label=c)
        ax.axhline(1.0, color="black", lw=0.5)
        ax.set_title(f"{w}, DRAM:footprint {r}")
        ax.set_ylim(0, 1.1)
        ax.grid(alpha=0.3)
        if i == len(workloads) - 1:
            ax.set_xlabel("time (s)")
        if j == 0:
            ax.set_ylabel("fast-tier share / oracle")
handles, labels = [], []
for ax in axes.flat:
    for h, l in zip(*ax.get_legend_handles_labels()):
        if l not in labels:
            handles.append(h)
            labels.append(l)
fig.legend(handles, labels, loc="lower center", ncol=len(labels))
fig.suptitle("Fast-tier access share over time, two-tier guest (kmem)")
fig.tight_layout(rect=(0, 0.06, 1, 0.96))
fig.savefig(dst, dpi=90)
