/* Unit tests: the strict HTTP/1.1 request parser — good and hostile requests, every limit,
 * incremental feeding, chunked bodies, pipelining. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "proxy/http-parser.h"

#include <stdio.h>

#define GET_HOST "GET / HTTP/1.1\r\nHost: x\r\n"

/* Feed data in pieces of `step` bytes (0 = all at once), following HEAD_DONE; returns the
 * final result and how many bytes the request took. */
static enum http_result
feed(struct http_parser *p, const char *data, size_t len, size_t step, size_t *ret_used)
{
	size_t off = 0;
	enum http_result r = HTTP_NEED_MORE;
	size_t end = 0;
	while (true) {
		size_t n = step ? MIN(step, len - end) : len - end;
		end += n;
		for (;;) {
			size_t used = 0;
			r = http_parser_feed(p, data + off, end - off, &used);
			off += used;
			if (r != HTTP_HEAD_DONE)
				break;
		}
		if (r != HTTP_NEED_MORE || end == len)
			break;
	}
	if (ret_used)
		*ret_used = off;
	return r;
}

struct outcome {
	enum http_result result;
	int status;
	size_t used;
	size_t body_len;
};

static struct outcome
parse_with_step(const char *data, size_t len, size_t step)
{
	struct http_parser p;
	http_parser_init(&p);
	struct outcome o = { 0 };
	o.result = feed(&p, data, len, step, &o.used);
	o.status = o.result == HTTP_ERROR ? p.status : 0;
	o.body_len = p.req.body.len;
	http_parser_done(&p);
	return o;
}

/* Parse all at once, byte by byte and in 7-byte pieces; all three must agree. */
static struct outcome
parse_everyway(const char *data, size_t len)
{
	struct outcome a = parse_with_step(data, len, 0);
	struct outcome b = parse_with_step(data, len, 1);
	struct outcome c = parse_with_step(data, len, 7);
	assert_int_equal(a.result, b.result);
	assert_int_equal(a.status, b.status);
	assert_int_equal(a.result, c.result);
	assert_int_equal(a.status, c.status);
	if (a.result == HTTP_DONE) {
		assert_int_equal(a.used, b.used);
		assert_int_equal(a.used, c.used);
		assert_int_equal(a.body_len, b.body_len);
	}
	return a;
}

struct case_ {
	const char *name;
	const char *req;
	size_t len; /* requests may hold NUL bytes */
	enum http_result result;
	int status;
};

#define C(name, req, result, status)                                                               \
	{                                                                                          \
		name, req, sizeof(req) - 1, result, status                                         \
	}

