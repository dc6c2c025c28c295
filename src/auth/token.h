/* API token secrets: a lowercase UUID shown once at creation; only its SHA-256 is kept, in
 * priv/token.cfg as lines "<user@realm!name> <64 hex>". Secrets are random (122 bits), so a
 * fast hash is safe and keeps per-request verification cheap. */
#pragma once

#include "basic/error.h"

#define TOKEN_HASH_HEX 64

/* A new random secret, lowercase UUID v4 (36 chars + NUL). */
int token_secret_generate(char out[37]);
void token_secret_hash(const char *secret, char out[TOKEN_HASH_HEX + 1]);
/* Constant-time check of a presented secret against a stored hex hash. */
bool token_secret_matches(const char *secret, const char *stored_hash_hex);

/* Parse the Authorization value "PVEAPIToken=user@realm!name=secret" (also with a space
 * instead of the first '='; the key may follow whitespace; the value ends at ';' and is
 * percent-decoded as PVE does). Splits at the last '='. Returns -EINVAL when malformed (also
 * an invalid token id, an empty secret, control characters). Caller frees both outputs. */
int token_parse_header(const char *value, char **ret_full_tokenid, char **ret_secret);

/* token.cfg helpers. lookup: -ENOENT if absent; hash into out. A value that is not a 64-hex
 * hash is a clear-text secret as PVE stores them, and its hash is returned. */
int tokencfg_lookup(const char *text, const char *full_tokenid, char out[TOKEN_HASH_HEX + 1]);
/* Return a new text with the entry set (hash != NULL) or removed (hash == NULL), sorted by
 * token id, invalid lines dropped and clear-text secrets replaced by their hashes; NULL when
 * full_tokenid or hash (64 lowercase hex) is malformed. */
char *tokencfg_update(const char *text, const char *full_tokenid, const char *hash);
