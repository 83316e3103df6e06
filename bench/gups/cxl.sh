#!/usr/bin/env bash
#
# make bench-cxl: throughput by placement in the cxl guest (tests/vm,
# run-guest.sh --mode cxl), where the slow node is really slower, so
# throughput depends on placement. Runs in the guest.
#
# Workloads (BENCH_CXL_WORKLOADS, default "gups kv redis"), each with a
# popularity shift halfway (phase 1):
#   gups   a 128 MiB table of 256 KiB chunks, a 16 MiB hot set taking 90% of
#          the updates; the hot set moves at the shift
#   kv     128 MiB of 1 KiB values, one malloc each, Zipf(0.99) keys shuffled
#          against allocation order, 10% of the accesses writes (the rest
#          reads); the popularity is shuffled again at the shift
#   redis  Debian's redis-server holding 118,000 keys of 1,000 B (128 MiB
#          with its per-key memory), driven over a Unix socket by our
#          client (redis_zipf.c): Zipf(0.99) keys, 90% GET / 10% SET, one
#          request in flight; ops/s and p50/p99 latency
# at DRAM:footprint 1:R for each R in BENCH_CXL_RATIOS (default 4; the
# quota is 128 MiB / R), under:
#   dram         no quota: everything on node 0 (the upper bound); gups's
#                table under glibc, kv's values under tiermalloc dram-first
#                without a quota (the allocator of every other kv row),
#                redis under its own jemalloc
#   oracle       the best static placement with the quota for phase 0:
#                gups and kv bind it themselves before the first interval
#                (gups --oracle; kv's values allocated by tiermalloc as for
#                dram, then moved); redis: tiermalloc dram-first with every
#                key loaded first and the values then loaded hottest first,
#                so the keys and the hottest values fill the quota
#   first-touch  tiermalloc dram-first under the quota, no heat, no moves
#   tm-heat      tiermalloc's heat policy under the quota
#   tm-ratio     tiermalloc's ratio policy, 1:(R-1), no moves
#   libmemtier   memkind's libmemtier, STATIC_RATIO DRAM 1 : KMEM_DAX R-1
#   interleave   the kernel's weighted interleave (6.9+), weights 1:(R-1),
#                on the data only (gups --interleave; kv under glibc, as
#                tiermalloc's arenas carry policies of their own); not for redis, where
#                only a process-wide policy could give it, and that would
#                put the server's code on the CXL node
# The kernel's own tiering is not run here: demotion can put program text
# on the CXL node, which ends QEMU (README, "The two-tier test guest").
# Each configuration BENCH_CXL_RUNS times (default 3), the configurations
# taking turns so that the host's load spreads over all of them. Under
# emulation accessed bits need TLB turnover (tlb_turnover.h): gups flushes
# its own TLB every 5 ms, and redis-server gets the same flusher preloaded,
# in every configuration alike.
#
# Throughput of a phase is the median of its per-interval rates over its
# last STEADY intervals (the host's stalls under emulation are outliers);
# latencies are the medians of the intervals' p50 and p99. A ratio to the
# oracle or to all-in-DRAM is taken within each run (a round of every
# configuration in turn), then the median over the runs: the host's speed
# drifts more between rounds than within one. After the shift, "recovered" is the first interval of
# phase 1 from which tiermalloc heat's rate stays at 0.9 of its phase-0
# steady rate or more for 3 intervals (its periods are the intervals).
# The oracle's phase-0 placement is the reference for both phases: a
# static placement made for phase 1 would do as well there.
#
# bench/gups/cxl.sh --report remakes cxl.md from the runs already in
# $TM_VM_RESULTS (runs nothing; for results put together from several runs).
#
# Writes to $TM_VM_RESULTS: cxl-runs.txt (a line per run), cxl-intervals.csv
# (every interval's rate, for plots), cxl.md (the tables: median and range,
# ratios to the oracle and to all-in-DRAM, periods to recover, the page
# share of the oracle's as a diagnostic, redis's latencies, and the runs
# that gave no result).
set -euo pipefail

