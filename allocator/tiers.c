#include "allocator/tiers.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allocator/log.h"
#include "allocator/prim/file.h"
#include "allocator/prim/os.h"

#define NODE_DIR "devices/system/node"
#define TIERING_DIR "devices/virtual/memory_tiering"

int tm_first_node(uint64_t mask)
{
	return mask ? __builtin_ctzll(mask) : -1;
}

int tm_nodelist_parse(const char *text, uint64_t *mask)
{
	uint64_t m = 0;
	const char *p = text;
	while (*p) {
		char *end;
		unsigned long lo = strtoul(p, &end, 10), hi = lo;
		if (end == p || !isdigit((unsigned char)*p))
			return -1;
		p = end;
		if (*p == '-') {
			const char *q = ++p;
			hi = strtoul(q, &end, 10);
			if (end == q || !isdigit((unsigned char)*q) || hi < lo)
				return -1;
			p = end;
		}
		if (hi >= TM_MAX_NODES)
			return -1;
		for (unsigned long n = lo; n <= hi; n++)
			m |= 1ULL << n;
		if (*p == ',')
			p++;
		else if (*p)
			return -1;
	}
	*mask = m;
	return 0;
}

void tm_nodelist_format(uint64_t mask, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (int n = 0; n < TM_MAX_NODES && used < len; n++) {
		if (!(mask & (1ULL << n)))
			continue;
		int end = n;
		while (end + 1 < TM_MAX_NODES && (mask & (1ULL << (end + 1))))
			end++;
		int w = end > n ? snprintf(buf + used, len - used, "%s%d-%d",
					   used ? "," : "", n, end)
				: snprintf(buf + used, len - used, "%s%d",
					   used ? "," : "", n);
		used += (size_t)w;
		n = end;
	}
}

static uint64_t read_nodelist(const char *root, const char *file)
{
	char buf[256];
	uint64_t mask = 0;
	if (tm_read_textf(buf, sizeof(buf), root, NODE_DIR "/%s", file) < 0 ||
	    tm_nodelist_parse(buf, &mask) < 0)
		return 0;
	return mask;
}

/* "Node 1 MemTotal:  1048576 kB" -> bytes */
static uint64_t meminfo_field(const char *text, const char *field)
{
	const char *p = strstr(text, field);
	if (!p)
		return 0;
	p += strlen(field);
	while (*p == ' ' || *p == ':')
		p++;
	return strtoull(p, NULL, 10) * 1024;
}

/* A meminfo field summed over nodes (bytes). */
static uint64_t nodes_meminfo(const char *root, uint64_t nodes, const char *field)
{
	uint64_t bytes = 0;
	for (int n = 0; n < TM_MAX_NODES; n++) {
		char info[4096];
		if ((nodes & (1ULL << n)) &&
		    tm_read_textf(info, sizeof(info), root, NODE_DIR "/node%d/meminfo",
				  n) >= 0)
			bytes += meminfo_field(info, field);
	}
	return bytes;
}

uint64_t tm_nodes_free(const char *root, uint64_t nodes)
{
	return nodes_meminfo(root, nodes, "MemFree");
}

static uint32_t read_node_u32(const char *root, int node, const char *attr)
{
	char buf[32];
	if (tm_read_textf(buf, sizeof(buf), root,
			  NODE_DIR "/node%d/access0/initiators/%s", node, attr) < 0)
		return 0;
	return (uint32_t)strtoul(buf, NULL, 10);
}

/* Nodes with CPUs; where sysfs has no such list, every memory node. */
static uint64_t cpu_nodes(const char *root, uint64_t mem)
{
	uint64_t cpus = read_nodelist(root, "has_cpu");
	return cpus ? cpus : mem;
}

/* Fill capacity, HMAT numbers and CPU-lessness of a tier. */
static void describe_tier(const char *root, uint64_t cpu_nodes, tm_tier *t)
{
	t->cpuless = (t->nodes & cpu_nodes) == 0;
	t->capacity = nodes_meminfo(root, t->nodes, "MemTotal");
	for (int n = 0; n < TM_MAX_NODES; n++) {
		if (!(t->nodes & (1ULL << n)))
			continue;
		uint32_t lat = read_node_u32(root, n, "read_latency");
		uint32_t bw = read_node_u32(root, n, "read_bandwidth");
		if (lat > t->latency_ns)
			t->latency_ns = lat; /* the slowest node speaks for the tier */
		if (bw && (!t->bandwidth_mbs || bw < t->bandwidth_mbs))
			t->bandwidth_mbs = bw;
	}
}

static void add_tier(tm_tierset *set, uint64_t nodes, int kernel_tier)
{
	if (!nodes)
		return;
	if (set->count == TM_TIER_MAX) { /* fold the rest into the slowest */
		set->tier[TM_TIER_MAX - 1].nodes |= nodes;
		return;
	}
	tm_tier *t = &set->tier[set->count++];
	memset(t, 0, sizeof(*t));
	t->nodes = nodes;
	t->kernel_tier = kernel_tier;
}

