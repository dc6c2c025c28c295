/* Berth's extensions under names Proxmox VE does not use: the machine-readable API schema,
 * and a diagnostic task that exercises the task machinery end to end (monitoring probes,
 * tests): it runs for `seconds`, logs progress, may log warnings or fail on request. */
#include "api/handlers.h"
#include "task/task.h"

#include <time.h>

static int
get_schema(struct api_call *c)
{
	json_t *routes = json_array();
	api_routes_foreach(rt) json_array_append_new(routes, api_route_to_json(rt));
	c->data = json_pack("{s:s, s:o}", "version", BERTH_VERSION, "routes", routes);
	return 0;
}

static int
start_probe(struct api_call *c)
{
	json_t *params =
	        json_pack("{s:I, s:I}", "seconds", (json_int_t)param_int(c->params, "seconds", 0),
	                  "warnings", (json_int_t)param_int(c->params, "warnings", 0));
	if (param_has(c->params, "fail"))
		json_object_set_new(params, "fail", json_string(param_str(c->params, "fail")));
	return api_start_task(c, "berthprobe", "", params, NULL, 0);
}

int
probe_task_run(struct task_worker *w, json_t *params, struct error *err)
{
	json_int_t seconds = json_integer_value(json_object_get(params, "seconds"));
	json_int_t warnings = json_integer_value(json_object_get(params, "warnings"));
	const char *fail = json_string_value(json_object_get(params, "fail"));
	task_log(w, "probe task started: %lld s, %lld warning(s)%s", (long long)seconds,
	         (long long)warnings, fail ? ", then failing" : "");
	for (json_int_t i = 0; i < seconds; i++) {
		/* sleep in small steps so a stop request is honoured quickly */
		for (int k = 0; k < 10; k++) {
			if (task_interrupted(w))
				return error_set(err, EINTR, "received interrupt");
			struct timespec ts = { 0, 100 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
		task_log(w, "progress %lld/%lld", (long long)(i + 1), (long long)seconds);
	}
	for (json_int_t i = 0; i < warnings; i++)
		task_warn(w, "probe warning %lld", (long long)(i + 1));
	if (fail)
		return error_set(err, EIO, "%s", fail);
	return 0;
}

static const struct api_schema no_params[] = { PARAM_END };
static const struct api_schema probe_params[] = {
	PARAM_NODE,
	{ .name = "seconds",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .minimum = 0,
	  .maximum = 86400,
	  .flags = API_F_HAS_MIN | API_F_HAS_MAX,
	  .default_text = "0",
	  .description = "How long the task runs." },
	{ .name = "warnings",
	  .type = API_T_INTEGER,
	  .optional = true,
	  .minimum = 0,
	  .maximum = 1000,
	  .flags = API_F_HAS_MIN | API_F_HAS_MAX,
	  .default_text = "0",
	  .description = "How many warnings it logs (it then ends with 'WARNINGS: <n>')." },
	{ .name = "fail",
	  .type = API_T_STRING,
	  .optional = true,
	  .max_length = 512,
	  .pattern = "[^\r\n]*",
	  .description = "End with this error message." },
	PARAM_END,
};

const struct api_route api_routes_berth[] = {
	{ .method = API_GET,
	  .path = "/berth/schema",
	  .params = no_params,
	  .perm = { .kind = PERM_ANY_USER },
	  .handler = get_schema,
	  .description = "The API schema: every route with its parameters, permission and "
	                 "result, generated from the route table." },
	{ .method = API_POST,
	  .path = "/nodes/{node}/berth/probe-task",
	  .params = probe_params,
	  .perm = { .kind = PERM_PRIVS, .path = "/nodes/{node}", .privs = "Sys.Modify" },
	  .flags = API_TASK,
	  .handler = start_probe,
	  .description = "Start a diagnostic task (type 'berthprobe') that runs for a while, logs "
	                 "progress and ends as asked: OK, with warnings, or with an error. For "
	                 "checking the task machinery from monitoring and tests." },
	{ 0 },
};
