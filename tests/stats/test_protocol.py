"""The stats protocol against live processes: every request, good and bad,
one-tier and tiered; the socket's life (start, fork, exec, exit, a main
thread that calls pthread_exit); the server thread's signal mask."""
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time

from harness import (LIB, Checks, Victim, ask, cleanup, connect, fake_two_node_sysfs,
                     read_line, scratch_dir, wait_for)

C = Checks("protocol")
# TIERMALLOC_* variables in allocator/config.c's table, as its own
# generator prints them (build/tools/options_doc, the README table).
OPTIONS = sum(line.startswith("| `TIERMALLOC_") for line in subprocess.run(
    [os.environ.get("TM_OPTIONS_DOC", "build/tools/options_doc")],
    capture_output=True, text=True, check=True).stdout.splitlines())


def envelope(reply, request):
    return reply.get("version") == 1 and reply.get("request") == request


def check_stats_one_tier(v):
    r = ask(v.socket, "stats")
    C.check(envelope(r, "stats"), f"stats envelope: {r}")
    C.check(r["process"]["pid"] == v.pid, "stats names our pid")
    C.check(r["process"]["command"] == "victim", "and our command")
    C.check(r["process"]["uptime_s"] > 0, "uptime")
    C.check(r["mode"]["tiered"] is False and r["mode"]["why"], "one-tier mode, why")
    t0 = r["tiers"][0]
    for key in ("name", "nodes", "capacity", "free", "latency_ns",
                "bandwidth_mbs", "heap", "allocations", "per_node"):
        C.check(key in t0, f"tier 0 has {key}")
    heap = t0["heap"]
    C.check(heap["allocated"] > 0 and heap["resident"] >= heap["active"] > 0,
            f"jemalloc totals for tier 0: {heap}")
    C.check(t0["per_node"]["nodes"][0]["resident"] == heap["resident"],
            "one node holds all of it")
    for key in ("limit", "bytes", "used", "enforced"):
        C.check(key in r["dram_quota"], f"dram_quota has {key}")
    C.check("one_tier" in r["fallbacks"], "fallbacks say one tier")
    for part in ("heat_source", "migration"):
        C.check(r[part].get("unavailable", "").startswith("one tier"),
                f"{part} unavailable with the reason: {r[part]}")
    C.check(r["server"]["requests"] >= 0, "server counters")


def check_requests(v):
    r = ask(v.socket, "help")
    names = [q["name"] for q in r["requests"]]
    C.check(envelope(r, "help") and names ==
            ["help", "stats", "heat", "sites", "config", "set"], f"help: {names}")
    for req, name in (("heat", "heat"), ("sites", "sites"), ("sites 5", "sites")):
        r = ask(v.socket, req)
        C.check(envelope(r, name) and "one tier" in r.get("unavailable", ""),
                f"{req}: unavailable with a reason: {r}")
    r = ask(v.socket, "config")
    byname = {x["name"]: x for x in r["variables"]}
    C.check(envelope(r, "config") and len(byname) == OPTIONS, "config lists all")
    C.check(byname["TIERMALLOC_STATS_DIR"]["source"] == "environment" and
            byname["TIERMALLOC_STATS_DIR"]["value"] == v.stats_dir,
            "STATS_DIR came from the environment")
    pol = byname["TIERMALLOC_POLICY"]
    C.check(sorted(pol) == ["default", "doc", "live", "name", "source", "value"]
            and pol["value"] == pol["default"] and pol["source"] == "default"
            and pol["live"] is True and pol["doc"], f"POLICY entry: {pol}")


def check_set(v):
    r = ask(v.socket, "set POLICY ratio")
    C.check(r == {"version": 1, "request": "set", "name": "TIERMALLOC_POLICY",
                  "value": "ratio", "source": "set"}, f"set POLICY: {r}")
    r = ask(v.socket, "set TIERMALLOC_DRAM_LIMIT 25%")
    C.check(r.get("value") == "25%", f"set DRAM_LIMIT: {r}")
    cfg = {x["name"]: x for x in ask(v.socket, "config")["variables"]}
    C.check(cfg["TIERMALLOC_POLICY"]["value"] == "ratio" and
            cfg["TIERMALLOC_POLICY"]["source"] == "set", "config shows it")
    C.check(ask(v.socket, "stats")["dram_quota"]["limit"] == "25%",
            "stats shows the new quota")
    for req, words in (("set TIERMALLOC_STATS 0", "cannot change"),
                       ("set POLICY fastest", "expected one of"),
                       ("set NOPE 1", "unknown variable"),
                       ("set SCAN_MS 1", "out of range")):
        r = ask(v.socket, req)
        C.check(envelope(r, "set") and words in r.get("error", ""),
                f"{req} refused with '{words}': {r}")


