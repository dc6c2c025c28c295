/* Running VMs: QEMU forked detached from a task worker, spoken to over QMP; observation from
 * the pidfile, /proc, the cgroup and sysfs. See vmrun.h. */
#include "guest/qemu/vmrun.h"
#include "basic/clock.h"
#include "basic/fileio.h"
#include "guest/qemu/qmp.h"
#include "shared/netrate.h"
#include "shared/run.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/if.h>
#include <linux/sockios.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* QEMU answers on QMP ~40 ms after exec under TCG; a loaded host gets far more. */
#define QMP_READY_TIMEOUT_MS 30000
/* vm_live's whole QMP exchange (connect + three queries): the daemon waits for it */
#define LIVE_QMP_BUDGET_MS 2000
/* After QEMU's main thread is gone its other threads still exit, then the cgroup empties. */
#define CGROUP_DRAIN_MS 5000
/* vm_stop after SIGTERM (PVE: 10 s), and after SIGKILL */
#define STOP_TERM_WAIT_MS 10000
#define STOP_KILL_WAIT_MS 5000
/* vm_shutdown with force, once the guest did not power off: `quit` gets this long */
#define FORCE_QUIT_TIMEOUT_S 10
/* a screenshot on the daemon's monitor: connect and the PNG written */
#define SCREENDUMP_TIMEOUT_MS 5000
/* iproute2's traffic control, for rate= */

char *
vm_cgroup_rel(unsigned vmid)
{
	return xasprintf("qemu.slice/%u.scope", vmid);
}

static int
qmp_timeout(const struct vm_host *h)
{
	return h->qmp_timeout_ms > 0 ? h->qmp_timeout_ms : 10000;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
	}
}

static int
ms_left(long long deadline)
{
	long long left = deadline - monotonic_ms();
	return left > 0 ? (int)MIN(left, (long long)INT32_MAX) : 0;
}

static uint64_t
sysfs_u64(const char *path)
{
	_cleanup_free_ char *text = NULL;
	if (read_file(path, 64, &text, NULL) < 0)
		return 0;
	return strtoull(text, NULL, 10);
}

/* ---- QMP ---- */

/* Connect to a monitor socket within timeout_ms. QEMU listens with a backlog of one and
 * accepts one client per monitor: a blocking connect() to a busy or hung QEMU could wait
 * forever, so connect without blocking and retry until the deadline. */
static int
qmp_connect_bounded(const char *path, int timeout_ms, struct qmp **ret, struct error *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return error_set(err, ENAMETOOLONG, "socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	long long deadline = monotonic_ms() + timeout_ms;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return error_errno(err, negative_errno(), "unable to create a socket");
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = negative_errno();
		if ((r != -EAGAIN && r != -EINTR) || !ms_left(deadline)) {
			close(fd);
			return r == -EAGAIN ? error_set(err, ETIMEDOUT, "got timeout")
			                    : error_errno(err, r, "%s", path);
		}
		sleep_ms(10);
	}
	(void)fd_nonblock(fd, false);
	int r = qmp_open_fd(fd, MAX(ms_left(deadline), 1), ret, err);
	if (r == -ETIMEDOUT) /* connected but never greeted: another client has the monitor */
		return error_set(err, ETIMEDOUT, "got timeout");
	return r;
}

/* PVE's texts: "VM 100 qmp command 'cont' failed - got timeout" */
int
vm_qmp_run(struct qmp *q, unsigned vmid, const char *command, json_t *args, int timeout,
           json_t **ret, struct error *err)
{
	struct error e = { 0 };
	if (timeout <= 0)
		timeout = 10000;
	int r = qmp_command(q, command, args, timeout, ret, &e);
	if (r == -ETIMEDOUT)
		return error_set(err, ETIMEDOUT, "VM %u qmp command '%s' failed - got timeout",
		                 vmid, command);
	if (r < 0)
		return error_set(err, -r, "VM %u qmp command '%s' failed - %s", vmid, command,
		                 e.msg[0] ? e.msg : strerror(-r));
	return 0;
}

int
vm_qmp_open(const struct vm_host *h, unsigned vmid, const char *command, struct qmp **ret,
            struct error *err)
{
	_cleanup_free_ char *sock = qemu_run_path(h->q, vmid, "qmp");
	struct error e = { 0 };
	int r = qmp_connect_bounded(sock, qmp_timeout(h), ret, &e);
	if (r < 0)
		return error_set(err, -r,
		                 "VM %u qmp command '%s' failed - unable to connect to VM %u qmp "
		                 "socket - %s",
		                 vmid, command, vmid, e.msg);
	return 0;
}

