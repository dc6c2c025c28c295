/* Unit tests: the config store's operations in one process (paths, digests, versions, CAS). */
#include "store-test.h"

#include <fcntl.h>
#include <sqlite3.h>

static const char *const valid_paths[] = {
	"user.cfg",
	"datacenter.cfg",
	"storage.cfg",
	"nodes/pve/qemu-server/100.conf",
	"nodes/pve/lxc/101.conf",
	"priv/token.cfg",
	"a",
	"...",
	".hidden",
	"..x",
	"a-b_c.D9",
	"nodes/-rf",
	"x/.../y",
};

static const char *const invalid_paths[] = {
	"",
	"/etc/passwd",
	"/",
	"../user.cfg",
	"nodes/../user.cfg",
	"nodes/..",
	"./user.cfg",
	"nodes/./pve",
	".",
	"..",
	"nodes//pve",
	"nodes/",
	"a b",
	"a:b",
	"a\\b",
	"a\nb",
	"a\rb",
	"a\tb",
	"\xc3\xbc.cfg", /* UTF-8 u-umlaut */
	"a*",
	"a?",
	"~root",
	"a%2fb",
	"a\"b",
	"a;b",
};

static void
test_path_validation_accepts_proxmox_paths_and_refuses_escapes(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(valid_paths); i++)
		if (!store_path_valid(valid_paths[i]))
			fail_msg("valid path refused: '%s'", valid_paths[i]);
	for (size_t i = 0; i < ARRAY_SIZE(invalid_paths); i++)
		if (store_path_valid(invalid_paths[i]))
			fail_msg("invalid path accepted: '%s'", invalid_paths[i]);
	assert_false(store_path_valid(NULL));

	/* STORE_PATH_MAX bytes is the limit, wherever the slashes are */
	char p[STORE_PATH_MAX + 2];
	memset(p, 'a', sizeof(p));
	p[STORE_PATH_MAX] = '\0';
	p[100] = '/';
	assert_true(store_path_valid(p));
	p[STORE_PATH_MAX] = 'a';
	p[STORE_PATH_MAX + 1] = '\0';
	assert_false(store_path_valid(p));
}

static void
test_every_operation_refuses_invalid_paths(void **state)
{
	struct store *s = open_ok(*state);
	struct store_file f = { 0 };
	struct store_lock *l = NULL;
	assert_int_equal(store_write(s, "ok.cfg", "x", 1, NULL, NULL), 0);
	for (size_t i = 0; i < ARRAY_SIZE(invalid_paths); i++) {
		const char *p = invalid_paths[i];
		assert_int_equal(store_read(s, p, &f), -EINVAL);
		assert_int_equal(store_read(s, p, NULL), -EINVAL);
		assert_int_equal(store_write(s, p, "x", 1, NULL, NULL), -EINVAL);
		assert_int_equal(store_delete(s, p, NULL), -EINVAL);
		assert_int_equal(store_rename(s, "ok.cfg", p), -EINVAL);
		assert_int_equal(store_rename(s, p, "new.cfg"), -EINVAL);
		assert_int_equal(store_lock(s, p, 0, &l), -EINVAL);
	}
	assert_int_equal(store_read(s, NULL, &f), -EINVAL);
	assert_int_equal(store_read(NULL, "ok.cfg", &f), -EINVAL);
	char **v = NULL;
	assert_int_equal(store_list(s, "", &v), 0);
	assert_string_equal(v[0], "ok.cfg");
	assert_null(v[1]);
	store_strv_free(v);
	store_close(s);
}

static void
assert_mode(const char *path, mode_t want)
{
	struct stat st;
	if (stat(path, &st) < 0)
		fail_msg("stat %s: %s", path, strerror(errno));
	if ((st.st_mode & 07777) != want)
		fail_msg("%s has mode %o, want %o", path, st.st_mode & 07777, want);
}

