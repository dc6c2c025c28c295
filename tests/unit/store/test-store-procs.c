/* Unit tests: the store shared by several processes, kill -9 durability, the error latch. */
#include "store-test.h"

#include <sqlite3.h>
#include <sys/resource.h>

/* ---- compare-and-set from many processes ---- */

#define CAS_PROCS  6
#define CAS_ROUNDS 40
#define CAS_PATH   "nodes/pve/qemu-server/100.conf"

/* Reads on 'r' and reports the digest; on 'w' writes against that digest and reports the
 * result. Exits when the command pipe closes. */
_noreturn_ static void
cas_child(const struct scratch *sc, int idx, int cmd_fd, int rep_fd)
{
	struct error err = { 0 };
	struct store *s = NULL;
	if (store_open(sc->db, sc->locks, &s, &err) < 0)
		_exit(2);
	char digest[STORE_DIGEST_LEN + 1] = "";
	for (int round = 0;;) {
		char c;
		if (read_exact(cmd_fd, &c, 1) < 0)
			_exit(0);
		if (c == 'r') {
			struct store_file f = { 0 };
			if (store_read(s, CAS_PATH, &f) < 0)
				_exit(3);
			memcpy(digest, f.digest, sizeof(digest));
			store_file_done(&f);
			if (write_all(rep_fd, digest, sizeof(digest)) < 0)
				_exit(4);
			continue;
		}
		char data[64];
		int len = snprintf(data, sizeof(data), "child=%d round=%d\n", idx, round++);
		int r = store_write(s, CAS_PATH, data, (size_t)len, digest, NULL);
		if (write_all(rep_fd, &r, sizeof(r)) < 0)
			_exit(5);
	}
}

static void
test_concurrent_compare_and_set_has_exactly_one_winner_per_round(void **state)
{
	struct scratch *sc = *state;
	/* seed, and hold no handle across fork (see store.h) */
	struct store *s = open_ok(sc);
	assert_int_equal(store_write(s, CAS_PATH, "seed\n", 5, NULL, NULL), 0);
	store_close(s);

	pid_t pids[CAS_PROCS];
	int cmd[CAS_PROCS], rep[CAS_PROCS];
	for (int i = 0; i < CAS_PROCS; i++) {
		int c[2], r[2];
		assert_int_equal(pipe2(c, O_CLOEXEC), 0);
		assert_int_equal(pipe2(r, O_CLOEXEC), 0);
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			close(c[1]);
			close(r[0]);
			/* earlier children's command pipes must close when the parent's do */
			for (int j = 0; j < i; j++)
				close(cmd[j]);
			cas_child(sc, i, c[0], r[1]);
		}
		close(c[0]);
		close(r[1]);
		cmd[i] = c[1];
		rep[i] = r[0];
	}

	s = open_ok(sc);
	for (int round = 0; round < CAS_ROUNDS; round++) {
		struct store_file before = { 0 };
		assert_int_equal(store_read(s, CAS_PATH, &before), 0);
		for (int i = 0; i < CAS_PROCS; i++)
			assert_int_equal(write_all(cmd[i], "r", 1), 0);
		for (int i = 0; i < CAS_PROCS; i++) {
			char d[STORE_DIGEST_LEN + 1];
			assert_int_equal(read_deadline(rep[i], d, sizeof(d), 10000), 0);
			assert_string_equal(d, before.digest);
		}
		store_file_done(&before);

		/* all of them now race to replace the same version */
		for (int i = 0; i < CAS_PROCS; i++)
			assert_int_equal(write_all(cmd[i], "w", 1), 0);
		int winner = -1, stale = 0;
		for (int i = 0; i < CAS_PROCS; i++) {
			int r;
			assert_int_equal(read_deadline(rep[i], &r, sizeof(r), 20000), 0);
			if (r == 0) {
				if (winner >= 0)
					fail_msg("round %d: children %d and %d both won", round,
					         winner, i);
				winner = i;
			} else if (r == -ESTALE) {
				stale++;
			} else {
				fail_msg("round %d: child %d got %d", round, i, r);
			}
		}
		assert_true(winner >= 0);
		assert_int_equal(stale, CAS_PROCS - 1);

		struct store_file f = { 0 };
		char want[64];
		snprintf(want, sizeof(want), "child=%d round=%d\n", winner, round);
		assert_int_equal(store_read(s, CAS_PATH, &f), 0);
		assert_string_equal(f.data, want);
		store_file_done(&f);
	}
	uint64_t g;
	assert_int_equal(store_generation(s, &g), 0);
	assert_int_equal(g, 1 + CAS_ROUNDS);
	store_close(s);

	for (int i = 0; i < CAS_PROCS; i++) {
		close(cmd[i]);
		close(rep[i]);
	}
	for (int i = 0; i < CAS_PROCS; i++)
		assert_child_exited_ok(pids[i], 10000);
}

