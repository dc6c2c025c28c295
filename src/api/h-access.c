/* /access: login tickets (pam and pve realms), realms, effective permissions and password
 * changes. Password checks block (yescrypt, PAM), so they run on the daemon's thread pool
 * and the request is answered when they finish; a failed login is answered after a delay
 * that holds nobody else up. */
#include "api/authcache.h"
#include "api/handlers.h"
#include "auth/password.h"
#include "auth/ticket.h"
#include "basic/log.h"
#include "store/store.h"

#include <stdio.h>
#include <time.h>

/* ---- computed capabilities ("cap" in the login answer, as PVE's compute_api_permission) */

struct cap_class {
	const char *name;
	const char *const *prefixes; /* privilege name prefixes counted in this class */
};

static const char *const vm_p[] = { "VM.", "Permissions.Modify", NULL };
static const char *const access_p[] = { "User.", "Group.", "Permissions.Modify", NULL };
static const char *const storage_p[] = { "Datastore.", "Permissions.Modify", NULL };
static const char *const nodes_p[] = { "Sys.", "Permissions.Modify", NULL };
static const char *const sdn_p[] = { "SDN.", "Permissions.Modify", NULL };
static const char *const dc_p[] = { "Sys.Audit", "Sys.Modify", "SDN.", NULL };
static const char *const mapping_p[] = { "Mapping.", "Permissions.Modify", NULL };

static const struct cap_class cap_classes[] = {
	{ "vms", vm_p },  { "access", access_p }, { "storage", storage_p }, { "nodes", nodes_p },
	{ "sdn", sdn_p }, { "dc", dc_p },         { "mapping", mapping_p },
};

static bool
priv_in_class(const char *priv, const struct cap_class *k)
{
	for (const char *const *p = k->prefixes; *p; p++)
		if (startswith(priv, *p))
			return true;
	return false;
}

static void
cap_add_path(json_t *cap, struct authcache *auth, const char *subject, const char *path, time_t now)
{
	privset_t privs =
	        streq(subject, "root@pam") ? priv_all() : authcache_privs(auth, subject, path, now);
	char top[32] = "dc";
	if (path[0] == '/' && path[1]) {
		size_t n = strcspn(path + 1, "/");
		snprintf(top, sizeof(top), "%.*s", (int)MIN(n, sizeof(top) - 1), path + 1);
	}
	for (unsigned i = 0; i < priv_count(); i++) {
		if (!(privs & ((privset_t)1 << i)))
			continue;
		const char *name = priv_name(i);
		if (streq(top, "pool")) {
			if (startswith(name, "VM.") || streq(name, "Permissions.Modify"))
				json_object_set_new(json_object_get(cap, "vms"), name,
				                    json_integer(1));
			if (startswith(name, "Datastore.") || streq(name, "Permissions.Modify"))
				json_object_set_new(json_object_get(cap, "storage"), name,
				                    json_integer(1));
			continue;
		}
		for (size_t k = 0; k < ARRAY_SIZE(cap_classes); k++)
			if (streq(cap_classes[k].name, top) && priv_in_class(name, &cap_classes[k]))
				json_object_set_new(json_object_get(cap, top), name,
				                    json_integer(1));
	}
}

static json_t *
compute_cap(struct api_ctx *ctx, const char *subject)
{
	static const char *const required[] = { "/",        "/nodes", "/access/groups", "/vms",
		                                "/storage", "/sdn",   "/mapping",       NULL };
	json_t *cap = json_object();
	for (size_t k = 0; k < ARRAY_SIZE(cap_classes); k++)
		json_object_set_new(cap, cap_classes[k].name, json_object());
	time_t now = time(NULL);
	for (const char *const *p = required; *p; p++)
		cap_add_path(cap, ctx->auth, subject, *p, now);
	const struct usercfg *cfg = authcache_usercfg(ctx->auth);
	for (size_t i = 0; i < cfg->n_acls; i++)
		cap_add_path(cap, ctx->auth, subject, cfg->acls[i].path, now);
	return cap;
}

/* ---- login ---- */

struct login {
	struct api_call *call;
	char *userid;
	char *user; /* the part before '@' */
	char *realm;
	char *password;
	char *hash; /* pve realm: stored yescrypt hash */
	char *pam_service;
	int result;
	struct error err;
};

static void
login_free(struct login *l)
{
	free(l->userid);
	free(l->user);
	free(l->realm);
	if (l->password) {
		explicit_bzero(l->password, strlen(l->password));
		free(l->password);
	}
	free(l->hash);
	free(l->pam_service);
	free(l);
}

