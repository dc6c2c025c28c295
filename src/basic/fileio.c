/* Whole-file reads, durable atomic writes, directories and small /proc helpers. */
#include "fileio.h"
#include "strbuf.h"

#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <sys/stat.h>

int
read_file_at(int dirfd, const char *path, size_t max, char **ret_data, size_t *ret_len)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return negative_errno();

	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	for (;;) {
		sb_grow(&sb, 4096);
		ssize_t n = read(fd, sb.buf + sb.len, sb.cap - sb.len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (n == 0)
			break;
		sb.len += (size_t)n;
		sb.buf[sb.len] = '\0';
		if (sb.len > max)
			return -EFBIG;
	}
	if (ret_len)
		*ret_len = sb.len;
	*ret_data = sb_steal(&sb);
	return 0;
}

int
read_file(const char *path, size_t max, char **ret_data, size_t *ret_len)
{
	return read_file_at(AT_FDCWD, path, max, ret_data, ret_len);
}

int
write_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
read_exact(int fd, void *data, size_t len)
{
	char *p = data;
	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (n == 0)
			return -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
replace_file(const char *path, const void *data, size_t len, mode_t mode, bool durable)
{
	_cleanup_free_ char *dir_copy = xstrdup(path);
	const char *dir = dirname(dir_copy);
	_cleanup_free_ char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());

	_cleanup_close_ int fd =
	        open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return negative_errno();
	int r = write_all(fd, data, len);
	if (r >= 0 && fchmod(fd, mode) < 0)
		r = negative_errno();
	if (r >= 0 && durable && fsync(fd) < 0)
		r = negative_errno();
	if (r >= 0 && rename(tmp, path) < 0)
		r = negative_errno();
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	if (!durable)
		return 0;
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0)
		(void)fsync(dfd);
	return 0;
}

int
write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	return replace_file(path, data, len, mode, true);
}

int
write_file_replace(const char *path, const void *data, size_t len, mode_t mode)
{
	return replace_file(path, data, len, mode, false);
}

int
mkdir_p(const char *path, mode_t mode)
{
	_cleanup_free_ char *p = xstrdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return negative_errno();
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return negative_errno();
	return 0;
}

int
fd_cloexec(int fd, bool on)
{
	int flags = fcntl(fd, F_GETFD);
	if (flags < 0)
		return negative_errno();
	flags = on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC;
	return fcntl(fd, F_SETFD, flags) < 0 ? negative_errno() : 0;
}

int
fd_nonblock(int fd, bool on)
{
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0)
		return negative_errno();
	flags = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, flags) < 0 ? negative_errno() : 0;
}

int
proc_start_time(pid_t pid, unsigned long long *ret)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	_cleanup_free_ char *data = NULL;
	int r = read_file(path, 4096, &data, NULL);
	if (r < 0)
		return r;
	/* the command name may contain spaces and parentheses: skip to the last ')' */
	char *p = strrchr(data, ')');
	if (!p)
		return -EBADMSG;
	p++;
	/* field 3 (state) follows; start time is field 22 */
	for (int field = 3; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return -EBADMSG;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(p + 1, &end, 10);
	if (errno || end == p + 1)
		return -EBADMSG;
	*ret = v;
	return 0;
}

bool
proc_alive(pid_t pid, unsigned long long pstart)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	_cleanup_free_ char *data = NULL;
	unsigned long long s;
	if (pid <= 0 || read_file(path, 4096, &data, NULL) < 0)
		return false;
	const char *p = strrchr(data, ')');
	/* a zombie has exited: it only waits for its parent to reap it */
	if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
		return false;
	if (proc_start_time(pid, &s) < 0)
		return false;
	return s == pstart;
}
