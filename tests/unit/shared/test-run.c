/* Unit tests: the process runner's captures, lines, error messages and stop requests, with
 * /bin/sh scripts as the programs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "basic/strbuf.h"
#include "shared/run.h"

#include <signal.h>
#include <string.h>
#include <time.h>

struct lines {
	struct strbuf all; /* every line handed over, each followed by '|' */
	int stop_after;    /* should_stop turns true on this call (-1: after a line, 0: never) */
	int polls;
};

static void
collect(const char *line, void *userdata)
{
	struct lines *l = userdata;
	sb_printf(&l->all, "%s|", line);
}

static bool
stop_soon(void *userdata)
{
	struct lines *l = userdata;
	if (l->stop_after < 0)
		return l->all.len > 0;
	return l->stop_after && ++l->polls >= l->stop_after;
}

/* milliseconds since *start */
static long
elapsed_ms(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000L + (now.tv_nsec - start->tv_nsec) / 1000000L;
}

static int
run_sh(const char *script, struct run_options *o, char **ret_out, struct error *err)
{
	const char *argv[] = { "sh", "-c", script, NULL };
	o->argv = argv;
	return run_program(o, ret_out, err);
}

static void
test_stdout_is_captured_whole(void **state)
{
	(void)state;
	char *out = NULL;
	struct error err = { 0 };
	struct run_options o = { 0 };
	assert_int_equal(run_sh("printf 'hello\\nworld'", &o, &out, &err), 0);
	assert_string_equal(out, "hello\nworld");
	free(out);
}

static void
test_silent_program_captures_empty_string(void **state)
{
	(void)state;
	char *out = NULL;
	struct run_options o = { 0 };
	/* stdin is /dev/null: cat ends at once */
	assert_int_equal(run_sh("cat", &o, &out, NULL), 0);
	assert_string_equal(out, "");
	free(out);
}

static void
test_captured_stdout_stops_at_the_cap(void **state)
{
	(void)state;
	char *out = NULL;
	struct run_options o = { .out_max = 4096 };
	assert_int_equal(run_sh("yes | head -c 1000000", &o, &out, NULL), 0);
	assert_true(strlen(out) <= 4096);
	assert_true(strncmp(out, "y\ny\n", 4) == 0);
	free(out);
}

static void
test_a_read_larger_than_the_cap_keeps_what_fits(void **state)
{
	(void)state;
	char *out = NULL;
	struct run_options o = { .out_max = 4096 };
	/* one write of 64 KiB: the first read alone is over the cap */
	assert_int_equal(
	        run_sh("head -c 65536 /dev/zero | tr '\\0' y | cat > /dev/stdout", &o, &out, NULL),
	        0);
	assert_int_equal(strlen(out), 4096);
	assert_true(out[0] == 'y' && out[4095] == 'y');
	free(out);
}

static void
test_lines_split_across_reads_arrive_whole(void **state)
{
	(void)state;
	struct lines l = { STRBUF_INIT, 0, 0 };
	struct run_options o = { .out_line = collect, .userdata = &l };
	assert_int_equal(run_sh("printf 'one\\ntw'; sleep 0.2; printf 'o \\r\\n\\n'; sleep 0.2; "
	                        "printf 'three'",
	                        &o, NULL, NULL),
	                 0);
	assert_string_equal(sb_str(&l.all), "one|two|three|");
	sb_free(&l.all);
}

static void
test_carriage_return_redraws_the_line_unless_it_ends_lines(void **state)
{
	(void)state;
	struct lines l = { STRBUF_INIT, 0, 0 };
	struct run_options o = { .out_line = collect, .userdata = &l };
	const char *script = "printf '10%%\\r50%%\\r100%%\\ndone\\n'";
	assert_int_equal(run_sh(script, &o, NULL, NULL), 0);
	assert_string_equal(sb_str(&l.all), "100%|done|");
	sb_reset(&l.all);
	o.cr_ends_line = true;
	assert_int_equal(run_sh(script, &o, NULL, NULL), 0);
	assert_string_equal(sb_str(&l.all), "10%|50%|100%|done|");
	sb_free(&l.all);
}

static void
test_failure_message_ends_with_tidied_stderr(void **state)
{
	(void)state;
	struct error err = { 0 };
	struct run_options o = { 0 };
	assert_int_equal(run_sh("echo out; echo 'bad thing' >&2; printf 'more\\n\\n' >&2; exit 3",
	                        &o, NULL, &err),
	                 -EIO);
	assert_string_equal(err.msg, "sh failed (exit code 3): bad thing more");
}

static void
test_failure_message_without_stderr_is_just_the_exit_code(void **state)
{
	(void)state;
	struct error err = { 0 };
	struct run_options o = { 0 };
	assert_int_equal(run_sh("exit 1", &o, NULL, &err), -EIO);
	assert_string_equal(err.msg, "sh failed (exit code 1)");
}

