/* The container tasks (worker side): vzcreate, vzstart, vzstop, vzshutdown, vzreboot,
 * vzsuspend, vzresume, vzdestroy. They run in `berthd --worker` processes, so liblxc,
 * mounts and namespaces never touch the daemon. */
#include "api/qemu-common.h"
#include "basic/fileio.h"
#include "guest/lxc/rootfs.h"
#include "metrics/rrdfile.h"
#include "storage/storage.h"

#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <strings.h>
#include <sys/mount.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct ct_task {
	struct task_worker *w;
	struct worker_env *env;
	unsigned vmid;
	struct ct_lxc_env lxc;
	char lxcpath[4096];
	struct storage_config *scfg;
};

static int
ct_task_init(struct ct_task *t, struct task_worker *w, json_t *params, struct error *err)
{
	t->w = w;
	t->env = task_userdata(w);
	t->vmid = (unsigned)json_integer_value(json_object_get(params, "vmid"));
	ct_env_init(&t->lxc, t->env->root_dir, t->lxcpath, sizeof(t->lxcpath));
	t->scfg = worker_storage_config(w, err);
	return t->scfg ? 0 : -EIO;
}

static void
ct_task_done(struct ct_task *t)
{
	storage_config_free(t->scfg);
}

/* Load the config and its typed view under the CT's lock. */
static int
load_locked(struct ct_task *t, struct store_lock **ret_lock, struct guestconf **ret_gc,
            struct ct_config **ret_cc, char *digest, struct error *err)
{
	int r = ct_conf_load_locked(t->env->store, t->env->node, t->vmid, ret_lock, ret_gc, digest,
	                            err);
	if (r < 0)
		return r;
	if (ret_cc)
		r = ct_conf_typed(*ret_gc, t->vmid, ret_cc, err);
	if (r < 0) {
		guestconf_free(*ret_gc);
		*ret_gc = NULL;
		store_unlock(*ret_lock);
		*ret_lock = NULL;
	}
	return r;
}

struct created {
	char **volids; /* allocated by this task, freed again on failure */
	size_t n;
};

static void
created_add(struct created *c, const char *volid)
{
	c->volids = xrealloc(c->volids, (c->n + 1) * sizeof(char *));
	c->volids[c->n++] = xstrdup(volid);
}

/* Allocate the volume a rootfs/mpN value asks for ("<sid>:<GiB>"), make a file system on a
 * raw image, and return the value with the new volume and its size. Existing volumes are
 * returned as they are. */
