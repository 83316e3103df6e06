"""tierstat's command line. Errors are one line on stderr and exit 1."""
import argparse
import json
import sys
import time

from . import client, render

USAGE = """\
tierstat                              list processes serving stats
tierstat PID [--json]                 stats of a process
tierstat -w PID [-i SECS]             refresh every SECS seconds, like top
tierstat heat PID [--json]            pages by heat, per tier
tierstat sites PID [-n N] [--json]    top allocation sites
tierstat config PID [--json]          TIERMALLOC_* variables
tierstat set PID NAME VALUE           change a live variable
tierstat record PID -o FILE.csv [-i SECS] [-d SECS]
tierstat plot FILE.csv -o FILE.png
Options: --dir DIR (default $TIERMALLOC_STATS_DIR or /tmp/tiermalloc-UID)"""

COMMANDS = ("heat", "sites", "config", "set", "record", "plot")


def positive(text):
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def parser_for(command):
    p = argparse.ArgumentParser(prog=f"tierstat {command or ''}".strip(),
                                usage=USAGE if not command else None)
    p.add_argument("--dir", help="directory of the stats sockets")
    if command in (None, "heat", "sites", "config"):
        p.add_argument("--json", action="store_true", help="raw JSON reply")
    if command == "plot":
        p.add_argument("csv")
        p.add_argument("-o", "--output", required=True, help="PNG to write")
        return p
    p.add_argument("pid", type=int, nargs="?" if command is None else None)
    if command is None:
        p.add_argument("-w", "--watch", action="store_true",
                       help="refresh until Ctrl-C")
    if command in (None, "record"):
        p.add_argument("-i", "--interval", type=positive, default=1.0,
                       help="seconds between samples (default 1)")
    if command == "record":
        p.add_argument("-o", "--output", required=True, help="CSV to write")
        p.add_argument("-d", "--duration", type=positive,
                       help="seconds to record (default: until Ctrl-C)")
    if command == "sites":
        p.add_argument("-n", type=int, default=20, help="sites per list")
    if command == "set":
        p.add_argument("name")
        p.add_argument("value")
    return p


def show(reply, as_json, text):
    print(json.dumps(reply, indent=2) if as_json else text(reply))


def list_processes(args):
    processes, removed = client.live_processes(args.dir)
    if processes:
        print(render.process_list(processes))
    else:
        print(f"no process serves stats in {client.stats_dir(args.dir)}")
    if removed:
        print(f"removed {removed} socket(s) of processes that are gone")


def watch(args):
    try:
        while True:
            stats = client.ask(args.pid, "stats", args.dir)
            sys.stdout.write("\033[H\033[2J")  # home, clear: like top
            print(render.stats_text(stats))
            print(f"\nevery {args.interval:g} s; Ctrl-C to quit "
                  f"({time.strftime('%H:%M:%S')})", flush=True)
            time.sleep(args.interval)
    except KeyboardInterrupt:
        print()


def record(args):
    from . import record as rec
    n = rec.record(args.pid, args.output, args.interval, args.duration, args.dir)
    print(f"{n} samples of process {args.pid} in {args.output}")


def plot(args):
    from . import plot as plt
    try:
        plt.plot(args.csv, args.output)
    except ImportError:
        raise client.TierstatError("plot needs matplotlib (Debian: "
                                   "python3-matplotlib)") from None
    except (OSError, ValueError, KeyError) as e:
        raise client.TierstatError(f"cannot plot {args.csv}: {e}") from None
    print(f"wrote {args.output}")


def run(command, args):
    if command == "plot":
        return plot(args)
    if command is None and args.pid is None:
        return list_processes(args)
    if command is None and args.watch:
        return watch(args)
    if command == "record":
        return record(args)
    if command == "set":
        r = client.ask(args.pid, f"set {args.name} {args.value}", args.dir)
        return print(f"{r['name']}={r['value']}")
    request = {None: "stats", "heat": "heat", "config": "config",
               "sites": f"sites {getattr(args, 'n', 20)}"}[command]
    text = {None: render.stats_text, "heat": render.heat_text,
            "sites": render.sites_text, "config": render.config_text}[command]
    show(client.ask(args.pid, request, args.dir), args.json, text)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    command = argv[0] if argv and argv[0] in COMMANDS else None
    args = parser_for(command).parse_args(argv[1:] if command else argv)
    try:
        run(command, args)
    except client.TierstatError as e:
        print(f"tierstat: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    return 0
