// C++ containers with threads: each worker builds a std::map of
// std::string keys, an unordered_map of string -> vector<int>, and a
// vector of strings made by concatenation; it erases and rebuilds parts of
// them, then hands its containers to the next worker, which destroys them
// (cross-thread frees of many small nodes, as in a pipeline stage hand-off).
//
// Each worker's result depends only on its id, and the results are summed,
// so the printed checksum is the same whatever the interleaving.
//
//   cxxmaps [threads] [thousands-of-keys-per-thread] [rounds]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <time.h>

namespace {

struct Rng {
	uint64_t s;
	explicit Rng(uint64_t id) : s((id + 1) * 0x9E3779B97F4A7C15ULL) {}
	uint64_t next()
	{
		s ^= s >> 12;
		s ^= s << 25;
		s ^= s >> 27;
		return s * 0x2545F4914F6CDD1DULL;
	}
	uint64_t below(uint64_t n) { return next() % n; }
};

struct Tables {
	std::map<std::string, uint64_t> ordered;
	std::unordered_map<std::string, std::vector<int>> hashed;
	std::vector<std::string> lines;
};

// Keys 6..40 characters: some fit the small-string buffer, most do not.
std::string make_key(Rng &rng)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789_";
	std::string k(6 + rng.below(35), ' ');
	for (auto &c : k)
		c = alphabet[rng.below(sizeof(alphabet) - 1)];
	return k;
}

uint64_t hash_str(const std::string &s)
{
	uint64_t h = 1469598103934665603ULL;
	for (unsigned char c : s)
		h = (h ^ c) * 1099511628211ULL;
	return h;
}

void build(Tables &t, Rng &rng, size_t keys)
{
	for (size_t i = 0; i < keys; i++) {
		std::string k = make_key(rng);
		t.ordered[k] += i;
		auto &v = t.hashed[k.substr(0, 8)];
		v.push_back(static_cast<int>(i));
		if (i % 4 == 0)
			t.lines.push_back(k + "=" + std::to_string(i) + ";" + k);
	}
}

// Erase about a third of the ordered keys and shrink some vectors.
void churn(Tables &t, Rng &rng)
{
	for (auto it = t.ordered.begin(); it != t.ordered.end();) {
		if (rng.below(3) == 0)
			it = t.ordered.erase(it);
		else
			++it;
	}
	for (auto &kv : t.hashed)
		if (kv.second.size() > 2)
			kv.second.resize(kv.second.size() / 2);
}

// Digest in a deterministic order: the map is sorted; the unordered map is
// folded with a commutative sum so its iteration order does not matter.
uint64_t digest(const Tables &t)
{
	uint64_t h = 0, unordered = 0;
	for (const auto &kv : t.ordered)
		h = (h ^ hash_str(kv.first) ^ kv.second) * 0x100000001b3ULL;
	for (const auto &kv : t.hashed)
		unordered += hash_str(kv.first) * (kv.second.size() + 1);
	for (const auto &s : t.lines)
		h = (h ^ hash_str(s)) * 0x100000001b3ULL;
	return h + unordered;
}

double now_s()
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return static_cast<double>(ts.tv_sec) + ts.tv_nsec * 1e-9;
}

long arg(int argc, char **argv, int i, long dflt)
{
	long v = argc > i ? std::strtol(argv[i], nullptr, 0) : dflt;
	if (v <= 0) {
		std::fprintf(stderr, "%s: argument %d must be positive\n",
			     argv[0], i);
		std::exit(2);
	}
	return v;
}

} // namespace

int main(int argc, char **argv)
{
	const int nthreads = static_cast<int>(arg(argc, argv, 1, 4));
	const size_t keys = static_cast<size_t>(arg(argc, argv, 2, 50)) * 1000;
	const long rounds = arg(argc, argv, 3, 3);
	// Two generations, so a worker destroying last round's tables never
	// races with the worker storing this round's.
	std::vector<std::unique_ptr<Tables>> gen[2];
	std::vector<uint64_t> result(nthreads, 0);
	const double t0 = now_s();

	gen[0].resize(nthreads);
	gen[1].resize(nthreads);
	for (long r = 0; r < rounds; r++) {
		auto &cur = gen[r % 2], &prev = gen[(r + 1) % 2];
		std::vector<std::thread> pool;
		for (int i = 0; i < nthreads; i++) {
			pool.emplace_back([&, i] {
				// Destroy what the previous worker built.
				prev[(i + 1) % nthreads].reset();
				auto t = std::make_unique<Tables>();
				Rng rng(static_cast<uint64_t>(r * 1000 + i));
				build(*t, rng, keys);
				churn(*t, rng);
				result[i] += digest(*t);
				cur[i] = std::move(t);
			});
		}
		for (auto &th : pool)
			th.join();
	}
	gen[0].clear();
	gen[1].clear();
	uint64_t sum = 0;
	for (uint64_t v : result)
		sum += v;
	std::printf("cxxmaps checksum=%016llx\n",
		    static_cast<unsigned long long>(sum));
	std::fprintf(stderr, "ops/s: %.0f\n",
		     static_cast<double>(keys) * nthreads * rounds /
			     (now_s() - t0));
	return 0;
}
