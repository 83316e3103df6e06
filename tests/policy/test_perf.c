/* The perf source without a PMU: events from fake sysfs aliases, the ring
 * buffer parsed from synthetic PERF_RECORD_SAMPLE records (wrap-around,
 * lost and foreign records, garbage), the fallbacks when there is no
 * event or perf_event_open fails, and its descriptors: bounded in number
 * and kept out of the program's way. */
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <unistd.h>

#include "allocator/prim/fd.h"
#include "policy/heat_perf.h"
#include "tests/check.h"
#include "tests/policy/fixture.h"

#define PMUS "bus/event_source/devices"

static void intel_tree(const char *root)
{
	fx_put(root, PMUS "/cpu/type", "4\n");
	fx_put(root, PMUS "/cpu/events/mem-loads", "event=0xcd,umask=0x1,ldlat=3\n");
	fx_put(root, PMUS "/cpu/events/mem-stores", "event=0xd0,umask=0x82\n");
	fx_put(root, PMUS "/cpu/format/event", "config:0-7\n");
	fx_put(root, PMUS "/cpu/format/umask", "config:8-15\n");
	fx_put(root, PMUS "/cpu/format/ldlat", "config1:0-15\n");
}

static void test_find_events(void)
{
	char buf[64];
	const char *root = fx_tree(buf, sizeof(buf));
	tm_perf_event ev[TM_PERF_EVENTS];
	CHECK_EQ(tm_perf_find_events(root, ev, TM_PERF_EVENTS), 0, "empty tree");

	fx_put(root, PMUS "/ibs_op/type", "11\n");
	CHECK_EQ(tm_perf_find_events(root, ev, TM_PERF_EVENTS), 1, "AMD IBS");
	CHECK(ev[0].type == 11 && ev[0].config == 0 && !strcmp(ev[0].name, "ibs_op"),
	      "ibs_op event");

	intel_tree(root);
	CHECK_EQ(tm_perf_find_events(root, ev, TM_PERF_EVENTS), 2, "Intel: both");
	CHECK_EQ(ev[0].type, 4, "type");
	CHECK_EQ(ev[0].config, 0x1cd, "mem-loads config");
	CHECK_EQ(ev[0].config1, 3, "ldlat in config1");
	CHECK_EQ(ev[0].precise, 2, "precise (PEBS)");
	CHECK_EQ(ev[1].config, 0x82d0, "mem-stores config");
	CHECK(!strcmp(ev[1].name, "cpu/mem-stores"), "name");

	fx_put(root, PMUS "/cpu/format/ldlat", "config3:0-15\n");
	CHECK_EQ(tm_perf_find_events(root, ev, TM_PERF_EVENTS), 1,
		 "an alias with a term we cannot place is skipped");
	fx_put(root, PMUS "/cpu/format/umask", "config:8-11,20-23\n");
	fx_put(root, PMUS "/cpu/events/mem-stores", "event=0xd0,umask=0xa5\n");
	tm_perf_find_events(root, ev, TM_PERF_EVENTS);
	CHECK_EQ(ev[0].config, 0xa005d0, "split bit ranges");
	fx_tree_remove(root);
}

/* ---- a synthetic ring buffer --------------------------------------------- */

#define DATA 4096
static union {
	struct perf_event_mmap_page meta;
	unsigned char bytes[4096 + DATA];
} ring;
static uint64_t head;

static void put(const void *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		ring.bytes[4096 + ((head + i) & (DATA - 1))] = ((const unsigned char *)p)[i];
	head += len;
}

static void sample(uint32_t pid, uint64_t addr)
{
	struct perf_event_header h = {PERF_RECORD_SAMPLE, 0, 24};
	uint32_t ids[2] = {pid, pid};
	put(&h, sizeof(h));
	put(ids, sizeof(ids));
	put(&addr, sizeof(addr));
}

