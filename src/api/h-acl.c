/* /access/roles and /access/acl: Proxmox VE's built-in roles plus custom ones, and ACL
 * entries with PVE's delegation rule (without Permissions.Modify you may only hand out a
 * subset of your own privileges). */
#include "api/authcache.h"
#include "api/handlers.h"
#include "auth/usercfg.h"

#include <stdio.h>
#include <time.h>

/* ---- roles ---- */

static json_t *
role_entry(const char *id, privset_t privs, bool special)
{
	_cleanup_free_ char *list = privset_format(privs);
	return json_pack("{s:s, s:s, s:i}", "roleid", id, "privs", list, "special",
	                 special ? 1 : 0);
}

static int
list_roles(struct api_call *c)
{
	const struct usercfg *cfg = authcache_usercfg(c->ctx->auth);
	unsigned n;
	const struct builtin_role *b = builtin_roles(&n);
	c->data = json_array();
	for (unsigned i = 0; i < n; i++)
		json_array_append_new(c->data, role_entry(b[i].id, b[i].privs, b[i].special));
	for (size_t i = 0; i < cfg->n_roles; i++)
		json_array_append_new(c->data,
		                      role_entry(cfg->roles[i].roleid, cfg->roles[i].privs, false));
	return 0;
}

static int
read_role(struct api_call *c)
{
	const char *id = param_str(c->params, "roleid");
	privset_t privs;
	if (!usercfg_role_privs(authcache_usercfg(c->ctx->auth), id, &privs))
		return api_fail(c, 500, "role '%s' does not exist", id);
	c->data = json_object();
	for (unsigned i = 0; i < priv_count(); i++)
		if (privs & ((privset_t)1 << i))
			json_object_set_new(c->data, priv_name(i), json_integer(1));
	return 0;
}

static int
parse_privs_param(struct api_call *c, privset_t *ret)
{
	const char *list = param_str(c->params, "privs");
	*ret = 0;
	if (!list)
		return 0;
	_cleanup_free_ char *bad = NULL;
	if (privset_parse(list, ret, &bad) < 0)
		return api_param_error(c, "privs", "invalid privilege '%s'", bad ? bad : list);
	return 0;
}

static int
edit_create_role(struct api_call *c, struct usercfg *cfg, void *arg)
{
	const char *id = param_str(c->params, "roleid");
	privset_t ignored;
	if (builtin_role_lookup(id) || usercfg_role_privs(cfg, id, &ignored))
		return api_fail(c, 500, "role '%s' already exists", id);
	cfg->roles = xrealloc(cfg->roles, (cfg->n_roles + 1) * sizeof(*cfg->roles));
	cfg->roles[cfg->n_roles++] = (struct uc_role){ xstrdup(id), *(privset_t *)arg };
	return 0;
}

static int
create_role(struct api_call *c)
{
	privset_t privs;
	int r = parse_privs_param(c, &privs);
	if (r < 0)
		return r;
	if (startswith(param_str(c->params, "roleid"), "PVE"))
		return api_param_error(c, "roleid", "cannot use reserved role name prefix 'PVE'");
	return usercfg_transaction(c, edit_create_role, &privs);
}

static struct uc_role *
custom_role(struct usercfg *cfg, const char *id)
{
	for (size_t i = 0; i < cfg->n_roles; i++)
		if (streq(cfg->roles[i].roleid, id))
			return &cfg->roles[i];
	return NULL;
}

static int
edit_update_role(struct api_call *c, struct usercfg *cfg, void *arg)
{
	const char *id = param_str(c->params, "roleid");
	if (builtin_role_lookup(id))
		return api_fail(c, 500, "cannot modify built-in role '%s'", id);
	struct uc_role *role = custom_role(cfg, id);
	if (!role)
		return api_fail(c, 500, "role '%s' does not exist", id);
	privset_t privs = *(privset_t *)arg;
	role->privs = param_bool(c->params, "append", false) ? role->privs | privs : privs;
	return 0;
}

