"""The allocators compared, and checks that each one is really preloaded.

LD_PRELOAD of a missing or wrong-architecture library is not an error for
ld.so: it prints a warning and runs the program with glibc malloc, which
would silently turn a column into a second glibc column. So a library only
gets a column after a preloaded process shows it in its own memory map.
"""
import os
import subprocess
from dataclasses import dataclass, field

LIBDIRS = ("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib",
           "/usr/local/lib")

# memkind's libmemtier with one DRAM tier: on a one-node machine it runs as
# memkind's default kind (jemalloc underneath), which is what users of
# memtier get there. Syntax from memtier(7).
MEMTIER_ENV = {"MEMKIND_MEM_TIERS": "KIND:DRAM,RATIO:1;POLICY:STATIC_RATIO"}

TIERMALLOC_POLICIES = ("dram-first", "ratio", "threshold")


@dataclass
class Allocator:
    name: str
    lib: str = ""                    # "" = no preload (glibc malloc)
    env: dict = field(default_factory=dict)
    package: str = ""                # Debian package that ships lib


@dataclass
class Discovery:
    usable: list
    skipped: list                    # (name, reason): not installed/built
    broken: list                     # (name, reason): present but not working


def find_lib(*names):
    for d in LIBDIRS:
        for n in names:
            p = os.path.join(d, n)
            if os.path.exists(p):
                return p
    return ""


def system_allocators():
    return [
        Allocator("glibc"),
        Allocator("jemalloc", find_lib("libjemalloc.so.2"), {}, "libjemalloc2"),
        Allocator("mimalloc", find_lib("libmimalloc.so.2"), {},
                  "libmimalloc2.0"),
        Allocator("tcmalloc", find_lib("libtcmalloc_minimal.so.4"), {},
                  "libtcmalloc-minimal4"),
        Allocator("memtier", find_lib("libmemtier.so.0", "libmemtier.so"),
                  dict(MEMTIER_ENV), "libmemkind0"),
    ]


# A two-node tree (DRAM and a CPU-less node) for TIERMALLOC_SYSFS: on a
# one-node host it puts tiermalloc on its tiered path, which every malloc of
# every program takes on a machine with a slow tier.
FAKE_TWO_NODES = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                              "..", "..", "tests", "unit", "sysfs", "kmem")


def tiermalloc_allocators(lib):
    """tiermalloc with the policy unset, then one row per policy value, then
    tiered on the fake two-node tree."""
    rows = [Allocator("tiermalloc", lib)]
    rows += [Allocator("tiermalloc:" + p, lib, {"TIERMALLOC_POLICY": p})
             for p in TIERMALLOC_POLICIES]
    rows.append(Allocator("tiermalloc (tiered)", lib,
                          {"TIERMALLOC_SYSFS": os.path.normpath(FAKE_TWO_NODES)}))
    return rows


def parse_extra(spec):
    """--extra 'NAME=LIB [VAR=VALUE]...': an ad-hoc row, e.g. to try a
    jemalloc option before proposing it for tiermalloc:
      --extra 'je-thp=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 MALLOC_CONF=thp:always'
    """
    words = spec.split()
    if not words or "=" not in words[0]:
        raise ValueError("--extra wants 'NAME=LIB [VAR=VALUE]...': %r" % spec)
    name, lib = words[0].split("=", 1)
    env = dict(w.split("=", 1) for w in words[1:] if "=" in w)
    return Allocator(name, os.path.abspath(lib), env, "(--extra)")


def child_env(alloc):
    env = dict(alloc.env)
    if alloc.lib:
        env["LD_PRELOAD"] = alloc.lib
    return env


def spawn_args(spawn, env, argv):
    cmd = [spawn]
    for k, v in env.items():
        cmd += ["--env", "%s=%s" % (k, v)]
    return cmd + ["--"] + argv


# Print the process's own memory map with shell builtins only: coreutils
# cat allocates its buffer with aligned_alloc, which some preload libraries
# (memkind's libmemtier) do not interpose, and the check must not fail on
# that (the workloads will show such gaps).
SHOW_MAPS = ["/bin/sh", "-c", "while IFS= read -r l; do echo \"$l\"; done"
             " </proc/self/maps"]


