/* /nodes/{node}/tasks: list, status, log and stop, with Proxmox VE's shapes and rules (a user
 * sees their own tasks — a token only its own — unless they hold Sys.Audit on the node). */
#include "api/handlers.h"
#include "basic/encoding.h"
#include "task/task.h"

#include <inttypes.h>
#include <stdio.h>

/* Split "user@realm!token" into user and tokenid members, as PVE's convert_token_task. */
static void
set_user_fields(json_t *o, const char *user)
{
	const char *bang = strchr(user, '!');
	if (bang) {
		_cleanup_free_ char *u = xstrndup(user, (size_t)(bang - user));
		json_object_set_new(o, "user", json_string(u));
		json_object_set_new(o, "tokenid", json_string(bang + 1));
	} else {
		json_object_set_new(o, "user", json_string(user));
	}
}

static json_t *
task_json(const struct task_info *t)
{
	json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:s, s:s}", "upid", t->upid, "node",
	                      t->u.node, "pid", (json_int_t)t->u.pid, "pstart",
	                      (json_int_t)t->u.pstart, "starttime", (json_int_t)t->u.starttime,
	                      "type", t->u.type, "id", t->u.id);
	set_user_fields(o, t->u.user);
	return o;
}

/* PVE's check_task_user: a token sees token tasks; a user sees theirs and their tokens'. */
static bool
task_owned_by(const struct task_info *t, const struct api_call *c)
{
	const char *owner = t->u.user;
	if (streq(owner, c->who.subject))
		return true;
	const char *bang = strchr(owner, '!');
	return bang && !c->who.token && strlen(c->who.user) == (size_t)(bang - owner) &&
	       strneq(owner, c->who.user, (size_t)(bang - owner));
}

/* PVE's normalize_status_type */
static const char *
status_type(const char *status)
{
	if (!status)
		return "unknown";
	if (streq(status, "OK"))
		return "ok";
	if (startswith(status, "WARNINGS: "))
		return "warning";
	if (streq(status, "unexpected status") || streq(status, "RUNNING"))
		return "unknown";
	return "error";
}

static int
list_tasks(struct api_call *c)
{
	const json_t *p = c->params;
	int64_t start = param_int(p, "start", 0), limit = param_int(p, "limit", 50);
	const char *userfilter = param_str(p, "userfilter"),
	           *typefilter = param_str(p, "typefilter");
	const char *source = param_str(p, "source") ? param_str(p, "source") : "archive";
	bool errors = param_bool(p, "errors", false);
	_cleanup_free_ char *node_path = xasprintf("/nodes/%s", param_str(p, "node"));
	bool auditor = api_has_privs(c, node_path, "Sys.Audit", false);

	bool want[4] = { true, true, true, true }; /* ok, warning, error, unknown */
	static const char *const kinds[] = { "ok", "warning", "error", "unknown" };
	if (param_has(p, "statusfilter") && !errors) {
		char **f = split_list(param_str(p, "statusfilter"));
		for (int i = 0; i < 4; i++) {
			want[i] = false;
			for (char **q = f; *q; q++)
				want[i] |= strcasecmp(*q, kinds[i]) == 0;
		}
		strv_free(f);
	} else if (errors) {
		want[0] = false;
	}

	size_t n;
	const struct task_info *const *all = taskmgr_list(c->ctx->tasks, &n);
	json_t *out = json_array();
	int64_t count = 0;
	for (int pass = 0; pass < 2; pass++) {
		/* running tasks (source active|all) first, then the archive (archive|all) */
		bool running_pass = pass == 0;
		if (running_pass && !(streq(source, "active") || streq(source, "all")))
			continue;
		if (!running_pass && streq(source, "active"))
			continue;
		for (size_t i = 0; i < n; i++) {
			const struct task_info *t = all[i];
			if ((t->status == NULL) != running_pass)
				continue;
			if (userfilter && !strcasestr(t->u.user, userfilter))
				continue;
			if (!auditor && !task_owned_by(t, c))
				continue;
			if (typefilter && !streq(t->u.type, typefilter))
				continue;
			if (param_has(p, "vmid")) {
				_cleanup_free_ char *v =
				        xasprintf("%" PRId64, param_int(p, "vmid", 0));
				if (!streq(t->u.id, v))
					continue;
			}
			if (param_has(p, "since") && t->u.starttime < param_int(p, "since", 0))
				continue;
			if (param_has(p, "until") && t->u.starttime > param_int(p, "until", 0))
				continue;
			const char *st = t->status ? t->status : "RUNNING";
			const char *kind = status_type(st);
			bool ok = false;
			for (int k = 0; k < 4; k++)
				ok |= want[k] && streq(kind, kinds[k]);
			if (!ok)
				continue;
			if (count++ < start || (int64_t)json_array_size(out) >= limit)
				continue;
			json_t *o = task_json(t);
			if (t->endtime)
				json_object_set_new(o, "endtime",
				                    json_integer((json_int_t)t->endtime));
			json_object_set_new(o, "status", json_string(st));
			json_array_append_new(out, o);
		}
	}
	c->data = out;
	c->has_total = true;
	c->total = count;
	return 0;
}

