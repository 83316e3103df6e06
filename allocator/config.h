/* Every TIERMALLOC_* variable, as one table: name, type, default, doc.
 *
 * Values are parsed once from the environment at start-up; a bad value gives
 * one warning line naming the variable, the value and why, and the default is
 * kept. Options marked live may be changed later (tierstat set); options
 * marked trusted_only are not read under AT_SECURE. */
#ifndef TM_CONFIG_H
#define TM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
	TM_OPT_VERBOSE,
	TM_OPT_TIERS,
	TM_OPT_SYSFS,
	TM_OPT_POLICY,
	TM_OPT_DRAM_LIMIT,
	TM_OPT_RATIO,
	TM_OPT_THRESHOLD,
	TM_OPT_ARENAS,
	TM_OPT_HUGEPAGE,
	TM_OPT_HEAT,
	TM_OPT_SCAN_MS,
	TM_OPT_HEAT_CPU,
	TM_OPT_MIGRATE_MBPS,
	TM_OPT_STATS,
	TM_OPT_STATS_DIR,
	TM_OPT_COUNT
} tm_opt_id;

typedef enum {
	TM_TYPE_BOOL,   /* 1/0, true/false, yes/no, on/off */
	TM_TYPE_INT,    /* decimal integer in [min, max] */
	TM_TYPE_SIZE,   /* bytes, with an optional K/M/G/T suffix (powers of 2) */
	TM_TYPE_QUOTA,  /* a size, or a percentage such as 25% */
	TM_TYPE_RATIO,  /* A:B, both in 1..1000 */
	TM_TYPE_ENUM,   /* one of the listed choices */
	TM_TYPE_STRING, /* free text, validated by its user */
} tm_opt_type;

typedef enum { TM_SRC_DEFAULT, TM_SRC_ENV, TM_SRC_SET } tm_opt_source;

typedef struct {
	const char *name;
	tm_opt_type type;
	const char *def;
	const char *doc;
	const char *const *choices; /* TM_TYPE_ENUM, NULL-terminated */
	int64_t min, max;           /* TM_TYPE_INT */
	bool live;                  /* may change while the program runs */
	/* Ignored under AT_SECURE (setuid, setgid, file capabilities): names a
	 * path, or has a privileged process drive kernel interfaces shared by
	 * the whole machine. The caller's environment is not the program
	 * owner's there. */
	bool trusted_only;
} tm_opt_desc;

/* A parsed value. num holds bools, ints, sizes, enum indexes and the first
 * ratio term; num2 the second ratio term or, for a quota given as a
 * percentage, the percentage (num is then -1). */
typedef struct {
	int64_t num;
	int64_t num2;
	char str[256];
} tm_opt_value;

#define TM_POLICY_DRAM_FIRST 0
#define TM_POLICY_RATIO 1
#define TM_POLICY_THRESHOLD 2
#define TM_POLICY_HEAT 3

const tm_opt_desc *tm_opt_desc_of(tm_opt_id id);

/* Option id by its full name (TIERMALLOC_...), or -1. */
int tm_opt_find(const char *name);

/* Parse text as option id's type. Returns 0, or -1 with a reason in err. */
int tm_opt_parse(tm_opt_id id, const char *text, tm_opt_value *out,
		 char *err, size_t errlen);

/* Read every TIERMALLOC_* variable from envp. Allocates nothing. secure:
 * the process runs with AT_SECURE; trusted_only variables are then ignored,
 * with one warning naming them. */
void tm_config_load(char *const *envp, bool secure);

/* Change a live option. Returns 0, or -1 with a reason in err. */
int tm_config_set(const char *name, const char *text, char *err,
		  size_t errlen);

/* Current value and where it came from. */
int64_t tm_opt_num(tm_opt_id id);
int64_t tm_opt_num2(tm_opt_id id);
const char *tm_opt_str(tm_opt_id id);
tm_opt_source tm_opt_src(tm_opt_id id);
const char *tm_opt_src_name(tm_opt_source src);

/* The value as text, as a user would write it. */
void tm_opt_format(tm_opt_id id, char *buf, size_t len);

/* Called after a live option changed (set by the owner of the dependents). */
void tm_config_on_change(void (*fn)(tm_opt_id id));

#endif
