/* Start-up: options, tiers, arenas; fork; the lazy start of background
 * threads. Until tm_init has run, the entry points use jemalloc's own arenas
 * (malloc.c), which is also what any allocation made by the discovery itself
 * (hwloc, dlopen) gets. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "arena.h"
#include "config.h"
#include "log.h"
#include "malloc.h"
#include "placement.h"
#include "policy.h"
#include "runtime.h"
#include "services.h"

#define SERVICES_AFTER_ALLOCS 256
#define SERVICES_AFTER_NS (20 * 1000 * 1000ULL)
/* A large allocation counts as one per this many bytes: a program whose
 * heap is a few large blocks (GUPS, HPC codes) must get its services too. */
#define SERVICES_BYTES_PER_ALLOC (64 << 10)
#define ARENAS_PER_TIER_MAX 8

extern char **environ;

tm_runtime tm_rt;
_Atomic int tm_services_pending;
static _Atomic int services_countdown;
/* Held by the one thread starting the services, and over fork. */
static pthread_mutex_t services_lock = PTHREAD_MUTEX_INITIALIZER;

void tm_services_arm(void)
{
	atomic_store(&services_countdown, SERVICES_AFTER_ALLOCS);
	atomic_store(&tm_services_pending, tm_opt_num(TM_OPT_STATS) || tm_rt.tiered);
}

static void configure_placement(void)
{
	tm_placement_configure(&tm_place_state, tm_rt.tiered ? tm_rt.tiers.count : 1,
			       tm_rt.tiers.tier[0].capacity);
}

/* The tiers' capacity, HMAT numbers and CPU-lessness, and the DRAM quota,
 * which can be a share of capacity. Tiered allocation needs them from the
 * start; a one-tier process reads them only when asked about
 * (TIERMALLOC_VERBOSE, the stats), not at every exec. */
static void describe_tiers(void)
{
	tm_tiers_describe(tm_opt_str(TM_OPT_SYSFS), &tm_rt.tiers);
	configure_placement();
}

/* Called by malloc while services are pending. The count is updated without
 * a locked instruction: threads racing here only lose a few counts. Once
 * enough has been allocated, the first allocation after the delay starts
 * them (a program may allocate its whole heap within the delay, then
 * rarely); the lock makes one thread do it. */
void tm_services_tick(size_t size)
{
	size_t ticks = 1 + size / SERVICES_BYTES_PER_ALLOC;
	int left = atomic_load_explicit(&services_countdown, memory_order_relaxed);
	if (left > 0) {
		left -= ticks < SERVICES_AFTER_ALLOCS ? (int)ticks : SERVICES_AFTER_ALLOCS;
		atomic_store_explicit(&services_countdown, left, memory_order_relaxed);
		if (left > 0)
			return;
	}
	if (tm_now_ns() - tm_rt.start_ns < SERVICES_AFTER_NS ||
	    pthread_mutex_trylock(&services_lock) != 0)
		return;
	if (atomic_exchange(&tm_services_pending, 0)) {
		describe_tiers(); /* for the stats */
		if (tm_opt_num(TM_OPT_STATS))
			tm_statsd_start();
		if (tm_rt.tiered)
			tm_policy_start();
	}
	pthread_mutex_unlock(&services_lock);
}

static unsigned arenas_per_tier(void)
{
	long n = tm_opt_num(TM_OPT_ARENAS);
	if (n > 0)
		return (unsigned)n;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > ARENAS_PER_TIER_MAX ? ARENAS_PER_TIER_MAX : (unsigned)n;
}

static void on_option_change(tm_opt_id id)
{
	configure_placement();
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
	if (s->count < 2 && !tm_policy_wants_one_tier()) {
		snprintf(tm_rt.single_reason, sizeof(tm_rt.single_reason),
			 "one tier (%s): plain jemalloc", s->source);
		return;
	}
	describe_tiers();
	tm_tiers_add_hwloc(s);
	if (tm_arenas_create(s, arenas_per_tier()) == 0)
		tm_rt.tiered = true;
	else
		snprintf(tm_rt.single_reason, sizeof(tm_rt.single_reason),
			 "tier arenas could not be created: plain jemalloc");
}

/* A fork while another thread starts the services waits until it is done:
 * the child must not inherit the lock held by a thread it does not have. */
static void before_fork(void)
{
	pthread_mutex_lock(&services_lock);
}

static void after_fork_parent(void)
{
	pthread_mutex_unlock(&services_lock);
}

static void after_fork_child(void)
{
	pthread_mutex_unlock(&services_lock);
	tm_statsd_after_fork_child();
	if (tm_rt.tiered)
		tm_policy_after_fork_child();
	tm_rt.start_ns = tm_now_ns();
	tm_services_arm();
}

/* jemalloc registers its fork handlers when it starts, which is at the
 * first allocation (or mallctl), not at exec: its constructor is taken out
 * (TM_JEMALLOC in the Makefile), so that a program that never allocates
 * pays nothing for it. Its call lands here (renamed in the archive), and
 * ours go in right after its own: prepare handlers run last-registered
 * first, so a fork takes the services lock before jemalloc's locks, in the
 * order tm_services_tick takes them. A fork before then has no services to
 * restart: the child goes on counting towards them where the parent was. */
int tm_je_pthread_atfork(void (*prepare)(void), void (*parent)(void),
			 void (*child)(void));
int tm_je_pthread_atfork(void (*prepare)(void), void (*parent)(void),
			 void (*child)(void))
{
	int rc = pthread_atfork(prepare, parent, child);
	return rc ? rc : pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

static void tm_fini(void)
{
	if (tm_rt.tiered)
		tm_policy_stop();
	tm_statsd_stop();
}

__attribute__((constructor)) static void tm_init(void)
{
	tm_rt.start_ns = tm_now_ns();
	tm_config_load(environ, getauxval(AT_SECURE) != 0);
	choose_mode();
	if (tm_opt_num(TM_OPT_VERBOSE))
		describe_tiers();
	configure_placement();
	tm_config_on_change(on_option_change);
	if (tm_rt.tiered)
		tm_policy_init(&tm_rt.tiers);
	tm_malloc_bind(tm_rt.tiered);
	report_tiers();
	atexit(tm_fini);
	tm_services_arm();
}
