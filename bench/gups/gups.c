/* GUPS with a hot set, scored by where its pages are.
 *
 * Random 8-byte updates to a table allocated with malloc in chunks: a share
 * hot_frac of them go to a contiguous hot set, the rest anywhere in the cold
 * remainder. Each interval, the table's pages are located (move_pages status
 * query) and the fast-tier access share is the sum, over the pages on the
 * fast node, of each page's probability of being accessed. The oracle is
 * the best share any placement could reach with quota MiB of fast memory.
 * The hot set moves to a new place at each phase; the share must recover.
 *
 *   gups [options]           the benchmark (under any allocator)
 *   gups --balloon MIB       hold MIB of the fast node (mlocked) until killed,
 *                            to give the kernel's own tiering the same quota
 *   gups --balloon MIB --track-file F --quota-mib Q --reserve-mib R
 *                            the same, then, once F holds a process id, keep
 *                            that process's anonymous memory on the fast node
 *                            at Q MiB: the balloon grows by what it holds over
 *                            Q (the kernel demotes to make room), and else
 *                            leaves the node free memory for what it holds
 *                            under Q, plus R (the watermark kswapd keeps free)
 *   gups --alloc             an allocation-heavy loop: its rate, and the CPU
 *                            share of tiermalloc's migrator thread
 *
 * Options: --mib N (table, 64) --hot-mib N (8) --hot-frac F (0.9)
 * --quota-mib N (mib/4) --chunk-kib N (1024) --interval-ms N (500)
 * --intervals N (per phase, 20) --phases N (2) --fast-node N (0)
 * --label TEXT --expect R (fail unless each phase reaches R of the oracle)
 * --cold-slow F (fail unless at least F of the cold pages that cannot be in
 * the quota are on slow nodes at the end) --tlb-flush-ms N (see below).
 *
 * --oracle SLOW_NODE places the table the best static way before first
 * touch (mbind of each chunk): the chunks of the first phase's hot set, then
 * others up to the quota, on the fast node, the rest on SLOW_NODE. With
 * --zipf, the first phase's heaviest pages up to the quota are moved to the
 * fast node and the rest to SLOW_NODE before the first interval. Under
 * any allocator that leaves the pages where they are bound (glibc), it is
 * the upper bound of the quota's worth, in throughput as in share.
 *
 * --interleave SLOW_NODE spreads the data over the fast node and SLOW_NODE
 * with the kernel's weighted interleave (MPOL_WEIGHTED_INTERLEAVE, 6.9+),
 * whose weights the caller sets in /sys/kernel/mm/mempolicy/weighted_
 * interleave/: each chunk is bound before first touch; under --zipf the
 * process takes the policy while it allocates the values and only then
 * (the data alone, never code: see interleave_values). Exit 3 when the
 * kernel does not have it.
 *
 * --tlb-flush-ms N flushes the process's TLB every N ms, which accessed-bit
 * sampling needs under QEMU's software emulation (see tlb_turnover.h).
 *
 * --zipf S switches to a key-value workload: --mib of fixed-size values
 * (--value-b, 1024) allocated one by one with malloc, each update to a key
 * drawn from a Zipf distribution of exponent S over the keys, with key
 * popularity shuffled against allocation order (a new shuffle each phase).
 * --write-share F (1) makes only that share of the key-value accesses
 * writes and the rest reads of one word (YCSB C is 0, B 0.05): sources
 * that see only writes then see F of the traffic.
 * A page's weight is the probability that an update lands on it; the oracle
 * puts the heaviest pages in the quota; "hot" (heat_hot, cold pages on slow
 * nodes) means the oracle's pages.
 *
 * Output: one "interval" line per interval (with, under tiermalloc, the
 * mean heat it reports for the hot set and for the rest; oracle_held: the
 * best share for the fast memory the data holds, quota or not; proc_mib: all
 * the process's anonymous memory on the fast node; fast_steady_mib: the
 * data's MiB on the fast node in two walks of its pages one after the
 * other, which a migrator's swaps during a walk cannot count twice, as
 * fast_mib can when a page goes down early in a walk and another comes up
 * late in it; index_fast_kib of index_kib: the arrays an update reads
 * first, on the fast node), one "phase" line per
 * phase, one "summary" line. Exit 0, or 1 when an --expect/--cold-slow test fails. */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "tlb_turnover.h"
#include "zipf.h"

