#!/usr/bin/env bash
#
# Tiering side by side (issue 6), run INSIDE the two-tier guest (kmem mode;
# make bench-tiering boots it): fast-tier access share over time for two
# workloads, at DRAM:footprint ratios 1:2, 1:4 and 1:8 (fast-memory quota =
# footprint / 2, / 4, / 8), for
#   first-touch   tiermalloc dram-first, no migration (TIERMALLOC_HEAT=none)
#   tm-ratio      tiermalloc ratio 1:N-1, no migration
#   tm-threshold  tiermalloc threshold (TIERMALLOC_THRESHOLD, 64 KiB), no
#                 migration: every block of a workload has one size (1 MiB
#                 chunks, 1 KiB values), so all of them go to the slow tier
#                 or all are placed as by first touch
#   tm-heat       tiermalloc's heat policy (heat source auto: DAMON + uffd here)
#   kernel        no tiermalloc; numa_balancing=2 and demotion_enabled, the
#                 quota enforced by an mlocked balloon on node 0 that tracks
#                 the process's memory there (kernel_tiering.sh, as gups.sh)
#   libmemtier    memkind's libmemtier, STATIC_RATIO DRAM 1 : KMEM_DAX N-1
#
# Workloads (bench/gups/gups.c, one phase, 500 ms intervals, TLB flushed
# every 5 ms under emulation):
#   gups   64 MiB table, 90% of updates to an 8 MiB hot set
#   kv     64 MiB of 1 KiB values, one malloc each, Zipf(0.99) keys
#
#   bench/gups/tiering.sh [--out DIR] [--intervals N] [--static-intervals N]
#                         [--runs N] [--report]
#
# The configurations that migrate (tm-heat, kernel) run --runs times (3):
# the table gives the median final share and the range; static placements
# are the same every run and run once.
#
# --report only remakes DIR/tiering.md from DIR/tiering.csv (runs nothing).
#
# Writes DIR/tiering.csv (config,workload,ratio,interval,share,oracle,
# rel = share / oracle, fast_mib = the data's MiB on node 0, oracle_held =
# the best share for fast_mib, proc_mib = all the process's anonymous MiB on
# node 0, run) and DIR/tiering.md (the tables), and prints them. DIR defaults to
# $TM_VM_RESULTS, else build/bench/tiering. Needs root for the kernel run.
set -uo pipefail

