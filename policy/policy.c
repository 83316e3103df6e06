/* The heat policy as a plugin of the allocator (allocator/plugin.h): the
 * heat map over the tiers' reservations, the heat sources, and the
 * migrator's life cycle, put together; and its numbers for the stats
 * (policy.h). */
#include "policy/policy.h"

#include <errno.h>
#include <string.h>

#include "allocator/config.h"
#include "allocator/heap.h"
#include "allocator/log.h"
#include "allocator/plugin.h"
#include "allocator/prim/os.h"
#include "policy/heat_damon.h"
#include "policy/heat_perf.h"
#include "policy/heat_uffd.h"
#include "policy/heatmap.h"
#include "policy/migrator.h"
#include "policy/sites.h"

/* TIERMALLOC_HEAT's choices: auto, the sources in TM_HEAT_* order, none. */
#define HEAT_AUTO 0
#define HEAT_NONE (TM_HEAT_SOURCES + 1)

static struct {
	bool ready;              /* the heat map exists */
	tm_tierset tiers;
	tm_heatmap hm;
	tm_perf_src perf;
	tm_damon_src damon;
	tm_uffd_src uffd;
	tm_heat_src *srcs[TM_HEAT_SOURCES];
} pol;

static int grow_cells(void *cells, size_t old_bytes, size_t new_bytes)
{
	return tm_os_commit((char *)cells + old_bytes, new_bytes - old_bytes);
}

/* Cells for a whole reservation, reserved now and committed as the heap
 * grows; after them its huge-block bitmap, committed now (a bit per 2 MiB:
 * its pages are touched only where the heap has huge pages). */
static int add_span(int tier)
{
	uintptr_t base, size;
	tm_heap_range(tier, &base, &size);
	size_t bytes = (size >> pol.hm.shift) * sizeof(tm_cell);
	size_t huge = tm_heatmap_huge_bytes(size), got;
	char *cells = tm_os_reserve(bytes + huge, bytes + huge, &got);
	if (!cells || tm_os_commit(cells + bytes, huge) < 0)
		return -1;
	int s = tm_heatmap_add_span(&pol.hm, base, size, (tm_cell *)cells, tier);
	if (s >= 0)
		pol.hm.span[s].huge = (uint64_t *)(cells + bytes);
	return s;
}

static bool wants_one_tier(void)
{
	int64_t heat = tm_opt_num(TM_OPT_HEAT);
	return heat != HEAT_AUTO && heat != HEAT_NONE;
}

static void init(const tm_tierset *tiers, bool tiered)
{
	if (!tiered)
		return;
	pol.tiers = *tiers;
	pol.tiers.count = tm_heap_tiers(); /* the tiers that have arenas */
	tm_heatmap_init(&pol.hm, (unsigned)__builtin_ctzl(tm_os_page_size()),
			grow_cells);
	for (int t = 0; t < pol.tiers.count; t++)
		if (add_span(t) < 0) {
			tm_warn("no room for the heat map: no heat tracking");
			return;
		}
	const char *root = tm_opt_str(TM_OPT_SYSFS);
	tm_perf_src_init(&pol.perf, &tm_perf_os_real, root);
	tm_damon_src_init(&pol.damon, root);
	tm_uffd_src_init(&pol.uffd, &tm_uffd_os_real, (unsigned)tm_opt_num(TM_OPT_HEAT_CPU));
	pol.srcs[TM_HEAT_PERF] = &pol.perf.base;
	pol.srcs[TM_HEAT_DAMON] = &pol.damon.base;
	pol.srcs[TM_HEAT_UFFD] = &pol.uffd.base;
	pol.srcs[TM_HEAT_HINTS] = &tm_hints_source;
	pol.ready = true;
}

static void start(bool tiered)
{
	int64_t heat = tm_opt_num(TM_OPT_HEAT);
	if (!pol.ready || heat == HEAT_NONE)
		return;
	tm_migrator_config cfg = {
		.hm = &pol.hm,
		.tiers = &pol.tiers,
		.srcs = pol.srcs,
		.forced = heat == HEAT_AUTO ? -1 : (int)heat - 1,
		.sysfs_root = tm_opt_str(TM_OPT_SYSFS),
	};
	int rc = tm_migrator_start(&cfg);
	if (rc < 0)
		tm_warn("cannot start the migrator thread: %s", strerror(-rc));
}

static void after_fork_child(bool tiered)
{
	if (tiered)
		tm_migrator_after_fork_child();
}

static void stop(bool tiered)
{
	if (tiered)
		tm_migrator_stop();
}

static void sample(void *p, size_t size, uintptr_t site)
{
	tm_sites_sample((uintptr_t)p, size, site);
}

static int advise(void *p, size_t len, int heat)
{
	if (!pol.ready) {
		errno = ENOSYS;
		return -1;
	}
	uintptr_t start = (uintptr_t)p;
	tm_heatmap_hint(&pol.hm, start, start + (len ? len : 1), heat);
	return 0;
}

static int heat_of(const void *p)
{
	if (!pol.ready || !tm_migrator_running())
		return -1;
	const tm_cell *c = tm_heatmap_cell(&pol.hm, (uintptr_t)p);
	return c ? (int)tm_cell_heat(c) : -1;
}

/* Cells are committed only as far as the heap reaches; the tables are
 * fixed. */
static uint64_t metadata_bytes(void)
{
	return sizeof(pol) + tm_heatmap_bytes(&pol.hm) + tm_sites_table_bytes() +
	       tm_migrator_table_bytes();
}

void tm_policy_snapshot_get(tm_policy_snapshot *out)
{
	tm_migrator_stats(out);
	tm_sites_counts(&out->sites, &out->sites_dropped, &out->samples);
	out->ntop = tm_sites_top(out->top, TM_TOP_SITES);
	out->metadata_bytes = metadata_bytes();
}

TM_PLUGIN(tm_heat_policy) = {
	.name = "heat policy",
	.wants_one_tier = wants_one_tier,
	.init = init,
	.start = start,
	.after_fork_child = after_fork_child,
	.stop = stop,
	.site_tier = tm_sites_tier,
	.sample = sample,
	.advise = advise,
	.heat_of = heat_of,
};
