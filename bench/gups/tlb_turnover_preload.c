/* tlb_turnover.h's flusher for a program the benchmark does not build
 * (redis-server): preloaded, it starts the flusher every TLB_TURNOVER_MS
 * milliseconds, so that accessed-bit sampling sees that program's pages
 * under emulation as gups's own flusher lets it see gups's. */
#include <stdlib.h>

#include "tlb_turnover.h"

__attribute__((constructor)) static void tlb_turnover_preload(void)
{
	const char *ms = getenv("TLB_TURNOVER_MS");
	if (ms && tlb_turnover_start(atoi(ms)) != 0)
		abort(); /* a run without turnover would measure something else */
}
