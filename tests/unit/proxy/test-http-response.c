/* Unit tests: response heads as PVE writes them, API/static routing, static file names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "proxy/http-response.h"
#include "proxy/paths.h"

static void
test_api_success_head_matches_pve(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct http_response r = {
		.status = 200,
		.message = "OK",
		.content_type = "application/json;charset=UTF-8",
		.content_length = 13,
		.keep_alive = true,
		.no_cache = true,
		.now = 784111777, /* Sun, 06 Nov 1994 08:49:37 GMT */
	};
	assert_true(http_response_head(&sb, &r));
	assert_string_equal(sb.buf, "HTTP/1.1 200 OK\r\n"
	                            "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
	                            "Expires: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
	                            "Cache-Control: max-age=0\r\n"
	                            "Pragma: no-cache\r\n"
	                            "Server: pve-api-daemon/3.0\r\n"
	                            "Content-Length: 13\r\n"
	                            "Content-Type: application/json;charset=UTF-8\r\n"
	                            "Connection: Keep-Alive\r\n"
	                            "\r\n");
	sb_free(&sb);
}

static void
test_error_message_is_the_reason_phrase(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct http_response r = {
		.status = 500,
		.message = "Configuration file 'nodes/pve/qemu-server/999.conf' does "
		           "not exist",
		.content_type = "application/json;charset=UTF-8",
		.content_length = 13,
		.no_cache = true
	};
	assert_true(http_response_head(&sb, &r));
	assert_true(startswith(sb.buf, "HTTP/1.1 500 Configuration file 'nodes/pve/qemu-server/"
	                               "999.conf' does not exist\r\n"));
	assert_non_null(strstr(sb.buf, "\r\nConnection: close\r\n\r\n"));
	sb_free(&sb);
}

static void
test_message_with_crlf_becomes_400_without_body(void **state)
{
	static const char *const bad[] = { "a\r\nSet-Cookie: x=1", "line\nbreak", "cr\r" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct strbuf sb = STRBUF_INIT;
		struct http_response r = { .status = 200,
			                   .message = bad[i],
			                   .content_type = "application/json;charset=UTF-8",
			                   .content_length = 11 };
		assert_false(http_response_head(&sb, &r));
		assert_int_equal(r.status, 400);
		assert_true(startswith(sb.buf, "HTTP/1.1 400 Bad Request\r\n"));
		assert_null(strstr(sb.buf, "Set-Cookie"));
		assert_null(strstr(sb.buf, "Content-Type"));
		assert_non_null(strstr(sb.buf, "Content-Length: 0\r\n"));
		sb_free(&sb);
	}
}

static void
test_no_content_type_means_no_body_and_no_type(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct http_response r = { .status = 401, .message = "No ticket", .content_length = 99 };
	assert_false(http_response_head(&sb, &r));
	assert_true(startswith(sb.buf, "HTTP/1.1 401 No ticket\r\n"));
	assert_null(strstr(sb.buf, "Content-Type"));
	assert_non_null(strstr(sb.buf, "Content-Length: 0\r\n"));
	sb_free(&sb);
}

static void
test_empty_message_uses_standard_reason(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct http_response r = { .status = 404, .message = "" };
	http_response_head(&sb, &r);
	assert_true(startswith(sb.buf, "HTTP/1.1 404 Not Found\r\n"));
	sb_free(&sb);
}

static void
test_304_has_no_length_and_no_body(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct http_response r = { .status = 304,
		                   .content_type = "text/html; charset=utf-8",
		                   .content_length = 500,
		                   .cache_control = "no-cache",
		                   .etag = "\"1-2\"" };
	assert_false(http_response_head(&sb, &r));
	assert_null(strstr(sb.buf, "Content-Length"));
	assert_null(strstr(sb.buf, "Content-Type"));
	assert_non_null(strstr(sb.buf, "ETag: \"1-2\"\r\n"));
	assert_non_null(strstr(sb.buf, "Cache-Control: no-cache\r\n"));
	assert_null(strstr(sb.buf, "Pragma"));
	sb_free(&sb);
}

static void
test_extra_headers_cannot_override_framing_or_inject(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct http_response r = { .status = 200,
		                   .content_type = "application/json;charset=UTF-8",
		                   .content_length = 2,
		                   .extra = { { "Location", "/x" },
		                              { "Content-Length", "0" },
		                              { "Transfer-Encoding", "chunked" },
		                              { "connection", "keep-alive" },
		                              { "X-Evil", "a\r\nX-Injected: 1" },
		                              { "Bad Name", "v" },
		                              { "Set-Cookie", "a=b; Secure" } },
		                   .n_extra = 7 };
	http_response_head(&sb, &r);
	assert_non_null(strstr(sb.buf, "\r\nLocation: /x\r\n"));
	assert_non_null(strstr(sb.buf, "\r\nSet-Cookie: a=b; Secure\r\n"));
	assert_non_null(strstr(sb.buf, "\r\nContent-Length: 2\r\n"));
	assert_null(strstr(sb.buf, "Content-Length: 0"));
	assert_null(strstr(sb.buf, "Transfer-Encoding"));
	assert_null(strstr(sb.buf, "Injected"));
	assert_null(strstr(sb.buf, "Bad Name"));
	assert_non_null(strstr(sb.buf, "Connection: close\r\n"));
	sb_free(&sb);
}

