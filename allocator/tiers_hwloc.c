/* Tier attributes from hwloc's memory attributes (HMAT, firmware tables) and
 * node subtypes (DRAM, NVM, ...).
 *
 * libhwloc is opened with dlopen, and only when there is more than one memory
 * node: linking it would load it (and libudev) into every exec of every
 * program, and a full topology load costs milliseconds a one-node process
 * should not pay. Only exported functions are used, never hwloc's inline
 * helpers, so nothing binds to the library at link time. */
#include <dlfcn.h>
#include <hwloc.h>
#include <string.h>

#include "allocator/log.h"
#include "allocator/tiers.h"

#define HWLOC_SONAME "libhwloc.so.15"

static struct {
	int (*init)(hwloc_topology_t *);
	int (*load)(hwloc_topology_t);
	void (*destroy)(hwloc_topology_t);
	int (*io_filter)(hwloc_topology_t, enum hwloc_type_filter_e);
	int (*cache_filter)(hwloc_topology_t, enum hwloc_type_filter_e);
	int (*nbobjs)(hwloc_topology_t, int);
	hwloc_obj_t (*obj)(hwloc_topology_t, int, unsigned);
	int (*initiators)(hwloc_topology_t, hwloc_memattr_id_t, hwloc_obj_t,
			  unsigned long, unsigned *, struct hwloc_location *,
			  hwloc_uint64_t *);
} hw;

static int open_hwloc(void)
{
	void *lib = dlopen(HWLOC_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib)
		return -1;
	struct { void **fn; const char *name; } syms[] = {
		{(void **)&hw.init, "hwloc_topology_init"},
		{(void **)&hw.load, "hwloc_topology_load"},
		{(void **)&hw.destroy, "hwloc_topology_destroy"},
		{(void **)&hw.io_filter, "hwloc_topology_set_io_types_filter"},
		{(void **)&hw.cache_filter, "hwloc_topology_set_cache_types_filter"},
		{(void **)&hw.nbobjs, "hwloc_get_nbobjs_by_depth"},
		{(void **)&hw.obj, "hwloc_get_obj_by_depth"},
		{(void **)&hw.initiators, "hwloc_memattr_get_initiators"},
	};
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++)
		if (!(*syms[i].fn = dlsym(lib, syms[i].name)))
			return -1; /* the library stays open: dlclose is unsafe here */
	return 0;
}

static uint32_t first_initiator_value(hwloc_topology_t topo,
				      hwloc_memattr_id_t attr, hwloc_obj_t node)
{
	unsigned nr = 1;
	struct hwloc_location where;
	hwloc_uint64_t value = 0;
	if (hw.initiators(topo, attr, node, 0, &nr, &where, &value) < 0 || !nr)
		return 0;
	return (uint32_t)value;
}

static void describe_node(hwloc_topology_t topo, hwloc_obj_t node, tm_tier *t)
{
	uint32_t lat = first_initiator_value(topo, HWLOC_MEMATTR_ID_LATENCY, node);
	uint32_t bw = first_initiator_value(topo, HWLOC_MEMATTR_ID_BANDWIDTH, node);
	if (!t->latency_ns)
		t->latency_ns = lat;
	if (!t->bandwidth_mbs)
		t->bandwidth_mbs = bw;
	if (!t->kind[0] && node->subtype)
		strncpy(t->kind, node->subtype, sizeof(t->kind) - 1);
}

static tm_tier *tier_of_node(tm_tierset *set, unsigned node)
{
	for (int i = 0; i < set->count; i++)
		if (node < TM_MAX_NODES && (set->tier[i].nodes & (1ULL << node)))
			return &set->tier[i];
	return NULL;
}

void tm_tiers_add_hwloc(tm_tierset *set)
{
	hwloc_topology_t topo;
	if (open_hwloc() < 0) {
		tm_info("%s not available; tiers keep sysfs attributes",
			HWLOC_SONAME);
		return;
	}
	if (hw.init(&topo) < 0)
		return;
	hw.io_filter(topo, HWLOC_TYPE_FILTER_KEEP_NONE);
	hw.cache_filter(topo, HWLOC_TYPE_FILTER_KEEP_NONE);
	if (hw.load(topo) == 0) {
		int n = hw.nbobjs(topo, HWLOC_TYPE_DEPTH_NUMANODE);
		for (int i = 0; i < n; i++) {
			hwloc_obj_t node = hw.obj(topo, HWLOC_TYPE_DEPTH_NUMANODE,
						  (unsigned)i);
			tm_tier *t = tier_of_node(set, node->os_index);
			if (t)
				describe_node(topo, node, t);
		}
	}
	hw.destroy(topo);
}
