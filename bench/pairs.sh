#!/usr/bin/env bash
# ns per 64-byte malloc+free pair, side by side in one run (issue 12):
# glibc, jemalloc, tiermalloc with one tier, and tiermalloc tiered (the fake
# two-node tree tests/unit/sysfs/kmem, as on a machine with a slow tier;
# with the DRAM quota full, every allocation goes to the slow tier),
# with 1, 8, 10 and 10,000 threads all live and working, and with 10,000
# live of which 10 work (10000/10: the others hold their caches without
# taking turns on the CPUs, so what is left is what many live threads cost
# the allocator, not the scheduler's cold caches). Each figure is the median of
# RUNS runs of the threads' CPU time per pair (bench/pairs.c), in runs of
# 50M pairs at least: the first 20 ms of a process (the services' start-up
# delay, when malloc also counts down to starting them) would otherwise weigh
# on the figure as much as the steady state. Every thread
# runs at least 10,000 pairs: with 500 each, 10,000 threads on 2 CPUs
# measured little but cold caches after each switch (330-390 ns a pair for
# every allocator, glibc's 46 included).
#
#   bench/pairs.sh [BUILD_DIR]      (make bench-pairs)
set -u
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd) || exit 2
pairs=$build/bench/tm-pairs
lib=$build/libtiermalloc.so
jemalloc=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
kmem=$root/tests/unit/sysfs/kmem
runs=${RUNS:-5}
total=${PAIRS:-50000000}
threads=(1 8 10 10000 10000/10)

for f in "$pairs" "$lib" "$jemalloc"; do
	[ -e "$f" ] || { echo "pairs.sh: $f is missing" >&2; exit 2; }
done

declare -A env_of=(
	[glibc]=""
	[jemalloc]="LD_PRELOAD=$jemalloc"
	["tiermalloc, one tier"]="LD_PRELOAD=$lib"
	["tiermalloc, tiered"]="LD_PRELOAD=$lib TIERMALLOC_SYSFS=$kmem"
	["tiermalloc, tiered dram-first"]="LD_PRELOAD=$lib TIERMALLOC_SYSFS=$kmem TIERMALLOC_POLICY=dram-first"
	["tiermalloc, tiered, DRAM quota full"]="LD_PRELOAD=$lib TIERMALLOC_SYSFS=$kmem TIERMALLOC_DRAM_LIMIT=1"
)
rows=(glibc jemalloc "tiermalloc, one tier" "tiermalloc, tiered" "tiermalloc, tiered dram-first"
      "tiermalloc, tiered, DRAM quota full")

# median NS...: the middle figure
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# The vCPUs of these machines differ in speed by up to 1.6x, and a host's
# speed drifts over minutes: one thread runs on CPU 0 only, and each run
# measures every row in turn (the order rotated), so that drift reaches all
# rows alike.
cpus_for() { # THREADS[/WORKERS]
	[ "$1" = 1 ] && echo 0 || echo "0-$(($(nproc) - 1))"
}

label() { # THREADS[/WORKERS]: a column's heading
	[[ $1 == */* ]] && echo "${1%/*} live, ${1#*/} working" || echo "$1 threads"
}

measure() { # ROW THREADS[/WORKERS]: ns per pair, one run
	local n=$total workers=${2#*/}
	((n < workers * 10000)) && n=$((workers * 10000))
	env -i PATH="$PATH" ${env_of[$1]} taskset -c "$(cpus_for "$2")" \
		"$pairs" "$2" "$n" 2>/dev/null | sed -n 's/^ns\/pair: //p'
}

declare -A got
for t in "${threads[@]}"; do
	for ((i = 0; i < runs; i++)); do
		for ((k = 0; k < ${#rows[@]}; k++)); do
			row=${rows[(k + i) % ${#rows[@]}]}
			ns=$(measure "$row" "$t")
			got[$row,$t]+=" ${ns:-nan}"
		done
	done
done

printf '%s, %s pairs (at least 10,000 a thread), median of %s runs, %s CPUs, one thread on CPU 0\n\n' "$(uname -r)" "$total" "$runs" "$(nproc)"
header() { # FIRST_CELL COLUMN...
	printf '| %s |' "$1"
	shift
	for t in "$@"; do printf ' %s |' "$(label "$t")"; done
	echo
	printf '|---|'; printf -- '---|%.0s' "$@"; echo
}

ratio() { # A B: a / b, as a table cell
	awk -v a="$1" -v b="$2" 'BEGIN { printf " %.2f |", (b > 0 ? a / b : 0) }'
}

header "ns per pair" "${threads[@]}"
for row in "${rows[@]}"; do
	printf '| %s |' "$row"
	for t in "${threads[@]}"; do
		# shellcheck disable=SC2086 # the figures, one word each
		printf ' %s |' "$(median ${got[$row,$t]})"
	done
	echo
done

echo
header "× jemalloc" "${threads[@]}"
for row in "${rows[@]}"; do
	[ "$row" = jemalloc ] && continue
	printf '| %s |' "$row"
	for t in "${threads[@]}"; do
		# shellcheck disable=SC2086
		ratio "$(median ${got[$row,$t]})" "$(median ${got[jemalloc,$t]})"
	done
	echo
done

# Issue 12's target: with 10,000 live threads, at most 1.5x the 10-thread figure.
echo
many=("${threads[@]:3}")
header "× 10 threads" "${many[@]}"
for row in "${rows[@]}"; do
	printf '| %s |' "$row"
	for t in "${many[@]}"; do
		# shellcheck disable=SC2086
		ratio "$(median ${got[$row,$t]})" "$(median ${got[$row,10]})"
	done
	echo
done
