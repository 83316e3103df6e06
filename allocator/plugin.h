/* What plugs into the allocator: the heat policy (policy/) and the stats
 * server (stats/). Each declares one tm_plugin with TM_PLUGIN; the linker
 * gathers them in one section, and the allocator calls their hooks at
 * start-up, when the background threads start, in a forked child and at
 * exit, knowing none of them by name. So dependencies run one way: policy/
 * and stats/ include the allocator, never the reverse.
 *
 * Start-up runs as a constructor, but malloc may run before it (other
 * constructors, the loader): a section needs no registration call. */
#ifndef TM_PLUGIN_H
#define TM_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allocator/tiers.h"

/* One allocation in this many bytes is shown to the sample hook. */
#define TM_SAMPLE_BYTES (256 << 10)

typedef struct {
	const char *name;
	/* Every hook may be NULL. */

	/* Start-up, before the tier arenas exist: whether this plugin needs
	 * them on a machine with one tier (heat tracking for the stats). */
	bool (*wants_one_tier)(void);
	/* Start-up, after the tiers are chosen, before any thread of ours
	 * exists; tiered: tier arenas are in use. Cheap: no threads. */
	void (*init)(const tm_tierset *tiers, bool tiered);
	/* Once start-up is over (services.c): may start a thread. */
	void (*start)(bool tiered);
	/* In a forked child: the parent's threads do not exist here. */
	void (*after_fork_child)(bool tiered);
	/* At exit. */
	void (*stop)(bool tiered);

	/* The heat policy's hooks, called from malloc: lock-free and
	 * allocation-free. The first plugin that has site_tier provides all
	 * four. */
	int (*site_tier)(uintptr_t site);       /* tier for a site, -1: none */
	void (*sample)(void *p, size_t size, uintptr_t site);
	int (*advise)(void *p, size_t len, int heat);  /* tm_advise() */
	int (*heat_of)(const void *p);                 /* tm_heat_of() */
} tm_plugin;

#define TM_PLUGIN(var)                                                        \
	__attribute__((used, section("tm_plugins"), aligned(sizeof(void *))))  \
	const tm_plugin var

/* The plugins linked in, [*first, *end). */
void tm_plugins(const tm_plugin **first, const tm_plugin **end);

/* The heat policy's hooks: a plugin's, or answers of "no opinion". */
extern const tm_plugin *tm_heat;

/* The hooks that take the mode, called for every plugin that has them. */
typedef enum { TM_PLUGIN_START, TM_PLUGIN_AFTER_FORK_CHILD, TM_PLUGIN_STOP } tm_plugin_event;
void tm_plugins_call(tm_plugin_event event, bool tiered);

/* Start-up (init.c): whether a plugin wants tier arenas on one tier; then
 * every plugin's init, and tm_heat chosen. */
bool tm_plugins_want_one_tier(void);
void tm_plugins_init(const tm_tierset *tiers, bool tiered);

#endif
