#include "policy/heat_damon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "allocator/prim/fd.h"
#include "allocator/prim/file.h"
#include "allocator/prim/os.h"
#include "allocator/prim/track.h"

#define KD "kernel/mm/damon/admin/kdamonds"
#define CTX KD "/0/contexts/0"
#define TRIED CTX "/schemes/0/tried_regions"

/* 20 access checks per region per aggregation, and DAMON's default bound
 * on regions (fewer leave the regions too coarse to follow a moving hot
 * set). Only regions accessed in a fifth of the checks are read back: each
 * costs three sysfs reads, and the others get no credit anyway. */
#define SAMPLE_US 5000
#define AGGR_US 100000
#define MIN_RAN 100    /* below a tenth of the time, the samples are noise */
#define MAX_REGIONS 1000
#define MIN_ACCESSES 4
#define STR(x) #x
#define XSTR(x) STR(x)

/* The monitoring set-up, in order. The "stat" scheme only counts; its
 * pattern matches the regions worth reading (DAMON's maxima default to 0,
 * which matches nothing). */
static const struct {
	const char *path, *value;
} setup[] = {
	{CTX "/operations", "fvaddr"},
	{CTX "/monitoring_attrs/intervals/sample_us", XSTR(SAMPLE_US)},
	{CTX "/monitoring_attrs/intervals/aggr_us", XSTR(AGGR_US)},
	{CTX "/monitoring_attrs/nr_regions/max", XSTR(MAX_REGIONS)},
	{CTX "/targets/nr_targets", "1"},
	{CTX "/schemes/nr_schemes", "1"},
	{CTX "/schemes/0/action", "stat"},
	{CTX "/schemes/0/access_pattern/sz/max", "18446744073709551615"},
	{CTX "/schemes/0/access_pattern/nr_accesses/min", XSTR(MIN_ACCESSES)},
	{CTX "/schemes/0/access_pattern/nr_accesses/max", "4294967295"},
	{CTX "/schemes/0/access_pattern/age/max", "4294967295"},
};

static tm_damon_src *self(tm_heat_src *s)
{
	return (tm_damon_src *)s;
}

static int write_u64(tm_damon_src *d, uint64_t v, const char *path)
{
	char text[24];
	snprintf(text, sizeof(text), "%llu", (unsigned long long)v);
	return tm_write_textf(text, d->root, "%s", path);
}

static int read_u64(tm_damon_src *d, const char *path, uint64_t *v)
{
	char buf[32];
	if (tm_read_textf(buf, sizeof(buf), d->root, "%s", path) <= 0)
		return -1;
	*v = strtoull(buf, NULL, 10);
	return 0;
}

/* The heap spans, in address order as DAMON wants them, as fixed target
 * regions, with the probes cut out of them; an empty heap gives its first
 * page. */
static int write_regions(tm_damon_src *d, const tm_heatmap *hm)
{
	uintptr_t start[TM_TIER_MAX], end[TM_TIER_MAX];
	size_t n = 0;
	for (int s = 0; s < hm->nspans; s++) {
		const tm_span *sp = &hm->span[s];
		if (sp->end == sp->base)
			continue;
		size_t i = n++;
		for (; i > 0 && start[i - 1] > sp->base; i--) {
			start[i] = start[i - 1];
			end[i] = end[i - 1];
		}
		start[i] = sp->base;
		end[i] = sp->end;
	}
	if (n == 0) {
		start[0] = hm->span[0].base;
		end[0] = start[0] + (1UL << hm->shift);
		n = 1;
	}
	uintptr_t rs[TM_TIER_MAX + 2 * TM_PROBES], re[TM_TIER_MAX + 2 * TM_PROBES];
	n = tm_probes_regions(start, end, n, d->probe, d->nprobes,
			      (size_t)1 << hm->shift, rs, re);
	char path[128];
	int rc = write_u64(d, (uint64_t)n, CTX "/targets/0/regions/nr_regions");
	for (size_t i = 0; rc == 0 && i < n; i++) {
		snprintf(path, sizeof(path), CTX "/targets/0/regions/%zu/start", i);
		rc = write_u64(d, rs[i], path);
		snprintf(path, sizeof(path), CTX "/targets/0/regions/%zu/end", i);
		if (rc == 0)
			rc = write_u64(d, re[i], path);
	}
	for (int s = 0; rc == 0 && s < hm->nspans; s++)
		d->region_end[s] = hm->span[s].end;
	return rc;
}

static int fail(char *why, size_t len, const char *what, int err)
{
	snprintf(why, len, "DAMON: %s: %s", what,
		 err == -EACCES || err == -EPERM ? "needs root" : strerror(-err));
	return -1;
}

/* kdamond 0 carries our set-up: we made it, or a tiermalloc process did.
 * Its intervals may have been stretched (damon_pace). */
static bool ours(tm_damon_src *d)
{
	char text[32];
	for (size_t i = 0; i < sizeof(setup) / sizeof(setup[0]); i++) {
		if (strstr(setup[i].path, "/intervals/"))
			continue;
		if (tm_read_textf(text, sizeof(text), d->root, "%s", setup[i].path) < 0 ||
		    strcmp(text, setup[i].value) != 0)
			return false;
	}
	return true;
}