static int
alloc_mount(struct ct_task *t, const char *key, const char *value, const char *def_storage,
            const struct ct_idmap *map, struct created *made, char **ret, struct error *err)
{
	struct ct_mount m = { 0 };
	int r = ct_mount_parse(key, value, &m, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *sid = NULL;
	double gib;
	if (m.type != CT_MP_VOLUME || !storage_alloc_request(m.volume, def_storage, &sid, &gib)) {
		*ret = ct_mount_print(&m);
		ct_mount_done(&m);
		return 0;
	}
	uint64_t size_kib = (uint64_t)(gib * 1024 * 1024 + 0.5);
	enum volume_format fmt = storage_ct_format(t->scfg, sid, size_kib, err);
	if (fmt == FORMAT_NONE) {
		ct_mount_done(&m);
		return -EINVAL;
	}
	_cleanup_free_ char *volid = NULL;
	r = storage_alloc(t->scfg, sid, t->vmid, fmt, NULL, size_kib, &volid, err);
	if (r < 0) {
		ct_mount_done(&m);
		return r;
	}
	created_add(made, volid);
	task_log(t->w, "allocated %s '%s' (%s)", key, volid,
	         fmt == FORMAT_RAW ? "raw image, ext4" : "directory");
	_cleanup_free_ char *path = NULL;
	r = storage_path(t->scfg, volid, &path, err);
	if (r >= 0 && fmt == FORMAT_RAW)
		r = storage_mkfs_owner(path, map->count ? map->uid_base : 0,
		                       map->count ? map->gid_base : 0, err);
	if (r >= 0 && fmt == FORMAT_SUBVOL && map->count &&
	    chown(path, map->uid_base, map->gid_base) < 0)
		r = error_errno(err, -errno, "unable to chown '%s'", path);
	if (r < 0) {
		ct_mount_done(&m);
		return r;
	}
	free(m.volume);
	m.volume = TAKE_PTR(volid);
	m.size = size_kib * 1024;
	*ret = ct_mount_print(&m);
	ct_mount_done(&m);
	return 0;
}

/* ---- volumes of config changes ---- */

/* The storage side of a config update or of pending changes becoming real: new mount point
 * volumes (on the rootfs's storage when none is named) owned by the CT's root, volumes of
 * deleted unusedN freed when the CT owns them. */
struct update_storage {
	struct ct_task *t;
	struct ct_idmap map;
	char *def_storage;
	struct created made;
};

static int
update_alloc(const char *key, const char *value, char **ret, void *userdata, struct error *err)
{
	struct update_storage *u = userdata;
	if (!ct_mount_allocates(key, value))
		return 0;
	int r = alloc_mount(u->t, key, value, u->def_storage, &u->map, &u->made, ret, err);
	if (r < 0)
		error_prefix(err, "%s", key);
	return r;
}

static int
update_free(const char *volid, void *userdata, struct error *err)
{
	struct update_storage *u = userdata;
	int r = storage_free(u->t->scfg, volid, err);
	if (r == -ENOENT) {
		task_warn(u->t->w, "volume '%s' is already gone", volid);
		return 0;
	}
	if (r >= 0)
		task_log(u->t->w, "freed '%s'", volid);
	return r;
}

static void
update_warn(const char *line, void *userdata)
{
	struct update_storage *u = userdata;
	task_warn(u->t->w, "%s", line);
}

static struct ct_update_ops
update_storage_init(struct update_storage *u, struct ct_task *t, const struct guestconf *gc)
{
	*u = (struct update_storage){ .t = t };
	if (streq(guestconf_get(&gc->main, "unprivileged") ?: "0", "1"))
		u->map = (struct ct_idmap){ t->lxc.idmap_base, t->lxc.idmap_base,
			                    t->lxc.idmap_count };
	_cleanup_free_ char *root = ct_mount_volume("rootfs", guestconf_get(&gc->main, "rootfs"));
	u->def_storage = root ? xstrndup(root, strcspn(root, ":")) : xstrdup("local");
	return (struct ct_update_ops){ .alloc = update_alloc,
		                       .free_volume = update_free,
		                       .warn = update_warn,
		                       .userdata = u };
}

/* Done with it: on failure (ok false) the volumes it made are freed again. */
static void
update_storage_done(struct update_storage *u, bool ok)
{
	for (size_t i = 0; i < u->made.n; i++) {
		struct error e = { 0 };
		if (!ok && storage_free(u->t->scfg, u->made.volids[i], &e) < 0)
			task_warn(u->t->w, "unable to free '%s': %s", u->made.volids[i], e.msg);
		free(u->made.volids[i]);
	}
	free(u->made.volids);
	free(u->def_storage);
}

/* ---- pending changes ---- */

/* Move gc's pending changes into its config and save it (new volumes made, old ones kept as
 * unusedN, deleted unusedN freed): 1 when anything moved, 0 when nothing was pending. */
static int
commit_pending(struct ct_task *t, struct guestconf *gc, const char *digest, struct error *err)
{
	struct update_storage us;
	struct ct_update_ops ops = update_storage_init(&us, t, gc);
	int r = ct_pending_commit_all(gc, t->vmid, &ops);
	if (r > 0) {
		int s = ct_conf_save(t->env->store, t->env->node, t->vmid, gc, digest, err);
		if (s < 0)
			r = s;
		else
			task_log(t->w, "applied pending changes");
	}
	update_storage_done(&us, r >= 0);
	return r;
}

/* Apply the pending section once the CT is stopped, so the config reads as what runs next. */
static void
apply_pending(struct ct_task *t)
{
	struct store_lock *lk = NULL;
	struct guestconf *gc = NULL;
	char digest[STORE_DIGEST_LEN + 1];
	struct error err = { 0 };
	if (load_locked(t, &lk, &gc, NULL, digest, &err) < 0)
		return;
	if (commit_pending(t, gc, digest, &err) < 0)
		task_warn(t->w, "unable to apply pending changes: %s", err.msg);
	guestconf_free(gc);
	store_unlock(lk);
}

/* ---- vzstart ---- */

static int
start_ct(struct ct_task *t, const struct ct_config *cc, struct error *err)
{
	task_log(t->w, "starting CT %u", t->vmid);
	return ct_start(cc, &t->lxc, t->scfg, ct_task_log_line, t->w, err);
}

/* Start under the CT's lock. Pending changes apply first, as PVE's vm_start does: a CT that
 * stopped without a task (poweroff inside) still has them. */
static int
start_locked(struct ct_task *t, bool skiplock, bool debug, struct error *err)
{
	struct store_lock *lk = NULL;
	struct guestconf *gc = NULL;
	struct ct_config *cc = NULL;
	char digest[STORE_DIGEST_LEN + 1];
	int r = load_locked(t, &lk, &gc, &cc, digest, err);
	if (r >= 0 && !skiplock)
		r = ct_check_lock(gc, err);
	if (r >= 0 && cc->template)
		r = error_set(err, EINVAL, "CT %u is a template - cannot start", t->vmid);
	if (r >= 0 && (r = commit_pending(t, gc, digest, err)) > 0) {
		ct_config_free(cc);
		cc = NULL;
		r = ct_conf_typed(gc, t->vmid, &cc, err);
	}
	if (r >= 0) {
		cc->debug = debug;
		r = start_ct(t, cc, err);
	}
	ct_config_free(cc);
	guestconf_free(gc);
	store_unlock(lk);
	return r;
}

int
ct_start_task_run(struct task_worker *w, json_t *params, struct error *err)
{
	struct ct_task t = { 0 };
	int r = ct_task_init(&t, w, params, err);
	if (r >= 0)
		r = start_locked(&t, json_integer_value(json_object_get(params, "skiplock")) != 0,
		                 json_integer_value(json_object_get(params, "debug")) != 0, err);
	ct_task_done(&t);
	return r;
}

/* ---- vzstop / vzshutdown / vzreboot / vzsuspend / vzresume ---- */

enum power_op { OP_STOP, OP_SHUTDOWN, OP_REBOOT, OP_SUSPEND, OP_RESUME };

static int
power_task(struct task_worker *w, json_t *params, enum power_op op, struct error *err)
{
	struct ct_task t = { 0 };
	int r = ct_task_init(&t, w, params, err);
	if (r < 0) {
		ct_task_done(&t);
		return r;
	}
	switch (op) {
	case OP_STOP:
		r = ct_stop(&t.lxc, t.vmid, err);
		break;
	case OP_SHUTDOWN: {
		json_t *to = json_object_get(params, "timeout");
		unsigned timeout = to ? (unsigned)json_integer_value(to) : 60;
		bool force = json_integer_value(json_object_get(params, "forceStop")) != 0;
		r = ct_shutdown(&t.lxc, t.vmid, timeout, force, err);
		break;
	}
	case OP_REBOOT: {
		/* PVE's vm_reboot: a shutdown that ends in a hard stop after the timeout, then a
		 * fresh start, which applies pending changes */
		json_t *to = json_object_get(params, "timeout");
		r = ct_shutdown(&t.lxc, t.vmid, to ? (unsigned)json_integer_value(to) : 60, true,
		                err);
		if (r >= 0)
			r = start_locked(&t, true, false, err);
		break;
	}
	case OP_SUSPEND:
		r = ct_freeze(&t.lxc, t.vmid, true, err);
		break;
	case OP_RESUME:
		r = ct_freeze(&t.lxc, t.vmid, false, err);
		break;
	}
	if (r >= 0 && (op == OP_STOP || op == OP_SHUTDOWN))
		apply_pending(&t);
	ct_task_done(&t);
	return r;
}

int
ct_stop_task_run(struct task_worker *w, json_t *params, struct error *err)
{
	return power_task(w, params, OP_STOP, err);
}

int
ct_shutdown_task_run(struct task_worker *w, json_t *params, struct error *err)
{
	return power_task(w, params, OP_SHUTDOWN, err);
}

int
ct_reboot_task_run(struct task_worker *w, json_t *params, struct error *err)
{
	return power_task(w, params, OP_REBOOT, err);
}

int
ct_suspend_task_run(struct task_worker *w, json_t *params, struct error *err)
{
	return power_task(w, params, OP_SUSPEND, err);
}

int
ct_resume_task_run(struct task_worker *w, json_t *params, struct error *err)
{
	return power_task(w, params, OP_RESUME, err);
}

/* ---- vzconfig ---- */

/* New mount points of a running CT, mounted into it live (PVE's apply_pending_mountpoint
 * with a running CT): the volume a value asks for is made first and freed again when the
 * mount fails; the change then stays pending, as a mount point that exists already does
 * (PVE skips those). The number mounted; the first failure names *ret_key. */
static int
hotplug_mounts(struct ct_task *t, struct guestconf *gc, char **ret_key, struct error *err)
{
	if (!gc->pending)
		return 0;
	_cleanup_(strv_freep) char **sets = guestconf_pending_set_keys(gc);
	bool unprivileged = streq(guestconf_get(&gc->main, "unprivileged") ?: "0", "1");
	int applied = 0;
	for (char **k = sets; *k; k++) {
		if (!startswith(*k, "mp") || !ct_is_volume_key(*k) || guestconf_get(&gc->main, *k))
			continue;
		struct update_storage us;
		struct ct_update_ops ops = update_storage_init(&us, t, gc);
		const char *value = guestconf_get(gc->pending, *k);
		_cleanup_free_ char *made = NULL;
		struct ct_mount m = { 0 };
		struct error e = { 0 };
		int r = ops.alloc(*k, value, &made, ops.userdata, &e);
		if (r >= 0)
			r = ct_mount_parse(*k, made ? made : value, &m, &e);
		if (r >= 0) {
			task_log(t->w, "mounting %s at %s in the running CT", *k, m.mp);
			r = ct_mount_hotplug(&t->lxc, t->scfg, t->vmid, unprivileged, &m, &e);
		}
		ct_mount_done(&m);
		update_storage_done(&us, r >= 0);
		if (r < 0) {
			if (!*ret_key) {
				*ret_key = xstrdup(*k);
				error_set(err, e.code ? e.code : EIO, "%s", e.msg);
			}
			continue;
		}
		guestconf_set(&gc->main, *k, made ? made : value);
		guestconf_unset(gc->pending, *k);
		applied++;
	}
	guestconf_prune_pending(gc);
	return applied;
}

/* PUT config when volumes are made or freed, or NICs of a running CT change: the update,
 * checked by the handler already, done again here under the CT's lock with the storage and
 * network work (PVE does it inside its synchronous update; berthd leaves such work to
 * workers). New volumes are freed again when the update fails; a NIC change that cannot be
 * made live stays pending and is the task's error. */
int
ct_config_task_run(struct task_worker *w, json_t *params, struct error *err)
{
	static const char *const own[] = { "node",   "vmid",     "digest", "delete",
		                           "revert", "api-user", NULL };
	struct ct_task t = { 0 };
	int r = ct_task_init(&t, w, params, err);
	struct store_lock *lk = NULL;
	struct guestconf *gc = NULL;
	char digest[STORE_DIGEST_LEN + 1];
	if (r >= 0)
		r = load_locked(&t, &lk, &gc, NULL, digest, err);
	if (r >= 0)
		r = guest_digest_check(json_string_value(json_object_get(params, "digest")), digest,
		                       err);
	if (r >= 0)
		r = ct_check_lock(gc, err);
	struct guest_update u;
	guest_update_from_params(params, own, &u);
	bool running = ct_running(ct_cg_host(), t.vmid);
	struct update_storage us = { 0 };
	bool have_us = false;
	if (r >= 0) {
		struct ct_update_ops ops = update_storage_init(&us, &t, gc);
		have_us = true;
		r = ct_update_apply(gc, t.vmid, running, u.sets, u.del, u.rev, &ops, err);
	}
	/* limits of a running CT: what the cgroup refuses stays pending, and is the answer */
	struct error hot_err = { 0 };
	const char *hot_key = NULL;
	if (r >= 0 && running)
		(void)ct_hotplug_limits(t.vmid, &gc, &hot_key, &hot_err);
	if (r >= 0)
		r = ct_conf_save(t.env->store, t.env->node, t.vmid, gc, digest, err);
	if (have_us)
		update_storage_done(&us, r >= 0);
	/* NICs of a running CT, once the config with their pending changes is saved */
	_cleanup_free_ char *net_key = NULL;
	struct error net_err = { 0 };
	pid_t pid = r >= 0 && running ? ct_init_pid(ct_cg_host(), t.vmid) : 0;
	int hotplugged = 0;
	if (pid > 0)
		hotplugged =
		        ct_hotplug_nets(gc, t.vmid, pid, ct_task_log_line, w, &net_key, &net_err);
	/* new mount points of a running CT */
	_cleanup_free_ char *mp_key = NULL;
	struct error mp_err = { 0 };
	if (pid > 0)
		hotplugged += hotplug_mounts(&t, gc, &mp_key, &mp_err);
	if (hotplugged > 0)
		r = ct_conf_save(t.env->store, t.env->node, t.vmid, gc, NULL, err);
	if (r >= 0 && hot_key)
		r = error_set(err, EINVAL, "unable to hotplug %s: %s", hot_key, hot_err.msg);
	else if (r >= 0 && net_key)
		r = error_set(err, EINVAL, "unable to hotplug %s: %s", net_key, net_err.msg);
	else if (r >= 0 && mp_key)
		r = error_set(err, EINVAL, "unable to hotplug %s: %s", mp_key, mp_err.msg);
	guest_update_done(&u);
	guestconf_free(gc);
	if (lk)
		store_unlock(lk);
	ct_task_done(&t);
	return r;
}

/* ---- vzdestroy ---- */

/* Does volid belong to vmid? PVE frees only a CT's own volumes (delete_mountpoint_volume):
 * a config may name another guest's volume (unusedN set by hand, an existing volume as mpN). */
static bool
volume_owned_by(struct ct_task *t, const char *volid, unsigned vmid)
{
	const struct storage *s = NULL;
	struct volname v;
	struct error e = { 0 };
	if (storage_resolve(t->scfg, volid, &s, &v, &e) < 0)
		return true; /* storage gone or name unknown: storage_free reports it */
	if (v.vmid == vmid)
		return true;
	task_warn(t->w, "ignore deletion of '%s', CT %u isn't the owner!", volid, vmid);
	return false;
}

/* The volumes a config owns: rootfs, volume mount points, unusedN. */
static char **
owned_volumes(const struct guestconf *gc)
{
	char **list = NULL;
	size_t n = 0;
	const struct guestconf_section *s = &gc->main;
	for (size_t i = 0; i < s->n_items; i++) {
		const char *k = s->items[i].key;
		char *vol = NULL;
		if (startswith(k, "unused")) {
			vol = xstrdup(s->items[i].value);
		} else if (ct_is_volume_key(k)) {
			struct ct_mount m = { 0 };
			struct error e = { 0 };
			if (ct_mount_parse(k, s->items[i].value, &m, &e) >= 0 &&
			    m.type == CT_MP_VOLUME)
				vol = TAKE_PTR(m.volume);
			ct_mount_done(&m);
		}
		if (vol) {
			list = xrealloc(list, (n + 2) * sizeof(char *));
			list[n++] = vol;
			list[n] = NULL;
		}
	}
	return list;
}

static void
remove_lxc_dir(struct ct_task *t)
{
	_cleanup_free_ char *dir = xasprintf("%s/%u", t->lxcpath, t->vmid);
	_cleanup_free_ char *cfg = xasprintf("%s/config", dir);
	_cleanup_free_ char *log = xasprintf("%s/lxc.log", dir);
	_cleanup_free_ char *seccomp = ct_seccomp_path(t->lxcpath, t->vmid);
	_cleanup_free_ char *rootfs = ct_rootfs_dir(t->lxcpath, t->vmid);
	_cleanup_free_ char *mnt = xasprintf("%s/mnt", dir);
	unlink(cfg);
	unlink(log);
	unlink(seccomp);
	rmdir(rootfs);
	/* staging dirs of mount points: empty directories only */
	DIR *d = opendir(mnt);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d)))
			if (de->d_name[0] != '.') {
				_cleanup_free_ char *p = xasprintf("%s/%s", mnt, de->d_name);
				rmdir(p);
			}
		closedir(d);
	}
	rmdir(mnt);
	rmdir(dir);
}

