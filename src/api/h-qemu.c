/* /nodes/{node}/qemu: virtual machines as Proxmox VE's qm API has them — list, create,
 * config, pending, status and power actions, destroy. The work that blocks (allocating disks,
 * starting QEMU, QMP) runs in tasks (t-qemu.c); these handlers check, write the config and
 * start the task. */
#include "api/authcache.h"
#include "api/qemu-common.h"
#include "auth/usercfg.h"
#include "basic/log.h"
#include "storage/storage.h"

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- parameter lists: the config keys plus each route's own ---- */

#define MAX_PARAMS 1024
static struct api_schema create_params[MAX_PARAMS];
static struct api_schema update_params[MAX_PARAMS];
static struct api_schema update_async_params[MAX_PARAMS];

#define UPDATE_OWN                                                                                 \
	PARAM_NODE, PARAM_VMID, PARAM_DIGEST,                                                      \
	        { .name = "delete",                                                                \
		  .type = API_T_STRING,                                                            \
		  .format = "pve-configid-list",                                                   \
		  .optional = true,                                                                \
		  .description = "A list of settings you want to delete." },                       \
	        { .name = "revert",                                                                \
		  .type = API_T_STRING,                                                            \
		  .format = "pve-configid-list",                                                   \
		  .optional = true,                                                                \
		  .description = "Revert a pending change." },                                     \
	        { .name = "force",                                                                 \
		  .type = API_T_BOOLEAN,                                                           \
		  .optional = true,                                                                \
		  .description = "Force physical removal. Without this, we simple remove the "     \
		                 "disk from the config file and create an additional "             \
		                 "configuration entry called 'unused[n]', which contains the "     \
		                 "volume ID." },                                                   \
	{                                                                                          \
		.name = "skiplock", .type = API_T_BOOLEAN, .optional = true,                       \
		.description = "Ignore locks - only root is allowed to use this option."           \
	}

static const struct api_schema create_own[] = {
	PARAM_NODE,
	PARAM_VMID,
	{ .name = "archive",
	  .type = API_T_STRING,
	  .max_length = 255,
	  .optional = true,
	  .description = "The backup archive (restore is not supported yet)." },
	{ .name = "storage",
	  .type = API_T_STRING,
	  .format = "pve-storage-id",
	  .optional = true,
	  .description = "Default storage." },
	{ .name = "force",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "Allow to overwrite existing VM (requires archive)." },
	{ .name = "start",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .default_text = "0",
	  .description = "Start VM after it was created successfully." },
	{ .name = "pool",
	  .type = API_T_STRING,
	  .format = "pve-poolid",
	  .optional = true,
	  .description = "Add the VM to the specified pool." },
	{ .name = "unique",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "Assign a unique random ethernet address (restore only)." },
	{ .name = "bwlimit",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .minimum = 0,
	  .flags = API_F_HAS_MIN,
	  .description = "Override I/O bandwidth limit (in KiB/s)." },
	{ .name = "live-restore",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "Start the VM immediately while importing (not supported yet)." },
	{ .name = "ha-managed",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "Add the VM as a HA resource (not supported yet)." },
	PARAM_END,
};

static const struct api_schema update_own[] = { UPDATE_OWN, PARAM_END };
static const struct api_schema update_async_own[] = {
	UPDATE_OWN,
	{ .name = "background_delay",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .minimum = 1,
	  .maximum = 30,
	  .flags = API_F_HAS_MIN | API_F_HAS_MAX,
	  .description = "Time to wait for the task to finish. We return 'null' if the task "
	                 "finish within that time." },
	PARAM_END,
};

/* Config keys the API never takes from users: snapshot and runtime bookkeeping. */
static const char *const internal_keys[] = { "parent",         "snaptime",   "vmstate",
	                                     "runningmachine", "runningcpu", NULL };

__attribute__((constructor)) static void
build_route_params(void)
{
	const struct api_schema *keys = vm_config_schema();
	guest_build_params(create_params, MAX_PARAMS, create_own, keys, internal_keys, false);
	guest_build_params(update_params, MAX_PARAMS, update_own, keys, internal_keys, true);
	guest_build_params(update_async_params, MAX_PARAMS, update_async_own, keys, internal_keys,
	                   true);
}

/* ---- helpers ---- */

static unsigned
vmid_param(struct api_call *c)
{
	return (unsigned)param_int(c->params, "vmid", 0);
}

/* The daemon's view of VMs: run directory and cgroups, no storage (observation only). */
static const struct vm_env *
daemon_env(struct api_ctx *ctx)
{
	static struct vm_env env;
	static bool done;
	if (!done) {
		vm_env_init(&env, ctx->root_dir, NULL, false);
		done = true;
	}
	return &env;
}

static pid_t
running_pid(struct api_call *c, unsigned vmid)
{
	return vm_pid(&daemon_env(c->ctx)->q, vmid);
}

/* Load the VM named by {vmid}; NULL after answering. */
static struct guestconf *
load_vm(struct api_call *c, char *digest)
{
	struct guestconf *gc = NULL;
	if (guest_conf_load(c->ctx->store, GUESTCONF_QEMU, c->ctx->node, vmid_param(c), &gc, digest,
	                    &c->err) < 0)
		return NULL;
	return gc;
}

/* The size of the boot disk (PVE's maxdisk): the first disk of boot order=, else the first
 * non-CD-ROM disk. */
static uint64_t
boot_disk_size(const struct vm_config *vc)
{
	if (vc->boot.order) {
		_cleanup_(strv_freep) char **devs = split_list(vc->boot.order);
		for (char **d = devs; d && *d; d++)
			for (size_t i = 0; i < vc->n_disks; i++)
				if (streq(vc->disks[i].key, *d) && !vm_disk_is_cdrom(&vc->disks[i]))
					return vc->disks[i].size;
	}
	for (size_t i = 0; i < vc->n_disks; i++)
		if (!vm_disk_is_cdrom(&vc->disks[i]) && vc->disks[i].bus != VM_BUS_EFIDISK)
			return vc->disks[i].size;
	return 0;
}

