// Threads created and destroyed by the thousand (DESIGN.md invariant).
//
//   stress_churn [threads]          default 10000
//
// Each short-lived thread allocates and frees, leaves blocks to be freed at
// thread exit by a pthread_key destructor (which itself allocates and
// re-arms the key once, so a second destructor round runs after the first
// has freed) and by a C++ thread_local destructor (which allocates too),
// and returns a block that the main thread verifies and frees after the
// thread is gone. Some threads are detached. Counters prove every destructor
// ran once per thread; resident memory must not grow with the thread count
// (a per-thread cache that is never given back would).
#include <atomic>
#include <cstdint>
#include <pthread.h>
#include <string>
#include <vector>

#include "preload.h"

static pthread_key_t key;
static std::atomic<long> key_rounds1{0}, key_rounds2{0}, tls_dtors{0},
	tls_ctors{0}, errors{0}, detached_done{0};

struct exit_block {
	uint64_t id;
	size_t size;
	int round;
	unsigned char data[];
};

static exit_block *make_exit_block(uint64_t id, size_t size, int round)
{
	exit_block *b = static_cast<exit_block *>(malloc(sizeof(exit_block) + size));
	if (!b)
		return nullptr;
	b->id = id;
	b->size = size;
	b->round = round;
	tm_fill(b->data, size, id);
	return b;
}

static void key_destructor(void *v)
{
	exit_block *b = static_cast<exit_block *>(v);
	if (!tm_verify(b->data, b->size, b->id))
		errors++;
	int round = b->round;
	uint64_t id = b->id;
	free(b);
	if (round == 1) {
		key_rounds1++;
		// allocate during thread exit and re-arm: a second round runs
		exit_block *again = make_exit_block(id + 1, 3000, 2);
		if (!again || pthread_setspecific(key, again) != 0)
			errors++;
	} else {
		key_rounds2++;
	}
}

struct tls_state {
	std::string name;
	std::vector<int> v;
	uint64_t id = 0;
	tls_state() : name(200, 'n'), v(1000, 7) { tls_ctors++; }
	~tls_state()
	{
		if (name != std::string(200, 'n') || v.size() != 1000 || v[999] != 7)
			errors++;
		std::string tmp(5000, 't'); // allocation inside a TLS destructor
		tmp += name;
		if (tmp.size() != 5200)
			errors++;
		tls_dtors++;
	}
};
static thread_local tls_state tls;

static void *body(void *arg)
{
	uint64_t id = reinterpret_cast<uintptr_t>(arg);
	tls.id = id; // constructs the thread_local
	void *blocks[16];
	for (int i = 0; i < 16; i++) {
		size_t n = (size_t)(id * 31 + (uint64_t)i * 97) % 20000 + 1;
		blocks[i] = malloc(n);
		if (!blocks[i]) {
			errors++;
			continue;
		}
		tm_fill(blocks[i], n, id * 16 + (uint64_t)i);
		if (i % 3 == 0) {
			if (!tm_verify(blocks[i], n, id * 16 + (uint64_t)i))
				errors++;
			free(blocks[i]);
			blocks[i] = nullptr;
		}
	}
	for (int i = 0; i < 16; i++)
		free(blocks[i]);
	exit_block *b = make_exit_block(id * 1000, 500 + id % 3000, 1);
	if (!b || pthread_setspecific(key, b) != 0)
		errors++;
	return make_exit_block(id * 7 + 3, 64 + id % 1000, 0); // freed by main
}

static void *detached_body(void *arg)
{
	void *r = body(arg);
	free(r);
	detached_done++;
	return nullptr;
}

int main(int argc, char **argv)
{
	tm_expect_environment();
	long total = argc > 1 ? atol(argv[1]) : 10000;
	const int batch = 16;
	pthread_key_create(&key, key_destructor);
	tls.id = 0; // the main thread's own instance, destroyed at exit

	// warm up, then measure resident memory across the churn
	size_t v0, r0, v1, r1;
	long created = 0, detached = 0, joined_ok = 0;
	bool baselined = false;
	pthread_attr_t det;
	pthread_attr_init(&det);
	pthread_attr_setdetachstate(&det, PTHREAD_CREATE_DETACHED);
	tm_mem_usage(&v0, &r0);
	while (created < total) {
		pthread_t t[batch];
		int n = 0;
		for (; n < batch && created < total; n++, created++) {
			uintptr_t id = (uintptr_t)created + 1;
			if (created % 50 == 49) { // some detached threads
				pthread_t d;
				if (pthread_create(&d, &det, detached_body,
						   reinterpret_cast<void *>(id)) != 0)
					errors++;
				detached++;
				n--;
				continue;
			}
			if (pthread_create(&t[n], nullptr, body,
					   reinterpret_cast<void *>(id)) != 0) {
				errors++;
				n--;
				created = total;
			}
		}
		for (int i = 0; i < n; i++) {
			void *r = nullptr;
			pthread_join(t[i], &r);
			exit_block *b = static_cast<exit_block *>(r);
			if (b && tm_verify(b->data, b->size, b->id))
				joined_ok++;
			free(b);
		}
		if (!baselined && created >= total / 10) {
			tm_mem_usage(&v0, &r0); // baseline once caches are warm
			baselined = true;
		}
	}
	// detached threads finish on their own: wait (bounded, 20 s) for the
	// last of them to have run its exit-time destructors
	for (int i = 0; i < 20000 && (detached_done.load() < detached ||
				      tls_dtors.load() < total ||
				      key_rounds2.load() < total); i++)
		usleep(1000);
	tm_mem_usage(&v1, &r1);

	long joinable = total - detached;
	printf("stress_churn: %ld threads (%ld detached); RSS %zu -> %zu MiB\n",
	       total, detached, r0 >> 20, r1 >> 20);
	CHECK_EQ(errors.load(), 0, "no corruption or failure");
	CHECK_EQ(joined_ok, joinable, "every joined thread returned an intact "
		 "block");
	CHECK_EQ(detached_done.load(), detached, "every detached thread finished");
	CHECK_EQ(tls_ctors.load(), total + 1, "one thread_local per thread");
	CHECK_EQ(tls_dtors.load(), total, "thread_local destructors ran at every "
		 "thread exit");
	CHECK_EQ(key_rounds1.load(), total, "pthread_key destructors ran");
	CHECK_EQ(key_rounds2.load(), total, "re-armed keys got a second round");
#ifndef __SANITIZE_ADDRESS__ // ASan's quarantine keeps up to 256 MiB
	CHECK(r1 < r0 + (256UL << 20), "resident memory did not grow with the "
	      "threads: %zu -> %zu MiB", r0 >> 20, r1 >> 20);
#endif
	return check_summary();
}
