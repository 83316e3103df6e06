#!/usr/bin/env bash
# Install the Debian packages tiermalloc needs that are not installed yet:
# tools/packages.txt plus every tests/*/packages.txt (or the lists given as
# arguments). Fast when nothing is missing, so every make goal may call it.
set -euo pipefail
cd "$(dirname "$0")/.."

lists=("$@")
[ ${#lists[@]} -gt 0 ] || lists=(tools/packages.txt tests/*/packages.txt)

wanted() {
	cat "${lists[@]}" 2>/dev/null | sed 's/#.*//' | tr -s ' \t' '\n' | grep -v '^$' | sort -u
}

missing() {
	local pkg
	for pkg in $(wanted); do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' ||
			echo "$pkg"
	done
}

todo=$(missing)
[ -n "$todo" ] || exit 0
echo "installing: $todo"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: need root to install these Debian packages: $todo" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086 # one word per package
apt-get install -y -qq --no-install-recommends $todo >/dev/null
