# The stats server and tierstat: unit tests of the protocol's pure parts,
# live tests against processes running under LD_PRELOAD (every request,
# security, hostile clients, tierstat end to end), the protocol and hostile
# tests again against the server built with AddressSanitizer, and a short
# fuzz run of the request parser. Python tests use Debian's python3
# (matplotlib, PIL).
STATS_PY    := PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3
STATS_BIN   := $(B)/tests/stats
STATS_UNITS := $(STATS_BIN)/unit_json_proto $(STATS_BIN)/unit_policy_view
STATS_LIVE  := protocol security hostile tierstat
STATS_OBJ   := $(addprefix $(B)/obj/,stats/json.o stats/proto.o allocator/config.o \
               allocator/log.o allocator/prim/fd.o allocator/prim/file.o \
               allocator/prim/os.o)
# The policy's view asks the policy for its snapshot: unit_policy_view
# provides one of made-up numbers.
STATS_POLICY_OBJ := $(addprefix $(B)/obj/stats/,policy.o sites.o)
STATS_ENV   := TM_LIB=$(B)/libtiermalloc.so TM_VICTIM=$(STATS_BIN)/victim \
               TM_TIERSTAT=$(B)/tierstat
# The server and what it calls, for the ASan build (asan_services.c).
STATS_ASAN_SRC := $(addprefix stats/,json.c proto.c heap.c policy.c report.c \
                  server.c sites.c statsd.c) \
                  $(addprefix allocator/,services.c plugin.c snapshot.c config.c log.c tiers.c \
                  placement.c arena.c runtime.c prim/sock.c prim/fd.c prim/file.c prim/os.c)
HOST_SUITES += test-stats

$(STATS_BIN)/unit_json_proto: STATS_UNIT_OBJ := $(STATS_OBJ)
$(STATS_BIN)/unit_policy_view: STATS_UNIT_OBJ := $(STATS_OBJ) $(STATS_POLICY_OBJ)
$(STATS_BIN)/unit_%: tests/stats/unit_%.c $(STATS_OBJ) $(STATS_POLICY_OBJ) tests/check.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -std=gnu11 -Wall -Wextra -I. \
	      -Itests $< $(STATS_UNIT_OBJ) -ldl -lm -o $@

$(STATS_BIN)/victim: tests/stats/victim.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -std=gnu11 -Wall -Wextra -pthread $< -o $@

$(STATS_BIN)/asan/victim: tests/stats/victim.c tests/stats/asan_services.c \
                         $(STATS_ASAN_SRC)
	@mkdir -p $(@D)
	clang -g -O1 -std=gnu11 -fsanitize=address,undefined \
	      -fno-sanitize-recover=all -fno-omit-frame-pointer -I. \
	      $^ -ljemalloc -ldl -lpthread -o $@

.PHONY: test-stats test-stats-unit test-stats-live test-stats-asan
test-stats: test-stats-unit test-stats-live test-stats-asan fuzz-proto

test-stats-unit: $(STATS_UNITS)
	@rc=0; for t in $^; do printf '%s: ' $${t##*/}; $$t || rc=1; done; exit $$rc

test-stats-live: $(B)/libtiermalloc.so $(STATS_BIN)/victim $(B)/tierstat \
                 $(B)/tools/options_doc
	@rc=0; for t in $(STATS_LIVE); do \
	  $(STATS_ENV) $(STATS_PY) tests/stats/test_$$t.py || rc=1; done; exit $$rc

# No library to preload: the server is linked into the victim.
test-stats-asan: $(STATS_BIN)/asan/victim $(B)/tools/options_doc
	@rc=0; for t in protocol hostile; do \
	  TM_LIB= TM_VICTIM=$< $(STATS_PY) tests/stats/test_$$t.py || rc=1; \
	done; exit $$rc

-include tests/fuzz/fuzz-proto.mk
