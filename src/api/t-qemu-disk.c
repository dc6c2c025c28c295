/* VM disks after create, as qemu-server's API has them: PUT .../resize (task "resize": grow
 * only, live through QMP block_resize for a running VM), PUT .../unlink (detach or free, as PUT
 * config delete=), POST .../move_disk (task "qmmove": to another storage or format; qemu-img
 * for a stopped VM, drive-mirror for a running one) and POST .../template (task "qmtemplate":
 * the disks become base volumes). */
#include "api/qemu-common.h"
#include "basic/log.h"
#include "guest/qemu/qmp.h"
#include "storage/storage.h"

#include <math.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

/* ---- shared ---- */

/* PVE's valid_drive_names (the disk buses Berth has), and with unused0..255 for move_disk:
 * the enums of the routes' disk parameters. */
#define N_DRIVE_NAMES (VM_MAX_IDE + VM_MAX_SATA + VM_MAX_SCSI + VM_MAX_VIRTIO + 1)
static const char *drive_names[N_DRIVE_NAMES + 1];
static const char *drive_names_unused[N_DRIVE_NAMES + VM_MAX_UNUSED + 1];

__attribute__((constructor)) static void
build_drive_names(void)
{
	static const struct {
		const char *prefix;
		unsigned n;
	} buses[] = { { "ide", VM_MAX_IDE },
		      { "sata", VM_MAX_SATA },
		      { "scsi", VM_MAX_SCSI },
		      { "virtio", VM_MAX_VIRTIO } };
	size_t n = 0;
	for (size_t b = 0; b < ARRAY_SIZE(buses); b++)
		for (unsigned i = 0; i < buses[b].n; i++)
			drive_names[n++] = xasprintf("%s%u", buses[b].prefix, i);
	drive_names[n++] = "efidisk0";
	drive_names[n] = NULL;
	memcpy(drive_names_unused, drive_names, n * sizeof(*drive_names));
	for (unsigned i = 0; i < VM_MAX_UNUSED; i++)
		drive_names_unused[n++] = xasprintf("unused%u", i);
	drive_names_unused[n] = NULL;
}

static unsigned
vmid_param(struct api_call *c)
{
	return (unsigned)param_int(c->params, "vmid", 0);
}

/* Is VM vmid running? The daemon's view: pidfile and /proc only. */
static bool
vm_running(struct api_ctx *ctx, unsigned vmid)
{
	static struct vm_env env;
	static bool done;
	if (!done) {
		vm_env_init(&env, ctx->root_dir, NULL, false);
		done = true;
	}
	return vm_pid(&env.q, vmid) > 0;
}

static bool
is_template(const struct guestconf *gc)
{
	const char *t = guestconf_get(&gc->main, "template");
	return t && streq(t, "1");
}

/* Does a snapshot of the VM use volid (PVE's is_volume_in_use for the snapshots)? */
static bool
volume_in_snapshots(const struct guestconf *gc, const char *volid)
{
	for (size_t i = 0; i < gc->n_snapshots; i++) {
		const struct guestconf_section *s = &gc->snapshots[i];
		for (size_t j = 0; j < s->n_items; j++) {
			const char *k = s->items[j].key, *v = s->items[j].value;
			if (streq(k, "vmstate") && streq(v, volid))
				return true;
			if (!vm_is_disk_key(k, NULL, NULL))
				continue;
			_cleanup_free_ char *vol = vm_disk_volume(k, v);
			if (vol && streq(vol, volid))
				return true;
		}
	}
	return false;
}

/* The drive behind a disk key: its parsed value, or for unusedN a volume alone. */
static int
drive_of(const char *key, const char *value, struct vm_disk *ret, struct error *err)
{
	if (!startswith(key, "unused"))
		return vm_disk_parse(key, value, ret, err);
	*ret = (struct vm_disk){ .kind = VM_FILE_VOLUME, .file = xstrdup(value) };
	snprintf(ret->key, sizeof(ret->key), "%s", key);
	return 0;
}

/* "1.5 GiB", as PVE's render_bytes. */
static void
render_bytes(uint64_t n, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)n;
	size_t u = 0;
	while (v >= 1024 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f %s", v, units[u]);
}

/* The worker side's common state. */
struct disk_task {
	struct task_worker *w;
	struct worker_env *env;
	unsigned vmid;
	struct storage_config *scfg;
	struct vm_env ve;
	/* the VM's config, loaded under its lock */
	struct store_lock *lk;
	struct guestconf *gc;
	char digest[STORE_DIGEST_LEN + 1];
	uint64_t total; /* bytes being copied, for progress lines */
};

/* The task's storage config and host facts, and the VM's config under its lock. */
static int
disk_task_init(struct disk_task *t, struct task_worker *w, json_t *params, struct error *err)
{
	t->w = w;
	t->env = task_userdata(w);
	t->vmid = (unsigned)json_integer_value(json_object_get(params, "vmid"));
	t->scfg = worker_storage_config(w, err);
	if (!t->scfg)
		return -EIO;
	vm_env_init(&t->ve, t->env->root_dir, t->scfg, vm_node_kvm(t->env->store, t->env->node));
	return guest_conf_load_locked(t->env->store, GUESTCONF_QEMU, t->env->node, t->vmid, &t->lk,
	                              &t->gc, t->digest, err);
}

static void
disk_task_done(struct disk_task *t)
{
	guestconf_free(t->gc);
	if (t->lk)
		store_unlock(t->lk);
	if (t->scfg)
		vm_env_done(&t->ve);
	storage_config_free(t->scfg);
}

static const char *
pstr(json_t *params, const char *key)
{
	return json_string_value(json_object_get(params, key));
}

