/* Running containers: liblxc for control (task workers only), cgroups and /proc for
 * observation. See runtime.h. */
#include "guest/lxc/runtime.h"
#include "guest/lxc/rootfs.h"
#include "basic/fileio.h"
#include "storage/storage.h"

#include <dirent.h>
#include <fcntl.h>
#include <lxc/lxccontainer.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char *
ct_rel(unsigned vmid)
{
	return xasprintf("lxc/%u", vmid);
}

static int
ensure_dir(const char *path, mode_t mode, struct error *err)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return error_errno(err, -errno, "unable to create directory '%s'", path);
	struct stat st;
	if (lstat(path, &st) < 0)
		return error_errno(err, -errno, "unable to stat '%s'", path);
	if (!S_ISDIR(st.st_mode))
		return error_set(err, ENOTDIR, "'%s' is not a directory", path);
	if (chmod(path, mode) < 0)
		return error_errno(err, -errno, "unable to chmod '%s'", path);
	return 0;
}

static struct lxc_container *
ct_open(const char *lxcpath, unsigned vmid, struct error *err)
{
	char name[16];
	snprintf(name, sizeof(name), "%u", vmid);
	struct lxc_container *c = lxc_container_new(name, lxcpath);
	if (!c)
		error_set(err, ENOMEM, "unable to open container %u with liblxc", vmid);
	return c;
}

static void
log_tail(const char *path, ct_log_fn log, void *userdata)
{
	if (!log)
		return;
	_cleanup_free_ char *text = NULL;
	if (read_file(path, 1u << 20, &text, NULL) < 0 || !text)
		return;
	/* the last 20 lines */
	size_t n = 0;
	char *p = text + strlen(text);
	while (p > text && n <= 20) {
		p--;
		if (*p == '\n')
			n++;
	}
	for (char *line = strtok(p, "\n"); line; line = strtok(NULL, "\n"))
		log(line, userdata);
}

