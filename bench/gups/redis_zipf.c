/* A Zipf key-value client for redis-server, for make bench-cxl.
 *
 *   redis_zipf --socket PATH [options]
 *
 * Loads --keys keys (k0000000, ...) with values of --value-b bytes over the
 * server's Unix socket, in key order, each key's popularity rank shuffled
 * against that order. Then, for --phases phases of --intervals intervals
 * of --interval-ms, sends GETs and SETs (a --write-share of them) of keys
 * drawn from a Zipf distribution of exponent --zipf over the ranks, with
 * --pipeline requests in flight; popularity is shuffled again at each new
 * phase. --hot-first loads every key with a short value first and then the
 * values hottest first (phase 0's order), so an allocator that places by
 * first touch under a quota puts the hottest values, and every key's
 * metadata, in fast memory: the best static split this client can make.
 *
 * Output: a line per interval,
 *   redis: LABEL interval K phase P mops OPS p50_us X p99_us Y
 * (OPS in millions a second; a request's latency is its batch's round trip)
 * and a summary line. Exit 0; 1 when the server answered an error, a GET
 * missed or returned a wrong value; 2 on bad arguments or a lost server. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "zipf.h"

static struct {
	const char *socket, *label;
	size_t keys, value_b;
	double zipf, write_share;
	int interval_ms, intervals, phases, pipeline, hot_first;
} opt = {NULL, "redis", 131072, 1000, 0.99, 0.1, 500, 20, 2, 1, 0};

static int fd;
static char *value;      /* the bytes every SET writes */
static double *zcdf;     /* the Zipf distribution over ranks, cumulative */
static size_t *rank_key; /* the key of each popularity rank */
static unsigned long bad_replies;

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static void die(const char *what)
{
	fprintf(stderr, "redis_zipf: %s: %s\n", what, errno ? strerror(errno) : "server closed");
	exit(2);
}

/* ---- requests out, replies in --------------------------------------------- */

static char out[1 << 20];
static size_t out_len;

static void put(const void *p, size_t n)
{
	if (out_len + n > sizeof(out))
		die("request batch too large");
	memcpy(out + out_len, p, n);
	out_len += n;
}

static void put_bulk(const char *p, size_t n)
{
	char head[32];
	put(head, (size_t)snprintf(head, sizeof(head), "$%zu\r\n", n));
	put(p, n);
	put("\r\n", 2);
}

static void request(size_t key, size_t value_len)
{
	char k[24];
	size_t klen = (size_t)snprintf(k, sizeof(k), "k%07zu", key);
	put(value_len ? "*3\r\n$3\r\nSET\r\n" : "*2\r\n$3\r\nGET\r\n", 13);
	put_bulk(k, klen);
	if (value_len)
		put_bulk(value, value_len);
}

static void flush_requests(void)
{
	for (size_t done = 0; done < out_len;) {
		ssize_t n = write(fd, out + done, out_len - done);
		if (n <= 0)
			die("write");
		done += (size_t)n;
	}
	out_len = 0;
}

static char in[1 << 20];
static size_t in_at, in_len;

static void fill(void)
{
	if (in_at == in_len)
		in_at = in_len = 0;
	if (in_len == sizeof(in)) {
		memmove(in, in + in_at, in_len - in_at);
		in_len -= in_at;
		in_at = 0;
	}
	ssize_t n = read(fd, in + in_len, sizeof(in) - in_len);
	if (n <= 0)
		die("read");
	in_len += (size_t)n;
}

/* The next reply line, without its CRLF. */
static char *line(void)
{
	for (;;) {
		char *end = memmem(in + in_at, in_len - in_at, "\r\n", 2);
		if (end) {
			char *l = in + in_at;
			*end = 0;
			in_at = (size_t)(end + 2 - in);
			return l;
		}
		fill();
	}
}

/* Read one reply; a GET's value must be the one every SET writes. */
static void reply(int is_get)
{
	char *l = line();
	if (*l == '-' && bad_replies++ == 0)
		fprintf(stderr, "redis_zipf: server error: %s\n", l);
	if (*l != '$') {
		bad_replies += is_get;
		return;
	}
	long n = atol(l + 1);
	if (n < 0) {
		bad_replies++; /* a loaded key is never missing */
		return;
	}
	while (in_len - in_at < (size_t)n + 2)
		fill();
	bad_replies += (size_t)n != opt.value_b || memcmp(in + in_at, value, (size_t)n);
	in_at += (size_t)n + 2;
}

/* ---- the workload ----------------------------------------------------------- */

static double uniform(void)
{
	return (double)(xorshift(&rng) >> 11) * 0x1p-53;
}

/* SET keys in batches: key_of(i) for i < n, values of len bytes. */
static void load(size_t (*key_of)(size_t), size_t len)
{
	const size_t batch = 64;
	for (size_t i = 0; i < opt.keys; i += batch) {
		size_t n = opt.keys - i < batch ? opt.keys - i : batch;
		for (size_t k = 0; k < n; k++)
			request(key_of(i + k), len);
		flush_requests();
		for (size_t k = 0; k < n; k++)
			reply(0);
	}
}

static size_t in_key_order(size_t i)
{
	return i;
}

static size_t hottest_first(size_t i)
{
	return rank_key[i];
}

/* Latencies in microseconds: exact below 256, then 32 steps an octave. */
#define LAT_BUCKETS (256 + 32 * 24)
static unsigned long lat[LAT_BUCKETS];

