/* Shared by the guest routes and tasks (containers and VMs): config files in the store, locks,
 * host facts. */
#include "api/lxc-common.h"
#include "auth/usercfg.h"
#include "basic/clock.h"
#include "basic/fileio.h"

#include <stdio.h>
#include <strings.h>
#include <unistd.h>

char *
guest_conf_path(enum guestconf_kind kind, const char *node, unsigned vmid)
{
	return xasprintf("nodes/%s/%s/%u.conf", node, kind == GUESTCONF_LXC ? "lxc" : "qemu-server",
	                 vmid);
}

/* "CT" or "VM", as PVE's messages name the guest */
static const char *
guest_word(enum guestconf_kind kind)
{
	return kind == GUESTCONF_LXC ? "CT" : "VM";
}

int
guest_conf_load(struct store *st, enum guestconf_kind kind, const char *node, unsigned vmid,
                struct guestconf **ret, char *ret_digest, struct error *err)
{
	_cleanup_free_ char *path = guest_conf_path(kind, node, vmid);
	struct store_file f = { 0 };
	int r = store_read(st, path, &f);
	if (r == -ENOENT)
		return error_set_status(err, 500, ENOENT, "Configuration file '%s' does not exist",
		                        path);
	if (r < 0)
		return error_errno(err, r, "unable to read '%s'", path);
	struct guestconf *gc = NULL;
	r = guestconf_parse(kind, f.data, path, &gc, err);
	if (r >= 0 && ret_digest)
		memcpy(ret_digest, f.digest, STORE_DIGEST_LEN + 1);
	store_file_done(&f);
	if (r < 0)
		return r;
	*ret = gc;
	return 0;
}

static const char stale_digest[] =
        "detected modified configuration - file changed by other user? Try again.";

int
guest_digest_check(const char *want, const char *have, struct error *err)
{
	if (want && (!have || strcasecmp(want, have) != 0))
		return error_set_status(err, 500, ESTALE, "%s", stale_digest);
	return 0;
}

int
guest_conf_save(struct store *st, const char *node, unsigned vmid, const struct guestconf *gc,
                const char *expect_digest, struct error *err)
{
	_cleanup_free_ char *path = guest_conf_path(gc->kind, node, vmid);
	_cleanup_free_ char *text = NULL;
	int r = guestconf_format(gc, &text, err);
	if (r < 0)
		return r;
	r = store_write(st, path, text, strlen(text), expect_digest, NULL);
	if (r == -ESTALE)
		return error_set_status(err, 500, ESTALE, "%s", stale_digest);
	if (r == -EEXIST)
		return error_set_status(err, 500, EEXIST, "%s %u already exists",
		                        guest_word(gc->kind), vmid);
	if (r < 0)
		return error_errno(err, r, "unable to write '%s'", path);
	return 0;
}

int
ct_conf_typed(const struct guestconf *gc, unsigned vmid, struct ct_config **ret, struct error *err)
{
	return ct_config_from_section(&gc->main, vmid, ret, err);
}

int
guest_lock(struct store *st, enum guestconf_kind kind, const char *node, unsigned vmid,
           int timeout_ms, struct store_lock **ret, struct error *err)
{
	_cleanup_free_ char *path = guest_conf_path(kind, node, vmid);
	int r = store_lock(st, path, timeout_ms, ret);
	if (r == -ETIMEDOUT)
		return error_set(err, ETIMEDOUT, "can't lock file '%s' - got timeout", path);
	if (r < 0)
		return error_errno(err, r, "can't lock file '%s'", path);
	return 0;
}

int
guest_check_lock(const struct guestconf *gc, struct error *err)
{
	const char *lock = guestconf_get(&gc->main, "lock");
	if (lock)
		return error_set_status(err, 500, EBUSY, "%s is locked (%s)", guest_word(gc->kind),
		                        lock);
	return 0;
}

const struct cg_host *
ct_cg_host(void)
{
	static struct cg_host host;
	static bool detected;
	if (!detected) {
		struct error err = { 0 };
		if (cg_detect(&host, &err) < 0)
			memset(&host, 0, sizeof(host)); /* no cgroups: nothing reads as running */
		detected = true;
	}
	return &host;
}

/* AppArmor confines processes on this host and liblxc can load a generated profile. */
static bool
host_apparmor(void)
{
	static int known = -1; /* the same answer every time: a race only repeats the reads */
	if (known < 0) {
		_cleanup_free_ char *v = NULL;
		known = read_file("/sys/module/apparmor/parameters/enabled", 16, &v, NULL) >= 0 &&
		        v && v[0] == 'Y' &&
		        (access("/usr/sbin/apparmor_parser", X_OK) == 0 ||
		         access("/sbin/apparmor_parser", X_OK) == 0);
	}
	return known;
}

