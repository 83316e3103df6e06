# Helpers for the guest tests (sourced; not a test itself).
LIB=$PWD/build/libtiermalloc.so
PROBE=$PWD/build/vm/alloc_probe

# field NAME LINE: the value of NAME=value in a probe's output line
field() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }

fail() { echo "FAIL: $*"; exit 1; }

# node_free_mib N: free memory of node N in MiB, from numactl
node_free_mib() { numactl -H | awk -v n="$1" '$1 == "node" && $2 == n && $3 == "free:" { print $4 }'; }
