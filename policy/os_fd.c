/* Descriptors the policy holds for the program's life: placed where the
 * program does not look for its own, and counted against its limit. */
#include "os.h"
#include "prim/os.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <unistd.h>

static long soft_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur > INT_MAX)
		return INT_MAX;
	return (long)rl.rlim_cur;
}

int tm_fd_keep(int fd, int n)
{
	long soft = soft_limit();
	/* Above FD_SETSIZE the kernel's descriptor table grows with the
	 * highest number in use: just above it, not at a limit of millions. */
	long base = soft - n > FD_SETSIZE ? FD_SETSIZE : soft - n;
	if (base < 3)
		base = 3;
	if (fd >= base)
		return fd;
	int moved = fcntl(fd, F_DUPFD_CLOEXEC, (int)base);
	if (moved < 0 && fd < 3)
		moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (moved < 0 && fd >= 3)
		return fd;
	close(fd);
	return moved < 0 ? -EMFILE : moved;
}

int tm_fd_room(void)
{
	/* The count includes the descriptor that reads the directory. */
	int open = tm_os_proc_ids("/proc/self/fd", NULL, 0) - 1;
	if (open < 0)
		return -1;
	long room = soft_limit() - open;
	return room > INT_MAX ? INT_MAX : room < 0 ? 0 : (int)room;
}

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