static void
login_work(void *arg)
{
	struct login *l = arg;
	if (streq(l->realm, "pve"))
		l->result = l->hash ? password_verify(l->password, l->hash) : -EACCES;
	else if (streq(l->realm, "pam"))
		l->result = pam_login(l->pam_service, l->user, l->password, &l->err);
	else
		l->result = -EACCES;
}

/* Answer a successful authentication of userid: ticket + CSRF token, or with path+privs
 * (PVE's verify mode) only the user name when the privileges hold. */
static int
login_success(struct api_call *c, const char *userid)
{
	struct api_ctx *ctx = c->ctx;
	const char *path = param_str(c->params, "path"), *privs = param_str(c->params, "privs");
	if (path && privs) {
		/* check as the authenticated user, not the (unauthenticated) caller */
		snprintf(c->who.user, sizeof(c->who.user), "%s", userid);
		snprintf(c->who.subject, sizeof(c->who.subject), "%s", userid);
		if (!api_has_privs(c, path, privs, false))
			return api_fail(c, 401, "authentication failure");
		c->data = json_pack("{s:s}", "username", userid);
		return 0;
	}
	time_t now = time(NULL);
	_cleanup_free_ char *ticket = NULL, *csrf = NULL;
	if (ticket_create(ctx->authkey, "PVE", userid, now, &ticket) < 0 ||
	    csrf_token_create(ctx->csrf_secret, ctx->csrf_secret_len, userid, now, &csrf) < 0)
		return api_fail(c, 500, "unable to create ticket");
	c->data = json_pack("{s:s, s:s, s:s, s:o}", "username", userid, "ticket", ticket,
	                    "CSRFPreventionToken", csrf, "cap", compute_cap(ctx, userid));
	return 0;
}

static void
login_done(void *arg)
{
	struct login *l = arg;
	struct api_call *c = l->call;
	int r;
	if (l->result == 0) {
		log_info("successful auth for user '%s' from %s", l->userid, c->client);
		r = login_success(c, l->userid);
	} else {
		log_warn("authentication failure; rhost=%s user=%s%s%s", c->client, l->userid,
		         l->err.msg[0] ? " msg=" : "", l->err.msg);
		r = api_fail(c, 401, "authentication failure");
	}
	login_free(l);
	api_call_complete(c, r);
}

static int
create_ticket(struct api_call *c)
{
	struct api_ctx *ctx = c->ctx;
	const char *username = param_str(c->params, "username");
	const char *realm = param_str(c->params, "realm");
	const char *password = param_str(c->params, "password");
	_cleanup_free_ char *userid =
	        realm ? xasprintf("%s@%s", username, realm) : xstrdup(username);
	time_t now = time(NULL);

	authcache_refresh(ctx->auth);
	const struct usercfg *cfg = authcache_usercfg(ctx->auth);
	const char *at = strrchr(userid, '@');
	if (!at || !userid_valid(userid) || !acl_subject_active(cfg, userid, now)) {
		log_warn("authentication failure; rhost=%s user=%s msg=no such user or disabled",
		         c->client, userid);
		return api_fail(c, 401, "authentication failure");
	}

	/* renewal: a valid ticket of the same user (or of root@pam) stands for the password */
	if (startswith(password, "PVE:")) {
		_cleanup_free_ char *tuser = NULL;
		long age;
		if (ticket_verify(ctx->authkey, "PVE", password, now, -TICKET_CLOCK_SKEW,
		                  TICKET_LIFETIME, &tuser, &age) == 0 &&
		    (streq(tuser, userid) || streq(tuser, "root@pam")))
			return login_success(c, userid);
		return api_fail(c, 401, "authentication failure");
	}

	struct login *l = xcalloc(1, sizeof(*l));
	l->call = c;
	l->userid = xstrdup(userid);
	l->user = xstrndup(userid, (size_t)(at - userid));
	l->realm = xstrdup(at + 1);
	l->password = xstrdup(password);
	l->pam_service = xstrdup(ctx->pam_service);
	if (streq(l->realm, "pve")) {
		_cleanup_free_ char *shadow = store_text(ctx, "priv/shadow.cfg");
		if (shadow)
			(void)shadowcfg_lookup(shadow, userid, &l->hash);
	}
	int r = ctx->run_blocking(ctx, login_work, login_done, l);
	if (r < 0) {
		login_free(l);
		return api_fail(c, 500, "unable to start authentication - %s", strerror(-r));
	}
	return API_DEFERRED;
}

