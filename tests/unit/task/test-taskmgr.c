/* End-to-end tests of the task manager with real workers: this executable is also the worker
 * (argv[1] == "--worker"), so every test spawns, signals and settles real processes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "basic/fileio.h"
#include "basic/strbuf.h"
#include "shared/frame.h"
#include "task/task.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#define NODE        "testnode"
#define DEADLINE_MS 10000

/* ---- the worker side: test task types ---- */

static int
t_ok(struct task_worker *w, json_t *params, struct error *err)
{
	task_log(w, "doing the work");
	return 0;
}

static int
t_warn(struct task_worker *w, json_t *params, struct error *err)
{
	task_warn(w, "first warning");
	task_log(w, "between warnings");
	task_warn(w, "second warning\n");
	return 0;
}

static int
t_fail(struct task_worker *w, json_t *params, struct error *err)
{
	task_log(w, "about to fail");
	return error_set(err, EIO, "disk on fire\nsecond line\r\n");
}

/* An error message that is blank, and one with bytes that are not UTF-8. */
static int
t_blank(struct task_worker *w, json_t *params, struct error *err)
{
	return error_set(err, EIO, " \n");
}

static int
t_latin1(struct task_worker *w, json_t *params, struct error *err)
{
	return error_set(err, EIO, "caf\xe9 closed");
}

static int
t_lines(struct task_worker *w, json_t *params, struct error *err)
{
	for (int i = 1; i <= 10; i++)
		task_log(w, "line %d", i);
	return 0;
}

static int
t_echo(struct task_worker *w, json_t *params, struct error *err)
{
	char *dump = params ? json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	task_log(w, "params: %s", dump ? dump : "(none)");
	free(dump);
	task_log(w, "upid: %s", task_upid(w));
	task_log(w, "type %s id %s user %s", task_upid_parsed(w)->type, task_upid_parsed(w)->id,
	         task_upid_parsed(w)->user);
	task_log(w, "sid matches pid: %s", getsid(0) == getpid() ? "yes" : "no");
	printf("stdout line\n");
	fprintf(stderr, "stderr line\n");
	return 0;
}

/* Runs until stopped; a stuck test ends it after 60 s. */
static int
t_sleep(struct task_worker *w, json_t *params, struct error *err)
{
	task_log(w, "waiting for a stop");
	for (int i = 0; i < 6000 && !task_interrupted(w); i++)
		usleep(10000);
	return error_set(err, EINTR, "received interrupt");
}

static int
t_stubborn(struct task_worker *w, json_t *params, struct error *err)
{
	signal(SIGTERM, SIG_IGN);
	task_log(w, "ignoring SIGTERM");
	for (int i = 0; i < 6000; i++)
		usleep(10000);
	return 0;
}

static int
t_crash(struct task_worker *w, json_t *params, struct error *err)
{
	task_log(w, "crashing");
	abort();
}

static int
t_exit3(struct task_worker *w, json_t *params, struct error *err)
{
	task_log(w, "leaving without a status");
	_exit(3);
}

static int
t_partial(struct task_worker *w, json_t *params, struct error *err)
{
	printf("half a line");
	fflush(stdout);
	raise(SIGKILL);
	return 0;
}

/* Ends at once, but its worker lingers after its final line (see main). */
static bool linger;

static int
t_linger(struct task_worker *w, json_t *params, struct error *err)
{
	task_log(w, "done, lingering");
	linger = true;
	return 0;
}

static const struct task_type test_types[] = {
	{ "ok", t_ok },
	{ "warn", t_warn },
	{ "fail", t_fail },
	{ "lines", t_lines },
	{ "echo", t_echo },
	{ "sleep", t_sleep },
	{ "stubborn", t_stubborn },
	{ "crash", t_crash },
	{ "exit3", t_exit3 },
	{ "partial", t_partial },
	{ "blank", t_blank },
	{ "latin1", t_latin1 },
	{ "linger", t_linger },
};

/* ---- the daemon side: fixture and helpers ---- */

static char self_exe[PATH_MAX];
static const char *worker_argv[] = { self_exe, "--worker", NULL };

struct fx {
	uv_loop_t loop;
	char dir[64];
	struct taskmgr *m;
	int done_calls;
	char last_done[256];
};

static void
on_done(const struct task_info *t, void *userdata)
{
	struct fx *f = userdata;
	f->done_calls++;
	snprintf(f->last_done, sizeof(f->last_done), "%s", t->upid);
}

static void
open_manager(struct fx *f)
{
	struct error err = { 0 };
	int r = taskmgr_open(&f->loop, f->dir, NODE, worker_argv, &f->m, &err);
	if (r < 0)
		fail_msg("taskmgr_open: %s", err.msg);
	taskmgr_set_done_callback(f->m, on_done, f);
}

