/* The root daemon's event loop (libuv): the CLI and proxy sockets, request/response frames,
 * delayed answers, the thread pool for blocking work, the proxy process (restarted when it
 * dies), host figures, metrics rounds, and a clean stop on SIGTERM. */
#include "api/authcache.h"
#include "api/lxc-common.h"
#include "api/metrics.h"
#include "api/nextid.h"
#include "basic/fileio.h"
#include "basic/log.h"
#include "daemon/daemon.h"
#include "guest/cgroup.h"
#include "shared/frame.h"
#include "store/store.h"
#include "task/task.h"

#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

struct conn {
	struct conn *next, *prev;
	struct daemon *d;
	int fd;
	uv_poll_t poll;
	int events;
	struct frame_reader rd;
	struct frame_writer wr;
	enum api_source source;
	bool closed;
	unsigned refs; /* the socket itself + one per request in flight */
};

/* ---- connections ---- */

static void
conn_unref(struct conn *c)
{
	if (--c->refs > 0)
		return;
	frame_reader_done(&c->rd);
	frame_writer_done(&c->wr);
	free(c);
}

static void
on_conn_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	close(c->fd);
	conn_unref(c);
}

static void
conn_close(struct conn *c)
{
	if (c->closed)
		return;
	c->closed = true;
	struct daemon *d = c->d;
	if (c->prev)
		c->prev->next = c->next;
	else
		d->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	uv_poll_stop(&c->poll);
	uv_close((uv_handle_t *)&c->poll, on_conn_closed);
}

static void on_conn_event(uv_poll_t *p, int status, int events);

static void
conn_want(struct conn *c, int events)
{
	if (c->closed || c->events == events)
		return;
	c->events = events;
	uv_poll_start(&c->poll, events, on_conn_event);
}

static void
conn_flush(struct conn *c)
{
	if (c->closed)
		return;
	int r = frame_writer_flush(&c->wr, c->fd);
	if (r < 0) {
		conn_close(c);
		return;
	}
	conn_want(c, r == 0 ? UV_READABLE | UV_WRITABLE : UV_READABLE);
}

static void
send_response(struct conn *c, uint64_t id, int status, const char *message, const char *body,
              size_t body_len, const char *content_type, int fd)
{
	if (c->closed) {
		if (fd >= 0)
			close(fd);
		return;
	}
	json_t *hdr = json_pack("{s:s, s:I, s:i, s:s}", "type", "response", "id", (json_int_t)id,
	                        "status", status, "message", message);
	if (body)
		json_object_set_new(hdr, "content_type",
		                    json_string(content_type ? content_type
		                                             : "application/json;charset=UTF-8"));
	/* the writer closes the descriptor once it went out */
	frame_writer_push(&c->wr, hdr, body, body ? body_len : 0, fd >= 0 ? &fd : NULL,
	                  fd >= 0 ? 1 : 0);
	conn_flush(c);
}

/* ---- answers ---- */

struct delayed {
	uv_timer_t timer;
	struct conn *conn;
	uint64_t id;
	int status;
	char *message;
	char *body;
	size_t body_len;
};

static void
on_delayed_closed(uv_handle_t *h)
{
	struct delayed *dl = h->data;
	free(dl->message);
	free(dl->body);
	free(dl);
}

static void
on_delay_done(uv_timer_t *t)
{
	struct delayed *dl = t->data;
	send_response(dl->conn, dl->id, dl->status, dl->message, dl->body, dl->body_len, NULL, -1);
	conn_unref(dl->conn);
	uv_close((uv_handle_t *)&dl->timer, on_delayed_closed);
}

static void
on_api_done(struct api_call *call, struct api_response *resp)
{
	struct conn *c = call->transport;
	struct daemon *d = c->d;
	if (resp->delay_ms > 0 && !c->closed && !d->stopping) {
		/* answer later without holding anyone else up; the connection stays referenced */
		struct delayed *dl = xcalloc(1, sizeof(*dl));
		dl->conn = c;
		dl->id = call->transport_id;
		dl->status = resp->status;
		dl->message = xstrdup(resp->message);
		if (resp->body) {
			dl->body = xstrndup(resp->body, resp->body_len);
			dl->body_len = resp->body_len;
		}
		if (resp->fd >= 0)
			close(resp->fd); /* only 200 answers carry one, and those are never delayed
			                  */
		uv_timer_init(d->loop, &dl->timer);
		dl->timer.data = dl;
		uv_timer_start(&dl->timer, on_delay_done, resp->delay_ms, 0);
	} else {
		send_response(c, call->transport_id, resp->status, resp->message, resp->body,
		              resp->body_len, resp->content_type, resp->fd);
		conn_unref(c);
	}
	api_call_free(call);
}

