/* Console websockets (docs/internals.md, "Consoles"): the upgrade request, then, once the root
 * daemon handed over the console stream, the relay. Data message payloads from the client go
 * to the stream; what the stream yields goes to the client as binary messages. Both queues
 * are bounded: a side is not read while the other side's queue is over RELAY_HIGH. A close
 * frame or an end of the stream closes both; after the upgrade only a stalled write (the
 * client stopped reading) or an unanswered close ends the connection by time. */
#include "proxy-internal.h"

#include "basic/log.h"
#include "websocket.h"

#define RELAY_HIGH  (256 * 1024)  /* stop reading a side while the other's queue is above */
#define RELAY_LOW   (64 * 1024)   /* ... and read it again once the queue is below */
#define RELAY_READ  (64 * 1024)   /* one read of the stream: one binary message at most */
#define RELAY_DRAIN (1024 * 1024) /* read from a stream that hung up while paused, at most */

/* Bytes waiting for one side; consumed from the front. */
struct queue {
	struct strbuf buf;
	size_t off;
};

enum relay_timer {
	TIMER_NONE,   /* relaying with nothing to write: no deadline at all */
	TIMER_WRITE,  /* output waits for the client: it must make progress */
	TIMER_LINGER, /* closing, output written: the client's close or the stream's last
	               * bytes must come soon */
};

struct wsrelay {
	struct conn *c;
	struct ws_handshake hs;
	struct lws *stream; /* the console stream in the loop; NULL before the upgrade and after
	                     * it closed */
	struct ws_decoder dec;
	struct queue to_client, to_stream;
	bool client_paused, stream_paused; /* reading that side is stopped */
	bool closing;     /* our close frame is queued: nothing goes to the client after it */
	bool client_done; /* the client's close frame came, or it broke the protocol */
	enum relay_timer timer;
	lws_sorted_usec_list_t rearm;
};

static size_t
q_len(const struct queue *q)
{
	return q->buf.len - q->off;
}

static const char *
q_data(const struct queue *q)
{
	return q->buf.buf + q->off;
}

static void
q_consume(struct queue *q, size_t n)
{
	q->off += n;
	if (q->off == q->buf.len) {
		/* a burst grew the buffer; do not keep it while idle */
		if (q->buf.cap > 2 * RELAY_READ)
			sb_free(&q->buf);
		else
			sb_reset(&q->buf);
		q->off = 0;
	} else if (q->off >= RELAY_LOW) {
		sb_consume(&q->buf, q->off);
		q->off = 0;
	}
}

static void
q_drop(struct queue *q)
{
	sb_free(&q->buf);
	q->off = 0;
}

struct wsrelay *
wsrelay_new(struct conn *c, int *ret_status, const char **ret_reason)
{
	struct ws_handshake hs;
	const char *why = ws_handshake_check(&c->parser.req, &hs);
	if (why) {
		*ret_status = 400;
		*ret_reason = why;
		return NULL;
	}
	if (c->proxy->n_relays >= PROXY_MAX_RELAYS) {
		*ret_status = 503;
		*ret_reason = "too many console connections";
		return NULL;
	}
	struct wsrelay *ws = xcalloc(1, sizeof(*ws));
	ws->c = c;
	ws->hs = hs;
	ws_decoder_init(&ws->dec);
	c->proxy->n_relays++;
	return ws;
}

