/* When the program's threads have gone, and when they have not.
 *
 * Default: main starts the services (enough allocations after start-up),
 * hands the work to a thread and calls pthread_exit; that thread returns.
 * Without the library the process exits with status 0 then, and it must with
 * the library too, even with no stats thread to notice (TIERMALLOC_STATS=0).
 * Prints the threads seen while the work thread runs.
 *
 * --tm-named: the work thread calls itself "tm-worker", runs for 1.5 s and
 * calls exit(3). A thread is the library's by its id, not its name: the
 * process must exit 3, not 0 when main has gone.
 *
 * --one-fd: main keeps running with one descriptor left free for 2.5 s,
 * then exits 3; /proc reads fail with EMFILE meanwhile, which must not be
 * taken for "the program has gone". Prints the threads seen at the end (the
 * stats server must still be there when it was started). */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define LOW_FD_LIMIT 64

static void churn(int n, size_t size)
{
	for (int i = 0; i < n; i++) {
		void *volatile p = malloc(size); /* volatile: no pair elision */
		free(p);
	}
}

static void print_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	char path[300], name[32];
	printf("threads:");
	while (d && (de = readdir(d))) {
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", de->d_name);
		FILE *f = de->d_name[0] != '.' ? fopen(path, "r") : NULL;
		if (f && fgets(name, sizeof(name), f))
			printf(" %s", strtok(name, "\n"));
		if (f)
			fclose(f);
	}
	printf("\n");
	fflush(stdout);
	if (d)
		closedir(d);
}

static void *work(void *arg)
{
	churn(1000, 100000);
	usleep(300 * 1000); /* a few migrator periods */
	print_threads();
	return arg;
}

static void *tm_named_work(void *arg)
{
	pthread_setname_np(pthread_self(), "tm-worker");
	churn(1000, 100000);
	usleep(1500 * 1000);
	printf("tm-worker: done, exit(3)\n");
	fflush(stdout);
	exit(3);
	return arg;
}

/* Fill the descriptor table but for one slot: the last filler is freed
 * again so that the process can print. Only the fillers are closed, never a
 * descriptor of ours: the stats server may have moved its socket up to the
 * top of the table just before. */
static bool filler[LOW_FD_LIMIT];

static int fill_fds(void)
{
	struct rlimit rl = {LOW_FD_LIMIT, LOW_FD_LIMIT};
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -1;
	int last = -1, fd;
	while ((fd = open("/dev/null", O_RDONLY)) >= 0 && fd < LOW_FD_LIMIT)
		filler[last = fd] = true;
	if (last >= 0) {
		close(last);
		filler[last] = false;
	}
	return 0;
}

static int one_fd(void)
{
	if (fill_fds() < 0) {
		perror("setrlimit");
		return 1;
	}
	usleep(2500 * 1000); /* many migrator periods, two stats censuses */
	for (int fd = 0; fd < LOW_FD_LIMIT; fd++)
		if (filler[fd])
			close(fd);
	print_threads();
	return 3;
}

int main(int argc, char **argv)
{
	pthread_t t;
	const char *mode = argc > 1 ? argv[1] : "";
	churn(1000, 64);
	usleep(50 * 1000); /* past the start-up delay */
	churn(1000, 64);
	if (strcmp(mode, "--one-fd") == 0)
		return one_fd();
	pthread_create(&t, NULL, strcmp(mode, "--tm-named") == 0 ? tm_named_work
								 : work, NULL);
	pthread_exit(NULL);
}
