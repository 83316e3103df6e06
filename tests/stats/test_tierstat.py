"""tierstat end to end: the process list and its clean-up of dead sockets,
the tables, --json, watch mode and Ctrl-C, set, record and plot (a PNG that
shows something), and one-line errors for a dead pid, another user's
process, a garbled reply."""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from harness import (NOBODY, TIERSTAT, Checks, Victim, cleanup,
                     fake_two_node_sysfs, scratch_dir)

C = Checks("tierstat")
MIB = 1 << 20


def tierstat(*args, stats_dir=None, program=TIERSTAT, timeout=30):
    env = dict(os.environ)
    env.pop("TIERMALLOC_STATS_DIR", None)
    if stats_dir:
        env["TIERMALLOC_STATS_DIR"] = stats_dir
    return subprocess.run([program] + [str(a) for a in args], env=env,
                          capture_output=True, text=True, timeout=timeout)


def one_line_error(r, words, what):
    lines = r.stderr.splitlines()
    C.check(r.returncode == 1 and len(lines) == 1 and
            lines[0].startswith("tierstat: ") and words in lines[0],
            f"{what}: exit 1, one line with '{words}': {r.returncode} {lines}")


def dead_pid():
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def leave_stale_sockets(d):
    """A socket of a dead pid, and one of a live pid nobody listens on."""
    for pid in (dead_pid(), os.getpid()):
        s = socket.socket(socket.AF_UNIX)
        s.bind(os.path.join(d, f"{pid}.sock"))
        s.close()


class FakeServer:
    """A process of ours whose socket answers every line with reply."""

    def __init__(self, d, reply):
        self.path = os.path.join(d, f"{os.getpid()}.sock")
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.bind(self.path)
        self.sock.listen(4)
        self.reply = reply
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.recv(4096)
                conn.sendall(self.reply)

    def close(self):
        self.sock.close()
        os.unlink(self.path)


def check_empty_list(d):
    r = tierstat(stats_dir=d)
    C.check(r.returncode == 0 and "no process serves stats" in r.stdout,
            f"empty list: {r.stdout!r}")


def check_list(d, victims):
    leave_stale_sockets(d)
    for v in victims:
        v.say("ramp 4 0")
        v.line()
    r = tierstat(stats_dir=d)
    lines = r.stdout.splitlines()
    C.check(r.returncode == 0 and lines[0].split() ==
            ["PID", "COMMAND", "DRAM", "SLOW", "HEAT", "MODE"], f"list: {lines}")
    rows = {int(l.split()[0]): l for l in lines[1:] if l.split()[0].isdigit()}
    C.check(sorted(rows) == sorted(v.pid for v in victims),
            f"both processes listed, nothing else: {sorted(rows)}")
    C.check("victim" in rows.get(victims[0].pid, "") and "one tier" in
            rows.get(victims[0].pid, ""), "command and mode")
    C.check("tiered" in rows.get(victims[1].pid, ""),
            f"tiered row: {rows.get(victims[1].pid)}")
    C.check("removed 2 socket(s)" in r.stdout and
            sorted(os.listdir(d)) == sorted(f"{v.pid}.sock" for v in victims),
            f"stale sockets cleaned: {os.listdir(d)}")


def check_views(d, v):
    r = tierstat(v.pid, stats_dir=d)
    C.check(r.returncode == 0 and f"pid {v.pid} (victim)" in r.stdout and
            "ALLOCATED" in r.stdout and "DRAM quota" in r.stdout and
            "heat source: unavailable" in r.stdout, f"stats table:\n{r.stdout}")
    r = tierstat(v.pid, "--json", stats_dir=d)
    C.check(r.returncode == 0 and json.loads(r.stdout)["version"] == 1,
            "--json is the raw reply")
    for cmd, words in (("heat", "heat: unavailable"),
                       ("sites", "sites: unavailable"),
                       ("config", "TIERMALLOC_STATS_DIR")):
        r = tierstat(cmd, v.pid, stats_dir=d)
        C.check(r.returncode == 0 and words in r.stdout, f"{cmd}: {r.stdout!r}")
    r = tierstat("set", v.pid, "POLICY", "ratio", stats_dir=d)
    C.check(r.returncode == 0 and r.stdout.strip() == "TIERMALLOC_POLICY=ratio",
            f"set: {r.stdout!r} {r.stderr!r}")
    one_line_error(tierstat("set", v.pid, "STATS", "0", stats_dir=d),
                   "cannot change while the program runs", "set of a fixed one")
    tools = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "tierstat")
    r = tierstat(v.pid, stats_dir=d, program=tools)
    C.check(r.returncode == 0 and f"pid {v.pid}" in r.stdout,
            "tools/tierstat runs from the tree as well")