/* Look up the task named by the upid parameter; PVE's parameter errors when it fails. */
static int
find_task(struct api_call *c, const struct task_info **ret)
{
	const char *upid = param_str(c->params, "upid");
	struct upid u;
	if (upid_parse(upid, &u) < 0)
		return api_param_error(c, "upid", "unable to parse worker upid");
	if (taskmgr_get(c->ctx->tasks, upid, ret) < 0)
		return api_param_error(c, "upid", "no such task");
	return 0;
}

static int
check_task_access(struct api_call *c, const struct task_info *t, const char *priv)
{
	if (task_owned_by(t, c))
		return 0;
	_cleanup_free_ char *path = xasprintf("/nodes/%s", param_str(c->params, "node"));
	return api_check_privs(c, path, priv, false);
}

static int
task_index(struct api_call *c)
{
	static const char *const names[] = { "log", "status", NULL };
	c->data = index_list(names);
	return 0;
}

static int
task_status(struct api_call *c)
{
	const struct task_info *t;
	int r = find_task(c, &t);
	if (r < 0)
		return r;
	r = check_task_access(c, t, "Sys.Audit");
	if (r < 0)
		return r;
	json_t *o = task_json(t);
	json_object_set_new(o, "status", json_string(t->status ? "stopped" : "running"));
	if (t->status)
		json_object_set_new(o, "exitstatus", json_string(t->status));
	c->data = o;
	return 0;
}

static int
read_task_log(struct api_call *c)
{
	const char *upid = param_str(c->params, "upid");
	struct upid u;
	if (upid_parse(upid, &u) < 0)
		return api_param_error(c, "upid", "unable to parse worker upid");
	const struct task_info *t;
	if (taskmgr_get(c->ctx->tasks, upid, &t) < 0)
		return api_param_error(c, "upid", "no such task");
	int r = check_task_access(c, t, "Sys.Audit");
	if (r < 0)
		return r;
	char **lines = NULL;
	size_t total = 0;
	r = taskmgr_read_log(c->ctx->tasks, upid, (size_t)param_int(c->params, "start", 0),
	                     (size_t)param_int(c->params, "limit", 50), &lines, &total);
	if (r < 0)
		return api_fail(c, 500, "unable to read task log - %s", strerror(-r));
	json_t *out = json_array();
	int64_t n = param_int(c->params, "start", 0);
	for (char **l = lines; *l; l++) {
		/* output of external tools may not be UTF-8; JSON strings must be */
		_cleanup_free_ char *text = utf8_sanitize(*l);
		json_array_append_new(out,
		                      json_pack("{s:I, s:s}", "n", (json_int_t)++n, "t", text));
	}
	taskmgr_lines_free(lines);
	if (total == 0) /* PVE's dump_logfile on an empty file */
		json_array_append_new(out, json_pack("{s:i, s:s}", "n", 1, "t", "no content"));
	c->data = out;
	c->has_total = true;
	c->total = (int64_t)total;
	return 0;
}

static int
task_stop(struct api_call *c)
{
	const struct task_info *t;
	int r = find_task(c, &t);
	if (r < 0)
		return r;
	r = check_task_access(c, t, "Sys.Modify");
	if (r < 0)
		return r;
	r = taskmgr_stop(c->ctx->tasks, param_str(c->params, "upid"));
	if (r < 0 && r != -ESRCH)
		return api_fail(c, 500, "unable to stop task - %s", strerror(-r));
	return 0;
}

static const char *const sources[] = { "archive", "active", "all", NULL };

