/* The DAMON source against fake sysfs trees: absent, busy, no fvaddr, the
 * set-up written, regions read back into heat, heap growth, and the
 * kdamond turned off (and kdamond 0 removed) when the source closes. The
 * kdamond is shared with the whole machine: processes racing to claim it,
 * someone else's left off, and one a killed tiermalloc process left. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "policy/heat_damon.h"
#include "tests/check.h"
#include "tests/policy/fixture.h"

#define KD "kernel/mm/damon/admin/kdamonds"
#define CTX KD "/0/contexts/0"

/* The files the kernel would show once kdamond 0 and its context exist. */
static void damon_tree(const char *root, const char *nr, const char *state)
{
	static const char *const files[] = {
		KD "/0/contexts/nr_contexts", CTX "/operations",
		CTX "/monitoring_attrs/intervals/sample_us",
		CTX "/monitoring_attrs/intervals/aggr_us",
		CTX "/monitoring_attrs/nr_regions/max", CTX "/targets/nr_targets",
		CTX "/targets/0/pid_target", CTX "/targets/0/regions/nr_regions",
		CTX "/schemes/nr_schemes", CTX "/schemes/0/action",
		CTX "/schemes/0/access_pattern/sz/max",
		CTX "/schemes/0/access_pattern/nr_accesses/min",
		CTX "/schemes/0/access_pattern/nr_accesses/max",
		CTX "/schemes/0/access_pattern/age/max",
	};
	fx_put(root, KD "/nr_kdamonds", nr);
	fx_put(root, KD "/0/state", state);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		fx_put(root, files[i], "0\n");
	fx_put(root, CTX "/avail_operations", "vaddr\nfvaddr\npaddr\n");
	for (int r = 0; r < TM_TIER_MAX + 2 * TM_PROBES; r++) {
		char path[128];
		snprintf(path, sizeof(path), CTX "/targets/0/regions/%d/start", r);
		fx_put(root, path, "0\n");
		snprintf(path, sizeof(path), CTX "/targets/0/regions/%d/end", r);
		fx_put(root, path, "0\n");
	}
}

static void tried(const char *root, int i, uintptr_t start, uintptr_t end,
		  int accesses)
{
	char path[160], text[32];
	const char *dir = CTX "/schemes/0/tried_regions";
	snprintf(path, sizeof(path), "%s/%d/start", dir, i);
	snprintf(text, sizeof(text), "%lu", (unsigned long)start);
	fx_put(root, path, text);
	snprintf(path, sizeof(path), "%s/%d/end", dir, i);
	snprintf(text, sizeof(text), "%lu", (unsigned long)end);
	fx_put(root, path, text);
	snprintf(path, sizeof(path), "%s/%d/nr_accesses", dir, i);
	snprintf(text, sizeof(text), "%d", accesses);
	fx_put(root, path, text);
}

static void test_unavailable(void)
{
	char buf[64], why[120];
	const char *root = fx_tree(buf, sizeof(buf));
	tm_heatmap hm;
	tm_damon_src d;
	fx_map(&hm, 2, (size_t[]){16, 16});
	tm_damon_src_init(&d, root);
	CHECK_EQ(d.base.open(&d.base, &hm, 100, why, sizeof(why)), -1, "no DAMON");
	CHECK(strstr(why, "no DAMON sysfs interface") != NULL, "why: %s", why);

	damon_tree(root, "1\n", "on\n");
	CHECK_EQ(d.base.open(&d.base, &hm, 100, why, sizeof(why)), -1, "busy");
	CHECK(strstr(why, "busy") != NULL, "why: %s", why);
	CHECK(!strcmp(fx_get(root, KD "/0/state"), "on"), "someone else's left alone");

	damon_tree(root, "0\n", "off\n");
	fx_put(root, CTX "/avail_operations", "vaddr\npaddr\n");
	CHECK_EQ(d.base.open(&d.base, &hm, 100, why, sizeof(why)), -1, "no fvaddr");
	CHECK(strstr(why, "fvaddr") != NULL, "why: %s", why);
	CHECK(!strcmp(fx_get(root, KD "/nr_kdamonds"), "0"), "kdamond 0 removed again");
	fx_tree_remove(root);
}

