/* Allocate and touch memory through the malloc family, then report where its
 * pages are, per NUMA node, from move_pages status queries.
 *
 *   alloc_probe TOTAL_MIB CHUNK_KIB
 *     -> "tiers=2 node0_mib=... node1_mib=... unknown_mib=0 failed=0 corrupt=0"
 *
 *   alloc_probe --hog NODE MIB
 *     -> "hog_mib=MIB", then sleeps until killed
 *
 * fills NODE with MIB of anonymous memory bound there. Only that range is
 * bound, never the process (numactl --membind would put the program's text
 * and page cache there too: code on a CXL node under QEMU can crash it), and
 * the kernel zeroes the pages without a memset of ours (slow on CXL).
 *
 * Bytes are counted per page actually backing the chunks, so the numbers are
 * what the kernel says, not what the allocator believes. */
#include <numaif.h>
#include <stdint.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tiermalloc.h"

/* Weak: the probe also runs without the library (as a memory hog). */
#pragma weak tm_tier_count

#define MAX_NODES 8

/* Add the bytes of [p, p+len) to the node each of its pages is on. Blocks
 * need not be page-aligned (jemalloc offsets large ones within their first
 * page), so a page is charged only for the bytes of the block inside it. */
static void count_bytes(char *p, size_t len, long *per_node, long *unknown)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	enum { BATCH = 512 };
	void *pages[BATCH];
	long bytes[BATCH];
	int status[BATCH];
	uintptr_t cur = (uintptr_t)p, end = cur + len;
	while (cur < end) {
		int n = 0;
		for (; n < BATCH && cur < end; n++) {
			uintptr_t next = (cur & ~(page - 1)) + page;
			pages[n] = (void *)(cur & ~(page - 1));
			bytes[n] = (long)((next < end ? next : end) - cur);
			cur = next;
		}
		if (move_pages(0, (unsigned long)n, pages, NULL, status, 0) < 0) {
			perror("move_pages");
			exit(2);
		}
		for (int i = 0; i < n; i++)
			if (status[i] >= 0 && status[i] < MAX_NODES)
				per_node[status[i]] += bytes[i];
			else
				*unknown += bytes[i];
	}
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static int hog(int node, size_t mib)
{
	size_t len = mib << 20;
	unsigned long mask = 1UL << node;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED ||
	    mbind(p, len, MPOL_BIND, &mask, sizeof(mask) * 8, 0) < 0 ||
	    madvise(p, len, MADV_POPULATE_WRITE) < 0) {
		perror("hog");
		return 1;
	}
	printf("hog_mib=%zu\n", mib);
	fflush(stdout);
	pause();
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "--hog") == 0)
		return hog(atoi(argv[2]), strtoull(argv[3], NULL, 10));
	if (argc != 3) {
		fprintf(stderr, "usage: %s TOTAL_MIB CHUNK_KIB\n"
				"       %s --hog NODE MIB\n", argv[0], argv[0]);
		return 2;
	}
	size_t total = strtoull(argv[1], NULL, 10) << 20;
	size_t chunk = strtoull(argv[2], NULL, 10) << 10;
	size_t count = total / chunk;
	char **blocks = calloc(count, sizeof(*blocks));
	size_t failed = 0;
	for (size_t i = 0; i < count; i++) {
		blocks[i] = malloc(chunk);
		if (!blocks[i]) {
			failed++;
			continue;
		}
		memset(blocks[i], (int)(i & 0xff), chunk);
	}
	long per_node[MAX_NODES] = {0}, unknown = 0;
	for (size_t i = 0; i < count; i++)
		if (blocks[i])
			count_bytes(blocks[i], chunk, per_node, &unknown);
	size_t bad = 0;
	for (size_t i = 0; i < count; i++)
		if (blocks[i] && (blocks[i][0] != (char)(i & 0xff) ||
				  blocks[i][chunk - 1] != (char)(i & 0xff)))
			bad++;
	printf("tiers=%d", tm_tier_count ? tm_tier_count() : 0);
	for (int n = 0; n < 2; n++)
		printf(" node%d_mib=%ld", n, per_node[n] >> 20);
	printf(" unknown_mib=%ld failed=%zu corrupt=%zu\n", unknown >> 20, failed,
	       bad);
	return failed || bad ? 1 : 0;
}