#define PAGE 4096
#define WORDS_PER_PAGE (PAGE / 8)
#define QUERY_BATCH 1024
#define MPOL_BIND 2
#define MPOL_DEFAULT 0
#define MPOL_WEIGHTED_INTERLEAVE 6
#define MPOL_MF_MOVE (1 << 1)

static struct {
	size_t mib, hot_mib, quota_mib, chunk_kib;
	double hot_frac, expect, cold_slow, zipf, write_share;
	int interval_ms, intervals, phases, fast_node, tlb_flush_ms, oracle_slow;
	const char *label;
	size_t value_b;
	int interleave_slow;
} opt = {64, 8, 0, 1024, 0.9, 0, 0, 0, 1, 500, 20, 2, 0, 0, -1, "gups", 1024, -1};

static uint64_t **chunks;
static int (*heat_of)(const void *); /* tiermalloc's tm_heat_of, if loaded */
static size_t nchunks, words_per_chunk, pages, hot_first, hot_pages;
static int *node, *node_again; /* each page's node, as two walks found it */
/* Every page of the data, its probability of being accessed, and whether
 * it is "hot" (the hot set; under --zipf, the oracle's pages). */
static void **paddr;
static double *pw;
static unsigned char *hot;
/* --zipf: the values, the cumulative distribution over popularity ranks,
 * and which key has each rank. */
static uint64_t **values;
static double *zcdf;
static size_t nkeys, *rank_key;

static uint64_t rng = 88172645463325252ULL;
static uint64_t next(void)
{
	return xorshift(&rng);
}

/* Anonymous memory of a process ("self" or a pid) on node n, in MiB, from
 * its numa_maps (pages of file mappings are the page cache's); -1 when the
 * process is gone. */
static double anon_mib_on(const char *pid, int n)
{
	char path[64], line[4096], key[16];
	snprintf(path, sizeof(path), "/proc/%s/numa_maps", pid);
	snprintf(key, sizeof(key), " N%d=", n);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	unsigned long pages = 0;
	while (fgets(line, sizeof(line), f)) {
		const char *at = strstr(line, key);
		if (at && strstr(line, " anon=") && !strstr(line, " file="))
			pages += strtoul(at + strlen(key), NULL, 10);
	}
	fclose(f);
	return (double)pages * PAGE / (1 << 20);
}

/* ---- where the pages are, and what that is worth ------------------------- */

static void *page_addr(size_t p)
{
	return paddr[p];
}

static void locate(int *into)
{
	void *addr[QUERY_BATCH];
	for (size_t p = 0; p < pages; p += QUERY_BATCH) {
		size_t n = pages - p < QUERY_BATCH ? pages - p : QUERY_BATCH;
		for (size_t k = 0; k < n; k++)
			addr[k] = page_addr(p + k);
		if (syscall(SYS_move_pages, 0, n, addr, NULL, into + p, 0) < 0)
			for (size_t k = 0; k < n; k++)
				into[p + k] = -1;
	}
}

/* --oracle with --zipf: values are allocated one by one, so the best
 * static placement is made by moving pages once their weights are known
 * (before the first interval): the oracle's pages (hot[]) to the fast
 * node, the rest to the slow one. */
static void place_oracle_kv(void)
{
	void *addr[QUERY_BATCH];
	int node[QUERY_BATCH], status[QUERY_BATCH];
	for (size_t p = 0; p < pages; p += QUERY_BATCH) {
		size_t n = pages - p < QUERY_BATCH ? pages - p : QUERY_BATCH;
		for (size_t k = 0; k < n; k++) {
			addr[k] = page_addr(p + k);
			node[k] = hot[p + k] ? opt.fast_node : opt.oracle_slow;
		}
		if (syscall(SYS_move_pages, 0, n, addr, node, status, MPOL_MF_MOVE) < 0) {
			perror("move_pages");
			exit(2);
		}
	}
}

/* The arrays an update reads before it reaches the data (the chunk
 * pointers; under --zipf the popularity table, the rank-to-key map and the
 * value pointers): read on every update and never written after set-up, so
 * a source that sees only writes does not see them. Their KiB on the fast
 * node and in all, from a status query of their pages. */