static bool
pbool(json_t *params, const char *key)
{
	return json_integer_value(json_object_get(params, key)) != 0;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* ---- PUT /nodes/{node}/qemu/{vmid}/resize ---- */

/* The new size in bytes from PVE's `\+?\d+(\.\d+)?[KMGT]?` (no unit: bytes; '+': added to
 * cur), as resize_vm computes it. */
static uint64_t
resize_target(const char *size, uint64_t cur)
{
	bool add = size[0] == '+';
	char *end = NULL;
	double v = strtod(add ? size + 1 : size, &end);
	static const char units[] = "KMGT";
	const char *u = end && *end ? strchr(units, *end) : NULL;
	for (ptrdiff_t i = 0; u && i <= u - units; i++)
		v *= 1024;
	if (add)
		v += (double)cur;
	return v >= 0x1p64 ? UINT64_MAX : (uint64_t)v;
}

static int
qemu_resize(struct api_call *c)
{
	unsigned vmid = vmid_param(c);
	if (param_bool(c->params, "skiplock", false) && !api_is_root(c))
		return api_param_error(c, "skiplock", "Only root may use this option.");
	_cleanup_(guestconf_freep) struct guestconf *gc = NULL;
	if (guest_conf_load(c->ctx->store, GUESTCONF_QEMU, c->ctx->node, vmid, &gc, NULL, &c->err) <
	    0)
		return -ENOENT;
	/* the rest is checked by the task, as PVE does; the storage's space privilege here,
	 * where the caller's permissions are known */
	const char *disk = param_str(c->params, "disk");
	const char *value = guestconf_get(&gc->main, disk);
	struct vm_disk d = { 0 };
	struct error e = { 0 };
	int r = 0;
	if (value && vm_disk_parse(disk, value, &d, &e) >= 0 && d.kind == VM_FILE_VOLUME &&
	    !vm_disk_is_cdrom(&d)) {
		_cleanup_free_ char *sid = NULL, *volname = NULL;
		if (volid_split(d.file, &sid, &volname, &e) >= 0) {
			_cleanup_free_ char *spath = xasprintf("/storage/%s", sid);
			r = api_check_privs(c, spath, "Datastore.AllocateSpace", false);
		}
	}
	vm_disk_done(&d);
	if (r < 0)
		return r;
	char id[16];
	snprintf(id, sizeof(id), "%u", vmid);
	return api_start_task(c, "resize", id, json_deep_copy(c->params), NULL, 0);
}

/* Grow the volume of a running VM: a file QEMU has open is grown by QEMU itself (it holds
 * the image's lock; PVE's file storages leave it to QEMU too), anything else by the storage
 * first; then QEMU learns the new size (block_resize, whole KiB as PVE pads it). */
static int
resize_live(struct disk_task *t, const char *disk, const char *volid, uint64_t size,
            struct error *err)
{
	_cleanup_free_ char *path = NULL;
	int r = storage_path(t->scfg, volid, &path, err);
	if (r < 0)
		return r;
	struct stat st;
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
		r = storage_resize(t->scfg, volid, size, err);
		if (r < 0)
			return r;
	}
	char dev[32];
	snprintf(dev, sizeof(dev), "drive-%s", disk);
	uint64_t padded = (size + 1023) / 1024 * 1024;
	json_t *args = json_pack("{s:s, s:I}", "device", dev, "size", (json_int_t)padded);
	struct qmp *q = NULL;
	r = vm_qmp_open(&t->ve.h, t->vmid, "block_resize", &q, err);
	if (r >= 0) {
		r = vm_qmp_run(q, t->vmid, "block_resize", args, 60000, NULL, err);
		qmp_close(q);
	}
	json_decref(args);
	return r;
}

static int
vm_resize_task_run(struct task_worker *w, json_t *params, struct error *err)
{
	struct disk_task t = { 0 };
	int r = disk_task_init(&t, w, params, err);
	struct guestconf *gc = t.gc;
	const char *digest = t.digest;
	const char *disk = pstr(params, "disk"), *size = pstr(params, "size");
	const char *want_digest = pstr(params, "digest");
	if (r >= 0 && want_digest && strcasecmp(want_digest, digest) != 0)
		r = error_set(err, EIO, "checksum mismatch (file change by other user?)");
	if (r >= 0 && !pbool(params, "skiplock"))
		r = guest_check_lock(gc, err);
	const char *value = r >= 0 ? guestconf_get(&gc->main, disk) : NULL;
	if (r >= 0 && !value)
		r = error_set(err, ENOENT, "disk '%s' does not exist", disk);
	struct vm_disk d = { 0 };
	if (r >= 0)
		r = vm_disk_parse(disk, value, &d, err);
	if (r >= 0 && d.kind != VM_FILE_VOLUME)
		r = error_set(err, EINVAL, "unable to parse volume ID '%s'", d.file);
	if (r >= 0 && vm_disk_is_cdrom(&d))
		r = error_set(err, EINVAL, "you can't resize a cdrom");
	struct volume_info vi = { 0 };
	if (r >= 0 && (r = storage_info(t.scfg, d.file, &vi, err)) >= 0 && !vi.size)
		r = error_set(err, EIO, "Could not determine current size of volume '%s'", d.file);
	uint64_t cur = vi.size, want = r >= 0 ? resize_target(size, cur) : 0;
	volume_info_done(&vi);
	if (r >= 0 && want < cur)
		r = error_set(err, EINVAL, "shrinking disks is not supported");
	if (r >= 0 && want == cur)
		task_log(w, "%s ('%s') is already %" PRIu64 " bytes", disk, d.file, cur);
	else if (r >= 0) {
		bool running = vm_pid(&t.ve.q, t.vmid) > 0;
		/* whole KiB: what QEMU and qemu-img can make of it */
		want = (want + 1023) / 1024 * 1024;
		task_log(w, "resizing %s ('%s') from %" PRIu64 " to %" PRIu64 " bytes%s", disk,
		         d.file, cur, want, running ? " (live)" : "");
		r = running ? resize_live(&t, disk, d.file, want, err)
		            : storage_resize(t.scfg, d.file, want, err);
		if (r >= 0) {
			d.size = want;
			_cleanup_free_ char *text = vm_disk_print(&d);
			guestconf_set(&gc->main, disk, text);
			r = guest_conf_save(t.env->store, t.env->node, t.vmid, gc, digest, err);
		}
	}
	vm_disk_done(&d);
	disk_task_done(&t);
	return r;
}

/* ---- PUT /nodes/{node}/qemu/{vmid}/unlink ---- */

struct unlink_ctx {
	struct api_call *c;
	struct guestconf *gc;
	unsigned vmid;
	struct storage_config *scfg;
};

/* PVE's try_deallocate_drive: a volume this VM owns is freed (with the space privilege on its
 * storage, and not while a snapshot uses it); any other volume only leaves the config. */
static int
unlink_free(const char *volid, void *userdata, struct error *err)
{
	struct unlink_ctx *u = userdata;
	const struct storage *s = NULL;
	struct volname v;
	struct error e = { 0 };
	if (storage_resolve(u->scfg, volid, &s, &v, &e) < 0 || v.vmid != u->vmid)
		return 0;
	_cleanup_free_ char *spath = xasprintf("/storage/%s", s->id);
	if (!api_has_privs(u->c, spath, "Datastore.AllocateSpace", false))
		return error_set_status(err, 403, EACCES,
		                        "Permission check failed (%s, Datastore.AllocateSpace)",
		                        spath);
	if (volume_in_snapshots(u->gc, volid))
		return error_set(err, EBUSY,
		                 "unable to delete '%s' - volume is still in use (snapshot?)",
		                 volid);
	int r = storage_free(u->scfg, volid, err);
	if (r == -ENOENT || (r < 0 && err->code == ENOENT))
		return 0; /* gone already: the config entry goes too */
	return r;
}

static void
unlink_warn(const char *line, void *userdata)
{
	struct unlink_ctx *u = userdata;
	log_info("VM %u: %s", u->vmid, line);
}

