# Unit tests of the allocator's logic: options, tier discovery from captured
# sysfs trees, placement and quota. No NUMA needed.
UNIT_TESTS := $(patsubst tests/unit/%.c,$(B)/tests/unit/%,$(wildcard tests/unit/test_*.c))
HOST_SUITES += test-unit

$(B)/tests/unit/%: tests/unit/%.c $(B)/libtmcore.a tests/check.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -std=gnu11 -Wall -I. $< \
	      $(B)/libtmcore.a -ljemalloc -lpthread -ldl -lm -o $@

# The OS layer's helpers and the log, from their sources under ASan and
# UBSan: path building must stay inside its buffers.
UNIT_PRIM_SRC := allocator/prim/file.c allocator/prim/fd.c allocator/prim/os.c allocator/tiers.c \
                 allocator/log.c
$(B)/tests/unit/test_prim: tests/unit/test_prim.c $(UNIT_PRIM_SRC) tests/check.h
	@mkdir -p $(@D)
	$(CC) -O1 -g -std=gnu11 -Wall -fsanitize=address,undefined \
	      -fno-sanitize-recover=all -fno-omit-frame-pointer -I. \
	      $< $(UNIT_PRIM_SRC) -o $@

.PHONY: test-unit
test-unit: $(UNIT_TESTS)
	@rc=0; for t in $(UNIT_TESTS); do \
	  printf '%-28s ' "$${t##*/}"; $$t || rc=1; done; exit $$rc

# README's options table is generated from the options table in config.c.
$(B)/tools/options_doc: tools/options_doc.c tools/launcher/flags.c $(B)/libtmcore.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -std=gnu11 -Wall -I. \
	      $< tools/launcher/flags.c $(B)/libtmcore.a \
	      -ljemalloc -lpthread -ldl -o $@

README_OPTS = sed -n '/<!-- options:begin -->/,/<!-- options:end -->/p' README.md | sed '1d;$$d'

.PHONY: readme-options test-readme-options
readme-options: $(B)/tools/options_doc
	@$< > $(B)/options.md
	@sed -i -e '/<!-- options:begin -->/,/<!-- options:end -->/{//!d}' \
	        -e '/<!-- options:begin -->/r $(B)/options.md' README.md

HOST_SUITES += test-readme-options
test-readme-options: $(B)/tools/options_doc
	@if diff <($(README_OPTS)) <($<) >/dev/null; then \
	  echo "1 passed, 0 failed (README options table matches config.c)"; \
	else diff <($(README_OPTS)) <($<); \
	  echo "0 passed, 1 failed (run make readme-options)"; exit 1; fi
