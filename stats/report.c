#define _GNU_SOURCE /* program_invocation_short_name */
#include "stats/report.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "allocator/config.h"
#include "allocator/prim/os.h"
#include "allocator/snapshot.h"
#include "stats/heap.h"
#include "stats/policy.h"

#define OPTION_PREFIX "TIERMALLOC_"

/* Why the policy does not run at all, or NULL (it runs whenever tier
 * arenas are in use, even over one tier when heat is tracked). */
static const char *policy_off(const tm_alloc_snapshot *a)
{
	return a->tiered ? NULL
			    : "one tier: no heat tracking or migration (a "
			      "TIERMALLOC_HEAT source turns tracking on)";
}

static double seconds(uint64_t ns)
{
	return (double)ns / 1e9;
}

static void process_section(tm_json *j, const tm_alloc_snapshot *a)
{
	tm_json_object_begin(j, "process");
	tm_json_i64(j, "pid", getpid());
	tm_json_string(j, "command", program_invocation_short_name);
	tm_json_u64(j, "uid", geteuid());
	tm_json_double(j, "uptime_s", seconds(tm_os_boot_ns() - a->start_ns));
	tm_json_object_end(j);
}

static void mode_section(tm_json *j, const tm_alloc_snapshot *a)
{
	tm_json_object_begin(j, "mode");
	tm_json_bool(j, "tiered", a->tiered);
	if (!a->tiered)
		tm_json_string(j, "why", a->single_reason);
	tm_json_string(j, "tiers_from", a->tiers->source);
	tm_json_object_end(j);
}

static void heap_numbers(tm_json *j, const char *key, const tm_heap_bytes *h,
			 const char *source)
{
	if (!h->known) {
		tm_json_unavailable(j, key, "jemalloc gave no statistics");
		return;
	}
	tm_json_object_begin(j, key);
	tm_json_u64(j, "allocated", h->allocated);
	tm_json_u64(j, "active", h->active);
	tm_json_u64(j, "resident", h->resident);
	tm_json_u64(j, "mapped", h->mapped);
	tm_json_string(j, "source", source);
	tm_json_object_end(j);
}

/* Residency per node from the page sample: each sampled page stands for
 * committed / sampled bytes. */
static void sampled_nodes(tm_json *j, const tm_node_sample *s)
{
	if (!s->sampled) {
		tm_json_unavailable(j, "per_node", s->committed
			? "move_pages could not query the tier's pages"
			: "nothing committed in this tier yet");
		return;
	}
	tm_json_object_begin(j, "per_node");
	tm_json_string(j, "method", "move_pages on evenly spaced pages");
	tm_json_u64(j, "sampled_pages", s->sampled);
	tm_json_u64(j, "committed", s->committed);
	tm_json_u64(j, "not_resident", s->committed / s->sampled * s->absent);
	tm_json_array_begin(j, "nodes");
	for (int n = 0; n < TM_MAX_NODES; n++) {
		if (!s->on_node[n])
			continue;
		tm_json_object_begin(j, NULL);
		tm_json_i64(j, "node", n);
		tm_json_u64(j, "resident", s->committed / s->sampled * s->on_node[n]);
		tm_json_object_end(j);
	}
	tm_json_array_end(j);
	tm_json_object_end(j);
}

/* One tier, one node: the whole heap is there. */
static void single_node(tm_json *j, const tm_tier *tier, const tm_heap_bytes *h)
{
	if (__builtin_popcountll(tier->nodes) != 1 || !h->known) {
		tm_json_unavailable(j, "per_node", "one tier over several nodes: "
				    "per-node residency is not sampled");
		return;
	}
	tm_json_object_begin(j, "per_node");
	tm_json_string(j, "method", "the tier's only node");
	tm_json_array_begin(j, "nodes");
	tm_json_object_begin(j, NULL);
	tm_json_i64(j, "node", tm_first_node(tier->nodes));
	tm_json_u64(j, "resident", h->resident);
	tm_json_object_end(j);
	tm_json_array_end(j);
	tm_json_object_end(j);
}

static const char *tier_name(int t, int count, char *buf, size_t len)
{
	if (t == 0)
		return "fast";
	if (count == 2)
		return "slow";
	snprintf(buf, len, "slow%d", t);
	return buf;
}

