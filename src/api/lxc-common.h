/* What the guest routes (h-lxc.c, h-qemu.c) and their tasks share: where a guest's config
 * lives in the store, loading and saving it, its lock, and the host facts the drivers need. */
#pragma once

#include "api/handlers.h"
#include "guest/lxc/ctconf.h"
#include "guest/lxc/runtime.h"
#include "store/store.h"

/* "nodes/<node>/lxc/<vmid>.conf" or "nodes/<node>/qemu-server/<vmid>.conf"; caller frees */
char *guest_conf_path(enum guestconf_kind kind, const char *node, unsigned vmid);

/* Load and parse a guest config. A missing file is -ENOENT with PVE's 500 "Configuration file
 * 'nodes/<node>/lxc/<vmid>.conf' does not exist". ret_digest (41 bytes) may be NULL. */
int guest_conf_load(struct store *st, enum guestconf_kind kind, const char *node, unsigned vmid,
                    struct guestconf **ret, char *ret_digest, struct error *err);
/* Write it back; expect_digest as for store_write (NULL unconditional, "" new file). */
int guest_conf_save(struct store *st, const char *node, unsigned vmid, const struct guestconf *gc,
                    const char *expect_digest, struct error *err);
/* Serialise changes to one guest across the daemon and its workers (PVE's lock_config):
 * -ETIMEDOUT "can't lock file '...' - got timeout" after timeout_ms. */
int guest_lock(struct store *st, enum guestconf_kind kind, const char *node, unsigned vmid,
               int timeout_ms, struct store_lock **ret, struct error *err);
/* PVE's digest check of a config update: 0 when want (the client's "digest") is NULL or
 * matches have (case-insensitive); else -ESTALE, 500 "detected modified configuration -
 * file changed by other user? Try again.", as a failed guest_conf_save on a stale digest. */
int guest_digest_check(const char *want, const char *have, struct error *err);
/* "CT is locked (<lock>)" / "VM is locked (<lock>)" when the config carries a lock. */
int guest_check_lock(const struct guestconf *gc, struct error *err);
/* guest_lock, then guest_conf_load; on failure nothing is held (*ret_lock and *ret_gc NULL). */
int guest_conf_load_locked(struct store *st, enum guestconf_kind kind, const char *node,
                           unsigned vmid, struct store_lock **ret_lock, struct guestconf **ret_gc,
                           char *digest, struct error *err);

/* The container forms of the above. */
static inline char *
ct_conf_path(const char *node, unsigned vmid)
{
	return guest_conf_path(GUESTCONF_LXC, node, vmid);
}
static inline char *
vm_conf_path(const char *node, unsigned vmid)
{
	return guest_conf_path(GUESTCONF_QEMU, node, vmid);
}
static inline int
ct_conf_load(struct store *st, const char *node, unsigned vmid, struct guestconf **ret,
             char *ret_digest, struct error *err)
{
	return guest_conf_load(st, GUESTCONF_LXC, node, vmid, ret, ret_digest, err);
}
static inline int
ct_conf_save(struct store *st, const char *node, unsigned vmid, const struct guestconf *gc,
             const char *expect_digest, struct error *err)
{
	return guest_conf_save(st, node, vmid, gc, expect_digest, err);
}
static inline int
ct_lock(struct store *st, const char *node, unsigned vmid, int timeout_ms, struct store_lock **ret,
        struct error *err)
{
	return guest_lock(st, GUESTCONF_LXC, node, vmid, timeout_ms, ret, err);
}
static inline int
ct_check_lock(const struct guestconf *gc, struct error *err)
{
	return guest_check_lock(gc, err);
}
static inline int
ct_conf_load_locked(struct store *st, const char *node, unsigned vmid, struct store_lock **ret_lock,
                    struct guestconf **ret_gc, char *digest, struct error *err)
{
	return guest_conf_load_locked(st, GUESTCONF_LXC, node, vmid, ret_lock, ret_gc, digest, err);
}
/* The typed view of a CT config's main section. */
int ct_conf_typed(const struct guestconf *gc, unsigned vmid, struct ct_config **ret,
                  struct error *err);
