/* The plugins linked in (plugin.h), found through the linker's section. */
#include "allocator/plugin.h"

#include <errno.h>

/* Bounds of the section, from the linker; weak: a build without plugins
 * (unit tests) has no section. */
extern const tm_plugin __start_tm_plugins[] __attribute__((weak));
extern const tm_plugin __stop_tm_plugins[] __attribute__((weak));

void tm_plugins(const tm_plugin **first, const tm_plugin **end)
{
	*first = __start_tm_plugins;
	*end = __stop_tm_plugins;
}

static int no_site_tier(uintptr_t site)
{
	return -1;
}

static void no_sample(void *p, size_t size, uintptr_t site)
{
}

static int no_advice(void *p, size_t len, int heat)
{
	errno = ENOSYS;
	return -1;
}

static int no_heat(const void *p)
{
	return -1;
}

static const tm_plugin no_heat_policy = {
	.name = "none", .site_tier = no_site_tier, .sample = no_sample,
	.advise = no_advice, .heat_of = no_heat,
};

const tm_plugin *tm_heat = &no_heat_policy;

bool tm_plugins_want_one_tier(void)
{
	const tm_plugin *p, *end;
	for (tm_plugins(&p, &end); p < end; p++)
		if (p->wants_one_tier && p->wants_one_tier())
			return true;
	return false;
}

void tm_plugins_init(const tm_tierset *tiers, bool tiered)
{
	const tm_plugin *p, *end;
	for (tm_plugins(&p, &end); p < end; p++) {
		if (p->init)
			p->init(tiers, tiered);
		if (p->site_tier && tm_heat == &no_heat_policy)
			tm_heat = p;
	}
}

typedef void mode_hook(bool tiered);

static mode_hook *hook(const tm_plugin *p, tm_plugin_event event)
{
	return event == TM_PLUGIN_START ? p->start
	       : event == TM_PLUGIN_AFTER_FORK_CHILD ? p->after_fork_child
	       : p->stop;
}

void tm_plugins_call(tm_plugin_event event, bool tiered)
{
	const tm_plugin *p, *end;
	for (tm_plugins(&p, &end); p < end; p++)
		if (hook(p, event))
			hook(p, event)(tiered);
}
