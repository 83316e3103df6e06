"""Replies as text a person reads: tables with units."""

UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def size(n):
    if n is None:
        return "-"
    value, unit = float(n), 0
    while abs(value) >= 1024 and unit < len(UNITS) - 1:
        value /= 1024
        unit += 1
    return f"{int(value)} B" if unit == 0 else f"{value:.1f} {UNITS[unit]}"


def number(n):
    return "-" if n is None else f"{n:,}"


def table(header, rows):
    """Left-aligned columns, as wide as their widest cell."""
    cells = [header] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip()
                     for row in cells)


def unavailable(part):
    """The reason a part of a reply is missing, or None if it is there."""
    return part.get("unavailable") if isinstance(part, dict) else None


def heap_of(tier):
    heap = tier.get("heap")
    return heap if heap and not unavailable(heap) else {}


def slow_bytes(stats):
    """Allocated bytes on the slow tiers, or None with one tier."""
    tiers = stats.get("tiers", [])
    if not stats.get("mode", {}).get("tiered"):
        return None
    return sum(heap_of(t).get("allocated", 0) for t in tiers[1:])


def heat_source_name(stats):
    hs = stats.get("heat_source", {})
    return "-" if unavailable(hs) else hs.get("name", "-")


def process_list(processes):
    rows = []
    for pid, stats in processes:
        if stats is None:
            rows.append([pid, "?", "?", "?", "?", "(no answer)"])
            continue
        tiers = stats.get("tiers", [])
        rows.append([pid, stats["process"]["command"],
                     size(heap_of(tiers[0]).get("allocated")) if tiers else "-",
                     size(slow_bytes(stats)), heat_source_name(stats),
                     "tiered" if stats["mode"]["tiered"] else "one tier"])
    return table(["PID", "COMMAND", "DRAM", "SLOW", "HEAT", "MODE"], rows)


def tier_rows(stats):
    rows = []
    for t in stats["tiers"]:
        heap = heap_of(t)
        lat = t.get("latency_ns")
        bw = t.get("bandwidth_mbs")
        rows.append([t["tier"], t["name"], t["nodes"], t.get("kind") or "-",
                     size(t.get("capacity")), size(t.get("free")),
                     size(heap.get("allocated")), size(heap.get("resident")),
                     number(t.get("allocations")),
                     f"{lat} ns" if lat else "-", f"{bw} MB/s" if bw else "-"])
    return table(["TIER", "NAME", "NODES", "KIND", "CAPACITY", "FREE",
                  "ALLOCATED", "RESIDENT", "ALLOCS", "LATENCY", "BANDWIDTH"],
                 rows)


def per_node_lines(stats):
    lines = []
    for t in stats["tiers"]:
        pn = t.get("per_node")
        if pn is None:
            continue
        if unavailable(pn):
            lines.append(f"  tier {t['tier']}: {pn['unavailable']}")
            continue
        nodes = ", ".join(f"node {n['node']} {size(n['resident'])}"
                          for n in pn["nodes"]) or "nothing resident"
        how = pn["method"]
        if "sampled_pages" in pn:
            how += f", {pn['sampled_pages']} pages sampled"
        lines.append(f"  tier {t['tier']}: {nodes} ({how})")
    return lines


def tracking_lines(wt):
    """Write tracking's windows and faults, and who paid between periods."""
    if not wt:
        return []
    lift = wt.get("lift_ns_per_1000_pages")
    lift = f"{lift / 1000:.3f} us a page" if lift else "not measured yet"
    return [f"  write tracking: {wt['windows']} windows a period; faults "
            f"{number(wt['faults_in_windows'])} in windows, "
            f"{number(wt['faults_between_periods'])} between periods; "
            f"{wt['between_periods']} (lifting costs {lift})"]


def pace_lines(hs):
    """How often heat is measured, and why: placement has settled, or a
    measurement costs more than a period may spend on it."""
    every = hs.get("measured_every_periods", 1)
    cost, budget = hs.get("last_measurement_ns", 0), hs.get("measurement_budget_ns", 0)
    dear = (f"a measurement costs {cost / 1e6:.1f} ms, {budget / 1e6:.1f} ms "
            f"a period allowed" if budget and cost > budget else "")
    if every > 1:
        return [f"  measured every {every} periods: {dear or 'placement has settled'}"]
    return [f"  {dear}; measured every period while pages move"] if dear else []


