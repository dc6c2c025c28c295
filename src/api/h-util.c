/* Small helpers the handler files share: store text access and user.cfg transactions. */
#include "api/authcache.h"
#include "api/handlers.h"
#include "api/lxc-common.h"
#include "auth/password.h"
#include "auth/token.h"
#include "auth/usercfg.h"
#include "basic/log.h"
#include "store/store.h"

char *
store_text(struct api_ctx *ctx, const char *path)
{
	struct store_file f = { 0 };
	int r = store_read(ctx->store, path, &f);
	if (r < 0) {
		if (r != -ENOENT)
			log_warn("unable to read '%s' from the store: %s", path, strerror(-r));
		return NULL;
	}
	char *text = TAKE_PTR(f.data);
	store_file_done(&f);
	return text;
}

int
store_text_update(struct api_call *c, const char *path, store_edit_fn edit, void *arg)
{
	for (int attempt = 0; attempt < 5; attempt++) {
		struct store_file f = { 0 };
		int r = store_read(c->ctx->store, path, &f);
		if (r < 0 && r != -ENOENT)
			return api_fail(c, 500, "unable to read '%s' - %s", path, strerror(-r));
		char *text = edit(c, r == 0 ? f.data : "", r == 0 ? f.digest : NULL, arg);
		if (!text) {
			store_file_done(&f);
			return -(c->err.code ? c->err.code : EIO);
		}
		r = store_write(c->ctx->store, path, text, strlen(text), f.data ? f.digest : "",
		                NULL);
		free(text);
		store_file_done(&f);
		if (r >= 0)
			return 0;
		/* -ESTALE/-EEXIST: another writer came first; read again and re-apply */
		if (r != -ESTALE && r != -EEXIST)
			return api_fail(c, 500, "unable to write '%s' - %s", path, strerror(-r));
	}
	return api_fail(c, 500, "unable to write '%s' - too many concurrent changes", path);
}

int
api_digest_check(struct api_call *c, const char *old_digest)
{
	struct error e = { 0 };
	if (guest_digest_check(param_str(c->params, "digest"), old_digest, &e) < 0)
		return api_fail(c, 500, "%s", e.msg);
	return 0;
}

int
api_start_task(struct api_call *c, const char *type, const char *id, json_t *params, const int *fds,
               unsigned n_fds)
{
	char *upid = NULL;
	int r = taskmgr_start_fds(c->ctx->tasks, type, id, c->who.subject, params, fds, n_fds,
	                          &upid, &c->err);
	json_decref(params);
	if (r < 0)
		return r;
	c->data = json_string(upid);
	free(upid);
	return 0;
}

struct task_wait {
	struct api_call *c;
	int (*after)(struct api_call *c, const struct task_info *t);
};

static void
task_wait_done(void *p, const struct task_info *t)
{
	struct task_wait *w = p;
	struct api_call *c = w->c;
	int r = w->after(c, t);
	free(w);
	api_call_complete(c, r);
}

int
api_call_wait_task(struct api_call *c, unsigned timeout_ms,
                   int (*after)(struct api_call *c, const struct task_info *t))
{
	const char *upid = json_string_value(c->data);
	if (!upid || !c->ctx->wait_task)
		return api_fail(c, 500, "unable to wait for the task");
	struct task_wait *w = xcalloc(1, sizeof(*w));
	*w = (struct task_wait){ .c = c, .after = after };
	int r = c->ctx->wait_task(c->ctx, upid, timeout_ms, task_wait_done, w);
	if (r < 0) {
		free(w);
		return api_fail(c, 500, "unable to wait for task %s", upid);
	}
	return API_DEFERRED;
}

bool
api_task_failed(const struct task_info *t)
{
	return !streq(t->status, "OK") && !startswith(t->status, "WARNINGS: ");
}

int
api_null_after_task(struct api_call *c, const struct task_info *t)
{
	if (!t)
		return api_fail(c, 500, "update task lost");
	if (api_task_failed(t))
		return api_fail(c, 500, "%s", t->status);
	json_decref(c->data);
	c->data = json_null();
	return 0;
}

struct blocking_call {
	struct api_call *c;
	int (*work)(struct api_call *c, void *arg);
	int (*after)(struct api_call *c, void *arg, int r);
	void *arg;
	int r;
};

static void
blocking_work(void *p)
{
	struct blocking_call *b = p;
	b->r = b->work(b->c, b->arg);
}

static void
blocking_done(void *p)
{
	struct blocking_call *b = p;
	struct api_call *c = b->c;
	int r = b->after ? b->after(c, b->arg, b->r) : b->r;
	free(b);
	api_call_complete(c, r);
}

int
api_call_blocking(struct api_call *c, int (*work)(struct api_call *c, void *arg), void *arg)
{
	return api_call_blocking_then(c, work, NULL, arg);
}