static void record(uint32_t type, uint64_t a, uint64_t b)
{
	struct perf_event_header h = {type, 0, 24};
	put(&h, sizeof(h));
	put(&a, sizeof(a));
	put(&b, sizeof(b));
}

static void publish(void)
{
	__atomic_store_n(&ring.meta.data_head, head, __ATOMIC_RELEASE);
}

static void test_ring(void)
{
	tm_heatmap hm;
	tm_perf_counts c = {0};
	pid_t me = getpid();
	fx_map(&hm, 2, (size_t[]){64, 64});
	ring.meta.data_offset = 4096;
	ring.meta.data_size = DATA;
	/* Start near the end, so that records wrap around. */
	head = DATA - 30;
	ring.meta.data_tail = head;
	sample((uint32_t)me, fx_addr(0, 3) + 8);    /* wraps mid-record */
	sample((uint32_t)me, fx_addr(1, 7));
	sample((uint32_t)me + 1, fx_addr(0, 3));    /* another process */
	sample((uint32_t)me, 0x1000);               /* outside the heap */
	sample((uint32_t)me, 0);                    /* no address */
	record(PERF_RECORD_LOST, 1, 5);
	record(PERF_RECORD_MMAP, 0, 0);             /* not ours: skipped */
	sample((uint32_t)me, fx_addr(0, 3));
	publish();
	tm_perf_drain(&ring, me, &hm, &c);
	CHECK_EQ(c.samples, 3, "three samples credited");
	CHECK_EQ(c.foreign, 1, "one from another process");
	CHECK_EQ(c.outside, 2, "two outside the heap");
	CHECK_EQ(c.lost, 5, "lost records counted");
	CHECK_EQ(c.bad, 0, "nothing malformed");
	CHECK_EQ(atomic_load(&fx_cell(0, 3)->heat), 2 * (TM_HEAT_FULL / 4),
		 "page credited per sample");
	CHECK_EQ(atomic_load(&fx_cell(1, 7)->heat), TM_HEAT_FULL / 4, "other tier");
	CHECK_EQ(ring.meta.data_tail, head, "space released");

	tm_perf_drain(&ring, me, &hm, &c);
	CHECK_EQ(c.samples, 3, "nothing new, nothing read");

	struct perf_event_header bad = {PERF_RECORD_SAMPLE, 0, 4};
	put(&bad, sizeof(bad));
	sample((uint32_t)me, fx_addr(0, 1));
	publish();
	tm_perf_drain(&ring, me, &hm, &c);
	CHECK_EQ(c.bad, 1, "a record shorter than its header");
	CHECK_EQ(ring.meta.data_tail, head, "the rest skipped, space released");
	CHECK_EQ(atomic_load(&fx_cell(0, 1)->heat), 0, "nothing read after garbage");
}

/* ---- fallbacks ------------------------------------------------------------- */

static int open_error;
static int opened;
static int ncpus = 2, nthreads = 1, room = 1000;
static int kept_n;             /* the n the last tm_fd_keep got */
static pid_t opened_for[1024]; /* the thread of each open, in order */
#define KEPT 5000              /* the fake moves descriptors up by this */
static int fake_open(struct perf_event_attr *a, pid_t pid, int cpu)
{
	if (open_error)
		return open_error;
	CHECK(a->sample_type == (PERF_SAMPLE_TID | PERF_SAMPLE_ADDR), "sample layout");
	CHECK(a->inherit && a->inherit_thread && a->exclude_kernel, "attributes");
	CHECK(opened < 1024, "fewer than 1024 open at once");
	opened_for[opened] = pid;
	return 100 + opened++;
}
static void *fake_map(int fd, size_t len)
{
	CHECK(fd >= KEPT, "the ring's descriptor kept high");
	return &ring;
}
static void fake_unmap(void *p, size_t len) {}
static int fake_output(int fd, int to)
{
	CHECK(fd >= KEPT && to >= KEPT, "kept descriptors share the ring");
	return 0;
}
static int fake_enable(int fd) { return 0; }
static void fake_close(int fd)
{
	CHECK(fd >= KEPT, "the kept descriptor closed");
	opened--;
}
static int fake_cpus(void) { return ncpus; }
static int fake_threads(pid_t *t, int max)
{
	for (int i = 0; i < nthreads && i < max; i++)
		t[i] = getpid() + i;
	return nthreads < max ? nthreads : max;
}
static int fake_room(void) { return room; }
static int fake_keep(int fd, int n)
{
	kept_n = n;
	return fd + KEPT;
}

