/* ssh_public_keys_valid against keys made by ssh-keygen, and lines it must refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "basic/macros.h"
#include "basic/sshkey.h"

#include <stdio.h>

#define ED25519 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOhu8KhfnR5DvIuyNojOWzUhUkaAPKscrf11skZZlPhB"
#define ECDSA                                                                                      \
	"ecdsa-sha2-nistp256 "                                                                     \
	"AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBBfYF4w5QIQChF0pnRxVVZs8NuP2VTnaouko" \
	"P2dAHMIh8pspEGRvbjU/rToOjKGO3hIaJWcZ1e0hLsaIaEivwo4="
#define RSA                                                                                        \
	"ssh-rsa "                                                                                 \
	"AAAAB3NzaC1yc2EAAAADAQABAAAAgQDXbqAwJSUz0fUtIyrBc3beOyvzW33Zc+5hjnr+"                     \
	"fzNjPlexpEdTJN13r4srfug77Ym8XBfp//IKtEElIgtwJBYRBsE4QXgaZNnaMAYyOh1sab0Cg+t3dvDQ4/"       \
	"7F2LV4HJARzNsFE6chVoM05p87pU59MjssZb0YIOtmlb7xLDi+MQ=="

static void
test_keys_from_ssh_keygen_pass(void **state)
{
	static const char *const good[] = {
		ED25519,
		ED25519 " alice@host",
		ECDSA "\n" RSA " bob rsa\n",
		"\n  \n" ED25519 "\r\n",
		"no-pty,command=\"echo a b\" " RSA " with options",
		"",
	};
	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		if (!ssh_public_keys_valid(good[i]))
			fail_msg("refused: %s", good[i]);
}

static void
test_broken_keys_are_refused(void **state)
{
	static const char *const bad[] = {
		"ssh-ed25519",      /* no blob */
		"ssh-ed25519 AAAA", /* too short */
		"ssh-rsa "
		"AAAAC3NzaC1lZDI1NTE5AAAAIOhu8KhfnR5DvIuyNojOWzUhUkaAPKscrf11skZZlPhB", /* type
		                                                                           mismatch
		                                                                         */
		"ssh-foo AAAAB3NzaC1yc2E=", /* unknown type */
		"opt1 opt2 " ED25519,       /* options hold no blanks unless quoted */
		ED25519 "\nnot a key",      /* one bad line spoils all */
		"ssh-ed25519 !!!notbase64!!!",
		"-----BEGIN OPENSSH PRIVATE KEY-----",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (ssh_public_keys_valid(bad[i]))
			fail_msg("accepted: %s", bad[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_from_ssh_keygen_pass),
		cmocka_unit_test(test_broken_keys_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