static int
qemu_unlink(struct api_call *c)
{
	struct api_ctx *ctx = c->ctx;
	unsigned vmid = vmid_param(c);
	bool force = param_bool(c->params, "force", false);
	_cleanup_(strv_freep) char **del = split_list(param_str(c->params, "idlist"));
	for (char **d = del; d && *d; d++) {
		if (streq(*d, "cdrom")) {
			free(*d);
			*d = xstrdup("ide2");
		}
		if (!vm_key_schema(*d))
			return api_param_error(c, "idlist", "unknown option '%s'", *d);
		if (!vm_is_disk_key(*d, NULL, NULL) && !startswith(*d, "unused"))
			return api_param_error(c, "idlist", "'%s' is not a disk", *d);
	}
	if (!del || !del[0])
		return api_param_error(c, "idlist", "no disk given");

	struct store_lock *lk = NULL;
	if (guest_lock(ctx->store, GUESTCONF_QEMU, ctx->node, vmid, 10000, &lk, &c->err) < 0)
		return -ETIMEDOUT;
	char digest[STORE_DIGEST_LEN + 1];
	struct guestconf *gc = NULL;
	struct unlink_ctx u = { .c = c, .vmid = vmid };
	int r = guest_conf_load(ctx->store, GUESTCONF_QEMU, ctx->node, vmid, &gc, digest, &c->err);
	if (r >= 0)
		r = guest_check_lock(gc, &c->err);
	const char *prot = r >= 0 ? guestconf_get(&gc->main, "protection") : NULL;
	for (char **d = del; r >= 0 && d && *d; d++) {
		const char *val = guestconf_get(&gc->main, *d);
		if (!val && gc->pending)
			val = guestconf_get(gc->pending, *d);
		if (!val)
			continue;
		struct vm_disk dk = { 0 };
		struct error e = { 0 };
		bool cdrom = !startswith(*d, "unused") && vm_disk_parse(*d, val, &dk, &e) >= 0 &&
		             vm_disk_is_cdrom(&dk);
		vm_disk_done(&dk);
		if (prot && streq(prot, "1")) {
			bool unused = startswith(*d, "unused");
			r = api_fail(c, 500, "can't remove %s '%s' - protection mode enabled",
			             unused ? "unused disk" : "drive", unused ? val : *d);
		} else if (cdrom) {
			char vpath[32];
			snprintf(vpath, sizeof(vpath), "/vms/%u", vmid);
			r = api_check_privs(c, vpath, "VM.Config.CDROM", false);
		}
	}
	if (r >= 0 && !(u.scfg = api_storage_config(ctx, &c->err)))
		r = -EIO;
	if (r >= 0) {
		bool running = vm_running(ctx, vmid);
		json_t *sets = json_object();
		_cleanup_free_ char *boot = vm_boot_without(gc, del);
		char **dels = del;
		_cleanup_free_ char **with_boot = NULL;
		if (boot && boot[0]) {
			json_object_set_new(sets, "boot", json_string(boot));
		} else if (boot) {
			/* an empty order: no boot key, PVE's default order */
			size_t n = strv_length(del);
			with_boot = xcalloc(n + 2, sizeof(*with_boot));
			memcpy(with_boot, del, n * sizeof(*with_boot));
			with_boot[n] = (char *)"boot";
			dels = with_boot;
		}
		u.gc = gc;
		r = vm_update_apply(gc, vmid, running, sets, dels, NULL, force, NULL, unlink_free,
		                    unlink_warn, &u, &c->err);
		json_decref(sets);
	}
	if (r >= 0)
		r = guest_conf_save(ctx->store, ctx->node, vmid, gc, digest, &c->err);
	storage_config_free(u.scfg);
	guestconf_free(gc);
	store_unlock(lk);
	if (r < 0)
		return r;
	c->data = json_null();
	return 0;
}

/* ---- POST /nodes/{node}/qemu/{vmid}/move_disk ---- */

/* What is being moved, after PVE's checks (load_and_check_move). */
struct move_src {
	struct vm_disk d; /* the drive; for unusedN only .file */
	bool unused;
	const struct storage *s; /* the volume's storage */
	struct volname v;
	const struct storage *target;
	bool snapshotted;
};

static void
move_src_done(struct move_src *m)
{
	vm_disk_done(&m->d);
}

static int
move_check(struct guestconf *gc, const struct storage_config *scfg, const char *node,
           json_t *params, struct move_src *ret, struct error *err)
{
	const char *disk = pstr(params, "disk"), *sid = pstr(params, "storage");
	const char *format = pstr(params, "format");
	const char *value = guestconf_get(&gc->main, disk);
	if (!value)
		return error_set(err, ENOENT, "disk '%s' does not exist", disk);
	ret->unused = startswith(disk, "unused");
	int r = drive_of(disk, value, &ret->d, err);
	if (r < 0)
		return r;
	if (!ret->d.file)
		return error_set(err, EINVAL, "disk '%s' has no associated volume", disk);
	if (vm_disk_is_cdrom(&ret->d))
		return error_set(err, EINVAL, "you can't move a cdrom");
	if (ret->d.kind != VM_FILE_VOLUME)
		return error_set(err, EINVAL, "unable to parse volume ID '%s'", ret->d.file);
	r = storage_resolve(scfg, ret->d.file, &ret->s, &ret->v, err);
	if (r < 0)
		return r;
	if (streq(ret->s->id, sid) &&
	    (!format || !ret->v.format || volume_format_parse(format) == ret->v.format))
		return error_set(err, EINVAL,
		                 "you can't move to the same storage with same format");
	ret->target = storage_config_find(scfg, sid);
	if (!ret->target)
		return error_set(err, ENOENT, "storage '%s' does not exist", sid);
	if (ret->target->disabled)
		return error_set(err, EINVAL, "storage '%s' is disabled", sid);
	if (!storage_enabled_on(ret->target, node))
		return error_set(err, EINVAL, "storage '%s' is not available on node '%s'", sid,
		                 node);
	if (!(ret->target->content & CONTENT_IMAGES))
		return error_set_status(err, 400, EINVAL, "storage '%s' does not support vm images",
		                        sid);
	ret->snapshotted = volume_in_snapshots(gc, ret->d.file);
	if (ret->snapshotted && pbool(params, "delete"))
		return error_set(err, EINVAL,
		                 "you can't move a disk with snapshots and delete the source");
	return 0;
}

/* ---- move_disk target-vmid: give a disk to another VM ---- */

/* PVE's load_and_check_reassign_configs, in the handler and again in the task under both
 * locks. ret gets the source drive (for unusedN only its volume). */
