/* The request pipeline: path → authentication → route → body and query parameters →
 * permission → validation → handler → Proxmox VE-shaped response (see api.h). The order
 * follows PVE's HTTP server: credentials are checked before routing, permissions before
 * parameter validation. */
#include "api/api.h"
#include "auth/privs.h"
#include "auth/usercfg.h"
#include "api/authcache.h"
#include "api/request.h"
#include "auth/ticket.h"
#include "basic/encoding.h"
#include "basic/log.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#define JSON_CT "application/json;charset=UTF-8"

#define JSON_DUMP_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(12))

/* body_text: the serialized body (taken over), or NULL for none; body: a JSON body to
 * serialize instead. */
static void
respond_text(struct api_call *call, int status, const char *message, char *body_text, json_t *body,
             unsigned delay_ms)
{
	struct api_response resp = {
		.status = status, .delay_ms = delay_ms, .body = body_text, .fd = -1
	};
	if (status == 200 && call->response_fd >= 0)
		resp.fd = TAKE_FD(call->response_fd);
	/* the reason phrase is one line: keep the first one */
	size_t n = strcspn(message, "\r\n");
	resp.message = xstrndup(message, n);
	if (!*resp.message) {
		free(resp.message);
		resp.message = xstrdup(status == 200 ? "OK" : "Error");
	}
	if (body) {
		resp.body = json_dumps(body, JSON_DUMP_FLAGS);
		if (!resp.body)
			oom();
		json_decref(body);
	}
	if (resp.body)
		resp.body_len = strlen(resp.body);
	call->done(call, &resp);
	free(resp.message);
	free(resp.body);
}

static void
respond(struct api_call *call, int status, const char *message, json_t *body, unsigned delay_ms)
{
	respond_text(call, status, message, NULL, body, delay_ms);
}

/* A plain HTTP-level error: no JSON body (PVE's $self->error). */
static void
respond_plain(struct api_call *call, int status, const char *message)
{
	respond(call, status, message, NULL, 0);
}

static void
respond_auth_failure(struct api_call *call, const char *message)
{
	respond(call, 401, message, NULL, call->ctx->failed_login_delay_ms);
}

void
api_call_complete(struct api_call *call, int r)
{
	if (r >= 0 && call->raw_body) {
		struct api_response resp = { .status = 200,
			                     .message = (char *)"OK",
			                     .body = call->raw_body,
			                     .body_len = call->raw_len,
			                     .fd = -1,
			                     .content_type = call->raw_type };
		call->done(call, &resp);
		return;
	}
	if (r >= 0) {
		/* the envelope is put together as text around the serialized data, which a
		 * handler may also have handed over ready-made */
		char *data = call->data_text ? TAKE_PTR(call->data_text)
		                             : json_dumps(call->data ? call->data : json_null(),
		                                          JSON_DUMP_FLAGS);
		if (!data)
			oom();
		struct strbuf body = STRBUF_INIT;
		sb_printf(&body, "{\"data\":%s", data);
		if (call->has_total)
			sb_printf(&body, ",\"total\":%" PRId64, call->total);
		sb_putc(&body, '}');
		free(data);
		respond_text(call, 200, "OK", sb_steal(&body), NULL, 0);
		return;
	}
	json_t *body = json_pack("{s:n}", "data");
	if (call->param_errors && json_object_size(call->param_errors) > 0) {
		json_object_set(body, "errors", call->param_errors);
		json_object_set_new(body, "message",
		                    json_string("Parameter verification failed.\n"));
		respond(call, 400, "Parameter verification failed.", body, 0);
		return;
	}
	int status = call->err.status ? call->err.status : 500;
	const char *msg = call->err.msg[0] ? call->err.msg : strerror(-r);
	_cleanup_free_ char *m = xasprintf("%s\n", msg);
	json_object_set_new(body, "message", json_string(m));
	/* every 401 from an API method is delayed like a failed login (PVE does the same) */
	respond(call, status, msg, body, status == 401 ? call->ctx->failed_login_delay_ms : 0);
}

