/* berth admin create USERID: the one-time way to get an administrator when root@pam cannot
 * log in (no usable root password). Creates a pve-realm user with the password you type and
 * gives it the Administrator role on /. */
#include "cli/cli.h"

#include <stdio.h>
#include <termios.h>

static char *
read_line(FILE *in)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, in);
	if (n < 0) {
		free(line);
		return NULL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

static char *
prompt_secret(const char *prompt)
{
	struct termios old, quiet;
	bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
	if (tty) {
		fprintf(stderr, "%s", prompt);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
	}
	char *s = read_line(stdin);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSANOW, &old);
		fprintf(stderr, "\n");
	}
	return s;
}

static int
call_ok(struct cli *c, const char *method, const char *path, json_t *params)
{
	struct cli_response r;
	if (cli_call_ok(c, method, path, params, &r) < 0)
		return -1;
	cli_response_done(&r);
	return 0;
}

int
cmd_admin(struct cli *c, int argc, char **argv)
{
	bool help = (argc >= 1 && (streq(argv[0], "--help") || streq(argv[0], "help"))) ||
	            (argc >= 2 && streq(argv[1], "--help"));
	if (help || argc < 2 || !streq(argv[0], "create")) {
		fprintf(help ? stdout : stderr,
		        "Usage: berth admin create USERID\n"
		        "  Create a Berth administrator (a pve-realm user, e.g. admin@pve) with "
		        "the\n"
		        "  Administrator role on '/'. The password is read from the terminal "
		        "(twice),\n"
		        "  or as one line from standard input when it is not a terminal.\n");
		return help ? 0 : 2;
	}
	const char *userid = argv[1];
	const char *at = strrchr(userid, '@');
	if (!at || !streq(at + 1, "pve")) {
		fprintf(stderr, "berth: the administrator must be in the pve realm (for example "
		                "admin@pve): Berth keeps its password\n");
		return 2;
	}
	_cleanup_free_ char *pw = prompt_secret("Password: ");
	if (!pw || strlen(pw) < 8) {
		fprintf(stderr, "berth: the password needs at least 8 characters\n");
		return 2;
	}
	if (isatty(STDIN_FILENO)) {
		_cleanup_free_ char *again = prompt_secret("Password again: ");
		if (!again || !streq(pw, again)) {
			fprintf(stderr, "berth: the passwords differ\n");
			return 2;
		}
	}
	if (call_ok(c, "POST", "/access/users",
	            json_pack("{s:s, s:s, s:s}", "userid", userid, "password", pw, "comment",
	                      "administrator created with 'berth admin create'")) < 0)
		return 1;
	explicit_bzero(pw, strlen(pw));
	if (call_ok(c, "PUT", "/access/acl",
	            json_pack("{s:s, s:s, s:s}", "path", "/", "roles", "Administrator", "users",
	                      userid)) < 0)
		return 1;
	printf("Created %s with the Administrator role on '/'. Log in with realm 'Berth "
	       "authentication server' (pve).\n",
	       userid);
	return 0;
}
