/* The VM tasks (worker side): qmcreate, qmstart, qmstop, qmshutdown, qmreboot, qmreset,
 * qmpause, qmresume, qmdestroy, qmconfig. They run in `berthd --worker` processes: QEMU is
 * forked from here (and detaches), QMP is spoken from here, never from the daemon. */
#include "api/qemu-common.h"
#include "metrics/rrdfile.h"
#include "shared/run.h"
#include "storage/storage.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct vm_task {
	struct task_worker *w;
	struct worker_env *env;
	unsigned vmid;
	const char *def_storage; /* create's "storage" (allocations without one) */
	struct storage_config *scfg;
	struct vm_env ve;
	/* volumes this task allocated, freed again when it fails */
	char **created;
	size_t n_created;
};

static int
vm_task_init(struct vm_task *t, struct task_worker *w, json_t *params, struct error *err)
{
	t->w = w;
	t->env = task_userdata(w);
	t->vmid = (unsigned)json_integer_value(json_object_get(params, "vmid"));
	t->scfg = worker_storage_config(w, err);
	if (!t->scfg)
		return -EIO;
	bool kvm = vm_node_kvm(t->env->store, t->env->node);
	vm_env_init(&t->ve, t->env->root_dir, t->scfg, kvm);
	return 0;
}

static void
vm_task_done(struct vm_task *t)
{
	vm_env_done(&t->ve);
	storage_config_free(t->scfg);
	for (size_t i = 0; i < t->n_created; i++)
		free(t->created[i]);
	free(t->created);
}

static void
task_line(const char *line, void *w)
{
	task_log(w, "%s", line);
}

/* Load the config and its typed view under the VM's lock. */
static int
load_locked(struct vm_task *t, struct store_lock **ret_lock, struct guestconf **ret_gc,
            char *digest, struct error *err)
{
	return guest_conf_load_locked(t->env->store, GUESTCONF_QEMU, t->env->node, t->vmid,
	                              ret_lock, ret_gc, digest, err);
}

static int
save(struct vm_task *t, const struct guestconf *gc, const char *digest, struct error *err)
{
	return guest_conf_save(t->env->store, t->env->node, t->vmid, gc, digest, err);
}

/* ---- disks ---- */

/* The size of an efivars template for an efidisk's efitype. */
static const char *
efivars_template(const struct vm_task *t, const struct vm_disk *d)
{
	bool two = d->efitype && streq(d->efitype, "2m");
	return two ? t->ve.q.ovmf_2m.vars : t->ve.q.ovmf_4m.vars;
}

/* Fill a new efidisk with the OVMF vars template (PVE's create_efidisk). */
static int
fill_efidisk(struct vm_task *t, const char *tmpl, const char *path, enum volume_format fmt,
             struct error *err)
{
	const char *argv[] = {
		"qemu-img", "convert", "-n", "-f", "raw", "-O", volume_format_name(fmt),
		tmpl,       path,      NULL
	};
	struct run_options o = { .argv = argv, .err_line = task_line, .userdata = t->w };
	return run_program(&o, NULL, err);
}

/* The source of import-from=: its path and format (a volume's from its name; a path's from
 * its extension, else raw), and its virtual size. The image must stand alone: a backing file
 * or an external data file would let it read host files (image_info refuses them). */
static int
import_source(struct vm_task *t, const char *src, char **ret_path, enum volume_format *ret_fmt,
              uint64_t *ret_size, struct error *err)
{
	enum volume_format fmt = FORMAT_RAW;
	char *path = NULL;
	if (src[0] == '/') {
		const char *dot = strrchr(src, '.');
		enum volume_format f = dot ? volume_format_parse(dot + 1) : FORMAT_NONE;
		fmt = f && f != FORMAT_SUBVOL ? f : FORMAT_RAW;
		path = xstrdup(src);
	} else {
		const struct storage *s = NULL;
		struct volname v;
		int r = storage_resolve(t->scfg, src, &s, &v, err);
		if (r >= 0)
			r = storage_path(t->scfg, src, &path, err);
		if (r < 0)
			return r;
		fmt = v.format ? v.format : FORMAT_RAW;
	}
	struct image_info info = { 0 };
	int r = image_info(path, fmt, true, &info, err);
	if (r < 0) {
		free(path);
		char why[sizeof(err->msg)];
		snprintf(why, sizeof(why), "%s", err->msg);
		return error_set_status(err, 400, -r, "import-from '%s': %s", src, why);
	}
	*ret_size = info.virtual_size;
	image_info_done(&info);
	*ret_path = path;
	*ret_fmt = fmt;
	return 0;
}

