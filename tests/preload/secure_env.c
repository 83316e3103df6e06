/* What the library does with the environment under AT_SECURE. Linked
 * against build/libtiermalloc.so (absolute RUNPATH) rather than preloaded:
 * under AT_SECURE the loader drops an LD_PRELOAD entry with a slash, and
 * /etc/ld.so.preload would affect the whole machine. run.sh runs it as is
 * and under `setpriv --egid` (an effective gid other than the real one sets
 * AT_SECURE). It allocates long enough for the services to start (the
 * stats server reads TIERMALLOC_STATS_DIR), then prints
 * "at_secure N tiers N". */
#include "preload.h"

#include <sys/auxv.h>

#include "tiermalloc.h"

int main(void)
{
	tm_allocate_until(NULL, 300);
	printf("at_secure %lu tiers %d\n", getauxval(AT_SECURE), tm_tier_count());
	return 0;
}