static int
update_role(struct api_call *c)
{
	privset_t privs;
	int r = parse_privs_param(c, &privs);
	if (r < 0)
		return r;
	return usercfg_transaction(c, edit_update_role, &privs);
}

static int
edit_delete_role(struct api_call *c, struct usercfg *cfg, void *arg)
{
	const char *id = param_str(c->params, "roleid");
	if (builtin_role_lookup(id))
		return api_fail(c, 500, "cannot delete built-in role '%s'", id);
	struct uc_role *role = custom_role(cfg, id);
	if (!role)
		return api_fail(c, 500, "role '%s' does not exist", id);
	free(role->roleid);
	*role = cfg->roles[--cfg->n_roles];
	/* ACL entries naming the role go with it */
	for (size_t i = 0; i < cfg->n_acls;) {
		if (streq(cfg->acls[i].roleid, id)) {
			/* copies: the removal frees the entry's own strings */
			_cleanup_free_ char *path = xstrdup(cfg->acls[i].path);
			_cleanup_free_ char *ugid = xstrdup(cfg->acls[i].ugid);
			_cleanup_free_ char *rid = xstrdup(cfg->acls[i].roleid);
			struct uc_acl a = { .path = path,
				            .type = cfg->acls[i].type,
				            .ugid = ugid,
				            .roleid = rid,
				            .propagate = cfg->acls[i].propagate };
			usercfg_set_acl(cfg, &a, true);
		} else {
			i++;
		}
	}
	return 0;
}

static int
delete_role(struct api_call *c)
{
	return usercfg_transaction(c, edit_delete_role, NULL);
}

/* ---- ACL ---- */

static const char *const subject_type_names[] = { "user", "group", "token" };

static bool
may_see_acl_path(struct api_call *c, const char *path)
{
	if (api_has_privs(c, "/access", "Sys.Audit", false))
		return true;
	_cleanup_free_ char *privs = api_perm_modify_privs(path);
	return api_has_privs(c, path, privs, true);
}

static int
read_acl(struct api_call *c)
{
	const struct usercfg *cfg = authcache_usercfg(c->ctx->auth);
	c->data = json_array();
	for (size_t i = 0; i < cfg->n_acls; i++) {
		const struct uc_acl *a = &cfg->acls[i];
		if (!may_see_acl_path(c, a->path))
			continue;
		json_array_append_new(
		        c->data, json_pack("{s:s, s:s, s:s, s:s, s:i}", "path", a->path, "type",
		                           subject_type_names[a->type], "ugid", a->ugid, "roleid",
		                           a->roleid, "propagate", a->propagate ? 1 : 0));
	}
	return 0;
}

struct acl_change {
	const char *path; /* normalised */
	bool propagate;
	bool remove;
};

/* Without Permissions.Modify on the path, a role may only be handed out (or taken away)
 * when the caller holds every one of its privileges there (PVE's perm-modify delegation). */
static int
check_delegation(struct api_call *c, const struct usercfg *cfg, const char *role,
                 const struct acl_change *ch)
{
	if (api_has_privs(c, ch->path, "Permissions.Modify", false))
		return 0;
	const char *verb = ch->remove ? "remove" : "add";
	if (streq(role, "NoAccess"))
		return api_param_error(c, "role",
		                       "Cannot %s role '%s' - requires 'Permissions.Modify'", verb,
		                       role);
	privset_t want;
	usercfg_role_privs(cfg, role, &want);
	privset_t have = api_is_root(c) ? priv_all()
	                                : authcache_privs(c->ctx->auth, c->who.subject, ch->path,
	                                                  time(NULL));
	if ((want & have) != want)
		return api_param_error(c, "role",
		                       "Cannot %s role '%s' - requires 'Permissions.Modify' or "
		                       "superset of privileges.",
		                       verb, role);
	return 0;
}