static const char *
hdr_str(json_t *hdr, const char *key)
{
	return json_string_value(json_object_get(hdr, key));
}

static void
handle_frame(struct conn *c, struct frame *f)
{
	const char *type = hdr_str(f->hdr, "type");
	if (!streq(type, "request")) {
		log_warn("ignoring a '%s' message on the %s socket", type,
		         c->source == API_SOURCE_PROXY ? "proxy" : "API");
		return;
	}
	struct api_request req = {
		.source = c->source,
		.method = hdr_str(f->hdr, "method"),
		.path = hdr_str(f->hdr, "path"),
		.query = hdr_str(f->hdr, "query"),
		.content_type = hdr_str(f->hdr, "content_type"),
		.cookie = hdr_str(f->hdr, "cookie"),
		.authorization = hdr_str(f->hdr, "authorization"),
		.csrf = hdr_str(f->hdr, "csrf"),
		/* the client address is only trusted from the proxy */
		.client = c->source == API_SOURCE_PROXY ? hdr_str(f->hdr, "client") : "local",
		.body = f->payload,
		.body_len = f->payload_len,
		.preflight = json_is_true(json_object_get(f->hdr, "preflight")),
		/* only the proxy relays websockets */
		.websocket = c->source == API_SOURCE_PROXY &&
		             json_is_true(json_object_get(f->hdr, "websocket")),
		.upload_fd = -1,
	};
	json_t *upload = json_object_get(f->hdr, "upload");
	if (json_is_object(upload)) {
		req.upload_fd = frame_take_fd(f, 0);
		req.upload = req.upload_fd >= 0;
		req.upload_size = (uint64_t)json_integer_value(json_object_get(upload, "size"));
	}
	struct api_call *call = xcalloc(1, sizeof(*call));
	call->upload_fd = -1;
	call->response_fd = -1;
	call->done = on_api_done;
	call->transport = c;
	call->transport_id = (uint64_t)json_integer_value(json_object_get(f->hdr, "id"));
	c->refs++;
	if (!req.method || !req.path) {
		if (req.upload)
			close(req.upload_fd);
		struct api_response resp = { .status = 400, .message = (char *)"Bad Request" };
		on_api_done(call, &resp);
		return;
	}
	api_handle(&c->d->api, &req, call);
}

static void
on_conn_event(uv_poll_t *p, int status, int events)
{
	struct conn *c = p->data;
	if (status < 0) {
		conn_close(c);
		return;
	}
	if (events & UV_WRITABLE)
		conn_flush(c);
	if (!(events & UV_READABLE) || c->closed)
		return;
	for (;;) {
		ssize_t n = frame_reader_fill(&c->rd, c->fd);
		if (n == -EAGAIN)
			break;
		if (n <= 0) {
			conn_close(c);
			return;
		}
		struct frame f;
		int k = 0;
		c->refs++; /* keep c alive while its frames are handled */
		while (!c->closed && (k = frame_reader_next(&c->rd, &f)) == 1) {
			handle_frame(c, &f);
			frame_done(&f);
		}
		bool bad = !c->closed && k < 0;
		if (bad) {
			log_warn("closing a connection that sent a corrupt message");
			conn_close(c);
		}
		/* read before the unref: c may be gone after it */
		bool closed = c->closed;
		conn_unref(c);
		if (closed)
			return;
	}
}

/* ---- listening sockets ---- */

static int
listen_unix(const char *path, uid_t owner, struct error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return error_set(err, ENAMETOOLONG, "socket path '%s' is too long", path);
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return error_errno(err, negative_errno(), "socket");
	unlink(path);
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || chown(path, owner, (gid_t)-1) < 0 || chmod(path, 0600) < 0 ||
	    listen(fd, 128) < 0) {
		r = negative_errno();
		close(fd);
		return error_errno(err, r, "unable to listen on '%s'", path);
	}
	return fd;
}

static void
on_accept(uv_poll_t *p, int status, int events)
{
	struct daemon *d = p->data;
	bool proxy = p == &d->proxy_listen;
	int lfd = proxy ? d->proxy_listen_fd : d->api_listen_fd;
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct ucred cred;
		socklen_t len = sizeof(cred);
		uid_t want = proxy ? d->proxy_uid : 0;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != want) {
			log_warn("refused a connection on the %s socket from uid %d",
			         proxy ? "proxy" : "API", (int)cred.uid);
			close(fd);
			continue;
		}
		struct conn *c = xcalloc(1, sizeof(*c));
		c->d = d;
		c->fd = fd;
		c->refs = 1;
		c->source = proxy ? API_SOURCE_PROXY : API_SOURCE_LOCAL_ROOT;
		uv_poll_init(d->loop, &c->poll, fd);
		c->poll.data = c;
		c->next = d->conns;
		if (d->conns)
			d->conns->prev = c;
		d->conns = c;
		conn_want(c, UV_READABLE);
	}
}

