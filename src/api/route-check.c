/* Build-time check of the route table (run by meson; a failure fails the build):
 * every route declares a permission, path parameters are declared with the parameters,
 * privilege names exist, and no two routes clash. With --markdown FILE it also renders the
 * API reference (docs/api.md is that output; a test keeps it current). */
#include "api/handlers.h"
#include "auth/privs.h"

#include <stdio.h>

static int failures;

static void
fail(const struct api_route *rt, const char *what)
{
	fprintf(stderr, "route-check: %s %s: %s\n", api_method_name(rt->method), rt->path, what);
	failures++;
}

static void
check_privs(const struct api_route *rt, const char *list)
{
	char **names = split_list(list);
	for (char **p = names; *p; p++)
		if (priv_lookup(*p) < 0) {
			char msg[256];
			snprintf(msg, sizeof(msg), "unknown privilege '%s'", *p);
			fail(rt, msg);
		}
	strv_free(names);
}

static void
check_route(const struct api_route *rt)
{
	const struct api_perm *p = &rt->perm;
	switch (p->kind) {
	case PERM_UNSET:
		fail(rt, "no permission declared");
		break;
	case PERM_PRIVS:
	case PERM_SELF_OR_PRIVS:
		if (!p->path || !p->privs || !*p->privs)
			fail(rt, "a privilege check needs an ACL path and privileges");
		else
			check_privs(rt, p->privs);
		if (p->kind == PERM_SELF_OR_PRIVS && !p->userid_param)
			fail(rt, "self-or-privs needs userid_param");
		break;
	case PERM_USERID_GROUP:
		if (!p->privs)
			fail(rt, "userid-group needs privileges");
		else
			check_privs(rt, p->privs);
		if (p->realm_privs)
			check_privs(rt, p->realm_privs);
		break;
	case PERM_PERM_MODIFY:
		if (!p->path)
			fail(rt, "perm-modify needs an ACL path");
		break;
	default:
		break;
	}
	if (!rt->description || !*rt->description)
		fail(rt, "no description");
	/* every {name} in the path is a declared parameter */
	for (const char *s = strchr(rt->path, '{'); s; s = strchr(s + 1, '{')) {
		const char *e = strchr(s, '}');
		size_t len = (size_t)(e - s - 1);
		if (s[len] == '+')
			len--;
		char name[64];
		snprintf(name, sizeof(name), "%.*s", (int)len, s + 1);
		if (!schema_find(rt->params, name)) {
			char msg[128];
			snprintf(msg, sizeof(msg), "path parameter '%s' is not declared", name);
			fail(rt, msg);
		}
	}
	for (const struct api_schema *s = rt->params; s && s->name; s++) {
		if (s->type == API_T_NONE)
			fail(rt, "a parameter has no type");
		if (s->format && !format_lookup_suffixed(s->format, NULL, NULL)) {
			char msg[128];
			snprintf(msg, sizeof(msg), "parameter '%s' has unknown format '%s'",
			         s->name, s->format);
			fail(rt, msg);
		}
	}
}

static void
markdown_route(FILE *f, const struct api_route *rt)
{
	fprintf(f, "### `%s %s`\n\n%s\n\n", api_method_name(rt->method), rt->path, rt->description);
	const struct api_perm *p = &rt->perm;
	switch (p->kind) {
	case PERM_WORLD:
		fprintf(f, "Permission: none (no authentication).");
		break;
	case PERM_ANY_USER:
		fprintf(f, "Permission: any authenticated user.");
		break;
	case PERM_ROOT:
		fprintf(f, "Permission: root@pam only.");
		break;
	case PERM_PRIVS:
		fprintf(f, "Permission: `%s` on `%s`%s.", p->privs, p->path,
		        p->any && strchr(p->privs, ',') ? " (any of them)" : "");
		break;
	case PERM_SELF_OR_PRIVS:
		fprintf(f, "Permission: the user themself, or `%s` on `%s`.", p->privs, p->path);
		break;
	case PERM_USERID_GROUP:
		fprintf(f, "Permission: `%s` on `/access/groups`%s%s%s%s.", p->privs,
		        p->any && strchr(p->privs, ',') ? " (any of them)" : "",
		        p->realm_privs ? " and `" : "", p->realm_privs ? p->realm_privs : "",
		        p->realm_privs ? "` on `/access/realm/<realm>`" : "");
		if (p->self_ok)
			fprintf(f, " The user themself always may.");
		break;
	case PERM_PERM_MODIFY:
		fprintf(f, "Permission: `Permissions.Modify` on the path (or the matching "
		           "`*.Allocate` privilege on `/vms`, `/storage`, `/pool` paths).");
		break;
	default:
		break;
	}
	if (p->description)
		fprintf(f, " %s", p->description);
	fprintf(f, "%s\n\n", (rt->flags & API_NO_TOKEN) ? " Not available with API tokens." : "");
	if (rt->flags & API_TASK)
		fprintf(f, "Returns a task (UPID).\n\n");
	if (rt->params && rt->params->name) {
		fprintf(f, "| parameter | type | required | description |\n|---|---|---|---|\n");
		for (const struct api_schema *s = rt->params; s->name; s++) {
			json_t *j = schema_to_json(s);
			const char *type = json_string_value(json_object_get(j, "type"));
			fprintf(f, "| `%s` | %s%s%s%s | %s | %s%s%s%s |\n", s->name,
			        type ? type : "", s->format ? " (`" : "",
			        s->format ? s->format : "", s->format ? "`)" : "",
			        s->optional ? "no" : "yes", s->description ? s->description : "",
			        s->default_text ? " Default: `" : "",
			        s->default_text ? s->default_text : "",
			        s->default_text ? "`." : "");
			json_decref(j);
		}
		fprintf(f, "\n");
	}
}

int
main(int argc, char **argv)
{
	api_routes_foreach(rt) check_route(rt);
	struct api_router *router = NULL;
	struct error err = { 0 };
	if (api_router_new(&router, &err) < 0) {
		fprintf(stderr, "route-check: %s\n", err.msg);
		failures++;
	}
	api_router_free(router);
	if (failures) {
		fprintf(stderr, "route-check: %d problem(s) in the route table\n", failures);
		return 1;
	}
	if (argc > 2 && streq(argv[1], "--markdown")) {
		FILE *f = fopen(argv[2], "w");
		if (!f)
			return 1;
		fprintf(f,
		        "# Berth API reference\n\nGenerated from the route table by "
		        "`build/src/api/route-check --markdown docs/api.md`; do not edit by hand. "
		        "All paths are below `/api2/json`. The same data is served at "
		        "`GET /api2/json/berth/schema`.\n\n");
		api_routes_foreach(rt) markdown_route(f, rt);
		fclose(f);
		return 0;
	}
	if (argc > 1) {
		FILE *f = fopen(argv[1], "w");
		if (!f)
			return 1;
		fprintf(f, "ok\n");
		fclose(f);
	}
	return 0;
}
