/* Key material: RSA keys as PEM, random hex secrets, the proxy's self-signed certificate. */
#include "auth/keys.h"
#include "basic/encoding.h"
#include "basic/fileio.h"
#include "basic/strbuf.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define RSA_BITS      2048
#define CERT_DAYS     3650
#define CERT_FILE_MAX (1024 * 1024)
#define NODE_NAME_MAX 63
#define SERIAL_BYTES  16

static int
generate_rsa(EVP_PKEY **ret)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)RSA_BITS);
	if (!key)
		return -EIO;
	*ret = key;
	return 0;
}

/* The text written to a memory BIO (when written is true), then the BIO is freed (a secmem
 * BIO wipes its buffer). */
static int
bio_take_text(BIO *bio, bool written, char **ret)
{
	int r = -EIO;
	char *data;
	long len = written ? BIO_get_mem_data(bio, &data) : 0;
	if (len > 0) {
		*ret = xstrndup(data, (size_t)len);
		r = 0;
	}
	BIO_free(bio);
	return r;
}

/* The PEM (PKCS#8) text of a private key; the BIO's buffer is wiped before it is freed. */
static int
private_pem(EVP_PKEY *key, char **ret)
{
	BIO *bio = BIO_new(BIO_s_secmem());
	if (!bio)
		return -ENOMEM;
	bool ok = PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1;
	return bio_take_text(bio, ok, ret);
}

int
keys_generate_rsa_pem(char **ret_pem)
{
	EVP_PKEY *key;
	int r = generate_rsa(&key);
	if (r < 0)
		return r;
	r = private_pem(key, ret_pem);
	EVP_PKEY_free(key);
	return r;
}

int
keys_load_private_pem(const char *pem, EVP_PKEY **ret)
{
	if (!pem)
		return -EINVAL;
	BIO *bio = BIO_new_mem_buf(pem, -1);
	if (!bio)
		return -ENOMEM;
	EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	/* leave no stale error on this thread's queue for the next OpenSSL user */
	ERR_clear_error();
	if (!key)
		return -EINVAL;
	*ret = key;
	return 0;
}

int
keys_random_hex(size_t n, char **ret)
{
	if (n == 0 || n > 4096)
		return -EINVAL;
	unsigned char *b = xmalloc(n);
	if (RAND_bytes(b, (int)n) != 1) {
		free(b);
		return -EIO;
	}
	char *hex = xmalloc(2 * n + 1);
	hex_encode(b, n, hex);
	OPENSSL_cleanse(b, n);
	free(b);
	*ret = hex;
	return 0;
}

/* A node name goes into the subject and into the subjectAltName configuration string, where
 * ',' or ':' would add entries: only host name characters pass. */
static bool
node_name_ok(const char *node)
{
	size_t len = node ? strlen(node) : 0;
	if (len == 0 || len > NODE_NAME_MAX || node[0] == '-' || node[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = node[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.'))
			return false;
	}
	return true;
}

static bool
add_ext(X509 *cert, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
	if (!ext)
		return false;
	bool ok = X509_add_ext(cert, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	return ok;
}

static bool
random_serial(X509 *cert)
{
	unsigned char b[SERIAL_BYTES];
	if (RAND_bytes(b, sizeof(b)) != 1)
		return false;
	b[0] &= 0x7f; /* positive, as RFC 5280 requires */
	b[0] |= 0x40; /* and of full length */
	BIGNUM *bn = BN_bin2bn(b, sizeof(b), NULL);
	bool ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
	BN_free(bn);
	return ok;
}

static X509 *
make_cert(EVP_PKEY *key, const char *node)
{
	X509 *cert = X509_new();
	if (!cert)
		return NULL;
	X509_NAME *name = X509_get_subject_name(cert);
	X509V3_CTX ctx;
	_cleanup_free_ char *san = xasprintf("DNS:%s,DNS:localhost,IP:127.0.0.1,IP:::1", node);

	bool ok = X509_set_version(cert, X509_VERSION_3) == 1 && random_serial(cert) &&
	          X509_gmtime_adj(X509_getm_notBefore(cert), -60) &&
	          X509_time_adj_ex(X509_getm_notAfter(cert), CERT_DAYS, 0, NULL) &&
	          X509_set_pubkey(cert, key) == 1 &&
	          X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	                                     (const unsigned char *)"Berth", -1, -1, 0) == 1 &&
	          X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)node,
	                                     -1, -1, 0) == 1 &&
	          X509_set_issuer_name(cert, name) == 1;
	if (ok) {
		X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
		ok = add_ext(cert, &ctx, NID_basic_constraints, "critical,CA:FALSE") &&
		     add_ext(cert, &ctx, NID_key_usage,
		             "critical,digitalSignature,keyEncipherment") &&
		     add_ext(cert, &ctx, NID_ext_key_usage, "serverAuth") &&
		     add_ext(cert, &ctx, NID_subject_key_identifier, "hash") &&
		     add_ext(cert, &ctx, NID_subject_alt_name, san) &&
		     X509_sign(cert, key, EVP_sha256()) > 0;
	}
	if (!ok) {
		X509_free(cert);
		return NULL;
	}
	return cert;
}