/* A line of a tool's or liblxc's output into the log of the task worker `w`. */
void ct_task_log_line(const char *line, void *w);

/* The vmids of the guests of one kind on node, from their config files; caller frees. */
unsigned *guest_list_ids(struct store *st, enum guestconf_kind kind, const char *node,
                         size_t *ret_n);
/* The last CPU sample per guest (vmids are unique across CTs and VMs). Each observer keeps
 * its own, so a share covers the time since that observer last looked: the API's requests
 * one, the metrics sampler another (PVE's API and pvestatd each keep theirs too). */
struct guest_cpu_cache {
	struct guest_cpu_sample {
		unsigned vmid;
		uint64_t cpu_ns;
		uint64_t when_ns;
		double last;
	} s[256];
};
/* CPU use as a fraction of the guest's cpus, from the change since the last sample of this
 * vmid in cache (NULL: the API requests' cache). */
double guest_cpu_fraction(struct guest_cpu_cache *cache, unsigned vmid, uint64_t cpu_ns,
                          unsigned cpus);
/* The status fields PVE's vmstatus returns for one CT (status/current, the lists,
 * /cluster/resources, the metrics sampler); cpu from the given cache (NULL: the API's). */
json_t *ct_status_json(struct guest_cpu_cache *cpu, unsigned vmid, const struct guestconf *gc);

/* A route's parameter list: its own parameters, then every config key (keys) except the
 * internal ones, those own already has, and "lock" unless with_lock; at most max entries
 * with the terminator. */
void guest_build_params(struct api_schema *out, size_t max, const struct api_schema *own,
                        const struct api_schema *keys, const char *const *internal, bool with_lock);

/* A config section as GET config answers it: integer and boolean keys as numbers (number keys
 * too when reals: LXC's cpulimit; QEMU answers them as strings), the description, raw lxc.*
 * lines as "lxc": [[key, value], ...]. */
typedef const struct api_schema *(*guest_key_schema_fn)(const char *key);
json_t *guest_section_json(const struct guestconf_section *s, guest_key_schema_fn schema,
                           bool reals);
/* GET config's object: the main section (or snapshot snap) with the pending values and
 * deletions applied unless current; NULL with err for a missing snapshot. */
json_t *guest_config_json(struct guestconf *gc, const char *snap, bool current,
                          guest_key_schema_fn schema, bool reals, struct error *err);

/* GET .../pending's array: every key with its current value, its pending value and a
 * deletion mark (1, or 2 when forced), sorted by key, as PVE's get_pending_config. */
json_t *guest_pending_json(struct guestconf *gc, guest_key_schema_fn schema, bool reals);

/* Put guest vmid into pool (NULL: out of any pool) in user.cfg, as PVE's add_vm_to_pool and
 * remove_vm_access; read-modify-write on the store's digest, retried on a race. */
int guest_pool_set(struct store *st, unsigned vmid, const char *pool, struct error *err);

/* The host's cgroup layout, detected once per process. */
const struct cg_host *ct_cg_host(void);
/* The driver's host facts for a root directory; lxcpath points into buf. */
void ct_env_init(struct ct_lxc_env *env, const char *root_dir, char *buf, size_t buf_len);

/* ---- config updates (lxc-update.c) ---- */

/* Keys a running CT takes at once without a restart (descriptive ones); the rest of an
 * update of a running CT waits in [PENDING] (limits are then written by ct_hotplug_limits). */
bool ct_key_hot(const char *key);
/* The storage volume a rootfs/mpN value names (not a host path), or NULL; caller frees. */
char *ct_mount_volume(const char *key, const char *value);
/* Does a rootfs/mpN value ask for a new volume ("local:4,mp=/data", "4,mp=/data")? */
bool ct_mount_allocates(const char *key, const char *value);

