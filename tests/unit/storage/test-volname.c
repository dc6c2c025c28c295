/* Unit tests: volume names and ids parsed as Proxmox VE's dir plugin does, and every hostile
 * name refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "storage/storage-internal.h"
#include "storage/storage.h"

#include <stdio.h>

struct golden {
	const char *volname;
	unsigned content;
	const char *name;
	unsigned vmid;
	const char *base_name;
	unsigned base_vmid;
	bool is_base;
	enum volume_format format;
};

static const struct golden valid[] = {
	{ "100/vm-100-disk-0.qcow2", CONTENT_IMAGES, "vm-100-disk-0.qcow2", 100, "", 0, false,
	  FORMAT_QCOW2 },
	{ "100/vm-100-disk-1.raw", CONTENT_IMAGES, "vm-100-disk-1.raw", 100, "", 0, false,
	  FORMAT_RAW },
	{ "100/vm-100-disk-2.vmdk", CONTENT_IMAGES, "vm-100-disk-2.vmdk", 100, "", 0, false,
	  FORMAT_VMDK },
	{ "100/base-100-disk-0.qcow2", CONTENT_IMAGES, "base-100-disk-0.qcow2", 100, "", 0, true,
	  FORMAT_QCOW2 },
	{ "101/subvol-101-disk-0.subvol", CONTENT_IMAGES, "subvol-101-disk-0.subvol", 101, "", 0,
	  false, FORMAT_SUBVOL },
	/* PVE accepts any name with an image extension (parse_name_dir's last branch) */
	{ "100/custom.raw", CONTENT_IMAGES, "custom.raw", 100, "", 0, false, FORMAT_RAW },
	{ "100/base-100-disk-0.qcow2/200/vm-200-disk-0.qcow2", CONTENT_IMAGES,
	  "vm-200-disk-0.qcow2", 200, "base-100-disk-0.qcow2", 100, false, FORMAT_QCOW2 },
	{ "100/base-100-disk-0.raw/200/vm-200-disk-1.qcow2", CONTENT_IMAGES, "vm-200-disk-1.qcow2",
	  200, "base-100-disk-0.raw", 100, false, FORMAT_QCOW2 },
	{ "iso/debian-12.iso", CONTENT_ISO, "debian-12.iso", 0, "", 0, false, FORMAT_RAW },
	{ "iso/UPPER.ISO", CONTENT_ISO, "UPPER.ISO", 0, "", 0, false, FORMAT_RAW },
	{ "iso/disk.img", CONTENT_ISO, "disk.img", 0, "", 0, false, FORMAT_RAW },
	{ "iso/with space.iso", CONTENT_ISO, "with space.iso", 0, "", 0, false, FORMAT_RAW },
	{ "vztmpl/debian-12-standard_12.2-1_amd64.tar.zst", CONTENT_VZTMPL,
	  "debian-12-standard_12.2-1_amd64.tar.zst", 0, "", 0, false, FORMAT_RAW },
	{ "vztmpl/a.tar", CONTENT_VZTMPL, "a.tar", 0, "", 0, false, FORMAT_RAW },
	{ "vztmpl/a.tar.gz", CONTENT_VZTMPL, "a.tar.gz", 0, "", 0, false, FORMAT_RAW },
	{ "vztmpl/a.TAR.XZ", CONTENT_VZTMPL, "a.TAR.XZ", 0, "", 0, false, FORMAT_RAW },
	{ "vztmpl/a.tar.bz2", CONTENT_VZTMPL, "a.tar.bz2", 0, "", 0, false, FORMAT_RAW },
	{ "backup/vzdump-qemu-100-2024_01_01-00_00_00.vma.zst", CONTENT_BACKUP,
	  "vzdump-qemu-100-2024_01_01-00_00_00.vma.zst", 100, "", 0, false, FORMAT_RAW },
	{ "backup/vzdump-lxc-101-2024_01_01-00_00_00.tar.gz", CONTENT_BACKUP,
	  "vzdump-lxc-101-2024_01_01-00_00_00.tar.gz", 101, "", 0, false, FORMAT_RAW },
	{ "backup/vzdump-openvz-102-x.tgz", CONTENT_BACKUP, "vzdump-openvz-102-x.tgz", 102, "", 0,
	  false, FORMAT_RAW },
	{ "backup/manual.tar.lzo", CONTENT_BACKUP, "manual.tar.lzo", 0, "", 0, false, FORMAT_RAW },
	{ "backup/manual.vma", CONTENT_BACKUP, "manual.vma", 0, "", 0, false, FORMAT_RAW },
	{ "snippets/user-data.yaml", CONTENT_SNIPPETS, "user-data.yaml", 0, "", 0, false,
	  FORMAT_RAW },
	{ "import/disk.qcow2", CONTENT_IMPORT, "disk.qcow2", 0, "", 0, false, FORMAT_QCOW2 },
	{ "import/disk.vmdk", CONTENT_IMPORT, "disk.vmdk", 0, "", 0, false, FORMAT_VMDK },
	{ "import/appliance.ova", CONTENT_IMPORT, "appliance.ova", 0, "", 0, false, FORMAT_NONE },
};

