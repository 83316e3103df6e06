/* Descriptors the policy holds for the program's life: placed where the
 * program does not look for its own, and counted against its limit. */
#include "allocator/prim/fd.h"
#include "allocator/prim/track.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <unistd.h>

int tm_fd_lock(const char *root, const char *path)
{
	char full[512];
	if (snprintf(full, sizeof(full), "%s/%s", root, path) >= (int)sizeof(full))
		return -ENAMETOOLONG;
	int fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return tm_fd_keep(fd, 1);
}
