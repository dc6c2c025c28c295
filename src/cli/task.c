/* berth task list|status|log|stop, and following a task's log until it ends. */
#include "cli/cli.h"
#include "task/upid.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>

static int
task_path(const char *upid, const char *what, char **ret)
{
	struct upid u;
	if (upid_parse(upid, &u) < 0) {
		fprintf(stderr,
		        "berth: '%s' is not a task id (UPID:node:pid:pstart:time:type:id:user:)\n",
		        upid);
		return -EINVAL;
	}
	*ret = xasprintf("/nodes/%s/tasks/%s%s%s", u.node, upid, what ? "/" : "", what ? what : "");
	return 0;
}

/* Print log lines after *seen; returns -errno when the call failed. */
static int
print_new_lines(struct cli *c, const char *log_path, int64_t *seen, bool print)
{
	_cleanup_free_ char *start = xasprintf("%" PRId64, *seen);
	json_t *params = json_pack("{s:s, s:s}", "start", start, "limit", "1000");
	struct cli_response r;
	if (cli_call_ok(c, "GET", log_path, params, &r) < 0)
		return -EIO;
	json_int_t total = json_integer_value(json_object_get(r.body, "total"));
	json_t *lines = json_object_get(r.body, "data");
	size_t i;
	json_t *l;
	if (total > 0) {
		json_array_foreach (lines, i, l) {
			json_int_t n = json_integer_value(json_object_get(l, "n"));
			if (n <= *seen)
				continue;
			if (print)
				printf("%s\n", json_string_value(json_object_get(l, "t")));
			*seen = n;
		}
		fflush(stdout);
	}
	cli_response_done(&r);
	return 0;
}

int
cli_follow_task(struct cli *c, const char *upid, bool print_log)
{
	_cleanup_free_ char *log_path = NULL, *status_path = NULL;
	if (task_path(upid, "log", &log_path) < 0 || task_path(upid, "status", &status_path) < 0)
		return 1;
	int64_t seen = 0;
	/* most tasks end within milliseconds: look again soon, then back off to 200 ms */
	long delay_ms = 5;
	for (;;) {
		if (print_new_lines(c, log_path, &seen, print_log) < 0)
			return 1;
		struct cli_response r;
		if (cli_call_ok(c, "GET", status_path, NULL, &r) < 0)
			return 1;
		json_t *d = json_object_get(r.body, "data");
		const char *st = json_string_value(json_object_get(d, "status"));
		if (st && streq(st, "stopped")) {
			_cleanup_free_ char *exitstatus =
			        xstrdup(json_string_value(json_object_get(d, "exitstatus")) ?: "");
			cli_response_done(&r);
			print_new_lines(c, log_path, &seen, print_log);
			bool ok = streq(exitstatus, "OK") || startswith(exitstatus, "WARNINGS: ");
			if (!ok)
				fprintf(stderr, "task failed: %s\n", exitstatus);
			return ok ? 0 : 1;
		}
		cli_response_done(&r);
		struct timespec ts = { 0, delay_ms * 1000 * 1000 };
		nanosleep(&ts, NULL);
		delay_ms = delay_ms * 2 > 200 ? 200 : delay_ms * 2;
	}
}

static const char *const task_columns[] = { "upid",      "type",    "id",     "user",
	                                    "starttime", "endtime", "status", NULL };

static void
task_usage(FILE *out)
{
	fprintf(out, "Usage:\n"
	             "  berth task list [--limit N] [--source archive|active|all] [--errors]\n"
	             "                  [--typefilter TYPE] [--vmid ID] [--userfilter USER]\n"
	             "  berth task status UPID\n"
	             "  berth task log UPID [--follow] [--start N] [--limit N]\n"
	             "  berth task stop UPID\n");
}

static int
simple_call(struct cli *c, const char *method, const char *path, json_t *params,
            const char *const *columns)
{
	struct cli_response r;
	if (cli_call_ok(c, method, path, params, &r) < 0)
		return 1;
	cli_print(c, json_object_get(r.body, "data"), columns);
	cli_response_done(&r);
	return 0;
}

int
cmd_task(struct cli *c, int argc, char **argv)
{
	if (argc < 1 || streq(argv[0], "--help") || streq(argv[0], "help")) {
		task_usage(argc < 1 ? stderr : stdout);
		return argc < 1 ? 2 : 0;
	}
	const char *sub = argv[0];
	for (int i = 1; i < argc; i++)
		if (streq(argv[i], "--help") || streq(argv[i], "-h")) {
			task_usage(stdout);
			return 0;
		}
	if (streq(sub, "list")) {
		json_t *params = json_object();
		for (int i = 1; i < argc; i++) {
			const char *a = argv[i];
			if (streq(a, "--errors")) {
				json_object_set_new(params, "errors", json_string("1"));
			} else if (startswith(a, "--") && i + 1 < argc) {
				json_object_set_new(params, a + 2, json_string(argv[i + 1]));
				i++;
			} else {
				json_decref(params);
				task_usage(stderr);
				return 2;
			}
		}
		return simple_call(c, "GET", "/nodes/localhost/tasks", params, task_columns);
	}
	if (argc < 2) {
		task_usage(stderr);
		return 2;
	}
	const char *upid = argv[1];
	if (streq(sub, "status") || streq(sub, "stop")) {
		_cleanup_free_ char *path = NULL;
		if (task_path(upid, streq(sub, "status") ? "status" : NULL, &path) < 0)
			return 2;
		return simple_call(c, streq(sub, "status") ? "GET" : "DELETE", path, NULL, NULL);
	}
	if (streq(sub, "log")) {
		bool follow = false;
		json_t *params = json_object();
		for (int i = 2; i < argc; i++) {
			if (streq(argv[i], "--follow") || streq(argv[i], "-f"))
				follow = true;
			else if ((streq(argv[i], "--start") || streq(argv[i], "--limit")) &&
			         i + 1 < argc) {
				json_object_set_new(params, argv[i] + 2, json_string(argv[i + 1]));
				i++;
			} else {
				json_decref(params);
				task_usage(stderr);
				return 2;
			}
		}
		if (follow) {
			json_decref(params);
			return cli_follow_task(c, upid, true);
		}
		_cleanup_free_ char *path = NULL;
		if (task_path(upid, "log", &path) < 0) {
			json_decref(params);
			return 2;
		}
		struct cli_response r;
		if (cli_call_ok(c, "GET", path, params, &r) < 0)
			return 1;
		if (c->format != OUTPUT_TEXT) {
			cli_print(c, json_object_get(r.body, "data"), NULL);
		} else {
			size_t i;
			json_t *l;
			json_array_foreach (json_object_get(r.body, "data"), i, l)
				printf("%s\n", json_string_value(json_object_get(l, "t")));
		}
		cli_response_done(&r);
		return 0;
	}
	fprintf(stderr, "berth task: unknown command '%s'\n", sub);
	task_usage(stderr);
	return 2;
}
