/* Unit tests: tickets, short-lived tickets, CSRF tokens, constant-time comparison rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "auth/keys.h"
#include "auth/ticket.h"
#include "basic/encoding.h"
#include "basic/fileio.h"
#include "berth-config.h"

#include <openssl/err.h>
#include <stdio.h>

/* A throw-away key for known-answer tests only. The expected signatures below were made
 * with `openssl dgst -sha256 -sign` (RSA PKCS#1 v1.5 is deterministic). */
static const char kat_key_pem[] =
        "-----BEGIN PRIVATE KEY-----\n"
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC3Kxs0zu6SS+df\n"
        "nYgzEnDEoxLlzJwtfcHmXb7dfBl+6bDigxK6TgZj0drF7r3D3XPYlRkwg14yvQR9\n"
        "s3nKFGuluCHlyMQvrDbf1zeNFZsmMZYF4ywU1me1MCJB4/QKwPmvV16GAWokVG4K\n"
        "asiXbtCGuG+YXvmJmbI3K6NYVHYDoxoM5vGKQgbjJOQvlvYnccN29hRXzYa559vU\n"
        "OIP48sMFakXpL2I1ucTJRbOWcjb4LL7AXg9/JU+lITEK6iI55HDofN1/rWW97I8I\n"
        "juQ5J0DkmOSFrCGaeLk8kg003vywZTSrU9KrabiXNiAjemSysT3JVxwLnQzIDLdr\n"
        "SCC2ZqN5AgMBAAECggEAC+qsR7SBzXdOO4iEdKwptYVVhKlZ7NS+cXYeZYr+HqVm\n"
        "CmqUJJZQcJyV0uRMKMrGz2ut2pvlXEAzY1kynnzTHxI6dFhqOR7HaCs4lD94W1UF\n"
        "CWeE9esYDq/tvqMtvKhe5jM1NVswtGHg0eEuIToGq4kiy4M8UWE0OMYoR6YhEm3k\n"
        "3C8unolQ170zcmUyA2qNyB/8xL1kQ+K1/kWRD8mEQhF/br9+SPlLmHe8aeF1aMiW\n"
        "9RwZxFNFFyQsoZ/yvQk+3ZBL1t2n4W0NNJ0HcMaGa7+FvIWtQ4VZ1BdfdLLAJm5E\n"
        "c44lvKMFTB2bWqQu8tLa+6gcHScoS2a0kD567RFRwQKBgQD51Gct8HHm4dT1JY4h\n"
        "ByCtH8SpB/oW6zkWFE7keYw55gP/qKzAguQP4vPSLFXPvHSYTto21syIP5Y4NNTK\n"
        "JLi9AQMhj1KbYxTlFQJJfTo/6qZDHCAWn8szFI/hnokyDtQMxUMgK70xLS1aPvwh\n"
        "1ZfRWHc5vaKYAE/2m3LHi9h+YQKBgQC7sTlc24RM6ZvBIc1eCwsNcZwmBpx737xd\n"
        "MHDgICfdddAvz9kDgeWCHoNr6DweFrgXNgafhJrrTnigzFJp/aplL9SNUoHNZaOO\n"
        "LCdjEqCLdapunWmm+A8lEslxk2kmG5cjE3cf77126ORI7qckzDWjtT2fMWXEhrZ+\n"
        "+tmlYq3MGQKBgFEEbZV7RSTPlaUOUcIqMpGSHM+IE7U9AN1FJrR3Kl9YVXGiPKuN\n"
        "hvIT8mf1Err0bYc7Aw8Hp3qDzG5by6nmMLayTlaiyPI1NoB3yK8WWj6CFPrscweD\n"
        "OH1PLL3JEMrX/jJKAlO7e3YoJW3/wPoj70DnhHqIIeNTLptVm+pUUpfhAoGAW/Cx\n"
        "X7osMZzRbibHucSBEoHPcpUUfF2ZoLCE6lT2EjaO14ziCiTMLxQRXn9xS2/nl38g\n"
        "eW10kcVrs6DC0iavHEf0v5FmAh5CovcgCBjsycPGy86SHXcvvAJa6SbDgCZNv6He\n"
        "XaeLUL8+bDdzasQZlmrGl7+T0VQH+2WXzbrr1akCgYEAvjI6vnf0gnIHJYJGmcB6\n"
        "q1Ilb+4IsjHTKqynAVXKYGtFc9q1jgsaC9mPgE+4vv0GjoTNCWG/tjSPzX98RhdE\n"
        "CwSIh5DUUTpwtIMSq3Ox9ZmJ5cw1UKWZiKZNNN4OpMQbpA+OfqxFkBObZAMlajwl\n"
        "KUt16MwQaduBkbL7uuWlI1E=\n"
        "-----END PRIVATE KEY-----\n";

