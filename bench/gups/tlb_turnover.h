/* TLB turnover under emulation, for programs measured by accessed bits.
 *
 * Under QEMU's software emulation (TCG) a translation stays in the emulated
 * TLB indefinitely, so an accessed bit cleared without a TLB flush (as x86
 * does for DAMON's and the kernel's LRU aging) is never set again and hot
 * pages look idle; real TLBs turn over within microseconds. A thread that
 * flips the protection of a 64-page area of its own every N ms makes the
 * kernel flush the process's whole TLB (over 33 pages is a full flush). */
#ifndef TLB_TURNOVER_H
#define TLB_TURNOVER_H

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void *tlb_turnover_loop(void *arg)
{
	useconds_t period_us = (useconds_t)(uintptr_t)arg;
	size_t len = 64 * 4096;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	memset(p, 1, len);
	for (;;) {
		mprotect(p, len, PROT_READ);
		mprotect(p, len, PROT_READ | PROT_WRITE);
		usleep(period_us);
	}
}

/* Start the flusher thread (it runs until the process exits). */
static inline int tlb_turnover_start(int every_ms)
{
	pthread_t t;
	if (every_ms <= 0)
		return 0;
	return pthread_create(&t, NULL, tlb_turnover_loop,
			      (void *)(uintptr_t)(every_ms * 1000));
}

#endif