static void
test_open_makes_database_wal_shm_private_and_lock_dir_0700_even_with_umask_0(void **state)
{
	struct scratch *sc = *state;
	mode_t old = umask(0);
	struct store *s = open_ok(sc);
	assert_int_equal(store_write(s, "user.cfg", "x", 1, NULL, NULL), 0);
	umask(old);

	char side[256];
	assert_mode(sc->db, 0600);
	snprintf(side, sizeof(side), "%s-wal", sc->db);
	assert_mode(side, 0600);
	snprintf(side, sizeof(side), "%s-shm", sc->db);
	assert_mode(side, 0600);
	assert_mode(sc->locks, 0700);
	store_close(s);
}

static void
test_open_tightens_a_world_readable_database(void **state)
{
	struct scratch *sc = *state;
	struct store *s = open_ok(sc);
	assert_int_equal(store_write(s, "user.cfg", "x", 1, NULL, NULL), 0);
	store_close(s);
	assert_int_equal(chmod(sc->db, 0644), 0);

	s = open_ok(sc);
	assert_mode(sc->db, 0600);
	assert_int_equal(store_read(s, "user.cfg", NULL), 0);
	store_close(s);
}

static void
test_open_refuses_a_file_that_is_not_a_database_and_leaves_it_alone(void **state)
{
	struct scratch *sc = *state;
	char junk[2048];
	memset(junk, 'j', sizeof(junk));
	assert_int_equal(write_file_atomic(sc->db, junk, sizeof(junk), 0600), 0);

	struct error err = { 0 };
	struct store *s = NULL;
	int r = store_open(sc->db, sc->locks, &s, &err);
	assert_true(r < 0);
	assert_null(s);
	assert_int_equal(err.code, -r);
	assert_non_null(strstr(err.msg, "unable to open config store"));

	char *data;
	size_t len;
	assert_int_equal(read_file(sc->db, 1 << 20, &data, &len), 0);
	assert_int_equal(len, sizeof(junk));
	assert_memory_equal(data, junk, len);
	free(data);
}

