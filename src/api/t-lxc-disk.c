/* Container volumes after create: PUT .../resize (task "resize", grow only, online for a
 * running CT) and POST .../template (task "vztemplate": volumes become base volumes). */
#include "api/lxc-common.h"
#include "basic/fileio.h"
#include "schema/propstr.h"
#include "shared/run.h"
#include "storage/storage.h"

#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>

/* ---- routes ---- */

static int
lxc_resize(struct api_call *c)
{
	unsigned vmid = (unsigned)param_int(c->params, "vmid", 0);
	const char *disk = param_str(c->params, "disk");
	const char *size = param_str(c->params, "size");
	char digest[STORE_DIGEST_LEN + 1];
	struct guestconf *gc = NULL;
	if (ct_conf_load(c->ctx->store, c->ctx->node, vmid, &gc, digest, &c->err) < 0)
		return -ENOENT;
	int r = api_digest_check(c, digest);
	if (r >= 0)
		r = ct_check_lock(gc, &c->err);
	const char *value = r >= 0 ? guestconf_get(&gc->main, disk) : NULL;
	if (r >= 0 && !value)
		r = api_fail(c, 500, "unable to parse volume ID '%s'", disk);
	struct ct_mount m = { 0 };
	if (r >= 0 && ct_mount_parse(disk, value, &m, &c->err) < 0)
		r = -EINVAL;
	if (r >= 0 && m.type != CT_MP_VOLUME)
		r = api_fail(c, 500, "you can't resize a bind or device mount point");
	uint64_t bytes = 0;
	const char *num = size[0] == '+' ? size + 1 : size;
	if (r >= 0 && size_parse(num, &bytes) < 0)
		r = api_param_error(c, "size", "invalid size '%s'", size);
	if (r >= 0 && size[0] != '+' && bytes < m.size)
		r = api_fail(c, 500, "unable to shrink disk size");
	ct_mount_done(&m);
	guestconf_free(gc);
	if (r < 0)
		return r;
	char id[16];
	snprintf(id, sizeof(id), "%u", vmid);
	return api_start_task(c, "resize", id, json_deep_copy(c->params), NULL, 0);
}

static int
lxc_template(struct api_call *c)
{
	unsigned vmid = (unsigned)param_int(c->params, "vmid", 0);
	struct guestconf *gc = NULL;
	if (ct_conf_load(c->ctx->store, c->ctx->node, vmid, &gc, NULL, &c->err) < 0)
		return -ENOENT;
	int r = ct_check_lock(gc, &c->err);
	const char *tmpl = guestconf_get(&gc->main, "template");
	if (r >= 0 && tmpl && streq(tmpl, "1"))
		r = api_fail(c, 500, "you can't convert a template to a template");
	guestconf_free(gc);
	if (r < 0)
		return r;
	if (ct_running(ct_cg_host(), vmid))
		return api_fail(c, 500, "you can't convert a CT to template if the CT is running");
	char id[16];
	snprintf(id, sizeof(id), "%u", vmid);
	r = api_start_task(c, "vztemplate", id, json_deep_copy(c->params), NULL, 0);
	if (r < 0)
		return r;
	/* PVE answers null although it forks a worker */
	json_decref(c->data);
	c->data = json_null();
	return 0;
}

static const struct api_schema resize_params[] = {
	PARAM_NODE,
	PARAM_VMID,
	PARAM_DIGEST,
	{ .name = "disk",
	  .type = API_T_STRING,
	  .pattern = "rootfs|mp[0-9]{1,3}",
	  .description = "The disk you want to resize." },
	{ .name = "size",
	  .type = API_T_STRING,
	  .pattern = "\\+?[0-9]+(\\.[0-9]+)?[KMGT]?",
	  .description = "The new size. With the '+' sign the value is added to the actual size "
	                 "of the volume and without it, the value is taken as an absolute one. "
	                 "Shrinking disk size is not supported." },
	PARAM_END,
};

