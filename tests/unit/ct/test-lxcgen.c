/* Golden tests: every tests/golden/lxc/<name>.conf becomes liblxc config text, compared with
 * <name>.hybrid.lxc (v1 controllers, as on this machine) and <name>.unified.lxc (cgroup2, as
 * on Debian 12 / Proxmox VE 8). BERTH_GOLDEN_UPDATE=1 rewrites the expected files; review the
 * diff before committing. Plus unit tests of the config parsing the generator relies on. */
#include "berth-config.h"
#include "basic/fileio.h"
#include "guest/guestconf.h"
#include "guest/lxc/ctconf.h"
#include "guest/lxc/lxcgen.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "../golden.h"

#define GOLDEN_DIR BERTH_SOURCE_DIR "/tests/golden/lxc"

static void
layout(struct cg_host *h, bool unified)
{
	*h = (struct cg_host){ .layout = unified ? CG_UNIFIED : CG_HYBRID,
		               .mnt = "/sys/fs/cgroup",
		               .swap_accounting = true };
	for (int c = 0; c < _CG_CONTROLLER_MAX; c++) {
		h->present[c] = true;
		h->v1[c] = !unified;
	}
}

static char *
generate(const char *conf_path, bool unified, bool apparmor)
{
	_cleanup_free_ char *text = NULL;
	assert_int_equal(read_file(conf_path, 1u << 20, &text, NULL), 0);
	struct guestconf *gc = NULL;
	struct error err = { 0 };
	int r = guestconf_parse(GUESTCONF_LXC, text, conf_path, &gc, &err);
	if (r < 0)
		fail_msg("%s: %s", conf_path, err.msg);
	/* the vmid from the file's rootfs, as the daemon takes it from the file name */
	const char *rootfs = guestconf_get(&gc->main, "rootfs");
	unsigned vmid = 100;
	const char *p = rootfs ? strpbrk(rootfs, "0123456789") : NULL;
	if (p)
		vmid = (unsigned)atoi(p);
	struct ct_config *cc = NULL;
	r = ct_config_from_section(&gc->main, vmid, &cc, &err);
	if (r < 0)
		fail_msg("%s: %s", conf_path, err.msg);
	struct cg_host h;
	layout(&h, unified);
	struct ct_lxc_env env = { .lxcpath = "/var/lib/berth/lxc",
		                  .lxc_share = "/usr/share/lxc",
		                  .cg = &h,
		                  .host_cpus = 8,
		                  .idmap_base = 100000,
		                  .idmap_count = 65536,
		                  .apparmor = apparmor };
	char *out = NULL;
	r = ct_lxc_config(cc, &env, &out, &err);
	if (r < 0)
		fail_msg("%s: %s", conf_path, err.msg);
	ct_config_free(cc);
	guestconf_free(gc);
	return out;
}

static void
check_variant(const char *name, bool unified)
{
	_cleanup_free_ char *conf = xasprintf("%s/%s.conf", GOLDEN_DIR, name);
	_cleanup_free_ char *want_path =
	        xasprintf("%s/%s.%s.lxc", GOLDEN_DIR, name, unified ? "unified" : "hybrid");
	_cleanup_free_ char *got = generate(conf, unified, false);
	golden_check(want_path, got);
}

/* <name>.apparmor.lxc: cgroup2 on a host with AppArmor (PVE's make_apparmor_config) */
static void
check_apparmor(const char *name)
{
	_cleanup_free_ char *conf = xasprintf("%s/%s.conf", GOLDEN_DIR, name);
	_cleanup_free_ char *want_path = xasprintf("%s/%s.apparmor.lxc", GOLDEN_DIR, name);
	_cleanup_free_ char *got = generate(conf, true, true);
	golden_check(want_path, got);
}

static void
test_golden_apparmor(void **state)
{
	/* the default profile's lines; nesting's; mount= and fuse; a raw lxc.apparmor.profile
	 * that replaces them all */
	static const char *const names[] = { "minimal", "ansible-l1", "features", "full" };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		check_apparmor(names[i]);
}

static void
check_one(const char *name)
{
	check_variant(name, false);
	check_variant(name, true);
}

static void
test_golden_files(void **state)
{
	golden_each_conf(GOLDEN_DIR, check_one, 4);
}

static void
test_rejects_control_characters(void **state)
{
	struct guestconf *gc = guestconf_new(GUESTCONF_LXC);
	guestconf_set(&gc->main, "rootfs", "local:101/vm-101-disk-0.raw,size=1G");
	guestconf_add_raw(&gc->main, "lxc.init.cmd", "/sbin/init\tx");
	struct ct_config *cc = NULL;
	struct error err = { 0 };
	assert_int_equal(ct_config_from_section(&gc->main, 101, &cc, &err), 0);
	struct cg_host h;
	layout(&h, true);
	struct ct_lxc_env env = { .lxcpath = "/l", .lxc_share = "/s", .cg = &h, .host_cpus = 2 };
	char *out = NULL;
	assert_int_equal(ct_lxc_config(cc, &env, &out, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "lxc.init.cmd"));
	ct_config_free(cc);
	guestconf_free(gc);
}

