/* Helpers for the CT rootfs tests: scratch directories under /tmp, small files, a ustar
 * writer for hand-made (hostile) archives, and a snapshot of a directory tree to prove that
 * nothing in it changed. */
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "basic/strbuf.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static inline char *
tmpdir_make(void)
{
	char tmpl[] = "/tmp/ct-test-XXXXXX";
	assert_non_null(mkdtemp(tmpl));
	return xstrdup(tmpl);
}

static inline int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static inline void
rm_rf(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static inline char *
path_join(const char *dir, const char *rel)
{
	return xasprintf("%s/%s", dir, rel);
}

/* Create dir/rel with parents. */
static inline void
put_dir(const char *dir, const char *rel)
{
	char *p = path_join(dir, rel);
	for (char *s = strchr(p + 1, '/');; s = strchr(s + 1, '/')) {
		if (s)
			*s = '\0';
		if (mkdir(p, 0755) < 0)
			assert_int_equal(errno, EEXIST);
		if (!s)
			break;
		*s = '/';
	}
	free(p);
}

static inline void
put_file(const char *dir, const char *rel, const char *text, mode_t mode)
{
	char *p = path_join(dir, rel);
	char *slash = strrchr(p, '/');
	*slash = '\0';
	if (strlen(p) > strlen(dir))
		put_dir(dir, p + strlen(dir) + 1);
	*slash = '/';
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	free(p);
}

static inline void
put_link(const char *dir, const char *rel, const char *target)
{
	char *p = path_join(dir, rel);
	assert_int_equal(symlink(target, p), 0);
	free(p);
}

/* dir/rel's contents, NULL when it cannot be read. */
static inline char *
get_file(const char *dir, const char *rel)
{
	char *p = path_join(dir, rel);
	FILE *f = fopen(p, "re");
	free(p);
	if (!f)
		return NULL;
	struct strbuf sb = STRBUF_INIT;
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sb_append(&sb, buf, n);
	fclose(f);
	return sb_steal(&sb);
}

static inline void
assert_file_eq(const char *dir, const char *rel, const char *want)
{
	char *got = get_file(dir, rel);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static inline struct stat
lstat_of(const char *dir, const char *rel)
{
	char *p = path_join(dir, rel);
	struct stat st;
	assert_int_equal(lstat(p, &st), 0);
	free(p);
	return st;
}

static inline bool
exists(const char *dir, const char *rel)
{
	char *p = path_join(dir, rel);
	struct stat st;
	bool r = lstat(p, &st) == 0;
	free(p);
	return r;
}

/* ---- a snapshot of a tree: every entry's name, type, mode, owner and contents ---- */

static struct strbuf *snap_sb;

static inline int
snap_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)flag;
	(void)ftw;
	sb_printf(snap_sb, "%s %o %u:%u %lld\n", path, (unsigned)st->st_mode, (unsigned)st->st_uid,
	          (unsigned)st->st_gid, (long long)st->st_size);
	if (S_ISREG(st->st_mode)) {
		FILE *f = fopen(path, "re");
		char buf[4096];
		size_t n;
		while (f && (n = fread(buf, 1, sizeof(buf), f)) > 0)
			sb_append(snap_sb, buf, n);
		if (f)
			fclose(f);
	} else if (S_ISLNK(st->st_mode)) {
		char buf[4096];
		ssize_t n = readlink(path, buf, sizeof(buf));
		if (n > 0)
			sb_append(snap_sb, buf, (size_t)n);
	}
	return 0;
}

static inline char *
tree_snapshot(const char *dir)
{
	struct strbuf sb = STRBUF_INIT;
	snap_sb = &sb;
	assert_int_equal(nftw(dir, snap_one, 16, FTW_PHYS), 0);
	snap_sb = NULL;
	return sb_steal(&sb);
}

/* A sentinel: a world-writable directory (like /tmp, so that neither file modes nor the
 * user namespace protect it) holding one file. */
static inline char *
sentinel_make(void)
{
	char *dir = tmpdir_make();
	assert_int_equal(chmod(dir, 01777), 0);
	put_file(dir, "keep", "sentinel\n", 0666);
	return dir;
}

/* ---- ustar writer ---- */

struct tar_entry {
	const char *name;
	char type; /* '0' file, '1' hard link, '2' symlink, '3' char dev, '5' dir */
	unsigned mode;
	unsigned uid, gid;
	const char *data;     /* file contents */
	const char *linkname; /* for '1' and '2' */
	unsigned major, minor;
};

static inline void
tar_octal(char *field, size_t size, unsigned long long v)
{
	/* size-1 octal digits, zero-padded, then NUL */
	field[size - 1] = '\0';
	for (size_t i = size - 1; i-- > 0; v >>= 3)
		field[i] = (char)('0' + (v & 7));
}

static inline void
tar_add(FILE *f, const struct tar_entry *e)
{
	char h[512] = { 0 };
	size_t size = e->type == '0' && e->data ? strlen(e->data) : 0;
	assert_true(strlen(e->name) < 100);
	memcpy(h, e->name, strlen(e->name));
	tar_octal(h + 100, 8, e->mode);
	tar_octal(h + 108, 8, e->uid);
	tar_octal(h + 116, 8, e->gid);
	tar_octal(h + 124, 12, size);
	tar_octal(h + 136, 12, 1700000000);
	h[156] = e->type;
	if (e->linkname)
		memcpy(h + 157, e->linkname, strlen(e->linkname));
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	tar_octal(h + 329, 8, e->major);
	tar_octal(h + 337, 8, e->minor);
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (size_t i = 0; i < sizeof(h); i++)
		sum += (unsigned char)h[i];
	snprintf(h + 148, 8, "%06o", sum);
	h[155] = ' ';
	assert_int_equal(fwrite(h, 1, sizeof(h), f), sizeof(h));
	if (size) {
		char pad[512] = { 0 };
		assert_int_equal(fwrite(e->data, 1, size, f), size);
		size_t rest = (512 - size % 512) % 512;
		assert_int_equal(fwrite(pad, 1, rest, f), rest);
	}
}

/* Write entries as a tar file at path. */
static inline void
tar_write(const char *path, const struct tar_entry *entries, size_t n)
{
	FILE *f = fopen(path, "we");
	assert_non_null(f);
	for (size_t i = 0; i < n; i++)
		tar_add(f, &entries[i]);
	char end[1024] = { 0 };
	assert_int_equal(fwrite(end, 1, sizeof(end), f), sizeof(end));
	assert_int_equal(fclose(f), 0);
}

static inline bool
is_root(void)
{
	return geteuid() == 0;
}
