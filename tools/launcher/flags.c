#include "tools/launcher/flags.h"

#include <string.h>

const tm_flag tm_flags[] = {
	{"policy", TM_OPT_POLICY, NULL},
	{"dram-limit", TM_OPT_DRAM_LIMIT, NULL},
	{"ratio", TM_OPT_RATIO, NULL},
	{"threshold", TM_OPT_THRESHOLD, NULL},
	{"heat", TM_OPT_HEAT, NULL},
	{"scan-ms", TM_OPT_SCAN_MS, NULL},
	{"tiers", TM_OPT_TIERS, NULL},
	{"stats-dir", TM_OPT_STATS_DIR, NULL},
	{"verbose", -1, "set TIERMALLOC_VERBOSE=1: the library reports what it "
		"found and chose at start-up, on stderr"},
	{"print-tiers", -1, "show the tiers the library finds on this machine "
		"(with the options given before it) and exit"},
	{"help", -1, "show this help and exit"},
	{"version", -1, "show the version and exit"},
	{NULL, -1, NULL},
};

const tm_flag *tm_flag_find(const char *name)
{
	for (const tm_flag *f = tm_flags; f->name; f++)
		if (!strcmp(f->name, name))
			return f;
	return NULL;
}

const char *tm_flag_doc(const tm_flag *f)
{
	return f->opt < 0 ? f->doc : tm_opt_desc_of(f->opt)->doc;
}

const char *tm_flag_arg(const tm_flag *f)
{
	static const char *const args[] = {"BOOL", "N", "SIZE", "SIZE|PCT%",
					   "FAST:SLOW", "NAME", "TEXT"};
	return f->opt < 0 ? NULL : args[tm_opt_desc_of(f->opt)->type];
}
