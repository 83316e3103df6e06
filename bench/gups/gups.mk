# bench/gups: GUPS with a hot set, scored by page location (issue 4).
#
#   make bench-gups     bench/gups/gups.sh in the two-tier guest, once per
#                       mode (BENCH_GUPS_MODES, default "hmat kmem")
#   make bench-tiering  bench/gups/tiering.sh in the kmem guest (issue 6):
#                       bench/results/tiering.md, tiering.csv, tiering.png
#   make bench-cxl      bench/gups/cxl.sh in the cxl guest (issue 13):
#                       throughput by placement before and after a
#                       popularity shift, bench/results/cxl.md, cxl.png
#                       and cxl-intervals.csv (BENCH_CXL_WORKLOADS, default
#                       "gups kv redis"; BENCH_CXL_RATIOS, 4;
#                       BENCH_CXL_RUNS, 3; BENCH_CXL_CONFIGS, a subset of
#                       the placements, default all)
#   make bench-bigheap  bench/gups/bigheap.sh in an hmat guest with node 0
#                       1.5 GiB and node 1 4.5 GiB (issue 14): the heat
#                       policy's CPU per period per GiB and its memory at a
#                       4 GiB heap beside 512 MiB (BENCH_BIGHEAP_ARGS, e.g.
#                       '--runs 1'); bench/results/big-heap.csv, the
#                       write-up in bench/results/big-heap.md by hand
#
# Included by bench/bench.mk and by tests/policy/policy.mk (its guest test
# runs it), hence the guard.
ifndef GUPS_MK
GUPS_MK := 1

GUPS_BIN := $(B)/bench/gups/gups
VM_TEST_BINS += $(GUPS_BIN)

$(GUPS_BIN): bench/gups/gups.c bench/gups/tlb_turnover.h bench/gups/zipf.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -std=gnu11 -Wall -Wextra -o $@ $< -ldl -pthread -lm

# bench-cxl's redis workload: our client, and the TLB flusher preloaded
# into the server.
REDIS_ZIPF_BIN := $(B)/bench/gups/redis_zipf
TLB_TURNOVER_SO := $(B)/bench/gups/libtlb_turnover.so
$(REDIS_ZIPF_BIN): bench/gups/redis_zipf.c bench/gups/zipf.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -std=gnu11 -Wall -Wextra -o $@ $< -lm
$(TLB_TURNOVER_SO): bench/gups/tlb_turnover_preload.c bench/gups/tlb_turnover.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -std=gnu11 -Wall -Wextra -shared -fPIC -o $@ $< -pthread

.PHONY: bench-gups
bench-gups: all $(GUPS_BIN)
	@for m in $(or $(BENCH_GUPS_MODES),hmat kmem); do \
	  echo "=== $$m"; tests/vm/run-guest.sh --mode $$m --timeout 400 -- \
	    bench/gups/gups.sh || exit 1; done

TIERING_RUN := $(B)/vm/results/tiering
.PHONY: bench-tiering
bench-tiering: all $(GUPS_BIN)
	@rm -rf $(TIERING_RUN) && mkdir -p $(TIERING_RUN) bench/results
	tests/vm/run-guest.sh --mode kmem --timeout 1200 --results $(TIERING_RUN) -- \
	  bench/gups/tiering.sh
	@{ echo "# Tiering side by side (make bench-tiering, two-tier guest, kmem mode)"; echo; \
	  echo "Final fast-tier access share relative to the oracle (intervals of 500 ms to reach 0.9);"; \
	  echo "64 MiB footprint; gups: 8 MiB hot set, 90% of updates; kv: 1 KiB values, Zipf 0.99."; echo; \
	  cat $(TIERING_RUN)/tiering.md; echo; \
	  if [ -s $(TIERING_RUN)/tiering-failures.txt ]; then echo "Runs without a result:"; echo; \
	    sed 's/^/    /' $(TIERING_RUN)/tiering-failures.txt; fi; } >bench/results/tiering.md
	cp $(TIERING_RUN)/tiering.csv bench/results/tiering.csv
	/usr/bin/python3 bench/gups/tiering_plot.py bench/results/tiering.csv bench/results/tiering.png
	@cat bench/results/tiering.md

CXL_RUN := $(B)/vm/results/bench-cxl
.PHONY: bench-cxl
bench-cxl: all $(GUPS_BIN) $(REDIS_ZIPF_BIN) $(TLB_TURNOVER_SO)
	@bench/deps.sh
	@rm -rf $(CXL_RUN) && mkdir -p $(CXL_RUN) bench/results
	tests/vm/run-guest.sh --mode cxl --timeout 5400 --results $(CXL_RUN) -- \
	  env BENCH_CXL_WORKLOADS="$(or $(BENCH_CXL_WORKLOADS),gups kv redis)" \
	  BENCH_CXL_RATIOS="$(or $(BENCH_CXL_RATIOS),4)" BENCH_CXL_RUNS=$(or $(BENCH_CXL_RUNS),3) \
	  BENCH_CXL_CONFIGS="$(BENCH_CXL_CONFIGS)" \
	  bench/gups/cxl.sh
	@{ echo "# Throughput by placement (make bench-cxl, cxl guest)"; echo; \
	  cat $(CXL_RUN)/cxl.md; } >bench/results/cxl.md
	cp $(CXL_RUN)/cxl-intervals.csv bench/results/cxl-intervals.csv
	/usr/bin/python3 bench/gups/cxl_plot.py bench/results/cxl-intervals.csv bench/results/cxl.png

# The guest's memory: the 4 GiB heap's quarter in DRAM beside the kernel,
# the tmpfs and the tools; node 1 the rest with room to spare.
BIGHEAP_RUN := $(B)/vm/results/bigheap
.PHONY: bench-bigheap
bench-bigheap: all $(GUPS_BIN)
	@rm -rf $(BIGHEAP_RUN) && mkdir -p $(BIGHEAP_RUN) bench/results
	tests/vm/run-guest.sh --mode hmat --node0 1536 --node1 4608 --timeout 3600 \
	  --results $(BIGHEAP_RUN) -- bench/gups/bigheap.sh $(BENCH_BIGHEAP_ARGS)
	cp $(BIGHEAP_RUN)/bigheap.csv bench/results/big-heap.csv

endif
