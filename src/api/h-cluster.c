/* /cluster: index, resources (nodes and storage; guests join with their drivers) and nextid
 * with Berth's short reservations. */
#include "api/handlers.h"
#include "api/nextid.h"
#include "basic/log.h"
#include "shared/hoststats.h"
#include "storage/storage.h"
#include "store/store.h"

#include <stdio.h>
#include <time.h>

static int
cluster_index(struct api_call *c)
{
	static const char *const names[] = { "nextid", "resources", NULL };
	c->data = index_list(names);
	return 0;
}

json_t *
storage_resource_entry(struct api_ctx *ctx, const struct storage *s)
{
	_cleanup_free_ char *id = xasprintf("storage/%s/%s", ctx->node, s->id);
	_cleanup_free_ char *content = storage_content_format(s->content);
	json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i}", "id", id, "storage", s->id,
	                      "node", ctx->node, "type", "storage", "plugintype", s->type->name,
	                      "content", content, "shared", s->shared ? 1 : 0);
	struct storage_status st = { 0 };
	struct error err = { 0 };
	bool active = storage_enabled_on(s, ctx->node) && s->type->status &&
	              s->type->status(s, &st, &err) >= 0 && st.active;
	json_object_set_new(e, "status", json_string(active ? "available" : "unknown"));
	if (active) {
		json_object_set_new(e, "disk", json_integer((json_int_t)st.used));
		json_object_set_new(e, "maxdisk", json_integer((json_int_t)st.total));
	}
	return e;
}

static int
cluster_resources(struct api_call *c)
{
	struct api_ctx *ctx = c->ctx;
	const char *type = param_str(c->params, "type");
	c->data = json_array();

	if (!type || streq(type, "node")) {
		_cleanup_free_ char *path = xasprintf("/nodes/%s", ctx->node);
		if (api_has_privs(c, path, "Sys.Audit", false))
			json_array_append_new(c->data, node_entry(ctx, ctx->node, true));
	}
	if (!type || streq(type, "vm")) {
		json_t *vms = qemu_resource_entries(c);
		json_array_extend(c->data, vms);
		json_decref(vms);
		json_t *cts = lxc_resource_entries(c);
		json_array_extend(c->data, cts);
		json_decref(cts);
	}
	if (!type || streq(type, "storage")) {
		struct error err = { 0 };
		struct storage_config *cfg = api_storage_config(ctx, &err);
		for (size_t i = 0; cfg && i < cfg->n; i++) {
			const struct storage *s = &cfg->list[i];
			_cleanup_free_ char *path = xasprintf("/storage/%s", s->id);
			if (s->nodes && !storage_enabled_on(s, ctx->node) && !s->disabled)
				continue; /* not configured for this node */
			if (api_has_privs(c, path, "Datastore.Audit,Datastore.AllocateSpace", true))
				json_array_append_new(c->data, storage_resource_entry(ctx, s));
		}
		storage_config_free(cfg);
	}
	return 0;
}

/* ---- nextid ---- */

struct used_ids {
	uint32_t *ids;
	size_t n;
};

/* Guest configs anywhere in the cluster: nodes/<node>/{qemu-server,lxc}/<vmid>.conf */
static void
collect_used_ids(struct api_ctx *ctx, struct used_ids *u)
{
	char **paths = NULL;
	if (store_list(ctx->store, "nodes/", &paths) < 0)
		return;
	for (char **p = paths; *p; p++) {
		const char *base = strrchr(*p, '/');
		if (!base || (!strstr(*p, "/qemu-server/") && !strstr(*p, "/lxc/")))
			continue;
		unsigned long id;
		char tail[8];
		if (sscanf(base + 1, "%lu%7s", &id, tail) == 2 && streq(tail, ".conf")) {
			u->ids = xrealloc(u->ids, (u->n + 1) * sizeof(uint32_t));
			u->ids[u->n++] = (uint32_t)id;
		}
	}
	store_strv_free(paths);
}

