/* Storage configuration (/storage, storage.cfg) and per-node storage status
 * (/nodes/{node}/storage). The storage layer (src/storage) checks properties and knows the
 * types; this file maps it onto Proxmox's API. */
#include "api/handlers.h"
#include "basic/log.h"
#include "shared/sectioncfg.h"
#include "storage/storage.h"
#include "store/store.h"

#include <math.h>
#include <strings.h>

#define STORAGE_CFG "storage.cfg"

struct storage_config *
api_storage_config(struct api_ctx *ctx, struct error *err)
{
	_cleanup_free_ char *text = store_text(ctx, STORAGE_CFG);
	struct storage_config *cfg = NULL;
	char **warnings = NULL;
	if (storage_config_parse(text ? text : "", &cfg, &warnings, err) < 0)
		return NULL;
	for (char **w = warnings; w && *w; w++) {
		log_warn("storage.cfg: %s", *w);
		free(*w);
	}
	free(warnings);
	return cfg;
}

struct storage_config *
worker_storage_config(struct task_worker *w, struct error *err)
{
	struct worker_env *env = task_userdata(w);
	struct store_file f = { 0 };
	int r = store_read(env->store, STORAGE_CFG, &f);
	if (r < 0 && r != -ENOENT) {
		error_errno(err, r, "unable to read storage.cfg");
		return NULL;
	}
	struct storage_config *cfg = NULL;
	char **warnings = NULL;
	r = storage_config_parse(r == 0 ? f.data : "", &cfg, &warnings, err);
	store_file_done(&f);
	for (char **wn = warnings; wn && *wn; wn++) {
		task_warn(w, "storage.cfg: %s", *wn);
		free(*wn);
	}
	free(warnings);
	return r < 0 ? NULL : cfg;
}

/* ---- the config view (GET /storage) ---- */

/* Properties whose config-view values are numbers (Ansible compares `shared == 1`). */
static const char *const numeric_props[] = {
	"shared",
	"disable",
	"mkdir",
	"create-base-path",
	"create-subdirs",
	"nocow",
	"max-protected-backups",
	NULL,
};

static bool
in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (streq(*list, s))
			return true;
	return false;
}

static json_t *
config_view(const struct storage *s, const char *digest)
{
	json_t *o = json_object();
	const char *key;
	json_t *v;
	json_object_foreach (s->props, key, v) {
		const char *text = json_string_value(v);
		if (in_list(numeric_props, key)) {
			long long n = strtoll(text, NULL, 10);
			if (streq(text, "yes") || streq(text, "on") || streq(text, "true"))
				n = 1;
			json_object_set_new(o, key, json_integer(n));
		} else {
			json_object_set_new(o, key, json_string(text));
		}
	}
	_cleanup_free_ char *content =
	        storage_content_format(s->content ? s->content : CONTENT_NONE);
	json_object_set_new(o, "content", json_string(content));
	json_object_set_new(o, "storage", json_string(s->id));
	json_object_set_new(o, "type", json_string(s->type->name));
	if (digest)
		json_object_set_new(o, "digest", json_string(digest));
	return o;
}

/* The storage config as stored, parsed; answers 500 when storage.cfg cannot be read. */
static struct storage_config *
load_config(struct api_call *c, char **ret_digest)
{
	struct store_file f = { 0 };
	int r = store_read(c->ctx->store, STORAGE_CFG, &f);
	if (r < 0 && r != -ENOENT) {
		api_fail(c, 500, "unable to read storage.cfg - %s", strerror(-r));
		return NULL;
	}
	struct storage_config *cfg = NULL;
	char **warnings = NULL;
	if (storage_config_parse(r == 0 ? f.data : "", &cfg, &warnings, &c->err) < 0) {
		store_file_done(&f);
		return NULL;
	}
	for (char **w = warnings; w && *w; w++) {
		log_warn("storage.cfg: %s", *w);
		free(*w);
	}
	free(warnings);
	if (ret_digest)
		*ret_digest = r == 0 ? xstrdup(f.digest) : NULL;
	store_file_done(&f);
	return cfg;
}