void
ct_env_init(struct ct_lxc_env *env, const char *root_dir, char *buf, size_t buf_len)
{
	snprintf(buf, buf_len, "%s/lxc", root_dir);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	/* berthd-lxc-start sits next to the running program (build/ or the install dir) */
	static char helper[4096];
	if (!helper[0]) {
		char exe[4000];
		ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		exe[n > 0 ? n : 0] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		snprintf(helper, sizeof(helper), "%s/berthd-lxc-start", slash ? exe : ".");
	}
	*env = (struct ct_lxc_env){
		.lxcpath = buf,
		.lxc_share = "/usr/share/lxc",
		.cg = ct_cg_host(),
		.host_cpus = cpus > 0 ? (unsigned)cpus : 1,
		.idmap_base = 100000,
		.idmap_count = 65536,
		.start_helper = helper,
		.apparmor = host_apparmor(),
	};
}

int
guest_pool_set(struct store *st, unsigned vmid, const char *pool, struct error *err)
{
	for (int attempt = 0; attempt < 5; attempt++) {
		struct store_file f = { 0 };
		int r = store_read(st, "user.cfg", &f);
		if (r == -ENOENT && !pool)
			return 0;
		if (r < 0)
			return error_errno(err, r, "unable to read user.cfg");
		struct usercfg *cfg = NULL;
		if (usercfg_parse(f.data, &cfg) < 0 || !cfg) {
			store_file_done(&f);
			return error_set(err, EINVAL, "unable to parse user.cfg");
		}
		r = pool ? usercfg_pool_add_vm(cfg, pool, vmid) : usercfg_pool_remove_vm(cfg, vmid);
		char *text = (pool ? r == 0 : r > 0) ? usercfg_format(cfg) : NULL;
		usercfg_free(cfg);
		if (!text) {
			store_file_done(&f);
			if (r < 0)
				return error_set(err, ENOENT, "pool '%s' does not exist", pool);
			if (pool || r > 0)
				return error_set(err, EINVAL, "unable to format user.cfg");
			return 0; /* in no pool: nothing to write */
		}
		r = store_write(st, "user.cfg", text, strlen(text), f.digest, NULL);
		free(text);
		store_file_done(&f);
		if (r >= 0)
			return 0;
		if (r != -ESTALE && r != -EEXIST)
			return error_errno(err, r, "unable to write user.cfg");
	}
	return error_set(err, EBUSY, "unable to write user.cfg - too many concurrent changes");
}

int
guest_conf_load_locked(struct store *st, enum guestconf_kind kind, const char *node, unsigned vmid,
                       struct store_lock **ret_lock, struct guestconf **ret_gc, char *digest,
                       struct error *err)
{
	*ret_gc = NULL;
	int r = guest_lock(st, kind, node, vmid, 10000, ret_lock, err);
	if (r < 0)
		return r;
	r = guest_conf_load(st, kind, node, vmid, ret_gc, digest, err);
	if (r < 0) {
		store_unlock(*ret_lock);
		*ret_lock = NULL;
	}
	return r;
}

void
ct_task_log_line(const char *line, void *w)
{
	task_log(w, "%s", line);
}

unsigned *
guest_list_ids(struct store *st, enum guestconf_kind kind, const char *node, size_t *ret_n)
{
	_cleanup_free_ char *prefix =
	        xasprintf("nodes/%s/%s/", node, kind == GUESTCONF_LXC ? "lxc" : "qemu-server");
	char **paths = NULL;
	unsigned *ids = NULL;
	size_t n = 0;
	if (store_list(st, prefix, &paths) >= 0) {
		for (char **p = paths; *p; p++) {
			unsigned long id;
			char tail[8];
			if (sscanf(*p + strlen(prefix), "%lu%7s", &id, tail) == 2 &&
			    streq(tail, ".conf") && id >= 100) {
				ids = xrealloc(ids, (n + 1) * sizeof(*ids));
				ids[n++] = (unsigned)id;
			}
		}
		store_strv_free(paths);
	}
	*ret_n = n;
	return ids;
}

double
guest_cpu_fraction(struct guest_cpu_cache *cache, unsigned vmid, uint64_t cpu_ns, unsigned cpus)
{
	static struct guest_cpu_cache api_cache; /* the API requests' */
	if (!cache)
		cache = &api_cache;
	uint64_t now = (uint64_t)monotonic_ns();
	struct guest_cpu_sample *s = &cache->s[vmid % ARRAY_SIZE(cache->s)];
	double frac = 0;
	if (s->vmid == vmid && now > s->when_ns && cpu_ns >= s->cpu_ns) {
		uint64_t dt = now - s->when_ns;
		if (dt < 1000000000ull / 2)
			return s->last; /* too close to the last sample to mean anything */
		frac = (double)(cpu_ns - s->cpu_ns) / (double)dt / (cpus ? cpus : 1);
	}
	*s = (struct guest_cpu_sample){ vmid, cpu_ns, now, frac };
	return frac;
}

