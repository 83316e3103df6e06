# libFuzzer target of the stats protocol's request side (fuzz_proto.c),
# built with Debian's clang and libclang-rt-14-dev. `make fuzz-proto` runs it
# for FUZZ_PROTO_S seconds (CI: 20); for a long run, see fuzz_proto.c.
FUZZ_PROTO     := $(B)/fuzz/fuzz_proto
FUZZ_PROTO_S   ?= 20
FUZZ_PROTO_SRC := tests/fuzz/fuzz_proto.c stats/json.c stats/proto.c
FUZZ_PROTO_LOG := $(B)/fuzz/fuzz-proto.log

$(FUZZ_PROTO): $(FUZZ_PROTO_SRC) stats/json.h stats/proto.h
	@mkdir -p $(@D)
	clang -g -O1 -std=gnu11 -Wall -I. \
	      -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	      $(FUZZ_PROTO_SRC) -o $@

.PHONY: fuzz-proto
fuzz-proto: $(FUZZ_PROTO)
	@mkdir -p $(B)/fuzz/corpus-proto
	@if $(FUZZ_PROTO) -max_total_time=$(FUZZ_PROTO_S) -max_len=9000 \
	     -dict=tests/fuzz/proto.dict $(B)/fuzz/corpus-proto \
	     tests/fuzz/seeds-proto >$(FUZZ_PROTO_LOG) 2>&1; then \
	  grep -o 'Done [0-9]* runs in [0-9]* second(s)' $(FUZZ_PROTO_LOG); \
	  echo "fuzz-proto: 1 passed, 0 failed"; \
	else tail -40 $(FUZZ_PROTO_LOG); echo "fuzz-proto: 0 passed, 1 failed"; \
	  exit 1; fi