/* ---- blocking work on the thread pool ---- */

struct blocking {
	uv_work_t req;
	void (*work)(void *);
	void (*after)(void *);
	void *arg;
};

static void
blocking_work(uv_work_t *req)
{
	struct blocking *b = req->data;
	b->work(b->arg);
}

static void
blocking_after(uv_work_t *req, int status)
{
	struct blocking *b = req->data;
	b->after(b->arg);
	free(b);
}

static int
run_blocking(struct api_ctx *ctx, void (*work)(void *), void (*after)(void *), void *arg)
{
	struct daemon *d = ctx->daemon;
	struct blocking *b = xcalloc(1, sizeof(*b));
	b->work = work;
	b->after = after;
	b->arg = arg;
	b->req.data = b;
	int r = uv_queue_work(d->loop, &b->req, blocking_work, blocking_after);
	if (r < 0)
		free(b);
	return r;
}

/* ---- the proxy process ---- */

static void spawn_proxy(struct daemon *d);

static void
on_proxy_restart(uv_timer_t *t)
{
	spawn_proxy(t->data);
}

static void
on_proxy_closed(uv_handle_t *h)
{
}

static void
on_proxy_exit(uv_process_t *p, int64_t status, int sig)
{
	struct daemon *d = p->data;
	d->proxy_running = false;
	uv_close((uv_handle_t *)p, on_proxy_closed);
	if (d->stopping)
		return;
	unsigned delay = MIN(1000u * (d->proxy_restarts + 1), 10000u);
	log_warn("proxy exited (%s %d); restarting it in %u ms", sig ? "signal" : "status",
	         sig ? sig : (int)status, delay);
	d->proxy_restarts++;
	uv_timer_start(&d->proxy_restart_timer, on_proxy_restart, delay, 0);
}

static void
spawn_proxy(struct daemon *d)
{
	_cleanup_free_ char *upload_dir = xasprintf("%s/upload", d->opt.root);
	char *args[] = { d->proxy_exe,
		         "--listen",
		         (char *)d->opt.listen,
		         "--cert",
		         d->cert_path,
		         "--key",
		         d->key_path,
		         "--www",
		         (char *)d->opt.www,
		         "--upstream",
		         d->proxy_sock,
		         "--user",
		         (char *)d->opt.proxy_user,
		         "--port-file",
		         d->port_file,
		         "--upload-dir",
		         upload_dir,
		         NULL };
	uv_stdio_container_t stdio[3] = {
		{ .flags = UV_IGNORE },
		{ .flags = UV_INHERIT_FD, .data.fd = STDOUT_FILENO },
		{ .flags = UV_INHERIT_FD, .data.fd = STDERR_FILENO },
	};
	uv_process_options_t o = {
		.exit_cb = on_proxy_exit,
		.file = d->proxy_exe,
		.args = args,
		.stdio_count = 3,
		.stdio = stdio,
	};
	d->proxy.data = d;
	int r = uv_spawn(d->loop, &d->proxy, &o);
	if (r < 0) {
		log_err("unable to start the proxy: %s", uv_strerror(r));
		uv_close((uv_handle_t *)&d->proxy, on_proxy_closed);
		d->proxy_restarts++;
		uv_timer_start(&d->proxy_restart_timer, on_proxy_restart, 5000, 0);
		return;
	}
	d->proxy_running = true;
}

/* The proxy, once it dropped to its user, connects to run/proxy.sock by path: every directory
 * above it must be searchable by that user. Say so at start instead of a proxy that keeps
 * failing with "Permission denied" (e.g. a root directory made by mktemp -d, mode 0700). */
/* Every guest start moves processes into cgroups; on a host without favordynmods each
 * move may wait for an RCU grace period (see cg_favor_dynmods). A host that refuses the
 * option (kernel before 6.0) only gets a warning. */
static void
prepare_cgroups(void)
{
	struct error err = { 0 };
	/* the detection the guest code uses (cached); no cgroups: nothing to remount */
	int r = cg_favor_dynmods(ct_cg_host(), &err);
	if (r > 0)
		log_info("remounted cgroup2 with favordynmods: moving a guest's process into its "
		         "cgroup no longer waits for an RCU grace period");
	else if (r < 0)
		log_warn("%s; guest starts may take 20 ms longer", err.msg);
}

