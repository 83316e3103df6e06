/* Memory tiers: which NUMA nodes are fast (DRAM) and which are slow (pmem
 * onlined as system RAM, CXL expanders), fastest first.
 *
 * Discovery reads the kernel's memory tiers, per-node HMAT attributes and the
 * CPU-less node list under a sysfs root (so unit tests can feed trees captured
 * on real two-tier machines), then hwloc's memory attributes when there is
 * more than one memory node. TIERMALLOC_TIERS overrides it all. */
#ifndef TM_TIERS_H
#define TM_TIERS_H

#include <stdbool.h>
#include <stdint.h>

#include "include/tiermalloc.h"

#define TM_MAX_NODES 64

typedef struct {
	uint64_t nodes;        /* bit n set: NUMA node n belongs to the tier */
	uint64_t capacity;     /* bytes, MemTotal of its nodes */
	int kernel_tier;       /* memory_tierN of the kernel, -1 if unknown */
	uint32_t latency_ns;   /* read latency from the CPUs, 0 if unknown */
	uint32_t bandwidth_mbs;/* read bandwidth, MB/s, 0 if unknown */
	char kind[8];          /* hwloc subtype: DRAM, NVM, SPM..., "" unknown */
	bool cpuless;          /* no CPU on any of its nodes */
} tm_tier;

typedef struct {
	int count;
	tm_tier tier[TM_TIER_MAX];
	uint64_t memory_nodes; /* every node with memory */
	bool described;        /* tm_tiers_describe has filled the tiers in */
	char source[48];       /* how the tiers were found, for the stats */
} tm_tierset;

/* Parse a kernel node list ("0-2,5"). Returns 0, or -1 on bad text or a
 * node >= TM_MAX_NODES. */
int tm_nodelist_parse(const char *text, uint64_t *mask);

/* Format a node mask as a kernel node list. */
void tm_nodelist_format(uint64_t mask, char *buf, size_t len);

/* Find the tiers: the nodes of each. override is TIERMALLOC_TIERS ("" for
 * none); its problems are reported with tm_warn and it is ignored where it
 * cannot be used. One memory node takes one read. */
void tm_tiers_discover(const char *sysfs_root, const char *override,
		       tm_tierset *out);

/* Fill in capacity, HMAT numbers and CPU-lessness of every
 * tier, once (later calls do nothing). Apart from discovery so that a
 * one-tier process reads them only when someone asks about its tiers, not
 * at every exec. */
void tm_tiers_describe(const char *sysfs_root, tm_tierset *set);

/* Fill latency, bandwidth and kind from hwloc where sysfs did not. */
void tm_tiers_add_hwloc(tm_tierset *set);

/* Free memory of the nodes in mask now, in bytes: MemFree of each node's
 * meminfo under sysfs_root (0 for a node that cannot be read). */
uint64_t tm_nodes_free(const char *sysfs_root, uint64_t nodes);

/* Lowest-numbered node of a mask (its "first" node), -1 if empty. */
int tm_first_node(uint64_t mask);

#endif
