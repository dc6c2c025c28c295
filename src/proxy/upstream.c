/* The link to the root daemon: one persistent unix stream socket in the lws loop; request
 * frames out, response frames in, matched to connections by id (answers come in any
 * order; answers for connections that are gone are dropped). */
#include "proxy-internal.h"

#include "basic/encoding.h"
#include "basic/fileio.h"
#include "basic/log.h"

#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>

int
upstream_connect(struct proxy *p, const char *path, struct error *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return error_set(e, ENAMETOOLONG, "upstream socket path too long: %s", path);
	strcpy(sa.sun_path, path);

	int fd;
	for (int attempt = 0;; attempt++) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return error_errno(e, negative_errno(), "socket");
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		int r = negative_errno();
		close(fd);
		/* the root daemon may still be creating the socket: retry for 5 s */
		if ((r != -ENOENT && r != -ECONNREFUSED) || attempt >= 50)
			return error_errno(e, r, "connecting to the root daemon at %s", path);
		usleep(100 * 1000);
	}
	int r = fd_nonblock(fd, true);
	if (r < 0) {
		close(fd);
		return error_errno(e, r, "upstream socket");
	}
	lws_sock_file_fd_type u = { .filefd = fd };
	p->upstream = lws_adopt_descriptor_vhost(p->internal, LWS_ADOPT_RAW_FILE_DESC, u,
	                                         "berth-upstream", NULL);
	if (!p->upstream)
		return error_set(e, ENOMEM, "cannot add the upstream socket to the loop");
	p->upstream_fd = fd;
	return 0;
}

static void
rearm_cb(lws_sorted_usec_list_t *sul)
{
	struct proxy *p = lws_container_of(sul, struct proxy, up_rearm);
	if (p->upstream)
		lws_callback_on_writable(p->upstream);
}

/* in_writeable: called from the upstream's own writeable callback. lws 4.1's raw-file role
 * clears POLLOUT after that callback returns, so asking for another one from inside it is
 * lost; the request is made from a zero-delay timer instead. */
static void
upstream_flush(struct proxy *p, bool in_writeable)
{
	if (!p->upstream)
		return;
	int r = frame_writer_flush(&p->up_out, p->upstream_fd);
	if (r < 0) {
		char why[128];
		snprintf(why, sizeof(why), "writing to the root daemon: %s", strerror(-r));
		proxy_fatal(p, why);
	} else if (r == 0) {
		if (in_writeable)
			lws_sul_schedule(p->ctx, 0, &p->up_rearm, rearm_cb, 1);
		else
			lws_callback_on_writable(p->upstream);
	}
}

static bool
utf8_ok(const char *s)
{
	return !s || utf8_valid(s, strlen(s));
}

static void
set_string(json_t *h, const char *key, const char *value)
{
	if (value)
		json_object_set_new(h, key, json_string(value));
}

/* The request header as every request frame has it; NULL when a header cannot travel in
 * a frame. content_type overrides the client's. */
static json_t *
request_header(struct proxy *p, struct conn *c, const char *content_type, uint64_t *ret_id)
{
	const struct http_request *r = &c->parser.req;
	/* Header values may carry obs-text; JSON strings must be UTF-8, and a frame the root
	 * daemon cannot parse would cost the whole link. */
	if (!utf8_ok(r->cookie) || !utf8_ok(r->authorization) || !utf8_ok(r->csrf) ||
	    !utf8_ok(r->content_type))
		return NULL;

	uint64_t id = (++p->seq << PROXY_SLOT_BITS) | (uint64_t)c->slot;
	json_t *h = json_object();
	json_object_set_new(h, "type", json_string("request"));
	json_object_set_new(h, "id", json_integer((json_int_t)id));
	set_string(h, "method", r->method);
	set_string(h, "path", r->path);
	set_string(h, "query", r->query);
	set_string(h, "content_type", content_type ? content_type : r->content_type);
	set_string(h, "cookie", r->cookie);
	set_string(h, "authorization", r->authorization);
	set_string(h, "csrf", r->csrf);
	if (c->peer[0])
		set_string(h, "client", c->peer);
	*ret_id = id;
	return h;
}

static void
sent(struct proxy *p, struct conn *c, uint64_t id, enum conn_state state)
{
	c->inflight = id;
	c->state = state;
	c->deadline = monotonic_ms() + TIMEOUT_UPSTREAM;
	upstream_flush(p, false);
}

