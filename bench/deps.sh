#!/bin/sh
# Install the Debian packages the benchmark compares against or runs, when
# missing. Needs root (as on the project's machines); otherwise it says what
# is missing and carries on: the runner skips what is not there, by name.
set -u

PKGS="libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4 libmemkind0
      python3 sqlite3 redis-server redis-tools xz-utils"

missing=""
for p in $PKGS; do
	dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "bench: missing packages:$missing (not root: not installing)" >&2
	exit 0
fi
echo "bench: installing$missing" >&2
# The package lists may be stale or absent on a fresh machine: update once
# and retry before giving up. (The runner starts its own redis-server on a
# private port, so a system instance that the package may start is harmless.)
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q $missing >/dev/null 2>&1 ||
	{ apt-get update -q >/dev/null 2>&1 && apt-get install -y -q $missing >/dev/null; } ||
	echo "bench: apt-get install failed for:$missing" >&2
exit 0
