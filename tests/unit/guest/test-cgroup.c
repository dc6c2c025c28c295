/* Unit tests: cgroup layout detection on fake /proc + /sys/fs/cgroup trees (pure cgroup2 as
 * on Debian 12 / Proxmox VE 8, hybrid as on this machine, legacy v1), the liblxc limit items
 * of both layouts, usage statistics from v1 and v2 files, cleanup of a stopped guest's
 * directories, and the real host's layout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "basic/fileio.h"
#include "basic/strbuf.h"
#include "guest/cgroup.h"

#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* ---- fake trees ---- */

/* every fake tree lives under one directory that the group teardown removes, failed
 * tests included */
static char tmp_parent[] = "/tmp/berth-test-cgroup-XXXXXX";

struct fake {
	char root[128];
	char *proc; /* <root>/proc */
	char *mnt;  /* <root>/sys/fs/cgroup */
};

static void
put(const char *path, const char *text)
{
	_cleanup_free_ char *dir = xstrdup(path);
	*strrchr(dir, '/') = '\0';
	assert_int_equal(mkdir_p(dir, 0755), 0);
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, text, strlen(text)), 0);
}

static void _printf_(3, 4) putf(const struct fake *f, const char *text, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *rel = NULL;
	assert_true(vasprintf(&rel, fmt, ap) >= 0);
	va_end(ap);
	_cleanup_free_ char *p = xasprintf("%s/%s", f->root, rel);
	put(p, text);
}

static void
mkdirs(const struct fake *f, const char *rel)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", f->root, rel);
	assert_int_equal(mkdir_p(p, 0755), 0);
}

static bool
exists(const struct fake *f, const char *rel)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", f->root, rel);
	struct stat st;
	return lstat(p, &st) == 0;
}

static const char *const proc_cgroups_v2 =
        "#subsys_name\thierarchy\tnum_cgroups\tenabled\n"
        "cpuset\t0\t80\t1\ncpu\t0\t80\t1\ncpuacct\t0\t80\t1\nblkio\t0\t80\t1\n"
        "memory\t0\t80\t1\ndevices\t0\t80\t1\nfreezer\t0\t80\t1\nnet_cls\t0\t80\t1\n"
        "perf_event\t0\t80\t1\nnet_prio\t0\t80\t1\nhugetlb\t0\t80\t1\npids\t0\t80\t1\n"
        "rdma\t0\t80\t1\nmisc\t0\t80\t1\n";

/* as /proc/cgroups reads on this machine */
static const char *const proc_cgroups_hybrid =
        "#subsys_name\thierarchy\tnum_cgroups\tenabled\n"
        "cpuset\t3\t4\t1\ncpu\t1\t4\t1\ncpuacct\t2\t4\t1\nblkio\t7\t4\t1\nmemory\t4\t20\t1\n"
        "devices\t5\t4\t1\nfreezer\t6\t4\t1\nnet_cls\t0\t4\t1\nperf_event\t0\t4\t1\n"
        "net_prio\t0\t4\t1\nhugetlb\t0\t4\t1\npids\t8\t4\t1\n";

static void
fake_init(struct fake *f)
{
	snprintf(f->root, sizeof(f->root), "%s/fake-XXXXXX", tmp_parent);
	assert_non_null(mkdtemp(f->root));
	f->proc = xasprintf("%s/proc", f->root);
	f->mnt = xasprintf("%s/sys/fs/cgroup", f->root);
	putf(f, "BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet\n", "proc/cmdline");
}

/* Debian 12 / Proxmox VE 8: cgroup2 at the mount point, systemd's init.scope below it. */
static void
fake_unified(struct fake *f, const char *controllers, bool swap_files)
{
	fake_init(f);
	putf(f, proc_cgroups_v2, "proc/cgroups");
	_cleanup_free_ char *mi = xasprintf(
	        "21 26 0:20 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
	        "26 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro\n"
	        "30 21 0:26 / %s rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 "
	        "rw,nsdelegate,memory_recursiveprot\n"
	        "31 21 0:6 / /sys/kernel/security rw,nosuid shared:8 - securityfs securityfs rw\n",
	        f->mnt);
	putf(f, mi, "proc/self/mountinfo");
	putf(f, controllers, "sys/fs/cgroup/cgroup.controllers");
	putf(f, "cpu io memory pids\n", "sys/fs/cgroup/cgroup.subtree_control");
	putf(f, "max\n", "sys/fs/cgroup/init.scope/memory.max");
	if (swap_files)
		putf(f, "max\n", "sys/fs/cgroup/init.scope/memory.swap.max");
}

/* This machine: tmpfs at the mount point, one v1 hierarchy per controller, name=systemd,
 * cgroup2 at unified with only hugetlb. With comount, systemd's "cpu,cpuacct" with its two
 * symlinks. */
