/* Prints the TIERMALLOC_* option table of allocator/config.c, one option a
 * line: NAME TAB TYPE TAB DEFAULT. Linked with build/libtmcore.a, so run.sh
 * iterates over the very table the library parses, with nothing hard-coded:
 * a new option is tested the day it is added. */
#include <stdio.h>

#include "allocator/config.h"

int main(void)
{
	static const char *const types[] = {
		[TM_TYPE_BOOL] = "bool",   [TM_TYPE_INT] = "int",
		[TM_TYPE_SIZE] = "size",   [TM_TYPE_QUOTA] = "quota",
		[TM_TYPE_RATIO] = "ratio", [TM_TYPE_ENUM] = "enum",
		[TM_TYPE_STRING] = "string",
	};
	for (int i = 0; i < TM_OPT_COUNT; i++) {
		const tm_opt_desc *d = tm_opt_desc_of((tm_opt_id)i);
		unsigned t = (unsigned)d->type;
		printf("%s\t%s\t%s\n", d->name,
		       t < sizeof(types) / sizeof(types[0]) && types[t] ? types[t]
									 : "?",
		       d->def);
	}
	return 0;
}
