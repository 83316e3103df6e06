/* The choice of heat source: the best that opens, a forced one, a forced
 * one that cannot open (the best of the rest), the page-exact partner of a
 * source that credits regions, and the reasons recorded for every source. */
#include <stdio.h>

#include "policy/source.h"
#include "tests/check.h"
#include "tests/policy/fixture.h"

typedef struct {
	tm_heat_src base;
	int works;
	int opened;
} fake_src;

static int fake_open(tm_heat_src *s, const tm_heatmap *hm, unsigned period_ms,
		     char *why, size_t len)
{
	fake_src *f = (fake_src *)s;
	f->opened++;
	if (f->works)
		return 0;
	snprintf(why, len, "%s is not here", s->name);
	return -1;
}

static fake_src fakes[TM_HEAT_SOURCES] = {
	{{.name = "perf", .open = fake_open, .page_exact = true}, 0, 0},
	{{.name = "damon", .open = fake_open}, 0, 0},
	{{.name = "uffd", .open = fake_open, .page_exact = true}, 1, 0},
	{{.name = "hints", .open = fake_open}, 1, 0},
};
static tm_heat_src *const srcs[TM_HEAT_SOURCES] = {
	&fakes[0].base, &fakes[1].base, &fakes[2].base, &fakes[3].base,
};

/* Ten quiet periods in a row while the program runs: blind, once. */
static void test_blind_watch(void)
{
	tm_blind_watch w = {0};
	for (int i = 1; i < TM_BLIND_PERIODS; i++)
		CHECK(!tm_source_blind(&w, 0, true), "quiet period %d: not yet", i);
	CHECK(!tm_source_blind(&w, 0, false), "the program did not run: no evidence");
	CHECK(tm_source_blind(&w, 0, true), "the tenth: blind");
	CHECK(!tm_source_blind(&w, 0, true), "said once");
	w.quiet = 0;
	for (int i = 1; i < TM_BLIND_PERIODS; i++)
		tm_source_blind(&w, 0, true);
	CHECK(!tm_source_blind(&w, 5, true), "a credit starts over");
	CHECK_EQ(w.quiet, 0, "counted from zero");
}

int main(void)
{
	tm_heatmap hm;
	tm_heat_source_stat st[TM_HEAT_SOURCES];
	tm_heat_src *partner;
	fx_map(&hm, 1, (size_t[]){4});

	tm_heat_src *s = tm_sources_choose(srcs, -1, 0, &hm, 100, st, &partner);
	CHECK(s == srcs[TM_HEAT_UFFD], "the best that opens");
	CHECK(partner == NULL, "page-exact: no partner");
	CHECK(st[TM_HEAT_PERF].tried && !st[TM_HEAT_PERF].available, "perf tried");
	CHECK(!strcmp(st[TM_HEAT_PERF].why, "perf is not here"), "its reason");
	CHECK(!strcmp(st[TM_HEAT_DAMON].why, "damon is not here"), "damon's");
	CHECK(st[TM_HEAT_UFFD].available && !st[TM_HEAT_UFFD].why[0], "in use");
	CHECK(!st[TM_HEAT_HINTS].tried, "hints not tried");
	CHECK(strstr(st[TM_HEAT_HINTS].why, "uffd is in use") != NULL, "says why");
	CHECK(!strcmp(st[TM_HEAT_HINTS].name, "hints"), "names");

	s = tm_sources_choose(srcs, TM_HEAT_HINTS, 0, &hm, 100, st, &partner);
	CHECK(s == srcs[TM_HEAT_HINTS], "forced");
	CHECK(!st[TM_HEAT_PERF].tried, "nothing else tried");

	fakes[0].opened = fakes[2].opened = 0;
	s = tm_sources_choose(srcs, TM_HEAT_DAMON, 0, &hm, 100, st, &partner);
	CHECK(s == srcs[TM_HEAT_UFFD], "forced one fails: the best of the rest");
	CHECK(strstr(st[TM_HEAT_DAMON].why, "not here") != NULL, "the forced one's reason");
	CHECK_EQ(fakes[0].opened, 1, "perf tried after the forced one");

	/* DAMON opens: uffd joins it, hints are not tried. */
	fakes[1].works = 1;
	s = tm_sources_choose(srcs, -1, 0, &hm, 100, st, &partner);
	CHECK(s == srcs[TM_HEAT_DAMON] && partner == srcs[TM_HEAT_UFFD],
	      "damon, with uffd as its partner");
	CHECK(st[TM_HEAT_DAMON].available && st[TM_HEAT_UFFD].available, "both in use");
	CHECK(!st[TM_HEAT_HINTS].tried, "hints not tried");
	s = tm_sources_choose(srcs, TM_HEAT_DAMON, 0, &hm, 100, st, &partner);
	CHECK(s == srcs[TM_HEAT_DAMON] && partner == NULL, "forced damon: alone");
	CHECK(!st[TM_HEAT_UFFD].tried, "uffd not tried then");
	fakes[2].works = 0;
	s = tm_sources_choose(srcs, -1, 0, &hm, 100, st, &partner);
	CHECK(s == srcs[TM_HEAT_DAMON] && partner == NULL, "no partner opens: damon alone");
	CHECK(strstr(st[TM_HEAT_UFFD].why, "not here") != NULL, "the partner's reason");
	fakes[1].works = 0;

	/* uffd benched (blind): the next in order takes over. */
	fakes[2].works = 1;
	fakes[2].opened = 0;
	s = tm_sources_choose(srcs, -1, 1u << TM_HEAT_UFFD, &hm, 100, st, &partner);
	CHECK(s == srcs[TM_HEAT_HINTS], "benched uffd: hints");
	CHECK_EQ(fakes[2].opened, 0, "the benched one not opened");
	CHECK(!st[TM_HEAT_UFFD].tried, "nor counted as tried");

	fakes[2].works = fakes[3].works = 0;
	s = tm_sources_choose(srcs, -1, 0, &hm, 100, st, &partner);
	CHECK(s == NULL, "none at all");
	test_blind_watch();
	return check_summary();
}