static int
cert_pem(X509 *cert, char **ret)
{
	BIO *bio = BIO_new(BIO_s_mem());
	if (!bio)
		return -ENOMEM;
	bool ok = PEM_write_bio_X509(bio, cert) == 1;
	return bio_take_text(bio, ok, ret);
}

int
keys_create_tls_selfsigned(const char *node, const char *cert_path, const char *key_path,
                           struct error *err)
{
	if (!node_name_ok(node))
		return error_set(err, EINVAL, "invalid node name for a certificate: '%s'",
		                 node ? node : "");
	if (!cert_path || !key_path)
		return error_set(err, EINVAL, "certificate and key paths are required");

	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	char *key_text = NULL, *cert_text = NULL;
	int r = generate_rsa(&key);
	if (r < 0) {
		error_errno(err, r, "unable to generate an RSA key");
		goto out;
	}
	cert = make_cert(key, node);
	if (!cert) {
		r = error_set(err, EIO, "unable to create a self-signed certificate for '%s'",
		              node);
		goto out;
	}
	r = private_pem(key, &key_text);
	if (r >= 0)
		r = cert_pem(cert, &cert_text);
	if (r < 0) {
		error_errno(err, r, "unable to encode the certificate");
		goto out;
	}
	/* the key first: a new certificate must never be paired with an old key */
	r = write_file_atomic(key_path, key_text, strlen(key_text), 0600);
	if (r < 0) {
		error_errno(err, r, "unable to write '%s'", key_path);
		goto out;
	}
	r = write_file_atomic(cert_path, cert_text, strlen(cert_text), 0644);
	if (r < 0)
		error_errno(err, r, "unable to write '%s'", cert_path);
out:
	if (key_text) {
		OPENSSL_cleanse(key_text, strlen(key_text));
		free(key_text);
	}
	free(cert_text);
	X509_free(cert);
	EVP_PKEY_free(key);
	ERR_clear_error();
	return r < 0 ? r : 0;
}

int
keys_cert_fingerprint(const char *cert_path, char **ret)
{
	_cleanup_free_ char *pem = NULL;
	int r = read_file(cert_path, CERT_FILE_MAX, &pem, NULL);
	if (r < 0)
		return r;
	BIO *bio = BIO_new_mem_buf(pem, -1);
	if (!bio)
		return -ENOMEM;
	X509 *cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (!cert)
		return -EINVAL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	bool ok = X509_digest(cert, EVP_sha256(), md, &len) == 1;
	X509_free(cert);
	if (!ok)
		return -EIO;
	char *out = xmalloc(3 * len + 1);
	char hex[3];
	for (unsigned int i = 0; i < len; i++) {
		hex_encode_upper(&md[i], 1, hex);
		memcpy(out + 3 * i, hex, 2);
		out[3 * i + 2] = i + 1 < len ? ':' : '\0';
	}
	if (len == 0)
		out[0] = '\0';
	*ret = out;
	return 0;
}