static void index_on_fast(double *fast_kib, double *all_kib)
{
	const void *arrays[] = {chunks, values, rank_key, zcdf};
	size_t bytes[] = {nchunks * sizeof(*chunks), nkeys * sizeof(*values),
			  nkeys * sizeof(*rank_key), nkeys * sizeof(*zcdf)};
	size_t fast = 0, all = 0;
	for (int a = 0; a < 4; a++) {
		uintptr_t p = (uintptr_t)arrays[a] & ~(uintptr_t)(PAGE - 1);
		for (; arrays[a] && p < (uintptr_t)arrays[a] + bytes[a]; p += PAGE, all++) {
			void *addr = (void *)p;
			int status = -1;
			syscall(SYS_move_pages, 0, 1UL, &addr, NULL, &status, 0);
			fast += status == opt.fast_node;
		}
	}
	*fast_kib = (double)fast * PAGE / 1024;
	*all_kib = (double)all * PAGE / 1024;
}

/* Pages on the fast node in both walks. */
static size_t steady_fast(void)
{
	size_t n = 0;
	for (size_t p = 0; p < pages; p++)
		n += node[p] == opt.fast_node && node_again[p] == opt.fast_node;
	return n;
}

static int is_hot(size_t p)
{
	return hot[p];
}

static double weight(size_t p)
{
	return pw[p];
}

static double share(size_t *fast_pages)
{
	double s = 0;
	*fast_pages = 0;
	for (size_t p = 0; p < pages; p++)
		if (node[p] == opt.fast_node) {
			s += weight(p);
			++*fast_pages;
		}
	return s;
}

/* Mean heat tiermalloc reports for the hot set and for the rest, or -1. */
static void heats(double *hot, double *cold)
{
	double sum[2] = {0, 0};
	size_t n[2] = {0, 0};
	for (size_t p = 0; heat_of && p < pages; p++) {
		int h = heat_of(page_addr(p));
		if (h >= 0) {
			sum[is_hot(p)] += h;
			n[is_hot(p)]++;
		}
	}
	*hot = n[1] ? sum[1] / (double)n[1] : -1;
	*cold = n[0] ? sum[0] / (double)n[0] : -1;
}

static int heavier(const void *a, const void *b)
{
	double x = pw[*(const size_t *)a], y = pw[*(const size_t *)b];
	return x < y ? 1 : x > y ? -1 : 0;
}

/* The page weights, heaviest first (for the oracle at any size). */
static double *sorted_w;

/* The best share with quota pages of fast memory: the heaviest pages. With
 * mark, those pages become the "hot" ones. */
static double oracle(int mark)
{
	size_t q = (opt.quota_mib << 20) / PAGE, *order = malloc(pages * sizeof(*order));
	double s = 0;
	for (size_t p = 0; p < pages; p++)
		order[p] = p;
	qsort(order, pages, sizeof(*order), heavier);
	free(sorted_w);
	sorted_w = malloc(pages * sizeof(*sorted_w));
	for (size_t k = 0; k < pages; k++)
		sorted_w[k] = pw[order[k]];
	if (mark)
		memset(hot, 0, pages);
	for (size_t k = 0; k < q && k < pages; k++) {
		s += pw[order[k]];
		if (mark)
			hot[order[k]] = 1;
	}
	if (mark)
		hot_pages = q < pages ? q : pages;
	free(order);
	return s;
}

/* The best share with n pages of fast memory (the fast memory a run
 * actually holds, which under the kernel's tiering exceeds the quota). */
static double oracle_at(size_t n)
{
	double s = 0;
	for (size_t k = 0; k < n && k < pages; k++)
		s += sorted_w[k];
	return s;
}

/* Cold pages on slow nodes, over those that cannot fit the quota. */
static double cold_on_slow(void)
{
	size_t q = (opt.quota_mib << 20) / PAGE, cold = pages - hot_pages, slow = 0;
	size_t must = cold > q - (q < hot_pages ? q : hot_pages)
			      ? cold - (q - (q < hot_pages ? q : hot_pages)) : 0;
	for (size_t p = 0; p < pages; p++)
		slow += !is_hot(p) && node[p] >= 0 && node[p] != opt.fast_node;
	return must ? (double)slow / (double)must : 1;
}

/* ---- the migrator's CPU time, from its thread's schedstat ---------------- */

