"""What the numbers were measured on: kernel, CPUs, memory, package
versions, and the tiermalloc commit."""
import os
import platform
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
        "machine: %d CPUs (%s), %.1f GiB RAM, kernel %s" % (
            os.cpu_count() or 0, cpu_model(), mem_total_gib(),
            platform.release()),
        "transparent hugepages: %s" % read(
            "/sys/kernel/mm/transparent_hugepage/enabled"),
        "load average at start: %s" % " ".join(read("/proc/loadavg").split()[:3]),
        "tiermalloc: %s" % git_commit(root),
        "packages: " + ", ".join(package_versions()),
    ]
