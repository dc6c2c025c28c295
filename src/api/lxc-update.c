/* A config update of a container, shared by PUT config (h-lxc.c, checks and the plain case)
 * and the vzconfig task (t-lxc.c, when volumes are allocated or freed); and a CT's pending
 * changes becoming real when it starts or has stopped. This is PVE's update_pct_config with
 * vmconfig_apply_pending and the cgroup part of vmconfig_hotplug_pending. */
#include "api/lxc-common.h"
#include "storage/storage.h"

#include <stdarg.h>
#include <stdio.h>

#define CT_MAX_UNUSED 256

bool
ct_key_hot(const char *key)
{
	static const char *const hot[] = { "description", "onboot",       "startup",
		                           "tags",        "protection",   "hostname",
		                           "nameserver",  "searchdomain", NULL };
	return strv_contains(hot, key);
}

char *
ct_mount_volume(const char *key, const char *value)
{
	struct ct_mount m = { 0 };
	struct error e = { 0 };
	char *vol = NULL;
	if (ct_mount_parse(key, value, &m, &e) >= 0 && m.type == CT_MP_VOLUME)
		vol = TAKE_PTR(m.volume);
	ct_mount_done(&m);
	return vol;
}

bool
ct_mount_allocates(const char *key, const char *value)
{
	_cleanup_free_ char *vol = ct_mount_volume(key, value);
	_cleanup_free_ char *sid = NULL;
	double gib;
	return vol && storage_alloc_request(vol, "local", &sid, &gib);
}

/* Does a volume mount point of gc other than skip_key (in the config or pending) name volid?
 * PVE's is_volume_in_use without snapshots: such a volume is neither freed nor unusedN. */
static bool
volume_in_use(const struct guestconf *gc, const char *volid, const char *skip_key)
{
	const struct guestconf_section *secs[] = { &gc->main, gc->pending };
	for (size_t s = 0; s < ARRAY_SIZE(secs); s++)
		for (size_t i = 0; secs[s] && i < secs[s]->n_items; i++) {
			const char *k = secs[s]->items[i].key;
			if (!ct_is_volume_key(k) || (skip_key && streq(k, skip_key)))
				continue;
			_cleanup_free_ char *vol = ct_mount_volume(k, secs[s]->items[i].value);
			if (vol && streq(vol, volid))
				return true;
		}
	return false;
}

static void __attribute__((format(printf, 2, 3)))
warn(const struct ct_update_ops *ops, const char *fmt, ...)
{
	if (!ops || !ops->warn)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *line = NULL;
	int n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n >= 0)
		ops->warn(line, ops->userdata);
	free(line);
}

/* An old volume leaving key: unusedN, unless another mount point still uses it. */
static void
keep_unused(struct guestconf *gc, const char *key, const char *volid,
            const struct ct_update_ops *ops)
{
	if (!volid || volume_in_use(gc, volid, key))
		return;
	if (guestconf_add_unused(&gc->main, volid, CT_MAX_UNUSED) < 0)
		warn(ops, "no free unusedN for '%s'; it is no longer referenced", volid);
}

/* The deletion of unusedN: its volume is freed when the CT owns it and no mount point uses
 * it; any other volume only leaves the config. */
static int
free_unused(struct guestconf *gc, unsigned vmid, const char *key, const struct ct_update_ops *ops,
            struct error *err)
{
	const char *vol = guestconf_get(&gc->main, key);
	if (!vol || !ops || !ops->free_volume || !guestconf_volume_owned_by(vol, vmid) ||
	    volume_in_use(gc, vol, NULL))
		return 0;
	return ops->free_volume(vol, ops->userdata, err);
}

char *
ct_net_canonical(const char *key, const char *value, const char *keep_from, struct error *err)
{
	struct ct_net n = { 0 };
	if (ct_net_parse(key, value, &n, err) < 0)
		return NULL;
	if (!n.hwaddr) {
		/* the MAC the NIC had, else a new one */
		struct ct_net o = { 0 };
		struct error e = { 0 };
		bool had = keep_from && ct_net_parse(key, keep_from, &o, &e) >= 0;
		n.hwaddr = guestconf_nic_mac(had ? o.hwaddr : NULL);
		ct_net_done(&o);
	}
	char *text = ct_net_print(&n);
	ct_net_done(&n);
	return text;
}

