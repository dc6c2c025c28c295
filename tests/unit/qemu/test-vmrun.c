/* The VM runtime against a real QEMU under TCG: a VM without disks (SeaBIOS then waits at
 * "No bootable device", so no OS answers ACPI) with one NIC on a bridge the test creates.
 * Start, pause and resume seen over the daemon's monitor, shutdown timeouts, stop, what is
 * left afterwards (pidfile, sockets, cgroup, tap), failures at exec and inside QEMU, and a
 * QEMU killed from outside. Needs root and /usr/bin/qemu-system-x86_64; exits 77 (skipped)
 * without them. cgroups and taps are host-wide: the vmid is random in 900000..999999. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "basic/clock.h"
#include "basic/fileio.h"
#include "basic/strbuf.h"
#include "guest/cgroup.h"
#include "guest/guestconf.h"
#include "guest/qemu/qmp.h"
#include "guest/qemu/vmrun.h"

#include <glob.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define QEMU       "/usr/bin/qemu-system-x86_64"
#define BRIDGE_MTU 1400

static struct {
	unsigned vmid;
	char bridge[IFNAMSIZ];
	char tap[IFNAMSIZ];
	char tmp[64];
	char *run_dir;
	struct cg_host cg;
	bool have_cg;
	struct qemu_env q;
	struct vm_host h;
	struct strbuf log; /* what vm_start passed to its log callback */
} T;

static void
collect_line(const char *line, void *userdata)
{
	sb_printf(userdata, "%s\n", line);
}

static int run(const char *fmt, ...) _printf_(1, 2);
static int
run(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *cmd = NULL;
	if (vasprintf(&cmd, fmt, ap) < 0)
		abort();
	va_end(ap);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool
exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* A VM config for T.vmid: the common part plus extra lines. */
static struct vm_config *
config(const char *extra)
{
	_cleanup_free_ char *text =
	        xasprintf("name: vmrun-test\nmemory: 64\nkvm: 0\ncpulimit: 0.5\n"
	                  "net0: virtio=BC:24:11:5E:00:01,bridge=%s\n%s",
	                  T.bridge, extra ? extra : "");
	struct guestconf *gc = NULL;
	struct error err = { 0 };
	if (guestconf_parse(GUESTCONF_QEMU, text, "test", &gc, &err) < 0)
		fail_msg("config: %s", err.msg);
	struct vm_config *c = NULL;
	if (vm_config_from_section(&gc->main, T.vmid, &c, &err) < 0)
		fail_msg("config: %s", err.msg);
	guestconf_free(gc);
	return c;
}

static pid_t
start_config(const struct vm_config *c)
{
	struct error err = { 0 };
	pid_t pid = 0;
	sb_reset(&T.log);
	if (vm_start(&T.h, c, collect_line, &T.log, &pid, &err) < 0)
		fail_msg("vm_start: %s\nlog:\n%s", err.msg, sb_str(&T.log));
	return pid;
}

static pid_t
start(const char *extra)
{
	_cleanup_(vm_config_freep) struct vm_config *c = config(extra);
	return start_config(c);
}

static char *
run_path(const char *what)
{
	return qemu_run_path(&T.q, T.vmid, what);
}

static struct vm_live
live(bool with_qmp)
{
	struct vm_live l;
	_cleanup_(vm_config_freep) struct vm_config *c = config(NULL);
	assert_int_equal(vm_live(&T.h, c, with_qmp, &l), 0);
	return l;
}

static const char *
qmp_status(bool *ret_ok)
{
	static struct vm_live l;
	l = live(true);
	*ret_ok = l.qmp_ok;
	return l.qmpstatus;
}

static void
reap(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0) {
	}
}

/* The VM's cgroup directories in every hierarchy (v1 controllers, named ones, cgroup2) */
static size_t
cgroup_dirs(void)
{
	_cleanup_free_ char *v1 = xasprintf("/sys/fs/cgroup/*/qemu.slice/%u.scope", T.vmid);
	_cleanup_free_ char *v2 = xasprintf("/sys/fs/cgroup/qemu.slice/%u.scope", T.vmid);
	glob_t g = { 0 };
	size_t n = 0;
	if (glob(v1, 0, NULL, &g) == 0)
		n += g.gl_pathc;
	globfree(&g);
	return n + (exists(v2) ? 1 : 0);
}

