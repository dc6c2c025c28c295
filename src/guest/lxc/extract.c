/* Filling a CT's rootfs from a template tarball: the decompressor and GNU tar run as a
 * pipeline of sandboxed children (the CT's user namespace for unprivileged CTs, Landlock
 * limiting writes to the rootfs), fed from an archive this process opened. */
#include "guest/lxc/rootfs.h"

#include "basic/fileio.h"
#include "basic/strbuf.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/landlock.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

/* not in Debian 12's (Linux 6.1) headers; the kernel reports the ABI it has */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif

#define TOOL_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* How the archive is compressed, from its name; never from tar's own guessing, so the
 * decompressor that reads hostile bytes is the one we chose and sandboxed. */
static const struct {
	const char *suffix;
	const char *prog; /* NULL: plain tar */
} compressions[] = {
	{ ".tar", NULL },
	{ ".tar.gz", "gzip" },
	{ ".tar.xz", "xz" },
	{ ".tar.zst", "zstd" },
};

/* What a child may do once it runs. */
struct sandbox {
	const struct ct_idmap *map; /* count > 0: a new user namespace with this map */
	int landlock_abi;           /* 0: Landlock unavailable, run without */
	int write_dirfd;            /* the only tree it may change; -1: none */
	int cwd_fd;                 /* -1: keep */
};

/* One running child and what it said on stderr. */
struct child {
	const char *name;
	pid_t pid;
	int err_fd;
	int status;
	struct strbuf pending;
	char first[512]; /* first line that is not chatter: the likely cause of a failure */
	char last[512];
};

static int
find_program(const char *name, char **ret)
{
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = TOOL_PATH;
	_cleanup_free_ char *copy = xstrdup(path);
	char *save = NULL;
	for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		if (*dir != '/')
			continue; /* a relative PATH entry would depend on our cwd */
		_cleanup_free_ char *p = xasprintf("%s/%s", dir, name);
		if (access(p, X_OK) == 0) {
			*ret = TAKE_PTR(p);
			return 0;
		}
	}
	return -ENOENT;
}

static int
landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	/* ABI 1 cannot allow links and renames across directories, which tar needs for
	 * hard links: use Landlock only from ABI 2 (Linux 5.19) on */
	return abi >= 2 ? (int)abi : 0;
}

/* Write "<what>: <errno text>" to stderr from the forked child (no stdio there;
 * strerrordesc_np only returns a constant string). */
static void
child_say(const char *what)
{
	const char *why = strerrordesc_np(errno);
	const char prefix[] = "berth: sandbox setup failed: ";
	(void)!write(STDERR_FILENO, prefix, sizeof(prefix) - 1);
	(void)!write(STDERR_FILENO, what, strlen(what));
	if (why) {
		(void)!write(STDERR_FILENO, ": ", 2);
		(void)!write(STDERR_FILENO, why, strlen(why));
	}
	(void)!write(STDERR_FILENO, "\n", 1);
}

