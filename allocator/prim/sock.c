#define _GNU_SOURCE /* struct ucred, accept4 */
#include "allocator/prim/sock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "allocator/log.h"
#include "allocator/prim/fd.h"

#define BACKLOG 128

static int default_dir(char *dir, size_t len)
{
	return snprintf(dir, len, "/tmp/tiermalloc-%u", (unsigned)geteuid());
}

/* Create the directory if missing, then hold it to our rules: checked
 * through an O_NOFOLLOW handle, so what is checked is what is there. */
static int check_dir(const char *dir, bool dir_from_env)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		tm_warn("%s%s: cannot create it: %s; no stats socket",
			dir_from_env ? "TIERMALLOC_STATS_DIR=" : "stats directory ",
			dir, strerror(errno));
		return -1;
	}
	struct stat st;
	if (lstat(dir, &st) == 0 && S_ISLNK(st.st_mode)) {
		tm_warn("stats: %s is a symlink; no stats socket", dir);
		return -1;
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		tm_warn("stats: %s is not a directory we can open; no stats socket",
			dir);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	if (st.st_uid != geteuid()) {
		tm_warn("stats: %s belongs to uid %u, not to us (uid %u); no "
			"stats socket", dir, (unsigned)st.st_uid, (unsigned)geteuid());
		return -1;
	}
	if (st.st_mode & 077) {
		tm_warn("stats: %s is open to other users (mode %03o, must be "
			"0700); no stats socket", dir, (unsigned)(st.st_mode & 0777));
		return -1;
	}
	return 0;
}

/* A socket file with our pid in its name is left over from an earlier image
 * of this process (exec keeps the pid) or a dead process whose pid came
 * back: it may go if nothing listens on it. */
static int clear_leftover(const struct sockaddr_un *addr)
{
	struct stat st;
	if (lstat(addr->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode))
		return -1;
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int live = probe >= 0 &&
		   connect(probe, (const struct sockaddr *)addr, sizeof(*addr)) == 0;
	if (probe >= 0)
		close(probe);
	return live ? -1 : unlink(addr->sun_path);
}

static int bind_socket(const struct sockaddr_un *addr)
{
	int fd = tm_fd_keep(
		socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), 1);
	if (fd < 0)
		return -1;
	/* The directory already keeps others out; 0600 says so once more. */
	if (bind(fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0 ||
	    chmod(addr->sun_path, 0600) < 0 || listen(fd, BACKLOG) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int tm_sock_listen(const char *opt, bool dir_from_env,
		   char path[TM_SOCK_PATH_MAX])
{
	char dir[TM_SOCK_PATH_MAX];
	int n = opt[0] ? snprintf(dir, sizeof(dir), "%s", opt)
		       : default_dir(dir, sizeof(dir));
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int m = snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%d.sock", dir,
			 (int)getpid());
	if (n < 0 || (size_t)n >= sizeof(dir) || m < 0 ||
	    (size_t)m >= sizeof(addr.sun_path)) {
		tm_warn("stats: socket path in %.64s... is too long; no stats "
			"socket", dir);
		return -1;
	}
	if (check_dir(dir, dir_from_env) < 0)
		return -1;
	if (clear_leftover(&addr) < 0) {
		tm_warn("stats: %s exists and is not a dead socket; no stats "
			"socket", addr.sun_path);
		return -1;
	}
	int fd = bind_socket(&addr);
	if (fd < 0) {
		tm_warn("stats: cannot listen on %s: %s; no stats socket",
			addr.sun_path, strerror(errno));
		return -1;
	}
	memcpy(path, addr.sun_path, sizeof(addr.sun_path));
	return fd;
}

int tm_sock_accept(int listen_fd, bool *same_user)
{
	int fd = tm_fd_keep(
		accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), 1);
	if (fd < 0)
		return -1;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	*same_user = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
		     cred.uid == geteuid();
	return fd;
}

ssize_t tm_sock_send(int fd, const void *buf, size_t len)
{
	return send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
}

ssize_t tm_sock_recv(int fd, void *buf, size_t len)
{
	return recv(fd, buf, len, MSG_DONTWAIT);
}

int tm_sock_wait(struct pollfd *fds, unsigned n, int timeout_ms)
{
	return poll(fds, (nfds_t)n, timeout_ms);
}
