/* /pools: resource pools as Proxmox VE 8 has them (PVE/API2/Pool.pm), kept in user.cfg's
 * "pool:" lines: list, create, read with members, update (comment, VMs and storages added or,
 * with delete, removed; a VM moves from another pool only with allow-move), delete when
 * empty. Both the PVE >= 8.1 forms (PUT/DELETE /pools?poolid=) and the older
 * /pools/{poolid} ones. */
#include "api/authcache.h"
#include "api/handlers.h"
#include "auth/usercfg.h"
#include "schema/schema.h"
#include "storage/storage.h"
#include "store/store.h"

#include <stdio.h>

static bool
may_audit(struct api_call *c, const char *poolid)
{
	_cleanup_free_ char *path = xasprintf("/pool/%s", poolid);
	return api_has_privs(c, path, "Pool.Audit", false);
}

static bool
has_vmid(const struct uc_pool *p, uint32_t vmid)
{
	for (size_t i = 0; i < p->n_vmids; i++)
		if (p->vmids[i] == vmid)
			return true;
	return false;
}

static bool
has_storage(const struct uc_pool *p, const char *sid)
{
	for (size_t i = 0; i < p->n_storage; i++)
		if (streq(p->storage[i], sid))
			return true;
	return false;
}

/* PVE's pool members: the guests' /cluster/resources entries (with "pool"), and the
 * storages' ("storage/<node>/<sid>"); type filters ("qemu", "lxc", "storage"). */
static json_t *
members(struct api_call *c, const struct uc_pool *p, const char *type)
{
	json_t *out = json_array();
	json_t *all = json_array();
	if (!type || !streq(type, "storage")) {
		json_t *vms = qemu_resource_entries(c);
		json_array_extend(all, vms);
		json_decref(vms);
		json_t *cts = lxc_resource_entries(c);
		json_array_extend(all, cts);
		json_decref(cts);
	}
	size_t i;
	json_t *e;
	json_array_foreach (all, i, e) {
		json_int_t vmid = json_integer_value(json_object_get(e, "vmid"));
		const char *t = json_string_value(json_object_get(e, "type"));
		if (vmid <= 0 || !has_vmid(p, (uint32_t)vmid) || (type && t && !streq(type, t)))
			continue;
		json_object_set_new(e, "pool", json_string(p->poolid));
		json_array_append(out, e);
	}
	json_decref(all);
	if (type && !streq(type, "storage"))
		return out;
	for (size_t k = 0; k < p->n_storage; k++) {
		_cleanup_free_ char *id = xasprintf("storage/%s/%s", c->ctx->node, p->storage[k]);
		json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s}", "id", id, "node",
		                                     c->ctx->node, "storage", p->storage[k], "type",
		                                     "storage"));
	}
	return out;
}

static json_t *
pool_entry(struct api_call *c, const struct uc_pool *p, bool with_members, const char *type)
{
	json_t *e = json_pack("{s:s}", "poolid", p->poolid);
	if (p->comment && *p->comment)
		json_object_set_new(e, "comment", json_string(p->comment));
	if (with_members)
		json_object_set_new(e, "members", members(c, p, type));
	return e;
}

static int
list_pools(struct api_call *c)
{
	const struct usercfg *cfg = authcache_usercfg(c->ctx->auth);
	const char *only = param_str(c->params, "poolid");
	const char *type = param_str(c->params, "type");
	if (type && !only)
		return api_param_error(c, "type", "'type' requires 'poolid'");
	c->data = json_array();
	for (size_t i = 0; i < cfg->n_pools; i++) {
		const struct uc_pool *p = &cfg->pools[i];
		if ((only && !streq(p->poolid, only)) || !may_audit(c, p->poolid))
			continue;
		json_array_append_new(c->data, pool_entry(c, p, only != NULL, type));
	}
	if (only && json_array_size(c->data) == 0) {
		json_decref(c->data);
		c->data = NULL;
		return api_fail(c, 500, "pool '%s' does not exist", only);
	}
	return 0;
}

static int
read_pool(struct api_call *c)
{
	const struct usercfg *cfg = authcache_usercfg(c->ctx->auth);
	const char *id = param_str(c->params, "poolid");
	const struct uc_pool *p = usercfg_find_pool(cfg, id);
	if (!p)
		return api_fail(c, 500, "pool '%s' does not exist", id);
	json_t *e = pool_entry(c, p, true, param_str(c->params, "type"));
	json_object_del(e, "poolid");
	if (!json_object_get(e, "comment"))
		json_object_set_new(e, "comment", json_string(""));
	c->data = e;
	return 0;
}

/* ---- changes ---- */

static int
edit_create(struct api_call *c, struct usercfg *cfg, void *arg)
{
	(void)arg;
	const char *id = param_str(c->params, "poolid");
	if (usercfg_find_pool(cfg, id))
		return api_fail(c, 500, "pool '%s' already exists", id);
	const char *comment = param_str(c->params, "comment");
	if (comment && strpbrk(comment, "\r\n"))
		return api_param_error(c, "comment", "invalid characters in comment");
	cfg->pools = xrealloc(cfg->pools, (cfg->n_pools + 1) * sizeof(*cfg->pools));
	cfg->pools[cfg->n_pools++] = (struct uc_pool){
		.poolid = xstrdup(id),
		.comment = comment ? xstrdup(comment) : NULL,
	};
	return 0;
}

