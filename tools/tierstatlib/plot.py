"""tierstat plot: a recording as a picture: where the heap is over time
(resident bytes per NUMA node, stacked, where the server could tell; else
per tier) and the migration rate, promotions up and demotions down."""
import csv
import json

MIB = 1 << 20


def read(path):
    """(description, columns as lists of float or None)."""
    with open(path, newline="") as f:
        first = f.readline()
        if not first.startswith("# tierstat "):
            raise ValueError(f"{path} is not a tierstat recording")
        meta = json.loads(first[len("# tierstat "):])
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{path} holds no samples")
    cols = {k: [float(r[k]) if r[k] not in ("", None) else None for r in rows]
            for k in rows[0]}
    return meta, cols


def rate(times, counter):
    """MiB/s between consecutive samples of a cumulative byte counter."""
    out = []
    for i in range(1, len(times)):
        a, b, dt = counter[i - 1], counter[i], times[i] - times[i - 1]
        out.append(None if a is None or b is None or dt <= 0
                   else (b - a) / MIB / dt)
    return times[1:], out


def mib(values):
    return [v / MIB if v is not None else None for v in values]


def by_node(ax, meta, cols):
    """Stacked resident MiB per node: the picture of tiering at work."""
    t = cols["time_s"]
    nodes = meta["nodes"]
    series = [[v or 0.0 for v in mib(cols[f"node{n}_resident"])] for n in nodes]
    ax.stackplot(t, *series, labels=[f"node {n}" for n in nodes], alpha=0.8)
    if any(v is not None for v in cols.get("dram_quota_used", [])):
        ax.plot(t, mib(cols["dram_quota_used"]), color="black", linewidth=1,
                linestyle=":", label="DRAM quota in use")
    ax.set_title("Heap resident per NUMA node")


def by_tier(ax, meta, cols):
    t = cols["time_s"]
    for i, name in enumerate(meta["tiers"]):
        line, = ax.plot(t, mib(cols[f"tier{i}_allocated"]), linewidth=2,
                        label=f"tier {i} ({name}): allocated")
        ax.plot(t, mib(cols[f"tier{i}_resident"]), linestyle="--",
                color=line.get_color(), label=f"tier {i} ({name}): resident")
    ax.set_title("Heap per tier")


def occupancy(ax, meta, cols):
    if meta.get("nodes") and any(v is not None for n in meta["nodes"]
                                 for v in cols[f"node{n}_resident"]):
        by_node(ax, meta, cols)
    else:
        by_tier(ax, meta, cols)
    ax.set_ylabel("MiB")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize="small")


def migration(ax, meta, cols):
    ax.set_title("Migration rate")
    ax.set_ylabel("MiB/s")
    ax.set_xlabel("time since the recording started (s)")
    ax.grid(True, alpha=0.3)
    t = cols["time_s"]
    if all(v is None for v in cols["promoted_bytes"]) or len(t) < 2:
        why = meta.get("migration_unavailable") or "fewer than two samples"
        ax.text(0.5, 0.5, f"no migration data:\n{why}", ha="center",
                va="center", transform=ax.transAxes, color="0.4")
        return
    width = min(t[i] - t[i - 1] for i in range(1, len(t))) * 0.8
    for key, label, colour, sign in (
            ("promoted_bytes", "promoted to DRAM", "tab:green", 1),
            ("demoted_bytes", "demoted to the slow tier", "tab:red", -1)):
        x, y = rate(t, cols[key])
        ax.bar([xi - width for xi in x], [sign * (v or 0.0) for v in y],
               width=width, align="edge",
               color=colour, label=label)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_ylabel("MiB/s (demotions below 0)")
    ax.legend(loc="upper left", fontsize="small")


def plot(csv_path, png_path):
    import matplotlib
    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    meta, cols = read(csv_path)
    fig, (top, bottom) = plt.subplots(
        2, 1, sharex=True, figsize=(10, 7), dpi=100,
        gridspec_kw={"height_ratios": [2, 1]})
    occupancy(top, meta, cols)
    migration(bottom, meta, cols)
    fig.suptitle(f"tiermalloc: pid {meta['pid']} ({meta['command']}), "
                 f"{len(cols['time_s'])} samples", fontsize="large")
    fig.tight_layout()
    fig.savefig(png_path)
    plt.close(fig)
