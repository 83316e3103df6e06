/* The heat policy's cost at big heaps (issue 14): the CPU time of one
 * migrator period and the memory the policy keeps, for heaps of 1, 16 and
 * 64 GiB on synthetic heat, on a host with one memory node.
 *
 * Part 1 runs the policy's own code in the order of a period of
 * policy/migrator.c: following the heap, cooling the heat map, crediting
 * heat (through a heat source), locating pages and counting residency (the
 * mover), planning in rounds against a DRAM quota and carrying each round
 * out, attributing heat to allocation sites, and the heat histogram of the
 * statistics. The heap is address space reserved PROT_NONE: the policy
 * only needs its addresses; the heat map's cells are real memory. The
 * kernel's side of a period cannot run on such a heap (nor on one node):
 * move_pages answers from the cells (queries) and always succeeds (moves),
 * and no block is a transparent huge page.
 *
 * Part 2 measures the kernel's side that this host can run, on real memory
 * of the process: move_pages status queries (the mover's locate, real
 * system calls, with its per-period bounds), PAGEMAP_SCAN for huge pages,
 * and write tracking's windows (userfaultfd). Not measured: moves between
 * nodes (one node here), DAMON (a kdamond is a shared kernel resource) and
 * perf sampling (no PMU in this VM).
 *
 *   policy_scale [--runs N] [--real-mib M] [GIB...]     default 3, 512: 1 16 64
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "allocator/prim/os.h"
#include "policy/heat_uffd.h"
#include "policy/heatmap.h"
#include "policy/migrator.h"
#include "policy/mover.h"
#include "policy/pace.h"
#include "policy/planner.h"
#include "policy/sites.h"

#define SHIFT 12
#define GIB (1UL << 30)
#define QUOTA_SHIFT 2        /* DRAM quota: a quarter of the heap (1:4) */
#define HOT_SHIFT 4          /* hot set: a 16th of the heap */
#define RUN_PAGES 16         /* in objects of 64 KiB */
#define PERIOD_MS 1000       /* TIERMALLOC_SCAN_MS's default */
#define BUDGET_PAGES 65536   /* TIERMALLOC_MIGRATE_MBPS's 256 MiB/s, a period */
#define STEADY_PERIODS 3
#define SHIFT_PERIODS 6
#define SITES 64
#define MAX_RUNS 15

/* ---- the time of each step of a period ---------------------------------- */

enum { FOLLOW, COOL, CREDIT, LOCATE, PLAN, SITES_STEP, HIST, STEPS };
static const char *const step_name[STEPS] = {
	"follow the heap", "cool", "credit heat", "locate + census",
	"plan + apply", "sites", "histogram",
};

static double cpu_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

typedef struct {
	double step[STEPS];
	double total;
	size_t moved;
} period_cost;

/* ---- a heap of address space, and its heat map ------------------------- */

typedef struct {
	size_t pages;                  /* of the heap */
	uintptr_t base;
	tm_heatmap hm;
	tm_mover mover;
	tm_tierset tiers;
	uintptr_t *hot;                /* first byte of each hot object */
	size_t nhot;
	tm_heat_src src;               /* credits the hot objects */
	tm_plan_state plan;
	tm_move moves[TM_MIGRATOR_ROUND];
} bench;

static bench B;

static int grow_cells(void *cells, size_t old_bytes, size_t new_bytes)
{
	return tm_os_commit((char *)cells + old_bytes, new_bytes - old_bytes);
}

/* As policy.c lays a span out: cells reserved and committed as the heap
 * grows, its huge-block bitmap after them, committed whole. */
static void add_span(tm_heatmap *hm, uintptr_t base, size_t size, int home)
{
	size_t bytes = (size >> SHIFT) * sizeof(tm_cell);
	size_t huge = tm_heatmap_huge_bytes(size), got;
	char *cells = tm_os_reserve(bytes + huge, bytes + huge, &got);
	if (!cells || tm_os_commit(cells + bytes, huge) < 0) {
		perror("reserving the heat map");
		exit(1);
	}
	int s = tm_heatmap_add_span(hm, base, size, (tm_cell *)cells, home);
	hm->span[s].huge = (uint64_t *)(cells + bytes);
}