const struct api_route api_routes_lxc_disk[] = {
	{ .method = API_PUT,
	  .path = "/nodes/{node}/lxc/{vmid}/resize",
	  .params = resize_params,
	  .perm = { .kind = PERM_PRIVS, .path = "/vms/{vmid}", .privs = "VM.Config.Disk" },
	  .flags = API_TASK,
	  .handler = lxc_resize,
	  .description = "Resize a container mount point." },
	{ .method = API_POST,
	  .path = "/nodes/{node}/lxc/{vmid}/template",
	  .params = (const struct api_schema[]){ PARAM_NODE, PARAM_VMID, PARAM_END },
	  .perm = { .kind = PERM_PRIVS, .path = "/vms/{vmid}", .privs = "VM.Allocate" },
	  .handler = lxc_template,
	  .description = "Create a Template." },
	{ .handler = NULL },
};

/* ---- tasks ---- */

/* The loop device backing a file, from sysfs ("/dev/loop3"); NULL when none. */
static char *
loop_of(const char *file)
{
	DIR *d = opendir("/sys/block");
	if (!d)
		return NULL;
	char *found = NULL;
	struct dirent *de;
	while (!found && (de = readdir(d))) {
		if (!startswith(de->d_name, "loop"))
			continue;
		_cleanup_free_ char *p = xasprintf("/sys/block/%s/loop/backing_file", de->d_name);
		_cleanup_free_ char *text = NULL;
		if (read_file(p, 4096, &text, NULL) < 0)
			continue;
		text[strcspn(text, "\n")] = '\0';
		if (streq(text, file))
			found = xasprintf("/dev/%s", de->d_name);
	}
	closedir(d);
	return found;
}

/* The monitor of a running CT: its mount namespace holds the CT's volumes. */
static pid_t
monitor_pid(const struct cg_host *cg, unsigned vmid)
{
	_cleanup_free_ char *rel = xasprintf("lxc.monitor/%u", vmid);
	static const enum cg_controller any[] = { CG_PIDS, CG_MEMORY, CG_CPU };
	for (size_t i = 0; i < ARRAY_SIZE(any); i++) {
		_cleanup_free_ char *dir = cg_path(cg, any[i], rel);
		_cleanup_free_ char *p = dir ? xasprintf("%s/cgroup.procs", dir) : NULL;
		_cleanup_free_ char *text = NULL;
		if (p && read_file(p, 1u << 16, &text, NULL) >= 0 && text[0])
			return (pid_t)atoi(text);
	}
	return 0;
}

static int
run(struct task_worker *w, const char *const *argv, struct error *err)
{
	struct run_options o = { .argv = argv,
		                 .out_line = ct_task_log_line,
		                 .err_line = ct_task_log_line,
		                 .userdata = w };
	return run_program(&o, NULL, err);
}

/* Grow the ext4 file system in a raw image: online in the CT's volume namespace when it
 * runs (the loop device learns its new size first; needs CAP_SYS_RESOURCE), else offline
 * after a check. */
static int
grow_ext4(struct task_worker *w, unsigned vmid, const char *path, struct error *err)
{
	const struct cg_host *cg = ct_cg_host();
	_cleanup_free_ char *loop = ct_running(cg, vmid) ? loop_of(path) : NULL;
	pid_t mon = loop ? monitor_pid(cg, vmid) : 0;
	if (loop && mon > 0) {
		char ns[64];
		snprintf(ns, sizeof(ns), "--mount=/proc/%d/ns/mnt", (int)mon);
		const char *lc[] = { "losetup", "--set-capacity", loop, NULL };
		const char *rz[] = { "nsenter", ns, "resize2fs", loop, NULL };
		int r = run(w, lc, err);
		return r < 0 ? r : run(w, rz, err);
	}
	if (loop)
		return error_set(err, EBUSY, "volume '%s' is in use", path);
	const char *fsck[] = { "e2fsck", "-f", "-y", path, NULL };
	const char *rz[] = { "resize2fs", path, NULL };
	int r = run(w, fsck, err);
	return r < 0 ? r : run(w, rz, err);
}

