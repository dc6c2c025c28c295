/* Unit tests: filling a rootfs from a template archive. Owners land in the CT's id range,
 * /dev entries are skipped, and hostile archives (.., absolute names, symlink then file
 * through it, hard links out, device nodes, links planted in the target) write nothing
 * outside the target. Needs root (user namespaces, chown); skipped otherwise. */
#include "ct-test.h"

#include "guest/lxc/rootfs.h"

#include <sys/syscall.h>

static const struct ct_idmap unpriv = { 100000, 100000, 65536 };
static const struct ct_idmap priv = { 0, 0, 0 };

struct fixture {
	char *tmp;      /* scratch: archives and the target */
	char *dest;     /* tmp/root */
	char *sentinel; /* a directory outside tmp that must not change */
	char *sentinel_before;
	struct strbuf log;
};

static int
setup(void **state)
{
	if (!is_root())
		return 0;
	struct fixture *f = xcalloc(1, sizeof(*f));
	f->tmp = tmpdir_make();
	f->dest = path_join(f->tmp, "root");
	assert_int_equal(mkdir(f->dest, 0755), 0);
	f->sentinel = sentinel_make();
	f->sentinel_before = tree_snapshot(f->sentinel);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	if (!f)
		return 0;
	/* every test ends with the sentinel as it was (compared once the scratch is gone) */
	char *after = tree_snapshot(f->sentinel);
	rm_rf(f->tmp);
	rm_rf(f->sentinel);
	assert_string_equal(after, f->sentinel_before);
	free(after);
	free(f->tmp);
	free(f->dest);
	free(f->sentinel);
	free(f->sentinel_before);
	sb_free(&f->log);
	free(f);
	return 0;
}

#define SKIP_UNLESS_ROOT()                                                                         \
	do {                                                                                       \
		if (!is_root())                                                                    \
			skip();                                                                    \
	} while (0)

static void
collect_log(const char *line, void *userdata)
{
	struct strbuf *sb = userdata;
	sb_printf(sb, "%s\n", line);
}

static char *
archive_of(struct fixture *f, const char *name, const struct tar_entry *e, size_t n)
{
	char *path = path_join(f->tmp, name);
	tar_write(path, e, n);
	return path;
}

/* Compress tmp/<base>.tar with prog into tmp/<base>.tar<ext>. */
static char *
compressed(struct fixture *f, const char *tar, const char *prog, const char *ext)
{
	char *out = xasprintf("%s%s", tar, ext);
	char *cmd = xasprintf("%s -c < '%s' > '%s'", prog, tar, out);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	return out;
}

static const struct tar_entry plain_tree[] = {
	{ "./", '5', 0755, 0, 0 },
	{ "./etc/", '5', 0755, 0, 0 },
	{ "./etc/hostname", '0', 0644, 0, 0, "template\n" },
	{ "./etc/shadow", '0', 0640, 0, 42, "root:*:1::::::\n" },
	{ "./home/", '5', 0755, 0, 0 },
	{ "./home/user/", '5', 0700, 1000, 1000 },
	{ "./home/user/notes", '0', 0600, 1000, 1000, "mine\n" },
	{ "./bin/", '5', 0755, 0, 0 },
	{ "./bin/busybox", '0', 04755, 0, 0, "#!binary\n" },
	{ "./bin/sh", '2', 0777, 0, 0, NULL, "busybox" },
	{ "./bin/ash", '1', 0755, 0, 0, NULL, "./bin/busybox" },
};

static void
check_owner(struct fixture *f, const char *rel, unsigned uid, unsigned gid, unsigned mode)
{
	struct stat st = lstat_of(f->dest, rel);
	assert_int_equal(st.st_uid, uid);
	assert_int_equal(st.st_gid, gid);
	if (mode)
		assert_int_equal(st.st_mode & 07777, mode);
}