static void free_spans(tm_heatmap *hm)
{
	for (int s = 0; s < hm->nspans; s++) {
		tm_span *sp = &hm->span[s];
		size_t bytes = sp->cap * sizeof(tm_cell);
		tm_os_release(sp->cells, bytes + tm_heatmap_huge_bytes(sp->cap << SHIFT));
	}
}

/* The fake kernel: a page is where its cell says, a new one on its home
 * tier (tier t is node t); every move succeeds. */
static long fake_move_pages(size_t count, void **pages, const int *nodes,
			    int *status)
{
	for (size_t k = 0; k < count; k++) {
		uintptr_t a = (uintptr_t)pages[k];
		const tm_cell *c = tm_heatmap_cell(&B.hm, a);
		if (nodes)
			status[k] = nodes[k];
		else
			status[k] = c->tier != TM_TIER_NONE
				? c->tier : B.hm.span[tm_heatmap_span_of(&B.hm, a)].home;
	}
	return 0;
}

static int no_pagemap(void)
{
	return -ENOSYS;
}

static const tm_mover_os fake_os = {
	.move_pages = fake_move_pages,
	.open_pagemap = no_pagemap,
};

/* The synthetic heat source: every hot object written throughout. */
static void credit_hot(tm_heat_src *s, tm_heatmap *hm, unsigned period_ms)
{
	for (size_t i = 0; i < B.nhot; i++)
		tm_heatmap_credit(hm, B.hot[i], B.hot[i] + (RUN_PAGES << SHIFT),
				  TM_HEAT_FULL);
	s->observed += B.nhot;
}

/* Hot objects at random places of [first, first + pages). */
static void choose_hot(size_t first, size_t pages, unsigned seed)
{
	srandom(seed);
	B.nhot = (B.pages >> HOT_SHIFT) / RUN_PAGES;
	for (size_t i = 0; i < B.nhot; i++) {
		size_t obj = ((size_t)random() << 31 | (size_t)random()) %
			     (pages / RUN_PAGES);
		B.hot[i] = B.base + ((first + obj * RUN_PAGES) << SHIFT);
	}
}

/* Sampled allocations of 256 KiB from SITES call sites, all over the heap. */
static void sample_sites(void)
{
	tm_sites_reset();
	for (size_t i = 0; i < TM_SITE_SAMPLES; i++) {
		size_t page = ((size_t)random() << 31 | (size_t)random()) % B.pages;
		tm_sites_sample(B.base + (page << SHIFT), TM_SAMPLE_BYTES,
				0x400000 + (uintptr_t)(i % SITES) * 64);
	}
}

/* A heap of gib GiB that has run long: a quarter of it is the DRAM
 * arena's (span 0, on DRAM, the quota's size), the rest the slow tier's;
 * every page located once, old enough to move; the hot set in DRAM,
 * settled at the top of the heat range. */
static void setup(unsigned gib)
{
	size_t size = (size_t)gib * GIB, got;
	B.pages = size >> SHIFT;
	B.base = (uintptr_t)tm_os_reserve(size, size, &got);
	if (!B.base) {
		perror("reserving the heap");
		exit(1);
	}
	tm_heatmap_init(&B.hm, SHIFT, grow_cells);
	size_t dram = size >> QUOTA_SHIFT;
	add_span(&B.hm, B.base, dram, 0);
	add_span(&B.hm, B.base + dram, size - dram, 1);
	B.tiers = (tm_tierset){.count = 2};
	for (int t = 0; t < 2; t++)
		B.tiers.tier[t].nodes = 1ULL << t;
	tm_mover_init(&B.mover, &B.tiers, &fake_os);
	for (int s = 0; s < 2; s++) {
		tm_span *sp = &B.hm.span[s];
		tm_heatmap_extend(&B.hm, s, sp->base + (sp->cap << SHIFT));
		for (size_t i = 0; i < sp->cap; i++)
			sp->cells[i] = (tm_cell){.tier = (uint8_t)s, .age = 100};
		B.mover.located[s] = sp->cap;
	}
	choose_hot(0, dram >> SHIFT, 1);
	for (size_t i = 0; i < B.nhot; i++)
		tm_heatmap_credit(&B.hm, B.hot[i], B.hot[i] + (RUN_PAGES << SHIFT),
				  TM_HEAT_MAX);
	B.src = (tm_heat_src){.name = "synthetic", .page_exact = true,
			      .collect = credit_hot};
	sample_sites();
}

