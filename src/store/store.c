/* The config store's SQLite backend: schema, prepared statements, transactions, the latch. */
#include "store-internal.h"

#include "basic/encoding.h"
#include "basic/fileio.h"
#include "basic/strbuf.h"

#include <fcntl.h>
#include <libgen.h>
#include <strings.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <time.h>

#define SCHEMA_VERSION 1
#define STR_(x)        #x
#define STR(x)         STR_(x)

/* A WAL is never shorter than its largest transaction; after a checkpoint it is cut back to
 * this so one big file does not leave a big WAL behind. */
#define JOURNAL_SIZE_LIMIT (2 * (long long)STORE_DATA_MAX)

enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_READ,
	ST_EXISTS,
	ST_DIGEST,
	ST_BUMP,
	ST_UPSERT,
	ST_DELETE,
	ST_RENAME,
	ST_LIST,
	ST_GENERATION,
	_ST_MAX,
};

/* Prepared once per handle and reused: parsing SQL would cost more than the lookups. */
static const char *const stmt_sql[_ST_MAX] = {
	/* IMMEDIATE takes the write lock before we compare digests, so compare-and-set is atomic
	 * across processes; a DEFERRED transaction would fail its upgrade with SQLITE_BUSY
	 * without waiting. */
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_READ] = "SELECT data, version, digest, mtime FROM files WHERE path = ?1",
	[ST_EXISTS] = "SELECT 1 FROM files WHERE path = ?1",
	[ST_DIGEST] = "SELECT digest FROM files WHERE path = ?1",
	[ST_BUMP] = "UPDATE counter SET generation = generation + 1 WHERE id = 0 "
	            "RETURNING generation",
	[ST_UPSERT] = "INSERT INTO files (path, data, version, digest, mtime) "
	              "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (path) DO UPDATE SET "
	              "data = excluded.data, version = excluded.version, "
	              "digest = excluded.digest, mtime = excluded.mtime",
	[ST_DELETE] = "DELETE FROM files WHERE path = ?1",
	[ST_RENAME] = "UPDATE files SET path = ?2, version = ?3, mtime = ?4 WHERE path = ?1",
	/* Paths with a given prefix are contiguous in bytewise order and start at the prefix
	 * itself, so the primary-key index serves the listing; store_list() stops at the first
	 * path past the prefix. */
	[ST_LIST] = "SELECT path FROM files WHERE path >= ?1 ORDER BY path",
	[ST_GENERATION] = "SELECT generation FROM counter WHERE id = 0",
};

static const char schema_sql[] =
        "CREATE TABLE files ("
        " path TEXT PRIMARY KEY NOT NULL,"
        " data BLOB NOT NULL,"
        " version INTEGER NOT NULL,"
        " digest TEXT NOT NULL,"
        " mtime INTEGER NOT NULL);"
        "CREATE TABLE counter (id INTEGER PRIMARY KEY CHECK (id = 0), generation INTEGER NOT NULL);"
        "INSERT INTO counter (id, generation) VALUES (0, 0);"
        "PRAGMA user_version = " STR(SCHEMA_VERSION) ";";

struct store {
	sqlite3 *db;
	sqlite3_stmt *stmt[_ST_MAX];
	EVP_MD *sha1;
	int lock_dirfd;
	bool in_tx;
	bool tx_failed; /* SQLite itself failed inside the open write transaction */
	bool latched;
};

static inline void
stmt_resetp(sqlite3_stmt **st)
{
	if (*st)
		sqlite3_reset(*st);
}
/* A statement left unreset keeps its read transaction (and an old snapshot) open. */
#define _cleanup_reset_ _cleanup_(stmt_resetp)

static int
sql_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_PERM:
	case SQLITE_AUTH:
	case SQLITE_READONLY:
		return -EACCES;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
	case SQLITE_FORMAT:
		return -EBADMSG;
	case SQLITE_TOOBIG:
		return -EFBIG;
	default:
		return -EIO;
	}
}

