/* The process the stats tests look at: run under LD_PRELOAD, it allocates
 * until its stats socket appears (services start after 256 allocations and
 * 20 ms; $VICTIM_WAIT_MS bounds the wait), says "ready PID" (or "nosocket
 * PID"), then obeys lines on stdin. With $VICTIM_EARLY_FORK set, it first
 * forks a child before any service started, which says "early-child stdin
 * open" if the library's fork handling left its descriptors alone.
 *
 *   work N        N rounds of allocate, fill, hash, free; prints "sum HEX",
 *                 the same with any correct malloc
 *   ramp MB SECS  grow the heap to MB MiB and back down over SECS seconds
 *   fork          fork a child that gets its own socket, prints
 *                 "child PID ready|nosocket" and exits cleanly on SIGTERM
 *   usr1          prints "usr1 COUNT THREAD": SIGUSR1s handled so far, and
 *                 whether the main thread handled them all ("main")
 *   exec          exec itself again (same pid: the new image finds the old
 *                 image's socket file) and says "ready PID" once more
 *   closefds PATH close every descriptor but 0-2, as daemons do, then
 *                 open PATH (getting a number the library used) and write
 *                 "app data" to it; prints "closed"
 *   threadexit    the main thread calls pthread_exit
 *   exit          exit(0)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 64
#define WARMUP_NS (5 * 1000000000LL)

static volatile sig_atomic_t usr1_count, usr1_elsewhere;
static pid_t main_tid;

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void socket_path(char *buf, size_t len)
{
	const char *dir = getenv("TIERMALLOC_STATS_DIR");
	if (dir && *dir)
		snprintf(buf, len, "%s/%d.sock", dir, (int)getpid());
	else
		snprintf(buf, len, "/tmp/tiermalloc-%u/%d.sock", (unsigned)geteuid(),
			 (int)getpid());
}

/* Whether something listens on the socket (after an exec, the file of the
 * old image is there before the new image's server is). */
static int listening(const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	int ok = connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0;
	close(fd);
	return ok;
}

/* Allocate until the socket answers (the services need allocations to
 * start), for $VICTIM_WAIT_MS (default five seconds) at most. */
static int warm_up(void)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	const char *wait_ms = getenv("VICTIM_WAIT_MS");
	long long wait_ns = wait_ms ? atoll(wait_ms) * 1000000LL : WARMUP_NS;
	socket_path(addr.sun_path, sizeof(addr.sun_path));
	for (long long end = now_ns() + wait_ns; now_ns() < end;) {
		for (int i = 0; i < 300; i++) {
			void *volatile p = malloc(64 + (size_t)i); /* not elided */
			free(p);
		}
		if (listening(&addr))
			return 1;
		usleep(2000);
	}
	return 0;
}

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static void work(long rounds)
{
	unsigned char *slot[SLOTS] = {0};
	size_t size[SLOTS] = {0};
	uint64_t h = 0xcbf29ce484222325ULL, x = 42;
	for (long r = 0; r < rounds; r++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		int s = (int)(x >> 58);
		if (slot[s])
			h = fnv(h, slot[s], size[s]);
		free(slot[s]);
		size[s] = 1 + (x >> 20) % 20000;
		slot[s] = malloc(size[s]);
		for (size_t i = 0; i < size[s]; i++)
			slot[s][i] = (unsigned char)(x >> (i % 56));
	}
	for (int s = 0; s < SLOTS; s++)
		free(slot[s]);
	printf("sum %016llx\n", (unsigned long long)h);
}

static void ramp(long mb, long secs)
{
	long steps = 50, chunk = mb * (1 << 20) / steps;
	char **blocks = calloc((size_t)steps, sizeof(*blocks));
	useconds_t pause = (useconds_t)(secs * 1000000 / (2 * steps));
	for (long i = 0; i < steps; i++) {
		blocks[i] = malloc((size_t)chunk);
		memset(blocks[i], (int)i, (size_t)chunk);
		usleep(pause);
	}
	for (long i = steps - 1; i >= 0; i--) {
		free(blocks[i]);
		usleep(pause);
	}
	free(blocks);
	printf("ramped\n");
}

static void on_usr1(int sig)
{
	(void)sig;
	usr1_count++;
	if (gettid() != main_tid)
		usr1_elsewhere++;
}

static void child(void)
{
	sigset_t term;
	int sig;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, NULL);
	printf("child %d %s\n", (int)getpid(), warm_up() ? "ready" : "nosocket");
	fflush(stdout);
	sigwait(&term, &sig);
	exit(0); /* cleanly: the atexit handlers remove the socket */
}

static void close_all_then_open(const char *path)
{
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "app data\n", 9) != 9)
		printf("closefds failed\n");
	else
		printf("closed\n"); /* fd stays open until exit */
}

static void run(const char *cmd)
{
	long a = 0, b = 0;
	if (sscanf(cmd, "work %ld", &a) == 1) {
		work(a);
	} else if (sscanf(cmd, "ramp %ld %ld", &a, &b) == 2) {
		ramp(a, b);
	} else if (strcmp(cmd, "fork") == 0) {
		fflush(stdout);
		if (fork() == 0)
			child();
	} else if (strcmp(cmd, "usr1") == 0) {
		printf("usr1 %d %s\n", (int)usr1_count,
		       usr1_elsewhere ? "elsewhere" : "main");
	} else if (strcmp(cmd, "exec") == 0) {
		fflush(stdout);
		execl("/proc/self/exe", "victim", (char *)NULL);
		printf("exec failed\n");
	} else if (strncmp(cmd, "closefds ", 9) == 0) {
		close_all_then_open(cmd + 9);
	} else if (strcmp(cmd, "threadexit") == 0) {
		fflush(stdout);
		pthread_exit(NULL);
	} else if (strcmp(cmd, "exit") == 0) {
		exit(0);
	} else {
		printf("unknown %s\n", cmd);
	}
}

static void early_fork(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		printf("early-child stdin %s\n",
		       fcntl(STDIN_FILENO, F_GETFD) >= 0 ? "open" : "closed");
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
}

int main(void)
{
	char line[256];
	main_tid = gettid();
	if (getenv("VICTIM_EARLY_FORK"))
		early_fork();
	signal(SIGUSR1, on_usr1);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("%s %d\n", warm_up() ? "ready" : "nosocket", (int)getpid());
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = '\0';
		run(line);
	}
	return 0;
}