static const tm_perf_os fake_os = {
	fake_open, fake_map, fake_unmap, fake_output, fake_enable, fake_close,
	fake_cpus, fake_threads, fake_room, fake_keep,
};

static void test_open(void)
{
	char buf[64], why[120];
	const char *root = fx_tree(buf, sizeof(buf));
	tm_heatmap hm;
	tm_perf_src p;
	fx_map(&hm, 1, (size_t[]){64});
	tm_perf_src_init(&p, &fake_os, root);
	CHECK_EQ(p.base.open(&p.base, &hm, 100, why, sizeof(why)), -1, "no PMU");
	CHECK(strstr(why, "no precise memory-sampling PMU") != NULL, "why: %s", why);

	intel_tree(root);
	open_error = -ENOENT;
	CHECK_EQ(p.base.open(&p.base, &hm, 100, why, sizeof(why)), -1, "ENOENT");
	CHECK(strstr(why, "refused") != NULL, "why: %s", why);
	open_error = -EACCES;
	CHECK_EQ(p.base.open(&p.base, &hm, 100, why, sizeof(why)), -1, "EACCES");
	CHECK(strstr(why, "paranoid") != NULL, "why: %s", why);
	CHECK_EQ(opened, 0, "nothing left open");

	open_error = 0;
	why[0] = '\0';
	CHECK_EQ(p.base.open(&p.base, &hm, 100, why, sizeof(why)), 0, "opens");
	CHECK_EQ(p.nfds, 2 * 2, "2 events x 2 CPUs x 1 thread");
	CHECK_EQ(p.nrings, 2, "one ring per CPU");
	CHECK(p.fds[0] >= KEPT && kept_n == 4, "each kept, told how many: %d", kept_n);
	CHECK(why[0] == '\0', "all opened, no note: %s", why);
	p.base.close(&p.base);
	CHECK_EQ(opened, 0, "closed");
	fx_tree_remove(root);
}

/* 32 CPUs and 16 threads ask for 1,024 events, the usual soft limit: a
 * fixed cap holds, the main thread's events come first, and the free room
 * bounds them too. */
static void test_bounded(void)
{
	char buf[64], why[120];
	const char *root = fx_tree(buf, sizeof(buf));
	tm_heatmap hm;
	tm_perf_src p;
	fx_map(&hm, 1, (size_t[]){64});
	intel_tree(root);
	tm_perf_src_init(&p, &fake_os, root);
	ncpus = 32;
	nthreads = 16;
	room = 100000;
	CHECK_EQ(p.base.open(&p.base, &hm, 100, why, sizeof(why)), 0, "opens");
	CHECK_EQ(p.nfds, TM_PERF_MAX_FDS, "the fixed cap");
	CHECK(TM_PERF_MAX_FDS <= 256, "a small one");
	CHECK(strstr(why, "256 of 1024 events opened") != NULL, "why: %s", why);
	CHECK_EQ(kept_n, TM_PERF_MAX_FDS, "kept among as many");
	CHECK_EQ(p.nrings, 32, "every CPU has its ring");
	int first = 0;
	while (first < opened && opened_for[first] == getpid())
		first++;
	CHECK_EQ(first, 2 * 32, "the main thread on every CPU first");
	p.base.close(&p.base);

	room = 900; /* of 1,024: 1/8 of it at most */
	CHECK_EQ(p.base.open(&p.base, &hm, 100, why, sizeof(why)), 0, "opens");
	CHECK_EQ(p.nfds, 900 / TM_PERF_ROOM_SHARE, "a share of the free room");
	CHECK(strstr(why, "of the 900 free descriptors") != NULL, "why: %s", why);
	p.base.close(&p.base);

	room = 5;
	CHECK_EQ(p.base.open(&p.base, &hm, 100, why, sizeof(why)), -1, "no room");
	CHECK(strstr(why, "0 of 1024") != NULL, "why: %s", why);
	room = -1;
	CHECK_EQ(p.base.open(&p.base, &hm, 100, why, sizeof(why)), -1, "room unknown");
	CHECK(strstr(why, "unknown") != NULL, "why: %s", why);
	CHECK_EQ(opened, 0, "nothing left open");
	ncpus = 2;
	nthreads = 1;
	room = 1000;
	fx_tree_remove(root);
}

