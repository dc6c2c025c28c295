/* Unit tests: per-path locks across processes (timeouts, crashed holders, lock files). */
#include "store-test.h"

#define VM_PATH "nodes/pve/qemu-server/100.conf"

struct holder {
	pid_t pid;
	int cmd; /* write 'u' to unlock; close to end the holder */
	int rep; /* 'L' once locked, 'U' once unlocked */
};

/* A process with its own store handle that takes the lock on path and keeps it until told. */
static struct holder
spawn_holder(const struct scratch *sc, const char *path)
{
	int c[2], r[2];
	assert_int_equal(pipe2(c, O_CLOEXEC), 0);
	assert_int_equal(pipe2(r, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(c[1]);
		close(r[0]);
		struct error err = { 0 };
		struct store *s = NULL;
		struct store_lock *l = NULL;
		if (store_open(sc->db, sc->locks, &s, &err) < 0)
			_exit(2);
		if (store_lock(s, path, 10000, &l) < 0)
			_exit(3);
		if (write_all(r[1], "L", 1) < 0)
			_exit(4);
		char ch;
		while (read(c[0], &ch, 1) == 1) {
			store_unlock(l);
			l = NULL;
			if (write_all(r[1], "U", 1) < 0)
				_exit(5);
		}
		_exit(0);
	}
	close(c[0]);
	close(r[1]);
	char ch;
	assert_int_equal(read_deadline(r[0], &ch, 1, 10000), 0);
	assert_int_equal(ch, 'L');
	return (struct holder){ pid, c[1], r[0] };
}

static void
holder_end(struct holder *h)
{
	close(h->cmd);
	close(h->rep);
	assert_child_exited_ok(h->pid, 10000);
}

static void
test_lock_held_by_another_process_times_out_after_the_timeout(void **state)
{
	struct scratch *sc = *state;
	struct holder h = spawn_holder(sc, VM_PATH);
	struct store *s = open_ok(sc);
	struct store_lock *l = NULL;

	int64_t t0 = mono_ms();
	assert_int_equal(store_lock(s, VM_PATH, 300, &l), -ETIMEDOUT);
	int64_t waited = mono_ms() - t0;
	assert_null(l);
	if (waited < 300 || waited > 1300)
		fail_msg("gave up after %lld ms, timeout is 300", (long long)waited);

	/* other paths are independent */
	assert_int_equal(store_lock(s, "nodes/pve/qemu-server/101.conf", 0, &l), 0);
	store_unlock(l);
	store_close(s);
	holder_end(&h);
}

static void
test_lock_timeout_zero_tries_once(void **state)
{
	struct scratch *sc = *state;
	struct holder h = spawn_holder(sc, VM_PATH);
	struct store *s = open_ok(sc);
	struct store_lock *l = NULL;

	int64_t t0 = mono_ms();
	assert_int_equal(store_lock(s, VM_PATH, 0, &l), -ETIMEDOUT);
	assert_true(mono_ms() - t0 < 100);

	assert_int_equal(write_all(h.cmd, "u", 1), 0);
	char ch;
	assert_int_equal(read_deadline(h.rep, &ch, 1, 10000), 0);
	assert_int_equal(ch, 'U');
	assert_int_equal(store_lock(s, VM_PATH, 0, &l), 0);
	store_unlock(l);
	store_close(s);
	holder_end(&h);
}

static void
test_lock_of_a_killed_holder_is_released(void **state)
{
	struct scratch *sc = *state;
	struct holder h = spawn_holder(sc, VM_PATH);
	struct store *s = open_ok(sc);
	struct store_lock *l = NULL;
	assert_int_equal(store_lock(s, VM_PATH, 0, &l), -ETIMEDOUT);

	assert_int_equal(kill(h.pid, SIGKILL), 0);
	int status;
	assert_int_equal(waitpid(h.pid, &status, 0), h.pid);
	assert_true(WIFSIGNALED(status));
	close(h.cmd);
	close(h.rep);

	assert_int_equal(store_lock(s, VM_PATH, 0, &l), 0);
	store_unlock(l);
	store_close(s);
}

static void
test_lock_waiter_gets_the_lock_once_the_holder_unlocks(void **state)
{
	struct scratch *sc = *state;
	struct holder h = spawn_holder(sc, VM_PATH);
	struct store *s = open_ok(sc);
	struct store_lock *l = NULL;

	/* the holder unlocks while we wait */
	pid_t helper = fork();
	assert_true(helper >= 0);
	if (helper == 0) {
		struct timespec ts = { 0, 200 * 1000000L };
		nanosleep(&ts, NULL);
		_exit(write_all(h.cmd, "u", 1) < 0);
	}
	int64_t t0 = mono_ms();
	assert_int_equal(store_lock(s, VM_PATH, 10000, &l), 0);
	int64_t waited = mono_ms() - t0;
	if (waited < 100 || waited > 5000)
		fail_msg("got the lock after %lld ms, released after 200", (long long)waited);
	char ch;
	assert_int_equal(read_deadline(h.rep, &ch, 1, 10000), 0);
	assert_int_equal(ch, 'U');
	assert_child_exited_ok(helper, 10000);

	store_unlock(l);
	store_close(s);
	holder_end(&h);
}

static void
test_lock_is_not_reentrant_and_unlock_releases_it(void **state)
{
	struct scratch *sc = *state;
	struct store *s = open_ok(sc);
	struct store_lock *a = NULL, *b = NULL;
	assert_int_equal(store_lock(s, VM_PATH, 0, &a), 0);
	assert_int_equal(store_lock(s, VM_PATH, 50, &b), -ETIMEDOUT);
	assert_null(b);
	store_unlock(a);
	assert_int_equal(store_lock(s, VM_PATH, 0, &b), 0);
	store_unlock(b);
	store_unlock(NULL);
	store_close(s);
}

static void
test_lock_outlives_the_handle_that_took_it(void **state)
{
	struct scratch *sc = *state;
	struct store *s = open_ok(sc);
	struct store *t = open_ok(sc);
	struct store_lock *a = NULL, *b = NULL;
	assert_int_equal(store_lock(s, "user.cfg", 0, &a), 0);
	store_close(s);
	assert_int_equal(store_lock(t, "user.cfg", 0, &b), -ETIMEDOUT);
	store_unlock(a);
	assert_int_equal(store_lock(t, "user.cfg", 0, &b), 0);
	store_unlock(b);
	store_close(t);
}

static void
test_lock_files_are_private_and_named_after_the_path(void **state)
{
	struct scratch *sc = *state;
	mode_t old = umask(0);
	struct store *s = open_ok(sc);
	struct store_lock *l = NULL;
	assert_int_equal(store_lock(s, VM_PATH, 0, &l), 0);
	umask(old);

	struct stat st;
	char name[512];
	snprintf(name, sizeof(name), "%s/nodes:pve:qemu-server:100.conf", sc->locks);
	assert_int_equal(stat(name, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(stat(sc->locks, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	store_unlock(l);

	/* a laxer leftover lock file is tightened when next used */
	assert_int_equal(chmod(name, 0644), 0);
	assert_int_equal(store_lock(s, VM_PATH, 0, &l), 0);
	assert_int_equal(stat(name, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	store_unlock(l);

	/* the longest path still makes a single, valid file name */
	char longest[STORE_PATH_MAX + 1];
	memset(longest, 'a', STORE_PATH_MAX);
	longest[STORE_PATH_MAX] = '\0';
	longest[10] = '/';
	assert_int_equal(store_lock(s, longest, 0, &l), 0);
	store_unlock(l);
	store_close(s);
}

static void
test_lock_refuses_invalid_paths_negative_timeouts_and_symlinks(void **state)
{
	struct scratch *sc = *state;
	struct store *s = open_ok(sc);
	struct store_lock *l = NULL;
	assert_int_equal(store_lock(s, "../x", 0, &l), -EINVAL);
	assert_int_equal(store_lock(s, "a:b", 0, &l), -EINVAL);
	assert_int_equal(store_lock(s, "user.cfg", -1, &l), -EINVAL);
	assert_int_equal(store_lock(NULL, "user.cfg", 0, &l), -EINVAL);
	assert_int_equal(store_lock(s, "user.cfg", 0, NULL), -EINVAL);

	/* a lock file planted as a symlink is not followed */
	char name[512];
	snprintf(name, sizeof(name), "%s/priv:x", sc->locks);
	assert_int_equal(symlink("/etc/passwd", name), 0);
	assert_int_equal(store_lock(s, "priv/x", 0, &l), -ELOOP);
	assert_null(l);
	store_close(s);
}

#define T(name) cmocka_unit_test_setup_teardown(name, scratch_setup, scratch_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_lock_held_by_another_process_times_out_after_the_timeout),
		T(test_lock_timeout_zero_tries_once),
		T(test_lock_of_a_killed_holder_is_released),
		T(test_lock_waiter_gets_the_lock_once_the_holder_unlocks),
		T(test_lock_is_not_reentrant_and_unlock_releases_it),
		T(test_lock_outlives_the_handle_that_took_it),
		T(test_lock_files_are_private_and_named_after_the_path),
		T(test_lock_refuses_invalid_paths_negative_timeouts_and_symlinks),
	};
	return cmocka_run_group_tests_name("store-lock", tests, NULL, NULL);
}
