/* libFuzzer target for the stats protocol's request side: the input is what
 * a client sends, cut into lines as the server does, each line parsed and
 * answered with the replies that echo client text (errors, set). Checks
 * that every reply is one line of JSON text, as clients rely on.
 *
 *   make fuzz-proto                      # a short run, as CI does
 *   build/fuzz/fuzz_proto -max_total_time=3600 build/fuzz/corpus-proto \
 *       tests/fuzz/seeds-proto -dict=tests/fuzz/proto.dict   # by hand */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stats/json.h"
#include "stats/proto.h"

/* One line, ending in "}\n", no other control character: what a client
 * reading replies line by line needs. */
static void check_reply(tm_json *j)
{
	size_t len;
	const char *text = tm_json_finish(j, &len);
	if (!text)
		return; /* over the limit: the server sends an error instead */
	if (len < 3 || text[0] != '{' || text[len - 2] != '}' || text[len - 1] != '\n')
		abort();
	for (size_t i = 0; i + 1 < len; i++)
		if ((unsigned char)text[i] < 0x20)
			abort();
}

static void answer(const char *line, size_t len)
{
	tm_request req;
	char err[160];
	tm_json j;
	tm_json_init(&j, 1 << 16);
	tm_parse_result r = tm_proto_parse(line, len, &req, err, sizeof(err));
	if (r != TM_PARSE_OK) {
		tm_proto_error(&j, req.kind, err);
	} else {
		tm_proto_reply_begin(&j, req.kind);
		tm_json_string(&j, "name", req.name);
		tm_json_string(&j, "value", req.value);
		tm_json_u64(&j, "sites", req.sites);
		tm_proto_reply_end(&j);
	}
	check_reply(&j);
	/* Raw client bytes through the escaper, as a reply may carry them. */
	tm_json_reset(&j);
	tm_json_object_begin(&j, NULL);
	tm_json_string_n(&j, "raw", line, len);
	tm_json_object_end(&j);
	check_reply(&j);
	tm_json_free(&j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	size_t len;
	for (;;) {
		tm_line_state s = tm_proto_line(buf, size, &len);
		if (s != TM_LINE_READY)
			break; /* partial: wait for more; too long: close */
		answer(buf, len);
		buf += len + 1;
		size -= len + 1;
	}
	return 0;
}
