/* The library and the standard descriptors 0-2, in programs that closed or
 * reused them as daemons do (DESIGN.md: the library "never takes file
 * descriptors 0-2"; issue 10). Run under LD_PRELOAD with
 * TIERMALLOC_STATS_DIR set.
 *
 *   lowfds closed OUT   close 0, 1 and 2, allocate until the stats socket
 *                       answers a request, then list every descriptor on
 *                       0-2 that is not the program's own; the report goes
 *                       to OUT ("ok" or one line per such descriptor), and
 *                       the exit status is 1 if there was any
 *   lowfds stderr FILE  make FILE the program's descriptor 2 (a daemon's
 *                       log), allocate for a second while the library warns
 *                       (the caller gives it a stats directory it refuses),
 *                       and append "app data" to it: FILE must hold only
 *                       that. FILE "-" keeps the real stderr (the control:
 *                       the warning must appear there). */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "preload.h"

/* A connection to our own stats socket that got a reply, or -1 after
 * five seconds of trying. */
static int talk_to_stats(void)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	const char *dir = getenv("TIERMALLOC_STATS_DIR");
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%d.sock",
		 dir ? dir : ".", (int)getpid());
	for (long long end = tm_now_ms() + 5000; tm_now_ms() < end;) {
		tm_allocate_until(NULL, 10);
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		char reply[64];
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 &&
		    write(fd, "help\n", 5) == 5 && read(fd, reply, sizeof(reply)) > 0)
			return fd;
		close(fd);
	}
	return -1;
}

static int closed(const char *out_path)
{
	close(0);
	close(1);
	close(2);
	int client = talk_to_stats();
	char report[2048] = "";
	size_t used = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		int fd = atoi(e->d_name);
		if (e->d_name[0] == '.' || fd > 2 || fd == client || fd == dirfd(d))
			continue;
		char link[64], target[256] = "?";
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(link, target, sizeof(target) - 1);
		target[n > 0 ? n : 1] = '\0';
		used += (size_t)snprintf(report + used, sizeof(report) - used,
					 "fd %d is the library's: %s\n", fd, target);
	}
	if (d)
		closedir(d);
	if (client < 0)
		snprintf(report, sizeof(report), "the stats socket never answered\n");
	int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	const char *text = report[0] ? report : "ok\n";
	if (out < 0 || write(out, text, strlen(text)) < 0)
		return 2;
	return report[0] ? 1 : 0;
}

static int reused_stderr(const char *path)
{
	if (strcmp(path, "-") != 0) {
		close(2);
		if (open(path, O_WRONLY | O_CREAT | O_APPEND, 0600) != 2)
			return 2;
	}
	tm_allocate_until(NULL, 1000);
	return write(2, "app data\n", 9) == 9 ? 0 : 2;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "closed") == 0)
		return closed(argv[2]);
	if (argc == 3 && strcmp(argv[1], "stderr") == 0)
		return reused_stderr(argv[2]);
	fprintf(stderr, "usage: lowfds closed OUT | stderr FILE\n");
	return 2;
}
