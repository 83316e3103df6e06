#define _GNU_SOURCE /* struct dirent64 */
#include "allocator/prim/os.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "allocator/prim/fd.h"
#include "allocator/prim/file.h"

#define MPOL_PREFERRED 1
#define MPOL_PREFERRED_MANY 5
#define MPOL_F_NODE (1 << 0)
#define MPOL_F_ADDR (1 << 1)
#define MPOL_F_MEMS_ALLOWED (1 << 2)
#define MPOL_MF_MOVE (1 << 1)

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t tm_now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

uint64_t tm_os_boot_ns(void)
{
	return clock_ns(CLOCK_BOOTTIME);
}

/* Field 22 of /proc/self/stat, in clock ticks since boot; the fields are
 * counted after the command's closing parenthesis, since the command may
 * hold spaces and parentheses itself. */
uint64_t tm_os_process_start_ns(void)
{
	char stat[1024];
	const char *p = tm_read_text("/proc/self/stat", stat, sizeof(stat)) > 0
				? strrchr(stat, ')') : NULL;
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	long hz = sysconf(_SC_CLK_TCK);
	if (!p || hz <= 0)
		return tm_os_boot_ns();
	uint64_t ticks = strtoull(p + 1, NULL, 10);
	return ticks / (uint64_t)hz * 1000000000ULL +
	       ticks % (uint64_t)hz * (1000000000ULL / (uint64_t)hz);
}

uint64_t tm_os_program_cpu_ns(void)
{
	return clock_ns(CLOCK_PROCESS_CPUTIME_ID) - clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

uint64_t tm_os_thread_cpu_ns(void)
{
	return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

struct timespec tm_os_deadline(clockid_t clock, uint64_t ns)
{
	struct timespec t;
	clock_gettime(clock, &t);
	ns += (uint64_t)t.tv_nsec;
	t.tv_sec += (time_t)(ns / 1000000000ULL);
	t.tv_nsec = (long)(ns % 1000000000ULL);
	return t;
}

size_t tm_os_page_size(void)
{
	static size_t page;
	if (!page)
		page = (size_t)sysconf(_SC_PAGESIZE);
	return page;
}

void *tm_os_reserve(size_t len, size_t min_len, size_t *got)
{
	for (; len >= min_len; len /= 2) {
		void *p = mmap(NULL, len, PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p != MAP_FAILED) {
			*got = len;
			return p;
		}
	}
	return NULL;
}

void tm_os_release(void *addr, size_t len)
{
	munmap(addr, len);
}

int tm_os_commit(void *addr, size_t len)
{
	return mprotect(addr, len, PROT_READ | PROT_WRITE) == 0 ? 0 : -errno;
}

int tm_os_make_readonly(void *addr, size_t len)
{
	return mprotect(addr, len, PROT_READ) == 0 ? 0 : -errno;
}

int tm_os_purge(void *addr, size_t len, bool forced)
{
	return madvise(addr, len, forced ? MADV_DONTNEED : MADV_FREE) == 0 ? 0
									    : -errno;
}

void tm_os_advise_huge(void *addr, size_t len)
{
	madvise(addr, len, MADV_HUGEPAGE);
}

static long sys_mbind(void *addr, size_t len, int mode, uint64_t mask)
{
	/* maxnode counts bits, and the kernel wants one more than it reads. */
	return syscall(SYS_mbind, addr, len, mode, &mask, 65UL, 0U);
}

int tm_os_prefer_nodes(void *addr, size_t len, uint64_t nodes, const char **how)
{
	if (sys_mbind(addr, len, MPOL_PREFERRED_MANY, nodes) == 0) {
		*how = "preferred-many";
		return 0;
	}
	uint64_t first = nodes & -nodes;
	if (sys_mbind(addr, len, MPOL_PREFERRED, first) == 0) {
		*how = "preferred";
		return 0;
	}
	*how = "none";
	return -errno;
}

long tm_os_move_pages(size_t count, void **pages, const int *nodes, int *status)
{
	return syscall(SYS_move_pages, 0, count, pages, nodes, status, MPOL_MF_MOVE);
}

/* maxnode counts one more than the mask holds (the kernel reads it as the
 * mask's size plus one). */
int tm_os_allowed_nodes(uint64_t *mask)
{
	*mask = 0;
	long rc = syscall(SYS_get_mempolicy, NULL, mask, 8 * sizeof(*mask) + 1,
			  NULL, MPOL_F_MEMS_ALLOWED);
	return rc == 0 ? 0 : -errno;
}

int tm_os_node_of(const void *addr)
{
	void *page = (void *)((uintptr_t)addr & ~(tm_os_page_size() - 1));
	int status = -1;
	if (tm_os_move_pages(1, &page, NULL, &status) < 0 || status < 0)
		return -1;
	return status;
}

/* getdents64 into a stack buffer: opendir would allocate, and this runs
 * where the program may have no descriptors or memory to spare. */
int tm_os_proc_ids(const char *dir, pid_t *ids, int max)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char buf[4096] __attribute__((aligned(8)));
	int n = 0;
	long got;
	while ((got = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0)
		for (long at = 0; at < got;) {
			struct dirent64 *de = (struct dirent64 *)(buf + at);
			at += de->d_reclen;
			if (de->d_name[0] < '0' || de->d_name[0] > '9')
				continue;
			if (n < max)
				ids[n] = (pid_t)atoi(de->d_name);
			n++;
		}
	int err = got < 0 ? -errno : 0;
	close(fd);
	return err ? err : n;
}

bool tm_os_thread_ended(pid_t tid)
{
	char st[256];
	if (tm_read_textf(st, sizeof(st), "/proc/self/task", "%d/stat", tid) < 0)
		return false;
	const char *end = strrchr(st, ')');
	return end && end[1] == ' ' && (end[2] == 'Z' || end[2] == 'X');
}

unsigned tm_os_cpu_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : (unsigned)n;
}

bool tm_os_pid_alive(pid_t pid)
{
	return kill(pid, 0) == 0 || errno != ESRCH;
}

void tm_os_lower_priority(int inc)
{
	int unused = nice(inc); /* Linux: the calling thread only */
	(void)unused;
}

int tm_os_event_open(void)
{
	return tm_fd_keep(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), 1);
}

void tm_os_event_signal(int fd)
{
	uint64_t one = 1;
	ssize_t unused = write(fd, &one, sizeof(one));
	(void)unused;
}

void tm_os_remove(const char *path)
{
	unlink(path);
}
