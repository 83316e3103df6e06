/* Start-up: options, tiers, arenas, the plugins' init; then the background
 * threads are armed (services.c). Until tm_init has run, the entry points
 * use jemalloc's own arenas (malloc.c), which is also what any allocation
 * made by the discovery itself (hwloc, dlopen) gets. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "allocator/arena.h"
#include "allocator/config.h"
#include "allocator/log.h"
#include "allocator/malloc.h"
#include "allocator/placement.h"
#include "allocator/prim/os.h"
#include "allocator/plugin.h"
#include "allocator/runtime.h"
#include "allocator/services.h"

#define ARENAS_PER_TIER_MAX 8

extern char **environ;

static unsigned arenas_per_tier(void)
{
	long n = tm_opt_num(TM_OPT_ARENAS);
	if (n > 0)
		return (unsigned)n;
	unsigned cpus = tm_os_cpu_count();
	return cpus > ARENAS_PER_TIER_MAX ? ARENAS_PER_TIER_MAX : cpus;
}

static void on_option_change(tm_opt_id id)
{
	tm_runtime_configure_placement();
}

static void report_tiers(void)
{
	const tm_tierset *s = &tm_rt.tiers;
	for (int t = 0; t < s->count; t++) {
		char nodes[64];
		tm_nodelist_format(s->tier[t].nodes, nodes, sizeof(nodes));
		tm_info("tier %d: nodes %s, %llu MiB, %s%s, latency %u ns, "
			"bandwidth %u MB/s", t, nodes,
			(unsigned long long)(s->tier[t].capacity >> 20),
			s->tier[t].kind[0] ? s->tier[t].kind : "kind unknown",
			s->tier[t].cpuless ? ", CPU-less" : "",
			s->tier[t].latency_ns, s->tier[t].bandwidth_mbs);
	}
	tm_info("tiers from %s; %s", s->source,
		tm_rt.tiered ? "tiered allocation" : tm_rt.single_reason);
}

static void choose_mode(void)
{
	tm_tierset *s = &tm_rt.tiers;
	tm_tiers_discover(tm_opt_str(TM_OPT_SYSFS), tm_opt_str(TM_OPT_TIERS), s);
	if (tm_opt_src(TM_OPT_SYSFS) == TM_SRC_ENV &&
	    strcmp(s->source, "no NUMA information") == 0)
		tm_warn("TIERMALLOC_SYSFS=%s: no NUMA nodes under it; using one tier",
			tm_opt_str(TM_OPT_SYSFS));
	/* One tier is plain jemalloc, unless TIERMALLOC_HEAT names a heat
	 * source: then its heap gets tier arenas too, so that its heat can be
	 * tracked and read (stats, tm_heat_of); nothing moves. */
	if (s->count < 2 && !tm_plugins_want_one_tier()) {
		tm_rt.single_reason = "one tier: plain jemalloc";
		return;
	}
	tm_tiers_describe(tm_opt_str(TM_OPT_SYSFS), s);
	tm_tiers_add_hwloc(s);
	if (tm_arenas_create(s, arenas_per_tier()) == 0)
		tm_rt.tiered = true;
	else
		tm_rt.single_reason = "tier arenas could not be created: plain jemalloc";
}

__attribute__((constructor)) static void tm_init(void)
{
	tm_config_load(environ, getauxval(AT_SECURE) != 0);
	choose_mode();
	if (tm_opt_num(TM_OPT_VERBOSE))
		tm_tiers_describe(tm_opt_str(TM_OPT_SYSFS), &tm_rt.tiers);
	tm_runtime_configure_placement();
	tm_config_on_change(on_option_change);
	tm_plugins_init(&tm_rt.tiers, tm_rt.tiered);
	tm_malloc_bind(tm_rt.tiered);
	if (tm_opt_num(TM_OPT_VERBOSE)) /* not formatted for nothing at every exec */
		report_tiers();
	tm_services_arm(tm_rt.tiered);
}