/* In the child: everything it may write is beneath write_dirfd (nothing when -1). */
static int
child_landlock(const struct sandbox *sb)
{
	struct landlock_ruleset_attr attr = {
		.handled_access_fs = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |
		                     LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR |
		                     LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
		                     LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |
		                     LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM |
		                     LANDLOCK_ACCESS_FS_REFER,
	};
	if (sb->landlock_abi >= 3)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
	int rfd = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (rfd < 0)
		return -1;
	if (sb->write_dirfd >= 0) {
		struct landlock_path_beneath_attr pb = {
			.allowed_access = attr.handled_access_fs,
			.parent_fd = sb->write_dirfd,
		};
		if (syscall(SYS_landlock_add_rule, rfd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
			return -1;
	}
	if (syscall(SYS_landlock_restrict_self, rfd, 0) < 0)
		return -1;
	close(rfd);
	return 0;
}

/* The forked child: only async-signal-safe calls until execve. sync is its end of the
 * socketpair the parent uses to hand over the id map. */
_noreturn_ static void
child_run(const char *path, char *const argv[], char *const envp[], int in_fd, int out_fd,
          int err_fd, const struct sandbox *sb, int sync, pid_t parent)
{
	/* the caller may block or ignore signals (SIGPIPE in daemons); the tools expect the
	 * defaults, and a dead reader must stop the decompressor */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	for (int s = 1; s < NSIG; s++)
		sigaction(s, &dfl, NULL);
	/* do not outlive the task worker that waits for us */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(127);
	/* above 2 first, so that no dup2 below overwrites a source (a caller without stdio) */
	in_fd = fcntl(in_fd, F_DUPFD_CLOEXEC, 3);
	out_fd = fcntl(out_fd, F_DUPFD_CLOEXEC, 3);
	err_fd = fcntl(err_fd, F_DUPFD_CLOEXEC, 3);
	if (in_fd < 0 || out_fd < 0 || err_fd < 0 || dup2(in_fd, STDIN_FILENO) < 0 ||
	    dup2(out_fd, STDOUT_FILENO) < 0 || dup2(err_fd, STDERR_FILENO) < 0)
		_exit(127);
	if (sb->cwd_fd >= 0 && fchdir(sb->cwd_fd) < 0) {
		child_say("fchdir");
		_exit(127);
	}
	if (sb->map->count > 0) {
		/* supplementary groups would keep granting host access inside the namespace */
		if (setgroups(0, NULL) < 0 || unshare(CLONE_NEWUSER) < 0) {
			child_say("unshare(CLONE_NEWUSER)");
			_exit(127);
		}
		char c = 0;
		if (send(sync, &c, 1, MSG_NOSIGNAL) != 1 || recv(sync, &c, 1, 0) != 1) {
			child_say("no id map");
			_exit(127);
		}
		/* become the CT's root (host uid_base) with full capabilities inside the
		 * namespace: tar can then chown to every mapped id and to nothing else */
		if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
			child_say("setresuid in the user namespace");
			_exit(127);
		}
	}
	umask(022);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		child_say("no_new_privs");
		_exit(127);
	}
	if (sb->landlock_abi > 0 && child_landlock(sb) < 0) {
		child_say("landlock");
		_exit(127);
	}
	close_range(3, ~0U, 0);
	execve(path, argv, envp);
	child_say("execve");
	_exit(127);
}

static int
write_proc_file(pid_t pid, const char *name, const char *text)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	/* an id map must be written in one write() */
	ssize_t n = write(fd, text, strlen(text));
	if (n < 0)
		return negative_errno();
	return (size_t)n == strlen(text) ? 0 : -EIO;
}

/* The child has unshared its user namespace: give it the CT's map. As root in the initial
 * namespace we may write any map directly (what newuidmap would do for others), and need not
 * deny setgroups; the child dropped its supplementary groups before unsharing. */
static int
write_idmap(pid_t pid, const struct ct_idmap *map)
{
	char line[64];
	snprintf(line, sizeof(line), "0 %u %u\n", (unsigned)map->uid_base, map->count);
	int r = write_proc_file(pid, "uid_map", line);
	if (r < 0)
		return r;
	snprintf(line, sizeof(line), "0 %u %u\n", (unsigned)map->gid_base, map->count);
	return write_proc_file(pid, "gid_map", line);
}

static void
child_kill(struct child *c)
{
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
			;
		c->pid = 0;
	}
}

/* Start argv[0] (resolved by the caller) in the sandbox with stdin/stdout given; its stderr
 * comes back in c->err_fd. */