/* A source opened on a fresh kernel tree, over spans of 16 and slow pages. */
static void open_fresh(tm_damon_src *d, tm_heatmap *hm, const char *root, size_t slow)
{
	char why[120];
	fx_map(hm, 2, (size_t[]){16, slow});
	damon_tree(root, "0\n", "off\n");
	tm_damon_src_init(d, root);
	CHECK_EQ(d->base.open(&d->base, hm, 100, why, sizeof(why)), 0, "opens: %s", why);
}

static void test_monitoring(void)
{
	char buf[64], why[120], text[32];
	const char *root = fx_tree(buf, sizeof(buf));
	tm_heatmap hm;
	tm_damon_src d;
	open_fresh(&d, &hm, root, 8);
	CHECK(!strcmp(fx_get(root, KD "/nr_kdamonds"), "1"), "kdamond 0 made");
	CHECK(!strcmp(fx_get(root, CTX "/operations"), "fvaddr"), "fixed regions");
	snprintf(text, sizeof(text), "%d", (int)getpid());
	CHECK(!strcmp(fx_get(root, CTX "/targets/0/pid_target"), text), "our pid");
	CHECK(!strcmp(fx_get(root, CTX "/schemes/0/action"), "stat"), "stat scheme");
	CHECK(strcmp(fx_get(root, CTX "/schemes/0/access_pattern/nr_accesses/max"), "0"),
	      "the pattern matches the hot regions");
	CHECK(!strcmp(fx_get(root, CTX "/schemes/0/access_pattern/nr_accesses/min"), "4"),
	      "only regions accessed in a fifth of the checks");
	CHECK(!strcmp(fx_get(root, CTX "/targets/0/regions/nr_regions"), "2"), "2 spans");
	snprintf(text, sizeof(text), "%lu", (unsigned long)fx_addr(0, 0));
	CHECK(!strcmp(fx_get(root, CTX "/targets/0/regions/0/start"), text),
	      "span 0's start");
	snprintf(text, sizeof(text), "%lu", (unsigned long)fx_addr(1, 8));
	CHECK(!strcmp(fx_get(root, CTX "/targets/0/regions/1/end"), text), "its end");
	CHECK(!strcmp(fx_get(root, KD "/0/state"), "on"), "turned on");

	/* The kernel's answer: region [0,4) of span 0 accessed in every sample,
	 * [4,16) never, span 1 half the time. */
	tried(root, 0, fx_addr(0, 0), fx_addr(0, 4), 20);
	tried(root, 1, fx_addr(0, 4), fx_addr(0, 16), 0);
	tried(root, 2, fx_addr(1, 0), fx_addr(1, 8), 10);
	d.base.collect(&d.base, &hm, 100);
	CHECK(!strcmp(fx_get(root, KD "/0/state"), "update_schemes_tried_regions"),
	      "regions asked for");
	CHECK_EQ(atomic_load(&fx_cell(0, 2)->heat), TM_HEAT_FULL, "hot region");
	CHECK_EQ(atomic_load(&fx_cell(0, 9)->heat), 0, "cold region");
	CHECK_EQ(atomic_load(&fx_cell(1, 3)->heat), TM_HEAT_FULL / 2, "warm region");
	CHECK_EQ(d.base.observed, 3, "three regions read");

	/* Beside write tracking, a region's pages get half, unless the region
	 * was accessed in every check: hot throughout, and only DAMON sees
	 * what is read. */
	for (size_t i = 0; i < 16; i++)
		atomic_store(&fx_cell(0, i)->heat, 0);
	hm.credit_shift = 1;
	tried(root, 1, fx_addr(0, 4), fx_addr(0, 16), 19);
	d.base.collect(&d.base, &hm, 100);
	CHECK_EQ(atomic_load(&fx_cell(0, 2)->heat), TM_HEAT_FULL,
		 "accessed in every check: full credit, shared or not");
	CHECK_EQ(atomic_load(&fx_cell(0, 9)->heat), TM_HEAT_FULL * 19 / 20 / 2,
		 "in 19 of 20: a mix, half of it");
	hm.credit_shift = 0;
	tried(root, 1, fx_addr(0, 4), fx_addr(0, 16), 0);

	/* A busy machine: the program ran 40% of the time, so its pages were
	 * touched in at most 40% of the samples; credit is per time run. */
	for (size_t i = 0; i < 16; i++)
		atomic_store(&fx_cell(0, i)->heat, 0);
	tried(root, 0, fx_addr(0, 0), fx_addr(0, 4), 8);
	hm.ran_permille = 400;
	d.base.collect(&d.base, &hm, 100);
	CHECK_EQ(atomic_load(&fx_cell(0, 2)->heat), TM_HEAT_FULL,
		 "8 of 20 samples while running 40%%: hot");
	hm.ran_permille = 10;
	atomic_store(&fx_cell(0, 2)->heat, 0);
	tried(root, 0, fx_addr(0, 0), fx_addr(0, 4), 1);
	d.base.collect(&d.base, &hm, 100);
	CHECK_EQ(atomic_load(&fx_cell(0, 2)->heat), TM_HEAT_FULL / 2,
		 "running 1%%: scaled as if a tenth, no more");
	hm.ran_permille = 1000;

	/* The heap grew: the target regions follow. */
	hm.span[1].end = fx_addr(1, 12);
	d.base.collect(&d.base, &hm, 100);
	snprintf(text, sizeof(text), "%lu", (unsigned long)fx_addr(1, 12));
	CHECK(!strcmp(fx_get(root, CTX "/targets/0/regions/1/end"), text), "grown");

	/* Measured every 4th period: sampling stretches 4 times, and a region
	 * hot throughout still reads as full heat. */
	d.base.pace(&d.base, 4);
	CHECK(!strcmp(fx_get(root, CTX "/monitoring_attrs/intervals/sample_us"), "20000"),
	      "sampling stretched");
	CHECK(!strcmp(fx_get(root, CTX "/monitoring_attrs/intervals/aggr_us"), "400000"),
	      "aggregation too");
	CHECK(!strcmp(fx_get(root, KD "/0/state"), "commit"), "committed while on");
	atomic_store(&fx_cell(0, 2)->heat, 0);
	tried(root, 0, fx_addr(0, 0), fx_addr(0, 4), 20);
	d.base.collect(&d.base, &hm, 100);
	CHECK_EQ(atomic_load(&fx_cell(0, 2)->heat), TM_HEAT_FULL, "hot at any pace");
	d.base.pace(&d.base, 1);
	CHECK(!strcmp(fx_get(root, CTX "/monitoring_attrs/intervals/sample_us"), "5000"),
	      "back to every period");

	d.base.close(&d.base);
	CHECK(!strcmp(fx_get(root, KD "/0/state"), "off"), "kdamond off at close");
	CHECK(!strcmp(fx_get(root, KD "/nr_kdamonds"), "0"), "and removed");

	/* Released: the next claimer gets it. */
	tm_damon_src next;
	tm_damon_src_init(&next, root);
	CHECK_EQ(next.base.open(&next.base, &hm, 100, why, sizeof(why)), 0,
		 "claimed again after close: %s", why);
	next.base.close(&next.base);

	/* A forked child forgets the parent's kdamond without stopping it,
	 * and cannot claim one while the parent holds it. */
	d.base.open(&d.base, &hm, 100, why, sizeof(why));
	fflush(stdout);
	pid_t child = fork();
	if (child == 0) {
		d.base.forget(&d.base);
		d.base.close(&d.base);
		int rc = d.base.open(&d.base, &hm, 100, why, sizeof(why));
		_exit(rc == -1 && strstr(why, "another tiermalloc process") ? 0 : 1);
	}
	int status = 0;
	waitpid(child, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child is refused");
	CHECK(!strcmp(fx_get(root, KD "/0/state"), "on"), "the parent's stays on");
	d.base.close(&d.base);
	CHECK(!strcmp(fx_get(root, KD "/nr_kdamonds"), "0"), "the parent removes it");
	fx_tree_remove(root);
}

/* Whether the tree under root is as its copy root.before left it. */
static void snapshot(const char *root)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s.before' && cp -a '%s' '%s.before'",
		 root, root, root);
	CHECK(system(cmd) == 0, "%s", cmd);
}

