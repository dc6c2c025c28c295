/* /nodes/{node}/lxc: containers as Proxmox VE's pct API has them — list, create, config,
 * status and power actions, destroy. The work that blocks (allocating, extracting, liblxc)
 * runs in tasks (t-lxc.c); these handlers check, write the config and start the task. */
#include "api/authcache.h"
#include "api/lxc-common.h"
#include "auth/usercfg.h"
#include "basic/log.h"
#include "basic/clock.h"
#include "basic/sshkey.h"
#include "storage/storage.h"

#include <stdio.h>
#include <time.h>

/* ---- parameter lists: the config keys plus each route's own ---- */

#define MAX_PARAMS 1024
static struct api_schema create_params[MAX_PARAMS];
static struct api_schema update_params[MAX_PARAMS];

static const struct api_schema create_own[] = {
	PARAM_NODE,
	PARAM_VMID,
	{ .name = "ostemplate",
	  .type = API_T_STRING,
	  .max_length = 255,
	  .description = "The OS template or backup file." },
	{ .name = "password",
	  .type = API_T_STRING,
	  .optional = true,
	  .min_length = 5,
	  .flags = API_F_SECRET,
	  .description = "Sets root password inside container." },
	{ .name = "ssh-public-keys",
	  .type = API_T_STRING,
	  .optional = true,
	  .description = "Setup public SSH keys (one key per line, OpenSSH format)." },
	{ .name = "storage",
	  .type = API_T_STRING,
	  .format = "pve-storage-id",
	  .optional = true,
	  .default_text = "local",
	  .description = "Default Storage." },
	{ .name = "force",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "Allow to overwrite existing container." },
	{ .name = "start",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .default_text = "0",
	  .description = "Start the CT after its creation finished successfully." },
	{ .name = "pool",
	  .type = API_T_STRING,
	  .format = "pve-poolid",
	  .optional = true,
	  .description = "Add the VM to the specified pool." },
	{ .name = "unique",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "Assign a unique random ethernet address." },
	{ .name = "ignore-unpack-errors",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "Ignore errors when extracting the template." },
	{ .name = "restore",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "Mark this as restore task (not supported yet)." },
	{ .name = "bwlimit",
	  .type = API_T_NUMBER,
	  .optional = true,
	  .minimum = 0,
	  .flags = API_F_HAS_MIN,
	  .description = "Override I/O bandwidth limit (in KiB/s)." },
	{ .name = "ha-managed",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "Add the CT as a HA resource (not supported yet)." },
	{ .name = "hookscript",
	  .type = API_T_STRING,
	  .optional = true,
	  .description = "Script that will be executed during various steps in the containers "
	                 "lifetime (not supported yet)." },
	PARAM_END,
};

static const struct api_schema update_own[] = {
	PARAM_NODE,
	PARAM_VMID,
	PARAM_DIGEST,
	{ .name = "delete",
	  .type = API_T_STRING,
	  .format = "pve-configid-list",
	  .optional = true,
	  .description = "A list of settings you want to delete." },
	{ .name = "revert",
	  .type = API_T_STRING,
	  .format = "pve-configid-list",
	  .optional = true,
	  .description = "Revert a pending change." },
	PARAM_END,
};

/* Config keys the API never takes from users (bookkeeping). */
static const char *const internal_keys[] = { "parent", "snaptime", NULL };

__attribute__((constructor)) static void
build_route_params(void)
{
	guest_build_params(create_params, MAX_PARAMS, create_own, ct_config_schema(), internal_keys,
	                   false);
	guest_build_params(update_params, MAX_PARAMS, update_own, ct_config_schema(), internal_keys,
	                   true);
}

/* ---- helpers ---- */

static unsigned
vmid_param(struct api_call *c)
{
	return (unsigned)param_int(c->params, "vmid", 0);
}

/* Load the CT named by {vmid}; NULL after answering. */
static struct guestconf *
load_ct(struct api_call *c, char *digest)
{
	struct guestconf *gc = NULL;
	if (ct_conf_load(c->ctx->store, c->ctx->node, vmid_param(c), &gc, digest, &c->err) < 0)
		return NULL;
	return gc;
}

