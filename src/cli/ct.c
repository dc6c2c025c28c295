/* berth ct: containers for daily work, thin over /nodes/localhost/lxc (as pct is over the
 * same API), plus enter/console, which run LXC's own tools on this host as pct does. */
#include "cli/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const char *const list_columns[] = { "vmid", "status", "name", "cpus", "maxmem", NULL };

static void
ct_usage(FILE *out)
{
	fprintf(out, "Usage:\n"
	             "  berth ct list                     containers on this node\n"
	             "  berth ct create VMID TEMPLATE [--key value ...]\n"
	             "                                    create from a vztmpl volume, e.g.\n"
	             "                                    local:vztmpl/busybox-...tar.zst; keys as "
	             "the API\n"
	             "                                    (--hostname, --memory, --net0, --rootfs "
	             "local:4, ...)\n"
	             "  berth ct start|stop|shutdown|reboot|suspend|resume VMID [--key value ...]\n"
	             "  berth ct status VMID              live status (status/current)\n"
	             "  berth ct config VMID              the configuration\n"
	             "  berth ct set VMID --key value ... change the configuration\n"
	             "  berth ct destroy VMID [--purge 1] [--force 1]\n"
	             "  berth ct enter VMID               a shell inside the container "
	             "(lxc-attach)\n"
	             "  berth ct console VMID             the container's console (lxc-console; "
	             "Ctrl+a q leaves)\n"
	             "Commands that start a task follow its log and fail when the task fails.\n");
}

static bool
is_help(const char *a)
{
	return streq(a, "--help") || streq(a, "-h") || streq(a, "help");
}

static bool
valid_vmid(const char *s)
{
	size_t n = strlen(s);
	return n >= 3 && n <= 9 && s[0] >= '1' && s[0] <= '9' && strspn(s, "0123456789") == n;
}

/* "--key value" pairs into an object; -1 after printing what is wrong */
static int
parse_pairs(int argc, char **argv, json_t *into)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (!startswith(a, "--") || !a[2]) {
			fprintf(stderr, "berth ct: expected --key value, got '%s'\n", a);
			return -1;
		}
		const char *eq = strchr(a, '=');
		_cleanup_free_ char *key =
		        eq ? xstrndup(a + 2, (size_t)(eq - a - 2)) : xstrdup(a + 2);
		const char *value = eq ? eq + 1 : NULL;
		if (!value) {
			if (i + 1 >= argc) {
				fprintf(stderr, "berth ct: --%s needs a value\n", key);
				return -1;
			}
			value = argv[++i];
		}
		json_object_set_new(into, key, json_string(value));
	}
	return 0;
}

/* Call, then print data or follow the task. */
static int
call_and_show(struct cli *c, const char *method, const char *path, json_t *params,
              const char *const *columns)
{
	struct cli_response r;
	if (cli_call_ok(c, method, path, params, &r) < 0)
		return 1;
	json_t *data = json_object_get(r.body, "data");
	int ret = 0;
	if (c->format == OUTPUT_TEXT && json_is_string(data) &&
	    startswith(json_string_value(data), "UPID:")) {
		_cleanup_free_ char *upid = xstrdup(json_string_value(data));
		fprintf(stderr, "task %s\n", upid);
		ret = cli_follow_task(c, upid, true);
	} else if (!json_is_null(data)) {
		cli_print(c, data, columns);
	}
	cli_response_done(&r);
	return ret;
}

/* enter/console: LXC's tools against this node's lxcpath, replacing this process */
static int
exec_lxc_tool(struct cli *c, const char *tool, const char *vmid)
{
	_cleanup_free_ char *lxcpath = xasprintf("%s/lxc", c->root);
	if (streq(tool, "lxc-attach")) {
		/* PVE's pct enter: a login-like shell with a clean environment */
		execlp("lxc-attach", "lxc-attach", "-n", vmid, "-P", lxcpath, "--clear-env",
		       "--keep-var", "TERM", "--", "/bin/sh", "-l", (char *)NULL);
	} else {
		execlp("lxc-console", "lxc-console", "-n", vmid, "-P", lxcpath, "-t", "0",
		       (char *)NULL);
	}
	fprintf(stderr, "berth ct: unable to run %s: %s (is the lxc package installed?)\n", tool,
	        strerror(errno));
	return 1;
}

