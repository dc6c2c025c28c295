/* user.cfg writer (PVE's write_user_config): the canonical text, or NULL when unsafe. */
#include "auth/usercfg-internal.h"
#include "basic/encoding.h"

#include <inttypes.h>
#include <stdio.h>

/* PVE's encode_text (see text_encode), appended to sb; nothing for NULL. */
static void
encode_text(struct strbuf *sb, const char *s)
{
	if (!s)
		return;
	_cleanup_free_ char *e = text_encode(s);
	sb_puts(sb, e);
}

static int
cmp_str_ptr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
cmp_member_string(const void *a, const void *b, void *offset)
{
	size_t off = *(const size_t *)offset;
	return strcmp(*(char *const *)(*(const char *const *)a + off),
	              *(char *const *)(*(const char *const *)b + off));
}

/* Pointers to the elements of an array of structs, sorted by the string member at `offset`. */
static const void **
sorted_by_string(const void *base, size_t n, size_t size, size_t offset)
{
	const void **v = xcalloc(n ? n : 1, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = (const char *)base + i * size;
	qsort_r(v, n, sizeof(*v), cmp_member_string, &offset);
	return v;
}

static void
join_sorted(struct strbuf *sb, char **items, size_t n)
{
	if (n == 0)
		return;
	_cleanup_free_ char **v = xcalloc(n, sizeof(*v));
	memcpy(v, items, n * sizeof(*v));
	qsort(v, n, sizeof(*v), cmp_str_ptr);
	for (size_t i = 0; i < n; i++) {
		if (i)
			sb_putc(sb, ',');
		sb_puts(sb, v[i]);
	}
}

static bool
format_users(struct strbuf *sb, const struct usercfg *cfg)
{
	_cleanup_free_ const void **users = sorted_by_string(
	        cfg->users, cfg->n_users, sizeof(struct uc_user), offsetof(struct uc_user, userid));
	for (size_t i = 0; i < cfg->n_users; i++) {
		const struct uc_user *u = users[i];
		if (!userid_valid(u->userid) || !uc_raw_ok(u->email) || !uc_raw_ok(u->keys) ||
		    u->expire < 0)
			return false;
		sb_printf(sb, "user:%s:%d:%" PRId64 ":", u->userid, u->enable ? 1 : 0, u->expire);
		encode_text(sb, u->firstname);
		sb_putc(sb, ':');
		encode_text(sb, u->lastname);
		sb_printf(sb, ":%s:", u->email ? u->email : "");
		encode_text(sb, u->comment);
		sb_printf(sb, ":%s:\n", u->keys ? u->keys : "");

		_cleanup_free_ const void **tokens =
		        sorted_by_string(u->tokens, u->n_tokens, sizeof(struct uc_token),
		                         offsetof(struct uc_token, name));
		for (size_t j = 0; j < u->n_tokens; j++) {
			const struct uc_token *t = tokens[j];
			if (!tokenname_valid(t->name) || t->expire < 0)
				return false;
			sb_printf(sb, "token:%s!%s:%" PRId64 ":%d:", u->userid, t->name, t->expire,
			          t->privsep ? 1 : 0);
			encode_text(sb, t->comment);
			sb_puts(sb, ":\n");
		}
	}
	return true;
}

static bool
format_groups(struct strbuf *sb, const struct usercfg *cfg)
{
	_cleanup_free_ const void **groups =
	        sorted_by_string(cfg->groups, cfg->n_groups, sizeof(struct uc_group),
	                         offsetof(struct uc_group, groupid));
	for (size_t i = 0; i < cfg->n_groups; i++) {
		const struct uc_group *g = groups[i];
		if (!groupid_valid(g->groupid))
			return false;
		for (size_t j = 0; j < g->n_members; j++)
			if (!userid_valid(g->members[j]))
				return false;
		sb_printf(sb, "group:%s:", g->groupid);
		join_sorted(sb, g->members, g->n_members);
		sb_putc(sb, ':');
		encode_text(sb, g->comment);
		sb_puts(sb, ":\n");
	}
	return true;
}

static bool
format_pools(struct strbuf *sb, const struct usercfg *cfg)
{
	_cleanup_free_ const void **pools = sorted_by_string(
	        cfg->pools, cfg->n_pools, sizeof(struct uc_pool), offsetof(struct uc_pool, poolid));
	for (size_t i = 0; i < cfg->n_pools; i++) {
		const struct uc_pool *p = pools[i];
		if (!poolid_valid(p->poolid))
			return false;
		for (size_t j = 0; j < p->n_storage; j++)
			if (!uc_pool_storage_valid(p->storage[j]))
				return false;
		sb_printf(sb, "pool:%s:", p->poolid);
		encode_text(sb, p->comment);
		sb_putc(sb, ':');
		/* PVE sorts the vmids as strings ("100" < "1000" < "101") */
		char **ids = xcalloc(p->n_vmids ? p->n_vmids : 1, sizeof(*ids));
		for (size_t j = 0; j < p->n_vmids; j++)
			ids[j] = xasprintf("%" PRIu32, p->vmids[j]);
		join_sorted(sb, ids, p->n_vmids);
		for (size_t j = 0; j < p->n_vmids; j++)
			free(ids[j]);
		free(ids);
		sb_putc(sb, ':');
		join_sorted(sb, p->storage, p->n_storage);
		sb_puts(sb, ":\n");
	}
	return true;
}

static bool
format_roles(struct strbuf *sb, const struct usercfg *cfg)
{
	_cleanup_free_ const void **roles = sorted_by_string(
	        cfg->roles, cfg->n_roles, sizeof(struct uc_role), offsetof(struct uc_role, roleid));
	for (size_t i = 0; i < cfg->n_roles; i++) {
		const struct uc_role *r = roles[i];
		if (!roleid_valid(r->roleid))
			return false;
		if (builtin_role_lookup(r->roleid))
			continue;
		/* the table order is the sorted order PVE writes */
		_cleanup_free_ char *privs = privset_format(r->privs);
		sb_printf(sb, "role:%s:%s:\n", r->roleid, privs);
	}
	return true;
}

/* Order paths as PVE's depth-first walk over the sorted ACL tree: component by component. */
static int
path_cmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		int ca = *a ? (*a == '/' ? 0 : (unsigned char)*a) : -1;
		int cb = *b ? (*b == '/' ? 0 : (unsigned char)*b) : -1;
		if (ca != cb)
			return ca < cb ? -1 : 1;
		if (ca < 0)
			return 0;
	}
}

