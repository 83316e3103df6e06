#include "allocator/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allocator/log.h"

static const char *const policy_names[] = {"dram-first", "ratio", "threshold",
					   "heat", NULL};
static const char *const heat_names[] = {"auto", "perf", "damon", "uffd",
					 "hints", "none", NULL};

static const tm_opt_desc opt_table[TM_OPT_COUNT] = {
	[TM_OPT_VERBOSE] = {"TIERMALLOC_VERBOSE", TM_TYPE_BOOL, "0",
		"print what was found and chosen at start-up, on stderr"},
	[TM_OPT_TIERS] = {"TIERMALLOC_TIERS", TM_TYPE_STRING, "",
		"tiers as NUMA node lists, fastest first: \"0;1\" or \"0,2;1,3\" "
		"(default: discovered)"},
	[TM_OPT_SYSFS] = {"TIERMALLOC_SYSFS", TM_TYPE_STRING, "/sys",
		"root of the sysfs tree read for tier discovery (for tests)",
		.trusted_only = true},
	[TM_OPT_POLICY] = {"TIERMALLOC_POLICY", TM_TYPE_ENUM, "heat",
		"placement of new allocations: dram-first, ratio, threshold, heat",
		policy_names, .live = true},
	[TM_OPT_DRAM_LIMIT] = {"TIERMALLOC_DRAM_LIMIT", TM_TYPE_QUOTA, "100%",
		"cap on this process's heap in the fastest tier: bytes "
		"(K/M/G suffixes) or a percentage of that tier",
		.live = true},
	[TM_OPT_RATIO] = {"TIERMALLOC_RATIO", TM_TYPE_RATIO, "1:1",
		"fast:slow bytes for the ratio policy", .live = true},
	[TM_OPT_THRESHOLD] = {"TIERMALLOC_THRESHOLD", TM_TYPE_SIZE, "64K",
		"threshold policy: requests of at least this size go to the "
		"slow tier", .live = true},
	[TM_OPT_ARENAS] = {"TIERMALLOC_ARENAS", TM_TYPE_INT, "0",
		"jemalloc arenas per tier (0: one per CPU, at most 8)",
		.min = 0, .max = 64},
	[TM_OPT_HUGEPAGE] = {"TIERMALLOC_HUGEPAGE", TM_TYPE_BOOL, "1",
		"advise transparent huge pages for the 2 MiB-aligned interior of "
		"allocations of 2 MiB or more"},
	[TM_OPT_HEAT] = {"TIERMALLOC_HEAT", TM_TYPE_ENUM, "auto",
		"heat source: auto (best available), perf, damon, uffd, hints, "
		"none; naming one also tracks heat on a one-node machine",
		heat_names, .trusted_only = true},
	[TM_OPT_SCAN_MS] = {"TIERMALLOC_SCAN_MS", TM_TYPE_INT, "1000",
		"period of heat sampling and migration, in milliseconds",
		.min = 10, .max = 3600000, .live = true},
	[TM_OPT_HEAT_CPU] = {"TIERMALLOC_HEAT_CPU", TM_TYPE_INT, "3",
		"percent of one CPU that heat tracking may cost the program "
		"(write faults, timed where they happen); a settled program "
		"whose measurements cost more is measured less often",
		.min = 1, .max = 50},
	[TM_OPT_MIGRATE_MBPS] = {"TIERMALLOC_MIGRATE_MBPS", TM_TYPE_INT, "256",
		"cap on page migration, MiB per second (0: no migration)",
		.min = 0, .max = 1000000, .live = true},
	[TM_OPT_STATS] = {"TIERMALLOC_STATS", TM_TYPE_BOOL, "1",
		"serve live statistics on a Unix socket (off under AT_SECURE)",
		.trusted_only = true},
	[TM_OPT_STATS_DIR] = {"TIERMALLOC_STATS_DIR", TM_TYPE_STRING, "",
		"directory of the stats socket (default /tmp/tiermalloc-<uid>)",
		.trusted_only = true},
};