static const struct storage *
find_or_fail(struct api_call *c, const struct storage_config *cfg, const char *sid)
{
	const struct storage *s = storage_config_find(cfg, sid);
	if (!s)
		api_fail(c, 500, "storage '%s' does not exist", sid);
	return s;
}

static int
list_storage(struct api_call *c)
{
	_cleanup_free_ char *digest = NULL;
	struct storage_config *cfg = load_config(c, &digest);
	if (!cfg)
		return -EIO;
	const char *type = param_str(c->params, "type");
	c->data = json_array();
	for (size_t i = 0; i < cfg->n; i++) {
		const struct storage *s = &cfg->list[i];
		_cleanup_free_ char *path = xasprintf("/storage/%s", s->id);
		if (!api_has_privs(c, path, "Datastore.Audit,Datastore.AllocateSpace", true))
			continue;
		if (type && !streq(type, s->type->name))
			continue;
		json_array_append_new(c->data, config_view(s, digest));
	}
	storage_config_free(cfg);
	return 0;
}

static int
read_storage(struct api_call *c)
{
	_cleanup_free_ char *digest = NULL;
	struct storage_config *cfg = load_config(c, &digest);
	if (!cfg)
		return -EIO;
	const struct storage *s = find_or_fail(c, cfg, param_str(c->params, "storage"));
	if (s)
		c->data = config_view(s, digest);
	storage_config_free(cfg);
	return s ? 0 : -ENOENT;
}

/* ---- create, update, delete ---- */

/* The parameters that are storage properties (everything but the routing ones), as the
 * strings storage.cfg holds. */
static json_t *
props_from_params(const json_t *params)
{
	static const char *const not_props[] = { "storage", "type", "delete", "digest", NULL };
	json_t *props = json_object();
	const char *key;
	json_t *v;
	json_object_foreach ((json_t *)params, key, v) {
		if (in_list(not_props, key))
			continue;
		if (json_is_integer(v))
			json_object_set_new(
			        props, key,
			        json_sprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v)));
		else if (json_is_string(v))
			json_object_set(props, key, v);
	}
	return props;
}

/* A property error from the storage layer ("content: ...") becomes a parameter error on that
 * property; anything else a 400. */
static int
props_fail(struct api_call *c, const struct error *e)
{
	const char *colon = strstr(e->msg, ": ");
	if (colon && (size_t)(colon - e->msg) < 64 && !memchr(e->msg, ' ', colon - e->msg)) {
		_cleanup_free_ char *key = xstrndup(e->msg, colon - e->msg);
		return api_param_error(c, key, "%s", colon + 2);
	}
	return api_fail(c, 400, "%s", e->msg);
}

static void
section_set_props(struct section *sec, json_t *props)
{
	const char *key;
	json_t *v;
	json_object_foreach (props, key, v)
		json_object_set(sec->props, key, v);
}

static char *
format_or_fail(struct api_call *c, struct sectioncfg *sc)
{
	char *text = NULL;
	if (sectioncfg_format(sc, &text) < 0) {
		api_fail(c, 400, "a value contains a line break");
		return NULL;
	}
	return text;
}

struct change_args {
	json_t *props;
	char *type; /* the storage's type, set by the edit */
};

