/* Conformance of the malloc family as glibc users expect it (DESIGN.md:
 * "Full malloc semantics"). Run under LD_PRELOAD=libtiermalloc.so with
 * TM_TEST_PRELOAD=1; built with ASan/UBSan and run with TM_TEST_PRELOAD=0 it
 * checks the test against glibc/ASan, where the few points on which glibc
 * differs from our contract are left out (marked "library contract"). */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "preload.h"

/* A failed realloc leaves the block valid; GCC cannot know it failed. */
#if defined(__GNUC__) && __GNUC__ >= 12
#pragma GCC diagnostic ignored "-Wuse-after-free"
#endif

static size_t page;

/* Keep the compiler from folding calls with constant huge sizes. */
static size_t opaque(size_t v)
{
	volatile size_t x = v;
	return x;
}

static int aligned_to(const void *p, size_t a)
{
	return ((uintptr_t)p & (a - 1)) == 0;
}

/* Every entry point this program calls is the library's: a function the
 * library forgot to export would silently fall through to glibc's. */
static void test_symbols(void)
{
	if (!tm_under_lib)
		return;
	struct { const char *name; void *fn; } fns[] = {
		{"malloc", (void *)malloc}, {"free", (void *)free},
		{"calloc", (void *)calloc}, {"realloc", (void *)realloc},
		{"reallocarray", (void *)reallocarray},
		{"posix_memalign", (void *)posix_memalign},
		{"aligned_alloc", (void *)aligned_alloc},
		{"memalign", (void *)memalign}, {"valloc", (void *)valloc},
		{"pvalloc", (void *)pvalloc},
		{"malloc_usable_size", (void *)malloc_usable_size},
	};
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		Dl_info di;
		void *volatile fn = fns[i].fn;
		int ours = dladdr(fn, &di) && di.dli_fname &&
			   strstr(di.dli_fname, "libtiermalloc");
		CHECK(ours, "%s resolves to libtiermalloc, not %s", fns[i].name,
		      dladdr(fn, &di) && di.dli_fname ? di.dli_fname : "?");
	}
}

static void test_malloc_zero(void)
{
	void *p = malloc(opaque(0)), *q = malloc(opaque(0));
	CHECK(p != NULL && q != NULL, "malloc(0) returns a pointer");
	CHECK(p != q, "two malloc(0) differ");
	CHECK(malloc_usable_size(p) < 4096, "malloc(0) is a small block");
	free(p);
	free(q);
	/* many of them at once: all distinct and freeable */
	enum { N = 1000 };
	static void *v[N];
	int distinct = 1;
	for (int i = 0; i < N; i++)
		v[i] = malloc(opaque(0));
	for (int i = 1; i < N && distinct; i++)
		distinct = v[i] && v[i] != v[i - 1];
	CHECK(distinct, "1000 live malloc(0) pointers are non-NULL and distinct");
	for (int i = 0; i < N; i++)
		free(v[i]);
}

static void test_realloc_basic(void)
{
	errno = 0;
	char *p = realloc(NULL, 100);
	CHECK(p != NULL, "realloc(NULL, 100) allocates");
	CHECK(malloc_usable_size(p) >= 100, "realloc(NULL, 100) usable >= 100");
	memset(p, 0x5a, 100);
	void *r = realloc(p, 0);
	CHECK(r == NULL, "realloc(p, 0) returns NULL");
	/* realloc(NULL, 0) is malloc(0): a unique pointer */
	void *z = realloc(NULL, 0);
	CHECK(z != NULL, "realloc(NULL, 0) returns a pointer");
	free(z);

	/* realloc(p, 0) really frees: 256 x 32 MiB would be 8 GiB of address
	 * space if it leaked. */
	size_t v0, r0, v1, r1;
	tm_mem_usage(&v0, &r0);
	for (int i = 0; i < 256; i++) {
		char *b = malloc(32 << 20);
		if (!b)
			break;
		b[0] = 1;
		b[(32 << 20) - 1] = 2;
		CHECK(realloc(b, 0) == NULL, "realloc(32 MiB, 0) is NULL");
	}
	tm_mem_usage(&v1, &r1);
	CHECK(v1 < v0 + (2UL << 30),
	      "realloc(p, 0) frees: address space grew by %zu MiB over 256 x "
	      "32 MiB", (v1 - v0) >> 20);

	/* contents survive growth and shrinking across size classes */
	size_t sizes[] = {1, 7, 16, 100, 3000, 4096, 20000, 70000, 300000,
			  2 << 20, (5 << 20) + 3, 100, 8, 1};
	char *b = malloc(1);
	size_t have = 1;
	tm_fill(b, have, 42);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i], keep = n < have ? n : have;
		char *nb = realloc(b, n);
		CHECK(nb != NULL, "realloc to %zu", n);
		if (!nb)
			break;
		CHECK(tm_verify(nb, keep, 42), "realloc %zu -> %zu keeps contents",
		      have, n);
		CHECK(malloc_usable_size(nb) >= n, "usable >= %zu after realloc", n);
		tm_fill(nb, n, 42);
		b = nb;
		have = n;
	}
	free(b);

	/* a failed realloc leaves the block alone */
	char *keep = malloc(64);
	tm_fill(keep, 64, 7);
	errno = 0;
	void *fail = realloc(keep, opaque(SIZE_MAX - 4096));
	int e = errno;
	CHECK(fail == NULL && e == ENOMEM, "realloc(p, huge) gives NULL + ENOMEM "
	      "(errno %d)", e);
	CHECK(tm_verify(keep, 64, 7), "a failed realloc keeps the block intact");
	free(keep);
}