/* ---- observation ---- */

/* QEMU's pid and its start time (against pid reuse while we wait for it), or 0. */
static pid_t
running_pid(const struct qemu_env *q, unsigned vmid, unsigned long long *ret_start)
{
	_cleanup_free_ char *pidfile = qemu_run_path(q, vmid, "pid");
	_cleanup_free_ char *text = NULL;
	if (read_file(pidfile, 64, &text, NULL) < 0)
		return 0;
	char *end = NULL;
	long pid = strtol(text, &end, 10);
	if (pid <= 1 || pid > INT32_MAX || end == text)
		return 0;
	/* the process must be that QEMU: its command line names this pidfile (a zombie's is
	 * empty; a reused pid names something else) */
	_cleanup_free_ char *cmdpath = xasprintf("/proc/%ld/cmdline", pid);
	_cleanup_free_ char *cmd = NULL;
	size_t len = 0;
	if (read_file(cmdpath, 1u << 20, &cmd, &len) < 0 || len == 0)
		return 0;
	bool found = false;
	for (size_t i = 0; i < len && !found; i += strlen(cmd + i) + 1)
		found = streq(cmd + i, pidfile);
	unsigned long long start = 0;
	if (!found || proc_start_time((pid_t)pid, &start) < 0)
		return 0;
	if (ret_start)
		*ret_start = start;
	return (pid_t)pid;
}

pid_t
vm_pid(const struct qemu_env *q, unsigned vmid)
{
	return running_pid(q, vmid, NULL);
}

/* Fields 14 (utime) and 15 (stime) of /proc/<pid>/stat, in ticks; 0 when unreadable. */
static void
proc_stat_times(pid_t pid, uint64_t *ret_cpu_ns, uint64_t *ret_start_ticks)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/stat", (int)pid);
	_cleanup_free_ char *text = NULL;
	if (read_file(path, 4096, &text, NULL) < 0)
		return;
	/* the command name may hold spaces and parentheses: fields count from the last ')' */
	const char *p = strrchr(text, ')');
	unsigned long long utime = 0, stime = 0, start = 0;
	if (!p || sscanf(p + 1,
	                 " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d "
	                 "%*d %*d %llu",
	                 &utime, &stime, &start) != 3)
		return;
	long hz = sysconf(_SC_CLK_TCK);
	if (hz <= 0)
		return;
	*ret_cpu_ns = (uint64_t)(utime + stime) * (1000000000ull / (unsigned long long)hz);
	*ret_start_ticks = start;
}

static uint64_t
uptime_s(uint64_t start_ticks)
{
	_cleanup_free_ char *text = NULL;
	long hz = sysconf(_SC_CLK_TCK);
	if (!start_ticks || hz <= 0 || read_file("/proc/uptime", 128, &text, NULL) < 0)
		return 0;
	double up = strtod(text, NULL);
	double started = (double)start_ticks / (double)hz;
	return up > started ? (uint64_t)(up - started) : 0;
}

/* RSS of pid in bytes (when there is no cgroup to ask) */
static uint64_t
proc_rss(pid_t pid)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/statm", (int)pid);
	_cleanup_free_ char *text = NULL;
	if (read_file(path, 256, &text, NULL) < 0)
		return 0;
	unsigned long long size = 0, rss = 0;
	if (sscanf(text, "%llu %llu", &size, &rss) != 2)
		return 0;
	return rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* query-status, query-balloon and query-blockstats on the daemon's monitor (<vmid>.mon), all
 * within one budget: a task holding <vmid>.qmp does not block it, a hung QEMU costs at most
 * the budget. */
