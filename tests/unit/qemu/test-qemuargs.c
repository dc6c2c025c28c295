/* Golden tests: every tests/golden/qemu/<name>.conf becomes a QEMU argv, compared with
 * <name>.argv (one argument per line). BERTH_GOLDEN_UPDATE=1 rewrites the expected files;
 * review the diff before committing. Plus the refusals of qemu_argv itself. */
#include "berth-config.h"
#include "basic/fileio.h"
#include "guest/guestconf.h"
#include "guest/qemu/qemuargs.h"
#include "guest/qemu/vmconf.h"
#include "schema/schema.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "../golden.h"

#define GOLDEN_DIR BERTH_SOURCE_DIR "/tests/golden/qemu"

/* A fixed host: "local" is a directory storage at /var/lib/vz, "local-lvm" an LVM thin pool
 * (raw block devices under /dev/pve), "btrfs" a btrfs storage (no O_DIRECT). */
static int
resolve(const char *volid, struct qemu_volume *ret, void *userdata, struct error *err)
{
	(void)userdata;
	*ret = (struct qemu_volume){ 0 };
	if (volid[0] == '/') {
		ret->path = xstrdup(volid);
		return 0;
	}
	const char *colon = strchr(volid, ':');
	if (!colon)
		return error_set(err, EINVAL, "unable to parse volume ID '%s'", volid);
	const char *volname = colon + 1;
	size_t sid_len = (size_t)(colon - volid);
	if (strneq(volid, "local-lvm", sid_len) && sid_len == 9) {
		ret->path = xasprintf("/dev/pve/%s", volname);
		ret->format = xstrdup("raw");
		return 0;
	}
	const char *root = NULL;
	if (strneq(volid, "local", sid_len) && sid_len == 5)
		root = "/var/lib/vz";
	else if (strneq(volid, "btrfs", sid_len) && sid_len == 5) {
		root = "/mnt/btrfs";
		ret->no_direct_io = true;
	} else
		return error_set(err, ENOENT, "storage '%.*s' does not exist", (int)sid_len, volid);
	if (startswith(volname, "iso/")) {
		ret->path = xasprintf("%s/template/iso/%s", root, volname + 4);
		ret->format = xstrdup("raw");
		return 0;
	}
	ret->path = xasprintf("%s/images/%s", root, volname);
	const char *dot = strrchr(volname, '.');
	ret->format = xstrdup(dot ? dot + 1 : "raw");
	return 0;
}

static unsigned
bridge_mtu(const char *bridge, void *userdata)
{
	(void)userdata;
	return streq(bridge, "vmbr9") ? 9000 : 1500;
}

static const struct qemu_env test_env = {
	.binary = "/usr/bin/qemu-system-x86_64",
	.run_dir = "/run/berth/qemu",
	.kvm = true,
	.vhost_net = true,
	.host_cpus = 8,
	.aio_default = "io_uring",
	.vnc_password = false,
	.ovmf_4m = { .code = "/usr/share/OVMF/OVMF_CODE_4M.fd",
	             .code_secboot = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd",
	             .vars_size = 540672 },
	.ovmf_2m = { .code = NULL },
	.resolve = resolve,
	.bridge_mtu = bridge_mtu,
};

static struct vm_config *
load(const char *text, const char *what)
{
	struct guestconf *gc = NULL;
	struct error err = { 0 };
	if (guestconf_parse(GUESTCONF_QEMU, text, what, &gc, &err) < 0)
		fail_msg("%s: %s", what, err.msg);
	struct vm_config *c = NULL;
	if (vm_config_from_section(&gc->main, 8006, &c, &err) < 0)
		fail_msg("%s: %s", what, err.msg);
	guestconf_free(gc);
	return c;
}

