/* Path lookup over the route table: a tree of path segments built once at start. Literal
 * segments win over "{param}" ones; a final "{name+}" takes the rest of the path with its
 * slashes (PVE's content/{volume}). */
#include "api/route.h"

#include <stdio.h>

struct rnode {
	char *literal;       /* NULL for the root */
	struct rnode **kids; /* literal children */
	size_t n_kids;
	struct rnode *param; /* "{name}" child */
	char *param_name;
	const struct api_route *rest[4]; /* "{name+}" routes by method */
	char *rest_name;
	const struct api_route *routes[4]; /* routes ending here, by method */
};

struct api_router {
	struct rnode root;
};

const char *
api_method_name(enum api_method m)
{
	static const char *const names[] = { "GET", "POST", "PUT", "DELETE" };
	return names[m];
}

int
api_method_parse(const char *s, enum api_method *ret)
{
	for (int m = API_GET; m <= API_DELETE; m++)
		if (streq(s, api_method_name((enum api_method)m))) {
			*ret = (enum api_method)m;
			return 0;
		}
	return -EINVAL;
}

static void
rnode_free(struct rnode *n)
{
	for (size_t i = 0; i < n->n_kids; i++) {
		rnode_free(n->kids[i]);
		free(n->kids[i]);
	}
	free(n->kids);
	if (n->param) {
		rnode_free(n->param);
		free(n->param);
	}
	free(n->literal);
	free(n->param_name);
	free(n->rest_name);
}

void
api_router_free(struct api_router *r)
{
	if (!r)
		return;
	rnode_free(&r->root);
	free(r);
}

static struct rnode *
literal_child(struct rnode *n, const char *seg, size_t len, bool create)
{
	for (size_t i = 0; i < n->n_kids; i++)
		if (strlen(n->kids[i]->literal) == len && strneq(n->kids[i]->literal, seg, len))
			return n->kids[i];
	if (!create)
		return NULL;
	n->kids = xrealloc(n->kids, (n->n_kids + 1) * sizeof(*n->kids));
	struct rnode *k = xcalloc(1, sizeof(*k));
	k->literal = xstrndup(seg, len);
	n->kids[n->n_kids++] = k;
	return k;
}

static int
add_route(struct api_router *r, const struct api_route *rt, struct error *err)
{
	struct rnode *n = &r->root;
	const char *p = rt->path;
	if (*p != '/')
		return error_set(err, EINVAL, "route path '%s' must start with '/'", rt->path);
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (p[0] == '{' && p[len - 1] == '}') {
			bool rest = len > 3 && p[len - 2] == '+';
			_cleanup_free_ char *name = xstrndup(p + 1, len - (rest ? 3 : 2));
			if (rest) {
				if (end && end[1])
					return error_set(err, EINVAL, "'{%s+}' must end route '%s'",
					                 name, rt->path);
				if (n->rest[rt->method])
					return error_set(err, EEXIST, "route %s %s defined twice",
					                 api_method_name(rt->method), rt->path);
				if (n->rest_name && !streq(n->rest_name, name))
					return error_set(err, EINVAL, "conflicting names at '%s'",
					                 rt->path);
				if (!n->rest_name)
					n->rest_name = xstrdup(name);
				n->rest[rt->method] = rt;
				return 0;
			}
			if (!n->param) {
				n->param = xcalloc(1, sizeof(*n->param));
				n->param_name = TAKE_PTR(name);
			} else if (!streq(n->param_name, name)) {
				return error_set(
				        err, EINVAL,
				        "route '%s' names parameter '%s' where another route "
				        "names it '%s'",
				        rt->path, name, n->param_name);
			}
			n = n->param;
		} else {
			n = literal_child(n, p, len, true);
		}
		p += len;
	}
	if (n->routes[rt->method])
		return error_set(err, EEXIST, "route %s %s defined twice",
		                 api_method_name(rt->method), rt->path);
	n->routes[rt->method] = rt;
	return 0;
}

int
api_router_new(struct api_router **ret, struct error *err)
{
	struct api_router *r = xcalloc(1, sizeof(*r));
	api_routes_foreach(rt)
	{
		int k = add_route(r, rt, err);
		if (k < 0) {
			api_router_free(r);
			return k;
		}
	}
	*ret = r;
	return 0;
}

static bool
has_any(const struct api_route *const routes[4])
{
	for (int i = 0; i < 4; i++)
		if (routes[i])
			return true;
	return false;
}

/* Depth-first match: literal first, then parameter, then rest. */
static const struct api_route *
match(const struct rnode *n, enum api_method m, const char *p, json_t *params, bool *exists)
{
	while (*p == '/')
		p++;
	if (!*p) {
		if (has_any(n->routes))
			*exists = true;
		return n->routes[m];
	}
	const char *end = strchr(p, '/');
	size_t len = end ? (size_t)(end - p) : strlen(p);

	const struct rnode *lit = literal_child((struct rnode *)n, p, len, false);
	if (lit) {
		const struct api_route *rt = match(lit, m, p + len, params, exists);
		if (rt)
			return rt;
	}
	if (n->param) {
		_cleanup_free_ char *value = xstrndup(p, len);
		const struct api_route *rt = match(n->param, m, p + len, params, exists);
		if (rt) {
			json_object_set_new(params, n->param_name, json_string(value));
			return rt;
		}
	}
	if (n->rest_name && has_any(n->rest)) {
		*exists = true;
		if (n->rest[m]) {
			/* the rest of the path, with empty segments dropped (PVE splits first) */
			_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
			for (const char *q = p; *q;) {
				while (*q == '/')
					q++;
				const char *e = strchr(q, '/');
				size_t l = e ? (size_t)(e - q) : strlen(q);
				if (l)
					sb_printf(&sb, "%s%.*s", sb.len ? "/" : "", (int)l, q);
				q += l;
			}
			json_object_set_new(params, n->rest_name, json_string(sb_str(&sb)));
			return n->rest[m];
		}
	}
	return NULL;
}

const struct api_route *
api_router_match(const struct api_router *r, enum api_method m, const char *path,
                 json_t *path_params, bool *ret_path_exists)
{
	bool exists = false;
	const struct api_route *rt = match(&r->root, m, path, path_params, &exists);
	if (ret_path_exists)
		*ret_path_exists = exists;
	return rt;
}