json_t *
vm_status_json(struct api_ctx *ctx, struct guest_cpu_cache *cpu_cache, unsigned vmid,
               const struct guestconf *gc, bool full)
{
	struct error err = { 0 };
	_cleanup_(vm_config_freep) struct vm_config *vc = NULL;
	json_t *e = json_pack("{s:i}", "vmid", (json_int_t)vmid);
	if (vm_conf_typed(gc, vmid, &vc, &err) < 0) {
		json_object_set_new(e, "status", json_string("unknown"));
		return e;
	}
	struct vm_live l = { 0 };
	vm_live(&daemon_env(ctx)->h, vc, full, &l);
	long long sockets = vc->sockets > 0 ? vc->sockets : 1,
	          cores = vc->cores > 0 ? vc->cores : 1;
	long long cpus = vc->vcpus > 0 ? vc->vcpus : sockets * cores;
	long long mem_mib = vc->memory.present && vc->memory.current > 0 ? vc->memory.current : 512;
	char name[32];
	snprintf(name, sizeof(name), "VM %u", vmid);
	json_object_set_new(e, "name", json_string(vc->name ? vc->name : name));
	json_object_set_new(e, "status", json_string(l.running ? "running" : "stopped"));
	json_object_set_new(e, "cpus", json_integer(cpus));
	json_object_set_new(e, "maxmem", json_integer((json_int_t)mem_mib << 20));
	json_object_set_new(e, "mem", json_integer((json_int_t)l.mem));
	json_object_set_new(e, "maxdisk", json_integer((json_int_t)boot_disk_size(vc)));
	json_object_set_new(e, "disk", json_integer(0));
	json_object_set_new(e, "uptime", json_integer((json_int_t)l.uptime));
	json_object_set_new(
	        e, "cpu",
	        json_real(l.running ? guest_cpu_fraction(cpu_cache, vmid, l.cpu_ns, (unsigned)cpus)
	                            : 0));
	json_object_set_new(e, "netin", json_integer((json_int_t)l.netin));
	json_object_set_new(e, "netout", json_integer((json_int_t)l.netout));
	json_object_set_new(e, "diskread", json_integer((json_int_t)l.diskread));
	json_object_set_new(e, "diskwrite", json_integer((json_int_t)l.diskwrite));
	if (l.running && l.pid > 0)
		json_object_set_new(e, "pid", json_integer(l.pid));
	if (vc->template == 1)
		json_object_set_new(e, "template", json_integer(1));
	if (vc->lock)
		json_object_set_new(e, "lock", json_string(vc->lock));
	if (vc->tags)
		json_object_set_new(e, "tags", json_string(vc->tags));
	for (unsigned i = 0; i < VM_MAX_SERIALS; i++)
		if (vc->serial[i]) {
			json_object_set_new(e, "serial", json_integer(1));
			break;
		}
	if (full) {
		/* PVE: qmpstatus is QEMU's run state; "stopped" when not running */
		const char *qs = !l.running ? "stopped" : l.qmp_ok ? l.qmpstatus : "running";
		json_object_set_new(e, "qmpstatus", json_string(qs));
		if (l.running && l.qmp_ok && l.balloon)
			json_object_set_new(e, "balloon", json_integer((json_int_t)l.balloon));
		if (vc->agent.present && vc->agent.enabled == 1)
			json_object_set_new(e, "agent", json_integer(1));
		bool kvm = vm_node_kvm(ctx->store, ctx->node) && vc->kvm != 0;
		/* Berth: which accelerator a start uses, so the UI and CLI can say "TCG" */
		json_object_set_new(e, "accel", json_string(kvm ? "kvm" : "tcg"));
	}
	return e;
}

/* The status entries of the VMs on this node the caller may audit. */
static json_t *
vm_entries(struct api_call *c, bool full)
{
	json_t *list = json_array();
	size_t n = 0;
	_cleanup_free_ unsigned *ids =
	        guest_list_ids(c->ctx->store, GUESTCONF_QEMU, c->ctx->node, &n);
	for (size_t i = 0; i < n; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/vms/%u", ids[i]);
		if (!api_has_privs(c, path, "VM.Audit", false))
			continue;
		_cleanup_(guestconf_freep) struct guestconf *gc = NULL;
		struct error err = { 0 };
		if (guest_conf_load(c->ctx->store, GUESTCONF_QEMU, c->ctx->node, ids[i], &gc, NULL,
		                    &err) < 0)
			continue;
		json_array_append_new(list, vm_status_json(c->ctx, NULL, ids[i], gc, full));
	}
	return list;
}

json_t *
qemu_resource_entries(struct api_call *c)
{
	json_t *list = vm_entries(c, false);
	size_t i;
	json_t *e;
	json_array_foreach (list, i, e) {
		char id[32];
		snprintf(id, sizeof(id), "qemu/%" JSON_INTEGER_FORMAT,
		         json_integer_value(json_object_get(e, "vmid")));
		json_object_set_new(e, "id", json_string(id));
		json_object_set_new(e, "node", json_string(c->ctx->node));
		json_object_set_new(e, "type", json_string("qemu"));
		json_object_set_new(e, "maxcpu", json_incref(json_object_get(e, "cpus")));
		json_object_del(e, "cpus");
		json_object_set_new(
		        e, "template",
		        json_integer(json_integer_value(json_object_get(e, "template"))));
	}
	return list;
}

/* ---- GET /nodes/{node}/qemu ---- */

static int
qemu_list(struct api_call *c)
{
	c->data = vm_entries(c, param_bool(c->params, "full", false));
	return 0;
}

/* ---- key privileges (PVE's check_vm_modify_config_perm) ---- */

struct key_priv {
	const char *key; /* a name, or a prefix ending in '*' */
	const char *priv;
};

static const struct key_priv key_privs[] = {
	{ "cores", "VM.Config.CPU" },
	{ "sockets", "VM.Config.CPU" },
	{ "cpu", "VM.Config.CPU" },
	{ "cpulimit", "VM.Config.CPU" },
	{ "cpuunits", "VM.Config.CPU" },
	{ "vcpus", "VM.Config.CPU" },
	{ "numa", "VM.Config.CPU" },
	{ "affinity", "VM.Config.CPU" },
	{ "memory", "VM.Config.Memory" },
	{ "balloon", "VM.Config.Memory" },
	{ "shares", "VM.Config.Memory" },
	{ "net*", "VM.Config.Network" },
	{ "unused*", "VM.Config.Disk" },
	{ "efidisk*", "VM.Config.Disk" },
	{ "vga", "VM.Config.HWType" },
	{ "tablet", "VM.Config.HWType" },
	{ "machine", "VM.Config.HWType" },
	{ "bios", "VM.Config.HWType" },
	{ "smbios1", "VM.Config.HWType" },
	{ "vmgenid", "VM.Config.HWType" },
	{ "acpi", "VM.Config.HWType" },
	{ "kvm", "VM.Config.HWType" },
	{ "scsihw", "VM.Config.HWType" },
	{ "serial*", "VM.Config.HWType" },
	{ "agent", "VM.Config.Options" },
	{ "localtime", "VM.Config.HWType" },
	{ "ciuser", "VM.Config.Cloudinit" },
	{ "cipassword", "VM.Config.Cloudinit" },
	{ "sshkeys", "VM.Config.Cloudinit" },
	{ "ipconfig*", "VM.Config.Cloudinit" },
	{ "nameserver", "VM.Config.Network" },
	{ "searchdomain", "VM.Config.Network" },
};

