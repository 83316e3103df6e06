/* What the background threads share: knowing when the program has gone.
 * The program's last thread may end with pthread_exit while ours run on:
 * without us the process would then exit with status 0, running its atexit
 * handlers, so the first service thread to see it does exactly that. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "prim/file.h"
#include "services.h"

/* Whether a thread of ours, or one that has ended: the main thread stays
 * listed, as a zombie, after it calls pthread_exit. */
static bool service_or_gone(const char *tid)
{
	char st[256];
	if (tm_read_textf(st, sizeof(st), "/proc/self/task", "%s/stat", tid) < 0)
		return true; /* gone between readdir and now */
	const char *name = strchr(st, '(');
	const char *end = strrchr(st, ')');
	if (!name || !end || end[1] != ' ')
		return false;
	return end[2] == 'Z' || end[2] == 'X' || strncmp(name + 1, "tm-", 3) == 0;
}

bool tm_services_alone(void)
{
	DIR *dir = opendir("/proc/self/task");
	if (!dir)
		return false;
	bool only_ours = true;
	struct dirent *de;
	while (only_ours && (de = readdir(dir)))
		only_ours = de->d_name[0] == '.' || service_or_gone(de->d_name);
	closedir(dir);
	return only_ours;
}

void tm_services_exit_if_alone(void)
{
	static atomic_bool exiting;
	if (tm_services_alone() && !atomic_exchange(&exiting, true))
		exit(0);
}
