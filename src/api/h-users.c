/* /access/users: users and their API tokens. Token secrets are shown once, at creation, and
 * only their SHA-256 is stored (priv/token.cfg). */
#include "api/authcache.h"
#include "api/handlers.h"
#include "auth/password.h"
#include "auth/token.h"
#include "auth/usercfg.h"
#include "basic/log.h"

#include <stdio.h>
#include <time.h>

static void
set_opt_str(json_t *o, const char *key, const char *v)
{
	if (v && *v)
		json_object_set_new(o, key, json_string(v));
}

static json_t *
token_info(const struct uc_token *t)
{
	json_t *o = json_pack("{s:I, s:i}", "expire", (json_int_t)t->expire, "privsep",
	                      t->privsep ? 1 : 0);
	set_opt_str(o, "comment", t->comment);
	return o;
}

static void
user_fields(json_t *o, const struct uc_user *u)
{
	json_object_set_new(o, "enable", json_integer(u->enable ? 1 : 0));
	json_object_set_new(o, "expire", json_integer((json_int_t)u->expire));
	set_opt_str(o, "firstname", u->firstname);
	set_opt_str(o, "lastname", u->lastname);
	set_opt_str(o, "email", u->email);
	set_opt_str(o, "comment", u->comment);
	set_opt_str(o, "keys", u->keys);
}

static const char *
realm_type(const char *userid)
{
	const char *at = strrchr(userid, '@');
	return at ? at + 1 : "";
}

static int
list_users(struct api_call *c)
{
	const struct usercfg *cfg = authcache_usercfg(c->ctx->auth);
	bool can_see_all = api_has_privs(c, "/access/groups", "User.Modify,Sys.Audit", true);
	bool full = param_bool(c->params, "full", false);
	bool has_enabled = param_has(c->params, "enabled");
	bool enabled = param_bool(c->params, "enabled", true);
	c->data = json_array();
	for (size_t i = 0; i < cfg->n_users; i++) {
		const struct uc_user *u = &cfg->users[i];
		if (!can_see_all && !streq(u->userid, c->who.user))
			continue;
		if (has_enabled && u->enable != enabled)
			continue;
		json_t *o = json_pack("{s:s}", "userid", u->userid);
		user_fields(o, u);
		json_object_set_new(o, "realm-type", json_string(realm_type(u->userid)));
		if (full) {
			json_object_set_new(o, "groups", json_string(""));
			json_t *tokens = json_array();
			for (size_t k = 0; k < u->n_tokens; k++) {
				json_t *t = token_info(&u->tokens[k]);
				json_object_set_new(t, "tokenid", json_string(u->tokens[k].name));
				json_array_append_new(tokens, t);
			}
			json_object_set_new(o, "tokens", tokens);
		}
		json_array_append_new(c->data, o);
	}
	return 0;
}

static const struct uc_user *
lookup_user(struct api_call *c, const char *userid)
{
	return usercfg_find_user(authcache_usercfg(c->ctx->auth), userid);
}

static int
read_user(struct api_call *c)
{
	const char *userid = param_str(c->params, "userid");
	const struct uc_user *u = lookup_user(c, userid);
	if (!u)
		return api_fail(c, 500, "no such user ('%s')", userid);
	json_t *o = json_object();
	user_fields(o, u);
	json_object_set_new(o, "groups", json_array());
	json_t *tokens = json_object();
	for (size_t k = 0; k < u->n_tokens; k++)
		json_object_set_new(tokens, u->tokens[k].name, token_info(&u->tokens[k]));
	json_object_set_new(o, "tokens", tokens);
	c->data = o;
	return 0;
}

/* Copy the optional user fields present in params onto u (strings owned by the caller's
 * params; usercfg_add_user copies them). */
static void
user_from_params(const json_t *p, struct uc_user *u)
{
	if (param_has(p, "enable"))
		u->enable = param_bool(p, "enable", true);
	if (param_has(p, "expire"))
		u->expire = param_int(p, "expire", 0);
	static const struct {
		const char *name;
		size_t off;
	} fields[] = {
		{ "firstname", offsetof(struct uc_user, firstname) },
		{ "lastname", offsetof(struct uc_user, lastname) },
		{ "email", offsetof(struct uc_user, email) },
		{ "comment", offsetof(struct uc_user, comment) },
		{ "keys", offsetof(struct uc_user, keys) },
	};
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		if (param_has(p, fields[i].name))
			*(const char **)((char *)u + fields[i].off) = param_str(p, fields[i].name);
}

