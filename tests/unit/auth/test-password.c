/* Unit tests: password hashes, shadow.cfg lines, PAM refusing an unknown user. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "auth/password.h"

#define PW "correct horse"
/* made with other tools: openssl passwd -6 / -5, Python's crypt with a fixed yescrypt salt */
#define SHA512_HASH                                                                                \
	"$6$Zm9vYmFyYmF6$SjQa139dVVVO6Qg9VRf.XJ8QnAwOBOjXf/KYzAIR4M.SXU2QSLsAfjnAKfcexs/n.wAxm11F" \
	"PLUBs9R16XyBX/"
#define SHA256_HASH   "$5$abcdefgh$ruMep1ijHnJPZbETDNiumskxcX3kN4lzZd5VlsqE7eB"
#define YESCRYPT_HASH "$y$j9T$ZxNrfFyBeY3pl7TyyUqwg.$07Gy5f6IeSYTOjnQ.MbLw13Oowwfd44CKsuDAFR86L1"

static void
test_new_hashes_are_salted_yescrypt(void **state)
{
	char *a = NULL, *b = NULL;
	assert_int_equal(password_hash(PW, &a), 0);
	assert_int_equal(password_hash(PW, &b), 0);
	assert_true(strncmp(a, "$y$", 3) == 0);
	assert_string_not_equal(a, b);
	assert_int_equal(password_verify(PW, a), 0);
	assert_int_equal(password_verify(PW, b), 0);
	assert_int_equal(password_verify("correct horsE", a), -EACCES);
	assert_int_equal(password_verify("", a), -EACCES);
	assert_int_equal(password_hash(NULL, &a), -EINVAL);
	free(a);
	free(b);
}

static void
test_known_hashes_from_other_tools_verify(void **state)
{
	assert_int_equal(password_verify(PW, YESCRYPT_HASH), 0);
	assert_int_equal(password_verify(PW, SHA512_HASH), 0);
	assert_int_equal(password_verify(PW, SHA256_HASH), 0);
	assert_int_equal(password_verify("wrong", YESCRYPT_HASH), -EACCES);
	assert_int_equal(password_verify("wrong", SHA512_HASH), -EACCES);
}

static void
test_locked_empty_or_broken_hashes_never_match(void **state)
{
	assert_int_equal(password_verify(PW, ""), -EACCES);
	assert_int_equal(password_verify("", ""), -EACCES);
	assert_int_equal(password_verify(PW, NULL), -EACCES);
	assert_int_equal(password_verify(NULL, YESCRYPT_HASH), -EACCES);
	assert_int_equal(password_verify(PW, "!" YESCRYPT_HASH), -EACCES);
	assert_int_equal(password_verify(PW, "*"), -EACCES);
	assert_int_equal(password_verify(PW, "$y$garbage"), -EACCES);
	assert_int_equal(password_verify(PW, "$6$Zm9vYmFyYmF6$"), -EACCES);
	/* a truncated hash must not verify against its own prefix */
	assert_int_equal(password_verify(PW, "$y$j9T$ZxNrfFyBeY3pl7TyyUqwg.$07Gy5f6IeSYTOjnQ"),
	                 -EACCES);
}

static void
test_shadowcfg_lookup_follows_pve_line_format(void **state)
{
	const char *text = "joe@pve:" YESCRYPT_HASH ":\n"
	                   "  ann@pve:$5$x$y:  \n"
	                   "bad line:$5$x$y:\n"
	                   "nohash@pve::\n"
	                   "noend@pve:$5$x$y\n"
	                   ":$5$x$y:\n"
	                   "twice@pve:first:\ntwice@pve:second:\n";
	char *h = NULL;
	assert_int_equal(shadowcfg_lookup(text, "joe@pve", &h), 0);
	assert_string_equal(h, YESCRYPT_HASH);
	free(h);
	assert_int_equal(shadowcfg_lookup(text, "ann@pve", &h), 0);
	assert_string_equal(h, "$5$x$y");
	free(h);
	assert_int_equal(shadowcfg_lookup(text, "twice@pve", &h), 0);
	assert_string_equal(h, "second");
	free(h);
	h = NULL;
	assert_int_equal(shadowcfg_lookup(text, "nohash@pve", &h), -ENOENT);
	assert_int_equal(shadowcfg_lookup(text, "noend@pve", &h), -ENOENT);
	assert_int_equal(shadowcfg_lookup(text, "nobody@pve", &h), -ENOENT);
	assert_int_equal(shadowcfg_lookup(NULL, "joe@pve", &h), -ENOENT);
	assert_null(h);
}

static void
test_shadowcfg_update_sets_removes_and_sorts(void **state)
{
	char *a = shadowcfg_update("zed@pve:h1:\nbroken\nann@pve:h2:\n", "joe@pve", "h3");
	assert_string_equal(a, "ann@pve:h2:\njoe@pve:h3:\nzed@pve:h1:\n");
	char *b = shadowcfg_update(a, "joe@pve", "h4");
	assert_string_equal(b, "ann@pve:h2:\njoe@pve:h4:\nzed@pve:h1:\n");
	char *c = shadowcfg_update(b, "ann@pve", NULL);
	assert_string_equal(c, "joe@pve:h4:\nzed@pve:h1:\n");
	assert_null(shadowcfg_update(c, "joe@pve", "h:5"));
	assert_null(shadowcfg_update(c, "joe@pve", "h\n5"));
	assert_null(shadowcfg_update(c, "joe@pve", ""));
	assert_null(shadowcfg_update(c, "not a user", "h"));
	free(a);
	free(b);
	free(c);
}

static void
test_pam_refuses_unknown_user_with_a_clear_error(void **state)
{
	struct error err = { 0 };
	int r = pam_login("login", "berth-no-such-user-4711", "secret", &err);
	assert_int_equal(r, -EACCES);
	assert_int_equal(err.code, EACCES);
	assert_int_equal(err.status, 401);
	assert_non_null(strstr(err.msg, "berth-no-such-user-4711"));
	error_clear(&err);
	assert_int_equal(pam_login("login", "", "x", &err), -EINVAL);
	assert_int_equal(pam_login("login", "a\nb", "x", &err), -EINVAL);
	assert_int_equal(pam_login(NULL, "root", "x", &err), -EINVAL);
	assert_int_equal(pam_login("login", "root", NULL, &err), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_hashes_are_salted_yescrypt),
		cmocka_unit_test(test_known_hashes_from_other_tools_verify),
		cmocka_unit_test(test_locked_empty_or_broken_hashes_never_match),
		cmocka_unit_test(test_shadowcfg_lookup_follows_pve_line_format),
		cmocka_unit_test(test_shadowcfg_update_sets_removes_and_sorts),
		cmocka_unit_test(test_pam_refuses_unknown_user_with_a_clear_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
