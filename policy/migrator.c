#include "policy/migrator.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "allocator/config.h"
#include "allocator/heap.h"
#include "allocator/log.h"
#include "allocator/prim/os.h"
#include "allocator/services.h"
#include "policy/mover.h"
#include "policy/pace.h"
#include "policy/planner.h"
#include "policy/sites.h"

#define RESERVE_SHIFT 6                 /* 1/64 of a tier left to the kernel */
#define SETTLED_SHIFT 6                 /* plans moving under 1/64 of DRAM */
#define BLIND_WHY "saw nothing in %d periods while the program ran"

static struct {
	tm_migrator_config cfg;
	tm_heat_src *src;
	tm_heat_src *partner;          /* a page-exact second source, or NULL */
	char source_name[24];          /* "damon+uffd" */
	unsigned benched;              /* sources found blind (bit TM_HEAT_*) */
	tm_blind_watch watch, partner_watch;
	uint64_t program_cpu_ns;       /* the process's CPU less ours, last period */
	uint64_t program_wall_ns;      /* when it was read */
	tm_mover mover;
	tm_plan_state plan;            /* this period's */
	tm_move moves[TM_MIGRATOR_ROUND];
	int64_t applied[TM_TIER_MAX];  /* bytes this thread added to used[] */
	double tokens;                 /* migration budget, bytes */
	tm_pace pace;                  /* how often heat is measured */
	tm_margin margin;              /* what a swap must win by */
	size_t heap_pages;             /* the heap's pages, last period */
	uint64_t heat_cpu_ns;          /* this thread's CPU in measure() */
	uint64_t measure_ns;           /* the last measurement's cost: that
					* CPU and the program's faults */
	uint64_t last_ns, start_ns;
	_Atomic bool running, stopping;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_mutex_t stats_lock;
	tm_policy_snapshot pub;        /* as of the last period */
} mg = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.stats_lock = PTHREAD_MUTEX_INITIALIZER,
};

static int64_t page_bytes(void)
{
	return (int64_t)1 << mg.cfg.hm->shift;
}

static unsigned period_ms(void)
{
	return (unsigned)tm_opt_num(TM_OPT_SCAN_MS);
}

static uint64_t measure_budget_ns(unsigned period_ms)
{
	return tm_pace_budget_ns(period_ms, (unsigned)tm_opt_num(TM_OPT_HEAT_CPU));
}

/* ---- one period -------------------------------------------------------------- */

/* The heap only grows (the arenas bump through their reservations);
 * whether it did. */
static bool follow_heap(void)
{
	tm_heatmap *hm = mg.cfg.hm;
	size_t pages = 0;
	for (int s = 0; s < hm->nspans; s++) {
		uintptr_t start, end;
		tm_heap_committed(hm->span[s].home, &start, &end);
		tm_heatmap_extend(hm, s, end);
		pages += tm_span_pages(hm, &hm->span[s]);
	}
	bool grew = pages != mg.heap_pages;
	mg.heap_pages = pages;
	return grew;
}

/* The allocator counts bytes to the tier whose arena made them; a page
 * living on another tier (moved, or put there by the kernel's fallback)
 * counts to the tier it is on, so the DRAM quota sees real DRAM use. */
static void account(int tier, int64_t bytes)
{
	tm_heap_account(tier, bytes);
	mg.applied[tier] += bytes;
}

static void reconcile(const tm_residency *r, int tiers)
{
	for (int t = 0; t < tiers; t++) {
		int64_t net = 0;
		for (int o = 0; o < tiers; o++)
			if (o != t)
				net += r->pages[o][t] - r->pages[t][o];
		account(t, net * page_bytes() - mg.applied[t]);
	}
}

static int64_t resident(const tm_residency *r, int tier)
{
	int64_t n = 0;
	for (int h = 0; h < TM_TIER_MAX; h++)
		n += r->pages[h][tier];
	return n;
}

