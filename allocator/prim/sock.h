/* The OS side of the stats server: the socket directory and its checks, the
 * listening socket, and who is at the other end of a connection.
 *
 * The directory is the only thing between other users and the socket, so it
 * must be a real directory (not a symlink), owned by us, and closed to group
 * and others; SO_PEERCRED is the second line, should a client get through. */
#ifndef TM_PRIM_SOCK_H
#define TM_PRIM_SOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <poll.h>
#include <sys/types.h>

/* Room for a socket path (sun_path). */
#define TM_SOCK_PATH_MAX 108

/* Listen on <dir>/<pid>.sock, dir being the given one (TIERMALLOC_STATS_DIR,
 * named so in warnings when dir_from_env) or, if "", /tmp/tiermalloc-<uid>,
 * created 0700 if missing. The path goes to path. Returns the socket, or -1
 * after one warning saying why. */
int tm_sock_listen(const char *dir, bool dir_from_env,
		   char path[TM_SOCK_PATH_MAX]);

/* Take one pending connection, non-blocking. Returns it, or -1 with errno
 * (EAGAIN: none pending). *same_user says whether the peer runs as our
 * uid. */
int tm_sock_accept(int listen_fd, bool *same_user);

/* Non-blocking send and receive on a connection; no SIGPIPE. As send(2)
 * and recv(2): bytes, 0 at end of file (recv), or -1 with errno. */
ssize_t tm_sock_send(int fd, const void *buf, size_t len);
ssize_t tm_sock_recv(int fd, void *buf, size_t len);

/* Wait for any of fds (poll(2)), at most timeout_ms (-1: no limit). */
int tm_sock_wait(struct pollfd *fds, unsigned n, int timeout_ms);

#endif