int
ct_destroy_task_run(struct task_worker *w, json_t *params, struct error *err)
{
	struct ct_task t = { 0 };
	int r = ct_task_init(&t, w, params, err);
	struct store_lock *lk = NULL;
	struct guestconf *gc = NULL;
	char digest[STORE_DIGEST_LEN + 1];
	if (r >= 0)
		r = load_locked(&t, &lk, &gc, NULL, digest, err);
	if (r >= 0)
		r = ct_check_lock(gc, err);
	if (r >= 0 && ct_running(t.lxc.cg, t.vmid)) {
		if (!json_integer_value(json_object_get(params, "force")))
			r = error_set(err, EBUSY, "CT %u is running - destroy failed", t.vmid);
		else {
			task_log(w, "stopping CT %u", t.vmid);
			r = ct_stop(&t.lxc, t.vmid, err);
		}
	}
	if (r >= 0) {
		/* from here on the CT is being destroyed: a crash leaves it locked, never
		 * half-configured and usable */
		guestconf_set(&gc->main, "lock", "destroyed");
		r = ct_conf_save(t.env->store, t.env->node, t.vmid, gc, digest, err);
	}
	if (r >= 0) {
		char **vols = owned_volumes(gc);
		for (char **v = vols; v && *v; v++) {
			struct error e = { 0 };
			if (!volume_owned_by(&t, *v, t.vmid))
				continue;
			if (storage_free(t.scfg, *v, &e) < 0 && e.code != ENOENT)
				task_warn(w, "unable to free volume '%s': %s", *v, e.msg);
			else
				task_log(w, "removed volume '%s'", *v);
		}
		strv_free(vols);
		ct_cleanup_stopped(&t.lxc, t.vmid);
		remove_lxc_dir(&t);
		_cleanup_free_ char *path = ct_conf_path(t.env->node, t.vmid);
		int dr = store_delete(t.env->store, path, NULL);
		if (dr < 0)
			r = error_errno(err, dr, "unable to remove '%s'", path);
		/* PVE's remove_vm_access: the vmid leaves its pool with the guest */
		struct error pe = { 0 };
		if (dr >= 0 && guest_pool_set(t.env->store, t.vmid, NULL, &pe) < 0)
			task_warn(w, "unable to remove CT %u from its pool: %s", t.vmid, pe.msg);
		/* its graphs go with it: a new CT with this vmid starts with none */
		if (dr >= 0 && rrd_file_remove_guest(t.env->root_dir, t.vmid) < 0)
			task_warn(w, "unable to remove the rrd file of CT %u", t.vmid);
	}
	guestconf_free(gc);
	store_unlock(lk);
	ct_task_done(&t);
	return r;
}

