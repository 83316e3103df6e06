/* Allocate and touch memory through the malloc family, then report where its
 * pages are, per NUMA node, from move_pages status queries.
 *
 *   alloc_probe TOTAL_MIB CHUNK_KIB [hold]
 *     -> "tiers=2 node0_mib=... node1_mib=... unknown_mib=0 failed=0 corrupt=0"
 *
 * With hold it then sleeps until killed, keeping its memory (a hog that fills
 * a node when run under numactl --membind).
 *
 * Bytes are counted per page actually backing the chunks, so the numbers are
 * what the kernel says, not what the allocator believes. */
#include <numaif.h>
#include <stdint.h>
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

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: %s TOTAL_MIB CHUNK_KIB [hold]\n", argv[0]);
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
	fflush(stdout);
	if (argc == 4)
		pause();
	return failed || bad ? 1 : 0;
}
