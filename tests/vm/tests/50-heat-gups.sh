#!/bin/bash
# GUPS with a hot set (bench/gups/gups.sh --check --test), table 64 MiB, hot
# set 8 MiB, DRAM quota 16 MiB: the heat policy reaches 0.9 of the oracle's
# fast-tier access share within 16 periods (measured from page locations),
# again after the hot set moves, and the cold memory ends up on node 1.
# Printed side by side: dram-first, ratio and heat (with its heat source);
# then the overhead (migrator CPU share, slowdown of an allocation-heavy
# loop), one round. The kernel's own tiering, a comparison rather than a
# test, is left to make bench-gups: it took ~25 s of the guest's time.
# vm-timeout: 120
# Not in cxl mode: page-location shares do not depend on the slow node's
# speed, and there every configuration runs 3-10x longer (beyond the limit);
# make bench-cxl measures what cxl mode adds: throughput.
# vm-modes: hmat kmem
set -u
[[ -x build/bench/gups/gups ]] || { echo "build/bench/gups/gups is not built"; exit 1; }
exec bench/gups/gups.sh --check --test