static void teardown(void)
{
	free_spans(&B.hm);
	tm_os_release((void *)B.base, B.pages << SHIFT);
}

/* What migrator.c's capacities() finds on this heap: DRAM held to the
 * quota, the slow tier roomy. */
static void params(tm_plan_params *p)
{
	*p = (tm_plan_params){.tiers = 2, .budget = BUDGET_PAGES};
	p->cap[0] = (int64_t)(B.pages >> QUOTA_SHIFT);
	p->cap[1] = (int64_t)B.pages;
	tm_plan_settings(p, B.hm.credit_shift, &(tm_margin){0});
}

/* migrator.c's migrate(): plan the period, move in rounds. */
static size_t migrate(const tm_plan_params *p, tm_plan_summary *sum)
{
	size_t moved = 0, n;
	tm_plan_start(&B.plan, &B.hm, p, sum);
	while ((n = tm_plan_next(&B.plan, &B.hm, B.moves, TM_MIGRATOR_ROUND))) {
		tm_move_result r = {0};
		tm_mover_apply(&B.mover, &B.hm, B.moves, n, &r);
		tm_plan_settle(&B.plan, r.gained[0]);
		moved += r.pages;
	}
	return moved;
}

static void lap(period_cost *c, int step, double *t)
{
	double now = cpu_ms();
	c->step[step] += now - *t;
	*t = now;
}

/* One period, as migrator.c's period() runs it. */
static period_cost period(void)
{
	static uint64_t hist[TM_TIER_MAX][TM_HEAT_HIST];
	period_cost c = {0};
	tm_residency res;
	tm_plan_params p;
	tm_plan_summary sum;
	double t0 = cpu_ms(), t = t0;
	for (int s = 0; s < B.hm.nspans; s++)
		tm_heatmap_extend(&B.hm, s, B.hm.span[s].end);
	tm_mover_find_huge(&B.mover, &B.hm);
	lap(&c, FOLLOW, &t);
	tm_heatmap_cool(&B.hm);
	lap(&c, COOL, &t);
	B.src.collect(&B.src, &B.hm, PERIOD_MS);
	lap(&c, CREDIT, &t);
	tm_mover_locate(&B.mover, &B.hm, TM_MIGRATOR_LOCATE_NEW,
			TM_MIGRATOR_LOCATE_AGAIN, &res);
	lap(&c, LOCATE, &t);
	params(&p);
	c.moved = migrate(&p, &sum);
	lap(&c, PLAN, &t);
	tm_sites_update(&B.hm, &sum, 1);
	lap(&c, SITES_STEP, &t);
	tm_heatmap_histogram(&B.hm, hist);
	lap(&c, HIST, &t);
	c.total = t - t0;
	return c;
}

/* ---- memory ------------------------------------------------------------- */

static size_t rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size = 0, rss = 0;
	if (f) {
		if (fscanf(f, "%lu %lu", &size, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * (size_t)sysconf(_SC_PAGESIZE);
}

/* ---- runs --------------------------------------------------------------- */

typedef struct {
	period_cost steady, busiest;
	size_t metadata, rss;
} run_result;

static int by_total(const void *a, const void *b)
{
	double x = ((const period_cost *)a)->total, y = ((const period_cost *)b)->total;
	return (x > y) - (x < y);
}

/* Steady: the median of STEADY_PERIODS periods with the hot set in place.
 * Then the hot set moves (a new one all over the heap, three quarters of
 * it on the slow tier): the busiest is the period after it that moved the
 * most pages (at 16 GiB and more, each of them moves the whole budget). */
static run_result run(unsigned gib)
{
	run_result r = {0};
	period_cost steady[STEADY_PERIODS];
	size_t rss0 = rss_bytes();
	setup(gib);
	for (int i = 0; i < STEADY_PERIODS; i++)
		steady[i] = period();
	qsort(steady, STEADY_PERIODS, sizeof(*steady), by_total);
	r.steady = steady[STEADY_PERIODS / 2];
	choose_hot(0, B.pages, 2);
	for (int i = 0; i < SHIFT_PERIODS; i++) {
		period_cost c = period();
		if (c.moved > r.busiest.moved)
			r.busiest = c;
	}
	r.metadata = tm_heatmap_bytes(&B.hm) + tm_sites_table_bytes() +
		     tm_migrator_table_bytes();
	r.rss = rss_bytes() - rss0;
	teardown();
	return r;
}

static int by_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

typedef struct {
	double median, min, max;
} spread;

static spread spread_of(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), by_double);
	return (spread){v[n / 2], v[0], v[n - 1]};
}

