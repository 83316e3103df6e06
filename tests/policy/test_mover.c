/* Page locations and moves with a fake move_pages: per-page failures are
 * counted by reason, never fatal, and retried once the page's hysteresis
 * age has passed. */
#include <errno.h>

#include "../check.h"
#include "fixture.h"
#include "mover.h"

/* The fake kernel: the node of every page of span s, page i, and what the
 * next move of a page answers (0: success). */
static int node_of[TM_TIER_MAX][FX_CELLS];
static int answer[TM_TIER_MAX][FX_CELLS];
static int whole_call_errno;
static size_t calls, largest_batch;

static int span_page(void *addr, int *s, size_t *i)
{
	uintptr_t a = (uintptr_t)addr;
	*s = (int)(a >> 30) - 1;
	*i = (a & ((1UL << 30) - 1)) >> FX_SHIFT;
	return *s >= 0 && *s < TM_TIER_MAX && *i < FX_CELLS;
}

static long fake_move_pages(size_t count, void **pages, const int *nodes,
			    int *status)
{
	calls++;
	largest_batch = count > largest_batch ? count : largest_batch;
	if (whole_call_errno) {
		errno = whole_call_errno;
		return -1;
	}
	long failed = 0;
	for (size_t k = 0; k < count; k++) {
		int s;
		size_t i;
		if (!span_page(pages[k], &s, &i)) {
			status[k] = -EFAULT;
			continue;
		}
		if (!nodes) {
			status[k] = node_of[s][i];
			continue;
		}
		if (answer[s][i] < 0) {
			status[k] = answer[s][i];
			failed++;
		} else {
			node_of[s][i] = answer[s][i] ? answer[s][i] : nodes[k];
			status[k] = node_of[s][i];
		}
	}
	return failed;
}

/* Tier 0 on node 0, tier 1 on nodes 1 and 3. */
static void mover(tm_mover *m)
{
	tm_tierset set = {.count = 2};
	set.tier[0].nodes = 1;
	set.tier[1].nodes = (1 << 1) | (1 << 3);
	tm_mover_init(m, &set, fake_move_pages);
}

static void test_locate(void)
{
	tm_heatmap hm;
	static tm_mover m;
	tm_residency res;
	fx_map(&hm, 2, (size_t[]){1000, 10});
	mover(&m);
	for (int i = 0; i < 1000; i++)
		node_of[0][i] = i < 900 ? 0 : i < 990 ? 3 : -ENOENT;
	for (int i = 0; i < 10; i++)
		node_of[1][i] = i < 4 ? 0 : 1;
	fx_cell(0, 0)->age = 7;
	calls = largest_batch = 0;
	tm_mover_locate(&m, &hm, 1 << 20, 1 << 20, &res);
	CHECK_EQ(res.pages[0][0], 900, "home 0 on tier 0");
	CHECK_EQ(res.pages[0][1], 90, "home 0 on tier 1 (node 3)");
	CHECK_EQ(res.pages[1][0], 4, "home 1 on tier 0");
	CHECK_EQ(res.pages[1][1], 6, "home 1 on tier 1");
	CHECK_EQ(fx_cell(0, 995)->tier, TM_TIER_NONE, "not present");
	CHECK_EQ(fx_cell(0, 950)->tier, 1, "node 3 is tier 1");
	CHECK_EQ(fx_cell(0, 0)->age, 8, "a period older");
	CHECK(largest_batch <= TM_MOVE_BATCH, "batches of %d", TM_MOVE_BATCH);
	CHECK_EQ(calls, 3, "1000 pages in 2 batches, 10 in one");
	whole_call_errno = ENOSYS;
	tm_mover_locate(&m, &hm, 1 << 20, 1 << 20, &res);
	whole_call_errno = 0;
	CHECK_EQ(fx_cell(0, 950)->tier, 1, "a failed query keeps the last locations");
	CHECK_EQ(res.pages[0][1], 90, "and the census counts them");
}