int
upstream_forward(struct proxy *p, struct conn *c)
{
	uint64_t id;
	json_t *h = request_header(p, c, NULL, &id);
	if (!h)
		return -EINVAL;
	const struct strbuf *body = &c->parser.req.body;
	frame_writer_push(&p->up_out, h, body->buf, body->len, NULL, 0);
	sent(p, c, id, CONN_UPSTREAM);
	return 0;
}

/* A request head without its body, marked with flag (true). */
static int
forward_head(struct proxy *p, struct conn *c, const char *flag, enum conn_state state)
{
	uint64_t id;
	json_t *h = request_header(p, c, NULL, &id);
	if (!h)
		return -EINVAL;
	json_object_set_new(h, flag, json_true());
	frame_writer_push(&p->up_out, h, NULL, 0, NULL, 0);
	sent(p, c, id, state);
	return 0;
}

int
upstream_preflight(struct proxy *p, struct conn *c)
{
	return forward_head(p, c, "preflight", CONN_PREFLIGHT);
}

int
upstream_websocket(struct proxy *p, struct conn *c)
{
	return forward_head(p, c, "websocket", CONN_UPSTREAM);
}

int
upstream_forward_upload(struct proxy *p, struct conn *c)
{
	struct upload *u = c->upload;
	uint64_t id;
	json_t *h = request_header(p, c, "application/x-www-form-urlencoded", &id);
	if (!h)
		return -EINVAL;
	json_object_set_new(h, "upload", json_pack("{s:I}", "size", (json_int_t)u->size));
	int fd = TAKE_FD(u->fd); /* the writer closes it once sent */
	frame_writer_push(&p->up_out, h, u->form.buf, u->form.len, &fd, 1);
	sent(p, c, id, CONN_UPSTREAM);
	return 0;
}

void
upstream_forget(struct proxy *p, struct conn *c)
{
	c->inflight = 0;
}

static void
dispatch(struct proxy *p, struct frame *f)
{
	const char *type = json_string_value(json_object_get(f->hdr, "type"));
	json_t *jid = json_object_get(f->hdr, "id");
	if (!streq(type, "response") || !json_is_integer(jid)) {
		log_warn("unexpected '%s' frame from the root daemon", type);
		return;
	}
	uint64_t id = (uint64_t)json_integer_value(jid);
	struct conn *c = p->slots[id & (PROXY_MAX_CONNS - 1)];
	if (id == 0 || !c || c->inflight != id)
		return; /* the client went away or timed out */
	conn_deliver(c, f);
}

static int
upstream_read(struct proxy *p)
{
	for (;;) {
		ssize_t n = frame_reader_fill(&p->up_in, p->upstream_fd);
		if (n == -EAGAIN)
			return 0;
		if (n == 0) {
			proxy_fatal(p, "the root daemon closed the connection");
			return -1;
		}
		if (n < 0) {
			char why[128];
			snprintf(why, sizeof(why), "reading from the root daemon: %s",
			         strerror((int)-n));
			proxy_fatal(p, why);
			return -1;
		}
		for (;;) {
			struct frame f;
			int r = frame_reader_next(&p->up_in, &f);
			if (r == 0)
				break;
			if (r < 0) {
				proxy_fatal(p, "corrupt frame from the root daemon");
				return -1;
			}
			dispatch(p, &f);
			frame_done(&f);
		}
		/* a large answer grew the buffer to its size; do not keep that while idle */
		if (p->up_in.in.len == 0 && p->up_in.in.cap > 256 * 1024)
			sb_free(&p->up_in.in);
	}
}

int
upstream_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len)
{
	struct proxy *p = lws_context_user(lws_get_context(wsi));
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		return upstream_read(p);
	case LWS_CALLBACK_RAW_WRITEABLE_FILE:
		upstream_flush(p, true);
		return 0;
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		if (wsi == p->upstream) {
			p->upstream = NULL;
			if (!p->stop)
				proxy_fatal(p, "the root daemon connection closed");
		}
		return 0;
	default:
		return 0;
	}
}

void
upstream_done(struct proxy *p)
{
	frame_reader_done(&p->up_in);
	frame_writer_done(&p->up_out);
}
