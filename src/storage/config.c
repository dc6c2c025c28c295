/* storage.cfg: Proxmox's section config, one section per storage, checked property by
 * property. The common properties are checked here; which further ones a type accepts is its
 * table's `props` list. */
#include "storage/storage.h"
#include "basic/strbuf.h"
#include "shared/sectioncfg.h"

#include <ctype.h>
#include <stdio.h>

enum prop_kind { P_BOOL, P_CONTENT, P_NODES, P_FORMAT, P_PATH, P_PRUNE, P_ENUM, P_INT, P_MOUNT };

struct prop {
	const char *name;
	enum prop_kind kind;
	bool common;               /* accepted by every type */
	const char *const *values; /* P_ENUM */
};

static const char *const preallocation_values[] = { "off", "metadata", "falloc", "full", NULL };
static const char *const prune_keys[] = { "keep-all",    "keep-last",   "keep-hourly",
	                                  "keep-daily",  "keep-weekly", "keep-monthly",
	                                  "keep-yearly", NULL };

static const struct prop props[] = {
	{ "content", P_CONTENT, true, NULL },
	{ "disable", P_BOOL, true, NULL },
	{ "nodes", P_NODES, true, NULL },
	{ "shared", P_BOOL, true, NULL },
	{ "prune-backups", P_PRUNE, true, NULL },
	{ "max-protected-backups", P_INT, true, NULL },
	{ "path", P_PATH, false, NULL },
	{ "format", P_FORMAT, false, NULL },
	{ "mkdir", P_BOOL, false, NULL },
	{ "create-base-path", P_BOOL, false, NULL },
	{ "create-subdirs", P_BOOL, false, NULL },
	{ "is_mountpoint", P_MOUNT, false, NULL },
	{ "nocow", P_BOOL, false, NULL },
	{ "preallocation", P_ENUM, false, preallocation_values },
	{ "bwlimit", P_PRUNE, false, NULL },
};

static const struct prop *
prop_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(props); i++)
		if (streq(props[i].name, name))
			return &props[i];
	return NULL;
}

static bool
type_accepts(const struct storage_type *t, const struct prop *p)
{
	if (p->common)
		return true;
	for (const char *const *n = t->props; n && *n; n++)
		if (streq(*n, p->name))
			return true;
	return false;
}

static bool
bool_value(const char *v, bool *ret)
{
	if (streq(v, "1") || streq(v, "yes") || streq(v, "on") || streq(v, "true"))
		*ret = true;
	else if (streq(v, "0") || streq(v, "no") || streq(v, "off") || streq(v, "false"))
		*ret = false;
	else
		return false;
	return true;
}

static bool
int_value(const char *v, long long min, long long *ret)
{
	char *end;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (!*v || *end || errno || n < min)
		return false;
	*ret = n;
	return true;
}

/* "a,b" of node names (PVE's pve-node-list). */
static bool
nodes_valid(const char *v)
{
	_cleanup_free_ char *copy = xstrdup(v);
	char *save = NULL;
	int n = 0;
	for (char *w = strtok_r(copy, ",; ", &save); w; w = strtok_r(NULL, ",; ", &save), n++) {
		size_t len = strlen(w);
		if (len > 63 || !isalnum((unsigned char)w[0]))
			return false;
		for (size_t i = 0; i < len; i++)
			if (!isalnum((unsigned char)w[i]) && w[i] != '-' && w[i] != '.')
				return false;
	}
	return n > 0;
}

/* "keep-last=3,keep-daily=7" or "keep-all=1"; bwlimit reuses the k=v shape loosely (its
 * keys are checked to be words, values numbers). */
static bool
kv_list_valid(const char *v, const char *const *keys)
{
	_cleanup_free_ char *copy = xstrdup(v);
	char *save = NULL;
	int n = 0;
	for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save), n++) {
		char *eq = strchr(w, '=');
		long long num;
		if (!eq || !int_value(eq + 1, 0, &num))
			return false;
		*eq = '\0';
		bool known = !keys;
		for (const char *const *k = keys; k && *k; k++)
			known |= streq(*k, w);
		if (!known || !*w)
			return false;
	}
	return n > 0;
}