/* Budgets of queries: new pages first, then the others in turn. */
static void test_locate_budget(void)
{
	tm_heatmap hm;
	static tm_mover m;
	tm_residency res;
	fx_map(&hm, 2, (size_t[]){1000, 0});
	mover(&m);
	for (int i = 0; i < 1000; i++) {
		node_of[0][i] = 1;
		fx_cell(0, (size_t)i)->tier = TM_TIER_NONE;
	}
	tm_mover_locate(&m, &hm, 600, 200, &res);
	CHECK_EQ(res.pages[0][1], 600, "600 new pages located");
	tm_mover_locate(&m, &hm, 600, 200, &res);
	CHECK_EQ(res.pages[0][1], 1000, "the other 400, then 200 again");
	node_of[0][300] = 0;
	node_of[0][999] = 0;
	hm.span[1].end = fx_addr(1, 50); /* the heap grows */
	for (int i = 0; i < 50; i++)
		node_of[1][i] = 0;
	tm_mover_locate(&m, &hm, 600, 200, &res);
	CHECK_EQ(res.pages[1][0], 50, "new pages first");
	CHECK_EQ(fx_cell(0, 300)->tier, 0, "then the next 200 (from 200)");
	CHECK_EQ(fx_cell(0, 999)->tier, 1, "not yet looked at again");
	tm_mover_locate(&m, &hm, 600, 600, &res);
	CHECK_EQ(fx_cell(0, 999)->tier, 0, "in turn");
}

static void test_apply(void)
{
	tm_heatmap hm;
	static tm_mover m;
	fx_map(&hm, 2, (size_t[]){8, 8});
	mover(&m);
	tm_move mv[8];
	int answers[8] = {0, -EBUSY, -ENOMEM, -EFAULT, -EACCES, -EIO, 3, -ENOENT};
	for (int i = 0; i < 8; i++) {
		node_of[0][i] = 0;
		answer[0][i] = answers[i];
		mv[i] = (tm_move){fx_addr(0, (size_t)i), 0, 1};
	}
	tm_move_result r = {0};
	tm_mover_apply(&m, &hm, mv, 8, &r);
	CHECK_EQ(r.demoted, 1, "one moved where asked");
	CHECK_EQ(fx_cell(0, 0)->tier, 1, "its cell follows");
	CHECK_EQ(r.failed[TM_FAIL_BUSY], 1, "busy");
	CHECK_EQ(r.failed[TM_FAIL_NOMEM], 1, "no memory");
	CHECK_EQ(r.failed[TM_FAIL_GONE], 2, "freed meanwhile (EFAULT, ENOENT)");
	CHECK_EQ(r.failed[TM_FAIL_DENIED], 1, "shared");
	CHECK_EQ(r.failed[TM_FAIL_OTHER], 2, "EIO, and a move to node 3");
	CHECK_EQ(fx_cell(0, 6)->tier, 1, "node 3 is tier 1 all the same");
	CHECK_EQ(r.gained[1], 2, "tier 1 gained two pages");
	CHECK_EQ(r.gained[0], -2, "tier 0 lost them");
	CHECK_EQ(fx_cell(0, 1)->tier, 0, "a busy page stays");
	CHECK_EQ(fx_cell(0, 3)->tier, TM_TIER_NONE, "a freed page is gone");
	for (int i = 0; i < 8; i++)
		CHECK_EQ(fx_cell(0, (size_t)i)->age, 0, "tried pages wait (%d)", i);

	/* A busy page is planned again once its age has passed. */
	tm_plan_params p = {.tiers = 2, .cap = {0, 100}, .budget = 100,
			    .min_age = 4, .margin = 32, .min_heat = 16};
	tm_plan_summary sum;
	tm_move out[16];
	size_t n = tm_plan(&hm, &p, out, 16, &sum);
	for (size_t i = 0; i < n; i++)
		CHECK(out[i].addr != fx_addr(0, 1), "not at once");
	fx_cell(0, 1)->age = 4;
	n = tm_plan(&hm, &p, out, 16, &sum);
	int again = 0;
	for (size_t i = 0; i < n; i++)
		again += out[i].addr == fx_addr(0, 1);
	CHECK_EQ(again, 1, "retried later");

	whole_call_errno = EPERM;
	tm_move_result r2 = {0};
	tm_mover_apply(&m, &hm, mv, 2, &r2);
	whole_call_errno = 0;
	CHECK_EQ(r2.failed[TM_FAIL_DENIED], 2, "a refused call fails each page");
}

static void test_fail_kinds(void)
{
	CHECK_EQ(tm_move_fail_kind(-EAGAIN), TM_FAIL_BUSY, "EAGAIN is busy");
	CHECK_EQ(tm_move_fail_kind(EFAULT), TM_FAIL_GONE, "positive errno too");
	CHECK_EQ(tm_move_fail_kind(-E2BIG), TM_FAIL_OTHER, "other");
}

int main(void)
{
	test_locate();
	test_locate_budget();
	test_apply();
	test_fail_kinds();
	return check_summary();
}
