/* Helpers shared by the store's unit tests: scratch directories, pipes with deadlines. */
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "basic/fileio.h"
#include "basic/strbuf.h"
#include "store/store.h"

#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

struct scratch {
	char dir[128];
	char db[192];
	char locks[192];
};

static inline int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static inline int
scratch_setup(void **state)
{
	struct scratch *sc = xcalloc(1, sizeof(*sc));
	const char *tmp = getenv("TMPDIR");
	snprintf(sc->dir, sizeof(sc->dir), "%s/berth-store-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(sc->dir))
		return -1;
	snprintf(sc->db, sizeof(sc->db), "%s/config.db", sc->dir);
	snprintf(sc->locks, sizeof(sc->locks), "%s/lock", sc->dir);
	*state = sc;
	return 0;
}

static inline int
scratch_teardown(void **state)
{
	struct scratch *sc = *state;
	int r = nftw(sc->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(sc);
	return r;
}

static inline struct store *
open_ok(const struct scratch *sc)
{
	struct error err = { 0 };
	struct store *s = NULL;
	int r = store_open(sc->db, sc->locks, &s, &err);
	if (r < 0)
		fail_msg("store_open: %d %s", r, err.msg);
	assert_false(error_is_set(&err));
	return s;
}

static inline int64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read exactly len bytes within timeout_ms: 0, -EPIPE at EOF, -ETIMEDOUT. */
static inline int
read_deadline(int fd, void *buf, size_t len, int timeout_ms)
{
	int64_t deadline = mono_ms() + timeout_ms;
	char *p = buf;
	while (len > 0) {
		int64_t left = deadline - mono_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int n = poll(&pfd, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? -ETIMEDOUT : -errno;
		ssize_t got = read(fd, p, len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			return -EPIPE;
		p += got;
		len -= (size_t)got;
	}
	return 0;
}

/* Wait for a child with a deadline; returns its wait status, or kills it and fails. */
static inline int
wait_child(pid_t pid, int timeout_ms)
{
	int64_t deadline = mono_ms() + timeout_ms;
	for (;;) {
		int status;
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		assert_int_equal(r, 0);
		if (mono_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fail_msg("child %d did not finish in %d ms", (int)pid, timeout_ms);
		}
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
}

static inline void
assert_child_exited_ok(pid_t pid, int timeout_ms)
{
	int status = wait_child(pid, timeout_ms);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("child %d ended with status 0x%x", (int)pid, status);
}

#include <openssl/evp.h>

/* The digest computed independently of the store, for comparison. */
static inline void
sha1_hex_of(const void *data, size_t len, char out[STORE_DIGEST_LEN + 1])
{
	static const char hexd[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	size_t mdlen = 0;
	assert_int_equal(EVP_Q_digest(NULL, "SHA1", NULL, data, len, md, &mdlen), 1);
	assert_int_equal(mdlen, 20);
	for (size_t i = 0; i < mdlen; i++) {
		out[2 * i] = hexd[md[i] >> 4];
		out[2 * i + 1] = hexd[md[i] & 15];
	}
	out[2 * mdlen] = '\0';
}
