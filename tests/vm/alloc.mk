# Guest test programs of the allocator (placement, quota, fallback); the
# guest tests tests/vm/tests/1*-alloc-*.sh run them. vm-test depends on
# $(VM_TEST_BINS).
VM_TEST_BINS += $(B)/vm/alloc_probe

$(B)/vm/alloc_probe: tests/vm/alloc_probe.c include/tiermalloc.h | $(B)/.build-deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -std=gnu11 -Wall -Wextra -Iinclude $< -lnuma -o $@