static double migrator_cpu_s(void)
{
	DIR *d = opendir("/proc/self/task");
	double cpu = 0;
	for (struct dirent *de; d && (de = readdir(d));) {
		char path[300], buf[64];
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", de->d_name);
		FILE *f = fopen(path, "r");
		int ours = f && fgets(buf, sizeof(buf), f) && !strncmp(buf, "tm-migrator", 11);
		if (f)
			fclose(f);
		snprintf(path, sizeof(path), "/proc/self/task/%s/schedstat", de->d_name);
		unsigned long long ns;
		if (ours && (f = fopen(path, "r"))) {
			if (fscanf(f, "%llu", &ns) == 1)
				cpu += (double)ns * 1e-9;
			fclose(f);
		}
	}
	if (d)
		closedir(d);
	return cpu;
}

/* ---- the benchmark -------------------------------------------------------- */

static void tables(void)
{
	node = calloc(pages, sizeof(*node));
	node_again = calloc(pages, sizeof(*node_again));
	paddr = calloc(pages, sizeof(*paddr));
	pw = calloc(pages, sizeof(*pw));
	hot = calloc(pages, 1);
}

static int addr_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;
	return x < y ? -1 : x > y;
}

static size_t page_index(uintptr_t page)
{
	size_t lo = 0, hi = pages;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if ((uintptr_t)paddr[mid] <= page)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* The kernel's answer when it has no weighted interleave. */
static void no_weighted_interleave(void)
{
	if (errno != EINVAL)
		return;
	fprintf(stderr, "gups: this kernel has no weighted interleave\n");
	exit(3);
}

/* Give the pages of [p, p+len) the policy (rounded out to whole pages: a
 * chunk has its mapping to itself, so its neighbours are not affected). */
static void bind_policy(void *p, size_t len, int mode, unsigned long mask)
{
	uintptr_t a = (uintptr_t)p & ~(uintptr_t)(PAGE - 1);
	uintptr_t e = ((uintptr_t)p + len + PAGE - 1) & ~(uintptr_t)(PAGE - 1);
	if (syscall(SYS_mbind, (void *)a, e - a, mode, &mask, 65UL, 0U) != 0) {
		if (mode == MPOL_WEIGHTED_INTERLEAVE)
			no_weighted_interleave();
		perror("mbind");
		exit(2);
	}
}

static void bind_to(void *p, size_t len, int node)
{
	bind_policy(p, len, MPOL_BIND, 1UL << node);
}

static unsigned long interleave_mask(void)
{
	return 1UL << opt.fast_node | 1UL << opt.interleave_slow;
}

/* --interleave with --zipf: the values come from malloc, so the process
 * takes the policy while it allocates them. Code must never land on the
 * slow node (in the cxl guest that ends QEMU), so every page mapped so
 * far is made resident first (mlockall faults them in); what the policy
 * then places is the values' heap. */
static void interleave_values(int on)
{
	unsigned long mask = interleave_mask();
	if (on && (mlockall(MCL_CURRENT) != 0 || munlockall() != 0)) {
		perror("mlockall");
		exit(2);
	}
	long rc = on ? syscall(SYS_set_mempolicy, MPOL_WEIGHTED_INTERLEAVE, &mask, 65UL)
		     : syscall(SYS_set_mempolicy, MPOL_DEFAULT, NULL, 0UL);
	if (rc != 0) {
		no_weighted_interleave();
		perror("set_mempolicy");
		exit(2);
	}
}

/* --zipf: the values, one malloc each, and the pages they lie on. */
static void allocate_kv(void)
{
	size_t words = opt.value_b / 8;
	nkeys = (opt.mib << 20) / opt.value_b;
	values = calloc(nkeys, sizeof(*values));
	rank_key = calloc(nkeys, sizeof(*rank_key));
	zcdf = calloc(nkeys, sizeof(*zcdf));
	void **all = calloc(nkeys * 2, sizeof(*all));
	if (opt.interleave_slow >= 0)
		interleave_values(1);
	for (size_t k = 0; k < nkeys; k++) {
		values[k] = malloc(words * 8);
		if (!values[k]) {
			perror("malloc");
			exit(2);
		}
		memset(values[k], 0, words * 8); /* first touch */
		uintptr_t a = (uintptr_t)values[k];
		all[2 * k] = (void *)(a & ~(uintptr_t)(PAGE - 1));
		all[2 * k + 1] = (void *)((a + words * 8 - 1) & ~(uintptr_t)(PAGE - 1));
	}
	if (opt.interleave_slow >= 0)
		interleave_values(0);
	qsort(all, nkeys * 2, sizeof(*all), addr_cmp);
	size_t n = 0;
	for (size_t i = 0; i < nkeys * 2; i++)
		if (!n || all[i] != all[n - 1])
			all[n++] = all[i];
	/* Values never span more than two pages unless larger than a page. */
	for (size_t i = 0, m = n; i < m; i++)
		for (uintptr_t a = (uintptr_t)all[i] + PAGE;
		     i + 1 < m && a < (uintptr_t)all[i + 1] && opt.value_b > PAGE; a += PAGE)
			all[n++] = (void *)a;
	qsort(all, n, sizeof(*all), addr_cmp);
	pages = n;
	tables();
	memcpy(paddr, all, n * sizeof(*all));
	free(all);
	zipf_cdf(zcdf, nkeys, opt.zipf);
}

/* --zipf, phase k: a new popularity order; page weights follow. */
static void place_keys(void)
{
	size_t bytes = opt.value_b / 8 * 8;
	shuffle_ranks(rank_key, nkeys, &rng);
	memset(pw, 0, pages * sizeof(*pw));
	for (size_t r = 0; r < nkeys; r++) {
		double pr = zcdf[r] - (r ? zcdf[r - 1] : 0);
		uintptr_t a = (uintptr_t)values[rank_key[r]], end = a + bytes;
		while (a < end) {
			uintptr_t pe = (a & ~(uintptr_t)(PAGE - 1)) + PAGE;
			uintptr_t e = pe < end ? pe : end;
			pw[page_index(a & ~(uintptr_t)(PAGE - 1))] += pr * (double)(e - a) / (double)bytes;
			a = e;
		}
	}
}

/* The first page of phase k's hot set, as a fraction of the places it can
 * be: first near the end (the part dram-first puts last), then elsewhere. */
static size_t hot_start(int phase)
{
	static const double where[] = {0.8, 0.3, 0.55, 0.05};
	return (size_t)(where[phase % 4] * (double)(pages - hot_pages));
}

/* --oracle: chunk c's node. The hot chunks take their share of the quota
 * first (all of it if they need it); cold ones fill the rest, in allocation
 * order. */
static int oracle_node(size_t c, size_t per_chunk)
{
	static size_t hot_fast, cold_fast;
	size_t first = hot_start(0) / per_chunk;
	size_t hot_chunks = (hot_start(0) + hot_pages - 1) / per_chunk - first + 1;
	size_t q = (opt.quota_mib << 20) / PAGE / per_chunk;
	size_t hot_q = hot_chunks < q ? hot_chunks : q;
	int is_hot = c - first < hot_chunks;
	size_t *fast = is_hot ? &hot_fast : &cold_fast;
	if (*fast >= (is_hot ? hot_q : q - hot_q))
		return opt.oracle_slow;
	++*fast;
	return opt.fast_node;
}

static void allocate(void)
{
	if (opt.zipf > 0) {
		allocate_kv();
		return;
	}
	words_per_chunk = (opt.chunk_kib << 10) / 8;
	nchunks = (opt.mib << 20) / (opt.chunk_kib << 10);
	pages = nchunks * (words_per_chunk / WORDS_PER_PAGE);
	hot_pages = (opt.hot_mib << 20) / PAGE;
	size_t per_chunk = words_per_chunk / WORDS_PER_PAGE;
	chunks = calloc(nchunks, sizeof(*chunks));
	tables();
	for (size_t c = 0; c < nchunks; c++) {
		chunks[c] = malloc(opt.chunk_kib << 10);
		if (!chunks[c]) {
			perror("malloc");
			exit(2);
		}
		if (opt.oracle_slow >= 0)
			bind_to(chunks[c], opt.chunk_kib << 10, oracle_node(c, per_chunk));
		if (opt.interleave_slow >= 0)
			bind_policy(chunks[c], opt.chunk_kib << 10, MPOL_WEIGHTED_INTERLEAVE,
				    interleave_mask());
		memset(chunks[c], 0, opt.chunk_kib << 10); /* first touch */
	}
	for (size_t p = 0; p < pages; p++)
		paddr[p] = chunks[p / per_chunk] + (p % per_chunk) * WORDS_PER_PAGE;
}

/* Phase k's hot set and the page weights. */
static void place_hot(int phase)
{
	hot_first = hot_start(phase);
	for (size_t p = 0; p < pages; p++) {
		hot[p] = p - hot_first < hot_pages;
		pw[p] = hot[p] ? opt.hot_frac / (double)hot_pages
			       : (1 - opt.hot_frac) / (double)(pages - hot_pages);
	}
}

/* Reads are summed into a global, so the compiler keeps them. */
static volatile uint64_t read_sum;

static uint64_t update_kv_for(double seconds)
{
	size_t words = opt.value_b / 8;
	uint64_t n = 0, sum = 0, writes = (uint64_t)(opt.write_share * 65536);
	for (double until = now_s() + seconds; now_s() < until;)
		for (int i = 0; i < 4096; i++, n++) {
			uint64_t r = next();
			size_t rank = zipf_rank(zcdf, nkeys, (double)(r >> 11) * 0x1p-53);
			uint64_t *w = &values[rank_key[rank]][(r >> 3) % words];
			/* Its own number: r's bits chose the key and the word. */
			if (writes == 65536 || (next() & 0xffff) < writes)
				*w ^= r;
			else
				sum += *w;
		}
	read_sum += sum;
	return n;
}

static uint64_t update_for(double seconds)
{
	if (opt.zipf > 0)
		return update_kv_for(seconds);
	size_t hot_words = hot_pages * WORDS_PER_PAGE;
	size_t cold_words = pages * WORDS_PER_PAGE - hot_words;
	size_t first = hot_first * WORDS_PER_PAGE;
	uint64_t threshold = (uint64_t)(opt.hot_frac * 65536), n = 0;
	for (double until = now_s() + seconds; now_s() < until;)
		for (int i = 0; i < 4096; i++, n++) {
			uint64_t r = next(), w;
			if ((r & 0xffff) < threshold)
				w = first + (r >> 16) % hot_words;
			else {
				w = (r >> 16) % cold_words;
				w += w >= first ? hot_words : 0;
			}
			chunks[w / words_per_chunk][w % words_per_chunk] ^= r;
		}
	return n;
}

static int run_phase(int phase)
{
	double orc;
	if (opt.zipf > 0) {
		place_keys();
		orc = oracle(1);
		if (phase == 0 && opt.oracle_slow >= 0)
			place_oracle_kv();
	} else {
		place_hot(phase);
		orc = oracle(0);
	}
	int reached = -1;
	double ratio = 0;
	for (int k = 1; k <= opt.intervals; k++) {
		double t0 = now_s();
		uint64_t n = update_for(opt.interval_ms / 1000.0);
		double mups = (double)n / (now_s() - t0) / 1e6;
		locate(node);
		size_t fast;
		double s = share(&fast), hot_heat, cold_heat, index_fast, index_all;
		locate(node_again);
		index_on_fast(&index_fast, &index_all);
		heats(&hot_heat, &cold_heat);
		ratio = s / orc;
		if (reached < 0 && ratio >= (opt.expect ? opt.expect : 0.9))
			reached = k;
		printf("gups: %s interval %d phase %d share %.3f oracle %.3f ratio %.3f "
		       "fast_mib %.1f mups %.2f heat_hot %.0f heat_cold %.0f oracle_held %.3f "
		       "proc_mib %.1f fast_steady_mib %.1f index_fast_kib %.0f index_kib %.0f\n",
		       opt.label, k, phase, s, orc, ratio, (double)fast * PAGE / (1 << 20), mups,
		       hot_heat, cold_heat, oracle_at(fast), anon_mib_on("self", opt.fast_node),
		       (double)steady_fast() * PAGE / (1 << 20), index_fast, index_all);
		fflush(stdout);
	}
	printf("gups: %s phase %d: %.2f of the oracle at the end; %s %d intervals\n",
	       opt.label, phase, ratio, reached > 0 ? "reached 0.9 after" : "0.9 not reached in",
	       reached > 0 ? reached : opt.intervals);
	return reached;
}

static int benchmark(void)
{
	if (!opt.quota_mib)
		opt.quota_mib = opt.mib / 4;
	heat_of = (int (*)(const void *))dlsym(RTLD_DEFAULT, "tm_heat_of");
	tlb_turnover_start(opt.tlb_flush_ms);
	allocate();
	printf("gups: %s arrays read first at %p %p %p %p\n", opt.label, (void *)chunks,
	       (void *)values, (void *)rank_key, (void *)zcdf);
	double cpu0 = migrator_cpu_s(), t0 = now_s();
	int failed = 0;
	for (int ph = 0; ph < opt.phases; ph++)
		failed |= run_phase(ph) < 0 && opt.expect > 0;
	double cold = cold_on_slow();
	double cpu = (migrator_cpu_s() - cpu0) / (now_s() - t0);
	if (opt.zipf > 0)
		printf("gups: %s summary: kv %zu MiB, %zu keys of %zu B, zipf %.2f, writes %.2f, quota %zu MiB, "
		       "cold pages on slow nodes %.2f of those that must be, migrator CPU "
		       "%.2f%%\n", opt.label, opt.mib, nkeys, opt.value_b, opt.zipf, opt.write_share,
		       opt.quota_mib, cold, cpu * 100);
	else
		printf("gups: %s summary: table %zu MiB, hot %zu MiB at %.0f%%, quota %zu MiB, "
		       "cold pages on slow nodes %.2f of those that must be, migrator CPU "
		       "%.2f%%\n", opt.label, opt.mib, opt.hot_mib, opt.hot_frac * 100,
		       opt.quota_mib, cold, cpu * 100);
	if (opt.cold_slow > 0 && cold < opt.cold_slow) {
		printf("gups: %s: cold memory is not on the slow tier\n", opt.label);
		failed = 1;
	}
	return failed;
}

/* ---- helpers: the balloon, the allocation loop ----------------------------- */

/* The balloon: mlocked 256 KiB pieces bound to the fast node. */
#define PIECE (256 << 10)
#define PIECES_MAX 65536
static void *pieces[PIECES_MAX];
static size_t npieces;

static int inflate(size_t n)
{
	unsigned long mask = 1UL << opt.fast_node;
	for (; n > 0 && npieces < PIECES_MAX; n--) {
		char *p = mmap(NULL, PIECE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED ||
		    syscall(SYS_mbind, p, PIECE, MPOL_BIND, &mask, 65UL, 0U) != 0 ||
		    mlock(p, PIECE) != 0) {
			perror("balloon");
			return -1;
		}
		memset(p, 1, PIECE);
		pieces[npieces++] = p;
	}
	return 0;
}

static void deflate(size_t n)
{
	for (; n > 0 && npieces > 0; n--)
		munmap(pieces[--npieces], PIECE);
}

/* Wait for the tracked process's id in the file; NULL when none came. */
static const char *tracked_pid(const char *file, char *pid, size_t len)
{
	for (int tries = 0; tries < 600; tries++, usleep(100000)) {
		FILE *f = fopen(file, "r");
		int ok = f && fgets(pid, (int)len, f) && atoi(pid) > 0;
		if (f)
			fclose(f);
		if (ok) {
			pid[strcspn(pid, "\n")] = '\0';
			return pid;
		}
	}
	return NULL;
}

/* Free memory of node n in MiB, from its meminfo; -1 if unreadable. */
static double node_free_mib(int n)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/meminfo", n);
	FILE *f = fopen(path, "r");
	double kib = -1;
	while (f && fgets(line, sizeof(line), f)) {
		const char *at = strstr(line, "MemFree:");
		if (at)
			kib = strtod(at + 8, NULL);
	}
	if (f)
		fclose(f);
	return kib < 0 ? -1 : kib / 1024;
}