/* vm_alloc_fn: "<storage>:<GiB>[,opts]" (or a bare size on the default storage) becomes a new
 * volume "<storage>:<volname>,<opts>,size=<n>G"; CD-ROM ISOs get their size= as PVE shows
 * it; everything else stays as it is. */
static int
alloc_disk(const char *key, const char *value, char **ret, void *userdata, struct error *err)
{
	struct vm_task *t = userdata;
	struct vm_disk d = { 0 };
	int r = vm_disk_parse(key, value, &d, err);
	if (r < 0)
		return r;
	_cleanup_free_ char *sid = NULL;
	double gib = 0;
	const char *def = t->def_storage ? t->def_storage : "local";
	if (d.kind != VM_FILE_VOLUME || !storage_alloc_request(d.file, def, &sid, &gib)) {
		if (d.kind == VM_FILE_VOLUME && vm_disk_is_cdrom(&d) && !d.size) {
			struct volume_info vi = { 0 };
			struct error e = { 0 };
			if (storage_info(t->scfg, d.file, &vi, &e) >= 0 && vi.size) {
				d.size = vi.size;
				*ret = vm_disk_print(&d);
			}
			volume_info_done(&vi);
		}
		vm_disk_done(&d);
		return 0;
	}
	const struct storage *s = storage_config_find(t->scfg, sid);
	if (!s) {
		vm_disk_done(&d);
		return error_set_status(err, 400, ENOENT, "storage '%s' does not exist", sid);
	}
	enum volume_format fmt = d.format ? volume_format_parse(d.format) : FORMAT_NONE;
	if (!fmt)
		fmt = s->default_format ? s->default_format : s->type->default_format;
	if (!(s->type->formats & fmt)) {
		vm_disk_done(&d);
		return error_set_status(err, 400, EINVAL, "%s: storage '%s' cannot hold %s images",
		                        key, sid, volume_format_name(fmt));
	}
	const char *tmpl = d.bus == VM_BUS_EFIDISK ? efivars_template(t, &d) : NULL;
	if (d.bus == VM_BUS_EFIDISK && !tmpl) {
		vm_disk_done(&d);
		return error_set(err, ENOENT,
		                 "%s: no OVMF vars template for efitype %s (is the "
		                 "ovmf package installed?)",
		                 key, d.efitype ? d.efitype : "2m");
	}
	struct stat st;
	uint64_t size_kib = tmpl ? (stat(tmpl, &st) == 0 ? ((uint64_t)st.st_size + 1023) / 1024 : 0)
	                         : (uint64_t)(gib * 1024 * 1024 + 0.5);
	_cleanup_free_ char *src_path = NULL;
	enum volume_format src_fmt = FORMAT_RAW;
	if (d.import_from) {
		uint64_t vsize = 0;
		r = import_source(t, d.import_from, &src_path, &src_fmt, &vsize, err);
		if (r < 0) {
			vm_disk_done(&d);
			return r;
		}
		size_kib = (vsize + 1023) / 1024;
	}
	char *volid = NULL;
	r = storage_alloc(t->scfg, sid, t->vmid, fmt, NULL, size_kib, &volid, err);
	if (r < 0) {
		vm_disk_done(&d);
		return r;
	}
	t->created = xrealloc(t->created, (t->n_created + 1) * sizeof(*t->created));
	t->created[t->n_created++] = xstrdup(volid);
	task_log(t->w, "%s: allocated '%s' (%s, %" PRIu64 " KiB)", key, volid,
	         volume_format_name(fmt), size_kib);
	if (tmpl) {
		_cleanup_free_ char *path = NULL;
		r = storage_path(t->scfg, volid, &path, err);
		if (r >= 0)
			r = fill_efidisk(t, tmpl, path, fmt, err);
		if (r < 0) {
			free(volid);
			vm_disk_done(&d);
			return r;
		}
	}
	if (src_path) {
		_cleanup_free_ char *path = NULL;
		r = storage_path(t->scfg, volid, &path, err);
		if (r >= 0) {
			task_log(t->w, "%s: importing '%s' (%s)", key, d.import_from,
			         volume_format_name(src_fmt));
			const char *argv[] = { "qemu-img",
				               "convert",
				               "-n",
				               "-f",
				               volume_format_name(src_fmt),
				               "-O",
				               volume_format_name(fmt),
				               src_path,
				               path,
				               NULL };
			struct run_options o = { .argv = argv,
				                 .err_line = task_line,
				                 .userdata = t->w };
			r = run_program(&o, NULL, err);
		}
		if (r < 0) {
			free(volid);
			vm_disk_done(&d);
			return r;
		}
		free(d.import_from);
		d.import_from = NULL;
	}
	free(d.file);
	d.file = volid;
	free(d.format); /* PVE drops format= for allocated disks: the volume names it */
	d.format = NULL;
	d.size = size_kib * 1024;
	*ret = vm_disk_print(&d);
	vm_disk_done(&d);
	return 0;
}