static void test_calloc(void)
{
	struct { size_t n, size; } over[] = {
		{SIZE_MAX / 2 + 1, 2}, {SIZE_MAX, SIZE_MAX}, {(size_t)1 << 32,
		(size_t)1 << 32}, {2, SIZE_MAX / 2 + 1}, {SIZE_MAX, 2},
	};
	for (size_t i = 0; i < sizeof(over) / sizeof(over[0]); i++) {
		errno = 0;
		void *p = calloc(opaque(over[i].n), opaque(over[i].size));
		int e = errno;
		CHECK(p == NULL && e == ENOMEM, "calloc(%zu, %zu) overflow gives "
		      "NULL + ENOMEM (errno %d)", over[i].n, over[i].size, e);
		free(p);
	}
	void *z = calloc(opaque(0), 16), *z2 = calloc(16, opaque(0));
	CHECK(z && z2 && z != z2, "calloc with a zero count gives unique "
	      "pointers");
	free(z);
	free(z2);

	/* zeroed also when the memory is reused: dirty a block of each size,
	 * free it and calloc the same size (same size class: likely reuse) */
	size_t sizes[] = {1, 8, 24, 100, 1000, 4096, 10000, 70000, 300000,
			  (2 << 20) + 1, 5 << 20};
	int all_zero = 1;
	for (int round = 0; round < 4; round++)
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			size_t n = sizes[i];
			unsigned char *d = malloc(n);
			memset(d, 0xa5, n);
			free(d);
			unsigned char *c = calloc(1, n);
			CHECK(c != NULL, "calloc(1, %zu)", n);
			if (!c)
				continue;
			if (!tm_all_zero(c, n)) {
				all_zero = 0;
				CHECK(0, "calloc(1, %zu) after a dirty free is zeroed",
				      n);
			}
			memset(c, 0x5a, n);
			free(c);
			unsigned short *a = calloc(n, 2);
			if (a && !tm_all_zero(a, n * 2)) {
				all_zero = 0;
				CHECK(0, "calloc(%zu, 2) is zeroed", n);
			}
			free(a);
		}
	CHECK(all_zero, "calloc zeroes fresh and reused memory");

	/* reallocarray */
	errno = 0;
	void *r = reallocarray(NULL, opaque(SIZE_MAX), 2);
	CHECK(r == NULL && errno == ENOMEM, "reallocarray(NULL, SIZE_MAX, 2) "
	      "gives NULL + ENOMEM");
	char *p = reallocarray(NULL, 10, 10);
	CHECK(p != NULL && malloc_usable_size(p) >= 100, "reallocarray(NULL, "
	      "10, 10) allocates 100 bytes");
	tm_fill(p, 100, 9);
	errno = 0;
	void *q = reallocarray(p, opaque((size_t)1 << 33), (size_t)1 << 33);
	CHECK(q == NULL && errno == ENOMEM, "reallocarray(p, 2^33, 2^33) gives "
	      "NULL + ENOMEM");
	CHECK(tm_verify(p, 100, 9), "a failed reallocarray keeps the block");
	p = reallocarray(p, 50, 20);
	CHECK(p && tm_verify(p, 100, 9), "reallocarray grows, keeping contents");
	free(p);
}