def tracking_stats(d, v):
    """heat_source once write tracking has seen a write in a window (its
    first periods may end before the work comes, on a loaded machine), or
    as it is after 40 rounds of work."""
    hs = {}
    for _ in range(40):
        v.say("work 50")
        v.line()
        r = tierstat(v.pid, "--json", stats_dir=d)
        hs = json.loads(r.stdout).get("heat_source", {}) if r.returncode == 0 else {}
        if hs.get("write_tracking", {}).get("faults_in_windows"):
            break
    return hs


def check_write_tracking(d, sysfs):
    """Tiered under the heat policy, the stats and the table say what write
    tracking does: its windows, its faults, and who paid between periods."""
    v = Victim(d, env={"TIERMALLOC_SYSFS": sysfs, "TIERMALLOC_SCAN_MS": "100"})
    hs = tracking_stats(d, v)
    if "uffd" not in hs.get("name", ""):
        print(f"(write tracking not tested: the heat source here is "
              f"{hs.get('name')}) ", end="")
        v.finish()
        return
    wt = hs.get("write_tracking", {})
    C.check(wt.get("windows", 0) >= 1 and wt.get("fault_ns", 0) > 0 and
            wt.get("faults_in_windows", 0) > 0 and
            wt.get("between_periods") in ("protection kept", "protection lifted"),
            f"write tracking in the stats: {wt}")
    r = tierstat(v.pid, stats_dir=d)
    C.check("  write tracking: " in r.stdout and "windows a period" in r.stdout
            and "between periods" in r.stdout, f"and in the table:\n{r.stdout}")
    v.finish()


def check_probe_line():
    """DAMON's probes (root, DAMON and a slow tier: none here) and a
    measurement dearer than its budget get a line of the table under the
    heat source."""
    sys.path.insert(0, os.path.realpath(TIERSTAT))  # a zipapp: its package
    from tierstatlib.render import policy_lines
    hs = {"name": "damon+uffd", "why": "", "measured_every_periods": 4,
          "last_measurement_ns": 90_000_000, "measurement_budget_ns": 25_000_000,
          "read_probes": {"checked": 1280, "found_read": 7}}
    mig = {"unavailable": "no slow tier"}
    lines = policy_lines({"heat_source": hs, "migration": mig})
    C.check("  read probes: 1,280 pages checked one by one, 7 found read" in lines,
            f"the probes' line: {lines}")
    C.check("  measured every 4 periods: a measurement costs 90.0 ms, 25.0 ms "
            "a period allowed" in lines, f"and a dear measurement's: {lines}")


def check_errors(d):
    one_line_error(tierstat(dead_pid(), stats_dir=d), "no process", "dead pid")
    one_line_error(tierstat(os.getpid(), stats_dir=d), "serves no stats",
                   "a process without the library")
    if os.geteuid() == 0:
        sleeper = subprocess.Popen(NOBODY + ["sleep", "30"])
        time.sleep(0.2)
        one_line_error(tierstat(sleeper.pid, stats_dir=d),
                       "belongs to uid 65534", "another user's process")
        sleeper.kill()
        sleeper.wait()
    for reply, words in ((b"this is not json\n", "garbled reply"),
                         (b'{"no":"version"}\n', "garbled reply"),
                         (b'{"version":99}\n', "protocol version 99"),
                         (b"", "closed the connection")):
        fake = FakeServer(d, reply)
        one_line_error(tierstat(os.getpid(), stats_dir=d), words,
                       f"fake server replying {reply[:20]!r}")
        fake.close()
    r = tierstat("notapid", stats_dir=d)
    C.check(r.returncode == 2, "a pid that is not a number: usage error")


