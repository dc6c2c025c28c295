/* Running VMs: QEMU forked detached from a task worker, spoken to over QMP; observation from
 * the pidfile, /proc, the cgroup and sysfs. See vmrun.h. */
#include "guest/qemu/vmrun.h"
#include "basic/clock.h"
#include "basic/fileio.h"
#include "guest/qemu/qmp.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/sockios.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define QMP_READY_TIMEOUT_MS 30000

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

/* ---- observation ---- */

pid_t
vm_pid(const struct qemu_env *q, unsigned vmid)
{
	_cleanup_free_ char *pidfile = qemu_run_path(q, vmid, "pid");
	_cleanup_free_ char *text = NULL;
	if (read_file(pidfile, 64, &text, NULL) < 0)
		return 0;
	long pid = strtol(text, NULL, 10);
	if (pid <= 1)
		return 0;
	/* the process must be that QEMU: its command line names this pidfile (a zombie's is
	 * empty; a reused pid names something else) */
	_cleanup_free_ char *cmdpath = xasprintf("/proc/%ld/cmdline", pid);
	_cleanup_free_ char *cmd = NULL;
	size_t len = 0;
	if (read_file(cmdpath, 1u << 20, &cmd, &len) < 0 || len == 0)
		return 0;
	for (size_t i = 0; i < len; i += strlen(cmd + i) + 1)
		if (streq(cmd + i, pidfile))
			return (pid_t)pid;
	return 0;
}

static uint64_t
proc_uptime_s(pid_t pid)
{
	unsigned long long start = 0;
	if (proc_start_time(pid, &start) < 0)
		return 0;
	_cleanup_free_ char *text = NULL;
	if (read_file("/proc/uptime", 128, &text, NULL) < 0)
		return 0;
	double up = strtod(text, NULL);
	double started = (double)start / (double)sysconf(_SC_CLK_TCK);
	return up > started ? (uint64_t)(up - started) : 0;
}

