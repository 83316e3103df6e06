/* The background threads (the plugins' stats server and migrator). They
 * start after start-up (first allocations seen and a few milliseconds
 * passed), so that short-lived programs such as `true` never pay for them and
 * a program may still, early on, do things only single-threaded processes
 * may (unshare, seccomp set-up). A forked child starts its own. */
#ifndef TM_SERVICES_H
#define TM_SERVICES_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* At the end of start-up: the exit handler and the countdown; tiered is
 * passed on to the plugins' hooks. */
void tm_services_arm(bool tiered);

/* jemalloc's pthread_atfork (renamed in its archive): registers its
 * handlers, then the services' own. */
int tm_je_pthread_atfork(void (*prepare)(void), void (*parent)(void),
			 void (*child)(void));

/* When the process started (in a forked child: the fork), CLOCK_BOOTTIME
 * ns. */
uint64_t tm_services_born_ns(void);

/* Set until the services are started: malloc counts down and starts them
 * once start-up is over. Hidden: read straight, not through the GOT. */
extern __attribute__((visibility("hidden"))) _Atomic int tm_services_pending;
void tm_services_tick(size_t size);

static inline bool tm_services_waiting(void)
{
	return __builtin_expect(atomic_load_explicit(&tm_services_pending,
						     memory_order_relaxed), 0);
}

static inline void tm_services_poll(size_t size)
{
	if (tm_services_waiting())
		tm_services_tick(size);
}

/* A background thread of ours. Its owner keeps the struct (static) and
 * fills name and main; the rest belongs to tm_service_start. */
typedef struct {
	const char *name;        /* "tm-...", as the thread's name */
	void *(*main)(void);
	pthread_t thread;
	_Atomic pid_t tid;       /* while main runs, in process pid */
	_Atomic pid_t pid;
} tm_service;

/* Start svc's thread with every signal blocked, so that from its first
 * instruction signals go to the program's threads as they would without
 * us. stack_size 0 keeps the default. 0 or an errno value. */
int tm_service_start(tm_service *svc, size_t stack_size);

/* Only our service threads are left: the program's threads have all ended
 * (the main thread with pthread_exit). Threads are known as ours by their
 * ids, never their names; anything that cannot be read means "not alone". */
bool tm_services_alone(void);

/* If so, exit(0) as the process would have without us; one caller does,
 * the others return. Service threads call it now and then. */
void tm_services_exit_if_alone(void);

#endif
