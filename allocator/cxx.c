/* C++ operator new and delete, so that C++ allocations are placed like C ones
 * (libjemalloc exports its own operators, which would bypass the tiers).
 *
 * Written in C against the Itanium C++ ABI names, to keep libstdc++ out of
 * processes that have none. Where libstdc++ is loaded, a failed new runs the
 * new_handler and throws std::bad_alloc through it, as the standard says; the
 * nothrow forms return NULL instead of calling the handler, since C cannot
 * catch what a handler throws. */
#include <errno.h>
#include <jemalloc/jemalloc.h>
#include <stdint.h>
#include <stdlib.h>

#include "malloc.h"
#include "runtime.h"

#define SITE() ((uintptr_t)__builtin_return_address(0))

typedef void (*new_handler_fn)(void);
extern new_handler_fn _ZSt15get_new_handlerv(void) __attribute__((weak));
extern void _ZSt17__throw_bad_allocv(void) __attribute__((weak, noreturn));

static void *new_or_throw(size_t size, int flags, uintptr_t site)
{
	for (;;) {
		void *p = tm_alloc(size, flags, site);
		if (TM_LIKELY(p != NULL))
			return p;
		new_handler_fn handler =
			_ZSt15get_new_handlerv ? _ZSt15get_new_handlerv() : NULL;
		if (handler) {
			handler();
			continue;
		}
		if (_ZSt17__throw_bad_allocv)
			_ZSt17__throw_bad_allocv();
		abort(); /* operator new cannot return NULL */
	}
}

#define ALIGNED(a) MALLOCX_ALIGN(a)

/* The C++ headers declare these; C has no prototypes to offer. */
#pragma GCC diagnostic ignored "-Wmissing-prototypes"

/* operator new / new[] (size), (size, nothrow), (size, align), (size, align, nothrow) */
TM_EXPORT void *_Znwm(size_t n) { return new_or_throw(n, 0, SITE()); }
TM_EXPORT void *_Znam(size_t n) { return new_or_throw(n, 0, SITE()); }
TM_EXPORT void *_ZnwmRKSt9nothrow_t(size_t n, const void *t) { return tm_alloc(n, 0, SITE()); }
TM_EXPORT void *_ZnamRKSt9nothrow_t(size_t n, const void *t) { return tm_alloc(n, 0, SITE()); }
TM_EXPORT void *_ZnwmSt11align_val_t(size_t n, size_t a) { return new_or_throw(n, ALIGNED(a), SITE()); }
TM_EXPORT void *_ZnamSt11align_val_t(size_t n, size_t a) { return new_or_throw(n, ALIGNED(a), SITE()); }
TM_EXPORT void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t n, size_t a, const void *t) { return tm_alloc(n, ALIGNED(a), SITE()); }
TM_EXPORT void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t n, size_t a, const void *t) { return tm_alloc(n, ALIGNED(a), SITE()); }

/* operator delete / delete[]: plain, sized, aligned, nothrow; all one free. */
TM_EXPORT void _ZdlPv(void *p) { tm_free(p); }
TM_EXPORT void _ZdaPv(void *p) { tm_free(p); }
TM_EXPORT void _ZdlPvm(void *p, size_t n) { tm_free(p); }
TM_EXPORT void _ZdaPvm(void *p, size_t n) { tm_free(p); }
TM_EXPORT void _ZdlPvRKSt9nothrow_t(void *p, const void *t) { tm_free(p); }
TM_EXPORT void _ZdaPvRKSt9nothrow_t(void *p, const void *t) { tm_free(p); }
TM_EXPORT void _ZdlPvSt11align_val_t(void *p, size_t a) { tm_free(p); }
TM_EXPORT void _ZdaPvSt11align_val_t(void *p, size_t a) { tm_free(p); }
TM_EXPORT void _ZdlPvmSt11align_val_t(void *p, size_t n, size_t a) { tm_free(p); }
TM_EXPORT void _ZdaPvmSt11align_val_t(void *p, size_t n, size_t a) { tm_free(p); }
TM_EXPORT void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p, size_t a, const void *t) { tm_free(p); }
TM_EXPORT void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p, size_t a, const void *t) { tm_free(p); }
