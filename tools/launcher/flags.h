/* The launcher's options, one table shared by the launcher (parsing, --help)
 * and tools/options_doc (the OPTIONS section of tiermalloc(1)), so the man
 * page cannot drift from what the launcher accepts. */
#ifndef TM_LAUNCHER_FLAGS_H
#define TM_LAUNCHER_FLAGS_H

#include "allocator/config.h"

typedef struct {
	const char *name; /* the long option, without "--" */
	int opt;          /* the TIERMALLOC_* variable it sets, or -1 */
	const char *doc;  /* for options that set no variable */
} tm_flag;

/* NULL-name terminated. */
extern const tm_flag tm_flags[];

/* The flag named name (without "--"), or NULL. */
const tm_flag *tm_flag_find(const char *name);

/* What the flag does, for help text and the man page. */
const char *tm_flag_doc(const tm_flag *f);

/* Placeholder for the flag's value ("SIZE", "NAME", ...), or NULL when the
 * flag takes no value. */
const char *tm_flag_arg(const tm_flag *f);

#endif
