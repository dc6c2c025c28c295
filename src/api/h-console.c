/* Container consoles as Proxmox VE has them: POST .../termproxy starts a console session (a
 * "vncproxy" task attached to the CT's console) and answers {port, ticket, user, upid};
 * GET .../vncwebsocket with that port and ticket becomes, through the proxy, a websocket
 * relayed to the session (docs/internals.md, Consoles). */
#include "api/qemu-common.h"
#include "basic/fileio.h"
#include "auth/ticket.h"

#include <dirent.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CONSOLE_PORT_MIN 5900
#define CONSOLE_PORT_MAX 5999

static char *
console_socket_path(const char *root_dir, unsigned vmid, unsigned port)
{
	return xasprintf("%s/run/console/%u-%u.sock", root_dir, vmid, port);
}

/* The secret a console ticket binds: PVE's assemble_vnc_ticket(user, path, port). */
static char *
ticket_data(const char *user, unsigned vmid, unsigned port)
{
	return xasprintf("%s:/vms/%u:%u", user, vmid, port);
}

/* A port no live session uses: its socket file does not exist and it was not handed out in
 * the last seconds (a session's worker may not have bound it yet). */
static unsigned
pick_port(struct api_ctx *ctx)
{
	static time_t handed_out[CONSOLE_PORT_MAX - CONSOLE_PORT_MIN + 1];
	time_t now = time(NULL);
	_cleanup_free_ char *dir = xasprintf("%s/run/console", ctx->root_dir);
	for (unsigned port = CONSOLE_PORT_MIN; port <= CONSOLE_PORT_MAX; port++) {
		if (now - handed_out[port - CONSOLE_PORT_MIN] < 15)
			continue;
		bool used = false;
		DIR *d = opendir(dir);
		if (d) {
			struct dirent *de;
			char suffix[16];
			snprintf(suffix, sizeof(suffix), "-%u.sock", port);
			while ((de = readdir(d)))
				if (strlen(de->d_name) > strlen(suffix) &&
				    streq(de->d_name + strlen(de->d_name) - strlen(suffix), suffix))
					used = true;
			closedir(d);
		}
		if (!used) {
			handed_out[port - CONSOLE_PORT_MIN] = now;
			return port;
		}
	}
	return 0;
}

struct wait_socket {
	char *path;
	json_t *answer;
};

/* On the thread pool: wait until the session's worker listens (PVE's wait_for_vnc_port). */
static int
wait_for_socket(struct api_call *c, void *arg)
{
	struct wait_socket *w = arg;
	for (int i = 0; i < 500; i++) {
		struct stat st;
		if (stat(w->path, &st) == 0 && S_ISSOCK(st.st_mode)) {
			c->data = TAKE_PTR(w->answer);
			free(w->path);
			free(w);
			return 0;
		}
		usleep(10 * 1000);
	}
	int r = api_fail(c, 500, "console session did not start (see the task log)");
	json_decref(w->answer);
	free(w->path);
	free(w);
	return r;
}

/* Start a console session task and answer {user, ticket, port, upid} (plus `extra`, taken)
 * once its socket listens. params (taken) tell the task what to attach to. */
static int
start_session(struct api_call *c, unsigned vmid, json_t *params, json_t *extra)
{
	struct api_ctx *ctx = c->ctx;
	unsigned port = pick_port(ctx);
	if (!port) {
		json_decref(params);
		json_decref(extra);
		return api_fail(c, 500, "unable to find free port (%d-%d)", CONSOLE_PORT_MIN,
		                CONSOLE_PORT_MAX);
	}
	_cleanup_free_ char *data = ticket_data(c->who.subject, vmid, port);
	_cleanup_free_ char *ticket = NULL;
	if (ticket_create_short(ctx->authkey, "PVEVNC", data, time(NULL), &ticket) < 0) {
		json_decref(params);
		json_decref(extra);
		return api_fail(c, 500, "unable to create a console ticket");
	}
	char id[16];
	snprintf(id, sizeof(id), "%u", vmid);
	json_object_update_new(params, json_pack("{s:i, s:i, s:s, s:s}", "vmid", (json_int_t)vmid,
	                                         "port", (json_int_t)port, "ticket", ticket, "user",
	                                         c->who.subject));
	int r = api_start_task(c, "vncproxy", id, params, NULL, 0);
	if (r < 0) {
		json_decref(extra);
		return r;
	}
	struct wait_socket *w = xcalloc(1, sizeof(*w));
	w->path = console_socket_path(ctx->root_dir, vmid, port);
	w->answer = json_pack("{s:s, s:s, s:i, s:O}", "user", c->who.subject, "ticket", ticket,
	                      "port", (json_int_t)port, "upid", c->data);
	if (extra)
		json_object_update_new(w->answer, extra);
	json_decref(c->data);
	c->data = NULL;
	return api_call_blocking(c, wait_for_socket, w);
}

