/* Helpers the template builders share: logging through the hooks, running programs with
 * their output in the task log, creating files inside the root being built without following
 * symlinks, and removing a build tree safely. */
#include "template/template-internal.h"

#include "basic/fileio.h"
#include "basic/strbuf.h"
#include "shared/run.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>

#define RUN_PATH     "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define LINE_MAX_LOG 1024       /* longer lines are cut in the log */
#define CAPTURE_MAX  (4u << 20) /* captured stdout (busybox --list-full is ~4 KiB) */

void
build_log(const struct template_hooks *h, const char *fmt, ...)
{
	if (!h || !h->log)
		return;
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *line = NULL;
	if (vasprintf(&line, fmt, ap) < 0)
		line = NULL;
	va_end(ap);
	if (line)
		h->log(h->userdata, line);
}

bool
build_interrupted(const struct template_hooks *h)
{
	return h && h->interrupted && h->interrupted(h->userdata);
}

/* ---- running programs ---- */

char *
build_find_program(const char *name)
{
	if (strchr(name, '/'))
		return access(name, X_OK) == 0 ? xstrdup(name) : NULL;
	_cleanup_free_ char *dirs = xstrdup(RUN_PATH);
	char *save = NULL;
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char *p = xasprintf("%s/%s", d, name);
		if (access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

/* The child's environment: fixed, plus proxy settings a host may need for its mirror. */
static char **
child_env(const char *const *extra)
{
	static const char *const keep[] = { "http_proxy", "https_proxy", "no_proxy",
		                            "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY" };
	size_t n = 0, cap = 8 + ARRAY_SIZE(keep);
	for (const char *const *e = extra; e && *e; e++)
		cap++;
	char **env = xcalloc(cap + 1, sizeof(char *));
	env[n++] = xstrdup("PATH=" RUN_PATH);
	env[n++] = xstrdup("LC_ALL=C");
	env[n++] = xstrdup("HOME=/root");
	env[n++] = xstrdup("DEBIAN_FRONTEND=noninteractive");
	for (size_t i = 0; i < ARRAY_SIZE(keep); i++) {
		const char *v = getenv(keep[i]);
		if (v)
			env[n++] = xasprintf("%s=%s", keep[i], v);
	}
	for (const char *const *e = extra; e && *e; e++)
		env[n++] = xstrdup(*e);
	env[n] = NULL;
	return env;
}

static void
env_free(char **env)
{
	for (char **e = env; e && *e; e++)
		free(*e);
	free(env);
}

/* A line for the task log: long ones are cut. */
static void
log_line(const char *line, void *userdata)
{
	const struct template_hooks *h = userdata;
	build_log(h, "%.*s", LINE_MAX_LOG, line);
}

static bool
stop_requested(void *userdata)
{
	return build_interrupted(userdata);
}

int
build_run(const struct template_hooks *h, const char *const *argv, const char *const *env,
          char **ret_out, struct error *err)
{
	_cleanup_free_ char *prog = build_find_program(argv[0]);
	if (!prog)
		return error_set(err, ENOENT, "%s: command not found", argv[0]);
	char **envp = child_env(env);
	const struct run_options o = {
		.argv = argv,
		.path = prog,
		.envp = (const char *const *)envp,
		.out_line = ret_out ? NULL : log_line,
		.out_max = CAPTURE_MAX,
		.err_line = log_line,
		.should_stop = stop_requested,
		.userdata = (void *)h,
	};
	int r = run_program(&o, ret_out, err);
	env_free(envp);
	return r;
}

/* ---- files inside the root ---- */

/* Open the directory holding path's last component (never following a symlink) and point
 * *ret_name at that component. */
static int
open_parent(int rootfd, const char *path, int *ret_fd, const char **ret_name, struct error *err)
{
	const char *slash = strrchr(path, '/');
	*ret_name = slash ? slash + 1 : path;
	if (!**ret_name || path[0] == '/')
		return error_set(err, EINVAL, "invalid path '%s' in the template", path);
	int fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return error_errno(err, negative_errno(), "dup");
	if (!slash) {
		*ret_fd = fd;
		return 0;
	}
	_cleanup_free_ char *dirs = xstrndup(path, (size_t)(slash - path));
	char *save = NULL;
	for (char *c = strtok_r(dirs, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (streq(c, "..") || streq(c, ".")) {
			close(fd);
			return error_set(err, EINVAL, "invalid path '%s' in the template", path);
		}
		int next = openat(fd, c, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int e = negative_errno();
		close(fd);
		if (next < 0)
			return error_errno(err, e, "unable to open '%s' in the template", path);
		fd = next;
	}
	if (streq(*ret_name, "..") || streq(*ret_name, ".")) {
		close(fd);
		return error_set(err, EINVAL, "invalid path '%s' in the template", path);
	}
	*ret_fd = fd;
	return 0;
}

int
root_mkdir(int rootfd, const char *path, mode_t mode, struct error *err)
{
	_cleanup_close_ int dfd = -1;
	const char *name;
	int r = open_parent(rootfd, path, &dfd, &name, err);
	if (r < 0)
		return r;
	if (mkdirat(dfd, name, 0700) < 0 && errno != EEXIST)
		return error_errno(err, negative_errno(), "unable to create '%s'", path);
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fchmod(fd, mode) < 0)
		return error_errno(err, negative_errno(), "unable to create '%s'", path);
	return 0;
}

int
root_mkparents(int rootfd, const char *path, struct error *err)
{
	_cleanup_free_ char *p = xstrdup(path);
	for (char *s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		int r = root_mkdir(rootfd, p, 0755, err);
		*s = '/';
		if (r < 0)
			return r;
	}
	return 0;
}

/* Remove a final symlink (or any non-directory) so that creating the name cannot write
 * through it. */
static int
unlink_existing(int dfd, const char *name, const char *path, struct error *err)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : error_errno(err, negative_errno(), "stat '%s'", path);
	if (S_ISDIR(st.st_mode))
		return error_set(err, EISDIR, "'%s' is a directory in the template", path);
	if (unlinkat(dfd, name, 0) < 0)
		return error_errno(err, negative_errno(), "unable to replace '%s'", path);
	return 0;
}

int
root_write(int rootfd, const char *path, const char *text, mode_t mode, struct error *err)
{
	_cleanup_close_ int dfd = -1;
	const char *name;
	int r = open_parent(rootfd, path, &dfd, &name, err);
	if (r >= 0)
		r = unlink_existing(dfd, name, path, err);
	if (r < 0)
		return r;
	_cleanup_close_ int fd =
	        openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return error_errno(err, negative_errno(), "unable to create '%s'", path);
	r = write_all(fd, text, strlen(text));
	if (r >= 0 && fchmod(fd, mode) < 0)
		r = negative_errno();
	return r < 0 ? error_errno(err, r, "unable to write '%s'", path) : 0;
}

int
root_symlink(int rootfd, const char *target, const char *path, struct error *err)
{
	_cleanup_close_ int dfd = -1;
	const char *name;
	int r = open_parent(rootfd, path, &dfd, &name, err);
	if (r >= 0)
		r = unlink_existing(dfd, name, path, err);
	if (r < 0)
		return r;
	if (symlinkat(target, dfd, name) < 0)
		return error_errno(err, negative_errno(), "unable to create link '%s'", path);
	return 0;
}

/* ---- removing trees ---- */

/* Remove everything in directory dfd (which this takes), staying on device dev. */
static int
remove_children(int dfd, dev_t dev, struct error *err)
{
	DIR *d = fdopendir(dfd);
	if (!d) {
		int r = negative_errno();
		close(dfd);
		return error_errno(err, r, "opendir");
	}
	int r = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (!S_ISDIR(st.st_mode)) {
			if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT && r >= 0)
				r = error_errno(err, negative_errno(), "unable to remove '%s'",
				                de->d_name);
			continue;
		}
		if (st.st_dev != dev) {
			if (r >= 0)
				r = error_set(err, EBUSY, "'%s' is a mount point", de->d_name);
			continue;
		}
		int cfd = openat(dirfd(d), de->d_name,
		                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (cfd < 0)
			continue;
		int k = remove_children(cfd, dev, err);
		if (k < 0 && r >= 0)
			r = k;
		if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT && r >= 0)
			r = error_errno(err, negative_errno(), "unable to remove '%s'", de->d_name);
	}
	closedir(d);
	return r;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo */
static void
unescape_octal(char *s)
{
	char *w = s;
	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*w++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		} else {
			*w++ = *p;
		}
	}
	*w = '\0';
}