static void
close_manager(struct fx *f)
{
	taskmgr_close(f->m);
	f->m = NULL;
	uv_run(&f->loop, UV_RUN_NOWAIT); /* let the closed handles finish */
}

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/berth-test-taskmgr.XXXXXX");
	if (!mkdtemp(f->dir) || uv_loop_init(&f->loop) < 0)
		return -1;
	strcat(f->dir, "/tasks"); /* taskmgr_open creates it */
	open_manager(f);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	if (f->m)
		close_manager(f);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	int r = uv_loop_close(&f->loop);
	char cmd[128];
	f->dir[strlen(f->dir) - strlen("/tasks")] = '\0';
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		r = -1;
	free(f);
	return r == 0 ? 0 : -1;
}

static void
on_tick(uv_timer_t *t)
{
}

/* Run the loop until cond holds or the deadline passes. */
static bool
run_until(struct fx *f, bool (*cond)(struct fx *, const void *), const void *arg, int ms)
{
	uv_timer_t tick;
	uv_timer_init(&f->loop, &tick);
	uv_timer_start(&tick, on_tick, 10, 10);
	uint64_t deadline = uv_hrtime() + (uint64_t)ms * 1000000;
	bool ok;
	while (!(ok = cond(f, arg)) && uv_hrtime() < deadline)
		uv_run(&f->loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&tick, NULL);
	uv_run(&f->loop, UV_RUN_NOWAIT);
	return ok;
}

static bool
is_settled(struct fx *f, const void *upid)
{
	const struct task_info *t;
	return taskmgr_get(f->m, upid, &t) == 0 && t->status != NULL;
}

static char *
read_log(struct fx *f, const char *upid)
{
	_cleanup_free_ char *path = taskmgr_log_path(f->m, upid);
	char *data = NULL;
	size_t len;
	if (!path || read_file(path, 1 << 20, &data, &len) < 0)
		return xstrdup("");
	data[len] = '\0'; /* read_file leaves an empty file's buffer unterminated */
	return data;
}

struct needle {
	const char *upid, *text;
};

static bool
log_has(struct fx *f, const void *arg)
{
	const struct needle *n = arg;
	_cleanup_free_ char *log = read_log(f, n->upid);
	return strstr(log, n->text) != NULL;
}

static void
wait_log(struct fx *f, const char *upid, const char *text)
{
	struct needle n = { upid, text };
	if (!run_until(f, log_has, &n, DEADLINE_MS))
		fail_msg("log of %s never showed '%s'", upid, text);
}

static char *
start(struct fx *f, const char *type, const char *id, json_t *params)
{
	char *upid = NULL;
	struct error err = { 0 };
	int r = taskmgr_start(f->m, type, id, "root@pam", params, &upid, &err);
	if (r < 0)
		fail_msg("taskmgr_start %s: %s", type, err.msg);
	return upid;
}

/* Wait for the task to settle; its status. */
static const struct task_info *
settled(struct fx *f, const char *upid)
{
	if (!run_until(f, is_settled, upid, DEADLINE_MS))
		fail_msg("task %s did not settle in time", upid);
	const struct task_info *t;
	assert_int_equal(taskmgr_get(f->m, upid, &t), 0);
	return t;
}

static char *
read_dir_file(struct fx *f, const char *name)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", f->dir, name);
	char *data = NULL;
	size_t len;
	if (read_file(path, 64 << 20, &data, &len) < 0)
		return xstrdup("");
	data[len] = '\0'; /* read_file leaves an empty file's buffer unterminated */
	return data;
}

static bool
active_is(struct fx *f, const void *want)
{
	_cleanup_free_ char *active = read_dir_file(f, "active");
	return streq(active, want);
}

/* An ended task stays in active until its index line is synced, a moment later. */
static void
wait_active(struct fx *f, const char *want)
{
	if (!run_until(f, active_is, want, DEADLINE_MS)) {
		_cleanup_free_ char *active = read_dir_file(f, "active");
		fail_msg("active is '%s', not '%s'", active, want);
	}
}

static void
write_dir_file(struct fx *f, const char *name, const char *data)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", f->dir, name);
	assert_int_equal(write_file_atomic(path, data, strlen(data), 0600), 0);
}

static size_t
count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static const char *
last_line(const char *log)
{
	static char buf[4096];
	snprintf(buf, sizeof(buf), "%s", log);
	size_t len = strlen(buf);
	if (len && buf[len - 1] == '\n')
		buf[--len] = '\0';
	char *nl = strrchr(buf, '\n');
	return nl ? nl + 1 : buf;
}

/* ---- tests ---- */