GUPS=build/bench/gups/gups
# shellcheck source=bench/gups/kernel_tiering.sh
. "$(dirname "$0")/kernel_tiering.sh"
LIB=build/libtiermalloc.so
MEMTIER=$(ls /usr/lib/x86_64-linux-gnu/libmemtier.so.0 /usr/lib/*/libmemtier.so.0 2>/dev/null | head -1)
MIB=64
SCAN_MS=500
INTERVALS=20
STATIC=4
RUNS=3
RATIOS=(2 4 8)
WORKLOADS=(gups kv)
CONFIGS=(first-touch tm-ratio tm-threshold tm-heat kernel libmemtier)
out=${TM_VM_RESULTS:-build/bench/tiering}
report=0
while (($#)); do
	case $1 in
	--out) out=$2 && shift ;;
	--intervals) INTERVALS=$2 && shift ;;
	--static-intervals) STATIC=$2 && shift ;;
	--runs) RUNS=$2 && shift ;;
	--report) report=1 ;;
	*) echo "usage: $0 [--out DIR] [--intervals N] [--static-intervals N] [--runs N] [--report]" >&2 && exit 2 ;;
	esac
	shift
done
mkdir -p "$out/tiering-logs"
logs=$out/tiering-logs
csv=$out/tiering.csv
((report)) || echo "config,workload,ratio,interval,share,oracle,rel,fast_mib,oracle_held,proc_mib,run" >"$csv"
FLUSH=()
[[ ${TM_VM-} ]] && FLUSH=(--tlb-flush-ms 5)

wl_args() { # WORKLOAD QUOTA
	case $1 in
	gups) echo --mib $MIB --hot-mib 8 --quota-mib $2 ;;
	kv) echo --mib $MIB --zipf 0.99 --value-b 1024 --quota-mib $2 ;;
	esac
}

# collect CONFIG WORKLOAD N RUN LOG: interval lines into the CSV.
collect() {
	awk -v c="$1" -v w="$2" -v n="$3" -v r="$4" '/^gups: .* interval / {
		printf "%s,%s,1:%s,%s,%s,%s,%s,%s,%s,%s,%s\n", c, w, n, $4, $8, $10, $12, $14, $22, $24, r }' "$5" >>"$csv"
}

# run CONFIG WORKLOAD N RUN: one run of a configuration, its log in $logs.
run() {
	local c=$1 w=$2 n=$3 r=$4 quota=$((MIB / $3)) log=$logs/$1-$2-1:$3-$4.log
	local args=($(wl_args "$w" "$quota") --interval-ms $SCAN_MS --phases 1 "${FLUSH[@]}" --label "$c/$w/1:$n")
	local tm=(env TIERMALLOC_DRAM_LIMIT=${quota}M TIERMALLOC_SCAN_MS=$SCAN_MS
		TIERMALLOC_VERBOSE=1 TIERMALLOC_STATS=0)
	case $c in
	first-touch) "${tm[@]}" TIERMALLOC_POLICY=dram-first TIERMALLOC_HEAT=none \
		LD_PRELOAD=$LIB $GUPS "${args[@]}" --intervals $STATIC >"$log" 2>&1 ;;
	tm-ratio) "${tm[@]}" TIERMALLOC_POLICY=ratio TIERMALLOC_RATIO=1:$((n - 1)) \
		TIERMALLOC_HEAT=none LD_PRELOAD=$LIB $GUPS "${args[@]}" --intervals $STATIC >"$log" 2>&1 ;;
	tm-threshold) "${tm[@]}" TIERMALLOC_POLICY=threshold TIERMALLOC_HEAT=none \
		LD_PRELOAD=$LIB $GUPS "${args[@]}" --intervals $STATIC >"$log" 2>&1 ;;
	tm-heat) "${tm[@]}" TIERMALLOC_POLICY=heat LD_PRELOAD=$LIB $GUPS "${args[@]}" \
		--intervals $INTERVALS >"$log" 2>&1 ;;
	libmemtier)
		if [[ -z $MEMTIER ]]; then
			echo "libmemtier.so.0 not found" >"$log"
		else
			MEMKIND_MEM_TIERS="KIND:DRAM,RATIO:1;KIND:KMEM_DAX,RATIO:$((n - 1));POLICY:STATIC_RATIO" \
				LD_PRELOAD=$MEMTIER $GUPS "${args[@]}" --intervals $STATIC >"$log" 2>&1
		fi ;;
	kernel) kernel_run "$quota" "${args[@]}" --intervals $INTERVALS >"$log" 2>&1 ;;
	esac
	echo "rc $?" >>"$log"
	collect "$c" "$w" "$n" "$r" "$log"
	# (libmemtier loses buffered stdout at exit: judge by the interval lines)
	grep -aq ' interval ' "$log" && { grep -ah 'phase 0:' "$log" || grep -a ' interval ' "$log" | tail -1; } || echo "tiering: $c/$w/1:$n: no result: $(grep -av '^rc ' "$log" | grep -am2 -i 'error\|fail\|not\|warn' | tr '\n' ' ')"
}

# kernel_run QUOTA GUPS-ARGS...: the kernel's own tiering with the quota
# (kernel_tiering.sh).
kernel_run() {
	local quota=$1
	shift
	with_kernel_tiering "$quota" "$logs/balloon" "$GUPS" "$@"
}

echo "== tiering: ${MIB} MiB footprint, ratios ${RATIOS[*]/#/1:}, workloads ${WORKLOADS[*]}, ${SCAN_MS} ms intervals${TM_VM:+, TLB flushed every 5 ms}, mode ${TM_VM_MODE:-host}"
# One configuration at a time, and the kernel's runs in one block within
# which numa_balancing stays on: each switch patches kernel text (static
# keys), which once crashed the emulated guest (an int3 Oops in the
# scheduler) when done for every run.
run_all() { # CONFIG
	local n w r runs=1
	[[ $1 == tm-heat || $1 == kernel ]] && runs=$RUNS
	for n in "${RATIOS[@]}"; do
		for w in "${WORKLOADS[@]}"; do
			for ((r = 1; r <= runs; r++)); do
				run "$1" "$w" "$n" "$r"
			done
		done
	done
}
for c in "${CONFIGS[@]}"; do
	((report)) && break
	if [[ $c == kernel ]]; then
		with_numa_balancing_on run_all "$c"
	else
		run_all "$c"
	fi
done

# table AWK-PROGRAM EMPTY: a configuration x (workload, ratio) table whose
# cells the awk program makes from the CSV rows of that cell (c, w, n set).
table() {
	local c n w cell
	echo "| configuration |$(for n in "${RATIOS[@]}"; do for w in "${WORKLOADS[@]}"; do printf ' %s 1:%s |' "$w" "$n"; done; done)"
	echo "|---|$(for n in "${RATIOS[@]}"; do for w in "${WORKLOADS[@]}"; do printf -- '---|'; done; done)"
	for c in "${CONFIGS[@]}"; do
		printf '| %s |' "$c"
		for n in "${RATIOS[@]}"; do
			for w in "${WORKLOADS[@]}"; do
				cell=$(awk -F, -v c="$c" -v w="$w" -v n="1:$n" "$1" "$csv")
				printf ' %s |' "${cell:-$2}"
			done
		done
		echo
	done
}

# median(a, n): the median of a[1..n] (sorted in place).
MEDIAN='function median(a, n,   i, j, t) {
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}'

# The tables: final share relative to the oracle, the median of the runs
# with their range and the median interval that reached 0.9; then the fast
# memory held at the end, the mean over the runs.
{
	table "$MEDIAN"'
		$1 == c && $2 == w && $3 == n { last[$11] = $7; k[$11]++
			if (!($11 in to) && $7 >= 0.9) to[$11] = $4 }
		END {
			for (r in last) { runs++; fin[runs] = last[r]; at[runs] = (r in to) ? to[r] : 1e9; len = k[r] }
			if (!runs) exit
			lo = hi = fin[1]
			for (i = 1; i <= runs; i++) { lo = fin[i] < lo ? fin[i] : lo; hi = fin[i] > hi ? fin[i] : hi }
			t = median(at, runs)
			printf "%.2f", median(fin, runs)
			if (runs > 1) printf " [%.2f-%.2f]", lo, hi
			printf " (%s)", t < 1e9 ? t : "not in " len
		}' "no run"
	echo
	echo "Medians of $RUNS runs for tm-heat and kernel, [range]; one run for the static placements."
	echo
	echo "Fast-tier MiB at the end: the data's / the whole process's (the quota is 64/N MiB;"
	echo "the process's includes the workload's own tables and, for the allocators, their"
	echo "metadata; the kernel's is held to the quota by a balloon that tracks it), and in"
	echo "brackets the data's share relative to the best placement of the data's fast memory:"
	echo
	table '$1 == c && $2 == w && $3 == n { f[$11] = $8; s[$11] = $5; h[$11] = $9; p[$11] = $10 }
		END {
			for (r in f) { runs++; F += f[r]; P += p[r]; R += h[r] > 0 ? s[r] / h[r] : 0 }
			if (runs) printf "%.1f / %.1f (%.2f)", F / runs, P / runs, R / runs
		}' "-"
} >"$out/tiering.md"
cat "$out/tiering.md"
# Why runs without a result failed, in one line each.
for f in "$logs"/*.log; do
	grep -aq ' interval ' "$f" && continue
	echo "tiering: $(basename "$f" .log): $(grep -av '^rc ' "$f" | sort -u | head -3 | tr '\n' ' ')"
done | tee "$out/tiering-failures.txt"
grep -h 'heat source .*: in use' "$logs"/tm-heat-*.log | sort | uniq -c
exit 0