static int
reassign_check(const struct guestconf *src, const struct guestconf *tgt, unsigned vmid,
               unsigned target, const char *src_digest, const char *tgt_digest,
               const struct storage_config *scfg, json_t *params, bool src_running,
               struct vm_disk *ret, struct error *err)
{
	const char *disk = pstr(params, "disk");
	const char *tdisk = pstr(params, "target-disk") ?: disk;
	const char *want = pstr(params, "digest"), *want_t = pstr(params, "target-digest");
	static const char *const stale =
	        "detected modified configuration - file changed by other user? Try again.";
	int r = guest_check_lock(src, err);
	if (r < 0 || (r = guest_check_lock(tgt, err)) < 0)
		return r;
	if (is_template(src) || is_template(tgt))
		return error_set(err, EINVAL, "Can't move disks from or to template VMs");
	if (want && strcasecmp(want, src_digest) != 0)
		return error_set(err, EIO, "VM %u: %s", vmid, stale);
	if (want_t && strcasecmp(want_t, tgt_digest) != 0)
		return error_set(err, EIO, "VM %u: %s", target, stale);
	const char *value = guestconf_get(&src->main, disk);
	if (!value)
		return error_set(err, ENOENT, "Disk '%s' for VM '%u' does not exist", disk, vmid);
	if (guestconf_get(&tgt->main, tdisk))
		return error_set(err, EEXIST, "Target disk key '%s' is already in use for VM '%u'",
		                 tdisk, target);
	if ((r = drive_of(disk, value, ret, err)) < 0)
		return error_prefix(err, "failed to parse source disk");
	if (!ret->file)
		return error_set(err, EINVAL, "disk '%s' has no associated volume", disk);
	if (vm_disk_is_cdrom(ret))
		return error_set(err, EINVAL, "CD drive contents can't be moved to another VM");
	const struct storage *s = NULL;
	struct volname v;
	struct error e = { 0 };
	if (ret->kind != VM_FILE_VOLUME || storage_resolve(scfg, ret->file, &s, &v, &e) < 0)
		return error_set(err, EINVAL, "Volume '%s' not managed by PVE", ret->file);
	if (volume_in_snapshots(src, ret->file))
		return error_set(err, EBUSY, "Can't move disk used by a snapshot to another VM");
	if (!storage_can_rename(scfg, ret->file))
		return error_set(err, EOPNOTSUPP,
		                 "Storage does not support moving of this disk to another VM");
	if (src_running && !startswith(disk, "unused"))
		return error_set(err, EBUSY,
		                 "Cannot move disk to another VM while the source VM is running - "
		                 "detach first");
	/* the drive's options must fit the target's bus */
	if (!startswith(tdisk, "unused")) {
		struct vm_disk t = { 0 };
		r = vm_disk_parse(tdisk, value, &t, err);
		vm_disk_done(&t);
		if (r < 0)
			return error_prefix(err,
			                    "failed to parse source disk for target disk format");
	}
	return 0;
}

/* move_disk with target-vmid: PVE's checks before forking, then the qmmove task. */
static int
reassign_start(struct api_call *c, unsigned vmid)
{
	struct api_ctx *ctx = c->ctx;
	unsigned target = (unsigned)param_int(c->params, "target-vmid", 0);
	char path[32];
	snprintf(path, sizeof(path), "/vms/%u", target);
	int r = 0;
	if (!api_is_root(c) && (r = api_check_privs(c, path, "VM.Config.Disk", false)) < 0)
		return r;
	char digest[STORE_DIGEST_LEN + 1], tdigest[STORE_DIGEST_LEN + 1];
	_cleanup_(guestconf_freep) struct guestconf *src = NULL, *tgt = NULL;
	if (guest_conf_load(ctx->store, GUESTCONF_QEMU, ctx->node, vmid, &src, digest, &c->err) < 0)
		return -ENOENT;
	struct error e = { 0 };
	if (guest_conf_load(ctx->store, GUESTCONF_QEMU, ctx->node, target, &tgt, tdigest, &e) < 0)
		return api_fail(c, 500, "could not find target VM %u", target);
	struct storage_config *scfg = api_storage_config(ctx, &c->err);
	if (!scfg)
		return -EIO;
	struct vm_disk d = { 0 };
	r = reassign_check(src, tgt, vmid, target, digest, tdigest, scfg, c->params,
	                   vm_running(ctx, vmid), &d, &c->err);
	_cleanup_free_ char *sid = NULL, *vn = NULL;
	if (r >= 0)
		(void)volid_split(d.file, &sid, &vn, NULL);
	vm_disk_done(&d);
	storage_config_free(scfg);
	if (r < 0)
		return api_fail(c, 500, "%s", c->err.msg);
	_cleanup_free_ char *spath = xasprintf("/storage/%s", sid);
	if ((r = api_check_privs(c, spath, "Datastore.AllocateSpace", false)) < 0)
		return r;
	const char *disk = param_str(c->params, "disk");
	const char *tdisk = param_str(c->params, "target-disk") ?: disk;
	_cleanup_free_ char *id = xasprintf("%u-%s>%u-%s", vmid, disk, target, tdisk);
	return api_start_task(c, "qmmove", id, json_deep_copy(c->params), NULL, 0);
}

static int
qemu_move_disk(struct api_call *c)
{
	struct api_ctx *ctx = c->ctx;
	unsigned vmid = vmid_param(c);
	const char *sid = param_str(c->params, "storage");
	bool target_vmid = param_has(c->params, "target-vmid");
	if (target_vmid && sid) {
		const char *msg = "either set 'storage' or 'target-vmid', but not both";
		api_param_error(c, "target-vmid", "%s", msg);
		return api_param_error(c, "storage", "%s", msg);
	}
	if (!target_vmid && !sid) {
		const char *msg =
		        "both 'storage' and 'target-vmid' missing, either needs to be set";
		api_param_error(c, "target-vmid", "%s", msg);
		return api_param_error(c, "storage", "%s", msg);
	}
	if (target_vmid) {
		if ((unsigned)param_int(c->params, "target-vmid", 0) == vmid)
			return api_param_error(
			        c, "target-vmid",
			        "must be different than source VMID to reassign disk");
		return reassign_start(c, vmid);
	}
	_cleanup_free_ char *spath = xasprintf("/storage/%s", sid);
	int r = api_check_privs(c, spath, "Datastore.AllocateSpace", false);
	if (r < 0)
		return r;
	/* PVE's early checks before forking; the task makes them again under the lock */
	char digest[STORE_DIGEST_LEN + 1];
	_cleanup_(guestconf_freep) struct guestconf *gc = NULL;
	if (guest_conf_load(ctx->store, GUESTCONF_QEMU, ctx->node, vmid, &gc, digest, &c->err) < 0)
		return -ENOENT;
	if ((r = guest_check_lock(gc, &c->err)) < 0 || (r = api_digest_check(c, digest)) < 0)
		return r;
	struct storage_config *scfg = api_storage_config(ctx, &c->err);
	if (!scfg)
		return -EIO;
	struct move_src m = { 0 };
	r = move_check(gc, scfg, ctx->node, c->params, &m, &c->err);
	move_src_done(&m);
	storage_config_free(scfg);
	if (r < 0 && c->err.status == 400)
		return api_param_error(c, "storage", "%s", c->err.msg);
	if (r < 0)
		return r;
	char id[16];
	snprintf(id, sizeof(id), "%u", vmid);
	return api_start_task(c, "qmmove", id, json_deep_copy(c->params), NULL, 0);
}

/* The target format as PVE's resolve_dst_disk_format: the one asked for, else the source's,
 * when the target storage can hold it; its default otherwise. */
