"""tierstat plot: a recording as a picture: the heap of each tier over time
(allocated and resident) and the migration rate."""
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


def occupancy(ax, meta, cols):
    t = cols["time_s"]
    for i, name in enumerate(meta["tiers"]):
        alloc = [v / MIB if v is not None else None for v in cols[f"tier{i}_allocated"]]
        res = [v / MIB if v is not None else None for v in cols[f"tier{i}_resident"]]
        line, = ax.plot(t, alloc, linewidth=2, label=f"tier {i} ({name}): allocated")
        ax.plot(t, res, linestyle="--", color=line.get_color(),
                label=f"tier {i} ({name}): resident")
    ax.set_title("Heap per tier")
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
    for key, label, colour in (("promoted_bytes", "promoted to DRAM", "tab:green"),
                               ("demoted_bytes", "demoted to slow tier", "tab:red")):
        x, y = rate(t, cols[key])
        ax.plot(x, y, label=label, color=colour, linewidth=2)
    ax.set_ylim(bottom=0)
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
