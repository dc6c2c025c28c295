/* berth template list|build: the container templates this node builds (GET and POST
 * /nodes/localhost/aplinfo), following the build task's log. */
#include "cli/cli.h"

#include <stdio.h>

static const char *const list_columns[] = {
	"template", "package", "version", "os", "headline", NULL
};

static void
template_usage(FILE *out)
{
	fprintf(out,
	        "Usage:\n"
	        "  berth template list\n"
	        "      The templates this node can build (GET /nodes/localhost/aplinfo).\n"
	        "  berth template build NAME [--storage STORAGE]\n"
	        "      Build template NAME (busybox, debian-12, or a file name from the list)\n"
	        "      into STORAGE's vztmpl content (default: local), following the task "
	        "log;\n"
	        "      fails when the task fails. debian-12 runs debootstrap against the "
	        "host's\n"
	        "      Debian mirror and takes a few minutes.\n");
}

static bool
is_help(const char *a)
{
	return streq(a, "--help") || streq(a, "-h") || streq(a, "help");
}

static int
list_templates(struct cli *c)
{
	struct cli_response r;
	if (cli_call_ok(c, "GET", "/nodes/localhost/aplinfo", NULL, &r) < 0)
		return 1;
	json_t *data = json_object_get(r.body, "data");
	if (c->format == OUTPUT_TEXT) {
		/* the table shows the identifying columns; json output has every field */
		size_t i;
		json_t *el;
		json_array_foreach (data, i, el) {
			const char *k;
			void *tmp;
			json_t *v;
			json_object_foreach_safe (el, tmp, k, v) {
				bool keep = false;
				for (const char *const *col = list_columns; *col; col++)
					keep |= streq(*col, k);
				if (!keep)
					json_object_del(el, k);
			}
		}
	}
	cli_print(c, data, list_columns);
	cli_response_done(&r);
	return 0;
}

static int
build_template(struct cli *c, int argc, char **argv)
{
	const char *name = NULL, *storage = "local";
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (streq(a, "--storage") && i + 1 < argc) {
			storage = argv[++i];
		} else if (startswith(a, "--storage=")) {
			storage = a + strlen("--storage=");
		} else if (a[0] != '-' && !name) {
			name = a;
		} else {
			fprintf(stderr, "berth template build: unexpected argument '%s'\n", a);
			template_usage(stderr);
			return 2;
		}
	}
	if (!name) {
		template_usage(stderr);
		return 2;
	}
	struct cli_response r;
	if (cli_call_ok(c, "POST", "/nodes/localhost/aplinfo",
	                json_pack("{s:s, s:s}", "storage", storage, "template", name), &r) < 0)
		return 1;
	json_t *data = json_object_get(r.body, "data");
	int ret = 0;
	if (c->format == OUTPUT_TEXT && json_is_string(data)) {
		_cleanup_free_ char *upid = xstrdup(json_string_value(data));
		fprintf(stderr, "task %s\n", upid);
		ret = cli_follow_task(c, upid, true);
	} else {
		cli_print(c, data, NULL);
	}
	cli_response_done(&r);
	return ret;
}

int
cmd_template(struct cli *c, int argc, char **argv)
{
	if (argc < 1 || is_help(argv[0])) {
		template_usage(argc < 1 ? stderr : stdout);
		return argc < 1 ? 2 : 0;
	}
	for (int i = 1; i < argc; i++)
		if (streq(argv[i], "--help") || streq(argv[i], "-h")) {
			template_usage(stdout);
			return 0;
		}
	if (streq(argv[0], "list")) {
		if (argc > 1) {
			template_usage(stderr);
			return 2;
		}
		return list_templates(c);
	}
	if (streq(argv[0], "build"))
		return build_template(c, argc - 1, argv + 1);
	fprintf(stderr, "berth template: unknown command '%s'\n", argv[0]);
	template_usage(stderr);
	return 2;
}