static void
live_from_qmp(const struct vm_host *h, unsigned vmid, struct vm_live *l)
{
	int budget = MIN(qmp_timeout(h), LIVE_QMP_BUDGET_MS);
	long long deadline = monotonic_ms() + budget;
	_cleanup_free_ char *mon = qemu_run_path(h->q, vmid, "mon");
	struct qmp *q = NULL;
	struct error err = { 0 };
	if (qmp_connect_bounded(mon, budget, &q, &err) < 0)
		return;
	json_t *ret = NULL;
	if (ms_left(deadline) &&
	    qmp_command(q, "query-status", NULL, ms_left(deadline), &ret, &err) >= 0) {
		const char *st = json_string_value(json_object_get(ret, "status"));
		if (st) {
			snprintf(l->qmpstatus, sizeof(l->qmpstatus), "%s", st);
			l->qmp_ok = true;
		}
		json_decref(ret);
		ret = NULL;
	}
	/* no balloon device (balloon: 0) answers with an error: balloon stays 0 */
	if (l->qmp_ok && ms_left(deadline) &&
	    qmp_command(q, "query-balloon", NULL, ms_left(deadline), &ret, &err) >= 0) {
		json_int_t actual = json_integer_value(json_object_get(ret, "actual"));
		l->balloon = actual > 0 ? (uint64_t)actual : 0;
		json_decref(ret);
		ret = NULL;
	}
	if (l->qmp_ok && ms_left(deadline) &&
	    qmp_command(q, "query-blockstats", NULL, ms_left(deadline), &ret, &err) >= 0) {
		size_t i;
		json_t *dev;
		l->diskread = l->diskwrite = 0;
		json_array_foreach (ret, i, dev) {
			json_t *s = json_object_get(dev, "stats");
			json_int_t rd = json_integer_value(json_object_get(s, "rd_bytes"));
			json_int_t wr = json_integer_value(json_object_get(s, "wr_bytes"));
			l->diskread += rd > 0 ? (uint64_t)rd : 0;
			l->diskwrite += wr > 0 ? (uint64_t)wr : 0;
		}
		json_decref(ret);
	}
	qmp_close(q);
}

int
vm_screendump(const struct vm_host *h, unsigned vmid, const char *path, struct error *err)
{
	if (vm_pid(h->q, vmid) <= 0)
		return error_set(err, ESRCH, "VM %u not running", vmid);
	_cleanup_free_ char *mon = qemu_run_path(h->q, vmid, "mon");
	struct qmp *q = NULL;
	struct error e = { 0 };
	int r = qmp_connect_bounded(mon, SCREENDUMP_TIMEOUT_MS, &q, &e);
	if (r < 0)
		return error_set(
		        err, -r,
		        "VM %u qmp command 'screendump' failed - unable to connect to VM %u "
		        "qmp socket - %s",
		        vmid, vmid, e.msg);
	json_t *args = json_pack("{s:s, s:s}", "filename", path, "format", "png");
	r = vm_qmp_run(q, vmid, "screendump", args, SCREENDUMP_TIMEOUT_MS, NULL, err);
	json_decref(args);
	qmp_close(q);
	return r;
}

int
vm_live(const struct vm_host *h, const struct vm_config *c, bool with_qmp, struct vm_live *ret)
{
	*ret = (struct vm_live){ 0 };
	pid_t pid = vm_pid(h->q, c->vmid);
	if (pid <= 0)
		return 0;
	ret->running = true;
	ret->pid = pid;
	uint64_t own_cpu = 0, start = 0;
	proc_stat_times(pid, &own_cpu, &start);
	ret->uptime = uptime_s(start);
	_cleanup_free_ char *rel = vm_cgroup_rel(c->vmid);
	struct cg_stats st = { 0 };
	if (h->cg && cg_read_stats(h->cg, rel, &st) >= 0) {
		ret->cpu_ns = st.cpu_usage_ns;
		ret->mem = st.mem_bytes;
		ret->diskread = st.blk_read_bytes;
		ret->diskwrite = st.blk_write_bytes;
	}
	if (!ret->cpu_ns)
		ret->cpu_ns = own_cpu;
	if (!ret->mem)
		ret->mem = proc_rss(pid);
	for (size_t i = 0; i < c->n_nets; i++) {
		char tap[16];
		if (qemu_tap_name(c->vmid, c->nets[i].index, tap) < 0)
			continue;
		/* the guest's view, as PVE: what the tap transmits reaches the guest */
		_cleanup_free_ char *tx = xasprintf("/sys/class/net/%s/statistics/tx_bytes", tap);
		_cleanup_free_ char *rx = xasprintf("/sys/class/net/%s/statistics/rx_bytes", tap);
		ret->netin += sysfs_u64(tx);
		ret->netout += sysfs_u64(rx);
	}
	if (with_qmp)
		live_from_qmp(h, c->vmid, ret);
	return 0;
}

/* ---- cleanup ---- */

/* The last lines of QEMU's log into log(); into *ret_last the last error QEMU reported
 * ("qemu-system-x86_64: ..."; hints that follow it have no prefix), else the last line. */
static void
log_tail(const struct vm_host *h, unsigned vmid, vm_log_fn log, void *userdata, char **ret_last)
{
	const char *slash = strrchr(h->q->binary, '/');
	_cleanup_free_ char *prefix = xasprintf("%s: ", slash ? slash + 1 : h->q->binary);
	bool have_error = false;
	_cleanup_free_ char *path = qemu_run_path(h->q, vmid, "log");
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	if (read_file(path, 1u << 20, &text, &len) < 0)
		return;
	size_t start = len > 4096 ? len - 4096 : 0;
	char *p = text + start, *save = NULL;
	if (start && strchr(p, '\n'))
		p = strchr(p, '\n') + 1;
	for (char *line = strtok_r(p, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!line[strspn(line, " \t\r")])
			continue;
		if (log)
			log(line, userdata);
		bool is_error = startswith(line, prefix);
		if (is_error || !have_error) {
			free(*ret_last);
			*ret_last = xstrdup(line);
		}
		have_error = have_error || is_error;
	}
}

