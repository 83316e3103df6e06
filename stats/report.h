/* The replies: what each request of the stats protocol answers. */
#ifndef TM_STATS_REPORT_H
#define TM_STATS_REPORT_H

#include <stdint.h>

#include "stats/json.h"
#include "stats/proto.h"

/* The server's own numbers, shown in the stats reply. */
typedef struct {
	unsigned clients;        /* connected now */
	uint64_t accepted;       /* connections taken */
	uint64_t refused_user;   /* peers of another uid, turned away */
	uint64_t refused_busy;   /* turned away: all client slots taken */
	uint64_t requests;       /* requests answered */
	uint64_t errors;         /* malformed, binary or oversized requests */
	uint64_t timeouts;       /* clients dropped for being too slow */
} tm_server_counters;

/* The reply to req, into j; the caller finishes and sends it. */
void tm_stats_answer(const tm_request *req, const tm_server_counters *srv,
		     tm_json *j);

#endif
