#!/usr/bin/env bash
#
# The heat policy at a multi-GiB heap (issue 14), run INSIDE the two-tier
# guest (hmat mode with a big node 1; make bench-bigheap boots it): GUPS
# under TIERMALLOC_POLICY=heat with a DRAM quota of a quarter of the table
# (1:4) and a hot set of a 16th, at each heap size side by side, and what
# the library's stats say about the cost of a period:
#   periods, migrator CPU, ms of it per period per GiB of heap (the heap:
#   the stats' heap_total.allocated, the table and gups' own arrays), its
#   heat measurement's part (heat_cpu_s: cooling and the sources'
#   collection), kdamond's CPU (a kernel thread: read from /proc), and the
#   policy's memory (policy_memory_bytes) against the heap;
# and what gups says about placement: the fast-tier access share against
# the oracle's (the best any placement of the quota could reach).
#
# The stats socket is read twice while gups runs: at interval WARMUP (the
# end of the warm-up: the table allocated and located, the hot set
# promoted) and at interval INTERVALS (gups runs 3 more); the steady
# figures are the difference of the two samples, the share is interval
# INTERVALS's.
#
#   bench/gups/bigheap.sh [--out DIR] [--heaps "512 4096"] [--heat "auto damon"]
#                         [--runs N] [--intervals N] [--warmup N] [--report]
#
# Heaps in MiB (default 512 and 4096), under each TIERMALLOC_HEAT choice
# given (default "auto damon": what a program gets, then DAMON alone,
# which leaves write tracking's cost out), each run --runs times (3) in
# turns, so drift of the host's load touches all; intervals of 1 s
# (TIERMALLOC_SCAN_MS's default period), 30 of them, the warm-up 15.
# --report only remakes DIR/bigheap.md from DIR/bigheap.csv. DIR defaults
# to $TM_VM_RESULTS, else build/bench/bigheap.
set -uo pipefail

GUPS=build/bench/gups/gups
LIB=build/libtiermalloc.so
STATS_DIR=${TIERMALLOC_STATS_DIR:-/tmp/tiermalloc-$(id -u)}
HEAPS=(512 4096)
HEATS=(auto damon)
RUNS=3
INTERVALS=30
WARMUP=15
out=${TM_VM_RESULTS:-build/bench/bigheap}
report=0
while (($#)); do
	case $1 in
	--out) out=$2 && shift ;;
	--heaps) read -ra HEAPS <<<"$2" && shift ;;
	--heat) read -ra HEATS <<<"$2" && shift ;;
	--runs) RUNS=$2 && shift ;;
	--intervals) INTERVALS=$2 && shift ;;
	--warmup) WARMUP=$2 && shift ;;
	--report) report=1 ;;
	*) echo "usage: $0 [--out DIR] [--heaps \"MIB...\"] [--heat \"auto damon...\"] [--runs N] [--intervals N] [--warmup N] [--report]" >&2 && exit 2 ;;
	esac
	shift
done
((WARMUP < INTERVALS)) || { echo "bigheap: need --warmup < --intervals" >&2 && exit 2; }
logs=$out/bigheap-logs
csv=$out/bigheap.csv
mkdir -p "$logs"
FLUSH=()
[[ ${TM_VM-} ]] && FLUSH=(--tlb-flush-ms 5) # accessed bits under emulation

# kdamond's CPU seconds (all kdamond threads: in the guest ours is the
# only one). One grep: a fork per process costs ~10 ms under emulation.
kdamond_cpu() {
	local f st sum=0
	while read -r f; do
		read -ra st <"${f%comm}stat" || continue
		sum=$((sum + st[13] + st[14]))
	done < <(grep -l '^kdamond' /proc/[0-9]*/comm 2>/dev/null)
	awk -v t="$sum" -v k="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f", t / k }'
}

# stats PID: the process's stats, one JSON line, as tierstat PID --json
# asks for them. Not tierstat itself: Python's start-up took over 4 s in
# the emulated guest under host load, and the sample missed the process.
stats() {
	perl -MIO::Socket::UNIX -e '
		my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "$ARGV[0]: $!\n";
		print $s "stats\n";
		my $reply = <$s>;
		defined $reply or die "$ARGV[0]: no reply\n";
		print $reply' "$STATS_DIR/$1.sock"
}

# sample PID NAME: the stats as JSON in $logs/NAME.json, with kdamond's CPU
# seconds added as .kdamond_cpu_s.
sample() {
	local kd
	kd=$(kdamond_cpu)
	stats "$1" | jq -c --argjson kd "$kd" '. + {kdamond_cpu_s: $kd}' >"$logs/$2.json"
}

# wait_interval LOG K PID: until gups has printed interval K (false if it
# ended first).
wait_interval() {
	until grep -aq " interval $2 phase " "$1"; do
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.3
	done
}

# The CSV fields of one sample: periods, migrator CPU s, heat CPU s,
# kdamond CPU s, heap bytes allocated, policy bytes, the process's age s,
# heat measured every N periods, pages moved.
fields() {
	jq -r '[.migration.periods, .migration.migrator_cpu_s, .migration.heat_cpu_s,
		.kdamond_cpu_s, .heap_total.allocated, .migration.policy_memory_bytes,
		.process.uptime_s, .heat_source.measured_every_periods,
		.migration.promoted.pages + .migration.demoted.pages] | @csv' "$logs/$1.json"
}