/* Keys only root@pam may set: they reach the host (PVE: args, hookscript, lock, ...). */
static const char *const root_keys[] = { "args", "hookscript", "lock", "hostpci0", NULL };

static const char *
key_priv(const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(key_privs); i++) {
		const char *k = key_privs[i].key;
		size_t n = strlen(k);
		if (k[n - 1] == '*' ? strncmp(key, k, n - 1) == 0 : streq(key, k))
			return key_privs[i].priv;
	}
	if (vm_is_disk_key(key, NULL, NULL))
		return "VM.Config.Disk";
	return "VM.Config.Options";
}

/* Does the disk value use a host path or a host device (root's)? */
static bool
disk_uses_host(const struct vm_disk *d)
{
	return d->kind == VM_FILE_PATH || d->kind == VM_FILE_CDROM;
}

static int
check_key_privs(struct api_call *c, unsigned vmid, const char *key, const char *value)
{
	char vpath[32];
	snprintf(vpath, sizeof(vpath), "/vms/%u", vmid);
	if (strv_contains(root_keys, key))
		return api_is_root(c)
		               ? 0
		               : api_fail(c, 403, "Permission check failed (%s: root only)", key);
	/* serial ports on host devices are root's (PVE: only 'socket' for others) */
	if (startswith(key, "serial") && value && !streq(value, "socket") && !api_is_root(c))
		return api_fail(c, 403,
		                "Permission check failed (only root can set '%s' config for "
		                "real devices)",
		                key);
	const char *priv = key_priv(key);
	if (vm_is_disk_key(key, NULL, NULL) && value) {
		struct vm_disk d = { 0 };
		struct error e = { 0 };
		bool host = vm_disk_parse(key, value, &d, &e) >= 0 && disk_uses_host(&d);
		bool cdrom = vm_disk_is_cdrom(&d);
		vm_disk_done(&d);
		if (host && !api_is_root(c))
			return api_fail(c, 403,
			                "Permission check failed (only root can pass arbitrary "
			                "filesystem paths)");
		if (cdrom)
			priv = "VM.Config.CDROM";
	}
	return api_check_privs(c, vpath, priv, false);
}

/* import-from=: the disk must be a new volume ("<storage>:0"); the source a disk image
 * volume the caller may use, or (root only) an absolute path to a regular file. What the
 * image holds is checked by the task (qemu-img info, no backing or data files). */
static int
check_import_source(struct api_call *c, const char *key, const struct vm_disk *d,
                    const char *def_storage, const struct storage_config *scfg)
{
	_cleanup_free_ char *sid = NULL;
	double gib = 0;
	if (d->kind != VM_FILE_VOLUME || !storage_alloc_request(d->file, def_storage, &sid, &gib) ||
	    vm_disk_is_cdrom(d))
		return api_param_error(c, key,
		                       "'import-from' requires special volume ID - use "
		                       "<storage ID>:0,import-from=<source>");
	const char *src = d->import_from;
	if (src[0] == '/') {
		if (!api_is_root(c))
			return api_fail(c, 403,
			                "Permission check failed (only root can pass arbitrary "
			                "filesystem paths)");
		struct stat st;
		if (stat(src, &st) < 0 || !S_ISREG(st.st_mode))
			return api_param_error(c, key, "import source '%s' is not a regular file",
			                       src);
		return 0;
	}
	const struct storage *s = NULL;
	struct volname v;
	struct error e = { 0 };
	if (storage_resolve(scfg, src, &s, &v, &e) < 0)
		return api_param_error(c, key, "%s", e.msg);
	if (v.content != CONTENT_IMAGES)
		return api_param_error(c, key, "import source '%s' is not a disk image", src);
	int r = api_check_volume_access(c, s->id, &v);
	_cleanup_free_ char *path = NULL;
	if (r >= 0 && (storage_path(scfg, src, &path, &e) < 0 || access(path, R_OK) < 0))
		r = api_param_error(c, key, "import source '%s' does not exist", src);
	return r;
}

/* A disk value from the API: allocations need space on their storage, volumes access, paths
 * are root's (checked with the key). Allocation requests ("local:4", "4") are left for the
 * task; *ret_alloc says so. */
static int
check_disk_param(struct api_call *c, const char *key, const char *value, const char *def_storage,
                 const struct storage_config *scfg, bool *ret_alloc)
{
	struct vm_disk d = { 0 };
	if (vm_disk_parse(key, value, &d, &c->err) < 0)
		return api_param_error(c, key, "%s", c->err.msg);
	int r = 0;
	_cleanup_free_ char *sid = NULL;
	double gib = 0;
	*ret_alloc = false;
	if (d.import_from && (r = check_import_source(c, key, &d, def_storage, scfg)) < 0) {
		vm_disk_done(&d);
		return r;
	}
	if (d.kind == VM_FILE_VOLUME && storage_alloc_request(d.file, def_storage, &sid, &gib)) {
		*ret_alloc = true;
		const struct storage *s = storage_config_find(scfg, sid);
		_cleanup_free_ char *spath = xasprintf("/storage/%s", sid);
		if (!s)
			r = api_param_error(c, key, "storage '%s' does not exist", sid);
		else if (!(s->content & CONTENT_IMAGES))
			r = api_param_error(c, key, "storage '%s' does not support vm images", sid);
		else if (vm_disk_is_cdrom(&d))
			r = api_param_error(c, key, "unable to allocate a CD-ROM");
		else
			r = api_check_privs(c, spath, "Datastore.AllocateSpace", false);
	} else if (d.kind == VM_FILE_VOLUME) {
		const struct storage *s = NULL;
		struct volname v;
		struct error e = { 0 };
		if (storage_resolve(scfg, d.file, &s, &v, &e) < 0)
			r = api_param_error(c, key, "%s", e.msg);
		else if (v.content != CONTENT_IMAGES && v.content != CONTENT_ISO)
			r = api_param_error(c, key, "volume '%s' is not a disk image or ISO",
			                    d.file);
		else if (v.content == CONTENT_ISO && !vm_disk_is_cdrom(&d))
			r = api_param_error(c, key, "ISO '%s' needs media=cdrom", d.file);
		else
			r = api_check_volume_access(c, s->id, &v);
		if (r >= 0) {
			_cleanup_free_ char *path = NULL;
			if (storage_path(scfg, d.file, &path, &e) < 0 || access(path, R_OK) < 0)
				r = api_param_error(c, key, "volume '%s' does not exist", d.file);
		}
	}
	vm_disk_done(&d);
	return r;
}