/* Whether kdamond 0, off, was left by a tiermalloc process that died
 * holding it (killed, so it never closed the source): our set-up, and its
 * target gone (or never written: killed while claiming). The lock we hold
 * says no live tiermalloc process has it. */
static bool stale(tm_damon_src *d, const char *state, pid_t *owner)
{
	uint64_t pid;
	if (strcmp(state, "off") != 0 || !ours(d) ||
	    read_u64(d, CTX "/targets/0/pid_target", &pid) < 0)
		return false;
	*owner = (pid_t)pid;
	return pid == 0 || !tm_os_pid_alive((pid_t)pid);
}

/* Why the kdamonds there are not ours to use. */
static void busy(uint64_t nr, const char *state, char *why, size_t len)
{
	if (nr > 1)
		snprintf(why, len, "DAMON busy: %llu kdamonds exist (someone else's; "
			 "adding one would reset them)", (unsigned long long)nr);
	else if (strcmp(state, "off") == 0)
		snprintf(why, len, "DAMON busy: kdamond 0 is off but set up by "
			 "someone else (left alone)");
	else
		snprintf(why, len, "DAMON busy: kdamond 0 is %s (someone else's)",
			 state[0] ? state : "unreadable");
}

/* kdamond 0 exists: ours only if a dead tiermalloc process left it. */
static int take_stale(tm_damon_src *d, uint64_t nr, char *why, size_t len)
{
	char state[16] = "";
	pid_t owner = 0;
	if (nr == 1)
		tm_read_textf(state, sizeof(state), d->root, KD "/0/state");
	if (nr != 1 || !stale(d, state, &owner)) {
		busy(nr, state, why, len);
		return -1;
	}
	snprintf(why, len, "took over kdamond 0 from tiermalloc process %d, "
		 "which died holding it", (int)owner);
	d->created = true; /* made from none, as ours are: undone at close */
	return 0;
}

/* Claim a kdamond of our own, under a lock on nr_kdamonds held as long as
 * it is ours, so tiermalloc processes claim one at a time and a dead one's
 * lock goes with it. Writing nr_kdamonds recreates every kdamond (someone
 * else's set-up lost), so only 0 -> 1 makes one; an existing kdamond is
 * used only if a dead tiermalloc process left it. */
static int claim(tm_damon_src *d, char *why, size_t len)
{
	d->lock = tm_fd_lock(d->root, KD "/nr_kdamonds");
	if (d->lock == -ENOENT) {
		snprintf(why, len, "no DAMON sysfs interface (%s/" KD ")", d->root);
		return -1;
	}
	if (d->lock == -EWOULDBLOCK) {
		snprintf(why, len, "DAMON busy: another tiermalloc process has it");
		return -1;
	}
	if (d->lock < 0)
		return fail(why, len, "nr_kdamonds", d->lock);
	uint64_t nr;
	if (read_u64(d, KD "/nr_kdamonds", &nr) < 0)
		return fail(why, len, "nr_kdamonds", -EIO);
	if (nr > 0)
		return take_stale(d, nr, why, len);
	int rc = tm_write_textf("1", d->root, KD "/nr_kdamonds");
	if (rc < 0)
		return fail(why, len, "nr_kdamonds", rc);
	d->created = true;
	return 0;
}

static void release(tm_damon_src *d)
{
	if (d->on)
		tm_write_textf("off", d->root, KD "/0/state");
	if (d->created)
		tm_write_textf("0", d->root, KD "/nr_kdamonds");
	if (d->lock >= 0)
		tm_fd_close_own(d->lock);
	d->on = d->created = false;
	d->lock = -1;
}

static int damon_open(tm_heat_src *s, const tm_heatmap *hm, unsigned period_ms,
		      char *why, size_t len)
{
	tm_damon_src *d = self(s);
	int rc = claim(d, why, len);
	if (rc == 0 && (rc = tm_write_textf("1", d->root, KD "/0/contexts/nr_contexts")) < 0)
		fail(why, len, "nr_contexts", rc);
	char ops[64] = "";
	tm_read_textf(ops, sizeof(ops), d->root, CTX "/avail_operations");
	if (rc == 0 && !strstr(ops, "fvaddr")) {
		snprintf(why, len, "DAMON lacks fixed virtual-address monitoring (fvaddr)");
		rc = -1;
	}
	for (size_t i = 0; rc == 0 && i < sizeof(setup) / sizeof(setup[0]); i++)
		if ((rc = tm_write_textf(setup[i].value, d->root, "%s", setup[i].path)) < 0)
			fail(why, len, setup[i].path + sizeof(KD), rc);
	if (rc == 0 && (rc = write_u64(d, (uint64_t)getpid(), CTX "/targets/0/pid_target")) < 0)
		fail(why, len, "pid_target", rc);
	if (rc == 0 && (rc = write_regions(d, hm)) < 0)
		fail(why, len, "target regions", rc);
	if (rc == 0 && (rc = tm_write_textf("on", d->root, KD "/0/state")) < 0)
		fail(why, len, "turning kdamond on", rc);
	d->on = rc == 0;
	if (rc < 0)
		release(d);
	return rc < 0 ? -1 : 0;
}