static void
test_ok_task_is_recorded_running_then_ok(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *upid = start(f, "ok", "100", NULL);

	struct upid u;
	assert_int_equal(upid_parse(upid, &u), 0);
	assert_string_equal(u.node, NODE);
	assert_string_equal(u.type, "ok");
	assert_string_equal(u.id, "100");
	assert_string_equal(u.user, "root@pam");
	assert_true(u.pid > 0);
	assert_true(llabs((long long)(u.starttime - time(NULL))) <= 2);
	unsigned long long pstart;
	assert_int_equal(proc_start_time(u.pid, &pstart), 0);
	assert_int_equal(pstart, u.pstart);

	/* before the loop runs again the task is running, listed in active, and has a log */
	const struct task_info *t;
	assert_int_equal(taskmgr_get(f->m, upid, &t), 0);
	assert_null(t->status);
	assert_int_equal(t->endtime, 0);
	_cleanup_free_ char *active = read_dir_file(f, "active");
	_cleanup_free_ char *want_active = xasprintf("%s 0\n", upid);
	assert_string_equal(active, want_active);
	_cleanup_free_ char *path = taskmgr_log_path(f->m, upid);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	*strrchr(path, '/') = '\0';
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);

	t = settled(f, upid);
	assert_string_equal(t->status, "OK");
	assert_true(t->endtime >= u.starttime);
	_cleanup_free_ char *log = read_log(f, upid);
	assert_string_equal(log, "doing the work\nTASK OK\n");
	_cleanup_free_ char *index = read_dir_file(f, "index");
	_cleanup_free_ char *want_index =
	        xasprintf("%s %08llX OK\n", upid, (unsigned long long)t->endtime);
	assert_string_equal(index, want_index);
	/* listed until the index line is durable, so a crash before cannot lose it */
	_cleanup_free_ char *active2 = read_dir_file(f, "active");
	assert_string_equal(active2, want_active);
	wait_active(f, "");
	assert_int_equal(f->done_calls, 1);
	assert_string_equal(f->last_done, upid);
}

static void
test_warnings_are_counted(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *upid = start(f, "warn", "", NULL);
	assert_string_equal(settled(f, upid)->status, "WARNINGS: 2");
	_cleanup_free_ char *log = read_log(f, upid);
	assert_string_equal(log, "WARN: first warning\nbetween warnings\nWARN: second warning\n"
	                         "TASK WARNINGS: 2\n");
}

static void
test_error_message_becomes_one_final_line(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *upid = start(f, "fail", "101", NULL);
	assert_string_equal(settled(f, upid)->status, "disk on fire second line");
	/* exit code 1 with a final line: the manager adds nothing */
	_cleanup_free_ char *log = read_log(f, upid);
	assert_string_equal(log, "about to fail\nTASK ERROR: disk on fire second line\n");
}

static void
test_error_status_stays_a_valid_one_line_text(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *blank = start(f, "blank", "", NULL);
	assert_string_equal(settled(f, blank)->status, "unknown error");
	_cleanup_free_ char *latin1 = start(f, "latin1", "", NULL);
	assert_string_equal(settled(f, latin1)->status, "caf? closed");
}

static void
test_unknown_type_fails_in_the_worker(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *upid = start(f, "nosuch", "", NULL);
	assert_string_equal(settled(f, upid)->status, "unknown task type 'nosuch'");
}

static void
test_params_and_identity_reach_the_worker_and_stdio_goes_to_the_log(void **state)
{
	struct fx *f = *state;
	json_t *params = json_pack("{s:i, s:s}", "vmid", 100, "name", "web");
	_cleanup_free_ char *upid = start(f, "echo", "100", params);
	json_decref(params);
	assert_string_equal(settled(f, upid)->status, "OK");
	_cleanup_free_ char *log = read_log(f, upid);
	_cleanup_free_ char *want =
	        xasprintf("params: {\"name\":\"web\",\"vmid\":100}\nupid: %s\n"
	                  "type echo id 100 user root@pam\nsid matches pid: yes\n"
	                  "stdout line\nstderr line\nTASK OK\n",
	                  upid);
	assert_string_equal(log, want);

	_cleanup_free_ char *upid2 = start(f, "echo", "", NULL);
	assert_string_equal(settled(f, upid2)->status, "OK");
	_cleanup_free_ char *log2 = read_log(f, upid2);
	assert_true(startswith(log2, "params: (none)\n"));
}

static void
test_crash_is_settled_with_error_by_the_manager(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *upid = start(f, "crash", "", NULL);
	assert_string_equal(settled(f, upid)->status, "worker killed by signal 6");
	_cleanup_free_ char *log = read_log(f, upid);
	assert_string_equal(log, "crashing\nTASK ERROR: worker killed by signal 6\n");
}