static void
assert_nothing_left(void)
{
	assert_int_equal(vm_pid(&T.q, T.vmid), 0);
	static const char *const files[] = { "pid", "qmp", "mon", "vnc" };
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		_cleanup_free_ char *p = run_path(files[i]);
		if (exists(p))
			fail_msg("%s is left", p);
	}
	assert_int_equal(cgroup_dirs(), 0);
	_cleanup_free_ char *tap = xasprintf("/sys/class/net/%s", T.tap);
	if (exists(tap))
		fail_msg("%s is left", T.tap);
}

/* /sys/class/net/<dev>/<attr> as a number */
static uint64_t
net_attr(const char *dev, const char *attr)
{
	_cleanup_free_ char *p = xasprintf("/sys/class/net/%s/%s", dev, attr);
	_cleanup_free_ char *text = NULL;
	if (read_file(p, 64, &text, NULL) < 0)
		fail_msg("cannot read %s", p);
	return strtoull(text, NULL, 0);
}

/* ---- tests ---- */

static void
test_start_runs_the_guest_with_its_tap_on_the_bridge(void **state)
{
	pid_t pid = start(NULL);
	assert_true(pid > 0);
	assert_int_equal(vm_pid(&T.q, T.vmid), pid);

	json_t *st = NULL;
	struct error err = { 0 };
	assert_int_equal(vm_qmp(&T.h, T.vmid, "query-status", NULL, &st, &err), 0);
	assert_string_equal(json_string_value(json_object_get(st, "status")), "running");
	json_decref(st);

	/* the tap: on the bridge, with the bridge's MTU, up */
	_cleanup_free_ char *master = xasprintf("/sys/class/net/%s/master", T.tap);
	char link[PATH_MAX] = "";
	assert_true(readlink(master, link, sizeof(link) - 1) > 0);
	assert_string_equal(strrchr(link, '/') + 1, T.bridge);
	assert_int_equal(net_attr(T.tap, "mtu"), BRIDGE_MTU);
	assert_true(net_attr(T.tap, "flags") & IFF_UP);

	/* QEMU's stdio goes to its log, readable by root only, in a root-only directory */
	_cleanup_free_ char *log = run_path("log");
	struct stat sb;
	assert_int_equal(stat(log, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(stat(T.run_dir, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);

	if (T.have_cg) {
		/* in its cgroup, with cpulimit 0.5 as a CFS quota */
		_cleanup_free_ char *rel = vm_cgroup_rel(T.vmid);
		_cleanup_free_ char *dir = cg_path(&T.cg, CG_CPU, rel);
		_cleanup_free_ char *procs = xasprintf("%s/cgroup.procs", dir);
		_cleanup_free_ char *text = NULL;
		assert_int_equal(read_file(procs, 1 << 16, &text, NULL), 0);
		assert_int_equal(strtol(text, NULL, 10), pid);
		_cleanup_free_ char *quota = NULL;
		_cleanup_free_ char *qpath =
		        xasprintf("%s/%s", dir, T.cg.v1[CG_CPU] ? "cpu.cfs_quota_us" : "cpu.max");
		assert_int_equal(read_file(qpath, 64, &quota, NULL), 0);
		assert_true(startswith(quota, "50000"));
	}

	struct vm_live l = live(false);
	assert_true(l.running);
	assert_int_equal(l.pid, pid);
	assert_true(l.uptime < 60);
	assert_true(l.mem > 0);
	assert_true(l.cpu_ns > 0);
	assert_false(l.qmp_ok);
	assert_int_equal(vm_stop(&T.h, T.vmid, 5, &err), 0);
}

static void
test_start_with_a_link_down_nic_finds_it_for_set_link(void **state)
{
	/* set_link must find the NIC by the id qemu_argv gave it, or the start fails. (The
	 * link state itself is not visible from the host: QEMU 7.2 has no query for it.) */
	_cleanup_(vm_config_freep) struct vm_config *c = config(NULL);
	c->nets[0].link_down = 1;
	assert_true(start_config(c) > 0);
	struct error err = { 0 };
	assert_int_equal(vm_stop(&T.h, T.vmid, 5, &err), 0);
}

static void
test_qemu_outlives_the_worker_that_started_it(void **state)
{
	pid_t worker = fork();
	assert_true(worker >= 0);
	if (worker == 0) {
		_cleanup_(vm_config_freep) struct vm_config *c = config(NULL);
		struct error err = { 0 };
		_exit(vm_start(&T.h, c, NULL, NULL, NULL, &err) < 0 ? 1 : 0);
	}
	int status = 0;
	assert_int_equal(waitpid(worker, &status, 0), worker);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	pid_t pid = vm_pid(&T.q, T.vmid);
	assert_true(pid > 0);
	assert_int_not_equal(getsid(pid), getsid(0)); /* its own session */
	bool ok = false;
	assert_string_equal(qmp_status(&ok), "running");
	struct error err = { 0 };
	assert_int_equal(vm_stop(&T.h, T.vmid, 5, &err), 0);
	assert_nothing_left();
}

static void
test_start_refuses_a_running_vm(void **state)
{
	start(NULL);
	_cleanup_(vm_config_freep) struct vm_config *c = config(NULL);
	struct error err = { 0 };
	assert_int_equal(vm_start(&T.h, c, NULL, NULL, NULL, &err), -EEXIST);
	_cleanup_free_ char *want = xasprintf("VM %u already running", T.vmid);
	assert_string_equal(err.msg, want);
	assert_int_equal(vm_stop(&T.h, T.vmid, 5, &err), 0);
}

static void
test_pause_shows_in_live_status_over_the_daemons_monitor(void **state)
{
	start(NULL);
	struct error err = { 0 };
	assert_int_equal(vm_qmp(&T.h, T.vmid, "stop", NULL, NULL, &err), 0);
	/* a task holding the control socket does not keep the daemon from asking */
	_cleanup_free_ char *sock = run_path("qmp");
	struct qmp *held = NULL;
	assert_int_equal(qmp_connect(sock, 5000, &held, &err), 0);
	struct vm_live l = live(true);
	assert_true(l.qmp_ok);
	assert_string_equal(l.qmpstatus, "paused");
	assert_int_equal(l.balloon, 64ull << 20); /* memory: 64 */
	qmp_close(held);
	bool ok = false;

	assert_int_equal(vm_qmp(&T.h, T.vmid, "cont", NULL, NULL, &err), 0);
	assert_string_equal(qmp_status(&ok), "running");
	assert_int_equal(vm_stop(&T.h, T.vmid, 5, &err), 0);
}

static void
test_shutdown_without_force_times_out_and_leaves_qemu_running(void **state)
{
	pid_t pid = start(NULL);
	struct error err = { 0 };
	assert_int_equal(vm_shutdown(&T.h, T.vmid, 1, false, &err), -ETIMEDOUT);
	assert_string_equal(err.msg, "VM quit/powerdown failed - got timeout");
	assert_int_equal(vm_pid(&T.q, T.vmid), pid);
	bool ok = false;
	assert_string_equal(qmp_status(&ok), "running");
	error_clear(&err);
	assert_int_equal(vm_stop(&T.h, T.vmid, 5, &err), 0);
}

static void
test_shutdown_with_force_stops_and_leaves_nothing(void **state)
{
	start(NULL);
	struct error err = { 0 };
	assert_int_equal(vm_shutdown(&T.h, T.vmid, 1, true, &err), 0);
	assert_nothing_left();
}

static void
test_shutdown_resumes_a_paused_vm_first(void **state)
{
	pid_t pid = start(NULL);
	struct error err = { 0 };
	assert_int_equal(vm_qmp(&T.h, T.vmid, "stop", NULL, NULL, &err), 0);
	assert_int_equal(vm_shutdown(&T.h, T.vmid, 1, false, &err), -ETIMEDOUT);
	assert_int_equal(vm_pid(&T.q, T.vmid), pid);
	bool ok = false;
	assert_string_equal(qmp_status(&ok), "running");
	assert_int_equal(vm_stop(&T.h, T.vmid, 5, &err), 0);
}

static void
test_stop_quits_qemu_and_leaves_nothing(void **state)
{
	start(NULL);
	struct error err = { 0 };
	long long t0 = monotonic_ms();
	assert_int_equal(vm_stop(&T.h, T.vmid, 5, &err), 0);
	assert_true(monotonic_ms() - t0 < 5000); /* `quit` worked: no SIGTERM wait */
	assert_nothing_left();
}

static void
test_stop_falls_back_to_sigterm_when_the_monitor_is_busy(void **state)
{
	start(NULL);
	/* another client holds the control monitor: QEMU never greets a second one */
	_cleanup_free_ char *sock = run_path("qmp");
	struct qmp *held = NULL;
	struct error err = { 0 };
	assert_int_equal(qmp_connect(sock, 5000, &held, &err), 0);
	struct vm_host h = T.h;
	h.qmp_timeout_ms = 300;
	assert_int_equal(vm_qmp(&h, T.vmid, "stop", NULL, NULL, &err), -ETIMEDOUT);
	_cleanup_free_ char *want =
	        xasprintf("VM %u qmp command 'stop' failed - unable to connect to VM %u qmp "
	                  "socket - got timeout",
	                  T.vmid, T.vmid);
	assert_string_equal(err.msg, want);

	long long t0 = monotonic_ms();
	assert_int_equal(vm_stop(&h, T.vmid, 30, &err), 0);
	assert_true(monotonic_ms() - t0 < 5000); /* no wait for a quit that was never sent */
	qmp_close(held);
	assert_nothing_left();
}

static void
test_stop_of_a_stopped_vm_is_ok(void **state)
{
	struct error err = { 0 };
	assert_int_equal(vm_stop(&T.h, T.vmid, 1, &err), 0);
	assert_int_equal(vm_shutdown(&T.h, T.vmid, 1, false, &err), 0);
	assert_nothing_left();
}

static void
test_qmp_on_a_stopped_vm_says_not_running(void **state)
{
	struct error err = { 0 };
	assert_int_equal(vm_qmp(&T.h, T.vmid, "stop", NULL, NULL, &err), -ESRCH);
	_cleanup_free_ char *want = xasprintf("VM %u not running", T.vmid);
	assert_string_equal(err.msg, want);
}

static void
test_qmp_error_has_pve_text(void **state)
{
	start(NULL);
	struct error err = { 0 };
	assert_int_equal(vm_qmp(&T.h, T.vmid, "no-such-command", NULL, NULL, &err), -EIO);
	_cleanup_free_ char *want =
	        xasprintf("VM %u qmp command 'no-such-command' failed - ", T.vmid);
	assert_true(startswith(err.msg, want));
	error_clear(&err);
	assert_int_equal(vm_stop(&T.h, T.vmid, 5, &err), 0);
}

static void
test_exec_failure_is_reported_and_leaves_nothing(void **state)
{
	struct qemu_env q = T.q;
	q.binary = "/nonexistent/qemu-system-x86_64";
	struct vm_host h = T.h;
	h.q = &q;
	_cleanup_(vm_config_freep) struct vm_config *c = config(NULL);
	struct error err = { 0 };
	assert_int_equal(vm_start(&h, c, NULL, NULL, NULL, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "unable to run /nonexistent/qemu-system-x86_64"));
	assert_nothing_left();
}

static void
test_qemu_refusing_its_arguments_is_reported_from_its_log(void **state)
{
	/* qemu_argv passes machine versions through; this QEMU has no 9.2 */
	_cleanup_(vm_config_freep) struct vm_config *c = config("machine: pc-i440fx-9.2\n");
	struct error err = { 0 };
	sb_reset(&T.log);
	assert_int_equal(vm_start(&T.h, c, collect_line, &T.log, NULL, &err), -EIO);
	/* QEMU's error line, not the hint after it; the whole tail in the task log */
	assert_string_equal(err.msg, "start failed: QEMU exited with code 1 - "
	                             "qemu-system-x86_64: unsupported machine type");
	assert_non_null(strstr(sb_str(&T.log), "unsupported machine type\n"));
	assert_non_null(strstr(sb_str(&T.log), "-machine help"));
	assert_nothing_left();
}

static void
test_missing_bridge_is_named_before_qemu_starts(void **state)
{
	_cleanup_(vm_config_freep) struct vm_config *c =
	        config("net1: virtio=BC:24:11:5E:00:02,bridge=vmbr9999\n");
	struct error err = { 0 };
	assert_int_equal(vm_start(&T.h, c, NULL, NULL, NULL, &err), -ENODEV);
	assert_string_equal(err.msg, "bridge 'vmbr9999' does not exist");
	assert_nothing_left();
}

static void
test_vlan_tag_without_kernel_support_names_what_is_missing(void **state)
{
	_cleanup_(vm_config_freep) struct vm_config *c = config(NULL);
	c->nets[0].tag = 5;
	struct error err = { 0 };
	assert_int_equal(vm_start(&T.h, c, NULL, NULL, NULL, &err), -ENOTSUP);
	if (access("/proc/net/vlan", F_OK) < 0) {
		assert_non_null(strstr(err.msg, "net0: tag=5 needs a VLAN-aware bridge"));
		assert_non_null(strstr(err.msg, "8021q"));
		assert_non_null(strstr(err.msg, T.bridge));
	} else {
		assert_non_null(strstr(err.msg, "not implemented"));
	}
	assert_nothing_left();
}

static void
test_qemu_killed_from_outside_is_not_running_within_a_second(void **state)
{
	pid_t pid = start(NULL);
	assert_int_equal(kill(pid, SIGKILL), 0);
	long long deadline = monotonic_ms() + 1000;
	while (vm_pid(&T.q, T.vmid) != 0 && monotonic_ms() < deadline)
		sleep_ms(10);
	assert_int_equal(vm_pid(&T.q, T.vmid), 0);
	_cleanup_(vm_config_freep) struct vm_config *c = config(NULL);
	struct vm_live l;
	assert_int_equal(vm_live(&T.h, c, true, &l), 0);
	assert_false(l.running);
	/* the stop task then cleans up after it */
	struct error err = { 0 };
	assert_int_equal(vm_stop(&T.h, T.vmid, 1, &err), 0);
	reap();
	assert_nothing_left();
}

/* ---- fixture ---- */

static int
teardown_vm(void **state)
{
	/* a failed test must not leave a QEMU behind */
	struct error err = { 0 };
	pid_t pid = vm_pid(&T.q, T.vmid);
	if (pid > 0 && vm_stop(&T.h, T.vmid, 1, &err) < 0)
		kill(pid, SIGKILL);
	reap();
	return 0;
}

static int
setup_group(void **state)
{
	snprintf(T.tmp, sizeof(T.tmp), "/tmp/berth-vmrun-XXXXXX");
	if (!mkdtemp(T.tmp))
		return -1;
	T.run_dir = xasprintf("%s/qemu", T.tmp);
	T.q = (struct qemu_env){
		.binary = QEMU,
		.run_dir = T.run_dir,
		.kvm = false,
		.host_cpus = (unsigned)sysconf(_SC_NPROCESSORS_ONLN),
		.aio_default = "threads",
	};
	struct error err = { 0 };
	T.have_cg = cg_detect(&T.cg, &err) >= 0;
	T.h = (struct vm_host){ .q = &T.q, .cg = T.have_cg ? &T.cg : NULL };
	return 0;
}

static int
teardown_group(void **state)
{
	run("rm -rf '%s'", T.tmp);
	free(T.run_dir);
	sb_free(&T.log);
	return 0;
}

static void
test_runtime_needs_root_qemu_and_a_bridge(void **state)
{
	skip();
}

/* Exit 77 (meson's "skipped") with the reason; the one skipped case keeps cmocka's XML
 * report (scripts/run-tests.sh) truthful. */
static int skip_all(const char *fmt, ...) _printf_(1, 2);
static int
skip_all(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("skipped: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runtime_needs_root_qemu_and_a_bridge),
	};
	(void)cmocka_run_group_tests(tests, NULL, NULL);
	return 77;
}

int
main(void)
{
	if (geteuid() != 0)
		return skip_all("starting QEMU with taps and cgroups needs root");
	if (access(QEMU, X_OK) < 0)
		return skip_all("%s is not installed", QEMU);
	signal(SIGPIPE, SIG_IGN); /* as in berthd and its workers */
	srand((unsigned)(time(NULL) ^ getpid()));
	T.vmid = 900000 + (unsigned)rand() % 100000;
	snprintf(T.bridge, sizeof(T.bridge), "bvt%u", T.vmid);
	snprintf(T.tap, sizeof(T.tap), "tap%ui0", T.vmid);
	if (run("ip link add name %s mtu %d type bridge", T.bridge, BRIDGE_MTU) != 0)
		return skip_all("cannot create bridge %s", T.bridge);
	const struct CMUnitTest tests[] = {
#define T_(f) cmocka_unit_test_teardown(f, teardown_vm)
		T_(test_start_runs_the_guest_with_its_tap_on_the_bridge),
		T_(test_start_with_a_link_down_nic_finds_it_for_set_link),
		T_(test_qemu_outlives_the_worker_that_started_it),
		T_(test_start_refuses_a_running_vm),
		T_(test_pause_shows_in_live_status_over_the_daemons_monitor),
		T_(test_shutdown_without_force_times_out_and_leaves_qemu_running),
		T_(test_shutdown_with_force_stops_and_leaves_nothing),
		T_(test_shutdown_resumes_a_paused_vm_first),
		T_(test_stop_quits_qemu_and_leaves_nothing),
		T_(test_stop_falls_back_to_sigterm_when_the_monitor_is_busy),
		T_(test_stop_of_a_stopped_vm_is_ok),
		T_(test_qmp_on_a_stopped_vm_says_not_running),
		T_(test_qmp_error_has_pve_text),
		T_(test_exec_failure_is_reported_and_leaves_nothing),
		T_(test_qemu_refusing_its_arguments_is_reported_from_its_log),
		T_(test_missing_bridge_is_named_before_qemu_starts),
		T_(test_vlan_tag_without_kernel_support_names_what_is_missing),
		T_(test_qemu_killed_from_outside_is_not_running_within_a_second),
#undef T_
	};
	int r = cmocka_run_group_tests(tests, setup_group, teardown_group);
	run("ip link del %s", T.bridge);
	return r;
}