static int
edit_create_user(struct api_call *c, struct usercfg *cfg, void *arg)
{
	const char *userid = param_str(c->params, "userid");
	if (usercfg_find_user(cfg, userid))
		return api_fail(c, 500, "create user failed: user '%s' already exists", userid);
	struct uc_user u = { .userid = (char *)userid, .enable = true };
	user_from_params(c->params, &u);
	int r = usercfg_add_user(cfg, &u);
	if (r < 0)
		return api_fail(c, 500, "create user failed: %s", strerror(-r));
	return 0;
}

static int
create_user(struct api_call *c)
{
	const char *userid = param_str(c->params, "userid");
	const char *password = param_str(c->params, "password");
	const char *realm = realm_type(userid);
	if (!streq(realm, "pam") && !streq(realm, "pve"))
		return api_fail(c, 500, "create user failed: auth domain '%s' does not exist",
		                realm);
	if (password && !streq(realm, "pve"))
		return api_fail(c, 500,
		                "create user failed: setting the password of '%s' users is not "
		                "supported - use the host's tools (passwd)",
		                realm);
	const char *groups = param_str(c->params, "groups");
	if (groups) {
		/* groups arrive with the groups issue; until then none exists */
		char **g = split_list(groups);
		int r = g[0] ? api_fail(c, 500, "create user failed: no such group '%s'", g[0]) : 0;
		strv_free(g);
		if (r < 0)
			return r;
	}
	/* hash first (before the user exists, so a failure leaves nothing behind); this is a
	 * one-off admin action, so hashing on the event loop is acceptable */
	_cleanup_free_ char *hash = NULL;
	if (password && password_hash(password, &hash) < 0)
		return api_fail(c, 500, "create user failed: unable to hash password");
	int r = usercfg_transaction(c, edit_create_user, NULL);
	if (r < 0)
		return r;
	if (hash) {
		r = shadow_set_hash(c, userid, hash);
		if (r < 0)
			return r;
	}
	return 0;
}

static int
edit_update_user(struct api_call *c, struct usercfg *cfg, void *arg)
{
	const char *userid = param_str(c->params, "userid");
	struct uc_user *u = usercfg_find_user(cfg, userid);
	if (!u)
		return api_fail(c, 500, "update user failed: no such user ('%s')", userid);
	struct uc_user in = { .enable = u->enable, .expire = u->expire };
	user_from_params(c->params, &in);
	u->enable = in.enable;
	u->expire = in.expire;
	char **dst[] = { &u->firstname, &u->lastname, &u->email, &u->comment, &u->keys };
	const char *src[] = { in.firstname, in.lastname, in.email, in.comment, in.keys };
	for (size_t i = 0; i < ARRAY_SIZE(dst); i++)
		if (src[i]) {
			free(*dst[i]);
			*dst[i] = *src[i] ? xstrdup(src[i]) : NULL;
		}
	return 0;
}

static int
update_user(struct api_call *c)
{
	return usercfg_transaction(c, edit_update_user, NULL);
}

static int
edit_delete_user(struct api_call *c, struct usercfg *cfg, void *arg)
{
	const char *userid = param_str(c->params, "userid");
	if (!usercfg_find_user(cfg, userid))
		return api_fail(c, 500, "delete user failed: no such user ('%s')", userid);
	usercfg_remove_user(cfg, userid);
	return 0;
}

static int
delete_user(struct api_call *c)
{
	const char *userid = param_str(c->params, "userid");
	const struct uc_user *u = lookup_user(c, userid);
	if (streq(userid, "root@pam"))
		return api_fail(c, 500, "delete user failed: root@pam cannot be removed");
	if (!u)
		return api_fail(c, 500, "delete user failed: no such user ('%s')", userid);
	/* secrets first (token hashes, password hash), the user.cfg entries last: should a
	 * step fail, what is left grants nothing */
	int r = 0;
	for (size_t i = 0; r >= 0 && i < u->n_tokens; i++) {
		_cleanup_free_ char *id = xasprintf("%s!%s", userid, u->tokens[i].name);
		r = tokencfg_set_hash(c, id, NULL);
		u = lookup_user(c, userid); /* the refresh may have replaced the cache */
		if (!u)
			break;
	}
	if (r >= 0 && streq(realm_type(userid), "pve"))
		r = shadow_set_hash(c, userid, NULL);
	if (r < 0)
		return r;
	return usercfg_transaction(c, edit_delete_user, NULL);
}