static int
edit_acl(struct api_call *c, struct usercfg *cfg, void *arg)
{
	const struct acl_change *ch = arg;
	char **roles = split_list(param_str(c->params, "roles"));
	char **users =
	        split_list(param_str(c->params, "users") ? param_str(c->params, "users") : "");
	char **groups =
	        split_list(param_str(c->params, "groups") ? param_str(c->params, "groups") : "");
	char **tokens =
	        split_list(param_str(c->params, "tokens") ? param_str(c->params, "tokens") : "");
	int r = 0;
	for (char **role = roles; *role && r == 0; role++) {
		privset_t ignored;
		if (!usercfg_role_privs(cfg, *role, &ignored)) {
			r = api_fail(c, 500, "ACL update failed: role '%s' does not exist", *role);
			break;
		}
		r = check_delegation(c, cfg, *role, ch);
		struct {
			char **list;
			enum uc_subject type;
		} subjects[] = { { groups, UC_SUBJECT_GROUP },
			         { users, UC_SUBJECT_USER },
			         { tokens, UC_SUBJECT_TOKEN } };
		for (size_t s = 0; s < ARRAY_SIZE(subjects) && r == 0; s++) {
			for (char **id = subjects[s].list; *id && r == 0; id++) {
				if (subjects[s].type == UC_SUBJECT_USER &&
				    !usercfg_find_user(cfg, *id))
					r = api_fail(c, 500,
					             "ACL update failed: user '%s' does not exist",
					             *id);
				else if (subjects[s].type == UC_SUBJECT_GROUP &&
				         !usercfg_find_group(cfg, *id))
					r = api_fail(c, 500,
					             "ACL update failed: group '%s' does not exist",
					             *id);
				else if (subjects[s].type == UC_SUBJECT_TOKEN &&
				         !usercfg_find_token(cfg, *id))
					r = api_fail(c, 500,
					             "ACL update failed: no such token '%s'", *id);
				if (r < 0)
					break;
				struct uc_acl a = { .path = (char *)ch->path,
					            .type = subjects[s].type,
					            .ugid = *id,
					            .roleid = *role,
					            .propagate = ch->propagate };
				usercfg_set_acl(cfg, &a, ch->remove);
			}
		}
	}
	strv_free(roles);
	strv_free(users);
	strv_free(groups);
	strv_free(tokens);
	return r;
}

static int
update_acl(struct api_call *c)
{
	if (!param_has(c->params, "users") && !param_has(c->params, "groups") &&
	    !param_has(c->params, "tokens")) {
		const char *msg = "either 'users', 'groups' or 'tokens' is required.";
		api_param_error(c, "users", "%s", msg);
		api_param_error(c, "groups", "%s", msg);
		return api_param_error(c, "tokens", "%s", msg);
	}
	const char *raw = param_str(c->params, "path");
	_cleanup_free_ char *path = acl_path_normalize(raw);
	if (!path)
		return api_param_error(c, "path", "invalid ACL path '%s'", raw);
	struct acl_change ch = { .path = path,
		                 .propagate = param_bool(c->params, "propagate", true),
		                 .remove = param_bool(c->params, "delete", false) };
	return usercfg_transaction(c, edit_acl, &ch);
}

/* ---- routes ---- */

