#!/usr/bin/env bash
#
# make bench-cxl: GUPS hot-set throughput in the cxl guest (tests/vm,
# run-guest.sh --mode cxl), where the slow node is really slower, so
# throughput depends on placement. Runs in the guest.
#
# A 128 MiB table of 256 KiB chunks, a 16 MiB hot set taking 90% of the
# updates, DRAM:footprint 1:R for each R in BENCH_CXL_RATIOS (default 4),
# under:
#   dram         glibc, no quota: everything on node 0 (the upper bound)
#   oracle       glibc, the best static placement with the quota, made before
#                first touch (gups --oracle): hot chunks on node 0
#   first-touch  tiermalloc dram-first under the quota, no heat, no moves
#   tm-heat      tiermalloc's heat policy under the quota
#   tm-ratio     tiermalloc's ratio policy, 1:(R-1), no moves
# Each configuration BENCH_CXL_RUNS times (default 3), the configurations
# taking turns so that the host's load spreads over all of them. Throughput
# is the mean of the per-interval update rates over the last STEADY intervals
# (the steady state; the first ones include heat's warm-up).
#
# Writes $TM_VM_RESULTS/cxl-runs.txt (one line per run) and cxl.md (the table:
# median and range of each configuration, its ratio to the oracle and to
# all-in-DRAM, and the page share of the oracle's as a diagnostic).
set -euo pipefail

readonly GUPS=build/bench/gups/gups
readonly LIB=$PWD/build/libtiermalloc.so
readonly OUT=${TM_VM_RESULTS:-/tmp}
readonly MIB=128 HOT=16 CHUNK=256
readonly INTERVAL_MS=500 INTERVALS=40 STEADY=20
readonly CONFIGS=(dram oracle first-touch tm-heat tm-ratio)
ratios=${BENCH_CXL_RATIOS:-4}
runs=${BENCH_CXL_RUNS:-3}

# run_config CONFIG R: one gups run; prints its interval lines.
run_config() {
	local config=$1 r=$2 quota=$((MIB / $2)) tm=()
	local args=(--mib "$MIB" --hot-mib "$HOT" --chunk-kib "$CHUNK" --quota-mib "$quota"
		--interval-ms "$INTERVAL_MS" --intervals "$INTERVALS" --phases 1
		--tlb-flush-ms 5 --label "$config")
	# The TLB flush every 5 ms (all configurations alike) gives DAMON's
	# accessed bits the turnover real hardware has (tlb_turnover.h).
	case $config in
	dram) ;;
	oracle) args+=(--oracle 1) ;;
	first-touch) tm=(TIERMALLOC_POLICY=dram-first TIERMALLOC_HEAT=none) ;;
	tm-heat) tm=(TIERMALLOC_POLICY=heat) ;;
	tm-ratio) tm=(TIERMALLOC_POLICY=ratio TIERMALLOC_RATIO=1:$((r - 1)) TIERMALLOC_HEAT=none) ;;
	esac
	if ((${#tm[@]})); then
		env TIERMALLOC_DRAM_LIMIT=${quota}M TIERMALLOC_SCAN_MS=$INTERVAL_MS \
			TIERMALLOC_STATS=0 "${tm[@]}" LD_PRELOAD="$LIB" "$GUPS" "${args[@]}"
	else
		"$GUPS" "${args[@]}"
	fi
}

# steady R CONFIG RUN: "R CONFIG RUN Mops share/oracle" from interval lines
# on stdin: the mean rate of the last STEADY intervals, the last share.
steady() {
	awk -v r="$1" -v c="$2" -v run="$3" -v n=$STEADY '
		$3 == "interval" { m[++k] = $16; s = $12 }
		END { for (i = k - n + 1; i <= k; i++) sum += m[i]
			printf "%s %s %s %.3f %.3f\n", r, c, run, sum / n, s }'
}

# table: the markdown table of cxl-runs.txt.
table() {
	echo "| 1:R | placement | Mups/s median (range) | / oracle | / all in DRAM | page share / oracle |"
	echo "|---|---|---|---|---|---|"
	sort -k1,1n -k2,2 -k4,4g "$OUT/cxl-runs.txt" | awk '
		function flush() { if (!n) return
			med[r, c] = v[int((n + 1) / 2)]; lo[r, c] = v[1]; hi[r, c] = v[n]
			sh[r, c] = s[int((n + 1) / 2)]; n = 0 }
		{ if ($1 != r || $2 != c) { flush(); r = $1; c = $2; if (!(r in seen)) { seen[r]; rs[++nr] = r } }
			v[++n] = $4; s[n] = $5 }
		END { flush(); split("dram oracle first-touch tm-heat tm-ratio", cs)
			for (i = 1; i <= nr; i++) for (j = 1; j <= 5; j++) {
				r = rs[i]; c = cs[j]; if (!((r, c) in med)) continue
				printf "| 1:%s | %s | %.3f (%.3f-%.3f) | %.2f | %.2f | %.2f |\n", r, c,
					med[r, c], lo[r, c], hi[r, c], med[r, c] / med[r, "oracle"],
					med[r, c] / med[r, "dram"], sh[r, c] } }'
}

main() {
	local r run config
	: >"$OUT/cxl-runs.txt"
	for r in $ratios; do
		for ((run = 1; run <= runs; run++)); do
			for config in "${CONFIGS[@]}"; do
				run_config "$config" "$r" | tee "$OUT/cxl-$r-$config-$run.out" |
					steady "$r" "$config" "$run" | tee -a "$OUT/cxl-runs.txt"
			done
		done
	done
	{
		echo "GUPS hot set in the cxl guest: ${MIB} MiB table of ${CHUNK} KiB chunks, ${HOT} MiB hot"
		echo "(90% of the updates), ${INTERVALS} intervals of ${INTERVAL_MS} ms, throughput over the last"
		echo "$STEADY; $runs runs each, median and range; $(date -u +%Y-%m-%d)."
		echo
		table
	} >"$OUT/cxl.md"
	cat "$OUT/cxl.md"
}

main "$@"