#define KAT_TIME 0x66B1F0A2
#define KAT_TICKET                                                                                 \
	"PVE:root@pam:66B1F0A2::B7Vgse7rQg8guIATiqJHLBBpclHwI8jRdWwQhpwMnzgrqzEbNMV7QW8MNM4pz0NHO" \
	"jGOPym/Zfb3aRmXCIf9DllixAGELFJ8uRBWv/"                                                    \
	"XI9z7dEKsre1lrl18gfY6HGEX1TyXeclVdIjnUH7nIX6sFp7CVdH"                                     \
	"UetmrpBP16EAcPKo/"                                                                        \
	"4IKy8EdM6nUdCtLfNbPIL5monsJsiP7wy7XbFwQWbPHbBLGSd+DdYXElxt0r3pdqBNERRDz2"                 \
	"qqBtXsCtkzeMQbbNmaw4Qu6v0t4QGtXq9RV0yBCDHC2mkT9qbGEYOO9OVaw8kbZiW2yH/"                    \
	"qjGETNcFtVcKITgnW3YA"                                                                     \
	"p8KdI+cKoA=="
#define KAT_VNC_TICKET                                                                             \
	"PVEVNC:66B1F0A2::"                                                                        \
	"hpoqdpeqYyKrvk1vNPjbMEaFLkHDze2DpTmKaRSdJVbncvb8kfHSS4qKiQvRkbKheZHbBxk3"                 \
	"Sy+"                                                                                      \
	"MGVFQfoNhF8XLRYKNTIs9bcXvMw3UCGNqYBWGR3fz0IDykKzG1Es8jr3rfwYy0l3mYYQP5SV2oIMiMK2ShIdCL"   \
	"mjeFV9bzKuieRHg/iacj/"                                                                    \
	"wdFRJqstaTbwzkK4OW04yT7XurYEB8alX+HauBGjwqDHJN+9eF0Uoh+QOzWjGKbGA4oj"                     \
	"ZlMj+jaKjvvmVfOo6pyAaWmAOLznVoYx6c/HPdEJdfwVNbx2BuRrdbHAVK5X59t+dNCjN/PMhiXpnh/"          \
	"rY4YEbsyBg"                                                                               \
	"WGA=="
#define KAT_VNC_DATA "root@pam:/vms/100:5900"
/* HMAC-SHA256("66B1F0A2:root@pam", CSRF_SECRET), base64 without padding (python hmac) */
#define CSRF_SECRET "0123456789abcdef0123456789abcdef"
#define KAT_CSRF    "66B1F0A2:Ple0b4awA3BqDKnLoMm0z0CGT/Gah8UFLMsduEK5z98"

#define NOW     1750000000
#define AGE_MIN (-TICKET_CLOCK_SKEW)
#define AGE_MAX TICKET_LIFETIME

static EVP_PKEY *key, *other_key;

static int
setup(void **state)
{
	char *pem;
	if (keys_load_private_pem(kat_key_pem, &key) < 0 || keys_generate_rsa_pem(&pem) < 0)
		return -1;
	int r = keys_load_private_pem(pem, &other_key);
	free(pem);
	return r;
}

static int
teardown(void **state)
{
	EVP_PKEY_free(key);
	EVP_PKEY_free(other_key);
	return 0;
}

/* not inlined: GCC 12 then mistakes the result for a pointer to the local (dangling-pointer) */
static __attribute__((noinline)) char *
make(const char *userid, time_t t)
{
	char *ticket = NULL;
	int r = ticket_create(key, "PVE", userid, t, &ticket);
	if (r < 0)
		fail_msg("ticket_create: %d", r);
	return ticket;
}