static void tier_description(tm_json *j, const tm_tierset *tiers, int t)
{
	const tm_tier *tier = &tiers->tier[t];
	char nodes[64], name[16];
	tm_nodelist_format(tier->nodes, nodes, sizeof(nodes));
	tm_json_u64(j, "tier", (uint64_t)t);
	tm_json_string(j, "name", tier_name(t, tiers->count, name, sizeof(name)));
	if (tier->kind[0])
		tm_json_string_n(j, "kind", tier->kind, strnlen(tier->kind, sizeof(tier->kind)));
	else
		tm_json_null(j, "kind");
	tm_json_string(j, "nodes", nodes);
	tm_json_bool(j, "cpuless", tier->cpuless);
	tm_json_u64_or_null(j, "capacity", tier->capacity);
	tm_json_u64_or_null(j, "latency_ns", tier->latency_ns);
	tm_json_u64_or_null(j, "bandwidth_mbs", tier->bandwidth_mbs);
}

static void tier_entry(tm_json *j, int t, const tm_alloc_snapshot *a,
		       const tm_mem_snapshot *m)
{
	tm_json_object_begin(j, NULL);
	tier_description(j, a->tiers, t);
	tm_json_u64_or_null(j, "free", m->free[t]);
	if (a->tiered) {
		tm_json_string(j, "mempolicy", a->tier[t].mempolicy);
		heap_numbers(j, "heap", &m->tier[t], "the tier's jemalloc arenas");
		tm_json_u64(j, "allocations", m->tier[t].requests);
		tm_json_string(j, "allocations_counted_by",
			       "jemalloc, as its thread caches report them");
		sampled_nodes(j, &m->nodes[t]);
	} else if (t == 0) {
		heap_numbers(j, "heap", &m->total, "jemalloc totals (one tier)");
		tm_json_u64(j, "allocations", m->total.requests);
		tm_json_string(j, "allocations_counted_by",
			       "jemalloc, as its thread caches report them");
		single_node(j, &a->tiers->tier[0], &m->total);
	}
	tm_json_object_end(j);
}

static void tiers_section(tm_json *j, const tm_alloc_snapshot *a,
			  const tm_mem_snapshot *m)
{
	tm_json_array_begin(j, "tiers");
	for (int t = 0; t < a->tiers->count; t++)
		tier_entry(j, t, a, m);
	tm_json_array_end(j);
}

static void quota_section(tm_json *j, const tm_alloc_snapshot *a,
			  const tm_mem_snapshot *m)
{
	char limit[64];
	tm_opt_format(TM_OPT_DRAM_LIMIT, limit, sizeof(limit));
	tm_json_object_begin(j, "dram_quota");
	tm_json_string(j, "limit", limit);
	tm_json_i64(j, "bytes", a->quota);
	tm_json_bool(j, "enforced", a->tiered);
	if (a->tiered)
		tm_json_i64(j, "used", a->tier[0].used);
	else
		tm_json_u64(j, "used", m->total.allocated);
	tm_json_object_end(j);
}

static void fallbacks_section(tm_json *j, const tm_alloc_snapshot *a)
{
	tm_json_object_begin(j, "fallbacks");
	if (!a->tiered)
		tm_json_string(j, "one_tier", a->single_reason);
	tm_json_u64(j, "dram_quota", a->quota_fallbacks);
	tm_json_array_begin(j, "tier_full");
	for (int t = 0; a->tiered && t < a->tiers->count; t++)
		tm_json_u64(j, NULL, a->tier[t].exhausted);
	tm_json_array_end(j);
	tm_json_u64(j, "tcaches_refused", a->tcache_refusals);
	tm_json_object_end(j);
}

static void server_section(tm_json *j, const tm_server_counters *srv)
{
	uint64_t cpu = tm_os_thread_cpu_ns(); /* we are the server */
	tm_json_object_begin(j, "server");
	tm_json_u64(j, "clients", srv->clients);
	tm_json_u64(j, "accepted", srv->accepted);
	tm_json_u64(j, "refused_other_user", srv->refused_user);
	tm_json_u64(j, "refused_busy", srv->refused_busy);
	tm_json_u64(j, "requests", srv->requests);
	tm_json_u64(j, "bad_requests", srv->errors);
	tm_json_u64(j, "timeouts", srv->timeouts);
	tm_json_double(j, "cpu_s", (double)cpu / 1e9);
	tm_json_object_end(j);
}