static void
test_exit_without_status_is_settled_with_exit_code(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *upid = start(f, "exit3", "", NULL);
	assert_string_equal(settled(f, upid)->status, "worker exited with status 3");
	_cleanup_free_ char *log = read_log(f, upid);
	assert_string_equal(last_line(log), "TASK ERROR: worker exited with status 3");
}

static void
test_partial_last_line_does_not_hide_the_error(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *upid = start(f, "partial", "", NULL);
	assert_string_equal(settled(f, upid)->status, "worker killed by signal 9");
	_cleanup_free_ char *log = read_log(f, upid);
	assert_string_equal(log, "half a line\nTASK ERROR: worker killed by signal 9\n");
}

static void
test_stop_interrupts_the_task(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *upid = start(f, "sleep", "", NULL);
	wait_log(f, upid, "waiting for a stop\n");
	assert_int_equal(taskmgr_stop(f->m, upid), 0);
	assert_string_equal(settled(f, upid)->status, "received interrupt");
	_cleanup_free_ char *log = read_log(f, upid);
	assert_string_equal(log, "waiting for a stop\nTASK ERROR: received interrupt\n");

	assert_int_equal(taskmgr_stop(f->m, upid), -ESRCH);
	assert_int_equal(
	        taskmgr_stop(f->m, "UPID:testnode:00000001:00000001:00000001:ok::root@pam:"),
	        -ENOENT);
	assert_int_equal(taskmgr_stop(f->m, "garbage"), -ENOENT);
}

static void
test_stop_kills_a_task_that_ignores_sigterm(void **state)
{
	struct fx *f = *state;
	taskmgr_set_stop_grace(f->m, 200);
	_cleanup_free_ char *upid = start(f, "stubborn", "", NULL);
	wait_log(f, upid, "ignoring SIGTERM\n");
	assert_int_equal(taskmgr_stop(f->m, upid), 0);
	assert_string_equal(settled(f, upid)->status, "worker killed by signal 9");
}

static pid_t
upid_pid(const char *upid)
{
	struct upid u;
	assert_int_equal(upid_parse(upid, &u), 0);
	return u.pid;
}

static void
test_worker_outlives_manager_and_is_settled_by_the_next(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *a = start(f, "sleep", "1", NULL);
	_cleanup_free_ char *b = start(f, "sleep", "2", NULL);
	wait_log(f, a, "waiting for a stop\n");
	wait_log(f, b, "waiting for a stop\n");

	close_manager(f); /* as a daemon restart: the workers keep running */
	open_manager(f);
	const struct task_info *t;
	assert_int_equal(taskmgr_get(f->m, a, &t), 0);
	assert_null(t->status);
	assert_int_equal(taskmgr_get(f->m, b, &t), 0);
	assert_null(t->status);
	size_t n;
	const struct task_info *const *list = taskmgr_list(f->m, &n);
	assert_int_equal(n, 2);
	assert_null(list[0]->status);

	/* stopped from outside: a handles SIGTERM itself, b dies without a word */
	assert_int_equal(kill(upid_pid(a), SIGTERM), 0);
	assert_int_equal(kill(upid_pid(b), SIGKILL), 0);
	assert_string_equal(settled(f, a)->status, "received interrupt");
	assert_string_equal(settled(f, b)->status, "worker exited (status unknown)");
	_cleanup_free_ char *log = read_log(f, b);
	assert_string_equal(log,
	                    "waiting for a stop\nTASK ERROR: worker exited (status unknown)\n");
	assert_int_equal(f->done_calls, 2);
	wait_active(f, "");

	/* they were our children before the restart: reap them */
	assert_int_equal(waitpid(upid_pid(a), NULL, 0), upid_pid(a));
	assert_int_equal(waitpid(upid_pid(b), NULL, 0), upid_pid(b));
}

static void
test_stop_works_on_a_worker_from_a_previous_manager(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *upid = start(f, "sleep", "", NULL);
	wait_log(f, upid, "waiting for a stop\n");
	close_manager(f);
	open_manager(f);
	assert_int_equal(taskmgr_stop(f->m, upid), 0);
	assert_string_equal(settled(f, upid)->status, "received interrupt");
	assert_int_equal(waitpid(upid_pid(upid), NULL, 0), upid_pid(upid));
}

/* A pid that surely belongs to no process: a child we reaped. */
static pid_t
dead_pid(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	return pid;
}

static char *
fake_upid(pid_t pid, time_t starttime, const char *id)
{
	return xasprintf("UPID:%s:%08X:%08X:%08llX:ok:%s:root@pam:", NODE, (unsigned)pid, 1234u,
	                 (unsigned long long)starttime, id);
}

static void
write_log(struct fx *f, const char *upid, const char *content, time_t mtime)
{
	_cleanup_free_ char *path = taskmgr_log_path(f->m, upid);
	char *slash = strrchr(path, '/');
	*slash = '\0';
	mkdir(path, 0700);
	*slash = '/';
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, content, strlen(content)), 0);
	struct timespec ts[2] = { { mtime, 0 }, { mtime, 0 } };
	assert_int_equal(futimens(fd, ts), 0);
	close(fd);
}