/* ---- many processes creating one new store ---- */

#define CREATE_PROCS  8
#define CREATE_ROUNDS 4

static void
test_many_processes_can_create_and_fill_a_new_store_at_once(void **state)
{
	struct scratch *sc = *state;
	for (int round = 0; round < CREATE_ROUNDS; round++) {
		struct scratch each = *sc;
		snprintf(each.db, sizeof(each.db), "%s/create-%d.db", sc->dir, round);
		int go[2];
		assert_int_equal(pipe2(go, O_CLOEXEC), 0);
		pid_t pids[CREATE_PROCS];
		for (int i = 0; i < CREATE_PROCS; i++) {
			pids[i] = fork();
			assert_true(pids[i] >= 0);
			if (pids[i] == 0) {
				char c;
				close(go[1]);
				if (read(go[0], &c, 1) != 0)
					_exit(2);
				struct error err = { 0 };
				struct store *s = NULL;
				if (store_open(each.db, each.locks, &s, &err) < 0) {
					fprintf(stderr, "child %d: %s\n", i, err.msg);
					_exit(3);
				}
				char path[64];
				snprintf(path, sizeof(path), "nodes/n%d.cfg", i);
				if (store_write(s, path, path, strlen(path), "", NULL) < 0)
					_exit(4);
				store_close(s);
				_exit(0);
			}
		}
		/* closing the pipe releases all of them at once */
		close(go[0]);
		close(go[1]);
		for (int i = 0; i < CREATE_PROCS; i++)
			assert_child_exited_ok(pids[i], 30000);

		struct store *s = open_ok(&each);
		char **v = NULL;
		assert_int_equal(store_list(s, "nodes/", &v), 0);
		size_t n = 0;
		while (v[n])
			n++;
		assert_int_equal(n, CREATE_PROCS);
		store_strv_free(v);
		uint64_t g;
		assert_int_equal(store_generation(s, &g), 0);
		assert_int_equal(g, CREATE_PROCS);
		store_close(s);
	}
}

/* ---- kill -9 at random moments ---- */

#define KILL_PATHS      4
#define KILL_ITERATIONS 150
#define KILL_BUDGET_MS  6000
#define KILL_MAX_LEN    (256 * 1024)

static void
fill_pattern(unsigned char *buf, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (unsigned char)(x >> 24);
	}
}

/* Write number n: a header naming n, then bytes and a length derived from n, so a file
 * mixing two writes, or cut short, cannot pass for either. */
static size_t
make_content(uint64_t n, unsigned char *buf)
{
	size_t len = 64 + (size_t)(n * 7919) % (KILL_MAX_LEN - 64);
	int h = snprintf((char *)buf, 32, "n=%020llu\n", (unsigned long long)n);
	fill_pattern(buf + h, len - (size_t)h, n);
	return len;
}

static void
kill_path(uint64_t n, char *buf, size_t size)
{
	snprintf(buf, size, "nodes/pve/f%u", (unsigned)(n % KILL_PATHS));
}