static int
write_lxc_config(const struct ct_config *c, const struct ct_lxc_env *env, char **ret_logpath,
                 struct error *err)
{
	_cleanup_free_ char *text = NULL;
	int r = ct_lxc_config(c, env, &text, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *dir = xasprintf("%s/%u", env->lxcpath, c->vmid);
	r = ensure_dir(env->lxcpath, 0711, err);
	if (r >= 0)
		r = ensure_dir(dir, 0711, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *seccomp = ct_seccomp_path(env->lxcpath, c->vmid);
	_cleanup_free_ char *policy = ct_seccomp_policy(c);
	r = write_file_replace(seccomp, policy, strlen(policy), 0600);
	if (r < 0)
		return error_errno(err, r, "unable to write '%s'", seccomp);
	_cleanup_free_ char *logpath = xasprintf("%s/lxc.log", dir);
	_cleanup_free_ char *full = xasprintf("%slxc.log.file = %s\nlxc.log.level = %s\n", text,
	                                      logpath, c->debug ? "DEBUG" : "WARN");
	_cleanup_free_ char *path = xasprintf("%s/config", dir);
	r = write_file_replace(path, full, strlen(full), 0600);
	if (r < 0)
		return error_errno(err, r, "unable to write '%s'", path);
	/* a fresh log per start, so the tail shown on failure is this start's */
	(void)truncate(logpath, 0);
	*ret_logpath = TAKE_PTR(logpath);
	return 0;
}

/* storage_mount, again while the kernel answers EBUSY: right after a stop the image's
 * previous loop device and superblock can still be on their way out (a reboot starts at
 * once), for a few milliseconds. */
static int
mount_volume(const struct storage_config *scfg, const char *volid, const char *target,
             struct error *err)
{
	for (unsigned waited = 0;; waited += 10) {
		struct error e = { 0 };
		int r = storage_mount(scfg, volid, target, &e);
		if (r >= 0 || e.code != EBUSY || waited >= 5000) {
			if (r < 0)
				*err = e;
			return r;
		}
		usleep(10 * 1000);
	}
}

/* Bind the host directory `source` onto dir: opened without following any symlink, then
 * mounted through its descriptor, so the directory checked is the one mounted. */
static int
bind_source(const struct ct_mount *m, const char *dir, struct error *err)
{
	_cleanup_close_ int fd = ct_open_nofollow(m->volume, err);
	if (fd < 0)
		return error_prefix(err, "%s", m->key);
	_cleanup_free_ char *proc = xasprintf("/proc/self/fd/%d", fd);
	if (mount(proc, dir, NULL, MS_BIND | MS_REC, NULL) < 0)
		return error_errno(err, -errno, "%s: unable to bind mount %s", m->key, m->volume);
	return 0;
}

/* Make mount point i's target exist below the rootfs (or below its parent mount point's
 * staging directory when it nests in one), never through a symlink. */
static int
make_target(const struct ct_config *c, const struct ct_lxc_env *env, size_t i, int rootfd,
            const struct ct_idmap *map, struct error *err)
{
	const struct ct_mount *m = &c->mps[i];
	ssize_t parent = ct_mount_parent(c, i);
	const char *rel = m->mp;
	_cleanup_close_ int basefd = -1;
	if (parent >= 0) {
		const struct ct_mount *p = &c->mps[parent];
		_cleanup_free_ char *dir = ct_mount_staging_dir(env->lxcpath, c->vmid, p->key);
		basefd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (basefd < 0)
			return error_errno(err, -errno, "%s: unable to open %s", m->key, dir);
		rel += strlen(p->mp);
	}
	int fd = ct_mkdir_nofollow(basefd >= 0 ? basefd : rootfd, rel, map, err);
	if (fd < 0)
		return error_prefix(err, "%s: mount point %s", m->key, m->mp);
	close(fd);
	return 0;
}

/* Mount the rootfs, the volume mount points and bind sources where the generated config
 * expects them, in this process's own mount namespace, and make every mount target exist. */
static int
mount_volumes(const struct ct_config *c, const struct ct_lxc_env *env,
              const struct storage_config *scfg, struct error *err)
{
	if (unshare(CLONE_NEWNS) < 0)
		return error_errno(err, -errno, "unable to create a mount namespace");
	/* host mounts still propagate in; ours never propagate out */
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		return error_errno(err, -errno, "unable to make mounts private");
	if (!c->has_rootfs)
		return error_set_status(err, 400, EINVAL, "CT %u has no rootfs", c->vmid);
	_cleanup_free_ char *rootfs = ct_rootfs_dir(env->lxcpath, c->vmid);
	int r = ensure_dir(rootfs, 0755, err);
	if (r < 0)
		return r;
	r = mount_volume(scfg, c->rootfs.volume, rootfs, err);
	if (r < 0)
		return error_prefix(err, "rootfs");
	if (c->n_mps == 0)
		return 0;
	_cleanup_close_ int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return error_errno(err, -errno, "unable to open %s", rootfs);
	_cleanup_free_ char *mnt = xasprintf("%s/%u/mnt", env->lxcpath, c->vmid);
	r = ensure_dir(mnt, 0711, err);
	if (r < 0)
		return r;
	struct ct_idmap map = { 0 };
	if (c->unprivileged)
		map = (struct ct_idmap){ env->idmap_base, env->idmap_base, env->idmap_count };
	_cleanup_free_ size_t *order = ct_mount_order(c);
	for (size_t k = 0; k < c->n_mps; k++) {
		const struct ct_mount *m = &c->mps[order[k]];
		/* the target first: a parent mount point is mounted on its staging dir by now */
		r = make_target(c, env, order[k], rootfd, &map, err);
		if (r < 0)
			return r;
		if (m->type == CT_MP_DEVICE)
			continue;
		_cleanup_free_ char *dir = ct_mount_staging_dir(env->lxcpath, c->vmid, m->key);
		r = ensure_dir(dir, 0755, err);
		if (r < 0)
			return r;
		r = m->type == CT_MP_BIND ? bind_source(m, dir, err)
		                          : mount_volume(scfg, m->volume, dir, err);
		if (r < 0)
			return m->type == CT_MP_BIND ? r : error_prefix(err, "%s", m->key);
	}
	return 0;
}

/* Start through berthd-lxc-start, which inherits this process's mount namespace. */
static bool
run_start_helper(const struct ct_lxc_env *env, unsigned vmid)
{
	char name[16];
	snprintf(name, sizeof(name), "%u", vmid);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		execl(env->start_helper, "berthd-lxc-start", env->lxcpath, name, (char *)NULL);
		_exit(127);
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Wait until liblxc's monitor of vmid has exited. It holds the mount namespace with the
 * CT's volumes; mounting them again for a new start while it lingers failed with EBUSY
 * (PVE's vm_stop waits for the monitor's command socket to close for the same reason). */
static void
wait_monitor_gone(const struct cg_host *cg, unsigned vmid)
{
	_cleanup_free_ char *mon = xasprintf("lxc.monitor/%u", vmid);
	for (unsigned waited = 0; waited < 10000 && cg_populated(cg, mon); waited += 2)
		usleep(2 * 1000);
}

/* rate= of the NICs on their host ends once liblxc made them (PVE does it in the hook that
 * plugs each veth): a limit that cannot be set stops the CT again, as a failed hook would. */
static int
apply_rates(const struct ct_config *c, const struct ct_lxc_env *env, ct_log_fn log, void *userdata,
            struct error *err)
{
	for (size_t i = 0; i < c->n_nets; i++) {
		if (c->nets[i].rate <= 0)
			continue;
		int r = ct_net_set_rate(c->vmid, &c->nets[i], log, userdata, err);
		if (r < 0) {
			struct error e = { 0 };
			(void)ct_stop(env, c->vmid, &e);
			return r;
		}
	}
	return 0;
}

int
ct_start(const struct ct_config *c, const struct ct_lxc_env *env, const struct storage_config *scfg,
         ct_log_fn log, void *userdata, struct error *err)
{
	if (ct_running(env->cg, c->vmid))
		return error_set(err, EEXIST, "CT %u already running", c->vmid);
	/* leftovers of an earlier run that ended without cleanup (a poweroff inside) */
	wait_monitor_gone(env->cg, c->vmid);
	ct_cleanup_stopped(env, c->vmid);

	_cleanup_free_ char *logpath = NULL;
	int r = write_lxc_config(c, env, &logpath, err);
	if (r < 0)
		return r;
	r = mount_volumes(c, env, scfg, err);
	if (r < 0)
		return r;

	bool ok;
	if (env->start_helper && access(env->start_helper, X_OK) == 0) {
		ok = run_start_helper(env, c->vmid);
	} else {
		struct lxc_container *lc = ct_open(env->lxcpath, c->vmid, err);
		if (!lc)
			return -ENOMEM;
		lc->want_daemonize(lc, true);
		/* the monitor must not keep the task log, the store or the daemon's sockets */
		lc->want_close_all_fds(lc, true);
		ok = lc->start(lc, 0, NULL);
		if (ok && !lc->is_running(lc))
			ok = lc->wait(lc, "RUNNING", 10);
		lxc_container_put(lc);
	}
	if (!ok) {
		log_tail(logpath, log, userdata);
		ct_cleanup_stopped(env, c->vmid);
		return error_set(err, EIO, "startup for container '%u' failed", c->vmid);
	}
	return apply_rates(c, env, log, userdata, err);
}

/* ---- mount point hotplug ---- */

static pid_t
parent_pid(pid_t pid)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/status", (int)pid);
	_cleanup_free_ char *text = NULL;
	if (read_file(path, 1u << 16, &text, NULL) < 0)
		return 0;
	const char *p = strstr(text, "\nPPid:");
	return p ? (pid_t)atoi(p + 7) : 0;
}

static int
enter_mnt_ns(pid_t pid, const char *whose, struct error *err)
{
	_cleanup_free_ char *path = xasprintf("/proc/%d/ns/mnt", (int)pid);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNS) < 0)
		return error_errno(err, -errno, "unable to enter the mount namespace of %s", whose);
	return 0;
}