/* Every 100 ms: over the quota, the balloon grows by the excess (the kernel
 * demotes to make room); under it, the balloon leaves free just the room
 * to reach the quota plus the reserve, so that the kernel may promote that
 * much and no more. Both measured afresh each time: no error accumulates. */
static int track(const char *file, size_t reserve_mib)
{
	char pid[32];
	if (!tracked_pid(file, pid, sizeof(pid)))
		return 2;
	const double slack = (double)PIECE / (1 << 20);
	double held, most = 0;
	unsigned grew = 0, shrank = 0;
	while ((held = anon_mib_on(pid, opt.fast_node)) >= 0) {
		double over = held - (double)opt.quota_mib;
		if (over <= 0) /* too much free memory is "over" too */
			over = node_free_mib(opt.fast_node) - (double)reserve_mib + over;
		size_t n = (size_t)(fabs(over) / slack);
		if (over > slack && inflate(n) == 0) {
			grew++;
		} else if (over < -slack && npieces > 0) {
			deflate(n);
			shrank++;
		}
		most = held > most ? held : most;
		usleep(100000);
	}
	printf("gups: balloon tracked %s at %zu MiB: grew %u times, shrank %u, "
	       "%zu MiB at the end; the process held at most %.1f MiB\n", pid,
	       opt.quota_mib, grew, shrank, npieces * PIECE >> 20, most);
	return 0;
}

