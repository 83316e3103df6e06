#include "stats/policy.h"

#include <stdbool.h>
#include <string.h>

#include "allocator/config.h"
#include "policy/policy.h"
#include "stats/sites.h"

#define NOT_RUNNING "the migrator is not running (TIERMALLOC_HEAT=none, or " \
		    "it has not started yet)"
#define NOT_MEASURED "no heat measured yet: the migrator has run no period " \
		     "(it measures under TIERMALLOC_POLICY=heat)"
/* tm_heat_of's scale (include/tiermalloc.h): 0 cold .. 255 hot. */
#define HEAT_LEVELS 256

static const char *const failure_names[TM_FAIL_KINDS] = {
	[TM_FAIL_BUSY] = "busy",
	[TM_FAIL_NOMEM] = "target node full",
	[TM_FAIL_GONE] = "page gone",
	[TM_FAIL_DENIED] = "shared with another process",
	[TM_FAIL_OTHER] = "other",
};

/* The policy's numbers into *ps, or why there are none to show. */
static const char *read_policy(const char *off, tm_policy_snapshot *ps)
{
	memset(ps, 0, sizeof(*ps));
	if (off)
		return off;
	tm_policy_snapshot_get(ps);
	return ps->running ? NULL : NOT_RUNNING;
}

static void chosen_because(tm_json *j, const char *in_use)
{
	char heat[32];
	tm_opt_format(TM_OPT_HEAT, heat, sizeof(heat));
	tm_json_string(j, "why", strcmp(heat, "auto") != 0 ? "TIERMALLOC_HEAT names it"
		       : strchr(in_use, '+') ? "the best that works here, with a second "
					       "source that tells pages apart "
					       "(TIERMALLOC_HEAT=auto)"
		       : "the best that works here (TIERMALLOC_HEAT=auto)");
}

/* How the sources in use are limited (perf's descriptors) or what they
 * took over (a dead process's kdamond); only when there is something. */
static void notes(tm_json *j, const tm_policy_snapshot *ps)
{
	bool any = false;
	for (int i = 0; i < TM_HEAT_SOURCES; i++) {
		const tm_heat_source_stat *s = &ps->sources[i];
		if (!s->name || !s->available || !s->why[0])
			continue;
		if (!any)
			tm_json_array_begin(j, "notes");
		any = true;
		tm_json_object_begin(j, NULL);
		tm_json_string(j, "name", s->name);
		tm_json_string_n(j, "note", s->why, strnlen(s->why, sizeof(s->why)));
		tm_json_object_end(j);
	}
	if (any)
		tm_json_array_end(j);
}

/* Whether the sources in use see what is only read, and which does:
 * write tracking alone leaves a read-mostly heap looking cold. */
static const char *reads(const char *in_use)
{
	if (strstr(in_use, "perf"))
		return "seen: perf samples loads";
	if (strstr(in_use, "damon"))
		return "seen: DAMON checks accessed bits, sampled pages one by one";
	if (strstr(in_use, "uffd"))
		return "not seen: uffd tracks writes only (DAMON and perf are not "
		       "available: see not_used)";
	return "not seen: nothing measures accesses";
}

/* Write tracking's windows and faults, and between periods whether the
 * program paid (protection kept) or the migrator did (lifted). */
static void write_tracking(tm_json *j, const tm_write_tracking *t)
{
	if (!t->active)
		return;
	tm_json_object_begin(j, "write_tracking");
	tm_json_u64(j, "windows", t->windows);
	tm_json_u64(j, "fault_ns", t->fault_ns);
	tm_json_u64(j, "faults_in_windows", t->window_faults);
	tm_json_u64(j, "faults_between_periods", t->kept_faults);
	tm_json_string(j, "between_periods", t->kept ? "protection kept"
			: "protection lifted");
	tm_json_u64_or_null(j, "lift_ns_per_1000_pages", t->lift_ns_per_kpage);
	tm_json_object_end(j);
}

/* DAMON's single-page probes for reads (policy/probes.h). */
static void read_probes(tm_json *j, const tm_read_probes *p)
{
	if (!p->active)
		return;
	tm_json_object_begin(j, "read_probes");
	tm_json_u64(j, "checked", p->checked);
	tm_json_u64(j, "found_read", p->read);
	tm_json_object_end(j);
}