_noreturn_ static void
writer_child(const char *db, const char *locks, uint64_t first, int ack_fd)
{
	struct error err = { 0 };
	struct store *s = NULL;
	if (store_open(db, locks, &s, &err) < 0)
		_exit(2);
	unsigned char *buf = xmalloc(KILL_MAX_LEN);
	for (uint64_t n = first;; n++) {
		char path[32];
		kill_path(n, path, sizeof(path));
		size_t len = make_content(n, buf);
		if (store_write(s, path, buf, len, NULL, NULL) < 0)
			_exit(3);
		/* only now is write n acknowledged */
		if (write_all(ack_fd, &n, sizeof(n)) < 0)
			_exit(4);
	}
}

/* Check every file holds exactly one complete write: the last acknowledged one for its
 * path, or the single write in flight when the writer died. */
static void
verify_after_kill(const struct scratch *sc, uint64_t expect[KILL_PATHS], uint64_t in_flight)
{
	struct store *s = open_ok(sc);
	unsigned char *buf = xmalloc(KILL_MAX_LEN);
	for (unsigned k = 0; k < KILL_PATHS; k++) {
		char path[32];
		kill_path(k, path, sizeof(path));
		struct store_file f = { 0 };
		int r = store_read(s, path, &f);
		bool may_be_new = in_flight % KILL_PATHS == k;
		if (r == -ENOENT) {
			assert_int_equal(expect[k], 0);
			continue;
		}
		assert_int_equal(r, 0);
		unsigned long long n = 0;
		if (f.len < 23 || sscanf(f.data, "n=%llu\n", &n) != 1)
			fail_msg("%s: torn or foreign content of %zu bytes", path, f.len);
		if (n != expect[k] && !(may_be_new && n == in_flight))
			fail_msg("%s holds write %llu; acknowledged %llu, in flight %llu", path, n,
			         (unsigned long long)expect[k], (unsigned long long)in_flight);
		size_t len = make_content(n, buf);
		assert_int_equal(f.len, len);
		assert_memory_equal(f.data, buf, len);
		char want[STORE_DIGEST_LEN + 1];
		sha1_hex_of(buf, len, want);
		assert_string_equal(f.digest, want);
		expect[k] = n;
		store_file_done(&f);
	}
	free(buf);
	store_close(s);
}

static void
test_acknowledged_writes_survive_kill_9_without_torn_data(void **state)
{
	struct scratch *sc = *state;
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	print_message("kill -9 test seed %u\n", seed);
	srand(seed);

	struct scratch each = *sc;
	uint64_t expect[KILL_PATHS] = { 0 }, next = 1;
	int64_t start = mono_ms();
	int iterations = 0, with_acks = 0, total_acks = 0;
	for (int iter = 0; iter < KILL_ITERATIONS; iter++) {
		if (iter >= 12 && mono_ms() - start > KILL_BUDGET_MS)
			break;
		/* now and then start over, so kills also land while a store is created */
		if (iter % 10 == 0) {
			snprintf(each.db, sizeof(each.db), "%s/kill-%d.db", sc->dir, iter / 10);
			memset(expect, 0, sizeof(expect));
		}
		int ack[2];
		assert_int_equal(pipe2(ack, O_CLOEXEC), 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(ack[0]);
			writer_child(each.db, each.locks, next, ack[1]);
		}
		close(ack[1]);

		uint64_t last = next - 1;
		int acks = 0;
		/* mostly kill in the middle of the writes; every third time, maybe during open */
		if (iter % 3 != 0) {
			assert_int_equal(read_deadline(ack[0], &last, sizeof(last), 10000), 0);
			assert_int_equal(last, next);
			expect[last % KILL_PATHS] = last;
			acks++;
		}
		struct timespec ts = { 0, (rand() % 15000) * 1000L };
		nanosleep(&ts, NULL);
		assert_int_equal(kill(pid, SIGKILL), 0);
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFSIGNALED(status))
			fail_msg("writer ended by itself with status 0x%x", status);

		/* acknowledgements still in the pipe count as well */
		uint64_t n;
		while (read_deadline(ack[0], &n, sizeof(n), 5000) == 0) {
			assert_int_equal(n, last + 1);
			last = n;
			expect[n % KILL_PATHS] = n;
			acks++;
		}
		close(ack[0]);

		verify_after_kill(&each, expect, last + 1);
		next = last + 2;
		iterations++;
		total_acks += acks;
		if (acks > 0)
			with_acks++;
	}
	print_message("%d kills, %d while writing, %d acknowledged writes checked\n", iterations,
	              with_acks, total_acks);
	assert_true(with_acks >= iterations / 2);
}

