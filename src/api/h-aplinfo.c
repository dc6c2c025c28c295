/* /nodes/{node}/aplinfo: the container templates this node can build (GET, PVE's appliance
 * list) and building one into a storage (POST, task "download" as PVE's appliance download;
 * Berth builds instead of downloading). The catalog and builders are src/template. */
#include "api/handlers.h"
#include "storage/storage.h"
#include "template/template.h"

/* On the thread pool: reading the busybox binary's banner takes a few milliseconds. */
static int
list_work(struct api_call *c, void *arg)
{
	struct template_info *list = NULL;
	size_t n = 0;
	if (template_catalog(&list, &n, &c->err) < 0)
		return api_fail(c, 500, "%s", c->err.msg);
	c->data = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(c->data, template_info_json(&list[i]));
	template_catalog_free(list, n);
	return 0;
}

static int
list_templates(struct api_call *c)
{
	return api_call_blocking(c, list_work, NULL);
}

/* PVE's order: the template first, then the storage (enabled here, holds vztmpl). */
static int
start_build(struct api_call *c)
{
	const char *sid = param_str(c->params, "storage");
	struct template_info *list = NULL;
	size_t n = 0;
	if (template_catalog(&list, &n, &c->err) < 0)
		return api_fail(c, 500, "%s", c->err.msg);
	const struct template_info *t =
	        template_catalog_find(list, n, param_str(c->params, "template"));
	_cleanup_free_ char *name = t ? xstrdup(t->template) : NULL;
	template_catalog_free(list, n);
	if (!name)
		return api_param_error(c, "template", "no such template");

	struct storage_config *cfg = api_storage_config(c->ctx, &c->err);
	if (!cfg)
		return api_fail(c, 500, "%s", c->err.msg);
	const struct storage *s = storage_config_find(cfg, sid);
	int r = 0;
	if (!s)
		r = api_fail(c, 500, "storage '%s' does not exist", sid);
	else if (s->disabled)
		r = api_fail(c, 500, "storage '%s' is disabled", sid);
	else if (!storage_enabled_on(s, c->ctx->node))
		r = api_fail(c, 500, "storage '%s' is not available on node '%s'", sid,
		             c->ctx->node);
	else if (!(s->content & CONTENT_VZTMPL))
		r = api_fail(c, 500, "storage '%s' does not support templates", sid);
	storage_config_free(cfg);
	if (r < 0)
		return r;

	json_t *params = json_pack("{s:s, s:s}", "storage", sid, "template", name);
	return api_start_task(c, "download", name, params, NULL, 0);
}

static void
hook_log(void *userdata, const char *line)
{
	task_log(userdata, "%s", line);
}

static bool
hook_interrupted(void *userdata)
{
	return task_interrupted(userdata);
}

int
aplinfo_task_run(struct task_worker *w, json_t *params, struct error *err)
{
	const char *sid = json_string_value(json_object_get(params, "storage"));
	const char *name = json_string_value(json_object_get(params, "template"));
	if (!sid || !name)
		return error_set(err, EINVAL, "missing storage or template");

	struct template_info *list = NULL;
	size_t n = 0;
	int r = template_catalog(&list, &n, err);
	if (r < 0)
		return r;
	const struct template_info *t = template_catalog_find(list, n, name);
	/* the catalog may have changed since the request (busybox upgraded meanwhile) */
	if (!t || !streq(t->template, name)) {
		template_catalog_free(list, n);
		return error_set(err, ENOENT, "no such template '%s'", name);
	}

	_cleanup_free_ char *target = NULL;
	_cleanup_free_ char *volid = xasprintf("%s:vztmpl/%s", sid, name);
	struct storage_config *cfg = worker_storage_config(w, err);
	if (!cfg) {
		r = -EIO;
	} else {
		const struct storage *s = storage_config_find(cfg, sid);
		r = s ? 0 : error_set(err, ENOENT, "storage '%s' does not exist", sid);
		if (r >= 0 && !(s->content & CONTENT_VZTMPL))
			r = error_set(err, EINVAL, "storage '%s' does not support templates", sid);
		if (r >= 0 && s->type->activate)
			r = s->type->activate(s, err);
		if (r >= 0)
			r = storage_path(cfg, volid, &target, err);
		storage_config_free(cfg);
	}
	if (r >= 0) {
		task_log(w, "building %s into %s", t->template, volid);
		struct template_hooks hooks = { hook_log, hook_interrupted, w };
		r = template_build(t, target, &hooks, err);
	}
	if (r >= 0)
		task_log(w, "template %s is ready", volid);
	template_catalog_free(list, n);
	return r;
}

static const struct api_schema list_params[] = {
	PARAM_NODE,
	PARAM_END,
};

static const struct api_schema build_params[] = {
	PARAM_NODE,
	{ .name = "storage",
	  .type = API_T_STRING,
	  .format = "pve-storage-id",
	  .description = "The storage where the template will be stored" },
	{ .name = "template",
	  .type = API_T_STRING,
	  .max_length = 255,
	  .description = "The template which will downloaded (Berth builds it): its file name "
	                 "as GET aplinfo lists it, or the short name ('busybox', 'debian-12')." },
	PARAM_END,
};

static const struct api_schema aplinfo_item[] = {
	{ .name = "template", .type = API_T_STRING, .description = "The file name." },
	{ .name = "package", .type = API_T_STRING },
	{ .name = "version", .type = API_T_STRING },
	{ .name = "os", .type = API_T_STRING },
	{ .name = "headline", .type = API_T_STRING },
	{ .name = "section", .type = API_T_STRING },
	{ .name = "type", .type = API_T_STRING },
	{ .name = "architecture", .type = API_T_STRING },
	{ .name = "description", .type = API_T_STRING },
	{ .name = "source", .type = API_T_STRING },
	{ .name = "location",
	  .type = API_T_STRING,
	  .description = "What the builder reads: the busybox binary, or the Debian mirror." },
	{ .name = "maintainer", .type = API_T_STRING },
	{ .name = "infopage", .type = API_T_STRING },
	PARAM_END,
};

const struct api_route api_routes_aplinfo[] = {
	{ .method = API_GET,
	  .path = "/nodes/{node}/aplinfo",
	  .params = list_params,
	  .perm = { .kind = PERM_ANY_USER },
	  .handler = list_templates,
	  .description = "Get list of appliances: the container templates this node can build "
	                 "(busybox from the host's busybox-static, debian-12 with debootstrap; "
	                 "an entry is listed only when its tool is installed).",
	  .returns =
	          &(const struct api_schema){
	                  .type = API_T_ARRAY,
	                  .items = &(const struct api_schema){ .type = API_T_OBJECT,
	                                                       .props = aplinfo_item } } },
	{ .method = API_POST,
	  .path = "/nodes/{node}/aplinfo",
	  .params = build_params,
	  .perm = { .kind = PERM_PRIVS,
	            .path = "/storage/{storage}",
	            .privs = "Datastore.AllocateTemplate" },
	  .flags = API_TASK,
	  .handler = start_build,
	  .description = "Download appliance templates: Berth builds the template into the "
	                 "storage's vztmpl content (its template/cache directory on dir storages). "
	                 "Returns a task (download)." },
	{ 0 },
};