static void test_posix_memalign(void)
{
	size_t bad[] = {0, 1, 2, 3, 4, 12, 24, 48, 100, sizeof(void *) + 1,
			SIZE_MAX};
	void *const sentinel = (void *)0x5eed;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		void *out = sentinel;
		int rc = posix_memalign(&out, opaque(bad[i]), 64);
		CHECK_EQ(rc, EINVAL, "posix_memalign(align %zu) is EINVAL", bad[i]);
		CHECK(out == sentinel, "posix_memalign(align %zu) leaves *out "
		      "untouched", bad[i]);
	}
	size_t sizes[] = {0, 1, 100, 5000, 100000, 3 << 20};
	for (size_t a = sizeof(void *); a <= (4 << 20); a <<= 1)
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			void *out = sentinel;
			int rc = posix_memalign(&out, a, sizes[i]);
			CHECK(rc == 0 && out != sentinel && out && aligned_to(out, a),
			      "posix_memalign(%zu, %zu) = %d, %p", a, sizes[i], rc,
			      out);
			if (rc)
				continue;
			CHECK(malloc_usable_size(out) >= sizes[i], "posix_memalign "
			      "usable >= %zu", sizes[i]);
			memset(out, 0x11, sizes[i]);
			free(out);
		}
	void *out = sentinel;
	int rc = posix_memalign(&out, 64, opaque(SIZE_MAX / 2));
	CHECK_EQ(rc, ENOMEM, "posix_memalign(64, SIZE_MAX/2) is ENOMEM");
	CHECK(out == sentinel, "a failed posix_memalign leaves *out untouched");
}

static void test_aligned_alloc(void)
{
	size_t good[] = {1, 2, 4, 8, 16, 64, 256, 4096, 65536, 1 << 21};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		void *p = aligned_alloc(good[i], good[i] * 3);
		CHECK(p && aligned_to(p, good[i]), "aligned_alloc(%zu) aligned",
		      good[i]);
		if (p)
			memset(p, 1, good[i] * 3);
		free(p);
		p = memalign(good[i], 1000);
		CHECK(p && aligned_to(p, good[i]), "memalign(%zu) aligned",
		      good[i]);
		free(p);
	}
	/* glibc's contract (2.36): memalign and aligned_alloc round an
	 * alignment that is no power of two up to one; past SIZE_MAX / 2 + 1
	 * they give NULL + EINVAL */
	if (tm_under_lib) {
		size_t bad[] = {0, 3, 24, 48, 100, 4097};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			size_t up = bad[i] < 2 ? 1 : (size_t)1 << (64 - __builtin_clzl(bad[i] - 1));
			void *p = aligned_alloc(opaque(bad[i]), 64);
			CHECK(p && aligned_to(p, up), "aligned_alloc(%zu, 64) is "
			      "aligned to %zu", bad[i], up);
			free(p);
			p = memalign(opaque(bad[i]), 64);
			CHECK(p && aligned_to(p, up), "memalign(%zu, 64) is aligned "
			      "to %zu", bad[i], up);
			free(p);
		}
		errno = 0;
		void *p = memalign(opaque(SIZE_MAX), 64);
		CHECK(p == NULL && errno == EINVAL, "memalign(SIZE_MAX, 64) gives "
		      "NULL + EINVAL");
		errno = 0;
		p = aligned_alloc(opaque(SIZE_MAX / 2 + 2), 64);
		CHECK(p == NULL && errno == EINVAL, "aligned_alloc(SIZE_MAX / 2 + 2, "
		      "64) gives NULL + EINVAL");
	}
}

static void test_valloc(void)
{
	size_t sizes[] = {0, 1, 100, page - 1, page, page + 1, 5 * page + 3,
			  3 << 20};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		void *v = valloc(n);
		CHECK(v && aligned_to(v, page), "valloc(%zu) page-aligned", n);
		if (v)
			memset(v, 2, n);
		free(v);
		void *p = pvalloc(n);
		size_t rounded = (n + page - 1) / page * page;
		CHECK(p && aligned_to(p, page), "pvalloc(%zu) page-aligned", n);
		if (!p)
			continue;
		CHECK(malloc_usable_size(p) >= rounded, "pvalloc(%zu) usable %zu >= "
		      "%zu", n, malloc_usable_size(p), rounded);
		memset(p, 3, rounded); /* the whole rounded size is ours */
		free(p);
	}
	errno = 0;
	void *p = pvalloc(opaque(SIZE_MAX - 10));
	CHECK(p == NULL && errno == ENOMEM, "pvalloc(SIZE_MAX - 10) gives NULL + "
	      "ENOMEM");
	errno = 0;
	p = valloc(opaque(SIZE_MAX / 2));
	CHECK(p == NULL && errno == ENOMEM, "valloc(SIZE_MAX/2) gives NULL + "
	      "ENOMEM");
}

