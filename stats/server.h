/* The stats server's loop: one thread polling the listening socket, a
 * wake-up descriptor and at most a few clients, each with a bounded request
 * buffer and a deadline. A slow, stalled or hostile client costs a slot and
 * a little memory until its deadline, nothing more. */
#ifndef TM_STATS_SERVER_H
#define TM_STATS_SERVER_H

#include <stdbool.h>

/* Serve until wake_fd is readable (returns false) or the application has
 * gone: only our service threads are left (returns true). Closes its
 * clients; listen_fd stays open. */
bool tm_stats_serve(int listen_fd, int wake_fd);

/* In a forked child: close the connections of the parent's server, whose
 * thread does not exist here, so its clients see the parent's replies end
 * when the parent's server closes them. */
void tm_stats_server_forget(void);

#endif
