/* Help text generated from the route table: `berth usage PATH` and `berth VERB PATH --help`. */
#include "api/route.h"
#include "cli/cli.h"

#include <stdio.h>

static const char *const verbs[] = {
	[API_GET] = "get", [API_POST] = "create", [API_PUT] = "set", [API_DELETE] = "delete"
};

static const char *
type_text(const struct api_schema *s)
{
	switch (s->type) {
	case API_T_INTEGER:
		return "<integer>";
	case API_T_NUMBER:
		return "<number>";
	case API_T_BOOLEAN:
		return "<boolean>";
	case API_T_ARRAY:
		return "<array>";
	default:
		return "<string>";
	}
}

static void
print_param(FILE *out, const struct api_schema *s, bool path_param)
{
	if (path_param)
		return;
	fprintf(out, "  --%s %s", s->name, s->typetext ? s->typetext : type_text(s));
	if (s->enums) {
		fprintf(out, " (");
		for (const char *const *e = s->enums; *e; e++)
			fprintf(out, "%s%s", e == s->enums ? "" : " | ", *e);
		fprintf(out, ")");
	}
	if (s->flags & (API_F_HAS_MIN | API_F_HAS_MAX)) {
		fprintf(out, " (");
		if (s->flags & API_F_HAS_MIN)
			fprintf(out, "%.15g", s->minimum);
		fprintf(out, " - ");
		if (s->flags & API_F_HAS_MAX)
			fprintf(out, "%.15g", s->maximum);
		fprintf(out, ")");
	}
	if (s->format)
		fprintf(out, " [%s]", s->format);
	fprintf(out, "%s", s->optional ? "" : " (required)");
	if (s->default_text)
		fprintf(out, " (default=%s)", s->default_text);
	fprintf(out, "\n");
	if (s->description)
		fprintf(out, "        %s\n", s->description);
}

static bool
is_path_param(const struct api_route *rt, const char *name)
{
	_cleanup_free_ char *a = xasprintf("{%s}", name), *b = xasprintf("{%s+}", name);
	return strstr(rt->path, a) || strstr(rt->path, b);
}

static void
route_usage(FILE *out, const struct api_route *rt, const char *path, bool verbose)
{
	fprintf(out, "USAGE: berth %s %s", verbs[rt->method], path);
	for (const struct api_schema *s = rt->params; s && s->name; s++)
		if (!s->optional && !is_path_param(rt, s->name))
			fprintf(out, " --%s %s", s->name, type_text(s));
	fprintf(out, " [OPTIONS]\n");
	if (!verbose)
		return;
	fprintf(out, "\n  %s\n", rt->description);
	if (rt->flags & API_TASK)
		fprintf(out, "  Starts a task; the CLI follows its log (text output).\n");
	fprintf(out, "\n");
	for (const struct api_schema *s = rt->params; s && s->name; s++)
		print_param(out, s, is_path_param(rt, s->name));
	fprintf(out, "\n");
}

int
cmd_usage(const char *path, bool verbose, FILE *out)
{
	struct api_router *router;
	struct error err = { 0 };
	if (api_router_new(&router, &err) < 0) {
		fprintf(stderr, "berth: %s\n", err.msg);
		return 1;
	}
	int found = 0;
	for (int m = API_GET; m <= API_DELETE; m++) {
		json_t *params = json_object();
		const struct api_route *rt =
		        api_router_match(router, (enum api_method)m, path, params, NULL);
		json_decref(params);
		if (rt) {
			route_usage(out, rt, path, verbose);
			found++;
		}
	}
	api_router_free(router);
	if (!found) {
		fprintf(stderr,
		        "berth: no API path '%s' (see GET /api2/json/berth/schema or "
		        "docs/api.md)\n",
		        path);
		return 1;
	}
	return 0;
}

/* Columns a route declares for its list results, for readable tables. */
const char *const *
route_columns(const char *method, const char *path)
{
	static const char *cols[64];
	struct api_router *router;
	struct error err = { 0 };
	enum api_method m;
	if (api_method_parse(method, &m) < 0 || api_router_new(&router, &err) < 0)
		return NULL;
	json_t *params = json_object();
	const struct api_route *rt = api_router_match(router, m, path, params, NULL);
	json_decref(params);
	api_router_free(router);
	const struct api_schema *ret = rt ? rt->returns : NULL;
	if (!ret || ret->type != API_T_ARRAY || !ret->items || !ret->items->props)
		return NULL;
	size_t n = 0;
	for (const struct api_schema *s = ret->items->props; s->name && n + 1 < ARRAY_SIZE(cols);
	     s++)
		cols[n++] = s->name;
	cols[n] = NULL;
	return cols;
}