struct wsrelay *
wsrelay_free(struct wsrelay *ws)
{
	if (!ws)
		return NULL;
	lws_sul_cancel(&ws->rearm);
	if (ws->stream) {
		/* closing the stream tells the console worker the session is over */
		lws_set_opaque_user_data(ws->stream, NULL);
		lws_set_timeout(ws->stream, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
	}
	ws->c->proxy->n_relays--;
	q_drop(&ws->to_client);
	q_drop(&ws->to_stream);
	free(ws);
	return NULL;
}

/* Queue our close frame; from here on nothing else goes to the client. */
static void
relay_close(struct wsrelay *ws, uint16_t code, const char *reason)
{
	if (ws->closing)
		return;
	ws->closing = true;
	ws_encode_close(&ws->to_client.buf, code, reason);
}

/* Both close frames are exchanged (or the client failed) and everything is written. */
static bool
relay_finished(const struct wsrelay *ws)
{
	return ws->closing && ws->client_done && q_len(&ws->to_client) == 0 &&
	       (!ws->stream || q_len(&ws->to_stream) == 0);
}

/* After every event: ask for the writes that are due, pause or resume reading each side,
 * and set the connection's deadline. */
static void
relay_kick(struct wsrelay *ws)
{
	struct conn *c = ws->c;
	if (ws->stream && q_len(&ws->to_stream) > 0)
		lws_callback_on_writable(ws->stream);
	/* while closing, the client's writeable callback also decides when to end */
	if (q_len(&ws->to_client) > 0 || ws->closing)
		lws_callback_on_writable(c->wsi);

	bool read_stream = !ws->closing &&
	                   q_len(&ws->to_client) <= (ws->stream_paused ? RELAY_LOW : RELAY_HIGH);
	if (ws->stream && read_stream == ws->stream_paused) {
		ws->stream_paused = !read_stream;
		lws_rx_flow_control(ws->stream, read_stream);
	}
	bool read_client = !ws->client_done &&
	                   q_len(&ws->to_stream) <= (ws->client_paused ? RELAY_LOW : RELAY_HIGH);
	if (read_client == ws->client_paused) {
		ws->client_paused = !read_client;
		lws_rx_flow_control(c->wsi, read_client);
	}

	if (q_len(&ws->to_client) > 0 || lws_partial_buffered(c->wsi)) {
		if (ws->timer != TIMER_WRITE)
			c->deadline = monotonic_ms() + TIMEOUT_WRITE;
		ws->timer = TIMER_WRITE;
	} else if (ws->closing) {
		if (ws->timer != TIMER_LINGER)
			c->deadline = monotonic_ms() + TIMEOUT_LINGER;
		ws->timer = TIMER_LINGER;
	} else {
		c->deadline = 0;
		ws->timer = TIMER_NONE;
	}
}

/* Bytes from the client: data payloads are queued for the stream, pings answered, a close
 * answered and a protocol error answered with a close carrying its code. */
static void
client_bytes(struct wsrelay *ws, const uint8_t *in, size_t len)
{
	while (!ws->client_done) {
		struct ws_event ev;
		size_t n = ws_decoder_feed(&ws->dec, in, len, &ws->to_stream.buf, &ev);
		in += n;
		len -= n;
		switch (ev.type) {
		case WS_EVENT_NONE:
			goto done;
		case WS_EVENT_MESSAGE:
		case WS_EVENT_PONG:
			break;
		case WS_EVENT_PING:
			if (!ws->closing)
				ws_encode(&ws->to_client.buf, WS_OP_PONG, ev.payload,
				          ev.payload_len);
			break;
		case WS_EVENT_CLOSE:
			/* echo the code (RFC 6455 5.5.1); the stream still gets what came before */
			ws->client_done = true;
			relay_close(ws, ev.code == WS_CLOSE_NO_STATUS ? WS_CLOSE_NORMAL : ev.code,
			            NULL);
			break;
		case WS_EVENT_ERROR:
			ws->client_done = true;
			relay_close(ws, ev.code, ev.reason);
			q_drop(&ws->to_stream);
			break;
		}
	}
done:
	if (!ws->stream)
		q_drop(&ws->to_stream); /* nobody will read it */
}

void
wsrelay_start(struct conn *c, struct frame *f)
{
	struct wsrelay *ws = c->ws;
	if (f->n_fds != 1) {
		log_warn("websocket answer from the root daemon carries %u descriptors, not 1",
		         f->n_fds);
		conn_respond_error(c, 502, "no console stream from the root daemon");
		return;
	}
	int fd = frame_take_fd(f, 0);
	lws_adopt_desc_t info = {
		.vh = c->proxy->internal,
		.type = LWS_ADOPT_RAW_FILE_DESC,
		.fd.filefd = fd,
		.vh_prot_name = "berth-console",
		.opaque = ws,
	};
	ws->stream = lws_adopt_descriptor_vhost_via_info(&info);
	if (!ws->stream) {
		close(fd); /* lws closes only sockets it failed to adopt */
		log_warn("cannot add a console stream to the loop");
		conn_respond_error(c, 503, "Service Unavailable");
		return;
	}
	ws_handshake_response(&ws->to_client.buf, &ws->hs);
	c->state = CONN_WEBSOCKET;
	c->final_queued = true;   /* no HTTP response may follow the 101 */
	ws->client_paused = true; /* since the request */
	/* frames that came right behind the request head */
	if (c->in.len > 0) {
		client_bytes(ws, (const uint8_t *)c->in.buf, c->in.len);
		sb_free(&c->in);
	}
	relay_kick(ws);
}

int
wsrelay_client_rx(struct conn *c, const void *in, size_t len)
{
	struct wsrelay *ws = c->ws;
	client_bytes(ws, in, len);
	relay_kick(ws);
	return 0;
}

int
wsrelay_client_writeable(struct conn *c)
{
	static unsigned char buf[LWS_PRE + PROXY_SEND_CHUNK];
	struct wsrelay *ws = c->ws;
	size_t n = MIN(q_len(&ws->to_client), (size_t)PROXY_SEND_CHUNK);
	if (n > 0) {
		memcpy(buf + LWS_PRE, q_data(&ws->to_client), n);
		if (lws_write(c->wsi, buf + LWS_PRE, n, LWS_WRITE_RAW) < (int)n)
			return -1;
		q_consume(&ws->to_client, n);
		c->deadline = monotonic_ms() + TIMEOUT_WRITE; /* progress */
	}
	if (q_len(&ws->to_client) > 0 || lws_partial_buffered(c->wsi))
		lws_callback_on_writable(c->wsi);
	else if (relay_finished(ws))
		return -1; /* the stream, if still open, is closed with the connection */
	relay_kick(ws);
	return 0;
}

static int
stream_read(struct wsrelay *ws, struct lws *wsi)
{
	static uint8_t buf[RELAY_READ];
	ssize_t n = read(lws_get_socket_fd(wsi), buf, sizeof(buf));
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		relay_close(ws, n == 0 ? WS_CLOSE_NORMAL : WS_CLOSE_INTERNAL,
		            n == 0 ? NULL : "console stream failed");
		relay_kick(ws);
		return -1; /* lws closes the stream; stream_closed follows */
	}
	if (!ws->closing) /* after our close frame, output has nowhere to go */
		ws_encode(&ws->to_client.buf, WS_OP_BINARY, buf, (size_t)n);
	relay_kick(ws);
	return 0;
}