static int
child_start(struct child *c, const char *path, char *const argv[], char *const envp[], int in_fd,
            int out_fd, const struct sandbox *sb, struct error *err)
{
	int errp[2] = { -1, -1 }, sync[2] = { -1, -1 };
	int r = 0;
	if (pipe2(errp, O_CLOEXEC) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sync) < 0) {
		r = error_errno(err, negative_errno(), "pipe");
		goto out;
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		r = error_errno(err, negative_errno(), "unable to run %s", c->name);
		goto out;
	}
	if (pid == 0)
		child_run(path, argv, envp, in_fd, out_fd < 0 ? errp[1] : out_fd, errp[1], sb,
		          sync[1], parent);
	c->pid = pid;
	close(TAKE_FD(errp[1]));
	close(TAKE_FD(sync[1]));
	if (sb->map->count > 0) {
		char b = 0;
		ssize_t n;
		while ((n = recv(sync[0], &b, 1, 0)) < 0 && errno == EINTR)
			;
		/* on EOF the child failed; its stderr says why */
		if (n == 1) {
			r = write_idmap(pid, sb->map);
			if (r < 0)
				r = error_errno(err, r, "unable to write the id map of %s",
				                c->name);
			else if (send(sync[0], &b, 1, MSG_NOSIGNAL) != 1)
				r = error_errno(err, negative_errno(), "unable to start %s",
				                c->name);
		}
		if (r < 0) {
			child_kill(c);
			goto out;
		}
	}
	c->err_fd = TAKE_FD(errp[0]);
out:
	for (int i = 0; i < 2; i++) {
		if (errp[i] >= 0)
			close(errp[i]);
		if (sync[i] >= 0)
			close(sync[i]);
	}
	return r;
}

/* tar's notes that are no reason for a failure */
static bool
chatter(const char *line)
{
	return startswith(line, "tar: Removing leading") || startswith(line, "Total bytes") ||
	       startswith(line, "tar: Exiting with failure status");
}

static void
child_line(struct child *c, const char *line, void (*log)(const char *, void *), void *userdata)
{
	if (!*line)
		return;
	if (log)
		log(line, userdata);
	if (!c->first[0] && !chatter(line))
		snprintf(c->first, sizeof(c->first), "%s", line);
	snprintf(c->last, sizeof(c->last), "%s", line);
}

static void
child_feed(struct child *c, const char *buf, size_t n, void (*log)(const char *, void *),
           void *userdata)
{
	sb_append(&c->pending, buf, n);
	char *nl;
	while (c->pending.len && (nl = memchr(c->pending.buf, '\n', c->pending.len))) {
		*nl = '\0';
		child_line(c, c->pending.buf, log, userdata);
		sb_consume(&c->pending, (size_t)(nl - c->pending.buf) + 1);
	}
	if (c->pending.len > 4096) {
		child_line(c, c->pending.buf, log, userdata);
		sb_reset(&c->pending);
	}
}

/* Read the children's stderr until both close it, then reap them. */
static int
children_wait(struct child *cs, size_t n, void (*log)(const char *, void *), void *userdata,
              struct error *err)
{
	struct pollfd pfd[2];
	for (size_t i = 0; i < n; i++)
		pfd[i] = (struct pollfd){ .fd = cs[i].err_fd, .events = POLLIN };
	for (;;) {
		size_t open_fds = 0;
		for (size_t i = 0; i < n; i++)
			open_fds += pfd[i].fd >= 0;
		if (!open_fds)
			break;
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return error_errno(err, negative_errno(), "poll");
		}
		for (size_t i = 0; i < n; i++) {
			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			char buf[4096];
			ssize_t k = read(pfd[i].fd, buf, sizeof(buf));
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				pfd[i].fd = -1;
				continue;
			}
			child_feed(&cs[i], buf, (size_t)k, log, userdata);
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (cs[i].pending.len)
			child_line(&cs[i], cs[i].pending.buf, log, userdata);
		while (waitpid(cs[i].pid, &cs[i].status, 0) < 0)
			if (errno != EINTR)
				return error_errno(err, negative_errno(), "waitpid %s", cs[i].name);
		cs[i].pid = 0;
	}
	return 0;
}

static bool
child_ok(const struct child *c)
{
	return WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0;
}

