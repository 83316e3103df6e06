/* A small program for the configuration tests: allocates for MS
 * milliseconds (default 60: long enough for the library's services, the
 * stats server and the migrator, to start, since some options are only read
 * then), and prints one line. busy 0: a few hundred allocations, no wait.
 *
 *   busy [MS] */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double ms = argc > 1 ? atof(argv[1]) : 60;
	unsigned long min_allocs = ms > 0 ? 5000 : 300;
	double start = now();
	unsigned long sum = 0, n = 0;
	void *keep[64] = {0};
	while (n < min_allocs || now() - start < ms / 1000) {
		size_t size = (n * 2654435761u) % 20000 + 1;
		int s = (int)(n % 64);
		free(keep[s]);
		keep[s] = malloc(size);
		if (!keep[s])
			return 1;
		memset(keep[s], (int)n, size);
		sum += ((unsigned char *)keep[s])[size - 1];
		n++;
		if (n % 500 == 0) {
			struct timespec ts = {0, 2000000};
			nanosleep(&ts, NULL);
		}
	}
	for (int s = 0; s < 64; s++)
		free(keep[s]);
	printf("busy: ok\n");
	return sum == 0xdeadbeef; /* never: keeps the loop from being dropped */
}
