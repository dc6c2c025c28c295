/* The "vncproxy" task of a console session: attach to a CT's console through liblxc, or
 * connect to a VM's serial port or VNC display socket; listen on
 * <root>/run/console/<vmid>-<port>.sock for the one connection the root daemon hands to the
 * proxy, and speak Proxmox's termproxy protocol on it:
 *   first "<user>:<ticket>\n" (answered "OK"), then "0:<len>:<data>" input,
 *   "1:<cols>:<rows>:" resize, "2" ping; output is the terminal's raw bytes.
 * A VM's VNC display is relayed raw (RFB) instead. */
#include "api/qemu-common.h"
#include "basic/fileio.h"
#include "basic/strbuf.h"

#include <lxc/lxccontainer.h>
#include <poll.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#define ACCEPT_TIMEOUT_MS 10000 /* as PVE's termproxy */
#define MSG_MAX           (64u << 10)

static int
listen_unix(const char *path, struct error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return error_set(err, ENAMETOOLONG, "socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return error_errno(err, -errno, "socket");
	unlink(path);
	mode_t old = umask(0077);
	int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(fd, 1) < 0) {
		r = -errno;
		close(fd);
		return error_errno(err, r, "unable to listen on '%s'", path);
	}
	return fd;
}

struct session {
	struct strbuf in; /* bytes from the client not yet parsed */
	bool authed;
	const char *user, *ticket;
	int sock, pty;
};

/* Parse complete messages from s->in; -EPROTO ends the session. */
static int
handle_input(struct session *s)
{
	for (;;) {
		char *b = s->in.buf;
		size_t len = s->in.len;
		if (!len)
			return 0;
		if (!s->authed) {
			char *nl = memchr(b, '\n', len);
			if (!nl)
				return len > 4096 ? -EPROTO : 0;
			*nl = '\0';
			/* "<user>:<ticket>": the ticket this session was started with */
			size_t ulen = strlen(s->user);
			bool ok = strncmp(b, s->user, ulen) == 0 && b[ulen] == ':' &&
			          strlen(b + ulen + 1) == strlen(s->ticket) &&
			          const_time_equal(b + ulen + 1, s->ticket, strlen(s->ticket));
			if (!ok)
				return -EACCES;
			s->authed = true;
			if (write_all(s->sock, "OK", 2) < 0)
				return -EPIPE;
			sb_consume(&s->in, (size_t)(nl - b) + 1);
			continue;
		}
		if (b[0] == '2') { /* ping */
			sb_consume(&s->in, 1);
			continue;
		}
		if ((b[0] != '0' && b[0] != '1') || (len >= 2 && b[1] != ':'))
			return -EPROTO;
		/* find the fields: "0:<len>:" or "1:<cols>:<rows>:" */
		char *end = memchr(b + 2, ':', len - 2);
		if (!end)
			return len > 32 ? -EPROTO : 0;
		unsigned long n1 = strtoul(b + 2, NULL, 10);
		if (b[0] == '0') {
			if (n1 > MSG_MAX)
				return -EPROTO;
			size_t head = (size_t)(end - b) + 1;
			if (len < head + n1)
				return 0;
			if (write_all(s->pty, end + 1, n1) < 0)
				return -EPIPE;
			sb_consume(&s->in, head + n1);
			continue;
		}
		char *end2 = memchr(end + 1, ':', len - (size_t)(end + 1 - b));
		if (!end2)
			return len > 32 ? -EPROTO : 0;
		unsigned long rows = strtoul(end + 1, NULL, 10);
		struct winsize ws = { .ws_row = (unsigned short)rows,
			              .ws_col = (unsigned short)n1 };
		if (n1 && rows && n1 < 10000 && rows < 10000)
			ioctl(s->pty, TIOCSWINSZ, &ws);
		sb_consume(&s->in, (size_t)(end2 - b) + 1);
	}
}

static int
relay(struct task_worker *w, struct session *s)
{
	char buf[16384];
	for (;;) {
		struct pollfd p[2] = { { .fd = s->sock, .events = POLLIN },
			               { .fd = s->pty, .events = s->authed ? POLLIN : 0 } };
		int n = poll(p, 2, 1000);
		if (n < 0 && errno == EINTR)
			continue;
		if (task_interrupted(w))
			return 0;
		if (n <= 0)
			continue;
		if (p[0].revents) {
			ssize_t k = read(s->sock, buf, sizeof(buf));
			if (k <= 0)
				return 0; /* the client went away */
			sb_append(&s->in, buf, (size_t)k);
			int r = handle_input(s);
			if (r < 0)
				return r;
		}
		if (p[1].revents) {
			ssize_t k = read(s->pty, buf, sizeof(buf));
			if (k <= 0)
				return 0; /* the console closed (CT stopped) */
			if (write_all(s->sock, buf, (size_t)k) < 0)
				return 0;
		}
	}
}