def check_bad_requests(v):
    with connect(v.socket) as s:
        for bad, words in (("", "empty"), ("bogus", "unknown request"),
                           ("stats extra", "usage: stats"),
                           ("sites 0", "1..100"), ("sites abc", "1..100"),
                           ("set ONLYNAME", "usage: set"), ("STATS", "unknown")):
            s.sendall(bad.encode() + b"\n")
            r = json.loads(read_line(s))
            C.check(r.get("version") == 1 and words in r.get("error", ""),
                    f"'{bad}' gets an error with '{words}': {r}")
        s.sendall(b"help\n")
        C.check(envelope(json.loads(read_line(s)), "help"),
                "the connection still works after bad requests")
    with connect(v.socket) as s:
        s.sendall(b"help\nstats\r\nconfig\n")
        kinds = [json.loads(read_line(s)).get("request") for _ in range(3)]
        C.check(kinds == ["help", "stats", "config"], f"pipelined, CRLF: {kinds}")
    with connect(v.socket) as s:
        s.sendall(b"stats\n")
        s.shutdown(socket.SHUT_WR)
        r = json.loads(read_line(s))
        C.check(envelope(r, "stats") and read_line(s) == b"",
                "answered after the client's EOF, then closed")
    with connect(v.socket) as s:
        s.sendall(b"sta\x00ts\nhelp\n")
        r = json.loads(read_line(s))
        C.check("binary" in r.get("error", "") and read_line(s) == b"",
                f"binary request: error, then closed: {r}")


def check_tiered():
    sysfs, d = scratch_dir(), scratch_dir()
    fake_two_node_sysfs(sysfs)
    v = Victim(d, env={"TIERMALLOC_SYSFS": sysfs})
    C.check(v.ready, "tiered victim serves")
    v.say("ramp 8 0")
    v.line()
    r = ask(v.socket, "stats")
    C.check(r["mode"]["tiered"] is True and len(r["tiers"]) == 2,
            f"tiered, two tiers: {r['mode']}")
    t0, t1 = r["tiers"]
    C.check(t0["name"] == "fast" and t1["name"] == "slow" and
            t1["cpuless"] is True, "tier names")
    C.check(t0["free"] == 2097152 * 1024 and t1["free"] == 2097153 * 1024,
            f"free memory from the tiers' nodes: {t0['free']} {t1['free']}")
    C.check(t0["heap"]["allocated"] > 0 and "arenas" in t0["heap"]["source"],
            f"tier 0 heap from its arenas: {t0['heap']}")
    C.check(t0["allocations"] > 0, "placement counted allocations")
    pn = t0["per_node"]
    C.check(pn.get("sampled_pages", 0) > 0 and
            [n["node"] for n in pn["nodes"]] == [0],
            f"sampled residency, all on node 0: {pn}")
    C.check(isinstance(r["fallbacks"]["tier_full"], list) and
            len(r["fallbacks"]["tier_full"]) == 2, "per-tier tier_full")
    C.check(r["dram_quota"]["enforced"] is True, "quota enforced")
    for part in ("heat_source", "migration"):
        C.check("unavailable" in r[part] or "name" in r[part] or
                "promoted" in r[part], f"{part}: policy's or unavailable")
    for req in ("heat", "sites 3"):
        rr = ask(v.socket, req)
        C.check(rr.get("version") == 1 and "error" not in rr and
                ("unavailable" in rr or "tiers" in rr or "by_bytes" in rr),
                f"{req} in tiered mode: {rr}")
    code, err = v.finish()
    C.check(code == 0, "tiered victim exits cleanly")
    cleanup(sysfs, d)