readonly GUPS=build/bench/gups/gups
readonly REDIS_ZIPF=build/bench/gups/redis_zipf
readonly TURNOVER=$PWD/build/bench/gups/libtlb_turnover.so
readonly LIB=$PWD/build/libtiermalloc.so
readonly OUT=${TM_VM_RESULTS:-/tmp}
readonly WEIGHTS=/sys/kernel/mm/mempolicy/weighted_interleave
MEMTIER=$(find /usr/lib -name libmemtier.so.0 2>/dev/null | head -1)
readonly MEMTIER
readonly MIB=128 INTERVAL_MS=500 INTERVALS=20 STEADY=8
# redis-server holds about 1,125 B a key of 1,000 B (its used_memory): 128 MiB.
readonly REDIS_KEYS=118000
readonly CONFIGS=(dram oracle first-touch tm-heat tm-ratio libmemtier interleave)
workloads=${BENCH_CXL_WORKLOADS:-gups kv redis}
ratios=${BENCH_CXL_RATIOS:-4}
# BENCH_CXL_CONFIGS: a subset of CONFIGS to run (default all).
runs=${BENCH_CXL_RUNS:-3}

workload_args() {
	case $1 in
	gups) echo --hot-mib 16 --chunk-kib 256 ;;
	kv) echo --zipf 0.99 --value-b 1024 --write-share 0.1 ;;
	esac
}

# weights R: the kernel's weighted-interleave weights, node 0 1, node 1 R-1.
weights() {
	[[ -w $WEIGHTS/node0 && -w $WEIGHTS/node1 ]] || return 1
	echo 1 >"$WEIGHTS/node0" && echo $(($1 - 1)) >"$WEIGHTS/node1"
}

# placement W CONFIG R: sets penv (environment), preload (LD_PRELOAD) and
# pargs (the workload's own arguments) for CONFIG; when CONFIG cannot run
# W, says why on stdout and fails.
placement() {
	local w=$1 config=$2 r=$3
	local tm=("TIERMALLOC_DRAM_LIMIT=$((MIB / r))M" "TIERMALLOC_SCAN_MS=$INTERVAL_MS"
		TIERMALLOC_STATS=0)
	penv=() preload=$LIB pargs=()
	# kv's values are malloc'ed: its upper bounds use the allocator the
	# other rows use (under glibc, all in DRAM ran slower than tiermalloc's).
	local unbound=(TIERMALLOC_POLICY=dram-first TIERMALLOC_HEAT=none TIERMALLOC_STATS=0)
	case $config in
	dram) [[ $w == kv ]] && penv=("${unbound[@]}") || preload='' ;;
	oracle)
		if [[ $w == redis ]]; then
			penv=("${tm[@]}" TIERMALLOC_POLICY=dram-first TIERMALLOC_HEAT=none)
			pargs=(--hot-first)
		elif [[ $w == kv ]]; then
			penv=("${unbound[@]}") pargs=(--oracle 1)
		else
			preload='' pargs=(--oracle 1)
		fi ;;
	first-touch) penv=("${tm[@]}" TIERMALLOC_POLICY=dram-first TIERMALLOC_HEAT=none) ;;
	tm-heat) penv=("${tm[@]}" TIERMALLOC_POLICY=heat) ;;
	tm-ratio) penv=("${tm[@]}" TIERMALLOC_POLICY=ratio "TIERMALLOC_RATIO=1:$((r - 1))"
		TIERMALLOC_HEAT=none) ;;
	libmemtier)
		[[ $MEMTIER ]] || { echo "not run: libmemtier.so.0 not found"; return 1; }
		penv=("MEMKIND_MEM_TIERS=KIND:DRAM,RATIO:1;KIND:KMEM_DAX,RATIO:$((r - 1));POLICY:STATIC_RATIO")
		preload=$MEMTIER ;;
	interleave)
		[[ $w != redis ]] || { echo "not run: a process-wide policy would put the server's code on the CXL node"; return 1; }
		weights "$r" || { echo "not run: this kernel has no weighted interleave ($WEIGHTS)"; return 1; }
		preload='' pargs=(--interleave 1) ;;
	esac
}

