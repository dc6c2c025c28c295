/* The parsed access configuration (user.cfg, priv/token.cfg) kept in memory and re-read only
 * when the store changed, so authentication and permission checks cost microseconds. */
#pragma once

#include "auth/acl.h"
#include "auth/token.h"

#include <time.h>

struct store;
struct authcache;

int authcache_new(struct store *store, struct authcache **ret);
void authcache_free(struct authcache *c);

/* Bring the cache up to date with the store (one cheap query when nothing changed). Call it
 * after writing user.cfg or priv/token.cfg. */
void authcache_refresh(struct authcache *c);
/* Per request: the same, but asks the store at most every 250 ms. */
void authcache_refresh_soon(struct authcache *c);

/* The current user configuration (never NULL; a default one if user.cfg is missing). */
const struct usercfg *authcache_usercfg(struct authcache *c);

/* Stored hash of a token's secret: -ENOENT if the token has none. */
int authcache_token_hash(struct authcache *c, const char *full_tokenid,
                         char out[TOKEN_HASH_HEX + 1]);

/* Privileges of subject on path (memoised per refresh). */
privset_t authcache_privs(struct authcache *c, const char *subject, const char *path, time_t now);
