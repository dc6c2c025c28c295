/* user.cfg: the tolerant parser (PVE's parse_user_config), the config's lifecycle and lookups. */
#include "auth/usercfg-internal.h"
#include "basic/encoding.h"

/* ---- small text helpers ---------------------------------------------------------------- */

/* Perl's \s for bytes. */
static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static char *
trim(char *s)
{
	while (is_space(*s))
		s++;
	size_t len = strlen(s);
	while (len > 0 && is_space(s[len - 1]))
		s[--len] = '\0';
	return s;
}

/* Perl truthiness of a config field: "" and "0" are false. */
static bool
perl_true(const char *s)
{
	return s && *s && !streq(s, "0");
}

/* An unsigned decimal field; an empty or "0" field is 0 (PVE's `$expire = 0 if !$expire`). */
static bool
parse_expire(const char *s, int64_t *ret)
{
	if (!perl_true(s)) {
		*ret = 0;
		return true;
	}
	int64_t v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9' || v > (INT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (*p - '0');
	}
	*ret = v;
	return true;
}

struct list {
	char **items;
	size_t n;
};

static void
list_free(struct list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

/* PVE's split_list: items separated by any run of ',', ';' and whitespace. */
static struct list
split_list(const char *s)
{
	struct list l = { NULL, 0 };
	const char *p = s ? s : "";
	while (*p) {
		while (*p && (*p == ',' || *p == ';' || is_space(*p)))
			p++;
		const char *start = p;
		while (*p && *p != ',' && *p != ';' && !is_space(*p))
			p++;
		if (p > start)
			*ARRAY_PUSH(l.items, l.n) = xstrndup(start, (size_t)(p - start));
	}
	return l;
}

/* PVE's decode_text: %XX sequences decoded, anything else (also a stray '%') kept. Returns
 * NULL for an empty result; *ret_bad is set when the result holds NUL or is not UTF-8. */
static char *
decode_text(const char *s, bool *ret_bad)
{
	size_t o;
	char *out = text_decode(s, &o);
	bool bad = memchr(out, '\0', o) != NULL || !utf8_valid(out, o);
	*ret_bad = bad;
	if (bad || o == 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* ---- lifecycle and lookups -------------------------------------------------------------- */

void
uc_token_clear(struct uc_token *t)
{
	free(t->name);
	free(t->comment);
	memset(t, 0, sizeof(*t));
}

void
uc_user_clear(struct uc_user *u)
{
	free(u->userid);
	free(u->firstname);
	free(u->lastname);
	free(u->email);
	free(u->comment);
	free(u->keys);
	for (size_t i = 0; i < u->n_tokens; i++)
		uc_token_clear(&u->tokens[i]);
	free(u->tokens);
	memset(u, 0, sizeof(*u));
}

void
uc_group_clear(struct uc_group *g)
{
	free(g->groupid);
	for (size_t i = 0; i < g->n_members; i++)
		free(g->members[i]);
	free(g->members);
	free(g->comment);
	memset(g, 0, sizeof(*g));
}

void
uc_pool_clear(struct uc_pool *p)
{
	free(p->poolid);
	free(p->comment);
	free(p->vmids);
	for (size_t i = 0; i < p->n_storage; i++)
		free(p->storage[i]);
	free(p->storage);
	memset(p, 0, sizeof(*p));
}

void
uc_acl_clear(struct uc_acl *a)
{
	free(a->path);
	free(a->ugid);
	free(a->roleid);
	memset(a, 0, sizeof(*a));
}

void
usercfg_free(struct usercfg *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n_users; i++)
		uc_user_clear(&cfg->users[i]);
	free(cfg->users);
	for (size_t i = 0; i < cfg->n_groups; i++)
		uc_group_clear(&cfg->groups[i]);
	free(cfg->groups);
	for (size_t i = 0; i < cfg->n_pools; i++)
		uc_pool_clear(&cfg->pools[i]);
	free(cfg->pools);
	for (size_t i = 0; i < cfg->n_roles; i++)
		free(cfg->roles[i].roleid);
	free(cfg->roles);
	for (size_t i = 0; i < cfg->n_acls; i++)
		uc_acl_clear(&cfg->acls[i]);
	free(cfg->acls);
	for (size_t i = 0; i < cfg->n_warnings; i++)
		free(cfg->warnings[i]);
	free(cfg->warnings);
	free(cfg);
}

void
uc_ensure_root(struct usercfg *cfg)
{
	if (usercfg_find_user(cfg, "root@pam"))
		return;
	struct uc_user *u = ARRAY_PUSH(cfg->users, cfg->n_users);
	u->userid = xstrdup("root@pam");
	u->enable = true;
}

struct usercfg *
usercfg_new(void)
{
	struct usercfg *cfg = xcalloc(1, sizeof(*cfg));
	uc_ensure_root(cfg);
	return cfg;
}

struct uc_user *
usercfg_find_user(const struct usercfg *cfg, const char *userid)
{
	for (size_t i = 0; i < cfg->n_users; i++)
		if (streq(cfg->users[i].userid, userid))
			return &cfg->users[i];
	return NULL;
}

struct uc_group *
usercfg_find_group(const struct usercfg *cfg, const char *groupid)
{
	for (size_t i = 0; i < cfg->n_groups; i++)
		if (streq(cfg->groups[i].groupid, groupid))
			return &cfg->groups[i];
	return NULL;
}

struct uc_pool *
usercfg_find_pool(const struct usercfg *cfg, const char *poolid)
{
	for (size_t i = 0; i < cfg->n_pools; i++)
		if (streq(cfg->pools[i].poolid, poolid))
			return &cfg->pools[i];
	return NULL;
}

struct uc_role *
usercfg_find_role(const struct usercfg *cfg, const char *roleid)
{
	for (size_t i = 0; i < cfg->n_roles; i++)
		if (streq(cfg->roles[i].roleid, roleid))
			return &cfg->roles[i];
	return NULL;
}

static struct uc_token *
user_find_token(const struct uc_user *u, const char *name)
{
	for (size_t i = 0; i < u->n_tokens; i++)
		if (streq(u->tokens[i].name, name))
			return &u->tokens[i];
	return NULL;
}

struct uc_token *
usercfg_find_token(const struct usercfg *cfg, const char *full_tokenid)
{
	_cleanup_free_ char *userid = NULL;
	const char *name;
	if (!uc_split_tokenid(full_tokenid, &userid, &name))
		return NULL;
	struct uc_user *u = usercfg_find_user(cfg, userid);
	return u ? user_find_token(u, name) : NULL;
}

bool
usercfg_role_privs(const struct usercfg *cfg, const char *roleid, privset_t *ret)
{
	const struct builtin_role *b = builtin_role_lookup(roleid);
	if (b) {
		if (ret)
			*ret = b->privs;
		return true;
	}
	struct uc_role *r = usercfg_find_role(cfg, roleid);
	if (!r)
		return false;
	if (ret)
		*ret = r->privs;
	return true;
}

bool
uc_group_has_member(const struct uc_group *g, const char *userid)
{
	for (size_t i = 0; i < g->n_members; i++)
		if (streq(g->members[i], userid))
			return true;
	return false;
}

void
uc_group_add_member(struct uc_group *g, const char *userid)
{
	if (!uc_group_has_member(g, userid))
		*ARRAY_PUSH(g->members, g->n_members) = xstrdup(userid);
}

ssize_t
uc_acl_find(const struct usercfg *cfg, const char *path, enum uc_subject type, const char *ugid,
            const char *roleid)
{
	for (size_t i = 0; i < cfg->n_acls; i++) {
		const struct uc_acl *a = &cfg->acls[i];
		if (a->type == type && streq(a->path, path) && streq(a->ugid, ugid) &&
		    streq(a->roleid, roleid))
			return (ssize_t)i;
	}
	return -1;
}

void
uc_acl_put(struct usercfg *cfg, const char *path, enum uc_subject type, const char *ugid,
           const char *roleid, bool propagate)
{
	ssize_t i = uc_acl_find(cfg, path, type, ugid, roleid);
	if (i >= 0) {
		cfg->acls[i].propagate = propagate;
		return;
	}
	struct uc_acl *a = ARRAY_PUSH(cfg->acls, cfg->n_acls);
	a->path = xstrdup(path);
	a->type = type;
	a->ugid = xstrdup(ugid);
	a->roleid = xstrdup(roleid);
	a->propagate = propagate;
}

void
uc_acl_remove_if(struct usercfg *cfg, bool (*match)(const struct uc_acl *, const void *),
                 const void *data)
{
	size_t o = 0;
	for (size_t i = 0; i < cfg->n_acls; i++) {
		if (match(&cfg->acls[i], data))
			uc_acl_clear(&cfg->acls[i]);
		else
			cfg->acls[o++] = cfg->acls[i];
	}
	cfg->n_acls = o;
}

/* ---- parsing ---------------------------------------------------------------------------- */

struct parser {
	struct usercfg *cfg;
	unsigned lineno;
};

static void _printf_(2, 3) warn(struct parser *ps, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	sb_printf(&sb, "line %u: ", ps->lineno);
	va_list ap;
	va_start(ap, fmt);
	sb_vprintf(&sb, fmt, ap);
	va_end(ap);
	*ARRAY_PUSH(ps->cfg->warnings, ps->cfg->n_warnings) = sb_steal(&sb);
}

/* A decoded free-text field, or NULL (empty or undecodable, the latter with a warning). */
static char *
text_field(struct parser *ps, const char *field, const char *what)
{
	if (!field || !*field)
		return NULL;
	bool bad;
	char *s = decode_text(field, &bad);
	if (bad)
		warn(ps, "ignore %s - not valid UTF-8 text", what);
	return s;
}

/* An unencoded field (email, keys): kept only if it can be written back as it is. */
static char *
raw_field(struct parser *ps, const char *field, const char *what)
{
	if (!field || !*field)
		return NULL;
	if (!uc_raw_ok(field)) {
		warn(ps, "ignore %s - invalid characters", what);
		return NULL;
	}
	return xstrdup(field);
}

static bool
acl_is_token(const struct uc_acl *a, const void *id)
{
	return a->type == UC_SUBJECT_TOKEN && streq(a->ugid, (const char *)id);
}

#define FIELD(i) ((i) < nf ? f[(i)] : "")

static void
parse_user(struct parser *ps, char **f, size_t nf)
{
	const char *userid = FIELD(1);
	if (!userid_valid(userid)) {
		warn(ps, "ignore user '%s' - invalid user name", userid);
		return;
	}
	int64_t expire;
	if (!parse_expire(FIELD(3), &expire)) {
		warn(ps, "ignore user '%s' - (illegal characters in expire '%s')", userid,
		     FIELD(3));
		return;
	}
	/* a repeated user line replaces the whole user, tokens included (as PVE) */
	struct uc_user *u = usercfg_find_user(ps->cfg, userid);
	if (u) {
		/* token ACL entries exist only for existing tokens (a reload drops the others) */
		for (size_t i = 0; i < u->n_tokens; i++) {
			_cleanup_free_ char *id = xasprintf("%s!%s", userid, u->tokens[i].name);
			uc_acl_remove_if(ps->cfg, acl_is_token, id);
		}
		uc_user_clear(u);
	} else
		u = ARRAY_PUSH(ps->cfg->users, ps->cfg->n_users);
	u->userid = xstrdup(userid);
	u->enable = perl_true(FIELD(2));
	u->expire = expire;
	u->firstname = text_field(ps, FIELD(4), "firstname");
	u->lastname = text_field(ps, FIELD(5), "lastname");
	u->email = raw_field(ps, FIELD(6), "email");
	u->comment = text_field(ps, FIELD(7), "comment");
	u->keys = raw_field(ps, FIELD(8), "keys");
}

static void
parse_token(struct parser *ps, char **f, size_t nf)
{
	const char *id = FIELD(1);
	_cleanup_free_ char *userid = NULL;
	const char *name;
	if (!full_tokenid_valid(id) || !uc_split_tokenid(id, &userid, &name)) {
		warn(ps, "ignore invalid tokenid '%s'", id);
		return;
	}
	int64_t expire;
	if (!parse_expire(FIELD(2), &expire)) {
		warn(ps, "ignore token '%s' - (illegal characters in expire '%s')", id, FIELD(2));
		return;
	}
	struct uc_user *u = usercfg_find_user(ps->cfg, userid);
	if (!u) {
		warn(ps, "ignore token '%s' - user does not exist", id);
		return;
	}
	struct uc_token *t = user_find_token(u, name);
	if (!t) {
		t = ARRAY_PUSH(u->tokens, u->n_tokens);
		t->name = xstrdup(name);
	}
	t->privsep = perl_true(FIELD(3));
	t->expire = expire;
	char *comment = text_field(ps, FIELD(4), "token comment");
	if (comment) {
		free(t->comment);
		t->comment = comment;
	}
}

static void
parse_group(struct parser *ps, char **f, size_t nf)
{
	const char *groupid = FIELD(1);
	if (!groupid_valid(groupid)) {
		warn(ps, "ignore group '%s' - invalid characters in group name", groupid);
		return;
	}
	struct uc_group *g = usercfg_find_group(ps->cfg, groupid);
	if (!g) {
		g = ARRAY_PUSH(ps->cfg->groups, ps->cfg->n_groups);
		g->groupid = xstrdup(groupid);
	}
	char *comment = text_field(ps, FIELD(3), "group comment");
	if (comment) {
		free(g->comment);
		g->comment = comment;
	}
	struct list members = split_list(FIELD(2));
	for (size_t i = 0; i < members.n; i++) {
		const char *m = members.items[i];
		if (!userid_valid(m)) {
			warn(ps, "ignore invalid group member '%s'", m);
			continue;
		}
		/* an unknown but well-formed member stays, as in PVE (the user may come later) */
		if (!usercfg_find_user(ps->cfg, m))
			warn(ps, "group '%s' member '%s' does not exist", groupid, m);
		uc_group_add_member(g, m);
	}
	list_free(&members);
}

static struct uc_pool *
pool_get(struct usercfg *cfg, const char *poolid)
{
	struct uc_pool *p = usercfg_find_pool(cfg, poolid);
	if (!p) {
		p = ARRAY_PUSH(cfg->pools, cfg->n_pools);
		p->poolid = xstrdup(poolid);
	}
	return p;
}

static bool
vmid_in_any_pool(const struct usercfg *cfg, uint32_t vmid)
{
	for (size_t i = 0; i < cfg->n_pools; i++)
		for (size_t j = 0; j < cfg->pools[i].n_vmids; j++)
			if (cfg->pools[i].vmids[j] == vmid)
				return true;
	return false;
}

static void
parse_pool(struct parser *ps, char **f, size_t nf)
{
	const char *poolid = FIELD(1);
	if (!poolid_valid(poolid)) {
		warn(ps, "ignore pool '%s' - invalid characters in pool name", poolid);
		return;
	}
	/* nested pools imply their parents */
	_cleanup_free_ char *parent = xstrdup(poolid);
	for (char *slash; (slash = strrchr(parent, '/'));) {
		*slash = '\0';
		pool_get(ps->cfg, parent);
	}
	struct uc_pool *p = pool_get(ps->cfg, poolid);
	char *comment = text_field(ps, FIELD(2), "pool comment");
	if (comment) {
		free(p->comment);
		p->comment = comment;
	}

	struct list vms = split_list(FIELD(3));
	for (size_t i = 0; i < vms.n; i++) {
		const char *s = vms.items[i];
		uint64_t v = 0;
		bool ok = *s != '\0';
		for (const char *c = s; *c && ok; c++) {
			ok = *c >= '0' && *c <= '9';
			v = v * 10 + (uint64_t)(*c - '0');
			ok = ok && v <= UINT32_MAX;
		}
		if (!ok) {
			warn(ps, "ignore invalid vmid '%s' in pool '%s'", s, poolid);
			continue;
		}
		if (vmid_in_any_pool(ps->cfg, (uint32_t)v)) {
			warn(ps, "ignore duplicate vmid '%s' in pool '%s'", s, poolid);
			continue;
		}
		*ARRAY_PUSH(p->vmids, p->n_vmids) = (uint32_t)v;
	}
	list_free(&vms);

	struct list stores = split_list(FIELD(4));
	for (size_t i = 0; i < stores.n; i++) {
		const char *s = stores.items[i];
		if (!uc_pool_storage_valid(s)) {
			warn(ps, "ignore invalid storage '%s' in pool '%s'", s, poolid);
			continue;
		}
		bool dup = false;
		for (size_t j = 0; j < p->n_storage && !dup; j++)
			dup = streq(p->storage[j], s);
		if (!dup)
			*ARRAY_PUSH(p->storage, p->n_storage) = xstrdup(s);
	}
	list_free(&stores);
}

static void
parse_role(struct parser *ps, char **f, size_t nf)
{
	const char *roleid = FIELD(1);
	if (!roleid_valid(roleid)) {
		warn(ps, "ignore role '%s' - invalid characters in role name", roleid);
		return;
	}
	if (builtin_role_lookup(roleid)) {
		warn(ps, "ignore role '%s' - built-in roles cannot be redefined", roleid);
		return;
	}
	struct uc_role *r = usercfg_find_role(ps->cfg, roleid);
	if (!r) {
		r = ARRAY_PUSH(ps->cfg->roles, ps->cfg->n_roles);
		r->roleid = xstrdup(roleid);
	}
	struct list privs = split_list(FIELD(2));
	for (size_t i = 0; i < privs.n; i++) {
		privset_t bit = priv_bit(privs.items[i]);
		if (!bit)
			warn(ps, "ignore invalid privilege '%s'", privs.items[i]);
		r->privs |= bit;
	}
	list_free(&privs);
}

static void
parse_acl_member(struct parser *ps, const char *path, const char *ug, const char *roleid,
                 bool propagate)
{
	struct usercfg *cfg = ps->cfg;
	if (ug[0] == '@' && groupid_valid(ug + 1)) {
		if (!usercfg_find_group(cfg, ug + 1))
			warn(ps, "acl group '%s' does not exist", ug + 1);
		uc_acl_put(cfg, path, UC_SUBJECT_GROUP, ug + 1, roleid, propagate);
	} else if (userid_valid(ug)) {
		if (!usercfg_find_user(cfg, ug))
			warn(ps, "acl member '%s' does not exist", ug);
		/* root@pam has every privilege; PVE never writes its entries, so drop them here
		 * to keep parse(format(parse(x))) == parse(x) */
		if (!streq(ug, "root@pam"))
			uc_acl_put(cfg, path, UC_SUBJECT_USER, ug, roleid, propagate);
	} else if (full_tokenid_valid(ug)) {
		if (usercfg_find_token(cfg, ug))
			uc_acl_put(cfg, path, UC_SUBJECT_TOKEN, ug, roleid, propagate);
		else
			warn(ps, "ignore invalid acl token '%s'", ug);
	} else {
		warn(ps, "invalid user/group '%s' in acl", ug);
	}
}

static void
parse_acl(struct parser *ps, char **f, size_t nf)
{
	bool propagate = perl_true(FIELD(1));
	_cleanup_free_ char *path = uc_path_normalize_loose(FIELD(2));
	if (!path) {
		warn(ps, "ignore invalid path in acl '%s'", FIELD(2));
		return;
	}
	struct list roles = split_list(FIELD(4)), ugs = split_list(FIELD(3));
	for (size_t r = 0; r < roles.n; r++) {
		const char *roleid = roles.items[r];
		if (!roleid_valid(roleid)) {
			warn(ps, "ignore invalid role name '%s' in acl", roleid);
			continue;
		}
		if (!usercfg_role_privs(ps->cfg, roleid, NULL)) {
			warn(ps, "ignore invalid acl role '%s'", roleid);
			continue;
		}
		for (size_t u = 0; u < ugs.n; u++)
			parse_acl_member(ps, path, ugs.items[u], roleid, propagate);
	}
	list_free(&roles);
	list_free(&ugs);
}

static const struct {
	const char *type;
	void (*parse)(struct parser *, char **, size_t);
} line_types[] = {
	{ "user", parse_user }, { "token", parse_token }, { "group", parse_group },
	{ "pool", parse_pool }, { "role", parse_role },   { "acl", parse_acl },
};

static void
parse_line(struct parser *ps, const char *start, size_t len)
{
	_cleanup_free_ char *copy = xstrndup(start, len);
	char *line = trim(copy);
	if (!*line)
		return;
	/* a CR inside a line could end up in a field and later in a header or log line */
	if (strchr(line, '\r')) {
		warn(ps, "ignore config line with a carriage return");
		return;
	}

	/* split at ':' like Perl's split: empty trailing fields are dropped */
	char **f = NULL;
	size_t nf = 0;
	for (char *p = line;;) {
		char *colon = strchr(p, ':');
		if (colon)
			*colon = '\0';
		*ARRAY_PUSH(f, nf) = trim(p);
		if (!colon)
			break;
		p = colon + 1;
	}
	while (nf > 0 && !*f[nf - 1])
		nf--;

	bool known = false;
	for (size_t i = 0; nf > 0 && i < ARRAY_SIZE(line_types); i++) {
		if (streq(f[0], line_types[i].type)) {
			line_types[i].parse(ps, f, nf);
			known = true;
			break;
		}
	}
	if (!known)
		warn(ps, "ignore config line: %s", line);
	free(f);
}

int
usercfg_parse(const char *text, struct usercfg **ret)
{
	struct parser ps = { xcalloc(1, sizeof(struct usercfg)), 0 };
	const char *p = text ? text : "";
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		ps.lineno++;
		parse_line(&ps, p, len);
		p += len + (nl ? 1 : 0);
	}
	uc_ensure_root(ps.cfg);
	*ret = ps.cfg;
	return 0;
}
