/* HTTP/1.1 response heads (see http-response.h). */
#include "http-response.h"

#include <inttypes.h>
#include <stdio.h>
#include <strings.h>

const char *
http_reason(int status)
{
	static const struct {
		int status;
		const char *reason;
	} reasons[] = {
		{ 100, "Continue" },
		{ 101, "Switching Protocols" },
		{ 200, "OK" },
		{ 201, "Created" },
		{ 202, "Accepted" },
		{ 204, "No Content" },
		{ 206, "Partial Content" },
		{ 301, "Moved Permanently" },
		{ 302, "Found" },
		{ 304, "Not Modified" },
		{ 400, "Bad Request" },
		{ 401, "Unauthorized" },
		{ 403, "Forbidden" },
		{ 404, "Not Found" },
		{ 405, "Method Not Allowed" },
		{ 408, "Request Timeout" },
		{ 409, "Conflict" },
		{ 411, "Length Required" },
		{ 412, "Precondition Failed" },
		{ 413, "Request Entity Too Large" },
		{ 414, "URI Too Long" },
		{ 415, "Unsupported Media Type" },
		{ 417, "Expectation Failed" },
		{ 429, "Too Many Requests" },
		{ 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" },
		{ 501, "Not Implemented" },
		{ 502, "Bad Gateway" },
		{ 503, "Service Unavailable" },
		{ 504, "Gateway Timeout" },
		{ 505, "HTTP Version Not Supported" },
		{ 506, "Variant Also Negotiates" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(reasons); i++)
		if (reasons[i].status == status)
			return reasons[i].reason;
	return "Unknown";
}

void
http_format_date(time_t t, char out[HTTP_DATE_LEN])
{
	/* RFC 9110 IMF-fixdate, spelled out so the locale cannot change it */
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
		                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
		t = 0;
		gmtime_r(&t, &tm);
	}
	char buf[64]; /* roomier than the result, so the compiler sees no truncation */
	snprintf(buf, sizeof(buf), "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
	         tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
	         tm.tm_sec);
	memcpy(out, buf, HTTP_DATE_LEN - 1);
	out[HTTP_DATE_LEN - 1] = '\0';
}

bool
http_extra_header_ok(const char *name, const char *value)
{
	static const char *const owned[] = {
		"content-length", "content-type",  "transfer-encoding",
		"connection",     "keep-alive",    "upgrade",
		"date",           "server",        "expires",
		"pragma",         "cache-control", "trailer",
	};
	if (!http_token_valid(name))
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(owned); i++)
		if (strcasecmp(name, owned[i]) == 0)
			return false;
	for (const unsigned char *s = (const unsigned char *)value; *s; s++)
		if ((*s < 0x20 && *s != '\t') || *s == 0x7f)
			return false;
	return true;
}

static void
put_header(struct strbuf *out, const char *name, const char *value)
{
	sb_puts(out, name);
	sb_append(out, ": ", 2);
	sb_puts(out, value);
	sb_append(out, "\r\n", 2);
}

bool
http_response_head(struct strbuf *out, struct http_response *r)
{
	if (r->status < 100 || r->status > 999)
		r->status = 500;
	if (!r->message || !*r->message)
		r->message = http_reason(r->status);
	if (strpbrk(r->message, "\r\n")) {
		/* the message is the reason phrase: never let it split the head (PVE's rule) */
		r->status = 400;
		r->message = http_reason(400);
		r->content_type = NULL;
	}
	bool bodyless = r->status < 200 || r->status == 204 || r->status == 304;
	if (bodyless || !r->content_type)
		r->content_length = 0;

	char num[32];
	snprintf(num, sizeof(num), "%d", r->status);
	sb_append(out, "HTTP/1.1 ", 9);
	sb_puts(out, num);
	sb_putc(out, ' ');
	sb_puts(out, r->message);
	sb_append(out, "\r\n", 2);

	char date[HTTP_DATE_LEN];
	http_format_date(r->now, date);
	put_header(out, "Date", date);
	if (r->cache_control) {
		put_header(out, "Cache-Control", r->cache_control);
	} else if (r->no_cache) {
		put_header(out, "Expires", date);
		put_header(out, "Cache-Control", "max-age=0");
		put_header(out, "Pragma", "no-cache");
	}
	put_header(out, "Server", HTTP_SERVER);
	if (r->last_modified)
		put_header(out, "Last-Modified", r->last_modified);
	if (r->etag)
		put_header(out, "ETag", r->etag);
	if (r->allow)
		put_header(out, "Allow", r->allow);
	for (unsigned i = 0; i < r->n_extra && i < HTTP_MAX_EXTRA; i++)
		if (http_extra_header_ok(r->extra[i].name, r->extra[i].value))
			put_header(out, r->extra[i].name, r->extra[i].value);
	if (!bodyless) {
		/* always a length, also for bodyless errors: keep-alive clients need it */
		snprintf(num, sizeof(num), "%" PRIu64, r->content_length);
		put_header(out, "Content-Length", num);
	}
	if (r->content_type && !bodyless)
		put_header(out, "Content-Type", r->content_type);
	put_header(out, "Connection", r->keep_alive ? "Keep-Alive" : "close");
	sb_append(out, "\r\n", 2);
	return r->content_type != NULL && !bodyless;
}