/* ---- vzcreate ---- */

static int
fill_rootfs(struct ct_task *t, json_t *params, const char *rootfs_value, struct ct_config *cc,
            const struct ct_idmap *map, char **ret_ostype, struct error *err)
{
	struct ct_mount m = { 0 };
	int r = ct_mount_parse("rootfs", rootfs_value, &m, err);
	if (r < 0)
		return r;
	/* a private mount namespace: nothing shows on the host, and everything goes away with
	 * this worker even if it dies */
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) {
		ct_mount_done(&m);
		return error_errno(err, -errno, "unable to create a mount namespace");
	}
	_cleanup_free_ char *dir = xasprintf("%s/%u", t->lxcpath, t->vmid);
	_cleanup_free_ char *rootdir = ct_rootfs_dir(t->lxcpath, t->vmid);
	if (mkdir_p(dir, 0711) < 0 || (mkdir(rootdir, 0755) < 0 && errno != EEXIST)) {
		ct_mount_done(&m);
		return error_errno(err, -errno, "unable to create '%s'", rootdir);
	}
	chmod(t->lxcpath, 0711);
	r = storage_mount(t->scfg, m.volume, rootdir, err);
	ct_mount_done(&m);
	if (r < 0)
		return r;

	const char *ostemplate = json_string_value(json_object_get(params, "ostemplate"));
	_cleanup_free_ char *archive = NULL;
	r = storage_path(t->scfg, ostemplate, &archive, err);
	if (r >= 0) {
		task_log(t->w, "extracting archive '%s'", archive);
		r = ct_extract_template(archive, rootdir, map, ct_task_log_line, t->w, err);
	}
	const char *ostype = cc->ostype;
	if (r >= 0 && !ostype) {
		r = ct_detect_ostype(rootdir, &ostype, err);
		if (r >= 0)
			task_log(t->w, "detected OS type '%s'", ostype);
	}
	if (r >= 0) {
		struct ct_net_setup nets[CT_MAX_NETS];
		for (size_t i = 0; i < cc->n_nets && i < CT_MAX_NETS; i++)
			nets[i] = (struct ct_net_setup){ .name = cc->nets[i].name,
				                         .ip = cc->nets[i].ip,
				                         .gw = cc->nets[i].gw,
				                         .ip6 = cc->nets[i].ip6,
				                         .gw6 = cc->nets[i].gw6,
				                         .mtu = cc->nets[i].mtu };
		/* neither set: the host's resolver settings (NULL), as PVE; one set: only it */
		bool dns_set = cc->searchdomain || cc->nameserver;
		char name[32];
		snprintf(name, sizeof(name), "CT%u", t->vmid);
		struct ct_setup s = {
			.ostype = ostype,
			.hostname = cc->hostname ? cc->hostname : name,
			.searchdomain = cc->searchdomain ? cc->searchdomain
			                : dns_set        ? ""
			                                 : NULL,
			.nameserver = cc->nameserver ? cc->nameserver
			              : dns_set      ? ""
			                             : NULL,
			.password = json_string_value(json_object_get(params, "password")),
			.ssh_keys = json_string_value(json_object_get(params, "ssh-public-keys")),
			.nets = nets,
			.n_nets = cc->n_nets,
			.map = *map,
		};
		task_log(t->w, "setting up the container (hostname, network, root account)");
		r = ct_rootfs_setup(rootdir, &s, err);
	}
	struct error ue = { 0 };
	storage_umount(rootdir, &ue);
	if (r >= 0)
		*ret_ostype = xstrdup(ostype);
	return r;
}

