#define _GNU_SOURCE /* dladdr */
#include "stats/sites.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

static int more_bytes(const void *a, const void *b)
{
	const tm_site_info *x = a, *y = b;
	return (x->bytes < y->bytes) - (x->bytes > y->bytes);
}

static int hotter(const void *a, const void *b)
{
	const tm_site_info *x = a, *y = b;
	return (x->heat < y->heat) - (x->heat > y->heat);
}

/* Where the site is: "symbol" as name+offset when the object exports a
 * name for it, and always the object and the offset in it, which is what
 * addr2line wants for position-independent code. */
static void symbolise(tm_json *j, uintptr_t site)
{
	Dl_info info;
	char text[64];
	if (!dladdr((void *)site, &info) || !info.dli_fname) {
		tm_json_null(j, "symbol");
		tm_json_null(j, "object");
		return;
	}
	char *sym = NULL;
	if (info.dli_sname &&
	    asprintf(&sym, "%s+0x%lx", info.dli_sname,
		     (unsigned long)(site - (uintptr_t)info.dli_saddr)) >= 0)
		tm_json_string(j, "symbol", sym);
	else
		tm_json_null(j, "symbol");
	free(sym);
	tm_json_string(j, "object", info.dli_fname);
	snprintf(text, sizeof(text), "0x%lx",
		 (unsigned long)(site - (uintptr_t)info.dli_fbase));
	tm_json_string(j, "object_offset", text);
}

static void site_entry(tm_json *j, const tm_site_info *s)
{
	char addr[24];
	snprintf(addr, sizeof(addr), "0x%lx", (unsigned long)s->site);
	tm_json_object_begin(j, NULL);
	tm_json_string(j, "site", addr);
	symbolise(j, s->site);
	tm_json_u64(j, "bytes", s->bytes);
	tm_json_u64(j, "samples", s->samples);
	tm_json_i64(j, "heat", s->heat);
	if (s->tier >= 0)
		tm_json_i64(j, "tier", s->tier);
	else
		tm_json_null(j, "tier"); /* no opinion: the placement policy's */
	tm_json_object_end(j);
}

static void top_list(tm_json *j, const char *key, tm_site_info *sites,
		     size_t count, int (*order)(const void *, const void *),
		     unsigned n)
{
	qsort(sites, count, sizeof(sites[0]), order);
	tm_json_array_begin(j, key);
	for (size_t i = 0; i < count && i < n; i++)
		site_entry(j, &sites[i]);
	tm_json_array_end(j);
}

void tm_stats_sites_write(tm_json *j, tm_site_info *sites, int count, unsigned n)
{
	size_t c = count > 0 ? (size_t)count : 0;
	top_list(j, "by_bytes", sites, c, more_bytes, n);
	top_list(j, "by_heat", sites, c, hotter, n);
}
