# bench/gups: GUPS with a hot set, scored by page location (issue 4).
#
#   make bench-gups     bench/gups/gups.sh in the two-tier guest, once per
#                       mode (BENCH_GUPS_MODES, default "hmat kmem")
#
# Included by bench/bench.mk and by tests/policy/policy.mk (its guest test
# runs it), hence the guard.
ifndef GUPS_MK
GUPS_MK := 1

GUPS_BIN := $(B)/bench/gups/gups
VM_TEST_BINS += $(GUPS_BIN)

$(GUPS_BIN): bench/gups/gups.c bench/gups/tlb_turnover.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -std=gnu11 -Wall -Wextra -o $@ $< -ldl -pthread -lm

.PHONY: bench-gups
bench-gups: all $(GUPS_BIN)
	@for m in $(or $(BENCH_GUPS_MODES),hmat kmem); do \
	  echo "=== $$m"; tests/vm/run-guest.sh --mode $$m --timeout 400 -- \
	    bench/gups/gups.sh || exit 1; done

endif