static int
get_ticket(struct api_call *c)
{
	c->data = NULL; /* PVE: a dummy for formatters that show a login page */
	return 0;
}

/* ---- realms ---- */

struct realm_info {
	const char *realm, *type, *comment;
};

static const struct realm_info realms[] = {
	{ "pam", "pam", "Linux PAM standard authentication" },
	{ "pve", "pve", "Berth authentication server" },
};

static int
list_domains(struct api_call *c)
{
	c->data = json_array();
	for (size_t i = 0; i < ARRAY_SIZE(realms); i++)
		json_array_append_new(c->data,
		                      json_pack("{s:s, s:s, s:s}", "realm", realms[i].realm, "type",
		                                realms[i].type, "comment", realms[i].comment));
	return 0;
}

static int
read_domain(struct api_call *c)
{
	const char *realm = param_str(c->params, "realm");
	for (size_t i = 0; i < ARRAY_SIZE(realms); i++)
		if (streq(realms[i].realm, realm)) {
			c->data = json_pack("{s:s, s:s}", "type", realms[i].type, "comment",
			                    realms[i].comment);
			return 0;
		}
	return api_fail(c, 500, "domain '%s' does not exist", realm);
}

static int
access_index(struct api_call *c)
{
	static const char *const names[] = { "acl",   "domains", "password", "permissions",
		                             "roles", "ticket",  "users",    NULL };
	c->data = json_array();
	for (const char *const *n = names; *n; n++)
		json_array_append_new(c->data, json_pack("{s:s}", "subdir", *n));
	return 0;
}

/* ---- effective permissions ---- */

static void
perms_add(json_t *out, struct api_call *c, const char *subject, const char *path, time_t now)
{
	privset_t p = streq(subject, "root@pam")
	                      ? priv_all()
	                      : authcache_privs(c->ctx->auth, subject, path, now);
	if (!p)
		return;
	json_t *o = json_object();
	for (unsigned i = 0; i < priv_count(); i++)
		if (p & ((privset_t)1 << i))
			json_object_set_new(o, priv_name(i), json_integer(1));
	json_object_set_new(out, path, o);
}

static int
get_permissions(struct api_call *c)
{
	const char *who = param_str(c->params, "userid");
	const char *path = param_str(c->params, "path");
	if (who && !streq(who, c->who.subject)) {
		/* a user may look at their own tokens; anyone else needs Sys.Audit */
		size_t n = strlen(c->who.user);
		bool own_token = !c->who.token && strneq(who, c->who.user, n) && who[n] == '!';
		if (!own_token) {
			int r = api_check_privs(c, "/access", "Sys.Audit", false);
			if (r < 0)
				return r;
		}
	}
	const char *subject = who ? who : c->who.subject;
	time_t now = time(NULL);
	json_t *out = json_object();
	if (path) {
		perms_add(out, c, subject, path, now);
	} else {
		static const char *const defaults[] = { "/",        "/access", "/access/groups",
			                                "/nodes",   "/pool",   "/sdn",
			                                "/storage", "/vms",    NULL };
		for (const char *const *p = defaults; *p; p++)
			perms_add(out, c, subject, *p, now);
		const struct usercfg *cfg = authcache_usercfg(c->ctx->auth);
		for (size_t i = 0; i < cfg->n_acls; i++)
			perms_add(out, c, subject, cfg->acls[i].path, now);
	}
	c->data = out;
	return 0;
}

/* ---- password ---- */

struct pwchange {
	struct api_call *call;
	char *userid;
	char *password;
	char *hash;
	/* the caller's own password, when they must confirm it (everyone but root@pam) */
	char *confirm;
	char *caller_realm, *caller_user, *caller_hash, *pam_service;
	int confirmed; /* 0 ok, < 0 refused */
	int result;
};

static void
secret_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static void
pwchange_free(struct pwchange *p)
{
	secret_free(p->password);
	secret_free(p->confirm);
	free(p->userid);
	free(p->hash);
	free(p->caller_realm);
	free(p->caller_user);
	free(p->caller_hash);
	free(p->pam_service);
	free(p);
}

static void
pwchange_work(void *arg)
{
	struct pwchange *p = arg;
	if (p->confirm) {
		struct error err = { 0 };
		if (streq(p->caller_realm, "pve"))
			p->confirmed = p->caller_hash ? password_verify(p->confirm, p->caller_hash)
			                              : -EACCES;
		else if (streq(p->caller_realm, "pam"))
			p->confirmed = pam_login(p->pam_service, p->caller_user, p->confirm, &err);
		else
			p->confirmed = -EACCES;
		if (p->confirmed < 0)
			return;
	}
	p->result = password_hash(p->password, &p->hash);
}