int
api_call_blocking_then(struct api_call *c, int (*work)(struct api_call *c, void *arg),
                       int (*after)(struct api_call *c, void *arg, int r), void *arg)
{
	struct blocking_call *b = xmalloc(sizeof(*b));
	*b = (struct blocking_call){ c, work, after, arg, 0 };
	int r = c->ctx->run_blocking(c->ctx, blocking_work, blocking_done, b);
	if (r < 0) {
		free(b);
		return api_fail(c, 500, "unable to queue work: %s", strerror(-r));
	}
	return API_DEFERRED;
}

struct usercfg_edit {
	int (*edit)(struct api_call *c, struct usercfg *cfg, void *arg);
	void *arg;
};

static char *
edit_usercfg_text(struct api_call *c, const char *old, const char *digest, void *arg)
{
	struct usercfg_edit *e = arg;
	struct usercfg *cfg = NULL;
	if (usercfg_parse(old, &cfg) < 0 || !cfg) {
		api_fail(c, 500, "unable to parse user.cfg");
		return NULL;
	}
	int r = e->edit(c, cfg, e->arg);
	char *text = r < 0 ? NULL : usercfg_format(cfg);
	usercfg_free(cfg);
	if (r >= 0 && !text)
		api_fail(c, 400,
		         "unable to write user.cfg - a value contains a ':' or a line break "
		         "that cannot be stored");
	return text;
}

int
usercfg_transaction(struct api_call *c,
                    int (*edit)(struct api_call *c, struct usercfg *cfg, void *arg), void *arg)
{
	struct usercfg_edit e = { edit, arg };
	int r = store_text_update(c, "user.cfg", edit_usercfg_text, &e);
	if (r >= 0)
		authcache_refresh(c->ctx->auth);
	return r;
}

struct line_entry {
	const char *key, *value;
	char *(*update)(const char *text, const char *key, const char *value);
};

static char *
edit_line_file(struct api_call *c, const char *old, const char *digest, void *arg)
{
	const struct line_entry *e = arg;
	char *text = e->update(old, e->key, e->value);
	if (!text)
		api_fail(c, 400, "invalid entry '%s'", e->key);
	return text;
}

int
tokencfg_set_hash(struct api_call *c, const char *full_tokenid, const char *hash)
{
	struct line_entry e = { full_tokenid, hash, tokencfg_update };
	int r = store_text_update(c, "priv/token.cfg", edit_line_file, &e);
	if (r >= 0)
		authcache_refresh(c->ctx->auth);
	return r;
}

int
shadow_set_hash(struct api_call *c, const char *userid, const char *hash)
{
	struct line_entry e = { userid, hash, shadowcfg_update };
	return store_text_update(c, "priv/shadow.cfg", edit_line_file, &e);
}

void
guest_update_from_params(json_t *params, const char *const *own, struct guest_update *u)
{
	const char *d = json_string_value(json_object_get(params, "delete"));
	const char *rv = json_string_value(json_object_get(params, "revert"));
	*u = (struct guest_update){ .sets = json_object(),
		                    .del = d ? split_list(d) : NULL,
		                    .rev = rv ? split_list(rv) : NULL };
	const char *key;
	json_t *v;
	json_object_foreach (params, key, v) {
		_cleanup_free_ char *text = strv_contains(own, key) ? NULL : schema_scalar_text(v);
		if (text)
			json_object_set_new(u->sets, key, json_string(text));
	}
}

void
guest_update_done(struct guest_update *u)
{
	json_decref(u->sets);
	strv_free(u->del);
	strv_free(u->rev);
	*u = (struct guest_update){ 0 };
}

int
api_update_parse(struct api_call *c, const struct api_schema *own, bool check_revert,
                 struct guest_update *u)
{
	const char *d = param_str(c->params, "delete"), *rv = param_str(c->params, "revert");
	*u = (struct guest_update){ .sets = json_object(),
		                    .del = d ? split_list(d) : NULL,
		                    .rev = rv ? split_list(rv) : NULL };
	const char *key;
	json_t *v;
	json_object_foreach (c->params, key, v) {
		_cleanup_free_ char *text = schema_find(own, key) ? NULL : schema_scalar_text(v);
		if (text)
			json_object_set_new(u->sets, key, json_string(text));
	}
	for (char **k = u->del; k && *k; k++)
		if (json_object_get(u->sets, *k))
			return api_fail(c, 400,
			                "you can't use '-%s' and -delete %s' at the same time", *k,
			                *k);
	for (char **k = u->rev; check_revert && k && *k; k++)
		if (json_object_get(u->sets, *k) || strv_contains((const char *const *)u->del, *k))
			return api_fail(c, 400,
			                "you can't use '-%s' and -revert %s' at the same time", *k,
			                *k);
	if (json_object_size(u->sets) == 0 && !u->del && !u->rev)
		return api_fail(c, 500, "no options specified");
	return 0;
}