int
ct_create_task_run(struct task_worker *w, json_t *params, struct error *err)
{
	struct ct_task t = { 0 };
	int r = ct_task_init(&t, w, params, err);
	if (r < 0) {
		ct_task_done(&t);
		return r;
	}
	struct created made = { 0 };
	struct store_lock *lk = NULL;
	struct guestconf *gc = NULL;
	struct ct_config *cc = NULL;
	char digest[STORE_DIGEST_LEN + 1];
	_cleanup_free_ char *ostype = NULL;
	const char *def_storage = json_string_value(json_object_get(params, "storage"));

	r = load_locked(&t, &lk, &gc, NULL, digest, err);
	if (r < 0)
		goto out;
	const char *lock = guestconf_get(&gc->main, "lock");
	if (!lock || !streq(lock, "create")) {
		r = error_set(err, EINVAL, "CT %u is not being created", t.vmid);
		goto out;
	}
	bool unprivileged = streq(guestconf_get(&gc->main, "unprivileged") ?: "1", "1");
	struct ct_idmap map = { 0 };
	if (unprivileged)
		map = (struct ct_idmap){ t.lxc.idmap_base, t.lxc.idmap_base, t.lxc.idmap_count };

	/* volumes of a config replaced with force */
	json_t *old = json_object_get(params, "old-volumes");
	size_t i;
	json_t *v;
	json_array_foreach (old, i, v) {
		struct error e = { 0 };
		if (!volume_owned_by(&t, json_string_value(v), t.vmid))
			continue;
		if (storage_free(t.scfg, json_string_value(v), &e) < 0 && e.code != ENOENT)
			task_warn(w, "unable to free old volume '%s': %s", json_string_value(v),
			          e.msg);
	}

	/* allocate rootfs and mount points */
	const char *key;
	json_object_foreach (params, key, v) {
		if (!ct_is_volume_key(key))
			continue;
		_cleanup_free_ char *value = NULL;
		r = alloc_mount(&t, key, json_string_value(v), def_storage, &map, &made, &value,
		                err);
		if (r < 0) {
			error_prefix(err, "%s", key);
			goto out;
		}
		guestconf_set(&gc->main, key, value);
	}
	r = ct_conf_typed(gc, t.vmid, &cc, err);
	if (r < 0)
		goto out;
	r = fill_rootfs(&t, params, guestconf_get(&gc->main, "rootfs"), cc, &map, &ostype, err);
	if (r < 0)
		goto out;

	if (!guestconf_get(&gc->main, "ostype"))
		guestconf_set(&gc->main, "ostype", ostype);
	if (!guestconf_get(&gc->main, "arch"))
		guestconf_set(&gc->main, "arch", "amd64");
	guestconf_unset(&gc->main, "lock");
	r = ct_conf_save(t.env->store, t.env->node, t.vmid, gc, digest, err);
	if (r < 0)
		goto out;
	task_log(w, "created CT %u", t.vmid);
	store_unlock(lk);
	lk = NULL;
	const char *pool = json_string_value(json_object_get(params, "pool"));
	if (pool) {
		/* PVE adds the CT to its pool once it exists; a failure here is a warning */
		struct error pe = { 0 };
		if (guest_pool_set(t.env->store, t.vmid, pool, &pe) < 0)
			task_warn(w, "unable to add CT %u to pool '%s': %s", t.vmid, pool, pe.msg);
	}

	if (json_integer_value(json_object_get(params, "start"))) {
		ct_config_free(cc);
		cc = NULL;
		r = ct_conf_typed(gc, t.vmid, &cc, err);
		if (r >= 0)
			r = start_ct(&t, cc, err);
		/* the CT exists; a failed start does not undo the create */
		for (size_t k = 0; k < made.n; k++)
			free(made.volids[k]);
		made.n = 0;
	}
out:
	if (r < 0 && made.n) {
		/* nothing half-made: free what this task allocated, drop the placeholder */
		for (size_t k = 0; k < made.n; k++) {
			struct error e = { 0 };
			if (storage_free(t.scfg, made.volids[k], &e) < 0)
				task_warn(w, "unable to free '%s': %s", made.volids[k], e.msg);
		}
	}
	if (r < 0 && lk) {
		_cleanup_free_ char *path = ct_conf_path(t.env->node, t.vmid);
		store_delete(t.env->store, path, NULL);
		remove_lxc_dir(&t);
	}
	for (size_t k = 0; k < made.n; k++)
		free(made.volids[k]);
	free(made.volids);
	ct_config_free(cc);
	guestconf_free(gc);
	store_unlock(lk);
	ct_task_done(&t);
	return r;
}

