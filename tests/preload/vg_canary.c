/* The canary of the valgrind runs: a branch on an uninitialised value, with
 * the library preloaded. memcheck must report it (run.sh expects its error
 * exit code), which proves that the runs that pass were really checked. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	int x[4];
	if (argc > 100)
		x[1] = 3;
	char *p = malloc(64);
	if (x[1] == 3)
		puts("three");
	free(p);
	return 0;
}
