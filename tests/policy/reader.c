/* A program that only reads: 8 MiB written once, then read over and over
 * for the given seconds (default 2). Write tracking sees nothing of it, and
 * must say so and hand over (see run.sh). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MIB (1 << 20)

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 2;
	size_t len = 8 * MIB;
	volatile unsigned char *buf = malloc(len);
	if (!buf)
		return 1;
	memset((void *)buf, 1, len);
	unsigned long sum = 0;
	for (double until = now_s() + seconds; now_s() < until;) {
		for (size_t i = 0; i < len; i += 4096)
			sum += buf[i];
		void *volatile p = malloc(64); /* the library starts its services */
		free(p);                       /* on a malloc; volatile: kept */
	}
	printf("read sum %lu\n", sum);
	return 0;
}
