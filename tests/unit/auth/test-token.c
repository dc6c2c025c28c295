/* Unit tests: API token secrets, hashes, the Authorization header and token.cfg lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "auth/token.h"
#include "basic/strbuf.h"

#define SECRET "0b6c1f2e-3a4d-4e5f-8a9b-0c1d2e3f4a5b"

static bool
is_uuid_v4(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
			return false;
		}
	}
	return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}

static void
test_generated_secrets_are_lowercase_uuid_v4_and_distinct(void **state)
{
	enum { N = 1000 };
	static char seen[N][37];
	for (int i = 0; i < N; i++) {
		assert_int_equal(token_secret_generate(seen[i]), 0);
		if (!is_uuid_v4(seen[i]))
			fail_msg("not a lowercase UUID v4: %s", seen[i]);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(seen[i], seen[j]);
	}
	/* what NPM's client checks before sending a secret */
	assert_true(is_uuid_v4(SECRET));
}

static void
test_hash_is_sha256_hex(void **state)
{
	char h[TOKEN_HASH_HEX + 1];
	token_secret_hash("abc", h);
	assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	token_secret_hash("", h);
	assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void
test_secret_matches_only_its_hash(void **state)
{
	char h[TOKEN_HASH_HEX + 1];
	token_secret_hash(SECRET, h);
	assert_true(token_secret_matches(SECRET, h));
	assert_false(token_secret_matches(SECRET "x", h));
	assert_false(token_secret_matches("0b6c1f2e-3a4d-4e5f-8a9b-0c1d2e3f4a5c", h));
	assert_false(token_secret_matches("", h));
	assert_false(token_secret_matches(NULL, h));
	assert_false(token_secret_matches(SECRET, NULL));
	assert_false(token_secret_matches(SECRET, SECRET)); /* a clear secret is not a hash */
	h[63] = '\0';
	assert_false(token_secret_matches(SECRET, h));
	token_secret_hash(SECRET, h);
	h[0] = 'g';
	assert_false(token_secret_matches(SECRET, h));
}

struct header_case {
	const char *value, *id, *secret; /* id NULL: refused */
};

static void
test_authorization_header_parsing_follows_pve(void **state)
{
	static const struct header_case cases[] = {
		{ "PVEAPIToken=root@pam!ci=" SECRET, "root@pam!ci", SECRET },
		{ "PVEAPIToken root@pam!ci=" SECRET, "root@pam!ci", SECRET },
		{ "PVEAPIToken=root@pam!ci=" SECRET "; other=1", "root@pam!ci", SECRET },
		{ "Foo bar, PVEAPIToken=joe@pve!t-1=" SECRET, "joe@pve!t-1", SECRET },
		{ "PVEAPIToken=root%40pam%21ci=" SECRET, "root@pam!ci", SECRET },
		{ "PVEAPIToken=x!y@pve!tok=" SECRET, "x!y@pve!tok", SECRET },
		/* the split is at the last '=', so an '=' in the id breaks the id */
		{ "PVEAPIToken=root@pam!c=i=" SECRET, NULL, NULL },
		{ "PVEAPIToken=root@pam!ci=", NULL, NULL },
		{ "PVEAPIToken=root@pam=" SECRET, NULL, NULL },
		{ "PVEAPIToken=root@pam!c=" SECRET, NULL, NULL }, /* one-letter token name */
		{ "PVEAPIToken=root@pam!ci", NULL, NULL },
		{ "PVEAPIToken=", NULL, NULL },
		{ "PVEAPIToken", NULL, NULL },
		{ "XPVEAPIToken=root@pam!ci=" SECRET, NULL, NULL },
		{ "PVEAPITokens=root@pam!ci=" SECRET, NULL, NULL },
		{ "pveapitoken=root@pam!ci=" SECRET, NULL, NULL },
		{ "PVEAPIToken=root@pam!ci=se%00cret", NULL, NULL },
		{ "PVEAPIToken=root@pam!ci=se%0Acret", NULL, NULL },
		{ "PVEAuthCookie=PVE:root@pam:66B1F0A2::c2ln", NULL, NULL },
		{ "", NULL, NULL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *id = NULL, *secret = NULL;
		int r = token_parse_header(cases[i].value, &id, &secret);
		if (!cases[i].id) {
			if (r != -EINVAL)
				fail_msg("accepted \"%s\"", cases[i].value);
			assert_null(id);
			assert_null(secret);
			continue;
		}
		if (r != 0)
			fail_msg("refused \"%s\": %d", cases[i].value, r);
		assert_string_equal(id, cases[i].id);
		assert_string_equal(secret, cases[i].secret);
		free(id);
		free(secret);
	}
	char *id, *secret;
	assert_int_equal(token_parse_header(NULL, &id, &secret), -EINVAL);
}

static void
test_tokencfg_lookup_and_update(void **state)
{
	char h[TOKEN_HASH_HEX + 1], a[TOKEN_HASH_HEX + 1], b[TOKEN_HASH_HEX + 1];
	token_secret_hash("a", a);
	token_secret_hash("b", b);

	char *text = tokencfg_update("", "joe@pve!ci", a);
	assert_non_null(text);
	char *want = xasprintf("joe@pve!ci %s\n", a);
	assert_string_equal(text, want);
	free(want);
	assert_int_equal(tokencfg_lookup(text, "joe@pve!ci", h), 0);
	assert_string_equal(h, a);
	assert_int_equal(tokencfg_lookup(text, "joe@pve!other", h), -ENOENT);
	assert_int_equal(tokencfg_lookup(text, "joe@pve", h), -ENOENT);

	/* sorted by id, replaced in place, removed */
	char *t2 = tokencfg_update(text, "ann@pve!ci", b);
	want = xasprintf("ann@pve!ci %s\njoe@pve!ci %s\n", b, a);
	assert_string_equal(t2, want);
	free(want);
	char *t3 = tokencfg_update(t2, "joe@pve!ci", b);
	want = xasprintf("ann@pve!ci %s\njoe@pve!ci %s\n", b, b);
	assert_string_equal(t3, want);
	free(want);
	char *t4 = tokencfg_update(t3, "ann@pve!ci", NULL);
	want = xasprintf("joe@pve!ci %s\n", b);
	assert_string_equal(t4, want);
	free(want);
	char *t5 = tokencfg_update(t4, "nobody@pve!ci", NULL);
	assert_string_equal(t5, t4);

	assert_null(tokencfg_update(t4, "joe@pve", a));
	assert_null(tokencfg_update(t4, "joe@pve!ci", "xyz"));
	assert_null(tokencfg_update(t4, "joe@pve!ci", SECRET));
	free(text);
	free(t2);
	free(t3);
	free(t4);
	free(t5);
}

static void
test_tokencfg_takes_over_pve_clear_secrets_and_skips_bad_lines(void **state)
{
	/* PVE keeps "<id> <uuid>" in clear; our lookup hashes it, our writer stores the hash */
	const char *pve = "joe@pve!ci " SECRET "\n"
	                  "bad line with spaces\n"
	                  "joe@pve!two  " SECRET "\n"
	                  "notatoken " SECRET "\n"
	                  "\n"
	                  "ann@pve!old 1111\nann@pve!old 2222\n";
	char h[TOKEN_HASH_HEX + 1], want[TOKEN_HASH_HEX + 1];
	token_secret_hash(SECRET, want);
	assert_int_equal(tokencfg_lookup(pve, "joe@pve!ci", h), 0);
	assert_string_equal(h, want);
	assert_true(token_secret_matches(SECRET, h));
	assert_int_equal(tokencfg_lookup(pve, "joe@pve!two", h), -ENOENT);
	assert_int_equal(tokencfg_lookup(pve, "ann@pve!old", h), 0);
	assert_true(token_secret_matches("2222", h)); /* the later line wins */

	char *text = tokencfg_update(pve, "ann@pve!old", NULL);
	char *expect = xasprintf("joe@pve!ci %s\n", want);
	assert_string_equal(text, expect);
	assert_null(strstr(text, SECRET));
	free(expect);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generated_secrets_are_lowercase_uuid_v4_and_distinct),
		cmocka_unit_test(test_hash_is_sha256_hex),
		cmocka_unit_test(test_secret_matches_only_its_hash),
		cmocka_unit_test(test_authorization_header_parsing_follows_pve),
		cmocka_unit_test(test_tokencfg_lookup_and_update),
		cmocka_unit_test(test_tokencfg_takes_over_pve_clear_secrets_and_skips_bad_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
