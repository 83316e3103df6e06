#include "prim/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

ssize_t tm_read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
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

/* root/fmt... into path; -1 if it does not fit. */
static int vpath(char *path, size_t size, const char *root, const char *fmt,
		 va_list ap)
{
	int n = snprintf(path, size, "%s/", root);
	int m = vsnprintf(path + n, size - (size_t)n, fmt, ap);
	return m < 0 || (size_t)(n + m) >= size ? -1 : 0;
}

ssize_t tm_read_textf(char *buf, size_t len, const char *root,
		      const char *fmt, ...)
{
	char path[512];
	va_list ap;
	va_start(ap, fmt);
	int rc = vpath(path, sizeof(path), root, fmt, ap);
	va_end(ap);
	return rc < 0 ? -1 : tm_read_text(path, buf, len);
}

/* One write(2) of the whole text: sysfs takes an attribute in one write and
 * reports a refused value as that write's error. */
int tm_write_textf(const char *text, const char *root, const char *fmt, ...)
{
	char path[512];
	va_list ap;
	va_start(ap, fmt);
	int rc = vpath(path, sizeof(path), root, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return -ENAMETOOLONG;
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = strlen(text);
	ssize_t w = write(fd, text, len);
	int err = w < 0 ? errno : (size_t)w == len ? 0 : EIO;
	close(fd);
	return -err;
}
