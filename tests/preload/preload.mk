# tests/preload: the LD_PRELOAD suites of the allocator (issue 2).
#
#   make test-preload     build the test programs, run tests/preload/run.sh
#
# run.sh runs, under LD_PRELOAD=build/libtiermalloc.so: conformance programs
# (malloc family, C++ new/delete, a C++ plugin dlopen()ed by a C program),
# real programs compared byte for byte with a run without the library, bad
# configuration, hardening (descriptors 0-2 closed or reused, AT_SECURE,
# symlinked sysfs trees, fork while the services start), stress (threads, fork, thread churn), the same programs on
# the tiered path (a fake two-node TIERMALLOC_SYSFS tree makes this one-node
# host run tiered), sanitizer and valgrind runs, and redis-server. It prints
# ok/FAIL/skip lines and ends with "N passed, N failed[, N skipped]". Debian
# packages it needs: tests/preload/packages.txt.
#
# Sanitizers and valgrind, and why they are used this way:
#  - ASan/UBSan cannot check the library itself: ASan's runtime replaces
#    malloc, so a preloaded allocator would be either bypassed or in
#    conflict. The test programs are therefore also built with
#    -fsanitize=address,undefined ($(PL_B)/asan/) and run WITHOUT the library
#    against glibc/ASan: a check of the tests themselves (a test that
#    overruns its own blocks would otherwise blame the allocator).
#  - UBSan alone does not replace malloc, so the library is rebuilt with
#    -fsanitize=undefined -fno-sanitize-recover ($(PL_B)/ubsan/) and the
#    conformance, stress and hostile-configuration runs are repeated under
#    it: undefined behaviour in our own code aborts the run.
#  - TSan is incompatible with any preloaded malloc: its runtime must
#    intercept malloc itself; a TSan-built program under LD_PRELOAD of our
#    library dies with SIGSEGV at start-up. The threaded stress program is
#    built with -fsanitize=thread and run without the library, to check the
#    test's own synchronisation.
#  - valgrind memcheck by default replaces the malloc of every object
#    without a DT_SONAME, and libtiermalloc.so has none: it would silently
#    test valgrind's allocator. --soname-synonyms=somalloc=<no match> keeps
#    ours: tiermalloc and jemalloc then run natively under memcheck, which
#    checks our code for uses of uninitialised values, bad syscall
#    parameters and accesses outside mappings (not heap bounds: memcheck
#    cannot see inside a foreign allocator). A canary with a known error
#    proves the setup reports errors.
#  - helgrind and DRD were tried the same way and are not used: jemalloc's
#    C11 atomics and lock-free tcache paths, which they do not model, give
#    hundreds of false "possible data race" reports per run, and Debian's
#    libjemalloc has no symbols to suppress them precisely.

PL_SRC := tests/preload
PL_B := $(B)/tests/preload
PL_HDR := $(PL_SRC)/preload.h tests/check.h
PL_CFLAGS := -O2 -g -Wall -Wextra -Wno-unused-parameter -pthread
PL_SAN := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	  -Wno-unused-parameter -pthread

PL_C := conform stress_threads stress_fork stdio_exit busy dlopen_cxx lowfds \
	fork_start vma_flat quota_exact many_threads exec_faults tier_full \
	mallctl_lazy
PL_CXX := conform_cxx stress_churn mt_map sized_delete
PL_ASAN_C := conform stress_threads stress_fork
PL_ASAN_CXX := conform_cxx stress_churn

PL_BINS := $(addprefix $(PL_B)/,$(PL_C) $(PL_CXX) optlist vg_canary secure_env) \
	   $(PL_B)/cxx_plugin.so $(PL_B)/libempty_preload.so \
	   $(addprefix $(PL_B)/asan/,$(PL_ASAN_C) $(PL_ASAN_CXX)) \
	   $(PL_B)/tsan/stress_threads $(PL_B)/ubsan/libtiermalloc.so \
	   $(PL_B)/interpose/libtiermalloc.so

$(addprefix $(PL_B)/,$(PL_C)): $(PL_B)/%: $(PL_SRC)/%.c $(PL_HDR)
	@mkdir -p $(@D)
	$(CC) -std=gnu11 $(PL_CFLAGS) $< -o $@ -ldl

# its pthread_create stands in for libc's, for the library's calls too
$(PL_B)/fork_start $(PL_B)/mallctl_lazy: PL_CFLAGS += -rdynamic
# their mallctl and sdallocx stand in for jemalloc's, to count the calls
# (under $(PL_B)/interpose/libtiermalloc.so)
$(PL_B)/many_threads $(PL_B)/sized_delete: PL_CFLAGS += -rdynamic

