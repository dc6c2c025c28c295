/* Editing a parsed user.cfg, with PVE's schema checks so the result always formats. */
#include "auth/usercfg-internal.h"

/* PVE's schema limits (PVE::API2::User standard options). */
#define NAME_MAX_LEN    1024
#define EMAIL_MAX_LEN   254
#define COMMENT_MAX_LEN 2048
#define KEYS_MAX_LEN    4096

static char *
dup_or_null(const char *s)
{
	return s && *s ? xstrdup(s) : NULL;
}

static bool
text_within(const char *s, size_t max)
{
	return uc_text_ok(s) && (!s || strlen(s) <= max);
}

/* [0-9a-zA-Z!=]{0,4096}: yubico ids or the "x" marker of a TFA user */
static bool
keys_ok(const char *s)
{
	if (!s)
		return true;
	size_t len = strlen(s);
	if (len > KEYS_MAX_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == '!' || c == '='))
			return false;
	}
	return true;
}

int
usercfg_check_user(const struct uc_user *u)
{
	if (!u || !userid_valid(u->userid) || u->expire < 0)
		return -EINVAL;
	if (!text_within(u->firstname, NAME_MAX_LEN) || !text_within(u->lastname, NAME_MAX_LEN) ||
	    !text_within(u->comment, COMMENT_MAX_LEN))
		return -EINVAL;
	if (!uc_raw_ok(u->email) || (u->email && strlen(u->email) > EMAIL_MAX_LEN))
		return -EINVAL;
	if (!keys_ok(u->keys))
		return -EINVAL;
	return 0;
}

int
usercfg_add_user(struct usercfg *cfg, const struct uc_user *u)
{
	int r = usercfg_check_user(u);
	if (r < 0)
		return r;
	if (usercfg_find_user(cfg, u->userid))
		return -EEXIST;
	struct uc_user *n = ARRAY_PUSH(cfg->users, cfg->n_users);
	n->userid = xstrdup(u->userid);
	n->enable = u->enable;
	n->expire = u->expire;
	n->firstname = dup_or_null(u->firstname);
	n->lastname = dup_or_null(u->lastname);
	n->email = dup_or_null(u->email);
	n->comment = dup_or_null(u->comment);
	n->keys = dup_or_null(u->keys);
	return 0;
}

static bool
acl_is_user_or_its_token(const struct uc_acl *a, const void *data)
{
	const char *userid = data;
	if (a->type == UC_SUBJECT_USER)
		return streq(a->ugid, userid);
	if (a->type == UC_SUBJECT_TOKEN) {
		size_t len = strlen(userid);
		/* the token's user is everything before the last '!' */
		const char *bang = strrchr(a->ugid, '!');
		return bang && (size_t)(bang - a->ugid) == len && strneq(a->ugid, userid, len);
	}
	return false;
}

static void
group_drop_member(struct uc_group *g, const char *userid)
{
	for (size_t i = 0; i < g->n_members; i++) {
		if (streq(g->members[i], userid)) {
			free(g->members[i]);
			ARRAY_REMOVE(g->members, g->n_members, i);
			return;
		}
	}
}

int
usercfg_remove_user(struct usercfg *cfg, const char *userid)
{
	struct uc_user *u = usercfg_find_user(cfg, userid);
	if (!u)
		return -ENOENT;
	size_t i = (size_t)(u - cfg->users);
	uc_acl_remove_if(cfg, acl_is_user_or_its_token, userid);
	for (size_t g = 0; g < cfg->n_groups; g++)
		group_drop_member(&cfg->groups[g], userid);
	uc_user_clear(&cfg->users[i]);
	ARRAY_REMOVE(cfg->users, cfg->n_users, i);
	/* PVE lets root@pam be deleted and the next load brings it back enabled and without
	 * tokens; do the same now so the config in memory matches what a reload gives */
	uc_ensure_root(cfg);
	return 0;
}

