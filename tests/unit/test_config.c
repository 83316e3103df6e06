/* The options table and its parsers: every variable, good and bad values. */
#include <stdlib.h>
#include <string.h>

#include "allocator/config.h"
#include "allocator/log.h"
#include "tests/check.h"

static int parse(tm_opt_id id, const char *text, tm_opt_value *v)
{
	char err[160];
	return tm_opt_parse(id, text, v, err, sizeof(err));
}

static void test_defaults_parse(void)
{
	tm_opt_value v;
	for (int i = 0; i < TM_OPT_COUNT; i++) {
		const tm_opt_desc *d = tm_opt_desc_of(i);
		CHECK(strncmp(d->name, "TIERMALLOC_", 11) == 0, "%s prefix", d->name);
		CHECK(d->doc && strlen(d->doc) > 10, "%s has a doc line", d->name);
		CHECK(parse(i, d->def, &v) == 0, "default of %s parses", d->name);
		CHECK_EQ(tm_opt_find(d->name), i, "find %s", d->name);
	}
	CHECK_EQ(tm_opt_find("TIERMALLOC_NOPE"), -1, "unknown name");
}

static void test_bool(void)
{
	tm_opt_value v;
	const char *yes[] = {"1", "true", "YES", "on"}, *no[] = {"0", "false", "no", "Off"};
	for (int i = 0; i < 4; i++) {
		CHECK(parse(TM_OPT_VERBOSE, yes[i], &v) == 0 && v.num == 1, "%s", yes[i]);
		CHECK(parse(TM_OPT_VERBOSE, no[i], &v) == 0 && v.num == 0, "%s", no[i]);
	}
	CHECK(parse(TM_OPT_STATS, "2", &v) < 0, "bool 2");
	CHECK(parse(TM_OPT_STATS, "", &v) < 0, "bool empty");
	CHECK(parse(TM_OPT_STATS, "yess", &v) < 0, "bool yess");
	CHECK(parse(TM_OPT_STATS, "ye", &v) < 0, "bool ye");
	CHECK(parse(TM_OPT_STATS, "tRuE", &v) == 0 && v.num == 1, "bool tRuE");
	CHECK(parse(TM_OPT_STATS, "o\xce", &v) < 0, "bool with a byte that folds to n");
	CHECK(parse(TM_OPT_STATS, "\x11", &v) < 0, "bool: a control byte is not 1");
	CHECK(parse(TM_OPT_STATS, "\x10", &v) < 0, "bool: a control byte is not 0");
}

static void test_int(void)
{
	tm_opt_value v;
	CHECK(parse(TM_OPT_SCAN_MS, "250", &v) == 0 && v.num == 250, "250");
	CHECK(parse(TM_OPT_SCAN_MS, "9", &v) < 0, "below min");
	CHECK(parse(TM_OPT_SCAN_MS, "3600001", &v) < 0, "above max");
	CHECK(parse(TM_OPT_SCAN_MS, "-5", &v) < 0, "negative");
	CHECK(parse(TM_OPT_SCAN_MS, "12ms", &v) < 0, "unit");
	CHECK(parse(TM_OPT_SCAN_MS, "99999999999999999999999", &v) < 0, "overflow");
	CHECK(parse(TM_OPT_MIGRATE_MBPS, "0", &v) == 0 && v.num == 0, "0 MB/s");
	CHECK(parse(TM_OPT_ARENAS, "65", &v) < 0, "arenas max");
	CHECK(parse(TM_OPT_ARENAS, "", &v) < 0, "empty int");
}