static void
test_open_settles_tasks_whose_worker_died_unwatched(void **state)
{
	struct fx *f = *state;
	pid_t pid = dead_pid();
	_cleanup_free_ char *gone = fake_upid(pid, 1700000000, "100");
	_cleanup_free_ char *done = fake_upid(pid, 1700000001, "101");
	write_log(f, gone, "started\n", 1700000100);
	write_log(f, done, "started\nTASK OK\n", 1700000200);
	_cleanup_free_ char *active = xasprintf("%s 0\n%s 0\n", gone, done);
	write_dir_file(f, "active", active);

	close_manager(f);
	open_manager(f);
	const struct task_info *t;
	assert_int_equal(taskmgr_get(f->m, gone, &t), 0);
	assert_string_equal(t->status, "worker exited (status unknown)");
	assert_int_equal(t->endtime, 1700000100);
	assert_int_equal(taskmgr_get(f->m, done, &t), 0);
	assert_string_equal(t->status, "OK");
	assert_int_equal(t->endtime, 1700000200);

	_cleanup_free_ char *log = read_log(f, gone);
	assert_string_equal(log, "started\nTASK ERROR: worker exited (status unknown)\n");
	_cleanup_free_ char *log2 = read_log(f, done);
	assert_string_equal(log2, "started\nTASK OK\n");
	_cleanup_free_ char *index = read_dir_file(f, "index");
	_cleanup_free_ char *want = xasprintf("%s 6553F164 worker exited (status unknown)\n"
	                                      "%s 6553F1C8 OK\n",
	                                      gone, done);
	assert_string_equal(index, want);
	_cleanup_free_ char *active2 = read_dir_file(f, "active");
	assert_string_equal(active2, "");
	assert_int_equal(f->done_calls, 0); /* nobody could be waiting for these */
}

static void
test_open_dedupes_tasks_listed_twice(void **state)
{
	struct fx *f = *state;
	pid_t pid = dead_pid();
	_cleanup_free_ char *a = fake_upid(pid, 1700000000, "100");
	_cleanup_free_ char *b = fake_upid(pid, 1700000001, "101");
	write_log(f, a, "TASK OK\n", 1700000100);
	write_log(f, b, "TASK OK\n", 1700000200);
	/* a crash after appending to the index but before rewriting active; b repeated across
	 * the rotated index; also junk lines PVE would skip */
	_cleanup_free_ char *idx1 = xasprintf("%s 6553F1C8 OK\n", b);
	_cleanup_free_ char *idx =
	        xasprintf("%s 6553F164 OK\nnot a upid line\n%s 6553F1C8 OK\n", a, b);
	_cleanup_free_ char *active = xasprintf("%s 0\n%s 1 6553F164 OK\ngarbage\n", a, a);
	write_dir_file(f, "index.1", idx1);
	write_dir_file(f, "index", idx);
	write_dir_file(f, "active", active);

	close_manager(f);
	open_manager(f);
	size_t n;
	const struct task_info *const *list = taskmgr_list(f->m, &n);
	assert_int_equal(n, 2);
	assert_string_equal(list[0]->upid, b);
	assert_string_equal(list[1]->upid, a);
	assert_string_equal(list[1]->status, "OK");
	_cleanup_free_ char *index = read_dir_file(f, "index");
	assert_string_equal(index, idx); /* nothing appended twice */
	_cleanup_free_ char *active2 = read_dir_file(f, "active");
	assert_string_equal(active2, "");
}

static char *
index_lines(int first, int count, time_t base)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	for (int i = first; i < first + count; i++) {
		_cleanup_free_ char *u =
		        xasprintf("UPID:%s:%08X:%08X:%08llX:old:%d:root@pam:", NODE,
		                  1000u + (unsigned)i, 5u, (unsigned long long)(base + i), i);
		sb_printf(&sb, "%s %08llX OK\n", u, (unsigned long long)(base + i + 1));
	}
	return sb_steal(&sb);
}

static char *
old_upid(int i, time_t base)
{
	return xasprintf("UPID:%s:%08X:%08X:%08llX:old:%d:root@pam:", NODE, 1000u + (unsigned)i, 5u,
	                 (unsigned long long)(base + i), i);
}

