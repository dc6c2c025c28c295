/* Client connections on lws raw TLS sockets: one request at a time through the strict
 * parser, timeouts, routing (root daemon or static files), and responses written in chunks
 * as the socket drains. */
#include "proxy-internal.h"

#include "basic/encoding.h"
#include "basic/log.h"
#include "http-response.h"

#include <malloc.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

static bool
streq_method(const char *m, const char *const *set)
{
	for (; *set; set++)
		if (streq(m, *set))
			return true;
	return false;
}

static const char *const api_methods[] = { "GET", "POST", "PUT", "DELETE", NULL };
static const char *const static_methods[] = { "GET", "HEAD", NULL };
static const char *const other_methods[] = { "POST", "PUT", "DELETE", "PATCH", "OPTIONS", NULL };

static void
peer_address(int fd, char out[INET6_ADDRSTRLEN])
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	out[0] = '\0';
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, INET6_ADDRSTRLEN);
	} else if (ss.ss_family == AF_INET6) {
		const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
		/* a dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d; stamp a.b.c.d */
		if (IN6_IS_ADDR_V4MAPPED(a))
			inet_ntop(AF_INET, &a->s6_addr[12], out, INET6_ADDRSTRLEN);
		else
			inet_ntop(AF_INET6, a, out, INET6_ADDRSTRLEN);
	}
}