def check_watch(d, v):
    env = dict(os.environ, TIERMALLOC_STATS_DIR=d)
    p = subprocess.Popen([TIERSTAT, "-w", str(v.pid), "-i", "0.2"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.2)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=10)
    C.check(p.returncode == 0 and err == "", f"Ctrl-C ends watch cleanly: "
            f"{p.returncode} {err!r}")
    C.check(out.count("\033[H\033[2J") >= 3 and out.count(f"pid {v.pid}") >= 3,
            "it refreshed several times")


def check_record_plot(d, v, work):
    csv_path, png_path = os.path.join(work, "rec.csv"), os.path.join(work, "rec.png")
    rec = subprocess.Popen([TIERSTAT, "record", str(v.pid), "-o", csv_path,
                            "-i", "0.1", "-d", "4"],
                           env=dict(os.environ, TIERMALLOC_STATS_DIR=d),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    v.say("ramp 96 3")
    C.check(v.line() == "ramped", "the victim ramped its heap")
    out, err = rec.communicate(timeout=30)
    C.check(rec.returncode == 0 and "samples" in out, f"record: {out!r} {err!r}")
    with open(csv_path) as f:
        lines = f.read().splitlines()
    meta = json.loads(lines[0][len("# tierstat "):])
    header = lines[1].split(",")
    rows = [dict(zip(header, l.split(","))) for l in lines[2:]]
    peak = max(int(r["tier0_allocated"]) + int(r["tier1_allocated"]) for r in rows)
    C.check(meta["tiers"] == ["fast", "slow"] and len(rows) >= 30,
            f"CSV: {meta}, {len(rows)} rows")
    C.check(peak > 64 * MIB, f"the ramp is in the recording: peak {peak >> 20} MiB")
    r = tierstat("plot", csv_path, "-o", png_path)
    C.check(r.returncode == 0 and os.path.getsize(png_path) > 20000,
            f"plot wrote a PNG: {r.stderr!r}")
    check_png(png_path)
    one_line_error(tierstat("plot", os.path.join(work, "none.csv"), "-o", png_path),
                   "cannot plot", "plot of a missing file")


def check_png(path):
    from PIL import Image
    img = Image.open(path)
    C.check(img.format == "PNG" and img.size == (1000, 700),
            f"PNG of 1000x700: {img.format} {img.size}")
    rgb = img.convert("RGB")
    colours = rgb.getcolors(maxcolors=1 << 20) or []
    inked = sum(n for n, c in colours if c != (255, 255, 255))
    C.check(len(colours) > 50, f"not blank: {len(colours)} colours")
    C.check(0.03 < inked / (img.size[0] * img.size[1]) < 0.6,
            f"ink on {100 * inked / (img.size[0] * img.size[1]):.1f}% of it")


def check_record_until_exit(d, work):
    v = Victim(d)
    csv_path = os.path.join(work, "short.csv")
    rec = subprocess.Popen([TIERSTAT, "record", str(v.pid), "-o", csv_path,
                            "-i", "0.1"], env=dict(os.environ, TIERMALLOC_STATS_DIR=d),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.8)
    v.finish()
    out, err = rec.communicate(timeout=10)
    with open(csv_path) as f:
        rows = len(f.read().splitlines()) - 2
    C.check(rec.returncode == 0 and rows >= 3,
            f"record ends with the process, keeping {rows} samples: {err!r}")


def main():
    d, work, sysfs = scratch_dir(), scratch_dir(), scratch_dir()
    fake_two_node_sysfs(sysfs)
    check_empty_list(d)
    one = Victim(d)
    tiered = Victim(d, env={"TIERMALLOC_SYSFS": sysfs, "TIERMALLOC_POLICY": "ratio"})
    C.check(one.ready and tiered.ready, "two processes serving")
    check_list(d, [one, tiered])
    check_views(d, one)
    check_errors(d)
    check_watch(d, one)
    check_record_plot(d, tiered, work)
    check_write_tracking(d, sysfs)
    check_probe_line()
    for v in (one, tiered):
        v.finish()
    check_record_until_exit(d, work)
    cleanup(d, work, sysfs)
    return C.summary()


if __name__ == "__main__":
    sys.exit(main())
