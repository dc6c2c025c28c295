/* Task log files: final status lines, last-line reads and windowed line reads. */
#include "task-private.h"
#include "task.h"

#include "basic/encoding.h"
#include "basic/fileio.h"
#include "basic/strbuf.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

/* A last line longer than this cannot be a status line we wrote; stop reading backwards
 * instead of loading a huge log into memory. */
#define LAST_LINE_MAX (1u << 20)

enum task_final
task_line_final(const char *line, char **ret_status)
{
	enum task_final kind = TASK_FINAL_NONE;
	const char *status = "unexpected status";

	if (streq(line, "TASK OK")) {
		kind = TASK_FINAL_OK;
		status = "OK";
	} else if (startswith(line, "TASK ERROR: ") && line[12] != '\0') {
		kind = TASK_FINAL_ERROR;
		status = line + 12;
	} else if (startswith(line, "TASK WARNINGS: ") && line[15] != '\0' &&
	           strspn(line + 15, "0123456789") == strlen(line + 15)) {
		kind = TASK_FINAL_WARNINGS;
		status = line + 5;
	}
	if (ret_status)
		*ret_status = xstrdup(status);
	return kind;
}

int
task_fd_last_line(int fd, char **ret)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return negative_errno();
	size_t size = (size_t)st.st_size;

	/* read a growing tail window until it holds a line start or the whole file */
	for (size_t window = 4096;; window *= 2) {
		size_t n = MIN(window, size);
		_cleanup_free_ char *buf = xmalloc(n + 1);
		ssize_t k = pread(fd, buf, n, (off_t)(size - n));
		if (k < 0)
			return negative_errno();
		n = (size_t)k; /* the file may have shrunk meanwhile */
		buf[n] = '\0';
		size_t end = n;
		if (end > 0 && buf[end - 1] == '\n')
			end--; /* a trailing newline ends the last line, it does not start one */
		buf[end] = '\0';
		char *nl = memrchr(buf, '\n', end);
		if (nl) {
			*ret = xstrdup(nl + 1);
			return 0;
		}
		if (n >= size || k < (ssize_t)MIN(window, size)) {
			*ret = TAKE_PTR(buf);
			return 0;
		}
		if (window >= LAST_LINE_MAX)
			return -EFBIG;
	}
}

int
task_fd_append_line(int fd, const char *line)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return negative_errno();

	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	if (st.st_size > 0) {
		char last;
		ssize_t k = pread(fd, &last, 1, st.st_size - 1);
		if (k < 0)
			return negative_errno();
		if (k == 1 && last != '\n')
			sb_putc(&sb, '\n');
	}
	sb_puts(&sb, line);
	sb_putc(&sb, '\n');
	/* one write: with O_APPEND the line lands whole even if someone else writes too */
	return write_all(fd, sb.buf, sb.len);
}

char *
task_one_line(const char *msg)
{
	size_t len = strlen(msg);
	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		len--;
	char *s = xstrndup(msg, len);
	for (char *p = s; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	/* the status ends up in JSON: keep it valid UTF-8 whatever bytes the error carried */
	if (!utf8_valid(s, strlen(s)))
		for (char *p = s; *p; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
	return s;
}

char *
task_status_from_log(const char *log_path)
{
	_cleanup_close_ int fd = open(log_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		/* PVE: a missing log reads as undef, which matches no status line */
		if (errno == ENOENT)
			return xstrdup("unexpected status");
		return xasprintf("unable to get last line from task log - %s", strerror(errno));
	}
	_cleanup_free_ char *line = NULL;
	int r = task_fd_last_line(fd, &line);
	if (r < 0)
		return xasprintf("unable to get last line from task log - %s", strerror(-r));
	char *status;
	task_line_final(line, &status);
	return status;
}

int
task_log_read_lines(const char *path, size_t start, size_t limit, char ***ret_lines,
                    size_t *ret_total)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return negative_errno();
	FILE *f = fdopen(fd, "r");
	if (!f)
		return negative_errno();
	TAKE_FD(fd);

	/* PVE's dump_logfile: count every line, keep [start, start+limit); limit 0 = no limit */
	char **lines = xcalloc(1, sizeof(char *));
	size_t n = 0, total = 0;
	_cleanup_free_ char *buf = NULL;
	size_t cap = 0;
	ssize_t len;
	while ((len = getline(&buf, &cap, f)) >= 0) {
		total++;
		if (total <= start || (limit > 0 && n >= limit))
			continue;
		if (len > 0 && buf[len - 1] == '\n')
			buf[--len] = '\0';
		lines = xrealloc(lines, (n + 2) * sizeof(char *));
		lines[n++] = xstrndup(buf, (size_t)len);
		lines[n] = NULL;
	}
	int r = ferror(f) ? -EIO : 0;
	fclose(f);
	if (r < 0) {
		taskmgr_lines_free(lines);
		return r;
	}
	*ret_lines = lines;
	*ret_total = total;
	return 0;
}

void
taskmgr_lines_free(char **lines)
{
	if (!lines)
		return;
	for (char **p = lines; *p; p++)
		free(*p);
	free(lines);
}
