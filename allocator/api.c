/* The public API of include/tiermalloc.h. */
#include <errno.h>

#include "allocator/arena.h"
#include "allocator/plugin.h"
#include "allocator/prim/os.h"
#include "allocator/runtime.h"
#include "include/tiermalloc.h"

TM_EXPORT int tm_tier_count(void)
{
	return tm_rt.tiered ? tm_rt.tiers.count : 1;
}

/* Blocks from before the tiers existed (jemalloc's automatic arenas) are
 * outside the reservation and in DRAM, where the program first touched
 * them: tier 0's. */
static int heap_tier_of(const void *ptr)
{
	int t = tm_arena_tier_of(ptr);
	return t > 0 ? t : 0;
}

TM_EXPORT int tm_tier_of(const void *ptr)
{
	if (!ptr)
		return -1;
	return tm_rt.tiered ? heap_tier_of(ptr) : 0;
}

TM_EXPORT int tm_node_of(const void *ptr)
{
	return ptr ? tm_os_node_of(ptr) : -1;
}

TM_EXPORT int tm_advise(void *ptr, size_t len, int heat)
{
	if (heat != TM_NORMAL && heat != TM_HOT && heat != TM_COLD) {
		errno = EINVAL;
		return -1;
	}
	if (!tm_rt.tiered) {
		errno = ENOSYS;
		return -1;
	}
	if (!ptr || tm_arena_tier_of(ptr) < 0 ||
	    tm_arena_tier_of((char *)ptr + (len ? len - 1 : 0)) < 0) {
		errno = EINVAL;
		return -1;
	}
	return tm_heat->advise(ptr, len, heat);
}

TM_EXPORT int tm_heat_of(const void *ptr)
{
	return tm_rt.tiered && ptr ? tm_heat->heat_of(ptr) : -1;
}
