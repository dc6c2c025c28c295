/* What the handler files share: the route tables they export and small helpers. */
#pragma once

#include "api/api.h"
#include "api/params.h"
#include "berth-version.h"

/* route tables, one per area (collected in routes.c) */
extern const struct api_route api_routes_version[];
extern const struct api_route api_routes_nodes[];
extern const struct api_route api_routes_cluster[];
extern const struct api_route api_routes_access[];
extern const struct api_route api_routes_users[];
extern const struct api_route api_routes_acl[];
extern const struct api_route api_routes_tasks[];
extern const struct api_route api_routes_berth[];
extern const struct api_route api_routes_storage[];
extern const struct api_route api_routes_content[];
extern const struct api_route api_routes_aplinfo[];
extern const struct api_route api_routes_lxc[];
extern const struct api_route api_routes_console[];
extern const struct api_route api_routes_pools[];
extern const struct api_route api_routes_qemu_disk[];
extern const struct api_route api_routes_lxc_disk[];
extern const struct api_route api_routes_qemu[];
extern const struct api_route api_routes_qemu_console[];
extern const struct api_route api_routes_metrics[];

/* task functions (the worker side of routes that start tasks) */
int probe_task_run(struct task_worker *w, json_t *params, struct error *err);
int upload_task_run(struct task_worker *w, json_t *params, struct error *err);  /* imgcopy */
int imgdel_task_run(struct task_worker *w, json_t *params, struct error *err);  /* imgdel */
int aplinfo_task_run(struct task_worker *w, json_t *params, struct error *err); /* download */

/* storage.cfg, parsed: in the daemon (from the store) and in a task worker (from its
 * worker_env). NULL after filling err; caller frees with storage_config_free. */
struct storage_config;
struct storage_config *api_storage_config(struct api_ctx *ctx, struct error *err);
struct storage_config *worker_storage_config(struct task_worker *w, struct error *err);

/* PVE's check_volume_access: may the caller use volume v on storage sid? 0, or -EACCES
 * with the 403 text in call->err. */
struct volname;
int api_check_volume_access(struct api_call *c, const char *sid, const struct volname *v);

/* /cluster/resources entries of this node's containers the caller may see. */
json_t *lxc_resource_entries(struct api_call *c);
/* ... and of its VMs. */
json_t *qemu_resource_entries(struct api_call *c);

/* {version, release, repoid, berth} */
json_t *version_info(void);

/* A node entry as in GET /nodes and /cluster/resources; figures only when audit is true. */
json_t *node_entry(struct api_ctx *ctx, const char *node, bool audit);
/* GET /nodes/{node}/status's object, with the CPU shares of host (the API's or the metrics
 * sampler's). */
struct hoststats;
json_t *node_status_json(struct api_ctx *ctx, const struct hoststats *host);
/* A storage entry of /cluster/resources: "status" "available" with disk and maxdisk (bytes)
 * when the storage is active on this node. */
struct storage;
json_t *storage_resource_entry(struct api_ctx *ctx, const struct storage *s);

/* A list of {name: ...} objects: PVE's directory index answer. */
json_t *index_list(const char *const *names);

/* Read a store file as text; NULL when absent (errors other than absence are logged). */
char *store_text(struct api_ctx *ctx, const char *path);

/* Read-modify-write one store file with compare-and-set, retried when another writer got
 * there first. edit() gets the current text ("" when absent) and its digest (NULL when
 * absent) and returns the new text (freed here), or NULL after filling call->err. */
typedef char *(*store_edit_fn)(struct api_call *c, const char *old_text, const char *old_digest,
                               void *arg);
int store_text_update(struct api_call *c, const char *path, store_edit_fn edit, void *arg);

/* Start a task for the caller and answer its UPID (the route's data). Takes params (may be
 * NULL); the worker gets copies of fds (see taskmgr_start_fds). */
int api_start_task(struct api_call *c, const char *type, const char *id, json_t *params,
                   const int *fds, unsigned n_fds);

/* PVE's digest check for config updates: 0, or -EIO with "detected modified configuration"
 * when the "digest" parameter is given and does not match old_digest. */
int api_digest_check(struct api_call *c, const char *old_digest);

/* Finish a call on the thread pool: work(c, arg) runs there (no store access, no loop state;
 * it fills c->data or c->err and returns as a handler does), then the call completes on the
 * loop. Returns API_DEFERRED (or a failure to queue). */
int api_call_blocking(struct api_call *c, int (*work)(struct api_call *c, void *arg), void *arg);
/* The same, then after(c, arg, <work's result>) on the loop (where the store may be used); its
 * result completes the call. after also runs when work failed: it owns arg. */
int api_call_blocking_then(struct api_call *c, int (*work)(struct api_call *c, void *arg),
                           int (*after)(struct api_call *c, void *arg, int r), void *arg);
/* After api_start_task (the UPID in c->data): answer once the task ended, or timeout_ms (0:
 * no limit) passed first, with after(c, t): t the ended task, or NULL on the timeout. Returns
 * API_DEFERRED (or a failure to wait). */
int api_call_wait_task(struct api_call *c, unsigned timeout_ms,
                       int (*after)(struct api_call *c, const struct task_info *t));
/* A config update as a task gets it in its params: the sets (scalars as text; the task's own
 * parameters `own` left out), the delete and revert lists. */
struct guest_update {
	json_t *sets;
	char **del, **rev;
};
void guest_update_from_params(json_t *params, const char *const *own, struct guest_update *u);
void guest_update_done(struct guest_update *u);
/* The same from a PUT/POST config request (own: the route's own parameters), with PVE's
 * refusals: a key both set and deleted (400), with check_revert also one set or deleted and
 * reverted (400), nothing at all ("500 no options specified"). u is filled either way. */
int api_update_parse(struct api_call *c, const struct api_schema *own, bool check_revert,
                     struct guest_update *u);

/* PVE's upid_status_is_error: anything but OK and "WARNINGS: n". */
bool api_task_failed(const struct task_info *t);
/* An `after` for api_call_wait_task where the call is synchronous (PUT config that needs a
 * task): null when the task ended well, its error as "500 <status>" when not. */
int api_null_after_task(struct api_call *c, const struct task_info *t);

/* Read-modify-write user.cfg: parse the current file, let edit() change it (returning 0, or
 * a negative errno after filling call->err), write it back with compare-and-set, retrying
 * when another writer got there first; the auth cache is refreshed afterwards. */
struct usercfg;
int usercfg_transaction(struct api_call *c,
                        int (*edit)(struct api_call *c, struct usercfg *cfg, void *arg), void *arg);

/* Replace (hash != NULL) or remove a line of a "key value"-style private file under the store
 * (priv/shadow.cfg, priv/token.cfg) with compare-and-set retries. */
int shadow_set_hash(struct api_call *c, const char *userid, const char *hash);
int tokencfg_set_hash(struct api_call *c, const char *full_tokenid, const char *hash);
