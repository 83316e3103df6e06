/* The thin OS layer: address-space reservations, NUMA binding, page moves.
 *
 * NUMA calls are raw system calls rather than libnuma's wrappers: libnuma's
 * constructor runs in every process that loads it, and an LD_PRELOAD library
 * is loaded by every exec. */
#ifndef TM_PRIM_OS_H
#define TM_PRIM_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* Reserve address space (inaccessible, not charged). Tries len, halving down
 * to min_len. Returns the base and its size in *got, or NULL. */
void *tm_os_reserve(size_t len, size_t min_len, size_t *got);

/* Unmap what tm_os_reserve reserved (or part of it). */
void tm_os_release(void *addr, size_t len);

/* Make a reserved range readable and writable. 0 or -errno. */
int tm_os_commit(void *addr, size_t len);

/* Make a range read-only (RELRO data once written). 0 or -errno. */
int tm_os_make_readonly(void *addr, size_t len);

/* Give pages back; forced drops them now, otherwise the kernel may take
 * them lazily (MADV_FREE). 0 or -errno. */
int tm_os_purge(void *addr, size_t len, bool forced);

/* Ask for transparent huge pages on a page-aligned range: the whole range,
 * so that neighbouring advised ranges stay one mapping. */
void tm_os_advise_huge(void *addr, size_t len);

/* Policy for a range: prefer nodes, fall back to others when they are full.
 * Uses MPOL_PREFERRED_MANY where the kernel has it, else MPOL_PREFERRED on
 * the first node. *how names the policy that took. 0 or -errno. */
int tm_os_prefer_nodes(void *addr, size_t len, uint64_t nodes,
		       const char **how);

/* move_pages(2) on this process: nodes == NULL queries locations. */
long tm_os_move_pages(size_t count, void **pages, const int *nodes,
		      int *status);

/* The nodes this process may allocate on (its cpuset's memory nodes), as
 * a mask of nodes 0-63. 0 or -errno (EINVAL: the kernel has more nodes
 * than that). */
int tm_os_allowed_nodes(uint64_t *mask);

/* NUMA node of the page at addr, or -1. */
int tm_os_node_of(const void *addr);

size_t tm_os_page_size(void);

/* CPUs online, at least 1. */
unsigned tm_os_cpu_count(void);

/* Whether process pid exists (it may belong to another user). */
bool tm_os_pid_alive(pid_t pid);

/* Lower the calling thread's scheduling priority by inc (nice). */
void tm_os_lower_priority(int inc);

/* A descriptor that becomes readable once tm_os_event_signal is called on
 * it (eventfd, non-blocking, kept off 0-2). -1 if none. */
int tm_os_event_open(void);
void tm_os_event_signal(int fd);

/* Remove a file; errors are ignored (it may be gone already). */
void tm_os_remove(const char *path);

/* Whether thread tid of this process has ended: the main thread stays
 * listed, as a zombie, after it calls pthread_exit. A stat that cannot be
 * read says no. */
bool tm_os_thread_ended(pid_t tid);

/* CLOCK_MONOTONIC, in ns. */
uint64_t tm_now_ns(void);

/* CLOCK_BOOTTIME, in ns: the clock of the kernel's process start times. */
uint64_t tm_os_boot_ns(void);

/* When this process started (a forked child: its fork), CLOCK_BOOTTIME ns,
 * to the kernel's clock tick; now if /proc cannot tell. */
uint64_t tm_os_process_start_ns(void);

/* CPU time the program has used: the process's less the calling thread's
 * (one of ours). Two clocks read one after the other, so it may step back
 * a little between calls. */
uint64_t tm_os_program_cpu_ns(void);

/* CPU time of the calling thread, in ns. */
uint64_t tm_os_thread_cpu_ns(void);

/* The time ns from now on clock, for the timed waits of pthreads. */
struct timespec tm_os_deadline(clockid_t clock, uint64_t ns);

/* The numeric entries of a /proc directory (/proc/self/task: thread ids;
 * /proc/self/fd: descriptors), the first max of them stored in ids. Their
 * count (which may exceed max), or -errno when it cannot be read. The one
 * descriptor that reads the directory is counted in /proc/self/fd. */
int tm_os_proc_ids(const char *dir, pid_t *ids, int max);

#endif