static const char *const hostile[] = {
	"",
	"/",
	"/etc/passwd",
	"/100/vm-100-disk-0.raw",
	"..",
	"../100/vm-100-disk-0.raw",
	"100/..",
	"100/../vm-100-disk-0.raw",
	"100/../../etc/shadow.raw",
	"iso/../../etc/passwd.iso",
	"iso/..",
	"iso/../x.iso",
	"iso/.hidden.iso",
	"iso/..iso",
	"100/.vm-100-disk-0.raw",
	"100/..raw",
	"100/vm-100-disk-0.raw/",
	"100//vm-100-disk-0.raw",
	"iso//x.iso",
	"100/sub/vm-100-disk-0.raw",
	"100/a/200/b/c.raw",
	"100/vm-100-disk-0.raw\n",
	"100/vm-100-disk-0\n.raw",
	"iso/x\r.iso",
	"iso/x\n.iso",
	"iso/x\t.iso",
	"snippets/a\x7f",
	"100/vm 100.raw",
	"100/vm-100-disk-0.raw,media=cdrom",
	"iso/x,y.iso",
	"iso/x\\y.iso",
	"100/vm-100-disk-0.txt",
	"100/vm-100-disk-0",
	"100/snap-foo.qcow2",
	"iso/x.txt",
	"iso/.iso",
	"iso/ leading.iso",
	"vztmpl/x.tar.gz.exe",
	"vztmpl/x.tgz",
	"vztmpl/.tar",
	"backup/x.zip",
	"backup/x.VMA",
	"import/x.exe",
	"import/a.ova/inner.qcow2",
	"unknown/x.iso",
	"images/100/vm-100-disk-0.raw",
	"0100/vm-100-disk-0.raw",
	"0/vm-0-disk-0.raw",
	"1234567890/vm-1-disk-0.raw",
	"-1/vm-1-disk-0.raw",
	"100/vm-100-disk-0.qcow2/200/vm-200-disk-0.qcow2/x",
	"100/../200/vm-200-disk-0.qcow2",
	"100/base-100-disk-0.qcow2/200/../x.qcow2",
	"100/base-100-disk-0.qcow2/../vm-200-disk-0.qcow2",
	"iso",
	"iso/",
	"snippets/",
};

static void
test_volname_parse_accepts_proxmox_names(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		const struct golden *g = &valid[i];
		struct volname v;
		struct error err = { 0 };
		int r = volname_parse(g->volname, &v, &err);
		if (r < 0)
			fail_msg("'%s' refused: %s", g->volname, err.msg);
		assert_int_equal(v.content, g->content);
		assert_string_equal(v.name, g->name);
		assert_int_equal(v.vmid, g->vmid);
		assert_string_equal(v.base_name, g->base_name);
		assert_int_equal(v.base_vmid, g->base_vmid);
		assert_int_equal(v.is_base, g->is_base);
		assert_int_equal(v.format, g->format);
		/* and it renders back the same */
		char *back = volname_format(&v);
		assert_string_equal(back, g->volname);
		free(back);
	}
}

static void
test_volname_parse_refuses_hostile_names(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		struct volname v;
		struct error err = { 0 };
		int r = volname_parse(hostile[i], &v, &err);
		if (r != -EINVAL)
			fail_msg("hostile volname #%zu '%s' accepted (r=%d)", i, hostile[i], r);
		assert_int_equal(err.code, EINVAL);
		/* the message never carries control characters back to a user */
		for (const char *c = err.msg; *c; c++)
			assert_true((unsigned char)*c >= 0x20);
	}
}

static void
test_volname_parse_error_text_is_pves(void **state)
{
	(void)state;
	struct volname v;
	struct error err = { 0 };
	assert_int_equal(volname_parse("100/x.txt", &v, &err), -EINVAL);
	assert_string_equal(err.msg, "unable to parse directory volume name '100/x.txt'");
}

static void
test_volname_parse_refuses_parts_longer_than_volname_max(void **state)
{
	(void)state;
	char name[VOLNAME_MAX + 32];
	struct volname v;
	/* exactly VOLNAME_MAX bytes: accepted */
	size_t stem = VOLNAME_MAX - strlen(".raw");
	char vn[VOLNAME_MAX + 64];
	memset(name, 'a', stem);
	memcpy(name + stem, ".raw", 5);
	snprintf(vn, sizeof(vn), "100/%s", name);
	assert_int_equal(volname_parse(vn, &v, NULL), 0);
	/* one more: refused */
	memset(name, 'a', stem + 1);
	memcpy(name + stem + 1, ".raw", 5);
	snprintf(vn, sizeof(vn), "100/%s", name);
	assert_int_equal(volname_parse(vn, &v, NULL), -EINVAL);
	/* a very long string with no structure at all */
	char *huge = malloc(100000);
	memset(huge, 'x', 99999);
	huge[99999] = '\0';
	struct error err = { 0 };
	assert_int_equal(volname_parse(huge, &v, &err), -EINVAL);
	assert_true(strlen(err.msg) < 200);
	free(huge);
}