static void
fake_hybrid(struct fake *f, bool comount, bool memsw)
{
	fake_init(f);
	putf(f, proc_cgroups_hybrid, "proc/cgroups");
	struct strbuf mi = { 0 };
	sb_printf(&mi, "23 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime - sysfs sysfs rw\n");
	sb_printf(&mi, "31 23 0:28 / %s rw,relatime - tmpfs tmpfs rw,mode=755\n", f->mnt);
	static const char *const sep[] = {
		"cpuset", "memory", "devices", "freezer", "blkio", "pids"
	};
	int id = 32;
	if (comount) {
		sb_printf(
		        &mi,
		        "%d 31 0:%d / %s/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n",
		        id, id, f->mnt);
		id++;
		mkdirs(f, "sys/fs/cgroup/cpu,cpuacct");
		_cleanup_free_ char *l1 = xasprintf("%s/cpu", f->mnt);
		_cleanup_free_ char *l2 = xasprintf("%s/cpuacct", f->mnt);
		assert_int_equal(symlink("cpu,cpuacct", l1), 0);
		assert_int_equal(symlink("cpu,cpuacct", l2), 0);
	} else {
		sb_printf(&mi, "%d 31 0:%d / %s/cpu rw,relatime - cgroup cgroup rw,cpu\n", id, id,
		          f->mnt);
		id++;
		sb_printf(&mi, "%d 31 0:%d / %s/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n",
		          id, id, f->mnt);
		id++;
		mkdirs(f, "sys/fs/cgroup/cpu");
		mkdirs(f, "sys/fs/cgroup/cpuacct");
	}
	for (size_t i = 0; i < ARRAY_SIZE(sep); i++, id++) {
		sb_printf(&mi, "%d 31 0:%d / %s/%s rw,relatime - cgroup cgroup rw,%s\n", id, id,
		          f->mnt, sep[i], sep[i]);
		_cleanup_free_ char *d = xasprintf("sys/fs/cgroup/%s", sep[i]);
		mkdirs(f, d);
	}
	sb_printf(&mi, "%d 31 0:%d / %s/systemd rw,relatime - cgroup cgroup rw,name=systemd\n", id,
	          id, f->mnt);
	id++;
	mkdirs(f, "sys/fs/cgroup/systemd");
	sb_printf(&mi, "%d 31 0:%d / %s/unified rw,relatime - cgroup2 cgroup2 rw\n", id, id,
	          f->mnt);
	putf(f, sb_str(&mi), "proc/self/mountinfo");
	sb_free(&mi);
	putf(f, "hugetlb\n", "sys/fs/cgroup/unified/cgroup.controllers");
	if (memsw)
		putf(f, "9223372036854771712\n",
		     "sys/fs/cgroup/memory/memory.memsw.limit_in_bytes");
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path) < 0 ? -1 : 0;
}

static void
fake_free(struct fake *f)
{
	nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f->proc);
	free(f->mnt);
}

static int
group_setup(void **state)
{
	return mkdtemp(tmp_parent) ? 0 : -1;
}