int
api_fail(struct api_call *call, int status, const char *fmt, ...)
{
	/* formatted aside first: the arguments may point into call->err.msg itself */
	char msg[sizeof(call->err.msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	memcpy(call->err.msg, msg, sizeof(msg));
	call->err.status = status;
	call->err.code = status == 403 ? EACCES : status == 400 ? EINVAL : EIO;
	return -call->err.code;
}

int
api_param_error(struct api_call *call, const char *param, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *msg;
	if (vasprintf(&msg, fmt, ap) < 0)
		oom();
	va_end(ap);
	if (!call->param_errors)
		call->param_errors = json_object();
	json_object_set_new(call->param_errors, param, json_string(msg));
	free(msg);
	return -EINVAL;
}

bool
api_is_root(const struct api_call *call)
{
	return streq(call->who.subject, "root@pam");
}

/* Collapse repeated slashes and drop a trailing one. */
static char *
acl_path_clean(const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	for (const char *p = path; *p; p++)
		if (!(*p == '/' && sb.len && sb.buf[sb.len - 1] == '/'))
			sb_putc(&sb, *p);
	if (sb.len > 1 && sb.buf[sb.len - 1] == '/')
		sb.buf[--sb.len] = '\0';
	if (!sb.len)
		sb_putc(&sb, '/');
	return sb_steal(&sb);
}

bool
api_has_privs(struct api_call *call, const char *path, const char *privs, bool any)
{
	if (api_is_root(call))
		return true;
	_cleanup_free_ char *clean = acl_path_clean(path);
	privset_t have = authcache_privs(call->ctx->auth, call->who.subject, clean, time(NULL));
	char **names = split_list(privs);
	bool ok = !any;
	for (char **p = names; *p; p++) {
		bool has = (have & priv_bit(*p)) != 0;
		if (any && has) {
			ok = true;
			break;
		}
		if (!any && !has) {
			ok = false;
			break;
		}
	}
	strv_free(names);
	return ok;
}

int
api_check_privs(struct api_call *call, const char *path, const char *privs, bool any)
{
	if (api_has_privs(call, path, privs, any))
		return 0;
	_cleanup_free_ char *clean = acl_path_clean(path);
	if (any) {
		/* PVE's check_any names all of them, joined with '|' */
		_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
		char **names = split_list(privs);
		for (char **p = names; *p; p++)
			sb_printf(&sb, "%s%s", p == names ? "" : "|", *p);
		strv_free(names);
		return api_fail(call, 403, "Permission check failed (%s, %s)", clean, sb_str(&sb));
	}
	/* check_full names the first one missing */
	_cleanup_free_ char *clean2 = xstrdup(clean);
	privset_t have = authcache_privs(call->ctx->auth, call->who.subject, clean, time(NULL));
	char **names = split_list(privs);
	const char *missing = names[0] ? names[0] : "";
	for (char **p = names; *p; p++)
		if (!(have & priv_bit(*p))) {
			missing = *p;
			break;
		}
	int r = api_fail(call, 403, "Permission check failed (%s, %s)", clean2, missing);
	strv_free(names);
	return r;
}

char *
api_perm_modify_privs(const char *path)
{
	const char *extra = startswith(path, "/storage/") ? ",Datastore.Allocate"
	                    : startswith(path, "/vms/")   ? ",VM.Allocate"
	                    : startswith(path, "/pool/")  ? ",Pool.Allocate"
	                                                  : "";
	return xasprintf("Permissions.Modify%s", extra);
}

/* "/vms/{vmid}" with the raw parameter values substituted. */
static char *
perm_path(const char *tmpl, json_t *raw)
{
	struct strbuf sb = STRBUF_INIT;
	for (const char *p = tmpl; *p;) {
		if (*p == '{') {
			const char *e = strchr(p, '}');
			if (e) {
				_cleanup_free_ char *name = xstrndup(p + 1, (size_t)(e - p - 1));
				json_t *v = json_object_get(raw, name);
				if (json_is_string(v))
					sb_puts(&sb, json_string_value(v));
				p = e + 1;
				continue;
			}
		}
		sb_putc(&sb, *p++);
	}
	return sb_steal(&sb);
}

static int
check_route_permission(struct api_call *call, json_t *raw)
{
	const struct api_perm *p = &call->route->perm;
	if (p->kind == PERM_WORLD || api_is_root(call))
		return 0;
	switch (p->kind) {
	case PERM_ANY_USER:
		return 0;
	case PERM_ROOT:
		return api_fail(call, 403, "Permission check failed (user != root@pam)");
	case PERM_SELF_OR_PRIVS: {
		const char *uid = json_string_value(json_object_get(raw, p->userid_param));
		if (uid && !call->who.token && streq(uid, call->who.user))
			return 0;
		_fallthrough_;
	}
	case PERM_PRIVS: {
		_cleanup_free_ char *path = perm_path(p->path, raw);
		return api_check_privs(call, path, p->privs, p->any);
	}
	case PERM_USERID_GROUP: {
		const char *uid = json_string_value(json_object_get(raw, "userid"));
		if (p->self_ok && uid && streq(uid, call->who.subject))
			return 0;
		if (p->realm_privs) {
			const char *at = uid ? strrchr(uid, '@') : NULL;
			_cleanup_free_ char *rpath =
			        xasprintf("/access/realm/%s", at ? at + 1 : "");
			int r = api_check_privs(call, rpath, p->realm_privs, false);
			if (r < 0)
				return r;
		}
		return api_check_privs(call, "/access/groups", p->privs, p->any);
	}
	case PERM_PERM_MODIFY: {
		_cleanup_free_ char *path = perm_path(p->path, raw);
		/* PVE normalises first ("vms/100" is "/vms/100"); a path that is not one at
		 * all passes here and the handler refuses it with a parameter error */
		_cleanup_free_ char *norm = acl_path_normalize(path);
		if (!norm)
			return 0;
		_cleanup_free_ char *privs = api_perm_modify_privs(norm);
		return api_check_privs(call, norm, privs, true);
	}
	default:
		return api_fail(call, 403, "Permission check failed");
	}
}

/* ---- authentication ---- */

static int
authenticate_ticket(struct api_call *call, const char *ticket)
{
	struct api_ctx *ctx = call->ctx;
	_cleanup_free_ char *userid = NULL;
	long age;
	time_t now = time(NULL);
	if (ticket_verify(ctx->authkey, "PVE", ticket, now, -TICKET_CLOCK_SKEW, TICKET_LIFETIME,
	                  &userid, &age) < 0)
		return -EACCES;
	if (!acl_subject_active(authcache_usercfg(ctx->auth), userid, now))
		return -EACCES;
	if (strlen(userid) > UPID_USER_MAX)
		return -EACCES;
	call->who.how = AUTH_TICKET;
	snprintf(call->who.user, sizeof(call->who.user), "%s", userid);
	snprintf(call->who.subject, sizeof(call->who.subject), "%s", userid);
	return 0;
}

static int
authenticate_token(struct api_call *call, const char *authorization)
{
	struct api_ctx *ctx = call->ctx;
	_cleanup_free_ char *tokenid = NULL, *secret = NULL;
	if (token_parse_header(authorization, &tokenid, &secret) < 0)
		return -EACCES;
	if (!full_tokenid_valid(tokenid) || strlen(tokenid) > UPID_USER_MAX)
		return -EACCES;
	if (!acl_subject_active(authcache_usercfg(ctx->auth), tokenid, time(NULL)))
		return -EACCES;
	char hash[TOKEN_HASH_HEX + 1];
	if (authcache_token_hash(ctx->auth, tokenid, hash) < 0)
		return -EACCES;
	if (!token_secret_matches(secret, hash))
		return -EACCES;
	call->who.how = AUTH_TOKEN;
	snprintf(call->who.subject, sizeof(call->who.subject), "%s", tokenid);
	char *bang = strchr(call->who.subject, '!');
	snprintf(call->who.user, sizeof(call->who.user), "%.*s", (int)(bang - call->who.subject),
	         call->who.subject);
	call->who.token = bang + 1;
	return 0;
}

/* Returns 0, or a negative value after answering with the failure. */
static int
authenticate(struct api_call *call, const struct api_request *req, enum api_method m)
{
	struct api_ctx *ctx = call->ctx;
	if (req->source == API_SOURCE_LOCAL_ROOT) {
		call->who.how = AUTH_LOCAL_ROOT;
		snprintf(call->who.user, sizeof(call->who.user), "root@pam");
		snprintf(call->who.subject, sizeof(call->who.subject), "root@pam");
		return 0;
	}
	authcache_refresh_soon(ctx->auth);
	_cleanup_free_ char *ticket = auth_value(req->cookie, "PVEAuthCookie");
	if (!ticket)
		ticket = auth_value(req->authorization, "PVEAuthCookie");
	if (ticket) {
		if (authenticate_ticket(call, ticket) < 0) {
			/* the text NPM's client recognises for re-login */
			respond_auth_failure(call, "permission denied - invalid PVE ticket");
			return -EACCES;
		}
		bool needs_csrf =
		        m != API_GET && !(call->route && (call->route->flags & API_NO_CSRF));
		if (needs_csrf &&
		    (!req->csrf || csrf_token_verify(ctx->csrf_secret, ctx->csrf_secret_len,
		                                     call->who.user, req->csrf, time(NULL)) < 0)) {
			respond_auth_failure(call, "Permission denied - invalid csrf token");
			return -EACCES;
		}
		return 0;
	}
	_cleanup_free_ char *token = auth_value(req->authorization, "PVEAPIToken");
	if (token) {
		if (authenticate_token(call, req->authorization) < 0) {
			respond_auth_failure(call, "Authentication failed!");
			return -EACCES;
		}
		return 0;
	}
	respond_auth_failure(call, "No ticket");
	return -EACCES;
}

/* ---- parameters ---- */

static int
collect_params(struct api_call *call, const struct api_request *req, enum api_method m,
               json_t *path_params, json_t **ret)
{
	json_t *params = json_object();
	struct error err = { 0 };
	int r = 0;

	if (req->body_len > 0) {
		if (m != API_POST && m != API_PUT) {
			json_decref(params);
			_cleanup_free_ char *msg =
			        xasprintf("Unexpected content for method '%s'", api_method_name(m));
			respond_plain(call, 501, msg);
			return -EINVAL;
		}
		_cleanup_free_ char *ct =
		        req->content_type ? content_type_base(req->content_type) : NULL;
		if (!ct || !*ct || streq(ct, "application/x-www-form-urlencoded")) {
			r = urlencoded_parse(req->body, req->body_len, params, &err);
		} else if (streq(ct, "application/json")) {
			json_decref(params);
			params = NULL;
			r = json_body_parse(req->body, req->body_len, &params, &err);
		} else {
			json_decref(params);
			_cleanup_free_ char *msg = xasprintf(
			        "upload 'Content-Type '%s' not implemented", req->content_type);
			respond_plain(call, 506, msg);
			return -EINVAL;
		}
		if (r < 0) {
			json_decref(params);
			respond_plain(call, 400, err.msg);
			return r;
		}
	}

	if (req->query && *req->query) {
		json_t *q = json_object();
		r = urlencoded_parse(req->query, strlen(req->query), q, &err);
		if (r < 0) {
			json_decref(q);
			json_decref(params);
			respond_plain(call, 400, err.msg);
			return r;
		}
		if (req->upload) {
			/* an upload's multipart fields win (PVE reads them last) */
			json_object_update(q, params);
			json_decref(params);
			params = q;
		} else {
			json_object_update(params, q); /* query overrides body */
			json_decref(q);
		}
	}
	json_object_del(params, "_dc");

	/* keys given without a value are undefined in PVE: drop them */
	const char *k;
	json_t *v;
	void *tmp;
	json_object_foreach_safe (params, tmp, k, v)
		if (json_is_null(v))
			json_object_del(params, k);

	json_object_foreach (path_params, k, v) {
		json_t *given = json_object_get(params, k);
		if (given && !(json_is_string(given) &&
		               streq(json_string_value(given), json_string_value(v)))) {
			/* PVE compares as strings: a JSON number equal in text is fine */
			bool same = false;
			if (json_is_integer(given)) {
				_cleanup_free_ char *t = xasprintf("%" JSON_INTEGER_FORMAT,
				                                   json_integer_value(given));
				same = streq(t, json_string_value(v));
			}
			if (!same)
				api_param_error(call, k,
				                "duplicate parameter (already defined in URI) with "
				                "conflicting values!");
		}
		json_object_set(params, k, v);
	}
	if (call->param_errors) {
		json_decref(params);
		api_call_complete(call, -EINVAL);
		return -EINVAL;
	}
	*ret = params;
	return 0;
}

void
api_handle(struct api_ctx *ctx, const struct api_request *req, struct api_call *call)
{
	call->ctx = ctx;
	call->upload_fd = req->upload ? req->upload_fd : -1;
	call->upload_size = req->upload ? req->upload_size : 0;
	snprintf(call->client, sizeof(call->client), "%s", req->client ? req->client : "");

	/* PVE decodes the whole path first, then splits it */
	_cleanup_free_ char *path = NULL;
	size_t plen;
	if (percent_decode(req->path, strlen(req->path), false, &path, &plen) < 0 ||
	    strlen(path) != plen || !utf8_valid(path, plen)) {
		respond_plain(call, 400, "Bad Request");
		return;
	}
	if (!startswith(path, "/api2/")) {
		respond_plain(call, 501, "no such uri");
		return;
	}
	const char *fmt = path + 6;
	size_t flen = strcspn(fmt, "/");
	if (flen == 0 || !(fmt[0] >= 'a' && fmt[0] <= 'z')) {
		respond_plain(call, 501, "no such uri");
		return;
	}
	const char *rel = fmt[flen] ? fmt + flen : "/";
	if (flen != 4 || !strneq(fmt, "json", 4)) {
		_cleanup_free_ char *msg =
		        xasprintf("no formatter for uri %s, %.*s", rel, (int)flen, fmt);
		respond_plain(call, 501, msg);
		return;
	}

	enum api_method m;
	if (api_method_parse(req->method, &m) < 0) {
		_cleanup_free_ char *msg = xasprintf("method '%s' not available", req->method);
		respond_plain(call, 501, msg);
		return;
	}

	json_t *path_params = json_object();
	call->route = api_router_match(ctx->router, m, rel, path_params, NULL);

	if (!(call->route && call->route->perm.kind == PERM_WORLD)) {
		if (authenticate(call, req, m) < 0) {
			json_decref(path_params);
			return;
		}
	}
	if (!call->route) {
		json_decref(path_params);
		_cleanup_free_ char *msg =
		        xasprintf("Method '%s %s' not implemented", api_method_name(m), rel);
		respond(call, 501, msg, json_pack("{s:n}", "data"), 0);
		return;
	}

	bool upload_route = call->route->flags & API_UPLOAD;
	if ((req->preflight || req->upload) && !upload_route) {
		json_decref(path_params);
		respond_plain(call, 400, "this URL takes no file upload");
		return;
	}
	if (req->websocket && !(call->route->flags & API_WEBSOCKET)) {
		json_decref(path_params);
		respond_plain(call, 400, "this URL takes no websocket");
		return;
	}
	call->websocket = req->websocket;
	if (upload_route && !req->preflight && !req->upload) {
		json_decref(path_params);
		respond_plain(call, 400, "expected a multipart/form-data upload");
		return;
	}

	json_t *raw = NULL;
	int r = collect_params(call, req, m, path_params, &raw);
	json_decref(path_params);
	if (r < 0)
		return;

	if (call->who.how == AUTH_TOKEN && (call->route->flags & API_NO_TOKEN)) {
		json_decref(raw);
		_cleanup_free_ char *msg = xasprintf("Permission check failed (URI '%s' not "
		                                     "available with API token, need proper "
		                                     "ticket.",
		                                     rel);
		respond(call, 403, msg, json_pack("{s:n}", "data"), 0);
		return;
	}
	if (check_route_permission(call, raw) < 0) {
		json_decref(raw);
		api_call_complete(call, -EACCES);
		return;
	}
	if (req->preflight) {
		/* the proxy may now stream the body; parameters come with the final request */
		json_decref(raw);
		respond_plain(call, 200, "OK");
		return;
	}

	call->param_errors = call->param_errors ? call->param_errors : json_object();
	r = schema_validate(call->route->params, raw, &call->params, call->param_errors);
	json_decref(raw);
	if (r < 0) {
		api_call_complete(call, r);
		return;
	}
	json_decref(call->param_errors);
	call->param_errors = NULL;

	/* one node for now: "localhost" means this node, any other name is not ours */
	const char *node = param_str(call->params, "node");
	if (node && strstr(call->route->path, "{node}")) {
		if (streq(node, "localhost")) {
			json_object_set_new(call->params, "node", json_string(ctx->node));
		} else if (!streq(node, ctx->node)) {
			api_call_complete(call, api_fail(call, 500,
			                                 "hostname lookup '%s' failed - no such "
			                                 "node in this cluster",
			                                 node));
			return;
		}
	}

	r = call->route->handler(call);
	if (r == API_DEFERRED)
		return;
	api_call_complete(call, r);
}

void
api_call_free(struct api_call *call)
{
	if (!call)
		return;
	json_decref(call->params);
	json_decref(call->data);
	free(call->data_text);
	free(call->raw_body);
	json_decref(call->param_errors);
	if (call->upload_fd >= 0)
		close(call->upload_fd);
	if (call->response_fd >= 0)
		close(call->response_fd);
	free(call);
}
