/* Descriptors the library keeps, in a program that owns the numbering.
 *
 * A program may close descriptors it did not open (daemons close them all)
 * and get the numbers back for files of its own, so ours are closed or
 * written to only while they still refer to what we opened. And ours never
 * sit on 0-2: a program that closed its standard streams expects the next
 * files it opens to become them. */
#ifndef TM_PRIM_FD_H
#define TM_PRIM_FD_H

#include <stdbool.h>
#include <sys/types.h>

/* Which open file a descriptor refers to (device and inode). An eventfd
 * cannot be told from another: writing to one is a harmless wake-up. */
typedef struct {
	dev_t dev;
	ino_t ino;
} tm_fd_id;

/* The identity of fd, or {0, 0} if it is not open. */
tm_fd_id tm_fd_id_of(int fd);

/* Whether fd is open and still refers to id. */
bool tm_fd_still(int fd, tm_fd_id id);

/* Close fd if it still refers to id. */
void tm_fd_close(int fd, tm_fd_id id);

/* fd itself, or, if it is 0-2, a close-on-exec copy at 3 or above with the
 * low one closed. -1 (errno set, fd closed) if no copy can be made; -1
 * stays -1. For every descriptor the library keeps beyond one call. */
int tm_fd_above_stdio(int fd);

#endif