/* Raw bytes both ways (a VM's VNC display: RFB end to end, the ticket was checked by the
 * websocket upgrade). */
static int
relay_raw(struct task_worker *w, int a, int b)
{
	char buf[65536];
	for (;;) {
		struct pollfd p[2] = { { .fd = a, .events = POLLIN },
			               { .fd = b, .events = POLLIN } };
		int n = poll(p, 2, 1000);
		if (n < 0 && errno == EINTR)
			continue;
		if (task_interrupted(w))
			return 0;
		for (int i = 0; n > 0 && i < 2; i++) {
			if (!p[i].revents)
				continue;
			ssize_t k = read(p[i].fd, buf, sizeof(buf));
			if (k <= 0 || write_all(p[1 - i].fd, buf, (size_t)k) < 0)
				return 0;
		}
	}
}

static int
connect_unix(const char *path, struct error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return error_set(err, ENAMETOOLONG, "socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return error_errno(err, -errno, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		close(fd);
		return error_errno(err, r, "unable to connect to '%s'", path);
	}
	return fd;
}

/* The CT's console through liblxc: the pty (*ret_pty) and the tty fd that keeps it. */
static int
attach_ct(const char *root_dir, unsigned vmid, int *ret_pty, int *ret_keep, struct error *err)
{
	char lxcpath[4096], name[16];
	snprintf(lxcpath, sizeof(lxcpath), "%s/lxc", root_dir);
	snprintf(name, sizeof(name), "%u", vmid);
	struct lxc_container *lc = lxc_container_new(name, lxcpath);
	if (!lc)
		return error_set(err, ENOMEM, "unable to open container %u", vmid);
	int ttynum = 0, ptx = -1;
	int ttyfd = lc->is_running(lc) ? lc->console_getfd(lc, &ttynum, &ptx) : -1;
	lxc_container_put(lc);
	if (ttyfd < 0 || ptx < 0)
		return error_set(err, EIO, "unable to attach to the console of CT %u", vmid);
	*ret_pty = ptx;
	*ret_keep = ttyfd;
	return 0;
}

int
console_task_run(struct task_worker *w, json_t *params, struct error *err)
{
	struct worker_env *env = task_userdata(w);
	unsigned vmid = (unsigned)json_integer_value(json_object_get(params, "vmid"));
	unsigned port = (unsigned)json_integer_value(json_object_get(params, "port"));
	const char *kind = json_string_value(json_object_get(params, "kind"));
	const char *what = json_string_value(json_object_get(params, "what"));
	bool vm = kind && streq(kind, "qemu");
	struct session s = { .user = json_string_value(json_object_get(params, "user")),
		             .ticket = json_string_value(json_object_get(params, "ticket")),
		             .sock = -1,
		             .pty = -1 };
	if (!s.user || !s.ticket || (vm && !what))
		return error_set(err, EINVAL, "missing session parameters");

	/* what the session relays: a CT's console, a VM's serial port or its VNC display */
	int keep = -1, r;
	bool raw = vm && streq(what, "vnc");
	if (vm) {
		_cleanup_free_ char *run = vm_run_dir(env->root_dir);
		struct qemu_env q = { .run_dir = run };
		_cleanup_free_ char *target = qemu_run_path(&q, vmid, what);
		r = s.pty = connect_unix(target, err);
	} else {
		r = attach_ct(env->root_dir, vmid, &s.pty, &keep, err);
	}
	if (r < 0)
		return r;

	_cleanup_free_ char *dir = xasprintf("%s/run/console", env->root_dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		r = error_errno(err, -errno, "unable to create '%s'", dir);
	_cleanup_free_ char *path = xasprintf("%s/%u-%u.sock", dir, vmid, port);
	int lfd = r < 0 ? r : listen_unix(path, err);
	if (lfd < 0) {
		close(s.pty);
		if (keep >= 0)
			close(keep);
		return lfd;
	}
	task_log(w, "%s of %s %u waiting on port %u", vm ? what : "console", vm ? "VM" : "CT", vmid,
	         port);
	struct pollfd pl = { .fd = lfd, .events = POLLIN };
	r = poll(&pl, 1, ACCEPT_TIMEOUT_MS);
	if (r > 0)
		s.sock = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	close(lfd);
	unlink(path);
	if (s.sock < 0) {
		close(s.pty);
		if (keep >= 0)
			close(keep);
		return error_set(err, ETIMEDOUT, "no connection within %d seconds",
		                 ACCEPT_TIMEOUT_MS / 1000);
	}
	task_log(w, "connected");
	r = raw ? relay_raw(w, s.sock, s.pty) : relay(w, &s);
	sb_free(&s.in);
	close(s.sock);
	close(s.pty);
	if (keep >= 0)
		close(keep);
	if (r == -EACCES)
		return error_set(err, EACCES, "authentication failed");
	if (r < 0)
		return error_set(err, EPROTO, "protocol error");
	task_log(w, "disconnected");
	return 0;
}
