/* Helpers shared by the user.cfg parser, writer, editor and name checks (not a public API). */
#pragma once

#include "auth/usercfg.h"
#include "basic/strbuf.h"

/* Append one zeroed element to a growable array and return it. Capacity doubles at powers of
 * two, so the array never needs a separate capacity field. */
#define ARRAY_PUSH(arr, n)                                                                         \
	({                                                                                         \
		if (((n) & ((n)-1)) == 0)                                                          \
			(arr) = xrealloc((arr), sizeof(*(arr)) * ((n) ? 2 * (n) : 1));             \
		memset(&(arr)[(n)], 0, sizeof(*(arr)));                                            \
		&(arr)[(n)++];                                                                     \
	})

/* Remove element i, keeping the order. */
#define ARRAY_REMOVE(arr, n, i)                                                                    \
	do {                                                                                       \
		memmove(&(arr)[(i)], &(arr)[(i) + 1], sizeof(*(arr)) * ((n) - (i)-1));             \
		(n)--;                                                                             \
	} while (0)

/* Add root@pam (enabled) when missing, as every parse does. */
void uc_ensure_root(struct usercfg *cfg);

void uc_token_clear(struct uc_token *t);
void uc_user_clear(struct uc_user *u);
void uc_group_clear(struct uc_group *g);
void uc_pool_clear(struct uc_pool *p);
void uc_acl_clear(struct uc_acl *a);

/* PVE's normalize_path: collapse slashes, drop a trailing one, require [A-Za-z0-9._/-]. It
 * does not check the path against the allowed list (user.cfg keeps any such path). */
char *uc_path_normalize_loose(const char *path);
/* PVE's check_path on a normalised path. */
bool uc_path_allowed(const char *path);

/* A storage id as PVE accepts it in a pool line. */
bool uc_pool_storage_valid(const char *s);

/* The text may go into a free-text field: valid UTF-8, no CR/LF. */
bool uc_text_ok(const char *s);
/* A field written unencoded: no ':', no whitespace or control characters. */
bool uc_raw_ok(const char *s);

bool uc_group_has_member(const struct uc_group *g, const char *userid);
void uc_group_add_member(struct uc_group *g, const char *userid);

/* Index of the ACL entry (path, type, ugid, roleid), or -1. */
ssize_t uc_acl_find(const struct usercfg *cfg, const char *path, enum uc_subject type,
                    const char *ugid, const char *roleid);
/* Add an entry or, if one with the same key exists, set its propagate flag. */
void uc_acl_put(struct usercfg *cfg, const char *path, enum uc_subject type, const char *ugid,
                const char *roleid, bool propagate);
/* Remove every ACL entry for which match() is true. */
void uc_acl_remove_if(struct usercfg *cfg, bool (*match)(const struct uc_acl *, const void *),
                      const void *data);

/* Split a full token id at its last '!' into a new userid string and a pointer to the name
 * inside `id`; false when there is no '!'. */
bool uc_split_tokenid(const char *id, char **ret_userid, const char **ret_name);
