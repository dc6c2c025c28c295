/* A growable byte buffer, always NUL-terminated. Allocation failure aborts (the daemon cannot
 * do anything useful without memory, and every caller checking would hide real errors). */
#pragma once

#include "macros.h"

#include <stdarg.h>

struct strbuf {
	char *buf; /* NULL until the first append */
	size_t len;
	size_t cap;
};

#define STRBUF_INIT                                                                                \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

void sb_grow(struct strbuf *sb, size_t extra);
void sb_append(struct strbuf *sb, const void *data, size_t len);
void sb_puts(struct strbuf *sb, const char *s);
void sb_putc(struct strbuf *sb, char c);
void sb_printf(struct strbuf *sb, const char *fmt, ...) _printf_(2, 3);
void sb_vprintf(struct strbuf *sb, const char *fmt, va_list ap);
/* Drop the first n bytes. */
void sb_consume(struct strbuf *sb, size_t n);
void sb_reset(struct strbuf *sb);
/* Hand the buffer to the caller (never NULL: "" when empty) and reset. */
char *sb_steal(struct strbuf *sb);
void sb_free(struct strbuf *sb);

/* The contents as a C string ("" when empty). */
static inline const char *
sb_str(const struct strbuf *sb)
{
	return sb->buf ? sb->buf : "";
}

static inline void
sb_freep(struct strbuf *sb)
{
	sb_free(sb);
}
#define _cleanup_strbuf_ _cleanup_(sb_freep)

/* Abort with a message; used for allocation failure. */
_noreturn_ void oom(void);
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) _printf_(1, 2);