static bool
path_valid(const char *v)
{
	if (v[0] != '/' || strlen(v) > 4096)
		return false;
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	/* no "." or ".." components: the path is used as given */
	for (const char *p = v; (p = strchr(p, '/'));) {
		p++;
		size_t n = strcspn(p, "/");
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
	}
	return true;
}

static int
check_prop(const struct prop *p, const char *v, struct storage *s, struct error *err)
{
	bool b;
	long long n;
	switch (p->kind) {
	case P_BOOL:
		if (!bool_value(v, &b))
			return error_set(err, EINVAL,
			                 "%s: type check ('boolean') failed - got '%s'", p->name,
			                 v);
		if (streq(p->name, "shared"))
			s->shared = b;
		else if (streq(p->name, "disable"))
			s->disabled = b;
		else if (streq(p->name, "create-base-path") || streq(p->name, "mkdir"))
			s->create_base_path = b;
		else if (streq(p->name, "create-subdirs"))
			s->create_subdirs = b;
		return 0;
	case P_CONTENT: {
		unsigned mask;
		struct error e = { 0 };
		if (storage_content_parse(v, &mask, &e) < 0)
			return error_set(err, EINVAL, "content: %s", e.msg);
		unsigned extra = mask & ~(s->type->content | CONTENT_NONE);
		if (extra) {
			_cleanup_free_ char *names = storage_content_format(extra);
			return error_set(err, EINVAL,
			                 "content: storage type '%s' does not support content type "
			                 "'%s'",
			                 s->type->name, names);
		}
		s->content = mask == CONTENT_NONE ? 0 : mask;
		return 0;
	}
	case P_NODES:
		if (!nodes_valid(v))
			return error_set(err, EINVAL, "nodes: invalid node list '%s'", v);
		s->nodes = xstrdup(v);
		return 0;
	case P_FORMAT: {
		enum volume_format f = volume_format_parse(v);
		if (!f || !(s->type->formats & f))
			return error_set(err, EINVAL,
			                 "format: storage type '%s' does not support format '%s'",
			                 s->type->name, v);
		s->default_format = f;
		return 0;
	}
	case P_PATH:
		if (!path_valid(v))
			return error_set(err, EINVAL,
			                 "path: invalid path '%s' (absolute, without '.' "
			                 "or '..' parts or control characters)",
			                 v);
		s->path = xstrdup(v);
		return 0;
	case P_PRUNE:
		if (!kv_list_valid(v, streq(p->name, "prune-backups") ? prune_keys : NULL))
			return error_set(err, EINVAL, "%s: invalid format '%s'", p->name, v);
		return 0;
	case P_ENUM:
		for (const char *const *e = p->values; *e; e++)
			if (streq(*e, v))
				return 0;
		return error_set(err, EINVAL,
		                 "%s: value '%s' does not have a value in the "
		                 "enumeration",
		                 p->name, v);
	case P_INT:
		if (!int_value(v, -1, &n))
			return error_set(err, EINVAL,
			                 "%s: type check ('integer') failed - got '%s'", p->name,
			                 v);
		return 0;
	case P_MOUNT:
		if (!bool_value(v, &b) && !path_valid(v))
			return error_set(err, EINVAL,
			                 "is_mountpoint: expected a boolean or an "
			                 "absolute path, got '%s'",
			                 v);
		return 0;
	}
	return 0;
}

void
storage_done(struct storage *s)
{
	free(s->id);
	free(s->path);
	free(s->nodes);
	json_decref(s->props);
	*s = (struct storage){ 0 };
}

