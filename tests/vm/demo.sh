#!/usr/bin/env bash
#
# make demo: runs inside the two-tier guest (tests/vm/run-guest.sh).
#
# A GUPS-style program updates a 64 MiB table at random, 90% of the updates
# going to an 8 MiB hot set, under libtiermalloc with a DRAM quota of 16 MiB.
# First touch alone (dram-first) fills DRAM with whatever came first; the heat
# policy measures heat and moves the hot set up and the rest down, and again
# when the hot set moves. Tiering quality is the share of accesses that hit
# node 0, computed from where the kernel says each page is (move_pages), not
# from wall time: the emulated slow node is not actually slower. The program
# flushes its TLB every 5 ms, which the accessed bits that DAMON samples
# need under QEMU's software emulation (bench/gups/tlb_turnover.h).
set -euo pipefail

readonly LIB=$PWD/build/libtiermalloc.so
readonly GUPS=$PWD/build/bench/gups/gups
readonly TIERSTAT=$PWD/tools/tierstat
readonly OUT=${TM_VM_RESULTS:-/tmp}/demo
readonly GUPS_ARGS=(--mib 64 --hot-mib 8 --quota-mib 16 --interval-ms 500 --tlb-flush-ms 5)

banner() { printf '\n== %s\n' "$*"; }

show_machine() {
	banner "the machine (${TM_VM_MODE:-?} mode): node 0 = CPUs + DRAM, node 1 = CPU-less slow memory"
	numactl -H | grep -E '^node [0-9]+ (cpus|size)'
	for tier in /sys/devices/virtual/memory_tiering/memory_tier*; do
		echo "kernel $(basename "$tier"): nodes $(cat "$tier/nodelist")"
	done
	TIERMALLOC_VERBOSE=1 LD_PRELOAD=$LIB /bin/true 2>&1 | sed 's/^tiermalloc: /tiermalloc found: /'
}

# share LABEL FILE: the per-interval fast-tier share as a compact table.
share_table() {
	awk -v label="$1" '$3 == "interval" {
		printf "  %-10s phase %s  t=%4.1fs  hit share %.2f of an ideal %.2f  (%4.1f MiB on DRAM)\n",
			label, $6, $4 * 0.5, $8, $10, $14 }' "$2"
}

first_touch() {
	banner "first touch only (TIERMALLOC_POLICY=dram-first, no migration)"
	TIERMALLOC_POLICY=dram-first TIERMALLOC_HEAT=none TIERMALLOC_DRAM_LIMIT=16M \
		LD_PRELOAD=$LIB "$GUPS" "${GUPS_ARGS[@]}" --label first-touch \
		--intervals 3 --phases 1 >"$OUT/first-touch.out"
	share_table first-touch "$OUT/first-touch.out"
}

wait_for_socket() {
	local sock=/tmp/tiermalloc-$(id -u)/$1.sock i
	for ((i = 0; i < 100; i++)); do
		[[ -S $sock ]] && return 0
		sleep 0.1
	done
	echo "no stats socket for pid $1" >&2
	return 1
}

heat_run() {
	banner "heat policy (default): heat measured, hot pages promoted, cold demoted"
	TIERMALLOC_DRAM_LIMIT=16M TIERMALLOC_SCAN_MS=500 LD_PRELOAD=$LIB \
		"$GUPS" "${GUPS_ARGS[@]}" --label heat --intervals 20 --phases 2 \
		>"$OUT/heat.out" &
	local pid=$!
	wait_for_socket "$pid"
	"$TIERSTAT" record "$pid" -o "$OUT/heat.csv" -i 0.5 &
	local recorder=$!
	until grep -q 'phase 0:' "$OUT/heat.out"; do sleep 0.2; done
	banner "where the memory is after the first phase (tierstat $pid)"
	"$TIERSTAT" "$pid" || true
	wait "$pid"
	wait "$recorder" || true
	share_table heat "$OUT/heat.out"
	grep -E 'phase [0-9]:|summary|heat source' "$OUT/heat.out" | sed 's/^gups: heat/ /'
	if "$TIERSTAT" plot "$OUT/heat.csv" -o "$OUT/heat.png" 2>/dev/null; then
		echo "  tier occupancy and migration over time: $OUT/heat.png"
	fi
}

mkdir -p "$OUT"
show_machine
first_touch
heat_run
