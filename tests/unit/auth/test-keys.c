/* Unit tests: RSA PEM keys, random hex, the self-signed proxy certificate, fingerprints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "auth/keys.h"
#include "basic/fileio.h"
#include "basic/strbuf.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <sys/stat.h>

static char dir[] = "/tmp/berth-test-keys-XXXXXX";

static int
setup(void **state)
{
	return mkdtemp(dir) ? 0 : -1;
}

static int
teardown(void **state)
{
	static const char *const names[] = { "c.pem", "k.pem", "bad.pem" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *p = xasprintf("%s/%s", dir, names[i]);
		unlink(p);
		free(p);
	}
	return rmdir(dir);
}

static void
test_rsa_pem_round_trips(void **state)
{
	char *pem = NULL;
	assert_int_equal(keys_generate_rsa_pem(&pem), 0);
	assert_true(strncmp(pem, "-----BEGIN PRIVATE KEY-----\n", 28) == 0);
	EVP_PKEY *key = NULL;
	assert_int_equal(keys_load_private_pem(pem, &key), 0);
	assert_true(EVP_PKEY_is_a(key, "RSA"));
	assert_int_equal(EVP_PKEY_get_bits(key), 2048);
	EVP_PKEY_free(key);
	free(pem);

	key = NULL;
	assert_int_equal(keys_load_private_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n", &key),
	                 -EINVAL);
	assert_int_equal(keys_load_private_pem("", &key), -EINVAL);
	assert_int_equal(keys_load_private_pem(NULL, &key), -EINVAL);
	assert_null(key);
}

static void
test_random_hex_is_lowercase_and_fresh(void **state)
{
	char *a = NULL, *b = NULL;
	assert_int_equal(keys_random_hex(32, &a), 0);
	assert_int_equal(keys_random_hex(32, &b), 0);
	assert_int_equal(strlen(a), 64);
	assert_int_equal(strspn(a, "0123456789abcdef"), 64);
	assert_string_not_equal(a, b);
	free(a);
	free(b);
	assert_int_equal(keys_random_hex(0, &a), -EINVAL);
}

static X509 *
load_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	X509 *cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(cert);
	return cert;
}

static void
test_selfsigned_certificate_has_names_modes_and_ten_years(void **state)
{
	char *cert_path = xasprintf("%s/c.pem", dir), *key_path = xasprintf("%s/k.pem", dir);
	struct error err = { 0 };
	assert_int_equal(keys_create_tls_selfsigned("pve-node1.example", cert_path, key_path, &err),
	                 0);
	struct stat st;
	assert_int_equal(stat(key_path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(cert_path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);

	X509 *cert = load_cert(cert_path);
	char cn[256];
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn,
	                                      sizeof(cn)) > 0);
	assert_string_equal(cn, "pve-node1.example");

	/* subjectAltName: the node, localhost and both loopback addresses */
	assert_int_equal(X509_check_host(cert, "pve-node1.example", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(cert, "localhost", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(cert, "other.example", 0, 0, NULL), 0);
	assert_int_equal(X509_check_ip_asc(cert, "127.0.0.1", 0), 1);
	assert_int_equal(X509_check_ip_asc(cert, "::1", 0), 1);
	assert_int_equal(X509_check_ip_asc(cert, "10.0.0.1", 0), 0);

	int days, secs;
	assert_int_equal(ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(cert)), 1);
	assert_true(days >= 3649 && days <= 3651);
	assert_true(X509_cmp_current_time(X509_get0_notBefore(cert)) < 0);
	assert_int_equal(X509_check_ca(cert), 0);

	/* the key file holds the certificate's key */
	char *pem = NULL;
	assert_int_equal(read_file(key_path, 1 << 20, &pem, NULL), 0);
	EVP_PKEY *key = NULL;
	assert_int_equal(keys_load_private_pem(pem, &key), 0);
	assert_int_equal(X509_check_private_key(cert, key), 1);
	assert_int_equal(X509_verify(cert, key), 1);
	EVP_PKEY_free(key);
	free(pem);

	/* fingerprint: SHA-256 as "AA:BB:...", equal to OpenSSL's own digest */
	char *fp = NULL;
	assert_int_equal(keys_cert_fingerprint(cert_path, &fp), 0);
	assert_int_equal(strlen(fp), 32 * 3 - 1);
	for (int i = 0; i < 95; i++)
		assert_true(i % 3 == 2 ? fp[i] == ':' : strchr("0123456789ABCDEF", fp[i]) != NULL);
	unsigned char md[32];
	unsigned int len;
	assert_int_equal(X509_digest(cert, EVP_sha256(), md, &len), 1);
	char want[8];
	for (int i = 0; i < 32; i++) {
		snprintf(want, sizeof(want), "%02X", md[i]);
		assert_memory_equal(fp + 3 * i, want, 2);
	}
	free(fp);
	X509_free(cert);

	/* a second call replaces both files with a new pair */
	char *fp1 = NULL, *fp2 = NULL;
	assert_int_equal(keys_cert_fingerprint(cert_path, &fp1), 0);
	assert_int_equal(keys_create_tls_selfsigned("pve-node1.example", cert_path, key_path, &err),
	                 0);
	assert_int_equal(keys_cert_fingerprint(cert_path, &fp2), 0);
	assert_string_not_equal(fp1, fp2);
	free(fp1);
	free(fp2);
	free(cert_path);
	free(key_path);
}

static void
test_selfsigned_refuses_names_that_would_inject_entries(void **state)
{
	char *cert_path = xasprintf("%s/bad.pem", dir), *key_path = xasprintf("%s/bad.pem", dir);
	static const char *const bad[] = {
		"evil,DNS:bank.example", "a b", "", "-x", "a:b", "n\nCN=x", "node/../x"
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct error err = { 0 };
		assert_int_equal(keys_create_tls_selfsigned(bad[i], cert_path, key_path, &err),
		                 -EINVAL);
		assert_true(err.msg[0] != '\0');
	}
	struct error err = { 0 };
	assert_int_equal(keys_create_tls_selfsigned(NULL, cert_path, key_path, &err), -EINVAL);
	assert_int_equal(access(cert_path, F_OK), -1);
	free(cert_path);
	free(key_path);
}

static void
test_fingerprint_of_missing_or_garbage_file_fails(void **state)
{
	char *fp = NULL;
	char *path = xasprintf("%s/bad.pem", dir);
	assert_int_equal(keys_cert_fingerprint("/nonexistent/berth/cert.pem", &fp), -ENOENT);
	assert_int_equal(write_file_atomic(path, "not a cert\n", 11, 0600), 0);
	assert_int_equal(keys_cert_fingerprint(path, &fp), -EINVAL);
	assert_null(fp);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rsa_pem_round_trips),
		cmocka_unit_test(test_random_hex_is_lowercase_and_fresh),
		cmocka_unit_test(test_selfsigned_certificate_has_names_modes_and_ten_years),
		cmocka_unit_test(test_selfsigned_refuses_names_that_would_inject_entries),
		cmocka_unit_test(test_fingerprint_of_missing_or_garbage_file_fails),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
