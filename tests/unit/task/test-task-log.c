/* Unit tests: exit status from a task log's last line (PVE's read_status), appending final
 * lines, one-line messages and windowed log reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "basic/fileio.h"
#include "basic/strbuf.h"
#include "task/task-private.h"
#include "task/task.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

static char tmpdir[] = "/tmp/berth-test-task-log.XXXXXX";

static int
setup(void **state)
{
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *
log_with(const char *name, const char *content)
{
	char *path = xasprintf("%s/%s", tmpdir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write_all(fd, content, strlen(content)), 0);
	close(fd);
	return path;
}

static void
assert_status(const char *content, const char *expected)
{
	_cleanup_free_ char *path = log_with("log", content);
	_cleanup_free_ char *status = task_status_from_log(path);
	if (!streq(status, expected))
		fail_msg("log '%s': status '%s', expected '%s'", content, status, expected);
}

/* The cases of pve-common's test/upid-test.pl. */
static void
test_status_from_log_pve_cases(void **state)
{
	assert_status("Some log line\nTASK OK\n", "OK");
	assert_status("Some log line\nTASK ERROR: Some error message\n", "Some error message");
	assert_status("", "unexpected status");
	assert_status("Some log line\nTASK WARNINGS: 42\n", "WARNINGS: 42");
}

static void
test_status_from_log_last_line_rules(void **state)
{
	assert_status("TASK OK", "OK"); /* no trailing newline */
	assert_status("TASK OK\n", "OK");
	assert_status("TASK OK\n\n", "unexpected status"); /* only one newline is skipped */
	assert_status("TASK OK\nmore output\n", "unexpected status");
	assert_status("TASK OK \n", "unexpected status");
	assert_status(" TASK OK\n", "unexpected status");
	assert_status("TASK OK\r\n", "unexpected status");
	assert_status("\n", "unexpected status");
	assert_status("TASK ERROR: \n", "unexpected status"); /* (.+) needs a message */
	assert_status("TASK ERROR: a: b - c\n", "a: b - c");
	assert_status("TASK ERROR:x\n", "unexpected status");
	assert_status("TASK WARNINGS: \n", "unexpected status");
	assert_status("TASK WARNINGS: 2x\n", "unexpected status");
	assert_status("TASK WARNINGS: 0\n", "WARNINGS: 0");
	assert_status("TASK WARNING: 1\n", "unexpected status");
	assert_status("WARN: something\nTASK WARNINGS: 1\n", "WARNINGS: 1");
}

static void
test_status_from_log_missing_file_is_unexpected(void **state)
{
	_cleanup_free_ char *path = xasprintf("%s/does-not-exist", tmpdir);
	_cleanup_free_ char *status = task_status_from_log(path);
	assert_string_equal(status, "unexpected status");
}

static void
test_status_from_log_reads_only_the_tail_of_long_logs(void **state)
{
	_cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
	for (int i = 0; i < 5000; i++)
		sb_printf(&sb, "progress line %d of a long task\n", i);
	sb_puts(&sb, "TASK WARNINGS: 3\n");
	assert_status(sb_str(&sb), "WARNINGS: 3");

	/* a last line longer than the first read window, crossing several windows */
	sb_reset(&sb);
	sb_puts(&sb, "first\nTASK ERROR: ");
	for (int i = 0; i < 3000; i++)
		sb_puts(&sb, "abc");
	sb_putc(&sb, '\n');
	_cleanup_free_ char *path = log_with("long", sb_str(&sb));
	_cleanup_free_ char *status = task_status_from_log(path);
	assert_int_equal(strlen(status), 9000);
	assert_true(startswith(status, "abcabc"));
}

static void
test_append_line_starts_a_new_line_after_partial_output(void **state)
{
	_cleanup_free_ char *path = log_with("partial", "half a line");
	int fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(task_fd_append_line(fd, "TASK ERROR: worker killed by signal 9"), 0);
	close(fd);
	_cleanup_free_ char *data = NULL;
	assert_int_equal(read_file(path, 4096, &data, NULL), 0);
	assert_string_equal(data, "half a line\nTASK ERROR: worker killed by signal 9\n");

	/* after a complete line, and into an empty file, no blank line is added */
	_cleanup_free_ char *p2 = log_with("complete", "line\n");
	fd = open(p2, O_RDWR | O_APPEND | O_CLOEXEC);
	assert_int_equal(task_fd_append_line(fd, "TASK OK"), 0);
	close(fd);
	_cleanup_free_ char *d2 = NULL;
	assert_int_equal(read_file(p2, 4096, &d2, NULL), 0);
	assert_string_equal(d2, "line\nTASK OK\n");

	_cleanup_free_ char *p3 = log_with("empty", "");
	fd = open(p3, O_RDWR | O_APPEND | O_CLOEXEC);
	assert_int_equal(task_fd_append_line(fd, "TASK OK"), 0);
	close(fd);
	_cleanup_free_ char *d3 = NULL;
	assert_int_equal(read_file(p3, 4096, &d3, NULL), 0);
	assert_string_equal(d3, "TASK OK\n");
}