static const struct api_schema list_params[] = {
	PARAM_NODE,
	{ .name = "start",
	  .type = API_T_INTEGER,
	  .minimum = 0,
	  .flags = API_F_HAS_MIN,
	  .optional = true,
	  .default_text = "0",
	  .description = "List tasks beginning from this offset." },
	{ .name = "limit",
	  .type = API_T_INTEGER,
	  .minimum = 0,
	  .flags = API_F_HAS_MIN,
	  .optional = true,
	  .default_text = "50",
	  .description = "Only list this amount of tasks." },
	{ .name = "userfilter",
	  .type = API_T_STRING,
	  .optional = true,
	  .description = "Only list tasks from this user." },
	{ .name = "typefilter",
	  .type = API_T_STRING,
	  .optional = true,
	  .description = "Only list tasks of this type (e.g., vzstart, vzdump)." },
	PARAM_VMID_OPT("Only list tasks for this VM."),
	{ .name = "errors",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .default_text = "0",
	  .description = "Only list tasks with a status of ERROR." },
	{ .name = "source",
	  .type = API_T_STRING,
	  .enums = sources,
	  .optional = true,
	  .default_text = "archive",
	  .description = "List archived, active or all tasks." },
	{ .name = "since",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .description = "Only list tasks since this UNIX epoch." },
	{ .name = "until",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .description = "Only list tasks until this UNIX epoch." },
	{ .name = "statusfilter",
	  .type = API_T_STRING,
	  .optional = true,
	  .description =
	          "List of Task States that should be returned (ok, error, warning, unknown)." },
	PARAM_END,
};

static const struct api_schema upid_params[] = {
	PARAM_NODE,
	{ .name = "upid", .type = API_T_STRING, .description = "The task's unique ID." },
	PARAM_END,
};

static const struct api_schema log_params[] = {
	PARAM_NODE,
	{ .name = "upid", .type = API_T_STRING, .description = "The task's unique ID." },
	{ .name = "start",
	  .type = API_T_INTEGER,
	  .minimum = 0,
	  .flags = API_F_HAS_MIN,
	  .optional = true,
	  .default_text = "0",
	  .description = "Start at this line when reading the tasklog" },
	{ .name = "limit",
	  .type = API_T_INTEGER,
	  .minimum = 0,
	  .flags = API_F_HAS_MIN,
	  .optional = true,
	  .default_text = "50",
	  .description = "The number of lines to read from the tasklog." },
	PARAM_END,
};

static const struct api_schema task_item[] = {
	{ .name = "upid", .type = API_T_STRING },
	{ .name = "type", .type = API_T_STRING },
	{ .name = "id", .type = API_T_STRING },
	{ .name = "user", .type = API_T_STRING },
	{ .name = "starttime", .type = API_T_INTEGER },
	{ .name = "endtime", .type = API_T_INTEGER, .optional = true },
	{ .name = "status", .type = API_T_STRING, .optional = true },
	PARAM_END,
};

#define OWNER_OR(priv)                                                                             \
	"The user needs '" priv "' permissions on '/nodes/<node>' if they aren't the owner of "    \
	"the task."

const struct api_route api_routes_tasks[] = {
	{ .method = API_GET,
	  .path = "/nodes/{node}/tasks",
	  .params = list_params,
	  .perm = { .kind = PERM_ANY_USER,
	            .description = "List tasks of the current user, or all tasks with Sys.Audit on "
	                           "/nodes/<node>." },
	  .handler = list_tasks,
	  .description = "Read task list for one node (finished tasks by default; source=active or "
	                 "all for running ones).",
	  .returns =
	          &(const struct api_schema){
	                  .type = API_T_ARRAY,
	                  .items = &(const struct api_schema){ .type = API_T_OBJECT,
	                                                       .props = task_item } } },
	{ .method = API_GET,
	  .path = "/nodes/{node}/tasks/{upid}",
	  .params = upid_params,
	  .perm = { .kind = PERM_ANY_USER },
	  .handler = task_index,
	  .description = "Task index." },
	{ .method = API_GET,
	  .path = "/nodes/{node}/tasks/{upid}/status",
	  .params = upid_params,
	  .perm = { .kind = PERM_ANY_USER, .description = OWNER_OR("Sys.Audit") },
	  .handler = task_status,
	  .description = "Read task status." },
	{ .method = API_GET,
	  .path = "/nodes/{node}/tasks/{upid}/log",
	  .params = log_params,
	  .perm = { .kind = PERM_ANY_USER, .description = OWNER_OR("Sys.Audit") },
	  .handler = read_task_log,
	  .description = "Read task log." },
	{ .method = API_DELETE,
	  .path = "/nodes/{node}/tasks/{upid}",
	  .params = upid_params,
	  .perm = { .kind = PERM_ANY_USER, .description = OWNER_OR("Sys.Modify") },
	  .handler = task_stop,
	  .description = "Stop a task." },
	{ 0 },
};