static void
test_routes_follow_pve_split_abs_uri(void **state)
{
	static const struct {
		const char *path;
		enum proxy_route route;
	} t[] = {
		{ "/api2/json/version", ROUTE_API },
		{ "/api2/json", ROUTE_API },
		{ "/api2/json/", ROUTE_API },
		{ "/api2//json/nodes", ROUTE_API },
		{ "/api2/extjs/version", ROUTE_API_FORMAT },
		{ "/api2/html", ROUTE_API_FORMAT },
		{ "/api2", ROUTE_API_NO_FORMAT },
		{ "/api2/", ROUTE_API_NO_FORMAT },
		{ "/api2/JSON/version", ROUTE_API_NO_FORMAT },
		{ "/api2/j/version", ROUTE_API_NO_FORMAT },
		{ "/api2/json-x/version", ROUTE_API_NO_FORMAT },
		{ "/api2x/json", ROUTE_STATIC },
		{ "/", ROUTE_STATIC },
		{ "/assets/app.js", ROUTE_STATIC },
	};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		char fmt[PROXY_FORMAT_MAX] = "";
		enum proxy_route r = proxy_route_path(t[i].path, fmt);
		if (r != t[i].route)
			fail_msg("%s: route %d, want %d", t[i].path, r, t[i].route);
	}
	char fmt[PROXY_FORMAT_MAX];
	assert_int_equal(proxy_route_path("/api2/extjs/x", fmt), ROUTE_API_FORMAT);
	assert_string_equal(fmt, "extjs");
	assert_int_equal(
	        proxy_route_path("/api2/abcdefghijklmnopqrstuvwxyz0123456789abcdef/x", fmt),
	        ROUTE_API_FORMAT);
	assert_int_equal(strlen(fmt), PROXY_FORMAT_MAX - 1);
}

static void
test_static_names_refuse_traversal_and_hidden_files(void **state)
{
	assert_string_equal(static_relpath("/"), "index.html");
	assert_string_equal(static_relpath("/index.html"), "index.html");
	assert_string_equal(static_relpath("/assets/app-1a2b.js"), "assets/app-1a2b.js");
	static const char *const refused[] = {
		"/..",          "/../etc/passwd", "/assets/../../x", "/a/./b", "/.",
		"/.git/config", "/assets/.env",   "//etc/passwd",    "/a//b",  "/assets/",
		"/a\\..\\b",    "/a\x01",         "relative",        "",
	};
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++)
		if (static_relpath(refused[i]))
			fail_msg("'%s' was not refused", refused[i]);
}

static void
test_static_content_types_and_caching(void **state)
{
	assert_string_equal(static_content_type("index.html"), "text/html; charset=utf-8");
	assert_string_equal(static_content_type("assets/a.JS"), "text/javascript; charset=utf-8");
	assert_string_equal(static_content_type("assets/a.css"), "text/css; charset=utf-8");
	assert_string_equal(static_content_type("assets/f.woff2"), "font/woff2");
	assert_string_equal(static_content_type("favicon.ico"), "image/x-icon");
	assert_string_equal(static_content_type("logo.svg"), "image/svg+xml");
	assert_string_equal(static_content_type("noext"), "application/octet-stream");
	assert_string_equal(static_content_type("dir.js/file"), "application/octet-stream");
	assert_string_equal(static_cache_control("index.html"), "no-cache");
	assert_string_equal(static_cache_control("assets/app-1a2b.js"),
	                    "public, max-age=31536000, immutable");
	assert_string_equal(static_cache_control("favicon.ico"), "no-cache");
}

static void
test_accept_encoding_gzip(void **state)
{
	const struct {
		const char *header;
		bool gzip;
	} cases[] = {
		{ NULL, false },
		{ "", false },
		{ "gzip", true },
		{ "gzip, deflate, br, zstd", true }, /* Chromium's */
		{ "br;q=1.0, GZIP;q=0.5", true },
		{ "deflate", false },
		{ "gzip;q=0", false },
		{ "gzip; q=0.000", false },
		{ "gzip;q=0.001", true },
		{ "*", true },
		{ "*;q=0", false },
		{ "*, gzip;q=0", false },
		{ "gzip;q=0, *", false },
		{ "x-gzip", false },
		{ "gzipped", false },
		{ " ,gzip ,", true },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		bool got = http_accepts_gzip(cases[i].header);
		if (got != cases[i].gzip)
			fail_msg("Accept-Encoding '%s': %d, expected %d",
			         cases[i].header ?: "(none)", got, cases[i].gzip);
	}
}

static void
test_dates_are_imf_fixdate(void **state)
{
	char d[HTTP_DATE_LEN];
	http_format_date(0, d);
	assert_string_equal(d, "Thu, 01 Jan 1970 00:00:00 GMT");
	http_format_date(1700000000, d);
	assert_string_equal(d, "Tue, 14 Nov 2023 22:13:20 GMT");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_api_success_head_matches_pve),
		cmocka_unit_test(test_error_message_is_the_reason_phrase),
		cmocka_unit_test(test_message_with_crlf_becomes_400_without_body),
		cmocka_unit_test(test_no_content_type_means_no_body_and_no_type),
		cmocka_unit_test(test_empty_message_uses_standard_reason),
		cmocka_unit_test(test_304_has_no_length_and_no_body),
		cmocka_unit_test(test_extra_headers_cannot_override_framing_or_inject),
		cmocka_unit_test(test_routes_follow_pve_split_abs_uri),
		cmocka_unit_test(test_static_names_refuse_traversal_and_hidden_files),
		cmocka_unit_test(test_static_content_types_and_caching),
		cmocka_unit_test(test_accept_encoding_gzip),
		cmocka_unit_test(test_dates_are_imf_fixdate),
	};
	return cmocka_run_group_tests_name("proxy-http-response", tests, NULL, NULL);
}