/* ---- startall: onboot guests in startup order ---- */

struct boot_entry {
	unsigned vmid;
	bool vm;
	unsigned long order; /* ULONG_MAX when unset: after the ordered ones */
	unsigned up;         /* seconds to wait after starting */
};

static int
cmp_boot(const void *a, const void *b)
{
	const struct boot_entry *x = a, *y = b;
	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return x->vmid < y->vmid ? -1 : x->vmid > y->vmid;
}

/* "order=2,up=30" (or a bare order) */
static void
parse_startup(const char *s, struct boot_entry *e)
{
	e->order = ULONG_MAX;
	if (!s)
		return;
	_cleanup_(strv_freep) char **parts = split_list(s);
	for (char **p = parts; *p; p++) {
		if (startswith(*p, "order="))
			e->order = strtoul(*p + 6, NULL, 10);
		else if (startswith(*p, "up="))
			e->up = (unsigned)strtoul(*p + 3, NULL, 10);
		else if (strspn(*p, "0123456789") == strlen(*p))
			e->order = strtoul(*p, NULL, 10);
	}
}

/* startup: up=<seconds> after a guest started */
static void
startup_delay(struct task_worker *w, unsigned up)
{
	if (!up)
		return;
	task_log(w, "Waiting for %u seconds (startup delay)", up);
	for (unsigned s = 0; s < up && !task_interrupted(w); s++)
		sleep(1);
}