static int
group_teardown(void **state)
{
	return nftw(tmp_parent, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
detect(struct fake *f, struct cg_host *h)
{
	struct error err = { 0 };
	int r = cg_detect_at(f->proc, f->mnt, h, &err);
	if (r < 0)
		fail_msg("cg_detect_at: %s", err.msg);
}

/* ---- detection ---- */

static void
test_detect_unified_puts_every_controller_on_cgroup2(void **state)
{
	struct fake f;
	fake_unified(&f, "cpuset cpu io memory hugetlb pids rdma misc\n", true);
	struct cg_host h;
	detect(&f, &h);
	assert_int_equal(h.layout, CG_UNIFIED);
	assert_string_equal(h.mnt, f.mnt);
	for (int c = 0; c < _CG_CONTROLLER_MAX; c++) {
		assert_true(h.present[c]);
		assert_false(h.v1[c]);
	}
	assert_true(h.swap_accounting);
	fake_free(&f);
}

static void
test_detect_unified_marks_controllers_missing_from_cgroup_controllers_absent(void **state)
{
	struct fake f;
	fake_unified(&f, "cpu memory pids\n", true);
	struct cg_host h;
	detect(&f, &h);
	assert_true(h.present[CG_CPU] && h.present[CG_MEMORY] && h.present[CG_PIDS]);
	assert_true(h.present[CG_CPUACCT]); /* cpu.stat is a core file */
	assert_false(h.present[CG_CPUSET]);
	assert_false(h.present[CG_BLKIO]);
	fake_free(&f);
}

static void
test_detect_unified_without_memory_swap_files_has_no_swap_accounting(void **state)
{
	struct fake f;
	fake_unified(&f, "cpuset cpu io memory pids\n", false);
	struct cg_host h;
	detect(&f, &h);
	assert_true(h.present[CG_MEMORY]);
	assert_false(h.swap_accounting);
	fake_free(&f);
}

static void
test_detect_unified_without_child_groups_follows_swapaccount_on_the_command_line(void **state)
{
	struct fake f;
	fake_unified(&f, "cpu memory\n", false);
	_cleanup_free_ char *scope = xasprintf("%s/init.scope", f.mnt);
	nftw(scope, rm_entry, 4, FTW_DEPTH | FTW_PHYS);
	struct cg_host h;
	detect(&f, &h);
	assert_true(h.swap_accounting);
	putf(&f, "root=/dev/sda1 swapaccount=0 quiet\n", "proc/cmdline");
	detect(&f, &h);
	assert_false(h.swap_accounting);
	fake_free(&f);
}

static void
test_detect_controller_disabled_in_proc_cgroups_is_absent(void **state)
{
	struct fake f;
	fake_unified(&f, "cpu memory pids\n", true);
	putf(&f,
	     "#subsys_name\thierarchy\tnum_cgroups\tenabled\n"
	     "cpu\t0\t1\t1\nmemory\t0\t1\t0\npids\t0\t1\t1\n",
	     "proc/cgroups");
	struct cg_host h;
	detect(&f, &h);
	assert_false(h.present[CG_MEMORY]);
	assert_true(h.present[CG_CPU]);
	fake_free(&f);
}

static void
test_detect_hybrid_puts_the_v1_controllers_on_v1(void **state)
{
	struct fake f;
	fake_hybrid(&f, false, true);
	struct cg_host h;
	detect(&f, &h);
	assert_int_equal(h.layout, CG_HYBRID);
	for (int c = 0; c < _CG_CONTROLLER_MAX; c++) {
		assert_true(h.present[c]);
		assert_true(h.v1[c]);
	}
	assert_true(h.swap_accounting);
	fake_free(&f);
}

static void
test_detect_hybrid_reads_comounted_cpu_cpuacct_from_the_mount_options(void **state)
{
	struct fake f;
	fake_hybrid(&f, true, false);
	struct cg_host h;
	detect(&f, &h);
	assert_int_equal(h.layout, CG_HYBRID);
	assert_true(h.v1[CG_CPU] && h.v1[CG_CPUACCT]);
	assert_false(h.swap_accounting); /* no memory.memsw.* in the root group */
	fake_free(&f);
}

static void
test_detect_v1_without_cgroup2_is_legacy(void **state)
{
	struct fake f;
	fake_hybrid(&f, false, true);
	/* drop the cgroup2 line */
	_cleanup_free_ char *mi = NULL;
	_cleanup_free_ char *path = xasprintf("%s/self/mountinfo", f.proc);
	assert_int_equal(read_file(path, 1u << 20, &mi, NULL), 0);
	*strstr(mi, "cgroup2") = '\0';
	*(strrchr(mi, '\n') + 1) = '\0';
	put(path, mi);
	struct cg_host h;
	detect(&f, &h);
	assert_int_equal(h.layout, CG_LEGACY);
	assert_true(h.v1[CG_MEMORY]);
	_cleanup_free_ char *p = cg_path(&h, CG_MEMORY, "lxc/101");
	_cleanup_free_ char *want = xasprintf("%s/memory/lxc/101", f.mnt);
	assert_string_equal(p, want);
	fake_free(&f);
}

static void
test_detect_without_a_cgroup_mount_fails_naming_the_mount_point(void **state)
{
	struct fake f;
	fake_init(&f);
	putf(&f, "21 26 0:20 / /sys rw - sysfs sysfs rw\n", "proc/self/mountinfo");
	struct cg_host h = { 0 };
	struct error err = { 0 };
	assert_int_equal(cg_detect_at(f.proc, f.mnt, &h, &err), -ENOENT);
	assert_non_null(strstr(err.msg, f.mnt));
	fake_free(&f);
}

static void
test_detect_a_later_cgroup2_mount_on_the_mount_point_hides_the_v1_ones(void **state)
{
	struct fake f;
	fake_hybrid(&f, false, true);
	_cleanup_free_ char *path = xasprintf("%s/self/mountinfo", f.proc);
	_cleanup_free_ char *mi = NULL;
	assert_int_equal(read_file(path, 1u << 20, &mi, NULL), 0);
	_cleanup_free_ char *more =
	        xasprintf("%s99 23 0:99 / %s rw,relatime - cgroup2 cgroup2 rw\n", mi, f.mnt);
	put(path, more);
	putf(&f, "cpu memory pids\n", "sys/fs/cgroup/cgroup.controllers");
	struct cg_host h;
	detect(&f, &h);
	assert_int_equal(h.layout, CG_UNIFIED);
	assert_false(h.v1[CG_MEMORY]);
	assert_true(h.present[CG_MEMORY]);
	fake_free(&f);
}

static void
test_detect_reads_mount_points_with_escaped_spaces(void **state)
{
	struct fake f;
	fake_init(&f);
	_cleanup_free_ char *mnt = xasprintf("%s/cg root", f.root);
	_cleanup_free_ char *mi =
	        xasprintf("30 21 0:26 / %s/cg\\040root rw - cgroup2 cgroup2 rw\n", f.root);
	putf(&f, mi, "proc/self/mountinfo");
	putf(&f, "cpu memory\n", "cg root/cgroup.controllers");
	struct cg_host h;
	struct error err = { 0 };
	assert_int_equal(cg_detect_at(f.proc, mnt, &h, &err), 0);
	assert_int_equal(h.layout, CG_UNIFIED);
	assert_true(h.present[CG_MEMORY]);
	fake_free(&f);
}

/* ---- paths ---- */

static void
test_path_is_per_hierarchy_on_hybrid_and_under_the_mount_on_unified(void **state)
{
	struct fake f;
	fake_unified(&f, "cpuset cpu io memory pids\n", true);
	struct cg_host h;
	detect(&f, &h);
	_cleanup_free_ char *u = cg_path(&h, CG_MEMORY, "lxc/101");
	_cleanup_free_ char *want_u = xasprintf("%s/lxc/101", f.mnt);
	assert_string_equal(u, want_u);
	fake_free(&f);

	fake_hybrid(&f, false, true);
	detect(&f, &h);
	_cleanup_free_ char *m = cg_path(&h, CG_MEMORY, "lxc/101");
	_cleanup_free_ char *want_m = xasprintf("%s/memory/lxc/101", f.mnt);
	assert_string_equal(m, want_m);
	_cleanup_free_ char *c = cg_path(&h, CG_CPUACCT, "lxc.monitor/101");
	_cleanup_free_ char *want_c = xasprintf("%s/cpuacct/lxc.monitor/101", f.mnt);
	assert_string_equal(c, want_c);
	fake_free(&f);
}

static void
test_path_on_hybrid_uses_unified_for_cgroup2_controllers(void **state)
{
	struct cg_host h = { .layout = CG_HYBRID, .mnt = "/sys/fs/cgroup" };
	h.present[CG_MEMORY] = h.v1[CG_MEMORY] = true;
	h.present[CG_PIDS] = true; /* on cgroup2 */
	_cleanup_free_ char *p = cg_path(&h, CG_PIDS, "lxc/101");
	assert_string_equal(p, "/sys/fs/cgroup/unified/lxc/101");
	assert_null(cg_path(&h, CG_CPUSET, "lxc/101"));
}

static void
test_path_is_null_for_absent_controllers_and_names_leaving_the_hierarchy(void **state)
{
	struct fake f;
	fake_unified(&f, "cpu memory\n", true);
	struct cg_host h;
	detect(&f, &h);
	assert_null(cg_path(&h, CG_BLKIO, "lxc/101"));
	static const char *const bad[] = { "",          "/lxc/101",  "../101",
		                           "lxc/../..", "lxc//101",  "lxc/101/",
		                           ".",         "lxc/./101", "lxc/1\n0" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char *p = cg_path(&h, CG_MEMORY, bad[i]);
		if (p)
			fail_msg("cg_path accepted '%s': %s", bad[i], p);
	}
	_cleanup_free_ char *dots = cg_path(&h, CG_MEMORY, "lxc.monitor/101");
	assert_non_null(dots);
	fake_free(&f);
}

/* ---- limit items ---- */

static void
collect(const char *key, const char *value, void *userdata)
{
	sb_printf(userdata, "%s = %s\n", key, value);
}

static void
all_present(struct cg_host *h, bool unified, bool swap)
{
	*h = (struct cg_host){ .layout = unified ? CG_UNIFIED : CG_HYBRID,
		               .mnt = "/sys/fs/cgroup",
		               .swap_accounting = swap };
	for (int c = 0; c < _CG_CONTROLLER_MAX; c++) {
		h->present[c] = true;
		h->v1[c] = !unified;
	}
}

static char *
items(const struct cg_host *h, uint64_t mem, uint64_t swap, double cpulimit, unsigned units,
      const char *cpuset)
{
	struct strbuf sb = { 0 };
	cg_limit_items(h, mem, swap, cpulimit, units, cpuset, collect, &sb);
	return sb.len ? sb_steal(&sb) : xstrdup("");
}

static void
test_limit_items_on_cgroup2_are_the_keys_pve_writes(void **state)
{
	struct cg_host h;
	all_present(&h, true, true);
	_cleanup_free_ char *s = items(&h, 512, 256, 1.5, 2048, "0-1");
	assert_string_equal(s, "lxc.cgroup2.memory.max = 536870912\n"
	                       "lxc.cgroup2.memory.swap.max = 268435456\n"
	                       "lxc.cgroup2.cpu.max = 150000 100000\n"
	                       "lxc.cgroup2.cpu.weight = 2048\n"
	                       "lxc.cgroup2.cpuset.cpus = 0-1\n");
}

static void
test_limit_items_on_v1_use_quota_period_shares_and_memsw_of_memory_plus_swap(void **state)
{
	struct cg_host h;
	all_present(&h, false, true);
	_cleanup_free_ char *s = items(&h, 512, 256, 1.5, 2048, "0-1");
	assert_string_equal(s, "lxc.cgroup.memory.limit_in_bytes = 536870912\n"
	                       "lxc.cgroup.memory.memsw.limit_in_bytes = 805306368\n"
	                       "lxc.cgroup.cpu.cfs_period_us = 100000\n"
	                       "lxc.cgroup.cpu.cfs_quota_us = 150000\n"
	                       "lxc.cgroup.cpu.shares = 2048\n"
	                       "lxc.cgroup.cpuset.cpus = 0-1\n");
}

static void
test_limit_items_from_a_detected_hybrid_tree_match_the_table(void **state)
{
	struct fake f;
	fake_hybrid(&f, true, true);
	struct cg_host h;
	detect(&f, &h);
	_cleanup_free_ char *s = items(&h, 1024, 0, 2, 1024, NULL);
	assert_string_equal(s, "lxc.cgroup.memory.limit_in_bytes = 1073741824\n"
	                       "lxc.cgroup.memory.memsw.limit_in_bytes = 1073741824\n"
	                       "lxc.cgroup.cpu.cfs_period_us = 100000\n"
	                       "lxc.cgroup.cpu.cfs_quota_us = 200000\n"
	                       "lxc.cgroup.cpu.shares = 1024\n");
	fake_free(&f);
}

static void
test_limit_items_leave_swap_out_without_swap_accounting(void **state)
{
	struct cg_host h;
	all_present(&h, true, false);
	_cleanup_free_ char *u = items(&h, 512, 256, 0, 0, NULL);
	assert_string_equal(u, "lxc.cgroup2.memory.max = 536870912\n");
	all_present(&h, false, false);
	_cleanup_free_ char *v = items(&h, 512, 256, 0, 0, NULL);
	assert_string_equal(v, "lxc.cgroup.memory.limit_in_bytes = 536870912\n");
}

static void
test_limit_items_write_swap_zero_to_forbid_swap_on_cgroup2(void **state)
{
	struct cg_host h;
	all_present(&h, true, true);
	_cleanup_free_ char *s = items(&h, 128, 0, 0, 0, NULL);
	assert_string_equal(s, "lxc.cgroup2.memory.max = 134217728\n"
	                       "lxc.cgroup2.memory.swap.max = 0\n");
}

static void
test_limit_items_are_empty_for_unset_values(void **state)
{
	struct cg_host h;
	all_present(&h, true, true);
	_cleanup_free_ char *s = items(&h, 0, 512, 0, 0, NULL);
	assert_string_equal(s, "");
	all_present(&h, false, true);
	_cleanup_free_ char *v = items(&h, 0, 512, 0, 0, "");
	assert_string_equal(v, "");
}

static void
test_limit_items_skip_absent_controllers(void **state)
{
	struct cg_host h;
	all_present(&h, true, true);
	h.present[CG_MEMORY] = h.present[CG_CPUSET] = false;
	_cleanup_free_ char *s = items(&h, 512, 256, 0.5, 0, "0");
	assert_string_equal(s, "lxc.cgroup2.cpu.max = 50000 100000\n");
}

static void
test_limit_items_clamp_cpuunits_to_the_kernels_range(void **state)
{
	struct cg_host h;
	all_present(&h, true, true);
	_cleanup_free_ char *u_hi = items(&h, 0, 0, 0, 500000, NULL);
	assert_string_equal(u_hi, "lxc.cgroup2.cpu.weight = 10000\n");
	_cleanup_free_ char *u_lo = items(&h, 0, 0, 0, 1, NULL);
	assert_string_equal(u_lo, "lxc.cgroup2.cpu.weight = 1\n");
	all_present(&h, false, true);
	_cleanup_free_ char *v_lo = items(&h, 0, 0, 0, 1, NULL);
	assert_string_equal(v_lo, "lxc.cgroup.cpu.shares = 2\n");
	_cleanup_free_ char *v_hi = items(&h, 0, 0, 0, 500000, NULL);
	assert_string_equal(v_hi, "lxc.cgroup.cpu.shares = 262144\n");
}

static void
test_limit_items_round_cpulimit_and_keep_the_kernels_minimum_quota(void **state)
{
	struct cg_host h;
	all_present(&h, true, true);
	/* 0.29 * 100000 is 28999.999… in binary floating point */
	_cleanup_free_ char *a = items(&h, 0, 0, 0.29, 0, NULL);
	assert_string_equal(a, "lxc.cgroup2.cpu.max = 29000 100000\n");
	_cleanup_free_ char *b = items(&h, 0, 0, 0.001, 0, NULL);
	assert_string_equal(b, "lxc.cgroup2.cpu.max = 1000 100000\n");
	_cleanup_free_ char *c = items(&h, 0, 0, 128, 0, NULL);
	assert_string_equal(c, "lxc.cgroup2.cpu.max = 12800000 100000\n");
}

/* ---- statistics ---- */

static void
test_read_stats_v1_subtracts_total_cache_and_takes_swap_from_memsw(void **state)
{
	struct fake f;
	fake_hybrid(&f, false, true);
	struct cg_host h;
	detect(&f, &h);
	const char *m = "sys/fs/cgroup/memory/lxc/101";
	putf(&f, "104857600\n", "%s/memory.usage_in_bytes", m);
	putf(&f,
	     "cache 4096\nrss 1000\ntotal_cache_x 1\nhierarchical_memory_limit 1\n"
	     "total_cache 20971520\ntotal_rss 83886080\n",
	     "%s/memory.stat", m);
	putf(&f, "536870912\n", "%s/memory.limit_in_bytes", m);
	putf(&f, "115343360\n", "%s/memory.memsw.usage_in_bytes", m);
	putf(&f, "805306368\n", "%s/memory.memsw.limit_in_bytes", m);
	putf(&f, "123456789\n", "sys/fs/cgroup/cpuacct/lxc/101/cpuacct.usage");
	putf(&f, "7\n", "sys/fs/cgroup/pids/lxc/101/pids.current");
	putf(&f,
	     "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Async 12288\n8:0 Discard 0\n"
	     "8:0 Total 12288\n8:16 Read 1000\n8:16 Write 24\n8:16 Total 1024\nTotal 13312\n",
	     "sys/fs/cgroup/blkio/lxc/101/blkio.throttle.io_service_bytes_recursive");
	struct cg_stats s;
	assert_int_equal(cg_read_stats(&h, "lxc/101", &s), 0);
	assert_int_equal(s.mem_bytes, 104857600 - 20971520);
	assert_int_equal(s.mem_limit, 536870912);
	assert_int_equal(s.swap_bytes, 10485760);
	assert_int_equal(s.swap_limit, 268435456);
	assert_int_equal(s.cpu_usage_ns, 123456789);
	assert_int_equal(s.pids, 7);
	assert_int_equal(s.blk_read_bytes, 5096);
	assert_int_equal(s.blk_write_bytes, 8216);
	fake_free(&f);
}

static void
test_read_stats_v1_reads_the_unlimited_page_counter_as_no_limit(void **state)
{
	struct fake f;
	fake_hybrid(&f, false, true);
	struct cg_host h;
	detect(&f, &h);
	const char *m = "sys/fs/cgroup/memory/lxc/101";
	putf(&f, "4096\n", "%s/memory.usage_in_bytes", m);
	putf(&f, "9223372036854771712\n", "%s/memory.limit_in_bytes", m);
	putf(&f, "4096\n", "%s/memory.memsw.usage_in_bytes", m);
	putf(&f, "9223372036854771712\n", "%s/memory.memsw.limit_in_bytes", m);
	struct cg_stats s;
	assert_int_equal(cg_read_stats(&h, "lxc/101", &s), 0);
	assert_int_equal(s.mem_bytes, 4096);
	assert_int_equal(s.mem_limit, 0);
	assert_int_equal(s.swap_bytes, 0);
	assert_int_equal(s.swap_limit, 0);
	assert_int_equal(s.cpu_usage_ns, 0); /* no cpuacct group: zero, not an error */
	fake_free(&f);
}

static void
test_read_stats_v2_subtracts_file_and_reads_cpu_stat_and_io_stat(void **state)
{
	struct fake f;
	fake_unified(&f, "cpuset cpu io memory pids\n", true);
	struct cg_host h;
	detect(&f, &h);
	const char *g = "sys/fs/cgroup/lxc/101";
	putf(&f, "104857600\n", "%s/memory.current", g);
	putf(&f, "anon 73400320\nfile_mapped 1\nfile 20971520\nkernel 100\nfile_dirty 5\n",
	     "%s/memory.stat", g);
	putf(&f, "536870912\n", "%s/memory.max", g);
	putf(&f, "1048576\n", "%s/memory.swap.current", g);
	putf(&f, "max\n", "%s/memory.swap.max", g);
	putf(&f, "usage_usec 5000\nuser_usec 3000\nsystem_usec 2000\nnr_periods 0\n", "%s/cpu.stat",
	     g);
	putf(&f, "3\n", "%s/pids.current", g);
	putf(&f,
	     "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n"
	     "253:0 rbytes=1000 wbytes=24 rios=1 wios=1 dbytes=7 dios=1\n",
	     "%s/io.stat", g);
	struct cg_stats s;
	assert_int_equal(cg_read_stats(&h, "lxc/101", &s), 0);
	assert_int_equal(s.mem_bytes, 104857600 - 20971520);
	assert_int_equal(s.mem_limit, 536870912);
	assert_int_equal(s.swap_bytes, 1048576);
	assert_int_equal(s.swap_limit, 0);
	assert_int_equal(s.cpu_usage_ns, 5000000);
	assert_int_equal(s.pids, 3);
	assert_int_equal(s.blk_read_bytes, 5096);
	assert_int_equal(s.blk_write_bytes, 8216);
	fake_free(&f);
}

static void
test_read_stats_of_a_missing_group_is_enoent_and_of_a_bad_name_einval(void **state)
{
	struct fake f;
	fake_unified(&f, "cpu memory\n", true);
	struct cg_host h;
	detect(&f, &h);
	struct cg_stats s;
	assert_int_equal(cg_read_stats(&h, "lxc/101", &s), -ENOENT);
	assert_int_equal(cg_read_stats(&h, "../etc", &s), -EINVAL);
	assert_int_equal(cg_read_stats(&h, "", &s), -EINVAL);
	fake_free(&f);

	fake_hybrid(&f, false, true);
	detect(&f, &h);
	assert_int_equal(cg_read_stats(&h, "lxc/101", &s), -ENOENT);
	fake_free(&f);
}

/* ---- removal and populated ---- */

static void
test_remove_deletes_empty_groups_deepest_first_and_keeps_the_parent(void **state)
{
	struct fake f;
	fake_unified(&f, "cpu memory\n", true);
	struct cg_host h;
	detect(&f, &h);
	mkdirs(&f, "sys/fs/cgroup/lxc/101/ns/inner");
	mkdirs(&f, "sys/fs/cgroup/lxc/1010");
	assert_int_equal(cg_remove(&h, "lxc/101"), 0);
	assert_false(exists(&f, "sys/fs/cgroup/lxc/101"));
	assert_true(exists(&f, "sys/fs/cgroup/lxc/1010"));
	assert_true(exists(&f, "sys/fs/cgroup/lxc"));
	/* again: nothing left is not an error */
	assert_int_equal(cg_remove(&h, "lxc/101"), 0);
	fake_free(&f);
}

static void
test_remove_leaves_busy_groups_and_reports_ebusy(void **state)
{
	struct fake f;
	fake_unified(&f, "cpu memory\n", true);
	struct cg_host h;
	detect(&f, &h);
	/* a file stands in for a process: rmdir of a plain directory fails like a busy group */
	putf(&f, "1234\n", "sys/fs/cgroup/lxc/102/ns/cgroup.procs");
	mkdirs(&f, "sys/fs/cgroup/lxc/102/idle");
	assert_int_equal(cg_remove(&h, "lxc/102"), -EBUSY);
	assert_true(exists(&f, "sys/fs/cgroup/lxc/102/ns/cgroup.procs"));
	assert_false(exists(&f, "sys/fs/cgroup/lxc/102/idle"));
	fake_free(&f);
}

static void
test_remove_on_hybrid_covers_every_hierarchy_including_named_and_unified(void **state)
{
	struct fake f;
	fake_hybrid(&f, true, true);
	struct cg_host h;
	detect(&f, &h);
	static const char *const dirs[] = { "cpu,cpuacct", "cpuset",  "memory",
		                            "devices",     "freezer", "blkio",
		                            "pids",        "systemd", "unified" };
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		_cleanup_free_ char *d = xasprintf("sys/fs/cgroup/%s/lxc.monitor/103", dirs[i]);
		mkdirs(&f, d);
	}
	assert_int_equal(cg_remove(&h, "lxc.monitor/103"), 0);
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		_cleanup_free_ char *d = xasprintf("sys/fs/cgroup/%s/lxc.monitor/103", dirs[i]);
		if (exists(&f, d))
			fail_msg("%s left behind", d);
		_cleanup_free_ char *parent = xasprintf("sys/fs/cgroup/%s/lxc.monitor", dirs[i]);
		assert_true(exists(&f, parent));
	}
	/* the symlinks to the co-mount are not touched */
	assert_true(exists(&f, "sys/fs/cgroup/cpu"));
	fake_free(&f);
}