/* What each tier may hold: what it holds plus its free memory (less a
 * reserve for the kernel), and for DRAM no more than the quota. */
static void capacities(tm_plan_params *p, const tm_residency *r)
{
	const tm_tierset *set = mg.cfg.tiers;
	memset(p, 0, sizeof(*p));
	p->tiers = set->count;
	for (int t = 0; t < set->count; t++) {
		int64_t free = (int64_t)tm_nodes_free(mg.cfg.sysfs_root, set->tier[t].nodes);
		int64_t spare = free - (int64_t)(set->tier[t].capacity >> RESERVE_SHIFT);
		p->cap[t] = resident(r, t) + (spare > 0 ? spare / page_bytes() : 0);
	}
	int64_t quota = tm_heap_quota() / page_bytes();
	if (quota < p->cap[0])
		p->cap[0] = quota;
	tm_plan_settings(p, mg.cfg.hm->credit_shift, &mg.margin);
}

/* TIERMALLOC_MIGRATE_MBPS as a token bucket holding two periods' worth. */
static int64_t budget_pages(unsigned period_ms)
{
	uint64_t now = tm_now_ns();
	double rate = (double)tm_opt_num(TM_OPT_MIGRATE_MBPS) * (1 << 20) / 1e9;
	double most = rate * 2e6 * period_ms;
	mg.tokens += rate * (double)(now - mg.last_ns);
	if (mg.tokens > most)
		mg.tokens = most;
	mg.last_ns = now;
	return (int64_t)(mg.tokens / (double)page_bytes());
}

static void add_result(tm_move_result *sum, const tm_move_result *r)
{
	sum->promoted += r->promoted;
	sum->demoted += r->demoted;
	sum->undone += r->undone;
	for (int k = 0; k < TM_FAIL_KINDS; k++)
		sum->failed[k] += r->failed[k];
}

/* Plan the period, and move in rounds until the plan is spent. */
static void migrate(const tm_plan_params *p, tm_plan_summary *sum,
		    tm_move_result *res)
{
	tm_heatmap *hm = mg.cfg.hm;
	tm_plan_start(&mg.plan, hm, p, sum);
	while (!atomic_load(&mg.stopping)) {
		size_t n = tm_plan_next(&mg.plan, hm, mg.moves, TM_MIGRATOR_ROUND);
		if (n == 0)
			break;
		tm_move_result r = {0};
		tm_mover_apply(&mg.mover, hm, mg.moves, n, &r);
		tm_plan_settle(&mg.plan, r.gained[0]);
		for (int t = 0; t < p->tiers; t++)
			account(t, r.gained[t] * page_bytes());
		add_result(res, &r);
		mg.tokens -= (double)r.pages * (double)page_bytes();
	}
}

static void publish(const tm_plan_params *p, const tm_plan_summary *sum,
		    const tm_move_result *mv, const tm_residency *r)
{
	uint64_t cpu = tm_os_thread_cpu_ns();
	pthread_mutex_lock(&mg.stats_lock);
	tm_policy_snapshot *s = &mg.pub;
	s->periods++;
	s->promoted_pages += mv->promoted;
	s->demoted_pages += mv->demoted;
	s->promoted_bytes += mv->promoted * (uint64_t)page_bytes();
	s->demoted_bytes += mv->demoted * (uint64_t)page_bytes();
	for (int k = 0; k < TM_FAIL_KINDS; k++)
		s->failed[k] += mv->failed[k];
	s->undone_pages += mv->undone;
	s->swap_margin = p->margin;
	s->cpu_ns = cpu;
	s->heat_cpu_ns = mg.heat_cpu_ns;
	s->wall_ns = tm_now_ns() - mg.start_ns;
	for (int t = 0; t < TM_TIER_MAX; t++)
		s->resident_pages[t] = (uint64_t)resident(r, t);
	tm_heatmap_histogram(mg.cfg.hm, s->heat_hist);
	s->observed = mg.src->observed + (mg.partner ? mg.partner->observed : 0);
	s->tracking = (tm_write_tracking){0};
	s->probes = (tm_read_probes){0};
	if (mg.src->report)
		mg.src->report(mg.src, s);
	if (mg.partner && mg.partner->report)
		mg.partner->report(mg.partner, s);
	s->boundary = sum->boundary;
	s->heat_every = mg.pace.every;
	s->measure_ns = mg.measure_ns;
	s->measure_budget_ns = measure_budget_ns(period_ms());
	s->pressure = sum->pressure;
	pthread_mutex_unlock(&mg.stats_lock);
}

