/* Unit tests of the stats protocol's pure parts: the JSON writer, the line
 * framing and the request parser. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "stats/json.h"
#include "stats/proto.h"

/* The finished text of j without its newline, in a static buffer. */
static const char *text_of(tm_json *j)
{
	static char out[8192];
	size_t len;
	const char *t = tm_json_finish(j, &len);
	if (!t || len == 0 || len > sizeof(out))
		return "(failed)";
	memcpy(out, t, len - 1);
	out[len - 1] = '\0';
	return out;
}

static void test_json_structure(void)
{
	tm_json j;
	tm_json_init(&j, 1 << 16);
	tm_json_object_begin(&j, NULL);
	tm_json_u64(&j, "a", 1);
	tm_json_array_begin(&j, "b");
	tm_json_i64(&j, NULL, -2);
	tm_json_bool(&j, NULL, true);
	tm_json_null(&j, NULL);
	tm_json_object_begin(&j, NULL);
	tm_json_object_end(&j);
	tm_json_array_end(&j);
	tm_json_double(&j, "c", 0.5);
	tm_json_double(&j, "nan", NAN);
	tm_json_double(&j, "inf", INFINITY);
	tm_json_u64_or_null(&j, "zero", 0);
	tm_json_unavailable(&j, "d", "why");
	tm_json_object_end(&j);
	const char *t = text_of(&j);
	CHECK(strcmp(t, "{\"a\":1,\"b\":[-2,true,null,{}],\"c\":0.5,\"nan\":null,"
		     "\"inf\":null,\"zero\":null,\"d\":{\"unavailable\":\"why\"}}") == 0,
	      "json structure: %s", t);
	tm_json_free(&j);
}

static void check_string(const char *in, size_t n, const char *want)
{
	tm_json j;
	tm_json_init(&j, 1 << 16);
	tm_json_string_n(&j, NULL, in, n);
	const char *t = text_of(&j);
	CHECK(strcmp(t, want) == 0, "escape: got %s want %s", t, want);
	tm_json_free(&j);
}