static void
test_remove_refuses_names_that_would_reach_other_groups(void **state)
{
	struct fake f;
	fake_unified(&f, "cpu memory\n", true);
	struct cg_host h;
	detect(&f, &h);
	mkdirs(&f, "sys/fs/cgroup/lxc/104");
	mkdirs(&f, "sys/fs/cgroup/system.slice");
	assert_int_equal(cg_remove(&h, ""), -EINVAL);
	assert_int_equal(cg_remove(&h, "lxc/.."), -EINVAL);
	assert_int_equal(cg_remove(&h, "/lxc"), -EINVAL);
	assert_true(exists(&f, "sys/fs/cgroup/lxc/104"));
	assert_true(exists(&f, "sys/fs/cgroup/system.slice"));
	fake_free(&f);
}

static void
test_populated_reads_cgroup_events_on_cgroup2(void **state)
{
	struct fake f;
	fake_unified(&f, "cpu memory\n", true);
	struct cg_host h;
	detect(&f, &h);
	assert_false(cg_populated(&h, "lxc/105"));
	putf(&f, "populated 0\nfrozen 0\n", "sys/fs/cgroup/lxc/105/cgroup.events");
	assert_false(cg_populated(&h, "lxc/105"));
	putf(&f, "populated 1\nfrozen 0\n", "sys/fs/cgroup/lxc/105/cgroup.events");
	assert_true(cg_populated(&h, "lxc/105"));
	fake_free(&f);
}

