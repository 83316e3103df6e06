/* What the background threads share: how they start, and knowing when the
 * program has gone. The program's last thread may end with pthread_exit
 * while ours run on: without us the process would then exit with status 0,
 * running its atexit handlers, so the first service thread to see it does
 * exactly that. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "allocator/prim/file.h"
#include "allocator/prim/os.h"
#include "allocator/services.h"

#define MAX_SERVICES 4
#define MAX_TASKS 256 /* more threads than this: the program is not gone */

static tm_service *_Atomic registry[MAX_SERVICES];

static void enlist(tm_service *svc)
{
	for (int i = 0; i < MAX_SERVICES; i++) {
		tm_service *expected = NULL;
		if (atomic_load(&registry[i]) == svc ||
		    atomic_compare_exchange_strong(&registry[i], &expected, svc))
			return;
	}
}

static void *service_main(void *arg)
{
	tm_service *svc = arg;
	pthread_setname_np(pthread_self(), svc->name); /* for people: see stats */
	atomic_store(&svc->pid, getpid());
	atomic_store(&svc->tid, gettid());
	void *ret = svc->main();
	atomic_store(&svc->tid, 0);
	return ret;
}

int tm_service_start(tm_service *svc, size_t stack_size)
{
	sigset_t all, old;
	pthread_attr_t attr;
	enlist(svc);
	atomic_store(&svc->tid, 0);
	pthread_attr_init(&attr);
	if (stack_size)
		pthread_attr_setstacksize(&attr, stack_size);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&svc->thread, &attr, service_main, svc);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return rc;
}

/* A tid from before a fork names no thread of this process. */
static bool ours(pid_t tid)
{
	pid_t pid = getpid();
	for (int i = 0; i < MAX_SERVICES; i++) {
		tm_service *svc = atomic_load(&registry[i]);
		if (svc && atomic_load(&svc->tid) == tid &&
		    atomic_load(&svc->pid) == pid)
			return true;
	}
	return false;
}

/* Whether the thread has ended: the main thread stays listed, as a zombie,
 * after it calls pthread_exit. A stat that cannot be read says nothing. */
static bool ended(pid_t tid)
{
	char st[256];
	if (tm_read_textf(st, sizeof(st), "/proc/self/task", "%d/stat", tid) < 0)
		return false;
	const char *end = strrchr(st, ')');
	return end && end[1] == ' ' && (end[2] == 'Z' || end[2] == 'X');
}

bool tm_services_alone(void)
{
	pid_t tids[MAX_TASKS];
	int n = tm_os_proc_ids("/proc/self/task", tids, MAX_TASKS);
	if (n <= 0 || n > MAX_TASKS)
		return false;
	for (int i = 0; i < n; i++)
		if (!ours(tids[i]) && !ended(tids[i]))
			return false;
	return true;
}

void tm_services_exit_if_alone(void)
{
	static atomic_bool exiting;
	if (tm_services_alone() && !atomic_exchange(&exiting, true))
		exit(0);
}
