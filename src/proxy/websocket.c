/* RFC 6455 server side: handshake, client frame decoder, server frame encoder (see
 * websocket.h). */
#include "websocket.h"

#include "basic/encoding.h"

#include <openssl/evp.h>
#include <strings.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

enum {
	ST_HEADER,  /* collecting hdr[0..hdr_need) */
	ST_PAYLOAD, /* frame_pos of frame_len payload bytes seen */
	ST_CLOSED,  /* the client's close frame came: the rest is ignored */
	ST_FAILED,  /* a protocol error was reported: nothing more is decoded */
};

/* ---- the opening handshake ---- */

int
ws_accept_key(const char *key, char ret[WS_ACCEPT_SIZE])
{
	uint8_t raw[18];
	/* RFC 6455 4.1: a randomly selected 16-byte value, base64-encoded */
	if (strlen(key) != 24 || key[22] != '=' || key[23] != '=' ||
	    base64_decode(key, 24, raw) != 16)
		return -EINVAL;
	char buf[24 + sizeof(WS_GUID)];
	memcpy(buf, key, 24);
	memcpy(buf + 24, WS_GUID, sizeof(WS_GUID) - 1);
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	if (!EVP_Digest(buf, 24 + sizeof(WS_GUID) - 1, md, &md_len, EVP_sha1(), NULL) ||
	    md_len != 20)
		return -EIO;
	base64_encode(md, md_len, ret);
	return 0;
}

/* Whether a comma-separated header list holds token (case-insensitive when asked). */
static bool
list_has(const char *v, const char *token, bool nocase)
{
	size_t tlen = strlen(token);
	while (v && *v) {
		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		size_t n = strcspn(v, ",");
		size_t e = n;
		while (e > 0 && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e == tlen &&
		    (nocase ? strncasecmp(v, token, tlen) : strncmp(v, token, tlen)) == 0)
			return true;
		v += n;
	}
	return false;
}

/* The only value of a header that may appear once; NULL when absent or repeated. */
static const char *
single_header(const struct http_request *r, const char *name, unsigned *ret_count)
{
	const char *value = NULL;
	unsigned count = 0;
	for (unsigned i = 0; i < r->n_headers; i++)
		if (strcasecmp(r->headers[i].name, name) == 0) {
			value = r->headers[i].value;
			count++;
		}
	*ret_count = count;
	return count == 1 ? value : NULL;
}

const char *
ws_handshake_check(const struct http_request *r, struct ws_handshake *ret)
{
	struct ws_handshake h = { 0 };
	unsigned n;

	if (!streq(r->method, "GET"))
		return "websocket upgrade needs GET";
	if (r->minor != 1)
		return "websocket upgrade needs HTTP/1.1";
	if (!r->upgrade_to || !list_has(r->upgrade_to, "websocket", true))
		return "unsupported Upgrade (want websocket)";
	if (!r->upgrade)
		return "missing 'Connection: upgrade'";
	if (http_request_has_body(r))
		return "websocket upgrade with a body";
	const char *version = single_header(r, "Sec-WebSocket-Version", &n);
	if (!version || !streq(version, "13"))
		return "unsupported Sec-WebSocket-Version (want 13)";
	const char *key = single_header(r, "Sec-WebSocket-Key", &n);
	if (!key || ws_accept_key(key, h.accept) < 0)
		return n == 0 ? "missing Sec-WebSocket-Key" : "invalid Sec-WebSocket-Key";
	/* subprotocols may come as several headers, each a list */
	for (unsigned i = 0; i < r->n_headers; i++)
		if (strcasecmp(r->headers[i].name, "Sec-WebSocket-Protocol") == 0 &&
		    list_has(r->headers[i].value, "binary", false))
			h.binary = true;
	*ret = h;
	return NULL;
}

void
ws_handshake_response(struct strbuf *out, const struct ws_handshake *h)
{
	sb_puts(out, "HTTP/1.1 101 Switching Protocols\r\n"
	             "Upgrade: websocket\r\n"
	             "Connection: Upgrade\r\n"
	             "Sec-WebSocket-Accept: ");
	sb_puts(out, h->accept);
	sb_puts(out, "\r\n");
	if (h->binary)
		sb_puts(out, "Sec-WebSocket-Protocol: binary\r\n");
	sb_puts(out, "\r\n");
}

/* ---- client frames ---- */