/* The sockets and the pidfile; the log stays for the next look, the efivars copy for the
 * next start. */
static void
remove_run_files(const struct vm_host *h, unsigned vmid)
{
	static const char *const what[] = { "qmp",     "mon",     "pid",     "vnc",    "qga",
		                            "serial0", "serial1", "serial2", "serial3" };
	for (size_t i = 0; i < ARRAY_SIZE(what); i++) {
		_cleanup_free_ char *p = qemu_run_path(h->q, vmid, what[i]);
		(void)unlink(p);
	}
}

void
vm_cleanup_stopped(const struct vm_host *h, unsigned vmid)
{
	remove_run_files(h, vmid);
	if (!h->cg)
		return;
	_cleanup_free_ char *rel = vm_cgroup_rel(vmid);
	long long deadline = monotonic_ms() + CGROUP_DRAIN_MS;
	while (cg_remove(h->cg, rel) == -EBUSY && ms_left(deadline))
		sleep_ms(20);
}

/* Wait until QEMU (pid, started at start) has exited. Our own child (QEMU started by this
 * worker) must be reaped to go away; a zombie counts as gone. */
static bool
wait_exit(pid_t pid, unsigned long long start, long timeout_ms)
{
	long long deadline = monotonic_ms() + timeout_ms;
	for (;;) {
		(void)waitpid(pid, NULL, WNOHANG);
		if (!proc_alive(pid, start))
			return true;
		if (!ms_left(deadline))
			return false;
		sleep_ms(20);
	}
}

/* kill(), unless pid is no longer that QEMU (exited and its pid reused) */
static void
kill_same(pid_t pid, unsigned long long start, int sig)
{
	if (proc_alive(pid, start))
		(void)kill(pid, sig);
}

/* ---- taps ---- */

static int
if_ioctl(unsigned long req, struct ifreq *ifr)
{
	_cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return negative_errno();
	return ioctl(fd, req, ifr) < 0 ? negative_errno() : 0;
}

static bool
ifname_ok(const char *name)
{
	return name && *name && strlen(name) < IFNAMSIZ && !strchr(name, '/') &&
	       !streq(name, ".") && !streq(name, "..");
}