static void
test_volid_split_takes_storage_and_volname(void **state)
{
	(void)state;
	char *sid = NULL, *vn = NULL;
	assert_int_equal(volid_split("local:iso/x.iso", &sid, &vn, NULL), 0);
	assert_string_equal(sid, "local");
	assert_string_equal(vn, "iso/x.iso");
	free(sid);
	free(vn);
	assert_int_equal(volid_split("my-store.1:100/a:b.raw", &sid, &vn, NULL), 0);
	assert_string_equal(sid, "my-store.1");
	assert_string_equal(vn, "100/a:b.raw");
	free(sid);
	free(vn);

	static const char *const bad[] = { "",         "local",       ":iso/x.iso", "local:",
		                           "1local:x", "lo cal:x",    "a:x",        "local-:x",
		                           "../x:y",   "/etc:passwd", "loc\nal:x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct error err = { 0 };
		sid = vn = NULL;
		if (volid_split(bad[i], &sid, &vn, &err) != -EINVAL)
			fail_msg("volid '%s' accepted", bad[i]);
		assert_null(sid);
		assert_null(vn);
	}
	struct error err = { 0 };
	assert_int_equal(volid_split("local", &sid, &vn, &err), -EINVAL);
	assert_string_equal(err.msg, "unable to parse volume ID 'local'");
}

static void
test_storage_id_valid_follows_pve_storage_id(void **state)
{
	(void)state;
	assert_true(storage_id_valid("local"));
	assert_true(storage_id_valid("local-lvm"));
	assert_true(storage_id_valid("a1"));
	assert_true(storage_id_valid("my_store.2"));
	assert_false(storage_id_valid("a"));
	assert_false(storage_id_valid(""));
	assert_false(storage_id_valid("1abc"));
	assert_false(storage_id_valid("abc-"));
	assert_false(storage_id_valid("ab/c"));
	assert_false(storage_id_valid("ab c"));
	assert_false(storage_id_valid("ab:c"));
	char long_id[80];
	memset(long_id, 'a', 65);
	long_id[65] = '\0';
	assert_false(storage_id_valid(long_id));
}

static void
test_check_filename_wants_safe_names_and_the_right_extension(void **state)
{
	(void)state;
	struct error err = { 0 };
	assert_int_equal(storage_check_filename(CONTENT_ISO, "debian-12.iso", &err), 0);
	assert_int_equal(storage_check_filename(CONTENT_ISO, "x.IMG", &err), 0);
	assert_int_equal(storage_check_filename(CONTENT_VZTMPL, "t.tar.zst", &err), 0);
	assert_int_equal(storage_check_filename(CONTENT_IMPORT, "disk.qcow2", &err), 0);
	assert_int_equal(storage_check_filename(CONTENT_SNIPPETS, "a+b=c_d.yaml", &err), 0);

	assert_int_equal(storage_check_filename(CONTENT_ISO, "x.txt", &err), -EINVAL);
	assert_string_equal(err.msg, "wrong file extension");
	assert_int_equal(storage_check_filename(CONTENT_VZTMPL, "x.tgz", &err), -EINVAL);
	assert_int_equal(storage_check_filename(CONTENT_IMPORT, "x.ovf", &err), -EINVAL);

	static const char *const bad[] = { "../x.iso", ".x.iso", "x y.iso",  "a/b.iso",
		                           "x\n.iso",  "",       "x,y.iso",  "x;rm.iso",
		                           "ä.iso",    "x$.iso", "x\\y.iso", "x'y.iso" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		error_clear(&err);
		if (storage_check_filename(CONTENT_ISO, bad[i], &err) != -EINVAL)
			fail_msg("file name '%s' accepted", bad[i]);
		assert_true(strneq(err.msg, "invalid file name", 17));
	}
	char long_name[VOLNAME_MAX + 8];
	memset(long_name, 'a', VOLNAME_MAX);
	memcpy(long_name + VOLNAME_MAX - 4, ".iso", 5);
	assert_int_equal(storage_check_filename(CONTENT_ISO, long_name, &err), 0);
	memset(long_name, 'a', VOLNAME_MAX + 1);
	memcpy(long_name + VOLNAME_MAX - 3, ".iso", 5);
	assert_int_equal(storage_check_filename(CONTENT_ISO, long_name, &err), -EINVAL);
}

