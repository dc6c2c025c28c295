/* Pure text encodings: hex, base64, percent-encoding, UTF-8 checks. */
#include "encoding.h"
#include "strbuf.h"

#include <sys/types.h>

static void
hex_with(const void *data, size_t len, char *out, const char *digits)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * len] = '\0';
}

void
hex_encode(const void *data, size_t len, char *out)
{
	hex_with(data, len, out, "0123456789abcdef");
}

void
hex_encode_upper(const void *data, size_t len, char *out)
{
	hex_with(data, len, out, "0123456789ABCDEF");
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
base64_encode(const void *data, size_t len, char *out)
{
	const unsigned char *p = data;
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		out[o++] = b64[(v >> 18) & 63];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = i + 1 < len ? b64[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? b64[v & 63] : '=';
	}
	out[o] = '\0';
	return o;
}

static int
b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

ssize_t
base64_decode(const char *in, size_t len, void *out)
{
	unsigned char *o = out;
	while (len > 0 && in[len - 1] == '=')
		len--;
	if (len % 4 == 1)
		return -EINVAL;
	size_t n = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		int v = b64_value(in[i]);
		if (v < 0)
			return -EINVAL;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			o[n++] = (unsigned char)(acc >> bits);
		}
	}
	return (ssize_t)n;
}

int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
percent_decode(const char *in, size_t len, bool plus_is_space, char **ret, size_t *ret_len)
{
	char *out = xmalloc(len + 1);
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (in[i] == '%') {
			int hi = i + 2 < len ? hex_digit(in[i + 1]) : -1;
			int lo = i + 2 < len ? hex_digit(in[i + 2]) : -1;
			if (hi < 0 || lo < 0) {
				free(out);
				return -EINVAL;
			}
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (plus_is_space && in[i] == '+') {
			out[o++] = ' ';
		} else {
			out[o++] = in[i];
		}
	}
	out[o] = '\0';
	*ret = out;
	if (ret_len)
		*ret_len = o;
	return 0;
}

char *
percent_encode(const char *in)
{
	struct strbuf sb = STRBUF_INIT;
	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' || *p == '~')
			sb_putc(&sb, (char)*p);
		else
			sb_printf(&sb, "%%%02X", *p);
	}
	return sb_steal(&sb);
}

bool
utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < len) {
		unsigned char c = p[i];
		size_t n;
		uint32_t cp;
		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			n = 1;
			cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			n = 2;
			cp = c & 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (i + n >= len)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3F);
		}
		/* overlong forms, surrogates and values past U+10FFFF */
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
			return false;
		i += n + 1;
	}
	return true;
}

char *
utf8_sanitize(const char *s)
{
	struct strbuf sb = STRBUF_INIT;
	size_t len = strlen(s), i = 0;
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		size_t n = c < 0x80             ? 1
		           : (c & 0xE0) == 0xC0 ? 2
		           : (c & 0xF0) == 0xE0 ? 3
		           : (c & 0xF8) == 0xF0 ? 4
		                                : 0;
		if (n && i + n <= len && utf8_valid(s + i, n)) {
			sb_append(&sb, s + i, n);
			i += n;
		} else {
			sb_puts(&sb, "\xEF\xBF\xBD");
			i++;
		}
	}
	return sb_steal(&sb);
}

char *
text_encode(const char *s)
{
	struct strbuf sb = STRBUF_INIT;
	size_t len = strlen(s), lead = 0, tail = len;
	while (lead < len && s[lead] == ' ')
		lead++;
	while (tail > lead && s[tail - 1] == ' ')
		tail--;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		/* safe: 0x20-0x7e except '%' and ':' (PVE's set); spaces at the edges are
		 * encoded too, because config parsers trim lines and would lose them */
		bool edge_space = c == ' ' && (i < lead || i >= tail);
		if (c < 0x20 || c > 0x7e || c == '%' || c == ':' || edge_space)
			sb_printf(&sb, "%%%02X", c);
		else
			sb_putc(&sb, (char)c);
	}
	return sb_steal(&sb);
}

char *
text_decode(const char *s, size_t *ret_len)
{
	struct strbuf sb = STRBUF_INIT;
	for (const char *p = s; *p; p++) {
		int hi, lo;
		if (*p == '%' && (hi = hex_digit(p[1])) >= 0 && (lo = hex_digit(p[2])) >= 0) {
			sb_putc(&sb, (char)(hi << 4 | lo));
			p += 2;
		} else {
			sb_putc(&sb, *p);
		}
	}
	if (ret_len)
		*ret_len = sb.len;
	return sb_steal(&sb);
}
