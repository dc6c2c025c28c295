/* Pending changes of a VM config becoming real: all of them when the VM starts (PVE's
 * vmconfig_apply_pending), and what a running VM can take live after an update (PVE's
 * vmconfig_hotplug_pending): disks on virtio and SCSI and NICs plugged and unplugged, CD-ROM
 * media changed, NICs moved between bridges or linked up and down, CPU limits written to the
 * VM's cgroup, the balloon target set. Everything else waits for the next start. */
#include "api/qemu-common.h"
#include "guest/qemu/vmhotplug.h"

#include <stdio.h>

char *
vm_disk_volume(const char *key, const char *value)
{
	struct vm_disk d = { 0 };
	struct error e = { 0 };
	char *vol = NULL;
	if (vm_disk_parse(key, value, &d, &e) >= 0 && d.kind == VM_FILE_VOLUME &&
	    !vm_disk_is_cdrom(&d))
		vol = xstrdup(d.file);
	vm_disk_done(&d);
	return vol;
}

int
vm_pending_commit(struct guestconf *gc, unsigned vmid, const char *key, vm_free_fn free_volume,
                  void *userdata, struct error *err)
{
	bool force = false;
	bool del = guestconf_pending_delete_has(gc, key, &force);
	const char *old = guestconf_get(&gc->main, key);
	_cleanup_free_ char *old_vol = old && vm_is_disk_key(key, NULL, NULL)
	                                       ? vm_disk_volume(key, old)
	                               : old && del && startswith(key, "unused") ? xstrdup(old)
	                                                                         : NULL;
	const char *next = gc->pending && !del ? guestconf_get(gc->pending, key) : NULL;
	_cleanup_free_ char *new_vol = next ? vm_disk_volume(key, next) : NULL;
	const char *only[] = { key, NULL };
	guestconf_apply_pending(gc, only);
	if (!old_vol || (new_vol && streq(old_vol, new_vol)))
		return 0;
	/* a replaced or detached disk's volume stays the VM's as unusedN; a forced deletion
	 * (and the deletion of unusedN itself) frees it when the VM owns it, else it only leaves
	 * the config (PVE's try_deallocate_drive) */
	if (force || startswith(key, "unused"))
		return free_volume && guestconf_volume_owned_by(old_vol, vmid)
		               ? free_volume(old_vol, userdata, err)
		               : 0;
	guestconf_add_unused(&gc->main, old_vol, VM_MAX_UNUSED);
	return 0;
}

int
vm_pending_commit_all(struct guestconf *gc, unsigned vmid, vm_free_fn free_volume, void *userdata,
                      struct error *err)
{
	if (!gc->pending)
		return 0;
	_cleanup_(strv_freep) char **dels = guestconf_pending_delete_keys(gc);
	_cleanup_(strv_freep) char **sets = guestconf_pending_set_keys(gc);
	int r = 0;
	for (char **k = dels; r >= 0 && k && *k; k++)
		r = vm_pending_commit(gc, vmid, *k, free_volume, userdata, err);
	for (char **k = sets; r >= 0 && k && *k; k++)
		r = vm_pending_commit(gc, vmid, *k, free_volume, userdata, err);
	guestconf_prune_pending(gc);
	return r < 0 ? r : 1;
}

/* ---- hot-plug ---- */

struct hotplug {
	const struct vm_host *h;
	struct guestconf *gc;
	unsigned vmid;
	vm_free_fn free_volume;
	void *userdata;
	void (*log)(const char *line, void *userdata);
	json_t *errors;
	int applied;
};

static void
hp_log(const char *line, void *userdata)
{
	struct hotplug *hp = userdata;
	if (hp->log)
		hp->log(line, hp->userdata);
}

/* The typed config the VM would have with key's pending change applied (set or deleted). */
static int
config_with(struct hotplug *hp, const char *key, struct vm_config **ret, struct error *err)
{
	_cleanup_(guestconf_freep) struct guestconf *next = guestconf_dup(hp->gc);
	const char *only[] = { key, NULL };
	guestconf_apply_pending(next, only);
	return vm_conf_typed(next, hp->vmid, ret, err);
}

