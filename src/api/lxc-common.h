/* What the container routes (h-lxc.c) and their tasks (t-lxc.c) share: where a CT's config
 * lives in the store, loading and saving it, its lock, and the host facts the driver needs. */
#pragma once

#include "api/handlers.h"
#include "guest/lxc/ctconf.h"
#include "guest/lxc/runtime.h"
#include "store/store.h"

/* "nodes/<node>/lxc/<vmid>.conf" and "nodes/<node>/qemu-server/<vmid>.conf"; caller frees */
char *ct_conf_path(const char *node, unsigned vmid);
char *vm_conf_path(const char *node, unsigned vmid);

/* Load and parse a CT config. A missing file is -ENOENT with PVE's 500 "Configuration file
 * 'nodes/<node>/lxc/<vmid>.conf' does not exist". ret_digest (41 bytes) may be NULL. */
int ct_conf_load(struct store *st, const char *node, unsigned vmid, struct guestconf **ret,
                 char *ret_digest, struct error *err);
/* Write it back; expect_digest as for store_write (NULL unconditional, "" new file). */
int ct_conf_save(struct store *st, const char *node, unsigned vmid, const struct guestconf *gc,
                 const char *expect_digest, struct error *err);
/* The typed view of the main section. */
int ct_conf_typed(const struct guestconf *gc, unsigned vmid, struct ct_config **ret,
                  struct error *err);

/* Serialise changes to one CT across the daemon and its workers (PVE's lock_config):
 * -ETIMEDOUT "can't lock file '...' - got timeout" after timeout_ms. */
int ct_lock(struct store *st, const char *node, unsigned vmid, int timeout_ms,
            struct store_lock **ret, struct error *err);
/* "CT is locked (<lock>)" when the config carries a lock. */
int ct_check_lock(const struct guestconf *gc, struct error *err);
/* A line of a tool's or liblxc's output into the log of the task worker `w`. */
void ct_task_log_line(const char *line, void *w);
/* ct_lock, then ct_conf_load; on failure nothing is held (*ret_lock and *ret_gc NULL). */
int ct_conf_load_locked(struct store *st, const char *node, unsigned vmid,
                        struct store_lock **ret_lock, struct guestconf **ret_gc, char *digest,
                        struct error *err);

/* Put guest vmid into pool (NULL: out of any pool) in user.cfg, as PVE's add_vm_to_pool and
 * remove_vm_access; read-modify-write on the store's digest, retried on a race. */
int guest_pool_set(struct store *st, unsigned vmid, const char *pool, struct error *err);

/* The host's cgroup layout, detected once per process. */
const struct cg_host *ct_cg_host(void);
/* The driver's host facts for a root directory; lxcpath points into buf. */
void ct_env_init(struct ct_lxc_env *env, const char *root_dir, char *buf, size_t buf_len);

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