static int
cmp_len_desc(const void *a, const void *b)
{
	size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);
	return la < lb ? 1 : la > lb ? -1 : 0;
}

/* Detach whatever a builder (debootstrap: proc, sys) left mounted below path. */
static void
umount_below(const char *path)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return;
	size_t plen = strlen(path), n = 0, cap = 0;
	char **list = NULL;
	char *line = NULL;
	size_t lcap = 0;
	while (getline(&line, &lcap, f) > 0) {
		char mnt[4096];
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		unescape_octal(mnt);
		if (!strneq(mnt, path, plen) || (mnt[plen] != '/' && mnt[plen] != '\0'))
			continue;
		if (n == cap)
			list = xrealloc(list, (cap = cap ? cap * 2 : 8) * sizeof(char *));
		list[n++] = xstrdup(mnt);
	}
	free(line);
	fclose(f);
	if (n)
		qsort(list, n, sizeof(char *), cmp_len_desc);
	for (size_t i = 0; i < n; i++) {
		(void)umount2(list[i], MNT_DETACH);
		free(list[i]);
	}
	free(list);
}

int
remove_tree(const char *path, struct error *err)
{
	umount_below(path);
	int r = 0;
	/* a process we stopped may still be finishing a write: try again briefly */
	for (int attempt = 0; attempt < 5; attempt++) {
		int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return errno == ENOENT
			               ? 0
			               : error_errno(err, negative_errno(), "open '%s'", path);
		struct stat st;
		if (fstat(fd, &st) < 0) {
			close(fd);
			return error_errno(err, negative_errno(), "stat '%s'", path);
		}
		r = remove_children(fd, st.st_dev, err);
		if (rmdir(path) == 0 || errno == ENOENT)
			return 0;
		if (r >= 0)
			r = error_errno(err, negative_errno(), "unable to remove '%s'", path);
		struct timespec ts = { 0, 200 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return r;
}

int
root_remove(int rootfd, const char *path, struct error *err)
{
	_cleanup_close_ int dfd = -1;
	const char *name;
	int r = open_parent(rootfd, path, &dfd, &name, err);
	if (r == -ENOENT) {
		error_clear(err);
		return 0;
	}
	if (r < 0)
		return r;
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : error_errno(err, negative_errno(), "stat '%s'", path);
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dfd, name, 0) < 0)
			return error_errno(err, negative_errno(), "unable to remove '%s'", path);
		return 0;
	}
	int cfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (cfd < 0)
		return error_errno(err, negative_errno(), "unable to open '%s'", path);
	r = remove_children(cfd, st.st_dev, err);
	if (r >= 0 && unlinkat(dfd, name, AT_REMOVEDIR) < 0)
		r = error_errno(err, negative_errno(), "unable to remove '%s'", path);
	return r;
}