static void test_huge(void)
{
	size_t huge[] = {SIZE_MAX, SIZE_MAX - 1, SIZE_MAX / 2,
			 (size_t)PTRDIFF_MAX + 1, (size_t)PTRDIFF_MAX,
			 (size_t)1 << 47, (size_t)1 << 50};
	for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
		size_t n = opaque(huge[i]);
		errno = 0;
		void *p = malloc(n);
		int e = errno;
		CHECK(p == NULL && e == ENOMEM, "malloc(%#zx) gives NULL + ENOMEM "
		      "(errno %d)", n, e);
		free(p);
		errno = 0;
		p = calloc(1, n);
		e = errno;
		CHECK(p == NULL && e == ENOMEM, "calloc(1, %#zx) gives NULL + "
		      "ENOMEM (errno %d)", n, e);
		free(p);
		errno = 0;
		p = realloc(NULL, n);
		e = errno;
		CHECK(p == NULL && e == ENOMEM, "realloc(NULL, %#zx) gives NULL + "
		      "ENOMEM (errno %d)", n, e);
		free(p);
		/* a multiple of the alignment, as C11 asks (ASan checks it) */
		size_t n64 = n & ~(size_t)63;
		errno = 0;
		p = aligned_alloc(64, n64);
		e = errno;
		CHECK(p == NULL && e == ENOMEM, "aligned_alloc(64, %#zx) gives "
		      "NULL + ENOMEM (errno %d)", n64, e);
		free(p);
		errno = 0;
		p = memalign(4096, n);
		e = errno;
		CHECK(p == NULL && e == ENOMEM, "memalign(4096, %#zx) gives NULL + "
		      "ENOMEM (errno %d)", n, e);
		free(p);
		void *out = NULL;
		CHECK_EQ(posix_memalign(&out, 64, n), ENOMEM,
			 "posix_memalign(64, %#zx)", n);
	}
	/* the heap still works after all those failures */
	void *p = malloc(1000);
	CHECK(p != NULL, "malloc works after failed huge requests");
	free(p);
}

static void test_usable_size_and_free(void)
{
	CHECK_EQ(malloc_usable_size(NULL), 0, "malloc_usable_size(NULL) is 0");
	int ok = 1;
	for (size_t n = 1; n < (1 << 22); n = n * 3 / 2 + 1) {
		unsigned char *p = malloc(n);
		size_t u = p ? malloc_usable_size(p) : 0;
		if (!p || u < n) {
			ok = 0;
			CHECK(0, "malloc_usable_size(malloc(%zu)) = %zu", n, u);
		} else {
			memset(p, 0x77, u); /* every usable byte may be written */
		}
		free(p);
	}
	CHECK(ok, "malloc_usable_size >= requested for 1 B .. 4 MiB");
	free(NULL);
	CHECK(1, "free(NULL) returns");

	/* library functions that allocate for the caller */
	char *s = strdup("tiermalloc");
	CHECK(s && strcmp(s, "tiermalloc") == 0, "strdup");
	free(s);
	char *a = NULL;
	CHECK(asprintf(&a, "%d-%s", 42, "x") == 4 && strcmp(a, "42-x") == 0,
	      "asprintf");
	free(a);
}

/* A block freed by a thread other than the one that made it. */
static void *free_in_thread(void *p)
{
	CHECK(tm_verify(p, 5000, 99), "block intact in the freeing thread");
	free(p);
	return malloc(777);
}

static void test_cross_thread(void)
{
	void *p = malloc(5000);
	tm_fill(p, 5000, 99);
	pthread_t t;
	void *back = NULL;
	CHECK_EQ(pthread_create(&t, NULL, free_in_thread, p), 0, "thread");
	pthread_join(t, &back);
	CHECK(back != NULL, "thread's block returned");
	free(back);
}

int main(void)
{
	tm_expect_environment();
	page = (size_t)sysconf(_SC_PAGESIZE);
	test_symbols();
	test_malloc_zero();
	test_realloc_basic();
	test_calloc();
	test_posix_memalign();
	test_aligned_alloc();
	test_valloc();
	test_huge();
	test_usable_size_and_free();
	test_cross_thread();
	return check_summary();
}