static bool unchanged(const char *root)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "diff -rq '%s' '%s.before' >&2", root, root);
	return system(cmd) == 0;
}

static void remove_trees(const char *root)
{
	char before[80];
	snprintf(before, sizeof(before), "%s.before", root);
	fx_tree_remove(before);
	fx_tree_remove(root);
}

/* One of several processes claiming at once: waits for go, claims, says
 * whether it won, holds what it won until done. */
static void racer(const char *root, int go, int done, int result)
{
	char why[120], c;
	tm_heatmap hm;
	tm_damon_src d;
	fx_map(&hm, 2, (size_t[]){16, 16});
	tm_damon_src_init(&d, root);
	if (read(go, &c, 1) < 0)
		_exit(2);
	char won = d.base.open(&d.base, &hm, 100, why, sizeof(why)) == 0;
	if (write(result, &won, 1) != 1 || read(done, &c, 1) < 0)
		_exit(2);
	if (won)
		d.base.close(&d.base);
	_exit(0);
}

/* Several tiermalloc processes see no kdamond at once: one claims it. */
static void test_race(void)
{
	enum { RACERS = 4, ROUNDS = 10 };
	char buf[64];
	const char *root = fx_tree(buf, sizeof(buf));
	int many = 0;
	for (int round = 0; round < ROUNDS; round++) {
		damon_tree(root, "0\n", "off\n");
		int go[2], done[2], result[2];
		if (pipe(go) || pipe(done) || pipe(result))
			abort();
		fflush(stdout);
		pid_t pids[RACERS];
		for (int i = 0; i < RACERS; i++)
			if ((pids[i] = fork()) == 0) {
				close(go[1]);
				close(done[1]);
				racer(root, go[0], done[0], result[1]);
			}
		close(go[1]); /* go */
		int won = 0;
		for (int i = 0; i < RACERS; i++) {
			char w = 0;
			CHECK(read(result[0], &w, 1) == 1, "a racer answers");
			won += w;
		}
		close(done[1]);
		for (int i = 0; i < RACERS; i++)
			waitpid(pids[i], NULL, 0);
		many += won != 1;
		CHECK(!strcmp(fx_get(root, KD "/nr_kdamonds"), "0"), "removed by the winner");
		close(go[0]);
		close(done[0]);
		close(result[0]);
		close(result[1]);
	}
	CHECK_EQ(many, 0, "rounds without exactly one winner, of %d", ROUNDS);
	fx_tree_remove(root);
}