int
ct_update_apply(struct guestconf *gc, unsigned vmid, bool running, json_t *sets, char **del,
                char **rev, const struct ct_update_ops *ops, struct error *err)
{
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
		bool now = !running || ct_key_hot(key);
		if (ct_is_net_key(key, NULL)) {
			canon = ct_net_canonical(key, text, guestconf_get(&gc->main, key), err);
			if (!canon)
				return error_set_status(err, 400, EINVAL, "%s", err->msg);
			text = canon;
		} else if (now && ct_is_volume_key(key) && ops && ops->alloc) {
			int r = ops->alloc(key, text, &canon, ops->userdata, err);
			if (r < 0)
				return r;
			if (canon)
				text = canon;
		}
		struct guestconf_section *target = now ? &gc->main : guestconf_pending(gc);
		_cleanup_free_ char *old_vol =
		        now && ct_is_volume_key(key) && guestconf_get(&gc->main, key)
		                ? ct_mount_volume(key, guestconf_get(&gc->main, key))
		                : NULL;
		int r = streq(key, "description") ? guestconf_set_description(target, text)
		                                  : guestconf_set(target, key, text);
		if (r < 0)
			return error_set_status(err, 400, EINVAL, "%s: invalid value", key);
		_cleanup_free_ char *new_vol = old_vol ? ct_mount_volume(key, text) : NULL;
		if (old_vol && (!new_vol || !streq(old_vol, new_vol)))
			keep_unused(gc, key, old_vol, ops);
		if (now && gc->pending) {
			guestconf_unset(gc->pending, key);
			guestconf_pending_delete_remove(gc, key);
		}
	}
	for (char **d = del; d && *d; d++) {
		/* unusedN goes at once, running or not (PVE frees it in hotplug too) */
		if (running && !ct_key_hot(*d) && !startswith(*d, "unused")) {
			guestconf_pending_delete_add(gc, *d, false);
			continue;
		}
		if (streq(*d, "description")) {
			guestconf_set_description(&gc->main, NULL);
			continue;
		}
		const char *old = guestconf_get(&gc->main, *d);
		if (!old) {
			warn(ops, "cannot delete '%s' - not set in current configuration!", *d);
			continue;
		}
		if (startswith(*d, "unused")) {
			int r = free_unused(gc, vmid, *d, ops, err);
			if (r < 0)
				return r;
			guestconf_unset(&gc->main, *d);
			continue;
		}
		_cleanup_free_ char *vol = ct_is_volume_key(*d) ? ct_mount_volume(*d, old) : NULL;
		guestconf_unset(&gc->main, *d);
		keep_unused(gc, *d, vol, ops);
	}
	guestconf_prune_pending(gc);
	/* the result must still be a valid config */
	struct ct_config *cc = NULL;
	int r = ct_conf_typed(gc, vmid, &cc, err);
	ct_config_free(cc);
	if (r < 0)
		err->status = 400;
	return r;
}

int
ct_pending_commit_all(struct guestconf *gc, unsigned vmid, const struct ct_update_ops *ops)
{
	if (!gc->pending)
		return 0;
	bool changed = false;
	_cleanup_(strv_freep) char **dels = guestconf_pending_delete_keys(gc);
	for (char **k = dels; *k; k++) {
		const char *old = guestconf_get(&gc->main, *k);
		_cleanup_free_ char *vol =
		        old && ct_is_volume_key(*k) ? ct_mount_volume(*k, old) : NULL;
		struct error e = { 0 };
		if (old && startswith(*k, "unused") && free_unused(gc, vmid, *k, ops, &e) < 0) {
			warn(ops, "unable to apply pending change %s : %s", *k, e.msg);
			continue;
		}
		const char *only[] = { *k, NULL };
		changed |= guestconf_apply_pending(gc, only);
		keep_unused(gc, *k, vol, ops);
	}
	_cleanup_(strv_freep) char **sets = guestconf_pending_set_keys(gc);
	for (char **k = sets; *k; k++) {
		if (ct_is_volume_key(*k) && ops && ops->alloc) {
			/* a new volume asked for while the CT ran is made now */
			_cleanup_free_ char *canon = NULL;
			struct error e = { 0 };
			if (ops->alloc(*k, guestconf_get(gc->pending, *k), &canon, ops->userdata,
			               &e) < 0) {
				warn(ops, "unable to apply pending change %s : %s", *k, e.msg);
				continue;
			}
			if (canon)
				guestconf_set(gc->pending, *k, canon);
		}
		const char *old = guestconf_get(&gc->main, *k);
		_cleanup_free_ char *old_vol =
		        old && ct_is_volume_key(*k) ? ct_mount_volume(*k, old) : NULL;
		_cleanup_free_ char *new_vol =
		        old_vol ? ct_mount_volume(*k, guestconf_get(gc->pending, *k)) : NULL;
		const char *only[] = { *k, NULL };
		changed |= guestconf_apply_pending(gc, only);
		if (old_vol && (!new_vol || !streq(old_vol, new_vol)))
			keep_unused(gc, *k, old_vol, ops);
	}
	const char *desc[] = { "description", NULL };
	changed |= guestconf_apply_pending(gc, desc);
	guestconf_prune_pending(gc);
	return changed;
}

