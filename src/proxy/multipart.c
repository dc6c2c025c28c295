/* Strict incremental multipart/form-data parser (see multipart.h). Every decision is taken
 * byte by byte, so any split of the input gives the same fields and the same file bytes
 * (the unit tests feed every split point). */
#include "multipart.h"

#include "http-parser.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

enum {
	S_PREAMBLE, /* before the first boundary: discarded */
	S_TAIL,     /* after a boundary: "--" (the end) or blanks and CRLF (a part) */
	S_HEADERS,  /* a part's header section */
	S_FIELD,    /* a field's value */
	S_FILE,     /* the file's bytes */
	S_SKIP,     /* a part after the file: discarded */
	S_EPILOGUE, /* after the close delimiter: discarded */
	S_ERROR,
};

enum { TAIL_START, TAIL_DASH, TAIL_BLANKS, TAIL_CR };

static int
fail(struct multipart *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m->error, sizeof(m->error), fmt, ap);
	va_end(ap);
	m->state = S_ERROR;
	return -EBADMSG;
}

static int
cb_fail(struct multipart *m, int r)
{
	m->error[0] = '\0';
	m->state = S_ERROR;
	return r;
}

/* Names from the client go into error messages (reason phrases): printable ASCII only. */
static void
printable(const char *s, char *out, size_t size)
{
	size_t i = 0;
	for (; s[i] && i + 1 < size; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	out[i] = '\0';
}

static bool
is_bchar(unsigned char c)
{
	/* RFC 2046 bcharsnospace */
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("'()+_,-./:=?", c) != NULL;
}

static bool
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

int
multipart_boundary(const char *content_type, char ret[MP_MAX_BOUNDARY + 1])
{
	static const char type[] = "multipart/form-data";
	if (!content_type)
		return -EINVAL;
	const char *s = content_type;
	size_t n = strcspn(s, ";");
	while (n > 0 && is_ows(s[n - 1]))
		n--;
	if (n != sizeof(type) - 1 || strncasecmp(s, type, n) != 0)
		return -EINVAL;
	s += strcspn(s, ";");

	char found[MP_MAX_BOUNDARY + 1];
	bool have = false;
	while (*s == ';') {
		s++;
		while (is_ows(*s))
			s++;
		size_t k = 0;
		while (http_is_tchar((unsigned char)s[k]))
			k++;
		if (k == 0 || s[k] != '=')
			return -EINVAL;
		bool is_boundary = k == 8 && strncasecmp(s, "boundary", 8) == 0;
		s += k + 1;
		char value[MP_MAX_BOUNDARY + 2];
		size_t len = 0;
		if (*s == '"') {
			s++;
			while (*s && *s != '"') {
				if (len > MP_MAX_BOUNDARY ||
				    (!is_bchar((unsigned char)*s) && *s != ' '))
					return -EINVAL;
				value[len++] = *s++;
			}
			if (*s != '"' || (len > 0 && value[len - 1] == ' '))
				return -EINVAL;
			s++;
		} else {
			while (*s && *s != ';' && !is_ows(*s)) {
				/* a bare value is a token; the boundary's own set is checked below
				 */
				if (len > MP_MAX_BOUNDARY)
					return -EINVAL;
				value[len++] = *s++;
			}
			for (size_t i = 0; is_boundary && i < len; i++)
				if (!is_bchar((unsigned char)value[i]))
					return -EINVAL;
		}
		while (is_ows(*s))
			s++;
		if (*s && *s != ';')
			return -EINVAL;
		if (!is_boundary)
			continue;
		if (have || len == 0 || len > MP_MAX_BOUNDARY)
			return -EINVAL;
		memcpy(found, value, len);
		found[len] = '\0';
		have = true;
	}
	if (*s || !have)
		return -EINVAL;
	memcpy(ret, found, strlen(found) + 1);
	return 0;
}

void
multipart_init(struct multipart *m, const char *boundary, const struct multipart_ops *ops,
               void *user)
{
	memset(m, 0, offsetof(struct multipart, hdr));
	m->ops = ops;
	m->user = user;
	size_t blen = strlen(boundary);
	assert(blen >= 1 && blen <= MP_MAX_BOUNDARY);
	memcpy(m->delim, "\r\n--", 4);
	memcpy(m->delim + 4, boundary, blen + 1);
	m->dlen = 4 + blen;
	m->state = S_PREAMBLE;
	/* the body may start with the boundary itself: as if a CRLF came before it */
	m->match = 2;
	m->at_start = true;
}

void
multipart_done(struct multipart *m)
{
	sb_free(&m->name);
	sb_free(&m->value);
}

/* Bytes of a part's content (or of the preamble) that are certainly not a delimiter. */
static int
emit(struct multipart *m, const char *data, size_t len)
{
	switch (m->state) {
	case S_PREAMBLE:
		m->skipped += len;
		if (m->skipped > MP_MAX_PREAMBLE)
			return fail(m, "missing multipart boundary");
		return 0;
	case S_FIELD:
		m->fields += len;
		if (m->fields > MP_MAX_FIELDS)
			return fail(m, "multipart form fields too large");
		sb_append(&m->value, data, len);
		return 0;
	case S_FILE: {
		int r = m->ops->file_data(m->user, data, len);
		return r < 0 ? cb_fail(m, r) : 0;
	}
	default: /* S_SKIP */
		return 0;
	}
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* As pve-http-server's trim(): surrounding whitespace goes. */
static void
trim(const char **s, size_t *len)
{
	while (*len > 0 && is_space((*s)[0])) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && is_space((*s)[*len - 1]))
		(*len)--;
}

/* A delimiter ended the content of the current state. */
static int
content_end(struct multipart *m)
{
	int r = 0;
	if (m->state == S_FIELD) {
		const char *v = sb_str(&m->value);
		size_t len = m->value.len;
		trim(&v, &len);
		r = m->ops->field(m->user, sb_str(&m->name), v, len);
	} else if (m->state == S_FILE) {
		r = m->ops->file_end(m->user);
	}
	if (r < 0)
		return cb_fail(m, r);
	m->state = S_TAIL;
	m->tail = TAIL_START;
	m->skipped = 0;
	return 0;
}

/* Content bytes up to the next delimiter. "\r" occurs in the delimiter only at its start,
 * so when a partial match fails none of the held-back bytes can start another match: they
 * are content, and the failing byte is looked at afresh. Returns bytes consumed. */
static ssize_t
scan_content(struct multipart *m, const char *d, size_t len)
{
	size_t i = 0;
	while (i < len) {
		int r;
		if (m->match == 0) {
			const char *cr = memchr(d + i, '\r', len - i);
			size_t n = cr ? (size_t)(cr - (d + i)) : len - i;
			if (n > 0 && (r = emit(m, d + i, n)) < 0)
				return r;
			i += n;
			if (!cr)
				break;
			m->match = 1;
			i++;
			continue;
		}
		if (d[i] == m->delim[m->match]) {
			i++;
			if (++m->match == m->dlen) {
				m->match = 0;
				m->at_start = false;
				r = content_end(m);
				return r < 0 ? r : (ssize_t)i;
			}
			continue;
		}
		/* at the very start the first two held-back bytes are the assumed CRLF */
		size_t skip = m->at_start ? 2 : 0;
		m->at_start = false;
		if ((r = emit(m, m->delim + skip, m->match - skip)) < 0)
			return r;
		m->match = 0;
	}
	return (ssize_t)i;
}

/* Content-Disposition: form-data; name="..."; filename="..." — values stay in hdr[]. Quoted
 * values are taken as they are up to the next quote, without backslash escapes: browsers
 * percent-encode quotes in names (HTML), and pve-http-server reads them the same way. */
static int
parse_disposition(struct multipart *m, char *v)
{
	size_t n = 0;
	while (http_is_tchar((unsigned char)v[n]))
		n++;
	char type[64];
	printable(v, type, MIN(n + 1, sizeof(type)));
	if (n != 9 || strncasecmp(v, "form-data", 9) != 0)
		return fail(m, "wrong Content-Disposition '%s' in multipart, expected 'form-data'",
		            type);
	char *s = v + n;
	bool consumed_sep = false; /* an unquoted value's ';' was replaced by its NUL */
	for (;;) {
		if (!consumed_sep) {
			while (is_ows(*s))
				s++;
			if (!*s)
				break;
			if (*s != ';')
				return fail(m, "invalid Content-Disposition in multipart");
			s++;
		}
		consumed_sep = false;
		while (is_ows(*s))
			s++;
		char *key = s;
		size_t k = 0;
		while (http_is_tchar((unsigned char)s[k]))
			k++;
		if (k == 0)
			return fail(m, "invalid Content-Disposition in multipart");
		s += k;
		while (is_ows(*s))
			s++;
		if (*s != '=')
			return fail(m, "invalid Content-Disposition in multipart");
		key[k] = '\0';
		s++;
		while (is_ows(*s))
			s++;
		char *value = s;
		if (*s == '"') {
			value = ++s;
			char *q = strchr(s, '"');
			if (!q)
				return fail(m, "invalid Content-Disposition in multipart");
			*q = '\0';
			s = q + 1;
		} else {
			size_t t = 0;
			while (http_is_tchar((unsigned char)s[t]))
				t++;
			if (t == 0 || (s[t] && s[t] != ';' && !is_ows(s[t])))
				return fail(m, "invalid Content-Disposition in multipart");
			consumed_sep = s[t] == ';';
			s += t;
			if (*s) {
				*s = '\0';
				s++;
			}
		}
		const char **slot = NULL;
		if (strcasecmp(key, "name") == 0)
			slot = &m->cd_name;
		else if (strcasecmp(key, "filename") == 0)
			slot = &m->cd_filename;
		if (!slot)
			continue; /* filename*, size, ...: not ours */
		if (*slot)
			return fail(m, "repeated '%s' in multipart Content-Disposition", key);
		*slot = value;
	}
	return 0;
}

/* A complete header line at hdr[line_start..hlen) with its CRLF. */
static int
header_line(struct multipart *m)
{
	char *line = m->hdr + m->line_start;
	size_t n = m->hlen - m->line_start;
	if (n < 2 || line[n - 2] != '\r')
		return fail(m, "bare LF in multipart part header");
	n -= 2;
	line[n] = '\0';
	if (n == 0)
		return 1; /* the end of the header section */
	if (is_ows(line[0]))
		return fail(m, "folded multipart part header");
	size_t k = 0;
	while (k < n && http_is_tchar((unsigned char)line[k]))
		k++;
	if (k == 0 || line[k] != ':')
		return fail(m, "invalid multipart part header");
	for (size_t i = k + 1; i < n; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c != '\t' && (c < 0x20 || c == 0x7f))
			return fail(m, "invalid multipart part header");
	}
	line[k] = '\0';
	if (strcasecmp(line, "content-disposition") != 0)
		return 0; /* Content-Type and the like: the bytes are stored as sent */
	if (m->seen_cd)
		return fail(m, "repeated Content-Disposition in multipart part");
	m->seen_cd = true;
	char *v = line + k + 1;
	while (is_ows(*v))
		v++;
	size_t vl = strlen(v);
	while (vl > 0 && is_ows(v[vl - 1]))
		v[--vl] = '\0';
	return parse_disposition(m, v);
}