/* Inside a write transaction any SQLite failure poisons it: tx_end() then latches. */
static int
sql_fail(struct store *s, int rc)
{
	if (s->in_tx)
		s->tx_failed = true;
	return sql_errno(rc);
}

/* Step a statement that is run for its effect; SQLITE_OK on success. */
static int
step_once(struct store *s, enum stmt_id id)
{
	sqlite3_stmt *st = s->stmt[id];
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

static int
tx_begin(struct store *s)
{
	if (s->latched)
		return -EROFS;
	int rc = step_once(s, ST_BEGIN);
	if (rc != SQLITE_OK)
		return sql_errno(rc);
	s->in_tx = true;
	s->tx_failed = false;
	return 0;
}

/* Commit when r >= 0, else roll back. A refused compare-and-set is an ordinary rollback; a
 * failure of SQLite or of the commit itself latches the handle, because after a failed
 * write (think of a lost fsync error) we can no longer vouch for what is on disk. */
static int
tx_end(struct store *s, int r)
{
	if (r >= 0) {
		int rc = step_once(s, ST_COMMIT);
		if (rc != SQLITE_OK) {
			s->tx_failed = true;
			r = sql_errno(rc);
		}
	}
	if (r < 0 && !sqlite3_get_autocommit(s->db))
		(void)step_once(s, ST_ROLLBACK);
	if (s->tx_failed)
		s->latched = true;
	s->in_tx = false;
	return r;
}

bool
store_path_valid(const char *path)
{
	if (!path)
		return false;
	size_t n = 0, comp = 0;
	bool dots_only = true;
	for (const char *p = path;; p++, n++) {
		char c = *p;
		if (c == '/' || c == '\0') {
			if (comp == 0 || (dots_only && comp <= 2))
				return false;
			if (c == '\0')
				return true;
			comp = 0;
			dots_only = true;
			continue;
		}
		if (n >= STORE_PATH_MAX)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
		if (c != '.')
			dots_only = false;
		comp++;
	}
}

/* Accept 40 hex digits in either case; write the lower-case form Proxmox hands out. */
static int
digest_normalize(const char *in, char out[STORE_DIGEST_LEN + 1])
{
	size_t i;
	for (i = 0; i < STORE_DIGEST_LEN; i++) {
		char c = in[i];
		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -EINVAL;
		out[i] = c;
	}
	if (in[i] != '\0')
		return -EINVAL;
	out[i] = '\0';
	return 0;
}

static int
sha1_hex(struct store *s, const void *data, size_t len, char out[STORE_DIGEST_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (EVP_Digest(len ? data : "", len, md, &mdlen, s->sha1, NULL) != 1 ||
	    mdlen * 2 != STORE_DIGEST_LEN)
		return -EIO;
	hex_encode(md, mdlen, out);
	return 0;
}

static int
bind_path(sqlite3_stmt *st, int idx, const char *path)
{
	return sqlite3_bind_text(st, idx, path, -1, SQLITE_STATIC);
}

/* 0 and the digest if path exists, -ENOENT if not. */
static int
current_digest(struct store *s, const char *path, char ret[STORE_DIGEST_LEN + 1])
{
	_cleanup_reset_ sqlite3_stmt *st = s->stmt[ST_DIGEST];
	int rc = bind_path(st, 1, path);
	if (rc != SQLITE_OK)
		return sql_fail(s, rc);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return sql_fail(s, rc);
	const unsigned char *d = sqlite3_column_text(st, 0);
	if (!d || sqlite3_column_bytes(st, 0) != STORE_DIGEST_LEN)
		return -EBADMSG;
	memcpy(ret, d, STORE_DIGEST_LEN + 1);
	return 0;
}

/* expect: NULL, "" or a normalized digest (see store_write). */
static int
check_expect(struct store *s, const char *path, const char *expect)
{
	if (!expect)
		return 0;
	char cur[STORE_DIGEST_LEN + 1];
	int r = current_digest(s, path, cur);
	if (r == -ENOENT)
		return expect[0] ? -ENOENT : 0;
	if (r < 0)
		return r;
	if (!expect[0])
		return -EEXIST;
	return streq(cur, expect) ? 0 : -ESTALE;
}

static int
file_exists(struct store *s, const char *path)
{
	_cleanup_reset_ sqlite3_stmt *st = s->stmt[ST_EXISTS];
	int rc = bind_path(st, 1, path);
	if (rc != SQLITE_OK)
		return sql_fail(s, rc);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? -ENOENT : sql_fail(s, rc);
}

static int
bump_generation(struct store *s, uint64_t *ret)
{
	_cleanup_reset_ sqlite3_stmt *st = s->stmt[ST_BUMP];
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? -EBADMSG : sql_fail(s, rc);
	*ret = (uint64_t)sqlite3_column_int64(st, 0);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return sql_fail(s, rc);
	return 0;
}

static int
put_file(struct store *s, const char *path, const void *data, size_t len, uint64_t version,
         const char *digest, int64_t mtime)
{
	_cleanup_reset_ sqlite3_stmt *st = s->stmt[ST_UPSERT];
	/* a NULL pointer would bind SQL NULL; "" binds an empty blob */
	int rc = bind_path(st, 1, path);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob64(st, 2, len ? data : "", len, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, (sqlite3_int64)version);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 4, digest, STORE_DIGEST_LEN, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 5, mtime);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	return rc == SQLITE_DONE ? 0 : sql_fail(s, rc);
}

static int
delete_file(struct store *s, const char *path)
{
	_cleanup_reset_ sqlite3_stmt *st = s->stmt[ST_DELETE];
	int rc = bind_path(st, 1, path);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	return rc == SQLITE_DONE ? 0 : sql_fail(s, rc);
}

static int
move_file(struct store *s, const char *from, const char *to, uint64_t version, int64_t mtime)
{
	_cleanup_reset_ sqlite3_stmt *st = s->stmt[ST_RENAME];
	int rc = bind_path(st, 1, from);
	if (rc == SQLITE_OK)
		rc = bind_path(st, 2, to);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 3, (sqlite3_int64)version);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 4, mtime);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	return rc == SQLITE_DONE ? 0 : sql_fail(s, rc);
}

