#!/usr/bin/env bash
# Exec start-up cost, side by side: EXECS execs of /bin/true from a shell
# loop, with nothing preloaded (glibc) and with each library preloaded, RUNS
# runs each, interleaved so that load from other jobs hits every row alike.
# Prints ms per exec (median [min-max]) and the median's difference to glibc.
#
#   bench/startup.sh [--runs N] [--execs N] [NAME=LIBRARY ...]
#
# Default rows: Debian's libstdc++ alone (what libjemalloc pulls in),
# Debian's libjemalloc, and build/libtiermalloc.so.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=5 execs=200
while [ $# -gt 0 ]; do
	case $1 in
	--runs) runs=$2; shift 2 ;;
	--execs) execs=$2; shift 2 ;;
	*) break ;;
	esac
done
multiarch=/usr/lib/$(gcc -print-multiarch)
rows=(glibc= "libstdc++=$multiarch/libstdc++.so.6"
      "jemalloc=$multiarch/libjemalloc.so.2" "tiermalloc=$PWD/build/libtiermalloc.so")
[ $# -eq 0 ] || rows=(glibc= "$@")

# Milliseconds per exec of one run. The loop's shell is started without the
# library, so only the execs of /bin/true are measured.
one_run() {
	local lib=$1 t0 t1
	t0=$(date +%s%N)
	env -i PATH=/usr/bin:/bin LIB="$lib" N="$execs" bash -c \
		'for ((i = 0; i < N; i++)); do LD_PRELOAD=$LIB /bin/true; done'
	t1=$(date +%s%N)
	awk -v ns=$((t1 - t0)) -v n="$execs" 'BEGIN {printf "%.3f\n", ns / 1e6 / n}'
}

declare -A times
for ((r = 0; r < runs; r++)); do
	for row in "${rows[@]}"; do
		times[${row%%=*}]+="$(one_run "${row#*=}") "
	done
done

# median min max of a list of numbers
summary() { tr ' ' '\n' | grep . | sort -n | awk '{v[NR] = $1}
	END {printf "%.2f %.2f %.2f\n", v[int((NR + 1) / 2)], v[1], v[NR]}'; }

printf '%d execs of /bin/true per run, %d runs; ms per exec\n' "$execs" "$runs"
printf '| %-12s | %-20s | %-10s |\n' preloaded 'median [min-max]' '- glibc'
printf '|---|---|---|\n'
read -r base _ _ < <(summary <<<"${times[glibc]}")
for row in "${rows[@]}"; do
	read -r med lo hi < <(summary <<<"${times[${row%%=*}]}")
	printf '| %-12s | %-20s | %+.2f |\n' "${row%%=*}" "$med [$lo-$hi]" \
		"$(awk -v a="$med" -v b="$base" 'BEGIN {print a - b}')"
done
