/* RFC 6455 server side, pure (no I/O): the opening handshake's checks and its 101 answer, an
 * incremental decoder for client frames, and an encoder for server frames. */
#pragma once

#include "basic/macros.h"
#include "basic/strbuf.h"
#include "http-parser.h"

#include <stdint.h>

#define WS_MAX_MESSAGE (1u << 20) /* data message limit (ws_decoder.max_message) */
#define WS_MAX_CONTROL 125u       /* control frame payload limit (RFC 6455 5.5) */
#define WS_MAX_HEADER  14u        /* 2 + 8 (extended length) + 4 (mask) */
#define WS_ACCEPT_SIZE 29u        /* base64 of a SHA-1 digest + NUL */

enum ws_opcode {
	WS_OP_CONTINUATION = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xa,
};

/* Close status codes (RFC 6455 7.4.1). */
#define WS_CLOSE_NORMAL       1000
#define WS_CLOSE_GOING_AWAY   1001
#define WS_CLOSE_PROTOCOL     1002
#define WS_CLOSE_NO_STATUS    1005 /* reported for a close frame without a code; never sent */
#define WS_CLOSE_INVALID_DATA 1007
#define WS_CLOSE_TOO_BIG      1009
#define WS_CLOSE_INTERNAL     1011

/* ---- the opening handshake ---- */

struct ws_handshake {
	char accept[WS_ACCEPT_SIZE]; /* Sec-WebSocket-Accept */
	bool binary;                 /* the client offered the "binary" subprotocol */
};

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + RFC GUID)). -EINVAL
 * when the key is not the base64 of 16 bytes (24 characters with padding). */
int ws_accept_key(const char *key, char ret[WS_ACCEPT_SIZE]);

/* Check a request head that asks for a websocket: GET, HTTP/1.1, no body, "Upgrade:
 * websocket", "Connection: upgrade", "Sec-WebSocket-Version: 13" and one valid
 * Sec-WebSocket-Key. NULL when it is good (ret filled), else the reason for a 400. */
const char *ws_handshake_check(const struct http_request *r, struct ws_handshake *ret);

/* Append the "101 Switching Protocols" head (with "Sec-WebSocket-Protocol: binary" when the
 * client offered it). */
void ws_handshake_response(struct strbuf *out, const struct ws_handshake *h);

/* ---- client frames ---- */

enum ws_event_type {
	WS_EVENT_NONE,    /* every byte given was consumed without completing an event */
	WS_EVENT_MESSAGE, /* a data message ended; all of its payload is in `data` by now */
	WS_EVENT_PING,
	WS_EVENT_PONG,
	WS_EVENT_CLOSE, /* the client's close frame; the decoder ignores anything after it */
	WS_EVENT_ERROR, /* protocol violation: close with `code`; the decoder takes nothing more */
};

struct ws_event {
	enum ws_event_type type;
	enum ws_opcode opcode;  /* MESSAGE: WS_OP_TEXT or WS_OP_BINARY */
	uint64_t length;        /* MESSAGE: payload bytes of the whole message */
	const uint8_t *payload; /* PING, PONG, CLOSE: the payload (close: its reason text),
	                         * valid until the next call */
	size_t payload_len;
	uint16_t code;      /* CLOSE: the client's code (WS_CLOSE_NO_STATUS without one);
	                     * ERROR: the code to close with (1002, 1007 or 1009) */
	const char *reason; /* ERROR: why, a static string fit for a close frame */
};

/* Decodes client frames as they arrive. Client frames must be masked; RSV bits (no extension
 * is ever negotiated), unknown opcodes, fragmented or > 125-byte control frames, non-minimal
 * lengths, continuations without a message and data messages over max_message are errors.
 * Data payloads are unmasked and streamed out as they come (message boundaries are reported
 * by WS_EVENT_MESSAGE), so memory stays constant whatever the message size. Text payloads
 * are not checked for UTF-8: the relay passes bytes through, as Proxmox's does. */
struct ws_decoder {
	uint64_t max_message; /* may be changed between calls */

	/* private */
	unsigned state;
	uint8_t hdr[WS_MAX_HEADER];
	size_t hdr_len, hdr_need;
	uint8_t opcode;
	bool fin;
	uint8_t mask[4];
	uint64_t frame_len, frame_pos;
	bool in_message;
	uint8_t message_opcode;
	uint64_t message_len;
	uint8_t control[WS_MAX_CONTROL];
	uint16_t error_code;
	const char *error_reason;
};

void ws_decoder_init(struct ws_decoder *d);

/* Decode from in[0..len): data message payload bytes are appended to data, control frames
 * and message ends are reported in *ret (one event per call; decoding stops after it).
 * Returns the bytes consumed: all of them when ret->type is WS_EVENT_NONE; call again with
 * the rest after handling any other event. */
size_t ws_decoder_feed(struct ws_decoder *d, const void *in, size_t len, struct strbuf *data,
                       struct ws_event *ret);

/* ---- server frames (unmasked, never fragmented) ---- */

/* The header of one final frame of len payload bytes: returns its size (2, 4 or 10). */
size_t ws_frame_header(uint8_t out[10], enum ws_opcode op, uint64_t len);
/* Append one whole frame. */
void ws_encode(struct strbuf *out, enum ws_opcode op, const void *payload, size_t len);
/* Append a close frame with code and an optional reason (cut to fit a control frame). */
void ws_encode_close(struct strbuf *out, uint16_t code, const char *reason);
