/* tiermalloc: run a program with libtiermalloc preloaded.
 *
 *   tiermalloc [OPTIONS] [--] PROGRAM [ARGS...]
 *
 * Options become TIERMALLOC_* variables, checked with the library's own
 * parsers (allocator/config.c is linked in), so a value the launcher accepts
 * is one the library accepts. The program is exec'ed, not run as a child:
 * its pid, signals and exit status are its own. C rather than a shell script
 * so that no shell is started per exec. */
#define _GNU_SOURCE /* asprintf, RTLD_DEFAULT */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "include/tiermalloc.h"
#include "tools/launcher/flags.h"

#ifndef TM_PRELOAD_PATH
#error "TM_PRELOAD_PATH: the library's installed path, set by the build"
#endif

/* Exit statuses of the launcher itself, as env(1) and nohup(1) use them. */
enum { EXIT_USAGE = 125, EXIT_CANNOT_RUN = 126, EXIT_NOT_FOUND = 127 };

static void usage(FILE *out)
{
	fprintf(out, "usage: tiermalloc [OPTIONS] [--] PROGRAM [ARGS...]\n"
		     "Run PROGRAM with %s preloaded.\n\n", TM_PRELOAD_PATH);
	for (const tm_flag *f = tm_flags; f->name; f++) {
		const char *arg = tm_flag_arg(f);
		fprintf(out, "  --%s%s%s\n      %s\n", f->name, arg ? "=" : "",
			arg ? arg : "", tm_flag_doc(f));
	}
	fprintf(out, "\nSee tiermalloc(1) and, for every variable, tiermalloc(7).\n");
}

static _Noreturn void die(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void die(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "tiermalloc: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	if (status == EXIT_USAGE)
		fprintf(stderr, "Try 'tiermalloc --help'.\n");
	exit(status);
}

/* Check value as the library would parse it, then export it. */
static void set_option(const tm_flag *f, const char *value)
{
	const tm_opt_desc *d = tm_opt_desc_of(f->opt);
	tm_opt_value v;
	char err[160];

	if (tm_opt_parse(f->opt, value, &v, err, sizeof(err)) < 0)
		die(EXIT_USAGE, "--%s=%s: %s", f->name, value, err);
	setenv(d->name, value, 1);
}

/* Our library first, as the first malloc in LD_PRELOAD is the one every
 * program uses; whatever was preloaded already stays after it. */
static void preload(void)
{
	const char *old = getenv("LD_PRELOAD");
	char *both;

	if (!old || !*old) {
		setenv("LD_PRELOAD", TM_PRELOAD_PATH, 1);
		return;
	}
	if (asprintf(&both, "%s:%s", TM_PRELOAD_PATH, old) < 0)
		die(EXIT_CANNOT_RUN, "out of memory");
	setenv("LD_PRELOAD", both, 1);
	free(both);
}

/* Under the library (the second pass below), ask it; otherwise rerun this
 * launcher under it with TIERMALLOC_VERBOSE=1, whose start-up report is the
 * library's own account of the tiers it found. The report goes to stderr;
 * for this command it is the output, so stderr is pointed at stdout. */
static _Noreturn void print_tiers(char **argv)
{
	int (*count)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "tm_tier_count");

	const char *pre = getenv("LD_PRELOAD");

	if (count) {
		int n = count();
		printf("%d tier%s\n", n, n == 1 ? "" : "s");
		exit(0);
	}
	/* Already rerun, and ld.so said why it could not load the library. */
	if (pre && !strncmp(pre, TM_PRELOAD_PATH, strlen(TM_PRELOAD_PATH)))
		die(EXIT_CANNOT_RUN, "%s did not load", TM_PRELOAD_PATH);
	setenv("TIERMALLOC_VERBOSE", "1", 1);
	preload();
	fflush(stdout);
	dup2(STDOUT_FILENO, STDERR_FILENO);
	execv("/proc/self/exe", argv);
	die(EXIT_CANNOT_RUN, "cannot rerun itself: %s", strerror(errno));
}

static _Noreturn void run(char **prog)
{
	preload();
	execvp(prog[0], prog);
	die(errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN, "%s: %s",
	    prog[0], strerror(errno));
}

/* Flags without a variable act at once: --help and --version exit,
 * --print-tiers runs (with the variables set so far). */
static void act(const tm_flag *f, char **argv)
{
	if (!strcmp(f->name, "verbose")) {
		setenv("TIERMALLOC_VERBOSE", "1", 1);
		return;
	}
	if (!strcmp(f->name, "print-tiers"))
		print_tiers(argv);
	if (!strcmp(f->name, "help"))
		usage(stdout);
	else
		printf("tiermalloc %d.%d\n", TM_VERSION_MAJOR, TM_VERSION_MINOR);
	exit(0);
}

/* One "--name[=value]" (the value may be the next argument); returns how
 * many arguments it took. */
static int option(char **argv, int i)
{
	char name[64];
	const char *arg = argv[i] + 2, *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	const tm_flag *f;

	snprintf(name, sizeof(name), "%.*s", (int)len, arg);
	f = len < sizeof(name) ? tm_flag_find(name) : NULL;
	if (!f)
		die(EXIT_USAGE, "unknown option %s", argv[i]);
	if (f->opt < 0) {
		if (eq)
			die(EXIT_USAGE, "--%s takes no value", f->name);
		act(f, argv);
		return 1;
	}
	if (eq) {
		set_option(f, eq + 1);
		return 1;
	}
	if (!argv[i + 1])
		die(EXIT_USAGE, "--%s needs a value", f->name);
	set_option(f, argv[i + 1]);
	return 2;
}

int main(int argc, char **argv)
{
	int i = 1;

	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (argv[i][1] != '-')
			die(EXIT_USAGE, "unknown option %s", argv[i]);
		i += option(argv, i);
	}
	if (i >= argc)
		die(EXIT_USAGE, "no program to run");
	run(&argv[i]);
}