static int
lxc_termproxy(struct api_call *c)
{
	struct api_ctx *ctx = c->ctx;
	unsigned vmid = (unsigned)param_int(c->params, "vmid", 0);
	struct guestconf *gc = NULL;
	if (ct_conf_load(ctx->store, ctx->node, vmid, &gc, NULL, &c->err) < 0)
		return -ENOENT;
	guestconf_free(gc);
	if (!ct_running(ct_cg_host(), vmid))
		return api_fail(c, 500, "CT %u not running", vmid);
	return start_session(c, vmid, json_pack("{s:s}", "kind", "lxc"), NULL);
}

/* A running VM's config, or NULL after answering. */
static struct guestconf *
running_vm(struct api_call *c, unsigned vmid)
{
	struct api_ctx *ctx = c->ctx;
	struct guestconf *gc = NULL;
	if (guest_conf_load(ctx->store, GUESTCONF_QEMU, ctx->node, vmid, &gc, NULL, &c->err) < 0)
		return NULL;
	_cleanup_free_ char *run = vm_run_dir(ctx->root_dir);
	struct qemu_env q = { .run_dir = run };
	if (vm_pid(&q, vmid) <= 0) {
		guestconf_free(gc);
		api_fail(c, 500, "VM %u not running", vmid);
		return NULL;
	}
	return gc;
}

/* PVE's qemu termproxy: the serial port asked for, else the one `vga: serialN` names; it must
 * be a socket (a host device cannot be shared). PVE falls back to the human monitor when
 * there is none; Berth has no monitor console and says so. */
static int
qemu_termproxy(struct api_call *c)
{
	unsigned vmid = (unsigned)param_int(c->params, "vmid", 0);
	_cleanup_(guestconf_freep) struct guestconf *gc = running_vm(c, vmid);
	if (!gc)
		return -ENOENT;
	const char *serial = param_str(c->params, "serial");
	const char *vga = guestconf_get(&gc->main, "vga");
	_cleanup_free_ char *vga_serial = vga ? xstrndup(vga, strcspn(vga, ",")) : NULL;
	if (!serial && vga_serial && startswith(vga_serial, "serial"))
		serial = vga_serial;
	if (!serial)
		serial = "serial0";
	const char *dev = guestconf_get(&gc->main, serial);
	if (!dev)
		return api_fail(c, 500,
		                "serial device '%s' does not exist (the monitor console is not "
		                "supported: add '%s: socket')",
		                serial, serial);
	if (!streq(dev, "socket"))
		return api_fail(c, 500, "serial device '%s' is the host's %s, not a socket", serial,
		                dev);
	return start_session(c, vmid, json_pack("{s:s, s:s}", "kind", "qemu", "what", serial),
	                     NULL);
}

/* PVE's qemu vncproxy: the VM's VNC display (a root-only unix socket, no VNC password: the
 * console ticket checked by vncwebsocket is the access control) relayed as raw RFB. */
static int
qemu_vncproxy(struct api_call *c)
{
	unsigned vmid = (unsigned)param_int(c->params, "vmid", 0);
	if (param_bool(c->params, "generate-password", false))
		return api_param_error(c, "generate-password",
		                       "not supported: Berth's VNC has no password of its own; "
		                       "the websocket's vncticket is the access control");
	_cleanup_(guestconf_freep) struct guestconf *gc = running_vm(c, vmid);
	if (!gc)
		return -ENOENT;
	const char *vga = guestconf_get(&gc->main, "vga");
	if (vga && (startswith(vga, "none") || startswith(vga, "serial")))
		return api_fail(c, 500, "VM %u has no display (vga: %s)", vmid, vga);
	_cleanup_free_ char *cert = NULL;
	_cleanup_free_ char *cert_path = xasprintf("%s/priv/proxy-ssl.pem", c->ctx->root_dir);
	if (read_file(cert_path, 1 << 20, &cert, NULL) < 0)
		cert = xstrdup("");
	return start_session(c, vmid, json_pack("{s:s, s:s}", "kind", "qemu", "what", "vnc"),
	                     json_pack("{s:s}", "cert", cert));
}