static void
test_index_rotates_and_the_list_stays_bounded(void **state)
{
	struct fx *f = *state;
	const int R = TASKMGR_INDEX_ROTATE;
	time_t base = 1600000000;
	_cleanup_free_ char *older = index_lines(0, R, base);
	_cleanup_free_ char *newer = index_lines(R, R - 1, base);
	write_dir_file(f, "index.1", older);
	write_dir_file(f, "index", newer);
	close_manager(f);
	open_manager(f);
	size_t n;
	taskmgr_list(f->m, &n);
	assert_int_equal(n, 2 * R - 1);

	/* the next finished task fills the index: it becomes index.1, the oldest are forgotten */
	_cleanup_free_ char *upid = start(f, "ok", "", NULL);
	assert_string_equal(settled(f, upid)->status, "OK");
	const struct task_info *const *list = taskmgr_list(f->m, &n);
	assert_int_equal(n, R);
	assert_string_equal(list[0]->upid, upid);
	const struct task_info *t;
	_cleanup_free_ char *oldest = old_upid(0, base);
	_cleanup_free_ char *kept = old_upid(R, base);
	assert_int_equal(taskmgr_get(f->m, oldest, &t), -ENOENT);
	assert_int_equal(taskmgr_get(f->m, kept, &t), 0);
	_cleanup_free_ char *idx1 = read_dir_file(f, "index.1");
	assert_int_equal(count_lines(idx1), R);
	_cleanup_free_ char *idx = read_dir_file(f, "index");
	assert_string_equal(idx, "");

	/* a foreign, oversized index is cut to what two rotated files would hold */
	_cleanup_free_ char *huge = index_lines(0, 3 * R, base);
	write_dir_file(f, "index.1", huge);
	write_dir_file(f, "index", "");
	close_manager(f);
	open_manager(f);
	taskmgr_list(f->m, &n);
	assert_int_equal(n, 2 * R);
	_cleanup_free_ char *newest = old_upid(3 * R - 1, base);
	assert_int_equal(taskmgr_get(f->m, newest, &t), 0);
	assert_int_equal(taskmgr_get(f->m, oldest, &t), -ENOENT);
}

static void
test_list_puts_running_first_then_newest(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *old = index_lines(0, 3, 1600000000);
	write_dir_file(f, "index", old);
	close_manager(f);
	open_manager(f);
	_cleanup_free_ char *done = start(f, "ok", "", NULL);
	settled(f, done);
	_cleanup_free_ char *running = start(f, "sleep", "", NULL);

	size_t n;
	const struct task_info *const *list = taskmgr_list(f->m, &n);
	assert_int_equal(n, 5);
	assert_string_equal(list[0]->upid, running);
	assert_string_equal(list[1]->upid, done);
	for (size_t i = 2; i + 1 < n; i++)
		assert_true(list[i]->u.starttime > list[i + 1]->u.starttime);

	wait_log(f, running, "waiting for a stop\n");
	assert_int_equal(taskmgr_stop(f->m, running), 0);
	settled(f, running);
	list = taskmgr_list(f->m, &n);
	assert_string_equal(list[0]->upid, running); /* newest start, now finished */
}

static void
test_read_log_window_and_total(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *upid = start(f, "lines", "", NULL);
	settled(f, upid);
	char **lines;
	size_t total;
	assert_int_equal(taskmgr_read_log(f->m, upid, 2, 3, &lines, &total), 0);
	assert_int_equal(total, 11);
	assert_string_equal(lines[0], "line 3");
	assert_string_equal(lines[1], "line 4");
	assert_string_equal(lines[2], "line 5");
	assert_null(lines[3]);
	taskmgr_lines_free(lines);

	assert_int_equal(taskmgr_read_log(f->m, upid, 9, 0, &lines, &total), 0);
	assert_string_equal(lines[0], "line 10");
	assert_string_equal(lines[1], "TASK OK");
	assert_null(lines[2]);
	taskmgr_lines_free(lines);

	assert_int_equal(taskmgr_read_log(f->m, upid, 50, 50, &lines, &total), 0);
	assert_int_equal(total, 11);
	assert_null(lines[0]);
	taskmgr_lines_free(lines);

	assert_int_equal(taskmgr_read_log(f->m, "UPID:x", 0, 50, &lines, &total), -EINVAL);
	assert_int_equal(
	        taskmgr_read_log(f->m, "UPID:testnode:00000001:00000001:00000001:ok::root@pam:", 0,
	                         50, &lines, &total),
	        -ENOENT);
	assert_null(taskmgr_log_path(f->m, "UPID:x:../../etc"));
}

static void
test_start_refuses_fields_that_cannot_be_encoded(void **state)
{
	struct fx *f = *state;
	char *upid = NULL;
	struct error err = { 0 };
	assert_int_equal(taskmgr_start(f->m, "ok", "1:2", "root@pam", NULL, &upid, &err), -EINVAL);
	assert_true(error_is_set(&err));
	assert_int_equal(taskmgr_start(f->m, "ok", "", "root @pam", NULL, &upid, &err), -EINVAL);
	assert_int_equal(taskmgr_start(f->m, "q/x", "", "root@pam", NULL, &upid, &err), -EINVAL);
	assert_int_equal(taskmgr_start(f->m, "", "", "root@pam", NULL, &upid, &err), -EINVAL);
	assert_null(upid);
	size_t n;
	taskmgr_list(f->m, &n);
	assert_int_equal(n, 0);
}

