// C++ operator new and delete, so that C++ allocations are placed like C
// ones. Standard semantics: a failed new runs the new_handler until it
// succeeds or there is none, then throws std::bad_alloc; the nothrow forms do
// the same and return nullptr instead of throwing.
//
// The library does not link libstdc++: loading it costs every exec, C
// programs included. A program whose operator new fails has it loaded (it is
// C++, or a C++ plugin it dlopen'ed brought it), so the failure path finds
// std::get_new_handler and the throw there. Built with -fno-exceptions:
// nothing here throws or catches; libstdc++'s functions do, and exceptions
// pass through these frames on their unwind tables.
#include <cstdint>
#include <cstdlib>
#include <dlfcn.h>
#include <new>

extern "C" {
#include "allocator/log.h"
#include "allocator/malloc.h"
}

#include <jemalloc/jemalloc.h>

#define SITE() (reinterpret_cast<uintptr_t>(__builtin_return_address(0)))

namespace {

// A function of the libstdc++ already loaded, or nullptr. RTLD_NOLOAD finds
// it even when a dlopen'ed plugin brought it in privately (RTLD_LOCAL).
template <typename Fn> Fn cxxrt(const char *name)
{
	void *lib = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_NOLOAD);
	void *fn = lib ? dlsym(lib, name) : nullptr;

	if (lib)
		dlclose(lib); // the reference RTLD_NOLOAD took
	return reinterpret_cast<Fn>(fn);
}

std::new_handler new_handler()
{
	auto get = cxxrt<std::new_handler (*)() noexcept>("_ZSt15get_new_handlerv");
	return get ? get() : nullptr;
}

[[noreturn]] void throw_bad_alloc()
{
	auto raise = cxxrt<void (*)()>("_ZSt17__throw_bad_allocv");
	if (raise)
		raise();
	// Unreachable in practice: operator new is called from C++ code.
	tm_warn("operator new failed and no libstdc++ is loaded to throw "
		"std::bad_alloc");
	abort();
}

// Out of line: the handler loop is the failure path only.
__attribute__((noinline)) void *retry_or_throw(std::size_t size, int flags,
					       uintptr_t site)
{
	for (;;) {
		std::new_handler handler = new_handler();
		if (!handler)
			throw_bad_alloc();
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

// With a new_handler, libstdc++'s own nothrow operator new runs it: it calls
// the throwing operator new (ours) and catches what that throws.
__attribute__((noinline)) void *nothrow_retry(std::size_t size,
					      std::size_t align)
{
	using plain = void *(*)(std::size_t, const std::nothrow_t &) noexcept;
	using aligned = void *(*)(std::size_t, std::align_val_t,
				  const std::nothrow_t &) noexcept;

	const std::nothrow_t nothrow{}; // std::nothrow itself is libstdc++'s

	if (!new_handler())
		return nullptr;
	if (!align) {
		auto fn = cxxrt<plain>("_ZnwmRKSt9nothrow_t");
		return fn ? fn(size, nothrow) : nullptr;
	}
	auto fn = cxxrt<aligned>("_ZnwmSt11align_val_tRKSt9nothrow_t");
	return fn ? fn(size, std::align_val_t{align}, nothrow) : nullptr;
}

void *alloc_or_null(std::size_t size, std::size_t align, uintptr_t site) noexcept
{
	if (void *p = tm_alloc(size, align ? MALLOCX_ALIGN(align) : 0, site)) [[likely]]
		return p;
	return nothrow_retry(size, align);
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
void *operator new(std::size_t n, std::align_val_t a, const std::nothrow_t &) noexcept { return alloc_or_null(n, static_cast<std::size_t>(a), SITE()); }
void *operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t &) noexcept { return alloc_or_null(n, static_cast<std::size_t>(a), SITE()); }

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