static const struct case_ cases[] = {
	/* good */
	C("simple GET", GET_HOST "\r\n", HTTP_DONE, 0),
	C("HTTP/1.0 without Host", "GET / HTTP/1.0\r\n\r\n", HTTP_DONE, 0),
	C("leading empty lines are ignored", "\r\n\r\n" GET_HOST "\r\n", HTTP_DONE, 0),
	C("query and UPID characters",
	  "GET /api2/json/nodes/n/tasks/UPID:n:0001:00:66B1:qmstart:100:root@pam:/status?a=1&b=%2F "
	  "HTTP/1.1\r\nHost: x\r\n\r\n",
	  HTTP_DONE, 0),
	C("brackets and braces in query", "GET /x?f=[{}]|^ HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_DONE,
	  0),
	C("OWS around values", GET_HOST "Cookie: \t a=b \t\r\n\r\n", HTTP_DONE, 0),
	C("empty header value", GET_HOST "X-Empty:\r\n\r\n", HTTP_DONE, 0),
	C("obs-text in value", GET_HOST "X-T: caf\xc3\xa9\r\n\r\n", HTTP_DONE, 0),
	C("POST with body", "POST /api2/json/x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
	  HTTP_DONE, 0),
	C("Content-Length 0", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", HTTP_DONE,
	  0),
	C("chunked body",
	  "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "3\r\nabc\r\nA;ext=1\r\n0123456789\r\n0\r\nX-Trailer: y\r\n\r\n",
	  HTTP_DONE, 0),
	C("chunked is case-insensitive",
	  "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n", HTTP_DONE,
	  0),
	C("expect 100-continue",
	  "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\n"
	  "Content-Length: 1\r\n\r\nx",
	  HTTP_DONE, 0),
	C("incomplete head", GET_HOST, HTTP_NEED_MORE, 0),
	C("incomplete body", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\nab",
	  HTTP_NEED_MORE, 0),
	/* request line */
	C("absolute-form", "GET http://evil/ HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_ERROR, 400),
	C("authority-form", "CONNECT evil:443 HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_ERROR, 400),
	C("asterisk-form", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_ERROR, 400),
	C("@ before the first slash", "GET user@evil/ HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_ERROR,
	  400),
	C("network-path target", "GET //evil/x HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_ERROR, 400),
	C("NUL in target", "GET /a\0b HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_ERROR, 400),
	C("tab in target", "GET /a\tb HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_ERROR, 400),
	C("fragment in target", "GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_ERROR, 400),
	C("non-ASCII in target", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_ERROR, 400),
	C("backslash in target", "GET /a\\..\\b HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_ERROR, 400),
	C("bad percent escape", "GET /a%2 HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_ERROR, 400),
	C("bad percent hex", "GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_ERROR, 400),
	C("two spaces", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_ERROR, 400),
	C("missing version", "GET /\r\nHost: x\r\n\r\n", HTTP_ERROR, 400),
	C("lowercase version", "GET / http/1.1\r\nHost: x\r\n\r\n", HTTP_ERROR, 400),
	C("trailing space after version", "GET / HTTP/1.1 \r\nHost: x\r\n\r\n", HTTP_ERROR, 400),
	C("HTTP/2.0", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", HTTP_ERROR, 505),
	C("HTTP/1.2", "GET / HTTP/1.2\r\nHost: x\r\n\r\n", HTTP_ERROR, 505),
	C("HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", HTTP_ERROR, 505),
	C("method with separator", "GE(T / HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_ERROR, 400),
	C("overlong method", "ABCDEFGHIJKLMNOPQ / HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_ERROR, 501),
	/* line endings */
	C("bare LF ends request line", "GET / HTTP/1.1\nHost: x\r\n\r\n", HTTP_ERROR, 400),
	C("bare LF ends header", GET_HOST "X: y\n\r\n", HTTP_ERROR, 400),
	C("bare LF ends head", GET_HOST "\n", HTTP_ERROR, 400),
	C("bare CR in header value", GET_HOST "X: a\rb\r\n\r\n", HTTP_ERROR, 400),
	C("bare CR in request line", "GET /\r HTTP/1.1\r\nHost: x\r\n\r\n", HTTP_ERROR, 400),
	C("CR CR LF", GET_HOST "X: y\r\r\n\r\n", HTTP_ERROR, 400),
	/* header fields */
	C("obs-fold", GET_HOST "X: a\r\n b\r\n\r\n", HTTP_ERROR, 400),
	C("space before colon", GET_HOST "X : a\r\n\r\n", HTTP_ERROR, 400),
	C("no colon", GET_HOST "Xa\r\n\r\n", HTTP_ERROR, 400),
	C("empty name", GET_HOST ": a\r\n\r\n", HTTP_ERROR, 400),
	C("non-token name", GET_HOST "X(y): a\r\n\r\n", HTTP_ERROR, 400),
	C("NUL in value", GET_HOST "X: a\0b\r\n\r\n", HTTP_ERROR, 400),
	C("control in value",
	  GET_HOST "X: a\x01"
	           "b\r\n\r\n",
	  HTTP_ERROR, 400),
	C("DEL in value", GET_HOST "X: a\x7f\r\n\r\n", HTTP_ERROR, 400),
	C("missing Host on 1.1", "GET / HTTP/1.1\r\n\r\n", HTTP_ERROR, 400),
	C("repeated Host", GET_HOST "Host: y\r\n\r\n", HTTP_ERROR, 400),
	C("repeated Cookie", GET_HOST "Cookie: a\r\nCookie: b\r\n\r\n", HTTP_ERROR, 400),
	C("repeated Authorization", GET_HOST "Authorization: a\r\nAuthorization: b\r\n\r\n",
	  HTTP_ERROR, 400),
	C("repeated CSRF token",
	  GET_HOST "CSRFPreventionToken: a\r\ncsrfpreventiontoken: b\r\n\r\n", HTTP_ERROR, 400),
	C("unknown expectation", GET_HOST "Expect: 200-ok\r\n\r\n", HTTP_ERROR, 417),
	/* framing */
	C("Content-Length not digits", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1a\r\n\r\n",
	  HTTP_ERROR, 400),
	C("Content-Length signed", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\n",
	  HTTP_ERROR, 400),
	C("Content-Length list", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1,1\r\n\r\n",
	  HTTP_ERROR, 400),
	C("Content-Length empty", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n",
	  HTTP_ERROR, 400),
	C("repeated Content-Length (equal)",
	  "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
	  HTTP_ERROR, 400),
	C("repeated Content-Length (conflicting)",
	  "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx",
	  HTTP_ERROR, 400),
	C("Content-Length and Transfer-Encoding",
	  "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
	  HTTP_ERROR, 400),
	C("Transfer-Encoding and Content-Length",
	  "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
	  HTTP_ERROR, 400),
	C("Transfer-Encoding gzip", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
	  HTTP_ERROR, 501),
	C("Transfer-Encoding gzip, chunked",
	  "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", HTTP_ERROR,
	  501),
	C("repeated Transfer-Encoding",
	  "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
	  "chunked\r\n\r\n",
	  HTTP_ERROR, 400),
	C("Transfer-Encoding on HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
	  HTTP_ERROR, 400),
	C("Content-Length over the limit",
	  "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 524289\r\n\r\n", HTTP_ERROR, 413),
	C("Content-Length absurd",
	  "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999999\r\n\r\n",
	  HTTP_ERROR, 413),
	/* chunked framing */
	C("chunk size not hex",
	  "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", HTTP_ERROR,
	  400),
	C("chunk size empty",
	  "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", HTTP_ERROR, 400),
	C("chunk size with 0x",
	  "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "0x3\r\nabc\r\n0\r\n\r\n",
	  HTTP_ERROR, 400),
	C("chunk size bare LF",
	  "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n",
	  HTTP_ERROR, 400),
	C("chunk data without CRLF",
	  "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n",
	  HTTP_ERROR, 400),
	C("chunk extension with control",
	  "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;a\x01\r\nabc\r\n",
	  HTTP_ERROR, 400),
	C("chunk over the limit",
	  "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n80001\r\n", HTTP_ERROR,
	  413),
	C("chunk size overflow",
	  "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
	  "10000000000000000000000000003\r\nabc\r\n",
	  HTTP_ERROR, 413),
	C("trailer obs-fold",
	  "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: a\r\n b\r\n\r\n",
	  HTTP_ERROR, 400),
	C("trailer bare LF",
	  "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: a\n\r\n",
	  HTTP_ERROR, 400),
};

static void
test_table_of_requests_gives_expected_results_every_way(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct case_ *c = &cases[i];
		struct outcome o = parse_everyway(c->req, c->len);
		if (o.result != c->result || o.status != c->status)
			fail_msg("case '%s': got result %d status %d, want %d %d", c->name,
			         o.result, o.status, c->result, c->status);
	}
}

static void
test_nul_bytes_are_refused_in_target_and_values(void **state)
{
	static const char target[] = "GET /a\0b HTTP/1.1\r\nHost: x\r\n\r\n";
	static const char value[] = GET_HOST "X: a\0b\r\n\r\n";
	static const char name[] = GET_HOST "X\0: a\r\n\r\n";
	struct outcome o = parse_everyway(target, sizeof(target) - 1);
	assert_int_equal(o.result, HTTP_ERROR);
	assert_int_equal(o.status, 400);
	o = parse_everyway(value, sizeof(value) - 1);
	assert_int_equal(o.status, 400);
	o = parse_everyway(name, sizeof(name) - 1);
	assert_int_equal(o.status, 400);
}

static void
test_request_fields_are_extracted(void **state)
{
	static const char req[] = "POST /api2/json/access/ticket?x=1&y=%20 HTTP/1.1\r\n"
	                          "Host: pve:8006\r\n"
	                          "Cookie: PVEAuthCookie=PVE%3Aroot%40pam%3A1234::sig\r\n"
	                          "Authorization: PVEAPIToken=root@pam!t=aaaa\r\n"
	                          "CSRFPreventionToken: 66B1F0A2:abc\r\n"
	                          "Content-Type: application/x-www-form-urlencoded\r\n"
	                          "Connection: Upgrade, keep-alive\r\n"
	                          "Upgrade: websocket\r\n"
	                          "Content-Length: 5\r\n"
	                          "\r\n"
	                          "a=b&c";
	struct http_parser p;
	http_parser_init(&p);
	size_t used;
	assert_int_equal(feed(&p, req, sizeof(req) - 1, 0, &used), HTTP_DONE);
	assert_int_equal(used, sizeof(req) - 1);
	const struct http_request *r = &p.req;
	assert_string_equal(r->method, "POST");
	assert_string_equal(r->path, "/api2/json/access/ticket");
	assert_string_equal(r->query, "x=1&y=%20");
	assert_int_equal(r->minor, 1);
	assert_string_equal(r->host, "pve:8006");
	assert_string_equal(r->cookie, "PVEAuthCookie=PVE%3Aroot%40pam%3A1234::sig");
	assert_string_equal(r->authorization, "PVEAPIToken=root@pam!t=aaaa");
	assert_string_equal(r->csrf, "66B1F0A2:abc");
	assert_string_equal(r->content_type, "application/x-www-form-urlencoded");
	assert_true(r->upgrade);
	assert_string_equal(r->upgrade_to, "websocket");
	assert_true(r->keep_alive);
	assert_int_equal(r->content_length, 5);
	assert_int_equal(r->body.len, 5);
	assert_string_equal(r->body.buf, "a=b&c");
	assert_int_equal(r->n_headers, 8);
	assert_string_equal(http_request_header(r, "UPGRADE"), "websocket");
	assert_null(http_request_header(r, "X-Missing"));
	http_parser_done(&p);
}

static void
test_target_without_query_has_null_query_and_empty_query_is_empty(void **state)
{
	struct http_parser p;
	http_parser_init(&p);
	static const char a[] = GET_HOST "\r\n";
	assert_int_equal(feed(&p, a, sizeof(a) - 1, 0, NULL), HTTP_DONE);
	assert_null(p.req.query);
	http_parser_reset(&p);
	static const char b[] = "GET /x? HTTP/1.1\r\nHost: x\r\n\r\n";
	assert_int_equal(feed(&p, b, sizeof(b) - 1, 0, NULL), HTTP_DONE);
	assert_string_equal(p.req.path, "/x");
	assert_string_equal(p.req.query, "");
	http_parser_done(&p);
}

static void
test_keep_alive_defaults_per_version(void **state)
{
	static const struct {
		const char *req;
		bool keep;
	} t[] = {
		{ "GET / HTTP/1.1\r\nHost: x\r\n\r\n", true },
		{ "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", false },
		{ "GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, CLOSE\r\n\r\n", false },
		{ "GET / HTTP/1.0\r\n\r\n", false },
		{ "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true },
		{ "GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", false },
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct http_parser p;
		http_parser_init(&p);
		assert_int_equal(feed(&p, t[i].req, strlen(t[i].req), 0, NULL), HTTP_DONE);
		if (p.req.keep_alive != t[i].keep)
			fail_msg("case %zu: keep_alive %d", i, p.req.keep_alive);
		http_parser_done(&p);
	}
}

static void
test_expect_continue_only_on_http11(void **state)
{
	struct http_parser p;
	http_parser_init(&p);
	static const char a[] =
	        "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
	size_t used;
	assert_int_equal(http_parser_feed(&p, a, sizeof(a) - 1, &used), HTTP_HEAD_DONE);
	assert_int_equal(used, sizeof(a) - 1);
	assert_true(p.req.expect_continue);
	assert_true(http_request_has_body(&p.req));
	/* the caller answers 100 now; the body follows */
	assert_int_equal(http_parser_feed(&p, "", 0, &used), HTTP_NEED_MORE);
	assert_int_equal(http_parser_feed(&p, "hi", 2, &used), HTTP_DONE);
	http_parser_reset(&p);
	static const char b[] =
	        "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhi";
	assert_int_equal(feed(&p, b, sizeof(b) - 1, 0, NULL), HTTP_DONE);
	assert_false(p.req.expect_continue);
	http_parser_done(&p);
}

static char *
head_with_headers(unsigned n, size_t value_len)
{
	struct strbuf sb = STRBUF_INIT;
	sb_puts(&sb, "GET / HTTP/1.1\r\n");
	for (unsigned i = 0; i < n; i++) {
		sb_printf(&sb, "%s: ", i == 0 ? "Host" : "X-H");
		for (size_t k = 0; k < value_len; k++)
			sb_putc(&sb, 'v');
		sb_puts(&sb, "\r\n");
	}
	sb_puts(&sb, "\r\n");
	return sb_steal(&sb);
}

static void
test_header_count_limit_is_64(void **state)
{
	char *ok = head_with_headers(HTTP_MAX_HEADERS, 1);
	char *over = head_with_headers(HTTP_MAX_HEADERS + 1, 1);
	assert_int_equal(parse_everyway(ok, strlen(ok)).result, HTTP_DONE);
	struct outcome o = parse_everyway(over, strlen(over));
	assert_int_equal(o.result, HTTP_ERROR);
	assert_int_equal(o.status, 431);
	free(ok);
	free(over);
}

static void
test_head_size_limit_is_8k_including_crlfs(void **state)
{
	/* request line 16 + "Host: " line; pad the Host value so the head is exactly 8192 */
	const size_t fixed = strlen("GET / HTTP/1.1\r\n") + strlen("Host: \r\n") + strlen("\r\n");
	char *exact = head_with_headers(1, HTTP_MAX_HEAD - fixed);
	char *over = head_with_headers(1, HTTP_MAX_HEAD - fixed + 1);
	assert_int_equal(strlen(exact), HTTP_MAX_HEAD);
	assert_int_equal(parse_everyway(exact, strlen(exact)).result, HTTP_DONE);
	struct outcome o = parse_everyway(over, strlen(over));
	assert_int_equal(o.result, HTTP_ERROR);
	assert_int_equal(o.status, 431);
	free(exact);
	free(over);
}

static void
test_long_request_line_is_414(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	sb_puts(&sb, "GET /");
	for (size_t i = 0; i < HTTP_MAX_HEAD; i++)
		sb_putc(&sb, 'a');
	sb_puts(&sb, " HTTP/1.1\r\nHost: x\r\n\r\n");
	struct outcome o = parse_everyway(sb.buf, sb.len);
	assert_int_equal(o.result, HTTP_ERROR);
	assert_int_equal(o.status, 414);
	/* without any line end at all too (slowloris-style endless line) */
	o = parse_everyway(sb.buf, HTTP_MAX_HEAD + 1);
	assert_int_equal(o.status, 414);
	sb_free(&sb);
}

static void
test_body_limit_is_512k(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	sb_printf(&sb, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %u\r\n\r\n", HTTP_MAX_BODY);
	for (size_t i = 0; i < HTTP_MAX_BODY; i++)
		sb_putc(&sb, 'b');
	struct outcome o = parse_with_step(sb.buf, sb.len, 0);
	assert_int_equal(o.result, HTTP_DONE);
	assert_int_equal(o.body_len, HTTP_MAX_BODY);
	o = parse_with_step(sb.buf, sb.len, 4093);
	assert_int_equal(o.result, HTTP_DONE);
	sb_free(&sb);
}

static void
test_chunked_body_limit_counts_decoded_bytes(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	sb_puts(&sb, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
	/* 8 chunks of 64 KiB = exactly 512 KiB: accepted */
	for (int i = 0; i < 8; i++) {
		sb_puts(&sb, "10000\r\n");
		for (int k = 0; k < 65536; k++)
			sb_putc(&sb, 'c');
		sb_puts(&sb, "\r\n");
	}
	size_t ok_len = sb.len;
	sb_puts(&sb, "0\r\n\r\n");
	struct outcome o = parse_with_step(sb.buf, sb.len, 0);
	assert_int_equal(o.result, HTTP_DONE);
	assert_int_equal(o.body_len, HTTP_MAX_BODY);
	/* one byte more: refused */
	sb.len = ok_len;
	sb_puts(&sb, "1\r\nX\r\n0\r\n\r\n");
	o = parse_with_step(sb.buf, sb.len, 0);
	assert_int_equal(o.result, HTTP_ERROR);
	assert_int_equal(o.status, 413);
	sb_free(&sb);
}

static void
test_chunked_framing_overhead_is_bounded(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	sb_puts(&sb, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
	/* one data byte per 1000 bytes of chunk extension */
	for (int i = 0; i < 200; i++) {
		sb_puts(&sb, "1;");
		for (int k = 0; k < 1000; k++)
			sb_putc(&sb, 'e');
		sb_puts(&sb, "\r\nX\r\n");
	}
	struct outcome o = parse_everyway(sb.buf, sb.len);
	assert_int_equal(o.result, HTTP_ERROR);
	assert_int_equal(o.status, 413);
	sb_free(&sb);
}

static void
test_trailer_limits(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	sb_puts(&sb, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n");
	for (unsigned i = 0; i <= HTTP_MAX_HEADERS; i++)
		sb_puts(&sb, "T: v\r\n");
	sb_puts(&sb, "\r\n");
	struct outcome o = parse_everyway(sb.buf, sb.len);
	assert_int_equal(o.status, 431);
	sb_reset(&sb);
	sb_puts(&sb, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: ");
	for (unsigned i = 0; i < HTTP_MAX_CHUNK_LINE; i++)
		sb_putc(&sb, 'v');
	sb_puts(&sb, "\r\n\r\n");
	o = parse_everyway(sb.buf, sb.len);
	assert_int_equal(o.status, 431);
	sb_free(&sb);
}

static void
test_chunked_body_is_decoded(void **state)
{
	static const char req[] =
	        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
	        "4\r\nWiki\r\n5;name=\"v\"\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n"
	        "0\r\n\r\n";
	for (size_t step = 0; step < 20; step++) {
		struct http_parser p;
		http_parser_init(&p);
		size_t used;
		assert_int_equal(feed(&p, req, sizeof(req) - 1, step, &used), HTTP_DONE);
		assert_int_equal(used, sizeof(req) - 1);
		assert_int_equal(p.req.body.len, 23);
		assert_memory_equal(p.req.body.buf, "Wikipedia in\r\n\r\nchunks.", 23);
		http_parser_done(&p);
	}
}

static void
test_pipelined_requests_are_parsed_one_at_a_time(void **state)
{
	static const char stream[] = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
	                             "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"
	                             "GET /c HTTP/1.1\r\nHost: x\r\n\r\n"
	                             "GET /d HTTP/1.1\r\n";
	static const char *const paths[] = { "/a", "/b", "/c" };
	for (size_t step = 0; step < 9; step++) {
		struct http_parser p;
		http_parser_init(&p);
		size_t off = 0;
		for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
			size_t used;
			enum http_result r =
			        feed(&p, stream + off, sizeof(stream) - 1 - off, step, &used);
			assert_int_equal(r, HTTP_DONE);
			assert_string_equal(p.req.path, paths[i]);
			/* a DONE parser consumes nothing more until reset */
			size_t more;
			assert_int_equal(http_parser_feed(&p, "GET", 3, &more), HTTP_DONE);
			assert_int_equal(more, 0);
			off += used;
			http_parser_reset(&p);
		}
		size_t used;
		assert_int_equal(feed(&p, stream + off, sizeof(stream) - 1 - off, step, &used),
		                 HTTP_NEED_MORE);
		assert_int_equal(off + used, sizeof(stream) - 1);
		http_parser_done(&p);
	}
}

static void
test_max_body_may_be_raised_after_head(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	sb_printf(&sb, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: %u\r\n\r\n",
	          HTTP_MAX_BODY + 10);
	size_t head = sb.len;
	for (size_t i = 0; i < HTTP_MAX_BODY + 10; i++)
		sb_putc(&sb, 'u');
	struct http_parser p;
	http_parser_init(&p);
	size_t used;
	assert_int_equal(http_parser_feed(&p, sb.buf, sb.len, &used), HTTP_HEAD_DONE);
	assert_int_equal(used, head);
	p.max_body = 1 << 20;
	size_t used2;
	assert_int_equal(http_parser_feed(&p, sb.buf + used, sb.len - used, &used2), HTTP_DONE);
	assert_int_equal(p.req.body.len, HTTP_MAX_BODY + 10);
	/* the next request is back to the default */
	http_parser_reset(&p);
	assert_int_equal(p.max_body, HTTP_MAX_BODY);
	http_parser_done(&p);
	sb_free(&sb);
}

/* Feed a streamed body in pieces, emptying req.body after each call as the proxy does. */
static enum http_result
feed_streamed(struct http_parser *p, const char *data, size_t len, size_t step, uint64_t *ret_got)
{
	enum http_result r = HTTP_NEED_MORE;
	for (size_t off = 0; off < len && r == HTTP_NEED_MORE;) {
		size_t n = MIN(step, len - off), used;
		r = http_parser_feed(p, data + off, n, &used);
		off += used;
		*ret_got += p->req.body.len;
		assert_true(p->req.body.len <= step);
		sb_reset(&p->req.body);
	}
	return r;
}

static void
test_streamed_bodies_have_no_limit_and_constant_buffer(void **state)
{
	/* 8 MiB in 256-byte chunks (framing over HTTP_MAX_CHUNK_OVERHEAD): streamed, framing
	 * may grow with the data, and the buffer does not */
	struct strbuf sb = STRBUF_INIT;
	sb_puts(&sb, "POST /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
	size_t head = sb.len;
	for (int i = 0; i < 32768; i++) {
		sb_puts(&sb, "100\r\n");
		for (int k = 0; k < 256; k++)
			sb_putc(&sb, 'z');
		sb_puts(&sb, "\r\n");
	}
	sb_puts(&sb, "0\r\n\r\n");
	struct http_parser p;
	http_parser_init(&p);
	size_t used;
	assert_int_equal(http_parser_feed(&p, sb.buf, head, &used), HTTP_HEAD_DONE);
	p.max_body = SIZE_MAX;
	p.stream_body = true;
	uint64_t got = 0;
	assert_int_equal(feed_streamed(&p, sb.buf + head, sb.len - head, 16384, &got), HTTP_DONE);
	assert_int_equal(got, 8 << 20);
	assert_int_equal(p.body_received, 8 << 20);
	http_parser_done(&p);

	/* without streaming the same framing is refused */
	http_parser_init(&p);
	assert_int_equal(http_parser_feed(&p, sb.buf, head, &used), HTTP_HEAD_DONE);
	p.max_body = SIZE_MAX;
	assert_int_equal(http_parser_feed(&p, sb.buf + head, sb.len - head, &used), HTTP_ERROR);
	assert_int_equal(p.status, 413);
	http_parser_done(&p);
	sb_free(&sb);

	/* a Content-Length body is counted, not kept */
	static const char cl[] = "POST /u HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"
	                         "0123456789NEXT";
	http_parser_init(&p);
	assert_int_equal(http_parser_feed(&p, cl, sizeof(cl) - 1, &used), HTTP_HEAD_DONE);
	p.stream_body = true;
	got = 0;
	assert_int_equal(feed_streamed(&p, cl + used, 10, 3, &got), HTTP_DONE);
	assert_int_equal(got, 10);
	http_parser_done(&p);
}

static void
test_huge_chunk_sizes_do_not_wrap_without_a_limit(void **state)
{
	static const char *sizes[] = { "10000000000000000", "ffffffffffffffff0",
		                       "fffffffffffffffffffffffffffffff" };
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		struct strbuf sb = STRBUF_INIT;
		sb_printf(&sb, "POST /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
		size_t head = sb.len;
		sb_printf(&sb, "%s\r\nabc", sizes[i]);
		struct http_parser p;
		http_parser_init(&p);
		size_t used;
		assert_int_equal(http_parser_feed(&p, sb.buf, head, &used), HTTP_HEAD_DONE);
		p.max_body = SIZE_MAX;
		p.stream_body = true;
		assert_int_equal(http_parser_feed(&p, sb.buf + head, sb.len - head, &used),
		                 HTTP_ERROR);
		assert_int_equal(p.status, 413);
		http_parser_done(&p);
		sb_free(&sb);
	}
}

static void
test_errors_are_sticky_and_carry_a_one_line_reason(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		if (cases[i].result != HTTP_ERROR)
			continue;
		struct http_parser p;
		http_parser_init(&p);
		feed(&p, cases[i].req, cases[i].len, 0, NULL);
		assert_non_null(p.reason);
		assert_null(strpbrk(p.reason, "\r\n"));
		size_t used;
		assert_int_equal(http_parser_feed(&p, "\r\n", 2, &used), HTTP_ERROR);
		http_parser_done(&p);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_of_requests_gives_expected_results_every_way),
		cmocka_unit_test(test_nul_bytes_are_refused_in_target_and_values),
		cmocka_unit_test(test_request_fields_are_extracted),
		cmocka_unit_test(test_target_without_query_has_null_query_and_empty_query_is_empty),
		cmocka_unit_test(test_keep_alive_defaults_per_version),
		cmocka_unit_test(test_expect_continue_only_on_http11),
		cmocka_unit_test(test_header_count_limit_is_64),
		cmocka_unit_test(test_head_size_limit_is_8k_including_crlfs),
		cmocka_unit_test(test_long_request_line_is_414),
		cmocka_unit_test(test_body_limit_is_512k),
		cmocka_unit_test(test_chunked_body_limit_counts_decoded_bytes),
		cmocka_unit_test(test_chunked_framing_overhead_is_bounded),
		cmocka_unit_test(test_trailer_limits),
		cmocka_unit_test(test_chunked_body_is_decoded),
		cmocka_unit_test(test_pipelined_requests_are_parsed_one_at_a_time),
		cmocka_unit_test(test_max_body_may_be_raised_after_head),
		cmocka_unit_test(test_streamed_bodies_have_no_limit_and_constant_buffer),
		cmocka_unit_test(test_huge_chunk_sizes_do_not_wrap_without_a_limit),
		cmocka_unit_test(test_errors_are_sticky_and_carry_a_one_line_reason),
	};
	return cmocka_run_group_tests_name("proxy-http-parser", tests, NULL, NULL);
}
