#include "policy/heat_perf.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "allocator/prim/file.h"
#include "allocator/prim/os.h"

#define PMU_DIR "bus/event_source/devices"
#define SAMPLE_FREQ 4000         /* per event and CPU */
#define SAMPLE_CREDIT (TM_HEAT_FULL / 4)

static tm_perf_src *self(tm_heat_src *s)
{
	return (tm_perf_src *)s;
}

/* ---- events from sysfs aliases ----------------------------------------- */

/* Put v into the bits a format names, e.g. "config:0-7" or
 * "config1:0-15,32-35" (ranges filled from the low bits of v). */
static int deposit(tm_perf_event *ev, const char *format, uint64_t v)
{
	uint64_t *word = strncmp(format, "config:", 7) == 0    ? &ev->config
			 : strncmp(format, "config1:", 8) == 0 ? &ev->config1
							       : NULL;
	if (!word)
		return -1;
	for (const char *p = strchr(format, ':') + 1;;) {
		char *end;
		unsigned long lo = strtoul(p, &end, 10), hi = lo;
		if (end == p)
			return -1;
		if (*end == '-')
			hi = strtoul(end + 1, &end, 10);
		if (hi < lo || hi > 63)
			return -1;
		unsigned width = (unsigned)(hi - lo + 1);
		uint64_t mask = width == 64 ? ~0ULL : (1ULL << width) - 1;
		*word |= (v & mask) << lo;
		v = width == 64 ? 0 : v >> width;
		if (*end == '\0')
			return 0;
		if (*end != ',')
			return -1;
		p = end + 1;
	}
}

/* An alias such as "event=0xcd,umask=0x1,ldlat=3"; a term without a value
 * means 1. Each term's bits come from PMU/format/TERM. */
static int parse_alias(const char *root, const char *pmu, char *alias,
		       tm_perf_event *ev)
{
	char *save;
	for (char *term = strtok_r(alias, ",", &save); term;
	     term = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(term, '=');
		uint64_t v = eq ? strtoull(eq + 1, NULL, 0) : 1;
		if (eq)
			*eq = '\0';
		char format[64];
		if (tm_read_textf(format, sizeof(format), root, PMU_DIR "/%s/format/%s",
				  pmu, term) < 0 || deposit(ev, format, v) < 0)
			return -1;
	}
	return 0;
}

static int pmu_type(const char *root, const char *pmu, uint32_t *type)
{
	char buf[16];
	if (tm_read_textf(buf, sizeof(buf), root, PMU_DIR "/%s/type", pmu) <= 0)
		return -1;
	*type = (uint32_t)strtoul(buf, NULL, 10);
	return 0;
}

int tm_perf_find_events(const char *root, tm_perf_event *ev, int max)
{
	static const char *const pmus[] = {"cpu", "cpu_core"};
	static const char *const aliases[] = {"mem-loads", "mem-stores"};
	int n = 0;
	for (size_t p = 0; p < 2 && n == 0; p++) {
		uint32_t type;
		if (pmu_type(root, pmus[p], &type) < 0)
			continue;
		for (size_t a = 0; a < 2 && n < max; a++) {
			char alias[128];
			tm_perf_event *e = &ev[n];
			memset(e, 0, sizeof(*e));
			if (tm_read_textf(alias, sizeof(alias), root, PMU_DIR "/%s/events/%s",
					  pmus[p], aliases[a]) <= 0 ||
			    parse_alias(root, pmus[p], alias, e) < 0)
				continue;
			snprintf(e->name, sizeof(e->name), "%s/%s", pmus[p], aliases[a]);
			e->type = type;
			e->precise = 2;
			n++;
		}
	}
	tm_perf_event ibs = {.name = "ibs_op"};
	if (n == 0 && max > 0 && pmu_type(root, "ibs_op", &ibs.type) == 0)
		ev[n++] = ibs;
	return n;
}

/* ---- ring buffer -------------------------------------------------------- */