void
guest_build_params(struct api_schema *out, size_t max, const struct api_schema *own,
                   const struct api_schema *keys, const char *const *internal, bool with_lock)
{
	size_t n = 0;
	for (const struct api_schema *s = own; s->name && n < max - 1; s++)
		out[n++] = *s;
	for (const struct api_schema *s = keys; s->name && n < max - 1; s++) {
		if (strv_contains(internal, s->name) || schema_find(own, s->name))
			continue;
		if (!with_lock && streq(s->name, "lock"))
			continue;
		out[n++] = *s;
	}
	out[n].name = NULL;
}

json_t *
guest_section_json(const struct guestconf_section *s, guest_key_schema_fn schema, bool reals)
{
	json_t *o = json_object();
	for (size_t i = 0; i < s->n_items; i++) {
		const char *k = s->items[i].key, *val = s->items[i].value;
		const struct api_schema *sch = schema(k);
		if (sch && (sch->type == API_T_INTEGER || sch->type == API_T_BOOLEAN) &&
		    is_integer_text(val))
			json_object_set_new(o, k, json_integer(strtoll(val, NULL, 10)));
		else if (reals && sch && sch->type == API_T_NUMBER && is_number_text(val))
			json_object_set_new(o, k, json_real(strtod(val, NULL)));
		else
			json_object_set_new(o, k, json_string(val));
	}
	if (s->description)
		json_object_set_new(o, "description", json_string(s->description));
	if (s->n_raw) {
		json_t *raw = json_array();
		for (size_t i = 0; i < s->n_raw; i++)
			json_array_append_new(raw,
			                      json_pack("[s,s]", s->raw[i].key, s->raw[i].value));
		json_object_set_new(o, "lxc", raw);
	}
	return o;
}

static int
cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *
guest_pending_json(struct guestconf *gc, guest_key_schema_fn schema, bool reals)
{
	json_t *cur = guest_section_json(&gc->main, schema, reals);
	json_t *pend = gc->pending ? guest_section_json(gc->pending, schema, reals) : json_object();
	json_object_del(cur, "lxc"); /* raw lxc.* lines are not keys */
	json_object_del(pend, "lxc");
	json_object_del(pend, "delete");
	json_t *keys = json_object();
	const char *k;
	json_t *v;
	json_object_foreach (cur, k, v)
		json_object_set_new(keys, k, json_true());
	json_object_foreach (pend, k, v)
		json_object_set_new(keys, k, json_true());
	const char *del = gc->pending ? guestconf_get(gc->pending, "delete") : NULL;
	_cleanup_(strv_freep) char **dels = del ? split_list(del) : NULL;
	for (char **d = dels; d && *d; d++)
		json_object_set_new(keys, (*d)[0] == '!' ? *d + 1 : *d, json_true());
	size_t nk = json_object_size(keys), ki = 0;
	_cleanup_free_ const char **sorted = xmalloc((nk + 1) * sizeof(*sorted));
	json_object_foreach (keys, k, v)
		sorted[ki++] = k;
	qsort(sorted, nk, sizeof(*sorted), cmp_key);
	json_t *out = json_array();
	for (size_t i = 0; i < nk; i++) {
		const char *key = sorted[i];
		json_t *e = json_pack("{s:s}", "key", key);
		if (json_object_get(cur, key))
			json_object_set(e, "value", json_object_get(cur, key));
		if (json_object_get(pend, key))
			json_object_set(e, "pending", json_object_get(pend, key));
		bool force = false;
		if (guestconf_pending_delete_has(gc, key, &force))
			json_object_set_new(e, "delete", json_integer(force ? 2 : 1));
		json_array_append_new(out, e);
	}
	json_decref(keys);
	json_decref(cur);
	json_decref(pend);
	return out;
}

json_t *
guest_config_json(struct guestconf *gc, const char *snap, bool current, guest_key_schema_fn schema,
                  bool reals, struct error *err)
{
	const struct guestconf_section *s = &gc->main;
	if (snap && !(s = guestconf_snapshot(gc, snap))) {
		error_set_status(err, 500, ENOENT, "snapshot '%s' does not exist", snap);
		return NULL;
	}
	json_t *o = guest_section_json(s, schema, reals);
	if (!snap && !current && gc->pending) {
		/* PVE's GET config shows pending values applied unless current=1 */
		json_t *p = guest_section_json(gc->pending, schema, reals);
		json_object_del(p, "delete");
		json_object_del(p, "lxc"); /* raw lines are not pending changes */
		json_object_update(o, p);
		json_decref(p);
		/* and pending deletions ("!key" when forced), as load_current_config does */
		const char *del = guestconf_get(gc->pending, "delete");
		_cleanup_(strv_freep) char **keys = del ? split_list(del) : NULL;
		for (char **k = keys; k && *k; k++)
			json_object_del(o, (*k)[0] == '!' ? *k + 1 : *k);
	}
	return o;
}
