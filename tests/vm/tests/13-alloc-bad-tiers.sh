#!/bin/sh
# TIERMALLOC_TIERS naming a node that does not exist: one warning line, and
# the program works on the tiers that do.
# vm-timeout: 30
set -eu
. tests/vm/testlib.sh
line=$(TIERMALLOC_TIERS="0;7" LD_PRELOAD=$LIB $PROBE 16 64 2>/tmp/err)
echo "probe: $line"; cat /tmp/err
[ "$(wc -l < /tmp/err)" = 1 ] || fail "want exactly one stderr line"
grep -q "TIERMALLOC_TIERS=0;7: node 7 has no memory or does not exist" /tmp/err || fail "warning text"
[ "$(field failed "$line")" = 0 ] || fail "allocations failed"
[ "$(field tiers "$line")" = 1 ] || fail "want one tier"