static enum volume_format
target_format(struct disk_task *t, const struct move_src *m, const char *format)
{
	enum volume_format want = format ? volume_format_parse(format) : m->v.format;
	const struct storage *s = m->target;
	enum volume_format def = s->default_format ? s->default_format : s->type->default_format;
	if (want && want != FORMAT_SUBVOL && (s->type->formats & want))
		return want;
	if (format)
		task_warn(t->w,
		          "format '%s' is not supported by the target storage '%s' - using '%s' "
		          "instead",
		          format, s->id, volume_format_name(def));
	return def;
}

static void
copy_progress(unsigned pct, void *userdata)
{
	struct disk_task *t = userdata;
	char done[32], total[32];
	render_bytes(t->total / 100 * pct, done, sizeof(done));
	render_bytes(t->total, total, sizeof(total));
	task_log(t->w, "transferred %s of %s (%u.00%%)", done, total, pct);
}

/* The mirror job of dev in query-block-jobs' answer; NULL when there is none. */
static json_t *
find_job(json_t *jobs, const char *dev)
{
	size_t i;
	json_t *j;
	json_array_foreach (jobs, i, j) {
		const char *d = json_string_value(json_object_get(j, "device"));
		if (d && streq(d, dev))
			return j;
	}
	return NULL;
}

/* Follow mirror job dev (PVE's BlockJob::monitor): progress lines while it copies; until it
 * is ready (until_ready), or until it concluded after block-job-complete. A concluded job is
 * dismissed (it runs with auto-dismiss off, so its error is seen here). */
static int
mirror_wait(struct disk_task *t, struct qmp *q, const char *dev, bool until_ready,
            struct error *err)
{
	time_t start = time(NULL), last_log = 0;
	for (;;) {
		if (task_interrupted(t->w))
			return error_set(err, EINTR, "interrupted by signal");
		json_t *jobs = NULL;
		int r = vm_qmp_run(q, t->vmid, "query-block-jobs", NULL, 0, &jobs, err);
		if (r < 0)
			return r;
		json_t *job = find_job(jobs, dev);
		if (!job) {
			json_decref(jobs);
			if (until_ready)
				return error_set(err, ECANCELED, "%s: 'mirror' has been cancelled",
				                 dev);
			return 0;
		}
		const char *status = json_string_value(json_object_get(job, "status"));
		if (status && streq(status, "concluded")) {
			const char *why = json_string_value(json_object_get(job, "error"));
			const char *io = json_string_value(json_object_get(job, "io-status"));
			if (why)
				error_set(err, EIO, "%s: %s (io-status: %s)", dev, why,
				          io ? io : "ok");
			else if (until_ready)
				error_set(err, EIO, "%s: mirror ended before it was ready", dev);
			json_decref(jobs);
			json_t *args = json_pack("{s:s}", "id", dev);
			struct error de = { 0 };
			if (vm_qmp_run(q, t->vmid, "job-dismiss", args, 0, NULL, &de) < 0)
				task_warn(t->w, "%s: failed to dismiss job - %s", dev, de.msg);
			json_decref(args);
			return error_is_set(err) ? -err->code : 0;
		}
		uint64_t len = (uint64_t)json_integer_value(json_object_get(job, "len"));
		uint64_t off = (uint64_t)json_integer_value(json_object_get(job, "offset"));
		bool ready = json_is_true(json_object_get(job, "ready"));
		json_decref(jobs);
		time_t now = time(NULL);
		if (until_ready && len && (ready || now != last_log)) {
			char done[32], total[32];
			render_bytes(off, done, sizeof(done));
			render_bytes(len, total, sizeof(total));
			task_log(t->w, "%s: transferred %s of %s (%.2f%%) in %llds%s", dev, done,
			         total, (double)off * 100 / (double)len, (long long)(now - start),
			         ready ? ", ready" : "");
			last_log = now;
		}
		if (until_ready && ready)
			return 0;
		sleep_ms(200);
	}
}

/* Cancel mirror job dev if it is still there, and wait (bounded) until QEMU let go of its
 * target. */
static void
mirror_cancel(struct disk_task *t, struct qmp *q, const char *dev)
{
	struct error e = { 0 };
	for (int i = 0; i < 300; i++) {
		json_t *jobs = NULL;
		if (vm_qmp_run(q, t->vmid, "query-block-jobs", NULL, 0, &jobs, &e) < 0)
			return;
		json_t *job = find_job(jobs, dev);
		const char *status = job ? json_string_value(json_object_get(job, "status")) : NULL;
		bool concluded = status && streq(status, "concluded");
		json_decref(jobs);
		if (!job)
			return;
		json_t *args = NULL;
		if (concluded) {
			args = json_pack("{s:s}", "id", dev);
			(void)vm_qmp_run(q, t->vmid, "job-dismiss", args, 0, NULL, &e);
			json_decref(args);
			return;
		}
		if (i == 0) {
			task_log(t->w, "%s: cancelling block job", dev);
			args = json_pack("{s:s, s:b}", "device", dev, "force", 1);
			(void)vm_qmp_run(q, t->vmid, "block-job-cancel", args, 0, NULL, &e);
			json_decref(args);
		}
		sleep_ms(100);
	}
	task_warn(t->w, "%s: block job did not end after cancel", dev);
}

/* The file QEMU's drive dev reads now (query-block's inserted.file); caller frees. */
static char *
drive_file(struct disk_task *t, struct qmp *q, const char *dev)
{
	json_t *blocks = NULL;
	struct error e = { 0 };
	if (vm_qmp_run(q, t->vmid, "query-block", NULL, 0, &blocks, &e) < 0)
		return NULL;
	char *file = NULL;
	size_t i;
	json_t *b;
	json_array_foreach (blocks, i, b) {
		const char *d = json_string_value(json_object_get(b, "device"));
		if (d && streq(d, dev)) {
			json_t *ins = json_object_get(b, "inserted");
			const char *f = json_string_value(json_object_get(ins, "file"));
			file = f ? xstrdup(f) : NULL;
		}
	}
	json_decref(blocks);
	return file;
}

/* A running VM's disk onto volid (allocated, as large as the source): drive-mirror into it,
 * wait until the copy is in sync, block-job-complete switches QEMU over. Any failure cancels
 * the job: QEMU keeps the source. */