# run_gups W CONFIG R: one gups run; prints its output.
run_gups() {
	local wl
	read -ra wl <<<"$(workload_args "$1")"
	env "${penv[@]}" ${preload:+LD_PRELOAD=$preload} "$GUPS" --mib "$MIB" "${wl[@]}" \
		--quota-mib $((MIB / $3)) --interval-ms "$INTERVAL_MS" --intervals "$INTERVALS" \
		--phases 2 --tlb-flush-ms 5 --label "$2" "${pargs[@]}"
}

# anon_pages_by_node PID: "N0=pages N1=pages" of the process's anonymous
# memory (numa_maps), for the log: whether all in DRAM was.
anon_pages_by_node() {
	awk '/anon=/ && !/file=/ { for (i = 1; i <= NF; i++) if ($i ~ /^N[0-9]+=/) {
		split($i, kv, "="); n[kv[1]] += kv[2] } }
		END { for (k in n) printf "%s=%d ", k, n[k] }' "/proc/$1/numa_maps"
}

# run_redis CONFIG: redis-server under the configuration, driven by our
# client; prints the client's output.
run_redis() {
	local sock=/tmp/bench-cxl-redis.sock server i rc=0
	rm -f "$sock"
	env "${penv[@]}" LD_PRELOAD="${preload:+$preload }$TURNOVER" TLB_TURNOVER_MS=5 \
		redis-server --port 0 --unixsocket "$sock" --save "" --appendonly no \
		--dir /tmp --loglevel warning &
	server=$!
	for ((i = 0; i < 300; i++)); do
		[[ -S $sock ]] && break
		sleep 0.1
	done
	"$REDIS_ZIPF" --socket "$sock" --keys $REDIS_KEYS --value-b 1000 --label "$1" \
		--interval-ms "$INTERVAL_MS" --intervals "$INTERVALS" --phases 2 "${pargs[@]}" || rc=$?
	echo "redis-server's anonymous pages by node: $(anon_pages_by_node "$server")"
	kill "$server"
	wait "$server" || true
	return $rc
}

# run_config W CONFIG R: one run; prints its output. Each starts with an
# empty page cache: what earlier runs read through 9p fills node 0 (512 MiB)
# and would push a later run's memory onto the CXL node.
run_config() {
	placement "$@" || return 0
	sync
	echo 3 >/proc/sys/vm/drop_caches
	if [[ $1 == redis ]]; then run_redis "$2"; else run_gups "$@"; fi
}

# steady W R CONFIG RUN: from the interval lines on stdin (gups's and
# redis_zipf's: "WHO: LABEL interval K phase P" then name-value pairs),
# "W R CONFIG RUN rate0 rate1 recovered share p50_0 p99_0 p50_1 p99_1":
# each phase's steady rate; the interval of phase 1 from which the rate
# held 0.9 of phase 0's (INTERVALS + 1 if none); the share of the oracle at
# the end of phase 0; each phase's steady p50 and p99 latency in us ("-"
# where the workload has none).
steady() {
	awk -v w="$1" -v r="$2" -v c="$3" -v run="$4" -v n=$STEADY -v k=$INTERVALS '
		function median(a, p,   v, i, j, t) {
			for (i = 1; i <= n; i++) v[i] = a[p, k - n + i] + 0
			for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) {
				t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
			return (v[int((n + 1) / 2)] + v[int(n / 2) + 1]) / 2 }
		function us(p, a) { return lat ? sprintf("%.0f", median(a, p)) : "-" }
		$3 == "interval" { for (i = 7; i < NF; i += 2) f[$i] = $(i + 1)
			p = $6; m[p, $4] = ("mups" in f) ? f["mups"] : f["mops"]
			if (p == 0 && ("ratio" in f)) s = f["ratio"]
			if ("p50_us" in f) { lat = 1; p50[p, $4] = f["p50_us"]; p99[p, $4] = f["p99_us"] }
			split("", f) }
		END { if (!length(m)) exit
			for (p = 0; p < 2; p++) rate[p] = median(m, p)
			rec = k + 1
			for (i = 1; i + 2 <= k && rec > k; i++)
				if (m[1, i] >= 0.9 * rate[0] && m[1, i + 1] >= 0.9 * rate[0] &&
				    m[1, i + 2] >= 0.9 * rate[0]) rec = i
			printf "%s %s %s %s %.6f %.6f %s %s %s %s %s %s\n", w, r, c, run, rate[0], rate[1],
				rec, s == "" ? "-" : s, us(0, p50), us(0, p99), us(1, p50), us(1, p99) }'
}