static void
test_populated_on_v1_looks_for_pids_in_the_subtree(void **state)
{
	struct fake f;
	fake_hybrid(&f, false, true);
	struct cg_host h;
	detect(&f, &h);
	putf(&f, "", "sys/fs/cgroup/pids/lxc/106/cgroup.procs");
	putf(&f, "", "sys/fs/cgroup/pids/lxc/106/ns/cgroup.procs");
	assert_false(cg_populated(&h, "lxc/106"));
	putf(&f, "4242\n", "sys/fs/cgroup/pids/lxc/106/ns/cgroup.procs");
	assert_true(cg_populated(&h, "lxc/106"));
	fake_free(&f);
}

/* ---- the real host ---- */

static bool
looks_hybrid(void)
{
	struct stat st;
	return stat("/sys/fs/cgroup/memory/memory.usage_in_bytes", &st) == 0 &&
	       stat("/sys/fs/cgroup/unified/cgroup.controllers", &st) == 0 &&
	       stat("/sys/fs/cgroup/cgroup.controllers", &st) < 0;
}

static void
test_this_host_is_hybrid_with_memory_on_v1(void **state)
{
	if (!looks_hybrid()) {
		print_message("skipped: /sys/fs/cgroup is not the hybrid layout (no v1 memory "
		              "hierarchy beside cgroup2 at unified)\n");
		skip();
	}
	struct cg_host h;
	struct error err = { 0 };
	if (cg_detect(&h, &err) < 0)
		fail_msg("cg_detect: %s", err.msg);
	assert_int_equal(h.layout, CG_HYBRID);
	assert_string_equal(h.mnt, "/sys/fs/cgroup");
	assert_true(h.present[CG_MEMORY]);
	assert_true(h.v1[CG_MEMORY]);
	_cleanup_free_ char *p = cg_path(&h, CG_MEMORY, "lxc/101");
	assert_string_equal(p, "/sys/fs/cgroup/memory/lxc/101");
}