/* Collect from one source; the pages it credited. */
static uint64_t collect(tm_heat_src *src, unsigned period_ms)
{
	uint64_t before = atomic_load(&mg.cfg.hm->credited);
	src->collect(src, mg.cfg.hm, period_ms);
	return atomic_load(&mg.cfg.hm->credited) - before;
}

/* The program's CPU time (the process's, less this thread's) since the
 * last period, as a share of the wall time into the heat map; whether it
 * used a tenth of a period's CPU. */
static bool program_ran(unsigned period_ms)
{
	uint64_t cpu = tm_os_program_cpu_ns();
	uint64_t wall = tm_now_ns();
	uint64_t used = cpu > mg.program_cpu_ns ? cpu - mg.program_cpu_ns : 0;
	uint64_t share = wall > mg.program_wall_ns
		? used * 1000 / (wall - mg.program_wall_ns) : 1000;
	mg.cfg.hm->ran_permille = share < 1000 ? (unsigned)share : 1000;
	mg.program_cpu_ns = cpu;
	mg.program_wall_ns = wall;
	return used >= period_ms * 100000ULL;
}

static void choose_source(void);

/* A source that measures nothing this program does hands over: the choice
 * is made again without it. Forced by TIERMALLOC_HEAT, it stays, and says
 * so. */
static void found_blind(tm_heat_src *src)
{
	if (src == &tm_hints_source) /* measures nothing by design */
		return;
	int i = 0;
	while (mg.cfg.srcs[i] != src)
		i++;
	if (mg.cfg.forced == i) {
		tm_heat_source_stat *st = &mg.pub.sources[i];
		pthread_mutex_lock(&mg.stats_lock);
		snprintf(st->why, sizeof(st->why), BLIND_WHY, TM_BLIND_PERIODS);
		pthread_mutex_unlock(&mg.stats_lock);
		tm_warn("TIERMALLOC_HEAT=%s: %s", src->name, st->why);
		return;
	}
	tm_info("heat source %s: " BLIND_WHY "; choosing again", src->name,
		TM_BLIND_PERIODS);
	mg.benched |= 1u << i;
	if (mg.partner)
		mg.partner->close(mg.partner);
	mg.src->close(mg.src);
	choose_source();
}

/* Cool the heat map and collect heat for the periods since the last
 * measurement: a page seen now counts for each of them. */
static void measure(unsigned periods, unsigned period_ms)
{
	tm_heatmap *hm = mg.cfg.hm;
	for (unsigned k = 0; k < periods; k++)
		tm_heatmap_cool(hm);
	hm->periods_skipped = periods - 1;
	bool ran = program_ran(period_ms);
	if (tm_source_blind(&mg.watch, collect(mg.src, period_ms), ran))
		found_blind(mg.src);
	if (mg.partner &&
	    tm_source_blind(&mg.partner_watch, collect(mg.partner, period_ms), ran))
		found_blind(mg.partner);
}

/* After a period's plan: fewer measurements once placement has settled.
 * A plan that moves under 1/64 of DRAM's pages counts as settled: pages
 * whose heat hovers at the swap margin keep a few moving in any program. */