/* The header section is complete: decide what the part is. */
static int
part_start(struct multipart *m)
{
	if (!m->seen_cd)
		return fail(m, "missing Content-Disposition in multipart part");
	const char *name = m->cd_name ? m->cd_name : "";
	char shown[64];
	printable(name, shown, sizeof(shown));
	if (m->seen_file) {
		m->state = S_SKIP; /* parts after the file are ignored */
		return 0;
	}
	if (m->cd_filename) {
		if (!streq(name, "filename"))
			return fail(m, "wrong field name '%s' for file upload, expected 'filename'",
			            shown);
		const char *f = m->cd_filename;
		size_t len = strlen(f);
		trim(&f, &len);
		if (len == 0)
			return fail(m, "missing file name in multipart upload");
		_cleanup_free_ char *filename = xstrndup(f, len);
		m->seen_file = true;
		m->state = S_FILE;
		int r = m->ops->file_begin(m->user, filename);
		return r < 0 ? cb_fail(m, r) : 0;
	}
	if (!*name)
		return fail(m, "missing field name in multipart part");
	if (streq(name, "filename"))
		return fail(m, "multipart field 'filename' must be a file");
	m->fields += strlen(name);
	if (m->fields > MP_MAX_FIELDS)
		return fail(m, "multipart form fields too large");
	sb_reset(&m->name);
	sb_puts(&m->name, name);
	sb_reset(&m->value);
	m->state = S_FIELD;
	return 0;
}

