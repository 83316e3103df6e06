#include "allocator/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include "allocator/prim/fd.h"

#define TM_WARN_CAP 32

static _Atomic bool log_enabled;
static _Atomic bool log_verbose;
static _Atomic unsigned long warnings;
static __thread bool in_log __attribute__((tls_model("initial-exec")));
/* What descriptor 2 was when the environment was read. A daemon that closes
 * it and opens a socket or a data file there must not get our lines in it;
 * one that closed it before we started gets nothing from us. */
static tm_fd_id stderr_id;

void tm_log_enable(bool verbose)
{
	stderr_id = tm_fd_id_of(STDERR_FILENO);
	atomic_store(&log_verbose, verbose);
	atomic_store(&log_enabled, true);
}

unsigned long tm_log_warning_count(void)
{
	return atomic_load(&warnings);
}

static void log_line(const char *prefix, const char *fmt, va_list ap)
{
	if (!tm_fd_still(STDERR_FILENO, stderr_id))
		return;
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "tiermalloc: %s", prefix);
	int m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
	if (len > sizeof(buf) - 2)
		len = sizeof(buf) - 2;
	buf[len++] = '\n';
	ssize_t unused = write(STDERR_FILENO, buf, len);
	(void)unused;
}

void tm_warn(const char *fmt, ...)
{
	unsigned long nth = atomic_fetch_add(&warnings, 1) + 1;
	if (!atomic_load(&log_enabled) || in_log || nth > TM_WARN_CAP + 1)
		return;
	in_log = true;
	va_list ap;
	va_start(ap, fmt);
	if (nth <= TM_WARN_CAP)
		log_line("warning: ", fmt, ap);
	else
		log_line("", "further warnings suppressed", ap);
	va_end(ap);
	in_log = false;
}

void tm_info(const char *fmt, ...)
{
	if (!atomic_load(&log_verbose) || in_log)
		return;
	in_log = true;
	va_list ap;
	va_start(ap, fmt);
	log_line("", fmt, ap);
	va_end(ap);
	in_log = false;
}
