/* The "vncproxy" task of a console session: attach to a CT's console through liblxc, or
 * connect to a VM's serial port or VNC display socket; listen on
 * <root>/run/console/<vmid>-<port>.sock for the one connection the root daemon hands to the
 * proxy, and speak Proxmox's termproxy protocol on it:
 *   first "<user>:<ticket>\n" (answered "OK"), then "0:<len>:<data>" input,
 *   "1:<cols>:<rows>:" resize, "2" ping; output is the terminal's raw bytes.
 * A VM's VNC display is relayed as RFB instead, its security handshake ended here. */
#include "api/console.h"
#include "api/qemu-common.h"
#include "basic/clock.h"
#include "basic/fileio.h"
#include "basic/strbuf.h"

#include <arpa/inet.h>
#include <lxc/lxccontainer.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#define ACCEPT_TIMEOUT_MS 10000 /* as PVE's termproxy */
#define MSG_MAX           (64u << 10)
#define RFB_TIMEOUT_MS    30000 /* for each side's security handshake */

/* A unix stream socket and the address of path, for listen_unix and console_connect_unix. */
static int
unix_socket(const char *path, struct sockaddr_un *sa, struct error *err)
{
	*sa = (struct sockaddr_un){ .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa->sun_path))
		return error_set(err, ENAMETOOLONG, "socket path too long: %s", path);
	strcpy(sa->sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	return fd < 0 ? error_errno(err, -errno, "socket") : fd;
}

static int
listen_unix(const char *path, struct error *err)
{
	struct sockaddr_un sa;
	int fd = unix_socket(path, &sa, err);
	if (fd < 0)
		return fd;
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

/* Raw bytes both ways (a VM's VNC display, once both security handshakes are done). */
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

/* ---- RFB's security handshake (RFC 6143, 7.1-7.2), ended here on both sides ----
 * QEMU's display is a root-only socket without a password: the session asks it for None.
 * The client is offered None (the vncticket checked at the websocket upgrade is the access
 * control) or, when vncproxy made a password (generate-password), VNC Authentication with
 * it, checked here before any byte of the client reaches QEMU. From ClientInit on, both are
 * relayed raw. */

#define RFB_VERSION  "RFB 003.008\n"
#define RFB_SEC_NONE 1
#define RFB_SEC_VNC  2

/* Read exactly n bytes before the deadline (monotonic ms). */
static int
read_until(int fd, void *buf, size_t n, int64_t deadline)
{
	char *p = buf;
	while (n) {
		int64_t left = deadline - monotonic_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r <= 0)
			continue;
		ssize_t k = read(fd, p, n);
		if (k < 0 && errno != EINTR)
			return -errno;
		if (k == 0)
			return -EPIPE;
		if (k > 0) {
			p += k;
			n -= (size_t)k;
		}
	}
	return 0;
}

static int
write_u32(int fd, uint32_t v)
{
	v = htonl(v);
	return write_all(fd, &v, sizeof(v));
}

/* VNC Authentication's answer to a challenge: DES-ECB under the password's first 8 bytes,
 * each with its bits reversed (RFB's quirk). Single DES is 3DES with three equal keys, as
 * OpenSSL 3 keeps single DES in its legacy provider only. */
static int
vnc_auth_response(const char *password, const uint8_t challenge[16], uint8_t ret[16])
{
	uint8_t key[24] = { 0 };
	for (size_t i = 0; i < 8 && password[i]; i++)
		for (int b = 0; b < 8; b++)
			key[i] |= (uint8_t)((((uint8_t)password[i] >> b) & 1) << (7 - b));
	memcpy(key + 8, key, 8);
	memcpy(key + 16, key, 8);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int len = 0;
	bool ok = ctx && EVP_EncryptInit_ex(ctx, EVP_des_ede3_ecb(), NULL, key, NULL) == 1 &&
	          EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
	          EVP_EncryptUpdate(ctx, ret, &len, challenge, 16) == 1 && len == 16;
	EVP_CIPHER_CTX_free(ctx);
	explicit_bzero(key, sizeof(key));
	return ok ? 0 : -EIO;
}

/* Towards QEMU's display, up to (not including) ClientInit: RFB 3.8, security type None. */
static int
rfb_display_handshake(int fd, struct error *err)
{
	int64_t deadline = monotonic_ms() + RFB_TIMEOUT_MS;
	char version[12];
	uint8_t n = 0, types[255], none = RFB_SEC_NONE;
	uint32_t result = 1;
	int r = read_until(fd, version, sizeof(version), deadline);
	if (r >= 0 && memcmp(version, "RFB 003.", 8) != 0)
		return error_set(err, EPROTO, "the VM's display does not speak RFB");
	if (r >= 0 && (r = write_all(fd, RFB_VERSION, 12)) >= 0 &&
	    (r = read_until(fd, &n, 1, deadline)) >= 0)
		r = read_until(fd, types, n, deadline);
	if (r < 0)
		return error_errno(err, r, "RFB handshake with the VM's display failed");
	if (!n || !memchr(types, RFB_SEC_NONE, n))
		return error_set(err, EACCES,
		                 "the VM's display does not accept security type None");
	if ((r = write_all(fd, &none, 1)) < 0 ||
	    (r = read_until(fd, &result, sizeof(result), deadline)) < 0)
		return error_errno(err, r, "RFB handshake with the VM's display failed");
	if (result != 0)
		return error_set(err, EACCES, "the VM's display refused the connection");
	return 0;
}