static int balloon(size_t mib, const char *track_file, size_t reserve_mib)
{
	if (inflate((mib << 20) / PIECE) < 0)
		return 2;
	printf("gups: balloon of %zu MiB on node %d\n", mib, opt.fast_node);
	fflush(stdout);
	if (!track_file) {
		pause();
		return 0;
	}
	return track(track_file, reserve_mib);
}

/* Random sizes, mostly small, a pool of live blocks freed at random. */
static int alloc_loop(void)
{
	enum { POOL = 8192, OPS = 2000000 };
	static void *pool[POOL];
	double cpu0 = migrator_cpu_s(), t0 = now_s();
	for (int i = 0; i < OPS; i++) {
		uint64_t r = next();
		size_t slot = r % POOL;
		size_t size = (r >> 20) % 16 ? 16 + (r >> 32) % 512 : 4096 + (r >> 32) % 65536;
		free(pool[slot]);
		pool[slot] = malloc(size);
		*(volatile char *)pool[slot] = 1;
	}
	double t = now_s() - t0, cpu = migrator_cpu_s() - cpu0;
	printf("gups: %s alloc: %d malloc/free pairs in %.3f s (%.2f M/s), migrator "
	       "CPU %.2f%%\n", opt.label, OPS, t, OPS / t / 1e6, cpu / t * 100);
	return 0;
}