void
conn_kill(struct conn *c)
{
	/* asynchronous: safe from the sweep and from other connections' callbacks */
	c->deadline = INT64_MAX;
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

static int
conn_open(struct proxy *p, struct conn *c, struct lws *wsi)
{
	if (p->n_conns >= PROXY_MAX_CONNS + PROXY_OVER_CAP)
		return -1;
	c->proxy = p;
	c->wsi = wsi;
	c->file_fd = -1;
	c->slot = -1;
	http_parser_init(&c->parser);
	c->next = p->conns;
	if (p->conns)
		p->conns->prev = c;
	p->conns = c;
	p->n_conns++;

	if (p->n_free == 0) {
		/* over the cap: answer 503 to the first bytes, then close */
		c->over_cap = true;
		c->deadline = monotonic_ms() + TIMEOUT_OVER_CAP;
		return 0;
	}
	c->slot = (int)p->free_slots[--p->n_free];
	p->slots[c->slot] = c;

	int fd = lws_get_socket_fd(wsi), one = 1;
	/* responses go out in one write; Nagle would hold back the last segment */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	peer_address(fd, c->peer);
	c->state = CONN_HEAD;
	c->head_started = true; /* the head timeout counts from accept, TLS handshake included */
	c->deadline = monotonic_ms() + TIMEOUT_HEAD;
	return 0;
}

static void
conn_close(struct proxy *p, struct conn *c)
{
	if (!c->wsi)
		return; /* never adopted */
	upstream_forget(p, c);
	if (c->slot >= 0) {
		p->slots[c->slot] = NULL;
		p->free_slots[p->n_free++] = (unsigned)c->slot;
		c->slot = -1;
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		p->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	p->n_conns--;
	p->trim_pending = true;
	if (c->file_fd >= 0)
		close(c->file_fd);
	c->upload = upload_free(c->upload);
	c->ws = wsrelay_free(c->ws);
	free(c->body);
	free(c->decoded);
	sb_free(&c->in);
	sb_free(&c->out);
	http_parser_done(&c->parser);
	c->wsi = NULL;
}

/* Queue the final response head; returns whether its body must follow. */
static bool
queue_response(struct conn *c, struct http_response *r)
{
	struct proxy *p = c->proxy;
	if (r->status >= 400 || (r->message && strpbrk(r->message, "\r\n")))
		c->close_after = true; /* as PVE: errors end the connection */
	if (!c->parser.req.keep_alive || p->n_conns >= PROXY_MAX_CONNS - PROXY_KA_MARGIN)
		c->close_after = true;
	if (c->upload)
		c->close_after = true; /* as PVE: no keep-alive after an upload */
	r->keep_alive = !c->close_after;
	r->now = time(NULL);
	bool body = http_response_head(&c->out, r);
	c->final_queued = true;
	c->state = CONN_WRITE;
	c->deadline = monotonic_ms() + TIMEOUT_WRITE;
	lws_callback_on_writable(c->wsi);
	return body;
}

void
conn_respond_error(struct conn *c, int status, const char *message)
{
	if (c->final_queued) {
		conn_kill(c);
		return;
	}
	upstream_forget(c->proxy, c);
	c->close_after = true;
	struct http_response r = { .status = status, .message = message, .no_cache = true };
	queue_response(c, &r);
	if (c->upload && c->upload->fd >= 0) {
		/* a failed upload gives its disk space back at once (message was copied) */
		close(c->upload->fd);
		c->upload->fd = -1;
	}
}

static void upload_go(struct proxy *p, struct conn *c);
static int conn_process(struct proxy *p, struct conn *c);

void
conn_deliver(struct conn *c, struct frame *f)
{
	c->inflight = 0;
	json_t *h = f->hdr;
	json_t *jstatus = json_object_get(h, "status");
	json_int_t status = json_integer_value(jstatus);
	if (c->state == CONN_PREFLIGHT) {
		/* the client may be sending the body already: drain it after any answer */
		c->linger = http_request_has_body(&c->parser.req);
		if (status == 200) {
			upload_go(c->proxy, c);
			return;
		}
	}
	if (c->ws) {
		/* no keep-alive after a refused upgrade: the client may be sending frames */
		c->close_after = true;
		if (status == 200) {
			wsrelay_start(c, f);
			return;
		}
	}
	if (!json_is_integer(jstatus) || status < 200 || status > 599) {
		log_warn("answer %" JSON_INTEGER_FORMAT " from the root daemon has no valid status",
		         json_integer_value(json_object_get(h, "id")));
		conn_respond_error(c, 502, "invalid answer from the root daemon");
		return;
	}
	struct http_response r = {
		.status = (int)status,
		.message = json_string_value(json_object_get(h, "message")),
		.content_type = json_string_value(json_object_get(h, "content_type")),
		.content_length = f->payload_len,
		.no_cache = true,
	};
	const char *name;
	json_t *value;
	json_object_foreach (json_object_get(h, "headers"), name, value) {
		if (r.n_extra < HTTP_MAX_EXTRA && json_is_string(value)) {
			r.extra[r.n_extra].name = name;
			r.extra[r.n_extra].value = json_string_value(value);
			r.n_extra++;
		}
	}
	if (queue_response(c, &r) && f->payload_len > 0) {
		c->body = TAKE_PTR(f->payload);
		c->body_len = f->payload_len;
		c->body_off = 0;
		f->payload_len = 0;
	}
}

static void
serve_static(struct proxy *p, struct conn *c)
{
	struct static_file f;
	bool gzip = http_accepts_gzip(http_request_header(&c->parser.req, "Accept-Encoding"));
	int r = static_open(p->www_fd, c->decoded, gzip, &f);
	if (r == -ENOENT) {
		conn_respond_error(c, 404, "Not Found");
		return;
	}
	if (r < 0) {
		log_warn("static file %s: %s", c->decoded, strerror(-r));
		conn_respond_error(c, 500, "Internal Server Error");
		return;
	}
	struct http_response resp = {
		.status = 200,
		.content_type = f.content_type,
		.content_length = f.size,
		.cache_control = f.cache_control,
		.etag = f.etag,
		.last_modified = f.last_modified,
		.extra = { { "X-Content-Type-Options", "nosniff" } },
		.n_extra = 1,
	};
	if (f.compressible)
		resp.extra[resp.n_extra++] = (struct http_header){ "Vary", "Accept-Encoding" };
	if (f.encoding)
		resp.extra[resp.n_extra++] = (struct http_header){ "Content-Encoding", f.encoding };
	const char *inm = http_request_header(&c->parser.req, "If-None-Match");
	if (inm && streq(inm, f.etag))
		resp.status = 304;
	if (queue_response(c, &resp) && !c->head_only && f.size > 0) {
		c->file_fd = f.fd;
		c->file_left = f.size;
	} else {
		close(f.fd);
	}
}

static int
early_error(struct conn *c, int status, const char *message)
{
	/* answered before the body was read: drain what the client still sends */
	c->linger = http_request_has_body(&c->parser.req);
	conn_respond_error(c, status, message);
	return -1;
}

/* An upload's head is complete: ask the root daemon whether the body may come before
 * reading it (so that an unauthenticated client is refused without sending GiBs first). */
static int
upload_preflight(struct proxy *p, struct conn *c, const char *boundary)
{
	if (p->upload_dir_fd < 0)
		return early_error(c, 501, "file upload not available");
	c->upload = upload_new(boundary);
	/* nothing more is read until the answer: the body waits in the kernel */
	lws_rx_flow_control(c->wsi, 0);
	if (upstream_preflight(p, c) < 0)
		return early_error(c, 400, "invalid characters in request header");
	return -1;
}

/* A console websocket's head: check the handshake, then ask the root daemon for the stream
 * to relay (wsrelay_start takes over with its answer). */
static int
websocket_request(struct proxy *p, struct conn *c)
{
	int status;
	const char *reason;
	c->ws = wsrelay_new(c, &status, &reason);
	if (!c->ws)
		return early_error(c, status, reason);
	/* nothing is read until the answer: the client's first frames wait in the kernel */
	lws_rx_flow_control(c->wsi, 0);
	if (upstream_websocket(p, c) < 0)
		return early_error(c, 400, "invalid characters in request header");
	return -1;
}

/* The root daemon let the upload come: stream its body into a temporary file. */
static void
upload_go(struct proxy *p, struct conn *c)
{
	struct http_request *r = &c->parser.req;
	if (upload_open(c->upload, p->upload_dir_fd) < 0) {
		log_warn("upload from %s: %s", c->peer, c->upload->error);
		conn_respond_error(c, 500, c->upload->error);
		return;
	}
	/* no size limit but the disk's */
	c->parser.max_body = SIZE_MAX;
	c->parser.stream_body = true;
	c->state = CONN_BODY;
	c->deadline = monotonic_ms() + TIMEOUT_BODY;
	if (r->expect_continue && http_request_has_body(r) && c->in.len == 0) {
		sb_puts(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
		lws_callback_on_writable(c->wsi);
	}
	lws_rx_flow_control(c->wsi, 1);
	conn_process(p, c);
}

/* The head is complete: route it, refuse what we will not serve before reading a body. */
static int
on_head(struct proxy *p, struct conn *c)
{
	struct http_request *r = &c->parser.req;
	size_t dlen;
	char msg[96];

	free(c->decoded);
	c->decoded = NULL;
	if (percent_decode(r->path, strlen(r->path), false, &c->decoded, &dlen) < 0 ||
	    memchr(c->decoded, '\0', dlen))
		return early_error(c, 400, "invalid path");
	char format[PROXY_FORMAT_MAX];
	c->route = proxy_route_path(c->decoded, format);
	switch (c->route) {
	case ROUTE_API:
		if (!streq_method(r->method, api_methods)) {
			snprintf(msg, sizeof(msg), "method '%s' not available", r->method);
			return early_error(c, 501, msg);
		}
		break;
	case ROUTE_API_NO_FORMAT:
		return early_error(c, 501, "no such uri");
	case ROUTE_API_FORMAT:
		snprintf(msg, sizeof(msg), "unsupported format '%s'", format);
		return early_error(c, 501, msg);
	case ROUTE_STATIC:
		if (streq_method(r->method, other_methods)) {
			c->linger = http_request_has_body(r);
			c->close_after = true;
			struct http_response resp = { .status = 405,
				                      .allow = "GET, HEAD",
				                      .no_cache = true };
			queue_response(c, &resp);
			return -1;
		}
		if (!streq_method(r->method, static_methods)) {
			snprintf(msg, sizeof(msg), "method '%s' not implemented", r->method);
			return early_error(c, 501, msg);
		}
		c->head_only = streq(r->method, "HEAD");
		break;
	}
	if (c->route == ROUTE_API && r->upgrade_to && proxy_console_path(c->decoded))
		return websocket_request(p, c);
	char boundary[MP_MAX_BOUNDARY + 1];
	if (c->route == ROUTE_API && streq(r->method, "POST") && proxy_upload_path(c->decoded) &&
	    multipart_boundary(r->content_type, boundary) == 0)
		return upload_preflight(p, c, boundary);
	c->state = CONN_BODY;
	c->deadline = monotonic_ms() + TIMEOUT_BODY;
	if (r->expect_continue && http_request_has_body(r) && c->in.len == 0 &&
	    (r->chunked || (uint64_t)r->content_length <= c->parser.max_body)) {
		sb_puts(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
		lws_callback_on_writable(c->wsi);
	}
	return 0;
}

static void
on_request(struct proxy *p, struct conn *c)
{
	/* one request at a time: pipelined bytes wait in the kernel and in c->in */
	lws_rx_flow_control(c->wsi, 0);
	if (c->upload) {
		if (upload_finish(c->upload) < 0) {
			log_warn("upload from %s: %s", c->peer, c->upload->error);
			conn_respond_error(c, 500, c->upload->error);
		} else if (upstream_forward_upload(p, c) < 0) {
			conn_respond_error(c, 400, "invalid characters in request header");
		}
		return;
	}
	if (c->route == ROUTE_API) {
		if (upstream_forward(p, c) < 0)
			conn_respond_error(c, 400, "invalid characters in request header");
		return;
	}
	serve_static(p, c);
}

static int
conn_process(struct proxy *p, struct conn *c)
{
	while (c->state == CONN_HEAD || c->state == CONN_BODY) {
		size_t used = 0;
		enum http_result r = http_parser_feed(&c->parser, sb_str(&c->in), c->in.len, &used);
		sb_consume(&c->in, used);
		struct strbuf *body = &c->parser.req.body;
		if (c->parser.stream_body && body->len > 0) {
			int k = upload_feed(c->upload, body->buf, body->len);
			sb_reset(body);
			if (k < 0) {
				log_warn("upload from %s: %s", c->peer, c->upload->error);
				c->linger = r != HTTP_DONE;
				conn_respond_error(c, 500, c->upload->error);
				return 0;
			}
		}
		if (used > 0) {
			if (c->state == CONN_HEAD && !c->head_started) {
				c->head_started = true;
				c->deadline = monotonic_ms() + TIMEOUT_HEAD;
			} else if (c->state == CONN_BODY) {
				c->deadline = monotonic_ms() + TIMEOUT_BODY;
			}
		}
		switch (r) {
		case HTTP_NEED_MORE:
			return 0;
		case HTTP_HEAD_DONE:
			if (on_head(p, c) < 0)
				return 0;
			break;
		case HTTP_DONE:
			on_request(p, c);
			return 0;
		case HTTP_ERROR:
			/* the client may be mid-body (413) or mid-head: drain before closing */
			c->linger = true;
			conn_respond_error(c, c->parser.status, c->parser.reason);
			return 0;
		}
	}
	return 0;
}

static int
conn_rx(struct proxy *p, struct conn *c, const void *in, size_t len)
{
	if (!c->lws_timeout_off) {
		/* lws arms a timeout when the TLS handshake completes and only its HTTP role
		 * clears it; on raw sockets it would cut every connection after 10 s. Our own
		 * deadlines take over from here. */
		lws_set_timeout(c->wsi, NO_PENDING_TIMEOUT, 0);
		c->lws_timeout_off = true;
	}
	if (c->state == CONN_WEBSOCKET)
		return wsrelay_client_rx(c, in, len);
	if (c->state == CONN_LINGER || c->close_after)
		return 0; /* an answer is out or on its way and the connection ends: discard */
	if (c->over_cap) {
		conn_respond_error(c, 503, "too many connections");
		return 0;
	}
	/* Only bytes that arrived while a request was being served wait here (flow control
	 * stops reading then); anything near this size is abuse. */
	if (c->in.len + len > HTTP_MAX_HEAD + HTTP_MAX_BODY)
		return -1;
	sb_append(&c->in, in, len);
	return conn_process(p, c);
}

static bool
output_pending(const struct conn *c)
{
	return c->out_off < c->out.len || c->body_off < c->body_len ||
	       (c->file_fd >= 0 && c->file_left > 0);
}

static int
finish_response(struct proxy *p, struct conn *c)
{
	if (c->close_after) {
		if (!c->linger)
			return -1; /* lws flushes what it buffered before closing */
		if (lws_partial_buffered(c->wsi)) {
			lws_callback_on_writable(c->wsi);
			return 0;
		}
		/* Closing with unread input makes the kernel send RST, which can destroy the
		 * response in the client's receive queue: end the write side (TLS close_notify
		 * first), keep reading until the client closes or TIMEOUT_LINGER passes. */
		SSL *ssl = lws_get_ssl(c->wsi);
		if (ssl)
			SSL_shutdown(ssl);
		shutdown(lws_get_socket_fd(c->wsi), SHUT_WR);
		c->state = CONN_LINGER;
		c->deadline = monotonic_ms() + TIMEOUT_LINGER;
		lws_rx_flow_control(c->wsi, 1);
		return 0;
	}
	http_parser_reset(&c->parser);
	free(c->decoded);
	c->decoded = NULL;
	c->final_queued = false;
	c->head_only = false;
	c->state = CONN_HEAD;
	c->head_started = false;
	c->deadline = monotonic_ms() + TIMEOUT_KEEPALIVE;
	lws_rx_flow_control(c->wsi, 1);
	if (c->in.len > 0)
		return conn_process(p, c); /* a pipelined request */
	return 0;
}

static int
conn_writeable(struct proxy *p, struct conn *c)
{
	static unsigned char buf[LWS_PRE + PROXY_SEND_CHUNK];
	unsigned char *start = buf + LWS_PRE;
	size_t n = 0, k;

	if (c->state == CONN_WEBSOCKET)
		return wsrelay_client_writeable(c);
	if (c->state == CONN_LINGER)
		return 0;
	k = MIN(c->out.len - c->out_off, (size_t)PROXY_SEND_CHUNK);
	memcpy(start, sb_str(&c->out) + c->out_off, k);
	c->out_off += k;
	n += k;
	if (n < PROXY_SEND_CHUNK && c->body_off < c->body_len) {
		k = MIN(c->body_len - c->body_off, PROXY_SEND_CHUNK - n);
		memcpy(start + n, c->body + c->body_off, k);
		c->body_off += k;
		n += k;
	}
	if (n < PROXY_SEND_CHUNK && c->file_fd >= 0 && c->file_left > 0) {
		size_t want = (size_t)MIN((uint64_t)(PROXY_SEND_CHUNK - n), c->file_left);
		ssize_t got = read(c->file_fd, start + n, want);
		if (got <= 0) {
			/* the head promised a length we cannot deliver: end the connection */
			log_warn("static file %s: short read", c->decoded ? c->decoded : "?");
			return -1;
		}
		c->file_left -= (uint64_t)got;
		n += (size_t)got;
	}
	if (n > 0) {
		if (lws_write(c->wsi, start, n, LWS_WRITE_RAW) < (int)n)
			return -1;
		if (c->state == CONN_WRITE)
			c->deadline = monotonic_ms() + TIMEOUT_WRITE; /* progress */
	}
	if (output_pending(c)) {
		lws_callback_on_writable(c->wsi);
		return 0;
	}
	sb_reset(&c->out);
	c->out_off = 0;
	free(c->body);
	c->body = NULL;
	c->body_len = c->body_off = 0;
	if (c->file_fd >= 0) {
		close(c->file_fd);
		c->file_fd = -1;
	}
	if (!c->final_queued)
		return 0; /* that was a 100 Continue */
	return finish_response(p, c);
}

static void
conn_timeout(struct conn *c)
{
	switch (c->state) {
	case CONN_HEAD:
		/* idle (keep-alive, or never a byte): just close; mid-head: 408 as PVE */
		if (!c->over_cap && !c->final_queued && c->parser.head_len > 0)
			conn_respond_error(c, 408, "Request Timeout");
		else
			conn_kill(c);
		break;
	case CONN_BODY:
		conn_respond_error(c, 408, "Request Timeout");
		break;
	case CONN_PREFLIGHT:
	case CONN_UPSTREAM:
		log_warn("no answer from the root daemon within %d s", TIMEOUT_UPSTREAM / 1000);
		conn_respond_error(c, 504, "Gateway Timeout");
		break;
	case CONN_WRITE:
	case CONN_LINGER:
	case CONN_WEBSOCKET: /* a stalled write or an unanswered close */
		conn_kill(c);
		break;
	}
}

void
conn_sweep(struct proxy *p)
{
	int64_t now = monotonic_ms();
	for (struct conn *c = p->conns; c; c = c->next)
		if (c->deadline > 0 && now >= c->deadline)
			conn_timeout(c);
	/* glibc keeps freed connection buffers; give them back once the proxy is idle, so a
	 * burst does not raise its resting RSS for good */
	if (p->n_conns == 0 && p->trim_pending) {
		malloc_trim(0);
		p->trim_pending = false;
	}
}

int
conn_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct conn *c = user;
	struct proxy *p = lws_context_user(lws_get_context(wsi));

	switch (reason) {
	case LWS_CALLBACK_RAW_ADOPT:
		return conn_open(p, c, wsi);
	case LWS_CALLBACK_RAW_RX:
		return c && c->wsi ? conn_rx(p, c, in, len) : -1;
	case LWS_CALLBACK_RAW_WRITEABLE:
		return c && c->wsi ? conn_writeable(p, c) : -1;
	case LWS_CALLBACK_RAW_CLOSE:
		if (c)
			conn_close(p, c);
		return 0;
	default:
		return 0;
	}
}
