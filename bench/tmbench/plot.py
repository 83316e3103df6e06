"""Optional PNG charts of per-workload ratios against glibc (grouped bars,
one group per workload, one bar per allocator). Skipped with a message when
matplotlib is missing (Debian: python3-matplotlib)."""
import os

from . import stats


def available():
    try:
        import matplotlib  # noqa: F401
        return True
    except ImportError:
        return False


def bars(res, metric, title, path):
    import matplotlib
    matplotlib.use("Agg")            # no display on these machines
    import matplotlib.pyplot as plt

    others = [a for a in res.allocs if a != "glibc"]
    width = 0.8 / max(len(others), 1)
    fig, ax = plt.subplots(figsize=(max(8, 1.1 * len(res.workloads)), 4.5))
    for i, a in enumerate(others):
        vals = [stats.ratio(res.cell(w, a), res.cell(w, "glibc"), metric)
                for w in res.workloads]
        xs = [j + i * width for j in range(len(res.workloads))]
        ax.bar(xs, [v or 0 for v in vals], width, label=a)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(res.workloads))])
    ax.set_xticklabels(res.workloads, rotation=30, ha="right")
    ax.set_ylabel("× glibc (lower is better)")
    ax.set_title(title)
    ax.legend(fontsize="small", ncol=3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write(res, outdir):
    """Returns the files written, or a message saying why there are none."""
    if "glibc" not in res.allocs:
        return [], "plots skipped: no glibc column to compare against"
    if not available():
        return [], ("plots skipped: matplotlib not importable "
                    "(apt-get install python3-matplotlib)")
    files = []
    for metric, name, title in (("wall_s", "wall.png", "Wall time"),
                                ("maxrss_kb", "rss.png", "Peak RSS")):
        path = os.path.join(outdir, name)
        bars(res, metric, title + " relative to glibc", path)
        files.append(path)
    return files, ""
