/* Routes declared once, as data: method, path, parameter schema, permission, flags, handler
 * and description. The same table validates requests, checks permissions before the
 * handler runs, drives the CLI's help, and is served at GET /api2/json/berth/schema.
 * A route without a permission (PERM_UNSET) fails the build (src/api/route-check.c). */
#pragma once

#include "schema/schema.h"
#include "basic/error.h"

enum api_method { API_GET, API_POST, API_PUT, API_DELETE };

enum api_perm_kind {
	PERM_UNSET = 0,     /* refused at build time */
	PERM_WORLD,         /* no authentication at all (login, realm list) */
	PERM_ANY_USER,      /* any authenticated user; the handler filters what it returns */
	PERM_ROOT,          /* root@pam only */
	PERM_PRIVS,         /* privileges on an ACL path */
	PERM_SELF_OR_PRIVS, /* the userid parameter names the caller, or the privileges hold */
	/* PVE's userid-group (+ userid-param): privs on /access/groups (later also on the
	 * user's groups); with realm_privs also those on /access/realm/<realm of userid>;
	 * with self_ok the user named by userid passes by itself. */
	PERM_USERID_GROUP,
	/* PVE's perm-modify on path: Permissions.Modify, or the matching Allocate privilege on
	 * /storage/<x> (Datastore.), /vms/<x> (VM.) or /pool/<x> (Pool.) */
	PERM_PERM_MODIFY,
};

struct api_perm {
	enum api_perm_kind kind;
	/* ACL path template: "/vms/{vmid}", "/nodes/{node}", "/access/groups" */
	const char *path;
	const char *privs;        /* comma-separated privilege names */
	bool any;                 /* any one of privs suffices (else all are needed) */
	const char *userid_param; /* PERM_SELF_OR_PRIVS: the parameter naming a user */
	bool self_ok;             /* PERM_USERID_GROUP */
	const char *realm_privs;  /* PERM_USERID_GROUP */
	const char *description;  /* extra text for the docs when the handler checks more */
};

/* Route flags. API_TASK: returns a UPID (the CLI follows the task). API_NO_TOKEN: refused
 * with API tokens, needs a proper ticket (PVE's allowtoken 0). API_NO_CSRF: ticket auth
 * without the CSRF header (uploads). */
#define API_TASK     (1u << 0)
#define API_NO_TOKEN (1u << 1)
#define API_NO_CSRF  (1u << 2)
/* API_UPLOAD: the body is a multipart file upload the proxy streams to a temporary file
 * (after a preflight); the handler finds it in call->upload_fd. */
#define API_UPLOAD (1u << 3)
/* API_WEBSOCKET: the route also takes websocket upgrades; its handler answers one with
 * call->response_fd, the stream the proxy relays (docs/internals.md, Consoles). */
#define API_WEBSOCKET (1u << 4)

struct api_call;
/* Returns 0 with call->data set (NULL means JSON null), a negative errno with call->err (or
 * call->param_errors) describing the failure, or API_DEFERRED when it finishes later through
 * api_call_complete(). */
typedef int (*api_handler_fn)(struct api_call *call);
#define API_DEFERRED 1

struct api_route {
	enum api_method method;
	/* "/nodes/{node}/tasks/{upid}/status"; a final "{name+}" takes the rest of the path */
	const char *path;
	const struct api_schema *params; /* NULL-name terminated; includes path parameters */
	struct api_perm perm;
	unsigned flags;
	api_handler_fn handler;
	const char *description;
	const struct api_schema *returns; /* shape of data (docs, CLI columns); may be NULL */
};

const char *api_method_name(enum api_method m);
int api_method_parse(const char *s, enum api_method *ret);

/* Every route, from all areas, NULL-terminated list of NULL-handler-terminated tables. */
extern const struct api_route *const api_route_tables[];

/* A route as JSON: method, path, description, permissions, parameters, returns, task. */
json_t *api_route_to_json(const struct api_route *rt);

/* ---- router ---- */

struct api_router;

/* Build the lookup structure; -EINVAL if two routes clash (reported in err). */
int api_router_new(struct api_router **ret, struct error *err);
void api_router_free(struct api_router *r);

/* Match method + already percent-decoded path relative to /api2/json ("/nodes/pve/status").
 * Returns the route and fills path_params (an object, strings) on success; NULL when nothing
 * matches. *ret_path_exists is set when the path exists for another method. */
const struct api_route *api_router_match(const struct api_router *r, enum api_method m,
                                         const char *path, json_t *path_params,
                                         bool *ret_path_exists);

/* Iterate all routes in table order. */
#define api_routes_foreach(rt)                                                                     \
	for (const struct api_route *const *tbl_ = api_route_tables; *tbl_; tbl_++)                \
		for (const struct api_route *rt = *tbl_; rt->handler; rt++)