static int
connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static int
guest_vncwebsocket(struct api_call *c)
{
	struct api_ctx *ctx = c->ctx;
	unsigned vmid = (unsigned)param_int(c->params, "vmid", 0);
	unsigned port = (unsigned)param_int(c->params, "port", 0);
	const char *ticket = param_str(c->params, "vncticket");
	/* PVE still accepts an old form with 8 characters before the prefix */
	if (strlen(ticket) > 9 && ticket[8] == ':' && startswith(ticket + 9, "PVEVNC:"))
		ticket += 9;
	_cleanup_free_ char *data = ticket_data(c->who.subject, vmid, port);
	if (ticket_verify_short(ctx->authkey, "PVEVNC", data, ticket, time(NULL)) < 0)
		return api_fail(c, 401, "permission denied - invalid vncticket");
	if (!c->websocket) {
		c->data = json_pack("{s:s}", "port", "");
		json_object_set_new(c->data, "port", json_sprintf("%u", port));
		return 0;
	}
	_cleanup_free_ char *path = console_socket_path(ctx->root_dir, vmid, port);
	int fd = connect_unix(path);
	if (fd < 0)
		return api_fail(c, 500, "console session %u of %u is gone: %s", port, vmid,
		                strerror(-fd));
	c->response_fd = fd;
	c->data = json_null();
	return 0;
}

static const struct api_schema termproxy_params[] = { PARAM_NODE, PARAM_VMID, PARAM_END };

static const struct api_schema vncwebsocket_params[] = {
	PARAM_NODE,
	PARAM_VMID,
	{ .name = "port",
	  .type = API_T_INTEGER,
	  .minimum = CONSOLE_PORT_MIN,
	  .maximum = CONSOLE_PORT_MAX,
	  .flags = API_F_HAS_MIN | API_F_HAS_MAX,
	  .description = "Port number returned by previous vncproxy call." },
	{ .name = "vncticket",
	  .type = API_T_STRING,
	  .max_length = 512,
	  .flags = API_F_SECRET,
	  .description = "Ticket from previous call to vncproxy." },
	PARAM_END,
};

static const struct api_schema termproxy_returns[] = {
	{ .name = "user", .type = API_T_STRING },
	{ .name = "ticket", .type = API_T_STRING },
	{ .name = "port", .type = API_T_INTEGER },
	{ .name = "upid", .type = API_T_STRING },
	PARAM_END,
};

/* ---- a Berth extension: the VM's screen as a PNG ---- */

struct screenshot {
	struct vm_env env;
	unsigned vmid;
	char *path;
};

static int
screenshot_work(struct api_call *c, void *arg)
{
	struct screenshot *j = arg;
	struct error e = { 0 };
	int r = vm_screendump(&j->env.h, j->vmid, j->path, &e);
	char *png = NULL;
	size_t len = 0;
	if (r >= 0 && (r = read_file(j->path, 64u << 20, &png, &len)) < 0)
		error_errno(&e, r, "unable to read the screenshot");
	unlink(j->path);
	if (r >= 0) {
		c->raw_body = png;
		c->raw_len = len;
		c->raw_type = "image/png";
	} else {
		r = api_fail(c, 500, "%s", e.msg);
	}
	vm_env_done(&j->env);
	free(j->path);
	free(j);
	return r;
}

static int
qemu_screenshot(struct api_call *c)
{
	unsigned vmid = (unsigned)param_int(c->params, "vmid", 0);
	_cleanup_(guestconf_freep) struct guestconf *gc = running_vm(c, vmid);
	if (!gc)
		return -ENOENT;
	struct screenshot *j = xcalloc(1, sizeof(*j));
	j->vmid = vmid;
	vm_env_init(&j->env, c->ctx->root_dir, NULL, false);
	uint64_t rnd = 0;
	if (getentropy(&rnd, sizeof(rnd)) < 0)
		rnd = (uint64_t)time(NULL);
	j->path = xasprintf("%s/%u.screen-%016llx.png", j->env.run_dir, vmid,
	                    (unsigned long long)rnd);
	return api_call_blocking(c, screenshot_work, j);
}

