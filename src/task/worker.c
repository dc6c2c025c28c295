/* The worker process of a task: takes its UPID, parameters and log from the daemon's frame
 * on fd 3, runs the task function with stdout/stderr in the log, writes the final line. */
#include "task-private.h"
#include "task.h"

#include "basic/fileio.h"
#include "basic/strbuf.h"
#include "shared/frame.h"

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#define TASK_CTRL_FD 3

struct task_worker {
	const char *upid;
	struct upid u;
	void *userdata;
	unsigned warnings;
	struct frame *frame; /* the daemon's frame: fds[1..] are the task's extra descriptors */
};

static volatile sig_atomic_t interrupted;

static void
on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void
install_signal_handlers(void)
{
	/* no SA_RESTART: a task blocked in poll() or sleep() wakes up to see the flag */
	struct sigaction sa = { .sa_handler = on_interrupt };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
}

/* One write per line so lines stay whole next to output of child processes; stdio output
 * of the task code is flushed first to keep the order. */
static void
write_log_line(const char *prefix, const char *fmt, va_list ap)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	sb_puts(&sb, prefix);
	sb_vprintf(&sb, fmt, ap);
	while (sb.len > 0 && sb.buf[sb.len - 1] == '\n')
		sb.buf[--sb.len] = '\0';
	sb_putc(&sb, '\n');
	fflush(stdout);
	fflush(stderr);
	(void)write_all(STDOUT_FILENO, sb.buf, sb.len);
}

void
task_log(struct task_worker *w, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	write_log_line("", fmt, ap);
	va_end(ap);
}

void
task_warn(struct task_worker *w, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	write_log_line("WARN: ", fmt, ap);
	va_end(ap);
	w->warnings++;
}

bool
task_interrupted(struct task_worker *w)
{
	return interrupted != 0;
}

const char *
task_upid(struct task_worker *w)
{
	return w->upid;
}

const struct upid *
task_upid_parsed(struct task_worker *w)
{
	return &w->u;
}

void *
task_userdata(struct task_worker *w)
{
	return w->userdata;
}

/* The daemon's one frame: {"type":"task","upid":...,"params":...} with the log fd. */
static int
receive_task(struct frame *ret)
{
	struct frame_reader r = { 0 };
	struct frame f;
	int k = frame_recv(TASK_CTRL_FD, &r, &f);
	frame_reader_done(&r);
	if (k <= 0) {
		close(TASK_CTRL_FD);
		return k < 0 ? k : -EPIPE;
	}
	/* kept until the final line is written (task_worker_main); no child inherits it */
	(void)fd_cloexec(TASK_CTRL_FD, true);
	const char *type = json_string_value(json_object_get(f.hdr, "type"));
	const char *upid = json_string_value(json_object_get(f.hdr, "upid"));
	struct upid u;
	struct stat st;
	if (!type || !streq(type, "task") || !upid || upid_parse(upid, &u) < 0 || f.n_fds < 1 ||
	    fstat(f.fds[0], &st) < 0 || !S_ISREG(st.st_mode)) {
		frame_done(&f);
		return -EBADMSG;
	}
	*ret = f;
	return 0;
}

int
task_take_fd(struct task_worker *w, unsigned i)
{
	return frame_take_fd(w->frame, i + 1);
}

static const struct task_type *
find_type(const struct task_type *types, size_t n_types, const char *name)
{
	for (size_t i = 0; i < n_types; i++)
		if (streq(types[i].name, name))
			return &types[i];
	return NULL;
}

static int
redirect_output(int logfd)
{
	/* appends from the daemon (its settle line) and from us must never overwrite */
	int flags = fcntl(logfd, F_GETFL);
	if (flags < 0 || fcntl(logfd, F_SETFL, flags | O_APPEND) < 0)
		return negative_errno();
	if (dup2(logfd, STDOUT_FILENO) < 0 || dup2(logfd, STDERR_FILENO) < 0)
		return negative_errno();
	setvbuf(stdout, NULL, _IOLBF, 0);
	setvbuf(stderr, NULL, _IONBF, 0);
	return 0;
}

static char *
run_task(struct task_worker *w, const struct task_type *types, size_t n_types, json_t *params,
         int *ret_code)
{
	const struct task_type *t = find_type(types, n_types, w->u.type);
	struct error err = { 0 };
	int r;

	if (!t)
		r = error_set(&err, EINVAL, "unknown task type '%s'", w->u.type);
	else
		r = t->run(w, params, &err);

	fflush(stdout);
	fflush(stderr);
	if (r < 0) {
		_cleanup_free_ char *msg =
		        task_one_line(error_is_set(&err) && err.msg[0] ? err.msg : strerror(-r));
		*ret_code = 1;
		/* "TASK ERROR: " alone reads back as "unexpected status", and an index line
		 * needs a status that starts with a non-space */
		bool blank = strspn(msg, " \t\v\f") == strlen(msg);
		return xasprintf("TASK ERROR: %s", blank ? "unknown error" : msg);
	}
	*ret_code = 0;
	if (w->warnings > 0)
		return xasprintf("TASK WARNINGS: %u", w->warnings);
	return xstrdup("TASK OK");
}

int
task_worker_main(const struct task_type *types, size_t n_types, void *userdata)
{
	install_signal_handlers();

	struct frame f;
	int r = receive_task(&f);
	if (r < 0) {
		/* no log to write to: the daemon settles the task from our exit status */
		fprintf(stderr, "berthd worker: no task received on fd %d: %s\n", TASK_CTRL_FD,
		        strerror(-r));
		return 1;
	}
	_cleanup_close_ int logfd = frame_take_fd(&f, 0);
	r = redirect_output(logfd);
	if (logfd <= STDERR_FILENO)
		TAKE_FD(logfd); /* it is our stdout or stderr now */
	if (r < 0) {
		_cleanup_free_ char *line =
		        xasprintf("TASK ERROR: unable to redirect output - %s", strerror(-r));
		(void)task_fd_append_line(logfd, line);
		frame_done(&f);
		return 1;
	}

	struct task_worker w = {
		.upid = json_string_value(json_object_get(f.hdr, "upid")),
		.userdata = userdata,
		.frame = &f,
	};
	(void)upid_parse(w.upid, &w.u); /* checked in receive_task */

	int code;
	_cleanup_free_ char *final =
	        run_task(&w, types, n_types, json_object_get(f.hdr, "params"), &code);
	/* task_fd_append_line starts a new line if the task left a partial one */
	(void)task_fd_append_line(STDOUT_FILENO, final);
	/* the task has ended: the daemon settles it now, not after our teardown */
	close(TASK_CTRL_FD);
	frame_done(&f);
	return code;
}