static void test_size_and_quota(void)
{
	tm_opt_value v;
	CHECK(parse(TM_OPT_THRESHOLD, "4096", &v) == 0 && v.num == 4096, "plain");
	CHECK(parse(TM_OPT_THRESHOLD, "64K", &v) == 0 && v.num == 65536, "64K");
	CHECK(parse(TM_OPT_THRESHOLD, "64kib", &v) == 0 && v.num == 65536, "64kib");
	CHECK(parse(TM_OPT_THRESHOLD, "2MB", &v) == 0 && v.num == 2 << 20, "2MB");
	CHECK(parse(TM_OPT_THRESHOLD, "3g", &v) == 0 && v.num == 3LL << 30, "3g");
	CHECK(parse(TM_OPT_THRESHOLD, "1T", &v) == 0 && v.num == 1LL << 40, "1T");
	CHECK(parse(TM_OPT_THRESHOLD, "1X", &v) < 0, "unit X");
	CHECK(parse(TM_OPT_THRESHOLD, "64 ", &v) < 0, "trailing space");
	CHECK(parse(TM_OPT_THRESHOLD, "64k ", &v) < 0, "space after the unit");
	CHECK(parse(TM_OPT_THRESHOLD, "M", &v) < 0, "no number");
	CHECK(parse(TM_OPT_THRESHOLD, "1.5G", &v) < 0, "fraction");
	CHECK(parse(TM_OPT_THRESHOLD, "16777216T", &v) < 0, "overflow T");
	CHECK(parse(TM_OPT_DRAM_LIMIT, "64M", &v) == 0 && v.num == 64 << 20 && v.num2 == 0, "quota bytes");
	CHECK(parse(TM_OPT_DRAM_LIMIT, "25%", &v) == 0 && v.num == -1 && v.num2 == 25, "quota 25%%");
	CHECK(parse(TM_OPT_DRAM_LIMIT, "0%", &v) < 0, "0%%");
	CHECK(parse(TM_OPT_DRAM_LIMIT, "101%", &v) < 0, "101%%");
	CHECK(parse(TM_OPT_DRAM_LIMIT, "%", &v) < 0, "bare %%");
	CHECK(parse(TM_OPT_DRAM_LIMIT, "12.5%", &v) < 0, "fractional %%");
	CHECK(parse(TM_OPT_DRAM_LIMIT, "0", &v) == 0 && v.num == 0, "quota 0");
}