static const struct api_schema screenshot_params[] = { PARAM_NODE, PARAM_VMID, PARAM_END };

static const struct api_schema qemu_termproxy_params[] = {
	PARAM_NODE,
	PARAM_VMID,
	{ .name = "serial",
	  .type = API_T_STRING,
	  .optional = true,
	  .enums = (const char *const[]){ "serial0", "serial1", "serial2", "serial3", NULL },
	  .description = "opens a serial terminal (defaults to display)" },
	PARAM_END,
};

static const struct api_schema vncproxy_params[] = {
	PARAM_NODE,
	PARAM_VMID,
	{ .name = "websocket",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "Prepare for websocket upgrade (only required when using serial "
	                 "terminal, otherwise upgrade is always possible)." },
	{ .name = "generate-password",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "Generates a random password to be used as ticket instead of the API "
	                 "ticket. Not supported by Berth (the vncticket is the access control)." },
	PARAM_END,
};

static const struct api_schema vncproxy_returns[] = {
	{ .name = "user", .type = API_T_STRING }, { .name = "ticket", .type = API_T_STRING },
	{ .name = "cert", .type = API_T_STRING }, { .name = "port", .type = API_T_INTEGER },
	{ .name = "upid", .type = API_T_STRING }, PARAM_END,
};

#define CONSOLE_PERM                                                                               \
	{                                                                                          \
		.kind = PERM_PRIVS, .path = "/vms/{vmid}", .privs = "VM.Console"                   \
	}
#define WEBSOCKET_ROUTE(guest)                                                                     \
	{                                                                                          \
		.method = API_GET, .path = "/nodes/{node}/" guest "/{vmid}/vncwebsocket",          \
		.params = vncwebsocket_params,                                                     \
		.perm = { .kind = PERM_PRIVS,                                                      \
			  .path = "/vms/{vmid}",                                                   \
			  .privs = "VM.Console",                                                   \
			  .description = "You also need to pass a valid ticket (vncticket)." },    \
		.flags = API_WEBSOCKET, .handler = guest_vncwebsocket,                             \
		.description = "Opens a websocket for VNC traffic."                                \
	}

const struct api_route api_routes_console[] = {
	{ .method = API_POST,
	  .path = "/nodes/{node}/lxc/{vmid}/termproxy",
	  .params = termproxy_params,
	  .perm = CONSOLE_PERM,
	  .handler = lxc_termproxy,
	  .description = "Creates a TCP proxy connection.",
	  .returns =
	          &(const struct api_schema){ .type = API_T_OBJECT, .props = termproxy_returns } },
	WEBSOCKET_ROUTE("lxc"),
	{ .method = API_POST,
	  .path = "/nodes/{node}/qemu/{vmid}/termproxy",
	  .params = qemu_termproxy_params,
	  .perm = CONSOLE_PERM,
	  .handler = qemu_termproxy,
	  .description = "Creates a TCP proxy connections.",
	  .returns =
	          &(const struct api_schema){ .type = API_T_OBJECT, .props = termproxy_returns } },
	{ .method = API_POST,
	  .path = "/nodes/{node}/qemu/{vmid}/vncproxy",
	  .params = vncproxy_params,
	  .perm = CONSOLE_PERM,
	  .handler = qemu_vncproxy,
	  .description = "Creates a TCP VNC proxy connections.",
	  .returns =
	          &(const struct api_schema){ .type = API_T_OBJECT, .props = vncproxy_returns } },
	WEBSOCKET_ROUTE("qemu"),
	{ .method = API_GET,
	  .path = "/nodes/{node}/qemu/{vmid}/berth/screenshot",
	  .params = screenshot_params,
	  .perm = CONSOLE_PERM,
	  .handler = qemu_screenshot,
	  .description = "Berth extension: the VM's screen now, as a PNG image (Content-Type "
	                 "image/png, not JSON)." },
	{ .handler = NULL },
};