static int
check_proxy_reaches(struct daemon *d, const char *path, struct error *err)
{
	_cleanup_free_ char *p = xstrdup(path);
	for (char *slash = p; slash;) {
		slash = strchr(slash + 1, '/');
		if (slash)
			*slash = '\0';
		struct stat st;
		if (stat(p[0] ? p : "/", &st) == 0) {
			bool ok = (st.st_uid == d->proxy_uid && (st.st_mode & S_IXUSR)) ||
			          (st.st_gid == d->proxy_gid && (st.st_mode & S_IXGRP)) ||
			          (st.st_mode & S_IXOTH);
			if (!ok)
				return error_set(
				        err, EACCES,
				        "the proxy user '%s' cannot reach %s: directory '%s' "
				        "(mode %04o) is not searchable by it; choose a --root "
				        "below directories others may enter, or chmod o+x '%s'",
				        d->opt.proxy_user, path, p, st.st_mode & 07777, p);
		}
		if (slash)
			*slash = '/';
	}
	return 0;
}

int
daemon_resolve_proxy_user(struct daemon *d, struct error *err)
{
	struct passwd *pw = getpwnam(d->opt.proxy_user);
	if (!pw) {
		log_warn("user '%s' does not exist; the proxy runs as 'nobody' "
		         "(scripts/setup-host.sh "
		         "creates '%s')",
		         d->opt.proxy_user, d->opt.proxy_user);
		d->opt.proxy_user = "nobody";
		pw = getpwnam("nobody");
	}
	if (!pw)
		return error_set(err, ENOENT, "neither user '%s' nor 'nobody' exists",
		                 d->opt.proxy_user);
	d->proxy_uid = pw->pw_uid;
	d->proxy_gid = pw->pw_gid;
	return check_proxy_reaches(d, d->run_dir, err);
}

/* ---- signals and timers ---- */

static void
on_stop_signal(uv_signal_t *s, int signum)
{
	struct daemon *d = s->data;
	log_info("received %s, shutting down (guests and tasks keep running)",
	         signum == SIGTERM ? "SIGTERM" : "SIGINT");
	d->stopping = true;
	uv_stop(d->loop);
}

static void
on_hup(uv_signal_t *s, int signum)
{
	/* nothing to reload: configuration lives in the store and is read on use */
}

static void
on_stats(uv_timer_t *t)
{
	struct daemon *d = t->data;
	hoststats_sample(&d->host);
}

static void
on_metrics(uv_timer_t *t)
{
	struct daemon *d = t->data;
	metrics_sample(&d->api);
}

