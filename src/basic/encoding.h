/* Pure text encodings: hex, base64, percent-encoding, UTF-8 checks. */
#pragma once

#include "macros.h"

#include <stdint.h>

/* The value of one hex digit, or -1. */
int hex_digit(char c);

/* Lower-case hex of len bytes into out (2*len+1 bytes). */
void hex_encode(const void *data, size_t len, char *out);
/* Upper-case variant. */
void hex_encode_upper(const void *data, size_t len, char *out);

/* Standard base64 with padding; out needs base64_encoded_len(len)+1 bytes. Returns length. */
size_t base64_encode(const void *data, size_t len, char *out);
static inline size_t
base64_encoded_len(size_t len)
{
	return (len + 2) / 3 * 4;
}
/* Decode standard base64; padding optional; whitespace refused. Returns decoded length or
 * -EINVAL. out needs len*3/4+3 bytes. */
ssize_t base64_decode(const char *in, size_t len, void *out);

/* Decode %XX sequences (and '+' as space when plus_is_space). Returns a new NUL-terminated
 * string and its length (it may contain NUL bytes); -EINVAL on a malformed escape. */
int percent_decode(const char *in, size_t len, bool plus_is_space, char **ret, size_t *ret_len);
/* Encode everything but unreserved characters (A-Z a-z 0-9 - _ . ~). */
char *percent_encode(const char *in);

/* True if s[0..len) is well-formed UTF-8 without NUL bytes. */
bool utf8_valid(const char *s, size_t len);

/* A copy of s with every byte that is not part of well-formed UTF-8 replaced by U+FFFD
 * (text from outside, such as task log lines, before it goes into JSON). Caller frees. */
char *utf8_sanitize(const char *s);

/* PVE's encode_text / decode_text for free text kept in config files (descriptions,
 * comments): control and high-bit bytes, ':' and '%' become %XX, and so do spaces at the
 * start and end (config parsers trim lines; PVE decodes %20 alike); decoding reverses it
 * (invalid escapes are kept as they are). Caller frees. */
char *text_encode(const char *s);
/* The decoded length (which may count NUL bytes from %00) goes to *ret_len if non-NULL. */
char *text_decode(const char *s, size_t *ret_len);

/* True if s contains CR or LF. */
static inline bool
has_crlf(const char *s)
{
	return strpbrk(s, "\r\n") != NULL;
}
