/* The route tables of all areas, and their JSON description (schema endpoint, docs). */
#include "api/handlers.h"
#include "api/lxc-common.h"
#include "api/qemu-common.h"
#include "task/task.h"

const struct api_route *const api_route_tables[] = {
	api_routes_version, api_routes_nodes,        api_routes_cluster, api_routes_access,
	api_routes_users,   api_routes_acl,          api_routes_tasks,   api_routes_berth,
	api_routes_storage, api_routes_content,      api_routes_aplinfo, api_routes_lxc,
	api_routes_console, api_routes_lxc_disk,     api_routes_qemu,    api_routes_qemu_disk,
	api_routes_pools,   api_routes_qemu_console, api_routes_metrics, NULL,
};

const struct task_type api_task_types[] = {
	{ "berthprobe", probe_task_run },       { "imgcopy", upload_task_run },
	{ "imgdel", imgdel_task_run },          { "download", aplinfo_task_run },
	{ "vzcreate", ct_create_task_run },     { "vzstart", ct_start_task_run },
	{ "vzstop", ct_stop_task_run },         { "vzshutdown", ct_shutdown_task_run },
	{ "vzreboot", ct_reboot_task_run },     { "vzsuspend", ct_suspend_task_run },
	{ "vzresume", ct_resume_task_run },     { "vzdestroy", ct_destroy_task_run },
	{ "startall", ct_startall_task_run },   { "vncproxy", console_task_run },
	{ "resize", guest_resize_task_run },    { "vztemplate", ct_template_task_run },
	{ "vzconfig", ct_config_task_run },     { "qmcreate", vm_create_task_run },
	{ "qmstart", vm_start_task_run },       { "qmstop", vm_stop_task_run },
	{ "qmshutdown", vm_shutdown_task_run }, { "qmreboot", vm_reboot_task_run },
	{ "qmreset", vm_reset_task_run },       { "qmpause", vm_suspend_task_run },
	{ "qmresume", vm_resume_task_run },     { "qmdestroy", vm_destroy_task_run },
	{ "qmconfig", vm_config_task_run },     { "qmmove", vm_move_disk_task_run },
	{ "qmtemplate", vm_template_task_run },
};
const size_t api_task_types_count = ARRAY_SIZE(api_task_types);

static const char *
perm_kind_name(enum api_perm_kind k)
{
	static const char *const names[] = {
		[PERM_UNSET] = "unset",
		[PERM_WORLD] = "world",
		[PERM_ANY_USER] = "all",
		[PERM_ROOT] = "root",
		[PERM_PRIVS] = "perm",
		[PERM_SELF_OR_PRIVS] = "self-or-perm",
		[PERM_USERID_GROUP] = "userid-group",
		[PERM_PERM_MODIFY] = "perm-modify",
	};
	return names[k];
}

json_t *
api_route_to_json(const struct api_route *rt)
{
	const struct api_perm *p = &rt->perm;
	json_t *perm = json_pack("{s:s}", "check", perm_kind_name(p->kind));
	if (p->path)
		json_object_set_new(perm, "path", json_string(p->path));
	if (p->privs)
		json_object_set_new(perm, "privs", json_string(p->privs));
	if (p->privs)
		json_object_set_new(perm, "any", json_integer(p->any ? 1 : 0));
	if (p->realm_privs)
		json_object_set_new(perm, "realm-privs", json_string(p->realm_privs));
	if (p->self_ok || p->kind == PERM_SELF_OR_PRIVS)
		json_object_set_new(perm, "self", json_integer(1));
	if (p->description)
		json_object_set_new(perm, "description", json_string(p->description));

	json_t *params = json_object();
	for (const struct api_schema *s = rt->params; s && s->name; s++)
		json_object_set_new(params, s->name, schema_to_json(s));

	json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:i, s:i}", "method",
	                      api_method_name(rt->method), "path", rt->path, "description",
	                      rt->description ? rt->description : "", "permissions", perm,
	                      "parameters", params, "task", (rt->flags & API_TASK) ? 1 : 0,
	                      "allowtoken", (rt->flags & API_NO_TOKEN) ? 0 : 1);
	if (rt->returns)
		json_object_set_new(o, "returns", schema_to_json(rt->returns));
	return o;
}
