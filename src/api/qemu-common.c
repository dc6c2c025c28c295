/* Shared by the VM routes and tasks: typed config, host facts, the accelerator. */
#include "api/qemu-common.h"
#include "basic/fileio.h"
#include "shared/kvconfig.h"
#include "storage/storage.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <unistd.h>

int
vm_conf_typed(const struct guestconf *gc, unsigned vmid, struct vm_config **ret, struct error *err)
{
	return vm_config_from_section(&gc->main, vmid, ret, err);
}

char *
vm_run_dir(const char *root_dir)
{
	return xasprintf("%s/run/qemu", root_dir);
}

static bool
cpu_has_virt_flags(void)
{
	_cleanup_free_ char *text = NULL;
	if (read_file("/proc/cpuinfo", 1u << 20, &text, NULL) < 0)
		return false;
	/* the first "flags" line; vmx or svm as whole words */
	char *line = strstr(text, "\nflags");
	char *end = line ? strchr(line + 1, '\n') : NULL;
	if (!line)
		return false;
	if (end)
		*end = '\0';
	for (char *tok = strtok(line, " \t\n:"); tok; tok = strtok(NULL, " \t\n:"))
		if (streq(tok, "vmx") || streq(tok, "svm"))
			return true;
	return false;
}

bool
vm_host_kvm_usable(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return false;
	close(fd);
	return cpu_has_virt_flags();
}

bool
vm_node_kvm(struct store *st, const char *node)
{
	_cleanup_free_ char *path = xasprintf("nodes/%s/config", node);
	struct store_file f = { 0 };
	if (store_read(st, path, &f) == 0) {
		json_t *conf = kvconfig_parse(f.data);
		const char *v = json_string_value(json_object_get(conf, "kvm"));
		int set = v ? (streq(v, "1") ? 1 : streq(v, "0") ? 0 : -1) : -1;
		json_decref(conf);
		store_file_done(&f);
		if (set >= 0)
			return set == 1;
	}
	return vm_host_kvm_usable();
}

/* qemu_resolve_fn over storage.cfg: volume ids to paths and formats; absolute paths (root's
 * drives, checked at the API) as they are. */
static int
resolve_volume(const char *volid, struct qemu_volume *ret, void *userdata, struct error *err)
{
	const struct vm_env *e = userdata;
	if (volid[0] == '/') {
		ret->path = xstrdup(volid);
		return 0;
	}
	if (!e->scfg)
		return error_set(err, EINVAL, "no storage configuration to resolve '%s'", volid);
	const struct storage *s = NULL;
	struct volname v;
	int r = storage_resolve(e->scfg, volid, &s, &v, err);
	if (r < 0)
		return r;
	r = storage_path(e->scfg, volid, &ret->path, err);
	if (r < 0)
		return r;
	ret->format = xstrdup(v.format ? volume_format_name(v.format) : "raw");
	/* btrfs without nocow: no O_DIRECT (Proxmox avoids cache=none there too) */
	ret->no_direct_io = streq(s->type->name, "btrfs");
	return 0;
}

static unsigned
bridge_mtu(const char *bridge, void *userdata)
{
	(void)userdata;
	if (strchr(bridge, '/') || bridge[0] == '.')
		return 0;
	_cleanup_free_ char *path = xasprintf("/sys/class/net/%s/mtu", bridge);
	_cleanup_free_ char *text = NULL;
	if (read_file(path, 64, &text, NULL) < 0)
		return 0;
	return (unsigned)strtoul(text, NULL, 10);
}

static bool
file_exists(const char *p)
{
	return access(p, R_OK) == 0;
}

static uint64_t
file_size(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 ? (uint64_t)st.st_size : 0;
}