static void
test_unprivileged_extraction_maps_owners_into_the_ct_range(void **state)
{
	SKIP_UNLESS_ROOT();
	struct fixture *f = *state;
	static const char *const kinds[][2] = {
		{ NULL, NULL }, { "gzip", ".gz" }, { "xz", ".xz" }, { "zstd -q", ".zst" }
	};
	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
		char *tar = archive_of(f, "t.tar", plain_tree, ARRAY_SIZE(plain_tree));
		char *archive = kinds[k][0] ? compressed(f, tar, kinds[k][0], kinds[k][1]) : tar;
		struct error err = { 0 };
		sb_reset(&f->log);
		int r = ct_extract_template(archive, f->dest, &unpriv, collect_log, &f->log, &err);
		if (r < 0)
			fail_msg("%s: %s", archive, err.msg);
		check_owner(f, ".", 100000, 100000, 0755);
		check_owner(f, "etc/hostname", 100000, 100000, 0644);
		check_owner(f, "etc/shadow", 100000, 100042, 0640);
		check_owner(f, "home/user", 101000, 101000, 0700);
		check_owner(f, "home/user/notes", 101000, 101000, 0600);
		/* set-id bits stay: they name ids of the CT, not of the host */
		check_owner(f, "bin/busybox", 100000, 100000, 04755);
		assert_true(S_ISLNK(lstat_of(f->dest, "bin/sh").st_mode));
		check_owner(f, "bin/sh", 100000, 100000, 0);
		assert_int_equal(lstat_of(f->dest, "bin/ash").st_ino,
		                 lstat_of(f->dest, "bin/busybox").st_ino);
		assert_file_eq(f->dest, "home/user/notes", "mine\n");
		assert_non_null(strstr(sb_str(&f->log), "Total bytes read"));
		rm_rf(f->dest);
		assert_int_equal(mkdir(f->dest, 0700), 0);
		if (archive != tar)
			free(archive);
		free(tar);
	}
}

static void
test_privileged_extraction_keeps_the_archive_owners(void **state)
{
	SKIP_UNLESS_ROOT();
	struct fixture *f = *state;
	char *tar = archive_of(f, "t.tar", plain_tree, ARRAY_SIZE(plain_tree));
	char *archive = compressed(f, tar, "zstd -q", ".zst");
	struct error err = { 0 };
	int r = ct_extract_template(archive, f->dest, &priv, NULL, NULL, &err);
	if (r < 0)
		fail_msg("%s", err.msg);
	check_owner(f, "etc/shadow", 0, 42, 0640);
	check_owner(f, "home/user/notes", 1000, 1000, 0600);
	free(archive);
	free(tar);
}

static void
test_dev_entries_are_skipped_in_every_spelling(void **state)
{
	SKIP_UNLESS_ROOT();
	struct fixture *f = *state;
	static const struct tar_entry e[] = {
		{ "./", '5', 0755, 0, 0 },
		{ "./dev/", '5', 0755, 0, 0 },
		{ "./dev/null", '3', 0666, 0, 0, NULL, NULL, 1, 3 },
		{ "./dev/pts/", '5', 0755, 0, 0 },
		{ "./dev/pts/ptmx", '3', 0666, 0, 0, NULL, NULL, 5, 2 },
		{ "dev/console", '3', 0600, 0, 0, NULL, NULL, 5, 1 },
		{ "/dev/tty", '3', 0666, 0, 0, NULL, NULL, 5, 0 },
		{ "./etc/", '5', 0755, 0, 0 },
	};
	char *archive = archive_of(f, "dev.tar", e, ARRAY_SIZE(e));
	struct error err = { 0 };
	/* unprivileged: any device node that was not skipped would fail the extraction */
	int r = ct_extract_template(archive, f->dest, &unpriv, NULL, NULL, &err);
	if (r < 0)
		fail_msg("%s", err.msg);
	assert_true(S_ISDIR(lstat_of(f->dest, "dev").st_mode));
	assert_false(exists(f->dest, "dev/null"));
	assert_false(exists(f->dest, "dev/pts"));
	assert_false(exists(f->dest, "dev/console"));
	assert_false(exists(f->dest, "dev/tty"));
	assert_true(exists(f->dest, "etc"));
	free(archive);
}

