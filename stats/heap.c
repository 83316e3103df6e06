#include "stats/heap.h"

#include <jemalloc/jemalloc.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "allocator/config.h"
#include "allocator/prim/os.h"

/* jemalloc's epoch refresh takes its arenas' stats locks and move_pages the
 * process's mm lock, both of which the application's threads take too: a
 * flood of requests gets this many refreshes a second at most. */
#define REFRESH_NS (100 * 1000 * 1000ULL)
#define SAMPLE_PAGES 512
#define ALL_ARENAS 4096 /* MALLCTL_ARENAS_ALL */

static tm_mem_snapshot snap;

static uint64_t ctl_size(const char *name)
{
	size_t v = 0, len = sizeof(v);
	return mallctl(name, &v, &len, NULL, 0) == 0 ? v : 0;
}

static uint64_t ctl_u64(const char *name)
{
	uint64_t v = 0;
	size_t len = sizeof(v);
	return mallctl(name, &v, &len, NULL, 0) == 0 ? v : 0;
}

static uint64_t arena_size(unsigned arena, const char *stat)
{
	char name[64];
	snprintf(name, sizeof(name), "stats.arenas.%u.%s", arena, stat);
	return ctl_size(name);
}

static uint64_t arena_u64(unsigned arena, const char *stat)
{
	char name[64];
	snprintf(name, sizeof(name), "stats.arenas.%u.%s", arena, stat);
	return ctl_u64(name);
}

static void add_arena(tm_heap_bytes *h, unsigned arena, uint64_t page)
{
	h->allocated += arena_size(arena, "small.allocated") +
			arena_size(arena, "large.allocated");
	h->active += arena_size(arena, "pactive") * page;
	h->resident += arena_size(arena, "resident");
	h->mapped += arena_size(arena, "mapped");
	h->requests += arena_u64(arena, "small.nrequests") +
		       arena_u64(arena, "large.nrequests");
}

static void read_total(tm_heap_bytes *h)
{
	h->known = ctl_size("stats.mapped") != 0;
	h->allocated = ctl_size("stats.allocated");
	h->active = ctl_size("stats.active");
	h->resident = ctl_size("stats.resident");
	h->mapped = ctl_size("stats.mapped");
	h->requests = arena_u64(ALL_ARENAS, "small.nrequests") +
		      arena_u64(ALL_ARENAS, "large.nrequests");
}

static void read_tier(const tm_tier_snapshot *tier, uint64_t page,
		      tm_heap_bytes *h)
{
	memset(h, 0, sizeof(*h));
	for (unsigned a = 0; a < tier->narenas; a++)
		add_arena(h, tier->first_arena + a, page);
	h->known = page != 0;
}

/* Where the pages of a tier's reservation are: SAMPLE_PAGES of them, evenly
 * spaced, so the cost does not grow with the heap. */
static void sample_nodes(const tm_tier_snapshot *tier, tm_node_sample *s)
{
	uintptr_t start = tier->start, end = tier->end;
	void *pages[SAMPLE_PAGES];
	int status[SAMPLE_PAGES];
	size_t page = tm_os_page_size();
	memset(s, 0, sizeof(*s));
	s->committed = end - start;
	size_t total = (end - start) / page;
	size_t n = total < SAMPLE_PAGES ? total : SAMPLE_PAGES;
	for (size_t i = 0; i < n; i++)
		pages[i] = (void *)(start + i * total / n * page);
	if (n == 0 || tm_os_move_pages(n, pages, NULL, status) < 0)
		return;
	s->sampled = (unsigned)n;
	for (size_t i = 0; i < n; i++) {
		if (status[i] >= 0 && status[i] < TM_MAX_NODES)
			s->on_node[status[i]]++;
		else
			s->absent++;
	}
}

static void refresh(void)
{
	uint64_t epoch = 1;
	size_t len = sizeof(epoch);
	mallctl("epoch", &epoch, &len, &epoch, len);
	uint64_t page = ctl_size("arenas.page");
	tm_alloc_snapshot_get(&snap.alloc);
	read_total(&snap.total);
	for (int t = 0; t < snap.alloc.tiers->count; t++) {
		snap.free[t] = tm_nodes_free(tm_opt_str(TM_OPT_SYSFS),
					     snap.alloc.tiers->tier[t].nodes);
		if (!snap.alloc.tiered)
			continue;
		read_tier(&snap.alloc.tier[t], page, &snap.tier[t]);
		sample_nodes(&snap.alloc.tier[t], &snap.nodes[t]);
	}
}

const tm_mem_snapshot *tm_mem_snapshot_get(void)
{
	uint64_t now = tm_now_ns();
	pid_t pid = getpid();
	/* A forked child must not show its parent's numbers. */
	if (snap.pid != pid || now - snap.taken_ns >= REFRESH_NS) {
		refresh();
		snap.pid = pid;
		snap.taken_ns = now;
	}
	return &snap;
}