/* tm_fd_keep and tm_fd_room with real descriptors, in a child whose soft
 * limit the test sets. */
static void keep_child(void)
{
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = 64;
	setrlimit(RLIMIT_NOFILE, &rl);
	int room = tm_fd_room();
	int fd = open("/dev/null", O_RDONLY);
	CHECK_EQ(tm_fd_room(), room - 1, "the room counts open descriptors");
	CHECK_EQ(tm_fd_keep(fd, 4), 60, "into the top 4 below the soft limit");
	CHECK(fcntl(60, F_GETFD) == FD_CLOEXEC && fcntl(fd, F_GETFD) < 0,
	      "moved, close-on-exec");
	fd = open("/dev/null", O_RDONLY);
	CHECK_EQ(tm_fd_keep(fd, 4), 61, "the next one beside it");

	rl.rlim_cur = 4096;
	setrlimit(RLIMIT_NOFILE, &rl);
	fd = open("/dev/null", O_RDONLY);
	CHECK_EQ(tm_fd_keep(fd, 4), FD_SETSIZE, "just above select()'s reach");

	/* No room at the top, and stdin closed: never 0-2, nor a crash. */
	rl.rlim_cur = 12;
	setrlimit(RLIMIT_NOFILE, &rl);
	for (int i = 3; i < 12; i++)
		close(i);
	for (int i = 3; i < 12; i++)
		if (i != 5)
			dup2(1, i);
	close(0);
	fd = open("/dev/null", O_RDONLY);
	CHECK_EQ(fd, 0, "the program's stdin number");
	CHECK_EQ(tm_fd_keep(fd, 1), 5, "moved off 0-2 to the only free one");
	fd = open("/dev/null", O_RDONLY);
	CHECK_EQ(tm_fd_keep(fd, 1), -EMFILE, "no room: refused");
	CHECK(fcntl(0, F_GETFD) < 0, "and 0 given back");
	fflush(stdout);
	_exit(check_failed > 0); /* the failures printed; the parent sums up */
}

static void test_keep_real(void)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0)
		keep_child();
	int status = 0;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child's checks");
}

/* The real system call on this machine: no PMU here is a reason, not a
 * crash (on a machine with one it may well open). */
static void test_real(void)
{
	char why[120] = "";
	tm_heatmap hm;
	tm_perf_src p;
	fx_map(&hm, 1, (size_t[]){64});
	tm_perf_src_init(&p, &tm_perf_os_real, "/sys");
	if (p.base.open(&p.base, &hm, 100, why, sizeof(why)) == 0) {
		printf("(this machine has a precise memory-sampling PMU)\n");
		p.base.collect(&p.base, &hm, 100);
		p.base.close(&p.base);
	} else {
		CHECK(why[0] != '\0', "a reason");
	}
}

int main(void)
{
	test_find_events();
	test_ring();
	test_open();
	test_bounded();
	test_keep_real();
	test_real();
	return check_summary();
}