/* A real group: stats readable, populated while a process is in it, removable (control
 * files and all) once it is gone. */
static void
test_real_group_reads_stats_and_is_removed_after_its_process_exits(void **state)
{
	struct cg_host h;
	struct error err = { 0 };
	if (geteuid() != 0 || cg_detect(&h, &err) < 0 || !h.present[CG_MEMORY]) {
		print_message("skipped: needs root and a memory cgroup controller\n");
		skip();
	}
	_cleanup_free_ char *rel = xasprintf("berth-test-cgroup.%d/ns", (int)getpid());
	_cleanup_free_ char *top = xasprintf("berth-test-cgroup.%d", (int)getpid());
	_cleanup_free_ char *mem = cg_path(&h, CG_MEMORY, rel);
	if (mkdir_p(mem, 0755) < 0) {
		print_message("skipped: cannot create %s\n", mem);
		skip();
	}
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	_cleanup_free_ char *procs = xasprintf("%s/cgroup.procs", mem);
	char pid[32];
	snprintf(pid, sizeof(pid), "%d\n", (int)child);
	int w;
	{
		_cleanup_close_ int fd = open(procs, O_WRONLY | O_CLOEXEC);
		w = fd < 0 ? -errno : write_all(fd, pid, strlen(pid));
	}

	struct cg_stats s;
	int r = cg_read_stats(&h, rel, &s);
	bool populated = cg_populated(&h, top);
	int busy = cg_remove(&h, top);
	kill(child, SIGKILL);
	assert_int_equal(waitpid(child, NULL, 0), child);
	int removed = cg_remove(&h, top);
	struct stat st;
	bool gone = stat(mem, &st) < 0 && errno == ENOENT;

	assert_int_equal(w, 0);
	assert_int_equal(r, 0);
	assert_true(populated);
	assert_int_equal(busy, -EBUSY);
	assert_int_equal(removed, 0);
	assert_true(gone);
	assert_false(cg_populated(&h, top));
}