void
store_file_done(struct store_file *f)
{
	if (!f)
		return;
	free(f->data);
	f->data = NULL;
	f->len = 0;
}

int
store_read(struct store *s, const char *path, struct store_file *ret)
{
	if (!s || !store_path_valid(path))
		return -EINVAL;
	_cleanup_reset_ sqlite3_stmt *st = s->stmt[ret ? ST_READ : ST_EXISTS];
	int rc = bind_path(st, 1, path);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return sql_errno(rc);
	if (!ret)
		return 0;

	const void *blob = sqlite3_column_blob(st, 0);
	int len = sqlite3_column_bytes(st, 0);
	if (!blob && len > 0)
		return -ENOMEM;
	const unsigned char *digest = sqlite3_column_text(st, 2);
	if (!digest || sqlite3_column_bytes(st, 2) != STORE_DIGEST_LEN || len < 0)
		return -EBADMSG;
	char *data = xmalloc((size_t)len + 1);
	if (len > 0)
		memcpy(data, blob, (size_t)len);
	data[len] = '\0';
	ret->data = data;
	ret->len = (size_t)len;
	ret->version = (uint64_t)sqlite3_column_int64(st, 1);
	ret->mtime = sqlite3_column_int64(st, 3);
	memcpy(ret->digest, digest, STORE_DIGEST_LEN + 1);
	return 0;
}

