/* The stats protocol: one request per line, one JSON object per line back.
 *
 * This file knows the requests and the shape of every reply's envelope
 * ("version", "request", "error"); it touches no process state, so the
 * parser is fuzzed on its own (tests/fuzz/). What the replies contain is
 * report.c's business. */
#ifndef TM_PROTO_H
#define TM_PROTO_H

#include <stdbool.h>
#include <stddef.h>

#include "stats/json.h"

/* Bumped when a reply changes incompatibly; added fields do not bump it. */
#define TM_PROTO_VERSION 1

/* The longest request line, its newline included. */
#define TM_PROTO_LINE_MAX 4096

#define TM_PROTO_SITES_DEFAULT 20
#define TM_PROTO_SITES_MAX 100

typedef enum {
	TM_REQ_UNKNOWN = -1,
	TM_REQ_HELP,
	TM_REQ_STATS,
	TM_REQ_HEAT,
	TM_REQ_SITES,
	TM_REQ_CONFIG,
	TM_REQ_SET,
	TM_REQ_COUNT
} tm_request_kind;

typedef struct {
	tm_request_kind kind;
	unsigned sites;   /* sites: entries in each list */
	char name[64];    /* set: the variable, as the client wrote it */
	char value[256];  /* set */
} tm_request;

typedef enum {
	TM_PARSE_OK,
	TM_PARSE_BAD,    /* answer with an error and keep the connection */
	TM_PARSE_BINARY, /* answer with an error and close: not a text client */
} tm_parse_result;

typedef enum {
	TM_LINE_PARTIAL,  /* no newline yet */
	TM_LINE_READY,    /* a line of *line_len bytes, then its newline */
	TM_LINE_TOO_LONG, /* no newline within TM_PROTO_LINE_MAX bytes */
} tm_line_state;

/* Where the first request in buf ends. */
tm_line_state tm_proto_line(const char *buf, size_t len, size_t *line_len);

/* Parse one request line (without its newline; a trailing CR is allowed).
 * On failure err says why, in words for the client, and req->kind is the
 * request if it was recognised (TM_REQ_UNKNOWN if not). */
tm_parse_result tm_proto_parse(const char *line, size_t len, tm_request *req,
			       char *err, size_t errlen);

const char *tm_proto_request_name(tm_request_kind kind);

/* {"version":1,"request":"<name>", ... : the start of every good reply;
 * the caller adds members, then closes with tm_proto_reply_end. */
void tm_proto_reply_begin(tm_json *j, tm_request_kind kind);
void tm_proto_reply_end(tm_json *j);

/* {"version":1,"error":"<message>"}, with "request" unless kind is
 * TM_REQ_UNKNOWN. Replaces whatever j held. */
void tm_proto_error(tm_json *j, tm_request_kind kind, const char *message);

/* The reply to "help": every request, its arguments and what it returns. */
void tm_proto_help(tm_json *j);

#endif