int main(int argc, char **argv)
{
	int mode = 0;
	size_t balloon_mib = 0;
	const char *track_file = NULL;
	size_t reserve_mib = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "0";
		int takes = 1;
		if (!strcmp(a, "--mib")) opt.mib = strtoul(v, NULL, 10);
		else if (!strcmp(a, "--hot-mib")) opt.hot_mib = strtoul(v, NULL, 10);
		else if (!strcmp(a, "--hot-frac")) opt.hot_frac = atof(v);
		else if (!strcmp(a, "--quota-mib")) opt.quota_mib = strtoul(v, NULL, 10);
		else if (!strcmp(a, "--chunk-kib")) opt.chunk_kib = strtoul(v, NULL, 10);
		else if (!strcmp(a, "--interval-ms")) opt.interval_ms = atoi(v);
		else if (!strcmp(a, "--intervals")) opt.intervals = atoi(v);
		else if (!strcmp(a, "--phases")) opt.phases = atoi(v);
		else if (!strcmp(a, "--fast-node")) opt.fast_node = atoi(v);
		else if (!strcmp(a, "--label")) opt.label = v;
		else if (!strcmp(a, "--expect")) opt.expect = atof(v);
		else if (!strcmp(a, "--cold-slow")) opt.cold_slow = atof(v);
		else if (!strcmp(a, "--tlb-flush-ms")) opt.tlb_flush_ms = atoi(v);
		else if (!strcmp(a, "--zipf")) opt.zipf = atof(v);
		else if (!strcmp(a, "--write-share")) opt.write_share = atof(v);
		else if (!strcmp(a, "--value-b")) opt.value_b = strtoul(v, NULL, 10);
		else if (!strcmp(a, "--oracle")) opt.oracle_slow = atoi(v);
		else if (!strcmp(a, "--interleave")) opt.interleave_slow = atoi(v);
		else if (!strcmp(a, "--balloon")) mode = 'b', balloon_mib = strtoul(v, NULL, 10);
		else if (!strcmp(a, "--track-file")) track_file = v;
		else if (!strcmp(a, "--reserve-mib")) reserve_mib = strtoul(v, NULL, 10);
		else if (!strcmp(a, "--alloc")) mode = 'a', takes = 0;
		else {
			fprintf(stderr, "gups: unknown option %s (see the source's head)\n", a);
			return 2;
		}
		i += takes;
	}
	if (!(opt.write_share >= 0 && opt.write_share <= 1)) {
		fprintf(stderr, "gups: need 0 <= --write-share <= 1\n");
		return 2;
	}
	if (opt.zipf > 0 && (opt.value_b < 8 || opt.value_b > (opt.mib << 20))) {
		fprintf(stderr, "gups: need 8 <= --value-b <= the table\n");
		return 2;
	}
	if (opt.hot_mib == 0 || opt.hot_mib >= opt.mib || opt.chunk_kib % 4) {
		fprintf(stderr, "gups: need 0 < --hot-mib < --mib, chunks of whole pages\n");
		return 2;
	}
	if (mode == 'b')
		return balloon(balloon_mib, track_file, reserve_mib);
	if (mode == 'a')
		return alloc_loop();
	return benchmark();
}