int
store_write(struct store *s, const char *path, const void *data, size_t len,
            const char *expect_digest, struct store_file *ret_meta)
{
	char expect[STORE_DIGEST_LEN + 1] = "", digest[STORE_DIGEST_LEN + 1];
	if (!s || !store_path_valid(path) || len > STORE_DATA_MAX || (!data && len > 0))
		return -EINVAL;
	if (expect_digest && expect_digest[0] && digest_normalize(expect_digest, expect) < 0)
		return -EINVAL;
	if (s->latched)
		return -EROFS;
	/* hash before taking the write lock: 8 MiB take milliseconds */
	int r = sha1_hex(s, data, len, digest);
	if (r < 0)
		return r;

	r = tx_begin(s);
	if (r < 0)
		return r;
	uint64_t version = 0;
	int64_t now = time(NULL);
	r = check_expect(s, path, expect_digest ? expect : NULL);
	if (r >= 0)
		r = bump_generation(s, &version);
	if (r >= 0)
		r = put_file(s, path, data, len, version, digest, now);
	r = tx_end(s, r);
	if (r < 0)
		return r;
	if (ret_meta) {
		ret_meta->version = version;
		ret_meta->mtime = now;
		memcpy(ret_meta->digest, digest, sizeof(digest));
	}
	return 0;
}

int
store_delete(struct store *s, const char *path, const char *expect_digest)
{
	char expect[STORE_DIGEST_LEN + 1];
	if (!s || !store_path_valid(path))
		return -EINVAL;
	if (expect_digest && digest_normalize(expect_digest, expect) < 0)
		return -EINVAL;
	int r = tx_begin(s);
	if (r < 0)
		return r;
	uint64_t version;
	r = check_expect(s, path, expect_digest ? expect : NULL);
	if (r >= 0)
		r = file_exists(s, path);
	if (r >= 0)
		r = bump_generation(s, &version);
	if (r >= 0)
		r = delete_file(s, path);
	return tx_end(s, r);
}

int
store_rename(struct store *s, const char *from, const char *to)
{
	if (!s || !store_path_valid(from) || !store_path_valid(to))
		return -EINVAL;
	int r = tx_begin(s);
	if (r < 0)
		return r;
	uint64_t version;
	r = file_exists(s, from);
	if (r >= 0) {
		r = file_exists(s, to);
		r = r == 0 ? -EEXIST : r == -ENOENT ? 0 : r;
	}
	if (r >= 0)
		r = bump_generation(s, &version);
	if (r >= 0)
		r = move_file(s, from, to, version, time(NULL));
	return tx_end(s, r);
}

void
store_strv_free(char **strv)
{
	if (!strv)
		return;
	for (char **p = strv; *p; p++)
		free(*p);
	free(strv);
}

DEFINE_POINTER_CLEANUP(char *, store_strv_free)

int
store_list(struct store *s, const char *prefix, char ***ret_paths)
{
	if (!s || !ret_paths)
		return -EINVAL;
	if (!prefix)
		prefix = "";
	size_t plen = strlen(prefix), n = 0, cap = 8;
	_cleanup_(store_strv_freep) char **v = xcalloc(cap, sizeof(char *));

	_cleanup_reset_ sqlite3_stmt *st = s->stmt[ST_LIST];
	int rc = sqlite3_bind_text(st, 1, prefix, -1, SQLITE_STATIC);
	if (rc != SQLITE_OK)
		return sql_errno(rc);
	for (;;) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_DONE)
			break;
		if (rc != SQLITE_ROW)
			return sql_errno(rc);
		const char *p = (const char *)sqlite3_column_text(st, 0);
		if (!p)
			return -ENOMEM;
		if (strncmp(p, prefix, plen) != 0)
			break;
		if (n + 1 >= cap) {
			cap *= 2;
			v = xrealloc(v, cap * sizeof(char *));
		}
		v[n++] = xstrndup(p, (size_t)sqlite3_column_bytes(st, 0));
		v[n] = NULL;
	}
	*ret_paths = TAKE_PTR(v);
	return 0;
}

