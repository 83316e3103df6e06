"""Who may reach the stats socket: only the process's own user. Directories
that are not ours, not private or not directories stop the server with one
warning; another uid is kept out by the directory and, should it get
through, by SO_PEERCRED. Needs root (setpriv, chown)."""
import os
import shutil
import stat
import subprocess
import sys

from harness import (LIB, NOBODY, VICTIM, Checks, Victim, ask, cleanup,
                     scratch_dir)

C = Checks("security")
NOBODY_UID = 65534

# Run as nobody: connect, send stats, print the reply and whether the
# server then closed (a reset too: it closed without reading the request),
# or the error's name.
CLIENT = r"""
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
    try:
        s.sendall(b"stats\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # turned away before the request went out: read why
    print(s.recv(65536).decode().strip())
    try:
        print("closed" if s.recv(1) == b"" else "open")
    except ConnectionResetError:
        print("closed")
except OSError as e:
    print(type(e).__name__)
"""


def as_nobody_client(path):
    out = subprocess.run(NOBODY + [sys.executable, "-c", CLIENT, path],
                         capture_output=True, text=True, timeout=20)
    return out.stdout.splitlines()


def refused(name, make_dir, words):
    """The server must not start in the directory make_dir gives, and must
    say why in exactly one line."""
    base = scratch_dir()
    target = make_dir(base)
    v = Victim(target, env={"VICTIM_WAIT_MS": "300"})
    code, err = v.finish()
    lines = err.splitlines()
    C.check(not v.ready and code == 0, f"{name}: no server, program fine")
    C.check(len(lines) == 1 and lines[0].startswith("tiermalloc: warning: stats:")
            and words in lines[0], f"{name}: one warning with '{words}': {lines}")
    sockets = [f for _, _, fs in os.walk(base) for f in fs if f.endswith(".sock")]
    C.check(sockets == [], f"{name}: no socket made: {sockets}")
    cleanup(base)


def foreign_owner(base):
    d = os.path.join(base, "theirs")
    os.mkdir(d, 0o700)
    os.chown(d, NOBODY_UID, NOBODY_UID)
    return d


def symlink_to_ours(base):
    real, link = os.path.join(base, "real"), os.path.join(base, "link")
    os.mkdir(real, 0o700)
    os.symlink(real, link)
    return link


def open_to_others(base):
    d = os.path.join(base, "open")
    os.mkdir(d)
    os.chmod(d, 0o755)
    return d


def plain_file(base):
    f = os.path.join(base, "file")
    open(f, "w").close()
    return f


def check_refused_directories():
    refused("owned by nobody", foreign_owner, "belongs to uid 65534")
    refused("symlink", symlink_to_ours, "is a symlink")
    refused("mode 0755", open_to_others, "open to other users")
    refused("a file", plain_file, "is not a directory")
    refused("path too long", lambda base: os.path.join(base, "d" * 120),
            "too long")


def check_other_uid_client():
    d = scratch_dir()
    v = Victim(d)
    st_dir, st_sock = os.stat(d), os.stat(v.socket)
    C.check(stat.S_IMODE(st_dir.st_mode) == 0o700 and
            st_dir.st_uid == os.geteuid(), "directory 0700 and ours")
    C.check(stat.S_ISSOCK(st_sock.st_mode) and
            stat.S_IMODE(st_sock.st_mode) == 0o600, "socket 0600")
    C.check(as_nobody_client(v.socket) == ["PermissionError"],
            "nobody cannot reach the socket through the directory")
    # Open a way in on purpose (a hard link in an open directory, the
    # socket's mode widened) to show SO_PEERCRED refuses all the same.
    open_dir = scratch_dir(0o755)
    link = os.path.join(open_dir, "peer.sock")
    os.link(v.socket, link)
    os.chmod(link, 0o666)
    out = as_nobody_client(link)
    os.chmod(v.socket, 0o600)
    C.check(len(out) == 2 and '"error":"refused' in out[0] and out[1] == "closed",
            f"through the hole, nobody is refused by SO_PEERCRED: {out}")
    C.check(ask(v.socket, "stats")["server"]["refused_other_user"] == 1,
            "and the server counted it")
    code, err = v.finish()
    C.check(code == 0 and err == "", f"the program did not notice: {err!r}")
    cleanup(d, open_dir)


def check_root_client_of_nobody():
    """A server running as nobody refuses root: same uid only, no
    exceptions."""
    tools = scratch_dir(0o755)
    victim, lib = os.path.join(tools, "victim"), os.path.join(tools, "lib.so")
    shutil.copy(VICTIM, victim)
    shutil.copy(LIB, lib)
    for f in (victim, lib):
        os.chmod(f, 0o755)
    d = f"/tmp/tmstats-nobody-{os.getpid()}"
    v = Victim(d, prefix=NOBODY, program=victim, env={"LD_PRELOAD": lib})
    C.check(v.ready, "a server of nobody's starts")
    st = os.stat(d)
    C.check(st.st_uid == NOBODY_UID and stat.S_IMODE(st.st_mode) == 0o700,
            "in a directory nobody made, 0700")
    r = ask(v.socket, "stats")
    C.check("refused" in r.get("error", ""), f"root is refused: {r}")
    v.finish()
    cleanup(d, tools)


def main():
    if os.geteuid() != 0:
        print("security tests need root (setpriv, chown): skipped")
        print("stats-security: 0 passed, 0 failed")
        return 0
    check_refused_directories()
    check_other_uid_client()
    check_root_client_of_nobody()
    return C.summary()


if __name__ == "__main__":
    sys.exit(main())
