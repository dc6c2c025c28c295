/* ACL evaluation: PVE's roles() walk, pool-derived roles and the token/user intersection. */
#include "auth/acl.h"
#include "auth/usercfg-internal.h"

#define ROOT_USER "root@pam"

struct role_hit {
	const char *roleid; /* points into the config */
	bool propagate;
};

struct roleset {
	struct role_hit *v;
	size_t n;
};

static void
roleset_free(struct roleset *r)
{
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

static struct role_hit *
roleset_get(const struct roleset *r, const char *roleid)
{
	for (size_t i = 0; i < r->n; i++)
		if (streq(r->v[i].roleid, roleid))
			return &r->v[i];
	return NULL;
}

/* Add a role; when several entries give the same role at one level (two groups), it
 * propagates if any of them does. */
static void
roleset_add(struct roleset *r, const char *roleid, bool propagate)
{
	struct role_hit *h = roleset_get(r, roleid);
	if (h) {
		h->propagate = h->propagate || propagate;
		return;
	}
	*ARRAY_PUSH(r->v, r->n) = (struct role_hit){ roleid, propagate };
}

/* NoAccess wins over everything else that is set on the same level or inherited. */
static void
roleset_apply_noaccess(struct roleset *r)
{
	struct role_hit *h = roleset_get(r, "NoAccess");
	if (!h || r->n == 1)
		return;
	struct role_hit keep = *h;
	r->v[0] = keep;
	r->n = 1;
}

/* A normalised path: leading '/', no empty component, no trailing '/' (except "/"). */
static bool
path_ok(const char *path)
{
	if (!path || path[0] != '/')
		return false;
	if (path[1] == '\0')
		return true;
	return !strstr(path, "//") && path[strlen(path) - 1] != '/';
}

/* Depth of acl_path on the way to path (0 for "/"), or -1 when it is not on the way. */
static ssize_t
level_of(const char *acl_path, const char *path)
{
	if (streq(acl_path, "/"))
		return 0;
	size_t len = strlen(acl_path);
	if (!strneq(acl_path, path, len) || (path[len] != '\0' && path[len] != '/'))
		return -1;
	ssize_t depth = 0;
	for (const char *p = acl_path; *p; p++)
		depth += *p == '/';
	return depth;
}

static size_t
path_depth(const char *path)
{
	if (streq(path, "/"))
		return 0;
	size_t depth = 0;
	for (const char *p = path; *p; p++)
		depth += *p == '/';
	return depth;
}

enum { CLASS_TOKEN, CLASS_USER, CLASS_GROUP, N_CLASSES };

static bool
subject_in_group(const struct usercfg *cfg, const char *groupid, const char *subject)
{
	const struct uc_group *g = usercfg_find_group(cfg, groupid);
	return g && uc_group_has_member(g, subject);
}

/* PVE's roles(): walk from "/" to path; at each level the subject's own entries (token, else
 * user), else its groups' entries, replace what was inherited. Entries without propagate
 * count only at the path itself. Pools are not considered here. */
static void
walk_roles(const struct usercfg *cfg, const char *subject, const char *path, struct roleset *out)
{
	size_t n_levels = path_depth(path) + 1;
	struct roleset *lv = xcalloc(n_levels * N_CLASSES, sizeof(*lv));

	for (size_t i = 0; i < cfg->n_acls; i++) {
		const struct uc_acl *a = &cfg->acls[i];
		/* the cheap path test first: most entries are elsewhere in the tree */
		ssize_t li = level_of(a->path, path);
		if (li < 0 || (size_t)li >= n_levels)
			continue;
		bool final = (size_t)li == n_levels - 1;
		if (!final && !a->propagate)
			continue;
		int cls;
		if (a->type == UC_SUBJECT_TOKEN && streq(a->ugid, subject))
			cls = CLASS_TOKEN;
		else if (a->type == UC_SUBJECT_USER && streq(a->ugid, subject))
			cls = CLASS_USER;
		else if (a->type == UC_SUBJECT_GROUP && subject_in_group(cfg, a->ugid, subject))
			cls = CLASS_GROUP;
		else
			continue;
		roleset_add(&lv[(size_t)li * N_CLASSES + cls], a->roleid, a->propagate);
	}

	out->v = NULL;
	out->n = 0;
	for (size_t li = 0; li < n_levels; li++) {
		for (int cls = 0; cls < N_CLASSES; cls++) {
			struct roleset *s = &lv[li * N_CLASSES + cls];
			if (s->n == 0)
				continue;
			roleset_free(out);
			*out = *s;
			s->v = NULL;
			s->n = 0;
			break;
		}
	}
	for (size_t i = 0; i < n_levels * N_CLASSES; i++)
		roleset_free(&lv[i]);
	free(lv);
	roleset_apply_noaccess(out);
}

/* The vmid of a "/vms/<vmid>" path in canonical decimal form, or -1. */
static int64_t
path_vmid(const char *path)
{
	if (!startswith(path, "/vms/"))
		return -1;
	const char *d = path + strlen("/vms/");
	if (*d < '1' || *d > '9' || strlen(d) > 10)
		return -1;
	int64_t v = 0;
	for (; *d; d++) {
		if (*d < '0' || *d > '9')
			return -1;
		v = v * 10 + (*d - '0');
	}
	return v <= UINT32_MAX ? v : -1;
}

/* Does pool p hold the object at path (/vms/<vmid> or /storage/<id>)? */
static bool
pool_holds(const struct uc_pool *p, const char *path, int64_t vmid)
{
	if (vmid >= 0) {
		for (size_t i = 0; i < p->n_vmids; i++)
			if (p->vmids[i] == (uint32_t)vmid)
				return true;
	} else if (startswith(path, "/storage/")) {
		for (size_t i = 0; i < p->n_storage; i++)
			if (streq(path + strlen("/storage/"), p->storage[i]))
				return true;
	}
	return false;
}

/* Roles on path including those a pool holding the object grants (PVE's compile step):
 * pool roles never override an explicit NoAccess, a NoAccess on a pool overrides the
 * rest, and pool roles add to the path's own roles without propagating. */
static void
effective_roles(const struct usercfg *cfg, const char *subject, const char *path,
                struct roleset *out)
{
	walk_roles(cfg, subject, path, out);
	if (roleset_get(out, "NoAccess"))
		return;

	struct roleset pool = { NULL, 0 };
	int64_t vmid = path_vmid(path);
	for (size_t i = 0; i < cfg->n_pools; i++) {
		const struct uc_pool *p = &cfg->pools[i];
		if (!pool_holds(p, path, vmid))
			continue;
		_cleanup_free_ char *pool_path = xasprintf("/pool/%s", p->poolid);
		struct roleset pr;
		walk_roles(cfg, subject, pool_path, &pr);
		for (size_t j = 0; j < pr.n; j++)
			roleset_add(&pool, pr.v[j].roleid, false);
		roleset_free(&pr);
	}
	if (roleset_get(&pool, "NoAccess")) {
		roleset_free(out);
		roleset_add(out, "NoAccess", false);
	} else {
		for (size_t j = 0; j < pool.n; j++)
			if (!roleset_get(out, pool.v[j].roleid))
				roleset_add(out, pool.v[j].roleid, false);
	}
	roleset_free(&pool);
}

static privset_t
roleset_privs(const struct usercfg *cfg, const struct roleset *r)
{
	privset_t set = 0;
	for (size_t i = 0; i < r->n; i++) {
		privset_t p;
		/* an ACL naming a role that no longer exists grants nothing */
		if (usercfg_role_privs(cfg, r->v[i].roleid, &p))
			set |= p;
	}
	return set;
}

static privset_t
subject_privs(const struct usercfg *cfg, const char *subject, const char *path)
{
	if (streq(subject, ROOT_USER))
		return priv_all();
	struct roleset r;
	effective_roles(cfg, subject, path, &r);
	privset_t set = roleset_privs(cfg, &r);
	roleset_free(&r);
	return set;
}

bool
acl_subject_active(const struct usercfg *cfg, const char *subject, time_t now)
{
	_cleanup_free_ char *userid = NULL;
	if (!subject)
		return false;
	if (full_tokenid_valid(subject)) {
		const struct uc_token *t = usercfg_find_token(cfg, subject);
		if (!t || (t->expire && t->expire < (int64_t)now))
			return false;
		uc_split_tokenid(subject, &userid, NULL);
	} else if (userid_valid(subject)) {
		userid = xstrdup(subject);
	} else {
		return false;
	}
	const struct uc_user *u = usercfg_find_user(cfg, userid);
	return u && u->enable && !(u->expire && u->expire < (int64_t)now);
}

privset_t
acl_privs(const struct usercfg *cfg, const char *subject, const char *path, time_t now)
{
	if (!path_ok(path) || !acl_subject_active(cfg, subject, now))
		return 0;
	if (!full_tokenid_valid(subject))
		return subject_privs(cfg, subject, path);

	_cleanup_free_ char *userid = NULL;
	uc_split_tokenid(subject, &userid, NULL);
	const struct uc_token *t = usercfg_find_token(cfg, subject);
	privset_t user = subject_privs(cfg, userid, path);
	if (!t->privsep)
		return user;
	/* a privilege-separated token never exceeds its user */
	return subject_privs(cfg, subject, path) & user;
}

static int
role_hit_cmp(const void *a, const void *b)
{
	return strcmp(((const struct role_hit *)a)->roleid, ((const struct role_hit *)b)->roleid);
}

char **
acl_roles(const struct usercfg *cfg, const char *subject, const char *path, bool **ret_propagate)
{
	struct roleset r = { NULL, 0 };
	struct role_hit admin = { "Administrator", true };
	bool owned = true;

	if (!subject || !path_ok(path)) {
		/* nothing */
	} else if (full_tokenid_valid(subject)) {
		const struct uc_token *t = usercfg_find_token(cfg, subject);
		if (t && !t->privsep) {
			_cleanup_free_ char *userid = NULL;
			uc_split_tokenid(subject, &userid, NULL);
			return acl_roles(cfg, userid, path, ret_propagate);
		}
		if (t)
			walk_roles(cfg, subject, path, &r);
	} else if (streq(subject, ROOT_USER)) {
		r.v = &admin;
		r.n = 1;
		owned = false;
	} else if (userid_valid(subject)) {
		walk_roles(cfg, subject, path, &r);
	}

	if (r.n > 1)
		qsort(r.v, r.n, sizeof(r.v[0]), role_hit_cmp);
	char **roles = xcalloc(r.n + 1, sizeof(*roles));
	bool *prop = xcalloc(r.n + 1, sizeof(*prop));
	for (size_t i = 0; i < r.n; i++) {
		roles[i] = xstrdup(r.v[i].roleid);
		prop[i] = r.v[i].propagate;
	}
	if (owned)
		roleset_free(&r);
	if (ret_propagate)
		*ret_propagate = prop;
	else
		free(prop);
	return roles;
}

void
acl_roles_free(char **roles, bool *propagate)
{
	if (roles)
		for (char **p = roles; *p; p++)
			free(*p);
	free(roles);
	free(propagate);
}