static void
test_failure_message_ends_with_last_line_when_stderr_is_delivered(void **state)
{
	(void)state;
	struct error err = { 0 };
	struct lines l = { STRBUF_INIT, 0, 0 };
	struct run_options o = { .out_line = collect, .err_line = collect, .userdata = &l };
	assert_int_equal(run_sh("echo first >&2; echo last >&2; echo out; exit 2", &o, NULL, &err),
	                 -EIO);
	assert_string_equal(err.msg, "sh failed (exit code 2): last");
	/* stderr silent: the last stdout line */
	assert_int_equal(run_sh("echo a; echo b; exit 4", &o, NULL, &err), -EIO);
	assert_string_equal(err.msg, "sh failed (exit code 4): b");
	sb_free(&l.all);
}

static void
test_signal_death_is_named(void **state)
{
	(void)state;
	struct error err = { 0 };
	struct run_options o = { 0 };
	assert_int_equal(run_sh("echo dying >&2; kill -9 $$", &o, NULL, &err), -EIO);
	assert_string_equal(err.msg, "sh killed by signal 9: dying");
	struct lines l = { STRBUF_INIT, 0, 0 };
	o.err_line = collect;
	o.userdata = &l;
	assert_int_equal(run_sh("echo dying >&2; kill -9 $$", &o, NULL, &err), -EIO);
	assert_string_equal(err.msg, "sh killed by signal 9");
	assert_string_equal(sb_str(&l.all), "dying|");
	sb_free(&l.all);
}

static void
test_child_starts_with_default_signal_handling(void **state)
{
	(void)state;
	struct error err = { 0 };
	struct run_options o = { 0 };
	sigset_t usr1, old;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, &old);
	struct sigaction ign = { .sa_handler = SIG_IGN }, prev;
	sigaction(SIGUSR1, &ign, &prev);
	int r = run_sh("kill -USR1 $$; sleep 1", &o, NULL, &err);
	sigaction(SIGUSR1, &prev, NULL);
	sigprocmask(SIG_SETMASK, &old, NULL);
	assert_int_equal(r, -EIO);
	assert_string_equal(err.msg, "sh killed by signal 10");
}

static void
test_missing_program_cannot_be_run(void **state)
{
	(void)state;
	struct error err = { 0 };
	const char *argv[] = { "berth-no-such-program", NULL };
	struct run_options o = { .argv = argv };
	assert_int_equal(run_program(&o, NULL, &err), -ENOENT);
	assert_string_equal(err.msg,
	                    "unable to run berth-no-such-program: No such file or directory");
}

static void
test_path_and_environment_replace_lookup_and_ours(void **state)
{
	(void)state;
	char *out = NULL;
	const char *argv[] = { "not-looked-up", "-c", "printf '%s' \"$FOO$HOME\"", NULL };
	const char *envp[] = { "FOO=bar", NULL };
	struct run_options o = { .argv = argv, .path = "/bin/sh", .envp = envp };
	assert_int_equal(run_program(&o, &out, NULL), 0);
	assert_string_equal(out, "bar");
	free(out);
}

static void
test_stop_request_ends_sleep_quickly(void **state)
{
	(void)state;
	struct error err = { 0 };
	struct lines l = { STRBUF_INIT, 2, 0 };
	const char *argv[] = { "sleep", "60", NULL };
	struct run_options o = { .argv = argv, .should_stop = stop_soon, .userdata = &l };
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	assert_int_equal(run_program(&o, NULL, &err), -EINTR);
	assert_string_equal(err.msg, "received interrupt");
	assert_true(elapsed_ms(&start) < 2000);
}

static void
test_stop_request_kills_a_program_that_ignores_sigterm(void **state)
{
	(void)state;
	struct error err = { 0 };
	struct lines l = { STRBUF_INIT, -1, 0 };
	struct run_options o = { .out_line = collect, .should_stop = stop_soon, .userdata = &l };
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	/* an ignored signal stays ignored across exec; stop once the trap is set */
	assert_int_equal(run_sh("trap '' TERM; echo ready; exec sleep 60", &o, NULL, &err), -EINTR);
	assert_string_equal(err.msg, "received interrupt");
	long took = elapsed_ms(&start);
	assert_true(took >= 2500 && took < 10000);
	sb_free(&l.all);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stdout_is_captured_whole),
		cmocka_unit_test(test_silent_program_captures_empty_string),
		cmocka_unit_test(test_captured_stdout_stops_at_the_cap),
		cmocka_unit_test(test_a_read_larger_than_the_cap_keeps_what_fits),
		cmocka_unit_test(test_lines_split_across_reads_arrive_whole),
		cmocka_unit_test(test_carriage_return_redraws_the_line_unless_it_ends_lines),
		cmocka_unit_test(test_failure_message_ends_with_tidied_stderr),
		cmocka_unit_test(test_failure_message_without_stderr_is_just_the_exit_code),
		cmocka_unit_test(test_failure_message_ends_with_last_line_when_stderr_is_delivered),
		cmocka_unit_test(test_signal_death_is_named),
		cmocka_unit_test(test_child_starts_with_default_signal_handling),
		cmocka_unit_test(test_missing_program_cannot_be_run),
		cmocka_unit_test(test_path_and_environment_replace_lookup_and_ours),
		cmocka_unit_test(test_stop_request_ends_sleep_quickly),
		cmocka_unit_test(test_stop_request_kills_a_program_that_ignores_sigterm),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
