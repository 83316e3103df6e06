// C++ sized delete keeps its size in tiered mode (issue 12): the library
// hands it to jemalloc's sdallocx, which then skips the size lookup. The
// program counts sdallocx calls by standing in for jemalloc's (linked
// -rdynamic, run under the library build that calls it through the PLT).
// Run tiered with a 4 KiB threshold: blocks of both tiers.
#include <atomic>
#include <cstring>
#include <initializer_list>
#include <new>

#include "preload.h"

#define ROUNDS 1000

typedef void (*sdallocx_fn)(void *, size_t, int);
static sdallocx_fn real_sdallocx;
static std::atomic<long> sized;

extern "C" void sdallocx(void *p, size_t size, int flags)
{
	sized++;
	if (!real_sdallocx) // the library may call it before our constructors
		real_sdallocx = (sdallocx_fn)dlsym(RTLD_NEXT, "sdallocx");
	real_sdallocx(p, size, flags);
}

int main()
{
	tm_expect_environment();
	for (size_t size : {size_t(32), size_t(8192)}) {
		long before = sized;
		for (int i = 0; i < ROUNDS; i++) {
			void *p = ::operator new(size);
			std::memset(p, 1, size);
			::operator delete(p, size);
		}
		CHECK(sized - before >= ROUNDS,
		      "%zu-byte blocks: %ld of %d sized deletes reach sdallocx", size,
		      sized - before, ROUNDS);
	}
	return check_summary();
}