/* TIERMALLOC_TIERS: node lists separated by ';', fastest first. Nodes that
 * do not exist (or have no memory) are dropped with one warning in all. */
static int tiers_from_override(const char *text, uint64_t mem, tm_tierset *set)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", text);
	uint64_t seen = 0;
	for (char *save, *grp = strtok_r(buf, ";", &save); grp;
	     grp = strtok_r(NULL, ";", &save)) {
		uint64_t nodes;
		if (tm_nodelist_parse(grp, &nodes) < 0 || !nodes) {
			tm_warn("TIERMALLOC_TIERS=%s: \"%s\" is not a node list; "
				"using discovered tiers", text, grp);
			set->count = 0;
			return -1;
		}
		add_tier(set, nodes & mem & ~seen, -1);
		seen |= nodes;
	}
	char bad[64];
	tm_nodelist_format(seen & ~mem, bad, sizeof(bad));
	if (set->count == 0) {
		tm_warn("TIERMALLOC_TIERS=%s: node %s has no memory or does not "
			"exist; using discovered tiers", text, bad);
		return -1;
	}
	if (seen & ~mem)
		tm_warn("TIERMALLOC_TIERS=%s: node %s has no memory or does not "
			"exist; ignoring it", text, bad);
	snprintf(set->source, sizeof(set->source), "TIERMALLOC_TIERS");
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* The kernel's memory tiers (memory_tierN, lower N = faster). */
static int tiers_from_kernel(const char *root, uint64_t mem, tm_tierset *set)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/" TIERING_DIR, root);
	DIR *dir = opendir(path);
	if (!dir)
		return -1;
	int ids[TM_MAX_NODES], n = 0;
	struct dirent *de;
	while ((de = readdir(dir)) && n < TM_MAX_NODES)
		if (sscanf(de->d_name, "memory_tier%d", &ids[n]) == 1)
			n++;
	closedir(dir);
	qsort(ids, (size_t)n, sizeof(ids[0]), cmp_int);
	int nonempty = 0;
	for (int i = 0; i < n; i++) {
		char buf[256];
		uint64_t nodes;
		if (tm_read_textf(buf, sizeof(buf), root, TIERING_DIR
				  "/memory_tier%d/nodelist", ids[i]) < 0 ||
		    tm_nodelist_parse(buf, &nodes) < 0 || !(nodes & mem))
			continue;
		add_tier(set, nodes & mem, ids[i]);
		nonempty++;
	}
	if (nonempty < 2) { /* one kernel tier says nothing about speed */
		set->count = 0;
		return -1;
	}
	snprintf(set->source, sizeof(set->source), "kernel memory tiers");
	return 0;
}

/* No kernel tiers: nodes with CPUs are fast, CPU-less nodes slow. */
static void tiers_from_cpus(uint64_t mem, uint64_t cpus, tm_tierset *set)
{
	add_tier(set, mem & cpus, -1);
	add_tier(set, mem & ~cpus, -1);
	snprintf(set->source, sizeof(set->source),
		 set->count > 1 ? "CPU-less nodes" : "no slow node");
}

/* The memory nodes. Under the real /sys one system call comes first: a
 * process that may allocate on one node only (its cpuset's nodes, which
 * are the memory nodes unless a cpuset narrows them, and then tiers beyond
 * them are out of reach anyway) has nothing more to read. That is every
 * exec on a one-node machine, where sysfs would cost four calls and the
 * formatting of a path. */
static uint64_t memory_nodes(const char *root)
{
	uint64_t mem;
	if (strcmp(root, "/sys") == 0 && tm_os_allowed_nodes(&mem) == 0 &&
	    mem && (mem & (mem - 1)) == 0)
		return mem;
	mem = read_nodelist(root, "has_memory");
	return mem ? mem : read_nodelist(root, "online");
}

void tm_tiers_discover(const char *root, const char *override, tm_tierset *set)
{
	memset(set, 0, sizeof(*set));
	uint64_t mem = memory_nodes(root);
	if (!mem) { /* no NUMA in sysfs at all: one node 0 */
		mem = 1;
		snprintf(set->source, sizeof(set->source), "no NUMA information");
	}
	set->memory_nodes = mem;
	bool overridden = override && *override &&
			  tiers_from_override(override, mem, set) == 0;
	if (overridden) {
		/* the user's tiers stand as given */
	} else if ((mem & (mem - 1)) == 0) { /* one node */
		add_tier(set, mem, -1);
		if (!set->source[0])
			snprintf(set->source, sizeof(set->source), "single node");
	} else if (tiers_from_kernel(root, mem, set) < 0) {
		tiers_from_cpus(mem, cpu_nodes(root, mem), set);
	}
}

void tm_tiers_describe(const char *root, tm_tierset *set)
{
	if (set->described)
		return;
	uint64_t cpus = cpu_nodes(root, set->memory_nodes);
	for (int i = 0; i < set->count; i++)
		describe_tier(root, cpus, &set->tier[i]);
	set->described = true;
}