int
storage_from_props(const char *type, const char *id, json_t *in, struct storage *ret,
                   struct error *err)
{
	const struct storage_type *t = storage_type_find(type);
	if (!t)
		return error_set(err, EINVAL, "unknown storage type '%s'", type);
	if (!storage_id_valid(id))
		return error_set(err, EINVAL, "invalid storage ID '%s'", id);
	struct storage s = {
		.id = xstrdup(id),
		.type = t,
		.content = t->default_content,
		.create_base_path = true,
		.create_subdirs = true,
		.props = json_object(),
	};
	const char *key;
	json_t *val;
	json_object_foreach (in, key, val) {
		const char *v = json_string_value(val);
		const struct prop *p = prop_find(key);
		int r;
		if (!p || !type_accepts(t, p))
			r = error_set(err, EINVAL, "%s: property is not defined for type '%s'", key,
			              t->name);
		else if (!v || strpbrk(v, "\r\n"))
			r = error_set(err, EINVAL, "%s: value contains a line break", key);
		else
			r = check_prop(p, v, &s, err);
		if (r < 0) {
			storage_done(&s);
			return r;
		}
		json_object_set_new(s.props, key, json_string(v));
	}
	for (const char *const *n = t->props; n && *n; n++)
		if (streq(*n, "path") && !s.path) {
			storage_done(&s);
			return error_set(err, EINVAL,
			                 "path: property is missing and it is not optional");
		}
	if (t->check && t->check(&s, err) < 0) {
		storage_done(&s);
		return -EINVAL;
	}
	*ret = s;
	return 0;
}

int
storage_config_parse(const char *text, struct storage_config **ret, char ***warnings,
                     struct error *err)
{
	struct sectioncfg *sc = NULL;
	int r = sectioncfg_parse(text ? text : "", &sc);
	if (r < 0)
		return error_errno(err, r, "parsing storage.cfg");
	struct storage_config *cfg = xcalloc(1, sizeof(*cfg));
	cfg->list = xcalloc(sc->n ? sc->n : 1, sizeof(*cfg->list));
	size_t n_warn = 0;
	char **warn = NULL;
	for (size_t i = 0; i < sc->n; i++) {
		const struct section *sec = &sc->sections[i];
		struct error e = { 0 };
		if (storage_config_find(cfg, sec->id)) {
			error_set(&e, EEXIST, "duplicate storage ID '%s'", sec->id);
		} else if (storage_from_props(sec->type, sec->id, sec->props, &cfg->list[cfg->n],
		                              &e) == 0) {
			cfg->n++;
			continue;
		}
		warn = xrealloc(warn, (n_warn + 2) * sizeof(*warn));
		warn[n_warn++] = xasprintf("storage '%s' ignored: %s", sec->id, e.msg);
		warn[n_warn] = NULL;
	}
	for (size_t i = 0; sc->warnings && sc->warnings[i]; i++) {
		warn = xrealloc(warn, (n_warn + 2) * sizeof(*warn));
		warn[n_warn++] = xstrdup(sc->warnings[i]);
		warn[n_warn] = NULL;
	}
	sectioncfg_free(sc);
	if (warnings)
		*warnings = warn;
	else
		for (size_t i = 0; i < n_warn; i++)
			free(warn[i]);
	if (!warnings)
		free(warn);
	*ret = cfg;
	return 0;
}

void
storage_config_free(struct storage_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n; i++)
		storage_done(&cfg->list[i]);
	free(cfg->list);
	free(cfg);
}

const struct storage *
storage_config_find(const struct storage_config *cfg, const char *id)
{
	for (size_t i = 0; cfg && i < cfg->n; i++)
		if (streq(cfg->list[i].id, id))
			return &cfg->list[i];
	return NULL;
}

bool
storage_enabled_on(const struct storage *s, const char *node)
{
	if (s->disabled)
		return false;
	if (!s->nodes)
		return true;
	_cleanup_free_ char *copy = xstrdup(s->nodes);
	char *save = NULL;
	for (char *w = strtok_r(copy, ",; ", &save); w; w = strtok_r(NULL, ",; ", &save))
		if (streq(w, node))
			return true;
	return false;
}