def check_fork_exec(v):
    v.say("fork")
    words = v.line().split()
    C.check(len(words) == 3 and words[2] == "ready", f"child serves: {words}")
    if len(words) != 3:
        return
    child = int(words[1])
    child_sock = os.path.join(v.stats_dir, f"{child}.sock")
    C.check(ask(child_sock, "stats")["process"]["pid"] == child,
            "the child's socket answers for the child")
    C.check(ask(v.socket, "stats")["process"]["pid"] == v.pid,
            "the parent's still answers for the parent")
    os.kill(child, signal.SIGTERM)
    C.check(wait_for(lambda: not os.path.exists(child_sock)),
            "the child's socket goes when it exits")
    v.say("exec")
    C.check(v.line() == f"ready {v.pid}", "after exec, same pid, serving again")
    C.check(ask(v.socket, "stats")["process"]["pid"] == v.pid,
            "the new image took over the old image's socket file")


def signal_mask(pid, thread_name):
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            if f.read().strip() != thread_name:
                continue
        with open(f"/proc/{pid}/task/{tid}/status") as f:
            for line in f:
                if line.startswith("SigBlk:"):
                    return int(line.split()[1], 16)
    return None


def check_signals(v):
    mask = signal_mask(v.pid, "tm-stats")
    C.check(mask is not None, "the server thread is named tm-stats")
    wanted = [s for s in range(1, 65) if s not in (9, 19, 32, 33)]
    C.check(mask is not None and all(mask >> (s - 1) & 1 for s in wanted),
            f"it blocks every signal: {mask and hex(mask)}")
    for _ in range(5):
        os.kill(v.pid, signal.SIGUSR1)
        time.sleep(0.01)
    v.say("usr1")
    C.check(v.line() == "usr1 5 main", "the application's handler got them all")


def check_lifecycle():
    d = scratch_dir()
    v = Victim(d)
    path = v.socket
    v.say("threadexit")
    C.check(wait_for(lambda: v.proc.poll() is not None, 5),
            "main thread's pthread_exit: the process still ends")
    C.check(v.proc.returncode == 0 and not os.path.exists(path),
            f"with status 0, socket removed ({v.proc.returncode})")
    v = Victim(d)
    app_file = os.path.join(d, "app-file")
    v.say(f"closefds {app_file}")
    C.check(v.line() == "closed", "the application closed our descriptors")
    code, err = v.finish()
    with open(app_file) as f:
        C.check(code == 0 and f.read() == "app data\n",
                "its file under a number we had used is left alone at exit")
    C.check(not os.path.exists(v.socket), "and the socket is removed all the same")
    os.unlink(app_file)
    v = Victim(d, env={"VICTIM_EARLY_FORK": "1"}, first_line="early-child")
    C.check(v.early == "early-child stdin open",
            f"a child forked before the services keeps its stdin: {v.early}")
    v.finish()
    v = Victim(d, env={"TIERMALLOC_STATS": "0", "VICTIM_WAIT_MS": "300"})
    # Its own socket only: the early child above may still be removing its.
    C.check(not v.ready and f"{v.pid}.sock" not in os.listdir(d),
            "TIERMALLOC_STATS=0: no socket")
    v.finish()
    v = Victim(None)
    default = f"/tmp/tiermalloc-{os.geteuid()}"
    st = os.stat(default)
    C.check(v.ready and stat.S_IMODE(st.st_mode) == 0o700 and
            st.st_uid == os.geteuid(), "default directory, 0700, ours")
    C.check(ask(v.socket, "stats")["process"]["pid"] == v.pid, "served there")
    code, err = v.finish()
    C.check(not os.path.exists(v.socket), "socket removed at exit")
    cleanup(d)


def main():
    d = scratch_dir()
    v = Victim(d)
    C.check(v.ready, "the victim's socket appears")
    st = os.stat(v.socket)
    C.check(stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600,
            f"socket mode {oct(st.st_mode)}")
    check_stats_one_tier(v)
    check_requests(v)
    check_bad_requests(v)
    check_set(v)
    check_signals(v)
    check_fork_exec(v)
    start = time.monotonic()
    code, err = v.finish()
    took = time.monotonic() - start
    C.check(code == 0 and err == "", f"exit 0, nothing on stderr: {err!r}")
    C.check(took < 1, f"the server does not hold up exit: {took:.3f} s")
    C.check(not os.path.exists(v.socket), "socket removed at exit")
    if LIB:  # tier arenas need the library's malloc
        check_tiered()
    check_lifecycle()
    cleanup(d)
    return C.summary()


if __name__ == "__main__":
    sys.exit(main())