static void
free_created(struct vm_task *t)
{
	for (size_t i = 0; i < t->n_created; i++) {
		struct error e = { 0 };
		if (storage_free(t->scfg, t->created[i], &e) < 0)
			task_warn(t->w, "unable to free '%s': %s", t->created[i], e.msg);
		else
			task_log(t->w, "freed '%s'", t->created[i]);
	}
}

static void
forget_created(struct vm_task *t)
{
	for (size_t i = 0; i < t->n_created; i++)
		free(t->created[i]);
	t->n_created = 0;
}

static int
free_now(const char *volid, void *userdata, struct error *err)
{
	struct vm_task *t = userdata;
	int r = storage_free(t->scfg, volid, err);
	if (r >= 0)
		task_log(t->w, "freed '%s'", volid);
	return r;
}

/* ---- start ---- */

/* Apply pending changes (the VM is stopped), as PVE's vmconfig_apply_pending: replaced and
 * detached disks become unusedN, forced deletions free their volumes. The result must load. */
static int
apply_pending(struct vm_task *t, struct guestconf *gc, struct error *err)
{
	if (!gc->pending)
		return 0;
	struct guestconf *next = guestconf_dup(gc);
	_cleanup_(vm_config_freep) struct vm_config *vc = NULL;
	int r = vm_pending_commit_all(next, t->vmid, free_now, t, err);
	if (r >= 0)
		r = vm_conf_typed(next, t->vmid, &vc, err);
	if (r < 0) {
		guestconf_free(next);
		return r;
	}
	/* swap contents */
	struct guestconf tmp = *gc;
	*gc = *next;
	*next = tmp;
	guestconf_free(next);
	task_log(t->w, "applied pending changes");
	return 1;
}