static int
verify_at(const char *ticket, time_t now, char **userid)
{
	long age;
	return ticket_verify(key, "PVE", ticket, now, AGE_MIN, AGE_MAX, userid, &age);
}

static void
test_ticket_matches_known_answer_and_pve_format(void **state)
{
	char *t = make("root@pam", KAT_TIME);
	assert_string_equal(t, KAT_TICKET);
	char *userid = NULL;
	long age = -1;
	assert_int_equal(ticket_verify(key, "PVE", KAT_TICKET, KAT_TIME + 10, AGE_MIN, AGE_MAX,
	                               &userid, &age),
	                 0);
	assert_string_equal(userid, "root@pam");
	assert_int_equal(age, 10);
	free(userid);
	free(t);
}

static void
test_ticket_age_window_is_exclusive_as_pve(void **state)
{
	char *t = make("joe@pve", NOW);
	char *u = NULL;
	assert_int_equal(verify_at(t, NOW, NULL), 0);
	assert_int_equal(verify_at(t, NOW + AGE_MAX - 1, &u), 0);
	assert_string_equal(u, "joe@pve");
	free(u);
	u = NULL;
	assert_int_equal(verify_at(t, NOW + AGE_MAX, &u), -EKEYEXPIRED); /* 2 h old */
	assert_null(u);
	assert_int_equal(verify_at(t, NOW + 3 * AGE_MAX, NULL), -EKEYEXPIRED);
	/* issued in the future: up to 5 min of clock skew */
	assert_int_equal(verify_at(t, NOW - 299, NULL), 0);
	assert_int_equal(verify_at(t, NOW - 300, NULL), -EKEYEXPIRED);
	assert_int_equal(verify_at(t, NOW - 3600, NULL), -EKEYEXPIRED);
	free(t);
}

static void
test_ticket_tampering_is_rejected(void **state)
{
	char *t = make("joe@pve", NOW);
	char *sig = strstr(t, "::") + 2;
	unsigned char raw[600];
	ssize_t n = base64_decode(sig, strlen(sig), raw);
	assert_int_equal(n, 256);
	for (int bit = 0; bit < 256 * 8; bit += 97) {
		char *copy = strdup(t);
		raw[bit / 8] ^= (unsigned char)(1 << (bit % 8));
		base64_encode(raw, (size_t)n, strstr(copy, "::") + 2);
		raw[bit / 8] ^= (unsigned char)(1 << (bit % 8));
		assert_int_equal(verify_at(copy, NOW, NULL), -EKEYREJECTED);
		free(copy);
	}
	/* another user or another time under the same signature */
	char *copy = strdup(t);
	copy[4] = 'J';
	assert_int_equal(verify_at(copy, NOW, NULL), -EKEYREJECTED);
	strcpy(copy, t);
	char *hex = strstr(copy, "::") - 1;
	*hex = *hex == '0' ? '1' : '0';
	assert_int_equal(verify_at(copy, NOW, NULL), -EKEYREJECTED);
	free(copy);
	free(t);
}

static void
test_ticket_from_other_key_or_prefix_is_rejected(void **state)
{
	char *t = NULL;
	assert_int_equal(ticket_create(other_key, "PVE", "joe@pve", NOW, &t), 0);
	assert_int_equal(verify_at(t, NOW, NULL), -EKEYREJECTED);
	/* a rejected signature leaves nothing on OpenSSL's per-thread error queue */
	assert_int_equal(ERR_peek_error(), 0);
	free(t);

	assert_int_equal(ticket_create(key, "PMG", "joe@pve", NOW, &t), 0);
	assert_int_equal(verify_at(t, NOW, NULL), -EBADMSG);
	free(t);
	t = make("joe@pve", NOW);
	assert_int_equal(ticket_verify(key, "PV", t, NOW, AGE_MIN, AGE_MAX, NULL, NULL), -EBADMSG);
	assert_int_equal(ticket_verify(key, "PVEVNC", t, NOW, AGE_MIN, AGE_MAX, NULL, NULL),
	                 -EBADMSG);
	assert_int_equal(ticket_verify(key, "PVE:x", t, NOW, AGE_MIN, AGE_MAX, NULL, NULL),
	                 -EINVAL);
	free(t);
}