typedef struct {
	unsigned gib;
	spread steady, busiest;
	double steady_step[STEPS], busiest_step[STEPS];
	size_t moved, metadata, rss;
} row;

static row measure(unsigned gib, int runs)
{
	double steady[MAX_RUNS], busiest[MAX_RUNS], step[STEPS][2][MAX_RUNS];
	row w = {.gib = gib};
	for (int i = 0; i < runs; i++) {
		run_result r = run(gib);
		steady[i] = r.steady.total;
		busiest[i] = r.busiest.total;
		for (int s = 0; s < STEPS; s++) {
			step[s][0][i] = r.steady.step[s];
			step[s][1][i] = r.busiest.step[s];
		}
		w.moved = r.busiest.moved;
		w.metadata = r.metadata;
		w.rss = r.rss > w.rss ? r.rss : w.rss;
	}
	w.steady = spread_of(steady, runs);
	w.busiest = spread_of(busiest, runs);
	for (int s = 0; s < STEPS; s++) {
		w.steady_step[s] = spread_of(step[s][0], runs).median;
		w.busiest_step[s] = spread_of(step[s][1], runs).median;
	}
	return w;
}

static void print_rows(const row *rows, int n, int runs)
{
	printf("## Part 1: a period of the policy on synthetic heat\n\n"
	       "Measured: the policy's own code of a period (migrator.c's steps) "
	       "on a heap of address space: cooling, crediting the hot set, "
	       "locating %d pages again (a fake move_pages answers from the cells) "
	       "and the census, planning and carrying each round out on the cells "
	       "(every move succeeds at once), sites, histogram. Not measured here: "
	       "the kernel's side (part 2) and the moves themselves. DRAM quota a "
	       "quarter of the heap, hot set a 16th of it (64 KiB objects), budget "
	       "%d pages (256 MiB/s), 4 KiB pages, no huge block.\n\n"
	       "CPU ms of one period, median [min-max] of %d runs: steady (the hot "
	       "set in DRAM), and the busiest after the hot set moved. Metadata: "
	       "what the stats count (cells committed, huge-block bitmaps, the "
	       "sites' and the migrator's tables; policy.c's sources add a few "
	       "KiB), and the resident memory the run added to the process.\n\n"
	       "| heap GiB | steady period ms | ms/GiB | busiest period ms | ms/GiB "
	       "| pages moved | metadata bytes | %% of heap | RSS growth | %% of heap |\n"
	       "|---|---|---|---|---|---|---|---|---|---|\n",
	       TM_MIGRATOR_LOCATE_AGAIN, BUDGET_PAGES, runs);
	for (int i = 0; i < n; i++) {
		const row *w = &rows[i];
		double heap = (double)w->gib * GIB;
		printf("| %u | %.1f [%.1f-%.1f] | %.2f | %.1f [%.1f-%.1f] | %.2f | %zu "
		       "| %zu | %.3f%% | %zu | %.3f%% |\n", w->gib,
		       w->steady.median, w->steady.min, w->steady.max,
		       w->steady.median / w->gib, w->busiest.median, w->busiest.min,
		       w->busiest.max, w->busiest.median / w->gib, w->moved,
		       w->metadata, 100.0 * (double)w->metadata / heap, w->rss,
		       100.0 * (double)w->rss / heap);
	}
	printf("\nWhere the time goes (CPU ms, medians; steady / busiest):\n\n"
	       "| step |");
	for (int i = 0; i < n; i++)
		printf(" %u GiB |", rows[i].gib);
	printf("\n|---|");
	for (int i = 0; i < n; i++)
		printf("---|");
	printf("\n");
	for (int s = 0; s < STEPS; s++) {
		printf("| %s |", step_name[s]);
		for (int i = 0; i < n; i++)
			printf(" %.1f / %.1f |", rows[i].steady_step[s],
			       rows[i].busiest_step[s]);
		printf("\n");
	}
}

/* ---- part 2: the kernel's side, on real memory ------------------------- */

