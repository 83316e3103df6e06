# bench/bench.mk: included by the top-level Makefile (CC, CFLAGS, B).
#
#   make bench          full comparison: every workload x every allocator,
#                       BENCH_RUNS runs each (default 5); ~30 min
#   make bench-quick    small sizes, 2 runs: a smoke test in < 2 min
#   make bench-bins     just the workload binaries, in $(B)/bench/
#   make bench-pairs    ns per malloc+free pair, glibc, jemalloc and
#                       tiermalloc (one tier, tiered) side by side, 1 to
#                       10,000 threads (bench/pairs.sh)
#   make bench-policy   the heat policy's cost at heaps of 1, 16, 64 GiB (~1 min)
#   make bench-bigheap  the same in the two-tier guest, GUPS at a 4 GiB heap
#                       beside 512 MiB (bench/gups/gups.mk; ~25 min)
#
# BENCH_ARGS passes options to bench/compare.py, for example
#   make bench BENCH_ARGS='--allocators glibc,jemalloc,tiermalloc'

BENCH_DIR    := $(B)/bench
BENCH_C      := churn server prodcons realloc large frag
BENCH_CXX    := cxxmaps
BENCH_BINS   := $(addprefix $(BENCH_DIR)/,$(BENCH_C) $(BENCH_CXX) tm-spawn tm-pairs)
BENCH_RUNS   ?= 5
BENCH_ARGS   ?=
BENCH_WARN   := -Wall -Wextra
CXX          ?= g++

.PHONY: bench bench-quick bench-bins bench-pairs
bench-bins: $(BENCH_BINS)

# The workloads are ordinary programs built the ordinary way (-O2, no
# -fno-builtin-malloc): each uses the memory it allocates, so the compiler
# cannot drop the malloc/free pairs.
$(BENCH_DIR)/%: bench/workloads/%.c bench/workloads/common.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(BENCH_WARN) -pthread $< -o $@

$(BENCH_DIR)/%: bench/workloads/%.cc
	@mkdir -p $(@D)
	$(CXX) $(CFLAGS) $(BENCH_WARN) -pthread $< -o $@

$(BENCH_DIR)/tm-spawn: bench/spawn.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(BENCH_WARN) $< -o $@

$(BENCH_DIR)/tm-pairs: bench/pairs.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(BENCH_WARN) -pthread $< -o $@

bench-pairs: all $(BENCH_DIR)/tm-pairs
	bench/pairs.sh $(B)

bench: all bench-bins
	bench/run.sh --runs $(BENCH_RUNS) $(BENCH_ARGS)

bench-quick: all bench-bins
	bench/run.sh --quick $(BENCH_ARGS)

# Exec start-up cost, glibc against each library preloaded (bench/startup.sh).
.PHONY: bench-startup
bench-startup: all $(B)/tests/preload/libempty_preload.so
	bench/startup.sh

# GUPS with a hot set in the two-tier guest (make bench-gups); guarded, as
# tests/policy/policy.mk includes it too.
-include bench/gups/gups.mk

# The heat policy's period cost and memory at heaps of 1, 16 and 64 GiB, on
# synthetic heat, on this host (bench/policy_scale.c; results in
# bench/results/policy-scale.md). BENCH_POLICY_ARGS: e.g. '--runs 5 1 4'.
BENCH_POLICY := $(BENCH_DIR)/policy_scale
BENCH_POLICY_ARGS ?=
$(BENCH_POLICY): bench/policy_scale.c $(B)/libtmcore.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -std=gnu11 $(BENCH_WARN) -Wno-unused-parameter -pthread \
	      -I. $< $(B)/libtmcore.a \
	      -ljemalloc -lhwloc -lpthread -ldl -o $@

# The policy's objects link without the library's start-up and entry
# points (libtmcore.a has no malloc.o): test-policy builds the benchmark
# to keep it so.
test-policy: $(BENCH_POLICY)

.PHONY: bench-policy
bench-policy: $(BENCH_POLICY)
	$(BENCH_POLICY) $(BENCH_POLICY_ARGS)
