#!/usr/bin/env bash
#
# make bench-cxl: throughput by placement in the cxl guest (tests/vm,
# run-guest.sh --mode cxl), where the slow node is really slower, so
# throughput depends on placement. Runs in the guest.
#
# Workloads (BENCH_CXL_WORKLOADS, default "gups kv"), each with a popularity
# shift halfway (phase 1):
#   gups  a 128 MiB table of 256 KiB chunks, a 16 MiB hot set taking 90% of
#         the updates; the hot set moves at the shift
#   kv    128 MiB of 1 KiB values, one malloc each, Zipf(0.99) keys shuffled
#         against allocation order, 10% of the accesses writes (the rest
#         reads); the popularity is shuffled again at the shift
# at DRAM:footprint 1:R for each R in BENCH_CXL_RATIOS (default 4), under:
#   dram         glibc, no quota: everything on node 0 (the upper bound)
#   oracle       glibc, the best static placement with the quota for phase 0,
#                made before the first interval (gups --oracle)
#   first-touch  tiermalloc dram-first under the quota, no heat, no moves
#   tm-heat      tiermalloc's heat policy under the quota
#   tm-ratio     tiermalloc's ratio policy, 1:(R-1), no moves
#   libmemtier   memkind's libmemtier, STATIC_RATIO DRAM 1 : KMEM_DAX R-1
# The kernel's own tiering is not run here: demotion can put program text
# on the CXL node, which ends QEMU (README, "The two-tier test guest").
# Each configuration BENCH_CXL_RUNS times (default 3), the configurations
# taking turns so that the host's load spreads over all of them.
#
# Throughput of a phase is the mean of its per-interval rates over its last
# STEADY intervals. After the shift, "recovered" is the first interval of
# phase 1 from which tiermalloc heat's rate stays at 0.9 of its phase-0
# steady rate or more for 3 intervals (its periods are the intervals).
# The oracle's phase-0 placement is the reference for both phases: a
# static placement made for phase 1 would do as well there.
#
# Writes to $TM_VM_RESULTS: cxl-runs.txt (a line per run), cxl-intervals.csv
# (every interval's rate, for plots), cxl.md (the table: median and range,
# ratios to the oracle and to all-in-DRAM, periods to recover, and the page
# share of the oracle's as a diagnostic).
set -euo pipefail

readonly GUPS=build/bench/gups/gups
readonly LIB=$PWD/build/libtiermalloc.so
readonly OUT=${TM_VM_RESULTS:-/tmp}
MEMTIER=$(find /usr/lib -name libmemtier.so.0 2>/dev/null | head -1)
readonly MEMTIER
readonly MIB=128 INTERVAL_MS=500 INTERVALS=20 STEADY=8
readonly CONFIGS=(dram oracle first-touch tm-heat tm-ratio libmemtier)
workloads=${BENCH_CXL_WORKLOADS:-gups kv}
ratios=${BENCH_CXL_RATIOS:-4}
runs=${BENCH_CXL_RUNS:-3}

workload_args() { # WORKLOAD
	case $1 in
	gups) echo --hot-mib 16 --chunk-kib 256 ;;
	kv) echo --zipf 0.99 --value-b 1024 --write-share 0.1 ;;
	esac
}

