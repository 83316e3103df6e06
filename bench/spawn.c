/* tm-spawn: run a command (optionally many times) and report what the
 * kernel accounted to it.
 *
 *   tm-spawn [--result FILE] [--repeat N] [--env NAME=VALUE]... -- CMD ARGS
 *
 * Why a C launcher instead of Python's subprocess: ru_maxrss of a child
 * includes the RSS of the process it was forked from (the kernel records the
 * old mm's high-water mark at exec), so a child of the Python runner would
 * report the runner's own 10+ MiB as a floor, and ratios of small workloads
 * would shrink towards 1. Forking from this small process keeps that floor
 * at about 1 MiB, the same for every allocator. It also times the exec
 * itself without Python's spawn overhead, for the start-up cost test.
 *
 * --env is applied in the child only, so LD_PRELOAD never reaches this
 * launcher itself. The result is one line of key=value pairs (appended to
 * FILE, or stderr when no --result is given); with --repeat the times are
 * totals over all runs and the first failing run stops the loop. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ENV 32

struct opts {
	const char *result;
	long repeat;
	char *env[MAX_ENV];
	int nenv;
	char **argv;
};

static void usage(void)
{
	fprintf(stderr, "usage: tm-spawn [--result FILE] [--repeat N] "
			"[--env NAME=VALUE]... -- CMD [ARGS]\n");
	exit(125);
}

static struct opts parse(int argc, char **argv)
{
	struct opts o = { .repeat = 1 };
	int i = 1;

	for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "--result"))
			o.result = argv[++i];
		else if (!strcmp(argv[i], "--repeat"))
			o.repeat = strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--env") && o.nenv < MAX_ENV)
			o.env[o.nenv++] = argv[++i];
		else
			usage();
	}
	if (i + 1 >= argc || o.repeat < 1)
		usage();
	o.argv = &argv[i + 1];
	return o;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Fork and exec one run; fills *ru and returns the wait status. */
static int run_once(const struct opts *o, struct rusage *ru)
{
	int status;
	pid_t pid = fork();

	if (pid < 0) {
		perror("tm-spawn: fork");
		exit(125);
	}
	if (pid == 0) {
		for (int i = 0; i < o->nenv; i++)
			putenv(o->env[i]);
		execvp(o->argv[0], o->argv);
		fprintf(stderr, "tm-spawn: exec %s: %s\n", o->argv[0],
			strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &status, 0, ru) < 0)
		if (errno != EINTR) {
			perror("tm-spawn: wait4");
			exit(125);
		}
	return status;
}

static double tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6;
}

static void emit(const struct opts *o, int status, long runs, double wall,
		 const struct rusage *sum, long maxrss)
{
	FILE *f = o->result ? fopen(o->result, "a") : stderr;

	if (!f) {
		perror("tm-spawn: result file");
		exit(125);
	}
	fprintf(f, "exit=%d signal=%d runs=%ld wall_s=%.6f user_s=%.6f "
		   "sys_s=%.6f maxrss_kb=%ld minflt=%ld majflt=%ld\n",
		WIFEXITED(status) ? WEXITSTATUS(status) : -1,
		WIFSIGNALED(status) ? WTERMSIG(status) : 0, runs, wall,
		tv_s(sum->ru_utime), tv_s(sum->ru_stime), maxrss,
		sum->ru_minflt, sum->ru_majflt);
	if (f != stderr)
		fclose(f);
}

static void add(struct rusage *sum, const struct rusage *ru)
{
	timeradd(&sum->ru_utime, &ru->ru_utime, &sum->ru_utime);
	timeradd(&sum->ru_stime, &ru->ru_stime, &sum->ru_stime);
	sum->ru_minflt += ru->ru_minflt;
	sum->ru_majflt += ru->ru_majflt;
}

int main(int argc, char **argv)
{
	struct opts o = parse(argc, argv);
	struct rusage sum = { 0 }, ru;
	long runs = 0, maxrss = 0;
	int status = 0;
	double t0 = now_s();

	while (runs < o.repeat) {
		status = run_once(&o, &ru);
		runs++;
		add(&sum, &ru);
		if (ru.ru_maxrss > maxrss)
			maxrss = ru.ru_maxrss;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			break;
	}
	emit(&o, status, runs, now_s() - t0, &sum, maxrss);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 125;
}