/* The values as set. Strings are apart, on memory of their own (not
 * gathered with start-up's variables: exec.ld): only a string option set
 * in the environment writes them, a default is read from the table. So
 * storing every default at exec writes 240 bytes, not 4 KiB over two
 * pages. */
static struct {
	int64_t num, num2;
} opt_values[TM_OPT_COUNT];
static char opt_strings[TM_OPT_COUNT][sizeof(((tm_opt_value *)0)->str)]
	__attribute__((section(".bss.tm_opt_strings")));
static tm_opt_source opt_sources[TM_OPT_COUNT];
static void (*change_hook)(tm_opt_id id);

const tm_opt_desc *tm_opt_desc_of(tm_opt_id id)
{
	return &opt_table[id];
}

int tm_opt_find(const char *name)
{
	for (int i = 0; i < TM_OPT_COUNT; i++)
		if (strcmp(opt_table[i].name, name) == 0)
			return i;
	return -1;
}

/* Reasons are written into err; all parsers return 0 or -1. */
#define FAIL(...) (snprintf(err, errlen, __VA_ARGS__), -1)

/* Not isdigit: its locale table is one more page fault at every exec,
 * where the defaults are parsed. */
static bool digit(char c)
{
	return c >= '0' && c <= '9';
}

static int parse_uint(const char **p, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	if (!digit(*s))
		return -1;
	for (; digit(*s); s++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	*out = v;
	return 0;
}

/* Whether s is word (lower case) in any case. libc's strcasecmp would
 * fault in two pages of libc at every exec (its code and the locale's
 * table), for the defaults parsed at start-up. */
static bool same_word(const char *s, const char *word)
{
	for (; *word; s++, word++)
		if ((*s >= 'A' && *s <= 'Z' ? *s - 'A' + 'a' : *s) != *word)
			return false;
	return *s == '\0';
}

static int parse_bool(const char *s, int64_t *out, char *err, size_t errlen)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off"};
	for (size_t i = 0; i < 4; i++) {
		if (same_word(s, yes[i]))
			return *out = 1, 0;
		if (same_word(s, no[i]))
			return *out = 0, 0;
	}
	return FAIL("expected 1/0, true/false, yes/no or on/off");
}

static int parse_int(const tm_opt_desc *d, const char *s, int64_t *out,
		     char *err, size_t errlen)
{
	uint64_t v;
	const char *p = s;
	if (parse_uint(&p, &v) < 0 || *p != '\0')
		return FAIL("expected a decimal integer");
	if ((int64_t)v < d->min || v > (uint64_t)d->max)
		return FAIL("out of range %lld..%lld", (long long)d->min,
			    (long long)d->max);
	*out = (int64_t)v;
	return 0;
}

static int parse_size(const char *s, int64_t *out, char *err, size_t errlen)
{
	static const char units[] = "KMGTkmgt"; /* not toupper: see digit() */
	uint64_t v;
	const char *p = s;
	if (parse_uint(&p, &v) < 0)
		return FAIL("expected a size such as 512K, 64M or 2G");
	unsigned shift = 0;
	const char *u = *p ? strchr(units, *p) : NULL;
	if (u) {
		shift = 10 * (unsigned)((u - units) % 4 + 1);
		p++;
		if (*p == 'i' || *p == 'I')
			p++;
	}
	if (*p == 'b' || *p == 'B')
		p++;
	if (*p != '\0')
		return FAIL("unknown unit; use K, M, G or T");
	if (shift && v > (UINT64_MAX >> 1) >> shift)
		return FAIL("too large");
	if ((v << shift) > INT64_MAX)
		return FAIL("too large");
	*out = (int64_t)(v << shift);
	return 0;
}

static int parse_quota(const char *s, tm_opt_value *out, char *err,
		       size_t errlen)
{
	size_t n = strlen(s);
	if (n == 0 || s[n - 1] != '%')
		return out->num2 = 0, parse_size(s, &out->num, err, errlen);
	uint64_t pct;
	const char *p = s;
	if (parse_uint(&p, &pct) < 0 || p != s + n - 1 || pct < 1 || pct > 100)
		return FAIL("a percentage must be a whole number in 1..100");
	out->num = -1;
	out->num2 = (int64_t)pct;
	return 0;
}