static bool
is_bridge(const char *name)
{
	_cleanup_free_ char *p = xasprintf("/sys/class/net/%s/bridge", name);
	struct stat st;
	return ifname_ok(name) && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* What PVE's tap_plug needs of the host, checked before QEMU is forked so that a typo in a
 * bridge name costs no QEMU start. */
static int
check_net(const struct vm_net *n, struct error *err)
{
	if (!n->bridge)
		return 0;
	if (!is_bridge(n->bridge))
		return error_set(err, ENODEV, "bridge '%s' does not exist", n->bridge);
	if (n->tag == VM_UNSET && !n->trunks)
		return 0;
	/* PVE puts a tagged NIC on a VLAN-aware bridge (bridge vlan add) or on a vmbrXvN
	 * bridge over an 802.1Q sub-interface of the bridge's port */
	_cleanup_free_ char *vf = xasprintf("/sys/class/net/%s/bridge/vlan_filtering", n->bridge);
	bool aware = sysfs_u64(vf) == 1;
	bool dot1q = access("/proc/net/vlan", F_OK) == 0;
	char what[64];
	if (n->tag != VM_UNSET)
		snprintf(what, sizeof(what), "tag=%lld", n->tag);
	else
		snprintf(what, sizeof(what), "trunks=%s", n->trunks);
	if (!aware && !dot1q)
		return error_set(
		        err, ENOTSUP,
		        "net%u: %s needs a VLAN-aware bridge or the kernel's 8021q module: "
		        "bridge '%s' has no VLAN filtering (vlan_filtering is not 1) and "
		        "8021q is not loaded (no /proc/net/vlan)",
		        n->index, what, n->bridge);
	return error_set(err, ENOTSUP, "net%u: VLANs (%s) are not implemented in Berth yet",
	                 n->index, what);
}

static unsigned
bridge_mtu(const struct vm_host *h, const char *br)
{
	if (h->q->bridge_mtu)
		return h->q->bridge_mtu(br, h->q->userdata);
	_cleanup_free_ char *p = xasprintf("/sys/class/net/%s/mtu", br);
	return (unsigned)sysfs_u64(p);
}

/* PVE's tap_plug for the tap QEMU created: MTU (the NIC's, else the bridge's), bridge, up. */
int
vm_tap_plug(const struct vm_host *h, unsigned vmid, const struct vm_net *n, vm_log_fn log,
            void *userdata, struct error *err)
{
	char tap[16];
	if (qemu_tap_name(vmid, n->index, tap) < 0)
		return error_set(err, EINVAL, "net%u: tap name too long", n->index);
	int r = check_net(n, err);
	if (r < 0)
		return r;
	const char *br = n->bridge;
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", tap);
	if ((r = if_ioctl(SIOCGIFINDEX, &ifr)) < 0)
		return error_errno(err, r, "tap device %s does not exist", tap);
	int index = ifr.ifr_ifindex;

	unsigned mtu = n->mtu > 1 ? (unsigned)n->mtu : bridge_mtu(h, br);
	if (mtu) {
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, IFNAMSIZ, "%s", tap);
		ifr.ifr_mtu = (int)mtu;
		if ((r = if_ioctl(SIOCSIFMTU, &ifr)) < 0)
			return error_errno(err, r, "unable to set MTU %u on %s", mtu, tap);
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", br);
	ifr.ifr_ifindex = index;
	if ((r = if_ioctl(SIOCBRADDIF, &ifr)) < 0)
		return error_errno(err, r, "unable to add %s to bridge %s", tap, br);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", tap);
	if ((r = if_ioctl(SIOCGIFFLAGS, &ifr)) >= 0) {
		ifr.ifr_flags |= IFF_UP;
		r = if_ioctl(SIOCSIFFLAGS, &ifr);
	}
	if (r < 0)
		return error_errno(err, r, "unable to bring %s up", tap);

	char line[200];
	/* a new tap has no qdisc: nothing to clear when there is no limit */
	if (n->rate > 0 && (r = net_rate_limit(tap, n->rate, err)) < 0)
		return r;
	if (r > 0 && log) {
		snprintf(line, sizeof(line), "net%u: rate=%g " NET_RATE_ONE_WAY, n->index, n->rate);
		log(line, userdata);
	}
	if (n->firewall == 1 && log) {
		snprintf(line, sizeof(line),
		         "net%u: firewall=1 is not applied: Berth has no guest firewall yet",
		         n->index);
		log(line, userdata);
	}
	return 0;
}

int
vm_tap_unplug(unsigned vmid, unsigned index, struct error *err)
{
	char tap[16];
	if (qemu_tap_name(vmid, index, tap) < 0)
		return error_set(err, EINVAL, "net%u: tap name too long", index);
	_cleanup_free_ char *master = xasprintf("/sys/class/net/%s/master", tap);
	char target[PATH_MAX];
	ssize_t n = readlink(master, target, sizeof(target) - 1);
	if (n <= 0)
		return 0;
	target[n] = '\0';
	const char *br = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
	if (!ifname_ok(br))
		return error_set(err, EINVAL, "%s: odd bridge name", tap);
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", tap);
	int r = if_ioctl(SIOCGIFINDEX, &ifr);
	if (r < 0)
		return error_errno(err, r, "tap device %s does not exist", tap);
	int ifindex = ifr.ifr_ifindex;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, br, strlen(br) + 1);
	ifr.ifr_ifindex = ifindex;
	if ((r = if_ioctl(SIOCBRDELIF, &ifr)) < 0)
		return error_errno(err, r, "unable to remove %s from bridge %s", tap, br);
	return 0;
}

/* ---- start ---- */

static int
copy_file(const char *from, const char *to, struct error *err)
{
	_cleanup_free_ char *data = NULL;
	size_t len = 0;
	int r = read_file(from, 64u << 20, &data, &len);
	if (r < 0)
		return error_errno(err, r, "unable to read '%s'", from);
	r = write_file_atomic(to, data, len, 0600);
	if (r < 0)
		return error_errno(err, r, "unable to write '%s'", to);
	return 0;
}

/* bios=ovmf without efidisk0: a private vars copy (PVE's /tmp/<vmid>-ovmf.fd), from the
 * template that matches the code qemu_argv picks then: efitype 2m's. */
