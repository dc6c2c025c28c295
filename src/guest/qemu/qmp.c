/* QMP over a unix socket, blocking with deadlines: a worker talks to one VM at a time and
 * has nothing else to do while it waits. Answers are matched by the "id" we send, so an
 * answer that belongs to no command of ours is never taken for the current one. */
#include "guest/qemu/qmp.h"

#include "basic/clock.h"
#include "basic/fileio.h"
#include "basic/strbuf.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

struct qmp {
	int fd;
	struct strbuf in; /* bytes read, not yet a whole line */
	uint64_t next_id;
	json_t *events;
	bool broken; /* a timeout or garbage: the stream's framing can no longer be trusted */
};

static int
wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - monotonic_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = { .fd = fd, .events = events };
		int n = poll(&p, 1, (int)MIN(left, INT32_MAX));
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return negative_errno();
	}
}

/* The next whole line as a JSON object (caller decrefs). */
static int
read_message(struct qmp *q, int64_t deadline, json_t **ret, struct error *err)
{
	for (;;) {
		char *nl = q->in.len ? memchr(q->in.buf, '\n', q->in.len) : NULL;
		if (nl) {
			size_t len = (size_t)(nl - q->in.buf);
			json_error_t je;
			json_t *msg = json_loadb(q->in.buf, len, 0, &je);
			sb_consume(&q->in, len + 1);
			if (!json_is_object(msg)) {
				json_decref(msg);
				q->broken = true;
				return error_set(err, EBADMSG,
				                 "QMP sent something that is not a JSON object");
			}
			*ret = msg;
			return 0;
		}
		if (q->in.len >= QMP_LINE_MAX) {
			q->broken = true;
			return error_set(err, EBADMSG, "QMP line longer than %u bytes",
			                 QMP_LINE_MAX);
		}
		int r = wait_fd(q->fd, POLLIN, deadline);
		if (r < 0) {
			q->broken = true;
			return error_errno(err, r, "no answer from QMP");
		}
		char buf[8192];
		ssize_t n = read(q->fd, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			q->broken = true;
			return n == 0 ? error_set(err, EPIPE, "QMP socket closed")
			              : error_errno(err, negative_errno(),
			                            "unable to read from QMP");
		}
		sb_append(&q->in, buf, (size_t)n);
	}
}

static int
send_message(struct qmp *q, json_t *msg, struct error *err)
{
	_cleanup_free_ char *text = json_dumps(msg, JSON_COMPACT);
	if (!text)
		oom();
	_cleanup_free_ char *line = xasprintf("%s\r\n", text);
	/* send(MSG_NOSIGNAL): a QEMU that went away is an error here, not a SIGPIPE */
	int r = 0;
	for (size_t off = 0, len = strlen(line); off < len;) {
		ssize_t n = send(q->fd, line + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = negative_errno();
			break;
		}
		off += (size_t)n;
	}
	if (r < 0) {
		q->broken = true;
		return error_errno(err, r, "unable to write to QMP");
	}
	return 0;
}

int
qmp_command(struct qmp *q, const char *command, json_t *args, int timeout_ms, json_t **ret,
            struct error *err)
{
	if (q->broken)
		return error_set(err, EPIPE, "QMP connection unusable after an earlier failure");
	int64_t deadline = monotonic_ms() + timeout_ms;
	uint64_t id = q->next_id++;
	json_t *msg = json_pack("{s:s, s:I}", "execute", command, "id", (json_int_t)id);
	if (!msg)
		oom();
	if (args)
		json_object_set(msg, "arguments", args);
	int r = send_message(q, msg, err);
	json_decref(msg);
	if (r < 0)
		return r;
	for (;;) {
		json_t *m = NULL;
		r = read_message(q, deadline, &m, err);
		if (r < 0)
			return r;
		if (json_object_get(m, "event")) {
			json_array_append_new(q->events, m);
			continue;
		}
		json_t *mid = json_object_get(m, "id");
		if (!json_is_integer(mid) || (uint64_t)json_integer_value(mid) != id) {
			json_decref(m); /* an answer to nothing we are waiting for */
			continue;
		}
		json_t *e = json_object_get(m, "error");
		if (e) {
			const char *desc = json_string_value(json_object_get(e, "desc"));
			r = error_set(err, EIO, "%s", desc ? desc : "unknown QMP error");
		} else if (ret) {
			json_t *rv = json_object_get(m, "return");
			*ret = json_incref(rv ? rv : json_null());
		}
		json_decref(m);
		return r;
	}
}

int
qmp_open_fd(int fd, int timeout_ms, struct qmp **ret, struct error *err)
{
	struct qmp *q = xcalloc(1, sizeof(*q));
	q->fd = fd;
	q->events = json_array();
	int64_t deadline = monotonic_ms() + timeout_ms;
	json_t *greeting = NULL;
	int r = read_message(q, deadline, &greeting, err);
	if (r >= 0 && !json_object_get(greeting, "QMP"))
		r = error_set(err, EBADMSG, "no QMP greeting on the socket");
	json_decref(greeting);
	if (r >= 0) {
		int left = (int)MAX(deadline - monotonic_ms(), 1);
		r = qmp_command(q, "qmp_capabilities", NULL, left, NULL, err);
	}
	if (r < 0) {
		qmp_close(q);
		return r;
	}
	*ret = q;
	return 0;
}

int
qmp_connect(const char *path, int timeout_ms, struct qmp **ret, struct error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return error_set(err, ENAMETOOLONG, "QMP socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return error_errno(err, negative_errno(), "unable to create a socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = negative_errno();
		close(fd);
		return error_errno(err, r, "unable to connect to QMP socket %s", path);
	}
	return qmp_open_fd(fd, timeout_ms, ret, err);
}

json_t *
qmp_events(struct qmp *q)
{
	return q->events;
}

void
qmp_close(struct qmp *q)
{
	if (!q)
		return;
	if (q->fd >= 0)
		close(q->fd);
	sb_free(&q->in);
	json_decref(q->events);
	free(q);
}
