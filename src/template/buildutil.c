/* Helpers the template builders share: logging through the hooks, running programs with
 * their output in the task log, creating files inside the root being built without following
 * symlinks, and removing a build tree safely. */
#include "template/template-internal.h"

#include "basic/fileio.h"
#include "basic/strbuf.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#define RUN_PATH      "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define LINE_MAX_LOG  1024       /* longer lines are cut in the log */
#define CAPTURE_MAX   (4u << 20) /* captured stdout (busybox --list-full is ~4 KiB) */
#define KILL_GRACE_MS 3000

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

struct output {
	struct strbuf pending; /* bytes of an unfinished line */
	struct strbuf *capture;
	char last[256]; /* the last line logged, for the error message */
};

static void
output_line(const struct template_hooks *h, struct output *o, char *line, size_t len)
{
	while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
		line[--len] = '\0';
	/* progress bars redraw with '\r': log the final state only */
	char *cr = strrchr(line, '\r');
	if (cr)
		line = cr + 1;
	if (!*line)
		return;
	if (strlen(line) > LINE_MAX_LOG)
		line[LINE_MAX_LOG] = '\0';
	build_log(h, "%s", line);
	snprintf(o->last, sizeof(o->last), "%s", line);
}

static void
output_feed(const struct template_hooks *h, struct output *o, const char *buf, size_t n)
{
	if (o->capture) {
		if (o->capture->len + n <= CAPTURE_MAX)
			sb_append(o->capture, buf, n);
		return;
	}
	sb_append(&o->pending, buf, n);
	for (;;) {
		char *nl = memchr(o->pending.buf, '\n', o->pending.len);
		if (!nl)
			break;
		*nl = '\0';
		output_line(h, o, o->pending.buf, (size_t)(nl - o->pending.buf));
		sb_consume(&o->pending, (size_t)(nl - o->pending.buf) + 1);
	}
	if (o->pending.len > 64 * 1024) { /* no newline for that long: log what there is */
		output_line(h, o, o->pending.buf, o->pending.len);
		sb_reset(&o->pending);
	}
}

static int64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
build_run(const struct template_hooks *h, const char *const *argv, const char *const *env,
          char **ret_out, struct error *err)
{
	_cleanup_free_ char *prog = build_find_program(argv[0]);
	if (!prog)
		return error_set(err, ENOENT, "%s: command not found", argv[0]);
	int outp[2], errp[2];
	if (pipe2(outp, O_CLOEXEC) < 0)
		return error_errno(err, negative_errno(), "pipe");
	if (pipe2(errp, O_CLOEXEC) < 0) {
		int r = negative_errno();
		close(outp[0]);
		close(outp[1]);
		return error_errno(err, r, "pipe");
	}
	_cleanup_close_ int out_r = outp[0], err_r = errp[0];

	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
	posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
	posix_spawnattr_t attr;
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	char **envp = child_env(env);
	pid_t pid;
	/* the child stays in our process group: a task stop (SIGTERM to the group) reaches it and
	 * whatever it started */
	int r = posix_spawn(&pid, prog, &fa, &attr, (char *const *)argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	env_free(envp);
	close(outp[1]);
	close(errp[1]);
	if (r != 0)
		return error_errno(err, -r, "unable to run %s", argv[0]);

	struct strbuf captured = STRBUF_INIT;
	struct output o[2] = { { STRBUF_INIT, ret_out ? &captured : NULL, "" },
		               { STRBUF_INIT, NULL, "" } };
	struct pollfd pfd[2] = { { .fd = out_r, .events = POLLIN },
		                 { .fd = err_r, .events = POLLIN } };
	bool interrupted = false, exited = false;
	int64_t killed_at = 0, exited_at = 0;
	int status = 0;
	for (;;) {
		if (!exited && waitpid(pid, &status, WNOHANG) == pid) {
			exited = true;
			exited_at = now_ms();
		}
		/* after the exit, a grandchild may still hold the pipes: drain briefly, then go */
		if ((pfd[0].fd < 0 && pfd[1].fd < 0 && exited) ||
		    (exited && now_ms() - exited_at > 1000))
			break;
		if (!interrupted && build_interrupted(h)) {
			interrupted = true;
			killed_at = now_ms();
			kill(pid, SIGTERM);
		} else if (interrupted && !exited && killed_at &&
		           now_ms() - killed_at > KILL_GRACE_MS) {
			kill(pid, SIGKILL);
			killed_at = 0;
		}
		int n = poll(pfd, 2, 200);
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; n > 0 && i < 2; i++) {
			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			char buf[16384];
			ssize_t k = read(pfd[i].fd, buf, sizeof(buf));
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				pfd[i].fd = -1;
				continue;
			}
			output_feed(h, &o[i], buf, (size_t)k);
		}
	}
	if (!exited)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	for (int i = 0; i < 2; i++) {
		if (o[i].pending.len)
			output_line(h, &o[i], o[i].pending.buf, o[i].pending.len);
		sb_free(&o[i].pending);
	}
	const char *last = o[1].last[0] ? o[1].last : o[0].last;
	if (interrupted || build_interrupted(h)) {
		sb_free(&captured);
		return error_set(err, EINTR, "received interrupt");
	}
	if (WIFSIGNALED(status)) {
		sb_free(&captured);
		return error_set(err, EIO, "%s killed by signal %d", argv[0], WTERMSIG(status));
	}
	if (WEXITSTATUS(status) != 0) {
		sb_free(&captured);
		return error_set(err, EIO, "%s failed (exit code %d)%s%s", argv[0],
		                 WEXITSTATUS(status), *last ? ": " : "", last);
	}
	if (ret_out)
		*ret_out = captured.buf ? sb_steal(&captured) : xstrdup("");
	return 0;
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
