/* Heat maps for the policy's unit tests: spans over made-up addresses with
 * cells in static arrays (no reservation, nothing to commit). */
#ifndef TM_POLICY_FIXTURE_H
#define TM_POLICY_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "policy/heatmap.h"
#include "policy/planner.h"

#define FX_SHIFT 12
#define FX_PAGE (1UL << FX_SHIFT)
#define FX_CELLS 4096

#define FX_BLOCK 512 /* pages of a huge block */

static tm_cell fx_cells[TM_TIER_MAX][FX_CELLS];
static uint64_t fx_huge[TM_TIER_MAX][FX_CELLS / FX_BLOCK / 64 + 1];

/* Span t (home tier t) at 1 GiB * (t + 1), its heap pages[t] pages long,
 * every page present on its home tier, cold, and old enough to move; no
 * huge blocks (fx_huge_block marks some). */
static inline void fx_map(tm_heatmap *hm, int spans, const size_t *pages)
{
	tm_heatmap_init(hm, FX_SHIFT, NULL);
	memset(fx_cells, 0, sizeof(fx_cells));
	memset(fx_huge, 0, sizeof(fx_huge));
	for (int t = 0; t < spans; t++) {
		uintptr_t base = (uintptr_t)(t + 1) << 30;
		tm_heatmap_add_span(hm, base, FX_CELLS * FX_PAGE, fx_cells[t], t);
		hm->span[t].huge = fx_huge[t];
		hm->span[t].end = base + pages[t] * FX_PAGE;
		for (size_t i = 0; i < pages[t]; i++) {
			fx_cells[t][i].tier = (uint8_t)t;
			fx_cells[t][i].age = 100;
		}
	}
}

static inline uintptr_t fx_addr(int span, size_t page)
{
	return ((uintptr_t)(span + 1) << 30) + page * FX_PAGE;
}

static inline tm_cell *fx_cell(int span, size_t page)
{
	return &fx_cells[span][page];
}

/* Block b of span s is one transparent huge page. */
static inline void fx_huge_block(tm_heatmap *hm, int span, size_t b)
{
	tm_heatmap_mark_huge(hm, span, fx_addr(span, b * FX_BLOCK),
			     fx_addr(span, (b + 1) * FX_BLOCK));
}

static inline void fx_heat(int span, size_t first, size_t n, unsigned heat)
{
	for (size_t i = first; i < first + n; i++)
		atomic_store(&fx_cells[span][i].heat, (uint8_t)heat);
}

/* A period's plan in one round of at most max_out moves. */
static inline size_t fx_plan(const tm_heatmap *hm, const tm_plan_params *p,
			     tm_move *out, size_t max_out, tm_plan_summary *sum)
{
	tm_plan_state st;
	tm_plan_start(&st, hm, p, sum);
	return tm_plan_next(&st, hm, out, max_out);
}

/* ---- fake sysfs trees ------------------------------------------------ */

/* A fresh directory under /tmp, removed by fx_tree_remove. */
static inline const char *fx_tree(char *buf, size_t len)
{
	snprintf(buf, len, "/tmp/tm-policy-test.XXXXXX");
	return mkdtemp(buf);
}

/* Write root/path (parents made as needed). */
static inline void fx_put(const char *root, const char *path, const char *text)
{
	char full[512];
	snprintf(full, sizeof(full), "%s/%s", root, path);
	for (char *p = full + strlen(root) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(full, 0755);
		*p = '/';
	}
	FILE *f = fopen(full, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* Contents of root/path without the trailing newline, "" if none. */
static inline const char *fx_get(const char *root, const char *path)
{
	static char buf[256];
	char full[512];
	snprintf(full, sizeof(full), "%s/%s", root, path);
	buf[0] = '\0';
	FILE *f = fopen(full, "r");
	if (f) {
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

static inline void fx_tree_remove(const char *root)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", root);
}

#endif
