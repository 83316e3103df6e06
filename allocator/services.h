/* The background threads: the stats server and the policy's migrator. They
 * start after start-up (first allocations seen and a few milliseconds
 * passed), so that short-lived programs such as `true` never pay for them and
 * a program may still, early on, do things only single-threaded processes
 * may (unshare, seccomp set-up). A forked child starts its own. */
#ifndef TM_SERVICES_H
#define TM_SERVICES_H

#include <stdbool.h>

void tm_services_arm(void);

/* Only service threads (named tm-...) are left: the program's threads have
 * all ended (the main thread with pthread_exit). */
bool tm_services_alone(void);

/* If so, exit(0) as the process would have without us; one caller does,
 * the others return. Service threads call it now and then. */
void tm_services_exit_if_alone(void);

/* The stats server (statsd.c) and the policy (policy/) entry points. */
void tm_statsd_start(void);
void tm_statsd_after_fork_child(void);
void tm_statsd_stop(void);

#endif