static void
test_one_line_replaces_cr_and_lf(void **state)
{
	_cleanup_free_ char *a = task_one_line("first\nsecond\r\nthird\n");
	assert_string_equal(a, "first second  third");
	_cleanup_free_ char *b = task_one_line("\r\n");
	assert_string_equal(b, "");
	_cleanup_free_ char *c = task_one_line("plain");
	assert_string_equal(c, "plain");
	_cleanup_free_ char *d = task_one_line("gr\xc3\xbc\xc3\x9f dich"); /* valid UTF-8 stays */
	assert_string_equal(d, "gr\xc3\xbc\xc3\x9f dich");
	_cleanup_free_ char *e = task_one_line("caf\xe9\nbar");
	assert_string_equal(e, "caf? bar");
}

static void
test_line_final_classifies_status_lines(void **state)
{
	assert_int_equal(task_line_final("TASK OK", NULL), TASK_FINAL_OK);
	assert_int_equal(task_line_final("TASK WARNINGS: 2", NULL), TASK_FINAL_WARNINGS);
	assert_int_equal(task_line_final("TASK ERROR: x", NULL), TASK_FINAL_ERROR);
	assert_int_equal(task_line_final("TASK ERROR: ", NULL), TASK_FINAL_NONE);
	assert_int_equal(task_line_final("", NULL), TASK_FINAL_NONE);
	char *s = NULL;
	assert_int_equal(task_line_final("TASK ERROR: boom", &s), TASK_FINAL_ERROR);
	assert_string_equal(s, "boom");
	free(s);
}

static void
test_read_lines_window_and_total(void **state)
{
	_cleanup_free_ char *path = log_with("lines", "l1\nl2\nl3\nl4\nl5");
	char **lines = NULL;
	size_t total = 0;

	assert_int_equal(task_log_read_lines(path, 1, 2, &lines, &total), 0);
	assert_int_equal(total, 5);
	assert_string_equal(lines[0], "l2");
	assert_string_equal(lines[1], "l3");
	assert_null(lines[2]);
	taskmgr_lines_free(lines);

	/* limit 0 reads to the end; an unterminated last line still counts */
	assert_int_equal(task_log_read_lines(path, 3, 0, &lines, &total), 0);
	assert_int_equal(total, 5);
	assert_string_equal(lines[0], "l4");
	assert_string_equal(lines[1], "l5");
	assert_null(lines[2]);
	taskmgr_lines_free(lines);

	assert_int_equal(task_log_read_lines(path, 10, 50, &lines, &total), 0);
	assert_int_equal(total, 5);
	assert_null(lines[0]);
	taskmgr_lines_free(lines);

	_cleanup_free_ char *empty = log_with("empty-lines", "");
	assert_int_equal(task_log_read_lines(empty, 0, 50, &lines, &total), 0);
	assert_int_equal(total, 0);
	assert_null(lines[0]);
	taskmgr_lines_free(lines);

	_cleanup_free_ char *missing = xasprintf("%s/missing", tmpdir);
	assert_int_equal(task_log_read_lines(missing, 0, 50, &lines, &total), -ENOENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_from_log_pve_cases),
		cmocka_unit_test(test_status_from_log_last_line_rules),
		cmocka_unit_test(test_status_from_log_missing_file_is_unexpected),
		cmocka_unit_test(test_status_from_log_reads_only_the_tail_of_long_logs),
		cmocka_unit_test(test_append_line_starts_a_new_line_after_partial_output),
		cmocka_unit_test(test_one_line_replaces_cr_and_lf),
		cmocka_unit_test(test_line_final_classifies_status_lines),
		cmocka_unit_test(test_read_lines_window_and_total),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
