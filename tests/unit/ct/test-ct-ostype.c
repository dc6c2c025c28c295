/* Unit tests: the OS type of a rootfs, from os-release (quoted or not, aliases), from the
 * release files without one, and "unmanaged" for busybox; links are read inside the root. */
#include "ct-test.h"

#include "guest/lxc/rootfs.h"

struct fixture {
	char *root;
	char *outside;
};

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	f->root = tmpdir_make();
	f->outside = tmpdir_make();
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	rm_rf(f->root);
	rm_rf(f->outside);
	free(f->root);
	free(f->outside);
	free(f);
	return 0;
}

static const char *
detect(struct fixture *f)
{
	const char *os = NULL;
	struct error err = { 0 };
	assert_int_equal(ct_detect_ostype(f->root, &os, &err), 0);
	assert_non_null(os);
	return os;
}

static void
test_os_release_id_names_the_ostype(void **state)
{
	struct fixture *f = *state;
	static const char *const cases[][2] = {
		{ "ID=debian\n", "debian" },
		{ "NAME=\"Ubuntu\"\nID=ubuntu\nID_LIKE=debian\n", "ubuntu" },
		{ "ID=\"alpine\"\n", "alpine" },
		{ "ID='fedora'\n", "fedora" },
		{ "ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n", "centos" },
		{ "ID=almalinux\n", "centos" },
		{ "ID=arch\n", "archlinux" },
		{ "ID=\"opensuse-leap\"\n", "opensuse" },
		{ "ID=devuan\n", "devuan" },
		{ "  ID=gentoo\n", "gentoo" },
		{ "ID=nixos\n", "nixos" },
		{ "# ID=debian\nID=busybox\n", "unmanaged" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		put_file(f->root, "etc/os-release", cases[i][0], 0644);
		assert_string_equal(detect(f), cases[i][1]);
	}
}

static void
test_os_release_link_into_usr_lib_is_followed_inside_the_root(void **state)
{
	struct fixture *f = *state;
	put_file(f->root, "usr/lib/os-release", "ID=alpine\n", 0644);
	put_dir(f->root, "etc");
	put_link(f->root, "etc/os-release", "../usr/lib/os-release");
	assert_string_equal(detect(f), "alpine");
	/* and an absolute link means the root's /usr/lib, not the host's (Debian) */
	char *p = path_join(f->root, "etc/os-release");
	unlink(p);
	free(p);
	put_link(f->root, "etc/os-release", "/usr/lib/os-release");
	assert_string_equal(detect(f), "alpine");
}

static void
test_os_release_link_out_of_the_root_is_not_read(void **state)
{
	struct fixture *f = *state;
	put_file(f->outside, "os-release", "ID=alpine\n", 0644);
	put_dir(f->root, "etc");
	char *target = path_join(f->outside, "os-release");
	put_link(f->root, "etc/os-release", target);
	assert_string_equal(detect(f), "unmanaged");
	char *rel = xasprintf("../../../../../../../..%s", target);
	char *p = path_join(f->root, "etc/os-release");
	unlink(p);
	put_link(f->root, "etc/os-release", rel);
	assert_string_equal(detect(f), "unmanaged");
	free(p);
	free(rel);
	free(target);
}

static void
test_usr_lib_os_release_is_used_without_etc(void **state)
{
	struct fixture *f = *state;
	put_file(f->root, "usr/lib/os-release", "ID=alpine\n", 0644);
	assert_string_equal(detect(f), "alpine");
}

static void
test_release_files_decide_without_os_release(void **state)
{
	struct fixture *f = *state;
	put_file(f->root, "etc/alpine-release", "3.19.1\n", 0644);
	assert_string_equal(detect(f), "alpine");
	put_file(f->root, "etc/debian_version", "12.5\n", 0644);
	assert_string_equal(detect(f), "debian"); /* checked before alpine, as PVE does */
	put_file(f->root, "etc/lsb-release", "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=22.04\n", 0644);
	assert_string_equal(detect(f), "ubuntu");
}

static void
test_release_marker_that_is_a_directory_does_not_count(void **state)
{
	struct fixture *f = *state;
	put_dir(f->root, "etc/debian_version");
	assert_string_equal(detect(f), "unmanaged");
}

static void
test_busybox_and_empty_roots_are_unmanaged(void **state)
{
	struct fixture *f = *state;
	assert_string_equal(detect(f), "unmanaged");
	put_file(f->root, "etc/os-release",
	         "NAME=\"BusyBox\"\nID=busybox\nVERSION_ID=1.35.0\n"
	         "PRETTY_NAME=\"BusyBox 1.35.0 (Berth template)\"\n",
	         0644);
	assert_string_equal(detect(f), "unmanaged");
}

static void
test_missing_root_is_an_error(void **state)
{
	const char *os = NULL;
	struct error err = { 0 };
	assert_int_equal(ct_detect_ostype("/nonexistent/ct-root", &os, &err), -ENOENT);
	assert_null(os);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_os_release_id_names_the_ostype, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(
		        test_os_release_link_into_usr_lib_is_followed_inside_the_root, setup,
		        teardown),
		cmocka_unit_test_setup_teardown(test_os_release_link_out_of_the_root_is_not_read,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_usr_lib_os_release_is_used_without_etc, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_release_files_decide_without_os_release, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(
		        test_release_marker_that_is_a_directory_does_not_count, setup, teardown),
		cmocka_unit_test_setup_teardown(test_busybox_and_empty_roots_are_unmanaged, setup,
		                                teardown),
		cmocka_unit_test(test_missing_root_is_an_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
