/* The stats server under AddressSanitizer. ASan and an LD_PRELOAD malloc
 * exclude each other, so the server's objects, built with ASan, are linked
 * into the test program itself (victim.c), and this file stands in for the
 * library's start-up (init.c, services.c): it reads the options, finds the
 * tiers (one tier: no tier arenas without our malloc), and calls the
 * plugins' hooks (the stats server's, linked in here): start at load time,
 * stop at exit, and in a forked child a restart. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/auxv.h>

#include "allocator/config.h"
#include "allocator/placement.h"
#include "allocator/plugin.h"
#include "allocator/prim/os.h"
#include "allocator/runtime.h"
#include "policy/policy.h"

extern char **environ;

tm_runtime tm_rt;

/* policy/ is not in this build (one tier: the replies say so before they
 * would ask it). */
void tm_policy_snapshot_get(tm_policy_snapshot *out)
{
	memset(out, 0, sizeof(*out));
}

static void start_plugins(void)
{
	const tm_plugin *p, *end;
	for (tm_plugins(&p, &end); p < end; p++)
		if (p->start)
			p->start(false);
}

static void stop_plugins(void)
{
	const tm_plugin *p, *end;
	for (tm_plugins(&p, &end); p < end; p++)
		if (p->stop)
			p->stop(false);
}

static void restart_in_child(void)
{
	const tm_plugin *p, *end;
	for (tm_plugins(&p, &end); p < end; p++)
		if (p->after_fork_child)
			p->after_fork_child(false);
	tm_rt.start_ns = tm_now_ns();
	start_plugins();
}

__attribute__((constructor)) static void start(void)
{
	tm_rt.start_ns = tm_now_ns();
	tm_config_load(environ, getauxval(AT_SECURE) != 0);
	tm_tiers_discover(tm_opt_str(TM_OPT_SYSFS), tm_opt_str(TM_OPT_TIERS),
			  &tm_rt.tiers);
	snprintf(tm_rt.single_reason, sizeof(tm_rt.single_reason),
		 "one tier (%s): ASan test build", tm_rt.tiers.source);
	tm_placement_configure(&tm_place_state, 1, tm_rt.tiers.tier[0].capacity);
	pthread_atfork(NULL, NULL, restart_in_child);
	atexit(stop_plugins);
	start_plugins();
}