static char *
edit_create(struct api_call *c, const char *old, const char *old_digest, void *arg)
{
	struct change_args *a = arg;
	const char *sid = param_str(c->params, "storage");
	const char *type = param_str(c->params, "type");
	struct sectioncfg *sc = NULL;
	if (sectioncfg_parse(old, &sc) < 0) {
		api_fail(c, 500, "unable to parse storage.cfg");
		return NULL;
	}
	char *text = NULL;
	struct storage s = { 0 };
	struct error e = { 0 };
	if (sectioncfg_find(sc, sid)) {
		api_fail(c, 500, "create storage failed: storage ID '%s' already defined", sid);
	} else if (storage_from_props(type, sid, a->props, &s, &e) < 0) {
		props_fail(c, &e);
	} else if (storage_enabled_on(&s, c->ctx->node) && s.type->activate &&
	           s.type->activate(&s, &e) < 0) {
		api_fail(c, 500, "create storage failed: %s", e.msg);
	} else {
		sc->sections = xrealloc(sc->sections, (sc->n + 1) * sizeof(*sc->sections));
		struct section *sec = &sc->sections[sc->n++];
		*sec = (struct section){ xstrdup(type), xstrdup(sid), json_object() };
		section_set_props(sec, a->props);
		text = format_or_fail(c, sc);
		free(a->type);
		a->type = xstrdup(type);
	}
	storage_done(&s);
	sectioncfg_free(sc);
	return text;
}

/* Create or update: apply edit to storage.cfg and answer {storage, type} as PVE does. */
static int
change_storage(struct api_call *c, store_edit_fn edit)
{
	struct change_args a = { props_from_params(c->params), NULL };
	int r = store_text_update(c, STORAGE_CFG, edit, &a);
	if (r >= 0)
		c->data = json_pack("{s:s, s:s}", "storage", param_str(c->params, "storage"),
		                    "type", a.type ? a.type : "");
	json_decref(a.props);
	free(a.type);
	return r;
}

static int
create_storage(struct api_call *c)
{
	return change_storage(c, edit_create);
}

/* Properties that PUT may not change (PVE's "fixed" options). */
static const char *const fixed_props[] = { "path", NULL };

static char *
edit_update(struct api_call *c, const char *old, const char *old_digest, void *arg)
{
	struct change_args *a = arg;
	const char *sid = param_str(c->params, "storage");
	if (api_digest_check(c, old_digest) < 0)
		return NULL;
	struct sectioncfg *sc = NULL;
	if (sectioncfg_parse(old, &sc) < 0) {
		api_fail(c, 500, "unable to parse storage.cfg");
		return NULL;
	}
	char *text = NULL;
	char **del =
	        param_has(c->params, "delete") ? split_list(param_str(c->params, "delete")) : NULL;
	struct section *sec = (struct section *)sectioncfg_find(sc, sid);
	struct storage s = { 0 };
	struct error e = { 0 };
	const char *key;
	json_t *v;
	if (!sec) {
		api_fail(c, 500, "storage '%s' does not exist", sid);
		goto out;
	}
	json_object_foreach (a->props, key, v)
		if (in_list(fixed_props, key)) {
			api_param_error(c, key, "can't change value of fixed parameter '%s'", key);
			goto out;
		}
	for (char **k = del; k && *k; k++) {
		if (json_object_get(a->props, *k)) {
			api_fail(c, 400, "cannot set and delete property '%s' at the same time!",
			         *k);
			goto out;
		}
		if (in_list(fixed_props, *k)) {
			api_fail(c, 400, "unable to delete fixed option '%s'", *k);
			goto out;
		}
		json_object_del(sec->props, *k);
	}
	section_set_props(sec, a->props);
	if (storage_from_props(sec->type, sid, sec->props, &s, &e) < 0) {
		props_fail(c, &e);
		goto out;
	}
	text = format_or_fail(c, sc);
	free(a->type);
	a->type = xstrdup(sec->type);
out:
	storage_done(&s);
	strv_free(del);
	sectioncfg_free(sc);
	return text;
}

static int
update_storage(struct api_call *c)
{
	return change_storage(c, edit_update);
}

/* Does a guest config name a volume on a storage (needle "<sid>:")? A volume reference is
 * the value of a key ("<key>: <sid>:<volname>,...") or an option in it
 * ("...,import-from=<sid>:..."); comments and descriptions do not count. */
