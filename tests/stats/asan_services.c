/* The stats server under AddressSanitizer. ASan and an LD_PRELOAD malloc
 * exclude each other, so the server's objects, built with ASan, are linked
 * into the test program itself (victim.c), and this file stands in for the
 * library's start-up (init.c): it reads the options, finds the tiers (one
 * tier: no tier arenas without our malloc), arms the services (stop at
 * exit, fork handling) and starts the plugins (the stats server, linked in
 * here) at load time and in a forked child. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/auxv.h>

#include "allocator/config.h"
#include "allocator/plugin.h"
#include "allocator/runtime.h"
#include "allocator/services.h"
#include "policy/policy.h"

extern char **environ;

/* policy/ is not in this build (one tier: the replies say so before they
 * would ask it). */
void tm_policy_snapshot_get(tm_policy_snapshot *out)
{
	memset(out, 0, sizeof(*out));
}

/* The services' own start is driven by our malloc, which this build does
 * not have: start the plugins at load time and in a forked child here. */
static void start_plugins(void)
{
	tm_plugins_call(TM_PLUGIN_START, false);
}

__attribute__((constructor)) static void start(void)
{
	tm_config_load(environ, getauxval(AT_SECURE) != 0);
	tm_tiers_discover(tm_opt_str(TM_OPT_SYSFS), tm_opt_str(TM_OPT_TIERS),
			  &tm_rt.tiers);
	tm_runtime_describe();
	tm_rt.single_reason = "one tier: ASan test build";
	tm_services_arm(false); /* stop at exit */
	/* The services' fork handlers go in when jemalloc starts, through its
	 * renamed pthread_atfork; this build links Debian's jemalloc: register
	 * them here (forget, in a forked child). */
	tm_je_pthread_atfork(NULL, NULL, NULL);
	pthread_atfork(NULL, NULL, start_plugins);
	start_plugins();
}