static int
mirror_to(struct disk_task *t, const char *disk, const char *volid, enum volume_format fmt,
          long long bwlimit, struct error *err)
{
	_cleanup_free_ char *path = NULL;
	int r = storage_path(t->scfg, volid, &path, err);
	if (r < 0)
		return r;
	char dev[32];
	snprintf(dev, sizeof(dev), "drive-%s", disk);
	struct qmp *q = NULL;
	r = vm_qmp_open(&t->ve.h, t->vmid, "drive-mirror", &q, err);
	if (r < 0)
		return r;
	json_t *args = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "device", dev, "target", path,
	                         "format", volume_format_name(fmt), "sync", "full", "mode",
	                         "existing", "auto-dismiss", 0);
	if (bwlimit > 0) {
		json_object_set_new(args, "speed", json_integer((json_int_t)bwlimit * 1024));
		task_log(t->w, "drive mirror is starting for %s with bandwidth limit: %lld KiB/s",
		         dev, bwlimit);
	} else {
		task_log(t->w, "drive mirror is starting for %s", dev);
	}
	r = vm_qmp_run(q, t->vmid, "drive-mirror", args, 0, NULL, err);
	json_decref(args);
	if (r < 0) {
		qmp_close(q);
		return error_prefix(err, "mirroring error");
	}
	r = mirror_wait(t, q, dev, true, err);
	if (r >= 0) {
		task_log(t->w, "%s: Completing block job...", dev);
		args = json_pack("{s:s}", "device", dev);
		r = vm_qmp_run(q, t->vmid, "block-job-complete", args, 0, NULL, err);
		json_decref(args);
		if (r >= 0)
			r = mirror_wait(t, q, dev, false, err);
		if (r >= 0)
			task_log(t->w, "%s: Completed successfully.", dev);
	} else {
		mirror_cancel(t, q, dev);
	}
	/* whatever QEMU said, the drive must now read the new volume */
	if (r >= 0) {
		_cleanup_free_ char *now = drive_file(t, q, dev);
		if (!now || !streq(now, path))
			r = error_set(err, EIO, "%s: QEMU still uses '%s' after the mirror", dev,
			              now ? now : "?");
	}
	qmp_close(q);
	if (r < 0)
		return error_prefix(err, "block job (mirror) error");
	return 0;
}

/* The disk's value after the move: the drive with the new volume and its size (PVE drops
 * format=; the volume names it); for unusedN the volume alone. */
static char *
moved_value(struct disk_task *t, const struct move_src *m, const char *volid)
{
	if (m->unused)
		return xstrdup(volid);
	struct vm_disk d = m->d;
	d.file = (char *)volid;
	d.format = NULL;
	struct volume_info vi = { 0 };
	struct error e = { 0 };
	if (storage_info(t->scfg, volid, &vi, &e) >= 0 && vi.size)
		d.size = vi.size;
	volume_info_done(&vi);
	return vm_disk_print(&d);
}

/* Copy the disk (m, checked) to its new volume: *ret_volid. Nothing is left on failure. */
static int
move_copy(struct disk_task *t, const char *disk, const struct move_src *m, enum volume_format fmt,
          bool running, long long bwlimit, char **ret_volid, struct error *err)
{
	struct volume_info vi = { 0 };
	int r = storage_info(t->scfg, m->d.file, &vi, err);
	t->total = vi.size;
	volume_info_done(&vi);
	if (r < 0)
		return r;
	if (!running) {
		task_log(t->w, "copying volume '%s' to storage '%s' (%s)", m->d.file, m->target->id,
		         volume_format_name(fmt));
		if (bwlimit > 0)
			task_log(t->w, "bwlimit applies to live moves only");
		r = storage_copy(t->scfg, m->d.file, m->target->id, t->vmid, fmt, ret_volid,
		                 copy_progress, t, err);
		if (r >= 0)
			task_log(t->w, "allocated and filled target volume '%s'", *ret_volid);
		return r;
	}
	char *volid = NULL;
	r = storage_alloc(t->scfg, m->target->id, t->vmid, fmt, NULL, (t->total + 1023) / 1024,
	                  &volid, err);
	if (r < 0)
		return r;
	task_log(t->w, "allocated target volume '%s'", volid);
	r = mirror_to(t, disk, volid, fmt, bwlimit, err);
	if (r < 0) {
		struct error fe = { 0 };
		if (storage_free(t->scfg, volid, &fe) < 0)
			task_warn(t->w, "unable to free '%s': %s", volid, fe.msg);
		free(volid);
		return r;
	}
	*ret_volid = volid;
	return 0;
}

/* The reassign under both VMs' locks (source first, as PVE): the volume is renamed to the
 * target, leaves the source (and its boot order), and becomes the target's target-disk. */
static int
reassign_run(struct disk_task *t, json_t *params, struct error *err)
{
	struct task_worker *w = t->w;
	unsigned target = (unsigned)json_integer_value(json_object_get(params, "target-vmid"));
	const char *disk = pstr(params, "disk");
	const char *tdisk = pstr(params, "target-disk") ?: disk;
	struct store_lock *tlk = NULL;
	struct guestconf *tgt = NULL;
	char tdigest[STORE_DIGEST_LEN + 1];
	int r = guest_conf_load_locked(t->env->store, GUESTCONF_QEMU, t->env->node, target, &tlk,
	                               &tgt, tdigest, err);
	if (r < 0) {
		error_set(err, ENOENT, "could not find target VM %u", target);
		return r;
	}
	struct vm_disk d = { 0 };
	r = reassign_check(t->gc, tgt, t->vmid, target, t->digest, tdigest, t->scfg, params,
	                   vm_pid(&t->ve.q, t->vmid) > 0, &d, err);
	_cleanup_free_ char *newvol = NULL;
	if (r >= 0) {
		task_log(w, "moving disk '%s' from VM '%u' to '%u'", disk, t->vmid, target);
		r = storage_rename(t->scfg, d.file, target, &newvol, err);
	}
	if (r >= 0) {
		task_log(w, "volume '%s' is now '%s'", d.file, newvol);
		char *del[] = { (char *)disk, NULL };
		_cleanup_free_ char *boot = vm_boot_without(t->gc, del);
		if (boot) {
			task_log(w, "removing disk '%s' from boot order config", disk);
			if (boot[0])
				guestconf_set(&t->gc->main, "boot", boot);
			else
				guestconf_unset(&t->gc->main, "boot");
		}
		guestconf_unset(&t->gc->main, disk);
		task_log(w, "removing disk '%s' from VM '%u' config", disk, t->vmid);
		r = guest_conf_save(t->env->store, t->env->node, t->vmid, t->gc, t->digest, err);
		if (r < 0) {
			/* the source still names the old volume: give it back */
			struct error e = { 0 };
			_cleanup_free_ char *back = NULL;
			if (storage_rename(t->scfg, newvol, t->vmid, &back, &e) < 0)
				task_warn(w, "unable to give '%s' back to VM %u: %s", newvol,
				          t->vmid, e.msg);
		}
	}
	if (r >= 0) {
		/* the drive keeps its options; its size and format come with the volume */
		_cleanup_free_ char *value = NULL;
		if (startswith(tdisk, "unused"))
			value = xstrdup(newvol);
		else {
			struct vm_disk nd = d;
			nd.file = newvol;
			snprintf(nd.key, sizeof(nd.key), "%s", tdisk);
			value = vm_disk_print(&nd);
		}
		/* a running target takes it at its next start, as a pending change */
		bool trunning = vm_pid(&t->ve.q, target) > 0 && !startswith(tdisk, "unused");
		struct guestconf_section *sec = trunning ? guestconf_pending(tgt) : &tgt->main;
		guestconf_set(sec, tdisk, value);
		task_log(w, "adding '%s' to VM '%u' config as '%s'%s", newvol, target, tdisk,
		         trunning ? " (pending until its next start)" : "");
		r = guest_conf_save(t->env->store, t->env->node, target, tgt, tdigest, err);
		if (r < 0)
			task_warn(w,
			          "volume '%s' belongs to VM %u now but is not in its config: add "
			          "it with 'qm rescan' or PUT config",
			          newvol, target);
	}
	vm_disk_done(&d);
	guestconf_free(tgt);
	store_unlock(tlk);
	return r;
}

