/* How the policy's numbers read in the replies: this program plays policy/,
 * providing tm_policy_snapshot_get (policy/policy.h) with made-up numbers,
 * and checks the JSON the server would send. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "policy/policy.h"
#include "stats/json.h"
#include "stats/policy.h"

static int migrator_running = 1;
static uint64_t periods_run = 7;
static bool paired; /* damon in use with uffd */

void tm_policy_snapshot_get(tm_policy_snapshot *out)
{
	static char full[120];
	memset(out, 0, sizeof(*out));
	out->running = migrator_running;
	out->source = paired ? "damon+uffd" : "uffd";
	out->sources[TM_HEAT_PERF] = (tm_heat_source_stat){"perf", true, false,
							   "no PEBS/IBS"};
	out->sources[TM_HEAT_UFFD] = (tm_heat_source_stat){"uffd", true, true, ""};
	out->sources[TM_HEAT_DAMON].name = "damon";
	out->sources[TM_HEAT_DAMON].available = out->sources[TM_HEAT_DAMON].tried = paired;
	/* A reason that fills its field, without a NUL. */
	memset(full, 'x', sizeof(full));
	memcpy(out->sources[TM_HEAT_DAMON].why, full, sizeof(full));
	out->promoted_pages = 10;
	out->promoted_bytes = 40960;
	out->demoted_pages = 3;
	out->demoted_bytes = 12288;
	out->failed[TM_FAIL_BUSY] = 2;
	out->cpu_ns = 1500000000;
	out->heat_cpu_ns = 250000000;
	out->wall_ns = 3000000000;
	out->periods = periods_run;
	out->heat_every = 4;
	out->measure_ns = 90000000;
	out->measure_budget_ns = 25000000;
	out->tracking = (tm_write_tracking){true, 8, 15000, 1200, 300, true, 0};
	out->probes = (tm_read_probes){true, 640, 12};
	out->undone_pages = 5;
	out->swap_margin = 96;
	out->heat_hist[0][7] = 5;
	out->heat_hist[1][0] = 9;
	out->samples = 40;
	out->ntop = 3;
	out->top[0] = (tm_site_info){0x1000, 1, 100, 200, 1};
	out->top[1] = (tm_site_info){(uintptr_t)dlsym(RTLD_DEFAULT, "malloc") + 4,
				     3, 300, 10, 0};
	out->top[2] = (tm_site_info){0x2000, 2, 200, 100, -1};
}

static const char *text_of(tm_json *j)
{
	static char out[16384];
	size_t len;
	const char *t = tm_json_finish(j, &len);
	if (!t || len > sizeof(out))
		return "(failed)";
	memcpy(out, t, len - 1);
	out[len - 1] = '\0';
	return out;
}

static const char *reply(void (*part)(tm_json *))
{
	static tm_json j;
	tm_json_free(&j);
	tm_json_init(&j, 1 << 20);
	tm_json_object_begin(&j, NULL);
	part(&j);
	tm_json_object_end(&j);
	return text_of(&j);
}

static void summary(tm_json *j)
{
	tm_stats_policy_summary(j, NULL);
}

static void heat(tm_json *j)
{
	tm_stats_policy_heat(j, NULL, 2);
}

static void sites(tm_json *j)
{
	tm_stats_policy_sites(j, NULL, 2);
}

static void one_tier(tm_json *j)
{
	tm_stats_policy_summary(j, "one tier");
	tm_stats_policy_heat(j, "one tier", 1);
}

