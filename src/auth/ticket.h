/* Tickets and CSRF prevention tokens in Proxmox VE's formats.
 *
 * Ticket:  PVE:<userid>:<8 upper-hex unix time>::<base64 RSA-SHA256 signature>
 *          signed text is "PVE:<userid>:<HEXTIME>" (':' in the userid escaped as %3A, and
 *          '%' as %25 so the escape cannot be forged from a user name).
 *          Valid for 2 h, and up to 5 min in the future (clock skew).
 * CSRF:    <8 upper-hex time>:<base64 (no padding) HMAC-SHA256("<HEXTIME>:<userid>", secret)>
 *          valid from -5 min to +2 h.
 * Short-lived tickets (consoles): "<prefix>:<HEXTIME>::<sig>", the signature covering
 *          "<prefix>:<HEXTIME>:<secret data>" so the data binds without being shown; valid
 *          from -20 s to +40 s.
 * Ages are accepted strictly inside the window (PVE: age > min && age < max).
 * Every comparison of secret material is constant time. */
#pragma once

#include "basic/error.h"

#include <openssl/evp.h>
#include <time.h>

#define TICKET_LIFETIME   7200
#define TICKET_CLOCK_SKEW 300

/* Signed with the private key. The caller frees *ret. */
int ticket_create(EVP_PKEY *key, const char *prefix, const char *userid, time_t now, char **ret);
/* Verify prefix, signature and age. On success *ret_userid (caller frees; the signed data,
 * unescaped: the caller still checks it names an active user) and *ret_age. A ticket whose
 * age is not inside (min_age, max_age) is refused (-EKEYEXPIRED); a bad format or signature
 * gives -EBADMSG / -EKEYREJECTED. */
int ticket_verify(EVP_PKEY *key, const char *prefix, const char *ticket, time_t now, long min_age,
                  long max_age, char **ret_userid, long *ret_age);

/* Short-lived ticket binding secret_data (e.g. "root@pam:/vms/100:5900") without revealing
 * it: "<prefix>:<HEXTIME>::<sig>". verify: 0, or -EBADMSG / -EKEYREJECTED / -EKEYEXPIRED. */
int ticket_create_short(EVP_PKEY *key, const char *prefix, const char *secret_data, time_t now,
                        char **ret);
int ticket_verify_short(EVP_PKEY *key, const char *prefix, const char *secret_data,
                        const char *ticket, time_t now);

int csrf_token_create(const unsigned char *secret, size_t secret_len, const char *userid,
                      time_t now, char **ret);
/* 0 when valid, -EKEYREJECTED otherwise. */
int csrf_token_verify(const unsigned char *secret, size_t secret_len, const char *userid,
                      const char *token, time_t now);