static uint64_t
sysfs_u64(const char *path)
{
	_cleanup_free_ char *text = NULL;
	if (read_file(path, 64, &text, NULL) < 0)
		return 0;
	return strtoull(text, NULL, 10);
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

static void
live_from_qmp(const struct vm_host *h, unsigned vmid, struct vm_live *l)
{
	_cleanup_free_ char *mon = qemu_run_path(h->q, vmid, "mon");
	struct qmp *q = NULL;
	struct error err = { 0 };
	int t = h->qmp_timeout_ms > 0 && h->qmp_timeout_ms < 2000 ? h->qmp_timeout_ms : 2000;
	if (qmp_connect(mon, t, &q, &err) < 0)
		return;
	json_t *ret = NULL;
	if (qmp_command(q, "query-status", NULL, t, &ret, &err) >= 0) {
		const char *st = json_string_value(json_object_get(ret, "status"));
		if (st) {
			snprintf(l->qmpstatus, sizeof(l->qmpstatus), "%s", st);
			l->qmp_ok = true;
		}
		json_decref(ret);
		ret = NULL;
	}
	if (l->qmp_ok && qmp_command(q, "query-balloon", NULL, t, &ret, &err) >= 0) {
		l->balloon = (uint64_t)json_integer_value(json_object_get(ret, "actual"));
		json_decref(ret);
		ret = NULL;
	}
	if (l->qmp_ok && qmp_command(q, "query-blockstats", NULL, t, &ret, &err) >= 0) {
		size_t i;
		json_t *dev;
		l->diskread = l->diskwrite = 0;
		json_array_foreach (ret, i, dev) {
			json_t *s = json_object_get(dev, "stats");
			l->diskread += (uint64_t)json_integer_value(json_object_get(s, "rd_bytes"));
			l->diskwrite +=
			        (uint64_t)json_integer_value(json_object_get(s, "wr_bytes"));
		}
		json_decref(ret);
	}
	qmp_close(q);
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
	ret->uptime = proc_uptime_s(pid);
	_cleanup_free_ char *rel = vm_cgroup_rel(c->vmid);
	struct cg_stats st = { 0 };
	if (h->cg && cg_read_stats(h->cg, rel, &st) >= 0) {
		ret->cpu_ns = st.cpu_usage_ns;
		ret->mem = st.mem_bytes;
		ret->diskread = st.blk_read_bytes;
		ret->diskwrite = st.blk_write_bytes;
	}
	if (!ret->mem)
		ret->mem = proc_rss(pid);
	for (size_t i = 0; i < c->n_nets; i++) {
		char tap[16];
		if (qemu_tap_name(c->vmid, c->nets[i].index, tap) < 0)
			continue;
		/* the guest's view: what the tap transmits reaches the guest */
		_cleanup_free_ char *tx = xasprintf("/sys/class/net/%s/statistics/tx_bytes", tap);
		_cleanup_free_ char *rx = xasprintf("/sys/class/net/%s/statistics/rx_bytes", tap);
		ret->netin += sysfs_u64(tx);
		ret->netout += sysfs_u64(rx);
	}
	if (with_qmp)
		live_from_qmp(h, c->vmid, ret);
	return 0;
}

/* ---- control ---- */

/* The last lines of QEMU's log into log(); the last non-empty one into *ret_last. */
static void
log_tail(const struct vm_host *h, unsigned vmid, vm_log_fn log, void *userdata, char **ret_last)
{
	_cleanup_free_ char *path = qemu_run_path(h->q, vmid, "log");
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	if (read_file(path, 1u << 20, &text, &len) < 0)
		return;
	size_t start = len > 4096 ? len - 4096 : 0;
	char *p = text + start, *save = NULL;
	if (start)
		p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p;
	for (char *line = strtok_r(p, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!line[strspn(line, " \t\r")])
			continue;
		if (log)
			log(line, userdata);
		if (ret_last) {
			free(*ret_last);
			*ret_last = xstrdup(line);
		}
	}
}

static void
remove_run_files(const struct vm_host *h, unsigned vmid)
{
	static const char *const what[] = { "qmp",     "mon",     "pid",     "vnc",     "qga",
		                            "serial0", "serial1", "serial2", "serial3", NULL };
	for (const char *const *w = what; *w; w++) {
		_cleanup_free_ char *p = qemu_run_path(h->q, vmid, *w);
		unlink(p);
	}
}

void
vm_cleanup_stopped(const struct vm_host *h, unsigned vmid)
{
	remove_run_files(h, vmid);
	_cleanup_free_ char *rel = vm_cgroup_rel(vmid);
	if (h->cg) {
		/* the group empties a moment after QEMU's last thread exits */
		for (int i = 0; i < 50 && cg_remove(h->cg, rel) == -EBUSY; i++)
			sleep_ms(20);
	}
}

static bool
wait_gone(const struct vm_host *h, unsigned vmid, pid_t pid, long timeout_ms)
{
	long long deadline = monotonic_ms() + timeout_ms;
	for (;;) {
		/* our own child (QEMU started by this worker) must be reaped to go away */
		waitpid(pid, NULL, WNOHANG);
		if (vm_pid(h->q, vmid) != pid || kill(pid, 0) < 0)
			return true;
		if (monotonic_ms() >= deadline)
			return false;
		sleep_ms(20);
	}
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
is_bridge(const char *name)
{
	_cleanup_free_ char *p = xasprintf("/sys/class/net/%s/bridge", name);
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* PVE's tap_plug: MTU, bridge, up. */
static int
plug_tap(const struct vm_host *h, unsigned vmid, const struct vm_net *n, vm_log_fn log,
         void *userdata, struct error *err)
{
	char tap[16];
	int r = qemu_tap_name(vmid, n->index, tap);
	if (r < 0)
		return error_set(err, EINVAL, "net%u: tap name too long", n->index);
	const char *br = n->bridge;
	if (strchr(br, '/') || br[0] == '.' || strlen(br) >= IFNAMSIZ || !is_bridge(br))
		return error_set(err, ENODEV, "bridge '%s' does not exist", br);
	if (n->tag != VM_UNSET || n->trunks) {
		_cleanup_free_ char *vf = xasprintf("/sys/class/net/%s/bridge/vlan_filtering", br);
		bool aware = sysfs_u64(vf) == 1;
		if (!aware && access("/proc/net/vlan", F_OK) < 0)
			return error_set(
			        err, ENOTSUP,
			        "net%u: VLAN tag needs a VLAN-aware bridge or the 8021q "
			        "module, and '%s' is not VLAN-aware and this kernel has no "
			        "8021q",
			        n->index, br);
		return error_set(err, ENOTSUP, "net%u: VLAN tags are not supported yet", n->index);
	}
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", tap);
	unsigned mtu = n->mtu > 1         ? (unsigned)n->mtu
	               : h->q->bridge_mtu ? h->q->bridge_mtu(br, h->q->userdata)
	                                  : 0;
	if (mtu) {
		ifr.ifr_mtu = (int)mtu;
		if ((r = if_ioctl(SIOCSIFMTU, &ifr)) < 0)
			return error_errno(err, r, "unable to set MTU %u on %s", mtu, tap);
	}
	struct ifreq idx = { 0 };
	snprintf(idx.ifr_name, IFNAMSIZ, "%s", tap);
	if ((r = if_ioctl(SIOCGIFINDEX, &idx)) < 0)
		return error_errno(err, r, "tap %s does not exist", tap);
	int index = idx.ifr_ifindex;
	struct ifreq br_req = { 0 };
	snprintf(br_req.ifr_name, IFNAMSIZ, "%s", br);
	br_req.ifr_ifindex = index;
	if ((r = if_ioctl(SIOCBRADDIF, &br_req)) < 0)
		return error_errno(err, r, "unable to add %s to bridge %s", tap, br);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", tap);
	if ((r = if_ioctl(SIOCGIFFLAGS, &ifr)) >= 0) {
		ifr.ifr_flags |= IFF_UP;
		r = if_ioctl(SIOCSIFFLAGS, &ifr);
	}
	if (r < 0)
		return error_errno(err, r, "unable to bring %s up", tap);
	if (n->rate >= 0 && log)
		log("rate limits (rate=) are not applied yet", userdata);
	if (n->firewall == 1 && log)
		log("the guest firewall (firewall=1) is not applied yet", userdata);
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
	const char *tmpl = h->q->ovmf_4m.vars ? h->q->ovmf_4m.vars : h->q->ovmf_2m.vars;
	if (!tmpl)
		return error_set(err, ENOENT,
		                 "no OVMF vars template (is the ovmf package installed?)");
	return copy_file(tmpl, vars, err);
}

/* In the child: join the cgroup, clean process state, stdio to the log, exec. Never
 * returns; a failure is written to errfd as an errno. */
_noreturn_ static void
exec_qemu(const struct vm_host *h, const char *rel, char **argv, int logfd, int errfd)
{
	int e = 0;
	struct error err = { 0 };
	if (setsid() < 0)
		e = errno;
	if (!e && h->cg && cg_attach(h->cg, rel, 0, &err) < 0)
		e = err.code ? err.code : EIO;
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < NSIG; s++)
		signal(s, SIG_DFL);
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (!e && (null < 0 || dup2(null, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0))
		e = errno;
	if (!e) {
		/* everything but stdio and the error pipe goes */
		for (int fd = 3; fd < 1024; fd++)
			if (fd != errfd)
				close(fd);
		execv(argv[0], argv);
		e = errno;
	}
	if (write(errfd, &e, sizeof(e)) < 0) {
		/* nothing left to tell it to */
	}
	_exit(127);
}

/* Wait for QEMU's QMP socket to answer; notice early when QEMU exits. */
static int
wait_qmp(const struct vm_host *h, unsigned vmid, pid_t pid, struct qmp **ret, struct error *err)
{
	_cleanup_free_ char *sock = qemu_run_path(h->q, vmid, "qmp");
	long long deadline = monotonic_ms() + QMP_READY_TIMEOUT_MS;
	long delay = 1;
	for (;;) {
		struct error e = { 0 };
		if (access(sock, F_OK) == 0 && qmp_connect(sock, qmp_timeout(h), ret, &e) >= 0)
			return 0;
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid)
			return error_set(err, EIO, "QEMU exited (%s %d)",
			                 WIFEXITED(status) ? "exit code" : "signal",
			                 WIFEXITED(status) ? WEXITSTATUS(status)
			                                   : WTERMSIG(status));
		if (monotonic_ms() >= deadline)
			return error_set(err, ETIMEDOUT, "QEMU did not answer on QMP within %d s",
			                 QMP_READY_TIMEOUT_MS / 1000);
		sleep_ms(delay);
		if (delay < 50)
			delay *= 2;
	}
}

static int
qmp_run(struct qmp *q, unsigned vmid, const char *command, json_t *args, int timeout, json_t **ret,
        struct error *err)
{
	struct error e = { 0 };
	int r = qmp_command(q, command, args, timeout, ret, &e);
	if (r < 0)
		return error_set(err, -r, "VM %u qmp command '%s' failed - %s", vmid, command,
		                 e.msg[0] ? e.msg : strerror(-r));
	return 0;
}

int
vm_start(const struct vm_host *h, const struct vm_config *c, vm_log_fn log, void *userdata,
         pid_t *ret_pid, struct error *err)
{
	unsigned vmid = c->vmid;
	if (vm_pid(h->q, vmid) > 0)
		return error_set(err, EEXIST, "VM %u already running", vmid);
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
	if (h->cg && (r = cg_create(h->cg, rel, err)) < 0) {
		strv_free(argv);
		return r;
	}
	double cpulimit = c->cpulimit > 0 ? c->cpulimit : 0;
	unsigned cpuunits = c->cpuunits > 0 ? (unsigned)c->cpuunits : 0;
	if (h->cg && (cpulimit > 0 || cpuunits) &&
	    (r = cg_apply_limits(h->cg, rel, 0, 0, cpulimit, cpuunits, err)) < 0) {
		strv_free(argv);
		vm_cleanup_stopped(h, vmid);
		return r;
	}
	_cleanup_free_ char *logpath = qemu_run_path(h->q, vmid, "log");
	_cleanup_close_ int logfd =
	        open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	int pipefd[2];
	if (logfd < 0 || pipe2(pipefd, O_CLOEXEC) < 0) {
		r = error_errno(err, negative_errno(), "unable to prepare QEMU's log '%s'",
		                logpath);
		strv_free(argv);
		vm_cleanup_stopped(h, vmid);
		return r;
	}
	pid_t pid = fork();
	if (pid == 0)
		exec_qemu(h, rel, argv, logfd, pipefd[1]);
	close(pipefd[1]);
	strv_free(argv);
	if (pid < 0) {
		close(pipefd[0]);
		r = error_errno(err, negative_errno(), "unable to fork");
		vm_cleanup_stopped(h, vmid);
		return r;
	}
	int child_errno = 0;
	ssize_t n = read(pipefd[0], &child_errno, sizeof(child_errno));
	close(pipefd[0]);
	if (n == sizeof(child_errno)) {
		waitpid(pid, NULL, 0);
		vm_cleanup_stopped(h, vmid);
		return error_errno(err, -child_errno, "unable to run %s", h->q->binary);
	}

	/* QMP, then the taps, set_link, and the guest may run */
	struct qmp *q = NULL;
	r = wait_qmp(h, vmid, pid, &q, err);
	for (size_t i = 0; r >= 0 && i < c->n_nets; i++)
		if (c->nets[i].bridge)
			r = plug_tap(h, vmid, &c->nets[i], log, userdata, err);
	for (size_t i = 0; r >= 0 && i < c->n_nets; i++)
		if (c->nets[i].link_down == 1) {
			char id[16];
			snprintf(id, sizeof(id), "net%u", c->nets[i].index);
			json_t *args = json_pack("{s:s, s:b}", "name", id, "up", 0);
			r = qmp_run(q, vmid, "set_link", args, qmp_timeout(h), NULL, err);
			json_decref(args);
		}
	if (r >= 0)
		r = qmp_run(q, vmid, "cont", NULL, qmp_timeout(h), NULL, err);
	if (q)
		qmp_close(q);
	if (r < 0) {
		_cleanup_free_ char *last = NULL;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		log_tail(h, vmid, log, userdata, &last);
		if (last && err->code == EIO && startswith(err->msg, "QEMU exited"))
			error_set(err, EIO, "start failed: %s", last);
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
	_cleanup_free_ char *sock = qemu_run_path(h->q, vmid, "qmp");
	struct qmp *q = NULL;
	struct error e = { 0 };
	if (qmp_connect(sock, qmp_timeout(h), &q, &e) < 0)
		return error_set(err, EIO, "VM %u qmp command '%s' failed - %s", vmid, command,
		                 e.msg);
	int r = qmp_run(q, vmid, command, args, qmp_timeout(h), ret, err);
	qmp_close(q);
	return r;
}

int
vm_stop(const struct vm_host *h, unsigned vmid, unsigned timeout_s, struct error *err)
{
	pid_t pid = vm_pid(h->q, vmid);
	if (pid <= 0) {
		vm_cleanup_stopped(h, vmid);
		return 0;
	}
	struct error e = { 0 };
	(void)vm_qmp(h, vmid, "quit", NULL, NULL, &e); /* errors: the signals below */
	if (!wait_gone(h, vmid, pid, (long)timeout_s * 1000)) {
		kill(pid, SIGTERM);
		if (!wait_gone(h, vmid, pid, 3000)) {
			kill(pid, SIGKILL);
			if (!wait_gone(h, vmid, pid, 10000))
				return error_set(err, ETIMEDOUT,
				                 "VM %u: QEMU (pid %d) does not exit", vmid,
				                 (int)pid);
		}
	}
	vm_cleanup_stopped(h, vmid);
	return 0;
}

int
vm_shutdown(const struct vm_host *h, unsigned vmid, unsigned timeout_s, bool force,
            struct error *err)
{
	pid_t pid = vm_pid(h->q, vmid);
	if (pid <= 0) {
		vm_cleanup_stopped(h, vmid);
		return 0;
	}
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
	if (r >= 0 && wait_gone(h, vmid, pid, (long)timeout_s * 1000)) {
		vm_cleanup_stopped(h, vmid);
		return 0;
	}
	if (!force)
		return error_set(err, ETIMEDOUT, "VM quit/powerdown failed - got timeout");
	return vm_stop(h, vmid, 10, err);
}