static int parse_ratio(const char *s, tm_opt_value *out, char *err,
		       size_t errlen)
{
	uint64_t a, b;
	const char *p = s;
	if (parse_uint(&p, &a) < 0 || *p++ != ':' || parse_uint(&p, &b) < 0 ||
	    *p != '\0')
		return FAIL("expected FAST:SLOW, such as 1:3");
	if (a < 1 || a > 1000 || b < 1 || b > 1000)
		return FAIL("both terms must be in 1..1000");
	out->num = (int64_t)a;
	out->num2 = (int64_t)b;
	return 0;
}

/* Add item to the comma-separated list (truncated if it does not fit). */
static void list_add(char *list, size_t len, const char *item)
{
	size_t used = strlen(list);
	snprintf(list + used, len - used, "%s%s", used ? ", " : "", item);
}

static int parse_enum(const tm_opt_desc *d, const char *s, int64_t *out,
		      char *err, size_t errlen)
{
	for (int i = 0; d->choices[i]; i++)
		if (strcmp(s, d->choices[i]) == 0)
			return *out = i, 0;
	char list[128] = "";
	for (int i = 0; d->choices[i]; i++)
		list_add(list, sizeof(list), d->choices[i]);
	return FAIL("expected one of: %s", list);
}

int tm_opt_parse(tm_opt_id id, const char *text, tm_opt_value *out, char *err,
		 size_t errlen)
{
	const tm_opt_desc *d = &opt_table[id];
	memset(out, 0, sizeof(*out));
	if (strlen(text) >= sizeof(out->str))
		return FAIL("longer than %zu characters", sizeof(out->str) - 1);
	strcpy(out->str, text);
	switch (d->type) {
	case TM_TYPE_BOOL:
		return parse_bool(text, &out->num, err, errlen);
	case TM_TYPE_INT:
		return parse_int(d, text, &out->num, err, errlen);
	case TM_TYPE_SIZE:
		return parse_size(text, &out->num, err, errlen);
	case TM_TYPE_QUOTA:
		return parse_quota(text, out, err, errlen);
	case TM_TYPE_RATIO:
		return parse_ratio(text, out, err, errlen);
	case TM_TYPE_ENUM:
		return parse_enum(d, text, &out->num, err, errlen);
	case TM_TYPE_STRING:
		return 0;
	}
	return FAIL("unknown option type");
}

/* Live options are read by other threads while set: the numbers are stored
 * with atomic writes so a reader never sees a torn value. */
static void store_value(tm_opt_id id, const tm_opt_value *v, tm_opt_source src)
{
	__atomic_store_n(&opt_values[id].num2, v->num2, __ATOMIC_RELAXED);
	__atomic_store_n(&opt_values[id].num, v->num, __ATOMIC_RELEASE);
	if (opt_table[id].type == TM_TYPE_STRING && !opt_table[id].live &&
	    src != TM_SRC_DEFAULT)
		memcpy(opt_strings[id], v->str, sizeof(v->str));
	opt_sources[id] = src;
}

static void load_defaults(void)
{
	char err[128];
	tm_opt_value v;
	for (int i = 0; i < TM_OPT_COUNT; i++) {
		int rc = tm_opt_parse(i, opt_table[i].def, &v, err, sizeof(err));
		(void)rc; /* defaults are checked by the unit tests */
		store_value(i, &v, TM_SRC_DEFAULT);
	}
}

/* Names of the trusted_only variables set under AT_SECURE, for one
 * warning. */
typedef struct {
	bool secure;
	char names[256];
} untrusted;