/* netN in canonical form with a MAC; NULL after answering. */
static char *
canonical_net(struct api_call *c, const char *key, const char *value, const char *keep_from)
{
	char *text = vm_net_canonical(key, value, keep_from, &c->err);
	if (!text)
		api_param_error(c, key, "%s", c->err.msg);
	return text;
}

/* ---- POST /nodes/{node}/qemu ---- */

static const char *const create_only[] = { "node",    "vmid",         "archive",    "storage",
	                                   "force",   "start",        "pool",       "unique",
	                                   "bwlimit", "live-restore", "ha-managed", NULL };

static int
qemu_create(struct api_call *c)
{
	struct api_ctx *ctx = c->ctx;
	unsigned vmid = vmid_param(c);
	const char *storage = param_str(c->params, "storage");

	if (param_str(c->params, "archive"))
		return api_fail(c, 501, "restore is not supported yet");
	if (param_has(c->params, "force"))
		return api_param_error(c, "force", "parameter 'force' requires 'archive'");
	if (param_bool(c->params, "ha-managed", false))
		return api_fail(c, 501, "HA is not supported yet");
	if (param_bool(c->params, "live-restore", false))
		return api_param_error(c, "live-restore",
		                       "parameter 'live-restore' requires 'archive'");

	_cleanup_free_ char *conf_path = vm_conf_path(ctx->node, vmid);
	_cleanup_free_ char *ct_path = ct_conf_path(ctx->node, vmid);
	if (store_read(ctx->store, conf_path, NULL) == 0)
		return api_fail(c, 500,
		                "unable to create VM %u - VM %u already exists on node '%s'", vmid,
		                vmid, ctx->node);
	if (store_read(ctx->store, ct_path, NULL) == 0)
		return api_fail(c, 500,
		                "unable to create VM %u - CT %u already exists on node '%s'", vmid,
		                vmid, ctx->node);

	const char *pool = param_str(c->params, "pool");
	if (pool && !usercfg_find_pool(authcache_usercfg(ctx->auth), pool))
		return api_fail(c, 403, "Permission check failed (pool '%s' does not exist)", pool);

	struct error e = { 0 };
	struct storage_config *scfg = api_storage_config(ctx, &e);
	if (!scfg)
		return api_fail(c, 500, "%s", e.msg);
	if (storage && !storage_config_find(scfg, storage)) {
		storage_config_free(scfg);
		return api_param_error(c, "storage", "storage '%s' does not exist", storage);
	}

	_cleanup_(guestconf_freep) struct guestconf *gc = guestconf_new(GUESTCONF_QEMU);
	int r = 0;
	const char *key;
	json_t *v;
	json_object_foreach (c->params, key, v) {
		if (strv_contains(create_only, key))
			continue;
		/* a new VM must not adopt a volume it would free on destroy */
		if (startswith(key, "unused")) {
			log_info("VM %u: ignoring '%s', cannot create with unused volume", vmid,
			         key);
			continue;
		}
		_cleanup_free_ char *text = schema_scalar_text(v);
		if (!text)
			continue;
		if ((r = check_key_privs(c, vmid, key, text)) < 0)
			break;
		if (vm_is_disk_key(key, NULL, NULL)) {
			bool alloc;
			if ((r = check_disk_param(c, key, text, storage ? storage : "local", scfg,
			                          &alloc)) < 0)
				break;
		}
		if (vm_is_net_key(key, NULL)) {
			char *canon = canonical_net(c, key, text, NULL);
			if (!canon) {
				r = -EINVAL;
				break;
			}
			free(text);
			text = canon;
		}
		if (streq(key, "description"))
			r = guestconf_set_description(&gc->main, text);
		else
			r = guestconf_set(&gc->main, key, text);
		if (r < 0) {
			r = api_param_error(c, key, "invalid value");
			break;
		}
	}
	storage_config_free(scfg);
	if (r < 0)
		return r;

	/* the whole config must load (boot order naming missing devices, bad combinations);
	 * allocation requests are checked as such above, so parse with them as they are */
	{
		_cleanup_(vm_config_freep) struct vm_config *vc = NULL;
		if (vm_conf_typed(gc, vmid, &vc, &c->err) < 0) {
			c->err.status = 400;
			return -EINVAL;
		}
	}
	guestconf_set(&gc->main, "lock", "create");

	/* The config exists, locked, before the task starts (PVE's create_and_lock_config). */
	struct store_lock *lk = NULL;
	if (guest_lock(ctx->store, GUESTCONF_QEMU, ctx->node, vmid, 5000, &lk, &c->err) < 0)
		return -ETIMEDOUT;
	r = guest_conf_save(ctx->store, ctx->node, vmid, gc, "", &c->err);
	store_unlock(lk);
	if (r == -EEXIST || (r < 0 && c->err.code == EEXIST))
		return api_fail(c, 500,
		                "unable to create VM %u - VM %u already exists on node '%s'", vmid,
		                vmid, ctx->node);
	if (r < 0)
		return r;

	json_t *tp = json_deep_copy(c->params);
	if (storage)
		json_object_set_new(tp, "storage", json_string(storage));
	char id[16];
	snprintf(id, sizeof(id), "%u", vmid);
	r = api_start_task(c, "qmcreate", id, tp, NULL, 0);
	if (r < 0)
		store_delete(ctx->store, conf_path, NULL); /* no task: take the placeholder back */
	return r;
}

/* ---- GET /nodes/{node}/qemu/{vmid} ---- */

static int
qemu_vm_index(struct api_call *c)
{
	_cleanup_(guestconf_freep) struct guestconf *gc = load_vm(c, NULL);
	if (!gc)
		return -ENOENT;
	static const char *const names[] = { "config",   "pending",   "status",
		                             "vncproxy", "termproxy", NULL };
	c->data = index_list(names);
	return 0;
}

/* ---- config ---- */

static int
qemu_config_get(struct api_call *c)
{
	char digest[STORE_DIGEST_LEN + 1];
	_cleanup_(guestconf_freep) struct guestconf *gc = load_vm(c, digest);
	if (!gc)
		return -ENOENT;
	json_t *o = guest_config_json(gc, param_str(c->params, "snapshot"),
	                              param_bool(c->params, "current", false), vm_key_schema, false,
	                              &c->err);
	if (!o)
		return -ENOENT;
	if (json_object_get(o, "cipassword"))
		json_object_set_new(o, "cipassword", json_string("**********"));
	json_object_set_new(o, "digest", json_string(digest));
	c->data = o;
	return 0;
}

