/* berth: the command line over the root daemon's unix socket (as root). The generic verbs
 * mirror pvesh; help comes from the route table. */
#include "cli/cli.h"
#include "basic/fileio.h"

#include <stdio.h>
#include <unistd.h>

static void
usage(FILE *out)
{
	fprintf(out,
	        "Usage: berth [--root DIR] [--output-format text|json|json-pretty] COMMAND ...\n"
	        "\n"
	        "Commands:\n"
	        "  get PATH [--key value ...]      GET an API path (like pvesh get)\n"
	        "  create PATH [--key value ...]   POST (like pvesh create)\n"
	        "  set PATH [--key value ...]      PUT (like pvesh set)\n"
	        "  delete PATH [--key value ...]   DELETE (like pvesh delete)\n"
	        "  usage PATH [--verbose]          the methods and parameters of PATH\n"
	        "  task list|status|log|stop ...   tasks (berth task --help)\n"
	        "  admin create USERID             create an administrator (pve realm) once\n"
	        "  template list|build ...         container templates (berth template --help)\n"
	        "  ct list|create|start|stop|enter|console ...\n"
	        "                                  containers (berth ct --help)\n"
	        "  vm list|create|start|stop|console ...\n"
	        "                                  virtual machines (berth vm --help)\n"
	        "  help                            this text\n"
	        "\n"
	        "PATH is relative to /api2/json, e.g. /nodes/localhost/status. Repeat --key to "
	        "pass\n"
	        "a list. A command that starts a task follows its log and fails when the task\n"
	        "fails (with text output; json prints the task id). Talks to berthd over\n"
	        "<root>/run/api.sock as root@pam; --root defaults to /var/lib/berth.\n"
	        "VERB PATH --help shows the parameters of that call.\n");
}

static const char *const verb_methods[][2] = {
	{ "get", "GET" },       { "create", "POST" }, { "set", "PUT" },
	{ "delete", "DELETE" }, { "ls", "GET" },
};

static bool
looks_like_upid(json_t *data)
{
	return json_is_string(data) && startswith(json_string_value(data), "UPID:");
}

static bool
is_help(const char *a)
{
	return streq(a, "--help") || streq(a, "-h") || streq(a, "help");
}

static int
api_verb(struct cli *c, const char *verb, const char *method, int argc, char **argv)
{
	if (argc < 1 || is_help(argv[0])) {
		fprintf(argc < 1 ? stderr : stdout,
		        "Usage: berth %s PATH [--key value ...] [--output-format "
		        "text|json|json-pretty]\n"
		        "  %s the API path PATH (relative to /api2/json); 'berth %s PATH --help'\n"
		        "  lists the parameters of that call, 'berth usage PATH' all its "
		        "methods.\n",
		        verb, method, verb);
		return argc < 1 ? 2 : 0;
	}
	_cleanup_free_ char *path =
	        argv[0][0] == '/' ? xstrdup(argv[0]) : xasprintf("/%s", argv[0]);
	json_t *params = json_object();
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (streq(a, "--help") || streq(a, "-h")) {
			json_decref(params);
			return cmd_usage(path, true, stdout);
		}
		if (a[0] != '-' || !a[1]) {
			fprintf(stderr,
			        "berth: unexpected argument '%s' (parameters are --key value)\n",
			        a);
			json_decref(params);
			return 2;
		}
		const char *key = a + (a[1] == '-' ? 2 : 1);
		_cleanup_free_ char *k = NULL;
		const char *value;
		const char *eq = strchr(key, '=');
		if (eq) {
			k = xstrndup(key, (size_t)(eq - key));
			value = eq + 1;
		} else if (i + 1 < argc && !startswith(argv[i + 1], "--")) {
			k = xstrdup(key);
			value = argv[++i];
		} else {
			k = xstrdup(key); /* a bare flag means 1 */
			value = "1";
		}
		json_t *old = json_object_get(params, k);
		if (old && json_is_array(old)) {
			json_array_append_new(old, json_string(value));
		} else if (old) {
			json_object_set_new(params, k, json_pack("[O,s]", old, value));
		} else {
			json_object_set_new(params, k, json_string(value));
		}
	}
	struct cli_response r;
	if (cli_call_ok(c, method, path, params, &r) < 0)
		return 1;
	json_t *data = json_object_get(r.body, "data");
	int ret = 0;
	if (r.raw) {
		/* an extension answering other than JSON (metrics text, a screenshot): as sent */
		ret = write_all(STDOUT_FILENO, r.raw, r.raw_len) < 0;
	} else if (c->format == OUTPUT_TEXT && !streq(method, "GET") && looks_like_upid(data)) {
		_cleanup_free_ char *upid = xstrdup(json_string_value(data));
		fprintf(stderr, "task %s\n", upid);
		ret = cli_follow_task(c, upid, true);
	} else {
		cli_print(c, data, route_columns(method, path));
	}
	cli_response_done(&r);
	return ret;
}

