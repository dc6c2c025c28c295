/* File uploads (POST .../storage/{storage}/upload): the multipart body is streamed into an
 * unlinked temporary file, its fields are collected urlencoded for the final request. */
#include "proxy-internal.h"

#include <fcntl.h>
#include <stdio.h>

static void
form_append(struct strbuf *sb, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~') {
			sb_putc(sb, (char)c);
		} else {
			sb_putc(sb, '%');
			sb_putc(sb, hex[c >> 4]);
			sb_putc(sb, hex[c & 15]);
		}
	}
}

static void
form_pair(struct upload *u, const char *name, const char *value, size_t len)
{
	if (u->form.len > 0)
		sb_putc(&u->form, '&');
	form_append(&u->form, name, strlen(name));
	sb_putc(&u->form, '=');
	form_append(&u->form, value, len);
}

static int
on_field(void *user, const char *name, const char *value, size_t len)
{
	form_pair(user, name, value, len);
	return 0;
}

static int
on_file_begin(void *user, const char *filename)
{
	form_pair(user, "filename", filename, strlen(filename));
	return 0;
}

static int
on_file_data(void *user, const void *data, size_t len)
{
	struct upload *u = user;
	const char *d = data;
	while (len > 0) {
		ssize_t n = write(u->fd, d, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int r = n < 0 ? negative_errno() : -EIO;
			snprintf(u->error, sizeof(u->error), "error writing upload: %s",
			         strerror(-r));
			return r;
		}
		d += n;
		len -= (size_t)n;
		u->size += (uint64_t)n;
	}
	return 0;
}

static int
on_file_end(void *user)
{
	return 0;
}

static const struct multipart_ops upload_ops = {
	.field = on_field,
	.file_begin = on_file_begin,
	.file_data = on_file_data,
	.file_end = on_file_end,
};

struct upload *
upload_new(const char *boundary)
{
	struct upload *u = xcalloc(1, sizeof(*u));
	u->fd = -1;
	multipart_init(&u->mp, boundary, &upload_ops, u);
	return u;
}

int
upload_open(struct upload *u, int dir_fd)
{
	/* never linked: whatever happens, nothing is left behind */
	u->fd = openat(dir_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (u->fd < 0) {
		int r = negative_errno();
		snprintf(u->error, sizeof(u->error), "unable to create temporary upload file - %s",
		         strerror(-r));
		return r;
	}
	return 0;
}

int
upload_feed(struct upload *u, const void *data, size_t len)
{
	int r = multipart_feed(&u->mp, data, len);
	if (r == -EBADMSG)
		snprintf(u->error, sizeof(u->error), "%s", u->mp.error);
	return r;
}

int
upload_finish(struct upload *u)
{
	int r = multipart_finish(&u->mp);
	if (r < 0) {
		snprintf(u->error, sizeof(u->error), "%s", u->mp.error);
		return r;
	}
	/* the root daemon reads the file from its start (the offset is shared) */
	if (lseek(u->fd, 0, SEEK_SET) < 0) {
		r = negative_errno();
		snprintf(u->error, sizeof(u->error), "error writing upload: %s", strerror(-r));
		return r;
	}
	return 0;
}

struct upload *
upload_free(struct upload *u)
{
	if (!u)
		return NULL;
	if (u->fd >= 0)
		close(u->fd);
	multipart_done(&u->mp);
	sb_free(&u->form);
	free(u);
	return NULL;
}