static int
start_locked(struct vm_task *t, bool skiplock, struct error *err)
{
	struct store_lock *lk = NULL;
	struct guestconf *gc = NULL;
	char digest[STORE_DIGEST_LEN + 1];
	int r = load_locked(t, &lk, &gc, digest, err);
	if (r < 0)
		return r;
	const char *tmpl = guestconf_get(&gc->main, "template");
	if (!skiplock)
		r = guest_check_lock(gc, err);
	if (r >= 0 && tmpl && streq(tmpl, "1"))
		r = error_set(err, EINVAL, "you can't start a vm if it's a template");
	if (r >= 0 && vm_pid(&t->ve.q, t->vmid) > 0)
		r = error_set(err, EEXIST, "VM %u already running", t->vmid);
	if (r >= 0 && (r = apply_pending(t, gc, err)) > 0)
		r = save(t, gc, digest, err);
	_cleanup_(vm_config_freep) struct vm_config *vc = NULL;
	if (r >= 0)
		r = vm_conf_typed(gc, t->vmid, &vc, err);
	if (r >= 0) {
		bool kvm = t->ve.q.kvm && vc->kvm != 0;
		task_log(t->w, "starting VM %u with %s", t->vmid,
		         kvm ? "KVM" : "TCG (software emulation)");
		pid_t pid = 0;
		r = vm_start(&t->ve.h, vc, task_line, t->w, &pid, err);
		if (r >= 0)
			task_log(t->w, "QEMU running as pid %d", (int)pid);
	}
	guestconf_free(gc);
	store_unlock(lk);
	return r;
}

int
vm_start_task_run(struct task_worker *w, json_t *params, struct error *err)
{
	struct vm_task t = { 0 };
	int r = vm_task_init(&t, w, params, err);
	if (r >= 0)
		r = start_locked(&t, json_integer_value(json_object_get(params, "skiplock")) != 0,
		                 err);
	vm_task_done(&t);
	return r;
}

int
vm_start_from_task(struct task_worker *w, unsigned vmid, struct error *err)
{
	json_t *params = json_pack("{s:I}", "vmid", (json_int_t)vmid);
	int r = vm_start_task_run(w, params, err);
	json_decref(params);
	return r;
}

/* ---- power ---- */

static unsigned
param_uint(json_t *params, const char *key, unsigned def)
{
	json_t *v = json_object_get(params, key);
	return json_is_integer(v) && json_integer_value(v) >= 0 ? (unsigned)json_integer_value(v)
	                                                        : def;
}

int
vm_stop_task_run(struct task_worker *w, json_t *params, struct error *err)
{
	struct vm_task t = { 0 };
	int r = vm_task_init(&t, w, params, err);
	if (r >= 0)
		r = vm_stop(&t.ve.h, t.vmid, param_uint(params, "timeout", 10), err);
	vm_task_done(&t);
	return r;
}

int
vm_shutdown_task_run(struct task_worker *w, json_t *params, struct error *err)
{
	struct vm_task t = { 0 };
	int r = vm_task_init(&t, w, params, err);
	if (r >= 0 && vm_pid(&t.ve.q, t.vmid) <= 0)
		task_log(w, "VM %u not running", t.vmid); /* PVE: a no-op, task OK */
	else if (r >= 0)
		r = vm_shutdown(&t.ve.h, t.vmid, param_uint(params, "timeout", 60),
		                json_integer_value(json_object_get(params, "forceStop")) != 0, err);
	vm_task_done(&t);
	return r;
}

int
vm_reboot_task_run(struct task_worker *w, json_t *params, struct error *err)
{
	struct vm_task t = { 0 };
	int r = vm_task_init(&t, w, params, err);
	if (r >= 0)
		r = vm_shutdown(&t.ve.h, t.vmid, param_uint(params, "timeout", 60), true, err);
	if (r >= 0)
		r = start_locked(&t, false, err);
	vm_task_done(&t);
	return r;
}

static int
qmp_task(struct task_worker *w, json_t *params, const char *command, struct error *err)
{
	struct vm_task t = { 0 };
	int r = vm_task_init(&t, w, params, err);
	if (r >= 0)
		r = vm_qmp(&t.ve.h, t.vmid, command, NULL, NULL, err);
	vm_task_done(&t);
	return r;
}

int
vm_reset_task_run(struct task_worker *w, json_t *params, struct error *err)
{
	return qmp_task(w, params, "system_reset", err);
}

int
vm_suspend_task_run(struct task_worker *w, json_t *params, struct error *err)
{
	return qmp_task(w, params, "stop", err);
}

