/* The program's last thread ends while the migrator runs: main starts the
 * services (enough allocations after start-up), hands the work to a thread
 * and calls pthread_exit; that thread returns. Without the library the
 * process exits with status 0 then, and it must with the library too, even
 * with no stats thread to notice (TIERMALLOC_STATS=0). Prints the threads
 * seen while the work thread runs. */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

int main(void)
{
	pthread_t t;
	churn(1000, 64);
	usleep(50 * 1000); /* past the start-up delay */
	churn(1000, 64);
	pthread_create(&t, NULL, work, NULL);
	pthread_exit(NULL);
}