static void test_summary(void)
{
	const char *t = reply(summary);
	CHECK(strstr(t, "\"heat_source\":{\"name\":\"uffd\",\"why\":\"the best that "
			"works here (TIERMALLOC_HEAT=auto)\",\"not_used\":[{\"name\":"
			"\"perf\",\"tried\":true,\"available\":false,\"why\":\"no "
			"PEBS/IBS\"}") != NULL, "heat source and the others: %s", t);
	CHECK(strstr(t, "\"name\":\"uffd\",\"tried\"") == NULL,
	      "the source in use is not among the others");
	CHECK(strstr(t, "\"reads\":\"not seen: uffd tracks writes only") != NULL,
	      "write tracking alone: reads are not seen, and it says so: %s", t);
	CHECK(strstr(t, "\"undone_pages\":5,\"swap_margin\":96") != NULL,
	      "what swaps achieved: %s", t);
	CHECK(strstr(t, "\"measured_every_periods\":4,\"last_measurement_ns\":90000000,"
			"\"measurement_budget_ns\":25000000") != NULL,
	      "how often heat is measured: %s", t);
	CHECK(strstr(t, "\"write_tracking\":{\"windows\":8,\"fault_ns\":15000,"
			"\"faults_in_windows\":1200,\"faults_between_periods\":300,"
			"\"between_periods\":\"protection kept\","
			"\"lift_ns_per_1000_pages\":null}") != NULL,
	      "what write tracking does and costs: %s", t);
	CHECK(strstr(t, "\"read_probes\":{\"checked\":640,\"found_read\":12}") != NULL,
	      "what DAMON's probes found: %s", t);
	CHECK(strstr(t, "\"name\":\"damon\"") && strstr(t, "\"why\":\"xxxxxxxx"),
	      "an unterminated reason is cut at its field");
	CHECK(strstr(t, "\"promoted\":{\"pages\":10,\"bytes\":40960},\"demoted\":"
			"{\"pages\":3,\"bytes\":12288}") != NULL, "migrations: %s", t);
	CHECK(strstr(t, "{\"reason\":\"busy\",\"pages\":2}") != NULL, "failures");
	CHECK(strstr(t, "\"migrator_cpu_s\":1.5,\"migrator_cpu_share\":0.5,"
			"\"heat_cpu_s\":0.25,\"periods\":7") != NULL, "migrator CPU: %s", t);

	paired = true;
	t = reply(summary);
	paired = false;
	CHECK(strstr(t, "\"name\":\"damon+uffd\",\"why\":\"the best that works here, "
			"with a second source that tells pages apart") != NULL,
	      "two sources in use: %s", t);
	CHECK(strstr(t, "\"name\":\"damon\",\"tried\"") == NULL &&
	      strstr(t, "\"name\":\"uffd\",\"tried\"") == NULL,
	      "neither among the others");
	CHECK(strstr(t, "\"notes\":[{\"name\":\"damon\",\"note\":\"xxxxxxxx") != NULL,
	      "a source in use says how it is limited: %s", t);
	CHECK(strstr(t, "\"reads\":\"seen: DAMON") != NULL, "DAMON sees reads: %s", t);
	CHECK(strstr(reply(summary), "\"notes\"") == NULL, "no notes, no key");
}

static void test_heat(void)
{
	const char *t = reply(heat);
	CHECK(strstr(t, "\"upper\":[31,63,95,127,159,191,223,255],\"tiers\":"
			"[{\"tier\":0,\"pages\":[0,0,0,0,0,0,0,5]},{\"tier\":1,"
			"\"pages\":[9,0,0,0,0,0,0,0]}]") != NULL, "heat: %s", t);
}

static void test_sites(void)
{
	const char *t = reply(sites);
	const char *by_bytes = strstr(t, "\"by_bytes\":[");
	const char *by_heat = strstr(t, "\"by_heat\":[");
	CHECK(by_bytes && by_heat && strstr(t, "\"samples\":40"), "both lists: %s", t);
	if (!by_bytes || !by_heat)
		return;
	CHECK(strstr(by_bytes, "\"symbol\":\"malloc+0x4\"") != NULL,
	      "the libc site is symbolised: %s", t);
	CHECK(strstr(by_bytes, "\"bytes\":300") < strstr(by_bytes, "\"bytes\":200"),
	      "by bytes, largest first");
	CHECK(strstr(by_bytes, "\"bytes\":100") > by_heat, "only the top 2");
	CHECK(strstr(by_heat, "\"site\":\"0x1000\"") < strstr(by_heat, "\"site\":\"0x2000\""),
	      "by heat, hottest first");
	CHECK(strstr(by_heat, "\"site\":\"0x1000\",\"symbol\":null,\"object\":null") != NULL,
	      "an address in no object has no symbol: %s", by_heat);
	CHECK(strstr(by_heat, "\"heat\":100,\"tier\":null") != NULL,
	      "no opinion is a null tier: %s", by_heat);
}

static void test_unavailable(void)
{
	const char *t = reply(one_tier);
	CHECK(strcmp(t, "{\"heat_source\":{\"unavailable\":\"one tier\"},"
		     "\"migration\":{\"unavailable\":\"one tier\"},"
		     "\"unavailable\":\"one tier\"}") == 0, "policy off: %s", t);
	migrator_running = 0;
	t = reply(summary);
	CHECK(strstr(t, "\"heat_source\":{\"unavailable\":\"the migrator is not "
			"running") != NULL, "migrator not running: %s", t);
	migrator_running = 1;
	periods_run = 0;
	t = reply(heat);
	CHECK(strstr(t, "{\"unavailable\":\"no heat measured yet") == t,
	      "no period run, no histogram of zeros: %s", t);
	periods_run = 7;
}

int main(void)
{
	test_summary();
	test_heat();
	test_sites();
	test_unavailable();
	return check_summary();
}
