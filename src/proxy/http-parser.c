/* Strict incremental HTTP/1.1 request parser (see http-parser.h). Decisions are taken on
 * whole lines only, so feeding a request byte by byte gives the same result as feeding it
 * at once (the unit tests and the fuzz harness check that). */
#include "basic/encoding.h"
#include "http-parser.h"

#include <strings.h>

enum {
	PS_HEAD,
	PS_BODY_START,
	PS_BODY,
	PS_CHUNK_SIZE,
	PS_CHUNK_DATA,
	PS_CHUNK_CRLF,
	PS_TRAILER,
	PS_DONE,
	PS_ERROR,
};

bool
http_is_tchar(unsigned char c)
{
	/* RFC 9110 token characters */
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

bool
http_token_valid(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!http_is_tchar((unsigned char)*s))
			return false;
	return true;
}

/* Characters allowed raw in an origin-form target. Besides RFC 3986's set this lets through
 * "[]{}|^", which browsers and requests send unescaped in queries; it refuses controls,
 * space, DEL, non-ASCII, '#' (fragments are never sent) and the characters that only ever
 * appear in URLs by mistake or by attack ("<>\"\\`"). */
static bool
is_target_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	return !strchr("#<>\"\\`", c);
}

/* Header field values: VCHAR, obs-text, SP and HTAB; never CR, LF, NUL or other controls. */
static bool
is_value_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static enum http_result
fail(struct http_parser *p, int status, const char *reason)
{
	p->state = PS_ERROR;
	p->status = status;
	p->reason = reason;
	return HTTP_ERROR;
}

static void
reset_request(struct http_parser *p)
{
	struct strbuf body = p->req.body;
	/* Only the fixed fields: headers[] is overwritten as lines arrive, and clearing all of
	 * the parser for each request would cost 10 KiB of stores per keep-alive request. */
	memset(&p->req, 0, offsetof(struct http_request, headers));
	p->req.n_headers = 0;
	p->req.content_length = -1;
	if (body.cap > 64 * 1024) {
		sb_free(&body);
	} else {
		body.len = 0;
		if (body.buf)
			body.buf[0] = '\0';
	}
	p->req.body = body;
	p->max_body = HTTP_MAX_BODY;
	p->stream_body = false;
	p->body_received = 0;
	p->status = 0;
	p->reason = NULL;
	p->state = PS_HEAD;
	p->head_len = 0;
	p->line_start = 0;
	p->seen_request_line = false;
	p->conn_close = p->conn_keep_alive = false;
	p->te = p->expect = NULL;
	p->chunk_left = 0;
	p->cline_len = 0;
	p->crlf_got = 0;
	p->trailer_lines = 0;
	p->trailer_bytes = 0;
	p->overhead = 0;
}

void
http_parser_init(struct http_parser *p)
{
	memset(p, 0, offsetof(struct http_parser, cline));
	reset_request(p);
}

void
http_parser_reset(struct http_parser *p)
{
	reset_request(p);
}

void
http_parser_done(struct http_parser *p)
{
	sb_free(&p->req.body);
}

bool
http_request_has_body(const struct http_request *r)
{
	return r->chunked || r->content_length > 0;
}