int
vm_move_disk_task_run(struct task_worker *w, json_t *params, struct error *err)
{
	struct disk_task t = { 0 };
	int r = disk_task_init(&t, w, params, err);
	if (json_object_get(params, "target-vmid")) {
		if (r >= 0)
			r = reassign_run(&t, params, err);
		disk_task_done(&t);
		return r;
	}
	struct guestconf *gc = t.gc;
	const char *digest = t.digest;
	const char *disk = pstr(params, "disk"), *want_digest = pstr(params, "digest");
	if (r >= 0)
		r = guest_check_lock(gc, err);
	if (r >= 0)
		r = guest_digest_check(want_digest, digest, err);
	struct move_src m = { 0 };
	if (r >= 0)
		r = move_check(gc, t.scfg, t.env->node, params, &m, err);
	bool del = pbool(params, "delete");
	_cleanup_free_ char *old = r >= 0 ? xstrdup(m.d.file) : NULL;
	_cleanup_free_ char *newvol = NULL;
	bool running = false;
	if (r >= 0) {
		running = !m.unused && vm_pid(&t.ve.q, t.vmid) > 0;
		enum volume_format fmt = target_format(&t, &m, pstr(params, "format"));
		task_log(w, "moving disk %s ('%s') from storage '%s' to storage '%s'%s", disk, old,
		         m.s->id, m.target->id, running ? " (live, VM running)" : "");
		if (m.snapshotted)
			task_warn(w, "moving disk with snapshots, snapshots will not be moved!");
		json_t *bw = json_object_get(params, "bwlimit");
		r = move_copy(&t, disk, &m, fmt, running, bw ? json_integer_value(bw) : 0, &newvol,
		              err);
		if (r < 0) {
			char why[sizeof(err->msg)];
			snprintf(why, sizeof(why), "%s", err->msg);
			error_set(err, err->code ? err->code : EIO, "storage migration failed: %s",
			          why);
		}
	}
	/* the template's disks are base volumes: so is the moved one */
	if (r >= 0 && is_template(gc) && !m.unused) {
		char *base = NULL;
		r = storage_create_base(t.scfg, newvol, &base, err);
		if (r >= 0) {
			task_log(w, "%s: '%s' is now '%s'", disk, newvol, base);
			free(newvol);
			newvol = base;
		}
	}
	if (r >= 0) {
		_cleanup_free_ char *value = moved_value(&t, &m, newvol);
		guestconf_set(&gc->main, disk, value);
		if (!del) {
			guestconf_add_unused(&gc->main, old, VM_MAX_UNUSED);
			for (size_t i = 0; i < gc->main.n_items; i++)
				if (startswith(gc->main.items[i].key, "unused") &&
				    streq(gc->main.items[i].value, old))
					task_log(w, "adding source volume '%s' as '%s' to config",
					         old, gc->main.items[i].key);
		}
		r = guest_conf_save(t.env->store, t.env->node, t.vmid, gc, digest, err);
		if (r < 0 && running)
			/* QEMU writes to the new volume now: it must stay */
			task_warn(w, "the VM uses '%s' now, but its config could not be saved",
			          newvol);
	}
	if (r < 0 && newvol && !running) {
		struct error fe = { 0 };
		if (storage_free(t.scfg, newvol, &fe) < 0)
			task_warn(w, "unable to free '%s': %s", newvol, fe.msg);
		else
			task_log(w, "freed '%s'", newvol);
	}
	if (r >= 0 && del) {
		task_log(w, "removing source volume '%s' after successful copy", old);
		struct error fe = { 0 };
		if (storage_free(t.scfg, old, &fe) < 0)
			task_warn(w, "unable to free '%s': %s", old, fe.msg);
	}
	move_src_done(&m);
	disk_task_done(&t);
	return r;
}

/* ---- POST /nodes/{node}/qemu/{vmid}/template ---- */

/* PVE's checks (load_and_check), in the handler and again in the task under the lock. */
static int
template_check(const struct guestconf *gc, const struct vm_host *h, unsigned vmid, const char *disk,
               struct error *err)
{
	int r = guest_check_lock(gc, err);
	if (r < 0)
		return r;
	if (gc->n_snapshots)
		return error_set(err, EBUSY,
		                 "unable to create template, because VM contains snapshots");
	if (is_template(gc) && !disk)
		return error_set(err, EINVAL, "you can't convert a template to a template");
	if (vm_pid(h->q, vmid) > 0)
		return error_set(err, EBUSY, "you can't convert a VM to template if VM is running");
	return 0;
}

static int
qemu_template(struct api_call *c)
{
	unsigned vmid = vmid_param(c);
	_cleanup_(guestconf_freep) struct guestconf *gc = NULL;
	if (guest_conf_load(c->ctx->store, GUESTCONF_QEMU, c->ctx->node, vmid, &gc, NULL, &c->err) <
	    0)
		return -ENOENT;
	struct vm_env env;
	vm_env_init(&env, c->ctx->root_dir, NULL, false);
	int r = template_check(gc, &env.h, vmid, param_str(c->params, "disk"), &c->err);
	vm_env_done(&env);
	if (r < 0)
		return r;
	char id[16];
	snprintf(id, sizeof(id), "%u", vmid);
	return api_start_task(c, "qmtemplate", id, json_deep_copy(c->params), NULL, 0);
}

int
vm_template_task_run(struct task_worker *w, json_t *params, struct error *err)
{
	struct disk_task t = { 0 };
	int r = disk_task_init(&t, w, params, err);
	struct guestconf *gc = t.gc;
	const char *only = pstr(params, "disk");
	if (r >= 0)
		r = template_check(gc, &t.ve.h, t.vmid, only, err);
	/* PVE marks the VM first, then converts disk by disk, writing the config after each */
	if (r >= 0) {
		guestconf_set(&gc->main, "template", "1");
		r = guest_conf_save(t.env->store, t.env->node, t.vmid, gc, NULL, err);
	}
	for (size_t i = 0; r >= 0 && i < gc->main.n_items; i++) {
		const char *key = gc->main.items[i].key;
		if (!vm_is_disk_key(key, NULL, NULL) || (only && !streq(only, key)))
			continue;
		struct vm_disk d = { 0 };
		struct error e = { 0 };
		const struct storage *s = NULL;
		struct volname v;
		if (vm_disk_parse(key, gc->main.items[i].value, &d, &e) < 0 ||
		    d.kind != VM_FILE_VOLUME || vm_disk_is_cdrom(&d) ||
		    storage_resolve(t.scfg, d.file, &s, &v, &e) < 0 ||
		    !storage_has_feature(s, &v, FEATURE_TEMPLATE)) {
			vm_disk_done(&d);
			continue;
		}
		char *base = NULL;
		r = storage_create_base(t.scfg, d.file, &base, err);
		if (r >= 0) {
			task_log(w, "%s: '%s' is now '%s'", key, d.file, base);
			free(d.file);
			d.file = base;
			_cleanup_free_ char *value = vm_disk_print(&d);
			guestconf_set(&gc->main, key, value);
			r = guest_conf_save(t.env->store, t.env->node, t.vmid, gc, NULL, err);
		}
		vm_disk_done(&d);
	}
	disk_task_done(&t);
	return r;
}

