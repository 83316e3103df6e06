#include "prim/fd.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

tm_fd_id tm_fd_id_of(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return (tm_fd_id){0, 0};
	return (tm_fd_id){st.st_dev, st.st_ino};
}

bool tm_fd_still(int fd, tm_fd_id id)
{
	struct stat st;
	return fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == id.dev &&
	       st.st_ino == id.ino;
}

void tm_fd_close(int fd, tm_fd_id id)
{
	if (tm_fd_still(fd, id))
		close(fd);
}

int tm_fd_above_stdio(int fd)
{
	if (fd < 0 || fd > STDERR_FILENO)
		return fd;
	int moved = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	int saved = errno;
	close(fd);
	errno = saved;
	return moved;
}