static bool
config_names_storage(const char *text, const char *needle)
{
	for (const char *line = text; line && *line;) {
		const char *eol = strchrnul(line, '\n');
		_cleanup_free_ char *l = xstrndup(line, eol - line);
		line = *eol ? eol + 1 : NULL;
		char *colon = strchr(l, ':');
		if (l[0] == '#' || !colon || startswith(l, "description:"))
			continue;
		for (const char *t = colon + 1; (t = strstr(t, needle)); t++)
			if (t[-1] == ' ' || t[-1] == '=' || t[-1] == ',')
				return true;
	}
	return false;
}

/* Guest configs (nodes/<node>/{qemu-server,lxc}/<vmid>.conf) that name a volume on sid:
 * the first one found, or NULL. */
static char *
guest_using_storage(struct api_ctx *ctx, const char *sid)
{
	char **paths = NULL;
	if (store_list(ctx->store, "nodes/", &paths) < 0)
		return NULL;
	_cleanup_free_ char *needle = xasprintf("%s:", sid);
	char *found = NULL;
	for (char **p = paths; p && *p && !found; p++) {
		if (!strstr(*p, "/qemu-server/") && !strstr(*p, "/lxc/"))
			continue;
		_cleanup_free_ char *text = store_text(ctx, *p);
		if (text && config_names_storage(text, needle))
			found = xstrdup(*p);
	}
	strv_free(paths);
	return found;
}

static char *
edit_delete(struct api_call *c, const char *old, const char *old_digest, void *arg)
{
	const char *sid = param_str(c->params, "storage");
	struct sectioncfg *sc = NULL;
	if (sectioncfg_parse(old, &sc) < 0) {
		api_fail(c, 500, "unable to parse storage.cfg");
		return NULL;
	}
	char *text = NULL;
	const struct section *sec = sectioncfg_find(sc, sid);
	if (!sec) {
		api_fail(c, 500, "delete storage failed: storage '%s' does not exist", sid);
	} else {
		size_t i = sec - sc->sections;
		free(sc->sections[i].type);
		free(sc->sections[i].id);
		json_decref(sc->sections[i].props);
		memmove(&sc->sections[i], &sc->sections[i + 1],
		        (sc->n - i - 1) * sizeof(*sc->sections));
		sc->n--;
		text = format_or_fail(c, sc);
	}
	sectioncfg_free(sc);
	return text;
}

static int
delete_storage(struct api_call *c)
{
	const char *sid = param_str(c->params, "storage");
	_cleanup_free_ char *user = guest_using_storage(c->ctx, sid);
	if (user)
		return api_fail(c, 400,
		                "can't remove storage - storage '%s' is used by guest config '%s'",
		                sid, user);
	return store_text_update(c, STORAGE_CFG, edit_delete, NULL);
}

/* ---- status (/nodes/{node}/storage) ---- */

static json_t *
status_entry(struct api_call *c, const struct storage *s, bool with_id)
{
	_cleanup_free_ char *content = storage_content_format(s->content);
	bool enabled = storage_enabled_on(s, c->ctx->node);
	json_t *o =
	        json_pack("{s:s, s:s, s:i, s:i, s:i}", "type", s->type->name, "content", content,
	                  "enabled", enabled ? 1 : 0, "shared", s->shared ? 1 : 0, "active", 0);
	if (with_id)
		json_object_set_new(o, "storage", json_string(s->id));
	struct storage_status st = { 0 };
	struct error e = { 0 };
	/* PVE's storage_info activates what is enabled here (creating the base path and the
	 * subdirectories as configured); a storage that cannot be activated is inactive */
	if (!enabled || (s->type->activate && s->type->activate(s, &e) < 0) || !s->type->status ||
	    s->type->status(s, &st, &e) < 0 || !st.active) {
		if (e.msg[0])
			log_debug("storage '%s' is not active: %s", s->id, e.msg);
		return o;
	}
	json_object_set_new(o, "active", json_integer(1));
	json_object_set_new(o, "total", json_integer((json_int_t)st.total));
	json_object_set_new(o, "used", json_integer((json_int_t)st.used));
	json_object_set_new(o, "avail", json_integer((json_int_t)st.avail));
	json_object_set_new(o, "used_fraction",
	                    json_real(st.total ? (double)st.used / (double)st.total : 0.0));
	return o;
}