# run_config WORKLOAD CONFIG R: one gups run; prints its output.
run_config() {
	local w=$1 config=$2 r=$3 quota=$((MIB / $3)) tm=() wl
	read -ra wl <<<"$(workload_args "$w")"
	local args=(--mib "$MIB" "${wl[@]}" --quota-mib "$quota"
		--interval-ms "$INTERVAL_MS" --intervals "$INTERVALS" --phases 2
		--tlb-flush-ms 5 --label "$config")
	# The TLB flush every 5 ms (all configurations alike) gives DAMON's
	# accessed bits the turnover real hardware has (tlb_turnover.h).
	case $config in
	dram) ;;
	oracle) args+=(--oracle 1) ;;
	first-touch) tm=(TIERMALLOC_POLICY=dram-first TIERMALLOC_HEAT=none) ;;
	tm-heat) tm=(TIERMALLOC_POLICY=heat) ;;
	tm-ratio) tm=(TIERMALLOC_POLICY=ratio TIERMALLOC_RATIO=1:$((r - 1)) TIERMALLOC_HEAT=none) ;;
	libmemtier)
		[[ $MEMTIER ]] || { echo "libmemtier.so.0 not found"; return; }
		MEMKIND_MEM_TIERS="KIND:DRAM,RATIO:1;KIND:KMEM_DAX,RATIO:$((r - 1));POLICY:STATIC_RATIO" \
			LD_PRELOAD=$MEMTIER "$GUPS" "${args[@]}"
		return ;;
	esac
	if ((${#tm[@]})); then
		env TIERMALLOC_DRAM_LIMIT=${quota}M TIERMALLOC_SCAN_MS=$INTERVAL_MS \
			TIERMALLOC_STATS=0 "${tm[@]}" LD_PRELOAD="$LIB" "$GUPS" "${args[@]}"
	else
		"$GUPS" "${args[@]}"
	fi
}

# steady W R CONFIG RUN: from the interval lines on stdin, "W R CONFIG RUN
# rate0 rate1 recovered share" (each phase's steady rate; the interval of
# phase 1 from which the rate held 0.9 of phase 0's, INTERVALS + 1 if none;
# the share of the oracle at the end of phase 0).
steady() {
	awk -v w="$1" -v r="$2" -v c="$3" -v run="$4" -v n=$STEADY -v k=$INTERVALS '
		$3 == "interval" { m[$6, $4] = $16; if ($6 == 0) s = $12 }
		END { if (!length(m)) exit
			for (p = 0; p < 2; p++) { sum[p] = 0
				for (i = k - n + 1; i <= k; i++) sum[p] += m[p, i] }
			rec = k + 1
			for (i = 1; i + 2 <= k && rec > k; i++)
				if (m[1, i] >= 0.9 * sum[0] / n && m[1, i + 1] >= 0.9 * sum[0] / n &&
				    m[1, i + 2] >= 0.9 * sum[0] / n) rec = i
			printf "%s %s %s %s %.3f %.3f %s %.3f\n", w, r, c, run, sum[0] / n, sum[1] / n, rec, s }'
}

# intervals W R CONFIG RUN: the interval lines on stdin as CSV rows.
intervals() {
	awk -v w="$1" -v r="$2" -v c="$3" -v run="$4" '
		$3 == "interval" { printf "%s,1:%s,%s,%s,%s,%s,%s\n", w, r, c, run, $6, $4, $16 }'
}

# table: the markdown table of cxl-runs.txt.
table() {
	echo "| workload | 1:R | placement | before the shift: Mops/s median (range) | / oracle | / all in DRAM | after the shift | / oracle | recovered after | page share / oracle |"
	echo "|---|---|---|---|---|---|---|---|---|---|"
	awk -v configs="${CONFIGS[*]}" -v k=$INTERVALS '
		function periods(x) { return x > k ? "not in " k : x }
		function median(key, col,   v, n, i, j, t) {
			n = split(vals[key, col], v, " ")
			for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) {
				t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
			lo = v[1]; hi = v[n]; return v[int((n + 1) / 2)] }
		{ key = $1 SUBSEP $2 SUBSEP $3; if (!(($1, $2) in seen)) { seen[$1, $2]; order[++groups] = $1 SUBSEP $2 }
		  for (col = 5; col <= 8; col++) vals[key, col] = vals[key, col] " " $col }
		END { nc = split(configs, cs, " ")
			for (g = 1; g <= groups; g++) { split(order[g], wr, SUBSEP)
				o = median(wr[1] SUBSEP wr[2] SUBSEP "oracle", 5)
				d = median(wr[1] SUBSEP wr[2] SUBSEP "dram", 5)
				for (j = 1; j <= nc; j++) { key = wr[1] SUBSEP wr[2] SUBSEP cs[j]
					if (!((key, 5) in vals)) continue
					b = median(key, 5); blo = lo; bhi = hi
					a = median(key, 6); alo = lo; ahi = hi
					rec = cs[j] == "tm-heat" ? periods(median(key, 7)) " (" periods(lo) "-" periods(hi) ")" : ""
					printf "| %s | 1:%s | %s | %.3f (%.3f-%.3f) | %.2f | %.2f | %.3f (%.3f-%.3f) | %.2f | %s | %.2f |\n",
						wr[1], wr[2], cs[j], b, blo, bhi, o ? b / o : 0, d ? b / d : 0,
						a, alo, ahi, o ? a / o : 0, rec, median(key, 8) } } }' "$OUT/cxl-runs.txt"
}

main() {
	local w r run config
	: >"$OUT/cxl-runs.txt"
	echo "workload,ratio,config,run,phase,interval,mops" >"$OUT/cxl-intervals.csv"
	for w in $workloads; do
		for r in $ratios; do
			for ((run = 1; run <= runs; run++)); do
				for config in "${CONFIGS[@]}"; do
					run_config "$w" "$config" "$r" >"$OUT/cxl-$w-$r-$config-$run.out" 2>&1 || true
					intervals "$w" "$r" "$config" "$run" <"$OUT/cxl-$w-$r-$config-$run.out" >>"$OUT/cxl-intervals.csv"
					steady "$w" "$r" "$config" "$run" <"$OUT/cxl-$w-$r-$config-$run.out" |
						tee -a "$OUT/cxl-runs.txt"
				done
			done
		done
	done
	{
		echo "cxl guest, ${MIB} MiB footprint; gups: 256 KiB chunks, 16 MiB hot set with 90% of"
		echo "the updates; kv: 1 KiB values, Zipf(0.99), 10% writes. Two phases of ${INTERVALS}"
		echo "intervals of ${INTERVAL_MS} ms, the popularity shifting between them; throughput"
		echo "over each phase's last $STEADY intervals; $runs runs each, median and range;"
		echo "$(date -u +%Y-%m-%d). Ratios are to the oracle's and all-in-DRAM's phase 0."
		echo
		table
	} >"$OUT/cxl.md"
	cat "$OUT/cxl.md"
}

main "$@"