/* ---- the error latch ---- */

static off_t
file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) < 0 ? 0 : st.st_size;
}

static void
test_failed_commit_latches_the_handle_until_reopened(void **state)
{
	struct scratch *sc = *state;
	struct store *s = open_ok(sc);
	struct store_file f = { 0 };
	assert_int_equal(store_write(s, "user.cfg", "user:root@pam:1:0:::\n", 21, NULL, NULL), 0);
	assert_int_equal(store_write(s, "storage.cfg", "dir: local\n", 11, NULL, NULL), 0);
	uint64_t gen_before;
	assert_int_equal(store_generation(s, &gen_before), 0);

	/* a real failed commit: the WAL may not grow past the files' current size */
	char wal[256];
	snprintf(wal, sizeof(wal), "%s-wal", sc->db);
	off_t limit = MAX(file_size(sc->db), file_size(wal)) + 64 * 1024;
	size_t big_len = (size_t)limit + (1 << 20);
	assert_true(big_len <= STORE_DATA_MAX);
	char *big = xmalloc(big_len);
	fill_pattern((unsigned char *)big, big_len, 42);

	struct rlimit old, lim;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)limit;
	void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	int r = store_write(s, "priv/big.key", big, big_len, NULL, NULL);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, old_handler);

	assert_true(r < 0);
	assert_int_not_equal(r, -EROFS);
	assert_true(store_latched(s));

	/* the file system would take these now; the handle refuses anyway */
	assert_int_equal(store_write(s, "user.cfg", "x", 1, NULL, NULL), -EROFS);
	assert_int_equal(store_write(s, "new.cfg", "x", 1, "", NULL), -EROFS);
	assert_int_equal(store_delete(s, "user.cfg", NULL), -EROFS);
	assert_int_equal(store_rename(s, "user.cfg", "user2.cfg"), -EROFS);

	/* reads still work and see no trace of the failed write */
	assert_int_equal(store_read(s, "user.cfg", &f), 0);
	assert_string_equal(f.data, "user:root@pam:1:0:::\n");
	store_file_done(&f);
	assert_int_equal(store_read(s, "priv/big.key", NULL), -ENOENT);
	uint64_t g;
	assert_int_equal(store_generation(s, &g), 0);
	assert_int_equal(g, gen_before);
	char **v = NULL;
	assert_int_equal(store_list(s, "", &v), 0);
	assert_string_equal(v[0], "storage.cfg");
	assert_string_equal(v[1], "user.cfg");
	assert_null(v[2]);
	store_strv_free(v);

	/* the latch is the handle's: another handle writes meanwhile */
	struct store *other = open_ok(sc);
	assert_false(store_latched(other));
	assert_int_equal(store_write(other, "datacenter.cfg", "keyboard: de\n", 13, NULL, NULL), 0);
	store_close(other);
	assert_int_equal(store_write(s, "datacenter.cfg", "x", 1, NULL, NULL), -EROFS);
	store_close(s);

	s = open_ok(sc);
	assert_false(store_latched(s));
	assert_int_equal(store_read(s, "priv/big.key", NULL), -ENOENT);
	assert_int_equal(store_read(s, "user.cfg", &f), 0);
	assert_string_equal(f.data, "user:root@pam:1:0:::\n");
	store_file_done(&f);
	assert_int_equal(store_generation(s, &g), 0);
	assert_int_equal(g, gen_before + 1);
	assert_int_equal(store_write(s, "priv/big.key", big, big_len, NULL, NULL), 0);
	assert_int_equal(store_read(s, "priv/big.key", &f), 0);
	assert_int_equal(f.len, big_len);
	assert_memory_equal(f.data, big, big_len);
	store_file_done(&f);
	store_close(s);
	free(big);
}

/* ---- a writer in another process ---- */

/* Holds a write transaction from a plain SQLite connection; releases it after hold_ms, or
 * when the command pipe closes if hold_ms < 0. */