void
ws_decoder_init(struct ws_decoder *d)
{
	*d = (struct ws_decoder){ .max_message = WS_MAX_MESSAGE,
		                  .state = ST_HEADER,
		                  .hdr_need = 2 };
}

static bool
is_control(uint8_t opcode)
{
	return opcode & 0x8;
}

static int
fail(struct ws_decoder *d, uint16_t code, const char *reason)
{
	d->state = ST_FAILED;
	d->error_code = code;
	d->error_reason = reason;
	return -1;
}

/* The first two header bytes are in: everything that needs no length is checked here, so a
 * bad frame is refused before its payload arrives. */
static int
header_start(struct ws_decoder *d)
{
	uint8_t b0 = d->hdr[0], b1 = d->hdr[1];
	d->fin = b0 & 0x80;
	d->opcode = b0 & 0x0f;
	unsigned len7 = b1 & 0x7f;

	if (b0 & 0x70)
		return fail(d, WS_CLOSE_PROTOCOL, "reserved bits set");
	switch (d->opcode) {
	case WS_OP_CONTINUATION:
		if (!d->in_message)
			return fail(d, WS_CLOSE_PROTOCOL, "continuation without a message");
		break;
	case WS_OP_TEXT:
	case WS_OP_BINARY:
		if (d->in_message)
			return fail(d, WS_CLOSE_PROTOCOL, "new message inside a fragmented one");
		break;
	case WS_OP_CLOSE:
	case WS_OP_PING:
	case WS_OP_PONG:
		if (!d->fin)
			return fail(d, WS_CLOSE_PROTOCOL, "fragmented control frame");
		if (len7 > WS_MAX_CONTROL)
			return fail(d, WS_CLOSE_PROTOCOL, "control frame over 125 bytes");
		break;
	default:
		return fail(d, WS_CLOSE_PROTOCOL, "unknown opcode");
	}
	if (!(b1 & 0x80))
		return fail(d, WS_CLOSE_PROTOCOL, "unmasked client frame");
	d->hdr_need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + 4;
	return 0;
}

/* The whole header is in: the length (minimal encoding only) and the message limit. */
static int
header_end(struct ws_decoder *d)
{
	unsigned len7 = d->hdr[1] & 0x7f;
	uint64_t len = len7;
	size_t k = 2;
	if (len7 == 126) {
		len = (uint64_t)d->hdr[2] << 8 | d->hdr[3];
		k = 4;
		if (len < 126)
			return fail(d, WS_CLOSE_PROTOCOL, "non-minimal frame length");
	} else if (len7 == 127) {
		len = 0;
		for (k = 2; k < 10; k++)
			len = len << 8 | d->hdr[k];
		if (len >> 63)
			return fail(d, WS_CLOSE_PROTOCOL, "frame length over 2^63");
		if (len < 65536)
			return fail(d, WS_CLOSE_PROTOCOL, "non-minimal frame length");
	}
	memcpy(d->mask, d->hdr + k, 4);
	if (!is_control(d->opcode)) {
		uint64_t so_far = d->opcode == WS_OP_CONTINUATION ? d->message_len : 0;
		/* refused on the header: the oversized payload is never read */
		if (len > d->max_message || so_far > d->max_message - len)
			return fail(d, WS_CLOSE_TOO_BIG, "message too big");
		if (d->opcode != WS_OP_CONTINUATION) {
			d->in_message = true;
			d->message_opcode = d->opcode;
			d->message_len = 0;
		}
	}
	d->frame_len = len;
	d->frame_pos = 0;
	d->state = ST_PAYLOAD;
	return 0;
}

static bool
close_code_valid(unsigned code)
{
	/* sendable codes: 1000-1003, 1007-1014 and the 3000-4999 ranges; 1004-1006 and 1015
	 * are reserved or for reporting only */
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
	       (code >= 3000 && code <= 4999);
}

/* A frame's payload is complete: 1 when *ret holds an event, 0 when decoding goes on (or
 * failed: the caller then reports the error). */