def probe_lines(rp):
    """DAMON's single-page probes for reads, and what they found."""
    if not rp:
        return []
    return [f"  read probes: {number(rp['checked'])} pages checked one by one, "
            f"{number(rp['found_read'])} found read"]


def policy_lines(stats):
    lines = []
    hs, mig = stats.get("heat_source", {}), stats.get("migration", {})
    if unavailable(hs):
        lines.append(f"heat source: unavailable ({hs['unavailable']})")
    else:
        lines.append(f"heat source: {hs['name']}, {hs.get('why', '')}")
        lines += pace_lines(hs)
        for note in hs.get("notes", []):
            lines.append(f"  {note['name']}: {note['note']}")
        lines += tracking_lines(hs.get("write_tracking"))
        lines += probe_lines(hs.get("read_probes"))
        for other in hs.get("not_used", []):
            lines.append(f"  not {other['name']}: {other['why']}")
    if unavailable(mig):
        lines.append(f"migration: unavailable ({mig['unavailable']})")
    else:
        fails = ", ".join(f"{f['reason']} {f['pages']}"
                          for f in mig.get("failures", []) if f["pages"])
        lines.append(
            f"migration: promoted {number(mig['promoted']['pages'])} pages "
            f"({size(mig['promoted']['bytes'])}), demoted "
            f"{number(mig['demoted']['pages'])} pages "
            f"({size(mig['demoted']['bytes'])}); failed: {fails or 'none'}; "
            f"migrator CPU {mig.get('migrator_cpu_s', 0):.2f} s")
        if "swap_margin" in mig:
            lines.append(
                f"  swaps must win by heat {mig['swap_margin']}; "
                f"{number(mig['undone_pages'])} pages went down soon after "
                f"coming up")
    return lines


def stats_text(stats):
    p, mode = stats["process"], stats["mode"]
    head = (f"pid {p['pid']} ({p['command']}), uid {p['uid']}, up "
            f"{p['uptime_s']:.1f} s, " +
            ("tiered" if mode["tiered"] else mode.get("why", "one tier")) +
            f"; tiers from {mode['tiers_from']}")
    q, fb, srv = stats["dram_quota"], stats["fallbacks"], stats["server"]
    quota = (f"DRAM quota: {q['limit']} = {size(q['bytes'])}, used "
             f"{size(q['used'])}" +
             ("" if q["enforced"] else " (not enforced: one tier)"))
    full = ", ".join(str(n) for n in fb.get("tier_full", [])) or "-"
    lines = [head, "", tier_rows(stats), "", "resident per node:"]
    lines += per_node_lines(stats)
    lines += [quota,
              f"fallbacks: {fb['dram_quota']} for the DRAM quota, tier full: "
              f"{full}"]
    lines += policy_lines(stats)
    lines.append(
        f"stats server: {srv['clients']} clients, {srv['requests']} requests, "
        f"{srv['bad_requests']} bad, {srv['timeouts']} timed out, refused "
        f"{srv['refused_other_user']} (other user) {srv['refused_busy']} "
        f"(busy), CPU {srv['cpu_s']:.2f} s")
    return "\n".join(lines)


def heat_text(reply):
    if unavailable(reply):
        return f"heat: unavailable ({reply['unavailable']})"
    upper = reply["upper"]
    header = ["TIER"] + [f"<={u:g}" if u is not None else "more"
                         for u in upper]
    rows = [[t["tier"]] + [number(n) for n in t["pages"]]
            for t in reply["tiers"]]
    return (f"pages by heat ({reply['unit']}):\n" + table(header, rows))


def site_rows(sites):
    rows = []
    for s in sites:
        where = s.get("symbol") or (
            f"{s['object']}+{s['object_offset']}" if s.get("object") else "?")
        tier = "-" if s.get("tier") is None else s["tier"]
        rows.append([s["site"], where, size(s["bytes"]), s.get("heat", "-"),
                     tier])
    return table(["SITE", "WHERE", "BYTES", "HEAT", "TIER"], rows)


def sites_text(reply):
    if unavailable(reply):
        return f"sites: unavailable ({reply['unavailable']})"
    return ("top sites by bytes:\n" + site_rows(reply["by_bytes"]) +
            "\n\ntop sites by heat:\n" + site_rows(reply["by_heat"]))


def config_text(reply):
    rows = [[v["name"], v["value"] or '""', v["source"], "yes" if v["live"] else ""]
            for v in reply["variables"]]
    return table(["VARIABLE", "VALUE", "FROM", "LIVE"], rows)