static void
pwchange_done(void *arg)
{
	struct pwchange *p = arg;
	struct api_call *c = p->call;
	int r;
	if (p->confirmed < 0) {
		log_warn("password change for '%s' refused: wrong confirmation password from '%s' "
		         "(%s)",
		         p->userid, c->who.user, c->client);
		r = api_fail(c, 401, "authentication failure");
	} else if (p->result < 0) {
		r = api_fail(c, 500, "unable to hash password");
	} else {
		r = shadow_set_hash(c, p->userid, p->hash);
		if (r >= 0)
			log_info("changed password for user '%s'", p->userid);
	}
	pwchange_free(p);
	api_call_complete(c, r);
}

/* PVE's change_password: root@pam may change any password; others confirm with their own
 * password, may always change their own, and need Realm.AllocateUser + User.Modify for
 * somebody else's (never root@pam's, never a pam user's). */
static int
change_password(struct api_call *c)
{
	struct api_ctx *ctx = c->ctx;
	const char *userid = param_str(c->params, "userid");
	const char *at = strrchr(userid, '@');
	if (!usercfg_find_user(authcache_usercfg(ctx->auth), userid))
		return api_fail(c, 500, "no such user ('%s')", userid);
	bool root = api_is_root(c);
	if (!root) {
		if (streq(userid, "root@pam"))
			return api_fail(c, 403, "Permission check failed");
		if (!param_has(c->params, "confirmation-password"))
			return api_param_error(c, "confirmation-password",
			                       "password is required to modify user");
		if (!streq(userid, c->who.user)) {
			_cleanup_free_ char *rpath =
			        xasprintf("/access/realm/%s", at ? at + 1 : "");
			int r = api_check_privs(c, rpath, "Realm.AllocateUser", false);
			if (r < 0)
				return r;
			r = api_check_privs(c, "/access/groups", "User.Modify", false);
			if (r < 0)
				return r;
		}
	}
	if (!at || !streq(at + 1, "pve"))
		return api_fail(
		        c, 500,
		        "changing passwords of '%s' users through the API is not supported - "
		        "use the host's tools (passwd) for pam users",
		        at ? at + 1 : "?");

	struct pwchange *p = xcalloc(1, sizeof(*p));
	p->call = c;
	p->userid = xstrdup(userid);
	p->password = xstrdup(param_str(c->params, "password"));
	if (!root) {
		const char *cat = strrchr(c->who.user, '@');
		p->confirm = xstrdup(param_str(c->params, "confirmation-password"));
		p->caller_realm = xstrdup(cat ? cat + 1 : "");
		p->caller_user = xstrndup(c->who.user, cat ? (size_t)(cat - c->who.user) : 0);
		p->pam_service = xstrdup(ctx->pam_service);
		if (streq(p->caller_realm, "pve")) {
			_cleanup_free_ char *shadow = store_text(ctx, "priv/shadow.cfg");
			if (shadow)
				(void)shadowcfg_lookup(shadow, c->who.user, &p->caller_hash);
		}
	}
	int r = ctx->run_blocking(ctx, pwchange_work, pwchange_done, p);
	if (r < 0) {
		pwchange_free(p);
		return api_fail(c, 500, "unable to hash password - %s", strerror(-r));
	}
	return API_DEFERRED;
}

/* ---- routes ---- */

static const struct api_schema no_params[] = { PARAM_END };

static const struct api_schema ticket_params[] = {
	{ .name = "username", .type = API_T_STRING, .max_length = 64, .description = "User name" },
	PARAM_REALM_OPT,
	{ .name = "password",
	  .type = API_T_STRING,
	  .flags = API_F_SECRET,
	  .description = "The secret password. This can also be a valid ticket." },
	{ .name = "otp",
	  .type = API_T_STRING,
	  .optional = true,
	  .flags = API_F_SECRET,
	  .description = "One-time password for Two-factor authentication (not supported yet: "
	                 "Berth has no second factors)." },
	{ .name = "path",
	  .type = API_T_STRING,
	  .optional = true,
	  .requires = "privs",
	  .max_length = 64,
	  .description = "Verify ticket, and check if user have access 'privs' on 'path'" },
	{ .name = "privs",
	  .type = API_T_STRING,
	  .format = "pve-priv-list",
	  .optional = true,
	  .requires = "path",
	  .max_length = 64,
	  .description = "Verify ticket, and check if user have access 'privs' on 'path'" },
	{ .name = "new-format",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .default_text = "1",
	  .description = "This parameter is ignored and assumed to be 1." },
	{ .name = "tfa-challenge",
	  .type = API_T_STRING,
	  .optional = true,
	  .description = "The signed TFA challenge string the user wants to respond to." },
	PARAM_END,
};

