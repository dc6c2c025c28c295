/* The API core: one request in (a `request` frame's fields), one response out. It parses
 * parameters, authenticates (ticket, CSRF, API token, or the local root socket), routes,
 * checks permissions, validates, and runs the handler; errors come out in Proxmox VE's
 * status-line form. Transport (sockets, event loop) stays in the daemon, which hands in
 * hooks for blocking work and deferred answers. */
#pragma once

#include "api/route.h"
#include "basic/error.h"
#include "task/task.h"
#include "task/upid.h"

#include <openssl/evp.h>

struct store;
struct taskmgr;
struct authcache;
struct hoststats;
struct nextid_reservations;
struct metrics_sampler;

struct api_ctx {
	struct store *store;
	struct taskmgr *tasks;
	struct api_router *router;
	struct authcache *auth;
	struct hoststats *host;
	struct nextid_reservations *nextid;
	struct metrics_sampler *metrics; /* NULL: no rrd files are written */
	const char *node;
	const char *root_dir;
	const char *pam_service;
	const char *ssl_fingerprint; /* of the proxy's certificate, for GET /nodes */
	EVP_PKEY *authkey;
	unsigned char csrf_secret[64];
	size_t csrf_secret_len;
	unsigned failed_login_delay_ms; /* 3000, as PVE; tests may lower it */
	/* Run work() on a worker thread, then after() back on the event loop. */
	int (*run_blocking)(struct api_ctx *ctx, void (*work)(void *arg), void (*after)(void *arg),
	                    void *arg);
	/* Call done(arg, t) on the loop once task upid has ended (t: its info), or done(arg,
	 * NULL) when timeout_ms (0: no limit) passed first. -ENOENT for an unknown task. */
	int (*wait_task)(struct api_ctx *ctx, const char *upid, unsigned timeout_ms,
	                 void (*done)(void *arg, const struct task_info *t), void *arg);
	void *daemon;
};

enum api_auth_kind { AUTH_NONE, AUTH_TICKET, AUTH_TOKEN, AUTH_LOCAL_ROOT };

struct api_identity {
	enum api_auth_kind how;
	char user[UPID_USER_MAX + 1];    /* user@realm */
	char subject[UPID_USER_MAX + 1]; /* user@realm or user@realm!token (ACLs, UPIDs) */
	const char *token;               /* points into subject after '!', or NULL */
};

/* Where a request came from: the proxy (HTTPS, needs credentials) or the root CLI socket. */
enum api_source { API_SOURCE_PROXY, API_SOURCE_LOCAL_ROOT };

struct api_request {
	enum api_source source;
	const char *method;
	const char *path; /* still percent-encoded, with /api2/json prefix */
	const char *query;
	const char *content_type;
	const char *cookie;
	const char *authorization;
	const char *csrf;
	const char *client;
	const char *body;
	size_t body_len;
	/* uploads (see docs/internals.md): a preflight asks only "may this client send the
	 * body?" (authentication and permission, nothing runs); a completed upload carries the
	 * file's descriptor, owned by the call from then on */
	bool preflight;
	bool upload;
	int upload_fd;
	uint64_t upload_size;
	/* a websocket upgrade (consoles): a 200 answer carries the stream to relay as its fd */
	bool websocket;
};

struct api_response {
	int status;
	char *message; /* reason phrase, one line */
	char *body;    /* NULL: no body and no content type (auth failures) */
	size_t body_len;
	unsigned delay_ms;        /* answer only after this delay (failed authentication) */
	int fd;                   /* a descriptor going with the answer (websocket relays), -1 none;
	                           * the transport takes it over */
	const char *content_type; /* of body; NULL: JSON */
};

struct api_call {
	struct api_ctx *ctx;
	const struct api_route *route;
	json_t *params; /* validated parameters */
	struct api_identity who;
	char client[64];
	/* results */
	json_t *data;
	char *data_text; /* alternatively: data already serialized as JSON (owned) */
	bool has_total;
	int64_t total;
	struct error err;
	int upload_fd;   /* an uploaded file (routes with API_UPLOAD), -1 when none */
	bool websocket;  /* the request is a websocket upgrade (routes with API_WEBSOCKET) */
	int response_fd; /* websocket: the stream the proxy relays, set by the handler */
	/* a Berth extension answering something other than JSON (a screenshot): the body as it
	 * goes out, and its content type (static) */
	char *raw_body;
	size_t raw_len;
	const char *raw_type;
	uint64_t upload_size;
	json_t *param_errors; /* "Parameter verification failed." with an errors map */
	bool auth_failure;    /* answer without a body, delayed */
	/* transport: set by the daemon */
	void (*done)(struct api_call *call, struct api_response *resp);
	void *transport;
	uint64_t transport_id;
};

/* What a task function finds in task_userdata() inside `berthd --worker`. */
struct worker_env {
	struct store *store;
	const char *node;
	const char *root_dir;
};

/* The task types the API starts, for the worker process (berthd --worker). */
extern const struct task_type api_task_types[];
extern const size_t api_task_types_count;

/* Handle one request. When the answer is ready (now, or later for deferred handlers and
 * delayed failures), call->done() receives it; the daemon then frees the call with
 * api_call_free(). */
void api_handle(struct api_ctx *ctx, const struct api_request *req, struct api_call *call);
void api_call_free(struct api_call *call);

/* For deferred handlers: finish with r (0 or -errno, as a handler's return value). */
void api_call_complete(struct api_call *call, int r);

/* Handler helpers. */
int api_fail(struct api_call *call, int status, const char *fmt, ...) _printf_(3, 4);
int api_param_error(struct api_call *call, const char *param, const char *fmt, ...) _printf_(3, 4);
/* Permission check inside a handler (for checks that depend on data): 0 or -EACCES with
 * PVE's 403 text in call->err. */
int api_check_privs(struct api_call *call, const char *path, const char *privs, bool any);
/* Like api_check_privs, without setting an error. */
bool api_has_privs(struct api_call *call, const char *path, const char *privs, bool any);
bool api_is_root(const struct api_call *call);
/* PVE's perm-modify privileges for an ACL path: "Permissions.Modify" plus the matching
 * Allocate privilege on /storage/<x>, /vms/<x> or /pool/<x> (any of them suffices).
 * Caller frees. */
char *api_perm_modify_privs(const char *path);