static int
node_storage_index(struct api_call *c)
{
	struct storage_config *cfg = load_config(c, NULL);
	if (!cfg)
		return -EIO;
	const char *only = param_str(c->params, "storage");
	const char *content = param_str(c->params, "content");
	bool enabled_only = param_bool(c->params, "enabled", false);
	unsigned want = 0;
	if (content && storage_content_parse(content, &want, &c->err) < 0) {
		storage_config_free(cfg);
		return api_param_error(c, "content", "%s", c->err.msg);
	}
	c->data = json_array();
	for (size_t i = 0; i < cfg->n; i++) {
		const struct storage *s = &cfg->list[i];
		_cleanup_free_ char *path = xasprintf("/storage/%s", s->id);
		if (!api_has_privs(c, path, "Datastore.Audit,Datastore.AllocateSpace", true))
			continue;
		if ((only && !streq(only, s->id)) || (want && (s->content & want) != want))
			continue;
		if (enabled_only && !storage_enabled_on(s, c->ctx->node))
			continue;
		if (s->nodes && !storage_enabled_on(s, c->ctx->node) && !s->disabled)
			continue; /* not configured for this node at all */
		json_array_append_new(c->data, status_entry(c, s, true));
	}
	storage_config_free(cfg);
	return 0;
}

static int
storage_dir_index(struct api_call *c)
{
	static const char *const names[] = {
		"content", "download-url", "file-restore", "import-metadata", "prunebackups",
		"rrd",     "rrddata",      "status",       "upload",          NULL
	};
	struct storage_config *cfg = load_config(c, NULL);
	if (!cfg)
		return -EIO;
	const struct storage *s = find_or_fail(c, cfg, param_str(c->params, "storage"));
	storage_config_free(cfg);
	if (!s)
		return -ENOENT;
	c->data = json_array();
	for (const char *const *n = names; *n; n++)
		json_array_append_new(c->data, json_pack("{s:s}", "subdir", *n));
	return 0;
}

static int
get_storage_status(struct api_call *c)
{
	struct storage_config *cfg = load_config(c, NULL);
	if (!cfg)
		return -EIO;
	const char *sid = param_str(c->params, "storage");
	const struct storage *s = storage_config_find(cfg, sid);
	int r = 0;
	if (!s)
		r = api_param_error(c, "storage", "No such storage.");
	else if (!storage_enabled_on(s, c->ctx->node) && s->nodes && !s->disabled)
		r = api_fail(c, 400, "storage '%s' is not available on node '%s'", sid,
		             c->ctx->node);
	else
		c->data = status_entry(c, s, false);
	storage_config_free(cfg);
	return r;
}

/* ---- routes ---- */

static const char *const storage_type_names[] = { "btrfs", "dir", NULL };
static const char *const format_names[] = { "raw", "qcow2", "vmdk", "subvol", NULL };
static const char *const preallocation_names[] = { "off", "metadata", "falloc", "full", NULL };

