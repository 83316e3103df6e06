# tiermalloc: tiered-memory malloc on jemalloc.
#
#   make            build/libtiermalloc.so and the tools
#   make test       every suite CI runs (host tests, then the two-tier guest)
#   make demo       the tiering demo in the two-tier QEMU guest
#   make bench      the side-by-side allocator benchmarks
#
# Each area owns a make fragment (tests/*.mk, tests/vm/vm.mk, tools/tools.mk,
# bench/bench.mk); this file holds the library build and the top-level goals.

SHELL   := /bin/bash
CC      ?= cc
CXX     ?= c++
CFLAGS  ?= -O2 -g
B       := build
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wno-unused-parameter
TM_CFLAGS := -std=gnu11 -fPIC -fvisibility=hidden -pthread $(WARN) \
             -I. -MMD -MP
# -fno-exceptions: the C++ operators (cxx.cc) neither throw nor catch
# themselves; libstdc++, found at run time, does (see cxx.cc).
TM_CXXFLAGS := -std=gnu++17 -fPIC -fvisibility=hidden -fno-exceptions -pthread \
               -Wall -Wextra -I. -MMD -MP
TM_JEMALLOC := $(B)/jemalloc/libjemalloc_tm.a
# Nothing but libc at run time: -static-libgcc links in the unwinder that
# jemalloc's heap profiler walks stacks with (prof_sys.c), instead of loading
# libgcc_s.so.1 at every exec; its log, exp and round are ours (je_math.c),
# not libm's.
# --wrap: a thread that frees folds its counts in jemalloc's thread events
# (malloc.c).
# allocator/exec.ld: what every exec runs and writes, gathered into the
# fewest pages (the script says why and what); the lookups of jemalloc's
# mallctl tree are wrapped to relocate it at its first use (je_ctl.c).
# --no-undefined-version: every symbol exports.map exports must be defined
# here; a lost entry point (free) would otherwise link to libc's unnoticed.
TM_JE_CTL_LOOKUPS := byname nametomib bymib mibnametomib bymibname
TM_LIBS := $(TM_JEMALLOC) -lpthread -ldl -static-libgcc -Wl,--wrap=je_te_event_trigger \
           $(TM_JE_CTL_LOOKUPS:%=-Wl,--wrap=je_ctl_%) -Wl,-T,allocator/exec.ld \
           -Wl,--no-undefined-version

# Library objects: every .c under allocator/, policy/ and stats/, and the C++
# operators (cxx.cc). malloc.o and cxx.o hold the interposed entry points, so
# unit tests link everything but them.
LIB_SRC   := $(sort $(wildcard allocator/*.c allocator/prim/*.c policy/*.c stats/*.c)) \
             allocator/cxx.cc
LIB_OBJ   := $(patsubst %.cc,$(B)/obj/%.o,$(LIB_SRC:%.c=$(B)/obj/%.o))
CORE_OBJ  := $(filter-out $(B)/obj/allocator/malloc.o $(B)/obj/allocator/cxx.o,$(LIB_OBJ))

.PHONY: all deps test clean
all: $(B)/libtiermalloc.so

# A fresh machine gets the build's Debian packages before the first compile;
# `make deps` installs what every suite needs too.
$(B)/.build-deps: tools/packages.txt
	@mkdir -p $(@D)
	tools/deps.sh tools/packages.txt
	@touch $@

deps:
	tools/deps.sh

$(B)/obj/%.o: %.c | $(B)/.build-deps
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(TM_CFLAGS) -c $< -o $@

$(B)/obj/%.o: %.cc | $(B)/.build-deps
	@mkdir -p $(@D)
	$(CXX) $(CFLAGS) $(TM_CXXFLAGS) -c $< -o $@

# -z nodelete: the library must outlive every destructor that may still call
# free(); -Bsymbolic keeps our own internal calls off the interposition path;
# -z defs: every symbol resolves at link time, so nothing can come to need
# libstdc++ (or anything unlinked) unnoticed.
# The soname's number is the public API's major version (include/tiermalloc.h).
TM_SOVERSION := $(shell sed -n 's/^\#define TM_VERSION_MAJOR //p' include/tiermalloc.h)
TM_VERSION   := $(TM_SOVERSION).$(shell sed -n 's/^\#define TM_VERSION_MINOR //p' include/tiermalloc.h)
# jemalloc is linked in from Debian's libjemalloc_pic.a rather than loaded
# as libjemalloc.so.2: one object less for ld.so at every exec, and none of
# the libstdc++ it pulls in (its C++ operators, jemalloc_cpp, are left out;
# ours are in cxx.cc). Its malloc family is renamed (tm_je_*, called by
# malloc.c) or made local, as ours is the one exported; its own API
# (mallctl, mallocx, ...) is exported (exports.map), so a program that calls
# mallctl itself (redis) reaches the jemalloc that allocates.
#
# jemalloc starts at the first allocation, not at exec: its constructor (the
# .init_array of jemalloc.pic.o, its only one) is taken out, and its
# pthread_atfork goes through tm_je_pthread_atfork (init.c), which puts our
# fork handlers after its own whenever it starts. Its profiler's log, exp and
# round are ours (je_math.c).
TM_JE_RENAME := malloc free calloc realloc pthread_atfork log exp round
TM_JE_LOCAL  := aligned_alloc memalign posix_memalign valloc malloc_usable_size
$(TM_JEMALLOC): Makefile | $(B)/.build-deps
	@mkdir -p $(@D)
	cp "$$($(CC) -print-file-name=libjemalloc_pic.a)" $@.tmp
	ar d $@.tmp jemalloc_cpp.pic.o
	objcopy $(foreach f,$(TM_JE_RENAME),--redefine-sym $(f)=tm_je_$(f)) \
	        $(TM_JE_LOCAL:%=--localize-symbol=%) \
	        --remove-section=.init_array --remove-section=.rela.init_array \
	        $@.tmp $@
	rm $@.tmp

# tools/defer_relocs.py: the loader leaves the mallctl tree's relocations to
# je_ctl.c (one page fault less per page of it at every exec).
$(B)/libtiermalloc.so: $(LIB_OBJ) $(TM_JEMALLOC) allocator/exports.map \
		       allocator/exec.ld tools/defer_relocs.py Makefile
	$(CC) -shared -o $@.tmp $(LIB_OBJ) $(LDFLAGS) $(TM_LIBS) -Wl,-z,nodelete \
	      -Wl,-z,defs -Wl,-soname,libtiermalloc.so.$(TM_SOVERSION) \
	      -Wl,-Bsymbolic-functions -Wl,--version-script=allocator/exports.map
	tools/defer_relocs.py $@.tmp
	mv $@.tmp $@
	ln -sf libtiermalloc.so $(B)/libtiermalloc.so.$(TM_SOVERSION) # for -ltiermalloc

# Core objects as an archive, for unit tests and fuzzers.
$(B)/libtmcore.a: $(CORE_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

-include tests/tests.mk
-include tests/vm/alloc.mk
-include tests/vm/vm.mk
-include tools/tools.mk
-include bench/bench.mk
-include tools/install.mk

# Everything CI runs: the host suites, then the two-tier guest.
test: deps
	$(MAKE) test-host
	$(MAKE) vm-test

clean:
	rm -rf $(B)

-include $(LIB_OBJ:.o=.d)
