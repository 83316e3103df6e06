"""What the numbers were measured on: kernel, CPUs, memory, package
versions, and the tiermalloc commit."""
import os
import platform
import time
import subprocess

PACKAGES = ("libc6", "libjemalloc2", "libmimalloc2.0", "libtcmalloc-minimal4",
            "libmemkind0", "python3", "sqlite3", "redis-server", "redis-tools",
            "xz-utils", "gcc")


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def mem_total_gib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / (1 << 20)
    return 0.0


def read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return "n/a"


def package_versions():
    out = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Package} ${Version}\\n"] + list(PACKAGES),
        capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line.strip()]


def git_commit(root):
    def git(*args):
        return subprocess.run(["git", "-C", root] + list(args),
                              capture_output=True, text=True).stdout.strip()
    head = git("rev-parse", "--short", "HEAD") or "no commit"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return head + (" + uncommitted changes" if dirty else "")


def describe(root):
    """Lines for the report header."""
    return [
        "date: %s" % time.strftime("%Y-%m-%d %H:%M %Z"),
        "machine: %d CPUs (%s), %.1f GiB RAM, kernel %s" % (
            os.cpu_count() or 0, cpu_model(), mem_total_gib(),
            platform.release()),
        "transparent hugepages: %s" % read(
            "/sys/kernel/mm/transparent_hugepage/enabled"),
        "load average at start: %s" % " ".join(read("/proc/loadavg").split()[:3]),
        "tiermalloc: %s" % git_commit(root),
        "packages: " + ", ".join(package_versions()),
    ]


def _busy_seconds():
    """Machine-wide non-idle CPU seconds (all CPUs) and steal, /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    user, nice, system, idle, iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq) / hz, steal / hz


def _own_seconds():
    import resource
    s = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


class CpuWatch:
    """How much CPU other processes (and the hypervisor: steal) took while
    the suite ran. On a 2-core VM shared with builds and QEMU guests this
    decides whether the numbers mean anything, so the report states it."""

    def __init__(self):
        self.t0 = time.monotonic()
        self.busy0, self.steal0 = _busy_seconds()
        self.own0 = _own_seconds()

    def others_fraction(self):
        """(others' share of all CPUs, steal share), both 0..1."""
        elapsed = (time.monotonic() - self.t0) * (os.cpu_count() or 1)
        busy, steal = _busy_seconds()
        others = (busy - self.busy0) - (_own_seconds() - self.own0)
        return max(others, 0.0) / elapsed, (steal - self.steal0) / elapsed
