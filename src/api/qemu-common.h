/* What the VM routes (h-qemu.c) and their tasks (t-qemu.c) share: the typed config, the host
 * facts the QEMU driver needs (run directory, KVM or TCG, firmware, the volume resolver), and
 * which node setting picks the accelerator. */
#pragma once

#include "api/lxc-common.h"
#include "guest/qemu/vmrun.h"

struct storage_config;

/* The typed view of a VM config's main section. */
int vm_conf_typed(const struct guestconf *gc, unsigned vmid, struct vm_config **ret,
                  struct error *err);

/* The status fields PVE's vmstatus returns for one VM (status/current, the lists,
 * /cluster/resources, the metrics sampler); full adds what needs QMP; cpu from the given cache
 * (NULL: the API's). */
json_t *vm_status_json(struct api_ctx *ctx, struct guest_cpu_cache *cpu, unsigned vmid,
                       const struct guestconf *gc, bool full);

/* The run directory of VMs under a daemon root: "<root>/run/qemu"; caller frees. */
char *vm_run_dir(const char *root_dir);

/* Does this node run VMs with KVM? The node config's Berth key `kvm` (0/1) when set, else
 * whether the host can: /dev/kvm opens read-write and the CPU has hardware virtualisation
 * (vmx or svm; a paravirtual KVM without them, as kvm_pvm, hangs ordinary guest kernels). */
bool vm_node_kvm(struct store *st, const char *node);
/* The host side of that answer alone (no node setting). */
bool vm_host_kvm_usable(void);

/* The driver's host facts. scfg (borrowed, may be NULL for observation only) resolves
 * volumes; kvm from vm_node_kvm. Keeps pointers into *e: do not copy it. */
struct vm_env {
	struct qemu_env q;
	struct vm_host h;
	char *run_dir;
	const struct storage_config *scfg;
};
void vm_env_init(struct vm_env *e, const char *root_dir, const struct storage_config *scfg,
                 bool kvm);
void vm_env_done(struct vm_env *e);

/* netN in canonical form ("virtio=<MAC>,bridge=..."): the MAC given, else the one keep_from
 * (the NIC's old value) has, else a new random one. NULL with err when value is malformed. */
char *vm_net_canonical(const char *key, const char *value, const char *keep_from,
                       struct error *err);
/* Keys a running VM takes at once (PVE's "fast plug" options: name, description, onboot,
 * protection, startup, tags, lock, hookscript); all others wait in [PENDING]. */
bool vm_key_fastplug(const char *key);

/* For vm_update_apply: turn a disk value that asks for a new volume ("local:4,...") into the
 * stored one (*ret, caller frees; NULL: keep the value); and free a volume. */
typedef int (*vm_alloc_fn)(const char *key, const char *value, char **ret, void *userdata,
                           struct error *err);
typedef int (*vm_free_fn)(const char *volid, void *userdata, struct error *err);

/* Apply a config update to gc as qemu-server's update_vm_api does once the checks passed:
 * revert drops pending values; each set goes into the config (a stopped VM, or a fast-plug
 * key) or into [PENDING]; NICs get canonical form and keep their MAC; a replaced or deleted
 * disk's volume becomes unusedN, unless force (then free_volume frees it, as for deleted
 * unusedN); deleted keys leave the boot order (pending on a running VM); deleting an unset
 * key calls warn(). alloc may be NULL: values are stored as given. The result must load as a
 * VM config (400 otherwise). */
int vm_update_apply(struct guestconf *gc, unsigned vmid, bool running, json_t *sets, char **del,
                    char **rev, bool force, vm_alloc_fn alloc, vm_free_fn free_volume,
                    void (*warn)(const char *line, void *userdata), void *userdata,
                    struct error *err);

/* The boot order ("order=a;b") without the keys in del (PVE drops deleted disks from it);
 * NULL when boot does not name any of them, "" when nothing is left. The pending boot is
 * used when there is one. Caller frees. */
char *vm_boot_without(const struct guestconf *gc, char **del);
/* The volume a disk value names that the VM would own (not a CD-ROM, not a path), or NULL;
 * caller frees. */
char *vm_disk_volume(const char *key, const char *value);

/* Move key's pending change into the config (PVE's vmconfig_apply_pending, one key): a
 * pending value replaces the current one, a replaced disk's volume becoming unusedN; a
 * pending deletion removes the key, a disk's volume becoming unusedN, or freed with
 * free_volume when the deletion was forced (and for unusedN itself). */
int vm_pending_commit(struct guestconf *gc, unsigned vmid, const char *key, vm_free_fn free_volume,
                      void *userdata, struct error *err);
/* All pending changes, deletions first (a VM being started). 1 when there were any. */
int vm_pending_commit_all(struct guestconf *gc, unsigned vmid, vm_free_fn free_volume,
                          void *userdata, struct error *err);

/* After gc's pending changes were saved for running VM vmid: apply live what it can take
 * (PVE's vmconfig_hotplug_pending; see qemu-hotplug.c) and commit each change that took.
 * A change that failed stays pending; *ret_errors (NULL when none) maps its key to PVE's
 * "hotplug problem - <why>" (a 400 parameter error for PUT config, as PVE). Keys that need
 * a restart stay pending silently. The number of changes applied (save gc when > 0). */
int vm_hotplug_pending(const struct vm_host *h, struct guestconf *gc, unsigned vmid,
                       vm_free_fn free_volume, void (*log)(const char *line, void *userdata),
                       void *userdata, json_t **ret_errors, struct error *err);

/* Start VM vmid inside another task (startall), logging to it: what qmstart does.
 * -EEXIST when it runs already. */
int vm_start_from_task(struct task_worker *w, unsigned vmid, struct error *err);

/* The task functions (worker side). */
int vm_create_task_run(struct task_worker *w, json_t *params, struct error *err);
int vm_start_task_run(struct task_worker *w, json_t *params, struct error *err);
int vm_stop_task_run(struct task_worker *w, json_t *params, struct error *err);
int vm_shutdown_task_run(struct task_worker *w, json_t *params, struct error *err);
int vm_reboot_task_run(struct task_worker *w, json_t *params, struct error *err);
int vm_reset_task_run(struct task_worker *w, json_t *params, struct error *err);
int vm_suspend_task_run(struct task_worker *w, json_t *params, struct error *err);
int vm_resume_task_run(struct task_worker *w, json_t *params, struct error *err);
int vm_destroy_task_run(struct task_worker *w, json_t *params, struct error *err);
int vm_config_task_run(struct task_worker *w, json_t *params, struct error *err);
/* t-qemu-disk.c; "resize" serves containers too (a VM disk key picks the VM side) */
int guest_resize_task_run(struct task_worker *w, json_t *params, struct error *err);
int vm_move_disk_task_run(struct task_worker *w, json_t *params, struct error *err);
int vm_template_task_run(struct task_worker *w, json_t *params, struct error *err);