static int
prepare_efivars(const struct vm_host *h, const struct vm_config *c, struct error *err)
{
	if (!c->bios || !streq(c->bios, "ovmf"))
		return 0;
	for (size_t i = 0; i < c->n_disks; i++)
		if (c->disks[i].bus == VM_BUS_EFIDISK)
			return 0;
	_cleanup_free_ char *vars = qemu_run_path(h->q, c->vmid, "efivars");
	if (access(vars, F_OK) == 0)
		return 0;
	const char *tmpl = h->q->ovmf_2m.vars;
	if (!tmpl)
		return error_set(err, ENOENT,
		                 "no OVMF vars template for efitype=2m (is the ovmf package "
		                 "installed?)");
	return copy_file(tmpl, vars, err);
}

/* What the child tells the parent through the close-on-exec pipe when it cannot exec. */
enum exec_stage { STAGE_SESSION, STAGE_CGROUP, STAGE_STDIO, STAGE_EXEC };
struct exec_failure {
	int stage;
	int error;
};

/* Close every fd from 3 up but keep. */
static void
close_fds_but(int keep)
{
	if ((keep == 3 || close_range(3, (unsigned)keep - 1, 0) == 0) &&
	    close_range((unsigned)keep + 1, ~0u, 0) == 0)
		return;
	for (int fd = 3; fd < 65536; fd++)
		if (fd != keep)
			close(fd);
}

/* In the child: own session, the VM's cgroup, default signal handling, stdin /dev/null,
 * stdout and stderr to the log, no other fds, exec. Never returns. */
_noreturn_ static void
exec_qemu(const struct vm_host *h, const char *rel, char **argv, int logfd, int errfd)
{
	struct exec_failure f = { STAGE_SESSION, 0 };
	struct error err = { 0 };
	int null;
	for (int s = 1; s < NSIG; s++)
		(void)signal(s, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	if (setsid() < 0)
		goto fail;
	f.stage = STAGE_CGROUP;
	if (h->cg && cg_attach(h->cg, rel, 0, &err) < 0) {
		errno = err.code ? err.code : EIO;
		goto fail;
	}
	f.stage = STAGE_STDIO;
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null < 0 || dup2(null, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0 ||
	    chdir("/") < 0)
		goto fail;
	close_fds_but(errfd); /* which goes at exec */
	f.stage = STAGE_EXEC;
	execv(argv[0], argv);
fail:
	f.error = errno;
	if (write(errfd, &f, sizeof(f)) < 0) {
		/* nobody left to tell */
	}
	_exit(127);
}

/* fd moved to 3 or above (close-on-exec), so the child's dup2 onto 0..2 cannot hit it. */
static int
fd_above_stdio(int fd)
{
	if (fd < 0 || fd > 2)
		return fd;
	int n = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	int saved = errno;
	close(fd);
	errno = saved;
	return n;
}

/* Fork and exec QEMU; 0 when it runs (exec succeeded), else err says what failed. */
static int
spawn_qemu(const struct vm_host *h, unsigned vmid, const char *rel, char **argv, pid_t *ret_pid,
           struct error *err)
{
	_cleanup_free_ char *logpath = qemu_run_path(h->q, vmid, "log");
	_cleanup_close_ int logfd = fd_above_stdio(
	        open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
	if (logfd < 0 || fchmod(logfd, 0600) < 0) /* an older log may have another mode */
		return error_errno(err, negative_errno(), "unable to open QEMU's log '%s'",
		                   logpath);
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return error_errno(err, negative_errno(), "unable to create a pipe");
	_cleanup_close_ int rd = fd_above_stdio(p[0]), wr = fd_above_stdio(p[1]);
	if (rd < 0 || wr < 0)
		return error_errno(err, negative_errno(), "unable to create a pipe");
	pid_t pid = fork();
	if (pid < 0)
		return error_errno(err, negative_errno(), "unable to fork");
	if (pid == 0)
		exec_qemu(h, rel, argv, logfd, wr);
	close(TAKE_FD(wr));
	struct exec_failure f = { 0 };
	ssize_t n;
	while ((n = read(rd, &f, sizeof(f))) < 0 && errno == EINTR) {
	}
	if (n != (ssize_t)sizeof(f)) {
		*ret_pid = pid; /* EOF: exec closed the pipe */
		return 0;
	}
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
	}
	int r = -(f.error ? f.error : EIO);
	switch (f.stage) {
	case STAGE_SESSION:
		return error_errno(err, r, "unable to start QEMU: setsid");
	case STAGE_CGROUP:
		return error_errno(err, r, "unable to move QEMU into cgroup %s", rel);
	case STAGE_STDIO:
		return error_errno(err, r, "unable to set up QEMU's stdio");
	default:
		return error_errno(err, r, "unable to run %s", argv[0]);
	}
}

/* Wait for QEMU's QMP socket to answer; notice early when QEMU exits. */
static int
wait_qmp(const struct vm_host *h, unsigned vmid, pid_t pid, struct qmp **ret, struct error *err)
{
	_cleanup_free_ char *sock = qemu_run_path(h->q, vmid, "qmp");
	unsigned long long pstart = 0;
	bool have_start = proc_start_time(pid, &pstart) >= 0;
	long long deadline = monotonic_ms() + QMP_READY_TIMEOUT_MS;
	long delay = 1;
	for (;;) {
		struct error e = { 0 };
		int t = MIN(qmp_timeout(h), MAX(ms_left(deadline), 1));
		if (access(sock, F_OK) == 0 && qmp_connect_bounded(sock, t, ret, &e) >= 0)
			return 0;
		int status;
		bool gone = !have_start || !proc_alive(pid, pstart);
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid) {
			if (WIFEXITED(status))
				return error_set(err, EIO, "start failed: QEMU exited with code %d",
				                 WEXITSTATUS(status));
			return error_set(err, EIO, "start failed: QEMU killed by signal %d",
			                 WTERMSIG(status));
		}
		/* /proc calls the leader dead (a zombie) while QEMU's other threads still exit,
		 * and waitpid has nothing yet: wait for it. Only a process this worker cannot
		 * reap (SIGCHLD ignored: ECHILD) ends here without its exit code. */
		if (gone && w < 0 && errno == ECHILD)
			return error_set(err, EIO, "start failed: QEMU exited");
		if (!ms_left(deadline))
			return error_set(err, ETIMEDOUT,
			                 "start failed: QEMU did not answer on QMP within %d s",
			                 QMP_READY_TIMEOUT_MS / 1000);
		sleep_ms(delay);
		delay = MIN(delay * 2, 2); /* QEMU needs tens of ms: polling is cheap, lag is not */
	}
}

