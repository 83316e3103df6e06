#define _GNU_SOURCE /* O_PATH */
#include "allocator/prim/file.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* O_NOFOLLOW: a symlink as the last component is refused. The paths we read
 * end in plain files (sysfs attributes, /proc/self/task/N/stat); a symlink
 * there is a tree laid out to read something else. */
ssize_t tm_read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t got = 0;
	while (got + 1 < len) {
		ssize_t n = read(fd, buf + got, len - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == ' '))
		got--;
	buf[got] = '\0';
	return (ssize_t)got;
}

/* fmt... into buf; -1 if it does not fit. */
static int vformat(char *buf, size_t size, const char *fmt, va_list ap)
{
	int n = vsnprintf(buf, size, fmt, ap);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

ssize_t tm_read_textf(char *buf, size_t len, const char *root,
		      const char *fmt, ...)
{
	char path[512];
	int n = snprintf(path, sizeof(path), "%s/", root);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -1;
	va_list ap;
	va_start(ap, fmt);
	int rc = vformat(path + n, sizeof(path) - (size_t)n, fmt, ap);
	va_end(ap);
	return rc < 0 ? -1 : tm_read_text(path, buf, len);
}

/* rel under root, opened through no symlink and never above root: a tree
 * given as TIERMALLOC_SYSFS can only have its own files written, not a file
 * elsewhere that one of its entries links to. Where openat2 is missing
 * (before Linux 5.6) or filtered, only the last component is checked. */
static int open_beneath(const char *root, const char *rel, int flags)
{
	int dir = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -1;
	struct open_how how = {.flags = (uint64_t)(flags | O_NOFOLLOW),
			       .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS};
	int fd = (int)syscall(SYS_openat2, dir, rel, &how, sizeof(how));
	if (fd < 0 && (errno == ENOSYS || errno == EPERM))
		fd = openat(dir, rel, flags | O_NOFOLLOW);
	int saved = errno;
	close(dir);
	errno = saved;
	return fd;
}

/* One write(2) of the whole text: sysfs takes an attribute in one write and
 * reports a refused value as that write's error. O_TRUNC does nothing on
 * sysfs; in a test's tree of plain files it makes the file hold the last
 * value written, as an attribute does. */
int tm_write_textf(const char *text, const char *root, const char *fmt, ...)
{
	char rel[512];
	va_list ap;
	va_start(ap, fmt);
	int rc = vformat(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	if (rc < 0)
		return -ENAMETOOLONG;
	int fd = open_beneath(root, rel, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = strlen(text);
	ssize_t w = write(fd, text, len);
	int err = w < 0 ? errno : (size_t)w == len ? 0 : EIO;
	close(fd);
	return -err;
}
