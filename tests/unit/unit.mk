# Unit tests of the allocator's logic: options, tier discovery from captured
# sysfs trees, placement and quota. No NUMA needed.
UNIT_TESTS := $(patsubst tests/unit/%.c,$(B)/tests/unit/%,$(wildcard tests/unit/test_*.c))
HOST_SUITES += test-unit

$(B)/tests/unit/%: tests/unit/%.c $(B)/libtmcore.a tests/check.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -std=gnu11 -Wall -Iinclude -Iallocator -Ipolicy $< \
	      $(B)/libtmcore.a -ljemalloc -lpthread -ldl -o $@

.PHONY: test-unit
test-unit: $(UNIT_TESTS)
	@rc=0; for t in $(UNIT_TESTS); do \
	  printf '%-28s ' "$${t##*/}"; $$t || rc=1; done; exit $$rc
