// C++ operator new and delete, so that C++ allocations are placed like C
// ones (libjemalloc exports operators of its own, which would bypass the
// tiers). Standard semantics: a failed new runs the new_handler until it
// succeeds or there is none, then throws std::bad_alloc; the nothrow forms do
// the same and return nullptr instead of throwing. libstdc++ costs nothing
// extra: libjemalloc already loads it into every process.
#include <cstdint>
#include <new>

extern "C" {
#include "malloc.h"
}

#include <jemalloc/jemalloc.h>

#define SITE() (reinterpret_cast<uintptr_t>(__builtin_return_address(0)))

namespace {

// Out of line: the handler loop is the failure path only.
__attribute__((noinline)) void *retry_or_throw(std::size_t size, int flags,
					       uintptr_t site)
{
	for (;;) {
		std::new_handler handler = std::get_new_handler();
		if (!handler)
			throw std::bad_alloc();
		handler();
		if (void *p = tm_alloc(size, flags, site))
			return p;
	}
}

inline void *alloc_or_throw(std::size_t size, int flags, uintptr_t site)
{
	if (void *p = tm_alloc(size, flags, site)) [[likely]]
		return p;
	return retry_or_throw(size, flags, site);
}

void *alloc_or_null(std::size_t size, int flags, uintptr_t site) noexcept
{
	try {
		return alloc_or_throw(size, flags, site);
	} catch (...) {
		return nullptr;
	}
}

int aligned(std::align_val_t align)
{
	return MALLOCX_ALIGN(static_cast<std::size_t>(align));
}

} // namespace

void *operator new(std::size_t n) { return alloc_or_throw(n, 0, SITE()); }
void *operator new[](std::size_t n) { return alloc_or_throw(n, 0, SITE()); }
void *operator new(std::size_t n, const std::nothrow_t &) noexcept { return alloc_or_null(n, 0, SITE()); }
void *operator new[](std::size_t n, const std::nothrow_t &) noexcept { return alloc_or_null(n, 0, SITE()); }
void *operator new(std::size_t n, std::align_val_t a) { return alloc_or_throw(n, aligned(a), SITE()); }
void *operator new[](std::size_t n, std::align_val_t a) { return alloc_or_throw(n, aligned(a), SITE()); }
void *operator new(std::size_t n, std::align_val_t a, const std::nothrow_t &) noexcept { return alloc_or_null(n, aligned(a), SITE()); }
void *operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t &) noexcept { return alloc_or_null(n, aligned(a), SITE()); }

// Deletes are one free: jemalloc finds the size and alignment itself, and
// takes the size where C++ gives it.
void operator delete(void *p) noexcept { tm_free(p); }
void operator delete[](void *p) noexcept { tm_free(p); }
void operator delete(void *p, std::size_t n) noexcept { tm_free_sized(p, n); }
void operator delete[](void *p, std::size_t n) noexcept { tm_free_sized(p, n); }
void operator delete(void *p, const std::nothrow_t &) noexcept { tm_free(p); }
void operator delete[](void *p, const std::nothrow_t &) noexcept { tm_free(p); }
void operator delete(void *p, std::align_val_t) noexcept { tm_free(p); }
void operator delete[](void *p, std::align_val_t) noexcept { tm_free(p); }
void operator delete(void *p, std::size_t, std::align_val_t) noexcept { tm_free(p); }
void operator delete[](void *p, std::size_t, std::align_val_t) noexcept { tm_free(p); }
void operator delete(void *p, std::align_val_t, const std::nothrow_t &) noexcept { tm_free(p); }
void operator delete[](void *p, std::align_val_t, const std::nothrow_t &) noexcept { tm_free(p); }