int
store_generation(struct store *s, uint64_t *ret)
{
	if (!s || !ret)
		return -EINVAL;
	_cleanup_reset_ sqlite3_stmt *st = s->stmt[ST_GENERATION];
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? -EBADMSG : sql_errno(rc);
	*ret = (uint64_t)sqlite3_column_int64(st, 0);
	return 0;
}

bool
store_latched(const struct store *s)
{
	return s && s->latched;
}

int
store_set_busy_timeout(struct store *s, int timeout_ms)
{
	if (!s || timeout_ms < 0)
		return -EINVAL;
	return sqlite3_busy_timeout(s->db, timeout_ms) == SQLITE_OK ? 0 : -EIO;
}

int
store_lock_dirfd(const struct store *s)
{
	return s->lock_dirfd;
}

void
store_close(struct store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < _ST_MAX; i++)
		sqlite3_finalize(s->stmt[i]);
	/* the last connection checkpoints and removes the WAL on close */
	sqlite3_close(s->db);
	EVP_MD_free(s->sha1);
	if (s->lock_dirfd >= 0)
		close(s->lock_dirfd);
	free(s);
}

DEFINE_POINTER_CLEANUP(struct store, store_close)

static int
make_private(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if ((st.st_mode & 07777) != 0600 && fchmod(fd, 0600) < 0)
		return negative_errno();
	return 0;
}

/* SQLite creates a new database 0644 less the umask, but gives -wal and -shm the mode of the
 * database file: creating it 0600 ourselves makes all three private whatever the umask.
 * Leftover side files from an older, laxer version are tightened too. */
static int
prepare_db_files(const char *db_path, struct error *err)
{
	_cleanup_close_ int fd =
	        open(db_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0600);
	bool created = fd >= 0;
	if (fd < 0 && errno == EEXIST)
		fd = open(db_path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return error_errno(err, negative_errno(), "unable to open database '%s'", db_path);
	int r = make_private(fd);
	if (r < 0)
		return error_errno(err, r, "unable to make database '%s' private", db_path);
	if (created) {
		/* SQLite syncs the directory only when it creates the WAL */
		_cleanup_free_ char *copy = xstrdup(db_path);
		_cleanup_close_ int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0 || fsync(dfd) < 0)
			return error_errno(err, negative_errno(),
			                   "unable to sync directory of '%s'", db_path);
	}

	static const char *const suffixes[] = { "-wal", "-shm" };
	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
		_cleanup_free_ char *side = xasprintf("%s%s", db_path, suffixes[i]);
		_cleanup_close_ int sfd = open(side, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
		if (sfd < 0 && errno == ENOENT)
			continue;
		if (sfd < 0)
			return error_errno(err, negative_errno(), "unable to open '%s'", side);
		r = make_private(sfd);
		if (r < 0)
			return error_errno(err, r, "unable to make '%s' private", side);
	}
	return 0;
}

static int
sql_error(struct store *s, struct error *err, int rc, const char *what)
{
	return error_set(err, -sql_errno(rc), "%s: %s", what, sqlite3_errmsg(s->db));
}

static int
exec_sql(struct store *s, const char *sql, struct error *err)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : sql_error(s, err, rc, sql);
}

/* Run a one-row PRAGMA; hand back its value as an integer, or check it equals want_text. */
static int
pragma_query(struct store *s, const char *sql, int64_t *ret_int, const char *want_text,
             struct error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		int r = sql_error(s, err, rc, sql);
		sqlite3_finalize(st);
		return r;
	}
	int r = 0;
	if (ret_int)
		*ret_int = sqlite3_column_int64(st, 0);
	if (want_text) {
		const char *got = (const char *)sqlite3_column_text(st, 0);
		if (!got || strcasecmp(got, want_text) != 0)
			r = error_set(err, ENOTSUP, "%s gave '%s', need '%s'", sql,
			              got ? got : "(null)", want_text);
	}
	sqlite3_finalize(st);
	return r;
}

