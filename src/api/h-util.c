/* Small helpers the handler files share: store text access and user.cfg transactions. */
#include "api/authcache.h"
#include "api/handlers.h"
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
usercfg_transaction(struct api_call *c,
                    int (*edit)(struct api_call *c, struct usercfg *cfg, void *arg), void *arg)
{
	for (int attempt = 0; attempt < 5; attempt++) {
		struct store_file f = { 0 };
		int r = store_read(c->ctx->store, "user.cfg", &f);
		if (r < 0 && r != -ENOENT)
			return api_fail(c, 500, "unable to read user.cfg - %s", strerror(-r));
		struct usercfg *cfg = NULL;
		if (r == 0)
			r = usercfg_parse(f.data, &cfg);
		else
			cfg = usercfg_new();
		if (r < 0 || !cfg) {
			store_file_done(&f);
			return api_fail(c, 500, "unable to parse user.cfg");
		}
		r = edit(c, cfg, arg);
		if (r < 0) {
			usercfg_free(cfg);
			store_file_done(&f);
			return r;
		}
		_cleanup_free_ char *text = usercfg_format(cfg);
		usercfg_free(cfg);
		if (!text) {
			store_file_done(&f);
			return api_fail(c, 400,
			                "unable to write user.cfg - a value contains a ':' "
			                "or a line break that cannot be stored");
		}
		r = store_write(c->ctx->store, "user.cfg", text, strlen(text),
		                f.data ? f.digest : "", NULL);
		store_file_done(&f);
		if (r >= 0) {
			authcache_refresh(c->ctx->auth);
			return 0;
		}
		if (r != -ESTALE && r != -EEXIST)
			return api_fail(c, 500, "unable to write user.cfg - %s", strerror(-r));
	}
	return api_fail(c, 500, "unable to write user.cfg - too many concurrent changes");
}

int
tokencfg_set_hash(struct api_call *c, const char *full_tokenid, const char *hash)
{
	for (int attempt = 0; attempt < 5; attempt++) {
		struct store_file f = { 0 };
		int r = store_read(c->ctx->store, "priv/token.cfg", &f);
		if (r < 0 && r != -ENOENT)
			return api_fail(c, 500, "unable to read token file - %s", strerror(-r));
		_cleanup_free_ char *text =
		        tokencfg_update(r == 0 ? f.data : "", full_tokenid, hash);
		r = store_write(c->ctx->store, "priv/token.cfg", text, strlen(text),
		                f.data ? f.digest : "", NULL);
		store_file_done(&f);
		if (r >= 0) {
			authcache_refresh(c->ctx->auth);
			return 0;
		}
		if (r != -ESTALE && r != -EEXIST)
			return api_fail(c, 500, "unable to write token file - %s", strerror(-r));
	}
	return api_fail(c, 500, "unable to write token file - too many concurrent changes");
}
