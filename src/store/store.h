/* The config store: text files by path, each with a version and the SHA-1 digest of its
 * content, as Proxmox VE's /etc/pve. One interface; the backend here is SQLite (WAL,
 * synchronous=FULL, file mode 0600). A later cluster backend implements the same calls.
 *
 * Paths are relative, '/'-separated, made of [A-Za-z0-9._-] components (no empty, "." or
 * ".." component), at most STORE_PATH_MAX bytes: "user.cfg", "nodes/pve/lxc/101.conf",
 * "priv/token.cfg". Contents are bytes (normally UTF-8 text) up to STORE_DATA_MAX.
 *
 * Several processes may open the same store (the daemon and its task workers); SQLite's
 * locking serialises writers. An acknowledged write (the call returned >= 0) is durable:
 * it survives kill -9 of any process and power loss.
 *
 * After a failed commit the handle latches: every later write returns -EROFS until the
 * process reopens the store (restart), because SQLite's state is no longer trusted.
 *
 * A handle is used by one thread at a time and belongs to the process that opened it:
 * SQLite keeps per-process lock state, so a forked child must neither use nor close an
 * inherited handle, and opens its own only after exec (or when the parent held none). */
#pragma once

#include "basic/error.h"

#include <stdint.h>

#define STORE_PATH_MAX   255
#define STORE_DATA_MAX   (8u << 20)
#define STORE_DIGEST_LEN 40 /* hex SHA-1 */

struct store;

struct store_file {
	char *data; /* NUL-terminated; len excludes the NUL */
	size_t len;
	uint64_t version; /* store-wide counter value at the file's last write: strictly grows */
	int64_t mtime;    /* unix seconds of the last write */
	char digest[STORE_DIGEST_LEN + 1];
};

void store_file_done(struct store_file *f);

/* Open (creating if needed) the store at db_path; per-path lock files live in lock_dir
 * (created 0700 if missing). */
int store_open(const char *db_path, const char *lock_dir, struct store **ret, struct error *err);
void store_close(struct store *s);

/* How long a call waits for another process's write transaction before -EBUSY (default
 * STORE_BUSY_TIMEOUT_MS). Tools and tests may shorten it. */
#define STORE_BUSY_TIMEOUT_MS 10000
int store_set_busy_timeout(struct store *s, int timeout_ms);

/* True if path is acceptable (see the rules above). */
bool store_path_valid(const char *path);

/* Read a file: -ENOENT if absent, -EINVAL for an invalid path. ret may be NULL to test
 * existence; otherwise release it with store_file_done(). */
int store_read(struct store *s, const char *path, struct store_file *ret);

/* Write a whole file.
 * expect_digest: NULL = unconditional; "" = the file must not exist (else -EEXIST);
 *                40 hex = the current digest must equal it (else -ESTALE; -ENOENT if absent).
 * On success the new version, digest and mtime are stored in ret_meta when non-NULL (its
 * data and len are left untouched, so it may be the store_file the caller read).
 * expect_digest may be upper- or lower-case hex.
 * -EINVAL bad path or data too large, -EROFS latched, -EBUSY database locked too long. */
int store_write(struct store *s, const char *path, const void *data, size_t len,
                const char *expect_digest, struct store_file *ret_meta);

/* Delete a file (expect_digest as for store_write, "" not allowed). -ENOENT if absent. */
int store_delete(struct store *s, const char *path, const char *expect_digest);

/* Rename a file atomically; -EEXIST if `to` exists (also when to == from), -ENOENT if `from`
 * does not. The content and digest move; the file gets a new version and mtime, as after a
 * write. (Moving a guest config between nodes later uses this.) */
int store_rename(struct store *s, const char *from, const char *to);

/* All paths starting with prefix ("" or NULL = all), sorted bytewise, as a NULL-terminated
 * array the caller frees with store_strv_free(). */
int store_list(struct store *s, const char *prefix, char ***ret_paths);
void store_strv_free(char **strv);

/* The store-wide change counter (the version of the newest write by any process; deletes
 * and renames advance it too). Cheap; caches compare it to know whether to re-read. */
int store_generation(struct store *s, uint64_t *ret);

/* Per-path advisory locks across processes (flock on a file in lock_dir, so a crashed holder
 * releases it). timeout_ms 0 = try once, < 0 is -EINVAL; -ETIMEDOUT when not acquired in
 * time. Locks are not reentrant within one process. A lock does not need the handle after it
 * is taken; store_unlock(NULL) does nothing. */
struct store_lock;
int store_lock(struct store *s, const char *path, int timeout_ms, struct store_lock **ret);
void store_unlock(struct store_lock *l);

/* True once a commit failed in this handle (see above). */
bool store_latched(const struct store *s);