static void stats_reply(tm_json *j, const tm_server_counters *srv)
{
	const tm_mem_snapshot *m = tm_mem_snapshot_get();
	tm_alloc_snapshot a; /* fresh: exact bytes per tier now */
	tm_alloc_snapshot_get(&a);
	tm_proto_reply_begin(j, TM_REQ_STATS);
	process_section(j, &a);
	mode_section(j, &a);
	tiers_section(j, &a, m);
	heap_numbers(j, "heap_total", &m->total, "jemalloc totals");
	quota_section(j, &a, m);
	fallbacks_section(j, &a);
	tm_stats_policy_summary(j, policy_off(&a));
	server_section(j, srv);
	tm_proto_reply_end(j);
}

static void config_reply(tm_json *j)
{
	tm_proto_reply_begin(j, TM_REQ_CONFIG);
	tm_json_array_begin(j, "variables");
	for (int id = 0; id < TM_OPT_COUNT; id++) {
		const tm_opt_desc *d = tm_opt_desc_of(id);
		char value[300];
		tm_opt_format(id, value, sizeof(value));
		tm_json_object_begin(j, NULL);
		tm_json_string(j, "name", d->name);
		tm_json_string(j, "value", value);
		tm_json_string(j, "source", tm_opt_src_name(tm_opt_src(id)));
		tm_json_string(j, "default", d->def);
		tm_json_bool(j, "live", d->live);
		tm_json_string(j, "doc", d->doc);
		tm_json_object_end(j);
	}
	tm_json_array_end(j);
	tm_proto_reply_end(j);
}

/* NAME may leave out the TIERMALLOC_ prefix. */
static void full_name(const char *name, char *out, size_t len)
{
	bool bare = strncmp(name, OPTION_PREFIX, strlen(OPTION_PREFIX)) != 0;
	snprintf(out, len, "%s%s", bare ? OPTION_PREFIX : "", name);
}

static void set_reply(tm_json *j, const tm_request *req)
{
	char name[96], err[200], value[300];
	full_name(req->name, name, sizeof(name));
	if (tm_config_set(name, req->value, err, sizeof(err)) < 0) {
		tm_proto_error(j, TM_REQ_SET, err);
		return;
	}
	int id = tm_opt_find(name);
	tm_opt_format(id, value, sizeof(value));
	tm_proto_reply_begin(j, TM_REQ_SET);
	tm_json_string(j, "name", name);
	tm_json_string(j, "value", value);
	tm_json_string(j, "source", tm_opt_src_name(tm_opt_src(id)));
	tm_proto_reply_end(j);
}

static void heat_reply(tm_json *j)
{
	tm_alloc_snapshot a;
	tm_alloc_snapshot_get(&a);
	tm_proto_reply_begin(j, TM_REQ_HEAT);
	tm_stats_policy_heat(j, policy_off(&a), a.tiers->count);
	tm_proto_reply_end(j);
}

static void sites_reply(tm_json *j, unsigned n)
{
	tm_alloc_snapshot a;
	tm_alloc_snapshot_get(&a);
	tm_proto_reply_begin(j, TM_REQ_SITES);
	tm_stats_policy_sites(j, policy_off(&a), n);
	tm_proto_reply_end(j);
}

void tm_stats_answer(const tm_request *req, const tm_server_counters *srv,
		     tm_json *j)
{
	switch (req->kind) {
	case TM_REQ_HELP:
		tm_proto_help(j);
		break;
	case TM_REQ_STATS:
		stats_reply(j, srv);
		break;
	case TM_REQ_HEAT:
		heat_reply(j);
		break;
	case TM_REQ_SITES:
		sites_reply(j, req->sites);
		break;
	case TM_REQ_CONFIG:
		config_reply(j);
		break;
	case TM_REQ_SET:
		set_reply(j, req);
		break;
	case TM_REQ_UNKNOWN: /* the parser answers these */
	case TM_REQ_COUNT:
		break;
	}
	if (tm_json_failed(j))
		tm_proto_error(j, req->kind, "reply too large or out of memory");
}