static void
test_formats_and_snapshot_names(void **state)
{
	(void)state;
	assert_string_equal(volume_format_name(FORMAT_QCOW2), "qcow2");
	assert_string_equal(volume_format_name(FORMAT_NONE), "");
	assert_int_equal(volume_format_parse("subvol"), FORMAT_SUBVOL);
	assert_int_equal(volume_format_parse("QCOW2"), FORMAT_NONE);
	assert_int_equal(volume_format_parse("qed"), FORMAT_NONE);
	assert_true(storage_snapname_valid("before-upgrade"));
	assert_true(storage_snapname_valid("s1"));
	assert_false(storage_snapname_valid("1s"));
	assert_false(storage_snapname_valid("a"));
	assert_false(storage_snapname_valid("-a"));
	assert_false(storage_snapname_valid("a b"));
	assert_false(storage_snapname_valid("a,b"));
	assert_false(storage_snapname_valid("a=b"));
	assert_false(storage_snapname_valid("a\nb"));
	assert_false(storage_snapname_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* 41 */
}

static void
test_has_feature_follows_pves_table(void **state)
{
	(void)state;
	struct storage s = { .id = "local", .type = storage_type_find("dir") };
	assert_non_null(s.type);
	struct volname q, r, b, sv;
	assert_int_equal(volname_parse("100/vm-100-disk-0.qcow2", &q, NULL), 0);
	assert_int_equal(volname_parse("100/vm-100-disk-1.raw", &r, NULL), 0);
	assert_int_equal(volname_parse("100/base-100-disk-2.raw", &b, NULL), 0);
	assert_int_equal(volname_parse("100/subvol-100-disk-3.subvol", &sv, NULL), 0);
	assert_true(storage_has_feature(&s, &q, FEATURE_SNAPSHOT));
	assert_false(storage_has_feature(&s, &r, FEATURE_SNAPSHOT));
	assert_false(storage_has_feature(&s, &sv, FEATURE_SNAPSHOT));
	assert_false(storage_has_feature(&s, &q, FEATURE_CLONE)); /* not a base */
	assert_true(storage_has_feature(&s, &b, FEATURE_CLONE));
	assert_false(storage_has_feature(&s, &b, FEATURE_TEMPLATE)); /* already one */
	assert_true(storage_has_feature(&s, &r, FEATURE_TEMPLATE));
	assert_true(storage_has_feature(&s, &sv, FEATURE_COPY));
	assert_null(storage_type_find("lvm"));
	assert_null(storage_type_find(NULL));
}

/* "<storage>:<GiB>" as PVE's regex (([^:\s]+):)?(\d+(\.\d+)?) */
static void
test_alloc_request_takes_pves_size_form_only(void **state)
{
	static const struct {
		const char *value, *sid;
		double gib;
	} yes[] = {
		{ "local:8", "local", 8 }, { "local:0", "local", 0 }, { "b:0.5", "b", 0.5 },
		{ "16", "deflt", 16 },     { "2.25", "deflt", 2.25 }, { "my-st:10.0", "my-st", 10 },
	};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		char *sid = NULL;
		double gib = -1;
		assert_true(storage_alloc_request(yes[i].value, "deflt", &sid, &gib));
		assert_string_equal(sid, yes[i].sid);
		assert_true(gib == yes[i].gib);
		free(sid);
	}
	static const char *const no[] = { "local:.5",    "local:1.", "local:-1",
		                          "local:1e3",   ":8",       "lo cal:8",
		                          "local:",      "",         "local:8G",
		                          "local:100/x", "/srv/a",   "local:vm-100-disk-0.raw",
		                          "local:0x10",  "local:8 " };
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		char *sid = NULL;
		double gib;
		if (storage_alloc_request(no[i], "deflt", &sid, &gib))
			fail_msg("'%s' taken as an allocation", no[i]);
		assert_null(sid);
	}
	char *sid = NULL;
	double gib;
	assert_false(storage_alloc_request("8", NULL, &sid, &gib)); /* no default storage */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_volname_parse_accepts_proxmox_names),
		cmocka_unit_test(test_volname_parse_refuses_hostile_names),
		cmocka_unit_test(test_volname_parse_error_text_is_pves),
		cmocka_unit_test(test_volname_parse_refuses_parts_longer_than_volname_max),
		cmocka_unit_test(test_volid_split_takes_storage_and_volname),
		cmocka_unit_test(test_storage_id_valid_follows_pve_storage_id),
		cmocka_unit_test(test_check_filename_wants_safe_names_and_the_right_extension),
		cmocka_unit_test(test_formats_and_snapshot_names),
		cmocka_unit_test(test_has_feature_follows_pves_table),
		cmocka_unit_test(test_alloc_request_takes_pves_size_form_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
