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

/* Close a descriptor only we have used since we made it (no check). */
void tm_fd_close_own(int fd);

/* Move fd, one of n descriptors we hold for the program's life, out of the
 * program's way: just above select()'s FD_SETSIZE when the soft
 * RLIMIT_NOFILE leaves room there, else into the top n numbers below the
 * soft limit (a program takes the lowest free numbers, so it meets ours
 * only when it is nearly out anyway). Close-on-exec. Returns the new fd
 * (fd is closed), fd itself if it cannot move but is not 0-2, or -EMFILE
 * (fd closed: 0-2 are the program's even when it closed them). A negative
 * fd (a failed open) is returned as it is. For every descriptor the
 * library keeps beyond one call. */
int tm_fd_keep(int fd, int n);

/* Free descriptors below the soft RLIMIT_NOFILE, or -1 if unknown. */
int tm_fd_room(void);

#endif
