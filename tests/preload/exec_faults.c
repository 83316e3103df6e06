/* exec_faults LIBRARY PROGRAM [ARG...]: the fewest minor page faults of
 * five runs of PROGRAM with LIBRARY preloaded ("" for none), from the
 * kernel's count for the child (wait4). Every exec of a system that
 * preloads the library pays its start-up, and a page fault is its largest
 * unit of cost; the count, unlike the time, does not depend on the
 * machine's load. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define RUNS 5

static long faults_of_one_run(const char *lib, char **argv)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (*lib)
			setenv("LD_PRELOAD", lib, 1);
		else
			unsetenv("LD_PRELOAD");
		execv(argv[0], argv);
		_exit(127);
	}
	int status;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		return -1;
	return ru.ru_minflt;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: exec_faults LIBRARY PROGRAM [ARG...]\n");
		return 2;
	}
	long least = -1;
	for (int i = 0; i < RUNS; i++) {
		long n = faults_of_one_run(argv[1], argv + 2);
		if (n < 0) {
			fprintf(stderr, "exec_faults: %s did not run or failed\n", argv[2]);
			return 1;
		}
		if (least < 0 || n < least)
			least = n;
	}
	printf("%ld\n", least);
	return 0;
}
