/* Unit tests: the RFC 6455 server side — Sec-WebSocket-Accept, handshake checks, the client
 * frame decoder (every protocol error, fragments, limits, every split of a frame stream,
 * random bytes) and the server frame encoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "proxy/paths.h"
#include "proxy/websocket.h"

#include <stdio.h>
#include <stdlib.h>

static const uint8_t MASK[4] = { 0x37, 0xfa, 0x21, 0x3d };

/* ---- helpers ---- */

/* Append a client frame: b0 is FIN/RSV/opcode; the payload is masked with mask (NULL: an
 * unmasked frame). len_bytes forces the length encoding (0: minimal, else 1, 2 or 8). */
static void
frame_ex(struct strbuf *out, uint8_t b0, const void *payload, uint64_t len, const uint8_t *mask,
         unsigned len_bytes)
{
	uint8_t h[WS_MAX_HEADER];
	size_t n = 0;
	h[n++] = b0;
	uint8_t m = mask ? 0x80 : 0;
	if (!len_bytes)
		len_bytes = len < 126 ? 1 : len <= 0xffff ? 2 : 8;
	if (len_bytes == 1) {
		h[n++] = m | (uint8_t)len;
	} else if (len_bytes == 2) {
		h[n++] = m | 126;
		h[n++] = (uint8_t)(len >> 8);
		h[n++] = (uint8_t)len;
	} else {
		h[n++] = m | 127;
		for (int i = 7; i >= 0; i--)
			h[n++] = (uint8_t)(len >> (8 * i));
	}
	if (mask) {
		memcpy(h + n, mask, 4);
		n += 4;
	}
	sb_append(out, h, n);
	const uint8_t *p = payload;
	for (uint64_t i = 0; p && i < len; i++) {
		uint8_t c = p[i] ^ (mask ? mask[i & 3] : 0);
		sb_append(out, &c, 1);
	}
}

static void
frame(struct strbuf *out, uint8_t b0, const void *payload, size_t len)
{
	frame_ex(out, b0, payload, len, MASK, 0);
}

static void
frame_str(struct strbuf *out, uint8_t b0, const char *s)
{
	frame(out, b0, s, strlen(s));
}

/* A decode run: what the decoder reported, as one comparable byte string. */
struct run {
	struct ws_decoder d;
	struct strbuf data; /* payload of the message in progress */
	struct strbuf log;
	bool failed;
	struct ws_event last; /* the last event other than WS_EVENT_NONE */
};

static void
run_init(struct run *r)
{
	memset(r, 0, sizeof(*r));
	ws_decoder_init(&r->d);
}

static void
run_done(struct run *r)
{
	sb_free(&r->data);
	sb_free(&r->log);
}

static void
run_feed(struct run *r, const void *in, size_t len)
{
	const uint8_t *p = in;
	while (!r->failed) {
		struct ws_event ev;
		size_t n = ws_decoder_feed(&r->d, p, len, &r->data, &ev);
		assert_true(n <= len);
		p += n;
		len -= n;
		if (ev.type != WS_EVENT_NONE)
			r->last = ev;
		switch (ev.type) {
		case WS_EVENT_NONE:
			assert_int_equal(len, 0);
			return;
		case WS_EVENT_MESSAGE:
			assert_int_equal(ev.length, r->data.len);
			sb_printf(&r->log, "M%d:%zu:", ev.opcode, r->data.len);
			sb_append(&r->log, r->data.buf, r->data.len);
			sb_putc(&r->log, '\n');
			sb_reset(&r->data);
			break;
		case WS_EVENT_PING:
		case WS_EVENT_PONG:
			sb_puts(&r->log, ev.type == WS_EVENT_PING ? "PING:" : "PONG:");
			sb_append(&r->log, ev.payload, ev.payload_len);
			sb_putc(&r->log, '\n');
			break;
		case WS_EVENT_CLOSE:
			sb_printf(&r->log, "CLOSE%u:", ev.code);
			sb_append(&r->log, ev.payload, ev.payload_len);
			sb_putc(&r->log, '\n');
			break;
		case WS_EVENT_ERROR:
			sb_printf(&r->log, "ERROR%u:%s\n", ev.code, ev.reason);
			r->failed = true;
			return;
		}
	}
}