static int
child_failure(const struct child *c, struct error *err)
{
	const char *detail = c->first[0] ? c->first : c->last;
	if (WIFSIGNALED(c->status))
		return error_set(err, EIO, "extracting archive failed: %s killed by signal %d%s%s",
		                 c->name, WTERMSIG(c->status), *detail ? ": " : "", detail);
	if (*detail)
		return error_set(err, EIO, "extracting archive failed: %s", detail);
	return error_set(err, EIO, "extracting archive failed: %s exit code %d", c->name,
	                 WEXITSTATUS(c->status));
}

static void
children_free(struct child *cs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		child_kill(&cs[i]);
		if (cs[i].err_fd >= 0)
			close(cs[i].err_fd);
		sb_free(&cs[i].pending);
	}
}

int
ct_extract_template(const char *archive, const char *dest, const struct ct_idmap *map,
                    void (*log)(const char *line, void *userdata), void *userdata,
                    struct error *err)
{
	const char *decompressor = NULL;
	bool known = false;
	for (size_t i = 0; i < ARRAY_SIZE(compressions) && !known; i++) {
		size_t al = strlen(archive), sl = strlen(compressions[i].suffix);
		if (al > sl && streq(archive + al - sl, compressions[i].suffix)) {
			decompressor = compressions[i].prog;
			known = true;
		}
	}
	if (!known)
		return error_set(err, EINVAL, "file does not look like a template archive: %s",
		                 archive);
	if (map->count > 0 && (map->uid_base == 0 || map->gid_base == 0))
		return error_set(err, EINVAL, "an unprivileged id map must not start at 0");

	_cleanup_free_ char *tar_path = NULL, *dec_path = NULL;
	if (find_program("tar", &tar_path) < 0)
		return error_set(err, ENOENT, "extracting archive failed: tar not found");
	if (decompressor && find_program(decompressor, &dec_path) < 0)
		return error_set(err, ENOENT, "extracting archive failed: %s not found",
		                 decompressor);

