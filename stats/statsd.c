/* The stats server as a plugin of the allocator (allocator/plugin.h): started
 * by the services once start-up is over, in a thread of its own with every
 * signal blocked; stopped at exit; gone in a forked child, whose services
 * start their own for the child's pid.
 *
 * Starting happens inside malloc (tm_services_tick), so it only creates the
 * thread: the directory checks, the socket and everything else are done by
 * the thread itself. */
#define _GNU_SOURCE /* pthread_timedjoin_np */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "allocator/config.h"
#include "allocator/log.h"
#include "allocator/plugin.h"
#include "allocator/prim/fd.h"
#include "allocator/prim/os.h"
#include "allocator/prim/sock.h"
#include "allocator/services.h"
#include "stats/server.h"

#define STACK_SIZE (256 << 10)
#define STOP_WAIT_NS (100 * 1000 * 1000L)
/* Requests are served at a lower priority than the application's work. */
#define NICE_INCREMENT 10

static struct {
	pthread_mutex_t lock;
	bool running;             /* a thread was started and not joined */
	int wake_fd;              /* readable: stop serving */
	tm_fd_id wake_id;
	_Atomic int listen_fd;    /* set once path is: for stop, a forked child */
	tm_fd_id listen_id;
	char path[TM_SOCK_PATH_MAX];
} sd = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake_fd = -1, .listen_fd = -1};

static void *server_main(void)
{
	tm_os_lower_priority(NICE_INCREMENT);
	int fd = tm_sock_listen(tm_opt_str(TM_OPT_STATS_DIR),
				tm_opt_src(TM_OPT_STATS_DIR) == TM_SRC_ENV, sd.path);
	if (fd < 0)
		return NULL;
	sd.listen_id = tm_fd_id_of(fd);
	sd.listen_fd = fd;
	tm_info("stats: serving on %s", sd.path);
	bool application_gone = tm_stats_serve(fd, sd.wake_fd);
	tm_os_remove(sd.path);
	sd.listen_fd = -1;
	tm_fd_close(fd, sd.listen_id);
	if (application_gone)
		tm_services_exit_if_alone();
	return NULL;
}

static tm_service server = {.name = "tm-stats", .main = server_main};

static int spawn(void)
{
	sd.wake_fd = tm_os_event_open();
	if (sd.wake_fd < 0) {
		tm_warn("stats: no eventfd; no stats socket");
		return -1;
	}
	sd.wake_id = tm_fd_id_of(sd.wake_fd);
	if (tm_service_start(&server, STACK_SIZE) != 0) {
		tm_warn("stats: cannot create the server thread; no stats socket");
		tm_fd_close(sd.wake_fd, sd.wake_id);
		sd.wake_fd = -1;
		return -1;
	}
	return 0;
}

static void start(bool tiered)
{
	if (!tm_opt_num(TM_OPT_STATS))
		return;
	pthread_mutex_lock(&sd.lock);
	if (!sd.running)
		sd.running = spawn() == 0;
	pthread_mutex_unlock(&sd.lock);
}

static void wake_server(void)
{
	if (tm_fd_still(sd.wake_fd, sd.wake_id))
		tm_os_event_signal(sd.wake_fd);
}

/* Whether the thread ended within STOP_WAIT_NS. */
static bool join_briefly(pthread_t thread)
{
	struct timespec until = tm_os_deadline(CLOCK_REALTIME, STOP_WAIT_NS);
	return pthread_timedjoin_np(thread, NULL, &until) == 0;
}

/* Wake the thread and give it a moment to close its clients and remove its
 * socket. A thread that does not finish in time (the application closed
 * our wake-up descriptor, or it is slow) ends with the process; its socket
 * is removed here. */
static void stop(bool tiered)
{
	pthread_mutex_lock(&sd.lock);
	/* The server's own thread exits the process when it is the last one
	 * (services.c); it has cleaned up already. */
	if (sd.running && !pthread_equal(pthread_self(), server.thread)) {
		wake_server();
		if (join_briefly(server.thread)) {
			tm_fd_close(sd.wake_fd, sd.wake_id);
			sd.wake_fd = -1;
			sd.running = false;
		} else if (sd.listen_fd >= 0) {
			tm_os_remove(sd.path);
		}
	}
	pthread_mutex_unlock(&sd.lock);
}

static void after_fork_child(bool tiered)
{
	/* The parent's server thread does not exist here; its descriptors do. */
	tm_stats_server_forget();
	tm_fd_close(sd.listen_fd, sd.listen_id);
	tm_fd_close(sd.wake_fd, sd.wake_id);
	pthread_mutex_init(&sd.lock, NULL);
	sd.running = false;
	sd.wake_fd = -1;
	sd.listen_fd = -1; /* the parent's path is not ours to remove */
}

TM_PLUGIN(tm_stats_server) = {
	.name = "stats server",
	.start = start,
	.after_fork_child = after_fork_child,
	.stop = stop,
};