static void
stop_proxy(struct daemon *d)
{
	if (!d->proxy_running)
		return;
	pid_t pid = d->proxy.pid;
	kill(pid, SIGTERM);
	for (int i = 0; i < 50; i++) {
		pid_t w = waitpid(pid, NULL, WNOHANG);
		if (w == pid || (w < 0 && errno == ECHILD))
			return;
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* After a host boot, the first berthd start runs the "startall" task (onboot guests in
 * startup order), as Proxmox VE's pve-guests service does. The boot is recognised by the
 * kernel's boot id, remembered in <run>/boot-id; restarting berthd within one boot starts
 * nothing. */
static void
start_onboot_guests(struct daemon *d)
{
	_cleanup_free_ char *boot_id = NULL;
	if (read_file("/proc/sys/kernel/random/boot_id", 64, &boot_id, NULL) < 0)
		return;
	_cleanup_free_ char *path = xasprintf("%s/boot-id", d->run_dir);
	_cleanup_free_ char *seen = NULL;
	if (read_file(path, 64, &seen, NULL) >= 0 && streq(seen, boot_id))
		return;
	int r = write_file_atomic(path, boot_id, strlen(boot_id), 0644);
	if (r < 0) {
		log_warn("unable to write %s: %s", path, strerror(-r));
		return;
	}
	/* no task at all when no guest asks for it */
	_cleanup_free_ char *prefix = xasprintf("nodes/%s/", d->opt.node);
	char **paths = NULL;
	bool any = false;
	if (store_list(d->store, prefix, &paths) >= 0) {
		for (char **p = paths; *p && !any; p++) {
			struct store_file f = { 0 };
			if (!strstr(*p, "/lxc/") && !strstr(*p, "/qemu-server/"))
				continue;
			if (store_read(d->store, *p, &f) == 0)
				any = strstr(f.data, "\nonboot: 1\n") ||
				      startswith(f.data, "onboot: 1\n");
			store_file_done(&f);
		}
		store_strv_free(paths);
	}
	if (!any)
		return;
	char *upid = NULL;
	struct error err = { 0 };
	if (taskmgr_start(d->tasks, "startall", "", "root@pam", NULL, &upid, &err) < 0)
		log_warn("unable to start onboot guests: %s", err.msg);
	else
		log_info("starting onboot guests: %s", upid);
	free(upid);
}

int
daemon_run(struct daemon *d, struct error *err)
{
	d->loop = uv_default_loop();
	/* after going to the background, so it names the daemon itself */
	_cleanup_free_ char *pid = xasprintf("%d\n", (int)getpid());
	_cleanup_free_ char *pidfile = xasprintf("%s/berthd.pid", d->run_dir);
	(void)write_file_atomic(pidfile, pid, strlen(pid), 0644);

	int r = daemon_resolve_proxy_user(d, err);
	if (r < 0)
		return r;

	struct api_ctx *api = &d->api;
	api->store = d->store;
	api->node = d->opt.node;
	api->root_dir = d->opt.root;
	api->pam_service = d->opt.pam_service;
	api->failed_login_delay_ms = d->opt.failed_login_delay_ms;
	api->run_blocking = run_blocking;
	api->wait_task = daemon_wait_task;
	api->daemon = d;
	api->host = &d->host;
	api->nextid = nextid_new();
	api->metrics = metrics_sampler_new(d->opt.rrd_step);
	d->host.ncpus = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	hoststats_sample(&d->host);

	r = api_router_new(&api->router, err);
	if (r < 0)
		return r;
	r = authcache_new(d->store, &api->auth);
	if (r < 0)
		return error_errno(err, r, "unable to load the access configuration");
	prepare_cgroups();
	const char *worker_argv[] = { SELF_EXE, "--worker",  "--root", d->opt.root,
		                      "--node", d->opt.node, NULL };
	r = taskmgr_open(d->loop, d->task_dir, d->opt.node, worker_argv, &d->tasks, err);
	if (r < 0)
		return r;
	api->tasks = d->tasks;
	taskmgr_set_done_callback(d->tasks, daemon_task_settled, d);
	taskmgr_set_spare(d->tasks, true);

	d->api_listen_fd = listen_unix(d->api_sock, 0, err);
	if (d->api_listen_fd < 0)
		return d->api_listen_fd;
	d->proxy_listen_fd = listen_unix(d->proxy_sock, d->proxy_uid, err);
	if (d->proxy_listen_fd < 0)
		return d->proxy_listen_fd;
	uv_poll_init(d->loop, &d->api_listen, d->api_listen_fd);
	uv_poll_init(d->loop, &d->proxy_listen, d->proxy_listen_fd);
	d->api_listen.data = d->proxy_listen.data = d;
	uv_poll_start(&d->api_listen, UV_READABLE, on_accept);
	uv_poll_start(&d->proxy_listen, UV_READABLE, on_accept);

	signal(SIGPIPE, SIG_IGN);
	uv_signal_init(d->loop, &d->sig_term);
	uv_signal_init(d->loop, &d->sig_int);
	uv_signal_init(d->loop, &d->sig_hup);
	d->sig_term.data = d->sig_int.data = d->sig_hup.data = d;
	uv_signal_start(&d->sig_term, on_stop_signal, SIGTERM);
	uv_signal_start(&d->sig_int, on_stop_signal, SIGINT);
	uv_signal_start(&d->sig_hup, on_hup, SIGHUP);

	uv_timer_init(d->loop, &d->stats_timer);
	d->stats_timer.data = d;
	uv_timer_start(&d->stats_timer, on_stats, 1000, 5000);
	uv_timer_init(d->loop, &d->metrics_timer);
	d->metrics_timer.data = d;
	uv_timer_start(&d->metrics_timer, on_metrics, 1000, 1000 * (uint64_t)d->opt.rrd_interval);
	uv_timer_init(d->loop, &d->proxy_restart_timer);
	d->proxy_restart_timer.data = d;

	spawn_proxy(d);
	start_onboot_guests(d);
	log_info("berthd %s started: node '%s', root '%s', listening on %s", BERTH_VERSION,
	         d->opt.node, d->opt.root, d->opt.listen);

	uv_run(d->loop, UV_RUN_DEFAULT);

	/* stopping: the proxy goes, guests and task workers stay */
	stop_proxy(d);
	unlink(d->api_sock);
	unlink(d->proxy_sock);
	taskmgr_close(d->tasks);
	authcache_free(api->auth);
	api_router_free(api->router);
	nextid_free(api->nextid);
	metrics_sampler_free(api->metrics);
	store_close(d->store);
	log_info("berthd stopped");
	return 0;
}