static pid_t
spawn_tx_holder(const struct scratch *sc, int hold_ms, int *ret_cmd, int *ret_rep)
{
	int c[2], r[2];
	assert_int_equal(pipe2(c, O_CLOEXEC), 0);
	assert_int_equal(pipe2(r, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(c[1]);
		close(r[0]);
		sqlite3 *db = NULL;
		if (sqlite3_open(sc->db, &db) != SQLITE_OK)
			_exit(2);
		sqlite3_busy_timeout(db, 5000);
		if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
			_exit(3);
		if (write_all(r[1], "L", 1) < 0)
			_exit(4);
		if (hold_ms >= 0) {
			struct timespec ts = { hold_ms / 1000, (hold_ms % 1000) * 1000000L };
			nanosleep(&ts, NULL);
		} else {
			char ch;
			(void)read(c[0], &ch, 1);
		}
		if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
			_exit(5);
		_exit(0);
	}
	close(c[0]);
	close(r[1]);
	char ch;
	assert_int_equal(read_deadline(r[0], &ch, 1, 10000), 0);
	*ret_cmd = c[1];
	*ret_rep = r[0];
	return pid;
}

static void
test_write_gives_up_with_ebusy_after_the_busy_timeout_while_reads_go_on(void **state)
{
	struct scratch *sc = *state;
	struct store *s = open_ok(sc);
	assert_int_equal(store_write(s, "user.cfg", "a", 1, NULL, NULL), 0);
	store_close(s);

	int cmd, rep;
	pid_t pid = spawn_tx_holder(sc, -1, &cmd, &rep);
	s = open_ok(sc);
	assert_int_equal(store_set_busy_timeout(s, 300), 0);
	int64_t t0 = mono_ms();
	assert_int_equal(store_write(s, "user.cfg", "b", 1, NULL, NULL), -EBUSY);
	int64_t waited = mono_ms() - t0;
	if (waited < 250 || waited > 3000)
		fail_msg("gave up after %lld ms, busy timeout is 300", (long long)waited);
	assert_int_equal(store_delete(s, "user.cfg", NULL), -EBUSY);
	/* waiting is not failing: the handle stays writable */
	assert_false(store_latched(s));

	/* WAL readers do not wait for the writer */
	t0 = mono_ms();
	struct store_file f = { 0 };
	uint64_t g;
	assert_int_equal(store_read(s, "user.cfg", &f), 0);
	assert_string_equal(f.data, "a");
	store_file_done(&f);
	assert_int_equal(store_generation(s, &g), 0);
	assert_true(mono_ms() - t0 < 200);

	close(cmd);
	close(rep);
	assert_child_exited_ok(pid, 10000);
	assert_int_equal(store_write(s, "user.cfg", "b", 1, NULL, NULL), 0);
	store_close(s);
}

static void
test_write_waits_for_another_processs_transaction_instead_of_failing(void **state)
{
	struct scratch *sc = *state;
	store_close(open_ok(sc));

	int cmd, rep;
	pid_t pid = spawn_tx_holder(sc, 200, &cmd, &rep);
	struct store *s = open_ok(sc);
	int64_t t0 = mono_ms();
	assert_int_equal(store_write(s, "user.cfg", "a", 1, "", NULL), 0);
	assert_true(mono_ms() - t0 >= 100);
	store_close(s);
	close(cmd);
	close(rep);
	assert_child_exited_ok(pid, 10000);
}

#define T(name) cmocka_unit_test_setup_teardown(name, scratch_setup, scratch_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_concurrent_compare_and_set_has_exactly_one_winner_per_round),
		T(test_many_processes_can_create_and_fill_a_new_store_at_once),
		T(test_acknowledged_writes_survive_kill_9_without_torn_data),
		T(test_failed_commit_latches_the_handle_until_reopened),
		T(test_write_gives_up_with_ebusy_after_the_busy_timeout_while_reads_go_on),
		T(test_write_waits_for_another_processs_transaction_instead_of_failing),
	};
	return cmocka_run_group_tests_name("store-procs", tests, NULL, NULL);
}
