/* user.cfg in Proxmox VE's format: users, API tokens, groups, pools, custom roles and ACLs.
 *
 *   user:<userid>:<enable>:<expire>:<firstname>:<lastname>:<email>:<comment>:<keys>:
 *   token:<userid>!<tokenid>:<expire>:<privsep>:<comment>:
 *   group:<groupid>:<user1,user2>:<comment>:
 *   pool:<poolid>:<comment>:<vmid1,vmid2>:<storage1,storage2>:
 *   role:<roleid>:<priv1,priv2>:
 *   acl:<propagate>:<path>:<user|@group|token list>:<role list>:
 *
 * Parsing follows PVE's parse_user_config: invalid lines or items are skipped (with a warning
 * in cfg->warnings), firstname/lastname/comment are percent-decoded; a later line for the same
 * user replaces it, for the same ACL (path, subject, role) replaces its propagate flag.
 * Formatting writes the canonical file (users each followed by their tokens, groups, pools,
 * roles, then ACLs depth-first by path, entries with equal role lists merged) with free text
 * encoded. root@pam always exists after parsing; ACL entries for root@pam are dropped (it has
 * every privilege anyway, and PVE never writes them). Secrets are not here: priv/shadow.cfg
 * holds pve-realm password hashes, priv/token.cfg token secret hashes (password.h, token.h). */
#pragma once

#include "auth/privs.h"
#include "basic/error.h"

#include <stdint.h>

struct uc_token {
	char *name;     /* the part after '!' */
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

struct uc_pool {
	char *poolid; /* up to 3 levels: "a", "a/b", "a/b/c" */
	char *comment;
	uint32_t *vmids; /* a vmid is in at most one pool */
	size_t n_vmids;
	char **storage;
	size_t n_storage;
};

struct uc_role {
	char *roleid;
	privset_t privs;
};

enum uc_subject { UC_SUBJECT_USER, UC_SUBJECT_GROUP, UC_SUBJECT_TOKEN };

struct uc_acl {
	char *path; /* normalised: "/", "/vms/100", "/storage/local", ... */
	enum uc_subject type;
	char *ugid; /* userid, groupid (without '@') or full token id user@realm!name */
	char *roleid;
	bool propagate;
};

struct usercfg {
	struct uc_user *users;
	size_t n_users;
	struct uc_group *groups;
	size_t n_groups;
	struct uc_pool *pools;
	size_t n_pools;
	struct uc_role *roles; /* custom roles only; built-in roles come from privs.h */
	size_t n_roles;
	struct uc_acl *acls;
	size_t n_acls;
	char **warnings; /* lines skipped while parsing */
	size_t n_warnings;
};

int usercfg_parse(const char *text, struct usercfg **ret);
/* The canonical text; NULL when a field cannot be written safely (an unencoded field holding
 * ':', CR or LF, a list item holding a separator, an invalid id): callers must not write. */
char *usercfg_format(const struct usercfg *cfg);
struct usercfg *usercfg_new(void); /* empty except root@pam */
void usercfg_free(struct usercfg *cfg);

struct uc_user *usercfg_find_user(const struct usercfg *cfg, const char *userid);
struct uc_group *usercfg_find_group(const struct usercfg *cfg, const char *groupid);
struct uc_pool *usercfg_find_pool(const struct usercfg *cfg, const char *poolid);
/* Custom roles only. */
struct uc_role *usercfg_find_role(const struct usercfg *cfg, const char *roleid);
/* full_tokenid = user@realm!name */
struct uc_token *usercfg_find_token(const struct usercfg *cfg, const char *full_tokenid);
/* Privileges of a role (built-in or custom); false if the role does not exist. */
bool usercfg_role_privs(const struct usercfg *cfg, const char *roleid, privset_t *ret);

/* Editing (the API handlers use these, then format and write the file back). Each returns
 * -EEXIST / -ENOENT / -EINVAL as fits. Strings are copied. Free text (names, comments) may
 * not hold CR, LF or NUL and must be valid UTF-8; email and keys are written unencoded, as
 * PVE does, so they may not hold ':' or whitespace either. */
int usercfg_add_user(struct usercfg *cfg, const struct uc_user *u); /* u->tokens ignored */
/* Check a user's fields as usercfg_add_user does (for handlers editing a found user). */
int usercfg_check_user(const struct uc_user *u);
/* Also removes its tokens, its and its tokens' ACL entries, its group memberships. */
int usercfg_remove_user(struct usercfg *cfg, const char *userid);
int usercfg_add_token(struct usercfg *cfg, const char *userid, const struct uc_token *t);
int usercfg_remove_token(struct usercfg *cfg, const char *full_tokenid); /* also its ACLs */
int usercfg_add_group(struct usercfg *cfg, const char *groupid, const char *comment);
int usercfg_remove_group(struct usercfg *cfg, const char *groupid); /* also its ACLs */
/* Membership; adding an existing member or removing a missing one is not an error. */
int usercfg_group_add_member(struct usercfg *cfg, const char *groupid, const char *userid);
int usercfg_group_remove_member(struct usercfg *cfg, const char *groupid, const char *userid);
/* Pool membership of a guest (PVE's add_vm_to_pool / remove_vm_from_pool): a vmid is in at
 * most one pool, so adding moves it; -ENOENT when the pool does not exist. Removing returns
 * 1 when the vmid was in a pool, else 0. */
int usercfg_pool_add_vm(struct usercfg *cfg, const char *poolid, uint32_t vmid);
int usercfg_pool_remove_vm(struct usercfg *cfg, uint32_t vmid);
/* Custom roles; built-in ids give -EEXIST (add) or -EPERM (remove). */
int usercfg_add_role(struct usercfg *cfg, const char *roleid, privset_t privs);
int usercfg_remove_role(struct usercfg *cfg, const char *roleid); /* also ACLs naming it */
/* Add (or, with remove, delete) one ACL entry; an identical entry (path, type, ugid, role)
 * is replaced. The path must pass acl_path_normalize unchanged and the role must exist. */
int usercfg_set_acl(struct usercfg *cfg, const struct uc_acl *a, bool remove);

/* Name checks, as Proxmox's verify_* functions. */
bool userid_valid(const char *userid);   /* name@realm, <= 64 chars */
bool realm_valid(const char *realm);     /* [A-Za-z][A-Za-z0-9._-]+, <= 32 chars */
bool tokenname_valid(const char *name);  /* [A-Za-z][A-Za-z0-9._-]+ (PVE: >= 2 chars) */
bool full_tokenid_valid(const char *id); /* userid!tokenname */
bool groupid_valid(const char *groupid);
bool roleid_valid(const char *roleid);
bool poolid_valid(const char *poolid); /* up to 3 '/'-separated levels */
/* Normalise an ACL path (collapse slashes, drop trailing '/'); NULL if not an allowed path
 * (/, /access[/groups[/<g>]|/realm[/<r>]], /nodes[/<n>], /pool[/<p>...], /storage[/<s>],
 * /vms[/<id>], /sdn..., /mapping...). Caller frees. */
char *acl_path_normalize(const char *path);
