/* The error object: filled once where an error starts, given context on the way up.
 *
 * Fallible functions return int: >= 0 success, -errno failure. Where a person will read
 * the reason (storage, guests, API), the function also takes a `struct error *` and fills it;
 * callers add context with error_prefix(). The API layer maps `status` (an HTTP status, 0 =
 * unset = 500) and `msg` to the Proxmox status line. */
#pragma once

#include "macros.h"

#define ERROR_MSG_MAX 1024

struct error {
	int code;   /* positive errno, 0 when no error */
	int status; /* HTTP status the API should answer with; 0 means 500 */
	char msg[ERROR_MSG_MAX];
};

/* Set the message (printf-style); returns -code so callers can `return error_set(...)`. */
int error_set(struct error *e, int code, const char *fmt, ...) _printf_(3, 4);
/* As error_set, with an explicit HTTP status (400, 403, 501, ...). */
int error_set_status(struct error *e, int status, int code, const char *fmt, ...) _printf_(4, 5);
/* Prepend context: "unable to create VM 100 - <old message>". Returns -code. */
int error_prefix(struct error *e, const char *fmt, ...) _printf_(2, 3);
/* Set from a plain -errno with a short context: "<what>: <strerror>". Returns r. */
int error_errno(struct error *e, int r, const char *fmt, ...) _printf_(3, 4);

static inline void
error_clear(struct error *e)
{
	if (e) {
		e->code = 0;
		e->status = 0;
		e->msg[0] = '\0';
	}
}

static inline bool
error_is_set(const struct error *e)
{
	return e && e->code != 0;
}