/* QMP is up and the guest waits (-S): taps into their bridges, link_down NICs down, run. */
static int
configure_and_run(const struct vm_host *h, const struct vm_config *c, struct qmp *q, vm_log_fn log,
                  void *userdata, struct error *err)
{
	int r = 0;
	for (size_t i = 0; r >= 0 && i < c->n_nets; i++)
		if (c->nets[i].bridge)
			r = vm_tap_plug(h, c->vmid, &c->nets[i], log, userdata, err);
	for (size_t i = 0; r >= 0 && i < c->n_nets; i++) {
		if (c->nets[i].link_down != 1)
			continue;
		char id[16];
		snprintf(id, sizeof(id), "net%u", c->nets[i].index);
		json_t *args = json_pack("{s:s, s:b}", "name", id, "up", 0);
		r = vm_qmp_run(q, c->vmid, "set_link", args, qmp_timeout(h), NULL, err);
		json_decref(args);
	}
	if (r >= 0)
		r = vm_qmp_run(q, c->vmid, "cont", NULL, qmp_timeout(h), NULL, err);
	return r;
}

int
vm_start(const struct vm_host *h, const struct vm_config *c, vm_log_fn log, void *userdata,
         pid_t *ret_pid, struct error *err)
{
	unsigned vmid = c->vmid;
	if (vm_pid(h->q, vmid) > 0)
		return error_set(err, EEXIST, "VM %u already running", vmid);
	for (size_t i = 0; i < c->n_nets; i++) {
		int r = check_net(&c->nets[i], err);
		if (r < 0)
			return r;
	}
	/* a host serial port must be one (PVE: "no such serial device") */
	for (unsigned i = 0; i < VM_MAX_SERIALS; i++) {
		const char *s = c->serial[i];
		struct stat st;
		if (s && !streq(s, "socket") && (stat(s, &st) < 0 || !S_ISCHR(st.st_mode)))
			return error_set(
			        err, ENODEV,
			        "serial%u: no such serial device '%s' (not a character device)", i,
			        s);
	}
	int r = mkdir_p(h->q->run_dir, 0700);
	if (r < 0)
		return error_errno(err, r, "unable to create '%s'", h->q->run_dir);
	vm_cleanup_stopped(h, vmid);
	if ((r = prepare_efivars(h, c, err)) < 0)
		return r;
	char **argv = NULL;
	if ((r = qemu_argv(c, h->q, &argv, err)) < 0)
		return r;
	_cleanup_free_ char *rel = vm_cgroup_rel(vmid);
	/* PVE's VM scope: CPU limits only, no memory limit (QEMU's own overhead would count) */
	double cpulimit = c->cpulimit > 0 ? c->cpulimit : 0;
	unsigned cpuunits = c->cpuunits > 0 ? (unsigned)c->cpuunits : 0;
	if (h->cg)
		r = cg_create(h->cg, rel, err);
	if (r >= 0 && h->cg && (cpulimit > 0 || cpuunits))
		r = cg_apply_limits(h->cg, rel, 0, 0, cpulimit, cpuunits, err);
	pid_t pid = 0;
	if (r >= 0)
		r = spawn_qemu(h, vmid, rel, argv, &pid, err);
	strv_free(argv);
	if (r < 0) {
		vm_cleanup_stopped(h, vmid);
		return r;
	}

	struct qmp *q = NULL;
	r = wait_qmp(h, vmid, pid, &q, err);
	if (r >= 0) {
		r = configure_and_run(h, c, q, log, userdata, err);
		qmp_close(q);
	}
	if (r < 0) {
		/* nothing may stay running: kill (unless wait_qmp reaped it already, and its pid
		 * may be someone else's now), then tell what QEMU said */
		if (waitpid(pid, NULL, WNOHANG) == 0) {
			kill(pid, SIGKILL);
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
			}
		}
		_cleanup_free_ char *last = NULL;
		log_tail(h, vmid, log, userdata, &last);
		if (last && startswith(err->msg, "start failed: QEMU exited")) {
			_cleanup_free_ char *what = xstrdup(err->msg);
			error_set(err, err->code, "%s - %s", what, last);
		}
		vm_cleanup_stopped(h, vmid);
		return r;
	}
	if (ret_pid)
		*ret_pid = pid;
	return 0;
}