/* ---- tokens ---- */

static int
list_tokens(struct api_call *c)
{
	const char *userid = param_str(c->params, "userid");
	const struct uc_user *u = lookup_user(c, userid);
	if (!u)
		return api_fail(c, 500, "no such user ('%s')", userid);
	c->data = json_array();
	for (size_t k = 0; k < u->n_tokens; k++) {
		json_t *t = token_info(&u->tokens[k]);
		json_object_set_new(t, "tokenid", json_string(u->tokens[k].name));
		json_array_append_new(c->data, t);
	}
	return 0;
}

static char *
full_tokenid(struct api_call *c)
{
	return xasprintf("%s!%s", param_str(c->params, "userid"), param_str(c->params, "tokenid"));
}

static int
read_token(struct api_call *c)
{
	_cleanup_free_ char *id = full_tokenid(c);
	const struct uc_token *t = usercfg_find_token(authcache_usercfg(c->ctx->auth), id);
	if (!t)
		return api_fail(c, 500, "no such token '%s' for user '%s'",
		                param_str(c->params, "tokenid"), param_str(c->params, "userid"));
	c->data = token_info(t);
	return 0;
}

static int edit_delete_token(struct api_call *c, struct usercfg *cfg, void *arg);

static int
edit_create_token(struct api_call *c, struct usercfg *cfg, void *arg)
{
	const char *userid = param_str(c->params, "userid");
	_cleanup_free_ char *id = full_tokenid(c);
	if (!usercfg_find_user(cfg, userid))
		return api_fail(c, 500, "no such user ('%s')", userid);
	if (usercfg_find_token(cfg, id))
		return api_param_error(c, "tokenid", "Token already exists.");
	struct uc_token t = {
		.name = (char *)param_str(c->params, "tokenid"),
		.expire = param_int(c->params, "expire", 0),
		.privsep = param_bool(c->params, "privsep", true),
		.comment = (char *)param_str(c->params, "comment"),
	};
	int r = usercfg_add_token(cfg, userid, &t);
	if (r < 0)
		return api_fail(c, 500, "unable to add token - %s", strerror(-r));
	return 0;
}

static int
create_token(struct api_call *c)
{
	_cleanup_free_ char *id = full_tokenid(c);
	char secret[37], hash[TOKEN_HASH_HEX + 1];
	if (token_secret_generate(secret) < 0)
		return api_fail(c, 500, "unable to generate token secret");
	token_secret_hash(secret, hash);
	/* The entry first: a duplicate is refused before anything else changes, and an entry
	 * without a stored hash cannot authenticate anyone. Then the hash. */
	int r = usercfg_transaction(c, edit_create_token, NULL);
	if (r < 0)
		return r;
	r = tokencfg_set_hash(c, id, hash);
	if (r < 0) {
		struct error keep = c->err;
		(void)usercfg_transaction(c, edit_delete_token, NULL);
		c->err = keep;
		return r;
	}
	const struct uc_token *t = usercfg_find_token(authcache_usercfg(c->ctx->auth), id);
	c->data = json_pack("{s:s, s:o, s:s}", "full-tokenid", id, "info",
	                    t ? token_info(t) : json_object(), "value", secret);
	explicit_bzero(secret, sizeof(secret));
	return 0;
}

static int
edit_update_token(struct api_call *c, struct usercfg *cfg, void *arg)
{
	_cleanup_free_ char *id = full_tokenid(c);
	struct uc_token *t = usercfg_find_token(cfg, id);
	if (!t)
		return api_fail(c, 500, "no such token '%s' for user '%s'",
		                param_str(c->params, "tokenid"), param_str(c->params, "userid"));
	if (param_has(c->params, "expire"))
		t->expire = param_int(c->params, "expire", 0);
	if (param_has(c->params, "privsep"))
		t->privsep = param_bool(c->params, "privsep", true);
	if (param_has(c->params, "comment")) {
		free(t->comment);
		const char *cm = param_str(c->params, "comment");
		t->comment = *cm ? xstrdup(cm) : NULL;
	}
	return 0;
}