void
vm_env_init(struct vm_env *e, const char *root_dir, const struct storage_config *scfg, bool kvm)
{
	static const char *const ovmf4_code = "/usr/share/OVMF/OVMF_CODE_4M.fd",
	                         *ovmf4_sb = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd",
	                         *ovmf4_vars = "/usr/share/OVMF/OVMF_VARS_4M.fd",
	                         *ovmf2_code = "/usr/share/OVMF/OVMF_CODE.fd",
	                         *ovmf2_sb = "/usr/share/OVMF/OVMF_CODE.secboot.fd",
	                         *ovmf2_vars = "/usr/share/OVMF/OVMF_VARS.fd";
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	*e = (struct vm_env){ .run_dir = vm_run_dir(root_dir), .scfg = scfg };
	e->q = (struct qemu_env){
		.binary = "/usr/bin/qemu-system-x86_64",
		.run_dir = e->run_dir,
		.kvm = kvm,
		.vhost_net = kvm && access("/dev/vhost-net", R_OK | W_OK) == 0,
		.host_cpus = cpus > 0 ? (unsigned)cpus : 1,
		.aio_default = "io_uring",
		.ovmf_4m = { .code = file_exists(ovmf4_code) ? ovmf4_code : NULL,
		             .code_secboot = file_exists(ovmf4_sb) ? ovmf4_sb : NULL,
		             .vars_size = file_size(ovmf4_vars),
		             .vars = file_exists(ovmf4_vars) ? ovmf4_vars : NULL },
		.ovmf_2m = { .code = file_exists(ovmf2_code) ? ovmf2_code : NULL,
		             .code_secboot = file_exists(ovmf2_sb) ? ovmf2_sb : NULL,
		             .vars_size = file_size(ovmf2_vars),
		             .vars = file_exists(ovmf2_vars) ? ovmf2_vars : NULL },
		.resolve = resolve_volume,
		.bridge_mtu = bridge_mtu,
		.userdata = e,
	};
	e->h = (struct vm_host){ .q = &e->q, .cg = ct_cg_host() };
}

void
vm_env_done(struct vm_env *e)
{
	free(e->run_dir);
	e->run_dir = NULL;
}

/* ---- config updates ---- */

char *
vm_net_canonical(const char *key, const char *value, const char *keep_from, struct error *err)
{
	struct vm_net n = { 0 };
	if (vm_net_parse(key, value, &n, err) < 0)
		return NULL;
	if (!n.macaddr) {
		/* the MAC the NIC had, else a new one */
		struct vm_net o = { 0 };
		struct error e = { 0 };
		bool had = keep_from && vm_net_parse(key, keep_from, &o, &e) >= 0;
		n.macaddr = guestconf_nic_mac(had ? o.macaddr : NULL);
		vm_net_done(&o);
	}
	char *text = vm_net_print(&n);
	vm_net_done(&n);
	return text;
}

static const char *const fastplug_keys[] = { "name",       "description", "onboot",
	                                     "protection", "startup",     "tags",
	                                     "lock",       "hookscript",  NULL };

bool
vm_key_fastplug(const char *key)
{
	return strv_contains(fastplug_keys, key);
}

char *
vm_boot_without(const struct guestconf *gc, char **del)
{
	const char *boot = guestconf_get(&gc->main, "boot");
	if (gc->pending && guestconf_get(gc->pending, "boot"))
		boot = guestconf_get(gc->pending, "boot");
	const char *order = boot ? strstr(boot, "order=") : NULL;
	if (!order || (order != boot && order[-1] != ','))
		return NULL;
	order += strlen("order=");
	_cleanup_free_ char *list = xstrndup(order, strcspn(order, ","));
	_cleanup_(strv_freep) char **devs = split_list(list);
	bool changed = false;
	_cleanup_free_ char *out = xstrdup("");
	for (char **d = devs; d && *d; d++) {
		if (strv_contains((const char *const *)del, *d)) {
			changed = true;
			continue;
		}
		char *next = xasprintf("%s%s%s", out, out[0] ? ";" : "", *d);
		free(out);
		out = next;
	}
	if (!changed)
		return NULL;
	return out[0] ? xasprintf("order=%s", out) : xstrdup("");
}

