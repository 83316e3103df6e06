/* Page locations and moves with a fake move_pages: per-page failures are
 * counted by reason, never fatal, and retried once the page's hysteresis
 * age has passed. */
#include <errno.h>

#include "policy/mover.h"
#include "tests/check.h"
#include "tests/policy/fixture.h"

/* The fake kernel: the node of every page of span s, page i, what the
 * next move of a page answers (0: success), and which blocks are huge
 * pages (folios moved whole, mapped by one entry or split). */
static int node_of[TM_TIER_MAX][FX_CELLS];
static int answer[TM_TIER_MAX][FX_CELLS];
static bool folio[TM_TIER_MAX][FX_CELLS / FX_BLOCK];
static bool pmd_mapped[TM_TIER_MAX][FX_CELLS / FX_BLOCK];
static int whole_call_errno;
static size_t calls, largest_batch, pagemaps_open;

static int span_page(void *addr, int *s, size_t *i)
{
	uintptr_t a = (uintptr_t)addr;
	*s = (int)(a >> 30) - 1;
	*i = (a & ((1UL << 30) - 1)) >> FX_SHIFT;
	return *s >= 0 && *s < TM_TIER_MAX && *i < FX_CELLS;
}

/* A page of a huge folio moves it whole; its other pages in the same call
 * are busy then (the folio is isolated), as in the kernel's
 * add_page_for_migration. */
static size_t moved_in_call[TM_TIER_MAX][FX_CELLS / FX_BLOCK], call_no;

static int move_folio(int s, size_t i, int node)
{
	size_t b = i / FX_BLOCK, first = folio[s][b] ? b * FX_BLOCK : i;
	size_t n = folio[s][b] ? FX_BLOCK : 1;
	if (folio[s][b] && moved_in_call[s][b] == call_no)
		return -EBUSY;
	moved_in_call[s][b] = call_no;
	for (size_t k = first; k < first + n; k++)
		node_of[s][k] = node;
	return node;
}

static long fake_move_pages(size_t count, void **pages, const int *nodes,
			    int *status)
{
	calls++;
	call_no++;
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
			status[k] = move_folio(s, i, answer[s][i] ? answer[s][i] : nodes[k]);
			failed += status[k] < 0;
		}
	}
	return failed;
}

static int fake_open_pagemap(void)
{
	pagemaps_open++;
	return 7;
}

static long fake_scan_huge(int pagemap, uintptr_t start, uintptr_t end,
			   tm_page_run *runs, size_t max, uintptr_t *walk_end)
{
	int s;
	size_t i;
	long n = 0;
	span_page((void *)start, &s, &i);
	for (size_t b = i / FX_BLOCK; fx_addr(s, b * FX_BLOCK) < end && n < (long)max; b++)
		if (pmd_mapped[s][b])
			runs[n++] = (tm_page_run){fx_addr(s, b * FX_BLOCK),
						  fx_addr(s, (b + 1) * FX_BLOCK)};
	*walk_end = end;
	return n;
}

static void fake_close(int fd)
{
	pagemaps_open--;
}

static const tm_mover_os fake_os = {
	.move_pages = fake_move_pages,
	.open_pagemap = fake_open_pagemap,
	.scan_huge = fake_scan_huge,
	.close = fake_close,
};