int
ct_resize_task_run(struct task_worker *w, json_t *params, struct error *err)
{
	struct worker_env *env = task_userdata(w);
	unsigned vmid = (unsigned)json_integer_value(json_object_get(params, "vmid"));
	const char *disk = json_string_value(json_object_get(params, "disk"));
	const char *size = json_string_value(json_object_get(params, "size"));
	struct store_lock *lk = NULL;
	struct guestconf *gc = NULL;
	char digest[STORE_DIGEST_LEN + 1];
	int r = ct_conf_load_locked(env->store, env->node, vmid, &lk, &gc, digest, err);
	if (r < 0)
		return r;
	struct storage_config *scfg = NULL;
	struct ct_mount m = { 0 };
	_cleanup_free_ char *path = NULL, *value = NULL;
	r = ct_check_lock(gc, err);
	if (r >= 0 && !guestconf_get(&gc->main, disk))
		r = error_set(err, EINVAL, "unable to parse volume ID '%s'", disk);
	if (r >= 0)
		r = ct_mount_parse(disk, guestconf_get(&gc->main, disk), &m, err);
	if (r >= 0 && !(scfg = worker_storage_config(w, err)))
		r = -EIO;
	struct volume_info vi = { 0 };
	if (r >= 0)
		r = storage_info(scfg, m.volume, &vi, err);
	uint64_t cur = vi.size, bytes = 0;
	volume_info_done(&vi);
	if (r >= 0) {
		size_parse(size[0] == '+' ? size + 1 : size, &bytes);
		uint64_t want = size[0] == '+' ? cur + bytes : bytes;
		/* whole KiB, as PVE rounds */
		want = (want + 1023) / 1024 * 1024;
		if (want < cur)
			r = error_set(err, EINVAL, "unable to shrink disk size");
		else if (want == cur)
			task_log(w, "%s is already %llu bytes", disk, (unsigned long long)cur);
		else {
			task_log(w, "resizing %s '%s' to %llu bytes", disk, m.volume,
			         (unsigned long long)want);
			r = storage_resize(scfg, m.volume, want, err);
			/* the volume has its new size: the config says so before the file system
			 * is grown (as PVE), so a failure there leaves nothing inconsistent */
			if (r >= 0) {
				m.size = want;
				value = ct_mount_print(&m);
				guestconf_set(&gc->main, disk, value);
				r = ct_conf_save(env->store, env->node, vmid, gc, digest, err);
			}
			if (r >= 0)
				r = storage_path(scfg, m.volume, &path, err);
			struct stat st;
			/* a raw image holds ext4: grow the file system too */
			if (r >= 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode))
				r = grow_ext4(w, vmid, path, err);
		}
	}
	ct_mount_done(&m);
	storage_config_free(scfg);
	guestconf_free(gc);
	store_unlock(lk);
	return r;
}

int
ct_template_task_run(struct task_worker *w, json_t *params, struct error *err)
{
	struct worker_env *env = task_userdata(w);
	unsigned vmid = (unsigned)json_integer_value(json_object_get(params, "vmid"));
	struct store_lock *lk = NULL;
	struct guestconf *gc = NULL;
	char digest[STORE_DIGEST_LEN + 1];
	int r = ct_conf_load_locked(env->store, env->node, vmid, &lk, &gc, digest, err);
	if (r < 0)
		return r;
	struct storage_config *scfg = NULL;
	r = ct_check_lock(gc, err);
	if (r >= 0 && ct_running(ct_cg_host(), vmid))
		r = error_set(err, EBUSY,
		              "you can't convert a CT to template if the CT is running");
	if (r >= 0 && !(scfg = worker_storage_config(w, err)))
		r = -EIO;
	bool converted = false;
	for (size_t i = 0; r >= 0 && i < gc->main.n_items; i++) {
		const char *key = gc->main.items[i].key;
		if (!ct_is_volume_key(key))
			continue;
		struct ct_mount m = { 0 };
		r = ct_mount_parse(key, gc->main.items[i].value, &m, err);
		if (r >= 0 && m.type == CT_MP_VOLUME) {
			_cleanup_free_ char *base = NULL;
			r = storage_create_base(scfg, m.volume, &base, err);
			if (r >= 0) {
				task_log(w, "%s: '%s' is now '%s'", key, m.volume, base);
				free(m.volume);
				m.volume = TAKE_PTR(base);
				_cleanup_free_ char *value = ct_mount_print(&m);
				guestconf_set(&gc->main, key, value);
				converted = true;
			}
		}
		ct_mount_done(&m);
	}
	/* the config always names the volumes as they are now, even after a partial failure */
	if (r >= 0)
		guestconf_set(&gc->main, "template", "1");
	if (r >= 0 || converted) {
		struct error se = { 0 };
		int q = ct_conf_save(env->store, env->node, vmid, gc, digest, r >= 0 ? err : &se);
		if (r >= 0)
			r = q;
	}
	storage_config_free(scfg);
	guestconf_free(gc);
	store_unlock(lk);
	return r;
}