def probe(spawn, alloc, argv):
    """Run argv under alloc; returns (exit code, stdout, stderr)."""
    cmd = spawn_args(spawn, child_env(alloc), argv)
    # tm-spawn's own report goes to /dev/null so stderr is the program's.
    cmd = [cmd[0], "--result", "/dev/null"] + cmd[1:]
    p = subprocess.run(cmd,
                       capture_output=True, text=True, timeout=60,
                       env=clean_env())
    return p.returncode, p.stdout, p.stderr


def one_line(text):
    """Last lines of a program's stderr, fit for one table cell or bullet."""
    return " / ".join(text.strip().splitlines()[-2:])[-240:]


def verify(spawn, alloc):
    """None if alloc's library is mapped into a preloaded process and
    /bin/true runs cleanly under it; else the reason it is not."""
    if not alloc.lib:
        return None
    real = os.path.realpath(alloc.lib)
    rc, out, err = probe(spawn, alloc, SHOW_MAPS)
    if "cannot be preloaded" in err or "wrong ELF class" in err:
        return "ld.so refused it: " + err.strip().splitlines()[-1]
    if rc != 0:
        return "sh under preload exited %d: %s" % (rc, one_line(err))
    if real not in out:
        return "not in the preloaded process's memory map"
    rc, _, err = probe(spawn, alloc, ["/bin/true"])
    if rc != 0:
        return "/bin/true under preload exited %d: %s" % (rc, one_line(err))
    return None


def policy_known(spawn, alloc, baseline_err):
    """A policy value 'exists' when the library accepts it silently while it
    complains about a bogus value (so we know it reads the variable)."""
    bogus = Allocator(alloc.name, alloc.lib,
                      {"TIERMALLOC_POLICY": "no-such-policy"})
    _, _, bogus_err = probe(spawn, bogus, ["/bin/true"])
    if bogus_err.strip() == baseline_err.strip():
        return False, "library does not read TIERMALLOC_POLICY yet"
    _, _, err = probe(spawn, alloc, ["/bin/true"])
    if err.strip() != baseline_err.strip():
        return False, "library rejects it: " + one_line(err)
    return True, ""


def clean_env():
    """The runner's environment minus anything that would change malloc
    behaviour behind the table's back."""
    prefixes = ("LD_PRELOAD", "MALLOC_", "GLIBC_TUNABLES", "TIERMALLOC_",
                "MEMKIND_", "MIMALLOC_", "TCMALLOC_", "JE_MALLOC_CONF",
                "MALLOC_CONF")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


def check(spawn, alloc):
    """None if alloc can run, else ("skipped" | "broken", reason)."""
    if not alloc.lib:
        return None
    if not os.path.exists(alloc.lib):
        if alloc.name.startswith("tiermalloc"):
            return "skipped", "%s not built (run make)" % alloc.lib
        if alloc.package == "(--extra)":
            return "broken", "%s: no such file" % alloc.lib
        return "skipped", "not installed (apt-get install %s)" % alloc.package
    plain = Allocator(alloc.name, alloc.lib, {
        k: v for k, v in alloc.env.items() if k != "TIERMALLOC_POLICY"})
    why = verify(spawn, plain)
    if why:
        return "broken", why
    if "TIERMALLOC_POLICY" in alloc.env:
        ok, why = policy_known(spawn, alloc, probe(spawn, plain,
                                                   ["/bin/true"])[2])
        if not ok:
            return "skipped", why
    return None


def discover(spawn, tiermalloc_lib, wanted=None, extra=()):
    """Allocators to run: installed, built, and proven to preload."""
    found = Discovery([], [], [])
    for a in (system_allocators() + tiermalloc_allocators(tiermalloc_lib)
              + list(extra)):
        if wanted and a.name not in wanted and a.package != "(--extra)":
            continue
        problem = check(spawn, a)
        if problem is None:
            found.usable.append(a)
        elif problem[0] == "skipped":
            found.skipped.append((a.name, problem[1]))
        else:
            found.broken.append((a.name, problem[1]))
    return found