static int
frame_end(struct ws_decoder *d, struct ws_event *ret)
{
	d->state = ST_HEADER;
	d->hdr_len = 0;
	d->hdr_need = 2;
	size_t n = (size_t)d->frame_len;
	switch (d->opcode) {
	case WS_OP_CONTINUATION:
	case WS_OP_TEXT:
	case WS_OP_BINARY:
		if (!d->fin)
			return 0;
		*ret = (struct ws_event){ .type = WS_EVENT_MESSAGE,
			                  .opcode = d->message_opcode,
			                  .length = d->message_len };
		d->in_message = false;
		d->message_len = 0;
		return 1;
	case WS_OP_PING:
	case WS_OP_PONG:
		*ret = (struct ws_event){ .type = d->opcode == WS_OP_PING ? WS_EVENT_PING
			                                                  : WS_EVENT_PONG,
			                  .payload = d->control,
			                  .payload_len = n };
		return 1;
	default: /* WS_OP_CLOSE */
		*ret = (struct ws_event){ .type = WS_EVENT_CLOSE, .code = WS_CLOSE_NO_STATUS };
		if (n == 1) {
			fail(d, WS_CLOSE_PROTOCOL, "close frame with a 1-byte payload");
			return 0;
		}
		if (n >= 2) {
			unsigned code = (unsigned)d->control[0] << 8 | d->control[1];
			if (!close_code_valid(code)) {
				fail(d, WS_CLOSE_PROTOCOL, "invalid close code");
				return 0;
			}
			if (!utf8_valid((const char *)d->control + 2, n - 2)) {
				fail(d, WS_CLOSE_INVALID_DATA, "close reason not UTF-8");
				return 0;
			}
			ret->code = (uint16_t)code;
			ret->payload = d->control + 2;
			ret->payload_len = n - 2;
		}
		d->state = ST_CLOSED;
		return 1;
	}
}

size_t
ws_decoder_feed(struct ws_decoder *d, const void *in, size_t len, struct strbuf *data,
                struct ws_event *ret)
{
	const uint8_t *p = in;
	size_t used = 0;
	*ret = (struct ws_event){ .type = WS_EVENT_NONE };
	for (;;) {
		switch (d->state) {
		case ST_FAILED:
			*ret = (struct ws_event){ .type = WS_EVENT_ERROR,
				                  .code = d->error_code,
				                  .reason = d->error_reason };
			return used;
		case ST_CLOSED:
			return len;
		case ST_HEADER: {
			size_t k = MIN(d->hdr_need - d->hdr_len, len - used);
			memcpy(d->hdr + d->hdr_len, p + used, k);
			d->hdr_len += k;
			used += k;
			if (d->hdr_len < d->hdr_need)
				return used;
			if (d->hdr_len == 2)
				header_start(d); /* sets hdr_need, or fails */
			else
				header_end(d);
			break;
		}
		case ST_PAYLOAD: {
			if (d->frame_pos == d->frame_len) {
				if (frame_end(d, ret))
					return used;
				break; /* the frame is not a message's last, or it failed */
			}
			if (used == len)
				return used;
			size_t k = (size_t)MIN(d->frame_len - d->frame_pos, (uint64_t)(len - used));
			uint8_t *dst;
			if (is_control(d->opcode)) {
				dst = d->control + d->frame_pos;
			} else {
				sb_grow(data, k);
				dst = (uint8_t *)data->buf + data->len;
				data->len += k;
				data->buf[data->len] = '\0';
				d->message_len += k;
			}
			for (size_t i = 0; i < k; i++)
				dst[i] = p[used + i] ^ d->mask[(d->frame_pos + i) & 3];
			d->frame_pos += k;
			used += k;
			break;
		}
		}
	}
}

/* ---- server frames ---- */

size_t
ws_frame_header(uint8_t out[10], enum ws_opcode op, uint64_t len)
{
	out[0] = 0x80 | (uint8_t)op;
	if (len < 126) {
		out[1] = (uint8_t)len;
		return 2;
	}
	if (len <= 0xffff) {
		out[1] = 126;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		return 4;
	}
	out[1] = 127;
	for (int i = 0; i < 8; i++)
		out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
	return 10;
}

void
ws_encode(struct strbuf *out, enum ws_opcode op, const void *payload, size_t len)
{
	uint8_t h[10];
	size_t n = ws_frame_header(h, op, len);
	sb_grow(out, n + len);
	sb_append(out, h, n);
	sb_append(out, payload, len);
}

void
ws_encode_close(struct strbuf *out, uint16_t code, const char *reason)
{
	uint8_t payload[WS_MAX_CONTROL];
	payload[0] = (uint8_t)(code >> 8);
	payload[1] = (uint8_t)code;
	size_t n = reason ? MIN(strlen(reason), (size_t)WS_MAX_CONTROL - 2) : 0;
	if (n > 0)
		memcpy(payload + 2, reason, n);
	ws_encode(out, WS_OP_CLOSE, payload, n + 2);
}