# intervals W R CONFIG RUN: the interval lines on stdin as CSV rows.
intervals() {
	awk -v w="$1" -v r="$2" -v c="$3" -v run="$4" '
		$3 == "interval" { for (i = 7; i < NF; i += 2) f[$i] = $(i + 1)
			printf "%s,1:%s,%s,%s,%s,%s,%s\n", w, r, c, run, $6, $4,
				("mups" in f) ? f["mups"] : f["mops"]; split("", f) }'
}

# shellcheck disable=SC2016 # awk's own $ fields
# TABLE_AWK: the medians of cxl-runs.txt, by workload, ratio and
# configuration, for the tables below.
readonly TABLE_AWK='
	function periods(x) { return x > k ? "not in " k : x }
	function median(key, col,   v, n, i, j, t) {
		n = split(vals[key, col], v, " ")
		for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) {
			t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
		lo = v[1]; hi = v[n]; return v[int((n + 1) / 2)] }
	function sorted_median(v, n,   i, j, t) {
		for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) {
			t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
		return n ? v[int((n + 1) / 2)] : 0 }
	# The median over the runs of key'"'"'s rate in col over ref'"'"'s phase-0
	# rate in the same run: runs are rounds of every configuration in
	# turn, so a ratio within one cancels the host'"'"'s drift between them.
	function ratio(key, ref, col,   v, n, r) {
		n = 0
		for (r = 1; r <= maxrun; r++)
			if ((key, col, r) in byrun && (ref, 5, r) in byrun && byrun[ref, 5, r] > 0)
				v[++n] = byrun[key, col, r] / byrun[ref, 5, r]
		return sorted_median(v, n) }
	{ key = $1 SUBSEP $2 SUBSEP $3; if (!(($1, $2) in seen)) { seen[$1, $2]; order[++groups] = $1 SUBSEP $2 }
	  for (col = 5; col <= NF; col++) vals[key, col] = vals[key, col] " " $col
	  byrun[key, 5, $4] = $5; byrun[key, 6, $4] = $6; if ($4 > maxrun) maxrun = $4 }'

# table: the throughput table of cxl-runs.txt.
table() {
	echo "| workload | 1:R | placement | runs | before the shift: Mops/s median (range) | / oracle | / all in DRAM | after the shift | / oracle | recovered after | page share / oracle |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|"
	awk -v configs="${CONFIGS[*]}" -v k=$INTERVALS "$TABLE_AWK"'
		END { nc = split(configs, cs, " ")
			for (g = 1; g <= groups; g++) { split(order[g], wr, SUBSEP)
				o = wr[1] SUBSEP wr[2] SUBSEP "oracle"
				d = wr[1] SUBSEP wr[2] SUBSEP "dram"
				for (j = 1; j <= nc; j++) { key = wr[1] SUBSEP wr[2] SUBSEP cs[j]
					if (!((key, 5) in vals)) continue
					b = median(key, 5); blo = lo; bhi = hi
					a = median(key, 6); alo = lo; ahi = hi
					rec = cs[j] == "tm-heat" ? periods(median(key, 7)) " (" periods(lo) "-" periods(hi) ")" : ""
					share = median(key, 8)
					printf "| %s | 1:%s | %s | %d | %.4g (%.4g-%.4g) | %.2f | %.2f | %.4g (%.4g-%.4g) | %.2f | %s | %s |\n",
						wr[1], wr[2], cs[j], split(vals[key, 5], all, " "), b, blo, bhi,
						ratio(key, o, 5), ratio(key, d, 5),
						a, alo, ahi, ratio(key, o, 6), rec, share == "-" ? "-" : sprintf("%.2f", share) } } }' \
		"$OUT/cxl-runs.txt"
}