/* The properties POST and PUT /storage take (storage.cfg keys). */
#define STORAGE_PROPS                                                                              \
	{ .name = "content",                                                                       \
	  .type = API_T_STRING,                                                                    \
	  .format = "pve-storage-content-list",                                                    \
	  .optional = true,                                                                        \
	  .description = "Allowed content types. NOTE: the value 'rootdir' is used for "           \
		         "Containers, and value 'images' for VMs." },                              \
	        { .name = "disable",                                                               \
		  .type = API_T_BOOLEAN,                                                           \
		  .optional = true,                                                                \
		  .description = "Flag to disable the storage." },                                 \
	        { .name = "shared",                                                                \
		  .type = API_T_BOOLEAN,                                                           \
		  .optional = true,                                                                \
		  .description = "Indicate that this is a single storage with the same contents "  \
		                 "on all nodes (or all listed in the 'nodes' option)." },          \
	        { .name = "nodes",                                                                 \
		  .type = API_T_STRING,                                                            \
		  .format = "pve-node-list",                                                       \
		  .optional = true,                                                                \
		  .description = "List of nodes for which the storage configuration applies." },   \
	        { .name = "prune-backups",                                                         \
		  .type = API_T_STRING,                                                            \
		  .optional = true,                                                                \
		  .max_length = 256,                                                               \
		  .description = "The retention options (keep-all=1 or keep-last=N,...)." },       \
	        { .name = "max-protected-backups",                                                 \
		  .type = API_T_INTEGER,                                                           \
		  .optional = true,                                                                \
		  .minimum = -1,                                                                   \
		  .flags = API_F_HAS_MIN,                                                          \
		  .description = "Maximal number of protected backups per guest. Use '-1' for "    \
		                 "unlimited." },                                                   \
	        { .name = "format",                                                                \
		  .type = API_T_STRING,                                                            \
		  .enums = format_names,                                                           \
		  .optional = true,                                                                \
		  .description = "Default image format." },                                        \
	        { .name = "mkdir",                                                                 \
		  .type = API_T_BOOLEAN,                                                           \
		  .optional = true,                                                                \
		  .description = "Deprecated: use create-base-path and create-subdirs." },         \
	        { .name = "create-base-path",                                                      \
		  .type = API_T_BOOLEAN,                                                           \
		  .optional = true,                                                                \
		  .default_text = "yes",                                                           \
		  .description = "Create the base directory if it doesn't exist." },               \
	        { .name = "create-subdirs",                                                        \
		  .type = API_T_BOOLEAN,                                                           \
		  .optional = true,                                                                \
		  .default_text = "yes",                                                           \
		  .description = "Populate the directory with the default structure." },           \
	        { .name = "is_mountpoint",                                                         \
		  .type = API_T_STRING,                                                            \
		  .optional = true,                                                                \
		  .max_length = 4096,                                                              \
		  .description = "Assume the given path is an externally managed mountpoint and "  \
		                 "consider the storage offline if it is not mounted. Using a "     \
		                 "boolean (yes/no) value serves as a shortcut to using the "       \
		                 "target path in this field." },                                   \
	        { .name = "nocow",                                                                 \
		  .type = API_T_BOOLEAN,                                                           \
		  .optional = true,                                                                \
		  .description = "Set the NOCOW flag on files (btrfs)." },                         \
	        { .name = "preallocation",                                                         \
		  .type = API_T_STRING,                                                            \
		  .enums = preallocation_names,                                                    \
		  .optional = true,                                                                \
		  .description = "Preallocation mode for raw and qcow2 images." },                 \
	{                                                                                          \
		.name = "bwlimit", .type = API_T_STRING, .optional = true, .max_length = 256,      \
		.description = "Set I/O bandwidth limit for various operations (in KiB/s)."        \
	}

