/* Mount points from the host's side: the order they mount in, which one a nested mount point
 * lives in, and making targets / opening bind sources without ever following a symlink. */
#include "ct-test.h"

#include "guest/guestconf.h"
#include "guest/lxc/ctconf.h"
#include "guest/lxc/rootfs.h"

static struct ct_config *
config_with(const char *const *mps)
{
	struct guestconf *gc = guestconf_new(GUESTCONF_LXC);
	guestconf_set(&gc->main, "rootfs", "local:101/vm-101-disk-0.raw,size=1G");
	for (size_t i = 0; mps[i]; i++) {
		_cleanup_free_ char *key = xasprintf("mp%zu", i);
		guestconf_set(&gc->main, key, mps[i]);
	}
	struct ct_config *cc = NULL;
	struct error err = { 0 };
	if (ct_config_from_section(&gc->main, 101, &cc, &err) < 0)
		fail_msg("%s", err.msg);
	guestconf_free(gc);
	return cc;
}

static void
test_mount_order_is_by_path_and_parents_are_component_wise(void **state)
{
	(void)state;
	static const char *const mps[] = {
		"local:0.1,mp=/a/b/c", "local:0.1,mp=/ab", "local:0.1,mp=/a", "/srv,mp=/a/b", NULL,
	};
	struct ct_config *cc = config_with(mps);
	_cleanup_free_ size_t *order = ct_mount_order(cc);
	const char *want[] = { "/a", "/a/b", "/a/b/c", "/ab" };
	for (size_t k = 0; k < 4; k++)
		assert_string_equal(cc->mps[order[k]].mp, want[k]);
	/* mp0 /a/b/c lives in mp3 /a/b, which lives in mp2 /a; /ab is not below /a */
	assert_int_equal(ct_mount_parent(cc, 0), 3);
	assert_int_equal(ct_mount_parent(cc, 3), 2);
	assert_int_equal(ct_mount_parent(cc, 2), -1);
	assert_int_equal(ct_mount_parent(cc, 1), -1);
	ct_config_free(cc);
}

static void
test_no_mount_points_no_order(void **state)
{
	(void)state;
	static const char *const none[] = { NULL };
	struct ct_config *cc = config_with(none);
	assert_null(ct_mount_order(cc));
	ct_config_free(cc);
}

static void
test_mkdir_creates_missing_components_owned_by_the_mapped_root(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip(); /* chown to 100000 needs root */
	_cleanup_free_ char *root = tmpdir_make();
	put_dir(root, "srv");
	int rootfd = open(root, O_PATH | O_DIRECTORY);
	struct ct_idmap map = { 100000, 100000, 65536 };
	struct error err = { 0 };
	int fd = ct_mkdir_nofollow(rootfd, "/srv/data/deep", &map, &err);
	assert_true(fd >= 0);
	close(fd);
	_cleanup_free_ char *deep = path_join(root, "srv/data/deep");
	struct stat st;
	assert_int_equal(stat(deep, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_uid, 100000);
	assert_int_equal(st.st_mode & 07777, 0755);
	/* an existing component keeps its owner */
	_cleanup_free_ char *srv = path_join(root, "srv");
	assert_int_equal(stat(srv, &st), 0);
	assert_int_equal(st.st_uid, 0);
	/* again: nothing to do */
	fd = ct_mkdir_nofollow(rootfd, "srv/data/deep/", &map, &err);
	assert_true(fd >= 0);
	close(fd);
	close(rootfd);
	rm_rf(root);
}

static void
test_mkdir_refuses_symlinks_anywhere_and_creates_nothing_behind_them(void **state)
{
	(void)state;
	_cleanup_free_ char *root = tmpdir_make();
	_cleanup_free_ char *outside = tmpdir_make();
	_cleanup_free_ char *link = path_join(root, "evil");
	assert_int_equal(symlink(outside, link), 0);
	_cleanup_free_ char *rel = path_join(root, "rel");
	assert_int_equal(symlink("../../../../../../tmp", rel), 0);
	int rootfd = open(root, O_PATH | O_DIRECTORY);
	struct ct_idmap map = { 0 };
	const char *paths[] = { "evil", "/evil/sub", "evil/sub/deeper", "rel/x" };
	for (size_t i = 0; i < 4; i++) {
		struct error err = { 0 };
		assert_int_equal(ct_mkdir_nofollow(rootfd, paths[i], &map, &err), -ELOOP);
		assert_non_null(strstr(err.msg, "symlink encountered at"));
	}
	_cleanup_free_ char *sub = path_join(outside, "sub");
	assert_int_equal(access(sub, F_OK), -1);
	/* a file in the way, and dot-dot */
	put_file(root, "file", "x", 0644);
	struct error err = { 0 };
	assert_int_equal(ct_mkdir_nofollow(rootfd, "file/sub", &map, &err), -ENOTDIR);
	assert_int_equal(ct_mkdir_nofollow(rootfd, "a/../../b", &map, &err), -EINVAL);
	close(rootfd);
	rm_rf(root);
	rm_rf(outside);
}

static void
test_open_nofollow_refuses_a_bind_source_through_a_symlink(void **state)
{
	(void)state;
	_cleanup_free_ char *dir = tmpdir_make();
	put_dir(dir, "real/sub");
	_cleanup_free_ char *link = path_join(dir, "link");
	assert_int_equal(symlink("real", link), 0);
	struct error err = { 0 };
	_cleanup_free_ char *real = path_join(dir, "real/sub");
	int fd = ct_open_nofollow(real, &err);
	assert_true(fd >= 0);
	close(fd);
	_cleanup_free_ char *via = path_join(dir, "link/sub");
	assert_int_equal(ct_open_nofollow(via, &err), -ELOOP);
	assert_int_equal(ct_open_nofollow(link, &err), -ELOOP);
	_cleanup_free_ char *missing = path_join(dir, "nope");
	assert_int_equal(ct_open_nofollow(missing, &err), -ENOENT);
	assert_int_equal(ct_open_nofollow("relative/path", &err), -EINVAL);
	rm_rf(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mount_order_is_by_path_and_parents_are_component_wise),
		cmocka_unit_test(test_no_mount_points_no_order),
		cmocka_unit_test(test_mkdir_creates_missing_components_owned_by_the_mapped_root),
		cmocka_unit_test(
		        test_mkdir_refuses_symlinks_anywhere_and_creates_nothing_behind_them),
		cmocka_unit_test(test_open_nofollow_refuses_a_bind_source_through_a_symlink),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