static void test_json_escapes(void)
{
	check_string("a\"b\\c", 5, "\"a\\\"b\\\\c\"");
	check_string("\n\t\x01\x7f", 4, "\"\\u000a\\u0009\\u0001\\u007f\"");
	check_string("\0x", 2, "\"\\u0000x\"");
	check_string("\xc3\xa9t\xc3\xa9", 5, "\"\xc3\xa9t\xc3\xa9\"");   /* été */
	check_string("\xf0\x9f\x98\x80", 4, "\"\xf0\x9f\x98\x80\"");     /* emoji */
	check_string("\xff", 1, "\"\\ufffd\"");                          /* bad */
	check_string("\xc3", 1, "\"\\ufffd\"");                          /* cut */
	check_string("\xc0\xaf", 2, "\"\\ufffd\\ufffd\"");               /* overlong */
	check_string("\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\"");    /* surrogate */
	check_string("\xf4\x90\x80\x80", 4, "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
}

static void test_json_limit(void)
{
	tm_json j;
	size_t len;
	tm_json_init(&j, 64);
	tm_json_array_begin(&j, NULL);
	for (int i = 0; i < 100; i++)
		tm_json_string(&j, NULL, "0123456789");
	tm_json_array_end(&j);
	CHECK(tm_json_failed(&j), "a reply over the limit fails");
	CHECK(tm_json_finish(&j, &len) == NULL, "and gives no text");
	tm_proto_error(&j, TM_REQ_STATS, "too large");
	CHECK(strcmp(text_of(&j), "{\"version\":1,\"request\":\"stats\","
		     "\"error\":\"too large\"}") == 0,
	      "an error replaces a failed reply: %s", text_of(&j));
	tm_json_free(&j);
}

static void test_lines(void)
{
	size_t len = 0;
	static char big[TM_PROTO_LINE_MAX + 10];
	CHECK_EQ(tm_proto_line("stats", 5, &len), TM_LINE_PARTIAL, "no newline");
	CHECK_EQ(tm_proto_line("stats\nheat\n", 11, &len), TM_LINE_READY, "line");
	CHECK_EQ(len, 5, "first line's length");
	memset(big, 'a', sizeof(big));
	CHECK_EQ(tm_proto_line(big, TM_PROTO_LINE_MAX - 1, &len), TM_LINE_PARTIAL,
		 "just under the limit is still partial");
	CHECK_EQ(tm_proto_line(big, TM_PROTO_LINE_MAX, &len), TM_LINE_TOO_LONG,
		 "a full buffer without newline is too long");
	big[TM_PROTO_LINE_MAX - 1] = '\n';
	CHECK_EQ(tm_proto_line(big, sizeof(big), &len), TM_LINE_READY,
		 "a line of the largest size is taken");
	CHECK_EQ(len, TM_PROTO_LINE_MAX - 1, "its length");
}

static tm_parse_result parse(const char *line, tm_request *req)
{
	char err[160];
	return tm_proto_parse(line, strlen(line), req, err, sizeof(err));
}

static void test_parse_good(void)
{
	tm_request r;
	static const struct {
		const char *line;
		tm_request_kind kind;
	} good[] = {
		{"help", TM_REQ_HELP},     {"stats", TM_REQ_STATS},
		{"stats\r", TM_REQ_STATS}, {"  \tstats  ", TM_REQ_STATS},
		{"heat", TM_REQ_HEAT},     {"sites", TM_REQ_SITES},
		{"sites 7", TM_REQ_SITES}, {"config", TM_REQ_CONFIG},
		{"set POLICY ratio", TM_REQ_SET},
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		CHECK_EQ(parse(good[i].line, &r), TM_PARSE_OK, "parse %s", good[i].line);
		CHECK_EQ(r.kind, good[i].kind, "kind of %s", good[i].line);
	}
	parse("sites", &r);
	CHECK_EQ(r.sites, TM_PROTO_SITES_DEFAULT, "sites default");
	parse("sites 100", &r);
	CHECK_EQ(r.sites, 100, "sites 100");
	parse("set\tTIERMALLOC_RATIO  1:3", &r);
	CHECK(strcmp(r.name, "TIERMALLOC_RATIO") == 0 && strcmp(r.value, "1:3") == 0,
	      "set name and value: %s %s", r.name, r.value);
}

static void test_parse_bad(void)
{
	tm_request r;
	char err[160];
	static const char *const bad[] = {
		"", "   ", "STATS", "stat", "stats now", "sites 0", "sites 101",
		"sites -1", "sites 1x", "sites 0001", "set", "set POLICY",
		"set A B C", "help me", "heat 1 2 3 4",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ(tm_proto_parse(bad[i], strlen(bad[i]), &r, err, sizeof(err)),
			 TM_PARSE_BAD, "bad request \"%s\"", bad[i]);
		CHECK(err[0] != '\0', "a reason for \"%s\"", bad[i]);
	}
	parse("sites 0", &r);
	CHECK_EQ(r.kind, TM_REQ_SITES, "a bad request still names its kind");
	parse("nope", &r);
	CHECK_EQ(r.kind, TM_REQ_UNKNOWN, "an unknown one does not");
	char longname[200];
	memset(longname, 'N', sizeof(longname));
	memcpy(longname, "set ", 4);
	strcpy(longname + 150, " 1");
	CHECK_EQ(parse(longname, &r), TM_PARSE_BAD, "a NAME too long");
	static const char *const binary[] = {"stats\x01", "st\0ats", "\xff\xfe",
					     "sta\x1bts", "heat\x7f"};
	static const size_t lens[] = {6, 6, 2, 6, 5};
	for (size_t i = 0; i < 5; i++)
		CHECK_EQ(tm_proto_parse(binary[i], lens[i], &r, err, sizeof(err)),
			 TM_PARSE_BINARY, "binary request %zu", i);
}

static void test_help_lists_every_request(void)
{
	tm_json j;
	tm_json_init(&j, 1 << 16);
	tm_proto_help(&j);
	const char *t = text_of(&j);
	for (int k = 0; k < TM_REQ_COUNT; k++) {
		char name[32];
		snprintf(name, sizeof(name), "\"name\":\"%s\"", tm_proto_request_name(k));
		CHECK(strstr(t, name) != NULL, "help lists %s", name);
	}
	CHECK(strncmp(t, "{\"version\":1,\"request\":\"help\"", 29) == 0,
	      "help has the envelope: %s", t);
	tm_json_free(&j);
}

int main(void)
{
	test_json_structure();
	test_json_escapes();
	test_json_limit();
	test_lines();
	test_parse_good();
	test_parse_bad();
	test_help_lists_every_request();
	return check_summary();
}