/* GET .../pending: every key with its current value, pending value and deletion mark. */
static int
qemu_pending_get(struct api_call *c)
{
	_cleanup_(guestconf_freep) struct guestconf *gc = load_vm(c, NULL);
	if (!gc)
		return -ENOENT;
	json_t *out = guest_pending_json(gc, vm_key_schema, false);
	size_t i;
	json_t *e;
	json_array_foreach (out, i, e) {
		if (!streq(json_string_value(json_object_get(e, "key")), "cipassword"))
			continue;
		/* never shown, as in GET config */
		if (json_object_get(e, "value"))
			json_object_set_new(e, "value", json_string("**********"));
		if (json_object_get(e, "pending"))
			json_object_set_new(e, "pending", json_string("**********"));
	}
	c->data = out;
	return 0;
}

static void
log_update_warning(const char *line, void *userdata)
{
	(void)userdata;
	log_info("%s", line);
}

/* PUT config frees what it deletes with force (and deleted unusedN) at once, as PVE. */
static int
free_volume(const char *volid, void *userdata, struct error *err)
{
	struct api_call *c = userdata;
	struct storage_config *scfg = api_storage_config(c->ctx, err);
	if (!scfg)
		return -EIO;
	int r = storage_free(scfg, volid, err);
	storage_config_free(scfg);
	return r;
}

/* Check an update (privileges, disk values) and apply it to gc (vm_update_apply). The checks
 * come first: a rejected request changes nothing. Disk values that request a new volume are
 * refused unless allow_alloc (POST config checks them here; its task allocates). */
static int
apply_update(struct api_call *c, unsigned vmid, struct guestconf *gc, bool running,
             bool allow_alloc, json_t *sets, char **del, char **rev)
{
	int r = 0;
	struct error e = { 0 };
	struct storage_config *scfg = api_storage_config(c->ctx, &e);
	if (!scfg)
		return api_fail(c, 500, "%s", e.msg);
	const char *key;
	json_t *v;
	json_object_foreach (sets, key, v) {
		const char *text = json_string_value(v);
		if ((r = check_key_privs(c, vmid, key, text)) < 0)
			break;
		if (strv_contains(internal_keys, key)) {
			r = api_param_error(c, key, "property is not defined in schema");
			break;
		}
		if (vm_is_disk_key(key, NULL, NULL)) {
			bool alloc = false;
			if ((r = check_disk_param(c, key, text, "local", scfg, &alloc)) < 0)
				break;
			if (alloc && !allow_alloc) {
				r = api_fail(
				        c, 501,
				        "%s: allocating a new disk is done by POST config (a task)",
				        key);
				break;
			}
		}
	}
	storage_config_free(scfg);
	for (char **d = del; r >= 0 && d && *d; d++) {
		if (!vm_key_schema(*d))
			r = api_param_error(c, "delete", "invalid configuration ID '%s'", *d);
		else
			r = check_key_privs(c, vmid, *d, NULL);
	}
	if (r < 0)
		return r;

	r = vm_update_apply(gc, vmid, running, sets, del, rev,
	                    param_bool(c->params, "force", false), NULL,
	                    allow_alloc ? NULL : free_volume, log_update_warning, c, &c->err);
	if (r < 0 && !c->err.status)
		c->err.status = 400;
	return r;
}

/* The parameters of a config update: what is set (as text), deleted, reverted. */
static int
update_req_parse(struct api_call *c, const struct api_schema *own, struct guest_update *u)
{
	int r = api_update_parse(c, own, true, u);
	if (r >= 0 && param_bool(c->params, "skiplock", false) && !api_is_root(c))
		r = api_fail(c, 403, "Only root may use this option.");
	return r;
}

/* The hot-plug half of PUT config for a running VM: QMP and the guest's answers take time,
 * so it runs on the thread pool on a copy of the saved config; the loop then saves the copy
 * unless the config changed meanwhile. */
struct hotplug_job {
	unsigned vmid;
	struct guestconf *gc;
	char digest[STORE_DIGEST_LEN + 1]; /* of the config the copy was taken from */
	struct storage_config *scfg;
	struct vm_env env;
	json_t *errors;
	int applied;
	struct error err;
};

static void
hotplug_job_free(struct hotplug_job *j)
{
	json_decref(j->errors);
	guestconf_free(j->gc);
	vm_env_done(&j->env);
	storage_config_free(j->scfg);
	free(j);
}

static int
hotplug_free_volume(const char *volid, void *userdata, struct error *err)
{
	struct hotplug_job *j = userdata;
	return storage_free(j->scfg, volid, err);
}

static int
hotplug_work(struct api_call *c, void *arg)
{
	(void)c;
	struct hotplug_job *j = arg;
	j->applied = vm_hotplug_pending(&j->env.h, j->gc, j->vmid, hotplug_free_volume,
	                                log_update_warning, j, &j->errors, &j->err);
	return 0;
}

static int
hotplug_after(struct api_call *c, void *arg, int r)
{
	struct api_ctx *ctx = c->ctx;
	struct hotplug_job *j = arg;
	if (j->applied > 0) {
		struct store_lock *lk = NULL;
		char digest[STORE_DIGEST_LEN + 1];
		struct guestconf *now = NULL;
		struct error e = { 0 };
		if (guest_lock(ctx->store, GUESTCONF_QEMU, ctx->node, j->vmid, 10000, &lk, &e) >=
		            0 &&
		    guest_conf_load(ctx->store, GUESTCONF_QEMU, ctx->node, j->vmid, &now, digest,
		                    &e) >= 0 &&
		    streq(digest, j->digest))
			(void)guest_conf_save(ctx->store, ctx->node, j->vmid, j->gc, digest, &e);
		else
			log_warn("VM %u: config changed during hot-plug; the live changes stay "
			         "pending until its next start%s%s",
			         j->vmid, e.msg[0] ? ": " : "", e.msg);
		guestconf_free(now);
		if (lk)
			store_unlock(lk);
	}
	if (r >= 0 && j->applied < 0)
		r = api_fail(c, 500, "%s", j->err.msg);
	else if (r >= 0 && j->errors) {
		const char *key;
		json_t *v;
		json_object_foreach (j->errors, key, v)
			api_param_error(c, key, "%s", json_string_value(v));
		r = -EINVAL;
	}
	if (r >= 0)
		c->data = json_null();
	hotplug_job_free(j);
	return r;
}

/* After PUT saved pending changes of a running VM: hot-plug them (API_DEFERRED), or 0 when
 * there is nothing to try. */
static int
start_hotplug(struct api_call *c, unsigned vmid)
{
	struct api_ctx *ctx = c->ctx;
	struct hotplug_job *j = xcalloc(1, sizeof(*j));
	j->vmid = vmid;
	struct guestconf *now = NULL;
	if (guest_conf_load(ctx->store, GUESTCONF_QEMU, ctx->node, vmid, &now, j->digest, &c->err) <
	            0 ||
	    !(j->scfg = api_storage_config(ctx, &c->err))) {
		guestconf_free(now);
		free(j);
		return -EIO;
	}
	j->gc = now;
	vm_env_init(&j->env, ctx->root_dir, j->scfg, vm_node_kvm(ctx->store, ctx->node));
	int r = api_call_blocking_then(c, hotplug_work, hotplug_after, j);
	if (r != API_DEFERRED)
		hotplug_job_free(j);
	return r;
}