/* A kdamond someone else set up and left off is theirs: not taken, not
 * touched; nor is one among several. */
static void test_someone_elses(void)
{
	char buf[64], why[120];
	const char *root = fx_tree(buf, sizeof(buf));
	tm_heatmap hm;
	tm_damon_src d;
	fx_map(&hm, 2, (size_t[]){16, 16});
	damon_tree(root, "1\n", "off\n");
	fx_put(root, CTX "/operations", "paddr\n");
	fx_put(root, CTX "/targets/0/pid_target", "1\n");
	snapshot(root);
	tm_damon_src_init(&d, root);
	CHECK_EQ(d.base.open(&d.base, &hm, 100, why, sizeof(why)), -1, "not taken");
	CHECK(strstr(why, "off but set up by someone else") != NULL, "why: %s", why);
	CHECK(unchanged(root), "its files unchanged");
	CHECK_EQ(d.lock, -1, "nothing held");

	fx_put(root, KD "/nr_kdamonds", "2\n");
	snapshot(root);
	CHECK_EQ(d.base.open(&d.base, &hm, 100, why, sizeof(why)), -1, "not added to");
	CHECK(strstr(why, "2 kdamonds exist") != NULL, "why: %s", why);
	CHECK(unchanged(root), "their files unchanged");
	remove_trees(root);
}