static void
test_open_refuses_a_node_name_pve_would_not_accept(void **state)
{
	struct fx *f = *state;
	struct taskmgr *m = NULL;
	struct error err = { 0 };
	assert_int_equal(taskmgr_open(&f->loop, f->dir, "pve.example.com", worker_argv, &m, &err),
	                 -EINVAL);
	assert_non_null(strstr(err.msg, "invalid node name"));
	assert_int_equal(taskmgr_open(&f->loop, f->dir, "-pve", worker_argv, &m, &err), -EINVAL);
	assert_null(m);
}

static void
test_start_reports_a_missing_worker_binary(void **state)
{
	struct fx *f = *state;
	close_manager(f);
	const char *argv[] = { "/nonexistent/berthd", "--worker", NULL };
	struct error err = { 0 };
	assert_int_equal(taskmgr_open(&f->loop, f->dir, NODE, argv, &f->m, &err), 0);
	char *upid = NULL;
	assert_true(taskmgr_start(f->m, "ok", "", "root@pam", NULL, &upid, &err) < 0);
	assert_non_null(strstr(err.msg, "unable to start worker"));
	assert_null(upid);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void
test_many_concurrent_tasks_all_settle_and_start_quickly(void **state)
{
	struct fx *f = *state;
	enum { N = 30 };
	char *upids[N];
	double ms[N];
	for (int i = 0; i < N; i++) {
		uint64_t t0 = uv_hrtime();
		upids[i] = start(f, i % 3 == 0 ? "warn" : "ok", "", NULL);
		ms[i] = (double)(uv_hrtime() - t0) / 1e6;
	}
	for (int i = 0; i < N; i++) {
		assert_string_equal(settled(f, upids[i])->status,
		                    i % 3 == 0 ? "WARNINGS: 2" : "OK");
		free(upids[i]);
	}
	assert_int_equal(f->done_calls, N);
	_cleanup_free_ char *index = read_dir_file(f, "index");
	assert_int_equal(count_lines(index), N);
	qsort(ms, N, sizeof(ms[0]), cmp_double);
	print_message("taskmgr_start latency over %d starts: median %.2f ms, max %.2f ms\n", N,
	              ms[N / 2], ms[N - 1]);
}

/* The worker refuses a frame without its log descriptor instead of guessing. */
static void
test_worker_exits_1_without_a_valid_frame(void **state)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	pid_t pid = fork();
	if (pid == 0) {
		if (sv[1] == 3)
			fd_cloexec(3, false);
		else
			dup2(sv[1], 3);
		execl(self_exe, self_exe, "--worker", (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	json_t *hdr = json_pack("{s:s, s:s}", "type", "task", "upid",
	                        "UPID:testnode:00000001:00000001:00000001:ok::root@pam:");
	assert_int_equal(frame_send(sv[0], hdr, NULL, 0, NULL, 0), 0);
	close(sv[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
}

/* ---- the spare worker ---- */

static bool
has_spare(struct fx *f, const void *not_pid)
{
	pid_t pid = taskmgr_spare_pid(f->m);
	return pid > 0 && pid != *(const pid_t *)not_pid;
}

static pid_t
wait_spare(struct fx *f, pid_t not_pid)
{
	if (!run_until(f, has_spare, &not_pid, DEADLINE_MS))
		fail_msg("no spare worker (other than %d) appeared", (int)not_pid);
	return taskmgr_spare_pid(f->m);
}

static bool
pid_gone(pid_t pid)
{
	return kill(pid, 0) < 0 && errno == ESRCH;
}

static bool
reaped(struct fx *f, const void *pid)
{
	return pid_gone(*(const pid_t *)pid);
}

/* The worker closes its control socket after its final line: the task has ended then, not
 * when its process is gone; the process is still reaped when it exits. */
static void
test_task_ends_at_its_final_line_and_the_worker_is_reaped_later(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *upid = start(f, "linger", "", NULL);
	const struct task_info *t = settled(f, upid);
	assert_string_equal(t->status, "OK");
	pid_t pid = upid_pid(upid);
	assert_int_equal(kill(pid, 0), 0); /* still there, lingering */
	_cleanup_free_ char *log = read_log(f, upid);
	assert_string_equal(log, "done, lingering\nTASK OK\n");
	assert_int_equal(f->done_calls, 1);

	assert_int_equal(kill(pid, SIGKILL), 0);
	if (!run_until(f, reaped, &pid, DEADLINE_MS))
		fail_msg("worker %d was not reaped", (int)pid);
	assert_string_equal(t->status, "OK"); /* its death changes nothing */
	assert_int_equal(f->done_calls, 1);
}

static void
test_spare_worker_takes_the_next_task_and_is_replaced(void **state)
{
	struct fx *f = *state;
	assert_int_equal(taskmgr_spare_pid(f->m), 0); /* off unless asked for */
	taskmgr_set_spare(f->m, true);
	pid_t spare = wait_spare(f, 0);

	json_t *params = json_pack("{s:i}", "n", 1);
	_cleanup_free_ char *upid = start(f, "echo", "7", params);
	json_decref(params);
	struct upid u;
	assert_int_equal(upid_parse(upid, &u), 0);
	assert_int_equal(u.pid, spare); /* the waiting worker ran it */
	unsigned long long pstart;
	assert_int_equal(proc_start_time(u.pid, &pstart), 0);
	assert_int_equal(pstart, u.pstart);
	assert_string_equal(settled(f, upid)->status, "OK");
	_cleanup_free_ char *log = read_log(f, upid);
	assert_non_null(strstr(log, "params: {\"n\":1}\n"));
	assert_non_null(strstr(log, "type echo id 7 user root@pam\n"));
	assert_non_null(strstr(log, "sid matches pid: yes\n"));

	/* a new one waits for the task after */
	pid_t next = wait_spare(f, spare);
	_cleanup_free_ char *upid2 = start(f, "ok", "8", NULL);
	assert_int_equal(upid_parse(upid2, &u), 0);
	assert_int_equal(u.pid, next);
	assert_string_equal(settled(f, upid2)->status, "OK");
}

static void
test_spare_that_dies_is_replaced_and_close_reaps_it(void **state)
{
	struct fx *f = *state;
	taskmgr_set_spare(f->m, true);
	pid_t spare = wait_spare(f, 0);
	assert_int_equal(kill(spare, SIGKILL), 0);
	pid_t next = wait_spare(f, spare); /* after the 1 s retry delay */
	assert_true(pid_gone(spare));      /* reaped, not a zombie */
	/* a task started while no spare waits still runs, in a worker of its own */
	taskmgr_set_spare(f->m, false);
	assert_true(pid_gone(next));
	assert_int_equal(taskmgr_spare_pid(f->m), 0);
	_cleanup_free_ char *upid = start(f, "ok", "", NULL);
	assert_string_equal(settled(f, upid)->status, "OK");
	assert_int_equal(f->done_calls, 1); /* spares never count as tasks */

	taskmgr_set_spare(f->m, true);
	pid_t last = wait_spare(f, 0);
	close_manager(f);
	assert_true(pid_gone(last));
}

int
main(int argc, char **argv)
{
	if (argc > 1 && streq(argv[1], "--worker")) {
		int r = task_worker_main(test_types, ARRAY_SIZE(test_types), NULL);
		for (int i = 0; linger && i < 600; i++) /* killed by the test; at most 60 s */
			usleep(100 * 1000);
		return r;
	}

	ssize_t n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	if (n <= 0)
		return 1;
	self_exe[n] = '\0';

	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ok_task_is_recorded_running_then_ok, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_warnings_are_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(
		        test_task_ends_at_its_final_line_and_the_worker_is_reaped_later, setup,
		        teardown),
		cmocka_unit_test_setup_teardown(test_error_message_becomes_one_final_line, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_error_status_stays_a_valid_one_line_text,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_type_fails_in_the_worker, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(
		        test_params_and_identity_reach_the_worker_and_stdio_goes_to_the_log, setup,
		        teardown),
		cmocka_unit_test_setup_teardown(test_crash_is_settled_with_error_by_the_manager,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_without_status_is_settled_with_exit_code,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial_last_line_does_not_hide_the_error,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_interrupts_the_task, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_kills_a_task_that_ignores_sigterm, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(
		        test_worker_outlives_manager_and_is_settled_by_the_next, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_works_on_a_worker_from_a_previous_manager,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_settles_tasks_whose_worker_died_unwatched,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_dedupes_tasks_listed_twice, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_index_rotates_and_the_list_stays_bounded,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_puts_running_first_then_newest, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_read_log_window_and_total, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_refuses_fields_that_cannot_be_encoded,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_refuses_a_node_name_pve_would_not_accept,
		                                setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_reports_a_missing_worker_binary, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(
		        test_many_concurrent_tasks_all_settle_and_start_quickly, setup, teardown),
		cmocka_unit_test(test_worker_exits_1_without_a_valid_frame),
		cmocka_unit_test_setup_teardown(
		        test_spare_worker_takes_the_next_task_and_is_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spare_that_dies_is_replaced_and_close_reaps_it,
		                                setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