/* Copy len bytes at position pos of the circular data area. */
static void ring_copy(const unsigned char *data, uint64_t size, uint64_t pos,
		      void *out, size_t len)
{
	size_t off = (size_t)(pos & (size - 1));
	size_t first = len < size - off ? len : (size_t)(size - off);
	memcpy(out, data + off, first);
	memcpy((char *)out + first, data, len - first);
}

static void take_sample(const unsigned char *data, uint64_t size, uint64_t pos,
			pid_t pid, tm_heatmap *hm, tm_perf_counts *c)
{
	struct {
		uint32_t pid, tid;
		uint64_t addr;
	} s;
	ring_copy(data, size, pos, &s, sizeof(s));
	if ((pid_t)s.pid != pid)
		c->foreign++;
	else if (s.addr && tm_heatmap_credit(hm, s.addr, s.addr + 1, SAMPLE_CREDIT))
		c->samples++;
	else
		c->outside++;
}

void tm_perf_drain(void *base, pid_t pid, tm_heatmap *hm, tm_perf_counts *c)
{
	struct perf_event_mmap_page *meta = base;
	const unsigned char *data = (const unsigned char *)base + meta->data_offset;
	uint64_t size = meta->data_size;
	uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = meta->data_tail;
	while (tail < head) {
		struct perf_event_header h;
		ring_copy(data, size, tail, &h, sizeof(h));
		if (h.size < sizeof(h) || h.size > head - tail) {
			c->bad++;
			tail = head;
			break;
		}
		if (h.type == PERF_RECORD_SAMPLE && h.size >= sizeof(h) + 16)
			take_sample(data, size, tail + sizeof(h), pid, hm, c);
		else if (h.type == PERF_RECORD_LOST && h.size >= sizeof(h) + 16) {
			uint64_t lost[2]; /* id, count */
			ring_copy(data, size, tail + sizeof(h), lost, sizeof(lost));
			c->lost += lost[1];
		}
		tail += h.size;
	}
	__atomic_store_n(&meta->data_tail, tail, __ATOMIC_RELEASE);
}

/* ---- the source --------------------------------------------------------- */

static void init_attr(struct perf_event_attr *a, const tm_perf_event *ev)
{
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	a->type = ev->type;
	a->config = ev->config;
	a->config1 = ev->config1;
	a->precise_ip = (unsigned)ev->precise;
	a->sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_ADDR;
	a->freq = 1;
	a->sample_freq = SAMPLE_FREQ;
	a->disabled = 1;
	a->exclude_kernel = 1;
	a->exclude_hv = 1;
	a->inherit = 1;          /* threads created later report too... */
	a->inherit_thread = 1;   /* ...but not forked processes */
}

static const char *open_reason(int err)
{
	switch (-err) {
	case ENOENT:
	case ENODEV:
	case EOPNOTSUPP:
	case EINVAL:
		return "the PMU refused the event";
	case EACCES:
	case EPERM:
		return "not permitted (kernel.perf_event_paranoid)";
	default:
		return strerror(-err);
	}
}

static void perf_close(tm_heat_src *s)
{
	tm_perf_src *p = self(s);
	for (int i = 0; i < p->nrings; i++)
		p->os->unmap(p->rings[i], p->ring_len);
	for (int i = 0; i < p->nfds; i++)
		p->os->close(p->fds[i]);
	p->nrings = p->nfds = 0;
}

/* One event of thread tid on cpu, kept high; the CPU's first owns its
 * ring, the others write into it. */
static int open_one(tm_perf_src *p, struct perf_event_attr *attr, pid_t tid,
		    int cpu, int budget)
{
	int fd = p->os->event_open(attr, tid, cpu);
	if (fd >= 0)
		fd = p->os->keep(fd, budget);
	if (fd < 0)
		return fd;
	p->fds[p->nfds++] = fd;
	if (p->ring_fd[cpu] >= 0)
		return p->os->set_output(fd, p->ring_fd[cpu]) < 0 ? -EINVAL : 0;
	if (!(p->rings[p->nrings] = p->os->map(fd, p->ring_len)))
		return -ENOMEM;
	p->nrings++;
	p->ring_fd[cpu] = fd;
	return 0;
}