/* A tiermalloc process killed while it used kdamond 0: the kernel stops
 * the kdamond (its target is gone) but leaves it set up. The next process
 * takes it over, says so, and removes it at close. */
static void test_stale(void)
{
	char buf[64], why[120], text[32], c;
	const char *root = fx_tree(buf, sizeof(buf));
	tm_heatmap hm;
	tm_damon_src d;
	fx_map(&hm, 2, (size_t[]){16, 16});
	damon_tree(root, "0\n", "off\n");
	int up[2];
	if (pipe(up))
		abort();
	fflush(stdout);
	pid_t owner = fork();
	if (owner == 0) {
		tm_damon_src_init(&d, root);
		c = d.base.open(&d.base, &hm, 100, why, sizeof(why)) == 0;
		d.base.pace(&d.base, 2); /* its intervals stretched */
		if (write(up[1], &c, 1) == 1)
			pause();
		_exit(1);
	}
	CHECK(read(up[0], &c, 1) == 1 && c == 1, "the owner claimed it");
	snapshot(root);
	tm_damon_src_init(&d, root);
	CHECK_EQ(d.base.open(&d.base, &hm, 100, why, sizeof(why)), -1, "in use");
	CHECK(strstr(why, "another tiermalloc process") != NULL, "why: %s", why);
	CHECK(unchanged(root), "left alone while its owner lives");

	kill(owner, SIGKILL);
	waitpid(owner, NULL, 0);
	fx_put(root, KD "/0/state", "off\n"); /* as the kernel does */
	snprintf(text, sizeof(text), "%d", (int)getppid());
	fx_put(root, CTX "/targets/0/pid_target", text);
	CHECK_EQ(d.base.open(&d.base, &hm, 100, why, sizeof(why)), -1,
		 "our set-up, but a live target: not taken");

	snprintf(text, sizeof(text), "%d", (int)owner);
	fx_put(root, CTX "/targets/0/pid_target", text);
	CHECK_EQ(d.base.open(&d.base, &hm, 100, why, sizeof(why)), 0, "taken over: %s",
		 why);
	snprintf(text, sizeof(text), "process %d, which died", (int)owner);
	CHECK(strstr(why, text) != NULL, "and said: %s", why);
	snprintf(text, sizeof(text), "%d", (int)getpid());
	CHECK(!strcmp(fx_get(root, CTX "/targets/0/pid_target"), text), "now ours");
	CHECK(!strcmp(fx_get(root, KD "/0/state"), "on"), "turned on");
	d.base.close(&d.base);
	CHECK(!strcmp(fx_get(root, KD "/0/state"), "off"), "off at close");
	CHECK(!strcmp(fx_get(root, KD "/nr_kdamonds"), "0"), "and removed");
	close(up[0]);
	close(up[1]);
	remove_trees(root);
}

/* DAMON wants target regions in address order; spans need not be. */
static void test_region_order(void)
{
	char buf[64], why[120], text[32];
	const char *root = fx_tree(buf, sizeof(buf));
	tm_heatmap hm;
	tm_damon_src d;
	tm_heatmap_init(&hm, FX_SHIFT, NULL);
	tm_heatmap_add_span(&hm, 3UL << 30, FX_CELLS * FX_PAGE, fx_cells[0], 0);
	tm_heatmap_add_span(&hm, 1UL << 30, FX_CELLS * FX_PAGE, fx_cells[1], 1);
	hm.span[0].end = (3UL << 30) + FX_PAGE;
	hm.span[1].end = (1UL << 30) + FX_PAGE;
	damon_tree(root, "0\n", "off\n");
	tm_damon_src_init(&d, root);
	CHECK_EQ(d.base.open(&d.base, &hm, 100, why, sizeof(why)), 0, "opens: %s", why);
	snprintf(text, sizeof(text), "%lu", 1UL << 30);
	CHECK(!strcmp(fx_get(root, CTX "/targets/0/regions/0/start"), text),
	      "the lower span first");
	d.base.close(&d.base);
	fx_tree_remove(root);
}