static int
update_token(struct api_call *c)
{
	int r = usercfg_transaction(c, edit_update_token, NULL);
	if (r < 0)
		return r;
	return read_token(c);
}

static int
edit_delete_token(struct api_call *c, struct usercfg *cfg, void *arg)
{
	_cleanup_free_ char *id = full_tokenid(c);
	if (!usercfg_find_token(cfg, id))
		return api_fail(c, 500, "no such token '%s' for user '%s'",
		                param_str(c->params, "tokenid"), param_str(c->params, "userid"));
	usercfg_remove_token(cfg, id);
	return 0;
}

static int
delete_token(struct api_call *c)
{
	_cleanup_free_ char *id = full_tokenid(c);
	if (!usercfg_find_token(authcache_usercfg(c->ctx->auth), id))
		return api_fail(c, 500, "no such token '%s' for user '%s'",
		                param_str(c->params, "tokenid"), param_str(c->params, "userid"));
	/* the secret first: should the second step fail, what is left grants nothing */
	int r = tokencfg_set_hash(c, id, NULL);
	if (r < 0)
		return r;
	return usercfg_transaction(c, edit_delete_token, NULL);
}

/* ---- routes ---- */

#define USER_FIELDS                                                                                \
	PARAM_COMMENT_OPT,                                                                         \
	        { .name = "email",                                                                 \
		  .type = API_T_STRING,                                                            \
		  .format = "email-opt",                                                           \
		  .optional = true,                                                                \
		  .max_length = 254 },                                                             \
	        { .name = "enable",                                                                \
		  .type = API_T_BOOLEAN,                                                           \
		  .optional = true,                                                                \
		  .default_text = "1",                                                             \
		  .description = "Enable the account (default). You can set this to '0' to "       \
		                 "disable the account" },                                          \
	        PARAM_EXPIRE_OPT,                                                                  \
	        { .name = "firstname",                                                             \
		  .type = API_T_STRING,                                                            \
		  .optional = true,                                                                \
		  .max_length = 1024 },                                                            \
	        { .name = "lastname",                                                              \
		  .type = API_T_STRING,                                                            \
		  .optional = true,                                                                \
		  .max_length = 1024 },                                                            \
	{                                                                                          \
		.name = "keys", .type = API_T_STRING, .optional = true,                            \
		.pattern = "[0-9a-zA-Z!=]{0,4096}",                                                \
		.description = "Keys for two factor auth (yubico)."                                \
	}

static const struct api_schema list_params[] = {
	{ .name = "enabled",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "Optional filter for enable property." },
	{ .name = "full",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .default_text = "0",
	  .description = "Include group and token information." },
	PARAM_END,
};
static const struct api_schema userid_params[] = { PARAM_USERID, PARAM_END };
static const struct api_schema create_params[] = {
	PARAM_USERID,
	USER_FIELDS,
	{ .name = "password",
	  .type = API_T_STRING,
	  .optional = true,
	  .min_length = 8,
	  .max_length = 64,
	  .flags = API_F_SECRET,
	  .description = "Initial password (pve realm)." },
	{ .name = "groups",
	  .type = API_T_STRING,
	  .format = "pve-groupid-list",
	  .optional = true,
	  .description = "Groups the user belongs to." },
	PARAM_END,
};
static const struct api_schema update_params[] = { PARAM_USERID, USER_FIELDS, PARAM_END };
static const struct api_schema token_params[] = { PARAM_USERID, PARAM_TOKENID, PARAM_END };
static const struct api_schema token_write_params[] = {
	PARAM_USERID,
	PARAM_TOKENID,
	PARAM_COMMENT_OPT,
	{ .name = "expire",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .minimum = 0,
	  .flags = API_F_HAS_MIN,
	  .default_text = "same as user",
	  .description = "API token expiration date (seconds since epoch). '0' means no "
	                 "expiration date." },
	{ .name = "privsep",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .default_text = "1",
	  .description = "Restrict API token privileges with separate ACLs (default), or give "
	                 "full privileges of corresponding user." },
	PARAM_END,
};