static void test_ratio_enum_string(void)
{
	tm_opt_value v;
	CHECK(parse(TM_OPT_RATIO, "1:3", &v) == 0 && v.num == 1 && v.num2 == 3, "1:3");
	CHECK(parse(TM_OPT_RATIO, "0:3", &v) < 0, "0:3");
	CHECK(parse(TM_OPT_RATIO, "1:1001", &v) < 0, "1:1001");
	CHECK(parse(TM_OPT_RATIO, "1:", &v) < 0, "1:");
	CHECK(parse(TM_OPT_RATIO, "1:2:3", &v) < 0, "1:2:3");
	CHECK(parse(TM_OPT_RATIO, "13", &v) < 0, "13");
	CHECK(parse(TM_OPT_POLICY, "ratio", &v) == 0 && v.num == TM_POLICY_RATIO, "ratio");
	CHECK(parse(TM_OPT_POLICY, "heat", &v) == 0 && v.num == TM_POLICY_HEAT, "heat");
	CHECK(parse(TM_OPT_POLICY, "Ratio", &v) < 0, "case matters");
	CHECK(parse(TM_OPT_HEAT, "damon", &v) == 0, "damon");
	CHECK(parse(TM_OPT_HEAT, "pebs", &v) < 0, "pebs");
	char longtext[400];
	memset(longtext, 'a', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';
	CHECK(parse(TM_OPT_TIERS, longtext, &v) < 0, "string too long");
	CHECK(parse(TM_OPT_TIERS, "0;1", &v) == 0 && strcmp(v.str, "0;1") == 0, "string");
}

static int changes;
static void count_change(tm_opt_id id) { changes++; }

static void test_load_and_set(void)
{
	char *env[] = {"PATH=/bin", "TIERMALLOC_POLICY=ratio", "TIERMALLOC_RATIO=bad",
		       "TIERMALLOC_SCAN_MS=50", "TIERMALLOC_", "TIERMALLOC_X=1", NULL};
	unsigned long before = tm_log_warning_count();
	tm_config_load(env, false);
	CHECK_EQ(tm_log_warning_count() - before, 2, "one warning per bad variable");
	CHECK_EQ(tm_opt_num(TM_OPT_POLICY), TM_POLICY_RATIO, "env policy");
	CHECK_EQ(tm_opt_src(TM_OPT_POLICY), TM_SRC_ENV, "env source");
	CHECK_EQ(tm_opt_num(TM_OPT_RATIO), 1, "bad ratio keeps default");
	CHECK_EQ(tm_opt_src(TM_OPT_RATIO), TM_SRC_DEFAULT, "default source");
	CHECK_EQ(tm_opt_num(TM_OPT_SCAN_MS), 50, "scan ms");

	char err[160], buf[64];
	tm_config_on_change(count_change);
	CHECK(tm_config_set("TIERMALLOC_DRAM_LIMIT", "25%", err, sizeof(err)) == 0, "set quota");
	CHECK_EQ(tm_opt_src(TM_OPT_DRAM_LIMIT), TM_SRC_SET, "set source");
	tm_opt_format(TM_OPT_DRAM_LIMIT, buf, sizeof(buf));
	CHECK(strcmp(buf, "25%") == 0, "format quota: %s", buf);
	CHECK(tm_config_set("TIERMALLOC_TIERS", "0", err, sizeof(err)) < 0, "not live");
	CHECK(strstr(err, "cannot change") != NULL, "reason: %s", err);
	CHECK(tm_config_set("TIERMALLOC_SCAN_MS", "1", err, sizeof(err)) < 0, "bad live value");
	CHECK(tm_config_set("NOPE", "1", err, sizeof(err)) < 0, "unknown");
	CHECK_EQ(changes, 1, "one change notified");
	tm_opt_format(TM_OPT_POLICY, buf, sizeof(buf));
	CHECK(strcmp(buf, "ratio") == 0, "format enum: %s", buf);
	tm_opt_format(TM_OPT_RATIO, buf, sizeof(buf));
	CHECK(strcmp(buf, "1:1") == 0, "format ratio: %s", buf);
}

/* Under AT_SECURE the variables that name paths or drive shared kernel
 * interfaces keep their defaults, with one warning; the others are read. */
static void test_secure(void)
{
	const tm_opt_id trusted[] = {TM_OPT_SYSFS, TM_OPT_STATS_DIR, TM_OPT_HEAT,
				     TM_OPT_STATS};
	for (size_t i = 0; i < sizeof(trusted) / sizeof(trusted[0]); i++)
		CHECK(tm_opt_desc_of(trusted[i])->trusted_only, "%s is trusted_only",
		      tm_opt_desc_of(trusted[i])->name);
	char *env[] = {"TIERMALLOC_SYSFS=/tmp/fake", "TIERMALLOC_STATS_DIR=/etc",
		       "TIERMALLOC_HEAT=damon", "TIERMALLOC_POLICY=ratio", NULL};
	unsigned long before = tm_log_warning_count();
	tm_config_load(env, true);
	CHECK_EQ(tm_log_warning_count() - before, 1, "one warning for all three");
	CHECK(strcmp(tm_opt_str(TM_OPT_SYSFS), "/sys") == 0, "sysfs default");
	CHECK_EQ(tm_opt_src(TM_OPT_SYSFS), TM_SRC_DEFAULT, "sysfs source");
	CHECK(tm_opt_str(TM_OPT_STATS_DIR)[0] == '\0', "stats dir default");
	CHECK_EQ(tm_opt_num(TM_OPT_HEAT), 0, "heat default (auto)");
	CHECK_EQ(tm_opt_num(TM_OPT_POLICY), TM_POLICY_RATIO, "policy still read");
	CHECK_EQ(tm_opt_num(TM_OPT_STATS), 0, "no stats socket");
	before = tm_log_warning_count();
	tm_config_load(env, false);
	CHECK_EQ(tm_log_warning_count() - before, 0, "no warning without AT_SECURE");
	CHECK(strcmp(tm_opt_str(TM_OPT_STATS_DIR), "/etc") == 0, "stats dir read");
	CHECK_EQ(tm_opt_num(TM_OPT_STATS), 1, "stats on by default");
	/* A string set once and then left to its default reads the default. */
	tm_config_load((char *[]){NULL}, false);
	CHECK(tm_opt_str(TM_OPT_STATS_DIR)[0] == '\0', "stats dir back to its default");
	CHECK(strcmp(tm_opt_str(TM_OPT_SYSFS), "/sys") == 0, "sysfs default again");
}

int main(void)
{
	test_defaults_parse();
	test_bool();
	test_int();
	test_size_and_quota();
	test_ratio_enum_string();
	test_load_and_set();
	test_secure();
	return check_summary();
}
