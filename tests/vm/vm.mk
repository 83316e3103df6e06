# tests/vm/vm.mk: the two-tier NUMA QEMU guest (included by the top-level
# Makefile). The guest itself: tests/vm/run-guest.sh.
#
#   make vm-test                      every tests/vm/tests/*.sh, once per mode
#   make vm-test VM_TESTS=00-bed      only the tests named
#   make vm-test VM_MODES=kmem        only one mode (default "hmat kmem cxl")
#   make vm-shell MODE=cxl CMD='numactl -H'    any command in the guest
#   make demo [MODE=cxl]              tests/vm/demo.sh in the guest (kmem)
#
# VM_TIMEOUT bounds one guest boot with its whole suite (seconds, default
# 360); a test's own "# vm-timeout: N" line bounds it (VM_TEST_TIMEOUT, default
# 60, for tests without one); VM_TIME_SCALE=2 doubles them all for a slower
# machine (tests/vm/vm-test.sh). vm-shell does not rebuild the library:
# `make all vm-shell ...` does.
#
# Guest test programs are built on the host and run in the guest, which sees
# the host's own libraries. Other fragments add theirs to VM_TEST_BINS (with
# their own rules); the one-file programs of the bed itself are built here.

VM_DIR      := tests/vm
VM_BED_BINS := $(B)/vm/bedcheck $(B)/vm/faultcost $(B)/vm/thpcheck
VM_TEST_BINS += $(VM_BED_BINS)

.PHONY: vm-test vm-shell demo vm-bins

vm-bins: $(VM_TEST_BINS)

$(VM_BED_BINS): $(B)/vm/%: $(VM_DIR)/%.c | $(B)/.build-deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -std=gnu11 $(WARN) -I. -o $@ $< -lnuma

vm-test: all $(VM_TEST_BINS)
	$(VM_DIR)/vm-test.sh $(VM_TESTS)

# The command goes to bash through the environment, untouched by make (its
# $ signs are not make variables).
vm-shell: export VM_SHELL_CMD := $(or $(value CMD),numactl -H)
vm-shell: $(VM_TEST_BINS)
	$(VM_DIR)/run-guest.sh --mode $(or $(MODE),hmat) -- bash -c "$$VM_SHELL_CMD"

demo: all $(VM_TEST_BINS)
	$(VM_DIR)/run-guest.sh --mode $(or $(MODE),kmem) -- $(VM_DIR)/demo.sh