/* The hotplug itself, in a child of the worker (it changes namespaces for good). */
static int
hotplug_child(const struct ct_lxc_env *env, const struct storage_config *scfg, unsigned vmid,
              pid_t init, pid_t monitor, const struct ct_idmap *map, const struct ct_mount *m,
              struct error *err)
{
	int r = enter_mnt_ns(monitor, "liblxc's monitor", err);
	_cleanup_free_ char *mnt = xasprintf("%s/%u/mnt", env->lxcpath, vmid);
	_cleanup_free_ char *dir = ct_mount_staging_dir(env->lxcpath, vmid, m->key);
	if (r >= 0)
		r = ensure_dir(mnt, 0711, err);
	if (r >= 0)
		r = ensure_dir(dir, 0755, err);
	if (r >= 0)
		r = m->type == CT_MP_BIND ? bind_source(m, dir, err)
		                          : mount_volume(scfg, m->volume, dir, err);
	if (r < 0)
		return r;
	_cleanup_close_ int tree =
	        open_tree(AT_FDCWD, dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (tree < 0)
		return error_errno(err, -errno, "unable to clone the mount on %s", dir);
	struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
	if (m->ro && mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &ro, sizeof(ro)) < 0)
		return error_errno(err, -errno, "unable to make the mount read-only");
	/* setns also moves our root and working directory to the CT's */
	r = enter_mnt_ns(init, "the container", err);
	if (r < 0)
		return r;
	_cleanup_close_ int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return error_errno(err, -errno, "unable to open the container's root");
	_cleanup_close_ int target = ct_mkdir_nofollow(rootfd, m->mp, map, err);
	if (target < 0)
		return error_prefix(err, "mount point %s", m->mp);
	if (move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		return error_errno(err, -errno, "unable to move the mount onto %s", m->mp);
	return 0;
}

int
ct_mount_hotplug(const struct ct_lxc_env *env, const struct storage_config *scfg, unsigned vmid,
                 bool unprivileged, const struct ct_mount *m, struct error *err)
{
	if (m->type == CT_MP_DEVICE)
		return error_set(err, EOPNOTSUPP, "device mount points are not hotplugged");
	pid_t init = ct_init_pid(env->cg, vmid);
	pid_t monitor = init > 0 ? parent_pid(init) : 0;
	if (init <= 0 || monitor <= 1)
		return error_set(err, ESRCH, "CT %u is not running", vmid);
	struct ct_idmap map = { 0 };
	if (unprivileged)
		map = (struct ct_idmap){ env->idmap_base, env->idmap_base, env->idmap_count };
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return error_errno(err, -errno, "unable to create a pipe");
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return error_errno(err, -errno, "unable to fork");
	}
	if (pid == 0) {
		close(p[0]);
		struct error e = { 0 };
		int r = hotplug_child(env, scfg, vmid, init, monitor, &map, m, &e);
		if (r < 0 && write(p[1], e.msg, strlen(e.msg)) < 0) {
			/* the parent reports a failure without the reason */
		}
		_exit(r < 0 ? 1 : 0);
	}
	close(p[1]);
	char msg[sizeof(err->msg)] = "";
	size_t n = 0;
	for (ssize_t k; n < sizeof(msg) - 1 && (k = read(p[0], msg + n, sizeof(msg) - 1 - n)) != 0;)
		if (k > 0)
			n += (size_t)k;
		else if (errno != EINTR)
			break;
	msg[n] = '\0';
	close(p[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	return error_set(err, EIO, "%s", msg[0] ? msg : "the hotplug helper failed");
}

/* Wait until the container's cgroup is empty (liblxc's state can report STOPPED a moment
 * before the last process left). */
static bool
wait_stopped(const struct cg_host *cg, unsigned vmid, unsigned timeout_ms)
{
	for (unsigned waited = 0;; waited += 2) {
		if (!ct_running(cg, vmid))
			return true;
		if (waited >= timeout_ms)
			return false;
		usleep(2 * 1000);
	}
}

int
ct_stop(const struct ct_lxc_env *env, unsigned vmid, struct error *err)
{
	struct lxc_container *lc = ct_open(env->lxcpath, vmid, err);
	if (!lc)
		return -ENOMEM;
	/* A frozen init cannot die: thaw a suspended CT first. liblxc's stop alone left one
	 * frozen and running (cgroup v1, LXC 5.0.2) and the stop hung. */
	if (ct_frozen(env->cg, vmid))
		(void)lc->unfreeze(lc);
	bool ok = !lc->is_running(lc) || lc->stop(lc);
	if (ok)
		ok = lc->wait(lc, "STOPPED", 30);
	lxc_container_put(lc);
	if (!ok || !wait_stopped(env->cg, vmid, 10000))
		return error_set(err, EIO, "unable to stop container %u", vmid);
	wait_monitor_gone(env->cg, vmid);
	ct_cleanup_stopped(env, vmid);
	return 0;
}

int
ct_shutdown(const struct ct_lxc_env *env, unsigned vmid, unsigned timeout, bool force,
            struct error *err)
{
	struct lxc_container *lc = ct_open(env->lxcpath, vmid, err);
	if (!lc)
		return -ENOMEM;
	bool ok = !lc->is_running(lc) || lc->shutdown(lc, (int)timeout);
	lxc_container_put(lc);
	if (ok && wait_stopped(env->cg, vmid, 10000)) {
		wait_monitor_gone(env->cg, vmid);
		ct_cleanup_stopped(env, vmid);
		return 0;
	}
	if (!force)
		return error_set(err, ETIMEDOUT, "shutdown timed out");
	return ct_stop(env, vmid, err);
}

int
ct_freeze(const struct ct_lxc_env *env, unsigned vmid, bool freeze, struct error *err)
{
	struct lxc_container *lc = ct_open(env->lxcpath, vmid, err);
	if (!lc)
		return -ENOMEM;
	bool ok = freeze ? lc->freeze(lc) : lc->unfreeze(lc);
	lxc_container_put(lc);
	if (!ok)
		return error_set(err, EIO, "unable to %s container %u",
		                 freeze ? "suspend" : "resume", vmid);
	return 0;
}

void
ct_cleanup_stopped(const struct ct_lxc_env *env, unsigned vmid)
{
	if (ct_running(env->cg, vmid))
		return;
	_cleanup_free_ char *mon = xasprintf("lxc.monitor/%u", vmid);
	_cleanup_free_ char *rel = ct_rel(vmid);
	(void)cg_remove(env->cg, mon);
	(void)cg_remove(env->cg, rel);
}

/* ---- observation ---- */

bool
ct_running(const struct cg_host *cg, unsigned vmid)
{
	_cleanup_free_ char *rel = ct_rel(vmid);
	return cg_populated(cg, rel);
}

/* The host pid whose innermost pid (NSpid's last field) is 1. */
static bool
is_ns_init(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	_cleanup_free_ char *text = NULL;
	if (read_file(path, 1u << 20, &text, NULL) < 0)
		return false;
	const char *l = strstr(text, "\nNSpid:");
	if (!l)
		return false;
	l += 7;
	const char *end = strchr(l, '\n');
	size_t len = end ? (size_t)(end - l) : strlen(l);
	_cleanup_free_ char *line = xstrndup(l, len);
	char *last = strrchr(line, '\t');
	if (!last)
		last = strrchr(line, ' ');
	last = last ? last + 1 : line;
	/* a single field means the process is in the host's pid namespace */
	return strchr(line + strspn(line, " \t"), '\t') && streq(last, "1");
}

pid_t
ct_init_pid(const struct cg_host *cg, unsigned vmid)
{
	static const enum cg_controller any[] = { CG_PIDS, CG_MEMORY, CG_CPUACCT, CG_CPU };
	_cleanup_free_ char *rel = xasprintf("lxc/%u/ns", vmid);
	for (size_t i = 0; i < ARRAY_SIZE(any); i++) {
		_cleanup_free_ char *dir = cg_path(cg, any[i], rel);
		if (!dir)
			continue;
		_cleanup_free_ char *procs_path = xasprintf("%s/cgroup.procs", dir);
		_cleanup_free_ char *procs = NULL;
		if (read_file(procs_path, 1u << 20, &procs, NULL) < 0)
			continue;
		for (char *save = NULL, *t = strtok_r(procs, "\n", &save); t;
		     t = strtok_r(NULL, "\n", &save)) {
			pid_t pid = (pid_t)atoi(t);
			if (pid > 0 && is_ns_init(pid))
				return pid;
		}
		return 0;
	}
	return 0;
}

bool
ct_frozen(const struct cg_host *cg, unsigned vmid)
{
	_cleanup_free_ char *rel = ct_rel(vmid);
	_cleanup_free_ char *dir = cg_path(cg, CG_FREEZER, rel);
	_cleanup_free_ char *text = NULL;
	if (dir) {
		_cleanup_free_ char *p = xasprintf("%s/freezer.state", dir);
		if (read_file(p, 1u << 20, &text, NULL) >= 0)
			return startswith(text, "FROZEN");
	}
	/* cgroup2: cgroup.freeze in the container's cgroup */
	_cleanup_free_ char *d2 = cg_path(cg, CG_MEMORY, rel);
	if (d2 && !cg->v1[CG_MEMORY]) {
		_cleanup_free_ char *p = xasprintf("%s/cgroup.freeze", d2);
		free(text);
		text = NULL;
		if (read_file(p, 1u << 20, &text, NULL) >= 0)
			return text[0] == '1';
	}
	return false;
}

static uint64_t
read_u64_file(const char *path)
{
	_cleanup_free_ char *text = NULL;
	if (read_file(path, 1u << 20, &text, NULL) < 0)
		return 0;
	return strtoull(text, NULL, 10);
}

static uint64_t
process_uptime(pid_t pid)
{
	unsigned long long start = 0;
	if (proc_start_time(pid, &start) < 0)
		return 0;
	struct timespec now;
	clock_gettime(CLOCK_BOOTTIME, &now);
	long hz = sysconf(_SC_CLK_TCK);
	uint64_t started = hz > 0 ? start / (unsigned long long)hz : 0;
	return (uint64_t)now.tv_sec > started ? (uint64_t)now.tv_sec - started : 0;
}

int
ct_live(const struct cg_host *cg, const struct ct_config *c, struct ct_live *ret)
{
	struct ct_live l = { 0 };
	l.maxdisk = c->rootfs.size;
	l.running = ct_running(cg, c->vmid);
	if (!l.running) {
		*ret = l;
		return 0;
	}
	l.pid = ct_init_pid(cg, c->vmid);
	if (l.pid > 0) {
		l.uptime = process_uptime(l.pid);
		char root[64];
		snprintf(root, sizeof(root), "/proc/%d/root", (int)l.pid);
		struct statvfs vfs;
		if (statvfs(root, &vfs) == 0) {
			l.maxdisk = (uint64_t)vfs.f_blocks * vfs.f_frsize;
			l.disk = (uint64_t)(vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize;
		}
	}
	_cleanup_free_ char *rel = ct_rel(c->vmid);
	struct cg_stats st;
	if (cg_read_stats(cg, rel, &st) >= 0) {
		l.cpu_ns = st.cpu_usage_ns;
		l.mem = st.mem_bytes;
		l.swap = st.swap_bytes;
		l.diskread = st.blk_read_bytes;
		l.diskwrite = st.blk_write_bytes;
	}
	for (size_t i = 0; i < c->n_nets; i++) {
		char veth[16], path[128];
		ct_veth_name(c->vmid, c->nets[i].index, veth);
		/* the host side receives what the CT sends */
		snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/rx_bytes", veth);
		l.netout += read_u64_file(path);
		snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/tx_bytes", veth);
		l.netin += read_u64_file(path);
	}
	*ret = l;
	return 0;
}
