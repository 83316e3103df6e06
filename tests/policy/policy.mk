# tests/policy: heat tracking, planning and migration (issue 4).
#
#   make test-policy    unit tests (no NUMA needed) and the host end-to-end
#                       tests under LD_PRELOAD (tests/policy/run.sh)
#
# Guest tests of the same area are tests/vm/tests/5*-*.sh; the programs they
# run are built here and listed in VM_TEST_BINS.

POL_SRC := tests/policy
POL_B := $(B)/tests/policy
POL_UNIT := $(patsubst $(POL_SRC)/%.c,$(POL_B)/%,$(wildcard $(POL_SRC)/test_*.c))
POL_PROGS := $(POL_B)/heat_hotset $(POL_B)/blocks $(POL_B)/last_thread \
             $(POL_B)/reader

HOST_SUITES += test-policy
VM_TEST_BINS += $(POL_PROGS)
-include bench/gups/gups.mk

$(POL_UNIT): $(POL_B)/%: $(POL_SRC)/%.c $(POL_SRC)/fixture.h $(B)/libtmcore.a tests/check.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -std=gnu11 -Wall -Wextra -Wno-unused-parameter -pthread \
	      -I. $< $(B)/libtmcore.a \
	      -ljemalloc -lhwloc -lpthread -ldl -o $@

# Programs run under LD_PRELOAD: they find the library's API with dlsym.
$(POL_PROGS): $(POL_B)/%: $(POL_SRC)/%.c tests/check.h bench/gups/tlb_turnover.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -std=gnu11 -Wall -Wextra -pthread -Iinclude $< -o $@ -ldl

.PHONY: test-policy
test-policy: all $(POL_UNIT) $(POL_PROGS)
	@$(POL_SRC)/run.sh $(POL_UNIT)