$(addprefix $(PL_B)/,$(PL_CXX)): $(PL_B)/%: $(PL_SRC)/%.cc $(PL_HDR)
	@mkdir -p $(@D)
	$(CXX) -std=c++17 $(PL_CFLAGS) $< -o $@ -ldl

$(PL_B)/libempty_preload.so: $(PL_SRC)/empty_preload.c
	@mkdir -p $(@D)
	$(CC) $(PL_CFLAGS) -shared -fPIC $< -o $@

$(PL_B)/cxx_plugin.so: $(PL_SRC)/cxx_plugin.cc
	@mkdir -p $(@D)
	$(CXX) -std=c++17 $(PL_CFLAGS) -shared -fPIC $< -o $@

# linked with the library, not preloaded (see the program)
$(PL_B)/secure_env: $(PL_SRC)/secure_env.c $(PL_HDR) $(B)/libtiermalloc.so
	@mkdir -p $(@D)
	$(CC) -std=gnu11 $(PL_CFLAGS) -Iinclude $< -o $@ -L$(B) -ltiermalloc \
	      -Wl,-rpath,$(abspath $(B)) -ldl

# uninitialised on purpose; -O0 keeps the branch
$(PL_B)/vg_canary: $(PL_SRC)/vg_canary.c
	@mkdir -p $(@D)
	$(CC) -O0 -g -w $< -o $@

# the option table itself, from the library's own config.c
$(PL_B)/optlist: $(PL_SRC)/optlist.c $(B)/libtmcore.a allocator/config.h
	@mkdir -p $(@D)
	$(CC) -std=gnu11 $(PL_CFLAGS) -I. -Iinclude $< $(B)/libtmcore.a \
	      -o $@

$(addprefix $(PL_B)/asan/,$(PL_ASAN_C)): $(PL_B)/asan/%: $(PL_SRC)/%.c $(PL_HDR)
	@mkdir -p $(@D)
	$(CC) -std=gnu11 $(PL_SAN) $< -o $@ -ldl

$(addprefix $(PL_B)/asan/,$(PL_ASAN_CXX)): $(PL_B)/asan/%: $(PL_SRC)/%.cc $(PL_HDR)
	@mkdir -p $(@D)
	$(CXX) -std=c++17 $(PL_SAN) $< -o $@ -ldl

$(PL_B)/tsan/stress_threads: $(PL_SRC)/stress_threads.c $(PL_HDR)
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O1 -g -fsanitize=thread -pthread $< -o $@ -ldl

# The library again, with UBSan: the same sources and link flags as
# $(B)/libtiermalloc.so in the Makefile (keep the two in step).
PL_UBSAN_OBJ := $(patsubst $(B)/obj/%,$(PL_B)/ubsan/obj/%,$(LIB_OBJ))
$(PL_B)/ubsan/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) -O1 -g $(TM_CFLAGS) -fsanitize=undefined \
	      -fno-sanitize-recover=undefined -c $< -o $@
$(PL_B)/ubsan/obj/%.o: %.cc
	@mkdir -p $(@D)
	$(CXX) -O1 -g $(TM_CXXFLAGS) -fsanitize=undefined \
	      -fno-sanitize-recover=undefined -c $< -o $@
# Its mallctl tree is relocated at first use, as in $(B)/libtiermalloc.so.
$(PL_B)/ubsan/libtiermalloc.so: $(PL_UBSAN_OBJ) $(TM_JEMALLOC) allocator/exports.map \
				allocator/exec.ld tools/defer_relocs.py
	$(CC) -shared -fsanitize=undefined -o $@.tmp $(PL_UBSAN_OBJ) $(TM_LIBS) \
	      -Wl,-z,nodelete -Wl,-Bsymbolic-functions \
	      -Wl,--version-script=allocator/exports.map
	tools/defer_relocs.py $@.tmp
	mv $@.tmp $@
-include $(PL_UBSAN_OBJ:.o=.d)

# The library again, without -Bsymbolic-functions: jemalloc is linked in, so
# the library's own calls to its API (mallctl, sdallocx) bind directly and
# nothing can count them. Here they go through the PLT, where many_threads
# and sized_delete stand in for them. Otherwise $(B)/libtiermalloc.so's link.
$(PL_B)/interpose/libtiermalloc.so: $(LIB_OBJ) $(TM_JEMALLOC) allocator/exports.map allocator/exec.ld
	@mkdir -p $(@D)
	$(CC) -shared -o $@ $(LIB_OBJ) $(TM_LIBS) -Wl,-z,nodelete -Wl,-z,defs \
	      -Wl,--version-script=allocator/exports.map

HOST_SUITES += test-preload
.PHONY: test-preload preload-bins
preload-bins: $(B)/libtiermalloc.so $(PL_BINS)
test-preload: preload-bins
	$(PL_SRC)/run.sh $(B)