/* ---- stop, shutdown, one-shot commands ---- */

int
vm_qmp(const struct vm_host *h, unsigned vmid, const char *command, json_t *args, json_t **ret,
       struct error *err)
{
	if (vm_pid(h->q, vmid) <= 0)
		return error_set(err, ESRCH, "VM %u not running", vmid);
	struct qmp *q = NULL;
	int r = vm_qmp_open(h, vmid, command, &q, err);
	if (r < 0)
		return r;
	r = vm_qmp_run(q, vmid, command, args, qmp_timeout(h), ret, err);
	qmp_close(q);
	return r;
}

int
vm_stop(const struct vm_host *h, unsigned vmid, unsigned timeout_s, struct error *err)
{
	unsigned long long start = 0;
	pid_t pid = running_pid(h->q, vmid, &start);
	if (pid <= 0) {
		vm_cleanup_stopped(h, vmid);
		return 0;
	}
	/* PVE: `quit`, wait; when quit failed or the wait timed out, SIGTERM, wait 10 s,
	 * SIGKILL. QEMU may close the socket before its answer to quit arrives: -EPIPE is
	 * as good as an answer. */
	struct error e = { 0 };
	int r = vm_qmp(h, vmid, "quit", NULL, NULL, &e);
	bool gone = (r >= 0 || r == -EPIPE) && wait_exit(pid, start, (long)timeout_s * 1000);
	if (!gone) {
		kill_same(pid, start, SIGTERM);
		if (!wait_exit(pid, start, STOP_TERM_WAIT_MS)) {
			kill_same(pid, start, SIGKILL);
			if (!wait_exit(pid, start, STOP_KILL_WAIT_MS))
				return error_set(err, ETIMEDOUT,
				                 "VM %u: QEMU (pid %d) did not exit after SIGKILL",
				                 vmid, (int)pid);
		}
	}
	vm_cleanup_stopped(h, vmid);
	return 0;
}

int
vm_shutdown(const struct vm_host *h, unsigned vmid, unsigned timeout_s, bool force,
            struct error *err)
{
	unsigned long long start = 0;
	pid_t pid = running_pid(h->q, vmid, &start);
	if (pid <= 0) {
		vm_cleanup_stopped(h, vmid);
		return 0;
	}
	/* a paused guest cannot react to the ACPI button */
	json_t *st = NULL;
	struct error e = { 0 };
	if (vm_qmp(h, vmid, "query-status", NULL, &st, &e) >= 0) {
		const char *s = json_string_value(json_object_get(st, "status"));
		bool paused = s && (streq(s, "paused") || streq(s, "prelaunch"));
		json_decref(st);
		if (paused)
			(void)vm_qmp(h, vmid, "cont", NULL, NULL, &e);
	}
	int r = vm_qmp(h, vmid, "system_powerdown", NULL, NULL, err);
	if (r < 0 && !force)
		return r;
	if (r >= 0 && wait_exit(pid, start, (long)timeout_s * 1000)) {
		vm_cleanup_stopped(h, vmid);
		return 0;
	}
	if (!force)
		return error_set(err, ETIMEDOUT, "VM quit/powerdown failed - got timeout");
	error_clear(err);
	return vm_stop(h, vmid, FORCE_QUIT_TIMEOUT_S, err);
}
