/* Whole-file reads, durable atomic writes, directories and small /proc helpers. */
#pragma once

#include "macros.h"

#include <sys/types.h>

/* Read a whole file (at most max bytes, -EFBIG beyond). *ret_data is NUL-terminated. */
int read_file(const char *path, size_t max, char **ret_data, size_t *ret_len);
int read_file_at(int dirfd, const char *path, size_t max, char **ret_data, size_t *ret_len);

/* Write durably: temp file (O_EXCL) in the same directory, fsync, rename, fsync directory. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* Atomic (readers see the old or the new file) but not durable: for runtime files that are
 * regenerated anyway, where fsync would only cost time. */
int write_file_replace(const char *path, const void *data, size_t len, mode_t mode);

/* mkdir -p with the given mode for created components. */
int mkdir_p(const char *path, mode_t mode);

/* Set FD_CLOEXEC / O_NONBLOCK. */
int fd_cloexec(int fd, bool on);
int fd_nonblock(int fd, bool on);

/* Write all bytes, retrying on EINTR/partial writes (blocking fds). */
int write_all(int fd, const void *data, size_t len);
/* Read exactly len bytes; -EPIPE on early EOF. */
int read_exact(int fd, void *data, size_t len);

/* Start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat). */
int proc_start_time(pid_t pid, unsigned long long *ret);

/* True if pid is alive and its start time equals pstart (guards against pid reuse). */
bool proc_alive(pid_t pid, unsigned long long pstart);