/* Tier 0 on node 0, tier 1 on nodes 1 and 3. */
static void mover(tm_mover *m)
{
	tm_tierset set = {.count = 2};
	set.tier[0].nodes = 1;
	set.tier[1].nodes = (1 << 1) | (1 << 3);
	tm_mover_init(m, &set, &fake_os);
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
		mv[i] = (tm_move){fx_addr(0, (size_t)i), 0, 1, 1};
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
	size_t n = fx_plan(&hm, &p, out, 16, &sum);
	for (size_t i = 0; i < n; i++)
		CHECK(out[i].addr != fx_addr(0, 1), "not at once");
	fx_cell(0, 1)->age = 4;
	n = fx_plan(&hm, &p, out, 16, &sum);
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

/* A page demoted within TM_UNDONE_AGE periods of a move up undoes it;
 * one in DRAM for longer, or from the start, does not, even when its
 * demotion had to be tried twice. */
static void test_undone(void)
{
	tm_heatmap hm;
	static tm_mover m;
	fx_map(&hm, 2, (size_t[]){4, 4});
	mover(&m);
	fx_cell(0, 0)->age = TM_AGE_CAME_UP | (TM_UNDONE_AGE - 1);
	fx_cell(0, 1)->age = TM_AGE_CAME_UP | TM_UNDONE_AGE;
	tm_move mv[3];
	for (int i = 0; i < 3; i++) {
		node_of[0][i] = 0;
		answer[0][i] = 1;
		mv[i] = (tm_move){fx_addr(0, (size_t)i), 0, 1, 1};
	}
	tm_move_result r = {0};
	tm_mover_apply(&m, &hm, mv, 3, &r);
	CHECK_EQ(r.demoted, 3, "three demoted");
	CHECK_EQ(r.undone, 1, "one of them had come up lately");

	/* Page 3 was always in DRAM, page 0 comes up: both demotions fail
	 * once (busy), then succeed. */
	node_of[1][0] = 1;
	answer[1][0] = 0;
	tm_move up = {fx_addr(1, 0), 1, 0, 1};
	memset(&r, 0, sizeof(r));
	tm_mover_apply(&m, &hm, &up, 1, &r);
	CHECK_EQ(r.promoted, 1, "one page came up");
	tm_move down[2] = {{fx_addr(0, 3), 0, 1, 1}, {fx_addr(1, 0), 0, 1, 1}};
	node_of[0][3] = 0;
	answer[0][3] = answer[1][0] = -EBUSY;
	memset(&r, 0, sizeof(r));
	tm_mover_apply(&m, &hm, down, 2, &r);
	CHECK_EQ(r.failed[TM_FAIL_BUSY], 2, "both busy");
	answer[0][3] = answer[1][0] = 1;
	memset(&r, 0, sizeof(r));
	tm_mover_apply(&m, &hm, down, 2, &r);
	CHECK_EQ(r.demoted, 2, "both demoted at the second try");
	CHECK_EQ(r.undone, 1, "only the one that had come up undoes a promotion");
	memset(answer, 0, sizeof(answer));
}

static void test_fail_kinds(void)
{
	CHECK_EQ(tm_move_fail_kind(-EAGAIN), TM_FAIL_BUSY, "EAGAIN is busy");
	CHECK_EQ(tm_move_fail_kind(EFAULT), TM_FAIL_GONE, "positive errno too");
	CHECK_EQ(tm_move_fail_kind(-E2BIG), TM_FAIL_OTHER, "other");
}

/* A hot page in a huge block: moved in 4 KiB units (the block unknown),
 * the kernel takes the whole folio and the cells know one page of it; as a
 * known block, one address moves it and all its cells follow. */
static void test_huge_moves(void)
{
	tm_heatmap hm;
	static tm_mover m;
	tm_residency res;
	fx_map(&hm, 2, (size_t[]){0, 2 * FX_BLOCK});
	mover(&m);
	memset(answer, 0, sizeof(answer));
	for (size_t i = 0; i < 2 * FX_BLOCK; i++)
		node_of[1][i] = 1;
	folio[1][0] = folio[1][1] = true;
	pmd_mapped[1][1] = true; /* block 0's mapping was split (a uffd fault) */
	tm_move page[4];
	for (int k = 0; k < 4; k++)
		page[k] = (tm_move){fx_addr(1, (size_t)k), 1, 0, 1};
	tm_move_result r = {0};
	tm_mover_apply(&m, &hm, page, 4, &r);
	CHECK_EQ(r.failed[TM_FAIL_BUSY], 3, "4 KiB units: the folio's other pages busy");
	CHECK_EQ(node_of[1][FX_BLOCK - 1], 0, "though all 512 moved");
	CHECK_EQ(r.gained[0], 1, "and the cells count one");

	fx_map(&hm, 2, (size_t[]){0, 2 * FX_BLOCK});
	mover(&m);
	for (size_t i = 0; i < 2 * FX_BLOCK; i++)
		node_of[1][i] = 1;
	folio[1][0] = true; /* a huge page whose mapping is split later */
	pmd_mapped[1][0] = true;
	tm_mover_find_huge(&m, &hm);
	pmd_mapped[1][0] = false;
	tm_mover_find_huge(&m, &hm);
	CHECK_EQ(pagemaps_open, 1, "the pagemap is opened once");
	CHECK_EQ(tm_heatmap_unit(&hm, &hm.span[1], 0), FX_BLOCK,
		 "a block once seen huge stays one (its folio does)");
	CHECK_EQ(tm_heatmap_unit(&hm, &hm.span[1], FX_BLOCK), FX_BLOCK,
		 "a block mapped huge is one");
	tm_move block = {fx_addr(1, 0), 1, 0, FX_BLOCK};
	memset(&r, 0, sizeof(r));
	calls = largest_batch = 0;
	tm_mover_apply(&m, &hm, &block, 1, &r);
	CHECK_EQ(largest_batch, 1, "one address for the block");
	CHECK_EQ(r.promoted, FX_BLOCK, "512 pages promoted");
	CHECK_EQ(r.pages, FX_BLOCK, "and tried");
	CHECK_EQ(r.gained[0], FX_BLOCK, "tier 0 gained them");
	CHECK_EQ(r.gained[1], -FX_BLOCK, "tier 1 lost them");
	CHECK(fx_cell(1, FX_BLOCK - 1)->tier == 0 &&
	      fx_cell(1, FX_BLOCK - 1)->age == TM_AGE_CAME_UP, "all its cells follow");
	tm_mover_locate(&m, &hm, 1 << 20, 1 << 20, &res);
	CHECK_EQ(res.pages[1][0], FX_BLOCK, "residency follows all 512 pages");

	node_of[1][FX_BLOCK + 5] = 0; /* block 1 split and partly moved */
	tm_mover_locate(&m, &hm, 1 << 20, 1 << 20, &res);
	CHECK_EQ(tm_heatmap_unit(&hm, &hm.span[1], FX_BLOCK), 1,
		 "a block whose pages are apart is huge no longer");
	CHECK_EQ(tm_heatmap_unit(&hm, &hm.span[1], 0), FX_BLOCK, "the other stays");
	mover(&m);
	CHECK_EQ(pagemaps_open, 0, "a new life closes the old pagemap");
	memset(folio, 0, sizeof(folio));
	memset(pmd_mapped, 0, sizeof(pmd_mapped));
}

int main(void)
{
	test_locate();
	test_locate_budget();
	test_apply();
	test_undone();
	test_fail_kinds();
	test_huge_moves();
	return check_summary();
}