static void pace(bool busy)
{
	unsigned every = mg.pace.every;
	tm_pace_done(&mg.pace, busy);
	if (mg.pace.every == every)
		return;
	tm_info("heat measured every %u period%s", mg.pace.every,
		mg.pace.every == 1 ? ": pages move again"
		: mg.pace.every == mg.pace.cost_every
		? "s: a measurement costs more than a period may spend"
		: "s: placement has settled");
	if (mg.src->pace)
		mg.src->pace(mg.src, mg.pace.every);
	if (mg.partner && mg.partner->pace)
		mg.partner->pace(mg.partner, mg.pace.every);
}

static void period(unsigned period_ms)
{
	tm_heatmap *hm = mg.cfg.hm;
	bool grew = follow_heap();
	tm_mover_find_huge(&mg.mover, hm);
	unsigned periods = tm_pace_due(&mg.pace);
	if (periods) {
		/* The sources' share of a period, apart from the plan's:
		 * their cost grows differently with the heap. */
		uint64_t cpu = tm_os_thread_cpu_ns();
		measure(periods, period_ms);
		cpu = tm_os_thread_cpu_ns() - cpu;
		mg.heat_cpu_ns += cpu;
		mg.measure_ns = cpu + mg.src->program_ns +
				(mg.partner ? mg.partner->program_ns : 0);
		tm_pace_cost(&mg.pace, mg.measure_ns, measure_budget_ns(period_ms));
	}
	tm_residency res;
	tm_mover_locate(&mg.mover, hm, TM_MIGRATOR_LOCATE_NEW, TM_MIGRATOR_LOCATE_AGAIN, &res);
	tm_plan_params p;
	capacities(&p, &res);
	if (p.tiers > 1)
		reconcile(&res, p.tiers);
	/* Heat is tracked under any placement policy (for the statistics);
	 * pages move only under the heat policy. */
	int64_t budget = budget_pages(period_ms);
	if (p.tiers > 1 && tm_opt_num(TM_OPT_POLICY) == TM_POLICY_HEAT)
		p.budget = budget;
	tm_plan_summary sum;
	tm_move_result moved = {0};
	migrate(&p, &sum, &moved);
	tm_margin_update(&mg.margin, moved.promoted, moved.undone);
	/* Without pressure nothing moves whatever the heat does, so a quiet
	 * plan says nothing: heat's readers (stats, tm_heat_of, the sites)
	 * keep it measured every period there. */
	pace(grew || !sum.pressure ||
	     sum.promotions + sum.demotions > p.cap[0] >> SETTLED_SHIFT);
	tm_sites_update(hm, &sum, p.tiers - 1);
	publish(&p, &sum, &moved, &res);
}

/* ---- the thread ------------------------------------------------------------ */

/* Sleep one period; false when asked to stop. */
static bool wait_period(void)
{
	struct timespec until = tm_os_deadline(CLOCK_MONOTONIC,
					       (uint64_t)period_ms() * 1000000ULL);
	pthread_mutex_lock(&mg.lock);
	while (!atomic_load(&mg.stopping) &&
	       pthread_cond_timedwait(&mg.wake, &mg.lock, &until) != ETIMEDOUT)
		;
	pthread_mutex_unlock(&mg.lock);
	return !atomic_load(&mg.stopping);
}