# latency_table: the latencies of cxl-runs.txt, for the workloads that have them.
latency_table() {
	grep -qv ' - - - -$' "$OUT/cxl-runs.txt" || return 0
	echo
	echo "| workload | 1:R | placement | before the shift: p50 us | p99 us | after the shift: p50 us | p99 us |"
	echo "|---|---|---|---|---|---|---|"
	awk -v configs="${CONFIGS[*]}" -v k=$INTERVALS "$TABLE_AWK"'
		END { nc = split(configs, cs, " ")
			for (g = 1; g <= groups; g++) { split(order[g], wr, SUBSEP)
				for (j = 1; j <= nc; j++) { key = wr[1] SUBSEP wr[2] SUBSEP cs[j]
					if (!((key, 9) in vals) || median(key, 9) == "-") continue
					printf "| %s | 1:%s | %s |", wr[1], wr[2], cs[j]
					for (col = 9; col <= 12; col++) {
						x = median(key, col); printf " %s (%s-%s) |", x, lo, hi }
					print "" } } }' "$OUT/cxl-runs.txt"
}

# one W R CONFIG RUN: one run, its rows in the results (or, without a
# result, its last line in cxl-failures.txt).
one() {
	local log=$OUT/cxl-$1-$2-$3-$4.out
	run_config "$1" "$3" "$2" >"$log" 2>&1 || true
	intervals "$@" <"$log" >>"$OUT/cxl-intervals.csv"
	steady "$@" <"$log" | tee -a "$OUT/cxl-runs.txt" | grep -q . ||
		echo "$1 1:$2 $3 run $4: $(tail -1 "$log")" | tee -a "$OUT/cxl-failures.txt"
}

# report: cxl.md from cxl-runs.txt and cxl-failures.txt.
report() {
	{
		echo "cxl guest, ${MIB} MiB footprint; gups: 256 KiB chunks, 16 MiB hot set with 90% of"
		echo "the updates; kv: 1 KiB values, Zipf(0.99), 10% writes; redis: redis-server, 118,000"
		echo "keys of 1,000 B, Zipf(0.99), 90% GET / 10% SET, one request in flight. Two phases"
		echo "of ${INTERVALS} intervals of ${INTERVAL_MS} ms, the popularity shifting between them;"
		echo "throughput and latency: the median of each phase's last $STEADY intervals; over"
		echo "the runs, median and range; $(date -u +%Y-%m-%d). Ratios are to the oracle's and"
		echo "all-in-DRAM's phase 0."
		echo
		table
		latency_table
		if [[ -s $OUT/cxl-failures.txt ]]; then
			echo
			echo "Runs without a result:"
			echo
			sed 's/^/    /' "$OUT/cxl-failures.txt"
		fi
	} >"$OUT/cxl.md"
	cat "$OUT/cxl.md"
}

main() {
	local w r run config
	: >"$OUT/cxl-runs.txt"
	: >"$OUT/cxl-failures.txt"
	echo "workload,ratio,config,run,phase,interval,mops" >"$OUT/cxl-intervals.csv"
	for w in $workloads; do
		for r in $ratios; do
			for ((run = 1; run <= runs; run++)); do
				for config in ${BENCH_CXL_CONFIGS:-${CONFIGS[*]}}; do
					one "$w" "$r" "$config" "$run"
				done
			done
		done
	done
	report
}

if [[ ${1-} == --report ]]; then report; else main; fi
