/* The malloc family entry points (malloc.c) and what the rest of the library
 * needs of them. */
#ifndef TM_MALLOC_H
#define TM_MALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Switch from the start-up path to jemalloc's own functions (one tier) or to
 * the tier arenas. */
void tm_malloc_bind(bool tiered);

/* Allocation with jemalloc flags (MALLOCX_ALIGN, MALLOCX_ZERO), placed on a
 * tier when tiered; site is the caller's return address. NULL + ENOMEM when
 * no tier can serve it. Used by the C++ operators too. */
void *tm_alloc(size_t size, int flags, uintptr_t site);
void tm_free(void *p);

/* Free of a block whose requested size is known (C++ sized delete). */
void tm_free_sized(void *p, size_t size);

#endif