/* Start one CT in a child process: each start needs a mount namespace of its own, which its
 * monitor keeps; starting several from one process would chain them. */
static int
start_in_child(struct ct_task *t, const struct ct_config *cc, struct error *err)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return error_errno(err, -errno, "fork");
	if (pid == 0) {
		struct error e = { 0 };
		int r = start_ct(t, cc, &e);
		if (r < 0)
			task_log(t->w, "CT %u: %s", cc->vmid, e.msg);
		fflush(NULL);
		_exit(r < 0 ? 1 : 0);
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return error_set(err, EIO, "starting CT %u failed", cc->vmid);
	return 0;
}

int
ct_startall_task_run(struct task_worker *w, json_t *params, struct error *err)
{
	struct ct_task t = { 0 };
	int r = ct_task_init(&t, w, params, err);
	if (r < 0) {
		ct_task_done(&t);
		return r;
	}
	bool force = json_integer_value(json_object_get(params, "force")) != 0;
	const char *vms = json_string_value(json_object_get(params, "vms"));
	_cleanup_(strv_freep) char **only = vms ? split_list(vms) : NULL;

	struct boot_entry *list = NULL;
	size_t n = 0;
	for (int vm = 0; vm < 2; vm++) {
		enum guestconf_kind kind = vm ? GUESTCONF_QEMU : GUESTCONF_LXC;
		_cleanup_free_ char *prefix =
		        xasprintf("nodes/%s/%s/", t.env->node, vm ? "qemu-server" : "lxc");
		char **paths = NULL;
		if (store_list(t.env->store, prefix, &paths) < 0)
			continue;
		for (char **p = paths; *p; p++) {
			unsigned vmid = (unsigned)strtoul(*p + strlen(prefix), NULL, 10);
			char id[16];
			snprintf(id, sizeof(id), "%u", vmid);
			if (vmid < 100 || (only && !strv_contains((const char *const *)only, id)))
				continue;
			struct guestconf *gc = NULL;
			struct error e = { 0 };
			if (guest_conf_load(t.env->store, kind, t.env->node, vmid, &gc, NULL, &e) <
			    0)
				continue;
			const char *onboot = guestconf_get(&gc->main, "onboot");
			const char *tmpl = guestconf_get(&gc->main, "template");
			if ((force || (onboot && streq(onboot, "1"))) &&
			    !(tmpl && streq(tmpl, "1"))) {
				list = xrealloc(list, (n + 1) * sizeof(*list));
				list[n] = (struct boot_entry){ .vmid = vmid, .vm = vm };
				parse_startup(guestconf_get(&gc->main, "startup"), &list[n]);
				n++;
			}
			guestconf_free(gc);
		}
		store_strv_free(paths);
	}
	if (n)
		qsort(list, n, sizeof(*list), cmp_boot);
	for (size_t i = 0; i < n && !task_interrupted(w); i++) {
		t.vmid = list[i].vmid;
		if (list[i].vm) {
			struct error e = { 0 };
			int q = vm_start_from_task(w, t.vmid, &e);
			if (q == -EEXIST)
				continue;
			if (q < 0) {
				task_warn(w, "Starting VM %u failed: %s", t.vmid, e.msg);
				continue;
			}
			startup_delay(w, list[i].up);
			continue;
		}
		if (ct_running(t.lxc.cg, t.vmid))
			continue;
		struct store_lock *lk = NULL;
		struct guestconf *gc = NULL;
		struct ct_config *cc = NULL;
		struct error e = { 0 };
		int q = load_locked(&t, &lk, &gc, &cc, NULL, &e);
		if (q >= 0)
			q = ct_check_lock(gc, &e);
		if (q >= 0) {
			task_log(w, "Starting CT %u", t.vmid);
			q = start_in_child(&t, cc, &e);
		}
		ct_config_free(cc);
		guestconf_free(gc);
		store_unlock(lk);
		if (q < 0) {
			task_warn(w, "Starting CT %u failed: %s", t.vmid, e.msg);
			continue;
		}
		startup_delay(w, list[i].up);
	}
	free(list);
	ct_task_done(&t);
	return 0;
}