static int
create_pool(struct api_call *c)
{
	return usercfg_transaction(c, edit_create, NULL);
}

/* Is vmid a guest of this cluster (a config under nodes/<any>/{qemu-server,lxc})? */
static bool
guest_exists(struct api_ctx *ctx, uint32_t vmid)
{
	static const char *const dirs[] = { "qemu-server", "lxc" };
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		_cleanup_free_ char *path =
		        xasprintf("nodes/%s/%s/%u.conf", ctx->node, dirs[i], vmid);
		struct store_file f = { 0 };
		int r = store_read(ctx->store, path, &f);
		store_file_done(&f);
		if (r == 0)
			return true;
	}
	return false;
}

static void
drop_storage(struct uc_pool *p, const char *sid)
{
	for (size_t i = 0; i < p->n_storage; i++)
		if (streq(p->storage[i], sid)) {
			free(p->storage[i]);
			p->storage[i] = p->storage[--p->n_storage];
			return;
		}
}

static int
edit_update(struct api_call *c, struct usercfg *cfg, void *arg)
{
	(void)arg;
	const char *id = param_str(c->params, "poolid");
	struct uc_pool *p = usercfg_find_pool(cfg, id);
	if (!p)
		return api_fail(c, 500, "pool '%s' does not exist", id);
	bool del = param_bool(c->params, "delete", false);
	bool move = param_bool(c->params, "allow-move", false);
	const char *comment = param_str(c->params, "comment");
	if (comment) {
		if (strpbrk(comment, "\r\n"))
			return api_param_error(c, "comment", "invalid characters in comment");
		free(p->comment);
		p->comment = xstrdup(comment);
	}
	const char *vms = param_str(c->params, "vms");
	_cleanup_(strv_freep) char **vmids = vms ? split_list(vms) : NULL;
	for (char **v = vmids; v && *v; v++) {
		uint32_t vmid = (uint32_t)strtoul(*v, NULL, 10);
		_cleanup_free_ char *path = xasprintf("/vms/%u", vmid);
		if (api_check_privs(c, path, "VM.Allocate", false) < 0)
			return -EACCES;
		if (del) {
			if (!has_vmid(p, vmid))
				return api_fail(c, 500, "VM %u is not a pool member", vmid);
			usercfg_pool_remove_vm(cfg, vmid);
			p = usercfg_find_pool(cfg, id);
			continue;
		}
		if (!guest_exists(c->ctx, vmid))
			return api_fail(c, 500, "no such VM '%u'", vmid);
		for (size_t i = 0; i < cfg->n_pools; i++)
			if (has_vmid(&cfg->pools[i], vmid) && !move)
				return api_fail(c, 500, "VM %u belongs already to pool '%s'", vmid,
				                cfg->pools[i].poolid);
		usercfg_pool_add_vm(cfg, id, vmid);
		p = usercfg_find_pool(cfg, id);
	}
	const char *storage = param_str(c->params, "storage");
	_cleanup_(strv_freep) char **sids = storage ? split_list(storage) : NULL;
	struct error e = { 0 };
	struct storage_config *scfg = sids ? api_storage_config(c->ctx, &e) : NULL;
	if (sids && !scfg)
		return api_fail(c, 500, "%s", e.msg);
	int r = 0;
	for (char **s = sids; r >= 0 && s && *s; s++) {
		_cleanup_free_ char *path = xasprintf("/storage/%s", *s);
		if (api_check_privs(c, path, "Datastore.Allocate", false) < 0)
			r = -EACCES;
		else if (del && !has_storage(p, *s))
			r = api_fail(c, 500, "storage '%s' is not a pool member", *s);
		else if (del)
			drop_storage(p, *s);
		else if (!storage_config_find(scfg, *s))
			r = api_fail(c, 500, "storage '%s' does not exist", *s);
		else if (!has_storage(p, *s)) {
			p->storage = xrealloc(p->storage, (p->n_storage + 1) * sizeof(*p->storage));
			p->storage[p->n_storage++] = xstrdup(*s);
		}
	}
	storage_config_free(scfg);
	return r;
}

static int
update_pool(struct api_call *c)
{
	return usercfg_transaction(c, edit_update, NULL);
}

