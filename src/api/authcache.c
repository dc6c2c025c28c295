/* In-memory copy of the access configuration, refreshed from the store on change. */
#include "api/authcache.h"
#include "basic/log.h"
#include "basic/strbuf.h"
#include "store/store.h"

#include <stdint.h>

struct memo {
	char *subject;
	char *path;
	privset_t privs;
	time_t at;
};

/* How long the cache trusts itself before asking the store whether anything changed. The
 * daemon refreshes explicitly after its own writes, so this only bounds how late a change
 * made by another process (an admin editing the store directly) is noticed; it saves a
 * SQLite read transaction on every request. */
#define AUTHCACHE_CHECK_NS (250 * 1000 * 1000LL)

struct authcache {
	struct store *store;
	uint64_t generation;
	int64_t checked_at; /* CLOCK_MONOTONIC ns of the last generation check */
	bool loaded;
	struct usercfg *cfg;
	char *tokens; /* priv/token.cfg text */
	struct memo *memo;
	size_t n_memo, cap_memo;
};

static void
memo_clear(struct authcache *c)
{
	for (size_t i = 0; i < c->n_memo; i++) {
		free(c->memo[i].subject);
		free(c->memo[i].path);
	}
	c->n_memo = 0;
}

int
authcache_new(struct store *store, struct authcache **ret)
{
	struct authcache *c = xcalloc(1, sizeof(*c));
	c->store = store;
	authcache_refresh(c);
	*ret = c;
	return 0;
}

void
authcache_free(struct authcache *c)
{
	if (!c)
		return;
	memo_clear(c);
	free(c->memo);
	usercfg_free(c->cfg);
	free(c->tokens);
	free(c);
}

static int64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void
authcache_refresh_soon(struct authcache *c)
{
	if (c->loaded && now_ns() - c->checked_at < AUTHCACHE_CHECK_NS)
		return;
	authcache_refresh(c);
}

void
authcache_refresh(struct authcache *c)
{
	uint64_t gen = 0;
	c->checked_at = now_ns();
	if (store_generation(c->store, &gen) < 0 && c->loaded)
		return; /* keep what we have */
	if (c->loaded && gen == c->generation)
		return;

	struct store_file f = { 0 };
	struct usercfg *cfg = NULL;
	if (store_read(c->store, "user.cfg", &f) >= 0) {
		if (usercfg_parse(f.data, &cfg) < 0)
			cfg = NULL;
		else
			for (size_t i = 0; i < cfg->n_warnings; i++)
				log_warn("user.cfg: %s", cfg->warnings[i]);
		store_file_done(&f);
	}
	if (!cfg)
		cfg = usercfg_new();
	usercfg_free(c->cfg);
	c->cfg = cfg;

	free(c->tokens);
	c->tokens = NULL;
	if (store_read(c->store, "priv/token.cfg", &f) >= 0) {
		c->tokens = TAKE_PTR(f.data);
		store_file_done(&f);
	}
	memo_clear(c);
	c->generation = gen;
	c->loaded = true;
}

const struct usercfg *
authcache_usercfg(struct authcache *c)
{
	return c->cfg;
}

int
authcache_token_hash(struct authcache *c, const char *full_tokenid, char out[TOKEN_HASH_HEX + 1])
{
	if (!c->tokens)
		return -ENOENT;
	return tokencfg_lookup(c->tokens, full_tokenid, out);
}

privset_t
authcache_privs(struct authcache *c, const char *subject, const char *path, time_t now)
{
	for (size_t i = 0; i < c->n_memo; i++) {
		struct memo *m = &c->memo[i];
		/* expiry dates make results time-dependent: memoise for one second at most */
		if (m->at == now && streq(m->subject, subject) && streq(m->path, path))
			return m->privs;
	}
	privset_t p = acl_privs(c->cfg, subject, path, now);
	if (c->n_memo >= 256)
		memo_clear(c);
	if (c->n_memo == c->cap_memo) {
		c->cap_memo = c->cap_memo ? c->cap_memo * 2 : 16;
		c->memo = xrealloc(c->memo, c->cap_memo * sizeof(*c->memo));
	}
	c->memo[c->n_memo++] = (struct memo){ xstrdup(subject), xstrdup(path), p, now };
	return p;
}