static void
test_open_refuses_a_schema_version_it_does_not_know(void **state)
{
	struct scratch *sc = *state;
	store_close(open_ok(sc));
	sqlite3 *db;
	assert_int_equal(sqlite3_open(sc->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 2", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	struct error err = { 0 };
	struct store *s = NULL;
	assert_int_equal(store_open(sc->db, sc->locks, &s, &err), -ENOTSUP);
	assert_null(s);
	assert_non_null(strstr(err.msg, "schema version 2"));
}

static void
test_open_refuses_missing_arguments_with_a_message(void **state)
{
	struct scratch *sc = *state;
	struct error err = { 0 };
	struct store *s = NULL;
	assert_int_equal(store_open(NULL, sc->locks, &s, &err), -EINVAL);
	assert_int_equal(store_open(sc->db, "", &s, &err), -EINVAL);
	assert_true(error_is_set(&err));
	assert_null(s);
	/* the lock directory's place is taken by a file */
	assert_int_equal(write_file_atomic(sc->locks, "x", 1, 0600), 0);
	assert_int_equal(store_open(sc->db, sc->locks, &s, &err), -ENOTDIR);
	assert_non_null(strstr(err.msg, "lock directory"));
}

static void
test_read_of_absent_file_is_enoent_and_null_ret_tests_existence(void **state)
{
	struct store *s = open_ok(*state);
	struct store_file f = { 0 };
	assert_int_equal(store_read(s, "user.cfg", &f), -ENOENT);
	assert_null(f.data);
	assert_int_equal(store_read(s, "user.cfg", NULL), -ENOENT);
	assert_int_equal(store_write(s, "user.cfg", "u", 1, NULL, NULL), 0);
	assert_int_equal(store_read(s, "user.cfg", NULL), 0);
	assert_int_equal(store_read(s, "user.cf", NULL), -ENOENT);
	store_close(s);
}

static void
test_write_then_read_returns_content_version_mtime_and_digest(void **state)
{
	struct store *s = open_ok(*state);
	const char cfg[] = "keyboard: en-us\nmigration: secure\n";
	int64_t before = time(NULL);
	struct store_file meta = { 0 };
	assert_int_equal(store_write(s, "datacenter.cfg", cfg, strlen(cfg), NULL, &meta), 0);
	int64_t after = time(NULL);

	struct store_file f = { 0 };
	assert_int_equal(store_read(s, "datacenter.cfg", &f), 0);
	assert_int_equal(f.len, strlen(cfg));
	assert_string_equal(f.data, cfg);
	assert_int_equal(f.version, meta.version);
	assert_string_equal(f.digest, meta.digest);
	assert_int_equal(f.mtime, meta.mtime);
	assert_true(f.mtime >= before && f.mtime <= after);
	assert_true(f.version > 0);
	store_file_done(&f);
	assert_null(f.data);
	assert_int_equal(f.len, 0);
	store_file_done(&f);
	store_file_done(NULL);
	store_close(s);
}

static void
test_digest_is_lowercase_sha1_hex_of_the_content(void **state)
{
	static const struct {
		const char *data;
		const char *sha1;
	} vectors[] = {
		{ "", "da39a3ee5e6b4b0d3255bfef95601890afd80709" },
		{ "abc", "a9993e364706816aba3e25717850c26c9cd0d89d" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "84983e441c3bd26ebaae4aa1f95129e5e54670f1" },
	};
	struct store *s = open_ok(*state);
	for (size_t i = 0; i < ARRAY_SIZE(vectors); i++) {
		struct store_file meta = { 0 }, f = { 0 };
		size_t len = strlen(vectors[i].data);
		assert_int_equal(store_write(s, "v.cfg", vectors[i].data, len, NULL, &meta), 0);
		assert_string_equal(meta.digest, vectors[i].sha1);
		assert_int_equal(store_read(s, "v.cfg", &f), 0);
		assert_string_equal(f.digest, vectors[i].sha1);
		store_file_done(&f);
	}
	store_close(s);
}

static void
test_versions_strictly_grow_and_generation_counts_every_change(void **state)
{
	struct store *s = open_ok(*state);
	uint64_t g0, g;
	assert_int_equal(store_generation(s, &g0), 0);
	assert_int_equal(g0, 0);

	struct store_file a1 = { 0 }, b1 = { 0 }, a2 = { 0 }, c = { 0 };
	assert_int_equal(store_write(s, "a.cfg", "1", 1, NULL, &a1), 0);
	assert_int_equal(store_generation(s, &g), 0);
	assert_int_equal(g, a1.version);
	assert_int_equal(store_write(s, "b.cfg", "1", 1, NULL, &b1), 0);
	assert_true(b1.version > a1.version);
	/* the same content again is still a write: new version, same digest */
	assert_int_equal(store_write(s, "a.cfg", "1", 1, NULL, &a2), 0);
	assert_true(a2.version > b1.version);
	assert_string_equal(a2.digest, a1.digest);

	assert_int_equal(store_delete(s, "b.cfg", NULL), 0);
	uint64_t after_delete;
	assert_int_equal(store_generation(s, &after_delete), 0);
	assert_true(after_delete > a2.version);

	assert_int_equal(store_rename(s, "a.cfg", "c.cfg"), 0);
	assert_int_equal(store_read(s, "c.cfg", &c), 0);
	assert_true(c.version > after_delete);
	assert_int_equal(store_generation(s, &g), 0);
	assert_int_equal(g, c.version);
	store_file_done(&c);

	/* refused operations change nothing */
	assert_int_equal(store_write(s, "c.cfg", "2", 1, "", NULL), -EEXIST);
	assert_int_equal(store_delete(s, "b.cfg", NULL), -ENOENT);
	assert_int_equal(store_rename(s, "b.cfg", "d.cfg"), -ENOENT);
	uint64_t g2;
	assert_int_equal(store_generation(s, &g2), 0);
	assert_int_equal(g2, g);
	store_close(s);
}

static void
test_write_without_digest_overwrites_unconditionally(void **state)
{
	struct store *s = open_ok(*state);
	struct store_file f = { 0 };
	assert_int_equal(store_write(s, "user.cfg", "one", 3, NULL, NULL), 0);
	assert_int_equal(store_write(s, "user.cfg", "two!", 4, NULL, NULL), 0);
	assert_int_equal(store_read(s, "user.cfg", &f), 0);
	assert_string_equal(f.data, "two!");
	assert_int_equal(f.len, 4);
	store_file_done(&f);
	store_close(s);
}

static void
test_write_with_empty_digest_creates_only_absent_files(void **state)
{
	struct store *s = open_ok(*state);
	struct store_file f = { 0 };
	assert_int_equal(store_write(s, "nodes/pve/qemu-server/100.conf", "a", 1, "", NULL), 0);
	assert_int_equal(store_write(s, "nodes/pve/qemu-server/100.conf", "b", 1, "", NULL),
	                 -EEXIST);
	assert_int_equal(store_read(s, "nodes/pve/qemu-server/100.conf", &f), 0);
	assert_string_equal(f.data, "a");
	store_file_done(&f);
	store_close(s);
}

static void
test_write_with_stale_digest_is_refused_and_changes_nothing(void **state)
{
	struct store *s = open_ok(*state);
	struct store_file v1 = { 0 }, v2 = { 0 }, f = { 0 };
	assert_int_equal(store_write(s, "storage.cfg", "v1", 2, NULL, &v1), 0);
	assert_int_equal(store_write(s, "storage.cfg", "v2", 2, v1.digest, &v2), 0);
	uint64_t g;
	assert_int_equal(store_generation(s, &g), 0);

	/* a client editing what it read before v2 landed */
	assert_int_equal(store_write(s, "storage.cfg", "lost", 4, v1.digest, NULL), -ESTALE);
	assert_int_equal(store_write(s, "storage.cfg", "lost", 4,
	                             "0000000000000000000000000000000000000000", NULL),
	                 -ESTALE);
	assert_int_equal(store_read(s, "storage.cfg", &f), 0);
	assert_string_equal(f.data, "v2");
	assert_int_equal(f.version, v2.version);
	assert_string_equal(f.digest, v2.digest);
	store_file_done(&f);
	uint64_t g2;
	assert_int_equal(store_generation(s, &g2), 0);
	assert_int_equal(g2, g);
	store_close(s);
}

static void
test_write_with_current_digest_succeeds_in_either_case(void **state)
{
	struct store *s = open_ok(*state);
	struct store_file m = { 0 }, f = { 0 };
	assert_int_equal(store_write(s, "user.cfg", "a", 1, NULL, &m), 0);
	assert_int_equal(store_write(s, "user.cfg", "b", 1, m.digest, &m), 0);
	char upper[STORE_DIGEST_LEN + 1];
	for (size_t i = 0; i <= STORE_DIGEST_LEN; i++)
		upper[i] = (char)(m.digest[i] >= 'a' ? m.digest[i] - 'a' + 'A' : m.digest[i]);
	assert_int_equal(store_write(s, "user.cfg", "c", 1, upper, NULL), 0);
	assert_int_equal(store_read(s, "user.cfg", &f), 0);
	assert_string_equal(f.data, "c");
	store_file_done(&f);
	store_close(s);
}

static void
test_write_with_a_digest_for_an_absent_file_is_enoent(void **state)
{
	struct store *s = open_ok(*state);
	assert_int_equal(store_write(s, "user.cfg", "a", 1,
	                             "da39a3ee5e6b4b0d3255bfef95601890afd80709", NULL),
	                 -ENOENT);
	assert_int_equal(store_read(s, "user.cfg", NULL), -ENOENT);
	store_close(s);
}

static void
test_write_with_malformed_digest_is_einval(void **state)
{
	static const char *const bad[] = {
		"da39a3ee5e6b4b0d3255bfef95601890afd8070",   /* 39 */
		"da39a3ee5e6b4b0d3255bfef95601890afd807090", /* 41 */
		"da39a3ee5e6b4b0d3255bfef95601890afd8070g",
		"da39a3ee5e6b4b0d3255bfef95601890afd8070 ",
		" ",
	};
	struct store *s = open_ok(*state);
	struct store_file m = { 0 };
	assert_int_equal(store_write(s, "user.cfg", "", 0, NULL, &m), 0);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(store_write(s, "user.cfg", "x", 1, bad[i], NULL), -EINVAL);
		assert_int_equal(store_delete(s, "user.cfg", bad[i]), -EINVAL);
	}
	assert_int_equal(store_read(s, "user.cfg", NULL), 0);
	store_close(s);
}

static void
test_write_refuses_oversize_and_missing_data(void **state)
{
	struct store *s = open_ok(*state);
	assert_int_equal(store_write(s, "user.cfg", NULL, 1, NULL, NULL), -EINVAL);
	assert_int_equal(store_write(NULL, "user.cfg", "x", 1, NULL, NULL), -EINVAL);
	/* the length is checked before the data is touched */
	assert_int_equal(store_write(s, "user.cfg", "x", (size_t)STORE_DATA_MAX + 1, NULL, NULL),
	                 -EINVAL);
	assert_int_equal(store_read(s, "user.cfg", NULL), -ENOENT);
	/* an empty file may come with a NULL pointer */
	assert_int_equal(store_write(s, "user.cfg", NULL, 0, NULL, NULL), 0);
	store_close(s);
}

static void
fill_pattern(unsigned char *buf, size_t len, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (unsigned char)x;
	}
}