/* Does this disk value ask for a new volume ("local:4", "4", "local:0,import-from=...")? */
static bool
disk_value_allocates(const char *key, const char *value)
{
	struct vm_disk d = { 0 };
	struct error e = { 0 };
	_cleanup_free_ char *sid = NULL;
	double gib = 0;
	bool alloc = vm_disk_parse(key, value, &d, &e) >= 0 && d.kind == VM_FILE_VOLUME &&
	             storage_alloc_request(d.file, "local", &sid, &gib);
	vm_disk_done(&d);
	return alloc;
}

static bool
update_allocates(const struct guest_update *u)
{
	const char *key;
	json_t *v;
	json_object_foreach (u->sets, key, v)
		if (vm_is_disk_key(key, NULL, NULL) &&
		    disk_value_allocates(key, json_string_value(v)))
			return true;
	return false;
}

/* The qmconfig task for an update (POST config, and PUT when it allocates disks), its UPID
 * in c->data. The digest, the lock and the whole update are checked here on a copy first,
 * as PVE does before forking: a bad request fails here, not in the task. */
static int
config_task_start(struct api_call *c, const struct api_schema *own)
{
	unsigned vmid = vmid_param(c);
	char digest[STORE_DIGEST_LEN + 1];
	struct guest_update u;
	_cleanup_(guestconf_freep) struct guestconf *gc = NULL;
	int r = update_req_parse(c, own, &u);
	if (r >= 0 && !(gc = load_vm(c, digest)))
		r = -ENOENT;
	if (r >= 0)
		r = api_digest_check(c, digest);
	if (r >= 0 && !param_bool(c->params, "skiplock", false))
		r = guest_check_lock(gc, &c->err);
	if (r >= 0)
		r = apply_update(c, vmid, gc, running_pid(c, vmid) > 0, true, u.sets, u.del, u.rev);
	guest_update_done(&u);
	if (r < 0)
		return r;
	char id[16];
	snprintf(id, sizeof(id), "%u", vmid);
	json_t *tp = json_deep_copy(c->params);
	json_object_set_new(tp, "api-user", json_string(c->who.user));
	return api_start_task(c, "qmconfig", id, tp, NULL, 0);
}

/* POST with background_delay: null when the task ended well within it, PVE's "failed to
 * update VM" when it failed, else the UPID as without the delay */
static int
config_post_after(struct api_call *c, const struct task_info *t)
{
	if (!t)
		return 0;
	if (api_task_failed(t))
		return api_fail(c, 500, "failed to update VM %u: %s", vmid_param(c), t->status);
	json_decref(c->data);
	c->data = json_null();
	return 0;
}

/* PUT config: synchronous, null; for a running VM the pending changes it can take are
 * hot-plugged before the answer (as PVE), failures answered as 400 "hotplug problem". An
 * update that allocates a disk runs as a qmconfig task, answered when it ended. */
static int
qemu_config_put(struct api_call *c)
{
	struct api_ctx *ctx = c->ctx;
	unsigned vmid = vmid_param(c);
	struct guest_update u;
	int r = update_req_parse(c, update_own, &u);
	if (r < 0) {
		guest_update_done(&u);
		return r;
	}
	/* a new disk is a volume to allocate (and maybe import): the work of a qmconfig task,
	 * waited for here, since PUT answers when the change is done (as PVE's synchronous
	 * update) */
	if (update_allocates(&u)) {
		guest_update_done(&u);
		r = config_task_start(c, update_own);
		return r < 0 ? r : api_call_wait_task(c, 0, api_null_after_task);
	}
	struct store_lock *lk = NULL;
	if (guest_lock(ctx->store, GUESTCONF_QEMU, ctx->node, vmid, 10000, &lk, &c->err) < 0) {
		guest_update_done(&u);
		return -ETIMEDOUT;
	}
	char digest[STORE_DIGEST_LEN + 1];
	struct guestconf *gc = NULL;
	bool running = running_pid(c, vmid) > 0;
	r = guest_conf_load(ctx->store, GUESTCONF_QEMU, ctx->node, vmid, &gc, digest, &c->err);
	if (r >= 0)
		r = api_digest_check(c, digest);
	if (r >= 0 && !param_bool(c->params, "skiplock", false))
		r = guest_check_lock(gc, &c->err);
	if (r >= 0)
		r = apply_update(c, vmid, gc, running, false, u.sets, u.del, u.rev);
	if (r >= 0)
		r = guest_conf_save(ctx->store, ctx->node, vmid, gc, digest, &c->err);
	if (r >= 0 && running && gc->pending)
		r = start_hotplug(c, vmid);
	guestconf_free(gc);
	store_unlock(lk);
	guest_update_done(&u);
	if (r < 0 || r == API_DEFERRED)
		return r;
	c->data = json_null();
	return 0;
}

/* POST config: the same as a task (qmconfig), which may also allocate new disks. */
static int
qemu_config_post(struct api_call *c)
{
	int r = config_task_start(c, update_async_own);
	if (r < 0)
		return r;
	int64_t delay = param_int(c->params, "background_delay", 0);
	return delay > 0 ? api_call_wait_task(c, (unsigned)delay * 1000, config_post_after) : 0;
}

/* ---- status ---- */

static int
qemu_status_index(struct api_call *c)
{
	_cleanup_(guestconf_freep) struct guestconf *gc = load_vm(c, NULL);
	if (!gc)
		return -ENOENT;
	static const char *const names[] = { "current", "start",   "stop",   "shutdown", "reboot",
		                             "reset",   "suspend", "resume", NULL };
	c->data = index_list(names);
	return 0;
}

static int
qemu_status_current(struct api_call *c)
{
	_cleanup_(guestconf_freep) struct guestconf *gc = load_vm(c, NULL);
	if (!gc)
		return -ENOENT;
	json_t *e = vm_status_json(c->ctx, NULL, vmid_param(c), gc, true);
	json_object_set_new(e, "ha", json_pack("{s:i}", "managed", 0));
	c->data = e;
	return 0;
}

/* The power actions: what PVE checks synchronously before forking the worker. */
enum power_state { ANY, RUNNING, STOPPED };

struct power_action {
	const char *name, *task;
	enum power_state needs;
};

static const struct power_action power_actions[] = {
	/* start of a running VM fails inside the task (PVE), shutdown of a stopped one is OK */
	{ "start", "qmstart", ANY },       { "stop", "qmstop", ANY },
	{ "shutdown", "qmshutdown", ANY }, { "reboot", "qmreboot", RUNNING },
	{ "reset", "qmreset", RUNNING },   { "suspend", "qmpause", RUNNING },
	{ "resume", "qmresume", RUNNING },
};

