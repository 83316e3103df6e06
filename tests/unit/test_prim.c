/* The OS layer's file and descriptor helpers and where the log writes, built
 * with AddressSanitizer (unit.mk): path building must stay inside its
 * buffer, writes must stay inside the tree they are given, our descriptors
 * off 0-2, and warnings off a descriptor 2 that is no longer stderr. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "allocator/log.h"
#include "allocator/prim/fd.h"
#include "allocator/prim/file.h"
#include "allocator/prim/os.h"
#include "allocator/tiers.h"
#include "tests/check.h"

static char tree[64];

/* tree/rel, in a buffer of the caller's */
static char *in_tree(char path[256], const char *rel)
{
	snprintf(path, 256, "%s/%s", tree, rel);
	return path;
}

static void put(const char *rel, const char *text)
{
	char path[256];
	int fd = open(in_tree(path, rel), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text),
	      "write %s", path);
	close(fd);
}

static const char *get(const char *rel)
{
	static char buf[128];
	if (tm_read_textf(buf, sizeof(buf), tree, "%s", rel) < 0)
		strcpy(buf, "(unreadable)");
	return buf;
}

static void link_in_tree(const char *target_rel, const char *rel)
{
	char target[256], path[256];
	CHECK(symlink(in_tree(target, target_rel), in_tree(path, rel)) == 0,
	      "symlink %s", path);
}

static void dir_in_tree(const char *rel)
{
	char path[256];
	CHECK(mkdir(in_tree(path, rel), 0700) == 0, "mkdir %s", path);
}

/* A root or a name that does not fit the path buffer is refused, without
 * writing past it. */
static void test_long_paths(void)
{
	char root[700], buf[16];
	for (size_t len = 500; len < sizeof(root); len += 3) {
		memset(root, 'r', len);
		root[len] = '\0';
		CHECK_EQ(tm_read_textf(buf, sizeof(buf), root, "x"), -1,
			 "root of %zu characters", len);
		CHECK_EQ(tm_read_textf(buf, sizeof(buf), tree, "%s", root), -1,
			 "name of %zu characters", len);
	}
}

/* Writes replace the value (a fake tree's regular files behave as sysfs
 * attributes), and reach nothing outside the tree through a symlink: not
 * as the last component, not as a directory on the way. */
static void test_writes_stay_in_tree(void)
{
	put("state", "update_schemes_tried_regions");
	CHECK_EQ(tm_write_textf("off", tree, "state"), 0, "plain write");
	CHECK(strcmp(get("state"), "off") == 0, "value replaced: %s", get("state"));

	put("victim", "precious");
	dir_in_tree("victim_dir");
	put("victim_dir/nr_kdamonds", "precious");
	link_in_tree("victim", "nr_kdamonds");
	dir_in_tree("admin");
	link_in_tree("victim_dir", "admin/kdamonds");
	CHECK(tm_write_textf("0", tree, "nr_kdamonds") < 0, "symlink refused");
	CHECK(tm_write_textf("0", tree, "admin/kdamonds/nr_kdamonds") < 0,
	      "symlinked directory refused");
	CHECK(strcmp(get("victim"), "precious") == 0, "victim intact: %s",
	      get("victim"));
	CHECK(strcmp(get("victim_dir/nr_kdamonds"), "precious") == 0,
	      "victim in the linked directory intact");
	CHECK(strcmp(get("nr_kdamonds"), "(unreadable)") == 0,
	      "reads follow no symlink at the end either");
}

static void test_fd_keep(void)
{
	CHECK_EQ(tm_fd_keep(-1, 1), -1, "-1 stays");
	int saved = dup(STDIN_FILENO);
	close(STDIN_FILENO);
	int low = eventfd(0, 0);
	CHECK_EQ(low, 0, "the eventfd took 0");
	int moved = tm_fd_keep(low, 1);
	CHECK(moved > 2, "moved up to %d", moved);
	CHECK(fcntl(0, F_GETFD) < 0, "0 is free again");
	CHECK(fcntl(moved, F_GETFD) == FD_CLOEXEC, "the copy is close-on-exec");
	close(moved);
	dup2(saved, STDIN_FILENO);
	close(saved);
}

static off_t size_of(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 ? st.st_size : -1;
}

static int temp_file(const char *rel)
{
	char path[256];
	return open(in_tree(path, rel), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
}

/* The log writes to descriptor 2 while it is the file it was at start-up
 * (tm_log_enable), and not once a program has put another file there. */
static void test_log_follows_stderr(void)
{
	int real = dup(STDERR_FILENO);
	int at_start = temp_file("stderr"), later = temp_file("daemon.log");
	dup2(at_start, STDERR_FILENO);
	tm_log_enable(false);
	tm_warn("to the start-up stderr");
	dup2(later, STDERR_FILENO);
	tm_warn("must not reach the daemon's file");
	dup2(real, STDERR_FILENO); /* before any CHECK prints */
	close(real);
	CHECK(size_of(at_start) > 0, "a warning on the start-up stderr");
	CHECK_EQ(size_of(later), 0, "nothing in a file reusing descriptor 2");
	close(at_start);
	close(later);
}

/* The one-call node mask of start-up agrees with sysfs (no cpuset narrows
 * this test's nodes). */
static void test_allowed_nodes(void)
{
	uint64_t allowed = 0, sysfs = 0;
	char text[256];
	CHECK_EQ(tm_os_allowed_nodes(&allowed), 0, "get_mempolicy answers");
	if (tm_read_text("/sys/devices/system/node/has_memory", text, sizeof(text)) < 0 ||
	    tm_nodelist_parse(text, &sysfs) < 0)
		sysfs = 1;
	CHECK(allowed == sysfs, "allowed nodes %#llx, has_memory %#llx",
	      (unsigned long long)allowed, (unsigned long long)sysfs);
}

/* The kernel's start time of this process and of a forked child, on the
 * clock that stats and the services' delay compare it with. */
static void test_process_start(void)
{
	uint64_t born = tm_os_process_start_ns(), now = tm_os_boot_ns();
	CHECK(born <= now && now - born < 600 * 1000000000ULL,
	      "started %.3f s ago", (double)(now - born) / 1e9);
	usleep(50 * 1000);
	int fds[2];
	CHECK_EQ(pipe(fds), 0, "pipe");
	pid_t pid = fork();
	if (pid == 0) {
		uint64_t child = tm_os_process_start_ns();
		_exit(write(fds[1], &child, sizeof(child)) == sizeof(child) ? 0 : 1);
	}
	uint64_t child = 0;
	CHECK(read(fds[0], &child, sizeof(child)) == sizeof(child), "child's start");
	CHECK(child >= born + 40 * 1000000ULL && child <= tm_os_boot_ns(),
	      "the child started at its fork, %.3f s after its parent",
	      (double)(child - born) / 1e9);
	waitpid(pid, NULL, 0);
	close(fds[0]);
	close(fds[1]);
}

int main(void)
{
	strcpy(tree, "/tmp/tm-prim.XXXXXX");
	if (!mkdtemp(tree))
		return 2;
	test_long_paths();
	test_writes_stay_in_tree();
	test_fd_keep();
	test_log_follows_stderr();
	test_allowed_nodes();
	test_process_start();
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tree);
	int unused = system(cmd);
	(void)unused;
	return check_summary();
}