static void
test_files_up_to_store_data_max_round_trip_byte_exact(void **state)
{
	struct store *s = open_ok(*state);
	size_t sizes[] = { STORE_DATA_MAX, 1 << 20, 4097, STORE_DATA_MAX };
	unsigned char *buf = xmalloc(STORE_DATA_MAX);
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		fill_pattern(buf, sizes[i], (uint32_t)i + 1);
		struct store_file meta = { 0 }, f = { 0 };
		assert_int_equal(store_write(s, "priv/big.bin", buf, sizes[i], NULL, &meta), 0);
		char want[STORE_DIGEST_LEN + 1];
		sha1_hex_of(buf, sizes[i], want);
		assert_string_equal(meta.digest, want);
		assert_int_equal(store_read(s, "priv/big.bin", &f), 0);
		assert_int_equal(f.len, sizes[i]);
		assert_memory_equal(f.data, buf, sizes[i]);
		assert_int_equal(f.data[f.len], '\0');
		assert_string_equal(f.digest, want);
		store_file_done(&f);
	}
	free(buf);
	store_close(s);
}

static void
test_empty_and_binary_files_round_trip(void **state)
{
	struct store *s = open_ok(*state);
	struct store_file f = { 0 };
	assert_int_equal(store_write(s, "empty.cfg", "", 0, NULL, NULL), 0);
	assert_int_equal(store_read(s, "empty.cfg", &f), 0);
	assert_int_equal(f.len, 0);
	assert_non_null(f.data);
	assert_string_equal(f.data, "");
	assert_string_equal(f.digest, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	store_file_done(&f);

	const char bin[] = "a\0b\0\xff\n";
	assert_int_equal(store_write(s, "priv/key.bin", bin, sizeof(bin), NULL, NULL), 0);
	assert_int_equal(store_read(s, "priv/key.bin", &f), 0);
	assert_int_equal(f.len, sizeof(bin));
	assert_memory_equal(f.data, bin, sizeof(bin));
	store_file_done(&f);
	store_close(s);
}

static void
test_write_meta_leaves_the_callers_data_untouched(void **state)
{
	struct store *s = open_ok(*state);
	struct store_file f = { 0 };
	assert_int_equal(store_write(s, "user.cfg", "old", 3, NULL, NULL), 0);
	assert_int_equal(store_read(s, "user.cfg", &f), 0);
	char *data = f.data;
	uint64_t old_version = f.version;
	/* read, modify, write back and keep the struct current */
	assert_int_equal(store_write(s, "user.cfg", "new!", 4, f.digest, &f), 0);
	assert_ptr_equal(f.data, data);
	assert_int_equal(f.len, 3);
	assert_true(f.version > old_version);
	char want[STORE_DIGEST_LEN + 1];
	sha1_hex_of("new!", 4, want);
	assert_string_equal(f.digest, want);
	store_file_done(&f);
	store_close(s);
}

static void
test_delete_needs_an_existing_file_and_a_current_digest(void **state)
{
	struct store *s = open_ok(*state);
	struct store_file m = { 0 };
	assert_int_equal(store_delete(s, "user.cfg", NULL), -ENOENT);
	assert_int_equal(store_delete(s, "user.cfg", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
	                 -ENOENT);
	assert_int_equal(store_write(s, "user.cfg", "a", 1, NULL, &m), 0);
	assert_int_equal(store_delete(s, "user.cfg", ""), -EINVAL);
	assert_int_equal(store_delete(s, "user.cfg", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
	                 -ESTALE);
	assert_int_equal(store_read(s, "user.cfg", NULL), 0);
	assert_int_equal(store_delete(s, "user.cfg", m.digest), 0);
	assert_int_equal(store_read(s, "user.cfg", NULL), -ENOENT);

	assert_int_equal(store_write(s, "user.cfg", "b", 1, "", NULL), 0);
	assert_int_equal(store_delete(s, "user.cfg", NULL), 0);
	assert_int_equal(store_delete(s, "user.cfg", NULL), -ENOENT);
	store_close(s);
}

static void
test_rename_moves_content_and_refuses_existing_or_missing_paths(void **state)
{
	struct store *s = open_ok(*state);
	struct store_file m = { 0 }, f = { 0 };
	const char *from = "nodes/pve/qemu-server/100.conf";
	const char *to = "nodes/pve2/qemu-server/100.conf";
	assert_int_equal(store_rename(s, from, to), -ENOENT);
	assert_int_equal(store_write(s, from, "memory: 512\n", 12, NULL, &m), 0);
	assert_int_equal(store_write(s, "nodes/pve2/qemu-server/101.conf", "x", 1, NULL, NULL), 0);
	assert_int_equal(store_rename(s, from, "nodes/pve2/qemu-server/101.conf"), -EEXIST);
	assert_int_equal(store_rename(s, from, from), -EEXIST);

	assert_int_equal(store_rename(s, from, to), 0);
	assert_int_equal(store_read(s, from, NULL), -ENOENT);
	assert_int_equal(store_read(s, to, &f), 0);
	assert_string_equal(f.data, "memory: 512\n");
	assert_string_equal(f.digest, m.digest);
	assert_true(f.version > m.version);
	store_file_done(&f);
	/* the old path is free again */
	assert_int_equal(store_write(s, from, "y", 1, "", NULL), 0);
	store_close(s);
}

static void
assert_list(struct store *s, const char *prefix, const char *const *want, size_t n)
{
	char **v = NULL;
	assert_int_equal(store_list(s, prefix, &v), 0);
	assert_non_null(v);
	size_t i;
	for (i = 0; v[i]; i++) {
		if (i >= n)
			fail_msg("prefix '%s': unexpected '%s'", prefix ? prefix : "(null)", v[i]);
		assert_string_equal(v[i], want[i]);
	}
	assert_int_equal(i, n);
	store_strv_free(v);
}

static void
test_list_is_sorted_and_matches_a_plain_string_prefix(void **state)
{
	static const char *const all[] = {
		"B.cfg",
		"datacenter.cfg",
		"nodes/pve-x/a",
		"nodes/pve/lxc/101.conf",
		"nodes/pve/qemu-server/100.conf",
		"nodes/pve2/qemu-server/200.conf",
		"nodesXpve",
		"priv/authkey.key",
		"user.cfg",
	};
	struct store *s = open_ok(*state);
	/* written out of order */
	for (size_t i = ARRAY_SIZE(all); i-- > 0;)
		assert_int_equal(store_write(s, all[(i * 5) % ARRAY_SIZE(all)], "x", 1, NULL, NULL),
		                 0);

	assert_list(s, "", all, ARRAY_SIZE(all));
	assert_list(s, NULL, all, ARRAY_SIZE(all));
	assert_list(s, "nodes/pve", all + 2, 4);
	assert_list(s, "nodes/pve/", all + 3, 2);
	assert_list(s, "nodes/pve/qemu-server/100.conf", all + 4, 1);
	assert_list(s, "nodes/pve/qemu-server/100.conf.", NULL, 0);
	assert_list(s, "nodes", all + 2, 5);
	assert_list(s, "b", NULL, 0); /* case matters */
	assert_list(s, "zzz", NULL, 0);
	assert_list(s, "nodes/%", NULL, 0);
	assert_list(s, "\xff", NULL, 0);
	assert_list(s, "nodes/../", NULL, 0);

	char **v = NULL;
	assert_int_equal(store_list(s, "", NULL), -EINVAL);
	assert_int_equal(store_list(NULL, "", &v), -EINVAL);
	assert_null(v);
	store_strv_free(NULL);
	store_close(s);
}

static void
test_changes_by_one_handle_are_visible_to_another(void **state)
{
	struct store *a = open_ok(*state);
	struct store *b = open_ok(*state);
	struct store_file m = { 0 }, f = { 0 };
	uint64_t g;

	assert_int_equal(store_write(a, "user.cfg", "from a", 6, NULL, &m), 0);
	assert_int_equal(store_generation(b, &g), 0);
	assert_int_equal(g, m.version);
	assert_int_equal(store_read(b, "user.cfg", &f), 0);
	assert_string_equal(f.data, "from a");
	store_file_done(&f);

	assert_int_equal(store_write(b, "user.cfg", "from b", 6, m.digest, NULL), 0);
	assert_int_equal(store_write(a, "user.cfg", "lost", 4, m.digest, NULL), -ESTALE);
	assert_int_equal(store_read(a, "user.cfg", &f), 0);
	assert_string_equal(f.data, "from b");
	store_file_done(&f);
	store_close(b);
	store_close(a);
}

static void
test_contents_survive_close_and_reopen(void **state)
{
	struct store *s = open_ok(*state);
	struct store_file m = { 0 }, f = { 0 };
	assert_int_equal(store_write(s, "priv/authkey.key", "secret", 6, NULL, &m), 0);
	store_close(s);
	store_close(NULL);

	s = open_ok(*state);
	assert_int_equal(store_read(s, "priv/authkey.key", &f), 0);
	assert_string_equal(f.data, "secret");
	assert_int_equal(f.version, m.version);
	assert_string_equal(f.digest, m.digest);
	store_file_done(&f);
	uint64_t g;
	assert_int_equal(store_generation(s, &g), 0);
	assert_int_equal(g, m.version);
	assert_false(store_latched(s));
	assert_false(store_latched(NULL));
	assert_int_equal(store_set_busy_timeout(s, -1), -EINVAL);
	assert_int_equal(store_set_busy_timeout(s, 1000), 0);
	store_close(s);
}

#define T(name) cmocka_unit_test_setup_teardown(name, scratch_setup, scratch_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_validation_accepts_proxmox_paths_and_refuses_escapes),
		T(test_every_operation_refuses_invalid_paths),
		T(test_open_makes_database_wal_shm_private_and_lock_dir_0700_even_with_umask_0),
		T(test_open_tightens_a_world_readable_database),
		T(test_open_refuses_a_file_that_is_not_a_database_and_leaves_it_alone),
		T(test_open_refuses_a_schema_version_it_does_not_know),
		T(test_open_refuses_missing_arguments_with_a_message),
		T(test_read_of_absent_file_is_enoent_and_null_ret_tests_existence),
		T(test_write_then_read_returns_content_version_mtime_and_digest),
		T(test_digest_is_lowercase_sha1_hex_of_the_content),
		T(test_versions_strictly_grow_and_generation_counts_every_change),
		T(test_write_without_digest_overwrites_unconditionally),
		T(test_write_with_empty_digest_creates_only_absent_files),
		T(test_write_with_stale_digest_is_refused_and_changes_nothing),
		T(test_write_with_current_digest_succeeds_in_either_case),
		T(test_write_with_a_digest_for_an_absent_file_is_enoent),
		T(test_write_with_malformed_digest_is_einval),
		T(test_write_refuses_oversize_and_missing_data),
		T(test_files_up_to_store_data_max_round_trip_byte_exact),
		T(test_empty_and_binary_files_round_trip),
		T(test_write_meta_leaves_the_callers_data_untouched),
		T(test_delete_needs_an_existing_file_and_a_current_digest),
		T(test_rename_moves_content_and_refuses_existing_or_missing_paths),
		T(test_list_is_sorted_and_matches_a_plain_string_prefix),
		T(test_changes_by_one_handle_are_visible_to_another),
		T(test_contents_survive_close_and_reopen),
	};
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
