/* A C program that dlopen()s C++ code (as python does its C++ extension
 * modules): the plugin's operator new is the library's, and a failing new
 * still throws std::bad_alloc and runs the new_handler there.
 *
 *   dlopen_cxx PATH/cxx_plugin.so */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>

#include "preload.h"

int main(int argc, char **argv)
{
	tm_expect_environment();
	if (argc < 2) {
		fprintf(stderr, "usage: dlopen_cxx PLUGIN\n");
		return 2;
	}
	void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	CHECK(h != NULL, "dlopen %s: %s", argv[1], h ? "" : dlerror());
	if (!h)
		return check_summary();
	int (*bad)(size_t) = (int (*)(size_t))dlsym(h, "plugin_bad_alloc");
	int (*handler)(size_t) = (int (*)(size_t))dlsym(h, "plugin_handler_calls");
	long (*work)(void) = (long (*)(void))dlsym(h, "plugin_work");
	CHECK(bad && handler && work, "plugin symbols");
	if (!bad || !handler || !work)
		return check_summary();
	CHECK_EQ(bad(100), 0, "the plugin's new of 100 bytes succeeds");
	CHECK_EQ(bad(SIZE_MAX / 2), 1, "the plugin catches std::bad_alloc");
	CHECK_EQ(handler(SIZE_MAX / 2), 2, "the plugin's new_handler runs on "
		 "each failure until it uninstalls itself");
	long want = 0;
	for (int i = 0; i < 10000; i++)
		want += i % 100 + 1;
	CHECK_EQ(work(), want, "the plugin's containers");
	void *(*where)(void) = (void *(*)(void))dlsym(h, "plugin_new_address");
	if (tm_under_lib && where) {
		Dl_info di;
		void *nw = where();
		CHECK(nw && dladdr(nw, &di) && di.dli_fname &&
		      strstr(di.dli_fname, "libtiermalloc"),
		      "the plugin's operator new is the library's");
	}
	dlclose(h);
	return check_summary();
}
