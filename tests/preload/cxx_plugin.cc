// A C++ plugin for dlopen_cxx.c: operator new from code loaded after
// start-up, into a C program.
#include <cstddef>
#include <new>
#include <string>
#include <vector>

static int calls;
static void handler()
{
	if (++calls == 2)
		std::set_new_handler(nullptr);
}

extern "C" int plugin_bad_alloc(size_t n)
{
	try {
		void *p = ::operator new(n);
		::operator delete(p);
		return 0;
	} catch (const std::bad_alloc &) {
		return 1;
	}
}

extern "C" int plugin_handler_calls(size_t n)
{
	calls = 0;
	std::set_new_handler(handler);
	try {
		void *p = ::operator new[](n);
		::operator delete[](p);
		return -1;
	} catch (const std::bad_alloc &) {
		return calls;
	}
}

extern "C" long plugin_work(void)
{
	std::vector<std::string> v;
	for (int i = 0; i < 10000; i++)
		v.push_back(std::string(i % 100 + 1, 'p'));
	long n = 0;
	for (auto &s : v)
		n += (long)s.size();
	return n;
}

// operator new as the plugin resolves it (through its GOT)
extern "C" void *plugin_new_address(void)
{
	void *(*fn)(std::size_t) = &::operator new;
	return reinterpret_cast<void *>(fn);
}
