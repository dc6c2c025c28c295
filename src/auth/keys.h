/* Key material: the ticket signing key (RSA 2048, PEM), the CSRF secret, and the proxy's
 * self-signed TLS certificate. Generation and loading only; callers decide where the PEM text
 * lives (the signing key and CSRF secret in the store under priv/, the TLS pair as files). */
#pragma once

#include "basic/error.h"

#include <openssl/evp.h>

/* New RSA-2048 private key as PEM text (caller frees). */
int keys_generate_rsa_pem(char **ret_pem);
/* Load a private key from PEM text. */
int keys_load_private_pem(const char *pem, EVP_PKEY **ret);
/* `n` random bytes as lowercase hex text (the CSRF secret's stored form). */
int keys_random_hex(size_t n, char **ret);

/* Create a self-signed certificate for the proxy: key (RSA 2048) + cert valid 10 years with
 * CN=<node> and subjectAltName DNS:<node>, DNS:localhost, IP:127.0.0.1, IP:::1. Written with
 * mode 0600 (key) / 0644 (cert) via atomic writes. */
int keys_create_tls_selfsigned(const char *node, const char *cert_path, const char *key_path,
                               struct error *err);
/* SHA-256 fingerprint "AA:BB:..." of a PEM certificate file (for /nodes ssl_fingerprint). */
int keys_cert_fingerprint(const char *cert_path, char **ret);
