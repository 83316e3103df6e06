#!/usr/bin/env bash
# Exec start-up cost, side by side: EXECS execs of /bin/true from a shell
# loop, with nothing preloaded (glibc) and with each library preloaded, RUNS
# runs each, interleaved so that load from other jobs hits every row alike.
# Prints wall and CPU ms per exec (median [min-max]) and the medians'
# differences to glibc, as a markdown table; then, for one exec, the counts
# that do not depend on the machine's load: minor page faults, system calls
# and the dynamic loader's own cycles. A fault or a system call costs far
# more in a VM than on bare metal (a fault: 10-40 us here, about 1 us
# there); the counts are the same on both.
#
#   bench/startup.sh [--runs N] [--execs N] [NAME=LIBRARY ...]
#
# Default rows: an empty library (the floor of preloading anything; built
# by make bench-startup), Debian's libstdc++ alone (what libjemalloc pulls
# in), Debian's libjemalloc, and build/libtiermalloc.so.
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
rows=(glibc= "empty=$PWD/build/tests/preload/libempty_preload.so"
      "libstdc++=$multiarch/libstdc++.so.6" "jemalloc=$multiarch/libjemalloc.so.2"
      "tiermalloc=$PWD/build/libtiermalloc.so")
if [ $# -gt 0 ]; then
	rows=(glibc=)
	for row in "$@"; do
		[ "${row%%=*}" = glibc ] || rows+=("$row") # glibc is always the first row
	done
fi

# "wall cpu" of one run, in milliseconds per exec; cpu is user + system time
# of the loop and its children, which other jobs on the machine disturb much
# less than wall time. The loop's shell is started without the library, so
# only the execs of /bin/true are measured.
one_run() {
	env -i PATH=/usr/bin:/bin LIB="$1" N="$execs" bash -c \
		'TIMEFORMAT="%R %U %S"
		 time { for ((i = 0; i < N; i++)); do LD_PRELOAD=$LIB /bin/true; done; }' 2>&1 |
		awk -v n="$execs" '{printf "%.3f %.3f\n", $1 * 1e3 / n, ($2 + $3) * 1e3 / n}'
}

declare -A wall cpu
for ((r = 0; r < runs; r++)); do
	for row in "${rows[@]}"; do
		read -r w c < <(one_run "${row#*=}")
		wall[${row%%=*}]+="$w " cpu[${row%%=*}]+="$c "
	done
done

# median min max of a list of numbers
summary() { tr ' ' '\n' | grep . | sort -n | awk '{v[NR] = $1}
	END {printf "%.2f %.2f %.2f\n", v[int((NR + 1) / 2)], v[1], v[NR]}'; }
minus() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%+.2f", a - b}'; }

printf '%d execs of /bin/true per run, %d runs; ms per exec, median [min-max]\n' \
	"$execs" "$runs"
printf '| preloaded | wall | wall - glibc | cpu | cpu - glibc |\n'
printf '|---|---|---|---|---|\n'
read -r wbase _ _ < <(summary <<<"${wall[glibc]}")
read -r cbase _ _ < <(summary <<<"${cpu[glibc]}")
for row in "${rows[@]}"; do
	name=${row%%=*}
	read -r wm wl wh < <(summary <<<"${wall[$name]}")
	read -r cm cl ch < <(summary <<<"${cpu[$name]}")
	printf '| %s | %s [%s-%s] | %s | %s [%s-%s] | %s |\n' "$name" "$wm" "$wl" "$wh" \
		"$(minus "$wm" "$wbase")" "$cm" "$cl" "$ch" "$(minus "$cm" "$cbase")"
done

# The least of N runs of one exec of /bin/true with $1 preloaded, of what
# the command that follows prints (a number per run).
least() {
	local lib=$1 n=$2 i
	shift 2
	for ((i = 0; i < n; i++)); do LIB=$lib "$@"; done | sort -n | head -1
}
minor_faults() { env -i LD_PRELOAD="$LIB" /usr/bin/time -f %R /bin/true 2>&1 | tail -1; }
syscalls() {
	strace -qq -f -o /dev/stdout -E LD_PRELOAD="$LIB" /bin/true | grep -vc '^+++'
}
loader_cycles() {
	env -i LD_PRELOAD="$LIB" LD_DEBUG=statistics /bin/true 2>&1 |
		awk '/total startup time in dynamic loader/ {print $(NF - 1)}'
}
have() { command -v "$1" >/dev/null 2>&1; }

printf '\nOne exec of /bin/true: minor faults (GNU time, least of 5), system calls\n'
printf '(strace), loader cycles (LD_DEBUG=statistics, least of 20)\n'
printf '| preloaded | minor faults | system calls | ld.so cycles |\n'
printf '|---|---|---|---|\n'
for row in "${rows[@]}"; do
	lib=${row#*=} f=n/a s=n/a
	[ -x /usr/bin/time ] && f=$(least "$lib" 5 minor_faults)
	have strace && s=$(least "$lib" 1 syscalls)
	c=$(least "$lib" 20 loader_cycles)
	printf '| %s | %s | %s | %s |\n' "${row%%=*}" "$f" "$s" "$c"
done