int
usercfg_add_token(struct usercfg *cfg, const char *userid, const struct uc_token *t)
{
	if (!t || !tokenname_valid(t->name) || t->expire < 0 ||
	    !text_within(t->comment, COMMENT_MAX_LEN))
		return -EINVAL;
	struct uc_user *u = usercfg_find_user(cfg, userid);
	if (!u)
		return -ENOENT;
	_cleanup_free_ char *full = xasprintf("%s!%s", userid, t->name);
	if (!full_tokenid_valid(full))
		return -EINVAL;
	for (size_t i = 0; i < u->n_tokens; i++)
		if (streq(u->tokens[i].name, t->name))
			return -EEXIST;
	struct uc_token *n = ARRAY_PUSH(u->tokens, u->n_tokens);
	n->name = xstrdup(t->name);
	n->expire = t->expire;
	n->privsep = t->privsep;
	n->comment = dup_or_null(t->comment);
	return 0;
}

static bool
acl_is_token(const struct uc_acl *a, const void *data)
{
	return a->type == UC_SUBJECT_TOKEN && streq(a->ugid, (const char *)data);
}

int
usercfg_remove_token(struct usercfg *cfg, const char *full_tokenid)
{
	_cleanup_free_ char *userid = NULL;
	const char *name;
	if (!uc_split_tokenid(full_tokenid, &userid, &name))
		return -EINVAL;
	struct uc_user *u = usercfg_find_user(cfg, userid);
	if (!u)
		return -ENOENT;
	for (size_t i = 0; i < u->n_tokens; i++) {
		if (streq(u->tokens[i].name, name)) {
			uc_token_clear(&u->tokens[i]);
			ARRAY_REMOVE(u->tokens, u->n_tokens, i);
			uc_acl_remove_if(cfg, acl_is_token, full_tokenid);
			return 0;
		}
	}
	return -ENOENT;
}

int
usercfg_add_group(struct usercfg *cfg, const char *groupid, const char *comment)
{
	if (!groupid_valid(groupid) || !text_within(comment, COMMENT_MAX_LEN))
		return -EINVAL;
	if (usercfg_find_group(cfg, groupid))
		return -EEXIST;
	struct uc_group *g = ARRAY_PUSH(cfg->groups, cfg->n_groups);
	g->groupid = xstrdup(groupid);
	g->comment = dup_or_null(comment);
	return 0;
}

static bool
acl_is_group(const struct uc_acl *a, const void *data)
{
	return a->type == UC_SUBJECT_GROUP && streq(a->ugid, (const char *)data);
}

int
usercfg_remove_group(struct usercfg *cfg, const char *groupid)
{
	struct uc_group *g = usercfg_find_group(cfg, groupid);
	if (!g)
		return -ENOENT;
	size_t i = (size_t)(g - cfg->groups);
	uc_acl_remove_if(cfg, acl_is_group, groupid);
	uc_group_clear(&cfg->groups[i]);
	ARRAY_REMOVE(cfg->groups, cfg->n_groups, i);
	return 0;
}

int
usercfg_group_add_member(struct usercfg *cfg, const char *groupid, const char *userid)
{
	struct uc_group *g = usercfg_find_group(cfg, groupid);
	if (!g || !usercfg_find_user(cfg, userid))
		return -ENOENT;
	uc_group_add_member(g, userid);
	return 0;
}

int
usercfg_group_remove_member(struct usercfg *cfg, const char *groupid, const char *userid)
{
	struct uc_group *g = usercfg_find_group(cfg, groupid);
	if (!g)
		return -ENOENT;
	group_drop_member(g, userid);
	return 0;
}

int
usercfg_pool_remove_vm(struct usercfg *cfg, uint32_t vmid)
{
	int removed = 0;
	for (size_t i = 0; i < cfg->n_pools; i++) {
		struct uc_pool *p = &cfg->pools[i];
		size_t k = 0;
		for (size_t j = 0; j < p->n_vmids; j++)
			if (p->vmids[j] != vmid)
				p->vmids[k++] = p->vmids[j];
		if (k != p->n_vmids)
			removed = 1;
		p->n_vmids = k;
	}
	return removed;
}

