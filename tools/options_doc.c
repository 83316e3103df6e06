/* The TIERMALLOC_* options table in the forms the documentation needs:
 *   options_doc          the markdown table of README.md (make readme-options
 *                        rewrites it; the unit suite checks they agree)
 *   options_doc --man7   the ENVIRONMENT entries of tiermalloc(7)
 *   options_doc --man1   the OPTIONS entries of tiermalloc(1), the launcher
 * Man pages are built from these, so none can drift from config.c. */
#include <stdio.h>
#include <string.h>

#include "allocator/config.h"
#include "tools/launcher/flags.h"

static const char *type_name(tm_opt_type t)
{
	static const char *const names[] = {"bool", "integer", "size", "size or %",
					    "ratio", "choice", "text"};
	return names[t];
}

static void markdown(void)
{
	printf("| variable | type | default | live | meaning |\n");
	printf("|---|---|---|---|---|\n");
	for (int i = 0; i < TM_OPT_COUNT; i++) {
		const tm_opt_desc *d = tm_opt_desc_of(i);
		printf("| `%s` | %s | `%s` | %s | %s%s |\n", d->name,
		       type_name(d->type), d->def, d->live ? "yes" : "", d->doc,
		       d->trusted_only ? "; ignored under AT_SECURE" : "");
	}
}

/* Text for roff: backslashes escaped, and dashes as minus signs (what a
 * reader types), as man-pages(7) asks. */
static void roff(const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\e", stdout);
		else if (*s == '-')
			fputs("\\-", stdout);
		else
			putchar(*s);
	}
}

static void man7(void)
{
	for (int i = 0; i < TM_OPT_COUNT; i++) {
		const tm_opt_desc *d = tm_opt_desc_of(i);
		printf(".TP\n.B %s\n(%s, default \"", d->name, type_name(d->type));
		roff(d->def);
		printf("\"%s)\n", d->live ? "; live" : "");
		roff(d->doc);
		printf("\n");
	}
}

static void man1(void)
{
	for (const tm_flag *f = tm_flags; f->name; f++) {
		const char *arg = tm_flag_arg(f);
		printf(".TP\n%s \\-\\-", arg ? ".BI" : ".B");
		roff(f->name);
		printf(arg ? "= %s\n" : "\n", arg);
		if (f->opt >= 0)
			printf("Sets\n.BR %s :\n", tm_opt_desc_of(f->opt)->name);
		roff(tm_flag_doc(f));
		printf("\n");
	}
}

int main(int argc, char **argv)
{
	if (argc < 2)
		markdown();
	else if (!strcmp(argv[1], "--man7"))
		man7();
	else if (!strcmp(argv[1], "--man1"))
		man1();
	else {
		fprintf(stderr, "usage: options_doc [--man1 | --man7]\n");
		return 2;
	}
	return 0;
}
