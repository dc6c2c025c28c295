/* The error object (see error.h). */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>

static void
set_va(struct error *e, int code, const char *fmt, va_list ap)
{
	e->code = code > 0 ? code : EIO;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
}

int
error_set(struct error *e, int code, const char *fmt, ...)
{
	if (code <= 0)
		code = EIO;
	if (e) {
		va_list ap;
		va_start(ap, fmt);
		set_va(e, code, fmt, ap);
		va_end(ap);
		e->status = 0;
	}
	return -code;
}

int
error_set_status(struct error *e, int status, int code, const char *fmt, ...)
{
	if (code <= 0)
		code = EIO;
	if (e) {
		va_list ap;
		va_start(ap, fmt);
		set_va(e, code, fmt, ap);
		va_end(ap);
		e->status = status;
	}
	return -code;
}

int
error_prefix(struct error *e, const char *fmt, ...)
{
	if (!e)
		return -EIO;
	char prefix[ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	/* "<prefix> - <old message>", truncated to fit */
	size_t plen = strlen(prefix), olen = strlen(e->msg);
	size_t room = sizeof(e->msg) - 1;
	size_t head = MIN(plen + 3, room);
	size_t keep = MIN(olen, room - head);
	memmove(e->msg + head, e->msg, keep);
	memcpy(e->msg, prefix, MIN(plen, head));
	if (head > plen)
		memcpy(e->msg + plen, " - ", head - plen);
	e->msg[head + keep] = '\0';
	if (e->code == 0)
		e->code = EIO;
	return -e->code;
}

int
error_errno(struct error *e, int r, const char *fmt, ...)
{
	if (r >= 0)
		r = -EIO;
	if (e) {
		char what[ERROR_MSG_MAX / 2];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(what, sizeof(what), fmt, ap);
		va_end(ap);
		snprintf(e->msg, sizeof(e->msg), "%s: %s", what, strerror(-r));
		e->code = -r;
		e->status = 0;
	}
	return r;
}