int
usercfg_pool_add_vm(struct usercfg *cfg, const char *poolid, uint32_t vmid)
{
	struct uc_pool *p = usercfg_find_pool(cfg, poolid);
	if (!p)
		return -ENOENT;
	usercfg_pool_remove_vm(cfg, vmid);
	*ARRAY_PUSH(p->vmids, p->n_vmids) = vmid;
	return 0;
}

int
usercfg_add_role(struct usercfg *cfg, const char *roleid, privset_t privs)
{
	if (!roleid_valid(roleid) || (privs & ~priv_all()))
		return -EINVAL;
	if (builtin_role_lookup(roleid) || usercfg_find_role(cfg, roleid))
		return -EEXIST;
	struct uc_role *r = ARRAY_PUSH(cfg->roles, cfg->n_roles);
	r->roleid = xstrdup(roleid);
	r->privs = privs;
	return 0;
}

static bool
acl_names_role(const struct uc_acl *a, const void *data)
{
	return streq(a->roleid, (const char *)data);
}

int
usercfg_remove_role(struct usercfg *cfg, const char *roleid)
{
	if (builtin_role_lookup(roleid))
		return -EPERM;
	struct uc_role *r = usercfg_find_role(cfg, roleid);
	if (!r)
		return -ENOENT;
	size_t i = (size_t)(r - cfg->roles);
	free(r->roleid);
	ARRAY_REMOVE(cfg->roles, cfg->n_roles, i);
	/* PVE leaves such entries for the next parse to drop; dropping them now keeps the
	 * in-memory config equal to what a reload would give */
	uc_acl_remove_if(cfg, acl_names_role, roleid);
	return 0;
}

static int
acl_subject_check(const struct usercfg *cfg, const struct uc_acl *a, bool must_exist)
{
	switch (a->type) {
	case UC_SUBJECT_USER:
		if (!userid_valid(a->ugid))
			return -EINVAL;
		return !must_exist || usercfg_find_user(cfg, a->ugid) ? 0 : -ENOENT;
	case UC_SUBJECT_GROUP:
		if (!groupid_valid(a->ugid))
			return -EINVAL;
		return !must_exist || usercfg_find_group(cfg, a->ugid) ? 0 : -ENOENT;
	case UC_SUBJECT_TOKEN:
		if (!full_tokenid_valid(a->ugid))
			return -EINVAL;
		return !must_exist || usercfg_find_token(cfg, a->ugid) ? 0 : -ENOENT;
	}
	return -EINVAL;
}

int
usercfg_set_acl(struct usercfg *cfg, const struct uc_acl *a, bool remove)
{
	if (!a || !a->path || !a->ugid || !a->roleid || !roleid_valid(a->roleid))
		return -EINVAL;
	/* removal accepts any path user.cfg may hold; new entries only allowed paths */
	_cleanup_free_ char *norm =
	        remove ? uc_path_normalize_loose(a->path) : acl_path_normalize(a->path);
	if (!norm || !streq(norm, a->path))
		return -EINVAL;
	int r = acl_subject_check(cfg, a, !remove);
	if (r < 0)
		return r;

	if (remove) {
		ssize_t i = uc_acl_find(cfg, a->path, a->type, a->ugid, a->roleid);
		if (i < 0)
			return -ENOENT;
		uc_acl_clear(&cfg->acls[i]);
		ARRAY_REMOVE(cfg->acls, cfg->n_acls, (size_t)i);
		return 0;
	}
	if (!usercfg_role_privs(cfg, a->roleid, NULL))
		return -ENOENT;
	/* root@pam holds every privilege; PVE accepts such entries but never stores them */
	if (a->type == UC_SUBJECT_USER && streq(a->ugid, "root@pam"))
		return 0;
	uc_acl_put(cfg, a->path, a->type, a->ugid, a->roleid, a->propagate);
	return 0;
}
