/* jemalloc's mallctl tree, relocated at its first use.
 *
 * ctl.c's name nodes hold some 940 pointers (19 KiB). As load-time
 * relocations they cost every exec a page fault a page, written by the
 * loader whether or not the program ever calls mallctl, which few do.
 * After the link, tools/defer_relocs.py moves their relocations out of the
 * loader's list (behind its end, where they stay in the file) and records
 * where they are in tm_je_ctl_relocs; exec.ld gives the tree pages of its
 * own. The tree is reached only through ctl.c's five lookup functions,
 * wrapped here (-Wl,--wrap), so the first lookup applies them. A tiered
 * process makes it in its constructor (arena.c); a one-tier one only if
 * the program calls mallctl.
 *
 * A library the tool did not process (count 0) was relocated by the
 * loader, and nothing is left to do. */
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "allocator/je_ctl.h"
#include "allocator/log.h"
#include "allocator/prim/os.h"

#define TM_JE_CTL_MAGIC 0x746d637472656c6fULL /* "tmctrelo", for the tool */

struct tm_deferred_relocs {
	uint64_t magic;
	uint64_t rela;  /* link-time address of the first entry */
	uint64_t count; /* R_X86_64_RELATIVE entries, all in the tree; 0 where
			 * the tool did not run (other architectures) */
};

/* Written in the file by tools/defer_relocs.py: read through deferred(),
 * so that the compiler does not fold the zeros it sees here. */
__attribute__((used)) const struct tm_deferred_relocs tm_je_ctl_relocs = {
	.magic = TM_JE_CTL_MAGIC,
};

extern const char __ehdr_start[]; /* the load address: segment 0 is at 0 */
extern char __tm_je_ctl_start[], __tm_je_ctl_end[];

static pthread_mutex_t apply_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int applied; /* 0: not yet, 1: done, -errno: failed */

static const struct tm_deferred_relocs *deferred(void)
{
	const struct tm_deferred_relocs *d = &tm_je_ctl_relocs;
	__asm__("" : "+r"(d)); /* its contents are the file's, not these */
	return d;
}

/* Each entry is checked before it is written: a tool that moved the
 * image's base or rewrote the list (prelink, a relocation packer) must not
 * make this a write to anywhere. */
static int apply(const struct tm_deferred_relocs *d)
{
	uintptr_t base = (uintptr_t)__ehdr_start;
	uintptr_t start = (uintptr_t)__tm_je_ctl_start, end = (uintptr_t)__tm_je_ctl_end;
	const ElfW(Rela) *rela = (const ElfW(Rela) *)(base + d->rela);
	for (uint64_t i = 0; i < d->count; i++)
		if (ELF64_R_TYPE(rela[i].r_info) != R_X86_64_RELATIVE ||
		    base + rela[i].r_offset < start || base + rela[i].r_offset + 8 > end)
			return -EINVAL;
	int rc = tm_os_commit(__tm_je_ctl_start, end - start);
	if (rc)
		return rc;
	for (uint64_t i = 0; i < d->count; i++)
		*(uintptr_t *)(base + rela[i].r_offset) = base + (uintptr_t)rela[i].r_addend;
	tm_os_make_readonly(__tm_je_ctl_start, end - start); /* if not, it stays writable */
	return 1;
}

/* A child forked while another thread held the lock has no such thread:
 * it starts afresh (applying twice is harmless: every entry writes the
 * same value). Registered before the lock is first taken; glibc runs a
 * pthread_once again in a child forked during it. */
static void reset_in_child(void)
{
	pthread_mutex_init(&apply_lock, NULL);
}

static void register_reset(void)
{
	pthread_atfork(NULL, NULL, reset_in_child);
}

int tm_je_ctl_relocate(void)
{
	static pthread_once_t registered = PTHREAD_ONCE_INIT;
	const struct tm_deferred_relocs *d = deferred();
	if (applied == 1 || !d->count)
		return 0;
	pthread_once(&registered, register_reset);
	pthread_mutex_lock(&apply_lock);
	int state = applied;
	if (state != 1) {
		int was = state;
		state = apply(d);
		if (state < 0 && was == 0) /* once: a program may retry in a loop */
			tm_warn("mallctl unavailable: its tree cannot be relocated (%d)", -state);
		applied = state;
	}
	pthread_mutex_unlock(&apply_lock);
	return state < 0 ? EAGAIN : 0;
}

/* The lookups, as declared in jemalloc 5.3's ctl.h. Their callers turn a
 * nonzero return into mallctl's error. */
typedef struct tsd_s tsd_t;

#define TM_JE_CTL_LOOKUP(name, params) \
	int __real_je_ctl_##name params;  \
	int __wrap_je_ctl_##name params;
TM_JE_CTL_LOOKUP(byname, (tsd_t *tsd, const char *name, void *oldp, size_t *oldlenp,
			  void *newp, size_t newlen))
TM_JE_CTL_LOOKUP(nametomib, (tsd_t *tsd, const char *name, size_t *mibp, size_t *miblenp))
TM_JE_CTL_LOOKUP(bymib, (tsd_t *tsd, const size_t *mib, size_t miblen, void *oldp,
			 size_t *oldlenp, void *newp, size_t newlen))
TM_JE_CTL_LOOKUP(mibnametomib, (tsd_t *tsd, size_t *mib, size_t miblen, const char *name,
				size_t *miblenp))
TM_JE_CTL_LOOKUP(bymibname, (tsd_t *tsd, size_t *mib, size_t miblen, const char *name,
			     size_t *miblenp, void *oldp, size_t *oldlenp, void *newp,
			     size_t newlen))

int __wrap_je_ctl_byname(tsd_t *tsd, const char *name, void *oldp, size_t *oldlenp,
			 void *newp, size_t newlen)
{
	int rc = tm_je_ctl_relocate();
	return rc ? rc : __real_je_ctl_byname(tsd, name, oldp, oldlenp, newp, newlen);
}

int __wrap_je_ctl_nametomib(tsd_t *tsd, const char *name, size_t *mibp, size_t *miblenp)
{
	int rc = tm_je_ctl_relocate();
	return rc ? rc : __real_je_ctl_nametomib(tsd, name, mibp, miblenp);
}

int __wrap_je_ctl_bymib(tsd_t *tsd, const size_t *mib, size_t miblen, void *oldp,
			size_t *oldlenp, void *newp, size_t newlen)
{
	int rc = tm_je_ctl_relocate();
	return rc ? rc : __real_je_ctl_bymib(tsd, mib, miblen, oldp, oldlenp, newp, newlen);
}

int __wrap_je_ctl_mibnametomib(tsd_t *tsd, size_t *mib, size_t miblen, const char *name,
			       size_t *miblenp)
{
	int rc = tm_je_ctl_relocate();
	return rc ? rc : __real_je_ctl_mibnametomib(tsd, mib, miblen, name, miblenp);
}

int __wrap_je_ctl_bymibname(tsd_t *tsd, size_t *mib, size_t miblen, const char *name,
			    size_t *miblenp, void *oldp, size_t *oldlenp, void *newp,
			    size_t newlen)
{
	int rc = tm_je_ctl_relocate();
	return rc ? rc
		  : __real_je_ctl_bymibname(tsd, mib, miblen, name, miblenp, oldp, oldlenp,
					    newp, newlen);
}