static bool heap_moved(const tm_damon_src *d, const tm_heatmap *hm)
{
	for (int s = 0; s < hm->nspans; s++)
		if (hm->span[s].end != d->region_end[s])
			return true;
	return false;
}

/* A region read back. A probe's page was seen alone: it gets the credit
 * unshared and is checked again. So does a region found accessed in every
 * check: each check looks at a page drawn at random, so one that mixes
 * hot and cold pages almost never passes them all (an array read
 * throughout, a hash table's buckets). Any other region's pages share the
 * credit with the partner source, which tells them apart. */
static void credit(tm_damon_src *d, tm_heatmap *hm, const uint64_t v[3])
{
	uint64_t c = v[2] * TM_HEAT_FULL * 1000 / d->max_accesses /
		     (hm->ran_permille > MIN_RAN ? hm->ran_permille : MIN_RAN);
	unsigned credit = c > TM_HEAT_FULL ? TM_HEAT_FULL : (unsigned)c;
	if (v[1] - v[0] == 1UL << hm->shift &&
	    tm_probes_has(d->probe, d->nprobes, (uintptr_t)v[0])) {
		tm_heatmap_credit_dense(hm, v[0], v[1], credit);
		if (d->nread < TM_PROBES)
			d->read[d->nread++] = (uintptr_t)v[0];
		d->probes_read++;
		return;
	}
	if (c >= TM_HEAT_FULL) /* every check, while the program ran */
		tm_heatmap_credit_dense(hm, v[0], v[1], credit);
	else
		tm_heatmap_credit_region(hm, v[0], v[1], credit);
}

/* The regions DAMON found accessed in its last aggregation. */
static void read_back(tm_damon_src *d, tm_heatmap *hm)
{
	d->nread = 0;
	if (tm_write_textf("update_schemes_tried_regions", d->root, KD "/0/state") < 0)
		return;
	d->probes_checked += d->nprobes;
	for (int i = 0; i < MAX_REGIONS + TM_PROBES; i++) {
		static const char *const field[3] = {"start", "end", "nr_accesses"};
		uint64_t v[3];
		int k = 0;
		for (char path[96]; k < 3; k++) {
			snprintf(path, sizeof(path), TRIED "/%d/%s", i, field[k]);
			if (read_u64(d, path, &v[k]) < 0)
				break;
		}
		if (k < 3)
			break;
		credit(d, hm, v);
		d->base.observed++;
	}
}

/* Credit what DAMON saw, then give it the next probes (and the heap as it
 * is now): a new set of regions only when either changed. */
static void damon_collect(tm_heat_src *s, tm_heatmap *hm, unsigned period_ms)
{
	tm_damon_src *d = self(s);
	read_back(d, hm);
	uintptr_t next[TM_PROBES];
	size_t n = tm_probes_choose(hm, d->read, d->nread, &d->probe_at, next);
	bool same = n == d->nprobes && !memcmp(next, d->probe, n * sizeof(*next));
	if (same && !heap_moved(d, hm))
		return;
	memcpy(d->probe, next, n * sizeof(*next));
	d->nprobes = n;
	if (write_regions(d, hm) == 0)
		tm_write_textf("commit", d->root, KD "/0/state");
}

static void damon_report(const tm_heat_src *s, tm_policy_snapshot *out)
{
	const tm_damon_src *d = (const tm_damon_src *)s;
	out->probes = (tm_read_probes){true, d->probes_checked, d->probes_read};
}

/* Sampling and aggregation stretch alike, so a region hot throughout
 * still counts max_accesses checks. */
static void damon_pace(tm_heat_src *s, unsigned every)
{
	tm_damon_src *d = self(s);
	if (write_u64(d, (uint64_t)SAMPLE_US * every, CTX "/monitoring_attrs/intervals/sample_us") == 0 &&
	    write_u64(d, (uint64_t)AGGR_US * every, CTX "/monitoring_attrs/intervals/aggr_us") == 0)
		tm_write_textf("commit", d->root, KD "/0/state");
}

static void damon_close(tm_heat_src *s)
{
	release(self(s));
}

/* The parent's kdamond is the parent's to stop. */
static void damon_forget(tm_heat_src *s)
{
	tm_damon_src *d = self(s);
	d->on = d->created = false;
	release(d); /* our copy of the lock's descriptor: the parent's holds */
}

void tm_damon_src_init(tm_damon_src *s, const char *sysfs_root)
{
	memset(s, 0, sizeof(*s));
	s->base = (tm_heat_src){
		.name = "damon",
		.open = damon_open,
		.collect = damon_collect,
		.pace = damon_pace,
		.report = damon_report,
		.close = damon_close,
		.forget = damon_forget,
	};
	s->root = sysfs_root;
	s->lock = -1;
	s->max_accesses = AGGR_US / SAMPLE_US;
}