static const struct api_schema list_params[] = {
	{ .name = "type",
	  .type = API_T_STRING,
	  .enums = storage_type_names,
	  .optional = true,
	  .description = "Only list storage of specific type" },
	PARAM_END,
};
static const struct api_schema storage_id_params[] = { PARAM_STORAGE, PARAM_END };
static const struct api_schema create_params[] = {
	PARAM_STORAGE,
	{ .name = "type",
	  .type = API_T_STRING,
	  .enums = storage_type_names,
	  .description = "Storage type." },
	{ .name = "path",
	  .type = API_T_STRING,
	  .optional = true,
	  .max_length = 4096,
	  .description = "File system path." },
	STORAGE_PROPS,
	PARAM_END,
};
static const struct api_schema update_params[] = {
	PARAM_STORAGE,
	STORAGE_PROPS,
	{ .name = "delete",
	  .type = API_T_STRING,
	  .format = "pve-configid-list",
	  .optional = true,
	  .description = "A list of settings you want to delete." },
	PARAM_DIGEST,
	PARAM_END,
};
static const struct api_schema node_index_params[] = {
	PARAM_NODE,
	{ .name = "storage",
	  .type = API_T_STRING,
	  .format = "pve-storage-id",
	  .optional = true,
	  .description = "Only list status for specified storage" },
	{ .name = "content",
	  .type = API_T_STRING,
	  .format = "pve-storage-content-list",
	  .optional = true,
	  .description = "Only list stores which support this content type." },
	{ .name = "enabled",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .default_text = "0",
	  .description = "Only list stores which are enabled (not disabled in config)." },
	{ .name = "target",
	  .type = API_T_STRING,
	  .format = "pve-node",
	  .optional = true,
	  .description = "If target is different to 'node', we only lists shared storages "
	                 "which content is accessible on this 'node' and the specified 'target' "
	                 "node." },
	{ .name = "format",
	  .type = API_T_BOOLEAN,
	  .optional = true,
	  .default_text = "0",
	  .description = "Include information about formats" },
	PARAM_END,
};
static const struct api_schema node_storage_params[] = { PARAM_NODE, PARAM_STORAGE, PARAM_END };

const struct api_route api_routes_storage[] = {
	{ .method = API_GET,
	  .path = "/storage",
	  .params = list_params,
	  .perm = { .kind = PERM_ANY_USER,
	            .description = "Only list entries where you have 'Datastore.Audit' or "
	                           "'Datastore.AllocateSpace' permissions on "
	                           "'/storage/<storage>'" },
	  .handler = list_storage,
	  .description = "Storage index." },
	{ .method = API_POST,
	  .path = "/storage",
	  .params = create_params,
	  .perm = { .kind = PERM_PRIVS, .path = "/storage", .privs = "Datastore.Allocate" },
	  .handler = create_storage,
	  .description = "Create a new storage." },
	{ .method = API_GET,
	  .path = "/storage/{storage}",
	  .params = storage_id_params,
	  .perm = { .kind = PERM_PRIVS,
	            .path = "/storage/{storage}",
	            .privs = "Datastore.Allocate" },
	  .handler = read_storage,
	  .description = "Read storage configuration." },
	{ .method = API_PUT,
	  .path = "/storage/{storage}",
	  .params = update_params,
	  .perm = { .kind = PERM_PRIVS, .path = "/storage", .privs = "Datastore.Allocate" },
	  .handler = update_storage,
	  .description = "Update storage configuration." },
	{ .method = API_DELETE,
	  .path = "/storage/{storage}",
	  .params = storage_id_params,
	  .perm = { .kind = PERM_PRIVS, .path = "/storage", .privs = "Datastore.Allocate" },
	  .handler = delete_storage,
	  .description = "Delete storage configuration. Refused while a guest config names a "
	                 "volume on it." },
	{ .method = API_GET,
	  .path = "/nodes/{node}/storage",
	  .params = node_index_params,
	  .perm = { .kind = PERM_ANY_USER,
	            .description = "Only list entries where you have 'Datastore.Audit' or "
	                           "'Datastore.AllocateSpace' permissions on "
	                           "'/storage/<storage>'" },
	  .handler = node_storage_index,
	  .description = "Get status for all datastores." },
	{ .method = API_GET,
	  .path = "/nodes/{node}/storage/{storage}",
	  .params = node_storage_params,
	  .perm = { .kind = PERM_PRIVS,
	            .path = "/storage/{storage}",
	            .privs = "Datastore.Audit,Datastore.AllocateSpace",
	            .any = true },
	  .handler = storage_dir_index,
	  .description = "Directory index." },
	{ .method = API_GET,
	  .path = "/nodes/{node}/storage/{storage}/status",
	  .params = node_storage_params,
	  .perm = { .kind = PERM_PRIVS,
	            .path = "/storage/{storage}",
	            .privs = "Datastore.Audit,Datastore.AllocateSpace",
	            .any = true },
	  .handler = get_storage_status,
	  .description = "Read storage status." },
	{ 0 },
};