int
main(int argc, char **argv)
{
	struct cli c = { .root = "/var/lib/berth", .format = OUTPUT_TEXT, .fd = -1 };
	if (getenv("BERTH_ROOT"))
		c.root = getenv("BERTH_ROOT");
	/* global options may appear anywhere; take them out */
	char **args = xcalloc((size_t)argc + 1, sizeof(char *));
	int n = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (streq(a, "--root") && i + 1 < argc) {
			c.root = argv[++i];
		} else if (startswith(a, "--root=")) {
			c.root = a + 7;
		} else if (streq(a, "--output-format") && i + 1 < argc) {
			const char *f = argv[++i];
			if (streq(f, "json"))
				c.format = OUTPUT_JSON;
			else if (streq(f, "json-pretty"))
				c.format = OUTPUT_JSON_PRETTY;
			else if (streq(f, "text"))
				c.format = OUTPUT_TEXT;
			else {
				fprintf(stderr,
				        "berth: unknown output format '%s' (text, json, "
				        "json-pretty)\n",
				        f);
				free(args);
				return 2;
			}
		} else {
			args[n++] = argv[i];
		}
	}
	int ret;
	if (n == 0) {
		usage(stderr);
		ret = 2;
	} else if (streq(args[0], "help") || streq(args[0], "--help") || streq(args[0], "-h")) {
		usage(stdout);
		ret = 0;
	} else if (streq(args[0], "--version")) {
		printf("berth %s\n", BERTH_VERSION);
		ret = 0;
	} else if (streq(args[0], "usage")) {
		bool verbose = n > 2 && (streq(args[2], "--verbose") || streq(args[2], "-v"));
		if (n < 2 || is_help(args[1])) {
			fprintf(n < 2 ? stderr : stdout,
			        "Usage: berth usage PATH [--verbose]\n"
			        "  The methods of the API path PATH with their parameters "
			        "(--verbose:\n"
			        "  with descriptions), from the route table.\n");
			ret = n < 2 ? 2 : 0;
		} else {
			_cleanup_free_ char *p =
			        args[1][0] == '/' ? xstrdup(args[1]) : xasprintf("/%s", args[1]);
			ret = cmd_usage(p, verbose, stdout);
		}
	} else if (streq(args[0], "task")) {
		ret = cmd_task(&c, n - 1, args + 1);
	} else if (streq(args[0], "admin")) {
		ret = cmd_admin(&c, n - 1, args + 1);
	} else if (streq(args[0], "ct")) {
		ret = cmd_ct(&c, n - 1, args + 1);
	} else if (streq(args[0], "vm")) {
		ret = cmd_vm(&c, n - 1, args + 1);
	} else if (streq(args[0], "template")) {
		ret = cmd_template(&c, n - 1, args + 1);
	} else {
		ret = -1;
		for (size_t i = 0; i < ARRAY_SIZE(verb_methods); i++)
			if (streq(args[0], verb_methods[i][0]))
				ret = api_verb(&c, verb_methods[i][0], verb_methods[i][1], n - 1,
				               args + 1);
		if (ret == -1) {
			fprintf(stderr, "berth: unknown command '%s'\n\n", args[0]);
			usage(stderr);
			ret = 2;
		}
	}
	if (c.fd >= 0)
		close(c.fd);
	free(args);
	return ret;
}