/* A thread's events on every CPU, while the budget lasts. */
static int open_thread(tm_perf_src *p, struct perf_event_attr *attr, int nev,
		       pid_t tid, int cpus, int budget)
{
	for (int cpu = 0; cpu < cpus; cpu++)
		for (int e = 0; e < nev && p->nfds < budget; e++) {
			int rc = open_one(p, &attr[e], tid, cpu, budget);
			if (rc == -ESRCH)
				return 0; /* the thread exited meanwhile */
			if (rc < 0)
				return rc;
		}
	return 0;
}

/* How many of the want descriptors the threads and CPUs ask for to open;
 * why says so when fewer. */
static int fd_budget(tm_perf_src *p, int want, char *why, size_t len)
{
	int room = p->os->fd_room();
	if (room < 0) {
		snprintf(why, len, "free descriptors unknown (/proc/self/fd unreadable)");
		return 0;
	}
	int budget = want < TM_PERF_MAX_FDS ? want : TM_PERF_MAX_FDS;
	if (room / TM_PERF_ROOM_SHARE < budget)
		budget = room / TM_PERF_ROOM_SHARE;
	if (budget < want)
		snprintf(why, len, "%d of %d events opened: at most %d, and 1/%d of "
			 "the %d free descriptors", budget, want, TM_PERF_MAX_FDS,
			 TM_PERF_ROOM_SHARE, room);
	return budget;
}

static int perf_open(tm_heat_src *s, const tm_heatmap *hm, unsigned period_ms,
		     char *why, size_t len)
{
	tm_perf_src *p = self(s);
	tm_perf_event ev[TM_PERF_EVENTS];
	int nev = tm_perf_find_events(p->root, ev, TM_PERF_EVENTS);
	if (nev == 0) {
		snprintf(why, len, "no precise memory-sampling PMU (PEBS mem-loads, "
			 "IBS op) under %s/" PMU_DIR, p->root);
		return -1;
	}
	struct perf_event_attr attr[TM_PERF_EVENTS];
	for (int e = 0; e < nev; e++)
		init_attr(&attr[e], &ev[e]);
	pid_t tids[TM_PERF_THREADS];
	int ntids = p->os->threads(tids, TM_PERF_THREADS);
	int cpus = p->os->cpus();
	if (cpus > TM_PERF_CPUS)
		cpus = TM_PERF_CPUS;
	for (int cpu = 0; cpu < cpus; cpu++)
		p->ring_fd[cpu] = -1;
	p->pid = getpid();
	p->ring_len = (size_t)(TM_PERF_RING_PAGES + 1) * tm_os_page_size();
	int rc = ntids > 0 ? 0 : -ESRCH;
	int budget = rc == 0 ? fd_budget(p, nev * cpus * ntids, why, len) : 0;
	if (rc == 0 && budget == 0)
		return -1;
	for (int t = 0; rc == 0 && t < ntids && p->nfds < budget; t++)
		rc = open_thread(p, attr, nev, tids[t], cpus, budget);
	for (int i = 0; rc == 0 && i < p->nfds; i++)
		rc = p->os->enable(p->fds[i]);
	if (rc < 0) {
		snprintf(why, len, "perf_event_open %s: %s", ev[0].name, open_reason(rc));
		perf_close(s);
		return -1;
	}
	return 0;
}

static void perf_collect(tm_heat_src *s, tm_heatmap *hm, unsigned period_ms)
{
	tm_perf_src *p = self(s);
	for (int i = 0; i < p->nrings; i++)
		tm_perf_drain(p->rings[i], p->pid, hm, &p->counts);
	s->observed = p->counts.samples;
}

void tm_perf_src_init(tm_perf_src *s, const tm_perf_os *os,
		      const char *sysfs_root)
{
	memset(s, 0, sizeof(*s));
	s->base = (tm_heat_src){
		.name = "perf",
		.page_exact = true,
		.open = perf_open,
		.collect = perf_collect,
		.close = perf_close,
		.forget = perf_close,
	};
	s->os = os;
	s->root = sysfs_root;
}
