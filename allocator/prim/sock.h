/* The OS side of the stats server: the socket directory and its checks, the
 * listening socket, who is at the other end of a connection, and whether the
 * application still has a thread.
 *
 * The directory is the only thing between other users and the socket, so it
 * must be a real directory (not a symlink), owned by us, and closed to group
 * and others; SO_PEERCRED is the second line, should a client get through. */
#ifndef TM_STATS_OS_H
#define TM_STATS_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Room for a socket path (sun_path). */
#define TM_SOCK_PATH_MAX 108

/* Listen on <dir>/<pid>.sock, dir being TIERMALLOC_STATS_DIR or
 * /tmp/tiermalloc-<uid>, created 0700 if missing. The path goes to path.
 * Returns the socket, or -1 after one warning saying why. */
int tm_stats_sock_listen(char path[TM_SOCK_PATH_MAX]);

/* Take one pending connection, non-blocking. Returns it, or -1 with errno
 * (EAGAIN: none pending). *same_user says whether the peer runs as our
 * uid. */
int tm_stats_sock_accept(int listen_fd, bool *same_user);

#endif
