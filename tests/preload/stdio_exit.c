/* Buffered stdout must not be lost at exit under the library, whatever the
 * way out. run.sh compares the output byte for byte with a run without the
 * library and checks the exit status.
 *
 *   stdio_exit nonl      printf without a newline, return from main
 *   stdio_exit thread    threads allocate; one prints 20000 buffered lines
 *                        and calls exit(7) while the others still run
 *   stdio_exit dtor      an atexit handler and a destructor allocate, free
 *                        and print at exit */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_int spinning;

static void *allocate_forever(void *arg)
{
	atomic_fetch_add(&spinning, 1);
	for (unsigned long i = 0;; i++) {
		size_t n = (i * 2654435761u) % 100000 + 1;
		char *p = malloc(n);
		if (p) {
			memset(p, (int)i, n < 64 ? n : 64);
			free(p);
		}
	}
	return NULL;
}

static void *print_and_exit(void *arg)
{
	while (atomic_load(&spinning) < 3)
		sched_yield();
	for (int i = 0; i < 20000; i++) {
		char *s = NULL;
		if (asprintf(&s, "line %d %x", i, i * 7919) < 0)
			abort();
		printf("%s\n", s);
		free(s);
	}
	printf("last line, no newline");
	exit(7);
}

static char *ctor_block;

__attribute__((constructor)) static void make_block(void)
{
	ctor_block = malloc(10000);
	memset(ctor_block, 'c', 10000);
}

static void at_exit_handler(void)
{
	char *p = malloc(123456);
	memset(p, 'a', 123456);
	printf("atexit: %c%c\n", p[0], p[123455]);
	free(p);
}

__attribute__((destructor)) static void drop_block(void)
{
	int ok = 1;
	for (int i = 0; i < 10000; i++)
		ok &= ctor_block[i] == 'c';
	free(ctor_block);
	char *q = strdup("destructor");
	printf("%s: %s", q, ok ? "ok" : "corrupt");
	free(q);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (strcmp(mode, "nonl") == 0) {
		printf("no newline at the end: %d", 42);
		return 0;
	}
	if (strcmp(mode, "thread") == 0) {
		pthread_t t[4];
		for (int i = 0; i < 3; i++)
			pthread_create(&t[i], NULL, allocate_forever, NULL);
		pthread_create(&t[3], NULL, print_and_exit, NULL);
		pthread_join(t[3], NULL); /* never returns: exit(7) */
		return 1;
	}
	if (strcmp(mode, "dtor") == 0) {
		atexit(at_exit_handler);
		printf("main returns; ");
		return 3;
	}
	fprintf(stderr, "usage: stdio_exit nonl|thread|dtor\n");
	return 2;
}
