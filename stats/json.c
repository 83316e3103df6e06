#include "stats/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INITIAL_CAP 4096

void tm_json_init(tm_json *j, size_t limit)
{
	memset(j, 0, sizeof(*j));
	j->limit = limit;
}

void tm_json_free(tm_json *j)
{
	free(j->buf);
	tm_json_init(j, j->limit);
}

void tm_json_reset(tm_json *j)
{
	j->len = 0;
	j->failed = false;
	j->need_comma = false;
}

bool tm_json_failed(const tm_json *j)
{
	return j->failed;
}

/* Room for n more bytes plus the final newline. */
static bool reserve(tm_json *j, size_t n)
{
	if (j->failed)
		return false;
	if (n > j->limit || j->len + n + 1 > j->limit) {
		j->failed = true;
		return false;
	}
	if (j->len + n + 1 <= j->cap)
		return true;
	size_t cap = j->cap ? j->cap : INITIAL_CAP;
	while (cap < j->len + n + 1)
		cap *= 2;
	if (cap > j->limit)
		cap = j->limit;
	char *buf = realloc(j->buf, cap);
	if (!buf) {
		j->failed = true;
		return false;
	}
	j->buf = buf;
	j->cap = cap;
	return true;
}

static void put(tm_json *j, const char *s, size_t n)
{
	if (reserve(j, n)) {
		memcpy(j->buf + j->len, s, n);
		j->len += n;
	}
}

static void put_str(tm_json *j, const char *s)
{
	put(j, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid:
 * overlong forms, surrogates and code points past U+10FFFF are invalid. */
static size_t utf8_length(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf; /* bounds of the second byte */
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		lo = c == 0xe0 ? 0xa0 : 0x80;
		hi = c == 0xed ? 0x9f : 0xbf;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		lo = c == 0xf0 ? 0x90 : 0x80;
		hi = c == 0xf4 ? 0x8f : 0xbf;
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

/* Write the character at s escaped as JSON needs; returns the bytes used. */
static size_t put_char(tm_json *j, const unsigned char *s, size_t n)
{
	char esc[8];
	if (*s == '"' || *s == '\\') {
		esc[0] = '\\';
		esc[1] = (char)*s;
		put(j, esc, 2);
		return 1;
	}
	if (*s < 0x20 || *s == 0x7f) {
		put(j, esc, (size_t)snprintf(esc, sizeof(esc), "\\u%04x", *s));
		return 1;
	}
	size_t len = utf8_length(s, n);
	if (len == 0) {
		put_str(j, "\\ufffd");
		return 1;
	}
	put(j, (const char *)s, len);
	return len;
}

static void put_escaped(tm_json *j, const char *text, size_t n)
{
	const unsigned char *s = (const unsigned char *)text;
	put(j, "\"", 1);
	for (size_t i = 0; i < n && !j->failed;)
		i += put_char(j, s + i, n - i);
	put(j, "\"", 1);
}

/* The separator and key that come before every value. */
static void member(tm_json *j, const char *key)
{
	if (j->need_comma)
		put(j, ",", 1);
	if (key) {
		put_escaped(j, key, strlen(key));
		put(j, ":", 1);
	}
	j->need_comma = true;
}

void tm_json_object_begin(tm_json *j, const char *key)
{
	member(j, key);
	put(j, "{", 1);
	j->need_comma = false;
}

void tm_json_object_end(tm_json *j)
{
	put(j, "}", 1);
	j->need_comma = true;
}

void tm_json_array_begin(tm_json *j, const char *key)
{
	member(j, key);
	put(j, "[", 1);
	j->need_comma = false;
}

void tm_json_array_end(tm_json *j)
{
	put(j, "]", 1);
	j->need_comma = true;
}

void tm_json_string_n(tm_json *j, const char *key, const char *s, size_t n)
{
	member(j, key);
	put_escaped(j, s, n);
}

void tm_json_string(tm_json *j, const char *key, const char *s)
{
	tm_json_string_n(j, key, s, strlen(s));
}

void tm_json_u64(tm_json *j, const char *key, uint64_t v)
{
	char num[24];
	member(j, key);
	put(j, num, (size_t)snprintf(num, sizeof(num), "%llu",
				     (unsigned long long)v));
}

void tm_json_i64(tm_json *j, const char *key, int64_t v)
{
	char num[24];
	member(j, key);
	put(j, num, (size_t)snprintf(num, sizeof(num), "%lld", (long long)v));
}

void tm_json_double(tm_json *j, const char *key, double v)
{
	char num[32];
	member(j, key);
	if (!isfinite(v))
		put_str(j, "null");
	else
		put(j, num, (size_t)snprintf(num, sizeof(num), "%.6g", v));
}

void tm_json_bool(tm_json *j, const char *key, bool v)
{
	member(j, key);
	put_str(j, v ? "true" : "false");
}

void tm_json_null(tm_json *j, const char *key)
{
	member(j, key);
	put_str(j, "null");
}

void tm_json_u64_or_null(tm_json *j, const char *key, uint64_t v)
{
	if (v)
		tm_json_u64(j, key, v);
	else
		tm_json_null(j, key);
}

void tm_json_unavailable(tm_json *j, const char *key, const char *reason)
{
	tm_json_object_begin(j, key);
	tm_json_string(j, "unavailable", reason);
	tm_json_object_end(j);
}

const char *tm_json_finish(tm_json *j, size_t *len)
{
	/* reserve() always keeps a byte for this newline. */
	if (j->failed || !j->buf)
		return NULL;
	j->buf[j->len++] = '\n';
	*len = j->len;
	return j->buf;
}
