/* Per-path advisory locks across processes: flock on one file per store path in lock_dir. */
#include "store-internal.h"

#include "basic/clock.h"
#include "basic/strbuf.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

/* flock has no timeout and an alarm signal would be process-wide, so a waiter polls with a
 * backoff that starts short (a lock is usually held for one read-modify-write) and stays
 * well under the timeouts callers pass. */
#define POLL_MIN_NS (250 * 1000L)
#define POLL_MAX_NS (20 * 1000 * 1000L)

struct store_lock {
	int fd;
};

/* Lock files are kept, never unlinked: removing one while another process waits on it
 * would let two processes hold "the" lock on different inodes. */
static int
open_lock_file(struct store *s, const char *path)
{
	/* ':' never occurs in a store path, so the name is one-to-one with the path, one
	 * component and at most STORE_PATH_MAX (= NAME_MAX) bytes */
	char name[STORE_PATH_MAX + 1];
	size_t i;
	for (i = 0; path[i]; i++)
		name[i] = path[i] == '/' ? ':' : path[i];
	name[i] = '\0';

	_cleanup_close_ int fd =
	        openat(store_lock_dirfd(s), name,
	               O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd < 0)
		return negative_errno();
	struct stat st;
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	/* the umask may have taken bits we want; never leave more than 0600 */
	if ((st.st_mode & 07777) != 0600 && st.st_uid == geteuid() && fchmod(fd, 0600) < 0)
		return negative_errno();
	return TAKE_FD(fd);
}

int
store_lock(struct store *s, const char *path, int timeout_ms, struct store_lock **ret)
{
	if (!s || !ret || timeout_ms < 0 || !store_path_valid(path))
		return -EINVAL;
	_cleanup_close_ int fd = open_lock_file(s, path);
	if (fd < 0)
		return fd;

	int64_t deadline = monotonic_ns() + (int64_t)timeout_ms * 1000000;
	long delay = POLL_MIN_NS;
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK)
			return negative_errno();
		int64_t left = deadline - monotonic_ns();
		if (left <= 0)
			return -ETIMEDOUT;
		struct timespec ts = { 0, (long)MIN((int64_t)delay, left) };
		(void)nanosleep(&ts, NULL);
		delay = MIN(delay * 2, POLL_MAX_NS);
	}

	struct store_lock *l = xmalloc(sizeof(*l));
	l->fd = TAKE_FD(fd);
	*ret = l;
	return 0;
}

void
store_unlock(struct store_lock *l)
{
	if (!l)
		return;
	/* explicit, because a child forked meanwhile shares the open file description and
	 * closing our descriptor alone would leave the lock held */
	(void)flock(l->fd, LOCK_UN);
	close(l->fd);
	free(l);
}
