/* The background threads' life: armed at start-up, started by malloc once
 * start-up is over (the plugins' start hooks: the stats server, the
 * migrator), stopped at exit, forgotten and re-armed in a forked child, and
 * the process ended when they are all that is left. The program's last
 * thread may end with pthread_exit while ours run on: without us the
 * process would then exit with status 0, running its atexit handlers, so
 * the first service thread to see it does exactly that. */
#define _GNU_SOURCE
#include "allocator/services.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "allocator/plugin.h"
#include "allocator/prim/os.h"
#include "allocator/runtime.h"

#define SERVICES_AFTER_ALLOCS 256
#define SERVICES_AFTER_NS (20 * 1000 * 1000ULL)
/* Before the delay is over, the clock is read again only after this many
 * allocations (or bytes, as below): read on every call, it cost a tight
 * malloc loop 20-30% in its first 20 ms. */
#define SERVICES_RECHECK_ALLOCS 32
/* A large allocation counts as one per this many bytes: a program whose
 * heap is a few large blocks (GUPS, HPC codes) must get its services too. */
#define SERVICES_BYTES_PER_ALLOC (64 << 10)
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

bool tm_services_alone(void)
{
	pid_t tids[MAX_TASKS];
	int n = tm_os_proc_ids("/proc/self/task", tids, MAX_TASKS);
	if (n <= 0 || n > MAX_TASKS)
		return false;
	for (int i = 0; i < n; i++)
		if (!ours(tids[i]) && !tm_os_thread_ended(tids[i]))
			return false;
	return true;
}

void tm_services_exit_if_alone(void)
{
	static atomic_bool exiting;
	if (tm_services_alone() && !atomic_exchange(&exiting, true))
		exit(0);
}

/* ---- start, stop, fork ------------------------------------------------------ */

_Atomic int tm_services_pending;
static _Atomic int countdown;
/* What atexit does, called directly: atexit itself is linked in from
 * libc_nonshared.a at the far end of our code, one more page fault at
 * every exec. */
extern void *__dso_handle;
extern int __cxa_atexit(void (*fn)(void *), void *arg, void *dso);
static bool tiered;             /* passed to the plugins' hooks */
/* The process's start, or this child's fork (CLOCK_BOOTTIME; 0: not read
 * yet). Asked of the kernel when the countdown first runs out, not taken
 * at exec: the clock's first read faults in three pages (libc's
 * clock_gettime and the vDSO's data), which every exec of a program that
 * never allocates would pay. */
static _Atomic uint64_t born_ns;
/* Held by the one thread starting the services, and over fork. */
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;

static void arm(void)
{
	atomic_store(&born_ns, 0);
	atomic_store(&countdown, SERVICES_AFTER_ALLOCS);
	atomic_store(&tm_services_pending, 1);
}

/* Called by malloc while services are pending. The count is updated without
 * a locked instruction: threads racing here only lose a few counts. Once
 * enough has been allocated, one of the first allocations after the delay
 * starts them (a program may allocate its whole heap within the delay,
 * then rarely); the lock makes one thread do it. */
void tm_services_tick(size_t size)
{
	size_t ticks = 1 + size / SERVICES_BYTES_PER_ALLOC;
	int left = atomic_load_explicit(&countdown, memory_order_relaxed);
	if (left > 0) {
		left -= ticks < SERVICES_AFTER_ALLOCS ? (int)ticks : SERVICES_AFTER_ALLOCS;
		atomic_store_explicit(&countdown, left, memory_order_relaxed);
		if (left > 0)
			return;
	}
	if (tm_os_boot_ns() - tm_services_born_ns() < SERVICES_AFTER_NS) {
		atomic_store_explicit(&countdown, SERVICES_RECHECK_ALLOCS,
				      memory_order_relaxed);
		return;
	}
	if (pthread_mutex_trylock(&start_lock) != 0)
		return;
	if (atomic_exchange(&tm_services_pending, 0)) {
		tm_runtime_describe(); /* for the stats */
		tm_plugins_call(TM_PLUGIN_START, tiered);
	}
	pthread_mutex_unlock(&start_lock);
}

uint64_t tm_services_born_ns(void)
{
	uint64_t born = atomic_load(&born_ns);
	if (!born)
		atomic_store(&born_ns, born = tm_os_process_start_ns());
	return born;
}

static void stop_all(void *unused)
{
	(void)unused;
	tm_plugins_call(TM_PLUGIN_STOP, tiered);
}

/* A fork while another thread starts the services waits until it is done:
 * the child must not inherit the lock held by a thread it does not have. */
static void before_fork(void)
{
	pthread_mutex_lock(&start_lock);
}

static void after_fork_parent(void)
{
	pthread_mutex_unlock(&start_lock);
}

static void after_fork_child(void)
{
	pthread_mutex_unlock(&start_lock);
	tm_plugins_call(TM_PLUGIN_AFTER_FORK_CHILD, tiered);
	arm();
}

/* jemalloc registers its fork handlers when it starts, which is at the
 * first allocation (or mallctl), not at exec: its constructor is taken out
 * (TM_JEMALLOC in the Makefile), so that a program that never allocates
 * pays nothing for it. Its call lands here (renamed in the archive), and
 * ours go in right after its own: prepare handlers run last-registered
 * first, so a fork takes the start lock before jemalloc's locks, in the
 * order tm_services_tick takes them. A fork before then has no services to
 * restart: the child goes on counting towards them where the parent was. */
int tm_je_pthread_atfork(void (*prepare)(void), void (*parent)(void),
			 void (*child)(void))
{
	int rc = pthread_atfork(prepare, parent, child);
	return rc ? rc : pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

void tm_services_arm(bool tiered_mode)
{
	tiered = tiered_mode;
	__cxa_atexit(stop_all, NULL, &__dso_handle);
	arm();
}