static void
test_ticket_escapes_colon_and_percent_in_userids(void **state)
{
	char *t = make("we:ird%3A@pve", NOW);
	assert_true(strncmp(t, "PVE:we%3Aird%253A@pve:", 22) == 0);
	char *u = NULL;
	assert_int_equal(verify_at(t, NOW, &u), 0);
	assert_string_equal(u, "we:ird%3A@pve");
	free(u);
	free(t);
	assert_int_equal(ticket_create(key, "PVE", "a b@pve", NOW, &t), -EINVAL);
	assert_int_equal(ticket_create(key, "PVE", "a\n@pve", NOW, &t), -EINVAL);
	assert_int_equal(ticket_create(key, "PVE", "", NOW, &t), -EINVAL);
	assert_int_equal(ticket_create(key, "PVE", "joe@pve", -1, &t), -EINVAL);
	assert_int_equal(ticket_create(key, "PVE", "joe@pve", (time_t)1 << 33, &t), -EINVAL);
}

static void
test_malformed_tickets_are_rejected_without_crashing(void **state)
{
	static const char *const bad[] = {
		"",
		"PVE",
		"PVE:",
		"PVE:root@pam",
		"PVE:root@pam:66B1F0A2",
		"PVE:root@pam:66B1F0A2::",
		"PVE:root@pam:66B1F0A2:",
		"PVE:root@pam:66B1F0A::c2ln",
		"PVE:root@pam:66b1f0a2::c2ln",
		"PVE:root@pam:66B1F0AG::c2ln",
		"PVE:root@pam:66B1F0A2:::c2ln",
		"PVE::66B1F0A2::c2ln",
		"PVE:66B1F0A2::c2ln", /* no user: a short-lived ticket, not a session */
		"PVE:a:b@pam:66B1F0A2::c2ln",
		"PVE:root@pam:66B1F0A2::c2 ln",
		"PVE:root@pam:66B1F0A2::c2l*",
		"PVE:root@pam:66B1F0A2::c2l",
		"PVE:root@pam:66B1F0A2::\xff",
		" PVE:root@pam:66B1F0A2::c2ln",
		"PVE:root@pam :66B1F0A2::c2ln",
		"PVE:root%00@pam:66B1F0A2::c2ln",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *u = NULL;
		int r = verify_at(bad[i], NOW, &u);
		if (r != -EBADMSG && r != -EKEYREJECTED)
			fail_msg("ticket \"%s\" gave %d", bad[i], r);
		assert_null(u);
	}
	assert_int_equal(verify_at(NULL, NOW, NULL), -EBADMSG);
	char *huge = malloc(8192);
	memset(huge, 'A', 8191);
	huge[8191] = '\0';
	memcpy(huge, "PVE:root@pam:66B1F0A2::", 23);
	assert_int_equal(verify_at(huge, NOW, NULL), -EBADMSG);
	free(huge);
}

/* Random byte edits, deletions and insertions: whatever still verifies (base64 padding and
 * spare bits are slack) must carry exactly the signed user and time. CSRF tokens are
 * compared as text, so no edit of one may pass. */
static void
test_random_mutations_never_change_what_verifies(void **state)
{
	static const char alphabet[] = "PVE:%3A=+/ \n\t\xff\x01AZaz09@!";
	char *t = make("joe@pve", NOW);
	size_t plain = (size_t)(strstr(t, "::") - t);
	char *csrf = NULL;
	assert_int_equal(csrf_token_create((const unsigned char *)CSRF_SECRET, strlen(CSRF_SECRET),
	                                   "joe@pve", NOW, &csrf),
	                 0);
	srand(4711);
	for (int i = 0; i < 4000; i++) {
		const char *orig = i % 2 ? t : csrf;
		size_t len = strlen(orig), pos = (size_t)rand() % len;
		char *m = calloc(len + 2, 1);
		char c = alphabet[rand() % (int)(sizeof(alphabet) - 1)];
		switch (rand() % 3) {
		case 0:
			memcpy(m, orig, len);
			m[pos] = c;
			break;
		case 1:
			memcpy(m, orig, pos);
			memcpy(m + pos, orig + pos + 1, len - pos - 1);
			break;
		default:
			memcpy(m, orig, pos);
			m[pos] = c;
			memcpy(m + pos + 1, orig + pos, len - pos);
			break;
		}
		if (strcmp(m, orig) != 0) {
			if (i % 2) {
				char *u = NULL;
				if (verify_at(m, NOW, &u) == 0) {
					assert_memory_equal(m, t, plain + 2);
					assert_string_equal(u, "joe@pve");
					free(u);
				}
			} else {
				assert_int_equal(
				        csrf_token_verify((const unsigned char *)CSRF_SECRET,
				                          strlen(CSRF_SECRET), "joe@pve", m, NOW),
				        -EKEYREJECTED);
			}
		}
		free(m);
	}
	free(csrf);
	free(t);
}

