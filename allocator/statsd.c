/* The stats server: not written yet. Its entry points exist so that the
 * services start-up is wired; until the server lands, no socket is served. */
#include "services.h"

void tm_statsd_start(void) {}
void tm_statsd_after_fork_child(void) {}
void tm_statsd_stop(void) {}