/* Decode in one piece; returns the log (caller frees). */
static char *
decode(const struct strbuf *in, size_t *ret_len)
{
	struct run r;
	run_init(&r);
	run_feed(&r, in->buf, in->len);
	if (ret_len)
		*ret_len = r.log.len;
	char *log = sb_steal(&r.log);
	run_done(&r);
	return log;
}

static void
assert_decodes_to(const struct strbuf *in, const char *want)
{
	char *got = decode(in, NULL);
	assert_string_equal(got, want);
	free(got);
}

static void
assert_error(const struct strbuf *in, unsigned code)
{
	struct run r;
	run_init(&r);
	run_feed(&r, in->buf, in->len);
	assert_true(r.failed);
	assert_int_equal(r.last.type, WS_EVENT_ERROR);
	assert_int_equal(r.last.code, code);
	assert_non_null(r.last.reason);
	/* the decoder stays failed: nothing more is consumed */
	struct ws_event ev;
	assert_int_equal(ws_decoder_feed(&r.d, "\x81\x80xxxx", 6, &r.data, &ev), 0);
	assert_int_equal(ev.type, WS_EVENT_ERROR);
	assert_int_equal(ev.code, code);
	run_done(&r);
}

/* ---- the handshake ---- */

static void
test_accept_key_of_the_rfc_sample(void **state)
{
	char accept[WS_ACCEPT_SIZE];
	assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", accept), 0);
	assert_string_equal(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static void
test_accept_key_refuses_keys_that_are_not_16_base64_bytes(void **state)
{
	static const char *const bad[] = {
		"",
		"dGhlIHNhbXBsZSBub25jZQ",    /* padding missing */
		"dGhlIHNhbXBsZSBub25jZQ=",   /* half the padding */
		"dGhlIHNhbXBsZSBub25jZQ===", /* too long */
		"dGhlIHNhbXBsZSBub25j",      /* 15 bytes */
		"dGhlIHNhbXBsZSBub25jZXh0",  /* 18 bytes, no padding */
		"dGhlIHNhbXBsZSBub25jZ!==",  /* not base64 */
		"dGhlIHNhbXBsZSBub25j ZQ==",
		"dGhlIHNhbXBsZSBub25jZQ==\n",
	};
	char accept[WS_ACCEPT_SIZE];
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		strcpy(accept, "untouched");
		assert_int_equal(ws_accept_key(bad[i], accept), -EINVAL);
		assert_string_equal(accept, "untouched");
	}
}

#define UPGRADE_HEAD                                                                               \
	"Host: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"                                 \
	"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"

/* Check the head text with the handshake rules: NULL when good. */
static const char *
check(const char *head, struct ws_handshake *ret)
{
	static struct http_parser p;
	static bool used;
	if (used)
		http_parser_done(&p);
	used = true;
	http_parser_init(&p);
	size_t n;
	assert_int_equal(http_parser_feed(&p, head, strlen(head), &n), HTTP_HEAD_DONE);
	struct ws_handshake h;
	const char *why = ws_handshake_check(&p.req, &h);
	if (!why && ret)
		*ret = h;
	return why;
}

static void
test_handshake_of_a_browser_is_accepted(void **state)
{
	struct ws_handshake h;
	assert_null(check(
	        "GET /ws HTTP/1.1\r\n" UPGRADE_HEAD "Sec-WebSocket-Protocol: binary\r\n\r\n", &h));
	assert_string_equal(h.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	assert_true(h.binary);

	/* Firefox: keep-alive and upgrade; case of the Upgrade token does not matter */
	assert_null(check("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: WebSocket\r\n"
	                  "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\n"
	                  "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n"
	                  "Sec-WebSocket-Protocol: base64, binary\r\n\r\n",
	                  &h));
	assert_true(h.binary);
}

static void
test_binary_subprotocol_is_found_in_any_list_and_only_exactly(void **state)
{
	struct ws_handshake h;
	assert_null(check("GET / HTTP/1.1\r\n" UPGRADE_HEAD "\r\n", &h));
	assert_false(h.binary);
	assert_null(check("GET / HTTP/1.1\r\n" UPGRADE_HEAD "Sec-WebSocket-Protocol: base64\r\n"
	                  "Sec-WebSocket-Protocol: chat,binary\r\n\r\n",
	                  &h));
	assert_true(h.binary);
	assert_null(check("GET / HTTP/1.1\r\n" UPGRADE_HEAD
	                  "Sec-WebSocket-Protocol: binaryx, BINARY, binar\r\n\r\n",
	                  &h));
	assert_false(h.binary);
}

static void
test_handshake_refusals_name_the_missing_or_bad_part(void **state)
{
	static const struct {
		const char *head, *why;
	} cases[] = {
		{ "POST / HTTP/1.1\r\n" UPGRADE_HEAD "\r\n", "websocket upgrade needs GET" },
		{ "GET / HTTP/1.0\r\n" UPGRADE_HEAD "\r\n", "websocket upgrade needs HTTP/1.1" },
		{ "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: "
		  "dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
		  "unsupported Upgrade (want websocket)" },
		{ "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n"
		  "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: "
		  "dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
		  "missing 'Connection: upgrade'" },
		{ "GET / HTTP/1.1\r\n" UPGRADE_HEAD "Content-Length: 3\r\n\r\n",
		  "websocket upgrade with a body" },
		{ "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
		  "unsupported Sec-WebSocket-Version (want 13)" },
		{ "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
		  "unsupported Sec-WebSocket-Version (want 13)" },
		{ "GET / HTTP/1.1\r\n" UPGRADE_HEAD "Sec-WebSocket-Version: 13\r\n\r\n",
		  "unsupported Sec-WebSocket-Version (want 13)" },
		{ "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Version: 13\r\n\r\n",
		  "missing Sec-WebSocket-Key" },
		{ "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		  "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: c2hvcnQ=\r\n\r\n",
		  "invalid Sec-WebSocket-Key" },
		{ "GET / HTTP/1.1\r\n" UPGRADE_HEAD
		  "Sec-WebSocket-Key: AQIDBAUGBwgJCgsMDQ4PEA==\r\n\r\n",
		  "invalid Sec-WebSocket-Key" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *why = check(cases[i].head, NULL);
		assert_non_null(why);
		assert_string_equal(why, cases[i].why);
	}
}

static void
test_switching_protocols_head_is_exact(void **state)
{
	struct ws_handshake h = { .accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", .binary = true };
	struct strbuf sb = STRBUF_INIT;
	ws_handshake_response(&sb, &h);
	assert_string_equal(sb_str(&sb), "HTTP/1.1 101 Switching Protocols\r\n"
	                                 "Upgrade: websocket\r\n"
	                                 "Connection: Upgrade\r\n"
	                                 "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
	                                 "Sec-WebSocket-Protocol: binary\r\n"
	                                 "\r\n");
	sb_reset(&sb);
	h.binary = false;
	ws_handshake_response(&sb, &h);
	assert_null(strstr(sb_str(&sb), "Sec-WebSocket-Protocol"));
	sb_free(&sb);
}

static void
test_console_urls_are_recognised(void **state)
{
	assert_true(proxy_console_path("/api2/json/nodes/pve/lxc/100/vncwebsocket"));
	assert_true(proxy_console_path("/api2/json/nodes/pve/qemu/100/vncwebsocket"));
	assert_false(proxy_console_path("/api2/json/nodes/pve/lxc/100/vncwebsocket/"));
	assert_false(proxy_console_path("/api2/json/nodes/pve/lxc/100/vncproxy"));
	assert_false(proxy_console_path("/api2/json/nodes/pve/openvz/100/vncwebsocket"));
	assert_false(proxy_console_path("/api2/json/nodes/pve/lxc//vncwebsocket"));
	assert_false(proxy_console_path("/api2/json/nodes//lxc/100/vncwebsocket"));
	assert_false(proxy_console_path("/api2/extjs/nodes/pve/lxc/100/vncwebsocket"));
	assert_false(proxy_console_path("/api2/json/nodes/pve/lxc/100/x/vncwebsocket"));
}

/* ---- decoding client frames ---- */

static void
test_rfc_masked_hello_decodes(void **state)
{
	/* RFC 6455 5.7: "A single-frame masked text message" */
	static const uint8_t hello[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
		                         0x7f, 0x9f, 0x4d, 0x51, 0x58 };
	struct strbuf in = STRBUF_INIT;
	sb_append(&in, hello, sizeof(hello));
	assert_decodes_to(&in, "M1:5:Hello\n");
	/* the masked pong of the same section */
	in.buf[0] = (char)0x8a;
	assert_decodes_to(&in, "PONG:Hello\n");
	sb_free(&in);
}

static void
test_every_length_encoding_decodes(void **state)
{
	static const size_t lens[] = { 0, 1, 125, 126, 127, 65535, 65536, 300000, WS_MAX_MESSAGE };
	uint8_t *payload = malloc(WS_MAX_MESSAGE);
	for (size_t i = 0; i < WS_MAX_MESSAGE; i++)
		payload[i] = (uint8_t)(i * 7 + 3);
	for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
		struct strbuf in = STRBUF_INIT;
		frame(&in, 0x82, payload, lens[i]);
		struct run r;
		run_init(&r);
		run_feed(&r, in.buf, in.len);
		if (r.failed)
			fail_msg("%zu: %s", lens[i], sb_str(&r.log));
		assert_int_equal(r.last.type, WS_EVENT_MESSAGE);
		assert_int_equal(r.last.opcode, WS_OP_BINARY);
		assert_int_equal(r.last.length, lens[i]);
		char head[32];
		int hn = snprintf(head, sizeof(head), "M2:%zu:", lens[i]);
		assert_int_equal(r.log.len, (size_t)hn + lens[i] + 1);
		assert_memory_equal(r.log.buf, head, (size_t)hn);
		assert_memory_equal(r.log.buf + hn, payload, lens[i]);
		run_done(&r);
		sb_free(&in);
	}
	free(payload);
}

static void
test_continuation_frames_are_joined_around_control_frames(void **state)
{
	struct strbuf in = STRBUF_INIT;
	frame_str(&in, 0x01, "Hel");           /* text, not final */
	frame_str(&in, 0x89, "are you there"); /* a ping between fragments */
	frame_str(&in, 0x00, "lo ");
	frame_str(&in, 0x00, "");
	frame_str(&in, 0x8a, "");
	frame_str(&in, 0x80, "world");
	frame_str(&in, 0x02, "bin");
	frame_str(&in, 0x80, "ary");
	frame_str(&in, 0x82, "");
	assert_decodes_to(&in, "PING:are you there\n"
	                       "PONG:\n"
	                       "M1:11:Hello world\n"
	                       "M2:6:binary\n"
	                       "M2:0:\n");
	sb_free(&in);
}

static void
test_close_frame_gives_code_and_reason_and_ends_decoding(void **state)
{
	struct strbuf in = STRBUF_INIT;
	frame_str(&in, 0x88, "\x03\xe9going");
	frame_str(&in, 0x82, "ignored after the close");
	in.buf[in.len - 1] ^= 0x80; /* even garbage is not looked at any more */
	assert_decodes_to(&in, "CLOSE1001:going\n");

	sb_reset(&in);
	frame_str(&in, 0x88, "");
	assert_decodes_to(&in, "CLOSE1005:\n");

	sb_reset(&in);
	frame_str(&in, 0x88, "\x0f\xa0"); /* 4000: an application code */
	assert_decodes_to(&in, "CLOSE4000:\n");
	sb_free(&in);
}

static void
test_unmasked_frames_are_a_protocol_error(void **state)
{
	struct strbuf in = STRBUF_INIT;
	frame_ex(&in, 0x82, "abc", 3, NULL, 0);
	assert_error(&in, WS_CLOSE_PROTOCOL);
	sb_reset(&in);
	frame_ex(&in, 0x89, "", 0, NULL, 0); /* control frames too */
	assert_error(&in, WS_CLOSE_PROTOCOL);
	sb_free(&in);
}

static void
test_reserved_bits_are_a_protocol_error(void **state)
{
	for (uint8_t rsv = 0x10; rsv <= 0x40; rsv <<= 1) {
		struct strbuf in = STRBUF_INIT;
		frame_str(&in, 0x82, "ok");
		frame_str(&in, 0x82 | rsv, "compressed?");
		char *log = decode(&in, NULL);
		assert_string_equal(log, "M2:2:ok\nERROR1002:reserved bits set\n");
		free(log);
		sb_free(&in);
	}
}

static void
test_unknown_opcodes_are_a_protocol_error(void **state)
{
	static const uint8_t ops[] = { 3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf };
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
		struct strbuf in = STRBUF_INIT;
		frame_str(&in, 0x80 | ops[i], "");
		assert_error(&in, WS_CLOSE_PROTOCOL);
		sb_free(&in);
	}
}

static void
test_fragmented_or_long_control_frames_are_a_protocol_error(void **state)
{
	char big[126];
	memset(big, 'p', sizeof(big));
	static const uint8_t controls[] = { 0x8, 0x9, 0xa };
	for (size_t i = 0; i < ARRAY_SIZE(controls); i++) {
		struct strbuf in = STRBUF_INIT;
		frame_str(&in, controls[i], ""); /* FIN clear */
		assert_error(&in, WS_CLOSE_PROTOCOL);
		sb_reset(&in);
		frame(&in, 0x80 | controls[i], big, 126);
		assert_error(&in, WS_CLOSE_PROTOCOL);
		sb_reset(&in);
		/* 125 is the most a control frame may carry */
		frame(&in, 0x80 | controls[i], controls[i] == 0x8 ? "\x03\xe8" : big,
		      controls[i] == 0x8 ? 2 : 125);
		struct run r;
		run_init(&r);
		run_feed(&r, in.buf, in.len);
		assert_false(r.failed);
		run_done(&r);
		sb_free(&in);
	}
}

static void
test_message_order_violations_are_a_protocol_error(void **state)
{
	struct strbuf in = STRBUF_INIT;
	frame_str(&in, 0x80, "continuation of nothing");
	assert_error(&in, WS_CLOSE_PROTOCOL);
	sb_reset(&in);
	frame_str(&in, 0x01, "start");
	frame_str(&in, 0x82, "a new message before the end");
	assert_error(&in, WS_CLOSE_PROTOCOL);
	sb_reset(&in);
	frame_str(&in, 0x81, "done");
	frame_str(&in, 0x00, "then a continuation");
	assert_error(&in, WS_CLOSE_PROTOCOL);
	sb_free(&in);
}

static void
test_non_minimal_and_huge_lengths_are_a_protocol_error(void **state)
{
	struct strbuf in = STRBUF_INIT;
	frame_ex(&in, 0x82, "abc", 3, MASK, 2);
	assert_error(&in, WS_CLOSE_PROTOCOL);
	sb_reset(&in);
	frame_ex(&in, 0x82, "abc", 3, MASK, 8);
	assert_error(&in, WS_CLOSE_PROTOCOL);
	sb_reset(&in);
	frame_ex(&in, 0x82, NULL, 1ull << 63, MASK, 8);
	assert_error(&in, WS_CLOSE_PROTOCOL);
	sb_free(&in);
}

static void
test_messages_over_1_mib_close_with_1009_before_their_payload(void **state)
{
	struct strbuf in = STRBUF_INIT;
	/* only the header: the decoder must not wait for (or buffer) the megabyte */
	frame_ex(&in, 0x82, NULL, WS_MAX_MESSAGE + 1, MASK, 0);
	assert_error(&in, WS_CLOSE_TOO_BIG);
	sb_reset(&in);
	frame_ex(&in, 0x82, NULL, UINT64_C(1) << 40, MASK, 0);
	assert_error(&in, WS_CLOSE_TOO_BIG);

	/* fragments add up */
	char *half = calloc(1, WS_MAX_MESSAGE / 2);
	sb_reset(&in);
	frame(&in, 0x02, half, WS_MAX_MESSAGE / 2);
	frame(&in, 0x00, half, WS_MAX_MESSAGE / 2);
	frame(&in, 0x80, "x", 1);
	char *log = decode(&in, NULL);
	assert_string_equal(log, "ERROR1009:message too big\n");
	free(log);
	/* exactly the limit is fine */
	sb_reset(&in);
	frame(&in, 0x02, half, WS_MAX_MESSAGE / 2);
	frame(&in, 0x80, half, WS_MAX_MESSAGE / 2);
	struct run r;
	run_init(&r);
	run_feed(&r, in.buf, in.len);
	assert_false(r.failed);
	assert_int_equal(r.last.length, WS_MAX_MESSAGE);
	run_done(&r);
	free(half);
	sb_free(&in);
}

static void
test_the_message_limit_can_be_lowered(void **state)
{
	struct strbuf in = STRBUF_INIT;
	frame_str(&in, 0x82, "12345");
	struct run r;
	run_init(&r);
	r.d.max_message = 4;
	run_feed(&r, in.buf, in.len);
	assert_true(r.failed);
	assert_int_equal(r.last.code, WS_CLOSE_TOO_BIG);
	run_done(&r);
	sb_free(&in);
}

static void
test_bad_close_frames_are_refused(void **state)
{
	static const struct {
		const char *payload;
		size_t len;
		unsigned code;
	} cases[] = {
		{ "\x03", 1, WS_CLOSE_PROTOCOL },                 /* 1 byte */
		{ "\x03\xe7", 2, WS_CLOSE_PROTOCOL },             /* 999 */
		{ "\x03\xed", 2, WS_CLOSE_PROTOCOL },             /* 1005: reporting only */
		{ "\x03\xee", 2, WS_CLOSE_PROTOCOL },             /* 1006: reporting only */
		{ "\x03\xf7", 2, WS_CLOSE_PROTOCOL },             /* 1015: reporting only */
		{ "\x13\x88", 2, WS_CLOSE_PROTOCOL },             /* 5000 */
		{ "\x03\xe8\xff\xfe", 4, WS_CLOSE_INVALID_DATA }, /* reason not UTF-8 */
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct strbuf in = STRBUF_INIT;
		frame(&in, 0x88, cases[i].payload, cases[i].len);
		assert_error(&in, cases[i].code);
		sb_free(&in);
	}
}

/* A stream with every kind of frame: messages of many sizes, fragments, control frames. */
static void
sample_stream(struct strbuf *in)
{
	static char payload[70000];
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (char)(i % 251);
	frame_str(in, 0x81, "0:3:ls\n");
	frame_str(in, 0x89, "ping?");
	frame(in, 0x82, payload, 126);
	frame(in, 0x02, payload, 1000);
	frame_str(in, 0x8a, "unsolicited pong");
	frame(in, 0x00, payload + 1000, 65536);
	frame(in, 0x80, payload + 66536, 3464);
	frame_str(in, 0x81, "");
	frame(in, 0x82, payload, 70000);
	frame_str(in, 0x88,
	          "\x03\xe8"
	          "bye");
}

static void
assert_every_split_decodes_the_same(const struct strbuf *in, size_t max_cuts, unsigned seed,
                                    unsigned rounds)
{
	size_t want_len;
	char *want = decode(in, &want_len);
	srand(seed);
	for (unsigned round = 0; round < rounds; round++) {
		struct run r;
		run_init(&r);
		size_t off = 0;
		while (off < in->len) {
			size_t left = in->len - off;
			size_t n;
			switch (rand() % 4) {
			case 0:
				n = 1;
				break;
			case 1:
				n = 1 + (size_t)rand() % 16;
				break;
			case 2:
				n = 1 + (size_t)rand() % 4096;
				break;
			default:
				n = 1 + (size_t)rand() % (max_cuts ? max_cuts : 1);
				break;
			}
			n = MIN(n, left);
			run_feed(&r, in->buf + off, n);
			off += n;
		}
		assert_int_equal(r.log.len, want_len);
		assert_memory_equal(r.log.buf, want, want_len);
		run_done(&r);
	}
	free(want);
}

static void
test_random_splits_of_a_frame_stream_decode_the_same(void **state)
{
	struct strbuf in = STRBUF_INIT;
	sample_stream(&in);
	size_t len;
	char *log = decode(&in, &len); /* binary payloads: search with memmem */
	assert_non_null(memmem(log, len, "PING:ping?\nM2:126:", 18));
	assert_non_null(memmem(log, len, "PONG:unsolicited pong\nM2:70000:", 32));
	assert_non_null(memmem(log, len, "M1:0:\nM2:70000:", 16));
	assert_memory_equal(log + len - 14, "CLOSE1000:bye\n", 14);
	free(log);
	assert_every_split_decodes_the_same(&in, 100000, 1, 300);
	sb_free(&in);
}

static void
test_every_single_split_point_decodes_the_same(void **state)
{
	struct strbuf in = STRBUF_INIT;
	frame_str(&in, 0x01, "frag");
	frame_str(&in, 0x89, "p");
	frame(&in, 0x80,
	      "0123456789012345678901234567890123456789012345678901234567890123456789"
	      "0123456789012345678901234567890123456789012345678901234567890123456789",
	      140);
	frame_str(&in, 0x88, "\x03\xe8");
	size_t want_len;
	char *want = decode(&in, &want_len);
	for (size_t cut = 0; cut <= in.len; cut++) {
		struct run r;
		run_init(&r);
		run_feed(&r, in.buf, cut);
		run_feed(&r, in.buf + cut, in.len - cut);
		assert_int_equal(r.log.len, want_len);
		assert_memory_equal(r.log.buf, want, want_len);
		run_done(&r);
	}
	/* byte by byte */
	struct run r;
	run_init(&r);
	for (size_t i = 0; i < in.len; i++)
		run_feed(&r, in.buf + i, 1);
	assert_int_equal(r.log.len, want_len);
	assert_memory_equal(r.log.buf, want, want_len);
	run_done(&r);
	free(want);
	sb_free(&in);
}

static void
test_random_splits_find_a_protocol_error_at_the_same_place(void **state)
{
	struct strbuf in = STRBUF_INIT;
	frame_str(&in, 0x82, "fine");
	frame_str(&in, 0x89, "ping");
	frame_ex(&in, 0x82, "naked", 5, NULL, 0);
	frame_str(&in, 0x82, "never seen");
	char *log = decode(&in, NULL);
	assert_string_equal(log, "M2:4:fine\nPING:ping\nERROR1002:unmasked client frame\n");
	free(log);
	assert_every_split_decodes_the_same(&in, 64, 2, 500);
	sb_free(&in);
}

static void
test_random_bytes_never_crash_and_always_end_cleanly(void **state)
{
	/* fuzz-ish: random streams, some starting like real frames; every outcome must be an
	 * orderly event sequence (run_feed asserts the decoder's contract) */
	srand(3);
	uint8_t buf[512];
	for (unsigned round = 0; round < 20000; round++) {
		size_t len = 1 + (size_t)rand() % sizeof(buf);
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)rand();
		if (round % 2) {
			/* plausible headers: masked, small lengths, FIN often set */
			buf[0] = (uint8_t)((rand() % 2 ? 0x80 : 0) |
			                   (uint8_t[]){ 0, 1, 2, 8, 9, 10 }[rand() % 6]);
			buf[1] = (uint8_t)(0x80 | (rand() % 130));
		}
		struct run r;
		run_init(&r);
		r.d.max_message = 1 + (uint64_t)(rand() % 300);
		size_t off = 0;
		while (off < len) {
			size_t n = MIN(len - off, 1 + (size_t)rand() % 40);
			run_feed(&r, buf + off, n);
			off += n;
		}
		assert_true(r.data.len <= r.d.max_message);
		run_done(&r);
	}
}

/* ---- encoding server frames ---- */

static void
test_server_frame_headers_use_minimal_unmasked_lengths(void **state)
{
	uint8_t h[10];
	assert_int_equal(ws_frame_header(h, WS_OP_BINARY, 0), 2);
	assert_memory_equal(h, "\x82\x00", 2);
	assert_int_equal(ws_frame_header(h, WS_OP_BINARY, 125), 2);
	assert_memory_equal(h, "\x82\x7d", 2);
	assert_int_equal(ws_frame_header(h, WS_OP_BINARY, 126), 4);
	assert_memory_equal(h, "\x82\x7e\x00\x7e", 4);
	assert_int_equal(ws_frame_header(h, WS_OP_PONG, 65535), 4);
	assert_memory_equal(h, "\x8a\x7e\xff\xff", 4);
	assert_int_equal(ws_frame_header(h, WS_OP_BINARY, 65536), 10);
	assert_memory_equal(h, "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10);
}

static void
test_close_and_pong_frames_encode_as_the_rfc_says(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	ws_encode_close(&sb, WS_CLOSE_PROTOCOL, "unmasked client frame");
	assert_int_equal(sb.len, 2 + 2 + 21);
	assert_memory_equal(sb.buf,
	                    "\x88\x17\x03\xea"
	                    "unmasked client frame",
	                    sb.len);
	sb_reset(&sb);
	ws_encode_close(&sb, WS_CLOSE_NORMAL, NULL);
	assert_int_equal(sb.len, 4);
	assert_memory_equal(sb.buf, "\x88\x02\x03\xe8", 4);
	/* a reason never makes the frame longer than a control frame may be */
	char reason[300];
	memset(reason, 'r', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	sb_reset(&sb);
	ws_encode_close(&sb, WS_CLOSE_TOO_BIG, reason);
	assert_int_equal(sb.len, 2 + 125);
	assert_int_equal((uint8_t)sb.buf[1], 125);
	sb_reset(&sb);
	ws_encode(&sb, WS_OP_PONG, "Hello", 5);
	assert_memory_equal(sb.buf, "\x8a\x05Hello", 7); /* RFC 6455 5.7, unmasked */
	sb_free(&sb);
}

/* Server frames, masked the way a client would send them, decode to the same payloads. */
static void
test_encoded_frames_round_trip_through_the_decoder(void **state)
{
	static const size_t lens[] = { 0, 5, 125, 126, 65535, 65536, 100000 };
	uint8_t *payload = malloc(100000);
	for (size_t i = 0; i < 100000; i++)
		payload[i] = (uint8_t)(i ^ (i >> 8));
	for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
		struct strbuf out = STRBUF_INIT, in = STRBUF_INIT;
		ws_encode(&out, WS_OP_BINARY, payload, lens[i]);
		/* set the mask bit, insert the key, mask the payload */
		uint8_t h[10];
		size_t hn = ws_frame_header(h, WS_OP_BINARY, lens[i]);
		assert_memory_equal(out.buf, h, hn);
		h[1] |= 0x80;
		sb_append(&in, h, hn);
		sb_append(&in, MASK, 4);
		for (size_t k = 0; k < lens[i]; k++) {
			uint8_t c = (uint8_t)out.buf[hn + k] ^ MASK[k & 3];
			sb_append(&in, &c, 1);
		}
		struct run r;
		run_init(&r);
		run_feed(&r, in.buf, in.len);
		assert_int_equal(r.last.type, WS_EVENT_MESSAGE);
		assert_int_equal(r.last.length, lens[i]);
		assert_memory_equal(strchr(strchr(r.log.buf, ':') + 1, ':') + 1, payload, lens[i]);
		run_done(&r);
		sb_free(&out);
		sb_free(&in);
	}
	free(payload);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept_key_of_the_rfc_sample),
		cmocka_unit_test(test_accept_key_refuses_keys_that_are_not_16_base64_bytes),
		cmocka_unit_test(test_handshake_of_a_browser_is_accepted),
		cmocka_unit_test(test_binary_subprotocol_is_found_in_any_list_and_only_exactly),
		cmocka_unit_test(test_handshake_refusals_name_the_missing_or_bad_part),
		cmocka_unit_test(test_switching_protocols_head_is_exact),
		cmocka_unit_test(test_console_urls_are_recognised),
		cmocka_unit_test(test_rfc_masked_hello_decodes),
		cmocka_unit_test(test_every_length_encoding_decodes),
		cmocka_unit_test(test_continuation_frames_are_joined_around_control_frames),
		cmocka_unit_test(test_close_frame_gives_code_and_reason_and_ends_decoding),
		cmocka_unit_test(test_unmasked_frames_are_a_protocol_error),
		cmocka_unit_test(test_reserved_bits_are_a_protocol_error),
		cmocka_unit_test(test_unknown_opcodes_are_a_protocol_error),
		cmocka_unit_test(test_fragmented_or_long_control_frames_are_a_protocol_error),
		cmocka_unit_test(test_message_order_violations_are_a_protocol_error),
		cmocka_unit_test(test_non_minimal_and_huge_lengths_are_a_protocol_error),
		cmocka_unit_test(test_messages_over_1_mib_close_with_1009_before_their_payload),
		cmocka_unit_test(test_the_message_limit_can_be_lowered),
		cmocka_unit_test(test_bad_close_frames_are_refused),
		cmocka_unit_test(test_random_splits_of_a_frame_stream_decode_the_same),
		cmocka_unit_test(test_every_single_split_point_decodes_the_same),
		cmocka_unit_test(test_random_splits_find_a_protocol_error_at_the_same_place),
		cmocka_unit_test(test_random_bytes_never_crash_and_always_end_cleanly),
		cmocka_unit_test(test_server_frame_headers_use_minimal_unmasked_lengths),
		cmocka_unit_test(test_close_and_pong_frames_encode_as_the_rfc_says),
		cmocka_unit_test(test_encoded_frames_round_trip_through_the_decoder),
	};
	return cmocka_run_group_tests_name("proxy-websocket", tests, NULL, NULL);
}