static void
test_short_lived_ticket_binds_secret_data(void **state)
{
	char *t = NULL;
	assert_int_equal(ticket_create_short(key, "PVEVNC", KAT_VNC_DATA, KAT_TIME, &t), 0);
	assert_string_equal(t, KAT_VNC_TICKET);
	assert_null(strstr(t, "root@pam"));
	assert_int_equal(ticket_verify_short(key, "PVEVNC", KAT_VNC_DATA, t, KAT_TIME + 39), 0);
	assert_int_equal(ticket_verify_short(key, "PVEVNC", KAT_VNC_DATA, t, KAT_TIME - 19), 0);
	assert_int_equal(ticket_verify_short(key, "PVEVNC", KAT_VNC_DATA, t, KAT_TIME + 40),
	                 -EKEYEXPIRED);
	assert_int_equal(ticket_verify_short(key, "PVEVNC", KAT_VNC_DATA, t, KAT_TIME - 20),
	                 -EKEYEXPIRED);
	assert_int_equal(ticket_verify_short(key, "PVEVNC", "root@pam:/vms/101:5900", t, KAT_TIME),
	                 -EKEYREJECTED);
	assert_int_equal(ticket_verify_short(key, "PVEVNC", "joe@pve:/vms/100:5900", t, KAT_TIME),
	                 -EKEYREJECTED);
	assert_int_equal(ticket_verify_short(key, "PVETUNNEL", KAT_VNC_DATA, t, KAT_TIME),
	                 -EBADMSG);
	assert_int_equal(ticket_verify_short(other_key, "PVEVNC", KAT_VNC_DATA, t, KAT_TIME),
	                 -EKEYREJECTED);
	/* session tickets and short-lived tickets are not interchangeable */
	assert_int_equal(verify_at(t, KAT_TIME, NULL), -EBADMSG);
	assert_int_equal(ticket_verify_short(key, "PVE", "root@pam", KAT_TICKET, KAT_TIME),
	                 -EBADMSG);
	free(t);
}

static void
test_csrf_token_known_answer_and_window(void **state)
{
	const unsigned char *s = (const unsigned char *)CSRF_SECRET;
	size_t n = strlen(CSRF_SECRET);
	char *tok = NULL;
	assert_int_equal(csrf_token_create(s, n, "root@pam", KAT_TIME, &tok), 0);
	assert_string_equal(tok, KAT_CSRF);
	free(tok);
	assert_int_equal(csrf_token_verify(s, n, "root@pam", KAT_CSRF, KAT_TIME), 0);
	assert_int_equal(csrf_token_verify(s, n, "root@pam", KAT_CSRF, KAT_TIME + 7199), 0);
	assert_int_equal(csrf_token_verify(s, n, "root@pam", KAT_CSRF, KAT_TIME + 7200),
	                 -EKEYREJECTED); /* stale */
	assert_int_equal(csrf_token_verify(s, n, "root@pam", KAT_CSRF, KAT_TIME - 299), 0);
	assert_int_equal(csrf_token_verify(s, n, "root@pam", KAT_CSRF, KAT_TIME - 300),
	                 -EKEYREJECTED);
}

