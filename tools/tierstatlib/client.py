"""Finding processes that serve stats and asking them things.

Each process running with libtiermalloc.so serves a Unix socket
<dir>/<pid>.sock, dir being $TIERMALLOC_STATS_DIR or /tmp/tiermalloc-<uid>;
requests and replies are lines (a JSON object per reply)."""
import json
import os
import socket

PROTOCOL_VERSION = 1
TIMEOUT_S = 5.0
REPLY_LIMIT = 8 << 20


class TierstatError(Exception):
    """A failure to report in one line, with a non-zero exit."""


def stats_dir(override=None):
    return (override or os.environ.get("TIERMALLOC_STATS_DIR") or
            f"/tmp/tiermalloc-{os.geteuid()}")


def socket_path(pid, directory):
    return os.path.join(directory, f"{pid}.sock")


def process_uid(pid):
    """The effective uid of a live process, or None if there is none."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Uid:"):
                    return int(line.split()[2])
    except (FileNotFoundError, ProcessLookupError):
        return None
    except PermissionError:
        return -1
    return None


def command_of(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return "?"


def explain_missing(pid, directory):
    """Why pid has no socket we can talk to, as an exception to raise."""
    uid = process_uid(pid)
    if uid is None:
        return TierstatError(f"no process {pid}")
    if uid != os.geteuid():
        return TierstatError(
            f"process {pid} belongs to uid {uid}, not to you (uid "
            f"{os.geteuid()}); it serves its own user only")
    return TierstatError(
        f"process {pid} serves no stats in {directory} (not running with "
        "libtiermalloc.so, TIERMALLOC_STATS=0, or not started yet)")


class Connection:
    """One connection to a process's stats socket; several requests may go
    over it, one at a time."""

    def __init__(self, pid, directory=None):
        self.pid = pid
        self.directory = stats_dir(directory)
        path = socket_path(pid, self.directory)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(TIMEOUT_S)
        try:
            self.sock.connect(path)
        except FileNotFoundError:
            self.sock.close()
            raise explain_missing(pid, self.directory) from None
        except ConnectionRefusedError:
            self.sock.close()
            remove_stale(path)
            raise explain_missing(pid, self.directory) from None
        except PermissionError:
            self.sock.close()
            raise TierstatError(f"permission denied on {path}: it belongs "
                                "to another user") from None
        except socket.timeout:
            self.sock.close()
            raise TierstatError(f"process {pid} did not accept a connection "
                                f"within {TIMEOUT_S:g} s") from None
        self.buffer = b""

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _line(self):
        while b"\n" not in self.buffer:
            if len(self.buffer) > REPLY_LIMIT:
                raise self._garbled(self.buffer)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise TierstatError(f"process {self.pid} did not answer within "
                                    f"{TIMEOUT_S:g} s") from None
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                raise TierstatError(f"process {self.pid} closed the connection "
                                    "without a reply")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line

    def _garbled(self, data):
        text = data[:60].decode(errors="replace")
        return TierstatError(f"garbled reply from process {self.pid}: {text!r}")

    def request(self, line):
        """Send one request; its reply as a dict. A reply with an error
        raises it."""
        try:
            self.sock.sendall(line.encode() + b"\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # turned away before the request went out: its reply says why
        except OSError as e:
            raise TierstatError(f"process {self.pid}: {e.strerror}") from None
        raw = self._line()
        try:
            reply = json.loads(raw)
        except ValueError:
            raise self._garbled(raw) from None
        if not isinstance(reply, dict) or not isinstance(reply.get("version"), int):
            raise self._garbled(raw)
        if reply["version"] > PROTOCOL_VERSION:
            raise TierstatError(
                f"process {self.pid} speaks stats protocol version "
                f"{reply['version']}; this tierstat knows {PROTOCOL_VERSION}")
        if "error" in reply:
            raise TierstatError(f"process {self.pid}: {reply['error']}")
        return reply


def ask(pid, line, directory=None):
    with Connection(pid, directory) as c:
        return c.request(line)


def remove_stale(path):
    try:
        os.unlink(path)
        return True
    except OSError:
        return False


def live_processes(directory=None):
    """(pid, stats reply or None) of every process with a socket in the
    directory; sockets of dead processes, or that nobody listens on, are
    removed. Returns (processes, number removed)."""
    directory = stats_dir(directory)
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return [], 0
    found, removed = [], 0
    for name in names:
        pid_text = name[:-5] if name.endswith(".sock") else ""
        if not pid_text.isdigit():
            continue
        pid = int(pid_text)
        path = os.path.join(directory, name)
        if process_uid(pid) is None:
            removed += remove_stale(path)
            continue
        try:
            found.append((pid, ask(pid, "stats", directory)))
        except TierstatError:
            if not os.path.exists(path):  # it was stale: ask removed it
                removed += 1
            else:
                found.append((pid, None))
    return found, removed
