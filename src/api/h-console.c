/* Console sessions as Proxmox VE has them, for both guest types: a POST (.../termproxy,
 * .../vncproxy) starts a session (a "vncproxy" task, t-console.c) and answers {port, ticket,
 * user, upid}; GET .../vncwebsocket with that port and ticket becomes, through the proxy, a
 * websocket relayed to the session (docs/internals.md, Consoles). The container routes are
 * here; the VM ones in h-qemu-console.c. */
#include "api/console.h"
#include "api/lxc-common.h"
#include "auth/ticket.h"

#include <dirent.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

int
console_vnc_password(char buf[static CONSOLE_VNC_PASSWORD_LEN + 1])
{
	unsigned char rnd[CONSOLE_VNC_PASSWORD_LEN];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -EIO;
	for (size_t i = 0; i < sizeof(rnd); i++)
		buf[i] = (char)('!' + (rnd[i] & 0x3f));
	buf[CONSOLE_VNC_PASSWORD_LEN] = '\0';
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
	int r = 0;
	for (int i = 0;; i++) {
		struct stat st;
		if (stat(w->path, &st) == 0 && S_ISSOCK(st.st_mode)) {
			c->data = TAKE_PTR(w->answer);
			break;
		}
		if (i == 500) {
			r = api_fail(c, 500, "console session did not start (see the task log)");
			break;
		}
		usleep(10 * 1000);
	}
	json_decref(w->answer);
	free(w->path);
	free(w);
	return r;
}

int
console_start_session(struct api_call *c, unsigned vmid, json_t *params, json_t *extra,
                      const char *password)
{
	struct api_ctx *ctx = c->ctx;
	unsigned port = pick_port(ctx);
	_cleanup_free_ char *data = ticket_data(c->who.subject, vmid, port);
	_cleanup_free_ char *ticket = NULL;
	int r = 0;
	if (!port)
		r = api_fail(c, 500, "unable to find free port (%d-%d)", CONSOLE_PORT_MIN,
		             CONSOLE_PORT_MAX);
	else if (ticket_create_short(ctx->authkey, "PVEVNC", data, time(NULL), &ticket) < 0)
		r = api_fail(c, 500, "unable to create a console ticket");
	if (r < 0) {
		json_decref(params);
		json_decref(extra);
		return r;
	}
	char id[16];
	snprintf(id, sizeof(id), "%u", vmid);
	json_object_update_new(params, json_pack("{s:i, s:i, s:s, s:s}", "vmid", (json_int_t)vmid,
	                                         "port", (json_int_t)port, "ticket", ticket, "user",
	                                         c->who.subject));
	if (password)
		json_object_set_new(params, "password", json_string(password));
	r = api_start_task(c, "vncproxy", id, params, NULL, 0);
	if (r < 0) {
		json_decref(extra);
		return r;
	}
	struct wait_socket *w = xcalloc(1, sizeof(*w));
	w->path = console_socket_path(ctx->root_dir, vmid, port);
	w->answer = json_pack("{s:s, s:s, s:i, s:O}", "user", c->who.subject, "ticket", ticket,
	                      "port", (json_int_t)port, "upid", c->data);
	if (password) {
		/* as PVE since the VNC password is always generated: a client that hands the
		 * ticket to noVNC as the password still sends the right first 8 bytes, and
		 * vncwebsocket takes the prefixed form */
		json_object_set_new(w->answer, "ticket", json_sprintf("%s:%s", password, ticket));
		json_object_set_new(w->answer, "password", json_string(password));
	}
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
	return console_start_session(c, vmid, json_pack("{s:s}", "kind", "lxc"), NULL, NULL);
}

int
console_vncwebsocket(struct api_call *c)
{
	struct api_ctx *ctx = c->ctx;
	unsigned vmid = (unsigned)param_int(c->params, "vmid", 0);
	unsigned port = (unsigned)param_int(c->params, "port", 0);
	const char *ticket = param_str(c->params, "vncticket");
	/* "<VNC password>:PVEVNC:...", as vncproxy answers when it made a password */
	if (strlen(ticket) > CONSOLE_VNC_PASSWORD_LEN + 1 &&
	    ticket[CONSOLE_VNC_PASSWORD_LEN] == ':' &&
	    startswith(ticket + CONSOLE_VNC_PASSWORD_LEN + 1, "PVEVNC:"))
		ticket += CONSOLE_VNC_PASSWORD_LEN + 1;
	_cleanup_free_ char *data = ticket_data(c->who.subject, vmid, port);
	if (ticket_verify_short(ctx->authkey, "PVEVNC", data, ticket, time(NULL)) < 0)
		return api_fail(c, 401, "permission denied - invalid vncticket");
	if (!c->websocket) {
		c->data = json_pack("{s:s}", "port", "");
		json_object_set_new(c->data, "port", json_sprintf("%u", port));
		return 0;
	}
	_cleanup_free_ char *path = console_socket_path(ctx->root_dir, vmid, port);
	struct error e = { 0 };
	int fd = console_connect_unix(path, &e);
	if (fd < 0)
		return api_fail(c, 500, "console session %u of %u is gone: %s", port, vmid,
		                strerror(-fd));
	c->response_fd = fd;
	c->data = json_null();
	return 0;
}

const struct api_schema console_vncwebsocket_params[] = {
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

const struct api_schema console_termproxy_returns[] = {
	{ .name = "user", .type = API_T_STRING },
	{ .name = "ticket", .type = API_T_STRING },
	{ .name = "port", .type = API_T_INTEGER },
	{ .name = "upid", .type = API_T_STRING },
	PARAM_END,
};

static const struct api_schema termproxy_params[] = { PARAM_NODE, PARAM_VMID, PARAM_END };

const struct api_route api_routes_console[] = {
	{ .method = API_POST,
	  .path = "/nodes/{node}/lxc/{vmid}/termproxy",
	  .params = termproxy_params,
	  .perm = CONSOLE_PERM,
	  .handler = lxc_termproxy,
	  .description = "Creates a TCP proxy connection.",
	  .returns = &(const struct api_schema){ .type = API_T_OBJECT,
	                                         .props = console_termproxy_returns } },
	CONSOLE_WEBSOCKET_ROUTE("lxc"),
	{ .handler = NULL },
};