static const struct api_schema no_params[] = { PARAM_END };
static const struct api_schema roleid_params[] = {
	{ .name = "roleid", .type = API_T_STRING, .format = "pve-roleid" },
	PARAM_END,
};
static const struct api_schema role_write_params[] = {
	{ .name = "roleid", .type = API_T_STRING, .format = "pve-roleid" },
	{ .name = "privs", .type = API_T_STRING, .format = "pve-priv-list", .optional = true },
	{ .name = "append", .type = API_T_BOOLEAN, .optional = true, .requires = "privs" },
	PARAM_END,
};
static const struct api_schema acl_params[] = {
	{ .name = "path", .type = API_T_STRING, .description = "Access control path" },
	{ .name = "roles",
	  .type = API_T_STRING,
	  .format = "pve-roleid-list",
	  .description = "List of roles." },
	{ .name = "users",
	  .type = API_T_STRING,
	  .format = "pve-userid-list",
	  .optional = true,
	  .description = "List of users." },
	{ .name = "groups",
	  .type = API_T_STRING,
	  .format = "pve-groupid-list",
	  .optional = true,
	  .description = "List of groups." },
	{ .name = "tokens",
	  .type = API_T_STRING,
	  .format = "pve-tokenid-list",
	  .optional = true,
	  .description = "List of API tokens." },
	{ .name = "propagate",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .default_text = "1",
	  .description = "Allow to propagate (inherit) permissions." },
	{ .name = "delete",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "Remove permissions (instead of adding it)." },
	PARAM_END,
};

static const struct api_schema role_item[] = {
	{ .name = "roleid", .type = API_T_STRING },
	{ .name = "privs", .type = API_T_STRING },
	{ .name = "special", .type = API_T_BOOLEAN, .optional = true },
	PARAM_END,
};
static const struct api_schema acl_item[] = {
	{ .name = "path", .type = API_T_STRING },       { .name = "type", .type = API_T_STRING },
	{ .name = "ugid", .type = API_T_STRING },       { .name = "roleid", .type = API_T_STRING },
	{ .name = "propagate", .type = API_T_BOOLEAN }, PARAM_END,
};

const struct api_route api_routes_acl[] = {
	{ .method = API_GET,
	  .path = "/access/roles",
	  .params = no_params,
	  .perm = { .kind = PERM_ANY_USER },
	  .handler = list_roles,
	  .description = "Role index.",
	  .returns =
	          &(const struct api_schema){
	                  .type = API_T_ARRAY,
	                  .items = &(const struct api_schema){ .type = API_T_OBJECT,
	                                                       .props = role_item } } },
	{ .method = API_GET,
	  .path = "/access/roles/{roleid}",
	  .params = roleid_params,
	  .perm = { .kind = PERM_ANY_USER },
	  .handler = read_role,
	  .description = "Get role configuration." },
	{ .method = API_POST,
	  .path = "/access/roles",
	  .params = role_write_params,
	  .perm = { .kind = PERM_PRIVS, .path = "/access", .privs = "Sys.Modify" },
	  .handler = create_role,
	  .description = "Create new role." },
	{ .method = API_PUT,
	  .path = "/access/roles/{roleid}",
	  .params = role_write_params,
	  .perm = { .kind = PERM_PRIVS, .path = "/access", .privs = "Sys.Modify" },
	  .handler = update_role,
	  .description = "Update an existing role." },
	{ .method = API_DELETE,
	  .path = "/access/roles/{roleid}",
	  .params = roleid_params,
	  .perm = { .kind = PERM_PRIVS, .path = "/access", .privs = "Sys.Modify" },
	  .handler = delete_role,
	  .description = "Delete role." },
	{ .method = API_GET,
	  .path = "/access/acl",
	  .params = no_params,
	  .perm = { .kind = PERM_ANY_USER,
	            .description = "The returned list is restricted to objects where you have "
	                           "rights to modify permissions." },
	  .handler = read_acl,
	  .description = "Get Access Control List (ACLs).",
	  .returns =
	          &(const struct api_schema){
	                  .type = API_T_ARRAY,
	                  .items = &(const struct api_schema){ .type = API_T_OBJECT,
	                                                       .props = acl_item } } },
	{ .method = API_PUT,
	  .path = "/access/acl",
	  .params = acl_params,
	  .perm = { .kind = PERM_PERM_MODIFY, .path = "{path}" },
	  .handler = update_acl,
	  .description = "Update Access Control List (add or remove permissions)." },
	{ 0 },
};