/* Switching a new database to WAL takes an exclusive lock without asking the busy handler,
 * so processes creating the store together wait here instead. */
static int
set_wal_mode(struct store *s, struct error *err)
{
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	long delay_ns = 1000 * 1000;
	for (;;) {
		int r = pragma_query(s, "PRAGMA journal_mode = WAL", NULL, "wal", err);
		if (r != -EBUSY)
			return r;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >
		    STORE_BUSY_TIMEOUT_MS)
			return r;
		struct timespec ts = { 0, delay_ns };
		(void)nanosleep(&ts, NULL);
		delay_ns = MIN(delay_ns * 2, 50 * 1000 * 1000L);
	}
}

static int
ensure_schema(struct store *s, struct error *err)
{
	int64_t v;
	int r = pragma_query(s, "PRAGMA user_version", &v, NULL, err);
	if (r < 0)
		return r;
	if (v == 0) {
		/* several processes may race to create it: decide under the write lock */
		r = exec_sql(s, "BEGIN IMMEDIATE", err);
		if (r < 0)
			return r;
		r = pragma_query(s, "PRAGMA user_version", &v, NULL, err);
		if (r >= 0 && v == 0)
			r = exec_sql(s, schema_sql, err);
		if (r >= 0)
			r = exec_sql(s, "COMMIT", err);
		if (r < 0) {
			(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			return r;
		}
		if (v == 0)
			v = SCHEMA_VERSION;
	}
	if (v != SCHEMA_VERSION)
		return error_set(err, ENOTSUP, "schema version %lld is not %d, the one supported",
		                 (long long)v, SCHEMA_VERSION);
	return 0;
}

static int
open_db(struct store *s, const char *db_path, struct error *err)
{
	int r = prepare_db_files(db_path, err);
	if (r < 0)
		return r;
	/* NOMUTEX: a handle is used by one thread at a time (see store.h) */
	int rc =
	        sqlite3_open_v2(db_path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK)
		return error_set(err, -sql_errno(rc), "%s",
		                 s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);

	r = set_wal_mode(s, err);
	if (r < 0)
		return r;
	/* FULL syncs the WAL on every commit: an acknowledged write survives power loss */
	r = exec_sql(s, "PRAGMA synchronous = FULL", err);
	if (r < 0)
		return r;
	char sql[64];
	snprintf(sql, sizeof(sql), "PRAGMA journal_size_limit = %lld", JOURNAL_SIZE_LIMIT);
	r = exec_sql(s, sql, err);
	if (r < 0)
		return r;
	r = ensure_schema(s, err);
	if (r < 0)
		return r;

	for (size_t i = 0; i < _ST_MAX; i++) {
		rc = sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
		                        &s->stmt[i], NULL);
		if (rc != SQLITE_OK)
			return sql_error(s, err, rc, stmt_sql[i]);
	}
	return 0;
}

int
store_open(const char *db_path, const char *lock_dir, struct store **ret, struct error *err)
{
	if (!db_path || !*db_path || !lock_dir || !*lock_dir || !ret)
		return error_set(err, EINVAL, "unable to open config store: invalid arguments");

	_cleanup_(store_closep) struct store *s = xcalloc(1, sizeof(*s));
	s->lock_dirfd = -1;

	int r = mkdir_p(lock_dir, 0700);
	if (r < 0)
		return error_errno(err, r, "unable to create lock directory '%s'", lock_dir);
	s->lock_dirfd = open(lock_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->lock_dirfd < 0)
		return error_errno(err, negative_errno(), "unable to open lock directory '%s'",
		                   lock_dir);

	s->sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
	if (!s->sha1)
		return error_set(err, ENOSYS, "unable to open config store: no SHA-1 in OpenSSL");

	r = open_db(s, db_path, err);
	if (r < 0)
		return error_prefix(err, "unable to open config store '%s'", db_path);

	*ret = TAKE_PTR(s);
	return 0;
}
