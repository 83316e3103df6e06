/* Small reads and writes of sysfs/procfs files without stdio (no
 * allocation). */
#ifndef TM_PRIM_FILE_H
#define TM_PRIM_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* Read up to len-1 bytes of path into buf, NUL-terminated, trailing newline
 * removed. Returns the length, or -1 if the file cannot be read. */
ssize_t tm_read_text(const char *path, char *buf, size_t len);

/* Same, path built from root and a printf format. */
ssize_t tm_read_textf(char *buf, size_t len, const char *root,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Write text to root/fmt... in one write(2); 0 or -errno. */
int tm_write_textf(const char *text, const char *root, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