static const struct vm_net *
net_of(const struct vm_config *c, const char *key)
{
	unsigned index = 0;
	(void)vm_is_net_key(key, &index);
	for (size_t i = 0; i < c->n_nets; i++)
		if (c->nets[i].index == index)
			return &c->nets[i];
	return NULL;
}

static const struct vm_disk *
disk_of(const struct vm_config *c, const char *key)
{
	for (size_t i = 0; i < c->n_disks; i++)
		if (streq(c->disks[i].key, key))
			return &c->disks[i];
	return NULL;
}

static int
commit(struct hotplug *hp, const char *key, struct error *err)
{
	int r = vm_pending_commit(hp->gc, hp->vmid, key, hp->free_volume, hp->userdata, err);
	if (r >= 0)
		hp->applied++;
	return r;
}

/* cpulimit, cpuunits: the VM's cgroup, as a start would set it */
static int
apply_cpu(struct hotplug *hp, const struct vm_config *next, struct error *err)
{
	if (!hp->h->cg)
		return 0;
	_cleanup_free_ char *rel = vm_cgroup_rel(hp->vmid);
	return cg_apply_limits(hp->h->cg, rel, 0, 0, next->cpulimit > 0 ? next->cpulimit : 0,
	                       next->cpuunits > 0 ? (unsigned)next->cpuunits : 0, err);
}

/* Unplug the device key names now (its old value) and commit the removal of the old value
 * alone: the pending new value (if any) stays pending until it is plugged. */
static int
unplug_old(struct hotplug *hp, const char *key, bool keep_pending_value, struct error *err)
{
	int r = vm_device_unplug(hp->h, hp->vmid, key, err);
	if (r < 0)
		return r;
	if (!keep_pending_value)
		return commit(hp, key, err);
	_cleanup_free_ char *value = xstrdup(guestconf_get(hp->gc->pending, key));
	guestconf_unset(hp->gc->pending, key);
	guestconf_pending_delete_add(hp->gc, key, false);
	r = vm_pending_commit(hp->gc, hp->vmid, key, hp->free_volume, hp->userdata, err);
	guestconf_set(guestconf_pending(hp->gc), key, value);
	return r;
}

/* One pending deletion. 0: done or left pending (not live-changeable). */
static int
hotplug_delete(struct hotplug *hp, const struct vm_config *cur, const char *key, struct error *err)
{
	if (startswith(key, "unused"))
		return commit(hp, key, err);
	bool have = guestconf_get(&hp->gc->main, key) != NULL;
	if (!have)
		return commit(hp, key, err);
	if (streq(key, "cpulimit") || streq(key, "cpuunits")) {
		_cleanup_(vm_config_freep) struct vm_config *next = NULL;
		int r = config_with(hp, key, &next, err);
		if (r >= 0)
			r = apply_cpu(hp, next, err);
		return r < 0 ? r : commit(hp, key, err);
	}
	bool net = vm_is_net_key(key, NULL);
	if (!vm_key_hotpluggable(key) || !vm_hotplug_enabled(cur, net ? "network" : "disk"))
		return 0;
	return unplug_old(hp, key, false, err);
}

static int
hotplug_net(struct hotplug *hp, const struct vm_config *cur, const char *key,
            const struct vm_config *next, struct error *err)
{
	const struct vm_net *old = net_of(cur, key), *n = net_of(next, key);
	if (!n || !vm_hotplug_enabled(cur, "network"))
		return 0;
	int r = 0;
	if (old && vm_net_relinkable(old, n)) {
		r = vm_net_relink(hp->h, hp->vmid, old, n, hp_log, hp, err);
		return r < 0 ? r : commit(hp, key, err);
	}
	if (old && (r = unplug_old(hp, key, true, err)) < 0)
		return r;
	r = vm_device_plug(hp->h, next, key, hp_log, hp, err);
	return r < 0 ? r : commit(hp, key, err);
}