# run HEAT MIB RUN: one gups run, its log and stats samples in $logs, a
# CSV row.
run() {
	local heat=$1 mib=$2 r=$3 name=bigheap-$1-$2-$3 pid
	local log=$logs/$name.log
	env TIERMALLOC_POLICY=heat TIERMALLOC_HEAT="$heat" TIERMALLOC_DRAM_LIMIT=$((mib / 4))M \
		TIERMALLOC_VERBOSE=1 LD_PRELOAD=$LIB $GUPS --mib "$mib" --hot-mib $((mib / 16)) \
		--quota-mib $((mib / 4)) --interval-ms 1000 --intervals $((INTERVALS + 3)) --phases 1 \
		"${FLUSH[@]}" --label "$heat/$mib" >"$log" 2>&1 &
	pid=$!
	local ok=1
	wait_interval "$log" "$WARMUP" "$pid" && sample "$pid" "$name-warm" || ok=0
	((ok)) && wait_interval "$log" "$INTERVALS" "$pid" && sample "$pid" "$name-end" || ok=0
	wait "$pid"
	echo "rc $?" >>"$log"
	if ((!ok)) || [[ ! -s $logs/$name-end.json ]]; then
		echo "bigheap: $name: no result: $(grep -av '^rc ' "$log" | tail -3 | tr '\n' ' ')"
		return
	fi
	local last reached source
	last=$(grep -a " interval $INTERVALS phase " "$log" | awk '{ print $8 "," $10 "," $12 }')
	reached=$(awk -v n="$INTERVALS" '$3 == "interval" && $4 <= n && $12 >= 0.9 { print $4; exit }' "$log")
	source=$(jq -r .heat_source.name "$logs/$name-end.json")
	echo "$heat,$mib,$r,$source,$(fields "$name-warm"),$(fields "$name-end"),$last,$reached" >>"$csv"
	echo "bigheap: $name: $source, share/oracle $(cut -d, -f3 <<<"$last") at interval $INTERVALS"
}

HEADER="heat,mib,run,source,w_periods,w_cpu_s,w_heat_s,w_kd_s,w_heap_b,w_meta_b,w_age_s,w_every,w_moved,e_periods,e_cpu_s,e_heat_s,e_kd_s,e_heap_b,e_meta_b,e_age_s,e_every,e_moved,share,oracle,rel,reached"
if ((!report)); then
	echo "$HEADER" >"$csv"
	echo "== bigheap: heaps ${HEAPS[*]} MiB, heat ${HEATS[*]}, quota 1:4, hot set 1/16, $RUNS runs, $INTERVALS intervals of 1 s (warm-up $WARMUP), mode ${TM_VM_MODE:-host}"
	for ((r = 1; r <= RUNS; r++)); do
		for heat in "${HEATS[@]}"; do
			for mib in "${HEAPS[@]}"; do
				run "$heat" "$mib" "$r"
			done
		done
	done
fi

# The table: per heat choice and heap, the median of the runs [range] of
# each figure. Per period per GiB: ms of CPU / periods / GiB of the heap
# allocated (at the sample's end).
awk -F, '
	function median(a, n,   i, j, t) {
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function put(k, v) { n[k, key]++; val[k, key, n[k, key]] = v }
	function per(x, periods, gib) { return periods && gib ? x * 1000 / periods / gib : -1 }
	function cell(k, fmt,   a, i, lo, hi, c, s) {
		c = n[k, key]
		if (!c) return "-"
		for (i = 1; i <= c; i++) a[i] = val[k, key, i]
		lo = hi = a[1]
		for (i = 1; i <= c; i++) { lo = a[i] < lo ? a[i] : lo; hi = a[i] > hi ? a[i] : hi }
		s = sprintf(fmt, median(a, c))
		return c > 1 ? s sprintf(" [" fmt "-" fmt "]", lo, hi) : s
	}
	NR > 1 {
		key = $1 " " $2
		if (!(key in seen)) { seen[key] = 1; order[++m] = key }
		gib = $18 / 2^30; sp = $14 - $5
		if (!index(", " src[key] ", ", ", " $4 ", "))
			src[key] = src[key] (src[key] ? ", " : "") $4
		put("gib", gib); put("wp", $5); put("sp", sp); put("wall", sp ? ($20 - $11) / sp : -1)
		put("w", per($6, $5, $9 / 2^30))
		put("s", per($15 - $6, sp, gib))
		put("h", per($16 - $7, sp, gib))
		put("o", per($15 - $6 - ($16 - $7), sp, gib))
		put("k", per($17 - $8, sp, gib))
		put("every", $21); put("moved", sp ? ($22 - $13) / sp : -1)
		put("meta", gib ? $19 * 100 / $18 : -1)
		put("rel", $25)
		put("reach", $26 == "" ? 99 : $26)
	}
	END {
		print "| TIERMALLOC_HEAT | heap MiB | heap GiB | source in use | periods warm-up / steady | steady s per period | steady pages moved per period | heat every N periods at the end | warm-up ms/period/GiB | steady ms/period/GiB | of which heat | the rest: the policy itself | kdamond ms/period/GiB | policy memory, % of heap | share / oracle | interval reaching 0.9 |"
		print "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
		for (i = 1; i <= m; i++) {
			key = order[i]
			split(key, kv, " ")
			printf "| %s | %s | %s | %s | %s / %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", kv[1], kv[2],
				cell("gib", "%.2f"), src[key], cell("wp", "%d"), cell("sp", "%d"), cell("wall", "%.2f"),
				cell("moved", "%.0f"), cell("every", "%d"), cell("w", "%.0f"), cell("s", "%.1f"), cell("h", "%.1f"), cell("o", "%.1f"), cell("k", "%.1f"),
				cell("meta", "%.3f%%"), cell("rel", "%.2f"), cell("reach", "%d")
		}
		print ""
		print "Medians of the runs [range]; 99: 0.9 of the oracle not reached; -1: no periods."
	}' "$csv" >"$out/bigheap.md"
cat "$out/bigheap.md"
grep -h 'heat source .*: in use' "$logs"/*.log 2>/dev/null | sort | uniq -c
exit 0