static void load_one(const char *entry, untrusted *u)
{
	const char *eq = strchr(entry, '=');
	char name[64];
	size_t n = (size_t)(eq - entry);
	if (n >= sizeof(name)) {
		tm_warn("%.63s...: unknown variable, ignored", entry);
		return;
	}
	memcpy(name, entry, n);
	name[n] = '\0';
	int id = tm_opt_find(name);
	if (id < 0) {
		tm_warn("%s: unknown variable, ignored", name);
		return;
	}
	if (u->secure && opt_table[id].trusted_only) {
		list_add(u->names, sizeof(u->names), name);
		return;
	}
	char err[160];
	tm_opt_value v;
	if (tm_opt_parse(id, eq + 1, &v, err, sizeof(err)) < 0) {
		tm_warn("%s=%.64s: %s; using the default %s", name, eq + 1, err,
			opt_table[id].def[0] ? opt_table[id].def : "(none)");
		return;
	}
	store_value(id, &v, TM_SRC_ENV);
}

void tm_config_load(char *const *envp, bool secure)
{
	static const char prefix[] = "TIERMALLOC_";
	load_defaults();
	/* Verbosity first, so that warnings about the others are printed. */
	int64_t verbose = 0;
	for (char *const *e = envp; e && *e; e++)
		if (strncmp(*e, "TIERMALLOC_VERBOSE=", 19) == 0 &&
		    parse_bool(*e + 19, &verbose, NULL, 0) < 0)
			verbose = 0;
	tm_log_enable(verbose);
	untrusted u = {.secure = secure};
	for (char *const *e = envp; e && *e; e++)
		if (strncmp(*e, prefix, sizeof(prefix) - 1) == 0 && strchr(*e, '='))
			load_one(*e, &u);
	if (u.names[0])
		tm_warn("running setuid, setgid or with capabilities (AT_SECURE): "
			"%s ignored, using the defaults", u.names);
	/* A setgid program's socket would pass its invoker's same-user check
	 * and show them the program's memory, which the kernel hides from
	 * them (the program is not dumpable): no socket. */
	if (secure)
		store_value(TM_OPT_STATS, &(tm_opt_value){.num = 0}, TM_SRC_DEFAULT);
}

int tm_config_set(const char *name, const char *text, char *err, size_t errlen)
{
	int id = tm_opt_find(name);
	if (id < 0)
		return FAIL("unknown variable %s", name);
	if (!opt_table[id].live)
		return FAIL("%s cannot change while the program runs", name);
	tm_opt_value v;
	if (tm_opt_parse(id, text, &v, err, errlen) < 0)
		return -1;
	store_value(id, &v, TM_SRC_SET);
	if (change_hook)
		change_hook(id);
	return 0;
}

int64_t tm_opt_num(tm_opt_id id)
{
	return __atomic_load_n(&opt_values[id].num, __ATOMIC_ACQUIRE);
}

int64_t tm_opt_num2(tm_opt_id id)
{
	return __atomic_load_n(&opt_values[id].num2, __ATOMIC_RELAXED);
}

const char *tm_opt_str(tm_opt_id id)
{
	return opt_sources[id] == TM_SRC_DEFAULT ? opt_table[id].def : opt_strings[id];
}

tm_opt_source tm_opt_src(tm_opt_id id)
{
	return opt_sources[id];
}

const char *tm_opt_src_name(tm_opt_source src)
{
	static const char *const names[] = {"default", "environment", "set"};
	return names[src];
}

void tm_opt_format(tm_opt_id id, char *buf, size_t len)
{
	const tm_opt_desc *d = &opt_table[id];
	int64_t a = tm_opt_num(id), b = tm_opt_num2(id);
	switch (d->type) {
	case TM_TYPE_BOOL:
	case TM_TYPE_INT:
	case TM_TYPE_SIZE:
		snprintf(buf, len, "%lld", (long long)a);
		break;
	case TM_TYPE_QUOTA:
		if (a < 0)
			snprintf(buf, len, "%lld%%", (long long)b);
		else
			snprintf(buf, len, "%lld", (long long)a);
		break;
	case TM_TYPE_RATIO:
		snprintf(buf, len, "%lld:%lld", (long long)a, (long long)b);
		break;
	case TM_TYPE_ENUM:
		snprintf(buf, len, "%s", d->choices[a]);
		break;
	case TM_TYPE_STRING:
		snprintf(buf, len, "%s", tm_opt_str(id));
		break;
	}
}

void tm_config_on_change(void (*fn)(tm_opt_id id))
{
	change_hook = fn;
}