static void
test_mount_and_net_strings(void **state)
{
	struct error err = { 0 };
	struct ct_mount m = { 0 };
	assert_int_equal(ct_mount_parse("mp0", "local:5,mp=/data,backup=1", &m, &err), 0);
	assert_string_equal(m.volume, "local:5");
	assert_string_equal(m.mp, "/data");
	ct_mount_done(&m);
	/* mp= is required for mount points; ../ sequences are refused */
	assert_true(ct_mount_parse("mp0", "local:5", &m, &err) < 0);
	assert_true(ct_mount_parse("mp0", "local:5,mp=/a/../etc", &m, &err) < 0);
	assert_true(ct_mount_parse("mp0", "local:5,mp=relative", &m, &err) < 0);
	assert_true(ct_mount_parse("rootfs", "/host/path", &m, &err) < 0);
	assert_true(ct_mount_parse("rootfs", "local:4,bogus=1", &m, &err) < 0);

	struct ct_net n = { 0 };
	assert_int_equal(ct_net_parse("net0", "name=eth0,bridge=vmbr0,ip=dhcp", &n, &err), 0);
	_cleanup_free_ char *s = ct_net_print(&n);
	assert_string_equal(s, "name=eth0,bridge=vmbr0,ip=dhcp,type=veth");
	ct_net_done(&n);
	assert_true(ct_net_parse("net0", "bridge=vmbr0", &n, &err) < 0); /* name required */
	assert_true(ct_net_parse("net0", "name=eth0,ip=10.0.0.1", &n, &err) < 0); /* no prefix */
	assert_true(ct_net_parse("net0", "name=eth0,hwaddr=01:00:00:00:00:00", &n, &err) < 0);
	assert_true(ct_net_parse("net32", "name=eth0", &n, &err) < 0);
	assert_true(ct_net_parse("net0", "name=eth 0", &n, &err) < 0);
}

static void
test_unknown_keys_refused(void **state)
{
	struct guestconf *gc = guestconf_new(GUESTCONF_LXC);
	guestconf_set(&gc->main, "rootfs", "local:101/vm-101-disk-0.raw,size=1G");
	guestconf_set(&gc->main, "bogus", "1");
	struct ct_config *cc = NULL;
	struct error err = { 0 };
	assert_true(ct_config_from_section(&gc->main, 101, &cc, &err) < 0);
	assert_non_null(strstr(err.msg, "bogus"));
	guestconf_unset(&gc->main, "bogus");
	guestconf_set(&gc->main, "memory", "8");
	assert_true(ct_config_from_section(&gc->main, 101, &cc, &err) < 0); /* minimum 16 */
	guestconf_free(gc);
}

static void
test_seccomp_policy_follows_privilege_and_the_keyctl_feature(void **state)
{
	(void)state;
	struct ct_config c = { .vmid = 101 };
	_cleanup_free_ char *priv = ct_seccomp_policy(&c);
	assert_true(startswith(priv, "2\ndenylist\n"));
	assert_non_null(strstr(priv, "delete_module errno 1\n"));
	assert_null(strstr(priv, "keyctl")); /* PVE: privileged CTs keep the common policy */
	c.unprivileged = true;
	_cleanup_free_ char *unpriv = ct_seccomp_policy(&c);
	assert_non_null(strstr(unpriv, "\nkeyctl errno 38\n"));
	assert_non_null(strstr(unpriv, "\nioctl errno 1 [1,0x9400,SCMP_CMP_MASKED_EQ,0xff00]\n"));
	assert_non_null(strstr(unpriv, "\nsocket errno 97 [0,38,SCMP_CMP_EQ]\n"));
	c.features.keyctl = true;
	_cleanup_free_ char *keyctl = ct_seccomp_policy(&c);
	assert_null(strstr(keyctl, "keyctl"));
	assert_non_null(strstr(keyctl, "socket errno 97"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seccomp_policy_follows_privilege_and_the_keyctl_feature),
		cmocka_unit_test(test_golden_files),
		cmocka_unit_test(test_golden_apparmor),
		cmocka_unit_test(test_rejects_control_characters),
		cmocka_unit_test(test_mount_and_net_strings),
		cmocka_unit_test(test_unknown_keys_refused),
	};
	return cmocka_run_group_tests_name("lxcgen", tests, NULL, NULL);
}