static int
edit_delete(struct api_call *c, struct usercfg *cfg, void *arg)
{
	(void)arg;
	const char *id = param_str(c->params, "poolid");
	struct uc_pool *p = usercfg_find_pool(cfg, id);
	if (!p)
		return api_fail(c, 500, "pool '%s' does not exist", id);
	if (p->n_vmids || p->n_storage)
		return api_fail(c, 500, "pool '%s' is not empty", id);
	/* ACL entries on the pool go with it (PVE's delete_pool_acl) */
	_cleanup_free_ char *acl_path = xasprintf("/pool/%s", id);
	for (size_t i = 0; i < cfg->n_acls;) {
		if (!streq(cfg->acls[i].path, acl_path)) {
			i++;
			continue;
		}
		struct uc_acl a = cfg->acls[i];
		a.path = xstrdup(a.path);
		a.ugid = xstrdup(a.ugid);
		a.roleid = xstrdup(a.roleid);
		usercfg_set_acl(cfg, &a, true);
		free(a.path);
		free(a.ugid);
		free(a.roleid);
	}
	free(p->poolid);
	free(p->comment);
	free(p->vmids);
	free(p->storage);
	*p = cfg->pools[--cfg->n_pools];
	return 0;
}

static int
delete_pool(struct api_call *c)
{
	return usercfg_transaction(c, edit_delete, NULL);
}

/* ---- routes ---- */

#define POOLID_PARAM                                                                               \
	{                                                                                          \
		.name = "poolid", .type = API_T_STRING, .format = "pve-poolid", .max_length = 64   \
	}
#define TYPE_PARAM                                                                                 \
	{                                                                                          \
		.name = "type", .type = API_T_STRING, .optional = true,                            \
		.enums = (const char *const[])                                                     \
		{                                                                                  \
			"qemu", "lxc", "storage", NULL                                             \
		}                                                                                  \
	}

static const struct api_schema list_params[] = {
	{ .name = "poolid",
	  .type = API_T_STRING,
	  .format = "pve-poolid",
	  .optional = true,
	  .max_length = 64 },
	TYPE_PARAM,
	PARAM_END,
};
static const struct api_schema read_params[] = { POOLID_PARAM, TYPE_PARAM, PARAM_END };
static const struct api_schema id_params[] = { POOLID_PARAM, PARAM_END };
static const struct api_schema create_params[] = {
	POOLID_PARAM,
	{ .name = "comment", .type = API_T_STRING, .optional = true, .max_length = 4096 },
	PARAM_END,
};
static const struct api_schema update_params[] = {
	POOLID_PARAM,
	{ .name = "comment", .type = API_T_STRING, .optional = true, .max_length = 4096 },
	{ .name = "vms",
	  .type = API_T_STRING,
	  .format = "pve-vmid-list",
	  .optional = true,
	  .description = "List of guest VMIDs to add or remove from this pool." },
	{ .name = "storage",
	  .type = API_T_STRING,
	  .format = "pve-storage-id-list",
	  .optional = true,
	  .description = "List of storage IDs to add or remove from this pool." },
	{ .name = "delete",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "Remove the passed VMIDs and/or storage IDs instead of adding them." },
	{ .name = "allow-move",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .description = "Allow adding a guest even if already in another pool. The guest "
	                 "will be removed from its current pool and added to this one." },
	PARAM_END,
};

#define POOL_PERM(p)                                                                               \
	{                                                                                          \
		.kind = PERM_PRIVS, .path = "/pool/{poolid}", .privs = p                           \
	}

const struct api_route api_routes_pools[] = {
	{ .method = API_GET,
	  .path = "/pools",
	  .params = list_params,
	  .perm = { .kind = PERM_ANY_USER,
	            .description = "List pools or get pool configuration; only pools with "
	                           "Pool.Audit are shown." },
	  .handler = list_pools,
	  .description = "List pools or get pool configuration." },
	{ .method = API_POST,
	  .path = "/pools",
	  .params = create_params,
	  .perm = POOL_PERM("Pool.Allocate"),
	  .handler = create_pool,
	  .description = "Create new pool." },
	{ .method = API_PUT,
	  .path = "/pools",
	  .params = update_params,
	  .perm = POOL_PERM("Pool.Allocate"),
	  .handler = update_pool,
	  .description = "Update pool." },
	{ .method = API_DELETE,
	  .path = "/pools",
	  .params = id_params,
	  .perm = POOL_PERM("Pool.Allocate"),
	  .handler = delete_pool,
	  .description = "Delete pool." },
	{ .method = API_GET,
	  .path = "/pools/{poolid}",
	  .params = read_params,
	  .perm = POOL_PERM("Pool.Audit"),
	  .handler = read_pool,
	  .description = "Get pool configuration (deprecated, no support for nested pools, use "
	                 "'GET /pools/?poolid={poolid}')." },
	{ .method = API_PUT,
	  .path = "/pools/{poolid}",
	  .params = update_params,
	  .perm = POOL_PERM("Pool.Allocate"),
	  .handler = update_pool,
	  .description = "Update pool data (deprecated, no support for nested pools - use 'PUT "
	                 "/pools/?poolid={poolid}' instead)." },
	{ .method = API_DELETE,
	  .path = "/pools/{poolid}",
	  .params = id_params,
	  .perm = POOL_PERM("Pool.Allocate"),
	  .handler = delete_pool,
	  .description = "Delete pool (deprecated, no support for nested pools, use 'DELETE "
	                 "/pools/?poolid={poolid}')." },
	{ .handler = NULL },
};