static size_t lat_bucket(uint64_t us)
{
	if (us < 256)
		return us;
	int octave = 63 - __builtin_clzll(us);
	size_t b = 256 + 32 * (size_t)(octave - 8) + ((us >> (octave - 5)) & 31);
	return b < LAT_BUCKETS ? b : LAT_BUCKETS - 1;
}

static uint64_t lat_value(size_t b)
{
	if (b < 256)
		return b;
	int octave = (int)(b - 256) / 32 + 8;
	return (uint64_t)(32 + (b - 256) % 32) << (octave - 5);
}

static uint64_t percentile(unsigned long total, double q)
{
	unsigned long want = (unsigned long)ceil(q * (double)total), seen = 0;
	for (size_t b = 0; b < LAT_BUCKETS; b++)
		if ((seen += lat[b]) >= want && want)
			return lat_value(b);
	return 0;
}

/* One interval of requests; prints its line. */
static void interval(int k, int phase)
{
	unsigned long ops = 0;
	int is_get[1024];
	memset(lat, 0, sizeof(lat));
	double t0 = now_s(), end = t0 + opt.interval_ms / 1000.0, t = t0;
	while (t < end) {
		for (int i = 0; i < opt.pipeline; i++) {
			is_get[i] = uniform() >= opt.write_share;
			request(rank_key[zipf_rank(zcdf, opt.keys, uniform())],
				is_get[i] ? 0 : opt.value_b);
		}
		flush_requests();
		for (int i = 0; i < opt.pipeline; i++)
			reply(is_get[i]);
		double t1 = now_s();
		lat[lat_bucket((uint64_t)((t1 - t) * 1e6))] += (unsigned long)opt.pipeline;
		ops += (unsigned long)opt.pipeline;
		t = t1;
	}
	printf("redis: %s interval %d phase %d mops %.4f p50_us %llu p99_us %llu\n", opt.label,
	       k, phase, (double)ops / (t - t0) / 1e6, (unsigned long long)percentile(ops, 0.5),
	       (unsigned long long)percentile(ops, 0.99));
	fflush(stdout);
}

static void connect_server(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(opt.socket) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "redis_zipf: socket path too long\n");
		exit(2);
	}
	strcpy(sa.sun_path, opt.socket);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		die(opt.socket);
}

static int benchmark(void)
{
	value = malloc(opt.value_b);
	zcdf = malloc(opt.keys * sizeof(*zcdf));
	rank_key = malloc(opt.keys * sizeof(*rank_key));
	if (!value || !zcdf || !rank_key)
		die("malloc");
	memset(value, 'v', opt.value_b);
	zipf_cdf(zcdf, opt.keys, opt.zipf);
	connect_server();
	shuffle_ranks(rank_key, opt.keys, &rng);
	double t0 = now_s();
	if (opt.hot_first) {
		load(in_key_order, 1);
		load(hottest_first, opt.value_b);
	} else
		load(in_key_order, opt.value_b);
	double loaded = now_s() - t0;
	for (int phase = 0; phase < opt.phases; phase++) {
		if (phase)
			shuffle_ranks(rank_key, opt.keys, &rng);
		for (int k = 1; k <= opt.intervals; k++)
			interval(k, phase);
	}
	printf("redis: %s summary: %zu keys of %zu B loaded in %.1f s, zipf %.2f, writes %.2f, "
	       "pipeline %d, bad replies %lu\n", opt.label, opt.keys, opt.value_b, loaded,
	       opt.zipf, opt.write_share, opt.pipeline, bad_replies);
	return bad_replies ? 1 : 0;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
		int takes = 1;
		if (!strcmp(a, "--socket")) opt.socket = v;
		else if (!strcmp(a, "--label")) opt.label = v;
		else if (!strcmp(a, "--keys")) opt.keys = strtoul(v, NULL, 10);
		else if (!strcmp(a, "--value-b")) opt.value_b = strtoul(v, NULL, 10);
		else if (!strcmp(a, "--zipf")) opt.zipf = atof(v);
		else if (!strcmp(a, "--write-share")) opt.write_share = atof(v);
		else if (!strcmp(a, "--interval-ms")) opt.interval_ms = atoi(v);
		else if (!strcmp(a, "--intervals")) opt.intervals = atoi(v);
		else if (!strcmp(a, "--phases")) opt.phases = atoi(v);
		else if (!strcmp(a, "--pipeline")) opt.pipeline = atoi(v);
		else if (!strcmp(a, "--hot-first")) opt.hot_first = 1, takes = 0;
		else {
			fprintf(stderr, "redis_zipf: unknown option %s (see the source's head)\n", a);
			return 2;
		}
		i += takes;
	}
	if (!opt.socket || opt.keys < 2 || opt.value_b < 1 || opt.value_b > (64 << 10) ||
	    !(opt.zipf > 0) || !(opt.write_share >= 0 && opt.write_share <= 1) ||
	    opt.interval_ms < 1 || opt.intervals < 1 || opt.phases < 1 || opt.pipeline < 1 ||
	    opt.pipeline > 1024) {
		fprintf(stderr, "redis_zipf: need --socket, --keys >= 2, 1 <= --value-b <= 65536, "
				"--zipf > 0, 0 <= --write-share <= 1, 1 <= --pipeline <= 1024\n");
		return 2;
	}
	return benchmark();
}