static char *
generate(const char *conf_path)
{
	_cleanup_free_ char *text = NULL;
	assert_int_equal(read_file(conf_path, 1u << 20, &text, NULL), 0);
	_cleanup_(vm_config_freep) struct vm_config *c = load(text, conf_path);
	/* "without KVM" in the description runs the case on a node without KVM */
	struct qemu_env env = test_env;
	if (c->description && strstr(c->description, "without KVM"))
		env.kvm = false;
	char **argv = NULL;
	struct error err = { 0 };
	if (qemu_argv(c, &env, &argv, &err) < 0)
		fail_msg("%s: %s", conf_path, err.msg);
	struct strbuf out = STRBUF_INIT;
	for (char **a = argv; *a; a++)
		sb_printf(&out, "%s\n", *a);
	strv_free(argv);
	return sb_steal(&out);
}

static void
check_one(const char *name)
{
	_cleanup_free_ char *conf = xasprintf("%s/%s.conf", GOLDEN_DIR, name);
	_cleanup_free_ char *want_path = xasprintf("%s/%s.argv", GOLDEN_DIR, name);
	_cleanup_free_ char *got = generate(conf);
	golden_check(want_path, got);
}

static void
test_golden_files(void **state)
{
	golden_each_conf(GOLDEN_DIR, check_one, 8);
}

