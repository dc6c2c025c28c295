/* UPID encoding and decoding, byte-compatible with PVE::UPID. */
#include "basic/encoding.h"
#include "upid.h"

#include "basic/strbuf.h"

#include <limits.h>
#include <stdio.h>

/* Perl's \s on byte strings: space, \t, \n, \v, \f, \r. */
static bool
is_perl_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static bool
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* [a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])? over s[0..len) */
static bool
node_valid(const char *s, size_t len)
{
	if (len == 0 || !is_alnum(s[0]) || !is_alnum(s[len - 1]))
		return false;
	for (size_t i = 1; i + 1 < len; i++)
		if (!is_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

/* [^:\s/]* over s[0..len) */
static bool
field_valid(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] == ':' || s[i] == '/' || is_perl_space(s[i]))
			return false;
	return true;
}

/* Take the field up to the next ':' and step past it; false if there is no ':'. */
static bool
next_field(const char **p, const char **ret_start, size_t *ret_len)
{
	const char *colon = strchr(*p, ':');
	if (!colon)
		return false;
	*ret_start = *p;
	*ret_len = (size_t)(colon - *p);
	*p = colon + 1;
	return true;
}

static bool
parse_hex(const char *s, size_t len, size_t min_digits, size_t max_digits, unsigned long long *ret)
{
	if (len < min_digits || len > max_digits)
		return false;
	unsigned long long v = 0;
	for (size_t i = 0; i < len; i++) {
		int d = hex_digit(s[i]);
		if (d < 0)
			return false;
		v = v << 4 | (unsigned)d;
	}
	*ret = v;
	return true;
}

static bool
copy_field(char *dst, size_t dst_max, const char *s, size_t len)
{
	if (len > dst_max)
		return false;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return true;
}

int
upid_parse(const char *s, struct upid *ret)
{
	struct upid u = { 0 };
	const char *p, *f;
	size_t len;
	unsigned long long v;

	if (!s || !startswith(s, "UPID:"))
		return -EINVAL;
	p = s + 5;

	if (!next_field(&p, &f, &len) || !node_valid(f, len) ||
	    !copy_field(u.node, UPID_NODE_MAX, f, len))
		return -EINVAL;

	/* PVE accepts any 8 hex digits; a pid that does not fit pid_t cannot be a process */
	if (!next_field(&p, &f, &len) || !parse_hex(f, len, 8, 8, &v) || v > INT_MAX)
		return -EINVAL;
	u.pid = (pid_t)v;

	/* 9 digits: pstart passes 2^32 clock ticks after ~497 days of uptime */
	if (!next_field(&p, &f, &len) || !parse_hex(f, len, 8, 9, &u.pstart))
		return -EINVAL;

	if (!next_field(&p, &f, &len) || !parse_hex(f, len, 8, 8, &v))
		return -EINVAL;
	u.starttime = (time_t)v;

	if (!next_field(&p, &f, &len) || len == 0 || !field_valid(f, len) ||
	    !copy_field(u.type, UPID_TYPE_MAX, f, len))
		return -EINVAL;
	if (!next_field(&p, &f, &len) || !field_valid(f, len) ||
	    !copy_field(u.id, UPID_ID_MAX, f, len))
		return -EINVAL;
	if (!next_field(&p, &f, &len) || len == 0 || !field_valid(f, len) ||
	    !copy_field(u.user, UPID_USER_MAX, f, len))
		return -EINVAL;

	/* the trailing colon ends the string: Perl's `$` would also allow a final "\n", but a
	 * UPID with a newline must never become a file name or a log line */
	if (*p != '\0')
		return -EINVAL;

	*ret = u;
	return 0;
}

int
upid_format(const struct upid *u, char **ret)
{
	if (u->pid < 0 || u->pstart > 0xFFFFFFFFFULL || u->starttime < 0 ||
	    (unsigned long long)u->starttime > 0xFFFFFFFFULL)
		return -EINVAL;

	_cleanup_free_ char *s =
	        xasprintf("UPID:%s:%08X:%08llX:%08llX:%s:%s:%s:", u->node, (unsigned)u->pid,
	                  u->pstart, (unsigned long long)u->starttime, u->type, u->id, u->user);
	/* encode only what decodes to the same task: the parser is the single definition of
	 * a valid field */
	struct upid check;
	if (upid_parse(s, &check) < 0 || !streq(check.node, u->node) ||
	    !streq(check.type, u->type) || !streq(check.id, u->id) || !streq(check.user, u->user))
		return -EINVAL;
	*ret = TAKE_PTR(s);
	return 0;
}

char *
upid_log_relpath(const char *upid_text, const struct upid *u)
{
	/* the text becomes a file name: it must be a valid UPID whatever the caller parsed */
	struct upid parsed;
	if (upid_parse(upid_text, &parsed) < 0)
		return NULL;
	(void)u;
	return xasprintf("%X/%s", (unsigned)(parsed.starttime & 0xF), upid_text);
}
