#!/usr/bin/env bash
#
# GUPS with a hot set on a two-tier machine (the QEMU guest: make bench-gups),
# side by side in one run, all with the same fast-memory quota (1/4 of the
# table):
#   dram-first  tiermalloc, first touch, no migration (TIERMALLOC_HEAT=none)
#   ratio       tiermalloc, 1:3 fast:slow, no migration
#   heat        tiermalloc's heat policy: heat tracking and the migrator
#   kernel      no tiermalloc; the kernel's own tiering (numa_balancing=2,
#               demotion_enabled) with the fast node filled but for the
#               quota by an mlocked balloon
# then the overhead: an allocation-heavy loop with heat tracking off and on
# (its slowdown, and the migrator's CPU share).
#
#   bench/gups/gups.sh [--check] [--heat SOURCE] [--quick] [--test]
#
# --check fails (exit 1) unless the heat policy reaches 0.9 of the oracle in
# every phase and cold memory ends up on the slow node. --heat forces a
# source (default auto). Needs root for the kernel run (skipped otherwise).
# --quick: 12 intervals a phase instead of 20. --test (the guest test
# 50-heat-gups): 16 intervals, no kernel run, one overhead round instead of
# two; about a third of the full run's time. Each part says how long it took.
set -uo pipefail

GUPS=build/bench/gups/gups
# shellcheck source=bench/gups/kernel_tiering.sh
. "$(dirname "$0")/kernel_tiering.sh"
LIB=build/libtiermalloc.so
MIB=64
HOT=8
QUOTA=$((MIB / 4))
INTERVALS=20
SCAN_MS=500
heat=auto
check=()
ROUNDS=2
KERNEL=true
while (($#)); do
	case $1 in
	--check) check=(--expect 0.9 --cold-slow 0.9) ;;
	--heat) heat=$2 && shift ;;
	--quick) INTERVALS=12 ;;
	--test) INTERVALS=16 ROUNDS=1 KERNEL=false ;;
	*) echo "usage: $0 [--check] [--heat SOURCE] [--quick] [--test]" >&2 && exit 2 ;;
	esac
	shift
done
COMMON=(--mib $MIB --hot-mib $HOT --quota-mib $QUOTA --interval-ms $SCAN_MS)
# In the QEMU guest (software emulation), give every configuration the TLB
# turnover real hardware has (see gups.c): without it accessed bits cleared
# by DAMON or the kernel's LRU aging are never set again.
[[ ${TM_VM-} ]] && COMMON+=(--tlb-flush-ms 5)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
failed=0

# took SINCE: "(N s)", the time since SINCE (a $SECONDS value).
took() { echo "($((SECONDS - $1)) s)"; }

# tm LABEL INTERVALS ENV... -- GUPS-ARGS...: gups under tiermalloc.
tm() {
	local label=$1 intervals=$2 envs=() start=$SECONDS
	shift 2
	while [[ $1 != -- ]]; do envs+=("$1") && shift; done
	shift
	env TIERMALLOC_DRAM_LIMIT=${QUOTA}M TIERMALLOC_SCAN_MS=$SCAN_MS \
		TIERMALLOC_VERBOSE=1 TIERMALLOC_STATS=0 "${envs[@]}" LD_PRELOAD=$LIB \
		$GUPS "${COMMON[@]}" --label "$label" --intervals "$intervals" "$@" \
		>"$out/$label" 2>"$out/$label.err" || failed=1
	((intervals > 2)) && grep -h ' interval ' "$out/$label"
	grep -h 'phase [0-9]:\|summary\|alloc:' "$out/$label"
	echo "gups: $label took $(took "$start")"
}

# The kernel's own tiering with the same quota (kernel_tiering.sh).
kernel_run() {
	local start=$SECONDS
	with_kernel_tiering $QUOTA "$out/balloon" \
		$GUPS "${COMMON[@]}" --label kernel --intervals $INTERVALS >"$out/kernel" 2>&1
	grep -h ' interval \|phase [0-9]:\|summary\|skipped' "$out/kernel"
	grep -h 'pgpromote_success\|pgdemote_kswapd' /proc/vmstat | tr '\n' ' ' | sed 's/^/gups: kernel vmstat: /'
	echo
	echo "gups: kernel took $(took "$start")"
}

echo "== GUPS: ${MIB} MiB table, ${HOT} MiB hot set (90% of updates), quota ${QUOTA} MiB, ${SCAN_MS} ms intervals${TM_VM:+, emulated TLB turnover every 5 ms}"
tm dram-first 2 TIERMALLOC_POLICY=dram-first TIERMALLOC_HEAT=none --
tm ratio 2 TIERMALLOC_POLICY=ratio TIERMALLOC_RATIO=1:3 TIERMALLOC_HEAT=none --
tm heat $INTERVALS TIERMALLOC_POLICY=heat TIERMALLOC_HEAT=$heat -- "${check[@]}"
source=$(sed -n 's/^tiermalloc: heat source \([a-z]*\): in use$/\1/p' "$out/heat.err")
echo "gups: heat: heat source ${source:-none}"
grep -h 'warning' "$out/heat.err"
if $KERNEL; then kernel_run; else echo "gups: kernel: not run (--test)"; fi

echo "== side by side (share of accesses on the fast node / oracle's, per phase)"
printf '%-11s %-22s %-22s %-9s %s\n' config "phase 0 end (to 0.9)" "phase 1 end (to 0.9)" fast_MiB Mups
for c in dram-first ratio heat kernel; do
	[[ -s $out/$c ]] && grep -q interval "$out/$c" || continue
	awk -v c="$c" '
		/ interval / { fast = $14; sum += $16; n++ }
		/ phase [0-9]:/ { p = $4 + 0; end[p] = $5;
			to[p] = /reached/ ? $(NF - 1) : "-" }
		END { printf "%-11s %-22s %-22s %-9s %.2f\n", c,
			end[0] " (" to[0] ")", end[1] " (" to[1] ")", fast, sum / n }' "$out/$c"
done

echo "== overhead: allocation-heavy loop, heat tracking off vs on (heat policy; best of $ROUNDS each, alternated)"
for round in $(seq $ROUNDS); do
	tm alloc-off-$round 1 TIERMALLOC_POLICY=heat TIERMALLOC_HEAT=none -- --alloc
	tm alloc-on-$round 1 TIERMALLOC_POLICY=heat TIERMALLOC_HEAT=$heat -- --alloc
done
best() { for r in $(seq $ROUNDS); do cat "$out/alloc-$1-$r"; done | awk '/alloc:/ && (min == "" || $8 < min) {min = $8} END {print min}'; }
awk -v a="$(best off)" -v b="$(best on)" 'BEGIN { if (a > 0 && b > 0)
	printf "gups: alloc: %.3f s off, %.3f s on: slowdown with heat tracking %.1f%%\n", a, b, (b / a - 1) * 100 }'
exit $failed