static const struct api_schema realm_params[] = {
	{ .name = "realm",
	  .type = API_T_STRING,
	  .format = "pve-realm",
	  .max_length = 32,
	  .description = "Authentication domain ID" },
	PARAM_END,
};

static const struct api_schema permissions_params[] = {
	{ .name = "userid",
	  .type = API_T_STRING,
	  .optional = true,
	  .pattern = "[^[:space:]:/]+@[A-Za-z][A-Za-z0-9._-]+(![A-Za-z][A-Za-z0-9._-]*)?",
	  .description = "User ID or full API token ID" },
	{ .name = "path",
	  .type = API_T_STRING,
	  .optional = true,
	  .description = "Only dump this specific path, not the whole tree." },
	PARAM_END,
};

static const struct api_schema password_params[] = {
	PARAM_USERID,
	{ .name = "password",
	  .type = API_T_STRING,
	  .min_length = 8,
	  .max_length = 64,
	  .flags = API_F_SECRET,
	  .description = "The new password." },
	{ .name = "confirmation-password",
	  .type = API_T_STRING,
	  .optional = true,
	  .max_length = 64,
	  .flags = API_F_SECRET,
	  .description = "The current password of the user performing the change." },
	PARAM_END,
};

static const struct api_schema ticket_returns[] = {
	{ .name = "username", .type = API_T_STRING },
	{ .name = "ticket", .type = API_T_STRING, .optional = true },
	{ .name = "CSRFPreventionToken", .type = API_T_STRING, .optional = true },
	PARAM_END,
};

const struct api_route api_routes_access[] = {
	{ .method = API_GET,
	  .path = "/access",
	  .params = no_params,
	  .perm = { .kind = PERM_ANY_USER },
	  .handler = access_index,
	  .description = "Directory index." },
	{ .method = API_GET,
	  .path = "/access/ticket",
	  .params = no_params,
	  .perm = { .kind = PERM_WORLD },
	  .handler = get_ticket,
	  .description = "Dummy. Useful for formatters which want to provide a login page." },
	{ .method = API_POST,
	  .path = "/access/ticket",
	  .params = ticket_params,
	  .perm = { .kind = PERM_WORLD, .description = "You need to pass valid credentials." },
	  .flags = API_NO_TOKEN,
	  .handler = create_ticket,
	  .description = "Create or verify authentication ticket.",
	  .returns = &(const struct api_schema){ .type = API_T_OBJECT, .props = ticket_returns } },
	{ .method = API_GET,
	  .path = "/access/domains",
	  .params = no_params,
	  .perm = { .kind = PERM_WORLD },
	  .handler = list_domains,
	  .description = "Authentication domain index." },
	{ .method = API_GET,
	  .path = "/access/domains/{realm}",
	  .params = realm_params,
	  .perm = { .kind = PERM_PRIVS,
	            .path = "/access/realm/{realm}",
	            .privs = "Realm.Allocate,Sys.Audit",
	            .any = true },
	  .handler = read_domain,
	  .description = "Get auth server configuration." },
	{ .method = API_GET,
	  .path = "/access/permissions",
	  .params = permissions_params,
	  .perm = { .kind = PERM_ANY_USER,
	            .description = "Each user/token is allowed to dump their own permissions (or "
	                           "those of owned tokens). A user can dump the permissions of "
	                           "another user or their tokens if they have 'Sys.Audit' "
	                           "permission on /access." },
	  .handler = get_permissions,
	  .description = "Retrieve effective permissions of given user/token." },
	{ .method = API_PUT,
	  .path = "/access/password",
	  .params = password_params,
	  .perm = { .kind = PERM_ANY_USER,
	            .description = "Each user is allowed to change their own password. Changing "
	                           "another user's password needs 'Realm.AllocateUser' on "
	                           "/access/realm/<realm> and 'User.Modify' on /access/groups." },
	  .flags = API_NO_TOKEN,
	  .handler = change_password,
	  .description = "Change user password (pve realm)." },
	{ 0 },
};