int
vm_update_apply(struct guestconf *gc, unsigned vmid, bool running, json_t *sets, char **del,
                char **rev, bool force, vm_alloc_fn alloc, vm_free_fn free_volume,
                void (*warn)(const char *line, void *userdata), void *userdata, struct error *err)
{
	struct guestconf_section *pend = NULL;
	/* deleted disks leave the boot order, unless the update sets or deletes it itself */
	_cleanup_free_ char *boot = del && !json_object_get(sets, "boot") &&
	                                            !strv_contains((const char *const *)del, "boot")
	                                    ? vm_boot_without(gc, del)
	                                    : NULL;
	for (char **rv = rev; rv && *rv; rv++)
		if (gc->pending) {
			guestconf_unset(gc->pending, *rv);
			guestconf_pending_delete_remove(gc, *rv);
		}
	const char *key;
	json_t *v;
	json_object_foreach (sets, key, v) {
		const char *text = json_string_value(v);
		_cleanup_free_ char *canon = NULL;
		if (vm_is_net_key(key, NULL)) {
			canon = vm_net_canonical(key, text, guestconf_get(&gc->main, key), err);
			if (!canon)
				return -EINVAL;
			text = canon;
		} else if (vm_is_disk_key(key, NULL, NULL) && alloc) {
			int r = alloc(key, text, &canon, userdata, err);
			if (r < 0)
				return r;
			if (canon)
				text = canon;
		}
		struct guestconf_section *target = &gc->main;
		if (running && !vm_key_fastplug(key)) {
			if (!pend)
				pend = guestconf_pending(gc);
			target = pend;
		}
		/* a disk replaced on a stopped VM keeps its old volume as unusedN */
		const char *old = guestconf_get(&gc->main, key);
		_cleanup_free_ char *old_vol =
		        target == &gc->main && old && vm_is_disk_key(key, NULL, NULL)
		                ? vm_disk_volume(key, old)
		                : NULL;
		int r = streq(key, "description") ? guestconf_set_description(target, text)
		                                  : guestconf_set(target, key, text);
		if (r < 0)
			return error_set_status(err, 400, EINVAL, "%s: invalid value", key);
		_cleanup_free_ char *new_vol = vm_disk_volume(key, text);
		if (old_vol && (!new_vol || !streq(old_vol, new_vol)))
			guestconf_add_unused(&gc->main, old_vol, VM_MAX_UNUSED);
		if (target == &gc->main && gc->pending) {
			guestconf_unset(gc->pending, key);
			guestconf_pending_delete_remove(gc, key);
		}
	}
	for (char **d = del; d && *d; d++) {
		if (running && !vm_key_fastplug(*d)) {
			guestconf_pending_delete_add(gc, *d, force);
			continue;
		}
		if (streq(*d, "description")) {
			guestconf_set_description(&gc->main, NULL);
			continue;
		}
		const char *old = guestconf_get(&gc->main, *d);
		if (!old) {
			if (warn) {
				_cleanup_free_ char *line = xasprintf(
				        "cannot delete '%s' - not set in current configuration!",
				        *d);
				warn(line, userdata);
			}
			continue;
		}
		/* a removed disk's volume becomes unusedN, or with force (and for unusedN
		 * itself) is freed by the caller's free_volume */
		_cleanup_free_ char *vol = vm_is_disk_key(*d, NULL, NULL) ? vm_disk_volume(*d, old)
		                           : startswith(*d, "unused")     ? xstrdup(old)
		                                                          : NULL;
		if (vol && (force || startswith(*d, "unused"))) {
			/* only a volume the VM owns is freed; another's only leaves the config */
			int r = free_volume && guestconf_volume_owned_by(vol, vmid)
			                ? free_volume(vol, userdata, err)
			                : 0;
			if (r < 0)
				return r;
		} else if (vol && !startswith(*d, "unused")) {
			guestconf_unset(&gc->main, *d);
			guestconf_add_unused(&gc->main, vol, VM_MAX_UNUSED);
			continue;
		}
		guestconf_unset(&gc->main, *d);
	}
	if (boot && running) {
		if (boot[0])
			guestconf_set(guestconf_pending(gc), "boot", boot);
		else
			guestconf_pending_delete_add(gc, "boot", false);
	} else if (boot) {
		if (boot[0])
			guestconf_set(&gc->main, "boot", boot);
		else
			guestconf_unset(&gc->main, "boot");
	}
	guestconf_prune_pending(gc);
	/* the result must still be a valid config */
	_cleanup_(vm_config_freep) struct vm_config *vc = NULL;
	int r = vm_conf_typed(gc, vmid, &vc, err);
	if (r < 0 && !err->status)
		err->status = 400;
	return r;
}
