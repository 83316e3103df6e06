/* The system calls of heat tracking, in tables so the policy's logic around
 * them is unit-tested with fakes: userfaultfd and PAGEMAP_SCAN (uffd.c),
 * perf_event_open and its ring buffers (perf.c), descriptors locked for
 * the program's life (lock.c). Page moves,
 * address-space reservations and sysfs reads and writes are the
 * allocator's (prim/os.h, prim/file.h). Each table's real instance is
 * tm_*_os_real. */
#ifndef TM_PRIM_TRACK_H
#define TM_PRIM_TRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- userfaultfd write tracking --------------------------------------- */

typedef struct {
	uintptr_t start, end;
} tm_page_run;

typedef struct {
	/* A userfaultfd with asynchronous write protection (WP_ASYNC and
	 * WP_UNPOPULATED), user-mode faults only, so no privilege is needed.
	 * fd, or -ENOSYS (no userfaultfd), -EPERM (not permitted), or
	 * -EOPNOTSUPP (the kernel lacks the features: before 6.7). */
	int (*open)(void);
	/* /proc/self/pagemap with PAGEMAP_SCAN working; fd or -errno. */
	int (*open_pagemap)(void);
	/* Register [start, start+len) for write protection; 0 or -errno. */
	int (*register_wp)(int uffd, uintptr_t start, size_t len);
	/* Write-protect [start, start+len), or lift the protection; 0 or
	 * -errno. */
	int (*protect)(int uffd, uintptr_t start, size_t len, bool on);
	/* Runs of present pages of [start, end) written since they were
	 * protected (pages never protected count as written). Fills at most
	 * max runs; *walk_end is where the scan stopped. Count or -errno. */
	long (*scan_written)(int pagemap, uintptr_t start, uintptr_t end,
			     tm_page_run *runs, size_t max, uintptr_t *walk_end);
	/* scan_written that write-protects the runs it reports again. */
	long (*take_written)(int pagemap, uintptr_t start, uintptr_t end,
			     tm_page_run *runs, size_t max, uintptr_t *walk_end);
	void (*close)(int fd);
	/* What one write fault on a protected page costs here, in ns (> 0):
	 * measured on pages of our own. */
	uint64_t (*fault_ns)(int uffd);
	/* Let the program run for the observation window. */
	void (*wait)(unsigned us);
	uint64_t (*now_ns)(void);  /* a monotonic clock */
	/* CPU time the program has used: the process's, less this thread's. */
	uint64_t (*program_ns)(void);
} tm_uffd_os;

extern const tm_uffd_os tm_uffd_os_real;

/* ---- page moves and huge pages (the mover) ----------------------------- */

typedef struct {
	/* move_pages(2) on this process; nodes NULL asks where pages are. */
	long (*move_pages)(size_t count, void **pages, const int *nodes,
			   int *status);
	/* As tm_uffd_os's: the pagemap, its runs of [start, end) mapped by
	 * transparent huge pages (PMD-mapped), and close. */
	int (*open_pagemap)(void);
	long (*scan_huge)(int pagemap, uintptr_t start, uintptr_t end,
			  tm_page_run *runs, size_t max, uintptr_t *walk_end);
	void (*close)(int fd);
} tm_mover_os;

extern const tm_mover_os tm_mover_os_real;

/* ---- descriptors held for the program's life --------------------------- */

/* root/path opened read-only (O_NOFOLLOW) and locked with
 * flock(LOCK_EX | LOCK_NB), then kept with tm_fd_keep: the lock lasts
 * until the fd is closed, by us or by our death. fd, -EWOULDBLOCK if
 * another open file holds the lock, or -errno. */
int tm_fd_lock(const char *root, const char *path);

/* ---- perf_event_open sampling ------------------------------------------ */

struct perf_event_attr;

typedef struct {
	/* perf_event_open(attr, pid, cpu, group -1, CLOEXEC); fd or -errno. */
	int (*event_open)(struct perf_event_attr *attr, pid_t pid, int cpu);
	/* Map the ring buffer (one header page + pages); NULL on failure. */
	void *(*map)(int fd, size_t len);
	void (*unmap)(void *addr, size_t len);
	/* Redirect fd's samples into the ring buffer of to; 0 or -errno. */
	int (*set_output)(int fd, int to);
	int (*enable)(int fd);
	void (*close)(int fd);
	/* Online CPUs (their count) and this process's threads, by id. */
	int (*cpus)(void);
	int (*threads)(pid_t *tids, int max);
	/* tm_fd_room and tm_fd_keep. */
	int (*fd_room)(void);
	int (*keep)(int fd, int n);
} tm_perf_os;

extern const tm_perf_os tm_perf_os_real;

#endif
