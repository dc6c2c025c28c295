/* Static UI files under --www: opened beneath the directory without following any symlink
 * (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS, or an O_NOFOLLOW walk on old kernels). */
#include "proxy-internal.h"

#include "http-response.h"

#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>

/* O_NONBLOCK: a FIFO planted in the tree must not block the loop in open(2). */
#define STATIC_OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)

static int
open_walk(int dirfd, const char *rel)
{
	_cleanup_close_ int cur = -1;
	int at = dirfd;
	const char *s = rel;
	for (;;) {
		const char *slash = strchr(s, '/');
		if (!slash) {
			int fd = openat(at, s, STATIC_OPEN_FLAGS | O_NOFOLLOW);
			return fd < 0 ? negative_errno() : fd;
		}
		char name[NAME_MAX + 1];
		size_t n = (size_t)(slash - s);
		if (n > NAME_MAX)
			return -ENAMETOOLONG;
		memcpy(name, s, n);
		name[n] = '\0';
		int next = openat(at, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			return negative_errno();
		closep(&cur);
		cur = next;
		at = cur;
		s = slash + 1;
	}
}

static int
open_beneath(int dirfd, const char *rel)
{
	struct open_how how = {
		.flags = STATIC_OPEN_FLAGS,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
	if (fd >= 0)
		return (int)fd;
	if (errno != ENOSYS)
		return negative_errno();
	/* before Linux 5.6; static_relpath() already refused "..", so the walk stays below */
	return open_walk(dirfd, rel);
}

/* The regular file rel names beneath dirfd, or -ENOENT for anything that must look absent. */
static int
open_regular(int dirfd, const char *rel, struct stat *st)
{
	_cleanup_close_ int fd = open_beneath(dirfd, rel);
	if (fd < 0) {
		switch (fd) {
		case -ENOENT:
		case -ENOTDIR:
		case -ELOOP: /* a symlink */
		case -EXDEV: /* escaping the directory */
		case -EACCES:
		case -EPERM:
		case -EISDIR:
		case -ENAMETOOLONG:
			return -ENOENT;
		default:
			return fd;
		}
	}
	if (fstat(fd, st) < 0)
		return negative_errno();
	if (!S_ISREG(st->st_mode))
		return -ENOENT;
	return TAKE_FD(fd);
}

int
static_open(int www_fd, const char *decoded, bool gzip, struct static_file *ret)
{
	const char *rel = static_relpath(decoded);
	if (!rel)
		return -ENOENT;
	struct stat st;
	_cleanup_close_ int fd = open_regular(www_fd, rel, &st);
	if (fd < 0)
		return fd;

	ret->encoding = NULL;
	ret->compressible = false;
	char gz[PATH_MAX];
	if (!endswith(rel, ".gz") && snprintf(gz, sizeof(gz), "%s.gz", rel) < (int)sizeof(gz)) {
		struct stat gst;
		int gfd = gzip ? open_regular(www_fd, gz, &gst) : -ENOENT;
		if (gfd >= 0) {
			close(fd);
			fd = gfd;
			st = gst;
			ret->encoding = "gzip";
			ret->compressible = true;
		} else {
			/* only for Vary: whether a client that accepts gzip would get other bytes
			 */
			ret->compressible = faccessat(www_fd, gz, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
		}
	}

	ret->size = (uint64_t)st.st_size;
	ret->content_type = static_content_type(rel);
	ret->cache_control = static_cache_control(rel);
	snprintf(ret->etag, sizeof(ret->etag), "\"%" PRIx64 "-%" PRIx64 "%s\"", ret->size,
	         (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec,
	         ret->encoding ? "-gz" : "");
	http_format_date(st.st_mtim.tv_sec, ret->last_modified);
	ret->fd = TAKE_FD(fd);
	return 0;
}
