/* user.cfg in Proxmox VE's format: users, API tokens, groups, custom roles and ACL entries.
 *
 *   user:<userid>:<enable>:<expire>:<firstname>:<lastname>:<email>:<comment>:<keys>:
 *   token:<userid>!<tokenid>:<expire>:<privsep>:<comment>:
 *   group:<groupid>:<user1,user2>:<comment>:
 *   role:<roleid>:<priv1,priv2>:
 *   acl:<propagate>:<path>:<user|@group|token list>:<role list>:
 *
 * Parsing follows PVE's parse_user_config: invalid lines are skipped (with a warning in
 * cfg->warnings), free-text fields are percent-decoded; formatting writes the canonical
 * file (users, tokens, groups, roles, then ACLs sorted by path) with free text encoded.
 * root@pam always exists after parsing. Secrets are not here: priv/shadow.cfg holds pve-realm
 * password hashes, priv/token.cfg token secret hashes (see password.h, token.h). */
#pragma once

#include "auth/privs.h"
#include "basic/error.h"

#include <stdint.h>

struct uc_token {
	char *name; /* the part after '!' */
	int64_t expire; /* unix time, 0 = never */
	bool privsep;
	char *comment;
};

struct uc_user {
	char *userid; /* name@realm */
	bool enable;
	int64_t expire;
	char *firstname, *lastname, *email, *comment, *keys; /* NULL when unset */
	struct uc_token *tokens;
	size_t n_tokens;
};

struct uc_group {
	char *groupid;
	char **members; /* userids */
	size_t n_members;
	char *comment;
};

struct uc_role {
	char *roleid;
	privset_t privs;
};

enum uc_subject { UC_SUBJECT_USER, UC_SUBJECT_GROUP, UC_SUBJECT_TOKEN };

struct uc_acl {
	char *path; /* normalised: "/", "/vms/100", "/storage/local", ... */
	enum uc_subject type;
	char *ugid;   /* userid, groupid (without '@') or full token id user@realm!name */
	char *roleid;
	bool propagate;
};

struct usercfg {
	struct uc_user *users;
	size_t n_users;
	struct uc_group *groups;
	size_t n_groups;
	struct uc_role *roles; /* custom roles only; built-in roles come from privs.h */
	size_t n_roles;
	struct uc_acl *acls;
	size_t n_acls;
	char **warnings; /* lines skipped while parsing */
	size_t n_warnings;
};

int usercfg_parse(const char *text, struct usercfg **ret);
char *usercfg_format(const struct usercfg *cfg);
struct usercfg *usercfg_new(void); /* empty except root@pam */
void usercfg_free(struct usercfg *cfg);

struct uc_user *usercfg_find_user(const struct usercfg *cfg, const char *userid);
struct uc_group *usercfg_find_group(const struct usercfg *cfg, const char *groupid);
/* full_tokenid = user@realm!name */
struct uc_token *usercfg_find_token(const struct usercfg *cfg, const char *full_tokenid);
/* Privileges of a role (built-in or custom); false if the role does not exist. */
bool usercfg_role_privs(const struct usercfg *cfg, const char *roleid, privset_t *ret);

/* Editing (the API handlers use these, then format and write the file back). Each returns
 * -EEXIST / -ENOENT / -EINVAL as fits. Strings are copied. */
int usercfg_add_user(struct usercfg *cfg, const struct uc_user *u);
int usercfg_remove_user(struct usercfg *cfg, const char *userid); /* also its tokens, ACLs, group memberships */
int usercfg_add_token(struct usercfg *cfg, const char *userid, const struct uc_token *t);
int usercfg_remove_token(struct usercfg *cfg, const char *full_tokenid); /* also its ACLs */
/* Add (or, with remove, delete) one ACL entry; an identical entry is replaced. */
int usercfg_set_acl(struct usercfg *cfg, const struct uc_acl *a, bool remove);

/* Name checks, as Proxmox's verify_* functions. */
bool userid_valid(const char *userid);      /* name@realm, <= 64 chars */
bool realm_valid(const char *realm);
bool tokenname_valid(const char *name);     /* [A-Za-z][A-Za-z0-9._-]* */
bool full_tokenid_valid(const char *id);    /* userid!tokenname */
bool groupid_valid(const char *groupid);
bool roleid_valid(const char *roleid);
/* Normalise an ACL path (collapse slashes, drop trailing '/'); NULL if not an allowed path
 * (/, /access[/groups[/<g>]|/realm[/<r>]], /nodes[/<n>], /pool[/<p>...], /storage[/<s>],
 * /vms[/<id>], /sdn..., /mapping...). Caller frees. */
char *acl_path_normalize(const char *path);
