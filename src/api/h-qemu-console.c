/* VM consoles as qemu-server has them: termproxy on a serial port (xterm.js), vncproxy on the
 * VNC display (noVNC), both through vncwebsocket (the session machinery is h-console.c's);
 * and Berth's screenshot extension, the screen as a PNG. */
#include "api/console.h"
#include "api/qemu-common.h"
#include "basic/fileio.h"

#include <sys/random.h>
#include <unistd.h>

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
	return console_start_session(
	        c, vmid, json_pack("{s:s, s:s}", "kind", "qemu", "what", serial), NULL, NULL);
}

/* PVE's qemu vncproxy: the VM's VNC display relayed as RFB. QEMU's display is a root-only
 * unix socket without a password; the session ends RFB's security handshake itself (see
 * t-console.c): security type None behind the vncticket checked by vncwebsocket, or with
 * generate-password VNC Authentication with a fresh password of this session only. */
static int
qemu_vncproxy(struct api_call *c)
{
	unsigned vmid = (unsigned)param_int(c->params, "vmid", 0);
	_cleanup_(guestconf_freep) struct guestconf *gc = running_vm(c, vmid);
	if (!gc)
		return -ENOENT;
	const char *vga = guestconf_get(&gc->main, "vga");
	if (vga && (startswith(vga, "none") || startswith(vga, "serial")))
		return api_fail(c, 500, "VM %u has no display (vga: %s)", vmid, vga);
	char password[CONSOLE_VNC_PASSWORD_LEN + 1];
	bool gen = param_bool(c->params, "generate-password", false);
	if (gen && console_vnc_password(password) < 0)
		return api_fail(c, 500, "unable to generate a VNC password");
	_cleanup_free_ char *cert = NULL;
	_cleanup_free_ char *cert_path = xasprintf("%s/priv/proxy-ssl.pem", c->ctx->root_dir);
	if (read_file(cert_path, 1 << 20, &cert, NULL) < 0)
		cert = xstrdup("");
	return console_start_session(c, vmid,
	                             json_pack("{s:s, s:s}", "kind", "qemu", "what", "vnc"),
	                             json_pack("{s:s}", "cert", cert), gen ? password : NULL);
}

/* ---- a Berth extension: the VM's screen as a PNG ---- */

struct screenshot {
	struct vm_env env;
	unsigned vmid;
	char *path;
};

/* On the thread pool: QMP screendump (bounded by vm_screendump) into the root-only run
 * directory, read back and removed. */
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
	uint64_t rnd;
	if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return api_fail(c, 500, "unable to name the screenshot file");
	struct screenshot *j = xcalloc(1, sizeof(*j));
	j->vmid = vmid;
	vm_env_init(&j->env, c->ctx->root_dir, NULL, false);
	j->path = xasprintf("%s/%u.screen-%016llx.png", j->env.run_dir, vmid,
	                    (unsigned long long)rnd);
	return api_call_blocking(c, screenshot_work, j);
}

static const struct api_schema screenshot_params[] = { PARAM_NODE, PARAM_VMID, PARAM_END };

static const struct api_schema termproxy_params[] = {
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
	                 "ticket. Berth: the session then asks for it with VNC Authentication; "
	                 "without it the VNC security type is None (the vncticket is the access "
	                 "control)." },
	PARAM_END,
};

static const struct api_schema vncproxy_returns[] = {
	{ .name = "user", .type = API_T_STRING },
	{ .name = "ticket", .type = API_T_STRING },
	{ .name = "password",
	  .type = API_T_STRING,
	  .optional = true,
	  .description = "Returned if requested with 'generate-password' param. Consists of "
	                 "printable ASCII characters ('!' .. '`')." },
	{ .name = "cert", .type = API_T_STRING },
	{ .name = "port", .type = API_T_INTEGER },
	{ .name = "upid", .type = API_T_STRING },
	PARAM_END,
};

const struct api_route api_routes_qemu_console[] = {
	{ .method = API_POST,
	  .path = "/nodes/{node}/qemu/{vmid}/termproxy",
	  .params = termproxy_params,
	  .perm = CONSOLE_PERM,
	  .handler = qemu_termproxy,
	  .description = "Creates a TCP proxy connections.",
	  .returns = &(const struct api_schema){ .type = API_T_OBJECT,
	                                         .props = console_termproxy_returns } },
	{ .method = API_POST,
	  .path = "/nodes/{node}/qemu/{vmid}/vncproxy",
	  .params = vncproxy_params,
	  .perm = CONSOLE_PERM,
	  .handler = qemu_vncproxy,
	  .description = "Creates a TCP VNC proxy connections.",
	  .returns =
	          &(const struct api_schema){ .type = API_T_OBJECT, .props = vncproxy_returns } },
	CONSOLE_WEBSOCKET_ROUTE("qemu"),
	/* VM.Console, not VM.Audit: the screen shows what the console shows (a logged-in
	 * shell, text being typed), which PVE gives only to VM.Console */
	{ .method = API_GET,
	  .path = "/nodes/{node}/qemu/{vmid}/berth/screenshot",
	  .params = screenshot_params,
	  .perm = CONSOLE_PERM,
	  .handler = qemu_screenshot,
	  .description = "Berth extension: the VM's screen now, as a PNG image (Content-Type "
	                 "image/png, not JSON)." },
	{ .handler = NULL },
};
