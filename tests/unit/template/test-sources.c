/* Unit tests: the Debian mirror is found in apt's sources as apt reads them, in the one-line
 * format and in deb822, with disabled entries, options and other repositories ignored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "basic/fileio.h"
#include "basic/strbuf.h"
#include "template/template.h"

#include <stdio.h>
#include <stdlib.h>

static void
test_one_line_format_with_options_comments_and_src_entries(void **state)
{
	(void)state;
	struct apt_mirrors m = { 0 };
	apt_mirrors_scan("# deb http://commented.example/debian bookworm main\n"
	                 "deb-src http://src.example/debian bookworm main\n"
	                 "deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] "
	                 "https://deb.nodesource.com/node_20.x nodistro main\n"
	                 "deb [ arch=amd64 ] http://mirror.example/debian/ bookworm main contrib\n"
	                 "deb http://other.example/debian bookworm main\n"
	                 "deb http://security.example/debian-security bookworm-security main\n",
	                 false, "bookworm", &m);
	assert_string_equal(m.debian, "http://mirror.example/debian");
	assert_string_equal(m.security, "http://security.example/debian-security");
	apt_mirrors_done(&m);
	assert_null(m.debian);
}

static void
test_deb822_stanzas_with_several_uris_and_disabled_entries(void **state)
{
	(void)state;
	struct apt_mirrors m = { 0 };
	apt_mirrors_scan("Types: deb\n"
	                 "URIs: http://disabled.example/debian\n"
	                 "Suites: bookworm\n"
	                 "Components: main\n"
	                 "Enabled: no\n"
	                 "\n"
	                 "Types: deb-src\n"
	                 "URIs: http://src.example/debian\n"
	                 "Suites: bookworm\n"
	                 "\n"
	                 "Types: deb deb-src\n"
	                 "# http://snapshot.debian.org/archive/debian/20250520T000000Z\n"
	                 "URIs: cdrom:[Debian]/ http://deb.debian.org/debian\n"
	                 "Suites: bookworm\n"
	                 "  bookworm-updates\n"
	                 "Components: main\n"
	                 "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
	                 "\n"
	                 "\n"
	                 "Types: deb\r\n"
	                 "URIs: http://deb.debian.org/debian-security\r\n"
	                 "Suites: bookworm-security\r\n",
	                 true, "bookworm", &m);
	assert_string_equal(m.debian, "http://deb.debian.org/debian");
	assert_string_equal(m.security, "http://deb.debian.org/debian-security");
	apt_mirrors_done(&m);
}

static void
test_the_first_match_wins_and_other_suites_do_not_match(void **state)
{
	(void)state;
	struct apt_mirrors m = { 0 };
	apt_mirrors_scan("deb http://trixie.example/debian trixie main\n", false, "bookworm", &m);
	assert_null(m.debian);
	apt_mirrors_scan("Types: deb\nURIs: file:///srv/mirror\nSuites: bookworm\n", true,
	                 "bookworm", &m);
	apt_mirrors_scan("deb http://later.example/debian bookworm main\n", false, "bookworm", &m);
	assert_string_equal(m.debian, "file:///srv/mirror");
	assert_null(m.security);
	apt_mirrors_done(&m);
}

static void
write_text(const char *path, const char *text)
{
	assert_int_equal(write_file_atomic(path, text, strlen(text), 0644), 0);
}

static void
test_find_reads_sources_list_then_parts_in_order_and_falls_back(void **state)
{
	(void)state;
	char root[] = "/tmp/berth-test-sources-XXXXXX";
	assert_non_null(mkdtemp(root));
	struct apt_mirrors m = { 0 };
	apt_mirrors_find(root, "bookworm", &m);
	assert_string_equal(m.debian, "http://deb.debian.org/debian");
	apt_mirrors_done(&m);

	_cleanup_free_ char *dir = xasprintf("%s/etc/apt/sources.list.d", root);
	assert_int_equal(mkdir_p(dir, 0755), 0);
	_cleanup_free_ char *b = xasprintf("%s/b.sources", dir);
	_cleanup_free_ char *a = xasprintf("%s/a.list", dir);
	_cleanup_free_ char *off = xasprintf("%s/c.list.disabled", dir);
	write_text(b, "Types: deb\nURIs: http://b.example/debian\nSuites: bookworm\n");
	write_text(a, "deb http://a.example/debian-security bookworm-security main\n");
	write_text(off, "deb http://off.example/debian bookworm main\n");
	apt_mirrors_find(root, "bookworm", &m);
	assert_string_equal(m.debian, "http://b.example/debian");
	assert_string_equal(m.security, "http://a.example/debian-security");
	apt_mirrors_done(&m);

	_cleanup_free_ char *list = xasprintf("%s/etc/apt/sources.list", root);
	write_text(list, "deb http://main.example/debian bookworm main\n");
	apt_mirrors_find(root, "bookworm", &m);
	assert_string_equal(m.debian, "http://main.example/debian");
	apt_mirrors_done(&m);

	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_line_format_with_options_comments_and_src_entries),
		cmocka_unit_test(test_deb822_stanzas_with_several_uris_and_disabled_entries),
		cmocka_unit_test(test_the_first_match_wins_and_other_suites_do_not_match),
		cmocka_unit_test(test_find_reads_sources_list_then_parts_in_order_and_falls_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
