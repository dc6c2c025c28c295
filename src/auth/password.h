/* Passwords: the pve realm's hashes (yescrypt through libcrypt) in priv/shadow.cfg as lines
 * "<userid>:<hash>:", and the pam realm through libpam. All calls here may block (hashing
 * costs tens of milliseconds, PAM may sleep on failure): the daemon runs them on its thread
 * pool, never on the event loop. */
#pragma once

#include "basic/error.h"

/* A new yescrypt hash of password; caller frees. */
int password_hash(const char *password, char **ret);
/* Constant-time verification against a crypt(3) hash; 0 ok, -EACCES mismatch. */
int password_verify(const char *password, const char *hash);

/* shadow.cfg helpers: lookup (-ENOENT), and a new text with the entry set (hash != NULL) or
 * removed, sorted by userid; NULL when the userid or hash cannot be written. */
int shadowcfg_lookup(const char *text, const char *userid, char **ret_hash);
char *shadowcfg_update(const char *text, const char *userid, const char *hash);

/* Authenticate a host user through PAM service `service` (auth + account management).
 * 0 ok, -EACCES wrong credentials or account refused (err->status 401), other -errno on PAM
 * trouble. PAM's failure delay is switched off: the caller delays failed logins itself
 * without holding a thread. */
int pam_login(const char *service, const char *user, const char *password, struct error *err);