static const struct api_schema user_item[] = {
	{ .name = "userid", .type = API_T_STRING },
	{ .name = "enable", .type = API_T_BOOLEAN },
	{ .name = "expire", .type = API_T_INTEGER },
	{ .name = "comment", .type = API_T_STRING, .optional = true },
	PARAM_END,
};
static const struct api_schema token_item[] = {
	{ .name = "tokenid", .type = API_T_STRING },
	{ .name = "expire", .type = API_T_INTEGER },
	{ .name = "privsep", .type = API_T_BOOLEAN },
	{ .name = "comment", .type = API_T_STRING, .optional = true },
	PARAM_END,
};

#define GROUP_PERM(privs_, any_, self_, realm_)                                                    \
	{                                                                                          \
		.kind = PERM_USERID_GROUP, .privs = privs_, .any = any_, .self_ok = self_,         \
		.realm_privs = realm_                                                              \
	}

const struct api_route api_routes_users[] = {
	{ .method = API_GET,
	  .path = "/access/users",
	  .params = list_params,
	  .perm = { .kind = PERM_ANY_USER,
	            .description = "The returned list is restricted to users where you have "
	                           "'User.Modify' or 'Sys.Audit' permissions on '/access/groups'. "
	                           "It always includes the current (authenticated) user." },
	  .handler = list_users,
	  .description = "User index.",
	  .returns =
	          &(const struct api_schema){
	                  .type = API_T_ARRAY,
	                  .items = &(const struct api_schema){ .type = API_T_OBJECT,
	                                                       .props = user_item } } },
	{ .method = API_POST,
	  .path = "/access/users",
	  .params = create_params,
	  .perm = GROUP_PERM("User.Modify", false, false, "Realm.AllocateUser"),
	  .handler = create_user,
	  .description = "Create new user." },
	{ .method = API_GET,
	  .path = "/access/users/{userid}",
	  .params = userid_params,
	  .perm = GROUP_PERM("User.Modify,Sys.Audit", true, false, NULL),
	  .handler = read_user,
	  .description = "Get user configuration." },
	{ .method = API_PUT,
	  .path = "/access/users/{userid}",
	  .params = update_params,
	  .perm = GROUP_PERM("User.Modify", false, false, NULL),
	  .handler = update_user,
	  .description = "Update user configuration." },
	{ .method = API_DELETE,
	  .path = "/access/users/{userid}",
	  .params = userid_params,
	  .perm = GROUP_PERM("User.Modify", false, false, "Realm.AllocateUser"),
	  .handler = delete_user,
	  .description = "Delete user." },
	{ .method = API_GET,
	  .path = "/access/users/{userid}/token",
	  .params = userid_params,
	  .perm = GROUP_PERM("User.Modify", false, true, NULL),
	  .handler = list_tokens,
	  .description = "Get user API tokens.",
	  .returns =
	          &(const struct api_schema){
	                  .type = API_T_ARRAY,
	                  .items = &(const struct api_schema){ .type = API_T_OBJECT,
	                                                       .props = token_item } } },
	{ .method = API_GET,
	  .path = "/access/users/{userid}/token/{tokenid}",
	  .params = token_params,
	  .perm = GROUP_PERM("User.Modify", false, true, NULL),
	  .handler = read_token,
	  .description = "Get specific API token information." },
	{ .method = API_POST,
	  .path = "/access/users/{userid}/token/{tokenid}",
	  .params = token_write_params,
	  .perm = GROUP_PERM("User.Modify", false, true, NULL),
	  .handler = create_token,
	  .description = "Generate a new API token for a specific user. NOTE: returns API token "
	                 "value, which needs to be stored as it cannot be retrieved afterwards!" },
	{ .method = API_PUT,
	  .path = "/access/users/{userid}/token/{tokenid}",
	  .params = token_write_params,
	  .perm = GROUP_PERM("User.Modify", false, true, NULL),
	  .handler = update_token,
	  .description = "Update API token for a specific user." },
	{ .method = API_DELETE,
	  .path = "/access/users/{userid}/token/{tokenid}",
	  .params = token_params,
	  .perm = GROUP_PERM("User.Modify", false, true, NULL),
	  .handler = delete_token,
	  .description = "Remove API token for a specific user." },
	{ 0 },
};
