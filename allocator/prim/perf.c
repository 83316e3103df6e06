/* perf_event_open and its ring buffers. */
#include "allocator/prim/fd.h"
#include "allocator/prim/os.h"
#include "allocator/prim/track.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static int event_open(struct perf_event_attr *attr, pid_t pid, int cpu)
{
	long fd = syscall(SYS_perf_event_open, attr, pid, cpu, -1,
			  PERF_FLAG_FD_CLOEXEC);
	return fd < 0 ? -errno : (int)fd;
}

static void *map(int fd, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void unmap(void *addr, size_t len)
{
	munmap(addr, len);
}

static int set_output(int fd, int to)
{
	return ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, to) == 0 ? 0 : -errno;
}

static int enable(int fd)
{
	return ioctl(fd, PERF_EVENT_IOC_ENABLE, 0) == 0 ? 0 : -errno;
}

static void close_fd(int fd)
{
	close(fd);
}

static int cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

static int threads(pid_t *tids, int max)
{
	int n = tm_os_proc_ids("/proc/self/task", tids, max);
	return n < 0 ? 0 : n < max ? n : max;
}

const tm_perf_os tm_perf_os_real = {
	.event_open = event_open,
	.map = map,
	.unmap = unmap,
	.set_output = set_output,
	.enable = enable,
	.close = close_fd,
	.cpus = cpus,
	.threads = threads,
	.fd_room = tm_fd_room,
	.keep = tm_fd_keep,
};