/* The page of region i of the target, as written. */
static bool region_is(const char *root, int i, uintptr_t start, uintptr_t end)
{
	char path[128], text[2][32];
	snprintf(text[0], sizeof(text[0]), "%lu", (unsigned long)start);
	snprintf(text[1], sizeof(text[1]), "%lu", (unsigned long)end);
	snprintf(path, sizeof(path), CTX "/targets/0/regions/%d/start", i);
	bool ok = !strcmp(fx_get(root, path), text[0]);
	snprintf(path, sizeof(path), CTX "/targets/0/regions/%d/end", i);
	return ok && !strcmp(fx_get(root, path), text[1]);
}

/* A page just demoted is checked alone; found read, it gets the credit
 * alone and is checked again; found idle, it is let go. */
static void test_probes(void)
{
	char buf[64];
	const char *root = fx_tree(buf, sizeof(buf));
	tm_heatmap hm;
	tm_damon_src d;
	open_fresh(&d, &hm, root, 8);
	fx_cell(0, 3)->tier = 1;
	fx_cell(0, 3)->age = 0;
	d.base.collect(&d.base, &hm, 100);
	CHECK(!strcmp(fx_get(root, KD "/0/state"), "commit"), "new regions committed");
	CHECK(!strcmp(fx_get(root, CTX "/targets/0/regions/nr_regions"), "4"),
	      "the probe and the spans around it: %s",
	      fx_get(root, CTX "/targets/0/regions/nr_regions"));
	CHECK(region_is(root, 0, fx_addr(0, 0), fx_addr(0, 2)), "up to its neighbour");
	CHECK(region_is(root, 1, fx_addr(0, 3), fx_addr(0, 4)), "the probe alone");
	CHECK(region_is(root, 2, fx_addr(0, 5), fx_addr(0, 16)), "from past its neighbour");

	/* Read in half the checks, beside write tracking; its neighbours'
	 * region cold. */
	tried(root, 0, fx_addr(0, 3), fx_addr(0, 4), 10);
	fx_cell(0, 3)->age = 100;
	hm.credit_shift = 1;
	d.base.collect(&d.base, &hm, 100);
	hm.credit_shift = 0;
	CHECK_EQ(atomic_load(&fx_cell(0, 3)->heat), TM_HEAT_FULL / 2,
		 "the probe's page credited alone, unshared: it was seen alone");
	CHECK_EQ(atomic_load(&fx_cell(0, 2)->heat), 0, "its neighbour not");
	CHECK(!strcmp(fx_get(root, KD "/0/state"), "update_schemes_tried_regions"),
	      "still a probe: the regions stay");
	tm_policy_snapshot snap = {0};
	d.base.report(&d.base, &snap);
	CHECK(snap.probes.active && snap.probes.checked == 1 && snap.probes.read == 1,
	      "reported: %llu checked, %llu read", (unsigned long long)snap.probes.checked,
	      (unsigned long long)snap.probes.read);

	/* No longer read: let go. */
	tried(root, 0, fx_addr(1, 0), fx_addr(1, 8), 20);
	d.base.collect(&d.base, &hm, 100);
	CHECK(!strcmp(fx_get(root, CTX "/targets/0/regions/nr_regions"), "2"),
	      "the spans alone again");
	d.base.close(&d.base);
	fx_tree_remove(root);
}

int main(void)
{
	test_probes();
	test_unavailable();
	test_monitoring();
	test_region_order();
	test_race();
	test_someone_elses();
	test_stale();
	return check_summary();
}
