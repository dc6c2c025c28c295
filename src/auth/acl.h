/* ACL evaluation with Proxmox VE's rules (pure; see PVE::AccessControl::roles and
 * PVE::RPCEnvironment::permissions):
 *  - walk from "/" to the checked path; at each level, entries for the token replace what
 *    was inherited, else entries for the user, else entries for the user's groups;
 *  - entries with propagate=0 apply only at the exact path;
 *  - NoAccess at the deciding level cancels every privilege;
 *  - root@pam has every privilege; disabled or expired users have none;
 *  - a privilege-separated token gets the intersection of its own and its user's privileges;
 *    a token without privsep gets its user's privileges;
 *  - a guest or storage in a pool also gets the roles the subject has on /pool/<pool> (not
 *    propagating, never overriding an explicit NoAccess; a NoAccess on the pool wins). */
#pragma once

#include "auth/usercfg.h"

#include <time.h>

/* Privileges of `subject` (a userid or a full token id) on `path` (normalised; anything else
 * gives no privileges). */
privset_t acl_privs(const struct usercfg *cfg, const char *subject, const char *path, time_t now);

/* Roles set for subject on path by the ACL walk (PVE's roles(): built-in and custom ids,
 * NoAccess alone when it applies, pools not included, enable/expiry not checked; a token
 * without privsep reports its user's roles, root@pam "Administrator"), as a NULL-terminated,
 * sorted array; each role's propagate flag in ret_propagate when non-NULL (same order).
 * Used by GET /access/permissions and tests. Caller frees with acl_roles_free(). */
char **acl_roles(const struct usercfg *cfg, const char *subject, const char *path,
                 bool **ret_propagate);
void acl_roles_free(char **roles, bool *propagate);

/* True if the user exists, is enabled and not expired at `now` (tokens: the token exists
 * and is not expired, and its user passes). */
bool acl_subject_active(const struct usercfg *cfg, const char *subject, time_t now);
