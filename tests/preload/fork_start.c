/* A fork while another thread is starting the library's services: that
 * thread holds their lock while it creates the service threads, and the
 * child must still start services of its own (issue 10). Run under
 * LD_PRELOAD with TIERMALLOC_STATS_DIR set; the child's stats socket
 * appearing is the proof.
 *
 * The program defines pthread_create (exported: built with -rdynamic), so
 * the library's call lands here first: the starter thread announces it and
 * waits up to WAIT_MS for the fork to happen right then. A library that
 * takes its lock over fork makes the fork wait instead. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "preload.h"

#define WAIT_MS 500

typedef int create_fn(pthread_t *, const pthread_attr_t *, void *(*)(void *),
		      void *);

static __thread int is_starter;
static int in_create[2], forked[2];
static volatile int fired;

static int wait_readable(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, ms) == 1;
}

int pthread_create(pthread_t *t, const pthread_attr_t *attr,
		   void *(*fn)(void *), void *arg)
{
	create_fn *real = (create_fn *)dlsym(RTLD_NEXT, "pthread_create");
	if (is_starter && !fired) {
		fired = 1;
		ssize_t unused = write(in_create[1], "c", 1);
		(void)unused;
		wait_readable(forked[0], WAIT_MS);
	}
	return real(t, attr, fn, arg);
}

static int has_fired(void)
{
	return fired;
}

static int my_socket_exists(void)
{
	char path[256];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%d.sock", getenv("TIERMALLOC_STATS_DIR"),
		 (int)getpid());
	return stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

static void *starter(void *arg)
{
	is_starter = 1;
	tm_allocate_until(has_fired, 5000);
	return NULL;
}

int main(void)
{
	tm_expect_environment();
	CHECK(getenv("TIERMALLOC_STATS_DIR") != NULL, "TIERMALLOC_STATS_DIR is set");
	CHECK(pipe(in_create) == 0 && pipe(forked) == 0, "pipes");
	pthread_t t;
	pthread_create(&t, NULL, starter, NULL);
	int during = wait_readable(in_create[0], 5000);
	CHECK(during, "the library created a service thread from the starter");
	pid_t pid = fork();
	if (pid == 0)
		_exit(tm_allocate_until(my_socket_exists, 3000) ? 0 : 1);
	ssize_t unused = write(forked[1], "f", 1);
	(void)unused;
	int status = -1;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "the child, forked while services were starting, started its own "
	      "(status %#x)", status);
	pthread_join(t, NULL);
	CHECK(tm_allocate_until(my_socket_exists, 3000), "the parent serves too");
	return check_summary();
}
