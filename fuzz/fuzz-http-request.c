/* libFuzzer harness for the HTTP/1.1 request parser: each input is parsed as a stream of
 * pipelined requests at once, byte by byte and in pieces; all three must agree, and every
 * accepted request must satisfy the parser's promises. */
#include "proxy/http-parser.h"

#include <stdint.h>

#define MAX_REQUESTS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	unsigned n;
	enum http_result result[MAX_REQUESTS + 1];
	int status[MAX_REQUESTS + 1];
	size_t end[MAX_REQUESTS + 1];
	size_t body[MAX_REQUESTS + 1];
};

static void
check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

static bool
one_line(const char *s)
{
	return !s || !strpbrk(s, "\r\n");
}

/* What a DONE request promises its users (the proxy forwards these fields as they are). */
static void
check_request(const struct http_parser *p)
{
	const struct http_request *r = &p->req;
	check(r->method && r->path && r->path[0] == '/' && r->path[1] != '/');
	check(one_line(r->path) && one_line(r->query) && one_line(r->cookie) &&
	      one_line(r->authorization) && one_line(r->csrf) && one_line(r->content_type));
	check(r->n_headers <= HTTP_MAX_HEADERS);
	for (unsigned i = 0; i < r->n_headers; i++)
		check(http_token_valid(r->headers[i].name) && one_line(r->headers[i].value));
	check(r->minor <= 1);
	check(!(r->chunked && r->content_length >= 0));
	check(r->body.len <= p->max_body);
	if (!r->chunked)
		check(r->body.len == (size_t)(r->content_length > 0 ? r->content_length : 0));
}

static void
parse_stream(const uint8_t *data, size_t size, size_t step, struct run *out)
{
	struct http_parser p;
	http_parser_init(&p);
	memset(out, 0, sizeof(*out));
	size_t off = 0, avail = step ? MIN(step, size) : size;
	for (;;) {
		size_t used = 0;
		enum http_result r = http_parser_feed(&p, data + off, avail - off, &used);
		off += used;
		check(off <= avail);
		if (r == HTTP_HEAD_DONE)
			continue;
		if (r == HTTP_NEED_MORE) {
			check(off == avail);
			if (avail == size) {
				out->result[out->n++] = r;
				break;
			}
			avail = step ? MIN(avail + step, size) : size;
			continue;
		}
		out->result[out->n] = r;
		out->status[out->n] = p.status;
		out->end[out->n] = off;
		out->body[out->n] = p.req.body.len;
		out->n++;
		if (r == HTTP_ERROR) {
			check(p.status >= 400 && p.status <= 505 && p.reason && one_line(p.reason));
			break;
		}
		check_request(&p);
		if (out->n == MAX_REQUESTS)
			break;
		http_parser_reset(&p);
	}
	http_parser_done(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run all, bytes, pieces;
	parse_stream(data, size, 0, &all);
	parse_stream(data, size, 1, &bytes);
	parse_stream(data, size, size ? 1 + data[0] % 61 : 1, &pieces);
	const struct run *other[] = { &bytes, &pieces };
	for (size_t k = 0; k < 2; k++) {
		check(all.n == other[k]->n);
		for (unsigned i = 0; i < all.n; i++) {
			check(all.result[i] == other[k]->result[i]);
			check(all.status[i] == other[k]->status[i]);
			if (all.result[i] == HTTP_DONE) {
				check(all.end[i] == other[k]->end[i]);
				check(all.body[i] == other[k]->body[i]);
			}
		}
	}
	return 0;
}
