/* Unit tests: the btrfs storage type's name rules (snapshot entries, listed entries, the
 * subvolume of a volume name) and its capability table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "storage/btrfs.h"
#include "storage/storage-internal.h"

static void
test_snapshot_entry_names_the_snapshot_of_its_own_subvolume(void **state)
{
	const char *snap = btrfs_snapshot_of("vm-100-disk-0@before_upgrade", "vm-100-disk-0");
	assert_non_null(snap);
	assert_string_equal(snap, "before_upgrade");
	snap = btrfs_snapshot_of("subvol-101-disk-0.subvol@s1", "subvol-101-disk-0.subvol");
	assert_non_null(snap);
	assert_string_equal(snap, "s1");
}

static void
test_snapshot_entry_of_another_subvolume_is_not_matched(void **state)
{
	/* disk-1 must not pick up disk-10's snapshots, nor the subvolume itself */
	assert_null(btrfs_snapshot_of("vm-100-disk-10@s1", "vm-100-disk-1"));
	assert_null(btrfs_snapshot_of("vm-100-disk-1", "vm-100-disk-1"));
	assert_null(btrfs_snapshot_of("vm-100-disk-1.tmp.42", "vm-100-disk-1"));
	assert_null(btrfs_snapshot_of("vm-100-disk-1@", "vm-100-disk-1"));
	assert_null(btrfs_snapshot_of("vm-100-disk-1@s", "")); /* empty subvolume name */
}

static void
test_snapshot_entry_with_invalid_snapshot_name_is_not_matched(void **state)
{
	assert_null(btrfs_snapshot_of("vm-100-disk-0@1abc", "vm-100-disk-0"));
	assert_null(btrfs_snapshot_of("vm-100-disk-0@a b", "vm-100-disk-0"));
	assert_null(btrfs_snapshot_of("vm-100-disk-0@a@b", "vm-100-disk-0"));
}

static void
test_image_entries_are_classified_as_pve_lists_them(void **state)
{
	assert_int_equal(btrfs_image_entry_format("vm-100-disk-0"), FORMAT_RAW);
	assert_int_equal(btrfs_image_entry_format("base-100-disk-0"), FORMAT_RAW);
	assert_int_equal(btrfs_image_entry_format("subvol-100-disk-0.subvol"), FORMAT_SUBVOL);
	assert_int_equal(btrfs_image_entry_format("vm-100-disk-1.qcow2"), FORMAT_QCOW2);
	assert_int_equal(btrfs_image_entry_format("vm-100-disk-2.vmdk"), FORMAT_VMDK);
}

static void
test_snapshots_and_rollback_leftovers_are_not_volumes(void **state)
{
	assert_int_equal(btrfs_image_entry_format("vm-100-disk-0@s1"), FORMAT_NONE);
	assert_int_equal(btrfs_image_entry_format("subvol-100-disk-0.subvol@s1"), FORMAT_NONE);
	assert_int_equal(btrfs_image_entry_format("vm-100-disk-0.tmp.4242"), FORMAT_NONE);
	assert_int_equal(btrfs_image_entry_format("subvol-100-disk-0.subvol.tmp.7"), FORMAT_NONE);
	assert_int_equal(btrfs_image_entry_format(".hidden"), FORMAT_NONE);
	assert_int_equal(btrfs_image_entry_format("."), FORMAT_NONE);
	assert_int_equal(btrfs_image_entry_format(".."), FORMAT_NONE);
	assert_int_equal(btrfs_image_entry_format(""), FORMAT_NONE);
	/* a raw file directly in images/<vmid>/ is dir's layout, not btrfs's */
	assert_int_equal(btrfs_image_entry_format("vm-100-disk-3.raw"), FORMAT_NONE);
}

static void
test_subvolume_of_a_raw_volume_drops_the_raw_extension(void **state)
{
	char *n = btrfs_subvol_name("vm-100-disk-0.raw", FORMAT_RAW);
	assert_string_equal(n, "vm-100-disk-0");
	free(n);
	n = btrfs_subvol_name("subvol-100-disk-0.subvol", FORMAT_SUBVOL);
	assert_string_equal(n, "subvol-100-disk-0.subvol");
	free(n);
	assert_null(btrfs_subvol_name("vm-100-disk-0.qcow2", FORMAT_RAW));
	assert_null(btrfs_subvol_name(".raw", FORMAT_RAW));
	assert_null(btrfs_subvol_name("vm-100-disk-0.qcow2", FORMAT_QCOW2));
}

static void
test_type_table_follows_pve_btrfs_plugin(void **state)
{
	const struct storage_type *t = &storage_type_btrfs;
	assert_string_equal(t->name, "btrfs");
	assert_int_equal(t->formats, FORMAT_RAW | FORMAT_QCOW2 | FORMAT_VMDK | FORMAT_SUBVOL);
	assert_int_equal(t->default_format, FORMAT_RAW);
	assert_int_equal(t->default_content, CONTENT_IMAGES | CONTENT_ROOTDIR);
	assert_true(t->feature_formats[FEATURE_SNAPSHOT] & FORMAT_RAW);
	assert_true(t->feature_formats[FEATURE_SNAPSHOT] & FORMAT_SUBVOL);
	assert_false(t->feature_formats[FEATURE_SNAPSHOT] & FORMAT_VMDK);
	assert_true(t->feature_formats[FEATURE_CLONE] & FORMAT_SUBVOL);
	assert_false(t->feature_formats[FEATURE_SPARSEINIT] & FORMAT_SUBVOL);
	assert_non_null(t->alloc);
	assert_non_null(t->rollback);
	assert_non_null(t->clone);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot_entry_names_the_snapshot_of_its_own_subvolume),
		cmocka_unit_test(test_snapshot_entry_of_another_subvolume_is_not_matched),
		cmocka_unit_test(test_snapshot_entry_with_invalid_snapshot_name_is_not_matched),
		cmocka_unit_test(test_image_entries_are_classified_as_pve_lists_them),
		cmocka_unit_test(test_snapshots_and_rollback_leftovers_are_not_volumes),
		cmocka_unit_test(test_subvolume_of_a_raw_volume_drops_the_raw_extension),
		cmocka_unit_test(test_type_table_follows_pve_btrfs_plugin),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