/* The classic escapes, each pointing at the sentinel or next to the target. */
static void
hostile_extraction(struct fixture *f, const struct ct_idmap *map)
{
	char *abs_name = xasprintf("%s/abs", f->sentinel);
	char *rel_target = xasprintf("../../../../../../..%s", f->sentinel);
	struct stat shadow_before;
	assert_int_equal(stat("/etc/shadow", &shadow_before), 0);
	const struct tar_entry e[] = {
		{ "./", '5', 0755, 0, 0 },
		{ "../escape", '0', 0644, 0, 0, "out\n" },
		{ "./../escape2", '0', 0644, 0, 0, "out\n" },
		{ abs_name, '0', 0644, 0, 0, "out\n" },
		{ "evil", '2', 0777, 0, 0, NULL, f->sentinel },
		{ "evil/file", '0', 0644, 0, 0, "out\n" },
		{ "rel", '2', 0777, 0, 0, NULL, rel_target },
		{ "rel/file", '0', 0644, 0, 0, "out\n" },
		{ "hl", '1', 0644, 0, 0, NULL, "/etc/shadow" },
		{ "hl2", '1', 0644, 0, 0, NULL, "../../../../../../../etc/shadow" },
		{ "ok", '0', 0644, 0, 0, "fine\n" },
	};
	char *archive = archive_of(f, "evil.tar", e, ARRAY_SIZE(e));
	struct error err = { 0 };
	int r = ct_extract_template(archive, f->dest, map, NULL, NULL, &err);
	/* tar goes on past bad members and fails at the end: the caller drops the volume */
	assert_int_equal(r, -EIO);
	assert_true(startswith(err.msg, "extracting archive failed: tar: "));
	assert_false(exists(f->tmp, "escape"));
	assert_false(exists(f->tmp, "escape2"));
	assert_false(exists("/tmp", "escape"));
	/* the absolute member lands inside, below its own path */
	assert_true(exists(f->dest, abs_name + 1));
	assert_file_eq(f->dest, "ok", "fine\n");
	/* the links were made last (tar's delayed links): nothing was written through them */
	assert_true(S_ISLNK(lstat_of(f->dest, "evil").st_mode));
	struct stat shadow_after;
	assert_int_equal(stat("/etc/shadow", &shadow_after), 0);
	assert_int_equal(shadow_after.st_nlink, shadow_before.st_nlink);
	assert_int_equal(shadow_after.st_uid, shadow_before.st_uid);
	free(archive);
	free(abs_name);
	free(rel_target);
}

static void
test_hostile_archive_stays_inside_unprivileged(void **state)
{
	SKIP_UNLESS_ROOT();
	hostile_extraction(*state, &unpriv);
}

static void
test_hostile_archive_stays_inside_privileged(void **state)
{
	SKIP_UNLESS_ROOT();
	hostile_extraction(*state, &priv);
}

static void
test_unprivileged_extraction_creates_no_device_nodes(void **state)
{
	SKIP_UNLESS_ROOT();
	struct fixture *f = *state;
	static const struct tar_entry e[] = {
		{ "./", '5', 0755, 0, 0 },
		{ "./mem", '3', 0666, 0, 0, NULL, NULL, 1, 1 },
		{ "./sda", '4', 0666, 0, 0, NULL, NULL, 8, 0 },
	};
	char *archive = archive_of(f, "nodes.tar", e, ARRAY_SIZE(e));
	struct error err = { 0 };
	assert_int_equal(ct_extract_template(archive, f->dest, &unpriv, NULL, NULL, &err), -EIO);
	assert_non_null(strstr(err.msg, "mknod"));
	assert_false(exists(f->dest, "mem"));
	assert_false(exists(f->dest, "sda"));
	free(archive);
}

static void
test_ids_beyond_the_map_fail_the_extraction(void **state)
{
	SKIP_UNLESS_ROOT();
	struct fixture *f = *state;
	static const struct tar_entry e[] = {
		{ "./", '5', 0755, 0, 0 },
		{ "./far", '0', 0644, 70000, 0, "x\n" },
	};
	char *archive = archive_of(f, "far.tar", e, ARRAY_SIZE(e));
	struct error err = { 0 };
	assert_int_equal(ct_extract_template(archive, f->dest, &unpriv, NULL, NULL, &err), -EIO);
	/* whatever tar left there is not owned by a host id outside the range */
	if (exists(f->dest, "far"))
		assert_true(lstat_of(f->dest, "far").st_uid >= 100000);
	free(archive);
}