/* A netN value in its stored form: parsed, printed canonically, with the MAC of keep_from
 * (the NIC's current value, may be NULL) or a new one when it names none; NULL with err on
 * a malformed value. Caller frees. */
char *ct_net_canonical(const char *key, const char *value, const char *keep_from,
                       struct error *err);

/* What an update does with storage. alloc turns a mount value that asks for a new volume
 * into the stored one (*ret, caller frees; NULL: keep the value); free_volume frees a volume.
 * Either may be NULL (the update is then only checked: values are stored as given and no
 * volume is freed); warn gets PVE's warnings. */
struct ct_update_ops {
	int (*alloc)(const char *key, const char *value, char **ret, void *userdata,
	             struct error *err);
	int (*free_volume)(const char *volid, void *userdata, struct error *err);
	void (*warn)(const char *line, void *userdata);
	void *userdata;
};

/* Apply a checked update to gc as PVE's update_pct_config: revert drops pending values; a
 * set goes into the config (a stopped CT, or a hot key) or into [PENDING]; NICs get their
 * canonical form and keep their MAC; a mount point set on a stopped CT gets its new volume
 * (alloc) and its old volume becomes unusedN, as does the volume of a deleted mount point;
 * deleting unusedN frees its volume at once, running or not, when the CT owns it. The
 * result must load as a CT config (400 otherwise). */
int ct_update_apply(struct guestconf *gc, unsigned vmid, bool running, json_t *sets, char **del,
                    char **rev, const struct ct_update_ops *ops, struct error *err);
/* All pending changes into the config (a CT starting, or stopped): deletions first, new
 * volumes allocated, replaced and removed volumes kept as unusedN, deleted unusedN freed. A
 * change that fails is warned about and stays pending. True when anything moved. */
int ct_pending_commit_all(struct guestconf *gc, unsigned vmid, const struct ct_update_ops *ops);
/* Write the pending limits (memory, swap, cpulimit, cpuunits) of running CT vmid to its
 * cgroup. On success they move into the config (*gcp is replaced); on failure they stay
 * pending, *ret_key names the first and err says why (PVE: "unable to hotplug <key>: ..."). */
int ct_hotplug_limits(unsigned vmid, struct guestconf **gcp, const char **ret_key,
                      struct error *err);
/* Make the pending NIC changes (set or deleted netN) of running CT vmid (init pid) live
 * (PVE's update_net), committing each that took; the number applied. One that fails stays
 * pending; the first such names *ret_key (caller frees) with err saying why. Tasks only. */
int ct_hotplug_nets(struct guestconf *gc, unsigned vmid, pid_t pid, ct_log_fn log, void *userdata,
                    char **ret_key, struct error *err);

/* The task functions (worker side). */
int ct_create_task_run(struct task_worker *w, json_t *params, struct error *err);
int ct_start_task_run(struct task_worker *w, json_t *params, struct error *err);
int ct_stop_task_run(struct task_worker *w, json_t *params, struct error *err);
int ct_shutdown_task_run(struct task_worker *w, json_t *params, struct error *err);
int ct_reboot_task_run(struct task_worker *w, json_t *params, struct error *err);
int ct_suspend_task_run(struct task_worker *w, json_t *params, struct error *err);
int ct_resume_task_run(struct task_worker *w, json_t *params, struct error *err);
int ct_destroy_task_run(struct task_worker *w, json_t *params, struct error *err);
int console_task_run(struct task_worker *w, json_t *params, struct error *err); /* vncproxy */
int ct_resize_task_run(struct task_worker *w, json_t *params, struct error *err);
int ct_template_task_run(struct task_worker *w, json_t *params, struct error *err);
int ct_startall_task_run(struct task_worker *w, json_t *params, struct error *err);
int ct_config_task_run(struct task_worker *w, json_t *params, struct error *err); /* vzconfig */