static int
power(struct api_call *c, const char *action)
{
	const struct power_action *a = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(power_actions); i++)
		if (streq(power_actions[i].name, action))
			a = &power_actions[i];
	unsigned vmid = vmid_param(c);
	_cleanup_(guestconf_freep) struct guestconf *gc = load_vm(c, NULL);
	if (!gc)
		return -ENOENT;
	bool running = running_pid(c, vmid) > 0;
	if (a->needs == RUNNING && !running)
		return api_fail(c, 500, "VM %u not running", vmid);
	bool skiplock = param_bool(c->params, "skiplock", false);
	if (skiplock && !api_is_root(c))
		return api_fail(c, 403, "Only root may use this option.");
	const char *lock = guestconf_get(&gc->main, "lock");
	if (lock && !skiplock && !streq(action, "stop"))
		return api_fail(c, 500, "VM is locked (%s)", lock);
	if (streq(action, "suspend") && param_bool(c->params, "todisk", false))
		return api_fail(c, 501, "suspend to disk is not supported yet");
	if (streq(action, "start")) {
		const char *tmpl = guestconf_get(&gc->main, "template");
		if (tmpl && streq(tmpl, "1"))
			return api_fail(c, 500, "you can't start a vm if it's a template");
	}
	if (streq(action, "shutdown") && running && !param_bool(c->params, "forceStop", false)) {
		_cleanup_(vm_config_freep) struct vm_config *vc = NULL;
		struct vm_live l = { 0 };
		struct error e = { 0 };
		if (vm_conf_typed(gc, vmid, &vc, &e) >= 0)
			vm_live(&daemon_env(c->ctx)->h, vc, true, &l);
		if (l.qmp_ok && streq(l.qmpstatus, "paused"))
			return api_fail(c, 500, "VM is paused - cannot shutdown");
	}
	char id[16];
	snprintf(id, sizeof(id), "%u", vmid);
	return api_start_task(c, a->task, id, json_deep_copy(c->params), NULL, 0);
}