static void
rearm_cb(lws_sorted_usec_list_t *sul)
{
	struct wsrelay *ws = lws_container_of(sul, struct wsrelay, rearm);
	if (ws->stream)
		lws_callback_on_writable(ws->stream);
}

static int
stream_write(struct wsrelay *ws, struct lws *wsi)
{
	int fd = lws_get_socket_fd(wsi);
	while (q_len(&ws->to_stream) > 0) {
		ssize_t n = write(fd, q_data(&ws->to_stream), q_len(&ws->to_stream));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			/* lws 4.1's raw-file role clears POLLOUT after this callback returns,
			 * so the next one is asked for from a zero-delay timer (as upstream.c) */
			lws_sul_schedule(lws_get_context(wsi), 0, &ws->rearm, rearm_cb, 1);
			break;
		}
		if (n <= 0) {
			/* the console went away: nothing more can be relayed */
			q_drop(&ws->to_stream);
			relay_close(ws, WS_CLOSE_NORMAL, NULL);
			relay_kick(ws);
			return -1;
		}
		q_consume(&ws->to_stream, (size_t)n);
	}
	relay_kick(ws);
	return 0;
}

static void
stream_closed(struct wsrelay *ws, struct lws *wsi)
{
	static uint8_t buf[RELAY_READ];
	ws->stream = NULL;
	lws_sul_cancel(&ws->rearm);
	q_drop(&ws->to_stream);
	if (ws->c->proxy->stop)
		return; /* the proxy is going down: its connections close anyway */
	if (!ws->closing) {
		/* lws closes a stream that hung up while it was not read: its last output may
		 * still be waiting (the descriptor is open until this callback returns) */
		int fd = lws_get_socket_fd(wsi);
		for (size_t got = 0; got < RELAY_DRAIN;) {
			ssize_t n = read(fd, buf, sizeof(buf));
			if (n <= 0)
				break;
			ws_encode(&ws->to_client.buf, WS_OP_BINARY, buf, (size_t)n);
			got += (size_t)n;
		}
		relay_close(ws, WS_CLOSE_NORMAL, NULL);
	}
	relay_kick(ws);
}

int
wsrelay_stream_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                        size_t len)
{
	/* NULL once the client connection is gone: the stream is being closed */
	struct wsrelay *ws = lws_get_opaque_user_data(wsi);
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		return ws ? stream_read(ws, wsi) : -1;
	case LWS_CALLBACK_RAW_WRITEABLE_FILE:
		return ws ? stream_write(ws, wsi) : -1;
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		if (ws)
			stream_closed(ws, wsi);
		return 0;
	default:
		return 0;
	}
}