int
vm_resume_task_run(struct task_worker *w, json_t *params, struct error *err)
{
	return qmp_task(w, params, "cont", err);
}

/* ---- create ---- */

/* QEMU's version ("7.2.19") for meta: creation-qemu=, from `qemu-system-x86_64 --version`. */
static char *
qemu_version(const struct vm_task *t)
{
	const char *argv[] = { t->ve.q.binary, "--version", NULL };
	struct run_options o = { .argv = argv, .path = t->ve.q.binary };
	struct error e = { 0 };
	_cleanup_free_ char *out = NULL;
	if (run_program(&o, &out, &e) < 0 || !out)
		return NULL;
	const char *p = strstr(out, "version ");
	if (!p)
		return NULL;
	p += strlen("version ");
	size_t n = strspn(p, "0123456789.");
	return n ? xstrndup(p, n) : NULL;
}

static void
random_uuid(char buf[static 37])
{
	unsigned char b[16];
	if (getentropy(b, sizeof(b)) < 0)
		memset(b, 0x5a, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(buf, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
	         b[13], b[14], b[15]);
}

/* PVE's get_default_bootdevices: the first disk, the first CD-ROM, the first NIC. */
static char *
default_boot(const struct vm_config *vc)
{
	const char *disk = NULL, *cd = NULL;
	for (size_t i = 0; i < vc->n_disks; i++) {
		const struct vm_disk *d = &vc->disks[i];
		if (d->bus == VM_BUS_EFIDISK)
			continue;
		if (vm_disk_is_cdrom(d) ? !cd : !disk)
			*(vm_disk_is_cdrom(d) ? &cd : &disk) = d->key;
	}
	char net[16] = "";
	if (vc->n_nets)
		snprintf(net, sizeof(net), "net%u", vc->nets[0].index);
	_cleanup_free_ char *order =
	        xasprintf("%s%s%s%s%s", disk ? disk : "", disk && (cd || net[0]) ? ";" : "",
	                  cd ? cd : "", cd && net[0] ? ";" : "", net);
	return order[0] ? xasprintf("order=%s", order) : NULL;
}

static int
fill_new_config(struct vm_task *t, struct guestconf *gc, json_t *params, struct error *err)
{
	/* disks: allocate what is requested, in key order */
	t->def_storage = json_string_value(json_object_get(params, "storage"));
	for (size_t i = 0; i < gc->main.n_items; i++) {
		const char *key = gc->main.items[i].key;
		if (!vm_is_disk_key(key, NULL, NULL))
			continue;
		_cleanup_free_ char *stored = NULL;
		int r = alloc_disk(key, gc->main.items[i].value, &stored, t, err);
		if (r < 0)
			return r;
		if (stored)
			guestconf_set(&gc->main, key, stored);
	}
	char uuid[37];
	if (!guestconf_get(&gc->main, "smbios1")) {
		random_uuid(uuid);
		_cleanup_free_ char *v = xasprintf("uuid=%s", uuid);
		guestconf_set(&gc->main, "smbios1", v);
	}
	const char *gen = guestconf_get(&gc->main, "vmgenid");
	if (!gen || streq(gen, "1")) {
		random_uuid(uuid);
		guestconf_set(&gc->main, "vmgenid", uuid);
	} else if (streq(gen, "0")) {
		guestconf_unset(&gc->main, "vmgenid");
	}
	_cleanup_free_ char *ver = qemu_version(t);
	_cleanup_free_ char *meta =
	        xasprintf("creation-qemu=%s,ctime=%lld", ver ? ver : "0", (long long)time(NULL));
	guestconf_set(&gc->main, "meta", meta);
	_cleanup_(vm_config_freep) struct vm_config *vc = NULL;
	int r = vm_conf_typed(gc, t->vmid, &vc, err);
	if (r >= 0 && !guestconf_get(&gc->main, "boot")) {
		_cleanup_free_ char *boot = default_boot(vc);
		if (boot)
			guestconf_set(&gc->main, "boot", boot);
	}
	return r;
}

int
vm_create_task_run(struct task_worker *w, json_t *params, struct error *err)
{
	struct vm_task t = { 0 };
	int r = vm_task_init(&t, w, params, err);
	struct store_lock *lk = NULL;
	struct guestconf *gc = NULL;
	char digest[STORE_DIGEST_LEN + 1];
	if (r >= 0)
		r = load_locked(&t, &lk, &gc, digest, err);
	if (r >= 0) {
		const char *lock = guestconf_get(&gc->main, "lock");
		if (!lock || !streq(lock, "create"))
			r = error_set(err, EINVAL, "VM %u is not being created", t.vmid);
	}
	if (r >= 0)
		r = fill_new_config(&t, gc, params, err);
	if (r >= 0) {
		guestconf_unset(&gc->main, "lock");
		r = save(&t, gc, digest, err);
	}
	const char *pool = json_string_value(json_object_get(params, "pool"));
	if (r >= 0 && pool) {
		struct error pe = { 0 };
		if (guest_pool_set(t.env->store, t.vmid, pool, &pe) < 0)
			task_warn(w, "unable to add VM %u to pool '%s': %s", t.vmid, pool, pe.msg);
	}
	if (r < 0) {
		/* nothing half-made: the volumes and the placeholder config go */
		free_created(&t);
		if (lk) {
			_cleanup_free_ char *path = vm_conf_path(t.env->node, t.vmid);
			store_delete(t.env->store, path, NULL);
		}
	}
	guestconf_free(gc);
	if (lk)
		store_unlock(lk);
	if (r >= 0) {
		forget_created(&t); /* the volumes are the VM's now */
		if (json_integer_value(json_object_get(params, "start")))
			r = start_locked(&t, false, err);
	}
	vm_task_done(&t);
	return r;
}

/* ---- config (POST) ---- */

static void
warn_line(const char *line, void *userdata)
{
	struct vm_task *t = userdata;
	task_warn(t->w, "%s", line);
}

int
vm_config_task_run(struct task_worker *w, json_t *params, struct error *err)
{
	struct vm_task t = { 0 };
	int r = vm_task_init(&t, w, params, err);
	struct store_lock *lk = NULL;
	struct guestconf *gc = NULL;
	char digest[STORE_DIGEST_LEN + 1];
	if (r >= 0)
		r = load_locked(&t, &lk, &gc, digest, err);
	static const char *const own[] = { "node",     "vmid",  "digest",   "delete",
		                           "revert",   "force", "skiplock", "background_delay",
		                           "api-user", NULL };
	struct guest_update u;
	guest_update_from_params(params, own, &u);
	bool skiplock = json_integer_value(json_object_get(params, "skiplock")) != 0;
	if (r >= 0 && !skiplock)
		r = guest_check_lock(gc, err);
	bool running = vm_pid(&t.ve.q, t.vmid) > 0;
	if (r >= 0)
		r = vm_update_apply(gc, t.vmid, running, u.sets, u.del, u.rev,
		                    json_integer_value(json_object_get(params, "force")) != 0,
		                    alloc_disk, free_now, warn_line, &t, err);
	if (r >= 0)
		r = save(&t, gc, digest, err);
	if (r < 0)
		free_created(&t);
	/* what the running VM can take now; the rest waits for its next start */
	if (r >= 0 && running && gc->pending) {
		json_t *errors = NULL;
		int n = vm_hotplug_pending(&t.ve.h, gc, t.vmid, free_now, task_line, w, &errors,
		                           err);
		if (n > 0 &&
		    (r = guest_conf_save(t.env->store, t.env->node, t.vmid, gc, NULL, err)) < 0)
			n = r;
		if (n < 0)
			r = n;
		else if (errors)
			r = error_set(err, EINVAL,
			              "hotplug of %zu change(s) failed; they stay pending",
			              json_object_size(errors));
		json_decref(errors);
	}
	guest_update_done(&u);
	guestconf_free(gc);
	if (lk)
		store_unlock(lk);
	vm_task_done(&t);
	return r;
}

/* ---- destroy ---- */

/* Volumes the VM owns: its disks' and unusedN volumes whose volname says this vmid. */
static char **
owned_volumes(struct vm_task *t, const struct guestconf *gc)
{
	char **vols = NULL;
	size_t n = 0;
	for (size_t i = 0; i < gc->main.n_items; i++) {
		const char *k = gc->main.items[i].key, *val = gc->main.items[i].value;
		char *vol = NULL;
		if (startswith(k, "unused")) {
			vol = xstrdup(val);
		} else if (vm_is_disk_key(k, NULL, NULL)) {
			struct vm_disk dk = { 0 };
			struct error e = { 0 };
			if (vm_disk_parse(k, val, &dk, &e) >= 0 && dk.kind == VM_FILE_VOLUME &&
			    !vm_disk_is_cdrom(&dk))
				vol = xstrdup(dk.file);
			vm_disk_done(&dk);
		}
		const struct storage *s = NULL;
		struct volname vn;
		struct error e = { 0 };
		if (vol && storage_resolve(t->scfg, vol, &s, &vn, &e) >= 0 && vn.vmid == t->vmid) {
			vols = xrealloc(vols, (n + 2) * sizeof(*vols));
			vols[n++] = vol;
			vols[n] = NULL;
		} else {
			free(vol);
		}
	}
	return vols;
}

int
vm_destroy_task_run(struct task_worker *w, json_t *params, struct error *err)
{
	struct vm_task t = { 0 };
	int r = vm_task_init(&t, w, params, err);
	struct store_lock *lk = NULL;
	struct guestconf *gc = NULL;
	if (r >= 0)
		r = load_locked(&t, &lk, &gc, NULL, err);
	bool skiplock = json_integer_value(json_object_get(params, "skiplock")) != 0;
	if (r >= 0 && !skiplock)
		r = guest_check_lock(gc, err);
	if (r >= 0 && vm_pid(&t.ve.q, t.vmid) > 0)
		r = error_set(err, EBUSY, "VM %u is running - destroy failed", t.vmid);
	if (r >= 0) {
		_cleanup_(strv_freep) char **vols = owned_volumes(&t, gc);
		for (char **v = vols; v && *v; v++) {
			struct error e = { 0 };
			if (storage_free(t.scfg, *v, &e) < 0 && e.code != ENOENT)
				task_warn(w, "unable to free '%s': %s", *v, e.msg);
			else
				task_log(w, "freed '%s'", *v);
		}
		_cleanup_free_ char *path = vm_conf_path(t.env->node, t.vmid);
		r = store_delete(t.env->store, path, NULL);
		if (r < 0)
			r = error_errno(err, r, "unable to remove '%s'", path);
		vm_cleanup_stopped(&t.ve.h, t.vmid);
		/* the firmware variables and QEMU's log belong to this VM only: a new VM with
		 * the same id must not inherit them */
		static const char *const leftovers[] = { "efivars", "log" };
		for (size_t i = 0; i < ARRAY_SIZE(leftovers); i++) {
			_cleanup_free_ char *p = qemu_run_path(&t.ve.q, t.vmid, leftovers[i]);
			unlink(p);
		}
		/* ... nor its graphs */
		if (r >= 0 && rrd_file_remove_guest(t.env->root_dir, t.vmid) < 0)
			task_warn(w, "unable to remove the rrd file of VM %u", t.vmid);
		struct error pe = { 0 };
		if (r >= 0 && guest_pool_set(t.env->store, t.vmid, NULL, &pe) < 0)
			task_warn(w, "unable to remove VM %u from its pool: %s", t.vmid, pe.msg);
	}
	guestconf_free(gc);
	if (lk)
		store_unlock(lk);
	vm_task_done(&t);
	return r;
}