/* qemu_argv's own refusals: what vmconf accepts but this QEMU/Berth cannot run */
static void
test_argv_refuses_what_it_cannot_run(void **state)
{
	(void)state;
	static const struct {
		const char *conf, *msg;
	} cases[] = {
		{ "cores: 16\n", "MAX 8 vcpus allowed per VM on this node" },
		{ "vga: qxl\n", "not supported" },
		{ "template: 1\n", "you can't start a vm if it's a template" },
		{ "kvm: 0\ncpu: host\n", "needs KVM" },
		{ "net0: virtio,bridge=vmbr0\n", "net0: no MAC address" },
		{ "net0: virtio=BC:24:11:00:00:01,bridge=vmbr0,mtu=9000\n",
		  "bigger than the bridge" },
		{ "hotplug: network,cpu\n", "hotplug" },
		{ "bios: ovmf\nefidisk0: local:100/vm-100-disk-1.qcow2,efitype=2m\n",
		  "no OVMF firmware for efitype=2m" },
		{ "scsi0: local:100/vm-100-disk-0.qcow2,format=raw\n",
		  "'format=raw' option different from storage format 'qcow2'" },
		{ "scsi0: nosuch:100/vm-100-disk-0.qcow2\n", "storage 'nosuch' does not exist" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		_cleanup_(vm_config_freep) struct vm_config *c = load(cases[i].conf, "case");
		char **argv = NULL;
		struct error err = { 0 };
		if (qemu_argv(c, &test_env, &argv, &err) >= 0)
			fail_msg("accepted: %s", cases[i].conf);
		if (!strstr(err.msg, cases[i].msg))
			fail_msg("%s: got '%s', want '%s'", cases[i].conf, err.msg, cases[i].msg);
	}
}

/* A host path with ',' (a storage mounted somewhere odd) must not become extra options */
static int
resolve_comma(const char *volid, struct qemu_volume *ret, void *userdata, struct error *err)
{
	(void)volid;
	(void)userdata;
	(void)err;
	*ret = (struct qemu_volume){ .path = xstrdup("/mnt/a,file.locking=off/disk.raw"),
		                     .format = xstrdup("raw") };
	return 0;
}

static void
test_argv_refuses_commas_from_the_host(void **state)
{
	(void)state;
	_cleanup_(vm_config_freep) struct vm_config *c =
	        load("scsi0: local:100/vm-100-disk-0.raw\n", "case");
	struct qemu_env env = test_env;
	env.resolve = resolve_comma;
	char **argv = NULL;
	struct error err = { 0 };
	assert_int_equal(qemu_argv(c, &env, &argv, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "file.locking=off"));
	assert_non_null(strstr(err.msg, "-drive"));

	env = test_env;
	env.run_dir = "/run/a,b";
	assert_int_equal(qemu_argv(c, &env, &argv, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "-chardev"));
}

/* smbios1 strings decode to anything but control characters; commas are QEMU-escaped */
static void
test_smbios_commas_are_escaped_not_injected(void **state)
{
	(void)state;
	/* "Acme, Inc.,uuid=0" in base64 */
	_cleanup_(vm_config_freep) struct vm_config *c =
	        load("smbios1: base64=1,manufacturer=QWNtZSwgSW5jLix1dWlkPTA=\n", "case");
	char **argv = NULL;
	struct error err = { 0 };
	assert_int_equal(qemu_argv(c, &test_env, &argv, &err), 0);
	bool found = false;
	for (char **a = argv; *a; a++)
		if (streq(*a, "-smbios")) {
			assert_string_equal(a[1], "type=1,manufacturer=Acme,, Inc.,,uuid=0");
			found = true;
		}
	assert_true(found);
	strv_free(argv);
}

static void
test_tap_names_fit_ifnamsiz(void **state)
{
	(void)state;
	char buf[16];
	assert_int_equal(qemu_tap_name(100, 0, buf), 0);
	assert_string_equal(buf, "tap100i0");
	assert_int_equal(qemu_tap_name(999999999, 31, buf), 0);
	assert_string_equal(buf, "tap999999999i31");
}

/* Hot-plug reads a device's options back from the argv a start would have */
static void
test_argv_read_back(void **state)
{
	(void)state;
	_cleanup_(strv_freep) char **items = qemu_opts_split("a,,b,id=x,,y,,,z=1,");
	assert_int_equal(strv_length(items), 4);
	assert_string_equal(items[0], "a,b");
	assert_string_equal(items[1], "id=x,y,");
	assert_string_equal(items[2], "z=1");
	assert_string_equal(items[3], "");
	_cleanup_free_ char *id = qemu_opts_get("virtio-blk-pci,drive=d,id=virtio1", "id");
	assert_string_equal(id, "virtio1");
	assert_null(qemu_opts_get("virtio-blk-pci,xid=1", "id"));

	_cleanup_(vm_config_freep) struct vm_config *c =
	        load("virtio0: local:100/vm-100-disk-0.raw,iothread=1\n"
	             "scsi1: local:100/vm-100-disk-1.qcow2\n"
	             "net2: virtio=BC:24:11:00:00:05,bridge=vmbr0\n",
	             "hotplug");
	char **argv = NULL;
	struct error err = { 0 };
	assert_int_equal(qemu_argv(c, &test_env, &argv, &err), 0);
	const char *drive = qemu_argv_find(argv, "-drive", "drive-virtio0");
	assert_non_null(drive);
	assert_true(startswith(drive, "file=/var/lib/vz/images/100/vm-100-disk-0.raw,"));
	const char *dev = qemu_argv_find(argv, "-device", "virtio0");
	assert_non_null(dev);
	assert_true(startswith(dev, "virtio-blk-pci,drive=drive-virtio0,"));
	assert_non_null(qemu_argv_find(argv, "-object", "iothread-virtio0"));
	const char *scsi = qemu_argv_find(argv, "-device", "scsi1");
	_cleanup_free_ char *bus = qemu_opts_get(scsi, "bus");
	assert_string_equal(bus, "scsihw0.0");
	assert_non_null(qemu_argv_find(argv, "-device", "scsihw0"));
	assert_non_null(qemu_argv_find(argv, "-netdev", "net2"));
	assert_null(qemu_argv_find(argv, "-device", "net3"));
	/* "virtio0" is not "drive-virtio0": ids match whole */
	assert_null(qemu_argv_find(argv, "-drive", "virtio0"));
	strv_free(argv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_files),
		cmocka_unit_test(test_argv_refuses_what_it_cannot_run),
		cmocka_unit_test(test_argv_refuses_commas_from_the_host),
		cmocka_unit_test(test_smbios_commas_are_escaped_not_injected),
		cmocka_unit_test(test_tap_names_fit_ifnamsiz),
		cmocka_unit_test(test_argv_read_back),
	};
	return cmocka_run_group_tests_name("qemuargs", tests, NULL, NULL);
}