static bool
id_used(uint32_t vmid, void *userdata)
{
	const struct used_ids *u = userdata;
	for (size_t i = 0; i < u->n; i++)
		if (u->ids[i] == vmid)
			return true;
	return false;
}

/* datacenter.cfg "next-id: lower=<n>,upper=<n>" */
static void
nextid_range(struct api_ctx *ctx, uint32_t *lower, uint32_t *upper)
{
	*lower = 100;
	*upper = 1000000;
	_cleanup_free_ char *text = store_text(ctx, "datacenter.cfg");
	const char *line = text ? strstr(text, "next-id:") : NULL;
	if (!line || (line != text && line[-1] != '\n'))
		return;
	unsigned long v;
	const char *lo = strstr(line, "lower="), *up = strstr(line, "upper=");
	const char *eol = strchr(line, '\n');
	if (lo && (!eol || lo < eol) && sscanf(lo, "lower=%lu", &v) == 1)
		*lower = (uint32_t)v;
	if (up && (!eol || up < eol) && sscanf(up, "upper=%lu", &v) == 1)
		*upper = (uint32_t)v;
}

static int
cluster_nextid(struct api_call *c)
{
	struct api_ctx *ctx = c->ctx;
	struct used_ids used = { 0 };
	collect_used_ids(ctx, &used);
	time_t now = time(NULL);
	int r = 0;

	if (param_has(c->params, "vmid")) {
		uint32_t vmid = (uint32_t)param_int(c->params, "vmid", 0);
		if (id_used(vmid, &used)) {
			r = api_param_error(c, "vmid", "VM %u already exists", vmid);
		} else {
			nextid_reserve(ctx->nextid, vmid, now);
			c->data = json_sprintf("%u", vmid);
		}
		free(used.ids);
		return r;
	}

	uint32_t lower, upper;
	nextid_range(ctx, &lower, &upper);
	/* PVE's loop excludes upper */
	uint32_t id =
	        upper > lower ? nextid_pick(ctx->nextid, lower, upper - 1, id_used, &used, now) : 0;
	free(used.ids);
	if (!id)
		return api_fail(c, 500, "unable to get any free VMID in range [%u, %u]", lower,
		                upper);
	nextid_reserve(ctx->nextid, id, now);
	/* PVE answers with a string here (Perl stringifies the number); clients expect that */
	c->data = json_sprintf("%u", id);
	return 0;
}

static const char *const resource_types[] = { "vm", "storage", "node", "sdn", NULL };

static const struct api_schema no_params[] = { PARAM_END };
static const struct api_schema resources_params[] = {
	{ .name = "type",
	  .type = API_T_STRING,
	  .enums = resource_types,
	  .optional = true,
	  .description = "Resource type." },
	PARAM_END,
};
static const struct api_schema nextid_params[] = {
	PARAM_VMID_OPT("The (unique) ID of the VM."),
	PARAM_END,
};

const struct api_route api_routes_cluster[] = {
	{ .method = API_GET,
	  .path = "/cluster",
	  .params = no_params,
	  .perm = { .kind = PERM_ANY_USER },
	  .handler = cluster_index,
	  .description = "Cluster index." },
	{ .method = API_GET,
	  .path = "/cluster/resources",
	  .params = resources_params,
	  .perm = { .kind = PERM_ANY_USER,
	            .description = "Only resources the user may audit are listed." },
	  .handler = cluster_resources,
	  .description = "Resources index (cluster wide)." },
	{ .method = API_GET,
	  .path = "/cluster/nextid",
	  .params = nextid_params,
	  .perm = { .kind = PERM_ANY_USER },
	  .handler = cluster_nextid,
	  .description = "Get next free VMID. Pass a VMID to assert that it is free (at time of "
	                 "check). Berth reserves the returned id for 60 seconds, so concurrent "
	                 "callers never receive the same id; creating a guest with it is always "
	                 "allowed.",
	  .returns = &(const struct api_schema){ .type = API_T_INTEGER } },
	{ 0 },
};