/* Limits a running CT takes at once (PVE's vmconfig_hotplug_pending: cgroup writes). */
static const char *const live_keys[] = { "memory", "swap", "cpulimit", "cpuunits", NULL };

int
ct_hotplug_limits(unsigned vmid, struct guestconf **gcp, const char **ret_key, struct error *err)
{
	struct guestconf *gc = *gcp;
	const char *first = NULL;
	for (const char *const *k = live_keys; *k && !first; k++)
		if (gc->pending &&
		    (guestconf_get(gc->pending, *k) || guestconf_pending_delete_has(gc, *k, NULL)))
			first = *k;
	if (!first)
		return 0;
	struct guestconf *next = guestconf_dup(gc);
	guestconf_apply_pending(next, live_keys);
	struct ct_config *cc = NULL;
	int r = ct_conf_typed(next, vmid, &cc, err);
	if (r >= 0) {
		_cleanup_free_ char *rel = xasprintf("lxc/%u", vmid);
		r = cg_apply_limits(ct_cg_host(), rel, cc->memory, cc->swap, cc->cpulimit,
		                    cc->cpuunits, err);
	}
	ct_config_free(cc);
	if (r < 0) {
		*ret_key = first;
		guestconf_free(next);
		return r;
	}
	guestconf_free(gc);
	*gcp = next;
	return 0;
}

/* One pending NIC change of a running CT made live; the key's pending change is committed. */
static int
hotplug_net(struct guestconf *gc, unsigned vmid, pid_t pid, const char *key, ct_log_fn log,
            void *userdata, struct error *err)
{
	const char *old_text = guestconf_get(&gc->main, key);
	bool del = guestconf_pending_delete_has(gc, key, NULL);
	const char *new_text = del ? NULL : guestconf_get(gc->pending, key);
	struct ct_net old = { 0 }, now = { 0 };
	int r = 0;
	if (old_text)
		r = ct_net_parse(key, old_text, &old, err);
	if (r >= 0 && new_text)
		r = ct_net_parse(key, new_text, &now, err);
	if (r >= 0)
		r = ct_net_hotplug(vmid, pid, old_text ? &old : NULL, new_text ? &now : NULL, log,
		                   userdata, err);
	ct_net_done(&old);
	ct_net_done(&now);
	if (r >= 0) {
		const char *only[] = { key, NULL };
		guestconf_apply_pending(gc, only);
	}
	return r;
}

int
ct_hotplug_nets(struct guestconf *gc, unsigned vmid, pid_t pid, ct_log_fn log, void *userdata,
                char **ret_key, struct error *err)
{
	if (!gc->pending)
		return 0;
	_cleanup_(strv_freep) char **dels = guestconf_pending_delete_keys(gc);
	_cleanup_(strv_freep) char **sets = guestconf_pending_set_keys(gc);
	int applied = 0;
	char **lists[] = { dels, sets };
	for (size_t l = 0; l < ARRAY_SIZE(lists); l++)
		for (char **k = lists[l]; *k; k++) {
			if (!ct_is_net_key(*k, NULL))
				continue;
			struct error e = { 0 };
			if (hotplug_net(gc, vmid, pid, *k, log, userdata, &e) < 0) {
				if (!*ret_key) {
					*ret_key = xstrdup(*k);
					error_set(err, e.code ? e.code : EIO, "%s", e.msg);
				}
				continue;
			}
			applied++;
		}
	guestconf_prune_pending(gc);
	return applied;
}
