/* The stats server under AddressSanitizer. ASan and an LD_PRELOAD malloc
 * exclude each other, so the server's objects, built with ASan, are linked
 * into the test program itself (victim.c), and this file stands in for the
 * library's start-up (init.c): it reads the options, finds the tiers (one
 * tier: no tier arenas without our malloc), starts the server at load time,
 * stops it at exit, and restarts it in a forked child. */
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <sys/auxv.h>

#include "config.h"
#include "placement.h"
#include "runtime.h"
#include "services.h"

extern char **environ;

tm_runtime tm_rt;

static void restart_in_child(void)
{
	tm_statsd_after_fork_child();
	tm_rt.start_ns = tm_now_ns();
	if (tm_opt_num(TM_OPT_STATS))
		tm_statsd_start();
}

__attribute__((constructor)) static void start(void)
{
	tm_rt.start_ns = tm_now_ns();
	tm_config_load(environ, getauxval(AT_SECURE) != 0);
	tm_tiers_discover(tm_opt_str(TM_OPT_SYSFS), tm_opt_str(TM_OPT_TIERS),
			  &tm_rt.tiers);
	tm_tiers_describe(tm_opt_str(TM_OPT_SYSFS), &tm_rt.tiers);
	snprintf(tm_rt.single_reason, sizeof(tm_rt.single_reason),
		 "one tier (%s): ASan test build", tm_rt.tiers.source);
	tm_placement_configure(&tm_place_state, 1, tm_rt.tiers.tier[0].capacity);
	pthread_atfork(NULL, NULL, restart_in_child);
	atexit(tm_statsd_stop);
	if (tm_opt_num(TM_OPT_STATS))
		tm_statsd_start();
}
