#include "allocator/prim/fd.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "allocator/prim/os.h"

/* The kernel's fstat: glibc's is fstatat(fd, "", AT_EMPTY_PATH), whose
 * empty path the kernel reads from a page of libc that nothing else at
 * start-up touches, one more page fault at every exec. */
static int fd_stat(int fd, struct stat *st)
{
	return (int)syscall(SYS_fstat, fd, st);
}

tm_fd_id tm_fd_id_of(int fd)
{
	struct stat st;
	if (fd_stat(fd, &st) < 0)
		return (tm_fd_id){0, 0};
	return (tm_fd_id){st.st_dev, st.st_ino};
}

bool tm_fd_still(int fd, tm_fd_id id)
{
	struct stat st;
	return fd >= 0 && fd_stat(fd, &st) == 0 && st.st_dev == id.dev &&
	       st.st_ino == id.ino;
}

void tm_fd_close(int fd, tm_fd_id id)
{
	if (tm_fd_still(fd, id))
		close(fd);
}

static long soft_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur > INT_MAX)
		return INT_MAX;
	return (long)rl.rlim_cur;
}

int tm_fd_keep(int fd, int n)
{
	if (fd < 0)
		return fd;
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

void tm_fd_close_own(int fd)
{
	close(fd);
}