/* ---- "resize" is one task type for VMs and containers, as in PVE ---- */

int
guest_resize_task_run(struct task_worker *w, json_t *params, struct error *err)
{
	const char *disk = pstr(params, "disk");
	if (disk && vm_is_disk_key(disk, NULL, NULL))
		return vm_resize_task_run(w, params, err);
	return ct_resize_task_run(w, params, err);
}

/* ---- routes ---- */

#define SKIPLOCK                                                                                   \
	{                                                                                          \
		.name = "skiplock", .type = API_T_BOOLEAN, .optional = true,                       \
		.description = "Ignore locks - only root is allowed to use this option."           \
	}

static const struct api_schema resize_params[] = {
	PARAM_NODE,
	PARAM_VMID,
	SKIPLOCK,
	PARAM_DIGEST,
	{ .name = "disk",
	  .type = API_T_STRING,
	  .enums = drive_names,
	  .description = "The disk you want to resize." },
	{ .name = "size",
	  .type = API_T_STRING,
	  .pattern = "\\+?[0-9]+(\\.[0-9]+)?[KMGT]?",
	  .description = "The new size. With the `+` sign the value is added to the actual size "
	                 "of the volume and without it, the value is taken as an absolute one. "
	                 "Shrinking disk size is not supported." },
	PARAM_END,
};

static const struct api_schema unlink_params[] = {
	PARAM_NODE,
	PARAM_VMID,
	{ .name = "idlist",
	  .type = API_T_STRING,
	  .format = "pve-configid-list",
	  .description = "A list of disk IDs you want to delete." },
	{ .name = "force",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "Force physical removal. Without this, we simple remove the disk from "
	                 "the config file and create an additional configuration entry called "
	                 "'unused[n]', which contains the volume ID. Unlink of unused[n] always "
	                 "cause physical removal." },
	PARAM_END,
};

static const struct api_schema move_params[] = {
	PARAM_NODE,
	PARAM_VMID,
	{ .name = "target-vmid",
	  .type = API_T_INTEGER,
	  .format = "pve-vmid",
	  .minimum = 100,
	  .maximum = 999999999,
	  .flags = API_F_HAS_MIN | API_F_HAS_MAX,
	  .optional = true,
	  .description = "The (unique) ID of the VM." },
	{ .name = "disk",
	  .type = API_T_STRING,
	  .enums = drive_names_unused,
	  .description = "The disk you want to move." },
	{ .name = "storage",
	  .type = API_T_STRING,
	  .format = "pve-storage-id",
	  .optional = true,
	  .description = "Target storage." },
	{ .name = "format",
	  .type = API_T_STRING,
	  .enums = (const char *const[]){ "raw", "qcow2", "vmdk", NULL },
	  .optional = true,
	  .description = "Target disk format. Only used when moving to a different storage. If "
	                 "the target storage does not support the format, the storage's default "
	                 "format is used instead." },
	{ .name = "delete",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .default_text = "0",
	  .description = "Delete the original disk after successful copy. By default the "
	                 "original disk is kept as unused disk." },
	PARAM_DIGEST,
	{ .name = "bwlimit",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .minimum = 0,
	  .flags = API_F_HAS_MIN,
	  .default_text = "no limit",
	  .description = "Override I/O bandwidth limit (in KiB/s); applies to the live copy of "
	                 "a running VM's disk." },
	{ .name = "target-disk",
	  .type = API_T_STRING,
	  .enums = drive_names_unused,
	  .optional = true,
	  .description = "The config key the disk will be moved to on the target VM (for "
	                 "example, ide0 or scsi1). Default is the source disk key." },
	{ .name = "target-digest",
	  .type = API_T_STRING,
	  .max_length = 40,
	  .optional = true,
	  .description = "Prevent changes if the current config file of the target VM has a "
	                 "different SHA1 digest. This can be used to detect concurrent "
	                 "modifications." },
	PARAM_END,
};

static const struct api_schema template_params[] = {
	PARAM_NODE,
	PARAM_VMID,
	{ .name = "disk",
	  .type = API_T_STRING,
	  .enums = drive_names,
	  .optional = true,
	  .description = "If you want to convert only 1 disk to base image." },
	PARAM_END,
};

const struct api_route api_routes_qemu_disk[] = {
	{ .method = API_PUT,
	  .path = "/nodes/{node}/qemu/{vmid}/resize",
	  .params = resize_params,
	  .perm = { .kind = PERM_PRIVS,
	            .path = "/vms/{vmid}",
	            .privs = "VM.Config.Disk",
	            .description = "And 'Datastore.AllocateSpace' on the disk's storage." },
	  .flags = API_TASK,
	  .handler = qemu_resize,
	  .description = "Extend volume size." },
	{ .method = API_PUT,
	  .path = "/nodes/{node}/qemu/{vmid}/unlink",
	  .params = unlink_params,
	  .perm = { .kind = PERM_PRIVS,
	            .path = "/vms/{vmid}",
	            .privs = "VM.Config.Disk",
	            .description = "CD-ROM drives need 'VM.Config.CDROM'; freeing a volume "
	                           "'Datastore.AllocateSpace' on its storage." },
	  .returns = RET_NULL,
	  .handler = qemu_unlink,
	  .description = "Unlink/delete disk images." },
	{ .method = API_POST,
	  .path = "/nodes/{node}/qemu/{vmid}/move_disk",
	  .params = move_params,
	  .perm = { .kind = PERM_PRIVS,
	            .path = "/vms/{vmid}",
	            .privs = "VM.Config.Disk",
	            .description = "And 'Datastore.AllocateSpace' on the target storage." },
	  .flags = API_TASK,
	  .handler = qemu_move_disk,
	  .description = "Move volume to different storage or to a different VM." },
	{ .method = API_POST,
	  .path = "/nodes/{node}/qemu/{vmid}/template",
	  .params = template_params,
	  .perm = { .kind = PERM_PRIVS, .path = "/vms/{vmid}", .privs = "VM.Allocate" },
	  .flags = API_TASK,
	  .handler = qemu_template,
	  .description = "Create a Template." },
	{ .handler = NULL },
};
