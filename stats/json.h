/* A small JSON writer for the stats server's replies: one object per reply,
 * written front to back into a buffer that grows up to a limit.
 *
 * Every call takes the member's key, or NULL for array elements and the top
 * level; commas are placed by the writer. Strings are escaped and made valid
 * UTF-8 (bad bytes become U+FFFD), numbers that JSON cannot hold (NaN, inf)
 * are written as null. Running out of memory or past the limit does not
 * fail the calls: the writer remembers it and tm_json_failed says so, so
 * report code stays a plain sequence of calls.
 *
 * It allocates with malloc: use it only off the malloc paths (the stats
 * server thread, tests, tools). */
#ifndef TM_JSON_H
#define TM_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tm_json {
	char *buf;
	size_t len, cap, limit;
	bool failed;       /* out of memory or over the limit */
	bool need_comma;   /* a member or element was written at this level */
} tm_json;

void tm_json_init(tm_json *j, size_t limit);
void tm_json_free(tm_json *j);

/* Forget what was written, keep the buffer (for replacing a failed reply). */
void tm_json_reset(tm_json *j);

void tm_json_object_begin(tm_json *j, const char *key);
void tm_json_object_end(tm_json *j);
void tm_json_array_begin(tm_json *j, const char *key);
void tm_json_array_end(tm_json *j);

void tm_json_string(tm_json *j, const char *key, const char *s);
void tm_json_string_n(tm_json *j, const char *key, const char *s, size_t n);
void tm_json_u64(tm_json *j, const char *key, uint64_t v);
void tm_json_i64(tm_json *j, const char *key, int64_t v);
void tm_json_double(tm_json *j, const char *key, double v);
void tm_json_bool(tm_json *j, const char *key, bool v);
void tm_json_null(tm_json *j, const char *key);

/* A number that is 0 when unknown (tier latency, bandwidth): 0 gives null. */
void tm_json_u64_or_null(tm_json *j, const char *key, uint64_t v);

/* "key": {"unavailable": "reason"}: how a reply says a part is not there,
 * so that nobody reads a made-up zero. */
void tm_json_unavailable(tm_json *j, const char *key, const char *reason);

bool tm_json_failed(const tm_json *j);

/* End the reply with a newline; the text and its length, or NULL if the
 * writer failed. */
const char *tm_json_finish(tm_json *j, size_t *len);

#endif