#define POWER_HANDLER(n)                                                                           \
	static int qemu_##n(struct api_call *c)                                                    \
	{                                                                                          \
		return power(c, #n);                                                               \
	}
POWER_HANDLER(start)
POWER_HANDLER(stop)
POWER_HANDLER(shutdown)
POWER_HANDLER(reboot)
POWER_HANDLER(reset)
POWER_HANDLER(suspend)
POWER_HANDLER(resume)

/* ---- DELETE /nodes/{node}/qemu/{vmid} ---- */

static int
qemu_destroy(struct api_call *c)
{
	unsigned vmid = vmid_param(c);
	_cleanup_(guestconf_freep) struct guestconf *gc = load_vm(c, NULL);
	if (!gc)
		return -ENOENT;
	bool skiplock = param_bool(c->params, "skiplock", false);
	if (skiplock && !api_is_root(c))
		return api_fail(c, 403, "Only root may use this option.");
	if (!skiplock && guest_check_lock(gc, &c->err) < 0)
		return -EBUSY;
	const char *prot = guestconf_get(&gc->main, "protection");
	if (prot && streq(prot, "1"))
		return api_fail(c, 500, "can't remove VM %u - protection mode enabled", vmid);
	if (running_pid(c, vmid) > 0)
		return api_fail(c, 500, "VM %u is running - destroy failed", vmid);
	char id[16];
	snprintf(id, sizeof(id), "%u", vmid);
	return api_start_task(c, "qmdestroy", id, json_deep_copy(c->params), NULL, 0);
}

/* ---- routes ---- */

static const struct api_schema node_vmid[] = { PARAM_NODE, PARAM_VMID, PARAM_END };

static const struct api_schema list_params[] = {
	PARAM_NODE,
	{ .name = "full",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "Determine the full status of active VMs." },
	PARAM_END,
};

static const struct api_schema config_get_params[] = {
	PARAM_NODE,
	PARAM_VMID,
	{ .name = "current",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "Get current values (instead of pending values)." },
	{ .name = "snapshot",
	  .type = API_T_STRING,
	  .format = "pve-configid",
	  .optional = true,
	  .max_length = 40,
	  .description = "Fetch config values from given snapshot." },
	PARAM_END,
};

#define SKIPLOCK                                                                                   \
	{                                                                                          \
		.name = "skiplock", .type = API_T_BOOLEAN, .optional = true,                       \
		.description = "Ignore locks - only root is allowed to use this option."           \
	}
#define TIMEOUT(desc)                                                                              \
	{                                                                                          \
		.name = "timeout", .type = API_T_INTEGER, .optional = true, .minimum = 0,          \
		.flags = API_F_HAS_MIN, .description = desc                                        \
	}

static const struct api_schema start_params[] = {
	PARAM_NODE, PARAM_VMID, SKIPLOCK, TIMEOUT("Wait maximal timeout seconds."), PARAM_END,
};

static const struct api_schema stop_params[] = {
	PARAM_NODE,
	PARAM_VMID,
	SKIPLOCK,
	TIMEOUT("Wait maximal timeout seconds."),
	{ .name = "keepActive",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "Do not deactivate storage volumes." },
	{ .name = "overrule-shutdown",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "Try to abort active 'qmshutdown' tasks before stopping." },
	PARAM_END,
};

static const struct api_schema shutdown_params[] = {
	PARAM_NODE,
	PARAM_VMID,
	SKIPLOCK,
	TIMEOUT("Wait maximal timeout seconds."),
	{ .name = "forceStop",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .default_text = "0",
	  .description = "Make sure the VM stops." },
	{ .name = "keepActive",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "Do not deactivate storage volumes." },
	PARAM_END,
};

static const struct api_schema reboot_params[] = {
	PARAM_NODE,
	PARAM_VMID,
	TIMEOUT("Wait maximal timeout seconds for the shutdown."),
	PARAM_END,
};

static const struct api_schema skiplock_params[] = { PARAM_NODE, PARAM_VMID, SKIPLOCK, PARAM_END };

static const struct api_schema suspend_params[] = {
	PARAM_NODE,
	PARAM_VMID,
	SKIPLOCK,
	{ .name = "todisk",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "If set, suspends the VM to disk (not supported yet)." },
	PARAM_END,
};

static const struct api_schema resume_params[] = {
	PARAM_NODE,
	PARAM_VMID,
	SKIPLOCK,
	{ .name = "nocheck", .type = API_T_BOOLEAN, .optional = true, .description = "" },
	PARAM_END,
};

static const struct api_schema destroy_params[] = {
	PARAM_NODE,
	PARAM_VMID,
	SKIPLOCK,
	{ .name = "purge",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "Remove VMID from configurations, like backup & replication jobs and "
	                 "HA." },
	{ .name = "destroy-unreferenced-disks",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "If set, destroy additionally all disks not referenced in the config "
	                 "but with a matching VMID from all enabled storages." },
	PARAM_END,
};

#define VMS_PERM(p)                                                                                \
	{                                                                                          \
		.kind = PERM_PRIVS, .path = "/vms/{vmid}", .privs = p                              \
	}
#define CONFIG_PERM                                                                                \
	{                                                                                          \
		.kind = PERM_PRIVS, .path = "/vms/{vmid}",                                         \
		.privs = "VM.Config.Disk,VM.Config.CDROM,VM.Config.CPU,VM.Config.Memory,"          \
		         "VM.Config.Network,VM.Config.HWType,VM.Config.Options,"                   \
		         "VM.Config.Cloudinit",                                                    \
		.any = true,                                                                       \
		.description = "Each key needs its VM.Config.* privilege; args, host paths and "   \
		               "host serial devices are root's."                                   \
	}

const struct api_route api_routes_qemu[] = {
	{ .method = API_GET,
	  .path = "/nodes/{node}/qemu",
	  .params = list_params,
	  .perm = { .kind = PERM_ANY_USER,
	            .description = "Only list VMs where you have VM.Audit permissons on "
	                           "/vms/<vmid>." },
	  .handler = qemu_list,
	  .description = "Virtual machine index (per node)." },
	{ .method = API_POST,
	  .path = "/nodes/{node}/qemu",
	  .params = create_params,
	  .perm = { .kind = PERM_PRIVS,
	            .path = "/vms/{vmid}",
	            .privs = "VM.Allocate",
	            .description = "You need 'VM.Allocate' permissions on /vms/{vmid}. For "
	                           "volumes, 'Datastore.AllocateSpace' on the storage." },
	  .flags = API_TASK,
	  .handler = qemu_create,
	  .description = "Create or restore a virtual machine." },
	{ .method = API_GET,
	  .path = "/nodes/{node}/qemu/{vmid}",
	  .params = node_vmid,
	  .perm = { .kind = PERM_ANY_USER },
	  .handler = qemu_vm_index,
	  .description = "Directory index" },
	{ .method = API_DELETE,
	  .path = "/nodes/{node}/qemu/{vmid}",
	  .params = destroy_params,
	  .perm = VMS_PERM("VM.Allocate"),
	  .flags = API_TASK,
	  .handler = qemu_destroy,
	  .description = "Destroy the VM and all used/owned volumes." },
	{ .method = API_GET,
	  .path = "/nodes/{node}/qemu/{vmid}/config",
	  .params = config_get_params,
	  .perm = VMS_PERM("VM.Audit"),
	  .handler = qemu_config_get,
	  .description = "Get the virtual machine configuration with pending configuration "
	                 "changes applied." },
	{ .method = API_POST,
	  .path = "/nodes/{node}/qemu/{vmid}/config",
	  .params = update_async_params,
	  .perm = CONFIG_PERM,
	  .flags = API_TASK,
	  .handler = qemu_config_post,
	  .description = "Set virtual machine options (asynchronous API)." },
	{ .method = API_PUT,
	  .path = "/nodes/{node}/qemu/{vmid}/config",
	  .params = update_params,
	  .perm = CONFIG_PERM,
	  .handler = qemu_config_put,
	  .description = "Set virtual machine options (synchronous API)." },
	{ .method = API_GET,
	  .path = "/nodes/{node}/qemu/{vmid}/pending",
	  .params = node_vmid,
	  .perm = VMS_PERM("VM.Audit"),
	  .handler = qemu_pending_get,
	  .description = "Get the virtual machine configuration with both current and pending "
	                 "values." },
	{ .method = API_GET,
	  .path = "/nodes/{node}/qemu/{vmid}/status",
	  .params = node_vmid,
	  .perm = VMS_PERM("VM.Audit"),
	  .handler = qemu_status_index,
	  .description = "Directory index" },
	{ .method = API_GET,
	  .path = "/nodes/{node}/qemu/{vmid}/status/current",
	  .params = node_vmid,
	  .perm = VMS_PERM("VM.Audit"),
	  .handler = qemu_status_current,
	  .description = "Get virtual machine status." },
	{ .method = API_POST,
	  .path = "/nodes/{node}/qemu/{vmid}/status/start",
	  .params = start_params,
	  .perm = VMS_PERM("VM.PowerMgmt"),
	  .flags = API_TASK,
	  .handler = qemu_start,
	  .description = "Start virtual machine." },
	{ .method = API_POST,
	  .path = "/nodes/{node}/qemu/{vmid}/status/stop",
	  .params = stop_params,
	  .perm = VMS_PERM("VM.PowerMgmt"),
	  .flags = API_TASK,
	  .handler = qemu_stop,
	  .description = "Stop virtual machine. The qemu process will exit immediately." },
	{ .method = API_POST,
	  .path = "/nodes/{node}/qemu/{vmid}/status/shutdown",
	  .params = shutdown_params,
	  .perm = VMS_PERM("VM.PowerMgmt"),
	  .flags = API_TASK,
	  .handler = qemu_shutdown,
	  .description = "Shutdown virtual machine. This is similar to pressing the power "
	                 "button on a physical machine." },
	{ .method = API_POST,
	  .path = "/nodes/{node}/qemu/{vmid}/status/reboot",
	  .params = reboot_params,
	  .perm = VMS_PERM("VM.PowerMgmt"),
	  .flags = API_TASK,
	  .handler = qemu_reboot,
	  .description = "Reboot the VM by shutting it down, and starting it again. Applies "
	                 "pending changes." },
	{ .method = API_POST,
	  .path = "/nodes/{node}/qemu/{vmid}/status/reset",
	  .params = skiplock_params,
	  .perm = VMS_PERM("VM.PowerMgmt"),
	  .flags = API_TASK,
	  .handler = qemu_reset,
	  .description = "Reset virtual machine." },
	{ .method = API_POST,
	  .path = "/nodes/{node}/qemu/{vmid}/status/suspend",
	  .params = suspend_params,
	  .perm = VMS_PERM("VM.PowerMgmt"),
	  .flags = API_TASK,
	  .handler = qemu_suspend,
	  .description = "Suspend virtual machine." },
	{ .method = API_POST,
	  .path = "/nodes/{node}/qemu/{vmid}/status/resume",
	  .params = resume_params,
	  .perm = VMS_PERM("VM.PowerMgmt"),
	  .flags = API_TASK,
	  .handler = qemu_resume,
	  .description = "Resume virtual machine." },
	{ .handler = NULL },
};
