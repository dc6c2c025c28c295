/* The one process runner: posix_spawn, both pipes polled, lines or captures, stop requests
 * and the exit status as an error message (see run.h). */
#include "shared/run.h"

#include "basic/clock.h"
#include "basic/strbuf.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define STDERR_MAX    (16u << 10)
#define POLL_MS       200
#define KILL_GRACE_MS 3000
/* after the exit, a grandchild may still hold the pipes: read that long, then stop */
#define DRAIN_MS 1000

/* One output stream handed over line by line. */
struct line_stream {
	void (*line)(const char *line, void *userdata);
	struct strbuf pending; /* bytes of an unfinished line */
	char last[256];        /* the last line handed over, for the error message */
};

static void
stream_line(const struct run_options *o, struct line_stream *s, char *line, size_t len)
{
	while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
		line[--len] = '\0';
	/* progress bars redraw with '\r': hand over the final state only */
	char *cr = o->cr_ends_line ? NULL : strrchr(line, '\r');
	if (cr)
		line = cr + 1;
	if (!*line)
		return;
	s->line(line, o->userdata);
	snprintf(s->last, sizeof(s->last), "%s", line);
}

static void
stream_feed(const struct run_options *o, struct line_stream *s, const char *buf, size_t n)
{
	sb_append(&s->pending, buf, n);
	size_t done = 0;
	for (;;) {
		char *start = s->pending.buf + done;
		size_t avail = s->pending.len - done;
		char *end = memchr(start, '\n', avail);
		if (o->cr_ends_line) {
			char *cr = memchr(start, '\r', end ? (size_t)(end - start) : avail);
			if (cr)
				end = cr;
		}
		if (!end)
			break;
		*end = '\0';
		stream_line(o, s, start, (size_t)(end - start));
		done += (size_t)(end - start) + 1;
	}
	sb_consume(&s->pending, done);
	if (s->pending.len >
	    RUN_LINE_MAX) { /* no line end for that long: hand over what is there */
		stream_line(o, s, s->pending.buf, s->pending.len);
		sb_reset(&s->pending);
	}
}

/* stderr as a one-line message: newlines become spaces, trailing whitespace goes. */
static void
tidy_stderr(struct strbuf *sb)
{
	if (!sb->buf)
		return;
	while (sb->len > 0 && (sb->buf[sb->len - 1] == '\n' || sb->buf[sb->len - 1] == ' ' ||
	                       sb->buf[sb->len - 1] == '\r'))
		sb->buf[--sb->len] = '\0';
	for (size_t i = 0; i < sb->len; i++)
		if (sb->buf[i] == '\n' || sb->buf[i] == '\r' || sb->buf[i] == '\t')
			sb->buf[i] = ' ';
}

static int
spawn(const struct run_options *o, int out_w, int err_w, pid_t *ret_pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out_w, 1);
	posix_spawn_file_actions_adddup2(&fa, err_w, 2);
	/* reset signal handling the daemon may have changed (SIGPIPE ignored, masks) */
	posix_spawnattr_t attr;
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	char *const *argv = (char *const *)o->argv;
	char *const *envp = o->envp ? (char *const *)o->envp : environ;
	/* the child stays in our process group: a task stop (SIGTERM to the group) reaches it and
	 * whatever it started */
	int r = o->path ? posix_spawn(ret_pid, o->path, &fa, &attr, argv, envp)
	                : posix_spawnp(ret_pid, o->argv[0], &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return -r;
}

int
run_program(const struct run_options *o, char **ret_out, struct error *err)
{
	const char *name = o->argv[0];
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
	pid_t pid;
	int r = spawn(o, outp[1], errp[1], &pid);
	close(outp[1]);
	close(errp[1]);
	if (r < 0)
		return error_errno(err, r, "unable to run %s", name);

	bool capture = ret_out && !o->out_line;
	size_t out_max = o->out_max ? o->out_max : RUN_OUT_MAX;
	_cleanup_strbuf_ struct strbuf captured = STRBUF_INIT, errs = STRBUF_INIT;
	struct line_stream ls[2] = { { .line = o->out_line }, { .line = o->err_line } };
	struct pollfd pfd[2] = { { .fd = out_r, .events = POLLIN },
		                 { .fd = err_r, .events = POLLIN } };
	bool stopped = false, exited = false;
	int64_t killed_at = 0, exited_at = 0;
	int status = 0;
	for (;;) {
		if (!exited && waitpid(pid, &status, WNOHANG) == pid) {
			exited = true;
			exited_at = monotonic_ms();
		}
		bool drained = pfd[0].fd < 0 && pfd[1].fd < 0;
		/* without a stop request to watch, a blocking wait below is enough */
		if ((drained && (exited || !o->should_stop)) ||
		    (exited && monotonic_ms() - exited_at > DRAIN_MS))
			break;
		if (!stopped && o->should_stop && o->should_stop(o->userdata)) {
			stopped = true;
			killed_at = monotonic_ms();
			kill(pid, SIGTERM);
		} else if (stopped && !exited && killed_at &&
		           monotonic_ms() - killed_at > KILL_GRACE_MS) {
			kill(pid, SIGKILL);
			killed_at = 0;
		}
		int n = poll(pfd, 2, POLL_MS);
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
			if (ls[i].line)
				stream_feed(o, &ls[i], buf, (size_t)k);
			/* what fits under the cap: a read may bring more than the cap at once */
			else if (i == 0 && capture)
				sb_append(&captured, buf, MIN((size_t)k, out_max - captured.len));
			else if (i == 1)
				sb_append(&errs, buf,
				          MIN((size_t)k, (size_t)STDERR_MAX - errs.len));
		}
	}
	if (!exited)
		while (waitpid(pid, &status, 0) < 0)
			if (errno != EINTR)
				return error_errno(err, negative_errno(), "waitpid %s", name);
	for (int i = 0; i < 2; i++) {
		if (ls[i].line && ls[i].pending.len)
			stream_line(o, &ls[i], ls[i].pending.buf, ls[i].pending.len);
		sb_free(&ls[i].pending);
	}

	if (stopped || (o->should_stop && o->should_stop(o->userdata)))
		return error_set(err, EINTR, "received interrupt");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		/* what the program said last: all of stderr, or the last line the caller saw */
		const char *detail = ls[1].last[0] ? ls[1].last : ls[0].last;
		if (!o->err_line) {
			tidy_stderr(&errs);
			detail = sb_str(&errs);
		}
		if (WIFSIGNALED(status)) {
			/* the last line of a killed program says nothing about why it died */
			if (o->err_line)
				detail = "";
			return error_set(err, EIO, "%s killed by signal %d%s%s", name,
			                 WTERMSIG(status), *detail ? ": " : "", detail);
		}
		return error_set(err, EIO, "%s failed (exit code %d)%s%s", name,
		                 WEXITSTATUS(status), *detail ? ": " : "", detail);
	}
	if (capture)
		*ret_out = sb_steal(&captured);
	return 0;
}
