#include "os.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* One write(2) of the whole text: sysfs takes an attribute in one write and
 * reports a refused value as that write's error. */
int tm_sysfs_write(const char *text, const char *root, const char *fmt, ...)
{
	char path[512];
	int n = snprintf(path, sizeof(path), "%s/", root);
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(path + n, sizeof(path) - (size_t)n, fmt, ap);
	va_end(ap);
	if (m < 0 || (size_t)(n + m) >= sizeof(path))
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