static int
hotplug_disk(struct hotplug *hp, const struct vm_config *cur, const char *key,
             const struct vm_config *next, struct error *err)
{
	const struct vm_disk *old = disk_of(cur, key), *d = disk_of(next, key);
	if (!d)
		return 0;
	int r = 0;
	if (old && vm_disk_is_cdrom(old) && vm_disk_is_cdrom(d)) {
		r = vm_cdrom_change(hp->h, hp->vmid, d, err);
		return r < 0 ? r : commit(hp, key, err);
	}
	if (!vm_key_hotpluggable(key) || !vm_hotplug_enabled(cur, "disk"))
		return 0;
	/* the same volume with other options needs a restart (PVE changes only I/O limits of a
	 * plugged disk live, which Berth does not have) */
	if (old && old->file && d->file && streq(old->file, d->file))
		return 0;
	if (old && (r = unplug_old(hp, key, true, err)) < 0)
		return r;
	r = vm_device_plug(hp->h, next, key, hp_log, hp, err);
	return r < 0 ? r : commit(hp, key, err);
}

/* One pending value. 0: done or left pending. */
static int
hotplug_set(struct hotplug *hp, const struct vm_config *cur, const char *key, struct error *err)
{
	bool net = vm_is_net_key(key, NULL), disk = vm_is_disk_key(key, NULL, NULL);
	bool cpu = streq(key, "cpulimit") || streq(key, "cpuunits");
	bool balloon = streq(key, "balloon");
	if (!net && !disk && !cpu && !balloon)
		return 0;
	_cleanup_(vm_config_freep) struct vm_config *next = NULL;
	int r = config_with(hp, key, &next, err);
	if (r < 0)
		return r;
	if (net)
		return hotplug_net(hp, cur, key, next, err);
	if (disk)
		return hotplug_disk(hp, cur, key, next, err);
	if (cpu) {
		r = apply_cpu(hp, next, err);
		return r < 0 ? r : commit(hp, key, err);
	}
	/* balloon: a new target for the balloon device (none with balloon: 0) */
	if (cur->balloon == 0 || next->balloon == 0)
		return 0;
	long long mem = next->memory.present ? next->memory.current : 512;
	uint64_t mib = (uint64_t)(next->balloon > 0 ? next->balloon : mem);
	json_t *a = json_pack("{s:I}", "value", (json_int_t)(mib << 20));
	r = vm_qmp(hp->h, hp->vmid, "balloon", a, NULL, err);
	json_decref(a);
	return r < 0 ? r : commit(hp, key, err);
}

int
vm_hotplug_pending(const struct vm_host *h, struct guestconf *gc, unsigned vmid,
                   vm_free_fn free_volume, void (*log)(const char *line, void *userdata),
                   void *userdata, json_t **ret_errors, struct error *err)
{
	*ret_errors = NULL;
	if (!gc->pending)
		return 0;
	struct hotplug hp = { .h = h,
		              .gc = gc,
		              .vmid = vmid,
		              .free_volume = free_volume,
		              .userdata = userdata,
		              .log = log,
		              .errors = json_object() };
	_cleanup_(strv_freep) char **dels = guestconf_pending_delete_keys(gc);
	_cleanup_(strv_freep) char **sets = guestconf_pending_set_keys(gc);
	int r = 0;
	for (int pass = 0; pass < 2 && r >= 0; pass++) {
		for (char **k = pass ? sets : dels; k && *k; k++) {
			/* the config as it runs now, after the changes before this one */
			_cleanup_(vm_config_freep) struct vm_config *cur = NULL;
			if ((r = vm_conf_typed(gc, vmid, &cur, err)) < 0)
				break;
			struct error e = { 0 };
			int k_r = pass ? hotplug_set(&hp, cur, *k, &e)
			               : hotplug_delete(&hp, cur, *k, &e);
			if (k_r < 0) {
				_cleanup_free_ char *line =
				        xasprintf("hotplug problem - %s", e.msg);
				json_object_set_new(hp.errors, *k, json_string(line));
				_cleanup_free_ char *logged = xasprintf("%s: %s", *k, line);
				hp_log(logged, &hp);
			}
		}
	}
	guestconf_prune_pending(gc);
	if (json_object_size(hp.errors))
		*ret_errors = hp.errors;
	else
		json_decref(hp.errors);
	return r < 0 ? r : hp.applied;
}
