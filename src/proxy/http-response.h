/* Response heads written the way pve-http-server writes them: status line, Date, Expires,
 * Cache-Control, Pragma, Server, Content-Length, Content-Type, Connection. Pure: no I/O. */
#pragma once

#include "http-parser.h"

#include <time.h>

#define HTTP_DATE_LEN  30 /* "Sun, 06 Nov 1994 08:49:37 GMT" + NUL */
#define HTTP_MAX_EXTRA 16 /* extra headers per response */
#define HTTP_SERVER    "pve-api-daemon/3.0"

struct http_response {
	int status;
	const char *message;      /* reason phrase; NULL or "" = the standard one */
	const char *content_type; /* NULL: no Content-Type and no body */
	uint64_t content_length;  /* body bytes that follow the head */
	bool keep_alive;
	bool no_cache;             /* API style: Expires = Date, max-age=0, Pragma: no-cache */
	const char *cache_control; /* static files: used instead of the API trio */
	const char *allow;         /* 405: the Allow header */
	const char *last_modified, *etag;
	struct http_header extra[HTTP_MAX_EXTRA];
	unsigned n_extra;
	time_t now;
};

/* The standard reason phrase of a status ("Unknown" when there is none). */
const char *http_reason(int status);
void http_format_date(time_t t, char out[HTTP_DATE_LEN]);

/* True for a name/value pair that may be written as an extra header: a token name that is
 * not one the writer owns (framing, Connection, Date, Server, Content-Type), and a value
 * without CR, LF, NUL or other controls. */
bool http_extra_header_ok(const char *name, const char *value);

/* Append the head (status line to the empty line) to out. Adjusts r first: a message holding
 * CR or LF becomes "400 Bad Request" without body (PVE does the same); 1xx, 204 and 304 carry
 * no body. Returns true when content_length body bytes must follow, false when the body (if
 * any) must be dropped. */
bool http_response_head(struct strbuf *out, struct http_response *r);