static int
acl_ptr_path_cmp(const void *a, const void *b)
{
	const struct uc_acl *x = *(const struct uc_acl *const *)a;
	const struct uc_acl *y = *(const struct uc_acl *const *)b;
	return path_cmp(x->path, y->path);
}

struct acl_row {
	int propagate;
	char *rolelist;
	char *member;
};

static int
acl_row_cmp(const void *a, const void *b)
{
	const struct acl_row *x = a, *y = b;
	if (x->propagate != y->propagate)
		return x->propagate - y->propagate;
	int c = strcmp(x->rolelist, y->rolelist);
	return c ? c : strcmp(x->member, y->member);
}

static char *
acl_member_name(const struct uc_acl *a)
{
	return a->type == UC_SUBJECT_GROUP ? xasprintf("@%s", a->ugid) : xstrdup(a->ugid);
}

static bool
acl_entry_writable(const struct uc_acl *a)
{
	_cleanup_free_ char *norm = uc_path_normalize_loose(a->path);
	if (!norm || !streq(norm, a->path) || !roleid_valid(a->roleid))
		return false;
	switch (a->type) {
	case UC_SUBJECT_USER:
		return userid_valid(a->ugid);
	case UC_SUBJECT_GROUP:
		return groupid_valid(a->ugid);
	case UC_SUBJECT_TOKEN:
		return full_tokenid_valid(a->ugid);
	}
	return false;
}

/* The lines of one path: each member's roles split by propagate flag, then members with
 * equal role lists merged into one line (as PVE's writer). */
static void
format_acl_path(struct strbuf *sb, const struct uc_acl **e, size_t n)
{
	struct acl_row *rows = xcalloc(2 * n, sizeof(*rows));
	size_t n_rows = 0;
	char **members = xcalloc(n, sizeof(*members));
	for (size_t i = 0; i < n; i++)
		members[i] = acl_member_name(e[i]);

	for (size_t i = 0; i < n; i++) {
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = streq(members[j], members[i]);
		if (seen)
			continue;
		for (int prop = 0; prop <= 1; prop++) {
			char **roles = xcalloc(n, sizeof(*roles));
			size_t nr = 0;
			for (size_t j = i; j < n; j++)
				if (streq(members[j], members[i]) && (int)e[j]->propagate == prop)
					roles[nr++] = e[j]->roleid;
			if (nr) {
				struct strbuf rl = STRBUF_INIT;
				join_sorted(&rl, roles, nr);
				rows[n_rows++] = (struct acl_row){ prop, sb_steal(&rl),
					                           xstrdup(members[i]) };
			}
			free(roles);
		}
	}
	qsort(rows, n_rows, sizeof(*rows), acl_row_cmp);

	for (size_t i = 0; i < n_rows;) {
		size_t j = i;
		sb_printf(sb, "acl:%d:%s:", rows[i].propagate, e[0]->path);
		for (; j < n_rows && rows[j].propagate == rows[i].propagate &&
		       streq(rows[j].rolelist, rows[i].rolelist);
		     j++)
			sb_printf(sb, "%s%s", j > i ? "," : "", rows[j].member);
		sb_printf(sb, ":%s:\n", rows[i].rolelist);
		i = j;
	}

	for (size_t i = 0; i < n_rows; i++) {
		free(rows[i].rolelist);
		free(rows[i].member);
	}
	free(rows);
	for (size_t i = 0; i < n; i++)
		free(members[i]);
	free(members);
}

static bool
format_acls(struct strbuf *sb, const struct usercfg *cfg)
{
	_cleanup_free_ const struct uc_acl **v = xcalloc(cfg->n_acls + 1, sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; i < cfg->n_acls; i++) {
		const struct uc_acl *a = &cfg->acls[i];
		if (!acl_entry_writable(a))
			return false;
		if (a->type == UC_SUBJECT_USER && streq(a->ugid, "root@pam"))
			continue;
		v[n++] = a;
	}
	qsort(v, n, sizeof(*v), acl_ptr_path_cmp);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && streq(v[j]->path, v[i]->path))
			j++;
		format_acl_path(sb, v + i, j - i);
		i = j;
	}
	return true;
}

char *
usercfg_format(const struct usercfg *cfg)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	if (!format_users(&sb, cfg))
		return NULL;
	sb_putc(&sb, '\n');
	if (!format_groups(&sb, cfg))
		return NULL;
	sb_putc(&sb, '\n');
	if (!format_pools(&sb, cfg))
		return NULL;
	sb_putc(&sb, '\n');
	if (!format_roles(&sb, cfg))
		return NULL;
	sb_putc(&sb, '\n');
	if (!format_acls(&sb, cfg))
		return NULL;
	return sb_steal(&sb);
}