const char *
http_request_header(const struct http_request *r, const char *name)
{
	for (unsigned i = 0; i < r->n_headers; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

/* "METHOD SP origin-form SP HTTP/1.x"; line has len bytes (CRLF excluded), writable. */
static enum http_result
parse_request_line(struct http_parser *p, char *line, size_t len)
{
	struct http_request *r = &p->req;
	size_t i = 0;
	while (i < len && http_is_tchar((unsigned char)line[i]))
		i++;
	if (i == 0 || i == len || line[i] != ' ')
		return fail(p, 400, "invalid request line");
	if (i > HTTP_MAX_METHOD)
		return fail(p, 501, "method not implemented");
	line[i] = '\0';
	r->method = line;

	char *target = line + i + 1;
	size_t t = 0, tmax = len - i - 1;
	while (t < tmax && target[t] != ' ') {
		unsigned char c = (unsigned char)target[t];
		if (!is_target_char(c))
			return fail(p, 400, "invalid character in request target");
		if (c == '%') {
			if (t + 2 >= tmax || hex_digit((unsigned char)target[t + 1]) < 0 ||
			    hex_digit((unsigned char)target[t + 2]) < 0)
				return fail(p, 400, "invalid percent-encoding in request target");
			t += 2;
		}
		t++;
	}
	if (t == 0 || t == tmax)
		return fail(p, 400, "invalid request line");
	/* Only origin-form: absolute-form and authority-form would make us a forward proxy, and
	 * "//host" or "x@host" targets confuse URL parsers further down (pve-http-server refuses
	 * '@' before the first '/'). */
	if (target[0] != '/')
		return fail(p, 400, "request target must start with '/'");
	if (t > 1 && target[1] == '/')
		return fail(p, 400, "request target must not start with '//'");
	target[t] = '\0';

	const char *version = target + t + 1;
	size_t vlen = tmax - t - 1;
	if (vlen == 8 && memcmp(version, "HTTP/1.", 7) == 0 &&
	    (version[7] == '1' || version[7] == '0')) {
		r->minor = (unsigned)(version[7] - '0');
	} else if (vlen == 8 && memcmp(version, "HTTP/", 5) == 0 && version[5] >= '0' &&
	           version[5] <= '9' && version[6] == '.' && version[7] >= '0' &&
	           version[7] <= '9') {
		return fail(p, 505, "HTTP Version Not Supported");
	} else {
		return fail(p, 400, "invalid request line");
	}

	char *q = strchr(target, '?');
	if (q) {
		*q = '\0';
		r->query = q + 1;
	}
	r->path = target;
	p->seen_request_line = true;
	return HTTP_NEED_MORE;
}

/* Split "name: value" in place; NUL-terminates both. Returns false when malformed. */
static bool
split_field(char *line, size_t len, char **ret_name, char **ret_value)
{
	size_t i = 0;
	while (i < len && http_is_tchar((unsigned char)line[i]))
		i++;
	/* whitespace between name and colon is refused (RFC 9112 5.1: request smuggling) */
	if (i == 0 || i == len || line[i] != ':')
		return false;
	size_t v = i + 1, e = len;
	while (v < e && (line[v] == ' ' || line[v] == '\t'))
		v++;
	while (e > v && (line[e - 1] == ' ' || line[e - 1] == '\t'))
		e--;
	for (size_t k = v; k < e; k++)
		if (!is_value_char((unsigned char)line[k]))
			return false;
	line[i] = '\0';
	line[e] = '\0';
	*ret_name = line;
	*ret_value = line + v;
	return true;
}

static void
parse_connection(struct http_parser *p, const char *v)
{
	/* a comma-separated token list; unknown tokens are ignored */
	while (*v) {
		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		size_t n = 0;
		while (v[n] && v[n] != ',' && v[n] != ' ' && v[n] != '\t')
			n++;
		if (n == 5 && strncasecmp(v, "close", 5) == 0)
			p->conn_close = true;
		else if (n == 10 && strncasecmp(v, "keep-alive", 10) == 0)
			p->conn_keep_alive = true;
		else if (n == 7 && strncasecmp(v, "upgrade", 7) == 0)
			p->req.upgrade = true;
		v += n;
	}
}

/* Remember a header that may appear only once; a repeat is refused. */
static bool
set_once(const char **slot, const char *value)
{
	if (*slot)
		return false;
	*slot = value;
	return true;
}

static enum http_result
parse_header_line(struct http_parser *p, char *line, size_t len)
{
	struct http_request *r = &p->req;
	if (line[0] == ' ' || line[0] == '\t')
		return fail(p, 400, "obsolete line folding in header");
	if (r->n_headers >= HTTP_MAX_HEADERS)
		return fail(p, 431, "too many header lines");
	char *name, *value;
	if (!split_field(line, len, &name, &value))
		return fail(p, 400, "invalid header line");
	r->headers[r->n_headers].name = name;
	r->headers[r->n_headers].value = value;
	r->n_headers++;

	bool ok = true;
	if (strcasecmp(name, "content-length") == 0) {
		if (r->content_length >= 0)
			return fail(p, 400, "repeated Content-Length");
		if (!*value)
			return fail(p, 400, "invalid Content-Length");
		int64_t n = 0;
		for (const char *s = value; *s; s++) {
			if (*s < '0' || *s > '9')
				return fail(p, 400, "invalid Content-Length");
			/* saturate: anything this large is refused with 413 later */
			n = n > (INT64_MAX - 9) / 10 ? INT64_MAX : n * 10 + (*s - '0');
		}
		r->content_length = n;
	} else if (strcasecmp(name, "transfer-encoding") == 0) {
		ok = set_once(&p->te, value);
	} else if (strcasecmp(name, "host") == 0) {
		ok = set_once(&r->host, value);
	} else if (strcasecmp(name, "connection") == 0) {
		parse_connection(p, value);
	} else if (strcasecmp(name, "expect") == 0) {
		ok = set_once(&p->expect, value);
	} else if (strcasecmp(name, "cookie") == 0) {
		ok = set_once(&r->cookie, value);
	} else if (strcasecmp(name, "authorization") == 0) {
		ok = set_once(&r->authorization, value);
	} else if (strcasecmp(name, "csrfpreventiontoken") == 0) {
		ok = set_once(&r->csrf, value);
	} else if (strcasecmp(name, "content-type") == 0) {
		ok = set_once(&r->content_type, value);
	} else if (strcasecmp(name, "upgrade") == 0) {
		ok = set_once(&r->upgrade_to, value);
	}
	if (!ok)
		return fail(p, 400, "repeated header field");
	return HTTP_NEED_MORE;
}

static enum http_result
finish_head(struct http_parser *p)
{
	struct http_request *r = &p->req;
	if (r->minor == 1 && !r->host)
		return fail(p, 400, "missing Host header");
	if (p->te) {
		/* RFC 9112 6.1: Transfer-Encoding in HTTP/1.0 is faulty framing; with a
		 * Content-Length it is the classic request smuggling vector. */
		if (r->minor == 0)
			return fail(p, 400, "Transfer-Encoding in HTTP/1.0 request");
		if (r->content_length >= 0)
			return fail(p, 400, "both Content-Length and Transfer-Encoding");
		if (strcasecmp(p->te, "chunked") != 0)
			return fail(p, 501, "unsupported Transfer-Encoding");
		r->chunked = true;
	}
	if (p->expect) {
		if (strcasecmp(p->expect, "100-continue") != 0)
			return fail(p, 417, "Expectation Failed");
		/* HTTP/1.0 clients do not understand 100 (RFC 9110 10.1.1) */
		r->expect_continue = r->minor == 1;
	}
	r->keep_alive = !p->conn_close && (r->minor == 1 || p->conn_keep_alive);
	p->state = PS_BODY_START;
	return HTTP_HEAD_DONE;
}

/* A complete line (LF included) sits at head[line_start..head_len). */
static enum http_result
head_line(struct http_parser *p)
{
	char *line = p->head + p->line_start;
	size_t n = p->head_len - p->line_start;
	if (n < 2 || line[n - 2] != '\r')
		return fail(p, 400, "bare LF in request head");
	n -= 2;
	line[n] = '\0';
	/* a CR anywhere else is a bare CR: the line parsers refuse it as a control character */
	if (!p->seen_request_line) {
		if (n == 0)
			return HTTP_NEED_MORE; /* empty lines before a request are ignored (RFC
			                          9112 2.2) */
		return parse_request_line(p, line, n);
	}
	if (n == 0)
		return finish_head(p);
	return parse_header_line(p, line, n);
}

static enum http_result
parse_head(struct http_parser *p, const char *data, size_t len, size_t *used)
{
	size_t off = 0;
	while (off < len) {
		const char *lf = memchr(data + off, '\n', len - off);
		size_t take = lf ? (size_t)(lf - (data + off)) + 1 : len - off;
		if (p->head_len + take > HTTP_MAX_HEAD) {
			*used = off;
			if (!p->seen_request_line)
				return fail(p, 414, "URI Too Long");
			return fail(p, 431, "Request Header Fields Too Large");
		}
		memcpy(p->head + p->head_len, data + off, take);
		p->head_len += take;
		off += take;
		if (!lf)
			break;
		enum http_result r = head_line(p);
		p->line_start = p->head_len;
		if (r != HTTP_NEED_MORE) {
			*used = off;
			return r;
		}
	}
	*used = off;
	return HTTP_NEED_MORE;
}

static enum http_result
start_body(struct http_parser *p)
{
	struct http_request *r = &p->req;
	if (r->chunked) {
		p->state = PS_CHUNK_SIZE;
		p->cline_len = 0;
		return HTTP_NEED_MORE;
	}
	if (r->content_length > 0 && (uint64_t)r->content_length > p->max_body)
		return fail(p, 413, "Request Entity Too Large");
	if (r->content_length > 0) {
		/* room for typical bodies at once; a large announced length is only believed as
		 * its bytes arrive */
		sb_grow(&r->body, (size_t)MIN(r->content_length, (int64_t)64 * 1024));
		p->state = PS_BODY;
		return HTTP_NEED_MORE;
	}
	p->state = PS_DONE;
	return HTTP_DONE;
}

/* chunk-size [ chunk-ext ] — the line without its CRLF, NUL-terminated. */
static enum http_result
chunk_size_line(struct http_parser *p, const char *line, size_t len)
{
	size_t i = 0;
	uint64_t size = 0;
	bool too_big = false;
	while (i < len && hex_digit((unsigned char)line[i]) >= 0) {
		/* once too big, size stops growing: no overflow however many digits follow,
		 * even with max_body at SIZE_MAX */
		if (!too_big && size > (UINT64_MAX >> 4))
			too_big = true;
		if (!too_big)
			size = size * 16 + (uint64_t)hex_digit((unsigned char)line[i]);
		if (size > p->max_body)
			too_big = true;
		i++;
	}
	if (i == 0)
		return fail(p, 400, "invalid chunk size");
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i < len) {
		/* chunk extensions are ignored, but must be printable and start with ';' */
		if (line[i] != ';')
			return fail(p, 400, "invalid chunk size");
		for (; i < len; i++)
			if (!is_value_char((unsigned char)line[i]))
				return fail(p, 400, "invalid chunk extension");
	}
	if (too_big || size > p->max_body - p->body_received)
		return fail(p, 413, "Request Entity Too Large");
	if (size == 0) {
		p->state = PS_TRAILER;
	} else {
		p->chunk_left = size;
		p->state = PS_CHUNK_DATA;
	}
	return HTTP_NEED_MORE;
}

static enum http_result
trailer_line(struct http_parser *p, char *line, size_t len)
{
	if (len == 0) {
		p->state = PS_DONE;
		return HTTP_DONE;
	}
	if (++p->trailer_lines > HTTP_MAX_HEADERS)
		return fail(p, 431, "too many trailer lines");
	if (line[0] == ' ' || line[0] == '\t')
		return fail(p, 400, "obsolete line folding in trailer");
	char *name, *value;
	if (!split_field(line, len, &name, &value))
		return fail(p, 400, "invalid trailer line");
	/* trailers are validated and dropped: nothing downstream reads them */
	return HTTP_NEED_MORE;
}

/* Collect one CRLF-terminated line of the chunked framing into cline[]. */
static enum http_result
chunk_line_byte(struct http_parser *p, char c)
{
	bool trailer = p->state == PS_TRAILER;
	if (p->cline_len >= HTTP_MAX_CHUNK_LINE - 1)
		return trailer ? fail(p, 431, "trailer line too long")
		               : fail(p, 400, "chunk size line too long");
	if (trailer && ++p->trailer_bytes > HTTP_MAX_HEAD)
		return fail(p, 431, "trailer section too large");
	p->cline[p->cline_len++] = c;
	if (c != '\n')
		return HTTP_NEED_MORE;
	size_t n = p->cline_len;
	p->cline_len = 0;
	if (n < 2 || p->cline[n - 2] != '\r')
		return fail(p, 400, "bare LF in chunked body");
	n -= 2;
	p->cline[n] = '\0';
	if (memchr(p->cline, '\r', n))
		return fail(p, 400, "bare CR in chunked body");
	return trailer ? trailer_line(p, p->cline, n) : chunk_size_line(p, p->cline, n);
}

static uint64_t
overhead_limit(const struct http_parser *p)
{
	/* a streamed body of GiBs in 16 KiB chunks has more framing than a small one may */
	return HTTP_MAX_CHUNK_OVERHEAD + (p->stream_body ? p->body_received / 16 : 0);
}

enum http_result
http_parser_feed(struct http_parser *p, const void *data, size_t len, size_t *ret_used)
{
	const char *d = data;
	size_t off = 0, n;
	enum http_result r = HTTP_NEED_MORE;

	for (;;) {
		switch (p->state) {
		case PS_HEAD:
			r = parse_head(p, d + off, len - off, &n);
			off += n;
			goto out;
		case PS_BODY_START:
			r = start_body(p);
			if (r != HTTP_NEED_MORE)
				goto out;
			break;
		case PS_BODY: {
			uint64_t want = (uint64_t)p->req.content_length - p->body_received;
			size_t take = (size_t)MIN(want, (uint64_t)(len - off));
			sb_append(&p->req.body, d + off, take);
			off += take;
			p->body_received += take;
			if (p->body_received < (uint64_t)p->req.content_length)
				goto out;
			p->state = PS_DONE;
			r = HTTP_DONE;
			goto out;
		}
		case PS_CHUNK_SIZE:
		case PS_TRAILER:
			while (off < len && (p->state == PS_CHUNK_SIZE || p->state == PS_TRAILER)) {
				if (++p->overhead > overhead_limit(p)) {
					r = fail(p, 413, "Request Entity Too Large");
					goto out;
				}
				r = chunk_line_byte(p, d[off++]);
				if (r != HTTP_NEED_MORE)
					goto out;
			}
			if (off == len)
				goto out;
			break;
		case PS_CHUNK_DATA: {
			size_t take = (size_t)MIN(p->chunk_left, (uint64_t)(len - off));
			sb_append(&p->req.body, d + off, take);
			off += take;
			p->body_received += take;
			p->chunk_left -= take;
			if (p->chunk_left > 0)
				goto out;
			p->state = PS_CHUNK_CRLF;
			p->crlf_got = 0;
			break;
		}
		case PS_CHUNK_CRLF:
			while (off < len && p->state == PS_CHUNK_CRLF) {
				char c = d[off++];
				if (++p->overhead > overhead_limit(p)) {
					r = fail(p, 413, "Request Entity Too Large");
					goto out;
				}
				if (p->crlf_got == 0 && c == '\r') {
					p->crlf_got = 1;
				} else if (p->crlf_got == 1 && c == '\n') {
					p->state = PS_CHUNK_SIZE;
					p->cline_len = 0;
				} else {
					r = fail(p, 400, "missing CRLF after chunk data");
					goto out;
				}
			}
			if (off == len)
				goto out;
			break;
		case PS_DONE:
			r = HTTP_DONE;
			goto out;
		default:
			r = HTTP_ERROR;
			goto out;
		}
	}
out:
	*ret_used = off;
	return r;
}