	/* opened here, as root: the sandboxed children never resolve a host path */
	_cleanup_close_ int afd = open(archive, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (afd < 0)
		return error_errno(err, negative_errno(), "unable to open archive '%s'", archive);
	struct stat st;
	if (fstat(afd, &st) < 0 || !S_ISREG(st.st_mode))
		return error_set(err, EINVAL, "archive '%s' is not a regular file", archive);
	_cleanup_close_ int dfd = open(dest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return error_errno(err, negative_errno(), "unable to open '%s'", dest);
	if (map->count > 0 &&
	    (fchown(dfd, map->uid_base, map->gid_base) < 0 || fchmod(dfd, 0755) < 0))
		return error_errno(err, negative_errno(), "unable to chown '%s'", dest);

	int abi = landlock_abi();
	if (!abi && log)
		log("warning: Landlock is not available; extracting without it", userdata);

	/* A clean environment: TAR_OPTIONS, GZIP, XZ_DEFAULTS and the like must not add options.
	 * LC_ALL=C keeps the messages we pass on in one language. */
	char *envp[] = { (char *)"PATH=" TOOL_PATH, (char *)"LC_ALL=C", NULL };
	/* The tar flags, after PVE's restore (Create.pm) and COMMON_TAR_FLAGS:
	 *  -x -p -f -      read the archive from stdin (our fd), keep permission bits
	 *  --same-owner --numeric-owner
	 *                  keep the archive's numeric ids: inside the user namespace they are
	 *                  the CT's ids and land on the host as base+id (ids beyond the map
	 *                  fail); names are never looked up in the host's /etc/passwd
	 *  --acls --xattrs --xattrs-include=user.* --xattrs-include=security.capability
	 *                  file capabilities (ping) and ACLs survive; other xattrs
	 *                  (trusted.*, security.selinux) are not ours to set
	 *  --skip-old-files
	 *                  an existing name is never replaced, so a later member cannot swap a
	 *                  directory that was already extracted for something else
	 *  --anchored --exclude=./dev/...  (also spelt dev/... and /dev/...: members below dev
	 *                  are skipped; LXC populates /dev, device nodes would fail in the
	 * namespace
	 *  --warning=...   silence notes that are not errors (old or future timestamps,
	 *                  unknown pax keywords from other tar programs, xattrs the
	 *                  filesystem refuses)
	 *  --totals        one line for the task log
	 * No -C: the child starts in dest (fchdir to our fd), so the path is not resolved again.
	 * GNU tar itself strips leading "/" and refuses members and hard link targets with
	 * "..", and creates symlinks that point outside (absolute or with "..") only after
	 * everything else, so no member is written through them; the user namespace and
	 * Landlock make the rest of the host unwritable even if that logic had a hole. */
	char *tar_argv[] = {
		(char *)"tar",
		(char *)"-x",
		(char *)"-p",
		(char *)"-f",
		(char *)"-",
		(char *)"--same-owner",
		(char *)"--numeric-owner",
		(char *)"--acls",
		(char *)"--xattrs",
		(char *)"--xattrs-include=user.*",
		(char *)"--xattrs-include=security.capability",
		(char *)"--skip-old-files",
		(char *)"--anchored",
		(char *)"--exclude=./dev/*",
		(char *)"--exclude=dev/*",
		(char *)"--exclude=/dev/*",
		(char *)"--warning=no-file-ignored",
		(char *)"--warning=no-xattr-write",
		(char *)"--warning=no-timestamp",
		(char *)"--warning=no-unknown-keyword",
		(char *)"--totals",
		NULL,
	};
	char *dec_argv[] = { (char *)decompressor, (char *)"-d", (char *)"-c", NULL };

	struct child cs[2] = { { .name = "tar", .err_fd = -1 },
		               { .name = decompressor, .err_fd = -1 } };
	size_t n = decompressor ? 2 : 1;
	struct sandbox tar_sb = {
		.map = map, .landlock_abi = abi, .write_dirfd = dfd, .cwd_fd = dfd
	};
	/* the decompressor parses the hostile bytes first: it may write nowhere */
	struct sandbox dec_sb = {
		.map = map, .landlock_abi = abi, .write_dirfd = -1, .cwd_fd = -1
	};

	if (log) {
		_cleanup_free_ char *line = xasprintf(
		        "extracting archive '%s'%s%s%s", archive, decompressor ? " (" : "",
		        decompressor ? decompressor : "", decompressor ? ")" : "");
		log(line, userdata);
	}
	int r;
	if (decompressor) {
		int p[2];
		if (pipe2(p, O_CLOEXEC) < 0)
			return error_errno(err, negative_errno(), "pipe");
		r = child_start(&cs[1], dec_path, dec_argv, envp, afd, p[1], &dec_sb, err);
		close(p[1]);
		if (r >= 0)
			r = child_start(&cs[0], tar_path, tar_argv, envp, p[0], -1, &tar_sb, err);
		close(p[0]);
	} else {
		r = child_start(&cs[0], tar_path, tar_argv, envp, afd, -1, &tar_sb, err);
	}
	if (r >= 0)
		r = children_wait(cs, n, log, userdata, err);
	if (r >= 0) {
		/* A broken archive makes both fail: the decompressor knows why. When tar fails
		 * first, the decompressor dies of SIGPIPE and tar's message is the one. */
		bool dec_failed = n == 2 && !child_ok(&cs[1]);
		bool dec_sigpipe = dec_failed && WIFSIGNALED(cs[1].status) &&
		                   WTERMSIG(cs[1].status) == SIGPIPE;
		if (dec_failed && !dec_sigpipe)
			r = child_failure(&cs[1], err);
		else if (!child_ok(&cs[0]))
			r = child_failure(&cs[0], err);
		else if (dec_failed)
			r = child_failure(&cs[1], err);
	}
	children_free(cs, n);
	return r < 0 ? r : 0;
}
