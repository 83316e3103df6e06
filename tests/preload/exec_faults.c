/* exec_faults LIBRARY PROGRAM [ARG...]: the fewest minor page faults of
 * five runs of PROGRAM with LIBRARY preloaded ("" for none), from the
 * kernel's count for the child (wait4). Every exec of a system that
 * preloads the library pays its start-up, and a page fault is its largest
 * unit of cost; the count, unlike the time, does not depend on the
 * machine's load. The runs are made without address-space randomization
 * (with it, where the libraries land against the kernel's 64 KiB
 * fault-around windows moves the count by up to 4 from run to run), and
 * the child is a vfork one, which faults in nothing before its exec. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define RUNS 5

extern char **environ;

/* The environment with LD_PRELOAD=lib (none when lib is ""), made before
 * the child exists: the child shares our memory until it execs (vfork), so
 * nothing it does before the exec faults pages in and counts. */
static char **environment(const char *lib)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = calloc(n + 2, sizeof(*env)), **e = env;
	static char preload[4096];
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0)
			*e++ = environ[i];
	if (*lib) {
		snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", lib);
		*e++ = preload;
	}
	return env;
}

static long faults_of_one_run(char **env, char **argv)
{
	pid_t pid = vfork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (personality(ADDR_NO_RANDOMIZE) >= 0)
			execve(argv[0], argv, env);
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
	char **env = environment(argv[1]);
	if (!env)
		return 1;
	long least = -1;
	for (int i = 0; i < RUNS; i++) {
		long n = faults_of_one_run(env, argv + 2);
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