static void choose_source(void)
{
	tm_heat_source_stat st[TM_HEAT_SOURCES];
	follow_heap();
	mg.watch = mg.partner_watch = (tm_blind_watch){0};
	mg.pace = TM_PACE_INIT;
	for (int i = 0; i < TM_HEAT_SOURCES; i++)
		if (mg.cfg.srcs[i])
			mg.cfg.srcs[i]->stop = &mg.stopping;
	mg.src = tm_sources_choose(mg.cfg.srcs, mg.cfg.forced, mg.benched, mg.cfg.hm,
				   period_ms(), st, &mg.partner);
	for (int i = 0; i < TM_HEAT_SOURCES; i++)
		if (mg.benched & (1u << i)) {
			st[i].tried = true;
			snprintf(st[i].why, sizeof(st[i].why), BLIND_WHY, TM_BLIND_PERIODS);
		}
	/* Either alone fills half the heat range: a page DAMON's region sees
	 * used, but never written, stays below one written often. Huge pages
	 * are write tracking's alone (see tm_heatmap's huge_by_writes). */
	mg.cfg.hm->credit_shift = mg.partner != NULL;
	mg.cfg.hm->huge_by_writes = mg.partner != NULL;
	if (mg.cfg.forced >= 0 && mg.src != mg.cfg.srcs[mg.cfg.forced])
		tm_warn("TIERMALLOC_HEAT=%s: %s; using %s", st[mg.cfg.forced].name,
			st[mg.cfg.forced].why, mg.src ? mg.src->name : "none");
	for (int i = 0; i < TM_HEAT_SOURCES; i++)
		tm_info("heat source %s: %s%s%s", st[i].name,
			st[i].available ? "in use" : st[i].why,
			st[i].available && st[i].why[0] ? ": " : "",
			st[i].available ? st[i].why : "");
	pthread_mutex_lock(&mg.stats_lock);
	memcpy(mg.pub.sources, st, sizeof(st));
	snprintf(mg.source_name, sizeof(mg.source_name), "%s%s%s",
		 mg.src ? mg.src->name : "none", mg.partner ? "+" : "",
		 mg.partner ? mg.partner->name : "");
	mg.pub.source = mg.source_name;
	pthread_mutex_unlock(&mg.stats_lock);
}

static void *run(void)
{
	choose_source();
	mg.start_ns = mg.last_ns = tm_now_ns();
	while (mg.src && wait_period()) {
		period(period_ms());
		tm_services_exit_if_alone(); /* with no stats thread to see it */
	}
	if (mg.partner)
		mg.partner->close(mg.partner);
	if (mg.src)
		mg.src->close(mg.src);
	return NULL;
}

static tm_service migrator = {.name = "tm-migrator", .main = run};

int tm_migrator_start(const tm_migrator_config *cfg)
{
	pthread_mutex_lock(&mg.lock);
	int rc = 0;
	if (!atomic_load(&mg.running)) {
		mg.cfg = *cfg;
		tm_mover_init(&mg.mover, cfg->tiers, &tm_mover_os_real);
		atomic_store(&mg.stopping, false);
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&mg.wake, &ca);
		pthread_condattr_destroy(&ca);
		rc = tm_service_start(&migrator, 0);
		atomic_store(&mg.running, rc == 0);
	}
	pthread_mutex_unlock(&mg.lock);
	return -rc;
}

void tm_migrator_stop(void)
{
	pthread_mutex_lock(&mg.lock);
	bool running = atomic_load(&mg.running);
	atomic_store(&mg.stopping, true);
	pthread_cond_signal(&mg.wake);
	pthread_mutex_unlock(&mg.lock);
	if (running && !pthread_equal(migrator.thread, pthread_self()))
		pthread_join(migrator.thread, NULL);
	atomic_store(&mg.running, false);
}

/* The locks may have been held by the parent's migrator at the fork. */
void tm_migrator_after_fork_child(void)
{
	mg.lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	mg.stats_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	if (atomic_load(&mg.running) && mg.partner)
		mg.partner->forget(mg.partner);
	if (atomic_load(&mg.running) && mg.src)
		mg.src->forget(mg.src);
	mg.src = mg.partner = NULL;
	atomic_store(&mg.running, false);
	memset(&mg.pub, 0, sizeof(mg.pub));
}

bool tm_migrator_running(void)
{
	return atomic_load(&mg.running);
}

size_t tm_migrator_table_bytes(void)
{
	return sizeof(mg);
}

void tm_migrator_stats(tm_policy_snapshot *out)
{
	pthread_mutex_lock(&mg.stats_lock);
	*out = mg.pub;
	pthread_mutex_unlock(&mg.stats_lock);
	out->running = atomic_load(&mg.running);
	if (!out->source)
		out->source = "none";
}