/* ---- favordynmods ---- */

/* mountinfo of this machine (hybrid) and of a systemd host (pure cgroup2) */
#define MI_HYBRID                                                                                  \
	"30 25 0:26 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"                      \
	"31 30 0:27 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"                     \
	"40 30 0:36 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
#define MI_SYSTEMD                                                                                 \
	"35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 "          \
	"cgroup2 rw,nsdelegate,memory_recursiveprot\n"

static void
test_dynmods_remount_keeps_the_mounts_flags_and_options(void **state)
{
	unsigned long flags = 0;
	char *data = NULL;
	assert_int_equal(cg_dynmods_remount(MI_HYBRID, "/sys/fs/cgroup/unified", &flags, &data), 1);
	assert_int_equal(flags, MS_REMOUNT | MS_RELATIME);
	assert_string_equal(data, "favordynmods");
	free(data);

	assert_int_equal(cg_dynmods_remount(MI_SYSTEMD, "/sys/fs/cgroup", &flags, &data), 1);
	assert_int_equal(flags, MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME);
	assert_string_equal(data, "nsdelegate,memory_recursiveprot,favordynmods");
	free(data);
}

static void
test_dynmods_remount_not_needed_or_not_cgroup2(void **state)
{
	unsigned long flags = 0;
	char *data = NULL;
	/* already on */
	const char *on = "40 30 0:36 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 "
	                 "rw,favordynmods\n";
	assert_int_equal(cg_dynmods_remount(on, "/sys/fs/cgroup/unified", &flags, &data), 0);
	/* a tmpfs, a v1 hierarchy, a path with no mount */
	assert_int_equal(cg_dynmods_remount(MI_HYBRID, "/sys/fs/cgroup", &flags, &data), 0);
	assert_int_equal(cg_dynmods_remount(MI_HYBRID, "/sys/fs/cgroup/cpu", &flags, &data), 0);
	assert_int_equal(cg_dynmods_remount(MI_HYBRID, "/nowhere", &flags, &data), 0);
	/* the last mount on a point is the one in use */
	_cleanup_free_ char *hidden = xasprintf("%s%s", MI_HYBRID, on);
	assert_int_equal(cg_dynmods_remount(hidden, "/sys/fs/cgroup/unified", &flags, &data), 0);
	assert_null(data);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detect_unified_puts_every_controller_on_cgroup2),
		cmocka_unit_test(test_dynmods_remount_keeps_the_mounts_flags_and_options),
		cmocka_unit_test(test_dynmods_remount_not_needed_or_not_cgroup2),
		cmocka_unit_test(
		        test_detect_unified_marks_controllers_missing_from_cgroup_controllers_absent),
		cmocka_unit_test(
		        test_detect_unified_without_memory_swap_files_has_no_swap_accounting),
		cmocka_unit_test(
		        test_detect_unified_without_child_groups_follows_swapaccount_on_the_command_line),
		cmocka_unit_test(test_detect_controller_disabled_in_proc_cgroups_is_absent),
		cmocka_unit_test(test_detect_hybrid_puts_the_v1_controllers_on_v1),
		cmocka_unit_test(
		        test_detect_hybrid_reads_comounted_cpu_cpuacct_from_the_mount_options),
		cmocka_unit_test(test_detect_v1_without_cgroup2_is_legacy),
		cmocka_unit_test(test_detect_without_a_cgroup_mount_fails_naming_the_mount_point),
		cmocka_unit_test(
		        test_detect_a_later_cgroup2_mount_on_the_mount_point_hides_the_v1_ones),
		cmocka_unit_test(test_detect_reads_mount_points_with_escaped_spaces),
		cmocka_unit_test(
		        test_path_is_per_hierarchy_on_hybrid_and_under_the_mount_on_unified),
		cmocka_unit_test(test_path_on_hybrid_uses_unified_for_cgroup2_controllers),
		cmocka_unit_test(
		        test_path_is_null_for_absent_controllers_and_names_leaving_the_hierarchy),
		cmocka_unit_test(test_limit_items_on_cgroup2_are_the_keys_pve_writes),
		cmocka_unit_test(
		        test_limit_items_on_v1_use_quota_period_shares_and_memsw_of_memory_plus_swap),
		cmocka_unit_test(test_limit_items_from_a_detected_hybrid_tree_match_the_table),
		cmocka_unit_test(test_limit_items_leave_swap_out_without_swap_accounting),
		cmocka_unit_test(test_limit_items_write_swap_zero_to_forbid_swap_on_cgroup2),
		cmocka_unit_test(test_limit_items_are_empty_for_unset_values),
		cmocka_unit_test(test_limit_items_skip_absent_controllers),
		cmocka_unit_test(test_limit_items_clamp_cpuunits_to_the_kernels_range),
		cmocka_unit_test(
		        test_limit_items_round_cpulimit_and_keep_the_kernels_minimum_quota),
		cmocka_unit_test(
		        test_read_stats_v1_subtracts_total_cache_and_takes_swap_from_memsw),
		cmocka_unit_test(test_read_stats_v1_reads_the_unlimited_page_counter_as_no_limit),
		cmocka_unit_test(test_read_stats_v2_subtracts_file_and_reads_cpu_stat_and_io_stat),
		cmocka_unit_test(
		        test_read_stats_of_a_missing_group_is_enoent_and_of_a_bad_name_einval),
		cmocka_unit_test(
		        test_remove_deletes_empty_groups_deepest_first_and_keeps_the_parent),
		cmocka_unit_test(test_remove_leaves_busy_groups_and_reports_ebusy),
		cmocka_unit_test(
		        test_remove_on_hybrid_covers_every_hierarchy_including_named_and_unified),
		cmocka_unit_test(test_remove_refuses_names_that_would_reach_other_groups),
		cmocka_unit_test(test_populated_reads_cgroup_events_on_cgroup2),
		cmocka_unit_test(test_populated_on_v1_looks_for_pids_in_the_subtree),
		cmocka_unit_test(test_this_host_is_hybrid_with_memory_on_v1),
		cmocka_unit_test(
		        test_real_group_reads_stats_and_is_removed_after_its_process_exits),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