/* Tell an RFB client its security handshake failed (a reason from 3.8 on). */
static void
rfb_refuse(int fd, unsigned minor, const char *reason)
{
	if (write_u32(fd, 1) >= 0 && minor >= 8 && write_u32(fd, (uint32_t)strlen(reason)) >= 0)
		(void)write_all(fd, reason, strlen(reason));
}

/* Towards the client, up to its ClientInit: announce 3.8 and take 3.3, 3.7 or 3.8 (what it
 * answers above 3.8 counts as 3.8, anything else as 3.3, as RFC 6143 says); None, or VNC
 * Authentication with password. -EACCES when the client failed it (it was told). */
static int
rfb_client_handshake(int fd, const char *password, struct error *err)
{
	int64_t deadline = monotonic_ms() + RFB_TIMEOUT_MS;
	char version[13] = { 0 };
	unsigned major = 0, minor = 0;
	uint8_t type = password ? RFB_SEC_VNC : RFB_SEC_NONE, chosen = 0;
	int r = write_all(fd, RFB_VERSION, 12);
	if (r >= 0)
		r = read_until(fd, version, 12, deadline);
	if (r < 0)
		return error_errno(err, r, "RFB handshake with the client failed");
	if (sscanf(version, "RFB %3u.%3u", &major, &minor) != 2 || major != 3 ||
	    version[11] != '\n')
		return error_set(err, EPROTO, "the client does not speak RFB");
	minor = minor >= 8 ? 8 : minor == 7 ? 7 : 3;
	if (minor >= 7) {
		uint8_t offer[2] = { 1, type };
		if ((r = write_all(fd, offer, sizeof(offer))) >= 0)
			r = read_until(fd, &chosen, 1, deadline);
		if (r >= 0 && chosen != type) {
			rfb_refuse(fd, minor, "security type not offered");
			return error_set(err, EPROTO, "the client chose security type %u", chosen);
		}
	} else {
		r = write_u32(fd, type);
	}
	if (r >= 0 && type == RFB_SEC_VNC) {
		uint8_t challenge[16], response[16], expect[16];
		if (getrandom(challenge, sizeof(challenge), 0) != (ssize_t)sizeof(challenge) ||
		    vnc_auth_response(password, challenge, expect) < 0)
			return error_set(err, EIO, "unable to make a VNC challenge");
		if ((r = write_all(fd, challenge, sizeof(challenge))) >= 0)
			r = read_until(fd, response, sizeof(response), deadline);
		if (r >= 0 && !const_time_equal(response, expect, sizeof(expect))) {
			rfb_refuse(fd, minor, "Authentication failed");
			return error_set(err, EACCES, "VNC authentication failed");
		}
	}
	/* SecurityResult: always after VNC Authentication, after None only from 3.8 on */
	if (r >= 0 && (type == RFB_SEC_VNC || minor >= 8))
		r = write_u32(fd, 0);
	if (r < 0)
		return error_errno(err, r, "RFB handshake with the client failed");
	return 0;
}

int
console_connect_unix(const char *path, struct error *err)
{
	struct sockaddr_un sa;
	int fd = unix_socket(path, &sa, err);
	if (fd < 0)
		return fd;
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
	const char *password = json_string_value(json_object_get(params, "password"));
	bool vm = kind && streq(kind, "qemu");
	struct session s = { .user = json_string_value(json_object_get(params, "user")),
		             .ticket = json_string_value(json_object_get(params, "ticket")) };
	if (!s.user || !s.ticket || (vm && !what))
		return error_set(err, EINVAL, "missing session parameters");

	/* what the session relays: a CT's console, a VM's serial port or its VNC display */
	_cleanup_close_ int target = -1, keep = -1, lfd = -1, sock = -1;
	int r;
	bool rfb = vm && streq(what, "vnc");
	if (vm) {
		_cleanup_free_ char *run = vm_run_dir(env->root_dir);
		struct qemu_env q = { .run_dir = run };
		_cleanup_free_ char *sockpath = qemu_run_path(&q, vmid, what);
		r = target = console_connect_unix(sockpath, err);
		if (r >= 0 && rfb)
			r = rfb_display_handshake(target, err);
	} else {
		r = attach_ct(env->root_dir, vmid, &target, &keep, err);
	}
	if (r < 0)
		return r;

	_cleanup_free_ char *dir = xasprintf("%s/run/console", env->root_dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return error_errno(err, -errno, "unable to create '%s'", dir);
	_cleanup_free_ char *path = xasprintf("%s/%u-%u.sock", dir, vmid, port);
	lfd = listen_unix(path, err);
	if (lfd < 0)
		return lfd;
	task_log(w, "%s of %s %u waiting on port %u", vm ? what : "console", vm ? "VM" : "CT", vmid,
	         port);
	struct pollfd pl = { .fd = lfd, .events = POLLIN };
	if (poll(&pl, 1, ACCEPT_TIMEOUT_MS) > 0)
		sock = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	close(TAKE_FD(lfd));
	unlink(path);
	if (sock < 0)
		return error_set(err, ETIMEDOUT, "no connection within %d seconds",
		                 ACCEPT_TIMEOUT_MS / 1000);
	task_log(w, "connected");
	if (rfb) {
		r = rfb_client_handshake(sock, password, err);
		if (r < 0)
			return r;
		r = relay_raw(w, sock, target);
	} else {
		s.sock = sock;
		s.pty = target;
		r = relay(w, &s);
		sb_free(&s.in);
	}
	if (r == -EACCES)
		return error_set(err, EACCES, "authentication failed");
	if (r < 0)
		return error_set(err, EPROTO, "protocol error");
	task_log(w, "disconnected");
	return 0;
}