static void heat_source(tm_json *j, const tm_policy_snapshot *ps)
{
	const char *in_use = ps->source ? ps->source : "none";
	tm_json_object_begin(j, "heat_source");
	tm_json_string(j, "name", in_use);
	chosen_because(j, in_use);
	tm_json_array_begin(j, "not_used");
	for (int i = 0; i < TM_HEAT_SOURCES; i++) {
		const tm_heat_source_stat *s = &ps->sources[i];
		if (!s->name || s->available) /* in use */
			continue;
		tm_json_object_begin(j, NULL);
		tm_json_string(j, "name", s->name);
		tm_json_bool(j, "tried", s->tried);
		tm_json_bool(j, "available", s->available);
		tm_json_string_n(j, "why", s->why, strnlen(s->why, sizeof(s->why)));
		tm_json_object_end(j);
	}
	tm_json_array_end(j);
	notes(j, ps);
	tm_json_string(j, "reads", reads(in_use));
	tm_json_u64(j, "measured_every_periods", ps->heat_every);
	tm_json_u64(j, "last_measurement_ns", ps->measure_ns);
	tm_json_u64(j, "measurement_budget_ns", ps->measure_budget_ns);
	write_tracking(j, &ps->tracking);
	read_probes(j, &ps->probes);
	tm_json_object_end(j);
}

static void moved(tm_json *j, const char *key, uint64_t pages, uint64_t bytes)
{
	tm_json_object_begin(j, key);
	tm_json_u64(j, "pages", pages);
	tm_json_u64(j, "bytes", bytes);
	tm_json_object_end(j);
}

static void migration(tm_json *j, const tm_policy_snapshot *ps)
{
	tm_json_object_begin(j, "migration");
	moved(j, "promoted", ps->promoted_pages, ps->promoted_bytes);
	moved(j, "demoted", ps->demoted_pages, ps->demoted_bytes);
	tm_json_array_begin(j, "failures");
	for (int k = 0; k < TM_FAIL_KINDS; k++) {
		tm_json_object_begin(j, NULL);
		tm_json_string(j, "reason", failure_names[k] ? failure_names[k] : "other");
		tm_json_u64(j, "pages", ps->failed[k]);
		tm_json_object_end(j);
	}
	tm_json_array_end(j);
	tm_json_u64(j, "undone_pages", ps->undone_pages);
	tm_json_u64(j, "swap_margin", ps->swap_margin);
	tm_json_double(j, "migrator_cpu_s", (double)ps->cpu_ns / 1e9);
	tm_json_double(j, "migrator_cpu_share",
		       ps->wall_ns ? (double)ps->cpu_ns / (double)ps->wall_ns : 0.0);
	tm_json_double(j, "heat_cpu_s", (double)ps->heat_cpu_ns / 1e9);
	tm_json_u64(j, "periods", ps->periods);
	tm_json_u64(j, "heat_boundary", ps->boundary);
	tm_json_bool(j, "dram_pressure", ps->pressure);
	tm_json_u64(j, "policy_memory_bytes", ps->metadata_bytes);
	tm_json_object_end(j);
}

void tm_stats_policy_summary(tm_json *j, const char *off)
{
	tm_policy_snapshot ps;
	const char *why = read_policy(off, &ps);
	if (why) {
		tm_json_unavailable(j, "heat_source", why);
		tm_json_unavailable(j, "migration", why);
		return;
	}
	heat_source(j, &ps);
	migration(j, &ps);
}

void tm_stats_policy_heat(tm_json *j, const char *off, int tiers)
{
	tm_policy_snapshot ps;
	const char *why = read_policy(off, &ps);
	if (!why && ps.periods == 0)
		why = NOT_MEASURED;
	if (why) {
		tm_json_string(j, "unavailable", why);
		return;
	}
	tm_json_string(j, "unit", "heat 0..255 of a page, as tm_heat_of reads it");
	tm_json_array_begin(j, "upper");
	for (int b = 0; b < TM_HEAT_HIST; b++)
		tm_json_u64(j, NULL, (uint64_t)((b + 1) * HEAT_LEVELS / TM_HEAT_HIST - 1));
	tm_json_array_end(j);
	tm_json_array_begin(j, "tiers");
	for (int t = 0; t < tiers && t < TM_TIER_MAX; t++) {
		tm_json_object_begin(j, NULL);
		tm_json_i64(j, "tier", t);
		tm_json_array_begin(j, "pages");
		for (int b = 0; b < TM_HEAT_HIST; b++)
			tm_json_u64(j, NULL, ps.heat_hist[t][b]);
		tm_json_array_end(j);
		tm_json_object_end(j);
	}
	tm_json_array_end(j);
}

void tm_stats_policy_sites(tm_json *j, const char *off, unsigned n)
{
	tm_policy_snapshot ps;
	const char *why = read_policy(off, &ps);
	if (why) {
		tm_json_string(j, "unavailable", why);
		return;
	}
	tm_json_u64(j, "samples", ps.samples);
	tm_json_u64(j, "sites_seen", ps.sites);
	tm_json_u64(j, "sites_dropped", ps.sites_dropped);
	tm_json_u64(j, "kept_by_policy", TM_TOP_SITES);
	int count = ps.ntop < TM_TOP_SITES ? ps.ntop : TM_TOP_SITES;
	tm_stats_sites_write(j, ps.top, count, n);
}
