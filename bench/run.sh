#!/bin/sh
# Entry point of `make bench` / `make bench-quick`: make sure the compared
# allocators and programs are installed, then run the comparison with
# Debian's own python3 (a pyenv or venv python3 earlier on PATH would be a
# different interpreter, with a different malloc use, for the python row).
set -eu
here=$(dirname "$0")
"$here/deps.sh"
exec /usr/bin/python3 "$here/compare.py" "$@"