static bool
landlock_available(void)
{
	return syscall(SYS_landlock_create_ruleset, NULL, 0, 1UL) >= 2;
}

/* A link already in the target (planted, or left by an earlier step) is followed by tar for
 * members below it; Landlock and, for unprivileged CTs, the user namespace stop the write. */
static void
planted_link(struct fixture *f, const struct ct_idmap *map)
{
	put_link(f->dest, "pre", f->sentinel);
	static const struct tar_entry e[] = {
		{ "pre/file", '0', 0644, 0, 0, "out\n" },
		{ "pre/dir/", '5', 0755, 0, 0 },
	};
	char *archive = archive_of(f, "pre.tar", e, ARRAY_SIZE(e));
	struct error err = { 0 };
	assert_int_equal(ct_extract_template(archive, f->dest, map, NULL, NULL, &err), -EIO);
	free(archive);
}

static void
test_link_planted_in_target_is_not_written_through_privileged(void **state)
{
	SKIP_UNLESS_ROOT();
	if (!landlock_available())
		skip(); /* privileged tar as root has only its own checks then */
	planted_link(*state, &priv);
}

static void
test_link_planted_in_target_is_not_written_through_unprivileged(void **state)
{
	SKIP_UNLESS_ROOT();
	if (!landlock_available())
		skip(); /* the sentinel is world-writable like /tmp: only Landlock protects it */
	planted_link(*state, &unpriv);
}

static void
test_unknown_archive_names_are_refused(void **state)
{
	SKIP_UNLESS_ROOT();
	struct fixture *f = *state;
	struct error err = { 0 };
	assert_int_equal(ct_extract_template("/x/t.tar.bz2", f->dest, &unpriv, NULL, NULL, &err),
	                 -EINVAL);
	assert_int_equal(ct_extract_template("/x/t.zip", f->dest, &unpriv, NULL, NULL, &err),
	                 -EINVAL);
	assert_int_equal(ct_extract_template("/x/tar", f->dest, &unpriv, NULL, NULL, &err),
	                 -EINVAL);
}

static void
test_corrupt_archive_reports_the_decompressor(void **state)
{
	SKIP_UNLESS_ROOT();
	struct fixture *f = *state;
	put_file(f->tmp, "bad.tar.zst", "this is no zstd stream\n", 0644);
	char *archive = path_join(f->tmp, "bad.tar.zst");
	struct error err = { 0 };
	assert_int_equal(ct_extract_template(archive, f->dest, &unpriv, NULL, NULL, &err), -EIO);
	assert_true(startswith(err.msg, "extracting archive failed: "));
	assert_non_null(strstr(err.msg, "zstd"));
	free(archive);
}

static void
test_missing_archive_is_reported(void **state)
{
	SKIP_UNLESS_ROOT();
	struct fixture *f = *state;
	char *archive = path_join(f->tmp, "none.tar.xz");
	struct error err = { 0 };
	assert_int_equal(ct_extract_template(archive, f->dest, &unpriv, NULL, NULL, &err), -ENOENT);
	free(archive);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		        test_unprivileged_extraction_maps_owners_into_the_ct_range, setup,
		        teardown),
		cmocka_unit_test_setup_teardown(test_privileged_extraction_keeps_the_archive_owners,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_dev_entries_are_skipped_in_every_spelling,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_archive_stays_inside_unprivileged,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_archive_stays_inside_privileged, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(
		        test_unprivileged_extraction_creates_no_device_nodes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ids_beyond_the_map_fail_the_extraction, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(
		        test_link_planted_in_target_is_not_written_through_privileged, setup,
		        teardown),
		cmocka_unit_test_setup_teardown(
		        test_link_planted_in_target_is_not_written_through_unprivileged, setup,
		        teardown),
		cmocka_unit_test_setup_teardown(test_unknown_archive_names_are_refused, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_archive_reports_the_decompressor,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_archive_is_reported, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