int
cmd_ct(struct cli *c, int argc, char **argv)
{
	if (argc < 1 || is_help(argv[0])) {
		ct_usage(argc < 1 ? stderr : stdout);
		return argc < 1 ? 2 : 0;
	}
	for (int i = 1; i < argc; i++)
		if (streq(argv[i], "--help") || streq(argv[i], "-h")) {
			ct_usage(stdout);
			return 0;
		}
	const char *cmd = argv[0];
	if (streq(cmd, "list")) {
		if (argc > 1) {
			ct_usage(stderr);
			return 2;
		}
		return call_and_show(c, "GET", "/nodes/localhost/lxc", NULL, list_columns);
	}
	if (argc < 2 || !valid_vmid(argv[1])) {
		fprintf(stderr, "berth ct %s: a VMID (100-999999999) is required\n", cmd);
		ct_usage(stderr);
		return 2;
	}
	const char *vmid = argv[1];
	json_t *params = json_object();
	int first = 2;
	if (streq(cmd, "create")) {
		if (argc < 3 || startswith(argv[2], "--")) {
			json_decref(params);
			fprintf(stderr, "berth ct create: a TEMPLATE volume is required\n");
			return 2;
		}
		json_object_set_new(params, "vmid", json_string(vmid));
		json_object_set_new(params, "ostemplate", json_string(argv[2]));
		first = 3;
	}
	if (parse_pairs(argc - first, argv + first, params) < 0) {
		json_decref(params);
		return 2;
	}
	static const char *const power[] = { "start",   "stop",   "shutdown", "reboot",
		                             "suspend", "resume", NULL };
	_cleanup_free_ char *base = xasprintf("/nodes/localhost/lxc/%s", vmid);
	for (const char *const *p = power; *p; p++)
		if (streq(cmd, *p)) {
			_cleanup_free_ char *path = xasprintf("%s/status/%s", base, cmd);
			return call_and_show(c, "POST", path, params, NULL);
		}
	if (streq(cmd, "create"))
		return call_and_show(c, "POST", "/nodes/localhost/lxc", params, NULL);
	if (streq(cmd, "status")) {
		_cleanup_free_ char *path = xasprintf("%s/status/current", base);
		return call_and_show(c, "GET", path, params, NULL);
	}
	if (streq(cmd, "config")) {
		_cleanup_free_ char *path = xasprintf("%s/config", base);
		return call_and_show(c, "GET", path, params, NULL);
	}
	if (streq(cmd, "set")) {
		_cleanup_free_ char *path = xasprintf("%s/config", base);
		return call_and_show(c, "PUT", path, params, NULL);
	}
	if (streq(cmd, "destroy"))
		return call_and_show(c, "DELETE", base, params, NULL);
	json_decref(params);
	if (streq(cmd, "enter") || streq(cmd, "console")) {
		if (argc > 2) {
			ct_usage(stderr);
			return 2;
		}
		/* the same check pct does: the CT must exist and run */
		struct cli_response r;
		_cleanup_free_ char *path = xasprintf("%s/status/current", base);
		if (cli_call_ok(c, "GET", path, NULL, &r) < 0)
			return 1;
		const char *st = json_string_value(
		        json_object_get(json_object_get(r.body, "data"), "status"));
		bool running = st && streq(st, "running");
		cli_response_done(&r);
		if (!running) {
			fprintf(stderr, "CT %s not running\n", vmid);
			return 1;
		}
		return exec_lxc_tool(c, streq(cmd, "enter") ? "lxc-attach" : "lxc-console", vmid);
	}
	fprintf(stderr, "berth ct: unknown command '%s'\n", cmd);
	ct_usage(stderr);
	return 2;
}
