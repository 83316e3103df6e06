// A multithreaded C++ program with deterministic output, for run.sh to
// compare byte for byte with and without the library: 8 threads build
// std::map<std::string, ...> indexes of generated text, hand strings to each
// other through a queue (allocated in one thread, freed in another), and the
// merged results are printed in a fixed order.
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

static uint64_t next(uint64_t &s)
{
	s = s * 6364136223846793005ULL + 1442695040888963407ULL;
	return s >> 33;
}

static std::string word(uint64_t &s)
{
	static const char *syl[] = {"ka", "lo", "mi", "nu", "pe", "ra", "si",
				    "to", "ve", "zu", "qua", "tri"};
	std::string w;
	int n = 1 + (int)(next(s) % 4);
	for (int i = 0; i < n; i++)
		w += syl[next(s) % 12];
	return w;
}

struct queue {
	std::mutex mu;
	std::condition_variable cv;
	std::deque<std::unique_ptr<std::string>> q;
	int producers_left;
};

int main(int argc, char **argv)
{
	const int threads = 8;
	const int words = argc > 1 ? std::atoi(argv[1]) : 200000;
	std::vector<std::map<std::string, std::vector<int>>> index(threads);
	std::vector<std::unordered_map<std::string, long>> received(threads);
	std::vector<queue> queues(threads);
	for (auto &q : queues)
		q.producers_left = 1;

	std::vector<std::thread> ts;
	for (int t = 0; t < threads; t++)
		ts.emplace_back([&, t] {
			uint64_t s = 1000 + (uint64_t)t;
			auto &m = index[t];
			queue &out = queues[(t + 1) % threads];
			for (int i = 0; i < words; i++) {
				std::string w = word(s);
				m[w].push_back(i);
				if (i % 7 == 0) {
					auto p = std::make_unique<std::string>(
						w + "#" + std::to_string(t));
					std::lock_guard<std::mutex> g(out.mu);
					out.q.push_back(std::move(p));
					out.cv.notify_one();
				}
				if (i % 1000 == 999) // churn: drop rare entries
					for (auto it = m.begin(); it != m.end();)
						it = it->second.size() < 2 ? m.erase(it)
									  : std::next(it);
			}
			{
				std::lock_guard<std::mutex> g(out.mu);
				out.producers_left--;
				out.cv.notify_one();
			}
			queue &in = queues[t];
			for (;;) {
				std::unique_lock<std::mutex> g(in.mu);
				in.cv.wait(g, [&] {
					return !in.q.empty() || in.producers_left == 0;
				});
				if (in.q.empty())
					break;
				auto p = std::move(in.q.front());
				in.q.pop_front();
				g.unlock();
				received[t][*p] += (long)p->size();
			}
		});
	for (auto &t : ts)
		t.join();

	std::map<std::string, long> merged;
	for (int t = 0; t < threads; t++) {
		long entries = 0, total = 0;
		for (auto &kv : index[t]) {
			entries++;
			total += (long)kv.second.size();
			merged[kv.first] += (long)kv.second.size();
		}
		std::map<std::string, long> got(received[t].begin(), received[t].end());
		long rsum = 0;
		for (auto &kv : got)
			rsum += kv.second * (long)kv.first.size();
		std::printf("thread %d: %ld words, %ld positions, %zu received, "
			    "weight %ld\n", t, entries, total, got.size(), rsum);
	}
	int shown = 0;
	for (auto &kv : merged)
		if (kv.first.size() <= 4 && shown++ < 20)
			std::printf("%s %ld\n", kv.first.c_str(), kv.second);
	uint64_t h = 1469598103934665603ULL;
	for (auto &kv : merged) {
		for (char c : kv.first)
			h = (h ^ (unsigned char)c) * 1099511628211ULL;
		h = (h ^ (uint64_t)kv.second) * 1099511628211ULL;
	}
	std::printf("%zu distinct words, hash %016llx\n", merged.size(),
		    (unsigned long long)h);
	return 0;
}