static void
test_csrf_token_rejects_other_user_secret_and_garbage(void **state)
{
	const unsigned char *s = (const unsigned char *)CSRF_SECRET;
	size_t n = strlen(CSRF_SECRET);
	assert_int_equal(csrf_token_verify(s, n, "joe@pve", KAT_CSRF, KAT_TIME), -EKEYREJECTED);
	assert_int_equal(csrf_token_verify((const unsigned char *)"other", 5, "root@pam", KAT_CSRF,
	                                   KAT_TIME),
	                 -EKEYREJECTED);
	static const char *const bad[] = {
		"",
		"x",
		"66B1F0A2:",
		"66B1F0A2",
		"66b1f0a2:Ple0b4awA3BqDKnLoMm0z0CGT/Gah8UFLMsduEK5z98",
		"66B1F0A2:Ple0b4awA3BqDKnLoMm0z0CGT/Gah8UFLMsduEK5z98=",
		"66B1F0A2:Ple0b4awA3BqDKnLoMm0z0CGT/Gah8UFLMsduEK5z9",
		"66B1F0A2:Qle0b4awA3BqDKnLoMm0z0CGT/Gah8UFLMsduEK5z98",
		"66B1F0A2:Ple0b4awA3BqDKnLoMm0z0CGT/Gah8UFLMsduEK5z99",
		"66B1F0A3:Ple0b4awA3BqDKnLoMm0z0CGT/Gah8UFLMsduEK5z98",
		"66B1F0A2;Ple0b4awA3BqDKnLoMm0z0CGT/Gah8UFLMsduEK5z98",
		" 66B1F0A2:Ple0b4awA3BqDKnLoMm0z0CGT/Gah8UFLMsduEK5z98",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (csrf_token_verify(s, n, "root@pam", bad[i], KAT_TIME) != -EKEYREJECTED)
			fail_msg("csrf token \"%s\" accepted", bad[i]);
	assert_int_equal(csrf_token_verify(s, n, "root@pam", NULL, KAT_TIME), -EKEYREJECTED);
	assert_int_equal(csrf_token_verify(NULL, 0, "root@pam", KAT_CSRF, KAT_TIME), -EKEYREJECTED);
	char *tok;
	assert_int_equal(csrf_token_create(s, 0, "root@pam", KAT_TIME, &tok), -EINVAL);
}

/* Code rule: secrets (signatures, MACs, hashes, passwords) are compared only with
 * CRYPTO_memcmp or const_time_equal. Flags any other comparison call in the secret-handling
 * sources whose line mentions such material. */
static void
test_secret_comparisons_are_constant_time_by_code_rule(void **state)
{
	static const char *const files[] = { "src/auth/ticket.c", "src/auth/token.c",
		                             "src/auth/password.c" };
	static const char *const calls[] = { "memcmp(", "strcmp(", "strncmp(",   "streq(",
		                             "strneq(", "bcmp(",   "strcasecmp(" };
	static const char *const secrets[] = { "sig",    "mac",    "hash",    "expect",
		                               "digest", "secret", "password" };
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		char path[512], *text;
		snprintf(path, sizeof(path), "%s/%s", BERTH_SOURCE_DIR, files[f]);
		assert_int_equal(read_file(path, 1 << 20, &text, NULL), 0);
		int lineno = 0;
		for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
			lineno++;
			for (size_t c = 0; c < sizeof(calls) / sizeof(calls[0]); c++) {
				char *hit = strstr(line, calls[c]);
				if (!hit || (hit > line && hit[-1] == '_'))
					continue; /* CRYPTO_memcmp */
				for (size_t s = 0; s < sizeof(secrets) / sizeof(secrets[0]); s++)
					if (strstr(hit, secrets[s]))
						fail_msg("%s: non-constant-time comparison near "
						         "\"%s\": %s",
						         files[f], secrets[s], line);
			}
		}
		free(text);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ticket_matches_known_answer_and_pve_format),
		cmocka_unit_test(test_ticket_age_window_is_exclusive_as_pve),
		cmocka_unit_test(test_ticket_tampering_is_rejected),
		cmocka_unit_test(test_ticket_from_other_key_or_prefix_is_rejected),
		cmocka_unit_test(test_ticket_escapes_colon_and_percent_in_userids),
		cmocka_unit_test(test_malformed_tickets_are_rejected_without_crashing),
		cmocka_unit_test(test_random_mutations_never_change_what_verifies),
		cmocka_unit_test(test_short_lived_ticket_binds_secret_data),
		cmocka_unit_test(test_csrf_token_known_answer_and_window),
		cmocka_unit_test(test_csrf_token_rejects_other_user_secret_and_garbage),
		cmocka_unit_test(test_secret_comparisons_are_constant_time_by_code_rule),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