typedef struct {
	tm_heatmap hm;
	char *mem;
	size_t len;
	unsigned write_shift;          /* the program writes 1 / 2^this of it */
	uint64_t skipped_ns;           /* the program's time in waits, not spent */
	double program_ms;             /* CPU of its writes and their faults */
	unsigned passes;               /* over the write set */
} real_heap;

static real_heap R;

/* The program writes its write set: every 2^write_shift-th object of 64
 * KiB. Its CPU time, faults included, is counted apart from the source's. */
static void program_writes(void)
{
	double t0 = cpu_ms();
	size_t pages = R.len >> SHIFT;
	for (size_t p = 0; p < pages; p += RUN_PAGES << R.write_shift)
		for (size_t k = 0; k < RUN_PAGES; k++)
			R.mem[(p + k) << SHIFT]++;
	R.program_ms += cpu_ms() - t0;
	R.passes++;
}

/* Write tracking waits for the program between its looks: here the
 * program writes its write set and is taken to have run for the wait on a
 * clock of its own (program_now), so no time passes idle. */
static void program_wait(unsigned us)
{
	program_writes();
	R.skipped_ns += us * 1000ULL;
}

static uint64_t program_now(void)
{
	return tm_now_ns() + R.skipped_ns;
}

static uint64_t program_ran(void)
{
	return R.skipped_ns;
}

/* Write tracking at one write set: the source's own CPU a period, and the
 * program's on top of what its writes cost untracked (its faults). */
typedef struct {
	double own, faults;
	unsigned windows;
	bool kept;            /* protection kept between periods, not lifted */
	double fault_us, lift_us; /* a write fault; lifting, a page */
	/* A quiet plan: measured at the migrator's pace (pace.h), the
	 * means of a period over the last PACED_PERIODS. */
	double paced_own, paced_faults;
	unsigned every;
} tracking_cost;

#define WRITE_SETS 2
static const unsigned write_shifts[WRITE_SETS] = {4, 8}; /* 1/16, 1/256 */

typedef struct {
	double locate_new, locate_again, find_huge;
	tracking_cost uffd[WRITE_SETS];
} kernel_cost;

static double since_ms(double t0)
{
	return cpu_ms() - t0;
}

/* Memory of mib MiB, 2 MiB aligned, every page present: in 4 KiB pages
 * or in transparent huge pages (THP is "madvise" or "always" here). */