static ssize_t
scan_headers(struct multipart *m, const char *d, size_t len)
{
	size_t i = 0;
	while (i < len) {
		if (m->hlen >= MP_MAX_HEADER)
			return fail(m, "multipart part header too large");
		char c = d[i++];
		m->hdr[m->hlen++] = c;
		if (c != '\n')
			continue;
		int r = header_line(m);
		m->line_start = m->hlen;
		if (r < 0)
			return r;
		if (r > 0) {
			r = part_start(m);
			return r < 0 ? r : (ssize_t)i;
		}
	}
	return (ssize_t)i;
}

static void
headers_begin(struct multipart *m)
{
	m->state = S_HEADERS;
	m->hlen = 0;
	m->line_start = 0;
	m->seen_cd = false;
	m->cd_name = m->cd_filename = NULL;
}

/* The rest of a boundary line: "--" ends the body, otherwise blanks and CRLF. */
static ssize_t
scan_tail(struct multipart *m, const char *d, size_t len)
{
	size_t i = 0;
	while (i < len) {
		char c = d[i++];
		switch (m->tail) {
		case TAIL_START:
			if (c == '-') {
				m->tail = TAIL_DASH;
				continue;
			}
			_fallthrough_; /* blanks or CR */
		case TAIL_BLANKS:
			if (is_ows(c)) {
				m->tail = TAIL_BLANKS;
				if (++m->skipped > MP_MAX_PADDING)
					return fail(m, "malformed multipart boundary line");
			} else if (c == '\r') {
				m->tail = TAIL_CR;
			} else {
				return fail(m, "malformed multipart boundary line");
			}
			continue;
		case TAIL_DASH:
			if (c != '-')
				return fail(m, "malformed multipart boundary line");
			if (!m->seen_file)
				return fail(m, "missing file part 'filename' in multipart upload");
			m->state = S_EPILOGUE;
			return (ssize_t)len; /* the epilogue is ignored */
		case TAIL_CR:
			if (c != '\n')
				return fail(m, "malformed multipart boundary line");
			headers_begin(m);
			return (ssize_t)i;
		}
	}
	return (ssize_t)i;
}

int
multipart_feed(struct multipart *m, const void *data, size_t len)
{
	const char *d = data;
	size_t off = 0;
	while (off < len) {
		ssize_t n;
		switch (m->state) {
		case S_PREAMBLE:
		case S_FIELD:
		case S_FILE:
		case S_SKIP:
			n = scan_content(m, d + off, len - off);
			break;
		case S_TAIL:
			n = scan_tail(m, d + off, len - off);
			break;
		case S_HEADERS:
			n = scan_headers(m, d + off, len - off);
			break;
		case S_EPILOGUE:
			return 0;
		default:
			return -EBADMSG;
		}
		if (n < 0)
			return (int)n;
		off += (size_t)n;
	}
	return m->state == S_ERROR ? -EBADMSG : 0;
}

int
multipart_finish(struct multipart *m)
{
	if (m->state == S_ERROR)
		return -EBADMSG;
	if (m->state == S_EPILOGUE)
		return 0;
	if (m->state == S_PREAMBLE)
		return fail(m, "missing multipart boundary");
	return fail(m, "unterminated multipart body");
}
