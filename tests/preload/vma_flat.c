/* Big blocks and growing reallocs must not split the heap's mappings
 * (issue 12): huge-page advice once per fresh extent, never per allocation.
 * 300 blocks of 3 MiB, then each grown by realloc: the process's mapping
 * count (lines of /proc/self/maps) stays within a small margin. Advice per
 * allocation added about one mapping per block (db699c4: 52 -> 345 after the
 * blocks, 527 after the reallocs); advice per extent adds a few in all. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check.h"

#define BLOCKS 300
#define BIG (3 << 20)
#define MARGIN 32

static int mappings(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	int n = 0, c;
	while (f && (c = getc(f)) != EOF)
		n += c == '\n';
	if (f)
		fclose(f);
	return n;
}

int main(void)
{
	static void *block[BLOCKS];
	int before = mappings();
	for (int i = 0; i < BLOCKS; i++) {
		block[i] = malloc(BIG);
		CHECK(block[i] != NULL, "block %d", i);
		memset(block[i], 1, 64);
	}
	int after_malloc = mappings();
	for (int i = 0; i < BLOCKS; i++)
		block[i] = realloc(block[i], BIG + (1 << 20));
	int after_realloc = mappings();
	for (int i = 0; i < BLOCKS; i++)
		free(block[i]);
	CHECK(after_malloc - before < MARGIN, "mappings %d -> %d after %d big blocks",
	      before, after_malloc, BLOCKS);
	CHECK(after_realloc - before < MARGIN, "mappings %d -> %d after big reallocs",
	      before, after_realloc);
	return check_summary();
}
