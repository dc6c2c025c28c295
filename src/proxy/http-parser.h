/* Strict, incremental HTTP/1.1 request parser: pure (no I/O), bounded, fuzzed by fuzz/. */
#pragma once

#include "basic/macros.h"
#include "basic/strbuf.h"

#include <stdint.h>

/* Limits as pve-http-server has them (64 header lines, 8 KiB head, 512 KiB body). */
#define HTTP_MAX_HEAD       8192u         /* request line + header lines, CRLFs included */
#define HTTP_MAX_HEADERS    64u           /* header lines; trailer lines are counted apart */
#define HTTP_MAX_BODY       (512u * 1024) /* default body limit (http_parser.max_body) */
#define HTTP_MAX_METHOD     16u           /* longer methods are not ours: 501 */
#define HTTP_MAX_CHUNK_LINE 1024u         /* one chunk-size line or one trailer line */
#define HTTP_MAX_CHUNK_OVERHEAD                                                                    \
	(128u * 1024) /* framing bytes (sizes, CRLFs, trailers) per body                           \
	               */

enum http_result {
	HTTP_NEED_MORE, /* every byte given was consumed; the request is not complete yet */
	HTTP_HEAD_DONE, /* the head is complete and valid: req fields are set; call again for the
	                 * body (possibly with 0 bytes) after adjusting max_body if needed */
	HTTP_DONE,      /* the request is complete; bytes after it were not consumed */
	HTTP_ERROR,     /* refused: status and reason say why; the connection must close */
};

struct http_header {
	const char *name;  /* as sent; compare case-insensitively */
	const char *value; /* OWS trimmed */
};

/* All strings point into the parser and stay valid until http_parser_reset(). */
struct http_request {
	const char *method;
	const char *path;  /* origin-form path, still percent-encoded */
	const char *query; /* raw query without '?', NULL when the target has none */
	unsigned minor;    /* HTTP/1.<minor>, 0 or 1 */
	bool keep_alive;
	bool expect_continue; /* "Expect: 100-continue" on HTTP/1.1 */
	bool chunked;
	bool upgrade;           /* "Connection: upgrade" (WebSockets) */
	int64_t content_length; /* -1 when absent; INT64_MAX when absurdly large */
	const char *host, *cookie, *authorization, *csrf, *content_type, *upgrade_to;
	struct http_header headers[HTTP_MAX_HEADERS];
	unsigned n_headers;
	struct strbuf body; /* the decoded body */
};

struct http_parser {
	/* Body limit of the current request. Reset to HTTP_MAX_BODY for every request; may be
	 * raised after HTTP_HEAD_DONE (uploads), before the next call. */
	size_t max_body;
	/* Streaming (uploads): may be set after HTTP_HEAD_DONE. Body bytes still arrive in
	 * req.body, but the caller empties it after every call; limits count the bytes
	 * received, and chunked framing may grow with the data (1/16 of it) beyond
	 * HTTP_MAX_CHUNK_OVERHEAD. */
	bool stream_body;
	uint64_t body_received; /* decoded body bytes so far */
	/* Set with HTTP_ERROR: an HTTP status (400, 413, 414, 417, 431, 501, 505) and a short
	 * reason phrase without CR/LF. */
	int status;
	const char *reason;
	struct http_request req;

	/* private */
	unsigned state;
	size_t head_len;   /* bytes stored in head[] */
	size_t line_start; /* start of the line being read in head[] */
	bool seen_request_line;
	bool conn_close, conn_keep_alive;
	const char *te, *expect;
	uint64_t chunk_left;
	size_t cline_len; /* bytes in cline[] */
	unsigned crlf_got;
	unsigned trailer_lines;
	size_t trailer_bytes;
	size_t overhead;
	char cline[HTTP_MAX_CHUNK_LINE];
	char head[HTTP_MAX_HEAD + 1];
};

void http_parser_init(struct http_parser *p);
/* Forget the current request (the body buffer is kept when small) and expect the next one. */
void http_parser_reset(struct http_parser *p);
void http_parser_done(struct http_parser *p);

/* Consume bytes; *ret_used says how many were consumed (all of them with HTTP_NEED_MORE). */
enum http_result http_parser_feed(struct http_parser *p, const void *data, size_t len,
                                  size_t *ret_used);

/* True once the head was read and a body (Content-Length > 0 or chunked) is announced. */
bool http_request_has_body(const struct http_request *r);
/* The first header with this name (case-insensitive), or NULL. */
const char *http_request_header(const struct http_request *r, const char *name);

/* Character classes shared with the response writer. */
bool http_is_tchar(unsigned char c);
bool http_token_valid(const char *s);
