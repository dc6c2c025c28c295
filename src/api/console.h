/* What the console routes of both guest types share (h-console.c, h-qemu-console.c) and the
 * session task (t-console.c): starting a session, the vncwebsocket route, the unix sockets. */
#pragma once

#include "api/handlers.h"

#define CONSOLE_PORT_MIN 5900
#define CONSOLE_PORT_MAX 5999

/* Start a console session (a "vncproxy" task) for guest vmid and answer {user, ticket, port,
 * upid} plus `extra` once its socket listens. params (taken) tell the task what to attach
 * to. With a VNC password (vncproxy), the session asks the client for it (VNC
 * Authentication) and the answer carries it as PVE's: `password`, and `ticket` prefixed with
 * "<password>:". Returns as a handler does (API_DEFERRED). */
int console_start_session(struct api_call *c, unsigned vmid, json_t *params, json_t *extra,
                          const char *password);

/* A random VNC password as PVE's generate_vnc_password: 8 characters '!'..'`' (VNC
 * Authentication looks at 8 bytes). 0, or -EIO when the kernel gives no randomness. */
#define CONSOLE_VNC_PASSWORD_LEN 8
int console_vnc_password(char buf[static CONSOLE_VNC_PASSWORD_LEN + 1]);

/* GET .../vncwebsocket for either guest type: the ticket check, then the session's stream. */
int console_vncwebsocket(struct api_call *c);
extern const struct api_schema console_vncwebsocket_params[];
/* {user, ticket, port, upid} */
extern const struct api_schema console_termproxy_returns[];

#define CONSOLE_PERM                                                                               \
	{                                                                                          \
		.kind = PERM_PRIVS, .path = "/vms/{vmid}", .privs = "VM.Console"                   \
	}
#define CONSOLE_WEBSOCKET_ROUTE(guest)                                                             \
	{                                                                                          \
		.method = API_GET, .path = "/nodes/{node}/" guest "/{vmid}/vncwebsocket",          \
		.params = console_vncwebsocket_params,                                             \
		.perm = { .kind = PERM_PRIVS,                                                      \
			  .path = "/vms/{vmid}",                                                   \
			  .privs = "VM.Console",                                                   \
			  .description = "You also need to pass a valid ticket (vncticket)." },    \
		.flags = API_WEBSOCKET, .handler = console_vncwebsocket,                           \
		.description = "Opens a websocket for VNC traffic."                                \
	}

/* A connected unix stream socket (SOCK_CLOEXEC), or a negative errno with err filled. */
int console_connect_unix(const char *path, struct error *err);