static void map_real(size_t mib, bool huge)
{
	size_t block = 1UL << TM_HUGE_SHIFT;
	R.len = mib << 20;
	char *p = mmap(NULL, R.len + block, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mapping real memory");
		exit(1);
	}
	R.mem = (char *)(((uintptr_t)p + block - 1) & ~(block - 1));
	madvise(R.mem, R.len, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	memset(R.mem, 1, R.len);
	tm_heatmap_init(&R.hm, SHIFT, grow_cells);
	add_span(&R.hm, (uintptr_t)R.mem, R.len, 0);
	tm_heatmap_extend(&R.hm, 0, (uintptr_t)R.mem + R.len);
}

/* The mover's status queries (real move_pages), new pages then the
 * steady rotation, and its scan for huge pages (real PAGEMAP_SCAN). */
static void measure_mover(kernel_cost *c)
{
	static tm_mover m;
	tm_tierset one = {.count = 1};
	tm_residency res;
	one.tier[0].nodes = 1;
	tm_mover_init(&m, &one, &tm_mover_os_real);
	double t = cpu_ms();
	tm_mover_locate(&m, &R.hm, TM_MIGRATOR_LOCATE_NEW, TM_MIGRATOR_LOCATE_AGAIN, &res);
	c->locate_new = since_ms(t);
	while (m.located[0] < R.len >> SHIFT)
		tm_mover_locate(&m, &R.hm, TM_MIGRATOR_LOCATE_NEW, TM_MIGRATOR_LOCATE_AGAIN, &res);
	t = cpu_ms();
	tm_mover_locate(&m, &R.hm, TM_MIGRATOR_LOCATE_NEW, TM_MIGRATOR_LOCATE_AGAIN, &res);
	c->locate_again = since_ms(t);
	tm_mover_find_huge(&m, &R.hm); /* opens the pagemap */
	t = cpu_ms();
	tm_mover_find_huge(&m, &R.hm);
	c->find_huge = since_ms(t);
	if (m.pagemap > 0)
		m.os->close(m.pagemap);
}

/* What a pass over the write set costs the program untracked. */
static double untracked_pass_ms(void)
{
	double before = R.program_ms, least = 1e9;
	for (int i = 0; i < 5; i++) {
		double t = R.program_ms;
		program_writes();
		least = R.program_ms - t < least ? R.program_ms - t : least;
	}
	R.program_ms = before;
	return least;
}

#define UFFD_PERIODS 8   /* the first learns what lifting costs */
#define PACED_PERIODS 16 /* then a quiet plan's, at the migrator's pace */

/* A period: the source collects if it is due, then the program writes its
 * write set once more. The source's own CPU and the program's faults. */
static void uffd_period(tm_uffd_src *u, bool due, double pass_ms, double *own,
			double *faults)
{
	double t = cpu_ms(), program = R.program_ms;
	unsigned passes = R.passes;
	if (due)
		u->base.collect(&u->base, &R.hm, PERIOD_MS);
	program_writes(); /* between periods */
	double took = since_ms(t), wrote = R.program_ms - program;
	*own = took - wrote;
	*faults = wrote - pass_ms * (R.passes - passes);
	*faults = *faults > 0 ? *faults : 0;
}

/* Quiet periods at the migrator's pace: settled placement and what a
 * measurement costs against its budget space the measurements out. */
static void uffd_paced(tm_uffd_src *u, double pass_ms, tracking_cost *c)
{
	tm_pace pace = TM_PACE_INIT;
	double own = 0, faults = 0;
	for (int i = 0; i < 2 * PACED_PERIODS; i++) {
		unsigned periods = tm_pace_due(&pace), every = pace.every;
		double o, f;
		uffd_period(u, periods > 0, pass_ms, &o, &f);
		if (periods)
			tm_pace_cost(&pace, (uint64_t)((o + f) * 1e6),
				     tm_pace_budget_ns(PERIOD_MS, 3));
		tm_pace_done(&pace, false);
		if (pace.every != every)
			u->base.pace(&u->base, pace.every);
		own += i >= PACED_PERIODS ? o : 0;
		faults += i >= PACED_PERIODS ? f : 0;
	}
	c->paced_own = own / PACED_PERIODS;
	c->paced_faults = faults / PACED_PERIODS;
	c->every = pace.every;
}

/* Write tracking's periods (the real source, TIERMALLOC_HEAT_CPU's 3%),
 * the program writing its write set in each wait and once between
 * periods: medians of the periods after the first. */
static tracking_cost measure_uffd(unsigned write_shift)
{
	static tm_uffd_src u;
	static tm_uffd_os os;
	char why[120];
	tracking_cost c = {.own = -1, .faults = -1};
	R.write_shift = write_shift;
	double pass_ms = untracked_pass_ms();
	os = tm_uffd_os_real;
	os.wait = program_wait;
	os.now_ns = program_now;
	os.program_ns = program_ran;
	tm_uffd_src_init(&u, &os, 3);
	if (u.base.open(&u.base, &R.hm, PERIOD_MS, why, sizeof(why)) < 0) {
		fprintf(stderr, "write tracking: %s\n", why);
		return c;
	}
	double own[UFFD_PERIODS], faults[UFFD_PERIODS];
	for (int i = 0; i < UFFD_PERIODS; i++)
		uffd_period(&u, true, pass_ms, &own[i], &faults[i]);
	c.own = spread_of(own + 1, UFFD_PERIODS - 1).median;
	c.faults = spread_of(faults + 1, UFFD_PERIODS - 1).median;
	c.windows = u.windows;
	c.kept = u.armed;
	c.fault_us = (double)u.fault_ns / 1000;
	c.lift_us = u.lift_pages ? (double)u.lift_ns / 1000 / (double)u.lift_pages : 0;
	uffd_paced(&u, pass_ms, &c);
	u.base.close(&u.base);
	return c;
}

static kernel_cost measure_kernel(size_t mib, bool huge)
{
	kernel_cost c = {0};
	map_real(mib, huge);
	measure_mover(&c);
	for (int w = 0; w < WRITE_SETS; w++)
		c.uffd[w] = measure_uffd(write_shifts[w]);
	free_spans(&R.hm);
	munmap(R.mem, R.len);
	return c;
}

static void print_tracking_cell(const tracking_cost *c, double gib)
{
	if (c->own < 0) {
		printf(" not available |");
		return;
	}
	printf(" %.1f + %.1f = %.1f (%u windows, %s; fault %.2f us, lifting "
	       "%.3f us a page); quiet, measured every %u: %.1f + %.1f = %.1f |",
	       c->own / gib, c->faults / gib, (c->own + c->faults) / gib,
	       c->windows, c->kept ? "kept" : "lifted", c->fault_us, c->lift_us,
	       c->every, c->paced_own / gib, c->paced_faults / gib,
	       (c->paced_own + c->paced_faults) / gib);
}

/* One row: write tracking over a program writing 1 / 2^shift of the heap. */
static void print_tracking(const kernel_cost k[2], unsigned shift, int w,
			   double gib)
{
	printf("| write tracking (uffd), the program writing 1/%u of the heap: "
	       "own + its faults, per GiB |", 1u << shift);
	print_tracking_cell(&k[0].uffd[w], gib);
	print_tracking_cell(&k[1].uffd[w], gib);
	printf(" heap, or pages written |\n");
}

static void print_kernel(size_t mib)
{
	kernel_cost k[2] = {measure_kernel(mib, false), measure_kernel(mib, true)};
	double gib = (double)mib / 1024;
	printf("\n## Part 2: the kernel's side, on %zu MiB of real memory\n\n"
	       "CPU ms of the benchmark's thread (its kernel time included), one "
	       "run, in 4 KiB pages and in transparent huge pages. Write tracking "
	       "is the real source (TIERMALLOC_HEAT_CPU 3%%) over a program that "
	       "writes a part of the heap in each wait of the source and once "
	       "between periods: the source's own CPU, plus the program's over "
	       "what its writes cost untracked (its faults), medians of the "
	       "periods after the first, and whether the protection was kept or "
	       "lifted between periods; then, for a quiet plan at the "
	       "migrator's pace (pace.h: settled placement, and a measurement "
	       "dearer than a period's budget, are measured less often), the "
	       "mean of a period over %d periods. Not measured: moves between nodes (one node here), DAMON "
	       "(a kdamond is a shared kernel resource), perf sampling (no PMU "
	       "here).\n\n"
	       "| part of a period | 4 KiB pages | THP | grows with |\n"
	       "|---|---|---|---|\n", mib, PACED_PERIODS);
	printf("| locate: %d new pages (status queries) + census | %.1f | %.1f | "
	       "bounded: new pages a period |\n", TM_MIGRATOR_LOCATE_NEW,
	       k[0].locate_new, k[1].locate_new);
	printf("| locate: %d pages again (status queries) + census | %.1f | %.1f | "
	       "bounded, + a pass over the cells (part 1) |\n",
	       TM_MIGRATOR_LOCATE_AGAIN, k[0].locate_again, k[1].locate_again);
	printf("| huge pages: PAGEMAP_SCAN of the heap, per GiB | %.2f | %.2f | heap |\n",
	       k[0].find_huge / gib, k[1].find_huge / gib);
	for (int w = 0; w < WRITE_SETS; w++)
		print_tracking(k, write_shifts[w], w, gib);
}

int main(int argc, char **argv)
{
	unsigned sizes[8] = {1, 16, 64};
	int nsizes = 0, runs = 3;
	size_t real_mib = 512;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--runs") && i + 1 < argc)
			runs = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--real-mib") && i + 1 < argc)
			real_mib = (size_t)atol(argv[++i]);
		else if (nsizes < 8 && atoi(argv[i]) > 0)
			sizes[nsizes++] = (unsigned)atoi(argv[i]);
		else {
			fprintf(stderr, "usage: %s [--runs N] [--real-mib M] [GIB...]\n",
				argv[0]);
			return 2;
		}
	}
	if (runs < 1 || runs > MAX_RUNS)
		runs = 3;
	if (!nsizes)
		nsizes = 3;
	size_t most = 0;
	for (int i = 0; i < nsizes; i++)
		most = sizes[i] > most ? sizes[i] : most;
	B.hot = malloc(((most * GIB) >> (SHIFT + HOT_SHIFT)) / RUN_PAGES * sizeof(*B.hot));
	row rows[8];
	for (int i = 0; i < nsizes; i++)
		rows[i] = measure(sizes[i], runs);
	print_rows(rows, nsizes, runs);
	free(B.hot);
	if (real_mib)
		print_kernel(real_mib);
	return 0;
}
