/* Print the TIERMALLOC_* options table as the markdown table of README.md
 * (make readme-options rewrites it; the unit suite checks they agree). */
#include <stdio.h>

#include "config.h"

static const char *type_name(tm_opt_type t)
{
	static const char *const names[] = {"bool", "integer", "size", "size or %",
					    "ratio", "choice", "text"};
	return names[t];
}

int main(void)
{
	printf("| variable | type | default | live | meaning |\n");
	printf("|---|---|---|---|---|\n");
	for (int i = 0; i < TM_OPT_COUNT; i++) {
		const tm_opt_desc *d = tm_opt_desc_of(i);
		printf("| `%s` | %s | `%s` | %s | %s%s |\n", d->name,
		       type_name(d->type), d->def, d->live ? "yes" : "", d->doc,
		       d->trusted_only ? "; ignored under AT_SECURE" : "");
	}
	return 0;
}
