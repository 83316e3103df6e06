#include "stats/proto.h"

#include <stdio.h>
#include <string.h>

#define MAX_WORDS 3

typedef struct {
	const char *name;
	const char *args;
	const char *doc;
	int min_args, max_args;
} request_desc;

static const request_desc requests[TM_REQ_COUNT] = {
	[TM_REQ_HELP] = {"help", "", "the requests this server answers", 0, 0},
	[TM_REQ_STATS] = {"stats", "",
		"tiers, heap bytes per tier and node, DRAM quota, allocations, "
		"fallbacks, heat source, migrations, uptime", 0, 0},
	[TM_REQ_HEAT] = {"heat", "", "histogram of region heat per tier", 0, 0},
	[TM_REQ_SITES] = {"sites", "[N]",
		"the top N allocation sites by bytes and by heat (N in 1..100, "
		"default 20)", 0, 1},
	[TM_REQ_CONFIG] = {"config", "",
		"every TIERMALLOC_* variable: value, where it came from, "
		"whether it is live", 0, 0},
	[TM_REQ_SET] = {"set", "NAME VALUE",
		"change a live variable (NAME with or without TIERMALLOC_)", 2, 2},
};

typedef struct {
	const char *text;
	size_t len;
} word;

const char *tm_proto_request_name(tm_request_kind kind)
{
	return requests[kind].name;
}

tm_line_state tm_proto_line(const char *buf, size_t len, size_t *line_len)
{
	size_t scan = len < TM_PROTO_LINE_MAX ? len : TM_PROTO_LINE_MAX;
	const char *nl = memchr(buf, '\n', scan);
	if (nl) {
		*line_len = (size_t)(nl - buf);
		return TM_LINE_READY;
	}
	return len >= TM_PROTO_LINE_MAX ? TM_LINE_TOO_LONG : TM_LINE_PARTIAL;
}

/* Requests are printable ASCII; anything else is not a client of ours. */
static bool is_text(const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if ((c < 0x20 && c != '\t') || c >= 0x7f)
			return false;
	}
	return true;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Split into words; returns their number, or max + 1 when there are more. */
static int split(const char *line, size_t len, word *words, int max)
{
	int n = 0;
	size_t i = 0;
	for (;;) {
		while (i < len && is_blank(line[i]))
			i++;
		if (i == len)
			return n;
		if (n == max)
			return max + 1;
		words[n].text = line + i;
		while (i < len && !is_blank(line[i]))
			i++;
		words[n].len = (size_t)(line + i - words[n].text);
		n++;
	}
}

static bool word_is(const word *w, const char *s)
{
	return w->len == strlen(s) && memcmp(w->text, s, w->len) == 0;
}

static int find_request(const word *w)
{
	for (int k = 0; k < TM_REQ_COUNT; k++)
		if (word_is(w, requests[k].name))
			return k;
	return -1;
}

static bool copy_word(const word *w, char *out, size_t size)
{
	if (w->len >= size)
		return false;
	memcpy(out, w->text, w->len);
	out[w->len] = '\0';
	return true;
}

static bool parse_count(const word *w, unsigned *out)
{
	unsigned v = 0;
	if (w->len == 0 || w->len > 3)
		return false;
	for (size_t i = 0; i < w->len; i++) {
		if (w->text[i] < '0' || w->text[i] > '9')
			return false;
		v = v * 10 + (unsigned)(w->text[i] - '0');
	}
	*out = v;
	return v >= 1 && v <= TM_PROTO_SITES_MAX;
}

/* Arguments of a known request; words[0] is the request itself. */
static tm_parse_result parse_args(const word *words, int n, tm_request *req,
				  char *err, size_t errlen)
{
	const request_desc *d = &requests[req->kind];
	if (n - 1 < d->min_args || n - 1 > d->max_args) {
		snprintf(err, errlen, "usage: %s%s%s", d->name, d->args[0] ? " " : "",
			 d->args);
		return TM_PARSE_BAD;
	}
	req->sites = TM_PROTO_SITES_DEFAULT;
	if (req->kind == TM_REQ_SITES && n == 2 && !parse_count(&words[1], &req->sites)) {
		snprintf(err, errlen, "sites: N must be a number in 1..%d",
			 TM_PROTO_SITES_MAX);
		return TM_PARSE_BAD;
	}
	if (req->kind == TM_REQ_SET &&
	    (!copy_word(&words[1], req->name, sizeof(req->name)) ||
	     !copy_word(&words[2], req->value, sizeof(req->value)))) {
		snprintf(err, errlen, "set: NAME or VALUE too long");
		return TM_PARSE_BAD;
	}
	return TM_PARSE_OK;
}

tm_parse_result tm_proto_parse(const char *line, size_t len, tm_request *req,
			       char *err, size_t errlen)
{
	memset(req, 0, sizeof(*req));
	req->kind = TM_REQ_UNKNOWN;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (!is_text(line, len)) {
		snprintf(err, errlen, "binary data in a request; requests are "
			 "lines of text");
		return TM_PARSE_BINARY;
	}
	word words[MAX_WORDS];
	int n = split(line, len, words, MAX_WORDS);
	if (n == 0) {
		snprintf(err, errlen, "empty request; try help");
		return TM_PARSE_BAD;
	}
	int kind = find_request(&words[0]);
	if (kind < 0) {
		snprintf(err, errlen, "unknown request \"%.*s\"; try help",
			 words[0].len > 32 ? 32 : (int)words[0].len, words[0].text);
		return TM_PARSE_BAD;
	}
	req->kind = (tm_request_kind)kind;
	return parse_args(words, n, req, err, errlen);
}

void tm_proto_reply_begin(tm_json *j, tm_request_kind kind)
{
	tm_json_object_begin(j, NULL);
	tm_json_u64(j, "version", TM_PROTO_VERSION);
	tm_json_string(j, "request", requests[kind].name);
}

void tm_proto_reply_end(tm_json *j)
{
	tm_json_object_end(j);
}

void tm_proto_error(tm_json *j, tm_request_kind kind, const char *message)
{
	tm_json_reset(j);
	tm_json_object_begin(j, NULL);
	tm_json_u64(j, "version", TM_PROTO_VERSION);
	if (kind != TM_REQ_UNKNOWN)
		tm_json_string(j, "request", requests[kind].name);
	tm_json_string(j, "error", message);
	tm_json_object_end(j);
}

void tm_proto_help(tm_json *j)
{
	tm_proto_reply_begin(j, TM_REQ_HELP);
	tm_json_array_begin(j, "requests");
	for (int k = 0; k < TM_REQ_COUNT; k++) {
		tm_json_object_begin(j, NULL);
		tm_json_string(j, "name", requests[k].name);
		tm_json_string(j, "args", requests[k].args);
		tm_json_string(j, "returns", requests[k].doc);
		tm_json_object_end(j);
	}
	tm_json_array_end(j);
	tm_proto_reply_end(j);
}