json_t *
ct_status_json(struct guest_cpu_cache *cpu_cache, unsigned vmid, const struct guestconf *gc)
{
	struct error err = { 0 };
	_cleanup_(ct_config_freep) struct ct_config *cc = NULL;
	json_t *e = json_pack("{s:i, s:s}", "vmid", (json_int_t)vmid, "type", "lxc");
	if (ct_conf_typed(gc, vmid, &cc, &err) < 0) {
		json_object_set_new(e, "status", json_string("unknown"));
		return e;
	}
	const struct cg_host *cg = ct_cg_host();
	struct ct_live l = { 0 };
	ct_live(cg, cc, &l);
	unsigned cpus = cc->cores ? cc->cores : (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	if (cc->cpulimit > 0 && cc->cpulimit < cpus)
		cpus = (unsigned)cc->cpulimit + (cc->cpulimit > (unsigned)cc->cpulimit ? 1 : 0);
	char name[32];
	snprintf(name, sizeof(name), "CT%u", vmid);
	json_object_set_new(e, "name", json_string(cc->hostname ? cc->hostname : name));
	json_object_set_new(e, "status", json_string(l.running ? "running" : "stopped"));
	json_object_set_new(e, "cpus", json_integer(cpus));
	json_object_set_new(e, "maxmem", json_integer((json_int_t)(cc->memory << 20)));
	json_object_set_new(e, "maxswap", json_integer((json_int_t)(cc->swap << 20)));
	json_object_set_new(e, "maxdisk", json_integer((json_int_t)l.maxdisk));
	json_object_set_new(e, "disk", json_integer((json_int_t)l.disk));
	json_object_set_new(e, "mem", json_integer((json_int_t)l.mem));
	json_object_set_new(e, "swap", json_integer((json_int_t)l.swap));
	json_object_set_new(e, "uptime", json_integer((json_int_t)l.uptime));
	json_object_set_new(
	        e, "cpu",
	        json_real(l.running ? guest_cpu_fraction(cpu_cache, vmid, l.cpu_ns, cpus) : 0));
	json_object_set_new(e, "netin", json_integer((json_int_t)l.netin));
	json_object_set_new(e, "netout", json_integer((json_int_t)l.netout));
	json_object_set_new(e, "diskread", json_integer((json_int_t)l.diskread));
	json_object_set_new(e, "diskwrite", json_integer((json_int_t)l.diskwrite));
	if (l.running && l.pid > 0)
		json_object_set_new(e, "pid", json_integer(l.pid));
	if (cc->template)
		json_object_set_new(e, "template", json_integer(1));
	if (cc->lock)
		json_object_set_new(e, "lock", json_string(cc->lock));
	if (cc->tags)
		json_object_set_new(e, "tags", json_string(cc->tags));
	return e;
}

json_t *
lxc_resource_entries(struct api_call *c)
{
	json_t *list = json_array();
	size_t n = 0;
	_cleanup_free_ unsigned *ids =
	        guest_list_ids(c->ctx->store, GUESTCONF_LXC, c->ctx->node, &n);
	for (size_t i = 0; i < n; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/vms/%u", ids[i]);
		if (!api_has_privs(c, path, "VM.Audit", false))
			continue;
		_cleanup_(guestconf_freep) struct guestconf *gc = NULL;
		struct error err = { 0 };
		if (ct_conf_load(c->ctx->store, c->ctx->node, ids[i], &gc, NULL, &err) < 0)
			continue;
		json_t *e = ct_status_json(NULL, ids[i], gc);
		char id[32];
		snprintf(id, sizeof(id), "lxc/%u", ids[i]);
		json_object_set_new(e, "id", json_string(id));
		json_object_set_new(e, "node", json_string(c->ctx->node));
		json_object_set_new(
		        e, "template",
		        json_integer(json_integer_value(json_object_get(e, "template"))));
		json_array_append_new(list, e);
	}
	return list;
}

/* ---- GET /nodes/{node}/lxc ---- */

static int
lxc_list(struct api_call *c)
{
	c->data = json_array();
	size_t n = 0;
	_cleanup_free_ unsigned *ids =
	        guest_list_ids(c->ctx->store, GUESTCONF_LXC, c->ctx->node, &n);
	for (size_t i = 0; i < n; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/vms/%u", ids[i]);
		if (!api_has_privs(c, path, "VM.Audit", false))
			continue;
		_cleanup_(guestconf_freep) struct guestconf *gc = NULL;
		struct error err = { 0 };
		if (ct_conf_load(c->ctx->store, c->ctx->node, ids[i], &gc, NULL, &err) < 0)
			continue;
		json_array_append_new(c->data, ct_status_json(NULL, ids[i], gc));
	}
	return 0;
}

/* ---- POST /nodes/{node}/lxc ---- */

/* Check a mount value from the API: allocation requests need space on the storage,
 * existing volumes need access, host paths are root's. */
static int
check_mount_param(struct api_call *c, const char *key, const char *value, const char *def_storage,
                  const struct storage_config *scfg)
{
	struct ct_mount m = { 0 };
	if (ct_mount_parse(key, value, &m, &c->err) < 0)
		return api_param_error(c, key, "%s", c->err.msg);
	int r = 0;
	_cleanup_free_ char *sid = NULL;
	double gib = 0;
	if (m.type != CT_MP_VOLUME) {
		if (!api_is_root(c))
			r = api_fail(c, 403,
			             "Permission check failed (%s: only root can use bind or "
			             "device mount points)",
			             key);
	} else if (storage_alloc_request(m.volume, def_storage, &sid, &gib)) {
		_cleanup_free_ char *spath = xasprintf("/storage/%s", sid);
		struct error e = { 0 };
		if (storage_ct_format(scfg, sid, 0, &e) == FORMAT_NONE)
			r = api_param_error(c, key, "%s", e.msg);
		else
			r = api_check_privs(c, spath, "Datastore.AllocateSpace", false);
	} else {
		const struct storage *s = NULL;
		struct volname v;
		struct error e = { 0 };
		if (storage_resolve(scfg, m.volume, &s, &v, &e) < 0)
			r = api_param_error(c, key, "%s", e.msg);
		else
			r = api_check_volume_access(c, s->id, &v);
	}
	ct_mount_done(&m);
	return r;
}

/* PVE's check_ct_modify_config_perm for the keys of a create or update. */
static int
check_key_privs(struct api_call *c, unsigned vmid, const char *key, const char *value,
                bool unprivileged)
{
	char vpath[32];
	snprintf(vpath, sizeof(vpath), "/vms/%u", vmid);
	if (startswith(key, "lxc.") || streq(key, "lock"))
		return api_is_root(c)
		               ? 0
		               : api_fail(c, 403, "Permission check failed (%s: root only)", key);
	if (streq(key, "features") && value) {
		/* everything but nesting on unprivileged CTs is root's */
		bool only_nesting = unprivileged && (streq(value, "nesting=1") ||
		                                     streq(value, "nesting=0") || !*value);
		if (!only_nesting && !api_is_root(c))
			return api_fail(c, 403,
			                "Permission check failed (changing feature flags (except "
			                "nesting) is only allowed for root@pam)");
		return api_check_privs(c, vpath, "VM.Allocate", false);
	}
	if (streq(key, "cores") || streq(key, "cpulimit") || streq(key, "cpuunits"))
		return api_check_privs(c, vpath, "VM.Config.CPU", false);
	if (streq(key, "memory") || streq(key, "swap"))
		return api_check_privs(c, vpath, "VM.Config.Memory", false);
	if (ct_is_net_key(key, NULL) || streq(key, "nameserver") || streq(key, "searchdomain") ||
	    streq(key, "hostname"))
		return api_check_privs(c, vpath, "VM.Config.Network", false);
	if (ct_is_volume_key(key) && value && !api_is_root(c)) {
		/* host paths (bind and device mount points) are root's */
		struct ct_mount m = { 0 };
		struct error me = { 0 };
		bool host = ct_mount_parse(key, value, &m, &me) >= 0 && m.type != CT_MP_VOLUME;
		bool bind = m.type == CT_MP_BIND;
		ct_mount_done(&m);
		if (host)
			return api_fail(c, 403,
			                "Permission check failed (mount point type %s is only "
			                "allowed for root@pam)",
			                bind ? "bind" : "device");
	}
	if (ct_is_volume_key(key) || startswith(key, "unused"))
		return api_check_privs(c, vpath, "VM.Config.Disk", false);
	if (streq(key, "unprivileged"))
		return api_is_root(c) ? 0
		                      : api_fail(c, 403,
		                                 "Permission check failed (changing the "
		                                 "privilege mode is root only)");
	return api_check_privs(c, vpath, "VM.Config.Options", false);
}

/* Does another guest own vmid? PVE's check_vmid_unused text. */
static int
check_vmid_unused(struct api_call *c, unsigned vmid, bool allow_ct)
{
	_cleanup_free_ char *vm = vm_conf_path(c->ctx->node, vmid);
	_cleanup_free_ char *ct = ct_conf_path(c->ctx->node, vmid);
	if (store_read(c->ctx->store, vm, NULL) == 0)
		return api_fail(c, 500, "VM %u already exists on node '%s'", vmid, c->ctx->node);
	if (!allow_ct && store_read(c->ctx->store, ct, NULL) == 0)
		return api_fail(c, 500, "CT %u already exists on node '%s'", vmid, c->ctx->node);
	return 0;
}

/* Keys of create params that are not config keys. */
static const char *const create_only[] = {
	"node",    "vmid",       "ostemplate", "password", "ssh-public-keys",      "storage",
	"force",   "start",      "pool",       "unique",   "ignore-unpack-errors", "restore",
	"bwlimit", "ha-managed", "hookscript", NULL,
};

static int
lxc_create(struct api_call *c)
{
	struct api_ctx *ctx = c->ctx;
	unsigned vmid = vmid_param(c);
	const char *storage = param_str(c->params, "storage");
	if (!storage)
		storage = "local";
	bool force = param_bool(c->params, "force", false);
	bool unprivileged = param_bool(c->params, "unprivileged", true);

	if (param_bool(c->params, "restore", false))
		return api_fail(c, 501, "restore is not supported yet");
	if (param_str(c->params, "hookscript"))
		return api_fail(c, 501, "hookscripts are not supported yet");
	if (param_bool(c->params, "ha-managed", false))
		return api_fail(c, 501, "HA is not supported yet");
	if (param_str(c->params, "lock"))
		return api_param_error(c, "lock", "property is not defined in schema");
	/* PVE runs `ssh-keygen -l` on each line; we check each key's own header */
	const char *keys = param_str(c->params, "ssh-public-keys");
	if (keys && !ssh_public_keys_valid(keys))
		return api_fail(c, 500, "SSH public key validation error");

	_cleanup_free_ char *conf_path = ct_conf_path(ctx->node, vmid);
	bool exists = store_read(ctx->store, conf_path, NULL) == 0;
	if (check_vmid_unused(c, vmid, force) < 0)
		return -EEXIST;
	if (exists && ct_running(ct_cg_host(), vmid))
		return api_fail(c, 500,
		                "unable to create CT %u - container already exists and is "
		                "running",
		                vmid);

	/* PVE's check_pool_exist: a permission error */
	const char *pool = param_str(c->params, "pool");
	if (pool && !usercfg_find_pool(authcache_usercfg(ctx->auth), pool))
		return api_fail(c, 403, "Permission check failed (pool '%s' does not exist)", pool);

	/* privileged containers: root, or Sys.Modify on / (pve-container 6.0.6) */
	if (!unprivileged && !api_is_root(c) && !api_has_privs(c, "/", "Sys.Modify", false))
		return api_fail(c, 403,
		                "Permission check failed (privileged containers can only be "
		                "created by root@pam or with Sys.Modify on /)");

	struct error e = { 0 };
	struct storage_config *scfg = api_storage_config(ctx, &e);
	if (!scfg)
		return api_fail(c, 500, "%s", e.msg);
	int r = 0;

	/* the template */
	const char *ostemplate = param_str(c->params, "ostemplate");
	{
		const struct storage *s = NULL;
		struct volname v;
		if (storage_resolve(scfg, ostemplate, &s, &v, &e) < 0)
			r = api_param_error(c, "ostemplate", "%s", e.msg);
		else if (v.content != CONTENT_VZTMPL)
			r = api_param_error(c, "ostemplate",
			                    "volume '%s' is not a container template", ostemplate);
		else if ((r = api_check_volume_access(c, s->id, &v)) >= 0) {
			_cleanup_free_ char *path = NULL;
			if (storage_path(scfg, ostemplate, &path, &e) < 0 || access(path, R_OK) < 0)
				r = api_param_error(c, "ostemplate", "volume '%s' does not exist",
				                    ostemplate);
		}
	}

	/* every config key: its privilege; volumes: their storage */
	_cleanup_(guestconf_freep) struct guestconf *gc = guestconf_new(GUESTCONF_LXC);
	bool has_rootfs = false;
	const char *key;
	json_t *v;
	json_object_foreach (c->params, key, v) {
		if (r < 0)
			break;
		if (strv_contains(create_only, key))
			continue;
		/* PVE ignores unusedN on create: a new CT must not adopt a volume it would
		 * free on destroy */
		if (startswith(key, "unused")) {
			log_info("CT %u: ignoring '%s', cannot create with unused volume", vmid,
			         key);
			continue;
		}
		_cleanup_free_ char *text = schema_scalar_text(v);
		if (!text)
			continue; /* the schema admits scalars only */
		/* 'unprivileged' was checked above (Sys.Modify for 0), as PVE extracts it
		 * before the per-key checks: Ansible always sends it */
		if (!streq(key, "unprivileged"))
			r = check_key_privs(c, vmid, key, text, unprivileged);
		if (r < 0)
			break;
		if (ct_is_volume_key(key)) {
			r = check_mount_param(c, key, text, storage, scfg);
			has_rootfs |= streq(key, "rootfs");
			continue; /* added by the task once allocated */
		}
		if (ct_is_net_key(key, NULL)) {
			char *canon = ct_net_canonical(key, text, NULL, &c->err);
			if (!canon) {
				r = api_param_error(c, key, "%s", c->err.msg);
				break;
			}
			free(text);
			text = canon;
		}
		if (streq(key, "description")) {
			guestconf_set_description(&gc->main, text);
			continue;
		}
		if (guestconf_set(&gc->main, key, text) < 0)
			r = api_param_error(c, key, "invalid value");
	}
	if (r >= 0 && !has_rootfs) {
		_cleanup_free_ char *def = xasprintf("%s:4", storage);
		r = check_mount_param(c, "rootfs", def, storage, scfg);
	}
	storage_config_free(scfg);
	if (r < 0)
		return r;

	if (!param_has(c->params, "unprivileged"))
		guestconf_set(&gc->main, "unprivileged", "1");
	guestconf_set(&gc->main, "lock", "create");

	/* The config exists, locked, before the task starts (PVE's create_and_lock_config). */
	struct store_lock *lk = NULL;
	if (ct_lock(ctx->store, ctx->node, vmid, 5000, &lk, &c->err) < 0)
		return -ETIMEDOUT;
	json_t *old_volumes = json_array();
	struct store_file old = { 0 };
	if (exists && store_read(ctx->store, conf_path, &old) == 0) {
		struct guestconf *ogc = NULL;
		if (guestconf_parse(GUESTCONF_LXC, old.data, conf_path, &ogc, &e) >= 0) {
			const char *olock = guestconf_get(&ogc->main, "lock");
			if (olock) {
				r = api_fail(c, 500, "CT is locked (%s)", olock);
			} else {
				for (size_t i = 0; i < ogc->main.n_items; i++) {
					const char *k = ogc->main.items[i].key;
					if (!ct_is_volume_key(k) && !startswith(k, "unused"))
						continue;
					struct ct_mount m = { 0 };
					struct error me = { 0 };
					if (startswith(k, "unused"))
						json_array_append_new(
						        old_volumes,
						        json_string(ogc->main.items[i].value));
					else if (ct_mount_parse(k, ogc->main.items[i].value, &m,
					                        &me) >= 0 &&
					         m.type == CT_MP_VOLUME)
						json_array_append_new(old_volumes,
						                      json_string(m.volume));
					ct_mount_done(&m);
				}
			}
			guestconf_free(ogc);
		}
	}
	if (r >= 0)
		r = ct_conf_save(ctx->store, ctx->node, vmid, gc, exists ? old.digest : "",
		                 &c->err);
	store_file_done(&old);
	store_unlock(lk);
	if (r < 0) {
		json_decref(old_volumes);
		return r;
	}

	json_t *tp = json_deep_copy(c->params);
	json_object_set_new(tp, "storage", json_string(storage));
	json_object_set_new(tp, "old-volumes", old_volumes);
	if (!has_rootfs) {
		_cleanup_free_ char *def = xasprintf("%s:4", storage);
		json_object_set_new(tp, "rootfs", json_string(def));
	}
	char id[16];
	snprintf(id, sizeof(id), "%u", vmid);
	r = api_start_task(c, "vzcreate", id, tp, NULL, 0);
	if (r < 0) {
		/* no task: take the placeholder back */
		store_delete(ctx->store, conf_path, NULL);
	}
	return r;
}

/* ---- GET /nodes/{node}/lxc/{vmid} ---- */

static int
lxc_vm_index(struct api_call *c)
{
	_cleanup_(guestconf_freep) struct guestconf *gc = load_ct(c, NULL);
	if (!gc)
		return -ENOENT;
	static const char *const names[] = { "config",  "pending",  "status", "resize",
		                             "rrddata", "template", NULL };
	c->data = index_list(names);
	return 0;
}

/* ---- config ---- */

static int
lxc_config_get(struct api_call *c)
{
	char digest[STORE_DIGEST_LEN + 1];
	_cleanup_(guestconf_freep) struct guestconf *gc = load_ct(c, digest);
	if (!gc)
		return -ENOENT;
	json_t *o = guest_config_json(gc, param_str(c->params, "snapshot"),
	                              param_bool(c->params, "current", false), ct_key_schema, true,
	                              &c->err);
	if (!o)
		return -ENOENT;
	json_object_set_new(o, "digest", json_string(digest));
	c->data = o;
	return 0;
}

/* GET .../pending: every key with its current value, pending value and deletion mark. */
static int
lxc_pending_get(struct api_call *c)
{
	_cleanup_(guestconf_freep) struct guestconf *gc = load_ct(c, NULL);
	if (!gc)
		return -ENOENT;
	c->data = guest_pending_json(gc, ct_key_schema, true);
	return 0;
}

/* Everything PVE checks before it changes a CT config: privileges per key, the mount values
 * (storage, access, host paths), keys that may not change or go. */
static int
ct_update_check(struct api_call *c, unsigned vmid, const struct guestconf *gc,
                const struct guest_update *u)
{
	bool unprivileged = streq(guestconf_get(&gc->main, "unprivileged") ?: "0", "1");
	struct storage_config *scfg = NULL;
	int r = 0;
	const char *key;
	json_t *v;
	json_object_foreach (u->sets, key, v) {
		const char *text = json_string_value(v);
		r = check_key_privs(c, vmid, key, text, unprivileged);
		if (r >= 0 && streq(key, "unprivileged"))
			r = api_fail(c, 500,
			             "unprivileged: cannot change the privilege mode of an "
			             "existing container");
		if (r >= 0 && streq(key, "rootfs")) {
			/* the root volume changes by resize only, its options here */
			_cleanup_free_ char *old =
			        ct_mount_volume(key, guestconf_get(&gc->main, key));
			_cleanup_free_ char *now = ct_mount_volume(key, text);
			if (!now || !old || !streq(old, now))
				r = api_param_error(c, key,
				                    "the root volume cannot be replaced; only its "
				                    "options can change (PUT .../resize grows it)");
		}
		if (r >= 0 && startswith(key, "mp")) {
			struct error e = { 0 };
			if (!scfg && !(scfg = api_storage_config(c->ctx, &e)))
				r = api_fail(c, 500, "%s", e.msg);
			_cleanup_free_ char *root =
			        ct_mount_volume("rootfs", guestconf_get(&gc->main, "rootfs"));
			_cleanup_free_ char *def = root ? xstrndup(root, strcspn(root, ":")) : NULL;
			if (r >= 0)
				r = check_mount_param(c, key, text, def ?: "local", scfg);
		}
		if (r < 0)
			break;
	}
	storage_config_free(scfg);
	for (char **d = u->del; r >= 0 && d && *d; d++) {
		if (streq(*d, "rootfs") || streq(*d, "unprivileged"))
			r = api_fail(c, 400, "unable to delete required option '%s'", *d);
		else if (!ct_key_schema(*d) && !startswith(*d, "lxc."))
			r = api_param_error(c, "delete", "invalid configuration ID '%s'", *d);
		else
			r = check_key_privs(c, vmid, *d, NULL, unprivileged);
	}
	return r;
}

/* Does the update need work outside the daemon (a task)? A new volume for a stopped CT, the
 * deletion of unusedN (its volume is freed at once), a NIC of a running CT (made live). */
static bool
ct_update_needs_task(const struct guestconf *gc, const struct guest_update *u, bool running)
{
	const char *key;
	json_t *v;
	json_object_foreach (u->sets, key, v)
		if ((running && ct_is_net_key(key, NULL)) ||
		    (!running && ct_is_volume_key(key) &&
		     ct_mount_allocates(key, json_string_value(v))) ||
		    /* a new mount point goes into a running CT live */
		    (running && startswith(key, "mp") && ct_is_volume_key(key) &&
		     !guestconf_get(&gc->main, key)))
			return true;
	for (char **d = u->del; d && *d; d++)
		if ((startswith(*d, "unused") && guestconf_get(&gc->main, *d)) ||
		    (running && ct_is_net_key(*d, NULL) && guestconf_get(&gc->main, *d)))
			return true;
	return false;
}

static void
log_warning(const char *line, void *userdata)
{
	unsigned vmid = *(const unsigned *)userdata;
	log_info("CT %u: %s", vmid, line);
}

/* PUT config: synchronous, null (PVE's update_vm). A running CT takes limits, NICs and
 * descriptive keys at once, the rest waits in [PENDING]. An update that allocates or frees a
 * volume or changes a running CT's NICs runs as a vzconfig task, checked here first and
 * answered when the task ended. */
static int
lxc_config_put(struct api_call *c)
{
	struct api_ctx *ctx = c->ctx;
	unsigned vmid = vmid_param(c);
	struct guest_update u;
	int r = api_update_parse(c, update_own, false, &u);
	if (r < 0) {
		guest_update_done(&u);
		return r;
	}
	struct store_lock *lk = NULL;
	if (ct_lock(ctx->store, ctx->node, vmid, 10000, &lk, &c->err) < 0) {
		guest_update_done(&u);
		return -ETIMEDOUT;
	}
	char digest[STORE_DIGEST_LEN + 1];
	struct guestconf *gc = NULL;
	r = ct_conf_load(ctx->store, ctx->node, vmid, &gc, digest, &c->err);
	if (r >= 0)
		r = api_digest_check(c, digest);
	if (r >= 0)
		r = ct_check_lock(gc, &c->err);
	bool running = r >= 0 && ct_running(ct_cg_host(), vmid);
	/* checks first, changes after: a rejected request changes nothing */
	if (r >= 0)
		r = ct_update_check(c, vmid, gc, &u);
	bool task = r >= 0 && ct_update_needs_task(gc, &u, running);
	struct ct_update_ops ops = { .warn = log_warning, .userdata = &vmid };
	if (r >= 0)
		r = ct_update_apply(gc, vmid, running, u.sets, u.del, u.rev, task ? NULL : &ops,
		                    &c->err);
	/* limits of a running CT apply at once; what fails stays pending (and is reported
	 * after the config is saved, as PVE) */
	struct error hot_err = { 0 };
	const char *hot_key_failed = NULL;
	if (r >= 0 && !task && running)
		(void)ct_hotplug_limits(vmid, &gc, &hot_key_failed, &hot_err);
	if (r >= 0 && !task)
		r = ct_conf_save(ctx->store, ctx->node, vmid, gc, digest, &c->err);
	guestconf_free(gc);
	store_unlock(lk);
	guest_update_done(&u);
	if (r < 0)
		return r;
	if (task) {
		char id[16];
		snprintf(id, sizeof(id), "%u", vmid);
		json_t *tp = json_deep_copy(c->params);
		json_object_set_new(tp, "api-user", json_string(c->who.user));
		r = api_start_task(c, "vzconfig", id, tp, NULL, 0);
		return r < 0 ? r : api_call_wait_task(c, 0, api_null_after_task);
	}
	if (hot_key_failed) /* PVE: raise_param_exc with the hotplug errors */
		return api_param_error(c, hot_key_failed, "unable to hotplug %s: %s",
		                       hot_key_failed, hot_err.msg);
	c->data = json_null();
	return 0;
}

/* ---- status ---- */

static int
lxc_status_index(struct api_call *c)
{
	_cleanup_(guestconf_freep) struct guestconf *gc = load_ct(c, NULL);
	if (!gc)
		return -ENOENT;
	static const char *const names[] = { "current", "start",   "stop",   "shutdown",
		                             "reboot",  "suspend", "resume", NULL };
	c->data = index_list(names);
	return 0;
}

static int
lxc_status_current(struct api_call *c)
{
	_cleanup_(guestconf_freep) struct guestconf *gc = load_ct(c, NULL);
	if (!gc)
		return -ENOENT;
	json_t *e = ct_status_json(NULL, vmid_param(c), gc);
	json_object_set_new(e, "ha", json_pack("{s:i}", "managed", 0));
	c->data = e;
	return 0;
}

/* The power actions: what PVE checks synchronously before forking the worker. */
struct power_action {
	const char *name, *task;
	bool needs_running; /* else: needs stopped */
	bool either;        /* no state check */
};

static const struct power_action power_actions[] = {
	{ "start", "vzstart", false, false },      { "stop", "vzstop", true, false },
	{ "shutdown", "vzshutdown", true, false }, { "reboot", "vzreboot", true, false },
	{ "suspend", "vzsuspend", true, false },   { "resume", "vzresume", false, true },
};

static int
power(struct api_call *c, const char *action)
{
	const struct power_action *a = NULL;
	for (size_t i = 0; i < ARRAY_SIZE(power_actions); i++)
		if (streq(power_actions[i].name, action))
			a = &power_actions[i];
	unsigned vmid = vmid_param(c);
	_cleanup_(guestconf_freep) struct guestconf *gc = load_ct(c, NULL);
	if (!gc)
		return -ENOENT;
	bool running = ct_running(ct_cg_host(), vmid);
	if (!a->either) {
		if (a->needs_running && !running)
			return api_fail(c, 500, "CT %u not running", vmid);
		if (!a->needs_running && running)
			return api_fail(c, 500, "CT %u already running", vmid);
	}
	bool skiplock = param_bool(c->params, "skiplock", false);
	if (skiplock && !api_is_root(c))
		return api_fail(c, 403, "Only root may use this option.");
	/* stop may override a lock only with skiplock; others are refused on a lock */
	const char *lock = guestconf_get(&gc->main, "lock");
	if (lock && !skiplock && !(streq(action, "stop") && streq(lock, "mounted")))
		return api_fail(c, 500, "CT is locked (%s)", lock);
	if (streq(action, "start")) {
		const char *tmpl = guestconf_get(&gc->main, "template");
		if (tmpl && streq(tmpl, "1"))
			return api_fail(c, 500, "CT %u is a template - cannot start", vmid);
	}
	char id[16];
	snprintf(id, sizeof(id), "%u", vmid);
	return api_start_task(c, a->task, id, json_deep_copy(c->params), NULL, 0);
}

#define POWER_HANDLER(n)                                                                           \
	static int lxc_##n(struct api_call *c)                                                     \
	{                                                                                          \
		return power(c, #n);                                                               \
	}
POWER_HANDLER(start)
POWER_HANDLER(stop)
POWER_HANDLER(shutdown)
POWER_HANDLER(reboot)
POWER_HANDLER(suspend)
POWER_HANDLER(resume)

/* ---- DELETE /nodes/{node}/lxc/{vmid} ---- */

static int
lxc_destroy(struct api_call *c)
{
	unsigned vmid = vmid_param(c);
	_cleanup_(guestconf_freep) struct guestconf *gc = load_ct(c, NULL);
	if (!gc)
		return -ENOENT;
	if (ct_check_lock(gc, &c->err) < 0)
		return -EBUSY;
	const char *prot = guestconf_get(&gc->main, "protection");
	if (prot && streq(prot, "1"))
		return api_fail(c, 500, "can't remove CT %u - protection mode enabled", vmid);
	if (ct_running(ct_cg_host(), vmid) && !param_bool(c->params, "force", false))
		return api_fail(c, 500, "CT %u is running - destroy failed", vmid);
	char id[16];
	snprintf(id, sizeof(id), "%u", vmid);
	return api_start_task(c, "vzdestroy", id, json_deep_copy(c->params), NULL, 0);
}

/* ---- POST /nodes/{node}/startall ---- */

static int
node_startall(struct api_call *c)
{
	if (!api_has_privs(c, "/", "VM.PowerMgmt", false)) {
		const char *vms = param_str(c->params, "vms");
		_cleanup_(strv_freep) char **ids = vms ? split_list(vms) : NULL;
		if (!ids || !ids[0])
			return api_fail(c, 403, "Permission check failed (/, VM.PowerMgmt)");
		for (char **id = ids; *id; id++) {
			_cleanup_free_ char *path = xasprintf("/vms/%s", *id);
			if (api_check_privs(c, path, "VM.PowerMgmt", false) < 0)
				return -EACCES;
		}
	}
	return api_start_task(c, "startall", "", json_deep_copy(c->params), NULL, 0);
}

static const struct api_schema startall_params[] = {
	PARAM_NODE,
	{ .name = "force",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "Issue start command even if virtual guest have 'onboot' not set or set "
	                 "to off." },
	{ .name = "vms",
	  .type = API_T_STRING,
	  .format = "pve-vmid-list",
	  .optional = true,
	  .description = "Only consider guests from this comma separated list of VMIDs." },
	{ .name = "max-workers",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .minimum = 1,
	  .maximum = 64,
	  .flags = API_F_HAS_MIN | API_F_HAS_MAX,
	  .description = "Accepted for compatibility; guests start one after the other." },
	PARAM_END,
};

/* ---- routes ---- */

static const struct api_schema node_vmid[] = { PARAM_NODE, PARAM_VMID, PARAM_END };

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

static const struct api_schema start_params[] = {
	PARAM_NODE,
	PARAM_VMID,
	SKIPLOCK,
	{ .name = "debug",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "If set, enables very verbose debug log-level on start." },
	PARAM_END,
};

static const struct api_schema stop_params[] = {
	PARAM_NODE,
	PARAM_VMID,
	SKIPLOCK,
	{ .name = "overrule-shutdown",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "Try to abort active 'vzshutdown' tasks before stopping." },
	PARAM_END,
};

static const struct api_schema shutdown_params[] = {
	PARAM_NODE,
	PARAM_VMID,
	{ .name = "timeout",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .minimum = 0,
	  .flags = API_F_HAS_MIN,
	  .default_text = "60",
	  .description = "Wait maximal timeout seconds." },
	{ .name = "forceStop",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "Make sure the Container stops." },
	PARAM_END,
};

static const struct api_schema reboot_params[] = {
	PARAM_NODE,
	PARAM_VMID,
	{ .name = "timeout",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .minimum = 0,
	  .flags = API_F_HAS_MIN,
	  .description = "Wait maximal timeout seconds for the shutdown." },
	PARAM_END,
};

static const struct api_schema destroy_params[] = {
	PARAM_NODE,
	PARAM_VMID,
	{ .name = "force",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "Force destroy, even if running." },
	{ .name = "purge",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "Remove container from all related configurations." },
	{ .name = "destroy-unreferenced-disks",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "If set, destroy additionally all disks with the VMID from all enabled "
	                 "storages which are not referenced in the config." },
	PARAM_END,
};

#define VMS_PERM(p)                                                                                \
	{                                                                                          \
		.kind = PERM_PRIVS, .path = "/vms/{vmid}", .privs = p                              \
	}

const struct api_route api_routes_lxc[] = {
	{ .method = API_GET,
	  .path = "/nodes/{node}/lxc",
	  .params = (const struct api_schema[]){ PARAM_NODE, PARAM_END },
	  .perm = { .kind = PERM_ANY_USER,
	            .description = "Only list CTs where you have VM.Audit permissons on "
	                           "/vms/<vmid>." },
	  .handler = lxc_list,
	  .description = "LXC container index (per node)." },
	{ .method = API_POST,
	  .path = "/nodes/{node}/lxc",
	  .params = create_params,
	  .perm = { .kind = PERM_PRIVS,
	            .path = "/vms/{vmid}",
	            .privs = "VM.Allocate",
	            .description = "You need 'VM.Allocate' permission on /vms/{vmid}. For "
	                           "volumes, 'Datastore.AllocateSpace' on the storage." },
	  .flags = API_TASK,
	  .handler = lxc_create,
	  .description = "Create or restore a container." },
	{ .method = API_GET,
	  .path = "/nodes/{node}/lxc/{vmid}",
	  .params = node_vmid,
	  .perm = { .kind = PERM_ANY_USER },
	  .handler = lxc_vm_index,
	  .description = "Directory index" },
	{ .method = API_DELETE,
	  .path = "/nodes/{node}/lxc/{vmid}",
	  .params = destroy_params,
	  .perm = VMS_PERM("VM.Allocate"),
	  .flags = API_TASK,
	  .handler = lxc_destroy,
	  .description = "Destroy the container (also delete all uses files)." },
	{ .method = API_GET,
	  .path = "/nodes/{node}/lxc/{vmid}/config",
	  .params = config_get_params,
	  .perm = VMS_PERM("VM.Audit"),
	  .handler = lxc_config_get,
	  .description = "Get container configuration." },
	{ .method = API_GET,
	  .path = "/nodes/{node}/lxc/{vmid}/pending",
	  .params = node_vmid,
	  .perm = VMS_PERM("VM.Audit"),
	  .handler = lxc_pending_get,
	  .description = "Get container configuration, including pending changes." },
	{ .method = API_PUT,
	  .path = "/nodes/{node}/lxc/{vmid}/config",
	  .params = update_params,
	  .perm = { .kind = PERM_PRIVS,
	            .path = "/vms/{vmid}",
	            .privs = "VM.Config.Disk,VM.Config.CPU,VM.Config.Memory,VM.Config.Network,"
	                     "VM.Config.Options",
	            .any = true,
	            .description = "Each key needs its VM.Config.* privilege; raw lxc keys, "
	                           "features other than nesting and bind mounts are root's." },
	  .handler = lxc_config_put,
	  .description = "Set container options." },
	{ .method = API_GET,
	  .path = "/nodes/{node}/lxc/{vmid}/status",
	  .params = node_vmid,
	  .perm = VMS_PERM("VM.Audit"),
	  .handler = lxc_status_index,
	  .description = "Directory index" },
	{ .method = API_GET,
	  .path = "/nodes/{node}/lxc/{vmid}/status/current",
	  .params = node_vmid,
	  .perm = VMS_PERM("VM.Audit"),
	  .handler = lxc_status_current,
	  .description = "Get virtual machine status." },
	{ .method = API_POST,
	  .path = "/nodes/{node}/lxc/{vmid}/status/start",
	  .params = start_params,
	  .perm = VMS_PERM("VM.PowerMgmt"),
	  .flags = API_TASK,
	  .handler = lxc_start,
	  .description = "Start the container." },
	{ .method = API_POST,
	  .path = "/nodes/{node}/lxc/{vmid}/status/stop",
	  .params = stop_params,
	  .perm = VMS_PERM("VM.PowerMgmt"),
	  .flags = API_TASK,
	  .handler = lxc_stop,
	  .description = "Stop the container. This will abruptly stop all processes running in "
	                 "the container." },
	{ .method = API_POST,
	  .path = "/nodes/{node}/lxc/{vmid}/status/shutdown",
	  .params = shutdown_params,
	  .perm = VMS_PERM("VM.PowerMgmt"),
	  .flags = API_TASK,
	  .handler = lxc_shutdown,
	  .description = "Shutdown the container. This will trigger a clean shutdown of the "
	                 "container, see lxc-stop(1) for details." },
	{ .method = API_POST,
	  .path = "/nodes/{node}/lxc/{vmid}/status/reboot",
	  .params = reboot_params,
	  .perm = VMS_PERM("VM.PowerMgmt"),
	  .flags = API_TASK,
	  .handler = lxc_reboot,
	  .description = "Reboot the container by shutting it down, and starting it again." },
	{ .method = API_POST,
	  .path = "/nodes/{node}/lxc/{vmid}/status/suspend",
	  .params = node_vmid,
	  .perm = VMS_PERM("VM.PowerMgmt"),
	  .flags = API_TASK,
	  .handler = lxc_suspend,
	  .description = "Suspend the container (freeze its processes)." },
	{ .method = API_POST,
	  .path = "/nodes/{node}/lxc/{vmid}/status/resume",
	  .params = node_vmid,
	  .perm = VMS_PERM("VM.PowerMgmt"),
	  .flags = API_TASK,
	  .handler = lxc_resume,
	  .description = "Resume the container." },
	{ .method = API_POST,
	  .path = "/nodes/{node}/startall",
	  .params = startall_params,
	  .perm = { .kind = PERM_ANY_USER,
	            .description = "The 'VM.PowerMgmt' permission is required on '/' or on "
	                           "'/vms/<ID>' for each ID passed via the 'vms' parameter." },
	  .flags = API_TASK,
	  .handler = node_startall,
	  .description = "Start all VMs and containers located on this node (by default only "
	                 "those with onboot=1)." },
	{ .handler = NULL },
};
